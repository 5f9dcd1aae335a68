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

/* Largest passphrase file we read. */
#define PASS_MAX VF_PASSPHRASE_MAX
/* A key file or key command output is hashed; more than this is a
 * mistake (--key-file /dev/zero, a command that never stops), refused
 * instead of read forever. */
#define KEY_INPUT_MAX (1 << 20)
#define KEY_COMMAND_TIMEOUT_MS 30000

/* Recovery keys. */
#define RK_PREFIX "VFRK"
#define RK_SUM 3
#define RK_BYTES (VF_KEY_BYTES + RK_SUM)
#define RK_CHARS 56 /* 35 bytes = 280 bits = 56 base32 digits */
#define RK_TEXT_MAX VF_RECOVERY_TEXT_MAX

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

static VF_PRINTF(3, 4) void seterr(char *err, size_t errlen, const char *fmt,
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
		seterr(err, errlen,
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

static int join(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

static int fsync_dir(const char *dir)
{
	int fd, rc = 0;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* Writes data to a new temporary file dir/.name.tmp.PID (mode), fsync'd;
 * its path into tmp.  Returns 0 or -errno (nothing left behind). */
static int write_temp(const char *dir, const char *name, const void *data,
		      size_t len, mode_t mode, char *tmp, size_t tmpcap)
{
	const uint8_t *p = data;
	int fd = -1, rc;
	ssize_t n;

	n = snprintf(tmp, tmpcap, "%s/.%s.tmp.%ld", dir, name, (long)getpid());
	if (n < 0 || (size_t)n >= tmpcap)
		return -ENAMETOOLONG;
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, mode) < 0)
		goto fail_errno;
	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail_errno;
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) < 0)
		goto fail_errno;
	if (close(fd) < 0) {
		fd = -1;
		goto fail_errno;
	}
	return 0;

fail_errno:
	rc = -errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return rc;
}

/* Moves tmp to dir/name (replacing it when replace, else -EEXIST when it
 * exists), then fsyncs dir.  tmp is gone on every path. */
static int publish(const char *tmp, const char *dir, const char *name,
		   int replace)
{
	char dst[4096];
	int rc;

	rc = join(dst, sizeof(dst), dir, name);
	if (rc) {
		unlink(tmp);
		return rc;
	}
	if (replace) {
		if (rename(tmp, dst) < 0) {
			rc = -errno;
			unlink(tmp);
			return rc;
		}
	} else if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dst, RENAME_NOREPLACE) <
		   0) {
		/* Filesystems without RENAME_NOREPLACE: link() does not
		 * replace either. */
		if ((errno != EINVAL && errno != ENOSYS) || link(tmp, dst) < 0) {
			rc = -errno;
			unlink(tmp);
			return rc;
		}
		unlink(tmp);
	}
	rc = fsync_dir(dir);
	if (rc && !replace)
		unlink(dst);
	return rc;
}

/*
 * Publishes data as dir/name with the given mode: temporary file, fsync,
 * rename without replacing, fsync of the directory.  Returns 0, -EEXIST
 * when dir/name exists, or -errno.
 */
static int write_durable(const char *dir, const char *name, const void *data,
			 size_t len, mode_t mode)
{
	char tmp[4096];
	int rc = write_temp(dir, name, data, len, mode, tmp, sizeof(tmp));

	return rc ? rc : publish(tmp, dir, name, 0);
}

/* Reads at most len bytes of path into buf; *got is the count.  Returns 0
 * or -errno. */
static int read_small(const char *path, void *buf, size_t len, size_t *got)
{
	uint8_t *p = buf;
	size_t have = 0;
	ssize_t n;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (have < len) {
		n = read(fd, p + have, len - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		if (n == 0)
			break;
		have += (size_t)n;
	}
	*got = have;
out:
	close(fd);
	return rc;
}

/* Milliseconds on the monotonic clock (a timeout, not a time of day). */
static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Hashes everything readable from fd with BLAKE2b-256 into kek; *total
 * is the byte count.  With timeout_ms > 0, waits at most that long in
 * all.  Returns 0, -ENOMEM, -EFBIG past KEY_INPUT_MAX bytes, -ETIMEDOUT
 * or -errno. */
static int hash_stream(int fd, int timeout_ms, uint8_t kek[VF_KEY_BYTES],
		       size_t *total)
{
	crypto_generichash_state *st;
	int64_t end = mono_ms() + timeout_ms, left;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	uint8_t *buf;
	size_t sum = 0;
	ssize_t n;
	int rc = 0;

	st = sodium_malloc(sizeof(*st));
	buf = sodium_malloc(4096);
	if (!st || !buf) {
		rc = -ENOMEM;
		goto out;
	}
	crypto_generichash_init(st, NULL, 0, VF_KEY_BYTES);
	for (;;) {
		if (timeout_ms > 0) {
			left = end - mono_ms();
			if (left <= 0) {
				rc = -ETIMEDOUT;
				goto out;
			}
			n = poll(&pfd, 1, (int)left);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				rc = -errno;
				goto out;
			}
			if (n == 0)
				continue;
		}
		n = read(fd, buf, 4096);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		if (n == 0)
			break;
		sum += (size_t)n;
		if (sum > KEY_INPUT_MAX) {
			rc = -EFBIG;
			goto out;
		}
		crypto_generichash_update(st, buf, (size_t)n);
	}
	crypto_generichash_final(st, kek, VF_KEY_BYTES);
	*total = sum;
out:
	if (buf)
		sodium_free(buf);
	if (st)
		sodium_free(st);
	return rc;
}

