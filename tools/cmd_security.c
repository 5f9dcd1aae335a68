/*
 * cmd_security.c - roles, the guard and the audit log (README.md: Roles,
 * The guard, Audit log; docs/guard.md).
 */
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <sodium.h>

#include "cmd_util.h"


/*
 * Grants name numeric ids only: vaultctl turns user:NAME into user:UID in
 * the caller's user database before the request leaves it (the daemon's
 * need not be the caller's), and a name that later points to someone else
 * must not carry a role with it.  role list shows the name each id has on
 * the daemon's machine now, when it has one.  Granting Contributor or Owner is critical
 * (README.md, The guard), with the parameters "principal=user:1001 role=owner".  Root is always
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

/* Sets the grant of (is_group, id) to role (VF_ROLE_NONE revokes). */
static int role_change(struct vf_cmd_ctx *ctx, const struct cmd *c,
		       int is_group, uint32_t id, enum vf_role role,
		       const char *token, int json)
{
	struct { enum vf_role role; } f = { VF_ROLE_NONE };
	struct vf_admin a;
	char who[32];
	int rc;

	snprintf(who, sizeof(who), "%s:%lu", is_group ? "group" : "user",
		 (unsigned long)id);
	admin_init(ctx, &a, token);
	rc = vf_admin_role_grant(ctx->v, &a, is_group, id, role, &f.role);
	if (rc < 0)
		return say_admin(ctx, c, &a, rc);
	if (json) {
		struct json_object *o = json_object_new_object();

		jadd_str(o, "principal", who);
		jadd_str(o, "role", vf_role_name(role));
		jadd_str(o, "was", vf_role_name(f.role));
		json_print(ctx->out, o);
	} else if (role == VF_ROLE_NONE && f.role == VF_ROLE_NONE)
		fprintf(ctx->out, "%s had no role\n", who);
	else if (role == VF_ROLE_NONE)
		fprintf(ctx->out, "revoked %s from %s\n", vf_role_name(f.role),
			who);
	else
		fprintf(ctx->out, "granted %s to %s (was %s)\n",
			vf_role_name(role), who, vf_role_name(f.role));
	return 0;
}

