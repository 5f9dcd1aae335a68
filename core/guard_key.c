/*
 * guard_key.c - the guard holder's key file (README.md, The guard;
 * docs/guard.md, docs/keys.md): keygen, approve, and the passphrase that
 * may protect the secret key.
 *
 * A key file is one line, mode 0600, in one of two formats:
 *
 *   "vaultfs-guard-key-1 " and the standard base64 (with padding) of
 *   libsodium's 64-byte Ed25519 secret key (seed || public key):
 *   unprotected, still written without --passphrase and still read;
 *
 *   "vaultfs-guard-key-2 " and the standard base64 (with padding) of 136
 *   bytes, little-endian:
 *
 *     offset size  field
 *          0    8  u64 Argon2id opslimit
 *          8    8  u64 Argon2id memlimit, bytes
 *         16   16  Argon2id salt (random)
 *         32  104  vf_crypto_seal(KEK, ad, secret key) = nonce(24) ||
 *                  ciphertext(64) || tag(16); ad = "vaultfs-guard-key-2"
 *                  (19 bytes) || bytes [0, 32)
 *
 *   KEK = vf_passphrase_kdf(passphrase, salt, opslimit, memlimit), the
 *   derivation of the vault's passphrase protector; new files get its
 *   parameters (VF_PASSPHRASE_OPS, _MEM), and since they are stored a
 *   later version may raise them without breaking old files.  Read
 *   parameters are bounded (vf_passphrase_params_ok) so a forged file
 *   cannot make approve burn hours or gigabytes.  A wrong passphrase and
 *   an altered byte fail the same authentication and are refused alike.
 *
 * The secret key, the passphrase and the KEK live only in sodium_malloc
 * memory and are wiped on every path; a loaded key is checked against its
 * own public half.  No message contains them.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "guard.h"

#define KEY_PREFIX "vaultfs-guard-key-1 "
#define KEY2_PREFIX "vaultfs-guard-key-2 "
#define KEY2_AD "vaultfs-guard-key-2"
#define B64STD sodium_base64_VARIANT_ORIGINAL
#define SK_BYTES VF_GUARD_SK_BYTES
#define SALT_BYTES VF_PASSPHRASE_SALT_BYTES
#define K2_FIELDS (8 + 8 + SALT_BYTES)
#define K2_BYTES (K2_FIELDS + SK_BYTES + VF_SEAL_OVERHEAD)
#define KEY_FILE_MAX 256 /* a key file is 109 or 205 bytes */

_Static_assert(SK_BYTES == crypto_sign_SECRETKEYBYTES,
	       "VF_GUARD_SK_BYTES is libsodium's secret key");
_Static_assert(sizeof(KEY2_PREFIX) + sodium_base64_ENCODED_LEN(K2_BYTES,
								B64STD) <
		       KEY_FILE_MAX,
	       "KEY_FILE_MAX too small for a protected key");

/* Secrets of one key file operation, in one sodium_malloc region
 * (guarded pages, wiped by sodium_free). */
struct secrets {
	uint8_t sk[SK_BYTES];
	uint8_t sk2[SK_BYTES];
	uint8_t pk2[crypto_sign_PUBLICKEYBYTES];
	uint8_t kek[VF_KEY_BYTES];
	uint8_t body[K2_BYTES];
	char line[KEY_FILE_MAX];
};

/* A new zeroed secrets region after sodium_init; NULL with one line in
 * err. */
static struct secrets *secrets_new(char *err, size_t errlen)
{
	struct secrets *s;

	if (sodium_init() < 0) {
		snprintf(err, errlen, "cannot initialise libsodium");
		return NULL;
	}
	s = sodium_malloc(sizeof(*s));
	if (!s)
		snprintf(err, errlen, "out of memory");
	else
		sodium_memzero(s, sizeof(*s));
	return s;
}

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

/* s->line = the key file text of s->sk: unprotected when pass is NULL,
 * else sealed under pass with ops and mem.  Returns its length (with the
 * newline), or <0 with one line in err. */
