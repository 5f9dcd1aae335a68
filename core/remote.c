/*
 * remote.c - a remote vault's life cycle outside the daemon: init against
 * an empty store, and recovery from the store onto a machine that has
 * only the key (remote.h; docs/remote-store.md).
 *
 * Invariants:
 * - Init checks the store (reachable and empty) before it makes anything
 *   locally, and leaves nothing when a later step fails.
 * - Recovery writes only into a directory that was empty (or is made
 *   here) and removes what it wrote when it fails; "wrong key" is found
 *   from the header alone, before anything large is downloaded.
 * - A recovered catalog gets an epoch above every anchor this machine has
 *   for the vault, then fresh anchors (outside and inside), so that the
 *   rollback check accepts it now and refuses an older copy later.
 * - Downloads stream to files (get_fd): memory stays bounded whatever the
 *   size of the catalog or a pack.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "anchor.h"
#include "catalog.h"
#include "catseg.h"
#include "facade.h"
#include "remote.h"
#include "ship.h"
#include "vault_int.h"

#define HDR_MAX 4096
#define HDR_ID_OFF 12
#define LOCK_NAME "lock"
#define PACK_BATCH 64

/* ---- removing what we made ----------------------------------------- */

/* Removes everything below dir (not dir itself); depth-bounded by the
 * vault layout (packs/ab/x.pack). */
static void empty_dir(const char *dir, int depth)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	struct stat st;
	char *p;

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		p = vf_path_join(dir, de->d_name);
		if (!p)
			continue;
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
			if (depth < 4)
				empty_dir(p, depth + 1);
			rmdir(p);
		} else {
			unlink(p);
		}
		free(p);
	}
	closedir(d);
}

/* 1 when dir is missing (*made is then to be set by the caller's
 * mkdir), 0 when it is an empty directory, -EEXIST otherwise. */
static int dir_state(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int rc = 0;

	if (!d)
		return errno == ENOENT ? 1 : -errno;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			rc = -EEXIST;
			break;
		}
	closedir(d);
	return rc;
}

static int any_object(void *arg, const struct vf_objinfo *o)
{
	(void)arg;
	(void)o;
	return 1;
}

/* The keystore entry init made for a platform key (its name is the vault
 * id, bytes 12..28 of the header). */
static void remove_platform_key(const char *dir,
				const struct vf_protector_opts *o)
{
	uint8_t hdr[64];
	char hex[2 * VF_VAULT_ID_BYTES + 1], *path = NULL, *p;
	int fd;

	if (!vf_protector_is_platform(o))
		return;
	p = vf_path_join(dir, VF_HEADER_NAME);
	fd = p ? open(p, O_RDONLY | O_CLOEXEC) : -1;
	free(p);
	if (fd < 0)
		return;
	if (read(fd, hdr, sizeof(hdr)) == (ssize_t)sizeof(hdr)) {
		sodium_bin2hex(hex, sizeof(hex), hdr + HDR_ID_OFF,
			       VF_VAULT_ID_BYTES);
		if (asprintf(&path, "%s/%s.key",
			     o->keystore ? o->keystore : VF_KEYSTORE_DEFAULT,
			     hex) >= 0) {
			unlink(path);
			free(path);
		}
	}
	close(fd);
}

/* ---- init ------------------------------------------------------------ */

static int read_file(const char *path, void *buf, size_t cap, size_t *len)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, cap);
	close(fd);
	if (n < 0)
		return -errno;
	*len = (size_t)n;
	return 0;
}

