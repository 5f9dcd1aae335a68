/*
 * file.c - file data (file.h is the contract): the write path (streaming
 * chunker and dirty-block spool), commits of recovery points, reads and
 * the store pipeline.
 *
 * An open file's content is its extent list (committed chunks, holes and
 * chunks written since the last commit) overlaid with dirty 64 KiB blocks
 * held sealed in the spool.  Invariant: outside streaming, the extents
 * cover exactly [0, size).
 *
 * Write paths:
 * - Streaming: a file written from offset 0 in order (cp, rsync, tar) is
 *   fed straight into the chunker; each cut chunk is hashed, deduplicated,
 *   compressed, sealed and appended to a pack at once, so memory holds at
 *   most one chunk per file being written.
 * - Anything else (random writes, appends to an old file, writes after a
 *   truncate) goes to spool blocks.  The commit then re-chunks from the
 *   extent boundary before the first dirty byte and stops re-chunking as
 *   soon as a cut lands on an old boundary with clean data behind it, so a
 *   small edit costs about one chunk whatever the file size.
 *
 * The spool (spool.c), the decrypted-chunk cache (cache.c), the buffer
 * pool (buf.c) and the store pipeline (pipeline.c: workers that hash,
 * deduplicate, compress, seal and store cut chunks, filling in the
 * extents this file hands them) are modules of their own.
 *
 * Commit: chunks written since the last commit are inserted into the
 * catalog in the same transaction as the version and its extents, so a
 * crash at any point leaves the previous version intact and at worst some
 * unreferenced bytes in a pack (gc's business).
 */
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cache.h"
#include "file.h"
#include "ns.h"
#include "open_files.h"
#include "pipeline.h"
#include "spool.h"
#include "vclock.h"

#define SBUF_MIN (64u << 10)

/* ---- open files ---------------------------------------------------------- */

int vf_file_get(struct vf_vault *v, uint64_t ino, struct vf_file **out)
{
	struct vf_file *f;
	struct vf_attr a;
	sqlite3_stmt *st;
	uint32_t mode;
	int rc;

	vf_vault_lock(v);
	f = vf_file_find_locked(v, ino);
	if (f) {
		f->refs++;
		*out = f;
		vf_vault_unlock(v);
		return 0;
	}
	st = vf_catalog_stmt(v->cat, VF_Q_NODE_GET);
	if (!st) {
		rc = -EIO;
		goto out;
	}
	sqlite3_bind_int64(st, 1, (int64_t)ino);
	rc = vf_catalog_row(st);
	if (rc == 0)
		rc = -ENOENT;
	if (rc < 0) {
		sqlite3_reset(st);
		goto out;
	}
	mode = (uint32_t)sqlite3_column_int64(st, VF_NODE_MODE);
	if (S_ISDIR(mode)) {
		rc = -EISDIR;
	} else if (!S_ISREG(mode)) {
		rc = -EINVAL;
	} else {
		f = calloc(1, sizeof(*f));
		rc = f ? 0 : -ENOMEM;
	}
	if (rc) {
		sqlite3_reset(st);
		goto out;
	}
	vf_ns_attr_from_row(st, 0, ino, &a);
	f->ino = ino;
	f->refs = 1;
	f->size = a.size;
	f->mode = a.mode;
	f->uid = a.uid;
	f->gid = a.gid;
	f->atime = a.atime;
	f->mtime = a.mtime;
	f->ctime = a.ctime;
	f->version = vf_ns_version_from_row(st);
	sqlite3_reset(st);
	pthread_mutex_init(&f->mu, NULL);
	pthread_mutex_init(&f->pend_mu, NULL);
	pthread_cond_init(&f->pend_cv, NULL);
	vf_open_files_add(v, f);
	*out = f;
out:
	vf_vault_unlock(v);
	return rc;
}

int vf_file_get_version(struct vf_vault *v, uint64_t ino, int64_t version,
			uint64_t size, struct vf_file **out)
{
	struct vf_file *f = calloc(1, sizeof(*f));

	if (!f)
		return -ENOMEM;
	f->ino = ino;
	f->refs = 1;
	f->size = size;
	f->version = version;
	f->mode = S_IFREG | 0444;
	pthread_mutex_init(&f->mu, NULL);
	pthread_mutex_init(&f->pend_mu, NULL);
	pthread_cond_init(&f->pend_cv, NULL);
	*out = f;
	return 0;
}

static void release_sbuf(struct vf_vault *v, struct vf_file *f);

static void file_drop_state(struct vf_vault *v, struct vf_file *f)
{
	size_t i;

	for (i = 0; i < f->n_blk; i++)
		vf_spool_free_slot(v, f->blk[i].slot);
	f->n_blk = 0;
	if (f->sbuf)
		release_sbuf(v, f);
	f->streaming = 0;
}

