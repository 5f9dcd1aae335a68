/*
 * t-ship.c - the uploader of a remote vault (ship.c) and recovery
 * (remote.c), over a recording, fault-injecting wrapper of the directory
 * store.
 *
 * The wrapper checks the shipping order at the moment each checkpoint or
 * segment arrives: it keeps a replica of the catalog shipped (a full
 * checkpoint replaces it, a segment is applied to it on top of the last
 * sequence number it holds: the chain order), opens it and requires every
 * pack it names, and the time object, to be in the store already.  Any
 * violation is counted.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "vtest.h"

#include "catalog.h"
#include "catseg.h"
#include "remote.h"
#include "ship.h"
#include "vault_int.h"

#define MAX_KEYS 4096

struct rec {
	struct vf_objstore base;
	struct vf_objstore *inner;
	pthread_mutex_t mu;
	char *keys[MAX_KEYS]; /* puts, in order */
	int n;
	int fail_puts;        /* fail this many next puts with -EAGAIN */
	int violations;
	int ckpts;
	int segs;             /* segments applied to the replica */
	int fail_after_seg;   /* report this many next segment puts as failed
				 after the store took them (upload done,
				 never recorded: a kill -9 in between) */
	uint64_t last;        /* sequence number the replica holds */
	uint8_t catkey[32];   /* the vault's catalog subkey */
	uint8_t vid[16];
	char tmp[160];
};

#define REC_VFS "t-ship-replica"

static struct rec *rec_of(struct vf_objstore *s)
{
	return (struct rec *)s;
}

/* Put in this session, or in the store from an earlier one. */
static int seen(struct rec *r, const char *key)
{
	uint64_t size;
	int i;

	for (i = 0; i < r->n; i++)
		if (!strcmp(r->keys[i], key))
			return 1;
	return r->inner->ops->head(r->inner, key, &size) == 0;
}

static int inject(struct rec *r)
{
	int f = 0;

	pthread_mutex_lock(&r->mu);
	if (r->fail_puts > 0) {
		r->fail_puts--;
		f = 1;
	}
	pthread_mutex_unlock(&r->mu);
	if (f)
		vf_objstore_set_err("injected: store unreachable");
	return f ? -EAGAIN : 0;
}

static void record(struct rec *r, const char *key)
{
	pthread_mutex_lock(&r->mu);
	if (r->n < MAX_KEYS)
		r->keys[r->n++] = strdup(key);
	pthread_mutex_unlock(&r->mu);
}

/* The replica takes the checkpoint or segment in fd: a checkpoint
 * replaces it, a segment must apply on top of what it holds. */
