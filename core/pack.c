/*
 * pack.c - the chunk codec and append-only packs.
 *
 * Byte layout of a pack object; every integer is little-endian:
 *
 *   offset 0   8 bytes   magic "VFPACK01" (data key epoch 0), or
 *              8 bytes   magic "VFPACK02" and u32 epoch (that epoch)
 *   offset 8 (or 12)     entries, back to back, each:
 *                u32  n     length of the sealed blob that follows
 *                u64  sum   XXH64 of those n bytes, seed 0
 *                n bytes    sealed blob
 *
 * A sealed blob is vf_crypto_seal(the epoch's data key, ad = the 32-byte
 * chunk id, plaintext); epoch 0's key is the master's DATA subkey
 * (datakey.h has the others), i.e. nonce(24) || ciphertext || tag(16), and its plaintext is
 *
 *   u8   codec     0 = stored, 1 = zstd frame
 *   u32  raw       length of the chunk before compression
 *   payload        raw bytes (codec 0) or one or more zstd frames (codec 1)
 *
 * A location (vf_pack_loc) names the pack, the offset of an entry's u32
 * and the whole entry length 12 + n.  The checksum lets scan and `check`
 * find bit rot without the key; the AEAD catches tampering, and the chunk
 * id as associated data stops a blob being served for another chunk.
 *
 * Invariants.  decode authenticates before it looks at a single plaintext
 * byte, and never trusts the stored raw length beyond the caller's cap.  A
 * writer appends each entry with one backend append; after any backend
 * error its current pack is abandoned (never appended to again), so a torn
 * or garbage tail only ever sits at the end of a pack, after every entry a
 * put reported.  Entries already reported stay in their pack, and the pack
 * is still synced by the next vf_pack_writer_sync.
 *
 * Memory: scan hashes through a fixed buffer, so a corrupt length field
 * cannot make it allocate more than READ_BUF bytes.
 */
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <xxhash.h>
#include <zstd.h>

#include "pack.h"

#define CODEC_STORED 0
#define CODEC_ZSTD 1
#define PT_HDR 5 /* codec + raw length */
#define ZSTD_LEVEL 3 /* level 1: 30 % less CPU, 4 % more stored: docs/performance.md */
#define PENDING_MAX 16 /* closed packs kept open awaiting a sync */
#define READ_BUF (64u << 10)

/* ---- little-endian helpers ----------------------------------------- */

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

/* ---- per-thread zstd contexts -------------------------------------- */

/*
 * The one exception to "no mutable globals in core/": a pure per-thread
 * cache of zstd contexts, so encode and decode need neither a lock nor an
 * allocation per chunk.  Nothing in it outlives a call except the context
 * itself.  The pthread key (set once, then read-only) only exists to free
 * a thread's contexts when the thread exits, so FUSE worker threads that
 * come and go do not leak them.
 */
struct zctx {
	ZSTD_CCtx *c;
	ZSTD_DCtx *d;
	int registered;
};

static _Thread_local struct zctx tls_zctx;
static pthread_once_t zkey_once = PTHREAD_ONCE_INIT;
static pthread_key_t zkey;
static int zkey_ok;

static void zctx_free(void *p)
{
	struct zctx *z = p;

	ZSTD_freeCCtx(z->c);
	ZSTD_freeDCtx(z->d);
	z->c = NULL;
	z->d = NULL;
	z->registered = 0;
}

static void zkey_init(void)
{
	zkey_ok = pthread_key_create(&zkey, zctx_free) == 0;
}

static struct zctx *zctx_get(void)
{
	struct zctx *z = &tls_zctx;

	if (!z->registered) {
		pthread_once(&zkey_once, zkey_init);
		if (zkey_ok && pthread_setspecific(zkey, z) == 0)
			z->registered = 1;
	}
	return z;
}

static ZSTD_CCtx *cctx_get(void)
{
	struct zctx *z = zctx_get();

	if (!z->c)
		z->c = ZSTD_createCCtx();
	return z->c;
}

static ZSTD_DCtx *dctx_get(void)
{
	struct zctx *z = zctx_get();

	if (!z->d)
		z->d = ZSTD_createDCtx();
	return z->d;
}

/* ---- codec --------------------------------------------------------- */

size_t vf_pack_sealed_bound(size_t n)
{
	return n + PT_HDR + VF_SEAL_OVERHEAD;
}

