/*
 * cmds.c - the vaultctl command table and its dispatch (lookup, usage,
 * running); the commands live in cmd_<group>.c, their shared helpers in
 * cmd_util.c, the client commands in restore.c (vaultctl only).
 *
 * One table (cmds[] below) names every command of SPEC 2: its group, its
 * verb (NULL for single-word groups), whether it takes a TARGET (a
 * mountpoint or a vault directory) and where, where it runs (against a
 * vault, without one, or as a client through the mount), its SYNOPSIS
 * line, its handler and the least role that may run it.  A NULL handler
 * means "not available in this version": such a command is listed by help
 * and refused with exit 1, never faked.
 *
 * The same code runs in two places: in vaultctl, offline against a vault
 * directory (the caller is root), and in the daemon, for a request that
 * arrived on the control socket (the caller comes from SO_PEERCRED).  So
 * nothing here may touch globals, getopt's state, stdout/stderr or the
 * process's identity: output goes to ctx->out and ctx->err only.
 *
 * TARGET position: argv[0] is the group; for single-word groups TARGET is
 * argv[1], for groups with verbs argv[2].  vf_cmds_run receives argv with
 * TARGET already removed.
 *
 * Client commands (restore, undelete) are the exception: they run in
 * vaultctl, as the caller, through the mounted tree (TARGET stays in their
 * argv), so that the kernel checks every file they read and write exactly
 * as it would for cp or mv; vf_cmds_run refuses them.  Their rows have no
 * handler: vaultctl passes it to vf_cmds_run_client, so that the daemon,
 * which links this table, never links restore.c.
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

#define KEYOPTS "[--passphrase-file F | --key-file F | --key-command CMD] [--keystore DIR]"

const struct cmd cmds[] = {
	{ "init", NULL, 0, 1, 0, "init VAULT " KEYOPTS, cmd_init,
	  VF_ROLE_NONE },
	{ "help", NULL, 0, 1, 0, "help [GROUP] [--json]", cmd_help,
	  VF_ROLE_NONE },
	{ "status", NULL, 1, 0, 1, "status TARGET [--json]", cmd_status,
	  VF_ROLE_READER },
	{ "check", NULL, 1, 0, 1, "check TARGET [--read-data] [--json]",
	  cmd_check, VF_ROLE_OPERATOR },
	{ "snapshot", NULL, 1, 0, 0, "snapshot TARGET [--tag NAME] [--json]",
	  cmd_snapshot, VF_ROLE_OPERATOR },
	{ "snapshots", NULL, 1, 0, 1, "snapshots TARGET [--json]",
	  cmd_snapshots, VF_ROLE_READER },
	{ "restore", NULL, 1, RUN_CLIENT, 0,
	  "restore MOUNTPOINT PATH --at TIME [--to DEST] [--json]", NULL,
	  VF_ROLE_OPERATOR },
	{ "undelete", NULL, 1, RUN_CLIENT, 0,
	  "undelete MOUNTPOINT PATH [--to DEST]", NULL,
	  VF_ROLE_OPERATOR },
	{ "softdelete", "show", 1, 0, 1, "softdelete show TARGET [--json]",
	  cmd_softdelete_show, VF_ROLE_READER },
	{ "softdelete", "set", 1, 0, 0,
	  "softdelete set TARGET {--days N | --on | --off | --always-on | --cancel-always-on} [--approval TOKEN] [--json]",
	  cmd_softdelete_set, VF_ROLE_CONTRIBUTOR },
	{ "softdelete", "list", 1, 0, 1, "softdelete list TARGET [--json]",
	  cmd_softdelete_list, VF_ROLE_READER },
	{ "softdelete", "purge", 1, 0, 0,
	  "softdelete purge TARGET PATH [--approval TOKEN] [--json]",
	  cmd_softdelete_purge, VF_ROLE_CONTRIBUTOR },
	{ "immutable", "set", 1, 0, 0,
	  "immutable set TARGET DIR [--days N] [--lock] [--approval TOKEN] [--json]",
	  cmd_immutable_set, VF_ROLE_CONTRIBUTOR },
	{ "immutable", "lock", 1, 0, 0, "immutable lock TARGET DIR [--json]",
	  cmd_immutable_lock, VF_ROLE_CONTRIBUTOR },
	{ "immutable", "unlock", 1, 0, 0,
	  "immutable unlock TARGET DIR [--approval TOKEN]", cmd_immutable_unlock,
	  VF_ROLE_CONTRIBUTOR },
	{ "immutable", "clear", 1, 0, 0,
	  "immutable clear TARGET DIR [--approval TOKEN]", cmd_immutable_clear,
	  VF_ROLE_CONTRIBUTOR },
	{ "immutable", "list", 1, 0, 1, "immutable list TARGET [--json]",
	  cmd_immutable_list, VF_ROLE_READER },
	/* --show needs Reader, every change Contributor (checked inside) */
	{ "immutable", "vault", 1, 0, 0,
	  "immutable vault TARGET [--lock | --off | --cancel-lock | --show] [--approval TOKEN] [--json]",
	  cmd_immutable_vault, VF_ROLE_READER },
	{ "policy", "set", 1, 0, 0,
	  "policy set TARGET [--keep-last N] [--keep-within DURATION] [--keep-hourly N] [--keep-daily N] [--keep-weekly N] [--keep-monthly N] [--keep-yearly N] [--min-points N] [--approval TOKEN] [--json]",
	  cmd_policy_set, VF_ROLE_CONTRIBUTOR },
	{ "policy", "show", 1, 0, 1, "policy show TARGET [--json]",
	  cmd_policy_show, VF_ROLE_READER },
	{ "prune", NULL, 1, 0, 0, "prune TARGET [--dry-run] [--json]",
	  cmd_prune, VF_ROLE_CONTRIBUTOR },
	{ "gc", NULL, 1, 0, 0, "gc TARGET [--json]", cmd_gc,
	  VF_ROLE_CONTRIBUTOR },
	{ "role", "grant", 1, 0, 0,
	  "role grant TARGET ROLE user:UID|group:GID [--approval TOKEN]",
	  cmd_role_grant, VF_ROLE_OWNER },
	{ "role", "revoke", 1, 0, 0, "role revoke TARGET user:UID|group:GID",
	  cmd_role_revoke, VF_ROLE_OWNER },
	{ "role", "list", 1, 0, 1, "role list TARGET [--json]", cmd_role_list,
	  VF_ROLE_READER },
	{ "guard", "keygen", 0, 1, 0, "guard keygen --out FILE [--json]",
	  cmd_guard_keygen, VF_ROLE_NONE },
	{ "guard", "attach", 1, 0, 0,
	  "guard attach TARGET PUBKEY [--approval TOKEN]", cmd_guard_attach,
	  VF_ROLE_OWNER },
	{ "guard", "approve", 0, 1, 0,
	  "guard approve --key FILE REQUEST [--ttl DURATION]",
	  cmd_guard_approve, VF_ROLE_NONE },
	{ "guard", "detach", 1, 0, 0, "guard detach TARGET [--approval TOKEN]",
	  cmd_guard_detach, VF_ROLE_OWNER },
	{ "guard", "show", 1, 0, 1, "guard show TARGET [--json]",
	  cmd_guard_show, VF_ROLE_READER },
	{ "key", "rotate", 1, 0, 0,
	  "key rotate TARGET [--new-passphrase-file F | --new-key-file F | --new-key-command CMD | --new-platform] [--approval TOKEN]",
	  NULL, VF_ROLE_OWNER },
	{ "passphrase", "change", 1, 0, 0,
	  "passphrase change TARGET --new-passphrase-file F [--current-passphrase-file F] [--approval TOKEN]",
	  NULL, VF_ROLE_OWNER },
	{ "protection", "stop", 1, 0, 0,
	  "protection stop TARGET --retain | --delete [--approval TOKEN]", NULL,
	  VF_ROLE_CONTRIBUTOR },
	{ "protection", "resume", 1, 0, 0, "protection resume TARGET", NULL,
	  VF_ROLE_CONTRIBUTOR },
	{ "posture", NULL, 1, 0, 1, "posture TARGET [--json]", NULL,
	  VF_ROLE_READER },
	{ "audit", "list", 1, 0, 1, "audit list TARGET [--since TIME] [--json]",
	  cmd_audit_list, VF_ROLE_READER },
	{ "audit", "verify", 1, 0, 1, "audit verify TARGET [--json]",
	  cmd_audit_verify, VF_ROLE_READER },
	{ "alerts", NULL, 1, 0, 1, "alerts TARGET [--since TIME] [--json]", NULL,
	  VF_ROLE_READER },
	{ "report", NULL, 1, 0, 1,
	  "report TARGET [--json | --html FILE | --prometheus]", NULL,
	  VF_ROLE_READER },
};