static int take(struct rec *r, const char *key, int fd, uint64_t len)
{
	uint64_t seq = strtoull(key + 2, NULL, 16);
	char *buf;
	int out, rc;

	if (strlen(key) == 2 + 16 + 2) {
		out = open(r->tmp, O_RDWR);
		rc = vf_catseg_apply(REC_VFS, r->catkey, r->vid, seq, r->last,
				     fd, out, NULL);
		close(out);
		if (rc) {
			fprintf(stderr, "segment %s on %llu: %s\n", key,
				(unsigned long long)r->last, strerror(-rc));
			return rc;
		}
		r->segs++;
		r->last = seq;
		return 0;
	}
	buf = malloc(len ? len : 1);
	CHECK(buf != NULL);
	if (!buf)
		return -ENOMEM;
	CHECK_EQ(pread(fd, buf, len, 0), (ssize_t)len);
	unlink(r->tmp);
	out = open(r->tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK_EQ(write(out, buf, len), (ssize_t)len);
	close(out);
	free(buf);
	r->last = seq;
	return 0;
}

/* Every pack the catalog shipped in fd names must be in the store
 * already. */
static void check_ckpt(struct rec *r, const char *key, int fd, uint64_t len)
{
	struct vf_catalog *cat = NULL;
	char err[256], k[VF_OBJKEY_MAX + 1], *dot;
	sqlite3_stmt *st = NULL;
	int npacks = 0;

	if (take(r, key, fd, len)) {
		r->violations++;
		return;
	}
	if (vf_catalog_open(r->tmp, r->catkey, 0, 1, &cat, err, sizeof(err))) {
		fprintf(stderr, "checkpoint %s: %s\n", key, err);
		r->violations++;
		return;
	}
	pthread_mutex_lock(&r->mu);
	snprintf(k, sizeof(k), "%s", key);
	dot = strchr(k, '.');
	snprintf(dot ? dot : k + strlen(k), 3, ".t");
	if (!seen(r, k)) {
		fprintf(stderr, "%s before its time object\n", key);
		r->violations++;
	}
	if (sqlite3_prepare_v2(cat->db, "SELECT name FROM packs", -1, &st,
			       NULL) == SQLITE_OK)
		while (sqlite3_step(st) == SQLITE_ROW) {
			snprintf(k, sizeof(k), "p/%s",
				 (const char *)sqlite3_column_text(st, 0));
			npacks++;
			if (!seen(r, k)) {
				fprintf(stderr, "%s before pack %s\n", key, k);
				r->violations++;
			}
		}
	r->ckpts++;
	pthread_mutex_unlock(&r->mu);
	sqlite3_finalize(st);
	vf_catalog_close(cat);
}

static int r_put(struct vf_objstore *s, const char *key, const void *data,
		 size_t len)
{
	struct rec *r = rec_of(s);
	int rc = inject(r);

	if (!rc)
		rc = r->inner->ops->put(r->inner, key, data, len);
	if (!rc)
		record(r, key);
	return rc;
}

static int r_put_fd(struct vf_objstore *s, const char *key, int fd,
		    uint64_t len)
{
	struct rec *r = rec_of(s);
	int rc = inject(r);

	if (rc)
		return rc;
	if (!strncmp(key, "c/", 2) && !strstr(key, ".t"))
		check_ckpt(r, key, fd, len);
	rc = r->inner->ops->put_fd(r->inner, key, fd, len);
	if (!rc)
		record(r, key);
	pthread_mutex_lock(&r->mu);
	if (!rc && strstr(key, ".d") && r->fail_after_seg > 0) {
		r->fail_after_seg--;
		vf_objstore_set_err("injected: lost the reply to a put");
		rc = -EAGAIN;
	}
	pthread_mutex_unlock(&r->mu);
	return rc;
}

static int r_get(struct vf_objstore *s, const char *key, void **data,
		 size_t *len, size_t max)
{
	return rec_of(s)->inner->ops->get(rec_of(s)->inner, key, data, len,
					  max);
}

static int r_get_range(struct vf_objstore *s, const char *key, uint64_t off,
		       void *buf, size_t len)
{
	return rec_of(s)->inner->ops->get_range(rec_of(s)->inner, key, off,
						buf, len);
}

static int r_get_fd(struct vf_objstore *s, const char *key, int fd,
		    uint64_t *len)
{
	return rec_of(s)->inner->ops->get_fd(rec_of(s)->inner, key, fd, len);
}

static int r_head(struct vf_objstore *s, const char *key, uint64_t *size)
{
	return rec_of(s)->inner->ops->head(rec_of(s)->inner, key, size);
}

static int r_list(struct vf_objstore *s, const char *prefix,
		  int (*cb)(void *arg, const struct vf_objinfo *o), void *arg)
{
	return rec_of(s)->inner->ops->list(rec_of(s)->inner, prefix, cb, arg);
}

static int r_remove(struct vf_objstore *s, const char *key)
{
	return rec_of(s)->inner->ops->remove(rec_of(s)->inner, key);
}

static void r_destroy(struct vf_objstore *s)
{
	(void)s; /* the test owns it: it reads the record after the stop */
}

static const struct vf_objstore_ops rec_ops = {
	.put = r_put,
	.put_fd = r_put_fd,
	.get = r_get,
	.get_range = r_get_range,
	.get_fd = r_get_fd,
	.head = r_head,
	.list = r_list,
	.remove = r_remove,
	.destroy = r_destroy,
};

static char store_dir[128];

static void rec_init(struct rec *r, struct vf_vault *v)
{
	memset(r, 0, sizeof(*r));
	r->base.ops = &rec_ops;
	pthread_mutex_init(&r->mu, NULL);
	CHECK_EQ(vf_objstore_dir_new(store_dir, &r->inner), 0);
	memcpy(r->catkey, vf_keys_sub(v->keys, VF_SUBKEY_CATALOG), 32);
	memcpy(r->vid, vf_keys_vault_id(v->keys), 16);
	snprintf(r->tmp, sizeof(r->tmp), "%s.ckpt", store_dir);
	CHECK_EQ(vf_catvfs_register(REC_VFS, r->catkey), 0);
}

static void rec_release(struct rec *r)
{
	int i;

	for (i = 0; i < r->n; i++)
		free(r->keys[i]);
	vf_objstore_free(r->inner);
	vf_catvfs_unregister(REC_VFS);
	unlink(r->tmp);
	pthread_mutex_destroy(&r->mu);
}

static void put_files(struct vf_vault *v, const char *prefix, int n)
{
	char name[64], text[256];
	int i;

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%s%d", prefix, i);
		snprintf(text, sizeof(text), "%s content %d %0200d", prefix,
			 i, i);
		vt_put(v, VF_ROOT_INO, name, text);
	}
}

