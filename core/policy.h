/*
 * policy.h - retention decisions as pure functions (no I/O, no clock:
 * "now" is an argument), so they can be checked against tables of cases.
 *
 * Retention of one file's recovery points follows the usual
 * grandfather-father-son rules (as restic's `forget` does): a version is
 * kept when any rule keeps it, and the newest min_points versions are kept
 * whatever the rules say, so a corrupt latest version is never the only
 * one (docs/design.md, Retention, prune and gc).  Buckets are UTC hours,
 * days, ISO weeks (Monday first),
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

/* ---- immutability (README.md, Immutability) ------------------------------ */

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
	/* what a writer may still do (rsync, cp, editors) */
	int temp_name;   /* its name is a writer's temporary name: what
			  * vf_policy_temp_name says */
	int by_writer;   /* the caller created it, on this mount */
	int by_owner;    /* the caller owns it */
	int by_root;     /* the caller is root */
	int link_within; /* LINK: both names under the same protection */
	int64_t rule_set_at; /* when the newest rule over it was set */
};

/* Seconds after a file's first close (a directory's creation) during
 * which the uid that created it may still set its mode, owner, group and
 * xattrs: they belong to that recovery point (rsync and cp -a set them
 * right after the close). */
#define VF_POLICY_IMM_GRACE_S 10

/* df of a vault (statfs): used is what the vault stores (packs and
 * catalog), disk_free what the backing disk still has for the caller,
 * quota the -o quota= limit (0: none).  *avail is what may still be
 * written: disk_free, and no more than the quota leaves; *size is
 * used + *avail, so df's "used" is the vault and "size" what it may grow
 * to. */
void vf_policy_df(uint64_t used, uint64_t disk_free, uint64_t quota,
		  uint64_t *size, uint64_t *avail);
/* 0 when a vault storing used bytes may take size more within its quota
 * (0: none), -ENOSPC otherwise (root too: the quota is the owner's limit
 * for the whole vault). */
int vf_policy_quota_allows(uint64_t quota, uint64_t used, uint64_t size);

/* 1 when a catalog of pages pages, free_pages of them unused (left by
 * deletions), is worth rewriting without them (VACUUM, which rewrites
 * every page and makes a remote vault ship a full checkpoint): at least
 * VF_POLICY_VACUUM_MIN_FREE free pages (4 MiB) and a quarter of the
 * file. */
#define VF_POLICY_VACUUM_MIN_FREE 1024
int vf_policy_catalog_vacuum(uint64_t pages, uint64_t free_pages);

/* 1 when name is a writer's temporary file name like ".NAME.abc123": a dot,
 * at least one character, a dot and six letters or digits (rsync,
 * mkstemp); 2 for a temporary link name ".NAME.N", up to six digits
 * (rsync -H links there, then renames); 0 otherwise. */
int vf_policy_temp_name(const char *name);

/* 0 when op may proceed, -EPERM when immutability forbids it, for every
 * caller (root included).  New items may be created and a new file
 * written until its first close; after that, inside the tree, anything
 * that loses or changes data fails until days after sealed_at.  Moving an
 * item in is allowed (it is then sealed) unless it keeps other names
 * outside, through which it could still be changed.  Times may change.
 * A hard link is refused unless both names are under the same
 * protection.  What a writer may still do with a sealed item:
 *  - its creator may set mode, owner, group and xattrs for
 *    VF_POLICY_IMM_GRACE_S seconds after sealed_at, when it was sealed
 *    under the rule (not before the rule was set);
 *  - while it has a temporary name (and one name), its creator, its
 *    owner or root may set them, rename it (to its final name) or delete
 *    it (soft delete keeps it), so that a transfer that died leaves
 *    nothing nobody can remove; its content stays sealed and nothing may
 *    be renamed over it;
 *  - a temporary name of an item with other names may be removed by
 *    anyone: its data stays under them. */
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
 * operations (README.md, The guard): the caller still needs the guard's approval. */
int vf_policy_lock_allows(enum vf_lock_change what, int state);

/* A lock's state at now: 0 none, 1 pending (cancellable), 2 final.
 * lock_at is when it becomes final (0: no lock). */
static inline int vf_policy_lock_state(int64_t lock_at, int64_t now)
{
	return !lock_at ? 0 : lock_at > now ? 1 : 2;
}

/* ---- the vault clock (vclock.c) ------------------------------------------ */

