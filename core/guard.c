/*
 * guard.c - multi-user authorization (SPEC 7): the guard's key pair,
 * approval requests and tokens, and the check critical operations pass.
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
 * Key file of the guard holder: one line "vaultfs-guard-key-1 " and the
 * standard base64 (with padding) of libsodium's 64-byte Ed25519 secret key
 * (seed || public key), mode 0600.  It lives in sodium_malloc memory while
 * used and is checked against its own public half on load.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "guard.h"
#include "vault_int.h"

#define PUB_PREFIX "vfguard1:"
#define REQ_PREFIX "vfreq2:"
#define TOK_PREFIX "vftok2:"
#define KEY_PREFIX "vaultfs-guard-key-1 "
#define B64URL sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define B64STD sodium_base64_VARIANT_ORIGINAL
#define SK_BYTES crypto_sign_SECRETKEYBYTES
#define KEY_FILE_MAX 256 /* a key file is 109 bytes */
#define REQ_FIXED                                                              \
	(1 + VF_VAULT_ID_BYTES + 1 + VF_GUARD_HASH_BYTES + 2 +                 \
	 VF_GUARD_NONCE_BYTES + 8)
#define TOK_TAIL (8 + VF_GUARD_SIG_BYTES)
#define CUT_MARK "\\..." /* ends a parameter text that was cut */

/* The callers' buffers hold the longest text, with its prefix and NUL. */
_Static_assert(VF_GUARD_TEXT_MAX >=
		       7 + sodium_base64_ENCODED_LEN(VF_GUARD_BIN_MAX, B64URL),
	       "VF_GUARD_TEXT_MAX too small for a token");
_Static_assert(VF_GUARD_INPUT_MAX >= VF_GUARD_TEXT_MAX,
	       "VF_GUARD_INPUT_MAX too small for a token");
_Static_assert(VF_GUARD_WHY_MAX >= VF_GUARD_TEXT_MAX + 96,
	       "VF_GUARD_WHY_MAX too small for a request line");

/* Secrets of one key file operation, in one sodium_malloc region
 * (guarded pages, wiped by sodium_free). */
struct secrets {
	uint8_t sk[SK_BYTES];
	uint8_t sk2[SK_BYTES];
	uint8_t pk2[crypto_sign_PUBLICKEYBYTES];
	char line[KEY_FILE_MAX];
};

/* ---- encoding -------------------------------------------------------- */

static void put64(uint8_t *p, int64_t v)
{
	uint64_t u = (uint64_t)v;
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(u >> (8 * i));
}

static int64_t get64(const uint8_t *p)
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
	put64(b + o, r->created);
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

static int is_space(char c)
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
	while (n && is_space(*text)) {
		text++;
		n--;
	}
	while (n && is_space(text[n - 1]))
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
	r->created = get64(b + o);
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
	t.expires = get64(t.raw + used);
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

static int pub_format(const uint8_t pk[VF_GUARD_PK_BYTES], char *text,
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
	uint8_t pk[VF_GUARD_PK_BYTES];
	int rc = vf_guard_pub_parse(pub_text, pk);

	if (!rc)
		fingerprint(pk, out);
	return rc;
}

/* ---- the decision ------------------------------------------------------ */

int vf_guard_check(const struct vf_guard_token *t,
		   const uint8_t pk[VF_GUARD_PK_BYTES],
		   const uint8_t vault_id[VF_VAULT_ID_BYTES], const char *op,
		   const char *params, int64_t now, char *why, size_t whylen)
{
	uint8_t hash[VF_GUARD_HASH_BYTES];
	char when[32];

	if (sodium_init() < 0) {
		snprintf(why, whylen, "cannot initialise libsodium");
		return -EPERM;
	}
	/* First: nothing else in a token means anything unless the
	 * attached key signed it. */
	if (t->signed_len > sizeof(t->raw) - VF_GUARD_SIG_BYTES ||
	    crypto_sign_verify_detached(t->sig, t->raw, t->signed_len, pk)) {
		snprintf(why, whylen,
			 "approval signature does not verify (forged or for "
			 "another guard key)");
		return -EPERM;
	}
	if (memcmp(t->req.vault_id, vault_id, VF_VAULT_ID_BYTES)) {
		snprintf(why, whylen, "approval is for another vault");
		return -EPERM;
	}
	if (strcmp(t->req.op, op)) {
		snprintf(why, whylen, "approval is for operation %s, not %s",
			 t->req.op, op);
		return -EPERM;
	}
	vf_guard_params_hash(params, hash);
	if (memcmp(t->req.params_hash, hash, sizeof(hash))) {
		snprintf(why, whylen, "approval is for other parameters");
		return -EPERM;
	}
	if (!(now < t->expires)) {
		vf_time_format(t->expires, when);
		snprintf(why, whylen, "approval expired at %s", when);
		return -EPERM;
	}
	return 0;
}

