/*
 * t-vault.c - the engine without FUSE: namespace operations, the write
 * path (streaming, random writes, truncate), recovery points, dedup,
 * check, and fault injection through the pack backend.
 */
#include <fcntl.h>
#include <signal.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"
#include "vault.h"

static char dir[64], ks[80];
static struct vf_protector_opts opts;
static const struct vf_caller root = { .uid = 0, .pid = 1, .umask = 022 };

static uint64_t rng_state = 99;
static void fill_random(uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		rng_state = rng_state * 6364136223846793005ULL +
			    1442695040888963407ULL;
		p[i] = (uint8_t)(rng_state >> 56);
	}
}

static struct vf_vault *fresh(void)
{
	struct vf_vault *v = NULL;
	char err[256], cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", dir, ks);
	CHECK(system(cmd) == 0);
	opts.keystore = ks;
	if (vf_vault_create(dir, &opts, err, sizeof(err))) {
		fprintf(stderr, "create: %s\n", err);
		return NULL;
	}
	if (vf_vault_open(dir, &opts, 0, &v, err, sizeof(err))) {
		fprintf(stderr, "open: %s\n", err);
		return NULL;
	}
	return v;
}

static struct vf_vault *reopen(struct vf_vault *v)
{
	char err[256];

	CHECK_EQ(vf_vault_close(v), 0);
	v = NULL;
	if (vf_vault_open(dir, &opts, 0, &v, err, sizeof(err)))
		fprintf(stderr, "reopen: %s\n", err);
	return v;
}

/* Writes buf as the whole content of parent/name (created if missing) in
 * pieces of step bytes, then closes.  Returns the inode. */
static uint64_t put_file(struct vf_vault *v, uint64_t parent, const char *name,
			 const uint8_t *buf, size_t len, size_t step)
{
	struct vf_attr a;
	struct vf_handle *h = NULL;
	size_t off;

	if (vf_vault_lookup(v, &root, parent, name, &a) == 0) {
		CHECK_EQ(vf_vault_open_file(v, &root, a.ino,
					    O_WRONLY | O_TRUNC, &h), 0);
	} else {
		CHECK_EQ(vf_vault_create_file(v, &root, parent, name, 0644,
					      O_WRONLY, &a, &h), 0);
	}
	if (!h)
		return 0;
	for (off = 0; off < len; off += step) {
		size_t n = len - off < step ? len - off : step;

		CHECK_EQ(vf_vault_write(v, h, off, buf + off, n), (ssize_t)n);
	}
	CHECK_EQ(vf_vault_flush(v, h), 0);
	CHECK_EQ(vf_vault_release(v, h), 0);
	return a.ino;
}

static int same_content(struct vf_vault *v, uint64_t ino, const uint8_t *buf,
			size_t len)
{
	struct vf_handle *h;
	uint8_t *got = malloc(len + 1);
	ssize_t n = 0, r;
	int same;

	if (!got || vf_vault_open_file(v, &root, ino, O_RDONLY, &h)) {
		free(got);
		return 0;
	}
	while ((size_t)n < len + 1) {
		size_t want = len + 1 - (size_t)n > 1000000 ? 1000000 :
							     len + 1 - (size_t)n;

		r = vf_vault_read(v, h, (uint64_t)n, got + n, want);
		if (r <= 0)
			break;
		n += r;
	}
	same = n == (ssize_t)len && !memcmp(got, buf, len);
	vf_vault_release(v, h);
	free(got);
	return same;
}

static int count_cb(void *arg, const char *name, const struct vf_attr *a,
		    uint64_t next)
{
	(*(int *)arg)++;
	return 0;
}

static int entries(struct vf_vault *v, uint64_t ino)
{
	int n = 0;

	CHECK_EQ(vf_vault_readdir(v, &root, ino, 0, count_cb, &n), 0);
	return n - 2;
}

