/*
 * mount.vaultfs.c - the mount helper: mount(8) conventions around fs/.
 *
 *   mount.vaultfs VAULT MOUNTPOINT [-f] [-d] [-s] [-n] [-v] [-o OPTIONS]
 *
 * mount(8) runs it for `mount -t vaultfs` and for fstab lines of type
 * vaultfs.  Order of work: parse; check the mountpoint; unless -f, fork
 * (the parent only waits for a status line on a pipe and exits 0 on "ok"
 * or prints the child's error and exits 1); open the vault; create the
 * FUSE session and mount; start the control socket and the maintenance
 * timer; signal readiness; serve until unmounted or signalled; then stop
 * the timer and the control socket, unmount, close the vault and write the
 * statistics.
 *
 * The vault is opened in the process that serves it, after the fork: its
 * lock and its SQLite connection must not cross a fork.
 *
 * Invariant: nothing is left mounted when we exit, whatever failed, and the
 * vault is closed (committing open files) on every path after it opened.
 */
#define FUSE_USE_VERSION 314

#include <fcntl.h>
#include <malloc.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <dirent.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <json-c/json.h>

#include "fs.h"
#include "admin.h"
#include "cmds.h"
#include "ctlsock.h"
#include "ship.h"
#include "vault.h"

#define PROG "mount.vaultfs"
#define READY_ENV "VAULTFS_READY_FD"
#define MAINTAIN_DEFAULT 3600      /* seconds between maintenance runs */
#define MAINTAIN_MAX (366 * 86400)

struct mount_opts {
	char *vault;		/* as given, and resolved when it exists */
	char *mnt;		/* resolved */
	struct vf_protector_opts po;
	char *kopts;		/* kernel/libfuse options, fuse_opt style */
	char *stats;		/* absolute path or NULL */
	char *log;		/* -o log=FILE: absolute path or NULL */
	char *metrics;		/* -o metrics=FILE: absolute path or NULL */
	int ro;
	int allow_other;
	int foreground;
	int debug;
	int writeback; /* -o writeback_cache */
	unsigned maintain; /* -o maintain=SECONDS */
	const char *alert_command; /* -o alert_command=CMD */
	uint64_t cache_size;       /* -o cache_size=SIZE; UINT64_MAX: all */
	uint64_t quota;            /* -o quota=SIZE; 0: none */
	int maintain_set;  /* given: a second one is refused */
	int remount;       /* -o remount: change a live mount's flags */
	unsigned long rflags; /* the MS_* flags of that remount */
	/* copies of the -o lists the options point into (the originals in
	 * argv are scrubbed of key commands) */
	char *olist[8];
	int n_olist;
};

/* Where failures go: the parent's pipe while daemonizing and not yet
 * ready (status_fd), syslog once detached, stderr otherwise. */
static int status_fd = -1;
static int detached;

/* Exit statuses as mount(8) documents them: 1 for a wrong invocation
 * (options), 32 when the mount failed (wrong key, not a vault, busy
 * mountpoint...); 0 once mounted. */
#define MOUNT_FAILED 32

/* The daemon's log: with -o log=FILE every line is appended there (with
 * the time and level: one write a line, O_APPEND), else stderr in the
 * foreground and syslog once detached. */
static int log_fd = -1;
static int log_foreground;

static const char *level_name(int prio)
{
	switch (prio) {
	case LOG_CRIT:
		return "critical";
	case LOG_ERR:
		return "error";
	case LOG_WARNING:
		return "warning";
	default:
		return "info";
	}
}

static void log_to_file(int prio, const char *msg)
{
	char when[32], line[1200];
	int n;

	vf_time_format(vf_clock_now(), when);
	n = snprintf(line, sizeof(line), "%s " PROG "[%ld]: %s: %s\n", when,
		     (long)getpid(), level_name(prio), msg);
	if (n > (int)sizeof(line) - 1)
		n = (int)sizeof(line) - 1;
	if (write(log_fd, line, (size_t)n) != n) {
		/* a full disk: nothing better to tell it to */
	}
}

static void VF_PRINTF(2, 3) dlog(int prio, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log_fd >= 0)
		log_to_file(prio, msg);
	else if (log_foreground)
		fprintf(stderr, PROG "[%ld]: %s\n", (long)getpid(), msg);
	else
		syslog(prio, "%s", msg);
}

static void VF_PRINTF(1, 2) fail(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log_fd >= 0)
		log_to_file(LOG_ERR, msg);
	if (status_fd >= 0) {
		n = (int)strlen(msg);
		if (write(status_fd, msg, (size_t)n) != n ||
		    write(status_fd, "\n", 1) != 1)
			detached = 1; /* the parent is gone: try syslog */
		else
			return;
	}
	if (detached && log_fd < 0)
		syslog(LOG_ERR, "%s", msg);
	fprintf(stderr, PROG ": %s\n", msg);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: " PROG " VAULT MOUNTPOINT [-f] [-d] [-o OPTIONS]\n");
}

static void VF_PRINTF(1, 2) usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	usage(stderr);
}

/* ---- options ------------------------------------------------------------ */

static int add_kopt(struct mount_opts *o, const char *opt)
{
	if (fuse_opt_add_opt(&o->kopts, opt) != 0) {
		fail("cannot parse options: %s", strerror(ENOMEM));
		return -1;
	}
	return 0;
}

static int has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

/* Makes a path that will be used after chdir("/") absolute. */
static char *absolute(const char *path)
{
	char cwd[PATH_MAX], *out;
	size_t n;

	if (path[0] == '/')
		return strdup(path);
	if (!getcwd(cwd, sizeof(cwd)))
		return NULL;
	n = strlen(cwd) + strlen(path) + 2;
	out = malloc(n);
	if (out)
		snprintf(out, n, "%s/%s", cwd, path);
	return out;
}

/*
 * -o remount (mount -o remount,ro MOUNTPOINT, which mount(8) hands to
 * /sbin/mount.fuse.vaultfs with the mount's whole option list): no
 * daemon is started; the mount's flags change in the kernel
 * (mount(2) MS_REMOUNT), which then refuses every change through it
 * with EROFS when ro.  Only the flags below can change; everything else
 * (the vault's own options, fuse's user_id= and the like) is what the
 * running daemon was started with and is ignored.  remount gives the
 * flags in full (what is not given is cleared), as mount(8) does.
 */
