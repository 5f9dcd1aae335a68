/*
 * t-anchor.c - catalog anchors (anchor.h): the 104-byte format round-trips
 * and refuses every flipped bit, a wrong key, vault id or length; the
 * digest follows the page tails and the size; and, on a real vault, a
 * catalog copied back or spliced from an older copy is refused at open
 * with one line, --accept-rollback opens it (audited), a crash (a child
 * killed without closing) is not taken for a rollback, and check names the
 * tables of a catalog with damaged pages.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "anchor.h"
#include "unit.h"
#include "vtest.h"

static const uint8_t key[32] = { 7, 1, 7 };
static const uint8_t id[16] = { 0xaa, 0xbb };

static void test_format(void)
{
	struct vf_anchor a = { .epoch = 0x0102030405060708ull, .size = 8192 },
			 b;
	uint8_t buf[VF_ANCHOR_BYTES], other[32] = { 1 };
	size_t i;
	int bit;

	memset(a.digest, 0x5c, sizeof(a.digest));
	vf_anchor_encode(&a, key, id, buf);
	CHECK(!memcmp(buf, "VFANCHR1", 8));
	CHECK(!memcmp(buf + 8, id, 16));
	CHECK_EQ(buf[24], 0x08); /* little-endian epoch */
	CHECK_EQ(buf[31], 0x01);
	CHECK_EQ(vf_anchor_decode(buf, sizeof(buf), key, id, &b), 0);
	CHECK_EQ(b.epoch, a.epoch);
	CHECK_EQ(b.size, a.size);
	CHECK(!memcmp(b.digest, a.digest, 32));
	for (i = 0; i < sizeof(buf); i++)
		for (bit = 0; bit < 8; bit++) {
			buf[i] ^= (uint8_t)(1 << bit);
			CHECK_EQ(vf_anchor_decode(buf, sizeof(buf), key, id, &b),
				 -EBADMSG);
			buf[i] ^= (uint8_t)(1 << bit);
		}
	CHECK_EQ(vf_anchor_decode(buf, sizeof(buf) - 1, key, id, &b), -EBADMSG);
	CHECK_EQ(vf_anchor_decode(buf, sizeof(buf), other, id, &b), -EBADMSG);
	CHECK_EQ(vf_anchor_decode(buf, sizeof(buf), key, other, &b), -EBADMSG);
}

static void put_file(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	CHECK(f != NULL);
	if (!f)
		return;
	CHECK_EQ(fwrite(p, 1, n, f), n);
	fclose(f);
}

static void test_digest_and_files(void)
{
	static uint8_t pages[3 * 4096];
	struct vf_anchor a, b, c;
	char path[128], apath[128];

	snprintf(path, sizeof(path), "%s.db", vt_dir);
	snprintf(apath, sizeof(apath), "%s.anchor", vt_dir);
	memset(pages, 0x11, sizeof(pages));
	put_file(path, pages, sizeof(pages));
	CHECK_EQ(vf_anchor_digest(path, key, &a), 0);
	CHECK_EQ(a.size, sizeof(pages));
	/* a body byte: the page's tag covers it, the digest need not */
	pages[4096 + 10] ^= 1;
	put_file(path, pages, sizeof(pages));
	CHECK_EQ(vf_anchor_digest(path, key, &b), 0);
	CHECK(!memcmp(a.digest, b.digest, 32));
	/* a tag byte of page 2 */
	pages[2 * 4096 + 4095] ^= 1;
	put_file(path, pages, sizeof(pages));
	CHECK_EQ(vf_anchor_digest(path, key, &b), 0);
	CHECK(memcmp(a.digest, b.digest, 32));
	/* one page fewer */
	put_file(path, pages, 2 * 4096);
	CHECK_EQ(vf_anchor_digest(path, key, &c), 0);
	CHECK_EQ(c.size, 2 * 4096);
	CHECK(memcmp(c.digest, b.digest, 32));
	a.epoch = 42;
	CHECK_EQ(vf_anchor_read(apath, key, id, &b), -ENOENT);
	CHECK_EQ(vf_anchor_write(apath, key, id, &a), 0);
	memset(&b, 0, sizeof(b));
	CHECK_EQ(vf_anchor_read(apath, key, id, &b), 0);
	CHECK_EQ(b.epoch, 42);
	CHECK(!memcmp(a.digest, b.digest, 32));
	unlink(path);
	unlink(apath);
}

