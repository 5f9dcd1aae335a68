/*
 * t-authz.c - roles through the vault entry points (README.md, Roles): no role is
 * refused everything, each role gets exactly its row of the table, grants
 * to groups count through the caller's supplementary groups, root is
 * Owner, and grants survive a reopen.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "vtest.h"
#include "vault.h"


static int count_cb(void *arg, const char *name, const struct vf_attr *a,
		    uint64_t next)
{
	(*(int *)arg)++;
	return 0;
}

/* The supplementary groups of the test caller. */
static gid_t extra_group = 7777;
static int groups_cb(void *ctx, gid_t *buf, int cap)
{
	(void)ctx;
	if (cap < 1)
		return -EINVAL;
	buf[0] = extra_group;
	return 1;
}

/* What caller c may do, one bit per row of the role table (README.md) that the mount
 * serves: 1 read, 2 create/write/rename, 4 unlink/rmdir.  Every attempt
 * that succeeds is undone by root so the next caller starts alike. */
static int abilities(struct vf_vault *v, const struct vf_caller *c,
		     uint64_t dir_ino, uint64_t file_ino)
{
	struct vf_setattr sa = { .valid = VF_SET_MODE, .mode = 0666 };
	struct vf_handle *h = NULL;
	struct statvfs sv;
	struct vf_attr a;
	int bits = 0, n = 0, r1, r2, r3, r4, r5;
	char buf[8];

	r1 = vf_vault_lookup(v, c, VF_ROOT_INO, "d", &a);
	r2 = vf_vault_getattr(v, c, VF_ROOT_INO, &a);
	r3 = vf_vault_readdir(v, c, dir_ino, 0, count_cb, &n);
	r4 = vf_vault_open_file(v, c, file_ino, O_RDONLY, &h);
	if (!r4) {
		CHECK_EQ(vf_vault_read(v, h, 0, buf, sizeof(buf)), 4);
		CHECK_EQ(vf_vault_release(v, h), 0);
	}
	r5 = vf_vault_statfs(v, c, &sv);
	CHECK((r1 == 0) == (r2 == 0) && (r2 == 0) == (r3 == 0) &&
	      (r3 == 0) == (r4 == 0) && (r4 == 0) == (r5 == 0));
	CHECK(r1 == 0 || r1 == -EACCES);
	if (!r1)
		bits |= 1;

	r1 = vf_vault_mkdir(v, c, dir_ino, "new", 0777, &a);
	if (!r1)
		CHECK_EQ(vf_vault_rmdir(v, &vt_root, dir_ino, "new"), 0);
	r2 = vf_vault_open_file(v, c, file_ino, O_WRONLY, &h);
	if (!r2)
		CHECK_EQ(vf_vault_release(v, h), 0);
	r3 = vf_vault_rename(v, c, dir_ino, "f", dir_ino, "g", 0);
	if (!r3)
		CHECK_EQ(vf_vault_rename(v, &vt_root, dir_ino, "g", dir_ino, "f",
					 0), 0);
	r4 = vf_vault_setattr(v, c, file_ino, NULL, &sa, &a);
	CHECK((r1 == 0) == (r2 == 0) && (r2 == 0) == (r3 == 0) &&
	      (r3 == 0) == (r4 == 0));
	CHECK(r1 == 0 || r1 == -EACCES);
	if (!r1)
		bits |= 2;

	r1 = vf_vault_unlink(v, c, dir_ino, "f");
	if (!r1) {
		struct vf_attr t;

		/* undelete it for the next caller */
		CHECK_EQ(vf_vault_lookup(v, &vt_root, VF_ROOT_INO, ".softdeleted",
					 &t), 0);
		CHECK_EQ(vf_vault_lookup(v, &vt_root, t.ino, "d", &t), 0);
		CHECK_EQ(vf_vault_rename(v, &vt_root, t.ino, "f", dir_ino, "f",
					 0), 0);
		bits |= 4;
	}
	CHECK(r1 == 0 || r1 == -EACCES);
	return bits;
}

