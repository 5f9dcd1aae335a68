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

/* ---- protectors (protector*.c; docs/keys.md) ------------------------- */

/* How a caller gives its key.  At most one of passphrase_file, passphrase,
 * key_file, key_command, key_command_file may be set; none means the
 * platform-managed keystore. */
struct vf_protector_opts {
	const char *passphrase_file; /* Argon2id over the file's first line */
	const char *key_file;        /* customer key file, >= 32 bytes, or an
					exported recovery key (docs/keys.md) */
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
	/* a passphrase typed on the terminal (borrowed, not NUL-terminated,
	 * passphrase_len bytes; sodium_malloc'd by the caller) */
	const char *passphrase;
	size_t passphrase_len;
};

/* 1 when o names no customer protector (passphrase, key file, key
 * command): the vault's key is the platform key in the keystore. */
int vf_protector_is_platform(const struct vf_protector_opts *o);

#define VF_KEYSTORE_DEFAULT "/etc/vaultfs/keys"
#define VF_HEADER_NAME "vault.hdr"
/* The header format written; format 1 (one protector) is still read. */
#define VF_FORMAT_VERSION 2
/* Most protectors one header holds. */
#define VF_PROTECTOR_MAX 16
/* Argon2id parameters of a new passphrase protector: about 1 s and
 * 256 MiB on a current machine (docs/keys.md has the measurement). */
#define VF_PASSPHRASE_OPS 3ULL
#define VF_PASSPHRASE_MEM (256ULL << 20)
/* Upper bounds for Argon2id parameters read from a file (a vault header,
 * a guard key file), so a forged file cannot make an unlock burn hours or
 * gigabytes. */
#define VF_PASSPHRASE_OPS_MAX 64ULL
#define VF_PASSPHRASE_MEM_MAX (4ULL << 30)
#define VF_PASSPHRASE_SALT_BYTES 16
/* Room for a recovery key's text (vf_protector_edit_recovery). */
#define VF_RECOVERY_TEXT_MAX 4096
/* Longest passphrase read. */
#define VF_PASSPHRASE_MAX 4096

/* Argon2id13 of the passphrase pass (len bytes) with salt, ops and mem
 * into kek (protector_kdf.c): the one derivation behind a passphrase
 * protector and a passphrase-protected guard key file.  0; -EINVAL when
 * ops or mem lie outside [libsodium's minimum, VF_PASSPHRASE_*_MAX];
 * -ENOMEM when Argon2id cannot get its memory.  kek is wiped on failure. */
VF_MUST int vf_passphrase_kdf(const void *pass, size_t len,
			      const uint8_t salt[VF_PASSPHRASE_SALT_BYTES],
			      uint64_t ops, uint64_t mem,
			      uint8_t kek[VF_KEY_BYTES]);
/* 1 when ops and mem are parameters vf_passphrase_kdf accepts. */
int vf_passphrase_params_ok(uint64_t ops, uint64_t mem);

/* Protector kinds, as stored in the header. */
enum vf_protector_kind {
	VF_PROT_PLATFORM = 1,
	VF_PROT_KEY_FILE = 2,
	VF_PROT_KEY_COMMAND = 3,
	VF_PROT_PASSPHRASE = 4,
	VF_PROT_RECOVERY = 5,
};

/* "platform", "key-file", "key-command", "passphrase", "recovery"; "?"
 * out of range. */
const char *vf_protector_kind_name(uint32_t kind);
/* The kind named name (as above): 0 and *kind, or -EINVAL. */
VF_MUST int vf_protector_kind_parse(const char *name, uint32_t *kind);

/* One protector as `key list` shows it. */
struct vf_protector_info {
	uint32_t kind;
	uint64_t id;     /* random, shown as 16 hex digits */
	int64_t added;   /* ns since the epoch; 0 for a format-1 header's */
	uint64_t ops;    /* Argon2id opslimit (passphrase), else 0 */
	uint64_t mem;    /* Argon2id memlimit in bytes (passphrase), else 0 */
};

/* Creates VAULT/vault.hdr for a fresh master key wrapped by the chosen
 * protector (for the platform protector also KEYSTORE/<vault-id>.key, mode
 * 0600 in a 0700 directory).  The vault directory must exist and be empty
 * of a header.  On failure writes one line into err and returns -errno;
 * nothing is left half-written.  On success *out holds the keys (caller
 * frees). */
VF_MUST int vf_protector_create(const char *vault_dir,
				const struct vf_protector_opts *o,
				struct vf_keys **out, char *err, size_t errlen);

/* Reads VAULT/vault.hdr and unwraps the master key with the protector o
 * gives (every wrapped copy of that kind is tried), then checks the
 * header's MAC.  Errors (one line in err): -ENOENT not a vault /
 * keystore key missing, -EPROTO newer format, -EBADMSG wrong passphrase
 * or key, or a tampered header, -EINVAL bad options or no protector of
 * that kind, -EIO corrupt header.  Modifies nothing. */
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

