/*
 * fs.c - the FUSE low-level op table over core/vault.h.
 *
 * Every handler unpacks its arguments, builds the caller from the request
 * context, makes one core call, maps the result with kerr() and replies
 * exactly once.  Anything that needs more thought than that belongs in
 * core/.  What this file owns:
 *
 *   - the conversion of struct vf_attr to struct stat and of FUSE setattr
 *     bits to VF_SET_*;
 *   - the cache policy told to the kernel: every change to the live tree
 *     goes through this daemon, so the kernel is told about it by the
 *     reply and entries, misses and attributes may be cached for an hour;
 *     history views that can no longer change are cached for a day, those
 *     that still may (a snapshot of the current second, a file's list of
 *     versions) not at all (vf_vault_cache_class);
 *   - open-flag adjustments that the writeback cache requires;
 *   - per-operation request counters, which decorate the op table (a second
 *     table whose entries count and then call the first) so that no handler
 *     knows about them.
 *
 * No inode table: inode numbers are core node ids and core never reuses
 * them, so lookup counts need not be kept and forget only acknowledges.
 */
#define FUSE_USE_VERSION 314

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "fs.h"
#include "metrics.h"

#define TIMEOUT 3600.0		/* entry, miss and attribute cache, seconds */
#define TIMEOUT_FROZEN 86400.0	/* the same for views that never change */
#define MAX_IO (1u << 20)	/* max_write and max_readahead */
#define BLKSIZE 4096

/* Every request operation the table fills, in table order:
 * X(field, parameter list, argument list). */
#define FS_REQ_OPS(X)                                                        \
	X(lookup, (fuse_req_t req, fuse_ino_t p, const char *n), (req, p, n)) \
	X(forget, (fuse_req_t req, fuse_ino_t i, uint64_t n), (req, i, n))    \
	X(forget_multi,                                                      \
	  (fuse_req_t req, size_t n, struct fuse_forget_data *f),           \
	  (req, n, f))                                                       \
	X(getattr, (fuse_req_t req, fuse_ino_t i, struct fuse_file_info *fi), \
	  (req, i, fi))                                                      \
	X(setattr,                                                           \
	  (fuse_req_t req, fuse_ino_t i, struct stat *a, int s,              \
	   struct fuse_file_info *fi),                                       \
	  (req, i, a, s, fi))                                                \
	X(readlink, (fuse_req_t req, fuse_ino_t i), (req, i))                \
	X(mknod,                                                             \
	  (fuse_req_t req, fuse_ino_t p, const char *n, mode_t m, dev_t d),  \
	  (req, p, n, m, d))                                                 \
	X(mkdir, (fuse_req_t req, fuse_ino_t p, const char *n, mode_t m),    \
	  (req, p, n, m))                                                    \
	X(unlink, (fuse_req_t req, fuse_ino_t p, const char *n), (req, p, n)) \
	X(rmdir, (fuse_req_t req, fuse_ino_t p, const char *n), (req, p, n))  \
	X(symlink,                                                           \
	  (fuse_req_t req, const char *l, fuse_ino_t p, const char *n),      \
	  (req, l, p, n))                                                    \
	X(rename,                                                            \
	  (fuse_req_t req, fuse_ino_t p, const char *n, fuse_ino_t np,       \
	   const char *nn, unsigned int f),                                  \
	  (req, p, n, np, nn, f))                                            \
	X(link, (fuse_req_t req, fuse_ino_t i, fuse_ino_t np, const char *nn), \
	  (req, i, np, nn))                                                  \
	X(open, (fuse_req_t req, fuse_ino_t i, struct fuse_file_info *fi),   \
	  (req, i, fi))                                                      \
	X(read,                                                              \
	  (fuse_req_t req, fuse_ino_t i, size_t s, off_t o,                  \
	   struct fuse_file_info *fi),                                       \
	  (req, i, s, o, fi))                                                \
	X(write,                                                             \
	  (fuse_req_t req, fuse_ino_t i, const char *b, size_t s, off_t o,   \
	   struct fuse_file_info *fi),                                       \
	  (req, i, b, s, o, fi))                                             \
	X(flush, (fuse_req_t req, fuse_ino_t i, struct fuse_file_info *fi),  \
	  (req, i, fi))                                                      \
	X(release, (fuse_req_t req, fuse_ino_t i, struct fuse_file_info *fi), \
	  (req, i, fi))                                                      \
	X(fsync,                                                             \
	  (fuse_req_t req, fuse_ino_t i, int d, struct fuse_file_info *fi),  \
	  (req, i, d, fi))                                                   \
	X(opendir, (fuse_req_t req, fuse_ino_t i, struct fuse_file_info *fi), \
	  (req, i, fi))                                                      \
	X(readdir,                                                           \
	  (fuse_req_t req, fuse_ino_t i, size_t s, off_t o,                  \
	   struct fuse_file_info *fi),                                       \
	  (req, i, s, o, fi))                                                \
	X(readdirplus,                                                       \
	  (fuse_req_t req, fuse_ino_t i, size_t s, off_t o,                  \
	   struct fuse_file_info *fi),                                       \
	  (req, i, s, o, fi))                                                \
	X(releasedir,                                                        \
	  (fuse_req_t req, fuse_ino_t i, struct fuse_file_info *fi),         \
	  (req, i, fi))                                                      \
	X(statfs, (fuse_req_t req, fuse_ino_t i), (req, i))                  \
	X(setxattr,                                                          \
	  (fuse_req_t req, fuse_ino_t i, const char *n, const char *v,       \
	   size_t s, int f),                                                 \
	  (req, i, n, v, s, f))                                              \
	X(getxattr,                                                          \
	  (fuse_req_t req, fuse_ino_t i, const char *n, size_t s),           \
	  (req, i, n, s))                                                    \
	X(listxattr, (fuse_req_t req, fuse_ino_t i, size_t s), (req, i, s))  \
	X(removexattr, (fuse_req_t req, fuse_ino_t i, const char *n),        \
	  (req, i, n))                                                       \
	X(create,                                                            \
	  (fuse_req_t req, fuse_ino_t p, const char *n, mode_t m,            \
	   struct fuse_file_info *fi),                                       \
	  (req, p, n, m, fi))                                                \
	X(fallocate,                                                         \
	  (fuse_req_t req, fuse_ino_t i, int m, off_t o, off_t l,            \
	   struct fuse_file_info *fi),                                       \
	  (req, i, m, o, l, fi))

