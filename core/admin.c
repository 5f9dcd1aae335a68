/*
 * admin.c - the administrative gate (admin.h has the contract).
 *
 * A change runs as:
 *
 *   enter    role check (refusals counted, not logged one by one), then
 *            v->mu and the outer catalog transaction;
 *   decide   the operation's own function reads the current state and the
 *            object it names under that lock and asks policy.c;
 *   approve  a critical change goes to the guard with its canonical
 *            parameters (approve); the nonce of a valid token joins the
 *            transaction;
 *   change   the feature's store function, nested in the transaction;
 *   leave    the audit record joins the transaction, which commits; on
 *            any failure it rolls back and the refusal is recorded in a
 *            transaction of its own, still under v->mu.
 *
 * Security invariants enforced here:
 *   - the role comes from the caller core was given (the kernel's
 *     credentials), never from an argument the caller wrote;
 *   - decision and change see the same state: one lock scope, one
 *     transaction, the object resolved once (node or row id);
 *   - an approval binds the object's identity, not only its name, and
 *     the text the guard reads is exactly the text its signature binds
 *     (bounded_text never needs cutting or escaping);
 *   - nothing changes without its audit record (fails closed).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include <sodium.h>

#include "admin.h"
#include "alert.h"
#include "metrics.h"
#include "report.h"
#include "rotate.h"
#include "audit.h"
#include "authz.h"
#include "datakey.h"
#include "gc.h"
#include "guard.h"
#include "facade.h"
#include "immut.h"
#include "protect.h"
#include "ship.h"
#include "trash.h"
#include "trip.h"
#include "vault_int.h"
#include "vclock.h"

/* The room a name gets in an approval's parameters; the rest of the 256
 * bytes is for ids and numbers. */
#define SHOWN_NAME 120

/* One change on its way through the gate. */
struct change {
	enum vf_admin_op op;
	const struct vf_op_rule *rule;
	int64_t now;         /* the vault clock: for decisions */
	int64_t stamp;       /* records; token expiry (vf_vault_stamp) */
	const char *target;  /* the audit record's target, or NULL */
	char params[VF_GUARD_PARAMS_MAX + 1]; /* what an approval binds */
	const char *gop;     /* the guard's operation, when critical */
	int asked;           /* the guard was asked and said no */
	char approval[VF_GUARD_PARAMS_MAX + VF_ADMIN_WHY_MAX + 64];
	const char *result;  /* of the approval: allowed, requested, refused */
};

void vf_admin_init(struct vf_admin *a, const struct vf_caller *c,
		   const char *approval)
{
	memset(a, 0, sizeof(*a));
	a->caller = *c;
	a->approval = approval;
}

int vf_admin_lock_state(int64_t lock_at, int64_t now)
{
	return vf_policy_lock_state(lock_at, now);
}

static void VF_PRINTF(2, 3) say(struct vf_admin *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(a->why, sizeof(a->why), fmt, ap);
	va_end(ap);
}

/* Prefixes the reason in a->why with the quoted name it concerns. */
static void say_about(struct vf_admin *a, const char *name)
{
	char tmp[VF_ADMIN_WHY_MAX];

	snprintf(tmp, sizeof(tmp), "%s", a->why);
	say(a, "'%s' %s", *name ? name : "/", tmp);
}

/* src as a name the guard can read and its signature binds as it is:
 * printable ASCII but the backslash (anything else becomes '?'), at most
 * cap - 1 bytes, cut with "..." at the end when longer.  The object is
 * bound by its id beside it, so what is cut or replaced loses nothing. */
static void bounded_text(char *dst, size_t cap, const char *src)
{
	size_t i, n = strlen(src);

	for (i = 0; i + 1 < cap && src[i]; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f && src[i] != '\\') ?
				 src[i] :
				 '?';
	if (n >= cap && cap > 4)
		memcpy(dst + cap - 4, "...", 3), i = cap - 1;
	dst[i] = '\0';
}

/* The role check alone: 0, -EACCES (counted) or -EROFS. */
static int allowed(struct vf_vault *v, struct vf_admin *a, enum vf_admin_op op,
		   int64_t now)
{
	const struct vf_op_rule *r = vf_policy_op(op);
	enum vf_role have;

	a->why[0] = a->request[0] = '\0';
	if (!r) {
		say(a, "unknown operation");
		return -EINVAL;
	}
	have = vf_vault_role_of(v, &a->caller);
	if (have < r->least) {
		/* counted, not logged one by one: a flood cannot fill the
		 * log */
		vf_audit_denied(v, a->caller.uid, r->name, now);
		say(a, "%s needs the %s role (you have %s)", r->name,
		    vf_role_name(r->least), vf_role_name(have));
		return -EACCES;
	}
	if (r->changes && v->readonly) {
		say(a, "the vault is mounted read-only");
		return -EROFS;
	}
	return 0;
}

/* The time decisions read: the vault clock (vclock.h), which a wall clock
 * moved before the open moves by at most the credit. */
static int64_t now_of(struct vf_vault *v, const struct vf_admin *a)
{
	return a->now ? a->now : vf_vault_now(v);
}

/* The time records carry and a guard token's expiry is checked against:
 * the later of the wall and vault clocks, so that neither a clock set
 * back nor a vault clock behind the wall keeps a token valid longer. */
static int64_t stamp_of(struct vf_vault *v, const struct vf_admin *a)
{
	return a->now ? a->now : vf_vault_stamp(v);
}

/* Role check, then v->mu and the outer transaction.  On failure nothing
 * is held. */
static int enter(struct vf_vault *v, struct vf_admin *a, enum vf_admin_op op,
		 struct change *ch)
{
	int rc;

	memset(ch, 0, sizeof(*ch));
	ch->op = op;
	ch->rule = vf_policy_op(op);
	ch->now = now_of(v, a);
	ch->stamp = stamp_of(v, a);
	rc = allowed(v, a, op, ch->stamp);
	if (rc)
		return rc;
	vf_vault_lock(v);
	rc = vf_catalog_begin(v->cat);
	if (rc) {
		vf_vault_unlock(v);
		say(a, "cannot start a catalog transaction: %s", strerror(-rc));
	}
	return rc;
}

/* Takes a decision (VF_ALLOW, VF_CRITICAL or -errno, the reason already
 * in a->why) to a verdict: 0 to go on.  A critical change needs the
 * guard's approval of ch->gop with ch->params. */
static int approve(struct vf_vault *v, struct vf_admin *a, struct change *ch,
		   int decision)
{
	char fpr[VF_GUARD_FPRS_TEXT] = "";
	const char *sep = ch->params[0] ? "; " : "";
	int rc;

	if (decision < 0)
		return decision;
	if (decision != VF_CRITICAL)
		return 0;
	rc = vf_guard_authorize(v, a->caller.uid, ch->gop, ch->params,
				a->approval, ch->stamp, a->request,
				sizeof(a->request), a->why, sizeof(a->why),
				fpr);
	if (rc == 0) {
		ch->result = "allowed";
		snprintf(ch->approval, sizeof(ch->approval), "%s%s%s",
			 ch->params, sep,
			 !fpr[0]	       ? "no guard attached" :
			 strchr(fpr, ',') ? "approved by guards " :
					    "approved by guard ");
		if (fpr[0])
			strncat(ch->approval, fpr,
				sizeof(ch->approval) - strlen(ch->approval) - 1);
		/* in the transaction: no approval without its record */
		return vf_audit_record(v, ch->stamp, a->caller.uid, "approval",
				       ch->gop, ch->result, ch->approval);
	}
	ch->asked = 1;
	ch->result = a->request[0] ? "requested" : "refused";
	if (a->request[0])
		snprintf(ch->approval, sizeof(ch->approval),
			 "%s%sno approval given, request %s", ch->params, sep,
			 a->request);
	else
		snprintf(ch->approval, sizeof(ch->approval), "%s%s%s",
			 ch->params, sep, a->why[0] ? a->why : strerror(-rc));
	return rc;
}

static const char *result_of(int rc)
{
	switch (rc) {
	case 0:
		return "ok";
	case -EPERM:
	case -EACCES:
	case -EINVAL:
	case -EROFS:
	case -EBUSY:
	case -ENOENT:
	case -ENOTDIR:
	case -EEXIST:
		return "refused";
	default:
		return "failed";
	}
}

/* Records the change (detail: what changed) in its transaction and ends
 * it; on failure records the refusal afterwards.  v->mu stays held.
 * Returns rc, or the error that made the change fail. */
static int finish(struct vf_vault *v, struct vf_admin *a, struct change *ch,
		  int rc, const char *detail)
{
	int rec = 0;

	if (!rc)
		rc = vf_audit_record(v, ch->stamp, a->caller.uid,
				     ch->rule->name, ch->target, "ok",
				     detail && *detail ? detail : NULL);
	rc = vf_catalog_finish(v->cat, rc);
	if (rc && !a->why[0])
		say(a, "%s", strerror(-rc));
	if (!rc && ch->result && !strcmp(ch->result, "allowed"))
		vf_alert_raise(v, VF_ALERT_WEAKENED, VF_ALERT_WARNING,
			       a->caller.uid, 1, "critical operation %s done: %s",
			       ch->gop, ch->approval);
	else if (rc && ch->asked)
		vf_alert_raise(v, VF_ALERT_DENIED,
			       a->approval ? VF_ALERT_CRIT : VF_ALERT_WARNING,
			       a->caller.uid, 1, "critical operation %s %s: %s",
			       ch->gop,
			       a->approval ? "refused (bad approval)" :
					     "asked without an approval",
			       ch->approval);
	/* The refusal, in a transaction of its own (the change's rolled
	 * back); a failure to record it changes no answer. */
	if (rc && ch->asked)
		rec = vf_audit_record(v, ch->stamp, a->caller.uid, "approval",
				      ch->gop, ch->result, ch->approval);
	else if (rc)
		rec = vf_audit_record(v, ch->stamp, a->caller.uid,
				      ch->rule->name, ch->target,
				      result_of(rc), a->why);
	(void)rec;
	return rc;
}

