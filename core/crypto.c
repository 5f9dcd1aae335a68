/*
 * crypto.c - master key, purpose subkeys, sealing and chunk ids.
 *
 * Invariant: struct vf_keys lives in sodium_malloc'd (guarded, mlocked)
 * memory and is wiped by sodium_free.  Nothing here logs or prints a key.
 */
#include <string.h>

#include <sodium.h>

#include "crypto.h"

#define KDF_CONTEXT "vaultfs1"

struct vf_keys {
	uint8_t master[VF_KEY_BYTES];
	uint8_t vault_id[VF_VAULT_ID_BYTES];
	uint8_t sub[VF_SUBKEY_COUNT][VF_KEY_BYTES];
};

int vf_keys_new(const uint8_t master[VF_KEY_BYTES],
		const uint8_t vault_id[VF_VAULT_ID_BYTES], struct vf_keys **out)
{
	struct vf_keys *k;
	int i;

	if (sodium_init() < 0)
		return -ENOMEM;
	k = sodium_malloc(sizeof(*k));
	if (!k)
		return -ENOMEM;
	memcpy(k->master, master, VF_KEY_BYTES);
	memcpy(k->vault_id, vault_id, VF_VAULT_ID_BYTES);
	for (i = 1; i < VF_SUBKEY_COUNT; i++)
		crypto_kdf_derive_from_key(k->sub[i], VF_KEY_BYTES, (uint64_t)i,
					   KDF_CONTEXT, k->master);
	sodium_memzero(k->sub[0], VF_KEY_BYTES);
	*out = k;
	return 0;
}

int vf_keys_generate(struct vf_keys **out)
{
	uint8_t master[VF_KEY_BYTES], id[VF_VAULT_ID_BYTES];
	int rc;

	if (sodium_init() < 0)
		return -ENOMEM;
	randombytes_buf(master, sizeof(master));
	randombytes_buf(id, sizeof(id));
	rc = vf_keys_new(master, id, out);
	sodium_memzero(master, sizeof(master));
	return rc;
}

void vf_keys_free(struct vf_keys *k)
{
	if (k)
		sodium_free(k);
}

const uint8_t *vf_keys_master(const struct vf_keys *k)
{
	return k->master;
}

const uint8_t *vf_keys_vault_id(const struct vf_keys *k)
{
	return k->vault_id;
}

const uint8_t *vf_keys_sub(const struct vf_keys *k, enum vf_subkey which)
{
	return k->sub[which];
}

void vf_crypto_chunk_id(const struct vf_keys *k, const void *data, size_t len,
			uint8_t id[VF_CHUNK_ID_BYTES])
{
	crypto_generichash(id, VF_CHUNK_ID_BYTES, data, len,
			   k->sub[VF_SUBKEY_CHUNK_ID], VF_KEY_BYTES);
}

void vf_crypto_seal(const uint8_t key[VF_KEY_BYTES], const void *ad,
		    size_t adlen, const void *pt, size_t ptlen, void *out)
{
	uint8_t *o = out;

	randombytes_buf(o, VF_SEAL_NONCE);
	crypto_aead_xchacha20poly1305_ietf_encrypt(o + VF_SEAL_NONCE, NULL, pt,
						   ptlen, ad, adlen, NULL, o,
						   key);
}

int vf_crypto_open(const uint8_t key[VF_KEY_BYTES], const void *ad,
		   size_t adlen, const void *ct, size_t ctlen, void *out)
{
	const uint8_t *c = ct;

	if (ctlen < VF_SEAL_OVERHEAD)
		return -EBADMSG;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		    out, NULL, NULL, c + VF_SEAL_NONCE, ctlen - VF_SEAL_NONCE,
		    ad, adlen, c, key) != 0)
		return -EBADMSG;
	return 0;
}
