/*
 * vtest.h - a real vault for unit tests of the engine (after unit.h):
 * one vault directory and keystore per test binary, made fresh for each
 * test, and the few calls most tests make through the vault API (write a
 * small file, read it back, walk a path, list a directory).
 *
 * vt_setup("t-name") at the start of main, vt_cleanup() at its end.
 * Everything is static inline so a test uses only what it needs.
 */
#ifndef VF_VTEST_H
#define VF_VTEST_H

#include <fcntl.h>
#include <unistd.h>

#include "vadmin.h"
#include "vault.h"

static char vt_dir[64], vt_ks[80];
static struct vf_protector_opts vt_opts;
static const struct vf_caller vt_root = { .uid = 0, .pid = 1, .umask = 022 };

static inline void vt_setup(const char *name)
{
	snprintf(vt_dir, sizeof(vt_dir), "/tmp/%s.%d", name, (int)getpid());
	snprintf(vt_ks, sizeof(vt_ks), "/tmp/%s-ks.%d", name, (int)getpid());
	vt_opts.keystore = vt_ks;
}

/* Removes the vault and keystore; 0, or 1 when that failed. */
static inline int vt_cleanup(void)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", vt_dir, vt_ks);
	return system(cmd) != 0;
}

/* A new empty vault, open (NULL, with the reason on stderr, if not). */
static inline struct vf_vault *vt_fresh(void)
{
	struct vf_vault *v = NULL;
	char err[256];

	CHECK(vt_cleanup() == 0);
	if (vf_vault_create(vt_dir, &vt_opts, err, sizeof(err)) ||
	    vf_vault_open(vt_dir, &vt_opts, 0, &v, err, sizeof(err))) {
		fprintf(stderr, "vault: %s\n", err);
		CHECK(0);
		return NULL;
	}
	return v;
}

/* Closes v (which must succeed) and opens the vault again. */
static inline struct vf_vault *vt_reopen(struct vf_vault *v)
{
	char err[256];

	CHECK_EQ(vf_vault_close(v), 0);
	v = NULL;
	if (vf_vault_open(vt_dir, &vt_opts, 0, &v, err, sizeof(err))) {
		fprintf(stderr, "reopen: %s\n", err);
		CHECK(0);
		return NULL;
	}
	return v;
}

/* Writes text as the whole content of parent/name (created 0644 if
 * missing, else truncated) as root, and closes it.  Returns the inode. */
static inline uint64_t vt_put(struct vf_vault *v, uint64_t parent,
			      const char *name, const char *text)
{
	struct vf_handle *h = NULL;
	struct vf_attr a = { .ino = 0 };
	size_t n = strlen(text);

	if (vf_vault_lookup(v, &vt_root, parent, name, &a) == 0)
		CHECK_EQ(vf_vault_open_file(v, &vt_root, a.ino,
					    O_WRONLY | O_TRUNC, &h), 0);
	else
		CHECK_EQ(vf_vault_create_file(v, &vt_root, parent, name, 0644,
					      O_WRONLY, &a, &h), 0);
	if (!h)
		return 0;
	CHECK_EQ(vf_vault_write(v, h, 0, text, n), (ssize_t)n);
	CHECK_EQ(vf_vault_flush(v, h), 0);
	CHECK_EQ(vf_vault_release(v, h), 0);
	return a.ino;
}

/* The content of ino (at most 63 bytes; "" when it cannot be read). */
static inline const char *vt_content(struct vf_vault *v, uint64_t ino,
				     char buf[64])
{
	struct vf_handle *h = NULL;
	ssize_t n;

	buf[0] = '\0';
	if (!ino || vf_vault_open_file(v, &vt_root, ino, O_RDONLY, &h))
		return buf;
	n = vf_vault_read(v, h, 0, buf, 63);
	buf[n > 0 ? n : 0] = '\0';
	CHECK_EQ(vf_vault_release(v, h), 0);
	return buf;
}

/* The inode of path ('/'-separated) below start, or 0; *out (may be NULL)
 * gets its attributes. */
static inline uint64_t vt_walk(struct vf_vault *v, uint64_t start,
			       const char *path, struct vf_attr *out)
{
	char buf[256], *save = NULL, *c;
	struct vf_attr a = { .ino = start };

	snprintf(buf, sizeof(buf), "%s", path);
	for (c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save))
		if (vf_vault_lookup(v, &vt_root, a.ino, c, &a))
			return 0;
	if (out)
		*out = a;
	return a.ino;
}

/* A directory listing without "." and "..": names joined by spaces. */
struct vt_names {
	char list[512];
	int n;
};

static inline int vt_name_cb(void *arg, const char *name,
			     const struct vf_attr *a, uint64_t next)
{
	struct vt_names *s = arg;

	(void)a;
	(void)next;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	s->n++;
	snprintf(s->list + strlen(s->list), sizeof(s->list) - strlen(s->list),
		 "%s%s", s->list[0] ? " " : "", name);
	return 0;
}

static inline const char *vt_listing(struct vf_vault *v, uint64_t ino,
				     struct vt_names *s)
{
	memset(s, 0, sizeof(*s));
	CHECK_EQ(vf_vault_readdir(v, &vt_root, ino, 0, vt_name_cb, s), 0);
	return s->list;
}

#endif
