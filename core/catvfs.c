/*
 * catvfs.c - SQLite VFS shim sealing catalog pages (layout in catvfs.h).
 *
 * Each registered VFS forwards everything to the default VFS and wraps the
 * files it opens.  Main database: reads fetch the whole enclosing 4096-byte
 * page(s), open them and copy the slice asked for; writes must be whole
 * aligned pages whose reserved tail is zero (that tail holds the nonce and
 * tag on disk).  WAL: the 32-byte header and the 24-byte frame headers pass
 * through, page images are sealed with their frame index as associated
 * data.  Journals and temporary files are refused (SQLITE_CANTOPEN): the
 * catalog runs in WAL mode with temp_store=MEMORY, so SQLite never needs
 * them, and a plaintext journal would leak pages.
 *
 * Pages that read as all zeros (a sparse region or past the end of file)
 * pass through as zeros, as the base VFS returns them.  A WAL frame that
 * fails authentication while SQLite reads it together with its frame
 * header (WAL recovery) is returned as zeros, so SQLite's frame checksum
 * rejects it and recovery stops there, as it does for a torn frame at the
 * tail of the log after a crash; any other authentication failure is
 * SQLITE_IOERR_DATA.
 *
 * The file methods are version 2: without xFetch SQLite never memory-maps
 * the database, so every page goes through xRead.
 *
 * Epoch.  After vf_catvfs_set_epoch(name, e) with e non-zero, WAL page
 * images are sealed and opened with associated data "wal" || le64(i) ||
 * le64(e): the catalog sets e to the epoch of its last anchor (catalog.c,
 * anchor.h) only while the WAL is empty, so a WAL from before an anchor
 * (copied back with an older database) fails authentication and is
 * treated as a torn log: SQLite ignores it.  e = 0 keeps the format that
 * catalogs had before anchors.
 *
 * Nonces.  Each open file draws a random 16-byte prefix at xOpen (one
 * getrandom) and seals with nonce = prefix || le64(counter), the counter
 * counting the file's seals.  XChaCha20-Poly1305 takes a 192-bit nonce, so
 * this is as safe as a fresh random nonce per page: within one open file
 * the counter never repeats, and two opens (or the database and its WAL,
 * which share the key) collide only if their 128-bit random prefixes do,
 * which for 2^32 opens has probability about 2^-65.  Should the counter
 * ever wrap, a new prefix is drawn.  The counter is a plain uint64_t: a
 * file object belongs to one connection, and SQLite never runs two methods
 * of one file object at once (the connection's mutex, or with
 * SQLITE_OPEN_NOMUTEX the application's one-thread-at-a-time use of the
 * connection, serialises them), the same guarantee the ct/pt scratch pages
 * already rely on.  A file object must not be used on both sides of a
 * fork(), which SQLite forbids anyway.
 *
 * WAL write coalescing.  SQLite appends a frame as two writes (24-byte
 * header, then the page) and the WAL header as a third; on a slow-syscall
 * machine that dominates a small transaction.  The WAL file therefore
 * collects consecutive contiguous writes (headers as given, page images
 * already sealed) in a buffer of WBUF_MAX bytes (just under 128 KiB, the
 * most the unix VFS writes in one call) and hands it to the base VFS as
 * one xWrite when
 *   - the page image of a frame whose header marks a commit (bytes 4..7,
 *     the database size after commit, non-zero) has been added: that is
 *     inside the xWrite of the commit frame's page, so when SQLite's COMMIT
 *     returns the whole transaction is in the OS and a process killed right
 *     after it loses nothing;
 *   - a commit frame header is written that does not continue the last
 *     write: walRewriteChecksums rewrites headers after the commit frame
 *     was appended, and no page image follows the commit frame's, so it
 *     is flushed at once (an append after a rolled-back transaction also
 *     looks like this and costs one extra write);
 *   - a write does not start where the buffer ends, or would overflow it;
 *   - before xRead, xSync, xTruncate, xFileSize, xFileControl and xClose of
 *     the WAL, and before xShm* calls of its database file (other
 *     connections learn of frames through the shared-memory index).
 * A failed flush discards the buffer and its error (SQLITE_IOERR_WRITE,
 * SQLITE_FULL, ... as the base VFS reports it) is returned by the call that
 * triggered it.  Only frames of a transaction not yet committed can be
 * waiting in the buffer, so a crash loses nothing SQLite reported as
 * committed.  The main database file is written through directly.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "catvfs.h"

#define PAGE VF_CATVFS_PAGE
#define BODY (PAGE - VF_CATVFS_RESERVE)
#define NONCE_OFF BODY
#define TAG_OFF (BODY + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
#define WAL_HDR 32
#define WAL_FRAME_HDR 24
#define WAL_FRAME (WAL_FRAME_HDR + PAGE)
#define NONCE_PREFIX 16
/* SQLite's unix VFS silently masks a write's length to 17 bits
 * (seekAndWrite: nBuf &= 0x1ffff), so one base xWrite must stay below
 * 128 KiB: 31 whole frames and the WAL header fit. */
