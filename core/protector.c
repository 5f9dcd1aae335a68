/*
 * protector.c - the vault header and the protectors that wrap the master
 * key (design and formats for users: docs/keys.md).
 *
 * VAULT/vault.hdr, format 2, little-endian:
 *
 *   offset size  field
 *        0    8  magic "VAULTFS\0"
 *        8    4  u32 format version, 2
 *       12   16  vault id (random)
 *       28    4  u32 N, the number of protectors (1..VF_PROTECTOR_MAX)
 *       32    4  u32 reserved, 0
 *       36  128  N protector entries, each:
 *                  0  4  u32 kind (enum vf_protector_kind)
 *                  4  4  u32 flags: bit 0 = wrapped under format 1's
 *                        associated data (a format-1 header's protector
 *                        carried over); other bits 0
 *                  8  8  u64 protector id (random; never 0)
 *                 16  8  i64 when it was added, s since the epoch (0:
 *                        carried over from format 1)
 *                 24  8  u64 Argon2id opslimit (passphrase, else 0)
 *                 32  8  u64 Argon2id memlimit, bytes (passphrase, else 0)
 *                 40 16  Argon2id salt (passphrase, else zero)
 *                 56 72  wrapped master key: vf_crypto_seal(KEK, ad,
 *                        master key) = nonce(24) || ciphertext(32) ||
 *                        tag(16); ad = header bytes [0, 12) || vault id
 *                        || entry bytes [0, 56) (84 bytes), or with flag
 *                        bit 0 the 64 bytes a format-1 header had before
 *                        its wrapped key (rebuilt from the entry)
 *   36+128N  32  MAC: keyed BLAKE2b-256 over every byte before it, key
 *                crypto_kdf_derive_from_key(id 1, "vfhdrmac", master)
 *
 * An entry's wrapped copy binds only its own fields, so copies move
 * between headers unchanged and adding or removing one needs no other
 * protector's key; the MAC, which only the master key can make, binds
 * the whole file, so a flipped byte anywhere (another entry's wrapped
 * copy, the count, an id) is refused once the master key is known.
 *
 * Format 1 (136 bytes, still read): magic, u32 1, vault id, u32 kind,
 * u64 ops, u64 mem, salt(16), then the wrapped master key sealed with
 * the 64 bytes before it as associated data.  It has no MAC.  The first
 * edit writes format 2 with the old protector carried over (flag bit 0).
 *
 * The key-encryption key (KEK) comes from:
 *   platform:    32 random bytes in KEYSTORE/<vault-id-hex>.key (mode 0600,
 *                in a 0700 directory outside the vault), so the vault
 *                directory alone decrypts nothing; a rotation writes the
 *                new key as <id>.key.new first, which unlock also tries;
 *   key file:    BLAKE2b-256 of the whole file (at least 32 bytes);
 *   key command: BLAKE2b-256 of the stdout of /bin/sh -c CMD (at least 32
 *                bytes; the command must exit 0);
 *   passphrase:  Argon2id13 over the first line of the passphrase (file or
 *                terminal) with the entry's salt, opslimit and memlimit;
 *   recovery:    keyed BLAKE2b-256 (key: the 32 random bytes of the
 *                recovery key) of "vaultfs recovery key"; a key file that
 *                is a recovery key's text is read as one.
 *
 * Recovery key text: lines starting with '#' are comments; the rest,
 * without blanks and '-', is "VFRK" then 56 characters of Crockford's
 * base32 (0-9 A-Z without I L O U; read case-blind, with O as 0 and I, L
 * as 1): 35 bytes, the 32-byte key then the first 3 bytes of BLAKE2b-256
 * ("vaultfs recovery checksum" || key), most significant bit first.
 *
 * Invariants: the master key, the KEKs and everything they derive from
 * (passphrase, key file contents, recovery keys) live only in
 * sodium_malloc'd memory and are wiped on every path; no message ever
 * contains them.  Files are published durably (temporary file, fsync,
 * rename, fsync directory) and unlocking never writes anything.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "protector_int.h"

VF_PRINTF(3, 4) void vf_prot_seterr(char *err, size_t errlen, const char *fmt,
				    ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void put32(uint8_t *p, uint32_t v)
{
	int i;

	for (i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* What each protector kind is called in messages; hint names the
 * options by their stem, spelled per program by opt_hint. */