/* The vault clock at open (docs/design.md, "Vault clock"): the high-water
 * mark hwm (the largest vault time ever saved; 0 when none is saved) plus
 * the time the wall clock says passed since, counted up to credit ns.  A
 * wall clock behind hwm counts nothing (the vault clock never runs back);
 * one further ahead than credit counts credit.  Without a mark the vault
 * clock starts at the wall clock.  *skew is set to wall - hwm when the wall
 * clock is behind hwm (< 0) or more than credit ahead (> credit), else 0:
 * the caller audits a non-zero skew.  Returns the vault time to start at. */
int64_t vf_policy_clock_start(int64_t hwm, int64_t wall, int64_t credit,
			      int64_t *skew);

/* ---- Object Lock and the store's clock (remote vaults) -------------------- */

/* What to do with one object of a remote vault's bucket (docs/
 * remote-store.md, "Retention in the store"). */
enum vf_objlock_act {
	VF_OBJLOCK_KEEP,   /* needed, and locked long enough */
	VF_OBJLOCK_EXTEND, /* needed, lock ends too soon: set *until */
	VF_OBJLOCK_WAIT,   /* unneeded, but the store still refuses deletes */
	VF_OBJLOCK_DELETE, /* unneeded and its lock has passed */
};

/* Decides for an object whose COMPLIANCE lock ends at retain_until (0:
 * none), at store time now: a needed object is extended to now + period
 * once less than renew_before is left; an unneeded one is deleted only
 * when its lock has passed (the store would refuse earlier: "not yet",
 * not an error).  Times in ns; period > renew_before > 0. */
enum vf_objlock_act vf_policy_objlock(int64_t now, int64_t retain_until,
				      int needed, int64_t period,
				      int64_t renew_before, int64_t *until);

/* The lock period of new objects: the soft-delete retention plus margin,
 * at least min (ns). */
int64_t vf_policy_lock_period(unsigned softdelete_days, int64_t margin,
			      int64_t min);

/* The shortest lock period a vault may ask for (init --lock-period), s.
 * The daemon renews the locks of needed objects every third of the
 * period (vf_policy_extend_every), listing the store each time; below a
 * minute the passes would run nearly back to back, and one slow store
 * reply (30 s timeout) could outlast a lock. */
#define VF_POLICY_LOCK_MIN_S 60
#define VF_POLICY_LOCK_MAX_S (36600LL * 86400) /* 100 years */

/* How often the locks of needed objects are renewed for a lock period
 * of period ns: a third of it, at most once a day (a needed object never
 * has less than two thirds of its lock left). */
int64_t vf_policy_extend_every(int64_t period);

/* How far ahead check wants a needed object locked, for a lock period of
 * period ns (0: the default, retention + margin, always days): one
 * renewal interval, at most a day.  A running daemon keeps two thirds of
 * the period ahead, so less than a third means renewals stopped. */
int64_t vf_policy_lock_ahead(int64_t period);

/* The remote history window W (ns): `recover --at` works for any time
 * within W of now.  The soft-delete retention (the window local prune
 * and purge respect), or the lock period when that is shorter (a vault
 * that asked for short locks asked for a short window: locks shorter
 * than the window would protect nothing the window promises). */
int64_t vf_policy_store_window(unsigned softdelete_days, int64_t lock_period);

/* Whether a ship round sends its changed pages as a segment (1) or the
 * whole catalog as a full checkpoint (0).  have_base: the pages of the
 * state shipped last are known (not the first round of a mount, not after
 * a failed upload).  A full checkpoint when the chain already has
 * chain_max segments; when its segments with this one (bytes) would pass
 * both half the catalog and chain_floor bytes (a recovery then downloads
 * at most about 1.5 catalogs); or when the chain started window/4 or
 * longer ago (age, ns): remote gc can only free what lies before the
 * newest full checkpoint older than the window, so the store holds at most
 * about 1.25 windows of history. */
int vf_policy_ship_segment(int have_base, uint64_t chain_segs,
			   uint64_t chain_max, uint64_t chain_bytes,
			   uint64_t bytes, uint64_t catalog_size,
			   uint64_t chain_floor, int64_t age, int64_t window);

/* Remote gc walks the checkpoints in sequence order (their stamps grow
 * with it) to find the floor: the newest full checkpoint stamped at or
 * before cutoff (now - W).  Everything from the floor on is needed, so
 * the oldest moment of the window can still be recovered; every sequence
 * number below it is not.  For one checkpoint: full (a whole catalog,
 * not a segment), stamp_ok (its sealed time opened) and its stamp. */