static const struct {
	const char *name;
	unsigned long set, clear;
} remount_flags[] = {
	{ "ro", MS_RDONLY, 0 },
	{ "rw", 0, MS_RDONLY },
	{ "nosuid", MS_NOSUID, 0 },
	{ "suid", 0, MS_NOSUID },
	{ "nodev", MS_NODEV, 0 },
	{ "dev", 0, MS_NODEV },
	{ "noexec", MS_NOEXEC, 0 },
	{ "exec", 0, MS_NOEXEC },
	{ "noatime", MS_NOATIME, 0 },
	{ "nodiratime", MS_NODIRATIME, 0 },
	{ "relatime", MS_RELATIME, 0 },
	{ "strictatime", MS_STRICTATIME, 0 },
	{ "lazytime", MS_LAZYTIME, 0 },
	{ "sync", MS_SYNCHRONOUS, 0 },
	{ "dirsync", MS_DIRSYNC, 0 },
};

static void remount_opt(struct mount_opts *o, const char *opt)
{
	size_t i;

	for (i = 0; i < VF_ARRAY_LEN(remount_flags); i++)
		if (!strcmp(opt, remount_flags[i].name)) {
			o->rflags = (o->rflags | remount_flags[i].set) &
				    ~remount_flags[i].clear;
			o->ro = !!(o->rflags & MS_RDONLY);
		}
}

/* 1 when an -o list of argv asks for a remount. */
static int wants_remount(int argc, char **argv)
{
	const char *p, *q;
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (strncmp(argv[i], "-o", 2))
			continue;
		p = argv[i][2] ? argv[i] + 2 : i + 1 < argc ? argv[i + 1] : "";
		for (; (q = strstr(p, "remount")); p = q + 7)
			if ((q == p || q[-1] == ',') && (!q[7] || q[7] == ','))
				return 1;
	}
	return 0;
}

/* Changes the flags of the vaultfs mount at o->mnt.  0, or MOUNT_FAILED
 * after one line. */
static int remount(struct mount_opts *o)
{
	int r = vf_cmds_mountinfo_find(o->mnt, "fuse.vaultfs");

	if (r <= 0) {
		fail("cannot remount '%s': %s", o->mnt,
		     r < 0 ? strerror(-r) : "not a vaultfs mount");
		return MOUNT_FAILED;
	}
	if (mount(NULL, o->mnt, NULL, MS_REMOUNT | o->rflags, NULL) < 0) {
		fail("cannot remount '%s' %s: %s", o->mnt,
		     o->ro ? "read-only" : "read-write", strerror(errno));
		return MOUNT_FAILED;
	}
	return 0;
}

/* SIZE of option opt (value at val): bytes, or with K, M, G or T.  0, or
 * -1 after one usage line. */
static int parse_size(const char *opt, const char *val, uint64_t *out)
{
	static const char units[] = "KMGT";
	const char *u;
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(val, &end, 10);
	if (!errno && end != val && val[0] != '-' && *end && !end[1] &&
	    (u = strchr(units, *end)) != NULL) {
		int shift = 10 * (int)(u - units + 1);

		if (n > (UINT64_MAX >> shift))
			errno = ERANGE;
		n <<= shift;
		end++;
	}
	if (errno || end == val || *end || val[0] == '-') {
		usage_error("bad mount option '%s': SIZE in bytes, or with K, M, G or T",
			    opt);
		return -1;
	}
	*out = n;
	return 0;
}

/* One option of -o; value options keep pointers into the -o buffer, which
 * lives until exit. */
static int parse_opt(struct mount_opts *o, char *opt)
{
	static const char *const kernel[] = {
		"nosuid", "nodev", "noexec", "suid", "dev", "exec",
	};
	static const char *const dropped[] = {
		"defaults", "auto", "noauto", "user", "nouser", "users",
		"_netdev", "nofail", "default_permissions",
	};
	static const struct {
		const char *prefix;
		size_t off;
	} paths[] = {
		{ "passphrase_file=",
		  offsetof(struct vf_protector_opts, passphrase_file) },
		{ "key_file=", offsetof(struct vf_protector_opts, key_file) },
		{ "key_command=",
		  offsetof(struct vf_protector_opts, key_command) },
		{ "key_command_file=",
		  offsetof(struct vf_protector_opts, key_command_file) },
		{ "keystore=", offsetof(struct vf_protector_opts, keystore) },
	};
	size_t i;

	if (!*opt)
		return 0;
	if (o->remount) {
		remount_opt(o, opt);
		return 0;
	}
	if (!strcmp(opt, "ro") || !strcmp(opt, "rw")) {
		o->ro = opt[1] == 'o';
		return 0;
	}
	if (!strcmp(opt, "allow_other")) {
		o->allow_other = 1;
		return 0;
	}
	if (!strcmp(opt, "debug")) {
		o->debug = 1;
		return 0;
	}
	if (!strcmp(opt, "writeback_cache")) {
		o->writeback = 1;
		return 0;
	}
	for (i = 0; i < VF_ARRAY_LEN(kernel); i++)
		if (!strcmp(opt, kernel[i]))
			return add_kopt(o, opt);
	for (i = 0; i < VF_ARRAY_LEN(dropped); i++)
		if (!strcmp(opt, dropped[i]))
			return 0;
	if (has_prefix(opt, "x-") || has_prefix(opt, "comment="))
		return 0;
	for (i = 0; i < VF_ARRAY_LEN(paths); i++) {
		if (!has_prefix(opt, paths[i].prefix))
			continue;
		if (!opt[strlen(paths[i].prefix)]) {
			usage_error("empty value in mount option '%s'", opt);
			return -1;
		}
		/* a value given twice is a mistake, not "the last one wins" */
		if (*(const char **)((char *)&o->po + paths[i].off)) {
			usage_error("mount option '%.*s' given twice",
				    (int)strlen(paths[i].prefix) - 1, opt);
			return -1;
		}
		*(const char **)((char *)&o->po + paths[i].off) =
			opt + strlen(paths[i].prefix);
		return 0;
	}
	if ((has_prefix(opt, "maintain=") && o->maintain_set) ||
	    (has_prefix(opt, "stats=") && o->stats) ||
	    (has_prefix(opt, "log=") && o->log) ||
	    (has_prefix(opt, "metrics=") && o->metrics) ||
	    (has_prefix(opt, "cache_size=") && o->cache_size != UINT64_MAX) ||
	    (has_prefix(opt, "quota=") && o->quota) ||
	    (has_prefix(opt, "alert_command=") && o->alert_command)) {
		usage_error("mount option '%.*s' given twice",
			    (int)(strchr(opt, '=') - opt), opt);
		return -1;
	}
	if (has_prefix(opt, "cache_size="))
		return parse_size(opt, opt + 11, &o->cache_size);
	if (has_prefix(opt, "quota=")) {
		if (parse_size(opt, opt + 6, &o->quota))
			return -1;
		if (!o->quota) {
			usage_error("bad mount option '%s': a quota must be more than 0",
				    opt);
			return -1;
		}
		return 0;
	}
	if (has_prefix(opt, "alert_command=")) {
		if (!opt[14]) {
			usage_error("empty value in mount option '%s'", opt);
			return -1;
		}
		o->alert_command = opt + 14;
		return 0;
	}
	if (has_prefix(opt, "maintain=")) {
		char *end;
		unsigned long n;

		errno = 0;
		n = strtoul(opt + 9, &end, 10);
		if (errno || end == opt + 9 || *end || opt[9] == '-' ||
		    n < 1 || n > MAINTAIN_MAX) {
			usage_error("bad mount option '%s': SECONDS from 1 to %d",
				    opt, MAINTAIN_MAX);
			return -1;
		}
		o->maintain = (unsigned)n;
		o->maintain_set = 1;
		return 0;
	}
	if (has_prefix(opt, "log=")) {
		if (!opt[4]) {
			usage_error("empty value in mount option '%s'", opt);
			return -1;
		}
		o->log = absolute(opt + 4);
		if (!o->log) {
			fail("cannot parse options: %s", strerror(errno));
			return -1;
		}
		return 0;
	}
	if (has_prefix(opt, "metrics=")) {
		if (!opt[8]) {
			usage_error("empty value in mount option '%s'", opt);
			return -1;
		}
		o->metrics = absolute(opt + 8);
		if (!o->metrics) {
			fail("cannot parse options: %s", strerror(errno));
			return -1;
		}
		return 0;
	}
	if (has_prefix(opt, "stats=") && opt[6]) {
		free(o->stats);
		o->stats = absolute(opt + 6);
		if (!o->stats) {
			fail("cannot parse options: %s", strerror(errno));
			return -1;
		}
		return 0;
	}
	usage_error("unknown mount option '%s'", opt);
	return -1;
}

