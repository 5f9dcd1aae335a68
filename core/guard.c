/*
 * guard.c - multi-user authorization (README.md, The guard;
 * docs/guard.md): the guard's key pair, approval requests and tokens, and the check critical operations pass.
 *
 * The guard is an Ed25519 key pair whose secret half is held by someone
 * other than the vault owner.  Its public key is stored in the catalog
 * (meta "guard.pubkey", a 32-byte blob).  A critical operation with the
 * guard attached needs a token: the guard's signature over what exactly
 * is approved.  The token is checked here and nowhere else.
 *
 * Request code (printed to the requester): "vfreq2:" followed by the
 * base64url encoding, without padding, of these bytes:
 *
 *   offset    size  field
 *   0         1     version, 2
 *   1         16    vault id (the vault header's, vf_keys_vault_id)
 *   17        1     L, length of the operation name, 1..64
 *   18        L     operation name, [a-z0-9._-], starting with a letter
 *   18+L      32    BLAKE2b-256 of the canonical parameter string
 *   50+L      2     P, length of the parameter text, 0..256, unsigned
 *                   little-endian
 *   52+L      P     parameter text, printable ASCII (0x20..0x7e) only
 *   52+L+P    16    nonce, random, chosen by the requester
 *   68+L+P    8     creation time, ns since the epoch, signed little-endian
 *   76+L+P          end
 *
 * The parameter text is the canonical parameter string for the guard
 * holder to read (vf_guard_params_text): its printable bytes as they are,
 * a backslash and every other byte as "\xHH" (two lower-case hex digits);
 * when that is longer than 256 bytes it is cut at a character boundary
 * and ends with "\..." (backslash, three dots), which no escaping makes.
 * The hash, not the text, is what a token binds: approve checks that an
 * uncut text, unescaped, hashes to it and refuses the request otherwise.
 *
 * Token (handed back by the guard holder): "vftok2:" and base64url without
 * padding of the request bytes above, then
 *
 *   76+L+P    8     expiry, ns since the epoch, signed little-endian
 *   84+L+P    64    Ed25519 detached signature over bytes [0, 84+L+P)
 *   148+L+P         end
 *
 * Every length is exact: a request or token with a byte too many or too
 * few is malformed, and base64 must be canonical (libsodium refuses stray
 * bits and padding), so one approval has exactly one text form.  Version 1
 * (no parameter text, "vfreq1:"/"vftok1:") is malformed: none was deployed.
 *
 * Security invariants, enforced in vf_guard_check and
 * vf_vault_guard_authorize:
 *   - the signature is verified first, with the attached key only;
 *   - vault id, op and params hash must equal the caller's, expiry must
 *     lie after now;
 *   - a token is single-use: its nonce goes into table guard_used in a
 *     transaction of its own, committed before the operation is allowed;
 *     an insert that finds the nonce refuses.  Rows are never deleted.
 * The requester's nonce and creation time are not trusted for anything
 * but uniqueness: only the guard's signature makes a token.
 *
 * Key files of the guard holder (keygen, approve) are guard_key.c's; the
 * vault's guards and the gate's check are guard_set.c's.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "guard.h"
#include "policy.h"
#include "vault_int.h"

#define PUB_PREFIX "vfguard1:"
#define REQ_PREFIX "vfreq2:"
#define TOK_PREFIX "vftok2:"
#define B64URL sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define REQ_FIXED                                                              \
	(1 + VF_VAULT_ID_BYTES + 1 + VF_GUARD_HASH_BYTES + 2 +                 \
	 VF_GUARD_NONCE_BYTES + 8)
#define TOK_TAIL (8 + VF_GUARD_SIG_BYTES)
#define CUT_MARK "\\..." /* ends a parameter text that was cut */

/* The callers' buffers hold the longest text, with its prefix and NUL. */
_Static_assert(VF_GUARD_TEXT_MAX >=
		       7 + sodium_base64_ENCODED_LEN(VF_GUARD_BIN_MAX, B64URL),
	       "VF_GUARD_TEXT_MAX too small for a token");
