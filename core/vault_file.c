/*
 * vault_file.c - the vault facade's file entry points (vf_vault_open_file,
 * _create_file, _read, _write, _flush, _fsync, _fallocate, _release): each
 * checks the caller's role (authz), read-only mounts, history views, soft
 * delete and immutability, then calls file data (file.h) with f->mu held.
 *
 * Invariant: no change reaches file data before these checks passed; a
 * handle opened from a history view is read-only and has a private file
 * state outside the open-file table.
 */
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "authz.h"
#include "facade.h"
#include "file.h"
#include "gc.h"
#include "immut.h"
#include "open_files.h"
#include "policy.h"
#include "spool.h"
#include "trash.h"
#include "trip.h"
#include "view.h"

/* Immutability for a change through an open file (f->mu held): a file
 * closed once (it has a version) inside an immutable tree is sealed.  A
 * clean verdict is remembered until the rules change. */
static int change_allowed(struct vf_vault *v, const struct vf_handle *h,
			  enum vf_imm_op op)
{
	struct vf_file *f = h->f;
	int rc = 0;

	if (!f->version)
		return 0;
	vf_vault_lock(v);
	if (f->imm_ok_gen != v->imm_gen + 1) {
		rc = vf_immut_check(v, h->uid, op, f->ino, 0);
		if (!rc)
			f->imm_ok_gen = v->imm_gen + 1;
	}
	vf_vault_unlock(v);
	return rc;
}

/* ---- handles --------------------------------------------------------- */

/* A recovery point opened from .snapshots or .versions: read-only, with
 * its own private file state so the live file is not disturbed. */
static int open_view(struct vf_vault *v, uint64_t ino, int flags,
		     struct vf_handle **out)
{
	struct vf_handle *h;
	uint64_t size;
	int64_t version;
	int rc;

	if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC))
		return -EROFS;
	rc = vf_view_file(v, ino, &version, &size);
	if (rc)
		return rc;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	rc = vf_file_get_version(v, ino, version, size, &h->f);
	if (rc) {
		free(h);
		return rc;
	}
	h->flags = flags;
	h->view = 1;
	h->stable = vf_view_stable(v, ino);
	*out = h;
	return 0;
}

