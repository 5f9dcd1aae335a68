/*
 * gc.c - history upkeep (docs/design.md, Retention, prune and gc): the
 * retention policy, prune and gc.
 *
 * Prune applies the policy (vf_policy_retain) to each file's versions and
 * deletes the versions it drops, with their extents.  A file's versions
 * include those of the nodes it displaced by renaming over them
 * (nodes.succ, the history of its path); a displaced node left without
 * versions is removed.  gc then deletes the
 * chunk rows no extent references, rewrites packs that are mostly garbage
 * and removes pack files the catalog does not know.  Both run while the
 * vault is mounted: they work in short batches under v->mu and let go of
 * it between batches, so requests keep being served.
 *
 * Invariants:
 * - A file's current version (nodes.version) and its newest min_points
 *   versions are never removed.
 * - Chunk rows are deleted, packs rewritten or removed only in a batch
 *   that finds v->n_dirty == 0 and holds v->mu to its end.  A file in a
 *   dirty session may hold chunk ids that no extent references yet (dedup
 *   hits) and chunks in packs no commit has named; file.c enters a session
 *   under v->mu before it stores anything, so none can start under us.
 * - The pack the writer is appending to is never rewritten or removed:
 *   chunks stored after the batch may land in it.
 * - A pack is removed only after the catalog no longer names it and that
 *   is synced; a crash leaves at worst a pack file the packs table does
 *   not list, which the next gc removes.  A moved chunk is synced in its
 *   new pack before the catalog points there.  Blobs are sealed with the
 *   chunk id as associated data, not with their location, so they move
 *   between packs unchanged, except that a blob of a data key epoch older
 *   than the current one is re-sealed under the current epoch on its way
 *   (same length; datakey.h): a rewrite is also how a data key rotation
 *   re-encrypts a pack (rotate.c).
 * - The newest chunk row is never deleted.  SQLite gives a new row
 *   max(id) + 1, so keeping the maximum means a freed id is never handed
 *   out again: the chunk cache and open files know chunks by id.
 *
 * Memory: one window of one file's versions (WINDOW_MAX), one batch of
 * node ids, chunk ids or pack entries, and one chunk-sized buffer; never
 * the whole chunk index.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "buf.h"
#include "datakey.h"
#include "gc.h"
#include "immut.h"
#include "ns.h"
#include "open_files.h"
#include "vault_int.h"
#include "vclock.h"

/* Policy values beyond these are typing errors, not policies. */

/* Batches keep each hold of v->mu short: a look-up scans at most a
 * SCAN-wide range of ids, however few of them qualify. */
#define NODE_BATCH 256     /* file ids fetched per look-up */
#define NODE_SCAN 4096     /* ... out of this many node ids */
#define WINDOW_MAX 16384   /* versions of one file in memory */
#define PRUNE_BATCH 256    /* versions deleted per transaction */
#define CHUNK_BATCH 512    /* chunk rows deleted per transaction */
#define CHUNK_SCAN 16384   /* ... out of this many chunk ids */
#define MOVE_BATCH 256     /* pack entries moved per transaction */
#define MOVE_BYTES (4u << 20) /* ... and at most this many bytes */
/* How long a batch waits for files being written to be closed. */
#define QUIET_TRIES 20
#define QUIET_PAUSE_NS (25 * 1000 * 1000L)

/* ---- policy ------------------------------------------------------------- */

enum { K_LAST, K_WITHIN, K_HOURLY, K_DAILY, K_WEEKLY, K_MONTHLY, K_YEARLY,
       K_MIN, NKEYS };

static const char *const policy_keys[NKEYS] = {
	"policy.keep_last",    "policy.keep_within",  "policy.keep_hourly",
	"policy.keep_daily",   "policy.keep_weekly",  "policy.keep_monthly",
	"policy.keep_yearly",  "policy.min_points",
};


static void policy_vals(const struct vf_retention *p, int64_t val[NKEYS])
{
	val[K_LAST] = p->keep_last;
	val[K_WITHIN] = p->keep_within;
	val[K_HOURLY] = p->keep_hourly;
	val[K_DAILY] = p->keep_daily;
	val[K_WEEKLY] = p->keep_weekly;
	val[K_MONTHLY] = p->keep_monthly;
	val[K_YEARLY] = p->keep_yearly;
	val[K_MIN] = p->min_points;
}

/* The stored policy (v->mu held); a new vault keeps everything. */
int vf_gc_policy(struct vf_vault *v, struct vf_retention *out)
{
	struct vf_retention p;
	int64_t val[NKEYS];
	int i, rc = 0;

	for (i = 0; i < NKEYS && !rc; i++) {
		rc = vf_catalog_meta_get(v->cat, policy_keys[i], &val[i]);
		if (rc == -ENOENT) {
			val[i] = i == K_MIN ? VF_POLICY_MIN_POINTS : 0;
			rc = 0;
		}
	}
	if (rc)
		return rc;
	for (i = 0; i < NKEYS; i++)
		if (val[i] < 0 || (i != K_WITHIN && val[i] > UINT32_MAX))
			return -EIO;
	p.keep_last = (unsigned)val[K_LAST];
	p.keep_within = val[K_WITHIN];
	p.keep_hourly = (unsigned)val[K_HOURLY];
	p.keep_daily = (unsigned)val[K_DAILY];
	p.keep_weekly = (unsigned)val[K_WEEKLY];
	p.keep_monthly = (unsigned)val[K_MONTHLY];
	p.keep_yearly = (unsigned)val[K_YEARLY];
	p.min_points = (unsigned)val[K_MIN];
	/* Only the gate writes these keys, after checking them: a bad
	 * value is damage. */
	if (vf_policy_retention_valid(&p, NULL, 0))
		return -EIO;
	*out = p;
	return 0;
}