static int copy(const char *from, const char *to)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "cp %s %s", from, to);
	return system(cmd);
}

static int run_bash(const char *script)
{
	char cmd[1200];

	snprintf(cmd, sizeof(cmd), "bash -c '%s'", script);
	return system(cmd);
}

static struct vf_vault *open_flags(int flags, int *rc, char *err, size_t n)
{
	struct vf_vault *v = NULL;

	err[0] = '\0';
	*rc = vf_vault_open(vt_dir, &vt_opts, flags, &v, err, n);
	return *rc ? NULL : v;
}

static void test_rollback_and_splice(void)
{
	struct vf_vault *v = vt_fresh();
	char db[128], wal[128], old[128], cur[128], err[512], cmd[1024];
	int rc, i;

	if (!v)
		return;
	snprintf(db, sizeof(db), "%s/catalog.db", vt_dir);
	snprintf(wal, sizeof(wal), "%s/catalog.db-wal", vt_dir);
	snprintf(old, sizeof(old), "%s.old", vt_dir);
	snprintf(cur, sizeof(cur), "%s.cur", vt_dir);
	vt_put(v, 1, "a", "first");
	CHECK_EQ(vf_vault_close(v), 0);
	CHECK_EQ(copy(db, old), 0);
	v = open_flags(0, &rc, err, sizeof(err));
	CHECK(v != NULL);
	for (i = 0; v && i < 50; i++) {
		char name[16];

		snprintf(name, sizeof(name), "b%d", i);
		vt_put(v, 1, name, "second");
	}
	CHECK_EQ(vf_vault_close(v), 0);
	CHECK_EQ(copy(db, cur), 0);

	/* whole file */
	CHECK_EQ(copy(old, db), 0);
	unlink(wal);
	v = open_flags(0, &rc, err, sizeof(err));
	CHECK(v == NULL);
	CHECK_EQ(rc, -ESTALE);
	CHECK(strstr(err, "went back: anchor says epoch") != NULL);
	CHECK(strchr(err, '\n') == NULL);
	v = open_flags(VF_OPEN_RDONLY, &rc, err, sizeof(err));
	CHECK(v == NULL);
	CHECK_EQ(rc, -ESTALE);

	/* one page, not the first (which holds the epoch): the last one
	 * that differs between the two copies */
	CHECK_EQ(copy(cur, db), 0);
	snprintf(cmd, sizeof(cmd),
		 "n=$(($(stat -c %%s %s) / 4096 - 1)); while [ $n -gt 0 ]; do "
		 "cmp -s <(dd if=%s bs=4096 skip=$n count=1 status=none) "
		 "<(dd if=%s bs=4096 skip=$n count=1 status=none) || break; "
		 "n=$((n - 1)); done; [ $n -gt 0 ] && "
		 "dd if=%s of=%s bs=4096 skip=$n seek=$n count=1 conv=notrunc "
		 "status=none", old, old, cur, old, db);
	CHECK_EQ(run_bash(cmd), 0);
	v = open_flags(0, &rc, err, sizeof(err));
	CHECK(v == NULL);
	CHECK_EQ(rc, -ESTALE);
	CHECK(strstr(err, "was altered: its pages differ from the anchor") !=
	      NULL);
	vf_vault_close(v);

	/* the current file is fine */
	CHECK_EQ(copy(cur, db), 0);
	v = open_flags(0, &rc, err, sizeof(err));
	CHECK(v != NULL);
	CHECK_EQ(vf_vault_close(v), 0);

	/* deliberate recovery */
	CHECK_EQ(copy(old, db), 0);
	unlink(wal);
	v = open_flags(VF_OPEN_ACCEPT_ROLLBACK, &rc, err, sizeof(err));
	CHECK(v != NULL);
	CHECK_EQ(vf_vault_close(v), 0);
	v = open_flags(0, &rc, err, sizeof(err));
	CHECK(v != NULL); /* re-anchored: a plain open works again */
	CHECK_EQ(vf_vault_close(v), 0);
	unlink(old);
	unlink(cur);
}

