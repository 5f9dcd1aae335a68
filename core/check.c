/*
 * check.c - the vault facade's consistency check and status
 * (vf_vault_check, vf_vault_status).
 *
 * Invariant: both only read (v->mu held for catalog reads, never across
 * pack reads of the whole vault); a problem is reported through the
 * callback with the path of a node that refers to it, never fixed here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "catseg.h"
#include "datakey.h"
#include "facade.h"
#include "gc.h"
#include "pack_cache.h"
#include "ship.h"
#include "vault_int.h"

/* ---- check and status -------------------------------------------------- */

/* Writes the live path of node ino (or a description) into buf. */
static void node_path(struct vf_vault *v, uint64_t ino, char *buf, size_t cap)
{
	char tmp[VF_PATH_MAX + 1];
	size_t len = 0;
	int depth = 0;

	buf[0] = '\0';
	tmp[0] = '\0';
	while (ino != VF_ROOT_INO && depth++ < 4096) {
		sqlite3_stmt *st = vf_catalog_stmt(v->cat, VF_Q_PARENT_OF);
		int n;

		if (!st || (sqlite3_bind_int64(st, 1, (int64_t)ino),
			    vf_catalog_row(st)) != 1) {
			if (st)
				sqlite3_reset(st);
			snprintf(buf, cap, "(deleted file, node %llu)",
				 (unsigned long long)ino);
			return;
		}
		n = sqlite3_column_bytes(st, 1);
		if (len + (size_t)n + 1 >= sizeof(tmp)) {
			sqlite3_reset(st);
			break;
		}
		memmove(tmp + n + 1, tmp, len + 1);
		tmp[0] = '/';
		memcpy(tmp + 1, sqlite3_column_blob(st, 1), (size_t)n);
		len += (size_t)n + 1;
		ino = (uint64_t)sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
	}
	snprintf(buf, cap, "%s", len ? tmp : "/");
}

/* Reports a damaged chunk once per file that references it; returns the
 * number of reports (at least 1). */
static int report_chunk(struct vf_vault *v, int64_t chunk, const char *what,
			vf_check_cb cb, void *arg)
{
	sqlite3_stmt *st;
	char path[VF_PATH_MAX + 64];
	uint64_t *nodes = NULL;
	size_t n = 0, cap = 0, i;

	vf_vault_lock(v);
	st = vf_catalog_stmt(v->cat, VF_Q_NODES_OF_CHUNK);
	if (st) {
		sqlite3_bind_int64(st, 1, chunk);
		while (vf_catalog_row(st) == 1) {
			if (n == cap) {
				uint64_t *p = realloc(
				    nodes, (cap ? cap * 2 : 8) * sizeof(*p));
				if (!p)
					break;
				nodes = p;
				cap = cap ? cap * 2 : 8;
			}
			nodes[n++] = (uint64_t)sqlite3_column_int64(st, 0);
		}
		sqlite3_reset(st);
	}
	for (i = 0; i < n; i++) {
		node_path(v, nodes[i], path, sizeof(path));
		vf_vault_unlock(v);
		if (cb)
			cb(arg, path, what);
		vf_vault_lock(v);
	}
	vf_vault_unlock(v);
	free(nodes);
	return n ? (int)n : 1;
}

/* A remote vault: does the store hold every pack the catalog says it
 * shipped, whole and unchanged?  HEAD each one (missing, or a size other
 * than the local copy's); with read_data, also fetch it and compare it
 * with the local copy byte for byte (1 MiB at a time).  Returns the
 * number of problems, or -errno. */
#define CMP_BLOCK (1u << 20)
static int compare_with_store(struct vf_vault *v, const char *name,
			      const char *key, uint64_t size, uint8_t *a,
			      uint8_t *b)
{
	uint64_t off, len = 0;
	int fd, rc, same = 1;

	fd = vf_pack_io_local_tmpfile(v->local_io);
	if (fd < 0)
		return fd;
	rc = v->store->ops->get_fd(v->store, key, fd, &len);
	if (rc == 0 && len != size)
		same = 0;
	for (off = 0; rc == 0 && same && off < size; off += CMP_BLOCK) {
		size_t n = size - off < CMP_BLOCK ? (size_t)(size - off) :
						    CMP_BLOCK;

		rc = v->local_io->ops->read(v->local_io, name, off, a, n);
		if (rc == 0 && pread(fd, b, n, (off_t)off) != (ssize_t)n)
			rc = -EIO;
		if (rc == 0 && memcmp(a, b, n))
			same = 0;
	}
	close(fd);
	return rc < 0 ? rc : same;
}

