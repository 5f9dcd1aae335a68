/*
 * t-pack-cache.c - the remote vault's pack cache (pack_cache.c) over a
 * local backend and an in-memory object store: fetch on miss, crash-safe
 * adoption, eviction of shipped packs only, range reads with no cache,
 * store failures.
 */
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pack_cache.h"
#include "unit.h"

#define MAXOBJ 16

/* ---- an in-memory object store -------------------------------------- */

struct mem_obj {
	char key[VF_OBJKEY_MAX];
	uint8_t *data;
	size_t len;
};

struct mem_store {
	struct vf_objstore base;
	struct mem_obj obj[MAXOBJ];
	int n;
	int fail; /* every op returns this when non-zero */
	int gets, ranges;
};

static struct mem_obj *mem_find(struct mem_store *m, const char *key)
{
	int i;

	for (i = 0; i < m->n; i++)
		if (strcmp(m->obj[i].key, key) == 0)
			return &m->obj[i];
	return NULL;
}

static int mem_put(struct vf_objstore *s, const char *key, const void *data,
		   size_t len)
{
	struct mem_store *m = (struct mem_store *)s;
	struct mem_obj *o;

	if (m->fail)
		return m->fail;
	o = mem_find(m, key);
	if (!o) {
		if (m->n == MAXOBJ)
			return -ENOSPC;
		o = &m->obj[m->n++];
		snprintf(o->key, sizeof(o->key), "%s", key);
	}
	free(o->data);
	o->data = malloc(len ? len : 1);
	memcpy(o->data, data, len);
	o->len = len;
	return 0;
}

static int mem_get_range(struct vf_objstore *s, const char *key, uint64_t off,
			 void *buf, size_t len)
{
	struct mem_store *m = (struct mem_store *)s;
	struct mem_obj *o = mem_find(m, key);

	if (m->fail)
		return m->fail;
	if (!o)
		return -ENOENT;
	if (off > o->len || len > o->len - off)
		return -EIO;
	memcpy(buf, o->data + off, len);
	m->ranges++;
	return 0;
}

static int mem_get_fd(struct vf_objstore *s, const char *key, int fd,
		      uint64_t *len)
{
	struct mem_store *m = (struct mem_store *)s;
	struct mem_obj *o = mem_find(m, key);
	size_t half;

	if (m->fail == -EPIPE && o) {
		/* Half the object, then the connection drops. */
		half = o->len / 2;
		if (write(fd, o->data, half) != (ssize_t)half)
			return -EIO;
		return -EAGAIN;
	}
	if (m->fail)
		return m->fail;
	if (!o)
		return -ENOENT;
	if (write(fd, o->data, o->len) != (ssize_t)o->len)
		return -EIO;
	*len = o->len;
	m->gets++;
	return 0;
}

static int mem_head(struct vf_objstore *s, const char *key, uint64_t *size)
{
	struct mem_store *m = (struct mem_store *)s;
	struct mem_obj *o = mem_find(m, key);

	if (m->fail)
		return m->fail;
	if (!o)
		return -ENOENT;
	*size = o->len;
	return 0;
}

static void mem_destroy(struct vf_objstore *s)
{
	struct mem_store *m = (struct mem_store *)s;
	int i;

	for (i = 0; i < m->n; i++)
		free(m->obj[i].data);
	free(m);
}

static const struct vf_objstore_ops mem_ops = {
	.put = mem_put,
	.get_range = mem_get_range,
	.get_fd = mem_get_fd,
	.head = mem_head,
	.destroy = mem_destroy,
};

static struct mem_store *mem_new(void)
{
	struct mem_store *m = calloc(1, sizeof(*m));

	m->base.ops = &mem_ops;
	return m;
}

/* ---- helpers -------------------------------------------------------- */

static int rm_cb(const char *p, const struct stat *st, int flag,
		 struct FTW *f)
{
	return remove(p);
}