/* Runs cmd with /bin/sh in a process group of its own, its stdout on a
 * pipe; the output is hashed (hash_stream).  A command that runs longer
 * than KEY_COMMAND_TIMEOUT_MS or prints more than KEY_INPUT_MAX bytes is
 * killed, with its group. */
#define KEY_COMMAND_MAX 4096

/* The key command of o: o->key_command, or the first line of
 * o->key_command_file (a regular file of at most KEY_COMMAND_MAX bytes
 * that no group or other may read or write, owned by root or the
 * caller), into cmd (sodium_malloc'd, caller frees).  The file keeps the
 * command, which may carry a secret, out of ps and the mount table. */
static int key_command_of(const struct vf_protector_opts *o, char **cmd,
			  char *err, size_t errlen)
{
	struct stat st;
	size_t got = 0, n;
	char *buf;
	int fd, rc;

	buf = sodium_malloc(KEY_COMMAND_MAX + 1);
	if (!buf) {
		seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (!o->key_command_file) {
		n = strlen(o->key_command);
		if (n > KEY_COMMAND_MAX) {
			rc = -E2BIG;
			seterr(err, errlen, "key command too long");
			goto fail;
		}
		memcpy(buf, o->key_command, n + 1);
		*cmd = buf;
		return 0;
	}
	fd = open(o->key_command_file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
					       O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = -errno;
		seterr(err, errlen, "cannot read key command file '%s': %s",
		       o->key_command_file, strerror(-rc));
		if (fd >= 0)
			close(fd);
		goto fail;
	}
	close(fd);
	rc = 0;
	if (!S_ISREG(st.st_mode))
		seterr(err, errlen, "key command file '%s' is not a regular "
		       "file", o->key_command_file), rc = -EINVAL;
	else if (st.st_mode & 077)
		seterr(err, errlen, "key command file '%s' is readable or "
		       "writable by others (mode %04o): chmod 600 it",
		       o->key_command_file, st.st_mode & 07777), rc = -EPERM;
	else if (st.st_uid != 0 && st.st_uid != geteuid())
		seterr(err, errlen, "key command file '%s' belongs to uid %u, "
		       "not to root", o->key_command_file,
		       (unsigned)st.st_uid), rc = -EPERM;
	else if (st.st_size > KEY_COMMAND_MAX)
		seterr(err, errlen, "key command file '%s' is larger than %d "
		       "bytes", o->key_command_file, KEY_COMMAND_MAX),
			rc = -EFBIG;
	if (!rc)
		rc = read_small(o->key_command_file, buf, KEY_COMMAND_MAX, &got);
	if (rc) {
		if (!err[0] || rc == -EIO)
			seterr(err, errlen, "cannot read key command file "
			       "'%s': %s", o->key_command_file, strerror(-rc));
		goto fail;
	}
	buf[got] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (!buf[0]) {
		rc = -EINVAL;
		seterr(err, errlen, "key command file '%s' has no command on its "
		       "first line", o->key_command_file);
		goto fail;
	}
	*cmd = buf;
	return 0;
fail:
	sodium_free(buf);
	return rc;
}

static int kek_key_command(const char *cmd, uint8_t kek[VF_KEY_BYTES],
			   char *err, size_t errlen)
{
	struct timespec pause = { 0, 10 * 1000 * 1000 };
	size_t total = 0;
	int p[2] = { -1, -1 }, rc, st = -1;
	int64_t end;
	pid_t pid;

	fflush(NULL);
	if (pipe2(p, O_CLOEXEC) < 0) {
		rc = -errno;
		seterr(err, errlen, "cannot run key command: %s",
		       strerror(-rc));
		return rc;
	}
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		seterr(err, errlen, "cannot run key command: %s",
		       strerror(-rc));
		close(p[0]);
		close(p[1]);
		return rc;
	}
	if (pid == 0) {
		setpgid(0, 0);
		if (dup2(p[1], STDOUT_FILENO) < 0)
			_exit(127);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	setpgid(pid, pid); /* either side may win the race */
	end = mono_ms() + KEY_COMMAND_TIMEOUT_MS;
	rc = hash_stream(p[0], KEY_COMMAND_TIMEOUT_MS, kek, &total);
	close(p[0]);
	/* the output may end before the command does */
	while (!rc && waitpid(pid, &st, WNOHANG) == 0) {
		if (mono_ms() >= end)
			rc = -ETIMEDOUT;
		else
			nanosleep(&pause, NULL);
	}
	if (rc) {
		kill(-pid, SIGKILL);
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	if (rc == -ETIMEDOUT) {
		seterr(err, errlen, "key command timed out (no end of output "
		       "after %d s)", KEY_COMMAND_TIMEOUT_MS / 1000);
		goto fail;
	}
	if (rc == -EFBIG) {
		seterr(err, errlen, "key command printed too much (more than "
		       "%d bytes)", KEY_INPUT_MAX);
		goto fail;
	}
	if (rc) {
		seterr(err, errlen, "cannot read key command output: %s",
		       strerror(-rc));
		goto fail;
	}
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		rc = -EIO;
		if (st != -1 && WIFEXITED(st))
			seterr(err, errlen, "key command failed (exit status %d)",
			       WEXITSTATUS(st));
		else
			seterr(err, errlen, "key command failed");
		goto fail;
	}
	if (total < VF_KEY_BYTES) {
		rc = -EINVAL;
		seterr(err, errlen,
		       "key command printed too little (need at least %d bytes)",
		       VF_KEY_BYTES);
		goto fail;
	}
	return 0;
fail:
	sodium_memzero(kek, VF_KEY_BYTES);
	return rc;
}

/* ---- recovery keys ------------------------------------------------------ */

static const char b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* The value of Crockford base32 digit c (case-blind; O reads as 0, I and
 * L as 1), or -1. */
static int b32_value(int c)
{
	const char *p;

	if (c >= 'a' && c <= 'z')
		c -= 'a' - 'A';
	if (c == 'O')
		c = '0';
	if (c == 'I' || c == 'L')
		c = '1';
	p = c ? strchr(b32, c) : NULL;
	return p ? (int)(p - b32) : -1;
}

static void rk_checksum(const uint8_t key[VF_KEY_BYTES], uint8_t sum[RK_SUM])
{
	static const char dom[] = "vaultfs recovery checksum";
	crypto_generichash_state st;
	uint8_t h[32];

	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(&st, (const uint8_t *)dom, sizeof(dom) - 1);
	crypto_generichash_update(&st, key, VF_KEY_BYTES);
	crypto_generichash_final(&st, h, sizeof(h));
	memcpy(sum, h, RK_SUM);
	sodium_memzero(&st, sizeof(st));
}

/* The recovery protector's KEK of recovery key rk. */
static void rk_kek(const uint8_t rk[VF_KEY_BYTES], uint8_t kek[VF_KEY_BYTES])
{
	static const char msg[] = "vaultfs recovery key";

	crypto_generichash(kek, VF_KEY_BYTES, (const uint8_t *)msg,
			   sizeof(msg) - 1, rk, VF_KEY_BYTES);
}

/* The 56 digits of key || checksum, grouped by four after "VFRK-", into
 * out (at least RK_LINE bytes). */
#define RK_LINE (4 + RK_CHARS / 4 * 5 + 1)
static void rk_encode(const uint8_t key[VF_KEY_BYTES], char out[RK_LINE])
{
	uint8_t *raw = sodium_malloc(RK_BYTES);
	unsigned acc = 0, bits = 0;
	size_t i, o = 4, d = 0;

	memcpy(out, RK_PREFIX, 4);
	if (!raw) {
		out[4] = '\0';
		return;
	}
	memcpy(raw, key, VF_KEY_BYTES);
	rk_checksum(key, raw + VF_KEY_BYTES);
	for (i = 0; i < RK_BYTES; i++) {
		acc = (acc << 8 | raw[i]) & 0xfff;
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			if (d++ % 4 == 0)
				out[o++] = '-';
			out[o++] = b32[(acc >> bits) & 31];
		}
	}
	out[o] = '\0';
	acc = 0;
	sodium_free(raw);
}

