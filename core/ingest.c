/*
 * ingest.c - native ingest (ingest.h, docs/backup.md): each item goes
 * through the vault facade as the caller, from the descriptor vaultctl
 * opened; directories are checked with vf_policy_may_access first.
 *
 * Invariant: no source path is ever opened here; data, attributes and
 * extended attributes come from the descriptor handed in.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "acl.h"
#include "ingest.h"
#include "policy.h"
#include "vault_int.h"

#define BUF_SIZE (1u << 20)
#define GROUPS_MAX 256
#define XLIST_MAX 65536
#define XVALUE_MAX 65536

struct vf_ingest {
	struct vf_vault *v;
	struct vf_caller c; /* umask 0: modes are the source's */
	uint32_t gids[GROUPS_MAX + 1];
	size_t ngids;
	uint64_t dest; /* inode of DEST */
	uint64_t dest_parent; /* and where its name is */
	char dest_name[VF_NAME_MAX + 1];
	int del;
	/* the last parent directory resolved (items come in walk order) */
	char *dir;
	uint64_t dir_ino;
	int dir_err; /* 0, or why nothing may change in it */
	uint8_t *buf;
	char *xlist, *xval;
	struct vf_ingest_stats st;
	struct vf_ingest *sib; /* the next sibling (vf_ingest_sibling) */
};

static int64_t ts_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000LL + t->tv_nsec;
}

/* The kernel caches names and attributes (fs/): a name changed here,
 * behind its back, is dropped from its cache (the hook fs/ set). */
static void forget(struct vf_ingest *in, uint64_t parent, const char *name)
{
	if (!*name) {
		parent = in->dest_parent;
		name = in->dest_name;
	}
	if (in->v->forget_hook && *name)
		in->v->forget_hook(in->v->forget_arg, parent, name);
}

/* 1 when the caller may do want (4/2/1) on node ino. */
static int may(struct vf_ingest *in, uint64_t ino, unsigned want)
{
	struct vf_attr a;
	uint8_t acl[1024];
	ssize_t n;

	if (vf_vault_getattr(in->v, &in->c, ino, &a))
		return 0;
	n = vf_vault_getxattr(in->v, &in->c, ino, VF_ACL_ACCESS, acl,
			      sizeof(acl));
	return vf_policy_may_access(a.mode, a.uid, a.gid, n > 0 ? acl : NULL,
				    n > 0 ? (size_t)n : 0, in->c.uid, in->gids,
				    in->ngids, want);
}

static int say(char *err, size_t errlen, const char *rel, const char *what,
	       int rc)
{
	snprintf(err, errlen, "%s: %s: %s", *rel ? rel : ".", what,
		 strerror(-rc));
	return rc;
}

static int scratch(struct vf_ingest *in)
{
	in->buf = malloc(BUF_SIZE);
	in->xlist = malloc(XLIST_MAX);
	in->xval = malloc(XVALUE_MAX);
	return in->buf && in->xlist && in->xval ? 0 : -ENOMEM;
}