ssize_t vf_pack_encode(const struct vf_keys *k,
		       const uint8_t id[VF_CHUNK_ID_BYTES], const void *raw,
		       size_t n, void *out)
{
	return vf_pack_encode_key(vf_keys_sub(k, VF_SUBKEY_DATA), id, raw, n,
				  out);
}

/*
 * Whether a chunk is worth a full zstd attempt: a chunk of SAMPLE_MIN
 * bytes or more must first save SAMPLE/32 bytes on SAMPLE bytes from its
 * middle.  On incompressible data (already compressed or encrypted files)
 * the full attempt cost as much CPU as sealing; the sample costs an eighth
 * of it on an average chunk (docs/performance.md, "Streaming one big
 * file").  A chunk whose middle does not compress but whose rest would is
 * stored raw: a little space for a lot of CPU.  scratch has room for
 * SAMPLE bytes.
 */
#define SAMPLE (64u << 10)
#define SAMPLE_MIN (4 * SAMPLE)

static int worth_compressing(ZSTD_CCtx *c, const uint8_t *raw, size_t n,
			     uint8_t *scratch)
{
	size_t z;

	if (n < SAMPLE_MIN)
		return 1;
	z = ZSTD_compressCCtx(c, scratch, SAMPLE - SAMPLE / 32,
			      raw + n / 2 - SAMPLE / 2, SAMPLE, ZSTD_LEVEL);
	return !ZSTD_isError(z);
}

ssize_t vf_pack_encode_key(const uint8_t key[VF_KEY_BYTES],
			   const uint8_t id[VF_CHUNK_ID_BYTES], const void *raw,
			   size_t n, void *out)
{
	uint8_t *pt = NULL;
	size_t plen = n, limit;
	ZSTD_CCtx *c;
	ssize_t rc;

	if (n > UINT32_MAX || n > (size_t)SSIZE_MAX - PT_HDR - VF_SEAL_OVERHEAD)
		return -EINVAL;
	pt = malloc(PT_HDR + n + 1);
	if (!pt)
		return -ENOMEM;
	pt[0] = CODEC_STORED;
	put_le32(pt + 1, (uint32_t)n);

	/* zstd must save at least n/32 bytes (and at least one) to be kept:
	 * giving it only that much room makes it fail fast otherwise. */
	limit = n - n / 32;
	if (limit == n && n > 0)
		limit--;
	c = n > 0 ? cctx_get() : NULL;
	if (c && !worth_compressing(c, raw, n, pt + PT_HDR))
		c = NULL;
	if (c) {
		size_t z = ZSTD_compressCCtx(c, pt + PT_HDR, limit, raw, n,
					     ZSTD_LEVEL);

		if (!ZSTD_isError(z) && z <= limit) {
			pt[0] = CODEC_ZSTD;
			plen = z;
		}
	}
	if (pt[0] == CODEC_STORED && n > 0)
		memcpy(pt + PT_HDR, raw, n);
	vf_crypto_seal(key, id, VF_CHUNK_ID_BYTES, pt, PT_HDR + plen, out);
	rc = (ssize_t)(PT_HDR + plen + VF_SEAL_OVERHEAD);
	free(pt);
	return rc;
}

ssize_t vf_pack_decode(const struct vf_keys *k,
		       const uint8_t id[VF_CHUNK_ID_BYTES], const void *sealed,
		       size_t n, void *out, size_t cap)
{
	return vf_pack_decode_key(vf_keys_sub(k, VF_SUBKEY_DATA), id, sealed,
				  n, out, cap);
}

int vf_pack_reseal(const uint8_t from[VF_KEY_BYTES],
		   const uint8_t to[VF_KEY_BYTES],
		   const uint8_t id[VF_CHUNK_ID_BYTES], const void *sealed,
		   size_t n, void *out)
{
	uint8_t *pt;
	int rc;

	if (n < VF_SEAL_OVERHEAD)
		return -EBADMSG;
	pt = sodium_malloc(n - VF_SEAL_OVERHEAD + 1);
	if (!pt)
		return -ENOMEM;
	rc = vf_crypto_open(from, id, VF_CHUNK_ID_BYTES, sealed, n, pt);
	if (rc == 0)
		vf_crypto_seal(to, id, VF_CHUNK_ID_BYTES, pt,
			       n - VF_SEAL_OVERHEAD, out);
	sodium_free(pt); /* wipes */
	return rc;
}

