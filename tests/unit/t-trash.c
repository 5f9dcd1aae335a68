/*
 * t-trash.c - soft delete without FUSE: what unlink and rmdir leave in
 * .softdeleted, names of repeated deletions, undelete by rename, purge
 * at the purge time (given as "now"), and the settings' rules (range,
 * always-on pending then final).
 */
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "vtest.h"
#include "vault.h"

#define DAY (86400 * VF_NS)


static uint64_t mkdir_(struct vf_vault *v, uint64_t parent, const char *name)
{
	struct vf_attr a = { .ino = 0 };

	CHECK_EQ(vf_vault_mkdir(v, &vt_root, parent, name, 0755, &a), 0);
	return a.ino;
}

struct items {
	char paths[1024];
	int n;
	uint64_t size, files;
	int64_t purge_at;
};

static int item_cb(void *arg, const struct vf_trash_item *it)
{
	struct items *s = arg;

	s->n++;
	s->size += it->size;
	s->files += it->files;
	s->purge_at = it->purge_at;
	snprintf(s->paths + strlen(s->paths),
		 sizeof(s->paths) - strlen(s->paths), "%s%s%s",
		 s->paths[0] ? " " : "", it->path, it->is_dir ? "/" : "");
	return 0;
}

static void items(struct vf_vault *v, int64_t now, struct items *s)
{
	memset(s, 0, sizeof(*s));
	CHECK_EQ(vf_vault_softdelete_list(v, now, item_cb, s), 0);
}

struct seen {
	int undelete, deletes;
	char target[128];
};

static int audit_cb(void *arg, const struct vf_event *r)
{
	struct seen *s = arg;

	if (!strcmp(r->action, "undelete")) {
		s->undelete++;
		snprintf(s->target, sizeof(s->target), "%s", r->target);
	}
	/* one record per deletion, naming it (not a count per minute) */
	if (!strcmp(r->action, "delete") && r->detail && r->target &&
	    !strcmp(r->detail, "unlink") && r->target[0] == '/')
		s->deletes++;
	return 0;
}

