/*
 * vault_ns.c - the vault facade's namespace entry points: lookup,
 * getattr and setattr, mknod, mkdir, symlink, readlink, link, unlink,
 * rmdir, rename, readdir, statfs.  Each checks the caller's role, views,
 * read-only mounts, soft delete and immutability first, then changes the
 * catalog through ns.c in one transaction.  (vault.c opens and closes
 * vaults.)  setattr, the quota and statfs are in vault_ns_attr.c, the
 * tree delete of stop protection in vault_ns_delete.c; what they share
 * with this file is in vault_ns_int.h.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "acl.h"
#include "alert.h"
#include "audit.h"
#include "authz.h"
#include "facade.h"
#include "immut.h"
#include "ns.h"
#include "open_files.h"
#include "trip.h"
#include "vault_int.h"
#include "vault_ns_int.h"

/* Names the history views take at the root. */
static const char *const reserved_names[] = { ".snapshots", ".softdeleted",
					      ".versions" };

static int check_name(uint64_t parent, const char *name)
{
	size_t n = strlen(name), i;

	if (n == 0 || strchr(name, '/'))
		return -EINVAL;
	if (n > VF_NAME_MAX)
		return -ENAMETOOLONG;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return -EEXIST;
	if (parent == VF_ROOT_INO)
		for (i = 0; i < VF_ARRAY_LEN(reserved_names); i++)
			if (!strcmp(name, reserved_names[i]))
				return -EPERM;
	return 0;
}

/* ---- namespace ------------------------------------------------------- */

int vf_vault_lookup(struct vf_vault *v, const struct vf_caller *c,
		    uint64_t parent, const char *name, struct vf_attr *out)
{
	uint64_t ino;
	int64_t row = 0;
	int rc;

	if (vf_authz_check(v, c, VF_ACT_READ))
		return -EACCES;
	if (parent == VF_ROOT_INO && !strcmp(name, ".softdeleted"))
		return vf_trash_getattr(v, (uint64_t)VF_VIEW_TRASH
						   << VF_VIEW_SHIFT, out);
	if (vf_view_kind(parent) == VF_VIEW_TRASH ||
	    vf_view_kind(parent) == VF_VIEW_TCONT) {
		vf_vault_lock(v);
		rc = vf_trash_dir(v, parent, &row);
		vf_vault_unlock(v);
		return rc < 0 ? rc : vf_trash_lookup(v, row, name, out);
	}
	if (vf_view_is(parent) ||
	    (parent == VF_ROOT_INO && vf_view_root_name(name)))
		return vf_view_lookup(v, parent, name, out);
	if (strlen(name) > VF_NAME_MAX)
		return -ENAMETOOLONG;
	vf_vault_lock(v);
	rc = vf_ns_lookup(v, parent, name, &ino);
	if (!rc)
		rc = vf_ns_node_attr(v, ino, out, NULL);
	if (!rc)
		vf_open_files_attr(v, out);
	/* a name in a deleted directory is a row in .softdeleted */
	if (rc == -ENOENT && vf_trash_dir(v, parent, &row) == 1) {
		vf_vault_unlock(v);
		return vf_trash_lookup(v, row, name, out);
	}
	vf_vault_unlock(v);
	return rc;
}

int vf_vault_getattr(struct vf_vault *v, const struct vf_caller *c,
		     uint64_t ino, struct vf_attr *out)
{
	int rc;

	if (vf_authz_check(v, c, VF_ACT_READ))
		return -EACCES;
	if (vf_view_kind(ino) == VF_VIEW_TRASH ||
	    vf_view_kind(ino) == VF_VIEW_TCONT)
		return vf_trash_getattr(v, ino, out);
	if (vf_view_is(ino))
		return vf_view_getattr(v, ino, out);
	vf_vault_lock(v);
	rc = vf_ns_node_attr(v, ino, out, NULL);
	if (!rc)
		vf_open_files_attr(v, out);
	/* a deleted file not held open: its names are in .softdeleted (an
	 * open one shows 0 links, as POSIX has it after unlink) */
	if (!rc && out->nlink == 0 && !S_ISDIR(out->mode) &&
	    !vf_file_find_locked(v, ino)) {
		rc = vf_trash_names(v, ino, &out->nlink);
		if (out->nlink)
			out->flags |= VF_ATTR_VOLATILE;
	}
	vf_vault_unlock(v);
	return rc;
}

