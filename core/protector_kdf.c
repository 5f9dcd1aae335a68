/*
 * protector_kdf.c - the passphrase key derivation shared by the vault's
 * passphrase protector (protector.c) and passphrase-protected guard key
 * files (guard_key.c); docs/keys.md, Passphrase.
 */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "crypto.h"

int vf_passphrase_params_ok(uint64_t ops, uint64_t mem)
{
	return ops >= crypto_pwhash_OPSLIMIT_MIN && ops <= VF_PASSPHRASE_OPS_MAX &&
	       mem >= crypto_pwhash_MEMLIMIT_MIN && mem <= VF_PASSPHRASE_MEM_MAX;
}

int vf_passphrase_kdf(const void *pass, size_t len,
		      const uint8_t salt[VF_PASSPHRASE_SALT_BYTES], uint64_t ops,
		      uint64_t mem, uint8_t kek[VF_KEY_BYTES])
{
	if (!vf_passphrase_params_ok(ops, mem)) {
		sodium_memzero(kek, VF_KEY_BYTES);
		return -EINVAL;
	}
	if (crypto_pwhash(kek, VF_KEY_BYTES, pass, len, salt,
			  (unsigned long long)ops, (size_t)mem,
			  crypto_pwhash_ALG_ARGON2ID13) != 0) {
		sodium_memzero(kek, VF_KEY_BYTES);
		return -ENOMEM;
	}
	return 0;
}
