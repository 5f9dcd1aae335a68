/*
 * cmd_key.c - vaultctl key list | add | remove | export | rotate and
 * passphrase change: the protectors of the master key (core/protector.c,
 * docs/keys.md); who may and whether it is critical is core's decision.
 *
 * Secrets never travel as paths the daemon would open as root: vaultctl
 * (key_client.c) reads a new key file, runs a key command or reads a
 * passphrase as its caller and hands the result over as --secret HEX
 * (--current-secret, --new-secret); a recovery key comes back on stdout,
 * which vaultctl writes to the --out FILE it kept for itself ("--out -"
 * here).  The handlers refuse anything else.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cmd_util.h"

/* The bytes of hex (a --secret value) into *out (sodium_malloc'd, caller
 * frees) and *len; 2 after a usage error. */
static int secret_arg(struct vf_cmd_ctx *ctx, const struct cmd *c,
		      const char *opt, const char *hex, uint8_t **out,
		      size_t *len)
{
	size_t n = strlen(hex) / 2;
	uint8_t *buf;

	if (!n || n > VF_PASSPHRASE_MAX || strlen(hex) % 2) {
		usage_error(ctx->err, c, "%s %s: %s needs 2 to %d hex digits",
			    c->group, c->verb, opt,
			    2 * VF_PASSPHRASE_MAX);
		return 2;
	}
	buf = sodium_malloc(n);
	if (!buf)
		return say_failed(ctx, "reading the key", -ENOMEM);
	if (sodium_hex2bin(buf, n, hex, 2 * n, NULL, len, NULL) || *len != n) {
		sodium_free(buf);
		usage_error(ctx->err, c, "%s %s: %s needs hex digits", c->group,
			    c->verb, opt);
		return 2;
	}
	*out = buf;
	return 0;
}

/* A protector id (16 hex digits) into *id; 2 after a usage error. */
static int id_arg(struct vf_cmd_ctx *ctx, const struct cmd *c, const char *s,
		  uint64_t *id)
{
	char *end;

	errno = 0;
	if (strlen(s) != 16 || strspn(s, "0123456789abcdefABCDEF") != 16) {
		usage_error(ctx->err, c, "key remove: '%s' is not a protector id (16 hex "
			    "digits, as key list shows)", s);
		return 2;
	}
	*id = strtoull(s, &end, 16);
	return 0;
}

static void info_json(struct json_object *o, const struct vf_protector_info *p)
{
	char id[17], ts[32];

	snprintf(id, sizeof(id), "%016llx", (unsigned long long)p->id);
	jadd_str(o, "id", id);
	jadd_str(o, "kind", vf_protector_kind_name(p->kind));
	if (p->added) {
		vf_time_format(p->added, ts);
		jadd_str(o, "added", ts);
	} else {
		jadd(o, "added", NULL);
	}
	if (p->kind == VF_PROT_PASSPHRASE) {
		jadd_u64(o, "argon2id_ops", p->ops);
		jadd_u64(o, "argon2id_mem", p->mem);
	}
}

int cmd_key_list(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		 char **argv)
{
	struct vf_protector_info p[VF_PROTECTOR_MAX];
	struct vf_admin a;
	size_t n = 0, i;
	char ts[32];
	int json = 0, rc;

	rc = parse_json_only(c, ctx->err, argc, argv, NULL, 0, &json);
	if (rc)
		return rc;
	admin_init(ctx, &a, NULL);
	rc = vf_admin_key_list(ctx->v, &a, p, VF_ARRAY_LEN(p), &n);
	if (rc < 0)
		return say_admin(ctx, c, &a, rc);
	if (n > VF_ARRAY_LEN(p))
		n = VF_ARRAY_LEN(p);
	if (json) {
		struct json_object *arr = json_object_new_array();

		for (i = 0; i < n; i++) {
			struct json_object *o = json_object_new_object();

			info_json(o, &p[i]);
			jpush(arr, o);
		}
		json_print(ctx->out, arr);
		return 0;
	}
	fprintf(ctx->out, "%-16s  %-11s  %-20s  %s\n", "ID", "KIND", "ADDED",
		"ARGON2ID");
	for (i = 0; i < n; i++) {
		if (p[i].added)
			vf_time_format(p[i].added, ts);
		else
			snprintf(ts, sizeof(ts), "(format 1)");
		fprintf(ctx->out, "%016llx  %-11s  %-20s  ",
			(unsigned long long)p[i].id,
			vf_protector_kind_name(p[i].kind), ts);
		if (p[i].kind == VF_PROT_PASSPHRASE)
			fprintf(ctx->out, "ops=%llu mem=%lluMiB\n",
				(unsigned long long)p[i].ops,
				(unsigned long long)(p[i].mem >> 20));
		else
			fputs("-\n", ctx->out);
	}
	return 0;
}