#define WBUF_MAX (128 * 1024 - 1)

_Static_assert(NONCE_PREFIX + 8 == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
	       "nonce = 16-byte prefix || 64-bit counter");

struct cvfs {
	sqlite3_vfs base; /* first: SQLite hands us this pointer */
	sqlite3_vfs *real;
	uint8_t *key;     /* sodium_malloc'd */
	char *name;
	uint64_t epoch;   /* WAL generation (vf_catvfs_set_epoch); 0 none */
	/* Bytes of page images sealed, WAL and main database apart
	 * (vf_catvfs_sealed); added with __atomic_add_fetch. */
	uint64_t sealed[2];
};

enum cfile_kind { CF_DB, CF_WAL };

struct cfile {
	sqlite3_file base; /* first */
	struct cvfs *vfs;
	sqlite3_file *real; /* follows this struct in the same allocation */
	enum cfile_kind kind;
	/* Nonces (see top): prefix || le64(ctr). */
	uint8_t nonce_prefix[NONCE_PREFIX];
	uint64_t nonce_ctr;
	/* Main database: its open WAL, if any; WAL: its database. */
	struct cfile *wal;
	struct cfile *db;
	/* WAL only: wlen buffered bytes belonging at file offset wofs. */
	uint8_t *wbuf;      /* sqlite3_malloc'd, WBUF_MAX bytes */
	size_t wlen;
	sqlite3_int64 wofs;
	sqlite3_int64 wend; /* end of the last write to the WAL, or -1 */
	uint64_t commit_frame; /* 1 + frame awaiting its commit page; 0 none */
	uint8_t ct[PAGE];
	uint8_t pt[PAGE];
};

/* ---- sealing --------------------------------------------------------- */

static size_t make_ad(uint8_t ad[19], const struct cfile *f, uint64_t n)
{
	size_t len, i;

	if (f->kind == CF_DB) {
		memcpy(ad, "db", 2);
		len = 2;
	} else {
		memcpy(ad, "wal", 3);
		len = 3;
	}
	for (i = 0; i < 8; i++)
		ad[len + i] = (uint8_t)(n >> (8 * i));
	len += 8;
	/* A WAL written after an anchor is bound to its epoch. */
	if (f->kind == CF_WAL && f->vfs->epoch) {
		for (i = 0; i < 8; i++)
			ad[len + i] = (uint8_t)(f->vfs->epoch >> (8 * i));
		len += 8;
	}
	return len;
}

/* Writes the next nonce of f (see top) to out. */
static void next_nonce(struct cfile *f, uint8_t *out)
{
	uint64_t c = f->nonce_ctr++;
	int i;

	if (f->nonce_ctr == 0) /* wrapped: never reuse a prefix/counter pair */
		randombytes_buf(f->nonce_prefix, NONCE_PREFIX);
	memcpy(out, f->nonce_prefix, NONCE_PREFIX);
	for (i = 0; i < 8; i++)
		out[NONCE_PREFIX + i] = (uint8_t)(c >> (8 * i));
}

static void seal_page(struct cfile *f, uint64_t n, const uint8_t *pt,
		      uint8_t *ct)
{
	uint8_t ad[19];
	size_t adlen = make_ad(ad, f, n);

	next_nonce(f, ct + NONCE_OFF);
	crypto_aead_xchacha20poly1305_ietf_encrypt_detached(
		ct, ct + TAG_OFF, NULL, pt, BODY, ad, adlen, NULL,
		ct + NONCE_OFF, f->vfs->key);
	__atomic_add_fetch(&f->vfs->sealed[f->kind == CF_WAL], PAGE,
			   __ATOMIC_RELAXED);
}

/* Opens ct (a whole sealed page) into pt; pt's reserved tail is zeroed.
 * Returns 0 or -EBADMSG (pt then holds no plaintext). */
