/*
 * cmd_util.c - what the vaultctl commands share: argument parsing, number,
 * duration and path parsing, output helpers, the mount table.
 *
 * Nothing here touches globals, stdout/stderr or the process identity:
 * the commands also run in the daemon (see cmds.c).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <termios.h>
#include <getopt.h>
#include <json-c/json.h>
#include <pthread.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <sodium.h>

#include "cmd_util.h"

void print_usage(FILE *f, const struct cmd *c)
{
	fprintf(f, "usage: vaultctl %s\n", c->usage);
}

/* Prints "vaultctl: " and the reason (one line), then c's usage line.
 * Returns 2, the usage exit code. */
int VF_PRINTF(3, 4) usage_error(FILE *err, const struct cmd *c,
	      const char *fmt, ...)
{
	va_list ap;

	fputs("vaultctl: ", err);
	va_start(ap, fmt);
	vfprintf(err, fmt, ap);
	va_end(ap);
	fputc('\n', err);
	print_usage(err, c);
	return 2;
}

/* Name of a command for messages: "check" or "softdelete list". */
void cmd_name(const struct cmd *c, char *buf, size_t cap)
{
	if (c->verb)
		snprintf(buf, cap, "%s %s", c->group, c->verb);
	else
		snprintf(buf, cap, "%s", c->group);
}

/*
 * getopt_long keeps its state in globals (optind, optarg, optopt and
 * glibc's hidden scan position), and the commands run in the daemon on
 * several threads at once.  Resetting (optind = 0, which makes glibc
 * start a fresh scan) is not enough when two threads parse at the same
 * time, so every parse holds this lock from the reset to its last call.
 * Nothing else in the programs calls getopt while commands run.
 */
static pthread_mutex_t getopt_lock = PTHREAD_MUTEX_INITIALIZER;

#define OPT_MAX 16     /* options of one command, --help aside */

/* The short forms some long flags also have (zfs list's -p and -H). */
static const struct {
	char ch;
	const char *name;
} short_opts[] = {
	{ 'p', "bytes" },
	{ 'H', "no-header" },
};

/* The short form of long option name, or 0. */
static char short_of(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(short_opts) / sizeof(short_opts[0]); i++)
		if (!strcmp(short_opts[i].name, name))
			return short_opts[i].ch;
	return 0;
}
#define OPT_VAL 0x100  /* getopt_long's val for option i: OPT_VAL + i */

/* The text of the option getopt_long just returned ("--tag" or
 * "--tag=x"): av[optind - 1], or the one before when the value was the
 * next argument.  Call with getopt_lock held. */
static const char *opt_text(char **av, const struct option *lo)
{
	if (lo->has_arg && optarg == av[optind - 1] && optind >= 2)
		return av[optind - 2];
	return av[optind - 1];
}