/* Prints "VERB KIND protector ID" or its JSON. */
static void print_info(struct vf_cmd_ctx *ctx, int json, const char *verb,
		       const struct vf_protector_info *p)
{
	if (json) {
		struct json_object *o = json_object_new_object();

		jadd_str(o, "action", verb);
		info_json(o, p);
		json_print(ctx->out, o);
		return;
	}
	fprintf(ctx->out, "%s %s protector %016llx\n", verb,
		vf_protector_kind_name(p->kind), (unsigned long long)p->id);
}

int cmd_key_add(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		char **argv)
{
	const char *hex = NULL;
	int json = 0, rc;
	const struct opt opts[] = {
		{ "--secret", &hex, NULL },
		{ "--json", NULL, &json },
		{ NULL, NULL, NULL },
	};
	struct vf_protector_info info;
	uint8_t *secret = NULL;
	char *pos[2] = { NULL, NULL };
	struct vf_admin a;
	size_t len = 0;
	uint32_t kind;

	rc = parse_args(c, ctx->err, argc, argv, opts, pos, 1, 2);
	if (rc)
		return rc;
	if (vf_protector_kind_parse(pos[0], &kind) ||
	    kind == VF_PROT_RECOVERY) {
		usage_error(ctx->err, c, "key add: unknown protector kind '%s' (platform, "
			    "key-file, key-command or passphrase; a recovery "
			    "key comes from key export)", pos[0]);
		return 2;
	}
	if (pos[1] || (kind != VF_PROT_PLATFORM && !hex)) {
		/* only vaultctl turns FILE or CMD into --secret */
		fprintf(ctx->err, "vaultctl: key add: give the %s to vaultctl, "
			"which reads it as you\n", vf_protector_kind_name(kind));
		return 2;
	}
	if (kind == VF_PROT_PLATFORM && hex) {
		usage_error(ctx->err, c, "key add: a platform key takes no secret");
		return 2;
	}
	if (hex && (rc = secret_arg(ctx, c, "--secret", hex, &secret, &len)))
		return rc;
	admin_init(ctx, &a, NULL);
	rc = vf_admin_key_add(ctx->v, &a, kind, secret, len, &info);
	if (secret)
		sodium_free(secret);
	if (rc < 0)
		return say_admin(ctx, c, &a, rc);
	print_info(ctx, json, "added", &info);
	return 0;
}

int cmd_key_remove(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		   char **argv)
{
	const char *token = NULL;
	int json = 0, rc;
	struct vf_protector_info info;
	char *pos[1] = { NULL };
	struct vf_admin a;
	uint64_t id = 0;

	rc = parse_approval_json(ctx, c, argc, argv, pos, 1, &token, &json);
	if (!rc)
		rc = id_arg(ctx, c, pos[0], &id);
	if (rc)
		return rc;
	admin_init(ctx, &a, token);
	rc = vf_admin_key_remove(ctx->v, &a, id, &info);
	if (rc < 0)
		return say_admin(ctx, c, &a, rc);
	print_info(ctx, json, "removed", &info);
	return 0;
}

/* "--out -" is vaultctl's: it writes this command's stdout to the FILE
 * its caller named, as that caller.  2 after a usage error. */
static int out_arg(struct vf_cmd_ctx *ctx, const struct cmd *c,
		   const char *out)
{
	if (out && strcmp(out, "-")) {
		fprintf(ctx->err, "vaultctl: %s %s: --out is written by "
			"vaultctl; run it with vaultctl\n", c->group, c->verb);
		return 2;
	}
	return 0;
}

int cmd_key_export(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		   char **argv)
{
	const char *token = NULL, *out = NULL;
	int rc;
	const struct opt opts[] = {
		{ "--out", &out, NULL },
		{ "--approval", &token, NULL },
		{ NULL, NULL, NULL },
	};
	struct vf_protector_info info;
	struct vf_admin a;
	char *text;

	rc = parse_args(c, ctx->err, argc, argv, opts, NULL, 0, 0);
	if (!rc)
		rc = check_token(ctx, c, token);
	if (!rc)
		rc = out_arg(ctx, c, out);
	if (!rc && !out) {
		usage_error(ctx->err, c, "key export: give --out FILE for the recovery key");
		rc = 2;
	}
	if (rc)
		return rc;
	text = sodium_malloc(VF_RECOVERY_TEXT_MAX);
	if (!text)
		return say_failed(ctx, "key export", -ENOMEM);
	admin_init(ctx, &a, token);
	rc = vf_admin_key_export(ctx->v, &a, text, VF_RECOVERY_TEXT_MAX, &info);
	if (rc >= 0)
		fputs(text, ctx->out);
	sodium_memzero(text, VF_RECOVERY_TEXT_MAX);
	sodium_free(text);
	if (rc < 0)
		return say_admin(ctx, c, &a, rc);
	return 0;
}

