/*
 * vault.c - the vault facade: open/close, the namespace entry points
 * (lookup, mknod, link, unlink, rename, readdir, setattr...), xattrs,
 * check and status.  Each entry point checks the caller's role (authz.h)
 * and immutability (immut.h), then works through the namespace primitives
 * (ns.h); file entry points are in vault_file.c, file data in file.c.
 *
 * Invariants:
 * - Every catalog change of one operation happens in one transaction.
 * - Nodes are never deleted here: unlink and rmdir end the name's dirent
 *   (died = now) and drop nlink, so the node and its versions stay
 *   reachable for history and soft delete.
 * - Names at the root that the engine reserves for its views (.snapshots,
 *   .softdeleted, .versions) cannot be created.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "acl.h"
#include "alert.h"
#include "anchor.h"
#include "audit.h"
#include "authz.h"
#include "buf.h"
#include "cache.h"
#include "catvfs.h"
#include "datakey.h"
#include "facade.h"
#include "file.h"
#include "immut.h"
#include "ns.h"
#include "open_files.h"
#include "pack_cache.h"
#include "pipeline.h"
#include "policy.h"
#include "ship.h"
#include "spool.h"
#include "trash.h"
#include "trip.h"
#include "vault_int.h"
#include "vclock.h"
#include "view.h"

#define LOCK_NAME "lock"
#define PACK_DIR "packs"

void vf_vault_io_counts(struct vf_vault *v, struct vf_io_counts *out)
{
	memset(out, 0, sizeof(*out));
	out->commits = __atomic_load_n(&v->cat->commits, __ATOMIC_RELAXED);
	if (vf_catvfs_sealed(v->cat->vfs, &out->sealed_wal,
			     &out->sealed_db) < 0)
		out->sealed_wal = out->sealed_db = 0;
}

void vf_vault_kernel_times(struct vf_vault *v, int on)
{
	v->kernel_times = on;
}

const char *vf_vault_dir(const struct vf_vault *v)
{
	return v->dir;
}

/* Refuses a path that group or others may read, write or enter, or that
 * does not belong to the identity this process runs as: root's vault and
 * keystore are root-only (docs/threat-model.md); an unprivileged user may
 * use a vault of their own (vf_policy_private_dir). */
static int check_private(const char *path, int must_exist, char *err,
			 size_t errlen)
{
	struct stat st;
	char why[160];
	int rc;

	if (stat(path, &st) < 0) {
		if (errno == ENOENT && !must_exist)
			return 0;
		snprintf(err, errlen, "cannot access '%s': %s", path,
			 strerror(errno));
		return -errno;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "'%s' is not a directory", path);
		return -ENOTDIR;
	}
	/* geteuid: the process's own identity, as for key files
	 * (protector.c), never a caller's */
	rc = vf_policy_private_dir(st.st_uid, st.st_mode, geteuid(), why,
				   sizeof(why));
	if (rc)
		snprintf(err, errlen, "unsafe permissions on '%s': %s", path,
			 why);
	return rc;
}

static int insert_root(struct vf_catalog *cat)
{
	int64_t now = vf_clock_now();
	uint64_t ino = 0;
	int rc;

	rc = vf_catalog_begin(cat);
	if (rc)
		return rc;
	rc = sqlite3_exec(cat->db, "DELETE FROM nodes WHERE id=1", NULL, NULL,
			  NULL) == SQLITE_OK ? 0 : -EIO;
	if (!rc)
		rc = vf_ns_insert_dir(cat, 2, now, &ino);
	if (!rc && ino != VF_ROOT_INO)
		rc = -EIO;
	if (!rc)
		rc = vf_catalog_meta_set(cat, "created", now);
	/* the vault clock starts at the wall clock (vclock.h) */
	if (!rc)
		rc = vf_catalog_meta_set(cat, "clock.hwm", now);
	return vf_catalog_finish(cat, rc);
}

