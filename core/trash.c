/*
 * trash.c - soft delete: .softdeleted, undelete, purge (docs/design.md, Soft delete).
 *
 * Model.  Deleting never destroys a node: unlink and rmdir end the name
 * (dirents.died) as before, and the node gets a row in table trash:
 *
 *   trash(id, parent, name, node, deleted_at, purge_at, saved_mtime,
 *         created)
 *
 * parent is another row (0: the top of .softdeleted).  A row with a node
 * is a deleted item; a row without one is a container standing for a live
 * directory something was deleted from, so that items appear under their
 * original paths (deleted_at: when it was made).  `rm -r` unlinks the children
 * first, into containers named after their directories; the rmdir of such
 * a directory then turns its container into the deleted directory itself,
 * so a deleted tree appears as a tree, one item.  A later deletion of the
 * same path is a sibling row with the same name, shown as
 * `name@<deleted_at>` (and `_2`... within one second); the earliest row
 * of a name shows it plain.
 *
 * Inode numbers.  Deleted items keep their node ids as inode numbers, so
 * renaming one out of .softdeleted (undelete) leaves the kernel's inode
 * valid; containers are view inodes (view.h, kind TCONT with the row id),
 * .softdeleted itself is kind TRASH.  A deleted directory's names are the
 * rows under its row.  Nodes in the trash are read-only.
 *
 * Purge removes an item for good: its rows, versions, extents, names,
 * attribute history, xattrs and node (and the nodes it displaced by
 * rename, whose history it carried); gc then frees the chunks.
 *
 * This file holds the settings, the rows, names, attributes and
 * undelete; purge and the listing are in trash_purge.c, what both use in
 * trash_int.h.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "audit.h"
#include "immut.h"
#include "ns.h"
#include "trash.h"
#include "trash_int.h"
#include "view.h"

/* rm -r runs unlinks just before the rmdir: a container younger than this
 * holds the directory's mtime from before its entries were deleted */
#define RM_WINDOW (600 * VF_NS)
/* CONT_MODE: .softdeleted and its containers show the mode, owner and
 * group of the live directory they stand for (the root's for
 * .softdeleted), with the sticky bit: what was deleted from a private
 * directory stays private, and the kernel lets only an item's owner (or
 * the directory's) rename it out.  vf_trash_restore then allows the
 * item's owner and root only, whatever the roles say (sticky semantics,
 * enforced in core).  A container whose directory is no longer at its
 * path (renamed, or inside a deleted directory) shows 01700 root:root:
 * fail closed.  Core refuses every other change there. */

/* ---- settings ----------------------------------------------------------- */

static int sd_load(struct vf_vault *v)
{
	int64_t days = 0, off = 0, always = 0;
	int rc;

	if (v->sd_loaded)
		return 0;
	rc = vf_catalog_meta_get(v->cat, "softdelete.days", &days);
	if (rc == -ENOENT)
		rc = 0;
	if (!rc)
		rc = vf_catalog_meta_get(v->cat, "softdelete.off", &off);
	if (rc == -ENOENT)
		rc = 0;
	if (!rc)
		rc = vf_catalog_meta_get(v->cat, "softdelete.always_on",
					 &always);
	if (rc == -ENOENT)
		rc = 0;
	if (rc)
		return rc;
	v->sd.days = days >= VF_SOFTDELETE_MIN_DAYS &&
				     days <= VF_SOFTDELETE_MAX_DAYS ?
			     (unsigned)days :
			     VF_SOFTDELETE_DAYS;
	v->sd.off = !!off;
	v->sd.always_on = always;
	v->sd_loaded = 1;
	return 0;
}

int vf_vault_softdelete_get(struct vf_vault *v, struct vf_softdelete *out)
{
	int rc;

	vf_vault_lock(v);
	rc = sd_load(v);
	if (!rc)
		*out = v->sd;
	vf_vault_unlock(v);
	return rc;
}

static int64_t days_ns(unsigned days)
{
	return (int64_t)days * 86400 * VF_NS;
}