int vf_remote_create(const char *dir, const struct vf_protector_opts *o,
		     const struct vf_store_cfg *cfg, char *err, size_t errlen)
{
	struct vf_objstore *st = NULL;
	uint8_t hdr[HDR_MAX];
	char *path = NULL;
	size_t len = 0;
	int rc, made, created = 0;

	/* before anything is made or asked of the store */
	if (cfg->lock_period_s &&
	    (cfg->lock_period_s < VF_POLICY_LOCK_MIN_S ||
	     cfg->lock_period_s > VF_POLICY_LOCK_MAX_S)) {
		snprintf(err, errlen, "lock period %lld s is out of range: at least %d s (the daemon renews locks every third of it), at most %lld days",
			 (long long)cfg->lock_period_s, VF_POLICY_LOCK_MIN_S,
			 VF_POLICY_LOCK_MAX_S / 86400);
		return -EINVAL;
	}
	if (cfg->lock_period_s && cfg->no_lock) {
		snprintf(err, errlen, "a lock period needs a store that locks: --lock-period and --no-lock contradict each other");
		return -EINVAL;
	}

	rc = vf_objstore_open(cfg, &st);
	if (rc) {
		snprintf(err, errlen, "cannot open store '%s': %s", cfg->url,
			 vf_objstore_errmsg());
		return rc;
	}
	rc = st->ops->list(st, "", any_object, NULL);
	if (rc == 1) {
		snprintf(err, errlen, "cannot create a vault in store '%s': "
			 "store is not empty", cfg->url);
		rc = -EEXIST;
		goto out;
	}
	if (rc) {
		snprintf(err, errlen, "cannot reach store '%s': %s", cfg->url,
			 vf_objstore_errmsg());
		goto out;
	}
	/* Object Lock: the store must refuse deletes, even with the
	 * vault's own credentials, or the vault is only as safe as them. */
	if (!cfg->no_lock) {
		int on = 0;

		if (!st->ops->lock_enabled || !st->ops->set_retention) {
			snprintf(err, errlen, "store '%s' cannot lock objects (S3 Object Lock), so its credentials could delete the vault; give --no-lock to accept that",
				 cfg->url);
			rc = -EPERM;
			goto out;
		}
		rc = st->ops->lock_enabled(st, &on);
		if (rc) {
			snprintf(err, errlen, "cannot read the Object Lock configuration of '%s': %s",
				 cfg->url, vf_objstore_errmsg());
			goto out;
		}
		if (!on) {
			snprintf(err, errlen, "the bucket of '%s' has no Object Lock: create it with Object Lock enabled, or give --no-lock (weak: the store's credentials could delete the vault)",
				 cfg->url);
			rc = -EPERM;
			goto out;
		}
	}
	made = dir_state(dir) == 1;
	rc = vf_vault_create(dir, o, err, errlen);
	if (rc)
		goto out;
	created = 1;
	rc = vf_store_conf_write(dir, cfg);
	if (rc) {
		snprintf(err, errlen, "cannot record the store: %s",
			 vf_objstore_errmsg());
		goto out;
	}
	path = vf_path_join(dir, VF_HEADER_NAME);
	rc = path ? read_file(path, hdr, sizeof(hdr), &len) : -ENOMEM;
	if (rc) {
		snprintf(err, errlen, "cannot read '%s': %s", path ? path : "",
			 strerror(-rc));
		goto out;
	}
	rc = st->ops->put(st, VF_SHIP_HDR_KEY, hdr, len);
	/* locked for the default soft-delete retention and the margin; the
	 * daemon extends every lock daily (ship.c) */
	if (!rc && !cfg->no_lock)
		rc = st->ops->set_retention(
			st, VF_SHIP_HDR_KEY,
			(int64_t)time(NULL) +
				(cfg->lock_period_s ? cfg->lock_period_s :
				 vf_policy_lock_period(VF_SOFTDELETE_DAYS,
						       VF_SHIP_LOCK_MARGIN * VF_NS,
						       86400 * VF_NS) / VF_NS));
	if (rc)
		snprintf(err, errlen, "cannot store the vault header in '%s': "
			 "%s", cfg->url, vf_objstore_errmsg());
out:
	if (rc && created) {
		remove_platform_key(dir, o);
		empty_dir(dir, 0);
		if (made)
			rmdir(dir);
	}
	free(path);
	vf_objstore_free(st);
	return rc;
}

/* ---- recover --------------------------------------------------------- */

/* The checkpoints (c/<16 hex>) and segments (c/<16 hex>.d) listed, in
 * key order, which is sequence order; seg[i] tells which. */
struct seqs {
	uint64_t *v;
	uint8_t *seg;
	size_t n, cap;
};

static int collect_seq(void *arg, const struct vf_objinfo *o)
{
	struct seqs *s = arg;
	size_t len = strlen(o->key);
	uint64_t x;
	char *end;

	/* the checkpoint or segment itself (not its .t) */
	if (len != 2 + 16 && (len != 2 + 16 + 2 || strcmp(o->key + 18, ".d")))
		return 0;
	x = strtoull(o->key + 2, &end, 16);
	if (end != o->key + 18)
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		uint64_t *nv = realloc(s->v, cap * sizeof(*nv));
		uint8_t *ns;

		if (!nv)
			return -ENOMEM;
		s->v = nv;
		ns = realloc(s->seg, cap);
		if (!ns)
			return -ENOMEM;
		s->seg = ns;
		s->cap = cap;
	}
	s->seg[s->n] = len != 2 + 16;
	s->v[s->n++] = x;
	return 0;
}

