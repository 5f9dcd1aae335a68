/*
 * audit.c - the tamper-evident audit log (README.md, Audit log).
 *
 * Storage.  Records are rows of table audit in the catalog, so they are
 * sealed at rest like everything there (catvfs.c):
 *
 *   audit(id, t, uid, action, target, result, detail, mac)
 *
 * id counts from 1 without gaps; t is ns since the epoch from the daemon
 * clock; uid is 0 to 2^32-1; target and detail may be NULL.  The single
 * row of table audit_head is the chain head:
 *
 *   audit_head(k = 0, id, count, mac, broken, tag)
 *
 * the last record's id and mac, the number of records, broken (0, or 1 +
 * the id of the last record when vf_audit_record found the head missing
 * or forged and carried on from the table) and tag, a MAC over the rest.
 * The head is what makes removing the newest records visible: a log cut
 * short is otherwise a valid, shorter chain.  broken is sticky, so a head
 * re-made by the next record cannot launder a cut.
 *
 * MAC chain.  K is the vault's audit subkey (crypto.h, VF_SUBKEY_AUDIT).
 * Record i's mac is keyed BLAKE2b-256 (crypto_generichash, key K) over:
 *
 *   prev     32 bytes: record i-1's mac (32 zero bytes for record 1)
 *   id       8 bytes, little-endian two's complement
 *   t        8 bytes, little-endian two's complement
 *   uid      4 bytes, little-endian
 *   action, target, result, detail: each a 4-byte little-endian length
 *            and that many bytes (no NUL); NULL is length 0xffffffff and
 *            no bytes
 *
 * The head tag is keyed BLAKE2b-256 with K and the personalisation
 * "vaultfs.audithd" (so that no record mac can pass for a tag) over id,
 * count and broken (8 bytes each, little-endian) and mac (32 bytes).
 *
 * What it proves.  Without K nobody can make a record or a head that
 * verifies, so a changed field or mac, an inserted, reordered or removed
 * record (the newest too) is found by vf_vault_audit_verify.  Removing
 * the whole log together with its head leaves a vault that seems never to
 * have logged anything: copies outside the vault (syslog, alerts) are the
 * answer to that, not this file.
 *
 * Verification walks the rows in id order against the chain, with one
 * row of look-ahead to tell the kinds of damage apart (vault.h lists the
 * reports): a row that fails is held until the next row says whether it
 * chains from the held row's stored mac (the row's content was changed),
 * from its recomputed mac (its mac was changed), from the row before it
 * (it was swapped with its successor, or inserted), or from a record two
 * places on (one was removed and the rest renumbered).  Memory: one batch
 * of rows and the held row.
 *
 * Denied accesses are counted in memory per (uid, op, minute) and
 * written as one record each once the minute is over; audit.h has the
 * locking rule.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit.h"
#include "vclock.h"

#define MAC_BYTES VF_AUDIT_MAC_BYTES
#define BATCH 256
#define MINUTE (60 * VF_NS)
#define FIELDS 4 /* action, target, result, detail */
#define OP_MAX 48
#define NULL_LEN 0xffffffffu
/* No record ever gets an id this large (2^62 records); rows beyond it
 * are foreign and kept out of the position arithmetic. */
#define ID_LIMIT (INT64_C(1) << 62)

static const uint8_t zero_mac[MAC_BYTES];
static const unsigned char head_personal[16] = "vaultfs.audithd";

/* ---- denied-access counters (own lock; audit.h) -------------------------- */

struct deny_slot {
	int64_t minute;
	uint64_t count; /* 0: free */
	uint32_t uid;
	const char *action, *result; /* static strings (vf_audit_count) */
	char op[OP_MAX];
};

struct vf_audit {
	pthread_mutex_t mu;
	int64_t minute; /* the latest minute a denial or a flush saw */
	int closed;     /* some counted slot is of an earlier minute */
	/* the last slot counts everything that finds the others full */
	struct deny_slot slot[VF_AUDIT_DENY_SLOTS + 1];
	/* refusals (vf_vault_deny*): under deny_mu, which is taken alone */
	pthread_mutex_t deny_mu;
	uint64_t denials;
	uint64_t access_denials; /* requests refused for want of a role */
	char deny_last[256];
};

int vf_audit_new(struct vf_audit **out)
{
	struct vf_audit *a = calloc(1, sizeof(*a));

	if (!a)
		return -ENOMEM;
	pthread_mutex_init(&a->mu, NULL);
	pthread_mutex_init(&a->deny_mu, NULL);
	a->minute = INT64_MIN;
	*out = a;
	return 0;
}

void vf_audit_free(struct vf_audit *a)
{
	if (!a)
		return;
	pthread_mutex_destroy(&a->deny_mu);
	pthread_mutex_destroy(&a->mu);
	free(a);
}

