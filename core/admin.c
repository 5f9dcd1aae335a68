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
 *            parameters (vf_admin_approve); the nonce of a valid token
 *            joins the transaction;
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
 *     (vf_admin_bounded_text never needs cutting or escaping);
 *   - nothing changes without its audit record (fails closed).
 *
 * This file holds the gate's steps (declared in admin_int.h), the reading
 * operations, monitoring, alerts and maintenance; the changes of settings
 * are in admin_policy.c, of roles, guard, tripwire and stop protection in
 * admin_security.c, of keys in admin_keys.c.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include <sodium.h>

#include "alert.h"
#include "report.h"
#include "audit.h"
#include "ship.h"
#include "admin_int.h"
#include "vault_int.h"

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

void VF_PRINTF(2, 3) vf_admin_say(struct vf_admin *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(a->why, sizeof(a->why), fmt, ap);
	va_end(ap);
}

/* Prefixes the reason in a->why with the quoted name it concerns. */
void vf_admin_say_about(struct vf_admin *a, const char *name)
{
	char tmp[VF_ADMIN_WHY_MAX];

	snprintf(tmp, sizeof(tmp), "%s", a->why);
	vf_admin_say(a, "'%s' %s", *name ? name : "/", tmp);
}

/* src as a name the guard can read and its signature binds as it is:
 * printable ASCII but the backslash (anything else becomes '?'), at most
 * cap - 1 bytes, cut with "..." at the end when longer.  The object is
 * bound by its id beside it, so what is cut or replaced loses nothing. */
void vf_admin_bounded_text(char *dst, size_t cap, const char *src)
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
		vf_admin_say(a, "unknown operation");
		return -EINVAL;
	}
	have = vf_vault_role_of(v, &a->caller);
	if (have < r->least) {
		/* counted, not logged one by one: a flood cannot fill the
		 * log */
		vf_audit_denied(v, a->caller.uid, r->name, now);
		vf_admin_say(a, "%s needs the %s role (you have %s)", r->name,
			     vf_role_name(r->least), vf_role_name(have));
		return -EACCES;
	}
	if (r->changes && v->readonly) {
		vf_admin_say(a, "the vault is mounted read-only");
		return -EROFS;
	}
	return 0;
}

/* The time decisions read: the vault clock (vclock.h), which a wall clock
 * moved before the open moves by at most the credit. */
int64_t vf_admin_now_of(struct vf_vault *v, const struct vf_admin *a)
{
	return a->now ? a->now : vf_vault_now(v);
}

/* The time records carry and a guard token's expiry is checked against:
 * the later of the wall and vault clocks, so that neither a clock set
 * back nor a vault clock behind the wall keeps a token valid longer. */
int64_t vf_admin_stamp_of(struct vf_vault *v, const struct vf_admin *a)
{
	return a->now ? a->now : vf_vault_stamp(v);
}

/* Role check, then v->mu and the outer transaction.  On failure nothing
 * is held. */
int vf_admin_enter(struct vf_vault *v, struct vf_admin *a, enum vf_admin_op op,
		   struct vf_admin_change *ch)
{
	int rc;

	memset(ch, 0, sizeof(*ch));
	ch->op = op;
	ch->rule = vf_policy_op(op);
	ch->now = vf_admin_now_of(v, a);
	ch->stamp = vf_admin_stamp_of(v, a);
	rc = allowed(v, a, op, ch->stamp);
	if (rc)
		return rc;
	vf_vault_lock(v);
	rc = vf_catalog_begin(v->cat);
	if (rc) {
		vf_vault_unlock(v);
		vf_admin_say(a, "cannot start a catalog transaction: %s",
			     strerror(-rc));
	}
	return rc;
}

/* Takes a decision (VF_ALLOW, VF_CRITICAL or -errno, the reason already
 * in a->why) to a verdict: 0 to go on.  A critical change needs the
 * guard's approval of ch->gop with ch->params. */
int vf_admin_approve(struct vf_vault *v, struct vf_admin *a,
		     struct vf_admin_change *ch, int decision)
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
int vf_admin_finish(struct vf_vault *v, struct vf_admin *a,
		    struct vf_admin_change *ch, int rc, const char *detail)
{
	int rec = 0;

