/*
 * view.c - .snapshots and .versions: the tree as of any second and the
 * recovery points of each file, answered from catalog indexes (see
 * view.h for the inode scheme and the meaning of a view's time).
 *
 * Nothing here loads a tree: a lookup is one indexed query on dirents
 * (parent, name, born) plus one on versions (node, t); a listing walks one
 * directory's rows in (name, born) order from a cookie.  What a view
 * shows of a node that the catalog does not version (directories,
 * symlinks, special files, xattrs) is its current state; file contents,
 * sizes, modes, owners and mtimes come from the recovery point.
 *
 * Explicit snapshot points and the list of points shown in .snapshots
 * (vf_vault_snapshot, vf_vault_snapshots) are in view_points.c, with the
 * slot table; what both files use is in view_int.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ns.h"
#include "vclock.h"
#include "view.h"
#include "view_int.h"

#define SNAP_NODE_MASK ((1ULL << VF_VIEW_SLOT_SHIFT) - 1)
#define LOW_MASK ((1ULL << VF_VIEW_SHIFT) - 1)

static const char *const root_names[] = { ".snapshots", ".versions" };

int vf_view_root_name(const char *name)
{
	size_t i;

	for (i = 0; i < VF_ARRAY_LEN(root_names); i++)
		if (!strcmp(name, root_names[i]))
			return 1;
	return 0;
}

static uint64_t make_ino(enum vf_view_kind k, uint64_t low)
{
	return (uint64_t)k << VF_VIEW_SHIFT | (low & LOW_MASK);
}

static uint64_t snap_ino(uint32_t slot, uint64_t node)
{
	return make_ino(VF_VIEW_SNAP,
			(uint64_t)slot << VF_VIEW_SLOT_SHIFT | node);
}

/* ---- catalog reads (v->mu held) ------------------------------------------ */

static void attr_node_row(sqlite3_stmt *st, struct vf_attr *a)
{
	memset(a, 0, sizeof(*a));
	vf_ns_attr_from_row(st, 0, 0, a);
}

/* Current attributes of node (NODE_GET). */
static int node_get(struct vf_vault *v, uint64_t node, struct vf_attr *a)
{
	sqlite3_stmt *st = vf_catalog_stmt(v->cat, VF_Q_NODE_GET);
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, (int64_t)node);
	rc = vf_catalog_row(st);
	if (rc == 1)
		attr_node_row(st, a);
	sqlite3_reset(st);
	return rc == 1 ? 0 : rc == 0 ? -ENOENT : rc;
}

/* Overlays a (node's current attributes) with those it had at the end of
 * the second before end, when they changed since (attrhist). */
static int attrs_at(struct vf_vault *v, uint64_t node, int64_t end,
		    struct vf_attr *a)
{
	sqlite3_stmt *st = vf_catalog_stmt(v->cat, VF_Q_ATTRS_AT);
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, (int64_t)node);
	sqlite3_bind_int64(st, 2, end);
	rc = vf_catalog_row(st);
	if (rc == 1) {
		a->mode = (a->mode & S_IFMT) |
			  ((uint32_t)sqlite3_column_int64(st, 0) & 07777);
		a->uid = (uint32_t)sqlite3_column_int64(st, 1);
		a->gid = (uint32_t)sqlite3_column_int64(st, 2);
		a->size = (uint64_t)sqlite3_column_int64(st, 3);
		a->atime = sqlite3_column_int64(st, 4);
		a->mtime = sqlite3_column_int64(st, 5);
		a->ctime = sqlite3_column_int64(st, 6);
	}
	sqlite3_reset(st);
	return rc < 0 ? rc : 0;
}