int vf_vault_policy_get(struct vf_vault *v, struct vf_retention *out)
{
	int rc;

	vf_vault_lock(v);
	rc = vf_gc_policy(v, out);
	vf_vault_unlock(v);
	return rc;
}

int vf_gc_policy_store(struct vf_vault *v, const struct vf_retention *p)
{
	int64_t val[NKEYS];
	int i, rc;

	policy_vals(p, val);
	rc = vf_catalog_begin(v->cat);
	if (rc)
		return rc;
	for (i = 0; i < NKEYS && !rc; i++)
		rc = vf_catalog_meta_set(v->cat, policy_keys[i], val[i]);
	return vf_catalog_finish(v->cat, rc);
}

static int max_of(struct vf_vault *v, enum vf_q q, int64_t *out)
{
	sqlite3_stmt *st;
	int rc;

	vf_vault_lock(v);
	st = vf_catalog_stmt(v->cat, q);
	rc = st ? vf_catalog_row(st) : -EIO;
	if (rc == 1)
		*out = sqlite3_column_int64(st, 0);
	if (st)
		sqlite3_reset(st);
	vf_vault_unlock(v);
	return rc == 1 ? 0 : rc < 0 ? rc : -EIO;
}

/* ---- paths of files, live or deleted ------------------------------------ */

/* Writes into buf the path of node ino: its live path, or for a deleted
 * node the path it had under its last name (dead dirents count, newest
 * first), so prune can name what it removes.  v->mu held. */
static void last_path(struct vf_vault *v, uint64_t ino, char *buf, size_t cap)
{
	char tmp[VF_PATH_MAX + 1];
	size_t len = 0;
	int depth = 0;

	tmp[0] = '\0';
	while (ino != VF_ROOT_INO && depth++ < 4096) {
		sqlite3_stmt *st = vf_catalog_stmt(v->cat, VF_Q_NAME_OF);
		size_t n;

		if (!st || (sqlite3_bind_int64(st, 1, (int64_t)ino),
			    vf_catalog_row(st)) != 1) {
			if (st)
				sqlite3_reset(st);
			snprintf(buf, cap, "(node %llu)%s",
				 (unsigned long long)ino, tmp);
			return;
		}
		n = (size_t)sqlite3_column_bytes(st, 1);
		if (len + n + 1 >= sizeof(tmp)) {
			sqlite3_reset(st);
			break;
		}
		memmove(tmp + n + 1, tmp, len + 1);
		tmp[0] = '/';
		memcpy(tmp + 1, sqlite3_column_blob(st, 1), n);
		len += n + 1;
		ino = (uint64_t)sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
	}
	snprintf(buf, cap, "%s", len ? tmp : "/");
}

/* ---- prune -------------------------------------------------------------- */

struct pv {
	int64_t id, t, node;
	uint64_t size;
};

struct prune {
	struct vf_vault *v;
	struct vf_retention p;
	int64_t now;
	int64_t min_age; /* soft-delete retention (vf_policy_retain) */
	int dry;
	vf_prune_cb cb;
	void *arg;
	struct vf_prune_stats st;
	/* One file at a time: its versions newest first, the times handed
	 * to the policy, its verdicts, and the versions it drops. */
	struct pv *win, *drop;
	int64_t *t;
	uint8_t *keep;
	int have_path;
	char path[VF_PATH_MAX + 64];
};

/* Loads up to want versions of node older than id into pr->win + at,
 * newest first by commit order (version id).  v->mu held. */
static int load_window(struct prune *pr, int64_t node, int64_t id, size_t at,
		       size_t want, size_t *got)
{
	sqlite3_stmt *st = vf_catalog_stmt(pr->v->cat, VF_Q_PRUNE_WINDOW);
	size_t n = 0;
	int rc = 0;

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, node);
	sqlite3_bind_int64(st, 3, id);
	sqlite3_bind_int64(st, 4, (int64_t)want);
	while (n < want && (rc = vf_catalog_row(st)) == 1) {
		pr->win[at + n].id = sqlite3_column_int64(st, 0);
		pr->win[at + n].t = sqlite3_column_int64(st, 1);
		pr->win[at + n].size = (uint64_t)sqlite3_column_int64(st, 2);
		pr->win[at + n].node = sqlite3_column_int64(st, 3);
		n++;
	}
	sqlite3_reset(st);
	if (rc < 0)
		return rc;
	*got = n;
	return 0;
}

/* Deletes version id of node with its extents, unless it became the
 * node's current version meanwhile; *gone says whether it went.  v->mu
 * held, inside a transaction. */
static int drop_version(struct vf_vault *v, int64_t node, int64_t id,
			int *gone)
{
	sqlite3_stmt *st = vf_catalog_stmt(v->cat, VF_Q_PRUNE_VERSION);
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, node);
	rc = vf_catalog_run(st);
	if (rc)
		return rc;
	*gone = sqlite3_changes(v->cat->db) == 1;
	if (!*gone)
		return 0;
	st = vf_catalog_stmt(v->cat, VF_Q_PRUNE_EXTENTS);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	return vf_catalog_run(st);
}