/* Splits a -o list on commas; "\," is a literal comma (for key_command). */
static int parse_opts(struct mount_opts *o, char *list)
{
	char *opt = list, *r = list, *w = list;

	for (;;) {
		if (r[0] == '\\' && r[1] == ',') {
			*w++ = ',';
			r += 2;
			continue;
		}
		if (*r == ',' || !*r) {
			int end = !*r;

			*w = '\0';
			if (parse_opt(o, opt) != 0)
				return -1;
			if (end)
				return 0;
			opt = w = ++r;
			continue;
		}
		*w++ = *r++;
	}
}

/* mount(8) calls helpers as "SOURCE TARGET [-sfnv] [-N NS] [-o OPTS]
 * [-t TYPE]", options possibly after the operands, so no getopt (whose
 * permutation POSIXLY_CORRECT turns off).  -f is "fake" to mount(8) but
 * foreground here, as the man page says; -s, -n and -v are ignored. */
/* Parses a copy of the -o list val, then overwrites the value of every
 * key_command= in val itself with '*': argv is what ps and
 * /proc/PID/cmdline show every user, and a key command may carry a
 * secret (key_command_file= keeps it off the command line in the first
 * place). */
static int parse_opts_copy(struct mount_opts *o, char *val)
{
	char *copy, *k;

	if (o->n_olist == (int)VF_ARRAY_LEN(o->olist)) {
		usage_error("%s", "too many -o options");
		return -1;
	}
	copy = strdup(val);
	if (!copy) {
		fail("%s", "out of memory");
		return -1;
	}
	o->olist[o->n_olist++] = copy;
	if (parse_opts(o, copy) != 0)
		return -1;
	for (k = strstr(val, "key_command="); k;
	     k = strstr(k, "key_command=")) {
		k += strlen("key_command=");
		for (; *k && *k != ','; k++) {
			if (k[0] == '\\' && k[1] == ',')
				*k++ = '*';
			*k = '*';
		}
	}
	return 0;
}

static int parse_args(struct mount_opts *o, int argc, char **argv)
{
	const char *pos[2];
	int i, npos = 0, dashdash = 0;
	const char *p;

	for (i = 1; i < argc; i++) {
		if (dashdash || argv[i][0] != '-' || !argv[i][1]) {
			if (npos == 2) {
				usage_error("unexpected argument '%s'",
					    argv[i]);
				return -1;
			}
			pos[npos++] = argv[i];
			continue;
		}
		if (!strcmp(argv[i], "--")) {
			dashdash = 1;
			continue;
		}
		if (!strcmp(argv[i], "--version")) {
			printf("mount.vaultfs %s\n", VF_VERSION);
			exit(0);
		}
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			exit(0);
		}
		for (p = argv[i] + 1; *p; p++) {
			char *val;

			switch (*p) {
			case 'f':
				o->foreground = 1;
				continue;
			case 'd':
				o->debug = 1;
				continue;
			case 's':
			case 'n':
			case 'v':
				continue;
			case 'o':
			case 't':
				break;
			default:
				usage_error("unknown option '%s'", argv[i]);
				return -1;
			}
			if (p[1])
				val = (char *)p + 1;
			else if (i + 1 < argc)
				val = argv[++i];
			else {
				usage_error("option '%s' needs a value",
					    argv[i]);
				return -1;
			}
			/* -t TYPE names us; nothing to check. */
			if (*p == 'o' && parse_opts_copy(o, val) != 0)
				return -1;
			break;
		}
	}
	if (npos != 2) {
		usage_error("%s", "expected VAULT and MOUNTPOINT");
		return -1;
	}
	if (o->ro && o->metrics) {
		/* the timer that writes it runs on read-write mounts */
		usage_error("%s", "mount option 'metrics' needs a read-write mount");
		return -1;
	}
	o->vault = realpath(pos[0], NULL);
	if (!o->vault && !(o->vault = strdup(pos[0])))
		return -1;
	o->mnt = realpath(pos[1], NULL);
	if (!o->mnt) {
		fail("cannot mount on '%s': %s", pos[1], strerror(errno));
		return -1;
	}
	if (getuid() == 0)
		o->allow_other = 1; /* roles decide access, not the mount */
	return 0;
}

/* The options handed to libfuse, which passes the kernel's on.  fsname
 * is the vault (escaped), so that mount(8), findmnt and df show it. */
