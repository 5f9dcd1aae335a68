/*
 * pack_io.c - pack backends: a local directory and a fault-injecting
 * wrapper for tests.
 *
 * Local backend.  Pack NAME (32 lowercase hex digits) lives at
 * DIR/NAME[0..1]/NAME.pack; the two-digit subdirectories are created 0700
 * on demand and pack files 0600 with O_EXCL, so a pack is never reopened
 * for writing once its append handle is closed.  Names are checked before
 * they reach a path, so a caller can never point us outside DIR.
 *
 * Reads go through a fixed LRU of read-only descriptors (FD_CACHE slots,
 * one mutex).  A slot is refcounted while a pread runs on it, so eviction
 * and remove never close a descriptor another thread is using: remove
 * marks a busy slot doomed and the last reader closes it.  When every slot
 * is busy a reader opens a private descriptor and closes it after use.  The
 * process therefore holds at most FD_CACHE read descriptors plus one per
 * concurrent reader, however many packs exist.
 *
 * Append handles carry a "directory synced" flag: the first sync of a new
 * pack also fsyncs its subdirectory (and DIR when the subdirectory was
 * created for it), so a synced pack survives a crash with its name.
 *
 * Fault wrapper.  Counts the mutating calls (create, append, sync) since
 * the last vf_pack_io_fault_set; from the nth on it fails them with -err
 * without forwarding them, so the inner backend never sees a failed call.
 * Reads, size, list, remove and close pass through (close must, or the
 * inner handle would leak).
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pack_io.h"

#define FD_CACHE 32
/* "ab/" + name + ".pack" + NUL */
#define REL_PATH_LEN (3 + VF_PACK_NAME_LEN + 5 + 1)

struct fd_slot {
	char name[VF_PACK_NAME_LEN + 1];
	int fd;	       /* -1 when the slot is free */
	unsigned refs; /* readers using fd right now */
	int doomed;    /* removed: close when refs drops to 0 */
	uint64_t used; /* LRU clock */
};

struct local_io {
	struct vf_pack_io base;
	int dfd; /* DIR, O_RDONLY|O_DIRECTORY */
	pthread_mutex_t lock;
	uint64_t tick;
	struct fd_slot slot[FD_CACHE];
};

struct local_h {
	int fd;
	int dir_synced;
	int new_subdir; /* the subdirectory was created for this pack */
	char sub[3];
};

/* A read descriptor borrowed from the cache (slot >= 0) or private. */
struct fd_ref {
	int fd;
	int slot;
};

/* Returns 1 when s is exactly n lowercase hex digits. */
static int is_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return 0;
	}
	return s[n] == '\0';
}

static int valid_name(const char *name)
{
	return is_hex(name, VF_PACK_NAME_LEN);
}

static void rel_path(const char *name, char buf[REL_PATH_LEN])
{
	snprintf(buf, REL_PATH_LEN, "%.2s/%s.pack", name, name);
}

static int map_write_err(int e)
{
	return (e == ENOSPC || e == EDQUOT) ? -ENOSPC : -EIO;
}

static int map_lookup_err(int e)
{
	return e == ENOENT ? -ENOENT : -EIO;
}

static int local_create(struct vf_pack_io *io, const char *name, void **h)
{
	struct local_io *l = (struct local_io *)io;
	char path[REL_PATH_LEN];
	struct local_h *lh = NULL;
	int rc;

	if (!valid_name(name))
		return -EINVAL;
	lh = calloc(1, sizeof(*lh));
	if (!lh)
		return -ENOMEM;
	lh->fd = -1;
	memcpy(lh->sub, name, 2);
	if (mkdirat(l->dfd, lh->sub, 0700) == 0) {
		lh->new_subdir = 1;
	} else if (errno != EEXIST) {
		rc = map_write_err(errno);
		goto fail;
	}
	rel_path(name, path);
	lh->fd =
	    openat(l->dfd, path,
		   O_CREAT | O_EXCL | O_WRONLY | O_APPEND | O_CLOEXEC, 0600);
	if (lh->fd < 0) {
		rc = errno == EEXIST ? -EEXIST : map_write_err(errno);
		goto fail;
	}
	*h = lh;
	return 0;
fail:
	free(lh);
	return rc;
}

