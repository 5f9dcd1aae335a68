/*
 * ship.c - the uploader of a remote vault (ship.h; docs/remote-store.md).
 *
 * One round, on the uploader thread, every second (sooner when
 * vf_ship_sync asks), unless it waits out a backoff:
 *   1. close the pack being written when it has held data for
 *      VF_SHIP_ROTATE (vf_pack_writer_rotate), so data leaves within
 *      seconds;
 *   2. if a checkpoint is due (the catalog changed and VF_SHIP_EVERY
 *      passed since the last one, or a sync waits): copy the whole
 *      catalog with SQLite's online backup into VAULT/ship.ckpt (1 MiB
 *      per hold of v->mu; the copy is the catalog as of its last step),
 *      opened through a VFS of its own that seals every page with the
 *      catalog key (no plaintext page ever reaches the disk), noting the
 *      change count and the vault stamp; then close the current pack
 *      (every pack the copy references is now finished);
 *   3. ship every finished pack the catalog does not mark shipped
 *      (p/NAME), marking each once the store has it;
 *   4. if a checkpoint was taken: hash every page of the copy (keyed,
 *      16 bytes a page, catseg.h) and compare with the hashes of the
 *      state shipped last; the pages that differ become a sealed segment
 *      (ship.seg), unless a full checkpoint is due (make_delta);
 *   5. put its time (c/SEQ.t), then the segment (c/SEQ.d) or the whole
 *      copy (c/SEQ), then record ship.seq, ship.t and ship.full (the full
 *      checkpoint the chain starts at) in meta.
 * The page hashes live only in memory: the first round of a mount, and
 * the round after any failed upload, ship a full checkpoint, so a segment
 * is only ever made on a state the store is known to hold (a kill -9 at
 * any moment costs one full checkpoint, never a wrong chain).  A sequence
 * number an upload was tried for is never used again (s->tried), so the
 * store never holds two different objects under one number.
 * A checkpoint therefore never reaches the store before the packs it
 * references, and a copy is never uploaded as a later sequence number than
 * one it is older than (one thread, sequence numbers only grow).  At the
 * first round the sequence number continues from the larger of meta
 * "ship.seq" and the newest c/ object listed, so a kill -9 between an
 * upload and its record does not reuse a number for an older copy.
 *
 * What counts as a change: an SQLite update hook on the catalog (run
 * under v->mu, like every catalog access) counts row changes of every
 * rowid table but packs (whose shipped column the uploader writes);
 * WITHOUT ROWID tables (meta: the clock mark, the epoch, ship.*) are not
 * reported by SQLite, so bookkeeping never causes a checkpoint of its
 * own.  Tables changed only through WITHOUT ROWID rows (xattrs, extents,
 * roles) always change a rowid table in the same operation (nodes,
 * versions, audit).
 *
 * Locking: v->mu before s->mu; the thread never takes v->mu while holding
 * s->mu.  Memory: the backup copies page by page; packs and checkpoints
 * are streamed by the store (put_fd); pack names are read 64 at a time.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "alert.h"
#include "catalog.h"
#include "catseg.h"
#include "catvfs.h"
#include "pack_cache.h"
#include "ship.h"
#include "vclock.h"

#define CKPT_NAME "ship.ckpt"
#define SEG_NAME "ship.seg"
#define NAMES_BATCH 64
#define TICK_MS 1000
#define COPY_STEP 256 /* catalog pages (1 MiB) copied per hold of v->mu */

struct vf_ship {
	struct vf_vault *v;
	struct vf_objstore *st;
	char url[1024];
	char vfs[48];
	char *ckpt_path;
	char *seg_path;
	pthread_t thread;
	int started;

	/* under v->mu (the update hook runs there) */
	uint64_t changes;         /* counted catalog changes */
	uint64_t shipped_changes; /* changes covered by the last checkpoint */
	uint64_t snap_changes;    /* changes covered by the copy in flight */
	int64_t since_a;          /* stamp of the oldest change not shipped */
	int64_t since_b;          /* the same, after the copy in flight */
	int inflight;

	/* under mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;      /* wakes the thread (sync, stop) */
	pthread_cond_t done_cv; /* a round ended */
	int stop;
	uint64_t req, done;     /* sync generations asked / satisfied */
	uint64_t seq;
	int seq_known;
	int64_t shipped_t;
	uint64_t bytes_pending, packs_shipped, ckpts_shipped, bytes_shipped,
		ckpt_bytes;
	int64_t ckpt_ms;
	char err[256];
	int backoff;            /* seconds; 0 when the last round worked */
	int64_t retry_at;       /* vf_clock_mono */
	int64_t last_ckpt;      /* vf_clock_mono of the last checkpoint */
	uint64_t tried;         /* highest seq an upload was attempted for */
	uint64_t segs_shipped, seg_bytes;

	/* only the thread (or the last round at stop, after the join) */
	struct vf_catseg_map map; /* page hashes of state seq; none (h NULL)
				     until a round shipped: the next round
				     ships a full checkpoint */
	uint64_t chain_full;    /* the full checkpoint the chain starts at */
	int64_t chain_t;        /* vf_clock_mono when it was taken */
	int64_t window;         /* the history window, ns (policy.h) */
	uint64_t chain_segs;    /* segments since, and their bytes */
	uint64_t chain_bytes;

	/* Object Lock (set before the thread starts, then only by it) */
	int lock;               /* every object gets a COMPLIANCE retention */
	int64_t lock_period;    /* s: soft-delete retention + margin */
	int64_t lock_horizon;   /* Unix s: every object locked until at
				   least this (0: not known yet) */
	int64_t next_extend;    /* vf_clock_mono of the next extension pass */
	int64_t locked;         /* objects locked or extended this mount */
	int clock_alerted;      /* the host/store clock alert, once a mount */
	int64_t hdr_sum;        /* the last header shipped (meta "ship.hdr"):
				   its first 8 bytes of BLAKE2b-128; the
				   thread only */
	int lag_alerted;        /* the store-lag alert of this episode (the
				   uploader's thread only) */
};

