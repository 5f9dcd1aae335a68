/*
 * t-admin.c - the administrative gate (core/admin.c) on a real vault: the
 * role check for every front end, decisions and changes in one lock scope
 * (the race a front end deciding on its own could lose), approvals bound
 * to the object and not to its name, and a change that cannot be audited
 * does not happen.
 */
#include <pthread.h>
#include <sys/stat.h>

#include "unit.h"
#include "vtest.h"
#include "guard.h"
#include "vault.h"

static char key_path[96];

/* Attaches a fresh guard to v; its secret key is in key_path. */
static void arm(struct vf_vault *v)
{
	char pub[VF_GUARD_PUB_TEXT], err[256];

	snprintf(key_path, sizeof(key_path), "%s-guard.key", vt_dir);
	unlink(key_path);
	CHECK_EQ(vf_guard_keygen(key_path, pub, sizeof(pub), err,
				 sizeof(err)), 0);
	CHECK_EQ(vt_guard_attach(v, pub, NULL, err, sizeof(err)), 0);
}

/* The guard's token for a request the gate printed. */
static void sign(const char *req, char tok[VF_GUARD_TEXT_MAX])
{
	char sum[VF_GUARD_SUMMARY_MAX], err[256];

	CHECK_EQ(vf_guard_approve(key_path, req, 3600 * VF_NS, vf_clock_now(),
				  tok, VF_GUARD_TEXT_MAX, sum, sizeof(sum),
				  err, sizeof(err)),
		 0);
}

/* Every operation refuses a caller with no role, and a Reader everything
 * that changes the vault; the settings stay as they were. */
static void roles(void)
{
	struct vf_vault *v = vt_fresh();
	struct vf_caller nobody = { .uid = 4321, .gid = 4321, .pid = 1 };
	struct vf_softdelete sd;
	struct vf_status st;
	struct vf_admin a;
	char err[256];

	if (!v)
		return;
	vf_admin_init(&a, &nobody, NULL);
	CHECK_EQ(vf_admin_status(v, &a, &st), -EACCES);
	CHECK(strstr(a.why, "needs the reader role (you have none)") != NULL);
	CHECK_EQ(vf_admin_softdelete_set(v, &a, VF_SD_OFF, 0, NULL), -EACCES);
	CHECK_EQ(vt_role_grant(v, 0, 4321, VF_ROLE_READER, err, sizeof(err)),
		 0);
	CHECK_EQ(vf_admin_status(v, &a, &st), 0);
	CHECK_EQ(vf_admin_softdelete_set(v, &a, VF_SD_OFF, 0, NULL), -EACCES);
	CHECK(strstr(a.why, "needs the contributor role") != NULL);
	CHECK_EQ(vf_admin_role_grant(v, &a, 0, 4321, VF_ROLE_OWNER, NULL),
		 -EACCES);
	CHECK_EQ(vf_vault_softdelete_get(v, &sd), 0);
	CHECK_EQ(sd.off, 0);
	CHECK_EQ(vf_vault_role_of(v, &nobody), VF_ROLE_READER);
	CHECK_EQ(vf_vault_close(v), 0);
}

/* Two settings changes at once, one of them weakening: with the guard
 * attached and no approval given, the weakening one must never pass.
 * Each round starts at keep-last L; one thread sets L + 2 (stronger), the
 * other L + 1 (stronger than L, weaker than L + 2).  Decided and done in
 * one lock scope, the round ends at L + 2 whatever the order: L + 1 is
 * either a change from L (then L + 2 follows) or a weakening of L + 2
 * (refused).  A front end that read L, then wrote L + 1 after the other
 * had written L + 2, would end a round at L + 1. */
struct racer {
	struct vf_vault *v;
	unsigned keep;
	pthread_barrier_t *go;
	int rc;
};

static void *race_one(void *arg)
{
	struct racer *r = arg;
	struct vf_retention p = { .keep_last = r->keep };
	struct vf_admin a = vt_admin(0);

	pthread_barrier_wait(r->go);
	r->rc = vf_admin_policy_set(r->v, &a, &p, VF_KEEP_LAST, NULL);
	return NULL;
}