enum vf_ckpt_step {
	VF_CKPT_SKIP,  /* not a floor candidate (segment, bad time): go on */
	VF_CKPT_FLOOR, /* the floor so far: go on */
	VF_CKPT_STOP,  /* stamped after cutoff: it and all later are needed */
};
enum vf_ckpt_step vf_policy_ckpt_step(int64_t cutoff, int full, int stamp_ok,
				      int64_t stamp);

/* Is sequence number seq still needed with floor (0: none found yet, all
 * are)?  1 or 0. */
int vf_policy_ckpt_needed(uint64_t seq, uint64_t floor);

/* Is a pack in the store still needed?  live: the current catalog names
 * it; dropped: local gc recorded when it dropped it (dropped_at, a
 * stamp); floor_t: the stamp of the floor checkpoint (0: no floor).  A
 * pack dropped at r is in no checkpoint copied after r, so it is unneeded
 * once dropped before the floor's stamp.  A pack neither live nor
 * recorded as dropped is kept (not known to be unneeded).  1 or 0. */
int vf_policy_pack_needed(int live, int dropped, int64_t dropped_at,
			  int64_t floor_t);

/* Times on a remote vault take the store's clock as a second opinion:
 * store_now is the store's (its replies' Date), vault_now the vault
 * clock.  A decision that frees data (purge, gc, lock final) uses the
 * earlier of the two, plus tol for the store's coarse clock and the round
 * trip: a host clock moved ahead purges nothing early.  A stamp (recovery
 * point, audit) is the vault clock kept within tol of the store's: a host
 * clock moved either way cannot date a record in the past or future.
 * *disagree is set when the two differ by more than tol (audit and
 * alert it).  store_now 0: no reply from the store yet; vault_now is
 * used as is. */
int64_t vf_policy_decide_time(int64_t vault_now, int64_t store_now,
			      int64_t tol, int *disagree);
int64_t vf_policy_stamp_time(int64_t vault_now, int64_t store_now,
			     int64_t tol, int *disagree);

/* ---- security posture ---------------------------------------------------- */

enum vf_posture_level {
	VF_POSTURE_POOR,
	VF_POSTURE_FAIR,
	VF_POSTURE_GOOD,
	VF_POSTURE_EXCELLENT,
};

/* The settings the grade is made of.  Pending always-on and locks count
 * as not set: they can still be cancelled. */
struct vf_posture_in {
	int sd_on;        /* soft delete on */
	int always_on;    /* vf_policy_lock_state of always-on: 0, 1, 2 */
	int imm_vault;    /* immutable vault on */
	int imm_lock;     /* vf_policy_lock_state of its lock: 0, 1, 2 */
	int guard;        /* a guard key attached */
	int remote;       /* the vault has a remote store */
	int store_lock;   /* remote: objects under Object Lock */
	int plain_http;   /* remote: the store is reached over plain HTTP */
	int passphrase;   /* unlocked by a passphrase */
	int short_lock;   /* remote: objects locked for less than the
			     soft-delete retention + margin */
	int prot;         /* enum vf_prot_state: protection stopped */
};

/* The conditions, each met or not; would[c] is the grade the vault would
 * get with c met as well (the tools print the command that does it). */
enum vf_posture_cond {
	VF_PC_SOFTDELETE, /* soft delete on */
	VF_PC_ALWAYS_ON,  /* soft delete always-on, final */
	VF_PC_IMM_LOCKED, /* immutable vault locked, final */
	VF_PC_GUARD,      /* guard attached */
	VF_PC_COUNT
};

/* Weak choices, named whatever the grade. */
#define VF_PW_LOCAL 1u            /* no remote store: root here can destroy it */
#define VF_PW_NO_STORE_LOCK 2u    /* remote store without Object Lock */
#define VF_PW_PLAIN_HTTP 4u       /* store over plain HTTP */
#define VF_PW_PASSPHRASE 8u       /* a passphrase and no guard */
#define VF_PW_SHORT_LOCK 16u      /* store locks shorter than retention + margin */
#define VF_PW_STOPPED 32u         /* protection stopped: nothing new is kept */

struct vf_posture {
	enum vf_posture_level level;
	int met[VF_PC_COUNT];
	int pending[VF_PC_COUNT];  /* set, but cancellable until final */
	enum vf_posture_level would[VF_PC_COUNT];
	const char *name;          /* the grade as shown ("Good") */
	const char *would_name[VF_PC_COUNT];
	unsigned weak;             /* VF_PW_* */
	int prot;                  /* enum vf_prot_state, as given */
};

