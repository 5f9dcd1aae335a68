/*
 * cmd_history.c - history: retention policy (show, set), prune, gc,
 * snapshot, snapshots.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cmd_util.h"
#include "progress.h"


static void print_policy(FILE *f, const struct vf_retention *p, int json)
{
	char within[32];

	format_duration(p->keep_within, within, sizeof(within));
	if (json) {
		struct json_object *o = json_object_new_object();

		jadd_u64(o, "keep_last", p->keep_last);
		jadd_str(o, "keep_within", within);
		jadd_i64(o, "keep_within_seconds", p->keep_within / VF_NS);
		jadd_u64(o, "keep_hourly", p->keep_hourly);
		jadd_u64(o, "keep_daily", p->keep_daily);
		jadd_u64(o, "keep_weekly", p->keep_weekly);
		jadd_u64(o, "keep_monthly", p->keep_monthly);
		jadd_u64(o, "keep_yearly", p->keep_yearly);
		jadd_u64(o, "min_points", p->min_points);
		json_print(f, o);
		return;
	}
	fprintf(f, "keep-last:     %u\n", p->keep_last);
	fprintf(f, "keep-within:   %s\n", within);
	fprintf(f, "keep-hourly:   %u\n", p->keep_hourly);
	fprintf(f, "keep-daily:    %u\n", p->keep_daily);
	fprintf(f, "keep-weekly:   %u\n", p->keep_weekly);
	fprintf(f, "keep-monthly:  %u\n", p->keep_monthly);
	fprintf(f, "keep-yearly:   %u\n", p->keep_yearly);
	fprintf(f, "min-points:    %u\n", p->min_points);
	fputs("min-age:       soft-delete retention (a replaced version is kept at least that long)\n",
	      f);
	if (!p->keep_last && !p->keep_within && !p->keep_hourly &&
	    !p->keep_daily && !p->keep_weekly && !p->keep_monthly &&
	    !p->keep_yearly)
		fputs("(no rule set: prune keeps every recovery point)\n", f);
}

int cmd_policy_show(struct vf_cmd_ctx *ctx, const struct cmd *c,
		    int argc, char **argv)
{
	struct vf_admin a;
	struct vf_retention p;
	int json = 0, rc;

	rc = parse_json_only(c, ctx->err, argc, argv, NULL, 0, &json);
	if (rc)
		return rc;
	memset(&p, 0, sizeof(p));
	admin_init(ctx, &a, NULL);
	rc = vf_admin_policy_get(ctx->v, &a, &p);
	if (rc < 0)
		return say_admin(ctx, c, &a, rc);
	print_policy(ctx->out, &p, json);
	return 0;
}

int cmd_policy_set(struct vf_cmd_ctx *ctx, const struct cmd *c,
		   int argc, char **argv)
{
	const char *last = NULL, *within = NULL, *hourly = NULL, *daily = NULL,
		   *weekly = NULL, *monthly = NULL, *yearly = NULL, *min = NULL,
		   *token = NULL;
	int json = 0, rc;
	const struct opt opts[] = {
		{ "--keep-last", &last, NULL },
		{ "--keep-within", &within, NULL },
		{ "--keep-hourly", &hourly, NULL },
		{ "--keep-daily", &daily, NULL },
		{ "--keep-weekly", &weekly, NULL },
		{ "--keep-monthly", &monthly, NULL },
		{ "--keep-yearly", &yearly, NULL },
		{ "--min-points", &min, NULL },
		{ "--approval", &token, NULL },
		{ "--json", NULL, &json },
		{ NULL, NULL, NULL },
	};
	struct vf_retention p, now_p;
	struct vf_admin a;
	unsigned mask = 0;
	int64_t ns = 0;

	rc = parse_args(c, ctx->err, argc, argv, opts, NULL, 0, 0);
	if (rc)
		return rc;
	rc = check_token(ctx, c, token);
	if (rc)
		return rc;
	if (within && parse_duration(within, &ns) < 0)
		return usage_error(ctx->err, c, "option '--keep-within': '%s' is not a duration (like 30d, 12h, 90m, 2w, 1y)",
				   within);
	memset(&p, 0, sizeof(p));
	if ((last && parse_count(c, ctx->err, "--keep-last", last,
				 &p.keep_last)) ||
	    (hourly && parse_count(c, ctx->err, "--keep-hourly", hourly,
				   &p.keep_hourly)) ||
	    (daily && parse_count(c, ctx->err, "--keep-daily", daily,
				  &p.keep_daily)) ||
	    (weekly && parse_count(c, ctx->err, "--keep-weekly", weekly,
				   &p.keep_weekly)) ||
	    (monthly && parse_count(c, ctx->err, "--keep-monthly", monthly,
				    &p.keep_monthly)) ||
	    (yearly && parse_count(c, ctx->err, "--keep-yearly", yearly,
				   &p.keep_yearly)) ||
	    (min && parse_count(c, ctx->err, "--min-points", min,
				&p.min_points)))
		return 2;
	p.keep_within = ns;
	/* Options not given keep their current value: core merges them
	 * under its lock and decides whether the result keeps less. */
	mask = (last ? VF_KEEP_LAST : 0) | (within ? VF_KEEP_WITHIN : 0) |
	       (hourly ? VF_KEEP_HOURLY : 0) | (daily ? VF_KEEP_DAILY : 0) |
	       (weekly ? VF_KEEP_WEEKLY : 0) |
	       (monthly ? VF_KEEP_MONTHLY : 0) |
	       (yearly ? VF_KEEP_YEARLY : 0) | (min ? VF_KEEP_MIN_POINTS : 0);
	admin_init(ctx, &a, token);
	rc = vf_admin_policy_set(ctx->v, &a, &p, mask, &now_p);
	if (rc < 0)
		return say_admin(ctx, c, &a, rc);
	print_policy(ctx->out, &now_p, json);
	return 0;
}