static int64_t minute_of(int64_t t)
{
	return t / MINUTE - (t % MINUTE < 0);
}

/* a->mu held. */
static int any_closed(const struct vf_audit *a)
{
	size_t i;

	for (i = 0; i < VF_ARRAY_LEN(a->slot); i++)
		if (a->slot[i].count && a->slot[i].minute < a->minute)
			return 1;
	return 0;
}

/* ---- record layout ------------------------------------------------------- */

/* One record's content as hashed; s[i] NULL is SQL NULL. */
struct fields {
	int64_t t;
	uint32_t uid;
	/* a column holds what no record can (a uid out of range): hashed
	 * with a trailing marker so that the row never verifies */
	int odd;
	const char *s[FIELDS];
	size_t len[FIELDS];
};

static void put_le(uint8_t *b, uint64_t x, int n)
{
	int i;

	for (i = 0; i < n; i++)
		b[i] = (uint8_t)(x >> (8 * i));
}

static void record_mac(const uint8_t *key, const uint8_t prev[MAC_BYTES],
		       int64_t id, const struct fields *f,
		       uint8_t out[MAC_BYTES])
{
	crypto_generichash_state st;
	uint8_t b[8];
	int i;

	crypto_generichash_init(&st, key, VF_KEY_BYTES, MAC_BYTES);
	crypto_generichash_update(&st, prev, MAC_BYTES);
	put_le(b, (uint64_t)id, 8);
	crypto_generichash_update(&st, b, 8);
	put_le(b, (uint64_t)f->t, 8);
	crypto_generichash_update(&st, b, 8);
	put_le(b, f->uid, 4);
	crypto_generichash_update(&st, b, 4);
	for (i = 0; i < FIELDS; i++) {
		put_le(b, f->s[i] ? (uint32_t)f->len[i] : NULL_LEN, 4);
		crypto_generichash_update(&st, b, 4);
		if (f->s[i])
			crypto_generichash_update(&st, (const uint8_t *)f->s[i],
						  f->len[i]);
	}
	if (f->odd)
		crypto_generichash_update(&st, (const uint8_t *)"!", 1);
	crypto_generichash_final(&st, out, MAC_BYTES);
	sodium_memzero(&st, sizeof(st));
}

static int mac_eq(const uint8_t *a, const uint8_t *b)
{
	return sodium_memcmp(a, b, MAC_BYTES) == 0;
}

static void fields_set(struct fields *f, int64_t t, uint32_t uid,
		       const char *action, const char *target,
		       const char *result, const char *detail)
{
	int i;

	f->t = t;
	f->uid = uid;
	f->odd = 0;
	f->s[0] = action;
	f->s[1] = target;
	f->s[2] = result;
	f->s[3] = detail;
	for (i = 0; i < FIELDS; i++)
		f->len[i] = f->s[i] ? strnlen(f->s[i], VF_AUDIT_FIELD_MAX) : 0;
}

/* ---- the chain head (v->mu held) ----------------------------------------- */

struct head {
	int present;
	int tag_ok;
	int64_t id, count, broken;
	uint8_t mac[MAC_BYTES];
};

static void head_tag(const uint8_t *key, const struct head *h,
		     uint8_t out[MAC_BYTES])
{
	uint8_t msg[24 + MAC_BYTES];

	put_le(msg, (uint64_t)h->id, 8);
	put_le(msg + 8, (uint64_t)h->count, 8);
	put_le(msg + 16, (uint64_t)h->broken, 8);
	memcpy(msg + 24, h->mac, MAC_BYTES);
	crypto_generichash_blake2b_salt_personal(out, MAC_BYTES, msg,
						 sizeof(msg), key, VF_KEY_BYTES,
						 NULL, head_personal);
}

/* Copies a 32-byte blob column into out: 1, or 0 (zeros) when the column
 * is anything else. */
static int col_mac(sqlite3_stmt *st, int col, uint8_t out[MAC_BYTES])
{
	const void *p = sqlite3_column_blob(st, col);

	if (p && sqlite3_column_type(st, col) == SQLITE_BLOB &&
	    sqlite3_column_bytes(st, col) == MAC_BYTES) {
		memcpy(out, p, MAC_BYTES);
		return 1;
	}
	memset(out, 0, MAC_BYTES);
	return 0;
}

