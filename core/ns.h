/*
 * ns.h - namespace primitives, private to core/: nodes, directory entries
 * and extended attribute rows of the catalog, without roles, immutability
 * or views (those are the callers' business).
 *
 * Every function here is called with v->mu held and, for the ones that
 * change rows, inside a transaction the caller opened and ends with
 * vf_catalog_finish.  Return 0 or a negative errno (-EIO when a statement
 * cannot be prepared or run, -ENOENT when a row is missing).
 */
#ifndef VF_NS_H
#define VF_NS_H

#include "vault_int.h"

/* A new directory node (mode 0755, root's) with nlink links and no name
 * yet; *ino its id.  Takes the catalog alone (the root is made before a
 * vault handle exists). */
VF_MUST int vf_ns_insert_dir(struct vf_catalog *cat, uint32_t nlink,
			     int64_t now, uint64_t *ino);
/* A new directory node with no name yet (vf_ns_link names it). */
VF_MUST int vf_ns_new_dir(struct vf_vault *v, int64_t now, uint64_t *ino);

/* The node row accessor: the nine attribute columns of a node row
 * starting at column col (enum vf_node_col in catalog_q.h) into *a, whose
 * ino is set to ino.  Every node row is decoded here. */
void vf_ns_attr_from_row(sqlite3_stmt *st, int col, uint64_t ino,
			 struct vf_attr *a);
/* The version id (0: none) of a NODE_GET row. */
int64_t vf_ns_version_from_row(sqlite3_stmt *st);
/* The stored attributes of node ino and, when version is not NULL, its
 * current version id (0: none). */
VF_MUST int vf_ns_node_attr(struct vf_vault *v, uint64_t ino, struct vf_attr *a,
			    int64_t *version);
VF_MUST int vf_ns_attr(struct vf_vault *v, uint64_t ino, struct vf_attr *a);
/* The live entry name in directory parent. */
VF_MUST int vf_ns_lookup(struct vf_vault *v, uint64_t parent, const char *name,
			 uint64_t *ino);
/* Adds or ends (died = now) the live entry parent/name. */
VF_MUST int vf_ns_dirent_add(struct vf_vault *v, uint64_t parent,
			     const char *name, uint64_t ino, int64_t now);
VF_MUST int vf_ns_dirent_kill(struct vf_vault *v, uint64_t parent,
			      const char *name, int64_t now);
/* Adds delta to the link count of ino (its ctime becomes now). */
VF_MUST int vf_ns_nlink(struct vf_vault *v, uint64_t ino, int delta,
			int64_t now);
/* Runs update q of node ino with one value (queries of the form
 * "... WHERE id=?1" with ?2). */
VF_MUST int vf_ns_node_update(struct vf_vault *v, enum vf_q q, uint64_t ino,
			      int64_t value);
/* mtime and ctime, or ctime alone, of ino become now. */
VF_MUST int vf_ns_touch(struct vf_vault *v, uint64_t ino, int64_t now);
VF_MUST int vf_ns_ctime(struct vf_vault *v, uint64_t ino, int64_t now);
/* The attributes of parent, which must be a live directory: -ENOTDIR,
 * -ENOENT for a removed one (it takes no new names). */
VF_MUST int vf_ns_parent_dir(struct vf_vault *v, uint64_t parent,
			     struct vf_attr *pa);
/* The mode of ino becomes mode (ctime now); an open file with deferred
 * metadata takes it too, so its commit does not undo it. */
VF_MUST int vf_ns_set_mode(struct vf_vault *v, uint64_t ino, uint32_t mode,
			   int64_t now);
/* Gives node ino (type from a) the name parent/name, with link counts. */
VF_MUST int vf_ns_link(struct vf_vault *v, uint64_t parent, const char *name,
		       const struct vf_attr *a, int64_t now);
/* The live parent and name of ino (a directory): -ENOENT for the root. */
VF_MUST int vf_ns_parent(struct vf_vault *v, uint64_t ino, uint64_t *parent,
			 char name[VF_NAME_MAX + 1]);
/* The live path of directory dir from the vault root, with a leading "/"
 * ("/" for the root), into buf: 0, -ENAMETOOLONG when it does not fit in
 * cap, or vf_ns_parent's errors.  v->mu held. */
VF_MUST int vf_ns_dir_path(struct vf_vault *v, uint64_t dir, char *buf,
			   size_t cap);

/* Extended attribute rows.  vf_ns_xattr_load reads xattr name of ino into
 * a malloc'd buffer (caller frees *out; *n its length); -ENODATA when
 * absent. */
VF_MUST int vf_ns_xattr_load(struct vf_vault *v, uint64_t ino, const char *name,
			     uint8_t **out, size_t *n);
VF_MUST int vf_ns_xattr_store(struct vf_vault *v, uint64_t ino,
			      const char *name, const void *value, size_t n);
VF_MUST int vf_ns_xattr_drop(struct vf_vault *v, uint64_t ino,
			     const char *name);

#endif