static int open_page(const struct cfile *f, uint64_t n, const uint8_t *ct,
		     uint8_t *pt)
{
	uint8_t ad[19];
	size_t adlen = make_ad(ad, f, n);

	if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
		    pt, NULL, ct, BODY, ct + TAG_OFF, ad, adlen,
		    ct + NONCE_OFF, f->vfs->key) != 0) {
		sodium_memzero(pt, PAGE);
		return -EBADMSG;
	}
	memset(pt + BODY, 0, VF_CATVFS_RESERVE);
	return 0;
}

/*
 * Reads the sealed page at byte offset off (number n for the associated
 * data) into f->pt.  *short_read is set when the base VFS hit end of file.
 * Returns SQLITE_OK, SQLITE_IOERR_DATA on an authentication failure, or the
 * base VFS error.
 */
static int read_page(struct cfile *f, sqlite3_int64 off, uint64_t n,
		     int *short_read)
{
	int rc;

	rc = f->real->pMethods->xRead(f->real, f->ct, PAGE, off);
	if (rc == SQLITE_IOERR_SHORT_READ)
		*short_read = 1;
	else if (rc != SQLITE_OK)
		return rc;
	if (sodium_is_zero(f->ct, PAGE)) {
		memset(f->pt, 0, PAGE);
		return SQLITE_OK;
	}
	if (open_page(f, n, f->ct, f->pt))
		return SQLITE_IOERR_DATA;
	return SQLITE_OK;
}

/* ---- main database --------------------------------------------------- */

static int db_read(struct cfile *f, uint8_t *out, int amt, sqlite3_int64 ofs)
{
	sqlite3_int64 end = ofs + amt, pos = ofs;
	int short_read = 0, rc;

	while (pos < end) {
		sqlite3_int64 pg = pos / PAGE, pstart = pg * PAGE;
		sqlite3_int64 stop = pstart + PAGE < end ? pstart + PAGE : end;

		rc = read_page(f, pstart, (uint64_t)pg, &short_read);
		if (rc)
			return rc;
		memcpy(out + (pos - ofs), f->pt + (pos - pstart),
		       (size_t)(stop - pos));
		pos = stop;
	}
	return short_read ? SQLITE_IOERR_SHORT_READ : SQLITE_OK;
}

static int db_write(struct cfile *f, const uint8_t *in, int amt,
		    sqlite3_int64 ofs)
{
	int i, rc;

	if (amt <= 0 || ofs % PAGE || amt % PAGE)
		return SQLITE_IOERR_WRITE;
	for (i = 0; i < amt / PAGE; i++) {
		const uint8_t *pt = in + (size_t)i * PAGE;
		sqlite3_int64 off = ofs + (sqlite3_int64)i * PAGE;

		/* The reserve must be free: the nonce and tag go there. */
		if (!sodium_is_zero(pt + BODY, VF_CATVFS_RESERVE))
			return SQLITE_IOERR_WRITE;
		seal_page(f, (uint64_t)(off / PAGE), pt, f->ct);
		rc = f->real->pMethods->xWrite(f->real, f->ct, PAGE, off);
		if (rc)
			return rc;
	}
	return SQLITE_OK;
}

/* ---- WAL ------------------------------------------------------------- */

/* Classifies pos: returns 1 when it lies in frame *frame's page image
 * (starting at *start), 0 in a header (ending at *start). */
static int wal_locate(sqlite3_int64 pos, uint64_t *frame,
		      sqlite3_int64 *start)
{
	sqlite3_int64 rel, i, fstart;

	if (pos < WAL_HDR) {
		*start = WAL_HDR;
		return 0;
	}
	rel = pos - WAL_HDR;
	i = rel / WAL_FRAME;
	fstart = WAL_HDR + i * WAL_FRAME;
	*frame = (uint64_t)i;
	if (rel % WAL_FRAME < WAL_FRAME_HDR) {
		*start = fstart + WAL_FRAME_HDR;
		return 0;
	}
	*start = fstart + WAL_FRAME_HDR;
	return 1;
}