enum fs_opn {
#define X(f, p, a) OPN_##f,
	FS_REQ_OPS(X)
#undef X
	OPN_COUNT
};

static const char *const opn_name[OPN_COUNT] = {
#define X(f, p, a) [OPN_##f] = #f,
	FS_REQ_OPS(X)
#undef X
};

struct vf_fs {
	struct vf_vault *v;		/* borrowed */
	struct fuse_session *se;
	int want_writeback;		/* -o writeback_cache */
	int writeback;			/* the kernel caches writes */
	int count_ops;
	_Atomic uint64_t count[OPN_COUNT];
};

/* ---- helpers ------------------------------------------------------------ */

static struct vf_fs *req_fs(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* vf_caller.groups: the supplementary groups of the requesting process,
 * as the kernel has them (core asks only when a role names a group). */
static int req_groups(void *ctx, gid_t *buf, int cap)
{
	return fuse_req_getgroups(ctx, cap, buf);
}

static struct vf_caller req_caller(fuse_req_t req)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct vf_caller c = {
		.uid = ctx->uid,
		.gid = ctx->gid,
		.pid = ctx->pid,
		.umask = ctx->umask,
		.groups = req_groups,
		.groups_ctx = req,
	};

	return c;
}

static struct vf_handle *fi_handle(const struct fuse_file_info *fi)
{
	return fi ? (struct vf_handle *)(uintptr_t)fi->fh : NULL;
}

/* The one place core errors become kernel errors.  Authentication failures
 * (EBADMSG) and unknown formats (EPROTO) are damage as far as a reader can
 * tell: EIO, as a disk would say.  A value that is not a negative errno is
 * our bug, also reported as EIO rather than trusted. */