/* A chmod rewrites the access ACL's owner, group-class and other entries
 * so the two never disagree (v->mu held). */
int vf_vault_ns_acl_follow_chmod(struct vf_vault *v, uint64_t ino,
				 uint32_t mode)
{
	uint8_t *acl = NULL;
	size_t n;
	int rc = vf_ns_xattr_load(v, ino, VF_ACL_ACCESS, &acl, &n);

	if (rc == -ENODATA)
		return 0;
	if (!rc) {
		vf_acl_chmod(acl, n, mode);
		rc = vf_ns_xattr_store(v, ino, VF_ACL_ACCESS, acl, n);
	}
	free(acl);
	return rc;
}

/* The permissions of a new node: the parent's default ACL when it has
 * one (stored on the node as its access ACL, and for a directory as its
 * default ACL too), else the caller's umask (v->mu held, in the create
 * transaction; runs after the node row exists). */
static int inherit_acl(struct vf_vault *v, uint64_t parent, uint64_t ino,
		       uint32_t *mode)
{
	uint8_t *dacl = NULL, *acl = NULL;
	size_t n;
	int rc;

	rc = vf_ns_xattr_load(v, parent, VF_ACL_DEFAULT, &dacl, &n);
	if (rc)
		return rc == -ENODATA ? 1 : rc;
	if (vf_acl_check(dacl, n, NULL) < 0) {
		free(dacl);
		return 1;
	}
	acl = malloc(n);
	rc = acl ? 0 : -ENOMEM;
	if (!rc) {
		memcpy(acl, dacl, n);
		if (vf_acl_create(acl, n, mode) == 0)
			rc = vf_ns_xattr_store(v, ino, VF_ACL_ACCESS, acl, n);
	}
	if (!rc && S_ISDIR(*mode))
		rc = vf_ns_xattr_store(v, ino, VF_ACL_DEFAULT, dacl, n);
	if (!rc)
		rc = vf_ns_set_mode(v, ino, *mode, vf_vault_stamp(v));
	free(acl);
	free(dacl);
	return rc;
}

/* Creates a node named name in parent: the common part of mknod, mkdir,
 * symlink and create. */
static int new_node(struct vf_vault *v, const struct vf_caller *c,
		    uint64_t parent, const char *name, uint32_t mode,
		    uint64_t rdev, const char *target, int defer,
		    struct vf_attr *out)
{
	struct vf_attr pa;
	sqlite3_stmt *st;
	uint64_t ino;
	int64_t now;
	uint32_t gid = c->gid, requested;
	int in_tx = 0;
	int rc;

	if (vf_facade_refuse_change(v, parent, parent))
		return -EROFS;
	rc = check_name(parent, name);
	if (rc)
		return rc;
	vf_vault_lock(v);
	rc = vf_catalog_begin(v->cat);
	if (rc)
		goto out;
	in_tx = 1;
	now = vf_vault_stamp(v);
	rc = vf_ns_parent_dir(v, parent, &pa);
	if (rc)
		goto out;
	rc = vf_ns_lookup(v, parent, name, &ino);
	if (rc != -ENOENT) {
		rc = rc ? rc : -EEXIST;
		goto out;
	}
	/* BSD group semantics under a setgid directory, as ext4 does. */
	if (pa.mode & S_ISGID) {
		gid = pa.gid;
		if (S_ISDIR(mode))
			mode |= S_ISGID;
	}
	st = vf_catalog_stmt(v->cat, VF_Q_NODE_INSERT);
	if (!st) {
		rc = -EIO;
		goto out;
	}
	requested = mode;
	if (!target)
		mode &= ~(c->umask & 0777);
	sqlite3_bind_int64(st, 1, mode);
	sqlite3_bind_int64(st, 2, c->uid);
	sqlite3_bind_int64(st, 3, gid);
	sqlite3_bind_int64(st, 4, (int64_t)rdev);
	sqlite3_bind_int64(st, 5, S_ISDIR(mode) ? 2 : 1);
	sqlite3_bind_int64(st, 6, now);
	if (target)
		sqlite3_bind_blob(st, 7, target, (int)strlen(target),
				  SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 7);
	rc = vf_catalog_run(st);
	if (rc)
		goto out;
	ino = (uint64_t)sqlite3_last_insert_rowid(v->cat->db);
	vf_immut_created(v, ino, c->uid);
	if (!target) {
		/* A default ACL replaces the umask (POSIX 1003.1e). */
		rc = inherit_acl(v, parent, ino, &requested);
		if (rc < 0)
			goto out;
	}
	rc = vf_ns_dirent_add(v, parent, name, ino, now);
	if (!rc)
		rc = vf_ns_touch(v, parent, now);
	if (!rc && S_ISDIR(mode))
		rc = vf_ns_nlink(v, parent, 1, now);
	if (!rc && target)
		rc = vf_ns_node_update(v, VF_Q_NODE_SET_SIZE, ino,
				       (int64_t)strlen(target));
	if (!rc)
		rc = vf_ns_node_attr(v, ino, out, NULL);
	if (!rc && defer)
		vf_catalog_defer(v->cat);
out:
	if (in_tx)
		rc = vf_catalog_finish(v->cat, rc);
	vf_vault_unlock(v);
	return rc;
}

