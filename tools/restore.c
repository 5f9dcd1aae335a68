/*
 * restore.c - the client commands restore and undelete.
 *
 * They run in vaultctl, as the caller, through the mounted tree (TARGET
 * stays in their argv), so that the kernel checks every file they read and
 * write exactly as it would for cp or mv.  They may use the process's file
 * system calls, but print only to ctx->out and ctx->err.  This file is
 * linked into vaultctl only, never into the daemon (see vaultctl.c).
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cmd_util.h"
#include "cmds.h"

/*
 * `vaultctl restore MNT PATH --at T` copies MNT/.snapshots/T/PATH back to
 * MNT/PATH, or with --to to a new DEST, in vaultctl and as its caller:
 * every read and write goes through the kernel, which checks it as it
 * would for cp.  In place, a file that exists is truncated and rewritten
 * (a new recovery point of the same file, whose history stays), unless its
 * content already matches; a symlink or special file in the way is
 * replaced by a rename over it (not a deletion, SPEC 4); what is missing is
 * created; entries created after T are left alone.  Owners are restored
 * when the caller is root; modes, times and xattrs always.
 *
 * Bounded resources whatever the tree: data streams through one buffer.
 * Directories down to RESTORE_FD_DEPTH levels are read as streams and keep
 * two descriptors each; below that a directory's names are read into
 * memory, its descriptors closed, and each entry reached again from the
 * directory at RESTORE_FD_DEPTH.  Every path is resolved one component at
 * a time with O_NOFOLLOW: no symlink in either tree is ever followed, so a
 * restore run by root cannot be steered outside MNT or DEST.
 */
#define RESTORE_FD_DEPTH 8
#define RESTORE_BUF (1u << 20)
#define RESTORE_HOLE (64u << 10) /* zero runs left as holes in new files */
#define XATTR_BUF (64u << 10)     /* XATTR_LIST_MAX, XATTR_SIZE_MAX */
#define LINK_BUCKETS 256

/* The first restored name of a file with several links. */
struct rlink {
	dev_t dev;
	ino_t ino;
	struct rlink *next;
	char path[]; /* relative to DEST's parent directory */
};

struct restore {
	FILE *err;
	int in_place;
	uid_t uid;
	const char *dname;  /* the top's name in the destination... */
	int top_dfd;        /* ...and its directory there (for links) */
	char *buf, *cmp;    /* RESTORE_BUF each */
	char *xsrc, *xdst, *xval, *xcur; /* XATTR_BUF each */
	char path[VF_PATH_MAX + 1]; /* the entry at hand, relative to MNT */
	size_t plen, top;   /* its length; the length of PATH */
	int anchor_s, anchor_d; /* the directory at depth RESTORE_FD_DEPTH */
	size_t anchor_len;      /* the length of its path */
	unsigned tmp_seq;
	struct rlink *links[LINK_BUCKETS];
	uint64_t files, dirs, symlinks, special, unchanged, bytes, errors;
};

/* Reports a failure on the entry at hand; returns -1. */
static int rs_error(struct restore *rs, const char *what, int e)
{
	fprintf(rs->err, "vaultctl: restore: %s '", what);
	text_str(rs->err, rs->plen ? rs->path : "/");
	fprintf(rs->err, "' failed: %s\n", strerror(e));
	rs->errors++;
	return -1;
}

static int path_push(struct restore *rs, const char *name, size_t *saved)
{
	size_t n = strlen(name);

	*saved = rs->plen;
	if (rs->plen + 1 + n > VF_PATH_MAX)
		return -ENAMETOOLONG;
	if (rs->plen)
		rs->path[rs->plen++] = '/';
	memcpy(rs->path + rs->plen, name, n + 1);
	rs->plen += n;
	return 0;
}

static void path_pop(struct restore *rs, size_t saved)
{
	rs->plen = saved;
	rs->path[saved] = '\0';
}

/* Opens (O_PATH) the directory rel below dir, one component at a time,
 * following no symlink; "" is dir itself.  Returns an fd or -errno. */
