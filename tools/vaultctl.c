/*
 * vaultctl.c - the command-line front end: finds the command (cmds.c),
 * decides where it runs and hands it over.
 *
 *   standalone (init, help)       runs here, no vault
 *   client (restore, undelete)    runs here, as the caller, through the
 *                                 mounted tree (TARGET must be a mount)
 *   TARGET is a mountpoint        the whole argv goes to the daemon over
 *                                 the control socket (ctlsock.c); the
 *                                 daemon knows us from SO_PEERCRED
 *   TARGET is a vault directory   offline: root only; key options are
 *                                 taken out of argv, the vault is opened
 *                                 here and the command runs as uid 0
 *
 * Exit codes: 0 ok, 1 refused or failed (one line on stderr),
 * 2 usage (the command's usage line on stderr).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "cmd_util.h"
#include "cmds.h"
#include "ctlsock.h"
#include "key_client.h"

/*
 * The client commands' handlers (restore.c).  They are named here and not
 * in the shared command table because the daemon links that table: a
 * handler there would pull the whole restore client into mount.vaultfs,
 * where it must never run (it acts as its caller, through the mount).
 */
static const struct vf_cmd_client clients[] = {
	{ "restore", cmd_restore },
	{ "undelete", cmd_undelete },
	{ "backup", cmd_backup },
};

#ifndef FUSE_SUPER_MAGIC
#define FUSE_SUPER_MAGIC 0x65735546
#endif

/* The pid holding the flock on DIR/lock (from /proc/locks), or 0. */
static long lock_holder(const char *dir)
{
	char path[PATH_MAX], *line = NULL;
	unsigned maj, mnr;
	unsigned long long ino;
	size_t cap = 0;
	struct stat st;
	long pid, found = 0;
	FILE *f;

	if (snprintf(path, sizeof(path), "%s/lock", dir) >= (int)sizeof(path) ||
	    stat(path, &st) < 0 || !(f = fopen("/proc/locks", "re")))
		return 0;
	while (!found && getline(&line, &cap, f) > 0)
		if (!strstr(line, "->") &&
		    sscanf(line, "%*d: FLOCK %*s %*s %ld %x:%x:%llu", &pid,
			   &maj, &mnr, &ino) == 4 &&
		    maj == major(st.st_dev) && mnr == minor(st.st_dev) &&
		    ino == (unsigned long long)st.st_ino)
			found = pid;
	free(line);
	fclose(f);
	return found;
}

/* Where the vault at dir is mounted (a vaultfs mount whose source is
 * dir, per mountinfo) into mnt; 0 when it is not. */
static int mounted_at(const char *dir, char *mnt, size_t cap)
{
	char *line = NULL, *real, *src, *p, *q;
	char mp[PATH_MAX], srcbuf[PATH_MAX];
	size_t lcap = 0;
	int found = 0;
	FILE *f;

	real = realpath(dir, NULL);
	if (!real || !(f = fopen("/proc/self/mountinfo", "re"))) {
		free(real);
		return 0;
	}
	while (!found && getline(&line, &lcap, f) > 0) {
		p = strstr(line, " - fuse.vaultfs ");
		if (!p || sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1 ||
		    sscanf(p + 16, "%4095s", srcbuf) != 1)
			continue;
		/* mountinfo escapes space, tab, newline, backslash as \ooo */
		for (src = q = srcbuf; *q; q++)
			if (q[0] == '\\' && q[1] >= '0' && q[1] <= '3' && q[2] &&
			    q[3]) {
				*src++ = (char)((q[1] - '0') << 6 |
						(q[2] - '0') << 3 | (q[3] - '0'));
				q += 3;
			} else {
				*src++ = *q;
			}
		*src = '\0';
		src = realpath(srcbuf, NULL);
		found = src && !strcmp(src, real);
		free(src);
	}
	if (found) {
		for (src = q = mp; *q; q++)
			if (q[0] == '\\' && q[1] && q[2] && q[3]) {
				*src++ = (char)((q[1] - '0') << 6 |
						(q[2] - '0') << 3 | (q[3] - '0'));
				q += 3;
			} else {
				*src++ = *q;
			}
		*src = '\0';
		snprintf(mnt, cap, "%s", mp);
	}
	free(line);
	free(real);
	fclose(f);
	return found;
}