/* Grades a vault: Excellent when soft delete is always-on or the
 * immutable vault locked (final), and a guard is attached; Good when the
 * immutable vault is locked or soft delete is on; Fair with a guard
 * only; Poor otherwise.  A vault whose protection is stopped is named
 * (VF_PW_STOPPED); stopped with --delete it is Poor whatever else holds:
 * its files are on their way out. */
void vf_policy_posture(const struct vf_posture_in *in, struct vf_posture *out);

/* "Excellent", "Good", "Fair", "Poor". */
const char *vf_policy_posture_name(enum vf_posture_level l);
/* ---- the disk reserve (issue 11 item 11) ----------------------------------- */

/* The default reserve of a backing filesystem of fs_bytes:
 * min(VF_POLICY_RESERVE_MAX, 5 % of it). */
#define VF_POLICY_RESERVE_MAX (256ULL << 20)
uint64_t vf_policy_reserve_default(uint64_t fs_bytes);

/* Who is about to take disk space. */
enum vf_fill_kind {
	VF_FILL_DATA,    /* file data of a caller other than root */
	VF_FILL_ROOT,    /* file data of root */
	VF_FILL_RESERVED /* catalog, trash and audit writes (and purges) */
};

/* May want more bytes be written now, with avail bytes free on the
 * backing filesystem and reserve bytes kept back?  0, or -ENOSPC when a
 * VF_FILL_DATA write would leave less than the reserve free: so that a
 * writer with a role (a stolen Operator) cannot fill the disk until
 * nobody can delete, purge or audit.  Root and the reserved writers may
 * use the reserve (the filesystem itself still says ENOSPC when it is
 * full). */
int vf_policy_may_fill(enum vf_fill_kind kind, uint64_t avail, uint64_t want,
		       uint64_t reserve);

/* The reserve setting (bytes; VF_POLICY_RESERVE_DEFAULT: the default)
 * in force on a filesystem of fs_bytes. */
#define VF_POLICY_RESERVE_DEFAULT UINT64_MAX
uint64_t vf_policy_reserve(uint64_t setting, uint64_t fs_bytes);

/* ---- private directories: the vault and the keystore ----------------------- */

/* May a directory owned by owner, with permission bits mode, hold a vault
 * or a keystore for a process running as euid?  It must belong to that
 * identity — root's vaults to root; an unprivileged user's own vault (a
 * test's, say) to that user, since nobody else could open it anyway — and
 * let group and others nowhere in.  0, or -EPERM with the reason and its
 * fix in why: "mode 0750 lets group or others in (chmod 700 it)". */
VF_MUST int vf_policy_private_dir(uint32_t owner, uint32_t mode, uint32_t euid,
				  char *why, size_t whylen);

/* ---- administrative operations (README.md, Roles, The guard) -------------- */

/* Roles, weakest first.  Root is always Owner; a caller with no role is
 * refused everything (EACCES). */
enum vf_role {
	VF_ROLE_NONE,
	VF_ROLE_READER,
	VF_ROLE_OPERATOR,
	VF_ROLE_CONTRIBUTOR,
	VF_ROLE_OWNER,
};

/* Soft delete (README.md, Soft delete). */
#define VF_SOFTDELETE_DAYS 14      /* default retention */
#define VF_SOFTDELETE_MIN_DAYS 14
#define VF_SOFTDELETE_MAX_DAYS 180
#define VF_COOLING_OFF (72LL * 3600 * VF_NS) /* before a lock is final */
#define VF_IMM_MAX_DAYS 36600

struct vf_softdelete {
	unsigned days;        /* retention of deleted items */
	int off;              /* deletes are final (purged at the next pass) */
	int64_t always_on;    /* 0, or when always-on is (or became) final */
};

enum vf_sd_change {
	VF_SD_DAYS,        /* set the retention to days */
	VF_SD_ON,
	VF_SD_OFF,
	VF_SD_ALWAYS_ON,   /* pending for VF_COOLING_OFF, then final */
	VF_SD_CANCEL,      /* cancel a pending always-on */
};

/* The immutable vault: while on, nothing may lose a recovery point before
 * its retention.  lock_at: 0, or when the lock becomes (became) final. */
struct vf_imm_vault {
	int on;
	int64_t lock_at;
};

enum vf_iv_change {
	VF_IV_ON,     /* turn on */
	VF_IV_LOCK,   /* turn on and lock (pending, then final) */
	VF_IV_OFF,    /* turn off */
	VF_IV_CANCEL, /* cancel a pending lock, stay on */
};