static int kerr(long r)
{
	if (r >= 0 || r < -4095)
		return EIO;
	if (r == -EBADMSG || r == -EPROTO)
		return EIO;
	return (int)-r;
}

static struct timespec ns_to_ts(int64_t ns)
{
	struct timespec ts;
	int64_t s = ns / 1000000000, rem = ns % 1000000000;

	if (rem < 0) {
		rem += 1000000000;
		s--;
	}
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)rem;
	return ts;
}

static int64_t ts_to_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

static void attr_to_stat(const struct vf_attr *a, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = a->ino;
	st->st_mode = a->mode;
	st->st_nlink = a->nlink;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_rdev = a->rdev;
	st->st_size = (off_t)a->size;
	st->st_blksize = BLKSIZE;
	st->st_blocks = (blkcnt_t)((a->size + 511) / 512);
	st->st_atim = ns_to_ts(a->atime);
	st->st_mtim = ns_to_ts(a->mtime);
	st->st_ctim = ns_to_ts(a->ctime);
}

/* Seconds the kernel may cache what it learns about ino. */
static double cache_timeout(fuse_req_t req, uint64_t ino)
{
	switch (vf_vault_cache_class(req_fs(req)->v, ino)) {
	case VF_CACHE_LIVE:
		return TIMEOUT;
	case VF_CACHE_FOREVER:
		return TIMEOUT_FROZEN;
	default:
		return 0;
	}
}

static void attr_to_entry(fuse_req_t req, const struct vf_attr *a,
			  struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = a->ino;
	e->generation = 0; /* node ids are never reused */
	e->attr_timeout = (a->flags & VF_ATTR_VOLATILE) ?
				  0 :
				  cache_timeout(req, a->ino);
	e->entry_timeout = e->attr_timeout;
	attr_to_stat(a, &e->attr);
}

static void reply_entry(fuse_req_t req, int r, const struct vf_attr *a)
{
	struct fuse_entry_param e;

	if (r < 0) {
		fuse_reply_err(req, kerr(r));
		return;
	}
	attr_to_entry(req, a, &e);
	fuse_reply_entry(req, &e);
}

static void reply_attr(fuse_req_t req, int r, const struct vf_attr *a)
{
	struct stat st;

	if (r < 0) {
		fuse_reply_err(req, kerr(r));
		return;
	}
	attr_to_stat(a, &st);
	fuse_reply_attr(req, &st, (a->flags & VF_ATTR_VOLATILE) ?
					  0 :
					  cache_timeout(req, a->ino));
}

/* With the writeback cache the kernel may read a page of a file opened
 * write-only (to fill a partial page), and it computes append offsets
 * itself, so core must see O_RDWR and no O_APPEND.  The kernel has already
 * checked the permission for the mode the caller asked for. */
static int open_flags(const struct vf_fs *fs, int flags)
{
	if (!fs->writeback)
		return flags;
	if ((flags & O_ACCMODE) == O_WRONLY)
		flags = (flags & ~O_ACCMODE) | O_RDWR;
	return flags & ~O_APPEND;
}

/* ---- lifecycle ---------------------------------------------------------- */

static void want(struct fuse_conn_info *conn, unsigned cap)
{
	if (conn->capable & cap)
		conn->want |= cap;
}

static void fs_op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct vf_fs *fs = userdata;

	if (fs->want_writeback)
		want(conn, FUSE_CAP_WRITEBACK_CACHE);
	want(conn, FUSE_CAP_ASYNC_READ);
	want(conn, FUSE_CAP_PARALLEL_DIROPS);
	want(conn, FUSE_CAP_ATOMIC_O_TRUNC);
	want(conn, FUSE_CAP_READDIRPLUS);
	want(conn, FUSE_CAP_CACHE_SYMLINKS);
	/* The kernel enforces ACLs; core keeps them and the mode in step and
	 * applies the umask and default ACLs at create. */
	want(conn, FUSE_CAP_POSIX_ACL);
	want(conn, FUSE_CAP_DONT_MASK);
	/* cp -a and rsync read every attribute: always readdirplus. */
	conn->want &= ~(unsigned)FUSE_CAP_READDIRPLUS_AUTO;
	/* Locks are the kernel's (single host): no lock ops, no caps. */
	conn->want &= ~(unsigned)(FUSE_CAP_POSIX_LOCKS | FUSE_CAP_FLOCK_LOCKS);
	fs->writeback = !!(conn->want & FUSE_CAP_WRITEBACK_CACHE);
	vf_vault_kernel_times(fs->v, fs->writeback);

	conn->max_write = MAX_IO;
	if (conn->max_readahead > MAX_IO)
		conn->max_readahead = MAX_IO;
	conn->time_gran = 1;
}