static int head_load(struct vf_vault *v, struct head *h)
{
	sqlite3_stmt *st = vf_catalog_stmt(v->cat, VF_Q_AUDIT_HEAD_GET);
	uint8_t tag[MAC_BYTES], want[MAC_BYTES];
	int rc, ok;

	memset(h, 0, sizeof(*h));
	if (!st)
		return -EIO;
	rc = vf_catalog_row(st);
	if (rc == 1) {
		h->present = 1;
		h->id = sqlite3_column_int64(st, 0);
		h->count = sqlite3_column_int64(st, 1);
		ok = col_mac(st, 2, h->mac);
		h->broken = sqlite3_column_int64(st, 3);
		ok &= col_mac(st, 4, tag);
		head_tag(vf_keys_sub(v->keys, VF_SUBKEY_AUDIT), h, want);
		h->tag_ok = ok && mac_eq(tag, want);
	}
	sqlite3_reset(st);
	return rc < 0 ? rc : 0;
}

static int head_store(struct vf_vault *v, const struct head *h)
{
	sqlite3_stmt *st = vf_catalog_stmt(v->cat, VF_Q_AUDIT_HEAD_PUT);
	uint8_t tag[MAC_BYTES];

	if (!st)
		return -EIO;
	head_tag(vf_keys_sub(v->keys, VF_SUBKEY_AUDIT), h, tag);
	sqlite3_bind_int64(st, 1, h->id);
	sqlite3_bind_int64(st, 2, h->count);
	sqlite3_bind_blob(st, 3, h->mac, MAC_BYTES, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, h->broken);
	sqlite3_bind_blob(st, 5, tag, MAC_BYTES, SQLITE_TRANSIENT);
	return vf_catalog_run(st);
}

/* The head is missing, forged, or behind the table's last row: someone
 * changed the log (or lost its head).  Auditing must go on, so the chain
 * continues from the table's last row, and the head is marked broken for
 * good so that verification keeps saying so.  A missing head over an
 * empty table is simply a log nothing was written to yet. */
static int reseed(struct vf_vault *v, struct head *h)
{
	sqlite3_stmt *st = vf_catalog_stmt(v->cat, VF_Q_AUDIT_LAST);
	struct head n = { .present = 1, .tag_ok = 1 };
	int rc;

	if (!st)
		return -EIO;
	rc = vf_catalog_row(st);
	if (rc == 1) {
		n.id = sqlite3_column_int64(st, 0);
		col_mac(st, 1, n.mac);
		n.count = sqlite3_column_int64(st, 2);
	}
	sqlite3_reset(st);
	if (rc < 0)
		return rc;
	if (n.id >= ID_LIMIT || n.id <= -ID_LIMIT)
		return -EIO;
	if (rc == 0 && !h->present) {
		*h = n;
		return 0;
	}
	/* the first damage found is the one to report */
	if (h->present && h->tag_ok && h->broken)
		n.broken = h->broken;
	else
		n.broken = n.id >= 0 ? n.id + 1 : 1;
	*h = n;
	return 0;
}

static int insert(struct vf_vault *v, int64_t id, const struct fields *f,
		  const uint8_t mac[MAC_BYTES])
{
	sqlite3_stmt *st = vf_catalog_stmt(v->cat, VF_Q_AUDIT_INSERT);
	int i;

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, f->t);
	sqlite3_bind_int64(st, 3, f->uid);
	for (i = 0; i < FIELDS; i++) {
		if (f->s[i])
			sqlite3_bind_text(st, 4 + i, f->s[i], (int)f->len[i],
					  SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 4 + i);
	}
	sqlite3_bind_blob(st, 8, mac, MAC_BYTES, SQLITE_STATIC);
	return vf_catalog_run(st);
}

/* Records are in time order: a record never has an earlier t than the
 * one before it (a count of a minute written after later records, a
 * stamp taken before the lock).  *t moves up to the last record's t. */
static int time_order(struct vf_vault *v, int64_t *t)
{
	sqlite3_stmt *st = vf_catalog_stmt(v->cat, VF_Q_AUDIT_LAST_T);
	int rc;

	if (!st)
		return -EIO;
	rc = vf_catalog_row(st);
	if (rc == 1 && sqlite3_column_int64(st, 0) > *t)
		*t = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc < 0 ? rc : 0;
}

/* Appends f after the head and moves the head (inside a transaction). */
static int append(struct vf_vault *v, const struct fields *cf)
{
	const uint8_t *key = vf_keys_sub(v->keys, VF_SUBKEY_AUDIT);
	uint8_t mac[MAC_BYTES];
	struct fields fo = *cf, *f = &fo;
	struct head h;
	int rc, tries;

	rc = time_order(v, &fo.t);
	if (!rc)
		rc = head_load(v, &h);
	if (!rc && (!h.present || !h.tag_ok))
		rc = reseed(v, &h);
	for (tries = 0; !rc; tries++) {
		record_mac(key, h.mac, h.id + 1, f, mac);
		rc = insert(v, h.id + 1, f, mac);
		/* the id is taken: a row was added past the head */
		if (rc != -EEXIST || tries)
			break;
		rc = reseed(v, &h);
	}
	if (rc)
		return rc;
	h.id++;
	h.count++;
	memcpy(h.mac, mac, MAC_BYTES);
	return head_store(v, &h);
}