/* finish, then releases v->mu. */
static int leave(struct vf_vault *v, struct vf_admin *a, struct change *ch,
		 int rc, const char *detail)
{
	rc = finish(v, a, ch, rc, detail);
	vf_vault_unlock(v);
	return rc;
}

/* ---- reading operations ---------------------------------------------------- */

static int read_gate(struct vf_vault *v, struct vf_admin *a,
		     enum vf_admin_op op)
{
	return allowed(v, a, op, stamp_of(v, a));
}

/* Sets a->why for a reading operation that failed. */
static int read_failed(struct vf_admin *a, const char *what, int rc)
{
	if (rc < 0 && !a->why[0])
		say(a, "%s failed: %s", what, strerror(-rc));
	return rc;
}

int vf_admin_status(struct vf_vault *v, struct vf_admin *a,
		    struct vf_status *out)
{
	int rc = read_gate(v, a, VF_OP_STATUS);

	if (!rc)
		rc = read_failed(a, "reading the status",
				 vf_vault_status(v, out));
	return rc;
}

int vf_admin_sync(struct vf_vault *v, struct vf_admin *a, int timeout_s)
{
	int rc = read_gate(v, a, VF_OP_STATUS);

	if (!rc)
		rc = vf_ship_sync(v, timeout_s, a->why, sizeof(a->why));
	return rc;
}

int vf_admin_check(struct vf_vault *v, struct vf_admin *a, int read_data,
		   vf_check_cb cb, void *arg)
{
	int rc = read_gate(v, a, VF_OP_CHECK);

	if (!rc)
		rc = read_failed(a, "the check",
				 vf_vault_check_progress(v, read_data, cb, arg,
							 a->progress));
	if (rc == 0 && !v->readonly) {
		/* a clean check's time, for metrics; failing to keep it
		 * changes no answer */
		int r;

		vf_vault_lock(v);
		r = vf_catalog_begin(v->cat);
		if (!r)
			r = vf_catalog_finish(v->cat,
					      vf_catalog_meta_set(v->cat,
								  "check.ok_t",
								  stamp_of(v, a)));
		vf_vault_unlock(v);
		(void)r;
	}
	return rc;
}

int vf_admin_snapshots(struct vf_vault *v, struct vf_admin *a, vf_snap_cb cb,
		       void *arg)
{
	int rc = read_gate(v, a, VF_OP_SNAPSHOTS);

	if (!rc)
		rc = read_failed(a, "listing snapshots",
				 vf_vault_snapshots(v, stamp_of(v, a), cb,
						    arg));
	return rc;
}

int vf_admin_policy_get(struct vf_vault *v, struct vf_admin *a,
			struct vf_retention *out)
{
	int rc = read_gate(v, a, VF_OP_POLICY_SHOW);

	if (!rc)
		rc = read_failed(a, "reading the retention policy",
				 vf_vault_policy_get(v, out));
	return rc;
}

int vf_admin_softdelete_get(struct vf_vault *v, struct vf_admin *a,
			    struct vf_softdelete *out)
{
	int rc = read_gate(v, a, VF_OP_SD_SHOW);

	if (!rc)
		rc = read_failed(a, "reading the soft-delete settings",
				 vf_vault_softdelete_get(v, out));
	return rc;
}

int vf_admin_softdelete_list(struct vf_vault *v, struct vf_admin *a,
			     vf_trash_cb cb, void *arg)
{
	int rc = read_gate(v, a, VF_OP_SD_LIST);

	if (!rc)
		rc = read_failed(a, "listing soft-deleted items",
				 vf_vault_softdelete_list(v, now_of(v, a), cb,
							  arg));
	return rc;
}

int vf_admin_immutable_list(struct vf_vault *v, struct vf_admin *a,
			    vf_imm_cb cb, void *arg)
{
	int rc = read_gate(v, a, VF_OP_IMM_LIST);

	if (!rc)
		rc = read_failed(a, "listing immutable directories",
				 vf_vault_immutable_list(v, cb, arg));
	return rc;
}

int vf_admin_immutable_vault_get(struct vf_vault *v, struct vf_admin *a,
				 struct vf_imm_vault *out)
{
	int rc = read_gate(v, a, VF_OP_IMM_VAULT_SHOW);

	if (!rc)
		rc = read_failed(a, "reading the immutable vault setting",
				 vf_vault_immutable_vault_get(v, out));
	return rc;
}

int vf_admin_role_list(struct vf_vault *v, struct vf_admin *a, vf_role_cb cb,
		       void *arg)
{
	int rc = read_gate(v, a, VF_OP_ROLE_LIST);

	if (!rc)
		rc = read_failed(a, "listing role grants",
				 vf_vault_role_list(v, cb, arg));
	return rc;
}

int vf_admin_guard_show(struct vf_vault *v, struct vf_admin *a,
			struct vf_guard_info *out)
{
	struct vf_guard_set set;
	size_t i;
	int rc = read_gate(v, a, VF_OP_GUARD_SHOW);

	if (rc)
		return rc;
	vf_vault_lock(v);
	rc = vf_guard_set_load(v, &set);
	vf_vault_unlock(v);
	if (rc == 0) {
		say(a, "no guard is attached");
		return -ENOENT;
	}
	if (rc < 0)
		return read_failed(a, "reading the attached guard keys", rc);
	memset(out, 0, sizeof(*out));
	for (i = 0; i < set.n; i++) {
		vf_guard_key_fpr(&set.keys[i], out->fprs[i]);
		rc = vf_guard_key_format(&set.keys[i], out->keys[i],
					 sizeof(out->keys[i]));
		if (rc)
			return read_failed(a, "formatting a guard key", rc);
	}
	out->n = set.n;
	out->quorum = set.quorum;
	return 0;
}

int vf_admin_audit_list(struct vf_vault *v, struct vf_admin *a, int64_t since,
			vf_audit_cb cb, void *arg)
{
	int rc = read_gate(v, a, VF_OP_AUDIT_LIST);

	if (!rc)
		rc = read_failed(a, "listing the audit log",
				 vf_vault_audit_list(v, since, cb, arg));
	return rc;
}

int vf_admin_audit_verify(struct vf_vault *v, struct vf_admin *a,
			  vf_audit_problem_cb cb, void *arg)
{
	int rc = read_gate(v, a, VF_OP_AUDIT_VERIFY);

	if (!rc)
		rc = read_failed(a, "verifying the audit log",
				 vf_vault_audit_verify(v, cb, arg));
	return rc;
}

/* The posture, past the gate of whoever asks for it (posture, metrics,
 * report). */
static int posture_of(struct vf_vault *v, struct vf_admin *a,
		      struct vf_posture *out)
{
	struct vf_posture_in in;
	struct vf_store_conf *sc = NULL;
	struct vf_softdelete sd;
	struct vf_imm_vault iv;
	char pub[VF_GUARD_KEY_TEXT];
	int64_t now = now_of(v, a);
	int rc;

	memset(&in, 0, sizeof(in));
	rc = vf_vault_softdelete_get(v, &sd);
	if (!rc)
		rc = vf_vault_immutable_vault_get(v, &iv);
	if (!rc) {
		rc = vf_vault_guard_get(v, pub, sizeof(pub));
		in.guard = rc == 0;
		if (rc == -ENOENT)
			rc = 0;
	}
	if (rc < 0)
		return read_failed(a, "reading the settings the posture is made of",
				   rc);
	in.sd_on = !sd.off;
	in.always_on = vf_policy_lock_state(sd.always_on, now);
	in.imm_vault = iv.on;
	in.imm_lock = vf_policy_lock_state(iv.lock_at, now);
	/* A remote vault: its durable copy is in a store (store.conf).
	 * Object Lock is not used yet: the store's credentials can delete
	 * what it holds, and posture says so. */
	if (vf_store_conf_read(v->dir, &sc) == 0) {
		in.remote = 1;
		in.plain_http = !strncmp(sc->endpoint, "http://", 7);
		in.store_lock = !sc->cfg.no_lock;
		in.short_lock = sc->cfg.lock_period_s &&
				sc->cfg.lock_period_s * VF_NS <
					vf_policy_lock_period(
						sd.days,
						VF_SHIP_LOCK_MARGIN * VF_NS, 0);
		free(sc);
	}
	in.passphrase = vf_vault_by_passphrase(v);
	in.prot = __atomic_load_n(&v->prot_state, __ATOMIC_RELAXED);
	vf_policy_posture(&in, out);
	return 0;
}

int vf_admin_posture(struct vf_vault *v, struct vf_admin *a,
		     struct vf_posture *out)
{
	int rc = read_gate(v, a, VF_OP_POSTURE);

	return rc ? rc : posture_of(v, a, out);
}

/* ---- monitoring ------------------------------------------------------------ */

int vf_admin_metrics(struct vf_vault *v, struct vf_admin *a, FILE *f)
{
	struct vf_posture p;
	int rc = read_gate(v, a, VF_OP_METRICS);

	if (!rc)
		rc = posture_of(v, a, &p);
	if (!rc)
		rc = read_failed(a, "writing the metrics",
				 vf_metrics_write(v, &p, f));
	return rc;
}

