/*
 * trash_purge.c - soft delete's purge, by hand (vaultctl softdelete
 * purge) and when the retention expires, and the listing of what the
 * trash holds.  The model is at the top of trash.c; the row and the
 * helpers shared with it are in trash_int.h.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "audit.h"
#include "ns.h"
#include "open_files.h"
#include "trash.h"
#include "trash_int.h"

/* ---- purge ------------------------------------------------------------- */

/* Removes node ino and everything recorded about it, and the nodes whose
 * history it carried.  -EBUSY while it is open. */
static int purge_node(struct vf_vault *v, uint64_t ino, int depth)
{
	static const enum vf_q steps[] = {
		VF_Q_PURGE_EXTENTS, VF_Q_PURGE_VERSIONS, VF_Q_PURGE_DIRENTS,
		VF_Q_PURGE_ATTRHIST, VF_Q_PURGE_XATTRS, VF_Q_PURGE_XATTRHIST,
		VF_Q_PURGE_NODE,
	};
	sqlite3_stmt *st;
	int64_t pred;
	size_t i;
	int rc;

	if (vf_file_find_locked(v, ino))
		return -EBUSY;
	if (depth > 10000)
		return -ELOOP;
	for (;;) {
		st = vf_catalog_stmt(v->cat, VF_Q_NODE_PRED);
		if (!st)
			return -EIO;
		sqlite3_bind_int64(st, 1, (int64_t)ino);
		rc = vf_catalog_row(st);
		pred = rc == 1 ? sqlite3_column_int64(st, 0) : 0;
		sqlite3_reset(st);
		if (rc < 0)
			return rc;
		if (!pred)
			break;
		rc = purge_node(v, (uint64_t)pred, depth + 1);
		if (rc)
			return rc;
	}
	for (i = 0; i < VF_ARRAY_LEN(steps); i++) {
		rc = vf_trash_run_id(v, steps[i], (int64_t)ino);
		if (rc)
			return rc;
	}
	return 0;
}

/* 1 when node ino has no live name and no row in .softdeleted. */
static int node_unreferenced(struct vf_vault *v, uint64_t ino)
{
	struct vf_attr a;
	int64_t id;
	int rc = vf_ns_attr(v, ino, &a);

	if (rc)
		return rc == -ENOENT ? 0 : rc;
	if (a.nlink > 0)
		return 0;
	rc = vf_trash_row_of_node(v, ino, &id);
	return rc == -ENOENT ? 1 : rc < 0 ? rc : 0;
}

/* Purges row id with everything under it. *n counts deleted items. */
static int purge_row(struct vf_vault *v, int64_t id, uint64_t *n, int depth)
{
	sqlite3_stmt *st;
	struct row r;
	int64_t child;
	int rc;

	if (depth > VF_PATH_MAX / 2)
		return -ELOOP;
	rc = vf_trash_row_get(v, id, &r);
	while (!rc) {
		st = vf_catalog_stmt(v->cat, VF_Q_TRASH_LAST_CHILD);
		if (!st)
			return -EIO;
		sqlite3_bind_int64(st, 1, id);
		rc = vf_catalog_row(st);
		child = rc == 1 ? sqlite3_column_int64(st, 0) : 0;
		sqlite3_reset(st);
		if (rc <= 0)
			break;
		rc = purge_row(v, child, n, depth + 1);
	}
	if (!rc)
		rc = vf_trash_run_id(v, VF_Q_TRASH_DELETE, id);
	/* the node goes with its last name: not while it is live elsewhere
	 * or another row in .softdeleted (a hard link) still shows it */
	if (!rc && r.node) {
		rc = node_unreferenced(v, (uint64_t)r.node);
		if (rc == 1)
			rc = purge_node(v, (uint64_t)r.node, 0);
		if (!rc && n)
			(*n)++;
	}
	return rc;
}

/* Removes containers left without anything in them, from row up. */
static int prune_containers(struct vf_vault *v, int64_t id)
{
	sqlite3_stmt *st;
	struct row r;
	int rc, empty;

	while (id) {
		rc = vf_trash_row_get(v, id, &r);
		if (rc)
			return rc == -ENOENT ? 0 : rc;
		if (r.node)
			return 0;
		st = vf_catalog_stmt(v->cat, VF_Q_TRASH_LAST_CHILD);
		if (!st)
			return -EIO;
		sqlite3_bind_int64(st, 1, id);
		rc = vf_catalog_row(st);
		sqlite3_reset(st);
		if (rc < 0)
			return rc;
		empty = rc == 0;
		if (!empty)
			return 0;
		rc = vf_trash_run_id(v, VF_Q_TRASH_DELETE, id);
		if (rc)
			return rc;
		id = r.parent;
	}
	return 0;
}

