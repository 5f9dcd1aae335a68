/*
 * admin.h - the administrative gate: every administrative operation on a
 * vault, whoever asks (vaultctl offline, the daemon for a request on its
 * control socket, the daemon's own timers, a future API).
 *
 * One path for all of them (admin.c), in one lock scope and, for a change,
 * one catalog transaction:
 *
 *   role          the caller's role against the operation's least role
 *                 (policy.c's table, README.md Roles); refusals are counted per uid
 *                 and minute in the audit log, not written one by one;
 *   state         read under the lock, on the resolved object (a directory
 *                 or a soft-deleted item by its node or row, not a path
 *                 read earlier);
 *   decision      a pure function of policy.c: allowed, critical (needs
 *                 the guard's approval, README.md The guard) or refused whoever
 *                 approves (then no approval is asked for or spent);
 *   approval      for a critical change, the guard's token must approve
 *                 exactly this operation and its canonical parameters,
 *                 which bind the object's identity (node or row id) as
 *                 well as the name shown; the token's nonce is recorded in
 *                 the same transaction as the change, so it is spent
 *                 exactly when the change commits;
 *   change        the feature's store function (trash, immut, gc, authz,
 *                 guard);
 *   audit         the record of the change, in the same transaction: if it
 *                 cannot be written, nothing changes (fails closed).
 *                 Every approval decision is recorded ("approval", op,
 *                 allowed/requested/refused); a refused change is recorded
 *                 after its transaction rolled back.
 *
 * Reading operations (status, lists, show) pass the role check only.
 *
 * Results: 0 on success, else a negative errno with one line in a->why:
 * -EACCES no role; -EPERM refused by a lock, always-on, the immutable
 * vault or a missing or bad approval (a->request then holds a request
 * code for the guard holder when one is needed); -EINVAL out of range or
 * nothing to change; -ENOENT no such object; -EROFS read-only vault;
 * -EBUSY in use; -EIO, -ENOSPC, -ENOMEM.
 *
 * Threads: any thread; each call takes v->mu as it needs.
 */
#ifndef VF_ADMIN_H
#define VF_ADMIN_H

#include <stdio.h>

#include "vault.h"

#define VF_ADMIN_WHY_MAX VF_GUARD_WHY_MAX

/* One administrative request: who asks, with what approval; what went
 * wrong.  Made by vf_admin_init. */
struct vf_admin {
	struct vf_caller caller;
	const char *approval; /* the guard's token, or NULL */
	int64_t now;          /* 0: the clock; unit tests pass a time */
	/* where check, gc and prune report their progress (borrowed; NULL,
	 * as vf_admin_init leaves it: nowhere) */
	const struct vf_progress *progress;
	char why[VF_ADMIN_WHY_MAX];
	char request[VF_GUARD_TEXT_MAX];
};

/* Sets up a for caller c (copied) and approval (borrowed; NULL: none). */
void vf_admin_init(struct vf_admin *a, const struct vf_caller *c,
		   const char *approval);

/* A lock's state at now, for display: 0 none, 1 pending, 2 final. */
int vf_admin_lock_state(int64_t lock_at, int64_t now);

/* ---- the vault --------------------------------------------------------- */

VF_MUST int vf_admin_status(struct vf_vault *v, struct vf_admin *a,
			    struct vf_status *out);
/* A remote vault: waits until its store holds everything committed
 * before the call (ship.h, vf_ship_sync), at most timeout_s seconds; the
 * reason in a->why.  Needs the role of status (it changes nothing). */
VF_MUST int vf_admin_sync(struct vf_vault *v, struct vf_admin *a,
			  int timeout_s);
/* Returns the number of problems reported to cb (>= 0), or -errno. */
VF_MUST int vf_admin_check(struct vf_vault *v, struct vf_admin *a,
			   int read_data, vf_check_cb cb, void *arg);

/* ---- the disk reserve ---------------------------------------------------- */

