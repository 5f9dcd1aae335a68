/*
 * metrics.h - the vault's numbers for monitoring: the Prometheus text
 * exposition that `-o metrics=FILE` and `vaultctl metrics` print, the
 * sizes sample it shares with the report (report.h), and the daily sizes
 * row (catalog format 5, stats_daily) the report draws over time.
 *
 * Nothing here names a file, a directory or a user: metrics are read by
 * Readers and by whoever may read the metrics file.  Names and units
 * follow Prometheus' conventions (base units: bytes, seconds; counters
 * end in _total; one # HELP and # TYPE per family); docs/monitoring.md
 * lists every family.
 *
 * Request counters by FUSE opcode are kept in fs/ (one relaxed atomic
 * increment per request) and lent to the vault once, before requests are
 * served, with vf_metrics_set_requests: core reads them without knowing
 * what FUSE is.
 *
 * Threads: any thread, without v->mu (each call takes it as it needs).
 */
#ifndef VF_METRICS_H
#define VF_METRICS_H

#include <stdatomic.h>
#include <stdio.h>

#include "policy.h"
#include "vault.h"

/* A sample of the vault's sizes and counts. */
struct vf_sizes {
	uint64_t files, dirs, versions;
	uint64_t points;            /* recovery points: snapshots + hours */
	uint64_t logical;           /* current content of live files */
	uint64_t stored;            /* pack bytes */
	uint64_t history;           /* older versions (not current) */
	uint64_t softdeleted;       /* current content of soft-deleted files */
	uint64_t softdeleted_files;
	uint64_t catalog;           /* catalog.db */
};

/* Takes the sample (aggregates in SQL: no row list is held).  0 or
 * -errno. */
VF_MUST int vf_metrics_sizes(struct vf_vault *v, struct vf_sizes *out);

/* Writes s as the row of the current UTC day (vault stamp) of
 * stats_daily, replacing an earlier sample of that day.  0, -EROFS on a
 * read-only vault, or -errno. */
VF_MUST int vf_metrics_record_day(struct vf_vault *v,
				  const struct vf_sizes *s);

/* Lends the request counters (n names and counters, borrowed until the
 * vault is closed).  Call once, before requests are served. */
void vf_metrics_set_requests(struct vf_vault *v, const char *const *names,
			     const _Atomic uint64_t *counts, size_t n);

/* Writes the exposition to f: sizes (vf_metrics_sizes), requests by
 * opcode, the catalog commit latency histogram, alerts by kind since the
 * open, grade (posture level 0 Poor .. 3 Excellent), store lag and
 * pending bytes of a remote vault, the last successful maintenance and
 * check.  0, or -errno (-EIO when f failed). */
VF_MUST int vf_metrics_write(struct vf_vault *v,
			     const struct vf_posture *posture, FILE *f);

/* Writes a Prometheus label value to f, escaped (backslash, double quote
 * and newline), without the quotes. */
void vf_metrics_label(FILE *f, const char *s);

#endif
