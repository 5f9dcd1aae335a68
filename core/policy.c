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
		     int64_t now, uint8_t *keep)
{
	const unsigned want[NBUCKETS] = { p->keep_hourly, p->keep_daily,
					  p->keep_weekly, p->keep_monthly,
					  p->keep_yearly };
	int any = p->keep_last || p->keep_within > 0;
	size_t i;
	int b, kept = 0;

	if (p->min_points < VF_POLICY_MIN_POINTS)
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
	for (i = 0; i < n; i++)
		kept += keep[i];
	return kept;
}