/* A locked vault's object must stay locked at least one renewal interval
 * ahead (a day, or a third of a short lock period: vf_policy_lock_ahead):
 * what[] gets the problem, or stays empty. */
static void lock_problem(struct vf_vault *v, const char *key, char *what,
			 size_t cap)
{
	int64_t until = 0, now = (int64_t)time(NULL);
	int64_t ahead = vf_policy_lock_ahead(v->store->lock_period_s * VF_NS);
	char t[32];
	int r;

	if (v->store->no_lock || !v->store->ops->get_retention)
		return;
	r = v->store->ops->get_retention(v->store, key, &until);
	if (r < 0) {
		snprintf(what, cap, "its lock cannot be read: %s",
			 vf_objstore_errmsg());
	} else if (until == 0) {
		snprintf(what, cap, "not locked in the store (its credentials can delete it)");
	} else if (until < now + ahead / VF_NS) {
		vf_time_format(until * VF_NS, t);
		snprintf(what, cap, "locked only until %s, less than %lld s ahead (is the daemon extending locks?)",
			 t, (long long)(ahead / VF_NS));
	}
}

/* One object of the current chain: in the store, locked, and for a
 * segment (fd >= 0: a temporary file to fetch it into) authentic and on
 * top of base.  what[] gets the problem, or stays empty. */
static void chain_problem(struct vf_vault *v, const char *key, int fd,
			  uint64_t seq, uint64_t base, char *what, size_t cap)
{
	uint64_t size = 0;
	int r;

	r = fd < 0 ? v->store->ops->head(v->store, key, &size) :
		     v->store->ops->get_fd(v->store, key, fd, &size);
	if (r == 0 && fd >= 0)
		r = vf_catseg_apply("", vf_keys_sub(v->keys, VF_SUBKEY_CATALOG),
				    vf_keys_vault_id(v->keys), seq, base, fd,
				    -1, NULL);
	if (r == -ENOENT)
		snprintf(what, cap, "missing from the store");
	else if (r == -EBADMSG)
		snprintf(what, cap, "not authentic: damaged, replaced or moved in the store");
	else if (r == -ESTALE)
		snprintf(what, cap, "does not follow %016llx: not this chain's",
			 (unsigned long long)base);
	else if (r < 0)
		snprintf(what, cap, "cannot be read from the store: %s",
			 vf_objstore_errmsg());
	if (!what[0])
		lock_problem(v, key, what, cap);
}

/* The chain a recovery of the newest state needs: the full checkpoint
 * (meta ship.full) and every segment after it up to ship.seq (a failed
 * upload makes the next one full, so the segments of a chain are
 * consecutive).  Returns the number of problems, or -errno. */
static int check_chain(struct vf_vault *v, vf_check_cb cb, void *arg)
{
	char key[VF_OBJKEY_MAX + 1], path[VF_OBJKEY_MAX + 16], what[512];
	int64_t full = 0, last = 0;
	uint64_t seq;
	int problems = 0, fd;

	vf_vault_lock(v);
	if (vf_catalog_meta_get(v->cat, "ship.full", &full) ||
	    vf_catalog_meta_get(v->cat, "ship.seq", &last))
		full = 0;
	vf_vault_unlock(v);
	if (full <= 0 || last < full)
		return 0; /* nothing shipped yet, or before segments */
	for (seq = (uint64_t)full; seq <= (uint64_t)last; seq++) {
		fd = -1;
		if (seq == (uint64_t)full) {
			vf_ship_ckpt_key(seq, key);
		} else {
			vf_ship_seg_key(seq, key);
			fd = vf_pack_io_local_tmpfile(v->local_io);
			if (fd < 0)
				return fd;
		}
		what[0] = '\0';
		chain_problem(v, key, fd, seq, seq - 1, what, sizeof(what));
		if (fd >= 0)
			close(fd);
		if (what[0]) {
			snprintf(path, sizeof(path), "store object %s", key);
			if (cb)
				cb(arg, path, what);
			problems++;
		}
	}
	return problems;
}

