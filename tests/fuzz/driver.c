/*
 * driver.c - replays saved fuzz inputs without libFuzzer.
 *
 * Usage: fuzz-TARGET PATH...  Each PATH is a file or a directory whose
 * files (recursively, in name order) are read whole and handed to
 * LLVMFuzzerTestOneInput, one call per file, exactly as libFuzzer would.
 * A crash, leak or sanitizer report is the failure signal; the driver
 * itself prints nothing on success and exits 0, 1 when an input cannot be
 * read, 2 on usage.  make check runs it over tests/fuzz/corpus/TARGET/.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_path(const char *path);

/* Reads path whole into a malloc'd buffer of exactly its size (so ASan
 * sees any read past the input's end).  Returns 0 or 1 with a message. */
static int load(const char *path, uint8_t **out, size_t *outlen)
{
	uint8_t *buf = NULL, *b;
	size_t cap = 4096, n = 0, r;
	FILE *f;
	int rc = 1;

	f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "cannot open '%s': %s\n", path,
			strerror(errno));
		return 1;
	}
	for (;;) {
		b = realloc(buf, cap);
		if (!b) {
			fprintf(stderr, "cannot load '%s': out of memory\n",
				path);
			goto out;
		}
		buf = b;
		r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (n < cap)
			break;
		cap *= 2;
	}
	if (ferror(f)) {
		fprintf(stderr, "cannot read '%s'\n", path);
		goto out;
	}
	b = realloc(buf, n ? n : 1);
	if (b)
		buf = b;
	*out = buf;
	*outlen = n;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	fclose(f);
	return rc;
}

static int run_file(const char *path)
{
	uint8_t *data;
	size_t n;

	if (load(path, &data, &n))
		return 1;
	LLVMFuzzerTestOneInput(data, n);
	free(data);
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int run_dir(const char *path)
{
	struct dirent **ents = NULL;
	int i, n, rc = 0;

	n = scandir(path, &ents, NULL, by_name);
	if (n < 0) {
		fprintf(stderr, "cannot list '%s': %s\n", path,
			strerror(errno));
		return 1;
	}
	for (i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;
		size_t len = strlen(path) + strlen(name) + 2;
		char *child;

		if (!strcmp(name, ".") || !strcmp(name, "..") || rc)
			continue;
		child = malloc(len);
		if (!child) {
			fprintf(stderr, "cannot list '%s': out of memory\n",
				path);
			rc = 1;
			continue;
		}
		snprintf(child, len, "%s/%s", path, name);
		rc = run_path(child);
		free(child);
	}
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	return rc;
}

static int run_path(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "cannot stat '%s': %s\n", path,
			strerror(errno));
		return 1;
	}
	if (S_ISDIR(st.st_mode))
		return run_dir(path);
	if (!S_ISREG(st.st_mode))
		return 0;
	return run_file(path);
}

int main(int argc, char **argv)
{
	int i;

	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH...\n", argv[0]);
		return 2;
	}
	for (i = 1; i < argc; i++)
		if (run_path(argv[i]))
			return 1;
	return 0;
}
