/*
 * key_client.c - vaultctl's side of the key commands (key_client.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "cmd_util.h"
#include "key_client.h"

/* The hex of secret (len bytes) in sodium_malloc'd memory, or NULL. */
static char *hex_of(const uint8_t *secret, size_t len)
{
	char *h = sodium_malloc(2 * len + 1);

	if (h)
		sodium_bin2hex(h, 2 * len + 1, secret, len);
	return h;
}

/* Removes argv[i] (and n - 1 more) from the NULL-terminated argv. */
static void take(int *argc, char **argv, int i, int n)
{
	memmove(argv + i, argv + i + n,
		(size_t)(*argc - i - n + 1) * sizeof(*argv));
	*argc -= n;
}

/* Takes "--name VALUE" or "--name=VALUE" out of argv (from index from on):
 * *val gets VALUE (borrowed from argv).  0, or 2 when it has no value. */
static int take_opt(int *argc, char **argv, int from, const char *name,
		    const char **val)
{
	size_t n = strlen(name);
	int i;

	for (i = from; i < *argc && strcmp(argv[i], "--"); i++) {
		if (strncmp(argv[i], name, n) ||
		    (argv[i][n] != '=' && argv[i][n]))
			continue;
		if (*val) {
			fprintf(stderr, "vaultctl: option '%s' given twice\n",
				name);
			return 2;
		}
		if (argv[i][n] == '=') {
			*val = argv[i] + n + 1;
			take(argc, argv, i, 1);
		} else {
			if (i + 1 >= *argc || !argv[i + 1][0]) {
				fprintf(stderr, "vaultctl: option '%s' needs a value\n",
					name);
				return 2;
			}
			*val = argv[i + 1];
			take(argc, argv, i, 2);
		}
		i--;
	}
	return 0;
}

static int take_flag(int *argc, char **argv, int from, const char *name)
{
	int i, found = 0;

	for (i = from; i < *argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], name)) {
			take(argc, argv, i, 1);
			found = 1;
			i--;
		}
	return found;
}

/* The operands after TARGET (options of key add: --json, --secret V,
 * and offline the key options). */
static int operands(int argc, char **argv, int t, int *pos, int cap)
{
	int i, n = 0;

	size_t len;

	for (i = t + 1; i < argc; i++) {
		/* an option with its value in the next argument */
		if (!strcmp(argv[i], "--secret") ||
		    (key_opt_match(argv[i], &len) >= 0 && !argv[i][len])) {
			i++;
			continue;
		}
		if (argv[i][0] == '-' && argv[i][1])
			continue;
		if (n < cap)
			pos[n] = i;
		n++;
	}
	return n;
}

/* A passphrase from file (or the terminal when NULL) as hex. */
static int passphrase_hex(const char *file, const char *what, int confirm,
			  char **hex)
{
	char *s = NULL;
	size_t len = 0;
	int rc;

	rc = read_passphrase(file, what, confirm, &s, &len, stderr);
	if (rc)
		return rc;
	*hex = hex_of((const uint8_t *)s, len);
	sodium_free(s);
	if (!*hex) {
		fprintf(stderr, "vaultctl: out of memory\n");
		return 1;
	}
	return 0;
}

static int prepare_add(int *argc, char **argv, int t, struct vf_key_client *kc)
{
	int pos[2], n = operands(*argc, argv, t, pos, 2), rc;
	uint8_t *s = NULL;
	char err[512] = "";
	uint32_t kind;
	size_t len = 0;

	if (n < 1 || n > 2 || vf_protector_kind_parse(argv[pos[0]], &kind))
		return 0; /* the command says what is wrong */
	if (kind == VF_PROT_PLATFORM || kind == VF_PROT_RECOVERY)
		return 0;
	if (kind == VF_PROT_PASSPHRASE) {
		rc = passphrase_hex(n == 2 ? argv[pos[1]] : NULL,
				    "new passphrase", 1, &kc->secrets[0]);
		if (rc)
			return rc;
	} else {
		if (n != 2) {
			fprintf(stderr, "vaultctl: key add: %s needs its %s\n",
				argv[pos[0]],
				kind == VF_PROT_KEY_FILE ? "FILE" : "CMD");
			return 2;
		}
		rc = vf_protector_secret(kind, argv[pos[1]], &s, &len, err,
					 sizeof(err));
		if (rc) {
			fprintf(stderr, "vaultctl: %s\n", err);
			return 1;
		}
		kc->secrets[0] = hex_of(s, len);
		sodium_free(s);
		if (!kc->secrets[0]) {
			fprintf(stderr, "vaultctl: out of memory\n");
			return 1;
		}
	}
	if (n == 2)
		take(argc, argv, pos[1], 1);
	argv[(*argc)++] = "--secret";
	argv[(*argc)++] = kc->secrets[0];
	argv[*argc] = NULL;
	return 0;
}

