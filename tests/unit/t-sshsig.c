/*
 * t-sshsig.c - OpenSSH keys and SSHSIG signatures (core/sshsig.c).
 *
 * A known-answer vector made by ssh-keygen (tests/vectors/sshsig-ed25519.*,
 * or $VF_VECTORS): "ssh-keygen -Y sign -n vaultfs -f KEY FILE" over a
 * request-like line.  Security key signatures cannot be made here (no
 * hardware key), so they are built in the test with an Ed25519 key, byte
 * for byte as PROTOCOL.u2f says a key signs: with and without the
 * user-presence flag.  Every byte of a good armor is also flipped or cut
 * to check that nothing but the exact signature verifies.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "sshsig.h"
#include "unit.h"

static const char *vectors(void)
{
	const char *v = getenv("VF_VECTORS");

	return v ? v : "tests/vectors";
}

static size_t slurp(const char *name, char *buf, size_t cap)
{
	char path[512];
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", vectors(), name);
	f = fopen(path, "r");
	CHECK(f != NULL);
	if (!f)
		return 0;
	n = fread(buf, 1, cap - 1, f);
	buf[n] = '\0';
	fclose(f);
	return n;
}

/* ---- building blobs the way ssh-keygen and a security key would -------- */

struct w {
	uint8_t b[1024];
	size_t n;
};

static void w_u32(struct w *w, uint32_t v)
{
	w->b[w->n++] = (uint8_t)(v >> 24);
	w->b[w->n++] = (uint8_t)(v >> 16);
	w->b[w->n++] = (uint8_t)(v >> 8);
	w->b[w->n++] = (uint8_t)v;
}

static void w_str(struct w *w, const void *s, size_t len)
{
	w_u32(w, (uint32_t)len);
	memcpy(w->b + w->n, s, len);
	w->n += len;
}

static void w_cstr(struct w *w, const char *s)
{
	w_str(w, s, strlen(s));
}

#define SK_TYPE "sk-ssh-ed25519@openssh.com"
#define APP "ssh:"

/* An armored sk signature by (pk, sk) over msg in namespace ns with the
 * given flags. */
static void sk_armor(const uint8_t pk[32], const uint8_t sk[64],
		     const char *ns, uint8_t flags, const char *msg,
		     char *out, size_t cap)
{
	struct w data = { .n = 0 }, key = { .n = 0 }, sig = { .n = 0 };
	struct w blob = { .n = 0 };
	uint8_t h[64], u2f[69], s[64];
	char b64[2048];
	size_t i, o;

	/* the signed data */
	memcpy(data.b, "SSHSIG", 6);
	data.n = 6;
	w_cstr(&data, ns);
	w_str(&data, "", 0);
	w_cstr(&data, "sha512");
	crypto_hash_sha512(h, (const uint8_t *)msg, strlen(msg));
	w_str(&data, h, sizeof(h));
	/* what the key signs */
	crypto_hash_sha256(u2f, (const uint8_t *)APP, strlen(APP));
	u2f[32] = flags;
	u2f[33] = 0, u2f[34] = 0, u2f[35] = 0, u2f[36] = 7; /* counter */
	crypto_hash_sha256(u2f + 37, data.b, data.n);
	crypto_sign_detached(s, NULL, u2f, sizeof(u2f), sk);
	/* the blob */
	w_cstr(&key, SK_TYPE);
	w_str(&key, pk, 32);
	w_cstr(&key, APP);
	w_cstr(&sig, SK_TYPE);
	w_str(&sig, s, sizeof(s));
	sig.b[sig.n++] = flags;
	w_u32(&sig, 7);
	memcpy(blob.b, "SSHSIG", 6);
	blob.n = 6;
	w_u32(&blob, 1);
	w_str(&blob, key.b, key.n);
	w_cstr(&blob, ns);
	w_str(&blob, "", 0);
	w_cstr(&blob, "sha512");
	w_str(&blob, sig.b, sig.n);
	sodium_bin2base64(b64, sizeof(b64), blob.b, blob.n,
			  sodium_base64_VARIANT_ORIGINAL);
	o = (size_t)snprintf(out, cap, "%s\n", VF_SSHSIG_BEGIN);
	for (i = 0; i < strlen(b64); i += 70)
		o += (size_t)snprintf(out + o, cap - o, "%.70s\n", b64 + i);
	snprintf(out + o, cap - o, "%s\n", VF_SSHSIG_END);
}