/* See cmd_util.h. */
int parse_args(const struct cmd *c, FILE *err, int argc, char **argv,
	       const struct opt *opts, char **pos, int minpos, int maxpos)
{
	struct option lo[OPT_MAX + 1];
	const struct opt *map[OPT_MAX];
	unsigned char seen[OPT_MAX] = { 0 };
	const struct opt *o;
	const char *txt, *a;
	char name[64], **av, shorts[8] = "-:";
	int i, k, n = 0, npos = 0, ch, rc = 2;
	size_t len, ns = 2;

	cmd_name(c, name, sizeof(name));
	/* getopt_long sees the options of c's row (what --help and
	 * vf_cmds_locate know) that this command stores somewhere. */
	for (i = 0; c->opts && c->opts[i].name && n < OPT_MAX; i++) {
		for (o = opts; o && o->name; o++)
			if (!strcmp(o->name + 2, c->opts[i].name))
				break;
		if (!o || !o->name)
			continue;
		lo[n].name = c->opts[i].name;
		lo[n].has_arg = c->opts[i].arg ? required_argument : no_argument;
		lo[n].flag = NULL;
		lo[n].val = OPT_VAL + n;
		if (short_of(lo[n].name) && ns + 1 < sizeof(shorts))
			shorts[ns++] = short_of(lo[n].name);
		map[n++] = o;
	}
	shorts[ns] = '\0';
	memset(&lo[n], 0, sizeof(lo[n]));
	/* getopt_long wants a program name in av[0]. */
	av = calloc((size_t)argc + 2, sizeof(*av));
	if (!av) {
		fprintf(err, "vaultctl: %s: out of memory\n", name);
		return 1;
	}
	av[0] = (char *)"vaultctl";
	for (i = 0; i < argc; i++)
		av[i + 1] = argv[i];

	pthread_mutex_lock(&getopt_lock);
	optind = 0;
	opterr = 0;
	/* "-": operands come back in order as 1, so options may come
	 * before, between or after them; ":": a missing value is ':'. */
	while ((ch = getopt_long(argc + 1, av, shorts, lo, NULL)) != -1) {
		if (ch == 1) {
			if (npos >= maxpos) {
				fprintf(err, "vaultctl: %s: unexpected argument '%s'\n",
					name, optarg);
				goto out;
			}
			pos[npos++] = optarg;
			continue;
		}
		if (ch == ':') {
			fprintf(err, "vaultctl: %s: option '--%s' needs a value\n",
				name, lo[optopt - OPT_VAL].name);
			goto out;
		}
		if (ch == '?') {
			if (optopt > 0 && optopt < OPT_VAL)
				fprintf(err, "vaultctl: %s: unknown option '-%c'\n",
					name, optopt);
			else
				fprintf(err, "vaultctl: %s: unknown option '%s'\n",
					name, av[optind - 1]);
			goto out;
		}
		if (ch < OPT_VAL) {
			/* a short form ("-p"): its long option's slot */
			for (k = 0; k < n && short_of(lo[k].name) != ch; k++)
				;
			txt = NULL;
		} else {
			k = ch - OPT_VAL;
			txt = opt_text(av, &lo[k]);
		}
		/* getopt_long also takes an unambiguous abbreviation
		 * ("--js"); vaultctl's options are spelled out. */
		len = strlen(lo[k].name);
		if (txt && (strncmp(txt + 2, lo[k].name, len) ||
			    (txt[2 + len] != '\0' && txt[2 + len] != '='))) {
			fprintf(err, "vaultctl: %s: unknown option '%s'\n", name,
				txt);
			goto out;
		}
		if (seen[k]++) {
			fprintf(err, "vaultctl: %s: option '--%s' given twice\n",
				name, lo[k].name);
			goto out;
		}
		if (map[k]->flag)
			*map[k]->flag = 1;
		else
			*map[k]->value = optarg;
	}
	/* after "--": operands only */
	for (i = optind; i <= argc; i++) {
		a = av[i];
		if (npos >= maxpos) {
			fprintf(err, "vaultctl: %s: unexpected argument '%s'\n",
				name, a);
			goto out;
		}
		pos[npos++] = av[i];
	}
	if (npos < minpos) {
		fprintf(err, "vaultctl: %s: missing argument\n", name);
		goto out;
	}
	rc = 0;
out:
	pthread_mutex_unlock(&getopt_lock);
	free(av);
	if (rc)
		print_usage(err, c);
	return rc;
}

void print_help(FILE *out, const struct cmd *c)
{
	const struct cmd_opt *o;
	char buf[64];

	print_usage(out, c);
	fputs("\noptions:\n", out);
	for (o = c->opts; o && o->name; o++) {
		snprintf(buf, sizeof(buf), "--%s%s%s", o->name,
			 o->arg ? " " : "", o->arg ? o->arg : "");
		if (short_of(o->name))
			fprintf(out, "  -%c, %s\n", short_of(o->name), buf);
		else
			fprintf(out, "  %s\n", buf);
	}
	fputs("  --help\n", out);
}

/* parse_args for a command whose only option is --json (set in *json),
 * with exactly npos positionals. */
int parse_json_only(const struct cmd *c, FILE *err, int argc,
		    char **argv, char **pos, int npos, int *json)
{
	const struct opt opts[] = {
		{ "--json", NULL, json },
		{ NULL, NULL, NULL },
	};

	return parse_args(c, err, argc, argv, opts, pos, npos, npos);
}

const char *const key_opt_names[] = {
	"--passphrase-file", "--key-file", "--key-command", "--keystore",
	"--key-command-file",
};

/* Returns the index in key_opt_names of the option a starts with, or -1;
 * *len is the length of the option's name. */
int key_opt_match(const char *a, size_t *len)
{
	size_t i, n;

	for (i = 0; i < VF_ARRAY_LEN(key_opt_names); i++) {
		n = strlen(key_opt_names[i]);
		if (!strncmp(a, key_opt_names[i], n) &&
		    (a[n] == '\0' || a[n] == '=')) {
			*len = n;
			return (int)i;
		}
	}
	return -1;
}


