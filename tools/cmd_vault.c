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
#include "cmd_gate.h"

int cmd_init(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
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

int cmd_help(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
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
		for (i = 0; i < ncmds; i++) {
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
				cmd_available(&cmds[i]) ? "true" : "false",
				cmds[i].needs_target ? "true" : "false");
			first = 0;
		}
		fputs("]\n", f);
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

static void print_ratio(FILE *f, const struct vf_status *st, int json)
{
	if (!st->stored_bytes)
		fputs(json ? "null" : "-", f);
	else
		fprintf(f, "%.2f",
			(double)st->logical_bytes / (double)st->stored_bytes);
}

int cmd_status(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
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

int cmd_check(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
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
