/*
 * t-crypto.c - sealing, keyed chunk ids, and the protectors: every kind
 * round-trips, every bad input is refused with the right errno and one
 * line, and a refused unlock leaves the header byte-identical.
 *
 * Known-answer vectors live in tests/vectors/ (or $VF_VECTORS):
 *   chunk-id.txt        chunk id of "vaultfs chunk id vector" under the
 *                       master key 00 01 .. 1f and vault id 00 .. 0f
 *   keyfile-vault/      a format-1 vault protected by keyfile-vault.key;
 *                       keyfile-vault.master holds its master key in hex
 *   bad-*.hdr           corrupt headers that must be refused
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto.h"
#include "unit.h"

static char tmp[64];

static const char *vectors(void)
{
	const char *v = getenv("VF_VECTORS");

	return v ? v : "tests/vectors";
}

static void pathf(char *buf, size_t len, const char *a, const char *b)
{
	snprintf(buf, len, "%s/%s", a, b);
}

static int write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	int rc;

	if (!f)
		return -1;
	rc = fwrite(data, 1, len, f) == len ? 0 : -1;
	if (fclose(f))
		rc = -1;
	return rc;
}

/* Reads up to cap bytes; returns the count or -1. */
static long read_file(const char *path, void *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, 1, cap, f);
	fclose(f);
	return (long)n;
}

/* One line, lower-case start, no trailing period. */
static int good_msg(const char *m)
{
	size_t n = strlen(m);

	return n > 0 && !strchr(m, '\n') && !(m[0] >= 'A' && m[0] <= 'Z') &&
	       m[n - 1] != '.';
}

static void mkvault(char *buf, size_t len, const char *name)
{
	pathf(buf, len, tmp, name);
	mkdir(buf, 0700);
}

