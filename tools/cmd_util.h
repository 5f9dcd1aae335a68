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

#include "cmds.h"

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
	enum vf_role min_role; /* least role that may run it (SPEC 6); for
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
};

void print_usage(FILE *f, const struct cmd *c);

/* Prints c's usage line and its options (--help). */
void print_help(FILE *out, const struct cmd *c);

int VF_PRINTF(3, 4)
    usage_error(FILE *err, const struct cmd *c, const char *fmt, ...);

void cmd_name(const struct cmd *c, char *buf, size_t cap);

int parse_args(const struct cmd *c, FILE *err, int argc, char **argv,
	       const struct opt *opts, char **pos, int minpos, int maxpos);

int parse_json_only(const struct cmd *c, FILE *err, int argc, char **argv,
		    char **pos, int npos, int *json);

extern const char *const key_opt_names[4];

int key_opt_match(const char *a, size_t *len);

/* JSON output through json-c: jstr makes a string (NULL stays JSON null),
 * jadd_* add a member to an object, jpush an item to an array (each takes
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

void text_str(FILE *f, const char *s);

int say_failed(struct vf_cmd_ctx *ctx, const char *what, int rc);

void list_begin(struct list_state *ls);

int list_end(struct vf_cmd_ctx *ctx, struct list_state *ls, int rc,
	     const char *what);

int parse_count(const struct cmd *c, FILE *err, const char *opt, const char *s,
		unsigned *out);

int parse_duration(const char *s, int64_t *out);

void format_duration(int64_t ns, char *buf, size_t cap);

int parse_days(FILE *err, const char *s, unsigned *out);

const char *trash_rel(const char *s);

int normalise_path(char *s);

int has_dotdot(const char *s);

/* The handlers, one file per group. */
int cmd_init(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
	     char **argv);

int cmd_help(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
	     char **argv);

int cmd_status(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
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

int cmd_guard_attach(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		     char **argv);

int cmd_guard_detach(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		     char **argv);

int cmd_guard_show(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		   char **argv);

int cmd_audit_list(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		   char **argv);

int cmd_audit_verify(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		     char **argv);

#endif