ssize_t vf_pack_decode_key(const uint8_t key[VF_KEY_BYTES],
			   const uint8_t id[VF_CHUNK_ID_BYTES],
			   const void *sealed, size_t n, void *out, size_t cap)
{
	uint8_t *pt = NULL;
	size_t plen, raw, d;
	ZSTD_DCtx *dc;
	ssize_t rc;

	if (n < VF_SEAL_OVERHEAD)
		return -EBADMSG;
	plen = n - VF_SEAL_OVERHEAD;
	pt = malloc(plen + 1);
	if (!pt)
		return -ENOMEM;
	rc = vf_crypto_open(key, id, VF_CHUNK_ID_BYTES, sealed, n, pt);
	if (rc < 0)
		goto out;
	/* Authenticated from here on; still never trust a length. */
	rc = -EIO;
	if (plen < PT_HDR)
		goto out;
	raw = get_le32(pt + 1);
	if (raw > cap || raw > (size_t)SSIZE_MAX)
		goto out;
	if (pt[0] == CODEC_STORED) {
		if (plen - PT_HDR != raw)
			goto out;
		if (raw)
			memcpy(out, pt + PT_HDR, raw);
	} else if (pt[0] == CODEC_ZSTD) {
		dc = dctx_get();
		if (!dc) {
			rc = -ENOMEM;
			goto out;
		}
		/* Capacity is the stored raw length, so a frame can never
		 * write past it; a shorter result is damage too. */
		d = ZSTD_decompressDCtx(dc, out, raw, pt + PT_HDR,
					plen - PT_HDR);
		if (ZSTD_isError(d) || d != raw)
			goto out;
	} else {
		goto out;
	}
	rc = (ssize_t)raw;
out:
	free(pt);
	return rc;
}

/* ---- writer -------------------------------------------------------- */

struct open_pack {
	void *h;
	char name[VF_PACK_NAME_LEN + 1];
};

struct vf_pack_writer {
	struct vf_pack_io *io;
	size_t target;
	pthread_mutex_t lock;
	/* The pack being appended to; h is NULL when there is none. */
	struct open_pack cur;
	uint64_t cur_off;
	int cur_dirty; /* appended to since its last sync */
	int64_t cur_first; /* vf_clock_mono() of its first entry, or 0 */
	uint32_t cur_epoch; /* the data key epoch of its blobs */
	/* Packs closed to appends but not yet synced. */
	struct open_pack pend[PENDING_MAX];
	size_t npend;
	/* A sync failure found inside a put; the next writer_sync returns
	 * it, since the entries it covers were already reported. */
	int sticky;
	uint8_t *buf; /* entry staging buffer */
	size_t bufcap;
};

int vf_pack_writer_new(struct vf_pack_io *io, size_t target,
		       struct vf_pack_writer **out)
{
	struct vf_pack_writer *w;
	int rc;

	if (sodium_init() < 0)
		return -ENOMEM;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->io = io;
	w->target = target ? target : VF_PACK_TARGET;
	rc = -pthread_mutex_init(&w->lock, NULL);
	if (rc < 0) {
		free(w);
		return rc;
	}
	*out = w;
	return 0;
}