static int sd_store(struct vf_vault *v, const struct vf_softdelete *n)
{
	sqlite3_stmt *st;
	int rc = vf_catalog_begin(v->cat);

	if (rc)
		return rc;
	rc = vf_catalog_meta_set(v->cat, "softdelete.days", n->days);
	if (!rc)
		rc = vf_catalog_meta_set(v->cat, "softdelete.off", n->off);
	if (!rc)
		rc = vf_catalog_meta_set(v->cat, "softdelete.always_on",
					 n->always_on);
	/* every item's purge time follows the retention */
	if (!rc && n->days != v->sd.days) {
		st = vf_catalog_stmt(v->cat, VF_Q_TRASH_REDATE);
		rc = st ? 0 : -EIO;
		if (!rc) {
			sqlite3_bind_int64(st, 1, days_ns(n->days));
			rc = vf_catalog_run(st);
		}
	}
	if (rc) {
		vf_catalog_rollback(v->cat);
		return rc;
	}
	return vf_catalog_commit(v->cat);
}

int vf_trash_settings(struct vf_vault *v, struct vf_softdelete *out)
{
	int rc = sd_load(v);

	if (!rc)
		*out = v->sd;
	return rc;
}

int vf_trash_settings_store(struct vf_vault *v, const struct vf_softdelete *n)
{
	int rc = sd_load(v);

	if (!rc)
		rc = sd_store(v, n);
	/* read back after the outermost transaction ends, whichever way */
	v->sd_loaded = 0;
	return rc;
}

/* ---- rows (v->mu held) ------------------------------------------------- */

int vf_trash_row_get(struct vf_vault *v, int64_t id, struct row *r)
{
	sqlite3_stmt *st = vf_catalog_stmt(v->cat, VF_Q_TRASH_GET);
	int rc, n;

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	rc = vf_catalog_row(st);
	if (rc == 1) {
		r->id = id;
		r->parent = sqlite3_column_int64(st, 0);
		n = sqlite3_column_bytes(st, 1);
		if (n > VF_NAME_MAX)
			n = VF_NAME_MAX;
		memcpy(r->name, sqlite3_column_blob(st, 1), (size_t)n);
		r->name[n] = '\0';
		r->node = sqlite3_column_int64(st, 2);
		r->deleted_at = sqlite3_column_int64(st, 3);
		r->purge_at = sqlite3_column_int64(st, 4);
		r->saved_mtime = sqlite3_column_int64(st, 5);
		r->created = sqlite3_column_int64(st, 6);
	}
	sqlite3_reset(st);
	return rc == 1 ? 0 : rc == 0 ? -ENOENT : rc;
}

static int row_insert(struct vf_vault *v, int64_t parent, const char *name,
		      int64_t node, int64_t deleted_at, int64_t purge_at,
		      int64_t saved_mtime, int64_t now, int64_t *id)
{
	sqlite3_stmt *st = vf_catalog_stmt(v->cat, VF_Q_TRASH_INSERT);
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, parent);
	sqlite3_bind_blob(st, 2, name, (int)strlen(name), SQLITE_STATIC);
	if (node)
		sqlite3_bind_int64(st, 3, node);
	sqlite3_bind_int64(st, 4, deleted_at);
	sqlite3_bind_int64(st, 5, purge_at);
	sqlite3_bind_int64(st, 6, saved_mtime);
	sqlite3_bind_int64(st, 7, now);
	rc = vf_catalog_run(st);
	if (!rc && id)
		*id = sqlite3_last_insert_rowid(v->cat->db);
	return rc;
}

/* Runs a statement bound to one id (?1). */
int vf_trash_run_id(struct vf_vault *v, enum vf_q q, int64_t id)
{
	sqlite3_stmt *st = vf_catalog_stmt(v->cat, q);

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	return vf_catalog_run(st);
}