void vf_file_put(struct vf_vault *v, struct vf_file *f)
{
	vf_vault_lock(v);
	if (--f->refs > 0) {
		vf_vault_unlock(v);
		return;
	}
	vf_open_files_remove(v, f);
	/* A session whose last commit failed is dropped with its data. */
	if (f->dirty) {
		f->dirty = 0;
		v->n_dirty--;
	}
	vf_vault_unlock(v);
	file_drop_state(v, f);
	free(f->ext);
	free(f->pend);
	free(f->blk);
	pthread_mutex_destroy(&f->mu);
	pthread_mutex_destroy(&f->pend_mu);
	pthread_cond_destroy(&f->pend_cv);
	free(f);
}

/* Chunk data for an extent reference: catalog chunks through the cache,
 * pending ones of this file straight from their pack. */
static int get_chunk(struct vf_vault *v, struct vf_file *f, int64_t ref,
		     struct vf_cache_ent **out)
{
	struct vf_pending *p;

	if (ref > 0) {
		vf_pipeline_prefetch_wait(v, ref);
		return vf_cache_get(v, ref, out);
	}
	p = &f->pend[-ref - 1];
	if (p->row)
		return vf_cache_get(v, p->row, out);
	return vf_cache_get_at(v, p->cid, &p->loc, p->rlen, out);
}

/* ---- extents --------------------------------------------------------- */

static int ext_reserve(struct vf_ext **a, size_t *cap, size_t need)
{
	struct vf_ext *p;
	size_t n = *cap ? *cap : 16, bytes;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	if (vf_mul(n, sizeof(**a), &bytes))
		return -ENOMEM;
	p = realloc(*a, bytes);
	if (!p)
		return -ENOMEM;
	*a = p;
	*cap = n;
	return 0;
}

static int ext_push(struct vf_ext **a, size_t *n, size_t *cap,
		    const struct vf_ext *e)
{
	int rc;

	if (e->len == 0)
		return 0;
	/* Adjacent holes merge. */
	if (*n && e->chunk == 0 && (*a)[*n - 1].chunk == 0 &&
	    (*a)[*n - 1].off + (*a)[*n - 1].len == e->off) {
		(*a)[*n - 1].len += e->len;
		return 0;
	}
	rc = ext_reserve(a, cap, *n + 1);
	if (rc)
		return rc;
	(*a)[(*n)++] = *e;
	return 0;
}

/* Index of the extent containing off, or n_ext when none. */
static size_t ext_find(const struct vf_file *f, uint64_t off)
{
	size_t lo = 0, hi = f->n_ext;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->ext[mid].off + f->ext[mid].len <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < f->n_ext && f->ext[lo].off <= off ? lo : f->n_ext;
}

/* Loads the committed extents (f->mu held). */
int vf_file_load(struct vf_vault *v, struct vf_file *f)
{
	sqlite3_stmt *st;
	struct vf_ext e;
	int rc = 0;

	if (f->loaded)
		return 0;
	f->n_ext = 0;
	vf_vault_lock(v);
	if (f->version) {
		st = vf_catalog_stmt(v->cat, VF_Q_EXTENTS_OF);
		if (!st) {
			rc = -EIO;
			goto out;
		}
		sqlite3_bind_int64(st, 1, f->version);
		while ((rc = vf_catalog_row(st)) == 1) {
			e.off = (uint64_t)sqlite3_column_int64(st, 0);
			e.len = (uint64_t)sqlite3_column_int64(st, 1);
			e.chunk = sqlite3_column_int64(st, 2);
			e.coff = (uint32_t)sqlite3_column_int64(st, 3);
			rc = ext_push(&f->ext, &f->n_ext, &f->ext_cap, &e);
			if (rc)
				break;
		}
		sqlite3_reset(st);
		if (rc < 0)
			goto out;
		rc = 0;
	}
	/* A committed version always covers its size; be safe anyway. */
	{
		uint64_t end = f->n_ext ? f->ext[f->n_ext - 1].off +
						  f->ext[f->n_ext - 1].len :
					  0;

		if (end < f->size) {
			e.off = end;
			e.len = f->size - end;
			e.chunk = 0;
			e.coff = 0;
			rc = ext_push(&f->ext, &f->n_ext, &f->ext_cap, &e);
		}
	}
	if (!rc)
		f->loaded = 1;
out:
	vf_vault_unlock(v);
	return rc;
}

/* Index of the first dirty block with index >= idx (n_blk if none). */
static size_t blk_lower(const struct vf_file *f, uint64_t idx)
{
	size_t lo = 0, hi = f->n_blk;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->blk[mid].idx < idx)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct vf_block *blk_find(struct vf_file *f, uint64_t idx)
{
	size_t i = blk_lower(f, idx);

	return i < f->n_blk && f->blk[i].idx == idx ? &f->blk[i] : NULL;
}

/* First dirty block with index >= idx, or NULL. */
static struct vf_block *blk_next(struct vf_file *f, uint64_t idx)
{
	size_t i = blk_lower(f, idx);

	return i < f->n_blk ? &f->blk[i] : NULL;
}

/* Reads [off, off+len) of the committed extents and streamed chunks,
 * ignoring dirty blocks (f->mu held; off+len <= extent end). */

