/*
 * t-audit.c - the audit log on a real vault: records listed back in order
 * with every field, the since filter and batching, verification of an
 * intact log (also after reopening), every kind of tampering someone with
 * the key could do through SQL (each must be found and named), records
 * inside a rolled-back transaction, and the aggregation of denied
 * accesses (a flood is one record; minutes; the overflow slot; a caller
 * holding v->mu; close).
 */
#include <fcntl.h>
#include <unistd.h>

#include "unit.h"
#include "vtest.h"
#include "audit.h"
#include "vault.h"

#define MINUTE (60 * VF_NS)
#define MAX_RECS 700


/* ---- collecting what list and verify report ------------------------------ */

struct rec {
	int64_t id, t;
	uint32_t uid;
	char action[32], target[64], result[32], detail[32];
	int target_null, detail_null;
	size_t target_len;
};

struct recs {
	int n;
	int stop_after; /* 0: never */
	struct rec r[MAX_RECS];
};

static int list_cb(void *arg, const struct vf_event *r)
{
	struct recs *s = arg;
	struct rec *o;

	if (s->n >= MAX_RECS)
		return 1;
	o = &s->r[s->n++];
	o->id = r->id;
	o->t = r->t;
	o->uid = r->uid;
	snprintf(o->action, sizeof(o->action), "%s", r->action);
	snprintf(o->result, sizeof(o->result), "%s", r->result);
	o->target_null = !r->target;
	o->detail_null = !r->detail;
	o->target_len = r->target ? strlen(r->target) : 0;
	snprintf(o->target, sizeof(o->target), "%s", r->target ? r->target :
								 "");
	snprintf(o->detail, sizeof(o->detail), "%s", r->detail ? r->detail :
								 "");
	return s->stop_after && s->n >= s->stop_after;
}

/* The records of the log with t >= since (heap: the caller frees). */
static struct recs *list(struct vf_vault *v, int64_t since)
{
	struct recs *s = calloc(1, sizeof(*s));

	if (!s)
		abort();
	CHECK_EQ(vf_vault_audit_list(v, since, list_cb, s), 0);
	return s;
}

/* How many records have action "denied". */
static int denied_count(struct vf_vault *v)
{
	struct recs *s = list(v, INT64_MIN);
	int i, n = 0;

	for (i = 0; i < s->n; i++)
		n += !strcmp(s->r[i].action, "denied");
	free(s);
	return n;
}

/* Denied records in the table, read without writing pending counts (as
 * list and verify would). */