/* Length of the valid UTF-8 sequence at s, or 0 when it is not one; its
 * code point in *cpp. */
static size_t utf8_cp(const unsigned char *s, uint32_t *cpp)
{
	size_t n, i;
	uint32_t cp;

	if (s[0] < 0x80) {
		*cpp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	*cpp = cp;
	return n;
}

/* Is s valid UTF-8 throughout? */
static int utf8_valid(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	uint32_t cp;
	size_t n;

	for (; *s; s += n)
		if (!(n = utf8_cp(s, &cp)))
			return 0;
	return 1;
}

/* A JSON string of s (NULL: JSON null).  File names are bytes, not text:
 * each byte that is not part of valid UTF-8 becomes U+FFFD, so json-c
 * always writes valid JSON and no stray byte passes for a real character;
 * jadd_str adds the exact bytes beside it. */
struct json_object *jstr(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	struct json_object *o;
	size_t n, len;
	uint32_t cp;
	char *buf, *w;

	if (!str)
		return NULL;
	n = strlen(str);
	if (n > SIZE_MAX / 3 - 1)
		return NULL;
	buf = malloc(3 * n + 1);
	if (!buf)
		return NULL;
	w = buf;
	while (*s) {
		len = utf8_cp(s, &cp);
		if (len) {
			memcpy(w, s, len);
			w += len;
			s += len;
		} else {
			memcpy(w, "\xef\xbf\xbd", 3); /* U+FFFD */
			w += 3;
			s++;
		}
	}
	o = json_object_new_string_len(buf, (int)(w - buf));
	free(buf);
	return o;
}

void jadd(struct json_object *o, const char *key, struct json_object *v)
{
	if (o && json_object_object_add(o, key, v) == 0)
		return;
	json_object_put(v);
}

void jadd_str(struct json_object *o, const char *key, const char *s)
{
	char bkey[64], *b64;
	size_t n, cap;

	jadd(o, key, jstr(s));
	if (!s || utf8_valid(s))
		return;
	/* KEY_bytes: the exact bytes, base64 (RFC 4648, padded). */
	n = strlen(s);
	cap = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
	b64 = malloc(cap);
	if (!b64 || snprintf(bkey, sizeof(bkey), "%s_bytes", key) >=
			    (int)sizeof(bkey)) {
		free(b64);
		return;
	}
	sodium_bin2base64(b64, cap, (const unsigned char *)s, n,
			  sodium_base64_VARIANT_ORIGINAL);
	jadd(o, bkey, json_object_new_string(b64));
	free(b64);
}

void jadd_u64(struct json_object *o, const char *key, uint64_t n)
{
	jadd(o, key, json_object_new_uint64(n));
}

void jadd_i64(struct json_object *o, const char *key, int64_t n)
{
	jadd(o, key, json_object_new_int64(n));
}

void jadd_bool(struct json_object *o, const char *key, int b)
{
	jadd(o, key, json_object_new_boolean(b ? 1 : 0));
}

void jpush(struct json_object *arr, struct json_object *v)
{
	if (arr && json_object_array_add(arr, v) == 0)
		return;
	json_object_put(v);
}

void json_print(FILE *f, struct json_object *o)
{
	fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						     JSON_C_TO_STRING_NOSLASHESCAPE),
	      f);
	fputc('\n', f);
	json_object_put(o);
}

/* Characters that must not reach a terminal as they are: C0 controls and
 * DEL (a newline would split a record, an escape sequence would drive the
 * terminal), C1 controls (U+0080 to U+009F; CSI is one of them) and the
 * bidirectional controls that make text read in an order other than its
 * bytes (U+061C, U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069). */
static int cp_unsafe(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c ||
	       cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069);
}

void text_str(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	uint32_t cp;
	size_t n;

	while (*s) {
		n = utf8_cp(s, &cp);
		if (!n) {
			fprintf(f, "\\x%02x", *s); /* not UTF-8: the byte */
			s++;
			continue;
		}
		if (cp == '\\')
			fputs("\\\\", f);
		else if (cp < 0x80 && cp_unsafe(cp))
			fprintf(f, "\\x%02x", (unsigned)cp);
		else if (cp_unsafe(cp))
			fprintf(f, "\\u%04x", (unsigned)cp);
		else
			fwrite(s, 1, n, f);
		s += n;
	}
}

