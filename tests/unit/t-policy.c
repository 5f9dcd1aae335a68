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
 * within its retention, is the table below; everything outside is
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

/* A writer's allowances in an immutable tree (rsync, cp -a): which names
 * are temporary, and what the creator, the owner, root or anyone else may
 * do to a sealed item, within and after the grace. */
static void temp_name_table(void)
{
	static const struct {
		const char *name;
		int want;
	} t[] = {
		{ ".a.txt.AbC123", 1 }, { ".a.Qz7Wk2", 1 },
		{ ".l2.821", 2 },       { ".x.123456", 2 },
		{ ".a.txt.AbC12", 0 },  { ".a.txt.AbC1234", 0 },
		{ "a.txt.AbC123", 0 },  { "..AbC123", 0 },
		{ ".a.txt.Ab-123", 0 }, { ".bashrc.bak", 0 },
		{ ".l2.1234567", 0 },   { ".AbC123", 0 },
		{ ".a.", 0 },           { "", 0 },
	};
	size_t i;

	for (i = 0; i < VF_ARRAY_LEN(t); i++) {
		if (vf_policy_temp_name(t[i].name) != t[i].want)
			fprintf(stderr, "temp name '%s'\n", t[i].name);
		CHECK_EQ(vf_policy_temp_name(t[i].name), t[i].want);
	}
}

static void writer_table(void)
{
	const int64_t at = 1000 * 86400 * NS_PER_S, g = VF_POLICY_IMM_GRACE_S;
	/* who: 0 writer, 1 owner, 2 root, 3 anyone else; the verdict for
	 * temp name 0/1/2 x one/more names, within/after the grace */
	static const struct {
		enum vf_imm_op op;
		int who, temp, multi, late, want;
	} t[] = {
		/* metadata just after the close: the writer only */
		{ VF_IMM_CHMOD, 0, 0, 0, 0, 0 },
		{ VF_IMM_CHMOD, 0, 0, 0, 2, -EPERM }, /* rule set later */
		{ VF_IMM_XATTR, 0, 0, 0, 0, 0 },
		{ VF_IMM_CHMOD, 0, 0, 0, 1, -EPERM },
		{ VF_IMM_CHMOD, 1, 0, 0, 0, -EPERM },
		{ VF_IMM_CHMOD, 2, 0, 0, 0, -EPERM },
		{ VF_IMM_CHMOD, 3, 0, 0, 0, -EPERM },
		/* the grace never covers content or names */
		{ VF_IMM_WRITE, 0, 0, 0, 0, -EPERM },
		{ VF_IMM_TRUNCATE, 0, 0, 0, 0, -EPERM },
		{ VF_IMM_PUNCH, 0, 0, 0, 0, -EPERM },
		{ VF_IMM_UNLINK, 0, 0, 0, 0, -EPERM },
		{ VF_IMM_RENAME_FROM, 0, 0, 0, 0, -EPERM },
		{ VF_IMM_RENAME_OVER, 0, 0, 0, 0, -EPERM },
		/* a temporary file: renamed or removed by writer, owner, root */
		{ VF_IMM_RENAME_FROM, 0, 1, 0, 1, 0 },
		{ VF_IMM_UNLINK, 1, 1, 0, 1, 0 },
		{ VF_IMM_UNLINK, 2, 1, 0, 1, 0 },
		{ VF_IMM_CHMOD, 1, 1, 0, 1, 0 },
		{ VF_IMM_UNLINK, 3, 1, 0, 0, -EPERM },
		{ VF_IMM_RENAME_FROM, 3, 1, 0, 0, -EPERM },
		{ VF_IMM_WRITE, 0, 1, 0, 0, -EPERM },
		{ VF_IMM_TRUNCATE, 1, 1, 0, 0, -EPERM },
		{ VF_IMM_RENAME_OVER, 0, 1, 0, 0, -EPERM },
		/* a temporary file with other names: the name may go only */
		{ VF_IMM_UNLINK, 3, 1, 1, 1, 0 },
		{ VF_IMM_UNLINK, 3, 2, 1, 1, 0 },
		{ VF_IMM_CHMOD, 0, 1, 1, 1, -EPERM },
		{ VF_IMM_RENAME_FROM, 0, 1, 1, 0, -EPERM },
		/* a link-form name alone is an ordinary name */
		{ VF_IMM_UNLINK, 0, 2, 0, 0, -EPERM },
		{ VF_IMM_RENAME_FROM, 1, 2, 0, 1, -EPERM },
	};
	size_t i;

	for (i = 0; i < VF_ARRAY_LEN(t); i++) {
		struct vf_imm_item it = {
			.inside = 1,
			.sealed = 1,
			.sealed_at = at,
			.temp_name = t[i].temp,
			.multi_link = t[i].multi,
			.by_writer = t[i].who == 0,
			.by_owner = t[i].who == 1,
			.by_root = t[i].who == 2,
			/* late 2: sealed before the rule was set */
			.rule_set_at = t[i].late == 2 ? at + 1 : at,
		};
		int64_t now = at + (t[i].late == 1 ? g : g - 1) * NS_PER_S;
		int got = vf_policy_immutable(t[i].op, &it, now);

		if (got != t[i].want)
			fprintf(stderr, "row %zu: got %d\n", i, got);
		CHECK_EQ(got, t[i].want);
		/* outside a tree, or past the retention, all is allowed */
		it.inside = 0;
		CHECK_EQ(vf_policy_immutable(t[i].op, &it, now), 0);
	}
	/* hard links: only with both names under the same protection */
	{
		struct vf_imm_item it = { .inside = 1, .sealed = 1 };

		CHECK_EQ(vf_policy_immutable(VF_IMM_LINK, &it, at), -EPERM);
		it.link_within = 1;
		CHECK_EQ(vf_policy_immutable(VF_IMM_LINK, &it, at), 0);
	}
}

