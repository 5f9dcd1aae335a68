/*
 * cmd_util.h - private to the vaultctl commands (tools/cmd_*.c, restore.c,
 * cmds.c): the command table's row, the handlers and the helpers they
 * share, like git's builtin.h.  What the front ends call is in cmds.h.
 */
#ifndef VF_CMD_UTIL_H
#define VF_CMD_UTIL_H

#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#include "admin.h"
#include "cmd_ctx.h"

/* Where a command runs. */
enum where {
	RUN_VAULT = 0,	/* against a vault: in the daemon, or offline */
	RUN_ALONE = 1,	/* in vaultctl without a vault (init, help) */
	RUN_CLIENT = 2, /* in vaultctl, as the caller, through the mount */
};

/* An option of a command, as its usage line names it: name without the
 * dashes ("tag"), arg the name of its value ("NAME"), NULL for a flag. */
struct cmd_opt {
	const char *name;
	const char *arg;
};

struct cmd;
typedef int cmd_fn(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		   char **argv);

struct cmd {
	const char *group;
	const char *verb;      /* NULL for a single-word group */
	int needs_target;      /* TARGET follows the group (or the verb) */
	int where;	       /* enum where: 0 vault, 1 alone, RUN_CLIENT */
	int rdonly;	       /* offline open may be read-only */
	const char *usage;     /* SYNOPSIS line, after "vaultctl " */
	cmd_fn *fn;	       /* NULL: not available in this version (a
				  client command's handler is vaultctl's) */
	enum vf_role min_role; /* least role that may run it (README.md, Roles); for
				  a client command only documentation: the
				  kernel checks each access it makes */
	const struct cmd_opt *opts; /* its options, NULL-terminated */
};

/* The command table (cmds.c) and its length. */
extern const struct cmd cmds[];
extern const size_t ncmds;
extern const char general_usage[];

/* 1 when c can run in this version: it has a handler in the table, or it
 * is a client command (whose handler vaultctl brings). */
int cmd_available(const struct cmd *c);

/* 1 when some command of the table has group group. */
int group_exists(const char *group);

struct opt {
	const char *name;   /* "--json" */
	const char **value; /* set for an option with a value, else NULL */
	int *flag;	    /* set to 1 for a flag */
};

/* What a list callback prints to: out, in JSON or text, as of now (for
 * lists that show times left); n counts the items so far. */
struct list_state {
	FILE *out;
	int json;
	int64_t now;
	uint64_t n;
	struct json_object *arr; /* the items so far, with json */
	int exact;    /* --bytes, -p: sizes as exact byte counts */
	int scripted; /* --no-header, -H: no header, cells end with a tab */
};

/* Text output of sizes and tables, as zfs list prints them.
 *
 * size_text: n bytes for a person ("512 B", "1.6 GiB": binary units, one
 * decimal), or with exact the plain number ("1717986918"); returns buf.
 * cell: one cell of a table row but the last (which the caller ends with
 * a newline): s, then, scripted, a tab, else spaces up to width plus two.
 * table_head: the header line of names (n columns, the last unpadded),
 * nothing when scripted or json; call before the first row. */
#define SIZE_TEXT_MAX 32
const char *size_text(uint64_t n, int exact, char buf[static SIZE_TEXT_MAX]);
void cell(const struct list_state *ls, int width, const char *s);
void table_head(const struct list_state *ls, const char *const *names,
		const int *widths, int n);

void print_usage(FILE *f, const struct cmd *c);

/* Prints c's usage line and its options (--help). */
void print_help(FILE *out, const struct cmd *c);

/* Prints "vaultctl: " and the reason (one line), then c's usage line.
 * Returns 2, the usage exit code. */
int VF_PRINTF(3, 4)
    usage_error(FILE *err, const struct cmd *c, const char *fmt, ...);

/* Name of a command for messages: "check" or "softdelete list". */
void cmd_name(const struct cmd *c, char *buf, size_t cap);

