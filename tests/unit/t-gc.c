/*
 * t-gc.c - retention, prune and gc on a real vault: the policy in the
 * catalog; prune by keep-last (dry run, deleted files, a current version
 * the policy would drop); gc reclaiming space with every retained version
 * intact; gc leaving files being written alone; gc killed at many points
 * and failing at every pack write, with the vault still clean after.
 *
 * White-box where the API has no way in: retained older versions are read
 * through their extents (vault_int.h), and the packs table is compared
 * with the backend to find orphan pack files.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>

#include "unit.h"
#include "cache.h"
#include "vadmin.h"

#define FILES 8
#define VERS 6
#define SIZE (1u << 20)
/* Prune keeps every version replaced within the soft-delete retention
 * (14 days by default): tests that want versions to go prune this much
 * later. */
#define LATER ((int64_t)15 * 86400 * VF_NS)

static char dir[64], tmpl[64], ks[80];
static struct vf_protector_opts opts;
static const struct vf_caller root = { .uid = 0, .pid = 1, .umask = 022 };

/* The content of version ver of file file: incompressible, reproducible. */
static void content(uint8_t *p, size_t n, unsigned file, unsigned ver)
{
	uint64_t s = 0x9e3779b97f4a7c15ULL * (file * 1000 + ver + 1);
	size_t i;

	for (i = 0; i < n; i++) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		p[i] = (uint8_t)(s >> 24);
	}
}

static int rm_rf(const char *path)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", path);
	return system(cmd);
}

/* dir becomes a copy of the template vault (same keystore entry).  The
 * copy is a rollback of the previous run's vault as far as the anchor in
 * the keystore knows (same vault id): that anchor goes, the copy's own
 * catalog.anchor stays. */
static int copy_template(void)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf %s %s/*.anchor && cp -a %s %s", dir,
		 ks, tmpl, dir);
	return system(cmd);
}

static struct vf_vault *open_at(const char *path)
{
	struct vf_vault *v = NULL;
	char err[256];

	if (vf_vault_open(path, &opts, 0, &v, err, sizeof(err)))
		fprintf(stderr, "open: %s\n", err);
	return v;
}

static struct vf_vault *fresh_at(const char *path)
{
	char err[256];

	CHECK_EQ(rm_rf(path), 0);
	opts.keystore = ks;
	if (vf_vault_create(path, &opts, err, sizeof(err))) {
		fprintf(stderr, "create: %s\n", err);
		return NULL;
	}
	return open_at(path);
}

static struct vf_vault *reopen(struct vf_vault *v, const char *path)
{
	CHECK_EQ(vf_vault_close(v), 0);
	return open_at(path);
}

/* Writes buf as the whole content of parent/name (created if missing),
 * then closes: one new version.  Returns the inode. */
static uint64_t put_file(struct vf_vault *v, uint64_t parent, const char *name,
			 const uint8_t *buf, size_t len)
{
	struct vf_attr a;
	struct vf_handle *h = NULL;
	size_t off, step = 128u << 10;

	if (vf_vault_lookup(v, &root, parent, name, &a) == 0)
		CHECK_EQ(vf_vault_open_file(v, &root, a.ino,
					    O_WRONLY | O_TRUNC, &h), 0);
	else
		CHECK_EQ(vf_vault_create_file(v, &root, parent, name, 0644,
					      O_WRONLY, &a, &h), 0);
	if (!h)
		return 0;
	for (off = 0; off < len; off += step) {
		size_t n = len - off < step ? len - off : step;

		CHECK_EQ(vf_vault_write(v, h, off, buf + off, n), (ssize_t)n);
	}
	CHECK_EQ(vf_vault_flush(v, h), 0);
	CHECK_EQ(vf_vault_release(v, h), 0);
	return a.ino;
}

static int same_content(struct vf_vault *v, uint64_t ino, const uint8_t *buf,
			size_t len)
{
	struct vf_handle *h;
	uint8_t *got = malloc(len + 1);
	ssize_t n = 0, r;
	int same;

	if (!got || vf_vault_open_file(v, &root, ino, O_RDONLY, &h)) {
		free(got);
		return 0;
	}
	while ((size_t)n < len + 1) {
		r = vf_vault_read(v, h, (uint64_t)n, got + n,
				  len + 1 - (size_t)n);
		if (r <= 0)
			break;
		n += r;
	}
	same = n == (ssize_t)len && !memcmp(got, buf, len);
	CHECK_EQ(vf_vault_release(v, h), 0);
	free(got);
	return same;
}

static uint64_t ino_of(struct vf_vault *v, uint64_t parent, const char *name)
{
	struct vf_attr a;

	if (vf_vault_lookup(v, &root, parent, name, &a))
		return 0;
	return a.ino;
}

static uint64_t stored(struct vf_vault *v)
{
	struct vf_status st;

	CHECK_EQ(vf_vault_status(v, &st), 0);
	return st.stored_bytes;
}

static uint64_t versions_total(struct vf_vault *v)
{
	struct vf_status st;

	CHECK_EQ(vf_vault_status(v, &st), 0);
	return st.versions;
}

static int sql(struct vf_vault *v, const char *text)
{
	int rc;

	vf_vault_lock(v);
	rc = sqlite3_exec(v->cat->db, text, NULL, NULL, NULL);
	vf_vault_unlock(v);
	return rc;
}

/* The version ids of node ino, oldest first; returns how many. */
static size_t versions_of(struct vf_vault *v, uint64_t ino, int64_t *ids,
			  size_t cap)
{
	sqlite3_stmt *st = NULL;
	size_t n = 0;

	vf_vault_lock(v);
	if (sqlite3_prepare_v2(v->cat->db,
			       "SELECT id FROM versions WHERE node=?1 ORDER BY "
			       "t, id",
			       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, (int64_t)ino);
		while (sqlite3_step(st) == SQLITE_ROW) {
			if (n < cap)
				ids[n] = sqlite3_column_int64(st, 0);
			n++;
		}
	}
	sqlite3_finalize(st);
	vf_vault_unlock(v);
	return n;
}

