/*
 * acl.h - POSIX ACLs in their Linux xattr form, as the kernel hands them
 * to a FUSE filesystem that enables FUSE_CAP_POSIX_ACL.  The kernel then
 * checks permissions against the ACLs; keeping ACLs and mode bits in step
 * (chmod, setting an access ACL, inheriting a default ACL at create) is
 * the filesystem's job, and these pure functions do it.
 *
 * Byte layout of system.posix_acl_access / system.posix_acl_default
 * (little-endian): u32 version (2), then entries of 8 bytes each:
 * u16 tag, u16 perm (rwx in the low 3 bits), u32 id (for USER and GROUP
 * entries; otherwise unused).  Tags: USER_OBJ 0x01, USER 0x02,
 * GROUP_OBJ 0x04, GROUP 0x08, MASK 0x10, OTHER 0x20.  A valid ACL has
 * exactly one USER_OBJ, GROUP_OBJ and OTHER, and a MASK when it has named
 * USER or GROUP entries.
 */
#ifndef VF_ACL_H
#define VF_ACL_H

#include "common.h"

#define VF_ACL_ACCESS "system.posix_acl_access"
#define VF_ACL_DEFAULT "system.posix_acl_default"

/* Checks an ACL.  Returns 1 when it only restates mode bits (three base
 * entries: no need to store it), 0 when it must be stored, -EINVAL when it
 * is malformed.  With mode not NULL, stores its permission bits (0777)
 * as a chmod would show them. */
VF_MUST int vf_acl_check(const void *acl, size_t n, uint32_t *mode);

/* Rewrites an access ACL in place for a chmod to mode (owner, group class
 * and other permissions). */
void vf_acl_chmod(void *acl, size_t n, uint32_t mode);

/* Turns a copy of a parent's default ACL into a new node's access ACL for
 * requested mode *mode; updates *mode to the bits that result.  Returns 1
 * when the result only restates *mode (store nothing), 0 otherwise. */
int vf_acl_create(void *acl, size_t n, uint32_t *mode);

#endif