/* The trash row of node ino (the newest), or -ENOENT. */
int vf_trash_row_of_node(struct vf_vault *v, uint64_t ino, int64_t *id)
{
	sqlite3_stmt *st = vf_catalog_stmt(v->cat, VF_Q_TRASH_OF_NODE);
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, (int64_t)ino);
	rc = vf_catalog_row(st);
	if (rc == 1)
		*id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == 1 ? 0 : rc == 0 ? -ENOENT : rc;
}

/* The container standing for live directory dir (0 for the root),
 * created along dir's path as needed. */
static int container_for(struct vf_vault *v, uint64_t dir, int64_t now,
			 int64_t *out)
{
	char (*names)[VF_NAME_MAX + 1] = NULL;
	int64_t *mtimes = NULL, id = 0;
	uint64_t at = dir, up;
	size_t n = 0, cap = 0, i;
	sqlite3_stmt *st;
	struct vf_attr a;
	int rc = 0;

	/* the path, leaf first */
	while (at != VF_ROOT_INO) {
		if (n == cap) {
			size_t c = cap ? cap * 2 : 8;
			void *p = realloc(names, c * sizeof(*names));
			void *q = p ? realloc(mtimes, c * sizeof(*mtimes)) :
				      NULL;

			if (p)
				names = p;
			if (!q) {
				rc = -ENOMEM;
				goto out;
			}
			mtimes = q;
			cap = c;
		}
		rc = vf_ns_attr(v, at, &a);
		if (!rc)
			rc = vf_ns_parent(v, at, &up, names[n]);
		if (rc)
			goto out;
		mtimes[n++] = a.mtime;
		if (n > VF_PATH_MAX) {
			rc = -ELOOP;
			goto out;
		}
		at = up;
	}
	for (i = n; i-- > 0;) {
		st = vf_catalog_stmt(v->cat, VF_Q_TRASH_CONTAINER);
		if (!st) {
			rc = -EIO;
			goto out;
		}
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_blob(st, 2, names[i], (int)strlen(names[i]),
				  SQLITE_STATIC);
		rc = vf_catalog_row(st);
		if (rc == 1) {
			id = sqlite3_column_int64(st, 0);
			sqlite3_reset(st);
			continue;
		}
		sqlite3_reset(st);
		if (rc < 0)
			goto out;
		rc = row_insert(v, id, names[i], 0, now, 0, mtimes[i], now,
				&id);
		if (rc)
			goto out;
	}
	rc = 0;
	*out = id;
out:
	free(names);
	free(mtimes);
	return rc;
}

int vf_trash_add(struct vf_vault *v, uint64_t parent, const char *name,
		 uint64_t ino, int is_dir, int64_t now)
{
	int64_t cont, purge, existing = 0;
	sqlite3_stmt *st;
	struct row r;
	int rc;

	rc = sd_load(v);
	if (!rc)
		rc = container_for(v, parent, now, &cont);
	if (rc)
		return rc;
	/* with soft delete off the item is hidden at once and purged by the
	 * next pass (it may still be open) */
	purge = v->sd.off ? now : now + days_ns(v->sd.days);
	if (is_dir) {
		st = vf_catalog_stmt(v->cat, VF_Q_TRASH_CONTAINER);
		if (!st)
			return -EIO;
		sqlite3_bind_int64(st, 1, cont);
		sqlite3_bind_blob(st, 2, name, (int)strlen(name),
				  SQLITE_STATIC);
		rc = vf_catalog_row(st);
		if (rc == 1)
			existing = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
		if (rc < 0)
			return rc;
	}
	if (!existing)
		return row_insert(v, cont, name, (int64_t)ino, now, purge, 0,
				  now, NULL);
	/* The directory's entries went first (rm -r): its container becomes
	 * the deleted directory, with the mtime it had before. */
	rc = vf_trash_row_get(v, existing, &r);
	if (rc)
		return rc;
	st = vf_catalog_stmt(v->cat, VF_Q_TRASH_CONVERT);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, existing);
	sqlite3_bind_int64(st, 2, (int64_t)ino);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_int64(st, 4, purge);
	rc = vf_catalog_run(st);
	if (!rc && now - r.created < RM_WINDOW) {
		st = vf_catalog_stmt(v->cat, VF_Q_NODE_RESTORE_MTIME);
		if (!st)
			return -EIO;
		sqlite3_bind_int64(st, 1, (int64_t)ino);
		sqlite3_bind_int64(st, 2, r.saved_mtime);
		rc = vf_catalog_run(st);
	}
	return rc;
}