/* Parses argv (the arguments after the group and verb) with getopt_long
 * into opts (those of c's option list, c->opts) and between minpos and
 * maxpos positionals.  "--opt=VALUE" and "--opt VALUE" both work, options
 * may come before or after the operands, "--" ends the options; an
 * unknown, abbreviated or repeated option is a usage error.  Returns 0, or
 * 2 after printing the reason and the usage line to err.  Any thread:
 * getopt's global state is held under a lock (cmd_util.c). */
int parse_args(const struct cmd *c, FILE *err, int argc, char **argv,
	       const struct opt *opts, char **pos, int minpos, int maxpos);

/* parse_args for a command whose only option is --json (set in *json),
 * with exactly npos positionals. */
int parse_json_only(const struct cmd *c, FILE *err, int argc, char **argv,
		    char **pos, int npos, int *json);

/* parse_args for a command whose only options are --approval (the token
 * in *token, checked by check_token) and --json (set in *json); exactly
 * npos positional arguments. */
int parse_approval_json(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
			char **argv, char **pos, int npos, const char **token,
			int *json);

extern const char *const key_opt_names[5];

/* Returns the index in key_opt_names of the option a starts with, or -1;
 * *len is the length of the option's name. */
int key_opt_match(const char *a, size_t *len);

/* JSON output through json-c: jstr makes a string (NULL stays JSON null;
 * a byte that is not part of valid UTF-8 becomes U+FFFD), jadd_* add a
 * member to an object (jadd_str with a string that is not valid UTF-8
 * adds KEY_bytes too: its exact bytes in base64), jpush an item to an array (each takes
 * ownership of the value and tolerates a NULL container after a failed
 * allocation); json_print writes o on one line with a newline and frees
 * it. */
struct json_object *jstr(const char *s);
void jadd(struct json_object *o, const char *key, struct json_object *v);
void jadd_str(struct json_object *o, const char *key, const char *s);
void jadd_u64(struct json_object *o, const char *key, uint64_t n);
void jadd_i64(struct json_object *o, const char *key, int64_t n);
void jadd_bool(struct json_object *o, const char *key, int b);
void jpush(struct json_object *arr, struct json_object *v);
void json_print(FILE *f, struct json_object *o);

/* Writes s for a one-line text report, unambiguous and harmless on a
 * terminal: a backslash as \\, C0 controls and DEL as \xNN, C1 and
 * bidirectional controls as \uNNNN, and each byte that is not part of
 * valid UTF-8 as \xNN; everything else as it is. */
void text_str(FILE *f, const char *s);

/* Says "vaultctl: WHAT failed: REASON" for core's error rc.  Returns 1. */
int say_failed(struct vf_cmd_ctx *ctx, const char *what, int rc);

/* A list printed by a callback: in JSON, an array the callback fills. */
void list_begin(struct list_state *ls);

/* Ends a list begun by list_begin; when listing failed (rc < 0), says
 * "WHAT failed" after what was printed.  Returns the exit code. */
int list_end(struct vf_cmd_ctx *ctx, struct list_state *ls, int rc,
	     const char *what);

/* Parses a count ("0" to "4294967295", digits only) into *out.  Returns 0
 * or 2 after printing the reason and the usage line. */
int parse_count(const struct cmd *c, FILE *err, const char *opt, const char *s,
		unsigned *out);

/* Parses a duration: "0", or one or more NUMBER UNIT pairs with units
 * s, m, h, d, w, y ("30d", "12h", "90m", "2w", "1y", "1d12h") into
 * nanoseconds.  Returns 0 or -EINVAL (garbage, no unit, overflow). */
int parse_duration(const char *s, int64_t *out);
/* t to the nanosecond ("2026-11-28T20:13:07.123456789Z"; vf_time_parse
 * reads it back): where two versions may fall in one second. */
void time_format_ns(int64_t t, char buf[static 48]);

