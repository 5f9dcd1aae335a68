/*
 * pack_io.h - the backend that stores pack objects.
 *
 * A pack is a named, append-only byte object.  The engine never touches
 * pack files directly; it goes through this ops table so the same code runs
 * on a local directory now, a Ceph RADOS pool later, and a fault-injecting
 * wrapper in tests.  Names are 32 lowercase hex digits (random; they reveal
 * nothing).  The local backend stores NAME as DIR/NAME[0..1]/NAME.pack and
 * keeps a small LRU of read descriptors (never one per pack or per inode).
 *
 * All ops return 0 (or a byte count where said) or a negative errno:
 * -ENOENT no such pack, -ENOSPC disk full, -EIO anything else.
 * Threads: every op may be called from any thread at once.
 */
#ifndef VF_PACK_IO_H
#define VF_PACK_IO_H

#include "common.h"

#define VF_PACK_NAME_LEN 32
#define VF_PACK_QUARANTINE "quarantine"

struct vf_pack_io;

struct vf_pack_io_ops {
	/* Creates a new empty pack; *h is the append handle. */
	int (*create)(struct vf_pack_io *io, const char *name, void **h);
	/* Appends len bytes at the end; all or nothing (a short write is
	 * reported as an error; the tail may then hold garbage that readers
	 * never reference). */
	int (*append)(struct vf_pack_io *io, void *h, const void *buf,
		      size_t len);
	/* Makes everything appended so far durable. */
	int (*sync)(struct vf_pack_io *io, void *h);
	/* Releases the append handle (no implicit sync). */
	int (*close)(struct vf_pack_io *io, void *h);
	/* Reads exactly len bytes at off; -EIO on a short read. */
	int (*read)(struct vf_pack_io *io, const char *name, uint64_t off,
		    void *buf, size_t len);
	/* Size of a pack in bytes. */
	int (*size)(struct vf_pack_io *io, const char *name, uint64_t *size);
	/* Removes a pack for good. */
	int (*remove)(struct vf_pack_io *io, const char *name);
	/* Sets a pack aside where list no longer sees it, for an admin to
	 * look at (local: DIR/quarantine/NAME.pack). */
	int (*quarantine)(struct vf_pack_io *io, const char *name);
	/* Calls cb for every pack name; stops at cb's first non-zero return
	 * and returns it. */
	int (*list)(struct vf_pack_io *io,
		    int (*cb)(void *arg, const char *name), void *arg);
	/* Frees the backend. */
	void (*destroy)(struct vf_pack_io *io);
};

struct vf_pack_io {
	const struct vf_pack_io_ops *ops;
};

/* A backend over directory dir (created 0700 if missing).  Caller frees
 * with vf_pack_io_free. */
VF_MUST int vf_pack_io_local_new(const char *dir, struct vf_pack_io **out);

/* For a pack fetched from a remote store: an unnamed file in the local
 * backend's directory (O_TMPFILE; gone if we crash before adopting it),
 * returned as a descriptor; then vf_pack_io_local_adopt fsyncs it and
 * gives it pack name NAME in one link (-EEXIST if the pack exists).  The
 * caller closes fd.  Both -EINVAL on a backend that is not local. */
VF_MUST int vf_pack_io_local_tmpfile(struct vf_pack_io *io);
VF_MUST int vf_pack_io_local_adopt(struct vf_pack_io *io, const char *name,
				   int fd);

/* A backend that forwards to inner (borrowed; must outlive it) and fails
 * the nth mutating call (create, append, sync) counted from the last
 * vf_pack_io_fault_set (from 1), and every later one, with err, until
 * vf_pack_io_fault_set is called again.  nth 0 disables faults. */
VF_MUST int vf_pack_io_fault_new(struct vf_pack_io *inner,
				 struct vf_pack_io **out);
void vf_pack_io_fault_set(struct vf_pack_io *io, long nth, int err);
/* Number of mutating calls since the last vf_pack_io_fault_set. */
long vf_pack_io_fault_calls(struct vf_pack_io *io);

/* Destroys a backend; accepts NULL. */
void vf_pack_io_free(struct vf_pack_io *io);

#endif
