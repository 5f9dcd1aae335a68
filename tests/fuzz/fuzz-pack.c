/*
 * fuzz-pack.c - fuzz target for the pack format (pack.c).
 *
 * The input is one whole pack object, served by a read-only in-memory
 * backend (no disk I/O per input).  The target scans it, then for each
 * entry found (ok or not) reads it back through vf_pack_read, with the
 * exact location and with wrong ones, and decodes the blob.  Decoding
 * random bytes only exercises the AEAD refusal, so every blob is also
 * sealed as a plaintext under the same key and decoded: that drives the
 * codec/raw-length/zstd parsing behind the authentication with arbitrary
 * bytes.  Nothing here may crash, leak or read out of bounds.
 *
 * Keys are fixed (FUZZ_MASTER, FUZZ_VAULT) and entry i's chunk id is
 * fuzz_id(i), so saved corpus packs decode for real.  Build with
 * -DFUZZ_PACK_GEN to get a main() that writes the seed corpus into a
 * directory:  cc -DFUZZ_PACK_GEN ... tests/fuzz/fuzz-pack.c libvfcore.a;
 * ./a.out tests/fuzz/corpus/pack.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pack.h"

#define MEM_NAME "00000000000000000000000000000000"
#define MAX_ENTRIES 64
#define MAX_OUT (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t FUZZ_MASTER[VF_KEY_BYTES] = {0x42};
static const uint8_t FUZZ_VAULT[VF_VAULT_ID_BYTES] = {0x24};

static void fuzz_id(unsigned i, uint8_t id[VF_CHUNK_ID_BYTES])
{
	memset(id, 0, VF_CHUNK_ID_BYTES);
	id[0] = (uint8_t)i;
}

/* ---- a read-only backend holding one pack in memory ---------------- */

struct mem_io {
	struct vf_pack_io base;
	const uint8_t *data;
	size_t size;
};

static int mem_create(struct vf_pack_io *io, const char *name, void **h)
{
	return -EIO;
}

static int mem_append(struct vf_pack_io *io, void *h, const void *buf,
		      size_t len)
{
	return -EIO;
}

static int mem_sync(struct vf_pack_io *io, void *h)
{
	return -EIO;
}

static int mem_close(struct vf_pack_io *io, void *h)
{
	return 0;
}

static int mem_read(struct vf_pack_io *io, const char *name, uint64_t off,
		    void *buf, size_t len)
{
	struct mem_io *m = (struct mem_io *)io;

	if (strcmp(name, MEM_NAME))
		return -ENOENT;
	if (off > m->size || len > m->size - off)
		return -EIO;
	if (len)
		memcpy(buf, m->data + off, len);
	return 0;
}

static int mem_size(struct vf_pack_io *io, const char *name, uint64_t *size)
{
	struct mem_io *m = (struct mem_io *)io;

	if (strcmp(name, MEM_NAME))
		return -ENOENT;
	*size = m->size;
	return 0;
}

static int mem_remove(struct vf_pack_io *io, const char *name)
{
	return -EIO;
}

static int mem_list(struct vf_pack_io *io,
		    int (*cb)(void *arg, const char *name), void *arg)
{
	return cb(arg, MEM_NAME);
}

static void mem_destroy(struct vf_pack_io *io)
{
}

static const struct vf_pack_io_ops mem_ops = {
    .create = mem_create,
    .append = mem_append,
    .sync = mem_sync,
    .close = mem_close,
    .read = mem_read,
    .size = mem_size,
    .remove = mem_remove,
    .list = mem_list,
    .destroy = mem_destroy,
};

/* ---- the target ---------------------------------------------------- */

struct found {
	int n;
	uint64_t off[MAX_ENTRIES];
	uint32_t len[MAX_ENTRIES];
};

static int found_cb(void *arg, uint64_t off, uint32_t len, int ok)
{
	struct found *f = arg;

	if (f->n == MAX_ENTRIES)
		return 1; /* enough: also exercises a stop by the callback */
	f->off[f->n] = off;
	f->len[f->n] = len;
	f->n++;
	return 0;
}

