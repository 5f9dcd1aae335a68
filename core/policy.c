/*
 * policy.c - retention as a pure function; see policy.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "policy.h"

#define NS 1000000000LL

enum bucket { HOUR, DAY, WEEK, MONTH, YEAR, NBUCKETS };

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* The bucket a time falls in, as a number that grows with time. */
static int64_t bucket_of(int64_t t, enum bucket b)
{
	int64_t s = floor_div(t, NS), day = floor_div(s, 86400);
	struct tm tm;
	time_t tt = (time_t)s;

	switch (b) {
	case HOUR:
		return floor_div(s, 3600);
	case DAY:
		return day;
	case WEEK:
		/* 1970-01-01 was a Thursday; ISO weeks start on Monday. */
		return floor_div(day + 3, 7);
	case MONTH:
	case YEAR:
		gmtime_r(&tt, &tm);
		return b == YEAR ? tm.tm_year :
				   (int64_t)tm.tm_year * 12 + tm.tm_mon;
	default:
		return 0;
	}
}

int vf_policy_retain(const int64_t *t, size_t n, const struct vf_retention *p,
		     int64_t now, int64_t min_age, uint8_t *keep)
{
	const unsigned want[NBUCKETS] = { p->keep_hourly, p->keep_daily,
					  p->keep_weekly, p->keep_monthly,
					  p->keep_yearly };
	int any = p->keep_last || p->keep_within > 0;
	size_t i;
	int b, kept = 0;

	if (p->min_points < VF_POLICY_MIN_POINTS || min_age < 0)
		return -EINVAL;
	for (i = 1; i < n; i++)
		if (t[i] > t[i - 1])
			return -EINVAL;
	for (b = 0; b < NBUCKETS; b++)
		any |= want[b] != 0;
	for (i = 0; i < n; i++)
		keep[i] = !any || i < p->keep_last || i < p->min_points ||
			  (p->keep_within > 0 && t[i] >= now - p->keep_within);
	/* Newest first, so the first version seen in a bucket is the one
	 * that represents it. */
	for (b = 0; b < NBUCKETS; b++) {
		unsigned left = want[b];
		int64_t last = 0;
		int have = 0;

		for (i = 0; i < n && left; i++) {
			int64_t k = bucket_of(t[i], (enum bucket)b);

			if (have && k == last)
				continue;
			keep[i] = 1;
			last = k;
			have = 1;
			left--;
		}
	}
	/* The minimum age, counted from when a version stopped being the
	 * current one (t[i - 1]); now - min_age cannot overflow for the
	 * times and ages the vault uses (< 2^62 ns). */
	for (i = 1; i < n; i++)
		if (t[i - 1] > now - min_age)
			keep[i] = 1;
	for (i = 0; i < n; i++)
		kept += keep[i];
	return kept;
}

int64_t vf_policy_clock_start(int64_t hwm, int64_t wall, int64_t credit,
			      int64_t *skew)
{
	*skew = 0;
	if (hwm <= 0)
		return wall;
	if (wall < hwm) {
		*skew = wall - hwm;
		return hwm;
	}
	/* wall - hwm cannot overflow: both are ns since 1970 (< 2^63 / 2) */
	if (wall - hwm > credit) {
		*skew = wall - hwm;
		return hwm + credit;
	}
	return wall;
}

enum vf_objlock_act vf_policy_objlock(int64_t now, int64_t retain_until,
				      int needed, int64_t period,
				      int64_t renew_before, int64_t *until)
{
	if (!needed)
		return retain_until > now ? VF_OBJLOCK_WAIT : VF_OBJLOCK_DELETE;
	if (retain_until > now && retain_until - now >= renew_before)
		return VF_OBJLOCK_KEEP;
	*until = now + period;
	return VF_OBJLOCK_EXTEND;
}

int64_t vf_policy_lock_period(unsigned softdelete_days, int64_t margin,
			      int64_t min)
{
	int64_t p = (int64_t)softdelete_days * 86400 * VF_NS + margin;

	return p > min ? p : min;
}

int64_t vf_policy_extend_every(int64_t period)
{
	int64_t e = period / 3;

	return e < 86400 * VF_NS ? e : 86400 * VF_NS;
}

int vf_policy_ship_segment(int have_base, uint64_t chain_segs,
			   uint64_t chain_max, uint64_t chain_bytes,
			   uint64_t bytes, uint64_t catalog_size,
			   uint64_t chain_floor, int64_t age, int64_t window)
{
	if (!have_base || chain_segs >= chain_max)
		return 0;
	if (window > 0 && age >= window / 4)
		return 0;
	return chain_bytes + bytes <= catalog_size / 2 ||
	       chain_bytes + bytes <= chain_floor;
}

int vf_policy_mass_delete(uint64_t deleted, uint64_t tree, uint64_t n_max,
			  unsigned pct, uint64_t min_n)
{
	if (deleted >= n_max)
		return 1;
	return tree > 0 && deleted >= min_n && deleted * 100 >= tree * pct;
}

int64_t vf_policy_lock_ahead(int64_t period)
{
	return period > 0 ? vf_policy_extend_every(period) : 86400 * VF_NS;
}

int64_t vf_policy_store_window(unsigned softdelete_days, int64_t lock_period)
{
	int64_t w = (int64_t)softdelete_days * 86400 * VF_NS;

	return lock_period > 0 && lock_period < w ? lock_period : w;
}