/* Removes (or, dry run, only reports) the nd versions in pr->drop, in
 * transactions of PRUNE_BATCH; reports each outside the lock. */
static int drop_versions(struct prune *pr, int64_t node, size_t nd)
{
	struct vf_vault *v = pr->v;
	size_t i, j, n;
	int rc = 0, gone;

	for (i = 0; i < nd && !rc; i += n) {
		n = nd - i < PRUNE_BATCH ? nd - i : PRUNE_BATCH;
		vf_vault_lock(v);
		if (!pr->have_path) {
			last_path(v, (uint64_t)node, pr->path,
				  sizeof(pr->path));
			pr->have_path = 1;
		}
		if (!pr->dry)
			rc = vf_catalog_begin(v->cat);
		if (!pr->dry && !rc) {
			for (j = 0; j < n && !rc; j++) {
				gone = 0;
				rc = drop_version(v, pr->drop[i + j].node,
						  pr->drop[i + j].id, &gone);
				if (!gone)
					pr->drop[i + j].id = 0;
			}
			if (rc)
				vf_catalog_rollback(v->cat);
			else
				rc = vf_catalog_commit(v->cat);
		}
		vf_vault_unlock(v);
		for (j = 0; j < n && !rc; j++) {
			const struct pv *d = &pr->drop[i + j];

			if (!d->id)
				continue;
			pr->st.removed++;
			pr->st.removed_bytes += d->size;
			if (pr->cb)
				pr->cb(pr->arg, pr->path, d->t, d->size);
		}
	}
	return rc;
}

/* Removes the nodes a file displaced by rename that prune left without a
 * version: their names in history go with them (the path did not hold
 * anything that is still kept).  Open ones stay.  v->mu held. */
static int drop_empty_predecessors(struct vf_vault *v, int64_t head)
{
	static const enum vf_q steps[] = {
		VF_Q_NODE_RELINK, VF_Q_PURGE_DIRENTS, VF_Q_PURGE_ATTRHIST,
		VF_Q_PURGE_XATTRS, VF_Q_PURGE_XATTRHIST, VF_Q_PURGE_NODE,
	};
	int64_t skip = 0, pred;
	sqlite3_stmt *st;
	size_t i;
	int rc = 0;

	for (;;) {
		st = vf_catalog_stmt(v->cat, VF_Q_PRUNE_EMPTY_PRED);
		if (!st)
			return -EIO;
		sqlite3_bind_int64(st, 1, head);
		sqlite3_bind_int64(st, 2, skip);
		rc = vf_catalog_row(st);
		pred = rc == 1 ? sqlite3_column_int64(st, 0) : 0;
		sqlite3_reset(st);
		if (rc <= 0)
			return rc;
		if (vf_file_find_locked(v, (uint64_t)pred)) {
			skip++;
			continue;
		}
		rc = vf_catalog_begin(v->cat);
		for (i = 0; !rc && i < VF_ARRAY_LEN(steps); i++) {
			st = vf_catalog_stmt(v->cat, steps[i]);
			rc = st ? 0 : -EIO;
			if (st) {
				sqlite3_bind_int64(st, 1, pred);
				rc = vf_catalog_run(st);
			}
		}
		if (rc) {
			vf_catalog_rollback(v->cat);
			return rc;
		}
		rc = vf_catalog_commit(v->cat);
		if (rc)
			return rc;
	}
}

/* Applies the policy to one file.  Its versions are read newest first in
 * windows; the versions a window keeps are carried into the next one
 * ahead of older ones.  That decides every version as if the whole list
 * were in memory: the policy's verdict on a version depends only on the
 * newer versions, and removing versions it drops does not change its
 * verdicts on the rest (the rules count kept versions and the newest
 * version of each bucket, and those stay).  A policy keeping more than
 * WINDOW_MAX versions of one file leaves the older ones alone. */
static int prune_node(struct prune *pr, int64_t node)
{
	struct vf_vault *v = pr->v;
	int64_t cur = 0, cid = INT64_MAX;
	size_t n = 0, got, i, k, nd;
	sqlite3_stmt *st;
	int rc, more = 1;

	pr->have_path = 0;
	vf_vault_lock(v);
	st = vf_catalog_stmt(v->cat, VF_Q_NODE_GET);
	rc = st ? 0 : -EIO;
	if (st) {
		sqlite3_bind_int64(st, 1, node);
		rc = vf_catalog_row(st);
		if (rc == 1)
			cur = vf_ns_version_from_row(st);
		rc = rc < 0 ? rc : 0;
		sqlite3_reset(st);
	}
	vf_vault_unlock(v);
	if (rc)
		goto out;
	pr->st.files++;
	while (more && n < WINDOW_MAX) {
		vf_vault_lock(v);
		rc = load_window(pr, node, cid, n, WINDOW_MAX - n, &got);
		vf_vault_unlock(v);
		if (rc || got == 0)
			break;
		more = got == WINDOW_MAX - n;
		cid = pr->win[n + got - 1].id;
		pr->st.versions += got;
		n += got;
		/* Versions come in commit order.  A version stamped earlier
		 * than an older one (a wall clock set back) counts as made
		 * when that older one was: the times the policy gets never
		 * increase along the list, and raising a time only makes a
		 * version look newer, which keeps more, never less. */
		for (i = n; i-- > 0;)
			pr->t[i] = i + 1 < n && pr->t[i + 1] > pr->win[i].t ?
					   pr->t[i + 1] :
					   pr->win[i].t;
		rc = vf_policy_retain(pr->t, n, &pr->p, pr->now, pr->min_age,
				      pr->keep);
		if (rc < 0)
			break;
		for (i = k = nd = 0; i < n; i++) {
			if (pr->keep[i] || pr->win[i].id == cur)
				pr->win[k++] = pr->win[i];
			else
				pr->drop[nd++] = pr->win[i];
		}
		n = k;
		rc = drop_versions(pr, node, nd);
		if (rc)
			break;
	}
	if (!rc && !pr->dry) {
		vf_vault_lock(v);
		rc = drop_empty_predecessors(v, node);
		vf_vault_unlock(v);
	}
out:
	return rc < 0 ? rc : 0;
}

