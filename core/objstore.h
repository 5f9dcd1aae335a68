/*
 * objstore.h - a flat store of named, immutable objects: the durable home
 * of a remote vault (S3 on Ceph radosgw, MinIO, AWS; a local directory in
 * tests and for a mounted NAS).
 *
 * Keys are relative, made of [a-z0-9/._-], at most 200 bytes; the backend
 * adds its own prefix.  An object is written whole (put) and never
 * modified; a second put of the same key replaces it (on a versioned
 * bucket the old version stays).  The engine names objects so that
 * replacing one is never needed.
 *
 * All ops return 0 or a negative errno:
 *   -ENOENT   no such object (or bucket, where the backend can tell)
 *   -EACCES   the store refused: credentials, policy, Object Lock
 *   -EAGAIN   transient (connection refused, timeout, 5xx, throttling):
 *             the caller retries later with backoff
 *   -EFBIG    the object is larger than the caller's limit
 *   -EIO      anything else (bad reply, local I/O)
 * After a failure, vf_objstore_errmsg gives one line that says what
 * happened (never a credential).  Threads: every op may be called from any
 * thread at once; the error text is per thread.
 */
#ifndef VF_OBJSTORE_H
#define VF_OBJSTORE_H

#include "common.h"

#include <stdbool.h>

#define VF_OBJKEY_MAX 200

struct vf_objstore;

/* One entry of a listing. */
struct vf_objinfo {
	const char *key;  /* relative to the store's prefix */
	uint64_t size;
	int64_t mtime_s;  /* the store's last-modified time, Unix seconds */
};

struct vf_objstore_ops {
	/* Stores len bytes under key. */
	int (*put)(struct vf_objstore *s, const char *key, const void *data,
		   size_t len);
	/* Stores len bytes read from fd at offset 0 (pread; fd's offset is
	 * not used), without holding them all in memory. */
	int (*put_fd)(struct vf_objstore *s, const char *key, int fd,
		      uint64_t len);
	/* Reads a whole object into a malloc'd buffer (*data, *len);
	 * -EFBIG when it is larger than max. */
	int (*get)(struct vf_objstore *s, const char *key, void **data,
		   size_t *len, size_t max);
	/* Reads len bytes at off; -EIO on a short object. */
	int (*get_range)(struct vf_objstore *s, const char *key,
			 uint64_t off, void *buf, size_t len);
	/* Writes a whole object to fd from its current offset, without
	 * holding it in memory; *len gets the byte count. */
	int (*get_fd)(struct vf_objstore *s, const char *key, int fd,
		      uint64_t *len);
	/* Size of an object. */
	int (*head)(struct vf_objstore *s, const char *key, uint64_t *size);
	/* Calls cb for every object whose key starts with prefix, in key
	 * order; stops at cb's first non-zero return and returns it. */
	int (*list)(struct vf_objstore *s, const char *prefix,
		    int (*cb)(void *arg, const struct vf_objinfo *o),
		    void *arg);
	/* Removes an object (a delete marker on a versioned bucket);
	 * removing a missing object is not an error. */
	int (*remove)(struct vf_objstore *s, const char *key);
	/* Optional (NULL: the store cannot lock objects).  Sets a
	 * COMPLIANCE retention on key until until_s (Unix seconds): the
	 * store refuses to delete or overwrite that version before then,
	 * whoever asks; a retention can be extended, never shortened
	 * (-EACCES). */
	int (*set_retention)(struct vf_objstore *s, const char *key,
			     int64_t until_s);
	/* Optional: *on = 1 when the bucket has Object Lock enabled. */
	int (*lock_enabled)(struct vf_objstore *s, int *on);
	/* Optional: *until_s = the COMPLIANCE retention of key (the
	 * version reads use), 0 when it has none. */
	int (*get_retention)(struct vf_objstore *s, const char *key,
			     int64_t *until_s);
	/* Optional (NULL: remove is enough, the store keeps no versions):
	 * removes every version of key, so that the store holds nothing of
	 * it any more.  -EACCES when the store refuses one (a version still
	 * under its lock: "not yet"); the versions before it may be gone. */
	int (*remove_versions)(struct vf_objstore *s, const char *key);
	/* Optional: the store's time now (ns), from the Date of its last
	 * reply plus the monotonic time since; -ENOENT before a reply. */
	int (*store_time)(struct vf_objstore *s, int64_t *now_ns);
	/* Frees the backend. */
	void (*destroy)(struct vf_objstore *s);
};

struct vf_objstore {
	const struct vf_objstore_ops *ops;
	bool no_lock; /* the vault's config says: do not lock (weak) */
	int64_t lock_period_s; /* the vault's config: lock period (0: the
				  default, soft-delete retention + margin) */
};

/* Where a remote vault lives and how to reach it.  Nothing here is a
 * secret: the credentials stay in their file (AWS shared-credentials
 * format, root-only), read when the store is opened. */
struct vf_store_cfg {
	const char *url;         /* s3://BUCKET[/PREFIX] or dir:/ABS/PATH */
	const char *endpoint;    /* S3: https://HOST[:PORT] */
	const char *region;      /* S3: NULL means "us-east-1" */
	const char *credentials; /* S3: path of the credentials file */
	const char *profile;     /* S3: NULL means "default" */
	const char *ca_file;     /* S3: extra CA bundle (PEM), or NULL */
	bool allow_http;         /* S3: accept an http:// endpoint */
	bool no_lock;            /* the store does not lock objects (weak:
				    its credentials can delete the vault) */
	int64_t lock_period_s;   /* lock objects this long (s), and keep this
				    much history when shorter than soft-delete
				    retention; 0: retention + 7 days */
};

/* Opens the store cfg names (s3.c or the directory backend); one line in
 * vf_objstore_errmsg when it fails. */
VF_MUST int vf_objstore_open(const struct vf_store_cfg *cfg,
			     struct vf_objstore **out);

/* A store in directory dir (created 0700 if missing): key K is the file
 * DIR/K, written to a temporary and renamed, fsynced.  For tests and for
 * a vault kept on a mounted NAS. */
VF_MUST int vf_objstore_dir_new(const char *dir, struct vf_objstore **out);

/* VAULT/store.conf (mode 0600): the vf_store_cfg of a remote vault, one
 * "name value" line per field set (url, endpoint, region, credentials,
 * profile, ca-file, allow-http 1, no-lock 1, lock-period SECONDS).  No secret is ever written there: the
 * credentials stay in their own file, named by path. */
#define VF_STORE_CONF "store.conf"

struct vf_store_conf {
	struct vf_store_cfg cfg; /* its strings point into this struct */
	char url[1024], endpoint[1024], region[128], credentials[1024],
		profile[128], ca_file[1024];
};

/* Writes cfg as VAULT_DIR/store.conf durably (temporary, fsync, rename).
 * -EINVAL (one line in vf_objstore_errmsg) for a value with a newline or
 * too long. */
VF_MUST int vf_store_conf_write(const char *vault_dir,
				const struct vf_store_cfg *cfg);

/* Reads VAULT_DIR/store.conf into *out (caller frees with free()).
 * -ENOENT: the vault has none (it is a local vault). */
VF_MUST int vf_store_conf_read(const char *vault_dir,
			       struct vf_store_conf **out);

/* The last error text of this thread ("" if none). */
const char *vf_objstore_errmsg(void);
/* Sets this thread's error text (backends call it; printf format). */
void vf_objstore_set_err(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* Destroys a store; accepts NULL. */
void vf_objstore_free(struct vf_objstore *s);

#endif