static void fs_op_destroy(void *userdata)
{
	/* The vault is closed by whoever opened it, after the loop. */
	(void)userdata;
}

/* ---- namespace ---------------------------------------------------------- */

/* Replies: entry (a negative one, ino 0, for a missing name), err. */
static void fs_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct vf_caller c = req_caller(req);
	struct fuse_entry_param e;
	struct vf_attr a;
	int r;

	r = vf_vault_lookup(req_fs(req)->v, &c, parent, name, &a);
	if (r == -ENOENT) {
		/* Cache the miss: creates come through here and drop it
		 * (in views: as long as the directory cannot change). */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = cache_timeout(req, parent);
		fuse_reply_entry(req, &e);
		return;
	}
	reply_entry(req, r, &a);
}

/* Replies: none. */
static void fs_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	fuse_reply_none(req);
}

/* Replies: none. */
static void fs_op_forget_multi(fuse_req_t req, size_t count,
			       struct fuse_forget_data *forgets)
{
	fuse_reply_none(req);
}

/* Replies: attr, err. */
static void fs_op_getattr(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct vf_caller c = req_caller(req);
	struct vf_attr a;
	int r;

	r = vf_vault_getattr(req_fs(req)->v, &c, ino, &a);
	reply_attr(req, r, &a);
}

static void setattr_from_fuse(const struct stat *st, int to_set,
			      struct vf_setattr *sa)
{
	memset(sa, 0, sizeof(*sa));
	if (to_set & FUSE_SET_ATTR_MODE) {
		sa->valid |= VF_SET_MODE;
		sa->mode = st->st_mode;
	}
	if (to_set & FUSE_SET_ATTR_UID) {
		sa->valid |= VF_SET_UID;
		sa->uid = st->st_uid;
	}
	if (to_set & FUSE_SET_ATTR_GID) {
		sa->valid |= VF_SET_GID;
		sa->gid = st->st_gid;
	}
	if (to_set & FUSE_SET_ATTR_SIZE) {
		sa->valid |= VF_SET_SIZE;
		sa->size = (uint64_t)st->st_size;
	}
	if (to_set & FUSE_SET_ATTR_ATIME) {
		sa->valid |= VF_SET_ATIME;
		sa->atime = ts_to_ns(&st->st_atim);
	}
	if (to_set & FUSE_SET_ATTR_MTIME) {
		sa->valid |= VF_SET_MTIME;
		sa->mtime = ts_to_ns(&st->st_mtim);
	}
	if (to_set & FUSE_SET_ATTR_ATIME_NOW)
		sa->valid |= VF_SET_ATIME_NOW;
	if (to_set & FUSE_SET_ATTR_MTIME_NOW)
		sa->valid |= VF_SET_MTIME_NOW;
	if (to_set & FUSE_SET_ATTR_CTIME) {
		sa->valid |= VF_SET_CTIME;
		sa->ctime = ts_to_ns(&st->st_ctim);
	}
}

/* Replies: attr, err. */
static void fs_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
			  int to_set, struct fuse_file_info *fi)
{
	struct vf_caller c = req_caller(req);
	struct vf_setattr sa;
	struct vf_attr a;
	int r;

	setattr_from_fuse(attr, to_set, &sa);
	r = vf_vault_setattr(req_fs(req)->v, &c, ino, fi_handle(fi), &sa, &a);
	reply_attr(req, r, &a);
}