static ssize_t key_encode(struct secrets *s, const char *pass, size_t passlen,
			  uint64_t ops, uint64_t mem, char *err, size_t errlen)
{
	const char *prefix = pass ? KEY2_PREFIX : KEY_PREFIX;
	size_t kl = strlen(prefix), len;
	uint8_t ad[sizeof(KEY2_AD) - 1 + K2_FIELDS];
	int rc;

	memcpy(s->line, prefix, kl);
	if (!pass) {
		sodium_bin2base64(s->line + kl, sizeof(s->line) - kl - 1, s->sk,
				  SK_BYTES, B64STD);
	} else {
		vf_guard_put64(s->body, (int64_t)ops);
		vf_guard_put64(s->body + 8, (int64_t)mem);
		randombytes_buf(s->body + 16, SALT_BYTES);
		rc = vf_passphrase_kdf(pass, passlen, s->body + 16, ops, mem,
				       s->kek);
		if (rc) {
			snprintf(err, errlen,
				 "cannot derive the key of the passphrase: %s",
				 rc == -ENOMEM ? "out of memory"
					       : "bad Argon2id parameters");
			return rc;
		}
		memcpy(ad, KEY2_AD, sizeof(KEY2_AD) - 1);
		memcpy(ad + sizeof(KEY2_AD) - 1, s->body, K2_FIELDS);
		vf_crypto_seal(s->kek, ad, sizeof(ad), s->sk, SK_BYTES,
			       s->body + K2_FIELDS);
		sodium_bin2base64(s->line + kl, sizeof(s->line) - kl - 1,
				  s->body, K2_BYTES, B64STD);
	}
	len = strlen(s->line);
	s->line[len++] = '\n';
	return (ssize_t)len;
}

/* Writes line (len bytes) to a new file path, mode 0600, durably;
 * refuses an existing file.  No file is left on failure. */
static int key_create(const char *path, const char *line, size_t len,
		      char *err, size_t errlen)
{
	int fd, rc = 0;

	/* O_EXCL: never overwrite a key (it may be the only copy of one a
	 * vault is armed with); O_NOFOLLOW: nor write through a link. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0) {
		rc = -errno;
		if (rc == -EEXIST)
			snprintf(err, errlen,
				 "guard key file '%s' already exists", path);
		else
			snprintf(err, errlen,
				 "cannot create guard key file '%s': %s", path,
				 strerror(-rc));
		return rc;
	}
	/* the umask may have taken bits away; 0600 exactly is the rule */
	if (fchmod(fd, 0600) < 0)
		rc = -errno;
	if (!rc)
		rc = write_all(fd, line, len);
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	if (!rc)
		rc = vf_fsync_parent(path);
	if (rc) {
		snprintf(err, errlen, "cannot write guard key file '%s': %s",
			 path, strerror(-rc));
		unlink(path);
	}
	return rc;
}

int vf_guard_keygen_kdf(const char *out_path, const char *pass,
			size_t passlen, uint64_t ops, uint64_t mem,
			char *pub_text, size_t cap, char *err, size_t errlen)
{
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	char pub[VF_GUARD_PUB_TEXT];
	struct secrets *s = NULL;
	ssize_t len;
	int rc;

	if (cap < VF_GUARD_PUB_TEXT) {
		snprintf(err, errlen, "public key buffer too small");
		return -ERANGE;
	}
	s = secrets_new(err, errlen);
	if (!s)
		return -ENOMEM;
	crypto_sign_keypair(pk, s->sk);
	rc = vf_guard_pub_format(pk, pub, sizeof(pub));
	if (rc) {
		snprintf(err, errlen, "cannot encode the public key");
		goto out;
	}
	len = key_encode(s, pass, passlen, ops, mem, err, errlen);
	rc = len < 0 ? (int)len : key_create(out_path, s->line, (size_t)len,
					      err, errlen);
	if (!rc)
		memcpy(pub_text, pub, sizeof(pub));
out:
	sodium_free(s); /* wipes */
	return rc;
}

int vf_guard_keygen(const char *out_path, char *pub_text, size_t cap, char *err,
		    size_t errlen)
{
	return vf_guard_keygen_kdf(out_path, NULL, 0, 0, 0, pub_text, cap, err,
				   errlen);
}

