/*
 * protector_int.h - what the protector files share, private to them
 * (protector.c: the header format, create and unlock; protector_src.c:
 * the key sources and durable files; protector_edit.c: editing the
 * protectors of an open vault).  The formats are described at the top of
 * protector.c.
 */
#ifndef VF_PROTECTOR_INT_H
#define VF_PROTECTOR_INT_H

#include "crypto.h"

#define HDR_MAGIC "VAULTFS\0"
#define HDR_OFF_VERSION 8
#define HDR_OFF_ID 12
#define HDR_WRAP_BYTES (VF_KEY_BYTES + VF_SEAL_OVERHEAD)
/* format 1 */
#define V1_AD_BYTES 64
#define V1_BYTES (V1_AD_BYTES + HDR_WRAP_BYTES)
#define V1_OFF_KIND 28
#define V1_OFF_OPS 32
#define V1_OFF_MEM 40
#define V1_OFF_SALT 48
/* format 2 */
#define V2_OFF_COUNT 28
#define V2_FIXED 36
#define ENT_BYTES 128
#define ENT_FIELDS 56
#define MAC_BYTES 32
#define V2_AD_BYTES (28 + ENT_FIELDS)
#define HDR_FILE_MAX (V2_FIXED + VF_PROTECTOR_MAX * ENT_BYTES + MAC_BYTES)
#define FLAG_V1 1u

struct entry {
	uint32_t kind, flags;
	uint64_t id;
	int64_t added; /* s */
	uint64_t ops, mem;
	uint8_t salt[16];
	uint8_t wrap[HDR_WRAP_BYTES];
};

struct header {
	uint32_t version; /* as read */
	uint8_t id[VF_VAULT_ID_BYTES];
	uint32_t n;
	struct entry e[VF_PROTECTOR_MAX];
	uint8_t raw[HDR_FILE_MAX]; /* the file as read */
	size_t rawlen;
};

/* Largest passphrase file we read. */
#define PASS_MAX VF_PASSPHRASE_MAX

/* ---- protector.c ---- */

VF_PRINTF(3, 4) void vf_prot_seterr(char *err, size_t errlen, const char *fmt,
				    ...);

/* Format 2 bytes of h into out (HDR_FILE_MAX); returns the length. */
size_t vf_prot_header_encode(const struct header *h, const uint8_t *master,
			     uint8_t *out);

/* Reads and checks the header's plain fields (not the wrapped keys, not
 * the MAC). */
int vf_prot_header_read(const char *vault_dir, struct header *h, char *err,
			size_t errlen);

/* 0 when h (as read) carries a MAC that the master key made, or is
 * format 1 (no MAC); -EBADMSG otherwise. */
int vf_prot_header_verify(const struct header *h, const uint8_t *master);

/* Opens e's wrapped copy with kek into master: 0 or -EBADMSG. */
int vf_prot_entry_open(const struct header *h, const struct entry *e,
		       const uint8_t *kek, uint8_t *master);

/* Fills a new entry of kind for master under kek (salt, ops, mem as
 * given; a fresh id that no entry of h has). */
void vf_prot_entry_make(const struct header *h, struct entry *e, uint32_t kind,
			const uint8_t *kek, const uint8_t *master,
			const uint8_t salt[16], uint64_t ops, uint64_t mem,
			int64_t now_s);

void vf_prot_info_of(const struct entry *e, struct vf_protector_info *out);

/* The first entry of kind in h at or after *from, or NULL. */
const struct entry *vf_prot_next_of(const struct header *h, uint32_t kind,
				    uint32_t *from);

/* Writes KEYSTORE/<id><suffix> (0600) holding key, the keystore made
 * first when missing; replaces an existing file when replace. */
int vf_prot_keystore_write(const char *keystore,
			   const uint8_t id[VF_VAULT_ID_BYTES],
			   const char *suffix, const uint8_t *key, int replace,
			   char *err, size_t errlen);

/* ---- protector_src.c ---- */

