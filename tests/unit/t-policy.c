/*
 * t-policy.c - the retention function against tables of cases: which
 * versions each rule keeps, the minimum, buckets across day, ISO-week,
 * month and year boundaries, and refused input; "is policy b weaker than
 * a" against a table and, as a property, against the retention function.
 */
#include "policy.h"

#define NS_PER_S VF_NS
#include "unit.h"

#define MAXV 16

struct retain_case {
	const char *name;
	struct vf_retention p;
	const char *now;
	const char *times[MAXV]; /* newest first, NULL-terminated */
	const char *expect;      /* one '1'/'0' per version */
	int64_t min_age;         /* ns; 0 in most cases */
};

#define DAY (86400LL * 1000000000LL)

static const struct retain_case cases[] = {
	{ "no rules keep everything", { .min_points = 3 },
	  "2026-11-28T12:00:00Z",
	  { "2026-11-28T11:00:00Z", "2026-11-20T11:00:00Z",
	    "2025-01-01T00:00:00Z", "2020-01-01T00:00:00Z", NULL },
	  "1111", 0 },
	{ "keep-last below the minimum keeps the minimum",
	  { .keep_last = 1, .min_points = 3 }, "2026-11-28T12:00:00Z",
	  { "2026-11-28T11:05:00Z", "2026-11-28T11:04:00Z",
	    "2026-11-28T11:03:00Z", "2026-11-28T11:02:00Z",
	    "2026-11-28T11:01:00Z", NULL },
	  "11100", 0 },
	{ "keep-last 4", { .keep_last = 4, .min_points = 3 },
	  "2026-11-28T12:00:00Z",
	  { "2026-11-28T11:05:00Z", "2026-11-28T11:04:00Z",
	    "2026-11-28T11:03:00Z", "2026-11-28T11:02:00Z",
	    "2026-11-28T11:01:00Z", "2026-11-28T11:00:00Z", NULL },
	  "111100", 0 },
	{ "minimum raised to 5", { .keep_last = 1, .min_points = 5 },
	  "2026-11-28T12:00:00Z",
	  { "2026-11-28T11:05:00Z", "2026-11-28T11:04:00Z",
	    "2026-11-28T11:03:00Z", "2026-11-28T11:02:00Z",
	    "2026-11-28T11:01:00Z", "2026-11-28T11:00:00Z", NULL },
	  "111110", 0 },
	{ "keep-within keeps a burst of overwrites and what came before",
	  { .keep_within = 3600LL * 1000000000LL, .min_points = 3 },
	  "2026-11-28T12:00:00Z",
	  { "2026-11-28T11:59:00Z", "2026-11-28T11:58:00Z",
	    "2026-11-28T11:57:00Z", "2026-11-28T11:56:00Z",
	    "2026-11-28T11:00:00Z", "2026-11-28T10:59:59Z",
	    "2026-11-27T10:00:00Z", NULL },
	  "1111100", 0 },
	{ "keep-daily takes the newest of each of the newest days",
	  { .keep_daily = 3, .min_points = 3 }, "2026-11-28T12:00:00Z",
	  { "2026-11-28T10:00:00Z", "2026-11-28T09:00:00Z",
	    "2026-11-28T08:00:00Z", "2026-11-28T07:00:00Z",
	    "2026-11-27T23:59:59Z", "2026-11-27T00:00:00Z",
	    "2026-11-25T12:00:00Z", "2026-11-24T12:00:00Z", NULL },
	  "11101010", 0 },
	{ "keep-hourly across an hour boundary",
	  { .keep_hourly = 2, .min_points = 3 }, "2026-11-28T12:00:00Z",
	  { "2026-11-28T10:00:01Z", "2026-11-28T10:00:00Z",
	    "2026-11-28T09:59:59Z", "2026-11-28T09:30:00Z",
	    "2026-11-28T08:00:00Z", NULL },
	  "11100", 0 },
	{ "keep-weekly: Sunday and Monday are different ISO weeks",
	  { .keep_weekly = 3, .min_points = 3 }, "2026-11-28T12:00:00Z",
	  { "2026-11-28T12:00:00Z", "2026-11-27T12:00:00Z",
	    "2026-11-26T12:00:00Z", "2026-11-23T00:00:00Z",
	    "2026-11-22T23:59:59Z", "2026-11-16T00:00:00Z",
	    "2026-11-15T12:00:00Z", NULL },
	  /* weeks Mon 23..Sat 28 [0-3], Mon 16..Sun 22 [4-5], 9..15 [6] */
	  "1110101", 0 },
	{ "keep-monthly and keep-yearly together",
	  { .keep_monthly = 2, .keep_yearly = 3, .min_points = 3 },
	  "2026-11-28T12:00:00Z",
	  { "2026-11-28T12:00:00Z", "2026-11-27T12:00:00Z",
	    "2026-11-26T12:00:00Z", "2026-11-01T00:00:00Z",
	    "2026-10-31T23:59:59Z", "2026-10-01T00:00:00Z",
	    "2025-12-31T23:59:59Z", "2025-06-01T00:00:00Z",
	    "2024-02-29T12:00:00Z", "2023-01-01T00:00:00Z", NULL },
	  /* months: Nov [0], Oct [4]; years: 2026 [0], 2025 [6], 2024 [8] */
	  "1110101010", 0 },
	{ "five overwrites, keep-last 3: the newest three stay",
	  { .keep_last = 3, .min_points = 3 }, "2026-11-28T12:00:00Z",
	  { "2026-11-28T11:00:05Z", "2026-11-28T11:00:04Z",
	    "2026-11-28T11:00:03Z", "2026-11-28T11:00:02Z",
	    "2026-11-28T11:00:01Z", NULL },
	  "11100", 0 },
	/* The minimum age (prune passes the soft-delete retention): an
	 * Operator overwriting a file cannot push its recovery points out
	 * before a deletion would be purged. */
	{ "min age: four overwrites just now keep every earlier version",
	  { .keep_last = 3, .keep_daily = 7, .min_points = 3 },
	  "2026-11-28T12:00:00Z",
	  { "2026-11-28T11:59:04Z", "2026-11-28T11:59:03Z",
	    "2026-11-28T11:59:02Z", "2026-11-28T11:59:01Z",
	    "2026-10-01T00:00:00Z", "2026-09-01T00:00:00Z", NULL },
	  "111111", 14 * DAY },
	{ "min age counts from the replacement, not the creation",
	  { .keep_last = 1, .min_points = 3 }, "2026-11-28T12:00:00Z",
	  { "2026-11-28T11:00:00Z", "2026-11-27T11:00:00Z",
	    "2026-11-26T11:00:00Z", "2026-11-15T00:00:00Z",
	    "2026-11-14T11:59:59Z", "2026-11-14T11:00:00Z",
	    "2026-01-01T00:00:00Z", NULL },
	  /* [4] replaced at [3], 13.5 days ago: kept; [5] replaced at [4],
	   * 14 days and 1 s ago: dropped; [6] too */
	  "1111100", 14 * DAY },
	{ "min age at the boundary: replaced exactly 14 days ago goes",
	  { .keep_last = 1, .min_points = 3 }, "2026-11-28T12:00:00Z",
	  { "2026-11-28T11:00:00Z", "2026-11-27T11:00:00Z",
	    "2026-11-14T12:00:00Z", "2026-11-14T11:00:00Z",
	    "2026-11-01T00:00:00Z", NULL },
	  "11100", 14 * DAY },
	{ "min age and no rules: everything, as before",
	  { .min_points = 3 }, "2026-11-28T12:00:00Z",
	  { "2026-11-28T11:00:00Z", "2020-01-01T00:00:00Z",
	    "2019-01-01T00:00:00Z", "2018-01-01T00:00:00Z", NULL },
	  "1111", 14 * DAY },
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
		rc = vf_policy_retain(t, n, &k->p, now, k->min_age, keep);
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

	CHECK_EQ(vf_policy_retain(t, 3, &p, 10, 0, keep), -EINVAL);
	p.min_points = 2;
	t[0] = 3;
	t[2] = 1;
	CHECK_EQ(vf_policy_retain(t, 3, &p, 10, 0, keep), -EINVAL);
	p.min_points = 3;
	CHECK_EQ(vf_policy_retain(t, 3, &p, 10, 0, keep), 3);
	CHECK_EQ(vf_policy_retain(t, 0, &p, 10, 0, keep), 0);
	CHECK_EQ(vf_policy_retain(t, 3, &p, 10, -1, keep), -EINVAL);
}