int vf_guard_keygen_pass(const char *out_path, const char *pass,
			 size_t passlen, char *pub_text, size_t cap, char *err,
			 size_t errlen)
{
	return vf_guard_keygen_kdf(out_path, pass, passlen, VF_PASSPHRASE_OPS,
				   VF_PASSPHRASE_MEM, pub_text, cap, err,
				   errlen);
}

/* Reads the key file at path into s->line (blanks at its end cut off);
 * it must be a regular file private to its owner.  Returns its length. */
static ssize_t key_read(const char *path, struct secrets *s, char *err,
			size_t errlen)
{
	struct stat st;
	size_t n = 0;
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
	/* A secret others can read is no longer the holder's alone (sealed
	 * or not: a sealed key is open to guessing once copied). */
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
	while (n && vf_guard_is_space(s->line[n - 1]))
		n--;
out:
	close(fd);
	return rc ? rc : (ssize_t)n;
}

/* Decodes the base64 after prefix in s->line (n bytes) into out (exactly
 * want bytes).  0, or -EINVAL. */
static int key_b64(const struct secrets *s, size_t n, const char *prefix,
		   uint8_t *out, size_t want)
{
	size_t kl = strlen(prefix), got = 0;
	const char *end = NULL;

	if (n <= kl || memcmp(s->line, prefix, kl) ||
	    sodium_base642bin(out, want, s->line + kl, n - kl, NULL, &got,
			      &end, B64STD) ||
	    end != s->line + n || got != want)
		return -EINVAL;
	return 0;
}

/* 1 protected, 0 not, -EINVAL neither format (s->line, n bytes). */
static int key_kind(const struct secrets *s, size_t n)
{
	if (n > strlen(KEY2_PREFIX) &&
	    !memcmp(s->line, KEY2_PREFIX, strlen(KEY2_PREFIX)))
		return 1;
	if (n > strlen(KEY_PREFIX) &&
	    !memcmp(s->line, KEY_PREFIX, strlen(KEY_PREFIX)))
		return 0;
	return -EINVAL;
}

/* Loads the secret key of path into s->sk, opening a protected file with
 * pass; one line in err on failure. */
static int key_load(const char *path, const char *pass, size_t passlen,
		    struct secrets *s, char *err, size_t errlen)
{
	uint8_t ad[sizeof(KEY2_AD) - 1 + K2_FIELDS];
	ssize_t n = key_read(path, s, err, errlen);
	uint64_t ops, mem;
	int kind, rc;

	if (n < 0)
		return (int)n;
	kind = key_kind(s, (size_t)n);
	if (kind == 0)
		rc = key_b64(s, (size_t)n, KEY_PREFIX, s->sk, SK_BYTES);
	else if (kind == 1)
		rc = key_b64(s, (size_t)n, KEY2_PREFIX, s->body, K2_BYTES);
	else
		rc = -EINVAL;
	if (rc) {
		snprintf(err, errlen,
			 "guard key file '%s' is not a vaultfs guard key",
			 path);
		return rc;
	}
	if (kind == 1) {
		ops = (uint64_t)vf_guard_get64(s->body);
		mem = (uint64_t)vf_guard_get64(s->body + 8);
		if (!pass) {
			snprintf(err, errlen,
				 "guard key file '%s' is protected by a "
				 "passphrase: give it",
				 path);
			return -ENOKEY;
		}
		if (!vf_passphrase_params_ok(ops, mem)) {
			snprintf(err, errlen,
				 "guard key file '%s' is damaged (Argon2id "
				 "parameters out of range)",
				 path);
			return -EINVAL;
		}
		rc = vf_passphrase_kdf(pass, passlen, s->body + 16, ops, mem,
				       s->kek);
		if (rc) {
			snprintf(err, errlen,
				 "cannot derive the key of the passphrase: "
				 "out of memory");
			return rc;
		}
		memcpy(ad, KEY2_AD, sizeof(KEY2_AD) - 1);
		memcpy(ad + sizeof(KEY2_AD) - 1, s->body, K2_FIELDS);
		if (vf_crypto_open(s->kek, ad, sizeof(ad), s->body + K2_FIELDS,
				   SK_BYTES + VF_SEAL_OVERHEAD, s->sk)) {
			snprintf(err, errlen,
				 "wrong passphrase for guard key file '%s' "
				 "(or the file was altered)",
				 path);
			return -EACCES;
		}
	}
	/* The public half stored in the key must be the seed's: a damaged
	 * file would otherwise sign tokens that never verify. */
	crypto_sign_seed_keypair(s->pk2, s->sk2, s->sk);
	if (sodium_memcmp(s->sk2, s->sk, SK_BYTES)) {
		snprintf(err, errlen, "guard key file '%s' is damaged", path);
		return -EINVAL;
	}
	return 0;
}

