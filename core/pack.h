/*
 * pack.h - packs of compressed, sealed chunks.
 *
 * Byte layout of a pack object (all integers little-endian):
 *   header: "VFPACK01" (8 bytes): every blob sealed under data epoch 0;
 *     or "VFPACK02" (8 bytes) + u32 epoch: every blob sealed under that
 *     data key epoch (docs/keys-rotation.md).  Writers write VFPACK01 for
 *     epoch 0, so vaults that never rotated keep the first format.
 *   entries, back to back, each:
 *     u32  n      length of the sealed blob
 *     u64  sum    XXH64(sealed blob, seed 0)
 *     n bytes     sealed blob = vf_crypto_seal(the epoch's data key,
 *                   ad = chunk id (32 bytes), plaintext)
 *   plaintext of a blob: u8 codec (0 stored, 1 zstd) || u32 raw length ||
 *     payload.
 * The checksum lets `check` find bit rot without the key; the AEAD finds
 * tampering.  An entry's location is (pack name, offset of its u32 length,
 * total entry length 12+n).  A torn tail after a crash is never referenced
 * by the catalog and is ignored.
 *
 * Compression: zstd level 3, kept only when it saves at least 1/32 of the
 * chunk (incompressible data is stored).
 *
 * Threads: a writer serialises its own appends; vf_pack_read_chunk and the
 * codec functions may be called from any thread.
 */
#ifndef VF_PACK_H
#define VF_PACK_H

#include "common.h"
#include "crypto.h"
#include "pack_io.h"

#define VF_PACK_MAGIC "VFPACK01"
#define VF_PACK_HDR 8
#define VF_PACK_MAGIC2 "VFPACK02"
#define VF_PACK_HDR2 12 /* magic + u32 epoch */
#define VF_PACK_ENTRY_HDR 12
#define VF_PACK_TARGET (32u << 20) /* close a pack past this size */

struct vf_pack_loc {
	char pack[VF_PACK_NAME_LEN + 1];
	uint64_t off;  /* of the entry header */
	uint32_t len;  /* whole entry: 12 + sealed length */
	uint32_t epoch; /* the data key epoch its pack is sealed under */
};

/* Largest sealed blob for a raw chunk of n bytes. */
size_t vf_pack_sealed_bound(size_t n);

/* Compresses (when it pays) and seals raw[0..n) for chunk id into out
 * (vf_pack_sealed_bound(n) bytes).  Returns the sealed length, or -ENOMEM.
 * Thread-safe (uses a per-thread zstd context). */
VF_MUST ssize_t vf_pack_encode(const struct vf_keys *k,
			       const uint8_t id[VF_CHUNK_ID_BYTES],
			       const void *raw, size_t n, void *out);

/* vf_pack_encode under data key key (an epoch's key, datakey.h). */
VF_MUST ssize_t vf_pack_encode_key(const uint8_t key[VF_KEY_BYTES],
				   const uint8_t id[VF_CHUNK_ID_BYTES],
				   const void *raw, size_t n, void *out);

/* vf_pack_decode under data key key. */
VF_MUST ssize_t vf_pack_decode_key(const uint8_t key[VF_KEY_BYTES],
				   const uint8_t id[VF_CHUNK_ID_BYTES],
				   const void *sealed, size_t n, void *out,
				   size_t cap);

/* Re-seals the sealed blob of chunk id from key from under key to into
 * out (n bytes: the plaintext, compressed or not, is kept as it is, so
 * the length does not change).  Returns 0, -EBADMSG when the blob fails
 * authentication under from, -ENOMEM; out holds no plaintext on
 * failure. */
VF_MUST int vf_pack_reseal(const uint8_t from[VF_KEY_BYTES],
			   const uint8_t to[VF_KEY_BYTES],
			   const uint8_t id[VF_CHUNK_ID_BYTES],
			   const void *sealed, size_t n, void *out);

/* Opens and decompresses a sealed blob into out (cap bytes).  Returns the
 * raw length, -EBADMSG when authentication fails, -EIO when the plaintext
 * is malformed or larger than cap. */
