/*
 * s3probe.c - drives the S3 backend (core/s3.c) against a real store, for
 * tests/integration/0040-s3-store.sh and the figures in
 * docs/remote-store.md.
 *
 *   s3probe mkbucket [lock]     create the bucket of VF_S3_URL
 *   s3probe basic               put, get, get_range, head, list, remove,
 *                               a missing key, an oversized get
 *   s3probe many N              N tiny objects put by 4 threads, listed
 *                               (pages of 1000), removed
 *   s3probe bigfile MIB         put_fd and get_fd of a MIB MiB file; the
 *                               peak RSS growth must stay under 16 MiB
 *   s3probe bench N MIB         N objects of MIB MiB: PUT and GET MB/s
 *   s3probe retention           Object Lock: a COMPLIANCE retention holds
 *                               a version against DELETE
 *   s3probe head KEY            one HEAD (for the error cases)
 *   s3probe put KEY             one small PUT (for the error cases)
 *   s3probe list PREFIX         "KEY SIZE" per object
 *   s3probe putfile KEY FILE    put FILE's bytes (tests overwrite objects)
 *   s3probe rm KEY              remove (a delete marker on a versioned bucket)
 *
 * The store comes from the environment: VF_S3_URL (s3://BUCKET[/PREFIX]),
 * VF_S3_ENDPOINT, VF_S3_CREDENTIALS, VF_S3_CA, VF_S3_PROFILE,
 * VF_S3_REGION, VF_S3_ALLOW_HTTP=1.  Results go to stdout ("ok ..." and
 * figures); a failure prints one line "s3probe: MESSAGE" on stderr and
 * exits with the errno (ENOENT 2, EACCES 13, EAGAIN 11, EINVAL 22...),
 * 1 for a wrong result.
 */
#include "objstore.h"
#include "s3.h"

#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static struct vf_store_cfg cfg;

static void die_err(int e, const char *what)
{
	fprintf(stderr, "s3probe: %s\n",
		*vf_objstore_errmsg() ? vf_objstore_errmsg() : what);
	exit(e < 0 ? -e : 1);
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "s3probe: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long status_kib(const char *field)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, strlen(field)) == 0)
			v = strtol(line + strlen(field), NULL, 10);
	fclose(f);
	return v;
}

static struct vf_objstore *open_store(void)
{
	struct vf_objstore *s;
	int e;

	cfg.url = getenv("VF_S3_URL");
	cfg.endpoint = getenv("VF_S3_ENDPOINT");
	cfg.credentials = getenv("VF_S3_CREDENTIALS");
	cfg.ca_file = getenv("VF_S3_CA");
	if (cfg.ca_file && !*cfg.ca_file)
		cfg.ca_file = NULL;
	cfg.profile = getenv("VF_S3_PROFILE");
	cfg.region = getenv("VF_S3_REGION");
	cfg.allow_http = getenv("VF_S3_ALLOW_HTTP") &&
			 strcmp(getenv("VF_S3_ALLOW_HTTP"), "1") == 0;
	e = vf_s3_new(&cfg, &s);
	if (e)
		die_err(e, "vf_s3_new failed");
	return s;
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
	size_t i;
	uint32_t x = seed * 2654435761u + 1;

	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)x;
	}
}

struct listed {
	int n;
	char first[VF_OBJKEY_MAX + 1];
	uint64_t size_sum;
	int64_t mtime;
	int stop_at;
};

static int count_cb(void *arg, const struct vf_objinfo *o)
{
	struct listed *l = arg;

	if (l->n == 0)
		snprintf(l->first, sizeof(l->first), "%s", o->key);
	l->n++;
	l->size_sum += o->size;
	l->mtime = o->mtime_s;
	return l->stop_at && l->n == l->stop_at ? 42 : 0;
}