static int prune_alloc(struct prune *pr)
{
	pr->win = calloc(WINDOW_MAX, sizeof(*pr->win));
	pr->drop = calloc(WINDOW_MAX, sizeof(*pr->drop));
	pr->t = calloc(WINDOW_MAX, sizeof(*pr->t));
	pr->keep = calloc(WINDOW_MAX, sizeof(*pr->keep));
	return pr->win && pr->drop && pr->t && pr->keep ? 0 : -ENOMEM;
}

static void prune_free(struct prune *pr)
{
	free(pr->win);
	free(pr->drop);
	free(pr->t);
	free(pr->keep);
}

int vf_vault_prune(struct vf_vault *v, int64_t now, int dry_run,
		   vf_prune_cb cb, void *arg, struct vf_prune_stats *st)
{
	return vf_vault_prune_progress(v, now, dry_run, cb, arg, st, NULL);
}

int vf_vault_prune_progress(struct vf_vault *v, int64_t now, int dry_run,
			    vf_prune_cb cb, void *arg,
			    struct vf_prune_stats *st,
			    const struct vf_progress *prog)
{
	/* node ids scanned out of the highest: the files that have
	 * versions lie among them */
	struct vf_progress_state ps = { "prune", "nodes", 0, 0, 0, 0, 0 };
	struct vf_softdelete sd;
	struct prune pr;
	int64_t nodes[NODE_BATCH], last = 0, hi, top = 0;
	unsigned least;
	sqlite3_stmt *q;
	size_t n, i;
	int rc;

	memset(&pr, 0, sizeof(pr));
	pr.v = v;
	pr.now = now;
	pr.dry = dry_run;
	pr.cb = cb;
	pr.arg = arg;
	if (v->readonly && !dry_run) {
		rc = -EROFS;
		goto out;
	}
	/* the tripwire fired (trip.h): no version goes until released */
	if (!dry_run && __atomic_load_n(&v->trip_frozen, __ATOMIC_RELAXED)) {
		rc = -EPERM;
		goto out;
	}
	rc = vf_vault_policy_get(v, &pr.p);
	if (!rc)
		rc = vf_vault_softdelete_get(v, &sd);
	if (rc)
		goto out;
	/* No recovery point goes before it has been replaced for as long as
	 * a deleted item is kept: overwrites are the delete of whoever may
	 * only write (an Operator is append-only: README.md, Roles). */
	pr.min_age = (int64_t)sd.days * 86400 * VF_NS;
	/* Files with no more versions than every policy keeps (its newest
	 * max(keep_last, min_points)) are not even looked at; a policy
	 * without rules keeps everything. */
	if (!pr.p.keep_last && pr.p.keep_within <= 0 && !pr.p.keep_hourly &&
	    !pr.p.keep_daily && !pr.p.keep_weekly && !pr.p.keep_monthly &&
	    !pr.p.keep_yearly)
		goto out;
	least = pr.p.keep_last > pr.p.min_points ? pr.p.keep_last :
						     pr.p.min_points;
	rc = prune_alloc(&pr);
	if (!rc)
		rc = max_of(v, VF_Q_PRUNE_NODE_MAX, &top);
	ps.items_total = (uint64_t)top;
	while (!rc && last < top) {
		n = 0;
		hi = last + NODE_SCAN;
		vf_vault_lock(v);
		q = vf_catalog_stmt(v->cat, VF_Q_PRUNE_NODES);
		rc = q ? 0 : -EIO;
		if (q) {
			sqlite3_bind_int64(q, 1, last);
			sqlite3_bind_int64(q, 2, least);
			sqlite3_bind_int64(q, 3, NODE_BATCH);
			sqlite3_bind_int64(q, 4, hi);
			while (n < NODE_BATCH && (rc = vf_catalog_row(q)) == 1)
				nodes[n++] = sqlite3_column_int64(q, 0);
			sqlite3_reset(q);
			rc = rc < 0 ? rc : 0;
		}
		vf_vault_unlock(v);
		for (i = 0; i < n && !rc; i++)
			rc = prune_node(&pr, nodes[i]);
		last = n == NODE_BATCH ? nodes[n - 1] : hi;
		ps.items = (uint64_t)(last < top ? last : top);
		ps.bytes = pr.st.removed_bytes;
		vf_progress_report(prog, &ps);
	}
out:
	ps.done = 1;
	vf_progress_report(prog, &ps);
	prune_free(&pr);
	if (!rc && st)
		*st = pr.st;
	return rc;
}

/* ---- gc ----------------------------------------------------------------- */