_Static_assert(VF_GUARD_KEY_TEXT >= VF_SSHKEY_TEXT_MAX &&
		       VF_GUARD_KEY_TEXT >= VF_GUARD_PUB_TEXT,
	       "VF_GUARD_KEY_TEXT too small for a key");
_Static_assert(VF_GUARD_INPUT_MAX >= VF_GUARD_TEXT_MAX,
	       "VF_GUARD_INPUT_MAX too small for a token");
_Static_assert(VF_GUARD_WHY_MAX >= VF_GUARD_TEXT_MAX + 96,
	       "VF_GUARD_WHY_MAX too small for a request line");


/* ---- encoding -------------------------------------------------------- */

void vf_guard_put64(uint8_t *p, int64_t v)
{
	uint64_t u = (uint64_t)v;
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(u >> (8 * i));
}

int64_t vf_guard_get64(const uint8_t *p)
{
	uint64_t u = 0;
	int i;

	for (i = 0; i < 8; i++)
		u |= (uint64_t)p[i] << (8 * i);
	return (int64_t)u;
}

int vf_guard_op_valid(const char *op)
{
	size_t i, n = strnlen(op, VF_GUARD_OP_MAX + 1);

	if (n == 0 || n > VF_GUARD_OP_MAX || op[0] < 'a' || op[0] > 'z')
		return 0;
	for (i = 0; i < n; i++) {
		char c = op[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

void vf_guard_params_hash(const char *params, uint8_t hash[VF_GUARD_HASH_BYTES])
{
	crypto_generichash(hash, VF_GUARD_HASH_BYTES,
			   (const unsigned char *)params, strlen(params), NULL,
			   0);
}

static int is_printable(unsigned char c)
{
	return c >= 0x20 && c <= 0x7e;
}

/* 1 when the n bytes of text are all printable ASCII. */
static int text_printable(const char *text, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!is_printable((unsigned char)text[i]))
			return 0;
	return 1;
}

/* Bytes byte c takes in a parameter text: 4 for "\xHH", else 1. */
static size_t esc_len(unsigned char c)
{
	return is_printable(c) && c != '\\' ? 1 : 4;
}

void vf_guard_params_text(const char *params,
			  char text[VF_GUARD_PARAMS_MAX + 1])
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0, need, full = 0, limit = VF_GUARD_PARAMS_MAX;
	size_t len = strlen(params);

	for (i = 0; i < len; i++)
		full += esc_len((unsigned char)params[i]);
	/* Cut only when the whole text does not fit; then keep room for
	 * the mark. */
	if (full > limit)
		limit -= strlen(CUT_MARK);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)params[i];

		need = esc_len(c);
		if (o + need > limit) {
			memcpy(text + o, CUT_MARK, strlen(CUT_MARK));
			o += strlen(CUT_MARK);
			break;
		}
		if (need == 4) {
			text[o++] = '\\';
			text[o++] = 'x';
			text[o++] = hex[c >> 4];
			text[o++] = hex[c & 15];
		} else {
			text[o++] = (char)c;
		}
	}
	text[o] = '\0';
}

static int unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int vf_guard_params_verify(const struct vf_guard_request *r, int *escaped)
{
	uint8_t raw[VF_GUARD_PARAMS_MAX], hash[VF_GUARD_HASH_BYTES];
	size_t i, o = 0, n = strnlen(r->params, sizeof(r->params));
	size_t ml = strlen(CUT_MARK);
	int esc = 0, hi, lo;

	if (n >= sizeof(r->params))
		return -EBADMSG;
	if (n >= ml && !memcmp(r->params + n - ml, CUT_MARK, ml))
		return -ENODATA;
	/* Only what vf_guard_params_text makes unescapes: a backslash
	 * starts "\xHH" of a byte that needed it, nothing else. */
	for (i = 0; i < n; i++) {
		if (r->params[i] != '\\') {
			raw[o++] = (uint8_t)r->params[i];
			continue;
		}
		if (n - i < 4 || r->params[i + 1] != 'x')
			return -EBADMSG;
		hi = unhex(r->params[i + 2]);
		lo = unhex(r->params[i + 3]);
		if (hi < 0 || lo < 0)
			return -EBADMSG;
		raw[o] = (uint8_t)(hi << 4 | lo);
		if (is_printable(raw[o]) && raw[o] != '\\')
			return -EBADMSG;
		o++;
		i += 3;
		esc = 1;
	}
	crypto_generichash(hash, sizeof(hash), raw, o, NULL, 0);
	if (sodium_memcmp(hash, r->params_hash, sizeof(hash)))
		return -EBADMSG;
	*escaped = esc;
	return 0;
}

