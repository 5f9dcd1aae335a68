/*
 * vault.h - the vault engine: what fs/ and tools/ call.
 *
 * A struct vf_vault is one open vault: its keys, catalog (catalog.c), pack
 * writer and caches.  The live tree is addressed by catalog node ids, which
 * fs/ uses directly as FUSE inode numbers (the root is node 1), so no
 * per-inode state is kept in memory: only files that are open for writing
 * have a struct in memory, and it is freed at the last release.
 *
 * Recovery points: the first write, truncate or O_TRUNC open of a file
 * starts a dirty session on it; vf_vault_flush (FUSE flush, i.e. close(2))
 * and vf_vault_fsync commit the session as a new version in one catalog
 * transaction, with the commit time taken from the daemon's clock.  Until
 * then readers through other handles see the dirty data (POSIX), and the
 * catalog holds only the previous version, so a crash leaves the file at
 * its last committed version.
 *
 * Callers: every entry point takes the caller's identity as an argument
 * (from the FUSE request or SO_PEERCRED); core never asks the OS who is
 * calling.  Each checks the caller's role first (authz.c, README.md Roles): no role,
 * EACCES.  Operations through an open handle were authorized at open.  Permission checks on mode bits are the kernel's
 * (default_permissions); core enforces ownership rules it alone can see.
 *
 * Threads: every function may be called from any thread at once unless
 * stated otherwise; the engine serialises catalog access internally and
 * does chunking, compression, sealing and pack I/O outside that lock.
 */
#ifndef VF_VAULT_H
#define VF_VAULT_H

#include <sys/statvfs.h>

#include "common.h"
#include "crypto.h"
#include "pack_io.h"
#include "policy.h"

#define VF_ROOT_INO 1
#define VF_NAME_MAX 255
#define VF_PATH_MAX 4095

/* Memory budget of the daemon, in bytes, split below (see README). */
#define VF_CACHE_CHUNKS (32u << 20)  /* decrypted chunk cache */
#define VF_CACHE_STREAMS (32u << 20) /* chunker buffers of files being written */
#define VF_CACHE_CATALOG (16u << 20) /* SQLite page cache */

struct vf_vault;
struct vf_handle;

struct vf_caller {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	uint32_t umask; /* applied at create unless a default ACL rules */
	/* The caller's supplementary groups, asked for only when a role is
	 * granted to a group: fills buf (cap entries) and returns how many
	 * there are, or -errno.  NULL: none beyond gid. */
	int (*groups)(void *ctx, gid_t *buf, int cap);
	void *groups_ctx;
};

struct vf_attr {
	uint64_t ino;
	uint32_t mode; /* type and permission bits */
	uint32_t nlink;
	uint32_t uid, gid;
	uint64_t rdev;
	uint64_t size;
	int64_t atime, mtime, ctime; /* ns since the epoch */
	uint32_t flags; /* VF_ATTR_* */
};

/* vf_attr.flags: the answer may change behind the kernel's back (an item
 * in .softdeleted, purged by a timer): the kernel must not cache it. */
#define VF_ATTR_VOLATILE (1u << 0)

/* vf_setattr.valid bits */
#define VF_SET_MODE (1u << 0)
#define VF_SET_UID (1u << 1)
#define VF_SET_GID (1u << 2)
#define VF_SET_SIZE (1u << 3)
#define VF_SET_ATIME (1u << 4)
#define VF_SET_MTIME (1u << 5)
#define VF_SET_ATIME_NOW (1u << 6)
#define VF_SET_MTIME_NOW (1u << 7)
#define VF_SET_CTIME (1u << 8)

struct vf_setattr {
	unsigned valid;
	uint32_t mode;
	uint32_t uid, gid;
	uint64_t size;
	int64_t atime, mtime, ctime;
};

/* vf_vault_open flags */
#define VF_OPEN_RDONLY (1 << 0)
/* Open a catalog that went back or was altered since its anchor (see
 * README, "Catalog anchors"): the admin's deliberate recovery; audited. */
#define VF_OPEN_ACCEPT_ROLLBACK (1 << 1)

/* Creates a vault in dir (created 0700 if missing; must otherwise be empty
 * and root-only): header, keystore entry, empty catalog with the root
 * directory (mode 0755, owned by root).  One line in err on failure; nothing
 * is left behind that would look like a vault. */
VF_MUST int vf_vault_create(const char *dir, const struct vf_protector_opts *o,
			    char *err, size_t errlen);

/* Opens a vault.  Checks that dir and the keystore are root-only (names the
 * offending path in err), takes the vault's lock (-EBUSY when another
 * process has it open), unlocks the key, opens the catalog and recovers
 * from a crash.  One line in err on failure; modifies nothing on failure. */
VF_MUST int vf_vault_open(const char *dir, const struct vf_protector_opts *o,
			  int flags, struct vf_vault **out, char *err,
			  size_t errlen);

/* Commits every open dirty file, syncs packs and the catalog, closes.
 * Returns the first error seen; accepts NULL. */
int vf_vault_close(struct vf_vault *v);

/* ---- namespace (each returns 0 or -errno) ------------------------------ */

VF_MUST int vf_vault_lookup(struct vf_vault *v, const struct vf_caller *c,
			    uint64_t parent, const char *name,
			    struct vf_attr *out);
