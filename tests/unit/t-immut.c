/*
 * t-immut.c - immutable directories and the immutable vault through the
 * vault entry points: what a sealed file refuses (for root too), what
 * stays allowed, lock life cycle (times given as "now"), the rule's xattr,
 * and the immutable vault's refusals.
 */
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "vtest.h"
#include "vault.h"


static void sealed_files(void)
{
	struct vf_vault *v = vt_fresh();
	struct vf_setattr trunc = { .valid = VF_SET_SIZE, .size = 0 };
	struct vf_setattr chmod_ = { .valid = VF_SET_MODE, .mode = 0777 };
	struct vf_setattr times = { .valid = VF_SET_MTIME, .mtime = VF_NS };
	struct vf_attr d, sub, a, out;
	struct vf_handle *h = NULL, *open_new = NULL;
	char err[256] = "", buf[64];
	uint64_t f, outside;
	ssize_t n;

	if (!v)
		return;
	CHECK_EQ(vf_vault_mkdir(v, &vt_root, VF_ROOT_INO, "contracts", 0755, &d),
		 0);
	CHECK_EQ(vf_vault_mkdir(v, &vt_root, d.ino, "sub", 0755, &sub), 0);
	f = vt_put(v, sub.ino, "c.txt", "signed");
	outside = vt_put(v, VF_ROOT_INO, "outside", "free");
	CHECK_EQ(vt_immutable_set(v, "contracts", 0, 0, 0,
					vf_clock_now(), err, sizeof(err)), 0);
	CHECK_EQ(vt_immutable_set(v, "outside", 0, 0, 0, vf_clock_now(),
					err, sizeof(err)), -ENOTDIR);

	/* a new file may be written until its first close */
	CHECK_EQ(vf_vault_create_file(v, &vt_root, d.ino, "new.txt", 0644,
				      O_WRONLY, &a, &open_new), 0);
	CHECK_EQ(vf_vault_write(v, open_new, 0, "draft", 5), 5);
	CHECK_EQ(vf_vault_write(v, open_new, 5, " v2", 3), 3);

	/* sealed: everything that loses or changes data fails, for root */
	CHECK_EQ(vf_vault_unlink(v, &vt_root, sub.ino, "c.txt"), -EPERM);
	CHECK_EQ(vf_vault_rmdir(v, &vt_root, d.ino, "sub"), -ENOTEMPTY);
	CHECK_EQ(vf_vault_rename(v, &vt_root, sub.ino, "c.txt", VF_ROOT_INO,
				 "stolen", 0), -EPERM);
	CHECK_EQ(vf_vault_rename(v, &vt_root, sub.ino, "c.txt", sub.ino, "d.txt",
				 0), -EPERM);
	CHECK_EQ(vf_vault_rename(v, &vt_root, VF_ROOT_INO, "outside", sub.ino,
				 "c.txt", 0), -EPERM);
	CHECK_EQ(vf_vault_rename(v, &vt_root, d.ino, "sub", VF_ROOT_INO, "sub2",
				 0), -EPERM);
	CHECK_EQ(vf_vault_setattr(v, &vt_root, f, NULL, &trunc, &out), -EPERM);
	CHECK_EQ(vf_vault_setattr(v, &vt_root, f, NULL, &chmod_, &out), -EPERM);
	CHECK_EQ(vf_vault_setattr(v, &vt_root, f, NULL, &times, &out), 0);
	CHECK_EQ(vf_vault_open_file(v, &vt_root, f, O_WRONLY, &h), -EPERM);
	CHECK_EQ(vf_vault_open_file(v, &vt_root, f, O_RDONLY | O_TRUNC, &h),
		 -EPERM);
	CHECK_EQ(vf_vault_setxattr(v, &vt_root, f, "user.a", "1", 1, 0), -EPERM);
	CHECK_EQ(vf_vault_removexattr(v, &vt_root, f, "user.a"), -EPERM);
	CHECK_EQ(vf_vault_link(v, &vt_root, f, VF_ROOT_INO, "hl", &out), -EPERM);
	CHECK_EQ(vf_vault_link(v, &vt_root, outside, sub.ino, "hl", &out),
		 -EPERM);
	CHECK(!strcmp(vt_content(v, f, buf), "signed"));
	CHECK(vf_vault_last_denial(v, buf, sizeof(buf)) > 0);
	CHECK(strstr(buf, "immutable") != NULL);

	/* reads work, creates work, moving a file in seals it */
	CHECK_EQ(vf_vault_mkdir(v, &vt_root, sub.ino, "later", 0755, &a), 0);
	CHECK_EQ(vf_vault_rename(v, &vt_root, VF_ROOT_INO, "outside", sub.ino,
				 "moved", 0), 0);
	CHECK_EQ(vf_vault_unlink(v, &vt_root, sub.ino, "moved"), -EPERM);
	CHECK_EQ(vf_vault_rmdir(v, &vt_root, sub.ino, "later"), -EPERM);

	/* the open new file: sealed at its first close, then refused */
	CHECK_EQ(vf_vault_flush(v, open_new), 0);
	CHECK_EQ(vf_vault_write(v, open_new, 8, "!", 1), -EPERM);
	CHECK_EQ(vf_vault_fallocate(v, open_new, FALLOC_FL_PUNCH_HOLE |
					     FALLOC_FL_KEEP_SIZE, 0, 2),
		 -EPERM);
	CHECK_EQ(vf_vault_release(v, open_new), 0);
	CHECK(!strcmp(vt_content(v, vt_put(v, d.ino, "x", "x"), buf), "x"));

	/* the rule shows as an xattr on the directory */
	n = vf_vault_getxattr(v, &vt_root, d.ino, "user.vaultfs.immutable", buf,
			      sizeof(buf) - 1);
	CHECK(n > 0);
	buf[n > 0 ? n : 0] = '\0';
	CHECK(strstr(buf, "days=forever") != NULL);
	CHECK(strstr(buf, "lock=none") != NULL);
	CHECK_EQ(vf_vault_getxattr(v, &vt_root, sub.ino, "user.vaultfs.immutable",
				   buf, sizeof(buf)), -ENODATA);
	CHECK_EQ(vf_vault_setxattr(v, &vt_root, d.ino, "user.vaultfs.immutable",
				   "x", 1, 0), -EPERM);

	/* cleared (unlocked): deletes work again and go to .softdeleted */
	CHECK_EQ(vt_immutable_clear(v, "contracts", 0, vf_clock_now(),
					  err, sizeof(err)), 0);
	CHECK_EQ(vf_vault_unlink(v, &vt_root, sub.ino, "c.txt"), 0);
	CHECK_EQ(vf_vault_close(v), 0);
}