	if (!rc)
		rc = vf_audit_record(v, ch->stamp, a->caller.uid,
				     ch->rule->name, ch->target, "ok",
				     detail && *detail ? detail : NULL);
	rc = vf_catalog_finish(v->cat, rc);
	if (rc && !a->why[0])
		vf_admin_say(a, "%s", strerror(-rc));
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
int vf_admin_leave(struct vf_vault *v, struct vf_admin *a,
		   struct vf_admin_change *ch, int rc, const char *detail)
{
	rc = vf_admin_finish(v, a, ch, rc, detail);
	vf_vault_unlock(v);
	return rc;
}

/* ---- reading operations ---------------------------------------------------- */

int vf_admin_read_gate(struct vf_vault *v, struct vf_admin *a,
		       enum vf_admin_op op)
{
	return allowed(v, a, op, vf_admin_stamp_of(v, a));
}

/* Sets a->why for a reading operation that failed. */
int vf_admin_read_failed(struct vf_admin *a, const char *what, int rc)
{
	if (rc < 0 && !a->why[0])
		vf_admin_say(a, "%s failed: %s", what, strerror(-rc));
	return rc;
}

int vf_admin_status(struct vf_vault *v, struct vf_admin *a,
		    struct vf_status *out)
{
	int rc = vf_admin_read_gate(v, a, VF_OP_STATUS);

	if (!rc)
		rc = vf_admin_read_failed(a, "reading the status",
					  vf_vault_status(v, out));
	return rc;
}

int vf_admin_sync(struct vf_vault *v, struct vf_admin *a, int timeout_s)
{
	int rc = vf_admin_read_gate(v, a, VF_OP_STATUS);

	if (!rc)
		rc = vf_ship_sync(v, timeout_s, a->why, sizeof(a->why));
	return rc;
}

int vf_admin_check(struct vf_vault *v, struct vf_admin *a, int read_data,
		   vf_check_cb cb, void *arg)
{
	int rc = vf_admin_read_gate(v, a, VF_OP_CHECK);

	if (!rc)
		rc = vf_admin_read_failed(a, "the check",
					  vf_vault_check_progress(v, read_data,
								  cb, arg,
								  a->progress));
	if (rc == 0 && !v->readonly) {
		/* a clean check's time, for metrics; failing to keep it
		 * changes no answer */
		int r;

		vf_vault_lock(v);
		r = vf_catalog_begin(v->cat);
		if (!r)
			r = vf_catalog_finish(
			    v->cat,
			    vf_catalog_meta_set(v->cat, "check.ok_t",
						vf_admin_stamp_of(v, a)));
		vf_vault_unlock(v);
		(void)r;
	}
	return rc;
}

int vf_admin_snapshots(struct vf_vault *v, struct vf_admin *a, vf_snap_cb cb,
		       void *arg)
{
	int rc = vf_admin_read_gate(v, a, VF_OP_SNAPSHOTS);

	if (!rc)
		rc = vf_admin_read_failed(
		    a, "listing snapshots",
		    vf_vault_snapshots(v, vf_admin_stamp_of(v, a), cb, arg));
	return rc;
}

int vf_admin_policy_get(struct vf_vault *v, struct vf_admin *a,
			struct vf_retention *out)
{
	int rc = vf_admin_read_gate(v, a, VF_OP_POLICY_SHOW);

	if (!rc)
		rc = vf_admin_read_failed(a, "reading the retention policy",
					  vf_vault_policy_get(v, out));
	return rc;
}

int vf_admin_softdelete_get(struct vf_vault *v, struct vf_admin *a,
			    struct vf_softdelete *out)
{
	int rc = vf_admin_read_gate(v, a, VF_OP_SD_SHOW);