static void try_decode(const struct vf_keys *k, unsigned i, const uint8_t *blob,
		       size_t n, uint8_t *out)
{
	uint8_t id[VF_CHUNK_ID_BYTES], *sealed;
	ssize_t r;

	fuzz_id(i, id);
	r = vf_pack_decode(k, id, blob, n, out, MAX_OUT);
	(void)r;
	r = vf_pack_decode(k, id, blob, n, out, 16);
	(void)r;
	/* The blob as an authentic plaintext. */
	sealed = malloc(n + VF_SEAL_OVERHEAD);
	if (!sealed)
		return;
	vf_crypto_seal(vf_keys_sub(k, VF_SUBKEY_DATA), id, sizeof(id), blob, n,
		       sealed);
	r = vf_pack_decode(k, id, sealed, n + VF_SEAL_OVERHEAD, out, MAX_OUT);
	(void)r;
	r = vf_pack_decode(k, id, sealed, n + VF_SEAL_OVERHEAD, out, 100);
	(void)r;
	free(sealed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mem_io m = {{&mem_ops}, data, size};
	struct vf_keys *k = NULL;
	struct found f = {0};
	struct vf_pack_loc loc;
	uint8_t *buf = NULL, *out = NULL;
	uint64_t tail;
	ssize_t n;
	int i, rc;

	if (vf_keys_new(FUZZ_MASTER, FUZZ_VAULT, &k) < 0)
		return 0;
	buf = malloc(size + 1);
	out = malloc(MAX_OUT);
	if (!buf || !out)
		goto out;
	{
		uint32_t epoch = 0, hlen = 0;

		/* either format's header, within the input */
		if (vf_pack_header(&m.base, MEM_NAME, &epoch, &hlen) == 0 &&
		    ((hlen != VF_PACK_HDR && hlen != VF_PACK_HDR2) ||
		     hlen > size || (hlen == VF_PACK_HDR && epoch != 0)))
			abort();
	}
	rc = vf_pack_scan(&m.base, MEM_NAME, found_cb, &f, &tail);
	if (rc == 0 && (tail < VF_PACK_HDR || tail > size))
		abort(); /* the scan's own invariant */
	memcpy(loc.pack, MEM_NAME, sizeof(loc.pack));
	for (i = 0; i < f.n; i++) {
		loc.off = f.off[i];
		loc.len = f.len[i];
		n = vf_pack_read(&m.base, &loc, buf, size + 1);
		if (n >= 0)
			try_decode(k, (unsigned)i, buf, (size_t)n, out);
		/* cap between blob and entry size: the two-read path */
		n = vf_pack_read(&m.base, &loc, buf, loc.len - 12);
		(void)n;
		/* wrong locations */
		loc.off++;
		n = vf_pack_read(&m.base, &loc, buf, size + 1);
		loc.off--;
		loc.len = loc.len + 7;
		n = vf_pack_read(&m.base, &loc, buf, size + 1);
		(void)n;
	}
	/* Arbitrary locations taken from the input itself. */
	if (size >= 12) {
		uint64_t off = 0;

		memcpy(&off, data, 8);
		memcpy(&loc.len, data + 8, 4);
		loc.off = off;
		n = vf_pack_read(&m.base, &loc, buf, size + 1);
		(void)n;
	}
out:
	free(out);
	free(buf);
	vf_keys_free(k);
	return 0;
}

#ifdef FUZZ_PACK_GEN
/* Writes the seed corpus: see the comment at the top. */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

static void save(const char *dir, const char *name, const uint8_t *p, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
		fprintf(stderr, "cannot write '%s'\n", path);
		exit(1);
	}
}