static int read_extents(struct vf_vault *v, struct vf_file *f, uint64_t off,
			uint8_t *buf, size_t len)
{
	int rc = vf_pipeline_drain(f);

	if (rc)
		return rc;
	while (len) {
		size_t i = ext_find(f, off), n;
		const struct vf_ext *e;
		struct vf_cache_ent *ce;

		if (i == f->n_ext) {
			memset(buf, 0, len);
			return 0;
		}
		e = &f->ext[i];
		n = (size_t)(e->off + e->len - off);
		if (n > len)
			n = len;
		if (e->chunk == 0) {
			memset(buf, 0, n);
		} else {
			uint64_t at = e->coff + (off - e->off);

			rc = get_chunk(v, f, e->chunk, &ce);
			if (rc)
				return rc;
			if (at + n > ce->len) {
				vf_cache_put(v, ce);
				return -EIO;
			}
			memcpy(buf, ce->data + at, n);
			vf_cache_put(v, ce);
		}
		buf += n;
		off += n;
		len -= n;
	}
	return 0;
}

/* Reads the file's current content [off, off+len), len within size
 * (f->mu held). */
static int vread(struct vf_vault *v, struct vf_file *f, uint64_t off,
		 uint8_t *buf, size_t len)
{
	uint8_t *blk = NULL;
	int rc = 0;

	/* Only extents: read them in one go. */
	if (!f->n_blk && !f->streaming)
		return read_extents(v, f, off, buf, len);
	while (len) {
		uint64_t idx = off / VF_SPOOL_BLOCK;
		uint64_t bend = (idx + 1) * VF_SPOOL_BLOCK;
		size_t n = (size_t)(bend - off);
		struct vf_block *b;

		if (n > len)
			n = len;
		if (f->streaming &&
		    off >= f->stream_end - f->sbuf_len) {
			uint64_t at = off - (f->stream_end - f->sbuf_len);

			if (n > f->sbuf_len - at)
				n = (size_t)(f->sbuf_len - at);
			memcpy(buf, f->sbuf + at, n);
		} else if ((b = blk_find(f, idx))) {
			if (!blk && !(blk = malloc(VF_SPOOL_BLOCK))) {
				rc = -ENOMEM;
				break;
			}
			rc = vf_spool_read(v, b->slot, blk);
			if (rc)
				break;
			memcpy(buf, blk + (off - idx * VF_SPOOL_BLOCK), n);
		} else {
			if (f->streaming) {
				uint64_t cut = f->stream_end - f->sbuf_len;

				if (off + n > cut)
					n = (size_t)(cut - off);
			}
			rc = read_extents(v, f, off, buf, n);
			if (rc)
				break;
		}
		buf += n;
		off += n;
		len -= n;
	}
	free(blk);
	return rc;
}

/* ext_push for arrays a worker may be filling. */
static int push_locked(struct vf_file *f, struct vf_ext **a, size_t *n,
		       size_t *cap, const struct vf_ext *e)
{
	int rc;

	pthread_mutex_lock(&f->pend_mu);
	rc = ext_push(a, n, cap, e);
	pthread_mutex_unlock(&f->pend_mu);
	return rc;
}

/* ---- streaming ----------------------------------------------------------- */

static int sbuf_grow(struct vf_vault *v, struct vf_file *f, size_t need)
{
	size_t cap = f->sbuf_cap ? f->sbuf_cap :
		     f->cut_once ? VF_CHUNK_MAX : SBUF_MIN;
	uint8_t *p;
	int ok;

	if (need <= f->sbuf_cap)
		return 0;
	while (cap < need)
		cap *= 2;
	if (cap > VF_CHUNK_MAX)
		cap = VF_CHUNK_MAX;
	vf_vault_lock(v);
	/* Only streaming writers are held to the budget; a commit's
	 * re-chunking buffer is short-lived and always allowed. */
	ok = !f->streaming ||
	     v->stream_bytes + (cap - f->sbuf_cap) <= VF_CACHE_STREAMS;
	if (ok)
		v->stream_bytes += cap - f->sbuf_cap;
	vf_vault_unlock(v);
	if (!ok)
		return -ENOBUFS;
	if (cap == VF_CHUNK_MAX) {
		p = vf_buf_get(v);
		if (p && f->sbuf_len)
			memcpy(p, f->sbuf, f->sbuf_len);
		if (p)
			free(f->sbuf);
	} else {
		p = realloc(f->sbuf, cap);
	}
	if (!p) {
		vf_vault_lock(v);
		v->stream_bytes -= cap - f->sbuf_cap;
		vf_vault_unlock(v);
		return -ENOMEM;
	}
	f->sbuf = p;
	f->sbuf_cap = cap;
	return 0;
}

/* Cuts the chunk held in f->sbuf: appends its extent to *ext as in
 * flight and hands the buffer to the pipeline. */