/* The request bytes of r into b (at least VF_GUARD_BIN_MAX); returns
 * their length.  r->op and r->params must be valid (as
 * vf_guard_request_format checks them). */
static size_t req_encode(const struct vf_guard_request *r, uint8_t *b)
{
	size_t l = strlen(r->op), p = strlen(r->params), o = 0;

	b[o++] = VF_GUARD_VERSION;
	memcpy(b + o, r->vault_id, VF_VAULT_ID_BYTES);
	o += VF_VAULT_ID_BYTES;
	b[o++] = (uint8_t)l;
	memcpy(b + o, r->op, l);
	o += l;
	memcpy(b + o, r->params_hash, VF_GUARD_HASH_BYTES);
	o += VF_GUARD_HASH_BYTES;
	b[o++] = (uint8_t)(p & 0xff);
	b[o++] = (uint8_t)(p >> 8);
	memcpy(b + o, r->params, p);
	o += p;
	memcpy(b + o, r->nonce, VF_GUARD_NONCE_BYTES);
	o += VF_GUARD_NONCE_BYTES;
	vf_guard_put64(b + o, r->created);
	return o + 8;
}

/* prefix + base64url(b) into text; -ERANGE when cap is too small. */
static int text_encode(const char *prefix, const uint8_t *b, size_t n,
		       char *text, size_t cap)
{
	size_t pl = strlen(prefix);

	if (cap < pl || cap - pl < sodium_base64_ENCODED_LEN(n, B64URL))
		return -ERANGE;
	memcpy(text, prefix, pl);
	sodium_bin2base64(text + pl, cap - pl, b, n, B64URL);
	return 0;
}

int vf_guard_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Strips blanks around text, checks and strips prefix, decodes the
 * base64url rest into bin (cap bytes).  Reads at most
 * VF_GUARD_INPUT_MAX + 1 bytes of text. */
static int text_decode(const char *text, const char *prefix, uint8_t *bin,
		       size_t cap, size_t *len)
{
	size_t n = strnlen(text, VF_GUARD_INPUT_MAX + 1);
	size_t pl = strlen(prefix), out = 0;
	const char *end = NULL;

	if (n > VF_GUARD_INPUT_MAX)
		return -EINVAL;
	while (n && vf_guard_is_space(*text)) {
		text++;
		n--;
	}
	while (n && vf_guard_is_space(text[n - 1]))
		n--;
	if (n <= pl || memcmp(text, prefix, pl))
		return -EINVAL;
	text += pl;
	n -= pl;
	/* Fails on a character outside the alphabet, on padding, on
	 * leftover bits and when the result would exceed cap. */
	if (sodium_base642bin(bin, cap, text, n, NULL, &out, &end, B64URL) ||
	    end != text + n)
		return -EINVAL;
	*len = out;
	return 0;
}

/* Decodes the request at the start of b (n bytes); *used gets its
 * length.  Every field is length-checked before it is read. */
