/*
 * view.h - the read-only history views of the mount (private to core/):
 * .snapshots (the tree as of any second) and .versions (every recovery
 * point of a live file).  vault.c and file.c route every request on a view
 * inode here; the live tree never sees one.
 *
 * Inode numbers: live inodes are node ids (< 2^60).  A view inode carries
 * its kind in the top four bits:
 *
 *   SNAPS     .snapshots itself
 *   VERSIONS  .versions itself
 *   SNAP      slot << 40 | node: node as of the second registered in slot
 *             (the view's root is node VF_ROOT_INO)
 *   VNODE     node: a live directory under .versions, or a live regular
 *             file shown as the directory of its versions
 *   VFILE     version id: one recovery point, a read-only file
 *   TRASH, TCONT  .softdeleted and its containers (trash.c; deleted
 *             items themselves keep their node ids)
 *
 * Slots map the seconds being browsed to small numbers so that (second,
 * node) fits an inode; the table grows with the distinct seconds looked up
 * since mount (8 bytes each, at most VF_VIEW_SLOTS) and never reuses a
 * slot, so the kernel's cached inodes stay valid.
 *
 * Time: a view named T shows every recovery point committed before the end
 * of second T (t < T + 1 s), so a time printed by `date` between two edits
 * falls between them.  Views of a second that has not yet ended plus one
 * second of margin may still change and are not cached by the kernel;
 * views of later seconds do not exist (ENOENT).
 */
#ifndef VF_VIEW_H
#define VF_VIEW_H

#include "vault_int.h"

#define VF_VIEW_SHIFT 60
#define VF_VIEW_SLOT_SHIFT 40
#define VF_VIEW_SLOTS (1u << 20)

enum vf_view_kind {
	VF_VIEW_LIVE = 0,
	VF_VIEW_SNAPS,
	VF_VIEW_VERSIONS,
	VF_VIEW_SNAP,
	VF_VIEW_VNODE,
	VF_VIEW_VFILE,
	VF_VIEW_TRASH,  /* .softdeleted itself (trash.c) */
	VF_VIEW_TCONT,  /* a container row in .softdeleted (trash.c) */
};

static inline enum vf_view_kind vf_view_kind(uint64_t ino)
{
	return (enum vf_view_kind)(ino >> VF_VIEW_SHIFT);
}

static inline int vf_view_is(uint64_t ino)
{
	return vf_view_kind(ino) != VF_VIEW_LIVE;
}

/* The reserved names of the root that lead into views. */
int vf_view_root_name(const char *name);

VF_MUST int vf_views_new(struct vf_views **out);
void vf_views_free(struct vf_views *vw);

/* Each takes v->mu itself. */
VF_MUST int vf_view_lookup(struct vf_vault *v, uint64_t parent,
			   const char *name, struct vf_attr *out);
VF_MUST int vf_view_getattr(struct vf_vault *v, uint64_t ino,
			    struct vf_attr *out);
VF_MUST int vf_view_readdir(struct vf_vault *v, uint64_t ino, uint64_t off,
			    vf_readdir_cb cb, void *arg);
/* The node behind a SNAP or VFILE inode (for readlink and xattrs), or 0. */
uint64_t vf_view_node(struct vf_vault *v, uint64_t ino);
/* As vf_view_node, and *end gets the end of the moment the view shows
 * (INT64_MAX: now): a snapshot view's second, a recovery point's commit
 * second.  Its xattrs are read as of then (xattr.c). */
uint64_t vf_view_node_at(struct vf_vault *v, uint64_t ino, int64_t *end);
/* What an open of a view file reads: *version (0: empty) and *size.
 * -EISDIR for directories, -EROFS never (the caller checks flags). */
VF_MUST int vf_view_file(struct vf_vault *v, uint64_t ino, int64_t *version,
			 uint64_t *size);
/* 1 when ino can never change again (the kernel may cache it forever),
 * 0 when it may (do not cache). */
int vf_view_stable(struct vf_vault *v, uint64_t ino);
/* Marks an explicit snapshot point at the second of t, tagged tag (may
 * be NULL); v->mu held, in the caller's transaction if any.  -EINVAL for
 * a bad tag (empty, too long, control characters). */
VF_MUST int vf_view_mark(struct vf_vault *v, const char *tag, int64_t t);

#endif