static void rm_rf(const char *dir)
{
	nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* Pack name number i. */
static void pname(int i, char name[VF_PACK_NAME_LEN + 1])
{
	snprintf(name, VF_PACK_NAME_LEN + 1, "%032x", 0xabc000 + i);
}

/* Puts pack i of len bytes (byte j = i + j) in the store. */
static void store_pack(struct mem_store *m, int i, size_t len)
{
	char name[VF_PACK_NAME_LEN + 1], key[VF_OBJKEY_MAX];
	uint8_t *b = malloc(len);
	size_t j;

	for (j = 0; j < len; j++)
		b[j] = (uint8_t)(i + j);
	pname(i, name);
	snprintf(key, sizeof(key), "%s%s", VF_OBJ_PACK_PREFIX, name);
	CHECK_EQ(mem_put(&m->base, key, b, len), 0);
	free(b);
}

/* Reads 16 bytes of pack i at off and checks them. */
static int read_ok(struct vf_pack_io *io, int i, uint64_t off)
{
	char name[VF_PACK_NAME_LEN + 1];
	uint8_t b[16];
	int rc, j;

	pname(i, name);
	rc = io->ops->read(io, name, off, b, sizeof(b));
	if (rc < 0)
		return rc;
	for (j = 0; j < 16; j++)
		if (b[j] != (uint8_t)(i + off + (uint64_t)j))
			return -EBADMSG;
	return 0;
}

static int local_has(struct vf_pack_io *local, int i)
{
	char name[VF_PACK_NAME_LEN + 1];
	uint64_t size;

	pname(i, name);
	return local->ops->size(local, name, &size) == 0;
}

struct env {
	char dir[64];
	struct vf_pack_io *local, *io;
	struct mem_store *m;
};

static int env_open(struct env *e, uint64_t limit)
{
	memset(e, 0, sizeof(*e));
	if (!unit_tmpdir(e->dir, sizeof(e->dir), "t-pack-cache"))
		return -1;
	e->m = mem_new();
	if (vf_pack_io_local_new(e->dir, &e->local) < 0)
		return -1;
	return vf_pack_cache_new(e->local, &e->m->base, limit, &e->io);
}

static void env_close(struct env *e)
{
	vf_pack_io_free(e->io);
	vf_pack_io_free(e->local);
	vf_objstore_free(&e->m->base);
	rm_rf(e->dir);
}

/* ---- tests ---------------------------------------------------------- */

/* A miss fetches the whole pack once; later reads are local. */
static void test_fetch_on_miss(void)
{
	struct vf_pack_cache_stats st;
	struct env e;
	uint64_t size = 0;
	char name[VF_PACK_NAME_LEN + 1];

	CHECK_EQ(env_open(&e, 1 << 20), 0);
	store_pack(e.m, 1, 4096);
	CHECK(!local_has(e.local, 1));
	pname(1, name);
	CHECK_EQ(e.io->ops->size(e.io, name, &size), 0);
	CHECK_EQ(size, 4096);
	CHECK_EQ(read_ok(e.io, 1, 100), 0);
	CHECK(local_has(e.local, 1));
	CHECK_EQ(read_ok(e.io, 1, 4000), 0);
	CHECK_EQ(e.m->gets, 1);
	vf_pack_cache_stats(e.io, &st);
	CHECK_EQ(st.fetches, 1);
	CHECK_EQ(st.fetched_bytes, 4096);
	CHECK_EQ(st.cached_bytes, 4096);
	/* Not in the store either: the pack is missing. */
	CHECK_EQ(read_ok(e.io, 2, 0), -ENOENT);
	env_close(&e);
}

/* Packs written through the cache are local and counted. */
static void test_write_local(void)
{
	struct vf_pack_cache_stats st;
	struct env e;
	char name[VF_PACK_NAME_LEN + 1];
	uint8_t b[300];
	void *h;
	size_t j;

	CHECK_EQ(env_open(&e, 1 << 20), 0);
	for (j = 0; j < sizeof(b); j++)
		b[j] = (uint8_t)(3 + j);
	pname(3, name);
	CHECK_EQ(e.io->ops->create(e.io, name, &h), 0);
	CHECK_EQ(e.io->ops->append(e.io, h, b, sizeof(b)), 0);
	CHECK_EQ(e.io->ops->sync(e.io, h), 0);
	CHECK_EQ(e.io->ops->close(e.io, h), 0);
	CHECK_EQ(read_ok(e.io, 3, 10), 0);
	CHECK_EQ(e.m->gets, 0);
	vf_pack_cache_stats(e.io, &st);
	CHECK_EQ(st.cached_bytes, sizeof(b));
	CHECK_EQ(st.packs, 1);
	env_close(&e);
}

/* Over the limit, the least recently used shipped packs go; the store
 * still serves them. */
static void test_evict_lru(void)
{
	struct vf_pack_cache_stats st;
	struct env e;
	int i;

	CHECK_EQ(env_open(&e, 2500), 0);
	for (i = 0; i < 4; i++)
		store_pack(e.m, i, 1000);
	for (i = 0; i < 4; i++)
		CHECK_EQ(read_ok(e.io, i, 0), 0);
	vf_pack_cache_stats(e.io, &st);
	CHECK(st.cached_bytes <= 2500);
	CHECK_EQ(st.evictions, 2);
	CHECK(!local_has(e.local, 0));
	CHECK(!local_has(e.local, 1));
	CHECK(local_has(e.local, 3));
	/* Evicted, fetched again. */
	CHECK_EQ(read_ok(e.io, 0, 500), 0);
	CHECK_EQ(e.m->gets, 5);
	env_close(&e);
}

/* A pack the store does not hold yet is never evicted; once marked
 * shipped it is. */
static void test_keep_unshipped(void)
{
	struct vf_pack_cache_stats st;
	struct env e;
	char name[VF_PACK_NAME_LEN + 1];
	uint8_t b[1000] = {0};
	void *h;
	int i;

	CHECK_EQ(env_open(&e, 1500), 0);
	for (i = 0; i < 3; i++) {
		pname(20 + i, name);
		CHECK_EQ(e.io->ops->create(e.io, name, &h), 0);
		CHECK_EQ(e.io->ops->append(e.io, h, b, sizeof(b)), 0);
		CHECK_EQ(e.io->ops->close(e.io, h), 0);
	}
	CHECK_EQ(vf_pack_cache_trim(e.io), 0);
	vf_pack_cache_stats(e.io, &st);
	CHECK_EQ(st.evictions, 0);
	CHECK_EQ(st.cached_bytes, 3000);
	pname(21, name);
	vf_pack_cache_shipped(e.io, name);
	CHECK_EQ(vf_pack_cache_trim(e.io), 1);
	CHECK(!local_has(e.local, 21));
	vf_pack_cache_stats(e.io, &st);
	CHECK_EQ(st.cached_bytes, 2000);
	env_close(&e);
}

/* Limit 0: ranges straight from the store, nothing local. */
static void test_no_cache(void)
{
	struct vf_pack_cache_stats st;
	struct env e;

	CHECK_EQ(env_open(&e, 0), 0);
	store_pack(e.m, 5, 2000);
	CHECK_EQ(read_ok(e.io, 5, 1000), 0);
	CHECK_EQ(read_ok(e.io, 5, 1984), 0);
	CHECK(!local_has(e.local, 5));
	CHECK_EQ(e.m->ranges, 2);
	vf_pack_cache_stats(e.io, &st);
	CHECK_EQ(st.range_reads, 2);
	CHECK_EQ(st.fetched_bytes, 32);
	env_close(&e);
}

static int count_cb(void *arg, const char *name)
{
	(*(int *)arg)++;
	return 0;
}

/* A store that fails, or drops the connection halfway through a pack:
 * the reader gets EIO and no half pack is left under the pack's name. */
static void test_store_failures(void)
{
	struct vf_pack_cache_stats st;
	struct env e;
	int n = 0;

	CHECK_EQ(env_open(&e, 1 << 20), 0);
	store_pack(e.m, 7, 4000);
	e.m->fail = -EPIPE;
	CHECK_EQ(read_ok(e.io, 7, 3000), -EIO);
	e.m->fail = -EAGAIN;
	CHECK_EQ(read_ok(e.io, 7, 0), -EIO);
	e.m->fail = -EACCES;
	CHECK_EQ(read_ok(e.io, 7, 0), -EIO);
	CHECK(!local_has(e.local, 7));
	CHECK_EQ(e.local->ops->list(e.local, count_cb, &n), 0);
	CHECK_EQ(n, 0);
	vf_pack_cache_stats(e.io, &st);
	CHECK_EQ(st.fetch_errors, 3);
	/* The store is back. */
	e.m->fail = 0;
	CHECK_EQ(read_ok(e.io, 7, 3000), 0);
	env_close(&e);
}

/* Packs already local at open are counted and evictable. */
static void test_existing_local(void)
{
	struct vf_pack_cache_stats st;
	struct env e;
	char name[VF_PACK_NAME_LEN + 1];
	uint8_t b[1000] = {0};
	void *h;
	int i;

	CHECK_EQ(env_open(&e, 1500), 0);
	for (i = 0; i < 3; i++) {
		pname(10 + i, name);
		CHECK_EQ(e.local->ops->create(e.local, name, &h), 0);
		CHECK_EQ(e.local->ops->append(e.local, h, b, sizeof(b)), 0);
		CHECK_EQ(e.local->ops->close(e.local, h), 0);
	}
	vf_pack_io_free(e.io);
	CHECK_EQ(vf_pack_cache_new(e.local, &e.m->base, 1500, &e.io), 0);
	vf_pack_cache_stats(e.io, &st);
	CHECK_EQ(st.packs, 3);
	CHECK_EQ(st.cached_bytes, 3000);
	/* Not known to be in the store: kept. */
	CHECK_EQ(vf_pack_cache_trim(e.io), 0);
	for (i = 0; i < 3; i++) {
		pname(10 + i, name);
		vf_pack_cache_shipped(e.io, name);
	}
	CHECK_EQ(vf_pack_cache_trim(e.io), 2);
	vf_pack_cache_stats(e.io, &st);
	CHECK_EQ(st.cached_bytes, 1000);
	env_close(&e);
}

struct reader_arg {
	struct vf_pack_io *io;
	int rc;
};

static void *reader(void *p)
{
	struct reader_arg *a = p;
	int k;

	for (k = 0; k < 50 && a->rc == 0; k++)
		a->rc = read_ok(a->io, k % 4, (uint64_t)(k * 37) % 900);
	return NULL;
}

/* Four threads missing the same packs at once fetch each pack once. */
static void test_threads(void)
{
	struct reader_arg a[4];
	pthread_t t[4];
	struct env e;
	int i;

	CHECK_EQ(env_open(&e, 1 << 20), 0);
	for (i = 0; i < 4; i++)
		store_pack(e.m, i, 1000);
	for (i = 0; i < 4; i++) {
		a[i].io = e.io;
		a[i].rc = 0;
		CHECK_EQ(pthread_create(&t[i], NULL, reader, &a[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CHECK_EQ(a[i].rc, 0);
	}
	CHECK_EQ(e.m->gets, 4);
	env_close(&e);
}

int main(void)
{
	RUN(test_fetch_on_miss);
	RUN(test_write_local);
	RUN(test_evict_lru);
	RUN(test_keep_unshipped);
	RUN(test_no_cache);
	RUN(test_store_failures);
	RUN(test_existing_local);
	RUN(test_threads);
	return unit_exit();
}