static int req_decode(const uint8_t *b, size_t n, struct vf_guard_request *r,
		      size_t *used)
{
	size_t l, p, o = 0;

	if (n < REQ_FIXED || b[0] != VF_GUARD_VERSION)
		return -EINVAL;
	o = 1;
	memcpy(r->vault_id, b + o, VF_VAULT_ID_BYTES);
	o += VF_VAULT_ID_BYTES;
	l = b[o++];
	if (l == 0 || l > VF_GUARD_OP_MAX || n - REQ_FIXED < l)
		return -EINVAL;
	memcpy(r->op, b + o, l);
	r->op[l] = '\0';
	/* also refuses a NUL inside the name */
	if (!vf_guard_op_valid(r->op) || strlen(r->op) != l)
		return -EINVAL;
	o += l;
	memcpy(r->params_hash, b + o, VF_GUARD_HASH_BYTES);
	o += VF_GUARD_HASH_BYTES;
	p = (size_t)b[o] | (size_t)b[o + 1] << 8;
	o += 2;
	/* REQ_FIXED + l bytes are there (checked above); P more must be */
	if (p > VF_GUARD_PARAMS_MAX || n - REQ_FIXED - l < p)
		return -EINVAL;
	memcpy(r->params, b + o, p);
	r->params[p] = '\0';
	/* also refuses a NUL inside the text */
	if (!text_printable(r->params, p))
		return -EINVAL;
	o += p;
	memcpy(r->nonce, b + o, VF_GUARD_NONCE_BYTES);
	o += VF_GUARD_NONCE_BYTES;
	r->created = vf_guard_get64(b + o);
	*used = o + 8;
	return 0;
}

int vf_guard_request_parse(const char *text, struct vf_guard_request *out)
{
	uint8_t bin[VF_GUARD_BIN_MAX];
	struct vf_guard_request r;
	size_t n, used;
	int rc;

	rc = text_decode(text, REQ_PREFIX, bin, sizeof(bin), &n);
	if (!rc)
		rc = req_decode(bin, n, &r, &used);
	if (!rc && used != n)
		rc = -EINVAL;
	if (!rc)
		*out = r;
	return rc;
}

int vf_guard_token_parse(const char *text, struct vf_guard_token *out)
{
	struct vf_guard_token t;
	size_t n, used;
	int rc;

	rc = text_decode(text, TOK_PREFIX, t.raw, sizeof(t.raw), &n);
	if (!rc)
		rc = req_decode(t.raw, n, &t.req, &used);
	if (!rc && n - used != TOK_TAIL)
		rc = -EINVAL;
	if (rc)
		return rc;
	t.expires = vf_guard_get64(t.raw + used);
	t.signed_len = used + 8;
	memcpy(t.sig, t.raw + t.signed_len, VF_GUARD_SIG_BYTES);
	*out = t;
	return 0;
}

int vf_guard_request_format(const struct vf_guard_request *r, char *text,
			    size_t cap)
{
	uint8_t bin[VF_GUARD_BIN_MAX];
	size_t p = strnlen(r->params, sizeof(r->params));

	if (!vf_guard_op_valid(r->op) || p > VF_GUARD_PARAMS_MAX ||
	    !text_printable(r->params, p))
		return -EINVAL;
	return text_encode(REQ_PREFIX, bin, req_encode(r, bin), text, cap);
}

int vf_guard_token_sign(struct vf_guard_token *t, int64_t expires,
			const uint8_t sk[VF_GUARD_SK_BYTES], char *text,
			size_t cap)
{
	size_t n = req_encode(&t->req, t->raw);

	t->expires = expires;
	vf_guard_put64(t->raw + n, expires);
	t->signed_len = n + 8;
	crypto_sign_detached(t->raw + t->signed_len, NULL, t->raw,
			     t->signed_len, sk);
	return text_encode(TOK_PREFIX, t->raw,
			   t->signed_len + VF_GUARD_SIG_BYTES, text, cap);
}

/* ---- public keys ------------------------------------------------------- */