/* Locks key until now + the lock period; 0 when the vault does not lock. */
static int lock_obj(struct vf_ship *s, const char *key)
{
	int rc;

	if (!s->lock)
		return 0;
	rc = s->st->ops->set_retention(s->st, key,
				       (int64_t)time(NULL) + s->lock_period);
	if (!rc) {
		pthread_mutex_lock(&s->mu);
		s->locked++;
		pthread_mutex_unlock(&s->mu);
	}
	return rc;
}

void vf_ship_ckpt_key(uint64_t seq, char key[VF_OBJKEY_MAX + 1])
{
	snprintf(key, VF_OBJKEY_MAX + 1, VF_SHIP_CKPT_PREFIX "%016llx",
		 (unsigned long long)seq);
}

int vf_ship_key_seq(const char *key, uint64_t *seq, int *full)
{
	const char *p = key + strlen(VF_SHIP_CKPT_PREFIX);
	uint64_t n = 0;
	int i;

	if (strncmp(key, VF_SHIP_CKPT_PREFIX, strlen(VF_SHIP_CKPT_PREFIX)))
		return -EINVAL;
	for (i = 0; i < 16; i++) {
		int c = p[i];

		if (c >= '0' && c <= '9')
			n = n << 4 | (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			n = n << 4 | (uint64_t)(c - 'a' + 10);
		else
			return -EINVAL;
	}
	if (p[16] != '\0' && (p[16] != '.' || p[17] == '\0'))
		return -EINVAL;
	*seq = n;
	*full = p[16] == '\0';
	return 0;
}

void vf_ship_seg_key(uint64_t seq, char key[VF_OBJKEY_MAX + 1])
{
	snprintf(key, VF_OBJKEY_MAX + 1, VF_SHIP_CKPT_PREFIX "%016llx.d",
		 (unsigned long long)seq);
}

void vf_ship_time_key(uint64_t seq, char key[VF_OBJKEY_MAX + 1])
{
	snprintf(key, VF_OBJKEY_MAX + 1, VF_SHIP_CKPT_PREFIX "%016llx.t",
		 (unsigned long long)seq);
}

static void time_ad(uint64_t seq, uint8_t ad[15])
{
	int i;

	memcpy(ad, "vf-ckpt", 7);
	for (i = 0; i < 8; i++)
		ad[7 + i] = (uint8_t)(seq >> (8 * i));
}

void vf_ship_time_seal(const uint8_t key[32], uint64_t seq, int64_t t,
		       uint8_t out[VF_SHIP_TIME_BYTES])
{
	uint8_t ad[15], pt[8];
	int i;

	time_ad(seq, ad);
	for (i = 0; i < 8; i++)
		pt[i] = (uint8_t)((uint64_t)t >> (8 * i));
	vf_crypto_seal(key, ad, sizeof(ad), pt, sizeof(pt), out);
}

int vf_ship_time_open(const uint8_t key[32], uint64_t seq, const void *in,
		      size_t len, int64_t *t)
{
	uint8_t ad[15], pt[8];
	uint64_t x = 0;
	int i, rc;

	if (len != VF_SHIP_TIME_BYTES)
		return -EBADMSG;
	time_ad(seq, ad);
	rc = vf_crypto_open(key, ad, sizeof(ad), in, len, pt);
	if (rc < 0)
		return -EBADMSG;
	for (i = 0; i < 8; i++)
		x |= (uint64_t)pt[i] << (8 * i);
	*t = (int64_t)x;
	return 0;
}

static void update_hook(void *arg, int op, const char *db, const char *table,
			sqlite3_int64 row)
{
	struct vf_ship *s = arg;

	(void)op;
	(void)db;
	(void)row;
	if (table && !strcmp(table, "packs"))
		return;
	s->changes++;
	if (!s->since_a)
		s->since_a = vf_clock_now();
	if (s->inflight && !s->since_b)
		s->since_b = vf_clock_now();
}

/* ---- checkpoint copy ---------------------------------------------- */

static void unlink_ckpt(struct vf_ship *s)
{
	char *p = NULL;

	unlink(s->ckpt_path);
	if (s->seg_path)
		unlink(s->seg_path);
	if (asprintf(&p, "%s-journal", s->ckpt_path) >= 0) {
		unlink(p);
		free(p);
	}
	if (asprintf(&p, "%s-wal", s->ckpt_path) >= 0) {
		unlink(p);
		free(p);
	}
}

static int dst_exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

/* Copies the catalog into s->ckpt_path, COPY_STEP pages per hold of
 * v->mu so that file operations are not held up for the whole copy.  The
 * catalog connection is the backup's source: SQLite updates the copy
 * with every change that connection commits between steps, so the copy
 * is the catalog as of the last step, which runs under v->mu together
 * with the bookkeeping of what the copy covers (snap_changes, *t). */
static int copy_catalog(struct vf_ship *s, int64_t *t)
{
	struct vf_vault *v = s->v;
	int reserve = VF_CATVFS_RESERVE, rc, r;
	sqlite3_backup *b = NULL;
	sqlite3 *dst = NULL;

	unlink_ckpt(s);
	rc = sqlite3_open_v2(s->ckpt_path, &dst,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				     SQLITE_OPEN_NOMUTEX,
			     s->vfs);
	if (rc != SQLITE_OK) {
		rc = -EIO;
		goto out;
	}
	/* As a new catalog (catvfs.h): the page size and the reserve before
	 * page 1 is written; the journal of the copy's one transaction in
	 * memory (the sealing VFS refuses journal files). */
	rc = dst_exec(dst, "PRAGMA page_size=4096");
	if (!rc && sqlite3_file_control(dst, "main",
					SQLITE_FCNTL_RESERVE_BYTES,
					&reserve) != SQLITE_OK)
		rc = -EIO;
	if (!rc)
		rc = dst_exec(dst, "PRAGMA journal_mode=MEMORY");
	if (!rc)
		rc = dst_exec(dst, "PRAGMA temp_store=MEMORY");
	if (rc)
		goto out;
	/* The catalog connection is NOMUTEX: every call that touches it,
	 * the backup's included, runs under v->mu. */
	vf_vault_lock(v);
	b = sqlite3_backup_init(dst, "main", v->cat->db, "main");
	vf_vault_unlock(v);
	if (!b) {
		rc = -EIO;
		goto out;
	}
	for (;;) {
		vf_vault_lock(v);
		/* the backup reads through the catalog connection, which
		 * would hand it a pending transaction (catalog.h, deferred
		 * commits): the copy holds committed changes only */
		r = vf_catalog_settle(v->cat);
		(void)r;
		r = sqlite3_backup_step(b, COPY_STEP);
		if (r == SQLITE_DONE) {
			s->snap_changes = s->changes;
			s->inflight = 1;
			s->since_b = 0;
			*t = vf_vault_stamp(v);
		}
		if (r != SQLITE_OK && r != SQLITE_BUSY && r != SQLITE_LOCKED) {
			rc = r == SQLITE_DONE ? 0 :
			     vf_catalog_errno(r) ? vf_catalog_errno(r) : -EIO;
			if (sqlite3_backup_finish(b) != SQLITE_OK && !rc)
				rc = -EIO;
			b = NULL;
		}
		vf_vault_unlock(v);
		if (!b)
			break;
	}
out:
	if (dst && sqlite3_close(dst) != SQLITE_OK && !rc)
		rc = -EIO;
	if (rc) {
		vf_vault_lock(v);
		s->inflight = 0;
		vf_vault_unlock(v);
		vf_objstore_set_err("cannot copy the catalog for a checkpoint: "
				    "%s", strerror(-rc));
		unlink_ckpt(s);
	}
	return rc;
}

/* ---- packs --------------------------------------------------------- */

static char *pack_path(struct vf_vault *v, const char *name)
{
	char *p = NULL;

	if (asprintf(&p, "%s/packs/%.2s/%s.pack", v->dir, name, name) < 0)
		return NULL;
	return p;
}

static int mark_shipped(struct vf_vault *v, const char *name)
{
	sqlite3_stmt *st;
	int rc;

	vf_vault_lock(v);
	rc = vf_catalog_begin(v->cat);
	if (!rc) {
		st = vf_catalog_stmt(v->cat, VF_Q_SHIP_MARK);
		rc = st ? 0 : -EIO;
		if (st) {
			sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
			rc = vf_catalog_run(st);
		}
		rc = vf_catalog_finish(v->cat, rc);
	}
	vf_vault_unlock(v);
	if (!rc) {
		/* the store has it: the cache may now let it go */
		vf_pack_cache_shipped(v->io, name);
		(void)vf_pack_cache_trim(v->io);
	}
	return rc;
}

/* Reads the next batch of unshipped pack names after row *after. */
static int unshipped_batch(struct vf_vault *v, int64_t *after,
			   char names[][VF_PACK_NAME_LEN + 1], size_t *n)
{
	sqlite3_stmt *st;
	int rc = 0;

	*n = 0;
	vf_vault_lock(v);
	st = vf_catalog_stmt(v->cat, VF_Q_SHIP_UNSHIPPED);
	if (!st) {
		vf_vault_unlock(v);
		return -EIO;
	}
	sqlite3_bind_int64(st, 1, *after);
	sqlite3_bind_int64(st, 2, NAMES_BATCH);
	while ((rc = vf_catalog_row(st)) == 1) {
		const char *name = (const char *)sqlite3_column_text(st, 0);

		if (name && strlen(name) == VF_PACK_NAME_LEN)
			memcpy(names[(*n)++], name, VF_PACK_NAME_LEN + 1);
	}
	sqlite3_reset(st);
	if (!rc && *n) {
		st = vf_catalog_stmt(v->cat, VF_Q_SHIP_PACK_ID);
		rc = st ? 0 : -EIO;
		if (st) {
			sqlite3_bind_text(st, 1, names[*n - 1], -1,
					  SQLITE_STATIC);
			rc = vf_catalog_row(st);
			if (rc == 1)
				*after = sqlite3_column_int64(st, 0);
			rc = rc < 0 ? rc : 0;
			sqlite3_reset(st);
		}
	}
	vf_vault_unlock(v);
	return rc;
}

/* Ships one finished pack.  -ENOENT (with the text set) when the local
 * file is gone (gc removed it since it was listed). */
static int ship_pack(struct vf_ship *s, const char *name, uint64_t *bytes)
{
	char key[VF_OBJKEY_MAX + 1], *path = pack_path(s->v, name);
	struct stat st;
	int fd, rc;

	if (!path)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = -errno;
		vf_objstore_set_err("cannot read pack '%s': %s", path,
				    strerror(errno));
		if (fd >= 0)
			close(fd);
		free(path);
		return rc;
	}
	free(path);
	snprintf(key, sizeof(key), VF_SHIP_PACK_PREFIX "%.32s", name);
	rc = s->st->ops->put_fd(s->st, key, fd, (uint64_t)st.st_size);
	close(fd);
	if (!rc)
		rc = lock_obj(s, key);
	if (!rc)
		*bytes = (uint64_t)st.st_size;
	return rc;
}