static void test_seal_roundtrip_and_bitflips(void)
{
	uint8_t key[VF_KEY_BYTES], pt[19], out[19];
	uint8_t ct[sizeof(pt) + VF_SEAL_OVERHEAD];
	size_t bit, refused = 0;

	randombytes_buf(key, sizeof(key));
	memcpy(pt, "sealed plaintext!!", sizeof(pt));
	vf_crypto_seal(key, "ad", 2, pt, sizeof(pt), ct);
	CHECK_EQ(vf_crypto_open(key, "ad", 2, ct, sizeof(ct), out), 0);
	CHECK(memcmp(out, pt, sizeof(pt)) == 0);
	CHECK(memmem(ct, sizeof(ct), "plaintext", 9) == NULL);
	/* Every single flipped bit is refused. */
	for (bit = 0; bit < sizeof(ct) * 8; bit++) {
		ct[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (vf_crypto_open(key, "ad", 2, ct, sizeof(ct), out) ==
		    -EBADMSG)
			refused++;
		ct[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	CHECK_EQ(refused, sizeof(ct) * 8);
	/* Other associated data, other key, truncation. */
	CHECK_EQ(vf_crypto_open(key, "ae", 2, ct, sizeof(ct), out), -EBADMSG);
	CHECK_EQ(vf_crypto_open(key, "ad", 1, ct, sizeof(ct), out), -EBADMSG);
	CHECK_EQ(vf_crypto_open(key, "ad", 2, ct, sizeof(ct) - 1, out),
		 -EBADMSG);
	CHECK_EQ(vf_crypto_open(key, "ad", 2, ct, VF_SEAL_OVERHEAD - 1, out),
		 -EBADMSG);
	key[0] ^= 1;
	CHECK_EQ(vf_crypto_open(key, "ad", 2, ct, sizeof(ct), out), -EBADMSG);
	/* Two seals of the same input differ (random nonce). */
	{
		uint8_t ct2[sizeof(ct)];

		key[0] ^= 1;
		vf_crypto_seal(key, "ad", 2, pt, sizeof(pt), ct2);
		CHECK(memcmp(ct, ct2, sizeof(ct)) != 0);
	}
}

static void test_chunk_id_keyed(void)
{
	struct vf_keys *a = NULL, *b = NULL, *a2 = NULL;
	uint8_t ia[32], ib[32], ia2[32], plain[32];
	static const char data[] = "the same chunk in two vaults";

	CHECK_EQ(vf_keys_generate(&a), 0);
	CHECK_EQ(vf_keys_generate(&b), 0);
	if (!a || !b)
		goto out;
	CHECK_EQ(vf_keys_new(vf_keys_master(a), vf_keys_vault_id(a), &a2), 0);
	if (!a2)
		goto out;
	vf_crypto_chunk_id(a, data, sizeof(data), ia);
	vf_crypto_chunk_id(b, data, sizeof(data), ib);
	vf_crypto_chunk_id(a2, data, sizeof(data), ia2);
	crypto_generichash(plain, 32, (const uint8_t *)data, sizeof(data),
			   NULL, 0);
	CHECK(memcmp(ia, ib, 32) != 0);
	CHECK(memcmp(ia, ia2, 32) == 0);
	CHECK(memcmp(ia, plain, 32) != 0);
	/* Subkeys are distinct from each other and from the master. */
	CHECK(memcmp(vf_keys_sub(a, VF_SUBKEY_DATA),
		     vf_keys_sub(a, VF_SUBKEY_CATALOG), 32) != 0);
	CHECK(memcmp(vf_keys_sub(a, VF_SUBKEY_DATA), vf_keys_master(a), 32) !=
	      0);
out:
	vf_keys_free(a);
	vf_keys_free(b);
	vf_keys_free(a2);
}

static void test_chunk_id_vector(void)
{
	uint8_t master[32], id[16], cid[32];
	char hex[65], want[80], path[256];
	struct vf_keys *k = NULL;
	static const char data[] = "vaultfs chunk id vector";
	long n;
	int i;

	for (i = 0; i < 32; i++)
		master[i] = (uint8_t)i;
	for (i = 0; i < 16; i++)
		id[i] = (uint8_t)i;
	CHECK_EQ(vf_keys_new(master, id, &k), 0);
	if (!k)
		return;
	vf_crypto_chunk_id(k, data, strlen(data), cid);
	sodium_bin2hex(hex, sizeof(hex), cid, 32);
	vf_keys_free(k);
	pathf(path, sizeof(path), vectors(), "chunk-id.txt");
	memset(want, 0, sizeof(want));
	n = read_file(path, want, sizeof(want) - 1);
	CHECK(n >= 64);
	if (getenv("VF_PRINT_VECTORS"))
		printf("chunk id vector: %s\n", hex);
	CHECK(strncmp(want, hex, 64) == 0);
}

/* Creates then unlocks a vault with o; checks modes and the master key. */
static void roundtrip(const char *name, const struct vf_protector_opts *o)
{
	char vdir[128], hdr[256], err[256] = "";
	struct vf_keys *k1 = NULL, *k2 = NULL;
	struct stat st;

	mkvault(vdir, sizeof(vdir), name);
	CHECK_EQ(vf_protector_is_vault(vdir), 0);
	CHECK_EQ(vf_protector_create(vdir, o, &k1, err, sizeof(err)), 0);
	if (!k1) {
		fprintf(stderr, "create %s: %s\n", name, err);
		return;
	}
	CHECK_EQ(vf_protector_is_vault(vdir), 1);
	pathf(hdr, sizeof(hdr), vdir, "vault.hdr");
	CHECK_EQ(stat(hdr, &st), 0);
	CHECK_EQ(st.st_mode & 07777, 0600);
	CHECK_EQ(st.st_size, 196); /* format 2, one protector */
	CHECK_EQ(vf_protector_unlock(vdir, o, &k2, err, sizeof(err)), 0);
	if (k2) {
		CHECK(memcmp(vf_keys_master(k1), vf_keys_master(k2), 32) == 0);
		CHECK(memcmp(vf_keys_vault_id(k1), vf_keys_vault_id(k2), 16) ==
		      0);
	} else {
		fprintf(stderr, "unlock %s: %s\n", name, err);
	}
	/* A second create refuses and keeps the vault. */
	err[0] = '\0';
	CHECK_EQ(vf_protector_create(vdir, o, &k2, err, sizeof(err)),
		 -EEXIST);
	CHECK(strncmp(err, "vault already exists", 20) == 0);
	vf_keys_free(k1);
	vf_keys_free(k2);
}

static void test_protector_roundtrips(void)
{
	char ks[128], pass[128], kf[128], cmd[300], kpath[300];
	struct vf_protector_opts o;
	struct stat st;
	uint8_t kbytes[48];

	pathf(ks, sizeof(ks), tmp, "etc/vaultfs/keys");
	pathf(pass, sizeof(pass), tmp, "pass");
	pathf(kf, sizeof(kf), tmp, "key");
	CHECK_EQ(write_file(pass, "correct horse\nsecond line\n", 26), 0);
	randombytes_buf(kbytes, sizeof(kbytes));
	CHECK_EQ(write_file(kf, kbytes, sizeof(kbytes)), 0);
	snprintf(cmd, sizeof(cmd), "cat '%s'", kf);

	memset(&o, 0, sizeof(o));
	o.keystore = ks;
	roundtrip("v-platform", &o);
	CHECK_EQ(stat(ks, &st), 0);
	CHECK_EQ(st.st_mode & 07777, 0700);
	pathf(kpath, sizeof(kpath), tmp, "etc/vaultfs");
	CHECK_EQ(stat(kpath, &st), 0);
	CHECK_EQ(st.st_mode & 07777, 0755);

	memset(&o, 0, sizeof(o));
	o.passphrase_file = pass;
	roundtrip("v-pass", &o);

	memset(&o, 0, sizeof(o));
	o.key_file = kf;
	roundtrip("v-keyfile", &o);

	memset(&o, 0, sizeof(o));
	o.key_command = cmd;
	roundtrip("v-keycmd", &o);

	/* Key file and key command of the same bytes give the same KEK:
	 * a vault made with one opens with the other's kind only when the
	 * kinds match, so check the kind message instead. */
	{
		char vdir[128], err[256] = "";
		struct vf_keys *k = NULL;

		pathf(vdir, sizeof(vdir), tmp, "v-keyfile");
		CHECK_EQ(vf_protector_unlock(vdir, &o, &k, err, sizeof(err)),
			 -EINVAL);
		CHECK(strcmp(err, "vault is protected by a key file; "
				  "give --key-file") == 0);
		CHECK(good_msg(err));
	}
}

/* Runs unlock on vdir expecting rc and a message starting with prefix;
 * the header must be byte-identical afterwards. */
static void expect_refused(const char *vdir, const struct vf_protector_opts *o,
			   int want, const char *prefix)
{
	char hdr[256], err[256] = "";
	uint8_t before[512], after[512];
	long nb, na;
	struct vf_keys *k = NULL;
	int rc;

	pathf(hdr, sizeof(hdr), vdir, "vault.hdr");
	nb = read_file(hdr, before, sizeof(before));
	rc = vf_protector_unlock(vdir, o, &k, err, sizeof(err));
	CHECK_EQ(rc, want);
	CHECK(k == NULL);
	CHECK(good_msg(err));
	if (strncmp(err, prefix, strlen(prefix)) != 0) {
		fprintf(stderr, "want '%s...', got '%s' (%s)\n", prefix, err, vdir);
		CHECK(0);
	}
	na = read_file(hdr, after, sizeof(after));
	CHECK_EQ(na, nb);
	if (na > 0 && na == nb)
		CHECK(memcmp(before, after, (size_t)na) == 0);
	vf_keys_free(k);
}

static void patch(const char *vdir, long off, const void *bytes, size_t n)
{
	char hdr[256];
	int fd;

	pathf(hdr, sizeof(hdr), vdir, "vault.hdr");
	fd = open(hdr, O_WRONLY);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(pwrite(fd, bytes, n, off) == (ssize_t)n);
	close(fd);
}

static void copy_vault(const char *from, const char *to)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s/%s' && cp -a '%s/%s' '%s/%s'",
		 tmp, to, tmp, from, tmp, to);
	CHECK_EQ(system(cmd), 0);
}

static void test_protector_refusals(void)
{
	char ks[128], pass[128], wrong[128], kf[128], kf2[128], shortk[128];
	char vdir[128], cmd[300], hdr[256], empty[128], path[300];
	struct vf_protector_opts o;
	uint8_t kbytes[40];
	struct vf_keys *k = NULL;
	char err[256] = "";

	pathf(ks, sizeof(ks), tmp, "etc/vaultfs/keys");
	pathf(pass, sizeof(pass), tmp, "pass");
	pathf(wrong, sizeof(wrong), tmp, "wrongpass");
	pathf(empty, sizeof(empty), tmp, "emptypass");
	pathf(kf, sizeof(kf), tmp, "key");
	pathf(kf2, sizeof(kf2), tmp, "key2");
	pathf(shortk, sizeof(shortk), tmp, "shortkey");
	CHECK_EQ(write_file(wrong, "correct horsf\n", 14), 0);
	CHECK_EQ(write_file(empty, "\nsecond\n", 8), 0);
	randombytes_buf(kbytes, sizeof(kbytes));
	CHECK_EQ(write_file(kf2, kbytes, sizeof(kbytes)), 0);
	CHECK_EQ(write_file(shortk, kbytes, 31), 0);

	/* Wrong passphrase; empty passphrase; unreadable file. */
	memset(&o, 0, sizeof(o));
	pathf(vdir, sizeof(vdir), tmp, "v-pass");
	o.passphrase_file = wrong;
	expect_refused(vdir, &o, -EBADMSG, "wrong passphrase");
	o.passphrase_file = empty;
	expect_refused(vdir, &o, -EINVAL, "empty passphrase in '");
	o.passphrase_file = "/nonexistent/pass";
	expect_refused(vdir, &o, -ENOENT,
		       "cannot read passphrase file '/nonexistent/pass': ");
	/* Wrong kind for the vault. */
	memset(&o, 0, sizeof(o));
	o.key_file = kf;
	expect_refused(vdir, &o, -EINVAL,
		       "vault is protected by a passphrase; give --passphrase-file");
	/* Two protectors at once. */
	o.passphrase_file = pass;
	expect_refused(vdir, &o, -EINVAL,
		       "choose one of --passphrase-file, --key-file, --key-command");
	err[0] = '\0';
	mkvault(path, sizeof(path), "v-never");
	CHECK_EQ(vf_protector_create(path, &o, &k, err, sizeof(err)), -EINVAL);
	CHECK_EQ(vf_protector_is_vault(path), 0);

	/* Wrong key file, short key file. */
	memset(&o, 0, sizeof(o));
	pathf(vdir, sizeof(vdir), tmp, "v-keyfile");
	o.key_file = kf2;
	expect_refused(vdir, &o, -EBADMSG, "wrong key file");
	o.key_file = shortk;
	expect_refused(vdir, &o, -EINVAL, "key file '");
	err[0] = '\0';
	CHECK_EQ(vf_protector_create(path, &o, &k, err, sizeof(err)), -EINVAL);
	CHECK(good_msg(err));
	CHECK_EQ(vf_protector_is_vault(path), 0);

	/* Wrong key from command; failing command; short output. */
	memset(&o, 0, sizeof(o));
	pathf(vdir, sizeof(vdir), tmp, "v-keycmd");
	snprintf(cmd, sizeof(cmd), "cat '%s'", kf2);
	o.key_command = cmd;
	expect_refused(vdir, &o, -EBADMSG, "wrong key from key command");
	o.key_command = "cat /nonexistent/key 2>/dev/null";
	expect_refused(vdir, &o, -EIO, "key command failed");
	o.key_command = "echo short";
	expect_refused(vdir, &o, -EINVAL, "key command printed too little");

	/* Platform: key missing, key of another vault. */
	memset(&o, 0, sizeof(o));
	o.keystore = ks;
	copy_vault("v-platform", "v-platform2");
	pathf(vdir, sizeof(vdir), tmp, "v-platform2");
	{
		char other[128];

		pathf(other, sizeof(other), tmp, "empty-keystore");
		mkdir(other, 0700);
		o.keystore = other;
		expect_refused(vdir, &o, -ENOENT, "keystore key not found: ");
		/* The message names the path it looked for. */
		CHECK_EQ(vf_protector_unlock(vdir, &o, &k, err, sizeof(err)),
			 -ENOENT);
		CHECK(strstr(err, other) != NULL);
		CHECK(strstr(err, ".key") != NULL);
		o.keystore = ks;
	}
	{
		/* Replace the keystore key with random bytes. */
		char cmd2[600];

		snprintf(cmd2, sizeof(cmd2),
			 "cp -a '%s' '%s/ks2' && for f in '%s'/ks2/*.key; do "
			 "head -c 32 /dev/urandom > \"$f\"; done",
			 ks, tmp, tmp);
		CHECK_EQ(system(cmd2), 0);
		pathf(path, sizeof(path), tmp, "ks2");
		o.keystore = path;
		expect_refused(vdir, &o, -EBADMSG,
			       "platform key does not open this vault");
		o.keystore = ks;
	}
	/* Platform vault with a passphrase given. */
	memset(&o, 0, sizeof(o));
	o.passphrase_file = pass;
	expect_refused(vdir, &o, -EINVAL, "vault is protected by the platform");

	/* Not a vault. */
	memset(&o, 0, sizeof(o));
	o.keystore = ks;
	pathf(vdir, sizeof(vdir), tmp, "v-never");
	expect_refused(vdir, &o, -ENOENT, "not a vault: ");
	CHECK_EQ(vf_protector_unlock(vdir, &o, &k, err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "has no vault.hdr") != NULL);
	expect_refused("/nonexistent/vault", &o, -ENOENT,
		       "not a vault: /nonexistent/vault has no vault.hdr");

	/* Newer format version. */
	memset(&o, 0, sizeof(o));
	o.key_file = kf;
	copy_vault("v-keyfile", "v-newer");
	pathf(vdir, sizeof(vdir), tmp, "v-newer");
	patch(vdir, 8, "\x07\0\0\0", 4);
	expect_refused(vdir, &o, -EPROTO,
		       "unsupported vault format 7 (this build reads 1 and 2)");

	/* Truncated header. */
	copy_vault("v-keyfile", "v-short");
	pathf(vdir, sizeof(vdir), tmp, "v-short");
	pathf(hdr, sizeof(hdr), vdir, "vault.hdr");
	CHECK_EQ(truncate(hdr, 100), 0);
	expect_refused(vdir, &o, -EIO, "corrupt vault header: ");
	CHECK_EQ(truncate(hdr, 0), 0);
	expect_refused(vdir, &o, -EIO, "corrupt vault header: ");

	/* Bad magic. */
	copy_vault("v-keyfile", "v-magic");
	pathf(vdir, sizeof(vdir), tmp, "v-magic");
	patch(vdir, 0, "VAULTFZ", 7);
	expect_refused(vdir, &o, -EIO, "corrupt vault header: ");

	/* Tampered vault id / wrapped key: authentication fails. */
	copy_vault("v-keyfile", "v-tamper");
	pathf(vdir, sizeof(vdir), tmp, "v-tamper");
	patch(vdir, 20, "\xff", 1);
	expect_refused(vdir, &o, -EBADMSG, "wrong key file");
	copy_vault("v-keyfile", "v-tamper2");
	pathf(vdir, sizeof(vdir), tmp, "v-tamper2");
	patch(vdir, 100, "\xff", 1);
	expect_refused(vdir, &o, -EBADMSG, "wrong key file");

	/* Forged Argon2 parameters are refused before any hashing. */
	memset(&o, 0, sizeof(o));
	o.passphrase_file = pass;
	copy_vault("v-pass", "v-argon");
	pathf(vdir, sizeof(vdir), tmp, "v-argon");
	patch(vdir, 68, "\0\0\0\0\0\0\0\x40", 8); /* entry 0's memlimit */
	expect_refused(vdir, &o, -EIO, "corrupt vault header: ");
	vf_keys_free(k);
}

/* The stored format-1 vault opens, and the stored corrupt headers are
 * refused. */
static void test_vectors(void)
{
	char vdir[256], kf[256], mpath[256], cmd[700];
	char want[80] = "", hex[65];
	struct vf_protector_opts o;
	struct vf_keys *k = NULL;
	char err[256] = "";
	static const struct {
		const char *file;
		int rc;
	} bad[] = {
		{ "bad-version.hdr", -EPROTO },
		{ "bad-short.hdr", -EIO },
		{ "bad-magic.hdr", -EIO },
		{ "bad-kind.hdr", -EIO },
		{ "bad-wrapped.hdr", -EBADMSG },
	};
	size_t i;

	pathf(vdir, sizeof(vdir), vectors(), "keyfile-vault");
	pathf(kf, sizeof(kf), vectors(), "keyfile-vault.key");
	pathf(mpath, sizeof(mpath), vectors(), "keyfile-vault.master");
	memset(&o, 0, sizeof(o));
	o.key_file = kf;
	CHECK_EQ(vf_protector_unlock(vdir, &o, &k, err, sizeof(err)), 0);
	CHECK(read_file(mpath, want, sizeof(want) - 1) >= 64);
	if (k) {
		sodium_bin2hex(hex, sizeof(hex), vf_keys_master(k), 32);
		CHECK(strncmp(hex, want, 64) == 0);
		vf_keys_free(k);
	} else {
		fprintf(stderr, "vector vault: %s\n", err);
	}
	for (i = 0; i < VF_ARRAY_LEN(bad); i++) {
		char d[128];

		snprintf(d, sizeof(d), "%s/vec%zu", tmp, i);
		snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && cp '%s/%s' '%s/vault.hdr'",
			 d, vectors(), bad[i].file, d);
		CHECK_EQ(system(cmd), 0);
		err[0] = '\0';
		k = NULL;
		CHECK_EQ(vf_protector_unlock(d, &o, &k, err, sizeof(err)),
			 bad[i].rc);
		CHECK(good_msg(err));
		vf_keys_free(k);
	}
}