static void seqs_remove(struct seqs *s, size_t i)
{
	memmove(s->v + i, s->v + i + 1, (s->n - i - 1) * sizeof(*s->v));
	memmove(s->seg + i, s->seg + i + 1, s->n - i - 1);
	s->n--;
}

int vf_remote_ckpt_time(struct vf_objstore *st, const uint8_t *akey,
			uint64_t seq, int64_t *t)
{
	char key[VF_OBJKEY_MAX + 1];
	void *data = NULL;
	size_t len = 0;
	int rc;

	vf_ship_time_key(seq, key);
	rc = st->ops->get(st, key, &data, &len, 256);
	if (rc)
		return rc;
	rc = vf_ship_time_open(akey, seq, data, len, t);
	if (rc)
		vf_objstore_set_err("time of checkpoint %llu fails "
				    "authentication", (unsigned long long)seq);
	free(data);
	return rc;
}

/* Downloads key into path (temporary name, fsync, rename). */
static int fetch_to(struct vf_objstore *st, const char *key, const char *path,
		    uint64_t *bytes)
{
	char *tmp = NULL;
	uint64_t len = 0;
	int fd, rc;

	if (asprintf(&tmp, "%s.part", path) < 0)
		return -ENOMEM;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		vf_objstore_set_err("cannot write '%s': %s", tmp,
				    strerror(errno));
		free(tmp);
		return rc;
	}
	rc = st->ops->get_fd(st, key, fd, &len);
	if (!rc && fsync(fd) < 0) {
		rc = -errno;
		vf_objstore_set_err("cannot write '%s': %s", tmp,
				    strerror(errno));
	}
	close(fd);
	if (!rc && rename(tmp, path) < 0) {
		rc = -errno;
		vf_objstore_set_err("cannot write '%s': %s", path,
				    strerror(errno));
	}
	if (rc)
		unlink(tmp);
	else
		*bytes += len;
	free(tmp);
	return rc;
}

struct damage {
	char first[256];
	int n;
};

static void note_damage(void *arg, const char *where, const char *what)
{
	struct damage *d = arg;

	if (!d->n++)
		snprintf(d->first, sizeof(d->first), "%s: %s", where, what);
}

/* Downloads every pack the catalog names (its packs table), marking
 * them shipped (they are in the store). */
static int fetch_packs(struct vf_objstore *st, struct vf_catalog *cat,
		       const char *dir, const char *url,
		       struct vf_recover_info *info, char *err, size_t errlen)
{
	char names[PACK_BATCH][VF_PACK_NAME_LEN + 1], key[VF_OBJKEY_MAX + 1];
	char *path = NULL, *sub = NULL;
	int64_t after = 0;
	size_t n, i;
	sqlite3_stmt *q;
	int rc = 0;

	do {
		q = vf_catalog_stmt(cat, VF_Q_SHIP_PACKS_ALL);
		if (!q)
			return -EIO;
		sqlite3_bind_int64(q, 1, after);
		sqlite3_bind_int64(q, 2, PACK_BATCH);
		n = 0;
		while ((rc = vf_catalog_row(q)) == 1) {
			const char *name =
				(const char *)sqlite3_column_text(q, 1);

			after = sqlite3_column_int64(q, 0);
			if (name && strlen(name) == VF_PACK_NAME_LEN)
				memcpy(names[n++], name,
				       VF_PACK_NAME_LEN + 1);
		}
		sqlite3_reset(q);
		if (rc < 0) {
			snprintf(err, errlen, "cannot read the recovered "
				 "catalog: %s", strerror(-rc));
			return rc;
		}
		for (i = 0; i < n; i++) {
			if (asprintf(&sub, "%s/packs/%.2s", dir, names[i]) < 0)
				return -ENOMEM;
			(void)mkdir(sub, 0700);
			if (asprintf(&path, "%s/%s.pack", sub, names[i]) < 0) {
				free(sub);
				return -ENOMEM;
			}
			snprintf(key, sizeof(key), VF_SHIP_PACK_PREFIX "%.32s",
				 names[i]);
			rc = fetch_to(st, key, path, &info->bytes);
			free(path);
			free(sub);
			if (rc) {
				snprintf(err, errlen, "cannot fetch pack %s from "
					 "store '%s': %s", names[i], url,
					 vf_objstore_errmsg());
				return rc;
			}
			info->packs++;
		}
	} while (n == PACK_BATCH);
	return 0;
}