static int walk(int dir, const char *rel)
{
	char comp[NAME_MAX + 1];
	const char *p = rel;
	int fd, nfd, e;
	size_t n;

	fd = fcntl(dir, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	while (*p) {
		n = strcspn(p, "/");
		if (n == 0) {
			p++;
			continue;
		}
		if (n > NAME_MAX) {
			close(fd);
			return -ENAMETOOLONG;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		nfd = openat(fd, comp,
			     O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		e = errno;
		close(fd);
		if (nfd < 0)
			return -e;
		fd = nfd;
		p += n;
	}
	return fd;
}

/* An O_PATH descriptor of name in dir (dir itself for ""). */
static int open_path(int dir, const char *name)
{
	if (!*name)
		return fcntl(dir, F_DUPFD_CLOEXEC, 0);
	return openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
}

static ssize_t read_full(int fd, char *buf, size_t cap)
{
	size_t got = 0;
	ssize_t n;

	while (got < cap) {
		n = read(fd, buf + got, cap - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static int write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int is_zero(const char *p, size_t n)
{
	return n == 0 || (p[0] == 0 && !memcmp(p, p + 1, n - 1));
}

/* ---- xattrs: through /proc/self/fd/N of an O_PATH descriptor (followed
 * to exactly that inode), or for a symlink through /proc/self/fd/DIR/NAME
 * with the l* calls, which do not follow it. */

struct xent {
	char path[64 + NAME_MAX];
	int lnk;
};

static void xent_init(struct xent *x, int fd, int dir, const char *name,
		      int lnk)
{
	x->lnk = lnk;
	if (lnk)
		snprintf(x->path, sizeof(x->path), "/proc/self/fd/%d/%s", dir,
			 name);
	else
		snprintf(x->path, sizeof(x->path), "/proc/self/fd/%d", fd);
}

static ssize_t x_list(const struct xent *x, char *buf, size_t cap)
{
	ssize_t n = x->lnk ? llistxattr(x->path, buf, cap) :
			     listxattr(x->path, buf, cap);

	/* No xattrs at all where they are not supported. */
	if (n < 0 && (errno == ENOTSUP || errno == EOPNOTSUPP))
		return 0;
	return n;
}

static ssize_t x_get(const struct xent *x, const char *name, char *buf,
		     size_t cap)
{
	return x->lnk ? lgetxattr(x->path, name, buf, cap) :
			getxattr(x->path, name, buf, cap);
}

/* 1 when a failure to change xattr name is no error: the destination does
 * not support it, or it is a namespace only root may write. */
static int x_ignorable(const struct restore *rs, const char *name, int e)
{
	if (e == ENOTSUP || e == EOPNOTSUPP)
		return 1;
	return e == EPERM && rs->uid != 0 &&
	       (!strncmp(name, "trusted.", 8) ||
		!strncmp(name, "security.", 9));
}

static int in_list(const char *list, size_t len, const char *name)
{
	size_t off;

	for (off = 0; off < len; off += strlen(list + off) + 1)
		if (!strcmp(list + off, name))
			return 1;
	return 0;
}

/* Makes d's xattrs those of s (in place, removing the ones s lacks). */
static int copy_xattrs(struct restore *rs, const struct xent *s,
		       const struct xent *d)
{
	ssize_t ns, nd, vn, cn;
	size_t off;
	const char *name;
	int rc;

	ns = x_list(s, rs->xsrc, XATTR_BUF);
	if (ns < 0)
		return rs_error(rs, "reading the xattrs of", errno);
	for (off = 0; off < (size_t)ns; off += strlen(name) + 1) {
		name = rs->xsrc + off;
		vn = x_get(s, name, rs->xval, XATTR_BUF);
		if (vn < 0)
			return rs_error(rs, "reading the xattrs of", errno);
		cn = x_get(d, name, rs->xcur, XATTR_BUF);
		if (cn == vn && !memcmp(rs->xcur, rs->xval, (size_t)vn))
			continue;
		rc = d->lnk ? lsetxattr(d->path, name, rs->xval, (size_t)vn, 0) :
			      setxattr(d->path, name, rs->xval, (size_t)vn, 0);
		if (rc < 0 && !x_ignorable(rs, name, errno))
			return rs_error(rs, "setting the xattrs of", errno);
	}
	if (!rs->in_place)
		return 0;
	nd = x_list(d, rs->xdst, XATTR_BUF);
	if (nd < 0)
		return rs_error(rs, "reading the xattrs of", errno);
	for (off = 0; off < (size_t)nd; off += strlen(name) + 1) {
		name = rs->xdst + off;
		if (in_list(rs->xsrc, (size_t)ns, name))
			continue;
		rc = d->lnk ? lremovexattr(d->path, name) :
			      removexattr(d->path, name);
		if (rc < 0 && errno != ENODATA && !x_ignorable(rs, name, errno))
			return rs_error(rs, "removing the xattrs of", errno);
	}
	return 0;
}

static int same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* Gives dname in ddir the metadata st (and the xattrs) of sname in sdir;
 * "" names the directory itself.  Owner first (chown clears setuid bits
 * and capabilities), then xattrs (ACLs), mode, times. */
static int apply_meta(struct restore *rs, int sdir, const char *sname,
		      int ddir, const char *dname, const struct stat *st)
{
	int lnk = S_ISLNK(st->st_mode), sp = -1, dp = -1, rc = -1;
	struct timespec ts[2] = { st->st_atim, st->st_mtim };
	struct xent xs, xd;
	struct stat cur;

	sp = open_path(sdir, sname);
	if (sp < 0) {
		rs_error(rs, "reading", errno);
		goto out;
	}
	dp = open_path(ddir, dname);
	if (dp < 0 || fstat(dp, &cur) < 0) {
		rs_error(rs, "setting the metadata of", errno);
		goto out;
	}
	if ((cur.st_mode ^ st->st_mode) & S_IFMT) {
		rs_error(rs, "setting the metadata of", ESTALE);
		goto out;
	}
	if (cur.st_uid != st->st_uid || cur.st_gid != st->st_gid) {
		if (rs->uid == 0) {
			if (fchownat(dp, "", st->st_uid, st->st_gid,
				     AT_EMPTY_PATH) < 0) {
				rs_error(rs, "setting the owner of", errno);
				goto out;
			}
		} else if (cur.st_uid == rs->uid && cur.st_gid != st->st_gid) {
			/* A group the caller is in; like cp -p, nothing
			 * more. */
			(void)fchownat(dp, "", (uid_t)-1, st->st_gid,
				       AT_EMPTY_PATH);
		}
	}
	xent_init(&xs, sp, sdir, sname, lnk);
	xent_init(&xd, dp, ddir, dname, lnk);
	if (copy_xattrs(rs, &xs, &xd) < 0)
		goto out;
	if (fstat(dp, &cur) < 0) {
		rs_error(rs, "setting the metadata of", errno);
		goto out;
	}
	if (!lnk && (cur.st_mode & 07777) != (st->st_mode & 07777) &&
	    chmod(xd.path, st->st_mode & 07777) < 0) {
		rs_error(rs, "setting the mode of", errno);
		goto out;
	}
	if (!same_time(&cur.st_atim, &ts[0]) ||
	    !same_time(&cur.st_mtim, &ts[1])) {
		if (lnk ? utimensat(ddir, dname, ts, AT_SYMLINK_NOFOLLOW) :
			  utimensat(AT_FDCWD, xd.path, ts, 0)) {
			rs_error(rs, "setting the times of", errno);
			goto out;
		}
	}
	rc = 0;
out:
	if (sp >= 0)
		close(sp);
	if (dp >= 0)
		close(dp);
	return rc;
}

static unsigned link_hash(dev_t dev, ino_t ino)
{
	return (unsigned)(((uint64_t)ino * 0x9e3779b97f4a7c15ull ^ dev) >> 56) %
	       LINK_BUCKETS;
}

/* Links dname to an earlier restored name of the same file.  Returns 1
 * when linked, 0 when it is the first name, -1 on error. */
static int link_existing(struct restore *rs, int ddir, const char *dname,
			 const struct stat *st)
{
	struct rlink *l;

	for (l = rs->links[link_hash(st->st_dev, st->st_ino)]; l; l = l->next) {
		if (l->dev != st->st_dev || l->ino != st->st_ino)
			continue;
		if (linkat(rs->top_dfd, l->path, ddir, dname, 0) < 0)
			return rs_error(rs, "linking", errno);
		rs->files++;
		return 1;
	}
	return 0;
}

static void remember_link(struct restore *rs, const struct stat *st)
{
	const char *suffix = rs->path + rs->top;
	unsigned h = link_hash(st->st_dev, st->st_ino);
	size_t n = strlen(rs->dname) + strlen(suffix) + 2;
	struct rlink *l;

	l = malloc(sizeof(*l) + n);
	if (!l)
		return; /* later names become copies: still right */
	l->dev = st->st_dev;
	l->ino = st->st_ino;
	if (!*rs->dname && *suffix == '/')
		suffix++; /* the whole tree in place: relative to MNT */
	snprintf(l->path, n, "%s%s%s", rs->dname,
		 *rs->dname && *suffix && *suffix != '/' ? "/" : "", suffix);
	l->next = rs->links[h];
	rs->links[h] = l;
}

static void tmp_name(struct restore *rs, char *buf, size_t cap)
{
	snprintf(buf, cap, ".vaultctl-restore.%ld.%u", (long)getpid(),
		 rs->tmp_seq++);
}

/* The end of a non-directory: metadata on name (dname or a temporary
 * name), then the rename over dname. */
static int finish(struct restore *rs, int sdir, const char *sname, int ddir,
		  const char *dname, const char *name, const struct stat *st)
{
	if (apply_meta(rs, sdir, sname, ddir, name, st) < 0)
		goto fail;
	if (name != dname && renameat(ddir, name, ddir, dname) < 0) {
		rs_error(rs, "replacing", errno);
		goto fail;
	}
	if (st->st_nlink > 1)
		remember_link(rs, st);
	return 0;
fail:
	if (name != dname)
		unlinkat(ddir, name, 0);
	return -1;
}

/* 1 when the file dname in ddir has the content of in (same size known),
 * 0 when not (or it cannot be read: then it is rewritten), -1 on error. */
static int same_content(struct restore *rs, int in, int ddir,
			const char *dname)
{
	ssize_t a, b;
	int fd, rc = -1;

	fd = openat(ddir, dname, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return errno == EACCES ? 0 : rs_error(rs, "reading", errno);
	for (;;) {
		a = read_full(in, rs->buf, RESTORE_BUF);
		if (a < 0) {
			rs_error(rs, "reading", errno);
			break;
		}
		b = read_full(fd, rs->cmp, RESTORE_BUF);
		if (b < 0) {
			rs_error(rs, "reading", errno);
			break;
		}
		if (a != b || memcmp(rs->buf, rs->cmp, (size_t)a)) {
			rc = 0;
			break;
		}
		if (a == 0) {
			rc = 1;
			break;
		}
	}
	close(fd);
	return rc;
}

/* Streams in to out; sparse: runs of zeros become holes. */
static int copy_data(struct restore *rs, int in, int out, int sparse)
{
	size_t done, part;
	off_t total = 0;
	ssize_t n;

	for (;;) {
		n = read(in, rs->buf, RESTORE_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return rs_error(rs, "reading", errno);
		if (n == 0)
			break;
		for (done = 0; done < (size_t)n; done += part) {
			part = (size_t)n - done;
			if (part > RESTORE_HOLE)
				part = RESTORE_HOLE;
			if (sparse && is_zero(rs->buf + done, part)) {
				if (lseek(out, (off_t)part, SEEK_CUR) < 0)
					return rs_error(rs, "writing", errno);
			} else if (write_all(out, rs->buf + done, part) < 0) {
				return rs_error(rs, "writing", errno);
			}
		}
		total += n;
		rs->bytes += (uint64_t)n;
	}
	if (sparse && ftruncate(out, total) < 0)
		return rs_error(rs, "writing", errno);
	return 0;
}

static int restore_file(struct restore *rs, int sdir, const char *sname,
			int ddir, const char *dname, const struct stat *st,
			const struct stat *now)
{
	const char *name = dname;
	char tmp[64];
	int in, out = -1, same, rc = -1;

	in = openat(sdir, sname, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	if (in < 0)
		return rs_error(rs, "reading", errno);
	if (now && S_ISREG(now->st_mode)) {
		if (now->st_size == st->st_size) {
			same = same_content(rs, in, ddir, dname);
			if (same < 0)
				goto out;
			if (same) {
				rs->unchanged++;
				close(in);
				in = -1;
				return finish(rs, sdir, sname, ddir, dname,
					      name, st);
			}
			if (lseek(in, 0, SEEK_SET) < 0) {
				rs_error(rs, "reading", errno);
				goto out;
			}
		}
		/* Truncated and rewritten: a new recovery point of the same
		 * file, its history kept. */
		out = openat(ddir, dname,
			     O_WRONLY | O_TRUNC | O_NOFOLLOW | O_NOCTTY |
				     O_CLOEXEC);
	} else {
		if (now) {
			tmp_name(rs, tmp, sizeof(tmp));
			name = tmp;
		}
		out = openat(ddir, name,
			     O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
				     O_NOCTTY | O_CLOEXEC,
			     0600);
	}
	if (out < 0) {
		rs_error(rs, "writing", errno);
		goto out;
	}
	if (copy_data(rs, in, out, !rs->in_place) < 0)
		goto fail;
	/* close(2) commits the recovery point: its error is the commit's. */
	rc = close(out);
	out = -1;
	if (rc < 0) {
		rs_error(rs, "writing", errno);
		goto fail;
	}
	rs->files++;
	close(in);
	in = -1;
	return finish(rs, sdir, sname, ddir, dname, name, st);
fail:
	rc = -1;
	if (out >= 0)
		close(out);
	out = -1;
	if (name != dname)
		unlinkat(ddir, name, 0);
out:
	if (out >= 0)
		close(out);
	if (in >= 0)
		close(in);
	return rc;
}

static int restore_symlink(struct restore *rs, int sdir, const char *sname,
			   int ddir, const char *dname, const struct stat *st,
			   const struct stat *now)
{
	char target[VF_PATH_MAX + 1], cur[VF_PATH_MAX + 1], tmp[64];
	const char *name = dname;
	ssize_t n, m;

	n = readlinkat(sdir, sname, target, sizeof(target));
	if (n < 0 || (size_t)n >= sizeof(target))
		return rs_error(rs, "reading", n < 0 ? errno : ENAMETOOLONG);
	target[n] = '\0';
	if (now && S_ISLNK(now->st_mode)) {
		m = readlinkat(ddir, dname, cur, sizeof(cur));
		if (m == n && !memcmp(cur, target, (size_t)n)) {
			rs->unchanged++;
			return finish(rs, sdir, sname, ddir, dname, name, st);
		}
	}
	if (now) {
		tmp_name(rs, tmp, sizeof(tmp));
		name = tmp;
	}
	if (symlinkat(target, ddir, name) < 0)
		return rs_error(rs, "creating", errno);
	rs->symlinks++;
	return finish(rs, sdir, sname, ddir, dname, name, st);
}

/* Fifos, sockets and device nodes. */
static int restore_special(struct restore *rs, int sdir, const char *sname,
			   int ddir, const char *dname, const struct stat *st,
			   const struct stat *now)
{
	const char *name = dname;
	char tmp[64];

	if (now && !((now->st_mode ^ st->st_mode) & S_IFMT) &&
	    ((!S_ISCHR(st->st_mode) && !S_ISBLK(st->st_mode)) ||
	     now->st_rdev == st->st_rdev)) {
		rs->unchanged++;
		return finish(rs, sdir, sname, ddir, dname, name, st);
	}
	if (now) {
		tmp_name(rs, tmp, sizeof(tmp));
		name = tmp;
	}
	if (mknodat(ddir, name, (st->st_mode & S_IFMT) | 0600, st->st_rdev) < 0)
		return rs_error(rs, "creating", errno);
	rs->special++;
	return finish(rs, sdir, sname, ddir, dname, name, st);
}

/* Restores sname of sdir (the snapshot) as dname in ddir; *st gets its
 * attributes.  Returns 1 for a directory that exists now in the
 * destination (the caller descends into it), 0 when done, -1 after a
 * reported error. */
static int restore_entry(struct restore *rs, int sdir, const char *sname,
			 int ddir, const char *dname, struct stat *st)
{
	struct stat now;
	int have, r;

	if (fstatat(sdir, sname, st, AT_SYMLINK_NOFOLLOW) < 0)
		return rs_error(rs, "reading", errno);
	have = fstatat(ddir, dname, &now, AT_SYMLINK_NOFOLLOW) == 0;
	if (!have && errno != ENOENT)
		return rs_error(rs, "looking up", errno);
	if (have && !rs->in_place)
		return rs_error(rs, "creating", EEXIST);
	if (have && S_ISDIR(now.st_mode) && !S_ISDIR(st->st_mode))
		return rs_error(rs, "replacing", EISDIR);
	if (have && !S_ISDIR(now.st_mode) && S_ISDIR(st->st_mode))
		return rs_error(rs, "replacing", ENOTDIR);
	if (S_ISDIR(st->st_mode)) {
		if (!have && mkdirat(ddir, dname, 0700) < 0)
			return rs_error(rs, "creating", errno);
		rs->dirs++;
		return 1;
	}
	/* A name of a file restored already under another name becomes a
	 * link to it (in place only where the name is missing now). */
	if (st->st_nlink > 1 && !have) {
		r = link_existing(rs, ddir, dname, st);
		if (r)
			return r < 0 ? -1 : 0;
	}
	if (S_ISREG(st->st_mode))
		return restore_file(rs, sdir, sname, ddir, dname, st,
				    have ? &now : NULL);
	if (S_ISLNK(st->st_mode))
		return restore_symlink(rs, sdir, sname, ddir, dname, st,
				       have ? &now : NULL);
	return restore_special(rs, sdir, sname, ddir, dname, st,
			       have ? &now : NULL);
}

static void restore_dir(struct restore *rs, int sfd, int dfd,
			const struct stat *st, int depth);

/* Opens the directory sname of sdir and dname of ddir and restores it. */
static void descend(struct restore *rs, int sdir, const char *sname, int ddir,
		    const char *dname, const struct stat *st, int depth)
{
	int cs, cd = -1;

	cs = openat(sdir, sname,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (cs >= 0)
		cd = openat(ddir, dname,
			    O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (cs < 0 || cd < 0) {
		rs_error(rs, "opening", errno);
		if (cs >= 0)
			close(cs);
		return;
	}
	restore_dir(rs, cs, cd, st, depth);
}

/* A directory down to RESTORE_FD_DEPTH: read as a stream, descriptors
 * kept. */
static void dir_stream(struct restore *rs, int sfd, int dfd,
		       const struct stat *st, int depth)
{
	struct dirent *e;
	struct stat cst;
	size_t saved;
	DIR *d;

	d = fdopendir(sfd);
	if (!d) {
		rs_error(rs, "listing", errno);
		close(sfd);
		close(dfd);
		return;
	}
	for (;;) {
		errno = 0;
		e = readdir(d);
		if (!e) {
			if (errno)
				rs_error(rs, "listing", errno);
			break;
		}
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (path_push(rs, e->d_name, &saved) < 0) {
			rs_error(rs, "restoring an entry of", ENAMETOOLONG);
			continue;
		}
		if (restore_entry(rs, sfd, e->d_name, dfd, e->d_name, &cst) == 1)
			descend(rs, sfd, e->d_name, dfd, e->d_name, &cst,
				depth + 1);
		path_pop(rs, saved);
	}
	apply_meta(rs, sfd, "", dfd, "", st);
	closedir(d);
	close(dfd);
}

/* Opens rs->path in both trees from the anchor (O_PATH). */
static int reopen(struct restore *rs, int *ps, int *pd)
{
	const char *rel = rs->path + rs->anchor_len;

	if (*rel == '/')
		rel++;
	*ps = walk(rs->anchor_s, rel);
	if (*ps < 0)
		return rs_error(rs, "opening", -*ps);
	*pd = walk(rs->anchor_d, rel);
	if (*pd < 0) {
		close(*ps);
		*ps = -1;
		return rs_error(rs, "opening", -*pd);
	}
	return 0;
}

/* A directory below RESTORE_FD_DEPTH: its names in memory, no descriptor
 * held while its subdirectories are restored. */
static void dir_deep(struct restore *rs, int sfd, int dfd,
		     const struct stat *st, int depth)
{
	size_t len = 0, cap = 0, off, n, saved;
	int ps = -1, pd = -1, cs, cd;
	char *names = NULL, *p;
	struct dirent *e;
	struct stat cst;
	DIR *d;

	close(dfd);
	d = fdopendir(sfd);
	if (!d) {
		rs_error(rs, "listing", errno);
		close(sfd);
		return;
	}
	for (;;) {
		errno = 0;
		e = readdir(d);
		if (!e) {
			if (errno)
				rs_error(rs, "listing", errno);
			break;
		}
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		n = strlen(e->d_name) + 1;
		if (len + n > cap) {
			cap = cap ? 2 * cap : 4096;
			p = realloc(names, cap);
			if (!p) {
				rs_error(rs, "listing", ENOMEM);
				closedir(d);
				goto out;
			}
			names = p;
		}
		memcpy(names + len, e->d_name, n);
		len += n;
	}
	closedir(d);
	for (off = 0; off < len; off += strlen(names + off) + 1) {
		if (ps < 0 && reopen(rs, &ps, &pd) < 0)
			goto out;
		if (path_push(rs, names + off, &saved) < 0) {
			rs_error(rs, "restoring an entry of", ENAMETOOLONG);
			continue;
		}
		if (restore_entry(rs, ps, names + off, pd, names + off, &cst) ==
		    1) {
			cs = openat(ps, names + off,
				    O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					    O_CLOEXEC);
			cd = cs < 0 ? -1 :
				      openat(pd, names + off,
					     O_PATH | O_DIRECTORY | O_NOFOLLOW |
						     O_CLOEXEC);
			close(ps);
			close(pd);
			ps = pd = -1;
			if (cs < 0 || cd < 0) {
				rs_error(rs, "opening", errno);
				if (cs >= 0)
					close(cs);
			} else {
				restore_dir(rs, cs, cd, &cst, depth + 1);
			}
		}
		path_pop(rs, saved);
	}
	if (ps < 0 && reopen(rs, &ps, &pd) < 0)
		goto out;
	apply_meta(rs, ps, "", pd, "", st);
out:
	if (ps >= 0)
		close(ps);
	if (pd >= 0)
		close(pd);
	free(names);
}

/* Restores the entries of a directory, then its own metadata.  sfd (open
 * for reading, in the snapshot) and dfd (O_PATH, the destination) are the
 * directory's; both are closed here. */
static void restore_dir(struct restore *rs, int sfd, int dfd,
			const struct stat *st, int depth)
{
	if (depth == RESTORE_FD_DEPTH) {
		rs->anchor_s = sfd;
		rs->anchor_d = dfd;
		rs->anchor_len = rs->plen;
	}
	if (depth <= RESTORE_FD_DEPTH)
		dir_stream(rs, sfd, dfd, st, depth);
	else
		dir_deep(rs, sfd, dfd, st, depth);
}

/* Opens MNT's directory dir (PATH's parent), creating from the snapshot
 * (tfd) what is missing now; *first gets the number of components that
 * existed (== all when nothing was created).  Returns an O_PATH fd, or -1
 * after reporting. */
static int open_parents(struct restore *rs, int mfd, int tfd, const char *dir,
			size_t *ncomp, size_t *first)
{
	char comp[NAME_MAX + 1];
	const char *p = dir;
	int s, d, ns, nd;
	size_t n;

	*ncomp = 0;
	*first = (size_t)-1;
	s = fcntl(tfd, F_DUPFD_CLOEXEC, 0);
	d = fcntl(mfd, F_DUPFD_CLOEXEC, 0);
	if (s < 0 || d < 0) {
		rs_error(rs, "opening", errno);
		goto fail;
	}
	while (*p) {
		n = strcspn(p, "/");
		memcpy(comp, p, n);
		comp[n] = '\0';
		p += n;
		if (*p == '/')
			p++;
		ns = openat(s, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (ns < 0) {
			rs_error(rs, "opening", errno);
			goto fail;
		}
		nd = openat(d, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nd < 0 && errno == ENOENT) {
			if (*first == (size_t)-1)
				*first = *ncomp;
			if (mkdirat(d, comp, 0700) < 0) {
				rs_error(rs, "creating a parent of", errno);
				close(ns);
				goto fail;
			}
			rs->dirs++;
			nd = openat(d, comp,
				    O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (nd < 0) {
			rs_error(rs, "opening a parent of", errno);
			close(ns);
			goto fail;
		}
		close(s);
		close(d);
		s = ns;
		d = nd;
		(*ncomp)++;
	}
	if (*first == (size_t)-1)
		*first = *ncomp;
	close(s);
	return d;
fail:
	if (s >= 0)
		close(s);
	if (d >= 0)
		close(d);
	return -1;
}

/* Gives the parents open_parents created (components first..ncomp-1 of
 * dir) their metadata from the snapshot, deepest first (their times last,
 * after everything inside was created). */
static void meta_parents(struct restore *rs, int mfd, int tfd,
			 const char *dir, size_t ncomp, size_t first)
{
	char prefix[VF_PATH_MAX + 1], *slash;
	const char *name;
	struct stat st;
	size_t k, i, n;
	int ps, pd;

	for (k = ncomp; k-- > first;) {
		/* prefix = the first k + 1 components */
		n = 0;
		for (i = 0; i <= k; i++) {
			n += strcspn(dir + n, "/");
			if (i < k)
				n++;
		}
		memcpy(prefix, dir, n);
		prefix[n] = '\0';
		snprintf(rs->path, sizeof(rs->path), "%s", prefix);
		rs->plen = n;
		slash = strrchr(prefix, '/');
		if (slash) {
			*slash = '\0';
			name = slash + 1;
		} else {
			name = prefix;
		}
		ps = walk(tfd, slash ? prefix : "");
		pd = ps < 0 ? ps : walk(mfd, slash ? prefix : "");
		if (ps < 0 || pd < 0) {
			rs_error(rs, "opening", ps < 0 ? -ps : -pd);
		} else if (fstatat(ps, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rs_error(rs, "reading", errno);
		} else {
			apply_meta(rs, ps, name, pd, name, &st);
		}
		if (ps >= 0)
			close(ps);
		if (pd >= 0)
			close(pd);
	}
}

static void restore_free(struct restore *rs)
{
	struct rlink *l, *next;
	size_t i;

	for (i = 0; i < LINK_BUCKETS; i++)
		for (l = rs->links[i]; l; l = next) {
			next = l->next;
			free(l);
		}
	free(rs->buf);
	free(rs->cmp);
	free(rs->xsrc);
	free(rs->xdst);
	free(rs->xval);
	free(rs->xcur);
}

/* Does the restore once everything was checked: PATH (parent dir, NULL
 * at the top, and base, "" for the whole tree) from the snapshot tfd
 * (sparent: dir in it) to dname in dparent, or in place below mfd. */
static void restore_top(struct restore *rs, int mfd, int tfd, int sparent,
			int dparent, const char *dir, const char *base,
			const char *dname)
{
	size_t ncomp = 0, first = 0;
	int pfd = dparent, cs, cd;
	struct stat st;

	if (rs->in_place) {
		pfd = open_parents(rs, mfd, tfd, dir ? dir : "", &ncomp, &first);
		if (pfd < 0)
			return;
		rs->dname = dname;
		rs->top_dfd = pfd;
	}
	if (*base) {
		if (restore_entry(rs, sparent, base, pfd, dname, &st) == 1)
			descend(rs, sparent, base, pfd, dname, &st, 0);
	} else {
		/* The whole tree. */
		cs = openat(tfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cs < 0 || fstat(cs, &st) < 0) {
			rs_error(rs, "opening", errno);
			if (cs >= 0)
				close(cs);
			goto out;
		}
		if (!rs->in_place && mkdirat(pfd, dname, 0700) < 0) {
			rs_error(rs, "creating", errno);
			close(cs);
			goto out;
		}
		cd = rs->in_place ? fcntl(mfd, F_DUPFD_CLOEXEC, 0) :
				    openat(pfd, dname,
					   O_PATH | O_DIRECTORY | O_NOFOLLOW |
						   O_CLOEXEC);
		if (cd < 0) {
			rs_error(rs, "opening", errno);
			close(cs);
			goto out;
		}
		rs->dirs++;
		restore_dir(rs, cs, cd, &st, 0);
	}
	if (first < ncomp)
		meta_parents(rs, mfd, tfd, dir, ncomp, first);
out:
	if (pfd != dparent)
		close(pfd);
}

/* Says why TARGET cannot be used by the client command what (restore,
 * undelete): it is not a vaultfs mountpoint. */
static void not_a_mount(FILE *err, const char *target, const char *what)
{
	struct stat st;

	/* A vault directory is root-only (SPEC 8): one we cannot look into
	 * is most likely one. */
	if (vf_protector_is_vault(target) == 1 ||
	    (stat(target, &st) == 0 && S_ISDIR(st.st_mode) &&
	     access(target, X_OK) < 0 && errno == EACCES))
		fprintf(err, "vaultctl: %s needs a mounted vault (mount it, then %s from MNT)\n",
			what, what);
	else
		fprintf(err, "vaultctl: '%s' is not a vaultfs mountpoint\n",
			target);
}

/* The resolved path of target when it is a vaultfs mountpoint (caller
 * frees), else NULL after saying why (what: the command, for messages). */
static char *mount_path(FILE *err, const char *target, const char *what)
{
	char *real;
	int r;

	real = realpath(target, NULL);
	if (!real) {
		if (errno == ENOTCONN)
			fprintf(err, "vaultctl: '%s' is a dead vaultfs mount (its daemon is gone); unmount it with fusermount3 -u\n",
				target);
		else
			fprintf(err, "vaultctl: cannot access '%s': %s\n", target,
				strerror(errno));
		return NULL;
	}
	r = vf_cmds_mountinfo_find(real, "fuse.vaultfs");
	if (r < 0)
		fprintf(err, "vaultctl: cannot read the mount table: %s\n",
			strerror(-r));
	else if (r == 0)
		not_a_mount(err, target, what);
	if (r <= 0) {
		free(real);
		return NULL;
	}
	return real;
}

/* DEST (to, and dest: a copy to cut up) must not exist; opens its parent
 * directory (O_PATH) and points *dname at its last component.  Returns
 * the fd, or -1 after saying why. */
static int open_dest(FILE *err, const char *to, char *dest, const char **dname)
{
	struct stat st;
	char *slash;
	size_t n;
	int fd;

	for (n = strlen(dest); n > 1 && dest[n - 1] == '/'; n--)
		dest[n - 1] = '\0';
	if (lstat(dest, &st) == 0) {
		fprintf(err, "vaultctl: restore: '%s' exists\n", to);
		return -1;
	}
	if (errno != ENOENT) {
		fprintf(err, "vaultctl: restore: cannot access '%s': %s\n", to,
			strerror(errno));
		return -1;
	}
	slash = strrchr(dest, '/');
	*dname = slash ? slash + 1 : dest;
	if (slash == dest) {
		fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	} else if (slash) {
		*slash = '\0';
		fd = open(dest, O_PATH | O_DIRECTORY | O_CLOEXEC);
	} else {
		fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	}
	if (fd < 0)
		fprintf(err, "vaultctl: restore: cannot open the directory of '%s': %s\n",
			to, strerror(errno));
	return fd;
}

int cmd_restore(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		char **argv)
{
	const char *at = NULL, *to = NULL, *base, *dname = NULL;
	char *pos[2] = { NULL, NULL }, *real = NULL, *rel = NULL, *dest = NULL;
	char tname[32], *slash;
	int json = 0, rc, ret = 1;
	const struct opt opts[] = {
		{ "--at", &at, NULL },
		{ "--to", &to, NULL },
		{ "--json", NULL, &json },
		{ NULL, NULL, NULL },
	};
	int mfd = -1, snap = -1, tfd = -1, sparent = -1, dparent = -1, r;
	size_t n;
	struct restore rs;
	struct stat st;
	int64_t t;
	FILE *f = ctx->out;

	memset(&rs, 0, sizeof(rs));
	rs.err = ctx->err;
	rs.uid = ctx->caller.uid;
	rs.top_dfd = -1;
	rc = parse_args(c, ctx->err, argc, argv, opts, pos, 2, 2);
	if (rc)
		return rc;
	if (!at)
		return usage_error(ctx->err, c,
				   "restore: --at TIME is required");
	if (to && !*to)
		return usage_error(ctx->err, c, "restore: --to needs a path");
	if (vf_time_parse(at, &t) < 0) {
		fprintf(ctx->err, "vaultctl: restore: '%s' is not a time (ISO-8601 UTC, like 2026-11-28T20:13:07Z)\n",
			at);
		return 1;
	}
	/* The view name: TIME as of its whole second. */
	vf_time_format(t, tname);
	if (vf_time_parse(tname, &t) < 0 || t > vf_clock_now()) {
		fprintf(ctx->err, "vaultctl: restore: %s is in the future\n",
			tname);
		return 1;
	}

	real = mount_path(ctx->err, pos[0], "restore");
	if (!real)
		goto out;

	/* PATH relative to MNT; MNT/... given as an absolute path works
	 * too. */
	n = strlen(real);
	rel = strdup(pos[1][0] == '/' && !strncmp(pos[1], real, n) &&
				     (pos[1][n] == '/' || !pos[1][n]) &&
				     n > 1 ?
			     pos[1] + n :
			     pos[1]);
	if (!rel) {
		fprintf(ctx->err, "vaultctl: restore: out of memory\n");
		goto out;
	}
	if (normalise_path(rel) < 0) {
		fprintf(ctx->err, "vaultctl: restore: PATH must not contain '..'\n");
		print_usage(ctx->err, c);
		ret = 2;
		goto out;
	}
	if (strlen(rel) > VF_PATH_MAX) {
		fprintf(ctx->err, "vaultctl: restore: PATH is too long\n");
		goto out;
	}
	snprintf(rs.path, sizeof(rs.path), "%s", rel);
	rs.plen = rs.top = strlen(rel);

	mfd = open(real, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (mfd < 0) {
		fprintf(ctx->err, "vaultctl: cannot open '%s': %s\n", real,
			strerror(errno));
		goto out;
	}
	snap = openat(mfd, ".snapshots", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (snap < 0) {
		fprintf(ctx->err, "vaultctl: cannot open '%s/.snapshots': %s\n",
			real, strerror(errno));
		goto out;
	}
	/* PATH's parent and PATH itself as of T.  A name that is missing,
	 * or reached through a symlink, did not exist there. */
	slash = strrchr(rel, '/');
	base = slash ? slash + 1 : rel;
	if (slash)
		*slash = '\0';
	tfd = openat(snap, tname, O_PATH | O_DIRECTORY | O_CLOEXEC);
	r = tfd < 0 ? -errno : 0;
	close(snap);
	snap = -1;
	if (!r) {
		sparent = walk(tfd, slash ? rel : "");
		r = sparent < 0 ? sparent : 0;
	}
	if (!r && *base && fstatat(sparent, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		r = -errno;
	if (r == -ENOENT || r == -ENOTDIR || r == -ELOOP) {
		fputs("vaultctl: '", ctx->err);
		text_str(ctx->err, rs.path);
		fprintf(ctx->err, "' did not exist at %s\n", tname);
		goto out;
	}
	if (r < 0) {
		fputs("vaultctl: cannot read '", ctx->err);
		text_str(ctx->err, rs.path);
		fprintf(ctx->err, "' as of %s: %s\n", tname, strerror(-r));
		goto out;
	}

	if (to) {
		dest = strdup(to);
		if (!dest) {
			fprintf(ctx->err, "vaultctl: restore: out of memory\n");
			goto out;
		}
		dparent = open_dest(ctx->err, to, dest, &dname);
		if (dparent < 0)
			goto out;
		rs.dname = dname;
		rs.top_dfd = dparent;
	} else {
		rs.in_place = 1;
		dname = base;
	}

	rs.buf = malloc(RESTORE_BUF);
	rs.cmp = malloc(RESTORE_BUF);
	rs.xsrc = malloc(XATTR_BUF);
	rs.xdst = malloc(XATTR_BUF);
	rs.xval = malloc(XATTR_BUF);
	rs.xcur = malloc(XATTR_BUF);
	if (!rs.buf || !rs.cmp || !rs.xsrc || !rs.xdst || !rs.xval ||
	    !rs.xcur) {
		fprintf(ctx->err, "vaultctl: restore: out of memory\n");
		goto out;
	}

	/* Nothing was changed up to here. */
	restore_top(&rs, mfd, tfd, sparent, dparent, slash ? rel : NULL, base,
		    dname);
	if (json) {
		struct json_object *o = json_object_new_object();

		jadd_str(o, "path", pos[1]);
		jadd_str(o, "at", tname);
		jadd_str(o, "to", to);
		jadd_u64(o, "files", rs.files);
		jadd_u64(o, "dirs", rs.dirs);
		jadd_u64(o, "symlinks", rs.symlinks);
		jadd_u64(o, "special", rs.special);
		jadd_u64(o, "unchanged", rs.unchanged);
		jadd_u64(o, "bytes", rs.bytes);
		jadd_u64(o, "errors", rs.errors);
		json_print(f, o);
	} else {
		fputs("restored '", f);
		text_str(f, pos[1]);
		fprintf(f, "' as of %s ", tname);
		if (to) {
			fputs("to '", f);
			text_str(f, to);
			fputs("'", f);
		} else {
			fputs("in place", f);
		}
		fprintf(f, ": %llu file%s (%llu bytes), %llu director%s, %llu symlink%s, %llu special file%s, %llu unchanged\n",
			(unsigned long long)rs.files, rs.files == 1 ? "" : "s",
			(unsigned long long)rs.bytes,
			(unsigned long long)rs.dirs, rs.dirs == 1 ? "y" : "ies",
			(unsigned long long)rs.symlinks,
			rs.symlinks == 1 ? "" : "s",
			(unsigned long long)rs.special,
			rs.special == 1 ? "" : "s",
			(unsigned long long)rs.unchanged);
	}
	if (rs.errors) {
		fflush(f);
		fprintf(ctx->err, "vaultctl: restore: %llu error%s (above); the rest was restored\n",
			(unsigned long long)rs.errors, rs.errors == 1 ? "" : "s");
	} else {
		ret = 0;
	}
out:
	if (sparent >= 0)
		close(sparent);
	if (dparent >= 0)
		close(dparent);
	if (tfd >= 0)
		close(tfd);
	if (snap >= 0)
		close(snap);
	if (mfd >= 0)
		close(mfd);
	restore_free(&rs);
	free(dest);
	free(rel);
	free(real);
	return ret;
}

/*
 * `vaultctl undelete MNT PATH [--to DEST]` is `mv MNT/.softdeleted/PATH
 * MNT/DEST` (SPEC 4: undelete is a rename out of .softdeleted) done with
 * care and explained: one renameat2(RENAME_NOREPLACE), in vaultctl and as
 * its caller, so that the kernel and the daemon check it exactly as they
 * check mv.  Both parent directories are reached one component at a time
 * without following symlinks (walk), so a DEST through a symlink cannot
 * put the item anywhere unexpected; nothing is created and nothing in the
 * live tree is replaced.
 */

/* p (PATH or DEST, no "..") relative to the mount: a leading MNT/, as
 * resolved (real) or as written (target), or "/" is dropped and the rest
 * normalised.  Returns a copy (caller frees) or NULL (out of memory). */
static char *mount_rel(const char *real, const char *target, const char *p)
{
	size_t n = strlen(real), m = strlen(target);
	char *r;

	while (m > 1 && target[m - 1] == '/')
		m--;
	if (p[0] == '/' && n > 1 && !strncmp(p, real, n) &&
	    (p[n] == '/' || !p[n]))
		p += n;
	else if (!strncmp(p, target, m) && (p[m] == '/' || !p[m]))
		p += m;
	r = strdup(p);
	if (r && normalise_path(r) < 0) {
		/* has_dotdot ruled this out */
		free(r);
		r = NULL;
	}
	return r;
}

/* 1 when rel (normalised, relative to MNT) lies in a history view. */
static int in_view(const char *rel)
{
	static const char *const views[] = {
		".softdeleted", ".snapshots", ".versions",
	};
	size_t i, n = strcspn(rel, "/");

	for (i = 0; i < VF_ARRAY_LEN(views); i++)
		if (n == strlen(views[i]) && !strncmp(rel, views[i], n))
			return 1;
	return 0;
}

/* Splits a normalised path into its directory (rel itself, cut; "" at
 * the top) and its last component (*base). */
static const char *split_path(char *rel, const char **base)
{
	char *slash = strrchr(rel, '/');

	if (!slash) {
		*base = rel;
		return "";
	}
	*slash = '\0';
	*base = slash + 1;
	return rel;
}

/* Says why renameat2 failed, with src and dst whole (sdir/sbase and
 * ddir/dbase); sp is the source's parent, to tell a missing source from a
 * destination directory removed meanwhile. */
static void undelete_error(FILE *err, int e, int sp, const char *sbase,
			   const char *src, const char *dst, const char *ddir)
{
	struct stat st;

	fputs("vaultctl: ", err);
	switch (e) {
	case ENOENT:
		if (fstatat(sp, sbase, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			fputc('\'', err);
			text_str(err, src);
			fputs("' is not in .softdeleted\n", err);
		} else {
			fputs("the directory '", err);
			text_str(err, *ddir ? ddir : "/");
			fputs("' does not exist (undelete does not create directories)\n",
			      err);
		}
		return;
	case EEXIST:
	case ENOTEMPTY:
		fputc('\'', err);
		text_str(err, dst);
		fputs("' exists in the live tree; undelete it elsewhere with --to\n",
		      err);
		return;
	case EXDEV:
		fputc('\'', err);
		text_str(err, src);
		fputs("' holds deleted items but was not deleted itself; undelete the items inside it, or copy it out with cp -a\n",
		      err);
		return;
	case EROFS:
		fputs("undelete of '", err);
		text_str(err, src);
		fputs("' refused: the vault is read-only\n", err);
		return;
	case EACCES:
	case EPERM:
		fputs("undelete of '", err);
		text_str(err, src);
		fprintf(err, "' refused: %s\n", strerror(e));
		return;
	default:
		fputs("undelete of '", err);
		text_str(err, src);
		fprintf(err, "' failed: %s\n", strerror(e));
	}
}

int cmd_undelete(struct vf_cmd_ctx *ctx, const struct cmd *c,
		 int argc, char **argv)
{
	const char *to = NULL, *sdir, *sbase, *ddir, *dbase;
	char *pos[2] = { NULL, NULL }, *real = NULL, *src = NULL, *dst = NULL;
	char *scut = NULL, *dcut = NULL;
	int json = 0;
	const struct opt opts[] = {
		{ "--to", &to, NULL },
		{ "--json", NULL, &json },
		{ NULL, NULL, NULL },
	};
	int mfd = -1, tfd = -1, sp = -1, dp = -1, rc, ret = 1;

	rc = parse_args(c, ctx->err, argc, argv, opts, pos, 2, 2);
	if (rc)
		return rc;
	if (to && !*to)
		return usage_error(ctx->err, c, "undelete: --to needs a path");
	if (has_dotdot(pos[1]) || (to && has_dotdot(to)))
		return usage_error(ctx->err, c, "undelete: PATH and DEST must not contain '..'");
	real = mount_path(ctx->err, pos[0], "undelete");
	if (!real)
		return 1;
	/* PATH as under .softdeleted; MNT/.softdeleted/PATH works too. */
	src = mount_rel(real, pos[0], pos[1]);
	if (src)
		memmove(src, trash_rel(src), strlen(trash_rel(src)) + 1);
	if (src)
		dst = to ? mount_rel(real, pos[0], to) : strdup(src);
	if (!src || !dst) {
		fprintf(ctx->err, "vaultctl: undelete: out of memory\n");
		goto out;
	}
	if (!*src || !*dst) {
		fprintf(ctx->err, "vaultctl: undelete: %s must name an item\n",
			*src ? "DEST" : "PATH");
		print_usage(ctx->err, c);
		ret = 2;
		goto out;
	}
	if (in_view(dst)) {
		fputs("vaultctl: undelete: '", ctx->err);
		text_str(ctx->err, dst);
		fputs("' is in a read-only view; DEST must be in the live tree\n",
		      ctx->err);
		ret = 2;
		goto out;
	}
	if (strlen(src) > VF_PATH_MAX || strlen(dst) > VF_PATH_MAX) {
		fprintf(ctx->err, "vaultctl: undelete: %s is too long\n",
			strlen(src) > VF_PATH_MAX ? "PATH" : "DEST");
		goto out;
	}
	scut = strdup(src);
	dcut = strdup(dst);
	if (!scut || !dcut) {
		fprintf(ctx->err, "vaultctl: undelete: out of memory\n");
		goto out;
	}
	sdir = split_path(scut, &sbase);
	ddir = split_path(dcut, &dbase);

	mfd = open(real, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (mfd < 0) {
		fprintf(ctx->err, "vaultctl: cannot open '%s': %s\n", real,
			strerror(errno));
		goto out;
	}
	tfd = openat(mfd, ".softdeleted", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (tfd < 0) {
		fprintf(ctx->err, "vaultctl: cannot open '%s/.softdeleted': %s\n",
			real, strerror(errno));
		goto out;
	}
	sp = walk(tfd, sdir);
	if (sp < 0) {
		fputs("vaultctl: '", ctx->err);
		text_str(ctx->err, src);
		if (sp == -ENOENT || sp == -ENOTDIR)
			fputs("' is not in .softdeleted\n", ctx->err);
		else
			fprintf(ctx->err, "' cannot be reached: %s\n",
				strerror(-sp));
		goto out;
	}
	dp = walk(mfd, ddir);
	if (dp < 0) {
		if (dp == -ENOENT) {
			fputs("vaultctl: the directory '", ctx->err);
			text_str(ctx->err, ddir);
			fputs("' does not exist (undelete does not create directories)\n",
			      ctx->err);
		} else if (dp == -ENOTDIR || dp == -ELOOP) {
			fputs("vaultctl: '", ctx->err);
			text_str(ctx->err, ddir);
			fputs("' is not a directory (undelete does not follow symlinks)\n",
			      ctx->err);
		} else {
			fputs("vaultctl: undelete: cannot open the directory '",
			      ctx->err);
			text_str(ctx->err, ddir);
			fprintf(ctx->err, "': %s\n", strerror(-dp));
		}
		goto out;
	}
	/* The one change: nothing is replaced, nothing created. */
	if (renameat2(sp, sbase, dp, dbase, RENAME_NOREPLACE) < 0) {
		undelete_error(ctx->err, errno, sp, sbase, src, dst, ddir);
		goto out;
	}
	if (json) {
		struct json_object *o = json_object_new_object();

		jadd_str(o, "path", src);
		jadd_str(o, "to", dst);
		json_print(ctx->out, o);
	} else {
		fputs("undeleted '", ctx->out);
		text_str(ctx->out, src);
		if (strcmp(src, dst)) {
			fputs("' as '", ctx->out);
			text_str(ctx->out, dst);
		}
		fputs("'\n", ctx->out);
	}
	ret = 0;
out:
	if (dp >= 0)
		close(dp);
	if (sp >= 0)
		close(sp);
	if (tfd >= 0)
		close(tfd);
	if (mfd >= 0)
		close(mfd);
	free(dcut);
	free(scut);
	free(dst);
	free(src);
	free(real);
	return ret;
}
