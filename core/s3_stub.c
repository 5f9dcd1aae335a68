/*
 * s3_stub.c - TEMPORARY: stands in for core/s3.c, which is written on
 * another branch.  Delete this file (and its line in the Makefile) when
 * s3.c is merged.
 */
#include "s3.h"

int vf_s3_new(const struct vf_store_cfg *cfg, struct vf_objstore **out)
{
	(void)cfg;
	(void)out;
	vf_objstore_set_err("s3: not built in this branch");
	return -ENOTSUP;
}
