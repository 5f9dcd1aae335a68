/*
 * ns.c - namespace primitives: node rows, directory entries and xattr
 * rows of the catalog (ns.h is the contract).
 *
 * Invariants:
 * - Nodes are never deleted here: a name ends by setting its dirent's
 *   died time and dropping nlink, so the node and its versions stay
 *   reachable for history and soft delete.
 * - A directory's nlink counts "." , its entry in the parent and one per
 *   live subdirectory; vf_ns_link keeps that arithmetic in one place.
 * - No role, immutability or view logic here: the facade and the feature
 *   files decide, this file only reads and writes rows (v->mu held).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ns.h"
#include "open_files.h"

/* ---- nodes (v->mu held) ------------------------------------------------- */

int vf_ns_insert_dir(struct vf_catalog *cat, uint32_t nlink, int64_t now,
		     uint64_t *ino)
{
	sqlite3_stmt *st = vf_catalog_stmt(cat, VF_Q_NODE_INSERT);
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, S_IFDIR | 0755);
	sqlite3_bind_int64(st, 2, 0);
	sqlite3_bind_int64(st, 3, 0);
	sqlite3_bind_int64(st, 4, 0);
	sqlite3_bind_int64(st, 5, nlink);
	sqlite3_bind_int64(st, 6, now);
	sqlite3_bind_null(st, 7);
	rc = vf_catalog_run(st);
	if (!rc)
		*ino = (uint64_t)sqlite3_last_insert_rowid(cat->db);
	return rc;
}

int vf_ns_new_dir(struct vf_vault *v, int64_t now, uint64_t *ino)
{
	return vf_ns_insert_dir(v->cat, 0, now, ino);
}

/* ---- node rows (v->mu held) --------------------------------------------- */

void vf_ns_attr_from_row(sqlite3_stmt *st, int col, uint64_t ino,
			 struct vf_attr *a)
{
	a->ino = ino;
	a->flags = 0;
	a->mode = (uint32_t)sqlite3_column_int64(st, col + VF_NODE_MODE);
	a->uid = (uint32_t)sqlite3_column_int64(st, col + VF_NODE_UID);
	a->gid = (uint32_t)sqlite3_column_int64(st, col + VF_NODE_GID);
	a->rdev = (uint64_t)sqlite3_column_int64(st, col + VF_NODE_RDEV);
	a->nlink = (uint32_t)sqlite3_column_int64(st, col + VF_NODE_NLINK);
	a->size = (uint64_t)sqlite3_column_int64(st, col + VF_NODE_SIZE);
	a->atime = sqlite3_column_int64(st, col + VF_NODE_ATIME);
	a->mtime = sqlite3_column_int64(st, col + VF_NODE_MTIME);
	a->ctime = sqlite3_column_int64(st, col + VF_NODE_CTIME);
}

int64_t vf_ns_version_from_row(sqlite3_stmt *st)
{
	return sqlite3_column_int64(st, VF_NODE_VERSION);
}

int vf_ns_node_attr(struct vf_vault *v, uint64_t ino, struct vf_attr *a,
		    int64_t *version)
{
	sqlite3_stmt *st = vf_catalog_stmt(v->cat, VF_Q_NODE_GET);
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, (int64_t)ino);
	rc = vf_catalog_row(st);
	if (rc == 1) {
		vf_ns_attr_from_row(st, 0, ino, a);
		if (version)
			*version = vf_ns_version_from_row(st);
		rc = 0;
	} else if (rc == 0) {
		rc = -ENOENT;
	}
	sqlite3_reset(st);
	return rc;
}

int vf_ns_lookup(struct vf_vault *v, uint64_t parent, const char *name,
		 uint64_t *ino)
{
	sqlite3_stmt *st = vf_catalog_stmt(v->cat, VF_Q_LOOKUP);
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, (int64_t)parent);
	sqlite3_bind_blob(st, 2, name, (int)strlen(name), SQLITE_STATIC);
	rc = vf_catalog_row(st);
	if (rc == 1) {
		*ino = (uint64_t)sqlite3_column_int64(st, 0);
		rc = 0;
	} else if (rc == 0) {
		rc = -ENOENT;
	}
	sqlite3_reset(st);
	return rc;
}