	if (!rc)
		rc = vf_admin_read_failed(a, "reading the soft-delete settings",
					  vf_vault_softdelete_get(v, out));
	return rc;
}

int vf_admin_softdelete_list(struct vf_vault *v, struct vf_admin *a,
			     vf_trash_cb cb, void *arg)
{
	int rc = vf_admin_read_gate(v, a, VF_OP_SD_LIST);

	if (!rc)
		rc = vf_admin_read_failed(
		    a, "listing soft-deleted items",
		    vf_vault_softdelete_list(v, vf_admin_now_of(v, a), cb,
					     arg));
	return rc;
}

int vf_admin_immutable_list(struct vf_vault *v, struct vf_admin *a,
			    vf_imm_cb cb, void *arg)
{
	int rc = vf_admin_read_gate(v, a, VF_OP_IMM_LIST);

	if (!rc)
		rc = vf_admin_read_failed(a, "listing immutable directories",
					  vf_vault_immutable_list(v, cb, arg));
	return rc;
}

int vf_admin_immutable_vault_get(struct vf_vault *v, struct vf_admin *a,
				 struct vf_imm_vault *out)
{
	int rc = vf_admin_read_gate(v, a, VF_OP_IMM_VAULT_SHOW);

	if (!rc)
		rc = vf_admin_read_failed(a,
					  "reading the immutable vault setting",
					  vf_vault_immutable_vault_get(v, out));
	return rc;
}

int vf_admin_role_list(struct vf_vault *v, struct vf_admin *a, vf_role_cb cb,
		       void *arg)
{
	int rc = vf_admin_read_gate(v, a, VF_OP_ROLE_LIST);

	if (!rc)
		rc = vf_admin_read_failed(a, "listing role grants",
					  vf_vault_role_list(v, cb, arg));
	return rc;
}

int vf_admin_guard_show(struct vf_vault *v, struct vf_admin *a,
			struct vf_guard_info *out)
{
	struct vf_guard_set set;
	size_t i;
	int rc = vf_admin_read_gate(v, a, VF_OP_GUARD_SHOW);

