/*
 * vault_ns_delete.c - the tree delete of stop protection with --delete
 * (docs/protection.md): vf_vault_delete_all removes every name under the
 * vault root in batches, each name as unlink and rmdir would (soft
 * delete and immutability apply), so the mount keeps answering.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "facade.h"
#include "immut.h"
#include "ns.h"
#include "vault_int.h"
#include "vault_ns_int.h"

/* ---- stop protection with --delete (docs/protection.md) ----------------- */

/* Names looked at per transaction: v->mu is let go between batches, so
 * the mount keeps answering reads while a big tree is deleted, and a
 * kill -9 loses at most one batch (the walk starts over and finds what
 * is left). */
#define DELETE_BATCH 256

struct del_row {
	int64_t id; /* the dirent's: the listing resumes after it */
	int gone;   /* deleted in this batch */
	struct vf_attr a;
	char name[VF_NAME_MAX + 1];
};

/* A directory on the walk's path from the root. */
struct del_frame {
	uint64_t dir, parent;
	int64_t after; /* the last dirent id looked at */
	char name[VF_NAME_MAX + 1];
};

/* Up to max live names of dir after dirent id after, in id order; *n
 * of them. */
static int del_rows(struct vf_vault *v, uint64_t dir, int64_t after,
		    struct del_row *rows, size_t max, size_t *n)
{
	sqlite3_stmt *st = vf_catalog_stmt(v->cat, VF_Q_READDIR);
	int rc = 0, len;

	*n = 0;
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, (int64_t)dir);
	sqlite3_bind_int64(st, 2, after);
	while (*n < max && (rc = vf_catalog_row(st)) == 1) {
		struct del_row *r = &rows[*n];

		len = sqlite3_column_bytes(st, VF_READDIR_NAME);
		if (len > VF_NAME_MAX)
			continue;
		r->id = sqlite3_column_int64(st, VF_READDIR_ID);
		memcpy(r->name, sqlite3_column_blob(st, VF_READDIR_NAME),
		       (size_t)len);
		r->name[len] = '\0';
		vf_ns_attr_from_row(
		    st, VF_READDIR_ATTR,
		    (uint64_t)sqlite3_column_int64(st, VF_READDIR_NODE), &r->a);
		(*n)++;
	}
	sqlite3_reset(st);
	return rc < 0 ? rc : 0;
}

/* Deletes parent/name (node a) unless immutability keeps it or, for a
 * directory, something kept is still inside: 1 deleted, 0 kept, -errno.
 * Immutability is checked as for an unlink by uid: it binds every role,
 * so a stop cannot reach what it protects. */
static int del_one(struct vf_vault *v, uint32_t uid, uint64_t parent,
		   const char *name, const struct vf_attr *a, int64_t now)
{
	int rc = S_ISDIR(a->mode) ? vf_vault_ns_dir_is_empty(v, a->ino) : 0;

	if (!rc)
		rc = vf_immut_check(v, uid, VF_IMM_UNLINK, a->ino, parent);
	if (rc == -EPERM || rc == -ENOTEMPTY)
		return 0;
	if (!rc)
		rc = vf_vault_ns_delete_name(v, uid, parent, name, a, now,
					     "protection stop --delete");
	return rc ? rc : 1;
}

/* The directory of frame f, its names all looked at: deleted when it is
 * empty now (so a deleted tree is one item in .softdeleted). */
static int del_dir(struct vf_vault *v, uint32_t uid, const struct del_frame *f,
		   int64_t now, uint64_t *dirs)
{
	struct vf_attr a;
	uint64_t ino;
	int rc = vf_ns_lookup(v, f->parent, f->name, &ino);

	if (rc == -ENOENT || (!rc && ino != f->dir))
		return 0; /* not at its place any more: nothing to do */
	if (!rc)
		rc = vf_ns_node_attr(v, ino, &a, NULL);
	if (!rc)
		rc = del_one(v, uid, f->parent, f->name, &a, now);
	if (rc == 1)
		(*dirs)++;
	return rc < 0 ? rc : 0;
}

/* The kernel forgets the names a batch deleted (v->forget_hook, no lock
 * held): the first k rows of frame f, and f's own name when gone_dir. */
static void forget_rows(struct vf_vault *v, const struct del_frame *f,
			const struct del_row *rows, size_t k, uint64_t gone_dir)
{
	size_t i;

	if (!v->forget_hook)
		return;
	for (i = 0; i < k; i++)
		if (rows[i].gone)
			v->forget_hook(v->forget_arg, f->dir, rows[i].name);
	if (gone_dir)
		v->forget_hook(v->forget_arg, f->parent, f->name);
}

static int del_push(struct del_frame **fr, size_t *n, size_t *cap,
		    const struct del_frame *f)
{
	if (*n == *cap) {
		size_t c = *cap ? 2 * *cap : 16;
		struct del_frame *p = realloc(*fr, c * sizeof(*p));

		if (!p)
			return -ENOMEM;
		*fr = p;
		*cap = c;
	}
	(*fr)[(*n)++] = *f;
	return 0;
}

int vf_vault_delete_all(struct vf_vault *v, uint32_t uid,
			struct vf_delete_stats *st)
{
	struct del_frame *fr = NULL, sub = { .dir = VF_ROOT_INO };
	struct del_row *rows = malloc(DELETE_BATCH * sizeof(*rows));
	size_t n = 0, cap = 0, k, i;
	int rc = rows ? del_push(&fr, &n, &cap, &sub) : -ENOMEM;

	memset(st, 0, sizeof(*st));
	/* depth-first, one batch of one directory per transaction: memory
	 * is one batch and one frame per level of the deepest path */
	while (!rc && n) {
		struct del_frame *f = &fr[n - 1];
		uint64_t deleted = 0, gone_dir = 0;
		int descend = 0, done = 0;
		int64_t now;

		vf_vault_lock(v);
		rc = vf_catalog_begin(v->cat);
		if (rc) {
			vf_vault_unlock(v);
			break;
		}
		now = vf_vault_stamp(v);
		rc = del_rows(v, f->dir, f->after, rows, DELETE_BATCH, &k);
		for (i = 0; !rc && i < k; i++) {
			f->after = rows[i].id;
			if (S_ISDIR(rows[i].a.mode)) {
				sub.dir = rows[i].a.ino;
				sub.parent = f->dir;
				sub.after = 0;
				memcpy(sub.name, rows[i].name,
				       sizeof(sub.name));
				descend = 1;
				break;
			}
			rc = del_one(v, uid, f->dir, rows[i].name, &rows[i].a,
				     now);
			rows[i].gone = rc == 1;
			if (rc == 1)
				deleted++;
			else if (rc == 0)
				st->kept++;
			rc = rc < 0 ? rc : 0;
		}
		if (!rc && !descend && k < DELETE_BATCH) {
			done = 1;
			if (f->dir != VF_ROOT_INO)
				rc = del_dir(v, uid, f, now, &gone_dir);
		}
		if (!rc)
			rc = vf_protect_progress(v, deleted, st->kept);
		rc = vf_catalog_finish(v->cat, rc);
		vf_vault_unlock(v);
		if (rc)
			break;
		st->deleted += deleted;
		st->dirs += gone_dir;
		forget_rows(v, f, rows, i < k ? i : k, gone_dir);
		if (done)
			n--;
		if (descend)
			rc = del_push(&fr, &n, &cap, &sub);
	}
	free(rows);
	free(fr);
	return rc;
}

/* Moves node a from (parent, name) to (newparent, newname), fixing the
 * directories' link counts. */