struct gc {
	struct vf_vault *v;
	struct vf_gc_stats st;
	const struct vf_progress *prog;
	struct vf_progress_state ps; /* packs weighed, their bytes */
	uint8_t *buf, *buf2; /* one sealed blob; its re-sealed copy */
	struct move {
		int64_t id;
		uint64_t off;
		uint32_t len;
		uint8_t cid[VF_CHUNK_ID_BYTES];
		struct vf_pack_loc to;
	} *mv;
};

/* Takes v->mu once no file is in a dirty session (see the top of the
 * file); -EBUSY, without the lock, when files stay dirty for a while. */
static int lock_quiet(struct vf_vault *v)
{
	struct timespec pause = { 0, QUIET_PAUSE_NS };
	int i;

	for (i = 0;; i++) {
		vf_vault_lock(v);
		if (v->n_dirty == 0)
			return 0;
		vf_vault_unlock(v);
		if (i == QUIET_TRIES)
			return -EBUSY;
		nanosleep(&pause, NULL);
	}
}

/* 1 when name is the pack the writer is appending to. */
static int is_current(struct vf_vault *v, const char *name)
{
	char cur[VF_PACK_NAME_LEN + 1];

	return vf_pack_writer_current(v->pw, cur) && !strcmp(cur, name);
}

struct pack_sum {
	struct vf_pack_io *io;
	uint64_t bytes;
};

static int add_size(void *arg, const char *name)
{
	struct pack_sum *s = arg;
	uint64_t size;
	int rc = s->io->ops->size(s->io, name, &size);

	if (rc == 0)
		s->bytes += size;
	/* Removed since it was listed: not stored any more. */
	return rc == -ENOENT ? 0 : rc;
}

/* The bytes in packs, as vf_vault_status counts them. */
static int stored_bytes(struct vf_vault *v, uint64_t *out)
{
	struct pack_sum s = { v->io, 0 };
	int rc = v->io->ops->list(v->io, add_size, &s);

	if (!rc)
		*out = s.bytes;
	return rc;
}

int vf_gc_stored_bytes(struct vf_vault *v, int64_t max_age, uint64_t *out)
{
	int64_t now = vf_clock_mono();
	int64_t at = __atomic_load_n(&v->stored_at, __ATOMIC_ACQUIRE);
	uint64_t b;
	int rc;

	if (max_age > 0 && at && now - at < max_age) {
		*out = __atomic_load_n(&v->stored_cached, __ATOMIC_RELAXED);
		return 0;
	}
	rc = stored_bytes(v, &b);
	if (rc)
		return rc;
	__atomic_store_n(&v->stored_cached, b, __ATOMIC_RELAXED);
	__atomic_store_n(&v->stored_at, now, __ATOMIC_RELEASE);
	*out = b;
	return 0;
}

int vf_gc_used_bytes(struct vf_vault *v, int64_t max_age, uint64_t *out)
{
	uint64_t b;
	int rc = vf_gc_stored_bytes(v, max_age, &b);

	if (!rc)
		*out = b + vf_catalog_disk_bytes(v->cat, NULL);
	return rc;
}

/* Deletes chunk rows ids[0..n) unless an extent references them by
 * now; *freed counts those that went.  v->mu held, in a transaction. */
static int delete_chunks(struct vf_vault *v, const int64_t *ids, size_t n,
			 uint64_t *freed)
{
	sqlite3_stmt *st;
	size_t i;
	int rc = 0;

	for (i = 0; i < n && !rc; i++) {
		st = vf_catalog_stmt(v->cat, VF_Q_GC_CHUNK_DEL);
		if (!st)
			return -EIO;
		sqlite3_bind_int64(st, 1, ids[i]);
		rc = vf_catalog_run(st);
		if (!rc)
			*freed += (uint64_t)sqlite3_changes(v->cat->db);
	}
	return rc;
}

/* Phase 1: deletes chunk rows no extent references, in id order. */
static int free_chunks(struct gc *g)
{
	struct vf_vault *v = g->v;
	int64_t ids[CHUNK_BATCH], last = 0, hi, top = 0;
	uint64_t freed;
	sqlite3_stmt *st;
	size_t n;
	int rc;

	rc = max_of(v, VF_Q_GC_CHUNK_MAX, &top);
	while (!rc && last < top) {
		n = 0;
		freed = 0;
		hi = last + CHUNK_SCAN;
		rc = lock_quiet(v);
		if (rc)
			break;
		st = vf_catalog_stmt(v->cat, VF_Q_GC_DEAD_CHUNKS);
		rc = st ? 0 : -EIO;
		if (st) {
			sqlite3_bind_int64(st, 1, last);
			sqlite3_bind_int64(st, 2, CHUNK_BATCH);
			sqlite3_bind_int64(st, 3, hi);
			while (n < CHUNK_BATCH &&
			       (rc = vf_catalog_row(st)) == 1)
				ids[n++] = sqlite3_column_int64(st, 0);
			sqlite3_reset(st);
			rc = rc < 0 ? rc : 0;
		}
		if (!rc && n) {
			rc = vf_catalog_begin(v->cat);
			if (!rc) {
				rc = delete_chunks(v, ids, n, &freed);
				if (rc)
					vf_catalog_rollback(v->cat);
				else
					rc = vf_catalog_commit(v->cat);
			}
		}
		vf_vault_unlock(v);
		if (!rc)
			g->st.chunks_freed += freed;
		last = n == CHUNK_BATCH ? ids[n - 1] : hi;
	}
	return rc;
}

