/*
 * cmd_vault.c - vault-wide commands: init, help, status, check.
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


int cmd_init(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
	     char **argv)
{
	struct vf_protector_opts o;
	char *pos[1] = { NULL };
	char err[512] = "";
	int rc, json = 0;

	rc = vf_cmds_take_key_opts(&argc, argv, &o, ctx->err);
	if (rc) {
		print_usage(ctx->err, c);
		return rc;
	}
	rc = parse_json_only(c, ctx->err, argc, argv, pos, 1, &json);
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
	if (json) {
		struct json_object *jo = json_object_new_object();

		jadd_str(jo, "vault", pos[0]);
		json_print(ctx->out, jo);
	} else {
		fprintf(ctx->out, "created vault at %s\n", pos[0]);
	}
	return 0;
}

int cmd_help(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
	     char **argv)
{
	char *pos[1] = { NULL };
	int json = 0, rc, avail;
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
		struct json_object *arr = json_object_new_array(), *o;
		char usage[512];

		for (i = 0; i < ncmds; i++) {
			if (pos[0] && strcmp(cmds[i].group, pos[0]))
				continue;
			o = json_object_new_object();
			jadd_str(o, "group", cmds[i].group);
			jadd_str(o, "verb", cmds[i].verb);
			snprintf(usage, sizeof(usage), "vaultctl %s",
				 cmds[i].usage);
			jadd_str(o, "usage", usage);
			jadd_bool(o, "available", cmd_available(&cmds[i]));
			jadd_bool(o, "target", cmds[i].needs_target);
			jpush(arr, o);
		}
		json_print(f, arr);
		return 0;
	}
	if (pos[0]) {
		for (i = 0; i < ncmds; i++)
			if (!strcmp(cmds[i].group, pos[0]))
				fprintf(f, "vaultctl %s%s\n", cmds[i].usage,
					cmd_available(&cmds[i]) ? "" : "   (not yet available)");
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
		for (i = 0; i < ncmds; i++)
			if (cmd_available(&cmds[i]) == avail)
				fprintf(f, "  vaultctl %s\n", cmds[i].usage);
	}
	fputs("\nexit status: 0 ok, 1 refused or failed, 2 usage\n", f);
	return 0;
}

/* The ratio with two decimals ("-" when nothing is stored). */
static void format_ratio(const struct vf_status *st, char *buf, size_t cap)
{
	if (!st->stored_bytes)
		snprintf(buf, cap, "-");
	else
		snprintf(buf, cap, "%.2f",
			 (double)st->logical_bytes / (double)st->stored_bytes);
}

int cmd_status(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
	       char **argv)
{
	struct vf_status st;
	struct vf_admin a;
	char ratio[32];
	int json = 0, rc;
	FILE *f = ctx->out;

	rc = parse_json_only(c, ctx->err, argc, argv, NULL, 0, &json);
	if (rc)
		return rc;
	memset(&st, 0, sizeof(st));
	admin_init(ctx, &a, NULL);
	rc = vf_admin_status(ctx->v, &a, &st);
	if (rc < 0)
		return say_admin(ctx, c, &a, rc);
	st.vault_id[sizeof(st.vault_id) - 1] = '\0';
	format_ratio(&st, ratio, sizeof(ratio));
	if (json) {
		struct json_object *o = json_object_new_object();

		jadd_str(o, "vault_id", st.vault_id);
		jadd_u64(o, "files", st.files);
		jadd_u64(o, "dirs", st.dirs);
		jadd_u64(o, "versions", st.versions);
		jadd_u64(o, "chunks", st.chunks);
		jadd_u64(o, "packs", st.packs);
		jadd_u64(o, "logical_bytes", st.logical_bytes);
		jadd_u64(o, "stored_bytes", st.stored_bytes);
		jadd_u64(o, "catalog_bytes", st.catalog_bytes);
		/* the number as printed, two decimals */
		jadd(o, "ratio",
		     st.stored_bytes ?
			     json_object_new_double_s(
				     (double)st.logical_bytes /
					     (double)st.stored_bytes,
				     ratio) :
			     NULL);
		json_print(f, o);
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
	fprintf(f, "ratio:          %s (logical/stored: dedup and compression)\n",
		ratio);
	return 0;
}

static void check_problem(void *arg, const char *path, const char *what)
{
	struct list_state *cs = arg;

	if (cs->json) {
		struct json_object *o = json_object_new_object();

		jadd_str(o, "path", path ? path : "");
		jadd_str(o, "what", what ? what : "");
		jpush(cs->arr, o);
	} else {
		fputs("damaged: ", cs->out);
		text_str(cs->out, path ? path : "");
		fputs(": ", cs->out);
		text_str(cs->out, what ? what : "");
		fputc('\n', cs->out);
	}
	cs->n++;
}

int cmd_check(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
	      char **argv)
{
	struct list_state cs = { ctx->out, 0, 0, 0, NULL };
	unsigned long long n;
	struct vf_status st;
	struct vf_admin a;
	int read_data = 0, rc, src;
	int accept = 0;
	const struct opt opts[] = {
		{ "--read-data", NULL, &read_data },
		{ "--json", NULL, &cs.json },
		{ "--accept-rollback", NULL, &accept },
		{ NULL, NULL, NULL },
	};
	FILE *f = ctx->out;

	rc = parse_args(c, ctx->err, argc, argv, opts, NULL, 0, 0);
	if (rc)
		return rc;
	/* vaultctl takes it out of argv when TARGET is a vault directory
	 * (it decides how the vault is opened): here it came online */
	if (accept)
		return usage_error(ctx->err, c, "check: option '--accept-rollback' applies to a vault directory, not to a mountpoint");
	list_begin(&cs);
	admin_init(ctx, &a, NULL);
	rc = vf_admin_check(ctx->v, &a, read_data, check_problem, &cs);
	if (rc == -EACCES) {
		json_object_put(cs.arr);
		return say_admin(ctx, c, &a, rc);
	}
	memset(&st, 0, sizeof(st));
	src = rc < 0 ? 0 : vf_admin_status(ctx->v, &a, &st);
	if (cs.json) {
		struct json_object *o = json_object_new_object();

		jadd(o, "problems", cs.arr);
		jadd_bool(o, "ok", rc == 0);
		jadd_bool(o, "complete", rc >= 0);
		jadd_bool(o, "read_data", read_data);
		jadd_u64(o, "files", st.files);
		jadd_u64(o, "chunks", st.chunks);
		json_print(f, o);
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
