/*
 * cmd_protection.c - vaultctl protection stop | resume (docs/protection.md),
 * and the protection lines of status.  Who may stop, and whether a stop
 * is critical, is core's decision (admin.c, policy.c).
 */
#include <stdio.h>
#include <string.h>

#include "cmd_util.h"

struct json_object *protection_json(const struct vf_protect *p)
{
	struct json_object *o = json_object_new_object();
	char ts[32];

	vf_time_format(p->since, ts);
	jadd_str(o, "state", p->state == VF_PROT_ON     ? "on" :
			     p->state == VF_PROT_RETAIN ? "stopped-retain" :
							  "stopped-delete");
	jadd_str(o, "since", p->state != VF_PROT_ON ? ts : NULL);
	jadd(o, "by_uid",
	     p->state != VF_PROT_ON ? json_object_new_uint64(p->uid) : NULL);
	jadd_bool(o, "deleting", p->pending);
	jadd_u64(o, "deleted_files", p->deleted);
	jadd_u64(o, "kept_immutable_files", p->kept);
	return o;
}

void protection_text(FILE *f, const struct vf_protect *p)
{
	char ts[32];

	if (p->state == VF_PROT_ON) {
		fputs("protection:     on\n", f);
		return;
	}
	vf_time_format(p->since, ts);
	fprintf(f, "protection:     %s since %s by uid %lu: read-only for everyone; purges and prune go on\n",
		vf_policy_prot_name(p->state), ts, (unsigned long)p->uid);
	if (p->state != VF_PROT_DELETE)
		return;
	fprintf(f, "deleted:        %llu files soft-deleted%s; %llu files in immutable directories not deleted\n",
		(unsigned long long)p->deleted,
		p->pending ? " so far (still deleting)" : "",
		(unsigned long long)p->kept);
}

int cmd_protection_stop(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
			char **argv)
{
	const char *token = NULL;
	int retain = 0, del = 0, json = 0, rc;
	const struct opt opts[] = {
		{ "--retain", NULL, &retain },
		{ "--delete", NULL, &del },
		{ "--approval", &token, NULL },
		{ "--json", NULL, &json },
		{ NULL, NULL, NULL },
	};
	struct vf_protect p;
	struct vf_admin a;

	rc = parse_args(c, ctx->err, argc, argv, opts, NULL, 0, 0);
	if (!rc && retain == del)
		rc = usage_error(ctx->err, c,
				 "protection stop: give --retain or --delete");
	if (!rc)
		rc = check_token(ctx, c, token);
	if (rc)
		return rc;
	admin_init(ctx, &a, token);
	rc = vf_admin_protection_stop(ctx->v, &a,
				      del ? VF_PROT_DELETE : VF_PROT_RETAIN,
				      &p);
	if (rc < 0)
		return say_admin(ctx, c, &a, rc);
	if (json) {
		json_print(ctx->out, protection_json(&p));
		return 0;
	}
	fprintf(ctx->out, "protection stopped (%s): the vault is read-only for everyone until vaultctl protection resume; purges and prune go on\n",
		del ? "delete" : "retain");
	if (del)
		fprintf(ctx->out, "%llu files soft-deleted (in .softdeleted until their purge time); %llu files in immutable directories not deleted\n",
			(unsigned long long)p.deleted,
			(unsigned long long)p.kept);
	return 0;
}

int cmd_protection_resume(struct vf_cmd_ctx *ctx, const struct cmd *c,
			  int argc, char **argv)
{
	struct vf_protect was;
	struct vf_admin a;
	int json = 0, rc;

	rc = parse_json_only(c, ctx->err, argc, argv, NULL, 0, &json);
	if (rc)
		return rc;
	admin_init(ctx, &a, NULL);
	rc = vf_admin_protection_resume(ctx->v, &a, &was);
	if (rc < 0)
		return say_admin(ctx, c, &a, rc);
	if (json) {
		struct json_object *o = json_object_new_object();

		jadd_bool(o, "resumed", 1);
		jadd(o, "was", protection_json(&was));
		json_print(ctx->out, o);
		return 0;
	}
	fprintf(ctx->out, "protection resumed (it was stopped with --%s): writing works again\n",
		was.state == VF_PROT_DELETE ? "delete" : "retain");
	if (was.state == VF_PROT_DELETE)
		fputs("what stop --delete deleted stays in .softdeleted until its purge time (vaultctl undelete)\n",
		      ctx->out);
	return 0;
}