static void delete_and_undelete(void)
{
	struct vf_vault *v = vt_fresh();
	struct vf_attr trash, a;
	struct vt_names s;
	struct items it;
	uint64_t p, src, deep, f;
	char buf[64], xa[64];
	ssize_t n;
	int64_t now;

	if (!v)
		return;
	p = mkdir_(v, VF_ROOT_INO, "proj");
	src = mkdir_(v, p, "src");
	deep = mkdir_(v, src, "deep");
	vt_put(v, p, "a", "alpha");
	vt_put(v, src, "b", "beta");
	vt_put(v, deep, "c", "gamma");
	CHECK_EQ(vf_vault_symlink(v, &vt_root, src, "l", "../a", &a), 0);
	f = vt_put(v, VF_ROOT_INO, "single", "one");

	/* rm -r: children first, then the directories */
	CHECK_EQ(vf_vault_unlink(v, &vt_root, deep, "c"), 0);
	CHECK_EQ(vf_vault_rmdir(v, &vt_root, src, "deep"), 0);
	CHECK_EQ(vf_vault_unlink(v, &vt_root, src, "b"), 0);
	CHECK_EQ(vf_vault_unlink(v, &vt_root, src, "l"), 0);
	CHECK_EQ(vf_vault_rmdir(v, &vt_root, p, "src"), 0);
	CHECK_EQ(vf_vault_unlink(v, &vt_root, p, "a"), 0);
	CHECK_EQ(vf_vault_rmdir(v, &vt_root, VF_ROOT_INO, "proj"), 0);
	CHECK_EQ(vf_vault_unlink(v, &vt_root, VF_ROOT_INO, "single"), 0);
	now = vf_clock_now();
	CHECK_EQ(vt_walk(v, VF_ROOT_INO, "proj", NULL), 0);
	CHECK(!strcmp(vt_listing(v, VF_ROOT_INO, &s), ""));

	CHECK_EQ(vf_vault_lookup(v, &vt_root, VF_ROOT_INO, ".softdeleted",
				 &trash), 0);
	CHECK(S_ISDIR(trash.mode));
	CHECK(!strcmp(vt_listing(v, trash.ino, &s), "proj single"));
	CHECK_EQ(vt_walk(v, trash.ino, "proj", NULL), p);
	CHECK(!strcmp(vt_listing(v, p, &s), "a src"));
	CHECK(!strcmp(vt_listing(v, vt_walk(v, trash.ino, "proj/src", NULL), &s),
		      "b deep l"));
	CHECK(!strcmp(vt_content(v, vt_walk(v, trash.ino, "proj/src/deep/c", NULL),
			      buf), "gamma"));
	CHECK(!strcmp(vt_content(v, vt_walk(v, trash.ino, "single", NULL), buf),
		      "one"));
	n = vf_vault_getxattr(v, &vt_root, p, "user.vaultfs.purge_at", xa,
			      sizeof(xa) - 1);
	CHECK(n == 20);
	xa[n > 0 ? n : 0] = '\0';
	{
		int64_t t;

		CHECK_EQ(vf_time_parse(xa, &t), 0);
		CHECK(t > now + 14 * DAY - 5 * VF_NS &&
		      t <= now + 14 * DAY + VF_NS);
	}
	CHECK_EQ(vf_vault_getxattr(v, &vt_root, vt_walk(v, VF_ROOT_INO, ".", NULL),
				   "user.vaultfs.purge_at", xa, sizeof(xa)),
		 -ENODATA);
	items(v, now, &it);
	CHECK_EQ(it.n, 2);
	CHECK(!strcmp(it.paths, "proj/ single"));
	CHECK_EQ(it.size, 5 + 4 + 5 + 3);
	CHECK_EQ(it.files, 5);

	/* read-only in there */
	{
		struct vf_handle *h = NULL;

		CHECK_EQ(vf_vault_open_file(v, &vt_root, f, O_WRONLY, &h),
			 -EROFS);
		CHECK_EQ(vf_vault_unlink(v, &vt_root, p, "a"), -ENOENT);
		CHECK_EQ(vf_vault_mkdir(v, &vt_root, p, "x", 0755, &a), -ENOENT);
		CHECK_EQ(vf_vault_link(v, &vt_root, f, VF_ROOT_INO, "x", &a),
			 -EXDEV);
		CHECK_EQ(vf_vault_setxattr(v, &vt_root, f, "user.x", "1", 1, 0),
			 -EROFS);
		CHECK_EQ(vf_vault_setxattr(v, &vt_root, VF_ROOT_INO,
					   "user.vaultfs.purge_at", "1", 1, 0),
			 -EPERM);
	}

	/* a second deletion of the same path sits beside the first */
	vt_put(v, VF_ROOT_INO, "single", "two");
	CHECK_EQ(vf_vault_unlink(v, &vt_root, VF_ROOT_INO, "single"), 0);
	vt_listing(v, trash.ino, &s);
	CHECK_EQ(s.n, 3);
	CHECK(strstr(s.list, "single@") != NULL);
	{
		char name[64];

		snprintf(name, sizeof(name), "%s", strstr(s.list, "single@"));
		CHECK(!strcmp(vt_content(v, vt_walk(v, trash.ino, name, NULL), buf),
			      "two"));
		CHECK(!strcmp(vt_content(v, vt_walk(v, trash.ino, "single", NULL),
				      buf), "one"));
	}

	/* undelete by rename; over a live name it is refused */
	vt_put(v, VF_ROOT_INO, "single", "live");
	CHECK_EQ(vf_vault_rename(v, &vt_root, trash.ino, "single", VF_ROOT_INO,
				 "single", 0), -EEXIST);
	CHECK_EQ(vf_vault_rename(v, &vt_root, trash.ino, "single", VF_ROOT_INO,
				 "restored", 0), 0);
	CHECK_EQ(vt_walk(v, VF_ROOT_INO, "restored", NULL), f);
	CHECK(!strcmp(vt_content(v, f, buf), "one"));
	{
		struct seen sn = { 0, 0, "" };

		CHECK_EQ(vf_vault_audit_flush(v, vf_clock_now(), 1), 0);
		CHECK_EQ(vf_vault_audit_list(v, INT64_MIN, audit_cb, &sn), 0);
		CHECK_EQ(sn.undelete, 1);
		CHECK(!strcmp(sn.target, "single"));
		CHECK_EQ(sn.deletes, 6); /* c b l a single single */
	}
	CHECK_EQ(vf_vault_getattr(v, &vt_root, f, &a), 0);
	CHECK_EQ(a.nlink, 1);
	/* the later one now shows the plain name */
	CHECK(!strcmp(vt_listing(v, trash.ino, &s), "proj single"));
	CHECK_EQ(vf_vault_rename(v, &vt_root, trash.ino, "proj", VF_ROOT_INO,
				 "proj", 0), 0);
	CHECK(!strcmp(vt_content(v, vt_walk(v, VF_ROOT_INO, "proj/src/deep/c",
				      NULL), buf), "gamma"));
	/* restored newest first: live listings are in creation order */
	CHECK(!strcmp(vt_listing(v, vt_walk(v, VF_ROOT_INO, "proj/src", NULL), &s),
		      "l b deep"));
	CHECK_EQ(vf_vault_getattr(v, &vt_root, p, &a), 0);
	CHECK_EQ(a.nlink, 3);
	CHECK_EQ(vt_walk(v, trash.ino, "proj", NULL), 0);
	/* the restored tree is live again: writable, deletable */
	CHECK_EQ(vf_vault_unlink(v, &vt_root, vt_walk(v, VF_ROOT_INO, "proj/src",
						NULL), "b"), 0);
	CHECK_EQ(vf_vault_close(v), 0);
}