static void order_and_faults(void)
{
	struct vf_ship_status ss;
	struct vf_recover_info info;
	struct vf_store_cfg cfg = { 0 };
	struct vf_vault *v = vt_fresh();
	struct rec r;
	char err[512] = "", url[160], rdir[160], cmd[600];
	uint64_t seq1;
	int rc;

	if (!v)
		return;
	snprintf(store_dir, sizeof(store_dir), "%s.store", vt_dir);
	snprintf(rdir, sizeof(rdir), "%s.rec", vt_dir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", store_dir, rdir);
	CHECK_EQ(system(cmd), 0);
	snprintf(url, sizeof(url), "dir:%s", store_dir);
	rec_init(&r, v);
	{
		/* what init --store does: the header in the store */
		char hp[200];
		uint8_t hdr[256];
		ssize_t hn;
		int fd;

		snprintf(hp, sizeof(hp), "%s/%s", vt_dir, VF_HEADER_NAME);
		fd = open(hp, O_RDONLY);
		hn = read(fd, hdr, sizeof(hdr));
		close(fd);
		CHECK(hn > 0);
		CHECK_EQ(r.inner->ops->put(r.inner, "hdr", hdr, (size_t)hn),
			 0);
	}
	CHECK_EQ(vf_ship_start_store(v, &r.base, url, err, sizeof(err)), 0);
	put_files(v, "a", 20);
	rc = vf_ship_sync(v, 20, err, sizeof(err));
	CHECK_EQ(rc, 0);
	if (rc)
		fprintf(stderr, "sync: %s\n", err);
	vf_ship_status(v, &ss);
	CHECK(ss.remote);
	CHECK(ss.seq >= 1);
	CHECK_EQ(ss.lag, 0);
	CHECK(ss.ckpt_bytes > 0);
	seq1 = ss.seq;

	/* The store fails for a while: writes go on, sync times out with
	 * the store's text, then succeeds once the store is back. */
	pthread_mutex_lock(&r.mu);
	r.fail_puts = 1000000;
	pthread_mutex_unlock(&r.mu);
	put_files(v, "b", 20);
	rc = vf_ship_sync(v, 2, err, sizeof(err));
	CHECK_EQ(rc, -ETIMEDOUT);
	CHECK(strstr(err, "injected: store unreachable") != NULL);
	vf_ship_status(v, &ss);
	CHECK(ss.lag > 0);
	CHECK(strstr(ss.last_err, "injected") != NULL);
	pthread_mutex_lock(&r.mu);
	r.fail_puts = 2; /* and then it works */
	pthread_mutex_unlock(&r.mu);
	rc = vf_ship_sync(v, 30, err, sizeof(err));
	CHECK_EQ(rc, 0);
	if (rc)
		fprintf(stderr, "sync after faults: %s\n", err);
	vf_ship_status(v, &ss);
	CHECK(ss.seq > seq1);
	CHECK_EQ(ss.lag, 0);
	CHECK_EQ(ss.last_err[0], '\0');
	CHECK_EQ(ss.bytes_pending, 0);
	CHECK_EQ(r.violations, 0);
	CHECK(r.ckpts >= 2);
	seq1 = ss.seq;

	/* A reopen continues the sequence and ships only what is new. */
	v = vt_reopen(v);
	if (!v)
		goto out;
	rec_release(&r);
	rec_init(&r, v);
	CHECK_EQ(vf_ship_start_store(v, &r.base, url, err, sizeof(err)), 0);
	put_files(v, "c", 5);
	CHECK_EQ(vf_ship_sync(v, 20, err, sizeof(err)), 0);
	vf_ship_status(v, &ss);
	CHECK(ss.seq > seq1);
	CHECK_EQ(r.violations, 0);
	CHECK_EQ(vf_vault_close(v), 0);
	v = NULL;

	/* Recovery from the store alone. */
	cfg.url = url;
	rc = vf_remote_recover(&cfg, rdir, &vt_opts, 0, &info, err,
			       sizeof(err));
	CHECK_EQ(rc, 0);
	if (rc)
		fprintf(stderr, "recover: %s\n", err);
	CHECK(info.seq >= ss.seq);
	CHECK(info.packs >= 1);
	/* a non-empty directory is refused */
	CHECK_EQ(vf_remote_recover(&cfg, rdir, &vt_opts, 0, &info, err,
				   sizeof(err)), -EEXIST);
	if (!rc) {
		struct vf_vault *w = NULL;
		char text[64];
		uint64_t ino;

		CHECK_EQ(vf_vault_open(rdir, &vt_opts, 0, &w, err,
				       sizeof(err)), 0);
		if (w) {
			ino = vt_walk(w, VF_ROOT_INO, "b19", NULL);
			CHECK(ino != 0);
			if (ino)
				CHECK(!strncmp(vt_content(w, ino, text),
					       "b content 19", 12));
			ino = vt_walk(w, VF_ROOT_INO, "c4", NULL);
			CHECK(ino != 0);
			CHECK_EQ(vf_vault_close(w), 0);
		}
	}
out:
	rec_release(&r);
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s %s.ckpt", store_dir, rdir,
		 store_dir);
	CHECK_EQ(system(cmd), 0);
	vf_vault_close(v);
}

