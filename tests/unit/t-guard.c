/*
 * t-guard.c - the guard (README.md, The guard) on real vaults in a temporary directory:
 * key files, attaching, the request -> approve -> token flow, single use,
 * and every refusal a token can meet (forged, expired, another vault,
 * another operation or parameters, malformed), with the exact reason.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "guard.h"
#include "unit.h"
#include "vadmin.h"
#include "vault.h"

#define HOUR (3600 * VF_NS)

static char top[64], ks[96];
static struct vf_protector_opts opts;
static int nvault;

static struct vf_vault *fresh(void)
{
	struct vf_vault *v = NULL;
	char dir[128], err[256];

	snprintf(dir, sizeof(dir), "%s/vault%d", top, nvault++);
	opts.keystore = ks;
	if (vf_vault_create(dir, &opts, err, sizeof(err)) ||
	    vf_vault_open(dir, &opts, 0, &v, err, sizeof(err))) {
		fprintf(stderr, "vault: %s\n", err);
		CHECK(0);
		return NULL;
	}
	return v;
}

static struct vf_vault *reopen(struct vf_vault *v, int flags)
{
	char dir[128], err[256];

	snprintf(dir, sizeof(dir), "%s", vf_vault_dir(v));
	CHECK_EQ(vf_vault_close(v), 0);
	v = NULL;
	if (vf_vault_open(dir, &opts, flags, &v, err, sizeof(err))) {
		fprintf(stderr, "reopen: %s\n", err);
		CHECK(0);
	}
	return v;
}

/* A new guard key file top/<name> and its public key. */
static int keygen(const char *name, char path[128], char pub[VF_GUARD_PUB_TEXT])
{
	char err[256];
	int rc;

	snprintf(path, 128, "%s/%s", top, name);
	rc = vf_guard_keygen(path, pub, VF_GUARD_PUB_TEXT, err, sizeof(err));
	if (rc)
		fprintf(stderr, "keygen: %s\n", err);
	return rc;
}

static int read_file(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, 1, cap - 1, f);
	buf[n] = '\0';
	fclose(f);
	return (int)n;
}

/* Asks v for a request for op/params (the guard must be attached). */
static void request_for(struct vf_vault *v, const char *op, const char *params,
			int64_t now, char req[VF_GUARD_TEXT_MAX])
{
	char why[VF_GUARD_WHY_MAX];

	req[0] = '\0';
	CHECK_EQ(vf_vault_guard_authorize(v, 0, op, params, NULL, now, req,
					  VF_GUARD_TEXT_MAX, why, sizeof(why),
					  NULL),
		 -EPERM);
	CHECK(!strncmp(req, "vfreq2:", 7));
}

static int approve(const char *key, const char *req, int64_t ttl, int64_t now,
		   char tok[VF_GUARD_TEXT_MAX])
{
	char sum[VF_GUARD_SUMMARY_MAX], err[256];
	int rc;

	tok[0] = '\0';
	rc = vf_guard_approve(key, req, ttl, now, tok, VF_GUARD_TEXT_MAX, sum,
			      sizeof(sum), err, sizeof(err));
	if (rc)
		fprintf(stderr, "approve: %s\n", err);
	return rc;
}

/* The attached guard's (key file key) token for op/params, as the gate
 * will ask for it. */
static int gate_token(struct vf_vault *v, const char *key, const char *op,
		      const char *params, char tok[VF_GUARD_TEXT_MAX])
{
	char req[VF_GUARD_TEXT_MAX];

	request_for(v, op, params, vf_clock_now(), req);
	return approve(key, req, 3600 * VF_NS, vf_clock_now(), tok);
}

/* The parameters an approval of attaching key alone binds. */
static void set_params(const char *key, char *params, size_t cap)
{
	struct vf_guard_set set;

	memset(&set, 0, sizeof(set));
	CHECK_EQ(vf_guard_key_parse(key, &set.keys[0]), 0);
	set.n = 1;
	set.quorum = 1;
	vf_guard_set_params(&set, params, cap);
}

/* Runs authorize with token and checks the outcome: rc and, for a
 * refusal, the exact reason. */
static void expect(struct vf_vault *v, const char *op, const char *params,
		   const char *tok, int64_t now, int rc, const char *why_exp)
{
	char why[VF_GUARD_WHY_MAX], req[VF_GUARD_TEXT_MAX];
	char fpr[VF_GUARD_FPRS_TEXT] = "unset";
	int got;

	got = vf_vault_guard_authorize(v, 1000, op, params, tok, now, req,
				       sizeof(req), why, sizeof(why), fpr);
	CHECK_EQ(got, rc);
	if (why_exp && strcmp(why, why_exp)) {
		fprintf(stderr, "why: '%s'\nexpected: '%s'\n", why, why_exp);
		CHECK(0);
	}
	if (rc == 0)
		CHECK_EQ(strlen(fpr), tok ? 16 : 0); /* "": no guard */
	else
		CHECK(!strcmp(fpr, "unset")); /* written only on success */
}

/* base64url text after a 7-character prefix <-> bytes. */
static size_t unb64(const char *text, uint8_t *bin, size_t cap)
{
	size_t n = 0;

	if (sodium_base642bin(bin, cap, text + 7, strlen(text + 7), NULL, &n,
			      NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING))
		return 0;
	return n;
}

