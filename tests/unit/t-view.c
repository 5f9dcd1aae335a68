/*
 * t-view.c - the history views without FUSE: .snapshots/<time> and
 * .versions/<file> resolved through the same vault entry points the mount
 * uses, their refusal of every change, attribute history, and snapshot
 * points.  Versions are made at distinct seconds by sleeping (core reads
 * only the real clock).
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"
#include "vtest.h"
#include "vault.h"


static void nap(void)
{
	struct timespec ts = { 1, 100 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

/* The current second as a view name; sleeps around it so that changes
 * before and after fall in other seconds. */
static void mark(char name[32], int64_t *t)
{
	nap();
	*t = vf_clock_now();
	vf_time_format(*t, name);
	nap();
}

struct one {
	char name[256];
	uint64_t next;
	int got;
};

static int one_cb(void *arg, const char *name, const struct vf_attr *a,
		  uint64_t next)
{
	struct one *o = arg;

	if (o->got)
		return 1;
	snprintf(o->name, sizeof(o->name), "%s", name);
	o->next = next;
	o->got = 1;
	return 0;
}

/* The same listing fetched one entry per call. */
static void listing_by_one(struct vf_vault *v, uint64_t ino, struct vt_names *s)
{
	struct one o = { .next = 0 };
	int guard = 0;

	memset(s, 0, sizeof(*s));
	do {
		o.got = 0;
		CHECK_EQ(vf_vault_readdir(v, &vt_root, ino, o.next, one_cb, &o),
			 0);
		if (o.got)
			vt_name_cb(s, o.name, NULL, o.next);
	} while (o.got && ++guard < 100);
}

