/*
 * ship_upload.c - what a round of the uploader puts in the store (the
 * round's order is at the top of ship.c): the sealed copy of the catalog,
 * the packs not shipped yet, and the checkpoint or segment with its time
 * and the vault header (docs/remote-store.md).
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

#include "pack_cache.h"
#include "ship_int.h"

#define NAMES_BATCH 64
#define COPY_STEP 256 /* catalog pages (1 MiB) copied per hold of v->mu */

/* ---- checkpoint copy ---------------------------------------------- */

void vf_ship_unlink_ckpt(struct vf_ship *s)
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
int vf_ship_copy_catalog(struct vf_ship *s, int64_t *t)
{
	struct vf_vault *v = s->v;
	int reserve = VF_CATVFS_RESERVE, rc, r;
	sqlite3_backup *b = NULL;
	sqlite3 *dst = NULL;

	vf_ship_unlink_ckpt(s);
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
		vf_ship_unlink_ckpt(s);
	}
	return rc;
}

/* ---- packs --------------------------------------------------------- */

char *vf_ship_pack_path(struct vf_vault *v, const char *name)
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
	char key[VF_OBJKEY_MAX + 1], *path = vf_ship_pack_path(s->v, name);
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
		rc = vf_ship_lock_obj(s, key);
	if (!rc)
		*bytes = (uint64_t)st.st_size;
	return rc;
}

/* Walks the unshipped finished packs: ship 0 only adds up their sizes
 * into s->bytes_pending (for status; also while the uploader waits out a
 * backoff), ship 1 ships them in row order. */
int vf_ship_walk_unshipped(struct vf_ship *s, int ship)
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
				char *p = vf_ship_pack_path(s->v, names[i]);

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
int vf_ship_packs(struct vf_ship *s)
{
	int rc = vf_ship_walk_unshipped(s, 0);

	return rc ? rc : vf_ship_walk_unshipped(s, 1);
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

int vf_ship_find_seq(struct vf_ship *s)
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
int vf_ship_put_ckpt(struct vf_ship *s, uint64_t seq, int64_t t, int seg)
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
		rc = vf_ship_lock_obj(s, key);
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
		rc = vf_ship_lock_obj(s, key);
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
int vf_ship_make_delta(struct vf_ship *s, uint64_t seq,
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
int vf_ship_header(struct vf_ship *s)
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
		rc = vf_ship_lock_obj(s, key);
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
