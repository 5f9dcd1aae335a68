/*
 * t-policy.c - the retention function against tables of cases: which
 * versions each rule keeps, the minimum, buckets across day, ISO-week,
 * month and year boundaries, and refused input.
 */
#include "policy.h"
#include "unit.h"

#define MAXV 16

struct retain_case {
	const char *name;
	struct vf_retention p;
	const char *now;
	const char *times[MAXV]; /* newest first, NULL-terminated */
	const char *expect;      /* one '1'/'0' per version */
};

static const struct retain_case cases[] = {
	{ "no rules keep everything", { .min_points = 3 },
	  "2026-11-28T12:00:00Z",
	  { "2026-11-28T11:00:00Z", "2026-11-20T11:00:00Z",
	    "2025-01-01T00:00:00Z", "2020-01-01T00:00:00Z", NULL },
	  "1111" },
	{ "keep-last below the minimum keeps the minimum",
	  { .keep_last = 1, .min_points = 3 }, "2026-11-28T12:00:00Z",
	  { "2026-11-28T11:05:00Z", "2026-11-28T11:04:00Z",
	    "2026-11-28T11:03:00Z", "2026-11-28T11:02:00Z",
	    "2026-11-28T11:01:00Z", NULL },
	  "11100" },
	{ "keep-last 4", { .keep_last = 4, .min_points = 3 },
	  "2026-11-28T12:00:00Z",
	  { "2026-11-28T11:05:00Z", "2026-11-28T11:04:00Z",
	    "2026-11-28T11:03:00Z", "2026-11-28T11:02:00Z",
	    "2026-11-28T11:01:00Z", "2026-11-28T11:00:00Z", NULL },
	  "111100" },
	{ "minimum raised to 5", { .keep_last = 1, .min_points = 5 },
	  "2026-11-28T12:00:00Z",
	  { "2026-11-28T11:05:00Z", "2026-11-28T11:04:00Z",
	    "2026-11-28T11:03:00Z", "2026-11-28T11:02:00Z",
	    "2026-11-28T11:01:00Z", "2026-11-28T11:00:00Z", NULL },
	  "111110" },
	{ "keep-within keeps a burst of overwrites and what came before",
	  { .keep_within = 3600LL * 1000000000LL, .min_points = 3 },
	  "2026-11-28T12:00:00Z",
	  { "2026-11-28T11:59:00Z", "2026-11-28T11:58:00Z",
	    "2026-11-28T11:57:00Z", "2026-11-28T11:56:00Z",
	    "2026-11-28T11:00:00Z", "2026-11-28T10:59:59Z",
	    "2026-11-27T10:00:00Z", NULL },
	  "1111100" },
	{ "keep-daily takes the newest of each of the newest days",
	  { .keep_daily = 3, .min_points = 3 }, "2026-11-28T12:00:00Z",
	  { "2026-11-28T10:00:00Z", "2026-11-28T09:00:00Z",
	    "2026-11-28T08:00:00Z", "2026-11-28T07:00:00Z",
	    "2026-11-27T23:59:59Z", "2026-11-27T00:00:00Z",
	    "2026-11-25T12:00:00Z", "2026-11-24T12:00:00Z", NULL },
	  "11101010" },
	{ "keep-hourly across an hour boundary",
	  { .keep_hourly = 2, .min_points = 3 }, "2026-11-28T12:00:00Z",
	  { "2026-11-28T10:00:01Z", "2026-11-28T10:00:00Z",
	    "2026-11-28T09:59:59Z", "2026-11-28T09:30:00Z",
	    "2026-11-28T08:00:00Z", NULL },
	  "11100" },
	{ "keep-weekly: Sunday and Monday are different ISO weeks",
	  { .keep_weekly = 3, .min_points = 3 }, "2026-11-28T12:00:00Z",
	  { "2026-11-28T12:00:00Z", "2026-11-27T12:00:00Z",
	    "2026-11-26T12:00:00Z", "2026-11-23T00:00:00Z",
	    "2026-11-22T23:59:59Z", "2026-11-16T00:00:00Z",
	    "2026-11-15T12:00:00Z", NULL },
	  /* weeks Mon 23..Sat 28 [0-3], Mon 16..Sun 22 [4-5], 9..15 [6] */
	  "1110101" },
	{ "keep-monthly and keep-yearly together",
	  { .keep_monthly = 2, .keep_yearly = 3, .min_points = 3 },
	  "2026-11-28T12:00:00Z",
	  { "2026-11-28T12:00:00Z", "2026-11-27T12:00:00Z",
	    "2026-11-26T12:00:00Z", "2026-11-01T00:00:00Z",
	    "2026-10-31T23:59:59Z", "2026-10-01T00:00:00Z",
	    "2025-12-31T23:59:59Z", "2025-06-01T00:00:00Z",
	    "2024-02-29T12:00:00Z", "2023-01-01T00:00:00Z", NULL },
	  /* months: Nov [0], Oct [4]; years: 2026 [0], 2025 [6], 2024 [8] */
	  "1110101010" },
	{ "five overwrites, keep-last 3: the newest three stay",
	  { .keep_last = 3, .min_points = 3 }, "2026-11-28T12:00:00Z",
	  { "2026-11-28T11:00:05Z", "2026-11-28T11:00:04Z",
	    "2026-11-28T11:00:03Z", "2026-11-28T11:00:02Z",
	    "2026-11-28T11:00:01Z", NULL },
	  "11100" },
};

static void table(void)
{
	size_t c, i, n;

	for (c = 0; c < VF_ARRAY_LEN(cases); c++) {
		const struct retain_case *k = &cases[c];
		int64_t t[MAXV], now = 0;
		uint8_t keep[MAXV];
		char got[MAXV + 1];
		int rc, want = 0;

		for (n = 0; k->times[n]; n++)
			CHECK_EQ(vf_time_parse(k->times[n], &t[n]), 0);
		CHECK_EQ(vf_time_parse(k->now, &now), 0);
		rc = vf_policy_retain(t, n, &k->p, now, keep);
		for (i = 0; i < n; i++) {
			got[i] = keep[i] ? '1' : '0';
			want += k->expect[i] == '1';
		}
		got[n] = '\0';
		if (strcmp(got, k->expect) || rc != want) {
			fprintf(stderr, "case '%s': kept %s (%d), want %s\n",
				k->name, got, rc, k->expect);
			CHECK(0);
		}
	}
}

static void refused(void)
{
	struct vf_retention p = { .keep_last = 1, .min_points = 3 };
	int64_t t[3] = { 1, 2, 3 }; /* oldest first: wrong order */
	uint8_t keep[3];

	CHECK_EQ(vf_policy_retain(t, 3, &p, 10, keep), -EINVAL);
	p.min_points = 2;
	t[0] = 3;
	t[2] = 1;
	CHECK_EQ(vf_policy_retain(t, 3, &p, 10, keep), -EINVAL);
	p.min_points = 3;
	CHECK_EQ(vf_policy_retain(t, 3, &p, 10, keep), 3);
	CHECK_EQ(vf_policy_retain(t, 0, &p, 10, keep), 0);
}

int main(void)
{
	RUN(table);
	RUN(refused);
	return unit_exit();
}
