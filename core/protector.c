/*
 * protector.c - the vault header and the protectors that wrap the master
 * key.
 *
 * VAULT/vault.hdr is a binary file of exactly 136 bytes, little-endian:
 *
 *   offset size  field
 *        0    8  magic "VAULTFS\0"
 *        8    4  u32 format version (VF_FORMAT_VERSION)
 *       12   16  vault id (random)
 *       28    4  u32 protector kind: 1 platform keystore, 2 key file,
 *                3 key command, 4 passphrase
 *       32    8  u64 Argon2id opslimit (passphrase only, else 0)
 *       40    8  u64 Argon2id memlimit in bytes (passphrase only, else 0)
 *       48   16  Argon2id salt (passphrase only, else zero)
 *       64   72  wrapped master key: vf_crypto_seal(KEK, ad = bytes
 *                [0, 64) of this header, master key (32 bytes)), that is
 *                nonce(24) || ciphertext(32) || tag(16)
 *
 * Because every header byte before the wrapped key is associated data, a
 * tampered header and a wrong KEK both fail authentication (-EBADMSG).
 *
 * The key-encryption key (KEK) comes from:
 *   platform:    32 random bytes in KEYSTORE/<vault-id-hex>.key (mode 0600,
 *                in a 0700 directory outside the vault), so the vault
 *                directory alone decrypts nothing;
 *   key file:    BLAKE2b-256 of the whole file (at least 32 bytes);
 *   key command: BLAKE2b-256 of the stdout of /bin/sh -c CMD (at least 32
 *                bytes; the command must exit 0);
 *   passphrase:  Argon2id13 over the first line of the passphrase file with
 *                the header's salt, opslimit and memlimit.
 *
 * Invariants: the master key, the KEK and everything they derive from
 * (passphrase, key file contents) live only in sodium_malloc'd memory and
 * are wiped on every path; no message ever contains them.  Files are
 * published durably (temporary file, fsync, rename, fsync directory) and
 * unlocking never writes anything.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto.h"

#define HDR_MAGIC "VAULTFS\0"
#define HDR_AD_BYTES 64
#define HDR_WRAP_BYTES (VF_KEY_BYTES + VF_SEAL_OVERHEAD)
#define HDR_BYTES (HDR_AD_BYTES + HDR_WRAP_BYTES)
#define HDR_OFF_VERSION 8
#define HDR_OFF_ID 12
#define HDR_OFF_KIND 28
#define HDR_OFF_OPS 32
#define HDR_OFF_MEM 40
#define HDR_OFF_SALT 48

/* Upper bounds for Argon2id parameters read from a header, so a forged
 * header cannot make unlock burn hours or gigabytes. */
#define HDR_MAX_OPS 64ULL
#define HDR_MAX_MEM (4ULL << 30)

/* Largest passphrase file we read. */
#define PASS_MAX 4096
/* A key file or key command output is hashed; more than this is a
 * mistake (--key-file /dev/zero, a command that never stops), refused
 * instead of read forever. */
#define KEY_INPUT_MAX (1 << 20)
#define KEY_COMMAND_TIMEOUT_MS 30000

enum kind {
	KIND_PLATFORM = 1,
	KIND_KEY_FILE = 2,
	KIND_KEY_COMMAND = 3,
	KIND_PASSPHRASE = 4
};

struct header {
	uint8_t raw[HDR_BYTES];
	uint32_t version;
	uint32_t kind;
	uint64_t ops;
	uint64_t mem;
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
	const char *name; /* "vault is protected by NAME" */
	const char *hint; /* how to give that protector */
	const char *wrong; /* the KEK does not open the header */
} kind_texts[] = {
	[KIND_PLATFORM] = { "the platform keystore",
			    "none of passphrase-file, key-file, key-command",
			    "platform key does not open this vault" },
	[KIND_KEY_FILE] = { "a key file", "key-file", "wrong key file" },
	[KIND_KEY_COMMAND] = { "a key command", "key-command",
			       "wrong key from key command" },
	[KIND_PASSPHRASE] = { "a passphrase", "passphrase-file",
			      "wrong passphrase" },
};