int vf_ns_dirent_add(struct vf_vault *v, uint64_t parent, const char *name,
		     uint64_t ino, int64_t now)
{
	sqlite3_stmt *st = vf_catalog_stmt(v->cat, VF_Q_DIRENT_INSERT);

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, (int64_t)parent);
	sqlite3_bind_blob(st, 2, name, (int)strlen(name), SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)ino);
	sqlite3_bind_int64(st, 4, now);
	return vf_catalog_run(st);
}

int vf_ns_dirent_kill(struct vf_vault *v, uint64_t parent, const char *name,
		      int64_t now)
{
	sqlite3_stmt *st = vf_catalog_stmt(v->cat, VF_Q_DIRENT_KILL);

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, (int64_t)parent);
	sqlite3_bind_blob(st, 2, name, (int)strlen(name), SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	return vf_catalog_run(st);
}

int vf_ns_nlink(struct vf_vault *v, uint64_t ino, int delta, int64_t now)
{
	sqlite3_stmt *st = vf_catalog_stmt(v->cat, VF_Q_NODE_NLINK);

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, (int64_t)ino);
	sqlite3_bind_int64(st, 2, delta);
	sqlite3_bind_int64(st, 3, now);
	return vf_catalog_run(st);
}

/* Runs an update of node ino that takes one more value (queries of the
 * form "... WHERE id=?1" with ?2). */
int vf_ns_node_update(struct vf_vault *v, enum vf_q q, uint64_t ino,
		      int64_t value)
{
	sqlite3_stmt *st = vf_catalog_stmt(v->cat, q);

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, (int64_t)ino);
	sqlite3_bind_int64(st, 2, value);
	return vf_catalog_run(st);
}

int vf_ns_touch(struct vf_vault *v, uint64_t ino, int64_t now)
{
	return vf_ns_node_update(v, VF_Q_NODE_TOUCH, ino, now);
}

int vf_ns_ctime(struct vf_vault *v, uint64_t ino, int64_t now)
{
	return vf_ns_node_update(v, VF_Q_NODE_CTIME, ino, now);
}

int vf_ns_parent_dir(struct vf_vault *v, uint64_t parent, struct vf_attr *pa)
{
	int rc = vf_ns_node_attr(v, parent, pa, NULL);

	if (rc)
		return rc;
	if (!S_ISDIR(pa->mode))
		return -ENOTDIR;
	if (pa->nlink == 0)
		return -ENOENT; /* a removed directory takes no new names */
	return 0;
}

int vf_ns_set_mode(struct vf_vault *v, uint64_t ino, uint32_t mode, int64_t now)
{
	sqlite3_stmt *st = vf_catalog_stmt(v->cat, VF_Q_NODE_SET_MODE);
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, (int64_t)ino);
	sqlite3_bind_int64(st, 2, mode);
	sqlite3_bind_int64(st, 3, now);
	rc = vf_catalog_run(st);
	if (!rc) {
		/* An open file's deferred metadata must not undo this at
		 * its commit. */
		struct vf_file *of = vf_file_find_locked(v, ino);

		if (of && of->meta_dirty) {
			of->mode = mode;
			of->ctime = now;
		}
	}
	return rc;
}

int vf_ns_attr(struct vf_vault *v, uint64_t ino, struct vf_attr *a)
{
	return vf_ns_node_attr(v, ino, a, NULL);
}

int vf_ns_link(struct vf_vault *v, uint64_t parent, const char *name,
	       const struct vf_attr *a, int64_t now)
{
	int rc = vf_ns_dirent_add(v, parent, name, a->ino, now);

	if (!rc && S_ISDIR(a->mode)) {
		/* "." and the new entry; subdirectories add theirs as they
		 * are linked in */
		rc = vf_ns_nlink(v, a->ino, 2 - (int)a->nlink, now);
		if (!rc)
			rc = vf_ns_nlink(v, parent, 1, now);
	} else if (!rc) {
		rc = vf_ns_nlink(v, a->ino, 1, now);
	}
	if (!rc)
		rc = vf_ns_touch(v, parent, now);
	return rc;
}