/* The rule of one immutable directory as the decisions see it. */
struct vf_imm_state {
	int have;        /* the directory has a rule */
	unsigned days;   /* 0: forever */
	int64_t lock_at; /* 0, or when the lock becomes (became) final */
	int64_t set_at;
};

/* Every administrative operation the gate (admin.c) runs. */
enum vf_admin_op {
	VF_OP_STATUS,
	VF_OP_CHECK,
	VF_OP_SNAPSHOT,
	VF_OP_SNAPSHOTS,
	VF_OP_POLICY_SHOW,
	VF_OP_POLICY_SET,
	VF_OP_PRUNE,
	VF_OP_GC,
	VF_OP_SD_SHOW,
	VF_OP_SD_SET,
	VF_OP_SD_LIST,
	VF_OP_SD_PURGE,
	VF_OP_IMM_SET,
	VF_OP_IMM_CLEAR,
	VF_OP_IMM_UNLOCK,
	VF_OP_IMM_LIST,
	VF_OP_IMM_VAULT_SHOW,
	VF_OP_IMM_VAULT_SET,
	VF_OP_ROLE_GRANT,
	VF_OP_ROLE_LIST,
	VF_OP_GUARD_ATTACH,
	VF_OP_GUARD_DETACH,
	VF_OP_GUARD_SHOW,
	VF_OP_AUDIT_LIST,
	VF_OP_AUDIT_VERIFY,
	VF_OP_POSTURE,
	VF_OP_MAINTAIN,
	VF_OP_ALERTS,
	VF_OP_ALERT_ACK,
	VF_OP_RESERVE_SET,
	VF_OP_ALERT_MUTE,
	VF_OP_TRIP_STATUS,
	VF_OP_TRIP_RELEASE,
	VF_OP_TRIP_SET,
	VF_OP_TRIP_FP,
	VF_OP_METRICS,
	VF_OP_REPORT,
	VF_OP_PROT_STOP,
	VF_OP_PROT_RESUME,
	VF_OP_KEY_LIST,
	VF_OP_KEY_ADD,
	VF_OP_KEY_REMOVE,
	VF_OP_KEY_EXPORT,
	VF_OP_KEY_ROTATE,
	VF_OP_KEY_ROTATION,
	VF_OP_PASSPHRASE_CHANGE,
	VF_OP_COUNT
};

struct vf_op_rule {
	const char *name;    /* as audited and shown ("softdelete set") */
	enum vf_role least;  /* the least role that may run it (README.md, Roles) */
	int changes;         /* changes the vault: audited, refused when
				the vault is read-only */
};

/* The rule of op (the role table of README.md as one array), or NULL out of range. */
const struct vf_op_rule *vf_policy_op(enum vf_admin_op op);

/*
 * Decisions on administrative changes.  Each takes the current state read
 * under the gate's lock, the change asked for and now, and returns
 *   VF_ALLOW     the change may be made as it is;
 *   VF_CRITICAL  the change may be made with the guard's approval
 *                (README.md, The guard):
 *                *gop gets the operation name a token must carry;
 *   -EPERM       refused whoever approves (a final lock, always-on, the
 *                immutable vault), so no approval is asked for or spent;
 *   -EINVAL      out of range, or nothing to change (no pending lock);
 *   -ENOENT      what it applies to does not exist;
 * with one line in why on refusal.  next (where there is one) gets the
 * state after the change, only on VF_ALLOW or VF_CRITICAL.
 */
#define VF_ALLOW 0
#define VF_CRITICAL 1

VF_MUST int vf_policy_softdelete(const struct vf_softdelete *cur,
				 int imm_vault, enum vf_sd_change what,
				 unsigned days, int64_t now,
				 struct vf_softdelete *next, const char **gop,
				 char *why, size_t whylen);
/* Early purge of a soft-deleted item. */
VF_MUST int vf_policy_purge(const struct vf_softdelete *sd, int imm_vault,
			    int64_t now, const char **gop, char *why,
			    size_t whylen);

/* Whether deleted entries within one window are a mass deletion: at
 * least n_max of them, or at least min_n and pct % of the tree entries
 * (files and directories) live when the window began (tree 0: unknown,
 * only n_max counts).  Small trees wiped out alert too; a big tree's
 * daily churn does not. */
int vf_policy_mass_delete(uint64_t deleted, uint64_t tree, uint64_t n_max,
			  unsigned pct, uint64_t min_n);

/* Muting a kind of alert until `until` (vault ns; 0: unmute) while it is
 * muted until cur (0 or past: not muted), at now.  Muting, or muting for
 * longer, is critical ("alerts.mute": nobody hears about the next attack
 * of that kind); unmuting or shortening is allowed; a mute ending more
 * than VF_ALERT_MUTE_MAX from now, or not in the future, is -EINVAL. */