enum move_state { MOVE_MORE, MOVE_GONE, MOVE_STUCK };

/* One batch of a rewrite (v->mu held, no file dirty): copies up to
 * MOVE_BATCH entries of pack id after chunk *after to the writer, syncs
 * them, then points their rows at the copies in one transaction that
 * also drops the pack's row once no chunk is left in it, and syncs the
 * catalog.  An entry that cannot be read (damaged, pack missing) stays
 * where it is, for check to report, and ends the rewrite. */
static int move_batch(struct gc *g, int64_t id, const char *name,
		      uint32_t epoch, int64_t *after, enum move_state *state)
{
	struct vf_vault *v = g->v;
	char last[VF_PACK_NAME_LEN + 1] = "";
	int64_t to_id = 0;
	uint64_t bytes = 0;
	size_t n = 0, m = 0, i;
	sqlite3_stmt *st;
	int rc = 0, stuck = 0, gone = 0;

	st = vf_catalog_stmt(v->cat, VF_Q_GC_PACK_CHUNKS);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, *after);
	sqlite3_bind_int64(st, 3, MOVE_BATCH);
	while (n < MOVE_BATCH && (rc = vf_catalog_row(st)) == 1) {
		g->mv[n].id = sqlite3_column_int64(st, 0);
		g->mv[n].off = (uint64_t)sqlite3_column_int64(st, 1);
		g->mv[n].len = (uint32_t)sqlite3_column_int64(st, 2);
		memset(g->mv[n].cid, 0, VF_CHUNK_ID_BYTES);
		if (sqlite3_column_bytes(st, 3) == VF_CHUNK_ID_BYTES)
			memcpy(g->mv[n].cid, sqlite3_column_blob(st, 3),
			       VF_CHUNK_ID_BYTES);
		n++;
	}
	sqlite3_reset(st);
	if (rc < 0)
		return rc;
	rc = 0;
	while (m < n && bytes < MOVE_BYTES) {
		struct vf_pack_loc from;
		const uint8_t *blob = g->buf;
		uint32_t to = epoch;
		ssize_t r;

		snprintf(from.pack, sizeof(from.pack), "%s", name);
		from.off = g->mv[m].off;
		from.len = g->mv[m].len;
		from.epoch = epoch;
		r = vf_pack_read(v->io, &from, g->buf, VF_POOL_BUF);
		/* a blob that fails authentication under its epoch stays,
		 * like a damaged one: not an error of the whole rewrite */
		if (r >= 0 && epoch != vf_datakey_current(v)) {
			int e = vf_datakey_reseal(v, epoch, g->mv[m].cid,
						  g->buf, (size_t)r, g->buf2,
						  &to);

			r = e < 0 ? e : r;
			blob = g->buf2;
		}
		if (r == -ENOMEM)
			return -ENOMEM;
		if (r < 0) {
			stuck = 1;
			break;
		}
		rc = vf_pack_put_epoch(v->pw, to, blob, (size_t)r,
				       &g->mv[m].to);
		if (rc)
			return rc;
		bytes += g->mv[m].len;
		m++;
	}
	/* The copies reach the disk before the catalog names them. */
	if (m)
		rc = vf_pack_writer_sync(v->pw);
	if (rc)
		return rc;
	rc = vf_catalog_begin(v->cat);
	if (rc)
		return rc;
	for (i = 0; i < m && !rc; i++) {
		const struct move *mv = &g->mv[i];

		if (strcmp(last, mv->to.pack)) {
			rc = vf_catalog_pack_id(v->cat, mv->to.pack,
						mv->to.epoch, &to_id);
			if (rc)
				break;
			snprintf(last, sizeof(last), "%s", mv->to.pack);
		}
		st = vf_catalog_stmt(v->cat, VF_Q_GC_CHUNK_MOVE);
		if (!st) {
			rc = -EIO;
			break;
		}
		sqlite3_bind_int64(st, 1, mv->id);
		sqlite3_bind_int64(st, 2, to_id);
		sqlite3_bind_int64(st, 3, (int64_t)mv->to.off);
		sqlite3_bind_int64(st, 4, id);
		sqlite3_bind_int64(st, 5, mv->to.len);
		rc = vf_catalog_run(st);
		/* The blob moved as it was, so its length did not change. */
		if (!rc && sqlite3_changes(v->cat->db) != 1)
			rc = -EIO;
	}
	if (!rc && !stuck) {
		/* A pack the store holds (or may: the uploader is running)
		 * is remembered with the stamp of its drop, for remote gc;
		 * only if the row below goes too (same transaction). */
		st = vf_catalog_stmt(v->cat, VF_Q_GC_GONE_ADD);
		rc = st ? 0 : -EIO;
		if (st) {
			sqlite3_bind_int64(st, 1, id);
			sqlite3_bind_int64(st, 2, vf_vault_stamp(v));
			sqlite3_bind_int(st, 3, v->ship != NULL);
			rc = vf_catalog_run(st);
		}
	}
	if (!rc && !stuck) {
		st = vf_catalog_stmt(v->cat, VF_Q_GC_PACK_DEL);
		rc = st ? 0 : -EIO;
		if (st) {
			sqlite3_bind_int64(st, 1, id);
			rc = vf_catalog_run(st);
			gone = !rc && sqlite3_changes(v->cat->db) == 1;
		}
	}
	if (rc) {
		vf_catalog_rollback(v->cat);
		return rc;
	}
	rc = vf_catalog_commit(v->cat);
	/* Durable before the old pack goes. */
	if (!rc && gone)
		rc = vf_catalog_sync(v->cat);
	if (rc)
		return rc;
	if (m)
		*after = g->mv[m - 1].id;
	*state = gone ? MOVE_GONE : stuck || m == 0 ? MOVE_STUCK : MOVE_MORE;
	return 0;
}