/* Writes the counts of finished minutes (all: every count) as records,
 * in a transaction of its own; a count leaves memory only once
 * committed.  v->mu held and no transaction open (else nothing is done:
 * the caller's transaction may yet roll back). */
static int drain(struct vf_vault *v, int all)
{
	struct vf_audit *a = v->audit;
	struct deny_slot out[VF_AUDIT_DENY_SLOTS + 1];
	size_t idx[VF_AUDIT_DENY_SLOTS + 1], n = 0, i;
	char detail[32];
	struct fields f;
	int rc;

	/* a read-only vault writes nothing, the audit log included */
	if (!a || !v->cat || v->cat->depth || v->readonly)
		return 0;
	pthread_mutex_lock(&a->mu);
	for (i = 0; i < VF_ARRAY_LEN(a->slot); i++) {
		if (a->slot[i].count &&
		    (all || a->slot[i].minute < a->minute)) {
			out[n] = a->slot[i];
			idx[n++] = i;
		}
	}
	pthread_mutex_unlock(&a->mu);
	if (!n)
		return 0;
	rc = vf_catalog_begin(v->cat);
	if (rc)
		return rc;
	for (i = 0; !rc && i < n; i++) {
		snprintf(detail, sizeof(detail), "count=%llu",
			 (unsigned long long)out[i].count);
		fields_set(&f, out[i].minute * MINUTE, out[i].uid,
			   out[i].action, out[i].op, out[i].result, detail);
		rc = append(v, &f);
	}
	if (rc) {
		vf_catalog_rollback(v->cat);
		return rc;
	}
	rc = vf_catalog_commit(v->cat);
	if (rc)
		return rc;
	/* Slots do not move while counted and only a drain (under v->mu)
	 * frees them, so idx still names them; denials counted meanwhile
	 * stay. */
	pthread_mutex_lock(&a->mu);
	for (i = 0; i < n; i++)
		a->slot[idx[i]].count -= out[i].count;
	a->closed = any_closed(a);
	pthread_mutex_unlock(&a->mu);
	return 0;
}

/* ---- writing ------------------------------------------------------------- */

int vf_audit_record(struct vf_vault *v, int64_t t, uint32_t uid,
		    const char *action, const char *target, const char *result,
		    const char *detail)
{
	struct fields f;
	int rc;

	if (!action || !result)
		return -EINVAL;
	/* A read-only vault writes nothing: it changes nothing either (the
	 * admin gate refuses every change on it), so no change goes
	 * unrecorded; denied accesses are not kept. */
	if (v->readonly)
		return 0;
	/* a failure here leaves the counts for the next try; the event
	 * itself must still be recorded */
	(void)drain(v, 0);
	fields_set(&f, t, uid, action, target, result, detail);
	rc = vf_catalog_begin(v->cat);
	if (rc)
		return rc;
	rc = append(v, &f);
	return vf_catalog_finish(v->cat, rc);
}

int vf_vault_audit(struct vf_vault *v, uint32_t uid, const char *action,
		   const char *target, const char *result, const char *detail)
{
	int rc;

	vf_vault_lock(v);
	rc = vf_audit_record(v, vf_vault_stamp(v), uid, action, target, result,
			     detail);
	vf_vault_unlock(v);
	return rc;
}

void vf_audit_denied(struct vf_vault *v, uint32_t uid, const char *op,
		     int64_t now)
{
	vf_audit_count(v, "denied", "refused", uid, op, now);
}

