/*
 * cmd_vault.c - vault-wide commands: init, recover, sync, help, status,
 * check.
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

#include <sodium.h>

#include "cmd_util.h"
#include "progress.h"
#include "cmds.h"
#include "remote.h"
#include "ship.h"


/* The store options of init and recover, filled by parse_args. */
struct store_args {
	const char *url, *endpoint, *region, *credentials, *profile, *ca_file;
	int allow_http, no_lock;
};

static void store_cfg(const struct store_args *sa, struct vf_store_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->url = sa->url;
	cfg->endpoint = sa->endpoint;
	cfg->region = sa->region;
	cfg->credentials = sa->credentials;
	cfg->profile = sa->profile;
	cfg->ca_file = sa->ca_file;
	cfg->allow_http = sa->allow_http;
	cfg->no_lock = sa->no_lock;
}

int cmd_init(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
	     char **argv)
{
	struct vf_protector_opts o;
	struct store_args sa = { 0 };
	struct vf_store_cfg cfg;
	char *pos[1] = { NULL };
	char err[512] = "", id[2 * VF_VAULT_ID_BYTES + 1] = "", where[4200];
	const char *lock_period = NULL;
	int64_t period = 0;
	char *pass = NULL;
	int rc, json = 0, ask = 0;
	const struct opt opts[] = {
		{ "--passphrase", NULL, &ask },
		{ "--store", &sa.url, NULL },
		{ "--lock-period", &lock_period, NULL },
		{ "--endpoint", &sa.endpoint, NULL },
		{ "--region", &sa.region, NULL },
		{ "--credentials", &sa.credentials, NULL },
		{ "--profile", &sa.profile, NULL },
		{ "--ca-file", &sa.ca_file, NULL },
		{ "--allow-http", NULL, &sa.allow_http },
		{ "--no-lock", NULL, &sa.no_lock },
		{ "--json", NULL, &json },
		{ NULL, NULL, NULL },
	};

	rc = vf_cmds_take_key_opts(&argc, argv, &o, ctx->err);
	if (rc) {
		print_usage(ctx->err, c);
		return rc;
	}
	rc = parse_args(c, ctx->err, argc, argv, opts, pos, 1, 1);
	if (rc)
		return rc;
	if (!sa.url && (sa.endpoint || sa.region || sa.credentials ||
			sa.profile || sa.ca_file || sa.allow_http || sa.no_lock ||
			lock_period))
		return usage_error(ctx->err, c, "init: store options need --store URL");
	if (lock_period && (parse_duration(lock_period, &period) ||
			    period % VF_NS || period <= 0))
		return usage_error(ctx->err, c,
				   "option '--lock-period': '%s' is not a duration in whole seconds (\"90s\", \"10m\", \"30d\")",
				   lock_period);
	if (ask && !vf_protector_is_platform(&o))
		return usage_error(ctx->err, c, "init: --passphrase asks on the terminal; give no other key option");
	/* --passphrase: typed twice on the terminal, never echoed */
	if (ask && tty_passphrase("passphrase", 1, &pass, &o.passphrase_len,
				  ctx->err))
		return 1;
	o.passphrase = pass;
	store_cfg(&sa, &cfg);
	cfg.lock_period_s = period / VF_NS;
	if (sa.url)
		rc = vf_remote_create(pos[0], &o, &cfg, err, sizeof(err));
	else
		rc = vf_vault_create(pos[0], &o, err, sizeof(err));
	if (pass)
		sodium_free(pass);
	o.passphrase = NULL;
	if (rc < 0) {
		if (err[0])
			fprintf(ctx->err, "vaultctl: %s\n", err);
		else
			fprintf(ctx->err, "vaultctl: creating vault '%s' failed: %s\n",
				pos[0], strerror(-rc));
		return 1;
	}
	/* The id and the key's place come from the header: no second
	 * unwrap (an Argon2id run for a passphrase). */
	if (vf_protector_describe(pos[0], &o, id, where, sizeof(where)) < 0)
		snprintf(where, sizeof(where), "unknown (the header cannot be read back)");
	if (json) {
		struct json_object *jo = json_object_new_object();

		jadd_str(jo, "vault", pos[0]);
		jadd_str(jo, "vault_id", id);
		jadd_str(jo, "key", where);
		if (sa.url)
			jadd_str(jo, "store", sa.url);
		json_print(ctx->out, jo);
		return 0;
	}
	if (sa.url)
		fprintf(ctx->out, "created vault at %s, shipped to %s\n",
			pos[0], sa.url);
	else
		fprintf(ctx->out, "created vault at %s\n", pos[0]);
	fprintf(ctx->out, "vault id: %s\nkey:      %s\n", id, where);
	fprintf(ctx->out, "Back up the key now, somewhere off this machine: without it nobody can open this vault or recover it%s.\n",
		sa.url ? " from the store" : "");
	return 0;
}