/* --at: a time as vf_time_parse reads it (UTC, "2026-11-28T20:13:07Z"),
 * the same with a zone offset ("2026-11-28T21:13:07+01:00"), a day
 * ("2026-11-28": its first second, UTC) or a duration back from now
 * ("10m", "2d").  0 or -EINVAL. */
#define AT_FORMS "a time like 2026-11-28T20:13:07Z or 2026-11-28T21:13:07+01:00, a day like 2026-11-28, or a duration back from now like 10m or 2d"
int parse_at(const char *s, int64_t now, int64_t *out);
/* --since: a time, or a duration back from now ("1h", "7d"); NULL gives
 * INT64_MIN (everything).  0, or 2 after a usage error on ctx->err. */
int parse_since(struct vf_cmd_ctx *ctx, const struct cmd *c,
		const char *since_s, int64_t *since);

/* Formats a duration in the largest unit that divides it ("30d", "36h";
 * weeks are left to days, "0" is off). */
void format_duration(int64_t ns, char *buf, size_t cap);

/* Parses --days: a plain decimal number.  Returns 0; 2 when it is not a
 * number (one line, a usage error); 1 when it is too large even to hand to
 * core (one line, as core words an out-of-range value).  Values that fit
 * go to core, which owns the 14..180 rule. */
int parse_days(FILE *err, const char *s, unsigned *out);

/* PATH as under .softdeleted: a leading "/" and ".softdeleted/" (the way
 * it shows in the mount) are dropped.  Borrowed from s. */
const char *trash_rel(const char *s);

/* Normalises PATH in place: no leading, trailing or doubled slashes, no
 * "." components; "" is the root.  Returns 0, or -EINVAL for "..". */
int normalise_path(char *s);

/* 1 when s has a ".." component. */
int has_dotdot(const char *s);

/* The posture's conditions (what meets each: cmd TARGET args) and weak
 * choices, as posture and report print them (cmd_security.c). */
struct posture_cond {
	const char *key, *what, *cmd, *args;
};
extern const struct posture_cond posture_conds[VF_PC_COUNT];
struct posture_weak {
	unsigned bit;
	const char *key, *what;
};
extern const struct posture_weak posture_weak[];
extern const size_t n_posture_weak;
/* The posture as JSON (caller owns it) and as text lines to f; target
 * goes into the commands that meet a condition. */
struct json_object *posture_json(const struct vf_posture *p,
				 const char *target);
void posture_text(FILE *f, const struct vf_posture *p, const char *target);
/* The protection state as JSON (caller owns it) and as status lines. */
struct json_object *protection_json(const struct vf_protect *p);
void protection_text(FILE *f, const struct vf_protect *p);

/* The handlers, one file per group. */
/* As list_end, for a list that came through the gate: a refusal before
 * the first item prints no list, only the reason. */
int list_end_admin(struct vf_cmd_ctx *ctx, const struct cmd *c,
		   struct list_state *ls, const struct vf_admin *a, int rc);

/* Says that command c was refused (by a rule: EPERM, EINVAL, EROFS,
 * ENOENT, ENOTDIR, EBUSY, EEXIST) or failed, with the one-line reason err
 * (or the errno's text when there is none). */
void say_refused(struct vf_cmd_ctx *ctx, const struct cmd *c, int rc,
		 const char *err);

/* An empty --approval is a usage error (2, after saying so); else 0. */
int check_token(struct vf_cmd_ctx *ctx, const struct cmd *c, const char *token);

/* A request to core's administrative gate (admin.h) as the caller of ctx,
 * with the guard's token (may be NULL). */
void admin_init(struct vf_cmd_ctx *ctx, struct vf_admin *a, const char *token);

/* Says why the gate refused (or failed) command c, in one line, and the
 * request code for the guard holder on a line of its own when there is
 * one.  Returns 1 (the exit code). */
int say_admin(struct vf_cmd_ctx *ctx, const struct cmd *c,
	      const struct vf_admin *a, int rc);

int cmd_init(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
	     char **argv);