/* Says "vaultctl: WHAT failed: REASON" for core's error rc.  Returns 1. */
int say_failed(struct vf_cmd_ctx *ctx, const char *what, int rc)
{
	fprintf(ctx->err, "vaultctl: %s failed: %s\n", what, strerror(-rc));
	return 1;
}

/* A list printed by a callback: in JSON, an array the callback fills. */
void list_begin(struct list_state *ls)
{
	ls->arr = ls->json ? json_object_new_array() : NULL;
}

/* Ends a list begun by list_begin; when listing failed (rc < 0), says
 * "WHAT failed" after what was printed.  Returns the exit code. */
int list_end(struct vf_cmd_ctx *ctx, struct list_state *ls, int rc,
	     const char *what)
{
	if (ls->json) {
		json_print(ctx->out, ls->arr);
		ls->arr = NULL;
	}
	if (rc < 0) {
		fflush(ctx->out);
		return say_failed(ctx, what, rc);
	}
	return 0;
}

/* Parses a count ("0" to "4294967295", digits only) into *out.  Returns 0
 * or 2 after printing the reason and the usage line. */
int parse_count(const struct cmd *c, FILE *err, const char *opt,
		const char *s, unsigned *out)
{
	unsigned long long n = 0;
	const char *p = s;

	if (!*p)
		goto bad;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			goto bad;
		n = n * 10 + (unsigned)(*p - '0');
		if (n > UINT_MAX)
			goto bad;
	}
	*out = (unsigned)n;
	return 0;
bad:
	return usage_error(err, c,
			   "option '%s': '%s' is not a number from 0 to %u",
			   opt, s, UINT_MAX);
}

/* Units of a duration, largest first; a year is 365 days (only
 * --keep-within and its display use these lengths). */
static const struct {
	char unit;
	int64_t secs;
} dur_units[] = {
	{ 'y', 365 * 86400 }, { 'w', 7 * 86400 }, { 'd', 86400 },
	{ 'h', 3600 },        { 'm', 60 },        { 's', 1 },
};

/* Parses a duration: "0", or one or more NUMBER UNIT pairs with units
 * s, m, h, d, w, y ("30d", "12h", "90m", "2w", "1y", "1d12h") into
 * nanoseconds.  Returns 0 or -EINVAL (garbage, no unit, overflow). */
int parse_duration(const char *s, int64_t *out)
{
	int64_t total = 0, n, ns;
	size_t i;

	if (!strcmp(s, "0")) {
		*out = 0;
		return 0;
	}
	if (!*s)
		return -EINVAL;
	while (*s) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		for (n = 0; *s >= '0' && *s <= '9'; s++)
			if (__builtin_mul_overflow(n, 10, &n) ||
			    __builtin_add_overflow(n, *s - '0', &n))
				return -EINVAL;
		for (i = 0; i < VF_ARRAY_LEN(dur_units); i++)
			if (*s == dur_units[i].unit)
				break;
		if (i == VF_ARRAY_LEN(dur_units))
			return -EINVAL;
		s++;
		if (__builtin_mul_overflow(n, dur_units[i].secs * VF_NS, &ns) ||
		    __builtin_add_overflow(total, ns, &total))
			return -EINVAL;
	}
	*out = total;
	return 0;
}

/* Formats a duration in the largest unit that divides it ("30d", "36h";
 * weeks are left to days, "0" is off). */
void format_duration(int64_t ns, char *buf, size_t cap)
{
	size_t i;

	if (ns == 0) {
		snprintf(buf, cap, "0");
		return;
	}
	if (ns % VF_NS || ns < 0) {
		snprintf(buf, cap, "%lldns", (long long)ns);
		return;
	}
	for (i = 0; i < VF_ARRAY_LEN(dur_units); i++) {
		if (dur_units[i].unit == 'w')
			continue;
		if ((ns / VF_NS) % dur_units[i].secs == 0)
			break;
	}
	snprintf(buf, cap, "%lld%c",
		 (long long)(ns / VF_NS / dur_units[i].secs), dur_units[i].unit);
}

/* Parses --days: a plain decimal number.  Returns 0; 2 when it is not a
 * number (one line, a usage error); 1 when it is too large even to hand to
 * core (one line, as core words an out-of-range value).  Values that fit
 * go to core, which owns the 14..180 rule. */
