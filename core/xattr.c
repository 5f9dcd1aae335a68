/*
 * xattr.c - the vault facade's extended attribute entry points
 * (vf_vault_setxattr, _getxattr, _listxattr, _removexattr).
 *
 * Invariants: POSIX ACLs (system.posix_acl_*) are kept consistent with the
 * mode (a set ACL rewrites the mode's permission bits); the engine's own
 * attributes (user.vaultfs.*) are computed, never stored; every change
 * checks the role, read-only mounts, views, soft delete and immutability
 * first and runs in one transaction.  xattrs are versioned (catalog
 * format 3, table xattrhist): a history view shows them as they were at
 * its moment (value_at).
 */
#include <linux/limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "acl.h"
#include "authz.h"
#include "facade.h"
#include "file.h"
#include "immut.h"
#include "ns.h"
#include "open_files.h"
#include "vclock.h"
#include "view.h"

/* ---- extended attributes ----------------------------------------------- */

/* Copies an xattr value (column col of st) into buf as getxattr answers:
 * its size when cap is 0, -ERANGE when it does not fit. */
static ssize_t copy_value(sqlite3_stmt *st, int col, void *buf, size_t cap)
{
	int n = sqlite3_column_bytes(st, col);

	if (cap == 0)
		return n;
	if ((size_t)n > cap)
		return -ERANGE;
	if (n)
		memcpy(buf, sqlite3_column_blob(st, col), (size_t)n);
	return n;
}

/* The value of xattr name of ino as it was when the second before end
 * ended (end INT64_MAX: now).  v->mu held.  Size, -ENODATA or -errno. */
static ssize_t value_at(struct vf_vault *v, uint64_t ino, const char *name,
			int64_t end, void *buf, size_t cap)
{
	sqlite3_stmt *st;
	ssize_t rc = 0;

	if (end != INT64_MAX) {
		st = vf_catalog_stmt(v->cat, VF_Q_XATTR_AT);
		if (!st)
			return -EIO;
		sqlite3_bind_int64(st, 1, (int64_t)ino);
		sqlite3_bind_blob(st, 2, name, (int)strlen(name),
				  SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, end);
		rc = vf_catalog_row(st);
		if (rc == 1)
			rc = sqlite3_column_type(st, 0) == SQLITE_NULL ?
				     -ENODATA :
				     copy_value(st, 0, buf, cap);
		sqlite3_reset(st);
		if (rc != 0)
			return rc; /* the history's answer, or an error */
	}
	st = vf_catalog_stmt(v->cat, VF_Q_XATTR_GET);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, (int64_t)ino);
	sqlite3_bind_blob(st, 2, name, (int)strlen(name), SQLITE_STATIC);
	rc = vf_catalog_row(st);
	if (rc == 1)
		rc = copy_value(st, 0, buf, cap);
	else if (rc == 0)
		rc = -ENODATA;
	sqlite3_reset(st);
	return rc;
}

/* The open file of ino with a reference and its f->mu held, or NULL
 * when ino is not open.  While f->mu is held the file's write session
 * cannot end, so a change deferred to its close (catalog.h) is sure to
 * commit with it. */
static struct vf_file *hold_open(struct vf_vault *v, uint64_t ino)
{
	struct vf_file *f;

	vf_vault_lock(v);
	f = vf_file_find_locked(v, ino);
	if (f)
		f->refs++;
	vf_vault_unlock(v);
	if (f)
		pthread_mutex_lock(&f->mu);
	return f;
}

static void unhold(struct vf_vault *v, struct vf_file *f)
{
	if (!f)
		return;
	pthread_mutex_unlock(&f->mu);
	vf_file_put(v, f);
}

int vf_vault_setxattr(struct vf_vault *v, const struct vf_caller *c,
		      uint64_t ino, const char *name, const void *value,
		      size_t size, int flags)
{
	struct vf_file *f = NULL;
	struct vf_attr a;
	sqlite3_stmt *st;
	int rc, exists;
	int in_tx = 0;

	if (vf_authz_check(v, c, VF_ACT_WRITE))
		return -EACCES;
	if (vf_facade_refuse_change(v, ino, ino))
		return -EROFS;
	if (strlen(name) == 0 || strlen(name) > XATTR_NAME_MAX)
		return -ERANGE;
	/* user.vaultfs.* are the vault's own (purge times, immutability) */
	if (!strncmp(name, "user.vaultfs.", 13))
		return -EPERM;
	if ((rc = vf_facade_refuse_trashed(v, ino, 0)))
		return rc;
	vf_vault_lock(v);
	rc = vf_immut_check(v, c->uid, VF_IMM_XATTR, ino, 0);
	vf_vault_unlock(v);
	if (rc)
		return rc;
	if (size > XATTR_SIZE_MAX)
		return -E2BIG;
	/* cp -a, tar and rsync set xattrs and ACLs on the file they are
	 * writing: that joins the commit of its close (one recovery point) */
	f = hold_open(v, ino);
	vf_vault_lock(v);
	rc = vf_catalog_begin(v->cat);
	if (rc)
		goto out;
	in_tx = 1;
	rc = vf_ns_node_attr(v, ino, &a, NULL);
	if (!rc)
		vf_open_files_attr(v, &a);
	if (rc)
		goto out;
	st = vf_catalog_stmt(v->cat, VF_Q_XATTR_GET);
	sqlite3_bind_int64(st, 1, (int64_t)ino);
	sqlite3_bind_blob(st, 2, name, (int)strlen(name), SQLITE_STATIC);
	exists = vf_catalog_row(st);
	sqlite3_reset(st);
	if (exists < 0) {
		rc = exists;
		goto out;
	}
	if ((flags & XATTR_CREATE) && exists) {
		rc = -EEXIST;
		goto out;
	}
	if ((flags & XATTR_REPLACE) && !exists) {
		rc = -ENODATA;
		goto out;
	}
	if (!strcmp(name, VF_ACL_ACCESS)) {
		uint32_t bits;
		int equiv = vf_acl_check(value, size, &bits);

		/* The access ACL and the mode are one thing seen twice: the
		 * mode takes the ACL's bits; an ACL that only restates them
		 * is not kept. */
		rc = equiv < 0
			 ? -EINVAL
			 : vf_ns_set_mode(v, ino, (a.mode & ~0777u) | bits,
					  vf_vault_stamp(v));
		if (!rc)
			rc = equiv
				 ? vf_ns_xattr_drop(v, ino, name)
				 : vf_ns_xattr_store(v, ino, name, value, size);
	} else if (!strcmp(name, VF_ACL_DEFAULT)) {
		rc = !S_ISDIR(a.mode) ? -EACCES
		     : vf_acl_check(value, size, NULL) < 0
			 ? -EINVAL
			 : vf_ns_xattr_store(v, ino, name, value, size);
	} else {
		rc = vf_ns_xattr_store(v, ino, name, value, size);
	}
	if (!rc)
		rc = vf_ns_ctime(v, ino, vf_vault_stamp(v));
	if (!rc && f && f->dirty)
		vf_catalog_defer(v->cat);
out:
	if (in_tx)
		rc = vf_catalog_finish(v->cat, rc);
	vf_vault_unlock(v);
	unhold(v, f);
	return rc;
}