int vf_guard_pub_parse(const char *text, uint8_t pk[VF_GUARD_PK_BYTES])
{
	uint8_t bin[VF_GUARD_PK_BYTES + 1];
	size_t n;

	if (sodium_init() < 0)
		return -ENOMEM;
	if (text_decode(text, PUB_PREFIX, bin, sizeof(bin), &n) ||
	    n != VF_GUARD_PK_BYTES)
		return -EINVAL;
	/* A small-order or non-canonical point would make every signature
	 * check fail (libsodium refuses them), or worse, in other
	 * verifiers accept forgeries: refuse it at the door. */
	if (!crypto_core_ed25519_is_valid_point(bin))
		return -EINVAL;
	memcpy(pk, bin, VF_GUARD_PK_BYTES);
	return 0;
}

int vf_guard_pub_format(const uint8_t pk[VF_GUARD_PK_BYTES], char *text,
		      size_t cap)
{
	return text_encode(PUB_PREFIX, pk, VF_GUARD_PK_BYTES, text, cap);
}

static void fingerprint(const uint8_t pk[VF_GUARD_PK_BYTES],
			char out[VF_GUARD_FPR_TEXT])
{
	uint8_t h[32];

	crypto_generichash(h, sizeof(h), pk, VF_GUARD_PK_BYTES, NULL, 0);
	sodium_bin2hex(out, VF_GUARD_FPR_TEXT, h, 8);
}

int vf_guard_fingerprint(const char *pub_text, char out[VF_GUARD_FPR_TEXT])
{
	struct vf_sshkey k;
	int rc = vf_guard_key_parse(pub_text, &k);

	if (!rc)
		vf_guard_key_fpr(&k, out);
	return rc;
}

/* ---- the decision ------------------------------------------------------ */

/* The checks after the signature, common to both kinds of approval:
 * vault, op, params, expiry. */
static int req_check(const struct vf_guard_request *r, int64_t expires,
		     const uint8_t vault_id[VF_VAULT_ID_BYTES], const char *op,
		     const char *params, int64_t now, char *why, size_t whylen)
{
	uint8_t hash[VF_GUARD_HASH_BYTES];
	char when[32];

	if (memcmp(r->vault_id, vault_id, VF_VAULT_ID_BYTES)) {
		snprintf(why, whylen, "approval is for another vault");
		return -EPERM;
	}
	if (strcmp(r->op, op)) {
		snprintf(why, whylen, "approval is for operation %s, not %s",
			 r->op, op);
		return -EPERM;
	}
	vf_guard_params_hash(params, hash);
	if (memcmp(r->params_hash, hash, sizeof(hash))) {
		snprintf(why, whylen, "approval is for other parameters");
		return -EPERM;
	}
	if (!(now < expires)) {
		vf_time_format(expires, when);
		snprintf(why, whylen, "approval expired at %s", when);
		return -EPERM;
	}
	return 0;
}

/* 1 when the token's signature verifies with pk. */
static int token_signed_by(const struct vf_guard_token *t,
			   const uint8_t pk[VF_GUARD_PK_BYTES])
{
	return t->signed_len <= sizeof(t->raw) - VF_GUARD_SIG_BYTES &&
	       !crypto_sign_verify_detached(t->sig, t->raw, t->signed_len, pk);
}

int vf_guard_check(const struct vf_guard_token *t,
		   const uint8_t pk[VF_GUARD_PK_BYTES],
		   const uint8_t vault_id[VF_VAULT_ID_BYTES], const char *op,
		   const char *params, int64_t now, char *why, size_t whylen)
{
	if (sodium_init() < 0) {
		snprintf(why, whylen, "cannot initialise libsodium");
		return -EPERM;
	}
	/* First: nothing else in a token means anything unless the
	 * attached key signed it. */
	if (!token_signed_by(t, pk)) {
		snprintf(why, whylen,
			 "approval signature does not verify (forged or for "
			 "another guard key)");
		return -EPERM;
	}
	return req_check(&t->req, t->expires, vault_id, op, params, now, why,
			 whylen);
}

/* ---- guard keys of either format ---------------------------------------- */