enum vf_ckpt_step vf_policy_ckpt_step(int64_t cutoff, int full, int stamp_ok,
				      int64_t stamp)
{
	if (!stamp_ok)
		return VF_CKPT_SKIP;
	if (stamp > cutoff)
		return VF_CKPT_STOP;
	return full ? VF_CKPT_FLOOR : VF_CKPT_SKIP;
}

int vf_policy_ckpt_needed(uint64_t seq, uint64_t floor)
{
	return seq >= floor;
}

int vf_policy_pack_needed(int live, int dropped, int64_t dropped_at,
			  int64_t floor_t)
{
	if (live || !dropped || floor_t <= 0)
		return 1;
	return dropped_at >= floor_t;
}

static int differ(int64_t a, int64_t b, int64_t tol)
{
	return a > b ? a - b > tol : b - a > tol;
}

int64_t vf_policy_decide_time(int64_t vault_now, int64_t store_now,
			      int64_t tol, int *disagree)
{
	*disagree = 0;
	if (store_now <= 0)
		return vault_now;
	*disagree = differ(vault_now, store_now, tol);
	return vault_now < store_now + tol ? vault_now : store_now + tol;
}

int64_t vf_policy_stamp_time(int64_t vault_now, int64_t store_now,
			     int64_t tol, int *disagree)
{
	*disagree = 0;
	if (store_now <= 0)
		return vault_now;
	*disagree = differ(vault_now, store_now, tol);
	if (vault_now < store_now - tol)
		return store_now - tol;
	if (vault_now > store_now + tol)
		return store_now + tol;
	return vault_now;
}

static enum vf_posture_level grade(const int met[VF_PC_COUNT])
{
	int strong = met[VF_PC_ALWAYS_ON] || met[VF_PC_IMM_LOCKED];

	if (strong && met[VF_PC_GUARD])
		return VF_POSTURE_EXCELLENT;
	if (met[VF_PC_IMM_LOCKED] || met[VF_PC_SOFTDELETE] ||
	    met[VF_PC_ALWAYS_ON])
		return VF_POSTURE_GOOD;
	if (met[VF_PC_GUARD])
		return VF_POSTURE_FAIR;
	return VF_POSTURE_POOR;
}

void vf_policy_posture(const struct vf_posture_in *in, struct vf_posture *out)
{
	int c;

	memset(out, 0, sizeof(*out));
	out->met[VF_PC_SOFTDELETE] = in->sd_on;
	out->met[VF_PC_ALWAYS_ON] = in->sd_on && in->always_on == 2;
	out->pending[VF_PC_ALWAYS_ON] = in->sd_on && in->always_on == 1;
	out->met[VF_PC_IMM_LOCKED] = in->imm_vault && in->imm_lock == 2;
	out->pending[VF_PC_IMM_LOCKED] = in->imm_vault && in->imm_lock == 1;
	out->met[VF_PC_GUARD] = in->guard;
	out->level = grade(out->met);
	for (c = 0; c < VF_PC_COUNT; c++) {
		int met[VF_PC_COUNT];

		memcpy(met, out->met, sizeof(met));
		met[c] = 1;
		if (c == VF_PC_ALWAYS_ON)
			met[VF_PC_SOFTDELETE] = 1;
		out->would[c] = grade(met);
		out->would_name[c] = vf_policy_posture_name(out->would[c]);
	}
	out->prot = in->prot;
	if (in->prot != VF_PROT_ON)
		out->weak |= VF_PW_STOPPED;
	if (in->prot == VF_PROT_DELETE) {
		/* the files are on their way out: nothing raises it */
		out->level = VF_POSTURE_POOR;
		for (c = 0; c < VF_PC_COUNT; c++) {
			out->would[c] = VF_POSTURE_POOR;
			out->would_name[c] = vf_policy_posture_name(out->would[c]);
		}
	}
	out->name = vf_policy_posture_name(out->level);
	if (!in->remote)
		out->weak |= VF_PW_LOCAL;
	if (in->remote && !in->store_lock)
		out->weak |= VF_PW_NO_STORE_LOCK;
	if (in->remote && in->plain_http)
		out->weak |= VF_PW_PLAIN_HTTP;
	if (in->remote && in->store_lock && in->short_lock)
		out->weak |= VF_PW_SHORT_LOCK;
	if (in->passphrase && !in->guard)
		out->weak |= VF_PW_PASSPHRASE;
}

const char *vf_policy_posture_name(enum vf_posture_level l)
{
	static const char *const names[] = { "Poor", "Fair", "Good",
					     "Excellent" };

	return (unsigned)l < VF_ARRAY_LEN(names) ? names[l] : "?";
}

uint64_t vf_policy_reserve_default(uint64_t fs_bytes)
{
	uint64_t five = fs_bytes / 20;

	return five < VF_POLICY_RESERVE_MAX ? five : VF_POLICY_RESERVE_MAX;
}

int vf_policy_may_fill(enum vf_fill_kind kind, uint64_t avail, uint64_t want,
		       uint64_t reserve)
{
	if (kind != VF_FILL_DATA)
		return 0;
	/* avail - want < reserve, without wrapping */
	if (want > avail || avail - want < reserve)
		return -ENOSPC;
	return 0;
}

/* A policy without rules keeps everything. */
static int keeps_all(const struct vf_retention *p)
{
	return !p->keep_last && p->keep_within <= 0 && !p->keep_hourly &&
	       !p->keep_daily && !p->keep_weekly && !p->keep_monthly &&
	       !p->keep_yearly;
}