int parse_days(FILE *err, const char *s, unsigned *out)
{
	unsigned long long n = 0;
	const char *p = s;

	if (!*p)
		goto bad;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			goto bad;
		if (n <= UINT_MAX)
			n = n * 10 + (unsigned)(*p - '0');
	}
	if (n > UINT_MAX) {
		fprintf(err, "vaultctl: softdelete set refused: soft-delete retention must be %d to %d days, not %s\n",
			VF_SOFTDELETE_MIN_DAYS, VF_SOFTDELETE_MAX_DAYS, s);
		return 1;
	}
	*out = (unsigned)n;
	return 0;
bad:
	/* One line, no usage line after it: the reason says it all. */
	fprintf(err, "vaultctl: softdelete set: option '--days': '%s' is not a whole number of days (%d to %d)\n",
		s, VF_SOFTDELETE_MIN_DAYS, VF_SOFTDELETE_MAX_DAYS);
	return 2;
}

/* PATH as under .softdeleted: a leading "/" and ".softdeleted/" (the way
 * it shows in the mount) are dropped.  Borrowed from s. */
const char *trash_rel(const char *s)
{
	while (*s == '/')
		s++;
	if (!strncmp(s, ".softdeleted", 12) && (s[12] == '/' || !s[12]))
		for (s += 12; *s == '/'; s++)
			;
	return s;
}



/* Normalises PATH in place: no leading, trailing or doubled slashes, no
 * "." components; "" is the root.  Returns 0, or -EINVAL for "..". */
int normalise_path(char *s)
{
	char *r = s, *w = s;
	size_t n;

	while (*r) {
		while (*r == '/')
			r++;
		n = strcspn(r, "/");
		if (n == 0)
			break;
		if (n == 1 && r[0] == '.') {
			r += n;
			continue;
		}
		if (n == 2 && r[0] == '.' && r[1] == '.')
			return -EINVAL;
		if (w != s)
			*w++ = '/';
		memmove(w, r, n);
		w += n;
		r += n;
	}
	*w = '\0';
	return 0;
}

/* 1 when s has a ".." component. */
int has_dotdot(const char *s)
{
	size_t n;

	for (;;) {
		while (*s == '/')
			s++;
		n = strcspn(s, "/");
		if (!n)
			return 0;
		if (n == 2 && s[0] == '.' && s[1] == '.')
			return 1;
		s += n;
	}
}

/* ---- the administrative gate's answers --------------------------------- */

int check_token(struct vf_cmd_ctx *ctx, const struct cmd *c,
		const char *token)
{
	char name[64];

	if (!token || *token)
		return 0;
	cmd_name(c, name, sizeof(name));
	return usage_error(ctx->err, c, "%s: option '--approval' needs a token",
			   name);
}

int parse_approval_json(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
			char **argv, char **pos, int npos, const char **token,
			int *json)
{
	const struct opt opts[] = {
		{ "--approval", token, NULL },
		{ "--json", NULL, json },
		{ NULL, NULL, NULL },
	};
	int rc = parse_args(c, ctx->err, argc, argv, opts, pos, npos, npos);

	return rc ? rc : check_token(ctx, c, *token);
}

void admin_init(struct vf_cmd_ctx *ctx, struct vf_admin *a, const char *token)
{
	vf_admin_init(a, &ctx->caller, token);
}

int say_admin(struct vf_cmd_ctx *ctx, const struct cmd *c,
	      const struct vf_admin *a, int rc)
{
	char name[64];

	cmd_name(c, name, sizeof(name));
	fputs("vaultctl: ", ctx->err);
	if (rc != -EACCES)
		fprintf(ctx->err, "%s %s: ", name,
			rc == -EPERM || rc == -EINVAL || rc == -EROFS ||
					rc == -ENOENT || rc == -ENOTDIR ||
					rc == -EBUSY || rc == -EEXIST ?
				"refused" :
				"failed");
	text_str(ctx->err, a->why[0] ? a->why : strerror(-rc));
	fputc('\n', ctx->err);
	if (a->request[0])
		fprintf(ctx->err, "request: %s\n", a->request);
	return 1;
}

int list_end_admin(struct vf_cmd_ctx *ctx, const struct cmd *c,
		   struct list_state *ls, const struct vf_admin *a, int rc)
{
	if (rc < 0 && !ls->n) {
		/* refused (or failed) before anything was listed: no empty
		 * list on stdout */
		json_object_put(ls->arr);
		ls->arr = NULL;
		return say_admin(ctx, c, a, rc);
	}
	if (ls->json) {
		json_print(ctx->out, ls->arr);
		ls->arr = NULL;
	}
	if (rc < 0) {
		fflush(ctx->out);
		return say_admin(ctx, c, a, rc);
	}
	return 0;
}

