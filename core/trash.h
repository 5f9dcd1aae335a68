/*
 * trash.h - soft delete (private to core/): what unlink and rmdir leave in
 * .softdeleted, how it is listed, looked up, renamed out (undelete) and
 * purged.  See trash.c for the model.
 */
#ifndef VF_TRASH_H
#define VF_TRASH_H

#include "vault_int.h"

/* ---- called by vault.c with v->mu held, inside its transaction ---------- */

/* Records that node ino (a directory when is_dir), whose last name was
 * parent/name, was deleted at now. */
VF_MUST int vf_trash_add(struct vf_vault *v, uint64_t parent,
			 const char *name, uint64_t ino, int is_dir,
			 int64_t now);

/* 1 when ino is a deleted directory or a container in .softdeleted (its
 * names are trash rows), 0 when not, -errno. *row gets the trash row. */
VF_MUST int vf_trash_dir(struct vf_vault *v, uint64_t ino, int64_t *row);

/* The number of names node ino has in .softdeleted (0 if none). */
VF_MUST int vf_trash_names(struct vf_vault *v, uint64_t ino, uint32_t *n);

/* 1 when node ino lies in .softdeleted (read-only there), 0 when not. */
VF_MUST int vf_trash_holds(struct vf_vault *v, uint64_t ino);

/* ---- entry points (each takes v->mu) -------------------------------------- */

VF_MUST int vf_trash_lookup(struct vf_vault *v, int64_t row, const char *name,
			    struct vf_attr *out);
VF_MUST int vf_trash_readdir(struct vf_vault *v, uint64_t ino, int64_t row,
			     uint64_t off, vf_readdir_cb cb, void *arg);
VF_MUST int vf_trash_getattr(struct vf_vault *v, uint64_t ino,
			     struct vf_attr *out);
/* Undelete: moves the item named name in container row to the live
 * newparent/newname (which must not exist: -EEXIST), with everything
 * below it.  -EXDEV for a container that is not itself a deleted item.
 * Audited (uid, the item's path). */
VF_MUST int vf_trash_restore(struct vf_vault *v, uint32_t uid, int64_t row,
			     const char *name, uint64_t newparent,
			     const char *newname);
/* user.vaultfs.purge_at / deleted_at of a deleted node, as ISO text.
 * -ENODATA when ino is not in .softdeleted or name is another xattr. */
VF_MUST ssize_t vf_trash_xattr(struct vf_vault *v, uint64_t ino,
			       const char *name, void *buf, size_t cap);

/* ---- for the administrative gate (admin.c; v->mu held) ----------------- */

/* The soft-delete settings. */
VF_MUST int vf_trash_settings(struct vf_vault *v, struct vf_softdelete *out);
/* Stores n (in the caller's transaction, if any) and re-dates every item
 * when the retention changes. */
VF_MUST int vf_trash_settings_store(struct vf_vault *v,
				    const struct vf_softdelete *n);

/* A soft-deleted item as an approval binds it: its row, deletion time,
 * bytes and files (the whole tree for a directory). */
struct vf_trash_found {
	int64_t id;
	int64_t deleted_at;
	uint64_t size, files;
};
/* Resolves path (as under .softdeleted, not yet purged at now) to its
 * item: -ENOENT, -EISDIR for a container (not an item), -ENAMETOOLONG. */
VF_MUST int vf_trash_find(struct vf_vault *v, const char *path, int64_t now,
			  struct vf_trash_found *out);
/* Purges item id and everything below it (its own nested transaction);
 * *n gets the items removed.  -EBUSY when some file of it is open. */
VF_MUST int vf_trash_purge(struct vf_vault *v, int64_t id, uint64_t *n);

#endif