static void namespace_ops(void)
{
	struct vf_vault *v = fresh();
	struct vf_attr d, a, b;
	char longname[300];

	if (!v)
		{ CHECK(0); return; }
	CHECK_EQ(vf_vault_mkdir(v, &root, 1, "d", 0755, &d), 0);
	CHECK_EQ(vf_vault_mkdir(v, &root, 1, "d", 0755, &a), -EEXIST);
	CHECK_EQ(vf_vault_mknod(v, &root, d.ino, "f", S_IFREG | 0600, 0, &a),
		 0);
	CHECK_EQ(vf_vault_getattr(v, &root, 1, &b), 0);
	CHECK_EQ(b.nlink, 3);
	CHECK_EQ(entries(v, d.ino), 1);
	CHECK_EQ(vf_vault_link(v, &root, a.ino, 1, "hard", &b), 0);
	CHECK_EQ(b.nlink, 2);
	CHECK_EQ(vf_vault_rmdir(v, &root, 1, "d"), -ENOTEMPTY);
	CHECK_EQ(vf_vault_symlink(v, &root, 1, "s", "d/f", &b), 0);
	{
		char t[VF_PATH_MAX + 1];

		CHECK_EQ(vf_vault_readlink(v, &root, b.ino, t, sizeof(t)), 0);
		CHECK(!strcmp(t, "d/f"));
	}
	/* rename over an existing name: the displaced node loses a link */
	CHECK_EQ(vf_vault_mknod(v, &root, 1, "g", S_IFREG | 0600, 0, &b), 0);
	CHECK_EQ(vf_vault_rename(v, &root, 1, "g", d.ino, "f", 0), 0);
	CHECK_EQ(vf_vault_getattr(v, &root, a.ino, &a), 0);
	CHECK_EQ(a.nlink, 1);
	CHECK_EQ(vf_vault_lookup(v, &root, d.ino, "f", &a), 0);
	CHECK_EQ(a.ino, b.ino);
	CHECK_EQ(vf_vault_rename(v, &root, 1, "hard", d.ino, "f",
				 RENAME_NOREPLACE),
		 -EEXIST);
	CHECK_EQ(vf_vault_rename(v, &root, 1, "hard", d.ino, "f",
				 RENAME_EXCHANGE),
		 0);
	CHECK_EQ(vf_vault_lookup(v, &root, 1, "hard", &a), 0);
	CHECK_EQ(a.ino, b.ino);
	CHECK_EQ(vf_vault_unlink(v, &root, d.ino, "f"), 0);
	CHECK_EQ(vf_vault_unlink(v, &root, d.ino, "f"), -ENOENT);
	CHECK_EQ(vf_vault_rmdir(v, &root, 1, "d"), 0);
	CHECK_EQ(vf_vault_getattr(v, &root, 1, &b), 0);
	CHECK_EQ(b.nlink, 2);
	/* names */
	memset(longname, 'x', sizeof(longname));
	longname[255] = '\0';
	CHECK_EQ(vf_vault_mknod(v, &root, 1, longname, S_IFREG | 0600, 0, &a),
		 0);
	longname[255] = 'x';
	longname[256] = '\0';
	CHECK_EQ(vf_vault_mknod(v, &root, 1, longname, S_IFREG | 0600, 0, &a),
		 -ENAMETOOLONG);
	CHECK_EQ(vf_vault_mkdir(v, &root, 1, ".snapshots", 0755, &a), -EPERM);
	CHECK_EQ(vf_vault_mknod(v, &root, 1, "fifo", S_IFIFO | 0600, 0, &a), 0);
	CHECK(S_ISFIFO(a.mode));
	/* xattrs */
	CHECK_EQ(vf_vault_setxattr(v, &root, a.ino, "user.k", "v1", 2, 0), 0);
	CHECK_EQ(vf_vault_setxattr(v, &root, a.ino, "user.k", "v2", 2,
				   XATTR_CREATE),
		 -EEXIST);
	CHECK_EQ(vf_vault_getxattr(v, &root, a.ino, "user.k", NULL, 0), 2);
	CHECK_EQ(vf_vault_removexattr(v, &root, a.ino, "user.k"), 0);
	CHECK_EQ(vf_vault_getxattr(v, &root, a.ino, "user.k", NULL, 0),
		 -ENODATA);
	/* everything survives a reopen */
	v = reopen(v);
	if (!v)
		{ CHECK(0); return; }
	CHECK_EQ(vf_vault_lookup(v, &root, 1, "fifo", &b), 0);
	CHECK_EQ(vf_vault_lookup(v, &root, 1, "d", &b), -ENOENT);
	CHECK_EQ(entries(v, 1), 4);
	CHECK_EQ(vf_vault_close(v), 0);
}

