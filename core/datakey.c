/*
 * datakey.c - data key epochs (datakey.h is the contract;
 * docs/keys-rotation.md the design).
 *
 * A key row's wrapped blob is vf_crypto_seal(KEYWRAP subkey, ad =
 * "vaultfs-datakey" || u32 epoch (little-endian) || vault id, key): 72
 * bytes.  The associated data binds a key to its epoch and vault, so a
 * row copied to another epoch or vault fails authentication.
 *
 * Invariant: every key in memory lives in sodium_malloc'd memory and is
 * wiped (sodium_free) when replaced or at close; none is ever logged.
 */
#include <string.h>

#include <sodium.h>

#include "datakey.h"

#define AD_TAG "vaultfs-datakey"
#define AD_LEN (sizeof(AD_TAG) - 1 + 4 + VF_VAULT_ID_BYTES)
#define WRAPPED_LEN (VF_KEY_BYTES + VF_SEAL_OVERHEAD)
#define EPOCHS_MAX 64 /* live epochs; a rotation retires all older ones */

struct vf_datakeys {
	pthread_rwlock_t lock;
	uint32_t cur, floor;
	size_t n;
	uint32_t epoch[EPOCHS_MAX];
	uint8_t *key[EPOCHS_MAX]; /* sodium_malloc'd; epoch 0 borrows */
};

static void ad_of(const struct vf_vault *v, uint32_t epoch,
		  uint8_t ad[AD_LEN])
{
	memcpy(ad, AD_TAG, sizeof(AD_TAG) - 1);
	ad[sizeof(AD_TAG) - 1] = (uint8_t)epoch;
	ad[sizeof(AD_TAG)] = (uint8_t)(epoch >> 8);
	ad[sizeof(AD_TAG) + 1] = (uint8_t)(epoch >> 16);
	ad[sizeof(AD_TAG) + 2] = (uint8_t)(epoch >> 24);
	memcpy(ad + sizeof(AD_TAG) + 3, vf_keys_vault_id(v->keys),
	       VF_VAULT_ID_BYTES);
}

/* Wipes the keys of d (not the struct). */
static void wipe(struct vf_datakeys *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (d->epoch[i])
			sodium_free(d->key[i]);
	d->n = 0;
}

void vf_datakey_free(struct vf_vault *v)
{
	struct vf_datakeys *d = v->dk;

	if (!d)
		return;
	wipe(d);
	pthread_rwlock_destroy(&d->lock);
	sodium_free(d);
	v->dk = NULL;
}

/* Reads the epochs into fresh (unlocked, not yet shared) n. */
static int read_rows(struct vf_vault *v, struct vf_datakeys *n)
{
	uint8_t ad[AD_LEN];
	int64_t cur = 0, floor = 0;
	sqlite3_stmt *st;
	int rc;

	rc = vf_catalog_meta_get(v->cat, "data.epoch", &cur);
	if (rc == -ENOENT)
		cur = 0;
	else if (rc)
		return rc;
	rc = vf_catalog_meta_get(v->cat, "data.floor", &floor);
	if (rc == -ENOENT)
		floor = 0;
	else if (rc)
		return rc;
	if (cur < 0 || cur > UINT32_MAX || floor < 0 || floor > cur)
		return -EIO;
	n->cur = (uint32_t)cur;
	n->floor = (uint32_t)floor;
	if (floor == 0) {
		n->epoch[0] = 0;
		n->key[0] = (uint8_t *)vf_keys_sub(v->keys, VF_SUBKEY_DATA);
		n->n = 1;
	}
	st = vf_catalog_stmt(v->cat, VF_Q_DATAKEY_ALL);
	if (!st)
		return -EIO;
	while ((rc = vf_catalog_row(st)) == 1) {
		int64_t e = sqlite3_column_int64(st, 0);
		const void *w = sqlite3_column_blob(st, 1);

		if (e < 1 || e > cur || e < floor || n->n == EPOCHS_MAX ||
		    sqlite3_column_bytes(st, 1) != WRAPPED_LEN) {
			rc = -EIO;
			break;
		}
		n->key[n->n] = sodium_malloc(VF_KEY_BYTES);
		if (!n->key[n->n]) {
			rc = -ENOMEM;
			break;
		}
		n->epoch[n->n] = (uint32_t)e;
		ad_of(v, (uint32_t)e, ad);
		rc = vf_crypto_open(vf_keys_sub(v->keys, VF_SUBKEY_KEYWRAP),
				    ad, sizeof(ad), w, WRAPPED_LEN,
				    n->key[n->n]);
		n->n++;
		if (rc)
			break;
	}
	sqlite3_reset(st);
	if (rc < 0)
		return rc;
	/* the current epoch must have its key */
	for (size_t i = 0; i < n->n; i++)
		if (n->epoch[i] == n->cur)
			return 0;
	return -EIO;
}

int vf_datakey_load(struct vf_vault *v)
{
	struct vf_datakeys *n, *d = v->dk;
	int rc;

	n = sodium_malloc(sizeof(*n));
	if (!n)
		return -ENOMEM;
	memset(n, 0, sizeof(*n));
	rc = read_rows(v, n);
	if (rc) {
		wipe(n);
		sodium_free(n);
		return rc;
	}
	if (!d) {
		rc = -pthread_rwlock_init(&n->lock, NULL);
		if (rc) {
			wipe(n);
			sodium_free(n);
			return rc;
		}
		v->dk = n;
		return 0;
	}
	pthread_rwlock_wrlock(&d->lock);
	wipe(d);
	d->cur = n->cur;
	d->floor = n->floor;
	d->n = n->n;
	memcpy(d->epoch, n->epoch, sizeof(d->epoch));
	memcpy(d->key, n->key, sizeof(d->key));
	pthread_rwlock_unlock(&d->lock);
	sodium_free(n); /* its keys moved to d */
	return 0;
}