/* Sets the disk reserve (policy.h) to bytes, VF_POLICY_RESERVE_DEFAULT for
 * the default; a smaller reserve is critical (vf_policy_reserve_change).
 * On success *out (may be NULL) is the reserve now in force, in bytes. */
VF_MUST int vf_admin_reserve_set(struct vf_vault *v, struct vf_admin *a,
				 uint64_t bytes, uint64_t *out);

/* ---- history ------------------------------------------------------------ */

VF_MUST int vf_admin_snapshot(struct vf_vault *v, struct vf_admin *a,
			      const char *tag, int64_t *t);
VF_MUST int vf_admin_snapshots(struct vf_vault *v, struct vf_admin *a,
			       vf_snap_cb cb, void *arg);
VF_MUST int vf_admin_policy_get(struct vf_vault *v, struct vf_admin *a,
				struct vf_retention *out);

/* Bits of vf_admin_policy_set's mask: which fields of the new policy are
 * given (the others keep their current value, read under the lock). */
#define VF_KEEP_LAST (1u << 0)
#define VF_KEEP_WITHIN (1u << 1)
#define VF_KEEP_HOURLY (1u << 2)
#define VF_KEEP_DAILY (1u << 3)
#define VF_KEEP_WEEKLY (1u << 4)
#define VF_KEEP_MONTHLY (1u << 5)
#define VF_KEEP_YEARLY (1u << 6)
#define VF_KEEP_MIN_POINTS (1u << 7)

/* Sets the fields of p named by mask; a policy that may keep less is
 * critical, and refused on an immutable vault.  *out (may be NULL) gets
 * the policy now in force. */
VF_MUST int vf_admin_policy_set(struct vf_vault *v, struct vf_admin *a,
				const struct vf_retention *p, unsigned mask,
				struct vf_retention *out);
VF_MUST int vf_admin_prune(struct vf_vault *v, struct vf_admin *a, int dry_run,
			   vf_prune_cb cb, void *arg,
			   struct vf_prune_stats *st);
VF_MUST int vf_admin_gc(struct vf_vault *v, struct vf_admin *a,
			struct vf_gc_stats *st);

/* The daemon's periodic upkeep (prune by the policy, then gc, which
 * purges what soft delete holds past its time), run as a->caller. */
struct vf_maint_stats {
	struct vf_prune_stats prune;
	struct vf_gc_stats gc;
};
/* The daemon's upkeep: prune by the retention policy, then gc (purges
 * soft-deleted items past their time).  A run that removed anything, or
 * failed, leaves an audit record "maintenance" saying what; detail gets
 * the same line (or "nothing to do", or the failure) for the log. */
VF_MUST int vf_admin_maintain(struct vf_vault *v, struct vf_admin *a,
			      struct vf_maint_stats *st, char *detail,
			      size_t cap);

/* ---- soft delete -------------------------------------------------------- */

VF_MUST int vf_admin_softdelete_get(struct vf_vault *v, struct vf_admin *a,
				    struct vf_softdelete *out);
/* *out (may be NULL) gets the settings now in force. */
VF_MUST int vf_admin_softdelete_set(struct vf_vault *v, struct vf_admin *a,
				    enum vf_sd_change what, unsigned days,
				    struct vf_softdelete *out);
VF_MUST int vf_admin_softdelete_list(struct vf_vault *v, struct vf_admin *a,
				     vf_trash_cb cb, void *arg);
/* Early purge of the item at path (as under .softdeleted) and everything
 * below it: critical; the approval binds the item (row, deletion time,
 * size, files).  *n gets the items removed. */
VF_MUST int vf_admin_softdelete_purge(struct vf_vault *v, struct vf_admin *a,
				      const char *path, uint64_t *n);

/* ---- immutability ------------------------------------------------------- */

/* Makes directory path immutable or changes its rule (have_days: days is
 * given, 0 forever; lock: ask for the lock).  *out (may be NULL) gets the
 * rule now in force. */
