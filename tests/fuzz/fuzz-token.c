/*
 * fuzz-token.c - fuzz target for the guard's text formats (guard.c):
 * approval tokens, request codes and public keys.
 *
 * The input, cut at its first NUL, is one text handed to every parser:
 * vf_guard_token_parse, vf_guard_request_parse, vf_guard_pub_parse.  What
 * parses is then pushed further: a token through vf_guard_check against a
 * fixed guard key and vault (FUZZ_SEED, FUZZ_VAULT), a request through the
 * formatter and back (it must round-trip exactly), a key through the
 * fingerprint.  Nothing here may crash, leak or read out of bounds, and
 * the checked invariants abort when broken.
 *
 * Saved corpus tokens are signed by FUZZ_SEED's key for FUZZ_VAULT, so
 * the whole check, signature included, is reached.  Every parsed request
 * (a token's too) also has its parameter text checked against its hash
 * (vf_guard_params_verify), which must answer and write nothing on
 * failure.  Build with
 * -DFUZZ_TOKEN_GEN to get a main() that writes the seed corpus into a
 * directory:  cc -DFUZZ_TOKEN_GEN ... tests/fuzz/fuzz-token.c
 * libvfcore.a; ./a.out tests/fuzz/corpus/token.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "guard.h"

#define FUZZ_NOW (1800000000LL * VF_NS)
#define FUZZ_PARAMS "days=14"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t FUZZ_SEED[crypto_sign_SEEDBYTES] = {0x5e};
static const uint8_t FUZZ_VAULT[VF_VAULT_ID_BYTES] = {0x24};

static void fuzz_pk(uint8_t pk[VF_GUARD_PK_BYTES])
{
	uint8_t sk[crypto_sign_SECRETKEYBYTES];

	crypto_sign_seed_keypair(pk, sk, FUZZ_SEED);
	sodium_memzero(sk, sizeof(sk));
}

static void check_line(const char *why)
{
	/* a refusal is one non-empty line */
	if (!why[0] || strchr(why, '\n'))
		abort();
}

static void try_params(const struct vf_guard_request *r)
{
	size_t n = strnlen(r->params, sizeof(r->params)), i;
	int esc = 7, rc;

	if (n > VF_GUARD_PARAMS_MAX)
		abort();
	for (i = 0; i < n; i++)
		if (r->params[i] < 0x20 || r->params[i] > 0x7e)
			abort();
	rc = vf_guard_params_verify(r, &esc);
	if ((rc == 0 && esc != 0 && esc != 1) || (rc != 0 && esc != 7) ||
	    (rc != 0 && rc != -ENODATA && rc != -EBADMSG))
		abort();
}

static void try_token(const char *text, const uint8_t pk[VF_GUARD_PK_BYTES])
{
	struct vf_guard_token t;
	char why[VF_GUARD_WHY_MAX];
	int rc;

	if (vf_guard_token_parse(text, &t))
		return;
	if (!vf_guard_op_valid(t.req.op) ||
	    t.signed_len + VF_GUARD_SIG_BYTES > sizeof(t.raw) ||
	    memcmp(t.sig, t.raw + t.signed_len, VF_GUARD_SIG_BYTES))
		abort();
	try_params(&t.req);
	why[0] = '\0';
	rc = vf_guard_check(&t, pk, FUZZ_VAULT, t.req.op, FUZZ_PARAMS,
			    t.req.created, why, sizeof(why));
	if (rc != 0 && rc != -EPERM)
		abort();
	if (rc)
		check_line(why);
	why[0] = '\0';
	rc = vf_guard_check(&t, pk, FUZZ_VAULT, "softdelete.off", "", FUZZ_NOW,
			    why, sizeof(why));
	if (rc != -EPERM && (rc || strcmp(t.req.op, "softdelete.off")))
		abort();
	if (rc)
		check_line(why);
}