static int cmd_basic(struct vf_objstore *s)
{
	static const char msg[] = "hello, object store";
	char range[6] = { 0 };
	void *data = NULL;
	size_t len = 0;
	uint64_t size = 0;
	struct listed l = { 0 };
	int e;

	if ((e = s->ops->put(s, "basic/a.txt", msg, sizeof(msg) - 1)) ||
	    (e = s->ops->put(s, "basic/b/c.bin", "", 0)) ||
	    (e = s->ops->put(s, "basic/b/d.bin", "xyz", 3)))
		die_err(e, "put");
	if ((e = s->ops->get(s, "basic/a.txt", &data, &len, 1000)))
		die_err(e, "get");
	if (len != sizeof(msg) - 1 || memcmp(data, msg, len) != 0)
		fail("get returned other bytes");
	free(data);
	if ((e = s->ops->get(s, "basic/b/c.bin", &data, &len, 1000)))
		die_err(e, "get empty");
	if (len != 0)
		fail("empty object came back non-empty");
	free(data);
	e = s->ops->get(s, "basic/a.txt", &data, &len, 5);
	if (e != -EFBIG)
		fail("get over max did not give EFBIG: %s", vf_objstore_errmsg());
	printf("ok get over max: %s\n", vf_objstore_errmsg());
	if ((e = s->ops->get_range(s, "basic/a.txt", 7, range, 5)))
		die_err(e, "get_range");
	if (memcmp(range, "objec", 5) != 0)
		fail("get_range returned '%s'", range);
	e = s->ops->get_range(s, "basic/a.txt", 15, range, 10);
	if (e != -EIO)
		fail("get_range past the end did not give EIO: %s",
		     vf_objstore_errmsg());
	printf("ok short range: %s\n", vf_objstore_errmsg());
	if ((e = s->ops->head(s, "basic/a.txt", &size)))
		die_err(e, "head");
	if (size != sizeof(msg) - 1)
		fail("head gave a wrong size");
	if ((e = s->ops->list(s, "basic/", count_cb, &l)))
		die_err(e, "list");
	if (l.n != 3 || strcmp(l.first, "basic/a.txt") != 0 ||
	    l.size_sum != sizeof(msg) - 1 + 3 ||
	    l.mtime < (int64_t)time(NULL) - 3600 ||
	    l.mtime > (int64_t)time(NULL) + 3600)
		fail("list of basic/ is wrong (first '%s')", l.first);
	memset(&l, 0, sizeof(l));
	if ((e = s->ops->list(s, "basic/b/", count_cb, &l)) || l.n != 2)
		fail("list of basic/b/ is wrong: %s", vf_objstore_errmsg());
	memset(&l, 0, sizeof(l));
	l.stop_at = 1;
	if (s->ops->list(s, "basic/", count_cb, &l) != 42 || l.n != 1)
		fail("list did not stop at the callback's return");
	e = s->ops->head(s, "basic/missing", &size);
	if (e != -ENOENT)
		fail("head of a missing key did not give ENOENT: %s",
		     vf_objstore_errmsg());
	printf("ok missing head: %s\n", vf_objstore_errmsg());
	e = s->ops->get(s, "basic/missing", &data, &len, 100);
	if (e != -ENOENT)
		fail("get of a missing key did not give ENOENT: %s",
		     vf_objstore_errmsg());
	printf("ok missing get: %s\n", vf_objstore_errmsg());
	if ((e = s->ops->remove(s, "basic/a.txt")) ||
	    (e = s->ops->remove(s, "basic/a.txt")) ||
	    (e = s->ops->remove(s, "basic/b/c.bin")) ||
	    (e = s->ops->remove(s, "basic/b/d.bin")))
		die_err(e, "remove");
	if (s->ops->head(s, "basic/a.txt", &size) != -ENOENT)
		fail("a removed object is still there");
	memset(&l, 0, sizeof(l));
	if ((e = s->ops->list(s, "basic/", count_cb, &l)) || l.n != 0)
		fail("list after remove is not empty: %s", vf_objstore_errmsg());
	if (s->ops->put(s, "../x", "", 0) != -EINVAL ||
	    s->ops->put(s, "a//b", "", 0) != -EINVAL ||
	    s->ops->put(s, "A", "", 0) != -EINVAL)
		fail("an invalid key was accepted");
	printf("ok basic\n");
	return 0;
}

struct many {
	struct vf_objstore *s;
	atomic_int next;
	int n;
	bool removing;
	atomic_int err;
};

static void *many_worker(void *arg)
{
	struct many *m = arg;
	char key[64];
	int i, e;

	while ((i = atomic_fetch_add(&m->next, 1)) < m->n) {
		snprintf(key, sizeof(key), "many/k%05d", i);
		e = m->removing ? m->s->ops->remove(m->s, key) :
				  m->s->ops->put(m->s, key, key, strlen(key));
		if (e) {
			int z = 0;

			if (atomic_compare_exchange_strong(&m->err, &z, e))
				fprintf(stderr, "s3probe: %s\n",
					vf_objstore_errmsg());
			break;
		}
	}
	return NULL;
}