VF_MUST int vf_vault_getattr(struct vf_vault *v, const struct vf_caller *c,
			     uint64_t ino, struct vf_attr *out);
/* h may be NULL (a path-based setattr). */
VF_MUST int vf_vault_setattr(struct vf_vault *v, const struct vf_caller *c,
			     uint64_t ino, struct vf_handle *h,
			     const struct vf_setattr *sa, struct vf_attr *out);
/* Regular files, fifos, sockets and device nodes (mode carries the type). */
VF_MUST int vf_vault_mknod(struct vf_vault *v, const struct vf_caller *c,
			   uint64_t parent, const char *name, uint32_t mode,
			   uint64_t rdev, struct vf_attr *out);
VF_MUST int vf_vault_mkdir(struct vf_vault *v, const struct vf_caller *c,
			   uint64_t parent, const char *name, uint32_t mode,
			   struct vf_attr *out);
VF_MUST int vf_vault_symlink(struct vf_vault *v, const struct vf_caller *c,
			     uint64_t parent, const char *name,
			     const char *target, struct vf_attr *out);
/* Copies the target, NUL-terminated, into buf (cap >= VF_PATH_MAX + 1). */
VF_MUST int vf_vault_readlink(struct vf_vault *v, const struct vf_caller *c,
			      uint64_t ino, char *buf, size_t cap);
VF_MUST int vf_vault_link(struct vf_vault *v, const struct vf_caller *c,
			  uint64_t ino, uint64_t newparent, const char *newname,
			  struct vf_attr *out);
VF_MUST int vf_vault_unlink(struct vf_vault *v, const struct vf_caller *c,
			    uint64_t parent, const char *name);
VF_MUST int vf_vault_rmdir(struct vf_vault *v, const struct vf_caller *c,
			   uint64_t parent, const char *name);
/* flags: 0, RENAME_NOREPLACE or RENAME_EXCHANGE (linux/fs.h values). */
VF_MUST int vf_vault_rename(struct vf_vault *v, const struct vf_caller *c,
			    uint64_t parent, const char *name,
			    uint64_t newparent, const char *newname,
			    unsigned flags);

/* Directory listing.  Offsets are opaque cookies: start with 0; each entry
 * carries the cookie of the next one.  "." and ".." come first.  cb returns
 * non-zero to stop (buffer full); that entry is then not consumed.
 * Returns 0 or -errno. */
typedef int (*vf_readdir_cb)(void *arg, const char *name,
			     const struct vf_attr *attr, uint64_t next);
VF_MUST int vf_vault_readdir(struct vf_vault *v, const struct vf_caller *c,
			     uint64_t ino, uint64_t off, vf_readdir_cb cb,
			     void *arg);

/* ---- file data ------------------------------------------------------- */

/* flags: open(2) flags (O_ACCMODE, O_TRUNC, O_APPEND).  *out is freed by
 * vf_vault_release. */
VF_MUST int vf_vault_open_file(struct vf_vault *v, const struct vf_caller *c,
			       uint64_t ino, int flags,
			       struct vf_handle **out);
/* Creates and opens a regular file (EEXIST if the name exists). */
VF_MUST int vf_vault_create_file(struct vf_vault *v, const struct vf_caller *c,
				 uint64_t parent, const char *name,
				 uint32_t mode, int flags, struct vf_attr *attr,
				 struct vf_handle **out);
/* Returns the bytes read (short only at end of file) or -errno (-EBADMSG
 * when a chunk fails authentication). */
VF_MUST ssize_t vf_vault_read(struct vf_vault *v, struct vf_handle *h,
			      uint64_t off, void *buf, size_t size);
/* Returns size or -errno. */
VF_MUST ssize_t vf_vault_write(struct vf_vault *v, struct vf_handle *h,
			       uint64_t off, const void *buf, size_t size);
/* Commits a new recovery point if the file is dirty.  Returns 0 or -errno
 * (then the file keeps its previous version and its dirty data). */
VF_MUST int vf_vault_flush(struct vf_vault *v, struct vf_handle *h);
/* As flush, then makes it durable against power loss. */
VF_MUST int vf_vault_fsync(struct vf_vault *v, struct vf_handle *h);
/* mode: 0 or FALLOC_FL_KEEP_SIZE / FALLOC_FL_PUNCH_HOLE|KEEP_SIZE. */
VF_MUST int vf_vault_fallocate(struct vf_vault *v, struct vf_handle *h,
			       int mode, uint64_t off, uint64_t len);
/* Drops the handle (committing if still dirty); accepts NULL. */
int vf_vault_release(struct vf_vault *v, struct vf_handle *h);
/* Batches (vaultctl backup, docs/backup.md): the commits h makes (its
 * flush and release) are left pending (catalog.h, deferred commits) and
 * reach the catalog with the next commit of anything, or with
 * vf_vault_settle; a kill -9 before that loses them, never part of
 * one.  fsync still commits at once. */
void vf_vault_handle_defer(struct vf_handle *h);
/* Commits what is pending.  0 or -errno (then all of it is rolled
 * back). */
VF_MUST int vf_vault_settle(struct vf_vault *v);
/* 1 when the file's data may stay in the kernel's page cache from an
 * earlier open (its version did not change since). */
