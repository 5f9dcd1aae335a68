/*
 * protect.c - stop protection's state in the catalog (protect.h has the
 * keys and the invariant).  The decisions are policy.c's
 * (vf_policy_protection_*), the gate is admin.c's, the --delete walk is
 * vault_ns.c's (vf_vault_delete_all): this file only reads and writes.
 */
#include <errno.h>
#include <stddef.h>

#include "catalog.h"
#include "protect.h"

int vf_protect_get(struct vf_vault *v, struct vf_protect *out)
{
	static const char *const keys[] = { "protect.state", "protect.since",
					    "protect.uid", "protect.pending",
					    "protect.deleted", "protect.kept" };
	int64_t x[VF_ARRAY_LEN(keys)] = { 0 };
	size_t i;
	int rc;

	for (i = 0; i < VF_ARRAY_LEN(keys); i++) {
		rc = vf_catalog_meta_get(v->cat, keys[i], &x[i]);
		if (rc && rc != -ENOENT)
			return rc;
	}
	/* an unknown state is a stopped one: fail closed */
	out->state = x[0] == VF_PROT_ON     ? VF_PROT_ON :
		     x[0] == VF_PROT_RETAIN ? VF_PROT_RETAIN :
					      VF_PROT_DELETE;
	out->since = x[1];
	out->uid = (uint32_t)x[2];
	out->pending = x[3] != 0;
	out->deleted = (uint64_t)x[4];
	out->kept = (uint64_t)x[5];
	return 0;
}

int vf_protect_store(struct vf_vault *v, const struct vf_protect *p)
{
	int rc = vf_catalog_meta_set(v->cat, "protect.state", p->state);

	if (!rc)
		rc = vf_catalog_meta_set(v->cat, "protect.since", p->since);
	if (!rc)
		rc = vf_catalog_meta_set(v->cat, "protect.uid", p->uid);
	if (!rc)
		rc = vf_catalog_meta_set(v->cat, "protect.pending", p->pending);
	if (!rc)
		rc = vf_catalog_meta_set(v->cat, "protect.deleted",
					 (int64_t)p->deleted);
	if (!rc)
		rc = vf_catalog_meta_set(v->cat, "protect.kept",
					 (int64_t)p->kept);
	return rc;
}

int vf_protect_progress(struct vf_vault *v, uint64_t deleted, uint64_t kept)
{
	struct vf_protect p;
	int rc = vf_protect_get(v, &p);

	if (!rc)
		rc = vf_catalog_meta_set(v->cat, "protect.deleted",
					 (int64_t)(p.deleted + deleted));
	if (!rc)
		rc = vf_catalog_meta_set(v->cat, "protect.kept", (int64_t)kept);
	return rc;
}

int vf_protect_load(struct vf_vault *v)
{
	struct vf_protect p;
	int rc = vf_protect_get(v, &p);

	if (!rc)
		__atomic_store_n(&v->prot_state, (int)p.state,
				 __ATOMIC_RELAXED);
	return rc;
}