/* ---- key files ------------------------------------------------------- */

static int write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	ssize_t w;

	while (n) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* fsync of the directory holding path, so a new entry survives a crash. */
static int sync_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = NULL;
	int fd, rc = 0;

	if (!slash)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (!dir)
		return -ENOMEM;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		rc = -errno;
	if (fd >= 0)
		close(fd);
	free(dir);
	return rc;
}

int vf_guard_keygen(const char *out_path, char *pub_text, size_t cap, char *err,
		    size_t errlen)
{
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	char pub[VF_GUARD_PUB_TEXT];
	struct secrets *s = NULL;
	size_t kl = strlen(KEY_PREFIX), len;
	int fd = -1, created = 0, rc;

	if (sodium_init() < 0) {
		snprintf(err, errlen, "cannot initialise libsodium");
		return -ENOMEM;
	}
	if (cap < VF_GUARD_PUB_TEXT) {
		snprintf(err, errlen, "public key buffer too small");
		return -ERANGE;
	}
	s = sodium_malloc(sizeof(*s));
	if (!s) {
		snprintf(err, errlen,
			 "cannot generate guard key: out of memory");
		return -ENOMEM;
	}
	crypto_sign_keypair(pk, s->sk);
	rc = pub_format(pk, pub, sizeof(pub));
	if (rc) {
		snprintf(err, errlen, "cannot encode the public key");
		goto out;
	}
	memcpy(s->line, KEY_PREFIX, kl);
	sodium_bin2base64(s->line + kl, sizeof(s->line) - kl - 1, s->sk,
			  SK_BYTES, B64STD);
	len = strlen(s->line);
	s->line[len++] = '\n';
	/* O_EXCL: never overwrite a key (it may be the only copy of one a
	 * vault is armed with); O_NOFOLLOW: nor write through a link. */
	fd = open(out_path,
		  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		if (rc == -EEXIST)
			snprintf(err, errlen,
				 "guard key file '%s' already exists",
				 out_path);
		else
			snprintf(err, errlen,
				 "cannot create guard key file '%s': %s",
				 out_path, strerror(-rc));
		goto out;
	}
	created = 1;
	/* the umask may have taken bits away; 0600 exactly is the rule */
	if (fchmod(fd, 0600) < 0)
		rc = -errno;
	if (!rc)
		rc = write_all(fd, s->line, len);
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	if (!rc) {
		if (close(fd) < 0)
			rc = -errno;
		fd = -1;
	}
	if (!rc)
		rc = sync_parent(out_path);
	if (rc) {
		snprintf(err, errlen, "cannot write guard key file '%s': %s",
			 out_path, strerror(-rc));
		goto out;
	}
	memcpy(pub_text, pub, sizeof(pub));
out:
	if (fd >= 0)
		close(fd);
	if (rc && created)
		unlink(out_path);
	sodium_free(s); /* wipes */
	return rc;
}