ssize_t vf_vault_getxattr(struct vf_vault *v, const struct vf_caller *c,
			  uint64_t ino, const char *name, void *buf, size_t cap)
{
	int64_t end = INT64_MAX;
	ssize_t rc;

	if (vf_authz_check(v, c, VF_ACT_READ))
		return -EACCES;
	/* history views show a node's xattrs as of their moment */
	if (vf_view_is(ino) && !(ino = vf_view_node_at(v, ino, &end)))
		return -ENODATA;
	if (!strcmp(name, "user.vaultfs.immutable"))
		return vf_immut_xattr(v, ino, buf, cap);
	if (!strncmp(name, "user.vaultfs.", 13))
		return vf_trash_xattr(v, ino, name, buf, cap);
	vf_vault_lock(v);
	rc = value_at(v, ino, name, end, buf, cap);
	vf_vault_unlock(v);
	return rc;
}

ssize_t vf_vault_listxattr(struct vf_vault *v, const struct vf_caller *c,
			   uint64_t ino, char *buf, size_t cap)
{
	int64_t end = INT64_MAX;
	sqlite3_stmt *st;
	size_t used = 0;
	ssize_t rc;
	int n;

	if (vf_authz_check(v, c, VF_ACT_READ))
		return -EACCES;
	if (vf_view_is(ino) && !(ino = vf_view_node_at(v, ino, &end)))
		return 0;
	vf_vault_lock(v);
	/* as of a view's moment: every name it has now or had then, each
	 * kept when it existed then */
	st = vf_catalog_stmt(v->cat, end == INT64_MAX ? VF_Q_XATTR_LIST :
							VF_Q_XATTR_NAMES_AT);
	if (!st) {
		rc = -EIO;
		goto out;
	}
	sqlite3_bind_int64(st, 1, (int64_t)ino);
	if (end != INT64_MAX)
		sqlite3_bind_int64(st, 2, end);
	while ((rc = vf_catalog_row(st)) == 1) {
		char name[XATTR_NAME_MAX + 1];

		n = sqlite3_column_bytes(st, 0);
		if (n > XATTR_NAME_MAX)
			continue; /* not a name setxattr accepts */
		memcpy(name, sqlite3_column_blob(st, 0), (size_t)n);
		name[n] = '\0';
		if (end != INT64_MAX &&
		    value_at(v, ino, name, end, NULL, 0) == -ENODATA)
			continue;
		if (cap && used + (size_t)n + 1 > cap) {
			rc = -ERANGE;
			break;
		}
		if (cap)
			memcpy(buf + used, name, (size_t)n + 1);
		used += (size_t)n + 1;
	}
	sqlite3_reset(st);
	if (rc == 0)
		rc = (ssize_t)used;
out:
	vf_vault_unlock(v);
	return rc;
}

int vf_vault_removexattr(struct vf_vault *v, const struct vf_caller *c,
			 uint64_t ino, const char *name)
{
	sqlite3_stmt *st;
	int rc;

	if (vf_authz_check(v, c, VF_ACT_WRITE))
		return -EACCES;
	if (vf_facade_refuse_change(v, ino, ino))
		return -EROFS;
	if (!strncmp(name, "user.vaultfs.", 13))
		return -EPERM;
	if ((rc = vf_facade_refuse_trashed(v, ino, 0)))
		return rc;
	vf_vault_lock(v);
	rc = vf_immut_check(v, c->uid, VF_IMM_XATTR, ino, 0);
	if (rc) {
		vf_vault_unlock(v);
		return rc;
	}
	st = vf_catalog_stmt(v->cat, VF_Q_XATTR_DEL);
	if (!st) {
		rc = -EIO;
		goto out;
	}
	sqlite3_bind_int64(st, 1, (int64_t)ino);
	sqlite3_bind_blob(st, 2, name, (int)strlen(name), SQLITE_STATIC);
	rc = vf_catalog_run(st);
	if (!rc && sqlite3_changes(v->cat->db) == 0)
		rc = -ENODATA;
	if (!rc)
		rc = vf_ns_ctime(v, ino, vf_vault_stamp(v));
out:
	vf_vault_unlock(v);
	return rc;
}
