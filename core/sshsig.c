/*
 * sshsig.c - OpenSSH Ed25519 public keys and SSHSIG signatures (OpenSSH's
 * PROTOCOL.sshsig and PROTOCOL.u2f), parsed here and verified with
 * libsodium.  Written from the protocol texts; no OpenSSH code.
 *
 * Wire types (RFC 4251): uint32 is 4 bytes big-endian; string is a uint32
 * length and that many bytes; byte is one byte.
 *
 * Public key blob, base64 (standard, padded) after the type name in a
 * .pub line "TYPE BASE64 COMMENT":
 *
 *   ssh-ed25519:                  string "ssh-ed25519"
 *                                 string key (32 bytes)
 *   sk-ssh-ed25519@openssh.com:   string "sk-ssh-ed25519@openssh.com"
 *                                 string key (32 bytes)
 *                                 string application (1..64 bytes of
 *                                        printable ASCII, "ssh:" by
 *                                        default)
 *
 * Armored signature: the line "-----BEGIN SSH SIGNATURE-----", the
 * standard base64 of the blob below cut in lines, the line "-----END SSH
 * SIGNATURE-----".  Blob:
 *
 *   byte[6]  "SSHSIG"
 *   uint32   version, 1
 *   string   public key blob (above)
 *   string   namespace (here at most 64 bytes of printable ASCII)
 *   string   reserved (at most 64 bytes, kept as is: it is signed)
 *   string   hash algorithm, "sha512" the only one accepted
 *   string   signature blob:
 *              ssh-ed25519:   string "ssh-ed25519", string sig (64)
 *              sk:            string "sk-ssh-ed25519@openssh.com",
 *                             string sig (64), byte flags, uint32 counter
 *
 * Every length is exact: a byte too many or too few anywhere is malformed.
 *
 * What the Ed25519 signature covers (the "signed data"):
 *
 *   byte[6]  "SSHSIG"
 *   string   namespace
 *   string   reserved
 *   string   hash algorithm
 *   string   SHA-512 of the message (64 bytes)
 *
 * for ssh-ed25519 directly; for a security key, the key signs
 *
 *   byte[32] SHA-256 of the application
 *   byte     flags (0x01: the user was present, i.e. touched the key)
 *   uint32   counter
 *   byte[32] SHA-256 of the signed data above
 *
 * Security invariants, enforced in vf_sshsig_verify: the namespace must be
 * exactly "vaultfs" (a signature made for git, a host certificate or a
 * file in another namespace never approves anything), and a security key
 * signature must carry the user-presence flag (a key merely plugged in,
 * signing for malware, does not approve).  The signer's key is the one in
 * the blob; the caller decides whether it is a key it trusts.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "sshsig.h"

#define T_ED "ssh-ed25519"
#define T_SK "sk-ssh-ed25519@openssh.com"
#define MAGIC "SSHSIG"
#define MAGIC_LEN 6
#define HASH_ALG "sha512"
#define B64STD sodium_base64_VARIANT_ORIGINAL
/* Largest blobs: sk key 4+26 + 4+32 + 4+64; signature 4+26 + 4+64 + 5. */
#define KEY_BLOB_MAX 134
#define SIG_BLOB_MAX                                                           \
	(MAGIC_LEN + 4 + 4 + KEY_BLOB_MAX + 3 * (4 + VF_SSHSIG_FIELD_MAX) +    \
	 4 + 103)

_Static_assert(VF_SSHKEY_TEXT_MAX >=
		       sizeof(T_SK) + 1 +
			       sodium_base64_ENCODED_LEN(KEY_BLOB_MAX, B64STD),
	       "VF_SSHKEY_TEXT_MAX too small");

/* A bounded reader over a blob: every get fails once the bytes run out. */
struct rd {
	const uint8_t *p;
	size_t n;
};

static int get_u32(struct rd *r, uint32_t *v)
{
	if (r->n < 4)
		return -EINVAL;
	*v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 |
	     (uint32_t)r->p[2] << 8 | r->p[3];
	r->p += 4;
	r->n -= 4;
	return 0;
}

