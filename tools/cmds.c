/*
 * cmds.c - the vaultctl command table and the commands themselves.
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
 * as it would for cp or mv; vf_cmds_run refuses them.  They may use the
 * process's file system calls, but still print only to ctx->out and
 * ctx->err.
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

#include "cmds.h"

/* Where a command runs. */
enum where {
	RUN_VAULT = 0,  /* against a vault: in the daemon, or offline */
	RUN_ALONE = 1,  /* in vaultctl without a vault (init, help) */
	RUN_CLIENT = 2, /* in vaultctl, as the caller, through the mount */
};

struct cmd;
typedef int cmd_fn(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		   char **argv);

struct cmd {
	const char *group;
	const char *verb;     /* NULL for a single-word group */
	int needs_target;     /* TARGET follows the group (or the verb) */
	int where;            /* enum where: 0 vault, 1 alone, RUN_CLIENT */
	int rdonly;           /* offline open may be read-only */
	const char *usage;    /* SYNOPSIS line, after "vaultctl " */
	cmd_fn *fn;           /* NULL: not available in this version */
	enum vf_role min_role; /* least role that may run it (SPEC 6); for
				  a client command only documentation: the
				  kernel checks each access it makes */
};

static cmd_fn cmd_init, cmd_help, cmd_status, cmd_check, cmd_policy_set,
	cmd_policy_show, cmd_prune, cmd_gc, cmd_snapshot, cmd_snapshots,
	cmd_restore, cmd_undelete, cmd_softdelete_show, cmd_softdelete_set,
	cmd_softdelete_list, cmd_softdelete_purge, cmd_immutable_set,
	cmd_immutable_lock, cmd_immutable_unlock, cmd_immutable_clear,
	cmd_immutable_list, cmd_immutable_vault, cmd_role_grant,
	cmd_role_revoke, cmd_role_list, cmd_guard_keygen, cmd_guard_attach,
	cmd_guard_approve, cmd_guard_detach, cmd_guard_show, cmd_audit_list,
	cmd_audit_verify;

#define KEYOPTS "[--passphrase-file F | --key-file F | --key-command CMD] [--keystore DIR]"