/* Each rule keeps more as its number grows and rules combine by union,
 * so b keeps a superset of what a keeps exactly when no number of b is
 * below a's.  Two exceptions: keep-last and the minimum are one rule
 * (both keep the newest N, N the larger of them), and a policy without
 * rules keeps everything however its minimum is set. */
int vf_policy_weaker(const struct vf_retention *a,
		     const struct vf_retention *b)
{
	unsigned last_a = a->keep_last > a->min_points ? a->keep_last :
							 a->min_points;
	unsigned last_b = b->keep_last > b->min_points ? b->keep_last :
							 b->min_points;
	int64_t within_a = a->keep_within > 0 ? a->keep_within : 0;
	int64_t within_b = b->keep_within > 0 ? b->keep_within : 0;

	if (keeps_all(b))
		return 0;
	if (keeps_all(a))
		return 1;
	return last_b < last_a || within_b < within_a ||
	       b->keep_hourly < a->keep_hourly ||
	       b->keep_daily < a->keep_daily ||
	       b->keep_weekly < a->keep_weekly ||
	       b->keep_monthly < a->keep_monthly ||
	       b->keep_yearly < a->keep_yearly;
}

void vf_policy_df(uint64_t used, uint64_t disk_free, uint64_t quota,
		  uint64_t *size, uint64_t *avail)
{
	uint64_t a = disk_free;

	if (quota)
		a = quota > used ? (quota - used < a ? quota - used : a) : 0;
	*avail = a;
	*size = used > UINT64_MAX - a ? UINT64_MAX : used + a;
}

int vf_policy_quota_allows(uint64_t quota, uint64_t used, uint64_t size)
{
	if (!quota)
		return 0;
	return used <= quota && size <= quota - used ? 0 : -ENOSPC;
}

int vf_policy_catalog_vacuum(uint64_t pages, uint64_t free_pages)
{
	return free_pages >= VF_POLICY_VACUUM_MIN_FREE &&
	       free_pages <= pages && free_pages >= pages / 4;
}

static int is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z');
}

int vf_policy_temp_name(const char *name)
{
	size_t n = strlen(name), i, dot;

	if (n < 4 || name[0] != '.')
		return 0;
	dot = n - 1;
	while (dot > 1 && name[dot] != '.')
		dot--;
	if (dot < 2 || n - dot - 1 < 1 || n - dot - 1 > 6)
		return 0;
	for (i = dot + 1; i < n && name[i] >= '0' && name[i] <= '9'; i++)
		;
	if (i == n)
		return 2;
	for (i = dot + 1; i < n && is_alnum(name[i]); i++)
		;
	return i == n && n - dot - 1 == 6 ? 1 : 0;
}

/* What the writer of a sealed item may still do (vf_policy_immutable). */
static int writer_may(enum vf_imm_op op, const struct vf_imm_item *it,
		      int64_t now)
{
	int meta = op == VF_IMM_CHMOD || op == VF_IMM_XATTR;

	if (it->temp_name && it->multi_link)
		return op == VF_IMM_UNLINK;
	if (it->temp_name == 1 &&
	    (it->by_writer || it->by_owner || it->by_root) &&
	    (meta || op == VF_IMM_UNLINK || op == VF_IMM_RENAME_FROM))
		return 1;
	return meta && it->by_writer && it->sealed_at >= it->rule_set_at &&
	       now < it->sealed_at + (int64_t)VF_POLICY_IMM_GRACE_S * NS;
}

int vf_policy_immutable(enum vf_imm_op op, const struct vf_imm_item *it,
			int64_t now)
{
	if (!it->inside)
		return 0;
	switch (op) {
	case VF_IMM_CREATE:
	case VF_IMM_TIMES:
		return 0;
	case VF_IMM_RENAME_INTO:
		/* another name outside would stay a way to change it */
		return it->multi_link ? -EPERM : 0;
	case VF_IMM_LINK:
		/* a second name is a way around the rule, whichever side it
		 * is on, sealed or not, unless both are under it */
		return it->link_within ? 0 : -EPERM;
	default:
		break;
	}
	if (!it->sealed)
		return 0;
	if (it->days && now >= it->sealed_at + (int64_t)it->days * 86400 * NS)
		return 0;
	return writer_may(op, it, now) ? 0 : -EPERM;
}

int vf_policy_lock_allows(enum vf_lock_change what, int state)
{
	switch (what) {
	case VF_LOCK_EXTEND:
		return 0;
	case VF_LOCK_CANCEL:
		return state == 1 ? 0 : state == 2 ? -EPERM : -EINVAL;
	case VF_LOCK_SHORTEN:
	case VF_LOCK_CLEAR:
		return state == 2 ? -EPERM : 0;
	}
	return -EINVAL;
}

/* ---- administrative operations ------------------------------------------- */