int vf_trash_holds(struct vf_vault *v, uint64_t ino)
{
	struct vf_attr a;
	int64_t id;
	int rc = vf_ns_attr(v, ino, &a);

	/* a node with a live name is not held, whatever its other names */
	if (rc || a.nlink > 0)
		return rc == -ENOENT ? 0 : rc;
	rc = vf_trash_row_of_node(v, ino, &id);
	return rc == -ENOENT ? 0 : rc < 0 ? rc : 1;
}

int vf_trash_dir(struct vf_vault *v, uint64_t ino, int64_t *row)
{
	struct vf_attr a;
	int rc;

	switch (vf_view_kind(ino)) {
	case VF_VIEW_TRASH:
		*row = 0;
		return 1;
	case VF_VIEW_TCONT:
		*row = (int64_t)(ino & ((1ULL << VF_VIEW_SHIFT) - 1));
		return 1;
	case VF_VIEW_LIVE:
		break;
	default:
		return 0;
	}
	rc = vf_ns_attr(v, ino, &a);
	if (rc)
		return rc == -ENOENT ? 0 : rc;
	if (!S_ISDIR(a.mode) || a.nlink != 0)
		return 0;
	rc = vf_trash_row_of_node(v, ino, row);
	return rc == -ENOENT ? 0 : rc < 0 ? rc : 1;
}

/* ---- names ----------------------------------------------------------- */

/* The first row (by deletion time) called name in container parent:
 * 1 (id in *id), 0 none, -errno. */
static int first_named(struct vf_vault *v, int64_t parent, const char *name,
		       int64_t *id)
{
	sqlite3_stmt *st = vf_catalog_stmt(v->cat, VF_Q_TRASH_FIRST);
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, parent);
	sqlite3_bind_blob(st, 2, name, (int)strlen(name), SQLITE_STATIC);
	rc = vf_catalog_row(st);
	if (rc == 1)
		*id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc;
}

/* The fallback name of row r: its name cut short (at a character
 * boundary) to fit, then @#<row id>, then _<k> when k > 0. */
