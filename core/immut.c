/*
 * immut.c - immutable directories and the immutable vault (README.md, Immutability).
 *
 * A rule is a row immut(node, days, lock_at, set_at) on a directory; it
 * covers the directory and everything below it, including directories
 * created later.  What a rule forbids is decided by vf_policy_immutable
 * (policy.c); this file finds, for an item, whether it is inside a rule
 * (its own directory chain up to the root, through live names), whether it
 * is sealed (a file: closed once; anything else: from its creation) and
 * since when, and the strictest protection that applies (forever beats any
 * number of days; otherwise the longest).
 *
 * Cost: nothing while the vault has no rule (v->imm_rules == 0); then one
 * indexed look-up per directory level for each check.  Writes through an
 * open file remember a clean result until the rules change (imm_gen).
 *
 * Locks: lock_at is when a lock becomes final (pending until then, and
 * cancellable as a critical operation); afterwards the rule can only be
 * extended.  The immutable vault (meta "immutable.vault",
 * "immutable.vault_lock") works the same way.
 *
 * A writer's allowances (rsync, cp -a, editors): v->imm_new remembers
 * who created the last items on this mount, so that the creator may set
 * an item's metadata just after its first close, and a file under a
 * temporary name (rsync's ".name.abc123") stays renamable and removable by its
 * writer or owner: nothing is left that nobody can remove.
 *
 * Known limit: a file that already had hard links outside an immutable
 * directory when the rule was set can still be changed through them (new
 * links into or out of such a tree are refused).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "audit.h"
#include "immut.h"
#include "ns.h"
#include "vault_int.h"
#include "vclock.h"

/* ---- rules (v->mu held) ------------------------------------------------- */

static int count_rules(struct vf_vault *v)
{
	sqlite3_stmt *st;
	int rc;

	if (v->imm_rules >= 0)
		return 0;
	st = vf_catalog_stmt(v->cat, VF_Q_IMM_COUNT);
	if (!st)
		return -EIO;
	rc = vf_catalog_row(st);
	if (rc == 1)
		v->imm_rules = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == 1 ? 0 : rc < 0 ? rc : -EIO;
}

/* The rule on directory ino: 1 found, 0 none, -errno. */
static int rule_of(struct vf_vault *v, uint64_t ino, unsigned *days,
		   int64_t *lock_at, int64_t *set_at)
{
	sqlite3_stmt *st = vf_catalog_stmt(v->cat, VF_Q_IMM_GET);
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, (int64_t)ino);
	rc = vf_catalog_row(st);
	if (rc == 1) {
		*days = (unsigned)sqlite3_column_int64(st, 0);
		*lock_at = sqlite3_column_int64(st, 1);
		*set_at = sqlite3_column_int64(st, 2);
	}
	sqlite3_reset(st);
	return rc;
}

/* The live parent of ino, or 0 for the root and for nodes with no live
 * name. */
static int parent_of(struct vf_vault *v, uint64_t ino, uint64_t *parent)
{
	char name[VF_NAME_MAX + 1];
	int rc = vf_ns_parent(v, ino, parent, name);

	if (rc == -ENOENT) {
		*parent = 0;
		return 0;
	}
	return rc;
}

/* Walks from dir up to the root: *inside, the strictest days and the
 * newest time a rule on the way was set (set_at may be NULL). */
static int covered(struct vf_vault *v, uint64_t dir, int *inside,
		   unsigned *days, int64_t *newest)
{
	unsigned d;
	int64_t lock_at, set_at;
	int rc, depth = 0;

	*inside = 0;
	*days = 0;
	if (newest)
		*newest = 0;
	while (dir) {
		rc = rule_of(v, dir, &d, &lock_at, &set_at);
		if (rc < 0)
			return rc;
		if (rc == 1) {
			if (!*inside || d == 0 || (*days && d > *days))
				*days = d;
			*inside = 1;
			if (newest && set_at > *newest)
				*newest = set_at;
		}
		if (dir == VF_ROOT_INO || ++depth > VF_PATH_MAX)
			break;
		rc = parent_of(v, dir, &dir);
		if (rc)
			return rc;
	}
	return 0;
}

/* Sealed: a regular file once it has a committed version (since its
 * first); anything else from its creation (IMM_SEALED). */
static int sealed(struct vf_vault *v, uint64_t ino, int *is, int64_t *at)
{
	sqlite3_stmt *st = vf_catalog_stmt(v->cat, VF_Q_IMM_SEALED);
	int rc;

	*is = 0;
	*at = 0;
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, (int64_t)ino);
	rc = vf_catalog_row(st);
	if (rc == 1 && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		*is = 1;
		*at = sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	return rc < 0 ? rc : 0;
}