int vf_ingest_begin(struct vf_vault *v, const struct vf_caller *c,
		    const char *dest, int del, struct vf_ingest **out,
		    char *err, size_t errlen)
{
	struct vf_ingest *in;
	enum vf_role role = vf_vault_role_of(v, c);
	struct vf_attr a;
	char *copy, *p, *next;
	uint64_t ino = VF_ROOT_INO;
	gid_t g[GROUPS_MAX];
	int n, rc, i;

	/* Refusals are counted in the audit log as the gate's are. */
	if (role < VF_ROLE_OPERATOR) {
		vf_audit_denied(v, c->uid, "backup", vf_vault_now(v));
		snprintf(err, errlen, "backup needs the Operator role (you have %s)",
			 vf_role_name(role));
		return -EACCES;
	}
	if (del && role < VF_ROLE_CONTRIBUTOR) {
		vf_audit_denied(v, c->uid, "backup.delete", vf_vault_now(v));
		snprintf(err, errlen, "--delete needs the Contributor role (you have %s): nothing was changed",
			 vf_role_name(role));
		return -EPERM;
	}
	in = calloc(1, sizeof(*in));
	if (!in)
		return -ENOMEM;
	in->v = v;
	in->c = *c;
	in->c.umask = 0;
	in->del = del;
	in->gids[in->ngids++] = c->gid;
	n = c->groups ? c->groups(c->groups_ctx, g, GROUPS_MAX) : 0;
	for (i = 0; i < n && i < GROUPS_MAX; i++)
		in->gids[in->ngids++] = g[i];
	copy = strdup(dest);
	if (scratch(in) || !copy) {
		free(copy);
		vf_ingest_end(in);
		return -ENOMEM;
	}
	rc = 0;
	for (p = copy; p && !rc; p = next) {
		next = strchr(p, '/');
		if (next)
			*next++ = '\0';
		if (!*p)
			continue;
		if (!may(in, ino, 1)) {
			rc = -EACCES;
			break;
		}
		in->dest_parent = ino;
		snprintf(in->dest_name, sizeof(in->dest_name), "%s", p);
		rc = vf_vault_lookup(v, &in->c, ino, p, &a);
		if (rc == -ENOENT && !(next && *next)) {
			if (!may(in, ino, 3))
				rc = -EACCES;
			else
				rc = vf_vault_mkdir(v, &in->c, ino, p, 0755, &a);
		}
		if (!rc && !S_ISDIR(a.mode))
			rc = -ENOTDIR;
		if (!rc)
			ino = a.ino;
	}
	free(copy);
	if (!rc && !may(in, ino, 3))
		rc = -EACCES;
	if (rc) {
		snprintf(err, errlen, "destination '%s': %s", dest,
			 strerror(-rc));
		vf_ingest_end(in);
		return rc;
	}
	in->dest = ino;
	forget(in, in->dest_parent, in->dest_name);
	*out = in;
	return 0;
}

int vf_ingest_sibling(struct vf_ingest *in, struct vf_ingest **out)
{
	struct vf_ingest *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	*s = *in;
	s->dir = NULL;
	memset(&s->st, 0, sizeof(s->st));
	if (scratch(s)) {
		s->sib = NULL;
		vf_ingest_end(s);
		return -ENOMEM;
	}
	in->sib = s;
	*out = s;
	return 0;
}

void vf_ingest_end(struct vf_ingest *in)
{
	if (!in)
		return;
	vf_ingest_end(in->sib);
	free(in->dir);
	free(in->buf);
	free(in->xlist);
	free(in->xval);
	free(in);
}

/* Resolves the directory part of rel into *parent (and *name: the last
 * component) with the permission to change entries in it checked:
 * search on the way, write and search on the directory itself. */
static int resolve(struct vf_ingest *in, const char *rel, uint64_t *parent,
		   const char **name)
{
	const char *slash = strrchr(rel, '/');
	size_t dlen = slash ? (size_t)(slash - rel) : 0;
	struct vf_attr a;
	uint64_t ino = in->dest;
	char comp[VF_NAME_MAX + 1];
	const char *p, *e;
	int rc = 0;

	*name = slash ? slash + 1 : rel;
	if (!**name || !strcmp(*name, ".") || !strcmp(*name, "..") ||
	    strlen(*name) > VF_NAME_MAX)
		return -EINVAL;
	if (in->dir && strlen(in->dir) == dlen &&
	    !memcmp(in->dir, rel, dlen)) {
		*parent = in->dir_ino;
		return in->dir_err;
	}
	for (p = rel; p < rel + dlen && !rc; p = e + 1) {
		e = memchr(p, '/', (size_t)(rel + dlen - p));
		if (!e)
			e = rel + dlen;
		if ((size_t)(e - p) > VF_NAME_MAX || e == p)
			return -EINVAL;
		memcpy(comp, p, (size_t)(e - p));
		comp[e - p] = '\0';
		if (!strcmp(comp, ".") || !strcmp(comp, ".."))
			return -EINVAL;
		if (!may(in, ino, 1))
			return -EACCES;
		rc = vf_vault_lookup(in->v, &in->c, ino, comp, &a);
		if (!rc && !S_ISDIR(a.mode))
			rc = -ENOTDIR;
		if (!rc)
			ino = a.ino;
	}
	if (rc)
		return rc;
	free(in->dir);
	in->dir = strndup(rel, dlen);
	if (!in->dir)
		return -ENOMEM;
	in->dir_ino = ino;
	in->dir_err = may(in, ino, 3) ? 0 : -EACCES;
	*parent = ino;
	return in->dir_err;
}