/* ---- tests ---------------------------------------------------------------- */

static void known_answer(void)
{
	char pub[256], msg[128], armor[1024], why[256], back[VF_SSHKEY_TEXT_MAX];
	struct vf_sshkey k;
	struct vf_sshsig s;
	size_t n, m;

	slurp("sshsig-ed25519.pub", pub, sizeof(pub));
	m = slurp("sshsig-ed25519.msg", msg, sizeof(msg));
	n = slurp("sshsig-ed25519.sig", armor, sizeof(armor));
	CHECK_EQ(vf_sshkey_parse(pub, &k), 0);
	CHECK_EQ(k.type, VF_SSHKEY_ED25519);
	CHECK_EQ(vf_sshkey_format(&k, back, sizeof(back)), 0);
	CHECK(!strncmp(pub, back, strlen(back)) && pub[strlen(back)] == ' ');
	CHECK_EQ(vf_sshkey_format(&k, back, 20), -ERANGE);
	CHECK_EQ(vf_sshsig_parse(armor, n, &s), 0);
	CHECK(vf_sshkey_equal(&s.key, &k));
	CHECK(!strcmp(s.ns, "vaultfs") && !strcmp(s.hash_alg, "sha512"));
	CHECK_EQ(vf_sshsig_verify(&s, msg, m, why, sizeof(why)), 0);
	/* the message without its newline, or with a byte changed, is
	 * another message */
	CHECK_EQ(vf_sshsig_verify(&s, msg, m - 1, why, sizeof(why)), -EPERM);
	CHECK(strstr(why, "does not verify") != NULL);
	msg[3] ^= 1;
	CHECK_EQ(vf_sshsig_verify(&s, msg, m, why, sizeof(why)), -EPERM);
}

static void malformed(void)
{
	char armor[1024], bad[1100];
	struct vf_sshkey k;
	struct vf_sshsig s;
	size_t n, i, cut;
	int ok = 0;

	n = slurp("sshsig-ed25519.sig", armor, sizeof(armor));
	CHECK_EQ(vf_sshsig_parse(armor, n, &s), 0);
	/* every prefix short of the END line is malformed */
	cut = (size_t)(strstr(armor, VF_SSHSIG_END) - armor) +
	      strlen(VF_SSHSIG_END);
	for (i = 0; i < cut; i++)
		ok += vf_sshsig_parse(armor, i, &s) == 0;
	CHECK_EQ(ok, 0);
	/* garbage after the END line, a missing BEGIN, a stray character */
	memcpy(bad, armor, n);
	memcpy(bad + n, "x", 2);
	CHECK_EQ(vf_sshsig_parse(bad, strlen(bad), &s), -EINVAL);
	CHECK_EQ(vf_sshsig_parse(armor + 5, n - 5, &s), -EINVAL);
	memcpy(bad, armor, n + 1);
	bad[strlen(VF_SSHSIG_BEGIN) + 10] = '%';
	CHECK_EQ(vf_sshsig_parse(bad, n, &s), -EINVAL);
	CHECK_EQ(vf_sshsig_parse("", 0, &s), -EINVAL);
	/* keys */
	CHECK_EQ(vf_sshkey_parse("", &k), -EINVAL);
	CHECK_EQ(vf_sshkey_parse("ssh-ed25519", &k), -EINVAL);
	CHECK_EQ(vf_sshkey_parse("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ==",
				 &k),
		 -EINVAL);
	/* the type in front must match the one inside */
	slurp("sshsig-ed25519.pub", bad, sizeof(bad));
	memcpy(bad, "ssh-ed25518", 11);
	CHECK_EQ(vf_sshkey_parse(bad, &k), -EINVAL);
}