int vf_vault_handle_keep_cache(const struct vf_handle *h);

/* ---- extended attributes (names as given by the kernel) --------------- */

/* flags: 0, XATTR_CREATE, XATTR_REPLACE. */
VF_MUST int vf_vault_setxattr(struct vf_vault *v, const struct vf_caller *c,
			      uint64_t ino, const char *name, const void *value,
			      size_t size, int flags);
/* cap 0 returns the size; -ERANGE when cap is too small; -ENODATA. */
VF_MUST ssize_t vf_vault_getxattr(struct vf_vault *v, const struct vf_caller *c,
				  uint64_t ino, const char *name, void *buf,
				  size_t cap);
VF_MUST ssize_t vf_vault_listxattr(struct vf_vault *v,
				   const struct vf_caller *c, uint64_t ino,
				   char *buf, size_t cap);
VF_MUST int vf_vault_removexattr(struct vf_vault *v, const struct vf_caller *c,
				 uint64_t ino, const char *name);

VF_MUST int vf_vault_statfs(struct vf_vault *v, const struct vf_caller *c,
			    struct statvfs *out);

/* ---- administration ---------------------------------------------------- */

/* Snapshot tags (vaultctl snapshot --tag) are 1 to VF_SNAP_TAG_MAX bytes
 * without control characters.  A tag that can also name a view - no '/',
 * not "." or "..", not read as a time by vf_time_parse - addresses the
 * newest point with that tag as .snapshots/TAG (not listed there: the
 * listing shows times; vaultctl snapshots shows the tags).  1 when s is
 * such a name, else 0. */
#define VF_SNAP_TAG_MAX 64
int vf_snap_tag_name(const char *s);

/* Progress of long work (check, gc, prune; the tools report restore and
 * undelete in the same shape).  Core calls fn as the work advances - at
 * each unit of work, as often as it likes: the receiver decides when to
 * draw - and once more with done set when it ends (whatever the result).
 * items and bytes count up from 0; a total of 0 means not known.  Core
 * knows nothing of terminals: what to show, and where, is the caller's
 * (docs/progress.md).  fn runs on the thread doing the work, sometimes
 * with v->mu held: it must not call back into the vault. */
struct vf_progress_state {
	const char *what;  /* "check", "gc", "prune" */
	const char *unit;  /* what items count: "chunks", "packs", "nodes" */
	uint64_t items, items_total;
	uint64_t bytes, bytes_total;
	int done;
};
struct vf_progress {
	void (*fn)(void *arg, const struct vf_progress_state *s);
	void *arg;
};

/* Calls p's fn with s when there is one (p may be NULL). */
static inline void vf_progress_report(const struct vf_progress *p,
				      const struct vf_progress_state *s)
{
	if (p && p->fn)
		p->fn(p->arg, s);
}

/* Called for each problem found by vf_vault_check: path is the live path
 * of a damaged file (or a pack name / "catalog"), what says why. */
typedef void (*vf_check_cb)(void *arg, const char *path, const char *what);

/* Verifies catalog <-> packs consistency: every referenced chunk lies in
 * an existing pack within its size and its entry checksum matches; with
 * read_data also decrypts and authenticates every chunk.  cb (may be NULL)
 * is called once per damaged file and chunk.  Returns the number of cb
 * reports (>= 0) or -errno when the check itself failed. */
VF_MUST int vf_vault_check(struct vf_vault *v, int read_data, vf_check_cb cb,
			   void *arg);
/* vf_vault_check reporting its progress to prog (may be NULL): chunks
 * read out of all the chunks, their stored bytes out of all. */
VF_MUST int vf_vault_check_progress(struct vf_vault *v, int read_data,
				    vf_check_cb cb, void *arg,
				    const struct vf_progress *prog);

/* Stop protection (docs/protection.md): the state kept in catalog meta
 * "protect.*" and shown by status. */
struct vf_protect {
	enum vf_prot_state state; /* VF_PROT_ON: protection runs */
	int64_t since;            /* when it was stopped (0: on) */
	uint32_t uid;             /* who stopped it */
	int pending;              /* --delete: the walk has not finished */
	uint64_t deleted;         /* --delete: files soft-deleted so far */
	uint64_t kept;            /* --delete: files immutability kept (the
				     last walk's count) */
};

struct vf_status {
	uint64_t files, dirs, versions, chunks, packs;
	uint64_t logical_bytes; /* sum of current file sizes */
	uint64_t history_bytes; /* older versions (no longer current) */
	uint64_t softdeleted_bytes, softdeleted_files; /* held by soft delete */
	uint64_t stored_bytes;  /* bytes in packs */
	uint64_t catalog_bytes;     /* database and write-ahead log */
	uint64_t catalog_wal_bytes; /* ... the log's share */
	char vault_id[2 * VF_VAULT_ID_BYTES + 1];
	/* the daemon's last maintenance run (0: none yet), its result
	 * (0 or -errno) and what it removed */
	int64_t maint_t;
	int maint_rc;
	uint64_t maint_pruned, maint_purged, maint_packs;
	/* ... and in a remote vault's store (maint_store 0: not run) */
	int maint_store;
	uint64_t maint_store_deleted, maint_store_waiting;
	/* when the tripwire froze purge, prune and gc (0: not frozen) */
	int64_t trip_frozen;
	struct vf_protect prot; /* stop protection */
	/* the data key epoch new chunks are sealed under; while a rotation
	 * runs (rot_running): packs of older epochs when it started, and
	 * those done since (docs/keys-rotation.md) */
	uint32_t data_epoch;
	int rot_running;
	uint64_t rot_total, rot_done;
};
VF_MUST int vf_vault_status(struct vf_vault *v, struct vf_status *out);

