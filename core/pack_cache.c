/*
 * pack_cache.c - the pack backend of a remote vault: the local pack
 * directory as a bounded cache in front of the object store.
 *
 * Writes go to the local backend (a pack is shipped by the uploader once
 * it is finished).  A read of a pack that is not local fetches the whole
 * pack object into the local directory (an O_TMPFILE adopted under the
 * pack's name once complete, so a crash never leaves half a pack with a
 * real name) and reads it there; with a limit of 0 it reads the range
 * from the store instead and caches nothing.  Fetches are serialised by
 * one mutex, so two readers missing the same pack download it once.
 *
 * The cache keeps one entry per local pack (name, size, last use) in a
 * hash table: 64 bytes per pack, not per chunk or file.  After a fetch,
 * and when the uploader calls vf_pack_cache_trim, the least recently used
 * packs the store holds (fetched ones, and those the uploader marked with
 * vf_pack_cache_shipped) are removed until the local packs fit the
 * limit.  Packs not yet shipped are never evicted,
 * so the limit can be exceeded while the store is unreachable: writes are
 * then bounded by the local disk, as on a local vault.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "pack_cache.h"

struct entry {
	char name[VF_PACK_NAME_LEN + 1];
	uint64_t size;
	uint64_t used; /* LRU tick */
	int shipped;   /* the store holds it: may be evicted */
	struct entry *next;
};

struct cache_io {
	struct vf_pack_io base;
	struct vf_pack_io *local; /* borrowed */
	struct vf_objstore *store; /* borrowed */
	uint64_t limit;
	pthread_mutex_t lock; /* table, tick, stats */
	pthread_mutex_t fetch_lock;
	struct entry **bucket;
	size_t nbucket, count;
	uint64_t tick;
	struct vf_pack_cache_stats st;
};

static size_t slot_of(const struct cache_io *c, const char *name)
{
	return (size_t)XXH3_64bits(name, strlen(name)) & (c->nbucket - 1);
}

static struct entry *find(struct cache_io *c, const char *name)
{
	struct entry *e;

	for (e = c->bucket[slot_of(c, name)]; e; e = e->next)
		if (strcmp(e->name, name) == 0)
			return e;
	return NULL;
}