/* Every single bit flip inside the base64 either fails to parse or fails
 * to verify. */
static void flips(void)
{
	char armor[1024], msg[128], why[256];
	struct vf_sshsig s;
	size_t n, m, i, start, end;
	int bit, passed = 0;

	n = slurp("sshsig-ed25519.sig", armor, sizeof(armor));
	m = slurp("sshsig-ed25519.msg", msg, sizeof(msg));
	start = strlen(VF_SSHSIG_BEGIN) + 1;
	end = (size_t)(strstr(armor, VF_SSHSIG_END) - armor);
	for (i = start; i < end; i++) {
		if (armor[i] == '\n')
			continue;
		for (bit = 0; bit < 8; bit++) {
			armor[i] ^= (char)(1 << bit);
			if (vf_sshsig_parse(armor, n, &s) == 0 &&
			    vf_sshsig_verify(&s, msg, m, why, sizeof(why)) == 0)
				passed++;
			armor[i] ^= (char)(1 << bit);
		}
	}
	CHECK_EQ(passed, 0);
}

static void security_key(void)
{
	uint8_t pk[32], sk[64];
	char armor[2048], why[256], pub[VF_SSHKEY_TEXT_MAX];
	const char *msg = "vfreq2:sk-request\n";
	struct vf_sshkey k;
	struct vf_sshsig s;

	crypto_sign_keypair(pk, sk);
	/* touched: verifies */
	sk_armor(pk, sk, "vaultfs", VF_SSHKEY_SK_USER_PRESENT, msg, armor,
		 sizeof(armor));
	CHECK_EQ(vf_sshsig_parse(armor, strlen(armor), &s), 0);
	CHECK_EQ(s.key.type, VF_SSHKEY_SK_ED25519);
	CHECK(!strcmp(s.key.app, APP));
	CHECK_EQ(s.counter, 7u);
	CHECK_EQ(vf_sshsig_verify(&s, msg, strlen(msg), why, sizeof(why)), 0);
	/* its key round-trips through the .pub text form */
	CHECK_EQ(vf_sshkey_format(&s.key, pub, sizeof(pub)), 0);
	CHECK(!strncmp(pub, SK_TYPE " ", strlen(SK_TYPE) + 1));
	CHECK_EQ(vf_sshkey_parse(pub, &k), 0);
	CHECK(vf_sshkey_equal(&k, &s.key));
	/* not touched: the signature is good, the approval is not */
	sk_armor(pk, sk, "vaultfs", 0x04, msg, armor, sizeof(armor));
	CHECK_EQ(vf_sshsig_parse(armor, strlen(armor), &s), 0);
	CHECK_EQ(vf_sshsig_verify(&s, msg, strlen(msg), why, sizeof(why)),
		 -EPERM);
	CHECK(!strcmp(why, "security key signature without user presence "
			   "(the key was not touched)"));
	/* the flags are signed: setting the bit afterwards breaks it */
	s.flags |= VF_SSHKEY_SK_USER_PRESENT;
	CHECK_EQ(vf_sshsig_verify(&s, msg, strlen(msg), why, sizeof(why)),
		 -EPERM);
	CHECK(strstr(why, "does not verify") != NULL);
	/* another namespace */
	sk_armor(pk, sk, "git", VF_SSHKEY_SK_USER_PRESENT, msg, armor,
		 sizeof(armor));
	CHECK_EQ(vf_sshsig_parse(armor, strlen(armor), &s), 0);
	CHECK_EQ(vf_sshsig_verify(&s, msg, strlen(msg), why, sizeof(why)),
		 -EPERM);
	CHECK(strstr(why, "namespace 'git', not 'vaultfs'") != NULL);
	CHECK(!strchr(why, '\n'));
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	RUN(known_answer);
	RUN(malformed);
	RUN(flips);
	RUN(security_key);
	return unit_exit();
}