#define H (3600LL * 1000000000LL)

struct weaker_case {
	const char *name;
	struct vf_retention a, b;
	int expect; /* vf_policy_weaker(a, b) */
};

static const struct weaker_case weaker_cases[] = {
	{ "same policy", { .keep_last = 5, .keep_daily = 7, .min_points = 3 },
	  { .keep_last = 5, .keep_daily = 7, .min_points = 3 }, 0 },
	{ "keep-last lowered", { .keep_last = 5, .min_points = 3 },
	  { .keep_last = 4, .min_points = 3 }, 1 },
	{ "keep-last raised", { .keep_last = 5, .min_points = 3 },
	  { .keep_last = 6, .min_points = 3 }, 0 },
	{ "keep-last moved into the minimum",
	  { .keep_last = 5, .min_points = 3 },
	  { .keep_last = 1, .min_points = 5 }, 0 },
	{ "minimum lowered under keep-last",
	  { .keep_last = 5, .min_points = 5 },
	  { .keep_last = 5, .min_points = 3 }, 0 },
	{ "minimum lowered", { .keep_daily = 5, .min_points = 5 },
	  { .keep_daily = 5, .min_points = 4 }, 1 },
	{ "keep-within shortened", { .keep_within = 2 * H, .min_points = 3 },
	  { .keep_within = H, .min_points = 3 }, 1 },
	{ "keep-within lengthened", { .keep_within = H, .min_points = 3 },
	  { .keep_within = 2 * H, .min_points = 3 }, 0 },
	{ "a rule dropped", { .keep_daily = 7, .keep_weekly = 4,
			      .min_points = 3 },
	  { .keep_daily = 7, .min_points = 3 }, 1 },
	{ "a rule added", { .keep_daily = 7, .min_points = 3 },
	  { .keep_daily = 7, .keep_yearly = 2, .min_points = 3 }, 0 },
	{ "each bucket rule lowered: hourly",
	  { .keep_hourly = 24, .min_points = 3 },
	  { .keep_hourly = 23, .min_points = 3 }, 1 },
	{ "monthly", { .keep_monthly = 12, .min_points = 3 },
	  { .keep_monthly = 11, .min_points = 3 }, 1 },
	{ "yearly", { .keep_yearly = 3, .keep_weekly = 1, .min_points = 3 },
	  { .keep_yearly = 2, .keep_weekly = 9, .min_points = 3 }, 1 },
	{ "keep everything -> any rule", { .min_points = 3 },
	  { .keep_yearly = 1000000, .min_points = 3 }, 1 },
	{ "any rule -> keep everything",
	  { .keep_last = 100, .keep_daily = 30, .min_points = 10 },
	  { .min_points = 3 }, 0 },
	{ "keep everything, minimum lowered", { .min_points = 9 },
	  { .min_points = 3 }, 0 },
	{ "fails closed: a finer rule covering a coarser one",
	  { .keep_daily = 5, .min_points = 3 },
	  { .keep_daily = 4, .keep_hourly = 1000, .min_points = 3 }, 1 },
};