static void prune_version(void *arg, const char *path, int64_t t,
			  uint64_t size)
{
	struct list_state *ps = arg;
	char ts[48];

	/* versions of one file may be a few ms apart: to the ns */
	time_format_ns(t, ts);
	if (ps->json) {
		struct json_object *o = json_object_new_object();

		jadd_str(o, "path", path ? path : "");
		jadd_str(o, "time", ts);
		jadd_i64(o, "time_ns", t);
		jadd_u64(o, "size", size);
		jpush(ps->arr, o);
	} else {
		static const char *const head[] = { "SIZE", "TIME", "PATH" };
		static const int width[] = { 10, 30, 0 };
		char sz[SIZE_TEXT_MAX];

		if (!ps->n)
			table_head(ps, head, width, 3);
		cell(ps, width[0], size_text(size, ps->exact, sz));
		cell(ps, width[1], ts);
		text_str(ps->out, path ? path : "");
		fputc('\n', ps->out);
	}
	ps->n++;
}

int cmd_prune(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
	      char **argv)
{
	struct list_state ps = { .out = ctx->out };
	struct json_object *o = NULL;
	struct vf_prune_stats st;
	struct vf_admin a;
	int dry = 0, rc, prog = 0, noprog = 0, on;
	char sz[SIZE_TEXT_MAX];
	struct progress pg;
	const struct opt opts[] = {
		{ "--dry-run", NULL, &dry },
		{ "--bytes", NULL, &ps.exact },
		{ "--no-header", NULL, &ps.scripted },
		{ "--progress", NULL, &prog },
		{ "--no-progress", NULL, &noprog },
		{ "--json", NULL, &ps.json },
		{ NULL, NULL, NULL },
	};
	FILE *f = ctx->out;

	rc = parse_args(c, ctx->err, argc, argv, opts, NULL, 0, 0);
	if (!rc)
		rc = progress_opts(c, ctx->err, prog, noprog, &on);
	if (rc)
		return rc;
	memset(&st, 0, sizeof(st));
	admin_init(ctx, &a, NULL);
	progress_init(&pg, ctx->err, on, ps.json);
	a.progress = progress_cb(&pg);
	list_begin(&ps);
	rc = vf_admin_prune(ctx->v, &a, dry, prune_version, &ps, &st);
	if (rc == -EACCES || rc == -EROFS) {
		json_object_put(ps.arr);
		return say_admin(ctx, c, &a, rc);
	}
	if (ps.json) {
		o = json_object_new_object();
		jadd_bool(o, "dry_run", dry);
		jadd(o, "removed", ps.arr);
		jadd_bool(o, "complete", rc >= 0);
		jadd_u64(o, "files", st.files);
		jadd_u64(o, "versions", st.versions);
		jadd_u64(o, "removed_count", st.removed);
		jadd_u64(o, "removed_bytes", st.removed_bytes);
		json_print(f, o);
	}
	if (rc < 0) {
		fflush(f);
		fprintf(ctx->err, "vaultctl: prune %s after %llu version%s: ",
			rc == -EPERM ? "refused" : "failed",
			(unsigned long long)st.removed,
			st.removed == 1 ? "" : "s");
		text_str(ctx->err, a.why[0] ? a.why : strerror(-rc));
		fputc('\n', ctx->err);
		return 1;
	}
	if (!ps.json)
		fprintf(f, "prune%s: %s %llu of %llu versions (%s) in %llu files\n",
			dry ? " (dry run)" : "", dry ? "would remove" : "removed",
			(unsigned long long)st.removed,
			(unsigned long long)st.versions,
			size_text(st.removed_bytes, ps.exact, sz),
			(unsigned long long)st.files);
	return 0;
}