/* A version row (id, t, size, mode, uid, gid, mtime) over a's fields. */
static void attr_version_row(sqlite3_stmt *st, struct vf_attr *a)
{
	a->size = (uint64_t)sqlite3_column_int64(st, VF_VERSION_SIZE);
	a->mode = S_IFREG |
		  ((uint32_t)sqlite3_column_int64(st, VF_VERSION_MODE) & 07777);
	a->uid = (uint32_t)sqlite3_column_int64(st, VF_VERSION_UID);
	a->gid = (uint32_t)sqlite3_column_int64(st, VF_VERSION_GID);
	a->mtime = sqlite3_column_int64(st, VF_VERSION_MTIME);
	a->atime = a->mtime;
	a->ctime = sqlite3_column_int64(st, VF_VERSION_T);
	a->nlink = 1;
}

/* The node of a version row that has one (not VERSION_AT). */
static uint64_t version_row_node(sqlite3_stmt *st)
{
	return (uint64_t)sqlite3_column_int64(st, VF_VERSION_NODE);
}

/* The newest version of node committed before end: 1 found (id in *ver,
 * attributes over a), 0 none, -errno. */
static int version_at(struct vf_vault *v, uint64_t node, int64_t end,
		      struct vf_attr *a, int64_t *ver)
{
	sqlite3_stmt *st = vf_catalog_stmt(v->cat, VF_Q_VERSION_AT);
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, (int64_t)node);
	sqlite3_bind_int64(st, 2, end);
	rc = vf_catalog_row(st);
	if (rc == 1) {
		attr_version_row(st, a);
		if (ver)
			*ver = sqlite3_column_int64(st, VF_VERSION_ID);
	}
	sqlite3_reset(st);
	return rc;
}

/* The live child of dir called name (LOOKUP). */
static int live_child(struct vf_vault *v, uint64_t dir, const char *name,
		      uint64_t *node)
{
	sqlite3_stmt *st = vf_catalog_stmt(v->cat, VF_Q_LOOKUP);
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, (int64_t)dir);
	sqlite3_bind_blob(st, 2, name, (int)strlen(name), SQLITE_STATIC);
	rc = vf_catalog_row(st);
	if (rc == 1)
		*node = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == 1 ? 0 : rc == 0 ? -ENOENT : rc;
}

/* The number of names node had at the instant end (at least 1). */
static int names_at(struct vf_vault *v, uint64_t node, int64_t end,
		    uint32_t *out)
{
	sqlite3_stmt *st = vf_catalog_stmt(v->cat, VF_Q_VIEW_NLINK);
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, (int64_t)node);
	sqlite3_bind_int64(st, 2, end);
	rc = vf_catalog_row(st);
	*out = rc == 1 && sqlite3_column_int64(st, 0) > 1 ?
		       (uint32_t)sqlite3_column_int64(st, 0) :
		       1;
	sqlite3_reset(st);
	return rc < 0 ? rc : 0;
}

/* ---- attributes per kind (v->mu held) ---------------------------------- */

/* Directory-like views keep the read and search bits of what they show
 * (so that a private file's history stays private) and drop write bits. */
static uint32_t ro_dir_mode(uint32_t mode)
{
	uint32_t r = mode & 0444;

	return S_IFDIR | r | (r >> 2) | (S_ISDIR(mode) ? mode & 0111 : 0) |
	       (mode & S_ISVTX);
}

static int special_attr(struct vf_vault *v, enum vf_view_kind k,
			struct vf_attr *a)
{
	int rc = node_get(v, VF_ROOT_INO, a);

	if (rc)
		return rc;
	a->ino = make_ino(k, 0);
	a->mode = ro_dir_mode(a->mode);
	a->nlink = 1;
	a->size = 0;
	return 0;
}

static int snap_attr(struct vf_vault *v, uint32_t slot, uint64_t node,
		     struct vf_attr *a)
{
	struct vf_attr va;
	int64_t sec;
	int rc;

