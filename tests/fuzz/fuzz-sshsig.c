/*
 * fuzz-sshsig.c - fuzz target for OpenSSH keys and SSHSIG signatures
 * (core/sshsig.c), the text a guard holder hands back from
 * "ssh-keygen -Y sign -n vaultfs".
 *
 * The input is "MESSAGE\0ARMOR": the bytes before the first NUL are the
 * signed message and the rest is the armored signature; an input without
 * a NUL is all armor, over an empty message.  The armor goes to
 * vf_sshsig_parse; what parses is checked for its invariants (fields
 * NUL-terminated and within bounds, a known key type), parsed again to
 * the same result, its key formatted and parsed back to the same key,
 * then verified over the message: 0, or -EPERM with one non-empty line.
 * The armor, cut at its first NUL, is also handed to vf_sshkey_parse as
 * a key line.  Nothing here may crash, leak or read out of bounds; a
 * broken invariant aborts.
 *
 * The corpus (tests/fuzz/corpus/sshsig/) holds real signatures made by
 * ssh-keygen over their message, so verification is reached, and
 * truncated, mangled and foreign ones (another namespace, a wrong
 * message, a flipped signature byte, no armor).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sshsig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_key(const struct vf_sshkey *k)
{
	char text[VF_SSHKEY_TEXT_MAX];
	struct vf_sshkey back;

	if (k->type != VF_SSHKEY_ED25519 && k->type != VF_SSHKEY_SK_ED25519)
		abort();
	if (strnlen(k->app, sizeof(k->app)) >= sizeof(k->app))
		abort();
	if (k->type == VF_SSHKEY_ED25519 && k->app[0])
		abort();
	/* a parsed key formats, and the text parses back to the same key */
	if (vf_sshkey_format(k, text, sizeof(text)))
		abort();
	memset(&back, 0, sizeof(back));
	if (vf_sshkey_parse(text, &back) || !vf_sshkey_equal(k, &back))
		abort();
}

static void check_sig(const struct vf_sshsig *s, const char *armor,
		      size_t alen, const uint8_t *msg, size_t mlen)
{
	struct vf_sshsig again;
	char why[256];
	int rc;

	check_key(&s->key);
	if (strnlen(s->ns, sizeof(s->ns)) >= sizeof(s->ns) ||
	    strnlen(s->hash_alg, sizeof(s->hash_alg)) >= sizeof(s->hash_alg) ||
	    s->reserved_len > sizeof(s->reserved))
		abort();
	/* parsing is a function of the text alone */
	memset(&again, 0, sizeof(again));
	if (vf_sshsig_parse(armor, alen, &again) ||
	    memcmp(&again.key, &s->key, sizeof(s->key)) ||
	    strcmp(again.ns, s->ns) || strcmp(again.hash_alg, s->hash_alg) ||
	    again.reserved_len != s->reserved_len ||
	    memcmp(again.reserved, s->reserved, s->reserved_len) ||
	    memcmp(again.sig, s->sig, sizeof(s->sig)) ||
	    again.flags != s->flags || again.counter != s->counter)
		abort();
	why[0] = '\0';
	rc = vf_sshsig_verify(s, msg, mlen, why, sizeof(why));
	if (rc != 0 && rc != -EPERM)
		abort();
	if (rc == -EPERM && (!why[0] || strchr(why, '\n')))
		abort();
	/* a signature that verifies is in the vaultfs namespace */
	if (rc == 0 && strcmp(s->ns, VF_SSHSIG_NAMESPACE))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size), *msg = data;
	const char *armor = (const char *)data;
	size_t alen = size, mlen = 0;
	struct vf_sshsig s;
	struct vf_sshkey k;
	char line[VF_SSHSIG_ARMOR_MAX + 1];
	size_t n;

	if (nul) {
		mlen = (size_t)(nul - data);
		armor = (const char *)nul + 1;
		alen = size - mlen - 1;
	}
	memset(&s, 0, sizeof(s));
	if (vf_sshsig_parse(armor, alen, &s) == 0)
		check_sig(&s, armor, alen, msg, mlen);

	/* the armor as a key line (a NUL-terminated copy, cut) */
	n = strnlen(armor, alen < sizeof(line) - 1 ? alen : sizeof(line) - 1);
	memcpy(line, armor, n);
	line[n] = '\0';
	memset(&k, 0, sizeof(k));
	if (vf_sshkey_parse(line, &k) == 0)
		check_key(&k);
	return 0;
}