int cmd_gc(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
	   char **argv)
{
	struct vf_gc_stats st;
	struct vf_admin a;
	char b0[SIZE_TEXT_MAX], b1[SIZE_TEXT_MAX];
	int json = 0, exact = 0, rc, prog = 0, noprog = 0, on;
	struct progress pg;
	FILE *f = ctx->out;
	const struct opt opts[] = {
		{ "--bytes", NULL, &exact },
		{ "--progress", NULL, &prog },
		{ "--no-progress", NULL, &noprog },
		{ "--json", NULL, &json },
		{ NULL, NULL, NULL },
	};

	rc = parse_args(c, ctx->err, argc, argv, opts, NULL, 0, 0);
	if (!rc)
		rc = progress_opts(c, ctx->err, prog, noprog, &on);
	if (rc)
		return rc;
	memset(&st, 0, sizeof(st));
	admin_init(ctx, &a, NULL);
	progress_init(&pg, ctx->err, on, json);
	a.progress = progress_cb(&pg);
	rc = vf_admin_gc(ctx->v, &a, &st);
	if (rc < 0)
		return say_admin(ctx, c, &a, rc);
	if (json) {
		struct json_object *o = json_object_new_object();

		jadd_u64(o, "purged", st.purged);
		jadd_u64(o, "chunks_freed", st.chunks_freed);
		jadd_u64(o, "packs_rewritten", st.packs_rewritten);
		jadd_u64(o, "packs_removed", st.packs_removed);
		jadd_u64(o, "packs_quarantined", st.packs_quarantined);
		jadd_u64(o, "stored_before", st.stored_before);
		jadd_u64(o, "stored_after", st.stored_after);
		jadd_bool(o, "busy", st.busy);
		if (st.store.remote) {
			struct json_object *r = json_object_new_object();

			jadd_u64(r, "checkpoints_deleted", st.store.ckpts_deleted);
			jadd_u64(r, "packs_deleted", st.store.packs_deleted);
			jadd_u64(r, "bytes_deleted", st.store.bytes_deleted);
			jadd_u64(r, "checkpoints_waiting", st.store.ckpts_waiting);
			jadd_u64(r, "packs_waiting", st.store.packs_waiting);
			jadd_u64(r, "refused", st.store.refused);
			jadd_u64(r, "packs_kept", st.store.kept);
			jadd_u64(r, "oldest_needed_checkpoint", st.store.floor);
			jadd_i64(r, "window_s", st.store.window / VF_NS);
			jadd(r, "next_unlock",
			     st.store.next_unlock ?
				     json_object_new_int64(st.store.next_unlock) :
				     NULL);
			jadd(o, "store", r);
		}
		jadd_bool(o, "rolled", st.rolled);
		jadd_u64(o, "packs_kept", st.packs_kept);
		jadd_u64(o, "kept_bytes", st.kept_bytes);
		jadd_u64(o, "catalog_before", st.catalog_before);
		jadd_u64(o, "catalog_after", st.catalog_after);
		jadd_bool(o, "vacuumed", st.vacuumed);
		json_print(f, o);
		return 0;
	}
	fprintf(f, "purged:           %llu (soft-deleted items past their purge time)\n",
		(unsigned long long)st.purged);
	fprintf(f, "chunks freed:     %llu\n",
		(unsigned long long)st.chunks_freed);
	fprintf(f, "packs rewritten:  %llu\n",
		(unsigned long long)st.packs_rewritten);
	fprintf(f, "packs removed:    %llu\n",
		(unsigned long long)st.packs_removed);
	if (st.packs_quarantined)
		fprintf(f, "packs quarantined: %llu (unknown to the catalog; kept in packs/%s)\n",
			(unsigned long long)st.packs_quarantined,
			VF_PACK_QUARANTINE);
	fprintf(f, "stored:           %s -> %s\n",
		size_text(st.stored_before, exact, b0),
		size_text(st.stored_after, exact, b1));
	fprintf(f, "catalog:          %s -> %s%s\n",
		size_text(st.catalog_before, exact, b0),
		size_text(st.catalog_after, exact, b1),
		st.vacuumed ? " (free pages given back)" : "");
	if (st.packs_kept)
		fprintf(f, "not freed:        %s in %llu packs that are still more than half live (rewritten once below half)\n",
			size_text(st.kept_bytes, exact, b0),
			(unsigned long long)st.packs_kept);
	if (st.busy)
		fputs("gc: some work was skipped because files were being written; run gc again later\n",
		      f);
	if (st.store.remote) {
		char when[32] = "";

		fprintf(f, "store deleted:    %llu checkpoint objects, %llu packs (%llu bytes)\n",
			(unsigned long long)st.store.ckpts_deleted,
			(unsigned long long)st.store.packs_deleted,
			(unsigned long long)st.store.bytes_deleted);
		if (st.store.next_unlock)
			vf_time_format(st.store.next_unlock * VF_NS, when);
		fprintf(f, "store waiting:    %llu checkpoint objects, %llu packs (unneeded, still locked%s%s; %llu refused by the store)\n",
			(unsigned long long)st.store.ckpts_waiting,
			(unsigned long long)st.store.packs_waiting,
			when[0] ? ": first unlocks " : "", when,
			(unsigned long long)st.store.refused);
		fprintf(f, "store kept:       %llu packs; checkpoints from %llu on (history window %lld s)\n",
			(unsigned long long)st.store.kept,
			(unsigned long long)st.store.floor,
			(long long)(st.store.window / VF_NS));
	}
	return 0;
}

