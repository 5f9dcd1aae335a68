/*
 * cmd_gate.h - the permission helpers of the commands (cmd_gate.c).
 */
#ifndef VF_CMD_GATE_H
#define VF_CMD_GATE_H

#include "cmd_util.h"

enum vf_role caller_role(const struct vf_cmd_ctx *ctx);

int need_role(struct vf_cmd_ctx *ctx, const struct cmd *c, enum vf_role want);

void audit_event(struct vf_cmd_ctx *ctx, const char *action, const char *target,
		 const char *result, const char *detail);

void audit_cmd(struct vf_cmd_ctx *ctx, const struct cmd *c, const char *target,
	       int rc, const char *detail);

int critical_check(struct vf_cmd_ctx *ctx, const struct cmd *c, const char *op,
		   const char *params, const char *token);

int check_token(struct vf_cmd_ctx *ctx, const struct cmd *c, const char *token);

void say_refused(struct vf_cmd_ctx *ctx, const struct cmd *c, int rc,
		 const char *err);

#endif
