/*
 * admin_int.h - private to the administrative gate's files (admin.c, the
 * gate, reads and maintenance; admin_policy.c, the settings;
 * admin_security.c, roles, the guard, the tripwire and stop protection;
 * admin_keys.c, data key rotation and protectors): the change on its
 * way through the gate and the gate's steps, defined in admin.c.  The
 * order of the steps is admin.c's opening comment.
 */
#ifndef VF_ADMIN_INT_H
#define VF_ADMIN_INT_H

#include <stdint.h>

#include "admin.h"
#include "guard.h"
#include "policy.h"
#include "vault_int.h"

/* One change on its way through the gate. */
struct vf_admin_change {
	enum vf_admin_op op;
	const struct vf_op_rule *rule;
	int64_t now;	    /* the vault clock: for decisions */
	int64_t stamp;	    /* records; token expiry (vf_vault_stamp) */
	const char *target; /* the audit record's target, or NULL */
	char params[VF_GUARD_PARAMS_MAX + 1]; /* what an approval binds */
	const char *gop; /* the guard's operation, when critical */
	int asked;	 /* the guard was asked and said no */
	char approval[VF_GUARD_PARAMS_MAX + VF_ADMIN_WHY_MAX + 64];
	const char *result; /* of the approval: allowed, requested, refused */
};

/* Writes the reason of a refusal or failure into a->why. */
void VF_PRINTF(2, 3) vf_admin_say(struct vf_admin *a, const char *fmt, ...);

/* Prefixes the reason in a->why with the quoted name it concerns. */
void vf_admin_say_about(struct vf_admin *a, const char *name);

/* src as a name the guard can read and its signature binds as it is:
 * printable ASCII but the backslash (anything else becomes '?'), at most
 * cap - 1 bytes, cut with "..." at the end when longer.  The object is
 * bound by its id beside it, so what is cut or replaced loses nothing. */
void vf_admin_bounded_text(char *dst, size_t cap, const char *src);

/* The time decisions read: the vault clock (vclock.h), which a wall clock
 * moved before the open moves by at most the credit. */
int64_t vf_admin_now_of(struct vf_vault *v, const struct vf_admin *a);

/* The time records carry and a guard token's expiry is checked against:
 * the later of the wall and vault clocks, so that neither a clock set
 * back nor a vault clock behind the wall keeps a token valid longer. */
int64_t vf_admin_stamp_of(struct vf_vault *v, const struct vf_admin *a);

/* Role check, then v->mu and the outer transaction.  On failure nothing
 * is held. */
int vf_admin_enter(struct vf_vault *v, struct vf_admin *a, enum vf_admin_op op,
		   struct vf_admin_change *ch);

/* Takes a decision (VF_ALLOW, VF_CRITICAL or -errno, the reason already
 * in a->why) to a verdict: 0 to go on.  A critical change needs the
 * guard's approval of ch->gop with ch->params. */
int vf_admin_approve(struct vf_vault *v, struct vf_admin *a,
		     struct vf_admin_change *ch, int decision);

/* Records the change (detail: what changed) in its transaction and ends
 * it; on failure records the refusal afterwards.  v->mu stays held.
 * Returns rc, or the error that made the change fail. */
int vf_admin_finish(struct vf_vault *v, struct vf_admin *a,
		    struct vf_admin_change *ch, int rc, const char *detail);

/* finish, then releases v->mu. */
int vf_admin_leave(struct vf_vault *v, struct vf_admin *a,
		   struct vf_admin_change *ch, int rc, const char *detail);

/* The role check of a reading operation (no lock, no transaction). */
int vf_admin_read_gate(struct vf_vault *v, struct vf_admin *a,
		       enum vf_admin_op op);

/* Sets a->why for a reading operation that failed. */
int vf_admin_read_failed(struct vf_admin *a, const char *what, int rc);

/* -EPERM with the reason when the tripwire froze what would remove data
 * (what: "prune", "gc", "purging"); else 0. */
int vf_admin_frozen(struct vf_vault *v, struct vf_admin *a, const char *what);

/* Records what a long operation (prune, gc, snapshot) did: it works in
 * batches of its own, so its record follows it.  A record that cannot be
 * written turns success into failure (nothing that it did is hidden from
 * the log: what it did stays done, and the caller is told). */
int vf_admin_record_after(struct vf_vault *v, struct vf_admin *a,
			  enum vf_admin_op op, int rc, const char *detail);

#endif