/* The role table (README.md, Roles), one row per operation the gate runs. */
static const struct vf_op_rule op_rules[VF_OP_COUNT] = {
	[VF_OP_STATUS] = { "status", VF_ROLE_READER, 0 },
	[VF_OP_CHECK] = { "check", VF_ROLE_OPERATOR, 0 },
	[VF_OP_SNAPSHOT] = { "snapshot", VF_ROLE_OPERATOR, 1 },
	[VF_OP_SNAPSHOTS] = { "snapshots", VF_ROLE_READER, 0 },
	[VF_OP_POLICY_SHOW] = { "policy show", VF_ROLE_READER, 0 },
	[VF_OP_POLICY_SET] = { "policy set", VF_ROLE_CONTRIBUTOR, 1 },
	[VF_OP_PRUNE] = { "prune", VF_ROLE_CONTRIBUTOR, 1 },
	[VF_OP_GC] = { "gc", VF_ROLE_CONTRIBUTOR, 1 },
	[VF_OP_SD_SHOW] = { "softdelete show", VF_ROLE_READER, 0 },
	[VF_OP_POSTURE] = { "posture", VF_ROLE_READER, 0 },
	[VF_OP_MAINTAIN] = { "maintenance", VF_ROLE_CONTRIBUTOR, 1 },
	[VF_OP_ALERTS] = { "alerts list", VF_ROLE_READER, 0 },
	[VF_OP_ALERT_ACK] = { "alert ack", VF_ROLE_OPERATOR, 1 },
	[VF_OP_SD_SET] = { "softdelete set", VF_ROLE_CONTRIBUTOR, 1 },
	[VF_OP_SD_LIST] = { "softdelete list", VF_ROLE_READER, 0 },
	[VF_OP_SD_PURGE] = { "softdelete purge", VF_ROLE_CONTRIBUTOR, 1 },
	[VF_OP_IMM_SET] = { "immutable set", VF_ROLE_CONTRIBUTOR, 1 },
	[VF_OP_IMM_CLEAR] = { "immutable clear", VF_ROLE_CONTRIBUTOR, 1 },
	[VF_OP_IMM_UNLOCK] = { "immutable unlock", VF_ROLE_CONTRIBUTOR, 1 },
	[VF_OP_IMM_LIST] = { "immutable list", VF_ROLE_READER, 0 },
	[VF_OP_IMM_VAULT_SHOW] = { "immutable vault", VF_ROLE_READER, 0 },
	[VF_OP_IMM_VAULT_SET] = { "immutable vault", VF_ROLE_CONTRIBUTOR, 1 },
	[VF_OP_ROLE_GRANT] = { "role grant", VF_ROLE_OWNER, 1 },
	[VF_OP_ROLE_LIST] = { "role list", VF_ROLE_READER, 0 },
	[VF_OP_GUARD_ATTACH] = { "guard attach", VF_ROLE_OWNER, 1 },
	[VF_OP_GUARD_DETACH] = { "guard detach", VF_ROLE_OWNER, 1 },
	[VF_OP_GUARD_SHOW] = { "guard show", VF_ROLE_READER, 0 },
	[VF_OP_AUDIT_LIST] = { "audit list", VF_ROLE_READER, 0 },
	[VF_OP_AUDIT_VERIFY] = { "audit verify", VF_ROLE_READER, 0 },
	[VF_OP_RESERVE_SET] = { "reserve set", VF_ROLE_OWNER, 1 },
	[VF_OP_ALERT_MUTE] = { "alerts mute", VF_ROLE_OWNER, 1 },
	[VF_OP_TRIP_STATUS] = { "tripwire status", VF_ROLE_READER, 0 },
	[VF_OP_TRIP_RELEASE] = { "tripwire release", VF_ROLE_OWNER, 1 },
	[VF_OP_KEY_LIST] = { "key list", VF_ROLE_OWNER, 0 },
	[VF_OP_KEY_ADD] = { "key add", VF_ROLE_OWNER, 1 },
	[VF_OP_KEY_REMOVE] = { "key remove", VF_ROLE_OWNER, 1 },
	[VF_OP_KEY_EXPORT] = { "key export", VF_ROLE_OWNER, 1 },
	[VF_OP_KEY_ROTATE] = { "key rotate", VF_ROLE_OWNER, 1 },
	[VF_OP_PASSPHRASE_CHANGE] = { "passphrase change", VF_ROLE_OWNER, 1 },
	[VF_OP_TRIP_SET] = { "tripwire set", VF_ROLE_OWNER, 1 },
	[VF_OP_TRIP_FP] = { "tripwire mark-false-positive", VF_ROLE_OWNER,
			    1 },
	/* numbers only, no names: whoever may see status */
	[VF_OP_METRICS] = { "metrics", VF_ROLE_READER, 0 },
	/* names directories (top growth) and tells what was deleted */
	[VF_OP_REPORT] = { "report", VF_ROLE_OPERATOR, 0 },
	/* Owner, not Contributor (docs/protection.md, Who may): the vault
	 * stops taking backups
	 * for everyone, which a stolen Contributor must not be able to do */
	[VF_OP_PROT_STOP] = { "protection stop", VF_ROLE_OWNER, 1 },
	[VF_OP_PROT_RESUME] = { "protection resume", VF_ROLE_OWNER, 1 },
	/* the daemon's job finishing an approved rotation, like upkeep */
	[VF_OP_KEY_ROTATION] = { "key rotation", VF_ROLE_CONTRIBUTOR, 1 },
};

const struct vf_op_rule *vf_policy_op(enum vf_admin_op op)
{
	if ((unsigned)op >= VF_OP_COUNT || !op_rules[op].name)
		return NULL;
	return &op_rules[op];
}