	if (node > SNAP_NODE_MASK)
		return -EOVERFLOW;
	rc = vf_view_slot_time(v->views, slot, &sec);
	if (!rc)
		rc = node_get(v, node, a);
	if (!rc)
		rc = attrs_at(v, node, vf_view_sec_end(sec), a);
	if (rc)
		return rc;
	a->ino = snap_ino(slot, node);
	/* 1 for directories: "unknown", so find(1) does not count
	 * subdirectories from it.  Others: their names at the end of T, so
	 * that cp -a and tar find hard links (they share an inode within a
	 * view). */
	if (S_ISDIR(a->mode)) {
		a->nlink = 1;
	} else {
		rc = names_at(v, node, vf_view_sec_end(sec), &a->nlink);
		if (rc)
			return rc;
	}
	if (S_ISREG(a->mode)) {
		rc = version_at(v, node, vf_view_sec_end(sec), &va, NULL);
		if (rc < 0)
			return rc;
		/* No recovery point at T (its version was pruned since, or
		 * the file was not closed yet then): not in the view, rather
		 * than an empty file a restore would copy as the truth. */
		if (rc == 0)
			return -ENOENT;
		a->size = va.size;
	}
	return 0;
}

static int vnode_attr(struct vf_vault *v, uint64_t node, struct vf_attr *a)
{
	int rc = node_get(v, node, a);

	if (rc)
		return rc;
	if (!S_ISDIR(a->mode) && !S_ISREG(a->mode))
		return -ENOENT;
	a->ino = make_ino(VF_VIEW_VNODE, node);
	a->mode = ro_dir_mode(a->mode);
	a->nlink = 1;
	a->size = 0;
	return 0;
}

/* a holds a version row of node: its mode, owner and times become those
 * the file had at the end of the version's commit second (a chmod or
 * utimens after the close, as cp -a does, belongs to the version). */
static int version_meta(struct vf_vault *v, uint64_t node, struct vf_attr *a)
{
	struct vf_attr n;
	int rc = node_get(v, node, &n);

	if (!rc)
		rc = attrs_at(v, node, vf_view_floor_sec(a->ctime) + VF_NS, &n);
	if (rc)
		return rc == -ENOENT ? 0 : rc;
	a->mode = S_IFREG | (n.mode & 07777);
	a->uid = n.uid;
	a->gid = n.gid;
	a->atime = n.atime;
	a->mtime = n.mtime;
	return 0;
}

static int vfile_attr(struct vf_vault *v, int64_t version, struct vf_attr *a,
		      uint64_t *node)
{
	sqlite3_stmt *st = vf_catalog_stmt(v->cat, VF_Q_VERSION_GET);
	uint64_t n = 0;
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, version);
	rc = vf_catalog_row(st);
	if (rc == 1) {
		memset(a, 0, sizeof(*a));
		attr_version_row(st, a);
		n = version_row_node(st);
	}
	sqlite3_reset(st);
	if (rc != 1)
		return rc == 0 ? -ENOENT : rc;
	if (node)
		*node = n;
	return version_meta(v, n, a);
}

static int attr_locked(struct vf_vault *v, uint64_t ino, struct vf_attr *a)
{
	int64_t sec;
	int rc;

	switch (vf_view_kind(ino)) {
	case VF_VIEW_SNAPS:
	case VF_VIEW_VERSIONS:
		return special_attr(v, vf_view_kind(ino), a);
	case VF_VIEW_SNAP:
		rc = vf_view_slot_sec(v->views, ino, &sec);
		if (rc)
			return rc;
		return snap_attr(v, vf_view_ino_slot(ino),
				 ino & SNAP_NODE_MASK, a);
	case VF_VIEW_VNODE:
		return vnode_attr(v, ino & LOW_MASK, a);
	case VF_VIEW_VFILE:
		return vfile_attr(v, (int64_t)(ino & LOW_MASK), a, NULL);
	default:
		return -ENOENT;
	}
}

int vf_view_getattr(struct vf_vault *v, uint64_t ino, struct vf_attr *out)
{
	int rc;

	vf_vault_lock(v);
	rc = attr_locked(v, ino, out);
	vf_vault_unlock(v);
	return rc;
}