int vf_vault_create(const char *dir, const struct vf_protector_opts *o,
		    char *err, size_t errlen)
{
	struct vf_keys *k = NULL;
	struct vf_catalog *cat = NULL;
	char *catpath = NULL, *lockpath = NULL;
	DIR *d = NULL;
	struct dirent *de;
	int rc, fd, made_dir = 0;

	/* the keystore as mount will check it, before anything is made */
	if (vf_protector_is_platform(o)) {
		rc = check_private(o->keystore ? o->keystore :
						 VF_KEYSTORE_DEFAULT,
				   0, err, errlen);
		if (rc)
			return rc;
	}
	if (mkdir(dir, 0700) == 0) {
		made_dir = 1;
	} else if (errno != EEXIST) {
		snprintf(err, errlen, "cannot create vault directory '%s': %s",
			 dir, strerror(errno));
		return -errno;
	}
	rc = check_private(dir, 1, err, errlen);
	if (rc)
		goto out;
	d = opendir(dir);
	if (!d) {
		rc = -errno;
		snprintf(err, errlen, "cannot read '%s': %s", dir,
			 strerror(errno));
		goto out;
	}
	/* An init killed before it wrote the header leaves the lock file (and
	 * perhaps the header's temporary file, removed here): that counts
	 * as empty. */
	while ((de = readdir(d))) {
		if (!strncmp(de->d_name, "." VF_HEADER_NAME ".tmp.",
			     sizeof("." VF_HEADER_NAME ".tmp.") - 1)) {
			unlinkat(dirfd(d), de->d_name, 0);
			continue;
		}
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    strcmp(de->d_name, LOCK_NAME)) {
			snprintf(err, errlen,
				 "cannot create a vault in '%s': directory is "
				 "not empty", dir);
			rc = -EEXIST;
			goto out;
		}
	}
	catpath = vf_path_join(dir, VF_CATALOG_NAME);
	lockpath = vf_path_join(dir, LOCK_NAME);
	if (!catpath || !lockpath) {
		rc = -ENOMEM;
		goto out;
	}
	fd = open(lockpath, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot create '%s': %s", lockpath,
			 strerror(errno));
		goto out;
	}
	close(fd);
	/* The header is written by the protector; if the catalog cannot be
	 * made after it, the header goes again, so a failure leaves nothing
	 * that looks like a vault. */
	rc = vf_protector_create(dir, o, &k, err, errlen);
	if (rc)
		goto out;
	rc = vf_catalog_open(catpath, vf_keys_sub(k, VF_SUBKEY_CATALOG), 1, 0,
			     &cat, err, errlen);
	if (rc)
		goto out;
	rc = insert_root(cat);
	if (!rc)
		rc = vf_catalog_close(cat);
	else
		vf_catalog_close(cat);
	cat = NULL;
	if (rc)
		snprintf(err, errlen, "cannot initialise catalog '%s'",
			 catpath);
out:
	if (rc && catpath) {
		char *wal = NULL;

		unlink(catpath);
		if (asprintf(&wal, "%s-wal", catpath) >= 0) {
			unlink(wal);
			wal[strlen(wal) - 3] = 's';
			wal[strlen(wal) - 2] = 'h';
			wal[strlen(wal) - 1] = 'm';
			unlink(wal);
			free(wal);
		}
		if (lockpath)
			unlink(lockpath);
		if (k) {
			char *hdr = vf_path_join(dir, VF_HEADER_NAME);

			if (hdr)
				unlink(hdr);
			free(hdr);
		}
		if (made_dir)
			rmdir(dir);
	}
	if (d)
		closedir(d);
	vf_keys_free(k);
	free(catpath);
	free(lockpath);
	return rc;
}

/* Takes the vault lock.  A daemon that was just unmounted may still be
 * closing the vault (umount returns first), so a held lock is retried for
 * a few seconds before the vault counts as in use. */
/* file data's integrity hook (vault_int.h): damaged or tampered data is
 * a security event (docs/threat-model.md, Integrity), counted like a denial. */
static void integrity_failed(struct vf_vault *v, const char *what)
{
	vf_audit_count(v, "integrity", "failed", VF_AUDIT_UID_NONE, what,
		       vf_vault_stamp(v));
	vf_alert_raise(v, VF_ALERT_INTEGRITY, VF_ALERT_CRIT,
		       VF_AUDIT_UID_NONE, 1,
		       "stored data failed its check on read: %s (run vaultctl check --read-data)",
		       what);
}

void vf_vault_set_alert_hook(struct vf_vault *v, vf_alert_hook fn, void *arg)
{
	v->alert_hook = fn;
	v->alert_arg = arg;
}

void vf_vault_set_forget_hook(struct vf_vault *v, vf_forget_hook fn,
			      void *arg)
{
	v->forget_hook = fn;
	v->forget_arg = arg;
}

