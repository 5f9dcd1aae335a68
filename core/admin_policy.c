/*
 * admin_policy.c - the gate's settings operations: retention policy, the
 * disk reserve, soft delete and immutability.  Each runs the gate's steps
 * (admin.c's opening comment; admin_int.h).
 */

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include <sodium.h>

#include "gc.h"
#include "immut.h"
#include "trash.h"
#include "vault_int.h"
#include "admin_int.h"

/* The room a name gets in an approval's parameters; the rest of the 256
 * bytes is for ids and numbers. */
#define SHOWN_NAME 120

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
	struct vf_admin_change ch;
	char w[32];
	int rc;

	rc = vf_admin_enter(v, a, VF_OP_POLICY_SET, &ch);
	if (rc)
		return rc;
	rc = vf_gc_policy(v, &cur);
	if (!rc)
		rc = vf_immut_vault(v, &iv);
	if (rc)
		vf_admin_say(a, "reading the current settings failed: %s",
			     strerror(-rc));
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
		rc = vf_admin_approve(
		    v, a, &ch,
		    vf_policy_retention_change(&cur, &next, &iv, &ch.gop,
					       a->why, sizeof(a->why)));
	if (!rc)
		rc = vf_gc_policy_store(v, &next);
	rc = vf_admin_leave(v, a, &ch, rc, ch.params);
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
	struct vf_admin_change ch;
	uint64_t fs = 0, cur = __atomic_load_n(&v->reserve, __ATOMIC_RELAXED);
	int rc;

	rc = vf_admin_enter(v, a, VF_OP_RESERVE_SET, &ch);
	if (rc)
		return rc;
	rc = vf_immut_vault(v, &iv);
	if (rc)
		vf_admin_say(a, "reading the current settings failed: %s",
			     strerror(-rc));
	if (!rc && statvfs(v->dir, &st) < 0) {
		rc = -errno;
		vf_admin_say(
		    a, "cannot read the size of the vault's filesystem: %s",
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
		rc = vf_admin_approve(
		    v, a, &ch,
		    vf_policy_reserve_change(cur, bytes, fs, iv.on, &ch.gop,
					     a->why, sizeof(a->why)));
	if (!rc)
		rc = vf_catalog_meta_set(v->cat, "reserve.bytes",
					 bytes == VF_POLICY_RESERVE_DEFAULT ?
						 -1 :
						 (int64_t)bytes);
	rc = vf_admin_leave(v, a, &ch, rc, ch.params);
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
	struct vf_admin_change ch;
	char detail[48] = "";
	int rc;

	rc = vf_admin_enter(v, a, VF_OP_SD_SET, &ch);
	if (rc)
		return rc;
	rc = vf_trash_settings(v, &cur);
	if (!rc)
		rc = vf_immut_vault(v, &iv);
	if (rc)
		vf_admin_say(a, "reading the current settings failed: %s",
			     strerror(-rc));
	if (what == VF_SD_DAYS) {
		snprintf(ch.params, sizeof(ch.params), "days=%u", days);
		snprintf(detail, sizeof(detail), "days=%u (was %u)", days,
			 rc ? 0 : cur.days);
	} else if ((unsigned)what < VF_ARRAY_LEN(names) && names[what]) {
		snprintf(detail, sizeof(detail), "%s", names[what]);
	}
	if (!rc)
		rc = vf_admin_approve(
		    v, a, &ch,
		    vf_policy_softdelete(&cur, iv.on, what, days, ch.now, &next,
					 &ch.gop, a->why, sizeof(a->why)));
	if (!rc)
		rc = vf_trash_settings_store(v, &next);
	rc = vf_admin_leave(v, a, &ch, rc, detail);
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
	struct vf_admin_change ch;
	char shown[SHOWN_NAME + 1], when[32], detail[96] = "";
	int rc;

	*n = 0;
	rc = vf_admin_enter(v, a, VF_OP_SD_PURGE, &ch);
	if (rc)
		return rc;
	ch.target = path;
	rc = vf_trash_settings(v, &sd);
	if (!rc)
		rc = vf_immut_vault(v, &iv);
	if (rc)
		vf_admin_say(a, "reading the current settings failed: %s",
			     strerror(-rc));
	/* Refusals that no approval lifts come first: nothing is asked
	 * for an operation the vault would refuse anyway. */
	if (!rc)
		rc = vf_admin_frozen(v, a, "purging");
	if (!rc)
		rc = vf_policy_purge(&sd, iv.on, ch.now, &ch.gop, a->why,
				     sizeof(a->why));
	if (rc >= 0) {
		int found = vf_trash_find(v, path, ch.now, &it);

		if (found == -ENOENT)
			vf_admin_say(a, "'%s' is not in .softdeleted", path);
		else if (found)
			vf_admin_say(a, "cannot find '%s' in .softdeleted: %s",
				     path, strerror(-found));
		rc = found ? found : rc;
	}
	if (rc >= 0) {
		/* The approval binds the item itself, not what is called
		 * path by the time it is used. */
		vf_admin_bounded_text(shown, sizeof(shown), path);
		vf_time_format(it.deleted_at, when);
		snprintf(ch.params, sizeof(ch.params),
			 "item=%lld deleted=%s size=%llu files=%llu path=%s",
			 (long long)it.id, when, (unsigned long long)it.size,
			 (unsigned long long)it.files, shown);
	}
	rc = vf_admin_approve(v, a, &ch, rc);
	if (!rc) {
		rc = vf_trash_purge(v, it.id, n);
		if (rc == -EBUSY)
			vf_admin_say(
			    a, "'%s' is open; try again when it is closed",
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
	rc = vf_admin_leave(v, a, &ch, rc, detail);
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
	struct vf_admin_change ch;
	char shown[SHOWN_NAME + 1], detail[48];
	uint64_t dir = 0;
	int rc;

	rc = vf_admin_enter(v, a, VF_OP_IMM_SET, &ch);
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
			vf_admin_say_about(a, path);
	}
	vf_admin_bounded_text(shown, sizeof(shown), *path ? path : "/");
	snprintf(ch.params, sizeof(ch.params), "dir=%llu days=%u path=%s",
		 (unsigned long long)dir, days, shown);
	rc = vf_admin_approve(v, a, &ch, rc);
	if (!rc)
		rc = vf_immut_rule_store(v, dir, &next);
	if (have_days)
		snprintf(detail, sizeof(detail), "days=%u%s", days,
			 lock ? " lock" : "");
	else
		snprintf(detail, sizeof(detail), "%s", lock ? "lock" : "");
	rc = vf_admin_leave(v, a, &ch, rc, detail);
	if (!rc && out)
		*out = next;
	return rc;
}

int vf_admin_immutable_clear(struct vf_vault *v, struct vf_admin *a,
			     const char *path, int unlock_only)
{
	struct vf_imm_state cur;
	struct vf_admin_change ch;
	char shown[SHOWN_NAME + 1];
	uint64_t dir = 0;
	int rc;

	rc = vf_admin_enter(
	    v, a, unlock_only ? VF_OP_IMM_UNLOCK : VF_OP_IMM_CLEAR, &ch);
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
			vf_admin_say_about(a, path);
	}
	vf_admin_bounded_text(shown, sizeof(shown), *path ? path : "/");
	snprintf(ch.params, sizeof(ch.params), "dir=%llu path=%s",
		 (unsigned long long)dir, shown);
	rc = vf_admin_approve(v, a, &ch, rc);
	if (!rc)
		rc = vf_immut_rule_drop(v, dir, unlock_only);
	return vf_admin_leave(v, a, &ch, rc,
			      unlock_only ? "lock cancelled" : NULL);
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
	struct vf_admin_change ch;
	int rc;

	rc = vf_admin_enter(v, a, VF_OP_IMM_VAULT_SET, &ch);
	if (rc)
		return rc;
	rc = vf_immut_vault(v, &cur);
	if (rc)
		vf_admin_say(a, "reading the current setting failed: %s",
			     strerror(-rc));
	else
		rc = vf_policy_imm_vault(&cur, what, ch.now, &next, &ch.gop,
					 a->why, sizeof(a->why));
	rc = vf_admin_approve(v, a, &ch, rc);
	if (!rc)
		rc = vf_immut_vault_store(v, &next);
	rc = vf_admin_leave(v, a, &ch, rc,
			    (unsigned)what < VF_ARRAY_LEN(names) ? names[what]
								 : NULL);
	if (!rc && out)
		*out = next;
	return rc;
}
