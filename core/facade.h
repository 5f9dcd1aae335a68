/*
 * facade.h - checks shared by the vault facade's files (vault.c,
 * vault_file.c, xattr.c), private to them: read-only mounts, history
 * views and soft-deleted nodes, refused before any change is attempted.
 */
#ifndef VF_FACADE_H
#define VF_FACADE_H

#include "trash.h"
#include "view.h"

/* A change to a read-only mount or to anything inside a history view
 * (inode a or b) is refused with EROFS. */
static inline int vf_facade_refuse_change(const struct vf_vault *v, uint64_t a,
					  uint64_t b)
{
	return v->readonly || vf_view_is(a) || vf_view_is(b);
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

#endif