int vf_vault_open_file(struct vf_vault *v, const struct vf_caller *c,
		       uint64_t ino, int flags, struct vf_handle **out)
{
	struct vf_handle *h;
	struct vf_file *f;
	int rc;

	if (vf_authz_check(v, c,
			   (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)
			       ? VF_ACT_WRITE
			       : VF_ACT_READ))
		return -EACCES;
	if (vf_facade_read_only(v) && (flags & O_ACCMODE) != O_RDONLY)
		return -EROFS;
	if (vf_view_is(ino))
		return open_view(v, ino, flags, out);
	if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)) {
		/* .softdeleted is read-only; a file unlinked while open
		 * stays writable through the descriptors it has */
		vf_vault_lock(v);
		rc = vf_file_find_locked(v, ino) ? 0 : vf_trash_holds(v, ino);
		if (rc > 0)
			rc = -EROFS;
		if (!rc)
			rc = vf_immut_check(v, c->uid,
					    (flags & O_TRUNC) ? VF_IMM_TRUNCATE
							      : VF_IMM_WRITE,
					    ino, 0);
		vf_vault_unlock(v);
		if (rc)
			return rc;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	rc = vf_file_get(v, ino, &f);
	if (rc) {
		free(h);
		return rc;
	}
	if ((flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY) {
		pthread_mutex_lock(&f->mu);
		rc = vf_file_load(v, f);
		if (!rc)
			vf_trip_begin(v, f); /* before the content goes */
		if (!rc)
			rc = vf_file_truncate(v, f, 0);
		pthread_mutex_unlock(&f->mu);
		if (rc) {
			vf_file_put(v, f);
			free(h);
			return rc;
		}
	}
	h->f = f;
	h->flags = flags;
	h->uid = c->uid;
	*out = h;
	return 0;
}

/* Commits what is pending in the catalog (catalog.h, deferred commits):
 * a close ends the recovery point that the changes to open files were
 * deferred to. */
static int settle(struct vf_vault *v)
{
	int rc;

	vf_vault_lock(v);
	rc = vf_catalog_settle(v->cat);
	vf_vault_unlock(v);
	return rc;
}

int vf_vault_create_file(struct vf_vault *v, const struct vf_caller *c,
			 uint64_t parent, const char *name, uint32_t mode,
			 int flags, struct vf_attr *attr,
			 struct vf_handle **out)
{
	int rc;

	if (vf_authz_check(v, c, VF_ACT_WRITE))
		return -EACCES;
	rc = vf_facade_new_file(v, c, parent, name, mode, attr);
	if (rc)
		return rc;
	rc = vf_vault_open_file(v, c, attr->ino, flags & ~O_TRUNC, out);
	if (rc) {
		/* no close will come to commit the new node: now */
		int r = settle(v);

		return r ? r : rc;
	}
	/* A new file's first close is its first recovery point, even if
	 * nothing was written. */
	pthread_mutex_lock(&(*out)->f->mu);
	vf_file_mark_dirty(v, (*out)->f);
	(*out)->f->mtime = attr->mtime;
	(*out)->f->ctime = attr->ctime;
	pthread_mutex_unlock(&(*out)->f->mu);
	return 0;
}

ssize_t vf_vault_read(struct vf_vault *v, struct vf_handle *h, uint64_t off,
		      void *buf, size_t size)
{
	struct vf_file *f = h->f;
	ssize_t rc;

	pthread_mutex_lock(&f->mu);
	rc = vf_file_read(v, f, off, buf, size);
	pthread_mutex_unlock(&f->mu);
	return rc;
}

/* -o quota=SIZE: writing size more bytes (and committing what the spool
 * holds) would take the vault past its quota.  The stored bytes are
 * counted at most once a second (gc.c), so a burst may pass the quota by
 * what the packs took within that second.  A count that fails decides
 * nothing. */
static int quota_refuses(struct vf_vault *v, size_t size)
{
	uint64_t quota = __atomic_load_n(&v->quota, __ATOMIC_RELAXED), used;

	if (!quota || vf_gc_used_bytes(v, VF_NS, &used))
		return 0;
	return vf_policy_quota_allows(quota, used,
				      size + vf_spool_pending(v)) != 0;
}

/* The disk reserve (policy.h): a writer other than root gets ENOSPC
 * once writing size more bytes (and committing what the spool holds)
 * would leave less than the reserve free on
 * the vault's filesystem, which stays for the catalog, trash and audit
 * (deleting, purging and auditing still work on a full vault) and root.
 * A filesystem that cannot say how full it is decides alone. */
static int reserve_allows(struct vf_vault *v, uint32_t uid, size_t size)
{
	struct statvfs st;
	uint64_t fs, avail;

	if (quota_refuses(v, size))
		return -ENOSPC;
	if (statvfs(v->dir, &st) < 0)
		return 0;
	fs = (uint64_t)st.f_blocks * st.f_frsize;
	avail = (uint64_t)st.f_bavail * st.f_frsize;
	/* what the spool holds still needs room in a pack at commit: it
	 * counts as written, so no commit has to eat into the reserve */
	return vf_policy_may_fill(uid ? VF_FILL_DATA : VF_FILL_ROOT, avail,
				  size + vf_spool_pending(v),
				  vf_policy_reserve(__atomic_load_n(&v->reserve,
								    __ATOMIC_RELAXED),
						    fs));
}

ssize_t vf_vault_write(struct vf_vault *v, struct vf_handle *h, uint64_t off,
		       const void *buf, size_t size)
{
	struct vf_file *f = h->f;
	int rc;

	if (vf_facade_read_only(v) || h->view)
		return -EROFS;
	if (off + size < off || off + size > (1ULL << 62))
		return -EFBIG;
	rc = reserve_allows(v, h->uid, size);
	if (rc)
		return rc;
	pthread_mutex_lock(&f->mu);
	rc = vf_file_load(v, f);
	if (!rc)
		rc = change_allowed(v, h, VF_IMM_WRITE);
	if (!rc) {
		vf_trip_begin(v, f);
		rc = vf_file_write(v, f, off, buf, size);
	}
	if (!rc)
		vf_trip_feed(f, off, buf, size);
	pthread_mutex_unlock(&f->mu);
	return rc ? rc : (ssize_t)size;
}

/* Commits h's file (f->mu held) and, when that ended a write session,
 * tells the tripwire what the session was (after f->mu is released). */
static int commit_locked(struct vf_vault *v, struct vf_handle *h,
			 int durable, enum vf_trip_ev *ev, int64_t *t0)
{
	int was_dirty = h->f->dirty, rc;

	h->f->defer_commit = h->defer;
	rc = vf_file_sync(v, h->f, durable);
	h->f->defer_commit = 0;

	*ev = VF_TRIP_EV_NONE;
	if (!rc && was_dirty && !h->f->dirty)
		*ev = vf_trip_end(h->f, t0);
	return rc;
}

static int commit_handle(struct vf_vault *v, struct vf_handle *h, int durable)
{
	enum vf_trip_ev ev;
	int64_t t0 = 0;
	int rc;

	pthread_mutex_lock(&h->f->mu);
	rc = commit_locked(v, h, durable, &ev, &t0);
	pthread_mutex_unlock(&h->f->mu);
	vf_trip_note(v, h->uid, ev, t0);
	return rc;
}

/* An empty dirty session (a file just created, or opened with O_TRUNC, and
 * nothing written yet) is not committed at flush but left to release or a
 * later flush: a shell's `> f` opens, dup2()s and closes the first
 * descriptor before writing, and every such redirection would otherwise
 * leave an empty recovery point before the real one. */
int vf_vault_flush(struct vf_vault *v, struct vf_handle *h)
{
	int empty, rc, r;

	pthread_mutex_lock(&h->f->mu);
	empty = h->f->dirty && h->f->size == 0;
	pthread_mutex_unlock(&h->f->mu);
	rc = empty ? 0 : commit_handle(v, h, 0);
	r = h->defer ? 0 : settle(v);
	return rc ? rc : r;
}

int vf_vault_fsync(struct vf_vault *v, struct vf_handle *h)
{
	int rc = settle(v);

	return rc ? rc : commit_handle(v, h, 1);
}

int vf_vault_fallocate(struct vf_vault *v, struct vf_handle *h, int mode,
		       uint64_t off, uint64_t len)
{
	struct vf_file *f = h->f;
	int rc;

	if (vf_facade_read_only(v) || h->view)
		return -EROFS;
	if (off + len < off)
		return -EFBIG;
	pthread_mutex_lock(&f->mu);
	rc = vf_file_load(v, f);
	if (!rc && mode != FALLOC_FL_KEEP_SIZE)
		rc = change_allowed(v, h,
				    mode == 0 ? VF_IMM_WRITE : VF_IMM_PUNCH);
	if (!rc)
		rc = vf_file_fallocate(v, f, mode, off, len);
	pthread_mutex_unlock(&f->mu);
	return rc;
}

int vf_vault_release(struct vf_vault *v, struct vf_handle *h)
{
	int rc = 0, r, defer;

	enum vf_trip_ev ev = VF_TRIP_EV_NONE;
	int64_t t0 = 0;

	if (!h)
		return 0;
	defer = h->defer;
	pthread_mutex_lock(&h->f->mu);
	if (h->f->dirty && h->f->refs == 1)
		rc = commit_locked(v, h, 0, &ev, &t0);
	pthread_mutex_unlock(&h->f->mu);
	vf_trip_note(v, h->uid, ev, t0);
	vf_file_put(v, h->f);
	free(h);
	r = defer ? 0 : settle(v);
	return rc ? rc : r;
}

void vf_vault_handle_defer(struct vf_handle *h)
{
	h->defer = 1;
}

int vf_vault_settle(struct vf_vault *v)
{
	return settle(v);
}

int vf_vault_handle_keep_cache(const struct vf_handle *h)
{
	if (h->view)
		return h->stable;
	/* Every change to a live file passes through the kernel's own page
	 * cache (writeback caching), so what it holds is never stale. */
	return 1;
}
