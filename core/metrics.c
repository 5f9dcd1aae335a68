/*
 * metrics.c - the vault's numbers for monitoring (metrics.h): the sizes
 * sample, the daily sizes row and the Prometheus text exposition.
 *
 * The exposition is written family by family straight to a FILE, so its
 * memory is a few lines whatever the size of the vault; every number
 * comes from an aggregate query (count, sum) or from a counter the daemon
 * keeps (requests by opcode in fs/, commit latencies in catalog.c, alerts
 * in alert.c), never from a list of rows.  Counters the daemon keeps
 * start at 0 with each mount (a counter reset, which Prometheus' rate()
 * expects); the rest survive in the catalog.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "alert.h"
#include "metrics.h"
#include "ship.h"
#include "vault_int.h"

/* One aggregate row: columns 0 and (b not NULL) 1.  v->mu held. */
static int agg(struct vf_vault *v, enum vf_q q, uint64_t *a, uint64_t *b)
{
	return vf_catalog_counts(v->cat, q, a, b);
}

int vf_metrics_sizes(struct vf_vault *v, struct vf_sizes *out)
{
	struct vf_status st;
	struct vf_sizes s;
	int rc;

	memset(&s, 0, sizeof(s));
	rc = vf_vault_status(v, &st);
	if (rc)
		return rc;
	s.files = st.files;
	s.dirs = st.dirs;
	s.versions = st.versions;
	s.logical = st.logical_bytes;
	s.stored = st.stored_bytes;
	s.catalog = st.catalog_bytes;
	s.history = st.history_bytes;
	s.softdeleted = st.softdeleted_bytes;
	s.softdeleted_files = st.softdeleted_files;
	vf_vault_lock(v);
	rc = agg(v, VF_Q_STAT_POINTS, &s.points, NULL);
	vf_vault_unlock(v);
	if (!rc)
		*out = s;
	return rc;
}

int vf_metrics_record_day(struct vf_vault *v, const struct vf_sizes *s)
{
	sqlite3_stmt *st;
	int rc;

	if (v->readonly)
		return -EROFS;
	vf_vault_lock(v);
	rc = vf_catalog_begin(v->cat);
	if (!rc) {
		st = vf_catalog_stmt(v->cat, VF_Q_STATS_DAY_PUT);
		if (!st) {
			rc = -EIO;
		} else {
			sqlite3_bind_int64(st, 1,
					   vf_vault_stamp(v) / (86400 * VF_NS));
			sqlite3_bind_int64(st, 2, (int64_t)s->logical);
			sqlite3_bind_int64(st, 3, (int64_t)s->stored);
			sqlite3_bind_int64(st, 4, (int64_t)s->history);
			sqlite3_bind_int64(st, 5, (int64_t)s->softdeleted);
			sqlite3_bind_int64(st, 6, (int64_t)s->files);
			rc = vf_catalog_run(st);
		}
		rc = vf_catalog_finish(v->cat, rc);
	}
	vf_vault_unlock(v);
	return rc;
}

void vf_metrics_set_requests(struct vf_vault *v, const char *const *names,
			     const _Atomic uint64_t *counts, size_t n)
{
	v->req_names = names;
	v->req_counts = counts;
	v->n_req = n;
}