static int check_store(struct vf_vault *v, int read_data, vf_check_cb cb,
		       void *arg)
{
	char names[64][VF_PACK_NAME_LEN + 1], key[VF_OBJKEY_MAX];
	char path[VF_OBJKEY_MAX + 16], what[512];
	uint8_t *a = NULL, *b = NULL;
	int64_t after = 0;
	int problems = 0, rc = 0;
	size_t n, i;

	if (read_data) {
		a = malloc(CMP_BLOCK);
		b = malloc(CMP_BLOCK);
		if (!a || !b) {
			rc = -ENOMEM;
			goto out;
		}
	}
	do {
		rc = vf_vault_shipped_batch(v, &after, names, 64, &n);
		if (rc < 0)
			goto out;
		for (i = 0; i < n; i++) {
			uint64_t ssize = 0, lsize = 0;
			int lrc, r;

			snprintf(key, sizeof(key), "%s%.32s", VF_OBJ_PACK_PREFIX,
				 names[i]);
			snprintf(path, sizeof(path), "store object %s", key);
			what[0] = '\0';
			r = v->store->ops->head(v->store, key, &ssize);
			lrc = v->local_io->ops->size(v->local_io, names[i],
						     &lsize);
			if (r == -ENOENT)
				snprintf(what, sizeof(what),
					 "missing from the store");
			else if (r < 0)
				snprintf(what, sizeof(what),
					 "cannot be read from the store: %s",
					 vf_objstore_errmsg());
			else if (lrc == 0 && ssize != lsize)
				snprintf(what, sizeof(what),
					 "%llu bytes in the store, %llu in the local pack: damaged or tampered with in the store",
					 (unsigned long long)ssize,
					 (unsigned long long)lsize);
			else if (lrc == 0 && read_data) {
				r = compare_with_store(v, names[i], key, lsize,
						       a, b);
				if (r == 0)
					snprintf(what, sizeof(what),
						 "differs from the local pack: damaged or tampered with in the store");
				else if (r < 0)
					snprintf(what, sizeof(what),
						 "cannot be compared: %s",
						 strerror(-r));
			}
			if (!what[0])
				lock_problem(v, key, what, sizeof(what));
			if (what[0]) {
				if (cb)
					cb(arg, path, what);
				problems++;
			}
		}
	} while (n == 64);
	/* the header: without it the key opens nothing */
	snprintf(path, sizeof(path), "store object hdr");
	what[0] = '\0';
	lock_problem(v, "hdr", what, sizeof(what));
	if (what[0]) {
		if (cb)
			cb(arg, path, what);
		problems++;
	}
	rc = check_chain(v, cb, arg);
	if (rc > 0)
		problems += rc;
out:
	free(a);
	free(b);
	return rc < 0 ? rc : problems;
}

int vf_vault_check(struct vf_vault *v, int read_data, vf_check_cb cb, void *arg)
{
	return vf_vault_check_progress(v, read_data, cb, arg, NULL);
}