static void fallback_name(const struct row *r, unsigned k,
			  char out[DISPLAY_MAX + 32])
{
	char suffix[48];
	size_t n = strlen(r->name), room;

	if (k)
		snprintf(suffix, sizeof(suffix), "@#%lld_%u",
			 (long long)r->id, k);
	else
		snprintf(suffix, sizeof(suffix), "@#%lld", (long long)r->id);
	room = VF_NAME_MAX - strlen(suffix);
	if (n > room) {
		n = room;
		while (n > 0 && ((unsigned char)r->name[n] & 0xc0) == 0x80)
			n--;
	}
	snprintf(out, DISPLAY_MAX + 32, "%.*s%s", (int)n, r->name, suffix);
}

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
			  char out[DISPLAY_MAX + 32])
{
	sqlite3_stmt *st = vf_catalog_stmt(v->cat, VF_Q_TRASH_RANK);
	int64_t earlier = 0, same_sec = 0, sec, other = 0;
	unsigned k;
	char t[32];
	int rc;

	if (!st)
		return -EIO;
	sec = r->deleted_at - ((r->deleted_at % VF_NS) + VF_NS) % VF_NS;
	sqlite3_bind_int64(st, 1, r->parent);
	sqlite3_bind_blob(st, 2, r->name, (int)strlen(r->name), SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, r->deleted_at);
	sqlite3_bind_int64(st, 4, r->id);
	sqlite3_bind_int64(st, 5, sec);
	rc = vf_catalog_row(st);
	if (rc == 1) {
		earlier = sqlite3_column_int64(st, 0);
		same_sec = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	if (rc != 1)
		return rc < 0 ? rc : -EIO;
	if (!earlier) {
		snprintf(out, DISPLAY_MAX + 32, "%s", r->name);
		return 0;
	}
	vf_time_format(sec, t);
	if (same_sec)
		snprintf(out, DISPLAY_MAX + 32, "%s@%s_%lld", r->name, t,
			 (long long)same_sec + 1);
	else
		snprintf(out, DISPLAY_MAX + 32, "%s@%s", r->name, t);
	if (strlen(out) <= VF_NAME_MAX) {
		rc = first_named(v, r->parent, out, &other);
		if (rc <= 0)
			return rc;
	}
	/* Each k that is taken is the name of another row, so this ends
	 * within as many steps as the container has rows. */
	for (k = 0; k < UINT_MAX; k++) {
		fallback_name(r, k, out);
		rc = first_named(v, r->parent, out, &other);
		if (rc <= 0)
			return rc;
	}
	return -EEXIST;
}

/* The row display_name shows as cand, if cand is a row of parent. */
static int check_shown(struct vf_vault *v, int64_t parent, int64_t cand,
		       const char *name, struct row *r)
{
	char shown[DISPLAY_MAX + 32];
	int rc = vf_trash_row_get(v, cand, r);

	if (!rc && r->parent != parent)
		rc = -ENOENT;
	if (!rc)
		rc = vf_trash_display_name(v, r, shown);
	if (!rc && strcmp(shown, name))
		rc = -ENOENT;
	return rc;
}

/* Finds the row shown as name in container parent (hidden: expired):
 * the row called name, or the row whose suffixed (name@<time>[_N]) or
 * fallback (...@#<id>[_k]) name it is, as display_name shows it. */
/* The time .softdeleted is shown as of: now, or, while the tripwire
 * (trip.h) keeps purges frozen, the freeze's time, so that items whose
 * purge came due since stay visible and can be undeleted. */
int64_t vf_trash_shown_at(struct vf_vault *v, int64_t now)
{
	int64_t f = __atomic_load_n(&v->trip_frozen, __ATOMIC_RELAXED);

	return f && f < now ? f : now;
}

int vf_trash_find_row(struct vf_vault *v, int64_t parent, const char *name,
		      int64_t now, struct row *r)
{
	char base[VF_NAME_MAX + 1], *at, *us, *end;
	int64_t sec, rank = 0, id = 0;
	long long n;
	sqlite3_stmt *st;
	int rc;

	rc = first_named(v, parent, name, &id);
	if (rc < 0)
		return rc;
	if (rc == 1) {
		/* a row's own name always shows as itself */
		rc = vf_trash_row_get(v, id, r);
		goto out;
	}
	snprintf(base, sizeof(base), "%s", name);
	at = strrchr(base, '@');
	if (!at)
		return -ENOENT;
	*at++ = '\0';
	if (*at == '#') {
		/* fallback: @#<id>[_k] */
		errno = 0;
		n = strtoll(at + 1, &end, 10);
		if (errno || end == at + 1 || n <= 0 ||
		    (*end && (*end != '_' || !end[1])))
			return -ENOENT;
		rc = check_shown(v, parent, (int64_t)n, name, r);
		goto out;
	}
	us = strchr(at, '_');
	if (us) {
		*us++ = '\0';
		rank = strtoll(us, &end, 10) - 1;
		if (*end || rank < 1)
			return -ENOENT;
	}
	if (vf_time_parse(at, &sec) || sec % VF_NS)
		return -ENOENT;
	st = vf_catalog_stmt(v->cat, VF_Q_TRASH_AT);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, parent);
	sqlite3_bind_blob(st, 2, base, (int)strlen(base), SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, sec);
	sqlite3_bind_int64(st, 4, sec + VF_NS);
	sqlite3_bind_int64(st, 5, rank);
	rc = vf_catalog_row(st);
	if (rc == 1)
		id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != 1)
		return rc < 0 ? rc : -ENOENT;
	/* not shown so when it moved to its fallback name */
	rc = check_shown(v, parent, id, name, r);
