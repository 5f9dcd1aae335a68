/*
 * s3_int.h - private to the S3 backend's files (s3.c: requests, the ops,
 * life cycle; s3_config.c: endpoint, URL and credentials;
 * s3_list.c: the ListObjectsV2 and ListObjectVersions replies and what
 * is built on them): the store handle, one request, and the helpers they
 * share, defined in s3.c unless said otherwise.
 */
#ifndef VF_S3_INT_H
#define VF_S3_INT_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "s3.h"

#define POOL_MAX 4	  /* idle curl handles kept per store */
#define ERRBODY_MAX 4096  /* bytes of an error reply kept */
#define LIST_KEY_MAX 1024 /* S3's own key limit */

struct s3 {
	struct vf_objstore base;
	char *endpoint; /* scheme://host[:port], no trailing slash */
	char *bucket;
	char *prefix;  /* "" or "PREFIX/" */
	char *sigv4;   /* "aws:amz:REGION:s3" */
	char *ca_file; /* NULL: the system's CA bundle */
	bool allow_http;
	bool first_version; /* reads take each key's oldest version */
	int64_t date_s;	    /* the Date of the last reply (under mu) */
	int64_t date_mono;  /* vf_clock_mono when it came */
	char *akid;
	char *secret; /* sodium_malloc'd */
	pthread_mutex_t mu;
	CURL *pool[POOL_MAX];
	int npool;
};

enum sink { SINK_NONE, SINK_MEM, SINK_BUF, SINK_FD };

/* One request: what to send, where the body goes, what came back. */
struct req {
	const char *method; /* for messages and CUSTOMREQUEST */
	const char *what;   /* the key (or bucket) for messages */
	char *url;
	struct curl_slist *hdrs;
	/* upload: from memory (src) or from a file (src_fd) */
	bool upload;
	const char *src;
	int src_fd;
	uint64_t src_len, src_off;
	/* download */
	enum sink sink;
	char *mem;
	size_t mem_len, mem_cap, mem_max;
	char *buf;
	size_t buf_len;
	int fd;
	uint64_t got;
	CURL *h; /* while the transfer runs */
	/* outcome */
	long status;
	int cb_err; /* a callback's negative errno (its message is set) */
	char errbody[ERRBODY_MAX + 1];
	size_t errbody_len;
	char curl_err[CURL_ERROR_SIZE];
	curl_off_t content_length;
	char date[64]; /* the reply's Date header */
};

/* The first n bytes of s as a malloc'd string, or NULL. */
char *vf_s3_str_dup(const char *s, size_t n);

/* A malloc'd formatted string, or NULL. */
char *vf_s3_str_printf(const char *fmt, ...) VF_PRINTF(1, 2);

/* Whether c is one of [a-z0-9]. */
bool vf_s3_is_lower_alnum(char c);

/* Keys and prefixes: [a-z0-9/._-] (prefixes of the store URL may also
 * use upper case), no leading "/", no empty, "." or ".." segment (curl
 * would normalise those away and sign another path). */
bool vf_s3_valid_path(const char *k, bool upper, bool empty_ok);

/* 0, or -EINVAL with the message for op when key is no valid object key. */
int vf_s3_check_key(const char *op, const char *key);

/* Query-string encoding of SigV4: everything but A-Za-z0-9-_.~ as %XX
 * (upper-case hex), "/" included.  Returns a malloc'd string or NULL. */
char *vf_s3_query_enc(const char *s);

/* cfg->endpoint checked (https unless allow_http), malloc'd in *out
 * (s3_config.c). */
int vf_s3_parse_endpoint(const struct vf_store_cfg *cfg, char **out);

/* Bucket and prefix ("" or "PREFIX/") of "s3://BUCKET[/PREFIX]" (s3_config.c).
 */
int vf_s3_parse_url(const char *url, char **bucket, char **prefix);

/*
 * Reads the key pair.  The file must be a regular file (not a symlink),
 * owned by root or by the user this process runs as, and give nothing to
 * group or others: a key another user could read or replace is refused
 * (the security invariant of docs/remote-store.md is enforced here).
 */
int vf_s3_read_credentials(const char *path, const char *profile, char **akid,
			   char **secret);

/* The URL of key with query (or none); malloc'd, NULL when out of memory. */
char *vf_s3_object_url(struct s3 *s, const char *key, const char *query);

/* Runs one request; 0 or an errno of objstore.h with the message set. */
int vf_s3_perform(struct s3 *s, struct req *r);

/* Frees what a request holds (URL, headers, the in-memory body). */
void vf_s3_req_release(struct req *r);

/* The S3 store behind a store handle of s3_ops. */
struct s3 *vf_s3_of(struct vf_objstore *st);

/* The text of the first <tag>...</tag> in [p, end): *v and *vend, or
 * false.  Element text never holds '<' (XML escapes it), so a plain
 * search cannot be fooled by a key. */
bool vf_s3_element(const char *p, const char *end, const char *tag,
		   const char **v, const char **vend);

/* The URL of key with query (or none), for its oldest version when
 * first_version: "QUERY&versionId=ID" (parameters sorted). */
int vf_s3_version_url(struct s3 *s, const char *key, const char *query,
		      char **url);

/* The URL a read of key goes to: its first version when first_version
 * (s3_list.c). */
int vf_s3_read_url(struct s3 *s, const char *key, char **url);

/* The list op: every key under prefix (s3_list.c). */
int vf_s3_list(struct vf_objstore *st, const char *prefix,
	       int (*cb)(void *arg, const struct vf_objinfo *o), void *arg);

/* The remove_versions op: every version of key (s3_list.c). */
int vf_s3_remove_versions(struct vf_objstore *st, const char *key);

#endif
