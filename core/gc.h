/*
 * gc.h - private to core: what the administrative gate (admin.c) needs of
 * the retention policy kept by gc.c.  v->mu held for both.
 */
#ifndef VF_GC_H
#define VF_GC_H

#include "vault_int.h"

/* The stored retention policy (a new vault keeps everything); -EIO when
 * a stored value is out of range (damage). */
VF_MUST int vf_gc_policy(struct vf_vault *v, struct vf_retention *out);
/* Stores p (checked by the caller), in the caller's transaction if any. */
VF_MUST int vf_gc_policy_store(struct vf_vault *v, const struct vf_retention *p);

#endif
