/*
 * policy.h - retention decisions as pure functions (no I/O, no clock:
 * "now" is an argument), so they can be checked against tables of cases.
 *
 * Retention of one file's recovery points follows the usual
 * grandfather-father-son rules (as restic's `forget` does): a version is
 * kept when any rule keeps it, and the newest min_points versions are kept
 * whatever the rules say, so a corrupt latest version is never the only
 * one (SPEC 3).  Buckets are UTC hours, days, ISO weeks (Monday first),
 * months and years; in each bucket the newest version represents it, and
 * the N newest buckets that hold a version are kept.
 *
 * This is the groundwork of issue 3 (prune); nothing calls it yet.
 */
#ifndef VF_POLICY_H
#define VF_POLICY_H

#include "common.h"

#define VF_POLICY_MIN_POINTS 3

struct vf_retention {
	unsigned keep_last;    /* the N newest */
	int64_t keep_within;   /* everything newer than now - this (ns) */
	unsigned keep_hourly, keep_daily, keep_weekly, keep_monthly,
		keep_yearly;
	unsigned min_points;   /* never fewer than this (>= 3) */
};

/* Decides, for versions at times t[0..n) sorted newest first, which ones
 * the policy keeps: keep[i] = 1 or 0.  A policy whose rules are all zero
 * keeps everything.  Returns the number kept, or -EINVAL when t is not
 * sorted newest first or min_points is below VF_POLICY_MIN_POINTS. */
VF_MUST int vf_policy_retain(const int64_t *t, size_t n,
			     const struct vf_retention *p, int64_t now,
			     uint8_t *keep);

#endif
