/*
 * cmds.c - the vaultctl command table and the commands themselves.
 *
 * One table (cmds[] below) names every command of SPEC 2: its group, its
 * verb (NULL for single-word groups), whether it takes a TARGET (a
 * mountpoint or a vault directory) and where, whether it runs without a
 * vault at all, its SYNOPSIS line, its handler and the least role that may
 * run it.  A NULL handler means "not available in this version": such a
 * command is listed by help and refused with exit 1, never faked.
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
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmds.h"

/* Roles of SPEC 6, weakest first. */
enum role {
	ROLE_NONE,
	ROLE_READER,
	ROLE_OPERATOR,
	ROLE_CONTRIBUTOR,
	ROLE_OWNER,
};

static const char *const role_names[] = {
	[ROLE_NONE] = "none",
	[ROLE_READER] = "reader",
	[ROLE_OPERATOR] = "operator",
	[ROLE_CONTRIBUTOR] = "contributor",
	[ROLE_OWNER] = "owner",
};

struct cmd;
typedef int cmd_fn(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		   char **argv);

struct cmd {
	const char *group;
	const char *verb;     /* NULL for a single-word group */
	int needs_target;     /* TARGET follows the group (or the verb) */
	int standalone;       /* runs without a vault (never via the daemon) */
	int rdonly;           /* offline open may be read-only */
	const char *usage;    /* SYNOPSIS line, after "vaultctl " */
	cmd_fn *fn;           /* NULL: not available in this version */
	enum role min_role;   /* least role that may run it (SPEC 6) */
};

static cmd_fn cmd_init, cmd_help, cmd_status, cmd_check;

#define KEYOPTS "[--passphrase-file F | --key-file F | --key-command CMD] [--keystore DIR]"

