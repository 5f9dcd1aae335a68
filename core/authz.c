/*
 * authz.c - roles and the permission chokepoint (README.md, Roles).
 *
 * Grants live in table roles and, for speed, in a sorted array in memory
 * (loaded at open, rewritten on every change under authz_mu): a check is
 * a binary search, no catalog access, so it may be called with or without
 * v->mu.  Supplementary groups are asked of the caller (fs/ reads them
 * from the kernel) only when some grant names a group.
 *
 * The role table (README.md, Roles), as the least role per action:
 *
 *   read live tree, views, .softdeleted, status/report/audit  Reader
 *   create, write, overwrite, truncate, rename, mkdir          Operator
 *   undelete, restore                                          Operator
 *   unlink, rmdir (soft delete)                                Contributor
 *   retention, immutability, prune, gc                         Contributor
 *   roles, guard, keys, security settings, stop protection     Owner
 *
 * Fail closed: an unknown action or a failure to learn the caller's
 * groups is a refusal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"
#include "audit.h"

static const enum vf_role least[] = {
	[VF_ACT_READ] = VF_ROLE_READER,
	[VF_ACT_WRITE] = VF_ROLE_OPERATOR,
	[VF_ACT_RESTORE] = VF_ROLE_OPERATOR,
	[VF_ACT_DELETE] = VF_ROLE_CONTRIBUTOR,
	[VF_ACT_POLICY] = VF_ROLE_CONTRIBUTOR,
	[VF_ACT_SECURITY] = VF_ROLE_OWNER,
};

static const char *const role_names[] = {
	[VF_ROLE_NONE] = "none",
	[VF_ROLE_READER] = "reader",
	[VF_ROLE_OPERATOR] = "operator",
	[VF_ROLE_CONTRIBUTOR] = "contributor",
	[VF_ROLE_OWNER] = "owner",
};

static const char *const action_names[] = {
	[VF_ACT_READ] = "read",       [VF_ACT_WRITE] = "write",
	[VF_ACT_RESTORE] = "restore", [VF_ACT_DELETE] = "delete",
	[VF_ACT_POLICY] = "policy",   [VF_ACT_SECURITY] = "security",
};

const char *vf_role_name(enum vf_role r)
{
	return (unsigned)r < VF_ARRAY_LEN(role_names) ? role_names[r] : "?";
}

int vf_role_parse(const char *s, enum vf_role *out)
{
	size_t i;

	for (i = 0; i < VF_ARRAY_LEN(role_names); i++)
		if (!strcmp(s, role_names[i])) {
			*out = (enum vf_role)i;
			return 0;
		}
	return -EINVAL;
}

static int grant_cmp(const void *a, const void *b)
{
	const struct vf_grant *x = a, *y = b;

	if (x->is_group != y->is_group)
		return x->is_group < y->is_group ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Reads the grants from the catalog into a new array (v->mu held). */
static int read_grants(struct vf_vault *v, struct vf_grant **out, size_t *n)
{
	struct vf_grant *g = NULL, *p;
	size_t cap = 0, k = 0;
	sqlite3_stmt *st = vf_catalog_stmt(v->cat, VF_Q_ROLE_ALL);
	int rc;

	if (!st)
		return -EIO;
	while ((rc = vf_catalog_row(st)) == 1) {
		if (k == cap) {
			cap = cap ? cap * 2 : 16;
			p = realloc(g, cap * sizeof(*g));
			if (!p) {
				rc = -ENOMEM;
				break;
			}
			g = p;
		}
		g[k].is_group = sqlite3_column_int64(st, 0) != 0;
		g[k].id = (uint32_t)sqlite3_column_int64(st, 1);
		g[k].role = (uint8_t)sqlite3_column_int64(st, 2);
		k++;
	}
	sqlite3_reset(st);
	if (rc < 0) {
		free(g);
		return rc;
	}
	if (k)
		qsort(g, k, sizeof(*g), grant_cmp);
	*out = g;
	*n = k;
	return 0;
}

static void install(struct vf_vault *v, struct vf_grant *g, size_t n)
{
	struct vf_grant *old;
	size_t i;
	int groups = 0;

	for (i = 0; i < n; i++)
		groups |= g[i].is_group;
	pthread_mutex_lock(&v->authz_mu);
	old = v->grants;
	v->grants = g;
	v->n_grants = n;
	v->group_grants = groups;
	pthread_mutex_unlock(&v->authz_mu);
	free(old);
}