VF_MUST int vf_admin_immutable_set(struct vf_vault *v, struct vf_admin *a,
				   const char *path, int have_days,
				   unsigned days, int lock,
				   struct vf_imm_state *out);
/* Removes the rule, or with unlock_only cancels its pending lock. */
VF_MUST int vf_admin_immutable_clear(struct vf_vault *v, struct vf_admin *a,
				     const char *path, int unlock_only);
VF_MUST int vf_admin_immutable_list(struct vf_vault *v, struct vf_admin *a,
				    vf_imm_cb cb, void *arg);
VF_MUST int vf_admin_immutable_vault_get(struct vf_vault *v,
					 struct vf_admin *a,
					 struct vf_imm_vault *out);
/* *out (may be NULL) gets the setting now in force. */
VF_MUST int vf_admin_immutable_vault_set(struct vf_vault *v,
					 struct vf_admin *a,
					 enum vf_iv_change what,
					 struct vf_imm_vault *out);

/* ---- roles and the guard ------------------------------------------------ */

/* Grants role to a uid (is_group 0) or gid; VF_ROLE_NONE revokes.  *was
 * (may be NULL) gets the role it had. */
VF_MUST int vf_admin_role_grant(struct vf_vault *v, struct vf_admin *a,
				int is_group, uint32_t id, enum vf_role role,
				enum vf_role *was);
VF_MUST int vf_admin_role_list(struct vf_vault *v, struct vf_admin *a,
			       vf_role_cb cb, void *arg);
/* Arms the vault with the guards keys[0..nkeys) (each "vfguard1:..." or
 * an OpenSSH "ssh-ed25519 ..." / "sk-ssh-ed25519@openssh.com ..." line),
 * quorum (1..nkeys) of which must then approve each critical operation.
 * Returns 0, or 1 when exactly these keys and quorum are attached already
 * (nothing changes).  Changing the guards or the quorum is critical: the
 * current quorum approves it; arming an unguarded vault is not.  -EINVAL
 * for a key that is neither format, one given twice, more than
 * VF_GUARD_SET_MAX or a quorum out of range.  old_fprs (may be NULL,
 * VF_GUARD_FPRS_TEXT bytes) gets the replaced keys' fingerprints,
 * comma-separated ("" when there were none). */
VF_MUST int vf_admin_guard_attach(struct vf_vault *v, struct vf_admin *a,
				  const char *const *keys, size_t nkeys,
				  unsigned quorum, char *old_fprs);
/* Disarms the vault (critical); fprs (may be NULL, VF_GUARD_FPRS_TEXT
 * bytes) gets the keys' fingerprints. */
VF_MUST int vf_admin_guard_detach(struct vf_vault *v, struct vf_admin *a,
				  char *fprs);
/* The attached guards, for display. */
struct vf_guard_info {
	size_t n;        /* number of keys */
	unsigned quorum; /* approvals of distinct guards a critical
			    operation needs */
	char keys[VF_GUARD_SET_MAX][VF_GUARD_KEY_TEXT];
	char fprs[VF_GUARD_SET_MAX][VF_GUARD_FPR_TEXT];
};
/* The attached guards into *out; -ENOENT when none. */
VF_MUST int vf_admin_guard_show(struct vf_vault *v, struct vf_admin *a,
				struct vf_guard_info *out);

/* ---- protectors (docs/keys.md) --------------------------------------------- */

/* The protectors of the vault, at most cap into out; *n gets how many
 * there are.  Owner (key material is never shown). */
VF_MUST int vf_admin_key_list(struct vf_vault *v, struct vf_admin *a,
			      struct vf_protector_info *out, size_t cap,
			      size_t *n);
/* Adds a protector of kind (vf_protector_edit_add: secret is the 32-byte
 * key of a key file or key command, or a passphrase; NULL for a new
 * platform key).  Owner; *info (may be NULL) gets it. */
VF_MUST int vf_admin_key_add(struct vf_vault *v, struct vf_admin *a,
			     uint32_t kind, const uint8_t *secret, size_t len,
			     struct vf_protector_info *info);