/* A remote vault: keep at most bytes of packs in the local directory
 * (least recently read first out, only packs the store holds; 0: none,
 * every read goes to the store).  -ENOTSUP for a local vault. */
VF_MUST int vf_vault_set_cache_size(struct vf_vault *v, uint64_t bytes);
/* -o quota=SIZE: the vault may store at most bytes (packs and catalog);
 * writes beyond get ENOSPC and df shows it as the size (0: no quota, the
 * backing disk decides).  0. */
VF_MUST int vf_vault_set_quota(struct vf_vault *v, uint64_t bytes);
/* 1 when this open was unlocked by a passphrase, else 0. */
int vf_vault_by_passphrase(struct vf_vault *v);

/* ---- history: snapshots, retention, prune, gc (docs/design.md) ---------- */

/* The vault's retention policy (meta "policy.*"; a new vault keeps
 * everything, with min_points VF_POLICY_MIN_POINTS). */
VF_MUST int vf_vault_policy_get(struct vf_vault *v, struct vf_retention *out);

struct vf_prune_stats {
	uint64_t files;            /* files with versions looked at */
	uint64_t versions;         /* versions looked at */
	uint64_t removed;          /* versions removed (or, dry run, to remove) */
	uint64_t removed_bytes;    /* sum of their logical sizes */
};
/* Called for each version prune removes (or would remove): the file's
 * path (live path, or its last path when deleted), the version's commit
 * time and size. */
typedef void (*vf_prune_cb)(void *arg, const char *path, int64_t t,
			    uint64_t size);
/* Applies the retention policy at time now to every file's versions; a
 * file's current version and its newest min_points versions are never
 * removed.  dry_run: only reports.  Works in bounded batches (one file's
 * version list at a time) and may run while the vault is mounted. */
VF_MUST int vf_vault_prune(struct vf_vault *v, int64_t now, int dry_run,
			   vf_prune_cb cb, void *arg, struct vf_prune_stats *st);
/* vf_vault_prune reporting its progress to prog (may be NULL). */
VF_MUST int vf_vault_prune_progress(struct vf_vault *v, int64_t now,
				    int dry_run, vf_prune_cb cb, void *arg,
				    struct vf_prune_stats *st,
				    const struct vf_progress *prog);

/* What remote gc did in a remote vault's store (store_gc.c). */
struct vf_store_gc_stats {
	int remote;                /* 0: a local vault; nothing else is set */
	uint64_t ckpts_deleted;    /* checkpoint objects (c/...) deleted */
	uint64_t packs_deleted;    /* pack objects (p/...) deleted */
	uint64_t bytes_deleted;
	uint64_t ckpts_waiting;    /* unneeded, but still locked */
	uint64_t packs_waiting;
	uint64_t refused;          /* of the waiting: deletes the store refused */
	uint64_t kept;             /* pack objects still needed */
	uint64_t floor;            /* oldest needed checkpoint (0: all are) */
	int64_t window;            /* the history window W, ns */
	int64_t next_unlock;       /* earliest lock end of a waiting object,
				      Unix s (0: none known) */
};

struct vf_gc_stats {
	uint64_t chunks_freed;     /* chunk rows no version referenced */
	uint64_t packs_rewritten;  /* packs copied because mostly garbage */
	uint64_t packs_removed;    /* pack files deleted (rewritten or empty) */
	uint64_t packs_quarantined; /* unknown packs set aside, not deleted */
	uint64_t purged;           /* soft-deleted items past their time */
	uint64_t stored_before, stored_after; /* bytes in packs */
	int busy;                  /* skipped work: files were being written */
	struct vf_store_gc_stats store; /* remote gc (vf_vault_store_gc) */
	int rolled;                /* closed the pack being written, so that
				    * it could be rewritten too */
	/* what could not be freed, and why: dead bytes left in packs kept
	 * because more than half of them is still live (rewritten once it
	 * falls below half) */
	uint64_t packs_kept, kept_bytes;
	/* the catalog and its write-ahead log, in bytes, before and after
	 * the checkpoint and compaction gc ends with */
	uint64_t catalog_before, catalog_after;
	int vacuumed;              /* the catalog was rewritten without its
				    * free pages */
};
/* Purges soft-deleted items past their purge time, frees chunks no
 * version references, closes the pack being written (so that what was
 * just deleted can be freed at once) and rewrites packs whose live bytes
 * fall below half, never holding the whole index in memory; then
 * checkpoints the catalog's write-ahead log and gives its free pages
 * back.  Crash-safe:
 * an old pack is removed only after the catalog points elsewhere. */
