/*
 * common.h - definitions shared by every core module.
 *
 * The errno vocabulary of the whole project is listed here, once.  Core
 * functions return 0 or a negative errno; positive values only where a
 * header says so.
 *
 *   EACCES   the caller has no role that allows the operation
 *   EPERM    refused by immutability, retention or a missing approval
 *   ENOENT, EEXIST, ENOTDIR, EISDIR, ENOTEMPTY, ENAMETOOLONG, EINVAL
 *            as in POSIX
 *   EROFS    a read-only view (.snapshots, .versions) or a read-only mount
 *   ENOSPC   the backing disk is full
 *   EBADMSG  authentication failed (tampering, wrong key); fs/ maps it to EIO
 *   EIO      disk failure or damaged data
 *   ENOMEM   out of memory
 *   EPROTO   a newer or unknown on-disk format
 */
#ifndef VF_COMMON_H
#define VF_COMMON_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define VF_MUST __attribute__((warn_unused_result))
#define VF_NONNULL(...) __attribute__((nonnull(__VA_ARGS__)))
#define VF_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define VF_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define VF_NS 1000000000LL /* nanoseconds per second */

/* Nanoseconds since the epoch: the wall clock (tests move it with
 * libfaketime).  Decisions on time read the vault clock instead
 * (vf_vault_now, vclock.h), which counts only a bounded part of a jump. */
int64_t vf_clock_now(void);
/* Nanoseconds of CLOCK_MONOTONIC: only the vault clock (vclock.c) reads
 * it, to count time that passed while the vault is open. */
int64_t vf_clock_mono(void);

/* *out = a * b; returns 0, or -ENOMEM when the product overflows. */
VF_MUST int vf_mul(size_t a, size_t b, size_t *out);

/* Formats t (ns since the epoch) as ISO-8601 UTC "2026-11-28T20:13:07Z"
 * into buf (at least 21 bytes). */
void vf_time_format(int64_t t, char buf[static 32]);

/* Parses "2026-11-28T20:13:07Z" (also without the Z, or with fractional
 * seconds) into ns since the epoch; returns 0 or -EINVAL. */
VF_MUST int vf_time_parse(const char *s, int64_t *out);

#include "banned.h"

/* "a/b" in a malloc'd string (caller frees), or NULL. */
char *vf_path_join(const char *a, const char *b);

/* fsync of the directory holding path ("." without a slash), so a new or
 * renamed entry there survives a crash.  0 or -errno. */
VF_MUST int vf_fsync_parent(const char *path);

#endif