static int prepare_passphrase(int *argc, char **argv, int t,
			      struct vf_key_client *kc)
{
	const char *cur = NULL, *next = NULL, *unlock = NULL;
	int rc;

	rc = take_opt(argc, argv, t + 1, "--current-passphrase-file", &cur);
	if (!rc)
		rc = take_opt(argc, argv, t + 1, "--new-passphrase-file", &next);
	if (rc)
		return rc;
	/* offline, the passphrase that opens the vault is the current one */
	if (!cur) {
		int i;

		for (i = t + 1; i + 1 < *argc; i++)
			if (!strcmp(argv[i], "--passphrase-file"))
				unlock = argv[i + 1];
		cur = unlock;
	}
	rc = passphrase_hex(cur, "current passphrase", 0, &kc->secrets[0]);
	if (!rc)
		rc = passphrase_hex(next, "new passphrase", 1, &kc->secrets[1]);
	if (rc)
		return rc;
	argv[(*argc)++] = "--current-secret";
	argv[(*argc)++] = kc->secrets[0];
	argv[(*argc)++] = "--new-secret";
	argv[(*argc)++] = kc->secrets[1];
	argv[*argc] = NULL;
	return 0;
}

int vf_key_client_prepare(int *argc, char ***argv,
			  const struct vf_cmd_info *info,
			  struct vf_key_client *kc)
{
	char **av = *argv, **copy;
	int t = info->target, rc = 0;

	memset(kc, 0, sizeof(*kc));
	kc->saved = -1;
	if (*argc < 2 || t < 0 || info->help)
		return 0;
	if (strcmp(av[0], "key") && strcmp(av[0], "passphrase"))
		return 0;
	if (sodium_init() < 0) {
		fprintf(stderr, "vaultctl: cannot initialise libsodium\n");
		return 1;
	}
	/* room for four more arguments */
	copy = calloc((size_t)*argc + 5, sizeof(*copy));
	if (!copy) {
		fprintf(stderr, "vaultctl: out of memory\n");
		return 1;
	}
	memcpy(copy, av, (size_t)*argc * sizeof(*copy));
	kc->argv = copy;
	if (!strcmp(av[0], "passphrase") && !strcmp(av[1], "change")) {
		rc = prepare_passphrase(argc, copy, t, kc);
	} else if (!strcmp(av[1], "add")) {
		rc = prepare_add(argc, copy, t, kc);
	} else if (!strcmp(av[1], "export") || !strcmp(av[1], "rotate")) {
		kc->rotate = !strcmp(av[1], "rotate");
		rc = take_opt(argc, copy, t + 1, "--out", &kc->out);
		if (!rc && kc->out && (!strcmp(kc->out, "-") || !kc->out[0])) {
			fprintf(stderr, "vaultctl: option '--out' needs a FILE\n");
			rc = 2;
		}
		kc->words = take_flag(argc, copy, t + 1, "--words");
		if (!rc && kc->words && !kc->out) {
			fprintf(stderr, "vaultctl: option '--words' needs --out FILE\n");
			rc = 2;
		}
		if (!rc && kc->out) {
			copy[(*argc)++] = "--out";
			copy[(*argc)++] = "-";
			copy[*argc] = NULL;
		}
	}
	*argv = copy;
	return rc;
}

