/*
 * policy.c - retention as a pure function; see policy.h.
 */
#include <string.h>
#include <time.h>

#include "policy.h"

#define NS 1000000000LL

enum bucket { HOUR, DAY, WEEK, MONTH, YEAR, NBUCKETS };

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* The bucket a time falls in, as a number that grows with time. */
static int64_t bucket_of(int64_t t, enum bucket b)
{
	int64_t s = floor_div(t, NS), day = floor_div(s, 86400);
	struct tm tm;
	time_t tt = (time_t)s;

	switch (b) {
	case HOUR:
		return floor_div(s, 3600);
	case DAY:
		return day;
	case WEEK:
		/* 1970-01-01 was a Thursday; ISO weeks start on Monday. */
		return floor_div(day + 3, 7);
	case MONTH:
	case YEAR:
		gmtime_r(&tt, &tm);
		return b == YEAR ? tm.tm_year :
				   (int64_t)tm.tm_year * 12 + tm.tm_mon;
	default:
		return 0;
	}
}

int vf_policy_retain(const int64_t *t, size_t n, const struct vf_retention *p,
		     int64_t now, int64_t min_age, uint8_t *keep)
{
	const unsigned want[NBUCKETS] = { p->keep_hourly, p->keep_daily,
					  p->keep_weekly, p->keep_monthly,
					  p->keep_yearly };
	int any = p->keep_last || p->keep_within > 0;
	size_t i;
	int b, kept = 0;

	if (p->min_points < VF_POLICY_MIN_POINTS || min_age < 0)
		return -EINVAL;
	for (i = 1; i < n; i++)
		if (t[i] > t[i - 1])
			return -EINVAL;
	for (b = 0; b < NBUCKETS; b++)
		any |= want[b] != 0;
	for (i = 0; i < n; i++)
		keep[i] = !any || i < p->keep_last || i < p->min_points ||
			  (p->keep_within > 0 && t[i] >= now - p->keep_within);
	/* Newest first, so the first version seen in a bucket is the one
	 * that represents it. */
	for (b = 0; b < NBUCKETS; b++) {
		unsigned left = want[b];
		int64_t last = 0;
		int have = 0;

		for (i = 0; i < n && left; i++) {
			int64_t k = bucket_of(t[i], (enum bucket)b);

			if (have && k == last)
				continue;
			keep[i] = 1;
			last = k;
			have = 1;
			left--;
		}
	}
	/* The minimum age, counted from when a version stopped being the
	 * current one (t[i - 1]); now - min_age cannot overflow for the
	 * times and ages the vault uses (< 2^62 ns). */
	for (i = 1; i < n; i++)
		if (t[i - 1] > now - min_age)
			keep[i] = 1;
	for (i = 0; i < n; i++)
		kept += keep[i];
	return kept;
}

/* A policy without rules keeps everything. */
static int keeps_all(const struct vf_retention *p)
{
	return !p->keep_last && p->keep_within <= 0 && !p->keep_hourly &&
	       !p->keep_daily && !p->keep_weekly && !p->keep_monthly &&
	       !p->keep_yearly;
}

/* Each rule keeps more as its number grows and rules combine by union,
 * so b keeps a superset of what a keeps exactly when no number of b is
 * below a's.  Two exceptions: keep-last and the minimum are one rule
 * (both keep the newest N, N the larger of them), and a policy without
 * rules keeps everything however its minimum is set. */
int vf_policy_weaker(const struct vf_retention *a,
		     const struct vf_retention *b)
{
	unsigned last_a = a->keep_last > a->min_points ? a->keep_last :
							 a->min_points;
	unsigned last_b = b->keep_last > b->min_points ? b->keep_last :
							 b->min_points;
	int64_t within_a = a->keep_within > 0 ? a->keep_within : 0;
	int64_t within_b = b->keep_within > 0 ? b->keep_within : 0;

	if (keeps_all(b))
		return 0;
	if (keeps_all(a))
		return 1;
	return last_b < last_a || within_b < within_a ||
	       b->keep_hourly < a->keep_hourly ||
	       b->keep_daily < a->keep_daily ||
	       b->keep_weekly < a->keep_weekly ||
	       b->keep_monthly < a->keep_monthly ||
	       b->keep_yearly < a->keep_yearly;
}

int vf_policy_immutable(enum vf_imm_op op, const struct vf_imm_item *it,
			int64_t now)
{
	if (!it->inside)
		return 0;
	switch (op) {
	case VF_IMM_CREATE:
	case VF_IMM_TIMES:
		return 0;
	case VF_IMM_RENAME_INTO:
		/* another name outside would stay a way to change it */
		return it->multi_link ? -EPERM : 0;
	case VF_IMM_LINK:
		/* a second name is a way around the rule, whichever side it
		 * is on, sealed or not */
		return -EPERM;
	default:
		break;
	}
	if (!it->sealed)
		return 0;
	if (it->days && now >= it->sealed_at + (int64_t)it->days * 86400 * NS)
		return 0;
	return -EPERM;
}

int vf_policy_lock_allows(enum vf_lock_change what, int state)
{
	switch (what) {
	case VF_LOCK_EXTEND:
		return 0;
	case VF_LOCK_CANCEL:
		return state == 1 ? 0 : state == 2 ? -EPERM : -EINVAL;
	case VF_LOCK_SHORTEN:
	case VF_LOCK_CLEAR:
		return state == 2 ? -EPERM : 0;
	}
	return -EINVAL;
}