/* 1 when fd was opened for reading (not O_PATH): what the caller could
 * read through it is theirs to store. */
static int readable(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl >= 0 && !(fl & O_PATH) && (fl & O_ACCMODE) != O_WRONLY;
}

/* Copies the user.* extended attributes and the ACLs of fd to ino, and
 * trusted.* for root (as rsync -X); user.vaultfs.* are the vault's own
 * and are skipped, security.* are not carried.  Read through fd itself
 * when it was opened for reading; an O_PATH descriptor (a link or a
 * node, which cannot hold user.* xattrs or ACLs) only for root, through
 * /proc: reading by path as root would bypass the caller's rights. */
static int copy_xattrs(struct vf_ingest *in, int fd, uint64_t ino)
{
	char path[32];
	ssize_t n, len;
	char *name;
	int rc, rd = readable(fd);
	struct vf_attr a;
	uint32_t m = 0;

	if (!rd && in->c.uid != 0)
		return 0;
	/* xattrs and ACLs of a node the caller does not own: refused as
	 * for its mode (setfacl(1) needs the owner) */
	rc = vf_vault_getattr(in->v, &in->c, ino, &a);
	if (!rc)
		rc = vf_policy_ingest_meta(in->c.uid, in->gids, in->ngids,
					   a.uid, a.gid, &m);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = rd ? flistxattr(fd, in->xlist, XLIST_MAX) :
		 listxattr(path, in->xlist, XLIST_MAX);
	if (n < 0)
		return errno == ENOTSUP ? 0 : -errno;
	for (name = in->xlist; name < in->xlist + n;
	     name += strlen(name) + 1) {
		if (!strncmp(name, "user.vaultfs.", 13) ||
		    (strncmp(name, "user.", 5) && strcmp(name, VF_ACL_ACCESS) &&
		     strcmp(name, VF_ACL_DEFAULT) &&
		     !(in->c.uid == 0 && !strncmp(name, "trusted.", 8))))
			continue;
		len = rd ? fgetxattr(fd, name, in->xval, XVALUE_MAX) :
			   getxattr(path, name, in->xval, XVALUE_MAX);
		if (len < 0)
			return -errno;
		rc = vf_vault_setxattr(in->v, &in->c, ino, name, in->xval,
				       (size_t)len, 0);
		if (rc)
			return rc;
	}
	return 0;
}

/* Mode, owner (as far as chown would let the caller) and times of st
 * onto ino; h: the open handle, so that they join its commit. */
static int set_meta(struct vf_ingest *in, uint64_t ino, struct vf_handle *h,
		    const struct stat *st, int mode)
{
	struct vf_setattr sa = { 0 };
	struct vf_attr a;
	unsigned own = vf_policy_ingest_chown(in->c.uid, in->gids, in->ngids,
					      st->st_uid, st->st_gid);
	int rc;

	/* as chmod(2) and utimensat(2): the node's owner or root */
	rc = vf_vault_getattr(in->v, &in->c, ino, &a);
	if (rc)
		return rc;
	sa.mode = st->st_mode & 07777;
	rc = vf_policy_ingest_meta(in->c.uid, in->gids, in->ngids, a.uid,
				   own & VF_INGEST_OWN_GID ? st->st_gid : a.gid,
				   &sa.mode);
	if (rc)
		return rc;
	if (mode)
		sa.valid |= VF_SET_MODE;
	if (own & VF_INGEST_OWN_UID) {
		sa.valid |= VF_SET_UID;
		sa.uid = st->st_uid;
	}
	if (own & VF_INGEST_OWN_GID) {
		sa.valid |= VF_SET_GID;
		sa.gid = st->st_gid;
	}
	sa.valid |= VF_SET_ATIME | VF_SET_MTIME;
	sa.atime = ts_ns(&st->st_atim);
	sa.mtime = ts_ns(&st->st_mtim);
	return vf_vault_setattr(in->v, &in->c, ino, h, &sa, &a);
}