static void race(void)
{
	struct vf_vault *v = vt_fresh();
	struct vf_retention p = { .keep_last = 10, .min_points = 3 }, got;
	pthread_barrier_t go;
	unsigned L = 10, round, refused = 0, bad = 0;
	char err[256];

	if (!v)
		return;
	CHECK_EQ(vt_policy_set(v, &p, err, sizeof(err)), 0);
	arm(v);
	pthread_barrier_init(&go, NULL, 2);
	for (round = 0; round < 200; round++) {
		struct racer hi = { v, L + 2, &go, 0 }, mid = { v, L + 1, &go, 0 };
		pthread_t t1, t2;

		pthread_create(&t1, NULL, race_one, &hi);
		pthread_create(&t2, NULL, race_one, &mid);
		pthread_join(t1, NULL);
		pthread_join(t2, NULL);
		CHECK_EQ(hi.rc, 0);
		CHECK(mid.rc == 0 || mid.rc == -EPERM);
		refused += mid.rc == -EPERM;
		CHECK_EQ(vf_vault_policy_get(v, &got), 0);
		if (got.keep_last != L + 2)
			bad++;
		L += 2;
	}
	pthread_barrier_destroy(&go);
	CHECK_EQ(bad, 0);
	fprintf(stderr, "race: %u of 200 weakenings came second and were refused\n",
		refused);
	CHECK_EQ(vf_vault_close(v), 0);
}

/* An approval binds the directory, not its path: approved to shorten
 * p/x (30 days), used after renames put another directory (q/x, forever)
 * at the path p/x, it is refused and the forever rule stays.  (The
 * attack raced such renames of a parent against the command.) */
static void binds_node(void)
{
	struct vf_vault *v = vt_fresh();
	struct vf_attr d;
	struct vf_imm_state got;
	struct vf_admin a;
	char tok[VF_GUARD_TEXT_MAX], err[256];
	uint64_t p, q;

	if (!v)
		return;
	CHECK_EQ(vf_vault_mkdir(v, &vt_root, VF_ROOT_INO, "p", 0755, &d), 0);
	p = d.ino;
	CHECK_EQ(vf_vault_mkdir(v, &vt_root, VF_ROOT_INO, "q", 0755, &d), 0);
	q = d.ino;
	CHECK_EQ(vf_vault_mkdir(v, &vt_root, p, "x", 0755, &d), 0);
	CHECK_EQ(vf_vault_mkdir(v, &vt_root, q, "x", 0755, &d), 0);
	CHECK_EQ(vt_immutable_set(v, "p/x", 1, 30, 0, 0, err, sizeof(err)), 0);
	CHECK_EQ(vt_immutable_set(v, "q/x", 0, 0, 0, 0, err, sizeof(err)), 0);
	arm(v);
	/* shortening p/x is critical: a request, bound to p/x's node */
	a = vt_admin(0);
	CHECK_EQ(vf_admin_immutable_set(v, &a, "p/x", 1, 1, 0, NULL), -EPERM);
	CHECK(!strncmp(a.request, "vfreq2:", 7));
	sign(a.request, tok);
	/* the parents change places: "p/x" is now the forever rule */
	CHECK_EQ(vf_vault_rename(v, &vt_root, VF_ROOT_INO, "p", VF_ROOT_INO,
				 "p2", 0), 0);
	CHECK_EQ(vf_vault_rename(v, &vt_root, VF_ROOT_INO, "q", VF_ROOT_INO,
				 "p", 0), 0);
	a = vt_admin(0);
	a.approval = tok;
	CHECK_EQ(vf_admin_immutable_set(v, &a, "p/x", 1, 1, 0, &got), -EPERM);
	CHECK(strstr(a.why, "other parameters") != NULL);
	/* the forever rule is intact; the approved one too (unused) */
	{
		struct vf_admin b = vt_admin(0);

		CHECK_EQ(vf_admin_immutable_set(v, &b, "p/x", 0, 0, 0, &got),
			 0);
		CHECK_EQ(got.days, 0);
		CHECK_EQ(vf_admin_immutable_set(v, &b, "p2/x", 0, 0, 0, &got),
			 0);
		CHECK_EQ(got.days, 30);
	}
	CHECK_EQ(vf_vault_close(v), 0);
}

/* A purge approved for one soft-deleted item purges nothing else: not an
 * item deleted later under the same name. */