static void try_request(const char *text)
{
	struct vf_guard_request r, r2;
	char out[VF_GUARD_TEXT_MAX];

	if (vf_guard_request_parse(text, &r))
		return;
	try_params(&r);
	/* what parses formats, and formats back to the same request */
	if (vf_guard_request_format(&r, out, sizeof(out)) ||
	    vf_guard_request_parse(out, &r2) ||
	    memcmp(r.vault_id, r2.vault_id, sizeof(r.vault_id)) ||
	    strcmp(r.op, r2.op) || strcmp(r.params, r2.params) ||
	    memcmp(r.params_hash, r2.params_hash, sizeof(r.params_hash)) ||
	    memcmp(r.nonce, r2.nonce, sizeof(r.nonce)) ||
	    r.created != r2.created)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t pk[VF_GUARD_PK_BYTES], k[VF_GUARD_PK_BYTES];
	char fpr[VF_GUARD_FPR_TEXT];
	char *text;

	if (sodium_init() < 0)
		return 0;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	fuzz_pk(pk);
	try_token(text, pk);
	try_request(text);
	if (!vf_guard_pub_parse(text, k) &&
	    (vf_guard_fingerprint(text, fpr) || strlen(fpr) != 16))
		abort();
	free(text);
	return 0;
}

#ifdef FUZZ_TOKEN_GEN
/* Writes the seed corpus: see the comment at the top. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static void save(const char *dir, const char *name, const char *text)
{
	char path[4096];
	size_t n = strlen(text);
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(text, 1, n, f) != n || fclose(f) != 0) {
		fprintf(stderr, "cannot write '%s'\n", path);
		exit(1);
	}
}

/* A request for op and params, fixed nonce, into req. */
static void request_for(const char *op, const char *params, char *req)
{
	struct vf_guard_request r;

	memset(&r, 0, sizeof(r));
	memcpy(r.vault_id, FUZZ_VAULT, sizeof(r.vault_id));
	snprintf(r.op, sizeof(r.op), "%s", op);
	vf_guard_params_hash(params, r.params_hash);
	vf_guard_params_text(params, r.params);
	memset(r.nonce, 0x77, sizeof(r.nonce));
	r.created = FUZZ_NOW;
	if (vf_guard_request_format(&r, req, VF_GUARD_TEXT_MAX)) {
		fprintf(stderr, "cannot make a request\n");
		exit(1);
	}
}