/* Unlocks vdir with o; 0 and the master key matching k's, or the rc. */
static int opens(const char *vdir, const struct vf_protector_opts *o,
		 const struct vf_keys *k)
{
	struct vf_keys *got = NULL;
	char err[256] = "";
	int rc = vf_protector_unlock(vdir, o, &got, err, sizeof(err));

	if (!rc && k)
		CHECK(memcmp(vf_keys_master(got), vf_keys_master(k), 32) == 0);
	if (rc)
		CHECK(good_msg(err));
	vf_keys_free(got);
	return rc;
}

/* Applies an edit made by fn to vdir. */
static int edit(const char *vdir, const char *ks, const struct vf_keys *k,
		int (*fn)(struct vf_protector_edit *e, void *arg), void *arg)
{
	struct vf_protector_edit *e = NULL;
	char err[256] = "";
	int rc;

	rc = vf_protector_edit_begin(vdir, ks, k, 1000 * VF_NS, &e, err,
				     sizeof(err));
	if (!rc)
		rc = fn(e, arg);
	if (!rc)
		rc = vf_protector_edit_stage(e, err, sizeof(err));
	if (!rc)
		rc = vf_protector_edit_publish(e, err, sizeof(err));
	if (rc && err[0])
		fprintf(stderr, "edit: %s\n", err);
	vf_protector_edit_free(e);
	return rc;
}