static size_t build(const struct vf_keys *k, uint8_t *pack, size_t cap)
{
	static uint8_t raw[3000], sealed[3100];
	uint8_t id[VF_CHUNK_ID_BYTES], *p = pack;
	uint64_t s = 1;
	unsigned i;
	size_t j, n;
	ssize_t len;

	memcpy(p, VF_PACK_MAGIC, VF_PACK_HDR);
	p += VF_PACK_HDR;
	for (i = 0; i < 4; i++) {
		n = 200 + 700 * i;
		for (j = 0; j < n; j++) {
			s = s * 6364136223846793005ull + 1442695040888963407ull;
			raw[j] = (i & 1) ? (uint8_t)(s >> 56)
					 : (uint8_t)('a' + j % 5);
		}
		fuzz_id(i, id);
		len = vf_pack_encode(k, id, raw, n, sealed);
		if (len < 0 || (size_t)(p - pack) + 12 + (size_t)len > cap)
			exit(1);
		/* Same layout as vf_pack_put, by hand: no backend needed. */
		p[0] = (uint8_t)len;
		p[1] = (uint8_t)(len >> 8);
		p[2] = p[3] = 0;
		{
			uint64_t sum = XXH64(sealed, (size_t)len, 0);
			int b;

			for (b = 0; b < 8; b++)
				p[4 + b] = (uint8_t)(sum >> (8 * b));
		}
		memcpy(p + 12, sealed, (size_t)len);
		p += 12 + (size_t)len;
	}
	return (size_t)(p - pack);
}

int main(int argc, char **argv)
{
	static uint8_t pack[16384], tmp[16384 + VF_PACK_HDR2];
	struct vf_keys *k = NULL;
	size_t n;

	if (argc != 2 || vf_keys_new(FUZZ_MASTER, FUZZ_VAULT, &k) < 0) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	n = build(k, pack, sizeof(pack));
	save(argv[1], "valid", pack, n);
	save(argv[1], "magic-only", pack, VF_PACK_HDR);
	save(argv[1], "short-magic", pack, 5);
	save(argv[1], "torn-header", pack, VF_PACK_HDR + 7);
	save(argv[1], "torn-blob", pack, n - 30);
	memcpy(tmp, pack, n);
	tmp[VF_PACK_HDR + 3] = 0x7f; /* first entry claims ~2 GB */
	save(argv[1], "huge-length", tmp, n);
	memcpy(tmp, pack, n);
	tmp[VF_PACK_HDR] = 1; /* first entry claims 1 byte: garbage follows */
	save(argv[1], "short-length", tmp, n);
	memcpy(tmp, pack, n);
	tmp[VF_PACK_HDR + 12 + 40] ^= 0x04; /* blob bit: checksum fails */
	save(argv[1], "flip-blob", tmp, n);
	memcpy(tmp, pack, n);
	tmp[VF_PACK_HDR + 5] ^= 0x80; /* checksum bit */
	save(argv[1], "flip-sum", tmp, n);
	memcpy(tmp, pack, n);
	tmp[2] ^= 0x01; /* magic bit */
	save(argv[1], "flip-magic", tmp, n);
	/* format 2: the same entries under "VFPACK02" and epoch 1 (they do
	 * not open under the DATA subkey; the scan still finds them) */
	memcpy(tmp, VF_PACK_MAGIC2, VF_PACK_HDR);
	tmp[VF_PACK_HDR] = 1;
	tmp[VF_PACK_HDR + 1] = tmp[VF_PACK_HDR + 2] = tmp[VF_PACK_HDR + 3] = 0;
	memcpy(tmp + VF_PACK_HDR2, pack + VF_PACK_HDR, n - VF_PACK_HDR);
	n += VF_PACK_HDR2 - VF_PACK_HDR;
	save(argv[1], "v2-valid", tmp, n);
	save(argv[1], "v2-magic-only", tmp, VF_PACK_HDR);
	save(argv[1], "v2-torn-epoch", tmp, VF_PACK_HDR + 2);
	save(argv[1], "v2-header-only", tmp, VF_PACK_HDR2);
	save(argv[1], "v2-torn-blob", tmp, n - 30);
	vf_keys_free(k);
	return 0;
}
#endif