struct rules {
	int n;
	unsigned days;
	int64_t lock_at;
	char path[64];
};

static int rule_cb(void *arg, const struct vf_imm_rule *r)
{
	struct rules *s = arg;

	s->n++;
	s->days = r->days;
	s->lock_at = r->lock_at;
	snprintf(s->path, sizeof(s->path), "%s", r->path);
	return 0;
}

static void locks(void)
{
	struct vf_vault *v = vt_fresh();
	struct vf_attr d, a;
	struct rules r;
	char err[256];
	int64_t now = vf_clock_now();

	if (!v)
		return;
	CHECK_EQ(vf_vault_mkdir(v, &vt_root, VF_ROOT_INO, "a", 0755, &d), 0);
	CHECK_EQ(vf_vault_mkdir(v, &vt_root, d.ino, "b", 0755, &a), 0);
	CHECK_EQ(vt_immutable_set(v, "a/b", 1, 30, 1, now, err,
					sizeof(err)), 0);
	memset(&r, 0, sizeof(r));
	CHECK_EQ(vf_vault_immutable_list(v, rule_cb, &r), 0);
	CHECK_EQ(r.n, 1);
	CHECK(!strcmp(r.path, "a/b"));
	CHECK_EQ(r.days, 30);
	CHECK_EQ(r.lock_at, now + VF_COOLING_OFF);
	/* pending: cancellable, and then lockable again */
	CHECK_EQ(vt_immutable_clear(v, "a/b", 1, now + VF_NS, err,
					  sizeof(err)), 0);
	CHECK_EQ(vt_immutable_clear(v, "a/b", 1, now + VF_NS, err,
					  sizeof(err)), -EINVAL);
	CHECK_EQ(vt_immutable_set(v, "a/b", 0, 0, 1, now, err,
					sizeof(err)), 0);
	now += VF_COOLING_OFF + VF_NS;
	/* final: extend yes; shorten, clear, unlock never */
	err[0] = '\0';
	CHECK_EQ(vt_immutable_set(v, "a/b", 1, 10, 0, now, err,
					sizeof(err)), -EPERM);
	CHECK(strstr(err, "extended") != NULL);
	CHECK_EQ(vt_immutable_clear(v, "a/b", 0, now, err, sizeof(err)),
		 -EPERM);
	CHECK_EQ(vt_immutable_clear(v, "a/b", 1, now, err, sizeof(err)),
		 -EPERM);
	CHECK_EQ(vt_immutable_set(v, "a/b", 1, 60, 0, now, err,
					sizeof(err)), 0);
	CHECK_EQ(vt_immutable_set(v, "a/b", 1, 0, 0, now, err,
					sizeof(err)), 0);
	CHECK_EQ(vt_immutable_set(v, "a/b", 1, 90, 0, now, err,
					sizeof(err)), -EPERM);
	memset(&r, 0, sizeof(r));
	CHECK_EQ(vf_vault_immutable_list(v, rule_cb, &r), 0);
	CHECK_EQ(r.days, 0);
	CHECK_EQ(vt_immutable_set(v, "nope", 0, 0, 0, now, err,
					sizeof(err)), -ENOENT);
	CHECK_EQ(vf_vault_close(v), 0);
}