static void binds_item(void)
{
	struct vf_vault *v = vt_fresh();
	struct vf_admin a;
	char tok[VF_GUARD_TEXT_MAX];
	uint64_t n = 0;
	char buf[64];

	if (!v)
		return;
	vt_put(v, VF_ROOT_INO, "scratch", "junk");
	CHECK_EQ(vf_vault_unlink(v, &vt_root, VF_ROOT_INO, "scratch"), 0);
	arm(v);
	a = vt_admin(0);
	CHECK_EQ(vf_admin_softdelete_purge(v, &a, "scratch", &n), -EPERM);
	sign(a.request, tok);
	/* "scratch" is undeleted, and something precious deleted under
	 * that name instead */
	CHECK_EQ(vf_vault_rename(v, &vt_root, vt_walk(v, VF_ROOT_INO,
						     ".softdeleted", NULL),
				 "scratch", VF_ROOT_INO, "junk", 0), 0);
	vt_put(v, VF_ROOT_INO, "scratch", "precious");
	CHECK_EQ(vf_vault_unlink(v, &vt_root, VF_ROOT_INO, "scratch"), 0);
	a = vt_admin(0);
	a.approval = tok;
	CHECK_EQ(vf_admin_softdelete_purge(v, &a, "scratch", &n), -EPERM);
	CHECK(strstr(a.why, "other parameters") != NULL);
	CHECK_EQ(n, 0);
	CHECK(!strcmp(vt_content(v, vt_walk(v, VF_ROOT_INO,
					    ".softdeleted/scratch", NULL),
				 buf),
		      "precious"));
	CHECK_EQ(vf_vault_close(v), 0);
}

/* Refused whoever approves: no approval is asked for or spent. */
static void no_needless_approval(void)
{
	struct vf_vault *v = vt_fresh();
	struct vf_admin a;
	char err[256];

	if (!v)
		return;
	CHECK_EQ(vt_softdelete_set(v, VF_SD_ALWAYS_ON, 0, 0, err, sizeof(err)),
		 0);
	arm(v);
	/* always-on final (73 hours on): off is refused, no request */
	a = vt_admin(vf_clock_now() + VF_COOLING_OFF + 3600 * VF_NS);
	CHECK_EQ(vf_admin_softdelete_set(v, &a, VF_SD_OFF, 0, NULL), -EPERM);
	CHECK_EQ(a.request[0], '\0');
	CHECK(strstr(a.why, "always-on") != NULL);
	/* pending: cancelling is critical and asks */
	a = vt_admin(0);
	CHECK_EQ(vf_admin_softdelete_set(v, &a, VF_SD_CANCEL, 0, NULL), -EPERM);
	CHECK(!strncmp(a.request, "vfreq2:", 7));
	CHECK_EQ(vf_vault_close(v), 0);
}

/* A change whose audit record cannot be written does not happen. */
static void audit_fails_closed(void)
{
	struct vf_vault *v = vt_fresh();
	struct vf_softdelete sd;
	char err[256];

	if (!v)
		return;
	CHECK_EQ(vf_vault_test_sql(v, "DROP TABLE audit"), 0);
	CHECK(vt_softdelete_set(v, VF_SD_DAYS, 30, 0, err, sizeof(err)) < 0);
	CHECK_EQ(vf_vault_softdelete_get(v, &sd), 0);
	CHECK_EQ(sd.days, VF_SOFTDELETE_DAYS);
	CHECK(vt_role_grant(v, 0, 77, VF_ROLE_READER, err, sizeof(err)) < 0);
	CHECK_EQ(vf_vault_close(v), 0);
}

/* Stop protection: the Owner only; stopped, every change is refused
 * whoever asks (root too), across a reopen; --delete walks a directory of
 * more than one batch and a nested one, keeps what an immutable directory
 * holds (and the directory), and resume brings writing back. */