static void reb64(const char *prefix, const uint8_t *bin, size_t n, char *text,
		  size_t cap)
{
	size_t pl = strlen(prefix);

	snprintf(text, cap, "%s", prefix);
	sodium_bin2base64(text + pl, cap - pl, bin, n,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* ---- tests ------------------------------------------------------------ */

static void key_files(void)
{
	char path[128], pub[VF_GUARD_PUB_TEXT], pub2[VF_GUARD_PUB_TEXT];
	char buf[512], again[512], err[256], small[16];
	char f1[VF_GUARD_FPR_TEXT], f2[VF_GUARD_FPR_TEXT];
	struct stat st;
	mode_t old;

	/* a hostile umask must not leave the file other than 0600 */
	old = umask(0277);
	CHECK_EQ(keygen("k1", path, pub), 0);
	umask(old);
	CHECK(!strncmp(pub, "vfguard1:", 9));
	CHECK_EQ(strlen(pub), 9 + 43);
	CHECK_EQ(stat(path, &st), 0);
	CHECK_EQ(st.st_mode & 07777, 0600);
	CHECK(S_ISREG(st.st_mode));
	CHECK_EQ(read_file(path, buf, sizeof(buf)), 20 + 88 + 1);
	CHECK(!strncmp(buf, "vaultfs-guard-key-1 ", 20));
	CHECK(buf[strlen(buf) - 1] == '\n');

	/* an existing file is refused and left alone */
	err[0] = '\0';
	CHECK_EQ(vf_guard_keygen(path, pub2, sizeof(pub2), err, sizeof(err)),
		 -EEXIST);
	CHECK(strstr(err, "already exists") != NULL);
	CHECK(read_file(path, again, sizeof(again)) > 0);
	CHECK(!strcmp(buf, again));
	/* nowhere to write; a short buffer: no file either way */
	snprintf(buf, sizeof(buf), "%s/no/such/dir/k", top);
	CHECK_EQ(vf_guard_keygen(buf, pub2, sizeof(pub2), err, sizeof(err)),
		 -ENOENT);
	snprintf(buf, sizeof(buf), "%s/k-small", top);
	CHECK_EQ(vf_guard_keygen(buf, small, sizeof(small), err, sizeof(err)),
		 -ERANGE);
	CHECK(access(buf, F_OK) != 0);

	/* fingerprints: 16 hex digits, one per key */
	CHECK_EQ(keygen("k2", path, pub2), 0);
	CHECK(strcmp(pub, pub2) != 0);
	CHECK_EQ(vf_guard_fingerprint(pub, f1), 0);
	CHECK_EQ(vf_guard_fingerprint(pub2, f2), 0);
	CHECK_EQ(strlen(f1), 16);
	CHECK_EQ(strspn(f1, "0123456789abcdef"), 16);
	CHECK(strcmp(f1, f2) != 0);
	CHECK_EQ(vf_guard_fingerprint("vfguard1:abc", f1), -EINVAL);
	CHECK_EQ(vf_guard_fingerprint(pub + 1, f1), -EINVAL);
}

static void attach_round_trip(void)
{
	struct vf_vault *v = fresh();
	char path[128], pub[VF_GUARD_PUB_TEXT], pub2[VF_GUARD_PUB_TEXT];
	char path2[128], tok[VF_GUARD_TEXT_MAX], params[VF_GUARD_PUB_TEXT + 8];
	char got[VF_GUARD_PUB_TEXT], err[256], fpr[VF_GUARD_FPR_TEXT];
	char why[VF_GUARD_WHY_MAX], req[VF_GUARD_TEXT_MAX], bad[128];
	uint8_t pt[32] = {0};

	if (!v)
		return;
	CHECK_EQ(keygen("a1", path, pub), 0);
	CHECK_EQ(keygen("a2", path2, pub2), 0);
	CHECK_EQ(vf_vault_guard_get(v, got, sizeof(got)), -ENOENT);
	/* no guard: allowed, and no fingerprint */
	snprintf(fpr, sizeof(fpr), "x");
	CHECK_EQ(vf_vault_guard_authorize(v, 0, "softdelete.off", "", NULL, 1,
					  req, sizeof(req), why, sizeof(why),
					  fpr),
		 0);
	CHECK(!strcmp(fpr, ""));

	/* malformed keys, and points that are not usable keys */
	CHECK_EQ(vt_guard_attach(v, "hello", NULL, err, sizeof(err)), -EINVAL);
	CHECK_EQ(vt_guard_attach(v, pub + 1, NULL, err, sizeof(err)), -EINVAL);
	reb64("vfguard1:", pt, sizeof(pt), bad, sizeof(bad));
	CHECK_EQ(vt_guard_attach(v, bad, NULL, err, sizeof(err)), -EINVAL);
	pt[0] = 1; /* the identity: small order */
	reb64("vfguard1:", pt, sizeof(pt), bad, sizeof(bad));
	CHECK_EQ(vt_guard_attach(v, bad, NULL, err, sizeof(err)), -EINVAL);
	/* and the well-formed text of a real key is accepted below */
	CHECK_EQ(unb64(pub + 2, pt, sizeof(pt)), 32); /* skips 7 */
	reb64("vfguard1:", pt, sizeof(pt), bad, sizeof(bad));
	CHECK(!strcmp(bad, pub));
	CHECK_EQ(vf_vault_guard_get(v, got, sizeof(got)), -ENOENT);

	CHECK_EQ(vt_guard_attach(v, pub, NULL, err, sizeof(err)), 0);
	CHECK_EQ(vf_vault_guard_get(v, got, sizeof(got)), 0);
	CHECK(!strcmp(got, pub));
	CHECK_EQ(vf_vault_guard_get(v, got, 20), -ERANGE);
	/* attaching the same key again changes nothing and asks nothing */
	CHECK_EQ(vt_guard_attach(v, pub, NULL, err, sizeof(err)), 0);
	/* replacing is critical: refused without the guard's approval of
	 * exactly that key, done with it */
	set_params(pub, params, sizeof(params));
	CHECK_EQ(gate_token(v, path, "guard.attach", params, tok), 0);
	CHECK_EQ(vt_guard_attach(v, pub2, tok, err, sizeof(err)), -EPERM);
	set_params(pub2, params, sizeof(params));
	CHECK_EQ(gate_token(v, path, "guard.attach", params, tok), 0);
	CHECK_EQ(vt_guard_attach(v, pub2, tok, err, sizeof(err)), 0);
	CHECK_EQ(vf_vault_guard_get(v, got, sizeof(got)), 0);
	CHECK(!strcmp(got, pub2));
	/* it persists */
	v = reopen(v, 0);
	if (!v)
		return;
	CHECK_EQ(vf_vault_guard_get(v, got, sizeof(got)), 0);
	CHECK(!strcmp(got, pub2));
	/* read-only: no change */
	v = reopen(v, VF_OPEN_RDONLY);
	if (!v)
		return;
	CHECK_EQ(vt_guard_attach(v, pub, NULL, err, sizeof(err)), -EROFS);
	CHECK_EQ(vt_guard_detach(v, NULL), -EROFS);
	v = reopen(v, 0);
	if (!v)
		return;
	CHECK_EQ(vt_guard_detach(v, NULL), -EPERM);
	CHECK_EQ(gate_token(v, path2, "guard.detach", "", tok), 0);
	CHECK_EQ(vt_guard_detach(v, tok), 0);
	CHECK_EQ(vf_vault_guard_get(v, got, sizeof(got)), -ENOENT);
	CHECK_EQ(vt_guard_detach(v, NULL), -ENOENT);
	CHECK_EQ(vf_vault_close(v), 0);
}

static void full_flow(void)
{
	struct vf_vault *v = fresh();
	struct vf_status st;
	struct vf_guard_request r;
	char key[128], pub[VF_GUARD_PUB_TEXT], err[256];
	char why[VF_GUARD_WHY_MAX], req[VF_GUARD_TEXT_MAX];
	char tok[VF_GUARD_TEXT_MAX], tok2[VF_GUARD_TEXT_MAX];
	char sum[VF_GUARD_SUMMARY_MAX];
	char fpr[VF_GUARD_FPR_TEXT], fexp[VF_GUARD_FPR_TEXT], when[32];
	char expect_sum[VF_GUARD_SUMMARY_MAX], hex[65], spaced[VF_GUARD_TEXT_MAX + 8];
	uint8_t h[32];
	int64_t now = vf_clock_now();

	if (!v)
		return;
	CHECK_EQ(keygen("f1", key, pub), 0);
	CHECK_EQ(vt_guard_attach(v, pub, NULL, err, sizeof(err)), 0);

	/* without a token: a request and the line saying what to do */
	CHECK_EQ(vf_vault_guard_authorize(v, 1000, "softdelete.days", "days=20",
					  NULL, now, req, sizeof(req), why,
					  sizeof(why), fpr),
		 -EPERM);
	CHECK(!strncmp(req, "vfreq2:", 7));
	CHECK(!strncmp(why,
		       "approval required: ask the guard holder to run: "
		       "vaultctl guard approve --key FILE vfreq2:",
		       88));
	CHECK(strstr(why, req) != NULL);
	CHECK(strchr(why, '\n') == NULL);
	/* the request says what it is for */
	CHECK_EQ(vf_vault_status(v, &st), 0);
	CHECK_EQ(vf_guard_request_parse(req, &r), 0);
	CHECK(!strcmp(r.op, "softdelete.days"));
	CHECK(!strcmp(r.params, "days=20"));
	CHECK_EQ(r.created, now);
	sodium_bin2hex(hex, sizeof(hex), r.vault_id, 16);
	CHECK(!strcmp(hex, st.vault_id));
	vf_guard_params_hash("days=20", h);
	CHECK(!memcmp(h, r.params_hash, 32));
	/* each request is new */
	request_for(v, "softdelete.days", "days=20", now, tok2);
	CHECK(strcmp(tok2, req) != 0);

	/* approve offline: the summary shows what is approved */
	CHECK_EQ(vf_guard_approve(key, req, HOUR, now, tok, sizeof(tok), sum,
				  sizeof(sum), err, sizeof(err)),
		 0);
	CHECK(!strncmp(tok, "vftok2:", 7));
	vf_time_format(now + HOUR, when);
	snprintf(expect_sum, sizeof(expect_sum),
		 "vault %s, operation softdelete.days, parameters days=20, "
		 "expires %s",
		 st.vault_id, when);
	if (strcmp(sum, expect_sum))
		fprintf(stderr, "summary: '%s'\n", sum);
	CHECK(!strcmp(sum, expect_sum));

	/* the token works once, with the guard's fingerprint */
	CHECK_EQ(vf_guard_fingerprint(pub, fexp), 0);
	CHECK_EQ(vf_vault_guard_authorize(v, 1000, "softdelete.days", "days=20",
					  tok, now + VF_NS, req, sizeof(req),
					  why, sizeof(why), fpr),
		 0);
	CHECK(!strcmp(fpr, fexp));
	expect(v, "softdelete.days", "days=20", tok, now + 2 * VF_NS, -EPERM,
	       "approval was already used");
	/* a second approval of the same request carries the same nonce */
	CHECK_EQ(vf_vault_guard_authorize(v, 1000, "softdelete.days", "days=20",
					  NULL, now, req, sizeof(req), why,
					  sizeof(why), fpr),
		 -EPERM);
	CHECK_EQ(approve(key, req, HOUR, now, tok), 0);
	CHECK_EQ(approve(key, req, 2 * HOUR, now, tok2), 0);
	CHECK(strcmp(tok, tok2) != 0);
	/* surrounding blanks (a paste) are fine */
	snprintf(spaced, sizeof(spaced), "  %s\r\n", tok);
	expect(v, "softdelete.days", "days=20", spaced, now, 0, NULL);
	expect(v, "softdelete.days", "days=20", tok2, now, -EPERM,
	       "approval was already used");
	/* used stays used across a restart */
	v = reopen(v, 0);
	if (!v)
		return;
	expect(v, "softdelete.days", "days=20", tok, now, -EPERM,
	       "approval was already used");
	/* once detached (with the guard's approval), nothing is asked */
	CHECK_EQ(gate_token(v, key, "guard.detach", "", tok), 0);
	CHECK_EQ(vt_guard_detach(v, tok), 0);
	expect(v, "softdelete.days", "days=20", NULL, now, 0, NULL);
	CHECK_EQ(vf_vault_close(v), 0);
}

static void bad_tokens(void)
{
	struct vf_vault *v = fresh(), *w = fresh();
	char key[128], key2[128], pub[VF_GUARD_PUB_TEXT];
	char pub2[VF_GUARD_PUB_TEXT], err[256], when[32];
	char req[VF_GUARD_TEXT_MAX], tok[VF_GUARD_TEXT_MAX];
	char bad[2 * VF_GUARD_INPUT_MAX], exp_why[128];
	uint8_t bin[VF_GUARD_BIN_MAX + 8];
	size_t n;
	int64_t now = vf_clock_now();
	const char *op = "softdelete.days";

	if (!v || !w)
		goto out;
	CHECK_EQ(keygen("b1", key, pub), 0);
	CHECK_EQ(keygen("b2", key2, pub2), 0);
	CHECK_EQ(vt_guard_attach(v, pub, NULL, err, sizeof(err)), 0);
	CHECK_EQ(vt_guard_attach(w, pub, NULL, err, sizeof(err)), 0);

	/* forged: one signature byte, the expiry pushed out, another key */
	request_for(v, op, "days=20", now, req);
	CHECK_EQ(approve(key, req, HOUR, now, tok), 0);
	n = unb64(tok, bin, sizeof(bin));
	CHECK(n > 64);
	bin[n - 1] ^= 0x01;
	reb64("vftok2:", bin, n, bad, sizeof(bad));
	expect(v, op, "days=20", bad, now, -EPERM,
	       "approval signature does not verify (forged or for another "
	       "guard key)");
	bin[n - 1] ^= 0x01;
	bin[n - 64 - 1] ^= 0x01; /* top byte of the expiry */
	reb64("vftok2:", bin, n, bad, sizeof(bad));
	expect(v, op, "days=20", bad, now, -EPERM,
	       "approval signature does not verify (forged or for another "
	       "guard key)");
	CHECK_EQ(approve(key2, req, HOUR, now, bad), 0);
	expect(v, op, "days=20", bad, now, -EPERM,
	       "approval signature does not verify (forged or for another "
	       "guard key)");
	/* the refusals did not use the genuine token up */
	expect(v, op, "days=20", tok, now, 0, NULL);

	/* expired: approved with a clock in the past, or used too late;
	 * the last nanosecond before expiry still counts */
	request_for(v, op, "days=20", now, req);
	CHECK_EQ(approve(key, req, HOUR, now - 2 * HOUR, tok), 0);
	vf_time_format(now - HOUR, when);
	snprintf(exp_why, sizeof(exp_why), "approval expired at %s", when);
	expect(v, op, "days=20", tok, now, -EPERM, exp_why);
	CHECK_EQ(approve(key, req, HOUR, now, tok), 0);
	vf_time_format(now + HOUR, when);
	snprintf(exp_why, sizeof(exp_why), "approval expired at %s", when);
	expect(v, op, "days=20", tok, now + HOUR, -EPERM, exp_why);
	expect(v, op, "days=20", tok, now + HOUR - 1, 0, NULL);

	/* another vault (armed with the same guard key) */
	request_for(w, op, "days=20", now, req);
	CHECK_EQ(approve(key, req, HOUR, now, tok), 0);
	expect(v, op, "days=20", tok, now, -EPERM,
	       "approval is for another vault");
	expect(w, op, "days=20", tok, now, 0, NULL);

	/* another operation, other parameters; then the right use */
	request_for(v, "softdelete.off", "", now, req);
	CHECK_EQ(approve(key, req, HOUR, now, tok), 0);
	expect(v, op, "", tok, now, -EPERM,
	       "approval is for operation softdelete.off, not softdelete.days");
	expect(v, "softdelete.off", "", tok, now, 0, NULL);
	request_for(v, op, "days=20", now, req);
	CHECK_EQ(approve(key, req, HOUR, now, tok), 0);
	expect(v, op, "days=14", tok, now, -EPERM,
	       "approval is for other parameters");
	expect(v, op, "days=2", tok, now, -EPERM,
	       "approval is for other parameters");
	expect(v, op, "days=20 ", tok, now, -EPERM,
	       "approval is for other parameters");

	/* malformed, in many ways; the good token survives them all */
#define MALFORMED(text)                                                        \
	expect(v, op, "days=20", (text), now, -EPERM,                          \
	       "approval token is malformed")
	MALFORMED("");
	MALFORMED("hello");
	MALFORMED("vftok2:");
	MALFORMED(req); /* a request is not a token */
	snprintf(bad, sizeof(bad), "%.*s", (int)strlen(tok) - 4, tok);
	MALFORMED(bad); /* truncated */
	snprintf(bad, sizeof(bad), "vftok1:%s", tok + 7);
	MALFORMED(bad); /* wrong prefix (version 1's) */
	snprintf(bad, sizeof(bad), "%s=", tok);
	MALFORMED(bad); /* padding */
	snprintf(bad, sizeof(bad), "%s", tok);
	bad[20] = '!';
	MALFORMED(bad); /* outside the alphabet */
	bad[20] = '+';
	MALFORMED(bad); /* standard base64, not url-safe */
	snprintf(bad, sizeof(bad), "%s", tok);
	bad[20] = ' ';
	MALFORMED(bad); /* a blank inside */
	memset(bad, 'A', sizeof(bad) - 1);
	bad[sizeof(bad) - 1] = '\0';
	memcpy(bad, "vftok2:", 7);
	MALFORMED(bad); /* far too long */
	n = unb64(tok, bin, sizeof(bin));
	CHECK(n > 100);
	bin[n] = 0;
	reb64("vftok2:", bin, n + 1, bad, sizeof(bad));
	MALFORMED(bad); /* a byte too many */
	reb64("vftok2:", bin, n - 1, bad, sizeof(bad));
	MALFORMED(bad); /* a byte too few */
	bin[0] = 1;
	reb64("vftok2:", bin, n, bad, sizeof(bad));
	MALFORMED(bad); /* version 1 */
	bin[0] = 3;
	reb64("vftok2:", bin, n, bad, sizeof(bad));
	MALFORMED(bad); /* another version */
	bin[0] = 2;
	bin[17] = 0;
	reb64("vftok2:", bin, n, bad, sizeof(bad));
	MALFORMED(bad); /* empty op */
	bin[17] = 200;
	reb64("vftok2:", bin, n, bad, sizeof(bad));
	MALFORMED(bad); /* op longer than the token */
	bin[17] = (uint8_t)strlen(op);
	bin[18] = 'S';
	reb64("vftok2:", bin, n, bad, sizeof(bad));
	MALFORMED(bad); /* op outside its alphabet */
	bin[18] = 's';
	bin[21] = '\0';
	reb64("vftok2:", bin, n, bad, sizeof(bad));
	MALFORMED(bad); /* op with a NUL */
	bin[21] = 't';
	/* the parameter text "days=20" after op and hash: its length and
	 * its bytes */
	CHECK_EQ(bin[18 + 15 + 32], 7);
	bin[18 + 15 + 32] = 8;
	reb64("vftok2:", bin, n, bad, sizeof(bad));
	MALFORMED(bad); /* text longer than it is */
	bin[18 + 15 + 32] = 7;
	bin[18 + 15 + 33] = 1;
	reb64("vftok2:", bin, n, bad, sizeof(bad));
	MALFORMED(bad); /* text length over 256 */
	bin[18 + 15 + 33] = 0;
	bin[18 + 15 + 34 + 4] = '\n';
	reb64("vftok2:", bin, n, bad, sizeof(bad));
	MALFORMED(bad); /* text not printable */
	bin[18 + 15 + 34 + 4] = '=';
	reb64("vftok2:", bin, n, bad, sizeof(bad));
	CHECK(!strcmp(bad, tok)); /* all put back */
#undef MALFORMED
	expect(v, op, "days=20", tok, now, 0, NULL);
out:
	CHECK_EQ(vf_vault_close(w), 0);
	CHECK_EQ(vf_vault_close(v), 0);
}

/* Every single-bit change of a token's bytes and every truncation of its
 * text is refused (by the parser or the check). */
static void every_bit(void)
{
	struct vf_vault *v = fresh();
	struct vf_guard_token t;
	struct vf_status st;
	char key[128], pub[VF_GUARD_PUB_TEXT], err[256], why[256];
	char req[VF_GUARD_TEXT_MAX], tok[VF_GUARD_TEXT_MAX];
	char bad[VF_GUARD_TEXT_MAX];
	uint8_t bin[VF_GUARD_BIN_MAX], pk[32], id[16];
	size_t n, i, len;
	int b, accepted = 0;
	int64_t now = vf_clock_now();

	if (!v)
		return;
	CHECK_EQ(keygen("e1", key, pub), 0);
	CHECK_EQ(vf_guard_pub_parse(pub, pk), 0);
	CHECK_EQ(vt_guard_attach(v, pub, NULL, err, sizeof(err)), 0);
	CHECK_EQ(vf_vault_status(v, &st), 0);
	CHECK_EQ(sodium_hex2bin(id, sizeof(id), st.vault_id,
				strlen(st.vault_id), NULL, NULL, NULL),
		 0);
	request_for(v, "policy.weaker", "keep-last=3", now, req);
	CHECK_EQ(approve(key, req, HOUR, now, tok), 0);
	CHECK_EQ(vf_guard_token_parse(tok, &t), 0);
	CHECK_EQ(vf_guard_check(&t, pk, id, "policy.weaker", "keep-last=3", now,
				why, sizeof(why)),
		 0);
	CHECK_EQ(t.expires, now + HOUR);
	n = unb64(tok, bin, sizeof(bin));
	CHECK_EQ(n, 148 + strlen("policy.weaker") + strlen("keep-last=3"));
	for (i = 0; i < n; i++)
		for (b = 0; b < 8; b++) {
			bin[i] ^= (uint8_t)(1u << b);
			reb64("vftok2:", bin, n, bad, sizeof(bad));
			if (!vf_guard_token_parse(bad, &t) &&
			    !vf_guard_check(&t, pk, id, "policy.weaker",
					    "keep-last=3", now, why,
					    sizeof(why)))
				accepted++;
			bin[i] ^= (uint8_t)(1u << b);
		}
	CHECK_EQ(accepted, 0);
	len = strlen(tok);
	accepted = 0;
	for (i = 0; i < len; i++) {
		snprintf(bad, sizeof(bad), "%.*s", (int)i, tok);
		if (!vf_guard_token_parse(bad, &t))
			accepted++;
	}
	CHECK_EQ(accepted, 0);
	/* requests round-trip through the parser and the formatter */
	{
		struct vf_guard_request r;
		char again[VF_GUARD_TEXT_MAX];

		CHECK_EQ(vf_guard_request_parse(req, &r), 0);
		CHECK_EQ(vf_guard_request_format(&r, again, sizeof(again)), 0);
		CHECK(!strcmp(req, again));
		CHECK_EQ(vf_guard_request_format(&r, again, 10), -ERANGE);
		CHECK_EQ(vf_guard_request_parse(tok, &r), -EINVAL);
	}
	/* the token, still unused, is accepted by the vault */
	expect(v, "policy.weaker", "keep-last=3", tok, now, 0, NULL);
	CHECK_EQ(vf_vault_close(v), 0);
}

static void approve_errors(void)
{
	struct vf_vault *v = fresh();
	char key[128], pub[VF_GUARD_PUB_TEXT], err[256];
	char sum[VF_GUARD_SUMMARY_MAX];
	char req[VF_GUARD_TEXT_MAX], tok[VF_GUARD_TEXT_MAX], path[160];
	char line[VF_GUARD_TEXT_MAX], small[32];
	uint8_t sk[64];
	size_t n = 0;
	FILE *f;
	int64_t now = vf_clock_now();

#define APPROVE(k, r, ttl, buf, cap)                                           \
	(err[0] = '\0', vf_guard_approve((k), (r), (ttl), now, (buf), (cap),   \
					 sum, sizeof(sum), err, sizeof(err)))
	if (!v)
		return;
	CHECK_EQ(keygen("p1", key, pub), 0);
	CHECK_EQ(vt_guard_attach(v, pub, NULL, err, sizeof(err)), 0);
	request_for(v, "role.grant", "role=owner id=user:1001", now, req);

	/* a key others can read (or write) is refused, and says so */
	CHECK_EQ(chmod(key, 0640), 0);
	CHECK_EQ(APPROVE(key, req, HOUR, tok, sizeof(tok)), -EPERM);
	CHECK(strstr(err, "accessible by group or others") != NULL);
	CHECK_EQ(chmod(key, 0604), 0);
	CHECK_EQ(APPROVE(key, req, HOUR, tok, sizeof(tok)), -EPERM);
	CHECK_EQ(chmod(key, 0620), 0);
	CHECK_EQ(APPROVE(key, req, HOUR, tok, sizeof(tok)), -EPERM);
	CHECK_EQ(chmod(key, 0600), 0);
	CHECK_EQ(APPROVE(key, req, HOUR, tok, sizeof(tok)), 0);

	/* lifetimes: more than 0, at most 30 days */
	CHECK_EQ(APPROVE(key, req, 0, tok, sizeof(tok)), -EINVAL);
	CHECK(strstr(err, "30 days") != NULL);
	CHECK_EQ(APPROVE(key, req, -HOUR, tok, sizeof(tok)), -EINVAL);
	CHECK_EQ(APPROVE(key, req, VF_GUARD_TTL_MAX + 1, tok, sizeof(tok)),
		 -EINVAL);
	CHECK_EQ(APPROVE(key, req, VF_GUARD_TTL_MAX, tok, sizeof(tok)), 0);
	CHECK_EQ(vf_guard_approve(key, req, HOUR, INT64_MAX - 10, tok,
				  sizeof(tok), sum, sizeof(sum), err,
				  sizeof(err)),
		 -EINVAL);

	/* requests: malformed, or a token instead */
	CHECK_EQ(APPROVE(key, "vfreq2:AAAA", HOUR, tok, sizeof(tok)), -EINVAL);
	CHECK(!strcmp(err, "approval request is malformed"));
	CHECK_EQ(APPROVE(key, "", HOUR, tok, sizeof(tok)), -EINVAL);
	CHECK_EQ(APPROVE(key, req, HOUR, tok, sizeof(tok)), 0);
	snprintf(line, sizeof(line), "%s", tok);
	CHECK_EQ(APPROVE(key, line, HOUR, tok, sizeof(tok)), -EINVAL);
	CHECK(!strcmp(err, "this is an approval token, not a request"));
	CHECK_EQ(APPROVE(key, req, HOUR, small, sizeof(small)), -ERANGE);

	/* key files: missing, not a file, not a key, damaged */
	snprintf(path, sizeof(path), "%s/missing", top);
	CHECK_EQ(APPROVE(path, req, HOUR, tok, sizeof(tok)), -ENOENT);
	CHECK(strstr(err, "missing") != NULL);
	snprintf(path, sizeof(path), "%s/dirkey", top);
	CHECK_EQ(mkdir(path, 0700), 0);
	CHECK_EQ(APPROVE(path, req, HOUR, tok, sizeof(tok)), -EINVAL);
	CHECK(strstr(err, "not a regular file") != NULL);
	snprintf(path, sizeof(path), "%s/garbage", top);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fputs("vaultfs-guard-key-1 bm90IGEga2V5\n", f);
		fclose(f);
	}
	CHECK_EQ(chmod(path, 0600), 0);
	CHECK_EQ(APPROVE(path, req, HOUR, tok, sizeof(tok)), -EINVAL);
	CHECK(strstr(err, "is not a vaultfs guard key") != NULL);
	/* the public half of the secret key no longer its seed's */
	CHECK(read_file(key, line, sizeof(line)) > 20);
	CHECK_EQ(sodium_base642bin(sk, sizeof(sk), line + 20,
				   strlen(line + 20) - 1, NULL, &n, NULL,
				   sodium_base64_VARIANT_ORIGINAL),
		 0);
	CHECK_EQ(n, 64);
	sk[40] ^= 0x10;
	memcpy(line, "vaultfs-guard-key-1 ", 20);
	sodium_bin2base64(line + 20, sizeof(line) - 20, sk, sizeof(sk),
			  sodium_base64_VARIANT_ORIGINAL);
	snprintf(path, sizeof(path), "%s/damaged", top);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fprintf(f, "%s\n", line);
		fclose(f);
	}
	CHECK_EQ(chmod(path, 0600), 0);
	CHECK_EQ(APPROVE(path, req, HOUR, tok, sizeof(tok)), -EINVAL);
	CHECK(strstr(err, "is damaged") != NULL);
	sodium_memzero(sk, sizeof(sk));
#undef APPROVE
	CHECK_EQ(vf_vault_close(v), 0);
}