void say_refused(struct vf_cmd_ctx *ctx, const struct cmd *c, int rc,
		 const char *err)
{
	char name[64];

	cmd_name(c, name, sizeof(name));
	fprintf(ctx->err, "vaultctl: %s %s: ", name,
		rc == -EPERM || rc == -EINVAL || rc == -EROFS ||
				rc == -ENOENT || rc == -ENOTDIR ||
				rc == -EBUSY || rc == -EEXIST ?
			"refused" :
			"failed");
	text_str(ctx->err, err && err[0] ? err : strerror(-rc));
	fputc('\n', ctx->err);
}

/* "+HH:MM", "+HHMM", "-HH:MM"... at the end of s: the offset in seconds
 * east of UTC, and s cut before it.  0 when there is none. */
static int zone_offset(char *s, long *east)
{
	size_t n = strlen(s);
	char *z;
	int hh, mm;

	*east = 0;
	if (n >= 6 && (s[n - 6] == '+' || s[n - 6] == '-') && s[n - 3] == ':' &&
	    sscanf(s + n - 5, "%2d:%2d", &hh, &mm) == 2)
		z = s + n - 6;
	else if (n >= 5 && (s[n - 5] == '+' || s[n - 5] == '-') &&
		 sscanf(s + n - 4, "%2d%2d", &hh, &mm) == 2)
		z = s + n - 5;
	else
		return 0;
	if (z <= s || z[-1] < '0' || z[-1] > '9' || hh > 23 || mm > 59 ||
	    !strchr(s, 'T'))
		return 0;
	*east = (hh * 3600L + mm * 60L) * (*z == '-' ? -1 : 1);
	*z = '\0';
	return 1;
}

void time_format_ns(int64_t t, char buf[static 48])
{
	char s[32];
	int64_t ns = t % VF_NS;

	vf_time_format(t, s);
	if (ns < 0)
		ns += VF_NS;
	s[strlen(s) - 1] = '\0'; /* the Z */
	snprintf(buf, 48, "%s.%09lldZ", s, (long long)ns);
}

int parse_at(const char *s, int64_t now, int64_t *out)
{
	char buf[64];
	long east;
	int64_t d;

	if (vf_time_parse(s, out) == 0)
		return 0;
	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", s);
	/* a day: its first second, UTC */
	if (strlen(buf) == 10 && buf[4] == '-' && buf[7] == '-') {
		snprintf(buf + 10, sizeof(buf) - 10, "T00:00:00Z");
		return vf_time_parse(buf, out);
	}
	if (zone_offset(buf, &east)) {
		if (vf_time_parse(buf, out) < 0)
			return -EINVAL;
		*out -= (int64_t)east * VF_NS;
		return 0;
	}
	/* so long ago */
	if (parse_duration(s, &d) == 0 && d > 0 && d < now) {
		*out = now - d;
		return 0;
	}
	return -EINVAL;
}

int parse_since(struct vf_cmd_ctx *ctx, const struct cmd *c,
		const char *since_s, int64_t *since)
{
	int64_t d;

	*since = INT64_MIN;
	if (!since_s || vf_time_parse(since_s, since) == 0)
		return 0;
	if (parse_duration(since_s, &d) < 0)
		return usage_error(ctx->err, c, "%s%s%s: option '--since': '%s' is neither a time (ISO-8601 UTC, like 2026-11-28T20:13:07Z) nor a duration (like 1h, 7d)",
				   c->group, c->verb ? " " : "",
				   c->verb ? c->verb : "", since_s);
	*since = vf_clock_now() - d;
	return 0;
}

/* See cmd_util.h. */
const char *size_text(uint64_t n, int exact, char buf[static SIZE_TEXT_MAX])
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB",
					    "PiB", "EiB" };
	double x = (double)n;
	int u = -1;

	if (exact || n < 1024) {
		snprintf(buf, SIZE_TEXT_MAX, "%llu%s", (unsigned long long)n,
			 exact ? "" : " B");
		return buf;
	}
	while (x >= 1024 && u < 5) {
		x /= 1024;
		u++;
	}
	/* 1023.96 KiB would print as "1024.0 KiB": one unit up */
	if (x >= 1023.95 && u < 5) {
		x /= 1024;
		u++;
	}
	snprintf(buf, SIZE_TEXT_MAX, "%.1f %s", x, unit[u]);
	return buf;
}