static void data_paths(void)
{
	struct vf_vault *v = fresh();
	size_t len = 5u << 20;
	uint8_t *buf = malloc(len), *patch = malloc(200000);
	struct vf_handle *h;
	struct vf_setattr sa;
	struct vf_attr a;
	uint64_t ino;

	if (!v || !buf || !patch)
		{ CHECK(0); return; }
	fill_random(buf, len);
	/* streaming in kernel-sized pieces */
	ino = put_file(v, 1, "big", buf, len, 131072);
	CHECK(same_content(v, ino, buf, len));
	/* random writes into the middle */
	fill_random(patch, 200000);
	CHECK_EQ(vf_vault_open_file(v, &root, ino, O_RDWR, &h), 0);
	CHECK_EQ(vf_vault_write(v, h, 1234567, patch, 200000), 200000);
	memcpy(buf + 1234567, patch, 200000);
	CHECK_EQ(vf_vault_write(v, h, 17, "x", 1), 1);
	buf[17] = 'x';
	/* visible before the commit */
	{
		uint8_t got[16];

		CHECK_EQ(vf_vault_read(v, h, 1234567, got, 16), 16);
		CHECK(!memcmp(got, patch, 16));
	}
	CHECK_EQ(vf_vault_flush(v, h), 0);
	CHECK_EQ(vf_vault_release(v, h), 0);
	CHECK(same_content(v, ino, buf, len));
	/* truncate down and up */
	memset(&sa, 0, sizeof(sa));
	sa.valid = VF_SET_SIZE;
	sa.size = 3000000;
	CHECK_EQ(vf_vault_setattr(v, &root, ino, NULL, &sa, &a), 0);
	CHECK_EQ(a.size, 3000000);
	sa.size = 4000000;
	CHECK_EQ(vf_vault_setattr(v, &root, ino, NULL, &sa, &a), 0);
	memset(buf + 3000000, 0, 1000000);
	CHECK(same_content(v, ino, buf, 4000000));
	/* append to an old file */
	CHECK_EQ(vf_vault_open_file(v, &root, ino, O_WRONLY, &h), 0);
	CHECK_EQ(vf_vault_write(v, h, 4000000, patch, 5000), 5000);
	memcpy(buf + 4000000, patch, 5000);
	CHECK_EQ(vf_vault_release(v, h), 0);
	v = reopen(v);
	if (!v)
		{ CHECK(0); return; }
	CHECK(same_content(v, ino, buf, 4005000));
	/* a write far past the end leaves a hole of zeros */
	CHECK_EQ(vf_vault_open_file(v, &root, ino, O_WRONLY, &h), 0);
	CHECK_EQ(vf_vault_write(v, h, 9000000, "end", 3), 3);
	CHECK_EQ(vf_vault_release(v, h), 0);
	{
		uint8_t *big = calloc(1, 9000003);

		if (big) {
			memcpy(big, buf, 4005000);
			memcpy(big + 9000000, "end", 3);
			CHECK(same_content(v, ino, big, 9000003));
		}
		free(big);
	}
	{
		struct vf_status st;

		CHECK_EQ(vf_vault_status(v, &st), 0);
		CHECK_EQ(st.versions, 6);
		CHECK_EQ(vf_vault_check(v, 1, NULL, NULL), 0);
	}
	CHECK_EQ(vf_vault_close(v), 0);
	free(buf);
	free(patch);
}

static uint64_t stored(struct vf_vault *v)
{
	struct vf_status st;

	CHECK_EQ(vf_vault_status(v, &st), 0);
	return st.stored_bytes;
}

/* Acceptance (docs/testing.md, 0008-dedup): small edits to a 64 MiB file
 * store about one chunk. */
