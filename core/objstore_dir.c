/*
 * objstore_dir.c - the directory object store: key K is the file DIR/K.
 *
 * Invariants:
 * - A put writes a temporary file next to its object (".tmp.<random>" in
 *   the object's directory), fsyncs it, renames it over the key and
 *   fsyncs the directory: an object is either absent or whole.  Listings
 *   skip temporaries (no key starts with a dot).
 * - Subdirectories are made as keys need them ("p/abc" makes DIR/p), but
 *   DIR itself is only made by vf_objstore_dir_new: a store directory
 *   that disappears later (an unmounted NAS, a directory moved away) is a
 *   transient error (-EAGAIN) for every op, never silently recreated
 *   empty.
 * - Listings come in byte order of the whole key: each directory's
 *   entries are sorted with a '/' after directory names, so "p-x" comes
 *   before "p/y" as in a flat listing.
 * - Memory is bounded: put_fd and get_fd stream through one 256 KiB
 *   buffer.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "objstore.h"

#define COPY_BUF (256u << 10)

struct dirstore {
	struct vf_objstore base;
	char *dir;
};

static struct dirstore *ds_of(struct vf_objstore *s)
{
	return (struct dirstore *)s;
}

/* Keys are [a-z0-9/._-], at most VF_OBJKEY_MAX bytes, with no empty,
 * "." or ".." component and no component starting with a dot. */
static int key_ok(const char *key)
{
	size_t n = strlen(key), i;

	if (!n || n > VF_OBJKEY_MAX || key[0] == '/' || key[n - 1] == '/')
		return 0;
	for (i = 0; i < n; i++) {
		char ch = key[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		      ch == '/' || ch == '.' || ch == '_' || ch == '-'))
			return 0;
		if ((i == 0 || key[i - 1] == '/') && (ch == '/' || ch == '.'))
			return 0;
	}
	return 1;
}

/* -EAGAIN when the store directory itself is gone (see the top). */
static int root_gone(struct dirstore *d)
{
	struct stat st;

	if (stat(d->dir, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	vf_objstore_set_err("store directory '%s' is missing", d->dir);
	return -EAGAIN;
}

static int fail_errno(struct dirstore *d, const char *what, const char *key,
		      int e)
{
	int gone = root_gone(d);

	if (gone)
		return gone;
	vf_objstore_set_err("%s '%s' in store '%s': %s", what, key, d->dir,
			    strerror(e));
	if (e == ENOENT)
		return -ENOENT;
	if (e == EACCES || e == EPERM || e == EROFS)
		return -EACCES;
	return -EIO;
}

static int bad_key(const char *key)
{
	vf_objstore_set_err("invalid object key '%.64s'", key);
	return -EINVAL;
}

static char *path_of(struct dirstore *d, const char *key)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s", d->dir, key) < 0)
		return NULL;
	return p;
}

/* Makes the directories above key (not DIR itself). */
static int make_parents(struct dirstore *d, const char *key)
{
	char *p = path_of(d, key), *s;
	size_t base = strlen(d->dir) + 1;
	int rc = 0;

	if (!p)
		return -ENOMEM;
	for (s = p + base; (s = strchr(s, '/')); s++) {
		*s = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST) {
			rc = -errno;
			*s = '/';
			break;
		}
		*s = '/';
	}
	free(p);
	return rc;
}

/* Writes an object from either data (fd < 0) or fd, durably. */
static int put_common(struct vf_objstore *s, const char *key, const void *data,
		      int src, uint64_t len)
{
	struct dirstore *d = ds_of(s);
	char *path = NULL, *tmp = NULL, *slash;
	uint8_t *buf = NULL;
	uint64_t off = 0;
	int fd = -1, rc;

	if (!key_ok(key))
		return bad_key(key);
	rc = root_gone(d);
	if (rc)
		return rc;
	rc = make_parents(d, key);
	if (rc)
		return fail_errno(d, "cannot store", key, -rc);
	path = path_of(d, key);
	if (!path) {
		rc = -ENOMEM;
		goto out;
	}
	slash = strrchr(path, '/');
	if (asprintf(&tmp, "%.*s/.tmp.%08x", (int)(slash - path), path,
		     randombytes_random()) < 0) {
		tmp = NULL;
		rc = -ENOMEM;
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = fail_errno(d, "cannot store", key, errno);
		goto out;
	}
	if (src < 0) {
		const uint8_t *p = data;

		while (off < len) {
			ssize_t n = write(fd, p + off, len - off);

			if (n < 0) {
				rc = fail_errno(d, "cannot store", key, errno);
				goto out;
			}
			off += (uint64_t)n;
		}
	} else {
		buf = malloc(COPY_BUF);
		if (!buf) {
			rc = -ENOMEM;
			goto out;
		}
		while (off < len) {
			size_t want = len - off < COPY_BUF ? len - off : COPY_BUF;
			ssize_t n = pread(src, buf, want, (off_t)off), w, done;

			if (n < 0) {
				rc = fail_errno(d, "cannot read the source of",
						key, errno);
				goto out;
			}
			if (n == 0) {
				vf_objstore_set_err("source of '%s' is shorter "
						    "than %llu bytes", key,
						    (unsigned long long)len);
				rc = -EIO;
				goto out;
			}
			for (done = 0; done < n; done += w) {
				w = write(fd, buf + done, (size_t)(n - done));
				if (w < 0) {
					rc = fail_errno(d, "cannot store", key,
							errno);
					goto out;
				}
			}
			off += (uint64_t)n;
		}
	}
	if (fsync(fd) < 0) {
		rc = fail_errno(d, "cannot store", key, errno);
		goto out;
	}
	close(fd);
	fd = -1;
	if (rename(tmp, path) < 0) {
		rc = fail_errno(d, "cannot store", key, errno);
		goto out;
	}
	free(tmp);
	tmp = NULL;
	rc = vf_fsync_parent(path);
	if (rc)
		rc = fail_errno(d, "cannot store", key, -rc);
out:
	if (fd >= 0)
		close(fd);
	if (tmp)
		unlink(tmp);
	free(tmp);
	free(path);
	free(buf);
	return rc;
}