/* Removes protector id: critical; never the last one (-EPERM). */
VF_MUST int vf_admin_key_remove(struct vf_vault *v, struct vf_admin *a,
				uint64_t id, struct vf_protector_info *info);
/* Makes a recovery key, a protector of its own: critical.  Its text (the
 * file the owner keeps) goes to text (cap >= VF_RECOVERY_TEXT_MAX;
 * sodium_malloc'd by the caller, who wipes it). */
VF_MUST int vf_admin_key_export(struct vf_vault *v, struct vf_admin *a,
				char *text, size_t cap,
				struct vf_protector_info *info);
/* Re-wraps the master key under a new platform key and, with
 * new_recovery, a new recovery key in place of the old ones (its text to
 * text as above): critical.  *n gets the protectors replaced. */
VF_MUST int vf_admin_key_rotate(struct vf_vault *v, struct vf_admin *a,
				int new_recovery, char *text, size_t cap,
				unsigned *n);
/* Replaces the passphrase cur opens by next: critical; -EBADMSG when cur
 * opens no passphrase protector.  *id (may be NULL) gets the new
 * protector's id. */
VF_MUST int vf_admin_passphrase_change(struct vf_vault *v, struct vf_admin *a,
				       const uint8_t *cur, size_t curlen,
				       const uint8_t *next, size_t nextlen,
				       uint64_t *id);

/* ---- audit --------------------------------------------------------------- */

VF_MUST int vf_admin_audit_list(struct vf_vault *v, struct vf_admin *a,
				int64_t since, vf_audit_cb cb, void *arg);
/* Returns the number of problems (0: intact), or -errno. */
VF_MUST int vf_admin_audit_verify(struct vf_vault *v, struct vf_admin *a,
				  vf_audit_problem_cb cb, void *arg);

/* ---- alerts ------------------------------------------------------------- */

/* Calls cb for every audit record of an alert (action "alert": target the
 * kind, result the severity, detail what and count) or of an
 * acknowledgement (action "alert ack", target "#ID") since since, in id
 * order. */
VF_MUST int vf_admin_alerts(struct vf_vault *v, struct vf_admin *a,
			    int64_t since, vf_audit_cb cb, void *arg);
/* Acknowledges alert id (an Operator action, audited): -ENOENT when id is
 * not an alert. */
VF_MUST int vf_admin_alert_ack(struct vf_vault *v, struct vf_admin *a,
			       int64_t id);
/* Mutes alerts of kind for dur ns (0: unmutes): they are still recorded,
 * not delivered (alert.h).  Muting or muting for longer is critical
 * (vf_policy_alert_mute); *until (may be NULL) gets the end, 0 when
 * unmuted. */
VF_MUST int vf_admin_alert_mute(struct vf_vault *v, struct vf_admin *a,
				enum vf_alert_kind kind, int64_t dur,
				int64_t *until);
/* until[kind]: when each kind's mute ends, 0 when it is not muted. */
VF_MUST int vf_admin_alert_mutes(struct vf_vault *v, struct vf_admin *a,
				 int64_t until[VF_ALERT_KIND_COUNT]);

/* ---- data key rotation (docs/keys-rotation.md) -------------------------- */

/* Starts a data key rotation (critical, Owner): a new data key epoch is
 * current at once, for everything written from then on; the daemon's job
 * (vf_admin_key_rotation_run) re-encrypts the packs of older epochs and
 * then destroys their keys.  *epoch gets the new epoch, *packs the packs
 * to re-encrypt.  -EBUSY while the last rotation is still running,
 * -EOPNOTSUPP on a remote vault. */
VF_MUST int vf_admin_key_rotate_data(struct vf_vault *v, struct vf_admin *a,
				     uint32_t *epoch, uint64_t *packs);
/* The daemon's job: runs the pending rotation (rotate.h), checking *stop
 * (may be NULL) between packs.  0 when none is pending any more, 1 when
 * work is left for a later run, -errno; *moved (may be NULL) gets the
 * packs re-encrypted by this run.  Destroying the old epochs is
 * audited ("key destroy"). */
