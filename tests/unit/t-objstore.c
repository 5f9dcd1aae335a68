/*
 * t-objstore.c - the directory object store (objstore_dir.c), the URL
 * switch and store.conf (store_open.c).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "objstore.h"
#include "unit.h"

static char base[64];

static struct vf_objstore *fresh(const char *sub)
{
	struct vf_objstore *s = NULL;
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", base, sub);
	CHECK_EQ(vf_objstore_dir_new(path, &s), 0);
	return s;
}

struct keys {
	char k[16][64];
	uint64_t size[16];
	int n;
};

static int collect(void *arg, const struct vf_objinfo *o)
{
	struct keys *ks = arg;

	if (ks->n < 16) {
		snprintf(ks->k[ks->n], sizeof(ks->k[0]), "%s", o->key);
		ks->size[ks->n] = o->size;
		ks->n++;
	}
	return 0;
}

static int stop_first(void *arg, const struct vf_objinfo *o)
{
	(void)arg;
	(void)o;
	return 7;
}

static void put_get_list(void)
{
	struct vf_objstore *s = fresh("a");
	struct keys ks = { .n = 0 };
	void *data = NULL;
	size_t len = 0;
	uint64_t size = 0;
	char buf[4];

	if (!s)
		return;
	CHECK_EQ(s->ops->put(s, "p/y", "yy", 2), 0);
	CHECK_EQ(s->ops->put(s, "p-x", "x", 1), 0);
	CHECK_EQ(s->ops->put(s, "hdr", "header", 6), 0);
	CHECK_EQ(s->ops->put(s, "c/0000000000000002", "two", 3), 0);
	CHECK_EQ(s->ops->put(s, "c/0000000000000001", "one", 3), 0);
	CHECK_EQ(s->ops->put(s, "c/0000000000000001.t", "t", 1), 0);
	/* a second put replaces */
	CHECK_EQ(s->ops->put(s, "p/y", "yyy", 3), 0);
	CHECK_EQ(s->ops->list(s, "", collect, &ks), 0);
	CHECK_EQ(ks.n, 6);
	/* byte order of whole keys: "p-x" < "p/y" ('-' < '/') */
	CHECK(!strcmp(ks.k[0], "c/0000000000000001"));
	CHECK(!strcmp(ks.k[1], "c/0000000000000001.t"));
	CHECK(!strcmp(ks.k[2], "c/0000000000000002"));
	CHECK(!strcmp(ks.k[3], "hdr"));
	CHECK(!strcmp(ks.k[4], "p-x"));
	CHECK(!strcmp(ks.k[5], "p/y"));
	CHECK_EQ(ks.size[5], 3);
	ks.n = 0;
	CHECK_EQ(s->ops->list(s, "c/", collect, &ks), 0);
	CHECK_EQ(ks.n, 3);
	ks.n = 0;
	CHECK_EQ(s->ops->list(s, "p", collect, &ks), 0);
	CHECK_EQ(ks.n, 2);
	CHECK_EQ(s->ops->list(s, "", stop_first, NULL), 7);
	CHECK_EQ(s->ops->get(s, "hdr", &data, &len, 100), 0);
	CHECK_EQ(len, 6);
	CHECK(data && !memcmp(data, "header", 6));
	free(data);
	data = NULL;
	CHECK_EQ(s->ops->get(s, "hdr", &data, &len, 5), -EFBIG);
	CHECK_EQ(s->ops->get(s, "nope", &data, &len, 5), -ENOENT);
	CHECK_EQ(s->ops->head(s, "p/y", &size), 0);
	CHECK_EQ(size, 3);
	CHECK_EQ(s->ops->head(s, "p/z", &size), -ENOENT);
	CHECK_EQ(s->ops->get_range(s, "hdr", 2, buf, 4), 0);
	CHECK(!memcmp(buf, "ader", 4));
	CHECK_EQ(s->ops->get_range(s, "hdr", 4, buf, 4), -EIO);
	CHECK_EQ(s->ops->remove(s, "p-x"), 0);
	CHECK_EQ(s->ops->remove(s, "p-x"), 0);
	CHECK_EQ(s->ops->head(s, "p-x", &size), -ENOENT);
	/* keys that could leave the store or hide as temporaries */
	CHECK_EQ(s->ops->put(s, "../x", "x", 1), -EINVAL);
	CHECK_EQ(s->ops->put(s, "/x", "x", 1), -EINVAL);
	CHECK_EQ(s->ops->put(s, "a//b", "x", 1), -EINVAL);
	CHECK_EQ(s->ops->put(s, ".tmp", "x", 1), -EINVAL);
	CHECK_EQ(s->ops->put(s, "A", "x", 1), -EINVAL);
	CHECK_EQ(s->ops->put(s, "", "x", 1), -EINVAL);
	CHECK(vf_objstore_errmsg()[0] != '\0');
	vf_objstore_free(s);
	vf_objstore_free(NULL);
}