int vf_vault_mknod(struct vf_vault *v, const struct vf_caller *c,
		   uint64_t parent, const char *name, uint32_t mode,
		   uint64_t rdev, struct vf_attr *out)
{
	if (vf_authz_check(v, c, VF_ACT_WRITE))
		return -EACCES;
	if (S_ISDIR(mode) || S_ISLNK(mode))
		return -EINVAL;
	if (!(mode & S_IFMT))
		mode |= S_IFREG;
	return new_node(v, c, parent, name, mode, rdev, NULL, 0, out);
}

/* A new file (type REG, its commit deferred) or directory (DIR). */
static int new_reg_or_dir(struct vf_vault *v, const struct vf_caller *c,
			  uint64_t parent, const char *name, uint32_t type,
			  uint32_t mode, struct vf_attr *out)
{
	if (vf_authz_check(v, c, VF_ACT_WRITE))
		return -EACCES;
	return new_node(v, c, parent, name, type | (mode & 07777), 0, NULL,
			type == S_IFREG, out);
}

int vf_facade_new_file(struct vf_vault *v, const struct vf_caller *c,
		       uint64_t parent, const char *name, uint32_t mode,
		       struct vf_attr *out)
{
	return new_reg_or_dir(v, c, parent, name, S_IFREG, mode, out);
}

int vf_vault_mkdir(struct vf_vault *v, const struct vf_caller *c,
		   uint64_t parent, const char *name, uint32_t mode,
		   struct vf_attr *out)
{
	return new_reg_or_dir(v, c, parent, name, S_IFDIR, mode, out);
}

int vf_vault_symlink(struct vf_vault *v, const struct vf_caller *c,
		     uint64_t parent, const char *name, const char *target,
		     struct vf_attr *out)
{
	size_t n = strlen(target);

	if (vf_authz_check(v, c, VF_ACT_WRITE))
		return -EACCES;
	if (n == 0)
		return -ENOENT;
	if (n > VF_PATH_MAX)
		return -ENAMETOOLONG;
	return new_node(v, c, parent, name, S_IFLNK | 0777, 0, target, 0,
			out);
}

int vf_vault_readlink(struct vf_vault *v, const struct vf_caller *c,
		      uint64_t ino, char *buf, size_t cap)
{
	sqlite3_stmt *st;
	int rc, n;

	if (vf_authz_check(v, c, VF_ACT_READ))
		return -EACCES;
	if (vf_view_is(ino) && !(ino = vf_view_node(v, ino)))
		return -EINVAL;
	vf_vault_lock(v);
	st = vf_catalog_stmt(v->cat, VF_Q_NODE_TARGET);
	if (!st) {
		rc = -EIO;
		goto out;
	}
	sqlite3_bind_int64(st, 1, (int64_t)ino);
	rc = vf_catalog_row(st);
	if (rc == 1) {
		n = sqlite3_column_bytes(st, 0);
		if (sqlite3_column_type(st, 0) == SQLITE_NULL)
			rc = -EINVAL;
		else if ((size_t)n >= cap)
			rc = -ENAMETOOLONG;
		else {
			memcpy(buf, sqlite3_column_blob(st, 0), (size_t)n);
			buf[n] = '\0';
			rc = 0;
		}
	} else if (rc == 0) {
		rc = -ENOENT;
	}
	sqlite3_reset(st);
out:
	vf_vault_unlock(v);
	return rc;
}