struct add_arg {
	uint32_t kind;
	const uint8_t *secret;
	size_t len;
	char recovery[VF_RECOVERY_TEXT_MAX];
	struct vf_protector_info info;
};

static int do_add(struct vf_protector_edit *e, void *arg)
{
	struct add_arg *a = arg;
	char err[256];
	int rc = vf_protector_edit_add(e, a->kind, a->secret, a->len, &a->info,
				       err, sizeof(err));

	if (!rc && vf_protector_edit_recovery(e))
		snprintf(a->recovery, sizeof(a->recovery), "%s",
			 vf_protector_edit_recovery(e));
	return rc;
}

static int do_rotate(struct vf_protector_edit *e, void *arg)
{
	unsigned n = 0;
	char err[256];
	int rc = vf_protector_edit_rotate(e, 1, &n, err, sizeof(err));

	if (!rc && vf_protector_edit_recovery(e))
		snprintf(arg, VF_RECOVERY_TEXT_MAX, "%s",
			 vf_protector_edit_recovery(e));
	return rc;
}

/* A vault with a key file, a second key file, a platform key and a
 * recovery key: each opens it; rotation retires the platform and recovery
 * keys; a flipped bit anywhere in the header is refused; the last
 * protector stays. */
static void test_protector_edits(void)
{
	char vdir[128], ks[128], kf[128], kf2[128], rk[128], hdr[256];
	char err[256] = "", old_ks[128], cmd[600];
	struct vf_protector_opts o, po, ro;
	struct vf_keys *k = NULL;
	struct add_arg a;
	uint8_t kbytes[48], sec[32], *h;
	char *rot;
	long n, i;
	int bit;

	pathf(vdir, sizeof(vdir), tmp, "v-edit");
	pathf(ks, sizeof(ks), tmp, "ks-edit");
	pathf(kf, sizeof(kf), tmp, "edit-key");
	pathf(kf2, sizeof(kf2), tmp, "edit-key2");
	pathf(rk, sizeof(rk), tmp, "edit-rk");
	pathf(hdr, sizeof(hdr), vdir, "vault.hdr");
	randombytes_buf(kbytes, sizeof(kbytes));
	CHECK_EQ(write_file(kf, kbytes, sizeof(kbytes)), 0);
	randombytes_buf(kbytes, sizeof(kbytes));
	CHECK_EQ(write_file(kf2, kbytes, sizeof(kbytes)), 0);
	mkvault(vdir, sizeof(vdir), "v-edit");
	memset(&o, 0, sizeof(o));
	o.key_file = kf;
	CHECK_EQ(vf_protector_create(vdir, &o, &k, err, sizeof(err)), 0);
	if (!k)
		return;

	/* a second key file: its secret as vaultctl reads it */
	{
		uint8_t *s = NULL;
		size_t len = 0;

		CHECK_EQ(vf_protector_secret(VF_PROT_KEY_FILE, kf2, &s, &len, err,
					     sizeof(err)), 0);
		CHECK_EQ(len, 32);
		if (s) {
			memcpy(sec, s, 32);
			sodium_free(s);
		}
	}
	memset(&a, 0, sizeof(a));
	a.kind = VF_PROT_KEY_FILE;
	a.secret = sec;
	a.len = 32;
	CHECK_EQ(edit(vdir, ks, k, do_add, &a), 0);
	memset(&a, 0, sizeof(a));
	a.kind = VF_PROT_PLATFORM;
	CHECK_EQ(edit(vdir, ks, k, do_add, &a), 0);
	memset(&a, 0, sizeof(a));
	a.kind = VF_PROT_RECOVERY;
	CHECK_EQ(edit(vdir, ks, k, do_add, &a), 0);
	CHECK_EQ(write_file(rk, a.recovery, strlen(a.recovery)), 0);
	CHECK_EQ(vf_protector_recovery_check(a.recovery, strlen(a.recovery),
					     NULL, err, sizeof(err)), 1);
	/* a second platform key is refused */
	a.kind = VF_PROT_PLATFORM;
	CHECK_EQ(edit(vdir, ks, k, do_add, &a), -EEXIST);

	memset(&po, 0, sizeof(po));
	po.keystore = ks;
	memset(&ro, 0, sizeof(ro));
	ro.key_file = rk;
	CHECK_EQ(opens(vdir, &o, k), 0);
	o.key_file = kf2;
	CHECK_EQ(opens(vdir, &o, k), 0);
	o.key_file = kf;
	CHECK_EQ(opens(vdir, &po, k), 0);
	CHECK_EQ(opens(vdir, &ro, k), 0);

	/* every bit of the header matters */
	h = malloc(4096);
	n = h ? read_file(hdr, h, 4096) : -1;
	CHECK_EQ(n, 36 + 4 * 128 + 32);
	for (i = 0; h && i < n; i++) {
		bit = 1 << (i % 8);
		h[i] ^= (uint8_t)bit;
		CHECK_EQ(write_file(hdr, h, (size_t)n), 0);
		if (opens(vdir, &o, k) == 0) {
			fprintf(stderr, "flipped bit at byte %ld opens\n", i);
			CHECK(0);
		}
		h[i] ^= (uint8_t)bit;
	}
	if (h)
		CHECK_EQ(write_file(hdr, h, (size_t)n), 0);
	free(h);
	CHECK_EQ(opens(vdir, &o, k), 0);

	/* rotation: the old platform and recovery keys stop opening */
	pathf(old_ks, sizeof(old_ks), tmp, "ks-edit-old");
	snprintf(cmd, sizeof(cmd), "cp -a '%s' '%s'", ks, old_ks);
	CHECK_EQ(system(cmd), 0);
	rot = calloc(1, VF_RECOVERY_TEXT_MAX);
	CHECK_EQ(edit(vdir, ks, k, do_rotate, rot), 0);
	po.keystore = old_ks;
	CHECK_EQ(opens(vdir, &po, k), -EBADMSG);
	CHECK_EQ(opens(vdir, &ro, k), -EBADMSG);
	po.keystore = ks;
	CHECK_EQ(opens(vdir, &po, k), 0);
	if (rot) {
		CHECK_EQ(write_file(rk, rot, strlen(rot)), 0);
		CHECK_EQ(opens(vdir, &ro, k), 0);
	}
	free(rot);
	CHECK_EQ(opens(vdir, &o, k), 0);
	vf_keys_free(k);
}