static void weaker_table(void)
{
	size_t c;

	for (c = 0; c < VF_ARRAY_LEN(weaker_cases); c++) {
		const struct weaker_case *k = &weaker_cases[c];
		int got = vf_policy_weaker(&k->a, &k->b);

		if (got != k->expect) {
			fprintf(stderr, "case '%s': weaker %d, want %d\n",
				k->name, got, k->expect);
			CHECK(0);
		}
	}
}

static uint64_t rnd_state = 7;
static unsigned rnd(unsigned n)
{
	rnd_state = rnd_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned)((rnd_state >> 33) % n);
}

static void rnd_policy(struct vf_retention *p)
{
	memset(p, 0, sizeof(*p));
	p->min_points = 3 + (rnd(3) ? 0 : rnd(4));
	/* each rule absent half the time, small when present */
	if (rnd(2))
		p->keep_last = rnd(8);
	if (rnd(2))
		p->keep_within = (int64_t)rnd(72) * H;
	if (rnd(2))
		p->keep_hourly = rnd(6);
	if (rnd(2))
		p->keep_daily = rnd(6);
	if (rnd(2))
		p->keep_weekly = rnd(4);
	if (rnd(2))
		p->keep_monthly = rnd(4);
	if (rnd(2))
		p->keep_yearly = rnd(3);
}