int vf_admin_report(struct vf_vault *v, struct vf_admin *a, int64_t since,
		    struct vf_report *out)
{
	int rc = read_gate(v, a, VF_OP_REPORT);

	if (!rc)
		rc = read_failed(a, "building the report",
				 vf_report_build(v, since, stamp_of(v, a),
						 out));
	if (!rc)
		rc = posture_of(v, a, &out->posture);
	return rc;
}

/* ---- alerts ----------------------------------------------------------------- */

struct alert_filter {
	vf_audit_cb cb;
	void *arg;
	int64_t want; /* 0: every alert and ack; else only alert #want */
	int found;
};

static int alert_only(void *arg, const struct vf_event *r)
{
	struct alert_filter *f = arg;

	if (strcmp(r->action, "alert") && strcmp(r->action, "alert ack"))
		return 0;
	if (f->want && (r->id != f->want || strcmp(r->action, "alert")))
		return 0;
	f->found = 1;
	return f->cb ? f->cb(f->arg, r) : 1;
}

int vf_admin_alerts(struct vf_vault *v, struct vf_admin *a, int64_t since,
		    vf_audit_cb cb, void *arg)
{
	struct alert_filter f = { cb, arg, 0, 0 };
	int rc = read_gate(v, a, VF_OP_ALERTS);

	if (!rc)
		rc = read_failed(a, "listing alerts",
				 vf_vault_audit_list(v, since, alert_only, &f));
	return rc;
}

int vf_admin_alert_ack(struct vf_vault *v, struct vf_admin *a, int64_t id)
{
	struct alert_filter f = { NULL, NULL, id, 0 };
	char target[32];
	int rc = read_gate(v, a, VF_OP_ALERT_ACK);

	if (rc)
		return rc;
	rc = id > 0 ? vf_vault_audit_list(v, 0, alert_only, &f) : 0;
	if (rc < 0)
		return read_failed(a, "reading the audit log", rc);
	if (!f.found) {
		say(a, "no alert #%lld", (long long)id);
		return -ENOENT;
	}
	snprintf(target, sizeof(target), "#%lld", (long long)id);
	rc = vf_vault_audit(v, a->caller.uid, vf_policy_op(VF_OP_ALERT_ACK)->name,
			    target, "ok", NULL);
	return read_failed(a, "recording the acknowledgement", rc);
}

int vf_admin_alert_mute(struct vf_vault *v, struct vf_admin *a,
			enum vf_alert_kind kind, int64_t dur, int64_t *until)
{
	struct change ch;
	int64_t to = 0;
	int rc;

	if ((unsigned)kind >= VF_ALERT_KIND_COUNT || dur < 0) {
		say(a, "no such kind of alert");
		return -EINVAL;
	}
	rc = enter(v, a, VF_OP_ALERT_MUTE, &ch);
	if (rc)
		return rc;
	if (dur)
		to = ch.now + dur;
	snprintf(ch.params, sizeof(ch.params), "kind=%s for=%llds",
		 vf_alert_kind_name(kind), (long long)(dur / VF_NS));
	rc = approve(v, a, &ch,
		     vf_policy_alert_mute(vf_alert_muted(v, kind), to, ch.now,
					  &ch.gop, a->why, sizeof(a->why)));
	if (!rc)
		rc = vf_alert_mute_store(v, kind, to);
	rc = leave(v, a, &ch, rc, ch.params);
	/* in force once committed */
	if (!rc)
		vf_alert_mute_apply(v, kind, to);
	if (!rc && until)
		*until = to;
	return rc;
}

int vf_admin_alert_mutes(struct vf_vault *v, struct vf_admin *a,
			 int64_t until[VF_ALERT_KIND_COUNT])
{
	int64_t now;
	int k, rc = read_gate(v, a, VF_OP_ALERTS);

	if (rc)
		return rc;
	now = now_of(v, a);
	for (k = 0; k < VF_ALERT_KIND_COUNT; k++) {
		until[k] = vf_alert_muted(v, k);
		if (until[k] <= now)
			until[k] = 0;
	}
	return 0;
}

/* ---- maintenance: role check, the work in its own batches, a record ------- */

/* -EPERM with the reason when the tripwire froze what would remove data
 * (what: "prune", "gc", "purging"); else 0. */
static int frozen(struct vf_vault *v, struct vf_admin *a, const char *what)
{
	int64_t since = __atomic_load_n(&v->trip_frozen, __ATOMIC_RELAXED);
	char when[32];

	if (!since)
		return 0;
	vf_time_format(since, when);
	say(a, "%s refused: frozen by the tripwire since %s (vaultctl tripwire status; lifted by vaultctl tripwire release)",
	    what, when);
	return -EPERM;
}

/* Records what a long operation (prune, gc, snapshot) did: it works in
 * batches of its own, so its record follows it.  A record that cannot be
 * written turns success into failure (nothing that it did is hidden from
 * the log: what it did stays done, and the caller is told). */
static int record_after(struct vf_vault *v, struct vf_admin *a,
			enum vf_admin_op op, int rc, const char *detail)
{
	int rec;

	rec = vf_vault_audit(v, a->caller.uid, vf_policy_op(op)->name, NULL,
			     result_of(rc),
			     rc ? (a->why[0] ? a->why : strerror(-rc)) :
				  detail);
	if (!rc && rec < 0) {
		say(a, "done, but recording it in the audit log failed: %s",
		    strerror(-rec));
		rc = rec;
	}
	return rc;
}

int vf_admin_snapshot(struct vf_vault *v, struct vf_admin *a, const char *tag,
		      int64_t *t)
{
	char detail[96];
	int rc = read_gate(v, a, VF_OP_SNAPSHOT);

	if (rc)
		return rc;
	rc = read_failed(a, "marking the snapshot",
			 vf_vault_snapshot(v, tag, t));
	if (!rc)
		vf_time_format(*t, detail);
	return record_after(v, a, VF_OP_SNAPSHOT, rc, rc ? NULL : detail);
}

int vf_admin_prune(struct vf_vault *v, struct vf_admin *a, int dry_run,
		   vf_prune_cb cb, void *arg, struct vf_prune_stats *st)
{
	char detail[96];
	int rc = read_gate(v, a, VF_OP_PRUNE);

	if (rc)
		return rc;
	if (!dry_run && (rc = frozen(v, a, "prune")))
		return record_after(v, a, VF_OP_PRUNE, rc, NULL);
	rc = read_failed(a, "prune",
			 vf_vault_prune_progress(v, now_of(v, a), dry_run, cb,
						 arg, st, a->progress));
	if (dry_run)
		return rc;
	snprintf(detail, sizeof(detail), "removed %llu versions (%llu bytes)",
		 (unsigned long long)st->removed,
		 (unsigned long long)st->removed_bytes);
	return record_after(v, a, VF_OP_PRUNE, rc, detail);
}

/* "; store: ..." of a remote gc run, for the audit record and the log
 * ("" for a local vault). */
static void store_detail(const struct vf_store_gc_stats *s, char *buf,
			 size_t cap)
{
	buf[0] = '\0';
	if (!s->remote)
		return;
	snprintf(buf, cap,
		 "; store: deleted %llu checkpoint objects and %llu packs (%llu bytes), %llu checkpoint objects and %llu packs waiting for their lock (%llu refused by the store), oldest needed checkpoint %llu, window %lld s",
		 (unsigned long long)s->ckpts_deleted,
		 (unsigned long long)s->packs_deleted,
		 (unsigned long long)s->bytes_deleted,
		 (unsigned long long)s->ckpts_waiting,
		 (unsigned long long)s->packs_waiting,
		 (unsigned long long)s->refused, (unsigned long long)s->floor,
		 (long long)(s->window / VF_NS));
}

/* Local gc, then remote gc of a remote vault's store. */
static int gc_both(struct vf_vault *v, struct vf_admin *a,
		   struct vf_gc_stats *st)
{
	int rc = read_failed(a, "gc",
				 vf_vault_gc_progress(v, st, a->progress));

	memset(&st->store, 0, sizeof(st->store));
	if (!rc)
		rc = vf_vault_store_gc(v, &st->store, a->why, sizeof(a->why));
	return rc;
}

int vf_admin_gc(struct vf_vault *v, struct vf_admin *a, struct vf_gc_stats *st)
{
	char detail[512], sd[384];
	int rc = read_gate(v, a, VF_OP_GC);

	if (rc)
		return rc;
	if ((rc = frozen(v, a, "gc")))
		return record_after(v, a, VF_OP_GC, rc, NULL);
	rc = gc_both(v, a, st);
	store_detail(&st->store, sd, sizeof(sd));
	snprintf(detail, sizeof(detail),
		 "purged %llu items, freed %llu chunks, removed %llu packs%s",
		 (unsigned long long)st->purged,
		 (unsigned long long)st->chunks_freed,
		 (unsigned long long)st->packs_removed, sd);
	return record_after(v, a, VF_OP_GC, rc, detail);
}

/* Keeps the last run's outcome for status (meta "maint.*"); a failure
 * to keep it changes no answer. */