/* A child writes and dies without closing, at several points: the next
 * open must never see a rollback. */
static void test_crash_not_rollback(void)
{
	struct vf_vault *v = vt_fresh();
	char err[512];
	int round, rc;

	if (!v)
		return;
	CHECK_EQ(vf_vault_close(v), 0);
	for (round = 0; round < 6; round++) {
		pid_t pid = fork();
		int st;

		if (pid == 0) {
			struct vf_vault *cv = NULL;
			int i;

			if (vf_vault_open(vt_dir, &vt_opts, 0, &cv, err,
					  sizeof(err)))
				_exit(2);
			for (i = 0; i < 20 * round; i++) {
				char name[16];

				snprintf(name, sizeof(name), "r%d-%d", round, i);
				vt_put(cv, 1, name, "x");
			}
			kill(getpid(), SIGKILL);
			_exit(3);
		}
		CHECK(pid > 0);
		CHECK_EQ(waitpid(pid, &st, 0), pid);
		CHECK(WIFSIGNALED(st));
		v = open_flags(0, &rc, err, sizeof(err));
		if (!v)
			fprintf(stderr, "round %d: %s\n", round, err);
		CHECK(v != NULL);
		if (v && round) {
			struct vf_attr a;

			CHECK_EQ(vf_vault_lookup(v, &vt_root, 1, "r1-19", &a), 0);
		}
		CHECK_EQ(vf_vault_close(v), 0);
	}
}

struct seen {
	int tables, pages;
};

static void on_damage(void *arg, const char *path, const char *what)
{
	struct seen *s = arg;

	if (!strncmp(path, "catalog table ", 14))
		s->tables++;
	else if (!strncmp(path, "catalog page ", 13))
		s->pages++;
	(void)what;
}

static void test_check_reads_whole_catalog(void)
{
	struct vf_vault *v = vt_fresh();
	struct seen s = { 0, 0 };
	char db[128], cmd[512];
	int i, rc;

	if (!v)
		return;
	for (i = 0; i < 300; i++) {
		char name[32];

		snprintf(name, sizeof(name), "file-%04d-with-a-longer-name", i);
		vt_put(v, 1, name, "content");
	}
	/* Damage under the open vault (pages open read are cached, so it
	 * is check's own reading that must find it): one byte in the body
	 * of every third page from page 3 on. */
	v = vt_reopen(v);
	if (!v)
		return;
	snprintf(db, sizeof(db), "%s/catalog.db", vt_dir);
	snprintf(cmd, sizeof(cmd),
		 "n=$(($(stat -c %%s %s) / 4096)); p=2; while [ $p -lt $n ]; do "
		 "printf '\\377' | dd of=%s bs=1 seek=$((p * 4096 + 100)) "
		 "conv=notrunc status=none; p=$((p + 3)); done", db, db);
	CHECK_EQ(system(cmd), 0);
	rc = vf_vault_check(v, 0, on_damage, &s);
	printf("# check: %d problems, %d tables, %d pages named\n", rc, s.tables,
	       s.pages);
	CHECK(rc > 0);
	CHECK(s.pages > 0);
	CHECK(s.tables > 0);
	vf_vault_close(v);
}

int main(void)
{
	vt_setup("t-anchor");
	RUN(test_format);
	RUN(test_digest_and_files);
	RUN(test_rollback_and_splice);
	RUN(test_crash_not_rollback);
	RUN(test_check_reads_whole_catalog);
	vt_cleanup();
	return unit_exit();
}