void vf_audit_count(struct vf_vault *v, const char *action,
		    const char *result, uint32_t uid, const char *op,
		    int64_t now)
{
	struct vf_audit *a = v->audit;
	struct deny_slot *s = NULL, *free_slot = NULL;
	int64_t m = minute_of(now);
	size_t i;
	int closed;

	if (!a)
		return;
	if (!op)
		op = "?";
	pthread_mutex_lock(&a->mu);
	if (m > a->minute) {
		a->minute = m;
		a->closed = any_closed(a);
	}
	for (i = 0; i < VF_AUDIT_DENY_SLOTS && !s; i++) {
		if (!a->slot[i].count) {
			if (!free_slot)
				free_slot = &a->slot[i];
		} else if (a->slot[i].minute == m && a->slot[i].uid == uid &&
			   a->slot[i].action == action &&
			   !strncmp(a->slot[i].op, op, OP_MAX - 1)) {
			s = &a->slot[i];
		}
	}
	if (!s && free_slot) {
		s = free_slot;
		s->minute = m;
		s->uid = uid;
		s->action = action;
		s->result = result;
		snprintf(s->op, sizeof(s->op), "%s", op);
	} else if (!s) {
		/* Full: the overflow slot.  While it still holds an earlier
		 * minute nobody could write yet, it goes on counting under
		 * that minute (a record then covers more than one). */
		s = &a->slot[VF_AUDIT_DENY_SLOTS];
		if (!s->count) {
			s->minute = m;
			s->uid = VF_AUDIT_UID_NONE;
			/* kinds mix in here; the first names it */
			s->action = action;
			s->result = result;
			snprintf(s->op, sizeof(s->op), "other");
		}
	}
	if (s->count < UINT64_MAX)
		s->count++;
	if (s->minute < a->minute)
		a->closed = 1;
	closed = a->closed;
	pthread_mutex_unlock(&a->mu);
	/* A finished minute is written now if v->mu is free.  A caller that
	 * holds v->mu makes the try fail, so this never runs inside its
	 * critical section or its transaction; then the next holder of
	 * v->mu outside a transaction writes it (audit.h). */
	if (closed && pthread_mutex_trylock(&v->mu) == 0) {
		(void)drain(v, 0);
		vf_vault_unlock(v);
	}
}

int vf_vault_audit_flush(struct vf_vault *v, int64_t now, int all)
{
	struct vf_audit *a = v->audit;
	int64_t m = minute_of(now);
	int rc;

	if (!a || !v->cat)
		return 0;
	pthread_mutex_lock(&a->mu);
	if (m > a->minute)
		a->minute = m;
	a->closed = any_closed(a);
	pthread_mutex_unlock(&a->mu);
	vf_vault_lock(v);
	rc = drain(v, all);
	/* the daemon's minute timer and the close save the vault clock's
	 * mark (vclock.h); a mark not saved (a full disk) only makes the
	 * next open count less time, the safe side, so it fails nothing */
	if (!rc && !v->cat->depth && vf_vclock_save(v, all) < 0)
		rc = 0;
	vf_vault_unlock(v);
	return rc;
}

/* ---- reading: batches of rows -------------------------------------------- */

struct brow {
	int64_t id, t;
	uint32_t uid;
	int odd;
	size_t off[FIELDS], len[FIELDS]; /* in the batch's buf */
	int null[FIELDS];
	uint8_t mac[MAC_BYTES];
};

struct batch {
	struct brow row[BATCH];
	size_t n;
	char *buf; /* the rows' strings, each NUL-terminated */
	size_t used, cap;
	int end;          /* no rows after these */
	struct head head; /* with end: read in the same critical section */
};

static int stash(struct batch *b, const char *p, size_t len, size_t *off)
{
	size_t need = b->used + len + 1, cap = b->cap ? b->cap : 4096;
	char *nb;

	if (need < len)
		return -ENOMEM;
	while (cap < need) {
		if (cap > SIZE_MAX / 2)
			return -ENOMEM;
		cap *= 2;
	}
	if (cap != b->cap) {
		nb = realloc(b->buf, cap);
		if (!nb)
			return -ENOMEM;
		b->buf = nb;
		b->cap = cap;
	}
	if (len)
		memcpy(b->buf + b->used, p, len);
	b->buf[b->used + len] = '\0';
	*off = b->used;
	b->used = need;
	return 0;
}

/* The next rows with id >= from and t >= since (v->mu held); with_head:
 * when they are the last, also the head as of the same moment. */
static int fetch(struct vf_vault *v, int64_t from, int64_t since,
		 int with_head, struct batch *b)
{
	sqlite3_stmt *st = vf_catalog_stmt(v->cat, VF_Q_AUDIT_BATCH);
	const char *p;
	struct brow *r;
	int64_t uid;
	int rc = 0, i;

	b->n = 0;
	b->used = 0;
	b->end = 0;
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, from);
	sqlite3_bind_int64(st, 2, since);
	sqlite3_bind_int64(st, 3, BATCH);
	while (b->n < BATCH && (rc = vf_catalog_row(st)) == 1) {
		r = &b->row[b->n++];
		r->id = sqlite3_column_int64(st, 0);
		r->t = sqlite3_column_int64(st, 1);
		uid = sqlite3_column_int64(st, 2);
		r->uid = (uint32_t)uid;
		r->odd = uid < 0 || uid > (int64_t)UINT32_MAX;
		for (i = 0; i < FIELDS && rc == 1; i++) {
			r->null[i] = sqlite3_column_type(st, 3 + i) ==
				     SQLITE_NULL;
			p = (const char *)sqlite3_column_text(st, 3 + i);
			r->len[i] = (size_t)sqlite3_column_bytes(st, 3 + i);
			if (!p && !r->null[i])
				rc = -ENOMEM;
			else if (!r->null[i])
				rc = stash(b, p, r->len[i], &r->off[i]);
			rc = rc ? rc : 1;
		}
		col_mac(st, 7, r->mac);
		if (rc != 1)
			break;
	}
	sqlite3_reset(st);
	if (b->n == BATCH && rc == 1)
		rc = 0;
	if (rc < 0)
		return rc;
	if (b->n < BATCH) {
		b->end = 1;
		if (with_head)
			rc = head_load(v, &b->head);
	}
	return rc;
}

