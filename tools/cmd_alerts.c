/*
 * cmd_alerts.c - vaultctl alerts list | show | ack: the alerts core keeps
 * in the audit log (core/alert.h), with whether each was acknowledged.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_util.h"

/* The ids acknowledged so far (from "alert ack" records, target "#ID"). */
struct acks {
	int64_t *id;
	size_t n, cap;
	int64_t want;          /* show: the alert asked for (0: list) */
	struct list_state *ls;
	uint32_t by;           /* show: who acknowledged want */
	int64_t when;
	int shown;
};

static int ack_add(struct acks *k, const struct vf_event *r)
{
	char *end;
	long long id;

	if (!r->target || r->target[0] != '#')
		return 0;
	errno = 0;
	id = strtoll(r->target + 1, &end, 10);
	if (errno || *end || id <= 0)
		return 0;
	if (id == k->want) {
		k->by = r->uid;
		k->when = r->t;
	}
	if (k->n == k->cap) {
		size_t cap = k->cap ? 2 * k->cap : 64;
		int64_t *p = realloc(k->id, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		k->id = p;
		k->cap = cap;
	}
	k->id[k->n++] = id;
	return 0;
}

static int collect_acks(void *arg, const struct vf_event *r)
{
	return strcmp(r->action, "alert ack") ? 0 : ack_add(arg, r);
}

static int acked(const struct acks *k, int64_t id)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		if (k->id[i] == id)
			return 1;
	return 0;
}

static int print_alert(void *arg, const struct vf_event *r)
{
	struct acks *k = arg;
	struct list_state *ls = k->ls;
	int is_acked;
	char ts[32];

	if (strcmp(r->action, "alert") || (k->want && r->id != k->want))
		return 0;
	is_acked = acked(k, r->id);
	vf_time_format(r->t, ts);
	if (ls->json) {
		struct json_object *o = json_object_new_object();

		jadd_i64(o, "id", r->id);
		jadd_str(o, "time", ts);
		jadd_str(o, "severity", r->result);
		jadd_str(o, "kind", r->target);
		jadd(o, "uid", r->uid == VF_AUDIT_UID_NONE ?
				       NULL :
				       json_object_new_uint64(r->uid));
		jadd_str(o, "what", r->detail);
		jadd_bool(o, "acknowledged", is_acked);
		jpush(ls->arr, o);
	} else if (k->want) {
		fprintf(ls->out, "alert:        #%lld\ntime:         %s\nseverity:     ",
			(long long)r->id, ts);
		text_str(ls->out, r->result);
		fputs("\nkind:         ", ls->out);
		text_str(ls->out, r->target ? r->target : "-");
		if (r->uid == VF_AUDIT_UID_NONE)
			fputs("\nuid:          -\nwhat:         ", ls->out);
		else
			fprintf(ls->out, "\nuid:          %lu\nwhat:         ",
				(unsigned long)r->uid);
		text_str(ls->out, r->detail ? r->detail : "-");
		if (is_acked) {
			vf_time_format(k->when, ts);
			fprintf(ls->out, "\nacknowledged: %s by uid %lu\n", ts,
				(unsigned long)k->by);
		} else {
			fputs("\nacknowledged: no\n", ls->out);
		}
	} else {
		fprintf(ls->out, "%lld\t%s\t", (long long)r->id, ts);
		text_str(ls->out, r->result);
		fputc('\t', ls->out);
		text_str(ls->out, r->target ? r->target : "-");
		if (r->uid == VF_AUDIT_UID_NONE)
			fputs("\t-", ls->out);
		else
			fprintf(ls->out, "\t%lu", (unsigned long)r->uid);
		fprintf(ls->out, "\t%s\t", is_acked ? "acked" : "new");
		text_str(ls->out, r->detail ? r->detail : "-");
		fputc('\n', ls->out);
	}
	k->shown = 1;
	ls->n++;
	return 0;
}

/* Lists (want 0) or shows one alert: the acks first, then the alerts. */
static int list_alerts(struct vf_cmd_ctx *ctx, const struct cmd *c,
		       struct list_state *ls, int64_t since, int64_t want)
{
	struct acks k = { .want = want, .ls = ls };
	struct vf_admin a;
	int rc;

	list_begin(ls);
	admin_init(ctx, &a, NULL);
	/* acks come after their alert: read them all first */
	rc = vf_admin_alerts(ctx->v, &a, INT64_MIN, collect_acks, &k);
	if (rc >= 0)
		rc = vf_admin_alerts(ctx->v, &a, since, print_alert, &k);
	free(k.id);
	if (rc >= 0 && want && !k.shown) {
		json_object_put(ls->arr);
		fprintf(ctx->err, "vaultctl: no alert #%lld\n", (long long)want);
		return 1;
	}
	if (want && ls->json && rc >= 0) {
		/* one object, not a list of one */
		json_print(ls->out, json_object_get(
					    json_object_array_get_idx(ls->arr, 0)));
		json_object_put(ls->arr);
		return 0;
	}
	if (want && rc >= 0) {
		json_object_put(ls->arr);
		return 0;
	}
	return list_end_admin(ctx, c, ls, &a, rc);
}