/* ---- names --------------------------------------------------------------- */

/* A version's name: its commit second, with "_2", "_3"... for later
 * versions committed in the same second (names sort in commit order). */
static int version_name(struct vf_vault *v, uint64_t node, int64_t id,
			int64_t t, char buf[static 48])
{
	sqlite3_stmt *st = vf_catalog_stmt(v->cat, VF_Q_VERSION_RANK);
	int64_t sec = vf_view_floor_sec(t), rank = 0;
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, (int64_t)node);
	sqlite3_bind_int64(st, 2, sec);
	sqlite3_bind_int64(st, 3, t);
	sqlite3_bind_int64(st, 4, id);
	rc = vf_catalog_row(st);
	if (rc == 1)
		rank = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != 1)
		return rc < 0 ? rc : -EIO;
	vf_time_format(sec, buf);
	if (rank)
		snprintf(buf + strlen(buf), 48 - strlen(buf), "_%lld",
			 (long long)rank + 1);
	return 0;
}

/* Parses a version name back: its second and rank (0 for the first). */
static int parse_version_name(const char *name, int64_t *sec, int64_t *rank)
{
	char buf[48], *us, *end;
	long long r;

	if (strlen(name) >= sizeof(buf))
		return -ENOENT;
	snprintf(buf, sizeof(buf), "%s", name);
	*rank = 0;
	us = strchr(buf, '_');
	if (us) {
		*us = '\0';
		r = strtoll(us + 1, &end, 10);
		if (*end || r < 2 || end == us + 1)
			return -ENOENT;
		*rank = r - 1;
	}
	if (vf_time_parse(buf, sec) || *sec % VF_NS)
		return -ENOENT;
	return 0;
}

/* A snapshot view's name: a time, normalised down to its second. */
static int parse_view_time(struct vf_vault *v, const char *name,
			   int64_t *sec)
{
	int64_t t;

	if (vf_time_parse(name, &t))
		return -ENOENT;
	t = vf_view_floor_sec(t);
	if (t >= vf_vault_stamp(v))
		return -ENOENT; /* the future is not history yet */
	*sec = t;
	return 0;
}

int vf_snap_tag_name(const char *s)
{
	int64_t t;
	size_t i, n = strlen(s);

	if (!n || n > TAG_MAX || !strcmp(s, ".") || !strcmp(s, "..") ||
	    !vf_time_parse(s, &t))
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || s[i] == '/')
			return 0;
	return 1;
}

/* A snapshot view named by a tag: the second of the newest explicit
 * point with that tag (v->mu held). */
static int parse_view_tag(struct vf_vault *v, const char *name, int64_t *sec)
{
	sqlite3_stmt *st;
	int64_t t = 0;
	int rc;

	if (!vf_snap_tag_name(name))
		return -ENOENT;
	st = vf_catalog_stmt(v->cat, VF_Q_SNAP_BY_TAG);
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = vf_catalog_row(st);
	if (rc == 1)
		t = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != 1)
		return rc == 0 ? -ENOENT : rc;
	t = vf_view_floor_sec(t);
	if (t >= vf_vault_stamp(v))
		return -ENOENT; /* as a time: not history yet */
	*sec = t;
	return 0;
}

/* ---- lookup ------------------------------------------------------------- */