static void views(void)
{
	struct vf_vault *v = vt_fresh();
	struct vf_attr a, d, snaps, vers;
	struct vf_setattr sa = { .valid = VF_SET_MODE, .mode = 0600 };
	struct vf_handle *h = NULL;
	char t1[32], t2[32], path[128], buf[64];
	struct vt_names s, s1;
	uint64_t f, r1, r2;
	int64_t x;

	if (!v)
		return;
	f = vt_put(v, VF_ROOT_INO, "f", "one");
	CHECK_EQ(vf_vault_mkdir(v, &vt_root, VF_ROOT_INO, "d", 0755, &d), 0);
	vt_put(v, d.ino, "g", "gee");
	mark(t1, &x);
	vt_put(v, VF_ROOT_INO, "f", "two");
	vt_put(v, VF_ROOT_INO, "later", "late");
	CHECK_EQ(vf_vault_unlink(v, &vt_root, d.ino, "g"), 0);
	mark(t2, &x);

	/* .snapshots/<t> */
	CHECK_EQ(vf_vault_lookup(v, &vt_root, VF_ROOT_INO, ".snapshots", &snaps),
		 0);
	CHECK(S_ISDIR(snaps.mode));
	CHECK(snaps.ino >> 60 != 0);
	CHECK_EQ(vf_vault_getattr(v, &vt_root, snaps.ino, &a), 0);
	CHECK_EQ(a.ino, snaps.ino);
	r1 = vt_walk(v, snaps.ino, t1, NULL);
	r2 = vt_walk(v, snaps.ino, t2, NULL);
	CHECK(r1 && r2 && r1 != r2);
	CHECK(vt_walk(v, r1, "f", &a) != 0);
	CHECK_EQ(a.size, 3);
	CHECK(!strcmp(vt_content(v, a.ino, buf), "one"));
	CHECK(a.ino != f);
	CHECK(vt_walk(v, r2, "f", &a) != 0);
	CHECK(!strcmp(vt_content(v, a.ino, buf), "two"));
	CHECK(!strcmp(vt_content(v, vt_walk(v, r1, "d/g", NULL), buf), "gee"));
	CHECK_EQ(vt_walk(v, r2, "d/g", NULL), 0);
	CHECK_EQ(vt_walk(v, r1, "later", NULL), 0);
	CHECK(!strcmp(vt_content(v, vt_walk(v, r2, "later", NULL), buf), "late"));
	CHECK(!strcmp(vt_listing(v, r1, &s), "d f"));
	CHECK(!strcmp(vt_listing(v, r2, &s), "d f later"));
	listing_by_one(v, r2, &s1);
	CHECK(!strcmp(s1.list, "d f later"));
	CHECK(!strcmp(vt_listing(v, VF_ROOT_INO, &s), "f d later"));

	/* other spellings of the same second; not-times and the future */
	snprintf(path, sizeof(path), "%.19s", t1);
	CHECK_EQ(vt_walk(v, snaps.ino, path, NULL), r1);
	snprintf(path, sizeof(path), "%.19s.75Z", t1);
	CHECK_EQ(vt_walk(v, snaps.ino, path, NULL), r1);
	CHECK_EQ(vf_vault_lookup(v, &vt_root, snaps.ino, "yesterday", &a),
		 -ENOENT);
	CHECK_EQ(vf_vault_lookup(v, &vt_root, snaps.ino, "2999-01-01T00:00:00Z",
				 &a), -ENOENT);
	CHECK_EQ(vf_vault_lookup(v, &vt_root, snaps.ino, "2200-01-01T00:00:00Z",
				 &a), -ENOENT);
	CHECK_EQ(vf_time_parse("2999-01-01T00:00:00Z", &x), -EINVAL);

	/* .versions/<file> */
	CHECK_EQ(vf_vault_lookup(v, &vt_root, VF_ROOT_INO, ".versions", &vers),
		 0);
	CHECK(vt_walk(v, vers.ino, "f", &a) != 0);
	CHECK(S_ISDIR(a.mode));
	vt_listing(v, a.ino, &s);
	CHECK_EQ(s.n, 2);
	listing_by_one(v, a.ino, &s1);
	CHECK(!strcmp(s.list, s1.list));
	snprintf(path, sizeof(path), "f/%.20s", s.list);
	CHECK(!strcmp(vt_content(v, vt_walk(v, vers.ino, path, NULL), buf), "one"));
	snprintf(path, sizeof(path), "f/%.20s", s.list + 21);
	CHECK(!strcmp(vt_content(v, vt_walk(v, vers.ino, path, NULL), buf), "two"));
	CHECK_EQ(vt_walk(v, vers.ino, "f/2001-01-01T00:00:00Z", NULL), 0);
	CHECK(vt_walk(v, vers.ino, "d", NULL) != 0);
	CHECK_EQ(vt_walk(v, vers.ino, "d/g", NULL), 0); /* not live */

	/* everything in a view is read-only */
	vt_walk(v, r1, "f", &a);
	CHECK_EQ(vf_vault_open_file(v, &vt_root, a.ino, O_WRONLY, &h), -EROFS);
	CHECK_EQ(vf_vault_open_file(v, &vt_root, a.ino, O_RDONLY | O_TRUNC, &h),
		 -EROFS);
	CHECK_EQ(vf_vault_setattr(v, &vt_root, a.ino, NULL, &sa, &d), -EROFS);
	CHECK_EQ(vf_vault_setxattr(v, &vt_root, a.ino, "user.x", "1", 1, 0),
		 -EROFS);
	CHECK_EQ(vf_vault_removexattr(v, &vt_root, a.ino, "user.x"), -EROFS);
	CHECK_EQ(vf_vault_link(v, &vt_root, a.ino, VF_ROOT_INO, "hl", &d),
		 -EROFS);
	CHECK_EQ(vf_vault_mknod(v, &vt_root, r1, "n", S_IFREG | 0644, 0, &d),
		 -EROFS);
	CHECK_EQ(vf_vault_mkdir(v, &vt_root, r1, "n", 0755, &d), -EROFS);
	CHECK_EQ(vf_vault_symlink(v, &vt_root, r1, "n", "x", &d), -EROFS);
	CHECK_EQ(vf_vault_unlink(v, &vt_root, r1, "f"), -EROFS);
	CHECK_EQ(vf_vault_rmdir(v, &vt_root, r1, "d"), -EROFS);
	CHECK_EQ(vf_vault_rename(v, &vt_root, r1, "f", VF_ROOT_INO, "x", 0),
		 -EROFS);
	CHECK_EQ(vf_vault_rename(v, &vt_root, VF_ROOT_INO, "f", r1, "x", 0),
		 -EROFS);
	CHECK_EQ(vf_vault_unlink(v, &vt_root, VF_ROOT_INO, ".snapshots"),
		 -EROFS);
	CHECK_EQ(vf_vault_rmdir(v, &vt_root, VF_ROOT_INO, ".versions"), -EROFS);
	CHECK_EQ(vf_vault_rename(v, &vt_root, VF_ROOT_INO, ".versions",
				 VF_ROOT_INO, "v", 0), -EROFS);
	CHECK_EQ(vf_vault_mkdir(v, &vt_root, VF_ROOT_INO, ".snapshots", 0755, &d),
		 -EPERM);
	CHECK(!strcmp(vt_content(v, f, buf), "two"));

	/* after a reopen the same names resolve */
	CHECK_EQ(vf_vault_close(v), 0);
	v = NULL;
	CHECK_EQ(vf_vault_open(vt_dir, &vt_opts, 0, &v, buf, sizeof(buf)), 0);
	if (!v)
		return;
	CHECK_EQ(vf_vault_lookup(v, &vt_root, VF_ROOT_INO, ".snapshots", &snaps),
		 0);
	CHECK(!strcmp(vt_content(v, vt_walk(v, snaps.ino, t1, NULL) ?
				     vt_walk(v, vt_walk(v, snaps.ino, t1, NULL), "f",
					  NULL) : 0,
			      buf), "one"));
	CHECK_EQ(vf_vault_close(v), 0);
}

