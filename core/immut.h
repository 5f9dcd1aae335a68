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
 * into (for VF_IMM_LINK the item's own place is checked too: both names
 * must be under the same protection).  0, -EPERM (the reason is kept on the vault handle and the refusal
 * counted: vf_vault_last_denial), or -errno.  v->mu held.  Costs nothing
 * while the vault has no immutable directory. */
VF_MUST int vf_immut_check(struct vf_vault *v, uint32_t uid,
			   enum vf_imm_op op, uint64_t ino, uint64_t parent);
/* The same for the item's name in parent (which of several names a
 * VF_IMM_UNLINK or VF_IMM_RENAME_FROM concerns). */
VF_MUST int vf_immut_check_name(struct vf_vault *v, uint32_t uid,
				enum vf_imm_op op, uint64_t ino,
				uint64_t parent, const char *name);

/* Remembers that uid created item ino (a writer's allowances in an
 * immutable tree: vf_policy_immutable).  v->mu held. */
void vf_immut_created(struct vf_vault *v, uint64_t ino, uint32_t uid);

/* user.vaultfs.immutable of directory ino, as text; -ENODATA when it has
 * no rule.  Takes v->mu. */
VF_MUST ssize_t vf_immut_xattr(struct vf_vault *v, uint64_t ino, void *buf,
			       size_t cap);

/* 1 when the vault is immutable (nothing may lose a recovery point before
 * its retention), 0 when not, -errno.  v->mu held. */
VF_MUST int vf_immut_vault_on(struct vf_vault *v);

/* ---- for the administrative gate (admin.c; v->mu held) ----------------- */

/* The live directory at path from the vault root ("" is the root); one
 * line in err on failure (-ENOENT, -ENOTDIR, -EINVAL for "..",
 * -ENAMETOOLONG). */
VF_MUST int vf_immut_resolve(struct vf_vault *v, const char *path,
			     uint64_t *dir, char *err, size_t errlen);
/* The rule on directory dir (out->have 0: none). */
VF_MUST int vf_immut_rule(struct vf_vault *v, uint64_t dir,
			  struct vf_imm_state *out);
/* Stores the rule n on dir / removes it (unlock_only: only its pending
 * lock), in the caller's transaction if any. */
VF_MUST int vf_immut_rule_store(struct vf_vault *v, uint64_t dir,
				const struct vf_imm_state *n);
VF_MUST int vf_immut_rule_drop(struct vf_vault *v, uint64_t dir,
			       int unlock_only);
/* The immutable vault setting, and storing it. */
VF_MUST int vf_immut_vault(struct vf_vault *v, struct vf_imm_vault *out);
VF_MUST int vf_immut_vault_store(struct vf_vault *v,
				 const struct vf_imm_vault *n);

#endif