int vf_vault_alerts_flush(struct vf_vault *v)
{
	return vf_alerts_flush(v);
}

/* The packs: the local directory; for a remote vault the same directory
 * as a cache in front of its store (pack_cache.h), so that a pack the
 * directory lost (or never had, after a recovery) is fetched when read.
 * The cache keeps everything until the daemon sets a size
 * (vf_vault_set_cache_size).  A store that cannot be opened leaves the
 * local packs alone: the vault still opens, reads of missing packs fail. */
static int open_packs(struct vf_vault *v, const char *path)
{
	struct vf_store_conf *sc = NULL;
	int rc = vf_pack_io_local_new(path, &v->io);

	if (rc || vf_store_conf_read(v->dir, &sc) < 0)
		return rc;
	if (vf_objstore_open(&sc->cfg, &v->store) == 0 &&
	    vf_pack_cache_new(v->io, v->store, UINT64_MAX, &v->local_io) == 0) {
		/* v->io becomes the cache, the local backend under it */
		struct vf_pack_io *cache = v->local_io;

		v->local_io = v->io;
		v->io = cache;
	} else {
		vf_objstore_free(v->store);
		v->store = NULL;
	}
	free(sc);
	return 0;
}

int vf_vault_shipped_batch(struct vf_vault *v, int64_t *after,
			   char (*names)[VF_PACK_NAME_LEN + 1], size_t max,
			   size_t *n)
{
	sqlite3_stmt *st;
	int rc;

	*n = 0;
	vf_vault_lock(v);
	st = vf_catalog_stmt(v->cat, VF_Q_SHIP_SHIPPED);
	rc = st ? 0 : -EIO;
	if (st) {
		sqlite3_bind_int64(st, 1, *after);
		while (*n < max && (rc = vf_catalog_row(st)) == 1) {
			*after = sqlite3_column_int64(st, 0);
			snprintf(names[(*n)++], VF_PACK_NAME_LEN + 1, "%s",
				 (const char *)sqlite3_column_text(st, 1));
		}
		rc = rc < 0 ? rc : 0;
		sqlite3_reset(st);
	}
	vf_vault_unlock(v);
	return rc;
}

int vf_vault_set_cache_size(struct vf_vault *v, uint64_t bytes)
{
	char names[256][VF_PACK_NAME_LEN + 1];
	int64_t after = 0;
	size_t n, i;
	int rc;

	if (!v->local_io)
		return -ENOTSUP;
	/* Packs the catalog says the store holds may be evicted. */
	do {
		rc = vf_vault_shipped_batch(v, &after, names, 256, &n);
		if (rc < 0)
			return rc;
		for (i = 0; i < n; i++)
			vf_pack_cache_shipped(v->io, names[i]);
	} while (n == 256);
	rc = vf_pack_cache_set_limit(v->io, bytes);
	return rc < 0 ? rc : 0;
}

/* Starts the vault clock; a wall clock behind the mark or further ahead
 * than the credit is audited ("clock"), once per open, and the mark saved
 * with the record. */
static int clock_open(struct vf_vault *v, char *err, size_t errlen)
{
	char detail[128];
	int64_t skew = 0;
	int rc;

	rc = vf_vclock_start(v, &skew);
	if (rc || v->readonly || !skew ||
	    (skew < 0 && skew > -VF_VCLOCK_SLACK))
		goto out;
	if (skew < 0)
		snprintf(detail, sizeof(detail), "clock went back %lld s",
			 (long long)(-skew / VF_NS));
	else
		snprintf(detail, sizeof(detail),
			 "clock jumped %lld s ahead; counted as %lld s",
			 (long long)(skew / VF_NS),
			 (long long)(VF_VCLOCK_CREDIT / VF_NS));
	vf_vault_lock(v);
	rc = vf_catalog_begin(v->cat);
	if (!rc) {
		rc = vf_audit_record(v, vf_vault_stamp(v), VF_AUDIT_UID_NONE,
				     "clock", NULL, skew < 0 ? "back" : "ahead",
				     detail);
		vf_alert_raise(v, VF_ALERT_CLOCK, VF_ALERT_WARNING,
			       VF_AUDIT_UID_NONE, 1, "%s", detail);
		if (!rc)
			rc = vf_vclock_save(v, 1);
		rc = vf_catalog_finish(v->cat, rc);
	}
	vf_vault_unlock(v);
out:
	if (rc)
		snprintf(err, errlen, "cannot start the vault clock: %s",
			 strerror(-rc));
	return rc;
}