static struct batch *batch_new(void)
{
	return calloc(1, sizeof(struct batch));
}

static void batch_free(struct batch *b)
{
	if (b)
		free(b->buf);
	free(b);
}

/* Where the batch after b starts: 1, or 0 when b ended at the largest
 * possible id. */
static int next_from(const struct batch *b, int64_t *from)
{
	int64_t last = b->row[b->n - 1].id;

	if (last == INT64_MAX)
		return 0;
	*from = last + 1;
	return 1;
}

static void fields_of(const struct batch *b, size_t i, struct fields *f)
{
	const struct brow *r = &b->row[i];
	int k;

	f->t = r->t;
	f->uid = r->uid;
	f->odd = r->odd;
	for (k = 0; k < FIELDS; k++) {
		f->s[k] = r->null[k] ? NULL : b->buf + r->off[k];
		f->len[k] = r->null[k] ? 0 : r->len[k];
	}
}

int vf_vault_audit_list(struct vf_vault *v, int64_t since, vf_audit_cb cb,
			void *arg)
{
	struct batch *b = batch_new();
	struct vf_event r;
	struct fields f;
	int64_t from = INT64_MIN;
	int rc = 0, stop = 0;
	size_t i;

	if (!b)
		return -ENOMEM;
	do {
		vf_vault_lock(v);
		if (from == INT64_MIN)
			(void)drain(v, 0);
		rc = fetch(v, from, since, 0, b);
		vf_vault_unlock(v);
		for (i = 0; !rc && !stop && i < b->n; i++) {
			fields_of(b, i, &f);
			r.id = b->row[i].id;
			r.t = f.t;
			r.uid = f.uid;
			r.action = f.s[0] ? f.s[0] : "";
			r.target = f.s[1];
			r.result = f.s[2] ? f.s[2] : "";
			r.detail = f.s[3];
			stop = cb(arg, &r);
		}
		if (b->n && !next_from(b, &from))
			break;
	} while (!rc && !stop && !b->end);
	batch_free(b);
	return rc;
}

/* ---- verification -------------------------------------------------------- */

enum problem { P_CHANGED, P_MISSING, P_REMOVED, P_BEFORE, P_AFTER, P_HEAD };

/* A row that did not verify at position pos, held for one row. */
struct held {
	int64_t id, pos;
	struct fields f; /* strings in buf */
	char *buf;
	uint8_t mac[MAC_BYTES];  /* as stored */
	uint8_t c[MAC_BYTES];    /* as computed at pos */
	uint8_t pred[MAC_BYTES]; /* the chain before pos */
};

struct verifier {
	const uint8_t *key;
	uint8_t m[MAC_BYTES]; /* the chain after position pos */
	int64_t pos;          /* the last record accounted for */
	int64_t off;          /* row id minus position (renumbering) */
	int64_t rows;
	int have_held;
	struct held h;
	int problems;
	int stop;
	vf_audit_problem_cb cb;
	void *arg;
};

static void report(struct verifier *vs, enum problem k, int64_t id)
{
	char line[96];
	long long n = (long long)id;

	vs->problems++;
	if (!vs->cb || vs->stop)
		return;
	switch (k) {
	case P_CHANGED:
		snprintf(line, sizeof(line), "record %lld was changed", n);
		break;
	case P_MISSING:
		snprintf(line, sizeof(line),
			 "record %lld is missing or records were reordered", n);
		break;
	case P_REMOVED:
		snprintf(line, sizeof(line), "records after %lld were removed",
			 n);
		break;
	case P_BEFORE:
		snprintf(line, sizeof(line), "record inserted before %lld", n);
		break;
	case P_AFTER:
		snprintf(line, sizeof(line), "record inserted after %lld", n);
		break;
	default:
		snprintf(line, sizeof(line),
			 "the chain head was changed after record %lld", n);
		break;
	}
	if (vs->cb(vs->arg, id, line))
		vs->stop = 1;
}

static void advance(struct verifier *vs, int64_t pos, const uint8_t *mac)
{
	vs->pos = pos;
	memcpy(vs->m, mac, MAC_BYTES);
}