static int wal_read(struct cfile *f, uint8_t *out, int amt, sqlite3_int64 ofs)
{
	sqlite3_int64 end = ofs + amt, pos = ofs, start, stop;
	int short_read = 0, with_header, rc;
	uint64_t frame = 0;

	while (pos < end) {
		if (!wal_locate(pos, &frame, &start)) {
			/* Header bytes pass through. */
			stop = start < end ? start : end;
			rc = f->real->pMethods->xRead(f->real, out + (pos - ofs),
						      (int)(stop - pos), pos);
			if (rc == SQLITE_IOERR_SHORT_READ)
				short_read = 1;
			else if (rc)
				return rc;
			pos = stop;
			continue;
		}
		stop = start + PAGE < end ? start + PAGE : end;
		/* Recovery reads a frame header together with its page. */
		with_header = ofs <= start - WAL_FRAME_HDR;
		rc = read_page(f, start, frame, &short_read);
		if (rc == SQLITE_IOERR_DATA && with_header) {
			/* Let SQLite's checksum reject the frame. */
			memset(f->pt, 0, PAGE);
			rc = SQLITE_OK;
		}
		if (rc)
			return rc;
		memcpy(out + (pos - ofs), f->pt + (pos - start),
		       (size_t)(stop - pos));
		pos = stop;
	}
	return short_read ? SQLITE_IOERR_SHORT_READ : SQLITE_OK;
}

/* Hands the buffered WAL bytes to the base VFS as one write.  The buffer
 * is empty afterwards whether or not the write succeeded. */
static int wal_flush(struct cfile *f)
{
	size_t n = f->wlen;

	if (!n)
		return SQLITE_OK;
	f->wlen = 0;
	return f->real->pMethods->xWrite(f->real, f->wbuf, (int)n, f->wofs);
}

/*
 * Makes room for n bytes belonging at file offset pos at the end of the
 * buffer, flushing first if pos does not continue the buffer or the bytes
 * would not fit.  *dst is where the caller puts them, or NULL when no
 * buffer could be had: the caller then writes them through (the buffer is
 * empty then, so order is kept).  Returns SQLITE_OK or a flush error.
 */
static int wal_room(struct cfile *f, sqlite3_int64 pos, size_t n,
		    uint8_t **dst)
{
	int rc;

	*dst = NULL;
	if (f->wlen && (pos != f->wofs + (sqlite3_int64)f->wlen ||
			f->wlen + n > WBUF_MAX)) {
		rc = wal_flush(f);
		if (rc)
			return rc;
	}
	if (!f->wbuf) {
		f->wbuf = sqlite3_malloc(WBUF_MAX);
		if (!f->wbuf)
			return SQLITE_OK; /* write through; try again later */
	}
	if (!f->wlen)
		f->wofs = pos;
	*dst = f->wbuf + f->wlen;
	f->wlen += n;
	return SQLITE_OK;
}