static int cut(struct vf_vault *v, struct vf_file *f, struct vf_ext **ext,
	       size_t *n_ext, size_t *cap, uint64_t end, int last)
{
	struct vf_ext e = { end - f->sbuf_len, f->sbuf_len, VF_REF_INFLIGHT,
			    0 };
	uint8_t *data = f->sbuf;
	size_t len = f->sbuf_len, dcap = f->sbuf_cap;
	int rc, busy;

	/* A whole small file is one last chunk: storing it here saves two
	 * thread hand-offs per file. */
	pthread_mutex_lock(&f->pend_mu);
	busy = f->inflight;
	pthread_mutex_unlock(&f->pend_mu);
	if (last && !busy) {
		rc = vf_pipeline_store(v, f, f->sbuf, f->sbuf_len, &e.chunk);
		if (!rc)
			rc = push_locked(f, ext, n_ext, cap, &e);
		if (!rc)
			f->sbuf_len = 0;
		return rc;
	}
	rc = push_locked(f, ext, n_ext, cap, &e);
	if (rc)
		return rc;
	/* The buffer leaves the stream budget; the pipeline's job limit
	 * bounds it from here. */
	vf_vault_lock(v);
	v->stream_bytes -= f->sbuf_cap;
	vf_vault_unlock(v);
	f->sbuf = NULL;
	f->sbuf_cap = f->sbuf_len = 0;
	f->cut_once = 1;
	return vf_pipeline_submit(v, f, ext, *n_ext - 1, data, len, dcap);
}

/* Feeds data to a chunker whose pending bytes are in f->sbuf; each cut
 * chunk goes to the pipeline with its extent appended to *ext (the chunk
 * starts at *pos - sbuf_len).  Used by streaming writes and by
 * re-chunking. */
static int feed(struct vf_vault *v, struct vf_file *f, struct vf_ext **ext,
		size_t *n_ext, size_t *cap, uint64_t *pos, const uint8_t *data,
		size_t len)
{
	while (len) {
		int is_cut, rc;
		size_t n;
		struct vf_chunker save = f->ck;

		n = vf_chunker_scan(&f->ck, data, len, &is_cut);
		rc = sbuf_grow(v, f, f->sbuf_len + n);
		if (rc) {
			f->ck = save; /* the bytes were not taken */
			return rc;
		}
		memcpy(f->sbuf + f->sbuf_len, data, n);
		f->sbuf_len += n;
		*pos += n;
		data += n;
		len -= n;
		if (is_cut) {
			rc = cut(v, f, ext, n_ext, cap, *pos, 0);
			if (rc)
				return rc;
		}
	}
	return 0;
}

/* Cuts whatever the chunker holds as a final chunk. */
static int feed_end(struct vf_vault *v, struct vf_file *f, struct vf_ext **ext,
		    size_t *n_ext, size_t *cap, uint64_t pos)
{
	int rc = 0;

	if (f->sbuf_len)
		rc = cut(v, f, ext, n_ext, cap, pos, 1);
	vf_chunker_reset(&f->ck);
	return rc;
}

static void release_sbuf(struct vf_vault *v, struct vf_file *f)
{
	vf_vault_lock(v);
	v->stream_bytes -= f->sbuf_cap;
	vf_vault_unlock(v);
	vf_buf_drop(v, f->sbuf, f->sbuf_cap);
	f->sbuf = NULL;
	f->sbuf_cap = f->sbuf_len = 0;
}

static int write_blocks(struct vf_vault *v, struct vf_file *f, uint64_t off,
			const uint8_t *buf, size_t len);

/* Leaves streaming: the bytes waiting in sbuf become dirty blocks and a
 * hole extent, so the extents cover [0, size) again. */
static int stop_streaming(struct vf_vault *v, struct vf_file *f)
{
	uint64_t start = f->stream_end - f->sbuf_len;
	struct vf_ext hole = { start, f->sbuf_len, 0, 0 };
	uint8_t *tail = f->sbuf;
	size_t n = f->sbuf_len;
	int rc = vf_pipeline_drain(f);

	if (rc)
		return rc;
	f->streaming = 0;
	rc = ext_push(&f->ext, &f->n_ext, &f->ext_cap, &hole);
	if (!rc && n)
		rc = write_blocks(v, f, start, tail, n);
	f->sbuf_len = 0;
	release_sbuf(v, f);
	return rc;
}

/* ---- dirty blocks ---------------------------------------------------- */

