/*
 * cmd_softdelete.c - soft delete (README.md, Soft delete): show, set, list, purge.
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
		struct json_object *o = json_object_new_object();

		jadd_u64(o, "days", sd->days);
		jadd_bool(o, "on", !sd->off);
		jadd_str(o, "always_on", state);
		jadd_str(o, "always_on_final_at", sd->always_on ? ts : NULL);
		json_print(f, o);
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

int cmd_softdelete_show(struct vf_cmd_ctx *ctx, const struct cmd *c,
			int argc, char **argv)
{
	struct vf_softdelete sd;
	struct vf_admin a;
	int json = 0, rc;

	rc = parse_json_only(c, ctx->err, argc, argv, NULL, 0, &json);
	if (rc)
		return rc;
	memset(&sd, 0, sizeof(sd));
	admin_init(ctx, &a, NULL);
	rc = vf_admin_softdelete_get(ctx->v, &a, &sd);
	if (rc < 0)
		return say_admin(ctx, c, &a, rc);
	print_softdelete(ctx->out, &sd, vf_vault_now(ctx->v), json);
	return 0;
}

int cmd_softdelete_set(struct vf_cmd_ctx *ctx, const struct cmd *c,
		       int argc, char **argv)
{
	const char *days_s = NULL, *token = NULL;
	int on = 0, off = 0, always = 0, cancel = 0, json = 0, rc;
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
	struct vf_softdelete now_sd;
	struct vf_admin a;
	unsigned days = 0;

	rc = parse_args(c, ctx->err, argc, argv, opts, NULL, 0, 0);
	if (rc)
		return rc;
	if (!!days_s + on + off + always + cancel != 1)
		return usage_error(ctx->err, c, "softdelete set: give exactly one of --days, --on, --off, --always-on, --cancel-always-on");
	rc = check_token(ctx, c, token);
	if (!rc && days_s)
		rc = parse_days(ctx->err, days_s, &days);
	if (rc)
		return rc;
	/* Which changes are critical, and which refused whoever approves,
	 * is core's decision (admin.h). */
	admin_init(ctx, &a, token);
	rc = vf_admin_softdelete_set(ctx->v, &a,
				     days_s ? VF_SD_DAYS :
				     on	    ? VF_SD_ON :
				     off    ? VF_SD_OFF :
				     always ? VF_SD_ALWAYS_ON :
					      VF_SD_CANCEL,
				     days, &now_sd);
	if (rc < 0)
		return say_admin(ctx, c, &a, rc);
	print_softdelete(ctx->out, &now_sd, vf_vault_now(ctx->v), json);
	return 0;
}

static int sdlist_item(void *arg, const struct vf_trash_item *it)
{
	struct list_state *ls = arg;
	char del[32], pur[32];
	long long left;

	vf_time_format(it->deleted_at, del);
	vf_time_format(it->purge_at, pur);
	/* days until the purge, a started day counted whole: 14 right
	 * after a deletion with 14 days of retention, 1 on its last day */
	left = it->purge_at > ls->now ?
		       (long long)((it->purge_at - ls->now + DAY_NS - 1) /
				   DAY_NS) :
		       0;
	if (ls->json) {
		struct json_object *o = json_object_new_object();

		jadd_str(o, "path", it->path);
		jadd_str(o, "type", it->is_dir ? "dir" : "file");
		jadd_u64(o, "size", it->size);
		jadd_u64(o, "files", it->files);
		jadd_str(o, "deleted_at", del);
		jadd_str(o, "purge_at", pur);
		jadd_i64(o, "days_left", left);
		jpush(ls->arr, o);
	} else {
		static const char *const head[] = { "SIZE", "DELETED", "PURGE",
						    "DAYS", "PATH" };
		static const int width[] = { 10, 20, 20, 4, 0 };
		char sz[SIZE_TEXT_MAX], days[24];

		if (!ls->n)
			table_head(ls, head, width, 5);
		snprintf(days, sizeof(days), "%lld", left);
		cell(ls, width[0], size_text(it->size, ls->exact, sz));
		cell(ls, width[1], del);
		cell(ls, width[2], pur);
		cell(ls, width[3], days);
		text_str(ls->out, it->path);
		fputs(it->is_dir ? "/\n" : "\n", ls->out);
	}
	ls->n++;
	return 0;
}

int cmd_softdelete_list(struct vf_cmd_ctx *ctx, const struct cmd *c,
			int argc, char **argv)
{
	struct list_state ls = { .out = ctx->out };
	struct vf_admin a;
	int rc;
	const struct opt opts[] = {
		{ "--bytes", NULL, &ls.exact },
		{ "--no-header", NULL, &ls.scripted },
		{ "--json", NULL, &ls.json },
		{ NULL, NULL, NULL },
	};

	rc = parse_args(c, ctx->err, argc, argv, opts, NULL, 0, 0);
	if (rc)
		return rc;
	ls.now = vf_vault_now(ctx->v);
	list_begin(&ls);
	admin_init(ctx, &a, NULL);
	rc = vf_admin_softdelete_list(ctx->v, &a, sdlist_item, &ls);
	return list_end_admin(ctx, c, &ls, &a, rc);
}

int cmd_softdelete_purge(struct vf_cmd_ctx *ctx, const struct cmd *c,
			 int argc, char **argv)
{
	const char *token = NULL, *path;
	char *pos[1] = { NULL };
	int json = 0, rc;
	struct vf_admin a;
	uint64_t n = 0;

	rc = parse_approval_json(ctx, c, argc, argv, pos, 1, &token, &json);
	if (rc)
		return rc;
	path = trash_rel(pos[0]);
	if (!*path)
		return usage_error(ctx->err, c, "softdelete purge: PATH must name an item in .softdeleted");
	if (strlen(path) > VF_PATH_MAX) {
		fprintf(ctx->err, "vaultctl: softdelete purge: PATH is too long\n");
		return 1;
	}
	/* Early purge is critical (README.md, Soft delete); the approval binds the item
	 * that path names now (core's gate, admin.h). */
	admin_init(ctx, &a, token);
	rc = vf_admin_softdelete_purge(ctx->v, &a, path, &n);
	if (rc < 0)
		return say_admin(ctx, c, &a, rc);
	if (json) {
		struct json_object *o = json_object_new_object();

		jadd_str(o, "path", path);
		jadd_u64(o, "purged", n);
		json_print(ctx->out, o);
	} else {
		fputs("purged '", ctx->out);
		text_str(ctx->out, path);
		fprintf(ctx->out, "': %llu item%s removed for good\n",
			(unsigned long long)n, n == 1 ? "" : "s");
	}
	return 0;
}