#define VF_ALERT_MUTE_MAX (30LL * 86400 * VF_NS)
VF_MUST int vf_policy_alert_mute(int64_t cur, int64_t until, int64_t now,
				 const char **gop, char *why, size_t whylen);

/* A change of the disk reserve setting from cur to next (settings as
 * vf_policy_reserve takes them) on a filesystem of fs_bytes: a reserve
 * that becomes smaller is critical ("reserve.lower": it lets writers
 * closer to a full disk) and refused on an immutable vault (-EPERM); a
 * reserve over half the filesystem is refused (-EINVAL). */
int vf_policy_reserve_change(uint64_t cur, uint64_t next, uint64_t fs_bytes,
			     int imm_vault, const char **gop, char *why,
			     size_t whylen);
/* immutable set/lock: have_days says whether days (0: forever) is given. */
VF_MUST int vf_policy_imm_set(const struct vf_imm_state *cur, int have_days,
			      unsigned days, int lock, int64_t now,
			      struct vf_imm_state *next, const char **gop,
			      char *why, size_t whylen);
/* immutable clear (remove the rule) or unlock (cancel a pending lock). */
VF_MUST int vf_policy_imm_clear(const struct vf_imm_state *cur,
				int unlock_only, int64_t now, const char **gop,
				char *why, size_t whylen);
VF_MUST int vf_policy_imm_vault(const struct vf_imm_vault *cur,
				enum vf_iv_change what, int64_t now,
				struct vf_imm_vault *next, const char **gop,
				char *why, size_t whylen);
/* A new retention policy: checked for range (-EINVAL), refused when
 * weaker on an immutable vault, critical when weaker. */
VF_MUST int vf_policy_retention_change(const struct vf_retention *cur,
				       const struct vf_retention *next,
				       const struct vf_imm_vault *iv,
				       const char **gop, char *why,
				       size_t whylen);
/* 0 when every value of p is in range, else -EINVAL with why (may be
 * NULL). */
VF_MUST int vf_policy_retention_valid(const struct vf_retention *p, char *why,
				      size_t whylen);
/* A role grant (next VF_ROLE_NONE revokes) to a uid or gid. */
VF_MUST int vf_policy_role_change(int is_group, uint32_t id, enum vf_role cur,
				  enum vf_role next, const char **gop,
				  char *why, size_t whylen);
/* Attaching (detach 0) or detaching a guard, have_guard the state. */
VF_MUST int vf_policy_guard_change(int have_guard, int detach,
				   const char **gop, char *why, size_t whylen);
/* A guard set of nkeys keys (1..max) of which quorum must approve:
 * VF_ALLOW when 1 <= quorum <= nkeys <= max, else -EINVAL. */
VF_MUST int vf_policy_guard_set(size_t nkeys, size_t max, unsigned quorum,
				char *why, size_t whylen);
/* The number of distinct values among signer[0..n). */
size_t vf_policy_distinct(const int *signer, size_t n);
/* The quorum decision on the approvals of one request, each already
 * checked valid: signer[i] is the index, in the guard set, of the guard
 * whose approval i is.  VF_ALLOW when at least quorum distinct guards
 * approved (copies of one guard's approval count once); else -EPERM,
 * "approved by N of the M guards needed". */
VF_MUST int vf_policy_quorum(const int *signer, size_t n, unsigned quorum,
			     char *why, size_t whylen);

/* ---- protectors (docs/keys.md) ------------------------------------------- */

/* Changes of the protectors of a vault holding n of at most max (the
 * header, read under the vault lock).  Adding one: allowed (the Owner's
 * role is the check), -ENOSPC when full.  Removing one: critical
 * ("key.remove"), -EPERM for the last.  Exporting a recovery key (a new
 * protector that opens the vault on its own): critical ("key.export"),
 * -ENOSPC when full.  Rotating the protectors' keys: critical
 * ("key.rotate").  Changing the passphrase: critical
 * ("passphrase.change"). */
VF_MUST int vf_policy_key_add(unsigned n, unsigned max, char *why,
			      size_t whylen);
VF_MUST int vf_policy_key_remove(unsigned n, const char **gop, char *why,
				 size_t whylen);
VF_MUST int vf_policy_key_export(unsigned n, unsigned max, const char **gop,
				 char *why, size_t whylen);
VF_MUST int vf_policy_key_rotate(const char **gop);
VF_MUST int vf_policy_passphrase_change(const char **gop);

