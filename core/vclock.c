/*
 * vclock.c - the vault clock (vclock.h has the model).
 *
 * Invariants:
 * - vf_vault_now never decreases while the vault is open (CLOCK_MONOTONIC)
 *   and never starts below the saved mark (vf_policy_clock_start).
 * - The mark saved is only ever a vault time, never a stamp: a wall clock
 *   set ahead moves stamps, not the mark.
 */
#include <time.h>

#include "objstore.h"
#include "policy.h"
#include "vclock.h"

#define HWM_KEY "clock.hwm"

/* The store's time, when a remote vault is being shipped and the store
 * has answered. */
static int store_now(struct vf_vault *v, int64_t *t)
{
	struct vf_objstore *st =
		__atomic_load_n(&v->clock_store, __ATOMIC_ACQUIRE);

	if (!st || !st->ops->store_time)
		return -ENOENT;
	return st->ops->store_time(st, t);
}

static int64_t own_now(struct vf_vault *v)
{
	if (!v->clock_started)
		return vf_clock_now();
	return v->clock_v0 + (vf_clock_mono() - v->clock_mono0);
}

int64_t vf_vault_now(struct vf_vault *v)
{
	int64_t now = own_now(v), st;
	int d;

	/* a remote vault decides on the earlier of its clock and the
	 * store's: a host clock moved ahead frees nothing early */
	if (store_now(v, &st) == 0)
		return vf_policy_decide_time(now, st, VF_VCLOCK_STORE_TOL, &d);
	return now;
}

int64_t vf_vault_stamp(struct vf_vault *v)
{
	int64_t wall = vf_clock_now(), now = own_now(v), st;
	int d;

	if (wall > now)
		now = wall;
	/* and stamps within the tolerance of the store's time: neither
	 * in the past nor in the future of what the store says */
	if (store_now(v, &st) == 0)
		now = vf_policy_stamp_time(now, st, VF_VCLOCK_STORE_TOL, &d);
	return now;
}

int vf_vclock_store_skew(struct vf_vault *v, int64_t *skew)
{
	int64_t wall = vf_clock_now(), now = own_now(v), st;
	int rc = store_now(v, &st);

	if (rc)
		return rc;
	*skew = (wall > now ? wall : now) - st;
	return 0;
}

int vf_vclock_start(struct vf_vault *v, int64_t *skew)
{
	int64_t hwm = 0, wall;
	int rc;

	vf_vault_lock(v);
	rc = vf_catalog_meta_get(v->cat, HWM_KEY, &hwm);
	vf_vault_unlock(v);
	/* a vault from before the vault clock has no mark: the wall clock */
	if (rc == -ENOENT)
		rc = 0;
	if (rc)
		return rc;
	wall = vf_clock_now();
	v->clock_mono0 = vf_clock_mono();
	v->clock_v0 = vf_policy_clock_start(hwm, wall, VF_VCLOCK_CREDIT, skew);
	v->clock_saved = hwm;
	v->clock_started = 1;
	return 0;
}

int vf_vclock_save(struct vf_vault *v, int all)
{
	int64_t now;
	int rc;

	if (v->readonly || !v->cat || !v->clock_started)
		return 0;
	now = vf_vault_now(v);
	if (now <= v->clock_saved ||
	    (!all && now - v->clock_saved < VF_VCLOCK_SAVE_EVERY))
		return 0;
	rc = vf_catalog_meta_set(v->cat, HWM_KEY, now);
	if (!rc)
		v->clock_saved = now;
	return rc;
}