/* Replies: readlink, err. */
static void fs_op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct vf_caller c = req_caller(req);
	char buf[VF_PATH_MAX + 1];
	int r;

	r = vf_vault_readlink(req_fs(req)->v, &c, ino, buf, sizeof(buf));
	if (r < 0)
		fuse_reply_err(req, kerr(r));
	else
		fuse_reply_readlink(req, buf);
}

/* Replies: entry, err. */
static void fs_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
			mode_t mode, dev_t rdev)
{
	struct vf_caller c = req_caller(req);
	struct vf_attr a;
	int r;

	r = vf_vault_mknod(req_fs(req)->v, &c, parent, name, mode, rdev, &a);
	reply_entry(req, r, &a);
}

/* Replies: entry, err. */
static void fs_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
			mode_t mode)
{
	struct vf_caller c = req_caller(req);
	struct vf_attr a;
	int r;

	r = vf_vault_mkdir(req_fs(req)->v, &c, parent, name, mode, &a);
	reply_entry(req, r, &a);
}

/* Replies: err. */
static void fs_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct vf_caller c = req_caller(req);
	int r;

	r = vf_vault_unlink(req_fs(req)->v, &c, parent, name);
	fuse_reply_err(req, r < 0 ? kerr(r) : 0);
}

/* Replies: err. */
static void fs_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct vf_caller c = req_caller(req);
	int r;

	r = vf_vault_rmdir(req_fs(req)->v, &c, parent, name);
	fuse_reply_err(req, r < 0 ? kerr(r) : 0);
}

/* Replies: entry, err. */
static void fs_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
			  const char *name)
{
	struct vf_caller c = req_caller(req);
	struct vf_attr a;
	int r;

	r = vf_vault_symlink(req_fs(req)->v, &c, parent, name, link, &a);
	reply_entry(req, r, &a);
}

/* Replies: err. */
static void fs_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
			 fuse_ino_t newparent, const char *newname,
			 unsigned int flags)
{
	struct vf_caller c = req_caller(req);
	int r;

	r = vf_vault_rename(req_fs(req)->v, &c, parent, name, newparent,
			    newname, flags);
	fuse_reply_err(req, r < 0 ? kerr(r) : 0);
}

/* Replies: entry, err. */
static void fs_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		       const char *newname)
{
	struct vf_caller c = req_caller(req);
	struct vf_attr a;
	int r;

	r = vf_vault_link(req_fs(req)->v, &c, ino, newparent, newname, &a);
	reply_entry(req, r, &a);
}

/* ---- file data ---------------------------------------------------------- */

/* Hands h to the kernel in fi.  When the reply cannot be delivered (the
 * request was interrupted) the kernel will never release the handle, so we
 * do; this is the one second core call a handler makes. */
static void reply_open(fuse_req_t req, struct fuse_file_info *fi,
		       struct vf_handle *h, const struct vf_attr *created)
{
	struct fuse_entry_param e;
	int r;

	fi->fh = (uintptr_t)h;
	fi->keep_cache = !!vf_vault_handle_keep_cache(h);
	if (created) {
		attr_to_entry(req, created, &e);
		r = fuse_reply_create(req, &e, fi);
	} else {
		r = fuse_reply_open(req, fi);
	}
	if (r != 0)
		(void)vf_vault_release(req_fs(req)->v, h);
}

/* Replies: open, err. */
static void fs_op_open(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct vf_fs *fs = req_fs(req);
	struct vf_caller c = req_caller(req);
	struct vf_handle *h = NULL;
	int r;

	r = vf_vault_open_file(fs->v, &c, ino, open_flags(fs, fi->flags), &h);
	if (r < 0)
		fuse_reply_err(req, kerr(r));
	else
		reply_open(req, fi, h, NULL);
}

/* Replies: create, err. */
static void fs_op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
			 mode_t mode, struct fuse_file_info *fi)
{
	struct vf_fs *fs = req_fs(req);
	struct vf_caller c = req_caller(req);
	struct vf_handle *h = NULL;
	struct vf_attr a;
	int r;

	r = vf_vault_create_file(fs->v, &c, parent, name, mode,
				 open_flags(fs, fi->flags), &a, &h);
	if (r < 0)
		fuse_reply_err(req, kerr(r));
	else
		reply_open(req, fi, h, &a);
}