static int lookup_locked(struct vf_vault *v, uint64_t parent,
			 const char *name, struct vf_attr *a)
{
	struct vf_views *vw = v->views;
	sqlite3_stmt *st;
	uint64_t node;
	uint32_t slot;
	int64_t sec, rank;
	int rc;

	switch (vf_view_kind(parent)) {
	case VF_VIEW_LIVE:
		if (parent != VF_ROOT_INO)
			return -ENOENT;
		if (!strcmp(name, ".snapshots"))
			return special_attr(v, VF_VIEW_SNAPS, a);
		if (!strcmp(name, ".versions"))
			return special_attr(v, VF_VIEW_VERSIONS, a);
		return -ENOENT;
	case VF_VIEW_SNAPS:
		rc = parse_view_time(v, name, &sec);
		if (rc == -ENOENT)
			rc = parse_view_tag(v, name, &sec);
		if (!rc)
			rc = vf_view_slot_of(vw, sec, &slot);
		return rc ? rc : snap_attr(v, slot, VF_ROOT_INO, a);
	case VF_VIEW_SNAP:
		rc = vf_view_slot_sec(vw, parent, &sec);
		if (rc)
			return rc;
		st = vf_catalog_stmt(v->cat, VF_Q_VIEW_LOOKUP);
		if (!st)
			return -EIO;
		sqlite3_bind_int64(st, 1, (int64_t)(parent & SNAP_NODE_MASK));
		sqlite3_bind_blob(st, 2, name, (int)strlen(name),
				  SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, vf_view_sec_end(sec));
		rc = vf_catalog_row(st);
		node = rc == 1 ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
		sqlite3_reset(st);
		if (rc != 1)
			return rc == 0 ? -ENOENT : rc;
		return snap_attr(v, vf_view_ino_slot(parent),
				 node, a);
	case VF_VIEW_VERSIONS:
		rc = live_child(v, VF_ROOT_INO, name, &node);
		return rc ? rc : vnode_attr(v, node, a);
	case VF_VIEW_VNODE:
		rc = node_get(v, parent & LOW_MASK, a);
		if (rc)
			return rc;
		if (S_ISDIR(a->mode)) {
			rc = live_child(v, parent & LOW_MASK, name, &node);
			return rc ? rc : vnode_attr(v, node, a);
		}
		rc = parse_version_name(name, &sec, &rank);
		if (rc)
			return rc;
		st = vf_catalog_stmt(v->cat, VF_Q_VERSION_NAMED);
		if (!st)
			return -EIO;
		sqlite3_bind_int64(st, 1, (int64_t)(parent & LOW_MASK));
		sqlite3_bind_int64(st, 2, sec);
		sqlite3_bind_int64(st, 3, sec + VF_NS);
		sqlite3_bind_int64(st, 4, rank);
		rc = vf_catalog_row(st);
		if (rc == 1) {
			memset(a, 0, sizeof(*a));
			attr_version_row(st, a);
			a->ino = make_ino(
			    VF_VIEW_VFILE,
			    (uint64_t)sqlite3_column_int64(st, VF_VERSION_ID));
			node = version_row_node(st);
		}
		sqlite3_reset(st);
		if (rc != 1)
			return rc == 0 ? -ENOENT : rc;
		return version_meta(v, node, a);
	default:
		return -ENOTDIR;
	}
}

int vf_view_lookup(struct vf_vault *v, uint64_t parent, const char *name,
		   struct vf_attr *out)
{
	int rc;

	if (strlen(name) > VF_NAME_MAX)
		return -ENAMETOOLONG;
	vf_vault_lock(v);
	rc = lookup_locked(v, parent, name, out);
	vf_vault_unlock(v);
	return rc;
}

/* ---- listings ------------------------------------------------------------ */

/* Cookies: 0 start, 1 after ".", 2 after "..", then per kind:
 * SNAP: dirent id + 2; VERSIONS and VNODE of a directory: dirent id + 2;
 * VNODE of a file: version id + 2; SNAPS: index of the point + 3. */