int vf_guard_key_parse(const char *text, struct vf_sshkey *out)
{
	struct vf_sshkey k;

	memset(&k, 0, sizeof(k));
	while (vf_guard_is_space(*text))
		text++;
	if (!strncmp(text, PUB_PREFIX, strlen(PUB_PREFIX))) {
		if (vf_guard_pub_parse(text, k.pk))
			return -EINVAL;
		k.type = VF_GUARD_KEY_VAULT;
		*out = k;
		return 0;
	}
	return vf_sshkey_parse(text, out);
}

int vf_guard_key_format(const struct vf_sshkey *k, char *text, size_t cap)
{
	if (k->type == VF_GUARD_KEY_VAULT)
		return vf_guard_pub_format(k->pk, text, cap);
	return vf_sshkey_format(k, text, cap);
}

void vf_guard_key_fpr(const struct vf_sshkey *k, char out[VF_GUARD_FPR_TEXT])
{
	uint8_t blob[VF_SSHKEY_TEXT_MAX], h[32];
	size_t n;

	if (k->type == VF_GUARD_KEY_VAULT) {
		fingerprint(k->pk, out);
		return;
	}
	n = vf_sshkey_blob(k, blob, sizeof(blob));
	crypto_generichash(h, sizeof(h), blob, n, NULL, 0);
	sodium_bin2hex(out, VF_GUARD_FPR_TEXT, h, 8);
}

void vf_guard_set_fprs(const struct vf_guard_set *set, char *out, size_t cap)
{
	char fpr[VF_GUARD_FPR_TEXT];
	size_t i, o = 0;

	if (cap)
		out[0] = '\0';
	for (i = 0; i < set->n && o + VF_GUARD_FPR_TEXT + 1 <= cap; i++) {
		vf_guard_key_fpr(&set->keys[i], fpr);
		o += (size_t)snprintf(out + o, cap - o, "%s%s", i ? "," : "",
				      fpr);
	}
}

void vf_guard_set_params(const struct vf_guard_set *set, char *out,
			     size_t cap)
{
	char fprs[VF_GUARD_FPRS_TEXT], text[VF_GUARD_KEY_TEXT], hex[33];
	crypto_generichash_state st;
	uint8_t h[16];
	size_t i;

	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	for (i = 0; i < set->n; i++)
		if (!vf_guard_key_format(&set->keys[i], text, sizeof(text)))
			crypto_generichash_update(&st, (const uint8_t *)text,
						  strlen(text) + 1);
	crypto_generichash_final(&st, h, sizeof(h));
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	vf_guard_set_fprs(set, fprs, sizeof(fprs));
	snprintf(out, cap, "quorum=%u guards=%s set=%s", set->quorum, fprs,
		 hex);
}

/* ---- approvals ------------------------------------------------------------ */

/* The end of the word at p (the first blank or NUL). */
static const char *word_end(const char *p)
{
	while (*p && !vf_guard_is_space(*p))
		p++;
	return p;
}

/* One approval at *p (blanks before it already skipped); *p moves past
 * it. */
static int approval_parse(const char **p, struct vf_guard_approval *ap)
{
	const char *e = word_end(*p), *a, *end;
	size_t n = (size_t)(e - *p), el = strlen(VF_SSHSIG_END);
	char word[VF_GUARD_INPUT_MAX + 1];

	if (n > VF_GUARD_INPUT_MAX)
		return -EINVAL;
	memcpy(word, *p, n);
	word[n] = '\0';
	memset(ap, 0, sizeof(*ap));
	if (!strncmp(word, TOK_PREFIX, strlen(TOK_PREFIX))) {
		if (vf_guard_token_parse(word, &ap->tok))
			return -EINVAL;
		ap->req = ap->tok.req;
		ap->expires = ap->tok.expires;
		*p = e;
		return 0;
	}
	if (n >= sizeof(ap->text) || vf_guard_request_parse(word, &ap->req))
		return -EINVAL;
	memcpy(ap->text, word, n + 1);
	/* the armored signature follows, up to and with its END line */
	a = e;
	while (vf_guard_is_space(*a))
		a++;
	end = strstr(a, VF_SSHSIG_END);
	if (!end || vf_sshsig_parse(a, (size_t)(end + el - a), &ap->sig))
		return -EINVAL;
	ap->ssh = 1;
	/* An SSHSIG has no expiry: the request's creation time, which the
	 * guard's signature binds, starts a fixed validity. */
	ap->expires = ap->req.created > INT64_MAX - VF_GUARD_SSH_TTL ?
			      INT64_MAX :
			      ap->req.created + VF_GUARD_SSH_TTL;
	*p = end + el;
	return 0;
}