/* Parses text: 1 with the key in key (may be NULL: only checked), 0 when
 * text is no recovery key, -EINVAL with err.  The protector id comes from
 * a "# protector HEX" comment when there is one. */
static int rk_parse(const char *text, size_t len, uint8_t key[VF_KEY_BYTES],
		    uint64_t *id, char *err, size_t errlen)
{
	uint8_t *raw = NULL, sum[RK_SUM];
	size_t i = 0, nd = 0, nb = 0, pl = 0;
	unsigned acc = 0, bits = 0;
	int line_start = 1, comment = 0, rc = 1, v;
	char c;

	raw = sodium_malloc(RK_BYTES + 1);
	if (!raw) {
		seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < len; i++) {
		c = text[i];
		if (line_start && c == '#') {
			const char *tag = "# protector ";
			size_t tl = strlen(tag);

			if (id && len - i > tl + 16 && !strncmp(text + i, tag, tl)) {
				uint8_t b[8];

				if (!sodium_hex2bin(b, 8, text + i + tl, 16, NULL,
						    NULL, NULL)) {
					uint64_t x = 0;
					int j;

					for (j = 0; j < 8; j++)
						x = x << 8 | b[j];
					*id = x;
				}
			}
			comment = 1;
		}
		line_start = c == '\n';
		if (comment) {
			comment = c != '\n';
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '-')
			continue;
		if (pl < 4) {
			if ((c & ~0x20) != RK_PREFIX[pl]) {
				rc = 0;
				goto out;
			}
			pl++;
			continue;
		}
		v = b32_value((unsigned char)c);
		if (v < 0 || nd >= RK_CHARS) {
			rc = -EINVAL;
			seterr(err, errlen, "malformed recovery key: expected %d "
			       "base32 characters after VFRK", RK_CHARS);
			goto out;
		}
		nd++;
		acc = (acc << 5 | (unsigned)v) & 0xfff;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			raw[nb++] = (uint8_t)(acc >> bits);
		}
	}
	if (pl < 4) {
		rc = 0;
		goto out;
	}
	if (nd != RK_CHARS) {
		rc = -EINVAL;
		seterr(err, errlen, "malformed recovery key: expected %d base32 "
		       "characters after VFRK, found %zu", RK_CHARS, nd);
		goto out;
	}
	rk_checksum(raw, sum);
	if (sodium_memcmp(sum, raw + VF_KEY_BYTES, RK_SUM)) {
		rc = -EINVAL;
		seterr(err, errlen, "recovery key has a typo: its checksum does "
		       "not match");
		goto out;
	}
	if (key)
		memcpy(key, raw, VF_KEY_BYTES);
out:
	acc = 0;
	sodium_memzero(raw, RK_BYTES + 1);
	sodium_free(raw);
	return rc;
}

int vf_protector_recovery_check(const char *text, size_t len, uint64_t *id,
				char *err, size_t errlen)
{
	if (sodium_init() < 0)
		return -ENOMEM;
	return rk_parse(text, len, NULL, id, err, errlen);
}