out:
	if (!rc && r->node && r->purge_at <= vf_trash_shown_at(v, now))
		rc = -ENOENT;
	return rc;
}

/* ---- attributes ---------------------------------------------------------- */

int vf_trash_names(struct vf_vault *v, uint64_t ino, uint32_t *n)
{
	/* a deleted file has as many names here as rows (hard links that
	 * went with a tree), so cp -a and tar keep them linked */
	sqlite3_stmt *st = vf_catalog_stmt(v->cat, VF_Q_TRASH_NODE_ROWS);
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, (int64_t)ino);
	rc = vf_catalog_row(st);
	if (rc == 1)
		*n = (uint32_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc < 0 ? rc : 0;
}

/* The live directory container id stands for, by its path from the root
 * (0: the root); -ENOENT when it is not there (renamed, or the container
 * is inside a deleted directory). */
static int live_dir_of(struct vf_vault *v, int64_t id, int depth,
		       uint64_t *ino)
{
	uint64_t up = 0;
	struct row r;
	int rc;

	if (!id) {
		*ino = VF_ROOT_INO;
		return 0;
	}
	if (depth > VF_PATH_MAX / 2)
		return -ELOOP;
	rc = vf_trash_row_get(v, id, &r);
	if (!rc && r.node)
		rc = -ENOENT;
	if (!rc)
		rc = live_dir_of(v, r.parent, depth + 1, &up);
	if (!rc)
		rc = vf_ns_lookup(v, up, r.name, ino);
	return rc;
}

/* Mode, owner and group of the container (or .softdeleted, id 0) as
 * CONT_MODE says. */
static int cont_perm(struct vf_vault *v, int64_t id, struct vf_attr *a)
{
	struct vf_attr d;
	uint64_t ino = 0;
	int rc = live_dir_of(v, id, 0, &ino);

	if (!rc)
		rc = vf_ns_attr(v, ino, &d);
	if (!rc && !S_ISDIR(d.mode))
		rc = -ENOENT;
	if (rc == -ENOENT || rc == -ELOOP) {
		d.mode = S_IFDIR | 0700;
		d.uid = d.gid = 0;
		rc = 0;
	}
	if (rc)
		return rc;
	a->mode = S_IFDIR | S_ISVTX | (d.mode & 0777);
	a->uid = d.uid;
	a->gid = d.gid;
	return 0;
}

static int row_attr(struct vf_vault *v, const struct row *r,
		    struct vf_attr *a)
{
	if (!r->node) {
		memset(a, 0, sizeof(*a));
		a->ino = (uint64_t)VF_VIEW_TCONT << VF_VIEW_SHIFT |
			 (uint64_t)r->id;
		a->nlink = 1;
		a->atime = a->mtime = a->ctime = r->created;
		a->flags = VF_ATTR_VOLATILE;
		return cont_perm(v, r->id, a); /* see CONT_MODE */
	}
	int rc = vf_ns_attr(v, (uint64_t)r->node, a);

	if (rc)
		return rc;
	/* purges and undeletes change this behind the kernel's back */
	a->flags |= VF_ATTR_VOLATILE;
	if (a->nlink || S_ISDIR(a->mode))
		return 0;
	return vf_trash_names(v, (uint64_t)r->node, &a->nlink);
}

static int root_attr(struct vf_vault *v, struct vf_attr *a)
{
	int rc = vf_ns_attr(v, VF_ROOT_INO, a);

	if (rc)
		return rc;
	a->ino = (uint64_t)VF_VIEW_TRASH << VF_VIEW_SHIFT;
	a->flags = VF_ATTR_VOLATILE;
	a->nlink = 1;
	return cont_perm(v, 0, a); /* see CONT_MODE */
}