static int build_kopts(struct mount_opts *o)
{
	char *opts = o->kopts, *fsname;
	size_t n = strlen(o->vault) + sizeof("fsname=");
	int r;

	o->kopts = NULL;
	fsname = malloc(n);
	if (!fsname) {
		free(opts);
		fail("cannot parse options: %s", strerror(ENOMEM));
		return -1;
	}
	snprintf(fsname, n, "fsname=%s", o->vault);
	r = add_kopt(o, "default_permissions") ||
	    add_kopt(o, "subtype=vaultfs") ||
	    (o->allow_other && add_kopt(o, "allow_other")) ||
	    add_kopt(o, o->ro ? "ro" : "rw") ||
	    (opts && add_kopt(o, opts));
	if (!r && fuse_opt_add_opt_escaped(&o->kopts, fsname) != 0) {
		fail("cannot parse options: %s", strerror(ENOMEM));
		r = 1;
	}
	free(fsname);
	free(opts);
	return r ? -1 : 0;
}

/* ---- the mountpoint ----------------------------------------------------- */

static int check_mountpoint(const char *mnt)
{
	struct stat st;
	int r;

	if (stat(mnt, &st) != 0) {
		fail("cannot mount on '%s': %s", mnt, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		fail("cannot mount on '%s': not a directory", mnt);
		return -1;
	}
	r = vf_cmds_mountinfo_find(mnt, NULL);
	if (r < 0) {
		fail("cannot mount on '%s': cannot read mount table: %s", mnt,
		     strerror(-r));
		return -1;
	}
	if (r > 0) {
		fail("cannot mount on '%s': mountpoint busy", mnt);
		return -1;
	}
	return 0;
}

/* ---- daemon ------------------------------------------------------------- */

/* Parent side of the fork: the child's first line decides the exit code. */
static int wait_child(pid_t pid, int fd)
{
	char buf[1100];
	size_t used = 0;
	ssize_t n;
	int st;

	while (used < sizeof(buf) - 1) {
		n = read(fd, buf + used, sizeof(buf) - 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		used += (size_t)n;
		if (memchr(buf, '\n', used))
			break;
	}
	buf[used] = '\0';
	if (!strcmp(buf, "ok\n"))
		return 0;
	if (used) {
		buf[strcspn(buf, "\n")] = '\0';
		fprintf(stderr, PROG ": %s\n", buf);
	} else {
		fprintf(stderr, PROG ": daemon exited before the mount was "
				"ready\n");
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return MOUNT_FAILED;
}

/* Detaches the serving process from the caller's terminal and cwd. */
static int detach(int debug)
{
	int fd;

	if (chdir("/") != 0) {
		fail("cannot detach: %s", strerror(errno));
		return -1;
	}
	if (debug)
		return 0;
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fail("cannot detach: %s", strerror(errno));
		return -1;
	}
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
	return 0;
}

/* Tells whoever waits that the mount is live: the parent's pipe, the fd
 * named by VAULTFS_READY_FD (tests), and in debug mode stderr. */
static void signal_ready(int debug)
{
	const char *env = getenv(READY_ENV);
	char *end;
	long fd;

	if (status_fd >= 0) {
		if (write(status_fd, "ok\n", 3) != 3)
			dlog(LOG_WARNING, "cannot report readiness");
		close(status_fd);
		status_fd = -1;
		detached = 1;
	}
	if (env && *env) {
		errno = 0;
		fd = strtol(env, &end, 10);
		if (!errno && !*end && fd >= 0 && fd <= INT_MAX) {
			if (write((int)fd, "ok\n", 3) != 3)
				fail("cannot report readiness on fd %ld: %s",
				     fd, strerror(errno));
			close((int)fd);
		}
	}
	if (debug)
		fprintf(stderr, PROG ": ready\n");
}

/* Keeps the readiness fd out of key commands and other children. */
static void cloexec_ready_fd(void)
{
	const char *env = getenv(READY_ENV);
	long fd;

	if (env && *env) {
		fd = strtol(env, NULL, 10);
		if (fd > 2 && fd <= INT_MAX)
			fcntl((int)fd, F_SETFD, FD_CLOEXEC);
	}
}

/* The serving process starts clean whatever its caller left it: no
 * descriptor but stdio, the status pipe and the readiness fd (a lock or
 * file inherited from the caller would be held until unmount), default
 * signal dispositions and an empty mask, a umask for private files (all
 * it writes is vault data), and not dumpable (a core or ptrace would
 * expose keys and names).  Runs before the vault or /dev/fuse is open. */
static int sanitize_process(void)
{
	const char *env = getenv(READY_ENV);
	struct sigaction sa;
	struct dirent *de;
	long ready = -1, fd;
	sigset_t all;
	char *end;
	DIR *d;
	int sig, ret = -1;

	if (env && *env) {
		errno = 0;
		ready = strtol(env, &end, 10);
		if (errno || *end)
			ready = -1;
	}
	d = opendir("/proc/self/fd");
	if (!d) {
		fail("cannot start the daemon: /proc/self/fd: %s",
		     strerror(errno));
		goto out;
	}
	while ((de = readdir(d))) {
		errno = 0;
		fd = strtol(de->d_name, &end, 10);
		if (errno || *end || de->d_name[0] == '.' || fd <= 2 ||
		    fd == dirfd(d) || fd == status_fd || fd == ready)
			continue;
		close((int)fd);
	}
	closedir(d);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &sa, NULL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	umask(077);
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		fail("cannot start the daemon: %s", strerror(errno));
		goto out;
	}
	ret = 0;
out:
	return ret;
}

/* ---- alert delivery ----------------------------------------------------- */

/* Each alert, once in the audit log, becomes a log line (stderr with -f,
 * syslog otherwise) and, with -o alert_command=CMD, a run of /bin/sh -c
 * CMD with the alert as one JSON object on stdin (mail, a webhook: the
 * admin's choice).  Runs do not block the daemon: at most ALERT_RUNS at
 * once (one more alert then only logs that it was not handed over), each
 * killed after ALERT_RUN_S seconds, reaped by the timer.  The rate limit
 * is core's (alert.h): a flood stays a handful of runs. */
#define ALERT_RUNS 4
#define ALERT_RUN_S 30
struct deliver {
	const char *vault;
	const char *command;
	pthread_mutex_t mu;
	pid_t pid[ALERT_RUNS];
	time_t started[ALERT_RUNS];
};
static struct deliver deliver = { .mu = PTHREAD_MUTEX_INITIALIZER };

/* Reaps finished runs and kills those past their time; deliver.mu held. */
static void reap_locked(void)
{
	time_t now = time(NULL);
	int i, st;

	for (i = 0; i < ALERT_RUNS; i++) {
		if (!deliver.pid[i])
			continue;
		if (waitpid(deliver.pid[i], &st, WNOHANG) == deliver.pid[i]) {
			if (!WIFEXITED(st) || WEXITSTATUS(st))
				dlog(LOG_WARNING,
					    "alert_command of vault '%s' failed (status %d)",
					    deliver.vault, st);
			deliver.pid[i] = 0;
		} else if (now - deliver.started[i] > ALERT_RUN_S) {
			kill(-deliver.pid[i], SIGKILL);
			dlog(LOG_WARNING,
				    "alert_command of vault '%s' killed after %d s",
				    deliver.vault, ALERT_RUN_S);
			waitpid(deliver.pid[i], &st, 0);
			deliver.pid[i] = 0;
		}
	}
}

static void deliver_reap(void)
{
	pthread_mutex_lock(&deliver.mu);
	reap_locked();
	pthread_mutex_unlock(&deliver.mu);
}

/* Starts CMD with json on its stdin; 0, or -1 when it could not. */
static int deliver_run(const char *json)
{
	int fds[2], slot = -1, i, tries;
	size_t len = strlen(json);
	pid_t pid;

	pthread_mutex_lock(&deliver.mu);
	/* A burst of alerts in one flush: give the runs before it up to
	 * 2 s to end (this is the timer's thread, not a request's). */
	for (tries = 0; slot < 0 && tries < 200; tries++) {
		reap_locked();
		for (i = 0; i < ALERT_RUNS && slot < 0; i++)
			if (!deliver.pid[i])
				slot = i;
		if (slot < 0)
			usleep(10000);
	}
	if (slot < 0 || pipe2(fds, O_CLOEXEC) < 0) {
		pthread_mutex_unlock(&deliver.mu);
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		/* only async-signal-safe calls from here */
		setpgid(0, 0);
		if (dup2(fds[0], 0) < 0)
			_exit(127);
		close_range(3, ~0U, 0);
		execl("/bin/sh", "sh", "-c", deliver.command, (char *)NULL);
		_exit(127);
	}
	close(fds[0]);
	if (pid > 0) {
		deliver.pid[slot] = pid;
		deliver.started[slot] = time(NULL);
		/* a JSON line fits a pipe's buffer: this does not block */
		if (write(fds[1], json, len) != (ssize_t)len) {
			/* the command did not read it: its status says so */
		}
	}
	close(fds[1]);
	pthread_mutex_unlock(&deliver.mu);
	return pid > 0 ? 0 : -1;
}

static void alert_hook(void *arg, const struct vf_alert *a)
{
	char when[32], uid[16];
	struct json_object *o;

	vf_time_format(a->t, when);
	if (a->uid == VF_AUDIT_UID_NONE)
		snprintf(uid, sizeof(uid), "-");
	else
		snprintf(uid, sizeof(uid), "%lu", (unsigned long)a->uid);
	dlog(a->sev == VF_ALERT_CRIT ? LOG_CRIT : LOG_WARNING,
		    "alert %s %s on vault '%s' (uid %s): %s",
		    vf_alert_sev_name(a->sev), vf_alert_kind_name(a->kind),
		    deliver.vault, uid, a->what);
	if (!deliver.command)
		return;
	o = json_object_new_object();
	json_object_object_add(o, "vault", json_object_new_string(deliver.vault));
	json_object_object_add(o, "time", json_object_new_string(when));
	json_object_object_add(o, "kind",
			       json_object_new_string(vf_alert_kind_name(a->kind)));
	json_object_object_add(o, "severity",
			       json_object_new_string(vf_alert_sev_name(a->sev)));
	json_object_object_add(o, "uid", a->uid == VF_AUDIT_UID_NONE ?
					 NULL :
					 json_object_new_int64(a->uid));
	json_object_object_add(o, "count", json_object_new_int64((int64_t)a->count));
	json_object_object_add(o, "what", json_object_new_string(a->what));
	if (deliver_run(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN)) < 0)
		dlog(LOG_WARNING,
			    "alert_command of vault '%s' not run (%d still running or no resources): alert %s not handed over",
			    deliver.vault, ALERT_RUNS, vf_alert_kind_name(a->kind));
	json_object_put(o);
}