int vf_vault_link(struct vf_vault *v, const struct vf_caller *c, uint64_t ino,
		  uint64_t newparent, const char *newname, struct vf_attr *out)
{
	struct vf_attr a, pa;
	uint64_t other;
	int64_t now;
	int rc;

	if (vf_authz_check(v, c, VF_ACT_WRITE))
		return -EACCES;
	if (vf_facade_refuse_change(v, ino, newparent))
		return -EROFS;
	rc = check_name(newparent, newname);
	if (!rc)
		rc = vf_facade_refuse_trashed(v, ino,
					      -EXDEV); /* undelete is mv */
	if (rc)
		return rc;
	vf_vault_lock(v);
	rc = vf_catalog_begin(v->cat);
	if (rc)
		goto out;
	now = vf_vault_stamp(v);
	rc = vf_ns_node_attr(v, ino, &a, NULL);
	if (!rc && S_ISDIR(a.mode))
		rc = -EPERM;
	if (!rc)
		rc = vf_ns_parent_dir(v, newparent, &pa);
	if (!rc) {
		rc = vf_ns_lookup(v, newparent, newname, &other);
		rc = rc == -ENOENT ? 0 : rc ? rc : -EEXIST;
	}
	/* no second name into or out of an immutable tree */
	if (!rc)
		rc = vf_immut_check(v, c->uid, VF_IMM_LINK, ino, newparent);
	if (!rc)
		rc = vf_ns_dirent_add(v, newparent, newname, ino, now);
	if (!rc)
		rc = vf_ns_nlink(v, ino, 1, now);
	if (!rc)
		rc = vf_ns_touch(v, newparent, now);
	if (!rc)
		rc = vf_ns_node_attr(v, ino, out, NULL);
	rc = vf_catalog_finish(v->cat, rc);
	if (!rc)
		vf_open_files_attr(v, out);
out:
	vf_vault_unlock(v);
	return rc;
}

/* Ends the name (parent, name) of node a: the common part of unlink,
 * rmdir and rename over an existing name. */
static int drop_name(struct vf_vault *v, uint64_t parent, const char *name,
		     const struct vf_attr *a, int64_t now)
{
	int rc = vf_ns_dirent_kill(v, parent, name, now);

	if (rc)
		return rc;
	if (S_ISDIR(a->mode)) {
		rc = vf_ns_nlink(v, a->ino, -(int)a->nlink, now);
		if (!rc)
			rc = vf_ns_nlink(v, parent, -1, now);
	} else {
		rc = vf_ns_nlink(v, a->ino, -1, now);
	}
	return rc;
}

int vf_vault_ns_dir_is_empty(struct vf_vault *v, uint64_t ino)
{
	sqlite3_stmt *st = vf_catalog_stmt(v->cat, VF_Q_DIR_HAS_CHILD);
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, (int64_t)ino);
	rc = vf_catalog_row(st);
	sqlite3_reset(st);
	return rc < 0 ? rc : rc == 1 ? -ENOTEMPTY : 0;
}

/* One audit record per deletion, naming what was deleted (its live path
 * just before), in the deletion's transaction: no record, no deletion. */
static int audit_delete(struct vf_vault *v, uint32_t uid, uint64_t parent,
			const char *name, const char *how, int64_t now)
{
	char *path = malloc(VF_PATH_MAX + VF_NAME_MAX + 2);
	size_t n;
	int rc;

	if (!path)
		return -ENOMEM;
	rc = vf_ns_dir_path(v, parent, path, VF_PATH_MAX + 1);
	if (rc == -ENAMETOOLONG) {
		memcpy(path, "...", 4); /* named by its last part only */
		rc = 0;
	}
	if (!rc) {
		n = strlen(path);
		snprintf(path + n, VF_NAME_MAX + 2, "%s%s",
			 path[n - 1] == '/' ? "" : "/", name);
		rc = vf_audit_record(v, now, uid, "delete", path, "ok", how);
	}
	free(path);
	return rc;
}

/* Deletes the name parent/name of node a, checked already (v->mu held,
 * the caller's transaction): the name goes to .softdeleted (README.md, Soft delete); a
 * file with other names stays live through them, and its rows there are
 * hard links.  how is the audit record's detail. */