int cmd_alerts_list(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		    char **argv)
{
	struct list_state ls = { .out = ctx->out };
	const char *since_s = NULL;
	const struct opt opts[] = {
		{ "--since", &since_s, NULL },
		{ "--json", NULL, &ls.json },
		{ NULL, NULL, NULL },
	};
	int64_t since;
	int rc;

	rc = parse_args(c, ctx->err, argc, argv, opts, NULL, 0, 0);
	if (!rc)
		rc = parse_since(ctx, c, since_s, &since);
	if (rc)
		return rc;
	return list_alerts(ctx, c, &ls, since, 0);
}

static int parse_id(struct vf_cmd_ctx *ctx, const struct cmd *c,
		    const char *s, int64_t *id)
{
	char *end;

	errno = 0;
	*id = strtoll(s[0] == '#' ? s + 1 : s, &end, 10);
	if (errno || *end || *id <= 0 || end == s)
		return usage_error(ctx->err, c, "alerts: '%s' is not an alert id (a number, as alerts list prints it)",
				   s);
	return 0;
}

int cmd_alerts_show(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		    char **argv)
{
	struct list_state ls = { .out = ctx->out };
	char *pos[1];
	int64_t id;
	int rc;

	rc = parse_json_only(c, ctx->err, argc, argv, pos, 1, &ls.json);
	if (!rc)
		rc = parse_id(ctx, c, pos[0], &id);
	if (rc)
		return rc;
	return list_alerts(ctx, c, &ls, INT64_MIN, id);
}

int cmd_alerts_ack(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		   char **argv)
{
	struct vf_admin a;
	char *pos[1];
	int64_t id;
	int json = 0, rc;

	rc = parse_json_only(c, ctx->err, argc, argv, pos, 1, &json);
	if (!rc)
		rc = parse_id(ctx, c, pos[0], &id);
	if (rc)
		return rc;
	admin_init(ctx, &a, NULL);
	rc = vf_admin_alert_ack(ctx->v, &a, id);
	if (rc < 0)
		return say_admin(ctx, c, &a, rc);
	if (json) {
		struct json_object *o = json_object_new_object();

		jadd_i64(o, "id", id);
		jadd_bool(o, "acknowledged", 1);
		json_print(ctx->out, o);
	} else {
		fprintf(ctx->out, "alert #%lld acknowledged\n", (long long)id);
	}
	return 0;
}

/* alerts mute TARGET: lists the muted kinds; with KIND --for DURATION
 * mutes it (critical), with KIND --off unmutes it. */
int cmd_alerts_mute(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		    char **argv)
{
	const char *for_s = NULL, *token = NULL;
	int off = 0, json = 0, kind = -1, k, rc, shown = 0;
	const struct opt opts[] = {
		{ "--for", &for_s, NULL },
		{ "--off", NULL, &off },
		{ "--approval", &token, NULL },
		{ "--json", NULL, &json },
		{ NULL, NULL, NULL },
	};
	int64_t dur = 0, until = 0, all[VF_ALERT_KIND_COUNT];
	char *pos[1] = { NULL }, when[32];
	struct json_object *o;
	struct vf_admin a;

	rc = parse_args(c, ctx->err, argc, argv, opts, pos, 0, 1);
	if (rc)
		return rc;
	if (!pos[0] && (for_s || off || token))
		return usage_error(ctx->err, c, "alerts mute: name the KIND to mute or unmute");
	if (pos[0] && !!for_s + off != 1)
		return usage_error(ctx->err, c, "alerts mute: give exactly one of --for, --off");
	if (pos[0] && (kind = vf_alert_kind_parse(pos[0])) < 0)
		return usage_error(ctx->err, c, "alerts mute: no kind of alert is called '%s'",
				   pos[0]);
	if (for_s && (parse_duration(for_s, &dur) || dur <= 0))
		return usage_error(ctx->err, c, "alerts mute: bad duration '%s' (e.g. 2h, 1d)",
				   for_s);
	rc = check_token(ctx, c, token);
	if (rc)
		return rc;
	admin_init(ctx, &a, token);
	if (kind >= 0) {
		rc = vf_admin_alert_mute(ctx->v, &a, kind, dur, &until);
		memset(all, 0, sizeof(all));
		all[kind] = until;
	} else {
		rc = vf_admin_alert_mutes(ctx->v, &a, all);
	}
	if (rc < 0)
		return say_admin(ctx, c, &a, rc);
	o = json ? json_object_new_object() : NULL;
	for (k = 0; k < VF_ALERT_KIND_COUNT; k++) {
		if (kind >= 0 && k != kind)
			continue;
		if (!all[k] && kind < 0)
			continue;
		shown++;
		if (all[k])
			vf_time_format(all[k], when);
		if (o)
			jadd_str(o, vf_alert_kind_name(k), all[k] ? when : NULL);
		else if (all[k])
			fprintf(ctx->out, "%s muted until %s\n",
				vf_alert_kind_name(k), when);
		else
			fprintf(ctx->out, "%s not muted\n", vf_alert_kind_name(k));
	}
	if (o)
		json_print(ctx->out, o);
	else if (!shown)
		fprintf(ctx->out, "no kind of alert is muted\n");
	return 0;
}
