/*
 * file.h - file data, private to core/: the data path of open files
 * (streaming chunker, dirty-block spool, commits of recovery points,
 * reads), the decrypted-chunk cache, the buffer pool and the store
 * pipeline.  No roles, immutability, views or audit here: the facade
 * (vault_file.c) checks those before it calls in.
 *
 * Locking (vault_int.h has the order): functions taking a struct vf_file
 * are called with f->mu held unless they say otherwise; they take v->mu
 * themselves where they need it.
 */
#ifndef VF_FILE_H
#define VF_FILE_H

#include "vault_int.h"

/* The open file of node ino (created and added to the open-file table
 * when not open; a reference either way, returned with vf_file_put).
 * Takes v->mu; f->mu not held.  -EISDIR, -EINVAL (not a regular file),
 * -ENOENT, -EIO, -ENOMEM. */
VF_MUST int vf_file_get(struct vf_vault *v, uint64_t ino, struct vf_file **out);
void vf_file_put(struct vf_vault *v, struct vf_file *f);
/* A private read-only file over version (0: empty) of size bytes, not in
 * the open-file table; freed with vf_file_put. */
VF_MUST int vf_file_get_version(struct vf_vault *v, uint64_t ino,
				int64_t version, uint64_t size,
				struct vf_file **out);
VF_MUST int vf_file_truncate(struct vf_vault *v, struct vf_file *f,
			     uint64_t size);
VF_MUST int vf_file_commit(struct vf_vault *v, struct vf_file *f);

/* Loads the committed extents (once). */
VF_MUST int vf_file_load(struct vf_vault *v, struct vf_file *f);
/* Reads up to size bytes at off (fewer at the end of the file); the
 * byte count or -errno.  Asks for read-ahead of the next chunk. */
VF_MUST ssize_t vf_file_read(struct vf_vault *v, struct vf_file *f,
			     uint64_t off, void *buf, size_t size);
/* Writes size bytes at off (the caller has checked the range and the
 * right to change the file; extents loaded). */
VF_MUST int vf_file_write(struct vf_vault *v, struct vf_file *f, uint64_t off,
			  const void *buf, size_t size);
/* fallocate(2) modes 0, KEEP_SIZE and PUNCH_HOLE|KEEP_SIZE (extents
 * loaded); -EOPNOTSUPP for others. */
VF_MUST int vf_file_fallocate(struct vf_vault *v, struct vf_file *f, int mode,
			      uint64_t off, uint64_t len);
/* Enters a dirty session (counted in v->n_dirty, see gc.c) / and sets
 * the file times to now unless the kernel keeps them. */
void vf_file_dirty_enter(struct vf_vault *v, struct vf_file *f);
void vf_file_mark_dirty(struct vf_vault *v, struct vf_file *f);
/* Commits a dirty session as a recovery point; durable: fsync first. */
VF_MUST int vf_file_sync(struct vf_vault *v, struct vf_file *f, int durable);

#endif