static void note_maintenance(struct vf_vault *v, int64_t t, int rc,
			     const struct vf_maint_stats *st)
{
	int r;

	vf_vault_lock(v);
	r = vf_catalog_begin(v->cat);
	if (!r) {
		r = vf_catalog_meta_set(v->cat, "maint.t", t);
		if (!r)
			r = vf_catalog_meta_set(v->cat, "maint.rc", rc);
		if (!r && !rc)
			r = vf_catalog_meta_set(v->cat, "maint.ok_t", t);
		if (!r)
			r = vf_catalog_meta_set(v->cat, "maint.pruned",
						(int64_t)st->prune.removed);
		if (!r)
			r = vf_catalog_meta_set(v->cat, "maint.purged",
						(int64_t)st->gc.purged);
		if (!r)
			r = vf_catalog_meta_set(v->cat, "maint.packs",
						(int64_t)st->gc.packs_removed);
		if (!r)
			r = vf_catalog_meta_set(v->cat, "maint.store",
						st->gc.store.remote);
		if (!r)
			r = vf_catalog_meta_set(
				v->cat, "maint.store_deleted",
				(int64_t)(st->gc.store.ckpts_deleted +
					  st->gc.store.packs_deleted));
		if (!r)
			r = vf_catalog_meta_set(
				v->cat, "maint.store_waiting",
				(int64_t)(st->gc.store.ckpts_waiting +
					  st->gc.store.packs_waiting));
		r = vf_catalog_finish(v->cat, r);
	}
	vf_vault_unlock(v);
	(void)r;
}

static int maintain_run(struct vf_vault *v, struct vf_admin *a,
			struct vf_maint_stats *st, char *detail, size_t cap)
{
	char sd[384];
	int rc = read_gate(v, a, VF_OP_MAINTAIN);

	memset(st, 0, sizeof(*st));
	snprintf(detail, cap, "nothing to do");
	if (rc)
		return rc;
	/* Frozen by the tripwire: everything stays past its time, and an
	 * hourly record of it would bury the log (status shows it). */
	if (frozen(v, a, "maintenance")) {
		snprintf(detail, cap, "%s", a->why);
		a->why[0] = '\0';
		return 0;
	}
	rc = read_failed(a, "prune", vf_vault_prune(v, now_of(v, a), 0, NULL,
						    NULL, &st->prune));
	if (!rc)
		rc = read_failed(a, "gc", vf_vault_gc(v, &st->gc));
	/* A store that does not answer is the uploader's to report (status,
	 * sync); the timer would repeat it every run. */
	if (!rc && vf_vault_store_gc(v, &st->gc.store, sd, sizeof(sd)) < 0)
		memset(&st->gc.store, 0, sizeof(st->gc.store));
	if (!rc && !st->prune.removed && !st->gc.purged &&
	    !st->gc.chunks_freed && !st->gc.packs_removed &&
	    !st->gc.packs_quarantined && !st->gc.store.ckpts_deleted &&
	    !st->gc.store.packs_deleted && !st->gc.store.refused)
		return 0; /* an hourly "nothing" would bury the log */
	store_detail(&st->gc.store, sd, sizeof(sd));
	snprintf(detail, cap,
		 "pruned %llu versions (%llu bytes); purged %llu soft-deleted items; freed %llu chunks; removed %llu packs; quarantined %llu packs; stored %llu -> %llu bytes%s",
		 (unsigned long long)st->prune.removed,
		 (unsigned long long)st->prune.removed_bytes,
		 (unsigned long long)st->gc.purged,
		 (unsigned long long)st->gc.chunks_freed,
		 (unsigned long long)st->gc.packs_removed,
		 (unsigned long long)st->gc.packs_quarantined,
		 (unsigned long long)st->gc.stored_before,
		 (unsigned long long)st->gc.stored_after, sd);
	rc = record_after(v, a, VF_OP_MAINTAIN, rc, detail);
	if (rc < 0) {
		snprintf(detail, cap, "%s",
			 a->why[0] ? a->why : strerror(-rc));
		vf_alert_raise(v, VF_ALERT_MAINTENANCE, VF_ALERT_WARNING,
			       a->caller.uid, 1, "maintenance failed: %s",
			       detail);
	}
	return rc;
}

int vf_admin_maintain(struct vf_vault *v, struct vf_admin *a,
		      struct vf_maint_stats *st, char *detail, size_t cap)
{
	struct vf_sizes s;
	int rc = maintain_run(v, a, st, detail, cap);

	if (rc != -EACCES && rc != -EROFS) {
		note_maintenance(v, stamp_of(v, a), rc, st);
		/* the day's sizes for the report; a failure changes no
		 * answer (the next run writes the day again) */
		if (vf_metrics_sizes(v, &s) == 0) {
			int r = vf_metrics_record_day(v, &s);

			(void)r;
		}
	}
	return rc;
}

/* ---- retention policy ---------------------------------------------------- */

/* ns as the largest whole unit ("30d", "12h", "0"), as vaultctl spells it. */
static void duration_text(int64_t ns, char *buf, size_t cap)
{
	static const struct {
		char unit;
		int64_t secs;
	} units[] = { { 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 } };
	size_t i;

	if (ns == 0 || ns % VF_NS) {
		snprintf(buf, cap, ns ? "%lldns" : "0", (long long)ns);
		return;
	}
	for (i = 0; i + 1 < VF_ARRAY_LEN(units); i++)
		if ((ns / VF_NS) % units[i].secs == 0)
			break;
	snprintf(buf, cap, "%lld%c", (long long)(ns / VF_NS / units[i].secs),
		 units[i].unit);
}

static void merge_policy(struct vf_retention *dst, const struct vf_retention *p,
			 unsigned mask)
{
	if (mask & VF_KEEP_LAST)
		dst->keep_last = p->keep_last;
	if (mask & VF_KEEP_WITHIN)
		dst->keep_within = p->keep_within;
	if (mask & VF_KEEP_HOURLY)
		dst->keep_hourly = p->keep_hourly;
	if (mask & VF_KEEP_DAILY)
		dst->keep_daily = p->keep_daily;
	if (mask & VF_KEEP_WEEKLY)
		dst->keep_weekly = p->keep_weekly;
	if (mask & VF_KEEP_MONTHLY)
		dst->keep_monthly = p->keep_monthly;
	if (mask & VF_KEEP_YEARLY)
		dst->keep_yearly = p->keep_yearly;
	if (mask & VF_KEEP_MIN_POINTS)
		dst->min_points = p->min_points;
}

int vf_admin_policy_set(struct vf_vault *v, struct vf_admin *a,
			const struct vf_retention *p, unsigned mask,
			struct vf_retention *out)
{
	struct vf_retention cur, next;
	struct vf_imm_vault iv;
	struct change ch;
	char w[32];
	int rc;

	rc = enter(v, a, VF_OP_POLICY_SET, &ch);
	if (rc)
		return rc;
	rc = vf_gc_policy(v, &cur);
	if (!rc)
		rc = vf_immut_vault(v, &iv);
	if (rc)
		say(a, "reading the current settings failed: %s", strerror(-rc));
	next = cur;
	merge_policy(&next, p, mask);
	duration_text(next.keep_within, w, sizeof(w));
	snprintf(ch.params, sizeof(ch.params),
		 "keep-last=%u keep-within=%s keep-hourly=%u keep-daily=%u "
		 "keep-weekly=%u keep-monthly=%u keep-yearly=%u min-points=%u",
		 next.keep_last, w, next.keep_hourly, next.keep_daily,
		 next.keep_weekly, next.keep_monthly, next.keep_yearly,
		 next.min_points);
	if (!rc)
		rc = approve(v, a, &ch,
			     vf_policy_retention_change(&cur, &next, &iv,
							&ch.gop, a->why,
							sizeof(a->why)));
	if (!rc)
		rc = vf_gc_policy_store(v, &next);
	rc = leave(v, a, &ch, rc, ch.params);
	if (!rc && out)
		*out = next;
	return rc;
}

/* ---- the disk reserve ---------------------------------------------------- */

int vf_admin_reserve_set(struct vf_vault *v, struct vf_admin *a,
			 uint64_t bytes, uint64_t *out)
{
	struct vf_imm_vault iv;
	struct statvfs st;
	struct change ch;
	uint64_t fs = 0, cur = __atomic_load_n(&v->reserve, __ATOMIC_RELAXED);
	int rc;

	rc = enter(v, a, VF_OP_RESERVE_SET, &ch);
	if (rc)
		return rc;
	rc = vf_immut_vault(v, &iv);
	if (rc)
		say(a, "reading the current settings failed: %s", strerror(-rc));
	if (!rc && statvfs(v->dir, &st) < 0) {
		rc = -errno;
		say(a, "cannot read the size of the vault's filesystem: %s",
		    strerror(errno));
	}
	if (!rc)
		fs = (uint64_t)st.f_blocks * st.f_frsize;
	if (bytes == VF_POLICY_RESERVE_DEFAULT)
		snprintf(ch.params, sizeof(ch.params), "reserve=default");
	else
		snprintf(ch.params, sizeof(ch.params), "reserve=%llu",
			 (unsigned long long)bytes);
	if (!rc)
		rc = approve(v, a, &ch,
			     vf_policy_reserve_change(cur, bytes, fs, iv.on,
						      &ch.gop, a->why,
						      sizeof(a->why)));
	if (!rc)
		rc = vf_catalog_meta_set(v->cat, "reserve.bytes",
					 bytes == VF_POLICY_RESERVE_DEFAULT ?
						 -1 :
						 (int64_t)bytes);
	rc = leave(v, a, &ch, rc, ch.params);
	/* in force once committed (leave ends the transaction) */
	if (!rc)
		__atomic_store_n(&v->reserve, bytes, __ATOMIC_RELAXED);
	if (!rc && out)
		*out = vf_policy_reserve(bytes, fs);
	return rc;
}

/* ---- soft delete --------------------------------------------------------- */

