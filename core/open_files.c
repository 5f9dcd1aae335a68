/*
 * open_files.c - the open-file table (open_files.h is the contract).
 *
 * Invariants: a node has at most one struct vf_file in the table; the
 * table is only read or changed with v->mu held; files_cap never changes
 * after vf_open_files_init.
 */
#include <stdlib.h>

#include "open_files.h"

#define FILES_CAP 1024

static size_t file_slot(const struct vf_vault *v, uint64_t ino)
{
	return (size_t)((ino * 0x9e3779b97f4a7c15ULL) >> 32) % v->files_cap;
}

int vf_open_files_init(struct vf_vault *v)
{
	v->files = calloc(FILES_CAP, sizeof(*v->files));
	if (!v->files)
		return -ENOMEM;
	v->files_cap = FILES_CAP;
	return 0;
}

void vf_open_files_release(struct vf_vault *v)
{
	free(v->files);
	v->files = NULL;
	v->files_cap = 0;
}

struct vf_file *vf_file_find_locked(struct vf_vault *v, uint64_t ino)
{
	struct vf_file *f;

	for (f = v->files[file_slot(v, ino)]; f; f = f->next)
		if (f->ino == ino)
			return f;
	return NULL;
}

struct vf_file *vf_open_files_any(struct vf_vault *v)
{
	size_t i;

	for (i = 0; v->files && i < v->files_cap; i++)
		if (v->files[i])
			return v->files[i];
	return NULL;
}

void vf_open_files_add(struct vf_vault *v, struct vf_file *f)
{
	f->next = v->files[file_slot(v, f->ino)];
	v->files[file_slot(v, f->ino)] = f;
}

void vf_open_files_remove(struct vf_vault *v, struct vf_file *f)
{
	struct vf_file **pp;

	for (pp = &v->files[file_slot(v, f->ino)]; *pp; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			break;
		}
}

void vf_open_files_attr(struct vf_vault *v, struct vf_attr *a)
{
	struct vf_file *f = vf_file_find_locked(v, a->ino);

	if (f && f->dirty) {
		a->size = f->size;
		a->mtime = f->mtime;
		/* a rename, link or unlink since the write changed the
		 * node's ctime in the catalog: the later one holds (and
		 * the commit keeps it: ctime never goes back there) */
		if (f->ctime > a->ctime)
			a->ctime = f->ctime;
		if (f->meta_dirty) {
			a->mode = f->mode;
			a->uid = f->uid;
			a->gid = f->gid;
			a->atime = f->atime;
		}
	}
}