/* A wrong key: noted for the alert the next mount raises (alert.h), a
 * log line (syslog: in the foreground stderr already has the refusal's
 * one line) and, with alert_command=, a run of it now, waited for at most
 * ALERT_RUN_S seconds (there is no daemon to reap it later). */
static void deliver_unlock_failure(const struct mount_opts *o, const char *why)
{
	struct json_object *j;
	char when[32];
	time_t t0 = time(NULL);
	int i, busy;

	vf_unlock_failure_note(VF_UNLOCK_DIR, o->vault, (uint32_t)getuid(), why);
	if (!o->foreground || log_fd >= 0)
		dlog(LOG_WARNING, "alert warning unlock-failed on vault '%s' (uid %lu): %s",
		     o->vault, (unsigned long)getuid(), why);
	if (!o->alert_command)
		return;
	deliver.vault = o->vault;
	deliver.command = o->alert_command;
	vf_time_format(vf_clock_now(), when);
	j = json_object_new_object();
	json_object_object_add(j, "vault", json_object_new_string(o->vault));
	json_object_object_add(j, "time", json_object_new_string(when));
	json_object_object_add(j, "kind", json_object_new_string(
					vf_alert_kind_name(VF_ALERT_UNLOCK)));
	json_object_object_add(j, "severity", json_object_new_string(
					vf_alert_sev_name(VF_ALERT_WARNING)));
	json_object_object_add(j, "uid", json_object_new_int64(getuid()));
	json_object_object_add(j, "count", json_object_new_int64(1));
	json_object_object_add(j, "what", json_object_new_string(why));
	if (deliver_run(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN)) == 0)
		do {
			usleep(20000);
			deliver_reap();
			pthread_mutex_lock(&deliver.mu);
			for (i = busy = 0; i < ALERT_RUNS; i++)
				busy |= deliver.pid[i] != 0;
			pthread_mutex_unlock(&deliver.mu);
		} while (busy && time(NULL) - t0 <= ALERT_RUN_S + 1);
	json_object_put(j);
}

/* ---- maintenance timer -------------------------------------------------- */

/* A thread that runs vf_admin_maintain (prune by the retention policy,
 * then gc) every interval seconds, the first time one interval after the
 * mount, and writes the audit log's denied-access counts of finished
 * minutes every AUDIT_FLUSH seconds (so that they do not wait for the
 * next audited event), and every second writes and delivers the alerts
 * core queued (alert.h) and reaps alert_command runs.  It sleeps in a timed wait on a condition variable
 * (on the monotonic clock: a step of the wall clock neither fires nor
 * delays it), so that maint_stop ends it at once; a run in progress
 * finishes first. */
