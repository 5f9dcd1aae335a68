/*
 * banned.h - functions we never call: unbounded copies, non-reentrant
 * parsers and clocks.  Included last by common.h so every file gets it.
 */
#ifndef VF_BANNED_H
#define VF_BANNED_H

/* The headers that declare them come first: with _FORTIFY_SOURCE (the
 * Debian package's build flags) they define inline wrappers named like
 * the functions, which the macros below would otherwise rewrite. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#define VF_BANNED(f) sorry_##f##_is_banned

#undef strcpy
#define strcpy(a, b) VF_BANNED(strcpy)
#undef strcat
#define strcat(a, b) VF_BANNED(strcat)
#undef sprintf
#define sprintf(...) VF_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) VF_BANNED(vsprintf)
#undef strtok
#define strtok(a, b) VF_BANNED(strtok)
#undef gmtime
#define gmtime(t) VF_BANNED(gmtime)
#undef localtime
#define localtime(t) VF_BANNED(localtime)
#undef asctime
#define asctime(t) VF_BANNED(asctime)
#undef ctime
#define ctime(t) VF_BANNED(ctime)
#undef gets
#define gets(s) VF_BANNED(gets)

#endif