static int copy_name(sqlite3_stmt *st, int col, char name[VF_NAME_MAX + 1])
{
	int n = sqlite3_column_bytes(st, col);

	if (n > VF_NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(name, sqlite3_column_blob(st, col), (size_t)n);
	name[n] = '\0';
	return 0;
}

/* Entries of snapshot directory dir (slot) after cookie off. */
static int list_snap(struct vf_vault *v, uint32_t slot, uint64_t dir,
		     uint64_t off, vf_readdir_cb cb, void *arg)
{
	const void *kname = "";
	int klen = 0;
	int64_t kborn = INT64_MIN;
	char name[VF_NAME_MAX + 1];
	sqlite3_stmt *key = NULL, *st;
	struct vf_attr a;
	int64_t end;
	int rc;

	rc = vf_view_slot_time(v->views, slot, &end);
	if (rc)
		return rc;
	end = vf_view_sec_end(end);
	if (off > 2) {
		key = vf_catalog_stmt(v->cat, VF_Q_DIRENT_KEY);
		if (!key)
			return -EIO;
		sqlite3_bind_int64(key, 1, (int64_t)(off - 2));
		rc = vf_catalog_row(key);
		if (rc != 1) {
			sqlite3_reset(key);
			return rc < 0 ? rc : -EINVAL;
		}
		kname = sqlite3_column_blob(key, 0);
		klen = sqlite3_column_bytes(key, 0);
		kborn = sqlite3_column_int64(key, 1);
	}
	st = vf_catalog_stmt(v->cat, VF_Q_VIEW_READDIR);
	if (!st) {
		rc = -EIO;
		goto out;
	}
	sqlite3_bind_int64(st, 1, (int64_t)dir);
	sqlite3_bind_blob(st, 2, kname, klen, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, kborn);
	sqlite3_bind_int64(st, 4, end);
	if (key)
		sqlite3_reset(key);
	while ((rc = vf_catalog_row(st)) == 1) {
		if (copy_name(st, 1, name))
			continue;
		/* Statements are borrowed per query: snap_attr uses NODE_GET
		 * and VERSION_AT, never VIEW_READDIR. */
		rc = snap_attr(v, slot, (uint64_t)sqlite3_column_int64(st, 2),
			       &a);
		if (rc == -EOVERFLOW || rc == -ENOENT)
			continue;
		if (rc)
			break;
		if (cb(arg, name, &a, (uint64_t)sqlite3_column_int64(st, 0) + 2))
			break;
	}
	sqlite3_reset(st);
out:
	return rc < 0 ? rc : 0;
}

/* Live children of dir as .versions entries (directories and files). */
static int list_vdir(struct vf_vault *v, uint64_t dir, uint64_t off,
		     vf_readdir_cb cb, void *arg)
{
	sqlite3_stmt *st = vf_catalog_stmt(v->cat, VF_Q_READDIR);
	char name[VF_NAME_MAX + 1];
	struct vf_attr a;
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, (int64_t)dir);
	sqlite3_bind_int64(st, 2, (int64_t)off - 2);
	while ((rc = vf_catalog_row(st)) == 1) {
		memset(&a, 0, sizeof(a));
		vf_ns_attr_from_row(
		    st, VF_READDIR_ATTR,
		    make_ino(VF_VIEW_VNODE, (uint64_t)sqlite3_column_int64(
						st, VF_READDIR_NODE)),
		    &a);
		if ((!S_ISDIR(a.mode) && !S_ISREG(a.mode)) ||
		    copy_name(st, VF_READDIR_NAME, name))
			continue;
		a.mode = ro_dir_mode(a.mode);
		a.nlink = 1;
		a.rdev = 0;
		a.size = 0;
		if (cb(arg, name, &a,
		       (uint64_t)sqlite3_column_int64(st, VF_READDIR_ID) + 2))
			break;
	}
	sqlite3_reset(st);
	return rc < 0 ? rc : 0;
}