/* Buffers (or, without a buffer, writes) the header bytes [pos, pos+n). */
static int wal_put(struct cfile *f, const uint8_t *src, size_t n,
		   sqlite3_int64 pos)
{
	uint8_t *dst;
	int rc;

	rc = wal_room(f, pos, n, &dst);
	if (rc)
		return rc;
	if (!dst)
		return f->real->pMethods->xWrite(f->real, src, (int)n, pos);
	memcpy(dst, src, n);
	return SQLITE_OK;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static int wal_write(struct cfile *f, const uint8_t *in, int amt,
		     sqlite3_int64 ofs)
{
	sqlite3_int64 end = ofs + amt, pos = ofs, start, stop, fstart;
	uint64_t frame = 0;
	uint8_t *dst;
	int rc, flush_now = 0;

	while (pos < end) {
		if (!wal_locate(pos, &frame, &start)) {
			stop = start < end ? start : end;
			fstart = start - WAL_FRAME_HDR;
			if (pos >= WAL_HDR && pos <= fstart + 4 &&
			    stop >= fstart + 8) {
				/* Bytes 4..7: database size after a commit.
				 * Its page image follows when the frame is
				 * appended; walRewriteChecksums rewrites the
				 * header alone, after reads, never where the
				 * last write ended: flush that at once (a
				 * false alarm costs one write, nothing more). */
				if (!be32(in + (fstart + 4 - ofs))) {
					f->commit_frame = 0;
				} else {
					f->commit_frame = frame + 1;
					if (pos != f->wend)
						flush_now = 1;
				}
			}
			rc = wal_put(f, in + (pos - ofs), (size_t)(stop - pos),
				     pos);
			if (rc)
				return rc;
			pos = stop;
			f->wend = pos;
			continue;
		}
		/* Page images are written whole. */
		if (pos != start || end - pos < PAGE)
			return SQLITE_IOERR_WRITE;
		if (!sodium_is_zero(in + (pos - ofs) + BODY, VF_CATVFS_RESERVE))
			return SQLITE_IOERR_WRITE;
		rc = wal_room(f, pos, PAGE, &dst);
		if (rc)
			return rc;
		if (dst) {
			seal_page(f, frame, in + (pos - ofs), dst);
		} else {
			seal_page(f, frame, in + (pos - ofs), f->ct);
			rc = f->real->pMethods->xWrite(f->real, f->ct, PAGE,
						       pos);
			if (rc)
				return rc;
		}
		pos = start + PAGE;
		f->wend = pos;
		if (f->commit_frame == frame + 1) {
			/* The commit frame is complete: into the OS before
			 * SQLite's COMMIT returns. */
			f->commit_frame = 0;
			flush_now = 1;
		}
	}
	return flush_now ? wal_flush(f) : SQLITE_OK;
}

/* Flushes f's buffer if f is a WAL. */
static int flush_if_wal(struct cfile *f)
{
	return f->kind == CF_WAL ? wal_flush(f) : SQLITE_OK;
}

/* ---- file methods ---------------------------------------------------- */

static int cf_close(sqlite3_file *file)
{
	struct cfile *f = (struct cfile *)file;
	int rc, rc2 = SQLITE_OK;

	rc = flush_if_wal(f);
	if (f->real->pMethods)
		rc2 = f->real->pMethods->xClose(f->real);
	if (f->kind == CF_WAL && f->db)
		f->db->wal = NULL;
	if (f->kind == CF_DB && f->wal)
		f->wal->db = NULL;
	sqlite3_free(f->wbuf);
	f->wbuf = NULL;
	f->wlen = 0;
	sodium_memzero(f->pt, sizeof(f->pt));
	return rc ? rc : rc2;
}

static int cf_read(sqlite3_file *file, void *buf, int amt, sqlite3_int64 ofs)
{
	struct cfile *f = (struct cfile *)file;

	int rc;

	if (amt <= 0 || ofs < 0)
		return SQLITE_IOERR_READ;
	if (f->kind == CF_DB)
		return db_read(f, buf, amt, ofs);
	rc = wal_flush(f);
	if (rc)
		return rc;
	return wal_read(f, buf, amt, ofs);
}

static int cf_write(sqlite3_file *file, const void *buf, int amt,
		    sqlite3_int64 ofs)
{
	struct cfile *f = (struct cfile *)file;

	if (amt <= 0 || ofs < 0)
		return SQLITE_IOERR_WRITE;
	if (f->kind == CF_DB)
		return db_write(f, buf, amt, ofs);
	return wal_write(f, buf, amt, ofs);
}

static int cf_truncate(sqlite3_file *file, sqlite3_int64 size)
{
	struct cfile *f = (struct cfile *)file;
	int rc = flush_if_wal(f);

	if (rc)
		return rc;
	return f->real->pMethods->xTruncate(f->real, size);
}

static int cf_sync(sqlite3_file *file, int flags)
{
	struct cfile *f = (struct cfile *)file;
	int rc = flush_if_wal(f);

	if (rc)
		return rc;
	return f->real->pMethods->xSync(f->real, flags);
}

static int cf_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
	struct cfile *f = (struct cfile *)file;
	int rc = flush_if_wal(f);

	if (rc)
		return rc;
	return f->real->pMethods->xFileSize(f->real, size);
}

static int cf_lock(sqlite3_file *file, int lock)
{
	struct cfile *f = (struct cfile *)file;

	return f->real->pMethods->xLock(f->real, lock);
}

static int cf_unlock(sqlite3_file *file, int lock)
{
	struct cfile *f = (struct cfile *)file;

	return f->real->pMethods->xUnlock(f->real, lock);
}