static const struct kind_text {
	const char *word; /* key list, key add */
	const char *name; /* "vault is protected by NAME" */
	const char *hint; /* how to give that protector */
	const char *wrong; /* the KEK does not open the header */
} kind_texts[] = {
	[VF_PROT_PLATFORM] = { "platform", "the platform keystore",
			       "none of passphrase-file, key-file, key-command",
			       "platform key does not open this vault" },
	[VF_PROT_KEY_FILE] = { "key-file", "a key file", "key-file",
			       "wrong key file" },
	[VF_PROT_KEY_COMMAND] = { "key-command", "a key command",
				  "key-command",
				  "wrong key from key command" },
	[VF_PROT_PASSPHRASE] = { "passphrase", "a passphrase",
				 "passphrase-file",
				 "wrong passphrase" },
	[VF_PROT_RECOVERY] = { "recovery", "a recovery key",
			       "key-file",
			       "wrong recovery key" },
};

static int kind_valid(uint32_t kind)
{
	return kind >= VF_PROT_PLATFORM && kind <= VF_PROT_RECOVERY;
}

static const struct kind_text *kind_text(uint32_t kind)
{
	if (!kind_valid(kind))
		kind = VF_PROT_PASSPHRASE;
	return &kind_texts[kind];
}

/* "give --key-file" (vaultctl) or "give -o key_file=" (mount.vaultfs,
 * o->mount_style): the hint in the words of the program that prints it.
 * hint is one stem or "none of " and stems separated by ", ". */
static void opt_hint(const struct vf_protector_opts *o, const char *hint,
		     char *buf, size_t cap)
{
	const char *p = hint;
	size_t n, len, i;

	if (!strncmp(p, "none of ", 8)) {
		p += 8;
		n = (size_t)snprintf(buf, cap, "give none of %s",
				     o->mount_style ? "-o " : "");
	} else {
		n = (size_t)snprintf(buf, cap, "give %s",
				     o->mount_style ? "-o " : "");
	}
	while (*p && n + 1 < cap) {
		len = strcspn(p, ",");
		if (!o->mount_style && n + 2 < cap) {
			buf[n++] = '-';
			buf[n++] = '-';
		}
		for (i = 0; i < len && n + 1 < cap; i++)
			buf[n++] = o->mount_style && p[i] == '-' ? '_' : p[i];
		if (o->mount_style && n + 1 < cap)
			buf[n++] = '=';
		p += len;
		for (; (*p == ',' || *p == ' ') && n + 1 < cap; p++)
			buf[n++] = *p;
	}
	buf[n < cap ? n : cap - 1] = '\0';
}

const char *vf_protector_kind_name(uint32_t kind)
{
	return kind_valid(kind) ? kind_texts[kind].word : "?";
}

int vf_protector_kind_parse(const char *name, uint32_t *kind)
{
	uint32_t k;

	for (k = VF_PROT_PLATFORM; k <= VF_PROT_RECOVERY; k++)
		if (!strcmp(name, kind_texts[k].word)) {
			*kind = k;
			return 0;
		}
	return -EINVAL;
}

int vf_protector_is_platform(const struct vf_protector_opts *o)
{
	return !o->passphrase_file && !o->passphrase && !o->key_file &&
	       !o->key_command && !o->key_command_file;
}

/* Picks the protector kind from the options; -EINVAL when two are given.
 * A key file may turn out to be a recovery key (unlock reads it). */
static int opts_kind(const struct vf_protector_opts *o, uint32_t *kind,
		     char *err, size_t errlen)
{
	int n = !!o->passphrase_file + !!o->passphrase + !!o->key_file +
		!!o->key_command + !!o->key_command_file;

	if (n > 1) {
		vf_prot_seterr(err, errlen,
			       "choose one of --passphrase-file, --key-file, --key-command, --key-command-file");
		return -EINVAL;
	}
	if (o->passphrase_file || o->passphrase)
		*kind = VF_PROT_PASSPHRASE;
	else if (o->key_file)
		*kind = VF_PROT_KEY_FILE;
	else if (o->key_command || o->key_command_file)
		*kind = VF_PROT_KEY_COMMAND;
	else
		*kind = VF_PROT_PLATFORM;
	return 0;
}

