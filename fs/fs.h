/*
 * fs.h - the FUSE low-level front end of a vault: what mount.vaultfs needs.
 *
 * A struct vf_fs is one FUSE session serving one open vault.  Inode numbers
 * are core node ids (the root is node 1 = FUSE_ROOT_ID); fs/ keeps no inode
 * table and no lookup counts, because core keeps every node it ever handed
 * out (deleted ones move to soft delete), so a stale inode number is never
 * reused for something else.  An open file's struct vf_handle lives in
 * fuse_file_info.fh from open/create until release.
 *
 * Threads: vf_fs_new and vf_fs_free run on the main thread, before and
 * after the session loop; the op handlers run on libfuse's worker threads;
 * vf_fs_write_stats may run at any time (the counters are atomic).  With
 * VF_FS_COUNT_OPS the counters are lent to the vault (metrics.h) for
 * the metrics.
 */
#ifndef VF_FS_H
#define VF_FS_H

#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 314
#endif
#include <fuse_lowlevel.h>

#include "vault.h"

struct vf_fs;

/* vf_fs_new flags */
#define VF_FS_COUNT_OPS (1 << 0) /* count requests per operation */
/* Ask for the kernel's writeback cache.  Off by default: FUSE throttles
 * cached writes hard (strict per-device dirty limit), and measured here a
 * 512 MiB file streams in 2x faster write-through, while small-file
 * ingest needs 12 % fewer requests without it (no times-flush setattr). */
#define VF_FS_WRITEBACK (1 << 1)

/* Creates the FUSE session for v (borrowed: it must outlive the vf_fs)
 * from args (the kernel mount options, e.g. "-o" "allow_other,ro"; libfuse
 * consumes what it knows).  Mounting is left to the caller, through
 * fuse_session_mount(vf_fs_session(fs), ...).  Returns 0 or -errno
 * (-EINVAL: args were refused, -ENOMEM); one line in err on failure.  On
 * success *out is freed with vf_fs_free. */
VF_MUST int vf_fs_new(struct vf_vault *v, struct fuse_args *args, int flags,
		      struct vf_fs **out, char *err, size_t errlen);

/* The session, borrowed until vf_fs_free. */
struct fuse_session *vf_fs_session(struct vf_fs *fs);

/* Writes the request counters to path (created 0644 or truncated): one
 * "OP COUNT" line per operation in op-table order, then "total N".
 * Returns 0, -EINVAL when fs was made without VF_FS_COUNT_OPS, or -errno
 * from opening or writing the file. */
VF_MUST int vf_fs_write_stats(const struct vf_fs *fs, const char *path);

/* Destroys the session (unmounting first if still mounted) and frees fs;
 * accepts NULL.  The vault is not closed, nor touched: it may be closed
 * already.  vf_fs_new sets the vault's forget hook (vault.h) to this
 * session, so no thread may still work on the vault when fs is freed. */
void vf_fs_free(struct vf_fs *fs);

#endif