int cmd_recover(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		char **argv);
int cmd_sync(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
	     char **argv);

int cmd_help(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
	     char **argv);

int cmd_status(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
	       char **argv);

int cmd_metrics(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		char **argv);
int cmd_report(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
	       char **argv);

int cmd_check(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
	      char **argv);

int cmd_policy_show(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		    char **argv);

int cmd_policy_set(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		   char **argv);

int cmd_prune(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
	      char **argv);

int cmd_gc(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc, char **argv);
int cmd_reserve_set(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		    char **argv);

int cmd_snapshot(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		 char **argv);

int cmd_snapshots(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		  char **argv);

int cmd_softdelete_show(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
			char **argv);

int cmd_softdelete_set(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		       char **argv);

int cmd_softdelete_list(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
			char **argv);

int cmd_softdelete_purge(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
			 char **argv);

int cmd_restore(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		char **argv);

int cmd_undelete(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		 char **argv);

int cmd_backup(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
	       char **argv);

int cmd_ingest(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
	       char **argv);

int cmd_immutable_set(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		      char **argv);

int cmd_immutable_lock(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		       char **argv);

int cmd_immutable_unlock(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
			 char **argv);

int cmd_immutable_clear(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
			char **argv);

int cmd_immutable_list(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		       char **argv);

int cmd_immutable_vault(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
			char **argv);

int cmd_role_grant(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		   char **argv);

int cmd_role_revoke(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		    char **argv);

int cmd_role_list(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		  char **argv);

int cmd_guard_keygen(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		     char **argv);

int cmd_guard_approve(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		      char **argv);

int cmd_guard_passphrase(struct vf_cmd_ctx *ctx, const struct cmd *c,
			 int argc, char **argv);
int cmd_guard_attach(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		     char **argv);

int cmd_guard_detach(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		     char **argv);

int cmd_posture(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		char **argv);
int cmd_alerts_list(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		    char **argv);
int cmd_alerts_show(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		    char **argv);
int cmd_alerts_ack(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		   char **argv);
int cmd_alerts_mute(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		    char **argv);
int cmd_guard_show(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		   char **argv);
int cmd_tripwire_status(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
			char **argv);
int cmd_tripwire_release(struct vf_cmd_ctx *ctx, const struct cmd *c,
			 int argc, char **argv);
int cmd_tripwire_set(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		     char **argv);
int cmd_tripwire_fp(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		    char **argv);
int cmd_protection_stop(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
			char **argv);
int cmd_protection_resume(struct vf_cmd_ctx *ctx, const struct cmd *c,
			  int argc, char **argv);
/* key rotate --data (cmd_rotate.c); cmd_key_rotate hands it over */
int cmd_key_rotate_data(struct vf_cmd_ctx *ctx, const struct cmd *c,
			int argc, char **argv);

/* Asks for a passphrase ("passphrase", "new passphrase") on /dev/tty with
 * echo off, twice when confirm; *out is sodium_malloc'd (caller frees),
 * *len its length.  0, or 1 after one line to err.  vaultctl only. */
int tty_passphrase(const char *what, int confirm, char **out, size_t *len,
		   FILE *err);
/* A passphrase: the first line of file, or from the terminal as
 * tty_passphrase asks for it when file is NULL.  *pass is sodium_malloc'd
 * (caller frees).  0, or 1 after one line to err.  vaultctl only. */
int read_passphrase(const char *file, const char *what, int confirm,
		    char **pass, size_t *len, FILE *err);

int cmd_key_list(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		 char **argv);
int cmd_key_add(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		char **argv);
int cmd_key_remove(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		   char **argv);
int cmd_key_export(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		   char **argv);
int cmd_key_rotate(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		   char **argv);
int cmd_passphrase_change(struct vf_cmd_ctx *ctx, const struct cmd *c,
			  int argc, char **argv);

int cmd_audit_list(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		   char **argv);

int cmd_audit_verify(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		     char **argv);

#endif