/* The versions of file node after cookie off (a version id + 2). */
static int list_versions(struct vf_vault *v, uint64_t node, uint64_t off,
			 vf_readdir_cb cb, void *arg)
{
	int64_t kt = INT64_MIN, kid = 0;
	char name[48];
	struct vf_attr a;
	sqlite3_stmt *st;
	int rc;

	if (off > 2) {
		rc = vfile_attr(v, (int64_t)(off - 2), &a, NULL);
		if (rc)
			return rc == -ENOENT ? -EINVAL : rc;
		kt = a.ctime;
		kid = (int64_t)(off - 2);
	}
	/* Names need VERSION_RANK while VERSIONS_AFTER is being stepped:
	 * two different statements, so both can be live at once. */
	st = vf_catalog_stmt(v->cat, VF_Q_VERSIONS_AFTER);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, (int64_t)node);
	sqlite3_bind_int64(st, 2, kt);
	sqlite3_bind_int64(st, 3, kid);
	while ((rc = vf_catalog_row(st)) == 1) {
		int64_t id = sqlite3_column_int64(st, VF_VERSION_ID);

		memset(&a, 0, sizeof(a));
		attr_version_row(st, &a);
		a.ino = make_ino(VF_VIEW_VFILE, (uint64_t)id);
		rc = version_name(v, node, id, a.ctime, name);
		if (!rc)
			rc = version_meta(v, version_row_node(st), &a);
		if (rc)
			break;
		if (cb(arg, name, &a, (uint64_t)id + 2))
			break;
	}
	sqlite3_reset(st);
	return rc < 0 ? rc : 0;
}

struct points {
	struct vf_vault *v;
	uint64_t skip, idx;
	vf_readdir_cb cb;
	void *arg;
	int rc, stop;
};

static int point_entry(void *arg, int64_t t, const char *tag)
{
	struct points *p = arg;
	char name[32];
	struct vf_attr a;
	uint32_t slot;

	if (p->idx++ < p->skip)
		return 0;
	p->rc = vf_view_slot_of(p->v->views, t, &slot);
	if (!p->rc)
		p->rc = snap_attr(p->v, slot, VF_ROOT_INO, &a);
	if (p->rc)
		return 1;
	vf_time_format(t, name);
	if (p->cb(p->arg, name, &a, p->idx + 2)) {
		p->stop = 1;
		return 1;
	}
	return 0;
}

static int readdir_locked(struct vf_vault *v, uint64_t ino, uint64_t off,
			  vf_readdir_cb cb, void *arg)
{
	struct vf_attr a, pa;
	struct points p;
	int rc;

	rc = attr_locked(v, ino, &a);
	if (!rc && !S_ISDIR(a.mode))
		rc = -ENOTDIR;
	if (rc)
		return rc;
	if (off == 0) {
		if (cb(arg, ".", &a, 1))
			return 0;
		off = 1;
	}
	if (off == 1) {
		/* ".." is resolved by the kernel; its attributes here are
		 * only decoration. */
		pa = a;
		if (cb(arg, "..", &pa, 2))
			return 0;
		off = 2;
	}
	switch (vf_view_kind(ino)) {
	case VF_VIEW_SNAPS:
		memset(&p, 0, sizeof(p));
		p.v = v;
		p.skip = off - 2;
		p.cb = cb;
		p.arg = arg;
		rc = vf_view_list_points_locked(v, vf_vault_stamp(v),
						point_entry, &p);
		return rc ? rc : p.rc;
	case VF_VIEW_SNAP:
		return list_snap(v, vf_view_ino_slot(ino),
				 ino & SNAP_NODE_MASK, off, cb, arg);
	case VF_VIEW_VERSIONS:
		return list_vdir(v, VF_ROOT_INO, off, cb, arg);
	case VF_VIEW_VNODE:
		rc = node_get(v, ino & LOW_MASK, &pa);
		if (rc)
			return rc;
		if (S_ISDIR(pa.mode))
			return list_vdir(v, ino & LOW_MASK, off, cb, arg);
		return list_versions(v, ino & LOW_MASK, off, cb, arg);
	default:
		return -ENOTDIR;
	}
}

int vf_view_readdir(struct vf_vault *v, uint64_t ino, uint64_t off,
		    vf_readdir_cb cb, void *arg)
{
	int rc;

	vf_vault_lock(v);
	rc = readdir_locked(v, ino, off, cb, arg);
	vf_vault_unlock(v);
	return rc;
}