#define AUDIT_FLUSH 60
#define ALERT_FLUSH 1 /* seconds: alerts go out within about this */
/* seconds between rewrites of -o metrics=FILE: node-exporter's textfile
 * collector reads it at each scrape (typically every 15 to 60 s) */
#define METRICS_EVERY 15
struct maint {
	struct vf_vault *v; /* borrowed */
	const char *vault;
	const char *metrics; /* -o metrics=FILE or NULL */
	unsigned interval;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	volatile int stop; /* under mu */
};

static void maint_warn(const struct maint *m, const char *what, int rc)
{
	dlog(LOG_WARNING, "%s of vault '%s' failed: %s", what, m->vault,
	     strerror(-rc));
}

/* A stop --delete that a crash interrupted goes on (docs/protection.md):
 * at the daemon's start and before each upkeep, as the daemon itself. */
static void protection_continue(const struct maint *m)
{
	const struct vf_caller self = { .uid = 0, .gid = 0, .pid = getpid() };
	struct vf_protect p;
	struct vf_admin a;
	int rc;

	vf_admin_init(&a, &self, NULL);
	rc = vf_admin_protection_continue(m->v, &a, &p);
	if (rc < 0)
		dlog(LOG_WARNING, "protection stop --delete of vault '%s' failed: %s",
		     m->vault, a.why[0] ? a.why : strerror(-rc));
	else if (rc)
		dlog(LOG_INFO, "protection stop --delete of vault '%s' finished: %llu files soft-deleted, %llu kept by immutability",
		     m->vault, (unsigned long long)p.deleted,
		     (unsigned long long)p.kept);
}

/* The upkeep goes through core's gate like every administrative
 * operation, as the daemon itself (root); a run that removed something is
 * logged with what it removed (and audited by core), a failure as a
 * warning. */
static void maintain(const struct maint *m)
{
	const struct vf_caller self = { .uid = 0, .gid = 0, .pid = getpid() };
	struct vf_maint_stats st;
	struct vf_admin a;
	char detail[512];
	int rc;

	protection_continue(m);
	vf_admin_init(&a, &self, NULL);
	rc = vf_admin_maintain(m->v, &a, &st, detail, sizeof(detail));
	if (rc < 0) {
		maint_warn(m, "maintenance", rc);
		return;
	}
	if (!strcmp(detail, "nothing to do"))
		return;
	dlog(LOG_INFO, "maintenance of vault '%s': %s", m->vault, detail);
}

/* Rewrites the metrics file atomically: a temporary file in the same
 * directory, written, fsynced, renamed over it, the directory fsynced; a
 * reader sees the old file or the new one, never half of one.  The file
 * is 0644: it holds numbers only, no names (metrics.h).  0 or -errno. */
static int write_metrics(const struct maint *m)
{
	const struct vf_caller self = { .uid = 0, .gid = 0, .pid = getpid() };
	struct vf_admin a;
	char *tmp = NULL, *dir = NULL, *slash;
	FILE *f = NULL;
	int fd = -1, rc = 0;

	if (asprintf(&tmp, "%s.XXXXXX", m->metrics) < 0) {
		tmp = NULL;
		return -ENOMEM;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0 || fchmod(fd, 0644) < 0 || !(f = fdopen(fd, "w"))) {
		rc = -errno;
		goto out;
	}
	vf_admin_init(&a, &self, NULL);
	rc = vf_admin_metrics(m->v, &a, f);
	if (!rc && (fflush(f) != 0 || fsync(fd) < 0))
		rc = -errno;
	if (!rc && rename(tmp, m->metrics) < 0)
		rc = -errno;
	if (!rc) {
		dir = strdup(m->metrics);
		slash = dir ? strrchr(dir, '/') : NULL;
		if (slash) {
			int dfd;

			*(slash == dir ? slash + 1 : slash) = '\0';
			dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (dfd >= 0) {
				fsync(dfd);
				close(dfd);
			}
		}
	}
out:
	if (f)
		fclose(f);
	else if (fd >= 0)
		close(fd);
	if (rc && fd >= 0)
		unlink(tmp);
	free(dir);
	free(tmp);
	return rc;
}

static void *maint_main(void *arg)
{
	struct maint *m = arg;
	struct timespec now, deadline, next;
	time_t audit_next, metrics_next = 0;
	int rc;

	protection_continue(m);
	clock_gettime(CLOCK_MONOTONIC, &next);
	next.tv_sec += m->interval;
	audit_next = next.tv_sec - m->interval + AUDIT_FLUSH;
	pthread_mutex_lock(&m->mu);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += ALERT_FLUSH;
		if (deadline.tv_sec > next.tv_sec)
			deadline = next;
		rc = 0;
		while (!m->stop && rc != ETIMEDOUT)
			rc = pthread_cond_timedwait(&m->cond, &m->mu,
						    &deadline);
		if (m->stop)
			break;
		pthread_mutex_unlock(&m->mu);
		rc = vf_vault_alerts_flush(m->v);
		if (rc < 0)
			maint_warn(m, "writing alerts to the audit log", rc);
		deliver_reap();
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (m->metrics && now.tv_sec >= metrics_next) {
			rc = write_metrics(m);
			if (rc < 0)
				maint_warn(m, "writing the metrics file", rc);
			metrics_next = now.tv_sec + METRICS_EVERY;
		}
		if (now.tv_sec >= audit_next) {
			rc = vf_vault_audit_flush(m->v, vf_vault_stamp(m->v),
						  0);
			if (rc < 0)
				maint_warn(m, "writing the audit log", rc);
			audit_next = now.tv_sec + AUDIT_FLUSH;
		}
		if (now.tv_sec > next.tv_sec ||
		    (now.tv_sec == next.tv_sec && now.tv_nsec >= next.tv_nsec)) {
			maintain(m);
			clock_gettime(CLOCK_MONOTONIC, &next);
			next.tv_sec += m->interval;
		}
		pthread_mutex_lock(&m->mu);
	}
	pthread_mutex_unlock(&m->mu);
	return NULL;
}

/* Starts a daemon thread running fn(arg) with every signal blocked (the
 * FUSE session's handlers run elsewhere), and its mutex and condition
 * variable (on the monotonic clock, for timed waits).  0 or -errno. */