int vf_trash_getattr(struct vf_vault *v, uint64_t ino, struct vf_attr *out)
{
	struct row r;
	int rc;

	vf_vault_lock(v);
	if (vf_view_kind(ino) == VF_VIEW_TRASH) {
		rc = root_attr(v, out);
	} else {
		rc = vf_trash_row_get(
		    v, (int64_t)(ino & ((1ULL << VF_VIEW_SHIFT) - 1)), &r);
		if (!rc)
			rc = row_attr(v, &r, out);
	}
	vf_vault_unlock(v);
	return rc;
}

int vf_trash_lookup(struct vf_vault *v, int64_t row, const char *name,
		    struct vf_attr *out)
{
	struct row r;
	int rc;

	if (strlen(name) > VF_NAME_MAX)
		return -ENAMETOOLONG;
	vf_vault_lock(v);
	rc = vf_trash_find_row(v, row, name, vf_vault_now(v), &r);
	if (!rc)
		rc = row_attr(v, &r, out);
	vf_vault_unlock(v);
	return rc;
}

/* Cookies: 0 start, 1 after ".", 2 after "..", row id + 2 after a row. */
int vf_trash_readdir(struct vf_vault *v, uint64_t ino, int64_t row,
		     uint64_t off, vf_readdir_cb cb, void *arg)
{
	char name[DISPLAY_MAX + 32];
	struct row key = { .deleted_at = INT64_MIN }, r;
	int64_t now = vf_vault_now(v);
	struct vf_attr a;
	sqlite3_stmt *st;
	int rc;

	vf_vault_lock(v);
	if (row) {
		rc = vf_trash_row_get(v, row, &r);
		if (!rc)
			rc = row_attr(v, &r, &a);
	} else {
		rc = root_attr(v, &a);
	}
	if (rc)
		goto out;
	a.ino = ino;
	if (off == 0) {
		if (cb(arg, ".", &a, 1))
			goto out;
		off = 1;
	}
	if (off == 1) {
		if (cb(arg, "..", &a, 2))
			goto out;
		off = 2;
	}
	if (off > 2) {
		rc = vf_trash_row_get(v, (int64_t)off - 2, &key);
		if (rc)
			goto out;
	}
	st = vf_catalog_stmt(v->cat, VF_Q_TRASH_LIST);
	if (!st) {
		rc = -EIO;
		goto out;
	}
	sqlite3_bind_int64(st, 1, row);
	sqlite3_bind_blob(st, 2, key.name, (int)strlen(key.name),
			  SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, key.deleted_at);
	sqlite3_bind_int64(st, 4, key.id);
	sqlite3_bind_int64(st, 5, vf_trash_shown_at(v, now));
	while ((rc = vf_catalog_row(st)) == 1) {
		/* TRASH_LIST returns ids only: vf_trash_row_get and
		 * vf_trash_display_name use other statements */
		rc = vf_trash_row_get(v, sqlite3_column_int64(st, 0), &r);
		if (!rc)
			rc = vf_trash_display_name(v, &r, name);
		if (!rc)
			rc = row_attr(v, &r, &a);
		if (rc)
			break;
		if (cb(arg, name, &a, (uint64_t)r.id + 2))
			break;
	}
	sqlite3_reset(st);
	rc = rc < 0 ? rc : 0;
out:
	vf_vault_unlock(v);
	return rc;
}

ssize_t vf_trash_xattr(struct vf_vault *v, uint64_t ino, const char *name,
		       void *buf, size_t cap)
{
	char t[32];
	struct row r;
	int64_t id, when;
	size_t n;
	int rc;

	if (strcmp(name, "user.vaultfs.purge_at") &&
	    strcmp(name, "user.vaultfs.deleted_at"))
		return -ENODATA;
	vf_vault_lock(v);
	rc = vf_view_is(ino) ? -ENOENT : vf_trash_row_of_node(v, ino, &id);
	if (!rc)
		rc = vf_trash_row_get(v, id, &r);
	vf_vault_unlock(v);
	if (rc)
		return rc == -ENOENT ? -ENODATA : rc;
	when = !strcmp(name, "user.vaultfs.purge_at") ? r.purge_at :
							 r.deleted_at;
	vf_time_format(when, t);
	n = strlen(t);
	if (cap == 0)
		return (ssize_t)n;
	if (cap < n)
		return -ERANGE;
	memcpy(buf, t, n);
	return (ssize_t)n;
}