/* Replies: buf, err. */
static void fs_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	ssize_t n;
	void *buf;

	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	buf = malloc(size ? size : 1);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n = vf_vault_read(req_fs(req)->v, fi_handle(fi), (uint64_t)off, buf,
			  size);
	if (n < 0)
		fuse_reply_err(req, kerr(n));
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

/* Replies: write, err. */
static void fs_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
			size_t size, off_t off, struct fuse_file_info *fi)
{
	ssize_t n;

	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	n = vf_vault_write(req_fs(req)->v, fi_handle(fi), (uint64_t)off, buf,
			   size);
	if (n < 0)
		fuse_reply_err(req, kerr(n));
	else
		fuse_reply_write(req, (size_t)n);
}

/* Replies: err. */
static void fs_op_flush(fuse_req_t req, fuse_ino_t ino,
			struct fuse_file_info *fi)
{
	int r;

	r = vf_vault_flush(req_fs(req)->v, fi_handle(fi));
	fuse_reply_err(req, r < 0 ? kerr(r) : 0);
}

/* Replies: err (ignored by the kernel; release cannot fail for the user). */
static void fs_op_release(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	int r;

	r = vf_vault_release(req_fs(req)->v, fi_handle(fi));
	fuse_reply_err(req, r < 0 ? kerr(r) : 0);
}

/* Replies: err.  fdatasync is a full fsync: a recovery point is metadata. */
static void fs_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
			struct fuse_file_info *fi)
{
	int r;

	r = vf_vault_fsync(req_fs(req)->v, fi_handle(fi));
	fuse_reply_err(req, r < 0 ? kerr(r) : 0);
}

/* Replies: err. */
static void fs_op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode,
			    off_t offset, off_t length,
			    struct fuse_file_info *fi)
{
	int r;

	if (offset < 0 || length <= 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	r = vf_vault_fallocate(req_fs(req)->v, fi_handle(fi), mode,
			       (uint64_t)offset, (uint64_t)length);
	fuse_reply_err(req, r < 0 ? kerr(r) : 0);
}

/* ---- directories -------------------------------------------------------- */

/* Replies: open.  Listing needs no state: offsets are core cookies. */
static void fs_op_opendir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	fi->fh = 0;
	fuse_reply_open(req, fi);
}

/* Replies: err. */
static void fs_op_releasedir(fuse_req_t req, fuse_ino_t ino,
			     struct fuse_file_info *fi)
{
	fuse_reply_err(req, 0);
}

struct dirbuf {
	fuse_req_t req;
	int plus;
	char *buf;
	size_t size, used;
};

/* vf_readdir_cb: appends one entry; 1 (stop, not consumed) when full. */
static int dirbuf_add(void *arg, const char *name, const struct vf_attr *a,
		      uint64_t next)
{
	struct dirbuf *d = arg;
	size_t room = d->size - d->used, n;
	struct fuse_entry_param e;

	if (d->plus) {
		attr_to_entry(d->req, a, &e);
		n = fuse_add_direntry_plus(d->req, d->buf + d->used, room,
					   name, &e, (off_t)next);
	} else {
		attr_to_stat(a, &e.attr);
		n = fuse_add_direntry(d->req, d->buf + d->used, room, name,
				      &e.attr, (off_t)next);
	}
	if (n > room)
		return 1;
	d->used += n;
	return 0;
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       int plus)
{
	struct vf_caller c = req_caller(req);
	struct dirbuf d = { .req = req, .plus = plus, .size = size };
	int r;

	d.buf = malloc(size ? size : 1);
	if (!d.buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	r = vf_vault_readdir(req_fs(req)->v, &c, ino, (uint64_t)off,
			     dirbuf_add, &d);
	if (r < 0)
		fuse_reply_err(req, kerr(r));
	else
		fuse_reply_buf(req, d.buf, d.used);
	free(d.buf);
}

/* Replies: buf, err. */
static void fs_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
			  off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, 0);
}