/* ---- the header --------------------------------------------------------- */

/* The associated data e's wrapped copy is sealed with, into ad (at least
 * V2_AD_BYTES); returns its length. */
static size_t entry_ad(const uint8_t vid[VF_VAULT_ID_BYTES],
		       const struct entry *e, uint8_t ad[V2_AD_BYTES])
{
	uint8_t *f;

	memset(ad, 0, V2_AD_BYTES);
	memcpy(ad, HDR_MAGIC, 8);
	memcpy(ad + HDR_OFF_ID, vid, VF_VAULT_ID_BYTES);
	if (e->flags & FLAG_V1) {
		put32(ad + HDR_OFF_VERSION, 1);
		put32(ad + V1_OFF_KIND, e->kind);
		put64(ad + V1_OFF_OPS, e->ops);
		put64(ad + V1_OFF_MEM, e->mem);
		memcpy(ad + V1_OFF_SALT, e->salt, 16);
		return V1_AD_BYTES;
	}
	put32(ad + HDR_OFF_VERSION, 2);
	f = ad + 28;
	put32(f, e->kind);
	put32(f + 4, e->flags);
	put64(f + 8, e->id);
	put64(f + 16, (uint64_t)e->added);
	put64(f + 24, e->ops);
	put64(f + 32, e->mem);
	memcpy(f + 40, e->salt, 16);
	return V2_AD_BYTES;
}

static void header_mac_key(const uint8_t *master, uint8_t key[MAC_BYTES])
{
	crypto_kdf_derive_from_key(key, MAC_BYTES, 1, "vfhdrmac", master);
}

/* Format 2 bytes of h into out (HDR_FILE_MAX); returns the length. */
size_t vf_prot_header_encode(const struct header *h, const uint8_t *master,
			     uint8_t *out)
{
	uint8_t key[MAC_BYTES], ad[V2_AD_BYTES];
	size_t off = V2_FIXED;
	uint32_t i;

	memset(out, 0, HDR_FILE_MAX);
	memcpy(out, HDR_MAGIC, 8);
	put32(out + HDR_OFF_VERSION, 2);
	memcpy(out + HDR_OFF_ID, h->id, VF_VAULT_ID_BYTES);
	put32(out + V2_OFF_COUNT, h->n);
	for (i = 0; i < h->n; i++, off += ENT_BYTES) {
		struct entry e = h->e[i];

		/* the fields as a format-2 entry carries them; the wrap's
		 * own associated data may be format 1's */
		e.flags &= ~FLAG_V1;
		entry_ad(h->id, &e, ad);
		memcpy(out + off, ad + 28, ENT_FIELDS);
		put32(out + off + 4, h->e[i].flags);
		memcpy(out + off + ENT_FIELDS, h->e[i].wrap, HDR_WRAP_BYTES);
	}
	header_mac_key(master, key);
	crypto_generichash(out + off, MAC_BYTES, out, off, key, MAC_BYTES);
	sodium_memzero(key, sizeof(key));
	return off + MAC_BYTES;
}

static int entry_fields_ok(const struct entry *e)
{
	if (!kind_valid(e->kind))
		return 0;
	if (e->kind != VF_PROT_PASSPHRASE)
		return 1;
	return vf_passphrase_params_ok(e->ops, e->mem);
}

/* A format-1 protector's id: stable across reads (from its wrapped copy),
 * so `key remove` can name it before the first upgrade. */
static uint64_t v1_id(const uint8_t wrap[HDR_WRAP_BYTES])
{
	uint8_t h[8];

	crypto_generichash(h, sizeof(h), wrap, HDR_WRAP_BYTES, NULL, 0);
	return get64(h) | 1;
}

/* Reads and checks the header's plain fields (not the wrapped keys, not
 * the MAC). */