VF_MUST int vf_vault_gc(struct vf_vault *v, struct vf_gc_stats *st);
/* vf_vault_gc reporting its progress to prog (may be NULL). */
VF_MUST int vf_vault_gc_progress(struct vf_vault *v, struct vf_gc_stats *st,
				 const struct vf_progress *prog);

/* Remote gc (docs/remote-store.md, "Remote gc"): deletes from a remote
 * vault's store every object no recovery point within the history window
 * W needs, once its Object Lock has passed, and counts the others as
 * waiting; needed objects are never touched (the uploader renews their
 * locks).  Decisions use the earlier of the vault clock and the store's
 * (vf_policy_decide_time).  Lists the store page by page; memory does
 * not grow with the store.  0 with st->remote 0 for a local vault; else
 * 0 or -errno (-EAGAIN, -EIO, -EACCES for a store that refuses to list)
 * with one line in err.  A delete the store refuses counts as waiting,
 * not as an error. */
VF_MUST int vf_vault_store_gc(struct vf_vault *v, struct vf_store_gc_stats *st,
			      char *err, size_t errlen);

/* Periodic upkeep for the daemon's timer (prune by policy, then gc, which
 * purges what soft delete holds past its time). */
VF_MUST int vf_vault_maintain(struct vf_vault *v, int64_t now);

/* Marks an explicit snapshot point at the current time (*t gets it,
 * rounded up to the whole second so that its view includes everything
 * committed so far).  tag may be NULL; at most 64 bytes, printable. */
VF_MUST int vf_vault_snapshot(struct vf_vault *v, const char *tag, int64_t *t);
/* Lists the points shown in .snapshots: explicit ones (with their tag)
 * and automatic ones (tag NULL): the last change of each hour of the last
 * day and of each day before, only where something changed.  Oldest
 * first; cb returns non-zero to stop. */
typedef int (*vf_snap_cb)(void *arg, int64_t t, const char *tag);
VF_MUST int vf_vault_snapshots(struct vf_vault *v, int64_t now, vf_snap_cb cb,
			       void *arg);

/* ---- roles (README.md, Roles) ------------------------------------------------ */

const char *vf_role_name(enum vf_role r);
/* "reader", "operator", "contributor", "owner" -> 0, else -EINVAL. */
VF_MUST int vf_role_parse(const char *s, enum vf_role *out);

/* The caller's role: the strongest of its uid's grant and its groups'. */
enum vf_role vf_vault_role_of(struct vf_vault *v, const struct vf_caller *c);
typedef int (*vf_role_cb)(void *arg, int is_group, uint32_t id,
			  enum vf_role role);
VF_MUST int vf_vault_role_list(struct vf_vault *v, vf_role_cb cb, void *arg);

/* ---- soft delete (README.md, Soft delete) ---------------------------------- */

VF_MUST int vf_vault_softdelete_get(struct vf_vault *v,
				    struct vf_softdelete *out);


/* One deleted item (the top of a deletion: a file, or a directory with
 * everything deleted with it): its path under .softdeleted. */
struct vf_trash_item {
	const char *path;
	int is_dir;
	uint64_t size;        /* bytes, the whole tree for a directory */
	uint64_t files;       /* files in it (1 for a file) */
	int64_t deleted_at, purge_at;
};
typedef int (*vf_trash_cb)(void *arg, const struct vf_trash_item *it);
VF_MUST int vf_vault_softdelete_list(struct vf_vault *v, int64_t now,
				     vf_trash_cb cb, void *arg);


/* Removes for good every item whose purge time has come (the daemon's
 * timer, and gc).  *n (may be NULL) gets the number removed; items held
 * open are left for the next pass. */
VF_MUST int vf_vault_purge_expired(struct vf_vault *v, int64_t now,
				   uint64_t *n);

/* ---- immutability (README.md, Immutability) -------------------------------- */

/* An immutable directory: path (from the vault root), days of protection
 * after each item's first close (0: forever), lock: 0, or when it becomes
 * (or became) final. */
struct vf_imm_rule {
	const char *path;
	uint64_t dir;
	unsigned days;
	int64_t lock_at, set_at;
};

typedef int (*vf_imm_cb)(void *arg, const struct vf_imm_rule *r);
VF_MUST int vf_vault_immutable_list(struct vf_vault *v, vf_imm_cb cb,
				    void *arg);

VF_MUST int vf_vault_immutable_vault_get(struct vf_vault *v,
					 struct vf_imm_vault *out);

/* The last refusal by immutability, retention or always-on, as one line
 * ("" if none), and how many there were since open. */
uint64_t vf_vault_last_denial(struct vf_vault *v, char *buf, size_t cap);

/* ---- guard (README.md, The guard; docs/guard.md) -------------------------- */

/* A critical operation is named (op: 1 to VF_GUARD_OP_MAX bytes of
 * [a-z0-9._-], starting with a letter, e.g. "softdelete.days") and carries
 * its exact parameters as a canonical string the caller builds ("days=14",
 * "path=a/b", "" when none).  The guard signs, offline, a token binding
 * vault id, op, BLAKE2b-256(params), a nonce and an expiry (guard.c has
 * the byte layout). */
