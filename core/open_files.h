/*
 * open_files.h - the open-file table, private to core/: which catalog
 * nodes have a struct vf_file in memory (a hash table on the vault handle,
 * chained through f->next).
 *
 * Every function here is called with v->mu held, except _init and
 * _release (open and close, single-threaded).  The table does not own the
 * files' data: file.c makes and frees struct vf_file (vf_file_get and
 * vf_file_put) and adds or removes it here.
 */
#ifndef VF_OPEN_FILES_H
#define VF_OPEN_FILES_H

#include "vault_int.h"

/* An empty table on v; -ENOMEM.  _release frees it (files already gone). */
VF_MUST int vf_open_files_init(struct vf_vault *v);
void vf_open_files_release(struct vf_vault *v);

/* The open file of node ino, or NULL (nothing is created). */
struct vf_file *vf_file_find_locked(struct vf_vault *v, uint64_t ino);
/* Any open file (to drain the table at close), or NULL. */
struct vf_file *vf_open_files_any(struct vf_vault *v);
/* Adds f (not in the table) or removes it (a no-op when absent). */
void vf_open_files_add(struct vf_vault *v, struct vf_file *f);
void vf_open_files_remove(struct vf_vault *v, struct vf_file *f);

/* Overrides a->size and the times (and, with deferred metadata, mode,
 * owner and atime) with those of an open dirty file of node a->ino. */
void vf_open_files_attr(struct vf_vault *v, struct vf_attr *a);

#endif