static void dedup_small_edits(void)
{
	struct vf_vault *v = fresh();
	size_t len = 64u << 20;
	uint8_t *buf = malloc(len + 10);
	struct vf_handle *h;
	uint64_t ino, s0, s1, s2, s3;

	if (!v || !buf)
		{ CHECK(0); return; }
	fill_random(buf + 10, len);
	ino = put_file(v, 1, "f", buf + 10, len, 1u << 20);
	s0 = stored(v);
	CHECK(s0 > len - len / 64);
	/* one byte in place, in the middle */
	CHECK_EQ(vf_vault_open_file(v, &root, ino, O_WRONLY, &h), 0);
	CHECK_EQ(vf_vault_write(v, h, len / 2, "!", 1), 1);
	CHECK_EQ(vf_vault_release(v, h), 0);
	buf[10 + len / 2] = '!';
	s1 = stored(v);
	CHECK(s1 - s0 < (4u << 20));
	/* ten bytes inserted at the front: a whole new version */
	memcpy(buf, "0123456789", 10);
	put_file(v, 1, "f", buf, len + 10, 1u << 20);
	s2 = stored(v);
	CHECK(s2 - s1 < (6u << 20));
	CHECK(same_content(v, ino, buf, len + 10));
	/* a second copy stores nothing new */
	put_file(v, 1, "copy", buf, len + 10, 1u << 20);
	s3 = stored(v);
	CHECK(s3 - s2 < (len / 20));
	printf("# 1-byte edit +%llu KiB, 10-byte insert +%llu KiB, copy +%llu "
	       "KiB\n",
	       (unsigned long long)(s1 - s0) >> 10,
	       (unsigned long long)(s2 - s1) >> 10,
	       (unsigned long long)(s3 - s2) >> 10);
	CHECK_EQ(vf_vault_close(v), 0);
	free(buf);
}

/* Fails the Nth pack write (EIO, then ENOSPC) while files are written;
 * after each failure the vault still checks clean and every file whose
 * close succeeded reads back. */
static void fault_injection(void)
{
	static const int errs[] = { EIO, ENOSPC };
	size_t len = 3u << 20, e;
	uint8_t *buf = malloc(len);
	long nth;

	if (!buf)
		{ CHECK(0); return; }
	for (e = 0; e < 2; e++) {
		for (nth = 1; nth <= 12; nth++) {
			struct vf_vault *v = fresh();
			struct vf_pack_io *io;
			struct vf_handle *h;
			struct vf_attr a;
			int ok[4] = { 0 }, i;
			char name[8];

			if (!v)
				{ CHECK(0); return; }
			CHECK_EQ(vf_vault_fault_io(v, &io), 0);
			vf_pack_io_fault_set(io, nth, errs[e]);
			for (i = 0; i < 4; i++) {
				int rc = 0;

				snprintf(name, sizeof(name), "f%d", i);
				fill_random(buf, len);
				if (vf_vault_create_file(v, &root, 1, name, 0644,
							 O_WRONLY, &a, &h))
					continue;
				if (vf_vault_write(v, h, 0, buf, len) !=
				    (ssize_t)len)
					rc = -1;
				if (!rc && vf_vault_flush(v, h))
					rc = -1;
				vf_vault_release(v, h);
				ok[i] = !rc;
			}
			vf_pack_io_fault_set(io, 0, 0);
			CHECK_EQ(vf_vault_check(v, 1, NULL, NULL), 0);
			v = reopen(v);
			if (!v)
				{ CHECK(0); return; }
			CHECK_EQ(vf_vault_check(v, 1, NULL, NULL), 0);
			for (i = 0; i < 4; i++) {
				snprintf(name, sizeof(name), "f%d", i);
				if (ok[i])
					CHECK_EQ(vf_vault_lookup(v, &root, 1,
								 name, &a),
						 0);
			}
			CHECK_EQ(vf_vault_close(v), 0);
		}
	}
	free(buf);
}

static void bad_keys(void)
{
	struct vf_vault *v = fresh(), *w = NULL;
	struct vf_protector_opts other = { .keystore = "/nonexistent-ks" };
	char err[256];

	if (!v)
		{ CHECK(0); return; }
	/* the daemon holds the lock */
	CHECK_EQ(vf_vault_open(dir, &opts, 0, &w, err, sizeof(err)), -EBUSY);
	CHECK_EQ(vf_vault_close(v), 0);
	CHECK_EQ(vf_vault_open(dir, &other, 0, &w, err, sizeof(err)), -ENOENT);
	CHECK(strchr(err, '\n') == NULL);
	CHECK_EQ(vf_vault_open("/tmp", &opts, 0, &w, err, sizeof(err)),
		 -EPERM);
	CHECK(strstr(err, "unsafe permissions") != NULL);
}

/* rename, link and unlink change a file's ctime even while it is open
 * with unflushed writes, and the close does not write the older ctime
 * back (POSIX; ext4 does the same). */