#define VF_GUARD_OP_MAX 64
#define VF_GUARD_PUB_TEXT 64   /* "vfguard1:<base64url>" and its NUL */
#define VF_GUARD_TEXT_MAX 640  /* a request or a token and its NUL */
#define VF_GUARD_WHY_MAX 768   /* a refusal, with the request in it */
#define VF_GUARD_SUMMARY_MAX 512 /* what vf_guard_approve approves */
#define VF_GUARD_FPR_TEXT 17   /* 16 hex digits and a NUL */
#define VF_GUARD_TTL_MAX (30LL * 86400 * VF_NS)
/* Most guards a vault may have, and so most approvals one operation
 * takes. */
#define VF_GUARD_SET_MAX 8
/* Longest guard key text ("vfguard1:..." or an OpenSSH key line without
 * comment) and its NUL. */
#define VF_GUARD_KEY_TEXT 256
/* The fingerprints of every guard, comma-separated, and a NUL. */
#define VF_GUARD_FPRS_TEXT (VF_GUARD_SET_MAX * VF_GUARD_FPR_TEXT)

/* Makes an Ed25519 key pair for the guard holder: writes the secret key to
 * out_path (created exclusively, mode 0600, one line "vaultfs-guard-key-1
 * <base64>") and copies the public key as "vfguard1:<base64url>" into
 * pub_text (cap >= VF_GUARD_PUB_TEXT).  Refuses an existing file
 * (-EEXIST).  One line in err on failure; then no file is left. */
VF_MUST int vf_guard_keygen(const char *out_path, char *pub_text, size_t cap,
			    char *err, size_t errlen);

/* vf_guard_keygen with the secret key sealed under pass (passlen bytes):
 * a "vaultfs-guard-key-2" file whose key is derived by Argon2id with
 * VF_PASSPHRASE_OPS and _MEM (docs/keys.md, Guard key files). */
VF_MUST int vf_guard_keygen_pass(const char *out_path, const char *pass,
				 size_t passlen, char *pub_text, size_t cap,
				 char *err, size_t errlen);

/* 1 when the guard key file at path is protected by a passphrase, 0 when
 * it is not; <0 with one line in err when it cannot be read or is not a
 * guard key file. */
VF_MUST int vf_guard_key_protected(const char *path, char *err,
				   size_t errlen);

/* Adds, changes (cur: the current passphrase) or removes (next NULL) the
 * passphrase of the guard key file at path; the file is replaced
 * durably (temporary file, fsync, rename, fsync of the directory) and
 * keeps its key.  -ENOKEY when cur is NULL for a protected file,
 * -EACCES for a wrong passphrase or a damaged file. */
VF_MUST int vf_guard_key_passphrase(const char *path, const char *cur,
				    size_t curlen, const char *next,
				    size_t nextlen, char *err, size_t errlen);

/* The fingerprint of a guard public key for audit records and display:
 * the first 8 bytes, in hex, of BLAKE2b-256 of the 32-byte key
 * ("vfguard1:...") or of the OpenSSH key's wire blob ("ssh-ed25519 ...",
 * "sk-ssh-ed25519@openssh.com ...").  -EINVAL when pub_text is neither. */
VF_MUST int vf_guard_fingerprint(const char *pub_text,
				 char out[VF_GUARD_FPR_TEXT]);

/* Signs request (as printed by vf_vault_guard_authorize) with the secret
 * key in key_path, offline: no vault is needed.  The token expires at now
 * + ttl_ns (0 < ttl_ns <= VF_GUARD_TTL_MAX, else -EINVAL).  The key file
 * must be a regular file no group or other may access (-EPERM).  token
 * (cap >= VF_GUARD_TEXT_MAX) gets "vftok2:..."; summary (sumcap >=
 * VF_GUARD_SUMMARY_MAX) gets one line saying what is approved: "vault
 * ID, operation OP, parameters TEXT, expires TIME", TEXT being the
 * request's parameter text ("(none)" when empty), followed by "
 * (escaped)" when it has escapes or by a note when it was cut short.
 * -EINVAL for a malformed request or key file, -EBADMSG when the
 * request's parameter text does not match its hash (a tampered request:
 * nothing is signed), -ERANGE for a small buffer, -errno for I/O; one
 * line in err. */
VF_MUST int vf_guard_approve(const char *key_path, const char *request,
			     int64_t ttl_ns, int64_t now, char *token,
			     size_t cap, char *summary, size_t sumcap,
			     char *err, size_t errlen);

/* vf_guard_approve with the passphrase (passlen bytes) of a protected key
 * file; pass NULL for an unprotected one.  -ENOKEY when the file is
 * protected and pass is NULL; -EACCES when the passphrase is wrong or the
 * sealed key was altered (the two cannot be told apart). */
VF_MUST int vf_guard_approve_pass(const char *key_path, const char *pass,
				  size_t passlen, const char *request,
				  int64_t ttl_ns, int64_t now, char *token,
				  size_t cap, char *summary, size_t sumcap,
				  char *err, size_t errlen);

/* The first attached guard key as text (cap >= VF_GUARD_KEY_TEXT for an
 * OpenSSH key, VF_GUARD_PUB_TEXT for the vault's own format); -ENOENT
 * when none, -ERANGE for a small cap, -EIO when the stored keys are
 * damaged. */
VF_MUST int vf_vault_guard_get(struct vf_vault *v, char *pub_text,
			       size_t cap);