int vf_admin_softdelete_set(struct vf_vault *v, struct vf_admin *a,
			    enum vf_sd_change what, unsigned days,
			    struct vf_softdelete *out)
{
	static const char *const names[] = {
		[VF_SD_ON] = "on",
		[VF_SD_OFF] = "off",
		[VF_SD_ALWAYS_ON] = "always-on",
		[VF_SD_CANCEL] = "cancel-always-on",
	};
	struct vf_softdelete cur, next;
	struct vf_imm_vault iv;
	struct change ch;
	char detail[48] = "";
	int rc;

	rc = enter(v, a, VF_OP_SD_SET, &ch);
	if (rc)
		return rc;
	rc = vf_trash_settings(v, &cur);
	if (!rc)
		rc = vf_immut_vault(v, &iv);
	if (rc)
		say(a, "reading the current settings failed: %s", strerror(-rc));
	if (what == VF_SD_DAYS) {
		snprintf(ch.params, sizeof(ch.params), "days=%u", days);
		snprintf(detail, sizeof(detail), "days=%u (was %u)", days,
			 rc ? 0 : cur.days);
	} else if ((unsigned)what < VF_ARRAY_LEN(names) && names[what]) {
		snprintf(detail, sizeof(detail), "%s", names[what]);
	}
	if (!rc)
		rc = approve(v, a, &ch,
			     vf_policy_softdelete(&cur, iv.on, what, days,
						  ch.now, &next, &ch.gop,
						  a->why, sizeof(a->why)));
	if (!rc)
		rc = vf_trash_settings_store(v, &next);
	rc = leave(v, a, &ch, rc, detail);
	if (!rc && out)
		*out = next;
	return rc;
}

int vf_admin_softdelete_purge(struct vf_vault *v, struct vf_admin *a,
			      const char *path, uint64_t *n)
{
	struct vf_trash_found it;
	struct vf_softdelete sd;
	struct vf_imm_vault iv;
	struct change ch;
	char shown[SHOWN_NAME + 1], when[32], detail[96] = "";
	int rc;

	*n = 0;
	rc = enter(v, a, VF_OP_SD_PURGE, &ch);
	if (rc)
		return rc;
	ch.target = path;
	rc = vf_trash_settings(v, &sd);
	if (!rc)
		rc = vf_immut_vault(v, &iv);
	if (rc)
		say(a, "reading the current settings failed: %s", strerror(-rc));
	/* Refusals that no approval lifts come first: nothing is asked
	 * for an operation the vault would refuse anyway. */
	if (!rc)
		rc = frozen(v, a, "purging");
	if (!rc)
		rc = vf_policy_purge(&sd, iv.on, ch.now, &ch.gop, a->why,
				     sizeof(a->why));
	if (rc >= 0) {
		int found = vf_trash_find(v, path, ch.now, &it);

		if (found == -ENOENT)
			say(a, "'%s' is not in .softdeleted", path);
		else if (found)
			say(a, "cannot find '%s' in .softdeleted: %s", path,
			    strerror(-found));
		rc = found ? found : rc;
	}
	if (rc >= 0) {
		/* The approval binds the item itself, not what is called
		 * path by the time it is used. */
		bounded_text(shown, sizeof(shown), path);
		vf_time_format(it.deleted_at, when);
		snprintf(ch.params, sizeof(ch.params),
			 "item=%lld deleted=%s size=%llu files=%llu path=%s",
			 (long long)it.id, when, (unsigned long long)it.size,
			 (unsigned long long)it.files, shown);
	}
	rc = approve(v, a, &ch, rc);
	if (!rc) {
		rc = vf_trash_purge(v, it.id, n);
		if (rc == -EBUSY)
			say(a, "'%s' is open; try again when it is closed",
			    path);
	}
	/* what went, not only how many: the item's size and files */
	if (!rc)
		snprintf(detail, sizeof(detail),
			 "purged %llu items, size=%llu files=%llu",
			 (unsigned long long)*n, (unsigned long long)it.size,
			 (unsigned long long)it.files);
	else
		snprintf(detail, sizeof(detail), "purged %llu items",
			 (unsigned long long)*n);
	rc = leave(v, a, &ch, rc, detail);
	if (rc)
		*n = 0;
	return rc;
}

/* ---- immutability ---------------------------------------------------------- */

int vf_admin_immutable_set(struct vf_vault *v, struct vf_admin *a,
			   const char *path, int have_days, unsigned days,
			   int lock, struct vf_imm_state *out)
{
	struct vf_imm_state cur, next;
	struct change ch;
	char shown[SHOWN_NAME + 1], detail[48];
	uint64_t dir = 0;
	int rc;

	rc = enter(v, a, VF_OP_IMM_SET, &ch);
	if (rc)
		return rc;
	ch.target = *path ? path : "/";
	rc = vf_immut_resolve(v, path, &dir, a->why, sizeof(a->why));
	if (!rc)
		rc = vf_immut_rule(v, dir, &cur);
	if (!rc) {
		rc = vf_policy_imm_set(&cur, have_days, days, lock, ch.now,
				       &next, &ch.gop, a->why,
				       sizeof(a->why));
		if (rc == -EPERM)
			say_about(a, path);
	}
	bounded_text(shown, sizeof(shown), *path ? path : "/");
	snprintf(ch.params, sizeof(ch.params), "dir=%llu days=%u path=%s",
		 (unsigned long long)dir, days, shown);
	rc = approve(v, a, &ch, rc);
	if (!rc)
		rc = vf_immut_rule_store(v, dir, &next);
	if (have_days)
		snprintf(detail, sizeof(detail), "days=%u%s", days,
			 lock ? " lock" : "");
	else
		snprintf(detail, sizeof(detail), "%s", lock ? "lock" : "");
	rc = leave(v, a, &ch, rc, detail);
	if (!rc && out)
		*out = next;
	return rc;
}

int vf_admin_immutable_clear(struct vf_vault *v, struct vf_admin *a,
			     const char *path, int unlock_only)
{
	struct vf_imm_state cur;
	struct change ch;
	char shown[SHOWN_NAME + 1];
	uint64_t dir = 0;
	int rc;

	rc = enter(v, a, unlock_only ? VF_OP_IMM_UNLOCK : VF_OP_IMM_CLEAR, &ch);
	if (rc)
		return rc;
	ch.target = *path ? path : "/";
	rc = vf_immut_resolve(v, path, &dir, a->why, sizeof(a->why));
	if (!rc)
		rc = vf_immut_rule(v, dir, &cur);
	if (!rc) {
		rc = vf_policy_imm_clear(&cur, unlock_only, ch.now, &ch.gop,
					 a->why, sizeof(a->why));
		if (rc < 0)
			say_about(a, path);
	}
	bounded_text(shown, sizeof(shown), *path ? path : "/");
	snprintf(ch.params, sizeof(ch.params), "dir=%llu path=%s",
		 (unsigned long long)dir, shown);
	rc = approve(v, a, &ch, rc);
	if (!rc)
		rc = vf_immut_rule_drop(v, dir, unlock_only);
	return leave(v, a, &ch, rc, unlock_only ? "lock cancelled" : NULL);
}

int vf_admin_immutable_vault_set(struct vf_vault *v, struct vf_admin *a,
				 enum vf_iv_change what,
				 struct vf_imm_vault *out)
{
	static const char *const names[] = {
		[VF_IV_ON] = "on",
		[VF_IV_LOCK] = "on, lock",
		[VF_IV_OFF] = "off",
		[VF_IV_CANCEL] = "cancel-lock",
	};
	struct vf_imm_vault cur, next;
	struct change ch;
	int rc;

	rc = enter(v, a, VF_OP_IMM_VAULT_SET, &ch);
	if (rc)
		return rc;
	rc = vf_immut_vault(v, &cur);
	if (rc)
		say(a, "reading the current setting failed: %s", strerror(-rc));
	else
		rc = vf_policy_imm_vault(&cur, what, ch.now, &next, &ch.gop,
					 a->why, sizeof(a->why));
	rc = approve(v, a, &ch, rc);
	if (!rc)
		rc = vf_immut_vault_store(v, &next);
	rc = leave(v, a, &ch, rc,
		   (unsigned)what < VF_ARRAY_LEN(names) ? names[what] : NULL);
	if (!rc && out)
		*out = next;
	return rc;
}

/* ---- roles and the guard ----------------------------------------------------- */

int vf_admin_role_grant(struct vf_vault *v, struct vf_admin *a, int is_group,
			uint32_t id, enum vf_role role, enum vf_role *was)
{
	struct change ch;
	enum vf_role cur;
	char who[32], detail[64];
	int rc, stored;

	rc = enter(v, a, VF_OP_ROLE_GRANT, &ch);
	if (rc)
		return rc;
	snprintf(who, sizeof(who), "%s:%lu", is_group ? "group" : "user",
		 (unsigned long)id);
	ch.target = who;
	cur = vf_authz_grant(v, is_group, id);
	snprintf(ch.params, sizeof(ch.params), "principal=%s role=%s", who,
		 vf_role_name(role));
	rc = approve(v, a, &ch,
		     vf_policy_role_change(is_group, id, cur, role, &ch.gop,
					   a->why, sizeof(a->why)));
	stored = !rc;
	if (!rc)
		rc = vf_authz_store(v, is_group, id, role);
	snprintf(detail, sizeof(detail), "role=%s was=%s", vf_role_name(role),
		 vf_role_name(cur));
	rc = finish(v, a, &ch, rc, detail);
	/* the grants in memory follow the catalog, whichever way it went */
	if (stored && vf_authz_reload(v) < 0 && !rc) {
		say(a, "the grant was stored, but reloading the grants failed");
		rc = -EIO;
	}
	vf_vault_unlock(v);
	if (!rc && was)
		*was = cur;
	return rc;
}