static int hold(struct verifier *vs, int64_t id, int64_t pos,
		const struct fields *f, const uint8_t *mac, const uint8_t *c)
{
	struct held *h = &vs->h;
	size_t total = 1, at = 0;
	int i;

	for (i = 0; i < FIELDS; i++)
		if (f->s[i])
			total += f->len[i] + 1;
	h->buf = malloc(total);
	if (!h->buf)
		return -ENOMEM;
	h->f = *f;
	for (i = 0; i < FIELDS; i++) {
		if (!f->s[i])
			continue;
		memcpy(h->buf + at, f->s[i], f->len[i]);
		h->buf[at + f->len[i]] = '\0';
		h->f.s[i] = h->buf + at;
		at += f->len[i] + 1;
	}
	h->id = id;
	h->pos = pos;
	memcpy(h->mac, mac, MAC_BYTES);
	memcpy(h->c, c, MAC_BYTES);
	memcpy(h->pred, vs->m, MAC_BYTES);
	vs->have_held = 1;
	return 0;
}

static void unhold(struct verifier *vs)
{
	free(vs->h.buf);
	vs->h.buf = NULL;
	vs->have_held = 0;
}

/* Tells what happened to the held row from the row after it (id, f,
 * mac).  Returns 1 when that row is accounted for too, 0 when it is still
 * to be checked. */
static int resolve(struct verifier *vs, int64_t id, const struct fields *f,
		   const uint8_t *mac)
{
	struct held *h = &vs->h;
	int64_t q = h->pos;
	uint8_t c[MAC_BYTES];
	int used = 1;

	if (id != h->id + 1)
		goto unknown;
	record_mac(vs->key, h->mac, q + 1, f, c);
	if (mac_eq(c, mac)) {
		/* the next record chains from the stored mac: the held
		 * record's content was changed */
		report(vs, P_CHANGED, q);
		advance(vs, q + 1, mac);
		goto out;
	}
	record_mac(vs->key, h->c, q + 1, f, c);
	if (mac_eq(c, mac)) {
		/* it chains from the mac the held record should have */
		report(vs, P_CHANGED, q);
		advance(vs, q + 1, mac);
		goto out;
	}
	record_mac(vs->key, h->pred, q, f, c);
	if (mac_eq(c, mac)) {
		/* this row is the real record q: the held one is record q+1
		 * (the two were swapped) or was inserted before q */
		record_mac(vs->key, mac, q + 1, &h->f, c);
		if (mac_eq(c, h->mac)) {
			report(vs, P_MISSING, q);
			advance(vs, q + 1, h->mac);
		} else {
			report(vs, P_BEFORE, q);
			vs->off++;
			advance(vs, q, mac);
		}
		goto out;
	}
	record_mac(vs->key, h->mac, q + 2, f, c);
	if (mac_eq(c, mac)) {
		/* record q was removed and the later ids moved down: the held
		 * row is record q+1, this one q+2 */
		report(vs, P_MISSING, q);
		vs->off--;
		advance(vs, q + 2, mac);
		goto out;
	}
unknown:
	/* nothing tells it apart: the chain breaks at q and goes on from
	 * the held row's stored mac */
	report(vs, P_CHANGED, q);
	advance(vs, q, h->mac);
	used = 0;
out:
	unhold(vs);
	return used;
}

static int check_row(struct verifier *vs, int64_t id, const struct fields *f,
		     const uint8_t *mac)
{
	uint8_t c[MAC_BYTES];
	int64_t q;

	vs->rows++;
	if (vs->have_held && resolve(vs, id, f, mac))
		return 0;
	q = vs->pos + 1;
	if (id >= ID_LIMIT || id <= -ID_LIMIT) {
		report(vs, id > 0 ? P_AFTER : P_BEFORE, id > 0 ? vs->pos : q);
		vs->rows--;
		return 0;
	}
	if (id < q + vs->off) {
		report(vs, P_BEFORE, q);
		return 0;
	}
	if (id > q + vs->off) {
		/* its predecessor is gone: nothing to check it against, so
		 * the chain goes on from its stored mac */
		report(vs, P_MISSING, q);
		advance(vs, id - vs->off, mac);
		return 0;
	}
	record_mac(vs->key, vs->m, q, f, c);
	if (mac_eq(c, mac)) {
		advance(vs, q, c);
		return 0;
	}
	return hold(vs, id, q, f, mac, c);
}

/* The end of the rows: the held row, if any, against the head, then the
 * head against the chain. */