/* The recovery key's text for vault id and protector pid, sodium_malloc'd
 * into *out; NULL on failure. */
static char *rk_text(const uint8_t key[VF_KEY_BYTES],
		     const uint8_t vid[VF_VAULT_ID_BYTES], uint64_t pid)
{
	char hex[2 * VF_VAULT_ID_BYTES + 1], line[RK_LINE];
	char *t = sodium_malloc(RK_TEXT_MAX);

	if (!t)
		return NULL;
	sodium_bin2hex(hex, sizeof(hex), vid, VF_VAULT_ID_BYTES);
	rk_encode(key, line);
	snprintf(t, RK_TEXT_MAX,
		 "# vaultfs recovery key\n"
		 "# vault %s\n"
		 "# protector %016llx\n"
		 "# It opens the vault on its own: keep it offline, like the vault's\n"
		 "# master key.  Use: mount.vaultfs VAULT MNT -o key_file=THIS_FILE,\n"
		 "# or vaultctl recover ... --key-file THIS_FILE.\n"
		 "%s\n",
		 hex, (unsigned long long)pid, line);
	sodium_memzero(line, sizeof(line));
	return t;
}

/* ---- key-encryption keys ------------------------------------------------ */

/*
 * The KEK of key file path into kek; *recovery is 1 when the file is a
 * recovery key's text (then kek is the recovery KEK), else 0 (BLAKE2b of
 * the file).  The whole file is read through one descriptor: what is
 * checked is what is hashed.
 */
static int kek_key_file(const char *path, uint8_t kek[VF_KEY_BYTES],
			int *recovery, char *err, size_t errlen)
{
	size_t total = 0, got = 0;
	uint8_t *rk = NULL;
	char *text = NULL;
	struct stat sb;
	ssize_t n;
	int fd, rc;

	*recovery = 0;
	/* O_NONBLOCK: a fifo must not block the open; it is refused below */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		rc = -errno;
		seterr(err, errlen, "cannot read key file '%s': %s", path,
		       strerror(errno));
		return rc;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		rc = -EINVAL;
		seterr(err, errlen, "cannot read key file '%s': not a regular "
		       "file", path);
		goto fail;
	}
	if (sb.st_size > 0 && sb.st_size < RK_TEXT_MAX) {
		text = sodium_malloc(RK_TEXT_MAX);
		rk = sodium_malloc(VF_KEY_BYTES);
		if (!text || !rk) {
			rc = -ENOMEM;
			seterr(err, errlen, "out of memory");
			goto fail;
		}
		while (got < RK_TEXT_MAX &&
		       ((n = read(fd, text + got, RK_TEXT_MAX - got)) > 0 ||
			(n < 0 && errno == EINTR)))
			if (n > 0)
				got += (size_t)n;
		rc = rk_parse(text, got, rk, NULL, err, errlen);
		if (rc < 0) {
			char why[200];

			snprintf(why, sizeof(why), "%s", err);
			seterr(err, errlen, "key file '%s': %s", path, why);
			goto fail;
		}
		if (rc == 1) {
			rk_kek(rk, kek);
			*recovery = 1;
			rc = 0;
			goto out;
		}
		if (lseek(fd, 0, SEEK_SET) < 0) {
			rc = -errno;
			seterr(err, errlen, "cannot read key file '%s': %s",
			       path, strerror(errno));
			goto fail;
		}
	}
	rc = hash_stream(fd, 0, kek, &total);
	if (rc == -EFBIG) {
		seterr(err, errlen, "key file '%s' is too large (more than "
		       "%d bytes)", path, KEY_INPUT_MAX);
		goto fail;
	}
	if (rc) {
		seterr(err, errlen, "cannot read key file '%s': %s", path,
		       strerror(-rc));
		goto fail;
	}
	if (total < VF_KEY_BYTES) {
		rc = -EINVAL;
		seterr(err, errlen,
		       "key file '%s' is too short (need at least %d bytes)",
		       path, VF_KEY_BYTES);
		goto fail;
	}
	goto out;
fail:
	sodium_memzero(kek, VF_KEY_BYTES);
out:
	close(fd);
	if (text) {
		sodium_memzero(text, RK_TEXT_MAX);
		sodium_free(text);
	}
	if (rk)
		sodium_free(rk);
	return rc;
}

/* The first line of passphrase file path (without "\r\n") into *pass
 * (sodium_malloc'd, caller frees) and *len. */