static const struct cmd cmds[] = {
	{ "init", NULL, 0, 1, 0, "init VAULT " KEYOPTS, cmd_init, ROLE_NONE },
	{ "help", NULL, 0, 1, 0, "help [GROUP] [--json]", cmd_help, ROLE_NONE },
	{ "status", NULL, 1, 0, 1, "status TARGET [--json]", cmd_status,
	  ROLE_READER },
	{ "check", NULL, 1, 0, 1, "check TARGET [--read-data] [--json]",
	  cmd_check, ROLE_OPERATOR },
	{ "snapshot", NULL, 1, 0, 0, "snapshot TARGET [--tag NAME] [--json]",
	  NULL, ROLE_OPERATOR },
	{ "snapshots", NULL, 1, 0, 1, "snapshots TARGET [--json]", NULL,
	  ROLE_READER },
	{ "restore", NULL, 1, 0, 0,
	  "restore TARGET PATH [--at TIME] [--to DEST]", NULL, ROLE_OPERATOR },
	{ "undelete", NULL, 1, 0, 0, "undelete TARGET PATH [--to DEST]", NULL,
	  ROLE_OPERATOR },
	{ "softdelete", "settings", 1, 0, 0,
	  "softdelete settings TARGET [--days N] [--on | --off | --always-on] [--approval TOKEN] [--json]",
	  NULL, ROLE_CONTRIBUTOR },
	{ "softdelete", "list", 1, 0, 1, "softdelete list TARGET [PATH] [--json]",
	  NULL, ROLE_READER },
	{ "softdelete", "purge", 1, 0, 0,
	  "softdelete purge TARGET PATH [--approval TOKEN]", NULL,
	  ROLE_CONTRIBUTOR },
	{ "immutable", "set", 1, 0, 0,
	  "immutable set TARGET DIR [--days N] [--lock]", NULL,
	  ROLE_CONTRIBUTOR },
	{ "immutable", "lock", 1, 0, 0, "immutable lock TARGET DIR", NULL,
	  ROLE_CONTRIBUTOR },
	{ "immutable", "list", 1, 0, 1, "immutable list TARGET [--json]", NULL,
	  ROLE_READER },
	{ "immutable", "vault", 1, 0, 0, "immutable vault TARGET [--lock]", NULL,
	  ROLE_CONTRIBUTOR },
	{ "policy", "retention", 1, 0, 0,
	  "policy retention TARGET [--keep-last N] [--keep-within DURATION] [--keep-daily N] [--keep-weekly N] [--keep-monthly N] [--keep-yearly N] [--min-versions N] [--approval TOKEN] [--json]",
	  NULL, ROLE_CONTRIBUTOR },
	{ "prune", NULL, 1, 0, 0, "prune TARGET [--dry-run] [--json]", NULL,
	  ROLE_CONTRIBUTOR },
	{ "gc", NULL, 1, 0, 0, "gc TARGET [--json]", NULL, ROLE_CONTRIBUTOR },
	{ "role", "grant", 1, 0, 0,
	  "role grant TARGET ROLE user:UID|group:GID [--approval TOKEN]", NULL,
	  ROLE_OWNER },
	{ "role", "revoke", 1, 0, 0,
	  "role revoke TARGET ROLE user:UID|group:GID", NULL, ROLE_OWNER },
	{ "role", "list", 1, 0, 1, "role list TARGET [--json]", NULL,
	  ROLE_READER },
	{ "guard", "keygen", 0, 1, 0, "guard keygen --out FILE [--json]", NULL,
	  ROLE_NONE },
	{ "guard", "attach", 1, 0, 0, "guard attach TARGET PUBKEY", NULL,
	  ROLE_OWNER },
	{ "guard", "approve", 0, 1, 0,
	  "guard approve --key FILE REQUEST [--ttl DURATION]", NULL, ROLE_NONE },
	{ "guard", "detach", 1, 0, 0, "guard detach TARGET --approval TOKEN",
	  NULL, ROLE_OWNER },
	{ "key", "rotate", 1, 0, 0,
	  "key rotate TARGET [--new-passphrase-file F | --new-key-file F | --new-key-command CMD | --new-platform] [--approval TOKEN]",
	  NULL, ROLE_OWNER },
	{ "passphrase", "change", 1, 0, 0,
	  "passphrase change TARGET --new-passphrase-file F [--current-passphrase-file F] [--approval TOKEN]",
	  NULL, ROLE_OWNER },
	{ "protection", "stop", 1, 0, 0,
	  "protection stop TARGET --retain | --delete [--approval TOKEN]", NULL,
	  ROLE_CONTRIBUTOR },
	{ "protection", "resume", 1, 0, 0, "protection resume TARGET", NULL,
	  ROLE_CONTRIBUTOR },
	{ "posture", NULL, 1, 0, 1, "posture TARGET [--json]", NULL,
	  ROLE_READER },
	{ "audit", "list", 1, 0, 1,
	  "audit list TARGET [--since TIME] [--limit N] [--json]", NULL,
	  ROLE_READER },
	{ "audit", "verify", 1, 0, 1, "audit verify TARGET [--json]", NULL,
	  ROLE_READER },
	{ "alerts", NULL, 1, 0, 1, "alerts TARGET [--since TIME] [--json]", NULL,
	  ROLE_READER },
	{ "report", NULL, 1, 0, 1,
	  "report TARGET [--json | --html FILE | --prometheus]", NULL,
	  ROLE_READER },
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
		if (!strcmp(cmds[i].group, group) && !cmds[i].standalone)
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
	if (c->standalone) {
		info->target = -1;
		info->open_flags = 0;
		return 0;
	}
	pos = c->verb ? 2 : 1;
	if (argc <= pos || argv[pos][0] == '-' || !argv[pos][0]) {
		print_usage(err, c);
		return 2;
	}
	info->target = pos;
	info->open_flags = c->rdonly ? VF_OPEN_RDONLY : 0;
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

/* ---- permission ------------------------------------------------------- */

/*
 * The caller's role.  Until authz.c keeps role grants, only root is
 * anything (SPEC 6: root is Owner; a caller with no role gets EACCES on
 * everything).  Fails closed: every other uid has no role.
 * Issue 6 (roles) replaces this with the core authorization chokepoint.
 */
static enum role caller_role(const struct vf_cmd_ctx *ctx)
{
	return ctx->caller.uid == 0 ? ROLE_OWNER : ROLE_NONE;
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
	if (c->standalone || !ctx->v) {
		fprintf(ctx->err, "vaultctl: '%s' does not run against a vault\n",
			name);
		return 2;
	}
	skip = c->verb ? 2 : 1;
	if (ctx->online) {
		/* Key options name files the daemon would read as root: they
		 * belong to offline use only. */
		for (i = skip; i < argc && strcmp(argv[i], "--"); i++) {
			k = key_opt_match(argv[i], &len);
			if (k >= 0) {
				fprintf(ctx->err, "vaultctl: %s: option '%s' applies to a vault directory, not to a mountpoint\n",
					name, key_opt_names[k]);
				print_usage(ctx->err, c);
				return 2;
			}
		}
	}
	if (caller_role(ctx) < c->min_role) {
		fprintf(ctx->err, "vaultctl: %s refused for uid %lu: needs the %s role\n",
			name, (unsigned long)ctx->caller.uid,
			role_names[c->min_role]);
		return 1;
	}
	return c->fn(ctx, c, argc - skip, argv + skip);
}

int vf_cmds_run_standalone(int argc, char **argv, FILE *out, FILE *err)
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
	if (!c->standalone) {
		print_usage(err, c);
		return 2;
	}
	return c->fn(&ctx, c, argc - (c->verb ? 2 : 1),
		     argv + (c->verb ? 2 : 1));
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
	if (pos[0] && !group_exists(pos[0])) {
		fprintf(ctx->err, "vaultctl: '%s' is not a vaultctl command; see 'vaultctl help'\n",
			pos[0]);
		print_usage(ctx->err, c);
		return 2;
	}
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
	const struct opt opts[] = {
		{ "--json", NULL, &json },
		{ NULL, NULL, NULL },
	};
	FILE *f = ctx->out;

	rc = parse_args(c, ctx->err, argc, argv, opts, NULL, 0, 0);
	if (rc)
		return rc;
	memset(&st, 0, sizeof(st));
	rc = vf_vault_status(ctx->v, &st);
	if (rc < 0) {
		fprintf(ctx->err, "vaultctl: reading the vault status failed: %s\n",
			strerror(-rc));
		return 1;
	}
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

struct check_state {
	FILE *out;
	int json;
	unsigned long long n;
};

static void check_problem(void *arg, const char *path, const char *what)
{
	struct check_state *cs = arg;

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
	struct check_state cs = { ctx->out, 0, 0 };
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