int cmd_recover(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		char **argv)
{
	struct vf_protector_opts o;
	struct vf_recover_info info;
	struct store_args sa = { 0 };
	struct vf_store_cfg cfg;
	const char *at_s = NULL;
	char *pos[2] = { NULL, NULL };
	char err[512] = "", when[32];
	int64_t at = 0;
	int rc, json = 0;
	const struct opt opts[] = {
		{ "--endpoint", &sa.endpoint, NULL },
		{ "--region", &sa.region, NULL },
		{ "--credentials", &sa.credentials, NULL },
		{ "--profile", &sa.profile, NULL },
		{ "--ca-file", &sa.ca_file, NULL },
		{ "--allow-http", NULL, &sa.allow_http },
		{ "--at", &at_s, NULL },
		{ "--json", NULL, &json },
		{ NULL, NULL, NULL },
	};

	rc = vf_cmds_take_key_opts(&argc, argv, &o, ctx->err);
	if (rc) {
		print_usage(ctx->err, c);
		return rc;
	}
	rc = parse_args(c, ctx->err, argc, argv, opts, pos, 2, 2);
	if (rc)
		return rc;
	if (at_s && (parse_at(at_s, vf_clock_now(), &at) < 0 || at <= 0))
		return usage_error(ctx->err, c, "recover: '%s' is not %s",
				   at_s, AT_FORMS);
	/* --at names a second: everything committed before its end */
	if (at_s)
		at += VF_NS - 1;
	sa.url = pos[0];
	store_cfg(&sa, &cfg);
	rc = vf_remote_recover(&cfg, pos[1], &o, at, &info, err, sizeof(err));
	if (rc < 0) {
		if (err[0])
			fprintf(ctx->err, "vaultctl: %s\n", err);
		else
			fprintf(ctx->err, "vaultctl: recovering '%s' failed: %s\n",
				pos[1], strerror(-rc));
		return 1;
	}
	vf_time_format(info.t, when);
	if (json) {
		struct json_object *jo = json_object_new_object();

		jadd_str(jo, "vault", pos[1]);
		jadd_str(jo, "store", pos[0]);
		jadd_u64(jo, "checkpoint", info.seq);
		jadd_str(jo, "time", when);
		jadd_u64(jo, "packs", info.packs);
		jadd_u64(jo, "bytes", info.bytes);
		jadd_u64(jo, "catalog_bytes", info.catalog_bytes);
		jadd_bool(jo, "detached", info.detached);
		jadd_u64(jo, "skipped", info.skipped);
		jadd_u64(jo, "full_checkpoint", info.full);
		jadd_u64(jo, "segments", info.segments);
		jadd(jo, "chain_broken_at",
		     info.broken ? json_object_new_int64((int64_t)info.broken) :
				   NULL);
		jadd_str(jo, "chain_broken", info.broken ? info.why : NULL);
		json_print(ctx->out, jo);
		return 0;
	}
	fprintf(ctx->out, "recovered vault at %s from %s: checkpoint %llu of %s, %llu packs, %llu bytes\n",
		pos[1], pos[0], (unsigned long long)info.seq, when,
		(unsigned long long)info.packs,
		(unsigned long long)info.bytes);
	if (info.segments || info.broken)
		fprintf(ctx->out, "catalog: full checkpoint %llu and %llu segments after it\n",
			(unsigned long long)info.full,
			(unsigned long long)info.segments);
	if (info.broken)
		fprintf(ctx->out, "segment chain broken at %llu: %s; recovered the state before it (%llu)\n",
			(unsigned long long)info.broken, info.why,
			(unsigned long long)info.seq);
	if (info.skipped)
		fprintf(ctx->out, "skipped %llu checkpoints that are not this vault's (time missing or not authentic: someone with the store's credentials added them)\n",
			(unsigned long long)info.skipped);
	if (info.detached)
		fprintf(ctx->out, "detached: this vault does not ship to %s (it would overwrite newer history); it is a local vault now\n",
			pos[0]);
	return 0;
}