static int read_passphrase(const char *path, char **pass, size_t *len,
			   char *err, size_t errlen)
{
	size_t got = 0, n;
	char *buf, *nl;
	int rc;

	buf = sodium_malloc(PASS_MAX + 1);
	if (!buf) {
		seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = read_small(path, buf, PASS_MAX, &got);
	if (rc) {
		seterr(err, errlen, "cannot read passphrase file '%s': %s",
		       path, strerror(-rc));
		goto fail;
	}
	n = got;
	nl = memchr(buf, '\n', got);
	if (nl)
		n = (size_t)(nl - buf);
	if (n && buf[n - 1] == '\r')
		n--;
	if (n == 0) {
		rc = -EINVAL;
		seterr(err, errlen, "empty passphrase in '%s'", path);
		goto fail;
	}
	*pass = buf;
	*len = n;
	return 0;
fail:
	sodium_memzero(buf, PASS_MAX + 1);
	sodium_free(buf);
	return rc;
}

static int kek_passphrase(const char *pass, size_t len, const uint8_t salt[16],
			  uint64_t ops, uint64_t mem, uint8_t kek[VF_KEY_BYTES],
			  char *err, size_t errlen)
{
	int rc = vf_passphrase_kdf(pass, len, salt, ops, mem, kek);

	if (rc)
		seterr(err, errlen, "%s deriving the passphrase key",
		       rc == -ENOMEM ? "out of memory" : "bad parameters");
	return rc;
}

/* KEYSTORE/<vault-id-hex>.key, or with suffix ".key.new". */
static int keystore_name(char *buf, size_t len,
			 const uint8_t id[VF_VAULT_ID_BYTES], const char *suffix)
{
	char hex[VF_VAULT_ID_BYTES * 2 + 1];
	int n;

	sodium_bin2hex(hex, sizeof(hex), id, VF_VAULT_ID_BYTES);
	n = snprintf(buf, len, "%s%s", hex, suffix);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int keystore_path(char *buf, size_t len, const char *keystore,
			 const uint8_t id[VF_VAULT_ID_BYTES], const char *suffix)
{
	char name[VF_VAULT_ID_BYTES * 2 + 16];
	int rc = keystore_name(name, sizeof(name), id, suffix);

	return rc ? rc : join(buf, len, keystore, name);
}

/* Reads the platform key KEYSTORE/<id><suffix> into kek. */
static int kek_platform_read(const char *keystore,
			     const uint8_t id[VF_VAULT_ID_BYTES],
			     const char *suffix, uint8_t kek[VF_KEY_BYTES],
			     char *err, size_t errlen)
{
	char path[4096];
	uint8_t *buf;
	size_t got = 0;
	int rc;

	rc = keystore_path(path, sizeof(path), keystore, id, suffix);
	if (rc) {
		seterr(err, errlen, "keystore path too long: %s", keystore);
		return rc;
	}
	buf = sodium_malloc(VF_KEY_BYTES + 1);
	if (!buf) {
		seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = read_small(path, buf, VF_KEY_BYTES + 1, &got);
	if (rc == -ENOENT) {
		seterr(err, errlen, "keystore key not found: %s", path);
		goto out;
	}
	if (rc) {
		seterr(err, errlen, "cannot read keystore key '%s': %s", path,
		       strerror(-rc));
		goto out;
	}
	if (got != VF_KEY_BYTES) {
		rc = -EIO;
		seterr(err, errlen, "corrupt keystore key: %s", path);
		goto out;
	}
	memcpy(kek, buf, VF_KEY_BYTES);
out:
	sodium_memzero(buf, VF_KEY_BYTES + 1);
	sodium_free(buf);
	return rc;
}

/* mkdir -p for the parents of path (mode 0755), then path itself (0700).
 * Existing directories are left as they are. */
static int make_keystore_dir(const char *path)
{
	char buf[4096];
	size_t len = strlen(path), i;

	if (len == 0 || len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	while (len > 1 && buf[len - 1] == '/')
		buf[--len] = '\0';
	for (i = 1; i <= len; i++) {
		mode_t mode = i == len ? 0700 : 0755;

		if (i < len && buf[i] != '/')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, mode) == 0) {
			if (chmod(buf, mode) < 0)
				return -errno;
		} else if (errno != EEXIST) {
			return -errno;
		}
		if (i < len)
			buf[i] = '/';
	}
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
static size_t header_encode(const struct header *h, const uint8_t *master,
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
static int header_read(const char *vault_dir, struct header *h, char *err,
		       size_t errlen)
{
	char path[4096];
	size_t got = 0, off;
	uint8_t *r = h->raw;
	uint32_t i;
	int rc;

	memset(h, 0, sizeof(*h));
	rc = join(path, sizeof(path), vault_dir, VF_HEADER_NAME);
	if (rc) {
		seterr(err, errlen, "vault path too long: %s", vault_dir);
		return rc;
	}
	rc = read_small(path, r, sizeof(h->raw), &got);
	if (rc == -ENOENT || rc == -ENOTDIR) {
		seterr(err, errlen, "not a vault: %s has no %s", vault_dir,
		       VF_HEADER_NAME);
		return -ENOENT;
	}
	if (rc) {
		seterr(err, errlen, "cannot read vault header '%s': %s", path,
		       strerror(-rc));
		return rc;
	}
	h->rawlen = got;
	if (got < HDR_OFF_ID || memcmp(r, HDR_MAGIC, 8) != 0)
		goto corrupt;
	h->version = get32(r + HDR_OFF_VERSION);
	if (h->version != 1 && h->version != 2) {
		seterr(err, errlen,
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
	seterr(err, errlen, "corrupt vault header: %s", path);
	return -EIO;
}

/* 0 when h (as read) carries a MAC that the master key made, or is
 * format 1 (no MAC); -EBADMSG otherwise. */
static int header_verify(const struct header *h, const uint8_t *master)
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
static int entry_open(const struct header *h, const struct entry *e,
		      const uint8_t *kek, uint8_t *master)
{
	uint8_t ad[V2_AD_BYTES];
	size_t adlen = entry_ad(h->id, e, ad);

	return vf_crypto_open(kek, ad, adlen, e->wrap, HDR_WRAP_BYTES, master);
}

/* Fills a new entry of kind for master under kek (salt, ops, mem as
 * given; a fresh id that no entry of h has). */
static void entry_make(const struct header *h, struct entry *e, uint32_t kind,
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

static void info_of(const struct entry *e, struct vf_protector_info *out)
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
static const struct entry *next_of(const struct header *h, uint32_t kind,
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

	while ((e = next_of(h, kind, &at)))
		if (!entry_open(h, e, kek, master))
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
		rc = kek_key_file(o->key_file, kek, &recovery, err, errlen);
		if (rc)
			return rc;
		if (recovery)
			*kind = VF_PROT_RECOVERY;
	}
	if (!next_of(h, *kind, &at)) {
		char hint[160];

		kinds_text(h, kinds, sizeof(kinds));
		opt_hint(o, kind_text(h->e[0].kind)->hint, hint, sizeof(hint));
		seterr(err, errlen, "vault is protected by %s; %s", kinds,
		       hint);
		return -EINVAL;
	}
	switch (*kind) {
	case VF_PROT_PASSPHRASE:
		if (o->passphrase) {
			pass = (char *)o->passphrase;
			plen = o->passphrase_len;
		} else {
			rc = read_passphrase(o->passphrase_file, &pass, &plen,
					     err, errlen);
			if (rc)
				return rc;
		}
		rc = -EBADMSG;
		at = 0;
		while (rc == -EBADMSG && (e = next_of(h, *kind, &at))) {
			rc = kek_passphrase(pass, plen, e->salt, e->ops, e->mem,
					    kek, err, errlen);
			if (!rc)
				rc = entry_open(h, e, kek, master);
		}
		if (pass != o->passphrase) {
			sodium_memzero(pass, PASS_MAX + 1);
			sodium_free(pass);
		}
		break;
	case VF_PROT_KEY_COMMAND:
		rc = key_command_of(o, &cmd, err, errlen);
		if (!rc)
			rc = kek_key_command(cmd, kek, err, errlen);
		if (cmd)
			sodium_free(cmd);
		if (!rc)
			rc = open_any(h, *kind, kek, master);
		break;
	case VF_PROT_PLATFORM:
		rc = kek_platform_read(keystore, h->id, ".key", kek, err,
				       errlen);
		if (!rc)
			rc = open_any(h, *kind, kek, master);
		/* a rotation that stopped between its two renames */
		if (rc && !kek_platform_read(keystore, h->id, ".key.new", kek,
					     NULL, 0) &&
		    !open_any(h, *kind, kek, master))
			rc = 0;
		break;
	default:
		rc = open_any(h, *kind, kek, master);
		break;
	}
	if (rc == -EBADMSG)
		seterr(err, errlen, "%s", kind_text(*kind)->wrong);
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
		seterr(err, errlen, "cannot initialise libsodium");
		return -ENOMEM;
	}
	h = malloc(sizeof(*h));
	kek = sodium_malloc(VF_KEY_BYTES);
	master = sodium_malloc(VF_KEY_BYTES);
	if (!h || !kek || !master) {
		rc = -ENOMEM;
		seterr(err, errlen, "out of memory");
		goto out;
	}
	rc = header_read(vault_dir, h, err, errlen);
	if (rc)
		goto out;
	rc = unwrap(h, o, kek, master, &kind, err, errlen);
	if (rc)
		goto out;
	rc = header_verify(h, master);
	if (rc) {
		seterr(err, errlen, "corrupt vault header: %s/%s was altered "
		       "(authentication failed)", vault_dir, VF_HEADER_NAME);
		goto out;
	}
	rc = vf_keys_new(master, h->id, out);
	if (rc)
		seterr(err, errlen, "out of memory");
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
static int keystore_write(const char *keystore,
			  const uint8_t id[VF_VAULT_ID_BYTES],
			  const char *suffix, const uint8_t *key, int replace,
			  char *err, size_t errlen)
{
	char name[VF_VAULT_ID_BYTES * 2 + 16], tmp[4096];
	int rc;

	rc = keystore_name(name, sizeof(name), id, suffix);
	if (!rc)
		rc = make_keystore_dir(keystore);
	if (rc) {
		seterr(err, errlen, "cannot create keystore '%s': %s",
		       keystore, strerror(-rc));
		return rc;
	}
	rc = write_temp(keystore, name, key, VF_KEY_BYTES, 0600, tmp,
			sizeof(tmp));
	if (!rc)
		rc = publish(tmp, keystore, name, replace);
	if (rc)
		seterr(err, errlen, "cannot write keystore key '%s/%s': %s",
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
	rc = header_read(vault_dir, h, err, sizeof(err));
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
		rc = keystore_path(path, sizeof(path),
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

	if (join(path, sizeof(path), vault_dir, VF_HEADER_NAME))
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
		seterr(err, errlen, "cannot initialise libsodium");
		return -ENOMEM;
	}
	rc = opts_kind(o, &kind, err, errlen);
	if (rc)
		return rc;
	if (stat(vault_dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		rc = stat(vault_dir, &st) < 0 ? -errno : -ENOTDIR;
		seterr(err, errlen, "cannot use vault directory '%s': %s",
		       vault_dir, strerror(-rc));
		return rc;
	}
	rc = join(hdrpath, sizeof(hdrpath), vault_dir, VF_HEADER_NAME);
	if (rc) {
		seterr(err, errlen, "vault path too long: %s", vault_dir);
		return rc;
	}
	if (lstat(hdrpath, &st) == 0) {
		seterr(err, errlen, "vault already exists: %s", vault_dir);
		return -EEXIST;
	}
	h = calloc(1, sizeof(*h));
	bytes = malloc(HDR_FILE_MAX);
	kek = sodium_malloc(VF_KEY_BYTES);
	if (!h || !bytes || !kek) {
		rc = -ENOMEM;
		seterr(err, errlen, "out of memory");
		goto fail;
	}
	rc = vf_keys_generate(&keys);
	if (rc) {
		seterr(err, errlen, "out of memory");
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
				seterr(err, errlen, "empty passphrase");
			else
				rc = kek_passphrase(o->passphrase,
						    o->passphrase_len, salt,
						    ops, mem, kek, err, errlen);
			break;
		}
		rc = read_passphrase(o->passphrase_file, &pass, &plen, err,
				     errlen);
		if (!rc)
			rc = kek_passphrase(pass, plen, salt, ops, mem, kek, err,
					    errlen);
		break;
	case VF_PROT_KEY_FILE:
		rc = kek_key_file(o->key_file, kek, &recovery, err, errlen);
		if (recovery)
			kind = VF_PROT_RECOVERY;
		break;
	case VF_PROT_KEY_COMMAND:
		rc = key_command_of(o, &cmd, err, errlen);
		if (!rc)
			rc = kek_key_command(cmd, kek, err, errlen);
		break;
	default:
		randombytes_buf(kek, VF_KEY_BYTES);
		rc = keystore_path(keypath, sizeof(keypath), keystore, h->id,
				   ".key");
		if (rc)
			seterr(err, errlen, "keystore path too long: %s",
			       keystore);
		else
			rc = keystore_write(keystore, h->id, ".key", kek, 0,
					    err, errlen);
		if (rc)
			keypath[0] = '\0';
		break;
	}
	if (rc)
		goto fail;
	entry_make(h, &h->e[0], kind, kek, vf_keys_master(keys), salt, ops, mem,
		   vf_clock_now() / VF_NS);
	h->n = 1;
	len = header_encode(h, vf_keys_master(keys), bytes);
	rc = write_durable(vault_dir, VF_HEADER_NAME, bytes, len, 0600);
	if (rc == -EEXIST) {
		seterr(err, errlen, "vault already exists: %s", vault_dir);
		goto fail;
	}
	if (rc) {
		seterr(err, errlen, "cannot write vault header '%s': %s",
		       hdrpath, strerror(-rc));
		goto fail;
	}
	*out = keys;
	keys = NULL;
	goto out;

fail:
	/* Nothing half-written: a platform key without its header goes. */
	if (keypath[0]) {
		unlink(keypath);
		fsync_dir(keystore);
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

int vf_protector_secret(uint32_t kind, const char *arg, uint8_t **secret,
			size_t *len, char *err, size_t errlen)
{
	struct vf_protector_opts o;
	uint8_t *buf = NULL;
	char *cmd = NULL, *pass = NULL;
	int rc, recovery = 0;

	if (sodium_init() < 0) {
		seterr(err, errlen, "cannot initialise libsodium");
		return -ENOMEM;
	}
	if (kind == VF_PROT_PASSPHRASE) {
		size_t n = 0;

		rc = read_passphrase(arg, &pass, &n, err, errlen);
		if (rc)
			return rc;
		*secret = (uint8_t *)pass;
		*len = n;
		return 0;
	}
	if (kind != VF_PROT_KEY_FILE && kind != VF_PROT_KEY_COMMAND) {
		seterr(err, errlen, "a %s protector takes no key",
		       vf_protector_kind_name(kind));
		return -EINVAL;
	}
	buf = sodium_malloc(VF_KEY_BYTES);
	if (!buf) {
		seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (kind == VF_PROT_KEY_FILE) {
		rc = kek_key_file(arg, buf, &recovery, err, errlen);
		if (!rc && recovery) {
			rc = -EINVAL;
			seterr(err, errlen, "'%s' is a recovery key: make a new "
			       "one with key export instead", arg);
		}
	} else {
		memset(&o, 0, sizeof(o));
		o.key_command = arg;
		rc = key_command_of(&o, &cmd, err, errlen);
		if (!rc)
			rc = kek_key_command(cmd, buf, err, errlen);
		if (cmd)
			sodium_free(cmd);
	}
	if (rc) {
		sodium_free(buf);
		return rc;
	}
	*secret = buf;
	*len = VF_KEY_BYTES;
	return 0;
}

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
		seterr(err, errlen, "cannot initialise libsodium");
		return -ENOMEM;
	}
	e = calloc(1, sizeof(*e));
	if (!e || !(e->dir = strdup(dir)) ||
	    !(e->keystore = strdup(keystore ? keystore : VF_KEYSTORE_DEFAULT))) {
		vf_protector_edit_free(e);
		seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	e->k = k;
	e->now_s = now / VF_NS;
	rc = header_read(dir, &e->h, err, errlen);
	if (!rc && memcmp(e->h.id, vf_keys_vault_id(k), VF_VAULT_ID_BYTES)) {
		rc = -EBADMSG;
		seterr(err, errlen, "the vault header in '%s' belongs to another "
		       "vault", dir);
	}
	if (!rc && header_verify(&e->h, vf_keys_master(k))) {
		rc = -EBADMSG;
		seterr(err, errlen, "corrupt vault header: %s/%s was altered "
		       "(authentication failed)", dir, VF_HEADER_NAME);
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
	    !keystore_path(path, sizeof(path), e->keystore, e->h.id,
			   ".key.new")) {
		unlink(path);
		fsync_dir(e->keystore);
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
		info_of(&e->h.e[i], &out[i]);
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

	entry_make(&e->h, n, kind, kek, vf_keys_master(e->k), salt, ops, mem,
		   e->now_s);
	e->h.n++;
	if (info)
		info_of(n, info);
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
		seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	randombytes_buf(rk, VF_KEY_BYTES);
	rk_kek(rk, rk + VF_KEY_BYTES);
	append(e, VF_PROT_RECOVERY, rk + VF_KEY_BYTES, NULL, 0, 0, &mine);
	if (e->recovery)
		sodium_free(e->recovery);
	e->recovery = rk_text(rk, e->h.id, mine.id);
	if (!e->recovery) {
		e->h.n--;
		rc = -ENOMEM;
		seterr(err, errlen, "out of memory");
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
		seterr(err, errlen, "out of memory");
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
		seterr(err, errlen, "the vault has %d protectors already, the "
		       "most it can hold", VF_PROTECTOR_MAX);
		return -ENOSPC;
	}
	switch (kind) {
	case VF_PROT_PLATFORM:
		if (count_of(&e->h, VF_PROT_PLATFORM)) {
			seterr(err, errlen, "the vault has a platform key "
			       "already (key rotate replaces it)");
			return -EEXIST;
		}
		return add_platform(e, info, err, errlen);
	case VF_PROT_RECOVERY:
		return add_recovery(e, info, err, errlen);
	case VF_PROT_KEY_FILE:
	case VF_PROT_KEY_COMMAND:
		if (!secret || len != VF_KEY_BYTES) {
			seterr(err, errlen, "a %s protector needs its 32-byte "
			       "key", vf_protector_kind_name(kind));
			return -EINVAL;
		}
		append(e, kind, secret, NULL, 0, 0, info);
		return 0;
	case VF_PROT_PASSPHRASE:
		if (!secret || !len || len > PASS_MAX) {
			seterr(err, errlen, "a passphrase must have 1 to %d "
			       "bytes", PASS_MAX);
			return -EINVAL;
		}
		kek = sodium_malloc(VF_KEY_BYTES);
		if (!kek) {
			seterr(err, errlen, "out of memory");
			return -ENOMEM;
		}
		randombytes_buf(salt, sizeof(salt));
		rc = kek_passphrase((const char *)secret, len, salt,
				    VF_PASSPHRASE_OPS, VF_PASSPHRASE_MEM, kek,
				    err, errlen);
		if (!rc)
			append(e, kind, kek, salt, VF_PASSPHRASE_OPS,
			       VF_PASSPHRASE_MEM, info);
		sodium_free(kek);
		return rc;
	default:
		seterr(err, errlen, "unknown protector kind %u", kind);
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
		seterr(err, errlen, "no protector %016llx",
		       (unsigned long long)id);
		return -ENOENT;
	}
	if (e->h.n == 1) {
		seterr(err, errlen, "protector %016llx is the last one: add "
		       "another before removing it", (unsigned long long)id);
		return -EPERM;
	}
	if (info)
		info_of(&e->h.e[i], info);
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
		seterr(err, errlen, "nothing to rotate: the vault has no "
		       "platform key and no recovery key (a key file, key "
		       "command or passphrase is changed with key add and key "
		       "remove, or passphrase change)");
		return -EINVAL;
	}
	if (rec && !new_recovery) {
		seterr(err, errlen, "the vault has a recovery key: give --out "
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
		seterr(err, errlen, "the vault has no passphrase");
		return -ENOENT;
	}
	if (!curlen || curlen > PASS_MAX || !nextlen || nextlen > PASS_MAX) {
		seterr(err, errlen, "a passphrase must have 1 to %d bytes",
		       PASS_MAX);
		return -EINVAL;
	}
	kek = sodium_malloc(VF_KEY_BYTES);
	master = sodium_malloc(VF_KEY_BYTES);
	if (!kek || !master) {
		rc = -ENOMEM;
		seterr(err, errlen, "out of memory");
		goto out;
	}
	while (rc == -EBADMSG && (en = next_of(&e->h, VF_PROT_PASSPHRASE, &at))) {
		rc = kek_passphrase((const char *)cur, curlen, en->salt,
				    en->ops, en->mem, kek, err, errlen);
		if (!rc)
			rc = entry_open(&e->h, en, kek, master);
	}
	if (rc == -EBADMSG)
		seterr(err, errlen, "wrong current passphrase");
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
		seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (e->platform_key) {
		rc = keystore_write(e->keystore, e->h.id, ".key.new",
				    e->platform_key, 1, err, errlen);
		if (rc)
			goto out;
		e->key_staged = 1;
	}
	len = header_encode(&e->h, vf_keys_master(e->k), bytes);
	rc = write_temp(e->dir, VF_HEADER_NAME, bytes, len, 0600, e->hdr_tmp,
			sizeof(e->hdr_tmp));
	if (rc) {
		e->hdr_tmp[0] = '\0';
		seterr(err, errlen, "cannot write the vault header in '%s': %s",
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

	rc = publish(e->hdr_tmp, e->dir, VF_HEADER_NAME, 1);
	e->hdr_tmp[0] = '\0';
	if (rc) {
		seterr(err, errlen, "cannot replace the vault header in '%s': "
		       "%s", e->dir, strerror(-rc));
		return rc;
	}
	rc = keystore_path(to, sizeof(to), e->keystore, e->h.id, ".key");
	if (!rc && e->key_staged) {
		/* the old platform key goes with the rename */
		rc = keystore_path(from, sizeof(from), e->keystore, e->h.id,
				   ".key.new");
		if (!rc && rename(from, to) < 0)
			rc = -errno;
		if (!rc)
			rc = fsync_dir(e->keystore);
		if (!rc)
			e->key_staged = 0;
	} else if (!rc && e->platform_gone) {
		/* a key that opens only old copies of the header */
		if (unlink(to) < 0 && errno != ENOENT)
			rc = -errno;
		if (!rc)
			rc = fsync_dir(e->keystore);
	}
	if (rc)
		seterr(err, errlen, "the vault header was replaced, but moving "
		       "the platform key in '%s' failed: %s", e->keystore,
		       strerror(-rc));
	return rc;
}
