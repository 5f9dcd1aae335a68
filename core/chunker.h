/*
 * chunker.h - content-defined chunking (FastCDC-style, normalized).
 *
 * A gear rolling hash fp = (fp << 1) + gear[byte] is updated per byte; a
 * chunk ends where the top bits of fp are all zero.  Below the average size
 * a harder mask (more bits) is used and above it an easier one, which pulls
 * chunk sizes towards the average (FastCDC's normalized chunking).  No cut
 * is considered before min bytes and one is forced at max.  Because fp only
 * depends on the last 64 bytes, boundaries depend only on nearby content:
 * an edit moves at most the boundaries next to it.
 *
 * The gear table is derived from the vault key (vf_chunker_gear), so chunk
 * sizes do not fingerprint known files to someone without the key.
 *
 * Pure and streaming: no I/O, no allocation; the caller owns the buffer and
 * feeds bytes until a cut is reported.  One chunker per stream; not shared
 * between threads.
 */
#ifndef VF_CHUNKER_H
#define VF_CHUNKER_H

#include "common.h"

#define VF_CHUNK_MIN (128u << 10)
#define VF_CHUNK_AVG (512u << 10)
#define VF_CHUNK_MAX (2u << 20)

struct vf_chunker {
	const uint64_t *gear; /* 256 entries, borrowed */
	uint64_t fp;
	size_t len; /* bytes of the current chunk seen so far */
	size_t min, avg, max;
	uint64_t mask_s, mask_l;
};

/* Fills gear[256] deterministically from a 32-byte seed. */
void vf_chunker_gear(uint64_t gear[256], const uint8_t seed[32]);

/* Prepares a chunker; min/avg/max 0 take the defaults above.  avg must be
 * a power of two with min < avg < max. */
void vf_chunker_init(struct vf_chunker *c, const uint64_t *gear, size_t min,
		     size_t avg, size_t max);

/* Starts a new chunk (after a cut or at a resync point). */
void vf_chunker_reset(struct vf_chunker *c);

/* Scans buf[0..n).  Returns how many bytes belong to the current chunk; if
 * the chunk ends within them, *cut is set to 1 and the chunker is reset for
 * the next chunk, else *cut is 0 and all n bytes were consumed. */
size_t vf_chunker_scan(struct vf_chunker *c, const uint8_t *buf, size_t n,
		       int *cut);

#endif