static int local_append(struct vf_pack_io *io, void *h, const void *buf,
			size_t len)
{
	struct local_h *lh = h;
	const char *p = buf;

	while (len > 0) {
		ssize_t w = write(lh->fd, p, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return map_write_err(errno);
		}
		if (w == 0)
			return -EIO;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static int fsync_dir(int parent, const char *rel)
{
	int fd, rc = 0;

	fd = openat(parent, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -EIO;
	if (fsync(fd) < 0)
		rc = map_write_err(errno);
	close(fd);
	return rc;
}

static int local_sync(struct vf_pack_io *io, void *h)
{
	struct local_io *l = (struct local_io *)io;
	struct local_h *lh = h;
	int rc;

	if (fsync(lh->fd) < 0)
		return map_write_err(errno);
	if (lh->dir_synced)
		return 0;
	rc = fsync_dir(l->dfd, lh->sub);
	if (rc == 0 && lh->new_subdir)
		rc = fsync_dir(l->dfd, ".");
	if (rc == 0)
		lh->dir_synced = 1;
	return rc;
}

static int local_close(struct vf_pack_io *io, void *h)
{
	struct local_h *lh = h;
	int rc = 0;

	if (!lh)
		return 0;
	if (close(lh->fd) < 0 && errno != EINTR)
		rc = -EIO;
	free(lh);
	return rc;
}

static void slot_clear(struct fd_slot *s)
{
	if (s->fd >= 0)
		close(s->fd);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}

/* Finds a live slot for name; call with the lock held. */
static int slot_find(struct local_io *l, const char *name)
{
	int i;

	for (i = 0; i < FD_CACHE; i++) {
		struct fd_slot *s = &l->slot[i];

		if (s->fd >= 0 && !s->doomed && !strcmp(s->name, name))
			return i;
	}
	return -1;
}

/* The free or least recently used idle slot, -1 when all are busy; call
 * with the lock held. */
static int slot_victim(struct local_io *l)
{
	int i, best = -1;

	for (i = 0; i < FD_CACHE; i++) {
		struct fd_slot *s = &l->slot[i];

		if (s->fd < 0)
			return i;
		if (s->refs == 0 && (best < 0 || s->used < l->slot[best].used))
			best = i;
	}
	return best;
}

static int fd_get(struct local_io *l, const char *name, struct fd_ref *r)
{
	char path[REL_PATH_LEN];
	int i, fd;

	if (!valid_name(name))
		return -ENOENT;
	pthread_mutex_lock(&l->lock);
	i = slot_find(l, name);
	if (i >= 0) {
		l->slot[i].refs++;
		l->slot[i].used = ++l->tick;
		pthread_mutex_unlock(&l->lock);
		r->fd = l->slot[i].fd;
		r->slot = i;
		return 0;
	}
	pthread_mutex_unlock(&l->lock);

	/* Open outside the lock: a slow disk must not stall other readers. */
	rel_path(name, path);
	fd = openat(l->dfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return map_lookup_err(errno);

	pthread_mutex_lock(&l->lock);
	i = slot_find(l, name);
	if (i >= 0) {
		/* Another reader cached it meanwhile; use theirs. */
		close(fd);
	} else {
		i = slot_victim(l);
		if (i >= 0) {
			slot_clear(&l->slot[i]);
			memcpy(l->slot[i].name, name, VF_PACK_NAME_LEN + 1);
			l->slot[i].fd = fd;
		}
	}
	if (i >= 0) {
		l->slot[i].refs++;
		l->slot[i].used = ++l->tick;
		fd = l->slot[i].fd;
	}
	pthread_mutex_unlock(&l->lock);
	r->fd = fd;
	r->slot = i;
	return 0;
}

static void fd_put(struct local_io *l, struct fd_ref *r)
{
	struct fd_slot *s;

	if (r->slot < 0) {
		close(r->fd);
		return;
	}
	pthread_mutex_lock(&l->lock);
	s = &l->slot[r->slot];
	s->refs--;
	if (s->doomed && s->refs == 0)
		slot_clear(s);
	pthread_mutex_unlock(&l->lock);
}

static int local_read(struct vf_pack_io *io, const char *name, uint64_t off,
		      void *buf, size_t len)
{
	struct local_io *l = (struct local_io *)io;
	struct fd_ref r;
	char *p = buf;
	int rc;

	if (off > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX - off)
		return -EIO;
	rc = fd_get(l, name, &r);
	if (rc < 0)
		return rc;
	while (len > 0) {
		ssize_t n = pread(r.fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = -EIO;
			break;
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	fd_put(l, &r);
	return rc;
}

static int local_size(struct vf_pack_io *io, const char *name, uint64_t *size)
{
	struct local_io *l = (struct local_io *)io;
	char path[REL_PATH_LEN];
	struct stat st;

	if (!valid_name(name))
		return -ENOENT;
	rel_path(name, path);
	if (fstatat(l->dfd, path, &st, 0) < 0)
		return map_lookup_err(errno);
	*size = (uint64_t)st.st_size;
	return 0;
}

static int local_remove(struct vf_pack_io *io, const char *name)
{
	struct local_io *l = (struct local_io *)io;
	char path[REL_PATH_LEN];
	int i, rc = 0;

	if (!valid_name(name))
		return -ENOENT;
	rel_path(name, path);
	/* Unlink first, so no reader can reopen and re-cache it after the
	 * slot is dropped. */
	if (unlinkat(l->dfd, path, 0) < 0)
		rc = map_lookup_err(errno);
	pthread_mutex_lock(&l->lock);
	i = slot_find(l, name);
	if (i >= 0) {
		if (l->slot[i].refs == 0)
			slot_clear(&l->slot[i]);
		else
			l->slot[i].doomed = 1;
	}
	pthread_mutex_unlock(&l->lock);
	return rc;
}

static int local_quarantine(struct vf_pack_io *io, const char *name)
{
	struct local_io *l = (struct local_io *)io;
	char path[REL_PATH_LEN], to[REL_PATH_LEN + 16];
	int i, rc = 0;

	if (!valid_name(name))
		return -ENOENT;
	rel_path(name, path);
	snprintf(to, sizeof(to), "%s/%s.pack", VF_PACK_QUARANTINE, name);
	if (mkdirat(l->dfd, VF_PACK_QUARANTINE, 0700) < 0 && errno != EEXIST)
		return -EIO;
	if (renameat(l->dfd, path, l->dfd, to) < 0)
		rc = map_lookup_err(errno);
	else if (fsync(l->dfd) < 0)
		rc = -EIO;
	pthread_mutex_lock(&l->lock);
	i = slot_find(l, name);
	if (i >= 0) {
		if (l->slot[i].refs == 0)
			slot_clear(&l->slot[i]);
		else
			l->slot[i].doomed = 1;
	}
	pthread_mutex_unlock(&l->lock);
	return rc;
}

static int local_list(struct vf_pack_io *io,
		      int (*cb)(void *arg, const char *name), void *arg)
{
	struct local_io *l = (struct local_io *)io;
	DIR *top = NULL, *sub = NULL;
	struct dirent *de, *se;
	char name[VF_PACK_NAME_LEN + 1];
	int fd, rc = 0;

	fd = openat(l->dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -EIO;
	top = fdopendir(fd);
	if (!top) {
		close(fd);
		return -EIO;
	}
	while (rc == 0 && (de = readdir(top)) != NULL) {
		if (!is_hex(de->d_name, 2))
			continue;
		fd = openat(l->dfd, de->d_name,
			    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0) {
			rc = -EIO;
			break;
		}
		sub = fdopendir(fd);
		if (!sub) {
			close(fd);
			rc = -EIO;
			break;
		}
		while (rc == 0 && (se = readdir(sub)) != NULL) {
			size_t n = strlen(se->d_name);

			if (n != VF_PACK_NAME_LEN + 5 ||
			    strcmp(se->d_name + VF_PACK_NAME_LEN, ".pack") ||
			    memcmp(se->d_name, de->d_name, 2))
				continue;
			memcpy(name, se->d_name, VF_PACK_NAME_LEN);
			name[VF_PACK_NAME_LEN] = '\0';
			if (!valid_name(name))
				continue;
			rc = cb(arg, name);
		}
		closedir(sub);
		sub = NULL;
	}
	closedir(top);
	return rc;
}

static void local_destroy(struct vf_pack_io *io)
{
	struct local_io *l = (struct local_io *)io;
	int i;

	for (i = 0; i < FD_CACHE; i++)
		slot_clear(&l->slot[i]);
	close(l->dfd);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

static const struct vf_pack_io_ops local_ops = {
    .create = local_create,
    .append = local_append,
    .sync = local_sync,
    .close = local_close,
    .read = local_read,
    .size = local_size,
    .remove = local_remove,
    .quarantine = local_quarantine,
    .list = local_list,
    .destroy = local_destroy,
};

int vf_pack_io_local_new(const char *dir, struct vf_pack_io **out)
{
	struct local_io *l;
	int i, rc;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->base.ops = &local_ops;
	for (i = 0; i < FD_CACHE; i++)
		l->slot[i].fd = -1;
	l->dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (l->dfd < 0) {
		rc = -errno;
		goto fail;
	}
	rc = -pthread_mutex_init(&l->lock, NULL);
	if (rc < 0)
		goto fail;
	*out = &l->base;
	return 0;
fail:
	if (l->dfd >= 0)
		close(l->dfd);
	free(l);
	return rc;
}

int vf_pack_io_local_tmpfile(struct vf_pack_io *io)
{
	struct local_io *l = (struct local_io *)io;
	int fd;

	if (io->ops != &local_ops)
		return -EINVAL;
	fd = openat(l->dfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	return fd < 0 ? map_write_err(errno) : fd;
}

int vf_pack_io_local_adopt(struct vf_pack_io *io, const char *name, int fd)
{
	struct local_io *l = (struct local_io *)io;
	char path[REL_PATH_LEN], proc[64];
	char sub[3];
	int new_subdir = 0;

	if (io->ops != &local_ops)
		return -EINVAL;
	if (!valid_name(name))
		return -EINVAL;
	if (fsync(fd) < 0)
		return map_write_err(errno);
	memcpy(sub, name, 2);
	sub[2] = '\0';
	if (mkdirat(l->dfd, sub, 0700) == 0)
		new_subdir = 1;
	else if (errno != EEXIST)
		return map_write_err(errno);
	rel_path(name, path);
	/* open(2)'s way of naming an O_TMPFILE file without
	 * CAP_DAC_READ_SEARCH. */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, proc, l->dfd, path, AT_SYMLINK_FOLLOW) < 0)
		return errno == EEXIST ? -EEXIST : map_write_err(errno);
	if (fsync_dir(l->dfd, sub) < 0 ||
	    (new_subdir && fsync_dir(l->dfd, ".") < 0))
		return -EIO;
	return 0;
}

/* ---- fault-injecting wrapper --------------------------------------- */

struct fault_io {
	struct vf_pack_io base;
	struct vf_pack_io *inner;
	pthread_mutex_t lock;
	long calls;
	long nth;
	int err;
};

/* Counts one mutating call; returns the error to inject or 0. */
static int fault_tick(struct vf_pack_io *io)
{
	struct fault_io *f = (struct fault_io *)io;
	int rc = 0;

	pthread_mutex_lock(&f->lock);
	f->calls++;
	if (f->nth > 0 && f->calls >= f->nth)
		rc = -f->err;
	pthread_mutex_unlock(&f->lock);
	return rc;
}

static int fault_create(struct vf_pack_io *io, const char *name, void **h)
{
	struct fault_io *f = (struct fault_io *)io;
	int rc = fault_tick(io);

	if (rc)
		return rc;
	return f->inner->ops->create(f->inner, name, h);
}

static int fault_append(struct vf_pack_io *io, void *h, const void *buf,
			size_t len)
{
	struct fault_io *f = (struct fault_io *)io;
	int rc = fault_tick(io);

	if (rc)
		return rc;
	return f->inner->ops->append(f->inner, h, buf, len);
}

static int fault_sync(struct vf_pack_io *io, void *h)
{
	struct fault_io *f = (struct fault_io *)io;
	int rc = fault_tick(io);

	if (rc)
		return rc;
	return f->inner->ops->sync(f->inner, h);
}

static int fault_close(struct vf_pack_io *io, void *h)
{
	struct fault_io *f = (struct fault_io *)io;

	return f->inner->ops->close(f->inner, h);
}

static int fault_read(struct vf_pack_io *io, const char *name, uint64_t off,
		      void *buf, size_t len)
{
	struct fault_io *f = (struct fault_io *)io;

	return f->inner->ops->read(f->inner, name, off, buf, len);
}

static int fault_size(struct vf_pack_io *io, const char *name, uint64_t *size)
{
	struct fault_io *f = (struct fault_io *)io;

	return f->inner->ops->size(f->inner, name, size);
}

static int fault_remove(struct vf_pack_io *io, const char *name)
{
	struct fault_io *f = (struct fault_io *)io;

	return f->inner->ops->remove(f->inner, name);
}

static int fault_quarantine(struct vf_pack_io *io, const char *name)
{
	struct fault_io *f = (struct fault_io *)io;

	return f->inner->ops->quarantine(f->inner, name);
}

static int fault_list(struct vf_pack_io *io,
		      int (*cb)(void *arg, const char *name), void *arg)
{
	struct fault_io *f = (struct fault_io *)io;

	return f->inner->ops->list(f->inner, cb, arg);
}

static void fault_destroy(struct vf_pack_io *io)
{
	struct fault_io *f = (struct fault_io *)io;

	pthread_mutex_destroy(&f->lock);
	free(f);
}

static const struct vf_pack_io_ops fault_ops = {
    .create = fault_create,
    .append = fault_append,
    .sync = fault_sync,
    .close = fault_close,
    .read = fault_read,
    .size = fault_size,
    .remove = fault_remove,
    .quarantine = fault_quarantine,
    .list = fault_list,
    .destroy = fault_destroy,
};

int vf_pack_io_fault_new(struct vf_pack_io *inner, struct vf_pack_io **out)
{
	struct fault_io *f;
	int rc;

	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->base.ops = &fault_ops;
	f->inner = inner;
	f->err = EIO;
	rc = -pthread_mutex_init(&f->lock, NULL);
	if (rc < 0) {
		free(f);
		return rc;
	}
	*out = &f->base;
	return 0;
}

/* Resets the call count: nth counts from the first mutating call after
 * this one.  err is a positive errno (a negative one is accepted too).
 * Ignored on a backend that is not a fault wrapper. */
void vf_pack_io_fault_set(struct vf_pack_io *io, long nth, int err)
{
	struct fault_io *f = (struct fault_io *)io;

	if (!io || io->ops != &fault_ops)
		return;
	pthread_mutex_lock(&f->lock);
	f->calls = 0;
	f->nth = nth;
	f->err = err < 0 ? -err : (err ? err : EIO);
	pthread_mutex_unlock(&f->lock);
}

long vf_pack_io_fault_calls(struct vf_pack_io *io)
{
	struct fault_io *f = (struct fault_io *)io;
	long n;

	if (!io || io->ops != &fault_ops)
		return 0;
	pthread_mutex_lock(&f->lock);
	n = f->calls;
	pthread_mutex_unlock(&f->lock);
	return n;
}

void vf_pack_io_free(struct vf_pack_io *io)
{
	if (io)
		io->ops->destroy(io);
}