static void unlink_side(const char *path, const char *suffix)
{
	char *p = NULL;

	if (asprintf(&p, "%s%s", path, suffix) >= 0) {
		unlink(p);
		free(p);
	}
}

/* Opens the downloaded catalog, checks every page and table, fetches its
 * packs, and sets the bookkeeping and an epoch above *epoch (in: the
 * highest epoch this machine's anchors know; out: the epoch written). */
static int settle_catalog(struct vf_objstore *st, const char *dir,
			  const char *catpath, struct vf_keys *k,
			  const char *url, struct vf_recover_info *info,
			  uint64_t *epoch, char *err, size_t errlen)
{
	struct vf_catalog *cat = NULL;
	struct damage dmg = { "", 0 };
	int64_t m = 0;
	int rc;

	rc = vf_catalog_open(catpath, vf_keys_sub(k, VF_SUBKEY_CATALOG), 0, 0,
			     &cat, err, errlen);
	if (rc)
		return rc;
	rc = vf_catalog_verify(cat, note_damage, &dmg);
	if (rc > 0 || dmg.n) {
		snprintf(err, errlen, "checkpoint %llu from store '%s' is "
			 "damaged: %s", (unsigned long long)info->seq, url,
			 dmg.first);
		rc = -EBADMSG;
		goto out;
	}
	if (rc < 0) {
		snprintf(err, errlen, "cannot check the recovered catalog: %s",
			 strerror(-rc));
		goto out;
	}
	rc = fetch_packs(st, cat, dir, url, info, err, errlen);
	if (rc)
		goto out;
	if (vf_catalog_meta_get(cat, "store.lock_period", &info->lock_period_s))
		info->lock_period_s = 0;
	if (vf_catalog_meta_get(cat, "epoch", &m))
		m = 0;
	if ((uint64_t)m > *epoch)
		*epoch = (uint64_t)m;
	(*epoch)++;
	rc = vf_catalog_begin(cat);
	if (!rc) {
		sqlite3_stmt *q = vf_catalog_stmt(cat, VF_Q_SHIP_MARK_ALL);

		rc = q ? vf_catalog_run(q) : -EIO;
		if (!rc)
			rc = vf_catalog_meta_set(cat, "ship.seq",
						 (int64_t)info->seq);
		if (!rc)
			rc = vf_catalog_meta_set(cat, "ship.t", info->t);
		if (!rc)
			rc = vf_catalog_meta_set(cat, "ship.full",
						 (int64_t)info->full);
		if (!rc)
			rc = vf_catalog_meta_set(cat, "epoch",
						 (int64_t)*epoch);
		rc = vf_catalog_finish(cat, rc);
	}
	if (rc)
		snprintf(err, errlen, "cannot update the recovered catalog: %s",
			 strerror(-rc));
out:
	/* not anchored: the close checkpoints the WAL into catalog.db */
	if (vf_catalog_close(cat) && !rc) {
		snprintf(err, errlen, "cannot close the recovered catalog");
		rc = -EIO;
	}
	/* the WAL is checkpointed and empty; its index is of no use */
	unlink_side(catpath, "-wal");
	unlink_side(catpath, "-shm");
	return rc;
}

/* Picks the checkpoint or segment to recover: the newest, or the newest
 * stamped <= at (times grow with the sequence number: binary search,
 * O(log n) small gets).  *out: what was listed, less what was skipped;
 * *target: the index picked. */
