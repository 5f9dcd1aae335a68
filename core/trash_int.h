/*
 * trash_int.h - private to soft delete's files (trash.c: settings, rows,
 * names, attributes and undelete; trash_purge.c: purge and the listing):
 * a trash row and the helpers both use.  The model is at the top of
 * trash.c.
 */
#ifndef VF_TRASH_INT_H
#define VF_TRASH_INT_H

#include <stddef.h>
#include <stdint.h>

#include "vault_int.h"

/* Room for a shown name, with its terminating NUL. */
#define DISPLAY_MAX (VF_NAME_MAX + 1)

/* One row of table trash (the model at the top of trash.c). */
struct row {
	int64_t id, parent, node, deleted_at, purge_at, saved_mtime, created;
	char name[VF_NAME_MAX + 1];
};

/* Reads row id into *r; -ENOENT when there is none (v->mu held). */
int vf_trash_row_get(struct vf_vault *v, int64_t id, struct row *r);

/* Runs a statement bound to one id (?1). */
int vf_trash_run_id(struct vf_vault *v, enum vf_q q, int64_t id);

/* The trash row of node ino (the newest), or -ENOENT. */
int vf_trash_row_of_node(struct vf_vault *v, uint64_t ino, int64_t *id);

/* The name row r shows in its directory, unique there and at most
 * VF_NAME_MAX bytes, so that every row is listed and reachable.  The
 * earliest row of a name shows the name itself; a later one
 * name@<ISO second of deleted_at> (_N within one second).  When that is
 * too long, or is the name of another row there (a file literally called
 * doc@<time> would shadow the second deletion of doc), the row shows its
 * fallback name (fallback_name), the first of k = 0, 1, ... that is no
 * row's name.  A row's own name always wins; vf_trash_find_row inverts
 * this. */
int vf_trash_display_name(struct vf_vault *v, const struct row *r,
			  char out[DISPLAY_MAX + 32]);

/* The time .softdeleted is shown as of: now, or, while the tripwire
 * (trip.h) keeps purges frozen, the freeze's time, so that items whose
 * purge came due since stay visible and can be undeleted. */
int64_t vf_trash_shown_at(struct vf_vault *v, int64_t now);

/* The row shown as name under parent as of now, into *r; -ENOENT when
 * none (the inverse of vf_trash_display_name). */
int vf_trash_find_row(struct vf_vault *v, int64_t parent, const char *name,
		      int64_t now, struct row *r);

/* The display path of row r (v->mu held). */
int vf_trash_row_path(struct vf_vault *v, const struct row *r, char *buf,
		      size_t cap);

#endif
