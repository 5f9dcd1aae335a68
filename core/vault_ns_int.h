/*
 * vault_ns_int.h - private to the facade's namespace files (vault_ns.c:
 * the entry points that make, link, remove and rename names, and
 * readdir; vault_ns_attr.c: setattr, quota and statfs;
 * vault_ns_delete.c: the tree delete of stop protection with --delete):
 * the helpers they share, defined in vault_ns.c.
 */
#ifndef VF_VAULT_NS_INT_H
#define VF_VAULT_NS_INT_H

#include <stdint.h>

#include "vault_int.h"

/* A chmod rewrites the access ACL's owner, group-class and other entries
 * so the two never disagree (v->mu held). */
int vf_vault_ns_acl_follow_chmod(struct vf_vault *v, uint64_t ino,
				 uint32_t mode);

/* 0 when directory ino has no live name, -ENOTEMPTY when it has one. */
int vf_vault_ns_dir_is_empty(struct vf_vault *v, uint64_t ino);

/* Deletes the name parent/name of node a, checked already (v->mu held,
 * the caller's transaction): the name goes to .softdeleted (README.md, Soft
 * delete); a file with other names stays live through them, and its rows there
 * are hard links.  how is the audit record's detail. */
int vf_vault_ns_delete_name(struct vf_vault *v, uint32_t uid, uint64_t parent,
			    const char *name, const struct vf_attr *a,
			    int64_t now, const char *how);

#endif