int vf_vault_check_progress(struct vf_vault *v, int read_data,
			    vf_check_cb cb, void *arg,
			    const struct vf_progress *prog)
{
	struct vf_progress_state ps = { "check", "chunks", 0, 0, 0, 0, 0 };
	struct {
		int64_t id;
		uint8_t cid[VF_CHUNK_ID_BYTES];
		struct vf_pack_loc loc;
		uint32_t rlen;
	} *batch = NULL;
	uint8_t *sealed = NULL, *raw = NULL;
	size_t cap = vf_pack_sealed_bound(VF_CHUNK_MAX) + VF_PACK_ENTRY_HDR;
	int64_t last = 0;
	int problems = 0, rc = 0;
	size_t n, i;
	sqlite3_stmt *st;

	batch = calloc(256, sizeof(*batch));
	sealed = malloc(cap);
	raw = malloc(VF_CHUNK_MAX);
	if (!batch || !sealed || !raw) {
		rc = -ENOMEM;
		goto out;
	}
	/* Every page of the catalog, and SQLite's own check of each table
	 * (catalog.c). */
	vf_vault_lock(v);
	rc = vf_catalog_verify(v->cat, cb, arg);
	vf_vault_unlock(v);
	if (rc < 0)
		goto out;
	problems += rc;
	rc = 0;
	/* Extents whose chunk row is missing. */
	vf_vault_lock(v);
	if (prog && vf_catalog_counts(v->cat, VF_Q_STAT_CHUNKS, &ps.items_total,
			      &ps.bytes_total))
		ps.items_total = ps.bytes_total = 0;
	st = vf_catalog_stmt(v->cat, VF_Q_DANGLING_EXTENTS);
	while (st && vf_catalog_row(st) == 1) {
		char path[VF_PATH_MAX + 64];

		node_path(v, (uint64_t)sqlite3_column_int64(st, 0), path,
			  sizeof(path));
		if (cb)
			cb(arg, path,
			   "references a chunk missing from the index");
		problems++;
	}
	if (st)
		sqlite3_reset(st);
	vf_vault_unlock(v);
	for (;;) {
		vf_vault_lock(v);
		st = vf_catalog_stmt(v->cat, VF_Q_CHECK_CHUNKS);
		n = 0;
		if (st) {
			sqlite3_bind_int64(st, 1, last);
			while (n < 256 && vf_catalog_row(st) == 1) {
				batch[n].id = sqlite3_column_int64(st, 0);
				memset(batch[n].cid, 0, VF_CHUNK_ID_BYTES);
				if (sqlite3_column_bytes(st, 1) ==
				    VF_CHUNK_ID_BYTES)
					memcpy(batch[n].cid,
					       sqlite3_column_blob(st, 1),
					       VF_CHUNK_ID_BYTES);
				snprintf(
				    batch[n].loc.pack,
				    sizeof(batch[n].loc.pack), "%s",
				    (const char *)sqlite3_column_text(st, 2));
				batch[n].loc.off =
				    (uint64_t)sqlite3_column_int64(st, 3);
				batch[n].loc.len =
				    (uint32_t)sqlite3_column_int64(st, 4);
				batch[n].rlen =
				    (uint32_t)sqlite3_column_int64(st, 5);
				batch[n].loc.epoch =
				    (uint32_t)sqlite3_column_int64(st, 6);
				n++;
			}
			sqlite3_reset(st);
		} else {
			rc = -EIO;
		}
		vf_vault_unlock(v);
		if (rc || n == 0)
			break;
		for (i = 0; i < n; i++) {
			ssize_t r;
			const char *what = NULL;

			last = batch[i].id;
			ps.items++;
			ps.bytes += batch[i].loc.len;
			vf_progress_report(prog, &ps);
			r = vf_pack_read(v->io, &batch[i].loc, sealed, cap);
			if (r < 0)
				what = r == -ENOENT ? "pack missing"
						    : "pack entry damaged "
						      "(checksum mismatch)";
			else if (read_data) {
				r = vf_datakey_decode(v, batch[i].loc.epoch,
						      batch[i].cid, sealed,
						      (size_t)r, raw,
						      VF_CHUNK_MAX);
				if (r < 0)
					what = "chunk fails authentication";
				else if ((uint32_t)r != batch[i].rlen)
					what = "chunk has the wrong length";
			}
			if (what)
				problems +=
				    report_chunk(v, batch[i].id, what, cb, arg);
		}
	}
	if (!rc && v->store && v->local_io) {
		rc = check_store(v, read_data, cb, arg);
		if (rc > 0) {
			problems += rc;
			rc = 0;
		}
	}
out:
	ps.done = 1;
	vf_progress_report(prog, &ps);
	free(batch);
	free(sealed);
	free(raw);
	return rc ? rc : problems;
}

static int count_row(struct vf_vault *v, enum vf_q q, uint64_t *a, uint64_t *b)
{
	return vf_catalog_counts(v->cat, q, a, b);
}