/* df and the quota: used is the vault, size what it may grow to. */
static void df_table(void)
{
	static const struct {
		uint64_t used, disk_free, quota, size, avail;
	} t[] = {
		{ 100, 900, 0, 1000, 900 },      /* the disk decides */
		{ 100, 900, 500, 500, 400 },     /* the quota decides */
		{ 100, 300, 500, 400, 300 },     /* the disk is smaller */
		{ 600, 900, 500, 600, 0 },       /* past the quota */
		{ 0, 0, 0, 0, 0 },
		{ UINT64_MAX, 10, 0, UINT64_MAX, 10 },
	};
	static const struct {
		uint64_t quota, used, size;
		int want;
	} q[] = {
		{ 0, UINT64_MAX, UINT64_MAX, 0 }, { 500, 100, 400, 0 },
		{ 500, 100, 401, -ENOSPC },       { 500, 600, 0, -ENOSPC },
		{ 500, 500, 0, 0 },               { 500, 0, UINT64_MAX, -ENOSPC },
	};
	size_t i;

	for (i = 0; i < VF_ARRAY_LEN(t); i++) {
		uint64_t size = 1, avail = 1;

		vf_policy_df(t[i].used, t[i].disk_free, t[i].quota, &size,
			     &avail);
		CHECK_EQ(size, t[i].size);
		CHECK_EQ(avail, t[i].avail);
	}
	for (i = 0; i < VF_ARRAY_LEN(q); i++)
		CHECK_EQ(vf_policy_quota_allows(q[i].quota, q[i].used,
						q[i].size), q[i].want);
	/* VACUUM only for a quarter of free pages, and at least 4 MiB */
	CHECK_EQ(vf_policy_catalog_vacuum(8192, 2048), 1);
	CHECK_EQ(vf_policy_catalog_vacuum(8192, 2047), 0);
	CHECK_EQ(vf_policy_catalog_vacuum(2000, 1023), 0);
	CHECK_EQ(vf_policy_catalog_vacuum(1024, 1024), 1);
	CHECK_EQ(vf_policy_catalog_vacuum(0, 0), 0);
	CHECK_EQ(vf_policy_catalog_vacuum(100, 5000), 0); /* nonsense */
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

/* The vault clock at open: the wall clock counts only between the mark
 * and the mark plus the credit; a clock behind the mark counts nothing and
 * a far-future one no more than the credit. */
static void clock_table(void)
{
	static const struct {
		int64_t hwm, wall, credit, want, skew;
	} t[] = {
		/* no mark: a new vault starts at the wall clock */
		{ 0, 5000, 60, 5000, 0 },
		/* downtime within the credit counts in full */
		{ 1000, 1000, 60, 1000, 0 },
		{ 1000, 1030, 60, 1030, 0 },
		{ 1000, 1060, 60, 1060, 0 },
		/* further ahead: the credit, and the jump is reported */
		{ 1000, 1061, 60, 1060, 61 },
		{ 1000, 1000 + 16 * 86400, 60, 1060, 16 * 86400 },
		/* behind: never back */
		{ 1000, 999, 60, 1000, -1 },
		{ 1000, 1000 - 2 * 86400, 60, 1000, -2 * 86400 },
		/* no credit at all */
		{ 1000, 2000, 0, 1000, 1000 },
	};
	int64_t skew, v0;
	size_t i;

	for (i = 0; i < VF_ARRAY_LEN(t); i++) {
		skew = 12345;
		v0 = vf_policy_clock_start(t[i].hwm, t[i].wall, t[i].credit,
					   &skew);
		CHECK_EQ(v0, t[i].want);
		CHECK_EQ(skew, t[i].skew);
	}
	/* In ns, as the vault uses it: 16 days ahead gives one hour. */
	v0 = vf_policy_clock_start(NS_PER_S, NS_PER_S + 16 * DAY,
				   3600 * NS_PER_S, &skew);
	CHECK_EQ(v0, NS_PER_S + 3600 * NS_PER_S);
	CHECK_EQ(skew, 16 * DAY);
}

/* ---- Object Lock and the store's clock ----------------------------------- */

static void objlock_table(void)
{
	static const struct {
		int64_t now, until;
		int needed;
		enum vf_objlock_act want;
		int64_t want_until;
	} t[] = {
		/* period 20, renew when less than 5 is left */
		{ 100, 0, 1, VF_OBJLOCK_EXTEND, 120 },   /* never locked */
		{ 100, 90, 1, VF_OBJLOCK_EXTEND, 120 },  /* lapsed */
		{ 100, 104, 1, VF_OBJLOCK_EXTEND, 120 }, /* 4 left */
		{ 100, 105, 1, VF_OBJLOCK_KEEP, 0 },     /* 5 left */
		{ 100, 119, 1, VF_OBJLOCK_KEEP, 0 },
		{ 100, 101, 0, VF_OBJLOCK_WAIT, 0 },     /* store refuses */
		{ 100, 100, 0, VF_OBJLOCK_DELETE, 0 },   /* just passed */
		{ 100, 0, 0, VF_OBJLOCK_DELETE, 0 },
		{ 100, 500, 0, VF_OBJLOCK_WAIT, 0 },
	};
	size_t i;

	for (i = 0; i < VF_ARRAY_LEN(t); i++) {
		int64_t until = 0;

		CHECK_EQ(vf_policy_objlock(t[i].now, t[i].until, t[i].needed,
					   20, 5, &until),
			 t[i].want);
		CHECK_EQ(until, t[i].want_until);
	}
	CHECK_EQ(vf_policy_lock_period(14, 7 * DAY, 0), 21 * DAY);
	CHECK_EQ(vf_policy_lock_period(0, 60 * NS_PER_S, 300 * NS_PER_S),
		 300 * NS_PER_S);
}

/* Remote gc: the window, the renewal interval, the checkpoint floor walk
 * and which objects are still needed. */
static void store_gc_table(void)
{
	static const struct {
		int64_t cutoff;
		int full, ok;
		int64_t stamp;
		enum vf_ckpt_step want;
	} steps[] = {
		{ 100, 1, 1, 50, VF_CKPT_FLOOR },  /* full, before the cutoff */
		{ 100, 1, 1, 100, VF_CKPT_FLOOR }, /* at it: still a floor */
		{ 100, 1, 1, 101, VF_CKPT_STOP },  /* in the window */
		{ 100, 0, 1, 50, VF_CKPT_SKIP },   /* a segment is no floor */
		{ 100, 0, 1, 101, VF_CKPT_STOP },  /* ... but stops the walk */
		{ 100, 1, 0, 50, VF_CKPT_SKIP },   /* forged or bad time */
		{ 100, 1, 0, 500, VF_CKPT_SKIP },  /* a forged one stops nothing */
	};
	static const struct {
		int live, dropped;
		int64_t at, floor_t;
		int want;
	} packs[] = {
		{ 1, 0, 0, 100, 1 },   /* live */
		{ 1, 1, 10, 100, 1 },  /* live again (never: still kept) */
		{ 0, 0, 0, 100, 1 },   /* not known to be dropped: kept */
		{ 0, 1, 10, 0, 1 },    /* no floor: every checkpoint needed */
		{ 0, 1, 99, 100, 0 },  /* dropped before the floor's copy */
		{ 0, 1, 100, 100, 1 }, /* same stamp: the copy may hold it */
		{ 0, 1, 150, 100, 1 }, /* dropped after: the floor holds it */
	};
	size_t i;

	for (i = 0; i < VF_ARRAY_LEN(steps); i++)
		CHECK_EQ(vf_policy_ckpt_step(steps[i].cutoff, steps[i].full,
					     steps[i].ok, steps[i].stamp),
			 steps[i].want);
	for (i = 0; i < VF_ARRAY_LEN(packs); i++)
		CHECK_EQ(vf_policy_pack_needed(packs[i].live, packs[i].dropped,
					       packs[i].at, packs[i].floor_t),
			 packs[i].want);
	CHECK_EQ(vf_policy_ckpt_needed(5, 0), 1);  /* no floor yet */
	CHECK_EQ(vf_policy_ckpt_needed(4, 5), 0);
	CHECK_EQ(vf_policy_ckpt_needed(5, 5), 1);  /* the floor itself */
	CHECK_EQ(vf_policy_ckpt_needed(9, 5), 1);
	/* W: the soft-delete retention, or a shorter lock period */
	CHECK_EQ(vf_policy_store_window(14, 21 * DAY), 14 * DAY);
	CHECK_EQ(vf_policy_store_window(14, 120 * NS_PER_S), 120 * NS_PER_S);
	CHECK_EQ(vf_policy_store_window(14, 0), 14 * DAY);
	CHECK_EQ(vf_policy_store_window(14, 14 * DAY), 14 * DAY);
	/* renewal: a third of the period, at most daily */
	CHECK_EQ(vf_policy_extend_every(21 * DAY), DAY);
	CHECK_EQ(vf_policy_extend_every(3 * DAY), DAY);
	CHECK_EQ(vf_policy_extend_every(120 * NS_PER_S), 40 * NS_PER_S);
	CHECK_EQ(vf_policy_lock_ahead(0), DAY);
	/* mass deletion: the count, or a share of a tree not too small */
	CHECK_EQ(vf_policy_mass_delete(1000, 0, 1000, 25, 50), 1);
	CHECK_EQ(vf_policy_mass_delete(999, 0, 1000, 25, 50), 0);
	CHECK_EQ(vf_policy_mass_delete(999, 1000000, 1000, 25, 50), 0);
	CHECK_EQ(vf_policy_mass_delete(60, 60, 1000, 25, 50), 1);
	CHECK_EQ(vf_policy_mass_delete(49, 49, 1000, 25, 50), 0);
	CHECK_EQ(vf_policy_mass_delete(50, 200, 1000, 25, 50), 1);
	CHECK_EQ(vf_policy_mass_delete(50, 201, 1000, 25, 50), 0);
	CHECK_EQ(vf_policy_mass_delete(500, 2000, 1000, 25, 50), 1);
	/* segment or full: no base, a full chain, too many bytes, too old */
	CHECK_EQ(vf_policy_ship_segment(0, 0, 64, 0, 10, 1000, 0, 0, DAY), 0);
	CHECK_EQ(vf_policy_ship_segment(1, 0, 64, 0, 10, 1000, 0, 0, DAY), 1);
	CHECK_EQ(vf_policy_ship_segment(1, 64, 64, 0, 10, 1000, 0, 0, DAY), 0);
	CHECK_EQ(vf_policy_ship_segment(1, 3, 64, 490, 10, 1000, 0, 0, DAY), 1);
	CHECK_EQ(vf_policy_ship_segment(1, 3, 64, 491, 10, 1000, 0, 0, DAY), 0);
	CHECK_EQ(vf_policy_ship_segment(1, 3, 64, 491, 10, 1000, 600, 0, DAY), 1);
	CHECK_EQ(vf_policy_ship_segment(1, 3, 64, 0, 10, 1000, 0,
					DAY / 4 - 1, DAY), 1);
	CHECK_EQ(vf_policy_ship_segment(1, 3, 64, 0, 10, 1000, 0, DAY / 4,
					DAY), 0);
	CHECK_EQ(vf_policy_ship_segment(1, 3, 64, 0, 10, 1000, 0, DAY, 0), 1);
	CHECK_EQ(vf_policy_lock_ahead(21 * DAY), DAY);
	CHECK_EQ(vf_policy_lock_ahead(60 * NS_PER_S), 20 * NS_PER_S);
}

static void store_clock_table(void)
{
	static const struct {
		int64_t vault, store;
		int64_t decide, stamp;
		int disagree;
	} t[] = {
		/* tolerance 10 */
		{ 1000, 0, 1000, 1000, 0 },     /* no store reply yet */
		{ 1000, 1000, 1000, 1000, 0 },
		{ 1005, 1000, 1005, 1005, 0 },  /* within tolerance */
		{ 995, 1000, 995, 995, 0 },
		{ 1010, 1000, 1010, 1010, 0 },  /* at the edge */
		{ 1011, 1000, 1010, 1010, 1 },  /* host ahead: no early purge */
		{ 1000 + 15 * 86400LL, 1000, 1010, 1010, 1 },
		{ 900, 1000, 900, 990, 1 },     /* host behind: decide on it, */
		                                /* but never stamp the past */
	};
	size_t i;

	for (i = 0; i < VF_ARRAY_LEN(t); i++) {
		int d1 = -1, d2 = -1;

		CHECK_EQ(vf_policy_decide_time(t[i].vault, t[i].store, 10, &d1),
			 t[i].decide);
		CHECK_EQ(vf_policy_stamp_time(t[i].vault, t[i].store, 10, &d2),
			 t[i].stamp);
		CHECK_EQ(d1, t[i].disagree);
		CHECK_EQ(d2, t[i].disagree);
	}
}

/* ---- security posture ----------------------------------------------------- */

static void posture_table(void)
{
#define P VF_POSTURE_POOR
#define F VF_POSTURE_FAIR
#define G VF_POSTURE_GOOD
#define E VF_POSTURE_EXCELLENT
	static const struct {
		struct vf_posture_in in;
		enum vf_posture_level level;
		/* would: soft delete, always-on, immutable lock, guard */
		enum vf_posture_level would[VF_PC_COUNT];
		int pending_always, pending_lock;
		unsigned weak;
	} t[] = {
		/* sd, always, imm, lock, guard, remote, slock, http, pass,
		 * short lock, prot */
		{ { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, P, { G, G, G, F }, 0, 0,
		  VF_PW_LOCAL },
		{ { 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0 }, F, { G, E, E, F }, 0, 0,
		  VF_PW_LOCAL },
		{ { 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, G, { G, G, G, G }, 0, 0,
		  VF_PW_LOCAL },
		{ { 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0 }, G, { G, E, E, G }, 0, 0,
		  VF_PW_LOCAL },
		{ { 1, 2, 0, 0, 1, 1, 1, 0, 0, 0, 0 }, E,
		  { E, E, E, E }, 0, 0, 0 },
		{ { 0, 0, 1, 2, 1, 1, 1, 0, 0, 0, 0 }, E,
		  { E, E, E, E }, 0, 0, 0 },
		{ { 0, 0, 1, 2, 0, 1, 1, 0, 0, 0, 0 }, G,
		  { G, G, G, E }, 0, 0, 0 },
		/* pending always-on and lock count for nothing yet */
		{ { 1, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0 }, G,
		  { G, E, E, G }, 1, 0, 0 },
		{ { 0, 0, 1, 1, 0, 1, 1, 0, 0, 0, 0 }, P,
		  { G, G, G, F }, 0, 1, 0 },
		/* always-on with soft delete off is not soft delete */
		{ { 0, 2, 0, 0, 1, 1, 1, 0, 0, 0, 0 }, F,
		  { G, E, E, F }, 0, 0, 0 },
		/* weak choices */
		{ { 1, 0, 0, 0, 0, 1, 0, 1, 1, 0, 0 }, G, { G, G, G, G }, 0, 0,
		  VF_PW_NO_STORE_LOCK | VF_PW_PLAIN_HTTP | VF_PW_PASSPHRASE },
		{ { 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0 }, G, { G, E, E, G }, 0, 0,
		  VF_PW_LOCAL },
		/* short store locks: weak only where the store locks */
		{ { 1, 0, 0, 0, 1, 1, 1, 0, 0, 1, 0 }, G, { G, E, E, G }, 0, 0,
		  VF_PW_SHORT_LOCK },
		{ { 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0 }, G, { G, E, E, G }, 0, 0,
		  VF_PW_NO_STORE_LOCK },
		{ { 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0 }, G, { G, E, E, G }, 0, 0,
		  VF_PW_LOCAL },
		/* protection stopped: named; with --delete Poor whatever
		 * holds, and nothing would raise it */
		{ { 1, 2, 0, 0, 1, 1, 1, 0, 0, 0,
		    VF_PROT_RETAIN }, E,
		  { E, E, E, E }, 0, 0, VF_PW_STOPPED },
		{ { 1, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		    VF_PROT_RETAIN }, G,
		  { G, G, G, G }, 0, 0, VF_PW_LOCAL | VF_PW_STOPPED },
		{ { 1, 2, 0, 0, 1, 1, 1, 0, 0, 0,
		    VF_PROT_DELETE }, P,
		  { P, P, P, P }, 0, 0, VF_PW_STOPPED },
		{ { 0, 0, 1, 2, 1, 0, 0, 0, 0, 0,
		    VF_PROT_DELETE }, P,
		  { P, P, P, P }, 0, 0, VF_PW_LOCAL | VF_PW_STOPPED },
	};
	struct vf_posture out;
	size_t i;
	int c;

	for (i = 0; i < VF_ARRAY_LEN(t); i++) {
		vf_policy_posture(&t[i].in, &out);
		CHECK_EQ(out.level, t[i].level);
		for (c = 0; c < VF_PC_COUNT; c++)
			CHECK_EQ(out.would[c], t[i].would[c]);
		CHECK_EQ(out.pending[VF_PC_ALWAYS_ON], t[i].pending_always);
		CHECK_EQ(out.pending[VF_PC_IMM_LOCKED], t[i].pending_lock);
		CHECK_EQ(out.weak, t[i].weak);
		if (out.level != t[i].level)
			fprintf(stderr, "posture case %zu\n", i);
	}
	CHECK(strcmp(vf_policy_posture_name(VF_POSTURE_EXCELLENT),
		     "Excellent") == 0);
	CHECK(strcmp(vf_policy_posture_name(VF_POSTURE_POOR), "Poor") == 0);
#undef P
#undef F
#undef G
#undef E
}

/* ---- muting alerts --------------------------------------------------------- */

static void alert_mute_table(void)
{
	const int64_t D = 86400 * VF_NS, now = 100 * D;
	static const struct {
		int64_t cur, until; /* days after now; 0: none */
		int rc;
	} t[] = {
		{ 0, 1, VF_CRITICAL },      /* muting */
		{ 0, 30, VF_CRITICAL },     /* the longest */
		{ 0, 31, -EINVAL },         /* too long */
		{ 0, -1, -EINVAL },         /* in the past */
		{ 0, 0, -EINVAL },          /* unmute what is not muted */
		{ -2, 0, -EINVAL },         /* a mute that ended is none */
		{ -2, 1, VF_CRITICAL },     /* muting again */
		{ 5, 0, VF_ALLOW },         /* unmute */
		{ 5, 2, VF_ALLOW },         /* shorter */
		{ 5, 5, VF_ALLOW },         /* the same */
		{ 5, 6, VF_CRITICAL },      /* longer */
	};
	const char *gop;
	char why[128];
	size_t i;

	for (i = 0; i < VF_ARRAY_LEN(t); i++) {
		gop = NULL;
		CHECK_EQ(vf_policy_alert_mute(t[i].cur ? now + t[i].cur * D : 0,
					      t[i].until ? now + t[i].until * D : 0,
					      now, &gop, why, sizeof(why)),
			 t[i].rc);
		if (t[i].rc == VF_CRITICAL)
			CHECK(gop && !strcmp(gop, "alerts.mute"));
	}
}

/* ---- the disk reserve ------------------------------------------------------ */

static void reserve_table(void)
{
	static const struct {
		enum vf_fill_kind kind;
		uint64_t avail, want, reserve;
		int rc;
	} t[] = {
		/* plenty of room */
		{ VF_FILL_DATA, 1000, 10, 100, 0 },
		/* exactly down to the reserve: allowed; one byte into it: not */
		{ VF_FILL_DATA, 1000, 900, 100, 0 },
		{ VF_FILL_DATA, 1000, 901, 100, -ENOSPC },
		/* already inside the reserve: even a byte is refused */
		{ VF_FILL_DATA, 99, 1, 100, -ENOSPC },
		{ VF_FILL_DATA, 0, 0, 100, -ENOSPC },
		/* more than is free: refused, no wrap-around */
		{ VF_FILL_DATA, 10, UINT64_MAX, 0, -ENOSPC },
		{ VF_FILL_DATA, UINT64_MAX, UINT64_MAX, 0, 0 },
		/* no reserve: down to the last byte */
		{ VF_FILL_DATA, 10, 10, 0, 0 },
		/* root, catalog, trash and audit use the reserve */
		{ VF_FILL_ROOT, 99, 1, 100, 0 },
		{ VF_FILL_ROOT, 0, 4096, 100, 0 },
		{ VF_FILL_RESERVED, 50, 40, 100, 0 },
		{ VF_FILL_RESERVED, 0, 1, UINT64_MAX, 0 },
	};
	size_t i;

	for (i = 0; i < VF_ARRAY_LEN(t); i++)
		CHECK_EQ(vf_policy_may_fill(t[i].kind, t[i].avail, t[i].want,
					    t[i].reserve),
			 t[i].rc);
	/* changing it: smaller is critical, or refused on an immutable
	 * vault; more than half the filesystem is refused */
	{
		static const struct {
			uint64_t cur, next;
			int imm, rc;
		} c[] = {
			{ VF_POLICY_RESERVE_DEFAULT, VF_POLICY_RESERVE_DEFAULT, 0, VF_ALLOW },
			{ VF_POLICY_RESERVE_DEFAULT, 100 << 20, 0, VF_ALLOW },
			{ VF_POLICY_RESERVE_DEFAULT, 50 << 20, 0, VF_CRITICAL },
			{ VF_POLICY_RESERVE_DEFAULT, 50 << 20, 1, -EPERM },
			{ VF_POLICY_RESERVE_DEFAULT, 0, 0, VF_CRITICAL },
			{ 0, VF_POLICY_RESERVE_DEFAULT, 1, VF_ALLOW },
			{ 10, 10, 1, VF_ALLOW },
			{ 10, 512ULL << 20, 0, VF_ALLOW },
			{ 10, (512ULL << 20) + 1, 0, -EINVAL },
			{ 200ULL << 20, VF_POLICY_RESERVE_DEFAULT, 0, VF_CRITICAL },
		};
		const uint64_t fs = 1ULL << 30; /* default: 5 % = 51.2 MiB */
		const char *gop;
		char why[128];

		for (i = 0; i < VF_ARRAY_LEN(c); i++) {
			gop = NULL;
			CHECK_EQ(vf_policy_reserve_change(c[i].cur, c[i].next,
							  fs, c[i].imm, &gop,
							  why, sizeof(why)),
				 c[i].rc);
			if (c[i].rc == VF_CRITICAL)
				CHECK(gop && !strcmp(gop, "reserve.lower"));
		}
		CHECK_EQ(vf_policy_reserve(VF_POLICY_RESERVE_DEFAULT, fs),
			 fs / 20);
		CHECK_EQ(vf_policy_reserve(7, fs), 7);
	}
	/* default: 5 % of the filesystem, at most 256 MiB */
	CHECK_EQ(vf_policy_reserve_default(0), 0);
	CHECK_EQ(vf_policy_reserve_default(64ULL << 20), (64ULL << 20) / 20);
	CHECK_EQ(vf_policy_reserve_default(5120ULL << 20), 256ULL << 20);
	CHECK_EQ(vf_policy_reserve_default(1ULL << 40), 256ULL << 20);
	CHECK_EQ(vf_policy_reserve_default(UINT64_MAX), 256ULL << 20);
}

/* ---- private directories -------------------------------------------------- */

/* The vault and keystore belong to whoever runs the engine and to nobody
 * else: root's to root, a user's own (a test's) to that user. */
static void private_dir_table(void)
{
	static const struct {
		uint32_t owner, mode, euid;
		int rc;
		const char *why;
	} t[] = {
		{ 0, 040700, 0, 0, NULL },
		{ 0, 040500, 0, 0, NULL },
		{ 1000, 040700, 1000, 0, NULL },
		/* root uses only root's: a user could swap the files */
		{ 1000, 040700, 0, -EPERM, "owned by uid 1000, but it must belong to root, who runs this (chown 0 it)" },
		/* a user only their own (root's could not be entered anyway) */
		{ 0, 040700, 1000, -EPERM, "owned by root, but it must belong to uid 1000, who runs this (chown 1000 it)" },
		{ 1001, 040700, 1000, -EPERM, "owned by uid 1001" },
		/* every group and other bit, for root and a user alike */
		{ 0, 040750, 0, -EPERM, "mode 0750 lets group or others in (chmod 700 it)" },
		{ 0, 040701, 0, -EPERM, "mode 0701" },
		{ 0, 040710, 0, -EPERM, "mode 0710" },
		{ 0, 040702, 0, -EPERM, "mode 0702" },
		{ 0, 041777, 0, -EPERM, "mode 1777" },
		{ 1000, 040704, 1000, -EPERM, "mode 0704" },
		{ 1000, 040720, 1000, -EPERM, "mode 0720" },
		/* the owner is named before the mode */
		{ 1000, 040777, 0, -EPERM, "owned by uid 1000" },
	};
	char why[160];
	size_t i;

	for (i = 0; i < VF_ARRAY_LEN(t); i++) {
		why[0] = '\0';
		CHECK_EQ(vf_policy_private_dir(t[i].owner, t[i].mode, t[i].euid,
					       why, sizeof(why)),
			 t[i].rc);
		if (t[i].why)
			CHECK(strstr(why, t[i].why) == why);
		else
			CHECK(why[0] == '\0');
	}
}

/* ---- administrative decisions (README.md, Roles, The guard) ----------------- */

/* The role table (README.md, Roles): who may run what; every operation has a rule. */
static void op_table(void)
{
	static const struct {
		enum vf_admin_op op;
		enum vf_role least;
		int changes;
	} want[] = {
		{ VF_OP_STATUS, VF_ROLE_READER, 0 },
		{ VF_OP_CHECK, VF_ROLE_OPERATOR, 0 },
		{ VF_OP_SNAPSHOT, VF_ROLE_OPERATOR, 1 },
		{ VF_OP_SNAPSHOTS, VF_ROLE_READER, 0 },
		{ VF_OP_POLICY_SHOW, VF_ROLE_READER, 0 },
		{ VF_OP_POLICY_SET, VF_ROLE_CONTRIBUTOR, 1 },
		{ VF_OP_PRUNE, VF_ROLE_CONTRIBUTOR, 1 },
		{ VF_OP_GC, VF_ROLE_CONTRIBUTOR, 1 },
		{ VF_OP_SD_SHOW, VF_ROLE_READER, 0 },
		{ VF_OP_SD_SET, VF_ROLE_CONTRIBUTOR, 1 },
		{ VF_OP_SD_LIST, VF_ROLE_READER, 0 },
		{ VF_OP_SD_PURGE, VF_ROLE_CONTRIBUTOR, 1 },
		{ VF_OP_IMM_SET, VF_ROLE_CONTRIBUTOR, 1 },
		{ VF_OP_IMM_CLEAR, VF_ROLE_CONTRIBUTOR, 1 },
		{ VF_OP_IMM_UNLOCK, VF_ROLE_CONTRIBUTOR, 1 },
		{ VF_OP_IMM_LIST, VF_ROLE_READER, 0 },
		{ VF_OP_IMM_VAULT_SHOW, VF_ROLE_READER, 0 },
		{ VF_OP_IMM_VAULT_SET, VF_ROLE_CONTRIBUTOR, 1 },
		{ VF_OP_ROLE_GRANT, VF_ROLE_OWNER, 1 },
		{ VF_OP_ROLE_LIST, VF_ROLE_READER, 0 },
		{ VF_OP_GUARD_ATTACH, VF_ROLE_OWNER, 1 },
		{ VF_OP_GUARD_DETACH, VF_ROLE_OWNER, 1 },
		{ VF_OP_GUARD_SHOW, VF_ROLE_READER, 0 },
		{ VF_OP_AUDIT_LIST, VF_ROLE_READER, 0 },
		{ VF_OP_AUDIT_VERIFY, VF_ROLE_READER, 0 },
		{ VF_OP_POSTURE, VF_ROLE_READER, 0 },
		{ VF_OP_MAINTAIN, VF_ROLE_CONTRIBUTOR, 1 },
		{ VF_OP_ALERTS, VF_ROLE_READER, 0 },
		{ VF_OP_ALERT_ACK, VF_ROLE_OPERATOR, 1 },
		{ VF_OP_RESERVE_SET, VF_ROLE_OWNER, 1 },
		{ VF_OP_ALERT_MUTE, VF_ROLE_OWNER, 1 },
		{ VF_OP_TRIP_STATUS, VF_ROLE_READER, 0 },
		{ VF_OP_TRIP_RELEASE, VF_ROLE_OWNER, 1 },
		{ VF_OP_TRIP_SET, VF_ROLE_OWNER, 1 },
		{ VF_OP_TRIP_FP, VF_ROLE_OWNER, 1 },
		{ VF_OP_METRICS, VF_ROLE_READER, 0 },
		{ VF_OP_REPORT, VF_ROLE_OPERATOR, 0 },
		{ VF_OP_PROT_STOP, VF_ROLE_OWNER, 1 },
		{ VF_OP_PROT_RESUME, VF_ROLE_OWNER, 1 },
		{ VF_OP_KEY_LIST, VF_ROLE_OWNER, 0 },
		{ VF_OP_KEY_ADD, VF_ROLE_OWNER, 1 },
		{ VF_OP_KEY_REMOVE, VF_ROLE_OWNER, 1 },
		{ VF_OP_KEY_EXPORT, VF_ROLE_OWNER, 1 },
		{ VF_OP_KEY_ROTATE, VF_ROLE_OWNER, 1 },
		{ VF_OP_PASSPHRASE_CHANGE, VF_ROLE_OWNER, 1 },
		{ VF_OP_KEY_ROTATION, VF_ROLE_CONTRIBUTOR, 1 },
	};
	size_t i;

	CHECK_EQ(VF_ARRAY_LEN(want), VF_OP_COUNT);
	for (i = 0; i < VF_ARRAY_LEN(want); i++) {
		const struct vf_op_rule *r = vf_policy_op(want[i].op);

		CHECK(r != NULL);
		if (!r)
			continue;
		CHECK(r->name && *r->name);
		CHECK_EQ(r->least, want[i].least);
		CHECK_EQ(r->changes, want[i].changes);
	}
	CHECK(vf_policy_op(VF_OP_COUNT) == NULL);
	CHECK(vf_policy_op((enum vf_admin_op)-1) == NULL);
}

#define DAY_NS (86400 * NS_PER_S)
#define NOW (20000 * DAY_NS)
/* always_on values: none, pending (final in a day), final (a day ago) */
#define AO_NONE 0
#define AO_PENDING (NOW + DAY_NS)
#define AO_FINAL (NOW - DAY_NS)

/* Soft-delete changes: verdict and guard operation for every state. */
static void softdelete_table(void)
{
	static const struct {
		unsigned days;
		int off;
		int64_t always_on;
		int imm;
		enum vf_sd_change what;
		unsigned arg;
		int want;
		const char *gop;
	} t[] = {
		/* retention: longer is free, shorter critical, out of range
		 * refused, shorter refused by always-on and the immutable
		 * vault */
		{ 14, 0, AO_NONE, 0, VF_SD_DAYS, 30, VF_ALLOW, NULL },
		{ 30, 0, AO_NONE, 0, VF_SD_DAYS, 14, VF_CRITICAL, "softdelete.days" },
		{ 30, 0, AO_NONE, 0, VF_SD_DAYS, 30, VF_ALLOW, NULL },
		{ 30, 0, AO_NONE, 0, VF_SD_DAYS, 13, -EINVAL, NULL },
		{ 30, 0, AO_NONE, 0, VF_SD_DAYS, 181, -EINVAL, NULL },
		{ 30, 0, AO_PENDING, 0, VF_SD_DAYS, 14, VF_CRITICAL, "softdelete.days" },
		{ 30, 0, AO_FINAL, 0, VF_SD_DAYS, 14, -EPERM, NULL },
		{ 30, 0, AO_FINAL, 0, VF_SD_DAYS, 40, VF_ALLOW, NULL },
		{ 30, 0, AO_NONE, 1, VF_SD_DAYS, 14, -EPERM, NULL },
		{ 30, 0, AO_NONE, 1, VF_SD_DAYS, 40, VF_ALLOW, NULL },
		/* off: critical; refused once always-on is pending or final,
		 * and by the immutable vault; off again changes nothing */
		{ 14, 0, AO_NONE, 0, VF_SD_OFF, 0, VF_CRITICAL, "softdelete.off" },
		{ 14, 1, AO_NONE, 0, VF_SD_OFF, 0, VF_ALLOW, NULL },
		{ 14, 0, AO_PENDING, 0, VF_SD_OFF, 0, -EPERM, NULL },
		{ 14, 0, AO_FINAL, 0, VF_SD_OFF, 0, -EPERM, NULL },
		{ 14, 0, AO_NONE, 1, VF_SD_OFF, 0, -EPERM, NULL },
		/* on and always-on: free; always-on needs soft delete on */
		{ 14, 1, AO_NONE, 0, VF_SD_ON, 0, VF_ALLOW, NULL },
		{ 14, 0, AO_NONE, 0, VF_SD_ALWAYS_ON, 0, VF_ALLOW, NULL },
		{ 14, 1, AO_NONE, 0, VF_SD_ALWAYS_ON, 0, -EINVAL, NULL },
		{ 14, 0, AO_FINAL, 0, VF_SD_ALWAYS_ON, 0, VF_ALLOW, NULL },
		/* cancel: critical while pending only */
		{ 14, 0, AO_PENDING, 0, VF_SD_CANCEL, 0, VF_CRITICAL, "softdelete.cancel-always-on" },
		{ 14, 0, AO_NONE, 0, VF_SD_CANCEL, 0, -EINVAL, NULL },
		{ 14, 0, AO_FINAL, 0, VF_SD_CANCEL, 0, -EPERM, NULL },
	};
	size_t i;

	for (i = 0; i < VF_ARRAY_LEN(t); i++) {
		struct vf_softdelete cur = { t[i].days, t[i].off, t[i].always_on };
		struct vf_softdelete next = { 0, 0, -1 };
		const char *gop = NULL;
		char why[256] = "";
		int got = vf_policy_softdelete(&cur, t[i].imm, t[i].what,
					       t[i].arg, NOW, &next, &gop, why,
					       sizeof(why));

		if (got != t[i].want ||
		    (t[i].gop && (!gop || strcmp(gop, t[i].gop)))) {
			fprintf(stderr, "softdelete case %zu: got %d (%s)\n", i,
				got, why);
			CHECK(0);
		}
		if (got < 0) {
			CHECK(why[0] != '\0');
			CHECK_EQ(next.always_on, -1); /* untouched */
		}
	}
	/* what a change leaves */
	{
		struct vf_softdelete cur = { 14, 0, 0 }, next;
		const char *gop = NULL;
		char why[64];

		CHECK_EQ(vf_policy_softdelete(&cur, 0, VF_SD_ALWAYS_ON, 0, NOW,
					      &next, &gop, why, sizeof(why)),
			 VF_ALLOW);
		CHECK_EQ(next.always_on, NOW + VF_COOLING_OFF);
		CHECK_EQ(vf_policy_softdelete(&cur, 0, VF_SD_DAYS, 60, NOW,
					      &next, &gop, why, sizeof(why)),
			 VF_ALLOW);
		CHECK_EQ(next.days, 60);
	}
}

static int gop_is(const char *gop, const char *want)
{
	return gop && want && !strcmp(gop, want);
}

/* Early purge, immutable directories and the immutable vault, retention,
 * roles and the guard: each state against each change. */
static void admin_table(void)
{
	struct vf_softdelete sd = { 14, 0, 0 };
	struct vf_imm_state none = { 0, 0, 0, 0 };
	struct vf_imm_state forever = { 1, 0, 0, NOW - DAY_NS };
	struct vf_imm_state days30 = { 1, 30, 0, NOW - DAY_NS };
	struct vf_imm_state pend30 = { 1, 30, AO_PENDING, NOW - DAY_NS };
	struct vf_imm_state final30 = { 1, 30, AO_FINAL, NOW - DAY_NS };
	struct vf_imm_state next;
	struct vf_imm_vault iv_off = { 0, 0 }, iv_on = { 1, 0 },
			    iv_pend = { 1, AO_PENDING }, iv_final = { 1, AO_FINAL },
			    ivn;
	struct vf_retention weak = { .keep_last = 3, .min_points = 3 };
	struct vf_retention strong = { .keep_last = 10, .min_points = 3 };
	struct vf_retention bad = { .keep_last = 10, .min_points = 2 };
	const char *gop;
	char why[256];

#define GOP(expr, want, op_)                                                  \
	do {                                                                 \
		gop = NULL;                                                  \
		why[0] = '\0';                                               \
		CHECK_EQ((expr), (want));                                    \
		if ((want) == VF_CRITICAL)                                   \
			CHECK(gop_is(gop, op_));                             \
		if ((want) < 0)                                              \
			CHECK(why[0] != '\0');                               \
	} while (0)
	/* early purge: critical, refused by final always-on and the
	 * immutable vault */
	GOP(vf_policy_purge(&sd, 0, NOW, &gop, why, sizeof(why)), VF_CRITICAL,
	    "softdelete.purge");
	sd.always_on = AO_PENDING;
	GOP(vf_policy_purge(&sd, 0, NOW, &gop, why, sizeof(why)), VF_CRITICAL,
	    "softdelete.purge");
	sd.always_on = AO_FINAL;
	GOP(vf_policy_purge(&sd, 0, NOW, &gop, why, sizeof(why)), -EPERM, NULL);
	sd.always_on = 0;
	GOP(vf_policy_purge(&sd, 1, NOW, &gop, why, sizeof(why)), -EPERM, NULL);

	/* immutable set: new rules and longer ones are free; shorter is
	 * critical unless the lock is final (refused) */
	GOP(vf_policy_imm_set(&none, 1, 30, 0, NOW, &next, &gop, why,
			      sizeof(why)),
	    VF_ALLOW, NULL);
	CHECK(next.have && next.days == 30 && next.set_at == NOW);
	GOP(vf_policy_imm_set(&days30, 1, 60, 0, NOW, &next, &gop, why,
			      sizeof(why)),
	    VF_ALLOW, NULL);
	GOP(vf_policy_imm_set(&days30, 1, 0, 0, NOW, &next, &gop, why,
			      sizeof(why)),
	    VF_ALLOW, NULL); /* forever is longer */
	GOP(vf_policy_imm_set(&forever, 1, 30, 0, NOW, &next, &gop, why,
			      sizeof(why)),
	    VF_CRITICAL, "immutable.days");
	GOP(vf_policy_imm_set(&days30, 1, 10, 0, NOW, &next, &gop, why,
			      sizeof(why)),
	    VF_CRITICAL, "immutable.days");
	GOP(vf_policy_imm_set(&pend30, 1, 10, 0, NOW, &next, &gop, why,
			      sizeof(why)),
	    VF_CRITICAL, "immutable.days");
	GOP(vf_policy_imm_set(&final30, 1, 10, 0, NOW, &next, &gop, why,
			      sizeof(why)),
	    -EPERM, NULL);
	GOP(vf_policy_imm_set(&final30, 1, 90, 0, NOW, &next, &gop, why,
			      sizeof(why)),
	    VF_ALLOW, NULL);
	GOP(vf_policy_imm_set(&days30, 0, 0, 1, NOW, &next, &gop, why,
			      sizeof(why)),
	    VF_ALLOW, NULL);
	CHECK(next.days == 30 && next.lock_at == NOW + VF_COOLING_OFF);
	GOP(vf_policy_imm_set(&none, 1, VF_IMM_MAX_DAYS + 1, 0, NOW, &next,
			      &gop, why, sizeof(why)),
	    -EINVAL, NULL);
	/* clear and unlock: critical until final; nothing to do refused */
	GOP(vf_policy_imm_clear(&none, 0, NOW, &gop, why, sizeof(why)), -ENOENT,
	    NULL);
	GOP(vf_policy_imm_clear(&days30, 0, NOW, &gop, why, sizeof(why)),
	    VF_CRITICAL, "immutable.clear");
	GOP(vf_policy_imm_clear(&days30, 1, NOW, &gop, why, sizeof(why)),
	    -EINVAL, NULL);
	GOP(vf_policy_imm_clear(&pend30, 1, NOW, &gop, why, sizeof(why)),
	    VF_CRITICAL, "immutable.unlock");
	GOP(vf_policy_imm_clear(&pend30, 0, NOW, &gop, why, sizeof(why)),
	    VF_CRITICAL, "immutable.clear");
	GOP(vf_policy_imm_clear(&final30, 0, NOW, &gop, why, sizeof(why)),
	    -EPERM, NULL);
	GOP(vf_policy_imm_clear(&final30, 1, NOW, &gop, why, sizeof(why)),
	    -EPERM, NULL);

	/* the immutable vault */
	GOP(vf_policy_imm_vault(&iv_off, VF_IV_ON, NOW, &ivn, &gop, why,
				sizeof(why)),
	    VF_ALLOW, NULL);
	GOP(vf_policy_imm_vault(&iv_off, VF_IV_LOCK, NOW, &ivn, &gop, why,
				sizeof(why)),
	    VF_ALLOW, NULL);
	CHECK(ivn.on && ivn.lock_at == NOW + VF_COOLING_OFF);
	GOP(vf_policy_imm_vault(&iv_off, VF_IV_OFF, NOW, &ivn, &gop, why,
				sizeof(why)),
	    VF_ALLOW, NULL);
	GOP(vf_policy_imm_vault(&iv_on, VF_IV_OFF, NOW, &ivn, &gop, why,
				sizeof(why)),
	    VF_CRITICAL, "immutable.vault.off");
	GOP(vf_policy_imm_vault(&iv_pend, VF_IV_OFF, NOW, &ivn, &gop, why,
				sizeof(why)),
	    VF_CRITICAL, "immutable.vault.off");
	GOP(vf_policy_imm_vault(&iv_final, VF_IV_OFF, NOW, &ivn, &gop, why,
				sizeof(why)),
	    -EPERM, NULL);
	GOP(vf_policy_imm_vault(&iv_pend, VF_IV_CANCEL, NOW, &ivn, &gop, why,
				sizeof(why)),
	    VF_CRITICAL, "immutable.vault.cancel-lock");
	CHECK(ivn.on && !ivn.lock_at);
	GOP(vf_policy_imm_vault(&iv_on, VF_IV_CANCEL, NOW, &ivn, &gop, why,
				sizeof(why)),
	    -EINVAL, NULL);
	GOP(vf_policy_imm_vault(&iv_final, VF_IV_CANCEL, NOW, &ivn, &gop, why,
				sizeof(why)),
	    -EPERM, NULL);

	/* retention */
	GOP(vf_policy_retention_change(&weak, &strong, &iv_off, &gop, why,
				       sizeof(why)),
	    VF_ALLOW, NULL);
	GOP(vf_policy_retention_change(&strong, &weak, &iv_off, &gop, why,
				       sizeof(why)),
	    VF_CRITICAL, "policy.weaker");
	GOP(vf_policy_retention_change(&strong, &weak, &iv_on, &gop, why,
				       sizeof(why)),
	    -EPERM, NULL);
	GOP(vf_policy_retention_change(&weak, &strong, &iv_final, &gop, why,
				       sizeof(why)),
	    VF_ALLOW, NULL);
	GOP(vf_policy_retention_change(&weak, &bad, &iv_off, &gop, why,
				       sizeof(why)),
	    -EINVAL, NULL);

	/* roles: granting Contributor or Owner is critical, unless it
	 * changes nothing; root's role never changes */
	GOP(vf_policy_role_change(0, 1001, VF_ROLE_NONE, VF_ROLE_OPERATOR,
				  &gop, why, sizeof(why)),
	    VF_ALLOW, NULL);
	GOP(vf_policy_role_change(0, 1001, VF_ROLE_NONE, VF_ROLE_CONTRIBUTOR,
				  &gop, why, sizeof(why)),
	    VF_CRITICAL, "role.grant");
	GOP(vf_policy_role_change(1, 50, VF_ROLE_READER, VF_ROLE_OWNER, &gop,
				  why, sizeof(why)),
	    VF_CRITICAL, "role.grant");
	GOP(vf_policy_role_change(0, 1001, VF_ROLE_OWNER, VF_ROLE_CONTRIBUTOR,
				  &gop, why, sizeof(why)),
	    VF_CRITICAL, "role.grant");
	GOP(vf_policy_role_change(0, 1001, VF_ROLE_OWNER, VF_ROLE_OWNER, &gop,
				  why, sizeof(why)),
	    VF_ALLOW, NULL);
	GOP(vf_policy_role_change(0, 1001, VF_ROLE_OWNER, VF_ROLE_NONE, &gop,
				  why, sizeof(why)),
	    VF_ALLOW, NULL);
	GOP(vf_policy_role_change(0, 0, VF_ROLE_NONE, VF_ROLE_READER, &gop,
				  why, sizeof(why)),
	    -EINVAL, NULL);
	GOP(vf_policy_role_change(1, 0, VF_ROLE_NONE, VF_ROLE_READER, &gop,
				  why, sizeof(why)),
	    VF_ALLOW, NULL); /* gid 0 is an ordinary group */

	/* the guard */
	GOP(vf_policy_guard_change(0, 0, &gop, why, sizeof(why)), VF_ALLOW,
	    NULL);
	GOP(vf_policy_guard_change(1, 0, &gop, why, sizeof(why)), VF_CRITICAL,
	    "guard.attach");
	GOP(vf_policy_guard_change(1, 1, &gop, why, sizeof(why)), VF_CRITICAL,
	    "guard.detach");
	GOP(vf_policy_guard_change(0, 1, &gop, why, sizeof(why)), -ENOENT,
	    NULL);
#undef GOP
}

#define SH VF_TRIP_HIGH
#define SM VF_TRIP_MEDIUM
#define SL VF_TRIP_LOW
#define SO VF_TRIP_OFF

/* The tripwire's score: which windows fire, at each sensitivity, while
 * learning and after it. */
static void tripwire_table(void)
{
	static const struct {
		const char *name;
		struct vf_trip_counts c;
		int sens;
		int learning;   /* learn_until is in the future */
		uint32_t peak;
		int fire;
	} t[] = {
		{ "nothing", { 0, 0, 0, 0 }, SM, 0, 0, 0 },
		{ "an attack: 6 overwrites and renames", { 6, 6, 0, 0 }, SM, 0, 0, 1 },
		{ "5 of them stay below medium", { 5, 5, 0, 0 }, SM, 0, 0, 0 },
		{ "3 of them fire high", { 3, 2, 0, 0 }, SH, 0, 0, 1 },
		{ "overwrites alone: 8 fire medium", { 8, 0, 0, 0 }, SM, 0, 0, 1 },
		{ "overwrites alone: 7 do not", { 7, 0, 0, 0 }, SM, 0, 0, 0 },
		{ "low needs 11 files", { 10, 10, 0, 0 }, SL, 0, 0, 0 },
		{ "low fires at 11", { 11, 11, 0, 0 }, SL, 0, 0, 1 },
		{ "renames alone never fire", { 0, 1000, 0, 0 }, SH, 0, 0, 0 },
		{ "deletions alone never fire", { 0, 0, 0, 1000 }, SH, 0, 0, 0 },
		{ "new random files alone never fire", { 0, 0, 1000, 0 }, SH, 0, 0, 0 },
		{ "renames need a quarter of evidence", { 3, 100, 0, 0 }, SM, 0, 0, 0 },
		{ "with it they fire", { 4, 100, 0, 0 }, SM, 0, 0, 1 },
		{ "copy then delete pairs", { 0, 0, 16, 16 }, SM, 0, 0, 1 },
		{ "pairs count the smaller side", { 0, 0, 100, 15 }, SM, 0, 0, 0 },
		{ "off never fires", { 1000, 1000, 1000, 1000 }, SO, 0, 0, 0 },
		{ "learning: the low threshold", { 6, 6, 0, 0 }, SH, 1, 0, 0 },
		{ "learning: an attack still fires", { 11, 11, 0, 0 }, SH, 1, 0, 1 },
		{ "learned peak 20: 30 needed", { 9, 11, 0, 0 }, SM, 0, 20, 0 },
		{ "learned peak 20: 31 fires", { 10, 11, 0, 0 }, SM, 0, 20, 1 },
		{ "learned peak is capped", { 32, 0, 0, 0 }, SM, 0, 100000, 1 },
		{ "a small peak keeps the sensitivity", { 8, 0, 0, 0 }, SM, 0, 3, 1 },
	};
	struct vf_trip_settings s;
	uint32_t ev;
	size_t i;

	for (i = 0; i < VF_ARRAY_LEN(t); i++) {
		s.sens = (enum vf_trip_sens)t[i].sens;
		s.learn_until = t[i].learning ? NOW + DAY_NS : NOW - DAY_NS;
		s.peak = t[i].peak;
		if (vf_policy_tripwire(&t[i].c, &s, NOW) != t[i].fire)
			fprintf(stderr, "case: %s\n", t[i].name);
		CHECK_EQ(vf_policy_tripwire(&t[i].c, &s, NOW), t[i].fire);
	}
	{
		struct vf_trip_counts c = { UINT32_MAX, UINT32_MAX, 0, 0 };

		CHECK_EQ(vf_policy_trip_score(&c, &ev), UINT32_MAX);
		CHECK_EQ(ev, UINT32_MAX);
	}
}

/* Settings, release and exemptions: what is critical. */
static void tripwire_admin_table(void)
{
	static const struct {
		int cur_sens, next_sens;
		int64_t cur_learn, next_learn;
		int rc;
	} t[] = {
		{ VF_TRIP_MEDIUM, VF_TRIP_HIGH, 0, 0, VF_ALLOW },
		{ VF_TRIP_MEDIUM, VF_TRIP_MEDIUM, 0, 0, VF_ALLOW },
		{ VF_TRIP_MEDIUM, VF_TRIP_LOW, 0, 0, VF_CRITICAL },
		{ VF_TRIP_MEDIUM, VF_TRIP_OFF, 0, 0, VF_CRITICAL },
		{ VF_TRIP_OFF, VF_TRIP_LOW, 0, 0, VF_ALLOW },
		{ VF_TRIP_MEDIUM, VF_TRIP_MEDIUM, 0, NOW + DAY_NS, VF_CRITICAL },
		{ VF_TRIP_MEDIUM, VF_TRIP_MEDIUM, NOW + 2 * DAY_NS, NOW + DAY_NS,
		  VF_ALLOW },
		{ VF_TRIP_MEDIUM, VF_TRIP_MEDIUM, NOW + DAY_NS, 0, VF_ALLOW },
		{ VF_TRIP_MEDIUM, VF_TRIP_MEDIUM, 0, NOW + 91 * DAY_NS, -EINVAL },
		{ VF_TRIP_MEDIUM, 7, 0, 0, -EINVAL },
	};
	struct vf_trip_settings cur = { 0 }, next = { 0 };
	const char *gop;
	char why[128];
	size_t i;

	for (i = 0; i < VF_ARRAY_LEN(t); i++) {
		gop = NULL;
		cur.sens = (enum vf_trip_sens)t[i].cur_sens;
		cur.learn_until = t[i].cur_learn;
		next.sens = (enum vf_trip_sens)t[i].next_sens;
		next.learn_until = t[i].next_learn;
		CHECK_EQ(vf_policy_trip_change(&cur, &next, NOW, &gop, why,
					       sizeof(why)),
			 t[i].rc);
		if (t[i].rc == VF_CRITICAL)
			CHECK(gop && !strcmp(gop, "tripwire.weaken"));
	}
	gop = NULL;
	CHECK_EQ(vf_policy_trip_release(0, &gop, why, sizeof(why)), -EINVAL);
	CHECK_EQ(vf_policy_trip_release(NOW, &gop, why, sizeof(why)),
		 VF_CRITICAL);
	CHECK(gop && !strcmp(gop, "tripwire.release"));
	CHECK_EQ(vf_policy_trip_exempt(0, &gop, why, sizeof(why)), -EINVAL);
	CHECK_EQ(vf_policy_trip_exempt(91, &gop, why, sizeof(why)), -EINVAL);
	CHECK_EQ(vf_policy_trip_exempt(30, &gop, why, sizeof(why)),
		 VF_CRITICAL);
	CHECK(gop && !strcmp(gop, "tripwire.exempt"));
}

/* Protector changes: adding is plain, the rest critical; the last one
 * stays and a full header takes no more. */
static void key_table(void)
{
	static const struct {
		int op; /* 0 add, 1 remove, 2 export */
		unsigned n;
		int rc;
		const char *gop;
	} t[] = {
		{ 0, 1, VF_ALLOW, NULL },
		{ 0, 15, VF_ALLOW, NULL },
		{ 0, 16, -ENOSPC, NULL },
		{ 1, 0, -EPERM, NULL },
		{ 1, 1, -EPERM, NULL },
		{ 1, 2, VF_CRITICAL, "key.remove" },
		{ 1, 16, VF_CRITICAL, "key.remove" },
		{ 2, 1, VF_CRITICAL, "key.export" },
		{ 2, 15, VF_CRITICAL, "key.export" },
		{ 2, 16, -ENOSPC, NULL },
	};
	const char *gop;
	char why[128];
	size_t i;
	int rc;

	for (i = 0; i < VF_ARRAY_LEN(t); i++) {
		gop = NULL;
		why[0] = '\0';
		if (t[i].op == 0)
			rc = vf_policy_key_add(t[i].n, 16, why, sizeof(why));
		else if (t[i].op == 1)
			rc = vf_policy_key_remove(t[i].n, &gop, why, sizeof(why));
		else
			rc = vf_policy_key_export(t[i].n, 16, &gop, why,
						  sizeof(why));
		CHECK_EQ(rc, t[i].rc);
		if (t[i].gop)
			CHECK(gop && !strcmp(gop, t[i].gop));
		if (rc < 0)
			CHECK(why[0] != '\0');
	}
	gop = NULL;
	CHECK_EQ(vf_policy_key_rotate(&gop), VF_CRITICAL);
	CHECK(gop && !strcmp(gop, "key.rotate"));
	gop = NULL;
	CHECK_EQ(vf_policy_passphrase_change(&gop), VF_CRITICAL);
	CHECK(gop && !strcmp(gop, "passphrase.change"));
}

static void key_rotate(void)
{
	static const struct {
		int remote, running, rc;
	} t[] = {
		{ 0, 0, VF_CRITICAL },
		{ 0, 1, -EBUSY },
		{ 1, 0, -EOPNOTSUPP },
		{ 1, 1, -EOPNOTSUPP },
	};
	const char *gop;
	char why[128];
	size_t i;

	for (i = 0; i < VF_ARRAY_LEN(t); i++) {
		gop = NULL;
		why[0] = '\0';
		CHECK_EQ(vf_policy_key_rotate_data(t[i].remote, t[i].running,
						   &gop, why, sizeof(why)),
			 t[i].rc);
		if (t[i].rc == VF_CRITICAL)
			CHECK(gop && !strcmp(gop, "key.rotate-data"));
		else
			CHECK(why[0] != '\0');
	}
}

/* ---- stop protection -------------------------------------------------------- */

static void protection_table(void)
{
#define ON VF_PROT_ON
#define RET VF_PROT_RETAIN
#define DEL VF_PROT_DELETE
	static const struct {
		enum vf_prot_state cur;
		int pending;
		enum vf_prot_state next;
		int sd_on;
		int rc;
	} stop[] = {
		{ ON, 0, RET, 1, VF_ALLOW },
		{ ON, 0, RET, 0, VF_ALLOW }, /* retain deletes nothing */
		{ ON, 0, DEL, 1, VF_CRITICAL },
		{ RET, 0, DEL, 1, VF_CRITICAL },
		/* soft delete off: --delete would keep nothing */
		{ ON, 0, DEL, 0, -EPERM },
		{ RET, 0, DEL, 0, -EPERM },
		/* stopped already */
		{ RET, 0, RET, 1, -EINVAL },
		{ DEL, 0, RET, 1, -EINVAL },
		{ DEL, 0, DEL, 1, -EINVAL },
		{ DEL, 1, RET, 1, -EINVAL },
		/* an interrupted --delete goes on without a new approval */
		{ DEL, 1, DEL, 1, VF_ALLOW },
		{ DEL, 1, DEL, 0, VF_ALLOW },
		/* not a mode */
		{ ON, 0, ON, 1, -EINVAL },
	};
	static const struct {
		enum vf_prot_state cur;
		int pending;
		int rc;
	} resume[] = {
		{ ON, 0, -EINVAL },
		{ RET, 0, VF_ALLOW },
		{ DEL, 0, VF_ALLOW },
		{ DEL, 1, -EBUSY },
	};
	const char *gop;
	char why[128];
	size_t i;

	for (i = 0; i < VF_ARRAY_LEN(stop); i++) {
		gop = NULL;
		why[0] = '\0';
		CHECK_EQ(vf_policy_protection_stop(stop[i].cur, stop[i].pending,
						   stop[i].next, stop[i].sd_on,
						   &gop, why, sizeof(why)),
			 stop[i].rc);
		if (stop[i].rc == VF_CRITICAL)
			CHECK(gop && !strcmp(gop, "protection.stop-delete"));
		if (stop[i].rc < 0)
			CHECK(why[0] != '\0');
	}
	for (i = 0; i < VF_ARRAY_LEN(resume); i++)
		CHECK_EQ(vf_policy_protection_resume(resume[i].cur,
						     resume[i].pending, why,
						     sizeof(why)),
			 resume[i].rc);
	CHECK(!strcmp(vf_policy_prot_name(VF_PROT_ON), "on"));
	CHECK(!strcmp(vf_policy_prot_name(VF_PROT_DELETE), "stopped (delete)"));
	CHECK(!strcmp(vf_policy_prot_name((enum vf_prot_state)7), "?"));
#undef ON
#undef RET
#undef DEL
}

/* The quorum of guards: distinct approvers against the quorum, and the
 * shape of a guard set. */
static void quorum_table(void)
{
	static const struct {
		const char *name;
		int signer[4];
		size_t n;
		unsigned quorum;
		size_t distinct;
		int rc;
	} t[] = {
		{ "one of one", { 0 }, 1, 1, 1, VF_ALLOW },
		{ "one of two needed", { 0 }, 1, 2, 1, -EPERM },
		{ "two distinct of two", { 0, 1 }, 2, 2, 2, VF_ALLOW },
		{ "two copies of one guard count once", { 1, 1 }, 2, 2, 1, -EPERM },
		{ "three, two distinct, of two", { 2, 0, 2 }, 3, 2, 2, VF_ALLOW },
		{ "three copies of one of three", { 1, 1, 1 }, 3, 3, 1, -EPERM },
		{ "more than needed", { 0, 1, 2 }, 3, 1, 3, VF_ALLOW },
		{ "none", { 0 }, 0, 1, 0, -EPERM },
		{ "quorum 0 fails closed", { 0 }, 1, 0, 1, -EPERM },
		{ "four distinct of four", { 3, 2, 1, 0 }, 4, 4, 4, VF_ALLOW },
	};
	char why[160];
	size_t i;

	for (i = 0; i < VF_ARRAY_LEN(t); i++) {
		why[0] = '\0';
		CHECK_EQ(vf_policy_distinct(t[i].signer, t[i].n), t[i].distinct);
		if (vf_policy_quorum(t[i].signer, t[i].n, t[i].quorum, why,
				     sizeof(why)) != t[i].rc) {
			fprintf(stderr, "quorum case '%s'\n", t[i].name);
			CHECK(0);
		}
		if (t[i].rc)
			CHECK(strstr(why, "guards needed") && !strchr(why, '\n'));
	}
	CHECK_EQ(vf_policy_guard_set(1, 8, 1, why, sizeof(why)), VF_ALLOW);
	CHECK_EQ(vf_policy_guard_set(3, 8, 2, why, sizeof(why)), VF_ALLOW);
	CHECK_EQ(vf_policy_guard_set(8, 8, 8, why, sizeof(why)), VF_ALLOW);
	CHECK_EQ(vf_policy_guard_set(2, 8, 3, why, sizeof(why)), -EINVAL);
	CHECK(!strcmp(why, "quorum 3 is not between 1 and the 2 guard keys given"));
	CHECK_EQ(vf_policy_guard_set(2, 8, 0, why, sizeof(why)), -EINVAL);
	CHECK_EQ(vf_policy_guard_set(0, 8, 1, why, sizeof(why)), -EINVAL);
	CHECK_EQ(vf_policy_guard_set(9, 8, 1, why, sizeof(why)), -EINVAL);
}

/* Native ingest (docs/backup.md): the "unchanged?" rule, the batch rule,
 * the permission check of destination directories and chown. */
static void ingest_table(void)
{
	static const struct {
		const char *name;
		struct vf_ingest_src s;
		struct vf_ingest_dst d;
		int unchanged;
	} u[] = {
		{ "same size and mtime", { 10, 5 }, { 1, 1, 10, 5 }, 1 },
		{ "missing", { 10, 5 }, { 0, 0, 0, 0 }, 0 },
		{ "not regular", { 0, 5 }, { 1, 0, 0, 5 }, 0 },
		{ "size differs", { 11, 5 }, { 1, 1, 10, 5 }, 0 },
		{ "mtime differs by 1 ns", { 10, 6 }, { 1, 1, 10, 5 }, 0 },
		{ "empty, same time", { 0, 0 }, { 1, 1, 0, 0 }, 1 },
	};
	/* u32 version 2, then (tag u16, perm u16, id u32) entries */
	static const uint8_t acl_u1000[] = {
		2, 0, 0, 0,
		0x01, 0, 6, 0, 0xff, 0xff, 0xff, 0xff, /* user:: rw- */
		0x02, 0, 7, 0, 0xe8, 0x03, 0, 0,       /* user:1000: rwx */
		0x04, 0, 5, 0, 0xff, 0xff, 0xff, 0xff, /* group:: r-x */
		0x10, 0, 3, 0, 0xff, 0xff, 0xff, 0xff, /* mask:: -wx */
		0x20, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, /* other:: --- */
	};
	const uint32_t g5[] = { 5 }, g7[] = { 7, 9 };
	size_t i;

	for (i = 0; i < VF_ARRAY_LEN(u); i++)
		if (vf_policy_ingest_unchanged(&u[i].s, &u[i].d) !=
		    u[i].unchanged) {
			fprintf(stderr, "unchanged case '%s'\n", u[i].name);
			CHECK(0);
		}
	CHECK(!vf_policy_ingest_batch_full(0, 0));
	CHECK(!vf_policy_ingest_batch_full(VF_INGEST_BATCH_FILES - 1,
					   VF_INGEST_BATCH_BYTES - 1));
	CHECK(vf_policy_ingest_batch_full(VF_INGEST_BATCH_FILES, 0));
	CHECK(vf_policy_ingest_batch_full(1, VF_INGEST_BATCH_BYTES));

	/* mode bits: owner, group, other; root */
	CHECK(vf_policy_may_access(040755, 1, 5, NULL, 0, 1, g7, 2, 3));
	CHECK(!vf_policy_may_access(040755, 1, 5, NULL, 0, 2, g5, 1, 3));
	CHECK(vf_policy_may_access(040775, 1, 5, NULL, 0, 2, g5, 1, 3));
	CHECK(!vf_policy_may_access(040775, 1, 5, NULL, 0, 2, g7, 2, 3));
	CHECK(vf_policy_may_access(040777, 1, 5, NULL, 0, 2, g7, 2, 3));
	CHECK(!vf_policy_may_access(040577, 1, 5, NULL, 0, 1, g5, 1, 2));
	CHECK(vf_policy_may_access(040000, 1, 5, NULL, 0, 0, g5, 1, 3));
	CHECK(!vf_policy_may_access(0100644, 1, 5, NULL, 0, 0, g5, 1, 1));
	CHECK(vf_policy_may_access(0100744, 1, 5, NULL, 0, 0, g5, 1, 1));
	/* ACL: a named user under the mask; the owning group; other */
	CHECK(vf_policy_may_access(040750, 1, 5, acl_u1000, sizeof(acl_u1000),
				   1000, g7, 2, 3));
	CHECK(!vf_policy_may_access(040750, 1, 5, acl_u1000, sizeof(acl_u1000),
				    1000, g7, 2, 4));
	CHECK(vf_policy_may_access(040750, 1, 5, acl_u1000, sizeof(acl_u1000),
				   2, g5, 1, 1));
	CHECK(!vf_policy_may_access(040750, 1, 5, acl_u1000, sizeof(acl_u1000),
				    2, g5, 1, 4));
	CHECK(!vf_policy_may_access(040757, 1, 5, acl_u1000, sizeof(acl_u1000),
				    3, g7, 2, 1));
	CHECK(vf_policy_may_access(040750, 1, 5, acl_u1000, sizeof(acl_u1000),
				   1, g7, 2, 6));
	/* malformed ACL allows nothing */
	CHECK(!vf_policy_may_access(040777, 1, 5, acl_u1000, 7, 2, g7, 2, 1));

	CHECK_EQ(vf_policy_ingest_chown(0, g5, 1, 3, 4),
		 VF_INGEST_OWN_UID | VF_INGEST_OWN_GID);
	CHECK_EQ(vf_policy_ingest_chown(3, g5, 1, 3, 5),
		 VF_INGEST_OWN_UID | VF_INGEST_OWN_GID);
	CHECK_EQ(vf_policy_ingest_chown(3, g5, 1, 4, 6), 0);
	CHECK_EQ(vf_policy_ingest_chown(3, g7, 2, 3, 9), VF_INGEST_OWN_UID | VF_INGEST_OWN_GID);

	/* existing nodes: only root and the owner set mode, times, xattrs */
	{
		uint32_t m = 02755;

		CHECK_EQ(vf_policy_ingest_meta(0, g5, 1, 3, 4, &m), 0);
		CHECK_EQ(m, 02755);
		CHECK_EQ(vf_policy_ingest_meta(3, g5, 1, 3, 5, &m), 0);
		CHECK_EQ(m, 02755);
		CHECK_EQ(vf_policy_ingest_meta(3, g5, 1, 3, 4, &m), 0);
		CHECK_EQ(m, 0755); /* setgid dropped: not in group 4 */
		m = 04755;
		CHECK_EQ(vf_policy_ingest_meta(3, g7, 2, 0, 7, &m), -EPERM);
		CHECK_EQ(vf_policy_ingest_meta(3, g7, 2, 4, 3, &m), -EPERM);
	}
	/* the sticky bit: root, the entry's owner or the directory's */
	CHECK(vf_policy_may_unlink(040777, 0, 5, 3));
	CHECK(!vf_policy_may_unlink(041777, 0, 5, 3));
	CHECK(vf_policy_may_unlink(041777, 0, 3, 3));
	CHECK(vf_policy_may_unlink(041777, 3, 5, 3));
	CHECK(vf_policy_may_unlink(041777, 4, 5, 0));
}

int main(void)
{
	RUN(table);
	RUN(quorum_table);
	RUN(refused);
	RUN(weaker_table);
	RUN(weaker_property);
	RUN(immutable_table);
	RUN(temp_name_table);
	RUN(writer_table);
	RUN(df_table);
	RUN(lock_table);
	RUN(time_range);
	RUN(clock_table);
	RUN(objlock_table);
	RUN(store_clock_table);
	RUN(store_gc_table);
	RUN(posture_table);
	RUN(op_table);
	RUN(softdelete_table);
	RUN(admin_table);
	RUN(reserve_table);
	RUN(private_dir_table);
	RUN(alert_mute_table);
	RUN(tripwire_table);
	RUN(tripwire_admin_table);
	RUN(protection_table);
	RUN(key_rotate);
	RUN(key_table);
	RUN(ingest_table);
	return unit_exit();
}