/* 1 when version reads back as want[0..len), through its extents and the
 * chunk path readers use. */
static int version_is(struct vf_vault *v, int64_t version, const uint8_t *want,
		      size_t len)
{
	struct {
		uint64_t off, len;
		int64_t chunk;
		uint32_t coff;
	} ext[128];
	sqlite3_stmt *st = NULL;
	size_t n = 0, i;
	uint64_t end = 0;
	int ok = 1;

	vf_vault_lock(v);
	if (sqlite3_prepare_v2(v->cat->db,
			       "SELECT off, len, chunk, coff FROM extents "
			       "WHERE version=?1 ORDER BY off",
			       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, version);
		while (sqlite3_step(st) == SQLITE_ROW && n < 128) {
			ext[n].off = (uint64_t)sqlite3_column_int64(st, 0);
			ext[n].len = (uint64_t)sqlite3_column_int64(st, 1);
			ext[n].chunk = sqlite3_column_int64(st, 2);
			ext[n].coff = (uint32_t)sqlite3_column_int64(st, 3);
			n++;
		}
	}
	sqlite3_finalize(st);
	vf_vault_unlock(v);
	for (i = 0; i < n && ok; i++) {
		struct vf_cache_ent *e;

		if (ext[i].off != end || ext[i].off + ext[i].len > len)
			return 0;
		end += ext[i].len;
		if (ext[i].chunk == 0) {
			size_t j;

			for (j = 0; j < ext[i].len; j++)
				ok &= want[ext[i].off + j] == 0;
			continue;
		}
		if (vf_cache_get(v, ext[i].chunk, &e))
			return 0;
		ok = ext[i].coff + ext[i].len <= e->len &&
		     !memcmp(e->data + ext[i].coff, want + ext[i].off,
			     ext[i].len);
		vf_cache_put(v, e);
	}
	return ok && end == len;
}

struct orphans {
	struct vf_vault *v;
	int n;
};

static int orphan_cb(void *arg, const char *name)
{
	struct orphans *o = arg;
	sqlite3_stmt *st = NULL;

	vf_vault_lock(o->v);
	if (sqlite3_prepare_v2(o->v->cat->db,
			       "SELECT 1 FROM packs WHERE name=?1", -1, &st,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_ROW)
			o->n++;
	}
	sqlite3_finalize(st);
	vf_vault_unlock(o->v);
	return 0;
}

/* Pack files the packs table does not know. */
static int orphans(struct vf_vault *v)
{
	struct orphans o = { v, 0 };

	CHECK_EQ(v->io->ops->list(v->io, orphan_cb, &o), 0);
	return o.n;
}

/* Leaves a pack file nothing refers to, as a crash between pack writes
 * and their commit would. */
static void make_orphan(struct vf_vault *v, const char *name)
{
	static const uint8_t junk[5000];
	void *h = NULL;

	CHECK_EQ(v->io->ops->create(v->io, name, &h), 0);
	if (!h)
		return;
	CHECK_EQ(v->io->ops->append(v->io, h, VF_PACK_MAGIC, VF_PACK_HDR), 0);
	CHECK_EQ(v->io->ops->append(v->io, h, junk, sizeof(junk)), 0);
	CHECK_EQ(v->io->ops->close(v->io, h), 0);
}

static int pack_exists(struct vf_vault *v, const char *name)
{
	uint64_t size;

	return v->io->ops->size(v->io, name, &size) == 0;
}

/* FILES files of VERS versions each, written round by round, so the
 * oldest versions share the first packs. */
static void write_history(struct vf_vault *v, uint8_t *buf)
{
	unsigned f, r;
	char name[16];

	for (r = 0; r < VERS; r++)
		for (f = 0; f < FILES; f++) {
			snprintf(name, sizeof(name), "f%u", f);
			content(buf, SIZE, f, r);
			put_file(v, 1, name, buf, SIZE);
		}
}

/* Every file reads back as its newest version, and its two older
 * retained versions are intact. */
static void check_history(struct vf_vault *v, uint8_t *buf, unsigned kept)
{
	unsigned f, k;
	char name[16];
	int64_t ids[VERS];

	for (f = 0; f < FILES; f++) {
		uint64_t ino;

		snprintf(name, sizeof(name), "f%u", f);
		ino = ino_of(v, 1, name);
		content(buf, SIZE, f, VERS - 1);
		CHECK(same_content(v, ino, buf, SIZE));
		CHECK_EQ(versions_of(v, ino, ids, VERS), kept);
		for (k = 0; k < kept && k < VERS; k++) {
			content(buf, SIZE, f, VERS - kept + k);
			CHECK(version_is(v, ids[k], buf, SIZE));
		}
	}
}

static int set_keep_last(struct vf_vault *v, unsigned n)
{
	struct vf_retention p = { .keep_last = n, .min_points = 3 };
	char err[256];

	return vt_policy_set(v, &p, err, sizeof(err));
}

/* ---- policy ------------------------------------------------------------ */

static int same_policy(const struct vf_retention *a,
		       const struct vf_retention *b)
{
	return a->keep_last == b->keep_last &&
	       a->keep_within == b->keep_within &&
	       a->keep_hourly == b->keep_hourly &&
	       a->keep_daily == b->keep_daily &&
	       a->keep_weekly == b->keep_weekly &&
	       a->keep_monthly == b->keep_monthly &&
	       a->keep_yearly == b->keep_yearly &&
	       a->min_points == b->min_points;
}