/* Replies: buf, err. */
static void fs_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			      off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, 1);
}

/* Replies: statfs, err. */
static void fs_op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct vf_caller c = req_caller(req);
	struct statvfs st;
	int r;

	memset(&st, 0, sizeof(st));
	r = vf_vault_statfs(req_fs(req)->v, &c, &st);
	if (r < 0)
		fuse_reply_err(req, kerr(r));
	else
		fuse_reply_statfs(req, &st);
}

/* ---- extended attributes ------------------------------------------------ */

/* Replies: err. */
static void fs_op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			   const char *value, size_t size, int flags)
{
	struct vf_caller c = req_caller(req);
	int r;

	r = vf_vault_setxattr(req_fs(req)->v, &c, ino, name, value, size,
			      flags);
	fuse_reply_err(req, r < 0 ? kerr(r) : 0);
}

/* Replies: buf (or xattr with the size when the caller asked with size 0)
 * or err.  Shared by getxattr and listxattr, whose core calls differ only
 * in the name. */
static void reply_xattr(fuse_req_t req, ssize_t n, const void *buf,
			size_t size)
{
	if (n < 0)
		fuse_reply_err(req, kerr(n));
	else if (size == 0)
		fuse_reply_xattr(req, (size_t)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
}

/* Replies: buf, xattr, err. */
static void fs_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			   size_t size)
{
	struct vf_caller c = req_caller(req);
	char *buf = NULL;
	ssize_t n;

	if (size && !(buf = malloc(size))) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n = vf_vault_getxattr(req_fs(req)->v, &c, ino, name, buf, size);
	reply_xattr(req, n, buf, size);
	free(buf);
}

/* Replies: buf, xattr, err. */
static void fs_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct vf_caller c = req_caller(req);
	char *buf = NULL;
	ssize_t n;

	if (size && !(buf = malloc(size))) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n = vf_vault_listxattr(req_fs(req)->v, &c, ino, buf, size);
	reply_xattr(req, n, buf, size);
	free(buf);
}

/* Replies: err. */
static void fs_op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct vf_caller c = req_caller(req);
	int r;

	r = vf_vault_removexattr(req_fs(req)->v, &c, ino, name);
	fuse_reply_err(req, r < 0 ? kerr(r) : 0);
}

/* ---- the op table ------------------------------------------------------- */

/* No flock/getlk/setlk: the kernel then keeps locks locally, which is right
 * for a filesystem only this host can reach.  No access: default_permissions
 * makes the kernel check mode bits. */
static const struct fuse_lowlevel_ops fs_ops = {
	.init = fs_op_init,
	.destroy = fs_op_destroy,
	.lookup = fs_op_lookup,
	.forget = fs_op_forget,
	.forget_multi = fs_op_forget_multi,
	.getattr = fs_op_getattr,
	.setattr = fs_op_setattr,
	.readlink = fs_op_readlink,
	.mknod = fs_op_mknod,
	.mkdir = fs_op_mkdir,
	.unlink = fs_op_unlink,
	.rmdir = fs_op_rmdir,
	.symlink = fs_op_symlink,
	.rename = fs_op_rename,
	.link = fs_op_link,
	.open = fs_op_open,
	.read = fs_op_read,
	.write = fs_op_write,
	.flush = fs_op_flush,
	.release = fs_op_release,
	.fsync = fs_op_fsync,
	.opendir = fs_op_opendir,
	.readdir = fs_op_readdir,
	.readdirplus = fs_op_readdirplus,
	.releasedir = fs_op_releasedir,
	.statfs = fs_op_statfs,
	.setxattr = fs_op_setxattr,
	.getxattr = fs_op_getxattr,
	.listxattr = fs_op_listxattr,
	.removexattr = fs_op_removexattr,
	.create = fs_op_create,
	.fallocate = fs_op_fallocate,
};

/* ---- the counting decorator --------------------------------------------- */

/* Each counted op bumps its counter, then calls the same field of fs_ops,
 * so the decorator never drifts from the table it wraps. */