/* The disk reserve setting (admin.c writes it): meta reserve.bytes, none
 * or -1 for the default. */
static void load_reserve(struct vf_vault *v)
{
	int64_t r;

	if (vf_catalog_meta_get(v->cat, "reserve.bytes", &r) == 0 && r >= 0)
		v->reserve = (uint64_t)r;
}

/* Why dir's header is not there: -ENOENT when it is missing (or not a
 * regular file), else stat's -errno (-EACCES...). */
static int header_errno(const char *dir)
{
	struct stat st;
	char *p = vf_path_join(dir, VF_HEADER_NAME);
	int rc;

	if (!p)
		return -ENOMEM;
	rc = stat(p, &st) < 0 ? -errno : S_ISREG(st.st_mode) ? 0 : -ENOENT;
	free(p);
	return rc == -ENOTDIR || rc == 0 ? -ENOENT : rc;
}

static int lock_wait(int fd)
{
	struct timespec pause = { 0, 50 * 1000 * 1000 };
	int i;

	for (i = 0; i < 100; i++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK)
			return -1;
		nanosleep(&pause, NULL);
	}
	errno = EWOULDBLOCK;
	return -1;
}

/*
 * The catalog with its anchors (anchor.h): outside the vault directory
 * next to the protector (the keystore directory for platform keys; for
 * key files, key commands and passphrases $VAULTFS_ANCHOR_DIR or
 * VF_ANCHOR_DIR_DEFAULT, created root-only), and VAULT/catalog.anchor.
 */
int vf_vault_anchor_outside(const struct vf_protector_opts *o,
			    const uint8_t *id, int make, char **out, char *err,
			    size_t errlen)
{
	const char *adir;
	char hex[2 * VF_VAULT_ID_BYTES + 1], *p = NULL;

	if (vf_protector_is_platform(o)) {
		adir = o->keystore ? o->keystore : VF_KEYSTORE_DEFAULT;
	} else {
		adir = getenv("VAULTFS_ANCHOR_DIR");
		if (!adir || !*adir)
			adir = VF_ANCHOR_DIR_DEFAULT;
		if (make && strcmp(adir, VF_ANCHOR_DIR_DEFAULT) == 0)
			(void)mkdir("/etc/vaultfs", 0755);
		if (make && mkdir(adir, 0700) < 0 && errno != EEXIST) {
			snprintf(err, errlen, "cannot create anchor directory "
				 "'%s': %s", adir, strerror(errno));
			return -errno;
		}
	}
	sodium_bin2hex(hex, sizeof(hex), id, VF_VAULT_ID_BYTES);
	if (asprintf(&p, "%s/%s.anchor", adir, hex) < 0)
		return -ENOMEM;
	*out = p;
	return 0;
}

static int open_catalog(struct vf_vault *v, const struct vf_protector_opts *o,
			const char *path, int flags, char *err, size_t errlen)
{
	struct vf_catalog_anchor a;
	const uint8_t *id = vf_keys_vault_id(v->keys);
	char *outside = NULL, *inside = NULL;
	int rc;

	rc = vf_vault_anchor_outside(o, id, !v->readonly, &outside, err,
				     errlen);
	if (rc)
		return rc;
	inside = vf_path_join(v->dir, VF_ANCHOR_NAME);
	if (!inside) {
		rc = -ENOMEM;
		goto out;
	}
	memset(&a, 0, sizeof(a));
	a.key = vf_keys_sub(v->keys, VF_SUBKEY_ANCHOR);
	a.vault_id = id;
	a.outside = outside;
	a.inside = inside;
	a.label = v->dir;
	a.readonly = v->readonly;
	a.accept_rollback = !!(flags & VF_OPEN_ACCEPT_ROLLBACK);
	rc = vf_catalog_open_anchored(path,
				      vf_keys_sub(v->keys, VF_SUBKEY_CATALOG),
				      &a, &v->cat, err, errlen);
out:
	free(outside);
	free(inside);
	return rc;
}

