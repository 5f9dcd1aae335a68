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
 * calling.  Permission checks on mode bits are the kernel's
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
};

struct vf_attr {
	uint64_t ino;
	uint32_t mode; /* type and permission bits */
	uint32_t nlink;
	uint32_t uid, gid;
	uint64_t rdev;
	uint64_t size;
	int64_t atime, mtime, ctime; /* ns since the epoch */
};

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

VF_MUST int vf_vault_statfs(struct vf_vault *v, struct statvfs *out);

/* ---- administration ---------------------------------------------------- */

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

struct vf_status {
	uint64_t files, dirs, versions, chunks, packs;
	uint64_t logical_bytes; /* sum of current file sizes */
	uint64_t stored_bytes;  /* bytes in packs */
	uint64_t catalog_bytes;
	char vault_id[2 * VF_VAULT_ID_BYTES + 1];
};
VF_MUST int vf_vault_status(struct vf_vault *v, struct vf_status *out);

/* ---- history: snapshots, retention, prune, gc (SPEC 3) ----------------- */

/* The vault's retention policy (meta "policy.*"; a new vault keeps
 * everything, with min_points VF_POLICY_MIN_POINTS). */
VF_MUST int vf_vault_policy_get(struct vf_vault *v, struct vf_retention *out);
/* Stores p; -EINVAL (with a reason in err) when min_points < 3 or a value
 * is out of range. */
VF_MUST int vf_vault_policy_set(struct vf_vault *v, const struct vf_retention *p,
				char *err, size_t errlen);

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

struct vf_gc_stats {
	uint64_t chunks_freed;     /* chunk rows no version referenced */
	uint64_t packs_rewritten;  /* packs copied because mostly garbage */
	uint64_t packs_removed;    /* pack files deleted (rewritten or empty) */
	uint64_t stored_before, stored_after; /* bytes in packs */
	int busy;                  /* skipped work: files were being written */
};
/* Frees chunks no version references and rewrites packs whose live bytes
 * fall below half, never holding the whole index in memory.  Crash-safe:
 * an old pack is removed only after the catalog points elsewhere. */
VF_MUST int vf_vault_gc(struct vf_vault *v, struct vf_gc_stats *st);

/* Periodic upkeep for the daemon's timer (prune by policy, then gc). */
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

#endif