/* 1 when node a already has st's mode, time and (as far as the caller
 * may set it) owner: set_meta would change nothing. */
static int same_meta(const struct vf_ingest *in, const struct vf_attr *a,
		     const struct stat *st)
{
	unsigned own = vf_policy_ingest_chown(in->c.uid, in->gids, in->ngids,
					      st->st_uid, st->st_gid);

	return (a->mode & 07777) == (st->st_mode & 07777) &&
	       a->mtime == ts_ns(&st->st_mtim) &&
	       (!(own & VF_INGEST_OWN_UID) || a->uid == st->st_uid) &&
	       (!(own & VF_INGEST_OWN_GID) || a->gid == st->st_gid);
}

/* Copies fd's data into h: data extents only (holes stay holes), then
 * the size. */
static int copy_data(struct vf_ingest *in, int fd, struct vf_handle *h,
		     uint64_t size)
{
	off_t off = 0, end;
	ssize_t n, w;
	size_t want;

	while ((uint64_t)off < size) {
		off = lseek(fd, off, SEEK_DATA);
		if (off < 0) {
			if (errno == ENXIO)
				break;
			return -errno;
		}
		end = lseek(fd, off, SEEK_HOLE);
		if (end < 0 || (uint64_t)end > size)
			end = (off_t)size;
		while (off < end) {
			want = (size_t)(end - off) < BUF_SIZE ?
				       (size_t)(end - off) :
				       BUF_SIZE;
			n = pread(fd, in->buf, want, off);
			if (n < 0)
				return -errno;
			if (n == 0)
				return -EIO; /* shrank while read */
			w = vf_vault_write(in->v, h, (uint64_t)off, in->buf,
					   (size_t)n);
			if (w < 0)
				return (int)w;
			in->st.bytes += (uint64_t)n;
			off += n;
		}
	}
	return 0;
}

/* Removes name from parent as rm -r would: a directory's entries first
 * (each goes to .softdeleted through the facade). */
struct names {
	char **v;
	size_t n, cap;
	int err;
};

static int collect(void *arg, const char *name, const struct vf_attr *a,
		   uint64_t next)
{
	struct names *l = arg;
	char **nv;

	(void)a;
	(void)next;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		nv = realloc(l->v, l->cap * sizeof(*nv));
		if (!nv) {
			l->err = -ENOMEM;
			return 1;
		}
		l->v = nv;
	}
	l->v[l->n] = strdup(name);
	if (!l->v[l->n]) {
		l->err = -ENOMEM;
		return 1;
	}
	l->n++;
	return 0;
}

static int remove_tree(struct vf_ingest *in, uint64_t parent, const char *name,
		       int depth)
{
	struct vf_attr a, pa;
	struct names l = { 0 };
	size_t i;
	int rc;

	rc = vf_vault_lookup(in->v, &in->c, parent, name, &a);
	if (!rc)
		rc = vf_vault_getattr(in->v, &in->c, parent, &pa);
	if (rc)
		return rc;
	if (!vf_policy_may_unlink(pa.mode, pa.uid, a.uid, in->c.uid))
		return -EPERM;
	if (!S_ISDIR(a.mode)) {
		rc = vf_vault_unlink(in->v, &in->c, parent, name);
		if (!rc) {
			in->st.deleted++;
			forget(in, parent, name);
		}
		return rc;
	}
	if (depth > 256)
		return -ELOOP;
	if (!may(in, a.ino, 3))
		return -EACCES;
	rc = vf_vault_readdir(in->v, &in->c, a.ino, 0, collect, &l);
	if (!rc)
		rc = l.err;
	for (i = 0; i < l.n; i++) {
		if (!rc)
			rc = remove_tree(in, a.ino, l.v[i], depth + 1);
		free(l.v[i]);
	}
	free(l.v);
	if (!rc)
		rc = vf_vault_rmdir(in->v, &in->c, parent, name);
	if (!rc)
		forget(in, parent, name);
	return rc;
}