static void policy_roundtrip(void)
{
	struct vf_vault *v = fresh_at(dir);
	struct vf_retention p = { .keep_last = 7,
				  .keep_within = 36 * 3600 * VF_NS,
				  .keep_hourly = 24,
				  .keep_daily = 30,
				  .keep_weekly = 8,
				  .keep_monthly = 12,
				  .keep_yearly = 5,
				  .min_points = 4 };
	struct vf_retention none = { .min_points = VF_POLICY_MIN_POINTS };
	struct vf_retention got, bad;
	char err[256];

	if (!v)
		{ CHECK(0); return; }
	/* a new vault keeps everything */
	CHECK_EQ(vf_vault_policy_get(v, &got), 0);
	CHECK(same_policy(&got, &none));
	CHECK_EQ(vt_policy_set(v, &p, err, sizeof(err)), 0);
	CHECK_EQ(vf_vault_policy_get(v, &got), 0);
	CHECK(same_policy(&got, &p));
	/* refusals, each with a one-line reason, leave the policy alone */
	bad = p;
	bad.min_points = 2;
	err[0] = '\0';
	CHECK_EQ(vt_policy_set(v, &bad, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "min-points") != NULL);
	CHECK(err[0] && !strchr(err, '\n'));
	bad = p;
	bad.keep_last = 1000001;
	CHECK_EQ(vt_policy_set(v, &bad, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "keep-last") != NULL);
	bad = p;
	bad.keep_within = -1;
	CHECK_EQ(vt_policy_set(v, &bad, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "keep-within") != NULL);
	bad = p;
	bad.keep_within = INT64_MAX;
	CHECK_EQ(vt_policy_set(v, &bad, err, sizeof(err)), -EINVAL);
	bad = p;
	bad.keep_yearly = 2000000;
	CHECK_EQ(vt_policy_set(v, &bad, err, sizeof(err)), -EINVAL);
	bad = p;
	bad.min_points = 1000001;
	CHECK_EQ(vt_policy_set(v, &bad, err, sizeof(err)), -EINVAL);
	CHECK_EQ(vf_vault_policy_get(v, &got), 0);
	CHECK(same_policy(&got, &p));
	/* stored in the catalog */
	v = reopen(v, dir);
	if (!v)
		{ CHECK(0); return; }
	CHECK_EQ(vf_vault_policy_get(v, &got), 0);
	CHECK(same_policy(&got, &p));
	CHECK_EQ(vt_policy_set(v, &none, err, sizeof(err)), 0);
	CHECK_EQ(vf_vault_policy_get(v, &got), 0);
	CHECK(same_policy(&got, &none));
	CHECK_EQ(vf_vault_close(v), 0);
}

/* ---- prune ------------------------------------------------------------- */

struct rec {
	char path[32];
	int64_t t;
	uint64_t size;
};

struct recs {
	struct rec r[64];
	int n;
};

static void rec_cb(void *arg, const char *path, int64_t t, uint64_t size)
{
	struct recs *rs = arg;

	if (rs->n < 64) {
		snprintf(rs->r[rs->n].path, sizeof(rs->r[rs->n].path), "%s",
			 path);
		rs->r[rs->n].t = t;
		rs->r[rs->n].size = size;
	}
	rs->n++;
}

static int recs_with(const struct recs *rs, const char *path)
{
	int i, n = 0;

	for (i = 0; i < rs->n && i < 64; i++)
		n += !strcmp(rs->r[i].path, path);
	return n;
}

#define PSIZE (200u << 10)

static void prune_keep_last(void)
{
	static const char *const names[] = { "f0", "f1", "f2", "f3", "x",
					     "cur" };
	struct vf_vault *v = fresh_at(dir);
	uint8_t *buf = malloc(PSIZE);
	struct recs *dry = calloc(1, sizeof(*dry));
	struct recs *real = calloc(1, sizeof(*real));
	struct vf_prune_stats st;
	struct vf_attr d;
	uint64_t ino[6], few;
	int64_t ids[VERS + 1];
	char text[256];
	unsigned f, r, k;

	if (!v || !buf || !dry || !real)
		{ CHECK(0); goto out; }
	CHECK_EQ(vf_vault_mkdir(v, &root, 1, "d", 0755, &d), 0);
	for (r = 0; r < VERS; r++)
		for (f = 0; f < 6; f++) {
			content(buf, PSIZE, f, r);
			ino[f] = put_file(v, f == 4 ? d.ino : 1, names[f], buf,
					  PSIZE);
		}
	for (r = 0; r < 2; r++) {
		content(buf, PSIZE, 9, r);
		few = put_file(v, 1, "few", buf, PSIZE);
	}
	/* a deleted file is still pruned, and named by its last path */
	CHECK_EQ(vf_vault_unlink(v, &root, d.ino, "x"), 0);
	/* "cur" is made current at its oldest version (as a restore might):
	 * prune must keep that one although keep-last 3 drops it */
	snprintf(text, sizeof(text),
		 "UPDATE nodes SET version=(SELECT min(id) FROM versions "
		 "WHERE node=%llu) WHERE id=%llu",
		 (unsigned long long)ino[5], (unsigned long long)ino[5]);
	CHECK_EQ(sql(v, text), SQLITE_OK);
	CHECK_EQ(versions_total(v), 6 * VERS + 2);
	/* no rules: nothing goes */
	CHECK_EQ(vf_vault_prune(v, vf_clock_now(), 0, rec_cb, dry, &st), 0);
	CHECK_EQ(dry->n, 0);
	CHECK_EQ(st.removed, 0);
	CHECK_EQ(set_keep_last(v, 3), 0);
	/* keep-last 3, but every version was replaced just now: younger
	 * than the soft-delete retention, nothing goes (an Operator who may
	 * only write cannot push history out by writing) */
	CHECK_EQ(vf_vault_prune(v, vf_clock_now(), 0, rec_cb, dry, &st), 0);
	CHECK_EQ(st.removed, 0);
	CHECK_EQ(dry->n, 0);
	CHECK_EQ(vf_vault_prune(v, vf_clock_now() + 13 * 86400 * VF_NS, 0,
				rec_cb, dry, &st), 0);
	CHECK_EQ(st.removed, 0);
	CHECK_EQ(versions_total(v), 6 * VERS + 2);

	CHECK_EQ(vf_vault_prune(v, vf_clock_now() + LATER, 1, rec_cb, dry, &st), 0);
	CHECK_EQ(st.files, 6);
	CHECK_EQ(st.versions, 6 * VERS);
	CHECK_EQ(st.removed, 5 * 3 + 2);
	CHECK_EQ(st.removed_bytes, (5 * 3 + 2) * (uint64_t)PSIZE);
	CHECK_EQ(dry->n, 5 * 3 + 2);
	CHECK_EQ(versions_total(v), 6 * VERS + 2); /* dry: nothing went */

	CHECK_EQ(vf_vault_prune(v, vf_clock_now() + LATER, 0, rec_cb, real,
				&st), 0);
	CHECK_EQ(st.removed, 5 * 3 + 2);
	CHECK_EQ(real->n, dry->n);
	CHECK(!memcmp(real->r, dry->r, sizeof(real->r)));
	CHECK_EQ(recs_with(real, "/f0"), 3);
	CHECK_EQ(recs_with(real, "/d/x"), 3);
	CHECK_EQ(recs_with(real, "/cur"), 2);
	CHECK_EQ(recs_with(real, "/few"), 0);
	CHECK_EQ(versions_total(v), 6 * VERS + 2 - (5 * 3 + 2));
	/* exactly the three oldest of each went */
	for (f = 0; f < 5; f++) {
		CHECK_EQ(versions_of(v, ino[f], ids, VERS + 1), 3);
		for (k = 0; k < 3; k++) {
			content(buf, PSIZE, f, 3 + k);
			CHECK(version_is(v, ids[k], buf, PSIZE));
		}
	}
	/* "cur" keeps its current version and the newest three */
	CHECK_EQ(versions_of(v, ino[5], ids, VERS + 1), 4);
	content(buf, PSIZE, 5, 0);
	CHECK(version_is(v, ids[0], buf, PSIZE));
	CHECK(same_content(v, ino[5], buf, PSIZE));
	for (k = 1; k < 4; k++) {
		content(buf, PSIZE, 5, 2 + k);
		CHECK(version_is(v, ids[k], buf, PSIZE));
	}
	CHECK_EQ(versions_of(v, few, ids, VERS + 1), 2);
	/* a second prune finds nothing more */
	CHECK_EQ(vf_vault_prune(v, vf_clock_now() + LATER, 0, NULL, NULL, &st), 0);
	CHECK_EQ(st.removed, 0);
	CHECK_EQ(vf_vault_check(v, 1, NULL, NULL), 0);
	CHECK_EQ(vf_vault_close(v), 0);
out:
	free(buf);
	free(dry);
	free(real);
}