static void purge_at_time(void)
{
	struct vf_vault *v = vt_fresh();
	struct vf_attr trash;
	struct vf_status st0, st1;
	struct vf_gc_stats gs;
	struct items it;
	struct vt_names s;
	uint64_t n = 0, d;
	int64_t now;
	char err[256] = "";

	if (!v)
		return;
	d = mkdir_(v, VF_ROOT_INO, "d");
	vt_put(v, d, "x", "0123456789");
	vt_put(v, d, "y", "yyyyyyyyyy");
	vt_put(v, VF_ROOT_INO, "keep", "kept");
	CHECK_EQ(vf_vault_unlink(v, &vt_root, d, "x"), 0);
	CHECK_EQ(vf_vault_unlink(v, &vt_root, d, "y"), 0);
	CHECK_EQ(vf_vault_rmdir(v, &vt_root, VF_ROOT_INO, "d"), 0);
	now = vf_clock_now();
	CHECK_EQ(vf_vault_status(v, &st0), 0);

	CHECK_EQ(vf_vault_purge_expired(v, now + 13 * DAY, &n), 0);
	CHECK_EQ(n, 0);
	CHECK_EQ(vf_vault_lookup(v, &vt_root, VF_ROOT_INO, ".softdeleted",
				 &trash), 0);
	CHECK(!strcmp(vt_listing(v, trash.ino, &s), "d"));
	CHECK_EQ(vf_vault_purge_expired(v, now + 15 * DAY, &n), 0);
	CHECK_EQ(n, 3);
	CHECK(!strcmp(vt_listing(v, trash.ino, &s), ""));
	items(v, now, &it);
	CHECK_EQ(it.n, 0);
	CHECK_EQ(vf_vault_getattr(v, &vt_root, d, &trash), -ENOENT);
	CHECK_EQ(vf_vault_gc(v, &gs), 0);
	CHECK_EQ(vf_vault_status(v, &st1), 0);
	CHECK(st1.chunks < st0.chunks);
	CHECK_EQ(vf_vault_check(v, 1, NULL, NULL), 0);
	{
		char buf[64];

		CHECK(!strcmp(vt_content(v, vt_walk(v, VF_ROOT_INO, "keep", NULL),
				      buf), "kept"));
	}

	/* early purge of one path */
	vt_put(v, VF_ROOT_INO, "early", "e");
	CHECK_EQ(vf_vault_unlink(v, &vt_root, VF_ROOT_INO, "early"), 0);
	CHECK_EQ(vt_softdelete_purge(v, "nothere", vf_clock_now(), &n,
					   err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "nothere") != NULL);
	err[0] = '\0';
	CHECK_EQ(vt_softdelete_purge(v, "early", vf_clock_now(), &n, err,
					   sizeof(err)), 0);
	CHECK_EQ(n, 1);
	CHECK_EQ(vt_walk(v, VF_ROOT_INO, ".softdeleted/early", NULL), 0);

	/* soft delete off: deletes are final at the next pass */
	CHECK_EQ(vt_softdelete_set(v, VF_SD_OFF, 0, vf_clock_now(), err,
					 sizeof(err)), 0);
	vt_put(v, VF_ROOT_INO, "gone", "g");
	CHECK_EQ(vf_vault_unlink(v, &vt_root, VF_ROOT_INO, "gone"), 0);
	CHECK_EQ(vt_walk(v, VF_ROOT_INO, ".softdeleted/gone", NULL), 0);
	CHECK_EQ(vf_vault_purge_expired(v, vf_clock_now(), &n), 0);
	CHECK_EQ(n, 1);
	CHECK_EQ(vf_vault_close(v), 0);
}