static int pick(struct vf_objstore *st, struct vf_keys *k, const char *url,
		int64_t at, struct vf_recover_info *info, struct seqs *out,
		size_t *target, char *err, size_t errlen)
{
	const uint8_t *akey = vf_keys_sub(k, VF_SUBKEY_ANCHOR);
	struct seqs s = { NULL, NULL, 0, 0 };
	size_t lo, hi, mid, best;
	int64_t t = 0;
	int rc;

	rc = st->ops->list(st, VF_SHIP_CKPT_PREFIX, collect_seq, &s);
	if (rc) {
		snprintf(err, errlen, "cannot list store '%s': %s", url,
			 rc == -ENOMEM ? strerror(ENOMEM) :
					 vf_objstore_errmsg());
		goto out;
	}
	if (!s.n) {
		snprintf(err, errlen, "store '%s' holds no checkpoint", url);
		rc = -ENOENT;
		goto out;
	}
	/* listed in key order, which is sequence order (16 hex digits).
	 * A checkpoint whose time object is missing or fails
	 * authentication is not the vault's (someone with the store's
	 * credentials added it): skipped and counted. */
	if (at <= 0) {
		while (s.n > 0) {
			info->seq = s.v[s.n - 1];
			rc = vf_remote_ckpt_time(st, akey, info->seq, &info->t);
			if (rc != -EBADMSG && rc != -ENOENT)
				break;
			info->skipped++;
			s.n--;
		}
		if (rc)
			snprintf(err, errlen, "cannot read the time of "
				 "checkpoint %llu: %s",
				 (unsigned long long)info->seq,
				 vf_objstore_errmsg());
		goto out;
	}
	lo = 0;
	hi = s.n;
	best = s.n;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		rc = vf_remote_ckpt_time(st, akey, s.v[mid], &t);
		if (rc == -EBADMSG || rc == -ENOENT) {
			/* not the vault's: out of the search */
			seqs_remove(&s, mid);
			hi--;
			/* best < lo <= mid: its index stays */
			info->skipped++;
			rc = 0;
			continue;
		}
		if (rc) {
			snprintf(err, errlen, "cannot read the time of "
				 "checkpoint %llu: %s",
				 (unsigned long long)s.v[mid],
				 vf_objstore_errmsg());
			goto out;
		}
		if (t <= at) {
			best = mid;
			info->t = t;
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	if (best >= s.n) {
		snprintf(err, errlen, "store '%s' holds no checkpoint taken at "
			 "or before that time", url);
		rc = -ENOENT;
		goto out;
	}
	info->seq = s.v[best];
out:
	if (!rc && at <= 0)
		best = s.n - 1;
	if (!rc) {
		*out = s;
		*target = best;
	} else {
		free(s.v);
		free(s.seg);
	}
	return rc;
}

/* Fetches segment seq into tmp and applies it to the catalog copy cat
 * (pages sealed with VFS vfs) on top of state cur.  Returns 0, -EBADMSG
 * (not authentic) or -ESTALE (not on top of cur): the chain breaks there,
 * with the reason in why; or another -errno (the store or the disk: the
 * recovery fails). */
static int apply_seg(struct vf_objstore *st, struct vf_keys *k,
		     const char *vfs, const char *tmp, int cat, uint64_t seq,
		     uint64_t cur, struct vf_catseg_hdr *h, uint64_t *bytes,
		     char *why, size_t whylen)
{
	char key[VF_OBJKEY_MAX + 1];
	int fd, rc;

	vf_ship_seg_key(seq, key);
	rc = fetch_to(st, key, tmp, bytes);
	if (rc == -ENOENT) {
		/* listed a moment ago: removed since */
		snprintf(why, whylen, "%.40s: missing from the store", key);
		return -ESTALE;
	}
	if (rc)
		return rc;
	fd = open(tmp, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = vf_catseg_apply(vfs, vf_keys_sub(k, VF_SUBKEY_CATALOG),
			     vf_keys_vault_id(k), seq, cur, fd, cat, h);
	close(fd);
	unlink(tmp);
	if (rc == -EBADMSG)
		snprintf(why, whylen, "%.40s: not authentic (damaged, replaced "
			 "or moved in the store)", key);
	else if (rc == -ESTALE)
		snprintf(why, whylen, "%.40s: does not follow %016llx (a "
			 "segment before it is missing from the store)", key,
			 (unsigned long long)cur);
	return rc;
}

/*
 * Builds the catalog of entry target of s at catpath: the newest full
 * checkpoint at or before it, then every segment after it up to target,
 * in order, each applied only on top of the state it was made from.  A
 * segment that is missing, not authentic or made on another base ends the
 * chain: the catalog is then the state before it (info->broken, info->why).
 * After the segments, the catalog's digest must be the one the last
 * segment names: else the checkpoint is not the one the chain was made on.
 */
static int build_catalog(struct vf_objstore *st, struct vf_keys *k,
			 const char *url, const char *dir, const char *catpath,
			 const struct seqs *s, size_t target,
			 struct vf_recover_info *info, char *err,
			 size_t errlen)
{
	const uint8_t *akey = vf_keys_sub(k, VF_SUBKEY_ANCHOR);
	uint8_t digest[VF_CATSEG_DIGEST];
	struct vf_catseg_map map = { NULL, 0 };
	struct vf_catseg_hdr h;
	char key[VF_OBJKEY_MAX + 1], vfs[48], *tmp = NULL;
	uint64_t cur, n1 = 0, n2 = 0;
	size_t f = target, i;
	int fd = -1, rc, reg = 0;

	while (f > 0 && s->seg[f])
		f--;
	if (s->seg[f]) {
		snprintf(err, errlen, "store '%s' holds no full checkpoint at "
			 "or before %llu", url, (unsigned long long)s->v[target]);
		return -ENOENT;
	}
	cur = s->v[f];
	info->full = cur;
	vf_ship_ckpt_key(cur, key);
	rc = fetch_to(st, key, catpath, &info->catalog_bytes);
	if (rc) {
		snprintf(err, errlen, "cannot fetch checkpoint %llu from store "
			 "'%s': %s", (unsigned long long)cur, url,
			 vf_objstore_errmsg());
		return rc;
	}
	if (f == target)
		return 0;
	snprintf(vfs, sizeof(vfs), "vaultfs-recover-%p", (void *)&vfs);
	rc = vf_catvfs_register(vfs, vf_keys_sub(k, VF_SUBKEY_CATALOG));
	if (rc)
		goto out;
	reg = 1;
	tmp = vf_path_join(dir, "segment.part");
	fd = open(catpath, O_RDWR | O_CLOEXEC);
	if (!tmp || fd < 0) {
		rc = tmp ? -errno : -ENOMEM;
		goto out;
	}
	for (i = f + 1; i <= target; i++) {
		rc = apply_seg(st, k, vfs, tmp, fd, s->v[i], cur, &h,
			       &info->catalog_bytes, info->why,
			       sizeof(info->why));
		if (rc == -EBADMSG || rc == -ESTALE) {
			info->broken = s->v[i];
			rc = 0;
			break;
		}
		if (rc) {
			snprintf(err, errlen, "cannot apply segment %llu from "
				 "store '%s': %s", (unsigned long long)s->v[i],
				 url, vf_objstore_errmsg()[0] ?
					      vf_objstore_errmsg() :
					      strerror(-rc));
			goto out;
		}
		cur = s->v[i];
		info->segments++;
	}
	if (info->segments) {
		rc = fsync(fd) < 0 ? -errno : 0;
		if (!rc)
			rc = vf_catseg_diff(vfs, vf_keys_sub(k, VF_SUBKEY_CATALOG),
					    vf_keys_vault_id(k), catpath, NULL,
					    0, 0, -1, &map, &n1, &n2, digest);
		vf_catseg_map_release(&map);
		if (!rc && sodium_memcmp(digest, h.digest, sizeof(digest))) {
			snprintf(err, errlen, "checkpoint %llu in store '%s' is not the one the segments after it were made on (replaced in the store?)",
				 (unsigned long long)info->full, url);
			rc = -EBADMSG;
			goto out;
		}
	}
	if (!rc && info->broken) {
		/* the state recovered is the one before the break */
		info->seq = cur;
		rc = vf_remote_ckpt_time(st, akey, cur, &info->t);
		if (rc)
			snprintf(err, errlen, "cannot read the time of %llu: %s",
				 (unsigned long long)cur, vf_objstore_errmsg());
	}
out:
	if (rc && !err[0])
		snprintf(err, errlen, "cannot apply the segments after "
			 "checkpoint %llu: %s", (unsigned long long)info->full,
			 strerror(-rc));
	if (fd >= 0)
		close(fd);
	if (tmp)
		unlink(tmp);
	free(tmp);
	if (reg)
		vf_catvfs_unregister(vfs);
	return rc;
}

static int write_small(const char *path, const void *data, size_t len)
{
	int fd, rc = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, data, len) != (ssize_t)len || fsync(fd) < 0)
		rc = errno ? -errno : -EIO;
	close(fd);
	return rc;
}