static int cf_check_reserved(sqlite3_file *file, int *out)
{
	struct cfile *f = (struct cfile *)file;

	return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int cf_file_control(sqlite3_file *file, int op, void *arg)
{
	struct cfile *f = (struct cfile *)file;
	int rc = flush_if_wal(f);

	if (rc)
		return rc;
	/* Memory mapping would bypass the shim. */
	if (op == SQLITE_FCNTL_MMAP_SIZE) {
		if (arg)
			*(sqlite3_int64 *)arg = 0;
		return SQLITE_OK;
	}
	return f->real->pMethods->xFileControl(f->real, op, arg);
}

static int cf_sector_size(sqlite3_file *file)
{
	struct cfile *f = (struct cfile *)file;

	return f->real->pMethods->xSectorSize(f->real);
}

static int cf_device_chars(sqlite3_file *file)
{
	struct cfile *f = (struct cfile *)file;

	/* Batch-atomic writes would let SQLite skip the WAL protocol's
	 * assumptions we rely on; hide them. */
	return f->real->pMethods->xDeviceCharacteristics(f->real) &
	       ~SQLITE_IOCAP_BATCH_ATOMIC;
}

/* Another connection learns of WAL frames through the shared-memory
 * index, so the WAL's buffer goes out before any xShm* call. */
static int flush_wal_of(struct cfile *f)
{
	if (f->kind == CF_DB && f->wal)
		return wal_flush(f->wal);
	return flush_if_wal(f);
}

static int cf_shm_map(sqlite3_file *file, int pg, int pgsz, int extend,
		      void volatile **pp)
{
	struct cfile *f = (struct cfile *)file;
	int rc = flush_wal_of(f);

	if (rc)
		return rc;
	return f->real->pMethods->xShmMap(f->real, pg, pgsz, extend, pp);
}

static int cf_shm_lock(sqlite3_file *file, int ofs, int n, int flags)
{
	struct cfile *f = (struct cfile *)file;
	int rc = flush_wal_of(f), rc2;

	if (rc && !(flags & SQLITE_SHM_UNLOCK))
		return rc;
	/* A lock is released even when the flush failed. */
	rc2 = f->real->pMethods->xShmLock(f->real, ofs, n, flags);
	return rc ? rc : rc2;
}

static void cf_shm_barrier(sqlite3_file *file)
{
	struct cfile *f = (struct cfile *)file;

	/* No way to report an error: a failed flush surfaces nowhere, but
	 * the frames' own commit already went out (see top). */
	(void)flush_wal_of(f);
	f->real->pMethods->xShmBarrier(f->real);
}

static int cf_shm_unmap(sqlite3_file *file, int del)
{
	struct cfile *f = (struct cfile *)file;
	int rc = flush_wal_of(f), rc2;

	rc2 = f->real->pMethods->xShmUnmap(f->real, del);
	return rc ? rc : rc2;
}

static const sqlite3_io_methods cf_methods = {
	.iVersion = 2,
	.xClose = cf_close,
	.xRead = cf_read,
	.xWrite = cf_write,
	.xTruncate = cf_truncate,
	.xSync = cf_sync,
	.xFileSize = cf_file_size,
	.xLock = cf_lock,
	.xUnlock = cf_unlock,
	.xCheckReservedLock = cf_check_reserved,
	.xFileControl = cf_file_control,
	.xSectorSize = cf_sector_size,
	.xDeviceCharacteristics = cf_device_chars,
	.xShmMap = cf_shm_map,
	.xShmLock = cf_shm_lock,
	.xShmBarrier = cf_shm_barrier,
	.xShmUnmap = cf_shm_unmap,
};

/* ---- VFS methods ----------------------------------------------------- */

static int cv_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file,
		   int flags, int *out_flags)
{
	struct cvfs *cv = (struct cvfs *)vfs;
	struct cfile *f = (struct cfile *)file;
	int rc;

	memset(f, 0, sizeof(*f));
	if (flags & SQLITE_OPEN_MAIN_DB)
		f->kind = CF_DB;
	else if (flags & SQLITE_OPEN_WAL)
		f->kind = CF_WAL;
	else
		return SQLITE_CANTOPEN; /* journals, temp files: see top */
	f->vfs = cv;
	f->real = (sqlite3_file *)(f + 1);
	f->wend = -1;
	rc = cv->real->xOpen(cv->real, name, f->real, flags, out_flags);
	if (rc != SQLITE_OK) {
		if (f->real->pMethods)
			f->real->pMethods->xClose(f->real);
		return rc;
	}
	/* The one random draw of this file (nonces: see top). */
	randombytes_buf(f->nonce_prefix, NONCE_PREFIX);
	if (f->kind == CF_WAL && name) {
		sqlite3_file *dbf = sqlite3_database_file_object(name);

		if (dbf && dbf->pMethods == &cf_methods) {
			f->db = (struct cfile *)dbf;
			f->db->wal = f;
		}
	}
	f->base.pMethods = &cf_methods;
	return SQLITE_OK;
}

static int cv_delete(sqlite3_vfs *vfs, const char *name, int sync)
{
	sqlite3_vfs *r = ((struct cvfs *)vfs)->real;

	return r->xDelete(r, name, sync);
}

static int cv_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	sqlite3_vfs *r = ((struct cvfs *)vfs)->real;

	return r->xAccess(r, name, flags, out);
}