static void ctime_while_dirty(void)
{
	struct vf_vault *v = fresh();
	struct vf_handle *h = NULL;
	struct vf_attr a, b;
	struct timespec nap = { 0, 20 * 1000 * 1000 };
	int64_t before;

	if (!v)
		return;
	CHECK_EQ(vf_vault_create_file(v, &root, VF_ROOT_INO, "f", 0644,
				      O_WRONLY, &a, &h), 0);
	CHECK_EQ(vf_vault_write(v, h, 0, "dirty", 5), 5);
	CHECK_EQ(vf_vault_getattr(v, &root, a.ino, &a), 0);
	nanosleep(&nap, NULL);
	before = vf_clock_now();
	CHECK_EQ(vf_vault_rename(v, &root, VF_ROOT_INO, "f", VF_ROOT_INO,
				 "g", 0), 0);
	CHECK_EQ(vf_vault_getattr(v, &root, a.ino, &b), 0);
	CHECK(b.ctime >= before);
	nanosleep(&nap, NULL);
	before = vf_clock_now();
	CHECK_EQ(vf_vault_link(v, &root, a.ino, VF_ROOT_INO, "h", &b), 0);
	CHECK_EQ(vf_vault_getattr(v, &root, a.ino, &b), 0);
	CHECK(b.ctime >= before);
	CHECK_EQ(vf_vault_flush(v, h), 0);
	CHECK_EQ(vf_vault_release(v, h), 0);
	CHECK_EQ(vf_vault_getattr(v, &root, a.ino, &b), 0);
	CHECK(b.ctime >= before);
	v = reopen(v);
	if (!v)
		return;
	CHECK_EQ(vf_vault_getattr(v, &root, a.ino, &b), 0);
	CHECK(b.ctime >= before);
	CHECK_EQ(vf_vault_close(v), 0);
}

/* The create, the xattrs and the attributes of a file being written are
 * committed with its close, in one transaction (catalog.h, deferred
 * commits).  A crash loses a file whose close did not return and nothing
 * else: not a file closed before, not a change made meanwhile to a file
 * that is not open (outside any transaction: it must not wait in the
 * pending one), and a step that fails undoes itself only. */