/* keys[0..nkeys) and quorum as a guard set into *set: 0, or -EINVAL with
 * the reason in a->why. */
static int guard_set_of(struct vf_admin *a, const char *const *keys,
			size_t nkeys, unsigned quorum, struct vf_guard_set *set)
{
	char shown[VF_GUARD_KEY_TEXT];
	size_t i, j;
	int rc;

	rc = vf_policy_guard_set(nkeys, VF_GUARD_SET_MAX, quorum, a->why,
				 sizeof(a->why));
	if (rc)
		return rc;
	memset(set, 0, sizeof(*set));
	for (i = 0; i < nkeys; i++) {
		if (vf_guard_key_parse(keys[i], &set->keys[i])) {
			bounded_text(shown, 80, keys[i]);
			say(a, "'%s' is not a guard public key (vfguard1:... as "
			       "printed by vaultctl guard keygen, or an "
			       "ssh-ed25519 or sk-ssh-ed25519@openssh.com "
			       "public key line)",
			    shown);
			return -EINVAL;
		}
		for (j = 0; j < i; j++)
			if (vf_sshkey_equal(&set->keys[i], &set->keys[j])) {
				bounded_text(shown, 80, keys[i]);
				say(a, "'%s' is given twice", shown);
				return -EINVAL;
			}
	}
	set->n = nkeys;
	set->quorum = quorum;
	return 0;
}

/* 1 when a and b hold the same keys (in any order) and quorum. */
static int same_guards(const struct vf_guard_set *a,
		       const struct vf_guard_set *b)
{
	size_t i, j;

	if (a->n != b->n || a->quorum != b->quorum)
		return 0;
	for (i = 0; i < a->n; i++) {
		for (j = 0; j < b->n; j++)
			if (vf_sshkey_equal(&a->keys[i], &b->keys[j]))
				break;
		if (j == b->n)
			return 0;
	}
	return 1;
}

int vf_admin_guard_attach(struct vf_vault *v, struct vf_admin *a,
			  const char *const *keys, size_t nkeys,
			  unsigned quorum, char *old_fprs)
{
	struct vf_guard_set next, cur;
	char fprs[VF_GUARD_FPRS_TEXT], old[VF_GUARD_FPRS_TEXT] = "";
	char detail[VF_GUARD_FPRS_TEXT + 32];
	struct change ch;
	int rc, have;

	if (old_fprs)
		old_fprs[0] = '\0';
	rc = enter(v, a, VF_OP_GUARD_ATTACH, &ch);
	if (rc)
		return rc;
	rc = guard_set_of(a, keys, nkeys, quorum, &next);
	if (rc)
		return leave(v, a, &ch, rc, NULL);
	vf_guard_set_fprs(&next, fprs, sizeof(fprs));
	ch.target = fprs;
	have = vf_guard_set_load(v, &cur);
	if (have < 0) {
		say(a, "cannot read the attached guard keys: %s",
		    have == -EIO ? "damaged catalog entry" : strerror(-have));
		return leave(v, a, &ch, have, NULL);
	}
	if (have && same_guards(&cur, &next)) {
		/* nothing changes: nothing is approved or recorded */
		vf_catalog_rollback(v->cat);
		vf_vault_unlock(v);
		return 1;
	}
	if (have)
		vf_guard_set_fprs(&cur, old, sizeof(old));
	vf_guard_set_params(&next, ch.params, sizeof(ch.params));
	rc = approve(v, a, &ch,
		     vf_policy_guard_change(have, 0, &ch.gop, a->why,
					    sizeof(a->why)));
	if (!rc)
		rc = vf_guard_set_store(v, &next);
	snprintf(detail, sizeof(detail), "quorum=%u%s%s", quorum,
		 have ? " replaced " : "", old);
	rc = leave(v, a, &ch, rc, detail);
	if (!rc && old_fprs)
		memcpy(old_fprs, old, sizeof(old));
	return rc;
}

int vf_admin_guard_detach(struct vf_vault *v, struct vf_admin *a,
			  char *fprs_out)
{
	char fprs[VF_GUARD_FPRS_TEXT] = "";
	struct vf_guard_set cur;
	struct change ch;
	int rc, have;

	rc = enter(v, a, VF_OP_GUARD_DETACH, &ch);
	if (rc)
		return rc;
	have = vf_guard_set_load(v, &cur);
	if (have < 0) {
		say(a, "cannot read the attached guard keys: %s",
		    have == -EIO ? "damaged catalog entry" : strerror(-have));
		return leave(v, a, &ch, have, NULL);
	}
	if (have)
		vf_guard_set_fprs(&cur, fprs, sizeof(fprs));
	ch.target = fprs[0] ? fprs : NULL;
	rc = approve(v, a, &ch,
		     vf_policy_guard_change(have, 1, &ch.gop, a->why,
					    sizeof(a->why)));
	if (!rc)
		rc = vf_guard_key_drop(v);
	rc = leave(v, a, &ch, rc, NULL);
	if (!rc && fprs_out)
		memcpy(fprs_out, fprs, sizeof(fprs));
	return rc;
}

/* ---- the ransomware tripwire ------------------------------------------------ */

int vf_admin_trip_status(struct vf_vault *v, struct vf_admin *a,
			 struct vf_trip_status *out)
{
	int rc = read_gate(v, a, VF_OP_TRIP_STATUS);

	if (rc)
		return rc;
	vf_vault_lock(v);
	rc = vf_trip_status(v, now_of(v, a), out);
	vf_vault_unlock(v);
	return read_failed(a, "reading the tripwire's state", rc);
}

/* After a change committed: the tripwire's memory follows the catalog. */
static int trip_reload(struct vf_vault *v, struct vf_admin *a, int rc)
{
	if (rc)
		return rc;
	vf_vault_lock(v);
	rc = vf_trip_load(v);
	vf_vault_unlock(v);
	if (rc)
		say(a, "the change was stored, but reloading the tripwire's state failed: %s",
		    strerror(-rc));
	return rc;
}

int vf_admin_trip_release(struct vf_vault *v, struct vf_admin *a,
			  int64_t *since)
{
	struct vf_trip_status cur;
	struct change ch;
	char when[32], snap[32];
	int rc;

	rc = enter(v, a, VF_OP_TRIP_RELEASE, &ch);
	if (rc)
		return rc;
	rc = vf_trip_status(v, ch.now, &cur);
	if (rc)
		say(a, "reading the tripwire's state failed: %s", strerror(-rc));
	vf_time_format(cur.frozen_at, when);
	vf_time_format(cur.snap_at, snap);
	/* the approval binds this firing: its time and snapshot point */
	snprintf(ch.params, sizeof(ch.params), "frozen=%s snapshot=%s uid=%lu",
		 when, snap, (unsigned long)cur.fired_uid);
	if (!rc)
		rc = vf_policy_trip_release(cur.frozen_at, &ch.gop, a->why,
					    sizeof(a->why));
	rc = approve(v, a, &ch, rc);
	if (!rc)
		rc = vf_trip_release_store(v);
	rc = leave(v, a, &ch, rc, ch.params);
	rc = trip_reload(v, a, rc);
	if (!rc && since)
		*since = cur.frozen_at;
	return rc;
}

int vf_admin_trip_set(struct vf_vault *v, struct vf_admin *a, int have_sens,
		      enum vf_trip_sens sens, int have_learn,
		      unsigned learn_days, struct vf_trip_settings *out)
{
	struct vf_trip_status cur;
	struct vf_trip_settings next;
	struct change ch;
	char until[32];
	int rc;

	rc = enter(v, a, VF_OP_TRIP_SET, &ch);
	if (rc)
		return rc;
	rc = vf_trip_status(v, ch.now, &cur);
	if (rc)
		say(a, "reading the tripwire's state failed: %s", strerror(-rc));
	next = cur.s;
	if (have_sens)
		next.sens = sens;
	if (have_learn && learn_days > VF_TRIP_MAX_LEARN_DAYS) {
		next.learn_until = INT64_MAX; /* refused by the policy */
	} else if (have_learn) {
		next.learn_until =
			learn_days ? ch.now + learn_days * 86400LL * VF_NS : 0;
		next.peak = 0; /* a new period learns afresh */
	}
	vf_time_format(next.learn_until, until);
	snprintf(ch.params, sizeof(ch.params),
		 "sensitivity=%s learning-until=%s",
		 vf_policy_trip_sens_name(next.sens),
		 next.learn_until > ch.now ? until : "none");
	if (!rc)
		rc = vf_policy_trip_change(&cur.s, &next, ch.now, &ch.gop,
					   a->why, sizeof(a->why));
	rc = approve(v, a, &ch, rc);
	if (!rc)
		rc = vf_trip_settings_store(v, &next);
	rc = leave(v, a, &ch, rc, ch.params);
	rc = trip_reload(v, a, rc);
	if (!rc && out)
		*out = next;
	return rc;
}

