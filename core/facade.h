/*
 * facade.h - checks shared by the vault facade's files (vault.c,
 * vault_file.c, xattr.c), private to them: read-only mounts, history
 * views and soft-deleted nodes, refused before any change is attempted.
 */
#ifndef VF_FACADE_H
#define VF_FACADE_H

#include "protect.h"
#include "trash.h"
#include "view.h"

/* 1 when nothing may change through the mount: a read-only mount, or
 * protection stopped (protect.h).  Enforced here for every caller, root
 * included: the stop is the vault's state, not a permission. */
static inline int vf_facade_read_only(const struct vf_vault *v)
{
	return v->readonly || vf_protect_stopped(v);
}

/* A change to a read-only vault (vf_facade_read_only) or to anything
 * inside a history view (inode a or b) is refused with EROFS. */
static inline int vf_facade_refuse_change(const struct vf_vault *v, uint64_t a,
					  uint64_t b)
{
	return vf_facade_read_only(v) || vf_view_is(a) || vf_view_is(b);
}

/* Nodes in .softdeleted are read-only until undeleted: -EROFS for them,
 * or err_other when given. */
static inline int vf_facade_refuse_trashed(struct vf_vault *v, uint64_t ino,
					   int err_other)
{
	int rc;

	vf_vault_lock(v);
	rc = vf_trash_holds(v, ino);
	vf_vault_unlock(v);
	if (rc < 0)
		return rc;
	return rc ? (err_other ? err_other : -EROFS) : 0;
}

/* vf_vault_mknod of a regular file that its caller opens at once
 * (create): the new node's transaction is left pending (catalog.h,
 * deferred commits) and commits with the file's first close. */
VF_MUST int vf_facade_new_file(struct vf_vault *v, const struct vf_caller *c,
			       uint64_t parent, const char *name,
			       uint32_t mode, struct vf_attr *out);

/* The path of the catalog anchor kept outside vault id's directory
 * (docs/design.md, "Catalog rollback"): the keystore directory for
 * platform keys, else $VAULTFS_ANCHOR_DIR or VF_ANCHOR_DIR_DEFAULT (made
 * root-only when make).  *out is malloc'd.  Shared by vault.c (open) and
 * remote.c (recover). */
VF_MUST int vf_vault_anchor_outside(const struct vf_protector_opts *o,
				    const uint8_t *id, int make, char **out,
				    char *err, size_t errlen);

/* The next batch (at most max) of pack names the catalog says the store
 * holds, after row *after (0 to start; advanced); *n of them.  Takes
 * v->mu.  Shared by vault.c (the cache) and check.c (the store check). */
VF_MUST int vf_vault_shipped_batch(struct vf_vault *v, int64_t *after,
				   char (*names)[VF_PACK_NAME_LEN + 1],
				   size_t max, size_t *n);

/* Stop protection with --delete (admin.c): soft-deletes every live name
 * that immutability lets go, files first and then each directory left
 * empty, as uid (audited one by one, like rm -r), in batches of their
 * own transactions (v->mu not held by the caller).  Starting again after
 * a crash goes on where it stopped (what is gone is not found again).
 * Progress goes to meta protect.deleted/kept in each batch. */
struct vf_delete_stats {
	uint64_t deleted; /* files (and other non-directories) */
	uint64_t dirs;    /* directories deleted once empty */
	uint64_t kept;    /* files immutability kept */
};
VF_MUST int vf_vault_delete_all(struct vf_vault *v, uint32_t uid,
				struct vf_delete_stats *st);

#endif