/* The parameter text a request carries: built from the params, shown by
 * approve, checked against the hash; never more than 256 printable
 * bytes. */
static void params_shown(void)
{
	struct vf_vault *v = fresh();
	struct vf_guard_request r;
	char key[128], pub[VF_GUARD_PUB_TEXT], err[256];
	char sum[VF_GUARD_SUMMARY_MAX], req[VF_GUARD_TEXT_MAX];
	char tok[VF_GUARD_TEXT_MAX], bad[VF_GUARD_INPUT_MAX + 1];
	char params[400], text[VF_GUARD_PARAMS_MAX + 1];
	uint8_t bin[VF_GUARD_BIN_MAX + 8], big[VF_GUARD_BIN_MAX + 8];
	size_t n, i, len, p0;
	int esc, rc, bad_props = 0;
	int64_t now = vf_clock_now();
	const char *op = "softdelete.purge";

#define APPROVE(r)                                                             \
	(err[0] = sum[0] = tok[0] = '\0',                                      \
	 vf_guard_approve(key, (r), HOUR, now, tok, sizeof(tok), sum,          \
			  sizeof(sum), err, sizeof(err)))
	if (!v)
		return;
	CHECK_EQ(keygen("t1", key, pub), 0);
	CHECK_EQ(vt_guard_attach(v, pub, NULL, err, sizeof(err)), 0);

	/* the holder sees the parameters; the token works for them */
	request_for(v, op, "path=a/b", now, req);
	CHECK_EQ(APPROVE(req), 0);
	CHECK(strstr(sum, ", operation softdelete.purge, parameters path=a/b, "
			  "expires ") != NULL);
	expect(v, op, "path=a/b", tok, now, 0, NULL);
	request_for(v, "guard.detach", "", now, req);
	CHECK_EQ(APPROVE(req), 0);
	CHECK(strstr(sum, ", parameters (none), expires ") != NULL);

	/* a text altered on its way is refused, and nothing is signed */
	request_for(v, op, "path=a/b", now, req);
	n = unb64(req, bin, sizeof(bin));
	p0 = 18 + strlen(op) + 32; /* P, then the text */
	CHECK_EQ(bin[p0], 8);
	CHECK_EQ(bin[p0 + 1], 0);
	bin[p0 + 2 + 7] = 'c'; /* "path=a/c" */
	reb64("vfreq2:", bin, n, bad, sizeof(bad));
	CHECK_EQ(APPROVE(bad), -EBADMSG);
	CHECK(!strcmp(err, "request parameters do not match their hash "
			   "(tampered request)"));
	CHECK(!strcmp(tok, ""));
	bin[p0 + 2 + 7] = 'b';
	reb64("vfreq2:", bin, n, bad, sizeof(bad));
	CHECK(!strcmp(bad, req));
	CHECK_EQ(APPROVE(bad), 0);

	/* P over the cap, or text that is not printable: malformed */
	memcpy(big, bin, p0);
	big[p0] = (uint8_t)(VF_GUARD_PARAMS_MAX & 0xff);
	big[p0 + 1] = (uint8_t)(VF_GUARD_PARAMS_MAX >> 8);
	memset(big + p0 + 2, 'a', VF_GUARD_PARAMS_MAX);
	memcpy(big + p0 + 2 + VF_GUARD_PARAMS_MAX, bin + p0 + 2 + 8, 24);
	len = p0 + 2 + VF_GUARD_PARAMS_MAX + 24;
	reb64("vfreq2:", big, len, bad, sizeof(bad));
	CHECK_EQ(vf_guard_request_parse(bad, &r), 0); /* 256: the cap */
	CHECK_EQ(strlen(r.params), VF_GUARD_PARAMS_MAX);
	CHECK_EQ(APPROVE(bad), -EBADMSG); /* but not this hash's */
	big[p0] = (uint8_t)((VF_GUARD_PARAMS_MAX + 1) & 0xff);
	big[p0 + 1] = (uint8_t)((VF_GUARD_PARAMS_MAX + 1) >> 8);
	memmove(big + p0 + 2 + VF_GUARD_PARAMS_MAX + 1,
		big + p0 + 2 + VF_GUARD_PARAMS_MAX, 24);
	big[p0 + 2 + VF_GUARD_PARAMS_MAX] = 'a';
	reb64("vfreq2:", big, len + 1, bad, sizeof(bad));
	CHECK_EQ(vf_guard_request_parse(bad, &r), -EINVAL);
	CHECK_EQ(APPROVE(bad), -EINVAL);
	CHECK(!strcmp(err, "approval request is malformed"));
	big[p0] = 0xff; /* 65535 */
	big[p0 + 1] = 0xff;
	reb64("vfreq2:", big, len + 1, bad, sizeof(bad));
	CHECK_EQ(vf_guard_request_parse(bad, &r), -EINVAL);
	{
		static const uint8_t nonprint[] = { 0x00, 0x09, 0x1f, 0x7f,
						    0x80, 0xff };

		for (i = 0; i < sizeof(nonprint); i++) {
			bin[p0 + 2 + 3] = nonprint[i];
			reb64("vfreq2:", bin, n, bad, sizeof(bad));
			CHECK_EQ(vf_guard_request_parse(bad, &r), -EINVAL);
			CHECK_EQ(APPROVE(bad), -EINVAL);
			CHECK(!strcmp(err, "approval request is malformed"));
		}
		bin[p0 + 2 + 3] = 'h';
	}
	/* the formatter refuses what the parser would */
	CHECK_EQ(vf_guard_request_parse(req, &r), 0);
	r.params[2] = '\n';
	CHECK_EQ(vf_guard_request_format(&r, bad, sizeof(bad)), -EINVAL);

	/* bytes that are not printable (and backslashes) are escaped,
	 * shown as such, and still checked against the hash */
	request_for(v, op, "path=a\nb\\c\x7f", now, req);
	CHECK_EQ(vf_guard_request_parse(req, &r), 0);
	CHECK(!strcmp(r.params, "path=a\\x0ab\\x5cc\\x7f"));
	CHECK_EQ(APPROVE(req), 0);
	CHECK(strstr(sum, ", parameters path=a\\x0ab\\x5cc\\x7f (escaped), "
			  "expires ") != NULL);
	expect(v, op, "path=a\nb\\c\x7f", tok, now, 0, NULL);
	n = unb64(req, bin, sizeof(bin));
	bin[p0 + 2 + 9] = 'A'; /* "\x0A": not what the escaper makes */
	reb64("vfreq2:", bin, n, bad, sizeof(bad));
	CHECK_EQ(APPROVE(bad), -EBADMSG);
	bin[p0 + 2 + 9] = 'a';
	bin[p0 + 2 + 8] = '4';
	bin[p0 + 2 + 9] = '1'; /* "\x41", an "A" that needs no escape */
	reb64("vfreq2:", bin, n, bad, sizeof(bad));
	CHECK_EQ(APPROVE(bad), -EBADMSG);
	bin[p0 + 2 + 8] = '0';
	bin[p0 + 2 + 9] = 'a';
	bin[p0 + 2 + 10] = '\\'; /* "b" -> "\": a lone backslash */
	reb64("vfreq2:", bin, n, bad, sizeof(bad));
	CHECK_EQ(APPROVE(bad), -EBADMSG);

	/* exactly 256 bytes are carried whole; longer ones are cut */
	memset(params, 'q', sizeof(params));
	memcpy(params, "path=", 5);
	params[VF_GUARD_PARAMS_MAX] = '\0';
	request_for(v, op, params, now, req);
	CHECK_EQ(APPROVE(req), 0);
	CHECK(strstr(sum, "qqq, expires ") != NULL);
	params[VF_GUARD_PARAMS_MAX] = 'q';
	params[300] = '\0';
	request_for(v, op, params, now, req);
	CHECK_EQ(vf_guard_request_parse(req, &r), 0);
	CHECK_EQ(strlen(r.params), VF_GUARD_PARAMS_MAX);
	CHECK(!strcmp(r.params + VF_GUARD_PARAMS_MAX - 5, "q\\..."));
	/* a cut text cannot be checked against the hash: never signed (the
	 * gate binds ids and shortens names itself, so it makes none) */
	CHECK_EQ(APPROVE(req), -EBADMSG);

	/* property: any params make a printable text of at most 256 bytes
	 * that is either cut or checks against the hash */
	for (len = 0; len < sizeof(params) - 1; len++) {
		for (i = 0; i < len; i++)
			params[i] = "ab\\\n\x01z"[(i * 7 + len) % 6];
		params[len] = '\0';
		memset(&r, 0, sizeof(r));
		vf_guard_params_hash(params, r.params_hash);
		vf_guard_params_text(params, text);
		memcpy(r.params, text, sizeof(text));
		n = strlen(text);
		for (i = 0; i < n; i++)
			if (text[i] < 0x20 || text[i] > 0x7e)
				bad_props++;
		esc = -1;
		rc = vf_guard_params_verify(&r, &esc);
		if (n > VF_GUARD_PARAMS_MAX ||
		    (rc != 0 && rc != -ENODATA) ||
		    (rc == 0 && esc != (len > 1)) ||
		    (rc == -ENODATA && n < VF_GUARD_PARAMS_MAX - 3))
			bad_props++;
	}
	CHECK_EQ(bad_props, 0);
#undef APPROVE
	CHECK_EQ(vf_vault_close(v), 0);
}