void vf_metrics_label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void family(FILE *f, const char *name, const char *type,
		   const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void gauge(FILE *f, const char *name, const char *help, uint64_t n)
{
	family(f, name, "gauge", help);
	fprintf(f, "%s %llu\n", name, (unsigned long long)n);
}

/* name{label="value"} n */
static void labelled(FILE *f, const char *name, const char *label,
		     const char *value, uint64_t n)
{
	fprintf(f, "%s{%s=\"", name, label);
	vf_metrics_label(f, value);
	fprintf(f, "\"} %llu\n", (unsigned long long)n);
}

static void seconds(FILE *f, int64_t ns)
{
	fprintf(f, "%lld.%09lld\n", (long long)(ns / VF_NS),
		(long long)(ns % VF_NS));
}

static void write_sizes(FILE *f, const struct vf_sizes *s)
{
	gauge(f, "vaultfs_files", "Regular files in the live tree.", s->files);
	gauge(f, "vaultfs_directories", "Directories, live and deleted.",
	      s->dirs);
	gauge(f, "vaultfs_versions", "File versions kept (one per committed close).",
	      s->versions);
	gauge(f, "vaultfs_recovery_points",
	      "Recovery points: snapshots and hours in which the tree changed.",
	      s->points);
	gauge(f, "vaultfs_softdeleted_files",
	      "Files held by soft delete until they are purged.",
	      s->softdeleted_files);
	family(f, "vaultfs_data_bytes", "gauge",
	       "Bytes by kind: logical (live files), stored (packs on disk), history (older versions), softdeleted (deleted files), catalog (catalog.db).");
	labelled(f, "vaultfs_data_bytes", "kind", "logical", s->logical);
	labelled(f, "vaultfs_data_bytes", "kind", "stored", s->stored);
	labelled(f, "vaultfs_data_bytes", "kind", "history", s->history);
	labelled(f, "vaultfs_data_bytes", "kind", "softdeleted",
		 s->softdeleted);
	labelled(f, "vaultfs_data_bytes", "kind", "catalog", s->catalog);
}

static void write_counters(struct vf_vault *v, FILE *f)
{
	uint64_t alerts[VF_ALERT_KIND_COUNT], n, sum = 0;
	size_t i;

	family(f, "vaultfs_fuse_requests_total", "counter",
	       "FUSE requests served since the mount, by opcode.");
	for (i = 0; i < v->n_req; i++)
		labelled(f, "vaultfs_fuse_requests_total", "op",
			 v->req_names[i],
			 atomic_load_explicit(&v->req_counts[i],
					      memory_order_relaxed));
	family(f, "vaultfs_catalog_commit_duration_seconds", "histogram",
	       "Time catalog transactions took to commit, since the mount.");
	for (i = 0; i < VF_CATALOG_COMMIT_BUCKETS; i++) {
		sum += __atomic_load_n(&v->cat->commit_hist[i],
				       __ATOMIC_RELAXED);
		if (i < VF_CATALOG_COMMIT_BUCKETS - 1)
			fprintf(f, "vaultfs_catalog_commit_duration_seconds_bucket{le=\"%g\"} %llu\n",
				vf_catalog_commit_le[i],
				(unsigned long long)sum);
		else
			fprintf(f, "vaultfs_catalog_commit_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
				(unsigned long long)sum);
	}
	fputs("vaultfs_catalog_commit_duration_seconds_sum ", f);
	seconds(f, (int64_t)__atomic_load_n(&v->cat->commit_ns,
					    __ATOMIC_RELAXED));
	fprintf(f, "vaultfs_catalog_commit_duration_seconds_count %llu\n",
		(unsigned long long)sum);
	vf_alerts_counts(v, alerts);
	family(f, "vaultfs_alerts_total", "counter",
	       "Alerts raised since the mount, by kind.");
	for (i = 0; i < VF_ALERT_KIND_COUNT; i++) {
		n = alerts[i];
		labelled(f, "vaultfs_alerts_total", "kind",
			 vf_alert_kind_name((enum vf_alert_kind)i), n);
	}
}

/* The last successes kept in meta (0: none). */
static void write_times(struct vf_vault *v, FILE *f)
{
	static const struct {
		const char *key, *task;
	} t[] = {
		{ "maint.ok_t", "maintenance" },
		{ "check.ok_t", "check" },
	};
	int64_t x[VF_ARRAY_LEN(t)];
	size_t i, have = 0;

	vf_vault_lock(v);
	for (i = 0; i < VF_ARRAY_LEN(t); i++) {
		if (vf_catalog_meta_get(v->cat, t[i].key, &x[i]) || x[i] <= 0)
			x[i] = 0;
		else
			have++;
	}
	vf_vault_unlock(v);
	if (!have)
		return;
	family(f, "vaultfs_last_success_timestamp_seconds", "gauge",
	       "Unix time of the last successful run, by task (maintenance, check).");
	for (i = 0; i < VF_ARRAY_LEN(t); i++)
		if (x[i]) {
			fprintf(f, "vaultfs_last_success_timestamp_seconds{task=\"%s\"} ",
				t[i].task);
			seconds(f, x[i]);
		}
}

int vf_metrics_write(struct vf_vault *v, const struct vf_posture *posture,
		     FILE *f)
{
	struct vf_ship_status ss;
	struct vf_sizes s;
	int rc;

	rc = vf_metrics_sizes(v, &s);
	if (rc)
		return rc;
	write_sizes(f, &s);
	write_counters(v, f);
	gauge(f, "vaultfs_posture_level",
	      "Security posture: 0 Poor, 1 Fair, 2 Good, 3 Excellent (vaultctl posture says why).",
	      (uint64_t)posture->level);
	vf_ship_status(v, &ss);
	if (ss.remote && !ss.offline) {
		family(f, "vaultfs_store_lag_seconds", "gauge",
		       "Age of the oldest change the remote store does not hold yet (0: it holds everything).");
		fputs("vaultfs_store_lag_seconds ", f);
		seconds(f, ss.lag > 0 ? ss.lag : 0);
		gauge(f, "vaultfs_store_pending_bytes",
		      "Pack bytes not in the remote store yet.",
		      ss.bytes_pending);
	}
	write_times(v, f);
	return ferror(f) ? -EIO : 0;
}