static int blk_insert(struct vf_file *f, uint64_t idx, uint64_t slot)
{
	size_t at;

	if (f->n_blk == f->blk_cap) {
		size_t cap = f->blk_cap ? f->blk_cap * 2 : 16;
		struct vf_block *p = realloc(f->blk, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		f->blk = p;
		f->blk_cap = cap;
	}
	at = blk_lower(f, idx);
	memmove(&f->blk[at + 1], &f->blk[at], (f->n_blk - at) * sizeof(*f->blk));
	f->blk[at].idx = idx;
	f->blk[at].slot = slot;
	f->n_blk++;
	return 0;
}

/* Extends the extents with a hole up to end (the new size). */
static int extend_to(struct vf_file *f, uint64_t end)
{
	struct vf_ext hole = { f->size, end - f->size, 0, 0 };
	int rc;

	if (end <= f->size)
		return 0;
	rc = ext_push(&f->ext, &f->n_ext, &f->ext_cap, &hole);
	if (!rc)
		f->size = end;
	return rc;
}

/* Writes through dirty blocks (not streaming; extents loaded). */
static int write_blocks(struct vf_vault *v, struct vf_file *f, uint64_t off,
			const uint8_t *buf, size_t len)
{
	uint8_t *blk;
	int rc = 0;

	blk = malloc(VF_SPOOL_BLOCK);
	if (!blk)
		return -ENOMEM;
	rc = extend_to(f, off + len);
	while (!rc && len) {
		uint64_t idx = off / VF_SPOOL_BLOCK, bstart = idx * VF_SPOOL_BLOCK;
		size_t at = (size_t)(off - bstart), n = VF_SPOOL_BLOCK - at;
		struct vf_block *b = blk_find(f, idx);
		uint64_t slot;

		if (n > len)
			n = len;
		if (b) {
			slot = b->slot;
			if (n < VF_SPOOL_BLOCK)
				rc = vf_spool_read(v, slot, blk);
		} else {
			size_t have = 0;

			memset(blk, 0, VF_SPOOL_BLOCK);
			if (n < VF_SPOOL_BLOCK && bstart < f->size) {
				have = (size_t)(f->size - bstart);
				if (have > VF_SPOOL_BLOCK)
					have = VF_SPOOL_BLOCK;
				rc = read_extents(v, f, bstart, blk, have);
			}
			if (!rc)
				rc = vf_spool_alloc(v, &slot);
		}
		if (rc)
			break;
		memcpy(blk + at, buf, n);
		rc = vf_spool_write(v, slot, blk);
		if (!rc && !b) {
			rc = blk_insert(f, idx, slot);
			if (rc)
				vf_spool_free_slot(v, slot);
		}
		off += n;
		buf += n;
		len -= n;
	}
	free(blk);
	return rc;
}

/* Enters a dirty session (f->mu held).  v->n_dirty counts the files in
 * one, under v->mu: gc frees chunk rows and moves packs only while it is
 * 0, since such a file may hold chunk ids the catalog does not reference
 * yet (dedup hits) and chunks in packs no commit has named.  A write
 * enters before it stores anything, so gc holding v->mu with n_dirty 0
 * knows no store can start under it. */
void vf_file_dirty_enter(struct vf_vault *v, struct vf_file *f)
{
	if (f->dirty)
		return;
	vf_vault_lock(v);
	v->n_dirty++;
	f->dirty = 1;
	vf_vault_unlock(v);
}

/* Starts or continues a dirty session.  When the kernel keeps the file
 * times itself (writeback caching), it sends them in a setattr before
 * the close, in whatever order relative to the writes; a write must not
 * overwrite them with the daemon's clock. */
void vf_file_mark_dirty(struct vf_vault *v, struct vf_file *f)
{
	vf_file_dirty_enter(v, f);
	if (!v->kernel_times)
		f->mtime = f->ctime = vf_vault_stamp(v);
}

int vf_file_truncate(struct vf_vault *v, struct vf_file *f, uint64_t size)
{
	uint8_t *blk = NULL;
	size_t i;
	int rc;

	rc = vf_file_load(v, f);
	if (!rc)
		rc = vf_pipeline_drain(f);
	if (!rc && f->streaming)
		rc = stop_streaming(v, f);
	if (rc)
		return rc;
	if (size >= f->size) {
		rc = extend_to(f, size);
		if (!rc)
			vf_file_mark_dirty(v, f);
		return rc;
	}
	/* Cut the extents at size. */
	i = ext_find(f, size);
	if (i < f->n_ext) {
		f->ext[i].len = size - f->ext[i].off;
		f->n_ext = f->ext[i].len ? i + 1 : i;
	}
	/* Drop dirty blocks past size; zero the tail of the last one. */
	while (f->n_blk &&
	       f->blk[f->n_blk - 1].idx * VF_SPOOL_BLOCK >= size) {
		vf_spool_free_slot(v, f->blk[f->n_blk - 1].slot);
		f->n_blk--;
	}
	if (f->n_blk && size % VF_SPOOL_BLOCK &&
	    f->blk[f->n_blk - 1].idx == size / VF_SPOOL_BLOCK) {
		blk = malloc(VF_SPOOL_BLOCK);
		if (!blk)
			return -ENOMEM;
		rc = vf_spool_read(v, f->blk[f->n_blk - 1].slot, blk);
		if (!rc) {
			memset(blk + size % VF_SPOOL_BLOCK, 0,
			       VF_SPOOL_BLOCK - size % VF_SPOOL_BLOCK);
			rc = vf_spool_write(v, f->blk[f->n_blk - 1].slot, blk);
		}
		free(blk);
		if (rc)
			return rc;
	}
	f->size = size;
	vf_file_mark_dirty(v, f);
	return 0;
}

/* ---- commit -------------------------------------------------------------- */

/* Re-chunks the dirty region into a new extent list (see the top of the
 * file).  f->mu held. */
static int rechunk(struct vf_vault *v, struct vf_file *f)
{
	struct vf_ext *nx = NULL;
	size_t nn = 0, ncap = 0, i, j;
	uint64_t pos, first = f->blk[0].idx * VF_SPOOL_BLOCK;
	uint8_t *buf = NULL;
	int rc = 0;

	buf = malloc(VF_SPOOL_BLOCK);
	if (!buf)
		return -ENOMEM;
	i = ext_find(f, first);
	if (i == f->n_ext) { /* dirty data only past the extents: none */
		free(buf);
		return -EIO;
	}
	for (j = 0; j < i && !rc; j++)
		rc = push_locked(f, &nx, &nn, &ncap, &f->ext[j]);
	/* Start at the extent's start (a previous cut point), or inside a
	 * hole at the dirty block. */
	if (f->ext[i].chunk == 0 && first > f->ext[i].off) {
		struct vf_ext h = { f->ext[i].off, first - f->ext[i].off, 0, 0 };

		pos = first;
		if (!rc)
			rc = push_locked(f, &nx, &nn, &ncap, &h);
	} else {
		pos = f->ext[i].off;
	}
	vf_chunker_init(&f->ck, v->gear, 0, 0, 0);
	f->sbuf_len = 0;
	j = i;
	while (!rc && pos < f->size) {
		size_t n;

		while (j < f->n_ext && f->ext[j].off + f->ext[j].len <= pos)
			j++;
		if (f->sbuf_len == 0 && j < f->n_ext) {
			const struct vf_ext *e = &f->ext[j];
			uint64_t end = e->off + e->len;
			struct vf_block *b = blk_next(f, pos / VF_SPOOL_BLOCK);
			int clean = !b || b->idx * VF_SPOOL_BLOCK >= end;

			/* Resync: a cut on an old boundary with clean data
			 * behind it; holes can be entered anywhere. */
			if (clean && (e->off == pos || e->chunk == 0)) {
				struct vf_ext c = *e;

				if (e->off < pos) {
					c.len -= pos - e->off;
					c.coff += (uint32_t)(pos - e->off);
					c.off = pos;
				}
				rc = push_locked(f, &nx, &nn, &ncap, &c);
				pos = end;
				continue;
			}
		}
		n = VF_SPOOL_BLOCK - (size_t)(pos % VF_SPOOL_BLOCK);
		if (n > f->size - pos)
			n = (size_t)(f->size - pos);
		rc = vread(v, f, pos, buf, n);
		if (!rc) {
			uint64_t p = pos;

			rc = feed(v, f, &nx, &nn, &ncap, &p, buf, n);
			pos = p;
		}
	}
	if (!rc)
		rc = feed_end(v, f, &nx, &nn, &ncap, pos);
	/* Workers write into nx: wait for them before it moves or goes. */
	{
		int r = vf_pipeline_drain(f);

		if (!rc)
			rc = r;
	}
	if (f->sbuf)
		release_sbuf(v, f);
	free(buf);
	if (rc) {
		free(nx);
		return rc;
	}
	for (i = 0; i < f->n_blk; i++)
		vf_spool_free_slot(v, f->blk[i].slot);
	f->n_blk = 0;
	free(f->ext);
	f->ext = nx;
	f->n_ext = nn;
	f->ext_cap = ncap;
	return 0;
}

/* Inserts this file's pending chunks (and their packs) into the catalog
 * (v->mu held, inside the commit transaction). */
static int insert_pending(struct vf_vault *v, struct vf_file *f)
{
	char last[VF_PACK_NAME_LEN + 1] = "";
	int64_t pack_id = 0;
	sqlite3_stmt *st;
	size_t i;
	int rc;

	for (i = 0; i < f->n_pend; i++) {
		struct vf_pending *p = &f->pend[i];

		if (p->row)
			continue;
		if (strcmp(last, p->loc.pack)) {
			rc = vf_catalog_pack_id(v->cat, p->loc.pack,
						p->loc.epoch, &pack_id);
			if (rc)
				return rc;
			snprintf(last, sizeof(last), "%s", p->loc.pack);
		}
		st = vf_catalog_stmt(v->cat, VF_Q_CHUNK_INSERT);
		if (!st)
			return -EIO;
		sqlite3_bind_blob(st, 1, p->cid, VF_CHUNK_ID_BYTES,
				  SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, pack_id);
		sqlite3_bind_int64(st, 3, (int64_t)p->loc.off);
		sqlite3_bind_int64(st, 4, p->loc.len);
		sqlite3_bind_int64(st, 5, p->rlen);
		rc = vf_catalog_run(st);
		if (rc)
			return rc;
		/* Another file may have inserted the same content first. */
		st = vf_catalog_stmt(v->cat, VF_Q_CHUNK_BY_CID);
		sqlite3_bind_blob(st, 1, p->cid, VF_CHUNK_ID_BYTES,
				  SQLITE_STATIC);
		rc = vf_catalog_row(st);
		if (rc == 1)
			p->row = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
		if (rc != 1)
			return rc < 0 ? rc : -EIO;
	}
	return 0;
}

static int64_t ext_row(const struct vf_file *f, int64_t ref)
{
	return ref >= 0 ? ref : f->pend[-ref - 1].row;
}

static int write_version(struct vf_vault *v, struct vf_file *f, int64_t now,
			 int64_t *version)
{
	sqlite3_stmt *st, *node;
	size_t i;
	int rc;

	rc = insert_pending(v, f);
	if (rc)
		return rc;
	node = vf_catalog_stmt(v->cat, VF_Q_NODE_GET);
	if (!node)
		return -EIO;
	sqlite3_bind_int64(node, 1, (int64_t)f->ino);
	if (vf_catalog_row(node) != 1) {
		sqlite3_reset(node);
		return -ENOENT;
	}
	st = vf_catalog_stmt(v->cat, VF_Q_VERSION_INSERT);
	if (!st) {
		sqlite3_reset(node);
		return -EIO;
	}
	if (!f->meta_dirty) {
		struct vf_attr a;

		vf_ns_attr_from_row(node, 0, f->ino, &a);
		f->mode = a.mode;
		f->uid = a.uid;
		f->gid = a.gid;
		f->atime = a.atime;
	}
	sqlite3_reset(node);
	sqlite3_bind_int64(st, 1, (int64_t)f->ino);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int64(st, 3, (int64_t)f->size);
	sqlite3_bind_int64(st, 4, f->mode);
	sqlite3_bind_int64(st, 5, f->uid);
	sqlite3_bind_int64(st, 6, f->gid);
	sqlite3_bind_int64(st, 7, f->mtime);
	rc = vf_catalog_run(st);
	if (rc)
		return rc;
	if (f->meta_dirty) {
		st = vf_catalog_stmt(v->cat, VF_Q_NODE_SETATTR);
		if (!st)
			return -EIO;
		sqlite3_bind_int64(st, 1, (int64_t)f->ino);
		sqlite3_bind_int64(st, 2, f->mode);
		sqlite3_bind_int64(st, 3, f->uid);
		sqlite3_bind_int64(st, 4, f->gid);
		sqlite3_bind_int64(st, 5, f->atime);
		sqlite3_bind_int64(st, 6, f->mtime);
		sqlite3_bind_int64(st, 7, f->ctime);
		rc = vf_catalog_run(st);
		if (rc)
			return rc;
	}
	*version = sqlite3_last_insert_rowid(v->cat->db);
	for (i = 0; i < f->n_ext; i++) {
		const struct vf_ext *e = &f->ext[i];

		st = vf_catalog_stmt(v->cat, VF_Q_EXTENT_INSERT);
		if (!st)
			return -EIO;
		sqlite3_bind_int64(st, 1, *version);
		sqlite3_bind_int64(st, 2, (int64_t)e->off);
		sqlite3_bind_int64(st, 3, (int64_t)e->len);
		if (e->chunk)
			sqlite3_bind_int64(st, 4, ext_row(f, e->chunk));
		else
			sqlite3_bind_null(st, 4);
		sqlite3_bind_int64(st, 5, e->coff);
		rc = vf_catalog_run(st);
		if (rc)
			return rc;
	}
	st = vf_catalog_stmt(v->cat, VF_Q_NODE_SET_VERSION);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, (int64_t)f->ino);
	sqlite3_bind_int64(st, 2, *version);
	sqlite3_bind_int64(st, 3, (int64_t)f->size);
	sqlite3_bind_int64(st, 4, f->mtime);
	sqlite3_bind_int64(st, 5, f->ctime);
	return vf_catalog_run(st);
}