int vf_admin_trip_exempt(struct vf_vault *v, struct vf_admin *a,
			 const struct vf_trip_exempt *e, unsigned days)
{
	struct vf_trip_exempt x = *e;
	struct change ch;
	size_t i;
	int rc;

	rc = enter(v, a, VF_OP_TRIP_FP, &ch);
	if (rc)
		return rc;
	x.ext[VF_TRIP_EXT_MAX] = '\0';
	for (i = 0; x.is_ext && x.ext[i]; i++)
		if (!isalnum((unsigned char)x.ext[i]))
			break;
		else
			x.ext[i] = (char)tolower((unsigned char)x.ext[i]);
	if (x.is_ext && (!i || x.ext[i])) {
		say(a, "not an extension: 1 to %d letters or digits",
		    VF_TRIP_EXT_MAX);
		return leave(v, a, &ch, -EINVAL, NULL);
	}
	if (x.is_ext)
		snprintf(ch.params, sizeof(ch.params), "ext=%s days=%u", x.ext,
			 days);
	else
		snprintf(ch.params, sizeof(ch.params), "uid=%lu days=%u",
			 (unsigned long)x.uid, days);
	ch.target = ch.params;
	x.until = ch.now + (int64_t)days * 86400 * VF_NS;
	rc = approve(v, a, &ch,
		     vf_policy_trip_exempt(days, &ch.gop, a->why,
					   sizeof(a->why)));
	if (!rc) {
		rc = vf_trip_exempt_store(v, &x, ch.now);
		if (rc == -ENOSPC)
			say(a, "%d false positives are marked already; wait until one expires",
			    VF_TRIP_EXEMPT_MAX);
	}
	rc = leave(v, a, &ch, rc, NULL);
	return trip_reload(v, a, rc);
}

/* ---- stop protection (docs/protection.md) --------------------------------- */

int vf_admin_protection_get(struct vf_vault *v, struct vf_admin *a,
			    struct vf_protect *out)
{
	int rc = read_gate(v, a, VF_OP_STATUS);

	if (rc)
		return rc;
	vf_vault_lock(v);
	rc = vf_protect_get(v, out);
	vf_vault_unlock(v);
	return read_failed(a, "reading the protection state", rc);
}

/* After a change committed or failed: the facade's flag follows the
 * catalog (a failed stop leaves the flag as the catalog says; a failed
 * read leaves it stopped: fail closed). */
static int prot_reload(struct vf_vault *v, struct vf_admin *a, int rc)
{
	int r;

	vf_vault_lock(v);
	r = vf_protect_load(v);
	vf_vault_unlock(v);
	if (r && !rc) {
		say(a, "the change was stored, but reloading the protection state failed: %s",
		    strerror(-r));
		rc = r;
	}
	return rc;
}

/* The --delete walk (its own batches: vault_ns.c), then its end, with
 * its record, in a transaction of the gate; *out gets the state. */
static int prot_walk(struct vf_vault *v, struct vf_admin *a,
		     struct vf_protect *out)
{
	struct vf_delete_stats ds;
	struct change ch;
	char detail[200];
	int rc = vf_vault_delete_all(v, a->caller.uid, &ds);

	if (rc) {
		say(a, "deleting the files stopped after %llu: %s (vaultctl protection stop --delete goes on with it)",
		    (unsigned long long)ds.deleted, strerror(-rc));
		return record_after(v, a, VF_OP_PROT_STOP, rc, NULL);
	}
	rc = enter(v, a, VF_OP_PROT_STOP, &ch);
	if (rc)
		return rc;
	rc = vf_protect_get(v, out);
	out->pending = 0;
	snprintf(detail, sizeof(detail),
		 "--delete done: %llu files soft-deleted in all, %llu directories, %llu files kept by immutability",
		 (unsigned long long)out->deleted,
		 (unsigned long long)ds.dirs, (unsigned long long)ds.kept);
	if (!rc)
		rc = vf_protect_store(v, out);
	return leave(v, a, &ch, rc, detail);
}

int vf_admin_protection_stop(struct vf_vault *v, struct vf_admin *a,
			     enum vf_prot_state mode, struct vf_protect *out)
{
	struct vf_protect cur, next;
	struct vf_softdelete sd;
	struct change ch;
	int rc, going_on;

	rc = enter(v, a, VF_OP_PROT_STOP, &ch);
	if (rc)
		return rc;
	rc = vf_protect_get(v, &cur);
	if (!rc)
		rc = vf_trash_settings(v, &sd);
	if (rc)
		say(a, "reading the protection state failed: %s",
		    strerror(-rc));
	/* the approval binds the mode; the vault is bound by the token */
	snprintf(ch.params, sizeof(ch.params), "mode=%s",
		 mode == VF_PROT_DELETE ? "delete" : "retain");
	if (!rc)
		rc = vf_policy_protection_stop(cur.state, cur.pending, mode,
					       !sd.off, &ch.gop, a->why,
					       sizeof(a->why));
	going_on = !rc && cur.pending;
	rc = approve(v, a, &ch, rc);
	next = cur;
	if (!rc && !going_on) {
		memset(&next, 0, sizeof(next));
		next.state = mode;
		next.since = ch.stamp;
		next.uid = a->caller.uid;
		next.pending = mode == VF_PROT_DELETE;
		/* before the commit: no write slips in after the decision
		 * (prot_reload undoes it if the commit fails) */
		__atomic_store_n(&v->prot_state, (int)mode, __ATOMIC_RELAXED);
		rc = vf_protect_store(v, &next);
	}
	rc = leave(v, a, &ch, rc,
		   going_on ? "mode=delete: the walk goes on" : ch.params);
	rc = prot_reload(v, a, rc);
	if (!rc && mode == VF_PROT_DELETE)
		rc = prot_walk(v, a, &next);
	if (!rc && out)
		*out = next;
	return rc;
}

int vf_admin_protection_resume(struct vf_vault *v, struct vf_admin *a,
			       struct vf_protect *was)
{
	struct vf_protect cur, next;
	struct change ch;
	char detail[96], when[32];
	int rc;

	rc = enter(v, a, VF_OP_PROT_RESUME, &ch);
	if (rc)
		return rc;
	rc = vf_protect_get(v, &cur);
	if (rc)
		say(a, "reading the protection state failed: %s",
		    strerror(-rc));
	else
		rc = vf_policy_protection_resume(cur.state, cur.pending,
						 a->why, sizeof(a->why));
	vf_time_format(cur.since, when);
	snprintf(detail, sizeof(detail), "was %s since %s",
		 vf_policy_prot_name(cur.state), when);
	memset(&next, 0, sizeof(next));
	if (!rc)
		rc = vf_protect_store(v, &next);
	rc = leave(v, a, &ch, rc, detail);
	rc = prot_reload(v, a, rc);
	if (!rc && was)
		*was = cur;
	return rc;
}

int vf_admin_protection_continue(struct vf_vault *v, struct vf_admin *a,
				 struct vf_protect *out)
{
	struct vf_protect cur;
	int rc = vf_admin_protection_get(v, a, &cur);

	/* a read-only open cannot write: the next writable one goes on */
	if (rc || !cur.pending || v->readonly)
		return rc;
	rc = vf_admin_protection_stop(v, a, VF_PROT_DELETE, out);
	return rc ? rc : 1;
}

/* ---- data key rotation ----------------------------------------------------- */

int vf_admin_key_rotate_data(struct vf_vault *v, struct vf_admin *a,
			     uint32_t *epoch, uint64_t *packs)
{
	uint32_t cur, e = 0;
	uint64_t n = 0;
	struct change ch;
	char detail[128];
	int rc;

	rc = enter(v, a, VF_OP_KEY_ROTATE, &ch);
	if (rc)
		return rc;
	ch.target = "data";
	cur = vf_datakey_current(v);
	/* the approval binds the epoch it starts */
	snprintf(ch.params, sizeof(ch.params), "data epoch=%u",
		 (unsigned)cur + 1);
	rc = vf_policy_key_rotate_data(v->store != NULL,
				       vf_datakey_floor(v) != cur, &ch.gop,
				       a->why, sizeof(a->why));
	rc = approve(v, a, &ch, rc);
	if (!rc)
		rc = vf_datakey_new_store(v, ch.now, &e, &n);
	snprintf(detail, sizeof(detail),
		 "data key epoch %u is current; %llu packs to re-encrypt",
		 (unsigned)e, (unsigned long long)n);
	rc = finish(v, a, &ch, rc, detail);
	/* in memory only once committed: a key the catalog lacks must
	 * never seal anything */
	if (!rc) {
		rc = vf_datakey_load(v);
		if (rc)
			say(a, "the new data key is stored but could not be loaded: %s (remount)",
			    strerror(-rc));
	}
	vf_vault_unlock(v);
	if (!rc) {
		*epoch = e;
		*packs = n;
	}
	return rc;
}

int vf_admin_key_rotation_run(struct vf_vault *v, struct vf_admin *a,
			      const volatile int *stop, uint64_t *moved)
{
	int rc = read_gate(v, a, VF_OP_KEY_ROTATION);

	if (rc)
		return rc;
	return read_failed(a, "re-encrypting packs",
			   vf_rotate_run(v, a->caller.uid, stop, moved));
}

/* ---- protectors -------------------------------------------------------------- */

/* Starts an edit of the vault header inside the gate (v->mu held). */
static int key_edit(struct vf_vault *v, struct vf_admin *a,
		    const struct change *ch, struct vf_protector_edit **e,
		    unsigned *n)
{
	struct vf_protector_info info[VF_PROTECTOR_MAX];
	int rc;

	*e = NULL;
	rc = vf_protector_edit_begin(v->dir, v->keystore, v->keys, ch->stamp,
				     e, a->why, sizeof(a->why));
	if (!rc)
		*n = (unsigned)vf_protector_edit_list(*e, info,
						      VF_ARRAY_LEN(info));
	return rc;
}