/* ---- undelete ------------------------------------------------------------ */

/* Puts row r (and everything under it) at dir/name in the live tree and
 * drops its rows.  Children go newest first, so that the names computed
 * for the older ones do not change under us. */
static int restore_row(struct vf_vault *v, struct row *r, uint64_t dir,
		       const char *name, int64_t now, int depth)
{
	char cname[DISPLAY_MAX + 32];
	struct vf_attr a;
	sqlite3_stmt *st;
	struct row c;
	int64_t child;
	int rc;

	if (depth > VF_PATH_MAX / 2)
		return -ELOOP;
	if (r->node) {
		rc = vf_ns_attr(v, (uint64_t)r->node, &a);
	} else {
		/* a container inside a deleted directory: a new directory */
		uint64_t ino = 0;

		rc = vf_ns_new_dir(v, now, &ino);
		if (!rc)
			rc = vf_ns_attr(v, ino, &a);
	}
	if (!rc)
		rc = vf_ns_link(v, dir, name, &a, now);
	while (!rc) {
		st = vf_catalog_stmt(v->cat, VF_Q_TRASH_LAST_CHILD);
		if (!st)
			return -EIO;
		sqlite3_bind_int64(st, 1, r->id);
		rc = vf_catalog_row(st);
		child = rc == 1 ? sqlite3_column_int64(st, 0) : 0;
		sqlite3_reset(st);
		if (rc <= 0)
			break;
		rc = vf_trash_row_get(v, child, &c);
		if (!rc)
			rc = vf_trash_display_name(v, &c, cname);
		if (!rc)
			rc = restore_row(v, &c, a.ino, cname, now, depth + 1);
	}
	if (!rc)
		rc = vf_trash_run_id(v, VF_Q_TRASH_DELETE, r->id);
	return rc;
}

int vf_trash_restore(struct vf_vault *v, uint32_t uid, int64_t row,
		     const char *name, uint64_t newparent, const char *newname)
{
	char path[VF_PATH_MAX + 1];
	struct vf_attr pa;
	struct row r;
	uint64_t other;
	int64_t now;
	int rc;

	vf_vault_lock(v);
	rc = vf_catalog_begin(v->cat);
	if (rc)
		goto out;
	now = vf_vault_now(v);
	rc = vf_trash_find_row(v, row, name, now, &r);
	if (!rc && !r.node)
		rc = -EXDEV; /* not a deleted item: copy it out instead */
	/* sticky semantics (CONT_MODE): the item's owner or root only */
	if (!rc)
		rc = vf_ns_attr(v, (uint64_t)r.node, &pa);
	if (!rc && uid != 0 && pa.uid != uid)
		rc = -EPERM;
	if (!rc)
		rc = vf_ns_attr(v, newparent, &pa);
	if (!rc && (!S_ISDIR(pa.mode) || pa.nlink == 0))
		rc = S_ISDIR(pa.mode) ? -ENOENT : -ENOTDIR;
	if (!rc) {
		rc = vf_ns_lookup(v, newparent, newname, &other);
		rc = rc == 0 ? -EEXIST : rc == -ENOENT ? 0 : rc;
	}
	if (!rc)
		rc = vf_immut_check(v, uid, VF_IMM_RENAME_INTO,
				    (uint64_t)r.node, newparent);
	/* the record goes with the change, in its transaction */
	if (!rc && vf_trash_row_path(v, &r, path, sizeof(path)))
		snprintf(path, sizeof(path), "%s", name);
	if (!rc)
		rc = vf_audit_record(v, now, uid, "undelete", path, "ok",
				     newname);
	if (!rc)
		rc = restore_row(v, &r, newparent, newname, now, 0);
	rc = vf_catalog_finish(v->cat, rc);
out:
	vf_vault_unlock(v);
	return rc;
}