/* Every name of a hard-linked file deleted with a tree shows there, as
 * links of one node; the node goes only with the last of them, and never
 * while a live name is left. */
static void hard_links(void)
{
	struct vf_vault *v = vt_fresh();
	struct vf_attr trash, a, b;
	struct vt_names s;
	uint64_t d, f, n = 0;
	char buf[64];

	if (!v)
		return;
	d = mkdir_(v, VF_ROOT_INO, "d");
	f = vt_put(v, d, "one", "linked");
	CHECK_EQ(vf_vault_link(v, &vt_root, f, d, "two", &a), 0);
	CHECK_EQ(vf_vault_link(v, &vt_root, f, VF_ROOT_INO, "live", &a), 0);
	CHECK_EQ(vf_vault_unlink(v, &vt_root, d, "one"), 0);
	CHECK_EQ(vf_vault_unlink(v, &vt_root, d, "two"), 0);
	CHECK_EQ(vf_vault_rmdir(v, &vt_root, VF_ROOT_INO, "d"), 0);
	CHECK_EQ(vf_vault_lookup(v, &vt_root, VF_ROOT_INO, ".softdeleted",
				 &trash), 0);
	CHECK(!strcmp(vt_listing(v, vt_walk(v, trash.ino, "d", NULL), &s),
		      "one two"));
	CHECK_EQ(vt_walk(v, trash.ino, "d/one", &a), f);
	CHECK_EQ(vt_walk(v, trash.ino, "d/two", &b), f);
	/* still live through "live": writable there, kept by purges */
	{
		struct vf_handle *h = NULL;

		CHECK_EQ(vf_vault_open_file(v, &vt_root, f, O_WRONLY, &h), 0);
		if (h)
			CHECK_EQ(vf_vault_release(v, h), 0);
	}
	CHECK_EQ(vf_vault_purge_expired(v, vf_clock_now() + 15 * DAY, &n), 0);
	CHECK(!strcmp(vt_content(v, vt_walk(v, VF_ROOT_INO, "live", NULL), buf),
		      "linked"));
	CHECK_EQ(vt_walk(v, trash.ino, "d", NULL), 0);
	CHECK_EQ(vf_vault_check(v, 1, NULL, NULL), 0);
	CHECK_EQ(vf_vault_close(v), 0);
}

static void settings(void)
{
	struct vf_vault *v = vt_fresh();
	struct vf_softdelete sd;
	char err[256];
	int64_t now = vf_clock_now();

	if (!v)
		return;
	CHECK_EQ(vf_vault_softdelete_get(v, &sd), 0);
	CHECK_EQ(sd.days, 14);
	CHECK_EQ(sd.off, 0);
	CHECK_EQ(sd.always_on, 0);
	CHECK_EQ(vt_softdelete_set(v, VF_SD_DAYS, 13, now, err,
					 sizeof(err)), -EINVAL);
	CHECK(strstr(err, "14 to 180") != NULL);
	CHECK_EQ(vt_softdelete_set(v, VF_SD_DAYS, 181, now, err,
					 sizeof(err)), -EINVAL);
	CHECK_EQ(vt_softdelete_set(v, VF_SD_DAYS, 30, now, err,
					 sizeof(err)), 0);
	CHECK_EQ(vt_softdelete_set(v, VF_SD_CANCEL, 0, now, err,
					 sizeof(err)), -EINVAL);
	/* always-on: pending, cancellable, then final */
	CHECK_EQ(vt_softdelete_set(v, VF_SD_ALWAYS_ON, 0, now, err,
					 sizeof(err)), 0);
	CHECK_EQ(vf_vault_softdelete_get(v, &sd), 0);
	CHECK_EQ(sd.always_on, now + VF_COOLING_OFF);
	CHECK_EQ(vt_softdelete_set(v, VF_SD_OFF, 0, now, err,
					 sizeof(err)), -EPERM);
	CHECK_EQ(vt_softdelete_set(v, VF_SD_CANCEL, 0, now, err,
					 sizeof(err)), 0);
	CHECK_EQ(vt_softdelete_set(v, VF_SD_ALWAYS_ON, 0, now, err,
					 sizeof(err)), 0);
	now += VF_COOLING_OFF + VF_NS;
	CHECK_EQ(vt_softdelete_set(v, VF_SD_OFF, 0, now, err,
					 sizeof(err)), -EPERM);
	CHECK(strstr(err, "always-on") != NULL);
	CHECK_EQ(vt_softdelete_set(v, VF_SD_DAYS, 20, now, err,
					 sizeof(err)), -EPERM);
	CHECK_EQ(vt_softdelete_set(v, VF_SD_CANCEL, 0, now, err,
					 sizeof(err)), -EPERM);
	CHECK_EQ(vt_softdelete_set(v, VF_SD_DAYS, 40, now, err,
					 sizeof(err)), 0);
	{
		uint64_t n;

		vt_put(v, VF_ROOT_INO, "f", "x");
		CHECK_EQ(vf_vault_unlink(v, &vt_root, VF_ROOT_INO, "f"), 0);
		CHECK_EQ(vt_softdelete_purge(v, "f", now, &n, err,
						   sizeof(err)), -EPERM);
	}
	/* the settings survive a reopen */
	CHECK_EQ(vf_vault_close(v), 0);
	v = NULL;
	CHECK_EQ(vf_vault_open(vt_dir, &vt_opts, 0, &v, err, sizeof(err)), 0);
	if (!v)
		return;
	CHECK_EQ(vf_vault_softdelete_get(v, &sd), 0);
	CHECK_EQ(sd.days, 40);
	CHECK(sd.always_on != 0);
	CHECK_EQ(vf_vault_close(v), 0);
}