static void new_name(char name[VF_PACK_NAME_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t r[VF_PACK_NAME_LEN / 2];
	size_t i;

	randombytes_buf(r, sizeof(r));
	for (i = 0; i < sizeof(r); i++) {
		name[2 * i] = hex[r[i] >> 4];
		name[2 * i + 1] = hex[r[i] & 15];
	}
	name[VF_PACK_NAME_LEN] = '\0';
}

/* Syncs and closes pack p; returns the sync result. */
static int sync_close(struct vf_pack_io *io, struct open_pack *p)
{
	int rc = io->ops->sync(io, p->h);

	io->ops->close(io, p->h);
	p->h = NULL;
	return rc;
}

/* Syncs and closes every pending pack; returns the first error.  A pack
 * whose sync failed is closed all the same: retrying fsync after a
 * failure can report success for data the kernel already dropped. */
static int flush_pending(struct vf_pack_writer *w)
{
	size_t i;
	int rc = 0, r;

	for (i = 0; i < w->npend; i++) {
		r = sync_close(w->io, &w->pend[i]);
		if (r < 0 && rc == 0)
			rc = r;
	}
	w->npend = 0;
	return rc;
}

/* Stops appending to the current pack.  Packs holding unsynced reported
 * entries wait in pend for the next sync; others are closed. */
static void retire_current(struct vf_pack_writer *w)
{
	int rc;

	if (!w->cur.h)
		return;
	if (!w->cur_dirty) {
		w->io->ops->close(w->io, w->cur.h);
	} else {
		if (w->npend == PENDING_MAX) {
			/* Bound the open handles: sync what waits now. */
			rc = flush_pending(w);
			if (rc < 0 && w->sticky == 0)
				w->sticky = rc;
		}
		w->pend[w->npend++] = w->cur;
	}
	w->cur.h = NULL;
	w->cur_dirty = 0;
	w->cur_off = 0;
	w->cur_first = 0;
}

/* Abandons the current pack after a backend error: nothing more is
 * appended to it, but reported entries in it still get synced. */
static void abandon_current(struct vf_pack_writer *w)
{
	retire_current(w);
}

static int open_new(struct vf_pack_writer *w, uint32_t epoch)
{
	char name[VF_PACK_NAME_LEN + 1];
	uint8_t hdr[VF_PACK_HDR2];
	size_t hlen = VF_PACK_HDR;
	void *h = NULL;
	int rc;

	new_name(name);
	rc = w->io->ops->create(w->io, name, &h);
	if (rc < 0)
		return rc;
	/* epoch 0 keeps the first format: vaults that never rotated a data
	 * key write what older versions read */
	memcpy(hdr, VF_PACK_MAGIC, VF_PACK_HDR);
	if (epoch) {
		memcpy(hdr, VF_PACK_MAGIC2, VF_PACK_HDR);
		put_le32(hdr + VF_PACK_HDR, epoch);
		hlen = VF_PACK_HDR2;
	}
	rc = w->io->ops->append(w->io, h, hdr, hlen);
	if (rc < 0) {
		/* An empty or torn pack; scan reports it as a bad header and
		 * gc can remove it.  Nothing refers to it. */
		w->io->ops->close(w->io, h);
		return rc;
	}
	memcpy(w->cur.name, name, sizeof(name));
	w->cur.h = h;
	w->cur_off = hlen;
	w->cur_dirty = 0;
	w->cur_first = 0;
	w->cur_epoch = epoch;
	return 0;
}

int vf_pack_put(struct vf_pack_writer *w, const void *sealed, size_t n,
		struct vf_pack_loc *loc)
{
	return vf_pack_put_epoch(w, 0, sealed, n, loc);
}

/* Appends entry (len bytes: header and blob) to the current pack of
 * epoch, opening one as needed; w->lock held. */
static int append_locked(struct vf_pack_writer *w, uint32_t epoch,
			 const uint8_t *entry, size_t len,
			 struct vf_pack_loc *loc)
{
	int rc;

	if (w->cur.h && (w->cur_off >= w->target || w->cur_epoch != epoch))
		retire_current(w);
	if (!w->cur.h) {
		rc = open_new(w, epoch);
		if (rc < 0)
			return rc;
	}
	/* One append per entry: it either all lands or the pack is dropped
	 * with whatever partial tail the backend left. */
	rc = w->io->ops->append(w->io, w->cur.h, entry, len);
	if (rc < 0) {
		abandon_current(w);
		return rc;
	}
	memcpy(loc->pack, w->cur.name, sizeof(loc->pack));
	loc->off = w->cur_off;
	loc->len = (uint32_t)len;
	loc->epoch = epoch;
	w->cur_off += len;
	w->cur_dirty = 1;
	if (!w->cur_first)
		w->cur_first = vf_clock_mono();
	return 0;
}

int vf_pack_put_epoch(struct vf_pack_writer *w, uint32_t epoch,
		      const void *sealed, size_t n, struct vf_pack_loc *loc)
{
	size_t len;
	int rc;

	if (n > UINT32_MAX - VF_PACK_ENTRY_HDR)
		return -EINVAL;
	len = VF_PACK_ENTRY_HDR + n;
	pthread_mutex_lock(&w->lock);
	if (len > w->bufcap) {
		uint8_t *b = realloc(w->buf, len);

		if (!b) {
			rc = -ENOMEM;
			goto out;
		}
		w->buf = b;
		w->bufcap = len;
	}
	put_le32(w->buf, (uint32_t)n);
	put_le64(w->buf + 4, XXH64(sealed, n, 0));
	if (n)
		memcpy(w->buf + VF_PACK_ENTRY_HDR, sealed, n);
	rc = append_locked(w, epoch, w->buf, len, loc);
out:
	pthread_mutex_unlock(&w->lock);
	return rc;
}

int vf_pack_put_framed(struct vf_pack_writer *w, uint32_t epoch,
		       uint8_t *entry, size_t n, struct vf_pack_loc *loc)
{
	int rc;

	if (n > UINT32_MAX - VF_PACK_ENTRY_HDR)
		return -EINVAL;
	/* The header is filled in, and the blob hashed, outside the lock:
	 * only the append itself is serialised. */
	put_le32(entry, (uint32_t)n);
	put_le64(entry + 4, XXH64(entry + VF_PACK_ENTRY_HDR, n, 0));
	pthread_mutex_lock(&w->lock);
	rc = append_locked(w, epoch, entry, VF_PACK_ENTRY_HDR + n, loc);
	pthread_mutex_unlock(&w->lock);
	return rc;
}

static int writer_sync_locked(struct vf_pack_writer *w)
{
	int rc, r;

	rc = flush_pending(w);
	if (w->sticky < 0) {
		if (rc == 0)
			rc = w->sticky;
		w->sticky = 0;
	}
	if (w->cur.h && w->cur_dirty) {
		r = w->io->ops->sync(w->io, w->cur.h);
		if (r < 0) {
			/* Its reported entries may be lost: never append
			 * behind them, and never retry this fsync. */
			w->io->ops->close(w->io, w->cur.h);
			w->cur.h = NULL;
			w->cur_dirty = 0;
			if (rc == 0)
				rc = r;
		} else {
			w->cur_dirty = 0;
		}
	}
	return rc;
}

int vf_pack_writer_sync(struct vf_pack_writer *w)
{
	int rc;

	pthread_mutex_lock(&w->lock);
	rc = writer_sync_locked(w);
	pthread_mutex_unlock(&w->lock);
	return rc;
}

int vf_pack_writer_close(struct vf_pack_writer *w)
{
	int rc;

	if (!w)
		return 0;
	pthread_mutex_lock(&w->lock);
	rc = writer_sync_locked(w);
	if (w->cur.h)
		w->io->ops->close(w->io, w->cur.h);
	pthread_mutex_unlock(&w->lock);
	pthread_mutex_destroy(&w->lock);
	free(w->buf);
	free(w);
	return rc;
}

int vf_pack_writer_rotate(struct vf_pack_writer *w, int64_t min_age)
{
	int rc = 0;

	pthread_mutex_lock(&w->lock);
	if (w->cur.h && w->cur_first &&
	    vf_clock_mono() - w->cur_first >= min_age) {
		retire_current(w);
		rc = writer_sync_locked(w);
		if (rc == 0)
			rc = 1;
	}
	pthread_mutex_unlock(&w->lock);
	return rc;
}

int vf_pack_writer_current(struct vf_pack_writer *w,
			   char name[VF_PACK_NAME_LEN + 1])
{
	int open;

	pthread_mutex_lock(&w->lock);
	open = w->cur.h != NULL;
	if (open)
		memcpy(name, w->cur.name, VF_PACK_NAME_LEN + 1);
	else
		name[0] = '\0';
	pthread_mutex_unlock(&w->lock);
	return open;
}

/* ---- readers ------------------------------------------------------- */

ssize_t vf_pack_read(struct vf_pack_io *io, const struct vf_pack_loc *loc,
		     void *out, size_t cap)
{
	uint8_t hdr[VF_PACK_ENTRY_HDR], *o = out;
	size_t n;
	int rc;

	if (loc->len < VF_PACK_ENTRY_HDR || loc->off < VF_PACK_HDR)
		return -EIO;
	n = loc->len - VF_PACK_ENTRY_HDR;
	if (n > cap)
		return -EIO;
	if (cap >= loc->len) {
		/* One backend read (one round trip on a remote store), then
		 * slide the blob down over the header. */
		rc = io->ops->read(io, loc->pack, loc->off, o, loc->len);
		if (rc < 0)
			return rc;
		memcpy(hdr, o, VF_PACK_ENTRY_HDR);
		memmove(o, o + VF_PACK_ENTRY_HDR, n);
	} else {
		rc = io->ops->read(io, loc->pack, loc->off, hdr, sizeof(hdr));
		if (rc == 0 && n)
			rc = io->ops->read(io, loc->pack,
					   loc->off + VF_PACK_ENTRY_HDR, o, n);
		if (rc < 0)
			return rc;
	}
	if (get_le32(hdr) != n || get_le64(hdr + 4) != XXH64(o, n, 0))
		return -EIO;
	return (ssize_t)n;
}

/* Streams n bytes at off through buf into XXH64; returns 0 or an error. */
static int hash_range(struct vf_pack_io *io, const char *name, uint64_t off,
		      uint64_t n, uint8_t *buf, uint64_t *sum)
{
	XXH64_state_t *st;
	int rc = 0;

	st = XXH64_createState();
	if (!st)
		return -ENOMEM;
	XXH64_reset(st, 0);
	while (n > 0) {
		size_t k = n < READ_BUF ? (size_t)n : READ_BUF;

		rc = io->ops->read(io, name, off, buf, k);
		if (rc < 0)
			goto out;
		XXH64_update(st, buf, k);
		off += k;
		n -= k;
	}
	*sum = XXH64_digest(st);
out:
	XXH64_freeState(st);
	return rc;
}

/* Parses a header read into hdr (have bytes of a pack of size bytes). */
static int parse_header(const uint8_t *hdr, uint64_t size, uint32_t *epoch,
			uint32_t *hlen)
{
	if (size >= VF_PACK_HDR && !memcmp(hdr, VF_PACK_MAGIC, VF_PACK_HDR)) {
		*epoch = 0;
		*hlen = VF_PACK_HDR;
		return 0;
	}
	if (size >= VF_PACK_HDR2 &&
	    !memcmp(hdr, VF_PACK_MAGIC2, VF_PACK_HDR)) {
		*epoch = get_le32(hdr + VF_PACK_HDR);
		*hlen = VF_PACK_HDR2;
		return 0;
	}
	return -EIO;
}

/* The header of pack name, and its size. */
static int read_header(struct vf_pack_io *io, const char *name,
		       uint32_t *epoch, uint32_t *hlen, uint64_t *size)
{
	uint8_t hdr[VF_PACK_HDR2];
	int rc;

	rc = io->ops->size(io, name, size);
	if (rc < 0)
		return rc;
	if (*size < VF_PACK_HDR)
		return -EIO;
	rc = io->ops->read(io, name, 0, hdr,
			   *size < VF_PACK_HDR2 ? VF_PACK_HDR : VF_PACK_HDR2);
	if (rc < 0)
		return rc;
	return parse_header(hdr, *size, epoch, hlen);
}

int vf_pack_header(struct vf_pack_io *io, const char *name, uint32_t *epoch,
		   uint32_t *hdr)
{
	uint32_t e, h;
	uint64_t size;
	int rc = read_header(io, name, &e, &h, &size);

	if (rc < 0)
		return rc;
	*epoch = e;
	if (hdr)
		*hdr = h;
	return 0;
}

int vf_pack_scan(struct vf_pack_io *io, const char *name,
		 int (*cb)(void *arg, uint64_t off, uint32_t len, int ok),
		 void *arg, uint64_t *tail)
{
	uint8_t hdr[VF_PACK_ENTRY_HDR], *buf = NULL;
	uint64_t size, off, sum;
	uint32_t n, epoch, hlen;
	int rc;

	rc = read_header(io, name, &epoch, &hlen, &size);
	if (rc < 0)
		return rc;
	buf = malloc(READ_BUF);
	if (!buf)
		return -ENOMEM;
	off = hlen;
	while (size - off >= VF_PACK_ENTRY_HDR) {
		rc = io->ops->read(io, name, off, hdr, sizeof(hdr));
		if (rc < 0)
			goto out;
		n = get_le32(hdr);
		/* A blob running past the end is a torn tail; so is a length
		 * no entry can have (its total would not fit a u32). */
		if (n > UINT32_MAX - VF_PACK_ENTRY_HDR ||
		    n > size - off - VF_PACK_ENTRY_HDR)
			break;
		rc =
		    hash_range(io, name, off + VF_PACK_ENTRY_HDR, n, buf, &sum);
		if (rc < 0)
			goto out;
		rc = cb(arg, off, n + VF_PACK_ENTRY_HDR,
			sum == get_le64(hdr + 4));
		if (rc)
			goto out;
		off += VF_PACK_ENTRY_HDR + (uint64_t)n;
	}
	if (tail)
		*tail = off;
	rc = 0;
out:
	free(buf);
	return rc;
}
