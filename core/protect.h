/*
 * protect.h - stop protection (docs/protection.md): the vault's state,
 * kept in catalog meta and mirrored in v->prot_state, which the facade's
 * write checks read.
 *
 * Meta keys (integers, absent = 0):
 *   protect.state    enum vf_prot_state
 *   protect.since    when protection was stopped (stamp, ns)
 *   protect.uid      who stopped it
 *   protect.pending  1 while the --delete walk has not finished
 *   protect.deleted  files the --delete walk soft-deleted
 *   protect.kept     files immutability kept in the last walk
 *
 * Invariant: v->prot_state is never VF_PROT_ON while the catalog says
 * stopped: it is set before the stop's transaction and read back from
 * the catalog after every change and at open.
 *
 * Threads: every function with v->mu held (the store functions inside
 * the caller's transaction); vf_protect_stopped with no lock.
 */
#ifndef VF_PROTECT_H
#define VF_PROTECT_H

#include "vault_int.h"

/* Reads the state from the catalog into *out (zeroed first). */
VF_MUST int vf_protect_get(struct vf_vault *v, struct vf_protect *out);
/* Writes p to the catalog (the caller's transaction). */
VF_MUST int vf_protect_store(struct vf_vault *v, const struct vf_protect *p);
/* Adds to protect.deleted and sets protect.kept (the --delete walk's
 * progress, in the caller's transaction). */
VF_MUST int vf_protect_progress(struct vf_vault *v, uint64_t deleted,
				uint64_t kept);
/* Reads the state from the catalog into v->prot_state (at open, after a
 * change). */
VF_MUST int vf_protect_load(struct vf_vault *v);

/* 1 when protection is stopped: every change through the mount is
 * refused with EROFS. */
static inline int vf_protect_stopped(const struct vf_vault *v)
{
	return __atomic_load_n(&v->prot_state, __ATOMIC_RELAXED) !=
	       VF_PROT_ON;
}

#endif
