/*
 * cmd_gate.c - the permission helpers of the commands: the caller's role,
 * the audit records of what a command did, the guard's approval of a
 * critical operation.  Kept together in one file, unchanged, because they
 * are being replaced by one gate in core.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cmd_util.h"
#include "cmd_gate.h"

/* The caller's role (SPEC 6), from core's grants: root is Owner (offline
 * the caller is always root); through the daemon the caller is who
 * SO_PEERCRED says, with its supplementary groups (ctlsock.c).  Fails
 * closed: no grant is VF_ROLE_NONE. */
enum vf_role caller_role(const struct vf_cmd_ctx *ctx)
{
	return vf_vault_role_of(ctx->v, &ctx->caller);
}

/* 0 when the caller has at least role want for command c, else 1 after
 * saying so in one line. */
int need_role(struct vf_cmd_ctx *ctx, const struct cmd *c,
	      enum vf_role want)
{
	enum vf_role have = caller_role(ctx);
	char name[64];

	if (have >= want)
		return 0;
	cmd_name(c, name, sizeof(name));
	/* counted, not logged one by one: a flood cannot fill the log */
	vf_audit_denied(ctx->v, ctx->caller.uid, name, vf_clock_now());
	fprintf(ctx->err, "vaultctl: %s needs the %s role (you have %s)\n",
		name, vf_role_name(want), vf_role_name(have));
	return 1;
}

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
void audit_event(struct vf_cmd_ctx *ctx, const char *action,
		 const char *target, const char *result,
		 const char *detail)
{
	int rc = vf_vault_audit(ctx->v, ctx->caller.uid, action, target,
				result, detail);

	if (rc < 0 && rc != -EROFS)
		fprintf(ctx->err, "vaultctl: warning: recording '%s' in the audit log failed: %s\n",
			action, strerror(-rc));
}

/* Records what command c did to target (may be NULL): rc is core's
 * answer, detail the change (on success) or the reason (else). */
void audit_cmd(struct vf_cmd_ctx *ctx, const struct cmd *c,
	       const char *target, int rc, const char *detail)
{
	char name[64];

	cmd_name(c, name, sizeof(name));
	audit_event(ctx, name, target,
		    rc == 0 ? "ok" :
		    rc == -EPERM || rc == -EACCES || rc == -EINVAL ||
				    rc == -EROFS || rc == -EBUSY ?
			      "refused" :
			      "failed",
		    detail && *detail ? detail : rc ? strerror(-rc) : NULL);
}

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
int critical_check(struct vf_cmd_ctx *ctx, const struct cmd *c,
		   const char *op, const char *params, const char *token)
{
	char request[VF_GUARD_TEXT_MAX] = "", why[VF_GUARD_WHY_MAX] = "";
	char fpr[VF_GUARD_FPR_TEXT] = "", name[64];
	char detail[VF_PATH_MAX + VF_GUARD_WHY_MAX + 64];
	int rc, n;

	rc = vf_vault_guard_authorize(ctx->v, ctx->caller.uid, op, params,
				      token, vf_clock_now(), request,
				      sizeof(request), why, sizeof(why), fpr);
	/* detail: "PARAMS; what the guard said" */
	n = snprintf(detail, sizeof(detail), "%s%s", params,
		     params[0] ? "; " : "");
	if (n < 0 || (size_t)n >= sizeof(detail))
		n = 0;
	if (rc == 0 && fpr[0])
		snprintf(detail + n, sizeof(detail) - (size_t)n,
			 "approved by guard %s", fpr);
	else if (rc == 0)
		snprintf(detail + n, sizeof(detail) - (size_t)n,
			 "no guard attached");
	else if (request[0])
		snprintf(detail + n, sizeof(detail) - (size_t)n,
			 "no approval given, request %s", request);
	else
		snprintf(detail + n, sizeof(detail) - (size_t)n, "%s",
			 why[0] ? why : strerror(-rc));
	audit_event(ctx, "approval", op,
		    rc == 0 ? "allowed" : request[0] ? "requested" : "refused",
		    detail);
	if (rc == 0)
		return 0;
	cmd_name(c, name, sizeof(name));
	fprintf(ctx->err, "vaultctl: %s refused: ", name);
	text_str(ctx->err, why[0] ? why : strerror(-rc));
	fputc('\n', ctx->err);
	if (request[0])
		fprintf(ctx->err, "request: %s\n", request);
	return 1;
}

/* An empty --approval is a usage error (2, after saying so); else 0. */
int check_token(struct vf_cmd_ctx *ctx, const struct cmd *c,
		const char *token)
{
	char name[64];

	if (!token || *token)
		return 0;
	cmd_name(c, name, sizeof(name));
	return usage_error(ctx->err, c, "%s: option '--approval' needs a token",
			   name);
}

/* Says that command c was refused (by a rule: EPERM, EINVAL, EROFS,
 * ENOENT, ENOTDIR, EBUSY) or failed, with core's one-line reason err (or
 * the errno's text when core gave none). */
void say_refused(struct vf_cmd_ctx *ctx, const struct cmd *c, int rc,
		 const char *err)
{
	char name[64];

	cmd_name(c, name, sizeof(name));
	fprintf(ctx->err, "vaultctl: %s %s: ", name,
		rc == -EPERM || rc == -EINVAL || rc == -EROFS ||
				rc == -ENOENT || rc == -ENOTDIR ||
				rc == -EBUSY || rc == -EEXIST ?
			"refused" :
			"failed");
	text_str(ctx->err, err && err[0] ? err : strerror(-rc));
	fputc('\n', ctx->err);
}