static const char *const op_names[VF_IMM_OP_COUNT] = {
	[VF_IMM_UNLINK] = "delete",        [VF_IMM_RENAME_FROM] = "rename",
	[VF_IMM_RENAME_OVER] = "replace",  [VF_IMM_RENAME_INTO] = "move in",
	[VF_IMM_TRUNCATE] = "truncate",    [VF_IMM_WRITE] = "write",
	[VF_IMM_PUNCH] = "punch",          [VF_IMM_CHMOD] = "chmod/chown",
	[VF_IMM_TIMES] = "utimens",        [VF_IMM_XATTR] = "xattr change",
	[VF_IMM_LINK] = "hard link",       [VF_IMM_CREATE] = "create",
};

void vf_immut_created(struct vf_vault *v, uint64_t ino, uint32_t uid)
{
	struct vf_imm_new *e = &v->imm_new[v->imm_new_next % VF_IMM_NEW_RING];

	e->ino = ino;
	e->uid = uid;
	v->imm_new_next++;
}

/* Did uid create ino on this mount?  The newest record wins (a node
 * number used again). */
static int created_by(const struct vf_vault *v, uint64_t ino, uint32_t uid)
{
	unsigned i, n = v->imm_new_next < VF_IMM_NEW_RING ? v->imm_new_next :
							    VF_IMM_NEW_RING;

	for (i = 1; i <= n; i++) {
		const struct vf_imm_new *e =
			&v->imm_new[(v->imm_new_next - i) % VF_IMM_NEW_RING];

		if (e->ino == ino)
			return e->uid == uid;
	}
	return 0;
}

/* What the policy needs to know about the writer of ino (a), named name
 * (NULL: its one live name; none for a node with several): whether the
 * name is temporary, and whether the caller created, owns it or is root. */
static int writer_facts(struct vf_vault *v, uint32_t uid, uint64_t ino,
			const struct vf_attr *a, const char *name,
			struct vf_imm_item *it)
{
	char buf[VF_NAME_MAX + 1];
	uint64_t up;
	int rc;

	if (!name && !S_ISDIR(a->mode) && a->nlink > 1)
		name = "";
	if (!name) {
		rc = vf_ns_parent(v, ino, &up, buf);
		if (rc && rc != -ENOENT)
			return rc;
		name = rc ? "" : buf;
	}
	it->temp_name = vf_policy_temp_name(name);
	it->by_writer = created_by(v, ino, uid);
	it->by_owner = a->uid == uid;
	it->by_root = uid == 0;
	return 0;
}

int vf_immut_check(struct vf_vault *v, uint32_t uid, enum vf_imm_op op,
		   uint64_t ino, uint64_t parent)
{
	return vf_immut_check_name(v, uid, op, ino, parent, NULL);
}

int vf_immut_check_name(struct vf_vault *v, uint32_t uid,
			enum vf_imm_op op, uint64_t ino, uint64_t parent,
			const char *name)
{
	struct vf_imm_item it = { 0 };
	struct vf_attr a;
	uint64_t from, own = 0;
	unsigned own_days;
	int rc, own_inside = 0;

	rc = count_rules(v);
	if (rc || v->imm_rules == 0)
		return rc;
	if (op == VF_IMM_CREATE || op == VF_IMM_TIMES)
		return 0;
	if (op == VF_IMM_LINK && ino) {
		/* the item's own place, then where the new name goes */
		rc = parent_of(v, ino, &own);
		if (!rc)
			rc = covered(v, own, &own_inside, &own_days, NULL);
		if (rc)
			return rc;
	}
	if (!parent && ino) {
		rc = parent_of(v, ino, &parent);
		if (rc)
			return rc;
	}
	from = parent;
	if (ino) {
		rc = vf_ns_attr(v, ino, &a);
		if (rc)
			return rc == -ENOENT ? 0 : rc;
		/* a directory is covered by its own rule too, except where
		 * it arrives somewhere */
		if (S_ISDIR(a.mode) && op != VF_IMM_RENAME_INTO &&
		    op != VF_IMM_LINK)
			from = ino;
		rc = sealed(v, ino, &it.sealed, &it.sealed_at);
		if (!rc && it.sealed)
			rc = writer_facts(v, uid, ino, &a, name, &it);
		if (rc)
			return rc;
		it.multi_link = !S_ISDIR(a.mode) && a.nlink > 1;
	}
	rc = covered(v, from, &it.inside, &it.days, &it.rule_set_at);
	if (rc)
		return rc;
	if (op == VF_IMM_LINK) {
		it.link_within = it.inside && own_inside && it.days == own_days;
		it.inside = it.inside || own_inside;
	}
	rc = vf_policy_immutable(op, &it, vf_vault_now(v));
	if (rc == -EPERM)
		vf_vault_deny(v, uid, op_names[op], ino ? ino : parent,
			      "refused by an immutable directory");
	return rc;
}