/* A token is consumed only where it can be recorded: a read-only vault
 * refuses it and leaves it usable. */
static void read_only(void)
{
	struct vf_vault *v = fresh();
	char key[128], pub[VF_GUARD_PUB_TEXT], err[256];
	char req[VF_GUARD_TEXT_MAX], tok[VF_GUARD_TEXT_MAX];
	int64_t now = vf_clock_now();

	if (!v)
		return;
	CHECK_EQ(keygen("r1", key, pub), 0);
	CHECK_EQ(vt_guard_attach(v, pub, NULL, err, sizeof(err)), 0);
	request_for(v, "guard.detach", "", now, req);
	CHECK_EQ(approve(key, req, HOUR, now, tok), 0);
	v = reopen(v, VF_OPEN_RDONLY);
	if (!v)
		return;
	expect(v, "guard.detach", "", tok, now, -EROFS,
	       "the vault is mounted read-only");
	v = reopen(v, 0);
	if (!v)
		return;
	expect(v, "guard.detach", "", tok, now, 0, NULL);
	/* bad op names are the caller's bug */
	expect(v, "Guard.detach", "", tok, now, -EINVAL, NULL);
	expect(v, "", "", NULL, now, -EINVAL, NULL);
	CHECK_EQ(vf_vault_close(v), 0);
}


