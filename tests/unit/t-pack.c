/*
 * t-pack.c - the chunk codec, pack writer/reader/scan, the local backend
 * and its fault-injecting wrapper.
 */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <zstd.h>

#include "pack.h"
#include "unit.h"

#define MAXC 20000

static struct vf_keys *keys;

/* ---- helpers ------------------------------------------------------- */

static uint64_t rnd_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Chunk i: compressible text on even i, random bytes on odd i. */
static size_t make_chunk(unsigned i, uint8_t *buf, size_t max)
{
	uint64_t s = 0x9e3779b97f4a7c15ull * (i + 1);
	size_t n = 1 + (size_t)(rnd_next(&s) % max), j;

	for (j = 0; j < n; j++)
		buf[j] = (i & 1) ? (uint8_t)rnd_next(&s)
				 : (uint8_t)("vaultfs pack "[j % 13] + i % 3);
	return n;
}

static int fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the DIR's own descriptor */
}

static int rm_one(const char *p, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	return remove(p);
}

static void rmtree(const char *dir)
{
	if (nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0)
		perror(dir);
}

static void pack_path(const char *dir, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%.2s/%s.pack", dir, name, name);
}

/* Encodes chunk i and puts it; fills *loc.  Returns the put result. */
static int put_chunk(struct vf_pack_writer *w, unsigned i,
		     struct vf_pack_loc *loc)
{
	static _Thread_local uint8_t raw[MAXC],
	    sealed[MAXC + 5 + VF_SEAL_OVERHEAD];
	uint8_t id[VF_CHUNK_ID_BYTES];
	size_t n = make_chunk(i, raw, MAXC);
	ssize_t s;

	vf_crypto_chunk_id(keys, raw, n, id);
	s = vf_pack_encode(keys, id, raw, n, sealed);
	if (s < 0)
		return (int)s;
	return vf_pack_put(w, sealed, (size_t)s, loc);
}

/* Reads chunk i back from loc and checks it.  Returns 1 when good. */
static int chunk_ok(struct vf_pack_io *io, unsigned i,
		    const struct vf_pack_loc *loc)
{
	static _Thread_local uint8_t raw[MAXC], got[MAXC],
	    sealed[MAXC + 5 + VF_SEAL_OVERHEAD];
	uint8_t id[VF_CHUNK_ID_BYTES];
	size_t n = make_chunk(i, raw, MAXC);
	ssize_t s, d;

	vf_crypto_chunk_id(keys, raw, n, id);
	s = vf_pack_read(io, loc, sealed, sizeof(sealed));
	if (s < 0)
		return 0;
	d = vf_pack_decode(keys, id, sealed, (size_t)s, got, sizeof(got));
	return d == (ssize_t)n && !memcmp(raw, got, n);
}

struct scan_rec {
	int n;
	uint64_t off[256];
	uint32_t len[256];
	int ok[256];
};

static int scan_cb(void *arg, uint64_t off, uint32_t len, int ok)
{
	struct scan_rec *r = arg;

	if (r->n < 256) {
		r->off[r->n] = off;
		r->len[r->n] = len;
		r->ok[r->n] = ok;
	}
	r->n++;
	return 0;
}

/* 1 when loc is an ok entry of its pack's scan (and the scan is clean). */
static int scanned_ok(struct vf_pack_io *io, const struct vf_pack_loc *loc)
{
	struct scan_rec r = {0};
	uint64_t tail = 0, size = 0;
	int i;

	if (vf_pack_scan(io, loc->pack, scan_cb, &r, &tail) < 0)
		return 0;
	if (io->ops->size(io, loc->pack, &size) < 0 || tail != size)
		return 0;
	for (i = 0; i < r.n && i < 256; i++)
		if (r.off[i] == loc->off)
			return r.ok[i] && r.len[i] == loc->len;
	return 0;
}

static char *tmpdir(void)
{
	char t[64];
	char *d = unit_tmpdir(t, sizeof(t), "t-pack");

	return d ? strdup(d) : NULL;
}

/* ---- codec --------------------------------------------------------- */

static void test_codec_roundtrip(void)
{
	static uint8_t raw[65536], sealed[65536 + 64], out[65536];
	uint8_t id[VF_CHUNK_ID_BYTES];
	uint64_t s = 42;
	size_t sizes[] = {0, 1, 31, 32, 33, 1000, 65536};
	size_t i, j, n;
	ssize_t len, d;

	CHECK_EQ(vf_pack_sealed_bound(100), 100 + 5 + VF_SEAL_OVERHEAD);
	for (i = 0; i < VF_ARRAY_LEN(sizes); i++) {
		int comp;

		for (comp = 0; comp < 2; comp++) {
			n = sizes[i];
			for (j = 0; j < n; j++)
				raw[j] = comp ? (uint8_t)(j % 7)
					      : (uint8_t)rnd_next(&s);
			vf_crypto_chunk_id(keys, raw, n, id);
			len = vf_pack_encode(keys, id, raw, n, sealed);
			CHECK(len > 0);
			if (len <= 0)
				continue;
			CHECK((size_t)len <= vf_pack_sealed_bound(n));
			if (!comp)
				/* random: stored */
				CHECK_EQ(len, n + 5 + VF_SEAL_OVERHEAD);
			else if (n >= 1000)
				/* zstd kept: saves at least 1/32 */
				CHECK((size_t)len - 5 - VF_SEAL_OVERHEAD <=
				      n - n / 32);
			/* either stored, or zstd saved n/32 and a byte */
			CHECK((size_t)len == n + 5 + VF_SEAL_OVERHEAD ||
			      (size_t)len - 5 - VF_SEAL_OVERHEAD <
				  n - n / 32 + (n >= 32 ? 1 : 0));
			d = vf_pack_decode(keys, id, sealed, (size_t)len, out,
					   sizeof(out));
			CHECK_EQ(d, n);
			CHECK(!memcmp(raw, out, n));
			if (n > 0) {
				/* a cap below the raw length is refused */
				d = vf_pack_decode(keys, id, sealed,
						   (size_t)len, out, n - 1);
				CHECK_EQ(d, -EIO);
			}
		}
	}
}