/* Attributes that change after a close (cp -a's chmod and utimens) belong
 * to the view of that second; a directory's mtime in a view is the one it
 * had then, not the one the deletion of its entries gave it later. */
static void attribute_history(void)
{
	struct vf_vault *v = vt_fresh();
	struct vf_setattr sa = { .valid = VF_SET_MODE | VF_SET_MTIME,
				 .mode = 0600, .mtime = 1000 * VF_NS };
	struct vf_attr d, a, b, snaps;
	char t1[32], t2[32];
	uint64_t f, r1, r2;
	int64_t x;

	if (!v)
		return;
	CHECK_EQ(vf_vault_mkdir(v, &vt_root, VF_ROOT_INO, "d", 0755, &d), 0);
	nap();
	f = vt_put(v, d.ino, "f", "data");
	CHECK_EQ(vf_vault_setattr(v, &vt_root, f, NULL, &sa, &a), 0);
	sa.mtime = 2000 * VF_NS;
	CHECK_EQ(vf_vault_setattr(v, &vt_root, d.ino, NULL, &sa, &a), 0);
	mark(t1, &x);
	sa.mode = 0644;
	sa.mtime = 3000 * VF_NS;
	CHECK_EQ(vf_vault_setattr(v, &vt_root, f, NULL, &sa, &a), 0);
	mark(t2, &x);
	CHECK_EQ(vf_vault_unlink(v, &vt_root, d.ino, "f"), 0);
	CHECK_EQ(vf_vault_rmdir(v, &vt_root, VF_ROOT_INO, "d"), 0);

	CHECK_EQ(vf_vault_lookup(v, &vt_root, VF_ROOT_INO, ".snapshots", &snaps),
		 0);
	r1 = vt_walk(v, snaps.ino, t1, NULL);
	r2 = vt_walk(v, snaps.ino, t2, NULL);
	CHECK(vt_walk(v, r1, "d/f", &a) != 0);
	CHECK_EQ(a.mode & 07777, 0600);
	CHECK_EQ(a.mtime, 1000 * VF_NS);
	CHECK_EQ(a.size, 4);
	CHECK(vt_walk(v, r2, "d/f", &b) != 0);
	CHECK_EQ(b.mode & 07777, 0644);
	CHECK_EQ(b.mtime, 3000 * VF_NS);
	CHECK(a.ino != b.ino);
	CHECK(vt_walk(v, r1, "d", &a) != 0);
	CHECK(S_ISDIR(a.mode));
	CHECK_EQ(a.mode & 07777, 0600);
	CHECK_EQ(a.mtime, 2000 * VF_NS);
	CHECK_EQ(vf_vault_close(v), 0);
}