static int cv_full_pathname(sqlite3_vfs *vfs, const char *name, int n,
			    char *out)
{
	sqlite3_vfs *r = ((struct cvfs *)vfs)->real;

	return r->xFullPathname(r, name, n, out);
}

static void *cv_dlopen(sqlite3_vfs *vfs, const char *name)
{
	sqlite3_vfs *r = ((struct cvfs *)vfs)->real;

	return r->xDlOpen(r, name);
}

static void cv_dlerror(sqlite3_vfs *vfs, int n, char *msg)
{
	sqlite3_vfs *r = ((struct cvfs *)vfs)->real;

	r->xDlError(r, n, msg);
}

static void (*cv_dlsym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
	sqlite3_vfs *r = ((struct cvfs *)vfs)->real;

	return r->xDlSym(r, h, sym);
}

static void cv_dlclose(sqlite3_vfs *vfs, void *h)
{
	sqlite3_vfs *r = ((struct cvfs *)vfs)->real;

	r->xDlClose(r, h);
}

static int cv_randomness(sqlite3_vfs *vfs, int n, char *out)
{
	sqlite3_vfs *r = ((struct cvfs *)vfs)->real;

	return r->xRandomness(r, n, out);
}

static int cv_sleep(sqlite3_vfs *vfs, int us)
{
	sqlite3_vfs *r = ((struct cvfs *)vfs)->real;

	return r->xSleep(r, us);
}

static int cv_current_time(sqlite3_vfs *vfs, double *out)
{
	sqlite3_vfs *r = ((struct cvfs *)vfs)->real;

	return r->xCurrentTime(r, out);
}

static int cv_last_error(sqlite3_vfs *vfs, int n, char *out)
{
	sqlite3_vfs *r = ((struct cvfs *)vfs)->real;

	return r->xGetLastError ? r->xGetLastError(r, n, out) : 0;
}

static int cv_current_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
	sqlite3_vfs *r = ((struct cvfs *)vfs)->real;

	return r->xCurrentTimeInt64(r, out);
}

/* ---- registration ---------------------------------------------------- */

static struct cvfs *find_ours(const char *name)
{
	sqlite3_vfs *v = sqlite3_vfs_find(name);

	if (!v || v->xOpen != cv_open)
		return NULL;
	return (struct cvfs *)v;
}

int vf_catvfs_register(const char *name, const uint8_t key[32])
{
	struct cvfs *cv = NULL;
	sqlite3_vfs *real;
	size_t len = strlen(name);
	int rc = -ENOMEM;

	if (sodium_init() < 0 || sqlite3_initialize() != SQLITE_OK)
		return -ENOMEM;
	if (sqlite3_vfs_find(name))
		return -EEXIST;
	real = sqlite3_vfs_find(NULL);
	if (!real)
		return -ENOENT;
	cv = sqlite3_malloc(sizeof(*cv));
	if (!cv)
		goto fail;
	memset(cv, 0, sizeof(*cv));
	cv->key = sodium_malloc(32);
	cv->name = sqlite3_malloc((int)len + 1);
	if (!cv->key || !cv->name)
		goto fail;
	memcpy(cv->key, key, 32);
	memcpy(cv->name, name, len + 1);
	cv->real = real;
	cv->base.iVersion = 2;
	cv->base.szOsFile = (int)sizeof(struct cfile) + real->szOsFile;
	cv->base.mxPathname = real->mxPathname;
	cv->base.zName = cv->name;
	cv->base.xOpen = cv_open;
	cv->base.xDelete = cv_delete;
	cv->base.xAccess = cv_access;
	cv->base.xFullPathname = cv_full_pathname;
	cv->base.xDlOpen = cv_dlopen;
	cv->base.xDlError = cv_dlerror;
	cv->base.xDlSym = cv_dlsym;
	cv->base.xDlClose = cv_dlclose;
	cv->base.xRandomness = cv_randomness;
	cv->base.xSleep = cv_sleep;
	cv->base.xCurrentTime = cv_current_time;
	cv->base.xGetLastError = cv_last_error;
	cv->base.xCurrentTimeInt64 = cv_current_time64;
	if (real->iVersion < 2 || !real->xCurrentTimeInt64)
		cv->base.iVersion = 1;
	if (sqlite3_vfs_register(&cv->base, 0) != SQLITE_OK)
		goto fail;
	return 0;

fail:
	if (cv) {
		if (cv->key)
			sodium_free(cv->key);
		sqlite3_free(cv->name);
		sqlite3_free(cv);
	}
	return rc;
}