int vf_prot_header_read(const char *vault_dir, struct header *h, char *err,
			size_t errlen)
{
	char path[4096];
	size_t got = 0, off;
	uint8_t *r = h->raw;
	uint32_t i;
	int rc;

	memset(h, 0, sizeof(*h));
	rc = vf_prot_join(path, sizeof(path), vault_dir, VF_HEADER_NAME);
	if (rc) {
		vf_prot_seterr(err, errlen, "vault path too long: %s",
			       vault_dir);
		return rc;
	}
	rc = vf_prot_read_small(path, r, sizeof(h->raw), &got);
	if (rc == -ENOENT || rc == -ENOTDIR) {
		vf_prot_seterr(err, errlen, "not a vault: %s has no %s",
			       vault_dir, VF_HEADER_NAME);
		return -ENOENT;
	}
	if (rc) {
		vf_prot_seterr(err, errlen, "cannot read vault header '%s': %s",
			       path, strerror(-rc));
		return rc;
	}
	h->rawlen = got;
	if (got < HDR_OFF_ID || memcmp(r, HDR_MAGIC, 8) != 0)
		goto corrupt;
	h->version = get32(r + HDR_OFF_VERSION);
	if (h->version != 1 && h->version != 2) {
		vf_prot_seterr(err, errlen,
			       "unsupported vault format %u (this build reads 1 and %d)",
			       h->version, VF_FORMAT_VERSION);
		return -EPROTO;
	}
	if (got < HDR_OFF_ID + VF_VAULT_ID_BYTES)
		goto corrupt;
	memcpy(h->id, r + HDR_OFF_ID, VF_VAULT_ID_BYTES);
	if (h->version == 1) {
		struct entry *e = &h->e[0];

		if (got != V1_BYTES)
			goto corrupt;
		h->n = 1;
		e->kind = get32(r + V1_OFF_KIND);
		e->flags = FLAG_V1;
		e->ops = get64(r + V1_OFF_OPS);
		e->mem = get64(r + V1_OFF_MEM);
		memcpy(e->salt, r + V1_OFF_SALT, 16);
		memcpy(e->wrap, r + V1_AD_BYTES, HDR_WRAP_BYTES);
		e->id = v1_id(e->wrap);
		/* format 1 knew four kinds */
		if (e->kind > VF_PROT_PASSPHRASE || !entry_fields_ok(e))
			goto corrupt;
		return 0;
	}
	if (got < V2_FIXED)
		goto corrupt;
	h->n = get32(r + V2_OFF_COUNT);
	if (h->n < 1 || h->n > VF_PROTECTOR_MAX ||
	    got != V2_FIXED + (size_t)h->n * ENT_BYTES + MAC_BYTES ||
	    get32(r + 32) != 0)
		goto corrupt;
	for (i = 0, off = V2_FIXED; i < h->n; i++, off += ENT_BYTES) {
		struct entry *e = &h->e[i];

		e->kind = get32(r + off);
		e->flags = get32(r + off + 4);
		e->id = get64(r + off + 8);
		e->added = (int64_t)get64(r + off + 16);
		e->ops = get64(r + off + 24);
		e->mem = get64(r + off + 32);
		memcpy(e->salt, r + off + 40, 16);
		memcpy(e->wrap, r + off + ENT_FIELDS, HDR_WRAP_BYTES);
		if ((e->flags & ~FLAG_V1) || !e->id || !entry_fields_ok(e))
			goto corrupt;
	}
	return 0;
corrupt:
	vf_prot_seterr(err, errlen, "corrupt vault header: %s", path);
	return -EIO;
}

/* 0 when h (as read) carries a MAC that the master key made, or is
 * format 1 (no MAC); -EBADMSG otherwise. */
int vf_prot_header_verify(const struct header *h, const uint8_t *master)
{
	uint8_t key[MAC_BYTES], mac[MAC_BYTES];
	size_t len;
	int rc;

	if (h->version == 1)
		return 0;
	len = h->rawlen - MAC_BYTES;
	header_mac_key(master, key);
	crypto_generichash(mac, sizeof(mac), h->raw, len, key, sizeof(key));
	rc = sodium_memcmp(mac, h->raw + len, MAC_BYTES) ? -EBADMSG : 0;
	sodium_memzero(key, sizeof(key));
	return rc;
}