/* A token for op by the fuzz key, through the real approve path. */
static void token_for(const char *keyfile, const char *op, char *tok)
{
	struct vf_guard_request r;
	char req[VF_GUARD_TEXT_MAX], sum[VF_GUARD_SUMMARY_MAX], err[256];

	memset(&r, 0, sizeof(r));
	memcpy(r.vault_id, FUZZ_VAULT, sizeof(r.vault_id));
	snprintf(r.op, sizeof(r.op), "%s", op);
	vf_guard_params_hash(FUZZ_PARAMS, r.params_hash);
	vf_guard_params_text(FUZZ_PARAMS, r.params);
	memset(r.nonce, 0x77, sizeof(r.nonce));
	r.created = FUZZ_NOW;
	if (vf_guard_request_format(&r, req, sizeof(req)) ||
	    vf_guard_approve(keyfile, req, 3600 * VF_NS, FUZZ_NOW, tok,
			     VF_GUARD_TEXT_MAX, sum, sizeof(sum), err,
			     sizeof(err))) {
		fprintf(stderr, "cannot make a token: %s\n", err);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	uint8_t pk[VF_GUARD_PK_BYTES], sk[crypto_sign_SECRETKEYBYTES];
	/* mkstemp's template: six 'X' put in at run time */
	char keyfile[] = "/tmp/fuzz-token-key.______";
	char tok[VF_GUARD_TEXT_MAX], buf[2048], line[256], longp[300];
	struct vf_guard_request r;
	int fd;

	memset(keyfile + sizeof(keyfile) - 7, 'X', 6);
	if (argc != 2 || sodium_init() < 0) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	crypto_sign_seed_keypair(pk, sk, FUZZ_SEED);
	fd = mkstemp(keyfile); /* mode 0600 */
	snprintf(line, sizeof(line), "vaultfs-guard-key-1 ");
	sodium_bin2base64(line + 20, sizeof(line) - 20, sk, sizeof(sk),
			  sodium_base64_VARIANT_ORIGINAL);
	if (fd < 0 || dprintf(fd, "%s\n", line) < 0 || close(fd) < 0)
		return 1;

	token_for(keyfile, "softdelete.days", tok);
	save(argv[1], "token-valid", tok);
	snprintf(buf, sizeof(buf), " \t%s\r\n", tok);
	save(argv[1], "token-blanks", buf);
	snprintf(buf, sizeof(buf), "%.*s", (int)strlen(tok) - 5, tok);
	save(argv[1], "token-truncated", buf);
	snprintf(buf, sizeof(buf), "vfreq2:%s", tok + 7);
	save(argv[1], "token-as-request", buf);
	snprintf(buf, sizeof(buf), "vftok1:%s", tok + 7);
	save(argv[1], "token-v1-prefix", buf);
	memset(line, 'z', VF_GUARD_OP_MAX);
	line[VF_GUARD_OP_MAX] = '\0';
	memcpy(line + 8, ".-_09", 5);
	token_for(keyfile, line, tok);
	save(argv[1], "token-op-64", tok);

	memset(&r, 0, sizeof(r));
	memcpy(r.vault_id, FUZZ_VAULT, sizeof(r.vault_id));
	snprintf(r.op, sizeof(r.op), "guard.detach");
	vf_guard_params_hash("", r.params_hash);
	r.created = FUZZ_NOW;
	if (vf_guard_request_format(&r, buf, sizeof(buf)))
		return 1;
	save(argv[1], "request-valid", buf);
	request_for("softdelete.purge", "path=a/b", buf);
	save(argv[1], "request-params", buf);
	request_for("softdelete.purge", "path=a\nb\\c\x7f", buf);
	save(argv[1], "request-params-escaped", buf);
	memset(longp, 'x', sizeof(longp) - 1);
	memcpy(longp, "path=", 5);
	longp[sizeof(longp) - 1] = '\0';
	request_for("softdelete.purge", longp, buf);
	save(argv[1], "request-params-cut", buf);
	/* the text of "path=a/b" made "path=a/c": parses, does not verify */
	request_for("softdelete.purge", "path=a/b", tok);
	{
		uint8_t bin[VF_GUARD_BIN_MAX];
		size_t n = 0;

		if (sodium_base642bin(bin, sizeof(bin), tok + 7,
				      strlen(tok + 7), NULL, &n, NULL,
				      sodium_base64_VARIANT_URLSAFE_NO_PADDING) ||
		    n < 18 + 16 + 32 + 2 + 8)
			return 1;
		bin[18 + 16 + 32 + 2 + 7] = 'c';
		memcpy(buf, "vfreq2:", 7);
		sodium_bin2base64(buf + 7, sizeof(buf) - 7, bin, n,
				  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		save(argv[1], "request-tampered", buf);
	}

	snprintf(buf, sizeof(buf), "vfguard1:");
	sodium_bin2base64(buf + 9, sizeof(buf) - 9, pk, sizeof(pk),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	save(argv[1], "pubkey-valid", buf);

	save(argv[1], "empty", "");
	save(argv[1], "garbage", "vftok2:!!not*base64??");
	memset(buf, 'A', sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	memcpy(buf, "vftok2:", 7);
	save(argv[1], "long", buf);
	save(argv[1], "padding", "vfreq2:AQ==");

	unlink(keyfile);
	sodium_memzero(sk, sizeof(sk));
	return 0;
}
#endif
