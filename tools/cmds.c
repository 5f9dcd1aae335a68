/*
 * cmds.c - the vaultctl command table and its dispatch (lookup, usage,
 * running); the commands live in cmd_<group>.c, their shared helpers in
 * cmd_util.c, the client commands in restore.c (vaultctl only).
 *
 * One table (cmds[] below) names every command: its group, its
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
 * nothing here may touch globals, stdout/stderr or the process's identity:
 * output goes to ctx->out and ctx->err only.  The one exception is
 * getopt_long's global state, which parse_args (cmd_util.c) holds under a
 * lock for the whole of one parse.
 *
 * TARGET position: argv[0] is the group (argv[1] the verb, for groups
 * with verbs); TARGET is the first operand after them, options and their
 * values (per the command's option list) skipped (scan_args).
 * vf_cmds_run receives argv with TARGET already removed.
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
#include "cmds.h"

#define STOREOPTS "[--endpoint URL] [--region R] [--credentials FILE] [--profile NAME] [--ca-file FILE] [--allow-http]"
#define KEYOPTS "[--passphrase-file F | --key-file F | --key-command CMD | --key-command-file F] [--keystore DIR]"

/* Each command's options, as its usage line names them (--help is
 * everyone's); a NULL arg marks a flag. */
static const struct cmd_opt opts_init[] = {
	{ "passphrase-file", "F" },
	{ "passphrase", NULL },
	{ "key-file", "F" },
	{ "key-command", "CMD" },
	{ "keystore", "DIR" },
	{ "store", "URL" },
	{ "endpoint", "URL" },
	{ "region", "R" },
	{ "credentials", "FILE" },
	{ "profile", "NAME" },
	{ "ca-file", "FILE" },
	{ "allow-http", NULL },
	{ "no-lock", NULL },
	{ "lock-period", "DURATION" },
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_recover[] = {
	{ "passphrase-file", "F" },
	{ "key-file", "F" },
	{ "key-command", "CMD" },
	{ "keystore", "DIR" },
	{ "endpoint", "URL" },
	{ "region", "R" },
	{ "credentials", "FILE" },
	{ "profile", "NAME" },
	{ "ca-file", "FILE" },
	{ "allow-http", NULL },
	{ "at", "TIME" },
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_sync[] = {
	{ "timeout", "SECONDS" },
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_help[] = {
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_status[] = {
	{ "bytes", NULL },
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_check[] = {
	{ "read-data", NULL },
	{ "progress", NULL },
	{ "no-progress", NULL },
	{ "json", NULL },
	{ "accept-rollback", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_snapshot[] = {
	{ "tag", "NAME" },
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_snapshots[] = {
	{ "no-header", NULL },
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_restore[] = {
	{ "at", "TIME" },
	{ "to", "DEST" },
	{ "progress", NULL },
	{ "no-progress", NULL },
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_backup[] = {
	{ "delete", NULL },
	{ "from-list", "FILE" },
	{ "progress", NULL },
	{ "no-progress", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_ingest[] = {
	{ "delete", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_undelete[] = {
	{ "to", "DEST" },
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_softdelete_show[] = {
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_softdelete_set[] = {
	{ "days", "N" },
	{ "on", NULL },
	{ "off", NULL },
	{ "always-on", NULL },
	{ "cancel-always-on", NULL },
	{ "approval", "TOKEN" },
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_softdelete_list[] = {
	{ "bytes", NULL },
	{ "no-header", NULL },
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_softdelete_purge[] = {
	{ "approval", "TOKEN" },
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_immutable_set[] = {
	{ "days", "N" },
	{ "lock", NULL },
	{ "approval", "TOKEN" },
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_immutable_lock[] = {
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_immutable_unlock[] = {
	{ "approval", "TOKEN" },
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_immutable_clear[] = {
	{ "approval", "TOKEN" },
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_immutable_list[] = {
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_immutable_vault[] = {
	{ "lock", NULL },
	{ "off", NULL },
	{ "cancel-lock", NULL },
	{ "show", NULL },
	{ "approval", "TOKEN" },
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_policy_set[] = {
	{ "keep-last", "N" },
	{ "keep-within", "DURATION" },
	{ "keep-hourly", "N" },
	{ "keep-daily", "N" },
	{ "keep-weekly", "N" },
	{ "keep-monthly", "N" },
	{ "keep-yearly", "N" },
	{ "min-points", "N" },
	{ "approval", "TOKEN" },
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_reserve_set[] = {
	{ "bytes", "SIZE" },
	{ "default", NULL },
	{ "approval", "TOKEN" },
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_tripwire_release[] = {
	{ "approval", "TOKEN" },
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_tripwire_set[] = {
	{ "sensitivity", "LEVEL" },
	{ "learning", "DAYS" },
	{ "approval", "TOKEN" },
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_tripwire_fp[] = {
	{ "uid", "UID" },
	{ "ext", "EXT" },
	{ "days", "N" },
	{ "approval", "TOKEN" },
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_policy_show[] = {
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_prune[] = {
	{ "dry-run", NULL },
	{ "bytes", NULL },
	{ "no-header", NULL },
	{ "progress", NULL },
	{ "no-progress", NULL },
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_gc[] = {
	{ "bytes", NULL },
	{ "progress", NULL },
	{ "no-progress", NULL },
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_role_grant[] = {
	{ "approval", "TOKEN" },
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_role_revoke[] = {
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_role_list[] = {
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_guard_keygen[] = {
	{ "out", "FILE" },
	{ "passphrase", NULL },
	{ "passphrase-file", "FILE" },
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_guard_attach[] = {
	{ "quorum", "M" },
	{ "approval", "TOKEN" },
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_guard_approve[] = {
	{ "key", "FILE" },
	{ "ttl", "DURATION" },
	{ "passphrase-file", "FILE" },
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_guard_passphrase[] = {
	{ "passphrase-file", "FILE" },
	{ "new-passphrase-file", "FILE" },
	{ "remove", NULL },
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_guard_detach[] = {
	{ "approval", "TOKEN" },
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_guard_show[] = {
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_key_list[] = {
	{ "json", NULL },
	{ NULL, NULL },
};

/* --secret, --current-secret, --new-secret and "--out -" are filled in
 * by vaultctl (key_client.c), which reads the secrets as the caller. */
static const struct cmd_opt opts_key_add[] = {
	{ "secret", "HEX" },
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_key_remove[] = {
	{ "approval", "TOKEN" },
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_key_export[] = {
	{ "out", "FILE" },
	{ "words", NULL },
	{ "approval", "TOKEN" },
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_key_rotate[] = {
	{ "out", "FILE" },
	{ "data", NULL },
	{ "wait", NULL },
	{ "approval", "TOKEN" },
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_passphrase_change[] = {
	{ "current-passphrase-file", "F" },
	{ "new-passphrase-file", "F" },
	{ "current-secret", "HEX" },
	{ "new-secret", "HEX" },
	{ "approval", "TOKEN" },
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_protection_stop[] = {
	{ "retain", NULL },
	{ "delete", NULL },
	{ "approval", "TOKEN" },
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_posture[] = {
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_audit_list[] = {
	{ "since", "TIME" },
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_audit_verify[] = {
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_alerts_list[] = {
	{ "since", "TIME" },
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_alerts_mute[] = {
	{ "for", "DURATION" },
	{ "off", NULL },
	{ "approval", "TOKEN" },
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_json[] = {
	{ "json", NULL },
	{ NULL, NULL },
};

static const struct cmd_opt opts_report[] = {
	{ "since", "DURATION" },
	{ "format", "text|json|html" },
	{ "out", "FILE" },
	{ NULL, NULL },
};

static const struct cmd_opt opts_metrics[] = {
	{ NULL, NULL },
};

const struct cmd cmds[] = {
	{ "init", NULL, 0, 1, 0, "init VAULT [--passphrase] " KEYOPTS " [--store URL " STOREOPTS " [--no-lock | --lock-period DURATION]] [--json]", cmd_init,
	  VF_ROLE_NONE, opts_init },
	{ "recover", NULL, 0, 1, 0, "recover URL VAULT " STOREOPTS " " KEYOPTS " [--at TIME] [--json]",
	  cmd_recover, VF_ROLE_NONE, opts_recover },
	{ "sync", NULL, 1, 0, 1, "sync MOUNTPOINT [--timeout SECONDS] [--json]",
	  cmd_sync, VF_ROLE_READER, opts_sync },
	{ "help", NULL, 0, 1, 0, "help [GROUP] [--json]", cmd_help,
	  VF_ROLE_NONE, opts_help },
	{ "status", NULL, 1, 0, 1, "status TARGET [--bytes | -p] [--json]", cmd_status,
	  VF_ROLE_READER, opts_status },
	{ "check", NULL, 1, 0, 1, "check TARGET [--read-data] [--progress | --no-progress] [--json] [--accept-rollback]",
	  cmd_check, VF_ROLE_OPERATOR, opts_check },
	{ "snapshot", NULL, 1, 0, 0, "snapshot TARGET [--tag NAME] [--json]",
	  cmd_snapshot, VF_ROLE_OPERATOR, opts_snapshot },
	{ "snapshots", NULL, 1, 0, 1, "snapshots TARGET [--no-header | -H] [--json]",
	  cmd_snapshots, VF_ROLE_READER, opts_snapshots },
	{ "restore", NULL, 1, RUN_CLIENT, 0,
	  "restore MOUNTPOINT PATH --at TIME [--to DEST] [--progress | --no-progress] [--json]", NULL,
	  VF_ROLE_OPERATOR, opts_restore },
	{ "backup", NULL, 1, RUN_CLIENT, 0,
	  "backup SRC MNT/DEST [--delete] [--from-list FILE] [--progress | --no-progress]", NULL,
	  VF_ROLE_OPERATOR, opts_backup },
	{ "ingest", NULL, 1, 0, 0,
	  "ingest MOUNTPOINT DEST [--delete] (vaultctl backup's daemon side)",
	  cmd_ingest, VF_ROLE_OPERATOR, opts_ingest },
	{ "undelete", NULL, 1, RUN_CLIENT, 0,
	  "undelete MOUNTPOINT PATH [--to DEST] [--json]", NULL,
	  VF_ROLE_OPERATOR, opts_undelete },
	{ "softdelete", "show", 1, 0, 1, "softdelete show TARGET [--json]",
	  cmd_softdelete_show, VF_ROLE_READER, opts_softdelete_show },
	{ "softdelete", "set", 1, 0, 0,
	  "softdelete set TARGET {--days N | --on | --off | --always-on | --cancel-always-on} [--approval TOKEN] [--json]",
	  cmd_softdelete_set, VF_ROLE_CONTRIBUTOR, opts_softdelete_set },
	{ "softdelete", "list", 1, 0, 1, "softdelete list TARGET [--bytes | -p] [--no-header | -H] [--json]",
	  cmd_softdelete_list, VF_ROLE_READER, opts_softdelete_list },
	{ "softdelete", "purge", 1, 0, 0,
	  "softdelete purge TARGET PATH [--approval TOKEN] [--json]",
	  cmd_softdelete_purge, VF_ROLE_CONTRIBUTOR, opts_softdelete_purge },
	{ "immutable", "set", 1, 0, 0,
	  "immutable set TARGET DIR [--days N] [--lock] [--approval TOKEN] [--json]",
	  cmd_immutable_set, VF_ROLE_CONTRIBUTOR, opts_immutable_set },
	{ "immutable", "lock", 1, 0, 0, "immutable lock TARGET DIR [--json]",
	  cmd_immutable_lock, VF_ROLE_CONTRIBUTOR, opts_immutable_lock },
	{ "immutable", "unlock", 1, 0, 0,
	  "immutable unlock TARGET DIR [--approval TOKEN] [--json]", cmd_immutable_unlock,
	  VF_ROLE_CONTRIBUTOR, opts_immutable_unlock },
	{ "immutable", "clear", 1, 0, 0,
	  "immutable clear TARGET DIR [--approval TOKEN] [--json]", cmd_immutable_clear,
	  VF_ROLE_CONTRIBUTOR, opts_immutable_clear },
	{ "immutable", "list", 1, 0, 1, "immutable list TARGET [--json]",
	  cmd_immutable_list, VF_ROLE_READER, opts_immutable_list },
	/* --show needs Reader, every change Contributor (checked inside) */
	{ "immutable", "vault", 1, 0, 0,
	  "immutable vault TARGET [--lock | --off | --cancel-lock | --show] [--approval TOKEN] [--json]",
	  cmd_immutable_vault, VF_ROLE_READER, opts_immutable_vault },
	{ "policy", "set", 1, 0, 0,
	  "policy set TARGET [--keep-last N] [--keep-within DURATION] [--keep-hourly N] [--keep-daily N] [--keep-weekly N] [--keep-monthly N] [--keep-yearly N] [--min-points N] [--approval TOKEN] [--json]",
	  cmd_policy_set, VF_ROLE_CONTRIBUTOR, opts_policy_set },
	{ "policy", "show", 1, 0, 1, "policy show TARGET [--json]",
	  cmd_policy_show, VF_ROLE_READER, opts_policy_show },
	{ "reserve", "set", 1, 0, 0,
	  "reserve set TARGET {--bytes SIZE | --default} [--approval TOKEN] [--json]",
	  cmd_reserve_set, VF_ROLE_OWNER, opts_reserve_set },
	{ "prune", NULL, 1, 0, 0, "prune TARGET [--dry-run] [--bytes | -p] [--no-header | -H] [--progress | --no-progress] [--json]",
	  cmd_prune, VF_ROLE_CONTRIBUTOR, opts_prune },
	{ "gc", NULL, 1, 0, 0, "gc TARGET [--bytes | -p] [--progress | --no-progress] [--json]", cmd_gc,
	  VF_ROLE_CONTRIBUTOR, opts_gc },
	{ "role", "grant", 1, 0, 0,
	  "role grant TARGET ROLE user:UID|group:GID [--approval TOKEN] [--json]",
	  cmd_role_grant, VF_ROLE_OWNER, opts_role_grant },
	{ "role", "revoke", 1, 0, 0, "role revoke TARGET user:UID|group:GID [--json]",
	  cmd_role_revoke, VF_ROLE_OWNER, opts_role_revoke },
	{ "role", "list", 1, 0, 1, "role list TARGET [--json]", cmd_role_list,
	  VF_ROLE_READER, opts_role_list },
	{ "guard", "keygen", 0, 1, 0, "guard keygen --out FILE [--passphrase | --passphrase-file FILE] [--json]",
	  cmd_guard_keygen, VF_ROLE_NONE, opts_guard_keygen },
	{ "guard", "attach", 1, 0, 0,
	  "guard attach TARGET PUBKEY... [--quorum M] [--approval TOKEN]... [--json]", cmd_guard_attach,
	  VF_ROLE_OWNER, opts_guard_attach },
	{ "guard", "approve", 0, 1, 0,
	  "guard approve --key FILE REQUEST [--ttl DURATION] [--passphrase-file FILE] [--json]",
	  cmd_guard_approve, VF_ROLE_NONE, opts_guard_approve },
	{ "guard", "passphrase", 0, 1, 0,
	  "guard passphrase KEYFILE [--passphrase-file FILE] [--new-passphrase-file FILE | --remove] [--json]",
	  cmd_guard_passphrase, VF_ROLE_NONE, opts_guard_passphrase },
	{ "guard", "detach", 1, 0, 0, "guard detach TARGET [--approval TOKEN] [--json]",
	  cmd_guard_detach, VF_ROLE_OWNER, opts_guard_detach },
	{ "guard", "show", 1, 0, 1, "guard show TARGET [--json]",
	  cmd_guard_show, VF_ROLE_READER, opts_guard_show },
	{ "posture", NULL, 1, 0, 1, "posture TARGET [--json]", cmd_posture,
	  VF_ROLE_READER, opts_posture },
	{ "key", "list", 1, 0, 1, "key list TARGET [--json]", cmd_key_list,
	  VF_ROLE_OWNER, opts_key_list },
	{ "key", "add", 1, 0, 0,
	  "key add TARGET platform | key-file FILE | key-command CMD | passphrase [FILE] [--json]",
	  cmd_key_add, VF_ROLE_OWNER, opts_key_add },
	{ "key", "remove", 1, 0, 0,
	  "key remove TARGET ID [--approval TOKEN] [--json]", cmd_key_remove,
	  VF_ROLE_OWNER, opts_key_remove },
	{ "key", "export", 1, 0, 0,
	  "key export TARGET --out FILE [--words] [--approval TOKEN]",
	  cmd_key_export, VF_ROLE_OWNER, opts_key_export },
	{ "key", "rotate", 1, 0, 0,
	  "key rotate TARGET {[--out FILE] | --data [--wait]} [--approval TOKEN] [--json]",
	  cmd_key_rotate, VF_ROLE_OWNER, opts_key_rotate },
	{ "passphrase", "change", 1, 0, 0,
	  "passphrase change TARGET [--current-passphrase-file F] [--new-passphrase-file F] [--approval TOKEN] [--json]",
	  cmd_passphrase_change, VF_ROLE_OWNER, opts_passphrase_change },
	{ "protection", "stop", 1, 0, 0,
	  "protection stop TARGET {--retain | --delete} [--approval TOKEN] [--json]",
	  cmd_protection_stop, VF_ROLE_OWNER, opts_protection_stop },
	{ "protection", "resume", 1, 0, 0, "protection resume TARGET [--json]",
	  cmd_protection_resume, VF_ROLE_OWNER, opts_json },
	{ "audit", "list", 1, 0, 1, "audit list TARGET [--since TIME] [--json]",
	  cmd_audit_list, VF_ROLE_READER, opts_audit_list },
	{ "audit", "verify", 1, 0, 1, "audit verify TARGET [--json]",
	  cmd_audit_verify, VF_ROLE_READER, opts_audit_verify },
	{ "alerts", "list", 1, 0, 1, "alerts list TARGET [--since TIME] [--json]",
	  cmd_alerts_list, VF_ROLE_READER, opts_alerts_list },
	{ "alerts", "show", 1, 0, 1, "alerts show TARGET ID [--json]",
	  cmd_alerts_show, VF_ROLE_READER, opts_json },
	{ "alerts", "ack", 1, 0, 0, "alerts ack TARGET ID [--json]",
	  cmd_alerts_ack, VF_ROLE_OPERATOR, opts_json },
	{ "alerts", "mute", 1, 0, 0,
	  "alerts mute TARGET [KIND {--for DURATION | --off}] [--approval TOKEN] [--json]",
	  cmd_alerts_mute, VF_ROLE_READER, opts_alerts_mute },
	{ "tripwire", "status", 1, 0, 1, "tripwire status TARGET [--json]",
	  cmd_tripwire_status, VF_ROLE_READER, opts_json },
	{ "tripwire", "release", 1, 0, 0,
	  "tripwire release TARGET [--approval TOKEN] [--json]",
	  cmd_tripwire_release, VF_ROLE_OWNER, opts_tripwire_release },
	{ "tripwire", "set", 1, 0, 0,
	  "tripwire set TARGET [--sensitivity off|low|medium|high] [--learning DAYS] [--approval TOKEN] [--json]",
	  cmd_tripwire_set, VF_ROLE_OWNER, opts_tripwire_set },
	{ "tripwire", "mark-false-positive", 1, 0, 0,
	  "tripwire mark-false-positive TARGET {--uid UID | --ext EXT} [--days N] [--approval TOKEN] [--json]",
	  cmd_tripwire_fp, VF_ROLE_OWNER, opts_tripwire_fp },
	{ "metrics", NULL, 1, 0, 1, "metrics TARGET", cmd_metrics,
	  VF_ROLE_READER, opts_metrics },
	{ "report", NULL, 1, 0, 1,
	  "report TARGET [--since DURATION] [--format text|json|html] [--out FILE]",
	  cmd_report, VF_ROLE_OPERATOR, opts_report },
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

/* 1 when the option name (len bytes, no dashes) of c takes a value: one of
 * c's options with an argument, or a key option (offline use). */
static int takes_value(const struct cmd *c, const char *opt, size_t len)
{
	const struct cmd_opt *o;
	size_t i;

	for (o = c->opts; o && o->name; o++)
		if (strlen(o->name) == len && !strncmp(o->name, opt, len))
			return o->arg != NULL;
	for (i = 0; i < VF_ARRAY_LEN(key_opt_names); i++)
		if (strlen(key_opt_names[i] + 2) == len &&
		    !strncmp(key_opt_names[i] + 2, opt, len))
			return 1;
	return 0;
}

/* Reads argv (the arguments after c's group and verb) the way parse_args
 * will, without getopt: index of the first operand, -1 when there is
 * none; *help is 1 when --help comes before "--".  Option values are
 * skipped by c's option table, so "status --json /mnt/v" and "status
 * /mnt/v --json" find the same TARGET. */
static int scan_args(const struct cmd *c, int argc, char **argv, int *help)
{
	const char *a;
	int i, first = -1;
	size_t len;

	*help = 0;
	for (i = 0; i < argc; i++) {
		a = argv[i];
		if (!strcmp(a, "--")) {
			if (first < 0 && i + 1 < argc)
				first = i + 1;
			break;
		}
		if (a[0] != '-' || !a[1]) {
			if (first < 0)
				first = i;
			continue;
		}
		if (a[1] != '-')
			continue; /* a short option: parse_args refuses it */
		len = strcspn(a + 2, "=");
		if (len == 4 && !strncmp(a + 2, "help", 4))
			*help = 1;
		else if (a[2 + len] != '=' && takes_value(c, a + 2, len))
			i++;
	}
	return first;
}

/* 1 when argv (group and verb first) asks for c's --help. */
static int wants_help(const struct cmd *c, int argc, char **argv)
{
	int skip = c->verb ? 2 : 1, help;

	scan_args(c, argc - skip, argv + skip, &help);
	return help;
}

int vf_cmds_locate(int argc, char **argv, struct vf_cmd_info *info, FILE *err)
{
	const struct cmd *c = NULL;
	int rc, pos, skip, help, i;

	rc = lookup(argc, argv, &c, err);
	if (rc)
		return rc;
	skip = c->verb ? 2 : 1;
	pos = scan_args(c, argc - skip, argv + skip, &help);
	info->help = help;
	info->progress_at = 0;
	for (i = 0; c->opts && c->opts[i].name; i++)
		if (!strcmp(c->opts[i].name, "progress"))
			info->progress_at = skip;
	if (c->where == RUN_ALONE || help) {
		info->target = -1;
		info->open_flags = 0;
		info->client = 0;
		return 0;
	}
	if (pos < 0 || !argv[skip + pos][0]) {
		print_usage(err, c);
		return 2;
	}
	info->target = skip + pos;
	info->open_flags = c->rdonly ? VF_OPEN_RDONLY : 0;
	info->client = c->where == RUN_CLIENT;
	return 0;
}

int vf_cmds_help(int argc, char **argv, FILE *out, FILE *err)
{
	const struct cmd *c = NULL;
	int rc;

	rc = lookup(argc, argv, &c, err);
	if (rc)
		return rc;
	print_help(out, c);
	return 0;
}

/* The value of argv[i] when it is an --approval option (taking argv[i +
 * 1] when the value is not joined by '='), else NULL; *used gets the
 * slots it takes. */
static const char *approval_at(int argc, char **argv, int i, int *used)
{
	static const char opt[] = "--approval";
	size_t ol = strlen(opt);

	if (strncmp(argv[i], opt, ol))
		return NULL;
	if (argv[i][ol] == '=') {
		*used = 1;
		return argv[i] + ol + 1;
	}
	if (argv[i][ol] || i + 1 >= argc)
		return NULL;
	*used = 2;
	return argv[i + 1];
}

/* 1 when a is an option of c whose value is the next argument. */
static int value_follows(const struct cmd *c, const char *a)
{
	return a[0] == '-' && a[1] == '-' && !strchr(a, '=') &&
	       takes_value(c, a + 2, strlen(a + 2));
}

/*
 * A critical operation may need the approvals of several guards (a
 * quorum), each given with its own --approval.  Core's gate takes them as
 * one text, the approvals separated by newlines (guard.h), so every
 * --approval of argv (before "--", option values skipped as scan_args
 * does) is folded into one "--approval=T1\nT2..." in place of the first.
 * Returns 0 with *out NULL when there are fewer than two; else *out is a
 * new argv of *outc entries, whose new string is *joined (caller frees
 * both); -ENOMEM.
 */
static int fold_approvals(const struct cmd *c, int argc, char **argv,
			  char ***out, int *outc, char **joined)
{
	const char *val;
	size_t len = strlen("--approval="), need, p;
	int i, o = 0, used, count = 0, first = -1;
	char **nv;

	*out = NULL;
	*joined = NULL;
	need = len + 1;
	for (i = 0; i < argc && strcmp(argv[i], "--"); i++) {
		val = approval_at(argc, argv, i, &used);
		if (val) {
			count++;
			need += strlen(val) + 1;
			first = first < 0 ? i : first;
			i += used - 1;
		} else if (value_follows(c, argv[i])) {
			i++;
		}
	}
	if (count < 2)
		return 0;
	nv = calloc((size_t)argc + 1, sizeof(*nv));
	*joined = malloc(need);
	if (!nv || !*joined) {
		free(nv);
		free(*joined);
		*joined = NULL;
		return -ENOMEM;
	}
	memcpy(*joined, "--approval=", len);
	for (i = 0, p = len; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			while (i < argc)
				nv[o++] = argv[i++];
			break;
		}
		val = approval_at(argc, argv, i, &used);
		if (val) {
			if (p > len)
				(*joined)[p++] = '\n';
			memcpy(*joined + p, val, strlen(val));
			p += strlen(val);
			if (i == first)
				nv[o++] = *joined;
			i += used - 1;
			continue;
		}
		if (value_follows(c, argv[i]) && i + 1 < argc)
			nv[o++] = argv[i++];
		nv[o++] = argv[i];
	}
	(*joined)[p] = '\0';
	*out = nv;
	*outc = o;
	return 0;
}

int vf_cmds_run(struct vf_cmd_ctx *ctx, int argc, char **argv)
{
	const struct cmd *c = NULL;
	char name[64], **folded = NULL, *joined = NULL;
	size_t len;
	int i, k, rc, skip, nf = 0;

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
	if (wants_help(c, argc, argv)) {
		print_help(ctx->out, c);
		return 0;
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
	if (fold_approvals(c, argc - skip, argv + skip, &folded, &nf,
			   &joined)) {
		fprintf(ctx->err, "vaultctl: %s: out of memory\n", name);
		return 1;
	}
	/* Who may run it is decided by core's gate (admin.h), which every
	 * command calls: nothing is decided here. */
	if (folded)
		rc = c->fn(ctx, c, nf, folded);
	else
		rc = c->fn(ctx, c, argc - skip, argv + skip);
	free(folded);
	free(joined);
	return rc;
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
	if (wants_help(c, argc, argv)) {
		print_help(out, c);
		return 0;
	}
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

/* ---- shared with vaultctl and mount.vaultfs ---------------------------- */

int vf_cmds_take_key_opts(int *argc, char **argv, struct vf_protector_opts *o,
			  FILE *err)
{
	const char *val[VF_ARRAY_LEN(key_opt_names)] = { NULL };
	int i, j, k, n = *argc, take;
	size_t len = 0;

	for (i = 0; i < n;) {
		if (!strcmp(argv[i], "--"))
			break;
		k = key_opt_match(argv[i], &len);
		if (k < 0) {
			i++;
			continue;
		}
		if (val[k]) {
			fprintf(err, "vaultctl: option '%s' given twice\n",
				key_opt_names[k]);
			return 2;
		}
		if (argv[i][len] == '=') {
			val[k] = argv[i] + len + 1;
			take = 1;
		} else if (i + 1 < n) {
			val[k] = argv[i + 1];
			take = 2;
		} else {
			fprintf(err, "vaultctl: option '%s' needs a value\n",
				key_opt_names[k]);
			return 2;
		}
		if (!val[k][0]) {
			fprintf(err, "vaultctl: option '%s' needs a value\n",
				key_opt_names[k]);
			return 2;
		}
		for (j = i; j + take < n; j++)
			argv[j] = argv[j + take];
		n -= take;
		argv[n] = NULL;
	}
	if (!!val[0] + !!val[1] + !!val[2] + !!val[4] > 1) {
		fprintf(err, "vaultctl: --passphrase-file, --key-file, --key-command and --key-command-file exclude each other\n");
		return 2;
	}
	memset(o, 0, sizeof(*o));
	o->passphrase_file = val[0];
	o->key_file = val[1];
	o->key_command = val[2];
	o->keystore = val[3];
	o->key_command_file = val[4];
	*argc = n;
	return 0;
}

/* Undoes the octal escapes of /proc/self/mountinfo (\040 for a space). */
static void mountinfo_unescape(char *s)
{
	char *w = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
				      (s[3] - '0'));
			s += 4;
		} else {
			*w++ = *s++;
		}
	}
	*w = '\0';
}

int vf_cmds_mountinfo_find(const char *path, const char *fstype)
{
	char *line = NULL, *p, *mp, *end;
	size_t cap = 0, len = fstype ? strlen(fstype) : 0;
	int found = 0, i;
	FILE *f;

	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	/* id parent major:minor root MOUNTPOINT options... - FSTYPE ... */
	while (getline(&line, &cap, f) > 0) {
		p = line;
		for (i = 0; i < 4 && p; i++) {
			p = strchr(p, ' ');
			if (p)
				p++;
		}
		if (!p || !(end = strchr(p, ' ')))
			continue;
		*end = '\0';
		mp = p;
		mountinfo_unescape(mp);
		if (strcmp(mp, path))
			continue;
		if (!fstype) {
			found = 1;
			break;
		}
		/* the last mount there is the topmost */
		p = strstr(end + 1, " - ");
		found = p && !strncmp(p + 3, fstype, len) && p[3 + len] == ' ';
	}
	free(line);
	fclose(f);
	return found;
}