/* Opens e's wrapped copy with kek into master: 0 or -EBADMSG. */
int vf_prot_entry_open(const struct header *h, const struct entry *e,
		       const uint8_t *kek, uint8_t *master)
{
	uint8_t ad[V2_AD_BYTES];
	size_t adlen = entry_ad(h->id, e, ad);

	return vf_crypto_open(kek, ad, adlen, e->wrap, HDR_WRAP_BYTES, master);
}

/* Fills a new entry of kind for master under kek (salt, ops, mem as
 * given; a fresh id that no entry of h has). */
void vf_prot_entry_make(const struct header *h, struct entry *e, uint32_t kind,
			const uint8_t *kek, const uint8_t *master,
			const uint8_t salt[16], uint64_t ops, uint64_t mem,
			int64_t now_s)
{
	uint8_t ad[V2_AD_BYTES];
	size_t adlen;
	uint32_t i;

	memset(e, 0, sizeof(*e));
	e->kind = kind;
again:
	randombytes_buf(&e->id, sizeof(e->id));
	if (!e->id)
		goto again;
	for (i = 0; i < h->n; i++)
		if (h->e[i].id == e->id)
			goto again;
	e->added = now_s;
	e->ops = ops;
	e->mem = mem;
	if (salt)
		memcpy(e->salt, salt, 16);
	adlen = entry_ad(h->id, e, ad);
	vf_crypto_seal(kek, ad, adlen, master, VF_KEY_BYTES, e->wrap);
}

void vf_prot_info_of(const struct entry *e, struct vf_protector_info *out)
{
	memset(out, 0, sizeof(*out));
	out->kind = e->kind;
	out->id = e->id;
	out->added = e->added * VF_NS;
	out->ops = e->ops;
	out->mem = e->mem;
}

/* ---- create, unlock ----------------------------------------------------- */

/* "the platform keystore or a recovery key": the kinds h holds. */
static void kinds_text(const struct header *h, char *buf, size_t cap)
{
	unsigned seen = 0, n = 0, total = 0;
	uint32_t i, k;
	size_t len = 0;

	for (i = 0; i < h->n; i++)
		if (!(seen & 1u << h->e[i].kind)) {
			seen |= 1u << h->e[i].kind;
			total++;
		}
	buf[0] = '\0';
	for (k = VF_PROT_PLATFORM; k <= VF_PROT_RECOVERY; k++) {
		if (!(seen & 1u << k))
			continue;
		n++;
		snprintf(buf + len, cap - len, "%s%s",
			 n == 1 ? "" : n == total ? " or " : ", ",
			 kind_texts[k].name);
		len = strlen(buf);
	}
}

/* The first entry of kind in h at or after *from, or NULL. */
const struct entry *vf_prot_next_of(const struct header *h, uint32_t kind,
				    uint32_t *from)
{
	for (; *from < h->n; (*from)++)
		if (h->e[*from].kind == kind)
			return &h->e[(*from)++];
	return NULL;
}

/* Tries every entry of kind with kek; 0 and master on the first that
 * opens, -EBADMSG when none does. */
static int open_any(const struct header *h, uint32_t kind, const uint8_t *kek,
		    uint8_t *master)
{
	const struct entry *e;
	uint32_t at = 0;

	while ((e = vf_prot_next_of(h, kind, &at)))
		if (!vf_prot_entry_open(h, e, kek, master))
			return 0;
	return -EBADMSG;
}

/* Unwraps the master key of h with what o gives; *kind gets the kind
 * that opened it.  One line in err. */
