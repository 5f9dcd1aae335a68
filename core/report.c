/*
 * report.c - the usage report's data (report.h): per-day series, alerts
 * and top directories, each one aggregate query over the catalog.
 *
 * Days are UTC day numbers; the series has one entry per day from the day
 * of since to the day of now, at most VF_REPORT_DAYS_MAX (the earliest are
 * dropped).  A query's row for a day outside the series is ignored.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ns.h"
#include "report.h"
#include "vault_int.h"

#define DAY_NS (86400 * VF_NS)

/* The series entry of day d, or NULL when outside. */
static struct vf_report_day *day_of(struct vf_report *r, int64_t d)
{
	if (!r->ndays || d < r->days[0].day ||
	    d > r->days[r->ndays - 1].day)
		return NULL;
	return &r->days[d - r->days[0].day];
}

/* Runs q with ?1 = a (and ?2 = b when b >= 0), calling row for each row.
 * v->mu held. */
static int each_row(struct vf_vault *v, enum vf_q q, int64_t a, int64_t b,
		    void (*row)(struct vf_report *, sqlite3_stmt *),
		    struct vf_report *r)
{
	sqlite3_stmt *st = vf_catalog_stmt(v->cat, q);
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, a);
	if (b >= 0)
		sqlite3_bind_int64(st, 2, b);
	while ((rc = vf_catalog_row(st)) == 1)
		row(r, st);
	sqlite3_reset(st);
	return rc;
}

static void row_sizes(struct vf_report *r, sqlite3_stmt *st)
{
	struct vf_report_day *d = day_of(r, sqlite3_column_int64(st, 0));

	if (!d)
		return;
	d->have_sizes = 1;
	d->logical = (uint64_t)sqlite3_column_int64(st, 1);
	d->stored = (uint64_t)sqlite3_column_int64(st, 2);
	d->history = (uint64_t)sqlite3_column_int64(st, 3);
	d->softdeleted = (uint64_t)sqlite3_column_int64(st, 4);
}

static void row_points(struct vf_report *r, sqlite3_stmt *st)
{
	struct vf_report_day *d = day_of(r, sqlite3_column_int64(st, 0));

	if (d)
		d->points += (uint64_t)sqlite3_column_int64(st, 1);
}

static void row_changed(struct vf_report *r, sqlite3_stmt *st)
{
	struct vf_report_day *d = day_of(r, sqlite3_column_int64(st, 0));

	if (d)
		d->changed = (uint64_t)sqlite3_column_int64(st, 1);
}

static void row_audit(struct vf_report *r, sqlite3_stmt *st)
{
	struct vf_report_day *d = day_of(r, sqlite3_column_int64(st, 0));

	if (!d)
		return;
	if (sqlite3_column_int(st, 1))
		d->deleted = (uint64_t)sqlite3_column_int64(st, 2);
	else
		d->restored = (uint64_t)sqlite3_column_int64(st, 2);
}

static void copy_text(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);

	snprintf(dst, cap, "%s", s ? (const char *)s : "");
}

static void row_alert_kind(struct vf_report *r, sqlite3_stmt *st)
{
	char kind[32];
	int k;

	copy_text(kind, sizeof(kind), st, 0);
	for (k = 0; k < VF_ALERT_KIND_COUNT; k++)
		if (!strcmp(kind, vf_alert_kind_name((enum vf_alert_kind)k)))
			r->alerts_by_kind[k] =
				(uint64_t)sqlite3_column_int64(st, 1);
}

static void row_alert(struct vf_report *r, sqlite3_stmt *st)
{
	struct vf_report_alert *a;

	if (r->nalerts >= VF_REPORT_ALERTS)
		return;
	a = &r->alerts[r->nalerts++];
	a->t = sqlite3_column_int64(st, 0);
	copy_text(a->kind, sizeof(a->kind), st, 1);
	copy_text(a->sev, sizeof(a->sev), st, 2);
	copy_text(a->what, sizeof(a->what), st, 3);
}

/* The directory's node id waits in path until its path is looked up. */
static void row_dir(struct vf_report *r, sqlite3_stmt *st)
{
	struct vf_report_dir *d;

	if (r->ndirs >= VF_REPORT_TOP)
		return;
	d = &r->dirs[r->ndirs++];
	memset(d, 0, sizeof(*d));
	snprintf(d->path, sizeof(d->path), "%lld",
		 (long long)sqlite3_column_int64(st, 0));
	d->bytes = (uint64_t)sqlite3_column_int64(st, 1);
	d->files = (uint64_t)sqlite3_column_int64(st, 2);
}

static int top_dirs(struct vf_vault *v, struct vf_report *r)
{
	size_t i;
	int rc;

	rc = each_row(v, VF_Q_REPORT_TOP_DIRS, r->since, VF_REPORT_TOP,
		      row_dir, r);
	for (i = 0; !rc && i < r->ndirs; i++) {
		uint64_t id = strtoull(r->dirs[i].path, NULL, 10);

		rc = vf_ns_dir_path(v, id, r->dirs[i].path,
				    sizeof(r->dirs[i].path));
		if (rc == -ENAMETOOLONG || rc == -ENOENT) {
			/* gone or too deep since: named so, not failed */
			snprintf(r->dirs[i].path, sizeof(r->dirs[i].path),
				 "(directory #%llu)", (unsigned long long)id);
			rc = 0;
		}
	}
	return rc;
}

int vf_report_build(struct vf_vault *v, int64_t since, int64_t now,
		    struct vf_report *r)
{
	int64_t d0, d1, d;
	struct vf_report_day *today;
	int rc;

	if (since > now)
		since = now;
	d0 = since / DAY_NS;
	d1 = now / DAY_NS;
	if (d1 - d0 + 1 > VF_REPORT_DAYS_MAX)
		d0 = d1 - VF_REPORT_DAYS_MAX + 1;
	r->since = since;
	r->now = now;
	for (d = d0; d <= d1; d++)
		r->days[r->ndays++].day = d;
	rc = vf_metrics_sizes(v, &r->sizes);
	if (rc)
		return rc;
	vf_vault_lock(v);
	rc = each_row(v, VF_Q_STATS_DAYS, d0, -1, row_sizes, r);
	if (!rc)
		rc = each_row(v, VF_Q_REPORT_POINTS, d0, -1, row_points, r);
	if (!rc)
		rc = each_row(v, VF_Q_REPORT_CHANGED, d0, -1, row_changed, r);
	if (!rc)
		rc = each_row(v, VF_Q_REPORT_AUDIT_DAYS, d0, -1, row_audit, r);
	if (!rc)
		rc = each_row(v, VF_Q_REPORT_ALERT_KINDS, since, -1,
			      row_alert_kind, r);
	if (!rc)
		rc = each_row(v, VF_Q_REPORT_ALERT_LAST, since,
			      VF_REPORT_ALERTS, row_alert, r);
	if (!rc)
		rc = top_dirs(v, r);
	vf_vault_unlock(v);
	if (rc)
		return rc;
	/* today is the live sample */
	today = &r->days[r->ndays - 1];
	today->have_sizes = 1;
	today->logical = r->sizes.logical;
	today->stored = r->sizes.stored;
	today->history = r->sizes.history;
	today->softdeleted = r->sizes.softdeleted;
	return 0;
}