/* ---- administration ------------------------------------------------------- */

/* The live directory at path (from the vault root; "" or "/" is the root). */
static int resolve_dir(struct vf_vault *v, const char *path, uint64_t *out,
		       char *err, size_t errlen)
{
	char buf[VF_PATH_MAX + 1], *save = NULL, *c;
	uint64_t at = VF_ROOT_INO;
	struct vf_attr a;
	int rc = 0;

	if (strlen(path) > VF_PATH_MAX) {
		snprintf(err, errlen, "path too long");
		return -ENAMETOOLONG;
	}
	snprintf(buf, sizeof(buf), "%s", path);
	for (c = strtok_r(buf, "/", &save); c && !rc;
	     c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, ".."))
			rc = -EINVAL;
		else if (strcmp(c, "."))
			rc = vf_ns_lookup(v, at, c, &at);
	}
	if (!rc)
		rc = vf_ns_attr(v, at, &a);
	if (!rc && !S_ISDIR(a.mode))
		rc = -ENOTDIR;
	if (rc)
		snprintf(err, errlen, "'%s' is not a directory in the vault",
			 path);
	*out = at;
	return rc;
}

int vf_immut_resolve(struct vf_vault *v, const char *path, uint64_t *dir,
		     char *err, size_t errlen)
{
	return resolve_dir(v, path, dir, err, errlen);
}

int vf_immut_rule(struct vf_vault *v, uint64_t dir, struct vf_imm_state *out)
{
	struct vf_imm_state r = { 0, 0, 0, 0 };
	int rc = rule_of(v, dir, &r.days, &r.lock_at, &r.set_at);

	if (rc < 0)
		return rc;
	r.have = rc;
	*out = r;
	return 0;
}

/* The rules changed: counted and checked afresh (v->mu held). */
static void rules_changed(struct vf_vault *v)
{
	v->imm_rules = -1;
	v->imm_gen++;
}

int vf_immut_rule_store(struct vf_vault *v, uint64_t dir,
			const struct vf_imm_state *n)
{
	sqlite3_stmt *st;
	int rc = vf_catalog_begin(v->cat);

	if (rc)
		return rc;
	st = vf_catalog_stmt(v->cat, VF_Q_IMM_PUT);
	rc = st ? 0 : -EIO;
	if (st) {
		sqlite3_bind_int64(st, 1, (int64_t)dir);
		sqlite3_bind_int64(st, 2, n->days);
		sqlite3_bind_int64(st, 3, n->lock_at);
		sqlite3_bind_int64(st, 4, n->set_at);
		rc = vf_catalog_run(st);
	}
	rules_changed(v);
	return vf_catalog_finish(v->cat, rc);
}

int vf_immut_rule_drop(struct vf_vault *v, uint64_t dir, int unlock_only)
{
	sqlite3_stmt *st;
	int rc = vf_catalog_begin(v->cat);

	if (rc)
		return rc;
	st = vf_catalog_stmt(v->cat, unlock_only ? VF_Q_IMM_UNLOCK :
						    VF_Q_IMM_DEL);
	rc = st ? 0 : -EIO;
	if (st) {
		sqlite3_bind_int64(st, 1, (int64_t)dir);
		rc = vf_catalog_run(st);
	}
	rules_changed(v);
	return vf_catalog_finish(v->cat, rc);
}

/* The live path of directory dir into buf ("" for the root). */
static int dir_path(struct vf_vault *v, uint64_t dir, char *buf, size_t cap)
{
	char name[VF_NAME_MAX + 1], tmp[VF_PATH_MAX + 1];
	uint64_t up;
	int rc, depth = 0;

	buf[0] = '\0';
	while (dir != VF_ROOT_INO) {
		rc = vf_ns_parent(v, dir, &up, name);
		if (rc)
			return rc;
		snprintf(tmp, sizeof(tmp), "%s%s%s", name, buf[0] ? "/" : "",
			 buf);
		if (strlen(tmp) >= cap || ++depth > VF_PATH_MAX)
			return -ENAMETOOLONG;
		snprintf(buf, cap, "%s", tmp);
		dir = up;
	}
	return 0;
}