/* The key of epoch e in d (lock held), or NULL. */
static const uint8_t *key_of(const struct vf_datakeys *d, uint32_t e)
{
	size_t i;

	if (e < d->floor)
		return NULL;
	for (i = 0; i < d->n; i++)
		if (d->epoch[i] == e)
			return d->key[i];
	return NULL;
}

/* d->cur, or with floor d->floor, read under the lock. */
static uint32_t epoch_read(struct vf_datakeys *d, int floor)
{
	uint32_t e;

	pthread_rwlock_rdlock(&d->lock);
	e = floor ? d->floor : d->cur;
	pthread_rwlock_unlock(&d->lock);
	return e;
}

uint32_t vf_datakey_current(struct vf_vault *v)
{
	return epoch_read(v->dk, 0);
}

uint32_t vf_datakey_floor(struct vf_vault *v)
{
	return epoch_read(v->dk, 1);
}

int vf_datakey_packs_below(struct vf_vault *v, uint32_t epoch, uint64_t *n)
{
	sqlite3_stmt *st = vf_catalog_stmt(v->cat, VF_Q_ROT_LEFT);
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, epoch);
	rc = vf_catalog_row(st);
	if (rc == 1)
		*n = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == 1 ? 0 : rc < 0 ? rc : -EIO;
}

ssize_t vf_datakey_encode(struct vf_vault *v,
			  const uint8_t id[VF_CHUNK_ID_BYTES], const void *raw,
			  size_t n, void *out, uint32_t *epoch)
{
	struct vf_datakeys *d = v->dk;
	ssize_t rc;

	pthread_rwlock_rdlock(&d->lock);
	rc = vf_pack_encode_key(key_of(d, d->cur), id, raw, n, out);
	if (rc >= 0)
		*epoch = d->cur;
	pthread_rwlock_unlock(&d->lock);
	return rc;
}

ssize_t vf_datakey_decode(struct vf_vault *v, uint32_t epoch,
			  const uint8_t id[VF_CHUNK_ID_BYTES],
			  const void *sealed, size_t n, void *out, size_t cap)
{
	struct vf_datakeys *d = v->dk;
	const uint8_t *key;
	ssize_t rc = -EBADMSG;

	pthread_rwlock_rdlock(&d->lock);
	key = key_of(d, epoch);
	if (key)
		rc = vf_pack_decode_key(key, id, sealed, n, out, cap);
	pthread_rwlock_unlock(&d->lock);
	return rc;
}

int vf_datakey_reseal(struct vf_vault *v, uint32_t from,
		      const uint8_t id[VF_CHUNK_ID_BYTES], const void *sealed,
		      size_t n, void *out, uint32_t *to)
{
	struct vf_datakeys *d = v->dk;
	const uint8_t *key;
	int rc = -EBADMSG;

	pthread_rwlock_rdlock(&d->lock);
	key = key_of(d, from);
	if (key)
		rc = vf_pack_reseal(key, key_of(d, d->cur), id, sealed, n,
				    out);
	if (!rc)
		*to = d->cur;
	pthread_rwlock_unlock(&d->lock);
	return rc;
}

int vf_datakey_new_store(struct vf_vault *v, int64_t now, uint32_t *epoch,
			 uint64_t *packs)
{
	uint8_t *key, wrapped[WRAPPED_LEN], ad[AD_LEN];
	uint32_t e = vf_datakey_current(v) + 1;
	uint64_t left = 0;
	sqlite3_stmt *st;
	int rc;

	if (e == 0 || e > INT32_MAX)
		return -EOVERFLOW;
	key = sodium_malloc(VF_KEY_BYTES);
	if (!key)
		return -ENOMEM;
	randombytes_buf(key, VF_KEY_BYTES);
	ad_of(v, e, ad);
	vf_crypto_seal(vf_keys_sub(v->keys, VF_SUBKEY_KEYWRAP), ad, sizeof(ad),
		       key, VF_KEY_BYTES, wrapped);
	sodium_free(key);
	st = vf_catalog_stmt(v->cat, VF_Q_DATAKEY_INSERT);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, e);
	sqlite3_bind_blob(st, 2, wrapped, sizeof(wrapped), SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	rc = vf_catalog_run(st);
	if (!rc)
		rc = vf_catalog_meta_set(v->cat, "data.epoch", e);
	if (!rc)
		rc = vf_datakey_packs_below(v, e, &left);
	if (!rc)
		rc = vf_catalog_meta_set(v->cat, "data.rot_total",
					 (int64_t)left);
	if (!rc) {
		*epoch = e;
		*packs = left;
	}
	return rc;
}

int vf_datakey_destroy_store(struct vf_vault *v)
{
	uint32_t cur = vf_datakey_current(v);
	sqlite3_stmt *st = vf_catalog_stmt(v->cat, VF_Q_DATAKEY_DEL);
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, cur);
	rc = vf_catalog_run(st);
	if (!rc)
		rc = vf_catalog_meta_set(v->cat, "data.floor", cur);
	if (!rc)
		rc = vf_catalog_meta_set(v->cat, "data.rot_total", 0);
	return rc;
}

int vf_datakey_export(struct vf_vault *v, uint32_t epoch,
		      uint8_t key[VF_KEY_BYTES])
{
	const uint8_t *k;
	int rc = -ENOENT;

	pthread_rwlock_rdlock(&v->dk->lock);
	k = key_of(v->dk, epoch);
	if (k) {
		memcpy(key, k, VF_KEY_BYTES);
		rc = 0;
	}
	pthread_rwlock_unlock(&v->dk->lock);
	return rc;
}
