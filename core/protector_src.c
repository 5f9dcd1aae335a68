/*
 * protector_src.c - where key-encryption keys come from (formats at the
 * top of protector.c; docs/keys.md): durable small files, key files and
 * key commands, recovery keys, passphrases and the platform keystore.
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

int vf_prot_join(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

int vf_prot_fsync_dir(const char *dir)
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
int vf_prot_write_temp(const char *dir, const char *name, const void *data,
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
int vf_prot_publish(const char *tmp, const char *dir, const char *name,
		    int replace)
{
	char dst[4096];
	int rc;

	rc = vf_prot_join(dst, sizeof(dst), dir, name);
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
	rc = vf_prot_fsync_dir(dir);
	if (rc && !replace)
		unlink(dst);
	return rc;
}

/*
 * Publishes data as dir/name with the given mode: temporary file, fsync,
 * rename without replacing, fsync of the directory.  Returns 0, -EEXIST
 * when dir/name exists, or -errno.
 */
int vf_prot_write_durable(const char *dir, const char *name, const void *data,
			  size_t len, mode_t mode)
{
	char tmp[4096];
	int rc =
	    vf_prot_write_temp(dir, name, data, len, mode, tmp, sizeof(tmp));

	return rc ? rc : vf_prot_publish(tmp, dir, name, 0);
}

/* Reads at most len bytes of path into buf; *got is the count.  Returns 0
 * or -errno. */