static int do_file(struct vf_ingest *in, uint64_t parent, const char *name,
		   int fd, const char *rel, char *err, size_t errlen)
{
	struct vf_ingest_src s;
	struct vf_ingest_dst d = { 0 };
	struct vf_handle *h = NULL;
	struct vf_attr a;
	struct stat st;
	int rc, added = 0;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !readable(fd))
		return say(err, errlen, rel, "not a regular file open for reading",
			   -EINVAL);
	s.size = (uint64_t)st.st_size;
	s.mtime = ts_ns(&st.st_mtim);
	rc = vf_vault_lookup(in->v, &in->c, parent, name, &a);
	if (rc && rc != -ENOENT)
		return say(err, errlen, rel, "lookup", rc);
	if (!rc) {
		d.exists = 1;
		d.regular = S_ISREG(a.mode);
		d.size = a.size;
		d.mtime = a.mtime;
	}
	if (vf_policy_ingest_unchanged(&s, &d)) {
		in->st.unchanged++;
		if (same_meta(in, &a, &st))
			return 0;
		rc = set_meta(in, a.ino, NULL, &st, 1);
		return rc ? say(err, errlen, rel, "set attributes", rc) : 0;
	}
	if (d.exists && !d.regular) {
		rc = remove_tree(in, parent, name, 0);
		if (rc)
			return say(err, errlen, rel, "replace", rc);
		d.exists = 0;
	}
	if (d.exists) {
		/* the kernel's check of open(2) for writing, which the
		 * mount's default_permissions would make */
		rc = may(in, a.ino, 2) ? 0 : -EACCES;
		if (!rc)
			rc = vf_vault_open_file(in->v, &in->c, a.ino,
						O_WRONLY | O_TRUNC, &h);
	} else {
		rc = vf_vault_create_file(in->v, &in->c, parent, name,
					  (st.st_mode & 07777) | 0200,
					  O_WRONLY, &a, &h);
		added = 1;
	}
	if (rc)
		return say(err, errlen, rel, d.exists ? "open" : "create", rc);
	vf_vault_handle_defer(h); /* committed with the batch */
	rc = copy_data(in, fd, h, s.size);
	if (!rc && s.size) {
		struct vf_setattr sz = { .valid = VF_SET_SIZE, .size = s.size };
		struct vf_attr b;

		rc = vf_vault_setattr(in->v, &in->c, a.ino, h, &sz, &b);
	}
	if (!rc)
		rc = copy_xattrs(in, fd, a.ino);
	if (!rc)
		rc = set_meta(in, a.ino, h, &st, 1);
	if (!rc)
		rc = vf_vault_flush(in->v, h);
	if (vf_vault_release(in->v, h) && !rc)
		rc = -EIO;
	if (rc)
		return say(err, errlen, rel, "store", rc);
	if (added)
		in->st.added++;
	else
		in->st.changed++;
	return 0;
}

static int do_dir(struct vf_ingest *in, uint64_t parent, const char *name,
		  int fd, int end, const char *rel, char *err, size_t errlen)
{
	struct vf_attr a;
	struct stat st;
	uint64_t ino = in->dest;
	int rc = 0;

	if (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode) || !readable(fd))
		return say(err, errlen, rel, "not a directory open for reading",
			   -EINVAL);
	if (*rel) {
		rc = vf_vault_lookup(in->v, &in->c, parent, name, &a);
		if (!rc && !S_ISDIR(a.mode) && !end) {
			rc = remove_tree(in, parent, name, 0);
			if (!rc)
				rc = -ENOENT;
		}
		if (rc == -ENOENT && !end)
			/* writable until its end fixes the mode, as rsync */
			rc = vf_vault_mkdir(in->v, &in->c, parent, name,
					    (st.st_mode & 07777) | 0700, &a);
		if (rc)
			return say(err, errlen, rel, "directory", rc);
		ino = a.ino;
	}
	if (!end)
		return 0;
	/* The cached parent may have been this one, now read-only. */
	free(in->dir);
	in->dir = NULL;
	/* unchanged since the last run (xattrs are not compared, as for
	 * files): nothing to write */
	if (!vf_vault_getattr(in->v, &in->c, ino, &a) && same_meta(in, &a, &st))
		return 0;
	rc = copy_xattrs(in, fd, ino);
	if (!rc)
		rc = set_meta(in, ino, NULL, &st, 1);
	return rc ? say(err, errlen, rel, "directory attributes", rc) : 0;
}