static void immutable_vault(void)
{
	struct vf_vault *v = vt_fresh();
	struct vf_retention p = { .keep_last = 10, .min_points = 3 };
	struct vf_imm_vault iv;
	char err[256];
	uint64_t n;
	int64_t now = vf_clock_now();

	if (!v)
		return;
	CHECK_EQ(vt_policy_set(v, &p, err, sizeof(err)), 0);
	CHECK_EQ(vt_immutable_vault_set(v, 1, 1, now, err, sizeof(err)),
		 0);
	CHECK_EQ(vf_vault_immutable_vault_get(v, &iv), 0);
	CHECK_EQ(iv.on, 1);
	CHECK_EQ(iv.lock_at, now + VF_COOLING_OFF);
	p.keep_last = 5;
	CHECK_EQ(vt_policy_set(v, &p, err, sizeof(err)), -EPERM);
	p.keep_last = 20;
	CHECK_EQ(vt_policy_set(v, &p, err, sizeof(err)), 0);
	CHECK_EQ(vt_softdelete_set(v, VF_SD_OFF, 0, now, err,
					 sizeof(err)), -EPERM);
	CHECK_EQ(vt_softdelete_set(v, VF_SD_DAYS, 30, now, err,
					 sizeof(err)), 0);
	CHECK_EQ(vt_softdelete_set(v, VF_SD_DAYS, 20, now, err,
					 sizeof(err)), -EPERM);
	vt_put(v, VF_ROOT_INO, "f", "x");
	CHECK_EQ(vf_vault_unlink(v, &vt_root, VF_ROOT_INO, "f"), 0);
	CHECK_EQ(vt_softdelete_purge(v, "f", now, &n, err, sizeof(err)),
		 -EPERM);
	/* pending lock: cancellable; then off */
	CHECK_EQ(vt_immutable_vault_set(v, 0, 1, now, err, sizeof(err)),
		 0);
	CHECK_EQ(vf_vault_immutable_vault_get(v, &iv), 0);
	CHECK_EQ(iv.on, 1);
	CHECK_EQ(iv.lock_at, 0);
	CHECK_EQ(vt_immutable_vault_set(v, 0, 0, now, err, sizeof(err)),
		 0);
	CHECK_EQ(vt_softdelete_purge(v, "f", now, &n, err, sizeof(err)),
		 0);
	/* locked for good: never off */
	CHECK_EQ(vt_immutable_vault_set(v, 1, 1, now, err, sizeof(err)),
		 0);
	now += VF_COOLING_OFF + 1;
	CHECK_EQ(vt_immutable_vault_set(v, 0, 0, now, err, sizeof(err)),
		 -EPERM);
	CHECK_EQ(vt_immutable_vault_set(v, 0, 1, now, err, sizeof(err)),
		 -EPERM);
	CHECK_EQ(vf_vault_close(v), 0);
}

int main(void)
{
	vt_setup("t-immut");
	RUN(sealed_files);
	RUN(locks);
	RUN(immutable_vault);
	if (vt_cleanup())
		return 1;
	return unit_exit();
}