/* ---- alerts (alert.h) ---------------------------------------------------- */

#define VF_ALERT_WHAT_MAX 384

/* ---- the ransomware tripwire (docs/tripwire.md) -------------------------- */

#define VF_TRIP_EXEMPT_MAX 8 /* false positives marked at once */
#define VF_TRIP_EXT_MAX 8    /* an exempted extension's bytes */

/* A false positive marked: a uid, or an extension renames may add. */
struct vf_trip_exempt {
	int is_ext;
	uint32_t uid;
	char ext[VF_TRIP_EXT_MAX + 1];
	int64_t until;
};

struct vf_trip_status {
	struct vf_trip_settings s;
	uint32_t threshold;  /* the score that fires now (0: off) */
	int learning;        /* in the learning period */
	int64_t frozen_at;   /* when it fired and froze purges (0: not) */
	int64_t snap_at;     /* its snapshot point (.snapshots/tripwire-...) */
	uint32_t fired_uid;  /* whose writes fired it */
	uint32_t fired_score;
	uint32_t high_score; /* the highest window score since the open */
	size_t n_exempt;
	struct vf_trip_exempt exempt[VF_TRIP_EXEMPT_MAX];
};

enum vf_alert_kind {
	VF_ALERT_MASS_DELETE, /* more than VF_ALERT_DELETE_N files a window */
	VF_ALERT_DENIED,      /* a critical operation refused (bad token) or
				 asked without approval */
	VF_ALERT_WEAKENED,    /* a critical operation done (with approval) */
	VF_ALERT_INTEGRITY,   /* a chunk failed authentication, a pack is
				 missing */
	VF_ALERT_CLOCK,       /* the wall clock jumped or went back */
	VF_ALERT_MAINTENANCE, /* a maintenance run failed */
	VF_ALERT_UNLOCK,      /* the vault was opened with a wrong key */
	VF_ALERT_STORE_LAG,   /* the store is behind by more than
				 VF_ALERT_LAG_NS */
	VF_ALERT_TRIPWIRE,    /* the ransomware tripwire fired (trip.h) */
	VF_ALERT_KIND_COUNT
};

enum vf_alert_sev {
	VF_ALERT_INFO,
	VF_ALERT_WARNING,
	VF_ALERT_CRIT,
};

struct vf_alert {
	int64_t t; /* vault stamp, ns */
	enum vf_alert_kind kind;
	enum vf_alert_sev sev;
	uint32_t uid; /* VF_AUDIT_UID_NONE: no single caller */
	uint64_t count;
	char what[VF_ALERT_WHAT_MAX];
};

const char *vf_alert_kind_name(enum vf_alert_kind k);
const char *vf_alert_sev_name(enum vf_alert_sev s);
/* The kind named name (as vf_alert_kind_name prints it), or -1. */
int vf_alert_kind_parse(const char *name);

/* Called for each alert once it is in the audit log, from the thread
 * that flushed it (the daemon's timer), without any vault lock. */
typedef void (*vf_alert_hook)(void *arg, const struct vf_alert *a);
/* Sets the hook (NULL: none); call before serving requests. */
void vf_vault_set_alert_hook(struct vf_vault *v, vf_alert_hook fn,
			     void *arg);
/* Called for each name that left the live tree other than by a kernel
 * request (stop protection's --delete walk), after its transaction
 * committed, without any vault lock: the front end tells the kernel to
 * drop what it cached (parent is the directory's inode number). */
typedef void (*vf_forget_hook)(void *arg, uint64_t parent, const char *name);
/* Sets the hook (NULL: none); call before serving requests. */
void vf_vault_set_forget_hook(struct vf_vault *v, vf_forget_hook fn,
			      void *arg);
/* Writes queued alerts to the audit log and hands them to the hook; the
 * daemon calls it every second.  Returns how many, or -errno. */
int vf_vault_alerts_flush(struct vf_vault *v);

/* Failed unlocks (a wrong key file, passphrase, key command or platform
 * key) happen before the vault has a key or a catalog, so they are noted
 * outside the vault directory, which a refused open leaves as it was: one
 * small file per vault in statedir (the daemon's runtime directory, made
 * 0700 if missing).  The next read-write open that succeeds turns the note
 * into one alert (critical from VF_ALERT_UNLOCK_CRIT attempts on) and
 * removes it.  Whoever is root can remove a note first: it is a signal,
 * not evidence (docs/threat-model.md).  0 or -errno. */
#define VF_ALERT_UNLOCK_CRIT 5
int vf_unlock_failure_note(const char *statedir, const char *vault,
			   uint32_t uid, const char *why);
int vf_unlock_failures_report(struct vf_vault *v, const char *statedir);

/* ---- audit log (README.md, Audit log) -------------------------------------- */

/* Every security-relevant event is one record in the (encrypted) catalog,
 * chained with a keyed MAC so that editing, inserting, reordering or
 * removing records is detected by vf_vault_audit_verify (audit.c has the
 * layout).  Records are numbered from 1 without gaps. */

/* The uid of events no single caller caused, or whose caller core does
 * not know: the "other" bucket of denied accesses, refusals counted by
 * vf_vault_deny. */