/* Text unique to (file, version), a few KiB. */
static void version_text(char *buf, size_t cap, int f, int ver)
{
	size_t n = 0;
	int i;

	for (i = 0; n + 32 < cap && i < 300; i++)
		n += (size_t)snprintf(buf + n, cap - n, "f%d v%d line %d. ", f,
				      ver, i * (ver + 3) * (f + 7));
}

/* gc on a remote vault deletes local packs only; the store keeps what
 * every checkpoint references, and a recovery after gc is whole. */
static void gc_then_recover(void)
{
	struct vf_retention pol = { .keep_last = 3, .min_points = 3 };
	struct vf_recover_info info;
	struct vf_store_cfg cfg = { 0 };
	struct vf_prune_stats ps;
	struct vf_gc_stats gs;
	struct vf_vault *v = vt_fresh(), *w = NULL;
	struct rec r;
	char err[512] = "", url[160], rdir[160], cmd[600], name[16];
	char *text = malloc(16384), got[64];
	int f, ver, rc;

	if (!v || !text) {
		CHECK(0);
		free(text);
		return;
	}
	snprintf(store_dir, sizeof(store_dir), "%s.store", vt_dir);
	snprintf(rdir, sizeof(rdir), "%s.rec", vt_dir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", store_dir, rdir);
	CHECK_EQ(system(cmd), 0);
	snprintf(url, sizeof(url), "dir:%s", store_dir);
	rec_init(&r, v);
	{
		char hp[200];
		uint8_t hdr[256];
		ssize_t hn;
		int fd;

		snprintf(hp, sizeof(hp), "%s/%s", vt_dir, VF_HEADER_NAME);
		fd = open(hp, O_RDONLY);
		hn = read(fd, hdr, sizeof(hdr));
		close(fd);
		CHECK(hn > 0);
		CHECK_EQ(r.inner->ops->put(r.inner, "hdr", hdr, (size_t)hn),
			 0);
	}
	CHECK_EQ(vf_ship_start_store(v, &r.base, url, err, sizeof(err)), 0);
	/* five versions of ten files, each version in packs of its own */
	for (ver = 0; ver < 5; ver++) {
		for (f = 0; f < 10; f++) {
			snprintf(name, sizeof(name), "g%d", f);
			version_text(text, 16384, f, ver);
			vt_put(v, VF_ROOT_INO, name, text);
		}
		CHECK_EQ(vf_ship_sync(v, 20, err, sizeof(err)), 0);
	}
	CHECK_EQ(vt_policy_set(v, &pol, err, sizeof(err)), 0);
	CHECK_EQ(vf_vault_prune(v, vf_clock_now() + 15 * 86400 * VF_NS, 0,
				NULL, NULL, &ps),
		 0);
	CHECK_EQ(ps.removed, 20);
	memset(&gs, 0, sizeof(gs));
	CHECK_EQ(vf_vault_gc(v, &gs), 0);
	CHECK(gs.chunks_freed > 0);
	CHECK(gs.packs_removed >= 1);
	CHECK_EQ(vf_ship_sync(v, 20, err, sizeof(err)), 0);
	CHECK_EQ(r.violations, 0);
	CHECK_EQ(vf_vault_close(v), 0);
	v = NULL;
	cfg.url = url;
	rc = vf_remote_recover(&cfg, rdir, &vt_opts, 0, &info, err,
			       sizeof(err));
	CHECK_EQ(rc, 0);
	if (rc)
		fprintf(stderr, "recover after gc: %s\n", err);
	if (!rc && !vf_vault_open(rdir, &vt_opts, 0, &w, err, sizeof(err))) {
		CHECK_EQ(vf_vault_check(w, 1, NULL, NULL), 0);
		for (f = 0; f < 10; f++) {
			snprintf(name, sizeof(name), "g%d", f);
			version_text(text, 16384, f, 4);
			vt_content(w, vt_walk(w, VF_ROOT_INO, name, NULL), got);
			CHECK(!strncmp(got, text, strlen(got)) && got[0]);
		}
		CHECK_EQ(vf_vault_close(w), 0);
	} else {
		CHECK(0);
	}
	rec_release(&r);
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s %s.ckpt", store_dir, rdir,
		 store_dir);
	CHECK_EQ(system(cmd), 0);
	free(text);
}