/* Walks the unshipped finished packs: ship 0 only adds up their sizes
 * into s->bytes_pending (for status; also while the uploader waits out a
 * backoff), ship 1 ships them in row order. */
static int walk_unshipped(struct vf_ship *s, int ship)
{
	char (*names)[VF_PACK_NAME_LEN + 1];
	char cur[VF_PACK_NAME_LEN + 1];
	uint64_t pending = 0, bytes = 0;
	int64_t after = 0;
	size_t n, i;
	struct stat st;
	int rc = 0;

	names = malloc(NAMES_BATCH * sizeof(*names));
	if (!names)
		return -ENOMEM;
	do {
		rc = unshipped_batch(s->v, &after, names, &n);
		if (rc)
			break;
		if (!vf_pack_writer_current(s->v->pw, cur))
			cur[0] = '\0';
		for (i = 0; i < n && !rc; i++) {
			if (!strcmp(names[i], cur))
				continue; /* still being written */
			if (!ship) {
				char *p = pack_path(s->v, names[i]);

				if (p && stat(p, &st) == 0)
					pending += (uint64_t)st.st_size;
				free(p);
				continue;
			}
			rc = ship_pack(s, names[i], &bytes);
			if (!rc)
				rc = mark_shipped(s->v, names[i]);
			if (rc)
				break;
			pthread_mutex_lock(&s->mu);
			s->packs_shipped++;
			s->bytes_shipped += bytes;
			s->bytes_pending -= s->bytes_pending > bytes ?
						    bytes :
						    s->bytes_pending;
			pthread_mutex_unlock(&s->mu);
		}
	} while (!rc && n == NAMES_BATCH);
	if (!ship && !rc) {
		pthread_mutex_lock(&s->mu);
		s->bytes_pending = pending;
		pthread_mutex_unlock(&s->mu);
	}
	free(names);
	return rc;
}

