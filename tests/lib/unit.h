/*
 * unit.h - the few assertion macros the unit tests need.
 *
 * A test binary defines test functions and lists them in main with
 * RUN(fn).  Each prints "PASS name" or "FAIL name" on stdout; a failed
 * CHECK prints file:line and the expression on stderr and fails the test
 * (the test goes on, so one run shows every broken check).  main returns
 * unit_exit(): 0 when everything passed.  tests/run.sh counts the lines.
 */
#ifndef VF_UNIT_H
#define VF_UNIT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int unit_cur_failed, unit_any_failed;

#define CHECK(cond)                                                        \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "%s:%d: check failed: %s\n",       \
				__FILE__, __LINE__, #cond);                \
			unit_cur_failed = 1;                               \
		}                                                          \
	} while (0)

#define CHECK_EQ(a, b)                                                     \
	do {                                                               \
		long long unit_a_ = (long long)(a), unit_b_ = (long long)(b); \
		if (unit_a_ != unit_b_) {                                  \
			fprintf(stderr, "%s:%d: check failed: %s == %s "   \
				"(%lld != %lld)\n", __FILE__, __LINE__, #a, \
				#b, unit_a_, unit_b_);                     \
			unit_cur_failed = 1;                               \
		}                                                          \
	} while (0)

#define RUN(fn)                                                            \
	do {                                                               \
		unit_cur_failed = 0;                                       \
		fn();                                                      \
		printf("%s %s\n", unit_cur_failed ? "FAIL" : "PASS", #fn); \
		fflush(stdout);                                            \
		if (unit_cur_failed)                                       \
			unit_any_failed = 1;                               \
	} while (0)

/* Makes a fresh private directory /tmp/<name>.<6 random characters>
 * (mkdtemp) in buf; returns buf, or NULL. */
static inline char *unit_tmpdir(char *buf, size_t n, const char *name)
{
	int len = snprintf(buf, n, "/tmp/%s.", name);

	if (len < 0 || (size_t)len + 7 > n)
		return NULL;
	memset(buf + len, 'X', 6); /* the mkdtemp template */
	buf[len + 6] = '\0';
	return mkdtemp(buf);
}

static inline int unit_exit(void)
{
	return unit_any_failed ? 1 : 0;
}

#endif