/* The property the immutable vault relies on: when b is not weaker than
 * a, b keeps every version a keeps, over random histories. */
static void weaker_property(void)
{
	int64_t now, t[64];
	uint8_t ka[64], kb[64];
	int round, not_weaker = 0;
	size_t n, i;

	CHECK_EQ(vf_time_parse("2026-11-28T12:00:00Z", &now), 0);
	for (round = 0; round < 20000; round++) {
		struct vf_retention a, b;

		rnd_policy(&a);
		if (rnd(3) == 0) {
			/* b derived from a by raising things, often not
			 * weaker */
			b = a;
			b.keep_last += rnd(3);
			b.keep_daily += rnd(2);
			b.keep_within += (int64_t)rnd(3) * H;
		} else {
			rnd_policy(&b);
		}
		n = 1 + rnd(64);
		t[0] = now - (int64_t)rnd(48) * H;
		for (i = 1; i < n; i++)
			t[i] = t[i - 1] - (int64_t)rnd(rnd(2) ? 4 : 24 * 40) *
						   H / 2;
		CHECK_EQ(vf_policy_retain(t, n, &a, now, 0, ka) >= 0, 1);
		CHECK_EQ(vf_policy_retain(t, n, &b, now, 0, kb) >= 0, 1);
		if (vf_policy_weaker(&a, &b))
			continue;
		not_weaker++;
		for (i = 0; i < n; i++)
			if (ka[i] && !kb[i]) {
				fprintf(stderr, "round %d: b drops version %zu "
					"that a keeps, yet is not weaker\n",
					round, i);
				CHECK(0);
				break;
			}
	}
	/* the property was exercised */
	CHECK(not_weaker > 1000);
}

/* Immutability: every operation x {inside, outside} x {sealed, a new file
 * still open} x {within, past the retention} x {locked, unlocked} x {one
 * name, more names}.  What each operation does to a sealed item inside,
 * within its retention, is the table below (SPEC 5); everything outside is
 * allowed; a lock changes nothing for these operations (it only guards
 * the rule itself: lock_table). */
static const struct {
	enum vf_imm_op op;
	int sealed_within; /* refused for a sealed item within retention */
	int always;        /* refused inside whatever the item's state */
	int multi_only;    /* refused inside only when it has more names */
} imm_ops[] = {
	{ VF_IMM_UNLINK, 1, 0, 0 },      { VF_IMM_RENAME_FROM, 1, 0, 0 },
	{ VF_IMM_RENAME_OVER, 1, 0, 0 }, { VF_IMM_RENAME_INTO, 0, 0, 1 },
	{ VF_IMM_TRUNCATE, 1, 0, 0 },    { VF_IMM_WRITE, 1, 0, 0 },
	{ VF_IMM_PUNCH, 1, 0, 0 },       { VF_IMM_CHMOD, 1, 0, 0 },
	{ VF_IMM_TIMES, 0, 0, 0 },       { VF_IMM_XATTR, 1, 0, 0 },
	{ VF_IMM_LINK, 1, 1, 0 },        { VF_IMM_CREATE, 0, 0, 0 },
};