const size_t ncmds = VF_ARRAY_LEN(cmds);

const char general_usage[] = "vaultctl GROUP [VERB] TARGET [ARGS]";

static int group_has_verbs(const char *group)
{
	size_t i;

	for (i = 0; i < ncmds; i++)
		if (!strcmp(cmds[i].group, group))
			return cmds[i].verb != NULL;
	return 0;
}

int group_exists(const char *group)
{
	size_t i;

	for (i = 0; i < ncmds; i++)
		if (!strcmp(cmds[i].group, group))
			return 1;
	return 0;
}

static const struct cmd *find(const char *group, const char *verb)
{
	size_t i;

	for (i = 0; i < ncmds; i++) {
		if (strcmp(cmds[i].group, group))
			continue;
		if (!cmds[i].verb || (verb && !strcmp(cmds[i].verb, verb)))
			return &cmds[i];
	}
	return NULL;
}

static void print_group_usage(FILE *f, const char *group)
{
	const char *lead = "usage: ";
	size_t i;

	for (i = 0; i < ncmds; i++) {
		if (strcmp(cmds[i].group, group))
			continue;
		fprintf(f, "%svaultctl %s\n", lead, cmds[i].usage);
		lead = "       ";
	}
}

void vf_cmds_usage(FILE *err, int argc, char **argv)
{
	const struct cmd *c;

	if (argc < 1 || !group_exists(argv[0])) {
		fprintf(err, "usage: %s\n       vaultctl help [GROUP]\n",
			general_usage);
		return;
	}
	c = find(argv[0], argc > 1 ? argv[1] : NULL);
	if (c)
		print_usage(err, c);
	else
		print_group_usage(err, argv[0]);
}