int cmd_sync(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
	     char **argv)
{
	const char *tmo = NULL;
	struct vf_admin a;
	unsigned timeout = 300;
	int64_t t0;
	int rc, json = 0;
	const struct opt opts[] = {
		{ "--timeout", &tmo, NULL },
		{ "--json", NULL, &json },
		{ NULL, NULL, NULL },
	};

	rc = parse_args(c, ctx->err, argc, argv, opts, NULL, 0, 0);
	if (rc)
		return rc;
	if (tmo) {
		rc = parse_count(c, ctx->err, "--timeout", tmo, &timeout);
		if (rc)
			return rc;
		if (timeout < 1 || timeout > 86400)
			return usage_error(ctx->err, c, "sync: --timeout must be 1 to 86400 seconds");
	}
	if (!ctx->online) {
		fprintf(ctx->err, "vaultctl: sync needs the mounted vault: run it against the mountpoint\n");
		return 1;
	}
	admin_init(ctx, &a, NULL);
	t0 = vf_clock_mono();
	rc = vf_admin_sync(ctx->v, &a, (int)timeout);
	if (rc < 0)
		return say_admin(ctx, c, &a, rc);
	t0 = (vf_clock_mono() - t0) / 1000000;
	if (json) {
		struct json_object *jo = json_object_new_object();

		jadd_bool(jo, "synced", 1);
		jadd_i64(jo, "ms", t0);
		json_print(ctx->out, jo);
	} else {
		fprintf(ctx->out, "synced in %lld ms\n", (long long)t0);
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
	      "you) or a vault directory (offline, as the vault's owner, root; then\n"
	      "the key options apply: --passphrase-file F, --key-file F,\n"
	      "--key-command CMD, --keystore DIR).\n",
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

/* Everything the vault keeps, as files: live, older versions and
 * soft-deleted content (logical bytes, before dedup and compression). */
static uint64_t kept_bytes(const struct vf_status *st)
{
	return st->logical_bytes + st->history_bytes + st->softdeleted_bytes;
}

/* The ratio of what is kept to what is stored, two decimals ("-" when
 * nothing is stored): what dedup and compression save on all of it.
 * Live bytes alone over stored bytes would fall far below 1 after a big
 * deletion, though nothing was lost. */
static void format_ratio(const struct vf_status *st, char *buf, size_t cap)
{
	if (!st->stored_bytes)
		snprintf(buf, cap, "-");
	else
		snprintf(buf, cap, "%.2f",
			 (double)kept_bytes(st) / (double)st->stored_bytes);
}

int cmd_status(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
	       char **argv)
{
	struct vf_ship_status ss;
	struct vf_status st;
	struct vf_admin a;
	char ratio[32], shipped[32], sz[SIZE_TEXT_MAX];
	int json = 0, exact = 0, rc;
	FILE *f = ctx->out;
	const struct opt opts[] = {
		{ "--json", NULL, &json },
		{ "--bytes", NULL, &exact },
		{ NULL, NULL, NULL },
	};

	rc = parse_args(c, ctx->err, argc, argv, opts, NULL, 0, 0);
	if (rc)
		return rc;
	memset(&st, 0, sizeof(st));
	admin_init(ctx, &a, NULL);
	rc = vf_admin_status(ctx->v, &a, &st);
	if (rc < 0)
		return say_admin(ctx, c, &a, rc);
	vf_ship_status(ctx->v, &ss);
	if (ss.shipped_t)
		vf_time_format(ss.shipped_t, shipped);
	else
		snprintf(shipped, sizeof(shipped), "never");
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
		jadd_u64(o, "history_bytes", st.history_bytes);
		jadd_u64(o, "softdeleted_bytes", st.softdeleted_bytes);
		jadd_u64(o, "softdeleted_files", st.softdeleted_files);
		jadd_u64(o, "kept_bytes", kept_bytes(&st));
		jadd_u64(o, "stored_bytes", st.stored_bytes);
		jadd_u64(o, "catalog_bytes", st.catalog_bytes);
		jadd_u64(o, "catalog_wal_bytes", st.catalog_wal_bytes);
		if (st.maint_t) {
			struct json_object *m = json_object_new_object();
			char mt[32];

			vf_time_format(st.maint_t, mt);
			jadd_str(m, "time", mt);
			jadd_bool(m, "ok", st.maint_rc == 0);
			jadd_str(m, "error", st.maint_rc ? strerror(-st.maint_rc) :
							   NULL);
			jadd_u64(m, "pruned_versions", st.maint_pruned);
			jadd_u64(m, "purged_items", st.maint_purged);
			jadd_u64(m, "removed_packs", st.maint_packs);
			if (st.maint_store) {
				jadd_u64(m, "store_deleted", st.maint_store_deleted);
				jadd_u64(m, "store_waiting", st.maint_store_waiting);
			}
			jadd(o, "maintenance", m);
		} else {
			jadd(o, "maintenance", NULL);
		}
		if (st.trip_frozen) {
			char ft[32];

			vf_time_format(st.trip_frozen, ft);
			jadd_str(o, "frozen_by_tripwire_since", ft);
		} else {
			jadd(o, "frozen_by_tripwire_since", NULL);
		}
		jadd(o, "protection", protection_json(&st.prot));
		jadd_u64(o, "data_key_epoch", st.data_epoch);
		if (st.rot_running) {
			struct json_object *r = json_object_new_object();

			jadd_u64(r, "packs_done", st.rot_done);
			jadd_u64(r, "packs_total", st.rot_total);
			jadd(o, "key_rotation", r);
		} else {
			jadd(o, "key_rotation", NULL);
		}
		/* the number as printed, two decimals */
		jadd(o, "ratio",
		     st.stored_bytes ?
			     json_object_new_double_s(
				     (double)kept_bytes(&st) /
					     (double)st.stored_bytes,
				     ratio) :
			     NULL);
		if (ss.remote) {
			struct json_object *r = json_object_new_object();

			jadd_str(r, "url", ss.url);
			jadd_bool(r, "shipping", !ss.offline);
			jadd_u64(r, "checkpoint", ss.seq);
			jadd_str(r, "shipped", ss.shipped_t ? shipped : NULL);
			jadd(r, "lag_ms",
			     ss.offline ? NULL :
					  json_object_new_int64(ss.lag / 1000000));
			jadd_u64(r, "bytes_pending", ss.bytes_pending);
			jadd_u64(r, "packs_shipped", ss.packs_shipped);
			jadd_u64(r, "checkpoints_shipped", ss.ckpts_shipped);
			jadd_u64(r, "bytes_shipped", ss.bytes_shipped);
			jadd_u64(r, "checkpoint_bytes", ss.ckpt_bytes);
			jadd_u64(r, "segments_shipped", ss.segs_shipped);
			jadd_u64(r, "segment_bytes", ss.seg_bytes);
			jadd_i64(r, "checkpoint_ms", ss.ckpt_ms);
			jadd_str(r, "last_error",
				 ss.last_err[0] ? ss.last_err : NULL);
			jadd_bool(r, "object_lock", ss.lock);
			jadd_i64(r, "lock_days", ss.lock_period / 86400);
			jadd(r, "locked_until",
			     ss.lock_horizon > 0 ?
				     json_object_new_int64(ss.lock_horizon) :
				     NULL);
			jadd(o, "store", r);
		}
		json_print(f, o);
		return 0;
	}
	fprintf(f, "vault id:       %s\n", st.vault_id);
	fprintf(f, "files:          %llu\n", (unsigned long long)st.files);
	fprintf(f, "dirs:           %llu\n", (unsigned long long)st.dirs);
	fprintf(f, "versions:       %llu\n", (unsigned long long)st.versions);
	fprintf(f, "chunks:         %llu\n", (unsigned long long)st.chunks);
	fprintf(f, "packs:          %llu\n", (unsigned long long)st.packs);
	fprintf(f, "live:           %s (current content of live files)\n",
		size_text(st.logical_bytes, exact, sz));
	fprintf(f, "history:        %s (older versions)\n",
		size_text(st.history_bytes, exact, sz));
	fprintf(f, "soft-deleted:   %s (%llu files)\n",
		size_text(st.softdeleted_bytes, exact, sz),
		(unsigned long long)st.softdeleted_files);
	fprintf(f, "stored:         %s (in packs, after dedup and compression)\n",
		size_text(st.stored_bytes, exact, sz));
	fprintf(f, "catalog:        %s", size_text(st.catalog_bytes, exact, sz));
	fprintf(f, " (write-ahead log %s)\n",
		size_text(st.catalog_wal_bytes, exact, sz));
	fprintf(f, "ratio:          %s (kept/stored: live, history and soft-deleted over stored)\n",
		ratio);
	if (!st.maint_t) {
		fprintf(f, "maintenance:    no run yet\n");
	} else {
		char mt[32], sline[96] = "";

		vf_time_format(st.maint_t, mt);
		if (st.maint_store)
			snprintf(sline, sizeof(sline),
				 "; store: deleted %llu objects, %llu waiting for their lock",
				 (unsigned long long)st.maint_store_deleted,
				 (unsigned long long)st.maint_store_waiting);
		if (st.maint_rc)
			fprintf(f, "maintenance:    last run %s failed: %s\n", mt,
				strerror(-st.maint_rc));
		else
			fprintf(f, "maintenance:    last run %s ok: pruned %llu versions, purged %llu items, removed %llu packs%s\n",
				mt, (unsigned long long)st.maint_pruned,
				(unsigned long long)st.maint_purged,
				(unsigned long long)st.maint_packs, sline);
	}
	if (st.trip_frozen) {
		char ft[32];

		vf_time_format(st.trip_frozen, ft);
		fprintf(f, "maintenance:    frozen by tripwire since %s (vaultctl tripwire status)\n",
			ft);
	}
	protection_text(f, &st.prot);
	if (st.rot_running)
		fprintf(f, "key rotation:   %llu of %llu packs re-encrypted (data key epoch %u)\n",
			(unsigned long long)st.rot_done,
			(unsigned long long)st.rot_total,
			(unsigned)st.data_epoch);
	if (!ss.remote)
		return 0;
	fprintf(f, "store:          %s\n", ss.url);
	fprintf(f, "last shipped:   %s (sequence %llu; last full checkpoint %s)\n",
		shipped, (unsigned long long)ss.seq,
		size_text(ss.ckpt_bytes, exact, sz));
	if (ss.offline) {
		fprintf(f, "shipping:       no (not mounted read-write here)\n");
		return 0;
	}
	if (!ss.lock) {
		fprintf(f, "object lock:    none (the store's credentials can delete the vault)\n");
	} else {
		char h[32] = "not yet known";

		if (ss.lock_horizon > 0)
			vf_time_format(ss.lock_horizon * VF_NS, h);
		char per[32], every[32];

		format_duration(ss.lock_period * VF_NS, per, sizeof(per));
		format_duration(ss.lock_every, every, sizeof(every));
		fprintf(f, "object lock:    COMPLIANCE, %s from each upload, renewed every %s while needed; every needed object locked until at least %s\n",
			per, every, h);
	}
	fprintf(f, "lag:            %lld s\n", (long long)(ss.lag / VF_NS));
	fprintf(f, "bytes pending:  %s\n", size_text(ss.bytes_pending, exact, sz));
	fprintf(f, "shipped:        %llu packs, %llu checkpoints, %llu segments (last %s), ",
		(unsigned long long)ss.packs_shipped,
		(unsigned long long)ss.ckpts_shipped,
		(unsigned long long)ss.segs_shipped,
		size_text(ss.seg_bytes, exact, sz));
	fprintf(f, "%s since mount\n", size_text(ss.bytes_shipped, exact, sz));
	fprintf(f, "store error:    ");
	text_str(f, ss.last_err[0] ? ss.last_err : "none");
	fputc('\n', f);
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
	struct list_state cs = { .out = ctx->out };
	unsigned long long n;
	struct vf_status st;
	struct vf_admin a;
	int read_data = 0, rc, src;
	int accept = 0, prog = 0, noprog = 0, on;
	struct progress pg;
	const struct opt opts[] = {
		{ "--read-data", NULL, &read_data },
		{ "--progress", NULL, &prog },
		{ "--no-progress", NULL, &noprog },
		{ "--json", NULL, &cs.json },
		{ "--accept-rollback", NULL, &accept },
		{ NULL, NULL, NULL },
	};
	FILE *f = ctx->out;

	rc = parse_args(c, ctx->err, argc, argv, opts, NULL, 0, 0);
	if (!rc)
		rc = progress_opts(c, ctx->err, prog, noprog, &on);
	if (rc)
		return rc;
	/* vaultctl takes it out of argv when TARGET is a vault directory
	 * (it decides how the vault is opened): here it came online */
	if (accept)
		return usage_error(ctx->err, c, "check: option '--accept-rollback' applies to a vault directory, not to a mountpoint");
	list_begin(&cs);
	admin_init(ctx, &a, NULL);
	progress_init(&pg, ctx->err, on, cs.json);
	a.progress = progress_cb(&pg);
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