static int thread_start(pthread_t *t, pthread_mutex_t *mu,
			pthread_cond_t *cond, void *(*fn)(void *), void *arg)
{
	pthread_condattr_t ca;
	sigset_t all, old;
	int rc;

	rc = pthread_condattr_init(&ca);
	if (rc)
		return -rc;
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	rc = pthread_cond_init(cond, &ca);
	pthread_condattr_destroy(&ca);
	if (rc)
		return -rc;
	pthread_mutex_init(mu, NULL);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		pthread_cond_destroy(cond);
		pthread_mutex_destroy(mu);
		return -rc;
	}
	return 0;
}

/* Sets *stop under mu, wakes the thread and waits for it to end. */
static void thread_stop(pthread_t t, pthread_mutex_t *mu, pthread_cond_t *cond,
			volatile int *stop)
{
	pthread_mutex_lock(mu);
	*stop = 1;
	pthread_cond_signal(cond);
	pthread_mutex_unlock(mu);
	pthread_join(t, NULL);
	pthread_cond_destroy(cond);
	pthread_mutex_destroy(mu);
}

/* Starts the timer (with every signal blocked: the FUSE session's
 * handlers run elsewhere).  Returns 0 or -errno. */
static int maint_start(struct maint *m, struct vf_vault *v,
		       const struct mount_opts *o)
{
	m->v = v;
	m->vault = o->vault;
	m->interval = o->maintain;
	m->metrics = o->metrics;
	m->stop = 0;
	return thread_start(&m->thread, &m->mu, &m->cond, maint_main, m);
}

/* Wakes the timer and waits for it to end. */
static void maint_stop(struct maint *m)
{
	thread_stop(m->thread, &m->mu, &m->cond, &m->stop);
}

/* ---- data key rotation job ----------------------------------------------- */

/* A thread that finishes data key rotations (docs/keys-rotation.md):
 * every ROT_POLL seconds, or at once after a run that left work, it runs
 * vf_admin_key_rotation_run as the daemon itself (root), which returns
 * at once when no rotation is pending.  A pending rotation found at the
 * mount (the last daemon was killed halfway) resumes here.  rot_stop
 * makes the job stop between two packs. */
#define ROT_POLL 1
#define ROT_RETRY 10 /* seconds after a failed run */
struct rot {
	struct vf_vault *v; /* borrowed */
	const char *vault;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	volatile int stop; /* set under mu; read by core between packs */
};

static void *rot_main(void *arg)
{
	const struct vf_caller self = { .uid = 0, .gid = 0, .pid = getpid() };
	struct rot *r = arg;
	struct timespec deadline;
	struct vf_admin a;
	uint64_t moved = 0, total = 0;
	int rc, wait_s = 0, busy = 0;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += wait_s;
		rc = 0;
		while (!r->stop && wait_s && rc != ETIMEDOUT)
			rc = pthread_cond_timedwait(&r->cond, &r->mu,
						    &deadline);
		if (r->stop)
			break;
		pthread_mutex_unlock(&r->mu);
		vf_admin_init(&a, &self, NULL);
		rc = vf_admin_key_rotation_run(r->v, &a, &r->stop, &moved);
		total += moved;
		if (rc < 0)
			dlog(LOG_WARNING, "data key rotation of vault '%s' failed: %s",
			     r->vault, a.why[0] ? a.why : strerror(-rc));
		else if (rc == 0 && busy)
			dlog(LOG_INFO, "data key rotation of vault '%s' done: %llu packs re-encrypted, the older data keys destroyed",
			     r->vault, (unsigned long long)total);
		busy = rc != 0;
		if (!busy)
			total = 0;
		wait_s = rc < 0 ? ROT_RETRY : ROT_POLL;
		pthread_mutex_lock(&r->mu);
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/* Starts the job (with every signal blocked).  0 or -errno. */
static int rot_start(struct rot *r, struct vf_vault *v, const char *vault)
{
	r->v = v;
	r->vault = vault;
	r->stop = 0;
	return thread_start(&r->thread, &r->mu, &r->cond, rot_main, r);
}

/* Stops the job after the pack in hand and waits for it. */
static void rot_stop(struct rot *r)
{
	thread_stop(r->thread, &r->mu, &r->cond, &r->stop);
}

/* Records the daemon's own events in the audit log as uid 0 (who started
 * it); a failure is logged, not fatal: the mount works on. */
static void audit_daemon(struct vf_vault *v, const struct mount_opts *o,
			 const char *action)
{
	int r = vf_vault_audit(v, (uint32_t)getuid(), action, o->mnt, "ok",
			       NULL);

	if (r < 0) {
		if (!o->foreground && !detached)
			fprintf(stderr, PROG ": recording the %s in the audit log failed: %s\n",
				action, strerror(-r));
		else
			dlog(LOG_WARNING, "recording the %s in the audit log failed: %s",
			     action, strerror(-r));
	}
}

/* Opens, mounts and serves; returns the exit code. */
static int serve(struct mount_opts *o)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_loop_config *lc = NULL;
	struct fuse_session *se = NULL;
	struct vf_ctlsock *cs = NULL;
	struct vf_vault *v = NULL;
	struct vf_fs *fs = NULL;
	struct maint maint;
	struct rot rot;
	int mounted = 0, handlers = 0, maint_on = 0, rot_on = 0, ready = 0,
	    ret = MOUNT_FAILED, r;
	char err[512];

	log_foreground = o->foreground;
	if (o->log) {
		log_fd = open(o->log, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW |
					      O_CLOEXEC, 0600);
		if (log_fd < 0) {
			fail("cannot open the log file '%s': %s", o->log,
			     strerror(errno));
			goto out;
		}
	}
	/* messages name key options as mount -o spells them */
	o->po.mount_style = 1;
	r = vf_vault_open(o->vault, &o->po, o->ro ? VF_OPEN_RDONLY : 0, &v,
			  err, sizeof(err));
	if (r < 0) {
		fail("%s", err);
		if (r == -EBADMSG)
			deliver_unlock_failure(o, err);
		goto out;
	}
	if (fuse_opt_add_arg(&args, PROG) || fuse_opt_add_arg(&args, "-o") ||
	    fuse_opt_add_arg(&args, o->kopts) ||
	    (o->debug && fuse_opt_add_arg(&args, "-d"))) {
		fail("cannot start the filesystem: %s", strerror(ENOMEM));
		goto out;
	}
	r = vf_fs_new(v, &args,
		      VF_FS_COUNT_OPS |
			      (o->writeback ? VF_FS_WRITEBACK : 0),
		      &fs, err,
		      sizeof(err));
	if (r < 0) {
		fail("%s", err);
		goto out;
	}
	se = vf_fs_session(fs);
	if (fuse_set_signal_handlers(se) != 0) {
		fail("cannot start the filesystem: cannot set signal handlers");
		goto out;
	}
	handlers = 1;
	if (fuse_session_mount(se, o->mnt) != 0) {
		/* libfuse printed the kernel's reason on stderr. */
		fail("cannot mount on '%s': mount failed", o->mnt);
		goto out;
	}
	mounted = 1;
	r = vf_ctlsock_start(v, o->mnt, &cs, err, sizeof(err));
	if (r < 0) {
		fail("%s", err);
		goto out;
	}
	lc = fuse_loop_cfg_create();
	if (!lc) {
		fail("cannot start the filesystem: %s", strerror(ENOMEM));
		goto out;
	}
	fuse_loop_cfg_set_idle_threads(lc, 10);
	fuse_loop_cfg_set_clone_fd(lc, 0);
	if (!o->foreground && detach(o->debug) != 0)
		goto out;
	if (!o->ro) {
		deliver.vault = o->vault;
		deliver.command = o->alert_command;
			vf_vault_set_alert_hook(v, alert_hook, NULL);
		if (vf_unlock_failures_report(v, VF_UNLOCK_DIR) < 0)
			dlog(LOG_WARNING, "cannot read or remove the notes of failed unlocks in %s",
				    VF_UNLOCK_DIR);
		r = maint_start(&maint, v, o);
		if (r < 0) {
			fail("cannot start the maintenance timer: %s",
			     strerror(-r));
			goto out;
		}
		maint_on = 1;
		r = rot_start(&rot, v, o->vault);
		if (r < 0) {
			fail("cannot start the data key rotation job: %s",
			     strerror(-r));
			goto out;
		}
		rot_on = 1;
		/* a remote vault ships to its store from now on (ship.h) */
		r = vf_ship_start(v, err, sizeof(err));
		if (r < 0) {
			fail("%s", err);
			goto out;
		}
		if (o->quota && vf_vault_set_quota(v, o->quota) < 0)
			goto out;
		if (o->cache_size != UINT64_MAX) {
			r = vf_vault_set_cache_size(v, o->cache_size);
			if (r < 0) {
				fail(r == -ENOTSUP ?
					     "cache_size= is for a remote vault (this one has no store)" :
					     "cannot apply cache_size=: %s",
				     strerror(-r));
				goto out;
			}
		}
	}
	/* The mount and the unmount are audited (not on a
	 * read-only mount, whose catalog is not written). */
	if (!o->ro)
		audit_daemon(v, o, "mount");
	signal_ready(o->debug);
	ready = 1;
	dlog(LOG_INFO, "mounted vault '%s' on '%s'%s", o->vault, o->mnt,
	     o->ro ? " read-only" : "");

	r = fuse_session_loop_mt(se, lc);
	/* 0 after umount, the signal number after SIGTERM and the like. */
	if (r < 0) {
		fail("filesystem on '%s' failed: %s", o->mnt, strerror(-r));
		goto out;
	}
	ret = 0;
out:
	if (rot_on)
		rot_stop(&rot);
	if (maint_on)
		maint_stop(&maint);
	vf_ctlsock_stop(cs);
	if (ready && !o->ro)
		audit_daemon(v, o, "unmount");
	if (handlers)
		fuse_remove_signal_handlers(se);
	if (mounted)
		fuse_session_unmount(se);
	/* Before the vault closes: the statistics read its counters. */
	if (fs && o->stats && (r = vf_fs_write_stats(fs, o->stats)) < 0) {
		fail("cannot write statistics to '%s': %s", o->stats,
		     strerror(-r));
		ret = 1;
	}
	if (v) {
		r = vf_vault_close(v);
		if (r != 0) {
			fail("cannot close vault '%s': %s", o->vault,
			     strerror(r < 0 ? -r : EIO));
			ret = 1;
		}
	}
	vf_fs_free(fs);
	if (lc)
		fuse_loop_cfg_destroy(lc);
	fuse_opt_free_args(&args);
	if (ready)
		dlog(ret ? LOG_WARNING : LOG_INFO, "unmounted vault '%s' from '%s'%s",
		     o->vault, o->mnt, ret ? " (with the errors above)" : "");
	if (log_fd >= 0)
		close(log_fd);
	return ret;
}