/* ---- gc ---------------------------------------------------------------- */

#define ORPHAN "00112233445566778899aabbccddeeff"

static void gc_reclaims(void)
{
	struct vf_vault *v = fresh_at(dir);
	uint8_t *buf = malloc(SIZE);
	struct vf_prune_stats ps;
	struct vf_gc_stats st;
	uint64_t s0;

	if (!v || !buf)
		{ CHECK(0); free(buf); return; }
	/* Ids far apart, so prune and gc walk many of their id windows:
	 * new nodes start past 100000, new chunks past a dummy row 60000
	 * (unreferenced, in no pack; gc frees it once it is not the
	 * newest). */
	CHECK_EQ(sql(v, "UPDATE sqlite_sequence SET seq=100000 WHERE "
			"name='nodes'"),
		 SQLITE_OK);
	CHECK_EQ(sql(v, "INSERT INTO chunks(id,cid,pack,off,len,rlen) "
			"VALUES(60000,zeroblob(32),0,0,0,0)"),
		 SQLITE_OK);
	write_history(v, buf);
	CHECK(ino_of(v, 1, "f0") > 100000);
	/* a fresh writer: no pack is being appended to */
	v = reopen(v, dir);
	if (!v)
		{ CHECK(0); free(buf); return; }
	s0 = stored(v);
	CHECK(s0 >= (uint64_t)FILES * VERS * SIZE);
	/* nothing is garbage yet but the dummy row */
	CHECK_EQ(vf_vault_gc(v, &st), 0);
	CHECK_EQ(st.chunks_freed, 1);
	CHECK_EQ(st.packs_rewritten, 0);
	CHECK_EQ(st.packs_removed, 0);
	CHECK_EQ(st.busy, 0);
	CHECK_EQ(st.stored_before, s0);
	CHECK_EQ(st.stored_after, s0);

	CHECK_EQ(set_keep_last(v, 3), 0);
	CHECK_EQ(vf_vault_prune(v, vf_clock_now() + LATER, 0, NULL, NULL, &ps), 0);
	CHECK_EQ(ps.removed, FILES * 3);
	make_orphan(v, ORPHAN);
	CHECK_EQ(orphans(v), 1);
	CHECK_EQ(vf_vault_gc(v, &st), 0);
	CHECK(st.chunks_freed > 0);
	CHECK(st.packs_rewritten >= 1);
	CHECK(st.packs_removed >= st.packs_rewritten);
	/* the orphan may be newer than the catalog: set aside, not deleted */
	CHECK_EQ(st.packs_quarantined, 1);
	{
		char q[256];
		struct stat sb;

		snprintf(q, sizeof(q), "%s/packs/quarantine/%s.pack", dir,
			 ORPHAN);
		CHECK_EQ(stat(q, &sb), 0);
	}
	CHECK_EQ(st.busy, 0);
	CHECK_EQ(st.stored_before, s0 + VF_PACK_HDR + 5000);
	/* half the versions went: about half the bytes */
	CHECK(st.stored_after <= s0 * 6 / 10);
	CHECK(st.stored_after >= s0 * 45 / 100);
	CHECK_EQ(st.stored_after, stored(v));
	CHECK(!pack_exists(v, ORPHAN));
	CHECK_EQ(orphans(v), 0);
	printf("# gc: %llu -> %llu KiB; %llu chunks freed, %llu packs "
	       "rewritten, %llu removed\n",
	       (unsigned long long)st.stored_before >> 10,
	       (unsigned long long)st.stored_after >> 10,
	       (unsigned long long)st.chunks_freed,
	       (unsigned long long)st.packs_rewritten,
	       (unsigned long long)st.packs_removed);
	CHECK_EQ(vf_vault_check(v, 1, NULL, NULL), 0);
	check_history(v, buf, 3);
	/* from the packs, not the chunk cache */
	v = reopen(v, dir);
	if (!v)
		{ CHECK(0); free(buf); return; }
	CHECK_EQ(vf_vault_check(v, 1, NULL, NULL), 0);
	check_history(v, buf, 3);
	/* nothing left to do */
	s0 = stored(v);
	CHECK_EQ(vf_vault_gc(v, &st), 0);
	CHECK_EQ(st.chunks_freed, 0);
	CHECK_EQ(st.packs_rewritten, 0);
	CHECK_EQ(st.stored_after, s0);
	/* maintain = prune by policy + gc: with keep-last 3 nothing moves */
	CHECK_EQ(vf_vault_maintain(v, vf_clock_now()), 0);
	CHECK_EQ(stored(v), s0);
	CHECK_EQ(vf_vault_close(v), 0);
	free(buf);
}

