/*
 * objstore.c - what every object store backend shares: the per-thread
 * error text and the destructor.  The backends are objstore_dir.c and
 * s3.c.
 */
#include "objstore.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char objstore_err[256];

const char *vf_objstore_errmsg(void)
{
	return objstore_err;
}

void vf_objstore_set_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(objstore_err, sizeof(objstore_err), fmt, ap);
	va_end(ap);
}

void vf_objstore_free(struct vf_objstore *s)
{
	if (s)
		s->ops->destroy(s);
}
