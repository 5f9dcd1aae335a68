/*
 * guard.h - approval requests and tokens of the guard (SPEC 7), private
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
#include "vault.h"

#define VF_GUARD_VERSION 2
#define VF_GUARD_PK_BYTES 32
#define VF_GUARD_SIG_BYTES 64
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

/* ---- the attached guard (v->mu held; for the gate, admin.c) -------------- */

/* 1 when a guard is attached (pk and fpr, if not NULL, get its key and
 * fingerprint), 0 when none, -EIO when the stored key is damaged (fails
 * closed). */
VF_MUST int vf_guard_attached(struct vf_vault *v,
			      uint8_t pk[VF_GUARD_PK_BYTES],
			      char fpr[VF_GUARD_FPR_TEXT]);
/* Stores / removes the guard key, in the caller's transaction if any. */
VF_MUST int vf_guard_key_store(struct vf_vault *v,
			       const uint8_t pk[VF_GUARD_PK_BYTES]);
VF_MUST int vf_guard_key_drop(struct vf_vault *v);

/* The permission check of critical operation op with parameters params
 * requested by uid at time now.  Fails closed: anything but 0 is a deny.
 *   - no guard attached: 0 (fingerprint_out, if given, gets "");
 *   - no token: -EPERM; request (reqcap >= VF_GUARD_TEXT_MAX) gets a new
 *     request code and why (whylen >= VF_GUARD_WHY_MAX) the line telling
 *     the requester what the guard holder must run;
 *   - a token: 0 only when it is signed by the attached key for this
 *     vault, op and params, not expired at now and never used in this
 *     vault; its nonce is then recorded as used, in the caller's
 *     transaction (so the token is spent exactly when the operation
 *     commits), and fingerprint_out gets the guard key's fingerprint.
 *     Else -EPERM with the reason in why (malformed, forged, other
 *     vault, other operation, other parameters, expired, already used).
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

#endif