int vf_authz_reload(struct vf_vault *v)
{
	struct vf_grant *g = NULL;
	size_t n = 0;
	int rc = read_grants(v, &g, &n);

	if (!rc)
		install(v, g, n);
	return rc;
}

int vf_authz_load(struct vf_vault *v)
{
	int rc;

	vf_vault_lock(v);
	rc = vf_authz_reload(v);
	vf_vault_unlock(v);
	return rc;
}

void vf_authz_free(struct vf_vault *v)
{
	free(v->grants);
	v->grants = NULL;
	v->n_grants = 0;
}

/* The grant of (is_group, id), or VF_ROLE_NONE (authz_mu held). */
static enum vf_role grant_of(const struct vf_vault *v, int is_group,
			     uint32_t id)
{
	struct vf_grant key = { .id = id, .is_group = (uint8_t)is_group };
	const struct vf_grant *g = v->n_grants ?
		bsearch(&key, v->grants, v->n_grants, sizeof(key), grant_cmp) :
		NULL;

	return g ? (enum vf_role)g->role : VF_ROLE_NONE;
}

enum vf_role vf_vault_role_of(struct vf_vault *v, const struct vf_caller *c)
{
	gid_t groups[64];
	enum vf_role r, best;
	int n = 0, i, need_groups;

	if (c->uid == 0)
		return VF_ROLE_OWNER;
	pthread_mutex_lock(&v->authz_mu);
	best = grant_of(v, 0, c->uid);
	need_groups = v->group_grants;
	if (need_groups) {
		r = grant_of(v, 1, c->gid);
		best = r > best ? r : best;
	}
	pthread_mutex_unlock(&v->authz_mu);
	if (!need_groups || best == VF_ROLE_OWNER || !c->groups)
		return best;
	/* outside the lock: the kernel is asked (fs/ reads /proc) */
	n = c->groups(c->groups_ctx, groups, (int)VF_ARRAY_LEN(groups));
	if (n < 0)
		return best; /* fail closed: only what is known */
	if (n > (int)VF_ARRAY_LEN(groups))
		n = (int)VF_ARRAY_LEN(groups);
	pthread_mutex_lock(&v->authz_mu);
	for (i = 0; i < n; i++) {
		r = grant_of(v, 1, groups[i]);
		best = r > best ? r : best;
	}
	pthread_mutex_unlock(&v->authz_mu);
	return best;
}

int vf_authz_check(struct vf_vault *v, const struct vf_caller *c,
		   enum vf_action a)
{
	enum vf_role r;

	if ((unsigned)a >= VF_ARRAY_LEN(least))
		return -EACCES;
	if (c->uid == 0)
		return 0;
	r = vf_vault_role_of(v, c);
	if (r >= least[a])
		return 0;
	vf_vault_deny_access(v, c->uid, action_names[a]);
	return -EACCES;
}

enum vf_role vf_authz_grant(struct vf_vault *v, int is_group, uint32_t id)
{
	enum vf_role r;

	pthread_mutex_lock(&v->authz_mu);
	r = grant_of(v, is_group, id);
	pthread_mutex_unlock(&v->authz_mu);
	return r;
}

int vf_authz_store(struct vf_vault *v, int is_group, uint32_t id,
		   enum vf_role role)
{
	sqlite3_stmt *st;
	int rc = vf_catalog_begin(v->cat);

	if (rc)
		return rc;
	st = vf_catalog_stmt(v->cat, role == VF_ROLE_NONE ? VF_Q_ROLE_DEL :
							    VF_Q_ROLE_PUT);
	rc = st ? 0 : -EIO;
	if (st) {
		sqlite3_bind_int64(st, 1, is_group);
		sqlite3_bind_int64(st, 2, id);
		if (role != VF_ROLE_NONE)
			sqlite3_bind_int64(st, 3, role);
		rc = vf_catalog_run(st);
	}
	return vf_catalog_finish(v->cat, rc);
}

int vf_vault_role_list(struct vf_vault *v, vf_role_cb cb, void *arg)
{
	struct vf_grant *g;
	size_t n, i;
	int rc = 0;

	/* a copy, so that cb runs without the lock */
	pthread_mutex_lock(&v->authz_mu);
	n = v->n_grants;
	g = malloc((n ? n : 1) * sizeof(*g));
	if (g && n)
		memcpy(g, v->grants, n * sizeof(*g));
	pthread_mutex_unlock(&v->authz_mu);
	if (!g)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		if (cb(arg, g[i].is_group, g[i].id, (enum vf_role)g[i].role))
			break;
	free(g);
	return rc;
}