/* Moves every chunk of pack id out of it, then removes it.  A pack with
 * no chunks left only loses its row and file. */
static int rewrite_pack(struct gc *g, int64_t id, const char *name,
			uint32_t epoch)
{
	struct vf_vault *v = g->v;
	enum move_state state = MOVE_MORE;
	int64_t after = 0;
	int rc, moved = 0;

	while (state == MOVE_MORE) {
		rc = lock_quiet(v);
		if (rc)
			goto out;
		if (is_current(v, name)) {
			vf_vault_unlock(v);
			rc = 0;
			goto out;
		}
		rc = move_batch(g, id, name, epoch, &after, &state);
		vf_vault_unlock(v);
		if (rc)
			goto out;
		moved = after != 0;
	}
	rc = 0;
	if (state == MOVE_GONE) {
		/* Readers that looked the old place up just before the
		 * commit retry (cache.c vf_cache_get). */
		rc = v->io->ops->remove(v->io, name);
		if (!rc)
			g->st.packs_removed++;
		if (!rc || rc == -ENOENT)
			g->st.packs_rewritten += moved;
		rc = rc == -ENOENT ? 0 : rc;
	}
out:
	return rc;
}

/* Closes the pack being written to appends, once no file is being
 * written, so that phase 2 may rewrite it like any other: without this,
 * what was deleted just after it was written stays until a remount. */
static int roll_pack(struct gc *g)
{
	int rc = lock_quiet(g->v);

	if (rc)
		return rc;
	rc = vf_pack_writer_rotate(g->v->pw, 0);
	vf_vault_unlock(g->v);
	if (rc > 0)
		g->st.rolled = 1;
	return rc < 0 ? rc : 0;
}

int vf_gc_pack_row(struct vf_vault *v, enum vf_q q, int64_t a, int64_t b,
		   int64_t *id, char name[VF_PACK_NAME_LEN + 1],
		   uint32_t *epoch)
{
	sqlite3_stmt *st = vf_catalog_stmt(v->cat, q);
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, a);
	sqlite3_bind_int64(st, 2, b);
	rc = vf_catalog_row(st);
	if (rc == 1) {
		*id = sqlite3_column_int64(st, 0);
		snprintf(name, VF_PACK_NAME_LEN + 1, "%s",
			 (const char *)sqlite3_column_text(st, 1));
		*epoch = (uint32_t)sqlite3_column_int64(st, 2);
	}
	sqlite3_reset(st);
	return rc;
}

/* Phase 2: weighs each pack that existed when gc started, in id order.
 * Live bytes are the entries chunk rows point at; the pack's size comes
 * from the backend. */
static int rewrite_packs(struct gc *g)
{
	struct vf_vault *v = g->v;
	char name[VF_PACK_NAME_LEN + 1];
	int64_t last = 0, max = 0, id = 0, count = 0;
	uint64_t live = 0, size;
	uint32_t epoch = 0;
	sqlite3_stmt *st;
	int rc;

	rc = max_of(v, VF_Q_GC_PACK_MAX, &max);
	while (!rc) {
		vf_vault_lock(v);
		rc = vf_gc_pack_row(v, VF_Q_GC_PACK_NEXT, last, max, &id, name,
				    &epoch);
		if (rc == 1) {
			st = vf_catalog_stmt(v->cat, VF_Q_GC_PACK_LIVE);
			rc = st ? 0 : -EIO;
			if (st) {
				sqlite3_bind_int64(st, 1, id);
				rc = vf_catalog_row(st);
				if (rc == 1) {
					count = sqlite3_column_int64(st, 0);
					live = (uint64_t)sqlite3_column_int64(
						st, 1);
				}
				sqlite3_reset(st);
				rc = rc == 0 ? -EIO : rc;
			}
		}
		vf_vault_unlock(v);
		if (rc <= 0)
			break;
		last = id;
		rc = v->io->ops->size(v->io, name, &size);
		g->ps.items++;
		g->ps.bytes += rc ? 0 : size;
		vf_progress_report(g->prog, &g->ps);
		if (rc == -ENOENT) {
			/* Only its row is left to drop; if chunks still
			 * point into it, check reports them missing. */
			rc = 0;
			size = 0;
			if (count)
				continue;
		}
		if (!rc && (count == 0 || live < size / 2)) {
			rc = rewrite_pack(g, id, name, epoch);
		} else if (!rc && size > VF_PACK_HDR + live) {
			/* dead entries, but more than half is live */
			g->st.packs_kept++;
			g->st.kept_bytes += size - VF_PACK_HDR - live;
		}
	}
	return rc < 0 ? rc : 0;
}

struct sweep {
	struct gc *g;
	int rc;
};

/* Removes pack name when the packs table does not know it: bytes a crash
 * or a failed commit left behind, never referenced. */