static int raw_denied(struct vf_vault *v)
{
	sqlite3_stmt *st = NULL;
	int n = -1;

	vf_vault_lock(v);
	if (sqlite3_prepare_v2(v->cat->db, "SELECT count(*) FROM audit WHERE "
			       "action='denied'", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	vf_vault_unlock(v);
	return n;
}

struct problems {
	int n;
	int64_t first_id;
	char first[128];
};

static int problem_cb(void *arg, int64_t id, const char *problem)
{
	struct problems *p = arg;

	if (!p->n++) {
		p->first_id = id;
		snprintf(p->first, sizeof(p->first), "%s", problem);
	}
	return 0;
}

/* Verifies: the return value, and the first report in p. */
static int verify(struct vf_vault *v, struct problems *p)
{
	int rc;

	memset(p, 0, sizeof(*p));
	rc = vf_vault_audit_verify(v, problem_cb, p);
	if (rc > 0)
		CHECK_EQ(p->n, rc);
	return rc;
}

static void rec_at(struct vf_vault *v, int64_t t, uint32_t uid,
		   const char *action, const char *target, const char *result,
		   const char *detail)
{
	vf_vault_lock(v);
	CHECK_EQ(vf_audit_record(v, t, uid, action, target, result, detail),
		 0);
	vf_vault_unlock(v);
}

/* Six records, t = 1..6 s. */
static void six(struct vf_vault *v)
{
	static const char *const actions[] = { "mount", "role.grant",
					       "delete", "guard.approve",
					       "softdelete.days", "unmount" };
	char target[32];
	int i;

	for (i = 0; i < 6; i++) {
		snprintf(target, sizeof(target), "t%d", i + 1);
		rec_at(v, (i + 1) * VF_NS, 1000 + (uint32_t)i, actions[i],
		       target, i == 2 ? "refused" : "ok", i % 2 ? "x=1" : NULL);
	}
}

/* ---- tests --------------------------------------------------------------- */

static void records_in_order(void)
{
	struct vf_vault *v = vt_fresh();
	struct problems p;
	struct recs *s;
	char longer[5000];
	int i;

	if (!v)
		return;
	rec_at(v, 1 * VF_NS, 0, "mount", "/mnt/vault", "ok", "ro=0");
	rec_at(v, 2 * VF_NS, 1001, "role.grant", "user:1002", "ok", NULL);
	rec_at(v, 3 * VF_NS, 1002, "delete", NULL, "refused", "count=1");
	rec_at(v, 4 * VF_NS, 4000000000u, "guard.approve", "softdelete.off",
	       "ok", "fpr=0011223344556677");
	CHECK_EQ(vf_vault_audit(v, 0, "unmount", "/mnt/vault", "ok", NULL), 0);
	CHECK_EQ(vf_vault_audit(v, 0, NULL, "x", "ok", NULL), -EINVAL);
	CHECK_EQ(vf_vault_audit(v, 0, "x", "x", NULL, NULL), -EINVAL);
	memset(longer, 'a', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	rec_at(v, 6 * VF_NS, 7, "restore", longer, "ok", "");

	s = list(v, INT64_MIN);
	CHECK_EQ(s->n, 6);
	for (i = 0; i < s->n; i++)
		CHECK_EQ(s->r[i].id, i + 1);
	CHECK_EQ(s->r[0].t, 1 * VF_NS);
	CHECK_EQ(s->r[0].uid, 0);
	CHECK(!strcmp(s->r[0].action, "mount"));
	CHECK(!strcmp(s->r[0].target, "/mnt/vault"));
	CHECK(!strcmp(s->r[0].result, "ok"));
	CHECK(!strcmp(s->r[0].detail, "ro=0"));
	CHECK_EQ(s->r[1].uid, 1001);
	CHECK(!strcmp(s->r[1].target, "user:1002"));
	CHECK(s->r[1].detail_null);
	CHECK(s->r[2].target_null);
	CHECK(!strcmp(s->r[2].result, "refused"));
	CHECK(!strcmp(s->r[2].detail, "count=1"));
	CHECK_EQ(s->r[3].uid, 4000000000u);
	CHECK(!strcmp(s->r[3].detail, "fpr=0011223344556677"));
	CHECK(!strcmp(s->r[4].action, "unmount"));
	CHECK(s->r[4].t > 6 * VF_NS);
	CHECK(s->r[4].t <= vf_clock_now());
	CHECK(s->r[4].detail_null);
	/* a long field is cut, an empty one stays empty (not NULL) */
	CHECK_EQ(s->r[5].target_len, VF_AUDIT_FIELD_MAX);
	CHECK(!s->r[5].detail_null);
	CHECK(!strcmp(s->r[5].detail, ""));
	free(s);

	/* since: t >= since, still in id order */
	s = list(v, 3 * VF_NS);
	CHECK_EQ(s->n, 4);
	CHECK_EQ(s->r[0].id, 3);
	CHECK_EQ(s->r[1].id, 4);
	CHECK_EQ(s->r[2].id, 5);
	CHECK_EQ(s->r[3].id, 6);
	free(s);
	s = list(v, vf_clock_now() + 3600 * VF_NS);
	CHECK_EQ(s->n, 0);
	free(s);
	/* the callback stops the listing */
	s = calloc(1, sizeof(*s));
	if (s) {
		s->stop_after = 2;
		CHECK_EQ(vf_vault_audit_list(v, INT64_MIN, list_cb, s), 0);
		CHECK_EQ(s->n, 2);
		free(s);
	}

	CHECK_EQ(verify(v, &p), 0);
	CHECK_EQ(p.n, 0);
	CHECK_EQ(vf_vault_audit_verify(v, NULL, NULL), 0);
	v = vt_reopen(v);
	if (!v)
		return;
	CHECK_EQ(verify(v, &p), 0);
	s = list(v, INT64_MIN);
	CHECK_EQ(s->n, 6);
	CHECK(!strcmp(s->r[3].action, "guard.approve"));
	free(s);
	/* the chain goes on across a reopen */
	CHECK_EQ(vf_vault_audit(v, 5, "mount", "/mnt/vault", "ok", NULL), 0);
	CHECK_EQ(verify(v, &p), 0);
	s = list(v, INT64_MIN);
	CHECK_EQ(s->n, 7);
	CHECK_EQ(s->r[6].id, 7);
	free(s);
	CHECK_EQ(vf_vault_close(v), 0);
}

/* More than one batch of 256, and exactly two. */
static void batches(void)
{
	struct vf_vault *v = vt_fresh();
	struct problems p;
	struct recs *s;
	char target[32];
	int i, ok = 1;

	if (!v)
		return;
	for (i = 1; i <= 600; i++) {
		snprintf(target, sizeof(target), "file%d", i);
		rec_at(v, (int64_t)i * VF_NS, (uint32_t)i, "restore", target,
		       "ok", NULL);
		if (i == 512) {
			s = list(v, INT64_MIN);
			CHECK_EQ(s->n, 512);
			free(s);
			CHECK_EQ(verify(v, &p), 0);
		}
	}
	s = list(v, INT64_MIN);
	CHECK_EQ(s->n, 600);
	for (i = 0; i < s->n; i++) {
		snprintf(target, sizeof(target), "file%d", i + 1);
		ok &= s->r[i].id == i + 1 && s->r[i].uid == (uint32_t)i + 1 &&
		      !strcmp(s->r[i].target, target);
	}
	CHECK(ok);
	free(s);
	s = list(v, 300 * VF_NS);
	CHECK_EQ(s->n, 301);
	CHECK_EQ(s->n ? s->r[0].id : 0, 300);
	free(s);
	CHECK_EQ(verify(v, &p), 0);
	/* a change deep in the second batch is found there */
	CHECK_EQ(vf_vault_test_sql(v, "UPDATE audit SET uid=7 WHERE id=400"),
		 0);
	CHECK_EQ(verify(v, &p), 1);
	CHECK_EQ(p.first_id, 400);
	CHECK_EQ(vf_vault_close(v), 0);
}

struct tamper {
	const char *what, *sql;
	int problems;          /* exact count expected */
	int64_t id;            /* of the first report */
	const char *first;     /* the first report */
};

static const struct tamper tampers[] = {
	{ "edited field", "UPDATE audit SET result='ok' WHERE id=3", 1, 3,
	  "record 3 was changed" },
	{ "edited NULL field", "UPDATE audit SET detail='x=1' WHERE id=1", 1,
	  1, "record 1 was changed" },
	{ "NULL made empty", "UPDATE audit SET detail='' WHERE id=1", 1, 1,
	  "record 1 was changed" },
	{ "edited time", "UPDATE audit SET t=t+1 WHERE id=2", 1, 2,
	  "record 2 was changed" },
	{ "edited mac", "UPDATE audit SET mac=randomblob(32) WHERE id=3", 1, 3,
	  "record 3 was changed" },
	{ "edited newest field", "UPDATE audit SET uid=0 WHERE id=6", 1, 6,
	  "record 6 was changed" },
	{ "edited newest mac", "UPDATE audit SET mac=zeroblob(32) WHERE id=6",
	  1, 6, "record 6 was changed" },
	{ "deleted middle", "DELETE FROM audit WHERE id=3", 1, 3,
	  "record 3 is missing or records were reordered" },
	{ "deleted first", "DELETE FROM audit WHERE id=1", 1, 1,
	  "record 1 is missing or records were reordered" },
	{ "deleted middle, renumbered",
	  "DELETE FROM audit WHERE id=3; UPDATE audit SET id=-id WHERE id>3;"
	  "UPDATE audit SET id=-id-1 WHERE id<0", 1, 3,
	  "record 3 is missing or records were reordered" },
	{ "deleted newest", "DELETE FROM audit WHERE id=6", 1, 5,
	  "records after 5 were removed" },
	{ "deleted two newest", "DELETE FROM audit WHERE id>=5", 1, 4,
	  "records after 4 were removed" },
	{ "deleted all", "DELETE FROM audit", 1, 0,
	  "records after 0 were removed" },
	{ "swapped 2 and 3",
	  "UPDATE audit SET id=-2 WHERE id=2; UPDATE audit SET id=2 WHERE "
	  "id=3; UPDATE audit SET id=3 WHERE id=-2", 1, 2,
	  "record 2 is missing or records were reordered" },
	{ "swapped 5 and 6",
	  "UPDATE audit SET id=-5 WHERE id=5; UPDATE audit SET id=5 WHERE "
	  "id=6; UPDATE audit SET id=6 WHERE id=-5", 1, 5,
	  "record 5 is missing or records were reordered" },
	{ "inserted, renumbered",
	  "UPDATE audit SET id=-id WHERE id>=3; UPDATE audit SET id=1-id "
	  "WHERE id<0; INSERT INTO audit VALUES(3, 2500000000, 0, 'delete', "
	  "'t9', 'ok', NULL, randomblob(32))", 1, 3,
	  "record inserted before 3" },
	{ "inserted at the end",
	  "INSERT INTO audit VALUES(7, 7000000000, 0, 'purge', 't7', 'ok', "
	  "NULL, randomblob(32))", 1, 6, "record inserted after 6" },
	{ "inserted before the first",
	  "INSERT INTO audit VALUES(0, 0, 0, 'mount', 't0', 'ok', NULL, "
	  "randomblob(32))", 1, 1, "record inserted before 1" },
	{ "inserted with the largest id",
	  "INSERT INTO audit VALUES(9223372036854775807, 0, 0, 'x', NULL, 'ok',"
	  " NULL, randomblob(32))", 1, 6, "record inserted after 6" },
	{ "inserted with the smallest id",
	  "INSERT INTO audit VALUES(-9223372036854775808, 0, 0, 'x', NULL, "
	  "'ok', NULL, randomblob(32))", 1, 1, "record inserted before 1" },
	{ "uid out of range",
	  "UPDATE audit SET uid=uid+4294967296 WHERE id=4", 1, 4,
	  "record 4 was changed" },
	{ "newest deleted, head rewound",
	  "DELETE FROM audit WHERE id=6; UPDATE audit_head SET id=5, "
	  "count=5, mac=(SELECT mac FROM audit WHERE id=5)", 1, 5,
	  "the chain head was changed after record 5" },
	{ "head deleted", "DELETE FROM audit_head", 1, 6,
	  "the chain head was changed after record 6" },
	{ "log and head emptied", "DELETE FROM audit; DELETE FROM audit_head",
	  0, 0, "" },
};

/* Each tampering of a six-record log is found, once, and named. */
static void tampering(void)
{
	struct vf_vault *v;
	struct problems p;
	size_t i;
	int rc;

	for (i = 0; i < VF_ARRAY_LEN(tampers); i++) {
		const struct tamper *t = &tampers[i];

		v = vt_fresh();
		if (!v)
			return;
		six(v);
		CHECK_EQ(verify(v, &p), 0);
		CHECK_EQ(vf_vault_test_sql(v, t->sql), 0);
		rc = verify(v, &p);
		if (rc != t->problems || p.first_id != t->id ||
		    strcmp(p.first, t->first)) {
			fprintf(stderr, "%s: %d problems, first %lld '%s'\n",
				t->what, rc, (long long)p.first_id, p.first);
			CHECK(0);
		}
		CHECK_EQ(vf_vault_close(v), 0);
	}
}

/* After the head was forged or lost, logging goes on but verification
 * keeps saying so: a new head must not launder the change. */
static void head_stays_broken(void)
{
	struct vf_vault *v = vt_fresh();
	struct problems p;
	struct recs *s;

	if (!v)
		return;
	six(v);
	CHECK_EQ(vf_vault_test_sql(v, "DELETE FROM audit WHERE id=6; UPDATE "
				   "audit_head SET id=5, count=5, mac=(SELECT "
				   "mac FROM audit WHERE id=5)"), 0);
	CHECK_EQ(vf_vault_audit(v, 0, "mount", "/mnt", "ok", NULL), 0);
	CHECK_EQ(vf_vault_audit(v, 0, "unmount", "/mnt", "ok", NULL), 0);
	CHECK(verify(v, &p) >= 1);
	CHECK(!strcmp(p.first, "the chain head was changed after record 5"));
	s = list(v, INT64_MIN);
	CHECK_EQ(s->n, 7);
	CHECK_EQ(s->n == 7 ? s->r[6].id : 0, 7);
	free(s);
	v = vt_reopen(v);
	if (!v)
		return;
	CHECK(verify(v, &p) >= 1);
	CHECK_EQ(p.first_id, 5);
	/* a row added past the head: the next record still gets written */
	CHECK_EQ(vf_vault_test_sql(v, "INSERT INTO audit VALUES(8, 0, 0, 'x', "
				   "NULL, 'ok', NULL, randomblob(32))"), 0);
	CHECK_EQ(vf_vault_audit(v, 0, "mount", "/mnt", "ok", NULL), 0);
	s = list(v, INT64_MIN);
	CHECK_EQ(s->n, 9);
	free(s);
	CHECK(verify(v, &p) >= 2);
	/* no head and a row at the largest id: nothing to go on from, so
	 * recording fails cleanly instead of wrapping the id around */
	CHECK_EQ(vf_vault_test_sql(v, "DELETE FROM audit_head; INSERT INTO "
				   "audit VALUES(9223372036854775807, 0, 0, "
				   "'x', NULL, 'ok', NULL, randomblob(32))"),
		 0);
	CHECK_EQ(vf_vault_audit(v, 0, "mount", "/mnt", "ok", NULL), -EIO);
	CHECK(verify(v, &p) >= 2);
	CHECK_EQ(vf_vault_close(v), 0);
}

/* A record made inside a transaction that rolls back leaves nothing, and
 * the chain goes on from the last committed record. */
static void rolled_back(void)
{
	struct vf_vault *v = vt_fresh();
	struct problems p;
	struct recs *s;

	if (!v)
		return;
	six(v);
	vf_vault_lock(v);
	CHECK_EQ(vf_catalog_begin(v->cat), 0);
	CHECK_EQ(vf_audit_record(v, 7 * VF_NS, 0, "purge", "lost", "ok", NULL),
		 0);
	vf_catalog_rollback(v->cat);
	CHECK_EQ(vf_catalog_begin(v->cat), 0);
	CHECK_EQ(vf_audit_record(v, 8 * VF_NS, 0, "purge", "kept", "ok", NULL),
		 0);
	CHECK_EQ(vf_catalog_commit(v->cat), 0);
	vf_vault_unlock(v);
	CHECK_EQ(vf_vault_audit(v, 0, "unmount", NULL, "ok", NULL), 0);
	CHECK_EQ(verify(v, &p), 0);
	s = list(v, INT64_MIN);
	CHECK_EQ(s->n, 8);
	CHECK(s->n == 8 && !strcmp(s->r[6].target, "kept"));
	CHECK_EQ(s->n == 8 ? s->r[7].id : 0, 8);
	free(s);
	CHECK_EQ(vf_vault_close(v), 0);
}

/* A fixed minute, far from the test's own clock. */
static const int64_t t0 = 28333334LL * MINUTE;

static void denied_flood(void)
{
	struct vf_vault *v = vt_fresh();
	struct problems p;
	struct recs *s;
	int i;

	if (!v)
		return;
	for (i = 0; i < 10000; i++)
		vf_audit_denied(v, 1001, "unlink", t0 + (int64_t)i * 1000000);
	CHECK_EQ(denied_count(v), 0);
	/* the minute is not over yet */
	CHECK_EQ(vf_vault_audit_flush(v, t0 + 30 * VF_NS, 0), 0);
	CHECK_EQ(denied_count(v), 0);
	CHECK_EQ(vf_vault_audit_flush(v, t0 + 30 * VF_NS, 1), 0);
	s = list(v, INT64_MIN);
	CHECK_EQ(s->n, 1);
	if (s->n == 1) {
		CHECK(!strcmp(s->r[0].action, "denied"));
		CHECK_EQ(s->r[0].uid, 1001);
		CHECK(!strcmp(s->r[0].target, "unlink"));
		CHECK(!strcmp(s->r[0].result, "refused"));
		CHECK(!strcmp(s->r[0].detail, "count=10000"));
		CHECK_EQ(s->r[0].t, t0);
	}
	free(s);
	/* written once: a second flush adds nothing */
	CHECK_EQ(vf_vault_audit_flush(v, t0 + 90 * VF_NS, 1), 0);
	CHECK_EQ(denied_count(v), 1);
	CHECK_EQ(verify(v, &p), 0);
	CHECK_EQ(vf_vault_close(v), 0);
}

static int find(const struct recs *s, uint32_t uid, const char *op,
		int64_t t, const char *detail)
{
	int i, n = 0;

	for (i = 0; i < s->n; i++)
		n += !strcmp(s->r[i].action, "denied") && s->r[i].uid == uid &&
		     !strcmp(s->r[i].target, op) && s->r[i].t == t &&
		     !strcmp(s->r[i].detail, detail);
	return n;
}

/* find, for a count written after later records: its time is moved up
 * to theirs (records are in time order), so at t or after. */
static int find_from(const struct recs *s, uint32_t uid, const char *op,
		     int64_t t, const char *detail)
{
	int i, n = 0;

	for (i = 0; i < s->n; i++)
		n += !strcmp(s->r[i].action, "denied") && s->r[i].uid == uid &&
		     !strcmp(s->r[i].target, op) && s->r[i].t >= t &&
		     !strcmp(s->r[i].detail, detail);
	return n;
}

static void denied_minutes(void)
{
	struct vf_vault *v = vt_fresh();
	int64_t t1 = t0 + 2 * MINUTE, t2 = t0 + 10 * MINUTE;
	struct problems p;
	struct recs *s;
	int i, ok;

	if (!v)
		return;
	/* a later minute's denial writes the finished one at once (nobody
	 * holds v->mu here) */
	for (i = 0; i < 5; i++)
		vf_audit_denied(v, 1001, "read", t1 + i);
	vf_audit_denied(v, 1002, "read", t1 + 59 * VF_NS);
	CHECK_EQ(denied_count(v), 0);
	CHECK_EQ(raw_denied(v), 0);
	vf_audit_denied(v, 1001, "read", t1 + MINUTE);
	CHECK_EQ(raw_denied(v), 2);
	s = list(v, INT64_MIN);
	CHECK_EQ(s->n, 2);
	CHECK_EQ(find(s, 1001, "read", t1, "count=5"), 1);
	CHECK_EQ(find(s, 1002, "read", t1, "count=1"), 1);
	free(s);
	CHECK_EQ(vf_vault_audit_flush(v, t1 + MINUTE + 1, 0), 0);
	CHECK_EQ(denied_count(v), 2);
	CHECK_EQ(vf_vault_audit_flush(v, t1 + 2 * MINUTE, 0), 0);
	s = list(v, INT64_MIN);
	CHECK_EQ(find(s, 1001, "read", t1 + MINUTE, "count=1"), 1);
	CHECK_EQ(s->n, 3);
	free(s);

	/* more pairs than slots in one minute: the rest count as "other" */
	for (i = 0; i < VF_AUDIT_DENY_SLOTS + 6; i++)
		vf_audit_denied(v, 2000 + (uint32_t)i, "write", t2);
	vf_audit_denied(v, 9999, "write", t2 + 1);
	CHECK_EQ(vf_vault_audit_flush(v, t2, 1), 0);
	s = list(v, t2);
	CHECK_EQ(s->n, VF_AUDIT_DENY_SLOTS + 1);
	ok = 1;
	for (i = 0; i < VF_AUDIT_DENY_SLOTS; i++)
		ok &= find(s, 2000 + (uint32_t)i, "write", t2, "count=1") == 1;
	CHECK(ok);
	CHECK_EQ(find(s, VF_AUDIT_UID_NONE, "other", t2, "count=7"), 1);
	free(s);
	CHECK_EQ(verify(v, &p), 0);
	CHECK_EQ(vf_vault_close(v), 0);
}

/* The locking rule: with v->mu held by the caller, a denial neither
 * blocks nor writes; the next audit call outside a transaction does. */
static void denied_under_lock(void)
{
	struct vf_vault *v = vt_fresh();
	int64_t t3 = t0 + 20 * MINUTE;
	struct problems p;
	struct recs *s;

	if (!v)
		return;
	vf_audit_denied(v, 1001, "delete", t3);
	vf_vault_lock(v);
	CHECK_EQ(vf_catalog_begin(v->cat), 0);
	vf_audit_denied(v, 1001, "delete", t3 + MINUTE);
	/* inside a transaction a record does not take the counts along */
	CHECK_EQ(vf_audit_record(v, t3 + MINUTE, 0, "mount", NULL, "ok",
				 NULL), 0);
	vf_catalog_rollback(v->cat);
	vf_vault_unlock(v);
	CHECK_EQ(raw_denied(v), 0);
	CHECK_EQ(denied_count(v), 1); /* list itself writes finished minutes */
	CHECK_EQ(vf_vault_audit(v, 0, "unmount", NULL, "ok", NULL), 0);
	s = list(v, INT64_MIN);
	CHECK_EQ(s->n, 2);
	CHECK_EQ(find(s, 1001, "delete", t3, "count=1"), 1);
	CHECK(s->n == 2 && !strcmp(s->r[1].action, "unmount"));
	free(s);

	vf_vault_lock(v);
	vf_audit_denied(v, 1001, "delete", t3 + 2 * MINUTE);
	vf_vault_unlock(v);
	/* close writes what is still counted */
	v = vt_reopen(v);
	if (!v)
		return;
	s = list(v, INT64_MIN);
	CHECK_EQ(find_from(s, 1001, "delete", t3 + MINUTE, "count=1"), 2);
	CHECK_EQ(s->n, 4);
	for (int i = 1; i < s->n; i++)
		CHECK(s->r[i].t >= s->r[i - 1].t); /* in time order */
	free(s);
	CHECK_EQ(verify(v, &p), 0);
	CHECK_EQ(vf_vault_close(v), 0);
}

/* The sum of the counts of the denied records of (uid, op). */
static long long denied_sum(const struct recs *s, uint32_t uid, const char *op)
{
	long long n = 0;
	int i;

	for (i = 0; i < s->n; i++)
		if (!strcmp(s->r[i].action, "denied") && s->r[i].uid == uid &&
		    !strcmp(s->r[i].target, op) &&
		    !strncmp(s->r[i].detail, "count=", 6))
			n += atoll(s->r[i].detail + 6);
	return n;
}

/* A refusal by immutability reaches the log through vf_vault_deny, with
 * the uid of the caller it refused. */
static void deny_is_audited(void)
{
	struct vf_vault *v = vt_fresh();
	struct vf_handle *h = NULL;
	struct vf_attr d, a;
	struct problems p;
	struct recs *s;
	char err[256] = "";

	if (!v)
		return;
	CHECK_EQ(vf_vault_mkdir(v, &vt_root, VF_ROOT_INO, "sealed", 0755, &d), 0);
	CHECK_EQ(vf_vault_create_file(v, &vt_root, d.ino, "f", 0644, O_WRONLY, &a,
				      &h), 0);
	CHECK_EQ(vf_vault_write(v, h, 0, "x", 1), 1);
	CHECK_EQ(vf_vault_release(v, h), 0);
	CHECK_EQ(vt_immutable_set(v, "sealed", 0, 0, 0, vf_clock_now(),
					err, sizeof(err)), 0);
	CHECK_EQ(vf_vault_unlink(v, &vt_root, d.ino, "f"), -EPERM);
	CHECK_EQ(vf_vault_unlink(v, &vt_root, d.ino, "f"), -EPERM);
	CHECK_EQ(denied_count(v), 0);
	CHECK_EQ(vf_vault_audit_flush(v, vf_clock_now(), 1), 0);
	s = list(v, INT64_MIN);
	/* one record, or two when the refusals straddled a minute; with
	 * the caller's uid (root here) */
	CHECK_EQ(denied_sum(s, 0, "delete"), 2);
	CHECK(s->n >= 1 && s->n <= 2);
	free(s);
	CHECK_EQ(verify(v, &p), 0);
	CHECK_EQ(vf_vault_close(v), 0);
}

int main(void)
{
	vt_setup("t-audit");
	RUN(records_in_order);
	RUN(batches);
	RUN(tampering);
	RUN(head_stays_broken);
	RUN(rolled_back);
	RUN(denied_flood);
	RUN(denied_minutes);
	RUN(denied_under_lock);
	RUN(deny_is_audited);
	if (vt_cleanup())
		return 1;
	return unit_exit();
}
