/*
 * xattr.c - the vault facade's extended attribute entry points
 * (vf_vault_setxattr, _getxattr, _listxattr, _removexattr).
 *
 * Invariants: POSIX ACLs (system.posix_acl_*) are kept consistent with the
 * mode (a set ACL rewrites the mode's permission bits); the engine's own
 * attributes (user.vaultfs.*) are computed, never stored; every change
 * checks the role, read-only mounts, views, soft delete and immutability
 * first and runs in one transaction.
 */
#include <linux/limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "acl.h"
#include "authz.h"
#include "facade.h"
#include "immut.h"
#include "ns.h"
#include "open_files.h"

/* ---- extended attributes ----------------------------------------------- */

int vf_vault_setxattr(struct vf_vault *v, const struct vf_caller *c,
		      uint64_t ino, const char *name, const void *value,
		      size_t size, int flags)
{
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
					  vf_clock_now());
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
		rc = vf_ns_ctime(v, ino, vf_clock_now());
out:
	if (in_tx)
		rc = vf_catalog_finish(v->cat, rc);
	vf_vault_unlock(v);
	return rc;
}

ssize_t vf_vault_getxattr(struct vf_vault *v, const struct vf_caller *c,
			  uint64_t ino, const char *name, void *buf, size_t cap)
{
	sqlite3_stmt *st;
	ssize_t rc;
	int n;

	if (vf_authz_check(v, c, VF_ACT_READ))
		return -EACCES;
	/* views show a node's current xattrs (they are not versioned) */
	if (vf_view_is(ino) && !(ino = vf_view_node(v, ino)))
		return -ENODATA;
	if (!strcmp(name, "user.vaultfs.immutable"))
		return vf_immut_xattr(v, ino, buf, cap);
	if (!strncmp(name, "user.vaultfs.", 13))
		return vf_trash_xattr(v, ino, name, buf, cap);
	vf_vault_lock(v);
	st = vf_catalog_stmt(v->cat, VF_Q_XATTR_GET);
	if (!st) {
		rc = -EIO;
		goto out;
	}
	sqlite3_bind_int64(st, 1, (int64_t)ino);
	sqlite3_bind_blob(st, 2, name, (int)strlen(name), SQLITE_STATIC);
	rc = vf_catalog_row(st);
	if (rc == 1) {
		n = sqlite3_column_bytes(st, 0);
		if (cap == 0)
			rc = n;
		else if ((size_t)n > cap)
			rc = -ERANGE;
		else {
			if (n)
				memcpy(buf, sqlite3_column_blob(st, 0),
				       (size_t)n);
			rc = n;
		}
	} else if (rc == 0) {
		rc = -ENODATA;
	}
	sqlite3_reset(st);
out:
	vf_vault_unlock(v);
	return rc;
}

ssize_t vf_vault_listxattr(struct vf_vault *v, const struct vf_caller *c,
			   uint64_t ino, char *buf, size_t cap)
{
	sqlite3_stmt *st;
	size_t used = 0;
	ssize_t rc;
	int n;

	if (vf_authz_check(v, c, VF_ACT_READ))
		return -EACCES;
	if (vf_view_is(ino) && !(ino = vf_view_node(v, ino)))
		return 0;
	vf_vault_lock(v);
	st = vf_catalog_stmt(v->cat, VF_Q_XATTR_LIST);
	if (!st) {
		rc = -EIO;
		goto out;
	}
	sqlite3_bind_int64(st, 1, (int64_t)ino);
	while ((rc = vf_catalog_row(st)) == 1) {
		n = sqlite3_column_bytes(st, 0);
		if (cap && used + (size_t)n + 1 > cap) {
			rc = -ERANGE;
			break;
		}
		if (cap) {
			memcpy(buf + used, sqlite3_column_blob(st, 0),
			       (size_t)n);
			buf[used + (size_t)n] = '\0';
		}
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
		rc = vf_ns_ctime(v, ino, vf_clock_now());
out:
	vf_vault_unlock(v);
	return rc;
}
