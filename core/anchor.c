/*
 * anchor.c - catalog anchors: encoding, digest, durable files.  The byte
 * layout of an anchor file and of the digest is at the top of anchor.h.
 *
 * Invariant: an anchor is only ever written after the catalog state it
 * names is durable (catalog.c: the epoch is committed and checkpointed,
 * the database file synced), so an anchor never gets ahead of the catalog
 * on disk and a crash cannot look like a rollback.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "anchor.h"

#define MAGIC "VFANCHR1"
#define PAGE 4096
#define TAIL 40
#define BLOCK (64 * PAGE)
#define MAC_OFF 72

static void put64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

int vf_anchor_digest(const char *path, const uint8_t key[32],
		     struct vf_anchor *a)
{
	crypto_generichash_state st;
	uint8_t *buf = NULL, le[8];
	uint64_t size = 0;
	ssize_t n;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT : -EIO;
	buf = malloc(BLOCK);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	crypto_generichash_init(&st, key, 32, 32);
	crypto_generichash_update(&st, (const uint8_t *)"vf-catalog-db", 13);
	for (;;) {
		size_t got = 0, i;

		/* Fill the block so that pages never straddle two reads. */
		while (got < BLOCK) {
			n = pread(fd, buf + got, BLOCK - got,
				  (off_t)(size + got));
			if (n < 0) {
				rc = -EIO;
				goto out;
			}
			if (n == 0)
				break;
			got += (size_t)n;
		}
		for (i = 0; i + PAGE <= got; i += PAGE)
			crypto_generichash_update(&st, buf + i + PAGE - TAIL,
						  TAIL);
		if (i < got)
			crypto_generichash_update(&st, buf + i, got - i);
		size += got;
		if (got < BLOCK)
			break;
	}
	put64(le, size);
	crypto_generichash_update(&st, le, 8);
	crypto_generichash_final(&st, a->digest, 32);
	a->size = size;
out:
	free(buf);
	close(fd);
	return rc;
}

void vf_anchor_encode(const struct vf_anchor *a, const uint8_t key[32],
		      const uint8_t id[VF_ANCHOR_ID_BYTES], uint8_t *buf)
{
	memcpy(buf, MAGIC, 8);
	memcpy(buf + 8, id, VF_ANCHOR_ID_BYTES);
	put64(buf + 24, a->epoch);
	put64(buf + 32, a->size);
	memcpy(buf + 40, a->digest, 32);
	crypto_generichash(buf + MAC_OFF, 32, buf, MAC_OFF, key, 32);
}

int vf_anchor_decode(const uint8_t *buf, size_t len, const uint8_t key[32],
		     const uint8_t id[VF_ANCHOR_ID_BYTES], struct vf_anchor *a)
{
	uint8_t mac[32];

	if (len != VF_ANCHOR_BYTES || memcmp(buf, MAGIC, 8))
		return -EBADMSG;
	crypto_generichash(mac, 32, buf, MAC_OFF, key, 32);
	if (sodium_memcmp(mac, buf + MAC_OFF, 32) ||
	    sodium_memcmp(buf + 8, id, VF_ANCHOR_ID_BYTES))
		return -EBADMSG;
	a->epoch = get64(buf + 24);
	a->size = get64(buf + 32);
	memcpy(a->digest, buf + 40, 32);
	return 0;
}

int vf_anchor_read(const char *path, const uint8_t key[32],
		   const uint8_t id[VF_ANCHOR_ID_BYTES], struct vf_anchor *a)
{
	uint8_t buf[VF_ANCHOR_BYTES + 1];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT : -EIO;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0)
		return -EIO;
	return vf_anchor_decode(buf, (size_t)n, key, id, a);
}

int vf_anchor_write(const char *path, const uint8_t key[32],
		    const uint8_t id[VF_ANCHOR_ID_BYTES],
		    const struct vf_anchor *a)
{
	uint8_t buf[VF_ANCHOR_BYTES];
	char *tmp = NULL, *dir = NULL, *slash;
	int fd = -1, dfd, rc = 0;

	vf_anchor_encode(a, key, id, buf);
	if (asprintf(&tmp, "%s.tmp", path) < 0) {
		tmp = NULL;
		rc = -ENOMEM;
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf) ||
	    fsync(fd) < 0) {
		rc = errno ? -errno : -EIO;
		goto out;
	}
	close(fd);
	fd = -1;
	if (rename(tmp, path) < 0) {
		rc = -errno;
		goto out;
	}
	dir = strdup(path);
	if (!dir) {
		rc = -ENOMEM;
		goto out;
	}
	slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		if (fsync(dfd) < 0)
			rc = -errno;
		close(dfd);
	}
out:
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	free(dir);
	free(tmp);
	return rc;
}