/* ---- the ransomware tripwire (docs/tripwire.md) ------------------------- */

/* Sensitivity: the score a window must reach to fire. */
enum vf_trip_sens {
	VF_TRIP_OFF,
	VF_TRIP_LOW,
	VF_TRIP_MEDIUM,
	VF_TRIP_HIGH,
};

#define VF_TRIP_THR_HIGH 8
#define VF_TRIP_THR_MEDIUM 16
#define VF_TRIP_THR_LOW 32
/* a learned threshold is at most this many times the sensitivity's */
#define VF_TRIP_LEARN_CAP 4
#define VF_TRIP_MAX_LEARN_DAYS 90

/* "off", "low", "medium", "high"; "?" out of range. */
const char *vf_policy_trip_sens_name(enum vf_trip_sens s);
/* The sensitivity named name: 0 and *out, or -EINVAL. */
int vf_policy_trip_sens_parse(const char *name, enum vf_trip_sens *out);

/* One uid's signals within the sliding window (trip.c counts them). */
struct vf_trip_counts {
	uint32_t hi_over;  /* low-entropy content overwritten by high-entropy
			      content that is no known compressed format */
	uint32_t ext_ren;  /* renames that changed a file's extension */
	uint32_t hi_new;   /* new files of such high-entropy content */
	uint32_t deletes;  /* files deleted */
};

/* The tripwire's settings (catalog meta "trip.*"). */
struct vf_trip_settings {
	enum vf_trip_sens sens; /* a new vault: VF_TRIP_MEDIUM */
	int64_t learn_until;    /* learning before this (0: none) */
	uint32_t peak;          /* the highest score seen while learning */
};

/* The score of c: 2 per suspicious overwrite, 1 per extension change and
 * 1 per deleted file matched by a new high-entropy file (the "write a
 * copy, delete the original" pattern).  *evidence (may be NULL) gets the
 * part that is content evidence (overwrites and such pairs). */
uint32_t vf_policy_trip_score(const struct vf_trip_counts *c,
			      uint32_t *evidence);
/* The score that fires with settings s at now: the sensitivity's
 * threshold; while learning, the threshold of VF_TRIP_LOW; after a
 * learning period, at least 1.5 times the peak it saw, capped at
 * VF_TRIP_LEARN_CAP times the sensitivity's.  0: never (off). */
uint32_t vf_policy_trip_threshold(const struct vf_trip_settings *s,
				  int64_t now);
/* 1 when counts c fire the tripwire with settings s at now: the score
 * reaches the threshold and at least a quarter of it is content
 * evidence (renames and deletions alone never fire); else 0. */
int vf_policy_tripwire(const struct vf_trip_counts *c,
		       const struct vf_trip_settings *s, int64_t now);
/* A change of the settings from cur to next at now: a lower sensitivity
 * or a learning period reaching further than the current one is critical
 * ("tripwire.weaken"); a learning period over VF_TRIP_MAX_LEARN_DAYS is
 * -EINVAL (next->learn_until already computed by the caller). */
VF_MUST int vf_policy_trip_change(const struct vf_trip_settings *cur,
				  const struct vf_trip_settings *next,
				  int64_t now, const char **gop, char *why,
				  size_t whylen);
/* Lifting the freeze: critical ("tripwire.release"); -EINVAL when the
 * vault is not frozen (frozen_at 0). */
VF_MUST int vf_policy_trip_release(int64_t frozen_at, const char **gop,
				   char *why, size_t whylen);
/* Exempting a uid or an extension (a false positive) for days: critical
 * ("tripwire.exempt"); days 1..VF_TRIP_MAX_LEARN_DAYS else -EINVAL. */
VF_MUST int vf_policy_trip_exempt(unsigned days, const char **gop, char *why,
				  size_t whylen);
/* Starting a data key rotation (docs/keys-rotation.md): critical
 * ("key.rotate-data"); -EBUSY while the last one is still re-encrypting
 * packs (running), -EOPNOTSUPP for a remote vault (remote). */
VF_MUST int vf_policy_key_rotate_data(int remote, int running,
				      const char **gop, char *why,
				      size_t whylen);

/* ---- stop protection (docs/protection.md) --------------------------------- */

/* The vault's protection: on, or stopped (read-only for everyone through
 * the mount) keeping its files (--retain) or with every live file
 * soft-deleted (--delete). */
enum vf_prot_state {
	VF_PROT_ON,
	VF_PROT_RETAIN,
	VF_PROT_DELETE,
};

