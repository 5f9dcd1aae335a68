/*
 * catseg.c - catalog segments (layout and guarantees in catseg.h).
 *
 * Pages stream one at a time through two page buffers in sodium_malloc'd
 * memory (plaintext catalog pages are secrets); a segment is written and
 * read with pwrite/pread, so memory stays at a few pages whatever the
 * size of the catalog or the segment, plus the page hashes the caller
 * keeps.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "catseg.h"

#define PAGE VF_CATVFS_PAGE
#define VERSION 1
#define AD_LEN (6 + VF_VAULT_ID_BYTES + 8 + 8)
#define HDR_IDX UINT64_MAX
/* A catalog of 2^31 pages (8 TiB) is far beyond any vault. */
#define MAX_PAGES (1ull << 31)

struct bufs {
	uint8_t *page;  /* PAGE plaintext */
	uint8_t *pt;    /* VF_CATSEG_REC_PT plaintext record */
	uint8_t *ct;    /* VF_CATSEG_REC_BYTES sealed record */
	uint8_t hkey[crypto_generichash_KEYBYTES];
};

static void put_le(uint8_t *p, uint64_t x, int n)
{
	int i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(x >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
	uint64_t x = 0;
	int i;

	for (i = 0; i < n; i++)
		x |= (uint64_t)p[i] << (8 * i);
	return x;
}

static void make_ad(uint8_t ad[AD_LEN], const uint8_t *vid, uint64_t seq,
		    uint64_t idx)
{
	memcpy(ad, "vf-seg", 6);
	memcpy(ad + 6, vid, VF_VAULT_ID_BYTES);
	put_le(ad + 6 + VF_VAULT_ID_BYTES, seq, 8);
	put_le(ad + 6 + VF_VAULT_ID_BYTES + 8, idx, 8);
}

static int bufs_init(struct bufs *b, const uint8_t *key)
{
	memset(b, 0, sizeof(*b));
	b->page = sodium_malloc(PAGE);
	b->pt = sodium_malloc(VF_CATSEG_REC_PT);
	b->ct = malloc(VF_CATSEG_REC_BYTES);
	if (!b->page || !b->pt || !b->ct)
		return -ENOMEM;
	/* the page-hash key: the catalog subkey's, for this use only */
	crypto_generichash(b->hkey, sizeof(b->hkey),
			   (const uint8_t *)"vf-seg page hash", 16, key,
			   VF_KEY_BYTES);
	return 0;
}

static void bufs_release(struct bufs *b)
{
	if (b->page)
		sodium_free(b->page);
	if (b->pt)
		sodium_free(b->pt);
	free(b->ct);
	sodium_memzero(b->hkey, sizeof(b->hkey));
}

static void page_hash(const struct bufs *b, uint8_t out[VF_CATSEG_HASH])
{
	crypto_generichash(out, VF_CATSEG_HASH, b->page, PAGE, b->hkey,
			   sizeof(b->hkey));
}

static int file_pages(int fd, uint64_t *n)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size % PAGE || (uint64_t)st.st_size / PAGE > MAX_PAGES)
		return -EBADMSG;
	*n = (uint64_t)st.st_size / PAGE;
	return 0;
}

static int write_all(int fd, const void *p, size_t n, uint64_t off)
{
	ssize_t w = pwrite(fd, p, n, (off_t)off);

	if (w == (ssize_t)n)
		return 0;
	return w < 0 ? -errno : -EIO;
}

void vf_catseg_map_release(struct vf_catseg_map *m)
{
	free(m->h);
	m->h = NULL;
	m->n = 0;
}

int vf_catseg_diff(const char *vfs, const uint8_t key[VF_KEY_BYTES],
		   const uint8_t vid[VF_VAULT_ID_BYTES], const char *path,
		   const struct vf_catseg_map *old, uint64_t seq,
		   uint64_t base, int seg_fd, struct vf_catseg_map *fresh,
		   uint64_t *changed, uint64_t *seg_bytes,
		   uint8_t digest[VF_CATSEG_DIGEST])
{
	crypto_generichash_state dg;
	struct vf_catseg_map m = { NULL, 0 };
	uint8_t ad[AD_LEN], le[8], hdr[VF_CATSEG_HDR_PT];
	uint8_t sealed[VF_CATSEG_HDR_BYTES];
	uint64_t pg, count = 0, off = VF_CATSEG_HDR_BYTES;
	struct bufs b;
	int fd = -1, rc;

	rc = bufs_init(&b, key);
	if (rc)
		goto out;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	rc = file_pages(fd, &m.n);
	if (rc)
		goto out;
	m.h = malloc(m.n ? m.n * VF_CATSEG_HASH : 1);
	if (!m.h) {
		rc = -ENOMEM;
		goto out;
	}
	if (old && ftruncate(seg_fd, 0) < 0) {
		rc = -errno;
		goto out;
	}
	crypto_generichash_init(&dg, NULL, 0, VF_CATSEG_DIGEST);
	put_le(le, m.n, 8);
	crypto_generichash_update(&dg, le, 8);
	for (pg = 0; pg < m.n; pg++) {
		uint8_t *h = m.h + pg * VF_CATSEG_HASH;

		rc = vf_catvfs_page_read(vfs, fd, pg, b.page);
		if (rc)
			goto out;
		page_hash(&b, h);
		crypto_generichash_update(&dg, h, VF_CATSEG_HASH);
		if (!old || (pg < old->n &&
			     !memcmp(h, old->h + pg * VF_CATSEG_HASH,
				     VF_CATSEG_HASH)))
			continue;
		put_le(b.pt, pg, 8);
		memcpy(b.pt + 8, b.page, PAGE);
		make_ad(ad, vid, seq, count);
		vf_crypto_seal(key, ad, sizeof(ad), b.pt, VF_CATSEG_REC_PT,
			       b.ct);
		rc = write_all(seg_fd, b.ct, VF_CATSEG_REC_BYTES, off);
		if (rc)
			goto out;
		off += VF_CATSEG_REC_BYTES;
		count++;
	}
	crypto_generichash_final(&dg, hdr + 32, VF_CATSEG_DIGEST);
	if (old) {
		put_le(hdr, base, 8);
		put_le(hdr + 8, PAGE, 4);
		put_le(hdr + 12, VERSION, 4);
		put_le(hdr + 16, m.n, 8);
		put_le(hdr + 24, count, 8);
		make_ad(ad, vid, seq, HDR_IDX);
		vf_crypto_seal(key, ad, sizeof(ad), hdr, sizeof(hdr), sealed);
		rc = write_all(seg_fd, sealed, sizeof(sealed), 0);
		if (rc)
			goto out;
	}
	if (digest)
		memcpy(digest, hdr + 32, VF_CATSEG_DIGEST);
	*changed = count;
	*seg_bytes = old ? off : 0;
	*fresh = m;
	m.h = NULL;
out:
	if (fd >= 0)
		close(fd);
	free(m.h);
	bufs_release(&b);
	return rc;
}