int vf_key_client_begin(struct vf_key_client *kc)
{
	struct stat st;
	int fd;

	if (!kc->out)
		return 0;
	if (lstat(kc->out, &st) == 0) {
		fprintf(stderr, "vaultctl: '%s' exists: a recovery key is never written over a file\n",
			kc->out);
		return 1;
	}
	if (asprintf(&kc->tmp, "%s.XXXXXX", kc->out) < 0) {
		kc->tmp = NULL;
		fprintf(stderr, "vaultctl: out of memory\n");
		return 1;
	}
	/* mkostemp makes the file 0600 */
	fd = mkostemp(kc->tmp, O_CLOEXEC);
	if (fd < 0)
		goto fail;
	fflush(stdout);
	kc->saved = dup(STDOUT_FILENO);
	if (kc->saved < 0 || dup2(fd, STDOUT_FILENO) < 0) {
		int e = errno;

		close(fd);
		unlink(kc->tmp);
		errno = e;
		goto fail;
	}
	close(fd);
	return 0;
fail:
	fprintf(stderr, "vaultctl: cannot write '%s': %s\n", kc->out,
		strerror(errno));
	free(kc->tmp);
	kc->tmp = NULL;
	return 1;
}

/* Prints the key line of text for paper: two lines of seven groups. */
static void print_words(const char *text)
{
	const char *p = strstr(text, "\nVFRK-");
	int g = 0;

	if (!p)
		return;
	p += 6;
	fputs("Recovery key, to copy on paper (letters I, L, O, U are never used; the\n"
	      "last characters are a checksum that catches a typo):\n\n  VFRK\n  ",
	      stdout);
	for (; *p && *p != '\n'; p++) {
		if (*p == '-') {
			fputs(++g % 7 ? " " : "\n  ", stdout);
			continue;
		}
		putchar(*p);
	}
	fputs("\n\nTo use it, type it into a file (groups and line breaks as you like)\n"
	      "and give that file as the key file.\n", stdout);
}

static void free_kc(struct vf_key_client *kc)
{
	int i;

	for (i = 0; i < 2; i++)
		if (kc->secrets[i]) {
			sodium_memzero(kc->secrets[i], strlen(kc->secrets[i]));
			sodium_free(kc->secrets[i]);
		}
	free(kc->argv);
	free(kc->tmp);
	memset(kc, 0, sizeof(*kc));
	kc->saved = -1;
}

int vf_key_client_end(struct vf_key_client *kc, int rc)
{
	char *text = NULL, err[256] = "", *dir = NULL;
	uint64_t id = 0;
	struct stat st;
	size_t got = 0;
	FILE *f;

	if (!kc->tmp) {
		free_kc(kc);
		return rc;
	}
	if ((fflush(stdout) != 0 || fsync(STDOUT_FILENO) < 0) && rc == 0) {
		fprintf(stderr, "vaultctl: writing '%s' failed: %s\n", kc->out,
			strerror(errno));
		rc = 1;
	}
	dup2(kc->saved, STDOUT_FILENO);
	close(kc->saved);
	if (rc == 0 && stat(kc->tmp, &st) == 0 && st.st_size == 0) {
		/* key rotate on a vault without a recovery key */
		fprintf(stderr, "vaultctl: the vault had no recovery key to replace: '%s' not written\n",
			kc->out);
		goto out;
	}
	text = sodium_malloc(VF_RECOVERY_TEXT_MAX + 1);
	f = text && rc == 0 ? fopen(kc->tmp, "re") : NULL;
	if (f) {
		got = fread(text, 1, VF_RECOVERY_TEXT_MAX, f);
		fclose(f);
		text[got] = '\0';
	}
	if (rc == 0 && vf_protector_recovery_check(text ? text : "", got, &id,
						    err, sizeof(err)) != 1) {
		fprintf(stderr, "vaultctl: the daemon sent no recovery key%s%s\n",
			err[0] ? ": " : "", err);
		rc = 1;
	}
	if (rc == 0 && link(kc->tmp, kc->out) < 0) {
		fprintf(stderr, "vaultctl: cannot write '%s': %s (the new recovery key protector %016llx exists: remove it with key remove)\n",
			kc->out, strerror(errno), (unsigned long long)id);
		rc = 1;
	}
	if (rc == 0 && (dir = strdup(kc->out))) {
		int fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (fd >= 0) {
			fsync(fd);
			close(fd);
		}
		free(dir);
	}
	if (rc == 0) {
		printf("wrote %srecovery key %016llx to %s: it opens the vault on its own, keep it offline\n",
		       kc->rotate ? "the new " : "", (unsigned long long)id,
		       kc->out);
		if (kc->words)
			print_words(text);
	}
out:
	unlink(kc->tmp);
	if (text) {
		sodium_memzero(text, VF_RECOVERY_TEXT_MAX + 1);
		sodium_free(text);
	}
	free_kc(kc);
	return rc;
}
