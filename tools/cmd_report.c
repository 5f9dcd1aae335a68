/*
 * cmd_report.c - vaultctl metrics and vaultctl report: one gate call each
 * (admin.h), printed as Prometheus text (metrics) or as text, JSON or an
 * HTML page (report; the page is drawn by report_html.c).
 *
 * --out FILE never reaches this code from vaultctl: vaultctl writes the
 * output to FILE itself, as its caller (vaultctl.c), so that the daemon
 * never creates files on a user's behalf.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_util.h"
#include "report.h"
#include "report_html.h"

#define DAY_NS (86400 * VF_NS)
#define SINCE_DEFAULT (30 * DAY_NS)

int cmd_metrics(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		char **argv)
{
	struct vf_admin a;
	int rc;

	rc = parse_args(c, ctx->err, argc, argv, NULL, NULL, 0, 0);
	if (rc)
		return rc;
	admin_init(ctx, &a, NULL);
	rc = vf_admin_metrics(ctx->v, &a, ctx->out);
	return rc < 0 ? say_admin(ctx, c, &a, rc) : 0;
}

/* "2026-12-05" of UTC day number d. */
static void day_text(int64_t d, char buf[32])
{
	vf_time_format(d * DAY_NS, buf);
	buf[10] = '\0';
}

static struct json_object *sizes_json(const struct vf_sizes *s)
{
	struct json_object *o = json_object_new_object();

	jadd_u64(o, "files", s->files);
	jadd_u64(o, "dirs", s->dirs);
	jadd_u64(o, "versions", s->versions);
	jadd_u64(o, "recovery_points", s->points);
	jadd_u64(o, "logical_bytes", s->logical);
	jadd_u64(o, "stored_bytes", s->stored);
	jadd_u64(o, "history_bytes", s->history);
	jadd_u64(o, "softdeleted_bytes", s->softdeleted);
	jadd_u64(o, "softdeleted_files", s->softdeleted_files);
	jadd_u64(o, "catalog_bytes", s->catalog);
	return o;
}

static void report_json(FILE *f, const struct vf_report *r,
			const char *target)
{
	struct json_object *o = json_object_new_object();
	struct json_object *days = json_object_new_array();
	struct json_object *al = json_object_new_object();
	struct json_object *kinds = json_object_new_object();
	struct json_object *latest = json_object_new_array();
	struct json_object *dirs = json_object_new_array();
	char t[32];
	size_t i;

	vf_time_format(r->since, t);
	jadd_str(o, "since", t);
	vf_time_format(r->now, t);
	jadd_str(o, "until", t);
	jadd(o, "now", sizes_json(&r->sizes));
	for (i = 0; i < r->ndays; i++) {
		const struct vf_report_day *d = &r->days[i];
		struct json_object *e = json_object_new_object();

		day_text(d->day, t);
		jadd_str(e, "day", t);
		jadd(e, "logical_bytes", d->have_sizes ? json_object_new_int64((int64_t)d->logical) : NULL);
		jadd(e, "stored_bytes", d->have_sizes ? json_object_new_int64((int64_t)d->stored) : NULL);
		jadd(e, "history_bytes", d->have_sizes ? json_object_new_int64((int64_t)d->history) : NULL);
		jadd(e, "softdeleted_bytes", d->have_sizes ? json_object_new_int64((int64_t)d->softdeleted) : NULL);
		jadd_u64(e, "recovery_points", d->points);
		jadd_u64(e, "changed_files", d->changed);
		jadd_u64(e, "deleted_files", d->deleted);
		jadd_u64(e, "restored_files", d->restored);
		jpush(days, e);
	}
	jadd(o, "days", days);
	for (i = 0; i < VF_ALERT_KIND_COUNT; i++)
		jadd_u64(kinds, vf_alert_kind_name((enum vf_alert_kind)i),
			 r->alerts_by_kind[i]);
	jadd(al, "by_kind", kinds);
	for (i = 0; i < r->nalerts; i++) {
		struct json_object *e = json_object_new_object();

		vf_time_format(r->alerts[i].t, t);
		jadd_str(e, "time", t);
		jadd_str(e, "kind", r->alerts[i].kind);
		jadd_str(e, "severity", r->alerts[i].sev);
		jadd_str(e, "what", r->alerts[i].what);
		jpush(latest, e);
	}
	jadd(al, "latest", latest);
	jadd(o, "alerts", al);
	jadd(o, "posture", posture_json(&r->posture, target));
	for (i = 0; i < r->ndirs; i++) {
		struct json_object *e = json_object_new_object();

		jadd_str(e, "path", r->dirs[i].path);
		jadd_u64(e, "bytes", r->dirs[i].bytes);
		jadd_u64(e, "files", r->dirs[i].files);
		jpush(dirs, e);
	}
	jadd(o, "top_directories", dirs);
	json_print(f, o);
}