static int unwrap(const struct header *h, const struct vf_protector_opts *o,
		  uint8_t *kek, uint8_t *master, uint32_t *kind, char *err,
		  size_t errlen)
{
	const char *keystore = o->keystore ? o->keystore : VF_KEYSTORE_DEFAULT;
	const struct entry *e;
	char *cmd = NULL, *pass = NULL;
	char kinds[160];
	uint32_t at = 0;
	size_t plen = 0;
	int rc, recovery = 0;

	rc = opts_kind(o, kind, err, errlen);
	if (rc)
		return rc;
	if (*kind == VF_PROT_KEY_FILE) {
		rc = vf_prot_kek_key_file(o->key_file, kek, &recovery, err,
					  errlen);
		if (rc)
			return rc;
		if (recovery)
			*kind = VF_PROT_RECOVERY;
	}
	if (!vf_prot_next_of(h, *kind, &at)) {
		char hint[160];

		kinds_text(h, kinds, sizeof(kinds));
		opt_hint(o, kind_text(h->e[0].kind)->hint, hint, sizeof(hint));
		vf_prot_seterr(err, errlen, "vault is protected by %s; %s",
			       kinds, hint);
		return -EINVAL;
	}
	switch (*kind) {
	case VF_PROT_PASSPHRASE:
		if (o->passphrase) {
			pass = (char *)o->passphrase;
			plen = o->passphrase_len;
		} else {
			rc = vf_prot_read_passphrase(o->passphrase_file, &pass,
						     &plen, err, errlen);
			if (rc)
				return rc;
		}
		rc = -EBADMSG;
		at = 0;
		while (rc == -EBADMSG && (e = vf_prot_next_of(h, *kind, &at))) {
			rc = vf_prot_kek_passphrase(pass, plen, e->salt, e->ops,
						    e->mem, kek, err, errlen);
			if (!rc)
				rc = vf_prot_entry_open(h, e, kek, master);
		}
		if (pass != o->passphrase) {
			sodium_memzero(pass, PASS_MAX + 1);
			sodium_free(pass);
		}
		break;
	case VF_PROT_KEY_COMMAND:
		rc = vf_prot_key_command_of(o, &cmd, err, errlen);
		if (!rc)
			rc = vf_prot_kek_key_command(cmd, kek, err, errlen);
		if (cmd)
			sodium_free(cmd);
		if (!rc)
			rc = open_any(h, *kind, kek, master);
		break;
	case VF_PROT_PLATFORM:
		rc = vf_prot_kek_platform_read(keystore, h->id, ".key", kek,
					       err, errlen);
		if (!rc)
			rc = open_any(h, *kind, kek, master);
		/* a rotation that stopped between its two renames */
		if (rc &&
		    !vf_prot_kek_platform_read(keystore, h->id, ".key.new", kek,
					       NULL, 0) &&
		    !open_any(h, *kind, kek, master))
			rc = 0;
		break;
	default:
		rc = open_any(h, *kind, kek, master);
		break;
	}
	if (rc == -EBADMSG)
		vf_prot_seterr(err, errlen, "%s", kind_text(*kind)->wrong);
	return rc;
}

int vf_protector_unlock(const char *vault_dir,
			const struct vf_protector_opts *o, struct vf_keys **out,
			char *err, size_t errlen)
{
	struct header *h = NULL;
	uint8_t *kek = NULL, *master = NULL;
	uint32_t kind;
	int rc;

	if (sodium_init() < 0) {
		vf_prot_seterr(err, errlen, "cannot initialise libsodium");
		return -ENOMEM;
	}
	h = malloc(sizeof(*h));
	kek = sodium_malloc(VF_KEY_BYTES);
	master = sodium_malloc(VF_KEY_BYTES);
	if (!h || !kek || !master) {
		rc = -ENOMEM;
		vf_prot_seterr(err, errlen, "out of memory");
		goto out;
	}
	rc = vf_prot_header_read(vault_dir, h, err, errlen);
	if (rc)
		goto out;
	rc = unwrap(h, o, kek, master, &kind, err, errlen);
	if (rc)
		goto out;
	rc = vf_prot_header_verify(h, master);
	if (rc) {
		vf_prot_seterr(err, errlen,
			       "corrupt vault header: %s/%s was altered "
			       "(authentication failed)",
			       vault_dir, VF_HEADER_NAME);
		goto out;
	}
	rc = vf_keys_new(master, h->id, out);
	if (rc)
		vf_prot_seterr(err, errlen, "out of memory");
out:
	if (master)
		sodium_free(master);
	if (kek)
		sodium_free(kek);
	if (h) {
		sodium_memzero(h, sizeof(*h));
		free(h);
	}
	return rc;
}

/* Writes KEYSTORE/<id><suffix> (0600) holding key, the keystore made
 * first when missing; replaces an existing file when replace. */
