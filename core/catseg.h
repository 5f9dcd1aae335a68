/*
 * catseg.h - catalog segments: the pages of the catalog that changed
 * between two shipped states, sealed (docs/remote-store.md, "Segments").
 *
 * A remote vault ships a full copy of its catalog (a checkpoint, c/SEQ)
 * now and then, and between two of them one segment (c/SEQ.d) per round:
 * the pages of the fresh copy whose keyed hash differs from the state
 * shipped last.  Applying the segments of a chain, in order, to the full
 * checkpoint they start from gives the catalog of the last one.
 *
 * Layout of a segment (all integers little-endian):
 *   header, VF_CATSEG_HDR_BYTES: sealed(le64 base || le32 page size ||
 *     le32 version (1) || le64 database size in pages after it ||
 *     le64 count of pages || digest[32] of the state after it)
 *   count records, VF_CATSEG_REC_BYTES each, in increasing page order:
 *     sealed(le64 page number (0-based) || page[VF_CATVFS_PAGE])
 * and nothing else.  Sealed = vf_crypto_seal with the catalog subkey;
 * associated data "vf-seg" || vault id[16] || le64(seq) || le64(i), i
 * being the record's index and UINT64_MAX for the header.  So nothing in
 * the store reveals a name, and a segment cannot be spliced (every record
 * names its segment), reordered (its index), truncated or extended (the
 * count, and the exact length), moved to another sequence number (seq),
 * nor applied onto another base (vf_catseg_apply checks it before it
 * writes anything).  The digest (BLAKE2b-256 over le64(pages) and each
 * page's keyed hash) lets a recovery check that the chain, applied to the
 * checkpoint it started from, gives exactly the state its last segment
 * was made from.
 *
 * Page hashes: BLAKE2b-128 of the page under a key derived from the
 * catalog subkey.  The uploader keeps one per page of the state it
 * shipped last (16 bytes per page, e.g. 75 KiB for a 19 MB catalog);
 * nothing else is held in memory: pages stream one at a time.
 *
 * Threads: no shared state; one call per file at a time.
 */
#ifndef VF_CATSEG_H
#define VF_CATSEG_H

#include "catvfs.h"
#include "crypto.h"

#define VF_CATSEG_HASH 16
#define VF_CATSEG_DIGEST 32
#define VF_CATSEG_HDR_PT (8 + 4 + 4 + 8 + 8 + VF_CATSEG_DIGEST)
#define VF_CATSEG_HDR_BYTES (VF_CATSEG_HDR_PT + VF_SEAL_OVERHEAD)
#define VF_CATSEG_REC_PT (8 + VF_CATVFS_PAGE)
#define VF_CATSEG_REC_BYTES (VF_CATSEG_REC_PT + VF_SEAL_OVERHEAD)

struct vf_catseg_hdr {
	uint64_t base;     /* the sequence number it applies on */
	uint64_t db_pages; /* database size in pages after it */
	uint64_t count;    /* pages it carries */
	uint8_t digest[VF_CATSEG_DIGEST];
};

/* The page hashes of a catalog state. */
struct vf_catseg_map {
	uint8_t *h; /* n * VF_CATSEG_HASH bytes */
	uint64_t n;
};

/* Frees m's hashes and empties it; accepts an empty map. */
void vf_catseg_map_release(struct vf_catseg_map *m);

/*
 * Reads every page of the sealed catalog copy at path (pages sealed with
 * the key of VFS vfs; key is the same catalog subkey) and builds *fresh,
 * its page hashes (the caller releases it).  When old is not NULL, also
 * writes segment seq, on top of base, holding every page whose hash
 * differs from old (or that old does not have) to seg_fd from offset 0
 * (old NULL: no segment, seg_fd unused).  *changed: pages in the segment;
 * *seg_bytes: its size; digest (may be NULL): the digest of the copy's
 * state, as a segment header holds it.  Returns 0,
 * -EBADMSG (a page of the copy fails authentication), -ENOMEM, -errno;
 * *fresh is left empty on failure.
 */
VF_MUST int vf_catseg_diff(const char *vfs, const uint8_t key[VF_KEY_BYTES],
			   const uint8_t vid[VF_VAULT_ID_BYTES],
			   const char *path, const struct vf_catseg_map *old,
			   uint64_t seq, uint64_t base, int seg_fd,
			   struct vf_catseg_map *fresh, uint64_t *changed,
			   uint64_t *seg_bytes,
			   uint8_t digest[VF_CATSEG_DIGEST]);

/*
 * Authenticates segment seq held in fd (the whole file) and checks that it
 * applies on top of expect_base; then, when out >= 0, writes each of its
 * pages, sealed with the key of VFS vfs, into the database file out and
 * cuts out to the segment's size.  Nothing is written unless the whole
 * segment authenticated.  *hdr (may be NULL) is filled on success.
 * Returns 0, -EBADMSG (not authentic, truncated, extended, reordered, or
 * pages out of order), -ESTALE (made on another base), -errno.
 */
VF_MUST int vf_catseg_apply(const char *vfs, const uint8_t key[VF_KEY_BYTES],
			    const uint8_t vid[VF_VAULT_ID_BYTES], uint64_t seq,
			    uint64_t expect_base, int fd, int out,
			    struct vf_catseg_hdr *hdr);

#endif
