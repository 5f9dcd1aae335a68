/*
 * vault_ns_attr.c - the facade's attribute entry points: setattr (chmod,
 * chown, utimens, truncate; a deferred setattr on an open file), the
 * quota and statfs.  Each checks role, views, read-only mounts, soft
 * delete and immutability first, like the rest of vault_ns.c.
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

#include "authz.h"
#include "facade.h"
#include "file.h"
#include "gc.h"
#include "immut.h"
#include "ns.h"
#include "open_files.h"
#include "trip.h"
#include "vault_int.h"
#include "vault_ns_int.h"

/* ---- attributes -------------------------------------------------------- */

static void apply_setattr(const struct vf_setattr *sa, int64_t now,
			  struct vf_attr *a)
{
	if (sa->valid & VF_SET_MODE)
		a->mode = (a->mode & S_IFMT) | (sa->mode & 07777);
	if (sa->valid & VF_SET_UID)
		a->uid = sa->uid;
	if (sa->valid & VF_SET_GID)
		a->gid = sa->gid;
	if (sa->valid & VF_SET_ATIME)
		a->atime = sa->atime;
	if (sa->valid & VF_SET_ATIME_NOW)
		a->atime = now;
	if (sa->valid & VF_SET_MTIME)
		a->mtime = sa->mtime;
	if (sa->valid & VF_SET_MTIME_NOW)
		a->mtime = now;
	a->ctime = (sa->valid & VF_SET_CTIME) ? sa->ctime : now;
}

/* Metadata changes to a file with uncommitted writes join the commit
 * that its close makes (one transaction instead of several, as cp -a
 * sets times and owners just before closing).  Returns 1 when handled. */
static int setattr_deferred(struct vf_vault *v, struct vf_file *f,
			    const struct vf_setattr *sa, int64_t now,
			    struct vf_attr *out)
{
	struct vf_attr a;
	int handled = 0;

	pthread_mutex_lock(&f->mu);
	if (f->dirty) {
		vf_vault_lock(v);
		if (vf_ns_node_attr(v, f->ino, &a, NULL) == 0) {
			vf_open_files_attr(v, &a);
			apply_setattr(sa, now, &a);
			f->mode = a.mode;
			f->uid = a.uid;
			f->gid = a.gid;
			f->atime = a.atime;
			f->mtime = a.mtime;
			f->ctime = a.ctime;
			f->meta_dirty = 1;
			*out = a;
			handled = 1;
			if ((sa->valid & VF_SET_MODE) &&
			    vf_vault_ns_acl_follow_chmod(v, f->ino, a.mode) < 0)
				handled = 0;
		}
		vf_vault_unlock(v);
	}
	pthread_mutex_unlock(&f->mu);
	return handled;
}