static int commit(struct vf_vault *v, struct vf_file *f, int durable)
{
	int64_t version = 0;
	size_t i;
	int rc;

	if (!f->dirty)
		return durable ? vf_pack_writer_sync(v->pw) : 0;
	rc = vf_file_load(v, f);
	if (!rc && f->streaming) {
		uint64_t pos = f->stream_end;

		rc = feed_end(v, f, &f->ext, &f->n_ext, &f->ext_cap, pos);
		if (!rc) {
			f->streaming = 0;
			release_sbuf(v, f);
		}
	}
	if (!rc && f->n_blk)
		rc = rechunk(v, f);
	if (!rc)
		rc = vf_pipeline_drain(f);
	/* Packs reach the disk before the catalog names them. */
	if (!rc && durable)
		rc = vf_pack_writer_sync(v->pw);
	if (rc)
		return rc;
	vf_vault_lock(v);
	rc = vf_catalog_begin(v->cat);
	if (!rc && f->defer_commit && !durable)
		vf_catalog_defer(v->cat);
	if (!rc)
		rc = vf_catalog_finish(
		    v->cat, write_version(v, f, vf_vault_stamp(v), &version));
	if (!rc && durable)
		rc = vf_catalog_sync(v->cat);
	if (!rc) {
		/* Every chunk it holds is referenced by the catalog now. */
		f->dirty = 0;
		v->n_dirty--;
	}
	vf_vault_unlock(v);
	if (rc) {
		for (i = 0; i < f->n_pend; i++)
			f->pend[i].row = 0;
		return rc;
	}
	for (i = 0; i < f->n_ext; i++)
		if (f->ext[i].chunk < 0)
			f->ext[i].chunk = ext_row(f, f->ext[i].chunk);
	f->n_pend = 0;
	f->version = version;
	f->meta_dirty = 0;
	return 0;
}