static void protection(void)
{
	struct vf_vault *v = vt_fresh();
	struct vf_caller contrib = { .uid = 4400, .gid = 4400, .pid = 1 };
	struct vf_handle *h = NULL;
	struct vt_names names;
	struct vf_protect p;
	struct vf_admin a;
	struct vf_attr at;
	char err[256], name[32];
	uint64_t big, sub, keep, f1 = 0;
	int i;

	if (!v)
		return;
	CHECK_EQ(vt_role_grant(v, 0, 4400, VF_ROLE_CONTRIBUTOR, err,
			       sizeof(err)),
		 0);
	CHECK_EQ(vf_vault_mkdir(v, &vt_root, VF_ROOT_INO, "big", 0755, &at), 0);
	big = at.ino;
	CHECK_EQ(vf_vault_mkdir(v, &vt_root, big, "sub", 0755, &at), 0);
	sub = at.ino;
	CHECK_EQ(vf_vault_mkdir(v, &vt_root, VF_ROOT_INO, "keep", 0755, &at),
		 0);
	keep = at.ino;
	for (i = 0; i < 600; i++) {
		snprintf(name, sizeof(name), "f%03d", i);
		f1 = vt_put(v, big, name, "x");
	}
	vt_put(v, sub, "deep", "d");
	vt_put(v, keep, "k", "k");
	CHECK_EQ(vt_immutable_set(v, "keep", 0, 0, 0, 0, err, sizeof(err)), 0);

	vf_admin_init(&a, &contrib, NULL);
	CHECK_EQ(vf_admin_protection_stop(v, &a, VF_PROT_RETAIN, NULL), -EACCES);
	vf_admin_init(&a, &vt_root, NULL);
	CHECK_EQ(vf_admin_protection_stop(v, &a, VF_PROT_RETAIN, &p), 0);
	CHECK_EQ(p.state, VF_PROT_RETAIN);
	CHECK_EQ(vf_vault_mkdir(v, &vt_root, VF_ROOT_INO, "new", 0755, &at),
		 -EROFS);
	CHECK_EQ(vf_vault_unlink(v, &vt_root, big, "f000"), -EROFS);
	CHECK_EQ(vf_vault_rename(v, &vt_root, big, "f001", VF_ROOT_INO, "f",
				 0),
		 -EROFS);
	CHECK_EQ(vf_vault_open_file(v, &vt_root, f1, O_WRONLY, &h), -EROFS);
	CHECK_EQ(vf_vault_open_file(v, &vt_root, f1, O_RDONLY, &h), 0);
	CHECK_EQ(vf_vault_release(v, h), 0);
	v = vt_reopen(v);
	if (!v)
		return;
	CHECK_EQ(vf_vault_mkdir(v, &vt_root, VF_ROOT_INO, "new", 0755, &at),
		 -EROFS);
	vf_admin_init(&a, &contrib, NULL);
	CHECK_EQ(vf_admin_protection_resume(v, &a, NULL), -EACCES);
	CHECK_EQ(vf_admin_protection_stop(v, &a, VF_PROT_DELETE, NULL),
		 -EACCES);

	vf_admin_init(&a, &vt_root, NULL);
	CHECK_EQ(vf_admin_protection_stop(v, &a, VF_PROT_DELETE, &p), 0);
	CHECK_EQ(p.state, VF_PROT_DELETE);
	CHECK_EQ(p.pending, 0);
	CHECK_EQ(p.deleted, 601);
	CHECK_EQ(p.kept, 1);
	CHECK(!strcmp(vt_listing(v, VF_ROOT_INO, &names), "keep"));
	CHECK(vt_walk(v, VF_ROOT_INO, "keep/k", NULL) != 0);
	CHECK(vt_walk(v, VF_ROOT_INO, ".softdeleted/big/sub/deep", NULL) != 0);
	CHECK(vt_walk(v, VF_ROOT_INO, ".softdeleted/big/f599", NULL) != 0);
	CHECK_EQ(vf_admin_protection_stop(v, &a, VF_PROT_DELETE, NULL), -EINVAL);
	CHECK_EQ(vf_admin_protection_resume(v, &a, &p), 0);
	CHECK_EQ(p.state, VF_PROT_DELETE);
	CHECK_EQ(vf_vault_mkdir(v, &vt_root, VF_ROOT_INO, "new", 0755, &at), 0);
	CHECK_EQ(vf_admin_protection_resume(v, &a, NULL), -EINVAL);
	CHECK_EQ(vf_vault_close(v), 0);
}

int main(void)
{
	vt_setup("t-admin");
	RUN(roles);
	RUN(race);
	RUN(binds_node);
	RUN(binds_item);
	RUN(no_needless_approval);
	RUN(audit_fails_closed);
	RUN(protection);
	unlink(key_path);
	CHECK(vt_cleanup() == 0);
	return unit_exit();
}
