/*
 * copy_tree.h - private to the client commands (restore.c, undelete.c,
 * copy_tree.c): the engine that copies a tree out of a history view as
 * its caller, and the helpers both commands use to find their mount.
 * Linked into vaultctl only.
 */
#ifndef VF_COPY_TREE_H
#define VF_COPY_TREE_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "vault.h"

#define RESTORE_FD_DEPTH 8
#define RESTORE_BUF (1u << 20)
#define RESTORE_HOLE (64u << 10) /* zero runs left as holes in new files */
#define XATTR_BUF (64u << 10)     /* XATTR_LIST_MAX, XATTR_SIZE_MAX */
#define LINK_BUCKETS 256

/* The first restored name of a file with several links. */
struct rlink {
	dev_t dev;
	ino_t ino;
	struct rlink *next;
	char path[]; /* relative to DEST's parent directory */
};

struct restore {
	FILE *err;
	int in_place;
	uid_t uid;
	const char *dname;  /* the top's name in the destination... */
	int top_dfd;        /* ...and its directory there (for links) */
	char *buf, *cmp;    /* RESTORE_BUF each */
	char *xsrc, *xdst, *xval, *xcur; /* XATTR_BUF each */
	char path[VF_PATH_MAX + 1]; /* the entry at hand, relative to MNT */
	size_t plen, top;   /* its length; the length of PATH */
	int anchor_s, anchor_d; /* the directory at depth RESTORE_FD_DEPTH */
	size_t anchor_len;      /* the length of its path */
	unsigned tmp_seq;
	struct rlink *links[LINK_BUCKETS];
	uint64_t files, dirs, symlinks, special, unchanged, bytes, errors;
	const struct vf_progress *prog; /* NULL: no progress shown */
	struct vf_progress_state ps;    /* files and bytes read so far */
};

/* Counts the files (all but directories) and the bytes of regular files
 * below name in dir (name "" : dir itself), for the progress totals. */
void rs_count(int dir, const char *name, uint64_t *files, uint64_t *bytes);

/* Opens rel below dir one component at a time, never following a
 * symlink; a descriptor (O_PATH of a directory) or -1 with errno. */
int rs_walk(int dir, const char *rel);

/* Copies sparent/sname (in the view below MNT's descriptor mfd) to
 * dparent/dname, the whole tree below it; counts in rs. */
void rs_top(struct restore *rs, int mfd, int tfd, int sparent, int dparent,
	    const char *dir, const char *sname, const char *dname);

/* Frees what rs holds (buffers, the link table); accepts a zeroed rs. */
void rs_free(struct restore *rs);

/* restore.c: says in one line that target is not a vaultfs mount. */
void not_a_mount(FILE *err, const char *target, const char *what);
/* The resolved mountpoint of target (caller frees), or NULL after saying
 * why. */
char *mount_path(FILE *err, const char *target, const char *what);

#endif
