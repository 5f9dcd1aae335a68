/*
 * gc.h - private to core: what the administrative gate (admin.c) needs of
 * the retention policy kept by gc.c (v->mu held), and the count of stored
 * bytes statfs, the quota and status share.
 */
#ifndef VF_GC_H
#define VF_GC_H

#include "vault_int.h"

/* The stored retention policy (a new vault keeps everything); -EIO when
 * a stored value is out of range (damage). */
VF_MUST int vf_gc_policy(struct vf_vault *v, struct vf_retention *out);
/* Stores p (checked by the caller), in the caller's transaction if any. */
VF_MUST int vf_gc_policy_store(struct vf_vault *v, const struct vf_retention *p);

/* Rewrites pack id (named name, of data key epoch epoch) as gc does,
 * re-sealing its entries under the current epoch, and removes it (rotate.c
 * calls this).  Returns 1 when the pack is gone, 0 when it stays (it is
 * the writer's current pack, or an entry cannot be read: check reports
 * it), -EBUSY when files kept being written, or -errno. */
VF_MUST int vf_gc_rewrite(struct vf_vault *v, int64_t id, const char *name,
			  uint32_t epoch);
/* The bytes in packs (what status calls stored), counted again when the
 * last count is older than max_age ns (0: always).  Any lock state but
 * v->mu held: it lists the packs without the catalog. */
VF_MUST int vf_gc_stored_bytes(struct vf_vault *v, int64_t max_age,
			       uint64_t *out);
/* What the vault uses on its disk, as df shows it: stored bytes (as
 * above) and the catalog with its write-ahead log. */
VF_MUST int vf_gc_used_bytes(struct vf_vault *v, int64_t max_age,
			     uint64_t *out);

/* The pack row (id, name, epoch: columns 0 to 2) that statement q, bound
 * to a and b, finds: 1 with the row, 0 when there is none, or -errno.
 * v->mu held.  Shared by gc's pack rewrite and rotate.c. */
int vf_gc_pack_row(struct vf_vault *v, enum vf_q q, int64_t a, int64_t b,
		   int64_t *id, char name[VF_PACK_NAME_LEN + 1],
		   uint32_t *epoch);

#endif