static void deferred_commits(void)
{
	struct vf_vault *v = fresh();
	struct vf_handle *h = NULL;
	struct vf_io_counts io0, io1;
	struct vf_setattr sa = { .valid = VF_SET_MODE, .mode = S_IFREG | 0600 };
	struct vf_attr a, d;
	char buf[16], err[256];
	pid_t pid;
	int st;

	if (!v)
		return;
	CHECK_EQ(vf_vault_create_file(v, &root, VF_ROOT_INO, "d", 0644,
				      O_WRONLY, &d, &h), 0);
	CHECK_EQ(vf_vault_setxattr(v, &root, d.ino, "user.x", "1", 1, 0), 0);
	CHECK_EQ(vf_vault_release(v, h), 0);
	/* a: create, write, xattr, a refused XATTR_CREATE, fchmod, close:
	 * one transaction */
	vf_vault_io_counts(v, &io0);
	CHECK_EQ(vf_vault_create_file(v, &root, VF_ROOT_INO, "a", 0644,
				      O_WRONLY, &a, &h), 0);
	CHECK_EQ(vf_vault_write(v, h, 0, "data", 4), 4);
	CHECK_EQ(vf_vault_setxattr(v, &root, a.ino, "user.a", "2", 1, 0), 0);
	CHECK_EQ(vf_vault_setxattr(v, &root, a.ino, "user.a", "3", 1,
				   XATTR_CREATE), -EEXIST);
	CHECK_EQ(vf_vault_setattr(v, &root, a.ino, h, &sa, &a), 0);
	CHECK_EQ(vf_vault_flush(v, h), 0);
	CHECK_EQ(vf_vault_release(v, h), 0);
	vf_vault_io_counts(v, &io1);
	CHECK_EQ(io1.commits - io0.commits, 1);
	CHECK_EQ(vf_vault_close(v), 0);

	pid = fork();
	if (pid == 0) {
		struct vf_vault *cv = NULL;
		struct vf_attr b;
		struct vf_handle *hb = NULL, *hc = NULL;

		if (vf_vault_open(dir, &opts, 0, &cv, err, sizeof(err)))
			_exit(2);
		/* b: created and left open ... */
		if (vf_vault_create_file(cv, &root, VF_ROOT_INO, "b", 0644,
					 O_WRONLY, &b, &hb) ||
		    vf_vault_setxattr(cv, &root, b.ino, "user.b", "4", 1, 0))
			_exit(3);
		/* ... while d, closed, changes outside a transaction */
		if (vf_vault_removexattr(cv, &root, d.ino, "user.x") ||
		    vf_vault_setattr(cv, &root, d.ino, NULL, &sa, &b))
			_exit(4);
		/* c: created, written, never closed */
		if (vf_vault_create_file(cv, &root, VF_ROOT_INO, "c", 0644,
					 O_WRONLY, &b, &hc) ||
		    vf_vault_write(cv, hc, 0, "lost", 4) != 4 ||
		    vf_vault_setxattr(cv, &root, b.ino, "user.c", "5", 1, 0))
			_exit(5);
		kill(getpid(), SIGKILL);
		_exit(6);
	}
	CHECK(pid > 0);
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFSIGNALED(st));
	v = NULL;
	if (vf_vault_open(dir, &opts, 0, &v, err, sizeof(err))) {
		fprintf(stderr, "reopen: %s\n", err);
		CHECK(0);
		return;
	}
	CHECK_EQ(vf_vault_lookup(v, &root, VF_ROOT_INO, "a", &a), 0);
	CHECK_EQ(a.size, 4);
	CHECK_EQ(a.mode, S_IFREG | 0600);
	CHECK_EQ(vf_vault_getxattr(v, &root, a.ino, "user.a", buf,
				   sizeof(buf)), 1);
	CHECK_EQ(buf[0], '2');
	CHECK_EQ(vf_vault_lookup(v, &root, VF_ROOT_INO, "d", &d), 0);
	CHECK_EQ(d.mode, S_IFREG | 0600);
	CHECK_EQ(vf_vault_getxattr(v, &root, d.ino, "user.x", buf,
				   sizeof(buf)), -ENODATA);
	/* b's create went with d's changes, its data never existed */
	CHECK_EQ(vf_vault_lookup(v, &root, VF_ROOT_INO, "b", &a), 0);
	CHECK_EQ(a.size, 0);
	CHECK_EQ(vf_vault_lookup(v, &root, VF_ROOT_INO, "c", &a), -ENOENT);
	CHECK_EQ(vf_vault_close(v), 0);
}

/* The vault clock: a new vault starts at the wall clock, stamps are never
 * below it, it goes on while open and does not run back across a close
 * and reopen (the mark saved at close); the credit a jump is limited to is
 * t-policy's clock_table, a jump at start is 0025-clock's. */
static void vault_clock(void)
{
	struct vf_vault *v = fresh();
	const struct timespec ms = { 0, 10 * 1000 * 1000 };
	int64_t t0, t1, t2, wall;

	if (!v)
		{ CHECK(0); return; }
	t0 = vf_vault_now(v);
	wall = vf_clock_now();
	CHECK(t0 > wall - 60 * VF_NS && t0 < wall + 60 * VF_NS);
	t0 = vf_vault_now(v);
	CHECK(vf_vault_stamp(v) >= t0);
	nanosleep(&ms, NULL);
	t1 = vf_vault_now(v);
	CHECK(t1 > t0);
	v = reopen(v);
	if (!v)
		{ CHECK(0); return; }
	t2 = vf_vault_now(v);
	CHECK(t2 >= t1);
	CHECK(vf_vault_stamp(v) >= t2);
	CHECK(vf_vault_now(v) >= t2);
	CHECK_EQ(vf_vault_close(v), 0);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/t-vault.%d", (int)getpid());
	snprintf(ks, sizeof(ks), "/tmp/t-vault-ks.%d", (int)getpid());
	RUN(namespace_ops);
	RUN(data_paths);
	RUN(dedup_small_edits);
	RUN(fault_injection);
	RUN(bad_keys);
	RUN(ctime_while_dirty);
	RUN(deferred_commits);
	RUN(vault_clock);
	{
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "rm -rf %s %s", dir, ks);
		if (system(cmd) != 0)
			return 1;
	}
	return unit_exit();
}
