/*
 * spool.c - the spool: dirty 64 KiB blocks of open files, sealed, in one
 * unnamed O_TMPFILE in the vault directory (spool.h is the contract).
 *
 * Layout: slot n at n * (65536 + 40) holds one block sealed with the SPOOL
 * subkey and associated data le64(n).  Slots are reused through a free
 * list under v->spool_mu; nothing survives the daemon, which is right:
 * uncommitted data is not a recovery point.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool.h"

#define SLOT_SIZE (VF_SPOOL_BLOCK + VF_SEAL_OVERHEAD)

int vf_spool_init(struct vf_vault *v)
{
	pthread_mutex_init(&v->spool_mu, NULL);
	v->spool_fd = -1;
	return 0;
}

int vf_spool_open(struct vf_vault *v, char *err, size_t errlen)
{
	v->spool_fd = open(v->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (v->spool_fd < 0) {
		snprintf(err, errlen, "cannot create spool in '%s': %s", v->dir,
			 strerror(errno));
		return -errno;
	}
	return 0;
}

uint64_t vf_spool_pending(struct vf_vault *v)
{
	uint64_t n;

	pthread_mutex_lock(&v->spool_mu);
	n = v->spool_slots - v->n_free;
	pthread_mutex_unlock(&v->spool_mu);
	return n * VF_SPOOL_BLOCK;
}

int vf_spool_alloc(struct vf_vault *v, uint64_t *slot)
{
	pthread_mutex_lock(&v->spool_mu);
	if (v->n_free)
		*slot = v->spool_free[--v->n_free];
	else
		*slot = v->spool_slots++;
	pthread_mutex_unlock(&v->spool_mu);
	return 0;
}

void vf_spool_free_slot(struct vf_vault *v, uint64_t slot)
{
	pthread_mutex_lock(&v->spool_mu);
	if (v->n_free == v->free_cap) {
		size_t cap = v->free_cap ? v->free_cap * 2 : 256;
		uint64_t *p = realloc(v->spool_free, cap * sizeof(*p));

		if (!p) {
			/* Leaking a slot wastes spool space, nothing more. */
			pthread_mutex_unlock(&v->spool_mu);
			return;
		}
		v->spool_free = p;
		v->free_cap = cap;
	}
	v->spool_free[v->n_free++] = slot;
	pthread_mutex_unlock(&v->spool_mu);
}

void vf_spool_close(struct vf_vault *v)
{
	if (v->spool_fd >= 0)
		close(v->spool_fd);
	v->spool_fd = -1;
	free(v->spool_free);
	v->spool_free = NULL;
}

void vf_spool_release(struct vf_vault *v)
{
	vf_spool_close(v);
	pthread_mutex_destroy(&v->spool_mu);
}

static void le64(uint8_t out[8], uint64_t x)
{
	int i;

	for (i = 0; i < 8; i++)
		out[i] = (uint8_t)(x >> (8 * i));
}

int vf_spool_write(struct vf_vault *v, uint64_t slot, const uint8_t *blk)
{
	uint8_t ad[8], *sealed;
	ssize_t n;
	int rc = 0;

	sealed = malloc(SLOT_SIZE);
	if (!sealed)
		return -ENOMEM;
	le64(ad, slot);
	vf_crypto_seal(vf_keys_sub(v->keys, VF_SUBKEY_SPOOL), ad, sizeof(ad),
		       blk, VF_SPOOL_BLOCK, sealed);
	n = pwrite(v->spool_fd, sealed, SLOT_SIZE, (off_t)(slot * SLOT_SIZE));
	if (n != (ssize_t)SLOT_SIZE)
		rc = n < 0 && errno == ENOSPC ? -ENOSPC : -EIO;
	free(sealed);
	return rc;
}

int vf_spool_read(struct vf_vault *v, uint64_t slot, uint8_t *blk)
{
	uint8_t ad[8], *sealed;
	ssize_t n;
	int rc;

	sealed = malloc(SLOT_SIZE);
	if (!sealed)
		return -ENOMEM;
	le64(ad, slot);
	n = pread(v->spool_fd, sealed, SLOT_SIZE, (off_t)(slot * SLOT_SIZE));
	if (n != (ssize_t)SLOT_SIZE)
		rc = -EIO;
	else
		rc = vf_crypto_open(vf_keys_sub(v->keys, VF_SUBKEY_SPOOL), ad,
				    sizeof(ad), sealed, SLOT_SIZE, blk);
	free(sealed);
	return rc;
}