/* Finds the command of argv; on failure prints and returns the exit code. */
static int lookup(int argc, char **argv, const struct cmd **out, FILE *err)
{
	const struct cmd *c;
	char name[64];

	if (argc < 1) {
		vf_cmds_usage(err, argc, argv);
		return 2;
	}
	if (!group_exists(argv[0])) {
		fprintf(err, "vaultctl: '%s' is not a vaultctl command; see 'vaultctl help'\n",
			argv[0]);
		vf_cmds_usage(err, argc, argv);
		return 2;
	}
	if (group_has_verbs(argv[0])) {
		if (argc < 2) {
			print_group_usage(err, argv[0]);
			return 2;
		}
		c = find(argv[0], argv[1]);
		if (!c) {
			fprintf(err, "vaultctl: '%s' is not a verb of '%s'\n",
				argv[1], argv[0]);
			print_group_usage(err, argv[0]);
			return 2;
		}
	} else {
		c = find(argv[0], NULL);
	}
	if (!c) {
		vf_cmds_usage(err, argc, argv);
		return 2;
	}
	if (!cmd_available(c)) {
		cmd_name(c, name, sizeof(name));
		fprintf(err, "vaultctl: '%s' is not available in this version\n",
			name);
		return 1;
	}
	*out = c;
	return 0;
}

int vf_cmds_is_standalone(const char *group)
{
	size_t i;

	/* A group is standalone when it has no command that needs a vault;
	 * "guard" is mixed, so it is not. */
	for (i = 0; i < ncmds; i++)
		if (!strcmp(cmds[i].group, group) &&
		    cmds[i].where != RUN_ALONE)
			return 0;
	return group_exists(group);
}