/* Chunks of 256 KiB and more are compressed only when a 64 KiB sample
 * from their middle compresses (pack.c, worth_compressing). */
static void test_codec_sample(void)
{
	enum { N = 512u << 10 };
	static uint8_t raw[N], sealed[N + 64], out[N];
	uint8_t id[VF_CHUNK_ID_BYTES];
	uint64_t s = 7;
	size_t j, stored = N + 5 + VF_SEAL_OVERHEAD;
	ssize_t len;
	int k;

	/* 0: random; 1: repetitive; 2: random middle only; 3: random first
	 * half, repetitive second half (the sample straddles both) */
	for (k = 0; k < 4; k++) {
		for (j = 0; j < N; j++) {
			int rnd = k == 0 ||
				  (k == 2 && j >= N / 2 - (64u << 10) &&
				   j < N / 2 + (64u << 10)) ||
				  (k == 3 && j < N / 2);

			raw[j] = rnd ? (uint8_t)rnd_next(&s) : (uint8_t)(j % 7);
		}
		vf_crypto_chunk_id(keys, raw, N, id);
		len = vf_pack_encode(keys, id, raw, N, sealed);
		CHECK(len > 0);
		if (len <= 0)
			continue;
		if (k == 0 || k == 2)
			CHECK_EQ(len, stored);
		else
			CHECK((size_t)len < (k == 1 ? N / 32 : N / 2 + N / 16));
		CHECK_EQ(vf_pack_decode(keys, id, sealed, (size_t)len, out,
					sizeof(out)),
			 N);
		CHECK(!memcmp(raw, out, N));
	}
}