int vf_vault_ns_delete_name(struct vf_vault *v, uint32_t uid, uint64_t parent,
			    const char *name, const struct vf_attr *a,
			    int64_t now, const char *how)
{
	int rc = drop_name(v, parent, name, a, now);

	if (!rc)
		rc = vf_trash_add(v, parent, name, a->ino, S_ISDIR(a->mode),
				  now);
	if (!rc)
		rc = vf_ns_touch(v, parent, now);
	if (!rc)
		rc = audit_delete(v, uid, parent, name, how, now);
	return rc;
}

static int remove_name(struct vf_vault *v, uint32_t uid, uint64_t parent,
		       const char *name, int want_dir)
{
	struct vf_attr a;
	uint64_t ino;
	int64_t now;
	int rc;

	if (vf_facade_refuse_change(v, parent, parent) ||
	    (parent == VF_ROOT_INO &&
	     (vf_view_root_name(name) || !strcmp(name, ".softdeleted"))))
		return -EROFS;
	if (strlen(name) > VF_NAME_MAX)
		return -ENAMETOOLONG;
	vf_vault_lock(v);
	rc = vf_catalog_begin(v->cat);
	if (rc)
		goto out;
	now = vf_vault_stamp(v);
	rc = vf_ns_lookup(v, parent, name, &ino);
	if (!rc)
		rc = vf_ns_node_attr(v, ino, &a, NULL);
	if (!rc && want_dir && !S_ISDIR(a.mode))
		rc = -ENOTDIR;
	if (!rc && !want_dir && S_ISDIR(a.mode))
		rc = -EISDIR;
	if (!rc && want_dir)
		rc = vf_vault_ns_dir_is_empty(v, ino);
	if (!rc)
		rc = vf_immut_check_name(v, uid, VF_IMM_UNLINK, ino, parent,
					 name);
	if (!rc)
		rc = vf_vault_ns_delete_name(v, uid, parent, name, &a, now,
					     want_dir ? "rmdir" : "unlink");
	rc = vf_catalog_finish(v->cat, rc);
out:
	vf_vault_unlock(v);
	return rc;
}

/* Deletions are audited one by one, with their paths (remove_name):
 * deleting takes the Contributor role, and each one already writes a
 * trash row in the same transaction, so the log grows with the trash. */
static int audited_remove(struct vf_vault *v, const struct vf_caller *c,
			  uint64_t parent, const char *name, int want_dir)
{
	int rc = remove_name(v, c->uid, parent, name, want_dir);

	if (!rc)
		vf_alert_deleted(v, c->uid);
	if (!rc && !want_dir)
		vf_trip_note(v, c->uid, VF_TRIP_EV_DELETE, 0);
	return rc;
}

int vf_vault_unlink(struct vf_vault *v, const struct vf_caller *c,
		    uint64_t parent, const char *name)
{
	if (vf_authz_check(v, c, VF_ACT_DELETE))
		return -EACCES;
	return audited_remove(v, c, parent, name, 0);
}

int vf_vault_rmdir(struct vf_vault *v, const struct vf_caller *c,
		   uint64_t parent, const char *name)
{
	if (vf_authz_check(v, c, VF_ACT_DELETE))
		return -EACCES;
	return audited_remove(v, c, parent, name, 1);
}

static int move_name(struct vf_vault *v, const struct vf_attr *a,
		     uint64_t parent, const char *name, uint64_t newparent,
		     const char *newname, int64_t now)
{
	int rc = vf_ns_dirent_kill(v, parent, name, now);

	if (!rc)
		rc = vf_ns_dirent_add(v, newparent, newname, a->ino, now);
	if (!rc && S_ISDIR(a->mode) && parent != newparent) {
		rc = vf_ns_nlink(v, parent, -1, now);
		if (!rc)
			rc = vf_ns_nlink(v, newparent, 1, now);
	}
	if (!rc)
		rc = vf_ns_ctime(v, a->ino, now);
	return rc;
}