/* Ends a protector change: stages the new header, commits the audit
 * record (detail: what changed, never key material), then puts the
 * header in place and releases v->mu.  A record without its header is
 * possible (a failed rename after the commit: recorded as failed too);
 * a header without its record is not. */
static int key_leave(struct vf_vault *v, struct vf_admin *a, struct change *ch,
		     struct vf_protector_edit *e, int rc, const char *detail)
{
	if (!rc)
		rc = vf_protector_edit_stage(e, a->why, sizeof(a->why));
	rc = finish(v, a, ch, rc, detail);
	if (!rc) {
		rc = vf_protector_edit_publish(e, a->why, sizeof(a->why));
		/* a failure to record it changes no answer */
		if (rc && vf_audit_record(v, ch->stamp, a->caller.uid,
					  ch->rule->name, ch->target, "failed",
					  a->why))
			rc = rc ? rc : -EIO;
	}
	vf_vault_unlock(v);
	vf_protector_edit_free(e);
	return rc;
}

static void key_id_text(uint64_t id, char buf[17])
{
	snprintf(buf, 17, "%016llx", (unsigned long long)id);
}

int vf_admin_key_list(struct vf_vault *v, struct vf_admin *a,
		      struct vf_protector_info *out, size_t cap, size_t *n)
{
	struct vf_protector_edit *e = NULL;
	int rc = read_gate(v, a, VF_OP_KEY_LIST);

	if (rc)
		return rc;
	vf_vault_lock(v);
	rc = vf_protector_edit_begin(v->dir, v->keystore, v->keys,
				     stamp_of(v, a), &e, a->why,
				     sizeof(a->why));
	if (!rc)
		*n = vf_protector_edit_list(e, out, cap);
	vf_vault_unlock(v);
	vf_protector_edit_free(e);
	return read_failed(a, "reading the vault header", rc);
}

int vf_admin_key_add(struct vf_vault *v, struct vf_admin *a, uint32_t kind,
		     const uint8_t *secret, size_t len,
		     struct vf_protector_info *info)
{
	struct vf_protector_edit *e = NULL;
	struct vf_protector_info got;
	char detail[128] = "", id[17];
	struct change ch;
	unsigned n = 0;
	int rc;

	rc = enter(v, a, VF_OP_KEY_ADD, &ch);
	if (rc)
		return rc;
	rc = key_edit(v, a, &ch, &e, &n);
	if (!rc && kind == VF_PROT_RECOVERY) {
		say(a, "a recovery key is made by key export");
		rc = -EINVAL;
	}
	if (!rc)
		rc = approve(v, a, &ch,
			     vf_policy_key_add(n, VF_PROTECTOR_MAX, a->why,
					       sizeof(a->why)));
	if (!rc)
		rc = vf_protector_edit_add(e, kind, secret, len, &got, a->why,
					   sizeof(a->why));
	if (!rc) {
		key_id_text(got.id, id);
		ch.target = id;
		snprintf(detail, sizeof(detail), "added %s protector %s%s",
			 vf_protector_kind_name(kind), id,
			 vf_protector_edit_upgrades(e) ?
				 "; header upgraded to format 2" : "");
	}
	rc = key_leave(v, a, &ch, e, rc, detail);
	if (!rc && info)
		*info = got;
	return rc;
}

int vf_admin_key_remove(struct vf_vault *v, struct vf_admin *a, uint64_t id,
			struct vf_protector_info *info)
{
	struct vf_protector_info got;
	struct vf_protector_edit *e = NULL;
	char idt[17], detail[128] = "";
	struct change ch;
	unsigned n = 0;
	int rc;

	rc = enter(v, a, VF_OP_KEY_REMOVE, &ch);
	if (rc)
		return rc;
	key_id_text(id, idt);
	ch.target = idt;
	rc = key_edit(v, a, &ch, &e, &n);
	if (!rc) {
		struct vf_protector_info all[VF_PROTECTOR_MAX];
		size_t i, k = vf_protector_edit_list(e, all, VF_ARRAY_LEN(all));

		for (i = 0; i < k && all[i].id != id; i++)
			;
		if (i == k) {
			say(a, "no protector %s (see key list)", idt);
			rc = -ENOENT;
		} else {
			/* the approval binds the protector and its kind */
			snprintf(ch.params, sizeof(ch.params),
				 "protector=%s kind=%s", idt,
				 vf_protector_kind_name(all[i].kind));
		}
	}
	if (!rc)
		rc = approve(v, a, &ch,
			     vf_policy_key_remove(n, &ch.gop, a->why,
						  sizeof(a->why)));
	if (!rc)
		rc = vf_protector_edit_remove(e, id, &got, a->why,
					      sizeof(a->why));
	if (!rc)
		snprintf(detail, sizeof(detail), "removed %s protector %s",
			 vf_protector_kind_name(got.kind), idt);
	rc = key_leave(v, a, &ch, e, rc, detail);
	if (!rc && info)
		*info = got;
	return rc;
}

/* Copies the recovery key text of e into text (cap bytes). */
static int recovery_out(struct vf_admin *a, struct vf_protector_edit *e,
			char *text, size_t cap)
{
	const char *t = vf_protector_edit_recovery(e);
	size_t len = t ? strlen(t) : 0;

	if (!t || len >= cap) {
		say(a, "no room for the recovery key");
		return -EINVAL;
	}
	memcpy(text, t, len + 1);
	return 0;
}

int vf_admin_key_export(struct vf_vault *v, struct vf_admin *a, char *text,
			size_t cap, struct vf_protector_info *info)
{
	struct vf_protector_edit *e = NULL;
	struct vf_protector_info got;
	char detail[128] = "", id[17];
	struct change ch;
	unsigned n = 0;
	int rc;

	rc = enter(v, a, VF_OP_KEY_EXPORT, &ch);
	if (rc)
		return rc;
	rc = key_edit(v, a, &ch, &e, &n);
	snprintf(ch.params, sizeof(ch.params), "new recovery key; protectors=%u",
		 n);
	if (!rc)
		rc = approve(v, a, &ch,
			     vf_policy_key_export(n, VF_PROTECTOR_MAX, &ch.gop,
						  a->why, sizeof(a->why)));
	if (!rc)
		rc = vf_protector_edit_add(e, VF_PROT_RECOVERY, NULL, 0, &got,
					   a->why, sizeof(a->why));
	if (!rc)
		rc = recovery_out(a, e, text, cap);
	if (!rc) {
		key_id_text(got.id, id);
		ch.target = id;
		snprintf(detail, sizeof(detail),
			 "exported recovery key, protector %s", id);
	}
	rc = key_leave(v, a, &ch, e, rc, detail);
	if (rc)
		sodium_memzero(text, cap);
	else if (info)
		*info = got;
	return rc;
}

int vf_admin_key_rotate(struct vf_vault *v, struct vf_admin *a,
			int new_recovery, char *text, size_t cap, unsigned *n)
{
	struct vf_protector_info all[VF_PROTECTOR_MAX];
	struct vf_protector_edit *e = NULL;
	unsigned plat = 0, rec = 0, count = 0, done = 0;
	char detail[160] = "";
	struct change ch;
	size_t i, k;
	int rc;

	rc = enter(v, a, VF_OP_KEY_ROTATE, &ch);
	if (rc)
		return rc;
	rc = key_edit(v, a, &ch, &e, &count);
	if (!rc) {
		k = vf_protector_edit_list(e, all, VF_ARRAY_LEN(all));
		for (i = 0; i < k; i++) {
			plat += all[i].kind == VF_PROT_PLATFORM;
			rec += all[i].kind == VF_PROT_RECOVERY;
		}
		snprintf(ch.params, sizeof(ch.params),
			 "rotate platform=%u recovery=%u", plat, rec);
		rc = approve(v, a, &ch, vf_policy_key_rotate(&ch.gop));
	}
	if (!rc)
		rc = vf_protector_edit_rotate(e, new_recovery, &done, a->why,
					      sizeof(a->why));
	if (!rc && rec)
		rc = recovery_out(a, e, text, cap);
	if (!rc)
		snprintf(detail, sizeof(detail),
			 "new wrapping keys for %u protectors (platform %u, "
			 "recovery %u)", done, plat, rec);
	rc = key_leave(v, a, &ch, e, rc, detail);
	if (rc)
		sodium_memzero(text, cap);
	else
		*n = done;
	return rc;
}

int vf_admin_passphrase_change(struct vf_vault *v, struct vf_admin *a,
			       const uint8_t *cur, size_t curlen,
			       const uint8_t *next, size_t nextlen,
			       uint64_t *id)
{
	struct vf_protector_edit *e = NULL;
	char detail[128] = "", idt[17];
	struct change ch;
	uint64_t got = 0;
	unsigned n = 0;
	int rc;

	rc = enter(v, a, VF_OP_PASSPHRASE_CHANGE, &ch);
	if (rc)
		return rc;
	rc = key_edit(v, a, &ch, &e, &n);
	snprintf(ch.params, sizeof(ch.params), "new passphrase; protectors=%u",
		 n);
	if (!rc)
		rc = approve(v, a, &ch, vf_policy_passphrase_change(&ch.gop));
	if (!rc)
		rc = vf_protector_edit_passphrase(e, cur, curlen, next, nextlen,
						  &got, a->why,
						  sizeof(a->why));
	if (!rc) {
		key_id_text(got, idt);
		ch.target = idt;
		snprintf(detail, sizeof(detail),
			 "passphrase changed, now protector %s", idt);
	}
	rc = key_leave(v, a, &ch, e, rc, detail);
	if (!rc && id)
		*id = got;
	return rc;
}