int vf_cmds_locate(int argc, char **argv, struct vf_cmd_info *info, FILE *err)
{
	const struct cmd *c = NULL;
	int rc, pos;

	rc = lookup(argc, argv, &c, err);
	if (rc)
		return rc;
	if (c->where == RUN_ALONE) {
		info->target = -1;
		info->open_flags = 0;
		info->client = 0;
		return 0;
	}
	pos = c->verb ? 2 : 1;
	if (argc <= pos || argv[pos][0] == '-' || !argv[pos][0]) {
		print_usage(err, c);
		return 2;
	}
	info->target = pos;
	info->open_flags = c->rdonly ? VF_OPEN_RDONLY : 0;
	info->client = c->where == RUN_CLIENT;
	return 0;
}

int vf_cmds_run(struct vf_cmd_ctx *ctx, int argc, char **argv)
{
	const struct cmd *c = NULL;
	char name[64];
	size_t len;
	int i, k, rc, skip;

	rc = lookup(argc, argv, &c, ctx->err);
	if (rc)
		return rc;
	cmd_name(c, name, sizeof(name));
	if (c->where == RUN_ALONE || !ctx->v) {
		fprintf(ctx->err, "vaultctl: '%s' does not run against a vault\n",
			name);
		return 2;
	}
	if (c->where == RUN_CLIENT) {
		/* It must run as the caller, through the mount: in the daemon
		 * it would act with the daemon's rights. */
		fprintf(ctx->err, "vaultctl: '%s' runs in vaultctl, not in the daemon\n",
			name);
		return 2;
	}
	skip = c->verb ? 2 : 1;
	if (ctx->online) {
		/* Key options name files the daemon would read as root: they
		 * belong to offline use only. */
		for (i = skip; i < argc && strcmp(argv[i], "--"); i++) {
			k = key_opt_match(argv[i], &len);
			if (k >= 0)
				return usage_error(ctx->err, c, "%s: option '%s' applies to a vault directory, not to a mountpoint",
						   name, key_opt_names[k]);
		}
	}
	if (need_role(ctx, c, c->min_role))
		return 1;
	return c->fn(ctx, c, argc - skip, argv + skip);
}

/* Runs in this process, as its caller and without a vault, a command that
 * runs where (RUN_ALONE or RUN_CLIENT); any other is a usage error. */
static int run_here(int argc, char **argv, FILE *out, FILE *err, int where,
		    const struct vf_cmd_client *clients, size_t nclients)
{
	struct vf_cmd_ctx ctx = {
		.v = NULL,
		.caller = { .uid = geteuid(), .gid = getegid(), .pid = getpid() },
		.online = 0,
		.out = out,
		.err = err,
	};
	const struct cmd *c = NULL;
	cmd_fn *fn;
	size_t i;
	int rc;

	rc = lookup(argc, argv, &c, err);
	if (rc)
		return rc;
	if (c->where != where) {
		print_usage(err, c);
		return 2;
	}
	fn = c->fn;
	for (i = 0; !fn && i < nclients; i++)
		if (!strcmp(clients[i].group, c->group))
			fn = clients[i].fn;
	if (!fn) {
		fprintf(err, "vaultctl: '%s' is not available in this program\n",
			c->group);
		return 1;
	}
	return fn(&ctx, c, argc - (c->verb ? 2 : 1), argv + (c->verb ? 2 : 1));
}

int cmd_available(const struct cmd *c)
{
	return c->fn || c->where == RUN_CLIENT;
}

int vf_cmds_run_standalone(int argc, char **argv, FILE *out, FILE *err)
{
	return run_here(argc, argv, out, err, RUN_ALONE, NULL, 0);
}

int vf_cmds_run_client(int argc, char **argv,
		       const struct vf_cmd_client *clients, size_t nclients,
		       FILE *out, FILE *err)
{
	return run_here(argc, argv, out, err, RUN_CLIENT, clients, nclients);
}
