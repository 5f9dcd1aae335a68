/*
 * alert.h - alerts: events someone must hear about at once (mass
 * deletion, refused or approved critical operations, integrity failures,
 * clock jumps, failed maintenance).
 *
 * Raising an alert only queues it (a lock of its own: callable from any
 * thread, with or without v->mu).  vf_alerts_flush, called without v->mu
 * (the daemon's timer every second, and vf_vault_close), writes each
 * queued alert into the audit log (action "alert", target the kind,
 * result the severity, detail "what; count=N"), so alerts share the
 * audit chain, and hands it to the hook the daemon set (log line and
 * alert_command).  Acknowledging writes an "alert ack" record.
 *
 * A flood stays a handful: per kind at most VF_ALERT_BURST alerts an hour
 * (vault clock); the rest are counted and named in the next one that
 * passes ("N similar suppressed").  At most VF_ALERT_QUEUE wait for a
 * flush.  A muted kind is recorded but not delivered.
 */
#ifndef VF_ALERT_H
#define VF_ALERT_H

#include "vault.h"

#define VF_ALERT_DELETE_N 1000               /* files deleted ... */
#define VF_ALERT_DELETE_WINDOW (60 * VF_NS)  /* ... within this: alert */
#define VF_ALERT_DELETE_PCT 25  /* or this share of the tree ... */
#define VF_ALERT_DELETE_MIN 50  /* ... when at least this many */
#define VF_ALERT_BURST 5
#define VF_ALERT_QUEUE 64

struct vf_alerts;

VF_MUST int vf_alerts_new(struct vf_alerts **out);
void vf_alerts_free(struct vf_alerts *al);

/* Queues an alert (see above for the rate limit). */
void vf_alert_raise(struct vf_vault *v, enum vf_alert_kind kind,
		    enum vf_alert_sev sev, uint32_t uid, uint64_t count,
		    const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Counts one deletion by uid; queues a mass-deletion alert the first time
 * a window holds VF_ALERT_DELETE_N of them, or VF_ALERT_DELETE_PCT % of
 * the entries the tree had when the window began (at least
 * VF_ALERT_DELETE_MIN: vf_policy_mass_delete).  Takes the vault lock once
 * a window (the count of live entries), so the caller must not hold it. */
void vf_alert_deleted(struct vf_vault *v, uint32_t uid);

/* Writes the queued alerts to the audit log and calls the hook for each;
 * without v->mu.  Returns how many were written, or -errno of the first
 * failure (the rest stay queued; a read-only vault drops them: it writes
 * nothing). */
int vf_alerts_flush(struct vf_vault *v);

/* Muting (admin.c decides, vf_policy_alert_mute): an alert of a muted
 * kind is still recorded (detail "...; muted") but not handed to the hook
 * until the mute ends.  Mutes live in the catalog's meta
 * ("alert.mute.<kind>": until, vault ns); vf_alerts_load reads them at
 * open, vf_alert_mute_store writes one in the caller's transaction and
 * vf_alert_mute_apply puts it in force once committed. */
VF_MUST int vf_alerts_load(struct vf_vault *v);
int64_t vf_alert_muted(struct vf_vault *v, enum vf_alert_kind k);
VF_MUST int vf_alert_mute_store(struct vf_vault *v, enum vf_alert_kind k,
				int64_t until);
void vf_alert_mute_apply(struct vf_vault *v, enum vf_alert_kind k,
			 int64_t until);
/* Alerts written since the open, per kind (metrics). */
void vf_alerts_counts(struct vf_vault *v, uint64_t out[VF_ALERT_KIND_COUNT]);

#endif