static void many_run(struct many *m)
{
	pthread_t t[4];
	int i;

	atomic_store(&m->next, 0);
	for (i = 0; i < 4; i++)
		if (pthread_create(&t[i], NULL, many_worker, m))
			fail("pthread_create failed");
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	if (atomic_load(&m->err))
		exit(-atomic_load(&m->err));
}

static int cmd_many(struct vf_objstore *s, int n)
{
	struct many m = { .s = s, .n = n };
	struct listed l = { 0 };
	double t0 = now_s();
	int e;

	many_run(&m);
	printf("put %d objects in %.2f s\n", n, now_s() - t0);
	t0 = now_s();
	if ((e = s->ops->list(s, "many/", count_cb, &l)))
		die_err(e, "list");
	printf("listed %d objects in %.2f s\n", l.n, now_s() - t0);
	if (l.n != n || strcmp(l.first, "many/k00000") != 0)
		fail("listing is wrong (first '%s')", l.first);
	m.removing = true;
	many_run(&m);
	memset(&l, 0, sizeof(l));
	if ((e = s->ops->list(s, "many/", count_cb, &l)) || l.n != 0)
		fail("objects left after remove: %s", vf_objstore_errmsg());
	printf("ok many %d\n", n);
	return 0;
}

/* The streaming budget: 16 MiB whatever the file size.  An ASan build
 * keeps freed blocks in a quarantine (0040 caps it at 16 MiB) and adds its
 * shadow memory, so there the budget grows by what ASan itself holds. */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_BUDGET_KIB (40 * 1024)
#else
#define RSS_BUDGET_KIB (16 * 1024)
#endif

static int cmd_bigfile(struct vf_objstore *s, int mib)
{
	size_t chunk = 1 << 20;
	unsigned char *a = malloc(chunk), *b = malloc(chunk);
	int fs, fd, i, e;
	uint64_t got = 0, size = 0;
	long hwm0, hwm1;
	double t0, tput, tget;

	/* unnamed files: nothing to clean up however the probe ends */
	fs = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	fd = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (!a || !b || fs < 0 || fd < 0)
		fail("cannot make temporary files");
	for (i = 0; i < mib; i++) {
		fill(a, chunk, (unsigned)i);
		if (write(fs, a, chunk) != (ssize_t)chunk)
			fail("cannot write the source file");
	}
	/* Warm up (TLS, handles) so the peak measures the transfers. */
	e = s->ops->head(s, "big/none", &size);
	if (e != -ENOENT)
		die_err(e, "head");
	hwm0 = status_kib("VmHWM:");
	t0 = now_s();
	if ((e = s->ops->put_fd(s, "big/file", fs, (uint64_t)mib << 20)))
		die_err(e, "put_fd");
	tput = now_s() - t0;
	t0 = now_s();
	if ((e = s->ops->get_fd(s, "big/file", fd, &got)))
		die_err(e, "get_fd");
	tget = now_s() - t0;
	hwm1 = status_kib("VmHWM:");
	if (got != (uint64_t)mib << 20)
		fail("get_fd returned a wrong length");
	for (i = 0; i < mib; i++) {
		fill(a, chunk, (unsigned)i);
		if (pread(fd, b, chunk, (off_t)i << 20) != (ssize_t)chunk ||
		    memcmp(a, b, chunk) != 0)
			fail("get_fd returned other bytes");
	}
	if ((e = s->ops->remove(s, "big/file")))
		die_err(e, "remove");
	printf("bigfile %d MiB: put_fd %.0f MB/s, get_fd %.0f MB/s, peak RSS "
	       "growth %ld KiB\n", mib, (double)mib * 1.048576 / tput,
	       (double)mib * 1.048576 / tget, hwm1 - hwm0);
	if (hwm1 - hwm0 > RSS_BUDGET_KIB)
		fail("RSS grew by more than the budget");
	printf("ok bigfile\n");
	free(a);
	free(b);
	close(fs);
	close(fd);
	return 0;
}

static int cmd_bench(struct vf_objstore *s, int n, int mib)
{
	size_t len = (size_t)mib << 20;
	unsigned char *buf = malloc(len);
	char key[64];
	double t0, tput, tget;
	void *data;
	size_t got;
	int i, e;

	if (!buf)
		fail("out of memory");
	fill(buf, len, 7);
	t0 = now_s();
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "bench/o%03d", i);
		buf[0] = (unsigned char)i;
		if ((e = s->ops->put(s, key, buf, len)))
			die_err(e, "put");
	}
	tput = now_s() - t0;
	t0 = now_s();
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "bench/o%03d", i);
		if ((e = s->ops->get(s, key, &data, &got, len)))
			die_err(e, "get");
		if (got != len || ((unsigned char *)data)[0] != (unsigned char)i)
			fail("get returned other bytes");
		free(data);
	}
	tget = now_s() - t0;
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "bench/o%03d", i);
		if ((e = s->ops->remove(s, key)))
			die_err(e, "remove");
	}
	printf("bench %d x %d MiB: PUT %.0f MB/s, GET %.0f MB/s, peak RSS %ld "
	       "KiB\n", n, mib, (double)n * len / 1e6 / tput,
	       (double)n * len / 1e6 / tget, status_kib("VmHWM:"));
	free(buf);
	return 0;
}