int vf_vault_by_passphrase(struct vf_vault *v)
{
	return v->passphrase;
}

/* The data key epoch and the progress of a rotation (takes v->mu). */
static int rotation_status(struct vf_vault *v, struct vf_status *s)
{
	uint64_t left = 0;
	int64_t total = 0;
	int rc;

	s->data_epoch = vf_datakey_current(v);
	if (vf_datakey_floor(v) == s->data_epoch)
		return 0;
	vf_vault_lock(v);
	if (vf_catalog_meta_get(v->cat, "data.rot_total", &total) || total < 0)
		total = 0;
	rc = vf_datakey_packs_below(v, s->data_epoch, &left);
	vf_vault_unlock(v);
	/* commits racing the start may add packs of the old epoch */
	s->rot_total = (uint64_t)total > left ? (uint64_t)total : left;
	s->rot_running = 1;
	s->rot_done = s->rot_total - left;
	return rc;
}

int vf_vault_status(struct vf_vault *v, struct vf_status *out)
{
	struct vf_status s;
	int rc;

	memset(&s, 0, sizeof(s));
	vf_vault_lock(v);
	rc = count_row(v, VF_Q_STAT_FILES, &s.files, &s.logical_bytes);
	if (!rc)
		rc = count_row(v, VF_Q_STAT_DIRS, &s.dirs, NULL);
	if (!rc)
		rc = count_row(v, VF_Q_STAT_VERSIONS, &s.versions, NULL);
	if (!rc)
		rc = count_row(v, VF_Q_STAT_CHUNKS, &s.chunks, NULL);
	if (!rc)
		rc = count_row(v, VF_Q_STAT_HISTORY, &s.history_bytes, NULL);
	if (!rc)
		rc = count_row(v, VF_Q_STAT_SOFTDELETED, &s.softdeleted_files,
			       &s.softdeleted_bytes);
	vf_vault_unlock(v);
	if (rc)
		return rc;
	rc = vf_gc_stored_bytes(v, 0, &s.stored_bytes);
	if (rc)
		return rc;
	vf_vault_lock(v);
	rc = count_row(v, VF_Q_STAT_PACKS, &s.packs, NULL);
	vf_vault_unlock(v);
	vf_vault_lock(v);
	if (!rc) {
		int64_t x = 0;

		if (!vf_catalog_meta_get(v->cat, "maint.t", &x))
			s.maint_t = x;
		if (s.maint_t && !vf_catalog_meta_get(v->cat, "maint.rc", &x))
			s.maint_rc = (int)x;
		if (s.maint_t && !vf_catalog_meta_get(v->cat, "maint.pruned", &x))
			s.maint_pruned = (uint64_t)x;
		if (s.maint_t && !vf_catalog_meta_get(v->cat, "maint.purged", &x))
			s.maint_purged = (uint64_t)x;
		if (s.maint_t && !vf_catalog_meta_get(v->cat, "maint.packs", &x))
			s.maint_packs = (uint64_t)x;
		if (s.maint_t && !vf_catalog_meta_get(v->cat, "maint.store", &x))
			s.maint_store = (int)x;
		if (s.maint_store &&
		    !vf_catalog_meta_get(v->cat, "maint.store_deleted", &x))
			s.maint_store_deleted = (uint64_t)x;
		if (s.maint_store &&
		    !vf_catalog_meta_get(v->cat, "maint.store_waiting", &x))
			s.maint_store_waiting = (uint64_t)x;
	}
	if (!rc)
		rc = vf_protect_get(v, &s.prot);
	vf_vault_unlock(v);
	s.trip_frozen = __atomic_load_n(&v->trip_frozen, __ATOMIC_RELAXED);
	if (!rc)
		rc = rotation_status(v, &s);
	vf_vault_lock(v);
	s.catalog_bytes = vf_catalog_disk_bytes(v->cat, &s.catalog_wal_bytes);
	vf_vault_unlock(v);
	sodium_bin2hex(s.vault_id, sizeof(s.vault_id),
		       vf_keys_vault_id(v->keys), VF_VAULT_ID_BYTES);
	*out = s;
	return rc;
}