int vf_prot_read_small(const char *path, void *buf, size_t len, size_t *got)
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
int vf_prot_key_command_of(const struct vf_protector_opts *o, char **cmd,
			   char *err, size_t errlen)
{
	struct stat st;
	size_t got = 0, n;
	char *buf;
	int fd, rc;

	buf = sodium_malloc(KEY_COMMAND_MAX + 1);
	if (!buf) {
		vf_prot_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (!o->key_command_file) {
		n = strlen(o->key_command);
		if (n > KEY_COMMAND_MAX) {
			rc = -E2BIG;
			vf_prot_seterr(err, errlen, "key command too long");
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
		vf_prot_seterr(err, errlen,
			       "cannot read key command file '%s': %s",
			       o->key_command_file, strerror(-rc));
		if (fd >= 0)
			close(fd);
		goto fail;
	}
	close(fd);
	rc = 0;
	if (!S_ISREG(st.st_mode))
		vf_prot_seterr(err, errlen,
			       "key command file '%s' is not a regular "
			       "file",
			       o->key_command_file),
		    rc = -EINVAL;
	else if (st.st_mode & 077)
		vf_prot_seterr(err, errlen,
			       "key command file '%s' is readable or "
			       "writable by others (mode %04o): chmod 600 it",
			       o->key_command_file, st.st_mode & 07777),
		    rc = -EPERM;
	else if (st.st_uid != 0 && st.st_uid != geteuid())
		vf_prot_seterr(err, errlen,
			       "key command file '%s' belongs to uid %u, "
			       "not to root",
			       o->key_command_file, (unsigned)st.st_uid),
		    rc = -EPERM;
	else if (st.st_size > KEY_COMMAND_MAX)
		vf_prot_seterr(err, errlen,
			       "key command file '%s' is larger than %d "
			       "bytes",
			       o->key_command_file, KEY_COMMAND_MAX),
		    rc = -EFBIG;
	if (!rc)
		rc = vf_prot_read_small(o->key_command_file, buf,
					KEY_COMMAND_MAX, &got);
	if (rc) {
		if (!err[0] || rc == -EIO)
			vf_prot_seterr(err, errlen,
				       "cannot read key command file "
				       "'%s': %s",
				       o->key_command_file, strerror(-rc));
		goto fail;
	}
	buf[got] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (!buf[0]) {
		rc = -EINVAL;
		vf_prot_seterr(err, errlen,
			       "key command file '%s' has no command on its "
			       "first line",
			       o->key_command_file);
		goto fail;
	}
	*cmd = buf;
	return 0;
fail:
	sodium_free(buf);
	return rc;
}

int vf_prot_kek_key_command(const char *cmd, uint8_t kek[VF_KEY_BYTES],
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
		vf_prot_seterr(err, errlen, "cannot run key command: %s",
			       strerror(-rc));
		return rc;
	}
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		vf_prot_seterr(err, errlen, "cannot run key command: %s",
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
		vf_prot_seterr(err, errlen,
			       "key command timed out (no end of output "
			       "after %d s)",
			       KEY_COMMAND_TIMEOUT_MS / 1000);
		goto fail;
	}
	if (rc == -EFBIG) {
		vf_prot_seterr(err, errlen,
			       "key command printed too much (more than "
			       "%d bytes)",
			       KEY_INPUT_MAX);
		goto fail;
	}
	if (rc) {
		vf_prot_seterr(err, errlen,
			       "cannot read key command output: %s",
			       strerror(-rc));
		goto fail;
	}
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		rc = -EIO;
		if (st != -1 && WIFEXITED(st))
			vf_prot_seterr(err, errlen,
				       "key command failed (exit status %d)",
				       WEXITSTATUS(st));
		else
			vf_prot_seterr(err, errlen, "key command failed");
		goto fail;
	}
	if (total < VF_KEY_BYTES) {
		rc = -EINVAL;
		vf_prot_seterr(err, errlen,
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
void vf_prot_rk_kek(const uint8_t rk[VF_KEY_BYTES], uint8_t kek[VF_KEY_BYTES])
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
		vf_prot_seterr(err, errlen, "out of memory");
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
			vf_prot_seterr(err, errlen,
				       "malformed recovery key: expected %d "
				       "base32 characters after VFRK",
				       RK_CHARS);
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
		vf_prot_seterr(err, errlen,
			       "malformed recovery key: expected %d base32 "
			       "characters after VFRK, found %zu",
			       RK_CHARS, nd);
		goto out;
	}
	rk_checksum(raw, sum);
	if (sodium_memcmp(sum, raw + VF_KEY_BYTES, RK_SUM)) {
		rc = -EINVAL;
		vf_prot_seterr(err, errlen,
			       "recovery key has a typo: its checksum does "
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
char *vf_prot_rk_text(const uint8_t key[VF_KEY_BYTES],
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
int vf_prot_kek_key_file(const char *path, uint8_t kek[VF_KEY_BYTES],
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
		vf_prot_seterr(err, errlen, "cannot read key file '%s': %s",
			       path, strerror(errno));
		return rc;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		rc = -EINVAL;
		vf_prot_seterr(err, errlen,
			       "cannot read key file '%s': not a regular "
			       "file",
			       path);
		goto fail;
	}
	if (sb.st_size > 0 && sb.st_size < RK_TEXT_MAX) {
		text = sodium_malloc(RK_TEXT_MAX);
		rk = sodium_malloc(VF_KEY_BYTES);
		if (!text || !rk) {
			rc = -ENOMEM;
			vf_prot_seterr(err, errlen, "out of memory");
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
			vf_prot_seterr(err, errlen, "key file '%s': %s", path,
				       why);
			goto fail;
		}
		if (rc == 1) {
			vf_prot_rk_kek(rk, kek);
			*recovery = 1;
			rc = 0;
			goto out;
		}
		if (lseek(fd, 0, SEEK_SET) < 0) {
			rc = -errno;
			vf_prot_seterr(err, errlen,
				       "cannot read key file '%s': %s", path,
				       strerror(errno));
			goto fail;
		}
	}
	rc = hash_stream(fd, 0, kek, &total);
	if (rc == -EFBIG) {
		vf_prot_seterr(err, errlen,
			       "key file '%s' is too large (more than "
			       "%d bytes)",
			       path, KEY_INPUT_MAX);
		goto fail;
	}
	if (rc) {
		vf_prot_seterr(err, errlen, "cannot read key file '%s': %s",
			       path, strerror(-rc));
		goto fail;
	}
	if (total < VF_KEY_BYTES) {
		rc = -EINVAL;
		vf_prot_seterr(err, errlen,
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
int vf_prot_read_passphrase(const char *path, char **pass, size_t *len,
			    char *err, size_t errlen)
{
	size_t got = 0, n;
	char *buf, *nl;
	int rc;

	buf = sodium_malloc(PASS_MAX + 1);
	if (!buf) {
		vf_prot_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = vf_prot_read_small(path, buf, PASS_MAX, &got);
	if (rc) {
		vf_prot_seterr(err, errlen,
			       "cannot read passphrase file '%s': %s", path,
			       strerror(-rc));
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
		vf_prot_seterr(err, errlen, "empty passphrase in '%s'", path);
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

int vf_prot_kek_passphrase(const char *pass, size_t len, const uint8_t salt[16],
			   uint64_t ops, uint64_t mem, uint8_t kek[VF_KEY_BYTES],
			   char *err, size_t errlen)
{
	int rc = vf_passphrase_kdf(pass, len, salt, ops, mem, kek);

	if (rc)
		vf_prot_seterr(err, errlen, "%s deriving the passphrase key",
			       rc == -ENOMEM ? "out of memory" : "bad parameters");
	return rc;
}

/* KEYSTORE/<vault-id-hex>.key, or with suffix ".key.new". */
int vf_prot_keystore_name(char *buf, size_t len,
			  const uint8_t id[VF_VAULT_ID_BYTES], const char *suffix)
{
	char hex[VF_VAULT_ID_BYTES * 2 + 1];
	int n;

	sodium_bin2hex(hex, sizeof(hex), id, VF_VAULT_ID_BYTES);
	n = snprintf(buf, len, "%s%s", hex, suffix);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int vf_prot_keystore_path(char *buf, size_t len, const char *keystore,
			  const uint8_t id[VF_VAULT_ID_BYTES], const char *suffix)
{
	char name[VF_VAULT_ID_BYTES * 2 + 16];
	int rc = vf_prot_keystore_name(name, sizeof(name), id, suffix);

	return rc ? rc : vf_prot_join(buf, len, keystore, name);
}

/* Reads the platform key KEYSTORE/<id><suffix> into kek. */
int vf_prot_kek_platform_read(const char *keystore,
			      const uint8_t id[VF_VAULT_ID_BYTES],
			      const char *suffix, uint8_t kek[VF_KEY_BYTES],
			      char *err, size_t errlen)
{
	char path[4096];
	uint8_t *buf;
	size_t got = 0;
	int rc;

	rc = vf_prot_keystore_path(path, sizeof(path), keystore, id, suffix);
	if (rc) {
		vf_prot_seterr(err, errlen, "keystore path too long: %s",
			       keystore);
		return rc;
	}
	buf = sodium_malloc(VF_KEY_BYTES + 1);
	if (!buf) {
		vf_prot_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = vf_prot_read_small(path, buf, VF_KEY_BYTES + 1, &got);
	if (rc == -ENOENT) {
		vf_prot_seterr(err, errlen, "keystore key not found: %s", path);
		goto out;
	}
	if (rc) {
		vf_prot_seterr(err, errlen, "cannot read keystore key '%s': %s",
			       path, strerror(-rc));
		goto out;
	}
	if (got != VF_KEY_BYTES) {
		rc = -EIO;
		vf_prot_seterr(err, errlen, "corrupt keystore key: %s", path);
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
int vf_prot_make_keystore_dir(const char *path)
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

int vf_protector_secret(uint32_t kind, const char *arg, uint8_t **secret,
			size_t *len, char *err, size_t errlen)
{
	struct vf_protector_opts o;
	uint8_t *buf = NULL;
	char *cmd = NULL, *pass = NULL;
	int rc, recovery = 0;

	if (sodium_init() < 0) {
		vf_prot_seterr(err, errlen, "cannot initialise libsodium");
		return -ENOMEM;
	}
	if (kind == VF_PROT_PASSPHRASE) {
		size_t n = 0;

		rc = vf_prot_read_passphrase(arg, &pass, &n, err, errlen);
		if (rc)
			return rc;
		*secret = (uint8_t *)pass;
		*len = n;
		return 0;
	}
	if (kind != VF_PROT_KEY_FILE && kind != VF_PROT_KEY_COMMAND) {
		vf_prot_seterr(err, errlen, "a %s protector takes no key",
			       vf_protector_kind_name(kind));
		return -EINVAL;
	}
	buf = sodium_malloc(VF_KEY_BYTES);
	if (!buf) {
		vf_prot_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (kind == VF_PROT_KEY_FILE) {
		rc = vf_prot_kek_key_file(arg, buf, &recovery, err, errlen);
		if (!rc && recovery) {
			rc = -EINVAL;
			vf_prot_seterr(err, errlen,
				       "'%s' is a recovery key: make a new "
				       "one with key export instead",
				       arg);
		}
	} else {
		memset(&o, 0, sizeof(o));
		o.key_command = arg;
		rc = vf_prot_key_command_of(&o, &cmd, err, errlen);
		if (!rc)
			rc = vf_prot_kek_key_command(cmd, buf, err, errlen);
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