#define LIST_PATH_MAX ((VF_PATH_MAX / 2 + 1) * (DISPLAY_MAX + 32))

/* Records the purge of row r as expired, naming it (its path as under
 * .softdeleted) and what went (size, files); inside the purge's
 * transaction, before the rows go.  v->mu held. */
static int audit_expired(struct vf_vault *v, const struct row *r,
			 int64_t now)
{
	char *path = malloc(LIST_PATH_MAX), detail[64];
	sqlite3_stmt *st;
	int rc = path ? 0 : -ENOMEM;

	if (!rc)
		rc = vf_trash_row_path(v, r, path, LIST_PATH_MAX);
	st = rc ? NULL : vf_catalog_stmt(v->cat, VF_Q_TRASH_SIZE);
	if (!rc && !st)
		rc = -EIO;
	if (!rc) {
		sqlite3_bind_int64(st, 1, r->id);
		rc = vf_catalog_row(st);
		if (rc == 1)
			snprintf(detail, sizeof(detail), "size=%llu files=%llu",
				 (unsigned long long)sqlite3_column_int64(st, 0),
				 (unsigned long long)sqlite3_column_int64(st, 1));
		sqlite3_reset(st);
		rc = rc == 1 ? 0 : rc == 0 ? -EIO : rc;
	}
	if (!rc)
		rc = vf_audit_record(v, now, VF_AUDIT_UID_NONE, "purge", path,
				     "expired", detail);
	free(path);
	return rc;
}

/* Purges one item in its own transaction (v->mu held); audited here
 * when audit_now is not 0 (an expired item; an explicit purge is audited
 * by the admin gate). */
static int purge_one(struct vf_vault *v, int64_t id, uint64_t *n,
		     int64_t audit_now)
{
	struct row r;
	int rc = vf_catalog_begin(v->cat);

	if (rc)
		return rc;
	rc = vf_trash_row_get(v, id, &r);
	if (!rc && audit_now && r.node)
		rc = audit_expired(v, &r, audit_now);
	if (!rc)
		rc = purge_row(v, id, n, 0);
	if (!rc)
		rc = prune_containers(v, r.parent);
	return vf_catalog_finish(v->cat, rc);
}

int vf_vault_purge_expired(struct vf_vault *v, int64_t now, uint64_t *n)
{
	sqlite3_stmt *st;
	int64_t id, after = 0;
	uint64_t done = 0;
	int rc = 0;

	if (v->readonly)
		return 0;
	for (;;) {
		vf_vault_lock(v);
		/* the tripwire fired (trip.h): items stay past their time;
		 * checked under v->mu, per item, so a freeze stops a run */
		if (__atomic_load_n(&v->trip_frozen, __ATOMIC_RELAXED)) {
			vf_vault_unlock(v);
			rc = 0;
			break;
		}
		st = vf_catalog_stmt(v->cat, VF_Q_TRASH_EXPIRED);
		if (!st) {
			vf_vault_unlock(v);
			rc = -EIO;
			break;
		}
		sqlite3_bind_int64(st, 1, now);
		sqlite3_bind_int64(st, 2, after);
		rc = vf_catalog_row(st);
		id = rc == 1 ? sqlite3_column_int64(st, 0) : 0;
		sqlite3_reset(st);
		if (rc == 1) {
			after = id;
			rc = purge_one(v, id, &done, now);
			if (rc == -EBUSY || rc == -ENOENT)
				rc = 0; /* open: the next pass; gone: done */
			else if (!rc)
				rc = 1;
		}
		/* one item per lock hold: the mount stays responsive */
		vf_vault_unlock(v);
		if (rc <= 0)
			break;
	}
	/* each item was audited as it went (audit_expired) */
	if (n)
		*n = done;
	return rc < 0 ? rc : 0;
}

/* Resolves a path as shown under .softdeleted to its row. */
static int resolve(struct vf_vault *v, const char *path, int64_t now,
		   struct row *r)
{
	char buf[VF_PATH_MAX + 1], *save = NULL, *c;
	int64_t at = 0;
	int rc = -ENOENT;

