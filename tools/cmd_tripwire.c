/*
 * cmd_tripwire.c - vaultctl tripwire status | release | set |
 * mark-false-positive: the ransomware tripwire (core/trip.h); whether a
 * change is critical is core's decision.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd_util.h"

static void print_time(FILE *f, const char *label, int64_t t)
{
	char ts[32];

	vf_time_format(t, ts);
	fprintf(f, "%s%s\n", label, ts);
}

int cmd_tripwire_status(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
			char **argv)
{
	struct vf_trip_status st;
	struct vf_admin a;
	char ts[32];
	size_t i;
	int json = 0, rc;

	rc = parse_json_only(c, ctx->err, argc, argv, NULL, 0, &json);
	if (rc)
		return rc;
	admin_init(ctx, &a, NULL);
	rc = vf_admin_trip_status(ctx->v, &a, &st);
	if (rc < 0)
		return say_admin(ctx, c, &a, rc);
	if (json) {
		struct json_object *o = json_object_new_object();
		struct json_object *ex = json_object_new_array();

		jadd_str(o, "sensitivity", vf_policy_trip_sens_name(st.s.sens));
		jadd_u64(o, "threshold", st.threshold);
		jadd_bool(o, "learning", st.learning);
		vf_time_format(st.s.learn_until, ts);
		jadd(o, "learning_until", st.learning ? jstr(ts) : NULL);
		jadd_u64(o, "learned_peak", st.s.peak);
		jadd_u64(o, "highest_score", st.high_score);
		jadd_bool(o, "frozen", st.frozen_at != 0);
		vf_time_format(st.frozen_at, ts);
		jadd(o, "frozen_since", st.frozen_at ? jstr(ts) : NULL);
		vf_time_format(st.snap_at, ts);
		jadd(o, "snapshot", st.snap_at ? jstr(ts) : NULL);
		jadd(o, "fired_uid",
		     st.snap_at ? json_object_new_uint64(st.fired_uid) : NULL);
		jadd(o, "fired_score",
		     st.snap_at ? json_object_new_uint64(st.fired_score) :
				  NULL);
		for (i = 0; i < st.n_exempt; i++) {
			struct json_object *e = json_object_new_object();

			if (st.exempt[i].is_ext)
				jadd_str(e, "ext", st.exempt[i].ext);
			else
				jadd_u64(e, "uid", st.exempt[i].uid);
			vf_time_format(st.exempt[i].until, ts);
			jadd_str(e, "until", ts);
			jpush(ex, e);
		}
		jadd(o, "false_positives", ex);
		json_print(ctx->out, o);
		return 0;
	}
	fprintf(ctx->out, "sensitivity:  %s (fires at score %u)\n",
		vf_policy_trip_sens_name(st.s.sens), st.threshold);
	fprintf(ctx->out, "highest:      score %u since the mount\n",
		st.high_score);
	if (st.learning)
		print_time(ctx->out, "learning:     until ", st.s.learn_until);
	else
		fputs("learning:     no\n", ctx->out);
	if (st.frozen_at) {
		vf_time_format(st.frozen_at, ts);
		fprintf(ctx->out, "state:        frozen by tripwire since %s (uid %lu, score %u): nothing is purged, pruned or collected until vaultctl tripwire release\n",
			ts, (unsigned long)st.fired_uid, st.fired_score);
	} else {
		fputs("state:        armed\n", ctx->out);
	}
	if (st.snap_at) {
		vf_time_format(st.snap_at, ts);
		fprintf(ctx->out, "snapshot:     .snapshots/%s (tagged tripwire-%s)\n",
			ts, ts);
	}
	for (i = 0; i < st.n_exempt; i++) {
		vf_time_format(st.exempt[i].until, ts);
		if (st.exempt[i].is_ext)
			fprintf(ctx->out, "exempt:       renames to .%s until %s\n",
				st.exempt[i].ext, ts);
		else
			fprintf(ctx->out, "exempt:       uid %lu until %s\n",
				(unsigned long)st.exempt[i].uid, ts);
	}
	return 0;
}

int cmd_tripwire_release(struct vf_cmd_ctx *ctx, const struct cmd *c,
			 int argc, char **argv)
{
	const char *token = NULL;
	int json = 0, rc;
	struct vf_admin a;
	int64_t since = 0;
	char ts[32];

	rc = parse_approval_json(ctx, c, argc, argv, NULL, 0, &token, &json);
	if (rc)
		return rc;
	admin_init(ctx, &a, token);
	rc = vf_admin_trip_release(ctx->v, &a, &since);
	if (rc < 0)
		return say_admin(ctx, c, &a, rc);
	vf_time_format(since, ts);
	if (json) {
		struct json_object *o = json_object_new_object();

		jadd_bool(o, "released", 1);
		jadd_str(o, "frozen_since", ts);
		json_print(ctx->out, o);
	} else {
		fprintf(ctx->out, "tripwire released (frozen since %s): purges, prune and gc run again\n",
			ts);
	}
	return 0;
}

int cmd_tripwire_set(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		     char **argv)
{
	const char *sens_s = NULL, *learn_s = NULL, *token = NULL;
	int json = 0, rc;
	const struct opt opts[] = {
		{ "--sensitivity", &sens_s, NULL },
		{ "--learning", &learn_s, NULL },
		{ "--approval", &token, NULL },
		{ "--json", NULL, &json },
		{ NULL, NULL, NULL },
	};
	enum vf_trip_sens sens = VF_TRIP_MEDIUM;
	struct vf_trip_settings now_s;
	unsigned days = 0;
	struct vf_admin a;
	char ts[32];

	rc = parse_args(c, ctx->err, argc, argv, opts, NULL, 0, 0);
	if (rc)
		return rc;
	if (!sens_s && !learn_s)
		return usage_error(ctx->err, c, "tripwire set: give --sensitivity, --learning or both");
	if (sens_s && vf_policy_trip_sens_parse(sens_s, &sens))
		return usage_error(ctx->err, c, "tripwire set: '%s' is not a sensitivity (off, low, medium, high)",
				   sens_s);
	if (learn_s) {
		rc = parse_count(c, ctx->err, "--learning", learn_s, &days);
		if (rc)
			return rc;
	}
	rc = check_token(ctx, c, token);
	if (rc)
		return rc;
	admin_init(ctx, &a, token);
	rc = vf_admin_trip_set(ctx->v, &a, sens_s != NULL, sens,
			       learn_s != NULL, days, &now_s);
	if (rc < 0)
		return say_admin(ctx, c, &a, rc);
	vf_time_format(now_s.learn_until, ts);
	if (json) {
		struct json_object *o = json_object_new_object();

		jadd_str(o, "sensitivity", vf_policy_trip_sens_name(now_s.sens));
		jadd(o, "learning_until", now_s.learn_until ? jstr(ts) : NULL);
		json_print(ctx->out, o);
	} else {
		fprintf(ctx->out, "tripwire: sensitivity %s, %s%s\n",
			vf_policy_trip_sens_name(now_s.sens),
			now_s.learn_until ? "learning until " : "not learning",
			now_s.learn_until ? ts : "");
	}
	return 0;
}

/* --ext: the extension without its dot, at most VF_TRIP_EXT_MAX bytes of
 * letters and digits, lower-cased into out.  0 or 2 (usage). */