/* A file being written holds chunk references the catalog lacks: here a
 * dedup hit on a chunk only pruned versions used.  gc must leave it all
 * alone until the file is committed. */
static void gc_busy(void)
{
	struct vf_vault *v = fresh_at(dir);
	uint8_t *buf = malloc(SIZE);
	struct vf_prune_stats ps;
	struct vf_gc_stats st;
	struct vf_handle *h = NULL, *rd = NULL;
	struct vf_attr a;
	uint64_t ia, ib;
	unsigned r;

	if (!v || !buf)
		{ CHECK(0); free(buf); return; }
	for (r = 0; r < VERS; r++) {
		content(buf, SIZE, 0, r);
		ia = put_file(v, 1, "a", buf, SIZE);
	}
	v = reopen(v, dir);
	if (!v)
		{ CHECK(0); free(buf); return; }
	CHECK_EQ(set_keep_last(v, 3), 0);
	CHECK_EQ(vf_vault_prune(v, vf_clock_now() + LATER, 0, NULL, NULL, &ps), 0);
	CHECK_EQ(ps.removed, 3);
	make_orphan(v, ORPHAN);
	/* b gets the content of a's pruned first version, not yet closed */
	CHECK_EQ(vf_vault_create_file(v, &root, 1, "b", 0644, O_WRONLY, &a,
				      &h),
		 0);
	if (!h)
		{ CHECK(0); free(buf); return; }
	ib = a.ino;
	content(buf, SIZE, 0, 0);
	CHECK_EQ(vf_vault_write(v, h, 0, buf, SIZE), (ssize_t)SIZE);
	CHECK_EQ(vf_vault_gc(v, &st), 0);
	CHECK_EQ(st.busy, 1);
	CHECK_EQ(st.chunks_freed, 0);
	CHECK_EQ(st.packs_rewritten, 0);
	CHECK_EQ(st.packs_removed, 0);
	CHECK(pack_exists(v, ORPHAN));
	CHECK_EQ(vf_vault_flush(v, h), 0);
	CHECK_EQ(vf_vault_release(v, h), 0);
	CHECK_EQ(vf_vault_check(v, 1, NULL, NULL), 0);
	/* a file open for reading does not hold gc up */
	CHECK_EQ(vf_vault_open_file(v, &root, ia, O_RDONLY, &rd), 0);
	CHECK_EQ(vf_vault_read(v, rd, 0, buf, 4096), 4096);
	CHECK_EQ(vf_vault_gc(v, &st), 0);
	CHECK_EQ(st.busy, 0);
	CHECK(st.chunks_freed > 0);
	CHECK(!pack_exists(v, ORPHAN));
	CHECK_EQ(vf_vault_release(v, rd), 0);
	CHECK_EQ(vf_vault_check(v, 1, NULL, NULL), 0);
	v = reopen(v, dir);
	if (!v)
		{ CHECK(0); free(buf); return; }
	CHECK_EQ(vf_vault_check(v, 1, NULL, NULL), 0);
	content(buf, SIZE, 0, 0);
	CHECK(same_content(v, ib, buf, SIZE));
	content(buf, SIZE, 0, VERS - 1);
	CHECK(same_content(v, ia, buf, SIZE));
	CHECK_EQ(vf_vault_close(v), 0);
	free(buf);
}

/* The vault gc tests start from: FILES x VERS versions, pruned to 3 each
 * (half the bytes are garbage), closed. */
static int make_template(uint8_t *buf)
{
	struct vf_vault *v = fresh_at(tmpl);
	struct vf_prune_stats ps;

	if (!v)
		return -1;
	write_history(v, buf);
	CHECK_EQ(set_keep_last(v, 3), 0);
	CHECK_EQ(vf_vault_prune(v, vf_clock_now() + LATER, 0, NULL, NULL, &ps), 0);
	CHECK_EQ(ps.removed, FILES * 3);
	return vf_vault_close(v);
}

/* After a crash or a failure: the vault opens, checks clean, every
 * retained version reads back; a complete gc then leaves no garbage. */
static void verify_after(const char *what, int run, uint64_t full)
{
	struct vf_vault *v = open_at(dir);
	uint8_t *buf = malloc(SIZE);
	struct vf_gc_stats st;
	int problems;

	if (!v || !buf) {
		fprintf(stderr, "%s %d: cannot open\n", what, run);
		CHECK(0);
		vf_vault_close(v);
		free(buf);
		return;
	}
	problems = vf_vault_check(v, 1, NULL, NULL);
	if (problems)
		fprintf(stderr, "%s %d: check reports %d\n", what, run,
			problems);
	CHECK_EQ(problems, 0);
	check_history(v, buf, 3);
	CHECK_EQ(vf_vault_gc(v, &st), 0);
	CHECK_EQ(st.busy, 0);
	CHECK_EQ(vf_vault_check(v, 1, NULL, NULL), 0);
	CHECK_EQ(orphans(v), 0);
	CHECK(st.stored_after <= full * 6 / 10);
	v = reopen(v, dir);
	if (v) {
		CHECK_EQ(vf_vault_check(v, 1, NULL, NULL), 0);
		check_history(v, buf, 3);
	}
	CHECK_EQ(vf_vault_close(v), 0);
	free(buf);
}

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Runs gc on the vault in dir in a child; kills it with SIGKILL delay_us
 * after gc started (never when delay_us < 0).  Returns 1 when the child
 * was killed, 0 when gc finished first, -1 on failure; *took gets the
 * time from gc's start to its end (delay_us < 0) or to the child's end. */