/* Ships every finished unshipped pack, after counting them. */
static int ship_packs(struct vf_ship *s)
{
	int rc = walk_unshipped(s, 0);

	return rc ? rc : walk_unshipped(s, 1);
}

/* ---- the round ----------------------------------------------------- */

static int max_seq_cb(void *arg, const struct vf_objinfo *o)
{
	uint64_t *max = arg, x;
	char *end;

	if (strlen(o->key) < 2 + 16)
		return 0;
	x = strtoull(o->key + 2, &end, 16);
	if (end == o->key + 2 + 16 && x > *max)
		*max = x;
	return 0;
}

static int find_seq(struct vf_ship *s)
{
	uint64_t listed = 0;
	int64_t meta = 0, t = 0;
	int rc;

	rc = s->st->ops->list(s->st, VF_SHIP_CKPT_PREFIX, max_seq_cb, &listed);
	if (rc)
		return rc;
	vf_vault_lock(s->v);
	rc = vf_catalog_meta_get(s->v->cat, "ship.seq", &meta);
	if (!rc && vf_catalog_meta_get(s->v->cat, "ship.t", &t))
		t = 0;
	vf_vault_unlock(s->v);
	if (rc == -ENOENT)
		rc = 0;
	if (rc)
		return rc;
	pthread_mutex_lock(&s->mu);
	s->seq = listed > (uint64_t)meta ? listed : (uint64_t)meta;
	if (!s->shipped_t)
		s->shipped_t = t;
	s->seq_known = 1;
	pthread_mutex_unlock(&s->mu);
	return 0;
}

/* Puts the time object, then the checkpoint (c/SEQ from ship.ckpt) or
 * the segment (c/SEQ.d from ship.seg), then records it: ship.seq,
 * ship.t, and ship.full, the full checkpoint its chain starts at. */
static int put_ckpt(struct vf_ship *s, uint64_t seq, int64_t t, int seg)
{
	uint8_t sealed[VF_SHIP_TIME_BYTES];
	char key[VF_OBJKEY_MAX + 1];
	struct vf_vault *v = s->v;
	const char *path = seg ? s->seg_path : s->ckpt_path;
	uint64_t full = seg ? s->chain_full : seq;
	struct stat st;
	int fd, rc;

	vf_ship_time_seal(vf_keys_sub(v->keys, VF_SUBKEY_ANCHOR), seq, t,
			  sealed);
	vf_ship_time_key(seq, key);
	rc = s->st->ops->put(s->st, key, sealed, sizeof(sealed));
	if (!rc)
		rc = lock_obj(s, key);
	if (rc)
		return rc;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = -errno;
		vf_objstore_set_err("cannot read the checkpoint copy: %s",
				    strerror(errno));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	if (seg)
		vf_ship_seg_key(seq, key);
	else
		vf_ship_ckpt_key(seq, key);
	rc = s->st->ops->put_fd(s->st, key, fd, (uint64_t)st.st_size);
	close(fd);
	if (!rc)
		rc = lock_obj(s, key);
	if (rc)
		return rc;
	vf_vault_lock(v);
	rc = vf_catalog_begin(v->cat);
	if (!rc) {
		rc = vf_catalog_meta_set(v->cat, "ship.seq", (int64_t)seq);
		if (!rc)
			rc = vf_catalog_meta_set(v->cat, "ship.t", t);
		if (!rc)
			rc = vf_catalog_meta_set(v->cat, "ship.full",
						 (int64_t)full);
		rc = vf_catalog_finish(v->cat, rc);
	}
	if (!rc) {
		s->shipped_changes = s->snap_changes;
		s->since_a = s->since_b;
		s->since_b = 0;
		s->inflight = 0;
	}
	vf_vault_unlock(v);
	if (rc) {
		vf_objstore_set_err("cannot record checkpoint %llu: %s",
				    (unsigned long long)seq, strerror(-rc));
		return rc;
	}
	pthread_mutex_lock(&s->mu);
	s->seq = seq;
	s->shipped_t = t;
	if (seg) {
		s->segs_shipped++;
		s->seg_bytes = (uint64_t)st.st_size;
	} else {
		s->ckpts_shipped++;
		s->ckpt_bytes = (uint64_t)st.st_size;
	}
	s->bytes_shipped += (uint64_t)st.st_size;
	pthread_mutex_unlock(&s->mu);
	return 0;
}

/* Hashes every page of the fresh copy and, when the pages of the state
 * shipped last are known, writes the pages that changed as segment seq
 * to ship.seg.  *seg: ship the segment (1) or the full copy (0): full
 * when no state is known (the first round of a mount, or after a failed
 * upload), when the chain has VF_SHIP_CHAIN_MAX segments, or when its
 * segments with this one would add up to more than half the catalog
 * (a recovery then downloads at most about 1.5 catalogs) and more than
 * VF_SHIP_CHAIN_FLOOR (below that a recovery costs little either way),
 * or when the chain is a quarter of the history window old, so that
 * remote gc finds a floor (vf_policy_ship_segment). */
static int make_delta(struct vf_ship *s, uint64_t seq,
		      struct vf_catseg_map *fresh, int *seg)
{
	struct vf_vault *v = s->v;
	uint64_t changed = 0, bytes = 0;
	struct stat st;
	int fd = -1, rc;