int vf_ns_parent(struct vf_vault *v, uint64_t ino, uint64_t *parent,
		 char name[VF_NAME_MAX + 1])
{
	sqlite3_stmt *st;
	int rc, n;

	if (ino == VF_ROOT_INO)
		return -ENOENT;
	st = vf_catalog_stmt(v->cat, VF_Q_PARENT_OF);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, (int64_t)ino);
	rc = vf_catalog_row(st);
	if (rc == 1) {
		*parent = (uint64_t)sqlite3_column_int64(st, 0);
		n = sqlite3_column_bytes(st, 1);
		if (n > VF_NAME_MAX) {
			rc = -ENAMETOOLONG;
		} else {
			memcpy(name, sqlite3_column_blob(st, 1), (size_t)n);
			name[n] = '\0';
		}
	}
	sqlite3_reset(st);
	return rc == 1 ? 0 : rc == 0 ? -ENOENT : rc;
}

/* Reads xattr name of ino into a malloc'd buffer (*out, *n); -ENODATA
 * when absent (v->mu held). */
int vf_ns_xattr_load(struct vf_vault *v, uint64_t ino, const char *name,
		     uint8_t **out, size_t *n)
{
	sqlite3_stmt *st = vf_catalog_stmt(v->cat, VF_Q_XATTR_GET);
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, (int64_t)ino);
	sqlite3_bind_blob(st, 2, name, (int)strlen(name), SQLITE_STATIC);
	rc = vf_catalog_row(st);
	if (rc == 1) {
		*n = (size_t)sqlite3_column_bytes(st, 0);
		*out = malloc(*n ? *n : 1);
		if (!*out)
			rc = -ENOMEM;
		else {
			if (*n)
				memcpy(*out, sqlite3_column_blob(st, 0), *n);
			rc = 0;
		}
	} else if (rc == 0) {
		rc = -ENODATA;
	}
	sqlite3_reset(st);
	return rc;
}

int vf_ns_xattr_store(struct vf_vault *v, uint64_t ino, const char *name,
		      const void *value, size_t n)
{
	sqlite3_stmt *st = vf_catalog_stmt(v->cat, VF_Q_XATTR_PUT);

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, (int64_t)ino);
	sqlite3_bind_blob(st, 2, name, (int)strlen(name), SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, n ? value : "", (int)n, SQLITE_STATIC);
	return vf_catalog_run(st);
}

int vf_ns_xattr_drop(struct vf_vault *v, uint64_t ino, const char *name)
{
	sqlite3_stmt *st = vf_catalog_stmt(v->cat, VF_Q_XATTR_DEL);

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, (int64_t)ino);
	sqlite3_bind_blob(st, 2, name, (int)strlen(name), SQLITE_STATIC);
	return vf_catalog_run(st);
}

int vf_ns_dir_path(struct vf_vault *v, uint64_t dir, char *buf, size_t cap)
{
	char name[VF_NAME_MAX + 1];
	size_t len = 0, n;
	uint64_t up;
	int rc, depth = 0;

	/* Built from the end of buf backwards, then moved to its start. */
	if (cap < 2)
		return -ENAMETOOLONG;
	buf[cap - 1] = '\0';
	while (dir != VF_ROOT_INO) {
		rc = vf_ns_parent(v, dir, &up, name);
		if (rc)
			return rc;
		n = strlen(name);
		if (len + n + 1 > cap - 1 || ++depth > VF_PATH_MAX)
			return -ENAMETOOLONG;
		len += n + 1;
		memcpy(buf + cap - 1 - len + 1, name, n);
		buf[cap - 1 - len] = '/';
		dir = up;
	}
	if (!len) {
		memcpy(buf, "/", 2);
		return 0;
	}
	memmove(buf, buf + cap - 1 - len, len + 1);
	return 0;
}
