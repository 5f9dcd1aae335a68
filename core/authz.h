/*
 * authz.h - roles (README.md, Roles): the single permission chokepoint of core
 * (private to core/).  Every entry point of vault.c and file.c that a
 * caller reaches asks vf_authz_check before doing anything, and the
 * command layer asks vf_vault_role_of; both fail closed (anything but an
 * explicit grant is EACCES).
 */
#ifndef VF_AUTHZ_H
#define VF_AUTHZ_H

#include "vault_int.h"

/* What a request does, weakest first; the least role for each is the
 * table in authz.c. */
enum vf_action {
	VF_ACT_READ,     /* look, list, read, views, .softdeleted */
	VF_ACT_WRITE,    /* create, write, overwrite, truncate, rename */
	VF_ACT_RESTORE,  /* undelete, restore */
	VF_ACT_DELETE,   /* unlink, rmdir (soft delete) */
	VF_ACT_POLICY,   /* retention, immutability, prune, gc, stop */
	VF_ACT_SECURITY, /* roles, guard, keys, security settings */
};

/* 0 when c may do a, else -EACCES (counted as a denied access).  Takes
 * no lock of the vault's catalog (the grants live in memory). */
VF_MUST int vf_authz_check(struct vf_vault *v, const struct vf_caller *c,
			   enum vf_action a);

/* Loads the grants (vault open) and frees them (close). */
VF_MUST int vf_authz_load(struct vf_vault *v);
/* The same with v->mu held. */
VF_MUST int vf_authz_reload(struct vf_vault *v);
void vf_authz_free(struct vf_vault *v);

/* The grant stored for (is_group, id) (the in-memory copy). */
enum vf_role vf_authz_grant(struct vf_vault *v, int is_group, uint32_t id);
/* Stores the grant (VF_ROLE_NONE removes it), in the caller's transaction
 * if any (v->mu held); the gate reloads the grants (vf_authz_load) once
 * the transaction has ended. */
VF_MUST int vf_authz_store(struct vf_vault *v, int is_group, uint32_t id,
			   enum vf_role role);

#endif