static const struct kind_text *kind_text(uint32_t kind)
{
	if (kind >= VF_ARRAY_LEN(kind_texts) || !kind_texts[kind].name)
		kind = KIND_PASSPHRASE;
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

int vf_protector_is_platform(const struct vf_protector_opts *o)
{
	return !o->passphrase_file && !o->key_file && !o->key_command &&
	       !o->key_command_file;
}

/* Picks the protector kind from the options; -EINVAL when two are given. */
static int opts_kind(const struct vf_protector_opts *o, uint32_t *kind,
		     char *err, size_t errlen)
{
	int n = !!o->passphrase_file + !!o->key_file + !!o->key_command +
		!!o->key_command_file;

	if (n > 1) {
		seterr(err, errlen,
		       "choose one of --passphrase-file, --key-file, --key-command, --key-command-file");
		return -EINVAL;
	}
	if (o->passphrase_file)
		*kind = KIND_PASSPHRASE;
	else if (o->key_file)
		*kind = KIND_KEY_FILE;
	else if (o->key_command || o->key_command_file)
		*kind = KIND_KEY_COMMAND;
	else
		*kind = KIND_PLATFORM;
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

/*
 * Publishes data as dir/name with the given mode: temporary file, fsync,
 * rename without replacing, fsync of the directory.  Returns 0, -EEXIST
 * when dir/name exists, or -errno.
 */
static int write_durable(const char *dir, const char *name, const void *data,
			 size_t len, mode_t mode)
{
	char tmp[4096], dst[4096];
	const uint8_t *p = data;
	int fd = -1, rc;
	ssize_t n;

	rc = join(dst, sizeof(dst), dir, name);
	if (rc)
		return rc;
	n = snprintf(tmp, sizeof(tmp), "%s/.%s.tmp.%ld", dir, name,
		     (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp))
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
	fd = -1;
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dst, RENAME_NOREPLACE) < 0) {
		/* Filesystems without RENAME_NOREPLACE: link() does not
		 * replace either. */
		if (errno != EINVAL && errno != ENOSYS)
			goto fail_errno;
		if (link(tmp, dst) < 0)
			goto fail_errno;
		unlink(tmp);
	}
	rc = fsync_dir(dir);
	if (rc) {
		unlink(dst);
		return rc;
	}
	return 0;

fail_errno:
	rc = -errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return rc;
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

static int kek_key_file(const char *path, uint8_t kek[VF_KEY_BYTES],
			char *err, size_t errlen)
{
	size_t total = 0;
	struct stat sb;
	int fd, rc;

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
		close(fd);
		goto fail;
	}
	rc = hash_stream(fd, 0, kek, &total);
	close(fd);
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
	return 0;
fail:
	sodium_memzero(kek, VF_KEY_BYTES);
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

static int kek_passphrase(const char *path, const uint8_t salt[16],
			  uint64_t ops, uint64_t mem, uint8_t kek[VF_KEY_BYTES],
			  char *err, size_t errlen)
{
	char *pass;
	size_t got = 0, len;
	char *nl;
	int rc;

	pass = sodium_malloc(PASS_MAX + 1);
	if (!pass) {
		seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = read_small(path, pass, PASS_MAX, &got);
	if (rc) {
		seterr(err, errlen, "cannot read passphrase file '%s': %s",
		       path, strerror(-rc));
		goto out;
	}
	pass[got] = '\0';
	len = got;
	nl = memchr(pass, '\n', got);
	if (nl)
		len = (size_t)(nl - pass);
	if (len && pass[len - 1] == '\r')
		len--;
	if (len == 0) {
		rc = -EINVAL;
		seterr(err, errlen, "empty passphrase in '%s'", path);
		goto out;
	}
	if (crypto_pwhash(kek, VF_KEY_BYTES, pass, len, salt,
			  (unsigned long long)ops, (size_t)mem,
			  crypto_pwhash_ALG_ARGON2ID13) != 0) {
		rc = -ENOMEM;
		seterr(err, errlen, "out of memory deriving the passphrase key");
		goto out;
	}
out:
	sodium_memzero(pass, PASS_MAX + 1);
	sodium_free(pass);
	if (rc)
		sodium_memzero(kek, VF_KEY_BYTES);
	return rc;
}

static int keystore_path(char *buf, size_t len, const char *keystore,
			 const uint8_t id[VF_VAULT_ID_BYTES])
{
	char hex[VF_VAULT_ID_BYTES * 2 + 5];

	sodium_bin2hex(hex, sizeof(hex), id, VF_VAULT_ID_BYTES);
	memcpy(hex + VF_VAULT_ID_BYTES * 2, ".key", 5);
	return join(buf, len, keystore, hex);
}

static int kek_platform_read(const char *keystore,
			     const uint8_t id[VF_VAULT_ID_BYTES],
			     uint8_t kek[VF_KEY_BYTES], char *err,
			     size_t errlen)
{
	char path[4096];
	uint8_t *buf;
	size_t got = 0;
	int rc;

	rc = keystore_path(path, sizeof(path), keystore, id);
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

static int kek_platform_create(const char *keystore,
			       const uint8_t id[VF_VAULT_ID_BYTES],
			       uint8_t kek[VF_KEY_BYTES], char *path,
			       size_t pathlen, char *err, size_t errlen)
{
	char name[VF_VAULT_ID_BYTES * 2 + 5];
	int rc;

	rc = keystore_path(path, pathlen, keystore, id);
	if (rc) {
		seterr(err, errlen, "keystore path too long: %s", keystore);
		return rc;
	}
	rc = make_keystore_dir(keystore);
	if (rc) {
		seterr(err, errlen, "cannot create keystore '%s': %s",
		       keystore, strerror(-rc));
		return rc;
	}
	sodium_bin2hex(name, sizeof(name), id, VF_VAULT_ID_BYTES);
	memcpy(name + VF_VAULT_ID_BYTES * 2, ".key", 5);
	randombytes_buf(kek, VF_KEY_BYTES);
	rc = write_durable(keystore, name, kek, VF_KEY_BYTES, 0600);
	if (rc) {
		sodium_memzero(kek, VF_KEY_BYTES);
		seterr(err, errlen, "cannot write keystore key '%s': %s", path,
		       strerror(-rc));
		return rc;
	}
	return 0;
}

/* Reads and checks the header's plain fields (not the wrapped key). */
static int header_read(const char *vault_dir, struct header *h, char *err,
		       size_t errlen)
{
	char path[4096];
	uint8_t extra[HDR_BYTES + 1];
	size_t got = 0;
	int rc;

	rc = join(path, sizeof(path), vault_dir, VF_HEADER_NAME);
	if (rc) {
		seterr(err, errlen, "vault path too long: %s", vault_dir);
		return rc;
	}
	rc = read_small(path, extra, sizeof(extra), &got);
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
	if (got < HDR_OFF_ID || memcmp(extra, HDR_MAGIC, 8) != 0)
		goto corrupt;
	h->version = get32(extra + HDR_OFF_VERSION);
	if (h->version != VF_FORMAT_VERSION) {
		seterr(err, errlen,
		       "unsupported vault format %u (this build reads %d)",
		       h->version, VF_FORMAT_VERSION);
		return -EPROTO;
	}
	if (got != HDR_BYTES)
		goto corrupt;
	memcpy(h->raw, extra, HDR_BYTES);
	h->kind = get32(h->raw + HDR_OFF_KIND);
	h->ops = get64(h->raw + HDR_OFF_OPS);
	h->mem = get64(h->raw + HDR_OFF_MEM);
	if (h->kind < KIND_PLATFORM || h->kind > KIND_PASSPHRASE)
		goto corrupt;
	if (h->kind == KIND_PASSPHRASE &&
	    (h->ops < crypto_pwhash_OPSLIMIT_MIN || h->ops > HDR_MAX_OPS ||
	     h->mem < crypto_pwhash_MEMLIMIT_MIN || h->mem > HDR_MAX_MEM))
		goto corrupt;
	return 0;
corrupt:
	seterr(err, errlen, "corrupt vault header: %s", path);
	return -EIO;
}

int vf_protector_describe(const char *vault_dir,
			  const struct vf_protector_opts *o,
			  char id[2 * VF_VAULT_ID_BYTES + 1], char *where,
			  size_t cap)
{
	struct header h;
	char path[4096], err[256];
	int rc;

	rc = header_read(vault_dir, &h, err, sizeof(err));
	if (rc)
		return rc;
	sodium_bin2hex(id, 2 * VF_VAULT_ID_BYTES + 1, h.raw + HDR_OFF_ID,
		       VF_VAULT_ID_BYTES);
	switch (h.kind) {
	case KIND_PASSPHRASE:
		snprintf(where, cap, "the passphrase (as given in %s)",
			 o->passphrase_file ? o->passphrase_file : "a file");
		break;
	case KIND_KEY_FILE:
		snprintf(where, cap, "the key file %s",
			 o->key_file ? o->key_file : "given at init");
		break;
	case KIND_KEY_COMMAND:
		snprintf(where, cap, "what the key command prints%s%s",
			 o->key_command_file ? ", named in " : "",
			 o->key_command_file ? o->key_command_file : "");
		break;
	default:
		rc = keystore_path(path, sizeof(path),
				   o->keystore ? o->keystore :
						 VF_KEYSTORE_DEFAULT,
				   h.raw + HDR_OFF_ID);
		if (rc)
			return rc;
		snprintf(where, cap, "the platform key file %s", path);
		break;
	}
	return 0;
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
	uint8_t *kek = NULL;
	char *cmd = NULL;
	uint8_t hdr[HDR_BYTES];
	uint8_t salt[16] = { 0 };
	uint64_t ops = 0, mem = 0;
	uint32_t kind;
	struct stat st;
	int rc;

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
	kek = sodium_malloc(VF_KEY_BYTES);
	if (!kek) {
		rc = -ENOMEM;
		seterr(err, errlen, "out of memory");
		goto fail;
	}
	rc = vf_keys_generate(&keys);
	if (rc) {
		seterr(err, errlen, "out of memory");
		goto fail;
	}
	switch (kind) {
	case KIND_PASSPHRASE:
		ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
		mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
		randombytes_buf(salt, sizeof(salt));
		rc = kek_passphrase(o->passphrase_file, salt, ops, mem, kek,
				    err, errlen);
		break;
	case KIND_KEY_FILE:
		rc = kek_key_file(o->key_file, kek, err, errlen);
		break;
	case KIND_KEY_COMMAND:
		rc = key_command_of(o, &cmd, err, errlen);
		if (!rc)
			rc = kek_key_command(cmd, kek, err, errlen);
		break;
	default:
		rc = kek_platform_create(keystore, vf_keys_vault_id(keys), kek,
					 keypath, sizeof(keypath), err, errlen);
		if (rc)
			keypath[0] = '\0';
		break;
	}
	if (rc)
		goto fail;

	memset(hdr, 0, sizeof(hdr));
	memcpy(hdr, HDR_MAGIC, 8);
	put32(hdr + HDR_OFF_VERSION, VF_FORMAT_VERSION);
	memcpy(hdr + HDR_OFF_ID, vf_keys_vault_id(keys), VF_VAULT_ID_BYTES);
	put32(hdr + HDR_OFF_KIND, kind);
	put64(hdr + HDR_OFF_OPS, ops);
	put64(hdr + HDR_OFF_MEM, mem);
	memcpy(hdr + HDR_OFF_SALT, salt, sizeof(salt));
	vf_crypto_seal(kek, hdr, HDR_AD_BYTES, vf_keys_master(keys),
		       VF_KEY_BYTES, hdr + HDR_AD_BYTES);
	rc = write_durable(vault_dir, VF_HEADER_NAME, hdr, sizeof(hdr), 0600);
	if (rc == -EEXIST) {
		seterr(err, errlen, "vault already exists: %s", vault_dir);
		goto fail;
	}
	if (rc) {
		seterr(err, errlen, "cannot write vault header '%s': %s",
		       hdrpath, strerror(-rc));
		goto fail;
	}
	sodium_free(kek);
	if (cmd)
		sodium_free(cmd);
	*out = keys;
	return 0;

fail:
	if (cmd)
		sodium_free(cmd);
	/* Nothing half-written: a platform key without its header goes. */
	if (keypath[0]) {
		unlink(keypath);
		fsync_dir(keystore);
	}
	vf_keys_free(keys);
	if (kek)
		sodium_free(kek);
	return rc;
}

int vf_protector_unlock(const char *vault_dir,
			const struct vf_protector_opts *o, struct vf_keys **out,
			char *err, size_t errlen)
{
	const char *keystore = o->keystore ? o->keystore : VF_KEYSTORE_DEFAULT;
	struct header h;
	uint8_t *kek = NULL, *master = NULL;
	char *cmd = NULL;
	uint32_t kind;
	int rc;

	if (sodium_init() < 0) {
		seterr(err, errlen, "cannot initialise libsodium");
		return -ENOMEM;
	}
	rc = opts_kind(o, &kind, err, errlen);
	if (rc)
		return rc;
	rc = header_read(vault_dir, &h, err, errlen);
	if (rc)
		return rc;
	if (kind != h.kind) {
		char hint[160];

		opt_hint(o, kind_text(h.kind)->hint, hint, sizeof(hint));
		seterr(err, errlen, "vault is protected by %s; %s",
		       kind_text(h.kind)->name, hint);
		return -EINVAL;
	}
	kek = sodium_malloc(VF_KEY_BYTES);
	master = sodium_malloc(VF_KEY_BYTES);
	if (!kek || !master) {
		rc = -ENOMEM;
		seterr(err, errlen, "out of memory");
		goto out;
	}
	switch (kind) {
	case KIND_PASSPHRASE:
		rc = kek_passphrase(o->passphrase_file, h.raw + HDR_OFF_SALT,
				    h.ops, h.mem, kek, err, errlen);
		break;
	case KIND_KEY_FILE:
		rc = kek_key_file(o->key_file, kek, err, errlen);
		break;
	case KIND_KEY_COMMAND:
		rc = key_command_of(o, &cmd, err, errlen);
		if (!rc)
			rc = kek_key_command(cmd, kek, err, errlen);
		break;
	default:
		rc = kek_platform_read(keystore, h.raw + HDR_OFF_ID, kek, err,
				       errlen);
		break;
	}
	if (rc)
		goto out;
	rc = vf_crypto_open(kek, h.raw, HDR_AD_BYTES, h.raw + HDR_AD_BYTES,
			    HDR_WRAP_BYTES, master);
	if (rc) {
		seterr(err, errlen, "%s", kind_text(kind)->wrong);
		goto out;
	}
	rc = vf_keys_new(master, h.raw + HDR_OFF_ID, out);
	if (rc)
		seterr(err, errlen, "out of memory");
out:
	if (cmd)
		sodium_free(cmd);
	if (master)
		sodium_free(master);
	if (kek)
		sodium_free(kek);
	sodium_memzero(&h, sizeof(h));
	return rc;
}