/* The end of a new link or node (rc: how its creation went): extended
 * attributes, then owner and times (and mode when mode is set). */
static int finish_new(struct vf_ingest *in, int rc, uint64_t ino, int fd,
		      const struct stat *st, int mode, const char *rel,
		      const char *what, char *err, size_t errlen)
{
	if (!rc)
		rc = copy_xattrs(in, fd, ino);
	if (!rc)
		rc = set_meta(in, ino, NULL, st, mode);
	if (rc)
		return say(err, errlen, rel, what, rc);
	in->st.added++;
	return 0;
}

static int do_symlink(struct vf_ingest *in, uint64_t parent, const char *name,
		      int fd, const char *rel, char *err, size_t errlen)
{
	char target[VF_PATH_MAX + 1], old[VF_PATH_MAX + 1];
	struct vf_attr a;
	struct stat st;
	ssize_t n;
	int rc;

	if (fstat(fd, &st) < 0 || !S_ISLNK(st.st_mode))
		return say(err, errlen, rel, "not a symbolic link", -EINVAL);
	n = readlinkat(fd, "", target, sizeof(target) - 1);
	if (n < 0)
		return say(err, errlen, rel, "readlink", -errno);
	target[n] = '\0';
	rc = vf_vault_lookup(in->v, &in->c, parent, name, &a);
	if (!rc && S_ISLNK(a.mode) &&
	    !vf_vault_readlink(in->v, &in->c, a.ino, old, sizeof(old)) &&
	    !strcmp(old, target)) {
		in->st.unchanged++;
		return 0;
	}
	if (!rc)
		rc = remove_tree(in, parent, name, 0);
	if (!rc || rc == -ENOENT)
		rc = vf_vault_symlink(in->v, &in->c, parent, name, target, &a);
	return finish_new(in, rc, a.ino, fd, &st, 0, rel, "symlink", err,
			  errlen);
}

/* A fifo, socket or device node (devices need root, as mknod(2)). */
static int do_node(struct vf_ingest *in, uint64_t parent, const char *name,
		   int fd, const char *rel, char *err, size_t errlen)
{
	struct vf_attr a;
	struct stat st;
	int rc;

	if (fstat(fd, &st) < 0 || S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) ||
	    S_ISLNK(st.st_mode))
		return say(err, errlen, rel, "not a special file", -EINVAL);
	if ((S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) && in->c.uid != 0)
		return say(err, errlen, rel, "device node", -EPERM);
	rc = vf_vault_lookup(in->v, &in->c, parent, name, &a);
	if (!rc && (a.mode & S_IFMT) == (st.st_mode & S_IFMT) &&
	    a.rdev == (uint64_t)st.st_rdev) {
		in->st.unchanged++;
		return set_meta(in, a.ino, NULL, &st, 1) ?
			       say(err, errlen, rel, "attributes", -EIO) :
			       0;
	}
	if (!rc)
		rc = remove_tree(in, parent, name, 0);
	if (!rc || rc == -ENOENT)
		rc = vf_vault_mknod(in->v, &in->c, parent, name,
				    st.st_mode & (S_IFMT | 07777),
				    (uint64_t)st.st_rdev, &a);
	return finish_new(in, rc, a.ino, fd, &st, 1, rel, "special file", err,
			  errlen);
}

/* The inode at rel (under dest), a hard link's target: searchable by
 * the caller, a regular file of theirs (root: any). */
