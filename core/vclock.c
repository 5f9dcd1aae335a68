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

#include "policy.h"
#include "vclock.h"

#define HWM_KEY "clock.hwm"

int64_t vf_vault_now(struct vf_vault *v)
{
	if (!v->clock_started)
		return vf_clock_now();
	return v->clock_v0 + (vf_clock_mono() - v->clock_mono0);
}

int64_t vf_vault_stamp(struct vf_vault *v)
{
	int64_t wall = vf_clock_now(), now = vf_vault_now(v);

	return wall > now ? wall : now;
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
