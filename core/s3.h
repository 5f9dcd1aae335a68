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

/* Creates the bucket of cfg->url (its prefix is ignored) with a PUT on
 * the bucket; with object_lock, Object Lock is enabled on it (which turns
 * versioning on).  Returns 0 (also when the caller already owns it:
 * radosgw and AWS us-east-1 answer 200), -EEXIST when it belongs to
 * someone else (409 BucketAlreadyExists; other AWS regions also answer
 * 409 BucketAlreadyOwnedByYou to the owner), or an error of objstore.h
 * with one line in vf_objstore_errmsg.  For tests and init. */
VF_MUST int vf_s3_create_bucket(const struct vf_store_cfg *cfg,
				bool object_lock);

/* Puts COMPLIANCE retention until retain_until_s (Unix seconds) on the
 * current version of key (PUT ?retention=).  The bucket must have Object
 * Lock enabled.  radosgw accepts it as sent; AWS S3 also wants a
 * Content-MD5 header, which this client does not send (no MD5 in the
 * project's libraries), so AWS refuses it with -EIO (400 InvalidRequest).
 * Returns 0, -EACCES (e.g. shortening a retention), -ENOENT, -EAGAIN,
 * -EIO; -EINVAL when s is not an S3 store. */
VF_MUST int vf_s3_put_retention(struct vf_objstore *s, const char *key,
				int64_t retain_until_s);

/*
 * The parts that need no network, for tests/unit/t-s3.c.
 */

/* The errno of an HTTP status and the S3 error Code of its reply ("" or
 * NULL when there is none): 2xx 0, 404 -ENOENT, 401/403 -EACCES, 408,
 * 429, 5xx and SlowDown/RequestTimeout -EAGAIN, 409 BucketAlready* -EEXIST,
 * anything else -EIO. */
int vf_s3_errno_of_status(long status, const char *code);

/* The <Code> of an S3 error reply body (len bytes) into code (size bytes;
 * letters, digits and ._- only); 0, or -ENOENT when there is none. */
VF_MUST int vf_s3_error_code(const char *body, size_t len, char *code,
			     size_t size);

/* Scans one ListObjectsV2 reply (len bytes, need not be NUL-terminated):
 * calls cb for each <Contents> with the XML-unescaped key less its first
 * strlen(strip) bytes (every key must start with strip), <Size> and
 * <LastModified>; stops at cb's first non-zero return and returns it.
 * When <IsTruncated> is true, token gets the NextContinuationToken
 * (unescaped; token_size bytes with the NUL), else "".  -EIO with a
 * message on a malformed reply. */
VF_MUST int vf_s3_parse_list(const char *xml, size_t len, const char *strip,
			     int (*cb)(void *arg, const struct vf_objinfo *o),
			     void *arg, char *token, size_t token_size);

/* One version in a ListVersionsResult page. */
#define VF_S3_VID_MAX 1024
struct vf_s3_version {
	const char *key; /* relative to the store's prefix */
	const char *vid;
	uint64_t size;
	int64_t mtime_s;
};

/* Parses one ListVersionsResult page (for tests): cb for each <Version>
 * (delete markers skipped), keys with strip removed; next_key/next_vid
 * get the markers of the next page ("" when this is the last). */
VF_MUST int vf_s3_parse_versions(const char *xml, size_t len,
				 const char *strip,
				 int (*cb)(void *arg,
					   const struct vf_s3_version *v),
				 void *arg, char *next_key, char *next_vid,
				 size_t cap);

/* Reads (get, get_range, get_fd, head, list) take each key's oldest
 * version: on a bucket with Object Lock that is the version the vault
 * wrote, whatever versions or delete markers were added since. */
void vf_s3_read_first_versions(struct vf_objstore *s, bool on);

#endif