static int ino_of(struct vf_ingest *in, const char *rel, uint64_t *ino)
{
	uint64_t parent = 0;
	const char *name;
	struct vf_attr a;
	int rc = resolve(in, rel, &parent, &name);

	/* a directory it may not write still holds link targets */
	if (rc && (rc != -EACCES || !parent))
		return rc;
	rc = vf_vault_lookup(in->v, &in->c, parent, name, &a);
	/* as fs.protected_hardlinks: a regular file of the caller's */
	if (!rc && (!S_ISREG(a.mode) || (in->c.uid && a.uid != in->c.uid)))
		rc = -EPERM;
	if (!rc)
		*ino = a.ino;
	return rc;
}

static int do_link(struct vf_ingest *in, const char *rel, const char *to,
		   char *err, size_t errlen)
{
	uint64_t target, parent;
	const char *name;
	struct vf_attr a;
	int rc;

	rc = ino_of(in, to, &target);
	if (rc)
		return say(err, errlen, rel, "hard link target", rc);
	rc = resolve(in, rel, &parent, &name);
	if (rc)
		return say(err, errlen, rel, "hard link", rc);
	rc = vf_vault_lookup(in->v, &in->c, parent, name, &a);
	if (!rc && a.ino == target) {
		in->st.unchanged++;
		return 0;
	}
	if (!rc)
		rc = remove_tree(in, parent, name, 0);
	if (!rc || rc == -ENOENT)
		rc = vf_vault_link(in->v, &in->c, target, parent, name, &a);
	if (rc)
		return say(err, errlen, rel, "hard link", rc);
	forget(in, parent, name);
	in->st.added++;
	return 0;
}

int vf_ingest_item(struct vf_ingest *in, enum vf_ingest_kind kind,
		   const char *rel, int fd, const char *aux, char *err,
		   size_t errlen)
{
	uint64_t parent = in->dest;
	const char *name = "";
	int rc = 0;

	err[0] = '\0';
	if (!*rel && kind != VF_INGEST_DIR && kind != VF_INGEST_DIR_END) {
		rc = -EINVAL;
		goto out;
	}
	if (kind == VF_INGEST_LINK) {
		rc = aux ? do_link(in, rel, aux, err, errlen) : -EINVAL;
		goto out;
	}
	if (*rel) {
		rc = resolve(in, rel, &parent, &name);
		if (rc) {
			say(err, errlen, rel, "destination", rc);
			goto out;
		}
	}
	switch (kind) {
	case VF_INGEST_FILE:
		rc = do_file(in, parent, name, fd, rel, err, errlen);
		break;
	case VF_INGEST_DIR:
	case VF_INGEST_DIR_END:
		rc = do_dir(in, parent, name, fd, kind == VF_INGEST_DIR_END, rel,
			    err, errlen);
		break;
	case VF_INGEST_NODE:
		rc = do_node(in, parent, name, fd, rel, err, errlen);
		break;
	case VF_INGEST_SYMLINK:
		rc = do_symlink(in, parent, name, fd, rel, err, errlen);
		break;
	case VF_INGEST_DELETE:
		if (!in->del || !*rel)
			rc = -EPERM;
		else
			rc = remove_tree(in, parent, name, 0);
		if (rc == -ENOENT)
			rc = 0;
		if (rc)
			say(err, errlen, rel, "delete", rc);
		break;
	default:
		rc = -EINVAL;
	}
	forget(in, parent, name);
out:
	if (rc && !err[0])
		say(err, errlen, rel, "item", rc);
	if (rc)
		in->st.failed++;
	return rc;
}

int vf_ingest_batch(struct vf_ingest *in, struct vf_ingest_stats *st)
{
	const struct vf_ingest *s;
	int rc;

	/* The files' commits were left pending (vf_vault_handle_defer):
	 * one commit for the batch. */
	rc = vf_vault_settle(in->v);
	if (rc)
		return rc;
	*st = in->st;
	for (s = in->sib; s; s = s->sib) {
		st->added += s->st.added;
		st->changed += s->st.changed;
		st->unchanged += s->st.unchanged;
		st->deleted += s->st.deleted;
		st->failed += s->st.failed;
		st->bytes += s->st.bytes;
	}
	return 0;
}
