/*
 * cmd_gate.h - the permission helpers of the commands (cmd_gate.c).
 */
#ifndef VF_CMD_GATE_H
#define VF_CMD_GATE_H

#include "cmd_util.h"

/* The caller's role (SPEC 6), from core's grants: root is Owner (offline
 * the caller is always root); through the daemon the caller is who
 * SO_PEERCRED says, with its supplementary groups (ctlsock.c).  Fails
 * closed: no grant is VF_ROLE_NONE. */
enum vf_role caller_role(const struct vf_cmd_ctx *ctx);

/* 0 when the caller has at least role want for command c, else 1 after
 * saying so in one line. */
int need_role(struct vf_cmd_ctx *ctx, const struct cmd *c, enum vf_role want);

/*
 * The audit log (SPEC 9): the commands record what they change, as the
 * caller, after core did it (or refused): action the command's name
 * ("role grant"), target what it applies to, result "ok", "refused" or
 * "failed", detail the change or core's reason.  critical_check records
 * every decision of the guard ("approval").  Core records what it alone
 * sees (file deletes, purges, integrity failures).  Recording is not
 * allowed to fail silently: a failure is one warning line, but what was
 * done stays done (it is committed already).
 */
void audit_event(struct vf_cmd_ctx *ctx, const char *action, const char *target,
		 const char *result, const char *detail);

/* Records what command c did to target (may be NULL): rc is core's
 * answer, detail the change (on success) or the reason (else). */
void audit_cmd(struct vf_cmd_ctx *ctx, const struct cmd *c, const char *target,
	       int rc, const char *detail);

/*
 * Critical operations (SPEC 7): turning soft delete off, shortening its
 * retention, cancelling a pending always-on, early purge, removing or
 * shortening unlocked immutability, cancelling a pending lock, turning
 * the immutable vault off, a weaker retention policy, role grants of
 * Contributor or Owner, and replacing or detaching the guard.  Every
 * command that performs one calls this first, with the operation's name
 * and its exact parameters as a canonical string (what a token is signed
 * over: "days=14", "path=a/b", "" when none), and goes on only when it
 * returns 0.  Keeping it the one gate means no command can forget the
 * guard.
 *
 * core decides (vf_vault_guard_authorize, which fails closed): with no
 * guard attached the operation is allowed; with one, token must be the
 * guard's valid, unexpired, unused approval of this vault, op and params.
 * Without a token the refusal carries a request code for the guard holder,
 * printed on its own line.  Returns 0 to allow, or 1 after printing why
 * not.
 */
int critical_check(struct vf_cmd_ctx *ctx, const struct cmd *c, const char *op,
		   const char *params, const char *token);

/* An empty --approval is a usage error (2, after saying so); else 0. */
int check_token(struct vf_cmd_ctx *ctx, const struct cmd *c, const char *token);

/* Says that command c was refused (by a rule: EPERM, EINVAL, EROFS,
 * ENOENT, ENOTDIR, EBUSY) or failed, with core's one-line reason err (or
 * the errno's text when core gave none). */
void say_refused(struct vf_cmd_ctx *ctx, const struct cmd *c, int rc,
		 const char *err);

#endif