static void problem(void *arg, const char *path, const char *what)
{
	note_damage(arg, path, what);
}

/* The vault headers in the store: every h/<hash> (a header changed after
 * init), newest first, then "hdr" (init's). */
struct headers {
	char **keys;
	int64_t *t;
	size_t n, cap;
};

static int header_cb(void *arg, const struct vf_objinfo *o)
{
	struct headers *h = arg;
	char **k;
	int64_t *t;

	if (h->n == h->cap) {
		size_t cap = h->cap ? 2 * h->cap : 16;

		k = realloc(h->keys, cap * sizeof(*k));
		if (k)
			h->keys = k;
		t = realloc(h->t, cap * sizeof(*t));
		if (t)
			h->t = t;
		if (!k || !t)
			return -ENOMEM;
		h->cap = cap;
	}
	h->keys[h->n] = strdup(o->key);
	if (!h->keys[h->n])
		return -ENOMEM;
	h->t[h->n++] = o->mtime_s;
	return 0;
}

static void headers_release(struct headers *h)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		free(h->keys[i]);
	free(h->keys);
	free(h->t);
	memset(h, 0, sizeof(*h));
}

static int list_headers(struct vf_objstore *st, struct headers *h)
{
	size_t i, j;
	int rc;

	rc = st->ops->list(st, VF_SHIP_HDRS_PREFIX, header_cb, h);
	if (rc)
		return rc;
	/* newest first (few: one per key change) */
	for (i = 1; i < h->n; i++)
		for (j = i; j > 0 && h->t[j] > h->t[j - 1]; j--) {
			char *k = h->keys[j];
			int64_t t = h->t[j];

			h->keys[j] = h->keys[j - 1];
			h->t[j] = h->t[j - 1];
			h->keys[j - 1] = k;
			h->t[j - 1] = t;
		}
	return header_cb(h, &(struct vf_objinfo){ VF_SHIP_HDR_KEY, 0, 0 });
}