/* The reason of a refusal, and the refusal. */
static int VF_PRINTF(4, 5) refuse(int rc, char *why, size_t whylen,
				  const char *fmt, ...)
{
	va_list ap;

	if (whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static int critical(const char *op, const char **gop)
{
	*gop = op;
	return VF_CRITICAL;
}

int vf_policy_softdelete(const struct vf_softdelete *cur, int imm_vault,
			 enum vf_sd_change what, unsigned days, int64_t now,
			 struct vf_softdelete *next, const char **gop,
			 char *why, size_t whylen)
{
	struct vf_softdelete n = *cur;
	int final = cur->always_on && cur->always_on <= now;
	int pending = cur->always_on > now;
	int rc = VF_ALLOW;

	if (what == VF_SD_DAYS && (days < VF_SOFTDELETE_MIN_DAYS ||
				   days > VF_SOFTDELETE_MAX_DAYS))
		return refuse(-EINVAL, why, whylen,
			      "soft-delete retention must be %d to %d days, "
			      "not %u",
			      VF_SOFTDELETE_MIN_DAYS, VF_SOFTDELETE_MAX_DAYS,
			      days);
	if (imm_vault && (what == VF_SD_OFF ||
			  (what == VF_SD_DAYS && days < cur->days)))
		return refuse(-EPERM, why, whylen,
			      "the vault is immutable: soft delete cannot be "
			      "turned off or shortened");
	switch (what) {
	case VF_SD_DAYS:
		if (final && days < cur->days)
			return refuse(-EPERM, why, whylen,
				      "soft delete is always-on: its retention "
				      "cannot be shortened (now %u days)",
				      cur->days);
		if (days < cur->days)
			rc = critical("softdelete.days", gop);
		n.days = days;
		break;
	case VF_SD_ON:
		n.off = 0;
		break;
	case VF_SD_OFF:
		if (final)
			return refuse(-EPERM, why, whylen,
				      "soft delete is always-on: it cannot be "
				      "turned off");
		if (pending)
			return refuse(-EPERM, why, whylen,
				      "always-on is pending: cancel it before "
				      "turning soft delete off");
		if (!cur->off)
			rc = critical("softdelete.off", gop);
		n.off = 1;
		break;
	case VF_SD_ALWAYS_ON:
		if (cur->off)
			return refuse(-EINVAL, why, whylen,
				      "soft delete is off: turn it on before "
				      "making it always-on");
		if (!n.always_on)
			n.always_on = now + VF_COOLING_OFF;
		break;
	case VF_SD_CANCEL:
		if (final)
			return refuse(-EPERM, why, whylen,
				      "soft delete is always-on for good: "
				      "nothing is pending to cancel");
		if (!pending)
			return refuse(-EINVAL, why, whylen,
				      "no always-on switch is pending");
		n.always_on = 0;
		rc = critical("softdelete.cancel-always-on", gop);
		break;
	default:
		return refuse(-EINVAL, why, whylen, "unknown change");
	}
	*next = n;
	return rc;
}

int vf_policy_purge(const struct vf_softdelete *sd, int imm_vault, int64_t now,
		    const char **gop, char *why, size_t whylen)
{
	if (sd->always_on && sd->always_on <= now)
		return refuse(-EPERM, why, whylen,
			      "soft delete is always-on: nothing is purged "
			      "before its time");
	if (imm_vault)
		return refuse(-EPERM, why, whylen,
			      "the vault is immutable: nothing is purged "
			      "before its time");
	return critical("softdelete.purge", gop);
}

uint64_t vf_policy_reserve(uint64_t setting, uint64_t fs_bytes)
{
	return setting == VF_POLICY_RESERVE_DEFAULT ?
		       vf_policy_reserve_default(fs_bytes) :
		       setting;
}

/* uid 0 by its name, others by number: "root" or "uid 1000". */
static void uid_name(uint32_t uid, char *buf, size_t len)
{
	if (uid == 0)
		snprintf(buf, len, "root");
	else
		snprintf(buf, len, "uid %u", (unsigned)uid);
}

int vf_policy_private_dir(uint32_t owner, uint32_t mode, uint32_t euid,
			  char *why, size_t whylen)
{
	char own[24], self[24];

	if (owner != euid) {
		uid_name(owner, own, sizeof(own));
		uid_name(euid, self, sizeof(self));
		snprintf(why, whylen, "owned by %s, but it must belong to %s, "
			 "who runs this (chown %u it)", own, self,
			 (unsigned)euid);
		return -EPERM;
	}
	if (mode & 077) {
		snprintf(why, whylen, "mode %04o lets group or others in "
			 "(chmod 700 it)", (unsigned)(mode & 07777));
		return -EPERM;
	}
	return 0;
}

int vf_policy_reserve_change(uint64_t cur, uint64_t next, uint64_t fs_bytes,
			     int imm_vault, const char **gop, char *why,
			     size_t whylen)
{
	uint64_t c = vf_policy_reserve(cur, fs_bytes);
	uint64_t n = vf_policy_reserve(next, fs_bytes);

	if (n > fs_bytes / 2)
		return refuse(-EINVAL, why, whylen,
			      "a reserve of %llu bytes is more than half of "
			      "the filesystem (%llu bytes)",
			      (unsigned long long)n,
			      (unsigned long long)fs_bytes);
	if (n >= c)
		return VF_ALLOW;
	if (imm_vault)
		return refuse(-EPERM, why, whylen,
			      "the vault is immutable: the disk reserve "
			      "cannot be made smaller");
	return critical("reserve.lower", gop);
}

int vf_policy_alert_mute(int64_t cur, int64_t until, int64_t now,
			 const char **gop, char *why, size_t whylen)
{
	if (cur < now)
		cur = 0;
	if (until && until <= now)
		return refuse(-EINVAL, why, whylen,
			      "a mute must end in the future");
	if (until && until - now > VF_ALERT_MUTE_MAX)
		return refuse(-EINVAL, why, whylen,
			      "a mute may last at most %lld days",
			      (long long)(VF_ALERT_MUTE_MAX / 86400 / VF_NS));
	if (!until && !cur)
		return refuse(-EINVAL, why, whylen, "that kind is not muted");
	if (!until || until <= cur)
		return VF_ALLOW;
	return critical("alerts.mute", gop);
}

/* 1 when days want protects for less time than days have (0: forever). */
static int shorter(unsigned have, unsigned want)
{
	return want != 0 && (have == 0 || want < have);
}

int vf_policy_imm_set(const struct vf_imm_state *cur, int have_days,
		      unsigned days, int lock, int64_t now,
		      struct vf_imm_state *next, const char **gop, char *why,
		      size_t whylen)
{
	struct vf_imm_state n = *cur;
	int state = vf_policy_lock_state(cur->have ? cur->lock_at : 0, now);
	int rc = VF_ALLOW;

	if (have_days && days > VF_IMM_MAX_DAYS)
		return refuse(-EINVAL, why, whylen,
			      "--days must be at most %d (0 or no --days: "
			      "forever)",
			      VF_IMM_MAX_DAYS);
	if (cur->have && have_days && shorter(cur->days, days)) {
		if (vf_policy_lock_allows(VF_LOCK_SHORTEN, state))
			return refuse(-EPERM, why, whylen,
				      "it is locked immutable: its protection "
				      "can be extended, never shortened");
		rc = critical("immutable.days", gop);
	}
	if (!cur->have) {
		n.have = 1;
		n.lock_at = 0;
		n.set_at = now;
		n.days = 0;
	}
	if (have_days)
		n.days = days;
	if (lock && !n.lock_at)
		n.lock_at = now + VF_COOLING_OFF;
	*next = n;
	return rc;
}

int vf_policy_imm_clear(const struct vf_imm_state *cur, int unlock_only,
			int64_t now, const char **gop, char *why,
			size_t whylen)
{
	int state, rc;

	if (!cur->have)
		return refuse(-ENOENT, why, whylen, "it is not immutable");
	state = vf_policy_lock_state(cur->lock_at, now);
	rc = vf_policy_lock_allows(unlock_only ? VF_LOCK_CANCEL :
						 VF_LOCK_CLEAR,
				   state);
	if (rc == -EPERM)
		return refuse(rc, why, whylen,
			      "it is locked immutable for good: it cannot be "
			      "%s",
			      unlock_only ? "unlocked" : "cleared");
	if (rc)
		return refuse(-EINVAL, why, whylen, "it has no pending lock");
	return critical(unlock_only ? "immutable.unlock" : "immutable.clear",
			gop);
}

int vf_policy_imm_vault(const struct vf_imm_vault *cur, enum vf_iv_change what,
			int64_t now, struct vf_imm_vault *next,
			const char **gop, char *why, size_t whylen)
{
	struct vf_imm_vault n = *cur;
	int state = vf_policy_lock_state(cur->lock_at, now);
	int rc = VF_ALLOW;

	switch (what) {
	case VF_IV_ON:
	case VF_IV_LOCK:
		n.on = 1;
		if (what == VF_IV_LOCK && !n.lock_at)
			n.lock_at = now + VF_COOLING_OFF;
		break;
	case VF_IV_OFF:
		if (!cur->on)
			break; /* nothing to change, nothing to approve */
		if (state == 2)
			return refuse(-EPERM, why, whylen,
				      "the vault is locked immutable for good");
		n.on = 0;
		n.lock_at = 0;
		rc = critical("immutable.vault.off", gop);
		break;
	case VF_IV_CANCEL:
		if (state == 2)
			return refuse(-EPERM, why, whylen,
				      "the vault is locked immutable for good");
		if (state == 0)
			return refuse(-EINVAL, why, whylen,
				      "no lock is pending");
		n.lock_at = 0;
		rc = critical("immutable.vault.cancel-lock", gop);
		break;
	default:
		return refuse(-EINVAL, why, whylen, "unknown change");
	}
	*next = n;
	return rc;
}

#define POLICY_MAX_COUNT 1000000u
#define POLICY_MAX_WITHIN (100LL * 366 * 86400 * NS) /* 100 years */

int vf_policy_retention_valid(const struct vf_retention *p, char *why,
			      size_t whylen)
{
	const struct {
		const char *name;
		unsigned val;
	} counts[] = {
		{ "keep-last", p->keep_last },
		{ "keep-hourly", p->keep_hourly },
		{ "keep-daily", p->keep_daily },
		{ "keep-weekly", p->keep_weekly },
		{ "keep-monthly", p->keep_monthly },
		{ "keep-yearly", p->keep_yearly },
		{ "min-points", p->min_points },
	};
	size_t i;

	if (!why)
		whylen = 0;
	if (p->min_points < VF_POLICY_MIN_POINTS)
		return refuse(-EINVAL, why, whylen,
			      "invalid retention policy: min-points %u is "
			      "below %d",
			      p->min_points, VF_POLICY_MIN_POINTS);
	if (p->keep_within < 0 || p->keep_within > POLICY_MAX_WITHIN)
		return refuse(-EINVAL, why, whylen,
			      "invalid retention policy: keep-within %lld ns "
			      "is outside 0 to 100 years",
			      (long long)p->keep_within);
	for (i = 0; i < VF_ARRAY_LEN(counts); i++)
		if (counts[i].val > POLICY_MAX_COUNT)
			return refuse(-EINVAL, why, whylen,
				      "invalid retention policy: %s %u is "
				      "outside 0 to %u",
				      counts[i].name, counts[i].val,
				      POLICY_MAX_COUNT);
	return 0;
}

int vf_policy_retention_change(const struct vf_retention *cur,
			       const struct vf_retention *next,
			       const struct vf_imm_vault *iv, const char **gop,
			       char *why, size_t whylen)
{
	int rc = vf_policy_retention_valid(next, why, whylen);

	if (rc)
		return rc;
	if (!vf_policy_weaker(cur, next))
		return VF_ALLOW;
	if (iv->on)
		return refuse(-EPERM, why, whylen,
			      "the vault is immutable: the retention policy "
			      "can only keep more, not less");
	return critical("policy.weaker", gop);
}

int vf_policy_role_change(int is_group, uint32_t id, enum vf_role cur,
			  enum vf_role next, const char **gop, char *why,
			  size_t whylen)
{
	if ((unsigned)next > VF_ROLE_OWNER)
		return refuse(-EINVAL, why, whylen, "unknown role");
	if (!is_group && id == 0)
		return refuse(-EINVAL, why, whylen,
			      "uid 0 (root) is always owner; its role cannot "
			      "change");
	/* Granting Contributor or Owner is critical (README.md, The
	 * guard); a grant that changes nothing spends no approval. */
	if (next >= VF_ROLE_CONTRIBUTOR && next != cur)
		return critical("role.grant", gop);
	return VF_ALLOW;
}

int vf_policy_guard_change(int have_guard, int detach, const char **gop,
			   char *why, size_t whylen)
{
	if (detach && !have_guard)
		return refuse(-ENOENT, why, whylen, "no guard is attached");
	if (detach)
		return critical("guard.detach", gop);
	/* Replacing a guard is critical; arming an unguarded vault is not. */
	return have_guard ? critical("guard.attach", gop) : VF_ALLOW;
}

int vf_policy_guard_set(size_t nkeys, size_t max, unsigned quorum, char *why,
			size_t whylen)
{
	if (nkeys < 1 || nkeys > max)
		return refuse(-EINVAL, why, whylen,
			      "a guard set has 1 to %zu keys, not %zu", max,
			      nkeys);
	if (quorum < 1 || quorum > nkeys)
		return refuse(-EINVAL, why, whylen,
			      "quorum %u is not between 1 and the %zu guard "
			      "key%s given",
			      quorum, nkeys, nkeys == 1 ? "" : "s");
	return VF_ALLOW;
}

size_t vf_policy_distinct(const int *signer, size_t n)
{
	size_t i, j, d = 0;

	for (i = 0; i < n; i++) {
		for (j = 0; j < i && signer[j] != signer[i]; j++)
			;
		d += j == i;
	}
	return d;
}

int vf_policy_quorum(const int *signer, size_t n, unsigned quorum, char *why,
		     size_t whylen)
{
	size_t d = vf_policy_distinct(signer, n);

	/* fails closed: a quorum of 0 is a damaged set, not "no need" */
	if (quorum >= 1 && d >= quorum)
		return VF_ALLOW;
	return refuse(-EPERM, why, whylen,
		      "approved by %zu of the %u guards needed (approvals by "
		      "one guard count once; pass each with --approval)",
		      d, quorum);
}

/* ---- protectors ------------------------------------------------------------ */

int vf_policy_key_add(unsigned n, unsigned max, char *why, size_t whylen)
{
	if (n >= max)
		return refuse(-ENOSPC, why, whylen,
			      "the vault has %u protectors, the most it can hold",
			      n);
	return VF_ALLOW;
}

int vf_policy_key_remove(unsigned n, const char **gop, char *why,
			 size_t whylen)
{
	if (n <= 1)
		return refuse(-EPERM, why, whylen,
			      "the last protector cannot be removed: the vault "
			      "would open for nobody");
	return critical("key.remove", gop);
}

int vf_policy_key_export(unsigned n, unsigned max, const char **gop,
			 char *why, size_t whylen)
{
	if (n >= max)
		return refuse(-ENOSPC, why, whylen,
			      "the vault has %u protectors, the most it can hold",
			      n);
	return critical("key.export", gop);
}

int vf_policy_key_rotate(const char **gop)
{
	return critical("key.rotate", gop);
}

int vf_policy_passphrase_change(const char **gop)
{
	return critical("passphrase.change", gop);
}

/* ---- the ransomware tripwire ------------------------------------------- */

uint32_t vf_policy_trip_score(const struct vf_trip_counts *c,
			      uint32_t *evidence)
{
	uint64_t pairs = c->hi_new < c->deletes ? c->hi_new : c->deletes;
	uint64_t ev = (uint64_t)c->hi_over + pairs;
	uint64_t sc = 2 * (uint64_t)c->hi_over + c->ext_ren + pairs;

	if (evidence)
		*evidence = ev > UINT32_MAX ? UINT32_MAX : (uint32_t)ev;
	return sc > UINT32_MAX ? UINT32_MAX : (uint32_t)sc;
}

static const char *const sens_names[] = {
	[VF_TRIP_OFF] = "off",
	[VF_TRIP_LOW] = "low",
	[VF_TRIP_MEDIUM] = "medium",
	[VF_TRIP_HIGH] = "high",
};

const char *vf_policy_trip_sens_name(enum vf_trip_sens s)
{
	return (unsigned)s < VF_ARRAY_LEN(sens_names) ? sens_names[s] : "?";
}

int vf_policy_trip_sens_parse(const char *name, enum vf_trip_sens *out)
{
	size_t i;

	for (i = 0; i < VF_ARRAY_LEN(sens_names); i++)
		if (!strcmp(name, sens_names[i])) {
			*out = (enum vf_trip_sens)i;
			return 0;
		}
	return -EINVAL;
}

static uint32_t sens_threshold(enum vf_trip_sens s)
{
	switch (s) {
	case VF_TRIP_LOW:
		return VF_TRIP_THR_LOW;
	case VF_TRIP_MEDIUM:
		return VF_TRIP_THR_MEDIUM;
	case VF_TRIP_HIGH:
		return VF_TRIP_THR_HIGH;
	case VF_TRIP_OFF:
		break;
	}
	return 0;
}

uint32_t vf_policy_trip_threshold(const struct vf_trip_settings *s,
				  int64_t now)
{
	uint32_t thr = sens_threshold(s->sens);
	uint64_t learned;

	if (!thr)
		return 0;
	if (s->learn_until > now)
		return thr > VF_TRIP_THR_LOW ? thr : VF_TRIP_THR_LOW;
	learned = (uint64_t)s->peak + s->peak / 2 + 1;
	if (learned > (uint64_t)thr * VF_TRIP_LEARN_CAP)
		learned = (uint64_t)thr * VF_TRIP_LEARN_CAP;
	return learned > thr ? (uint32_t)learned : thr;
}

int vf_policy_tripwire(const struct vf_trip_counts *c,
		       const struct vf_trip_settings *s, int64_t now)
{
	uint32_t thr = vf_policy_trip_threshold(s, now), ev;
	uint32_t score = vf_policy_trip_score(c, &ev);

	return thr && score >= thr && (uint64_t)ev * 4 >= thr;
}

int vf_policy_trip_change(const struct vf_trip_settings *cur,
			  const struct vf_trip_settings *next, int64_t now,
			  const char **gop, char *why, size_t whylen)
{
	int lower, longer;

	if ((unsigned)next->sens > VF_TRIP_HIGH)
		return refuse(-EINVAL, why, whylen, "unknown sensitivity");
	if (next->learn_until > now + VF_TRIP_MAX_LEARN_DAYS * 86400 * VF_NS)
		return refuse(-EINVAL, why, whylen,
			      "a learning period is at most %d days",
			      VF_TRIP_MAX_LEARN_DAYS);
	/* OFF is 0: the lowest sensitivity of all */
	lower = next->sens < cur->sens;
	longer = next->learn_until > now && next->learn_until > cur->learn_until;
	if (lower || longer)
		return critical("tripwire.weaken", gop);
	return VF_ALLOW;
}

int vf_policy_trip_release(int64_t frozen_at, const char **gop, char *why,
			   size_t whylen)
{
	if (!frozen_at)
		return refuse(-EINVAL, why, whylen,
			      "the tripwire has not fired: nothing to release");
	return critical("tripwire.release", gop);
}

int vf_policy_trip_exempt(unsigned days, const char **gop, char *why,
			  size_t whylen)
{
	if (days < 1 || days > VF_TRIP_MAX_LEARN_DAYS)
		return refuse(-EINVAL, why, whylen,
			      "--days must be 1 to %d", VF_TRIP_MAX_LEARN_DAYS);
	return critical("tripwire.exempt", gop);
}

/* ---- stop protection ---------------------------------------------------- */

const char *vf_policy_prot_name(enum vf_prot_state s)
{
	static const char *const names[] = { "on", "stopped (retain)",
					     "stopped (delete)" };

	return (unsigned)s < VF_ARRAY_LEN(names) ? names[s] : "?";
}

int vf_policy_protection_stop(enum vf_prot_state cur, int pending,
			      enum vf_prot_state next, int sd_on,
			      const char **gop, char *why, size_t whylen)
{
	if (next != VF_PROT_RETAIN && next != VF_PROT_DELETE)
		return refuse(-EINVAL, why, whylen, "give --retain or --delete");
	if (cur == VF_PROT_DELETE && next == VF_PROT_DELETE && pending)
		return VF_ALLOW; /* approved when it began; it goes on */
	if (cur == VF_PROT_DELETE)
		return refuse(-EINVAL, why, whylen,
			      "protection is stopped with --delete already");
	if (next == VF_PROT_RETAIN)
		return cur == VF_PROT_ON ?
			       VF_ALLOW :
			       refuse(-EINVAL, why, whylen,
				      "protection is stopped already (--retain)");
	if (!sd_on)
		return refuse(-EPERM, why, whylen,
			      "soft delete is off: --delete would keep nothing (vaultctl softdelete set --on)");
	return critical("protection.stop-delete", gop);
}

int vf_policy_protection_resume(enum vf_prot_state cur, int pending,
				char *why, size_t whylen)
{
	if (cur == VF_PROT_ON)
		return refuse(-EINVAL, why, whylen, "protection is not stopped");
	if (cur == VF_PROT_DELETE && pending)
		return refuse(-EBUSY, why, whylen,
			      "the deletion of stop --delete is not finished (vaultctl protection stop --delete goes on with it)");
	return VF_ALLOW;
}

int vf_policy_key_rotate_data(int remote, int running, const char **gop,
			      char *why, size_t whylen)
{
	if (remote)
		return refuse(-EOPNOTSUPP, why, whylen,
			      "data key rotation is not available for a remote vault yet");
	if (running)
		return refuse(-EBUSY, why, whylen,
			      "the last data key rotation is still re-encrypting packs (vaultctl status)");
	return critical("key.rotate-data", gop);
}
