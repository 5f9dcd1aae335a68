/*
 * admin_security.c - the gate's operations on who may do what and on
 * what stops a change: roles and the guard, the ransomware tripwire and
 * stop protection (docs/protection.md).  Each runs the gate's steps
 * (admin.c's opening comment; admin_int.h).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include <sodium.h>

#include "authz.h"
#include "facade.h"
#include "trip.h"
#include "vault_int.h"
#include "admin_int.h"

/* ---- roles and the guard ----------------------------------------------------- */

int vf_admin_role_grant(struct vf_vault *v, struct vf_admin *a, int is_group,
			uint32_t id, enum vf_role role, enum vf_role *was)
{
	struct vf_admin_change ch;
	enum vf_role cur;
	char who[32], detail[64];
	int rc, stored;

	rc = vf_admin_enter(v, a, VF_OP_ROLE_GRANT, &ch);
	if (rc)
		return rc;
	snprintf(who, sizeof(who), "%s:%lu", is_group ? "group" : "user",
		 (unsigned long)id);
	ch.target = who;
	cur = vf_authz_grant(v, is_group, id);
	snprintf(ch.params, sizeof(ch.params), "principal=%s role=%s", who,
		 vf_role_name(role));
	rc = vf_admin_approve(v, a, &ch,
			      vf_policy_role_change(is_group, id, cur, role,
						    &ch.gop, a->why,
						    sizeof(a->why)));
	stored = !rc;
	if (!rc)
		rc = vf_authz_store(v, is_group, id, role);
	snprintf(detail, sizeof(detail), "role=%s was=%s", vf_role_name(role),
		 vf_role_name(cur));
	rc = vf_admin_finish(v, a, &ch, rc, detail);
	/* the grants in memory follow the catalog, whichever way it went */
	if (stored && vf_authz_reload(v) < 0 && !rc) {
		vf_admin_say(
		    a, "the grant was stored, but reloading the grants failed");
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
			vf_admin_bounded_text(shown, 80, keys[i]);
			vf_admin_say(
			    a,
			    "'%s' is not a guard public key (vfguard1:... as "
			    "printed by vaultctl guard keygen, or an "
			    "ssh-ed25519 or sk-ssh-ed25519@openssh.com "
			    "public key line)",
			    shown);
			return -EINVAL;
		}
		for (j = 0; j < i; j++)
			if (vf_sshkey_equal(&set->keys[i], &set->keys[j])) {
				vf_admin_bounded_text(shown, 80, keys[i]);
				vf_admin_say(a, "'%s' is given twice", shown);
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
	struct vf_admin_change ch;
	int rc, have;

	if (old_fprs)
		old_fprs[0] = '\0';
	rc = vf_admin_enter(v, a, VF_OP_GUARD_ATTACH, &ch);
	if (rc)
		return rc;
	rc = guard_set_of(a, keys, nkeys, quorum, &next);
	if (rc)
		return vf_admin_leave(v, a, &ch, rc, NULL);
	vf_guard_set_fprs(&next, fprs, sizeof(fprs));
	ch.target = fprs;
	have = vf_guard_set_load(v, &cur);
	if (have < 0) {
		vf_admin_say(a, "cannot read the attached guard keys: %s",
			     have == -EIO ? "damaged catalog entry"
					  : strerror(-have));
		return vf_admin_leave(v, a, &ch, have, NULL);
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
	rc = vf_admin_approve(
	    v, a, &ch,
	    vf_policy_guard_change(have, 0, &ch.gop, a->why, sizeof(a->why)));
	if (!rc)
		rc = vf_guard_set_store(v, &next);
	snprintf(detail, sizeof(detail), "quorum=%u%s%s", quorum,
		 have ? " replaced " : "", old);
	rc = vf_admin_leave(v, a, &ch, rc, detail);
	if (!rc && old_fprs)
		memcpy(old_fprs, old, sizeof(old));
	return rc;
}

int vf_admin_guard_detach(struct vf_vault *v, struct vf_admin *a,
			  char *fprs_out)
{
	char fprs[VF_GUARD_FPRS_TEXT] = "";
	struct vf_guard_set cur;
	struct vf_admin_change ch;
	int rc, have;

	rc = vf_admin_enter(v, a, VF_OP_GUARD_DETACH, &ch);
	if (rc)
		return rc;
	have = vf_guard_set_load(v, &cur);
	if (have < 0) {
		vf_admin_say(a, "cannot read the attached guard keys: %s",
			     have == -EIO ? "damaged catalog entry"
					  : strerror(-have));
		return vf_admin_leave(v, a, &ch, have, NULL);
	}
	if (have)
		vf_guard_set_fprs(&cur, fprs, sizeof(fprs));
	ch.target = fprs[0] ? fprs : NULL;
	rc = vf_admin_approve(
	    v, a, &ch,
	    vf_policy_guard_change(have, 1, &ch.gop, a->why, sizeof(a->why)));
	if (!rc)
		rc = vf_guard_key_drop(v);
	rc = vf_admin_leave(v, a, &ch, rc, NULL);
	if (!rc && fprs_out)
		memcpy(fprs_out, fprs, sizeof(fprs));
	return rc;
}

/* ---- the ransomware tripwire ------------------------------------------------ */

int vf_admin_trip_status(struct vf_vault *v, struct vf_admin *a,
			 struct vf_trip_status *out)
{
	int rc = vf_admin_read_gate(v, a, VF_OP_TRIP_STATUS);

	if (rc)
		return rc;
	vf_vault_lock(v);
	rc = vf_trip_status(v, vf_admin_now_of(v, a), out);
	vf_vault_unlock(v);
	return vf_admin_read_failed(a, "reading the tripwire's state", rc);
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
		vf_admin_say(a,
			     "the change was stored, but reloading the "
			     "tripwire's state failed: %s",
			     strerror(-rc));
	return rc;
}

int vf_admin_trip_release(struct vf_vault *v, struct vf_admin *a,
			  int64_t *since)
{
	struct vf_trip_status cur;
	struct vf_admin_change ch;
	char when[32], snap[32];
	int rc;

	rc = vf_admin_enter(v, a, VF_OP_TRIP_RELEASE, &ch);
	if (rc)
		return rc;
	rc = vf_trip_status(v, ch.now, &cur);
	if (rc)
		vf_admin_say(a, "reading the tripwire's state failed: %s",
			     strerror(-rc));
	vf_time_format(cur.frozen_at, when);
	vf_time_format(cur.snap_at, snap);
	/* the approval binds this firing: its time and snapshot point */
	snprintf(ch.params, sizeof(ch.params), "frozen=%s snapshot=%s uid=%lu",
		 when, snap, (unsigned long)cur.fired_uid);
	if (!rc)
		rc = vf_policy_trip_release(cur.frozen_at, &ch.gop, a->why,
					    sizeof(a->why));
	rc = vf_admin_approve(v, a, &ch, rc);
	if (!rc)
		rc = vf_trip_release_store(v);
	rc = vf_admin_leave(v, a, &ch, rc, ch.params);
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
	struct vf_admin_change ch;
	char until[32];
	int rc;

	rc = vf_admin_enter(v, a, VF_OP_TRIP_SET, &ch);
	if (rc)
		return rc;
	rc = vf_trip_status(v, ch.now, &cur);
	if (rc)
		vf_admin_say(a, "reading the tripwire's state failed: %s",
			     strerror(-rc));
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
	rc = vf_admin_approve(v, a, &ch, rc);
	if (!rc)
		rc = vf_trip_settings_store(v, &next);
	rc = vf_admin_leave(v, a, &ch, rc, ch.params);
	rc = trip_reload(v, a, rc);
	if (!rc && out)
		*out = next;
	return rc;
}

int vf_admin_trip_exempt(struct vf_vault *v, struct vf_admin *a,
			 const struct vf_trip_exempt *e, unsigned days)
{
	struct vf_trip_exempt x = *e;
	struct vf_admin_change ch;
	size_t i;
	int rc;

	rc = vf_admin_enter(v, a, VF_OP_TRIP_FP, &ch);
	if (rc)
		return rc;
	x.ext[VF_TRIP_EXT_MAX] = '\0';
	for (i = 0; x.is_ext && x.ext[i]; i++)
		if (!isalnum((unsigned char)x.ext[i]))
			break;
		else
			x.ext[i] = (char)tolower((unsigned char)x.ext[i]);
	if (x.is_ext && (!i || x.ext[i])) {
		vf_admin_say(a, "not an extension: 1 to %d letters or digits",
			     VF_TRIP_EXT_MAX);
		return vf_admin_leave(v, a, &ch, -EINVAL, NULL);
	}
	if (x.is_ext)
		snprintf(ch.params, sizeof(ch.params), "ext=%s days=%u", x.ext,
			 days);
	else
		snprintf(ch.params, sizeof(ch.params), "uid=%lu days=%u",
			 (unsigned long)x.uid, days);
	ch.target = ch.params;
	x.until = ch.now + (int64_t)days * 86400 * VF_NS;
	rc = vf_admin_approve(
	    v, a, &ch,
	    vf_policy_trip_exempt(days, &ch.gop, a->why, sizeof(a->why)));
	if (!rc) {
		rc = vf_trip_exempt_store(v, &x, ch.now);
		if (rc == -ENOSPC)
			vf_admin_say(a,
				     "%d false positives are marked already; "
				     "wait until one expires",
				     VF_TRIP_EXEMPT_MAX);
	}
	rc = vf_admin_leave(v, a, &ch, rc, NULL);
	return trip_reload(v, a, rc);
}

/* ---- stop protection (docs/protection.md) --------------------------------- */

int vf_admin_protection_get(struct vf_vault *v, struct vf_admin *a,
			    struct vf_protect *out)
{
	int rc = vf_admin_read_gate(v, a, VF_OP_STATUS);

	if (rc)
		return rc;
	vf_vault_lock(v);
	rc = vf_protect_get(v, out);
	vf_vault_unlock(v);
	return vf_admin_read_failed(a, "reading the protection state", rc);
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
		vf_admin_say(a,
			     "the change was stored, but reloading the "
			     "protection state failed: %s",
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
	struct vf_admin_change ch;
	char detail[200];
	int rc = vf_vault_delete_all(v, a->caller.uid, &ds);

	if (rc) {
		vf_admin_say(
		    a,
		    "deleting the files stopped after %llu: %s (vaultctl "
		    "protection stop --delete goes on with it)",
		    (unsigned long long)ds.deleted, strerror(-rc));
		return vf_admin_record_after(v, a, VF_OP_PROT_STOP, rc, NULL);
	}
	rc = vf_admin_enter(v, a, VF_OP_PROT_STOP, &ch);
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
	return vf_admin_leave(v, a, &ch, rc, detail);
}

int vf_admin_protection_stop(struct vf_vault *v, struct vf_admin *a,
			     enum vf_prot_state mode, struct vf_protect *out)
{
	struct vf_protect cur, next;
	struct vf_softdelete sd;
	struct vf_admin_change ch;
	int rc, going_on;

	rc = vf_admin_enter(v, a, VF_OP_PROT_STOP, &ch);
	if (rc)
		return rc;
	rc = vf_protect_get(v, &cur);
	if (!rc)
		rc = vf_trash_settings(v, &sd);
	if (rc)
		vf_admin_say(a, "reading the protection state failed: %s",
			     strerror(-rc));
	/* the approval binds the mode; the vault is bound by the token */
	snprintf(ch.params, sizeof(ch.params), "mode=%s",
		 mode == VF_PROT_DELETE ? "delete" : "retain");
	if (!rc)
		rc = vf_policy_protection_stop(cur.state, cur.pending, mode,
					       !sd.off, &ch.gop, a->why,
					       sizeof(a->why));
	going_on = !rc && cur.pending;
	rc = vf_admin_approve(v, a, &ch, rc);
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
	rc = vf_admin_leave(v, a, &ch, rc,
			    going_on ? "mode=delete: the walk goes on"
				     : ch.params);
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
	struct vf_admin_change ch;
	char detail[96], when[32];
	int rc;

	rc = vf_admin_enter(v, a, VF_OP_PROT_RESUME, &ch);
	if (rc)
		return rc;
	rc = vf_protect_get(v, &cur);
	if (rc)
		vf_admin_say(a, "reading the protection state failed: %s",
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
	rc = vf_admin_leave(v, a, &ch, rc, detail);
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