static void finish(struct verifier *vs, const struct head *hd)
{
	struct held *h = &vs->h;
	int trusted = hd->present && hd->tag_ok;

	if (vs->have_held) {
		if (trusted && hd->id == h->pos && mac_eq(hd->mac, h->mac)) {
			report(vs, P_CHANGED, h->pos);
			advance(vs, h->pos, h->mac);
		} else if (trusted && hd->id == h->pos &&
			   mac_eq(hd->mac, h->c)) {
			report(vs, P_CHANGED, h->pos);
			advance(vs, h->pos, h->c);
		} else if (trusted && hd->id == h->pos - 1 &&
			   mac_eq(hd->mac, h->pred)) {
			/* a row past the head that no record chains to */
			report(vs, P_AFTER, hd->id);
			vs->rows--;
		} else {
			report(vs, P_CHANGED, h->pos);
			advance(vs, h->pos, h->mac);
		}
		unhold(vs);
	}
	if (!hd->present) {
		if (vs->rows)
			report(vs, P_HEAD, vs->pos);
		return;
	}
	if (!hd->tag_ok) {
		report(vs, P_HEAD, vs->pos);
		return;
	}
	if (hd->broken)
		report(vs, P_HEAD, hd->broken - 1);
	if (vs->pos < hd->id)
		report(vs, P_REMOVED, vs->pos);
	else if (vs->pos > hd->id)
		report(vs, P_AFTER, hd->id);
	else if (!mac_eq(vs->m, hd->mac))
		report(vs, P_CHANGED, vs->pos);
	else if (!vs->problems && vs->rows != hd->count)
		report(vs, P_HEAD, vs->pos);
}

int vf_vault_audit_verify(struct vf_vault *v, vf_audit_problem_cb cb,
			  void *arg)
{
	struct batch *b = batch_new();
	struct verifier vs;
	struct fields f;
	int64_t from = INT64_MIN;
	int rc = 0;
	size_t i;

	if (!b)
		return -ENOMEM;
	memset(&vs, 0, sizeof(vs));
	vs.key = vf_keys_sub(v->keys, VF_SUBKEY_AUDIT);
	memcpy(vs.m, zero_mac, MAC_BYTES);
	vs.cb = cb;
	vs.arg = arg;
	do {
		vf_vault_lock(v);
		if (from == INT64_MIN)
			(void)drain(v, 0);
		rc = fetch(v, from, INT64_MIN, 1, b);
		vf_vault_unlock(v);
		for (i = 0; !rc && !vs.stop && i < b->n; i++) {
			fields_of(b, i, &f);
			rc = check_row(&vs, b->row[i].id, &f, b->row[i].mac);
		}
		/* a full batch ending at the largest id: no row can follow,
		 * but the head still has to be read */
		if (b->n && !next_from(b, &from) && !b->end) {
			vf_vault_lock(v);
			rc = rc ? rc : head_load(v, &b->head);
			vf_vault_unlock(v);
			b->end = 1;
		}
	} while (!rc && !vs.stop && !b->end);
	if (!rc && !vs.stop)
		finish(&vs, &b->head);
	unhold(&vs);
	batch_free(b);
	return rc ? rc : vs.problems;
}

/* ---- test hook ----------------------------------------------------------- */

int vf_vault_test_sql(struct vf_vault *v, const char *sql)
{
	int rc;

	vf_vault_lock(v);
	rc = vf_catalog_errno(sqlite3_exec(v->cat->db, sql, NULL, NULL, NULL));
	vf_vault_unlock(v);
	return rc;
}

/* ---- refusals (a->deny_mu) ---------------------------------------------- */

void vf_vault_deny(struct vf_vault *v, uint32_t uid, const char *what,
		   uint64_t ino, const char *why)
{
	struct vf_audit *a = v->audit;

	pthread_mutex_lock(&a->deny_mu);
	a->denials++;
	snprintf(a->deny_last, sizeof(a->deny_last), "%s of inode %llu: %s",
		 what, (unsigned long long)ino, why);
	pthread_mutex_unlock(&a->deny_mu);
	/* Counted per minute, not logged one by one, so that a flood of
	 * refusals cannot fill the audit log; callable with v->mu held.
	 * Settings refused to vaultctl are recorded by the command layer,
	 * with the caller; here they come as VF_AUDIT_UID_NONE. */
	vf_audit_denied(v, uid, what, vf_vault_stamp(v));
}

void vf_vault_deny_access(struct vf_vault *v, uint32_t uid, const char *op)
{
	struct vf_audit *a = v->audit;

	pthread_mutex_lock(&a->deny_mu);
	a->access_denials++;
	pthread_mutex_unlock(&a->deny_mu);
	vf_audit_denied(v, uid, op, vf_vault_stamp(v));
}

uint64_t vf_vault_last_denial(struct vf_vault *v, char *buf, size_t cap)
{
	struct vf_audit *a = v->audit;
	uint64_t n;

	pthread_mutex_lock(&a->deny_mu);
	n = a->denials;
	snprintf(buf, cap, "%s", a->deny_last);
	pthread_mutex_unlock(&a->deny_mu);
	return n;
}