VF_MUST ssize_t vf_pack_decode(const struct vf_keys *k,
			       const uint8_t id[VF_CHUNK_ID_BYTES],
			       const void *sealed, size_t n, void *out,
			       size_t cap);

struct vf_pack_writer;

/* A writer that appends to fresh packs of about target bytes (0 = default)
 * on io (borrowed).  Caller frees with vf_pack_writer_close. */
VF_MUST int vf_pack_writer_new(struct vf_pack_io *io, size_t target,
			       struct vf_pack_writer **out);

/* Appends one entry holding sealed[0..n), sealed under data key epoch,
 * to a pack of that epoch: when the current pack is of another epoch it
 * is closed to appends first (a pack holds one epoch only).  On success
 * *loc says where.
 * Opens a new pack when the current one is past its target.  Errors from
 * the backend are returned; after an error the current pack is abandoned
 * and the next put starts a new one.  Thread-safe. */
VF_MUST int vf_pack_put_epoch(struct vf_pack_writer *w, uint32_t epoch,
			      const void *sealed, size_t n,
			      struct vf_pack_loc *loc);

/* vf_pack_put_epoch without a copy: entry holds VF_PACK_ENTRY_HDR bytes
 * of room (filled in here) followed by the n sealed bytes. */
VF_MUST int vf_pack_put_framed(struct vf_pack_writer *w, uint32_t epoch,
			       uint8_t *entry, size_t n,
			       struct vf_pack_loc *loc);

/* vf_pack_put_epoch for epoch 0. */
VF_MUST int vf_pack_put(struct vf_pack_writer *w, const void *sealed,
			size_t n, struct vf_pack_loc *loc);

/* Makes every entry put so far durable (syncs the packs written since the
 * last call).  Thread-safe. */
VF_MUST int vf_pack_writer_sync(struct vf_pack_writer *w);

/* Syncs and closes; accepts NULL.  Returns the sync result. */
int vf_pack_writer_close(struct vf_pack_writer *w);

/* Closes the current pack to appends when its first entry was put at
 * least min_age ns ago (vf_clock_mono; 0: whenever it holds an entry),
 * and syncs every closed pack: from then on the pack is finished and can
 * be shipped whole (ship.c).  The next put opens a new pack.  Returns 1
 * when it closed one, 0 when there was nothing to close, or the sync's
 * error.  Thread-safe. */
VF_MUST int vf_pack_writer_rotate(struct vf_pack_writer *w, int64_t min_age);

/* Copies the name of the pack the writer is appending to into name and
 * returns 1, or sets name to "" and returns 0 when none is open.  gc never
 * rewrites or removes that pack: chunks the catalog does not know yet may
 * be landing in it.  Thread-safe. */
int vf_pack_writer_current(struct vf_pack_writer *w,
			   char name[VF_PACK_NAME_LEN + 1]);

/* Reads the entry at loc and checks its checksum; copies the sealed blob
 * into out (cap bytes).  Returns the sealed length, -EIO on a checksum or
 * length mismatch or a read error. */
VF_MUST ssize_t vf_pack_read(struct vf_pack_io *io,
			     const struct vf_pack_loc *loc, void *out,
			     size_t cap);

/* Reads pack name's header: *epoch gets the data key epoch its blobs
 * are sealed under, *hdr (may be NULL) the header's length (where the
 * first entry starts).  -EIO when the header is neither format. */
VF_MUST int vf_pack_header(struct vf_pack_io *io, const char *name,
			   uint32_t *epoch, uint32_t *hdr);

/* Walks every entry of pack name in order, checking checksums without the
 * key: cb(arg, off, len, ok) for each entry (len includes the header).
 * Returns 0, -EIO when the header is bad, or cb's non-zero return.  A torn
 * tail ends the walk without error; *tail (if not NULL) is set to the
 * offset where valid data ends. */
VF_MUST int vf_pack_scan(struct vf_pack_io *io, const char *name,
			 int (*cb)(void *arg, uint64_t off, uint32_t len,
				   int ok),
			 void *arg, uint64_t *tail);

#endif
