/*
 * immut.h - immutable directories and the immutable vault (private to
 * core/): the rules' storage and the one check every changing entry point
 * of vault.c and file.c makes.  The decision itself is
 * vf_policy_immutable (policy.c), a pure function.
 */
#ifndef VF_IMMUT_H
#define VF_IMMUT_H

#include "vault_int.h"

/* May uid's op change item ino, whose name is in directory parent (0: look the
 * name up)?  For VF_IMM_CREATE, VF_IMM_LINK and VF_IMM_RENAME_INTO, ino is
 * the node arriving (0 for a new one) and parent the directory it goes
 * into.  0, -EPERM (the reason is kept on the vault handle and the refusal
 * counted: vf_vault_last_denial), or -errno.  v->mu held.  Costs nothing
 * while the vault has no immutable directory. */
VF_MUST int vf_immut_check(struct vf_vault *v, uint32_t uid,
			   enum vf_imm_op op, uint64_t ino, uint64_t parent);

/* user.vaultfs.immutable of directory ino, as text; -ENODATA when it has
 * no rule.  Takes v->mu. */
VF_MUST ssize_t vf_immut_xattr(struct vf_vault *v, uint64_t ino, void *buf,
			       size_t cap);

/* 1 when the vault is immutable (nothing may lose a recovery point before
 * its retention), 0 when not, -errno.  v->mu held. */
VF_MUST int vf_immut_vault_on(struct vf_vault *v);

#endif