int vf_prot_keystore_write(const char *keystore,
			   const uint8_t id[VF_VAULT_ID_BYTES],
			   const char *suffix, const uint8_t *key, int replace,
			   char *err, size_t errlen)
{
	char name[VF_VAULT_ID_BYTES * 2 + 16], tmp[4096];
	int rc;

	rc = vf_prot_keystore_name(name, sizeof(name), id, suffix);
	if (!rc)
		rc = vf_prot_make_keystore_dir(keystore);
	if (rc) {
		vf_prot_seterr(err, errlen, "cannot create keystore '%s': %s",
			       keystore, strerror(-rc));
		return rc;
	}
	rc = vf_prot_write_temp(keystore, name, key, VF_KEY_BYTES, 0600, tmp,
				sizeof(tmp));
	if (!rc)
		rc = vf_prot_publish(tmp, keystore, name, replace);
	if (rc)
		vf_prot_seterr(err, errlen,
			       "cannot write keystore key '%s/%s': %s",
			       keystore, name, strerror(-rc));
	return rc;
}

int vf_protector_describe(const char *vault_dir,
			  const struct vf_protector_opts *o,
			  char id[2 * VF_VAULT_ID_BYTES + 1], char *where,
			  size_t cap)
{
	struct header *h = malloc(sizeof(struct header));
	char path[4096], err[256];
	int rc;

	if (!h)
		return -ENOMEM;
	rc = vf_prot_header_read(vault_dir, h, err, sizeof(err));
	if (rc)
		goto out;
	sodium_bin2hex(id, 2 * VF_VAULT_ID_BYTES + 1, h->id,
		       VF_VAULT_ID_BYTES);
	switch (h->e[0].kind) {
	case VF_PROT_PASSPHRASE:
		snprintf(where, cap, "the passphrase (as given %s%s)",
			 o->passphrase_file ? "in " : "on the terminal",
			 o->passphrase_file ? o->passphrase_file : "");
		break;
	case VF_PROT_KEY_FILE:
	case VF_PROT_RECOVERY:
		snprintf(where, cap, "the key file %s",
			 o->key_file ? o->key_file : "given at init");
		break;
	case VF_PROT_KEY_COMMAND:
		snprintf(where, cap, "what the key command prints%s%s",
			 o->key_command_file ? ", named in " : "",
			 o->key_command_file ? o->key_command_file : "");
		break;
	default:
		rc = vf_prot_keystore_path(path, sizeof(path),
					   o->keystore ? o->keystore :
						 VF_KEYSTORE_DEFAULT,
				   h->id, ".key");
		if (rc)
			goto out;
		snprintf(where, cap, "the platform key file %s", path);
		break;
	}
out:
	free(h);
	return rc;
}