int vf_vault_open(const char *dir, const struct vf_protector_opts *o,
		  int flags, struct vf_vault **out, char *err, size_t errlen)
{
	struct vf_vault *v;
	char *path = NULL;
	int rc;

	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->lockfd = -1;
	pthread_mutex_init(&v->mu, NULL);
	pthread_mutex_init(&v->authz_mu, NULL);
	v->imm_rules = -1;
	v->readonly = !!(flags & VF_OPEN_RDONLY);
	v->reserve = VF_POLICY_RESERVE_DEFAULT;
	v->integrity_failed = integrity_failed;
	/* Each subsystem's _init leaves it releasable whatever fails after
	 * it; vf_vault_close runs every _release. */
	rc = vf_spool_init(v);
	if (!rc)
		rc = vf_buf_init(v);
	if (!rc)
		rc = vf_cache_init(v);
	if (!rc)
		rc = vf_pipeline_init(v);
	if (!rc)
		rc = vf_open_files_init(v);
	if (!rc)
		rc = vf_views_new(&v->views);
	if (!rc)
		rc = vf_audit_new(&v->audit);
	if (rc) {
		snprintf(err, errlen, "cannot open vault: %s", strerror(-rc));
		goto fail;
	}
	v->dir = realpath(dir, NULL);
	if (!v->dir) {
		rc = -errno;
		snprintf(err, errlen, "cannot open vault '%s': %s", dir,
			 strerror(errno));
		goto fail;
	}
	rc = check_private(v->dir, 1, err, errlen);
	if (rc)
		goto fail;
	v->keystore = strdup(o->keystore ? o->keystore : VF_KEYSTORE_DEFAULT);
	if (!v->keystore) {
		rc = -ENOMEM;
		snprintf(err, errlen, "cannot open vault: %s", strerror(ENOMEM));
		goto fail;
	}
	if (!vf_protector_is_vault(v->dir)) {
		/* say why: a header we may not read is not a missing one */
		rc = header_errno(v->dir);
		if (rc == -ENOENT)
			snprintf(err, errlen, "not a vault: '%s' has no %s",
				 v->dir, VF_HEADER_NAME);
		else
			snprintf(err, errlen, "cannot read the vault header in '%s': %s",
				 v->dir, strerror(-rc));
		goto fail;
	}
	if (vf_protector_is_platform(o)) {
		rc = check_private(o->keystore ? o->keystore :
						 VF_KEYSTORE_DEFAULT,
				   0, err, errlen);
		if (rc)
			goto fail;
	}
	/* The lock comes before the key: a vault its daemon holds is "in
	 * use" whatever key options the caller gave (not "keystore key not
	 * found" for a caller who did not name the daemon's keystore). */
	path = vf_path_join(v->dir, LOCK_NAME);
	if (!path) {
		rc = -ENOMEM;
		goto fail;
	}
	v->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (v->lockfd < 0 || lock_wait(v->lockfd) < 0) {
		rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
		snprintf(err, errlen, "vault '%s' is in use by another process",
			 v->dir);
		if (rc != -EBUSY)
			snprintf(err, errlen, "cannot lock vault '%s': %s",
				 v->dir, strerror(-rc));
		goto fail;
	}
	rc = vf_protector_unlock(v->dir, o, &v->keys, err, errlen);
	if (rc)
		goto fail;
	v->passphrase = o->passphrase_file || o->passphrase;
	free(path);
	path = vf_path_join(v->dir, VF_CATALOG_NAME);
	if (!path) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = open_catalog(v, o, path, flags, err, errlen);
	if (rc)
		goto fail;
	vf_vault_lock(v);
	rc = vf_datakey_load(v);
	vf_vault_unlock(v);
	if (rc) {
		snprintf(err, errlen, "cannot read the data keys: %s",
			 rc == -EBADMSG ? "authentication failed" :
					  strerror(-rc));
		goto fail;
	}
	load_reserve(v);
	free(path);
	path = vf_path_join(v->dir, PACK_DIR);
	if (!path) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = open_packs(v, path);
	if (!rc)
		rc = vf_pack_writer_new(v->io, 0, &v->pw);
	if (rc) {
		snprintf(err, errlen, "cannot open packs in '%s': %s", path,
			 strerror(-rc));
		goto fail;
	}
	rc = vf_spool_open(v, err, errlen);
	if (rc)
		goto fail;
	vf_chunker_gear(v->gear, vf_keys_sub(v->keys, VF_SUBKEY_CHUNKER));
	rc = vf_authz_load(v);
	if (rc) {
		snprintf(err, errlen, "cannot read the role grants: %s",
			 strerror(-rc));
		goto fail;
	}
	rc = vf_alerts_new(&v->alerts);
	if (rc) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	rc = vf_alerts_load(v);
	if (rc) {
		snprintf(err, errlen, "cannot read the alert settings: %s",
			 strerror(-rc));
		goto fail;
	}
	rc = clock_open(v, err, errlen);
	if (rc)
		goto fail;
	rc = vf_trip_open(v);
	if (rc) {
		snprintf(err, errlen, "cannot read the tripwire's state: %s",
			 strerror(-rc));
		goto fail;
	}
	vf_vault_lock(v);
	rc = vf_protect_load(v);
	vf_vault_unlock(v);
	if (rc) {
		snprintf(err, errlen, "cannot read the protection state: %s",
			 strerror(-rc));
		goto fail;
	}
	if (v->cat->accepted[0]) {
		vf_vault_lock(v);
		rc = vf_audit_record(v, vf_vault_stamp(v), 0, "accept-rollback",
				     v->dir, "ok", v->cat->accepted);
		vf_vault_unlock(v);
		if (rc) {
			snprintf(err, errlen, "cannot audit the accepted "
				 "rollback: %s", strerror(-rc));
			goto fail;
		}
	}
	rc = vf_pipeline_start(v);
	if (rc) {
		snprintf(err, errlen, "cannot start worker threads: %s",
			 strerror(-rc));
		goto fail;
	}
	free(path);
	*out = v;
	return 0;
fail:
	free(path);
	vf_vault_close(v);
	return rc;
}