	*seg = 0;
	if (s->map.h) {
		fd = open(s->seg_path,
			  O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0) {
			rc = -errno;
			vf_objstore_set_err("cannot write '%s': %s",
					    s->seg_path, strerror(errno));
			return rc;
		}
	}
	rc = vf_catseg_diff(s->vfs, vf_keys_sub(v->keys, VF_SUBKEY_CATALOG),
			    vf_keys_vault_id(v->keys), s->ckpt_path,
			    s->map.h ? &s->map : NULL, seq, s->seq, fd, fresh,
			    &changed, &bytes, NULL);
	if (fd >= 0 && !rc && fsync(fd) < 0)
		rc = -errno;
	if (fd >= 0)
		close(fd);
	if (rc) {
		vf_objstore_set_err("cannot compare the catalog copy with "
				    "the last one shipped: %s", strerror(-rc));
		return rc;
	}
	if (stat(s->ckpt_path, &st) == 0)
		*seg = vf_policy_ship_segment(
			s->map.h != NULL, s->chain_segs, VF_SHIP_CHAIN_MAX,
			s->chain_bytes, bytes, (uint64_t)st.st_size,
			VF_SHIP_CHAIN_FLOOR, vf_clock_mono() - s->chain_t,
			s->window);
	return 0;
}

/* Ships the vault header when it changed since the one shipped last
 * (h/<hash>, locked like every object), then records it in meta
 * "ship.hdr".  The header is replaced by rename, so a read sees a whole
 * one; the name is its hash, so a key is never written with two
 * contents. */
static int ship_header(struct vf_ship *s)
{
	uint8_t buf[4097], sum[16];
	char key[VF_OBJKEY_MAX + 1], hex[33];
	char *path = vf_path_join(s->v->dir, VF_HEADER_NAME);
	int64_t short_sum = 0;
	ssize_t n = -1;
	int fd, rc, i;

	fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	free(path);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf));
		close(fd);
	}
	if (n <= 0 || n == (ssize_t)sizeof(buf)) {
		vf_objstore_set_err("cannot read the vault header");
		return -EIO;
	}
	crypto_generichash(sum, sizeof(sum), buf, (size_t)n, NULL, 0);
	for (i = 0; i < 8; i++)
		short_sum = (int64_t)((uint64_t)short_sum << 8 | sum[i]);
	if (short_sum == s->hdr_sum)
		return 0;
	sodium_bin2hex(hex, sizeof(hex), sum, sizeof(sum));
	snprintf(key, sizeof(key), "%s%s", VF_SHIP_HDRS_PREFIX, hex);
	rc = s->st->ops->put(s->st, key, buf, (size_t)n);
	if (!rc)
		rc = lock_obj(s, key);
	if (rc)
		return rc;
	s->hdr_sum = short_sum;
	vf_vault_lock(s->v);
	rc = vf_catalog_begin(s->v->cat);
	if (!rc)
		rc = vf_catalog_finish(s->v->cat,
				       vf_catalog_meta_set(s->v->cat, "ship.hdr",
							   short_sum));
	vf_vault_unlock(s->v);
	/* unrecorded, the next mount ships the same object again */
	(void)rc;
	return 0;
}

/* One round (see the top).  gen: the sync generation asked for before
 * the round started; force: take a checkpoint whenever anything changed.
 * Returns 0 or the first error (its text in vf_objstore_errmsg). */
static int round_once(struct vf_ship *s, uint64_t gen, int force)
{
	struct vf_catseg_map fresh = { NULL, 0 };
	struct vf_vault *v = s->v;
	int64_t t = 0, start = vf_clock_mono();
	uint64_t seq;
	int rc, dirty, want = 0, r, seg = 0;

	vf_objstore_set_err("%s", "");
	if (!s->seq_known) {
		rc = find_seq(s);
		if (rc)
			return rc;
	}
	rc = ship_header(s);
	if (rc)
		return rc;
	r = vf_pack_writer_rotate(v->pw, VF_SHIP_ROTATE);
	if (r < 0) {
		vf_objstore_set_err("cannot close the current pack: %s",
				    strerror(-r));
		return r;
	}
	vf_vault_lock(v);
	dirty = s->changes != s->shipped_changes;
	pthread_mutex_lock(&s->mu);
	want = dirty && (force || gen > s->done ||
			 start - s->last_ckpt >= VF_SHIP_EVERY);
	pthread_mutex_unlock(&s->mu);
	vf_vault_unlock(v);
	if (want) {
		rc = copy_catalog(s, &t);
		if (rc)
			return rc;
	}
	if (want) {
		r = vf_pack_writer_rotate(v->pw, 0);
		if (r < 0) {
			vf_objstore_set_err("cannot close the current pack: "
					    "%s", strerror(-r));
			rc = r;
			goto out;
		}
	}
	rc = ship_packs(s);
	if (rc || !want)
		goto out;
	pthread_mutex_lock(&s->mu);
	seq = (s->seq > s->tried ? s->seq : s->tried) + 1;
	s->last_ckpt = start;
	pthread_mutex_unlock(&s->mu);
	rc = make_delta(s, seq, &fresh, &seg);
	if (rc)
		goto out;
	/* from here on seq may be in the store: never used again */
	pthread_mutex_lock(&s->mu);
	s->tried = seq;
	pthread_mutex_unlock(&s->mu);
	rc = put_ckpt(s, seq, t, seg);
	if (rc) {
		/* what the store holds is not known: the next round ships
		 * a full checkpoint, never a segment on an unsure base */
		vf_catseg_map_release(&s->map);
		vf_catseg_map_release(&fresh);
		goto out;
	}
	vf_catseg_map_release(&s->map);
	s->map = fresh;
	if (seg) {
		s->chain_segs++;
		s->chain_bytes += s->seg_bytes;
	} else {
		s->chain_full = seq;
		s->chain_t = start;
		s->chain_segs = 0;
		s->chain_bytes = 0;
	}
	pthread_mutex_lock(&s->mu);
	s->ckpt_ms = (vf_clock_mono() - start) / 1000000;
	pthread_mutex_unlock(&s->mu);
out:
	if (want) {
		vf_vault_lock(v);
		if (s->inflight) {
			/* failed: the oldest change is still since_a */
			s->inflight = 0;
			s->since_b = 0;
		}
		vf_vault_unlock(v);
		unlink_ckpt(s);
	}
	if (!rc && (want || !dirty)) {
		pthread_mutex_lock(&s->mu);
		if (gen > s->done)
			s->done = gen;
		pthread_mutex_unlock(&s->mu);
	}
	return rc;
}