/* rsync's write-then-rename: the displaced file's versions stay in the
 * path's history (.versions), and views before the rename show them. */
static void rename_over(void)
{
	struct vf_vault *v = vt_fresh();
	struct vf_attr vers, snaps;
	struct vt_names s;
	char t1[32], buf[64], path[64];
	uint64_t f, g;
	int64_t x;

	if (!v)
		return;
	f = vt_put(v, VF_ROOT_INO, "f", "v1");
	nap();
	vt_put(v, VF_ROOT_INO, "f", "v2");
	mark(t1, &x);
	g = vt_put(v, VF_ROOT_INO, ".f.tmp", "v3");
	CHECK_EQ(vf_vault_rename(v, &vt_root, VF_ROOT_INO, ".f.tmp", VF_ROOT_INO,
				 "f", 0), 0);
	CHECK(!strcmp(vt_content(v, vt_walk(v, VF_ROOT_INO, "f", NULL), buf), "v3"));
	CHECK_EQ(vt_walk(v, VF_ROOT_INO, "f", NULL), g);
	CHECK(f != g);
	CHECK_EQ(vf_vault_lookup(v, &vt_root, VF_ROOT_INO, ".versions", &vers),
		 0);
	vt_listing(v, vt_walk(v, vers.ino, "f", NULL), &s);
	CHECK_EQ(s.n, 3);
	snprintf(path, sizeof(path), "f/%.20s", s.list);
	CHECK(!strcmp(vt_content(v, vt_walk(v, vers.ino, path, NULL), buf), "v1"));
	CHECK_EQ(vf_vault_lookup(v, &vt_root, VF_ROOT_INO, ".snapshots", &snaps),
		 0);
	snprintf(path, sizeof(path), "%s/f", t1);
	CHECK(!strcmp(vt_content(v, vt_walk(v, snaps.ino, path, NULL), buf), "v2"));
	/* a file that keeps another name is not displaced */
	CHECK_EQ(vf_vault_link(v, &vt_root, g, VF_ROOT_INO, "other", &vers), 0);
	vt_put(v, VF_ROOT_INO, ".f.tmp", "v4");
	CHECK_EQ(vf_vault_rename(v, &vt_root, VF_ROOT_INO, ".f.tmp", VF_ROOT_INO,
				 "f", 0), 0);
	CHECK_EQ(vf_vault_lookup(v, &vt_root, VF_ROOT_INO, ".versions", &vers),
		 0);
	vt_listing(v, vt_walk(v, vers.ino, "f", NULL), &s);
	CHECK_EQ(s.n, 1);
	CHECK_EQ(vf_vault_close(v), 0);
}

/* Prune sees a path's history across the renames that built it: keep-last
 * 3 over six rsync-style updates keeps three, and the displaced nodes left
 * without a version go. */
