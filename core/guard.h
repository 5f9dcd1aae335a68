/*
 * guard.h - approval requests and tokens of the guard (README.md, The guard), private
 * to core/, tests and the fuzz target.  What tools/ calls (keygen,
 * approve, attach, authorize) is declared in vault.h; this header exposes
 * the decoded formats and the pure checks behind them so they can be
 * tested and fuzzed without a vault.
 *
 * The byte layouts are described at the top of guard.c.
 *
 * Threads: every function here may be called from any thread at once.
 */
#ifndef VF_GUARD_H
#define VF_GUARD_H

#include "crypto.h"
#include "sshsig.h"
#include "vault.h"

#define VF_GUARD_VERSION 2
#define VF_GUARD_PK_BYTES 32
#define VF_GUARD_SIG_BYTES 64
#define VF_GUARD_SK_BYTES 64 /* libsodium's Ed25519 secret key: seed || pk */
#define VF_GUARD_HASH_BYTES 32
#define VF_GUARD_NONCE_BYTES 16
/* Longest parameter text a request carries, in bytes. */
#define VF_GUARD_PARAMS_MAX 256
/* Longest binary token: version, vault id, op length, op, params hash,
 * text length, text, nonce, creation time, expiry, signature. */
#define VF_GUARD_BIN_MAX                                                       \
	(1 + VF_VAULT_ID_BYTES + 1 + VF_GUARD_OP_MAX + VF_GUARD_HASH_BYTES +   \
	 2 + VF_GUARD_PARAMS_MAX + VF_GUARD_NONCE_BYTES + 8 + 8 +              \
	 VF_GUARD_SIG_BYTES)
/* Longest text accepted by the parsers; anything longer is malformed. */
#define VF_GUARD_INPUT_MAX 1024
/* struct vf_sshkey.type of a guard key in the vault's own format
 * ("vfguard1:", vf_guard_keygen); the OpenSSH types are sshsig.h's. */
#define VF_GUARD_KEY_VAULT 0
/* How long an SSH approval is valid after its request was made (an
 * SSHSIG has no expiry of its own), and how far in the future a request
 * may claim to be made. */
#define VF_GUARD_SSH_TTL (3600LL * VF_NS)
#define VF_GUARD_SKEW (300LL * VF_NS)
/* Longest text of all the approvals of one operation. */
#define VF_GUARD_APPROVALS_MAX                                                 \
	(VF_GUARD_SET_MAX * (VF_GUARD_TEXT_MAX + VF_SSHSIG_ARMOR_MAX + 2))

/* The guards of a vault: n keys (VF_GUARD_KEY_VAULT or an OpenSSH type),
 * of which quorum (1..n) must approve a critical operation. */
struct vf_guard_set {
	size_t n;
	unsigned quorum;
	struct vf_sshkey keys[VF_GUARD_SET_MAX];
};

/* A decoded request: what is to be approved. */
struct vf_guard_request {
	uint8_t vault_id[VF_VAULT_ID_BYTES];
	char op[VF_GUARD_OP_MAX + 1]; /* NUL-terminated, checked syntax */
	uint8_t params_hash[VF_GUARD_HASH_BYTES];
	/* the parameters for the holder to read (vf_guard_params_text):
	 * NUL-terminated, printable ASCII; display only, the hash binds */
	char params[VF_GUARD_PARAMS_MAX + 1];
	uint8_t nonce[VF_GUARD_NONCE_BYTES];
	int64_t created; /* ns since the epoch, the requester's clock */
};

/* A decoded token: the request, its expiry and the guard's signature over
 * raw[0, signed_len). */
struct vf_guard_token {
	struct vf_guard_request req;
	int64_t expires; /* ns since the epoch */
	uint8_t sig[VF_GUARD_SIG_BYTES];
	size_t signed_len;
	uint8_t raw[VF_GUARD_BIN_MAX];
};

/* Parses a token ("vftok2:...") or a request ("vfreq2:...").  Leading and
 * trailing blanks and newlines are ignored; anything else that is not
 * exactly the format (prefix, base64url without padding, version, lengths,
 * op syntax, parameter text of printable ASCII) is -EINVAL.  The text is
 * not checked against the hash here (vf_guard_params_verify does).  Never reads past text's NUL nor more than
 * VF_GUARD_INPUT_MAX + 1 bytes of it; allocates nothing.  *out is written
 * only on success.  No pointer argument of this header may be NULL. */
VF_MUST int vf_guard_token_parse(const char *text, struct vf_guard_token *out);
VF_MUST int vf_guard_request_parse(const char *text,
				   struct vf_guard_request *out);

/* Encodes r as "vfreq2:..." into text.  -EINVAL for an op of bad syntax
 * or a parameter text longer than VF_GUARD_PARAMS_MAX or not printable
 * ASCII, -ERANGE when cap is too small (VF_GUARD_TEXT_MAX always
 * suffices). */
VF_MUST int vf_guard_request_format(const struct vf_guard_request *r,
				    char *text, size_t cap);