static const struct cmd cmds[] = {
	{ "init", NULL, 0, 1, 0, "init VAULT " KEYOPTS, cmd_init,
	  VF_ROLE_NONE },
	{ "help", NULL, 0, 1, 0, "help [GROUP] [--json]", cmd_help,
	  VF_ROLE_NONE },
	{ "status", NULL, 1, 0, 1, "status TARGET [--json]", cmd_status,
	  VF_ROLE_READER },
	{ "check", NULL, 1, 0, 1, "check TARGET [--read-data] [--json] [--accept-rollback]",
	  cmd_check, VF_ROLE_OPERATOR },
	{ "snapshot", NULL, 1, 0, 0, "snapshot TARGET [--tag NAME] [--json]",
	  cmd_snapshot, VF_ROLE_OPERATOR },
	{ "snapshots", NULL, 1, 0, 1, "snapshots TARGET [--json]",
	  cmd_snapshots, VF_ROLE_READER },
	{ "restore", NULL, 1, RUN_CLIENT, 0,
	  "restore MOUNTPOINT PATH --at TIME [--to DEST] [--json]", cmd_restore,
	  VF_ROLE_OPERATOR },
	{ "undelete", NULL, 1, RUN_CLIENT, 0,
	  "undelete MOUNTPOINT PATH [--to DEST]", cmd_undelete,
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

static const char general_usage[] = "vaultctl GROUP [VERB] TARGET [ARGS]";

/* ---- table lookup and usage ------------------------------------------ */

static int group_has_verbs(const char *group)
{
	size_t i;

	for (i = 0; i < VF_ARRAY_LEN(cmds); i++)
		if (!strcmp(cmds[i].group, group))
			return cmds[i].verb != NULL;
	return 0;
}

static int group_exists(const char *group)
{
	size_t i;

	for (i = 0; i < VF_ARRAY_LEN(cmds); i++)
		if (!strcmp(cmds[i].group, group))
			return 1;
	return 0;
}

static const struct cmd *find(const char *group, const char *verb)
{
	size_t i;

	for (i = 0; i < VF_ARRAY_LEN(cmds); i++) {
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

	for (i = 0; i < VF_ARRAY_LEN(cmds); i++) {
		if (strcmp(cmds[i].group, group))
			continue;
		fprintf(f, "%svaultctl %s\n", lead, cmds[i].usage);
		lead = "       ";
	}
}

static void print_usage(FILE *f, const struct cmd *c)
{
	fprintf(f, "usage: vaultctl %s\n", c->usage);
}

/* Prints "vaultctl: " and the reason (one line), then c's usage line.
 * Returns 2, the usage exit code. */
static int VF_PRINTF(3, 4) usage_error(FILE *err, const struct cmd *c,
				       const char *fmt, ...)
{
	va_list ap;

	fputs("vaultctl: ", err);
	va_start(ap, fmt);
	vfprintf(err, fmt, ap);
	va_end(ap);
	fputc('\n', err);
	print_usage(err, c);
	return 2;
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

/* Name of a command for messages: "check" or "softdelete list". */
static void cmd_name(const struct cmd *c, char *buf, size_t cap)
{
	if (c->verb)
		snprintf(buf, cap, "%s %s", c->group, c->verb);
	else
		snprintf(buf, cap, "%s", c->group);
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
	if (!c->fn) {
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
	for (i = 0; i < VF_ARRAY_LEN(cmds); i++)
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

/* ---- argument parsing ------------------------------------------------- */

struct opt {
	const char *name;   /* "--json" */
	const char **value; /* set for an option with a value, else NULL */
	int *flag;          /* set to 1 for a flag */
};

/* Parses argv (the arguments after the group and verb) into opts and
 * between minpos and maxpos positionals.  "--opt=VALUE" and "--opt VALUE"
 * both work; "--" ends the options.  Returns 0, or 2 after printing the
 * reason and the usage line. */
static int parse_args(const struct cmd *c, FILE *err, int argc, char **argv,
		      const struct opt *opts, char **pos, int minpos,
		      int maxpos)
{
	char name[64];
	int i, npos = 0, dashdash = 0;

	cmd_name(c, name, sizeof(name));
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];
		const struct opt *o;
		size_t len;

		if (!dashdash && !strcmp(a, "--")) {
			dashdash = 1;
			continue;
		}
		if (dashdash || a[0] != '-' || !a[1]) {
			if (npos >= maxpos) {
				fprintf(err, "vaultctl: %s: unexpected argument '%s'\n",
					name, a);
				goto usage;
			}
			pos[npos++] = argv[i];
			continue;
		}
		for (o = opts; o && o->name; o++) {
			len = strlen(o->name);
			if (!strncmp(a, o->name, len) &&
			    (a[len] == '\0' || (a[len] == '=' && o->value)))
				break;
		}
		if (!o || !o->name) {
			fprintf(err, "vaultctl: %s: unknown option '%s'\n", name,
				a);
			goto usage;
		}
		if (o->flag) {
			*o->flag = 1;
			continue;
		}
		if (a[len] == '=') {
			*o->value = a + len + 1;
		} else if (i + 1 < argc) {
			*o->value = argv[++i];
		} else {
			fprintf(err, "vaultctl: %s: option '%s' needs a value\n",
				name, o->name);
			goto usage;
		}
	}
	if (npos < minpos) {
		fprintf(err, "vaultctl: %s: missing argument\n", name);
		goto usage;
	}
	return 0;
usage:
	print_usage(err, c);
	return 2;
}

/* parse_args for a command whose only option is --json (set in *json),
 * with exactly npos positionals. */
static int parse_json_only(const struct cmd *c, FILE *err, int argc,
			   char **argv, char **pos, int npos, int *json)
{
	const struct opt opts[] = {
		{ "--json", NULL, json },
		{ NULL, NULL, NULL },
	};

	return parse_args(c, err, argc, argv, opts, pos, npos, npos);
}

static const char *const key_opt_names[] = {
	"--passphrase-file", "--key-file", "--key-command", "--keystore",
};

/* Returns the index in key_opt_names of the option a starts with, or -1;
 * *len is the length of the option's name. */
static int key_opt_match(const char *a, size_t *len)
{
	size_t i, n;

	for (i = 0; i < VF_ARRAY_LEN(key_opt_names); i++) {
		n = strlen(key_opt_names[i]);
		if (!strncmp(a, key_opt_names[i], n) &&
		    (a[n] == '\0' || a[n] == '=')) {
			*len = n;
			return (int)i;
		}
	}
	return -1;
}

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
	if (!!val[0] + !!val[1] + !!val[2] > 1) {
		fprintf(err, "vaultctl: --passphrase-file, --key-file and --key-command exclude each other\n");
		return 2;
	}
	memset(o, 0, sizeof(*o));
	o->passphrase_file = val[0];
	o->key_file = val[1];
	o->key_command = val[2];
	o->keystore = val[3];
	*argc = n;
	return 0;
}

static void json_str(FILE *f, const char *str);
static void text_str(FILE *f, const char *s);

/* ---- permission ------------------------------------------------------- */

/* The caller's role (SPEC 6), from core's grants: root is Owner (offline
 * the caller is always root); through the daemon the caller is who
 * SO_PEERCRED says, with its supplementary groups (ctlsock.c).  Fails
 * closed: no grant is VF_ROLE_NONE. */
static enum vf_role caller_role(const struct vf_cmd_ctx *ctx)
{
	return vf_vault_role_of(ctx->v, &ctx->caller);
}

/* 0 when the caller has at least role want for command c, else 1 after
 * saying so in one line. */
static int need_role(struct vf_cmd_ctx *ctx, const struct cmd *c,
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
static void audit_event(struct vf_cmd_ctx *ctx, const char *action,
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
static void audit_cmd(struct vf_cmd_ctx *ctx, const struct cmd *c,
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
static int critical_check(struct vf_cmd_ctx *ctx, const struct cmd *c,
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
static int check_token(struct vf_cmd_ctx *ctx, const struct cmd *c,
		       const char *token)
{
	char name[64];

	if (!token || *token)
		return 0;
	cmd_name(c, name, sizeof(name));
	return usage_error(ctx->err, c, "%s: option '--approval' needs a token",
			   name);
}

/* ---- running ---------------------------------------------------------- */

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
static int run_here(int argc, char **argv, FILE *out, FILE *err, int where)
{
	struct vf_cmd_ctx ctx = {
		.v = NULL,
		.caller = { .uid = geteuid(), .gid = getegid(), .pid = getpid() },
		.online = 0,
		.out = out,
		.err = err,
	};
	const struct cmd *c = NULL;
	int rc;

	rc = lookup(argc, argv, &c, err);
	if (rc)
		return rc;
	if (c->where != where) {
		print_usage(err, c);
		return 2;
	}
	return c->fn(&ctx, c, argc - (c->verb ? 2 : 1),
		     argv + (c->verb ? 2 : 1));
}

int vf_cmds_run_standalone(int argc, char **argv, FILE *out, FILE *err)
{
	return run_here(argc, argv, out, err, RUN_ALONE);
}

int vf_cmds_run_client(int argc, char **argv, FILE *out, FILE *err)
{
	return run_here(argc, argv, out, err, RUN_CLIENT);
}

/* ---- output helpers --------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s, or 0 when it is not one. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

/* Writes s as a JSON string.  File names are bytes, not text: a byte that
 * is not part of valid UTF-8 is written as \u00XX (its Latin-1 reading),
 * so the output is always valid JSON. */
static void json_str(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n;

	fputc('"', f);
	while (*s) {
		if (*s == '"' || *s == '\\') {
			fputc('\\', f);
			fputc(*s++, f);
		} else if (*s == '\n') {
			fputs("\\n", f);
			s++;
		} else if (*s == '\t') {
			fputs("\\t", f);
			s++;
		} else if (*s < 0x20 || *s == 0x7f) {
			fprintf(f, "\\u%04x", *s++);
		} else if ((n = utf8_len(s)) != 0) {
			fwrite(s, 1, n, f);
			s += n;
		} else {
			fprintf(f, "\\u%04x", *s++);
		}
	}
	fputc('"', f);
}

/* Writes s for a one-line text report: control characters (a newline in a
 * file name) become '?', so one problem stays one line. */
static void text_str(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

/* ---- commands --------------------------------------------------------- */

static int cmd_init(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		    char **argv)
{
	struct vf_protector_opts o;
	char *pos[1] = { NULL };
	char err[512] = "";
	int rc;

	rc = vf_cmds_take_key_opts(&argc, argv, &o, ctx->err);
	if (rc) {
		print_usage(ctx->err, c);
		return rc;
	}
	rc = parse_args(c, ctx->err, argc, argv, NULL, pos, 1, 1);
	if (rc)
		return rc;
	rc = vf_vault_create(pos[0], &o, err, sizeof(err));
	if (rc < 0) {
		if (err[0])
			fprintf(ctx->err, "vaultctl: %s\n", err);
		else
			fprintf(ctx->err, "vaultctl: creating vault '%s' failed: %s\n",
				pos[0], strerror(-rc));
		return 1;
	}
	/* The vault id would cost a second key unwrap (an Argon2id run for a
	 * passphrase): status prints it. */
	fprintf(ctx->out, "created vault at %s\n", pos[0]);
	return 0;
}

static int cmd_help(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		    char **argv)
{
	char *pos[1] = { NULL };
	int json = 0, rc, avail, first = 1;
	const struct opt opts[] = {
		{ "--json", NULL, &json },
		{ NULL, NULL, NULL },
	};
	FILE *f = ctx->out;
	size_t i;

	rc = parse_args(c, ctx->err, argc, argv, opts, pos, 0, 1);
	if (rc)
		return rc;
	if (pos[0] && !group_exists(pos[0]))
		return usage_error(ctx->err, c, "'%s' is not a vaultctl command; see 'vaultctl help'",
				   pos[0]);
	if (json) {
		fputc('[', f);
		for (i = 0; i < VF_ARRAY_LEN(cmds); i++) {
			if (pos[0] && strcmp(cmds[i].group, pos[0]))
				continue;
			fprintf(f, "%s{\"group\":", first ? "" : ",");
			json_str(f, cmds[i].group);
			fputs(",\"verb\":", f);
			if (cmds[i].verb)
				json_str(f, cmds[i].verb);
			else
				fputs("null", f);
			/* Usage lines are ASCII without quotes or backslashes. */
			fprintf(f, ",\"usage\":\"vaultctl %s\"", cmds[i].usage);
			fprintf(f, ",\"available\":%s,\"target\":%s}",
				cmds[i].fn ? "true" : "false",
				cmds[i].needs_target ? "true" : "false");
			first = 0;
		}
		fputs("]\n", f);
		return 0;
	}
	if (pos[0]) {
		for (i = 0; i < VF_ARRAY_LEN(cmds); i++)
			if (!strcmp(cmds[i].group, pos[0]))
				fprintf(f, "vaultctl %s%s\n", cmds[i].usage,
					cmds[i].fn ? "" : "   (not yet available)");
		return 0;
	}
	fprintf(f, "usage: %s\n\n", general_usage);
	fputs("TARGET is a vaultfs mountpoint (the command runs in its daemon, as\n"
	      "you) or a vault directory (offline, root only; then the key options\n"
	      "apply: --passphrase-file F, --key-file F, --key-command CMD,\n"
	      "--keystore DIR).\n",
	      f);
	for (avail = 1; avail >= 0; avail--) {
		fputs(avail ? "\ncommands:\n" : "\nnot yet available:\n", f);
		for (i = 0; i < VF_ARRAY_LEN(cmds); i++)
			if (!!cmds[i].fn == avail)
				fprintf(f, "  vaultctl %s\n", cmds[i].usage);
	}
	fputs("\nexit status: 0 ok, 1 refused or failed, 2 usage\n", f);
	return 0;
}

/* Says "vaultctl: WHAT failed: REASON" for core's error rc.  Returns 1. */
static int say_failed(struct vf_cmd_ctx *ctx, const char *what, int rc)
{
	fprintf(ctx->err, "vaultctl: %s failed: %s\n", what, strerror(-rc));
	return 1;
}

/* What a list callback prints to: out, in JSON or text, as of now (for
 * lists that show times left); n counts the items so far. */
struct list_state {
	FILE *out;
	int json;
	int64_t now;
	uint64_t n;
};

/* A list printed by a callback: "[" before it in JSON, "]" after. */
static void list_begin(struct vf_cmd_ctx *ctx, int json)
{
	if (json)
		fputc('[', ctx->out);
}

/* Ends a list begun by list_begin; when listing failed (rc < 0), says
 * "WHAT failed" after what was printed.  Returns the exit code. */
static int list_end(struct vf_cmd_ctx *ctx, int json, int rc, const char *what)
{
	if (json)
		fputs("]\n", ctx->out);
	if (rc < 0) {
		fflush(ctx->out);
		return say_failed(ctx, what, rc);
	}
	return 0;
}

static void print_ratio(FILE *f, const struct vf_status *st, int json)
{
	if (!st->stored_bytes)
		fputs(json ? "null" : "-", f);
	else
		fprintf(f, "%.2f",
			(double)st->logical_bytes / (double)st->stored_bytes);
}

static int cmd_status(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		      char **argv)
{
	struct vf_status st;
	int json = 0, rc;
	FILE *f = ctx->out;

	rc = parse_json_only(c, ctx->err, argc, argv, NULL, 0, &json);
	if (rc)
		return rc;
	memset(&st, 0, sizeof(st));
	rc = vf_vault_status(ctx->v, &st);
	if (rc < 0)
		return say_failed(ctx, "reading the vault status", rc);
	st.vault_id[sizeof(st.vault_id) - 1] = '\0';
	if (json) {
		fputs("{\"vault_id\":", f);
		json_str(f, st.vault_id);
		fprintf(f, ",\"files\":%llu,\"dirs\":%llu,\"versions\":%llu,"
			"\"chunks\":%llu,\"packs\":%llu,\"logical_bytes\":%llu,"
			"\"stored_bytes\":%llu,\"catalog_bytes\":%llu,\"ratio\":",
			(unsigned long long)st.files,
			(unsigned long long)st.dirs,
			(unsigned long long)st.versions,
			(unsigned long long)st.chunks,
			(unsigned long long)st.packs,
			(unsigned long long)st.logical_bytes,
			(unsigned long long)st.stored_bytes,
			(unsigned long long)st.catalog_bytes);
		print_ratio(f, &st, 1);
		fputs("}\n", f);
		return 0;
	}
	fprintf(f, "vault id:       %s\n", st.vault_id);
	fprintf(f, "files:          %llu\n", (unsigned long long)st.files);
	fprintf(f, "dirs:           %llu\n", (unsigned long long)st.dirs);
	fprintf(f, "versions:       %llu\n", (unsigned long long)st.versions);
	fprintf(f, "chunks:         %llu\n", (unsigned long long)st.chunks);
	fprintf(f, "packs:          %llu\n", (unsigned long long)st.packs);
	fprintf(f, "logical bytes:  %llu\n",
		(unsigned long long)st.logical_bytes);
	fprintf(f, "stored bytes:   %llu\n",
		(unsigned long long)st.stored_bytes);
	fprintf(f, "catalog bytes:  %llu\n",
		(unsigned long long)st.catalog_bytes);
	fputs("ratio:          ", f);
	print_ratio(f, &st, 0);
	fputs(" (logical/stored: dedup and compression)\n", f);
	return 0;
}

static void check_problem(void *arg, const char *path, const char *what)
{
	struct list_state *cs = arg;

	if (cs->json) {
		fprintf(cs->out, "%s{\"path\":", cs->n ? "," : "");
		json_str(cs->out, path ? path : "");
		fputs(",\"what\":", cs->out);
		json_str(cs->out, what ? what : "");
		fputc('}', cs->out);
	} else {
		fputs("damaged: ", cs->out);
		text_str(cs->out, path ? path : "");
		fputs(": ", cs->out);
		text_str(cs->out, what ? what : "");
		fputc('\n', cs->out);
	}
	cs->n++;
}

static int cmd_check(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		     char **argv)
{
	struct list_state cs = { ctx->out, 0, 0, 0 };
	unsigned long long n;
	struct vf_status st;
	int read_data = 0, rc, src;
	const struct opt opts[] = {
		{ "--read-data", NULL, &read_data },
		{ "--json", NULL, &cs.json },
		{ NULL, NULL, NULL },
	};
	FILE *f = ctx->out;

	rc = parse_args(c, ctx->err, argc, argv, opts, NULL, 0, 0);
	if (rc)
		return rc;
	if (cs.json)
		fputs("{\"problems\":[", f);
	rc = vf_vault_check(ctx->v, read_data, check_problem, &cs);
	memset(&st, 0, sizeof(st));
	src = rc < 0 ? 0 : vf_vault_status(ctx->v, &st);
	if (cs.json) {
		fprintf(f, "],\"ok\":%s,\"complete\":%s,\"read_data\":%s,"
			"\"files\":%llu,\"chunks\":%llu}\n",
			rc == 0 ? "true" : "false",
			rc < 0 ? "false" : "true", read_data ? "true" : "false",
			(unsigned long long)st.files,
			(unsigned long long)st.chunks);
	}
	if (rc < 0) {
		fflush(f);
		fprintf(ctx->err, "vaultctl: check could not finish: %s\n",
			strerror(-rc));
		return 1;
	}
	if (rc > 0) {
		/* The core counts damaged objects, the callback reports each
		 * path they affect (one bad chunk, two files): count what the
		 * user sees listed. */
		n = cs.n > (unsigned long long)rc ? cs.n : (unsigned long long)rc;
		if (!cs.json)
			fprintf(f, "check: %llu problem%s\n", n,
				n == 1 ? "" : "s");
		fflush(f);
		fprintf(ctx->err, "vaultctl: check found %llu problem%s\n", n,
			n == 1 ? "" : "s");
		return 1;
	}
	if (src < 0) {
		fflush(f);
		fprintf(ctx->err, "vaultctl: reading the vault status failed: %s\n",
			strerror(-src));
		return 1;
	}
	if (!cs.json)
		fprintf(f, "check: ok (%llu files, %llu chunks verified)\n",
			(unsigned long long)st.files,
			(unsigned long long)st.chunks);
	return 0;
}

/* ---- history: retention policy, prune, gc, snapshots ------------------ */

/* Parses a count ("0" to "4294967295", digits only) into *out.  Returns 0
 * or 2 after printing the reason and the usage line. */
static int parse_count(const struct cmd *c, FILE *err, const char *opt,
		       const char *s, unsigned *out)
{
	unsigned long long n = 0;
	const char *p = s;

	if (!*p)
		goto bad;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			goto bad;
		n = n * 10 + (unsigned)(*p - '0');
		if (n > UINT_MAX)
			goto bad;
	}
	*out = (unsigned)n;
	return 0;
bad:
	return usage_error(err, c,
			   "option '%s': '%s' is not a number from 0 to %u",
			   opt, s, UINT_MAX);
}

/* Units of a duration, largest first; a year is 365 days (only
 * --keep-within and its display use these lengths). */
static const struct {
	char unit;
	int64_t secs;
} dur_units[] = {
	{ 'y', 365 * 86400 }, { 'w', 7 * 86400 }, { 'd', 86400 },
	{ 'h', 3600 },        { 'm', 60 },        { 's', 1 },
};

/* Parses a duration: "0", or one or more NUMBER UNIT pairs with units
 * s, m, h, d, w, y ("30d", "12h", "90m", "2w", "1y", "1d12h") into
 * nanoseconds.  Returns 0 or -EINVAL (garbage, no unit, overflow). */
static int parse_duration(const char *s, int64_t *out)
{
	int64_t total = 0, n, ns;
	size_t i;

	if (!strcmp(s, "0")) {
		*out = 0;
		return 0;
	}
	if (!*s)
		return -EINVAL;
	while (*s) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		for (n = 0; *s >= '0' && *s <= '9'; s++)
			if (__builtin_mul_overflow(n, 10, &n) ||
			    __builtin_add_overflow(n, *s - '0', &n))
				return -EINVAL;
		for (i = 0; i < VF_ARRAY_LEN(dur_units); i++)
			if (*s == dur_units[i].unit)
				break;
		if (i == VF_ARRAY_LEN(dur_units))
			return -EINVAL;
		s++;
		if (__builtin_mul_overflow(n, dur_units[i].secs * VF_NS, &ns) ||
		    __builtin_add_overflow(total, ns, &total))
			return -EINVAL;
	}
	*out = total;
	return 0;
}

/* Formats a duration in the largest unit that divides it ("30d", "36h";
 * weeks are left to days, "0" is off). */
static void format_duration(int64_t ns, char *buf, size_t cap)
{
	size_t i;

	if (ns == 0) {
		snprintf(buf, cap, "0");
		return;
	}
	if (ns % VF_NS || ns < 0) {
		snprintf(buf, cap, "%lldns", (long long)ns);
		return;
	}
	for (i = 0; i < VF_ARRAY_LEN(dur_units); i++) {
		if (dur_units[i].unit == 'w')
			continue;
		if ((ns / VF_NS) % dur_units[i].secs == 0)
			break;
	}
	snprintf(buf, cap, "%lld%c",
		 (long long)(ns / VF_NS / dur_units[i].secs), dur_units[i].unit);
}

static void print_policy(FILE *f, const struct vf_retention *p, int json)
{
	char within[32];

	format_duration(p->keep_within, within, sizeof(within));
	if (json) {
		fprintf(f, "{\"keep_last\":%u,\"keep_within\":\"%s\","
			"\"keep_within_seconds\":%lld,\"keep_hourly\":%u,"
			"\"keep_daily\":%u,\"keep_weekly\":%u,"
			"\"keep_monthly\":%u,\"keep_yearly\":%u,"
			"\"min_points\":%u}\n",
			p->keep_last, within,
			(long long)(p->keep_within / VF_NS), p->keep_hourly,
			p->keep_daily, p->keep_weekly, p->keep_monthly,
			p->keep_yearly, p->min_points);
		return;
	}
	fprintf(f, "keep-last:     %u\n", p->keep_last);
	fprintf(f, "keep-within:   %s\n", within);
	fprintf(f, "keep-hourly:   %u\n", p->keep_hourly);
	fprintf(f, "keep-daily:    %u\n", p->keep_daily);
	fprintf(f, "keep-weekly:   %u\n", p->keep_weekly);
	fprintf(f, "keep-monthly:  %u\n", p->keep_monthly);
	fprintf(f, "keep-yearly:   %u\n", p->keep_yearly);
	fprintf(f, "min-points:    %u\n", p->min_points);
	if (!p->keep_last && !p->keep_within && !p->keep_hourly &&
	    !p->keep_daily && !p->keep_weekly && !p->keep_monthly &&
	    !p->keep_yearly)
		fputs("(no rule set: prune keeps every recovery point)\n", f);
}

static int cmd_policy_show(struct vf_cmd_ctx *ctx, const struct cmd *c,
			   int argc, char **argv)
{
	struct vf_retention p;
	int json = 0, rc;

	rc = parse_json_only(c, ctx->err, argc, argv, NULL, 0, &json);
	if (rc)
		return rc;
	memset(&p, 0, sizeof(p));
	rc = vf_vault_policy_get(ctx->v, &p);
	if (rc < 0)
		return say_failed(ctx, "reading the retention policy", rc);
	print_policy(ctx->out, &p, json);
	return 0;
}

static int cmd_policy_set(struct vf_cmd_ctx *ctx, const struct cmd *c,
			  int argc, char **argv)
{
	const char *last = NULL, *within = NULL, *hourly = NULL, *daily = NULL,
		   *weekly = NULL, *monthly = NULL, *yearly = NULL, *min = NULL,
		   *token = NULL;
	int json = 0, rc;
	const struct opt opts[] = {
		{ "--keep-last", &last, NULL },
		{ "--keep-within", &within, NULL },
		{ "--keep-hourly", &hourly, NULL },
		{ "--keep-daily", &daily, NULL },
		{ "--keep-weekly", &weekly, NULL },
		{ "--keep-monthly", &monthly, NULL },
		{ "--keep-yearly", &yearly, NULL },
		{ "--min-points", &min, NULL },
		{ "--approval", &token, NULL },
		{ "--json", NULL, &json },
		{ NULL, NULL, NULL },
	};
	struct vf_retention p, cur;
	struct vf_imm_vault iv;
	char err[512] = "", params[256], w[32];
	int64_t ns = 0;

	rc = parse_args(c, ctx->err, argc, argv, opts, NULL, 0, 0);
	if (rc)
		return rc;
	rc = check_token(ctx, c, token);
	if (rc)
		return rc;
	if (within && parse_duration(within, &ns) < 0)
		return usage_error(ctx->err, c, "option '--keep-within': '%s' is not a duration (like 30d, 12h, 90m, 2w, 1y)",
				   within);
	memset(&p, 0, sizeof(p));
	rc = vf_vault_policy_get(ctx->v, &p);
	if (rc < 0)
		return say_failed(ctx, "reading the retention policy", rc);
	cur = p;
	/* Options not given keep their current value. */
	if ((last && parse_count(c, ctx->err, "--keep-last", last,
				 &p.keep_last)) ||
	    (hourly && parse_count(c, ctx->err, "--keep-hourly", hourly,
				   &p.keep_hourly)) ||
	    (daily && parse_count(c, ctx->err, "--keep-daily", daily,
				  &p.keep_daily)) ||
	    (weekly && parse_count(c, ctx->err, "--keep-weekly", weekly,
				   &p.keep_weekly)) ||
	    (monthly && parse_count(c, ctx->err, "--keep-monthly", monthly,
				    &p.keep_monthly)) ||
	    (yearly && parse_count(c, ctx->err, "--keep-yearly", yearly,
				   &p.keep_yearly)) ||
	    (min && parse_count(c, ctx->err, "--min-points", min,
				&p.min_points)))
		return 2;
	if (within)
		p.keep_within = ns;
	/* A policy that may keep less is critical (SPEC 7), approved for
	 * exactly the new policy.  Not asked for what core refuses whoever
	 * approves: too few min-points, or a weaker policy on a vault
	 * locked immutable for good. */
	rc = vf_vault_immutable_vault_get(ctx->v, &iv);
	if (rc < 0)
		return say_failed(ctx, "reading the immutable vault setting",
				  rc);
	format_duration(p.keep_within, w, sizeof(w));
	snprintf(params, sizeof(params),
		 "keep-last=%u keep-within=%s keep-hourly=%u keep-daily=%u "
		 "keep-weekly=%u keep-monthly=%u keep-yearly=%u min-points=%u",
		 p.keep_last, w, p.keep_hourly, p.keep_daily, p.keep_weekly,
		 p.keep_monthly, p.keep_yearly, p.min_points);
	if (p.min_points >= VF_POLICY_MIN_POINTS && vf_policy_weaker(&cur, &p) &&
	    !(iv.on && vf_policy_lock_state(iv.lock_at, vf_clock_now()) == 2) &&
	    critical_check(ctx, c, "policy.weaker", params, token))
		return 1;
	rc = vf_vault_policy_set(ctx->v, &p, err, sizeof(err));
	audit_cmd(ctx, c, NULL, rc, rc ? err : params);
	if (rc < 0) {
		if (err[0])
			fprintf(ctx->err, "vaultctl: policy set refused: %s\n",
				err);
		else
			fprintf(ctx->err, "vaultctl: setting the retention policy failed: %s\n",
				strerror(-rc));
		return 1;
	}
	print_policy(ctx->out, &p, json);
	return 0;
}

static void prune_version(void *arg, const char *path, int64_t t,
			  uint64_t size)
{
	struct list_state *ps = arg;
	char ts[32];

	vf_time_format(t, ts);
	if (ps->json) {
		fprintf(ps->out, "%s{\"path\":", ps->n ? "," : "");
		json_str(ps->out, path ? path : "");
		fprintf(ps->out, ",\"time\":\"%s\",\"time_ns\":%lld,\"size\":%llu}",
			ts, (long long)t, (unsigned long long)size);
	} else {
		text_str(ps->out, path ? path : "");
		fprintf(ps->out, "\t%s\t%llu\n", ts, (unsigned long long)size);
	}
	ps->n++;
}

static int cmd_prune(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		     char **argv)
{
	struct list_state ps = { ctx->out, 0, 0, 0 };
	struct vf_prune_stats st;
	char detail[96];
	int dry = 0, rc;
	const struct opt opts[] = {
		{ "--dry-run", NULL, &dry },
		{ "--json", NULL, &ps.json },
		{ NULL, NULL, NULL },
	};
	FILE *f = ctx->out;

	rc = parse_args(c, ctx->err, argc, argv, opts, NULL, 0, 0);
	if (rc)
		return rc;
	memset(&st, 0, sizeof(st));
	if (ps.json)
		fprintf(f, "{\"dry_run\":%s,\"removed\":[", dry ? "true" : "false");
	rc = vf_vault_prune(ctx->v, vf_clock_now(), dry, prune_version, &ps,
			    &st);
	if (!dry) {
		snprintf(detail, sizeof(detail),
			 "removed %llu versions (%llu bytes)",
			 (unsigned long long)st.removed,
			 (unsigned long long)st.removed_bytes);
		audit_cmd(ctx, c, NULL, rc, detail);
	}
	if (ps.json)
		fprintf(f, "],\"complete\":%s,\"files\":%llu,\"versions\":%llu,"
			"\"removed_count\":%llu,\"removed_bytes\":%llu}\n",
			rc < 0 ? "false" : "true",
			(unsigned long long)st.files,
			(unsigned long long)st.versions,
			(unsigned long long)st.removed,
			(unsigned long long)st.removed_bytes);
	if (rc < 0) {
		fflush(f);
		fprintf(ctx->err, "vaultctl: prune %s after %llu version%s: %s\n",
			rc == -EPERM ? "refused" : "failed",
			(unsigned long long)st.removed,
			st.removed == 1 ? "" : "s", strerror(-rc));
		return 1;
	}
	if (!ps.json)
		fprintf(f, "prune%s: %s %llu of %llu versions (%llu bytes) in %llu files\n",
			dry ? " (dry run)" : "", dry ? "would remove" : "removed",
			(unsigned long long)st.removed,
			(unsigned long long)st.versions,
			(unsigned long long)st.removed_bytes,
			(unsigned long long)st.files);
	return 0;
}

static int cmd_gc(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		  char **argv)
{
	struct vf_gc_stats st;
	char detail[128];
	int json = 0, rc;
	FILE *f = ctx->out;

	rc = parse_json_only(c, ctx->err, argc, argv, NULL, 0, &json);
	if (rc)
		return rc;
	memset(&st, 0, sizeof(st));
	rc = vf_vault_gc(ctx->v, &st);
	snprintf(detail, sizeof(detail),
		 "purged %llu items, freed %llu chunks, removed %llu packs",
		 (unsigned long long)st.purged,
		 (unsigned long long)st.chunks_freed,
		 (unsigned long long)st.packs_removed);
	audit_cmd(ctx, c, NULL, rc, rc ? NULL : detail);
	if (rc < 0) {
		fprintf(ctx->err, "vaultctl: gc %s: %s\n",
			rc == -EPERM ? "refused" : "failed", strerror(-rc));
		return 1;
	}
	if (json) {
		fprintf(f, "{\"purged\":%llu,\"chunks_freed\":%llu,"
			"\"packs_rewritten\":%llu,\"packs_removed\":%llu,"
			"\"packs_quarantined\":%llu,"
			"\"stored_before\":%llu,\"stored_after\":%llu,"
			"\"busy\":%s}\n",
			(unsigned long long)st.purged,
			(unsigned long long)st.chunks_freed,
			(unsigned long long)st.packs_rewritten,
			(unsigned long long)st.packs_removed,
			(unsigned long long)st.packs_quarantined,
			(unsigned long long)st.stored_before,
			(unsigned long long)st.stored_after,
			st.busy ? "true" : "false");
		return 0;
	}
	fprintf(f, "purged:           %llu (soft-deleted items past their purge time)\n",
		(unsigned long long)st.purged);
	fprintf(f, "chunks freed:     %llu\n",
		(unsigned long long)st.chunks_freed);
	fprintf(f, "packs rewritten:  %llu\n",
		(unsigned long long)st.packs_rewritten);
	fprintf(f, "packs removed:    %llu\n",
		(unsigned long long)st.packs_removed);
	if (st.packs_quarantined)
		fprintf(f, "packs quarantined: %llu (unknown to the catalog; kept in packs/%s)\n",
			(unsigned long long)st.packs_quarantined,
			VF_PACK_QUARANTINE);
	fprintf(f, "stored bytes:     %llu -> %llu\n",
		(unsigned long long)st.stored_before,
		(unsigned long long)st.stored_after);
	if (st.busy)
		fputs("gc: some work was skipped because files were being written; run gc again later\n",
		      f);
	return 0;
}

/* Tags are at most 64 bytes, no control characters (one line in lists). */
static int tag_ok(const char *tag)
{
	const unsigned char *p = (const unsigned char *)tag;

	if (!*p || strlen(tag) > 64)
		return 0;
	for (; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

static int cmd_snapshot(struct vf_cmd_ctx *ctx, const struct cmd *c,
			int argc, char **argv)
{
	const char *tag = NULL;
	int json = 0, rc;
	const struct opt opts[] = {
		{ "--tag", &tag, NULL },
		{ "--json", NULL, &json },
		{ NULL, NULL, NULL },
	};
	char ts[32];
	int64_t t = 0;

	rc = parse_args(c, ctx->err, argc, argv, opts, NULL, 0, 0);
	if (rc)
		return rc;
	if (tag && !tag_ok(tag))
		return usage_error(ctx->err, c, "snapshot: bad tag: 1 to 64 bytes without control characters");
	rc = vf_vault_snapshot(ctx->v, tag, &t);
	if (rc < 0) {
		fprintf(ctx->err, "vaultctl: snapshot %s: %s\n",
			rc == -EPERM || rc == -EINVAL ? "refused" : "failed",
			strerror(-rc));
		return 1;
	}
	vf_time_format(t, ts);
	if (json) {
		fprintf(ctx->out, "{\"time\":\"%s\",\"tag\":", ts);
		if (tag)
			json_str(ctx->out, tag);
		else
			fputs("null", ctx->out);
		fputs("}\n", ctx->out);
	} else {
		fprintf(ctx->out, "%s\n", ts);
	}
	return 0;
}

/* Core gives no tag (NULL) for automatic points and untagged explicit
 * ones alike: a point is its time and, when it has one, its tag. */
static int snaps_point(void *arg, int64_t t, const char *tag)
{
	struct list_state *ss = arg;
	char ts[32];

	vf_time_format(t, ts);
	if (ss->json) {
		fprintf(ss->out, "%s{\"time\":\"%s\",\"tag\":", ss->n ? "," : "",
			ts);
		if (tag)
			json_str(ss->out, tag);
		else
			fputs("null", ss->out);
		fputc('}', ss->out);
	} else {
		fputs(ts, ss->out);
		if (tag) {
			fputc('\t', ss->out);
			text_str(ss->out, tag);
		}
		fputc('\n', ss->out);
	}
	ss->n++;
	return 0;
}

static int cmd_snapshots(struct vf_cmd_ctx *ctx, const struct cmd *c,
			 int argc, char **argv)
{
	struct list_state ss = { ctx->out, 0, 0, 0 };
	int rc;

	rc = parse_json_only(c, ctx->err, argc, argv, NULL, 0, &ss.json);
	if (rc)
		return rc;
	list_begin(ctx, ss.json);
	rc = vf_vault_snapshots(ctx->v, vf_clock_now(), snaps_point, &ss);
	return list_end(ctx, ss.json, rc, "listing snapshots");
}

/* ---- soft delete: settings, list, purge (SPEC 4) ------------------------ */

#define DAY_NS (86400 * VF_NS)

/* Prints the soft-delete settings as of now; always-on is "off", "pending"
 * (it becomes final at always_on) or "final" (since always_on). */
static void print_softdelete(FILE *f, const struct vf_softdelete *sd,
			     int64_t now, int json)
{
	const char *state = "off";
	char ts[32] = "";

	if (sd->always_on) {
		state = sd->always_on > now ? "pending" : "final";
		vf_time_format(sd->always_on, ts);
	}
	if (json) {
		fprintf(f, "{\"days\":%u,\"on\":%s,\"always_on\":\"%s\","
			"\"always_on_final_at\":",
			sd->days, sd->off ? "false" : "true", state);
		if (sd->always_on)
			fprintf(f, "\"%s\"", ts);
		else
			fputs("null", f);
		fputs("}\n", f);
		return;
	}
	fprintf(f, "retention:    %u days\n", sd->days);
	fprintf(f, "soft delete:  %s\n",
		sd->off ? "off (deletes are final)" : "on");
	if (!sd->always_on)
		fputs("always-on:    off\n", f);
	else if (sd->always_on > now)
		fprintf(f, "always-on:    pending until %s (cancel before then with --cancel-always-on)\n",
			ts);
	else
		fprintf(f, "always-on:    final since %s (soft delete cannot be turned off or shortened, nothing is purged early)\n",
			ts);
}

static int cmd_softdelete_show(struct vf_cmd_ctx *ctx, const struct cmd *c,
			       int argc, char **argv)
{
	struct vf_softdelete sd;
	int json = 0, rc;

	rc = parse_json_only(c, ctx->err, argc, argv, NULL, 0, &json);
	if (rc)
		return rc;
	memset(&sd, 0, sizeof(sd));
	rc = vf_vault_softdelete_get(ctx->v, &sd);
	if (rc < 0)
		return say_failed(ctx, "reading the soft-delete settings", rc);
	print_softdelete(ctx->out, &sd, vf_clock_now(), json);
	return 0;
}

/* Parses --days: a plain decimal number.  Returns 0; 2 when it is not a
 * number (one line, a usage error); 1 when it is too large even to hand to
 * core (one line, as core words an out-of-range value).  Values that fit
 * go to core, which owns the 14..180 rule. */
static int parse_days(FILE *err, const char *s, unsigned *out)
{
	unsigned long long n = 0;
	const char *p = s;

	if (!*p)
		goto bad;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			goto bad;
		if (n <= UINT_MAX)
			n = n * 10 + (unsigned)(*p - '0');
	}
	if (n > UINT_MAX) {
		fprintf(err, "vaultctl: softdelete set refused: soft-delete retention must be %d to %d days, not %s\n",
			VF_SOFTDELETE_MIN_DAYS, VF_SOFTDELETE_MAX_DAYS, s);
		return 1;
	}
	*out = (unsigned)n;
	return 0;
bad:
	/* One line, no usage line after it: the reason says it all. */
	fprintf(err, "vaultctl: softdelete set: option '--days': '%s' is not a whole number of days (%d to %d)\n",
		s, VF_SOFTDELETE_MIN_DAYS, VF_SOFTDELETE_MAX_DAYS);
	return 2;
}

static int cmd_softdelete_set(struct vf_cmd_ctx *ctx, const struct cmd *c,
			      int argc, char **argv)
{
	const char *days_s = NULL, *token = NULL, *op = NULL;
	int on = 0, off = 0, always = 0, cancel = 0, json = 0, rc, critical;
	const struct opt opts[] = {
		{ "--days", &days_s, NULL },
		{ "--on", NULL, &on },
		{ "--off", NULL, &off },
		{ "--always-on", NULL, &always },
		{ "--cancel-always-on", NULL, &cancel },
		{ "--approval", &token, NULL },
		{ "--json", NULL, &json },
		{ NULL, NULL, NULL },
	};
	struct vf_softdelete cur;
	enum vf_sd_change what;
	char err[512] = "", params[32] = "", change[48];
	unsigned days = 0;
	int64_t now;

	rc = parse_args(c, ctx->err, argc, argv, opts, NULL, 0, 0);
	if (rc)
		return rc;
	if (!!days_s + on + off + always + cancel != 1)
		return usage_error(ctx->err, c, "softdelete set: give exactly one of --days, --on, --off, --always-on, --cancel-always-on");
	if (token && !*token)
		return usage_error(ctx->err, c, "softdelete set: option '--approval' needs a token");
	if (days_s) {
		rc = parse_days(ctx->err, days_s, &days);
		if (rc)
			return rc;
	}
	memset(&cur, 0, sizeof(cur));
	rc = vf_vault_softdelete_get(ctx->v, &cur);
	if (rc < 0)
		return say_failed(ctx, "reading the soft-delete settings", rc);
	/* Turning soft delete off, shortening its retention and cancelling
	 * a pending always-on are critical operations (SPEC 4, 7): they go
	 * through critical_check, which asks for the guard's approval when
	 * one is attached.  A value out of range is not critical: core
	 * refuses it whoever approves. */
	if (days_s) {
		what = VF_SD_DAYS;
		op = "softdelete.days";
		snprintf(params, sizeof(params), "days=%u", days);
		critical = days >= VF_SOFTDELETE_MIN_DAYS &&
			   days <= VF_SOFTDELETE_MAX_DAYS && days < cur.days;
	} else if (on) {
		what = VF_SD_ON;
		critical = 0;
	} else if (off) {
		what = VF_SD_OFF;
		op = "softdelete.off";
		critical = 1;
	} else if (always) {
		what = VF_SD_ALWAYS_ON;
		critical = 0;
	} else {
		what = VF_SD_CANCEL;
		op = "softdelete.cancel-always-on";
		critical = 1;
	}
	if (critical && critical_check(ctx, c, op, params, token))
		return 1;
	now = vf_clock_now();
	rc = vf_vault_softdelete_set(ctx->v, what, days, now, err, sizeof(err));
	if (days_s)
		snprintf(change, sizeof(change), "days=%u (was %u)", days,
			 cur.days);
	audit_cmd(ctx, c, NULL, rc,
		  rc ? err : days_s ? change : on ? "on" : off ? "off" :
		  always ? "always-on" : "cancel-always-on");
	if (rc < 0) {
		if (err[0])
			fprintf(ctx->err, "vaultctl: softdelete set refused: %s\n",
				err);
		else
			fprintf(ctx->err, "vaultctl: changing the soft-delete settings failed: %s\n",
				strerror(-rc));
		return 1;
	}
	rc = vf_vault_softdelete_get(ctx->v, &cur);
	if (rc < 0)
		return say_failed(ctx, "the soft-delete settings were changed, but reading them back",
				  rc);
	print_softdelete(ctx->out, &cur, now, json);
	return 0;
}

static int sdlist_item(void *arg, const struct vf_trash_item *it)
{
	struct list_state *ls = arg;
	char del[32], pur[32];
	long long left;

	vf_time_format(it->deleted_at, del);
	vf_time_format(it->purge_at, pur);
	/* whole days until the purge, rounded down */
	left = it->purge_at > ls->now ?
		       (long long)((it->purge_at - ls->now) / DAY_NS) :
		       0;
	if (ls->json) {
		fprintf(ls->out, "%s{\"path\":", ls->n ? "," : "");
		json_str(ls->out, it->path);
		fprintf(ls->out, ",\"type\":\"%s\",\"size\":%llu,\"files\":%llu,"
			"\"deleted_at\":\"%s\",\"purge_at\":\"%s\","
			"\"days_left\":%lld}",
			it->is_dir ? "dir" : "file",
			(unsigned long long)it->size,
			(unsigned long long)it->files, del, pur, left);
	} else {
		text_str(ls->out, it->path);
		fprintf(ls->out, "%s\t%llu\t%s\t%s\t%lld\n",
			it->is_dir ? "/" : "", (unsigned long long)it->size,
			del, pur, left);
	}
	ls->n++;
	return 0;
}

static int cmd_softdelete_list(struct vf_cmd_ctx *ctx, const struct cmd *c,
			       int argc, char **argv)
{
	struct list_state ls = { ctx->out, 0, 0, 0 };
	int rc;

	rc = parse_json_only(c, ctx->err, argc, argv, NULL, 0, &ls.json);
	if (rc)
		return rc;
	ls.now = vf_clock_now();
	list_begin(ctx, ls.json);
	rc = vf_vault_softdelete_list(ctx->v, ls.now, sdlist_item, &ls);
	return list_end(ctx, ls.json, rc, "listing soft-deleted items");
}

/* PATH as under .softdeleted: a leading "/" and ".softdeleted/" (the way
 * it shows in the mount) are dropped.  Borrowed from s. */
static const char *trash_rel(const char *s)
{
	while (*s == '/')
		s++;
	if (!strncmp(s, ".softdeleted", 12) && (s[12] == '/' || !s[12]))
		for (s += 12; *s == '/'; s++)
			;
	return s;
}

static int cmd_softdelete_purge(struct vf_cmd_ctx *ctx, const struct cmd *c,
				int argc, char **argv)
{
	const char *token = NULL, *path;
	char *pos[1] = { NULL };
	int json = 0, rc;
	const struct opt opts[] = {
		{ "--approval", &token, NULL },
		{ "--json", NULL, &json },
		{ NULL, NULL, NULL },
	};
	char err[512] = "", params[VF_PATH_MAX + 8], detail[48];
	uint64_t n = 0;

	rc = parse_args(c, ctx->err, argc, argv, opts, pos, 1, 1);
	if (rc)
		return rc;
	if (token && !*token)
		return usage_error(ctx->err, c, "softdelete purge: option '--approval' needs a token");
	path = trash_rel(pos[0]);
	if (!*path)
		return usage_error(ctx->err, c, "softdelete purge: PATH must name an item in .softdeleted");
	/* Early purge is a critical operation (SPEC 4, 7). */
	if (strlen(path) > VF_PATH_MAX) {
		fprintf(ctx->err, "vaultctl: softdelete purge: PATH is too long\n");
		return 1;
	}
	snprintf(params, sizeof(params), "path=%s", path);
	if (critical_check(ctx, c, "softdelete.purge", params, token))
		return 1;
	rc = vf_vault_softdelete_purge(ctx->v, path, vf_clock_now(), &n, err,
				       sizeof(err));
	snprintf(detail, sizeof(detail), "%llu item%s removed",
		 (unsigned long long)n, n == 1 ? "" : "s");
	audit_cmd(ctx, c, path, rc, rc ? err : detail);
	if (rc < 0) {
		fprintf(ctx->err, "vaultctl: softdelete purge %s: ",
			rc == -EPERM || rc == -EROFS || rc == -EBUSY ?
				"refused" :
				"failed");
		text_str(ctx->err, err[0] ? err : strerror(-rc));
		fputc('\n', ctx->err);
		return 1;
	}
	if (json) {
		fputs("{\"path\":", ctx->out);
		json_str(ctx->out, path);
		fprintf(ctx->out, ",\"purged\":%llu}\n", (unsigned long long)n);
	} else {
		fputs("purged '", ctx->out);
		text_str(ctx->out, path);
		fprintf(ctx->out, "': %llu item%s removed for good\n",
			(unsigned long long)n, n == 1 ? "" : "s");
	}
	return 0;
}

/* ---- restore: a client command ---------------------------------------- */

/*
 * `vaultctl restore MNT PATH --at T` copies MNT/.snapshots/T/PATH back to
 * MNT/PATH, or with --to to a new DEST, in vaultctl and as its caller:
 * every read and write goes through the kernel, which checks it as it
 * would for cp.  In place, a file that exists is truncated and rewritten
 * (a new recovery point of the same file, whose history stays), unless its
 * content already matches; a symlink or special file in the way is
 * replaced by a rename over it (not a deletion, SPEC 4); what is missing is
 * created; entries created after T are left alone.  Owners are restored
 * when the caller is root; modes, times and xattrs always.
 *
 * Bounded resources whatever the tree: data streams through one buffer.
 * Directories down to RESTORE_FD_DEPTH levels are read as streams and keep
 * two descriptors each; below that a directory's names are read into
 * memory, its descriptors closed, and each entry reached again from the
 * directory at RESTORE_FD_DEPTH.  Every path is resolved one component at
 * a time with O_NOFOLLOW: no symlink in either tree is ever followed, so a
 * restore run by root cannot be steered outside MNT or DEST.
 */
#define RESTORE_FD_DEPTH 8
#define RESTORE_BUF (1u << 20)
#define RESTORE_HOLE (64u << 10) /* zero runs left as holes in new files */
#define XATTR_BUF (64u << 10)     /* XATTR_LIST_MAX, XATTR_SIZE_MAX */
#define LINK_BUCKETS 256

/* The first restored name of a file with several links. */
struct rlink {
	dev_t dev;
	ino_t ino;
	struct rlink *next;
	char path[]; /* relative to DEST's parent directory */
};

struct restore {
	FILE *err;
	int in_place;
	uid_t uid;
	const char *dname;  /* the top's name in the destination... */
	int top_dfd;        /* ...and its directory there (for links) */
	char *buf, *cmp;    /* RESTORE_BUF each */
	char *xsrc, *xdst, *xval, *xcur; /* XATTR_BUF each */
	char path[VF_PATH_MAX + 1]; /* the entry at hand, relative to MNT */
	size_t plen, top;   /* its length; the length of PATH */
	int anchor_s, anchor_d; /* the directory at depth RESTORE_FD_DEPTH */
	size_t anchor_len;      /* the length of its path */
	unsigned tmp_seq;
	struct rlink *links[LINK_BUCKETS];
	uint64_t files, dirs, symlinks, special, unchanged, bytes, errors;
};

/* Reports a failure on the entry at hand; returns -1. */
static int rs_error(struct restore *rs, const char *what, int e)
{
	fprintf(rs->err, "vaultctl: restore: %s '", what);
	text_str(rs->err, rs->plen ? rs->path : "/");
	fprintf(rs->err, "' failed: %s\n", strerror(e));
	rs->errors++;
	return -1;
}

static int path_push(struct restore *rs, const char *name, size_t *saved)
{
	size_t n = strlen(name);

	*saved = rs->plen;
	if (rs->plen + 1 + n > VF_PATH_MAX)
		return -ENAMETOOLONG;
	if (rs->plen)
		rs->path[rs->plen++] = '/';
	memcpy(rs->path + rs->plen, name, n + 1);
	rs->plen += n;
	return 0;
}

static void path_pop(struct restore *rs, size_t saved)
{
	rs->plen = saved;
	rs->path[saved] = '\0';
}

/* Opens (O_PATH) the directory rel below dir, one component at a time,
 * following no symlink; "" is dir itself.  Returns an fd or -errno. */
static int walk(int dir, const char *rel)
{
	char comp[NAME_MAX + 1];
	const char *p = rel;
	int fd, nfd, e;
	size_t n;

	fd = fcntl(dir, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	while (*p) {
		n = strcspn(p, "/");
		if (n == 0) {
			p++;
			continue;
		}
		if (n > NAME_MAX) {
			close(fd);
			return -ENAMETOOLONG;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		nfd = openat(fd, comp,
			     O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		e = errno;
		close(fd);
		if (nfd < 0)
			return -e;
		fd = nfd;
		p += n;
	}
	return fd;
}

/* An O_PATH descriptor of name in dir (dir itself for ""). */
static int open_path(int dir, const char *name)
{
	if (!*name)
		return fcntl(dir, F_DUPFD_CLOEXEC, 0);
	return openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
}

static ssize_t read_full(int fd, char *buf, size_t cap)
{
	size_t got = 0;
	ssize_t n;

	while (got < cap) {
		n = read(fd, buf + got, cap - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static int write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int is_zero(const char *p, size_t n)
{
	return n == 0 || (p[0] == 0 && !memcmp(p, p + 1, n - 1));
}

/* ---- xattrs: through /proc/self/fd/N of an O_PATH descriptor (followed
 * to exactly that inode), or for a symlink through /proc/self/fd/DIR/NAME
 * with the l* calls, which do not follow it. */

struct xent {
	char path[64 + NAME_MAX];
	int lnk;
};

static void xent_init(struct xent *x, int fd, int dir, const char *name,
		      int lnk)
{
	x->lnk = lnk;
	if (lnk)
		snprintf(x->path, sizeof(x->path), "/proc/self/fd/%d/%s", dir,
			 name);
	else
		snprintf(x->path, sizeof(x->path), "/proc/self/fd/%d", fd);
}

static ssize_t x_list(const struct xent *x, char *buf, size_t cap)
{
	ssize_t n = x->lnk ? llistxattr(x->path, buf, cap) :
			     listxattr(x->path, buf, cap);

	/* No xattrs at all where they are not supported. */
	if (n < 0 && (errno == ENOTSUP || errno == EOPNOTSUPP))
		return 0;
	return n;
}

static ssize_t x_get(const struct xent *x, const char *name, char *buf,
		     size_t cap)
{
	return x->lnk ? lgetxattr(x->path, name, buf, cap) :
			getxattr(x->path, name, buf, cap);
}

/* 1 when a failure to change xattr name is no error: the destination does
 * not support it, or it is a namespace only root may write. */
static int x_ignorable(const struct restore *rs, const char *name, int e)
{
	if (e == ENOTSUP || e == EOPNOTSUPP)
		return 1;
	return e == EPERM && rs->uid != 0 &&
	       (!strncmp(name, "trusted.", 8) ||
		!strncmp(name, "security.", 9));
}

static int in_list(const char *list, size_t len, const char *name)
{
	size_t off;

	for (off = 0; off < len; off += strlen(list + off) + 1)
		if (!strcmp(list + off, name))
			return 1;
	return 0;
}

/* Makes d's xattrs those of s (in place, removing the ones s lacks). */
static int copy_xattrs(struct restore *rs, const struct xent *s,
		       const struct xent *d)
{
	ssize_t ns, nd, vn, cn;
	size_t off;
	const char *name;
	int rc;

	ns = x_list(s, rs->xsrc, XATTR_BUF);
	if (ns < 0)
		return rs_error(rs, "reading the xattrs of", errno);
	for (off = 0; off < (size_t)ns; off += strlen(name) + 1) {
		name = rs->xsrc + off;
		vn = x_get(s, name, rs->xval, XATTR_BUF);
		if (vn < 0)
			return rs_error(rs, "reading the xattrs of", errno);
		cn = x_get(d, name, rs->xcur, XATTR_BUF);
		if (cn == vn && !memcmp(rs->xcur, rs->xval, (size_t)vn))
			continue;
		rc = d->lnk ? lsetxattr(d->path, name, rs->xval, (size_t)vn, 0) :
			      setxattr(d->path, name, rs->xval, (size_t)vn, 0);
		if (rc < 0 && !x_ignorable(rs, name, errno))
			return rs_error(rs, "setting the xattrs of", errno);
	}
	if (!rs->in_place)
		return 0;
	nd = x_list(d, rs->xdst, XATTR_BUF);
	if (nd < 0)
		return rs_error(rs, "reading the xattrs of", errno);
	for (off = 0; off < (size_t)nd; off += strlen(name) + 1) {
		name = rs->xdst + off;
		if (in_list(rs->xsrc, (size_t)ns, name))
			continue;
		rc = d->lnk ? lremovexattr(d->path, name) :
			      removexattr(d->path, name);
		if (rc < 0 && errno != ENODATA && !x_ignorable(rs, name, errno))
			return rs_error(rs, "removing the xattrs of", errno);
	}
	return 0;
}

static int same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* Gives dname in ddir the metadata st (and the xattrs) of sname in sdir;
 * "" names the directory itself.  Owner first (chown clears setuid bits
 * and capabilities), then xattrs (ACLs), mode, times. */
static int apply_meta(struct restore *rs, int sdir, const char *sname,
		      int ddir, const char *dname, const struct stat *st)
{
	int lnk = S_ISLNK(st->st_mode), sp = -1, dp = -1, rc = -1;
	struct timespec ts[2] = { st->st_atim, st->st_mtim };
	struct xent xs, xd;
	struct stat cur;

	sp = open_path(sdir, sname);
	if (sp < 0) {
		rs_error(rs, "reading", errno);
		goto out;
	}
	dp = open_path(ddir, dname);
	if (dp < 0 || fstat(dp, &cur) < 0) {
		rs_error(rs, "setting the metadata of", errno);
		goto out;
	}
	if ((cur.st_mode ^ st->st_mode) & S_IFMT) {
		rs_error(rs, "setting the metadata of", ESTALE);
		goto out;
	}
	if (cur.st_uid != st->st_uid || cur.st_gid != st->st_gid) {
		if (rs->uid == 0) {
			if (fchownat(dp, "", st->st_uid, st->st_gid,
				     AT_EMPTY_PATH) < 0) {
				rs_error(rs, "setting the owner of", errno);
				goto out;
			}
		} else if (cur.st_uid == rs->uid && cur.st_gid != st->st_gid) {
			/* A group the caller is in; like cp -p, nothing
			 * more. */
			(void)fchownat(dp, "", (uid_t)-1, st->st_gid,
				       AT_EMPTY_PATH);
		}
	}
	xent_init(&xs, sp, sdir, sname, lnk);
	xent_init(&xd, dp, ddir, dname, lnk);
	if (copy_xattrs(rs, &xs, &xd) < 0)
		goto out;
	if (fstat(dp, &cur) < 0) {
		rs_error(rs, "setting the metadata of", errno);
		goto out;
	}
	if (!lnk && (cur.st_mode & 07777) != (st->st_mode & 07777) &&
	    chmod(xd.path, st->st_mode & 07777) < 0) {
		rs_error(rs, "setting the mode of", errno);
		goto out;
	}
	if (!same_time(&cur.st_atim, &ts[0]) ||
	    !same_time(&cur.st_mtim, &ts[1])) {
		if (lnk ? utimensat(ddir, dname, ts, AT_SYMLINK_NOFOLLOW) :
			  utimensat(AT_FDCWD, xd.path, ts, 0)) {
			rs_error(rs, "setting the times of", errno);
			goto out;
		}
	}
	rc = 0;
out:
	if (sp >= 0)
		close(sp);
	if (dp >= 0)
		close(dp);
	return rc;
}

static unsigned link_hash(dev_t dev, ino_t ino)
{
	return (unsigned)(((uint64_t)ino * 0x9e3779b97f4a7c15ull ^ dev) >> 56) %
	       LINK_BUCKETS;
}

/* Links dname to an earlier restored name of the same file.  Returns 1
 * when linked, 0 when it is the first name, -1 on error. */
static int link_existing(struct restore *rs, int ddir, const char *dname,
			 const struct stat *st)
{
	struct rlink *l;

	for (l = rs->links[link_hash(st->st_dev, st->st_ino)]; l; l = l->next) {
		if (l->dev != st->st_dev || l->ino != st->st_ino)
			continue;
		if (linkat(rs->top_dfd, l->path, ddir, dname, 0) < 0)
			return rs_error(rs, "linking", errno);
		rs->files++;
		return 1;
	}
	return 0;
}

static void remember_link(struct restore *rs, const struct stat *st)
{
	const char *suffix = rs->path + rs->top;
	unsigned h = link_hash(st->st_dev, st->st_ino);
	size_t n = strlen(rs->dname) + strlen(suffix) + 2;
	struct rlink *l;

	l = malloc(sizeof(*l) + n);
	if (!l)
		return; /* later names become copies: still right */
	l->dev = st->st_dev;
	l->ino = st->st_ino;
	if (!*rs->dname && *suffix == '/')
		suffix++; /* the whole tree in place: relative to MNT */
	snprintf(l->path, n, "%s%s%s", rs->dname,
		 *rs->dname && *suffix && *suffix != '/' ? "/" : "", suffix);
	l->next = rs->links[h];
	rs->links[h] = l;
}

static void tmp_name(struct restore *rs, char *buf, size_t cap)
{
	snprintf(buf, cap, ".vaultctl-restore.%ld.%u", (long)getpid(),
		 rs->tmp_seq++);
}

/* The end of a non-directory: metadata on name (dname or a temporary
 * name), then the rename over dname. */
static int finish(struct restore *rs, int sdir, const char *sname, int ddir,
		  const char *dname, const char *name, const struct stat *st)
{
	if (apply_meta(rs, sdir, sname, ddir, name, st) < 0)
		goto fail;
	if (name != dname && renameat(ddir, name, ddir, dname) < 0) {
		rs_error(rs, "replacing", errno);
		goto fail;
	}
	if (st->st_nlink > 1)
		remember_link(rs, st);
	return 0;
fail:
	if (name != dname)
		unlinkat(ddir, name, 0);
	return -1;
}

/* 1 when the file dname in ddir has the content of in (same size known),
 * 0 when not (or it cannot be read: then it is rewritten), -1 on error. */
static int same_content(struct restore *rs, int in, int ddir,
			const char *dname)
{
	ssize_t a, b;
	int fd, rc = -1;

	fd = openat(ddir, dname, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return errno == EACCES ? 0 : rs_error(rs, "reading", errno);
	for (;;) {
		a = read_full(in, rs->buf, RESTORE_BUF);
		if (a < 0) {
			rs_error(rs, "reading", errno);
			break;
		}
		b = read_full(fd, rs->cmp, RESTORE_BUF);
		if (b < 0) {
			rs_error(rs, "reading", errno);
			break;
		}
		if (a != b || memcmp(rs->buf, rs->cmp, (size_t)a)) {
			rc = 0;
			break;
		}
		if (a == 0) {
			rc = 1;
			break;
		}
	}
	close(fd);
	return rc;
}

/* Streams in to out; sparse: runs of zeros become holes. */
static int copy_data(struct restore *rs, int in, int out, int sparse)
{
	size_t done, part;
	off_t total = 0;
	ssize_t n;

	for (;;) {
		n = read(in, rs->buf, RESTORE_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return rs_error(rs, "reading", errno);
		if (n == 0)
			break;
		for (done = 0; done < (size_t)n; done += part) {
			part = (size_t)n - done;
			if (part > RESTORE_HOLE)
				part = RESTORE_HOLE;
			if (sparse && is_zero(rs->buf + done, part)) {
				if (lseek(out, (off_t)part, SEEK_CUR) < 0)
					return rs_error(rs, "writing", errno);
			} else if (write_all(out, rs->buf + done, part) < 0) {
				return rs_error(rs, "writing", errno);
			}
		}
		total += n;
		rs->bytes += (uint64_t)n;
	}
	if (sparse && ftruncate(out, total) < 0)
		return rs_error(rs, "writing", errno);
	return 0;
}

static int restore_file(struct restore *rs, int sdir, const char *sname,
			int ddir, const char *dname, const struct stat *st,
			const struct stat *now)
{
	const char *name = dname;
	char tmp[64];
	int in, out = -1, same, rc = -1;

	in = openat(sdir, sname, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	if (in < 0)
		return rs_error(rs, "reading", errno);
	if (now && S_ISREG(now->st_mode)) {
		if (now->st_size == st->st_size) {
			same = same_content(rs, in, ddir, dname);
			if (same < 0)
				goto out;
			if (same) {
				rs->unchanged++;
				close(in);
				in = -1;
				return finish(rs, sdir, sname, ddir, dname,
					      name, st);
			}
			if (lseek(in, 0, SEEK_SET) < 0) {
				rs_error(rs, "reading", errno);
				goto out;
			}
		}
		/* Truncated and rewritten: a new recovery point of the same
		 * file, its history kept. */
		out = openat(ddir, dname,
			     O_WRONLY | O_TRUNC | O_NOFOLLOW | O_NOCTTY |
				     O_CLOEXEC);
	} else {
		if (now) {
			tmp_name(rs, tmp, sizeof(tmp));
			name = tmp;
		}
		out = openat(ddir, name,
			     O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
				     O_NOCTTY | O_CLOEXEC,
			     0600);
	}
	if (out < 0) {
		rs_error(rs, "writing", errno);
		goto out;
	}
	if (copy_data(rs, in, out, !rs->in_place) < 0)
		goto fail;
	/* close(2) commits the recovery point: its error is the commit's. */
	rc = close(out);
	out = -1;
	if (rc < 0) {
		rs_error(rs, "writing", errno);
		goto fail;
	}
	rs->files++;
	close(in);
	in = -1;
	return finish(rs, sdir, sname, ddir, dname, name, st);
fail:
	rc = -1;
	if (out >= 0)
		close(out);
	out = -1;
	if (name != dname)
		unlinkat(ddir, name, 0);
out:
	if (out >= 0)
		close(out);
	if (in >= 0)
		close(in);
	return rc;
}

static int restore_symlink(struct restore *rs, int sdir, const char *sname,
			   int ddir, const char *dname, const struct stat *st,
			   const struct stat *now)
{
	char target[VF_PATH_MAX + 1], cur[VF_PATH_MAX + 1], tmp[64];
	const char *name = dname;
	ssize_t n, m;

	n = readlinkat(sdir, sname, target, sizeof(target));
	if (n < 0 || (size_t)n >= sizeof(target))
		return rs_error(rs, "reading", n < 0 ? errno : ENAMETOOLONG);
	target[n] = '\0';
	if (now && S_ISLNK(now->st_mode)) {
		m = readlinkat(ddir, dname, cur, sizeof(cur));
		if (m == n && !memcmp(cur, target, (size_t)n)) {
			rs->unchanged++;
			return finish(rs, sdir, sname, ddir, dname, name, st);
		}
	}
	if (now) {
		tmp_name(rs, tmp, sizeof(tmp));
		name = tmp;
	}
	if (symlinkat(target, ddir, name) < 0)
		return rs_error(rs, "creating", errno);
	rs->symlinks++;
	return finish(rs, sdir, sname, ddir, dname, name, st);
}

/* Fifos, sockets and device nodes. */
static int restore_special(struct restore *rs, int sdir, const char *sname,
			   int ddir, const char *dname, const struct stat *st,
			   const struct stat *now)
{
	const char *name = dname;
	char tmp[64];

	if (now && !((now->st_mode ^ st->st_mode) & S_IFMT) &&
	    ((!S_ISCHR(st->st_mode) && !S_ISBLK(st->st_mode)) ||
	     now->st_rdev == st->st_rdev)) {
		rs->unchanged++;
		return finish(rs, sdir, sname, ddir, dname, name, st);
	}
	if (now) {
		tmp_name(rs, tmp, sizeof(tmp));
		name = tmp;
	}
	if (mknodat(ddir, name, (st->st_mode & S_IFMT) | 0600, st->st_rdev) < 0)
		return rs_error(rs, "creating", errno);
	rs->special++;
	return finish(rs, sdir, sname, ddir, dname, name, st);
}

/* Restores sname of sdir (the snapshot) as dname in ddir; *st gets its
 * attributes.  Returns 1 for a directory that exists now in the
 * destination (the caller descends into it), 0 when done, -1 after a
 * reported error. */
static int restore_entry(struct restore *rs, int sdir, const char *sname,
			 int ddir, const char *dname, struct stat *st)
{
	struct stat now;
	int have, r;

	if (fstatat(sdir, sname, st, AT_SYMLINK_NOFOLLOW) < 0)
		return rs_error(rs, "reading", errno);
	have = fstatat(ddir, dname, &now, AT_SYMLINK_NOFOLLOW) == 0;
	if (!have && errno != ENOENT)
		return rs_error(rs, "looking up", errno);
	if (have && !rs->in_place)
		return rs_error(rs, "creating", EEXIST);
	if (have && S_ISDIR(now.st_mode) && !S_ISDIR(st->st_mode))
		return rs_error(rs, "replacing", EISDIR);
	if (have && !S_ISDIR(now.st_mode) && S_ISDIR(st->st_mode))
		return rs_error(rs, "replacing", ENOTDIR);
	if (S_ISDIR(st->st_mode)) {
		if (!have && mkdirat(ddir, dname, 0700) < 0)
			return rs_error(rs, "creating", errno);
		rs->dirs++;
		return 1;
	}
	/* A name of a file restored already under another name becomes a
	 * link to it (in place only where the name is missing now). */
	if (st->st_nlink > 1 && !have) {
		r = link_existing(rs, ddir, dname, st);
		if (r)
			return r < 0 ? -1 : 0;
	}
	if (S_ISREG(st->st_mode))
		return restore_file(rs, sdir, sname, ddir, dname, st,
				    have ? &now : NULL);
	if (S_ISLNK(st->st_mode))
		return restore_symlink(rs, sdir, sname, ddir, dname, st,
				       have ? &now : NULL);
	return restore_special(rs, sdir, sname, ddir, dname, st,
			       have ? &now : NULL);
}

static void restore_dir(struct restore *rs, int sfd, int dfd,
			const struct stat *st, int depth);

/* Opens the directory sname of sdir and dname of ddir and restores it. */
static void descend(struct restore *rs, int sdir, const char *sname, int ddir,
		    const char *dname, const struct stat *st, int depth)
{
	int cs, cd = -1;

	cs = openat(sdir, sname,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (cs >= 0)
		cd = openat(ddir, dname,
			    O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (cs < 0 || cd < 0) {
		rs_error(rs, "opening", errno);
		if (cs >= 0)
			close(cs);
		return;
	}
	restore_dir(rs, cs, cd, st, depth);
}

/* A directory down to RESTORE_FD_DEPTH: read as a stream, descriptors
 * kept. */
static void dir_stream(struct restore *rs, int sfd, int dfd,
		       const struct stat *st, int depth)
{
	struct dirent *e;
	struct stat cst;
	size_t saved;
	DIR *d;

	d = fdopendir(sfd);
	if (!d) {
		rs_error(rs, "listing", errno);
		close(sfd);
		close(dfd);
		return;
	}
	for (;;) {
		errno = 0;
		e = readdir(d);
		if (!e) {
			if (errno)
				rs_error(rs, "listing", errno);
			break;
		}
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (path_push(rs, e->d_name, &saved) < 0) {
			rs_error(rs, "restoring an entry of", ENAMETOOLONG);
			continue;
		}
		if (restore_entry(rs, sfd, e->d_name, dfd, e->d_name, &cst) == 1)
			descend(rs, sfd, e->d_name, dfd, e->d_name, &cst,
				depth + 1);
		path_pop(rs, saved);
	}
	apply_meta(rs, sfd, "", dfd, "", st);
	closedir(d);
	close(dfd);
}

/* Opens rs->path in both trees from the anchor (O_PATH). */
static int reopen(struct restore *rs, int *ps, int *pd)
{
	const char *rel = rs->path + rs->anchor_len;

	if (*rel == '/')
		rel++;
	*ps = walk(rs->anchor_s, rel);
	if (*ps < 0)
		return rs_error(rs, "opening", -*ps);
	*pd = walk(rs->anchor_d, rel);
	if (*pd < 0) {
		close(*ps);
		*ps = -1;
		return rs_error(rs, "opening", -*pd);
	}
	return 0;
}

/* A directory below RESTORE_FD_DEPTH: its names in memory, no descriptor
 * held while its subdirectories are restored. */
static void dir_deep(struct restore *rs, int sfd, int dfd,
		     const struct stat *st, int depth)
{
	size_t len = 0, cap = 0, off, n, saved;
	int ps = -1, pd = -1, cs, cd;
	char *names = NULL, *p;
	struct dirent *e;
	struct stat cst;
	DIR *d;

	close(dfd);
	d = fdopendir(sfd);
	if (!d) {
		rs_error(rs, "listing", errno);
		close(sfd);
		return;
	}
	for (;;) {
		errno = 0;
		e = readdir(d);
		if (!e) {
			if (errno)
				rs_error(rs, "listing", errno);
			break;
		}
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		n = strlen(e->d_name) + 1;
		if (len + n > cap) {
			cap = cap ? 2 * cap : 4096;
			p = realloc(names, cap);
			if (!p) {
				rs_error(rs, "listing", ENOMEM);
				closedir(d);
				goto out;
			}
			names = p;
		}
		memcpy(names + len, e->d_name, n);
		len += n;
	}
	closedir(d);
	for (off = 0; off < len; off += strlen(names + off) + 1) {
		if (ps < 0 && reopen(rs, &ps, &pd) < 0)
			goto out;
		if (path_push(rs, names + off, &saved) < 0) {
			rs_error(rs, "restoring an entry of", ENAMETOOLONG);
			continue;
		}
		if (restore_entry(rs, ps, names + off, pd, names + off, &cst) ==
		    1) {
			cs = openat(ps, names + off,
				    O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					    O_CLOEXEC);
			cd = cs < 0 ? -1 :
				      openat(pd, names + off,
					     O_PATH | O_DIRECTORY | O_NOFOLLOW |
						     O_CLOEXEC);
			close(ps);
			close(pd);
			ps = pd = -1;
			if (cs < 0 || cd < 0) {
				rs_error(rs, "opening", errno);
				if (cs >= 0)
					close(cs);
			} else {
				restore_dir(rs, cs, cd, &cst, depth + 1);
			}
		}
		path_pop(rs, saved);
	}
	if (ps < 0 && reopen(rs, &ps, &pd) < 0)
		goto out;
	apply_meta(rs, ps, "", pd, "", st);
out:
	if (ps >= 0)
		close(ps);
	if (pd >= 0)
		close(pd);
	free(names);
}

/* Restores the entries of a directory, then its own metadata.  sfd (open
 * for reading, in the snapshot) and dfd (O_PATH, the destination) are the
 * directory's; both are closed here. */
static void restore_dir(struct restore *rs, int sfd, int dfd,
			const struct stat *st, int depth)
{
	if (depth == RESTORE_FD_DEPTH) {
		rs->anchor_s = sfd;
		rs->anchor_d = dfd;
		rs->anchor_len = rs->plen;
	}
	if (depth <= RESTORE_FD_DEPTH)
		dir_stream(rs, sfd, dfd, st, depth);
	else
		dir_deep(rs, sfd, dfd, st, depth);
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

/* Normalises PATH in place: no leading, trailing or doubled slashes, no
 * "." components; "" is the root.  Returns 0, or -EINVAL for "..". */
static int normalise_path(char *s)
{
	char *r = s, *w = s;
	size_t n;

	while (*r) {
		while (*r == '/')
			r++;
		n = strcspn(r, "/");
		if (n == 0)
			break;
		if (n == 1 && r[0] == '.') {
			r += n;
			continue;
		}
		if (n == 2 && r[0] == '.' && r[1] == '.')
			return -EINVAL;
		if (w != s)
			*w++ = '/';
		memmove(w, r, n);
		w += n;
		r += n;
	}
	*w = '\0';
	return 0;
}

/* Opens MNT's directory dir (PATH's parent), creating from the snapshot
 * (tfd) what is missing now; *first gets the number of components that
 * existed (== all when nothing was created).  Returns an O_PATH fd, or -1
 * after reporting. */
static int open_parents(struct restore *rs, int mfd, int tfd, const char *dir,
			size_t *ncomp, size_t *first)
{
	char comp[NAME_MAX + 1];
	const char *p = dir;
	int s, d, ns, nd;
	size_t n;

	*ncomp = 0;
	*first = (size_t)-1;
	s = fcntl(tfd, F_DUPFD_CLOEXEC, 0);
	d = fcntl(mfd, F_DUPFD_CLOEXEC, 0);
	if (s < 0 || d < 0) {
		rs_error(rs, "opening", errno);
		goto fail;
	}
	while (*p) {
		n = strcspn(p, "/");
		memcpy(comp, p, n);
		comp[n] = '\0';
		p += n;
		if (*p == '/')
			p++;
		ns = openat(s, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (ns < 0) {
			rs_error(rs, "opening", errno);
			goto fail;
		}
		nd = openat(d, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nd < 0 && errno == ENOENT) {
			if (*first == (size_t)-1)
				*first = *ncomp;
			if (mkdirat(d, comp, 0700) < 0) {
				rs_error(rs, "creating a parent of", errno);
				close(ns);
				goto fail;
			}
			rs->dirs++;
			nd = openat(d, comp,
				    O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (nd < 0) {
			rs_error(rs, "opening a parent of", errno);
			close(ns);
			goto fail;
		}
		close(s);
		close(d);
		s = ns;
		d = nd;
		(*ncomp)++;
	}
	if (*first == (size_t)-1)
		*first = *ncomp;
	close(s);
	return d;
fail:
	if (s >= 0)
		close(s);
	if (d >= 0)
		close(d);
	return -1;
}

/* Gives the parents open_parents created (components first..ncomp-1 of
 * dir) their metadata from the snapshot, deepest first (their times last,
 * after everything inside was created). */
static void meta_parents(struct restore *rs, int mfd, int tfd,
			 const char *dir, size_t ncomp, size_t first)
{
	char prefix[VF_PATH_MAX + 1], *slash;
	const char *name;
	struct stat st;
	size_t k, i, n;
	int ps, pd;

	for (k = ncomp; k-- > first;) {
		/* prefix = the first k + 1 components */
		n = 0;
		for (i = 0; i <= k; i++) {
			n += strcspn(dir + n, "/");
			if (i < k)
				n++;
		}
		memcpy(prefix, dir, n);
		prefix[n] = '\0';
		snprintf(rs->path, sizeof(rs->path), "%s", prefix);
		rs->plen = n;
		slash = strrchr(prefix, '/');
		if (slash) {
			*slash = '\0';
			name = slash + 1;
		} else {
			name = prefix;
		}
		ps = walk(tfd, slash ? prefix : "");
		pd = ps < 0 ? ps : walk(mfd, slash ? prefix : "");
		if (ps < 0 || pd < 0) {
			rs_error(rs, "opening", ps < 0 ? -ps : -pd);
		} else if (fstatat(ps, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rs_error(rs, "reading", errno);
		} else {
			apply_meta(rs, ps, name, pd, name, &st);
		}
		if (ps >= 0)
			close(ps);
		if (pd >= 0)
			close(pd);
	}
}

static void restore_free(struct restore *rs)
{
	struct rlink *l, *next;
	size_t i;

	for (i = 0; i < LINK_BUCKETS; i++)
		for (l = rs->links[i]; l; l = next) {
			next = l->next;
			free(l);
		}
	free(rs->buf);
	free(rs->cmp);
	free(rs->xsrc);
	free(rs->xdst);
	free(rs->xval);
	free(rs->xcur);
}

/* Does the restore once everything was checked: PATH (parent dir, NULL
 * at the top, and base, "" for the whole tree) from the snapshot tfd
 * (sparent: dir in it) to dname in dparent, or in place below mfd. */
static void restore_top(struct restore *rs, int mfd, int tfd, int sparent,
			int dparent, const char *dir, const char *base,
			const char *dname)
{
	size_t ncomp = 0, first = 0;
	int pfd = dparent, cs, cd;
	struct stat st;

	if (rs->in_place) {
		pfd = open_parents(rs, mfd, tfd, dir ? dir : "", &ncomp, &first);
		if (pfd < 0)
			return;
		rs->dname = dname;
		rs->top_dfd = pfd;
	}
	if (*base) {
		if (restore_entry(rs, sparent, base, pfd, dname, &st) == 1)
			descend(rs, sparent, base, pfd, dname, &st, 0);
	} else {
		/* The whole tree. */
		cs = openat(tfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cs < 0 || fstat(cs, &st) < 0) {
			rs_error(rs, "opening", errno);
			if (cs >= 0)
				close(cs);
			goto out;
		}
		if (!rs->in_place && mkdirat(pfd, dname, 0700) < 0) {
			rs_error(rs, "creating", errno);
			close(cs);
			goto out;
		}
		cd = rs->in_place ? fcntl(mfd, F_DUPFD_CLOEXEC, 0) :
				    openat(pfd, dname,
					   O_PATH | O_DIRECTORY | O_NOFOLLOW |
						   O_CLOEXEC);
		if (cd < 0) {
			rs_error(rs, "opening", errno);
			close(cs);
			goto out;
		}
		rs->dirs++;
		restore_dir(rs, cs, cd, &st, 0);
	}
	if (first < ncomp)
		meta_parents(rs, mfd, tfd, dir, ncomp, first);
out:
	if (pfd != dparent)
		close(pfd);
}

/* Says why TARGET cannot be used by the client command what (restore,
 * undelete): it is not a vaultfs mountpoint. */
static void not_a_mount(FILE *err, const char *target, const char *what)
{
	struct stat st;

	/* A vault directory is root-only (SPEC 8): one we cannot look into
	 * is most likely one. */
	if (vf_protector_is_vault(target) == 1 ||
	    (stat(target, &st) == 0 && S_ISDIR(st.st_mode) &&
	     access(target, X_OK) < 0 && errno == EACCES))
		fprintf(err, "vaultctl: %s needs a mounted vault (mount it, then %s from MNT)\n",
			what, what);
	else
		fprintf(err, "vaultctl: '%s' is not a vaultfs mountpoint\n",
			target);
}

/* The resolved path of target when it is a vaultfs mountpoint (caller
 * frees), else NULL after saying why (what: the command, for messages). */
static char *mount_path(FILE *err, const char *target, const char *what)
{
	char *real;
	int r;

	real = realpath(target, NULL);
	if (!real) {
		if (errno == ENOTCONN)
			fprintf(err, "vaultctl: '%s' is a dead vaultfs mount (its daemon is gone); unmount it with fusermount3 -u\n",
				target);
		else
			fprintf(err, "vaultctl: cannot access '%s': %s\n", target,
				strerror(errno));
		return NULL;
	}
	r = vf_cmds_mountinfo_find(real, "fuse.vaultfs");
	if (r < 0)
		fprintf(err, "vaultctl: cannot read the mount table: %s\n",
			strerror(-r));
	else if (r == 0)
		not_a_mount(err, target, what);
	if (r <= 0) {
		free(real);
		return NULL;
	}
	return real;
}

/* DEST (to, and dest: a copy to cut up) must not exist; opens its parent
 * directory (O_PATH) and points *dname at its last component.  Returns
 * the fd, or -1 after saying why. */
static int open_dest(FILE *err, const char *to, char *dest, const char **dname)
{
	struct stat st;
	char *slash;
	size_t n;
	int fd;

	for (n = strlen(dest); n > 1 && dest[n - 1] == '/'; n--)
		dest[n - 1] = '\0';
	if (lstat(dest, &st) == 0) {
		fprintf(err, "vaultctl: restore: '%s' exists\n", to);
		return -1;
	}
	if (errno != ENOENT) {
		fprintf(err, "vaultctl: restore: cannot access '%s': %s\n", to,
			strerror(errno));
		return -1;
	}
	slash = strrchr(dest, '/');
	*dname = slash ? slash + 1 : dest;
	if (slash == dest) {
		fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	} else if (slash) {
		*slash = '\0';
		fd = open(dest, O_PATH | O_DIRECTORY | O_CLOEXEC);
	} else {
		fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	}
	if (fd < 0)
		fprintf(err, "vaultctl: restore: cannot open the directory of '%s': %s\n",
			to, strerror(errno));
	return fd;
}

static int cmd_restore(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		       char **argv)
{
	const char *at = NULL, *to = NULL, *base, *dname = NULL;
	char *pos[2] = { NULL, NULL }, *real = NULL, *rel = NULL, *dest = NULL;
	char tname[32], *slash;
	int json = 0, rc, ret = 1;
	const struct opt opts[] = {
		{ "--at", &at, NULL },
		{ "--to", &to, NULL },
		{ "--json", NULL, &json },
		{ NULL, NULL, NULL },
	};
	int mfd = -1, snap = -1, tfd = -1, sparent = -1, dparent = -1, r;
	size_t n;
	struct restore rs;
	struct stat st;
	int64_t t;
	FILE *f = ctx->out;

	memset(&rs, 0, sizeof(rs));
	rs.err = ctx->err;
	rs.uid = ctx->caller.uid;
	rs.top_dfd = -1;
	rc = parse_args(c, ctx->err, argc, argv, opts, pos, 2, 2);
	if (rc)
		return rc;
	if (!at)
		return usage_error(ctx->err, c,
				   "restore: --at TIME is required");
	if (to && !*to)
		return usage_error(ctx->err, c, "restore: --to needs a path");
	if (vf_time_parse(at, &t) < 0) {
		fprintf(ctx->err, "vaultctl: restore: '%s' is not a time (ISO-8601 UTC, like 2026-11-28T20:13:07Z)\n",
			at);
		return 1;
	}
	/* The view name: TIME as of its whole second. */
	vf_time_format(t, tname);
	if (vf_time_parse(tname, &t) < 0 || t > vf_clock_now()) {
		fprintf(ctx->err, "vaultctl: restore: %s is in the future\n",
			tname);
		return 1;
	}

	real = mount_path(ctx->err, pos[0], "restore");
	if (!real)
		goto out;

	/* PATH relative to MNT; MNT/... given as an absolute path works
	 * too. */
	n = strlen(real);
	rel = strdup(pos[1][0] == '/' && !strncmp(pos[1], real, n) &&
				     (pos[1][n] == '/' || !pos[1][n]) &&
				     n > 1 ?
			     pos[1] + n :
			     pos[1]);
	if (!rel) {
		fprintf(ctx->err, "vaultctl: restore: out of memory\n");
		goto out;
	}
	if (normalise_path(rel) < 0) {
		fprintf(ctx->err, "vaultctl: restore: PATH must not contain '..'\n");
		print_usage(ctx->err, c);
		ret = 2;
		goto out;
	}
	if (strlen(rel) > VF_PATH_MAX) {
		fprintf(ctx->err, "vaultctl: restore: PATH is too long\n");
		goto out;
	}
	snprintf(rs.path, sizeof(rs.path), "%s", rel);
	rs.plen = rs.top = strlen(rel);

	mfd = open(real, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (mfd < 0) {
		fprintf(ctx->err, "vaultctl: cannot open '%s': %s\n", real,
			strerror(errno));
		goto out;
	}
	snap = openat(mfd, ".snapshots", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (snap < 0) {
		fprintf(ctx->err, "vaultctl: cannot open '%s/.snapshots': %s\n",
			real, strerror(errno));
		goto out;
	}
	/* PATH's parent and PATH itself as of T.  A name that is missing,
	 * or reached through a symlink, did not exist there. */
	slash = strrchr(rel, '/');
	base = slash ? slash + 1 : rel;
	if (slash)
		*slash = '\0';
	tfd = openat(snap, tname, O_PATH | O_DIRECTORY | O_CLOEXEC);
	r = tfd < 0 ? -errno : 0;
	close(snap);
	snap = -1;
	if (!r) {
		sparent = walk(tfd, slash ? rel : "");
		r = sparent < 0 ? sparent : 0;
	}
	if (!r && *base && fstatat(sparent, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		r = -errno;
	if (r == -ENOENT || r == -ENOTDIR || r == -ELOOP) {
		fputs("vaultctl: '", ctx->err);
		text_str(ctx->err, rs.path);
		fprintf(ctx->err, "' did not exist at %s\n", tname);
		goto out;
	}
	if (r < 0) {
		fputs("vaultctl: cannot read '", ctx->err);
		text_str(ctx->err, rs.path);
		fprintf(ctx->err, "' as of %s: %s\n", tname, strerror(-r));
		goto out;
	}

	if (to) {
		dest = strdup(to);
		if (!dest) {
			fprintf(ctx->err, "vaultctl: restore: out of memory\n");
			goto out;
		}
		dparent = open_dest(ctx->err, to, dest, &dname);
		if (dparent < 0)
			goto out;
		rs.dname = dname;
		rs.top_dfd = dparent;
	} else {
		rs.in_place = 1;
		dname = base;
	}

	rs.buf = malloc(RESTORE_BUF);
	rs.cmp = malloc(RESTORE_BUF);
	rs.xsrc = malloc(XATTR_BUF);
	rs.xdst = malloc(XATTR_BUF);
	rs.xval = malloc(XATTR_BUF);
	rs.xcur = malloc(XATTR_BUF);
	if (!rs.buf || !rs.cmp || !rs.xsrc || !rs.xdst || !rs.xval ||
	    !rs.xcur) {
		fprintf(ctx->err, "vaultctl: restore: out of memory\n");
		goto out;
	}

	/* Nothing was changed up to here. */
	restore_top(&rs, mfd, tfd, sparent, dparent, slash ? rel : NULL, base,
		    dname);
	if (json) {
		fputs("{\"path\":", f);
		json_str(f, pos[1]);
		fprintf(f, ",\"at\":\"%s\",\"to\":", tname);
		if (to)
			json_str(f, to);
		else
			fputs("null", f);
		fprintf(f, ",\"files\":%llu,\"dirs\":%llu,\"symlinks\":%llu,"
			"\"special\":%llu,\"unchanged\":%llu,\"bytes\":%llu,"
			"\"errors\":%llu}\n",
			(unsigned long long)rs.files, (unsigned long long)rs.dirs,
			(unsigned long long)rs.symlinks,
			(unsigned long long)rs.special,
			(unsigned long long)rs.unchanged,
			(unsigned long long)rs.bytes,
			(unsigned long long)rs.errors);
	} else {
		fputs("restored '", f);
		text_str(f, pos[1]);
		fprintf(f, "' as of %s ", tname);
		if (to) {
			fputs("to '", f);
			text_str(f, to);
			fputs("'", f);
		} else {
			fputs("in place", f);
		}
		fprintf(f, ": %llu file%s (%llu bytes), %llu director%s, %llu symlink%s, %llu special file%s, %llu unchanged\n",
			(unsigned long long)rs.files, rs.files == 1 ? "" : "s",
			(unsigned long long)rs.bytes,
			(unsigned long long)rs.dirs, rs.dirs == 1 ? "y" : "ies",
			(unsigned long long)rs.symlinks,
			rs.symlinks == 1 ? "" : "s",
			(unsigned long long)rs.special,
			rs.special == 1 ? "" : "s",
			(unsigned long long)rs.unchanged);
	}
	if (rs.errors) {
		fflush(f);
		fprintf(ctx->err, "vaultctl: restore: %llu error%s (above); the rest was restored\n",
			(unsigned long long)rs.errors, rs.errors == 1 ? "" : "s");
	} else {
		ret = 0;
	}
out:
	if (sparent >= 0)
		close(sparent);
	if (dparent >= 0)
		close(dparent);
	if (tfd >= 0)
		close(tfd);
	if (snap >= 0)
		close(snap);
	if (mfd >= 0)
		close(mfd);
	restore_free(&rs);
	free(dest);
	free(rel);
	free(real);
	return ret;
}

/* ---- undelete: a client command --------------------------------------- */

/*
 * `vaultctl undelete MNT PATH [--to DEST]` is `mv MNT/.softdeleted/PATH
 * MNT/DEST` (SPEC 4: undelete is a rename out of .softdeleted) done with
 * care and explained: one renameat2(RENAME_NOREPLACE), in vaultctl and as
 * its caller, so that the kernel and the daemon check it exactly as they
 * check mv.  Both parent directories are reached one component at a time
 * without following symlinks (walk), so a DEST through a symlink cannot
 * put the item anywhere unexpected; nothing is created and nothing in the
 * live tree is replaced.
 */

/* 1 when s has a ".." component. */
static int has_dotdot(const char *s)
{
	size_t n;

	for (;;) {
		while (*s == '/')
			s++;
		n = strcspn(s, "/");
		if (!n)
			return 0;
		if (n == 2 && s[0] == '.' && s[1] == '.')
			return 1;
		s += n;
	}
}

/* p (PATH or DEST, no "..") relative to the mount: a leading MNT/, as
 * resolved (real) or as written (target), or "/" is dropped and the rest
 * normalised.  Returns a copy (caller frees) or NULL (out of memory). */
static char *mount_rel(const char *real, const char *target, const char *p)
{
	size_t n = strlen(real), m = strlen(target);
	char *r;

	while (m > 1 && target[m - 1] == '/')
		m--;
	if (p[0] == '/' && n > 1 && !strncmp(p, real, n) &&
	    (p[n] == '/' || !p[n]))
		p += n;
	else if (!strncmp(p, target, m) && (p[m] == '/' || !p[m]))
		p += m;
	r = strdup(p);
	if (r && normalise_path(r) < 0) {
		/* has_dotdot ruled this out */
		free(r);
		r = NULL;
	}
	return r;
}

/* 1 when rel (normalised, relative to MNT) lies in a history view. */
static int in_view(const char *rel)
{
	static const char *const views[] = {
		".softdeleted", ".snapshots", ".versions",
	};
	size_t i, n = strcspn(rel, "/");

	for (i = 0; i < VF_ARRAY_LEN(views); i++)
		if (n == strlen(views[i]) && !strncmp(rel, views[i], n))
			return 1;
	return 0;
}

/* Splits a normalised path into its directory (rel itself, cut; "" at
 * the top) and its last component (*base). */
static const char *split_path(char *rel, const char **base)
{
	char *slash = strrchr(rel, '/');

	if (!slash) {
		*base = rel;
		return "";
	}
	*slash = '\0';
	*base = slash + 1;
	return rel;
}

/* Says why renameat2 failed, with src and dst whole (sdir/sbase and
 * ddir/dbase); sp is the source's parent, to tell a missing source from a
 * destination directory removed meanwhile. */
static void undelete_error(FILE *err, int e, int sp, const char *sbase,
			   const char *src, const char *dst, const char *ddir)
{
	struct stat st;

	fputs("vaultctl: ", err);
	switch (e) {
	case ENOENT:
		if (fstatat(sp, sbase, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			fputc('\'', err);
			text_str(err, src);
			fputs("' is not in .softdeleted\n", err);
		} else {
			fputs("the directory '", err);
			text_str(err, *ddir ? ddir : "/");
			fputs("' does not exist (undelete does not create directories)\n",
			      err);
		}
		return;
	case EEXIST:
	case ENOTEMPTY:
		fputc('\'', err);
		text_str(err, dst);
		fputs("' exists in the live tree; undelete it elsewhere with --to\n",
		      err);
		return;
	case EXDEV:
		fputc('\'', err);
		text_str(err, src);
		fputs("' holds deleted items but was not deleted itself; undelete the items inside it, or copy it out with cp -a\n",
		      err);
		return;
	case EROFS:
		fputs("undelete of '", err);
		text_str(err, src);
		fputs("' refused: the vault is read-only\n", err);
		return;
	case EACCES:
	case EPERM:
		fputs("undelete of '", err);
		text_str(err, src);
		fprintf(err, "' refused: %s\n", strerror(e));
		return;
	default:
		fputs("undelete of '", err);
		text_str(err, src);
		fprintf(err, "' failed: %s\n", strerror(e));
	}
}

static int cmd_undelete(struct vf_cmd_ctx *ctx, const struct cmd *c,
			int argc, char **argv)
{
	const char *to = NULL, *sdir, *sbase, *ddir, *dbase;
	char *pos[2] = { NULL, NULL }, *real = NULL, *src = NULL, *dst = NULL;
	char *scut = NULL, *dcut = NULL;
	const struct opt opts[] = {
		{ "--to", &to, NULL },
		{ NULL, NULL, NULL },
	};
	int mfd = -1, tfd = -1, sp = -1, dp = -1, rc, ret = 1;

	rc = parse_args(c, ctx->err, argc, argv, opts, pos, 2, 2);
	if (rc)
		return rc;
	if (to && !*to)
		return usage_error(ctx->err, c, "undelete: --to needs a path");
	if (has_dotdot(pos[1]) || (to && has_dotdot(to)))
		return usage_error(ctx->err, c, "undelete: PATH and DEST must not contain '..'");
	real = mount_path(ctx->err, pos[0], "undelete");
	if (!real)
		return 1;
	/* PATH as under .softdeleted; MNT/.softdeleted/PATH works too. */
	src = mount_rel(real, pos[0], pos[1]);
	if (src)
		memmove(src, trash_rel(src), strlen(trash_rel(src)) + 1);
	if (src)
		dst = to ? mount_rel(real, pos[0], to) : strdup(src);
	if (!src || !dst) {
		fprintf(ctx->err, "vaultctl: undelete: out of memory\n");
		goto out;
	}
	if (!*src || !*dst) {
		fprintf(ctx->err, "vaultctl: undelete: %s must name an item\n",
			*src ? "DEST" : "PATH");
		print_usage(ctx->err, c);
		ret = 2;
		goto out;
	}
	if (in_view(dst)) {
		fputs("vaultctl: undelete: '", ctx->err);
		text_str(ctx->err, dst);
		fputs("' is in a read-only view; DEST must be in the live tree\n",
		      ctx->err);
		ret = 2;
		goto out;
	}
	if (strlen(src) > VF_PATH_MAX || strlen(dst) > VF_PATH_MAX) {
		fprintf(ctx->err, "vaultctl: undelete: %s is too long\n",
			strlen(src) > VF_PATH_MAX ? "PATH" : "DEST");
		goto out;
	}
	scut = strdup(src);
	dcut = strdup(dst);
	if (!scut || !dcut) {
		fprintf(ctx->err, "vaultctl: undelete: out of memory\n");
		goto out;
	}
	sdir = split_path(scut, &sbase);
	ddir = split_path(dcut, &dbase);

	mfd = open(real, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (mfd < 0) {
		fprintf(ctx->err, "vaultctl: cannot open '%s': %s\n", real,
			strerror(errno));
		goto out;
	}
	tfd = openat(mfd, ".softdeleted", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (tfd < 0) {
		fprintf(ctx->err, "vaultctl: cannot open '%s/.softdeleted': %s\n",
			real, strerror(errno));
		goto out;
	}
	sp = walk(tfd, sdir);
	if (sp < 0) {
		fputs("vaultctl: '", ctx->err);
		text_str(ctx->err, src);
		if (sp == -ENOENT || sp == -ENOTDIR)
			fputs("' is not in .softdeleted\n", ctx->err);
		else
			fprintf(ctx->err, "' cannot be reached: %s\n",
				strerror(-sp));
		goto out;
	}
	dp = walk(mfd, ddir);
	if (dp < 0) {
		if (dp == -ENOENT) {
			fputs("vaultctl: the directory '", ctx->err);
			text_str(ctx->err, ddir);
			fputs("' does not exist (undelete does not create directories)\n",
			      ctx->err);
		} else if (dp == -ENOTDIR || dp == -ELOOP) {
			fputs("vaultctl: '", ctx->err);
			text_str(ctx->err, ddir);
			fputs("' is not a directory (undelete does not follow symlinks)\n",
			      ctx->err);
		} else {
			fputs("vaultctl: undelete: cannot open the directory '",
			      ctx->err);
			text_str(ctx->err, ddir);
			fprintf(ctx->err, "': %s\n", strerror(-dp));
		}
		goto out;
	}
	/* The one change: nothing is replaced, nothing created. */
	if (renameat2(sp, sbase, dp, dbase, RENAME_NOREPLACE) < 0) {
		undelete_error(ctx->err, errno, sp, sbase, src, dst, ddir);
		goto out;
	}
	fputs("undeleted '", ctx->out);
	text_str(ctx->out, src);
	if (strcmp(src, dst)) {
		fputs("' as '", ctx->out);
		text_str(ctx->out, dst);
	}
	fputs("'\n", ctx->out);
	ret = 0;
out:
	if (dp >= 0)
		close(dp);
	if (sp >= 0)
		close(sp);
	if (tfd >= 0)
		close(tfd);
	if (mfd >= 0)
		close(mfd);
	free(dcut);
	free(scut);
	free(dst);
	free(src);
	free(real);
	return ret;
}

/* ---- shared by the settings commands ------------------------------------ */

/* Says that command c was refused (by a rule: EPERM, EINVAL, EROFS,
 * ENOENT, ENOTDIR, EBUSY) or failed, with core's one-line reason err (or
 * the errno's text when core gave none). */
static void say_refused(struct vf_cmd_ctx *ctx, const struct cmd *c, int rc,
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

/* Prints a lock's state as of now: "none", "pending until T" or "final
 * since T"; in JSON the fields "lock" and "lock_at". */
static void print_lock(FILE *f, int64_t lock_at, int64_t now, int json)
{
	int state = vf_policy_lock_state(lock_at, now);
	char ts[32];

	vf_time_format(lock_at, ts);
	if (json) {
		fprintf(f, "\"lock\":\"%s\",\"lock_at\":",
			state == 0 ? "none" : state == 1 ? "pending" : "final");
		if (state)
			fprintf(f, "\"%s\"", ts);
		else
			fputs("null", f);
		return;
	}
	if (state == 0)
		fputs("none", f);
	else
		fprintf(f, "%s %s", state == 1 ? "pending until" : "final since",
			ts);
}

/* ---- immutability (SPEC 5) ---------------------------------------------- */

/*
 * An immutable directory is named by its path from the vault root (a
 * leading "/" is accepted, "" or "/" is the root), as core and `immutable
 * list` name it, so that the critical parameters ("path=...") are the
 * same whichever way it was written.  What is critical: a shorter --days
 * on a rule, unlock (cancelling a pending lock) and clear.  None of them
 * is asked of the guard when core refuses it whoever approves (the lock
 * is final), so an approval is never spent on a refusal.
 */

/* DIR normalised (caller frees), or NULL after saying why; *ret gets the
 * exit code then (2 usage, 1 failure). */
static char *imm_dir(struct vf_cmd_ctx *ctx, const struct cmd *c,
		     const char *arg, int *ret)
{
	char name[64], *d;

	cmd_name(c, name, sizeof(name));
	if (has_dotdot(arg)) {
		fprintf(ctx->err, "vaultctl: %s: DIR must not contain '..'\n",
			name);
		print_usage(ctx->err, c);
		*ret = 2;
		return NULL;
	}
	d = strdup(arg);
	if (!d) {
		fprintf(ctx->err, "vaultctl: %s: out of memory\n", name);
		*ret = 1;
		return NULL;
	}
	(void)normalise_path(d); /* no "..": cannot fail */
	if (strlen(d) > VF_PATH_MAX) {
		fprintf(ctx->err, "vaultctl: %s: DIR is too long\n", name);
		free(d);
		*ret = 1;
		return NULL;
	}
	return d;
}

/* Parses --days N of immutable set: 0 (forever) to 36600.  Returns 0, or
 * 2 after a usage error. */
static int parse_imm_days(struct vf_cmd_ctx *ctx, const struct cmd *c,
			  const char *s, unsigned *out)
{
	unsigned long n = 0;
	const char *p = s;

	for (; *p >= '0' && *p <= '9' && n <= 36600; p++)
		n = n * 10 + (unsigned)(*p - '0');
	if (!*s || *p || n > 36600)
		return usage_error(ctx->err, c, "immutable set: option '--days': '%s' is not a whole number of days from 0 (forever) to 36600",
				   s);
	*out = (unsigned)n;
	return 0;
}

/* One rule, looked up by path (copied: the list's strings are borrowed). */
struct imm_find {
	const char *path;
	int found;
	unsigned days;
	int64_t lock_at, set_at;
};

static int imm_find_cb(void *arg, const struct vf_imm_rule *r)
{
	struct imm_find *f = arg;

	if (strcmp(r->path, f->path))
		return 0;
	f->found = 1;
	f->days = r->days;
	f->lock_at = r->lock_at;
	f->set_at = r->set_at;
	return 1;
}

static int imm_find(struct vf_vault *v, const char *path, struct imm_find *f)
{
	memset(f, 0, sizeof(*f));
	f->path = path;
	return vf_vault_immutable_list(v, imm_find_cb, f);
}

/* 1 when days want gives less protection than days have (0: forever). */
static int imm_shorter(unsigned have, unsigned want)
{
	return want != 0 && (have == 0 || want < have);
}

/* Prints one rule: "DIR<TAB>days<TAB>lock" or a JSON object. */
static void imm_print(FILE *f, const char *path, unsigned days,
		      int64_t lock_at, int64_t set_at, int64_t now, int json)
{
	char ts[32];

	if (!*path)
		path = "/";
	vf_time_format(set_at, ts);
	if (json) {
		fputs("{\"path\":", f);
		json_str(f, path);
		if (days)
			fprintf(f, ",\"days\":%u,", days);
		else
			fputs(",\"days\":null,", f);
		print_lock(f, lock_at, now, 1);
		fprintf(f, ",\"set_at\":\"%s\"}", ts);
		return;
	}
	text_str(f, path);
	if (days)
		fprintf(f, "\t%u\t", days);
	else
		fputs("\tforever\t", f);
	print_lock(f, lock_at, now, 0);
	fputc('\n', f);
}

/* imm_dir, then the rule of DIR into *f: DIR (caller frees), or NULL
 * after saying why, with the exit code in *ret. */
static char *imm_dir_find(struct vf_cmd_ctx *ctx, const struct cmd *c,
			  const char *arg, struct imm_find *f, int *ret)
{
	char *dir;
	int rc;

	dir = imm_dir(ctx, c, arg, ret);
	if (!dir)
		return NULL;
	rc = imm_find(ctx->v, dir, f);
	if (rc < 0) {
		say_refused(ctx, c, rc,
			    "reading the immutable directories failed");
		free(dir);
		*ret = 1;
		return NULL;
	}
	return dir;
}

/* set and lock: makes dir immutable or changes its rule, then prints it. */
static int imm_set(struct vf_cmd_ctx *ctx, const struct cmd *c,
		   const char *arg, int have_days, unsigned days, int lock,
		   const char *token, int json)
{
	char err[512] = "", params[VF_PATH_MAX + 32], *dir;
	struct imm_find f;
	int64_t now;
	int rc, ret = 1;

	dir = imm_dir_find(ctx, c, arg, &f, &ret);
	if (!dir)
		return ret;
	ret = 1;
	now = vf_clock_now();
	if (f.found && have_days && imm_shorter(f.days, days) &&
	    vf_policy_lock_state(f.lock_at, now) != 2) {
		snprintf(params, sizeof(params), "days=%u path=%s", days, dir);
		if (critical_check(ctx, c, "immutable.days", params, token))
			goto out;
	}
	rc = vf_vault_immutable_set(ctx->v, dir, have_days, days, lock, now,
				    err, sizeof(err));
	if (have_days)
		snprintf(params, sizeof(params), "days=%u%s", days,
			 lock ? " lock" : "");
	else
		snprintf(params, sizeof(params), "%s", lock ? "lock" : "");
	audit_cmd(ctx, c, *dir ? dir : "/", rc, rc ? err : params);
	if (rc < 0) {
		say_refused(ctx, c, rc, err);
		goto out;
	}
	rc = imm_find(ctx->v, dir, &f);
	if (rc < 0 || !f.found) {
		fprintf(ctx->err, "vaultctl: the rule was set, but reading it back failed: %s\n",
			strerror(rc < 0 ? -rc : ENOENT));
		goto out;
	}
	imm_print(ctx->out, dir, f.days, f.lock_at, f.set_at, now, json);
	if (json)
		fputc('\n', ctx->out);
	ret = 0;
out:
	free(dir);
	return ret;
}

static int cmd_immutable_set(struct vf_cmd_ctx *ctx, const struct cmd *c,
			     int argc, char **argv)
{
	const char *days_s = NULL, *token = NULL;
	char *pos[1] = { NULL };
	int lock = 0, json = 0, rc;
	const struct opt opts[] = {
		{ "--days", &days_s, NULL },
		{ "--lock", NULL, &lock },
		{ "--approval", &token, NULL },
		{ "--json", NULL, &json },
		{ NULL, NULL, NULL },
	};
	unsigned days = 0;

	rc = parse_args(c, ctx->err, argc, argv, opts, pos, 1, 1);
	if (!rc)
		rc = check_token(ctx, c, token);
	if (!rc && days_s)
		rc = parse_imm_days(ctx, c, days_s, &days);
	if (rc)
		return rc;
	return imm_set(ctx, c, pos[0], days_s != NULL, days, lock, token,
		       json);
}

static int cmd_immutable_lock(struct vf_cmd_ctx *ctx, const struct cmd *c,
			      int argc, char **argv)
{
	char *pos[1] = { NULL };
	int json = 0, rc;

	rc = parse_json_only(c, ctx->err, argc, argv, pos, 1, &json);
	if (rc)
		return rc;
	return imm_set(ctx, c, pos[0], 0, 0, 1, NULL, json);
}

/* unlock (unlock_only: cancel a pending lock) and clear (remove the
 * rule); both critical, both refused by core once the lock is final. */
static int imm_clear(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		     char **argv, int unlock_only)
{
	const char *token = NULL;
	char *pos[1] = { NULL }, *dir;
	const struct opt opts[] = {
		{ "--approval", &token, NULL },
		{ NULL, NULL, NULL },
	};
	char err[512] = "", params[VF_PATH_MAX + 8];
	struct imm_find f;
	int64_t now;
	int rc, ret = 1, state;

	rc = parse_args(c, ctx->err, argc, argv, opts, pos, 1, 1);
	if (!rc)
		rc = check_token(ctx, c, token);
	if (rc)
		return rc;
	dir = imm_dir_find(ctx, c, pos[0], &f, &ret);
	if (!dir)
		return ret;
	ret = 1;
	now = vf_clock_now();
	state = vf_policy_lock_state(f.lock_at, now);
	/* Nothing to approve: said here, so that no approval is asked for
	 * a change that would not happen. */
	if (!f.found || (unlock_only && state == 0)) {
		snprintf(err, sizeof(err), "'%s' %s", *dir ? dir : "/",
			 f.found ? "has no pending lock" : "is not immutable");
		say_refused(ctx, c, -EINVAL, err);
		goto out;
	}
	if (state != 2) {
		snprintf(params, sizeof(params), "path=%s", dir);
		if (critical_check(ctx, c,
				   unlock_only ? "immutable.unlock" :
						 "immutable.clear",
				   params, token))
			goto out;
	}
	rc = vf_vault_immutable_clear(ctx->v, dir, unlock_only, now, err,
				      sizeof(err));
	audit_cmd(ctx, c, *dir ? dir : "/", rc, err);
	if (rc < 0) {
		say_refused(ctx, c, rc, err);
		goto out;
	}
	fputc('\'', ctx->out);
	text_str(ctx->out, *dir ? dir : "/");
	fputs(unlock_only ? "': pending lock cancelled (still immutable)\n" :
			    "' is no longer immutable\n",
	      ctx->out);
	ret = 0;
out:
	free(dir);
	return ret;
}

static int cmd_immutable_unlock(struct vf_cmd_ctx *ctx, const struct cmd *c,
				int argc, char **argv)
{
	return imm_clear(ctx, c, argc, argv, 1);
}

static int cmd_immutable_clear(struct vf_cmd_ctx *ctx, const struct cmd *c,
			       int argc, char **argv)
{
	return imm_clear(ctx, c, argc, argv, 0);
}

static int imm_list_rule(void *arg, const struct vf_imm_rule *r)
{
	struct list_state *ls = arg;

	if (ls->json && ls->n)
		fputc(',', ls->out);
	imm_print(ls->out, r->path, r->days, r->lock_at, r->set_at, ls->now,
		  ls->json);
	ls->n++;
	return 0;
}

static int cmd_immutable_list(struct vf_cmd_ctx *ctx, const struct cmd *c,
			      int argc, char **argv)
{
	struct list_state ls = { ctx->out, 0, 0, 0 };
	int rc;

	rc = parse_json_only(c, ctx->err, argc, argv, NULL, 0, &ls.json);
	if (rc)
		return rc;
	ls.now = vf_clock_now();
	list_begin(ctx, ls.json);
	rc = vf_vault_immutable_list(ctx->v, imm_list_rule, &ls);
	return list_end(ctx, ls.json, rc, "listing immutable directories");
}

static void print_imm_vault(FILE *f, const struct vf_imm_vault *iv,
			    int64_t now, int json)
{
	if (json) {
		fprintf(f, "{\"on\":%s,", iv->on ? "true" : "false");
		print_lock(f, iv->lock_at, now, 1);
		fputs("}\n", f);
		return;
	}
	fprintf(f, "immutable vault: %s\nlock:            ",
		iv->on ? "on" : "off");
	print_lock(f, iv->lock_at, now, 0);
	fputc('\n', f);
}

static int cmd_immutable_vault(struct vf_cmd_ctx *ctx, const struct cmd *c,
			       int argc, char **argv)
{
	const char *token = NULL;
	int lock = 0, off = 0, cancel = 0, show = 0, json = 0, rc, state;
	const struct opt opts[] = {
		{ "--lock", NULL, &lock },
		{ "--off", NULL, &off },
		{ "--cancel-lock", NULL, &cancel },
		{ "--show", NULL, &show },
		{ "--approval", &token, NULL },
		{ "--json", NULL, &json },
		{ NULL, NULL, NULL },
	};
	struct vf_imm_vault iv;
	char err[512] = "";
	int64_t now;

	rc = parse_args(c, ctx->err, argc, argv, opts, NULL, 0, 0);
	if (!rc)
		rc = check_token(ctx, c, token);
	if (rc)
		return rc;
	if (lock + off + cancel + show > 1)
		return usage_error(ctx->err, c, "immutable vault: give at most one of --lock, --off, --cancel-lock, --show");
	/* Looking needs Reader (the table); any change Contributor. */
	if (!show && need_role(ctx, c, VF_ROLE_CONTRIBUTOR))
		return 1;
	memset(&iv, 0, sizeof(iv));
	rc = vf_vault_immutable_vault_get(ctx->v, &iv);
	if (rc < 0) {
		say_refused(ctx, c, rc, "reading the immutable vault setting failed");
		return 1;
	}
	now = vf_clock_now();
	state = vf_policy_lock_state(iv.lock_at, now);
	if (off && iv.on) {
		/* critical unless locked for good: core refuses that */
		if (state != 2 &&
		    critical_check(ctx, c, "immutable.vault.off", "", token))
			return 1;
		rc = vf_vault_immutable_vault_set(ctx->v, 0, 0, now, err,
						  sizeof(err));
	} else if (cancel) {
		if (state == 0) {
			say_refused(ctx, c, -EINVAL, "no lock is pending");
			return 1;
		}
		if (state == 1 &&
		    critical_check(ctx, c, "immutable.vault.cancel-lock", "",
				   token))
			return 1;
		rc = vf_vault_immutable_vault_set(ctx->v, 0, 1, now, err,
						  sizeof(err));
	} else if (!show && !off) {
		rc = vf_vault_immutable_vault_set(ctx->v, 1, lock, now, err,
						  sizeof(err));
	}
	if (!show && (!off || iv.on))
		audit_cmd(ctx, c, NULL, rc,
			  rc ? err : off ? "off" : cancel ? "cancel-lock" :
			  lock ? "on, lock" : "on");
	if (rc < 0) {
		say_refused(ctx, c, rc, err);
		return 1;
	}
	rc = vf_vault_immutable_vault_get(ctx->v, &iv);
	if (rc < 0) {
		say_refused(ctx, c, rc, "reading the immutable vault setting failed");
		return 1;
	}
	print_imm_vault(ctx->out, &iv, now, json);
	return 0;
}

/* ---- roles (SPEC 6) ----------------------------------------------------- */

/*
 * Grants name numeric ids only: the daemon would look a name up in its own
 * user database (or not at all, in a container), which need not be the
 * caller's, and a name that later points to someone else must not carry
 * a role with it.  Granting Contributor or Owner is critical (SPEC 7),
 * with the parameters "principal=user:1001 role=owner".  Root is always
 * Owner, whatever is stored; a grant to uid 0 is refused as meaningless.
 */

/* Parses "user:UID" or "group:GID" (decimal, below 2^32 - 1).  Returns 0,
 * or 2 after a usage error. */
static int parse_principal(struct vf_cmd_ctx *ctx, const struct cmd *c,
			   const char *s, int *is_group, uint32_t *id)
{
	unsigned long long n = 0;
	const char *p;
	char name[64];
	int g;

	cmd_name(c, name, sizeof(name));
	if (!strncmp(s, "user:", 5)) {
		g = 0;
		p = s + 5;
	} else if (!strncmp(s, "group:", 6)) {
		g = 1;
		p = s + 6;
	} else {
		fprintf(ctx->err, "vaultctl: %s: '%s' is not user:UID or group:GID\n",
			name, s);
		goto usage;
	}
	for (; *p >= '0' && *p <= '9' && n < UINT32_MAX; p++)
		n = n * 10 + (unsigned)(*p - '0');
	if (p == s + (g ? 6 : 5) || *p) {
		fputs("vaultctl: ", ctx->err);
		fprintf(ctx->err, "%s: '", name);
		text_str(ctx->err, s);
		fprintf(ctx->err, "': give a numeric %s (names are not looked up)\n",
			g ? "gid, as group:GID" : "uid, as user:UID");
		goto usage;
	}
	if (n >= UINT32_MAX) {
		fprintf(ctx->err, "vaultctl: %s: '%s': the id must be below 4294967295\n",
			name, s);
		goto usage;
	}
	*is_group = g;
	*id = (uint32_t)n;
	return 0;
usage:
	print_usage(ctx->err, c);
	return 2;
}

struct role_find {
	int is_group;
	uint32_t id;
	enum vf_role role;
};

static int role_find_cb(void *arg, int is_group, uint32_t id,
			enum vf_role role)
{
	struct role_find *f = arg;

	if (is_group != f->is_group || id != f->id)
		return 0;
	f->role = role;
	return 1;
}

/* Sets the grant of (is_group, id) to role (VF_ROLE_NONE revokes). */
static int role_change(struct vf_cmd_ctx *ctx, const struct cmd *c,
		       int is_group, uint32_t id, enum vf_role role,
		       const char *token)
{
	struct role_find f = { is_group, id, VF_ROLE_NONE };
	char who[32], params[96], err[512] = "";
	int rc;

	snprintf(who, sizeof(who), "%s:%lu", is_group ? "group" : "user",
		 (unsigned long)id);
	if (!is_group && id == 0) {
		say_refused(ctx, c, -EINVAL,
			    "uid 0 (root) is always owner; its role cannot change");
		return 1;
	}
	rc = vf_vault_role_list(ctx->v, role_find_cb, &f);
	if (rc < 0) {
		say_refused(ctx, c, rc, "reading the role grants failed");
		return 1;
	}
	/* Always asked for these roles, even when the grant exists: the
	 * answer read above could be stale by the time it is granted. */
	if (role >= VF_ROLE_CONTRIBUTOR) {
		snprintf(params, sizeof(params), "principal=%s role=%s", who,
			 vf_role_name(role));
		if (critical_check(ctx, c, "role.grant", params, token))
			return 1;
	}
	rc = vf_vault_role_grant(ctx->v, is_group, id, role, err, sizeof(err));
	snprintf(params, sizeof(params), "role=%s was=%s", vf_role_name(role),
		 vf_role_name(f.role));
	audit_cmd(ctx, c, who, rc, rc ? err : params);
	if (rc < 0) {
		say_refused(ctx, c, rc, err);
		return 1;
	}
	if (role == VF_ROLE_NONE && f.role == VF_ROLE_NONE)
		fprintf(ctx->out, "%s had no role\n", who);
	else if (role == VF_ROLE_NONE)
		fprintf(ctx->out, "revoked %s from %s\n", vf_role_name(f.role),
			who);
	else
		fprintf(ctx->out, "granted %s to %s (was %s)\n",
			vf_role_name(role), who, vf_role_name(f.role));
	return 0;
}

static int cmd_role_grant(struct vf_cmd_ctx *ctx, const struct cmd *c,
			  int argc, char **argv)
{
	const char *token = NULL;
	char *pos[2] = { NULL, NULL };
	const struct opt opts[] = {
		{ "--approval", &token, NULL },
		{ NULL, NULL, NULL },
	};
	enum vf_role role;
	uint32_t id = 0;
	int rc, is_group = 0;

	rc = parse_args(c, ctx->err, argc, argv, opts, pos, 2, 2);
	if (!rc)
		rc = check_token(ctx, c, token);
	if (rc)
		return rc;
	if (vf_role_parse(pos[0], &role) < 0) {
		fputs("vaultctl: role grant: '", ctx->err);
		text_str(ctx->err, pos[0]);
		fputs("' is not a role (reader, operator, contributor, owner; none revokes)\n",
		      ctx->err);
		print_usage(ctx->err, c);
		return 2;
	}
	rc = parse_principal(ctx, c, pos[1], &is_group, &id);
	if (rc)
		return rc;
	return role_change(ctx, c, is_group, id, role, token);
}

static int cmd_role_revoke(struct vf_cmd_ctx *ctx, const struct cmd *c,
			   int argc, char **argv)
{
	char *pos[1] = { NULL };
	uint32_t id = 0;
	int rc, is_group = 0;

	rc = parse_args(c, ctx->err, argc, argv, NULL, pos, 1, 1);
	if (!rc)
		rc = parse_principal(ctx, c, pos[0], &is_group, &id);
	if (rc)
		return rc;
	return role_change(ctx, c, is_group, id, VF_ROLE_NONE, NULL);
}

static int role_list_cb(void *arg, int is_group, uint32_t id,
			enum vf_role role)
{
	struct list_state *ls = arg;
	const char *kind = is_group ? "group" : "user";

	if (ls->json)
		fprintf(ls->out, "%s{\"principal\":\"%s:%lu\",\"role\":\"%s\"}",
			ls->n ? "," : "", kind, (unsigned long)id,
			vf_role_name(role));
	else
		fprintf(ls->out, "%s:%lu\t%s\n", kind, (unsigned long)id,
			vf_role_name(role));
	ls->n++;
	return 0;
}

static int cmd_role_list(struct vf_cmd_ctx *ctx, const struct cmd *c,
			 int argc, char **argv)
{
	struct list_state ls = { ctx->out, 0, 0, 0 };
	int rc;

	rc = parse_json_only(c, ctx->err, argc, argv, NULL, 0, &ls.json);
	if (rc)
		return rc;
	list_begin(ctx, ls.json);
	rc = vf_vault_role_list(ctx->v, role_list_cb, &ls);
	return list_end(ctx, ls.json, rc, "listing role grants");
}

/* ---- the guard (SPEC 7) ------------------------------------------------- */

/*
 * keygen and approve run without a vault, on the guard holder's machine;
 * attach, detach and show against one.  The guard's secret key never
 * passes through the daemon or a vault: approve reads it from --key in
 * vaultctl itself (core checks the file is private to its owner).
 */

static int cmd_guard_keygen(struct vf_cmd_ctx *ctx, const struct cmd *c,
			    int argc, char **argv)
{
	const char *out = NULL;
	char pub[VF_GUARD_PUB_TEXT], fpr[VF_GUARD_FPR_TEXT] = "", err[512] = "";
	int json = 0, rc;
	const struct opt opts[] = {
		{ "--out", &out, NULL },
		{ "--json", NULL, &json },
		{ NULL, NULL, NULL },
	};

	rc = parse_args(c, ctx->err, argc, argv, opts, NULL, 0, 0);
	if (rc)
		return rc;
	if (!out || !*out)
		return usage_error(ctx->err, c,
				   "guard keygen: --out FILE is required");
	rc = vf_guard_keygen(out, pub, sizeof(pub), err, sizeof(err));
	if (rc < 0) {
		say_refused(ctx, c, rc, err);
		return 1;
	}
	if (vf_guard_fingerprint(pub, fpr) < 0)
		fpr[0] = '\0';
	if (json) {
		fprintf(ctx->out, "{\"public_key\":\"%s\",\"fingerprint\":\"%s\",\"key_file\":",
			pub, fpr);
		json_str(ctx->out, out);
		fputs("}\n", ctx->out);
	} else {
		fprintf(ctx->out, "%s\n", pub);
	}
	fprintf(ctx->err, "guard secret key written to '%s' (fingerprint %s); give the vault owner only the public key for 'vaultctl guard attach'\n",
		out, fpr);
	return 0;
}

static int cmd_guard_approve(struct vf_cmd_ctx *ctx, const struct cmd *c,
			     int argc, char **argv)
{
	const char *key = NULL, *ttl_s = NULL;
	char *pos[1] = { NULL };
	const struct opt opts[] = {
		{ "--key", &key, NULL },
		{ "--ttl", &ttl_s, NULL },
		{ NULL, NULL, NULL },
	};
	char token[VF_GUARD_TEXT_MAX], summary[VF_GUARD_SUMMARY_MAX] = "";
	char err[512] = "";
	int64_t ttl = 3600 * VF_NS;
	int rc;

	rc = parse_args(c, ctx->err, argc, argv, opts, pos, 1, 1);
	if (rc)
		return rc;
	if (!key || !*key)
		return usage_error(ctx->err, c,
				   "guard approve: --key FILE is required");
	if (ttl_s && (parse_duration(ttl_s, &ttl) < 0 || ttl <= 0 ||
		      ttl > VF_GUARD_TTL_MAX))
		return usage_error(ctx->err, c, "guard approve: option '--ttl': '%s' is not a duration from 1s to 30d (like 90s, 15m, 1h, 2d)",
				   ttl_s);
	rc = vf_guard_approve(key, pos[0], ttl, vf_clock_now(), token,
			      sizeof(token), summary, sizeof(summary), err,
			      sizeof(err));
	if (rc < 0) {
		say_refused(ctx, c, rc, err);
		return 1;
	}
	fprintf(ctx->out, "%s\n", token);
	fputs("approved: ", ctx->err);
	text_str(ctx->err, summary);
	fputc('\n', ctx->err);
	return 0;
}

static int cmd_guard_attach(struct vf_cmd_ctx *ctx, const struct cmd *c,
			    int argc, char **argv)
{
	const char *token = NULL;
	char *pos[1] = { NULL };
	const struct opt opts[] = {
		{ "--approval", &token, NULL },
		{ NULL, NULL, NULL },
	};
	char cur[VF_GUARD_PUB_TEXT], fpr[VF_GUARD_FPR_TEXT], err[512] = "";
	char params[VF_GUARD_PUB_TEXT + 8], old[VF_GUARD_FPR_TEXT], detail[48];
	int rc, replaced;

	rc = parse_args(c, ctx->err, argc, argv, opts, pos, 1, 1);
	if (!rc)
		rc = check_token(ctx, c, token);
	if (rc)
		return rc;
	/* Checked first, so that no approval is spent on a bad key. */
	if (vf_guard_fingerprint(pos[0], fpr) < 0) {
		fputs("vaultctl: guard attach refused: '", ctx->err);
		text_str(ctx->err, pos[0]);
		fputs("' is not a guard public key (vfguard1:..., as printed by vaultctl guard keygen)\n",
		      ctx->err);
		return 1;
	}
	rc = vf_vault_guard_get(ctx->v, cur, sizeof(cur));
	if (rc == 0 && !strcmp(cur, pos[0])) {
		fprintf(ctx->out, "guard already attached (fingerprint %s)\n",
			fpr);
		return 0;
	}
	if (rc < 0 && rc != -ENOENT) {
		say_refused(ctx, c, rc, "reading the attached guard key failed");
		return 1;
	}
	/* Replacing a guard is critical; arming an unguarded vault is not
	 * (critical_check allows it anyway: there is no guard to ask). */
	snprintf(params, sizeof(params), "key=%s", pos[0]);
	if (rc == 0 && critical_check(ctx, c, "guard.attach", params, token))
		return 1;
	replaced = rc == 0 && vf_guard_fingerprint(cur, old) == 0;
	rc = vf_vault_guard_attach(ctx->v, pos[0], err, sizeof(err));
	if (replaced)
		snprintf(detail, sizeof(detail), "replaced guard %s", old);
	audit_cmd(ctx, c, fpr, rc, rc ? err : replaced ? detail : NULL);
	if (rc < 0) {
		say_refused(ctx, c, rc, err);
		return 1;
	}
	fprintf(ctx->out, "guard attached (fingerprint %s)\n", fpr);
	return 0;
}

static int cmd_guard_detach(struct vf_cmd_ctx *ctx, const struct cmd *c,
			    int argc, char **argv)
{
	const char *token = NULL;
	const struct opt opts[] = {
		{ "--approval", &token, NULL },
		{ NULL, NULL, NULL },
	};
	char cur[VF_GUARD_PUB_TEXT], fpr[VF_GUARD_FPR_TEXT];
	int rc;

	rc = parse_args(c, ctx->err, argc, argv, opts, NULL, 0, 0);
	if (!rc)
		rc = check_token(ctx, c, token);
	if (rc)
		return rc;
	rc = vf_vault_guard_get(ctx->v, cur, sizeof(cur));
	if (rc < 0 && rc != -ENOENT) {
		say_refused(ctx, c, rc, "reading the attached guard key failed");
		return 1;
	}
	if (rc == -ENOENT) {
		say_refused(ctx, c, rc, "no guard is attached");
		return 1;
	}
	if (critical_check(ctx, c, "guard.detach", "", token))
		return 1;
	if (vf_guard_fingerprint(cur, fpr) < 0)
		fpr[0] = '\0';
	rc = vf_vault_guard_detach(ctx->v);
	audit_cmd(ctx, c, fpr[0] ? fpr : NULL, rc, NULL);
	if (rc < 0) {
		say_refused(ctx, c, rc,
			    rc == -ENOENT ? "no guard is attached" : NULL);
		return 1;
	}
	fputs("guard detached\n", ctx->out);
	return 0;
}

static int cmd_guard_show(struct vf_cmd_ctx *ctx, const struct cmd *c,
			  int argc, char **argv)
{
	char pub[VF_GUARD_PUB_TEXT], fpr[VF_GUARD_FPR_TEXT] = "";
	int json = 0, rc;

	rc = parse_json_only(c, ctx->err, argc, argv, NULL, 0, &json);
	if (rc)
		return rc;
	rc = vf_vault_guard_get(ctx->v, pub, sizeof(pub));
	if (rc < 0 && rc != -ENOENT) {
		say_refused(ctx, c, rc, "reading the attached guard key failed");
		return 1;
	}
	if (rc == 0 && vf_guard_fingerprint(pub, fpr) < 0)
		fpr[0] = '\0';
	if (json) {
		if (rc == 0)
			fprintf(ctx->out, "{\"attached\":true,\"public_key\":\"%s\",\"fingerprint\":\"%s\"}\n",
				pub, fpr);
		else
			fputs("{\"attached\":false,\"public_key\":null,\"fingerprint\":null}\n",
			      ctx->out);
	} else if (rc == 0) {
		fprintf(ctx->out, "guard:        attached\npublic key:   %s\nfingerprint:  %s\n",
			pub, fpr);
	} else {
		fputs("guard:        none (critical operations need no approval)\n",
		      ctx->out);
	}
	return 0;
}

/* ---- the audit log (SPEC 9) --------------------------------------------- */

/* A field of a record in text: "-" for none, control characters as '?'
 * so that one record stays one line. */
static void audit_field(FILE *f, const char *s)
{
	fputc('\t', f);
	text_str(f, s && *s ? s : "-");
}

static void audit_json_field(FILE *f, const char *name, const char *s)
{
	fprintf(f, ",\"%s\":", name);
	if (s)
		json_str(f, s);
	else
		fputs("null", f);
}

static int audit_rec(void *arg, const struct vf_audit_rec *r)
{
	struct list_state *as = arg;
	char ts[32];

	vf_time_format(r->t, ts);
	if (as->json) {
		fprintf(as->out, "%s{\"id\":%lld,\"time\":\"%s\",\"uid\":",
			as->n ? "," : "", (long long)r->id, ts);
		if (r->uid == VF_AUDIT_UID_NONE)
			fputs("null", as->out);
		else
			fprintf(as->out, "%lu", (unsigned long)r->uid);
		audit_json_field(as->out, "action", r->action);
		audit_json_field(as->out, "target", r->target);
		audit_json_field(as->out, "result", r->result);
		audit_json_field(as->out, "detail", r->detail);
		fputc('}', as->out);
	} else {
		fprintf(as->out, "%lld\t%s\t", (long long)r->id, ts);
		if (r->uid == VF_AUDIT_UID_NONE)
			fputc('-', as->out);
		else
			fprintf(as->out, "%lu", (unsigned long)r->uid);
		audit_field(as->out, r->action);
		audit_field(as->out, r->target);
		audit_field(as->out, r->result);
		audit_field(as->out, r->detail);
		fputc('\n', as->out);
	}
	as->n++;
	return 0;
}

static int cmd_audit_list(struct vf_cmd_ctx *ctx, const struct cmd *c,
			  int argc, char **argv)
{
	struct list_state as = { ctx->out, 0, 0, 0 };
	const char *since_s = NULL;
	const struct opt opts[] = {
		{ "--since", &since_s, NULL },
		{ "--json", NULL, &as.json },
		{ NULL, NULL, NULL },
	};
	int64_t since = INT64_MIN, d;
	int rc;

	rc = parse_args(c, ctx->err, argc, argv, opts, NULL, 0, 0);
	if (rc)
		return rc;
	/* --since: a time, or a duration back from now ("1h", "7d") */
	if (since_s && vf_time_parse(since_s, &since) < 0) {
		if (parse_duration(since_s, &d) < 0)
			return usage_error(ctx->err, c, "audit list: option '--since': '%s' is neither a time (ISO-8601 UTC, like 2026-11-28T20:13:07Z) nor a duration (like 1h, 7d)",
					   since_s);
		since = vf_clock_now() - d;
	}
	list_begin(ctx, as.json);
	rc = vf_vault_audit_list(ctx->v, since, audit_rec, &as);
	return list_end(ctx, as.json, rc, "reading the audit log");
}

static int audit_problem(void *arg, int64_t id, const char *problem)
{
	struct list_state *as = arg;

	if (as->json) {
		fprintf(as->out, "%s{\"id\":%lld,\"problem\":", as->n ? "," : "",
			(long long)id);
		json_str(as->out, problem);
		fputc('}', as->out);
	} else {
		fputs("tampered: ", as->out);
		text_str(as->out, problem);
		fputc('\n', as->out);
	}
	as->n++;
	return 0;
}

static int cmd_audit_verify(struct vf_cmd_ctx *ctx, const struct cmd *c,
			    int argc, char **argv)
{
	struct list_state as = { ctx->out, 0, 0, 0 };
	int rc;

	rc = parse_json_only(c, ctx->err, argc, argv, NULL, 0, &as.json);
	if (rc)
		return rc;
	if (as.json)
		fputs("{\"problems\":[", ctx->out);
	rc = vf_vault_audit_verify(ctx->v, audit_problem, &as);
	if (as.json)
		fprintf(ctx->out, "],\"ok\":%s,\"complete\":%s}\n",
			rc == 0 ? "true" : "false", rc < 0 ? "false" : "true");
	else if (rc == 0)
		fputs("audit log: intact\n", ctx->out);
	fflush(ctx->out);
	if (rc < 0) {
		fprintf(ctx->err, "vaultctl: audit verify could not finish: %s\n",
			strerror(-rc));
		return 1;
	}
	if (rc > 0) {
		fprintf(ctx->err, "vaultctl: audit verify found %d problem%s: the log was tampered with\n",
			rc, rc == 1 ? "" : "s");
		return 1;
	}
	return 0;
}