int vf_guard_approvals_parse(const char *text, struct vf_guard_approval *out,
			     size_t max, size_t *bad)
{
	const char *p = text;
	size_t n = 0;

	*bad = 0;
	if (strnlen(text, VF_GUARD_APPROVALS_MAX + 1) > VF_GUARD_APPROVALS_MAX)
		return -EINVAL;
	for (;;) {
		while (vf_guard_is_space(*p))
			p++;
		if (!*p)
			break;
		if (n == max || n == VF_GUARD_SET_MAX)
			return -EINVAL;
		if (approval_parse(&p, &out[n])) {
			*bad = n + 1;
			return -EINVAL;
		}
		n++;
		/* approvals are separated by blanks */
		if (*p && !vf_guard_is_space(*p)) {
			*bad = n;
			return -EINVAL;
		}
	}
	return n ? (int)n : -EINVAL;
}

/* The SSH approval's signature: its key must be one of set's (*signer
 * its index); the message is the request text as printed, with or
 * without the newline a shell adds when it is saved to a file. */
static int ssh_signed(const struct vf_guard_approval *ap,
		      const struct vf_guard_set *set, int *signer, char *why,
		      size_t whylen)
{
	char msg[VF_GUARD_TEXT_MAX + 1];
	char other[VF_GUARD_WHY_MAX];
	size_t i, n = strlen(ap->text);
	int rc;

	for (i = 0; i < set->n; i++)
		if (set->keys[i].type != VF_GUARD_KEY_VAULT &&
		    vf_sshkey_equal(&set->keys[i], &ap->sig.key))
			break;
	if (i == set->n) {
		snprintf(why, whylen,
			 "ssh signature is by a key that is not an attached "
			 "guard");
		return -EPERM;
	}
	memcpy(msg, ap->text, n);
	msg[n] = '\n';
	rc = vf_sshsig_verify(&ap->sig, msg, n + 1, why, whylen);
	if (rc && vf_sshsig_verify(&ap->sig, msg, n, other, sizeof(other)) == 0)
		rc = 0;
	if (!rc)
		*signer = (int)i;
	return rc;
}

int vf_guard_approval_check(const struct vf_guard_approval *ap,
			    const struct vf_guard_set *set,
			    const uint8_t vault_id[VF_VAULT_ID_BYTES],
			    const char *op, const char *params, int64_t now,
			    int *signer, char *why, size_t whylen)
{
	char when[32];
	size_t i;
	int rc, who = -1;

	if (sodium_init() < 0) {
		snprintf(why, whylen, "cannot initialise libsodium");
		return -EPERM;
	}
	if (ap->ssh) {
		rc = ssh_signed(ap, set, &who, why, whylen);
		if (rc)
			return rc;
		if (ap->req.created > now && ap->req.created - now > VF_GUARD_SKEW) {
			vf_time_format(ap->req.created, when);
			snprintf(why, whylen,
				 "approval request claims to be made at %s, in "
				 "the future",
				 when);
			return -EPERM;
		}
	} else {
		for (i = 0; i < set->n; i++)
			if (set->keys[i].type == VF_GUARD_KEY_VAULT &&
			    token_signed_by(&ap->tok, set->keys[i].pk))
				break;
		if (i == set->n) {
			snprintf(why, whylen,
				 "approval signature does not verify (forged or "
				 "for another guard key)");
			return -EPERM;
		}
		who = (int)i;
	}
	rc = req_check(&ap->req, ap->expires, vault_id, op, params, now, why,
		       whylen);
	if (!rc)
		*signer = who;
	return rc;
}
