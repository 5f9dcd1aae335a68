/*
 * policy.h - retention decisions as pure functions (no I/O, no clock:
 * "now" is an argument), so they can be checked against tables of cases.
 *
 * Retention of one file's recovery points follows the usual
 * grandfather-father-son rules (as restic's `forget` does): a version is
 * kept when any rule keeps it, and the newest min_points versions are kept
 * whatever the rules say, so a corrupt latest version is never the only
 * one (SPEC 3).  Buckets are UTC hours, days, ISO weeks (Monday first),
 * months and years; in each bucket the newest version represents it, and
 * the N newest buckets that hold a version are kept.
 *
 * Prune (gc.c) calls vf_policy_retain for each file's versions.
 */
#ifndef VF_POLICY_H
#define VF_POLICY_H

#include "common.h"

#define VF_POLICY_MIN_POINTS 3

struct vf_retention {
	unsigned keep_last;    /* the N newest */
	int64_t keep_within;   /* everything newer than now - this (ns) */
	unsigned keep_hourly, keep_daily, keep_weekly, keep_monthly,
		keep_yearly;
	unsigned min_points;   /* never fewer than this (>= 3) */
};

/* Decides, for versions at times t[0..n) sorted newest first, which ones
 * the policy keeps: keep[i] = 1 or 0.  A policy whose rules are all zero
 * keeps everything.  Whatever the rules say, a version replaced less than
 * min_age (ns) before now is kept: version i was replaced at t[i - 1], the
 * newest one not at all.  Prune passes the soft-delete retention, so that
 * overwriting a file a few times cannot destroy its older recovery points
 * sooner than deleting it could (an Operator may write, not delete).
 * Returns the number kept, or -EINVAL when t is not sorted newest first,
 * min_points is below VF_POLICY_MIN_POINTS or min_age is negative. */
VF_MUST int vf_policy_retain(const int64_t *t, size_t n,
			     const struct vf_retention *p, int64_t now,
			     int64_t min_age, uint8_t *keep);

/* Is policy b weaker than policy a?  Returns 0 only when b keeps every
 * version a keeps, for every history and every now; otherwise 1.  It
 * fails closed: a few changes that lose nothing also count as weaker (a
 * finer rule of b covering a coarser rule of a, e.g. keep-daily 5 -> 4
 * with keep-hourly 1000 added).  An immutable vault refuses a change from
 * a to a weaker b (issue 5).  Both policies should be valid (min_points
 * >= VF_POLICY_MIN_POINTS). */
int vf_policy_weaker(const struct vf_retention *a,
		     const struct vf_retention *b);

/* ---- immutability (SPEC 5) ----------------------------------------------- */

/* What an operation would do to an item (the node it changes, or whose
 * name it changes). */
enum vf_imm_op {
	VF_IMM_UNLINK,      /* unlink or rmdir of the item */
	VF_IMM_RENAME_FROM, /* rename the item away (or within) */
	VF_IMM_RENAME_OVER, /* rename something over the item */
	VF_IMM_RENAME_INTO, /* move an item from outside in */
	VF_IMM_TRUNCATE,    /* setattr size or O_TRUNC */
	VF_IMM_WRITE,       /* write, or open for writing */
	VF_IMM_PUNCH,       /* fallocate punch hole / collapse */
	VF_IMM_CHMOD,       /* mode, owner or group */
	VF_IMM_TIMES,       /* utimens */
	VF_IMM_XATTR,       /* set or remove an xattr or ACL */
	VF_IMM_LINK,        /* a new hard link to the item, or into the tree */
	VF_IMM_CREATE,      /* a new file, directory or symlink inside */
	VF_IMM_OP_COUNT
};

/* The item as the rule sees it. */
struct vf_imm_item {
	int inside;          /* under (or is) an immutable directory */
	int sealed;          /* closed once (directories: always) */
	int64_t sealed_at;   /* its first close (directories: creation) */
	unsigned days;       /* protection after sealed_at; 0: forever */
	int multi_link;      /* RENAME_INTO: the node has other names */
};

/* 0 when op may proceed, -EPERM when immutability forbids it, for every
 * caller (root included).  New items may be created and a new file
 * written until its first close; after that, inside the tree, anything
 * that loses or changes data fails until days after sealed_at.  Moving an
 * item in is allowed (it is then sealed) unless it keeps other names
 * outside, through which it could still be changed.  Times may change. */
int vf_policy_immutable(enum vf_imm_op op, const struct vf_imm_item *it,
			int64_t now);

/* Changes to a protection that may be locked (an immutable directory,
 * the immutable vault, soft delete's always-on). */
enum vf_lock_change {
	VF_LOCK_EXTEND,  /* more days, or forever */
	VF_LOCK_SHORTEN, /* fewer days */
	VF_LOCK_CLEAR,   /* remove the protection */
	VF_LOCK_CANCEL,  /* cancel a pending lock */
};

/* 0 when the change is allowed in lock state (vf_policy_lock_state),
 * -EPERM when a final lock forbids it, -EINVAL when there is no pending
 * lock to cancel.  Allowed changes other than EXTEND are critical
 * operations (SPEC 7): the caller still needs the guard's approval. */
int vf_policy_lock_allows(enum vf_lock_change what, int state);

/* A lock's state at now: 0 none, 1 pending (cancellable), 2 final.
 * lock_at is when it becomes final (0: no lock). */
static inline int vf_policy_lock_state(int64_t lock_at, int64_t now)
{
	return !lock_at ? 0 : lock_at > now ? 1 : 2;
}

#endif