/* Extends the lock of every object still needed to now + the period,
 * every third of the period (at most daily): objects recovery points
 * still need must never come unlocked.  Objects remote gc found unneeded
 * (store_gc.c: sequence numbers below meta "rgc.floor", packs dropped
 * before "rgc.floor_t") are left to run out, so that gc can delete them;
 * until a gc run has looked, an object counts as needed.  The store
 * refuses to shorten a lock, so a pass can only make locks longer. */
struct extend {
	struct vf_ship *s;
	int64_t floor, floor_t;
};

static int extend_one(void *arg, const struct vf_objinfo *o)
{
	struct extend *e = arg;
	struct vf_vault *v = e->s->v;
	uint64_t seq;
	int64_t at = 0;
	int full, rc, live = 0, gone = 0;

	if (vf_ship_key_seq(o->key, &seq, &full) == 0 &&
	    !vf_policy_ckpt_needed(seq, (uint64_t)e->floor))
		return 0;
	if (!strncmp(o->key, VF_SHIP_PACK_PREFIX, 2) && e->floor_t > 0) {
		sqlite3_stmt *q;

		vf_vault_lock(v);
		q = vf_catalog_stmt(v->cat, VF_Q_SHIP_PACK_ID);
		if (q) {
			sqlite3_bind_text(q, 1, o->key + 2, -1, SQLITE_STATIC);
			live = vf_catalog_row(q) != 0; /* errors: keep */
			sqlite3_reset(q);
		}
		q = live ? NULL : vf_catalog_stmt(v->cat, VF_Q_STORE_GONE_GET);
		if (q) {
			sqlite3_bind_text(q, 1, o->key + 2, -1, SQLITE_STATIC);
			gone = vf_catalog_row(q) == 1;
			if (gone)
				at = sqlite3_column_int64(q, 0);
			sqlite3_reset(q);
		}
		vf_vault_unlock(v);
		if (!q && !live)
			live = 1;
		if (!vf_policy_pack_needed(live, gone, at, e->floor_t))
			return 0;
	}
	rc = lock_obj(e->s, o->key);
	return rc == -ENOENT ? 0 : rc; /* deleted by remote gc since */
}

static void extend_locks(struct vf_ship *s)
{
	int64_t start = (int64_t)time(NULL);
	int rc;

	struct extend e = { s, 0, 0 };
	int64_t every = vf_policy_extend_every(s->lock_period * VF_NS);

	if (!s->lock || vf_clock_mono() < s->next_extend)
		return;
	vf_vault_lock(s->v);
	if (vf_catalog_meta_get(s->v->cat, "rgc.floor", &e.floor) < 0 ||
	    vf_catalog_meta_get(s->v->cat, "rgc.floor_t", &e.floor_t) < 0)
		e.floor = e.floor_t = 0;
	vf_vault_unlock(s->v);
	rc = s->st->ops->list(s->st, "", extend_one, &e);
	pthread_mutex_lock(&s->mu);
	if (rc) {
		/* retried in an hour (or sooner for short locks); the locks
		 * set at upload hold meanwhile */
		s->next_extend = vf_clock_mono() +
				 (every < 3600 * VF_NS ? every : 3600 * VF_NS);
		snprintf(s->err, sizeof(s->err), "extending object locks: %s",
			 vf_objstore_errmsg());
	} else {
		s->next_extend = vf_clock_mono() + every;
		s->lock_horizon = start + s->lock_period;
	}
	pthread_mutex_unlock(&s->mu);
	if (!rc) {
		vf_vault_lock(s->v);
		rc = vf_catalog_begin(s->v->cat);
		if (!rc)
			rc = vf_catalog_finish(
				s->v->cat,
				vf_catalog_meta_set(s->v->cat, "lock.extended",
						    start));
		vf_vault_unlock(s->v);
		/* unrecorded, the next mount extends again: harmless */
		(void)rc;
	}
}

/* Raises a store-lag alert once the oldest change the store does not
 * hold is older than VF_SHIP_LAG_ALERT, once until the store catches up.
 * Without s->mu (takes the vault lock to read since_a). */
static void check_lag(struct vf_ship *s)
{
	char why[sizeof(s->err)];
	int64_t since;

	vf_vault_lock(s->v);
	since = s->since_a;
	vf_vault_unlock(s->v);
	if (!since) {
		s->lag_alerted = 0;
		return;
	}
	if (s->lag_alerted || vf_clock_now() - since < VF_SHIP_LAG_ALERT)
		return;
	s->lag_alerted = 1;
	pthread_mutex_lock(&s->mu);
	snprintf(why, sizeof(why), "%s", s->err[0] ? s->err : "no error yet");
	pthread_mutex_unlock(&s->mu);
	vf_alert_raise(s->v, VF_ALERT_STORE_LAG, VF_ALERT_WARNING,
		       VF_AUDIT_UID_NONE, 1,
		       "the store '%s' has not received the changes of the last %lld min (writes go on locally): %s",
		       s->url, (long long)((vf_clock_now() - since) / 60 / VF_NS),
		       why);
}