int vf_guard_key_protected(const char *path, char *err, size_t errlen)
{
	struct secrets *s;
	ssize_t n;
	int rc;

	s = secrets_new(err, errlen);
	if (!s)
		return -ENOMEM;
	n = key_read(path, s, err, errlen);
	rc = n < 0 ? (int)n : key_kind(s, (size_t)n);
	if (rc == -EINVAL && n >= 0)
		snprintf(err, errlen,
			 "guard key file '%s' is not a vaultfs guard key",
			 path);
	sodium_free(s);
	return rc;
}

int vf_guard_key_passphrase_kdf(const char *path, const char *cur,
				size_t curlen, const char *next,
				size_t nextlen, uint64_t ops, uint64_t mem,
				char *err, size_t errlen)
{
	struct secrets *s;
	char *tmp = NULL;
	ssize_t len;
	int rc;

	s = secrets_new(err, errlen);
	if (!s)
		return -ENOMEM;
	if (asprintf(&tmp, "%s.new", path) < 0) {
		tmp = NULL;
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	/* an unprotected file ignores cur */
	rc = key_load(path, cur, curlen, s, err, errlen);
	if (rc)
		goto out;
	len = key_encode(s, next, nextlen, ops, mem, err, errlen);
	if (len < 0) {
		rc = (int)len;
		goto out;
	}
	/* a crash leaves the old file or the new one, never half of one; a
	 * stale PATH.new from an earlier crash is replaced */
	unlink(tmp);
	rc = key_create(tmp, s->line, (size_t)len, err, errlen);
	if (rc)
		goto out;
	if (rename(tmp, path) < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot replace guard key file '%s': %s",
			 path, strerror(-rc));
		unlink(tmp);
		goto out;
	}
	rc = vf_fsync_parent(path);
	if (rc)
		snprintf(err, errlen, "cannot sync the directory of '%s': %s",
			 path, strerror(-rc));
out:
	free(tmp);
	sodium_free(s);
	return rc;
}

int vf_guard_key_passphrase(const char *path, const char *cur, size_t curlen,
			    const char *next, size_t nextlen, char *err,
			    size_t errlen)
{
	return vf_guard_key_passphrase_kdf(path, cur, curlen, next, nextlen,
					   VF_PASSPHRASE_OPS,
					   VF_PASSPHRASE_MEM, err, errlen);
}

int vf_guard_approve_pass(const char *key_path, const char *pass,
			  size_t passlen, const char *request, int64_t ttl_ns,
			  int64_t now, char *token, size_t cap, char *summary,
			  size_t sumcap, char *err, size_t errlen)
{
	struct vf_guard_token t;
	struct secrets *s = NULL;
	char id[2 * VF_VAULT_ID_BYTES + 1], when[32];
	char text[VF_GUARD_TEXT_MAX];
	const char *note = "";
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
	s = secrets_new(err, errlen);
	if (!s)
		return -ENOMEM;
	rc = key_load(key_path, pass, passlen, s, err, errlen);
	if (rc)
		goto out;
	rc = vf_guard_token_sign(&t, now + ttl_ns, s->sk, text, sizeof(text));
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

int vf_guard_approve(const char *key_path, const char *request, int64_t ttl_ns,
		     int64_t now, char *token, size_t cap, char *summary,
		     size_t sumcap, char *err, size_t errlen)
{
	return vf_guard_approve_pass(key_path, NULL, 0, request, ttl_ns, now,
				     token, cap, summary, sumcap, err, errlen);
}