int cmd_key_rotate(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		   char **argv)
{
	const char *token = NULL, *out = NULL;
	int json = 0, rc;
	const struct opt opts[] = {
		{ "--out", &out, NULL },
		{ "--approval", &token, NULL },
		{ "--json", NULL, &json },
		{ NULL, NULL, NULL },
	};
	struct vf_admin a;
	unsigned n = 0;
	char *text;
	int i;

	/* --data: a new data key, the packs re-encrypted (cmd_rotate.c) */
	for (i = 0; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--data"))
			return cmd_key_rotate_data(ctx, c, argc, argv);
	rc = parse_args(c, ctx->err, argc, argv, opts, NULL, 0, 0);
	if (!rc)
		rc = check_token(ctx, c, token);
	if (!rc)
		rc = out_arg(ctx, c, out);
	if (rc)
		return rc;
	text = sodium_malloc(VF_RECOVERY_TEXT_MAX);
	if (!text)
		return say_failed(ctx, "key rotate", -ENOMEM);
	text[0] = '\0';
	admin_init(ctx, &a, token);
	rc = vf_admin_key_rotate(ctx->v, &a, out != NULL, text,
				 VF_RECOVERY_TEXT_MAX, &n);
	/* with --out, stdout is the new recovery key's file */
	if (rc >= 0 && out)
		fputs(text, ctx->out);
	sodium_memzero(text, VF_RECOVERY_TEXT_MAX);
	sodium_free(text);
	if (rc < 0)
		return say_admin(ctx, c, &a, rc);
	if (out)
		return 0;
	if (json) {
		struct json_object *o = json_object_new_object();

		jadd_u64(o, "rotated", n);
		json_print(ctx->out, o);
	} else {
		fprintf(ctx->out, "rotated %u protector%s: the old keys no longer open this header\n",
			n, n == 1 ? "" : "s");
	}
	return 0;
}

int cmd_passphrase_change(struct vf_cmd_ctx *ctx, const struct cmd *c,
			  int argc, char **argv)
{
	const char *token = NULL, *cur_hex = NULL, *new_hex = NULL;
	int json = 0, rc;
	const struct opt opts[] = {
		{ "--current-secret", &cur_hex, NULL },
		{ "--new-secret", &new_hex, NULL },
		{ "--approval", &token, NULL },
		{ "--json", NULL, &json },
		{ NULL, NULL, NULL },
	};
	uint8_t *cur = NULL, *next = NULL;
	size_t curlen = 0, nextlen = 0;
	struct vf_admin a;
	uint64_t id = 0;

	rc = parse_args(c, ctx->err, argc, argv, opts, NULL, 0, 0);
	if (!rc)
		rc = check_token(ctx, c, token);
	if (!rc && (!cur_hex || !new_hex)) {
		fprintf(ctx->err, "vaultctl: passphrase change: give the "
			"passphrases to vaultctl, which reads them as you\n");
		rc = 2;
	}
	if (!rc)
		rc = secret_arg(ctx, c, "--current-secret", cur_hex, &cur,
				&curlen);
	if (!rc)
		rc = secret_arg(ctx, c, "--new-secret", new_hex, &next,
				&nextlen);
	if (!rc) {
		admin_init(ctx, &a, token);
		rc = vf_admin_passphrase_change(ctx->v, &a, cur, curlen, next,
						nextlen, &id);
		if (rc < 0)
			rc = say_admin(ctx, c, &a, rc);
	}
	if (cur)
		sodium_free(cur);
	if (next)
		sodium_free(next);
	if (rc)
		return rc;
	if (json) {
		struct json_object *o = json_object_new_object();
		char idt[17];

		snprintf(idt, sizeof(idt), "%016llx", (unsigned long long)id);
		jadd_str(o, "protector", idt);
		json_print(ctx->out, o);
	} else {
		fprintf(ctx->out, "passphrase changed (protector %016llx); the old passphrase no longer opens this header\n",
			(unsigned long long)id);
	}
	return 0;
}