int vf_vault_immutable_list(struct vf_vault *v, vf_imm_cb cb, void *arg)
{
	char path[VF_PATH_MAX + 1];
	struct vf_imm_rule r;
	sqlite3_stmt *st;
	int64_t after = 0;
	int rc;

	for (;;) {
		vf_vault_lock(v);
		st = vf_catalog_stmt(v->cat, VF_Q_IMM_NEXT);
		if (!st) {
			vf_vault_unlock(v);
			return -EIO;
		}
		sqlite3_bind_int64(st, 1, after);
		rc = vf_catalog_row(st);
		if (rc == 1) {
			r.dir = (uint64_t)sqlite3_column_int64(st, 0);
			r.days = (unsigned)sqlite3_column_int64(st, 1);
			r.lock_at = sqlite3_column_int64(st, 2);
			r.set_at = sqlite3_column_int64(st, 3);
			after = (int64_t)r.dir;
		}
		sqlite3_reset(st);
		if (rc == 1) {
			/* a rule on a directory that was deleted stays with
			 * it in .softdeleted */
			if (dir_path(v, r.dir, path, sizeof(path)))
				snprintf(path, sizeof(path),
					 ".softdeleted (inode %llu)",
					 (unsigned long long)r.dir);
		}
		vf_vault_unlock(v);
		if (rc <= 0)
			return rc;
		r.path = path;
		if (cb(arg, &r))
			return 0;
	}
}

ssize_t vf_immut_xattr(struct vf_vault *v, uint64_t ino, void *buf,
		       size_t cap)
{
	char text[160], t1[32], t2[32];
	int64_t lock_at, set_at, now = vf_vault_now(v);
	unsigned days;
	size_t n;
	int rc;

	vf_vault_lock(v);
	rc = rule_of(v, ino, &days, &lock_at, &set_at);
	vf_vault_unlock(v);
	if (rc <= 0)
		return rc ? rc : -ENODATA;
	vf_time_format(set_at, t1);
	vf_time_format(lock_at, t2);
	n = (size_t)snprintf(text, sizeof(text), "days=%s%.0u lock=%s%s set=%s",
			     days ? "" : "forever", days,
			     vf_policy_lock_state(lock_at, now) == 0 ? "none" :
			     vf_policy_lock_state(lock_at, now) == 1 ?
								      "pending-until-" :
								      "final-since-",
			     lock_at ? t2 : "", t1);
	if (cap == 0)
		return (ssize_t)n;
	if (cap < n)
		return -ERANGE;
	memcpy(buf, text, n);
	return (ssize_t)n;
}

/* ---- the immutable vault ------------------------------------------------- */

static int vault_load(struct vf_vault *v)
{
	int64_t on = 0, lock = 0;
	int rc = vf_catalog_meta_get(v->cat, "immutable.vault", &on);

	if (rc == -ENOENT)
		rc = 0;
	if (!rc)
		rc = vf_catalog_meta_get(v->cat, "immutable.vault_lock", &lock);
	if (rc == -ENOENT)
		rc = 0;
	if (!rc) {
		v->imm_vault.on = !!on;
		v->imm_vault.lock_at = lock;
	}
	return rc;
}

int vf_immut_vault_on(struct vf_vault *v)
{
	int rc = vault_load(v);

	return rc < 0 ? rc : v->imm_vault.on;
}

int vf_vault_immutable_vault_get(struct vf_vault *v, struct vf_imm_vault *out)
{
	int rc;

	vf_vault_lock(v);
	rc = vf_immut_vault(v, out);
	vf_vault_unlock(v);
	return rc;
}

int vf_immut_vault(struct vf_vault *v, struct vf_imm_vault *out)
{
	int rc = vault_load(v);

	if (!rc)
		*out = v->imm_vault;
	return rc;
}

int vf_immut_vault_store(struct vf_vault *v, const struct vf_imm_vault *n)
{
	int rc = vf_catalog_begin(v->cat);

	if (rc)
		return rc;
	rc = vf_catalog_meta_set(v->cat, "immutable.vault", n->on);
	if (!rc)
		rc = vf_catalog_meta_set(v->cat, "immutable.vault_lock",
					 n->lock_at);
	return vf_catalog_finish(v->cat, rc);
}