static void *ship_main(void *arg)
{
	struct vf_ship *s = arg;
	struct timespec ts;
	uint64_t gen, tried = 0;
	int64_t now;
	int rc;

	pthread_mutex_lock(&s->mu);
	while (!s->stop) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += TICK_MS / 1000;
		if (s->req == s->done || s->req == tried)
			pthread_cond_timedwait(&s->cv, &s->mu, &ts);
		if (s->stop)
			break;
		pthread_mutex_unlock(&s->mu);
		check_lag(s);
		pthread_mutex_lock(&s->mu);
		if (s->stop)
			break;
		gen = s->req;
		now = vf_clock_mono();
		/* A new sync request tries at once, backoff or not. */
		if (now < s->retry_at && gen == tried) {
			/* meanwhile the pack being written still closes on
			 * time, and status sees what waits */
			pthread_mutex_unlock(&s->mu);
			if (vf_pack_writer_rotate(s->v->pw, VF_SHIP_ROTATE) >= 0)
				(void)walk_unshipped(s, 0);
			pthread_mutex_lock(&s->mu);
			continue;
		}
		tried = gen;
		pthread_mutex_unlock(&s->mu);
		rc = round_once(s, gen, 0);
		pthread_mutex_lock(&s->mu);
		if (rc) {
			snprintf(s->err, sizeof(s->err), "%s",
				 vf_objstore_errmsg()[0] ? vf_objstore_errmsg()
							 : strerror(-rc));
			s->backoff = s->backoff ? s->backoff * 2 : 1;
			if (s->backoff > VF_SHIP_BACKOFF_MAX)
				s->backoff = VF_SHIP_BACKOFF_MAX;
			s->retry_at = vf_clock_mono() +
				      (int64_t)s->backoff * VF_NS;
		} else {
			s->err[0] = '\0';
			s->backoff = 0;
			s->retry_at = 0;
		}
		pthread_cond_broadcast(&s->done_cv);
		/* a refused request has a Date too: a host whose clock
		 * is far off cannot sign requests the store accepts
		 * (RequestTimeTooSkewed), and that is when to say so */
		if (!s->clock_alerted) {
			int64_t skew;

			if (vf_vclock_store_skew(s->v, &skew) == 0 &&
			    (skew > VF_VCLOCK_STORE_TOL ||
			     skew < -VF_VCLOCK_STORE_TOL)) {
				s->clock_alerted = 1;
				vf_alert_raise(s->v, VF_ALERT_CLOCK,
					       VF_ALERT_WARNING,
					       VF_AUDIT_UID_NONE, 1,
					       "this host's clock is %lld s %s the store's: decisions use the earlier, stamps stay within %lld s of the store's",
					       (long long)((skew < 0 ? -skew : skew) / VF_NS),
					       skew > 0 ? "ahead of" : "behind",
					       (long long)(VF_VCLOCK_STORE_TOL / VF_NS));
			}
		}
		/* after the round's waiters are answered: a sync never
		 * waits for the daily extension of the locks */
		if (!rc && s->lock) {
			pthread_mutex_unlock(&s->mu);
			extend_locks(s);
			pthread_mutex_lock(&s->mu);
		}
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* ---- start, stop, sync, status ------------------------------------- */

static void ship_free(struct vf_ship *s)
{
	if (!s)
		return;
	vf_catvfs_unregister(s->vfs);
	vf_objstore_free(s->st);
	vf_catseg_map_release(&s->map);
	free(s->ckpt_path);
	free(s->seg_path);
	pthread_cond_destroy(&s->cv);
	pthread_cond_destroy(&s->done_cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

int vf_ship_start_store(struct vf_vault *v, struct vf_objstore *st,
			const char *url, char *err, size_t errlen)
{
	pthread_condattr_t ca;
	struct vf_ship *s;
	sigset_t all, old;
	unsigned days = VF_SOFTDELETE_DAYS;
	int rc;

	if (v->readonly || v->ship) {
		vf_objstore_free(st);
		snprintf(err, errlen, "cannot ship a read-only vault");
		return -EROFS;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		vf_objstore_free(st);
		return -ENOMEM;
	}
	s->v = v;
	s->st = st;
	snprintf(s->url, sizeof(s->url), "%s", url);
	vf_vault_lock(v);
	if (vf_catalog_meta_get(v->cat, "ship.hdr", &s->hdr_sum) < 0)
		s->hdr_sum = 0;
	vf_vault_unlock(v);
	s->lock = st->ops->set_retention && !st->no_lock;
	{
		struct vf_softdelete sd;

		/* the retention at mount: a later change moves the chain's
		 * full checkpoints at the next mount */
		if (vf_vault_softdelete_get(v, &sd) == 0)
			days = sd.days;
		s->window = vf_policy_store_window(
			days, st->lock_period_s * VF_NS);
	}
	if (s->lock) {
		int64_t ext = 0, now = (int64_t)time(NULL), every;

		s->lock_period = st->lock_period_s ? st->lock_period_s :
				 vf_policy_lock_period(
					 days, VF_SHIP_LOCK_MARGIN * VF_NS,
					 86400 * VF_NS) / VF_NS;
		vf_vault_lock(v);
		if (vf_catalog_meta_get(v->cat, "lock.extended", &ext) < 0)
			ext = 0;
		vf_vault_unlock(v);
		if (ext > 0)
			s->lock_horizon = ext + s->lock_period;
		/* the first pass one interval after the last one (now if
		 * none) */
		every = vf_policy_extend_every(s->lock_period * VF_NS) / VF_NS;
		if (ext > 0 && now - ext < every)
			s->next_extend = vf_clock_mono() +
					 (every - (now - ext)) * VF_NS;
	}
	snprintf(s->vfs, sizeof(s->vfs), "vaultfs-ship-%p", (void *)s);
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cv, &ca);
	pthread_cond_init(&s->done_cv, &ca);
	pthread_condattr_destroy(&ca);
	s->ckpt_path = vf_path_join(v->dir, CKPT_NAME);
	s->seg_path = vf_path_join(v->dir, SEG_NAME);
	if (!s->ckpt_path || !s->seg_path) {
		ship_free(s);
		return -ENOMEM;
	}
	rc = vf_catvfs_register(s->vfs,
				vf_keys_sub(v->keys, VF_SUBKEY_CATALOG));
	if (rc) {
		s->vfs[0] = '\0';
		ship_free(s);
		snprintf(err, errlen, "cannot set up checkpoint sealing: %s",
			 strerror(-rc));
		return rc;
	}
	unlink_ckpt(s);
	/* Everything since the open counts as unshipped: a kill -9 may have
	 * left commits no checkpoint holds, so the first round takes one. */
	vf_vault_lock(v);
	s->changes = 1;
	s->since_a = vf_clock_now();
	sqlite3_update_hook(v->cat->db, update_hook, s);
	{
		sqlite3_stmt *q = vf_catalog_stmt(v->cat, VF_Q_SHIP_TEXT_SET);

		rc = q ? vf_catalog_begin(v->cat) : -EIO;
		if (!rc) {
			sqlite3_bind_text(q, 1, "store.url", -1, SQLITE_STATIC);
			sqlite3_bind_text(q, 2, s->url, -1, SQLITE_STATIC);
			rc = vf_catalog_run(q);
			/* recover takes the lock period from here (the
			 * store.conf given to recover does not say) */
			if (!rc)
				rc = vf_catalog_meta_set(v->cat,
							 "store.lock_period",
							 st->lock_period_s);
			rc = vf_catalog_finish(v->cat, rc);
		}
	}
	/* what status shows until the first round has listed the store */
	{
		int64_t seq = 0, t = 0;

		if (!vf_catalog_meta_get(v->cat, "ship.seq", &seq) &&
		    !vf_catalog_meta_get(v->cat, "ship.t", &t)) {
			s->seq = (uint64_t)seq;
			s->shipped_t = t;
		}
	}
	v->ship = s;
	vf_vault_unlock(v);
	if (rc) {
		snprintf(err, errlen, "cannot record the store in the "
			 "catalog: %s", strerror(-rc));
		vf_ship_stop(v);
		return rc;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = -pthread_create(&s->thread, NULL, ship_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		snprintf(err, errlen, "cannot start the uploader: %s",
			 strerror(-rc));
		vf_ship_stop(v);
		return rc;
	}
	s->started = 1;
	/* from now on the store's Date is the vault clock's second opinion */
	__atomic_store_n(&v->clock_store, s->st, __ATOMIC_RELEASE);
	return 0;
}

int vf_ship_start(struct vf_vault *v, char *err, size_t errlen)
{
	struct vf_store_conf *conf = NULL;
	struct vf_objstore *st = NULL;
	int rc;

	rc = vf_store_conf_read(v->dir, &conf);
	if (rc == -ENOENT)
		return 0;
	if (rc) {
		snprintf(err, errlen, "%s", vf_objstore_errmsg());
		return rc;
	}
	rc = vf_objstore_open(&conf->cfg, &st);
	if (rc) {
		snprintf(err, errlen, "cannot open store '%s': %s",
			 conf->cfg.url, vf_objstore_errmsg());
		free(conf);
		return rc;
	}
	rc = vf_ship_start_store(v, st, conf->cfg.url, err, errlen);
	free(conf);
	return rc;
}

void vf_ship_stop(struct vf_vault *v)
{
	struct vf_ship *s = v->ship;
	int dirty;

	if (!s)
		return;
	if (s->started) {
		pthread_mutex_lock(&s->mu);
		s->stop = 1;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->thread, NULL);
		/* One last round for what changed since (no retry: an
		 * unreachable store must not hold up the unmount; the next
		 * mount ships it). */
		vf_vault_lock(v);
		dirty = s->changes != s->shipped_changes;
		vf_vault_unlock(v);
		if (dirty && (s->retry_at == 0 ||
			      vf_clock_mono() >= s->retry_at))
			(void)round_once(s, s->req, 1);
	}
	vf_vault_lock(v);
	sqlite3_update_hook(v->cat->db, NULL, NULL);
	v->ship = NULL;
	/* vf_vault_close stops the ship after the mount's threads are gone:
	 * nobody reads the clock through this store any more */
	__atomic_store_n(&v->clock_store, NULL, __ATOMIC_RELEASE);
	vf_vault_unlock(v);
	unlink_ckpt(s);
	ship_free(s);
}

int vf_ship_sync(struct vf_vault *v, int timeout_s, char *err, size_t errlen)
{
	struct vf_ship *s = v->ship;
	struct timespec dl;
	uint64_t my;
	int rc = 0;

	if (!s || !s->started) {
		snprintf(err, errlen, "vault '%s' is not shipped to a store "
			 "(not a remote vault, or not mounted read-write)",
			 v->dir);
		return -ENOTSUP;
	}
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += timeout_s;
	pthread_mutex_lock(&s->mu);
	my = ++s->req;
	pthread_cond_broadcast(&s->cv);
	while (s->done < my && !s->stop && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&s->done_cv, &s->mu, &dl);
	if (s->done >= my) {
		rc = 0;
	} else {
		snprintf(err, errlen, "store '%s' does not hold everything "
			 "after %d s: %s", s->url, timeout_s,
			 s->err[0] ? s->err : "still shipping");
		rc = -ETIMEDOUT;
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

void vf_ship_status(struct vf_vault *v, struct vf_ship_status *out)
{
	char cur[VF_PACK_NAME_LEN + 1];
	uint64_t cur_bytes = 0;
	struct vf_ship *s;
	int64_t since;

	memset(out, 0, sizeof(*out));
	vf_vault_lock(v);
	s = v->ship;
	if (!s) {
		/* Not shipping here (offline, read-only): what the vault
		 * records of its store, if it has one. */
		struct vf_store_conf *conf = NULL;
		int64_t seq = 0, t = 0;

		if (!vf_store_conf_read(v->dir, &conf)) {
			out->remote = 1;
			out->offline = 1;
			out->lag = -1;
			snprintf(out->url, sizeof(out->url), "%s",
				 conf->cfg.url);
			free(conf);
			if (!vf_catalog_meta_get(v->cat, "ship.seq", &seq) &&
			    !vf_catalog_meta_get(v->cat, "ship.t", &t)) {
				out->seq = (uint64_t)seq;
				out->shipped_t = t;
			}
		}
		vf_vault_unlock(v);
		return;
	}
	since = s->since_a;
	out->lock = s->lock;
	out->lock_horizon = s->lock_horizon;
	out->lock_period = s->lock_period;
	if (vf_pack_writer_current(v->pw, cur)) {
		char *p = pack_path(v, cur);
		struct stat st;

		if (p && stat(p, &st) == 0)
			cur_bytes = (uint64_t)st.st_size;
		free(p);
	}
	pthread_mutex_lock(&s->mu);
	out->remote = 1;
	snprintf(out->url, sizeof(out->url), "%s", s->url);
	out->seq = s->seq;
	out->shipped_t = s->shipped_t;
	out->lag = since ? vf_clock_now() - since : 0;
	if (out->lag < 0)
		out->lag = 0;
	out->bytes_pending = s->bytes_pending + cur_bytes;
	out->packs_shipped = s->packs_shipped;
	out->ckpts_shipped = s->ckpts_shipped;
	out->bytes_shipped = s->bytes_shipped;
	out->ckpt_bytes = s->ckpt_bytes;
	out->segs_shipped = s->segs_shipped;
	out->seg_bytes = s->seg_bytes;
	out->ckpt_ms = s->ckpt_ms;
	snprintf(out->last_err, sizeof(out->last_err), "%s", s->err);
	pthread_mutex_unlock(&s->mu);
	vf_vault_unlock(v);
}