/* Copies store object key into path (a local file to tamper with). */
static void copy_obj(const char *key, const char *path)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "cp %s/%s %s", store_dir, key, path);
	CHECK_EQ(system(cmd), 0);
}

/* Applies the segment file at path as seq on base (verify only). */
static int try_seg(struct rec *r, const char *path, uint64_t seq,
		   uint64_t base)
{
	int fd = open(path, O_RDONLY), rc;

	if (fd < 0)
		return -errno;
	rc = vf_catseg_apply(REC_VFS, r->catkey, r->vid, seq, base, fd, -1,
			     NULL);
	close(fd);
	return rc;
}

/* Moves len bytes at off of file path to off2 (swap of two records) or
 * cuts the file (off2 0: truncate at off). */
static void mangle(const char *path, long off, long off2, size_t len)
{
	char a[VF_CATSEG_REC_BYTES], b[VF_CATSEG_REC_BYTES];
	int fd = open(path, O_RDWR);

	if (!off2) {
		CHECK_EQ(ftruncate(fd, off), 0);
	} else {
		CHECK_EQ(pread(fd, a, len, off), (ssize_t)len);
		CHECK_EQ(pread(fd, b, len, off2), (ssize_t)len);
		CHECK_EQ(pwrite(fd, b, len, off), (ssize_t)len);
		CHECK_EQ(pwrite(fd, a, len, off2), (ssize_t)len);
	}
	close(fd);
}