int cmd_role_grant(struct vf_cmd_ctx *ctx, const struct cmd *c,
		   int argc, char **argv)
{
	const char *token = NULL;
	char *pos[2] = { NULL, NULL };
	int json = 0;
	const struct opt opts[] = {
		{ "--approval", &token, NULL },
		{ "--json", NULL, &json },
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
	return role_change(ctx, c, is_group, id, role, token, json);
}

int cmd_role_revoke(struct vf_cmd_ctx *ctx, const struct cmd *c,
		    int argc, char **argv)
{
	char *pos[1] = { NULL };
	uint32_t id = 0;
	int rc, is_group = 0, json = 0;

	rc = parse_json_only(c, ctx->err, argc, argv, pos, 1, &json);
	if (!rc)
		rc = parse_principal(ctx, c, pos[0], &is_group, &id);
	if (rc)
		return rc;
	return role_change(ctx, c, is_group, id, VF_ROLE_NONE, NULL, json);
}

static int role_list_cb(void *arg, int is_group, uint32_t id,
			enum vf_role role)
{
	struct list_state *ls = arg;
	const char *kind = is_group ? "group" : "user", *name = NULL;
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	char nbuf[2048];

	/* the name the id has on this machine now, when it has one (the
	 * daemon serves requests on several threads: the _r lookups) */
	if (is_group && !getgrgid_r(id, &gr, nbuf, sizeof(nbuf), &grp) && grp)
		name = grp->gr_name;
	else if (!is_group &&
		 !getpwuid_r(id, &pw, nbuf, sizeof(nbuf), &pwp) && pwp)
		name = pwp->pw_name;
	if (ls->json) {
		struct json_object *o = json_object_new_object();
		char principal[32];

		snprintf(principal, sizeof(principal), "%s:%lu", kind,
			 (unsigned long)id);
		jadd_str(o, "principal", principal);
		jadd_str(o, "role", vf_role_name(role));
		if (name)
			jadd_str(o, "name", name);
		jpush(ls->arr, o);
	} else {
		fprintf(ls->out, "%s:%lu\t%s", kind, (unsigned long)id,
			vf_role_name(role));
		if (name) {
			fputc('\t', ls->out);
			text_str(ls->out, name);
		}
		fputc('\n', ls->out);
	}
	ls->n++;
	return 0;
}

int cmd_role_list(struct vf_cmd_ctx *ctx, const struct cmd *c,
		  int argc, char **argv)
{
	struct list_state ls = { .out = ctx->out };
	struct vf_admin a;
	int rc;

	rc = parse_json_only(c, ctx->err, argc, argv, NULL, 0, &ls.json);
	if (rc)
		return rc;
	list_begin(&ls);
	admin_init(ctx, &a, NULL);
	rc = vf_admin_role_list(ctx->v, &a, role_list_cb, &ls);
	return list_end_admin(ctx, c, &ls, &a, rc);
}

/*
 * keygen and approve run without a vault, on the guard holder's machine;
 * attach, detach and show against one.  The guard's secret key never
 * passes through the daemon or a vault: approve reads it from --key in
 * vaultctl itself (core checks the file is private to its owner).
 */

int cmd_guard_keygen(struct vf_cmd_ctx *ctx, const struct cmd *c,
		     int argc, char **argv)
{
	const char *out = NULL, *pfile = NULL;
	char pub[VF_GUARD_PUB_TEXT], fpr[VF_GUARD_FPR_TEXT] = "", err[512] = "";
	char *pass = NULL;
	size_t plen = 0;
	int json = 0, ask = 0, rc;
	const struct opt opts[] = {
		{ "--out", &out, NULL },
		{ "--passphrase", NULL, &ask },
		{ "--passphrase-file", &pfile, NULL },
		{ "--json", NULL, &json },
		{ NULL, NULL, NULL },
	};

	rc = parse_args(c, ctx->err, argc, argv, opts, NULL, 0, 0);
	if (rc)
		return rc;
	if (!out || !*out)
		return usage_error(ctx->err, c,
				   "guard keygen: --out FILE is required");
	if (ask && pfile)
		return usage_error(ctx->err, c,
				   "guard keygen: give --passphrase or --passphrase-file, not both");
	if ((ask || pfile) &&
	    read_passphrase(pfile, "passphrase for the guard key", 1,
				     &pass, &plen, ctx->err))
		return 1;
	if (pass)
		rc = vf_guard_keygen_pass(out, pass, plen, pub, sizeof(pub),
					  err, sizeof(err));
	else
		rc = vf_guard_keygen(out, pub, sizeof(pub), err, sizeof(err));
	if (pass)
		sodium_free(pass);
	if (rc < 0) {
		say_refused(ctx, c, rc, err);
		return 1;
	}
	if (vf_guard_fingerprint(pub, fpr) < 0)
		fpr[0] = '\0';
	if (json) {
		struct json_object *o = json_object_new_object();

		jadd_str(o, "public_key", pub);
		jadd_str(o, "fingerprint", fpr);
		jadd_str(o, "key_file", out);
		json_object_object_add(o, "passphrase",
				       json_object_new_boolean(plen > 0));
		json_print(ctx->out, o);
	} else {
		fprintf(ctx->out, "%s\n", pub);
	}
	fprintf(ctx->err, "guard secret key written to '%s'%s (fingerprint %s); give the vault owner only the public key for 'vaultctl guard attach'\n",
		out, plen ? ", sealed under the passphrase" : "", fpr);
	return 0;
}

/* The passphrase of key file path when it is protected: from pfile, else
 * typed on the terminal; *pass stays NULL for an unprotected file.  0, or
 * 1 after one line. */
static int key_passphrase(struct vf_cmd_ctx *ctx, const struct cmd *c,
			  const char *path, const char *pfile,
			  const char *what, char **pass, size_t *plen)
{
	char err[512] = "";
	int rc = vf_guard_key_protected(path, err, sizeof(err));

	if (rc < 0) {
		say_refused(ctx, c, rc, err);
		return 1;
	}
	if (rc == 0)
		return 0;
	return read_passphrase(pfile, what, 0, pass, plen, ctx->err);
}

int cmd_guard_approve(struct vf_cmd_ctx *ctx, const struct cmd *c,
		      int argc, char **argv)
{
	const char *key = NULL, *ttl_s = NULL, *pfile = NULL;
	char *pos[1] = { NULL };
	int json = 0;
	const struct opt opts[] = {
		{ "--key", &key, NULL },
		{ "--ttl", &ttl_s, NULL },
		{ "--passphrase-file", &pfile, NULL },
		{ "--json", NULL, &json },
		{ NULL, NULL, NULL },
	};
	char token[VF_GUARD_TEXT_MAX], summary[VF_GUARD_SUMMARY_MAX] = "";
	char err[512] = "", *pass = NULL;
	int64_t ttl = 3600 * VF_NS;
	size_t plen = 0;
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
	if (key_passphrase(ctx, c, key, pfile, "passphrase of the guard key",
			   &pass, &plen))
		return 1;
	rc = vf_guard_approve_pass(key, pass, plen, pos[0], ttl,
				   vf_clock_now(), token, sizeof(token),
				   summary, sizeof(summary), err, sizeof(err));
	if (pass)
		sodium_free(pass);
	if (rc < 0) {
		say_refused(ctx, c, rc, err);
		return 1;
	}
	if (json) {
		struct json_object *o = json_object_new_object();

		jadd_str(o, "token", token);
		jadd_str(o, "summary", summary);
		json_print(ctx->out, o);
	} else {
		fprintf(ctx->out, "%s\n", token);
	}
	fputs("approved: ", ctx->err);
	text_str(ctx->err, summary);
	fputc('\n', ctx->err);
	return 0;
}

int cmd_guard_passphrase(struct vf_cmd_ctx *ctx, const struct cmd *c,
			 int argc, char **argv)
{
	const char *cur_f = NULL, *new_f = NULL;
	char *pos[1] = { NULL }, *cur = NULL, *next = NULL, err[512] = "";
	size_t curlen = 0, nextlen = 0;
	int json = 0, remove = 0, rc;
	const struct opt opts[] = {
		{ "--passphrase-file", &cur_f, NULL },
		{ "--new-passphrase-file", &new_f, NULL },
		{ "--remove", NULL, &remove },
		{ "--json", NULL, &json },
		{ NULL, NULL, NULL },
	};

	rc = parse_args(c, ctx->err, argc, argv, opts, pos, 1, 1);
	if (rc)
		return rc;
	if (remove && new_f)
		return usage_error(ctx->err, c,
				   "guard passphrase: give --remove or --new-passphrase-file, not both");
	if (key_passphrase(ctx, c, pos[0], cur_f,
			   "current passphrase of the guard key", &cur,
			   &curlen))
		return 1;
	if (!remove &&
	    read_passphrase(new_f, "new passphrase for the guard key",
				     1, &next, &nextlen, ctx->err)) {
		rc = 1;
		goto out;
	}
	rc = vf_guard_key_passphrase(pos[0], cur, curlen, next, nextlen, err,
				     sizeof(err));
	if (rc < 0) {
		say_refused(ctx, c, rc, err);
		rc = 1;
		goto out;
	}
	if (json) {
		struct json_object *o = json_object_new_object();

		jadd_str(o, "key_file", pos[0]);
		json_object_object_add(o, "passphrase",
				       json_object_new_boolean(!remove));
		json_print(ctx->out, o);
	} else {
		fprintf(ctx->out, "guard key file '%s' %s\n", pos[0],
			remove ? "is no longer protected by a passphrase"
			       : "is protected by the new passphrase");
	}
out:
	if (cur)
		sodium_free(cur);
	if (next)
		sodium_free(next);
	return rc;
}

/* Says that the guards with fingerprints fprs are attached (changed:
 * just now, else they already were). */
static void print_attached(struct vf_cmd_ctx *ctx, const char *fprs,
			   unsigned quorum, size_t n, int changed, int json)
{
	struct json_object *o;

	if (!json) {
		fprintf(ctx->out, "guard%s %sattached (fingerprint%s %s, quorum %u of %zu)\n",
			n > 1 ? "s" : "", changed ? "" : "already ",
			n > 1 ? "s" : "", fprs, quorum, n);
		return;
	}
	o = json_object_new_object();
	jadd_bool(o, "attached", 1);
	jadd_str(o, "fingerprint", fprs);
	jadd_u64(o, "quorum", quorum);
	jadd_u64(o, "guards", n);
	jadd_bool(o, "changed", changed);
	json_print(ctx->out, o);
}

int cmd_guard_attach(struct vf_cmd_ctx *ctx, const struct cmd *c,
		     int argc, char **argv)
{
	const char *token = NULL, *quorum_s = NULL;
	char *pos[VF_GUARD_SET_MAX + 1] = { NULL };
	int json = 0;
	const struct opt opts[] = {
		{ "--quorum", &quorum_s, NULL },
		{ "--approval", &token, NULL },
		{ "--json", NULL, &json },
		{ NULL, NULL, NULL },
	};
	char fprs[VF_GUARD_FPRS_TEXT] = "", fpr[VF_GUARD_FPR_TEXT];
	unsigned quorum = 1;
	struct vf_admin a;
	size_t i, n;
	int rc;

	rc = parse_args(c, ctx->err, argc, argv, opts, pos, 1,
			VF_GUARD_SET_MAX + 1);
	if (!rc && quorum_s)
		rc = parse_count(c, ctx->err, "--quorum", quorum_s, &quorum);
	if (!rc)
		rc = check_token(ctx, c, token);
	if (rc)
		return rc;
	for (n = 0; n < VF_GUARD_SET_MAX + 1 && pos[n]; n++)
		;
	/* Changing the guards is critical, arming an unguarded vault is
	 * not, bad keys and quorums are refused before any approval is
	 * asked: core's gate. */
	admin_init(ctx, &a, token);
	rc = vf_admin_guard_attach(ctx->v, &a, (const char *const *)pos, n,
				   quorum, NULL);
	if (rc < 0)
		return say_admin(ctx, c, &a, rc);
	for (i = 0; i < n; i++) {
		if (vf_guard_fingerprint(pos[i], fpr) < 0)
			fpr[0] = '\0';
		snprintf(fprs + strlen(fprs), sizeof(fprs) - strlen(fprs),
			 "%s%s", i ? "," : "", fpr);
	}
	print_attached(ctx, fprs, quorum, n, rc == 0, json);
	return 0;
}

int cmd_guard_detach(struct vf_cmd_ctx *ctx, const struct cmd *c,
		     int argc, char **argv)
{
	const char *token = NULL;
	int json = 0;
	const struct opt opts[] = {
		{ "--approval", &token, NULL },
		{ "--json", NULL, &json },
		{ NULL, NULL, NULL },
	};
	char fprs[VF_GUARD_FPRS_TEXT] = "";
	struct vf_admin a;
	int rc;

	rc = parse_args(c, ctx->err, argc, argv, opts, NULL, 0, 0);
	if (!rc)
		rc = check_token(ctx, c, token);
	if (rc)
		return rc;
	admin_init(ctx, &a, token);
	rc = vf_admin_guard_detach(ctx->v, &a, fprs);
	if (rc < 0)
		return say_admin(ctx, c, &a, rc);
	if (json) {
		struct json_object *o = json_object_new_object();

		jadd_bool(o, "attached", 0);
		jadd_str(o, "fingerprint", fprs);
		json_print(ctx->out, o);
	} else {
		fputs("guard detached\n", ctx->out);
	}
	return 0;
}

int cmd_guard_show(struct vf_cmd_ctx *ctx, const struct cmd *c,
		   int argc, char **argv)
{
	struct vf_guard_info *g;
	struct json_object *o, *arr, *k;
	struct vf_admin a;
	int json = 0, rc;
	size_t i;

	rc = parse_json_only(c, ctx->err, argc, argv, NULL, 0, &json);
	if (rc)
		return rc;
	g = calloc(1, sizeof(*g));
	if (!g) {
		fprintf(ctx->err, "vaultctl: guard show: out of memory\n");
		return 1;
	}
	admin_init(ctx, &a, NULL);
	rc = vf_admin_guard_show(ctx->v, &a, g);
	if (rc < 0 && rc != -ENOENT) {
		free(g);
		return say_admin(ctx, c, &a, rc);
	}
	if (json) {
		o = json_object_new_object();
		jadd_bool(o, "attached", rc == 0);
		/* the first key, as before there were several */
		jadd_str(o, "public_key", rc == 0 ? g->keys[0] : NULL);
		jadd_str(o, "fingerprint", rc == 0 ? g->fprs[0] : NULL);
		if (rc == 0) {
			jadd_u64(o, "quorum", g->quorum);
			arr = json_object_new_array();
			for (i = 0; i < g->n; i++) {
				k = json_object_new_object();
				jadd_str(k, "public_key", g->keys[i]);
				jadd_str(k, "fingerprint", g->fprs[i]);
				json_object_array_add(arr, k);
			}
			json_object_object_add(o, "guards", arr);
		}
		json_print(ctx->out, o);
	} else if (rc == 0 && g->n == 1 && g->quorum == 1) {
		fprintf(ctx->out, "guard:        attached\npublic key:   %s\nfingerprint:  %s\n",
			g->keys[0], g->fprs[0]);
	} else if (rc == 0) {
		fprintf(ctx->out, "guard:        attached, quorum %u of %zu\n",
			g->quorum, g->n);
		for (i = 0; i < g->n; i++)
			fprintf(ctx->out, "public key:   %s\nfingerprint:  %s\n",
				g->keys[i], g->fprs[i]);
	} else {
		fputs("guard:        none (critical operations need no approval)\n",
		      ctx->out);
	}
	free(g);
	return 0;
}

/* A field of a record in text: "-" for none, control characters as '?'
 * so that one record stays one line. */
static void audit_field(FILE *f, const char *s)
{
	fputc('\t', f);
	text_str(f, s && *s ? s : "-");
}

static int audit_rec(void *arg, const struct vf_event *r)
{
	struct list_state *as = arg;
	char ts[32];

	vf_time_format(r->t, ts);
	if (as->json) {
		struct json_object *o = json_object_new_object();

		jadd_i64(o, "id", r->id);
		jadd_str(o, "time", ts);
		jadd(o, "uid",
		     r->uid == VF_AUDIT_UID_NONE ?
			     NULL :
			     json_object_new_uint64(r->uid));
		jadd_str(o, "action", r->action);
		jadd_str(o, "target", r->target);
		jadd_str(o, "result", r->result);
		jadd_str(o, "detail", r->detail);
		jpush(as->arr, o);
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

int cmd_audit_list(struct vf_cmd_ctx *ctx, const struct cmd *c,
		   int argc, char **argv)
{
	struct list_state as = { .out = ctx->out };
	const char *since_s = NULL;
	const struct opt opts[] = {
		{ "--since", &since_s, NULL },
		{ "--json", NULL, &as.json },
		{ NULL, NULL, NULL },
	};
	int64_t since;
	struct vf_admin a;
	int rc;

	rc = parse_args(c, ctx->err, argc, argv, opts, NULL, 0, 0);
	if (!rc)
		rc = parse_since(ctx, c, since_s, &since);
	if (rc)
		return rc;
	list_begin(&as);
	admin_init(ctx, &a, NULL);
	rc = vf_admin_audit_list(ctx->v, &a, since, audit_rec, &as);
	return list_end_admin(ctx, c, &as, &a, rc);
}

static int audit_problem(void *arg, int64_t id, const char *problem)
{
	struct list_state *as = arg;

	if (as->json) {
		struct json_object *o = json_object_new_object();

		jadd_i64(o, "id", id);
		jadd_str(o, "problem", problem);
		jpush(as->arr, o);
	} else {
		fputs("tampered: ", as->out);
		text_str(as->out, problem);
		fputc('\n', as->out);
	}
	as->n++;
	return 0;
}

int cmd_audit_verify(struct vf_cmd_ctx *ctx, const struct cmd *c,
		     int argc, char **argv)
{
	struct list_state as = { .out = ctx->out };
	struct vf_admin a;
	int rc;

	rc = parse_json_only(c, ctx->err, argc, argv, NULL, 0, &as.json);
	if (rc)
		return rc;
	list_begin(&as);
	admin_init(ctx, &a, NULL);
	rc = vf_admin_audit_verify(ctx->v, &a, audit_problem, &as);
	if (rc == -EACCES) {
		json_object_put(as.arr);
		return say_admin(ctx, c, &a, rc);
	}
	if (as.json) {
		struct json_object *o = json_object_new_object();

		jadd(o, "problems", as.arr);
		jadd_bool(o, "ok", rc == 0);
		jadd_bool(o, "complete", rc >= 0);
		json_print(ctx->out, o);
	} else if (rc == 0)
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

/* ---- posture ------------------------------------------------------------ */

/* Each condition: what it is, and the command that meets it: cmd, the
 * caller's target, args. */
const struct posture_cond posture_conds[VF_PC_COUNT] = {
	[VF_PC_SOFTDELETE] = { "softdelete", "soft delete on",
			       "vaultctl softdelete set", "--on" },
	[VF_PC_ALWAYS_ON] = { "always_on", "soft delete always-on (final)",
			      "vaultctl softdelete set", "--always-on" },
	[VF_PC_IMM_LOCKED] = { "immutable_locked",
			       "immutable vault locked (final)",
			       "vaultctl immutable vault", "--lock" },
	[VF_PC_GUARD] = { "guard", "guard attached", "vaultctl guard attach",
			  "GUARD-PUBLIC-KEY" },
};

const struct posture_weak posture_weak[] = {
	{ VF_PW_LOCAL, "local",
	  "local vault: root on this machine can destroy it (no remote store)" },
	{ VF_PW_NO_STORE_LOCK, "no_store_lock",
	  "remote store without Object Lock: its credentials can delete it" },
	{ VF_PW_PLAIN_HTTP, "plain_http", "remote store over plain HTTP" },
	{ VF_PW_SHORT_LOCK, "short_lock",
	  "store objects locked for less than the soft-delete retention + 7 days (init --lock-period)" },
	{ VF_PW_PASSPHRASE, "passphrase_without_guard",
	  "a passphrase and no guard" },
	{ VF_PW_STOPPED, "protection_stopped",
	  "protection stopped: the vault takes no new backups (vaultctl status; vaultctl protection resume)" },
};
const size_t n_posture_weak = VF_ARRAY_LEN(posture_weak);

struct json_object *posture_json(const struct vf_posture *p,
				 const char *target)
{
	struct json_object *o = json_object_new_object();
	struct json_object *conds = json_object_new_array();
	struct json_object *weak = json_object_new_array();
	char cmdline[PATH_MAX + 64];
	size_t i;
	int k;

	jadd_str(o, "posture", p->name);
	jadd_u64(o, "level", (uint64_t)p->level);
	jadd_str(o, "protection", vf_policy_prot_name(p->prot));
	for (k = 0; k < VF_PC_COUNT; k++) {
		struct json_object *e = json_object_new_object();

		snprintf(cmdline, sizeof(cmdline), "%s %s %s",
			 posture_conds[k].cmd, target, posture_conds[k].args);
		jadd_str(e, "condition", posture_conds[k].key);
		jadd_bool(e, "met", p->met[k]);
		jadd_bool(e, "pending", p->pending[k]);
		jadd_str(e, "would_be", p->would_name[k]);
		jadd_str(e, "command", p->met[k] ? NULL : cmdline);
		jpush(conds, e);
	}
	jadd(o, "conditions", conds);
	for (i = 0; i < n_posture_weak; i++)
		if (p->weak & posture_weak[i].bit)
			jpush(weak, json_object_new_string(posture_weak[i].key));
	jadd(o, "weak", weak);
	return o;
}

void posture_text(FILE *f, const struct vf_posture *p, const char *target)
{
	char cmdline[PATH_MAX + 64];
	size_t i;
	int k;

	fprintf(f, "posture:  %s\n", p->name);
	if (p->prot != VF_PROT_ON)
		fprintf(f, "protection: %s%s\n", vf_policy_prot_name(p->prot),
			p->prot == VF_PROT_DELETE ?
				": its files are soft-deleted, Poor whatever else holds" :
				"");
	for (k = 0; k < VF_PC_COUNT; k++) {
		if (p->met[k]) {
			fprintf(f, "  [x] %s\n", posture_conds[k].what);
			continue;
		}
		fprintf(f, "  [ ] %-32s", posture_conds[k].what);
		snprintf(cmdline, sizeof(cmdline), "%s %s %s",
			 posture_conds[k].cmd, target, posture_conds[k].args);
		fprintf(f, "%s%s%s: ", p->pending[k] ? "pending; " : "",
			p->would[k] > p->level ? "-> " : "   ",
			p->would[k] > p->level ? p->would_name[k] :
						 "(same grade)");
		text_str(f, cmdline);
		fputc('\n', f);
	}
	if (p->level != VF_POSTURE_EXCELLENT)
		fputs("Excellent needs a guard attached, and soft delete always-on or the immutable vault locked\n",
		      f);
	for (i = 0; i < n_posture_weak; i++)
		if (p->weak & posture_weak[i].bit)
			fprintf(f, "weak:     %s\n", posture_weak[i].what);
}

int cmd_posture(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		char **argv)
{
	const char *target = ctx->target ? ctx->target : "TARGET";
	struct vf_posture p;
	struct vf_admin a;
	int json = 0, rc;

	rc = parse_json_only(c, ctx->err, argc, argv, NULL, 0, &json);
	if (rc)
		return rc;
	admin_init(ctx, &a, NULL);
	rc = vf_admin_posture(ctx->v, &a, &p);
	if (rc < 0)
		return say_admin(ctx, c, &a, rc);
	if (json)
		json_print(ctx->out, posture_json(&p, target));
	else
		posture_text(ctx->out, &p, target);
	return 0;
}
