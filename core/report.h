/*
 * report.h - the usage report (`vaultctl report`): what the vault held
 * and what happened to it over a period, by UTC day, as one struct that
 * tools/ print as text, JSON or an HTML page.
 *
 * Where each part comes from (nothing is kept for the report alone but
 * the daily sizes):
 *   sizes by day       stats_daily (catalog format 5), a sample the
 *                      daemon writes with each maintenance run; today is
 *                      the live sample
 *   recovery points    the activity hours and explicit snapshots of the
 *                      day (the points .snapshots lists)
 *   changed files      distinct files with a version committed that day
 *   deleted, restored  the audit log's "delete" and "undelete" records
 *   alerts             the audit log's "alert" records: count by kind and
 *                      the latest VF_REPORT_ALERTS
 *   top directories    bytes of versions committed in the period, by the
 *                      directory the file lives in now (live files only)
 * Everything is aggregated in SQL (GROUP BY, LIMIT): memory is the struct,
 * whatever the size of the vault.
 *
 * The report names directories, so it needs more than a Reader (policy.c:
 * Operator); the gate is vf_admin_report (admin.h), which also fills the
 * posture.
 */
#ifndef VF_REPORT_H
#define VF_REPORT_H

#include "metrics.h"
#include "policy.h"
#include "vault.h"

#define VF_REPORT_DAYS_MAX 366 /* a longer period is cut to its last days */
#define VF_REPORT_TOP 10
#define VF_REPORT_ALERTS 10

struct vf_report_day {
	int64_t day;      /* UTC day number: t / 86400 s */
	int have_sizes;   /* a sample of this day exists */
	uint64_t logical, stored, history, softdeleted;
	uint64_t points, changed, deleted, restored;
};

struct vf_report_dir {
	char path[VF_PATH_MAX + 1]; /* live path, leading "/" */
	uint64_t bytes;             /* of versions committed in the period */
	uint64_t files;             /* files those versions belong to */
};

struct vf_report_alert {
	int64_t t;
	char kind[32], sev[16];
	char what[VF_ALERT_WHAT_MAX + 32];
};

struct vf_report {
	int64_t since, now;          /* ns, vault stamps */
	struct vf_sizes sizes;       /* now */
	size_t ndays;                /* days[0] is the day of since */
	struct vf_report_day days[VF_REPORT_DAYS_MAX];
	uint64_t alerts_by_kind[VF_ALERT_KIND_COUNT];
	size_t nalerts;              /* newest first */
	struct vf_report_alert alerts[VF_REPORT_ALERTS];
	size_t ndirs;                /* largest first */
	struct vf_report_dir dirs[VF_REPORT_TOP];
	struct vf_posture posture;   /* filled by vf_admin_report */
};

/* Fills r (from the zeroed state) for the period from since to now (both
 * ns), but the posture.  0 or -errno. */
VF_MUST int vf_report_build(struct vf_vault *v, int64_t since, int64_t now,
			    struct vf_report *r);

#endif