/* Segments: a chain round trip, a lost reply after a segment upload
 * (next round full), forged segments refused, and a recovery that stops
 * at a segment deleted from the middle of the chain. */
static void segments(void)
{
	struct vf_ship_status ss;
	struct vf_recover_info info;
	struct vf_store_cfg cfg = { 0 };
	struct vf_vault *v = vt_fresh(), *w = NULL;
	struct rec r;
	char err[512] = "", url[160], rdir[160], cmd[1200], prefix[8];
	char key[VF_OBJKEY_MAX + 1], key2[VF_OBJKEY_MAX + 1], p1[200], p2[200];
	uint64_t seqs[8], full_bytes;
	int64_t times[8];
	int i, rc;

	if (!v)
		return;
	snprintf(store_dir, sizeof(store_dir), "%s.store", vt_dir);
	snprintf(rdir, sizeof(rdir), "%s.rec", vt_dir);
	snprintf(p1, sizeof(p1), "%s.seg1", vt_dir);
	snprintf(p2, sizeof(p2), "%s.seg2", vt_dir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", store_dir, rdir);
	CHECK_EQ(system(cmd), 0);
	snprintf(url, sizeof(url), "dir:%s", store_dir);
	rec_init(&r, v);
	{
		char hp[200];
		uint8_t hdr[256];
		ssize_t hn;
		int fd;

		snprintf(hp, sizeof(hp), "%s/%s", vt_dir, VF_HEADER_NAME);
		fd = open(hp, O_RDONLY);
		hn = read(fd, hdr, sizeof(hdr));
		close(fd);
		CHECK(hn > 0);
		CHECK_EQ(r.inner->ops->put(r.inner, "hdr", hdr, (size_t)hn),
			 0);
	}
	CHECK_EQ(vf_ship_start_store(v, &r.base, url, err, sizeof(err)), 0);
	/* round 0: full; rounds 1..5: segments, each a few pages */
	for (i = 0; i < 6; i++) {
		snprintf(prefix, sizeof(prefix), "s%d_", i);
		put_files(v, prefix, i ? 3 : 200);
		CHECK_EQ(vf_ship_sync(v, 20, err, sizeof(err)), 0);
		vf_ship_status(v, &ss);
		seqs[i] = ss.seq;
		times[i] = ss.shipped_t;
	}
	full_bytes = ss.ckpt_bytes;
	CHECK_EQ(ss.ckpts_shipped, 1);
	CHECK_EQ(ss.segs_shipped, 5);
	CHECK(ss.seg_bytes > 0 && ss.seg_bytes < full_bytes);
	fprintf(stderr, "full checkpoint %llu bytes, last segment %llu bytes\n",
		(unsigned long long)full_bytes,
		(unsigned long long)ss.seg_bytes);
	CHECK_EQ(r.segs, 5);
	CHECK_EQ(r.violations, 0);
	for (i = 1; i < 6; i++)
		CHECK_EQ(seqs[i], seqs[i - 1] + 1);

	/* The reply to a segment upload is lost (as a kill -9 between the
	 * upload and its record): the next round is a full checkpoint under
	 * a new number, never a segment on an unsure base. */
	pthread_mutex_lock(&r.mu);
	r.fail_after_seg = 1;
	pthread_mutex_unlock(&r.mu);
	put_files(v, "s6_", 3);
	CHECK_EQ(vf_ship_sync(v, 20, err, sizeof(err)), 0);
	vf_ship_status(v, &ss);
	CHECK_EQ(ss.seq, seqs[5] + 2);
	CHECK_EQ(ss.ckpts_shipped, 2);
	CHECK_EQ(r.violations, 0);
	put_files(v, "s7_", 3);
	CHECK_EQ(vf_ship_sync(v, 20, err, sizeof(err)), 0);
	put_files(v, "s8_", 3);
	CHECK_EQ(vf_ship_sync(v, 20, err, sizeof(err)), 0);
	vf_ship_status(v, &ss);
	CHECK_EQ(ss.segs_shipped, 7);
	CHECK_EQ(r.violations, 0);
	CHECK_EQ(vf_vault_close(v), 0);
	v = NULL;

	/* Forged segments are refused: altered, truncated, reordered, moved
	 * to another number, replayed onto another base, spliced. */
	vf_ship_seg_key(seqs[2], key);
	vf_ship_seg_key(seqs[3], key2);
	copy_obj(key, p1);
	CHECK_EQ(try_seg(&r, p1, seqs[2], seqs[1]), 0);
	CHECK_EQ(try_seg(&r, p1, seqs[2], seqs[0]), -ESTALE);
	CHECK_EQ(try_seg(&r, p1, seqs[3], seqs[2]), -EBADMSG);
	mangle(p1, VF_CATSEG_HDR_BYTES, VF_CATSEG_HDR_BYTES +
						 VF_CATSEG_REC_BYTES,
	       VF_CATSEG_REC_BYTES);
	CHECK_EQ(try_seg(&r, p1, seqs[2], seqs[1]), -EBADMSG);
	copy_obj(key, p1);
	mangle(p1, VF_CATSEG_HDR_BYTES + VF_CATSEG_REC_BYTES, 0, 0);
	CHECK_EQ(try_seg(&r, p1, seqs[2], seqs[1]), -EBADMSG);
	copy_obj(key, p1);
	snprintf(cmd, sizeof(cmd), "printf x | dd of=%s bs=1 seek=%d conv=notrunc status=none",
		 p1, VF_CATSEG_HDR_BYTES + 100);
	CHECK_EQ(system(cmd), 0);
	CHECK_EQ(try_seg(&r, p1, seqs[2], seqs[1]), -EBADMSG);
	copy_obj(key, p1);
	copy_obj(key2, p2);
	{
		/* record 0 of the next segment in place of this one's */
		char rec[VF_CATSEG_REC_BYTES];
		int a = open(p1, O_RDWR), b = open(p2, O_RDONLY);

		CHECK_EQ(pread(b, rec, sizeof(rec), VF_CATSEG_HDR_BYTES),
			 (ssize_t)sizeof(rec));
		CHECK_EQ(pwrite(a, rec, sizeof(rec), VF_CATSEG_HDR_BYTES),
			 (ssize_t)sizeof(rec));
		close(a);
		close(b);
	}
	CHECK_EQ(try_seg(&r, p1, seqs[2], seqs[1]), -EBADMSG);

	/* A whole chain recovers: every file, through the last segment. */
	cfg.url = url;
	rc = vf_remote_recover(&cfg, rdir, &vt_opts, 0, &info, err,
			       sizeof(err));
	CHECK_EQ(rc, 0);
	if (rc)
		fprintf(stderr, "recover: %s\n", err);
	CHECK_EQ(info.segments, 2);
	CHECK_EQ(info.broken, 0);
	CHECK_EQ(info.full, seqs[5] + 2);
	if (!rc && !vf_vault_open(rdir, &vt_opts, 0, &w, err, sizeof(err))) {
		CHECK(vt_walk(w, VF_ROOT_INO, "s8_2", NULL) != 0);
		CHECK(vt_walk(w, VF_ROOT_INO, "s0_199", NULL) != 0);
		CHECK_EQ(vf_vault_close(w), 0);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", rdir);
	CHECK_EQ(system(cmd), 0);

	/* --at the time of a segment in the middle of the first chain */
	{
		int64_t t = times[3];

		w = NULL;
		rc = vf_remote_recover(&cfg, rdir, &vt_opts, t, &info, err,
				       sizeof(err));
		CHECK_EQ(rc, 0);
		if (rc)
			fprintf(stderr, "recover --at: %s\n", err);
		CHECK_EQ(info.seq, seqs[3]);
		CHECK_EQ(info.full, seqs[0]);
		CHECK_EQ(info.segments, 3);
		if (!rc && !vf_vault_open(rdir, &vt_opts, 0, &w, err,
					  sizeof(err))) {
			CHECK(vt_walk(w, VF_ROOT_INO, "s3_2", NULL) != 0);
			CHECK_EQ(vt_walk(w, VF_ROOT_INO, "s4_0", NULL), 0);
			CHECK_EQ(vf_vault_close(w), 0);
		}
		snprintf(cmd, sizeof(cmd), "rm -rf %s", rdir);
		CHECK_EQ(system(cmd), 0);

		/* segment 2 deleted from the store: the chain stops before
		 * it, and says so */
		CHECK_EQ(r.inner->ops->remove(r.inner, key), 0);
		rc = vf_remote_recover(&cfg, rdir, &vt_opts, t, &info, err,
				       sizeof(err));
		CHECK_EQ(rc, 0);
		CHECK_EQ(info.broken, seqs[3]);
		CHECK_EQ(info.seq, seqs[1]);
		CHECK(strstr(info.why, "does not follow") != NULL);
		if (!rc && !vf_vault_open(rdir, &vt_opts, 0, &w, err,
					  sizeof(err))) {
			CHECK(vt_walk(w, VF_ROOT_INO, "s1_2", NULL) != 0);
			CHECK_EQ(vt_walk(w, VF_ROOT_INO, "s2_0", NULL), 0);
			CHECK_EQ(vf_vault_close(w), 0);
		}
	}
	rec_release(&r);
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s %s.ckpt %s %s", store_dir,
		 rdir, store_dir, p1, p2);
	CHECK_EQ(system(cmd), 0);
}

/* The pack writer closes a pack once it is old enough, not before. */
static void rotate(void)
{
	struct vf_vault *v = vt_fresh();
	char cur[VF_PACK_NAME_LEN + 1];

	if (!v)
		return;
	CHECK_EQ(vf_pack_writer_rotate(v->pw, 0), 0); /* nothing open */
	vt_put(v, VF_ROOT_INO, "f", "some data for a pack");
	CHECK_EQ(vf_pack_writer_current(v->pw, cur), 1);
	CHECK_EQ(vf_pack_writer_rotate(v->pw, 3600 * VF_NS), 0);
	CHECK_EQ(vf_pack_writer_current(v->pw, cur), 1);
	CHECK_EQ(vf_pack_writer_rotate(v->pw, 0), 1);
	CHECK_EQ(vf_pack_writer_current(v->pw, cur), 0);
	CHECK_EQ(vf_vault_close(v), 0);
}

int main(void)
{
	vt_setup("t-ship");
	RUN(rotate);
	RUN(order_and_faults);
	RUN(gc_then_recover);
	RUN(segments);
	if (vt_cleanup())
		return 1;
	return unit_any_failed;
}
