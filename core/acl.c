/*
 * acl.c - POSIX ACL arithmetic on the xattr form; see acl.h.
 */
#include <string.h>

#include "acl.h"

#define TAG_USER_OBJ 0x01
#define TAG_USER 0x02
#define TAG_GROUP_OBJ 0x04
#define TAG_GROUP 0x08
#define TAG_MASK 0x10
#define TAG_OTHER 0x20

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

int vf_acl_check(const void *acl, size_t n, uint32_t *mode)
{
	const uint8_t *p = acl;
	unsigned seen = 0, user = 0, group = 0, mask = 0, other = 0, named = 0;
	size_t i;

	if (n < 4 || (n - 4) % 8 || n > 4 + 8 * 4096)
		return -EINVAL;
	if (p[0] != 2 || p[1] || p[2] || p[3])
		return -EINVAL;
	for (i = 4; i < n; i += 8) {
		uint16_t tag = get16(p + i), perm = get16(p + i + 2);

		if (perm & ~7u)
			return -EINVAL;
		switch (tag) {
		case TAG_USER_OBJ:
		case TAG_GROUP_OBJ:
		case TAG_MASK:
		case TAG_OTHER:
			if (seen & tag)
				return -EINVAL;
			seen |= tag;
			if (tag == TAG_USER_OBJ)
				user = perm;
			else if (tag == TAG_GROUP_OBJ)
				group = perm;
			else if (tag == TAG_MASK)
				mask = perm;
			else
				other = perm;
			break;
		case TAG_USER:
		case TAG_GROUP:
			named++;
			break;
		default:
			return -EINVAL;
		}
	}
	if ((seen & (TAG_USER_OBJ | TAG_GROUP_OBJ | TAG_OTHER)) !=
	    (TAG_USER_OBJ | TAG_GROUP_OBJ | TAG_OTHER))
		return -EINVAL;
	if (named && !(seen & TAG_MASK))
		return -EINVAL;
	if (mode)
		*mode = user << 6 | ((seen & TAG_MASK) ? mask : group) << 3 |
			other;
	return !named && !(seen & TAG_MASK);
}

void vf_acl_chmod(void *acl, size_t n, uint32_t mode)
{
	uint8_t *p = acl;
	int has_mask = 0;
	size_t i;

	for (i = 4; i + 8 <= n; i += 8)
		has_mask |= get16(p + i) == TAG_MASK;
	for (i = 4; i + 8 <= n; i += 8) {
		uint16_t tag = get16(p + i);

		if (tag == TAG_USER_OBJ)
			put16(p + i + 2, (uint16_t)((mode >> 6) & 7));
		else if (tag == TAG_OTHER)
			put16(p + i + 2, (uint16_t)(mode & 7));
		else if (tag == (has_mask ? TAG_MASK : TAG_GROUP_OBJ))
			put16(p + i + 2, (uint16_t)((mode >> 3) & 7));
	}
}

int vf_acl_create(void *acl, size_t n, uint32_t *mode)
{
	uint8_t *p = acl;
	uint8_t *group_obj = NULL, *mask = NULL;
	uint32_t m = *mode, keep = m & ~0777u;
	int named = 0;
	size_t i;

	for (i = 4; i + 8 <= n; i += 8) {
		uint16_t tag = get16(p + i), perm = get16(p + i + 2);

		switch (tag) {
		case TAG_USER_OBJ:
			perm &= (m >> 6) & 7;
			put16(p + i + 2, perm);
			m = (m & ~0700u) | (uint32_t)perm << 6;
			break;
		case TAG_OTHER:
			perm &= m & 7;
			put16(p + i + 2, perm);
			m = (m & ~07u) | perm;
			break;
		case TAG_GROUP_OBJ:
			group_obj = p + i;
			break;
		case TAG_MASK:
			mask = p + i;
			break;
		default:
			named = 1;
			break;
		}
	}
	{
		uint8_t *g = mask ? mask : group_obj;

		if (g) {
			uint16_t perm = get16(g + 2) & ((m >> 3) & 7);

			put16(g + 2, perm);
			m = (m & ~070u) | (uint32_t)perm << 3;
		}
	}
	*mode = keep | (m & 0777u);
	return !named && !mask;
}