int vf_prot_join(char *buf, size_t len, const char *dir, const char *name);

int vf_prot_fsync_dir(const char *dir);

/* Writes data to a new temporary file dir/.name.tmp.PID (mode), fsync'd;
 * its path into tmp.  Returns 0 or -errno (nothing left behind). */
int vf_prot_write_temp(const char *dir, const char *name, const void *data,
		       size_t len, mode_t mode, char *tmp, size_t tmpcap);

/* Moves tmp to dir/name (replacing it when replace, else -EEXIST when it
 * exists), then fsyncs dir.  tmp is gone on every path. */
int vf_prot_publish(const char *tmp, const char *dir, const char *name,
		    int replace);

/*
 * Publishes data as dir/name with the given mode: temporary file, fsync,
 * rename without replacing, fsync of the directory.  Returns 0, -EEXIST
 * when dir/name exists, or -errno.
 */
int vf_prot_write_durable(const char *dir, const char *name, const void *data,
			  size_t len, mode_t mode);

/* Reads at most len bytes of path into buf; *got is the count.  Returns 0
 * or -errno. */
int vf_prot_read_small(const char *path, void *buf, size_t len, size_t *got);

/* The key command of o: o->key_command, or the first line of
 * o->key_command_file (a regular file of at most KEY_COMMAND_MAX bytes
 * that no group or other may read or write, owned by root or the
 * caller), into cmd (sodium_malloc'd, caller frees).  The file keeps the
 * command, which may carry a secret, out of ps and the mount table. */
int vf_prot_key_command_of(const struct vf_protector_opts *o, char **cmd,
			   char *err, size_t errlen);

int vf_prot_kek_key_command(const char *cmd, uint8_t kek[VF_KEY_BYTES],
			    char *err, size_t errlen);

/* The recovery protector's KEK of recovery key rk. */
void vf_prot_rk_kek(const uint8_t rk[VF_KEY_BYTES], uint8_t kek[VF_KEY_BYTES]);

/* The recovery key's text for vault id and protector pid, sodium_malloc'd
 * into *out; NULL on failure. */
char *vf_prot_rk_text(const uint8_t key[VF_KEY_BYTES],
		      const uint8_t vid[VF_VAULT_ID_BYTES], uint64_t pid);

/*
 * The KEK of key file path into kek; *recovery is 1 when the file is a
 * recovery key's text (then kek is the recovery KEK), else 0 (BLAKE2b of
 * the file).  The whole file is read through one descriptor: what is
 * checked is what is hashed.
 */
int vf_prot_kek_key_file(const char *path, uint8_t kek[VF_KEY_BYTES],
			 int *recovery, char *err, size_t errlen);

/* The first line of passphrase file path (without "\r\n") into *pass
 * (sodium_malloc'd, caller frees) and *len. */
int vf_prot_read_passphrase(const char *path, char **pass, size_t *len,
			    char *err, size_t errlen);

int vf_prot_kek_passphrase(const char *pass, size_t len, const uint8_t salt[16],
			   uint64_t ops, uint64_t mem, uint8_t kek[VF_KEY_BYTES],
			   char *err, size_t errlen);

/* KEYSTORE/<vault-id-hex>.key, or with suffix ".key.new". */
int vf_prot_keystore_name(char *buf, size_t len,
			  const uint8_t id[VF_VAULT_ID_BYTES], const char *suffix);

int vf_prot_keystore_path(char *buf, size_t len, const char *keystore,
			  const uint8_t id[VF_VAULT_ID_BYTES], const char *suffix);

/* Reads the platform key KEYSTORE/<id><suffix> into kek. */
int vf_prot_kek_platform_read(const char *keystore,
			      const uint8_t id[VF_VAULT_ID_BYTES],
			      const char *suffix, uint8_t kek[VF_KEY_BYTES],
			      char *err, size_t errlen);

/* mkdir -p for the parents of path (mode 0755), then path itself (0700).
 * Existing directories are left as they are. */
int vf_prot_make_keystore_dir(const char *path);

#endif