/* ---- passphrase-protected key files ------------------------------------ */

#define PW "correct horse"
#define PW2 "battery staple"
/* the smallest Argon2id parameters: the format, not the cost, is tested */
#define T_OPS 1
#define T_MEM 8192

static int approve_pw(const char *key, const char *pw, const char *req,
		      char tok[VF_GUARD_TEXT_MAX], char err[256])
{
	char sum[VF_GUARD_SUMMARY_MAX];

	tok[0] = err[0] = '\0';
	return vf_guard_approve_pass(key, pw, pw ? strlen(pw) : 0, req, HOUR,
				     vf_clock_now(), tok, VF_GUARD_TEXT_MAX,
				     sum, sizeof(sum), err, 256);
}

static void write_key(const char *path, const char *text)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK_EQ(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* The standard base64 after the 20-character prefix of a key file. */
static size_t key_body(const char *text, uint8_t *bin, size_t cap)
{
	size_t n = 0, len = strlen(text);

	while (len && (text[len - 1] == '\n'))
		len--;
	if (len < 20 || sodium_base642bin(bin, cap, text + 20, len - 20, NULL,
					  &n, NULL,
					  sodium_base64_VARIANT_ORIGINAL))
		return 0;
	return n;
}

static void protected_keys(void)
{
	struct vf_vault *v = fresh();
	char key[128], copy[160], plain[128], pub[VF_GUARD_PUB_TEXT];
	char pub2[VF_GUARD_PUB_TEXT], err[256], req[VF_GUARD_TEXT_MAX];
	char tok[VF_GUARD_TEXT_MAX], text[512], orig[512], mangled[512];
	uint8_t body[160], sk[64], flipped[160];
	size_t n, i;
	struct stat st;
	int rc, refused = 0;

	if (!v)
		return;
	snprintf(key, sizeof(key), "%s/pw-key", top);
	CHECK_EQ(vf_guard_keygen_kdf(key, PW, strlen(PW), T_OPS, T_MEM, pub,
				     sizeof(pub), err, sizeof(err)),
		 0);
	CHECK(!strncmp(pub, "vfguard1:", 9)); /* the public line is as before */
	CHECK_EQ(strlen(pub), 9 + 43);
	CHECK_EQ(stat(key, &st), 0);
	CHECK_EQ(st.st_mode & 07777, 0600);
	CHECK_EQ(read_file(key, text, sizeof(text)), 20 + 184 + 1);
	CHECK(!strncmp(text, "vaultfs-guard-key-2 ", 20));
	CHECK_EQ(key_body(text, body, sizeof(body)), 136);
	CHECK_EQ(body[0], T_OPS); /* ops, mem: little-endian, stored */
	CHECK_EQ(body[1] | body[2] | body[3], 0);
	CHECK_EQ(body[9], T_MEM >> 8);
	CHECK_EQ(vf_guard_key_protected(key, err, sizeof(err)), 1);
	CHECK_EQ(vt_guard_attach(v, pub, NULL, err, sizeof(err)), 0);

	/* without the passphrase, with a wrong one: refused, one line */
	request_for(v, "softdelete.days", "days=9", vf_clock_now(), req);
	CHECK_EQ(approve_pw(key, NULL, req, tok, err), -ENOKEY);
	CHECK(strstr(err, "is protected by a passphrase") != NULL);
	CHECK_EQ(approve(key, req, HOUR, vf_clock_now(), tok), -ENOKEY);
	CHECK_EQ(approve_pw(key, "correct horsE", req, tok, err), -EACCES);
	CHECK(strstr(err, "wrong passphrase for guard key file") != NULL);
	CHECK(strchr(err, '\n') == NULL);
	CHECK_EQ(tok[0], '\0');
	/* with it: the token works, once */
	CHECK_EQ(approve_pw(key, PW, req, tok, err), 0);
	expect(v, "softdelete.days", "days=9", tok, vf_clock_now(), 0, NULL);
	expect(v, "softdelete.days", "days=9", tok, vf_clock_now(), -EPERM,
	       "approval was already used");

	/* one flipped bit anywhere in the sealed file: refused, one line,
	 * never a token (parameters out of range: damaged; else the seal
	 * fails as a wrong passphrase would) */
	snprintf(copy, sizeof(copy), "%s/pw-copy", top);
	request_for(v, "softdelete.days", "days=9", vf_clock_now(), req);
	for (i = 0; i < 136; i++) {
		memcpy(flipped, body, 136);
		flipped[i] ^= 1;
		memcpy(mangled, "vaultfs-guard-key-2 ", 20);
		sodium_bin2base64(mangled + 20, sizeof(mangled) - 21, flipped,
				  136, sodium_base64_VARIANT_ORIGINAL);
		n = strlen(mangled);
		mangled[n] = '\n';
		mangled[n + 1] = '\0';
		write_key(copy, mangled);
		rc = approve_pw(copy, PW, req, tok, err);
		if (rc == -EACCES || rc == -EINVAL)
			refused++;
		else
			fprintf(stderr, "byte %zu: %d %s\n", i, rc, err);
		CHECK(strchr(err, '\n') == NULL && err[0]);
	}
	CHECK_EQ(refused, 136);
	/* forged Argon2id parameters are bounded before any work */
	memcpy(flipped, body, 136);
	flipped[0] = 200;
	memcpy(mangled, "vaultfs-guard-key-2 ", 20);
	sodium_bin2base64(mangled + 20, sizeof(mangled) - 20, flipped, 136,
			  sodium_base64_VARIANT_ORIGINAL);
	write_key(copy, mangled);
	CHECK_EQ(approve_pw(copy, PW, req, tok, err), -EINVAL);
	CHECK(strstr(err, "damaged") != NULL);
	/* a group-readable protected file is refused like a plain one */
	write_key(copy, text);
	CHECK_EQ(chmod(copy, 0640), 0);
	CHECK_EQ(approve_pw(copy, PW, req, tok, err), -EPERM);

	/* a key of one's own, sealed or not, approves nothing */
	snprintf(copy, sizeof(copy), "%s/pw-evil", top);
	CHECK_EQ(vf_guard_keygen_kdf(copy, PW, strlen(PW), T_OPS, T_MEM, pub2,
				     sizeof(pub2), err, sizeof(err)),
		 0);
	CHECK_EQ(approve_pw(copy, PW, req, tok, err), 0);
	expect(v, "softdelete.days", "days=9", tok, vf_clock_now(), -EPERM,
	       NULL);

	/* adding a passphrase to a plain key: the sealed file holds neither
	 * the secret key nor its seed nor their text; the key is the same */
	CHECK_EQ(keygen("pw-plain", plain, pub2), 0);
	CHECK_EQ(vf_guard_key_protected(plain, err, sizeof(err)), 0);
	CHECK(read_file(plain, orig, sizeof(orig)) > 0);
	CHECK_EQ(key_body(orig, sk, sizeof(sk)), 64);
	orig[20 + 43] = '\0'; /* the text of the seed's first 32 bytes */
	CHECK_EQ(vf_guard_key_passphrase_kdf(plain, NULL, 0, PW, strlen(PW),
					     T_OPS, T_MEM, err, sizeof(err)),
		 0);
	CHECK_EQ(vf_guard_key_protected(plain, err, sizeof(err)), 1);
	CHECK_EQ(stat(plain, &st), 0);
	CHECK_EQ(st.st_mode & 07777, 0600);
	snprintf(copy, sizeof(copy), "%s.new", plain);
	CHECK(access(copy, F_OK) != 0);
	CHECK(read_file(plain, text, sizeof(text)) > 0);
	n = key_body(text, body, sizeof(body));
	CHECK_EQ(n, 136);
	CHECK(memmem(body, n, sk, 32) == NULL);
	CHECK(memmem(body, n, sk, 64) == NULL);
	CHECK(memmem(text, strlen(text), sk, 32) == NULL);
	CHECK(strstr(text, orig + 20) == NULL);
	/* change: the current passphrase is needed and must be right */
	CHECK_EQ(vf_guard_key_passphrase_kdf(plain, NULL, 0, PW2, strlen(PW2),
					     T_OPS, T_MEM, err, sizeof(err)),
		 -ENOKEY);
	CHECK_EQ(vf_guard_key_passphrase_kdf(plain, PW2, strlen(PW2), PW2,
					     strlen(PW2), T_OPS, T_MEM, err,
					     sizeof(err)),
		 -EACCES);
	CHECK(read_file(plain, mangled, sizeof(mangled)) > 0);
	CHECK(!strcmp(mangled, text)); /* refused: untouched */
	CHECK_EQ(vf_guard_key_passphrase_kdf(plain, PW, strlen(PW), PW2,
					     strlen(PW2), T_OPS, T_MEM, err,
					     sizeof(err)),
		 0);
	CHECK_EQ(approve_pw(plain, PW, req, tok, err), -EACCES);
	/* remove: back to exactly the plain file it was */
	CHECK_EQ(vf_guard_key_passphrase_kdf(plain, PW2, strlen(PW2), NULL, 0,
					     T_OPS, T_MEM, err, sizeof(err)),
		 0);
	CHECK_EQ(vf_guard_key_protected(plain, err, sizeof(err)), 0);
	CHECK(read_file(plain, text, sizeof(text)) > 0);
	CHECK_EQ(key_body(text, body, sizeof(body)), 64);
	CHECK(!memcmp(body, sk, 64));
	/* old plain files keep working, with or without a passphrase given */
	CHECK_EQ(approve_pw(plain, "ignored", req, tok, err), 0);
	/* not a key file */
	write_key(copy, "hello\n");
	CHECK_EQ(vf_guard_key_protected(copy, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "is not a vaultfs guard key") != NULL);
	CHECK_EQ(vf_guard_key_passphrase_kdf(copy, NULL, 0, PW, strlen(PW),
					     T_OPS, T_MEM, err, sizeof(err)),
		 -EINVAL);
	sodium_memzero(sk, sizeof(sk));
	CHECK_EQ(vf_vault_close(v), 0);
}

int main(void)
{
	char cmd[128];

	if (!unit_tmpdir(top, sizeof(top), "t-guard")) {
		fprintf(stderr, "cannot make a temporary directory\n");
		return 1;
	}
	snprintf(ks, sizeof(ks), "%s/keystore", top);
	RUN(key_files);
	RUN(attach_round_trip);
	RUN(full_flow);
	RUN(bad_tokens);
	RUN(every_bit);
	RUN(approve_errors);
	RUN(params_shown);
	RUN(read_only);
	RUN(protected_keys);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
	if (system(cmd) != 0)
		return 1;
	return unit_exit();
}