static int do_rename(struct vf_vault *v, uint32_t uid, uint64_t parent,
		     const char *name, uint64_t newparent, const char *newname,
		     unsigned flags, int64_t now)
{
	struct vf_attr sa, da, pa;
	uint64_t src, dst;
	int rc, have_dst;

	rc = vf_ns_parent_dir(v, newparent, &pa);
	if (rc)
		return rc;
	rc = vf_ns_lookup(v, parent, name, &src);
	if (!rc)
		rc = vf_ns_node_attr(v, src, &sa, NULL);
	if (rc)
		return rc;
	rc = vf_ns_lookup(v, newparent, newname, &dst);
	if (rc && rc != -ENOENT)
		return rc;
	have_dst = !rc;
	if (have_dst && dst == src)
		return 0; /* two names of one inode: POSIX says do nothing */
	if (have_dst && (flags & RENAME_NOREPLACE))
		return -EEXIST;
	if (!have_dst && (flags & RENAME_EXCHANGE))
		return -ENOENT;
	if (have_dst) {
		rc = vf_ns_node_attr(v, dst, &da, NULL);
		if (rc)
			return rc;
	}
	/* immutability: the source leaves its place and enters another; a
	 * replaced (or exchanged) target loses its place */
	rc = vf_immut_check_name(v, uid, VF_IMM_RENAME_FROM, src, parent,
				 name);
	if (!rc)
		rc = vf_immut_check(v, uid, VF_IMM_RENAME_INTO, src, newparent);
	if (!rc && have_dst)
		rc = vf_immut_check(v, uid, VF_IMM_RENAME_OVER, dst, newparent);
	if (!rc && have_dst && (flags & RENAME_EXCHANGE))
		rc = vf_immut_check(v, uid, VF_IMM_RENAME_INTO, dst, parent);
	if (rc)
		return rc;
	if (flags & RENAME_EXCHANGE) {
		rc = vf_ns_dirent_kill(v, newparent, newname, now);
		if (!rc)
			rc = move_name(v, &sa, parent, name, newparent,
				       newname, now);
		if (!rc)
			rc = vf_ns_dirent_add(v, parent, name, dst, now);
		if (!rc && S_ISDIR(da.mode) && parent != newparent) {
			rc = vf_ns_nlink(v, newparent, -1, now);
			if (!rc)
				rc = vf_ns_nlink(v, parent, 1, now);
		}
		if (!rc)
			rc = vf_ns_ctime(v, dst, now);
		goto touch;
	}
	if (have_dst) {
		if (S_ISDIR(sa.mode) && !S_ISDIR(da.mode))
			return -ENOTDIR;
		if (!S_ISDIR(sa.mode) && S_ISDIR(da.mode))
			return -EISDIR;
		if (S_ISDIR(da.mode)) {
			rc = vf_vault_ns_dir_is_empty(v, dst);
			if (rc)
				return rc;
		}
		/* Not a deletion (README.md, Soft delete): the displaced node keeps its
		 * versions, and when it was a regular file replaced by one
		 * and this was its last name, they become the history of
		 * the file now at the path (.versions, prune). */
		rc = drop_name(v, newparent, newname, &da, now);
		if (!rc && S_ISREG(da.mode) && S_ISREG(sa.mode) &&
		    da.nlink == 1)
			rc = vf_ns_node_update(v, VF_Q_NODE_SUCCEED, dst,
					       (int64_t)src);
		if (rc)
			return rc;
	}
	rc = move_name(v, &sa, parent, name, newparent, newname, now);
touch:
	if (!rc)
		rc = vf_ns_touch(v, parent, now);
	if (!rc && newparent != parent)
		rc = vf_ns_touch(v, newparent, now);
	return rc;
}