	if (strlen(path) > VF_PATH_MAX)
		return -ENAMETOOLONG;
	snprintf(buf, sizeof(buf), "%s", path);
	for (c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		rc = vf_trash_find_row(v, at, c, now, r);
		if (rc)
			return rc;
		at = r->id;
	}
	return rc;
}

int vf_trash_find(struct vf_vault *v, const char *path, int64_t now,
		  struct vf_trash_found *out)
{
	sqlite3_stmt *st;
	struct row r;
	int rc = resolve(v, path, now, &r);

	if (rc)
		return rc;
	if (!r.node)
		return -EISDIR; /* a container: not an item */
	st = vf_catalog_stmt(v->cat, VF_Q_TRASH_SIZE);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, r.id);
	rc = vf_catalog_row(st);
	if (rc == 1) {
		out->id = r.id;
		out->deleted_at = r.deleted_at;
		out->size = (uint64_t)sqlite3_column_int64(st, 0);
		out->files = (uint64_t)sqlite3_column_int64(st, 1);
		rc = 0;
	} else if (rc == 0) {
		rc = -EIO;
	}
	sqlite3_reset(st);
	return rc;
}

int vf_trash_purge(struct vf_vault *v, int64_t id, uint64_t *n)
{
	*n = 0;
	return purge_one(v, id, n, 0);
}

/* ---- listing ------------------------------------------------------------ */

/* The display path of row r (v->mu held). */
int vf_trash_row_path(struct vf_vault *v, const struct row *r, char *buf,
		      size_t cap)
{
	char name[DISPLAY_MAX + 32];
	struct row p = *r;
	size_t len = 0, n, need;
	int rc;

	buf[0] = '\0';
	for (;;) {
		rc = vf_trash_display_name(v, &p, name);
		if (rc)
			return rc;
		/* prepend name/ */
		n = strlen(name);
		need = n + (len ? 1 : 0);
		if (len + need >= cap)
			return -ENAMETOOLONG;
		memmove(buf + need, buf, len + 1);
		memcpy(buf, name, n);
		if (len)
			buf[n] = '/';
		len += need;
		if (!p.parent)
			return 0;
		rc = vf_trash_row_get(v, p.parent, &p);
		if (rc)
			return rc;
	}
}

/* A path in .softdeleted can be longer than a live one (suffixes): at
 * most one display name per level of a live path. */

int vf_vault_softdelete_list(struct vf_vault *v, int64_t now, vf_trash_cb cb,
			     void *arg)
{
	char *path = malloc(LIST_PATH_MAX);
	struct vf_trash_item it;
	struct vf_attr a;
	sqlite3_stmt *st;
	int64_t after = 0;
	struct row r;
	int rc = path ? 0 : -ENOMEM, stop = 0;

	while (!rc && !stop) {
		vf_vault_lock(v);
		st = vf_catalog_stmt(v->cat, VF_Q_TRASH_TOPS);
		if (!st) {
			vf_vault_unlock(v);
			rc = -EIO;
			break;
		}
		sqlite3_bind_int64(st, 1, after);
		sqlite3_bind_int64(st, 2, vf_trash_shown_at(v, now));
		rc = vf_catalog_row(st);
		if (rc == 1 && sqlite3_column_type(st, 0) == SQLITE_NULL)
			rc = 0; /* no more */
		if (rc == 1) {
			after = sqlite3_column_int64(st, 0);
			it.size = (uint64_t)sqlite3_column_int64(st, 1);
			it.files = (uint64_t)sqlite3_column_int64(st, 2);
		}
		sqlite3_reset(st);
		if (rc <= 0) {
			vf_vault_unlock(v);
			break;
		}
		rc = vf_trash_row_get(v, after, &r);
		if (!rc)
			rc = vf_ns_attr(v, (uint64_t)r.node, &a);
		if (!rc)
			rc = vf_trash_row_path(v, &r, path, LIST_PATH_MAX);
		vf_vault_unlock(v);
		if (rc)
			break;
		it.path = path;
		it.is_dir = S_ISDIR(a.mode);
		it.deleted_at = r.deleted_at;
		it.purge_at = r.purge_at;
		stop = cb(arg, &it);
	}
	free(path);
	return rc < 0 ? rc : 0;
}