/* Loads the secret key of path into s->sk; one line in err on failure. */
static int key_load(const char *path, struct secrets *s, char *err,
		    size_t errlen)
{
	size_t kl = strlen(KEY_PREFIX), n = 0, out = 0;
	const char *end = NULL;
	struct stat st;
	ssize_t r;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot open guard key file '%s': %s",
			 path, strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot stat guard key file '%s': %s",
			 path, strerror(-rc));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen,
			 "guard key file '%s' is not a regular file", path);
		rc = -EINVAL;
		goto out;
	}
	/* A secret others can read is no longer the holder's alone. */
	if (st.st_mode & 077) {
		snprintf(err, errlen,
			 "guard key file '%s' is accessible by group or others "
			 "(mode %04o): chmod 600 it",
			 path, (unsigned)(st.st_mode & 07777));
		rc = -EPERM;
		goto out;
	}
	while (n < sizeof(s->line) - 1) {
		r = read(fd, s->line + n, sizeof(s->line) - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			snprintf(err, errlen,
				 "cannot read guard key file '%s': %s", path,
				 strerror(-rc));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	s->line[n] = '\0';
	while (n && is_space(s->line[n - 1]))
		n--;
	rc = -EINVAL;
	if (n <= kl || memcmp(s->line, KEY_PREFIX, kl) ||
	    sodium_base642bin(s->sk, sizeof(s->sk), s->line + kl, n - kl, NULL,
			      &out, &end, B64STD) ||
	    end != s->line + n || out != SK_BYTES) {
		snprintf(err, errlen,
			 "guard key file '%s' is not a vaultfs guard key",
			 path);
		goto out;
	}
	/* The public half stored in the key must be the seed's: a damaged
	 * file would otherwise sign tokens that never verify. */
	crypto_sign_seed_keypair(s->pk2, s->sk2, s->sk);
	if (sodium_memcmp(s->sk2, s->sk, SK_BYTES)) {
		snprintf(err, errlen, "guard key file '%s' is damaged", path);
		goto out;
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

int vf_guard_approve(const char *key_path, const char *request, int64_t ttl_ns,
		     int64_t now, char *token, size_t cap, char *summary,
		     size_t sumcap, char *err, size_t errlen)
{
	struct vf_guard_token t;
	struct secrets *s = NULL;
	char id[2 * VF_VAULT_ID_BYTES + 1], when[32];
	char text[VF_GUARD_TEXT_MAX];
	const char *note = "";
	size_t n;
	int rc, escaped = 0;

	if (sodium_init() < 0) {
		snprintf(err, errlen, "cannot initialise libsodium");
		return -ENOMEM;
	}
	if (ttl_ns <= 0 || ttl_ns > VF_GUARD_TTL_MAX ||
	    now > INT64_MAX - ttl_ns) {
		snprintf(err, errlen,
			 "approval lifetime must be more than 0 and at most 30 "
			 "days");
		return -EINVAL;
	}
	if (vf_guard_request_parse(request, &t.req)) {
		snprintf(err, errlen, "%s",
			 vf_guard_token_parse(request, &t)
			     ? "approval request is malformed"
			     : "this is an approval token, not a request");
		return -EINVAL;
	}
	/* The holder approves what the text says, so it must be what the
	 * hash binds: a text altered on its way here is refused, and so is
	 * a cut text, which cannot be checked (the gate never makes one:
	 * it binds items by id and shortens only the names it shows). */
	rc = vf_guard_params_verify(&t.req, &escaped);
	if (rc == -ENODATA) {
		snprintf(err, errlen,
			 "request parameters were cut short and cannot be "
			 "checked against their hash: not signed");
		return -EBADMSG;
	} else if (rc) {
		snprintf(err, errlen,
			 "request parameters do not match their hash (tampered "
			 "request)");
		return -EBADMSG;
	} else if (escaped) {
		note = " (escaped)";
	}
	s = sodium_malloc(sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "cannot approve: out of memory");
		return -ENOMEM;
	}
	rc = key_load(key_path, s, err, errlen);
	if (rc)
		goto out;
	n = req_encode(&t.req, t.raw);
	t.expires = now + ttl_ns;
	put64(t.raw + n, t.expires);
	t.signed_len = n + 8;
	crypto_sign_detached(t.raw + t.signed_len, NULL, t.raw, t.signed_len,
			     s->sk);
	rc = text_encode(TOK_PREFIX, t.raw, t.signed_len + VF_GUARD_SIG_BYTES,
			 text, sizeof(text));
	if (!rc && strlen(text) >= cap)
		rc = -ERANGE;
	if (rc) {
		snprintf(err, errlen, "token buffer too small");
		goto out;
	}
	sodium_bin2hex(id, sizeof(id), t.req.vault_id, VF_VAULT_ID_BYTES);
	vf_time_format(t.expires, when);
	memcpy(token, text, strlen(text) + 1);
	snprintf(summary, sumcap,
		 "vault %s, operation %s, parameters %s%s, expires %s", id,
		 t.req.op, t.req.params[0] ? t.req.params : "(none)", note,
		 when);
out:
	sodium_free(s); /* wipes the secret key */
	return rc;
}

/* ---- the vault's guard (v->mu held) ------------------------------------ */

/* The attached key: 1 found, 0 none, -EIO when the stored value is not a
 * key (fails closed: a damaged guard is not an absent one). */
static int pk_load(struct vf_vault *v, uint8_t pk[VF_GUARD_PK_BYTES])
{
	sqlite3_stmt *st = vf_catalog_stmt(v->cat, VF_Q_GUARD_GET);
	int rc;

	if (!st)
		return -EIO;
	rc = vf_catalog_row(st);
	if (rc == 1) {
		if (sqlite3_column_type(st, 0) == SQLITE_BLOB &&
		    sqlite3_column_bytes(st, 0) == VF_GUARD_PK_BYTES)
			memcpy(pk, sqlite3_column_blob(st, 0),
			       VF_GUARD_PK_BYTES);
		else
			rc = -EIO;
	}
	sqlite3_reset(st);
	return rc;
}

int vf_guard_attached(struct vf_vault *v, uint8_t pk[VF_GUARD_PK_BYTES],
		      char fpr[VF_GUARD_FPR_TEXT])
{
	uint8_t k[VF_GUARD_PK_BYTES];
	int rc = pk_load(v, k);

	if (rc == 1 && fpr)
		fingerprint(k, fpr);
	if (rc == 1 && pk)
		memcpy(pk, k, sizeof(k));
	return rc;
}

int vf_guard_key_store(struct vf_vault *v, const uint8_t pk[VF_GUARD_PK_BYTES])
{
	sqlite3_stmt *st;
	int rc = vf_catalog_begin(v->cat);

	if (rc)
		return rc;
	st = vf_catalog_stmt(v->cat, VF_Q_GUARD_SET);
	rc = st ? 0 : -EIO;
	if (st) {
		sqlite3_bind_blob(st, 1, pk, VF_GUARD_PK_BYTES,
				  SQLITE_TRANSIENT);
		rc = vf_catalog_run(st);
	}
	return vf_catalog_finish(v->cat, rc);
}

int vf_guard_key_drop(struct vf_vault *v)
{
	sqlite3_stmt *st;
	int rc = vf_catalog_begin(v->cat);

	if (rc)
		return rc;
	st = vf_catalog_stmt(v->cat, VF_Q_GUARD_DEL);
	rc = st ? vf_catalog_run(st) : -EIO;
	return vf_catalog_finish(v->cat, rc);
}

int vf_vault_guard_get(struct vf_vault *v, char *pub_text, size_t cap)
{
	uint8_t pk[VF_GUARD_PK_BYTES];
	int rc;

	vf_vault_lock(v);
	rc = pk_load(v, pk);
	vf_vault_unlock(v);
	if (rc == 0)
		return -ENOENT;
	if (rc < 0)
		return rc;
	return pub_format(pk, pub_text, cap);
}

/* A fresh request for op/params into request, and the line for the
 * requester into why. */
static int make_request(struct vf_vault *v, const char *op, const char *params,
			int64_t now, char *request, size_t reqcap, char *why,
			size_t whylen)
{
	struct vf_guard_request r;
	char text[VF_GUARD_TEXT_MAX];
	int rc;

	memcpy(r.vault_id, vf_keys_vault_id(v->keys), VF_VAULT_ID_BYTES);
	memcpy(r.op, op, strlen(op) + 1);
	vf_guard_params_hash(params, r.params_hash);
	vf_guard_params_text(params, r.params);
	randombytes_buf(r.nonce, sizeof(r.nonce));
	r.created = now;
	rc = vf_guard_request_format(&r, text, sizeof(text));
	if (!rc && strlen(text) >= reqcap)
		rc = -ERANGE;
	if (rc) {
		snprintf(
		    why, whylen,
		    "approval required, but the request buffer is too small");
		return rc;
	}
	memcpy(request, text, strlen(text) + 1);
	snprintf(why, whylen,
		 "approval required: ask the guard holder to run: vaultctl "
		 "guard approve --key FILE %s",
		 text);
	return -EPERM;
}

/* Records t's nonce as used, in a transaction of its own: -EPERM when it
 * already was. */
static int consume(struct vf_vault *v, uid_t uid,
		   const struct vf_guard_token *t, int64_t now, char *why,
		   size_t whylen)
{
	sqlite3_stmt *st;
	int rc;

	/* The gate calls this inside the transaction of the operation it
	 * approves: the nonce is recorded exactly when the operation
	 * commits, so a token is spent once, and never on an operation
	 * that did not happen.  Alone (vf_vault_guard_authorize) it is a
	 * transaction of its own. */
	rc = vf_catalog_begin(v->cat);
	if (rc)
		goto out;
	st = vf_catalog_stmt(v->cat, VF_Q_GUARD_USE);
	if (!st) {
		rc = -EIO;
	} else {
		sqlite3_bind_blob(st, 1, t->req.nonce, VF_GUARD_NONCE_BYTES,
				  SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 2, now);
		sqlite3_bind_int64(st, 3, (int64_t)uid);
		sqlite3_bind_text(st, 4, t->req.op, -1, SQLITE_TRANSIENT);
		rc = vf_catalog_run(st);
	}
	if (rc)
		vf_catalog_rollback(v->cat);
	else
		rc = vf_catalog_commit(v->cat);
out:
	if (rc == -EEXIST) {
		snprintf(why, whylen, "approval was already used");
		rc = -EPERM;
	} else if (rc) {
		snprintf(why, whylen, "cannot record the approval: %s",
			 strerror(-rc));
	}
	return rc;
}

int vf_guard_authorize(struct vf_vault *v, uid_t uid, const char *op,
		       const char *params, const char *token, int64_t now,
		       char *request, size_t reqcap, char *why, size_t whylen,
		       char *fingerprint_out)
{
	uint8_t pk[VF_GUARD_PK_BYTES];
	struct vf_guard_token t;
	int rc;

	if (whylen)
		why[0] = '\0';
	if (sodium_init() < 0) {
		snprintf(why, whylen, "cannot initialise libsodium");
		return -ENOMEM;
	}
	if (!vf_guard_op_valid(op) || !params) {
		snprintf(why, whylen, "invalid operation name or parameters");
		return -EINVAL;
	}
	rc = pk_load(v, pk);
	if (rc < 0) {
		snprintf(why, whylen, "cannot read the guard key: %s",
			 rc == -EIO ? "damaged catalog entry" : strerror(-rc));
		return rc;
	}
	if (rc == 0) {
		if (fingerprint_out)
			fingerprint_out[0] = '\0';
		return 0; /* no guard: allowed, the caller audits it */
	}
	if (!token)
		return make_request(v, op, params, now, request, reqcap, why,
				    whylen);
	if (vf_guard_token_parse(token, &t)) {
		snprintf(why, whylen, "approval token is malformed");
		return -EPERM;
	}
	rc = vf_guard_check(&t, pk, vf_keys_vault_id(v->keys), op, params, now,
			    why, whylen);
	if (rc)
		return rc;
	if (v->readonly) {
		snprintf(why, whylen, "the vault is mounted read-only");
		return -EROFS;
	}
	rc = consume(v, uid, &t, now, why, whylen);
	if (!rc && fingerprint_out)
		fingerprint(pk, fingerprint_out);
	return rc;
}

int vf_vault_guard_authorize(struct vf_vault *v, uid_t uid, const char *op,
			     const char *params, const char *token, int64_t now,
			     char *request, size_t reqcap, char *why,
			     size_t whylen, char *fingerprint_out)
{
	int rc;

	vf_vault_lock(v);
	rc = vf_guard_authorize(v, uid, op, params, token, now, request,
				reqcap, why, whylen, fingerprint_out);
	vf_vault_unlock(v);
	return rc;
}
