/*
 * vadmin.h - administrative changes as root through the gate (admin.h),
 * with the argument lists the engine tests were written against: err gets
 * the gate's one-line reason, now (0: the clock) lets a test say when.
 */
#ifndef VF_VADMIN_H
#define VF_VADMIN_H

#include <stdio.h>
#include <string.h>

#include "admin.h"

static const struct vf_caller vadmin_root = { .uid = 0, .pid = 1,
					      .umask = 022 };

/* A root request at time now (0: the clock); its reason goes to err. */
static inline struct vf_admin vt_admin(int64_t now)
{
	struct vf_admin a;

	vf_admin_init(&a, &vadmin_root, NULL);
	a.now = now;
	return a;
}

static inline int vt_said(const struct vf_admin *a, int rc, char *err,
			  size_t errlen)
{
	size_t n = strlen(a->why);

	if (err && errlen) {
		n = n < errlen ? n : errlen - 1;
		memcpy(err, a->why, n);
		err[n] = '\0';
	}
	return rc;
}

static inline int vt_role_grant(struct vf_vault *v, int is_group, uint32_t id,
				enum vf_role role, char *err, size_t errlen)
{
	struct vf_admin a = vt_admin(0);

	return vt_said(&a, vf_admin_role_grant(v, &a, is_group, id, role, NULL),
		       err, errlen);
}

static inline int vt_softdelete_set(struct vf_vault *v, enum vf_sd_change what,
				    unsigned days, int64_t now, char *err,
				    size_t errlen)
{
	struct vf_admin a = vt_admin(now);

	return vt_said(&a, vf_admin_softdelete_set(v, &a, what, days, NULL),
		       err, errlen);
}

static inline int vt_softdelete_purge(struct vf_vault *v, const char *path,
				      int64_t now, uint64_t *n, char *err,
				      size_t errlen)
{
	struct vf_admin a = vt_admin(now);

	return vt_said(&a, vf_admin_softdelete_purge(v, &a, path, n), err,
		       errlen);
}

static inline int vt_immutable_set(struct vf_vault *v, const char *path,
				   int have_days, unsigned days, int lock,
				   int64_t now, char *err, size_t errlen)
{
	struct vf_admin a = vt_admin(now);

	return vt_said(&a, vf_admin_immutable_set(v, &a, path, have_days, days,
						  lock, NULL),
		       err, errlen);
}

static inline int vt_immutable_clear(struct vf_vault *v, const char *path,
				     int unlock_only, int64_t now, char *err,
				     size_t errlen)
{
	struct vf_admin a = vt_admin(now);

	return vt_said(&a, vf_admin_immutable_clear(v, &a, path, unlock_only),
		       err, errlen);
}

/* on/lock as the old call spelled them: on 1 (lock: with the lock), on 0
 * (lock: cancel the pending lock; else off). */
static inline int vt_immutable_vault_set(struct vf_vault *v, int on, int lock,
					 int64_t now, char *err, size_t errlen)
{
	struct vf_admin a = vt_admin(now);
	enum vf_iv_change w = on ? (lock ? VF_IV_LOCK : VF_IV_ON) :
				   (lock ? VF_IV_CANCEL : VF_IV_OFF);

	return vt_said(&a, vf_admin_immutable_vault_set(v, &a, w, NULL), err,
		       errlen);
}

static inline int vt_policy_set(struct vf_vault *v, const struct vf_retention *p,
				char *err, size_t errlen)
{
	struct vf_admin a = vt_admin(0);

	return vt_said(&a, vf_admin_policy_set(v, &a, p, ~0u, NULL), err,
		       errlen);
}

/* 0 also when the key was attached already. */
static inline int vt_guard_attach(struct vf_vault *v, const char *pub,
				  const char *token, char *err, size_t errlen)
{
	struct vf_admin a = vt_admin(0);
	int rc;

	a.approval = token;
	rc = vf_admin_guard_attach(v, &a, &pub, 1, 1, NULL);
	return vt_said(&a, rc > 0 ? 0 : rc, err, errlen);
}

/* The same for n keys and a quorum. */
static inline int vt_guard_attach_set(struct vf_vault *v,
				      const char *const *keys, size_t n,
				      unsigned quorum, const char *token,
				      char *err, size_t errlen)
{
	struct vf_admin a = vt_admin(0);
	int rc;

	a.approval = token;
	rc = vf_admin_guard_attach(v, &a, keys, n, quorum, NULL);
	return vt_said(&a, rc > 0 ? 0 : rc, err, errlen);
}

static inline int vt_guard_detach(struct vf_vault *v, const char *token)
{
	struct vf_admin a = vt_admin(0);

	a.approval = token;
	return vf_admin_guard_detach(v, &a, NULL);
}

#endif