/* Undelete is for the item's owner and root, whatever the role (sticky
 * semantics, checked in core): a uid with the Owner role cannot take
 * another user's deleted item out; the item's owner can. */
static void undelete_owner_only(void)
{
	struct vf_vault *v = vt_fresh();
	const struct vf_caller alice = { .uid = 1001, .gid = 1001, .pid = 1,
					 .umask = 022 };
	const struct vf_caller bob = { .uid = 1002, .gid = 1002, .pid = 1,
				       .umask = 022 };
	struct vf_setattr sa = { .valid = VF_SET_MODE, .mode = 0777 };
	struct vf_attr trash, cont, a;
	char err[256], buf[64];
	uint64_t d, f;

	if (!v)
		return;
	CHECK_EQ(vt_role_grant(v, 0, 1001, VF_ROLE_CONTRIBUTOR, err,
				     sizeof(err)), 0);
	CHECK_EQ(vt_role_grant(v, 0, 1002, VF_ROLE_OWNER, err,
				     sizeof(err)), 0);
	d = mkdir_(v, VF_ROOT_INO, "shared");
	CHECK_EQ(vf_vault_setattr(v, &vt_root, d, NULL, &sa, &a), 0);
	f = vt_put(v, d, "mine", "alice's");
	sa.valid = VF_SET_UID | VF_SET_GID;
	sa.uid = sa.gid = 1001;
	CHECK_EQ(vf_vault_setattr(v, &vt_root, f, NULL, &sa, &a), 0);
	CHECK_EQ(vf_vault_unlink(v, &vt_root, d, "mine"), 0);
	CHECK_EQ(vf_vault_lookup(v, &vt_root, VF_ROOT_INO, ".softdeleted",
				 &trash), 0);
	CHECK_EQ(vf_vault_lookup(v, &vt_root, trash.ino, "shared", &cont), 0);
	/* the container shows the directory's mode and owner, sticky */
	CHECK_EQ(cont.mode, (uint32_t)(S_IFDIR | S_ISVTX | 0777));
	CHECK_EQ(cont.uid, 0);
	CHECK_EQ(vf_vault_rename(v, &bob, cont.ino, "mine", d, "back", 0),
		 -EPERM);
	CHECK_EQ(vt_walk(v, d, "back", NULL), 0);
	CHECK_EQ(vf_vault_rename(v, &alice, cont.ino, "mine", d, "back", 0),
		 0);
	CHECK_EQ(vt_walk(v, d, "back", NULL), f);
	CHECK(!strcmp(vt_content(v, f, buf), "alice's"));
	CHECK_EQ(vf_vault_close(v), 0);
}

int main(void)
{
	vt_setup("t-trash");
	RUN(delete_and_undelete);
	RUN(purge_at_time);
	RUN(hard_links);
	RUN(settings);
	RUN(undelete_owner_only);
	if (vt_cleanup())
		return 1;
	return unit_exit();
}