/* Tags are at most 64 bytes, no control characters (one line in lists). */
static int tag_ok(const char *tag)
{
	const unsigned char *p = (const unsigned char *)tag;

	if (!*p || strlen(tag) > 64)
		return 0;
	for (; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

int cmd_snapshot(struct vf_cmd_ctx *ctx, const struct cmd *c,
		 int argc, char **argv)
{
	const char *tag = NULL;
	int json = 0, rc;
	const struct opt opts[] = {
		{ "--tag", &tag, NULL },
		{ "--json", NULL, &json },
		{ NULL, NULL, NULL },
	};
	struct vf_admin a;
	char ts[32];
	int64_t t = 0;

	rc = parse_args(c, ctx->err, argc, argv, opts, NULL, 0, 0);
	if (rc)
		return rc;
	if (tag && !tag_ok(tag))
		return usage_error(ctx->err, c, "snapshot: bad tag: 1 to 64 bytes without control characters");
	admin_init(ctx, &a, NULL);
	rc = vf_admin_snapshot(ctx->v, &a, tag, &t);
	if (rc < 0)
		return say_admin(ctx, c, &a, rc);
	vf_time_format(t, ts);
	if (json) {
		struct json_object *o = json_object_new_object();

		jadd_str(o, "time", ts);
		jadd_str(o, "tag", tag);
		json_print(ctx->out, o);
	} else {
		fprintf(ctx->out, "%s\n", ts);
	}
	return 0;
}

/* Core gives no tag (NULL) for automatic points and untagged explicit
 * ones alike: a point is its time and, when it has one, its tag. */
static int snaps_point(void *arg, int64_t t, const char *tag)
{
	struct list_state *ss = arg;
	char ts[32];

	vf_time_format(t, ts);
	if (ss->json) {
		struct json_object *o = json_object_new_object();

		jadd_str(o, "time", ts);
		jadd_str(o, "tag", tag);
		jpush(ss->arr, o);
	} else {
		static const char *const head[] = { "TIME", "TAG" };
		static const int width[] = { 20, 0 };

		if (!ss->n)
			table_head(ss, head, width, 2);
		cell(ss, width[0], ts);
		text_str(ss->out, tag ? tag : "-");
		fputc('\n', ss->out);
	}
	ss->n++;
	return 0;
}

int cmd_snapshots(struct vf_cmd_ctx *ctx, const struct cmd *c,
		  int argc, char **argv)
{
	struct list_state ss = { .out = ctx->out };
	struct vf_admin a;
	int rc;
	const struct opt opts[] = {
		{ "--no-header", NULL, &ss.scripted },
		{ "--json", NULL, &ss.json },
		{ NULL, NULL, NULL },
	};

	rc = parse_args(c, ctx->err, argc, argv, opts, NULL, 0, 0);
	if (rc)
		return rc;
	list_begin(&ss);
	admin_init(ctx, &a, NULL);
	rc = vf_admin_snapshots(ctx->v, &a, snaps_point, &ss);
	return list_end_admin(ctx, c, &ss, &a, rc);
}

/* SIZE: digits with an optional K, M, G or T (powers of 1024). */
static int parse_size(const char *s, uint64_t *out)
{
	unsigned long long n;
	unsigned shift = 0;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	switch (*end) {
	case 'K': shift = 10; break;
	case 'M': shift = 20; break;
	case 'G': shift = 30; break;
	case 'T': shift = 40; break;
	case '\0': break;
	default: return -EINVAL;
	}
	if (shift && end[1])
		return -EINVAL;
	if (n > (UINT64_MAX >> 1) >> shift)
		return -EINVAL;
	*out = (uint64_t)n << shift;
	return 0;
}

int cmd_reserve_set(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		    char **argv)
{
	const char *bytes_s = NULL, *token = NULL;
	int dflt = 0, json = 0, rc;
	const struct opt opts[] = {
		{ "--bytes", &bytes_s, NULL },
		{ "--default", NULL, &dflt },
		{ "--approval", &token, NULL },
		{ "--json", NULL, &json },
		{ NULL, NULL, NULL },
	};
	uint64_t bytes = VF_POLICY_RESERVE_DEFAULT, now_b = 0;
	struct vf_admin a;

	rc = parse_args(c, ctx->err, argc, argv, opts, NULL, 0, 0);
	if (rc)
		return rc;
	if (!!bytes_s + dflt != 1)
		return usage_error(ctx->err, c, "reserve set: give exactly one of --bytes, --default");
	if (bytes_s && parse_size(bytes_s, &bytes))
		return usage_error(ctx->err, c, "reserve set: bad size '%s': digits with an optional K, M, G or T",
				   bytes_s);
	rc = check_token(ctx, c, token);
	if (rc)
		return rc;
	/* Whether it is critical (smaller) or refused is core's decision. */
	admin_init(ctx, &a, token);
	rc = vf_admin_reserve_set(ctx->v, &a, bytes, &now_b);
	if (rc < 0)
		return say_admin(ctx, c, &a, rc);
	if (json) {
		struct json_object *o = json_object_new_object();

		jadd_u64(o, "reserve_bytes", now_b);
		jadd_bool(o, "default", dflt);
		json_print(ctx->out, o);
	} else {
		fprintf(ctx->out, "disk reserve: %llu bytes%s\n",
			(unsigned long long)now_b, dflt ? " (the default)" : "");
	}
	return 0;
}