static int gc_child(int64_t delay_us, int64_t *took)
{
	int p[2], status = 0;
	int64_t t0;
	pid_t pid;
	char c;

	if (pipe(p))
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		struct vf_vault *v;
		struct vf_gc_stats st;
		char err[256];
		int rc;

		close(p[0]);
		if (vf_vault_open(dir, &opts, 0, &v, err, sizeof(err)))
			_exit(2);
		if (write(p[1], "g", 1) != 1)
			_exit(2);
		rc = vf_vault_gc(v, &st);
		/* gc is over: the close (a checkpoint and the catalog
		 * anchors) is not part of what the kills aim at */
		if (write(p[1], "d", 1) != 1)
			_exit(2);
		_exit(rc || vf_vault_close(v) ? 1 : 0);
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1) {
		close(p[0]);
		waitpid(pid, &status, 0);
		return -1;
	}
	t0 = mono_us();
	if (delay_us >= 0) {
		struct timespec d = { delay_us / 1000000,
				      (delay_us % 1000000) * 1000 };

		nanosleep(&d, NULL);
		kill(pid, SIGKILL);
	}
	if (delay_us < 0 && read(p[0], &c, 1) == 1)
		*took = mono_us() - t0;
	waitpid(pid, &status, 0);
	if (delay_us >= 0)
		*took = mono_us() - t0;
	close(p[0]);
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		return 1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

#define CRASH_RUNS 12

static void gc_crash(void)
{
	uint8_t *buf = malloc(SIZE);
	int64_t took = 0, full;
	uint64_t bytes;
	int run, killed = 0, rc;

	if (!buf || make_template(buf))
		{ CHECK(0); free(buf); return; }
	{
		struct vf_vault *v = open_at(tmpl);

		if (!v)
			{ CHECK(0); free(buf); return; }
		bytes = stored(v);
		CHECK_EQ(vf_vault_close(v), 0);
	}
	/* an uninterrupted run first, to know how long gc takes */
	CHECK_EQ(copy_template(), 0);
	CHECK_EQ(gc_child(-1, &full), 0);
	verify_after("complete run", 0, bytes);
	for (run = 0; run < CRASH_RUNS; run++) {
		CHECK_EQ(copy_template(), 0);
		rc = gc_child(full * run / CRASH_RUNS, &took);
		CHECK(rc >= 0);
		killed += rc == 1;
		verify_after("killed run", run, bytes);
	}
	printf("# gc of %llu KiB takes %lld ms; killed %d of %d runs "
	       "mid-gc\n",
	       (unsigned long long)bytes >> 10, (long long)full / 1000, killed,
	       CRASH_RUNS);
	/* the kills did land inside gc */
	CHECK(killed >= CRASH_RUNS / 2);
	free(buf);
}

/* Fails the nth pack write of gc (create, append or sync), for n = 1 to
 * 10, with EIO and with ENOSPC. */
static void gc_faults(void)
{
	static const int errs[] = { EIO, ENOSPC };
	uint64_t bytes;
	size_t e;
	long nth;

	{
		struct vf_vault *v;
		char cmd[256];

		/* the keystore's anchor follows the last copy, not tmpl */
		snprintf(cmd, sizeof(cmd), "rm -f %s/*.anchor", ks);
		CHECK_EQ(system(cmd), 0);
		v = open_at(tmpl);
		if (!v)
			{ CHECK(0); return; }
		bytes = stored(v);
		CHECK_EQ(vf_vault_close(v), 0);
	}
	for (e = 0; e < VF_ARRAY_LEN(errs); e++)
		for (nth = 1; nth <= 10; nth++) {
			struct vf_vault *v;
			struct vf_pack_io *io = NULL;
			struct vf_gc_stats st;
			int rc;

			CHECK_EQ(copy_template(), 0);
			v = open_at(dir);
			if (!v)
				{ CHECK(0); return; }
			CHECK_EQ(vf_vault_fault_io(v, &io), 0);
			if (!io)
				{ CHECK(0); vf_vault_close(v); return; }
			vf_pack_io_fault_set(io, nth, errs[e]);
			rc = vf_vault_gc(v, &st);
			if (rc != -errs[e])
				fprintf(stderr,
					"fault %ld/%d: gc returned %d\n", nth,
					errs[e], rc);
			CHECK_EQ(rc, -errs[e]);
			CHECK(vf_pack_io_fault_calls(io) >= nth);
			vf_pack_io_fault_set(io, 0, 0);
			CHECK_EQ(vf_vault_check(v, 1, NULL, NULL), 0);
			CHECK_EQ(vf_vault_close(v), 0);
			verify_after("fault", (int)nth, bytes);
		}
}

/* ---- a vault made before data key epochs ------------------------------- */

struct headers {
	struct vf_vault *v;
	uint32_t epoch; /* every pack's epoch must be this */
	int n, bad;
};

static int header_cb(void *arg, const char *name)
{
	struct headers *h = arg;
	uint8_t magic[VF_PACK_HDR];
	uint32_t epoch = UINT32_MAX, hlen = 0;

	h->n++;
	if (h->v->io->ops->read(h->v->io, name, 0, magic, sizeof(magic)) ||
	    vf_pack_header(h->v->io, name, &epoch, &hlen) ||
	    epoch != h->epoch ||
	    memcmp(magic, epoch ? VF_PACK_MAGIC2 : VF_PACK_MAGIC,
		   VF_PACK_HDR) ||
	    hlen != (epoch ? VF_PACK_HDR2 : VF_PACK_HDR))
		h->bad++;
	return 0;
}