/* 1 when op is a valid operation name: 1 to VF_GUARD_OP_MAX bytes of
 * [a-z0-9._-], starting with a letter; else 0. */
int vf_guard_op_valid(const char *op);

/* hash = BLAKE2b-256 of the canonical parameter string. */
void vf_guard_params_hash(const char *params,
			  uint8_t hash[VF_GUARD_HASH_BYTES]);

/* The parameter text of a request for params, into text: the printable
 * ASCII bytes of params as they are, a backslash and any other byte as
 * "\\xHH" (lower-case hex); when that exceeds VF_GUARD_PARAMS_MAX bytes
 * it is cut at a character boundary and ends with "\\..." instead. */
void vf_guard_params_text(const char *params,
			  char text[VF_GUARD_PARAMS_MAX + 1]);

/* Checks that r->params, unescaped, is what r->params_hash is the hash of:
 * 0 when it is (*escaped set to 1 when the text has escapes, else 0);
 * -ENODATA when the text was cut and cannot be checked; -EBADMSG when it
 * does not match or is not what vf_guard_params_text makes (an escape of
 * a byte that needs none, a lone backslash).  *escaped is written only on
 * success. */
VF_MUST int vf_guard_params_verify(const struct vf_guard_request *r,
				   int *escaped);

/* Parses "vfguard1:<base64url>" into a 32-byte Ed25519 public key; -EINVAL
 * when malformed or not a canonical point of the prime-order subgroup. */
VF_MUST int vf_guard_pub_parse(const char *text, uint8_t pk[VF_GUARD_PK_BYTES]);

/* The pure decision on a parsed token, without the single-use check: 0
 * when signed by pk for this vault, op and params and not expired at now;
 * else -EPERM with the one-line reason in why.  Checks in this order:
 * signature, vault, op, params, expiry. */
VF_MUST int vf_guard_check(const struct vf_guard_token *t,
			   const uint8_t pk[VF_GUARD_PK_BYTES],
			   const uint8_t vault_id[VF_VAULT_ID_BYTES],
			   const char *op, const char *params, int64_t now,
			   char *why, size_t whylen);

/* ---- guard keys of either format ----------------------------------------- */

/* Parses a guard public key: "vfguard1:..." (vf_guard_keygen) or an
 * OpenSSH "ssh-ed25519 ..." / "sk-ssh-ed25519@openssh.com ..." line, its
 * comment ignored.  -EINVAL when it is neither. */
VF_MUST int vf_guard_key_parse(const char *text, struct vf_sshkey *out);
/* The key as text, without comment (cap >= VF_GUARD_KEY_TEXT). */
VF_MUST int vf_guard_key_format(const struct vf_sshkey *k, char *text,
				size_t cap);
/* 16 hex digits of BLAKE2b-256 over the key: the 32 bytes of a vault-
 * format key (as before OpenSSH keys existed), the wire blob of an
 * OpenSSH key. */
void vf_guard_key_fpr(const struct vf_sshkey *k, char out[VF_GUARD_FPR_TEXT]);

/* The parameters an approval of guard set set binds (the operation
 * "guard.attach"): "quorum=M guards=FPR,... set=HEX", the fingerprints
 * for the guard holder to read and 32 hex digits of BLAKE2b-128 over the
 * keys' texts (a fingerprint has 64 bits only). */
void vf_guard_set_params(const struct vf_guard_set *set, char *out,
			 size_t cap);

/* ---- approvals ------------------------------------------------------------ */

/* One approval as given: a vault token, or an SSH signature over the
 * request text. */
struct vf_guard_approval {
	int ssh;                   /* 0 token (tok), 1 SSH (req, text, sig) */
	struct vf_guard_token tok;
	struct vf_guard_request req; /* the request approved (both kinds) */
	int64_t expires;
	char text[VF_GUARD_TEXT_MAX]; /* ssh: the request text as signed */
	struct vf_sshsig sig;
};

/* Parses the approvals of one operation: one or more, separated by
 * blanks or newlines, each either a token "vftok2:..." or an SSH approval
 * (the request line "vfreq2:..." then the armored signature ssh-keygen
 * wrote for it, as `cat REQ REQ.sig` gives).  At most max (<=
 * VF_GUARD_SET_MAX) approvals and VF_GUARD_APPROVALS_MAX bytes.  Returns
 * the number parsed (>= 1), or -EINVAL with *bad the 1-based index of the
 * malformed one (0: none given, or too many).  An SSH approval's expiry
 * is its request's creation time + VF_GUARD_SSH_TTL. */
VF_MUST int vf_guard_approvals_parse(const char *text,
				     struct vf_guard_approval *out,
				     size_t max, size_t *bad);

/* The pure decision on one parsed approval, without the single-use
 * check: 0 when it is signed by a key of set (*signer gets its index) for
 * this vault, op and params and not expired at now; else -EPERM with the
 * one-line reason in why.  Checks in this order: signature (for an SSH
 * approval: that its key is in set, then the signature, its namespace and
 * a security key's user presence), vault, op, params, expiry (an SSH
 * request created more than VF_GUARD_SKEW after now is refused too). */
