/*
 * ingest.h - native ingest (vaultctl backup, docs/backup.md): stores
 * files its caller opened, as recovery points, with the rules a change
 * through the mount meets.
 *
 * The caller (the daemon, for vaultctl on the control socket) hands each
 * item with a descriptor that vaultctl opened as its user: ingest reads
 * data, metadata and extended attributes from that descriptor only and
 * never opens a source path (the daemon is root: opening paths would
 * bypass the kernel's checks of the user's rights).  Every change goes
 * through the vault facade (vault.h) as the caller - roles, immutability,
 * soft delete, views and the audit as through the mount - and each
 * destination directory is checked first with the permission bits and
 * ACL that the kernel checks for fs/ (default_permissions):
 * vf_policy_may_access.
 */
#ifndef VF_INGEST_H
#define VF_INGEST_H

#include "vault.h"

struct vf_ingest;

enum vf_ingest_kind {
	VF_INGEST_FILE = 'F',    /* fd: the regular file, O_RDONLY */
	VF_INGEST_DIR = 'D',     /* fd: the directory; made if missing */
	VF_INGEST_DIR_END = 'd', /* fd: the directory; mode, owner, times */
	VF_INGEST_SYMLINK = 'L', /* fd: the link, O_PATH | O_NOFOLLOW */
	VF_INGEST_NODE = 'N',    /* fd: a fifo, socket or device, O_PATH */
	VF_INGEST_LINK = 'H',    /* no fd; aux: the path it is a link to */
	VF_INGEST_DELETE = 'X',  /* no fd: soft-deletes rel (a tree: all) */
};

struct vf_ingest_stats {
	uint64_t added, changed, unchanged, deleted, failed;
	uint64_t bytes; /* data read from sources */
};

/* Starts an ingest into dest (a path from the vault root; its last
 * component is made when missing, as rsync makes DEST) as c.  del: the
 * run will delete (needs Contributor).  Refuses up front, one line in
 * err: no role (-EACCES), Reader, Operator with del (-EPERM), a dest that
 * is not a directory the caller may write.  *out freed by vf_ingest_end. */
VF_MUST int vf_ingest_begin(struct vf_vault *v, const struct vf_caller *c,
			    const char *dest, int del, struct vf_ingest **out,
			    char *err, size_t errlen);

/* A sibling of in for another thread: the same run (caller, DEST,
 * options) with its own buffers, directory cache and counts; items may
 * be handed to in and its siblings at once from different threads (the
 * caller keeps a directory's items after its VF_INGEST_DIR and before
 * its VF_INGEST_DIR_END).  Freed by vf_ingest_end; its counts join in's
 * with vf_ingest_batch (call it while no sibling works). */
VF_MUST int vf_ingest_sibling(struct vf_ingest *in, struct vf_ingest **out);

/* One item at rel (a path under dest, "" for dest itself, no "." or ".."
 * components).  Returns 0 (counted in the stats) or -errno with one line
 * in err (the item is counted failed; the run may go on).  fd is
 * borrowed. */
VF_MUST int vf_ingest_item(struct vf_ingest *in, enum vf_ingest_kind kind,
			   const char *rel, int fd, const char *aux, char *err,
			   size_t errlen);

/* Ends a batch: every item handed so far (to in and its siblings) is
 * committed to the catalog once this returns 0 (a kill -9 keeps it).
 * *st gets the running totals. */
VF_MUST int vf_ingest_batch(struct vf_ingest *in, struct vf_ingest_stats *st);

void vf_ingest_end(struct vf_ingest *in);

#endif
