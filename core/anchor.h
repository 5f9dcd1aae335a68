/*
 * anchor.h - the catalog anchor: a MACed record of the catalog's epoch and
 * of a digest over its database file, kept outside the vault directory
 * (next to the protector) and inside it, so that a catalog copied back
 * from an older state, or spliced page by page, is noticed at open.
 *
 * File layout (104 bytes, integers little-endian):
 *   [0, 8)     magic "VFANCHR1"
 *   [8, 24)    vault id
 *   [24, 32)   epoch: the catalog's meta "epoch" when the anchor was taken
 *   [32, 40)   size of catalog.db in bytes at that moment
 *   [40, 72)   digest of catalog.db (see vf_anchor_digest)
 *   [72, 104)  BLAKE2b-256 of bytes [0, 72), keyed with the vault's anchor
 *              subkey (VF_SUBKEY_ANCHOR)
 *
 * Digest: BLAKE2b-256 keyed with the anchor subkey over "vf-catalog-db",
 * then, for every whole 4096-byte page of catalog.db in order, its 40
 * reserved bytes (the page's nonce and tag, catvfs.h), then any trailing
 * partial page as is, then le64(size).  The tag authenticates the page's
 * ciphertext under the catalog key with its page number, so equal digests
 * mean equal files; reading only the tails keeps the digest cheap (one
 * sequential read of the file, 256 KiB at a time, whatever its size).
 *
 * Threads: no shared state; any thread.
 */
#ifndef VF_ANCHOR_H
#define VF_ANCHOR_H

#include "common.h"

#define VF_ANCHOR_BYTES 104
#define VF_ANCHOR_ID_BYTES 16
#define VF_ANCHOR_DIR_DEFAULT "/etc/vaultfs/anchors"
#define VF_ANCHOR_NAME "catalog.anchor"

struct vf_anchor {
	uint64_t epoch;
	uint64_t size;
	uint8_t digest[32];
};

/* Computes a->size and a->digest of the database file at path (a->epoch
 * is left alone).  Returns 0, -ENOENT, -EIO, -ENOMEM. */
VF_MUST int vf_anchor_digest(const char *path, const uint8_t key[32],
			     struct vf_anchor *a);

/* Encodes a for vault id into buf (VF_ANCHOR_BYTES), MACed with key. */
void vf_anchor_encode(const struct vf_anchor *a, const uint8_t key[32],
		      const uint8_t id[VF_ANCHOR_ID_BYTES], uint8_t *buf);

/* Decodes buf (len bytes).  Returns 0, or -EBADMSG when the length, the
 * magic, the vault id or the MAC is wrong (*a untouched). */
VF_MUST int vf_anchor_decode(const uint8_t *buf, size_t len,
			     const uint8_t key[32],
			     const uint8_t id[VF_ANCHOR_ID_BYTES],
			     struct vf_anchor *a);

/* Reads the anchor file at path.  Returns 0, -ENOENT, -EBADMSG, -EIO. */
VF_MUST int vf_anchor_read(const char *path, const uint8_t key[32],
			   const uint8_t id[VF_ANCHOR_ID_BYTES],
			   struct vf_anchor *a);

/* Writes the anchor file at path durably (temporary file, fsync, rename,
 * fsync of the directory; mode 0600).  Returns 0 or -errno. */
VF_MUST int vf_anchor_write(const char *path, const uint8_t key[32],
			    const uint8_t id[VF_ANCHOR_ID_BYTES],
			    const struct vf_anchor *a);

#endif