static int cmd_retention(struct vf_objstore *s)
{
	int e;

	if ((e = s->ops->put(s, "lock/held", "keep", 4)))
		die_err(e, "put");
	if ((e = vf_s3_put_retention(s, "lock/held", (int64_t)time(NULL) + 600)))
		die_err(e, "put_retention");
	/* Shortening COMPLIANCE retention is refused. */
	e = vf_s3_put_retention(s, "lock/held", (int64_t)time(NULL) + 60);
	if (e != -EACCES)
		fail("shortening retention was not refused: %s",
		     vf_objstore_errmsg());
	printf("ok shorten refused: %s\n", vf_objstore_errmsg());
	printf("ok retention\n");
	return 0;
}

static int print_obj(void *arg, const struct vf_objinfo *o)
{
	printf("%s %" PRIu64 "\n", o->key, o->size);
	return 0;
}

/* putfile KEY FILE: the bytes of FILE (tests overwrite objects with it). */
static int cmd_putfile(struct vf_objstore *s, const char *key,
		       const char *file)
{
	struct stat st;
	int fd = open(file, O_RDONLY | O_CLOEXEC), e;

	if (fd < 0 || fstat(fd, &st) < 0)
		fail("cannot open %s", file);
	e = s->ops->put_fd(s, key, fd, (uint64_t)st.st_size);
	close(fd);
	if (e)
		die_err(e, "put");
	printf("ok put\n");
	return 0;
}

int main(int argc, char **argv)
{
	struct vf_objstore *s;
	uint64_t size;
	int e = 0;

	if (argc < 2)
		goto usage;
	if (strcmp(argv[1], "mkbucket") == 0) {
		bool lock = argc > 2 && strcmp(argv[2], "lock") == 0;

		vf_objstore_free(open_store());
		e = vf_s3_create_bucket(&cfg, lock);
		if (e)
			die_err(e, "create bucket");
		printf("ok bucket\n");
		return 0;
	}
	s = open_store();
	if (strcmp(argv[1], "basic") == 0)
		e = cmd_basic(s);
	else if (strcmp(argv[1], "many") == 0 && argc == 3)
		e = cmd_many(s, atoi(argv[2]));
	else if (strcmp(argv[1], "bigfile") == 0 && argc == 3)
		e = cmd_bigfile(s, atoi(argv[2]));
	else if (strcmp(argv[1], "bench") == 0 && argc == 4)
		e = cmd_bench(s, atoi(argv[2]), atoi(argv[3]));
	else if (strcmp(argv[1], "retention") == 0)
		e = cmd_retention(s);
	else if (strcmp(argv[1], "head") == 0 && argc == 3) {
		e = s->ops->head(s, argv[2], &size);
		if (e)
			die_err(e, "head");
		printf("size %" PRIu64 "\n", size);
	} else if (strcmp(argv[1], "list") == 0 && argc == 3) {
		e = s->ops->list(s, argv[2], print_obj, NULL);
		if (e)
			die_err(e, "list");
	} else if (strcmp(argv[1], "putfile") == 0 && argc == 4) {
		e = cmd_putfile(s, argv[2], argv[3]);
	} else if (strcmp(argv[1], "rm") == 0 && argc == 3) {
		e = s->ops->remove(s, argv[2]);
		if (e)
			die_err(e, "remove");
		printf("ok removed\n");
	} else if (strcmp(argv[1], "put") == 0 && argc == 3) {
		e = s->ops->put(s, argv[2], "probe", 5);
		if (e)
			die_err(e, "put");
		printf("ok put\n");
	} else {
		vf_objstore_free(s);
		goto usage;
	}
	vf_objstore_free(s);
	return e;
usage:
	fprintf(stderr, "usage: s3probe mkbucket [lock] | basic | many N | "
			"bigfile MIB | bench N MIB | retention | head KEY | "
			"put KEY | list PREFIX | putfile KEY FILE | rm KEY\n");
	return 2;
}