static int grow(struct cache_io *c)
{
	size_t n = c->nbucket * 2, i;
	struct entry **b = calloc(n, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (i = 0; i < c->nbucket; i++) {
		struct entry *e = c->bucket[i], *next;

		for (; e; e = next) {
			size_t s = (size_t)XXH3_64bits(e->name,
						       strlen(e->name)) &
				   (n - 1);

			next = e->next;
			e->next = b[s];
			b[s] = e;
		}
	}
	free(c->bucket);
	c->bucket = b;
	c->nbucket = n;
	return 0;
}

/* Adds or refreshes an entry; lock held. */
static int note(struct cache_io *c, const char *name, uint64_t size)
{
	struct entry *e = find(c, name);
	size_t s;

	if (e) {
		c->st.cached_bytes -= e->size;
		e->size = size;
		c->st.cached_bytes += size;
		e->used = ++c->tick;
		return 0;
	}
	if (c->count >= c->nbucket && grow(c) < 0)
		return -ENOMEM;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->size = size;
	e->used = ++c->tick;
	s = slot_of(c, name);
	e->next = c->bucket[s];
	c->bucket[s] = e;
	c->count++;
	c->st.cached_bytes += size;
	c->st.packs++;
	return 0;
}

/* Drops an entry; lock held. */
static void forget(struct cache_io *c, const char *name)
{
	struct entry **pp = &c->bucket[slot_of(c, name)], *e;

	for (; (e = *pp); pp = &e->next) {
		if (strcmp(e->name, name) == 0) {
			*pp = e->next;
			c->st.cached_bytes -= e->size;
			c->st.packs--;
			c->count--;
			free(e);
			return;
		}
	}
}

static void touch(struct cache_io *c, const char *name)
{
	struct entry *e;

	pthread_mutex_lock(&c->lock);
	e = find(c, name);
	if (e)
		e->used = ++c->tick;
	pthread_mutex_unlock(&c->lock);
}

static void obj_key(const char *name, char key[VF_OBJKEY_MAX])
{
	snprintf(key, VF_OBJKEY_MAX, "%s%s", VF_OBJ_PACK_PREFIX, name);
}

/* Store errors as the engine sees them: a pack the store does not have is
 * missing (-ENOENT, the caller's integrity path), anything else is an I/O
 * error the reader gets as EIO. */
static int map_store_err(int rc)
{
	return rc == -ENOENT ? -ENOENT : -EIO;
}

/* Downloads pack name into the local directory; fetch_lock held. */
static int fetch(struct cache_io *c, const char *name)
{
	char key[VF_OBJKEY_MAX];
	uint64_t len = 0;
	int fd, rc;

	obj_key(name, key);
	fd = vf_pack_io_local_tmpfile(c->local);
	if (fd < 0)
		return fd;
	rc = c->store->ops->get_fd(c->store, key, fd, &len);
	if (rc == 0)
		rc = vf_pack_io_local_adopt(c->local, name, fd);
	close(fd);
	if (rc == -EEXIST)
		rc = 0; /* written or fetched meanwhile */
	pthread_mutex_lock(&c->lock);
	if (rc == 0) {
		c->st.fetches++;
		c->st.fetched_bytes += len;
		rc = note(c, name, len);
		if (rc == 0)
			find(c, name)->shipped = 1;
	} else {
		c->st.fetch_errors++;
	}
	pthread_mutex_unlock(&c->lock);
	return rc < 0 ? map_store_err(rc) : 0;
}

static int cache_read(struct vf_pack_io *io, const char *name, uint64_t off,
		      void *buf, size_t len)
{
	struct cache_io *c = (struct cache_io *)io;
	char key[VF_OBJKEY_MAX];
	int rc;

	rc = c->local->ops->read(c->local, name, off, buf, len);
	if (rc != -ENOENT) {
		if (rc == 0)
			touch(c, name);
		return rc;
	}
	if (c->limit == 0) {
		obj_key(name, key);
		rc = c->store->ops->get_range(c->store, key, off, buf, len);
		pthread_mutex_lock(&c->lock);
		if (rc == 0) {
			c->st.range_reads++;
			c->st.fetched_bytes += len;
		} else {
			c->st.fetch_errors++;
		}
		pthread_mutex_unlock(&c->lock);
		return rc < 0 ? map_store_err(rc) : 0;
	}
	pthread_mutex_lock(&c->fetch_lock);
	/* Another reader may have fetched it while we waited. */
	rc = c->local->ops->read(c->local, name, off, buf, len);
	if (rc == -ENOENT) {
		rc = fetch(c, name);
		if (rc == 0)
			rc = c->local->ops->read(c->local, name, off, buf,
						 len);
	}
	pthread_mutex_unlock(&c->fetch_lock);
	if (rc == 0) {
		touch(c, name);
		vf_pack_cache_trim(io);
	}
	return rc;
}

static int cache_size(struct vf_pack_io *io, const char *name, uint64_t *size)
{
	struct cache_io *c = (struct cache_io *)io;
	char key[VF_OBJKEY_MAX];
	int rc;

	rc = c->local->ops->size(c->local, name, size);
	if (rc != -ENOENT)
		return rc;
	obj_key(name, key);
	rc = c->store->ops->head(c->store, key, size);
	return rc < 0 ? map_store_err(rc) : 0;
}

/* An append handle: the local one and the pack's name, so close can
 * record the pack's size. */
struct cache_h {
	void *inner;
	char name[VF_PACK_NAME_LEN + 1];
};

static int cache_create(struct vf_pack_io *io, const char *name, void **h)
{
	struct cache_io *c = (struct cache_io *)io;
	struct cache_h *ch = calloc(1, sizeof(*ch));
	int rc;

	if (!ch)
		return -ENOMEM;
	rc = c->local->ops->create(c->local, name, &ch->inner);
	if (rc < 0) {
		free(ch);
		return rc;
	}
	snprintf(ch->name, sizeof(ch->name), "%s", name);
	*h = ch;
	return 0;
}

static int cache_append(struct vf_pack_io *io, void *h, const void *buf,
			size_t len)
{
	struct cache_io *c = (struct cache_io *)io;
	struct cache_h *ch = h;

	return c->local->ops->append(c->local, ch->inner, buf, len);
}

static int cache_sync(struct vf_pack_io *io, void *h)
{
	struct cache_io *c = (struct cache_io *)io;
	struct cache_h *ch = h;

	return c->local->ops->sync(c->local, ch->inner);
}

static int cache_close(struct vf_pack_io *io, void *h)
{
	struct cache_io *c = (struct cache_io *)io;
	struct cache_h *ch = h;
	uint64_t size = 0;
	int rc = c->local->ops->close(c->local, ch->inner);

	if (c->local->ops->size(c->local, ch->name, &size) == 0) {
		pthread_mutex_lock(&c->lock);
		if (note(c, ch->name, size) < 0)
			c->st.untracked++;
		pthread_mutex_unlock(&c->lock);
	}
	free(ch);
	return rc;
}

static int cache_remove(struct vf_pack_io *io, const char *name)
{
	struct cache_io *c = (struct cache_io *)io;
	int rc = c->local->ops->remove(c->local, name);

	pthread_mutex_lock(&c->lock);
	forget(c, name);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

static int cache_quarantine(struct vf_pack_io *io, const char *name)
{
	struct cache_io *c = (struct cache_io *)io;
	int rc = c->local->ops->quarantine(c->local, name);

	pthread_mutex_lock(&c->lock);
	forget(c, name);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

static int cache_list(struct vf_pack_io *io,
		      int (*cb)(void *arg, const char *name), void *arg)
{
	struct cache_io *c = (struct cache_io *)io;

	return c->local->ops->list(c->local, cb, arg);
}

static void cache_destroy(struct vf_pack_io *io)
{
	struct cache_io *c = (struct cache_io *)io;
	size_t i;

	for (i = 0; i < c->nbucket; i++) {
		struct entry *e = c->bucket[i], *next;

		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(c->bucket);
	pthread_mutex_destroy(&c->fetch_lock);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static const struct vf_pack_io_ops cache_ops = {
	.create = cache_create,
	.append = cache_append,
	.sync = cache_sync,
	.close = cache_close,
	.read = cache_read,
	.size = cache_size,
	.remove = cache_remove,
	.quarantine = cache_quarantine,
	.list = cache_list,
	.destroy = cache_destroy,
};

/* Collects the local packs at start. */
static int add_local(void *arg, const char *name)
{
	struct cache_io *c = arg;
	uint64_t size = 0;

	if (c->local->ops->size(c->local, name, &size) < 0)
		return 0; /* removed meanwhile */
	return note(c, name, size);
}

int vf_pack_cache_new(struct vf_pack_io *local, struct vf_objstore *store,
		      uint64_t limit, struct vf_pack_io **out)
{
	struct cache_io *c;
	int rc;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->base.ops = &cache_ops;
	c->local = local;
	c->store = store;
	c->limit = limit;
	c->st.limit = limit;
	c->nbucket = 64;
	c->bucket = calloc(c->nbucket, sizeof(*c->bucket));
	if (!c->bucket) {
		free(c);
		return -ENOMEM;
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->fetch_lock, NULL);
	rc = local->ops->list(local, add_local, c);
	if (rc < 0) {
		cache_destroy(&c->base);
		return rc;
	}
	*out = &c->base;
	return 0;
}

static int by_use(const void *a, const void *b)
{
	const struct entry *x = *(struct entry *const *)a;
	const struct entry *y = *(struct entry *const *)b;

	return x->used < y->used ? -1 : x->used > y->used;
}

void vf_pack_cache_shipped(struct vf_pack_io *io, const char *name)
{
	struct cache_io *c = (struct cache_io *)io;
	struct entry *e;

	if (io->ops != &cache_ops)
		return;
	pthread_mutex_lock(&c->lock);
	e = find(c, name);
	if (e)
		e->shipped = 1;
	pthread_mutex_unlock(&c->lock);
}

int vf_pack_cache_trim(struct vf_pack_io *io)
{
	struct cache_io *c = (struct cache_io *)io;
	struct entry **all = NULL;
	char (*victim)[VF_PACK_NAME_LEN + 1] = NULL;
	size_t n = 0, nv = 0, i;
	uint64_t over;
	int rc = 0;

	if (io->ops != &cache_ops)
		return -EINVAL;
	pthread_mutex_lock(&c->lock);
	if (c->limit == 0 || c->st.cached_bytes <= c->limit) {
		pthread_mutex_unlock(&c->lock);
		return 0;
	}
	over = c->st.cached_bytes - c->limit;
	all = malloc(c->count * sizeof(*all));
	victim = malloc(c->count * sizeof(*victim));
	if (!all || !victim) {
		rc = -ENOMEM;
		pthread_mutex_unlock(&c->lock);
		goto out;
	}
	for (i = 0; i < c->nbucket; i++) {
		struct entry *e;

		for (e = c->bucket[i]; e; e = e->next)
			all[n++] = e;
	}
	qsort(all, n, sizeof(*all), by_use);
	/* The newest entry is what a reader just fetched: keep it. */
	for (i = 0; i + 1 < n && over > 0; i++) {
		if (!all[i]->shipped)
			continue;
		memcpy(victim[nv++], all[i]->name, sizeof(*victim));
		over = all[i]->size >= over ? 0 : over - all[i]->size;
	}
	pthread_mutex_unlock(&c->lock);
	for (i = 0; i < nv; i++) {
		if (c->local->ops->remove(c->local, victim[i]) < 0)
			continue;
		pthread_mutex_lock(&c->lock);
		forget(c, victim[i]);
		c->st.evictions++;
		pthread_mutex_unlock(&c->lock);
		rc++;
	}
out:
	free(all);
	free(victim);
	return rc;
}

int vf_pack_cache_set_limit(struct vf_pack_io *io, uint64_t limit)
{
	struct cache_io *c = (struct cache_io *)io;

	if (io->ops != &cache_ops)
		return -EINVAL;
	pthread_mutex_lock(&c->lock);
	c->limit = limit;
	c->st.limit = limit;
	pthread_mutex_unlock(&c->lock);
	return vf_pack_cache_trim(io);
}

void vf_pack_cache_stats(struct vf_pack_io *io, struct vf_pack_cache_stats *st)
{
	struct cache_io *c = (struct cache_io *)io;

	memset(st, 0, sizeof(*st));
	if (io->ops != &cache_ops)
		return;
	pthread_mutex_lock(&c->lock);
	*st = c->st;
	pthread_mutex_unlock(&c->lock);
}