static int parse_ext(struct vf_cmd_ctx *ctx, const struct cmd *c,
		     const char *s, char out[VF_TRIP_EXT_MAX + 1])
{
	size_t i;

	if (*s == '.')
		s++;
	for (i = 0; s[i]; i++)
		if (i == VF_TRIP_EXT_MAX || !isalnum((unsigned char)s[i]))
			break;
	if (!i || s[i])
		return usage_error(ctx->err, c, "tripwire mark-false-positive: '%s' is not an extension (1 to %d letters or digits)",
				   s, VF_TRIP_EXT_MAX);
	for (i = 0; s[i]; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[i] = '\0';
	return 0;
}

int cmd_tripwire_fp(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		    char **argv)
{
	const char *uid_s = NULL, *ext_s = NULL, *days_s = NULL, *token = NULL;
	int json = 0, rc;
	const struct opt opts[] = {
		{ "--uid", &uid_s, NULL },
		{ "--ext", &ext_s, NULL },
		{ "--days", &days_s, NULL },
		{ "--approval", &token, NULL },
		{ "--json", NULL, &json },
		{ NULL, NULL, NULL },
	};
	struct vf_trip_exempt e;
	unsigned days = 30;
	struct vf_admin a;

	memset(&e, 0, sizeof(e));
	rc = parse_args(c, ctx->err, argc, argv, opts, NULL, 0, 0);
	if (rc)
		return rc;
	if (!!uid_s + !!ext_s != 1)
		return usage_error(ctx->err, c, "tripwire mark-false-positive: give exactly one of --uid, --ext");
	if (uid_s)
		rc = parse_count(c, ctx->err, "--uid", uid_s, &e.uid);
	else
		rc = parse_ext(ctx, c, ext_s, e.ext);
	e.is_ext = ext_s != NULL;
	if (!rc && days_s)
		rc = parse_count(c, ctx->err, "--days", days_s, &days);
	if (!rc)
		rc = check_token(ctx, c, token);
	if (rc)
		return rc;
	admin_init(ctx, &a, token);
	rc = vf_admin_trip_exempt(ctx->v, &a, &e, days);
	if (rc < 0)
		return say_admin(ctx, c, &a, rc);
	if (json) {
		struct json_object *o = json_object_new_object();

		if (e.is_ext)
			jadd_str(o, "ext", e.ext);
		else
			jadd_u64(o, "uid", e.uid);
		jadd_u64(o, "days", days);
		json_print(ctx->out, o);
	} else if (e.is_ext) {
		fprintf(ctx->out, "tripwire: renames to .%s do not count for %u days\n",
			e.ext, days);
	} else {
		fprintf(ctx->out, "tripwire: uid %lu does not count for %u days\n",
			(unsigned long)e.uid, days);
	}
	return 0;
}
