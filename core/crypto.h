/*
 * crypto.h - keys, protectors, AEAD sealing and keyed chunk ids (libsodium).
 *
 * Every vault has one random 32-byte master key.  Purpose subkeys are
 * derived from it with crypto_kdf (BLAKE2b), context "vaultfs1", one id per
 * purpose (enum vf_subkey).  The master key never leaves sodium_malloc'd
 * memory and is only ever written to disk wrapped by a protector
 * (protector.c): the vault header holds it sealed under a key-encryption key
 * (KEK) that comes from the platform keystore, a key file, a key command or
 * an Argon2id passphrase.
 *
 * Sealing is XChaCha20-Poly1305 (IETF) with a random 24-byte nonce:
 * sealed = nonce(24) || ciphertext || tag(16).  Associated data binds a
 * sealed blob to its place (chunk id, page number), so blobs cannot be
 * swapped undetected.
 *
 * Chunk ids are keyed BLAKE2b-256 over the plaintext with the CHUNK_ID
 * subkey: equal content dedups within a vault, but an id says nothing about
 * content to someone without the key.
 *
 * Thread safety: a struct vf_keys is immutable after creation; every
 * function here may be called from any thread at once.
 */
#ifndef VF_CRYPTO_H
#define VF_CRYPTO_H

#include "common.h"

#define VF_KEY_BYTES 32
#define VF_VAULT_ID_BYTES 16
#define VF_CHUNK_ID_BYTES 32
#define VF_SEAL_NONCE 24
#define VF_SEAL_TAG 16
#define VF_SEAL_OVERHEAD (VF_SEAL_NONCE + VF_SEAL_TAG)

enum vf_subkey {
	VF_SUBKEY_CHUNK_ID = 1, /* keyed BLAKE2b chunk ids */
	VF_SUBKEY_DATA = 2,     /* chunk sealing */
	VF_SUBKEY_CATALOG = 3,  /* catalog pages (catvfs.c) */
	VF_SUBKEY_AUDIT = 4,    /* audit record MAC chain */
	VF_SUBKEY_CHUNKER = 5,  /* seed of the chunker's gear table */
	VF_SUBKEY_SPOOL = 6,    /* dirty-data spool of open files */
	VF_SUBKEY_ANCHOR = 7,   /* catalog anchors and digest (anchor.h) */
	VF_SUBKEY_KEYWRAP = 8,  /* seals data key epochs (datakey.h) */
	VF_SUBKEY_COUNT = 9
};

struct vf_keys;

/* Creates keys from a master key (copied).  Returns 0, -ENOMEM. */
VF_MUST int vf_keys_new(const uint8_t master[VF_KEY_BYTES],
			const uint8_t vault_id[VF_VAULT_ID_BYTES],
			struct vf_keys **out);

/* Creates keys from a fresh random master key and vault id. */
VF_MUST int vf_keys_generate(struct vf_keys **out);

/* Wipes and frees; accepts NULL. */
void vf_keys_free(struct vf_keys *k);

/* Borrowed pointers valid until vf_keys_free. */
const uint8_t *vf_keys_master(const struct vf_keys *k);
const uint8_t *vf_keys_vault_id(const struct vf_keys *k);
const uint8_t *vf_keys_sub(const struct vf_keys *k, enum vf_subkey which);

/* id = keyed BLAKE2b-256(data) under the CHUNK_ID subkey. */
void vf_crypto_chunk_id(const struct vf_keys *k, const void *data,
			size_t len, uint8_t id[VF_CHUNK_ID_BYTES]);

/* Seals pt into out (ptlen + VF_SEAL_OVERHEAD bytes) under subkey key with
 * associated data ad.  Never fails. */
void vf_crypto_seal(const uint8_t key[VF_KEY_BYTES], const void *ad,
		    size_t adlen, const void *pt, size_t ptlen, void *out);

/* Opens a sealed blob of ctlen bytes into out (ctlen - VF_SEAL_OVERHEAD
 * bytes).  Returns 0, or -EBADMSG when it fails authentication or is too
 * short; on failure out holds no plaintext. */
VF_MUST int vf_crypto_open(const uint8_t key[VF_KEY_BYTES], const void *ad,
			   size_t adlen, const void *ct, size_t ctlen,
			   void *out);

/* ---- protectors (protector.c) -------------------------------------- */

/* How the master key is wrapped.  Exactly one of the first three may be
 * set; none means the platform-managed keystore. */
struct vf_protector_opts {
	const char *passphrase_file; /* Argon2id over the file's first line */
	const char *key_file;        /* customer key file, >= 32 bytes */
	const char *key_command;     /* run via /bin/sh; stdout is the key */
	/* the same command read from the first line of this file, which
	 * must be a regular file only its owner (root or the caller) may
	 * read and write: it stays out of the process list and mount
	 * options */
	const char *key_command_file;
	const char *keystore;        /* platform keystore dir; NULL = default */
	/* messages name the options as mount -o spells them (1:
	 * "-o key_file=", mount.vaultfs) or as vaultctl does (0:
	 * "--key-file") */
	int mount_style;
};

/* 1 when o names no customer protector (passphrase, key file, key
 * command): the vault's key is the platform key in the keystore. */
int vf_protector_is_platform(const struct vf_protector_opts *o);

#define VF_KEYSTORE_DEFAULT "/etc/vaultfs/keys"
#define VF_HEADER_NAME "vault.hdr"
#define VF_FORMAT_VERSION 1

/* Creates VAULT/vault.hdr for a fresh master key wrapped by the chosen
 * protector (for the platform protector also KEYSTORE/<vault-id>.key, mode
 * 0600 in a 0700 directory).  The vault directory must exist and be empty
 * of a header.  On failure writes one line into err and returns -errno;
 * nothing is left half-written.  On success *out holds the keys (caller
 * frees). */
VF_MUST int vf_protector_create(const char *vault_dir,
				const struct vf_protector_opts *o,
				struct vf_keys **out, char *err, size_t errlen);

/* Reads VAULT/vault.hdr and unwraps the master key.  Errors (one line in
 * err): -ENOENT not a vault / keystore key missing, -EPROTO newer format,
 * -EBADMSG wrong passphrase or key (or a tampered header), -EINVAL bad
 * options.  Modifies nothing. */
VF_MUST int vf_protector_unlock(const char *vault_dir,
				const struct vf_protector_opts *o,
				struct vf_keys **out, char *err, size_t errlen);

/* The vault id of dir's header (hex) and, in where, where its key lives
 * as a person would look for it ("the key file /root/v.key"), without
 * unwrapping anything.  -errno when the header cannot be read. */
VF_MUST int vf_protector_describe(const char *vault_dir,
				  const struct vf_protector_opts *o,
				  char id[2 * VF_VAULT_ID_BYTES + 1],
				  char *where, size_t cap);

/* Returns 1 when dir holds a vault header, 0 when not. */
int vf_protector_is_vault(const char *vault_dir);

#endif
