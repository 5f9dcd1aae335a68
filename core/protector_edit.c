/*
 * protector_edit.c - editing the protectors of an open vault: add,
 * remove, rotate, change a passphrase, then stage and publish the new
 * header (formats at the top of protector.c; docs/keys.md).
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

#include <sodium.h>

#include "protector_int.h"

/* ---- editing the protectors of an open vault ----------------------------- */

struct vf_protector_edit {
	char *dir, *keystore;
	const struct vf_keys *k;
	int64_t now_s;
	struct header h;          /* as read, then edited */
	uint32_t version;         /* of the header read */
	uint8_t *platform_key;    /* a new platform key (sodium_malloc), or
				     NULL */
	int platform_gone;        /* the platform protector was removed */
	char *recovery;           /* text of the new recovery key, or NULL */
	char hdr_tmp[4096];       /* staged header ("" when none) */
	int key_staged;           /* KEYSTORE/<id>.key.new written by us */
};

int vf_protector_edit_begin(const char *dir, const char *keystore,
			    const struct vf_keys *k, int64_t now,
			    struct vf_protector_edit **out, char *err,
			    size_t errlen)
{
	struct vf_protector_edit *e;
	int rc;

	if (sodium_init() < 0) {
		vf_prot_seterr(err, errlen, "cannot initialise libsodium");
		return -ENOMEM;
	}
	e = calloc(1, sizeof(*e));
	if (!e || !(e->dir = strdup(dir)) ||
	    !(e->keystore = strdup(keystore ? keystore : VF_KEYSTORE_DEFAULT))) {
		vf_protector_edit_free(e);
		vf_prot_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	e->k = k;
	e->now_s = now / VF_NS;
	rc = vf_prot_header_read(dir, &e->h, err, errlen);
	if (!rc && memcmp(e->h.id, vf_keys_vault_id(k), VF_VAULT_ID_BYTES)) {
		rc = -EBADMSG;
		vf_prot_seterr(err, errlen,
			       "the vault header in '%s' belongs to another "
			       "vault",
			       dir);
	}
	if (!rc && vf_prot_header_verify(&e->h, vf_keys_master(k))) {
		rc = -EBADMSG;
		vf_prot_seterr(err, errlen,
			       "corrupt vault header: %s/%s was altered "
			       "(authentication failed)",
			       dir, VF_HEADER_NAME);
	}
	if (rc) {
		vf_protector_edit_free(e);
		return rc;
	}
	e->version = e->h.version;
	*out = e;
	return 0;
}

void vf_protector_edit_free(struct vf_protector_edit *e)
{
	char path[4096];

	if (!e)
		return;
	if (e->hdr_tmp[0])
		unlink(e->hdr_tmp);
	if (e->key_staged &&
	    !vf_prot_keystore_path(path, sizeof(path), e->keystore, e->h.id,
				   ".key.new")) {
		unlink(path);
		vf_prot_fsync_dir(e->keystore);
	}
	if (e->platform_key)
		sodium_free(e->platform_key);
	if (e->recovery)
		sodium_free(e->recovery);
	free(e->dir);
	free(e->keystore);
	sodium_memzero(&e->h, sizeof(e->h));
	free(e);
}

size_t vf_protector_edit_list(const struct vf_protector_edit *e,
			      struct vf_protector_info *out, size_t cap)
{
	uint32_t i;

	for (i = 0; i < e->h.n && i < cap; i++)
		vf_prot_info_of(&e->h.e[i], &out[i]);
	return e->h.n;
}

int vf_protector_edit_upgrades(const struct vf_protector_edit *e)
{
	return e->version == 1;
}

const char *vf_protector_edit_recovery(const struct vf_protector_edit *e)
{
	return e->recovery;
}

static uint32_t count_of(const struct header *h, uint32_t kind)
{
	uint32_t i, n = 0;

	for (i = 0; i < h->n; i++)
		n += h->e[i].kind == kind;
	return n;
}

/* Appends an entry of kind wrapping the master key under kek. */
static void append(struct vf_protector_edit *e, uint32_t kind,
		   const uint8_t *kek, const uint8_t salt[16], uint64_t ops,
		   uint64_t mem, struct vf_protector_info *info)
{
	struct entry *n = &e->h.e[e->h.n];

	vf_prot_entry_make(&e->h, n, kind, kek, vf_keys_master(e->k), salt, ops,
			   mem, e->now_s);
	e->h.n++;
	if (info)
		vf_prot_info_of(n, info);
}

/* A new recovery key: its entry and its text. */
static int add_recovery(struct vf_protector_edit *e,
			struct vf_protector_info *info, char *err,
			size_t errlen)
{
	uint8_t *rk = sodium_malloc(2 * VF_KEY_BYTES);
	struct vf_protector_info mine;
	int rc = 0;

	if (!rk) {
		vf_prot_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	randombytes_buf(rk, VF_KEY_BYTES);
	vf_prot_rk_kek(rk, rk + VF_KEY_BYTES);
	append(e, VF_PROT_RECOVERY, rk + VF_KEY_BYTES, NULL, 0, 0, &mine);
	if (e->recovery)
		sodium_free(e->recovery);
	e->recovery = vf_prot_rk_text(rk, e->h.id, mine.id);
	if (!e->recovery) {
		e->h.n--;
		rc = -ENOMEM;
		vf_prot_seterr(err, errlen, "out of memory");
	} else if (info) {
		*info = mine;
	}
	sodium_free(rk);
	return rc;
}

/* A new platform key and its entry. */
static int add_platform(struct vf_protector_edit *e,
			struct vf_protector_info *info, char *err,
			size_t errlen)
{
	if (!e->platform_key)
		e->platform_key = sodium_malloc(VF_KEY_BYTES);
	if (!e->platform_key) {
		vf_prot_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	randombytes_buf(e->platform_key, VF_KEY_BYTES);
	append(e, VF_PROT_PLATFORM, e->platform_key, NULL, 0, 0, info);
	return 0;
}

int vf_protector_edit_add(struct vf_protector_edit *e, uint32_t kind,
			  const uint8_t *secret, size_t len,
			  struct vf_protector_info *info, char *err,
			  size_t errlen)
{
	uint8_t *kek = NULL, salt[16];
	int rc;

	if (e->h.n >= VF_PROTECTOR_MAX) {
		vf_prot_seterr(err, errlen,
			       "the vault has %d protectors already, the "
			       "most it can hold",
			       VF_PROTECTOR_MAX);
		return -ENOSPC;
	}
	switch (kind) {
	case VF_PROT_PLATFORM:
		if (count_of(&e->h, VF_PROT_PLATFORM)) {
			vf_prot_seterr(err, errlen,
				       "the vault has a platform key "
				       "already (key rotate replaces it)");
			return -EEXIST;
		}
		return add_platform(e, info, err, errlen);
	case VF_PROT_RECOVERY:
		return add_recovery(e, info, err, errlen);
	case VF_PROT_KEY_FILE:
	case VF_PROT_KEY_COMMAND:
		if (!secret || len != VF_KEY_BYTES) {
			vf_prot_seterr(err, errlen,
				       "a %s protector needs its 32-byte "
				       "key",
				       vf_protector_kind_name(kind));
			return -EINVAL;
		}
		append(e, kind, secret, NULL, 0, 0, info);
		return 0;
	case VF_PROT_PASSPHRASE:
		if (!secret || !len || len > PASS_MAX) {
			vf_prot_seterr(err, errlen,
				       "a passphrase must have 1 to %d "
				       "bytes",
				       PASS_MAX);
			return -EINVAL;
		}
		kek = sodium_malloc(VF_KEY_BYTES);
		if (!kek) {
			vf_prot_seterr(err, errlen, "out of memory");
			return -ENOMEM;
		}
		randombytes_buf(salt, sizeof(salt));
		rc = vf_prot_kek_passphrase((const char *)secret, len, salt,
					    VF_PASSPHRASE_OPS, VF_PASSPHRASE_MEM, kek,
					    err, errlen);
		if (!rc)
			append(e, kind, kek, salt, VF_PASSPHRASE_OPS,
			       VF_PASSPHRASE_MEM, info);
		sodium_free(kek);
		return rc;
	default:
		vf_prot_seterr(err, errlen, "unknown protector kind %u", kind);
		return -EINVAL;
	}
}

/* Drops entry i. */
static void drop(struct vf_protector_edit *e, uint32_t i)
{
	if (e->h.e[i].kind == VF_PROT_PLATFORM)
		e->platform_gone = 1;
	memmove(&e->h.e[i], &e->h.e[i + 1],
		(e->h.n - i - 1) * sizeof(e->h.e[0]));
	e->h.n--;
}

int vf_protector_edit_remove(struct vf_protector_edit *e, uint64_t id,
			     struct vf_protector_info *info, char *err,
			     size_t errlen)
{
	uint32_t i;

	for (i = 0; i < e->h.n && e->h.e[i].id != id; i++)
		;
	if (i == e->h.n) {
		vf_prot_seterr(err, errlen, "no protector %016llx",
			       (unsigned long long)id);
		return -ENOENT;
	}
	if (e->h.n == 1) {
		vf_prot_seterr(err, errlen,
			       "protector %016llx is the last one: add "
			       "another before removing it",
			       (unsigned long long)id);
		return -EPERM;
	}
	if (info)
		vf_prot_info_of(&e->h.e[i], info);
	drop(e, i);
	return 0;
}

int vf_protector_edit_rotate(struct vf_protector_edit *e, int new_recovery,
			     unsigned *n, char *err, size_t errlen)
{
	uint32_t plat = count_of(&e->h, VF_PROT_PLATFORM);
	uint32_t rec = count_of(&e->h, VF_PROT_RECOVERY), i;
	int rc = 0;

	if (!plat && !rec) {
		vf_prot_seterr(
		    err, errlen,
		    "nothing to rotate: the vault has no "
		    "platform key and no recovery key (a key file, key "
		    "command or passphrase is changed with key add and key "
		    "remove, or passphrase change)");
		return -EINVAL;
	}
	if (rec && !new_recovery) {
		vf_prot_seterr(err, errlen,
			       "the vault has a recovery key: give --out "
			       "FILE for the new one");
		return -EINVAL;
	}
	for (i = e->h.n; i-- > 0;)
		if (e->h.e[i].kind == VF_PROT_PLATFORM ||
		    e->h.e[i].kind == VF_PROT_RECOVERY)
			drop(e, i);
	if (plat)
		rc = add_platform(e, NULL, err, errlen);
	if (!rc && rec)
		rc = add_recovery(e, NULL, err, errlen);
	/* the platform key is replaced, not gone */
	if (plat)
		e->platform_gone = 0;
	if (!rc)
		*n = plat + rec;
	return rc;
}

int vf_protector_edit_passphrase(struct vf_protector_edit *e,
				 const uint8_t *cur, size_t curlen,
				 const uint8_t *next, size_t nextlen,
				 uint64_t *id, char *err, size_t errlen)
{
	struct vf_protector_info info;
	uint8_t *kek = NULL, *master = NULL;
	const struct entry *en;
	uint32_t at = 0;
	int rc = -EBADMSG;

	if (!count_of(&e->h, VF_PROT_PASSPHRASE)) {
		vf_prot_seterr(err, errlen, "the vault has no passphrase");
		return -ENOENT;
	}
	if (!curlen || curlen > PASS_MAX || !nextlen || nextlen > PASS_MAX) {
		vf_prot_seterr(err, errlen,
			       "a passphrase must have 1 to %d bytes",
			       PASS_MAX);
		return -EINVAL;
	}
	kek = sodium_malloc(VF_KEY_BYTES);
	master = sodium_malloc(VF_KEY_BYTES);
	if (!kek || !master) {
		rc = -ENOMEM;
		vf_prot_seterr(err, errlen, "out of memory");
		goto out;
	}
	while (rc == -EBADMSG &&
	       (en = vf_prot_next_of(&e->h, VF_PROT_PASSPHRASE, &at))) {
		rc = vf_prot_kek_passphrase((const char *)cur, curlen, en->salt,
					    en->ops, en->mem, kek, err, errlen);
		if (!rc)
			rc = vf_prot_entry_open(&e->h, en, kek, master);
	}
	if (rc == -EBADMSG)
		vf_prot_seterr(err, errlen, "wrong current passphrase");
	if (rc)
		goto out;
	/* at is one past the entry that opened */
	drop(e, at - 1);
	rc = vf_protector_edit_add(e, VF_PROT_PASSPHRASE, next, nextlen, &info,
				   err, errlen);
	if (!rc && id)
		*id = info.id;
out:
	if (master)
		sodium_free(master);
	if (kek)
		sodium_free(kek);
	return rc;
}

int vf_protector_edit_stage(struct vf_protector_edit *e, char *err,
			    size_t errlen)
{
	uint8_t *bytes = malloc(HDR_FILE_MAX);
	size_t len;
	int rc;

	if (!bytes) {
		vf_prot_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (e->platform_key) {
		rc = vf_prot_keystore_write(e->keystore, e->h.id, ".key.new",
					    e->platform_key, 1, err, errlen);
		if (rc)
			goto out;
		e->key_staged = 1;
	}
	len = vf_prot_header_encode(&e->h, vf_keys_master(e->k), bytes);
	rc = vf_prot_write_temp(e->dir, VF_HEADER_NAME, bytes, len, 0600,
				e->hdr_tmp, sizeof(e->hdr_tmp));
	if (rc) {
		e->hdr_tmp[0] = '\0';
		vf_prot_seterr(err, errlen,
			       "cannot write the vault header in '%s': %s",
			       e->dir, strerror(-rc));
	}
out:
	free(bytes);
	return rc;
}

int vf_protector_edit_publish(struct vf_protector_edit *e, char *err,
			      size_t errlen)
{
	char from[4096], to[4096];
	int rc;

	rc = vf_prot_publish(e->hdr_tmp, e->dir, VF_HEADER_NAME, 1);
	e->hdr_tmp[0] = '\0';
	if (rc) {
		vf_prot_seterr(err, errlen,
			       "cannot replace the vault header in '%s': "
			       "%s",
			       e->dir, strerror(-rc));
		return rc;
	}
	rc =
	    vf_prot_keystore_path(to, sizeof(to), e->keystore, e->h.id, ".key");
	if (!rc && e->key_staged) {
		/* the old platform key goes with the rename */
		rc = vf_prot_keystore_path(from, sizeof(from), e->keystore,
					   e->h.id, ".key.new");
		if (!rc && rename(from, to) < 0)
			rc = -errno;
		if (!rc)
			rc = vf_prot_fsync_dir(e->keystore);
		if (!rc)
			e->key_staged = 0;
	} else if (!rc && e->platform_gone) {
		/* a key that opens only old copies of the header */
		if (unlink(to) < 0 && errno != ENOENT)
			rc = -errno;
		if (!rc)
			rc = vf_prot_fsync_dir(e->keystore);
	}
	if (rc)
		vf_prot_seterr(err, errlen,
			       "the vault header was replaced, but moving "
			       "the platform key in '%s' failed: %s",
			       e->keystore, strerror(-rc));
	return rc;
}
