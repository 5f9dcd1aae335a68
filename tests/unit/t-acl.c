/*
 * t-acl.c - POSIX ACL arithmetic against hand-computed cases.
 */
#include "acl.h"
#include "unit.h"

/* Builds an xattr-form ACL from (tag, perm, id) triples. */
static size_t build(uint8_t *out, const unsigned (*e)[3], size_t n)
{
	size_t i;

	memset(out, 0, 4);
	out[0] = 2;
	for (i = 0; i < n; i++) {
		uint8_t *p = out + 4 + 8 * i;

		p[0] = (uint8_t)e[i][0];
		p[1] = 0;
		p[2] = (uint8_t)e[i][1];
		p[3] = 0;
		p[4] = (uint8_t)e[i][2];
		p[5] = p[6] = p[7] = 0;
	}
	return 4 + 8 * n;
}

static unsigned perm_of(const uint8_t *acl, size_t n, unsigned tag)
{
	size_t i;

	for (i = 4; i < n; i += 8)
		if (acl[i] == tag)
			return acl[i + 2];
	return 99;
}

static void check_table(void)
{
	static const unsigned base[][3] = { { 1, 6, 0 }, { 4, 4, 0 },
					    { 0x20, 4, 0 } };
	static const unsigned named[][3] = { { 1, 7, 0 }, { 2, 6, 1234 },
					     { 4, 5, 0 }, { 0x10, 6, 0 },
					     { 0x20, 0, 0 } };
	static const unsigned no_mask[][3] = { { 1, 7, 0 }, { 2, 6, 1234 },
					       { 4, 5, 0 }, { 0x20, 0, 0 } };
	static const unsigned twice[][3] = { { 1, 7, 0 }, { 1, 6, 0 },
					     { 4, 5, 0 }, { 0x20, 0, 0 } };
	static const unsigned bad_perm[][3] = { { 1, 9, 0 }, { 4, 5, 0 },
						{ 0x20, 0, 0 } };
	uint8_t b[256];
	uint32_t mode = 0;
	size_t n;

	n = build(b, base, 3);
	CHECK_EQ(vf_acl_check(b, n, &mode), 1);
	CHECK_EQ(mode, 0644);
	n = build(b, named, 5);
	CHECK_EQ(vf_acl_check(b, n, &mode), 0);
	CHECK_EQ(mode, 0760); /* group class shows the mask */
	n = build(b, no_mask, 4);
	CHECK_EQ(vf_acl_check(b, n, NULL), -EINVAL);
	n = build(b, twice, 4);
	CHECK_EQ(vf_acl_check(b, n, NULL), -EINVAL);
	n = build(b, bad_perm, 3);
	CHECK_EQ(vf_acl_check(b, n, NULL), -EINVAL);
	/* garbage: short, wrong version, ragged length */
	CHECK_EQ(vf_acl_check(b, 3, NULL), -EINVAL);
	b[0] = 1;
	CHECK_EQ(vf_acl_check(b, n, NULL), -EINVAL);
	n = build(b, base, 3);
	CHECK_EQ(vf_acl_check(b, n - 1, NULL), -EINVAL);
}

static void chmod_follows(void)
{
	static const unsigned named[][3] = { { 1, 7, 0 }, { 2, 6, 1234 },
					     { 4, 5, 0 }, { 0x10, 6, 0 },
					     { 0x20, 0, 0 } };
	static const unsigned base[][3] = { { 1, 6, 0 }, { 4, 4, 0 },
					    { 0x20, 4, 0 } };
	uint8_t b[256];
	size_t n = build(b, named, 5);

	vf_acl_chmod(b, n, 0640);
	CHECK_EQ(perm_of(b, n, 1), 6);
	CHECK_EQ(perm_of(b, n, 0x10), 4); /* the mask, not GROUP_OBJ */
	CHECK_EQ(perm_of(b, n, 4), 5);
	CHECK_EQ(perm_of(b, n, 0x20), 0);
	n = build(b, base, 3);
	vf_acl_chmod(b, n, 0750);
	CHECK_EQ(perm_of(b, n, 4), 5); /* no mask: GROUP_OBJ */
}

static void create_masks(void)
{
	static const unsigned dflt[][3] = { { 1, 7, 0 }, { 2, 7, 1234 },
					    { 4, 5, 0 }, { 0x10, 7, 0 },
					    { 0x20, 5, 0 } };
	static const unsigned plain[][3] = { { 1, 7, 0 }, { 4, 5, 0 },
					     { 0x20, 0, 0 } };
	uint8_t b[256];
	uint32_t mode = 0100666;
	size_t n = build(b, dflt, 5);

	CHECK_EQ(vf_acl_create(b, n, &mode), 0);
	CHECK_EQ(mode, 0100664);
	CHECK_EQ(perm_of(b, n, 0x10), 6);
	CHECK_EQ(perm_of(b, n, 1), 6);
	n = build(b, plain, 3);
	mode = 040777;
	CHECK_EQ(vf_acl_create(b, n, &mode), 1);
	CHECK_EQ(mode, 040750);
}

int main(void)
{
	RUN(check_table);
	RUN(chmod_follows);
	RUN(create_masks);
	return unit_exit();
}