static void role_matrix(void)
{
	struct vf_vault *v = vt_fresh();
	struct vf_caller u = { .uid = 1001, .gid = 1001, .pid = 1,
			       .umask = 022 };
	struct vf_handle *h = NULL;
	struct vf_attr d, f;
	char err[128];

	if (!v)
		return;
	CHECK_EQ(vf_vault_mkdir(v, &vt_root, VF_ROOT_INO, "d", 0777, &d), 0);
	CHECK_EQ(vf_vault_create_file(v, &vt_root, d.ino, "f", 0666, O_WRONLY, &f,
				      &h), 0);
	CHECK_EQ(vf_vault_write(v, h, 0, "data", 4), 4);
	CHECK_EQ(vf_vault_release(v, h), 0);

	CHECK_EQ(abilities(v, &vt_root, d.ino, f.ino), 7);
	CHECK_EQ(vf_vault_role_of(v, &vt_root), VF_ROLE_OWNER);
	CHECK_EQ(abilities(v, &u, d.ino, f.ino), 0);
	CHECK_EQ(vf_vault_role_of(v, &u), VF_ROLE_NONE);
	CHECK_EQ(vt_role_grant(v, 0, 1001, VF_ROLE_READER, err,
				     sizeof(err)), 0);
	CHECK_EQ(abilities(v, &u, d.ino, f.ino), 1);
	CHECK_EQ(vt_role_grant(v, 0, 1001, VF_ROLE_OPERATOR, err,
				     sizeof(err)), 0);
	CHECK_EQ(abilities(v, &u, d.ino, f.ino), 3);
	CHECK_EQ(vt_role_grant(v, 0, 1001, VF_ROLE_CONTRIBUTOR, err,
				     sizeof(err)), 0);
	CHECK_EQ(abilities(v, &u, d.ino, f.ino), 7);
	CHECK_EQ(vt_role_grant(v, 0, 1001, VF_ROLE_NONE, err,
				     sizeof(err)), 0);
	CHECK_EQ(abilities(v, &u, d.ino, f.ino), 0);

	/* a group grant counts through the primary and the supplementary
	 * groups, and the strongest grant wins */
	CHECK_EQ(vt_role_grant(v, 1, 7777, VF_ROLE_OPERATOR, err,
				     sizeof(err)), 0);
	CHECK_EQ(abilities(v, &u, d.ino, f.ino), 0);
	u.groups = groups_cb;
	CHECK_EQ(abilities(v, &u, d.ino, f.ino), 3);
	CHECK_EQ(vt_role_grant(v, 0, 1001, VF_ROLE_READER, err,
				     sizeof(err)), 0);
	CHECK_EQ(vf_vault_role_of(v, &u), VF_ROLE_OPERATOR);
	u.groups = NULL;
	u.gid = 7777;
	CHECK_EQ(vf_vault_role_of(v, &u), VF_ROLE_OPERATOR);
	u.gid = 1001;
	CHECK_EQ(vf_vault_role_of(v, &u), VF_ROLE_READER);

	/* grants persist */
	CHECK_EQ(vf_vault_close(v), 0);
	v = NULL;
	CHECK_EQ(vf_vault_open(vt_dir, &vt_opts, 0, &v, err, sizeof(err)), 0);
	if (!v)
		return;
	u.groups = groups_cb;
	CHECK_EQ(vf_vault_role_of(v, &u), VF_ROLE_OPERATOR);
	CHECK_EQ(vf_vault_close(v), 0);
}

static void names(void)
{
	enum vf_role r;

	CHECK_EQ(vf_role_parse("contributor", &r), 0);
	CHECK_EQ(r, VF_ROLE_CONTRIBUTOR);
	CHECK_EQ(vf_role_parse("admin", &r), -EINVAL);
	CHECK_EQ(vf_role_parse("", &r), -EINVAL);
	CHECK(!strcmp(vf_role_name(VF_ROLE_OPERATOR), "operator"));
}

int main(void)
{
	vt_setup("t-authz");
	RUN(role_matrix);
	RUN(names);
	if (vt_cleanup())
		return 1;
	return unit_exit();
}
