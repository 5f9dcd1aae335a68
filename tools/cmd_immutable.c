/*
 * cmd_immutable.c - immutability (README.md, Immutability): set, lock, unlock, clear,
 * list, vault.
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


/* Prints a lock's state as of now: "none", "pending until T" or "final
 * since T"; in JSON (o not NULL) adds the fields "lock" and "lock_at" to
 * o instead. */
static void print_lock(FILE *f, struct json_object *o, int64_t lock_at,
		       int64_t now)
{
	int state = vf_admin_lock_state(lock_at, now);
	char ts[32];

	vf_time_format(lock_at, ts);
	if (o) {
		jadd_str(o, "lock",
			 state == 0 ? "none" : state == 1 ? "pending" : "final");
		jadd_str(o, "lock_at", state ? ts : NULL);
		return;
	}
	if (state == 0)
		fputs("none", f);
	else
		fprintf(f, "%s %s", state == 1 ? "pending until" : "final since",
			ts);
}

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

/* Prints one rule: "DIR<TAB>days<TAB>lock"; with json, returns it as a
 * JSON object instead (caller puts it), printing nothing. */
static struct json_object *imm_print(FILE *f, const char *path,
				     unsigned days, int64_t lock_at,
				     int64_t set_at, int64_t now, int json)
{
	struct json_object *o;
	char ts[32];

	if (!*path)
		path = "/";
	vf_time_format(set_at, ts);
	if (json) {
		o = json_object_new_object();
		jadd_str(o, "path", path);
		jadd(o, "days", days ? json_object_new_uint64(days) : NULL);
		print_lock(f, o, lock_at, now);
		jadd_str(o, "set_at", ts);
		return o;
	}
	text_str(f, path);
	if (days)
		fprintf(f, "\t%u\t", days);
	else
		fputs("\tforever\t", f);
	print_lock(f, NULL, lock_at, now);
	fputc('\n', f);
	return NULL;
}

/* set and lock: makes dir immutable or changes its rule, then prints it.
 * Whether the change is critical or refused is core's decision. */
static int imm_set(struct vf_cmd_ctx *ctx, const struct cmd *c,
		   const char *arg, int have_days, unsigned days, int lock,
		   const char *token, int json)
{
	struct json_object *o;
	struct vf_imm_state r;
	struct vf_admin a;
	char *dir;
	int rc, ret = 1;

	dir = imm_dir(ctx, c, arg, &ret);
	if (!dir)
		return ret;
	admin_init(ctx, &a, token);
	rc = vf_admin_immutable_set(ctx->v, &a, dir, have_days, days, lock,
				    &r);
	if (rc < 0) {
		ret = say_admin(ctx, c, &a, rc);
		goto out;
	}
	o = imm_print(ctx->out, dir, r.days, r.lock_at, r.set_at,
		      vf_vault_now(ctx->v), json);
	if (json)
		json_print(ctx->out, o);
	ret = 0;
out:
	free(dir);
	return ret;
}

int cmd_immutable_set(struct vf_cmd_ctx *ctx, const struct cmd *c,
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

int cmd_immutable_lock(struct vf_cmd_ctx *ctx, const struct cmd *c,
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
	int json = 0;
	struct vf_admin a;
	int rc, ret = 1;

	rc = parse_approval_json(ctx, c, argc, argv, pos, 1, &token, &json);
	if (rc)
		return rc;
	dir = imm_dir(ctx, c, pos[0], &ret);
	if (!dir)
		return ret;
	admin_init(ctx, &a, token);
	rc = vf_admin_immutable_clear(ctx->v, &a, dir, unlock_only);
	if (rc < 0) {
		ret = say_admin(ctx, c, &a, rc);
		goto out;
	}
	if (json) {
		struct json_object *o = json_object_new_object();

		jadd_str(o, "path", *dir ? dir : "/");
		jadd_bool(o, "immutable", unlock_only);
		jadd_str(o, "lock", "none");
		json_print(ctx->out, o);
	} else {
		fputc('\'', ctx->out);
		text_str(ctx->out, *dir ? dir : "/");
		fputs(unlock_only ?
			      "': pending lock cancelled (still immutable)\n" :
			      "' is no longer immutable\n",
		      ctx->out);
	}
	ret = 0;
out:
	free(dir);
	return ret;
}

int cmd_immutable_unlock(struct vf_cmd_ctx *ctx, const struct cmd *c,
			 int argc, char **argv)
{
	return imm_clear(ctx, c, argc, argv, 1);
}

int cmd_immutable_clear(struct vf_cmd_ctx *ctx, const struct cmd *c,
			int argc, char **argv)
{
	return imm_clear(ctx, c, argc, argv, 0);
}

static int imm_list_rule(void *arg, const struct vf_imm_rule *r)
{
	struct list_state *ls = arg;
	struct json_object *o;

	o = imm_print(ls->out, r->path, r->days, r->lock_at, r->set_at,
		      ls->now, ls->json);
	if (ls->json)
		jpush(ls->arr, o);
	ls->n++;
	return 0;
}

int cmd_immutable_list(struct vf_cmd_ctx *ctx, const struct cmd *c,
		       int argc, char **argv)
{
	struct list_state ls = { .out = ctx->out };
	struct vf_admin a;
	int rc;

	rc = parse_json_only(c, ctx->err, argc, argv, NULL, 0, &ls.json);
	if (rc)
		return rc;
	ls.now = vf_vault_now(ctx->v);
	list_begin(&ls);
	admin_init(ctx, &a, NULL);
	rc = vf_admin_immutable_list(ctx->v, &a, imm_list_rule, &ls);
	return list_end_admin(ctx, c, &ls, &a, rc);
}

static void print_imm_vault(FILE *f, const struct vf_imm_vault *iv,
			    int64_t now, int json)
{
	if (json) {
		struct json_object *o = json_object_new_object();

		jadd_bool(o, "on", iv->on);
		print_lock(f, o, iv->lock_at, now);
		json_print(f, o);
		return;
	}
	fprintf(f, "immutable vault: %s\nlock:            ",
		iv->on ? "on" : "off");
	print_lock(f, NULL, iv->lock_at, now);
	fputc('\n', f);
}

int cmd_immutable_vault(struct vf_cmd_ctx *ctx, const struct cmd *c,
			int argc, char **argv)
{
	const char *token = NULL;
	int lock = 0, off = 0, cancel = 0, show = 0, json = 0, rc;
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
	struct vf_admin a;

	rc = parse_args(c, ctx->err, argc, argv, opts, NULL, 0, 0);
	if (!rc)
		rc = check_token(ctx, c, token);
	if (rc)
		return rc;
	if (lock + off + cancel + show > 1)
		return usage_error(ctx->err, c, "immutable vault: give at most one of --lock, --off, --cancel-lock, --show");
	memset(&iv, 0, sizeof(iv));
	admin_init(ctx, &a, token);
	/* Looking needs Reader, any change Contributor; whether a change is
	 * critical or refused is core's decision. */
	if (show)
		rc = vf_admin_immutable_vault_get(ctx->v, &a, &iv);
	else
		rc = vf_admin_immutable_vault_set(ctx->v, &a,
						  off	 ? VF_IV_OFF :
						  cancel ? VF_IV_CANCEL :
						  lock	 ? VF_IV_LOCK :
							   VF_IV_ON,
						  &iv);
	if (rc < 0)
		return say_admin(ctx, c, &a, rc);
	print_imm_vault(ctx->out, &iv, vf_vault_now(ctx->v), json);
	return 0;
}