/* Pack files whose header is not that of epoch (VFPACK01 for 0); *n gets
 * how many pack files there are. */
static int bad_headers(struct vf_vault *v, uint32_t epoch, int *n)
{
	struct headers h = { v, epoch, 0, 0 };

	CHECK_EQ(v->io->ops->list(v->io, header_cb, &h), 0);
	*n = h.n;
	return h.bad;
}

static int64_t sql_int(struct vf_vault *v, const char *text)
{
	sqlite3_stmt *st = NULL;
	int64_t r = -1;

	vf_vault_lock(v);
	if (sqlite3_prepare_v2(v->cat->db, text, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		r = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	vf_vault_unlock(v);
	return r;
}

/* Writes files f0 .. f(FILES-1), one version each, reopening the vault
 * half way (a fresh writer: more than one pack).  Returns the vault, or
 * NULL when the reopen failed. */
static struct vf_vault *write_files(struct vf_vault *v, uint8_t *buf)
{
	char name[16];
	unsigned f;

	for (f = 0; f < FILES; f++) {
		if (f == FILES / 2) {
			v = reopen(v, dir);
			if (!v)
				return NULL;
		}
		snprintf(name, sizeof(name), "f%u", f);
		content(buf, SIZE, f, 0);
		put_file(v, 1, name, buf, SIZE);
	}
	return v;
}

static void files_read_back(struct vf_vault *v, uint8_t *buf)
{
	char name[16];
	unsigned f;

	for (f = 0; f < FILES; f++) {
		snprintf(name, sizeof(name), "f%u", f);
		content(buf, SIZE, f, 0);
		CHECK(same_content(v, ino_of(v, 1, name), buf, SIZE));
	}
}

/* A vault of catalog format 5 with VFPACK01 packs, as every vault was
 * before data key epochs, opens: its catalog is upgraded (every pack is
 * of epoch 0), its files read back, check --read-data passes, and a data
 * key rotation re-encrypts it.  The old vault is made reproducibly with
 * this build: packs of epoch 0 are written by the code path that wrote
 * them before (VFPACK01, sealed under the DATA subkey), and what formats
 * 6 to 8 added to the catalog is taken away again (the result has format 5's
 * schema text, checked below). */
static void old_format_upgrade(void)
{
	static const char *const old_packs =
		"CREATE TABLE packs(id INTEGER PRIMARY KEY, name TEXT NOT NULL "
		"UNIQUE, shipped INTEGER NOT NULL DEFAULT 0)";
	struct vf_vault *v = fresh_at(dir);
	uint8_t *buf = malloc(SIZE);
	struct vf_admin a;
	struct vf_status st;
	uint64_t packs = 0, moved = 0;
	uint32_t epoch = 0;
	int64_t format = 0;
	int n = 0, n2 = 0;

	v = v && buf ? write_files(v, buf) : v;
	if (!v || !buf)
		{ CHECK(0); free(buf); return; }
	CHECK_EQ(sql(v, "BEGIN;"
			"DROP INDEX packs_epoch;"
			"ALTER TABLE packs DROP COLUMN epoch;"
			"DROP TABLE datakeys;"
			"DROP TABLE store_gone;"
			"DROP TABLE guard_keys;"
			"DELETE FROM meta WHERE k LIKE 'data.%';"
			"UPDATE meta SET v=5 WHERE k='format';"
			"COMMIT"),
		 SQLITE_OK);
	{
		sqlite3_stmt *q = NULL;

		vf_vault_lock(v);
		CHECK_EQ(sqlite3_prepare_v2(v->cat->db,
					    "SELECT sql FROM sqlite_master "
					    "WHERE name='packs'",
					    -1, &q, NULL),
			 SQLITE_OK);
		CHECK_EQ(sqlite3_step(q), SQLITE_ROW);
		CHECK(!strcmp((const char *)sqlite3_column_text(q, 0),
			      old_packs));
		sqlite3_finalize(q);
		vf_vault_unlock(v);
	}
	CHECK_EQ(sql_int(v, "SELECT count(*) FROM sqlite_master WHERE "
			    "name='datakeys'"),
		 0);
	CHECK_EQ(bad_headers(v, 0, &n), 0);
	CHECK(n >= 2);

	/* opened by this build: upgraded */
	v = reopen(v, dir);
	if (!v)
		{ CHECK(0); free(buf); return; }
	vf_vault_lock(v);
	CHECK_EQ(vf_catalog_meta_get(v->cat, "format", &format), 0);
	vf_vault_unlock(v);
	CHECK_EQ(format, VF_CATALOG_FORMAT);
	CHECK_EQ(sql_int(v, "SELECT count(*) FROM packs WHERE epoch=0"), n);
	CHECK_EQ(sql_int(v, "SELECT count(*) FROM datakeys"), 0);
	CHECK_EQ(vf_vault_status(v, &st), 0);
	CHECK_EQ(st.data_epoch, 0);
	CHECK_EQ(st.rot_running, 0);
	files_read_back(v, buf);
	CHECK_EQ(vf_vault_check(v, 1, NULL, NULL), 0);
	/* written after the upgrade, before any rotation: still VFPACK01 */
	content(buf, SIZE, FILES, 0);
	put_file(v, 1, "new", buf, SIZE);
	CHECK_EQ(bad_headers(v, 0, &n), 0);

	/* and its data key rotates: every pack re-encrypted under epoch 1 */
	a = vt_admin(0);
	CHECK_EQ(vf_admin_key_rotate_data(v, &a, &epoch, &packs), 0);
	CHECK_EQ(epoch, 1);
	CHECK_EQ(packs, (uint64_t)n);
	a = vt_admin(0);
	CHECK_EQ(vf_admin_key_rotation_run(v, &a, NULL, &moved), 0);
	CHECK_EQ(moved, packs);
	CHECK_EQ(vf_vault_status(v, &st), 0);
	CHECK_EQ(st.data_epoch, 1);
	CHECK_EQ(st.rot_running, 0);
	CHECK_EQ(sql_int(v, "SELECT count(*) FROM packs WHERE epoch<1"), 0);
	v = reopen(v, dir);
	if (!v)
		{ CHECK(0); free(buf); return; }
	CHECK_EQ(bad_headers(v, 1, &n2), 0);
	CHECK(n2 >= 1);
	CHECK_EQ(vf_vault_check(v, 1, NULL, NULL), 0);
	files_read_back(v, buf);
	content(buf, SIZE, FILES, 0);
	CHECK(same_content(v, ino_of(v, 1, "new"), buf, SIZE));
	CHECK_EQ(vf_vault_close(v), 0);
	free(buf);
}

/* Forges the first entry of pack name: a ciphertext bit flipped and the
 * entry checksum made to match, so it reads but fails authentication. */
static void forge_first_entry(const char *name)
{
	uint8_t hdr[VF_PACK_ENTRY_HDR], *blob = NULL;
	char path[256];
	uint64_t sum;
	uint32_t n;
	int fd, i;

	snprintf(path, sizeof(path), "%s/packs/%.2s/%s.pack", dir, name, name);
	fd = open(path, O_RDWR);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK_EQ(pread(fd, hdr, sizeof(hdr), VF_PACK_HDR), sizeof(hdr));
	n = (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8 |
	    (uint32_t)hdr[2] << 16 | (uint32_t)hdr[3] << 24;
	CHECK(n > 64 && n <= VF_POOL_BUF);
	blob = malloc(n);
	if (blob && n > 64 && n <= VF_POOL_BUF &&
	    pread(fd, blob, n, VF_PACK_HDR + VF_PACK_ENTRY_HDR) == (ssize_t)n) {
		blob[40] ^= 0x10;
		sum = XXH64(blob, n, 0);
		for (i = 0; i < 8; i++)
			hdr[4 + i] = (uint8_t)(sum >> (8 * i));
		CHECK_EQ(pwrite(fd, hdr, sizeof(hdr), VF_PACK_HDR),
			 sizeof(hdr));
		CHECK_EQ(pwrite(fd, blob, n, VF_PACK_HDR + VF_PACK_ENTRY_HDR),
			 n);
	} else {
		CHECK(0);
	}
	free(blob);
	close(fd);
}

/* A rotation meets an entry whose checksum matches but which fails
 * authentication: like gc with a damaged entry, it leaves that pack
 * where it is (check reports it), re-encrypts every other pack, keeps the
 * old key while the pack is there, and says that work is left. */
static void rotation_forged_entry(void)
{
	struct vf_vault *v = fresh_at(dir);
	uint8_t *buf = malloc(SIZE);
	char name[16], first[VF_PACK_NAME_LEN + 1] = "";
	uint64_t packs = 0, moved = 0;
	uint32_t epoch = 0;
	struct vf_status st;
	struct vf_admin a;
	unsigned f;

	v = v && buf ? write_files(v, buf) : v;
	if (!v || !buf)
		{ CHECK(0); free(buf); return; }
	{
		sqlite3_stmt *q = NULL;

		vf_vault_lock(v);
		if (sqlite3_prepare_v2(v->cat->db,
				       "SELECT name FROM packs ORDER BY id "
				       "LIMIT 1",
				       -1, &q, NULL) == SQLITE_OK &&
		    sqlite3_step(q) == SQLITE_ROW)
			snprintf(first, sizeof(first), "%s",
				 (const char *)sqlite3_column_text(q, 0));
		sqlite3_finalize(q);
		vf_vault_unlock(v);
	}
	CHECK(first[0]);
	CHECK_EQ(vf_vault_close(v), 0);
	forge_first_entry(first);
	v = open_at(dir);
	if (!v)
		{ CHECK(0); free(buf); return; }
	a = vt_admin(0);
	CHECK_EQ(vf_admin_key_rotate_data(v, &a, &epoch, &packs), 0);
	CHECK_EQ(epoch, 1);
	CHECK(packs >= 2);
	a = vt_admin(0);
	CHECK_EQ(vf_admin_key_rotation_run(v, &a, NULL, &moved), 1);
	CHECK_EQ(moved, packs - 1);
	CHECK_EQ(sql_int(v, "SELECT count(*) FROM packs WHERE epoch<1"), 1);
	CHECK(pack_exists(v, first));
	CHECK_EQ(vf_vault_status(v, &st), 0);
	CHECK_EQ(st.rot_running, 1);
	CHECK_EQ(st.rot_done, packs - 1);
	/* the old key stays: the pack's other entries still read */
	for (f = 1; f < FILES; f++) {
		snprintf(name, sizeof(name), "f%u", f);
		content(buf, SIZE, f, 0);
		CHECK(same_content(v, ino_of(v, 1, name), buf, SIZE));
	}
	CHECK(vf_vault_check(v, 1, NULL, NULL) >= 1);
	/* a later run finds the same */
	a = vt_admin(0);
	CHECK_EQ(vf_admin_key_rotation_run(v, &a, NULL, &moved), 1);
	CHECK_EQ(moved, 0);
	CHECK_EQ(vf_vault_close(v), 0);
	free(buf);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/t-gc.%d", (int)getpid());
	snprintf(tmpl, sizeof(tmpl), "/tmp/t-gc-tmpl.%d", (int)getpid());
	snprintf(ks, sizeof(ks), "/tmp/t-gc-ks.%d", (int)getpid());
	RUN(policy_roundtrip);
	RUN(prune_keep_last);
	RUN(gc_reclaims);
	RUN(gc_busy);
	RUN(gc_crash);
	RUN(gc_faults);
	RUN(old_format_upgrade);
	RUN(rotation_forged_entry);
	if (rm_rf(dir) || rm_rf(tmpl) || rm_rf(ks))
		return 1;
	return unit_exit();
}