static int do_remove_all(struct vf_protector_edit *e, void *arg)
{
	struct vf_protector_info p[VF_PROTECTOR_MAX];
	size_t n = vf_protector_edit_list(e, p, VF_PROTECTOR_MAX), i;
	char err[256];
	int rc = 0;

	(void)arg;
	CHECK_EQ(vf_protector_edit_remove(e, 42, NULL, err, sizeof(err)),
		 -ENOENT);
	for (i = 0; i + 1 < n && !rc; i++)
		rc = vf_protector_edit_remove(e, p[i].id, NULL, err,
					      sizeof(err));
	CHECK_EQ(rc, 0);
	CHECK_EQ(vf_protector_edit_remove(e, p[n - 1].id, NULL, err,
					  sizeof(err)),
		 -EPERM);
	CHECK(good_msg(err));
	return rc;
}

/* The format-1 vector vault: a new protector upgrades it to format 2,
 * the old key still opens it and the master key is unchanged; then all
 * but the last protector go. */
static void test_upgrade(void)
{
	char vdir[256], kf[256], kf2[256], mpath[256], cmd[700];
	char want[80] = "", hex[65], err[256] = "";
	struct vf_protector_opts o;
	struct vf_keys *k = NULL;
	struct add_arg a;
	uint8_t sec[32];
	struct stat st;

	pathf(vdir, sizeof(vdir), tmp, "v-upgrade");
	snprintf(cmd, sizeof(cmd), "cp -a '%s/keyfile-vault' '%s'", vectors(),
		 vdir);
	CHECK_EQ(system(cmd), 0);
	pathf(kf, sizeof(kf), vectors(), "keyfile-vault.key");
	pathf(kf2, sizeof(kf2), tmp, "upgrade-key2");
	pathf(mpath, sizeof(mpath), vectors(), "keyfile-vault.master");
	memset(&o, 0, sizeof(o));
	o.key_file = kf;
	CHECK_EQ(vf_protector_unlock(vdir, &o, &k, err, sizeof(err)), 0);
	if (!k)
		return;
	randombytes_buf(sec, sizeof(sec));
	CHECK_EQ(write_file(kf2, sec, sizeof(sec)), 0);
	crypto_generichash(sec, 32, sec, 32, NULL, 0);
	memset(&a, 0, sizeof(a));
	a.kind = VF_PROT_KEY_FILE;
	a.secret = sec;
	a.len = 32;
	CHECK_EQ(edit(vdir, NULL, k, do_add, &a), 0);
	pathf(cmd, sizeof(cmd), vdir, "vault.hdr");
	CHECK_EQ(stat(cmd, &st), 0);
	CHECK_EQ(st.st_size, 36 + 2 * 128 + 32);
	CHECK_EQ(opens(vdir, &o, k), 0);
	o.key_file = kf2;
	CHECK_EQ(opens(vdir, &o, k), 0);
	CHECK(read_file(mpath, want, sizeof(want) - 1) >= 64);
	sodium_bin2hex(hex, sizeof(hex), vf_keys_master(k), 32);
	CHECK(strncmp(hex, want, 64) == 0);
	CHECK_EQ(edit(vdir, NULL, k, do_remove_all, NULL), 0);
	CHECK_EQ(opens(vdir, &o, k), 0);
	o.key_file = kf;
	CHECK_EQ(opens(vdir, &o, k), -EBADMSG);
	vf_keys_free(k);
}

