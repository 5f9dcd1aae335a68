/*
 * sshsig.h - OpenSSH public keys and SSHSIG signatures (ssh-keygen -Y
 * sign), parsed and verified with libsodium: the guard (guard.c) accepts
 * keys an admin already has.  Two key types only, both Ed25519:
 * "ssh-ed25519" and the FIDO2 security key "sk-ssh-ed25519@openssh.com".
 *
 * The formats are described at the top of sshsig.c.  Pure functions: no
 * I/O, no allocation, no vault; every function may be called from any
 * thread at once.  No pointer argument may be NULL.
 */
#ifndef VF_SSHSIG_H
#define VF_SSHSIG_H

#include "common.h"

/* The namespace every approval must be signed in (ssh-keygen -n). */
#define VF_SSHSIG_NAMESPACE "vaultfs"
#define VF_SSHKEY_PK_BYTES 32
#define VF_SSHKEY_SIG_BYTES 64
/* Longest security key application string ("ssh:" by default). */
#define VF_SSHKEY_APP_MAX 64
/* Longest namespace, reserved field and hash name kept from a signature;
 * longer ones are malformed. */
#define VF_SSHSIG_FIELD_MAX 64
/* Longest armored signature accepted, in bytes. */
#define VF_SSHSIG_ARMOR_MAX 2048
/* Longest key text: type, space, base64 of the largest blob, NUL. */
#define VF_SSHKEY_TEXT_MAX 256

#define VF_SSHSIG_BEGIN "-----BEGIN SSH SIGNATURE-----"
#define VF_SSHSIG_END "-----END SSH SIGNATURE-----"

/* Security key flag: the user touched the key (PROTOCOL.u2f). */
#define VF_SSHKEY_SK_USER_PRESENT 0x01

enum vf_sshkey_type {
	VF_SSHKEY_ED25519 = 1,    /* "ssh-ed25519" */
	VF_SSHKEY_SK_ED25519 = 2, /* "sk-ssh-ed25519@openssh.com" */
};

struct vf_sshkey {
	int type; /* enum vf_sshkey_type */
	uint8_t pk[VF_SSHKEY_PK_BYTES];
	char app[VF_SSHKEY_APP_MAX + 1]; /* sk only, NUL-terminated; else "" */
};

/* A decoded SSHSIG blob. */
struct vf_sshsig {
	struct vf_sshkey key; /* the signer, as the blob names it */
	char ns[VF_SSHSIG_FIELD_MAX + 1];
	uint8_t reserved[VF_SSHSIG_FIELD_MAX];
	size_t reserved_len;
	char hash_alg[VF_SSHSIG_FIELD_MAX + 1];
	uint8_t sig[VF_SSHKEY_SIG_BYTES];
	uint8_t flags;    /* sk only */
	uint32_t counter; /* sk only */
};

/* Parses an OpenSSH public key line "TYPE BASE64 [COMMENT]" (as in a .pub
 * file; leading and trailing blanks ignored) of one of the two types.
 * -EINVAL when malformed, of another type, when the type inside the blob
 * differs from the one in front, or when the key is not a canonical point
 * of the prime-order subgroup.  *out written only on success. */
VF_MUST int vf_sshkey_parse(const char *text, struct vf_sshkey *out);

/* The key as "TYPE BASE64" (no comment) into text; -ERANGE when cap is
 * too small (VF_SSHKEY_TEXT_MAX always suffices). */
VF_MUST int vf_sshkey_format(const struct vf_sshkey *k, char *text,
			     size_t cap);

/* The key's wire blob (RFC 4253 strings) into buf; returns its length, 0
 * when cap is too small (VF_SSHKEY_TEXT_MAX suffices). */
size_t vf_sshkey_blob(const struct vf_sshkey *k, uint8_t *buf, size_t cap);

/* 1 when a and b are the same key (type, point and application). */
int vf_sshkey_equal(const struct vf_sshkey *a, const struct vf_sshkey *b);

/* Parses the len bytes of text, which must be exactly one armored
 * signature (BEGIN line, base64 lines, END line; blanks and newlines
 * around and between lines ignored).  -EINVAL when malformed: armor,
 * base64, magic, version, lengths, key or signature type, a byte too many
 * or too few.  Reads no more than len bytes; *out written only on
 * success. */
VF_MUST int vf_sshsig_parse(const char *text, size_t len,
			    struct vf_sshsig *out);

/* Verifies s over the len bytes of msg: 0 when the signature verifies
 * with s->key, the namespace is VF_SSHSIG_NAMESPACE, the hash is sha512
 * and, for a security key, the user-presence flag is set; else -EPERM
 * with one line in why.  Checks in this order: hash algorithm, signature,
 * namespace, user presence.  Which key s->key must be is the caller's
 * business. */
VF_MUST int vf_sshsig_verify(const struct vf_sshsig *s, const void *msg,
			     size_t len, char *why, size_t whylen);

#endif