int vf_file_commit(struct vf_vault *v, struct vf_file *f)
{
	return commit(v, f, 0);
}

int vf_file_sync(struct vf_vault *v, struct vf_file *f, int durable)
{
	return commit(v, f, durable);
}

/* ---- reads and writes (f->mu held) ------------------------------------- */

/* Read-ahead: a read asks the workers to decrypt the PREFETCH_AHEAD
 * chunks after the one it ended in, so pack I/O and decryption run on the
 * other core while the kernel copies this read out; one chunk ahead was
 * not enough for the reader to find the next chunk ready (docs/
 * performance.md, "Streaming one big file").  Never waits for room in the
 * pipeline (f->mu held). */
#define PREFETCH_AHEAD 3

static void prefetch_next(struct vf_vault *v, struct vf_file *f, uint64_t end)
{
	size_t i, k;
	int64_t next;

	if (f->n_blk || f->streaming || end == 0 || end >= f->size)
		return;
	/* the extents after the one the read ended in */
	i = ext_find(f, end - 1) + 1;
	for (k = i; k < f->n_ext && k < i + PREFETCH_AHEAD; k++) {
		next = f->ext[k].chunk;
		if (next <= 0 || next == f->prefetched)
			continue;
		if (vf_cache_has(v, next))
			continue;
		if (vf_pipeline_prefetch(v, next))
			return;
		f->prefetched = next;
	}
}