/* "on", "stopped (retain)", "stopped (delete)". */
const char *vf_policy_prot_name(enum vf_prot_state s);

/* Stopping protection in mode next (VF_PROT_RETAIN or VF_PROT_DELETE)
 * when it is cur, with the --delete walk unfinished (pending) or not, and
 * soft delete on (sd_on) or off.  --retain is allowed from on; --delete
 * is critical ("protection.stop-delete") from on or --retain, refused
 * (-EPERM) with soft delete off (nothing would be kept), and allowed
 * again while its walk is pending (it goes on with the approved
 * deletion); anything else is -EINVAL (stopped already). */
VF_MUST int vf_policy_protection_stop(enum vf_prot_state cur, int pending,
				      enum vf_prot_state next, int sd_on,
				      const char **gop, char *why,
				      size_t whylen);
/* Resuming: allowed when stopped (after --delete too: what was deleted
 * stays in .softdeleted until its purge time); -EINVAL when protection
 * is on, -EBUSY while the --delete walk is pending. */
VF_MUST int vf_policy_protection_resume(enum vf_prot_state cur, int pending,
					char *why, size_t whylen);

/* ---- native ingest: vaultctl backup (docs/backup.md) ---------------------- */

/* What vaultctl backup knows of a source file (from fstat of the
 * descriptor its caller opened) and of the destination's live node. */
struct vf_ingest_src {
	uint64_t size;
	int64_t mtime; /* ns since the epoch */
};
struct vf_ingest_dst {
	int exists, regular;
	uint64_t size;
	int64_t mtime;
};

/* The "unchanged?" rule: 1 when the destination is a regular file of
 * the same size and modification time (to the nanosecond) as the source,
 * so its data is not read again (rsync's quick check, which is what
 * rsync -a does); else 0. */
int vf_policy_ingest_unchanged(const struct vf_ingest_src *s,
			       const struct vf_ingest_dst *d);

/* The batch rule: 1 when a batch of files items (files, links,
 * directories, deletions) and bytes bytes must be reported now
 * (VF_INGEST_BATCH_FILES items or VF_INGEST_BATCH_BYTES bytes,
 * whichever comes first). */
#define VF_INGEST_BATCH_FILES 256
#define VF_INGEST_BATCH_BYTES (64ull << 20)
int vf_policy_ingest_batch_full(uint64_t files, uint64_t bytes);

/* Permission bits of a node for a caller, as the kernel checks them with
 * default_permissions (fs/): mode, owner and group of the node, its
 * access ACL (acl, n bytes in the xattr form of acl.h; NULL/0 when none)
 * and the caller (uid; gids, its primary and supplementary groups).
 * want: any of 4 (read), 2 (write), 1 (search/execute).  Root passes
 * every check but execute of a file with no x bit at all.  1 allowed,
 * 0 not (a malformed ACL allows nothing). */
int vf_policy_may_access(uint32_t mode, uint32_t owner, uint32_t group,
			 const void *acl, size_t n, uint32_t uid,
			 const uint32_t *gids, size_t ngids, unsigned want);

/* Whether a caller may give a node it creates owner uid / group gid, as
 * chown(2) allows: root anything; others only themselves as owner, and a
 * group they are in (gids).  Returns a mask of VF_INGEST_OWN_UID and
 * VF_INGEST_OWN_GID: what may be applied. */
#define VF_INGEST_OWN_UID 1u
#define VF_INGEST_OWN_GID 2u
unsigned vf_policy_ingest_chown(uint32_t caller, const uint32_t *gids,
				size_t ngids, uint32_t uid, uint32_t gid);

/* Whether a caller may set the mode, times and extended attributes of an
 * existing node owned by owner with group gid, as chmod(2) and
 * utimensat(2) allow: root, or the owner.  0 with *mode the mode to
 * apply (setgid dropped, as chmod(2) drops it, when the caller is not
 * root and not in gid), or -EPERM. */
int vf_policy_ingest_meta(uint32_t caller, const uint32_t *gids,
			  size_t ngids, uint32_t owner, uint32_t gid,
			  uint32_t *mode);

/* Whether a caller may remove an entry owned by node_uid from a
 * directory (dir_mode, dir_uid): the sticky bit's rule of unlink(2) and
 * rmdir(2) (root, the entry's owner or the directory's).  1 or 0; write
 * and search permission on the directory are checked apart. */
int vf_policy_may_unlink(uint32_t dir_mode, uint32_t dir_uid,
			 uint32_t node_uid, uint32_t caller);

#endif