static int ds_put(struct vf_objstore *s, const char *key, const void *data,
		  size_t len)
{
	return put_common(s, key, data, -1, len);
}

static int ds_put_fd(struct vf_objstore *s, const char *key, int fd,
		     uint64_t len)
{
	return put_common(s, key, NULL, fd, len);
}

/* Opens an object for reading; its size in *size. */
static int open_obj(struct dirstore *d, const char *key, uint64_t *size)
{
	struct stat st;
	char *path;
	int fd;

	if (!key_ok(key))
		return bad_key(key);
	path = path_of(d, key);
	if (!path)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return fail_errno(d, "cannot read", key, errno);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int e = S_ISREG(st.st_mode) ? errno : EISDIR;

		close(fd);
		return fail_errno(d, "cannot read", key, e);
	}
	*size = (uint64_t)st.st_size;
	return fd;
}

static int read_exact(struct dirstore *d, const char *key, int fd,
		      uint64_t off, void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, p + done, len - done,
				  (off_t)(off + done));

		if (n < 0)
			return fail_errno(d, "cannot read", key, errno);
		if (n == 0) {
			vf_objstore_set_err("object '%s' in store '%s' is "
					    "shorter than expected", key,
					    d->dir);
			return -EIO;
		}
		done += (size_t)n;
	}
	return 0;
}

static int ds_get(struct vf_objstore *s, const char *key, void **data,
		  size_t *len, size_t max)
{
	struct dirstore *d = ds_of(s);
	uint64_t size = 0;
	void *buf;
	int fd, rc;

	fd = open_obj(d, key, &size);
	if (fd < 0)
		return fd;
	if (size > max) {
		close(fd);
		vf_objstore_set_err("object '%s' is larger than %zu bytes",
				    key, max);
		return -EFBIG;
	}
	buf = malloc(size ? size : 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	rc = read_exact(d, key, fd, 0, buf, size);
	close(fd);
	if (rc) {
		free(buf);
		return rc;
	}
	*data = buf;
	*len = size;
	return 0;
}

static int ds_get_range(struct vf_objstore *s, const char *key, uint64_t off,
			void *buf, size_t len)
{
	struct dirstore *d = ds_of(s);
	uint64_t size = 0;
	int fd, rc;

	fd = open_obj(d, key, &size);
	if (fd < 0)
		return fd;
	rc = read_exact(d, key, fd, off, buf, len);
	close(fd);
	return rc;
}

static int ds_get_fd(struct vf_objstore *s, const char *key, int out,
		     uint64_t *len)
{
	struct dirstore *d = ds_of(s);
	uint64_t size = 0, off = 0;
	uint8_t *buf;
	int fd, rc = 0;

	fd = open_obj(d, key, &size);
	if (fd < 0)
		return fd;
	buf = malloc(COPY_BUF);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (off < size) {
		size_t want = size - off < COPY_BUF ? size - off : COPY_BUF;
		ssize_t done, w;

		rc = read_exact(d, key, fd, off, buf, want);
		if (rc)
			break;
		for (done = 0; done < (ssize_t)want; done += w) {
			w = write(out, buf + done, want - (size_t)done);
			if (w < 0) {
				vf_objstore_set_err("cannot write '%s' out: %s",
						    key, strerror(errno));
				rc = -EIO;
				break;
			}
		}
		if (rc)
			break;
		off += want;
	}
	free(buf);
	close(fd);
	if (!rc)
		*len = size;
	return rc;
}

static int ds_head(struct vf_objstore *s, const char *key, uint64_t *size)
{
	struct dirstore *d = ds_of(s);
	uint64_t sz = 0;
	int fd = open_obj(d, key, &sz);

	if (fd < 0)
		return fd;
	close(fd);
	*size = sz;
	return 0;
}

/* One entry of a directory being listed: its name with a trailing '/'
 * for a directory (that is what makes the order the keys' order). */
struct ent {
	char *name;
	int is_dir;
};

static int ent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ent *)a)->name,
		      ((const struct ent *)b)->name);
}