static void report_text(FILE *f, const struct vf_report *r,
			const char *target)
{
	const struct vf_sizes *s = &r->sizes;
	char a[32], b[32];
	size_t i;

	vf_time_format(r->since, a);
	vf_time_format(r->now, b);
	fprintf(f, "report:   %s to %s (%zu days, UTC)\n", a, b, r->ndays);
	fprintf(f, "now:      %llu files, %llu versions, %llu recovery points\n",
		(unsigned long long)s->files, (unsigned long long)s->versions,
		(unsigned long long)s->points);
	fprintf(f, "bytes:    logical %llu, stored %llu, history %llu, soft-deleted %llu (%llu files)\n",
		(unsigned long long)s->logical, (unsigned long long)s->stored,
		(unsigned long long)s->history,
		(unsigned long long)s->softdeleted,
		(unsigned long long)s->softdeleted_files);
	posture_text(f, &r->posture, target);
	fprintf(f, "\nby day (UTC)  %14s %14s %14s %14s %7s %8s %8s %8s\n",
		"logical", "stored", "history", "softdeleted", "points",
		"changed", "deleted", "restored");
	for (i = 0; i < r->ndays; i++) {
		const struct vf_report_day *d = &r->days[i];

		day_text(d->day, a);
		if (d->have_sizes)
			fprintf(f, "  %s  %14llu %14llu %14llu %14llu", a,
				(unsigned long long)d->logical,
				(unsigned long long)d->stored,
				(unsigned long long)d->history,
				(unsigned long long)d->softdeleted);
		else
			fprintf(f, "  %s  %14s %14s %14s %14s", a, "-", "-",
				"-", "-");
		fprintf(f, " %7llu %8llu %8llu %8llu\n",
			(unsigned long long)d->points,
			(unsigned long long)d->changed,
			(unsigned long long)d->deleted,
			(unsigned long long)d->restored);
	}
	fputs("\nalerts:  ", f);
	for (i = 0; i < VF_ALERT_KIND_COUNT; i++)
		fprintf(f, "%s%s %llu", i ? ", " : "",
			vf_alert_kind_name((enum vf_alert_kind)i),
			(unsigned long long)r->alerts_by_kind[i]);
	fputc('\n', f);
	for (i = 0; i < r->nalerts; i++) {
		vf_time_format(r->alerts[i].t, a);
		fprintf(f, "  %s  %s  %s  ", a, r->alerts[i].kind,
			r->alerts[i].sev);
		text_str(f, r->alerts[i].what);
		fputc('\n', f);
	}
	fputs("\ntop directories by growth (bytes of versions written in the period):\n",
	      f);
	for (i = 0; i < r->ndirs; i++) {
		fprintf(f, "  %14llu %6llu files  ",
			(unsigned long long)r->dirs[i].bytes,
			(unsigned long long)r->dirs[i].files);
		text_str(f, r->dirs[i].path);
		fputc('\n', f);
	}
}

int cmd_report(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
	       char **argv)
{
	const char *target = ctx->target ? ctx->target : "TARGET";
	const char *since_s = NULL, *format = "text", *out = NULL;
	const struct opt opts[] = {
		{ "--since", &since_s, NULL },
		{ "--format", &format, NULL },
		{ "--out", &out, NULL },
		{ NULL, NULL, NULL },
	};
	struct vf_report *r;
	struct vf_admin a;
	int64_t since, d;
	int rc;

	rc = parse_args(c, ctx->err, argc, argv, opts, NULL, 0, 0);
	if (rc)
		return rc;
	if (out)
		return usage_error(ctx->err, c, "report: option '--out' is vaultctl's: it writes the file as you");
	if (strcmp(format, "text") && strcmp(format, "json") &&
	    strcmp(format, "html"))
		return usage_error(ctx->err, c, "report: option '--format': '%s' is not text, json or html",
				   format);
	since = vf_clock_now() - SINCE_DEFAULT;
	if (since_s) {
		if (parse_duration(since_s, &d) < 0 || d <= 0)
			return usage_error(ctx->err, c, "report: option '--since': '%s' is not a duration (like 7d, 12h)",
					   since_s);
		since = d > vf_clock_now() ? 0 : vf_clock_now() - d;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return say_failed(ctx, "building the report", -ENOMEM);
	admin_init(ctx, &a, NULL);
	rc = vf_admin_report(ctx->v, &a, since, r);
	if (rc < 0) {
		free(r);
		return say_admin(ctx, c, &a, rc);
	}
	if (!strcmp(format, "json"))
		report_json(ctx->out, r, target);
	else if (!strcmp(format, "html"))
		report_html(ctx->out, r, target);
	else
		report_text(ctx->out, r, target);
	free(r);
	return 0;
}