static void test_codec_tamper(void)
{
	uint8_t raw[300], sealed[400], out[300], id[VF_CHUNK_ID_BYTES];
	struct vf_keys *other = NULL;
	ssize_t len;
	size_t bit;
	int comp, bad;

	for (comp = 0; comp < 2; comp++) {
		uint64_t s = 7;
		size_t j;

		for (j = 0; j < sizeof(raw); j++)
			raw[j] =
			    comp ? (uint8_t)(j / 50) : (uint8_t)rnd_next(&s);
		vf_crypto_chunk_id(keys, raw, sizeof(raw), id);
		len = vf_pack_encode(keys, id, raw, sizeof(raw), sealed);
		CHECK(len > 0);
		if (len <= 0)
			return;
		bad = 0;
		for (bit = 0; bit < (size_t)len * 8; bit++) {
			sealed[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			if (vf_pack_decode(keys, id, sealed, (size_t)len, out,
					   sizeof(out)) != -EBADMSG)
				bad++;
			sealed[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
		CHECK_EQ(bad, 0);
		/* truncated */
		CHECK_EQ(vf_pack_decode(keys, id, sealed, (size_t)len - 1, out,
					sizeof(out)),
			 -EBADMSG);
		CHECK_EQ(vf_pack_decode(keys, id, sealed, 10, out, sizeof(out)),
			 -EBADMSG);
		/* wrong chunk id */
		id[5] ^= 1;
		CHECK_EQ(vf_pack_decode(keys, id, sealed, (size_t)len, out,
					sizeof(out)),
			 -EBADMSG);
		id[5] ^= 1;
		/* wrong key */
		CHECK_EQ(vf_keys_generate(&other), 0);
		CHECK_EQ(vf_pack_decode(other, id, sealed, (size_t)len, out,
					sizeof(out)),
			 -EBADMSG);
		vf_keys_free(other);
		other = NULL;
		CHECK_EQ(vf_pack_decode(keys, id, sealed, (size_t)len, out,
					sizeof(out)),
			 sizeof(raw));
	}
}

/* Authentic plaintexts that are malformed: decode must say -EIO. */
static void test_codec_malformed(void)
{
	uint8_t id[VF_CHUNK_ID_BYTES] = {1}, pt[64], sealed[128], out[64];
	const uint8_t *key = vf_keys_sub(keys, VF_SUBKEY_DATA);

	/* too short for the plaintext header */
	memset(pt, 0, sizeof(pt));
	vf_crypto_seal(key, id, sizeof(id), pt, 4, sealed);
	CHECK_EQ(vf_pack_decode(keys, id, sealed, 4 + VF_SEAL_OVERHEAD, out,
				sizeof(out)),
		 -EIO);
	/* unknown codec */
	pt[0] = 7;
	vf_crypto_seal(key, id, sizeof(id), pt, 5, sealed);
	CHECK_EQ(vf_pack_decode(keys, id, sealed, 5 + VF_SEAL_OVERHEAD, out,
				sizeof(out)),
		 -EIO);
	/* stored, raw length disagrees with the payload */
	pt[0] = 0;
	pt[1] = 9;
	vf_crypto_seal(key, id, sizeof(id), pt, 5 + 8, sealed);
	CHECK_EQ(vf_pack_decode(keys, id, sealed, 13 + VF_SEAL_OVERHEAD, out,
				sizeof(out)),
		 -EIO);
	/* zstd codec with garbage payload */
	pt[0] = 1;
	pt[1] = 8;
	memset(pt + 5, 0xab, 8);
	vf_crypto_seal(key, id, sizeof(id), pt, 13, sealed);
	CHECK_EQ(vf_pack_decode(keys, id, sealed, 13 + VF_SEAL_OVERHEAD, out,
				sizeof(out)),
		 -EIO);
	/* zstd frame that decompresses to fewer bytes than claimed */
	{
		uint8_t src[40];
		size_t z;

		memset(src, 'x', sizeof(src));
		z = ZSTD_compress(pt + 5, sizeof(pt) - 5, src, 30, 3);
		CHECK(!ZSTD_isError(z));
		pt[0] = 1;
		pt[1] = 40;
		pt[2] = pt[3] = pt[4] = 0;
		vf_crypto_seal(key, id, sizeof(id), pt, 5 + z, sealed);
		CHECK_EQ(vf_pack_decode(keys, id, sealed,
					5 + z + VF_SEAL_OVERHEAD, out,
					sizeof(out)),
			 -EIO);
		pt[1] = 30;
		vf_crypto_seal(key, id, sizeof(id), pt, 5 + z, sealed);
		CHECK_EQ(vf_pack_decode(keys, id, sealed,
					5 + z + VF_SEAL_OVERHEAD, out,
					sizeof(out)),
			 30);
		pt[1] = 20;
		vf_crypto_seal(key, id, sizeof(id), pt, 5 + z, sealed);
		CHECK_EQ(vf_pack_decode(keys, id, sealed,
					5 + z + VF_SEAL_OVERHEAD, out,
					sizeof(out)),
			 -EIO);
	}
}

/* ---- local backend ------------------------------------------------- */

struct name_list {
	int n;
	char names[64][VF_PACK_NAME_LEN + 1];
};

static int list_cb(void *arg, const char *name)
{
	struct name_list *l = arg;

	if (l->n < 64)
		memcpy(l->names[l->n], name, VF_PACK_NAME_LEN + 1);
	l->n++;
	return 0;
}

static int list_stop_cb(void *arg, const char *name)
{
	return 17;
}

static void test_local_backend(void)
{
	const char *a = "ab0123456789abcdef0123456789abcd";
	const char *b = "cd0123456789abcdef0123456789abcd";
	char *dir = tmpdir(), path[512], buf[16];
	struct vf_pack_io *io = NULL;
	struct name_list nl = {0};
	struct stat st;
	uint64_t size;
	void *h = NULL;
	int fds;

	CHECK(dir);
	if (!dir)
		return;
	CHECK_EQ(vf_pack_io_local_new(dir, &io), 0);
	if (!io)
		goto out;
	CHECK_EQ(io->ops->create(io, a, &h), 0);
	CHECK_EQ(io->ops->append(io, h, "hello", 5), 0);
	CHECK_EQ(io->ops->append(io, h, " world", 6), 0);
	CHECK_EQ(io->ops->sync(io, h), 0);
	CHECK_EQ(io->ops->sync(io, h), 0);
	CHECK_EQ(io->ops->close(io, h), 0);
	CHECK_EQ(io->ops->create(io, a, &h), -EEXIST);
	CHECK_EQ(io->ops->create(io, "../../etc/passwd", &h), -EINVAL);
	CHECK_EQ(io->ops->create(io, b, &h), 0);
	CHECK_EQ(io->ops->close(io, h), 0);

	pack_path(dir, a, path, sizeof(path));
	CHECK_EQ(stat(path, &st), 0);
	CHECK_EQ(st.st_mode & 07777, 0600);
	snprintf(path, sizeof(path), "%s/ab", dir);
	CHECK_EQ(stat(path, &st), 0);
	CHECK_EQ(st.st_mode & 07777, 0700);

	CHECK_EQ(io->ops->size(io, a, &size), 0);
	CHECK_EQ(size, 11);
	CHECK_EQ(io->ops->size(io, "ee0123456789abcdef0123456789abcd", &size),
		 -ENOENT);
	CHECK_EQ(io->ops->read(io, a, 6, buf, 5), 0);
	CHECK(!memcmp(buf, "world", 5));
	CHECK_EQ(io->ops->read(io, a, 7, buf, 5), -EIO); /* short */
	CHECK_EQ(io->ops->read(io, a, 1ull << 62, buf, 5), -EIO);
	CHECK_EQ(
	    io->ops->read(io, "ee0123456789abcdef0123456789abcd", 0, buf, 1),
	    -ENOENT);
	CHECK_EQ(io->ops->read(io, "../x", 0, buf, 1), -ENOENT);

	/* stray files are not packs */
	snprintf(path, sizeof(path), "%s/ab/junk.tmp", dir);
	close(open(path, O_CREAT | O_WRONLY, 0600));
	snprintf(path, sizeof(path), "%s/zz", dir);
	mkdir(path, 0700);
	CHECK_EQ(io->ops->list(io, list_cb, &nl), 0);
	CHECK_EQ(nl.n, 2);
	CHECK(nl.n == 2 &&
	      ((!strcmp(nl.names[0], a) && !strcmp(nl.names[1], b)) ||
	       (!strcmp(nl.names[0], b) && !strcmp(nl.names[1], a))));
	CHECK_EQ(io->ops->list(io, list_stop_cb, NULL), 17);

	/* remove drops the cached read descriptor */
	fds = fd_count();
	CHECK_EQ(io->ops->read(io, b, 0, buf, 0), 0);
	CHECK_EQ(fd_count(), fds + 1);
	CHECK_EQ(io->ops->remove(io, b), 0);
	CHECK_EQ(fd_count(), fds);
	CHECK_EQ(io->ops->read(io, b, 0, buf, 0), -ENOENT);
	CHECK_EQ(io->ops->remove(io, b), -ENOENT);
	/* a read-cached pack removed, then the name reused: fresh data */
	CHECK_EQ(io->ops->remove(io, a), 0);
	CHECK_EQ(io->ops->create(io, a, &h), 0);
	CHECK_EQ(io->ops->append(io, h, "again", 5), 0);
	CHECK_EQ(io->ops->close(io, h), 0);
	CHECK_EQ(io->ops->read(io, a, 0, buf, 5), 0);
	CHECK(!memcmp(buf, "again", 5));
out:
	vf_pack_io_free(io);
	rmtree(dir);
	free(dir);
}

static void test_fault_wrapper(void)
{
	const char *a = "ab0123456789abcdef0123456789abcd";
	char *dir = tmpdir(), buf[4];
	struct vf_pack_io *io = NULL, *f = NULL;
	void *h = NULL;

	CHECK(dir);
	if (!dir)
		return;
	CHECK_EQ(vf_pack_io_local_new(dir, &io), 0);
	CHECK_EQ(vf_pack_io_fault_new(io, &f), 0);
	if (!f)
		goto out;
	vf_pack_io_fault_set(f, 3, ENOSPC);
	CHECK_EQ(f->ops->create(f, a, &h), 0);		    /* 1 */
	CHECK_EQ(f->ops->append(f, h, "abcd", 4), 0);	    /* 2 */
	CHECK_EQ(f->ops->append(f, h, "efgh", 4), -ENOSPC); /* 3 */
	CHECK_EQ(f->ops->sync(f, h), -ENOSPC);		    /* 4 */
	CHECK_EQ(f->ops->read(f, a, 0, buf, 4), 0);	    /* reads pass */
	CHECK_EQ(vf_pack_io_fault_calls(f), 4);
	vf_pack_io_fault_set(f, 0, 0);
	CHECK_EQ(vf_pack_io_fault_calls(f), 0);
	CHECK_EQ(f->ops->sync(f, h), 0);
	vf_pack_io_fault_set(f, 1, EIO);
	CHECK_EQ(f->ops->append(f, h, "x", 1), -EIO);
	CHECK_EQ(f->ops->close(f, h), 0);
	/* the failed append never reached the disk */
	{
		uint64_t size;

		CHECK_EQ(f->ops->size(f, a, &size), 0);
		CHECK_EQ(size, 4);
	}
	/* set on a non-fault backend is ignored */
	vf_pack_io_fault_set(io, 1, EIO);
	CHECK_EQ(vf_pack_io_fault_calls(io), 0);
out:
	vf_pack_io_free(f);
	vf_pack_io_free(io);
	rmtree(dir);
	free(dir);
}

/* ---- writer, reader, scan ------------------------------------------ */

static void test_writer_many(void)
{
	enum { N = 300 };
	static struct vf_pack_loc loc[N];
	char *dir = tmpdir();
	struct vf_pack_io *io = NULL;
	struct vf_pack_writer *w = NULL;
	struct name_list nl = {0};
	unsigned i;
	int bad = 0, badscan = 0;

	CHECK(dir);
	if (!dir)
		return;
	CHECK_EQ(vf_pack_io_local_new(dir, &io), 0);
	CHECK_EQ(vf_pack_writer_new(io, 64 << 10, &w), 0);
	if (!w)
		goto out;
	for (i = 0; i < N; i++) {
		CHECK_EQ(put_chunk(w, i, &loc[i]), 0);
		if (i % 50 == 0)
			CHECK_EQ(vf_pack_writer_sync(w), 0);
	}
	CHECK_EQ(vf_pack_writer_sync(w), 0);
	for (i = 0; i < N; i++) {
		if (!chunk_ok(io, i, &loc[i]))
			bad++;
		if (!scanned_ok(io, &loc[i]))
			badscan++;
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(badscan, 0);
	CHECK_EQ(loc[0].off, VF_PACK_HDR);
	CHECK_EQ(io->ops->list(io, list_cb, &nl), 0);
	CHECK(nl.n >= 10); /* ~1.5 MB of chunks in 64 KiB packs */
	CHECK(strcmp(loc[0].pack, loc[N - 1].pack) != 0);
	/* a wrong location is refused */
	{
		static uint8_t buf[MAXC + 64];
		struct vf_pack_loc l = loc[1];

		l.len += 1;
		CHECK_EQ(vf_pack_read(io, &l, buf, sizeof(buf)), -EIO);
		l = loc[1];
		l.off += 1;
		CHECK_EQ(vf_pack_read(io, &l, buf, sizeof(buf)), -EIO);
		l = loc[1];
		l.len = 5;
		CHECK_EQ(vf_pack_read(io, &l, buf, sizeof(buf)), -EIO);
		l = loc[1];
		CHECK_EQ(vf_pack_read(io, &l, buf, l.len - 13), -EIO);
		/* a cap between blob and entry size takes two reads */
		CHECK_EQ(vf_pack_read(io, &l, buf, l.len - 12), l.len - 12);
		l.pack[0] = l.pack[0] == 'f' ? 'e' : 'f';
		CHECK(vf_pack_read(io, &l, buf, sizeof(buf)) < 0);
	}
	CHECK_EQ(vf_pack_writer_close(w), 0);
	w = NULL;
	CHECK_EQ(vf_pack_writer_close(NULL), 0);
out:
	CHECK_EQ(vf_pack_writer_close(w), 0);
	vf_pack_io_free(io);
	rmtree(dir);
	free(dir);
}

static int count_cb(void *arg, uint64_t off, uint32_t len, int ok)
{
	(void)off;
	(void)len;
	if (ok)
		++*(int *)arg;
	return 0;
}

/* Data key epochs: a pack holds one epoch and names it (VFPACK02), epoch 0
 * keeps VFPACK01, a blob re-sealed under another key keeps its length and
 * no longer opens under the old key. */
static void test_epochs(void)
{
	static uint8_t raw[3000], sealed[4000], again[4000], out[3000],
		blob[4000], framed[4000 + VF_PACK_ENTRY_HDR], back[4000];
	uint8_t k1[VF_KEY_BYTES], k2[VF_KEY_BYTES], id[VF_CHUNK_ID_BYTES];
	struct vf_pack_loc l0, l1, l2, l3, l4;
	struct vf_pack_io *io = NULL;
	struct vf_pack_writer *w = NULL;
	char *dir = tmpdir();
	uint32_t epoch = 99, hdr = 0;
	ssize_t n;
	int entries = 0;

	CHECK(dir);
	if (!dir)
		return;
	randombytes_buf(k1, sizeof(k1));
	randombytes_buf(k2, sizeof(k2));
	randombytes_buf(raw, sizeof(raw));
	vf_crypto_chunk_id(keys, raw, sizeof(raw), id);
	n = vf_pack_encode_key(k1, id, raw, sizeof(raw), sealed);
	CHECK(n > 0);
	CHECK_EQ(vf_pack_reseal(k1, k2, id, sealed, (size_t)n, again), 0);
	CHECK(memcmp(sealed, again, (size_t)n) != 0);
	CHECK_EQ(vf_pack_decode_key(k2, id, again, (size_t)n, out, sizeof(out)),
		 (ssize_t)sizeof(raw));
	CHECK(memcmp(out, raw, sizeof(raw)) == 0);
	CHECK_EQ(vf_pack_decode_key(k1, id, again, (size_t)n, out, sizeof(out)),
		 -EBADMSG);
	/* the wrong old key re-seals nothing */
	CHECK_EQ(vf_pack_reseal(k2, k1, id, sealed, (size_t)n, again),
		 -EBADMSG);

	CHECK_EQ(vf_pack_io_local_new(dir, &io), 0);
	CHECK_EQ(vf_pack_writer_new(io, 0, &w), 0);
	if (!w)
		goto out;
	CHECK_EQ(vf_pack_put_epoch(w, 0, sealed, (size_t)n, &l0), 0);
	CHECK_EQ(vf_pack_put_epoch(w, 7, sealed, (size_t)n, &l1), 0);
	CHECK_EQ(vf_pack_put_epoch(w, 7, again, (size_t)n, &l2), 0);
	CHECK_EQ(vf_pack_put(w, sealed, (size_t)n, &l3), 0);
	/* put_framed writes the same entry as put, without a copy */
	memcpy(framed + VF_PACK_ENTRY_HDR, sealed, (size_t)n);
	CHECK_EQ(vf_pack_put_framed(w, 0, framed, (size_t)n, &l4), 0);
	CHECK_EQ(vf_pack_writer_sync(w), 0);
	CHECK(strcmp(l3.pack, l4.pack) == 0);
	CHECK_EQ(l4.off, l3.off + l3.len);
	CHECK_EQ(l4.len, l3.len);
	CHECK_EQ(vf_pack_read(io, &l4, back, sizeof(back)), n);
	CHECK(memcmp(back, sealed, (size_t)n) == 0);
	/* an epoch change starts a pack; the same epoch appends */
	CHECK(strcmp(l0.pack, l1.pack) != 0);
	CHECK(strcmp(l1.pack, l2.pack) == 0);
	CHECK(strcmp(l2.pack, l3.pack) != 0);
	CHECK_EQ(l0.epoch, 0);
	CHECK_EQ(l1.epoch, 7);
	CHECK_EQ(l3.epoch, 0);
	CHECK_EQ(l0.off, VF_PACK_HDR);
	CHECK_EQ(l1.off, VF_PACK_HDR2);
	CHECK_EQ(vf_pack_header(io, l1.pack, &epoch, &hdr), 0);
	CHECK_EQ(epoch, 7);
	CHECK_EQ(hdr, VF_PACK_HDR2);
	CHECK_EQ(vf_pack_header(io, l0.pack, &epoch, &hdr), 0);
	CHECK_EQ(epoch, 0);
	CHECK_EQ(hdr, VF_PACK_HDR);
	CHECK_EQ(vf_pack_scan(io, l1.pack, count_cb, &entries, NULL), 0);
	CHECK_EQ(entries, 2);
	CHECK_EQ(vf_pack_read(io, &l2, blob, sizeof(blob)), n);
	CHECK(memcmp(blob, again, (size_t)n) == 0);
out:
	CHECK_EQ(vf_pack_writer_close(w), 0);
	vf_pack_io_free(io);
	rmtree(dir);
	free(dir);
}

/* Five entries in one pack; returns 0 when all went in. */
static int five(struct vf_pack_io *io, struct vf_pack_loc loc[5])
{
	struct vf_pack_writer *w = NULL;
	unsigned i;
	int rc;

	rc = vf_pack_writer_new(io, 0, &w);
	for (i = 0; rc == 0 && i < 5; i++)
		rc = put_chunk(w, i, &loc[i]);
	if (vf_pack_writer_close(w) < 0 && rc == 0)
		rc = -EIO;
	return rc;
}

static void test_scan_corrupt(void)
{
	char *dir = tmpdir(), path[512];
	struct vf_pack_io *io = NULL;
	struct vf_pack_loc loc[5];
	struct scan_rec r = {0};
	uint64_t tail = 0;
	uint8_t c;
	int fd, i;

	CHECK(dir);
	if (!dir)
		return;
	CHECK_EQ(vf_pack_io_local_new(dir, &io), 0);
	if (!io || five(io, loc) < 0) {
		CHECK(0);
		goto out;
	}
	for (i = 0; i < 5; i++)
		CHECK(!strcmp(loc[i].pack, loc[0].pack));
	pack_path(dir, loc[0].pack, path, sizeof(path));
	fd = open(path, O_RDWR);
	CHECK(fd >= 0);
	/* one byte in the middle of entry 2's blob */
	CHECK_EQ(pread(fd, &c, 1, (off_t)(loc[2].off + loc[2].len / 2)), 1);
	c ^= 0x10;
	CHECK_EQ(pwrite(fd, &c, 1, (off_t)(loc[2].off + loc[2].len / 2)), 1);
	CHECK_EQ(vf_pack_scan(io, loc[0].pack, scan_cb, &r, &tail), 0);
	CHECK_EQ(r.n, 5);
	for (i = 0; i < 5 && i < r.n; i++) {
		CHECK_EQ(r.off[i], loc[i].off);
		CHECK_EQ(r.len[i], loc[i].len);
		CHECK_EQ(r.ok[i], i != 2);
		CHECK_EQ(chunk_ok(io, (unsigned)i, &loc[i]), i != 2);
	}
	CHECK_EQ(tail, loc[4].off + loc[4].len);
	{
		static uint8_t buf[MAXC + 64];

		CHECK_EQ(vf_pack_read(io, &loc[2], buf, sizeof(buf)), -EIO);
	}
	/* the same byte in the checksum field */
	c ^= 0x10;
	CHECK_EQ(pwrite(fd, &c, 1, (off_t)(loc[2].off + loc[2].len / 2)), 1);
	CHECK_EQ(pread(fd, &c, 1, (off_t)loc[3].off + 6), 1);
	c ^= 1;
	CHECK_EQ(pwrite(fd, &c, 1, (off_t)loc[3].off + 6), 1);
	memset(&r, 0, sizeof(r));
	CHECK_EQ(vf_pack_scan(io, loc[0].pack, scan_cb, &r, NULL), 0);
	CHECK_EQ(r.n, 5);
	for (i = 0; i < 5 && i < r.n; i++)
		CHECK_EQ(r.ok[i], i != 3);
	/* a bad magic is a bad pack */
	CHECK_EQ(pwrite(fd, "X", 1, 0), 1);
	CHECK_EQ(vf_pack_scan(io, loc[0].pack, scan_cb, &r, NULL), -EIO);
	if (fd >= 0)
		close(fd);
	CHECK_EQ(vf_pack_scan(io, "0000000000000000000000000000dead", scan_cb,
			      &r, NULL),
		 -ENOENT);
out:
	vf_pack_io_free(io);
	rmtree(dir);
	free(dir);
}

static void test_torn_tail(void)
{
	char *dir = tmpdir(), path[512];
	struct vf_pack_io *io = NULL;
	struct vf_pack_loc loc[5];
	struct scan_rec r;
	uint64_t tail, cut[] = {0, 5, 12, 40};
	size_t i;
	int j;

	CHECK(dir);
	if (!dir)
		return;
	CHECK_EQ(vf_pack_io_local_new(dir, &io), 0);
	if (!io || five(io, loc) < 0) {
		CHECK(0);
		goto out;
	}
	pack_path(dir, loc[0].pack, path, sizeof(path));
	/* cut inside the last entry: its header, its blob; last cut first */
	cut[0] = loc[4].len - 1;
	for (i = 0; i < VF_ARRAY_LEN(cut); i++) {
		CHECK_EQ(truncate(path, (off_t)(loc[4].off + cut[i])), 0);
		memset(&r, 0, sizeof(r));
		tail = 0;
		CHECK_EQ(vf_pack_scan(io, loc[0].pack, scan_cb, &r, &tail), 0);
		CHECK_EQ(r.n, 4);
		for (j = 0; j < 4 && j < r.n; j++)
			CHECK(r.ok[j]);
		CHECK_EQ(tail, loc[4].off);
		CHECK_EQ(chunk_ok(io, 3, &loc[3]), 1);
		CHECK_EQ(chunk_ok(io, 4, &loc[4]), 0);
	}
	/* a length field claiming 4 GB is a torn tail too */
	{
		int fd = open(path, O_WRONLY | O_APPEND);

		CHECK(fd >= 0);
		CHECK_EQ(write(fd, "\xff\xff\xff\xff\0\0\0\0\0\0\0\0xyz", 15),
			 15);
		close(fd);
		memset(&r, 0, sizeof(r));
		CHECK_EQ(vf_pack_scan(io, loc[0].pack, scan_cb, &r, &tail), 0);
		CHECK_EQ(r.n, 4);
		CHECK_EQ(tail, loc[4].off);
	}
	/* only the magic; shorter than the magic */
	CHECK_EQ(truncate(path, VF_PACK_HDR), 0);
	memset(&r, 0, sizeof(r));
	CHECK_EQ(vf_pack_scan(io, loc[0].pack, scan_cb, &r, &tail), 0);
	CHECK_EQ(r.n, 0);
	CHECK_EQ(tail, VF_PACK_HDR);
	CHECK_EQ(truncate(path, 3), 0);
	CHECK_EQ(vf_pack_scan(io, loc[0].pack, scan_cb, &r, &tail), -EIO);
out:
	vf_pack_io_free(io);
	rmtree(dir);
	free(dir);
}

static int stop_cb(void *arg, uint64_t off, uint32_t len, int ok)
{
	int *n = arg;

	return ++*n == 2 ? -ECANCELED : 0;
}

static void test_scan_stop(void)
{
	char *dir = tmpdir();
	struct vf_pack_io *io = NULL;
	struct vf_pack_loc loc[5];
	uint64_t tail = 99;
	int n = 0;

	CHECK(dir);
	if (!dir)
		return;
	CHECK_EQ(vf_pack_io_local_new(dir, &io), 0);
	if (io && five(io, loc) == 0) {
		CHECK_EQ(vf_pack_scan(io, loc[0].pack, stop_cb, &n, &tail),
			 -ECANCELED);
		CHECK_EQ(n, 2);
		CHECK_EQ(tail, 99); /* not written on a stop */
	} else {
		CHECK(0);
	}
	vf_pack_io_free(io);
	rmtree(dir);
	free(dir);
}

/* ---- fault injection ----------------------------------------------- */

/*
 * Runs a workload with the nth mutating backend call failing, syncing
 * after every sync_every puts (0: only at the end, so the writer has to
 * sync closed packs itself to bound its open handles).  Returns 1 when a
 * fault fired, 0 when the workload finished before call nth.
 */
static int fault_run(long nth, int err, unsigned sync_every)
{
	enum { N = 40 };
	struct vf_pack_loc loc[N], after = {.len = 0};
	char *dir = tmpdir(), last[VF_PACK_NAME_LEN + 1] = "";
	struct vf_pack_io *io = NULL, *f = NULL;
	struct vf_pack_writer *w = NULL;
	int ok[N] = {0}, fired = 0, rc, bad = 0;
	unsigned i, j;

	if (!dir) {
		CHECK(0);
		return 0;
	}
	CHECK_EQ(vf_pack_io_local_new(dir, &io), 0);
	CHECK_EQ(vf_pack_io_fault_new(io, &f), 0);
	CHECK_EQ(vf_pack_writer_new(f, 8 << 10, &w), 0);
	if (!w)
		goto out;
	vf_pack_io_fault_set(f, nth, err);
	for (i = 0; i < N && !fired; i++) {
		rc = put_chunk(w, i, &loc[i]);
		if (rc == 0) {
			ok[i] = 1;
			memcpy(last, loc[i].pack, sizeof(last));
		} else {
			CHECK_EQ(rc, -err);
			fired = 1;
		}
		if (!fired && sync_every && i % sync_every == sync_every - 1) {
			rc = vf_pack_writer_sync(w);
			if (rc < 0) {
				CHECK_EQ(rc, -err);
				fired = 1;
			}
		}
	}
	if (!fired) {
		rc = vf_pack_writer_sync(w);
		if (rc < 0) {
			CHECK_EQ(rc, -err);
			fired = 1;
		}
	}
	/* Whatever failed, every reported entry is still there and clean. */
	for (i = 0; i < N; i++)
		if (ok[i] &&
		    (!chunk_ok(f, i, &loc[i]) || !scanned_ok(f, &loc[i])))
			bad++;
	CHECK_EQ(bad, 0);
	/* With faults off, puts work again, in a new pack. */
	vf_pack_io_fault_set(f, 0, 0);
	for (j = 0; j < 3; j++) {
		CHECK_EQ(put_chunk(w, 100 + j, &after), 0);
		if (fired && last[0])
			CHECK(strcmp(after.pack, last) != 0);
	}
	/* A sync that failed inside a put is reported by the next sync. */
	rc = vf_pack_writer_sync(w);
	if (rc < 0) {
		CHECK(fired);
		CHECK_EQ(rc, -err);
		CHECK_EQ(vf_pack_writer_sync(w), 0);
	}
	CHECK(chunk_ok(f, 102, &after));
	CHECK(scanned_ok(f, &after));
	for (i = 0; i < N; i++)
		if (ok[i] && !chunk_ok(f, i, &loc[i]))
			bad++;
	CHECK_EQ(bad, 0);
out:
	CHECK_EQ(vf_pack_writer_close(w), 0);
	vf_pack_io_free(f);
	vf_pack_io_free(io);
	rmtree(dir);
	free(dir);
	return fired;
}

static void test_faults(void)
{
	int errs[] = {EIO, ENOSPC};
	unsigned every[] = {4, 0};
	size_t e, v;
	long nth;

	for (e = 0; e < VF_ARRAY_LEN(errs); e++)
		for (v = 0; v < VF_ARRAY_LEN(every); v++) {
			for (nth = 1; nth < 10000; nth++)
				if (!fault_run(nth, errs[e], every[v]))
					break;
			/* the workload makes well over fifty mutating calls */
			CHECK(nth > 50);
		}
}

/* ---- descriptor bound ---------------------------------------------- */

static void test_fd_lru(void)
{
	enum { N = 200 };
	static struct vf_pack_loc loc[N];
	char *dir = tmpdir();
	struct vf_pack_io *io = NULL;
	struct vf_pack_writer *w = NULL;
	int base = fd_count(), peak = 0, bad = 0, pass;
	unsigned i;

	CHECK(dir);
	if (!dir)
		return;
	CHECK_EQ(vf_pack_io_local_new(dir, &io), 0);
	/* target 1: every entry closes its pack */
	CHECK_EQ(vf_pack_writer_new(io, 1, &w), 0);
	if (!w)
		goto out;
	for (i = 0; i < N; i++) {
		CHECK_EQ(put_chunk(w, i, &loc[i]), 0);
		if (fd_count() > peak)
			peak = fd_count();
	}
	CHECK(strcmp(loc[0].pack, loc[1].pack) != 0);
	CHECK_EQ(vf_pack_writer_sync(w), 0);
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < N; i++) {
			unsigned k = pass ? (i * 7) % N : i;

			if (!chunk_ok(io, k, &loc[k]))
				bad++;
			if (fd_count() > peak)
				peak = fd_count();
		}
	CHECK_EQ(bad, 0);
	/* 32 cached readers + 16 pending packs + the current one + dir */
	CHECK(peak - base <= 52);
	CHECK_EQ(vf_pack_writer_close(w), 0);
	w = NULL;
	vf_pack_io_free(io);
	io = NULL;
	CHECK_EQ(fd_count(), base);
out:
	CHECK_EQ(vf_pack_writer_close(w), 0);
	vf_pack_io_free(io);
	rmtree(dir);
	free(dir);
}

/* ---- threads ------------------------------------------------------- */

struct thr {
	struct vf_pack_io *io;
	struct vf_pack_writer *w;
	unsigned base;
	int bad;
};

static void *thr_main(void *arg)
{
	struct thr *t = arg;
	struct vf_pack_loc loc;
	unsigned i;

	for (i = 0; i < 50; i++) {
		if (put_chunk(t->w, t->base + i, &loc) < 0 ||
		    !chunk_ok(t->io, t->base + i, &loc))
			t->bad++;
	}
	return NULL;
}

static void test_threads(void)
{
	char *dir = tmpdir();
	struct vf_pack_io *io = NULL;
	struct vf_pack_writer *w = NULL;
	struct thr t[4];
	pthread_t tid[4];
	int i;

	CHECK(dir);
	if (!dir)
		return;
	CHECK_EQ(vf_pack_io_local_new(dir, &io), 0);
	CHECK_EQ(vf_pack_writer_new(io, 32 << 10, &w), 0);
	if (!w)
		goto out;
	for (i = 0; i < 4; i++) {
		t[i] = (struct thr){io, w, 1000u * (unsigned)i, 0};
		CHECK_EQ(pthread_create(&tid[i], NULL, thr_main, &t[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(tid[i], NULL);
		CHECK_EQ(t[i].bad, 0);
	}
out:
	CHECK_EQ(vf_pack_writer_close(w), 0);
	vf_pack_io_free(io);
	rmtree(dir);
	free(dir);
}

int main(void)
{
	if (vf_keys_generate(&keys) < 0) {
		fprintf(stderr, "t-pack: cannot create keys\n");
		return 1;
	}
	RUN(test_codec_roundtrip);
	RUN(test_codec_sample);
	RUN(test_codec_tamper);
	RUN(test_codec_malformed);
	RUN(test_local_backend);
	RUN(test_fault_wrapper);
	RUN(test_writer_many);
	RUN(test_epochs);
	RUN(test_scan_corrupt);
	RUN(test_torn_tail);
	RUN(test_scan_stop);
	RUN(test_faults);
	RUN(test_fd_lru);
	RUN(test_threads);
	vf_keys_free(keys);
	return unit_exit();
}