/* Fetches the headers of hdrs in turn into path until one opens with o:
 * a key the owner added or rotated to is in a later header, an old key
 * only in an older one (docs/keys.md).  The error is the newest
 * header's. */
static int open_header(struct vf_objstore *st, const char *url,
		       const struct headers *hdrs, const char *path,
		       const char *dir,
		       const struct vf_protector_opts *o, struct vf_keys **k,
		       char *err, size_t errlen)
{
	char first[512] = "", why[512];
	int rc = -ENOENT, first_rc = 0;
	void *hdr = NULL;
	size_t i, hlen = 0;

	for (i = 0; i < hdrs->n; i++) {
		why[0] = '\0';
		rc = st->ops->get(st, hdrs->keys[i], &hdr, &hlen, HDR_MAX);
		if (rc)
			snprintf(why, sizeof(why), "cannot fetch the vault "
				 "header from store '%s': %s", url,
				 vf_objstore_errmsg());
		unlink(path);
		if (!rc) {
			rc = write_small(path, hdr, hlen);
			if (rc)
				snprintf(why, sizeof(why), "cannot write '%s': %s",
					 path, strerror(-rc));
		}
		free(hdr);
		hdr = NULL;
		if (!rc)
			rc = vf_protector_unlock(dir, o, k, why, sizeof(why));
		if (!rc)
			return 0;
		if (!first_rc) {
			first_rc = rc;
			snprintf(first, sizeof(first), "%s", why);
		}
		/* a wrong key, or no protector of that kind: older headers
		 * may hold it; anything else is the answer */
		if (rc != -EBADMSG && rc != -EINVAL && rc != -ENOENT)
			break;
	}
	unlink(path);
	snprintf(err, errlen, "%s", first);
	return first_rc ? first_rc : rc;
}

int vf_remote_recover(const struct vf_store_cfg *cfg, const char *dir,
		      const struct vf_protector_opts *o, int64_t at,
		      struct vf_recover_info *info, char *err, size_t errlen)
{
	struct vf_objstore *st = NULL;
	struct vf_keys *k = NULL;
	struct vf_vault *v = NULL;
	struct vf_anchor an, old;
	struct damage dmg = { "", 0 };
	struct seqs seqs = { NULL, NULL, 0, 0 };
	struct headers hdrs = { NULL, NULL, 0, 0 };
	char *path = NULL, *catpath = NULL, *outside = NULL, *inside = NULL;
	size_t target = 0;
	uint64_t epoch = 0;
	int rc, state, started = 0, made = 0;

