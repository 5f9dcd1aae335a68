/*
 * cmd_ctx.h - what a vaultctl command runs with: the open vault, the
 * caller and where its output goes.  Shared by the command table (cmds.h)
 * and the commands' helpers (cmd_util.h).
 */
#ifndef VF_CMD_CTX_H
#define VF_CMD_CTX_H

#include <stdio.h>

#include "vault.h"

struct vf_cmd_ctx {
	struct vf_vault *v;        /* open vault (never NULL when run) */
	struct vf_caller caller;   /* from SO_PEERCRED or the offline root */
	int online;                /* 1 when run by the daemon */
	int sock;                  /* online: the control connection (streams) */
	const char *target;        /* TARGET as the caller gave it, or NULL */
	FILE *out, *err;
};

#endif