/* The daemon's memory must not grow with the data (README, "Memory").
 * Chunk buffers (up to 2 MiB) come and go all the time: served by mmap
 * each would cost page faults and zeroing on every chunk (4x slower
 * streams), while glibc's default moves its mmap threshold up and lets
 * every FUSE thread grow an arena of its own, whose fragments add up over
 * a long ingest.  So: buffers always from the heap (fixed threshold above
 * the largest chunk) and two arenas for all threads. */
static void bound_malloc(void)
{
	mallopt(M_MMAP_THRESHOLD, 8 << 20);
	mallopt(M_ARENA_MAX, 2);
	mallopt(M_TRIM_THRESHOLD, 16 << 20);
}

static void free_opts(struct mount_opts *o)
{
	int i;

	for (i = 0; i < o->n_olist; i++)
		free(o->olist[i]);
	free(o->vault);
	free(o->mnt);
	free(o->stats);
	free(o->log);
	free(o->metrics);
	free(o->kopts);
}

int main(int argc, char **argv)
{
	struct mount_opts o = { .maintain = MAINTAIN_DEFAULT,
				.cache_size = UINT64_MAX };
	int p[2], ret = 1;
	pid_t pid;

	bound_malloc();
	o.remount = wants_remount(argc, argv);
	if (parse_args(&o, argc, argv) != 0)
		goto out;
	if (o.remount) {
		ret = remount(&o);
		goto out;
	}
	if (build_kopts(&o) != 0)
		goto out;
	ret = MOUNT_FAILED;
	if (check_mountpoint(o.mnt) != 0)
		goto out;
	cloexec_ready_fd();
	if (!o.foreground) {
		if (pipe2(p, O_CLOEXEC) != 0) {
			fail("cannot start the daemon: %s", strerror(errno));
			goto out;
		}
		fflush(NULL);
		pid = fork();
		if (pid < 0) {
			fail("cannot start the daemon: %s", strerror(errno));
			goto out;
		}
		if (pid > 0) {
			close(p[1]);
			ret = wait_child(pid, p[0]);
			goto out;
		}
		close(p[0]);
		status_fd = p[1];
		setsid();
		openlog(PROG, LOG_PID, LOG_DAEMON);
	}
	if (sanitize_process() == 0)
		ret = serve(&o);
	if (status_fd >= 0)
		close(status_fd);
out:
	free_opts(&o);
	return ret;
}
