/*
 * audit.h - the tamper-evident audit log (README.md, Audit log), private to core/.
 * audit.c describes the record and chain layout; the entry points tools/
 * and the daemon call are in vault.h ("audit log").
 *
 * Locking rule.
 * - The log itself (tables audit and audit_head) is catalog state: it is
 *   written and read with v->mu held, like every other table.
 * - The denied-access counters (vf_audit_denied) have their own mutex
 *   inside struct vf_audit.  Order: v->mu before that mutex; it is held
 *   only for a few loads and stores and nothing is ever locked while it
 *   is held.  vf_audit_denied never blocks on v->mu, so it may be called
 *   with or without v->mu held, from any thread.
 * - A minute's counts are written as records once the minute is over, by
 *   whoever holds v->mu with no transaction open: vf_audit_denied itself
 *   when v->mu is free (pthread_mutex_trylock; a caller holding v->mu
 *   makes the try fail, so it never runs inside a caller's critical
 *   section), every vf_audit_record outside a transaction, the audit
 *   entry points of vault.h, and vf_vault_audit_flush (the daemon's timer,
 *   and vf_vault_close with all counts).  Never inside a caller's
 *   transaction: a refusal is usually followed by a rollback, which would
 *   take the record with it.
 */
#ifndef VF_AUDIT_H
#define VF_AUDIT_H

#include "vault_int.h"

#define VF_AUDIT_MAC_BYTES 32
/* Longer action, target, result or detail strings are cut to this many
 * bytes: an event is recorded rather than refused for a long path. */
#define VF_AUDIT_FIELD_MAX 4096
/* (uid, operation, minute) counters of denied accesses; more distinct
 * pairs in one minute are counted together as op "other". */
#define VF_AUDIT_DENY_SLOTS 64

struct vf_audit;

/* The audit state hung on v->audit (the denied-access counters):
 * vf_vault_open makes it, vf_vault_close frees it after
 * vf_vault_audit_flush.  0 or -ENOMEM.  vf_audit_free accepts NULL. */
VF_MUST int vf_audit_new(struct vf_audit **out);
void vf_audit_free(struct vf_audit *a);

/* Appends one record (time t in ns, uid, action, target, result, detail)
 * and moves the chain head to it: one select, one insert and one update
 * of a single-row table.  action and result must not be NULL (-EINVAL);
 * target and detail may be (kept as NULL); each is cut to
 * VF_AUDIT_FIELD_MAX bytes.  v->mu held.  Runs inside the caller's
 * transaction when one is open, so the record commits or rolls back with
 * the change it describes (and a failure here fails that transaction);
 * otherwise in its own, which first writes the denied-access counts of
 * finished minutes.  0 or -errno (-ENOSPC, -EIO, -EBADMSG). */
VF_MUST int vf_audit_record(struct vf_vault *v, int64_t t, uint32_t uid,
			    const char *action, const char *target,
			    const char *result, const char *detail);

/* Counts an event of a kind too frequent to record one by one (denied
 * accesses, deletions, integrity failures): one record per (action, uid,
 * op, minute) with detail "count=N", written as vf_audit_denied's are.
 * action and result must be static strings (compared by address). */
void vf_audit_count(struct vf_vault *v, const char *action,
		    const char *result, uint32_t uid, const char *op,
		    int64_t now);

/* Records a refusal (immutability, retention, always-on): one line kept
 * on the handle for the CLI and, with issue 6, the audit log.  v->mu
 * held or not (it has its own lock). */
void vf_vault_deny(struct vf_vault *v, uint32_t uid, const char *what,
		   uint64_t ino, const char *why);

/* Records a denied file access (no role for it): counted per uid and
 * operation, so a flood cannot fill the audit log. */
void vf_vault_deny_access(struct vf_vault *v, uint32_t uid, const char *op);

#endif
