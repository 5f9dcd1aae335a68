/*
 * copy_tree.c - the engine of `vaultctl restore` (and of undelete's tree
 * copies): copies a tree out of a history view as its caller.
 */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
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
#include "copy_tree.h"

/*
 * `vaultctl restore MNT PATH --at T` copies MNT/.snapshots/T/PATH back to
 * MNT/PATH, or with --to to a new DEST, in vaultctl and as its caller:
 * every read and write goes through the kernel, which checks it as it
 * would for cp.  In place, a file that exists is truncated and rewritten
 * (a new recovery point of the same file, whose history stays), unless its
 * content already matches; a symlink or special file in the way is
 * replaced by a rename over it (not a deletion: README.md, Soft delete);
 * what is missing is
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
/* Reports a failure on the entry at hand; returns -1. */
static int rs_error(struct restore *rs, const char *what, int e)
{
	fprintf(rs->err, "vaultctl: restore: %s '", what);
	text_str(rs->err, rs->plen ? rs->path : "/");
	fprintf(rs->err, "' failed: %s\n", strerror(e));
	rs->errors++;
	return -1;
}

/* Progress: bytes read, and one more entry when file is set. */
static void rs_tick(struct restore *rs, uint64_t bytes, int file)
{
	rs->ps.bytes += bytes;
	rs->ps.items += (uint64_t)file;
	vf_progress_report(rs->prog, &rs->ps);
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
int rs_walk(int dir, const char *rel)
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
			 * more: a group they are not in stays as it is. */
			if (fchownat(dp, "", (uid_t)-1, st->st_gid,
				     AT_EMPTY_PATH) < 0)
				errno = 0;
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
		rs_tick(rs, (uint64_t)a, 0);
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
		rs_tick(rs, (uint64_t)n, 0);
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
		r = restore_file(rs, sdir, sname, ddir, dname, st,
				 have ? &now : NULL);
	else if (S_ISLNK(st->st_mode))
		r = restore_symlink(rs, sdir, sname, ddir, dname, st,
				    have ? &now : NULL);
	else
		r = restore_special(rs, sdir, sname, ddir, dname, st,
				    have ? &now : NULL);
	rs_tick(rs, 0, 1);
	return r;
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
	*ps = rs_walk(rs->anchor_s, rel);
	if (*ps < 0)
		return rs_error(rs, "opening", -*ps);
	*pd = rs_walk(rs->anchor_d, rel);
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
		ps = rs_walk(tfd, slash ? prefix : "");
		pd = ps < 0 ? ps : rs_walk(mfd, slash ? prefix : "");
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

void rs_free(struct restore *rs)
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
void rs_top(struct restore *rs, int mfd, int tfd, int sparent,
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
	rs->ps.done = 1;
	vf_progress_report(rs->prog, &rs->ps);
	if (pfd != dparent)
		close(pfd);
}

/* rs_count's sums: nftw's callback takes no argument (vaultctl is one
 * thread). */
static uint64_t count_files, count_bytes;

static int count_one(const char *path, const struct stat *st, int flag,
		     struct FTW *ftw)
{
	if (flag == FTW_F || flag == FTW_SL) {
		count_files++;
		if (S_ISREG(st->st_mode))
			count_bytes += (uint64_t)st->st_size;
	}
	return 0;
}

void rs_count(int dir, const char *name, uint64_t *files, uint64_t *bytes)
{
	char path[64 + NAME_MAX];

	count_files = count_bytes = 0;
	/* "/." : the directory the descriptor names, not the magic link */
	snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dir,
		 *name ? name : ".");
	if (nftw(path, count_one, 16, FTW_PHYS) < 0)
		count_files = count_bytes = 0; /* totals unknown */
	*files = count_files;
	*bytes = count_bytes;
}
