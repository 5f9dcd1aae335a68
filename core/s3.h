/*
 * s3.h - the S3 object store backend (libcurl with its built-in AWS
 * SigV4): Ceph radosgw, MinIO, AWS S3.
 */
#ifndef VF_S3_H
#define VF_S3_H

#include "objstore.h"

/* Opens bucket and prefix of cfg->url ("s3://BUCKET[/PREFIX]") at
 * cfg->endpoint with the credentials in cfg->credentials.  Refuses, with
 * one line in vf_objstore_errmsg: a malformed URL, an http:// endpoint
 * unless cfg->allow_http, a credentials file that is not a root-only
 * regular file or has no key pair for the profile.  Does not contact the
 * store (the first op does). */
VF_MUST int vf_s3_new(const struct vf_store_cfg *cfg,
		      struct vf_objstore **out);

#endif
