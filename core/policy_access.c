/*
 * policy_access.c - the native ingest's decisions (policy.h): when a
 * file is unchanged, when a batch is full, and the permission checks the
 * kernel makes through the mount (mode bits and POSIX ACLs, chown, chmod,
 * the sticky bit), which the daemon makes itself for vaultctl backup.
 * Pure functions, as the rest of policy.c.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "policy.h"

int vf_policy_ingest_unchanged(const struct vf_ingest_src *s,
			       const struct vf_ingest_dst *d)
{
	return d->exists && d->regular && d->size == s->size &&
	       d->mtime == s->mtime;
}

int vf_policy_ingest_batch_full(uint64_t files, uint64_t bytes)
{
	return files >= VF_INGEST_BATCH_FILES || bytes >= VF_INGEST_BATCH_BYTES;
}

static int in_groups(uint32_t g, const uint32_t *gids, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (gids[i] == g)
			return 1;
	return 0;
}

static uint32_t le16(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t le32(const uint8_t *p)
{
	return le16(p) | le16(p + 2) << 16;
}

/* The permission bits (rwx) an access ACL grants a caller: POSIX.1e's
 * algorithm (owner, named user, the owning and named groups under the
 * mask, other); -1 when malformed. */
static int acl_perm(const uint8_t *a, size_t n, uint32_t owner, uint32_t group,
		    uint32_t uid, const uint32_t *gids, size_t ngids)
{
	int user_obj = -1, user = -1, other = -1, mask = 7, groups = -1;
	size_t off;
	uint32_t tag, perm, id;

	if (n < 4 || (n - 4) % 8 || le32(a) != 2)
		return -1;
	for (off = 4; off < n; off += 8) {
		tag = le16(a + off);
		perm = le16(a + off + 2) & 7;
		id = le32(a + off + 4);
		if (tag == 0x01)
			user_obj = (int)perm;
		else if (tag == 0x02 && id == uid)
			user = (int)perm;
		else if (tag == 0x04 && in_groups(group, gids, ngids))
			groups = (groups < 0 ? 0 : groups) | (int)perm;
		else if (tag == 0x08 && in_groups(id, gids, ngids))
			groups = (groups < 0 ? 0 : groups) | (int)perm;
		else if (tag == 0x10)
			mask = (int)perm;
		else if (tag == 0x20)
			other = (int)perm;
	}
	if (user_obj < 0 || other < 0)
		return -1;
	if (uid == owner)
		return user_obj;
	if (user >= 0)
		return user & mask;
	if (groups >= 0)
		return groups & mask;
	return other;
}

int vf_policy_may_access(uint32_t mode, uint32_t owner, uint32_t group,
			 const void *acl, size_t n, uint32_t uid,
			 const uint32_t *gids, size_t ngids, unsigned want)
{
	int perm;

	want &= 7;
	if (uid == 0)
		return !(want & 1) || (mode & S_IFMT) == S_IFDIR ||
		       (mode & 0111);
	if (acl && n)
		perm = acl_perm(acl, n, owner, group, uid, gids, ngids);
	else if (uid == owner)
		perm = (int)(mode >> 6 & 7);
	else if (in_groups(group, gids, ngids))
		perm = (int)(mode >> 3 & 7);
	else
		perm = (int)(mode & 7);
	return perm >= 0 && ((unsigned)perm & want) == want;
}

unsigned vf_policy_ingest_chown(uint32_t caller, const uint32_t *gids,
				size_t ngids, uint32_t uid, uint32_t gid)
{
	unsigned ok = 0;

	if (caller == 0)
		return VF_INGEST_OWN_UID | VF_INGEST_OWN_GID;
	if (uid == caller)
		ok |= VF_INGEST_OWN_UID;
	if (in_groups(gid, gids, ngids))
		ok |= VF_INGEST_OWN_GID;
	return ok;
}

int vf_policy_ingest_meta(uint32_t caller, const uint32_t *gids,
			  size_t ngids, uint32_t owner, uint32_t gid,
			  uint32_t *mode)
{
	if (caller == 0)
		return 0;
	if (caller != owner)
		return -EPERM;
	if (!in_groups(gid, gids, ngids))
		*mode &= ~(uint32_t)S_ISGID;
	return 0;
}

int vf_policy_may_unlink(uint32_t dir_mode, uint32_t dir_uid,
			 uint32_t node_uid, uint32_t caller)
{
	return !(dir_mode & S_ISVTX) || caller == 0 || caller == dir_uid ||
	       caller == node_uid;
}