VF_MUST int vf_guard_approval_check(const struct vf_guard_approval *ap,
				    const struct vf_guard_set *set,
				    const uint8_t vault_id[VF_VAULT_ID_BYTES],
				    const char *op, const char *params,
				    int64_t now, int *signer, char *why,
				    size_t whylen);

/* ---- the attached guards (v->mu held; for the gate, admin.c) ------------- */

/* 1 when guards are attached (*set gets them), 0 when none, -EIO when
 * the stored keys or quorum are damaged (fails closed). */
VF_MUST int vf_guard_set_load(struct vf_vault *v, struct vf_guard_set *set);
/* Replaces the guards by set (n >= 1, 1 <= quorum <= n), in the caller's
 * transaction if any. */
VF_MUST int vf_guard_set_store(struct vf_vault *v,
			       const struct vf_guard_set *set);
/* Removes every guard, in the caller's transaction if any. */
VF_MUST int vf_guard_key_drop(struct vf_vault *v);
/* The fingerprints of set's keys, comma-separated, into out (cap >=
 * VF_GUARD_FPRS_TEXT). */
void vf_guard_set_fprs(const struct vf_guard_set *set, char *out, size_t cap);

/* The permission check of critical operation op with parameters params
 * requested by uid at time now.  Fails closed: anything but 0 is a deny.
 *   - no guard attached: 0 (fingerprint_out, if given, gets "");
 *   - no token: -EPERM; request (reqcap >= VF_GUARD_TEXT_MAX) gets a new
 *     request code and why (whylen >= VF_GUARD_WHY_MAX) the line telling
 *     the requester what the guard holder must run;
 *   - approvals (token: vf_guard_approvals_parse's text): 0 only when
 *     every one is valid (vf_guard_approval_check), all approve the same
 *     request, at least the set's quorum of distinct guards approved
 *     (vf_policy_quorum; two approvals by one guard count once) and the
 *     request was never used in this vault; its nonce is then recorded
 *     as used, in the caller's transaction (so the approvals are spent
 *     exactly when the operation commits), and fingerprint_out (>=
 *     VF_GUARD_FPRS_TEXT bytes) gets the approving guards' fingerprints,
 *     comma-separated.  Else -EPERM with the reason in why (malformed,
 *     forged, not a guard, other vault, other operation, other
 *     parameters, expired, other request, too few guards, already
 *     used); with several approvals the reason names which one.
 * Other errors: -EINVAL (bad op name), -ERANGE (small buffer), -EROFS
 * (a token on a read-only vault), -EIO/-ENOSPC (catalog), with why set.
 * v->mu held. */
VF_MUST int vf_guard_authorize(struct vf_vault *v, uid_t uid, const char *op,
			       const char *params, const char *token,
			       int64_t now, char *request, size_t reqcap,
			       char *why, size_t whylen,
			       char *fingerprint_out);
/* The same in a transaction of its own, taking v->mu (for tests). */
VF_MUST int vf_vault_guard_authorize(struct vf_vault *v, uid_t uid,
				     const char *op, const char *params,
				     const char *token, int64_t now,
				     char *request, size_t reqcap, char *why,
				     size_t whylen, char *fingerprint_out);


/* ---- shared by guard.c and guard_key.c ---------------------------------- */

/* Signs t->req with sk, valid until expires: fills t's raw bytes, expiry
 * and signed length, and the token text ("vftok2:...") into text.
 * -ERANGE when cap is too small. */
VF_MUST int vf_guard_token_sign(struct vf_guard_token *t, int64_t expires,
				const uint8_t sk[VF_GUARD_SK_BYTES],
				char *text, size_t cap);
/* "vfguard1:" and the base64url of pk into text; -ERANGE when cap is too
 * small. */
VF_MUST int vf_guard_pub_format(const uint8_t pk[VF_GUARD_PK_BYTES],
				char *text, size_t cap);
/* 8 bytes little-endian at p. */
void vf_guard_put64(uint8_t *p, int64_t v);
int64_t vf_guard_get64(const uint8_t *p);
/* 1 for a blank (space, tab, CR, LF). */
int vf_guard_is_space(char c);

/* ---- key files (guard_key.c) ------------------------------------------- */

/* vf_guard_keygen_pass with the Argon2id parameters given (tests use
 * small ones); pass NULL writes an unprotected key file. */
VF_MUST int vf_guard_keygen_kdf(const char *out_path, const char *pass,
				size_t passlen, uint64_t ops, uint64_t mem,
				char *pub_text, size_t cap, char *err,
				size_t errlen);
/* vf_guard_key_passphrase with the Argon2id parameters given. */
VF_MUST int vf_guard_key_passphrase_kdf(const char *path, const char *cur,
					size_t curlen, const char *next,
					size_t nextlen, uint64_t ops,
					uint64_t mem, char *err,
					size_t errlen);

#endif