/* put_fd and get_fd stream 3 MiB (more than the copy buffer). */
static void streaming(void)
{
	struct vf_objstore *s = fresh("b");
	size_t n = 3u << 20, i;
	uint8_t *src = malloc(n), *back = malloc(n);
	char path[128];
	uint64_t len = 0;
	int fd;

	if (!s || !src || !back) {
		CHECK(0);
		goto out;
	}
	for (i = 0; i < n; i++)
		src[i] = (uint8_t)(i * 7 + (i >> 13));
	snprintf(path, sizeof(path), "%s/src", base);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, src, n), (ssize_t)n);
	/* the fd's offset is not used: put_fd reads from 0 */
	CHECK_EQ(s->ops->put_fd(s, "p/big", fd, n), 0);
	/* a source shorter than said fails and leaves nothing */
	CHECK_EQ(s->ops->put_fd(s, "p/short", fd, n + 1), -EIO);
	CHECK_EQ(s->ops->head(s, "p/short", &len), -ENOENT);
	close(fd);
	snprintf(path, sizeof(path), "%s/dst", base);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK_EQ(s->ops->get_fd(s, "p/big", fd, &len), 0);
	CHECK_EQ(len, n);
	CHECK_EQ(pread(fd, back, n, 0), (ssize_t)n);
	CHECK(!memcmp(src, back, n));
	close(fd);
out:
	free(src);
	free(back);
	vf_objstore_free(s);
}

/* A store directory that goes away is a transient error, and is not
 * made again by a put. */
static void store_gone(void)
{
	struct vf_objstore *s = fresh("c");
	char path[128], moved[128];
	struct keys ks = { .n = 0 };
	struct stat st;

	if (!s)
		return;
	snprintf(path, sizeof(path), "%s/c", base);
	snprintf(moved, sizeof(moved), "%s/c.away", base);
	CHECK_EQ(s->ops->put(s, "p/a", "a", 1), 0);
	CHECK_EQ(rename(path, moved), 0);
	CHECK_EQ(s->ops->put(s, "p/b", "b", 1), -EAGAIN);
	CHECK(strstr(vf_objstore_errmsg(), "missing") != NULL);
	CHECK(stat(path, &st) < 0);
	CHECK_EQ(s->ops->list(s, "", collect, &ks), -EAGAIN);
	CHECK_EQ(rename(moved, path), 0);
	CHECK_EQ(s->ops->put(s, "p/b", "b", 1), 0);
	CHECK_EQ(s->ops->list(s, "", collect, &ks), 0);
	CHECK_EQ(ks.n, 2);
	vf_objstore_free(s);
}

static void urls_and_conf(void)
{
	struct vf_store_cfg cfg = { 0 };
	struct vf_store_conf *c = NULL;
	struct vf_objstore *s = NULL;
	char url[128], path[128];
	struct stat st;

	cfg.url = "dir:relative/path";
	CHECK_EQ(vf_objstore_open(&cfg, &s), -EINVAL);
	cfg.url = "ftp://x";
	CHECK_EQ(vf_objstore_open(&cfg, &s), -EINVAL);
	cfg.url = "s3://bucket/prefix";
	cfg.endpoint = "https://rgw.example:7480";
	cfg.credentials = "/etc/vaultfs/s3.cred";
	cfg.allow_http = true;
	/* s3.c refuses a credentials file that does not exist */
	CHECK(vf_objstore_open(&cfg, &s) != 0);
	snprintf(url, sizeof(url), "dir:%s/u", base);
	cfg.url = url;
	CHECK_EQ(vf_objstore_open(&cfg, &s), 0);
	vf_objstore_free(s);
	CHECK_EQ(vf_store_conf_write(base, &cfg), 0);
	snprintf(path, sizeof(path), "%s/%s", base, VF_STORE_CONF);
	CHECK_EQ(stat(path, &st), 0);
	CHECK_EQ(st.st_mode & 0777, 0600);
	CHECK_EQ(vf_store_conf_read(base, &c), 0);
	if (c) {
		CHECK(!strcmp(c->cfg.url, url));
		CHECK(!strcmp(c->cfg.endpoint, "https://rgw.example:7480"));
		CHECK(!strcmp(c->cfg.credentials, "/etc/vaultfs/s3.cred"));
		CHECK(c->cfg.region == NULL);
		CHECK(c->cfg.allow_http);
		free(c);
	}
	cfg.region = "eu\nx";
	CHECK_EQ(vf_store_conf_write(base, &cfg), -EINVAL);
	CHECK_EQ(vf_store_conf_read("/nonexistent", &c), -ENOENT);
}

int main(void)
{
	char cmd[128];

	if (!unit_tmpdir(base, sizeof(base), "t-objstore"))
		return 1;
	RUN(put_get_list);
	RUN(streaming);
	RUN(store_gone);
	RUN(urls_and_conf);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
	if (system(cmd) != 0)
		return 1;
	return unit_any_failed;
}