/* The secret a new protector of kind gets, read as the calling process
 * (vaultctl, never the daemon): key-file: BLAKE2b-256 of the file arg (32
 * bytes; an exported recovery key is refused); key-command: of what the
 * command arg prints; passphrase: the first line of the file arg.
 * *secret is sodium_malloc'd (caller wipes with sodium_free), *len its
 * size.  -errno with one line in err. */
VF_MUST int vf_protector_secret(uint32_t kind, const char *arg,
				uint8_t **secret, size_t *len, char *err,
				size_t errlen);

/* Parses a recovery key's text (a file's contents; comment lines start
 * with '#'): 1 and *id (the protector id, may be NULL) when text is a
 * well-formed recovery key, 0 when it is not a recovery key at all,
 * -EINVAL with one line in err when it looks like one but is malformed
 * or its checksum fails (a typo). */
VF_MUST int vf_protector_recovery_check(const char *text, size_t len,
					uint64_t *id, char *err,
					size_t errlen);

/*
 * Changing the protectors of an open vault: an edit reads the header,
 * checks it with the master key, changes a copy in memory, stages it
 * (the new header and any new keystore key written to temporary files
 * and fsync'd) and publishes it (renamed into place, directories
 * fsync'd).  Free without publishing and nothing changed.  The caller
 * holds the vault lock (one edit at a time).
 */
struct vf_protector_edit;

/* Starts an edit of dir's header for the vault whose keys are k
 * (borrowed until the free), with keystore (NULL: default) and now (ns)
 * as the time new protectors were added.  -EBADMSG when the header does
 * not match the keys (tampered), -ENOMEM, -EIO. */
VF_MUST int vf_protector_edit_begin(const char *dir, const char *keystore,
				    const struct vf_keys *k, int64_t now,
				    struct vf_protector_edit **out, char *err,
				    size_t errlen);
void vf_protector_edit_free(struct vf_protector_edit *e);

/* The protectors now in the edit, up to cap into out; returns the count. */
size_t vf_protector_edit_list(const struct vf_protector_edit *e,
			      struct vf_protector_info *out, size_t cap);
/* 1 when the header read was format 1 (written as format 2 on publish). */
int vf_protector_edit_upgrades(const struct vf_protector_edit *e);

/* Adds a protector of kind: platform (secret NULL: a new keystore key),
 * key-file or key-command (secret: the 32 bytes of vf_protector_secret),
 * passphrase (secret: the passphrase, Argon2id with VF_PASSPHRASE_OPS
 * and _MEM) or recovery (secret NULL: a new random recovery key, whose
 * text vf_protector_edit_recovery gives).  *info (may be NULL) gets the
 * new protector.  -EEXIST a second platform key; -ENOSPC
 * VF_PROTECTOR_MAX reached; -EINVAL. */
VF_MUST int vf_protector_edit_add(struct vf_protector_edit *e, uint32_t kind,
				  const uint8_t *secret, size_t len,
				  struct vf_protector_info *info, char *err,
				  size_t errlen);
/* Removes protector id; *info (may be NULL) gets what it was.  -ENOENT
 * no such protector; -EPERM it is the last one. */
VF_MUST int vf_protector_edit_remove(struct vf_protector_edit *e, uint64_t id,
				     struct vf_protector_info *info, char *err,
				     size_t errlen);
/* Re-wraps the master key under new keys where the vault holds them: a
 * new platform key; every recovery key replaced by one new recovery key
 * (new_recovery 1; with 0 a vault with a recovery key is refused,
 * -EINVAL).  Key files, key commands and passphrases are the owner's
 * own secrets and stay.  *n gets the protectors replaced; -EINVAL when
 * there is none to rotate. */
VF_MUST int vf_protector_edit_rotate(struct vf_protector_edit *e,
				     int new_recovery, unsigned *n, char *err,
				     size_t errlen);
/* Replaces the passphrase protector that cur opens by one for next
 * (fresh salt, current Argon2id parameters).  -EBADMSG cur opens none;
 * -ENOENT no passphrase protector.  *id (may be NULL) gets the new id. */
VF_MUST int vf_protector_edit_passphrase(struct vf_protector_edit *e,
					 const uint8_t *cur, size_t curlen,
					 const uint8_t *next, size_t nextlen,
					 uint64_t *id, char *err,
					 size_t errlen);
/* The text of the recovery key the last add or rotate made (borrowed
 * until the free; NULL when none). */
const char *vf_protector_edit_recovery(const struct vf_protector_edit *e);

/* Writes the edited header as a temporary file (and a new keystore key
 * as KEYSTORE/<id>.key.new), fsync'd; the vault still opens as before. */
VF_MUST int vf_protector_edit_stage(struct vf_protector_edit *e, char *err,
				    size_t errlen);
/* Puts the staged files in place (rename, fsync of the directories); a
 * removed or rotated platform key's old file goes.  After a crash
 * between the two renames the vault opens with KEYSTORE/<id>.key.new. */
VF_MUST int vf_protector_edit_publish(struct vf_protector_edit *e, char *err,
				      size_t errlen);

#endif