/* ---- files ------------------------------------------------------------- */

uint64_t vf_view_node_at(struct vf_vault *v, uint64_t ino, int64_t *end)
{
	struct vf_attr a;
	uint64_t node = 0;
	int64_t sec;

	*end = INT64_MAX;
	vf_vault_lock(v);
	switch (vf_view_kind(ino)) {
	case VF_VIEW_SNAP:
		if (vf_view_slot_sec(v->views, ino, &sec) == 0) {
			node = ino & SNAP_NODE_MASK;
			*end = vf_view_sec_end(sec);
		}
		break;
	case VF_VIEW_VFILE:
		/* the recovery point as its commit second ends: metadata
		 * set right after the close (cp -a, tar) is part of it */
		if (vfile_attr(v, (int64_t)(ino & LOW_MASK), &a, &node) == 0)
			*end = vf_view_sec_end(vf_view_floor_sec(a.ctime));
		else
			node = 0;
		break;
	default:
		break;
	}
	vf_vault_unlock(v);
	return node;
}

uint64_t vf_view_node(struct vf_vault *v, uint64_t ino)
{
	struct vf_attr a;
	uint64_t node = 0;

	switch (vf_view_kind(ino)) {
	case VF_VIEW_SNAP:
		return ino & SNAP_NODE_MASK;
	case VF_VIEW_VFILE:
		vf_vault_lock(v);
		if (vfile_attr(v, (int64_t)(ino & LOW_MASK), &a, &node))
			node = 0;
		vf_vault_unlock(v);
		return node;
	default:
		return 0;
	}
}

int vf_view_file(struct vf_vault *v, uint64_t ino, int64_t *version,
		 uint64_t *size)
{
	struct vf_attr a;
	int64_t sec;
	int rc;

	*version = 0;
	vf_vault_lock(v);
	switch (vf_view_kind(ino)) {
	case VF_VIEW_SNAP:
		rc = vf_view_slot_sec(v->views, ino, &sec);
		if (!rc)
			rc = node_get(v, ino & SNAP_NODE_MASK, &a);
		if (!rc && S_ISDIR(a.mode))
			rc = -EISDIR;
		else if (!rc && !S_ISREG(a.mode))
			rc = -EINVAL;
		if (!rc) {
			a.size = 0;
			rc = version_at(v, ino & SNAP_NODE_MASK,
					vf_view_sec_end(sec), &a, version);
			/* pruned since it was looked up: see snap_attr */
			rc = rc < 0 ? rc : rc == 0 ? -ENOENT : 0;
		}
		break;
	case VF_VIEW_VFILE:
		rc = vfile_attr(v, (int64_t)(ino & LOW_MASK), &a, NULL);
		if (!rc)
			*version = (int64_t)(ino & LOW_MASK);
		break;
	default:
		rc = -EISDIR;
	}
	vf_vault_unlock(v);
	if (!rc)
		*size = a.size;
	return rc;
}

int vf_view_stable(struct vf_vault *v, uint64_t ino)
{
	int64_t sec;
	int stable = 0;

	switch (vf_view_kind(ino)) {
	case VF_VIEW_SNAP:
		/* one second of margin after the view's end for commits
		 * that read the clock just before it */
		stable = !vf_view_slot_sec(v->views, ino, &sec) &&
			 vf_view_sec_end(sec) + VF_NS < vf_vault_stamp(v);
		return stable;
	case VF_VIEW_VFILE:
		return 1;
	default:
		return 0;
	}
}

enum vf_cache_class vf_vault_cache_class(struct vf_vault *v, uint64_t ino)
{
	if (!vf_view_is(ino))
		return VF_CACHE_LIVE;
	return vf_view_stable(v, ino) ? VF_CACHE_FOREVER : VF_CACHE_NEVER;
}