VF_MUST int vf_admin_key_rotation_run(struct vf_vault *v, struct vf_admin *a,
				      const volatile int *stop,
				      uint64_t *moved);

/* ---- the ransomware tripwire (trip.h) ----------------------------------- */

VF_MUST int vf_admin_trip_status(struct vf_vault *v, struct vf_admin *a,
				 struct vf_trip_status *out);
/* Lifts the freeze (critical: the guard's approval when one is attached;
 * Owner); -EINVAL when the tripwire has not fired.  *since (may be NULL)
 * gets when it had fired. */
VF_MUST int vf_admin_trip_release(struct vf_vault *v, struct vf_admin *a,
				  int64_t *since);
/* Sets the sensitivity (have_sens) and/or a learning period of
 * learn_days from now (have_learn; 0 ends it): a lower sensitivity or a
 * longer learning period is critical.  *out (may be NULL) gets the
 * settings now in force. */
VF_MUST int vf_admin_trip_set(struct vf_vault *v, struct vf_admin *a,
			      int have_sens, enum vf_trip_sens sens,
			      int have_learn, unsigned learn_days,
			      struct vf_trip_settings *out);
/* Marks a false positive: e's uid (or, with e->is_ext, the extension
 * renames add) no longer counts for days (critical).  -ENOSPC when
 * VF_TRIP_EXEMPT_MAX exemptions are in force. */
VF_MUST int vf_admin_trip_exempt(struct vf_vault *v, struct vf_admin *a,
				 const struct vf_trip_exempt *e,
				 unsigned days);

/* ---- monitoring (metrics.h, report.h) ----------------------------------- */

/* Writes the Prometheus exposition to f (Reader: numbers only). */
VF_MUST int vf_admin_metrics(struct vf_vault *v, struct vf_admin *a, FILE *f);
struct vf_report;
/* Fills *out (zeroed by the caller) with the report from since (ns) to
 * now, posture included (Operator: it names directories). */
VF_MUST int vf_admin_report(struct vf_vault *v, struct vf_admin *a,
			    int64_t since, struct vf_report *out);

/* ---- stop protection (docs/protection.md) --------------------------------- */

/* The state (the role of status). */
VF_MUST int vf_admin_protection_get(struct vf_vault *v, struct vf_admin *a,
				    struct vf_protect *out);
/* Stops protection (Owner): mode VF_PROT_RETAIN makes the vault
 * read-only through the mount for everyone, root included (EROFS), while
 * purges and prune go on; VF_PROT_DELETE (critical) does the same and
 * soft-deletes every live file immutability lets go (vf_vault_delete_all,
 * in batches), then every directory left empty.  Called again while a
 * --delete walk is pending (a crash), it goes on with it without a new
 * approval.  *out (may be NULL) gets the state after it. */
VF_MUST int vf_admin_protection_stop(struct vf_vault *v, struct vf_admin *a,
				     enum vf_prot_state mode,
				     struct vf_protect *out);
/* Brings writing back (Owner), after --retain or a finished --delete;
 * -EINVAL when not stopped, -EBUSY while a --delete walk is pending.
 * *was (may be NULL) gets the state it ended. */
VF_MUST int vf_admin_protection_resume(struct vf_vault *v, struct vf_admin *a,
				       struct vf_protect *was);
/* Goes on with a pending --delete walk (the daemon at start and with its
 * upkeep): 0 when none is pending, 1 when one was finished, -errno. */
VF_MUST int vf_admin_protection_continue(struct vf_vault *v,
					 struct vf_admin *a,
					 struct vf_protect *out);

/* ---- posture ------------------------------------------------------------ */

/* The vault's security grade and what it is made of (policy.h). */
VF_MUST int vf_admin_posture(struct vf_vault *v, struct vf_admin *a,
			     struct vf_posture *out);

#endif