ssize_t vf_file_read(struct vf_vault *v, struct vf_file *f, uint64_t off,
		     void *buf, size_t size)
{
	ssize_t rc;

	rc = vf_file_load(v, f);
	if (rc)
		return rc;
	if (off >= f->size)
		return 0;
	if (size > f->size - off)
		size = (size_t)(f->size - off);
	rc = vread(v, f, off, buf, size);
	if (rc)
		return rc;
	prefetch_next(v, f, off + size);
	return (ssize_t)size;
}

int vf_file_write(struct vf_vault *v, struct vf_file *f, uint64_t off,
		  const void *buf, size_t size)
{
	int rc = 0;

	/* Before the first chunk is stored (see vf_file_dirty_enter). */
	vf_file_dirty_enter(v, f);
	if (!f->streaming && f->size == 0 && off == 0 && f->n_blk == 0) {
		/* An empty file written from the start: stream it. */
		f->n_ext = 0;
		f->streaming = 1;
		f->stream_end = 0;
		f->sbuf_len = 0;
		vf_chunker_init(&f->ck, v->gear, 0, 0, 0);
	}
	if (f->streaming && off == f->stream_end) {
		uint64_t pos = f->stream_end;

		rc = feed(v, f, &f->ext, &f->n_ext, &f->ext_cap, &pos, buf,
			  size);
		if (rc == -ENOBUFS) {
			/* Over the stream budget: fall back to the spool
			 * for the rest of this session. */
			uint64_t done = pos - f->stream_end;

			f->stream_end = pos;
			if (pos > f->size)
				f->size = pos;
			rc = stop_streaming(v, f);
			if (!rc)
				rc = write_blocks(v, f, off + done,
						  (const uint8_t *)buf + done,
						  size - (size_t)done);
		} else {
			f->stream_end = pos;
			if (pos > f->size)
				f->size = pos;
		}
	} else {
		if (f->streaming) {
			f->size = f->stream_end;
			rc = stop_streaming(v, f);
		}
		if (!rc)
			rc = write_blocks(v, f, off, buf, size);
	}
	if (!rc)
		vf_file_mark_dirty(v, f);
	return rc;
}

int vf_file_fallocate(struct vf_vault *v, struct vf_file *f, int mode,
		      uint64_t off, uint64_t len)
{
	uint8_t *zero = NULL;
	int rc = 0;

	if (mode == 0) {
		/* No space is reserved in a deduplicating store; the size
		 * grows as posix_fallocate promises. */
		if (off + len > f->size)
			rc = vf_file_truncate(v, f, off + len);
	} else if (mode == FALLOC_FL_KEEP_SIZE) {
		rc = 0;
	} else if (mode == (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)) {
		if (off >= f->size)
			goto out;
		if (len > f->size - off)
			len = f->size - off;
		if (f->streaming) {
			f->size = f->stream_end;
			rc = stop_streaming(v, f);
		}
		zero = calloc(1, VF_SPOOL_BLOCK);
		if (!zero)
			rc = -ENOMEM;
		while (!rc && len) {
			size_t n = len > VF_SPOOL_BLOCK ? VF_SPOOL_BLOCK :
							  (size_t)len;

			rc = write_blocks(v, f, off, zero, n);
			off += n;
			len -= n;
		}
		if (!rc)
			vf_file_mark_dirty(v, f);
	} else {
		rc = -EOPNOTSUPP;
	}
out:
	free(zero);
	return rc;
}