static void prune_renamed(void)
{
	struct vf_vault *v = vt_fresh();
	struct vf_retention p = { .keep_last = 3, .min_points = 3 };
	struct vf_prune_stats ps;
	struct vf_status st0, st1;
	struct vf_attr vers;
	struct vt_names s;
	char err[128], buf[64], text[8], path[64];
	int i;

	if (!v)
		return;
	vt_put(v, VF_ROOT_INO, "f", "u0");
	for (i = 1; i < 6; i++) {
		snprintf(text, sizeof(text), "u%d", i);
		vt_put(v, VF_ROOT_INO, ".f.tmp", text);
		CHECK_EQ(vf_vault_rename(v, &vt_root, VF_ROOT_INO, ".f.tmp",
					 VF_ROOT_INO, "f", 0), 0);
	}
	CHECK_EQ(vf_vault_lookup(v, &vt_root, VF_ROOT_INO, ".versions", &vers),
		 0);
	vt_listing(v, vt_walk(v, vers.ino, "f", NULL), &s);
	CHECK_EQ(s.n, 6);
	CHECK_EQ(vf_vault_status(v, &st0), 0);
	CHECK_EQ(vt_policy_set(v, &p, err, sizeof(err)), 0);
	CHECK_EQ(vf_vault_prune(v, vf_clock_now() + 15 * 86400 * VF_NS, 0, NULL,
				NULL, &ps), 0);
	CHECK_EQ(ps.removed, 3);
	vt_listing(v, vt_walk(v, vers.ino, "f", NULL), &s);
	CHECK_EQ(s.n, 3);
	snprintf(path, sizeof(path), "f/%.20s", s.list);
	CHECK(!strcmp(vt_content(v, vt_walk(v, vers.ino, path, NULL), buf), "u3"));
	CHECK(!strcmp(vt_content(v, vt_walk(v, VF_ROOT_INO, "f", NULL), buf), "u5"));
	CHECK_EQ(vf_vault_status(v, &st1), 0);
	CHECK_EQ(st1.versions, st0.versions - 3);
	CHECK_EQ(vf_vault_check(v, 1, NULL, NULL), 0);
	CHECK_EQ(vf_vault_close(v), 0);
}

struct pts {
	int64_t t[64];
	char tag[64][80];
	int n;
};

static int pt_cb(void *arg, int64_t t, const char *tag)
{
	struct pts *p = arg;

	if (p->n < 64) {
		p->t[p->n] = t;
		snprintf(p->tag[p->n], sizeof(p->tag[0]), "%s", tag ? tag : "");
		p->n++;
	}
	return 0;
}

static void points(void)
{
	struct vf_vault *v = vt_fresh();
	struct vf_attr snaps;
	struct vt_names s;
	struct pts p = { .n = 0 };
	int64_t t, t0, x;
	char name[32], tag[100];
	int i, found = 0;

	if (!v)
		return;
	vt_put(v, VF_ROOT_INO, "f", "one");
	CHECK_EQ(vf_vault_snapshot(v, "before upgrade", &t), 0);
	CHECK_EQ(t % VF_NS, 0);
	CHECK_EQ(vf_vault_snapshot(v, "bad\ttag", &x), -EINVAL);
	CHECK_EQ(vf_vault_snapshot(v, "", &x), -EINVAL);
	memset(tag, 'x', 80);
	tag[80] = '\0';
	CHECK_EQ(vf_vault_snapshot(v, tag, &x), -EINVAL);
	t0 = vf_clock_now();
	/* a point is listed once its second is history */
	CHECK_EQ(vf_vault_snapshots(v, t0, pt_cb, &p), 0);
	for (i = 0; i < p.n; i++)
		CHECK(p.t[i] < t0 - VF_NS);
	nap();
	nap();
	p.n = 0;
	CHECK_EQ(vf_vault_snapshots(v, vf_clock_now(), pt_cb, &p), 0);
	CHECK(p.n >= 1);
	for (i = 0; i < p.n; i++) {
		if (i)
			CHECK(p.t[i] > p.t[i - 1]);
		if (p.t[i] == t && !strcmp(p.tag[i], "before upgrade"))
			found = 1;
	}
	CHECK(found);
	/* .snapshots lists the same points */
	CHECK_EQ(vf_vault_lookup(v, &vt_root, VF_ROOT_INO, ".snapshots", &snaps),
		 0);
	vt_listing(v, snaps.ino, &s);
	CHECK_EQ(s.n, p.n);
	vf_time_format(t, name);
	CHECK(strstr(s.list, name) != NULL);
	CHECK_EQ(vf_vault_close(v), 0);
}