/* See cmd_util.h. */
void cell(const struct list_state *ls, int width, const char *s)
{
	int len = (int)strlen(s);

	fputs(s, ls->out);
	if (ls->scripted)
		fputc('\t', ls->out);
	else
		fprintf(ls->out, "%*s", width > len ? width - len + 2 : 2, "");
}

/* See cmd_util.h. */
void table_head(const struct list_state *ls, const char *const *names,
		const int *widths, int n)
{
	int i;

	if (ls->scripted || ls->json)
		return;
	for (i = 0; i + 1 < n; i++)
		cell(ls, widths[i], names[i]);
	fprintf(ls->out, "%s\n", names[n - 1]);
}

/* Reads one line from the terminal with echo off into buf (cap bytes,
 * sodium_malloc'd by the caller); the length to *len.  0, or -errno. */
static int tty_line(int fd, const char *prompt, char *buf, size_t cap,
		    size_t *len)
{
	struct termios old, quiet;
	size_t n = 0;
	ssize_t r;
	char ch;
	int rc = 0;

	if (tcgetattr(fd, &old) < 0)
		return -errno;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK);
	quiet.c_lflag |= ECHONL;
	if (tcsetattr(fd, TCSAFLUSH, &quiet) < 0)
		return -errno;
	if (write(fd, prompt, strlen(prompt)) < 0)
		rc = -errno;
	while (!rc) {
		r = read(fd, &ch, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			rc = -errno;
		else if (r == 0 || ch == '\n')
			break;
		else if (n + 1 >= cap)
			rc = -E2BIG;
		else
			buf[n++] = ch;
	}
	ch = 0;
	tcsetattr(fd, TCSAFLUSH, &old);
	if (!rc && n && buf[n - 1] == '\r')
		n--;
	if (!rc)
		*len = n;
	return rc;
}

int tty_passphrase(const char *what, int confirm, char **out, size_t *len,
		   FILE *err)
{
	char *a = NULL, *b = NULL, prompt[128];
	size_t la = 0, lb = 0;
	int fd, rc;

	if (sodium_init() < 0) {
		fprintf(err, "vaultctl: cannot initialise libsodium\n");
		return 1;
	}
	fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		fprintf(err, "vaultctl: no terminal to read the %s from: give it in a file\n",
			what);
		return 1;
	}
	a = sodium_malloc(VF_PASSPHRASE_MAX + 1);
	b = sodium_malloc(VF_PASSPHRASE_MAX + 1);
	rc = a && b ? 0 : -ENOMEM;
	snprintf(prompt, sizeof(prompt), "%c%s: ", toupper((unsigned char)what[0]),
		 what + 1);
	if (!rc)
		rc = tty_line(fd, prompt, a, VF_PASSPHRASE_MAX + 1, &la);
	if (!rc && confirm) {
		snprintf(prompt, sizeof(prompt), "Repeat the %s: ", what);
		rc = tty_line(fd, prompt, b, VF_PASSPHRASE_MAX + 1, &lb);
	}
	close(fd);
	if (rc) {
		fprintf(err, "vaultctl: reading the %s failed: %s\n", what,
			rc == -E2BIG ? "too long" : strerror(-rc));
		rc = 1;
	} else if (!la) {
		fprintf(err, "vaultctl: empty %s\n", what);
		rc = 1;
	} else if (confirm && (la != lb || sodium_memcmp(a, b, la))) {
		fprintf(err, "vaultctl: the two %ss differ\n", what);
		rc = 1;
	}
	if (b)
		sodium_free(b);
	if (rc) {
		if (a)
			sodium_free(a);
		return rc;
	}
	*out = a;
	*len = la;
	return 0;
}

int read_passphrase(const char *file, const char *what, int confirm,
		    char **pass, size_t *len, FILE *err)
{
	uint8_t *s = NULL;
	char msg[512] = "";
	int rc;

	if (!file)
		return tty_passphrase(what, confirm, pass, len, err);
	rc = vf_protector_secret(VF_PROT_PASSPHRASE, file, &s, len, msg,
				 sizeof(msg));
	if (rc) {
		fprintf(err, "vaultctl: %s\n", msg);
		return 1;
	}
	*pass = (char *)s;
	return 0;
}