static int sweep_one(void *arg, const char *name)
{
	struct sweep *s = arg;
	struct vf_vault *v = s->g->v;
	sqlite3_stmt *st;
	int rc;

	rc = lock_quiet(v);
	if (rc)
		goto out;
	if (is_current(v, name)) {
		vf_vault_unlock(v);
		goto out;
	}
	st = vf_catalog_stmt(v->cat, VF_Q_PACK_ID);
	rc = st ? 0 : -EIO;
	if (st) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		rc = vf_catalog_row(st);
		sqlite3_reset(st);
	}
	if (rc == 0) {
		/* A pack the catalog does not name may be newer than the
		 * catalog (one copied back from an older state, even with
		 * the rollback accepted): never deleted here, set aside. */
		rc = v->io->ops->quarantine(v->io, name);
		if (!rc)
			s->g->st.packs_quarantined++;
		rc = rc == -ENOENT ? 0 : rc;
	}
	vf_vault_unlock(v);
	rc = rc < 0 ? rc : 0;
out:
	s->rc = rc;
	return rc ? 1 : 0;
}

/* Phase 3: the orphan sweep, which quarantines packs the catalog does not
 * name (packs/quarantine/, counted in packs_quarantined) instead of
 * deleting them: see docs/design.md, "Catalog rollback". */
static int sweep(struct gc *g)
{
	struct sweep s = { g, 0 };
	int rc = g->v->io->ops->list(g->v->io, sweep_one, &s);

	return s.rc ? s.rc : rc;
}

/* Sets up g's buffers; gc_release frees them. */
static int gc_init(struct gc *g, struct vf_vault *v)
{
	memset(g, 0, sizeof(*g));
	g->v = v;
	g->buf = vf_buf_get(v);
	g->buf2 = vf_buf_get(v);
	g->mv = calloc(MOVE_BATCH, sizeof(*g->mv));
	return g->buf && g->buf2 && g->mv ? 0 : -ENOMEM;
}

static void gc_release(struct gc *g)
{
	vf_buf_put(g->v, g->buf);
	vf_buf_put(g->v, g->buf2);
	free(g->mv);
}

int vf_gc_rewrite(struct vf_vault *v, int64_t id, const char *name,
		  uint32_t epoch)
{
	struct gc g;
	int rc = gc_init(&g, v);

	if (!rc)
		rc = rewrite_pack(&g, id, name, epoch);
	gc_release(&g);
	return rc < 0 ? rc : g.st.packs_removed > 0;
}

/* Phase 4: the catalog's WAL back into the database, and its free pages
 * back to the disk (vf_catalog_compact), under v->mu, after what is
 * pending of deferred commits is settled. */
static int compact_catalog(struct gc *g)
{
	struct vf_vault *v = g->v;
	int rc;

	vf_vault_lock(v);
	g->st.catalog_before = vf_catalog_disk_bytes(v->cat, NULL);
	/* a deferred commit (catalog.h) would hold a transaction open,
	 * where neither a checkpoint nor VACUUM can run */
	rc = vf_catalog_settle(v->cat);
	if (!rc)
		rc = vf_catalog_compact(v->cat, &g->st.vacuumed);
	g->st.catalog_after = vf_catalog_disk_bytes(v->cat, NULL);
	vf_vault_unlock(v);
	return rc;
}

int vf_vault_gc(struct vf_vault *v, struct vf_gc_stats *out)
{
	return vf_vault_gc_progress(v, out, NULL);
}

int vf_vault_gc_progress(struct vf_vault *v, struct vf_gc_stats *out,
			 const struct vf_progress *prog)
{
	struct gc g;
	int rc;

	rc = gc_init(&g, v);
	g.prog = prog;
	g.ps.what = "gc";
	g.ps.unit = "packs";
	if (rc)
		goto out;
	if (v->readonly) {
		rc = -EROFS;
		goto out;
	}
	/* the tripwire fired (trip.h): nothing is purged or freed */
	if (__atomic_load_n(&v->trip_frozen, __ATOMIC_RELAXED)) {
		rc = -EPERM;
		goto out;
	}
	rc = stored_bytes(v, &g.st.stored_before);
	g.ps.bytes_total = g.st.stored_before;
	if (!rc && prog) {
		vf_vault_lock(v);
		rc = vf_catalog_counts(v->cat, VF_Q_STAT_PACKS,
				       &g.ps.items_total, NULL);
		vf_vault_unlock(v);
	}
	/* soft-deleted items whose time has come go first (README.md, Soft
	 * delete: gc purges them when the vault is not mounted) */
	if (!rc)
		rc = vf_vault_purge_expired(v, vf_vault_now(v), &g.st.purged);
	if (!rc)
		rc = free_chunks(&g);
	if (!rc)
		rc = roll_pack(&g);
	if (!rc)
		rc = rewrite_packs(&g);
	if (!rc)
		rc = sweep(&g);
	/* Files kept being written: what is left waits for the next run. */
	if (rc == -EBUSY) {
		g.st.busy = 1;
		rc = 0;
	}
	if (!rc)
		rc = compact_catalog(&g);
	if (!rc)
		rc = vf_gc_stored_bytes(v, 0, &g.st.stored_after);
out:
	g.ps.done = 1;
	vf_progress_report(prog, &g.ps);
	gc_release(&g);
	if (!rc && out)
		*out = g.st;
	return rc;
}

int vf_vault_maintain(struct vf_vault *v, int64_t now)
{
	struct vf_prune_stats ps;
	struct vf_gc_stats gs;
	int rc;

	rc = vf_vault_prune(v, now, 0, NULL, NULL, &ps);
	if (!rc)
		rc = vf_vault_gc(v, &gs);
	return rc;
}