int vf_vault_close(struct vf_vault *v)
{
	struct vf_file *f;
	int rc = 0, r;

	if (!v)
		return 0;
	/* Files still open at unmount (the kernel released them, or the
	 * daemon is stopping) are committed, not dropped. */
	while ((f = vf_open_files_any(v))) {
		f->refs = 1;
		if (f->dirty && (r = vf_file_commit(v, f)) && !rc)
			rc = r;
		vf_file_put(v, f);
	}
	vf_pipeline_stop(v);
	/* the uploader reads packs and the catalog: before they close */
	vf_ship_stop(v);
	r = vf_pack_writer_close(v->pw);
	if (r && !rc)
		rc = r;
	vf_pack_io_free(v->io);
	vf_pack_io_free(v->inner_io);
	vf_pack_io_free(v->local_io);
	vf_objstore_free(v->store);
	/* denied accesses still counted in memory, and alerts still
	 * queued, become records */
	r = vf_vault_audit_flush(v, vf_vault_stamp(v), 1);
	if (r && !rc)
		rc = r;
	r = vf_alerts_flush(v);
	if (r < 0 && !rc)
		rc = r;
	r = vf_catalog_close(v->cat);
	if (r && !rc)
		rc = r;
	vf_audit_free(v->audit);
	vf_alerts_free(v->alerts);
	vf_trip_close(v);
	vf_cache_release(v);
	vf_buf_release(v);
	vf_spool_release(v);
	vf_datakey_free(v);
	vf_keys_free(v->keys);
	if (v->lockfd >= 0)
		close(v->lockfd);
	vf_open_files_release(v);
	vf_pipeline_release(v);
	vf_views_free(v->views);
	free(v->dir);
	free(v->keystore);
	pthread_mutex_destroy(&v->mu);
	vf_authz_free(v);
	pthread_mutex_destroy(&v->authz_mu);
	free(v);
	return rc;
}

int vf_vault_fault_io(struct vf_vault *v, struct vf_pack_io **out)
{
	struct vf_pack_io *fault;
	struct vf_pack_writer *pw;
	int rc;

	if (v->inner_io)
		return -EBUSY;
	rc = vf_pack_io_fault_new(v->io, &fault);
	if (rc)
		return rc;
	rc = vf_pack_writer_new(fault, 0, &pw);
	if (rc) {
		vf_pack_io_free(fault);
		return rc;
	}
	rc = vf_pack_writer_close(v->pw);
	v->pw = pw;
	v->inner_io = v->io;
	v->io = fault;
	*out = fault;
	return rc;
}