int vf_protector_is_vault(const char *vault_dir)
{
	char path[4096];
	struct stat st;

	if (vf_prot_join(path, sizeof(path), vault_dir, VF_HEADER_NAME))
		return 0;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int vf_protector_create(const char *vault_dir,
			const struct vf_protector_opts *o, struct vf_keys **out,
			char *err, size_t errlen)
{
	const char *keystore = o->keystore ? o->keystore : VF_KEYSTORE_DEFAULT;
	char hdrpath[4096], keypath[4096] = "";
	struct vf_keys *keys = NULL;
	struct header *h = NULL;
	uint8_t *kek = NULL, *bytes = NULL;
	char *cmd = NULL, *pass = NULL;
	uint8_t salt[16] = { 0 };
	uint64_t ops = 0, mem = 0;
	size_t plen = 0, len;
	uint32_t kind;
	struct stat st;
	int rc, recovery = 0;

	if (sodium_init() < 0) {
		vf_prot_seterr(err, errlen, "cannot initialise libsodium");
		return -ENOMEM;
	}
	rc = opts_kind(o, &kind, err, errlen);
	if (rc)
		return rc;
	if (stat(vault_dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		rc = stat(vault_dir, &st) < 0 ? -errno : -ENOTDIR;
		vf_prot_seterr(err, errlen,
			       "cannot use vault directory '%s': %s", vault_dir,
			       strerror(-rc));
		return rc;
	}
	rc = vf_prot_join(hdrpath, sizeof(hdrpath), vault_dir, VF_HEADER_NAME);
	if (rc) {
		vf_prot_seterr(err, errlen, "vault path too long: %s",
			       vault_dir);
		return rc;
	}
	if (lstat(hdrpath, &st) == 0) {
		vf_prot_seterr(err, errlen, "vault already exists: %s",
			       vault_dir);
		return -EEXIST;
	}
	h = calloc(1, sizeof(*h));
	bytes = malloc(HDR_FILE_MAX);
	kek = sodium_malloc(VF_KEY_BYTES);
	if (!h || !bytes || !kek) {
		rc = -ENOMEM;
		vf_prot_seterr(err, errlen, "out of memory");
		goto fail;
	}
	rc = vf_keys_generate(&keys);
	if (rc) {
		vf_prot_seterr(err, errlen, "out of memory");
		goto fail;
	}
	memcpy(h->id, vf_keys_vault_id(keys), VF_VAULT_ID_BYTES);
	switch (kind) {
	case VF_PROT_PASSPHRASE:
		ops = VF_PASSPHRASE_OPS;
		mem = VF_PASSPHRASE_MEM;
		randombytes_buf(salt, sizeof(salt));
		if (o->passphrase) {
			rc = o->passphrase_len ? 0 : -EINVAL;
			if (rc)
				vf_prot_seterr(err, errlen, "empty passphrase");
			else
				rc = vf_prot_kek_passphrase(o->passphrase,
							    o->passphrase_len, salt,
							    ops, mem, kek, err, errlen);
			break;
		}
		rc = vf_prot_read_passphrase(o->passphrase_file, &pass, &plen,
					     err, errlen);
		if (!rc)
			rc = vf_prot_kek_passphrase(pass, plen, salt, ops, mem,
						    kek, err, errlen);
		break;
	case VF_PROT_KEY_FILE:
		rc = vf_prot_kek_key_file(o->key_file, kek, &recovery, err,
					  errlen);
		if (recovery)
			kind = VF_PROT_RECOVERY;
		break;
	case VF_PROT_KEY_COMMAND:
		rc = vf_prot_key_command_of(o, &cmd, err, errlen);
		if (!rc)
			rc = vf_prot_kek_key_command(cmd, kek, err, errlen);
		break;
	default:
		randombytes_buf(kek, VF_KEY_BYTES);
		rc = vf_prot_keystore_path(keypath, sizeof(keypath), keystore,
					   h->id, ".key");
		if (rc)
			vf_prot_seterr(err, errlen,
				       "keystore path too long: %s", keystore);
		else
			rc = vf_prot_keystore_write(keystore, h->id, ".key",
						    kek, 0, err, errlen);
		if (rc)
			keypath[0] = '\0';
		break;
	}
	if (rc)
		goto fail;
	vf_prot_entry_make(h, &h->e[0], kind, kek, vf_keys_master(keys), salt,
			   ops, mem, vf_clock_now() / VF_NS);
	h->n = 1;
	len = vf_prot_header_encode(h, vf_keys_master(keys), bytes);
	rc = vf_prot_write_durable(vault_dir, VF_HEADER_NAME, bytes, len, 0600);
	if (rc == -EEXIST) {
		vf_prot_seterr(err, errlen, "vault already exists: %s",
			       vault_dir);
		goto fail;
	}
	if (rc) {
		vf_prot_seterr(err, errlen,
			       "cannot write vault header '%s': %s", hdrpath,
			       strerror(-rc));
		goto fail;
	}
	*out = keys;
	keys = NULL;
	goto out;

fail:
	/* Nothing half-written: a platform key without its header goes. */
	if (keypath[0]) {
		unlink(keypath);
		vf_prot_fsync_dir(keystore);
	}
out:
	if (cmd)
		sodium_free(cmd);
	if (pass) {
		sodium_memzero(pass, PASS_MAX + 1);
		sodium_free(pass);
	}
	vf_keys_free(keys);
	if (kek)
		sodium_free(kek);
	free(bytes);
	free(h);
	return rc;
}