	if (rc)
		return rc;
	vf_vault_lock(v);
	rc = vf_guard_set_load(v, &set);
	vf_vault_unlock(v);
	if (rc == 0) {
		vf_admin_say(a, "no guard is attached");
		return -ENOENT;
	}
	if (rc < 0)
		return vf_admin_read_failed(
		    a, "reading the attached guard keys", rc);
	memset(out, 0, sizeof(*out));
	for (i = 0; i < set.n; i++) {
		vf_guard_key_fpr(&set.keys[i], out->fprs[i]);
		rc = vf_guard_key_format(&set.keys[i], out->keys[i],
					 sizeof(out->keys[i]));
		if (rc)
			return vf_admin_read_failed(a, "formatting a guard key",
						    rc);
	}
	out->n = set.n;
	out->quorum = set.quorum;
	return 0;
}

int vf_admin_audit_list(struct vf_vault *v, struct vf_admin *a, int64_t since,
			vf_audit_cb cb, void *arg)
{
	int rc = vf_admin_read_gate(v, a, VF_OP_AUDIT_LIST);

	if (!rc)
		rc = vf_admin_read_failed(
		    a, "listing the audit log",
		    vf_vault_audit_list(v, since, cb, arg));
	return rc;
}

int vf_admin_audit_verify(struct vf_vault *v, struct vf_admin *a,
			  vf_audit_problem_cb cb, void *arg)
{
	int rc = vf_admin_read_gate(v, a, VF_OP_AUDIT_VERIFY);

	if (!rc)
		rc = vf_admin_read_failed(a, "verifying the audit log",
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
	int64_t now = vf_admin_now_of(v, a);
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
		return vf_admin_read_failed(
		    a, "reading the settings the posture is made of", rc);
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
	int rc = vf_admin_read_gate(v, a, VF_OP_POSTURE);

	return rc ? rc : posture_of(v, a, out);
}

/* ---- monitoring ------------------------------------------------------------ */

int vf_admin_metrics(struct vf_vault *v, struct vf_admin *a, FILE *f)
{
	struct vf_posture p;
	int rc = vf_admin_read_gate(v, a, VF_OP_METRICS);

	if (!rc)
		rc = posture_of(v, a, &p);
	if (!rc)
		rc = vf_admin_read_failed(a, "writing the metrics",
					  vf_metrics_write(v, &p, f));
	return rc;
}

int vf_admin_report(struct vf_vault *v, struct vf_admin *a, int64_t since,
		    struct vf_report *out)
{
	int rc = vf_admin_read_gate(v, a, VF_OP_REPORT);

	if (!rc)
		rc = vf_admin_read_failed(
		    a, "building the report",
		    vf_report_build(v, since, vf_admin_stamp_of(v, a), out));
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
	int rc = vf_admin_read_gate(v, a, VF_OP_ALERTS);

	if (!rc)
		rc = vf_admin_read_failed(
		    a, "listing alerts",
		    vf_vault_audit_list(v, since, alert_only, &f));
	return rc;
}

int vf_admin_alert_ack(struct vf_vault *v, struct vf_admin *a, int64_t id)
{
	struct alert_filter f = { NULL, NULL, id, 0 };
	char target[32];
	int rc = vf_admin_read_gate(v, a, VF_OP_ALERT_ACK);

	if (rc)
		return rc;
	rc = id > 0 ? vf_vault_audit_list(v, 0, alert_only, &f) : 0;
	if (rc < 0)
		return vf_admin_read_failed(a, "reading the audit log", rc);
	if (!f.found) {
		vf_admin_say(a, "no alert #%lld", (long long)id);
		return -ENOENT;
	}
	snprintf(target, sizeof(target), "#%lld", (long long)id);
	rc = vf_vault_audit(v, a->caller.uid, vf_policy_op(VF_OP_ALERT_ACK)->name,
			    target, "ok", NULL);
	return vf_admin_read_failed(a, "recording the acknowledgement", rc);
}

int vf_admin_alert_mute(struct vf_vault *v, struct vf_admin *a,
			enum vf_alert_kind kind, int64_t dur, int64_t *until)
{
	struct vf_admin_change ch;
	int64_t to = 0;
	int rc;

	if ((unsigned)kind >= VF_ALERT_KIND_COUNT || dur < 0) {
		vf_admin_say(a, "no such kind of alert");
		return -EINVAL;
	}
	rc = vf_admin_enter(v, a, VF_OP_ALERT_MUTE, &ch);
	if (rc)
		return rc;
	if (dur)
		to = ch.now + dur;
	snprintf(ch.params, sizeof(ch.params), "kind=%s for=%llds",
		 vf_alert_kind_name(kind), (long long)(dur / VF_NS));
	rc = vf_admin_approve(v, a, &ch,
			      vf_policy_alert_mute(vf_alert_muted(v, kind), to,
						   ch.now, &ch.gop, a->why,
						   sizeof(a->why)));
	if (!rc)
		rc = vf_alert_mute_store(v, kind, to);
	rc = vf_admin_leave(v, a, &ch, rc, ch.params);
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
	int k, rc = vf_admin_read_gate(v, a, VF_OP_ALERTS);

	if (rc)
		return rc;
	now = vf_admin_now_of(v, a);
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
int vf_admin_frozen(struct vf_vault *v, struct vf_admin *a, const char *what)
{
	int64_t since = __atomic_load_n(&v->trip_frozen, __ATOMIC_RELAXED);
	char when[32];

	if (!since)
		return 0;
	vf_time_format(since, when);
	vf_admin_say(a,
		     "%s refused: frozen by the tripwire since %s (vaultctl "
		     "tripwire status; lifted by vaultctl tripwire release)",
		     what, when);
	return -EPERM;
}

/* Records what a long operation (prune, gc, snapshot) did: it works in
 * batches of its own, so its record follows it.  A record that cannot be
 * written turns success into failure (nothing that it did is hidden from
 * the log: what it did stays done, and the caller is told). */
int vf_admin_record_after(struct vf_vault *v, struct vf_admin *a,
			  enum vf_admin_op op, int rc, const char *detail)
{
	int rec;

	rec = vf_vault_audit(v, a->caller.uid, vf_policy_op(op)->name, NULL,
			     result_of(rc),
			     rc ? (a->why[0] ? a->why : strerror(-rc)) :
				  detail);
	if (!rc && rec < 0) {
		vf_admin_say(
		    a, "done, but recording it in the audit log failed: %s",
		    strerror(-rec));
		rc = rec;
	}
	return rc;
}

int vf_admin_snapshot(struct vf_vault *v, struct vf_admin *a, const char *tag,
		      int64_t *t)
{
	char detail[96];
	int rc = vf_admin_read_gate(v, a, VF_OP_SNAPSHOT);

	if (rc)
		return rc;
	rc = vf_admin_read_failed(a, "marking the snapshot",
				  vf_vault_snapshot(v, tag, t));
	if (!rc)
		vf_time_format(*t, detail);
	return vf_admin_record_after(v, a, VF_OP_SNAPSHOT, rc,
				     rc ? NULL : detail);
}

int vf_admin_prune(struct vf_vault *v, struct vf_admin *a, int dry_run,
		   vf_prune_cb cb, void *arg, struct vf_prune_stats *st)
{
	char detail[96];
	int rc = vf_admin_read_gate(v, a, VF_OP_PRUNE);

	if (rc)
		return rc;
	if (!dry_run && (rc = vf_admin_frozen(v, a, "prune")))
		return vf_admin_record_after(v, a, VF_OP_PRUNE, rc, NULL);
	rc = vf_admin_read_failed(
	    a, "prune",
	    vf_vault_prune_progress(v, vf_admin_now_of(v, a), dry_run, cb, arg,
				    st, a->progress));
	if (dry_run)
		return rc;
	snprintf(detail, sizeof(detail), "removed %llu versions (%llu bytes)",
		 (unsigned long long)st->removed,
		 (unsigned long long)st->removed_bytes);
	return vf_admin_record_after(v, a, VF_OP_PRUNE, rc, detail);
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
	int rc = vf_admin_read_failed(a, "gc",
				      vf_vault_gc_progress(v, st, a->progress));

	memset(&st->store, 0, sizeof(st->store));
	if (!rc)
		rc = vf_vault_store_gc(v, &st->store, a->why, sizeof(a->why));
	return rc;
}

int vf_admin_gc(struct vf_vault *v, struct vf_admin *a, struct vf_gc_stats *st)
{
	char detail[512], sd[384];
	int rc = vf_admin_read_gate(v, a, VF_OP_GC);

	if (rc)
		return rc;
	if ((rc = vf_admin_frozen(v, a, "gc")))
		return vf_admin_record_after(v, a, VF_OP_GC, rc, NULL);
	rc = gc_both(v, a, st);
	store_detail(&st->store, sd, sizeof(sd));
	snprintf(detail, sizeof(detail),
		 "purged %llu items, freed %llu chunks, removed %llu packs%s",
		 (unsigned long long)st->purged,
		 (unsigned long long)st->chunks_freed,
		 (unsigned long long)st->packs_removed, sd);
	return vf_admin_record_after(v, a, VF_OP_GC, rc, detail);
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
	int rc = vf_admin_read_gate(v, a, VF_OP_MAINTAIN);

	memset(st, 0, sizeof(*st));
	snprintf(detail, cap, "nothing to do");
	if (rc)
		return rc;
	/* Frozen by the tripwire: everything stays past its time, and an
	 * hourly record of it would bury the log (status shows it). */
	if (vf_admin_frozen(v, a, "maintenance")) {
		snprintf(detail, cap, "%s", a->why);
		a->why[0] = '\0';
		return 0;
	}
	rc = vf_admin_read_failed(a, "prune",
				  vf_vault_prune(v, vf_admin_now_of(v, a), 0,
						 NULL, NULL, &st->prune));
	if (!rc)
		rc = vf_admin_read_failed(a, "gc", vf_vault_gc(v, &st->gc));
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
	rc = vf_admin_record_after(v, a, VF_OP_MAINTAIN, rc, detail);
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
		note_maintenance(v, vf_admin_stamp_of(v, a), rc, st);
		/* the day's sizes for the report; a failure changes no
		 * answer (the next run writes the day again) */
		if (vf_metrics_sizes(v, &s) == 0) {
			int r = vf_metrics_record_day(v, &s);

			(void)r;
		}
	}
	return rc;
}