/* Opens record i (or the header, i = HDR_IDX) of segment seq at off into
 * b->pt; -EBADMSG when it is missing or fails authentication. */
static int read_rec(struct bufs *b, const uint8_t *key, const uint8_t *vid,
		    uint64_t seq, int fd, uint64_t i, uint64_t off,
		    size_t len)
{
	uint8_t ad[AD_LEN];
	ssize_t n = pread(fd, b->ct, len, (off_t)off);

	if (n < 0)
		return -errno;
	if ((size_t)n != len)
		return -EBADMSG;
	make_ad(ad, vid, seq, i);
	return vf_crypto_open(key, ad, sizeof(ad), b->ct, len, b->pt);
}

/* One pass over segment seq: authenticates everything and, with
 * out >= 0, writes the pages. */
static int seg_pass(struct bufs *b, const char *vfs, const uint8_t *key,
		    const uint8_t *vid, uint64_t seq, int fd, int out,
		    struct vf_catseg_hdr *h)
{
	uint64_t i, pg, prev = 0, off = VF_CATSEG_HDR_BYTES;
	int rc;

	for (i = 0; i < h->count; i++, off += VF_CATSEG_REC_BYTES) {
		rc = read_rec(b, key, vid, seq, fd, i, off,
			      VF_CATSEG_REC_BYTES);
		if (rc)
			return rc;
		pg = get_le(b->pt, 8);
		/* in increasing order, within the size after it */
		if (pg >= h->db_pages || (i && pg <= prev))
			return -EBADMSG;
		prev = pg;
		if (out >= 0) {
			memcpy(b->page, b->pt + 8, PAGE);
			rc = vf_catvfs_page_write(vfs, out, pg, b->page);
			if (rc)
				return rc == -EINVAL ? -EBADMSG : rc;
		}
	}
	return 0;
}

int vf_catseg_apply(const char *vfs, const uint8_t key[VF_KEY_BYTES],
		    const uint8_t vid[VF_VAULT_ID_BYTES], uint64_t seq,
		    uint64_t expect_base, int fd, int out,
		    struct vf_catseg_hdr *hdr)
{
	struct vf_catseg_hdr h;
	struct stat st;
	struct bufs b;
	int rc;

	rc = bufs_init(&b, key);
	if (rc)
		goto out;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	rc = read_rec(&b, key, vid, seq, fd, HDR_IDX, 0, VF_CATSEG_HDR_BYTES);
	if (rc)
		goto out;
	h.base = get_le(b.pt, 8);
	h.db_pages = get_le(b.pt + 16, 8);
	h.count = get_le(b.pt + 24, 8);
	memcpy(h.digest, b.pt + 32, VF_CATSEG_DIGEST);
	/* sealed, so only our own writer could have made other values */
	if (get_le(b.pt + 8, 4) != PAGE || get_le(b.pt + 12, 4) != VERSION ||
	    h.db_pages > MAX_PAGES || h.count > h.db_pages ||
	    (uint64_t)st.st_size !=
		    VF_CATSEG_HDR_BYTES + h.count * VF_CATSEG_REC_BYTES) {
		rc = -EBADMSG;
		goto out;
	}
	if (h.base != expect_base) {
		rc = -ESTALE;
		goto out;
	}
	rc = seg_pass(&b, vfs, key, vid, seq, fd, -1, &h);
	if (!rc && out >= 0)
		rc = seg_pass(&b, vfs, key, vid, seq, fd, out, &h);
	if (!rc && out >= 0 &&
	    ftruncate(out, (off_t)(h.db_pages * PAGE)) < 0)
		rc = -errno;
	if (!rc && hdr)
		*hdr = h;
out:
	bufs_release(&b);
	return rc;
}