#define VF_AUDIT_UID_NONE UINT32_MAX

/* One record as listed.  Strings are borrowed for the callback only;
 * target and detail may be NULL. */
struct vf_event {
	int64_t id;
	int64_t t; /* ns since the epoch */
	uint32_t uid;
	const char *action, *target, *result, *detail;
};

/* Records one event at the current time, for tools/ and the daemon
 * (mount, unmount, role changes, approvals and refusals, settings).
 * action and result must not be NULL; target and detail may be.  Takes
 * v->mu.  0 or -errno (-EINVAL, -ENOSPC, -EIO). */
VF_MUST int vf_vault_audit(struct vf_vault *v, uint32_t uid,
			   const char *action, const char *target,
			   const char *result, const char *detail);

/* Calls cb for every record with t >= since, in id order, reading the log
 * in batches of 256 records (never the whole table).  cb runs without any
 * vault lock held and returns non-zero to stop.  Denied-access counts of
 * finished minutes are written first.  0 or -errno. */
typedef int (*vf_audit_cb)(void *arg, const struct vf_event *r);
VF_MUST int vf_vault_audit_list(struct vf_vault *v, int64_t since,
				vf_audit_cb cb, void *arg);

/* Checks the MAC chain and its head, in batches, in bounded memory.  cb
 * (may be NULL; runs without any vault lock; non-zero stops) gets each
 * problem found: the id it concerns and one line, one of
 *   "record N was changed"
 *   "record N is missing or records were reordered"
 *   "records after N were removed"
 *   "record inserted before N"
 *   "record inserted after N"
 *   "the chain head was changed after record N"
 * (N as numbered when written).  The first report names the first broken
 * record; one tampering is reported once where it can be told apart.
 * Returns the number of problems (0: intact) or -errno. */
typedef int (*vf_audit_problem_cb)(void *arg, int64_t id,
				   const char *problem);
VF_MUST int vf_vault_audit_verify(struct vf_vault *v, vf_audit_problem_cb cb,
				  void *arg);

/* Counts a denied access of uid to op at time now (ns), so that a flood
 * cannot fill the log: one record per (uid, op, minute), action "denied",
 * target op, result "refused", detail "count=N", t the start of the
 * minute; written once the minute is over (see vf_vault_audit_flush).  At
 * most VF_AUDIT_DENY_SLOTS pairs a minute are told apart; the rest count
 * as uid VF_AUDIT_UID_NONE, op "other".  Never fails.  Takes only a lock of
 * its own: callable with or without v->mu, from any thread (audit.h). */
void vf_audit_denied(struct vf_vault *v, uint32_t uid, const char *op,
		     int64_t now);

/* Writes the denied-access counts of minutes before now (all: also the
 * current minute's, as vf_vault_close does).  The daemon calls it from a
 * timer so that counts do not wait for the next audited event.  Takes
 * v->mu.  0 or -errno (then the counts are kept for the next try). */
VF_MUST int vf_vault_audit_flush(struct vf_vault *v, int64_t now, int all);

/* For tests: runs sql (any statements) on the vault's catalog, with its
 * key, under v->mu: how the audit tests tamper with the log the way
 * someone holding the key could.  0 or -errno. */
VF_MUST int vf_vault_test_sql(struct vf_vault *v, const char *sql);

/* How long the kernel may cache what it learns about ino (its attributes,
 * its names, its data), for the history views that change behind its
 * back or never change at all. */
enum vf_cache_class {
	VF_CACHE_LIVE,    /* live tree: every change passes through here */
	VF_CACHE_NEVER,   /* may change without a request: do not cache */
	VF_CACHE_FOREVER, /* never changes again */
};
enum vf_cache_class vf_vault_cache_class(struct vf_vault *v, uint64_t ino);

/* What the catalog has cost since the vault was opened: outermost
 * transactions committed and bytes of catalog pages sealed into the WAL
 * and into the database file (checkpoints).  Any thread; counters read
 * without the lock may lag by a commit. */
struct vf_io_counts {
	uint64_t commits;
	uint64_t sealed_wal;
	uint64_t sealed_db;
};
void vf_vault_io_counts(struct vf_vault *v, struct vf_io_counts *out);

/* Tells core that the kernel keeps the times of files being written
 * (FUSE writeback caching) and sends them in setattr: writes then leave
 * mtime and ctime alone.  Call before serving requests. */
void vf_vault_kernel_times(struct vf_vault *v, int on);

/* For tests: puts a fault-injecting backend (pack_io.h) in front of the
 * vault's packs and returns it (borrowed; the vault frees it).  Call once,
 * with no file open. */
VF_MUST int vf_vault_fault_io(struct vf_vault *v, struct vf_pack_io **out);

/* Per-opcode request counters kept by fs/ are not core's business; the
 * vault directory path is. Borrowed. */
const char *vf_vault_dir(const struct vf_vault *v);

/* The vault clock (ns since the epoch; core/vclock.h has the model):
 * every decision on time reads it, so front ends showing a lock state or
 * days left use it too, to show what the vault decides.  Any thread. */
int64_t vf_vault_now(struct vf_vault *v);
/* A time to record: the wall clock, never below the vault clock. */
int64_t vf_vault_stamp(struct vf_vault *v);

#endif