/* xattrs are versioned: a snapshot view shows them as they were at its
 * second, however they were changed, removed or added since (a stolen
 * Operator's rewrite of an ACL or a tag cannot destroy the old value). */
static void xattr_history(void)
{
	struct vf_vault *v = vt_fresh();
	struct vf_attr snaps;
	char t1[32], t2[32], buf[64], list[256];
	uint64_t f, r1, r2, s1, s2;
	int64_t x;
	ssize_t n;

	if (!v)
		return;
	f = vt_put(v, VF_ROOT_INO, "f", "data");
	CHECK_EQ(vf_vault_setxattr(v, &vt_root, f, "user.tag", "v1", 2, 0), 0);
	CHECK_EQ(vf_vault_setxattr(v, &vt_root, f, "user.gone", "g", 1, 0), 0);
	mark(t1, &x);
	CHECK_EQ(vf_vault_setxattr(v, &vt_root, f, "user.tag", "v2", 2, 0), 0);
	CHECK_EQ(vf_vault_removexattr(v, &vt_root, f, "user.gone"), 0);
	CHECK_EQ(vf_vault_setxattr(v, &vt_root, f, "user.new", "n", 1, 0), 0);
	mark(t2, &x);
	CHECK_EQ(vf_vault_setxattr(v, &vt_root, f, "user.tag", "v3", 2, 0), 0);
	v = vt_reopen(v);
	if (!v)
		return;
	CHECK_EQ(vf_vault_lookup(v, &vt_root, VF_ROOT_INO, ".snapshots", &snaps),
		 0);
	r1 = vt_walk(v, snaps.ino, t1, NULL);
	r2 = vt_walk(v, snaps.ino, t2, NULL);
	s1 = vt_walk(v, r1, "f", NULL);
	s2 = vt_walk(v, r2, "f", NULL);
	CHECK(s1 && s2);
	n = vf_vault_getxattr(v, &vt_root, s1, "user.tag", buf, sizeof(buf));
	CHECK_EQ(n, 2);
	CHECK(n == 2 && !memcmp(buf, "v1", 2));
	CHECK_EQ(vf_vault_getxattr(v, &vt_root, s1, "user.gone", buf,
				   sizeof(buf)), 1);
	CHECK_EQ(vf_vault_getxattr(v, &vt_root, s1, "user.new", buf,
				   sizeof(buf)), -ENODATA);
	n = vf_vault_listxattr(v, &vt_root, s1, list, sizeof(list));
	CHECK_EQ(n, (ssize_t)sizeof("user.gone\0user.tag"));
	CHECK(n > 0 && !memcmp(list, "user.gone\0user.tag\0", (size_t)n));
	n = vf_vault_getxattr(v, &vt_root, s2, "user.tag", buf, sizeof(buf));
	CHECK(n == 2 && !memcmp(buf, "v2", 2));
	CHECK_EQ(vf_vault_getxattr(v, &vt_root, s2, "user.gone", buf,
				   sizeof(buf)), -ENODATA);
	n = vf_vault_listxattr(v, &vt_root, s2, list, sizeof(list));
	CHECK(n > 0 && !memcmp(list, "user.new\0user.tag\0", (size_t)n));
	/* the live file has its current values */
	n = vf_vault_getxattr(v, &vt_root, f, "user.tag", buf, sizeof(buf));
	CHECK(n == 2 && !memcmp(buf, "v3", 2));
	CHECK_EQ(vf_vault_close(v), 0);
}

int main(void)
{
	vt_setup("t-view");
	RUN(views);
	RUN(attribute_history);
	RUN(rename_over);
	RUN(prune_renamed);
	RUN(points);
	RUN(xattr_history);
	if (vt_cleanup())
		return 1;
	return unit_exit();
}
