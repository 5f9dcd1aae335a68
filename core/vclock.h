/*
 * vclock.h - the vault clock, private to core/: the one time every
 * decision on time reads (purge times reached, lock finality, retention
 * and prune "now", guard token expiry), and the stamps written into the
 * catalog (docs/design.md, "Vault clock").
 *
 * The vault clock is the high-water mark saved in the catalog (meta
 * "clock.hwm"), plus at most VF_VCLOCK_CREDIT of what the wall clock says
 * passed since (vf_policy_clock_start), plus the CLOCK_MONOTONIC time
 * elapsed since the vault was opened.  A wall clock set back or forward
 * while the vault is open changes nothing; one set forward before the open
 * counts at most the credit; the vault clock never runs back.
 *
 * The functions are named for what they give (vault time), not for this
 * file.  vf_vault_now and vf_vault_stamp take no lock: the start values
 * are written once, by the open, before any other thread sees the handle.
 */
#ifndef VF_VCLOCK_H
#define VF_VCLOCK_H

#include "vault_int.h"

/* The downtime an open counts at most (ns): a reboot, a daemon restart, a
 * kill -9 that lost the last minute's mark.  Far below every horizon a
 * decision uses (72 hours of cooling-off, days of retention), so a clock
 * set ahead before a mount moves no decision by more than this. */
#define VF_VCLOCK_CREDIT (3600 * VF_NS)
/* The mark is saved at most this often (ns of vault time) by the
 * daemon's minute timer, and always at close. */
/* A wall clock behind the mark by less than this is not audited: the
 * vault clock follows CLOCK_MONOTONIC, which the kernel's frequency
 * corrections can leave a little ahead of the wall clock by the close. */
#define VF_VCLOCK_SLACK (2 * VF_NS)
#define VF_VCLOCK_SAVE_EVERY (60 * VF_NS)
/* How far the vault's time may be from a remote store's before the
 * store's wins (its Date has one-second resolution; a round trip and
 * ordinary NTP drift stay well inside). */
#define VF_VCLOCK_STORE_TOL (300 * VF_NS)

/* vault.h declares vf_vault_now (the vault time now: for decisions) and
 * vf_vault_stamp (a time to write into the catalog: commit, deletion,
 * snapshot, audit; the wall clock, for display, but never below the
 * vault clock, so anything computed from a stamp, such as purge_at, can
 * only come later). */

/* Starts the clock of a vault being opened: reads the mark (none: the wall
 * clock) and sets the start values.  *skew is the wall clock's distance
 * from the mark when it was behind it (< 0) or more than the credit ahead
 * (> 0), else 0: the open audits it.  0 or -errno (-EIO, -EBADMSG). */
VF_MUST int vf_vclock_start(struct vf_vault *v, int64_t *skew);

/* Saves the mark (the vault time now) in the catalog when it moved by
 * VF_VCLOCK_SAVE_EVERY since the last save, or at all when all is set;
 * nothing on a read-only vault.  v->mu held; in the caller's transaction
 * when one is open.  0 or -errno. */
VF_MUST int vf_vclock_save(struct vf_vault *v, int all);

/* A remote vault: how far this host's time (the later of the wall clock
 * and the vault clock) is from the store's (ns, > 0: ahead); -ENOENT
 * when there is no store reply to compare with. */
int vf_vclock_store_skew(struct vf_vault *v, int64_t *skew);

#endif