int vf_vault_setattr(struct vf_vault *v, const struct vf_caller *c,
		     uint64_t ino, struct vf_handle *h,
		     const struct vf_setattr *sa, struct vf_attr *out)
{
	struct vf_attr a;
	struct vf_file *f = NULL;
	sqlite3_stmt *st;
	int64_t now = vf_vault_stamp(v), t0;
	int rc;

	if (vf_authz_check(v, c, VF_ACT_WRITE))
		return -EACCES;
	if (vf_facade_refuse_change(v, ino, ino))
		return -EROFS;
	/* through a descriptor an unlinked file stays writable (POSIX) */
	if (!h && (rc = vf_facade_refuse_trashed(v, ino, 0)))
		return rc;
	vf_vault_lock(v);
	rc = 0;
	if (sa->valid & VF_SET_SIZE)
		rc = vf_immut_check(v, c->uid, VF_IMM_TRUNCATE, ino, 0);
	if (!rc && (sa->valid & (VF_SET_MODE | VF_SET_UID | VF_SET_GID)))
		rc = vf_immut_check(v, c->uid, VF_IMM_CHMOD, ino, 0);
	if (rc) {
		vf_vault_unlock(v);
		return rc;
	}
	f = vf_file_find_locked(v, ino);
	if (f)
		f->refs++;
	vf_vault_unlock(v);
	if (sa->valid & VF_SET_SIZE) {
		if (!f) {
			rc = vf_file_get(v, ino, &f);
			if (rc)
				return rc;
		}
		pthread_mutex_lock(&f->mu);
		rc = vf_file_load(v, f);
		if (!rc) {
			/* what a truncation replaces is sampled before it */
			vf_trip_begin(v, f);
			rc = vf_file_truncate(v, f, sa->size);
		}
		/* A truncate with no open handle is a whole write+close
		 * (with no content: nothing for the tripwire). */
		if (!rc && !h && f->refs == 1)
			rc = vf_file_commit(v, f);
		if (!rc && !f->dirty)
			(void)vf_trip_end(f, &t0);
		pthread_mutex_unlock(&f->mu);
		if (rc) {
			vf_file_put(v, f);
			return rc;
		}
	}
	if (f && (f->refs > 1 || h) && setattr_deferred(v, f, sa, now, out)) {
		vf_file_put(v, f);
		return 0;
	}
	vf_vault_lock(v);
	rc = vf_ns_node_attr(v, ino, &a, NULL);
	if (rc)
		goto out;
	apply_setattr(sa, now, &a);
	st = vf_catalog_stmt(v->cat, VF_Q_NODE_SETATTR);
	if (!st) {
		rc = -EIO;
		goto out;
	}
	sqlite3_bind_int64(st, 1, (int64_t)ino);
	sqlite3_bind_int64(st, 2, a.mode);
	sqlite3_bind_int64(st, 3, a.uid);
	sqlite3_bind_int64(st, 4, a.gid);
	sqlite3_bind_int64(st, 5, a.atime);
	sqlite3_bind_int64(st, 6, a.mtime);
	sqlite3_bind_int64(st, 7, a.ctime);
	rc = vf_catalog_run(st);
	if (!rc && (sa->valid & VF_SET_MODE))
		rc = vf_vault_ns_acl_follow_chmod(v, ino, a.mode);
	if (rc)
		goto out;
	rc = vf_ns_node_attr(v, ino, out, NULL);
	if (!rc)
		vf_open_files_attr(v, out);
out:
	vf_vault_unlock(v);
	if (f)
		vf_file_put(v, f);
	return rc;
}

int vf_vault_set_quota(struct vf_vault *v, uint64_t bytes)
{
	__atomic_store_n(&v->quota, bytes, __ATOMIC_RELAXED);
	return 0;
}

/* df shows the vault (policy.c vf_policy_df): used is what it stores,
 * free what the disk (and the quota) still allows; root's view is
 * f_bfree, the caller's f_bavail. */
int vf_vault_statfs(struct vf_vault *v, const struct vf_caller *c,
		    struct statvfs *out)
{
	struct statvfs st;
	uint64_t used, size, avail, root_avail, fr, quota;
	int rc;

	if (vf_authz_check(v, c, VF_ACT_READ))
		return -EACCES;
	if (statvfs(v->dir, &st) < 0)
		return -errno;
	st.f_namemax = VF_NAME_MAX;
	fr = st.f_frsize ? st.f_frsize : 4096;
	avail = (uint64_t)st.f_bavail * fr;
	/* a writer other than root sees what it may use: the disk reserve
	 * (vault_file.c) is not for it, as ext4's reserved blocks */
	if (c->uid) {
		uint64_t r = vf_policy_reserve(
			__atomic_load_n(&v->reserve, __ATOMIC_RELAXED),
			(uint64_t)st.f_blocks * fr);

		avail = avail > r ? avail - r : 0;
	}
	rc = vf_gc_used_bytes(v, VF_NS, &used);
	if (rc)
		return rc;
	quota = __atomic_load_n(&v->quota, __ATOMIC_RELAXED);
	vf_policy_df(used, avail, quota, &size, &avail);
	/* the size is root's: used + what root may still write */
	vf_policy_df(used, (uint64_t)st.f_bavail * fr, quota, &size,
		     &root_avail);
	st.f_frsize = fr;
	st.f_bsize = st.f_bsize ? st.f_bsize : fr;
	st.f_blocks = (fsblkcnt_t)((size + fr - 1) / fr);
	st.f_bfree = (fsblkcnt_t)(root_avail / fr);
	st.f_bavail = (fsblkcnt_t)(avail / fr);
	*out = st;
	return 0;
}