/* A string: *s points into the blob, *len its length. */
static int get_str(struct rd *r, const uint8_t **s, size_t *len)
{
	uint32_t l;

	if (get_u32(r, &l) || l > r->n)
		return -EINVAL;
	*s = r->p;
	*len = l;
	r->p += l;
	r->n -= l;
	return 0;
}

/* 1 when the next string is exactly word. */
static int get_word(struct rd *r, const char *word)
{
	const uint8_t *s;
	size_t len;

	return !get_str(r, &s, &len) && len == strlen(word) &&
	       !memcmp(s, word, len);
}

/* A string of at most max bytes of printable ASCII, copied into out and
 * NUL-terminated (so that a refusal naming it stays one line). */
static int get_text(struct rd *r, char *out, size_t max)
{
	const uint8_t *s;
	size_t i, len;

	if (get_str(r, &s, &len) || len > max)
		return -EINVAL;
	for (i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return -EINVAL;
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

static int get_bytes(struct rd *r, uint8_t *out, size_t want)
{
	const uint8_t *s;
	size_t len;

	if (get_str(r, &s, &len) || len != want)
		return -EINVAL;
	memcpy(out, s, want);
	return 0;
}

static void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Appends string s (len bytes) at buf + *o; the caller sized buf. */
static void put_str(uint8_t *buf, size_t *o, const void *s, size_t len)
{
	put_u32(buf + *o, (uint32_t)len);
	memcpy(buf + *o + 4, s, len);
	*o += 4 + len;
}

static const char *type_name(int type)
{
	return type == VF_SSHKEY_SK_ED25519 ? T_SK : T_ED;
}

/* A key blob, exactly: the whole of r. */
static int key_decode(struct rd *r, struct vf_sshkey *k)
{
	struct vf_sshkey t;

	memset(&t, 0, sizeof(t));
	if (get_word(&(struct rd){ r->p, r->n }, T_ED))
		t.type = VF_SSHKEY_ED25519;
	else if (get_word(&(struct rd){ r->p, r->n }, T_SK))
		t.type = VF_SSHKEY_SK_ED25519;
	else
		return -EINVAL;
	if (!get_word(r, type_name(t.type)) ||
	    get_bytes(r, t.pk, sizeof(t.pk)))
		return -EINVAL;
	if (t.type == VF_SSHKEY_SK_ED25519 &&
	    (get_text(r, t.app, VF_SSHKEY_APP_MAX) || !t.app[0]))
		return -EINVAL;
	if (r->n)
		return -EINVAL;
	*k = t;
	return 0;
}

size_t vf_sshkey_blob(const struct vf_sshkey *k, uint8_t *buf, size_t cap)
{
	const char *t = type_name(k->type);
	size_t o = 0, need = 4 + strlen(t) + 4 + sizeof(k->pk);

	if (k->type == VF_SSHKEY_SK_ED25519)
		need += 4 + strlen(k->app);
	if (need > cap)
		return 0;
	put_str(buf, &o, t, strlen(t));
	put_str(buf, &o, k->pk, sizeof(k->pk));
	if (k->type == VF_SSHKEY_SK_ED25519)
		put_str(buf, &o, k->app, strlen(k->app));
	return o;
}

int vf_sshkey_equal(const struct vf_sshkey *a, const struct vf_sshkey *b)
{
	return a->type == b->type && !memcmp(a->pk, b->pk, sizeof(a->pk)) &&
	       !strcmp(a->app, b->app);
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* 1 when the n bytes at p are ASCII: libsodium's base64 decoder reads a
 * byte with the high bit set as the ASCII character below it, so an
 * armor or key would otherwise have more than one text form. */
static int is_ascii(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] >= 0x80 || !p[i])
			return 0;
	return 1;
}

int vf_sshkey_parse(const char *text, struct vf_sshkey *out)
{
	uint8_t blob[KEY_BLOB_MAX + 1];
	const char *p = text, *t, *b64, *end;
	size_t tl, bl, n = 0;
	struct vf_sshkey k;

	if (sodium_init() < 0)
		return -ENOMEM;
	while (is_blank(*p))
		p++;
	t = p;
	while (*p && !is_blank(*p))
		p++;
	tl = (size_t)(p - t);
	while (*p == ' ' || *p == '\t')
		p++;
	b64 = p;
	while (*p && !is_blank(*p))
		p++;
	bl = (size_t)(p - b64);
	/* the rest of the line is the comment; nothing after the line */
	while (*p && *p != '\n')
		p++;
	while (is_blank(*p))
		p++;
	if (*p || !bl || !is_ascii(b64, bl) ||
	    sodium_base642bin(blob, sizeof(blob), b64, bl, NULL, &n, &end,
			      B64STD) ||
	    end != b64 + bl)
		return -EINVAL;
	if (key_decode(&(struct rd){ blob, n }, &k))
		return -EINVAL;
	/* the name in front must be the one inside */
	if (tl != strlen(type_name(k.type)) ||
	    memcmp(t, type_name(k.type), tl))
		return -EINVAL;
	/* as vf_guard_pub_parse: small-order or non-canonical points are
	 * refused at the door */
	if (!crypto_core_ed25519_is_valid_point(k.pk))
		return -EINVAL;
	*out = k;
	return 0;
}

int vf_sshkey_format(const struct vf_sshkey *k, char *text, size_t cap)
{
	uint8_t blob[KEY_BLOB_MAX];
	const char *t = type_name(k->type);
	size_t n = vf_sshkey_blob(k, blob, sizeof(blob));

	if (!n || cap < strlen(t) + 1 + sodium_base64_ENCODED_LEN(n, B64STD))
		return -ERANGE;
	memcpy(text, t, strlen(t));
	text[strlen(t)] = ' ';
	sodium_bin2base64(text + strlen(t) + 1, cap - strlen(t) - 1, blob, n,
			  B64STD);
	return 0;
}

/* The signature blob, exactly the whole of r, for key type type. */
static int sig_decode(struct rd *r, int type, struct vf_sshsig *s)
{
	uint32_t counter;

	if (!get_word(r, type_name(type)) ||
	    get_bytes(r, s->sig, sizeof(s->sig)))
		return -EINVAL;
	if (type == VF_SSHKEY_SK_ED25519) {
		if (r->n < 1)
			return -EINVAL;
		s->flags = r->p[0];
		r->p++;
		r->n--;
		if (get_u32(r, &counter))
			return -EINVAL;
		s->counter = counter;
	}
	return r->n ? -EINVAL : 0;
}

/* Finds the line "word" at *p (blanks before it skipped) and moves *p
 * past it; 0 or -EINVAL. */
static int eat_line(const char **p, const char *end, const char *word)
{
	size_t wl = strlen(word);

	while (*p < end && is_blank(**p))
		(*p)++;
	if ((size_t)(end - *p) < wl || memcmp(*p, word, wl))
		return -EINVAL;
	*p += wl;
	return 0;
}

int vf_sshsig_parse(const char *text, size_t len, struct vf_sshsig *out)
{
	uint8_t blob[SIG_BLOB_MAX + 1];
	const char *p = text, *end = text + len, *b64, *stop;
	const uint8_t *s;
	struct vf_sshsig t;
	struct rd r;
	uint32_t version;
	size_t n = 0, sl;

	if (sodium_init() < 0)
		return -ENOMEM;
	if (len > VF_SSHSIG_ARMOR_MAX || !is_ascii(text, len))
		return -EINVAL;
	if (eat_line(&p, end, VF_SSHSIG_BEGIN))
		return -EINVAL;
	/* the base64 runs to the END line; then only blanks */
	b64 = p;
	while (p < end && *p != '-')
		p++;
	stop = p;
	if (eat_line(&p, end, VF_SSHSIG_END))
		return -EINVAL;
	while (p < end && is_blank(*p))
		p++;
	if (p != end || (size_t)(stop - b64) < 1 ||
	    sodium_base642bin(blob, sizeof(blob), b64, (size_t)(stop - b64),
			      " \t\r\n", &n, &p, B64STD) ||
	    p != stop)
		return -EINVAL;
	memset(&t, 0, sizeof(t));
	r.p = blob;
	r.n = n;
	if (r.n < MAGIC_LEN || memcmp(r.p, MAGIC, MAGIC_LEN))
		return -EINVAL;
	r.p += MAGIC_LEN;
	r.n -= MAGIC_LEN;
	if (get_u32(&r, &version) || version != 1)
		return -EINVAL;
	if (get_str(&r, &s, &sl) || key_decode(&(struct rd){ s, sl }, &t.key))
		return -EINVAL;
	if (get_text(&r, t.ns, VF_SSHSIG_FIELD_MAX) ||
	    get_str(&r, &s, &sl) || sl > sizeof(t.reserved))
		return -EINVAL;
	memcpy(t.reserved, s, sl);
	t.reserved_len = sl;
	if (get_text(&r, t.hash_alg, VF_SSHSIG_FIELD_MAX) ||
	    get_str(&r, &s, &sl) ||
	    sig_decode(&(struct rd){ s, sl }, t.key.type, &t) || r.n)
		return -EINVAL;
	*out = t;
	return 0;
}

/* Bytes of the signed data: magic, three fields, the 64-byte hash. */
#define SIGNED_MAX (MAGIC_LEN + 3 * (4 + VF_SSHSIG_FIELD_MAX) + 4 + 64)

int vf_sshsig_verify(const struct vf_sshsig *s, const void *msg, size_t len,
		     char *why, size_t whylen)
{
	uint8_t data[SIGNED_MAX], h[crypto_hash_sha512_BYTES];
	uint8_t u2f[32 + 1 + 4 + 32];
	size_t o = MAGIC_LEN;
	int bad;

	if (sodium_init() < 0) {
		snprintf(why, whylen, "cannot initialise libsodium");
		return -EPERM;
	}
	if (strcmp(s->hash_alg, HASH_ALG)) {
		snprintf(why, whylen,
			 "ssh signature uses hash '%.16s', only sha512 is "
			 "accepted",
			 s->hash_alg);
		return -EPERM;
	}
	memcpy(data, MAGIC, MAGIC_LEN);
	put_str(data, &o, s->ns, strlen(s->ns));
	put_str(data, &o, s->reserved, s->reserved_len);
	put_str(data, &o, s->hash_alg, strlen(s->hash_alg));
	crypto_hash_sha512(h, msg, len);
	put_str(data, &o, h, sizeof(h));
	if (s->key.type == VF_SSHKEY_SK_ED25519) {
		/* the security key signs its own digest of the data */
		crypto_hash_sha256(u2f, (const uint8_t *)s->key.app,
				   strlen(s->key.app));
		u2f[32] = s->flags;
		put_u32(u2f + 33, s->counter);
		crypto_hash_sha256(u2f + 37, data, o);
		bad = crypto_sign_verify_detached(s->sig, u2f, sizeof(u2f),
						  s->key.pk);
	} else {
		bad = crypto_sign_verify_detached(s->sig, data, o, s->key.pk);
	}
	if (bad) {
		snprintf(why, whylen,
			 "ssh signature does not verify (forged, or over "
			 "another request)");
		return -EPERM;
	}
	if (strcmp(s->ns, VF_SSHSIG_NAMESPACE)) {
		snprintf(why, whylen,
			 "ssh signature is for namespace '%.64s', not '%s' "
			 "(sign with ssh-keygen -Y sign -n %s)",
			 s->ns, VF_SSHSIG_NAMESPACE, VF_SSHSIG_NAMESPACE);
		return -EPERM;
	}
	if (s->key.type == VF_SSHKEY_SK_ED25519 &&
	    !(s->flags & VF_SSHKEY_SK_USER_PRESENT)) {
		snprintf(why, whylen,
			 "security key signature without user presence (the "
			 "key was not touched)");
		return -EPERM;
	}
	return 0;
}