	memset(info, 0, sizeof(*info));
	info->detached = at > 0;
	state = dir_state(dir);
	if (state < 0) {
		snprintf(err, errlen, "cannot recover into '%s': %s", dir,
			 state == -EEXIST ? "directory is not empty" :
					    strerror(-state));
		return state;
	}
	rc = vf_objstore_open(cfg, &st);
	if (rc) {
		snprintf(err, errlen, "cannot open store '%s': %s", cfg->url,
			 vf_objstore_errmsg());
		return rc;
	}
	rc = list_headers(st, &hdrs);
	if (rc) {
		snprintf(err, errlen, "cannot list the vault headers in store "
			 "'%s': %s", cfg->url, vf_objstore_errmsg());
		goto out;
	}
	if (state == 1) {
		if (mkdir(dir, 0700) < 0) {
			rc = -errno;
			snprintf(err, errlen, "cannot create '%s': %s", dir,
				 strerror(errno));
			goto out;
		}
		made = 1;
	}
	started = 1;
	path = vf_path_join(dir, VF_HEADER_NAME);
	catpath = vf_path_join(dir, VF_CATALOG_NAME);
	inside = vf_path_join(dir, VF_ANCHOR_NAME);
	if (!path || !catpath || !inside) {
		rc = -ENOMEM;
		goto out;
	}
	rc = open_header(st, cfg->url, &hdrs, path, dir, o, &k, err, errlen);
	if (rc == -EBADMSG)
		snprintf(err, errlen, "wrong key for the vault in store '%s'",
			 cfg->url);
	if (rc)
		goto out;
	rc = pick(st, k, cfg->url, at, info, &seqs, &target, err, errlen);
	if (rc)
		goto out;
	err[0] = '\0';
	rc = build_catalog(st, k, cfg->url, dir, catpath, &seqs, target, info,
			   err, errlen);
	if (rc)
		goto out;
	info->bytes += info->catalog_bytes;
	free(path);
	path = vf_path_join(dir, "packs");
	if (!path || (mkdir(path, 0700) < 0 && errno != EEXIST)) {
		rc = path ? -errno : -ENOMEM;
		snprintf(err, errlen, "cannot create '%s': %s", path ? path : "",
			 strerror(-rc));
		goto out;
	}
	/* anchors this machine already has for the vault id */
	rc = vf_vault_anchor_outside(o, vf_keys_vault_id(k), 1, &outside, err,
				     errlen);
	if (rc)
		goto out;
	if (!vf_anchor_read(outside, vf_keys_sub(k, VF_SUBKEY_ANCHOR),
			    vf_keys_vault_id(k), &old))
		epoch = old.epoch;
	rc = settle_catalog(st, dir, catpath, k, cfg->url, info, &epoch, err,
			    errlen);
	if (rc)
		goto out;
	memset(&an, 0, sizeof(an));
	rc = vf_anchor_digest(catpath, vf_keys_sub(k, VF_SUBKEY_ANCHOR), &an);
	an.epoch = epoch;
	if (!rc)
		rc = vf_anchor_write(outside, vf_keys_sub(k, VF_SUBKEY_ANCHOR),
				     vf_keys_vault_id(k), &an);
	if (!rc)
		rc = vf_anchor_write(inside, vf_keys_sub(k, VF_SUBKEY_ANCHOR),
				     vf_keys_vault_id(k), &an);
	if (rc) {
		snprintf(err, errlen, "cannot write the catalog anchors: %s",
			 strerror(-rc));
		goto out;
	}
	if (!info->detached) {
		/* keep locking if the bucket locks (the config given to
		 * recover does not say) */
		struct vf_store_cfg c2 = *cfg;
		int on = 0;

		c2.no_lock = !st->ops->lock_enabled ||
			     st->ops->lock_enabled(st, &on) || !on;
		if (!c2.no_lock && !c2.lock_period_s)
			c2.lock_period_s = info->lock_period_s;
		rc = vf_store_conf_write(dir, &c2);
		if (rc) {
			snprintf(err, errlen, "cannot record the store: %s",
				 vf_objstore_errmsg());
			goto out;
		}
	}
	/* The same checks as `vaultctl check` on the vault as it will be
	 * mounted (this open also takes the anchors just written). */
	rc = vf_vault_open(dir, o, 0, &v, err, errlen);
	if (rc)
		goto out;
	rc = vf_vault_check(v, 0, problem, &dmg);
	if (rc > 0 || dmg.n) {
		snprintf(err, errlen, "recovered vault fails its check: %s",
			 dmg.first);
		rc = -EBADMSG;
	} else if (rc < 0) {
		snprintf(err, errlen, "cannot check the recovered vault: %s",
			 strerror(-rc));
	}
	if (vf_vault_close(v) && !rc) {
		snprintf(err, errlen, "cannot close the recovered vault");
		rc = -EIO;
	}
out:
	if (rc && started) {
		empty_dir(dir, 0);
		if (made)
			rmdir(dir);
	}
	vf_keys_free(k);
	vf_objstore_free(st);
	free(seqs.v);
	free(seqs.seg);
	headers_release(&hdrs);
	free(path);
	free(catpath);
	free(outside);
	free(inside);
	return rc;
}