struct walk {
	struct dirstore *d;
	const char *prefix;
	int (*cb)(void *arg, const struct vf_objinfo *o);
	void *arg;
};

/* Lists directory rel ("" or "p/") of the store in key order.  Only the
 * names of one directory are held at once (per level of nesting). */
static int walk_dir(struct walk *w, const char *rel)
{
	struct ent *ents = NULL;
	size_t n = 0, cap = 0, i, plen = strlen(w->prefix);
	char *path = NULL;
	struct dirent *de;
	struct stat st;
	DIR *dir = NULL;
	int rc = 0;

	if (asprintf(&path, "%s/%s", w->d->dir, rel) < 0)
		return -ENOMEM;
	dir = opendir(path);
	if (!dir) {
		rc = fail_errno(w->d, "cannot list", rel[0] ? rel : "/", errno);
		goto out;
	}
	while ((de = readdir(dir))) {
		char *name;
		size_t k;

		if (de->d_name[0] == '.')
			continue; /* ".", "..", temporaries */
		if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW))
			continue;
		if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
			continue;
		if (asprintf(&name, "%s%s%s", rel, de->d_name,
			     S_ISDIR(st.st_mode) ? "/" : "") < 0) {
			rc = -ENOMEM;
			goto out;
		}
		/* Only what can hold keys with the prefix. */
		k = strlen(name) < plen ? strlen(name) : plen;
		if (strncmp(name, w->prefix, k)) {
			free(name);
			continue;
		}
		if (n == cap) {
			struct ent *ne;

			cap = cap ? cap * 2 : 64;
			ne = realloc(ents, cap * sizeof(*ents));
			if (!ne) {
				free(name);
				rc = -ENOMEM;
				goto out;
			}
			ents = ne;
		}
		ents[n].name = name;
		ents[n].is_dir = S_ISDIR(st.st_mode);
		n++;
	}
	closedir(dir);
	dir = NULL;
	if (n)
		qsort(ents, n, sizeof(*ents), ent_cmp);
	for (i = 0; i < n && !rc; i++) {
		if (ents[i].is_dir) {
			rc = walk_dir(w, ents[i].name);
		} else if (strlen(ents[i].name) >= plen) {
			struct vf_objinfo o;
			char *full = NULL;

			if (asprintf(&full, "%s/%s", w->d->dir,
				     ents[i].name) < 0) {
				rc = -ENOMEM;
				break;
			}
			if (stat(full, &st) == 0) {
				o.key = ents[i].name;
				o.size = (uint64_t)st.st_size;
				o.mtime_s = st.st_mtime;
				rc = w->cb(w->arg, &o);
			}
			free(full);
		}
	}
out:
	for (i = 0; i < n; i++)
		free(ents[i].name);
	free(ents);
	if (dir)
		closedir(dir);
	free(path);
	return rc;
}

static int ds_list(struct vf_objstore *s, const char *prefix,
		   int (*cb)(void *arg, const struct vf_objinfo *o), void *arg)
{
	struct walk w = { ds_of(s), prefix ? prefix : "", cb, arg };
	int rc = root_gone(w.d);

	return rc ? rc : walk_dir(&w, "");
}

static int ds_remove(struct vf_objstore *s, const char *key)
{
	struct dirstore *d = ds_of(s);
	char *path;
	int rc = 0;

	if (!key_ok(key))
		return bad_key(key);
	path = path_of(d, key);
	if (!path)
		return -ENOMEM;
	if (unlink(path) < 0)
		rc = errno == ENOENT ? root_gone(d) :
				       fail_errno(d, "cannot remove", key, errno);
	free(path);
	return rc;
}

static void ds_destroy(struct vf_objstore *s)
{
	struct dirstore *d = ds_of(s);

	free(d->dir);
	free(d);
}

static const struct vf_objstore_ops dir_ops = {
	.put = ds_put,
	.put_fd = ds_put_fd,
	.get = ds_get,
	.get_range = ds_get_range,
	.get_fd = ds_get_fd,
	.head = ds_head,
	.list = ds_list,
	.remove = ds_remove,
	.destroy = ds_destroy,
};

int vf_objstore_dir_new(const char *dir, struct vf_objstore **out)
{
	struct dirstore *d;
	struct stat st;

	if (!dir || dir[0] != '/') {
		vf_objstore_set_err("store directory '%s' is not an absolute "
				    "path", dir ? dir : "");
		return -EINVAL;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		vf_objstore_set_err("cannot create store directory '%s': %s",
				    dir, strerror(errno));
		return errno == EACCES ? -EACCES : -EIO;
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		vf_objstore_set_err("store '%s' is not a directory", dir);
		return -EIO;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->dir = strdup(dir);
	if (!d->dir) {
		free(d);
		return -ENOMEM;
	}
	/* no trailing slash: keys are joined with one */
	while (strlen(d->dir) > 1 && d->dir[strlen(d->dir) - 1] == '/')
		d->dir[strlen(d->dir) - 1] = '\0';
	d->base.ops = &dir_ops;
	*out = &d->base;
	return 0;
}