/* Recovery key text: what --words prints, typed back in any case and
 * with O/I/L for 0/1, opens; one wrong character is a typo. */
static void test_recovery_text(void)
{
	static const char line[] =
		"VFRK-03CW-27AK-ZP8Z-7DTM-W1ZG-DKDV-NP1B-WNK3-R3KZ-TKR0-STW0-"
		"QRFK-JDQD-0Q7V\n";
	char buf[256], err[256] = "";
	uint64_t id = 0;
	size_t i;

	CHECK_EQ(vf_protector_recovery_check(line, strlen(line), &id, err,
					     sizeof(err)), 1);
	snprintf(buf, sizeof(buf),
		 "# protector 5d89786369a87935\n  vfrk\n 03cw 27ak zp8z 7dtm w1zg "
		 "dkdv np1b\n wnk3 r3kz tkrO stwO qrfk jdqd Oq7v\n");
	CHECK_EQ(vf_protector_recovery_check(buf, strlen(buf), &id, err,
					     sizeof(err)), 1);
	CHECK_EQ(id, 0x5d89786369a87935ULL);
	for (i = 5; i < strlen(line) - 1; i++) {
		if (line[i] == '-')
			continue;
		snprintf(buf, sizeof(buf), "%s", line);
		buf[i] = buf[i] == 'Z' ? 'Y' : 'Z';
		err[0] = '\0';
		CHECK_EQ(vf_protector_recovery_check(buf, strlen(buf), NULL, err,
						     sizeof(err)), -EINVAL);
		CHECK(good_msg(err));
	}
	snprintf(buf, sizeof(buf), "VFRK-03CW-27AK\n");
	CHECK_EQ(vf_protector_recovery_check(buf, strlen(buf), NULL, err,
					     sizeof(err)), -EINVAL);
	CHECK(strstr(err, "expected 56") != NULL);
	/* not a recovery key at all: a binary key file */
	CHECK_EQ(vf_protector_recovery_check("\x01\x02VFRK", 6, NULL, err,
					     sizeof(err)), 0);
}

int main(void)
{
	char cmd[128];

	if (sodium_init() < 0)
		return 1;
	if (!unit_tmpdir(tmp, sizeof(tmp), "t-crypto")) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_seal_roundtrip_and_bitflips);
	RUN(test_chunk_id_keyed);
	RUN(test_chunk_id_vector);
	RUN(test_protector_roundtrips);
	RUN(test_protector_refusals);
	RUN(test_vectors);
	RUN(test_protector_edits);
	RUN(test_upgrade);
	RUN(test_recovery_text);
	if (!getenv("VF_KEEP_TMP")) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
		if (system(cmd) != 0)
			return 1;
	}
	return unit_exit();
}