int vf_catvfs_set_epoch(const char *name, uint64_t epoch)
{
	struct cvfs *cv = find_ours(name);

	if (!cv)
		return -ENOENT;
	cv->epoch = epoch;
	return 0;
}

int vf_catvfs_sealed(const char *name, uint64_t *wal, uint64_t *db)
{
	struct cvfs *cv = find_ours(name);

	if (!cv)
		return -ENOENT;
	*wal = __atomic_load_n(&cv->sealed[1], __ATOMIC_RELAXED);
	*db = __atomic_load_n(&cv->sealed[0], __ATOMIC_RELAXED);
	return 0;
}

int vf_catvfs_verify_db(const char *name, const char *path,
			int (*cb)(void *arg, uint64_t pgno), void *arg)
{
	struct cvfs *cv = find_ours(name);
	struct cfile *f = NULL;
	uint64_t pg;
	ssize_t n;
	int fd = -1, bad = 0;

	if (!cv)
		return -ENOENT;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	f = sqlite3_malloc(sizeof(*f));
	if (fd < 0 || !f) {
		bad = fd < 0 ? -errno : -ENOMEM;
		goto out;
	}
	memset(f, 0, sizeof(*f));
	f->vfs = cv;
	f->kind = CF_DB;
	for (pg = 0;; pg++) {
		n = pread(fd, f->ct, PAGE, (off_t)(pg * PAGE));
		if (n < 0) {
			bad = -EIO;
			goto out;
		}
		if (n < PAGE)
			break;
		if (sodium_is_zero(f->ct, PAGE) || !open_page(f, pg, f->ct, f->pt))
			continue;
		bad++;
		if (cb && cb(arg, pg))
			break;
	}
out:
	if (f) {
		sodium_memzero(f->pt, sizeof(f->pt));
		sqlite3_free(f);
	}
	if (fd >= 0)
		close(fd);
	return bad;
}

/* A file object for one page outside SQLite: no base file, fresh
 * nonce prefix (see top: as safe as a random nonce per page).  Returns
 * 0, -ENOENT for an unknown name, -ENOMEM. */
static int page_file(const char *name, struct cfile **out)
{
	struct cvfs *cv = find_ours(name);
	struct cfile *f;

	if (!cv)
		return -ENOENT;
	f = sqlite3_malloc(sizeof(*f));
	if (!f)
		return -ENOMEM;
	memset(f, 0, sizeof(*f));
	f->vfs = cv;
	f->kind = CF_DB;
	randombytes_buf(f->nonce_prefix, NONCE_PREFIX);
	*out = f;
	return 0;
}

static void page_file_free(struct cfile *f)
{
	sodium_memzero(f->pt, sizeof(f->pt));
	sqlite3_free(f);
}

int vf_catvfs_page_read(const char *name, int fd, uint64_t pgno, uint8_t *pt)
{
	struct cfile *f = NULL;
	ssize_t n;
	int rc = page_file(name, &f);

	if (rc)
		return rc;
	n = pread(fd, f->ct, PAGE, (off_t)(pgno * PAGE));
	if (n < 0)
		rc = -errno;
	else if (n < PAGE)
		rc = -ENODATA;
	else if (sodium_is_zero(f->ct, PAGE))
		memset(pt, 0, PAGE);
	else
		rc = open_page(f, pgno, f->ct, pt);
	page_file_free(f);
	return rc;
}

int vf_catvfs_page_write(const char *name, int fd, uint64_t pgno,
			 const uint8_t *pt)
{
	struct cfile *f = NULL;
	ssize_t n;
	int rc;

	if (!sodium_is_zero(pt + BODY, VF_CATVFS_RESERVE))
		return -EINVAL;
	rc = page_file(name, &f);
	if (rc)
		return rc;
	seal_page(f, pgno, pt, f->ct);
	n = pwrite(fd, f->ct, PAGE, (off_t)(pgno * PAGE));
	if (n != PAGE)
		rc = n < 0 ? -errno : -EIO;
	page_file_free(f);
	return rc;
}

void vf_catvfs_unregister(const char *name)
{
	struct cvfs *cv = find_ours(name);

	if (!cv)
		return;
	sqlite3_vfs_unregister(&cv->base);
	sodium_free(cv->key);
	sqlite3_free(cv->name);
	sqlite3_free(cv);
}