#define X(f, p, a)                                                          \
	static void count_##f p                                             \
	{                                                                   \
		atomic_fetch_add_explicit(&req_fs(req)->count[OPN_##f], 1,  \
					  memory_order_relaxed);            \
		fs_ops.f a;                                                 \
	}
FS_REQ_OPS(X)
#undef X

static const struct fuse_lowlevel_ops counted_ops = {
	.init = fs_op_init,
	.destroy = fs_op_destroy,
#define X(f, p, a) .f = count_##f,
	FS_REQ_OPS(X)
#undef X
};

/* ---- vf_fs -------------------------------------------------------------- */

/* A name core removed on its own (vf_forget_hook): the kernel drops its
 * cached entry, so the next lookup asks.  Before the mount, or after it,
 * the notification fails harmlessly.  The hook stays set until the vault
 * closes, which the daemon does before vf_fs_free (the vault may be gone
 * by then: vf_fs_free does not touch it). */
static void forget_name(void *arg, uint64_t parent, const char *name)
{
	struct vf_fs *fs = arg;

	(void)fuse_lowlevel_notify_inval_entry(fs->se, parent, name,
					       strlen(name));
}

int vf_fs_new(struct vf_vault *v, struct fuse_args *args, int flags,
	      struct vf_fs **out, char *err, size_t errlen)
{
	const struct fuse_lowlevel_ops *ops;
	struct vf_fs *fs;
	int i;

	fs = calloc(1, sizeof(*fs));
	if (!fs) {
		snprintf(err, errlen, "cannot start the filesystem: %s",
			 strerror(ENOMEM));
		return -ENOMEM;
	}
	fs->v = v;
	fs->count_ops = !!(flags & VF_FS_COUNT_OPS);
	fs->want_writeback = !!(flags & VF_FS_WRITEBACK);
	for (i = 0; i < OPN_COUNT; i++)
		atomic_init(&fs->count[i], 0);
	ops = fs->count_ops ? &counted_ops : &fs_ops;
	if (fs->count_ops)
		vf_metrics_set_requests(v, opn_name, fs->count, OPN_COUNT);
	fs->se = fuse_session_new(args, ops, sizeof(*ops), fs);
	if (!fs->se) {
		/* libfuse has printed its reason on stderr. */
		snprintf(err, errlen, "cannot start the filesystem: "
			 "invalid FUSE options");
		free(fs);
		return -EINVAL;
	}
	vf_vault_set_forget_hook(v, forget_name, fs);
	*out = fs;
	return 0;
}

struct fuse_session *vf_fs_session(struct vf_fs *fs)
{
	return fs->se;
}

int vf_fs_write_stats(const struct vf_fs *fs, const char *path)
{
	struct vf_io_counts io;
	struct rusage ru;
	uint64_t n, total = 0;
	FILE *f = NULL;
	int fd, i, r = 0;

	if (!fs->count_ops)
		return -EINVAL;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		  0644);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		r = -errno;
		close(fd);
		return r;
	}
	for (i = 0; i < OPN_COUNT; i++) {
		n = atomic_load_explicit(&fs->count[i], memory_order_relaxed);
		total += n;
		fprintf(f, "%s %llu\n", opn_name[i], (unsigned long long)n);
	}
	fprintf(f, "total %llu\n", (unsigned long long)total);
	vf_vault_io_counts(fs->v, &io);
	fprintf(f, "transactions %llu\nsealed_wal_bytes %llu\n"
		   "sealed_db_bytes %llu\n",
		(unsigned long long)io.commits,
		(unsigned long long)io.sealed_wal,
		(unsigned long long)io.sealed_db);
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		fprintf(f, "cpu_user_us %lld\ncpu_sys_us %lld\n",
			(long long)ru.ru_utime.tv_sec * 1000000 +
				ru.ru_utime.tv_usec,
			(long long)ru.ru_stime.tv_sec * 1000000 +
				ru.ru_stime.tv_usec);
	if (ferror(f))
		r = -EIO;
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	return r;
}

void vf_fs_free(struct vf_fs *fs)
{
	if (!fs)
		return;
	fuse_session_unmount(fs->se);
	fuse_session_destroy(fs->se);
	free(fs);
}