static void immutable_table(void)
{
	const int64_t day = 86400 * NS_PER_S, sealed_at = 1000 * day;
	size_t i;
	int inside, sealed, past, locked, multi, n = 0;

	CHECK_EQ(VF_ARRAY_LEN(imm_ops), VF_IMM_OP_COUNT);
	for (i = 0; i < VF_ARRAY_LEN(imm_ops); i++)
		for (inside = 0; inside < 2; inside++)
			for (sealed = 0; sealed < 2; sealed++)
				for (past = 0; past < 2; past++)
					for (locked = 0; locked < 2; locked++)
						for (multi = 0; multi < 2;
						     multi++) {
		struct vf_imm_item it = {
			.inside = inside,
			.sealed = sealed,
			.sealed_at = sealed_at,
			.days = 30,
			.multi_link = multi,
		};
		int64_t now = sealed_at + (past ? 31 : 29) * day;
		int want = inside &&
			   (imm_ops[i].always ||
			    (imm_ops[i].multi_only && multi) ||
			    (imm_ops[i].sealed_within && sealed && !past));
		int got = vf_policy_immutable(imm_ops[i].op, &it, now);

		(void)locked; /* the same verdict locked or not */
		if (got != (want ? -EPERM : 0)) {
			fprintf(stderr, "op %d inside %d sealed %d past %d "
				"multi %d: got %d\n", (int)imm_ops[i].op,
				inside, sealed, past, multi, got);
			CHECK(0);
		}
		n++;
	}
	CHECK_EQ(n, VF_IMM_OP_COUNT * 32);
	/* days 0 is forever */
	{
		struct vf_imm_item it = { .inside = 1, .sealed = 1 };

		CHECK_EQ(vf_policy_immutable(VF_IMM_UNLINK, &it,
					     INT64_MAX / 2), -EPERM);
	}
}

static void lock_table(void)
{
	static const struct {
		enum vf_lock_change what;
		int state, want;
	} t[] = {
		{ VF_LOCK_EXTEND, 0, 0 },      { VF_LOCK_EXTEND, 1, 0 },
		{ VF_LOCK_EXTEND, 2, 0 },      { VF_LOCK_SHORTEN, 0, 0 },
		{ VF_LOCK_SHORTEN, 1, 0 },     { VF_LOCK_SHORTEN, 2, -EPERM },
		{ VF_LOCK_CLEAR, 0, 0 },       { VF_LOCK_CLEAR, 1, 0 },
		{ VF_LOCK_CLEAR, 2, -EPERM },  { VF_LOCK_CANCEL, 0, -EINVAL },
		{ VF_LOCK_CANCEL, 1, 0 },      { VF_LOCK_CANCEL, 2, -EPERM },
	};
	size_t i;

	for (i = 0; i < VF_ARRAY_LEN(t); i++)
		CHECK_EQ(vf_policy_lock_allows(t[i].what, t[i].state),
			 t[i].want);
	CHECK_EQ(vf_policy_lock_state(0, 5), 0);
	CHECK_EQ(vf_policy_lock_state(10, 5), 1);
	CHECK_EQ(vf_policy_lock_state(10, 10), 2);
	CHECK_EQ(vf_policy_lock_state(10, 11), 2);
}

/* Times out of the 64-bit ns range are refused, not wrapped. */
static void time_range(void)
{
	int64_t t;

	CHECK_EQ(vf_time_parse("2999-01-01T00:00:00Z", &t), -EINVAL);
	CHECK_EQ(vf_time_parse("1600-01-01T00:00:00Z", &t), -EINVAL);
	CHECK_EQ(vf_time_parse("2262-01-01T00:00:00Z", &t), 0);
	CHECK(t > 0);
	CHECK_EQ(vf_time_parse("2026-11-28T20:13:07.5Z", &t), 0);
	CHECK_EQ(t % NS_PER_S, NS_PER_S / 2);
}

int main(void)
{
	RUN(table);
	RUN(refused);
	RUN(weaker_table);
	RUN(weaker_property);
	RUN(immutable_table);
	RUN(lock_table);
	RUN(time_range);
	return unit_exit();
}