int vf_vault_rename(struct vf_vault *v, const struct vf_caller *c,
		    uint64_t parent, const char *name, uint64_t newparent,
		    const char *newname, unsigned flags)
{
	int64_t row;
	int rc;

	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	/* out of .softdeleted: undelete */
	vf_vault_lock(v);
	rc = vf_trash_dir(v, parent, &row);
	vf_vault_unlock(v);
	if (rc < 0)
		return rc;
	if (vf_authz_check(v, c, rc == 1 ? VF_ACT_RESTORE : VF_ACT_WRITE))
		return -EACCES;
	if (rc == 1) {
		if (vf_facade_read_only(v) || vf_view_is(newparent))
			return -EROFS;
		if (flags & RENAME_EXCHANGE)
			return -EINVAL;
		rc = check_name(newparent, newname);
		return rc ? rc : vf_trash_restore(v, c->uid, row, name,
						  newparent, newname);
	}
	if (vf_facade_refuse_change(v, parent, newparent) ||
	    (parent == VF_ROOT_INO &&
	     (vf_view_root_name(name) || !strcmp(name, ".softdeleted"))))
		return -EROFS;
	if (strlen(name) > VF_NAME_MAX)
		return -ENAMETOOLONG;
	rc = check_name(newparent, newname);
	if (rc)
		return rc;
	vf_vault_lock(v);
	rc = vf_catalog_begin(v->cat);
	if (rc)
		goto out;
	rc = do_rename(v, c->uid, parent, name, newparent, newname, flags,
		       vf_vault_stamp(v));
	rc = vf_catalog_finish(v->cat, rc);
out:
	vf_vault_unlock(v);
	if (!rc)
		vf_trip_renamed(v, c->uid, name, newname);
	return rc;
}

/* ---- directories ----------------------------------------------------- */

/* Cookies: 0 start, 1 after ".", 2 after "..", d+2 after dirent id d. */
int vf_vault_readdir(struct vf_vault *v, const struct vf_caller *c,
		     uint64_t ino, uint64_t off, vf_readdir_cb cb, void *arg)
{
	struct vf_attr a, pa;
	sqlite3_stmt *st;
	char name[VF_NAME_MAX + 1];
	int64_t row;
	int rc, n;

	if (vf_authz_check(v, c, VF_ACT_READ))
		return -EACCES;
	if (vf_view_kind(ino) == VF_VIEW_TRASH ||
	    vf_view_kind(ino) == VF_VIEW_TCONT) {
		vf_vault_lock(v);
		rc = vf_trash_dir(v, ino, &row);
		vf_vault_unlock(v);
		return rc < 0 ? rc : vf_trash_readdir(v, ino, row, off, cb, arg);
	}
	if (vf_view_is(ino))
		return vf_view_readdir(v, ino, off, cb, arg);
	vf_vault_lock(v);
	rc = vf_ns_node_attr(v, ino, &a, NULL);
	if (!rc && !S_ISDIR(a.mode))
		rc = -ENOTDIR;
	if (rc)
		goto out;
	if (a.nlink == 0 && vf_trash_dir(v, ino, &row) == 1) {
		vf_vault_unlock(v);
		return vf_trash_readdir(v, ino, row, off, cb, arg);
	}
	if (off == 0) {
		if (cb(arg, ".", &a, 1))
			goto out;
		off = 1;
	}
	if (off == 1) {
		uint64_t up = VF_ROOT_INO;

		st = vf_catalog_stmt(v->cat, VF_Q_PARENT_OF);
		if (ino != VF_ROOT_INO && st) {
			sqlite3_bind_int64(st, 1, (int64_t)ino);
			if (vf_catalog_row(st) == 1)
				up = (uint64_t)sqlite3_column_int64(st, 0);
			sqlite3_reset(st);
		}
		if (vf_ns_node_attr(v, up, &pa, NULL))
			pa = a;
		if (cb(arg, "..", &pa, 2))
			goto out;
		off = 2;
	}
	st = vf_catalog_stmt(v->cat, VF_Q_READDIR);
	if (!st) {
		rc = -EIO;
		goto out;
	}
	sqlite3_bind_int64(st, 1, (int64_t)ino);
	sqlite3_bind_int64(st, 2, (int64_t)off - 2);
	while ((rc = vf_catalog_row(st)) == 1) {
		int64_t id = sqlite3_column_int64(st, VF_READDIR_ID);

		n = sqlite3_column_bytes(st, VF_READDIR_NAME);
		if (n > VF_NAME_MAX)
			continue;
		memcpy(name, sqlite3_column_blob(st, VF_READDIR_NAME),
		       (size_t)n);
		name[n] = '\0';
		vf_ns_attr_from_row(
		    st, VF_READDIR_ATTR,
		    (uint64_t)sqlite3_column_int64(st, VF_READDIR_NODE), &a);
		vf_open_files_attr(v, &a);
		if (cb(arg, name, &a, (uint64_t)id + 2))
			break;
	}
	sqlite3_reset(st);
	rc = rc < 0 ? rc : 0;
out:
	vf_vault_unlock(v);
	return rc;
}