/* The one line for a vault whose lock is held; returns 1. */
static int say_in_use(const char *dir)
{
	char mnt[PATH_MAX];
	long pid = lock_holder(dir);

	if (mounted_at(dir, mnt, sizeof(mnt))) {
		fprintf(stderr, "vaultctl: vault '%s' is mounted at '%s'", dir,
			mnt);
		if (pid)
			fprintf(stderr, " (daemon pid %ld)", pid);
		fputs("; run the command against the mountpoint\n", stderr);
	} else if (pid) {
		fprintf(stderr, "vaultctl: vault '%s' is in use by pid %ld\n",
			dir, pid);
	} else {
		fprintf(stderr, "vaultctl: vault '%s' is in use by another process\n",
			dir);
	}
	return 1;
}

/* Runs argv (TARGET at index t) offline against the vault directory. */
static int run_offline(int argc, char **argv, int t, int open_flags)
{
	struct vf_protector_opts o;
	struct vf_cmd_ctx ctx;
	struct vf_vault *v = NULL;
	const char *dir = argv[t];
	char err[512] = "";
	int i, rc;

	/* Drop TARGET, then the key options; both are ours, not the
	 * command's. */
	for (i = t; i < argc; i++)
		argv[i] = argv[i + 1];
	argc--;
	rc = vf_cmds_take_key_opts(&argc, argv, &o, stderr);
	if (rc) {
		vf_cmds_usage(stderr, argc, argv);
		return rc;
	}
	/* check --accept-rollback: the deliberate, offline, root-only way
	 * to take a catalog that went back (core/catalog.h); opened for
	 * writing so the catalog is re-anchored, and audited by the core. */
	for (i = 1; i < argc && !strcmp(argv[0], "check"); i++)
		if (!strcmp(argv[i], "--accept-rollback")) {
			if (getuid() != 0) {
				fprintf(stderr, "vaultctl: --accept-rollback "
					"needs root\n");
				return 1;
			}
			memmove(argv + i, argv + i + 1,
				(size_t)(argc - i) * sizeof(*argv));
			argc--;
			open_flags = (open_flags & ~VF_OPEN_RDONLY) |
				     VF_OPEN_ACCEPT_ROLLBACK;
			break;
		}
	rc = vf_vault_open(dir, &o, open_flags, &v, err, sizeof(err));
	if (rc == -EBUSY)
		return say_in_use(dir);
	if (rc == -EBADMSG) /* a wrong key: the next mount raises an alert */
		vf_unlock_failure_note(VF_UNLOCK_DIR, dir, (uint32_t)getuid(),
				       err);
	if (rc < 0) {
		if (err[0])
			fprintf(stderr, "vaultctl: %s\n", err);
		else
			fprintf(stderr, "vaultctl: opening vault '%s' failed: %s\n",
				dir, strerror(-rc));
		return 1;
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.v = v;
	ctx.caller.uid = 0;
	ctx.caller.gid = 0;
	ctx.caller.pid = getpid();
	ctx.online = 0;
	ctx.target = dir;
	ctx.out = stdout;
	ctx.err = stderr;
	rc = vf_cmds_run(&ctx, argc, argv);
	if (fflush(stdout) != 0 && rc == 0) {
		fprintf(stderr, "vaultctl: writing the output failed: %s\n",
			strerror(errno));
		rc = 1;
	}
	i = vf_vault_close(v);
	if (i < 0) {
		fprintf(stderr, "vaultctl: closing vault '%s' failed: %s\n", dir,
			strerror(-i));
		if (rc == 0)
			rc = 1;
	}
	return rc;
}

/* The one line for a daemon that failed to answer; returns 1. */
static int say_call_failed(const char *target, int rc)
{
	if (rc == -ETIMEDOUT)
		fprintf(stderr, "vaultctl: the vaultfs daemon of '%s' did not answer within %u s\n",
			target, vf_ctlsock_timeout_s());
	else
		fprintf(stderr, "vaultctl: talking to the vaultfs daemon of '%s' failed: %s\n",
			target, strerror(-rc));
	return 1;
}

/* When target might be a vault we may not look into, says why in one
 * line (the real errno, not "not a vault") and returns it; else 0. */
static int vault_header_errno(const char *target)
{
	char path[PATH_MAX];
	struct stat st;

	if (snprintf(path, sizeof(path), "%s/%s", target, VF_HEADER_NAME) >=
		    (int)sizeof(path) ||
	    stat(path, &st) == 0 || errno == ENOENT || errno == ENOTDIR)
		return 0;
	fprintf(stderr, "vaultctl: cannot look into '%s': %s\n", target,
		strerror(errno));
	return errno;
}

/* The mountpoint of the filesystem path is on: its topmost ancestor on
 * the same device.  Returns a malloc'd path, or NULL. */
static char *mount_root(const char *path)
{
	char *cur = realpath(path, NULL), *slash;
	struct stat st;
	dev_t dev;

	if (!cur || stat(cur, &st) < 0) {
		free(cur);
		return NULL;
	}
	dev = st.st_dev;
	while ((slash = strrchr(cur, '/')) && slash != cur) {
		*slash = '\0';
		if (stat(cur, &st) < 0 || st.st_dev != dev) {
			*slash = '/';
			break;
		}
	}
	return cur;
}

/* Runs a command through the daemon of the vaultfs mount that path is
 * inside of (`vaultctl status /mnt/v/some/dir`).  Returns the exit code,
 * or -ENOENT when no daemon answers there. */
static int call_enclosing(const char *path, int argc, char **argv)
{
	char *root = mount_root(path);
	int rc;

	if (!root)
		return -ENOENT;
	rc = strcmp(root, path) ? vf_ctlsock_call(root, argc, argv) : -ENOENT;
	free(root);
	return rc;
}

/* Runs a command with a TARGET: through its daemon, or offline. */
static int run_target(int argc, char **argv, const struct vf_cmd_info *info)
{
	const char *target = argv[info->target];
	struct statfs sfs;
	struct stat st;
	int rc, fuse = 0;

	if (stat(target, &st) < 0) {
		if (errno == ENOTCONN)
			goto dead;
		if (errno == EACCES) {
			/* A vaultfs mount refuses even stat to a caller with
			 * no role (README.md, Roles); its daemon still answers, and
			 * says which role the command needs. */
			rc = vf_ctlsock_call(target, argc, argv);
			if (rc >= 0)
				return rc;
			if (rc != -ENOENT && rc != -EACCES)
				return say_call_failed(target, rc);
			errno = EACCES;
		}
		if (errno == EACCES && geteuid() != 0) {
			fprintf(stderr, "vaultctl: offline access to a vault directory needs root\n");
			return 1;
		}
		if (errno != ENOENT && errno != ENOTDIR) {
			fprintf(stderr, "vaultctl: cannot access '%s': %s\n",
				target, strerror(errno));
			return 1;
		}
	} else if (S_ISDIR(st.st_mode)) {
		/* stat may be answered from the kernel's cache; statfs asks
		 * the daemon, so it tells a dead mount. */
		if (statfs(target, &sfs) < 0) {
			if (errno == ENOTCONN)
				goto dead;
		} else {
			fuse = (unsigned long)sfs.f_type == FUSE_SUPER_MAGIC;
		}
		rc = vf_ctlsock_call(target, argc, argv);
		if (rc == -ENOENT && fuse)
			rc = call_enclosing(target, argc, argv);
		if (rc >= 0)
			return rc;
		if (rc != -ENOENT)
			return say_call_failed(target, rc);
		if (fuse) {
			fprintf(stderr, "vaultctl: no vaultfs daemon answers for the FUSE mount '%s'\n",
				target);
			return 1;
		}
		if (vf_protector_is_vault(target) == 1 ||
		    (geteuid() != 0 && access(target, X_OK) < 0 &&
		     errno == EACCES)) {
			/* A vault directory is root-only (README.md, The vault
			 * directory), so a user
			 * who cannot look inside probably points at one; a
			 * user's own vault (a test's) is theirs to open. */
			if (geteuid() != 0 && st.st_uid != geteuid()) {
				fprintf(stderr, "vaultctl: offline access to a vault directory needs root\n");
				return 1;
			}
			return run_offline(argc, argv, info->target,
					   info->open_flags);
		}
	} else if (statfs(target, &sfs) == 0 &&
		   (unsigned long)sfs.f_type == FUSE_SUPER_MAGIC) {
		/* a file inside a mount */
		rc = call_enclosing(target, argc, argv);
		if (rc >= 0)
			return rc;
		if (rc != -ENOENT)
			return say_call_failed(target, rc);
	}
	if (!vault_header_errno(target))
		fprintf(stderr, "vaultctl: '%s' is neither a vaultfs mountpoint nor a vault directory\n",
			target);
	return 1;
dead:
	fprintf(stderr, "vaultctl: '%s' is a dead vaultfs mount (its daemon is gone); unmount it with fusermount3 -u\n",
		target);
	return 1;
}

/* role grant/revoke take user:NAME and group:NAME too: vaultctl looks the
 * name up here, in the caller's user database, and hands the daemon the
 * number (grants are stored by id: a name that later points to someone
 * else carries no role).  Returns 0, or 1 after saying which name is
 * unknown. */
static int resolve_principals(int argc, char **argv)
{
	static char buf[4][32];
	const char *name;
	struct passwd *pw;
	struct group *gr;
	int i, n = 0, g;

	if (argc < 2 || strcmp(argv[0], "role") ||
	    (strcmp(argv[1], "grant") && strcmp(argv[1], "revoke")))
		return 0;
	for (i = 2; i < argc && n < 4; i++) {
		g = !strncmp(argv[i], "group:", 6);
		if (!g && strncmp(argv[i], "user:", 5))
			continue;
		name = argv[i] + (g ? 6 : 5);
		if (!*name || strspn(name, "0123456789") == strlen(name))
			continue;
		if (g && (gr = getgrnam(name)))
			snprintf(buf[n], sizeof(buf[n]), "group:%lu",
				 (unsigned long)gr->gr_gid);
		else if (!g && (pw = getpwnam(name)))
			snprintf(buf[n], sizeof(buf[n]), "user:%lu",
				 (unsigned long)pw->pw_uid);
		else {
			fprintf(stderr, "vaultctl: role %s: no %s called '%s' on this machine\n",
				argv[1], g ? "group" : "user", name);
			return 1;
		}
		argv[i] = buf[n++];
	}
	return 0;
}

/*
 * report --out FILE: vaultctl writes the output to FILE itself, as its
 * caller, never the daemon (which would create files as root wherever it
 * is told).  The option is taken out of argv before the command is
 * located; the output goes to a temporary file next to FILE (0600: a
 * report names directories), renamed over FILE when the command
 * succeeded and removed otherwise, so FILE is never half written.
 */
struct out_file {
	const char *path; /* NULL: stdout */
	char *tmp;
	int saved;        /* the real stdout while redirected */
};

/* Takes "--out FILE" or "--out=FILE" (once) out of argv; 0 or 2. */
static int take_out(int *argc, char **argv, struct out_file *o)
{
	int i, n;

	for (i = 1; i < *argc && strcmp(argv[i], "--"); i++) {
		if (strcmp(argv[i], "--out") && strncmp(argv[i], "--out=", 6))
			continue;
		n = argv[i][5] == '=' ? 1 : 2;
		if (o->path || (n == 2 && i + 1 >= *argc) ||
		    !*(n == 1 ? argv[i] + 6 : argv[i + 1])) {
			fprintf(stderr, "vaultctl: report: option '--out' %s\n",
				o->path ? "given twice" : "needs a FILE");
			vf_cmds_usage(stderr, *argc, argv);
			return 2;
		}
		o->path = n == 1 ? argv[i] + 6 : argv[i + 1];
		memmove(argv + i, argv + i + n,
			(size_t)(*argc - i - n + 1) * sizeof(*argv));
		*argc -= n;
		i--;
	}
	return 0;
}

static int out_begin(struct out_file *o)
{
	int fd;

	if (!o->path)
		return 0;
	if (asprintf(&o->tmp, "%s.XXXXXX", o->path) < 0) {
		o->tmp = NULL;
		errno = ENOMEM;
		goto fail;
	}
	fd = mkostemp(o->tmp, O_CLOEXEC);
	if (fd < 0)
		goto fail;
	fflush(stdout);
	o->saved = dup(STDOUT_FILENO);
	if (o->saved < 0 || dup2(fd, STDOUT_FILENO) < 0) {
		int e = errno;

		close(fd);
		unlink(o->tmp);
		errno = e;
		goto fail;
	}
	close(fd);
	return 0;
fail:
	fprintf(stderr, "vaultctl: cannot write '%s': %s\n", o->path,
		strerror(errno));
	free(o->tmp);
	o->tmp = NULL;
	return 1;
}

static int out_end(struct out_file *o, int rc)
{
	if (!o->tmp)
		return rc;
	if ((fflush(stdout) != 0 || fsync(STDOUT_FILENO) < 0) && rc == 0) {
		fprintf(stderr, "vaultctl: writing '%s' failed: %s\n", o->path,
			strerror(errno));
		rc = 1;
	}
	dup2(o->saved, STDOUT_FILENO);
	close(o->saved);
	if (rc == 0 && rename(o->tmp, o->path) < 0) {
		fprintf(stderr, "vaultctl: cannot write '%s': %s\n", o->path,
			strerror(errno));
		rc = 1;
	}
	if (rc)
		unlink(o->tmp);
	free(o->tmp);
	return rc;
}

/*
 * Progress (docs/progress.md): a long command draws its progress line
 * when vaultctl's stderr is a terminal.  The command may run in the
 * daemon, which cannot see that terminal, so vaultctl decides here and
 * says so with --progress, put right after the command's name (before any
 * "--"), unless the caller already chose with --progress or
 * --no-progress.  Returns argv, or a copy with the option (static: one
 * call per process), and adjusts *argc and info->target.
 */
static char **add_progress(int *argc, char **argv, struct vf_cmd_info *info)
{
	static char *av[VF_CTLSOCK_ARGC_MAX + 2];
	int i, at = info->progress_at;

	if (!at || info->help || !isatty(STDERR_FILENO) ||
	    *argc >= VF_CTLSOCK_ARGC_MAX)
		return argv;
	for (i = at; i < *argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--progress") ||
		    !strcmp(argv[i], "--no-progress"))
			return argv;
	memcpy(av, argv, (size_t)at * sizeof(*av));
	av[at] = (char *)"--progress";
	memcpy(av + at + 1, argv + at, (size_t)(*argc - at + 1) * sizeof(*av));
	(*argc)++;
	if (info->target >= at)
		info->target++;
	return av;
}

int main(int argc, char **argv)
{
	struct vf_cmd_info info;
	struct out_file out = { NULL, NULL, -1 };
	struct vf_key_client kc;
	char *help[] = { "help", NULL };
	int rc;

	if (argc < 2) {
		vf_cmds_usage(stderr, 0, NULL);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
		return vf_cmds_run_standalone(1, help, stdout, stderr);
	if (!strcmp(argv[1], "--version")) {
		printf("vaultctl %s\n", VF_VERSION);
		return 0;
	}
	argc--;
	argv++;
	if (!strcmp(argv[0], "report") && (rc = take_out(&argc, argv, &out)))
		return rc;
	rc = vf_cmds_locate(argc, argv, &info, stderr);
	if (!rc && !info.help)
		rc = resolve_principals(argc, argv);
	if (rc)
		return rc;
	/* from here on kc may own memory: every return goes through _end */
	if ((rc = vf_key_client_prepare(&argc, &argv, &info, &kc)))
		return vf_key_client_end(&kc, rc);
	if (!info.help && (rc = out_begin(&out)))
		return vf_key_client_end(&kc, rc);
	if (!info.help && (rc = vf_key_client_begin(&kc)))
		return rc;
	argv = add_progress(&argc, argv, &info);
	if (info.help)
		rc = vf_cmds_help(argc, argv, stdout, stderr);
	else if (info.target < 0)
		rc = vf_cmds_run_standalone(argc, argv, stdout, stderr);
	else if (info.client)
		rc = vf_cmds_run_client(argc, argv, clients,
					VF_ARRAY_LEN(clients), stdout, stderr);
	else
		rc = run_target(argc, argv, &info);
	rc = vf_key_client_end(&kc, rc);
	rc = out_end(&out, rc);
	if (fflush(stdout) != 0 && rc == 0) {
		fprintf(stderr, "vaultctl: writing the output failed: %s\n",
			strerror(errno));
		rc = 1;
	}
	return rc;
}
