/*
 * ctlsock.c - the daemon's control socket (listener) and vaultctl's side
 * of it (client).  Wire format and socket path: see ctlsock.h.
 *
 * Listener: one thread polls the listening socket and a stop pipe; each
 * accepted connection gets a detached thread, at most CONN_MAX at once.
 * The accept thread never waits for a free slot: it reads the caller from
 * SO_PEERCRED - the only source of identity, whatever the request says -
 * and refuses at once (one stderr frame, exit 1) a connection over the
 * limits: CONN_PER_UID at once for any uid but 0, and CONN_MAX -
 * CONN_ROOT_RESERVE for all of them together, so that slots stay for root
 * whatever other users hold open (threat model: lockout by a user with no
 * role).  A connection thread (supplementary groups, when core asks for
 * them, come from SO_PEERGROUPS) reads the request under size limits and
 * one deadline for the whole of it (REQ_DEADLINE_S: a client that
 * dribbles bytes is cut as one that sends nothing), acknowledges it with
 * an ack frame, runs it with vf_cmds_run and streams the command's stdout
 * and stderr back as frames while it runs (FILEs made with fopencookie),
 * then the exit frame.
 *
 * Invariants: every socket write uses MSG_NOSIGNAL (a client that goes
 * away must not kill the daemon with SIGPIPE); the listener's threads
 * block all signals (the FUSE session's handlers run elsewhere);
 * vf_ctlsock_stop returns only when no connection thread is left.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cmds.h"
#include "ctlsock.h"

#define CONN_MAX 16
#define CONN_PER_UID VF_CTLSOCK_CONN_PER_UID
#define CONN_ROOT_RESERVE 4
#define REQ_MAX VF_CTLSOCK_REQ_MAX
#define ARGC_MAX VF_CTLSOCK_ARGC_MAX
#define REQ_DEADLINE_S VF_CTLSOCK_REQ_DEADLINE_S
#define IO_TIMEOUT_S 10

enum { FRAME_OUT = 1, FRAME_ERR = 2, FRAME_EXIT = 3, FRAME_ACK = 4 };

struct vf_ctlsock {
	struct vf_vault *v;  /* borrowed */
	int fd;              /* listening socket */
	int stop[2];         /* pipe: a byte in stop[0] ends the accept loop */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* running changed, or stopping set */
	unsigned running;    /* connection threads alive */
	int cfd[CONN_MAX];   /* their sockets (-1: free slot), under lock */
	uid_t cuid[CONN_MAX]; /* their callers' uids, under lock */
	int stopping;
	dev_t dev;           /* the socket file we bound, to unlink only it */
	ino_t ino;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

struct conn {
	struct vf_ctlsock *s;
	int fd;
	int slot; /* index in s->cfd */
	int dead; /* a write failed: the client is gone */
	int64_t deadline; /* now_ms by which the whole request must be in */
	struct ucred cred; /* SO_PEERCRED */
};

static void put_u32(unsigned char *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8 & 0xff;
	p[2] = v >> 16 & 0xff;
	p[3] = v >> 24 & 0xff;
}

static uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* Sends all of buf; returns 0 or -errno. */
static int send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Milliseconds on CLOCK_MONOTONIC, as the kernel counts them.  Socket
 * deadlines are real time, never the vault's: asked through the raw
 * system call, so that a clock moved in-process (tests run the daemon's
 * clocks fast with libfaketime) cannot make every request late. */
static int64_t now_ms(void)
{
	struct timespec ts;

	if (syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts) < 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads exactly len bytes before deadline (now_ms; 0: no deadline but
 * SO_RCVTIMEO); returns 0, -ECONNRESET at end of stream, or -errno
 * (-ETIMEDOUT when the deadline or SO_RCVTIMEO ran out). */
static int recv_by(int fd, void *buf, size_t len, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char *p = buf;
	int64_t left;
	ssize_t n;

	while (len) {
		if (deadline) {
			left = deadline - now_ms();
			if (left <= 0)
				return -ETIMEDOUT;
			n = poll(&pfd, 1, (int)left);
			if (n < 0 && errno != EINTR)
				return -errno;
			if (n <= 0)
				continue;
		}
		n = recv(fd, p, len, deadline ? MSG_DONTWAIT : 0);
		if (n < 0) {
			if (errno == EINTR || (deadline && errno == EAGAIN))
				continue;
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		}
		if (n == 0)
			return -ECONNRESET;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int recv_all(int fd, void *buf, size_t len)
{
	return recv_by(fd, buf, len, 0);
}

static int send_frame(int fd, int kind, const void *data, uint32_t len)
{
	unsigned char hdr[5];
	int rc;

	hdr[0] = (unsigned char)kind;
	put_u32(hdr + 1, len);
	rc = send_all(fd, hdr, sizeof(hdr));
	if (!rc && len)
		rc = send_all(fd, data, len);
	return rc;
}

int vf_ctlsock_path(const char *mountpoint, char *buf, size_t cap)
{
	unsigned char h[16];
	char hex[2 * sizeof(h) + 1];
	char *real;
	int n;

	if (sodium_init() < 0)
		return -ENOMEM;
	real = realpath(mountpoint, NULL);
	if (!real)
		return -errno;
	crypto_generichash(h, sizeof(h), (const unsigned char *)real,
			   strlen(real), NULL, 0);
	free(real);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	n = snprintf(buf, cap, "%s/%s.sock", VF_CTLSOCK_DIR, hex);
	if (n < 0 || (size_t)n >= cap)
		return -ENAMETOOLONG;
	return 0;
}

/* ---- listener --------------------------------------------------------- */

static ssize_t cookie_write(struct conn *c, int kind, const char *buf,
			    size_t len)
{
	size_t off = 0, part;

	if (c->dead)
		return (ssize_t)len; /* nobody listens; let the command finish */
	while (off < len) {
		part = len - off > REQ_MAX ? REQ_MAX : len - off;
		if (send_frame(c->fd, kind, buf + off, (uint32_t)part) < 0) {
			c->dead = 1;
			return (ssize_t)len;
		}
		off += part;
	}
	return (ssize_t)len;
}

static ssize_t cookie_out(void *c, const char *buf, size_t len)
{
	return cookie_write(c, FRAME_OUT, buf, len);
}

static ssize_t cookie_err(void *c, const char *buf, size_t len)
{
	return cookie_write(c, FRAME_ERR, buf, len);
}

static void free_argv(int argc, char **argv)
{
	int i;

	if (!argv)
		return;
	for (i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
}

/* Reads a request, all of it before deadline; returns 0 with *argcp and
 * *argvp (caller frees with free_argv) or -errno: -E2BIG over the limits,
 * -EBADMSG malformed, -ETIMEDOUT past the deadline. */
static int read_request(int fd, int64_t deadline, int *argcp, char ***argvp)
{
	unsigned char b[4];
	char **argv = NULL;
	uint32_t argc, len, i;
	size_t total = 4;
	int rc;

	rc = recv_by(fd, b, 4, deadline);
	if (rc)
		return rc;
	argc = get_u32(b);
	if (argc == 0)
		return -EBADMSG;
	if (argc > ARGC_MAX)
		return -E2BIG;
	argv = calloc((size_t)argc + 1, sizeof(*argv));
	if (!argv)
		return -ENOMEM;
	for (i = 0; i < argc; i++) {
		rc = recv_by(fd, b, 4, deadline);
		if (rc)
			goto fail;
		len = get_u32(b);
		if (len > REQ_MAX || total + 4 + len > REQ_MAX) {
			rc = -E2BIG;
			goto fail;
		}
		total += 4 + (size_t)len;
		argv[i] = malloc((size_t)len + 1);
		if (!argv[i]) {
			rc = -ENOMEM;
			goto fail;
		}
		rc = recv_by(fd, argv[i], len, deadline);
		if (rc)
			goto fail;
		argv[i][len] = '\0';
		if (memchr(argv[i], '\0', len)) {
			rc = -EBADMSG;
			goto fail;
		}
	}
	*argcp = (int)argc;
	*argvp = argv;
	return 0;
fail:
	free_argv((int)argc, argv);
	return rc;
}

/* ---- the caller's supplementary groups ---------------------------------- */

/*
 * vf_caller.groups for a control-socket caller; core asks only when some
 * role is granted to a group.  First choice is SO_PEERGROUPS: the groups
 * the kernel recorded with the connection, like SO_PEERCRED, so nothing
 * the caller says and no race with the caller's process.  On a kernel
 * without it (before Linux 4.13), the "Groups:" line of /proc/PID/status
 * (the daemon runs as root and may read it), taken only while that
 * process still has the effective uid SO_PEERCRED gave: a pid that was
 * reused by someone else's process is not believed.  Fails closed: on any
 * doubt -errno, and core counts only the caller's uid and primary gid.
 */

#define GROUPS_MAX 65536 /* NGROUPS_MAX of Linux */

/* From SO_PEERGROUPS; -ENOPROTOOPT when the kernel does not have it. */
static int groups_sock(struct conn *c, gid_t *buf, int cap)
{
	socklen_t len = (socklen_t)((size_t)cap * sizeof(gid_t));
	gid_t *all;
	int n;

	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERGROUPS, buf, &len) == 0)
		return (int)(len / sizeof(gid_t));
	if (errno != ERANGE)
		return -errno;
	/* more than cap: len is the size needed; core wants cap of them
	 * and the count */
	if (len / sizeof(gid_t) > GROUPS_MAX)
		return -E2BIG;
	all = malloc(len ? len : 1);
	if (!all)
		return -ENOMEM;
	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERGROUPS, all, &len) < 0) {
		n = -errno;
	} else {
		n = (int)(len / sizeof(gid_t));
		memcpy(buf, all, (size_t)(n < cap ? n : cap) * sizeof(gid_t));
	}
	free(all);
	return n;
}

/* Parses the decimal ids after a /proc status label ("Uid:", "Groups:"),
 * storing at most cap of them in ids.  Returns how many there are, or
 * -EINVAL on anything else. */
static int parse_ids(const char *p, uint32_t *ids, int cap)
{
	unsigned long v;
	char *end;
	int n = 0;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '\n')
			return n;
		if (*p < '0' || *p > '9' || n == GROUPS_MAX)
			return -EINVAL;
		errno = 0;
		v = strtoul(p, &end, 10);
		if (errno || v > UINT32_MAX)
			return -EINVAL;
		if (n < cap)
			ids[n] = (uint32_t)v;
		n++;
		p = end;
	}
}

/* From /proc/PID/status, believed only while that process has the
 * effective uid SO_PEERCRED gave. */
static int groups_proc(struct conn *c, gid_t *buf, int cap)
{
	char path[64], *line = NULL;
	uint32_t uids[4];
	size_t lcap = 0;
	int n = -ESRCH, uid_ok = 0;
	FILE *f;

	_Static_assert(sizeof(gid_t) == sizeof(uint32_t), "gid_t is 32 bits");
	snprintf(path, sizeof(path), "/proc/%ld/status", (long)c->cred.pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (getline(&line, &lcap, f) > 0) {
		if (!strncmp(line, "Uid:", 4))
			/* real, effective, saved, fs */
			uid_ok = parse_ids(line + 4, uids, 4) == 4 &&
				 uids[1] == c->cred.uid;
		else if (!strncmp(line, "Groups:", 7))
			n = parse_ids(line + 7, (uint32_t *)buf, cap);
	}
	free(line);
	fclose(f);
	return uid_ok ? n : -ESRCH;
}

static int peer_groups(void *arg, gid_t *buf, int cap)
{
	struct conn *c = arg;
	int n;

	if (cap < 0)
		return -EINVAL;
	n = groups_sock(c, buf, cap);
	if (n == -ENOPROTOOPT)
		n = groups_proc(c, buf, cap);
	return n;
}

/* Runs one request of c's client; returns the exit code. */
static int serve_request(struct conn *c, struct vf_caller *who, int argc,
			 char **argv, FILE *out, FILE *err)
{
	struct vf_cmd_ctx ctx = {
		.v = c->s->v,
		.caller = *who,
		.online = 1,
		.sock = c->fd,
		.out = out,
		.err = err,
	};
	struct vf_cmd_info info;
	int i, rc;

	rc = vf_cmds_locate(argc, argv, &info, err);
	if (rc)
		return rc;
	if (info.target < 0) {
		fprintf(err, "vaultctl: '%s' does not run through the daemon\n",
			argv[0]);
		return 2;
	}
	/* The client found this daemon through TARGET: drop it from argv,
	 * keep it for output that names commands to run. */
	ctx.target = argv[info.target];
	for (i = info.target; i < argc; i++)
		argv[i] = argv[i + 1];
	rc = vf_cmds_run(&ctx, argc - 1, argv);
	free((char *)ctx.target);
	return rc;
}

static void *conn_main(void *arg)
{
	static const cookie_io_functions_t out_io = { .write = cookie_out };
	static const cookie_io_functions_t err_io = { .write = cookie_err };
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };
	struct conn *c = arg;
	struct vf_ctlsock *s = c->s;
	struct vf_caller who = { 0 };
	FILE *out = NULL, *err = NULL;
	char **argv = NULL;
	unsigned char code[4];
	const char *why;
	int argc = 0, rc;

	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	/* Identity comes from the kernel (read at accept), never from the
	 * request. */
	who.uid = c->cred.uid;
	who.gid = c->cred.gid;
	who.pid = c->cred.pid;
	who.groups = peer_groups;
	who.groups_ctx = c;

	out = fopencookie(c, "w", out_io);
	err = fopencookie(c, "w", err_io);
	if (!out || !err)
		goto done;
	setvbuf(err, NULL, _IOLBF, 0);

	rc = read_request(c->fd, c->deadline, &argc, &argv);
	if (rc == 0 && send_frame(c->fd, FRAME_ACK, NULL, 0) < 0)
		goto done;
	if (rc < 0) {
		if (rc == -ECONNRESET || rc == -ETIMEDOUT)
			goto done;
		why = rc == -E2BIG ? "request too large" :
		      rc == -ENOMEM ? "out of memory" : "malformed request";
		fprintf(err, "vaultctl: control socket: %s\n", why);
		rc = 1;
	} else {
		rc = serve_request(c, &who, argc, argv, out, err);
	}
	fflush(out);
	fflush(err);
	put_u32(code, (uint32_t)rc);
	if (!c->dead)
		send_frame(c->fd, FRAME_EXIT, code, sizeof(code));
done:
	if (out)
		fclose(out);
	if (err)
		fclose(err);
	free_argv(argc, argv);
	pthread_mutex_lock(&s->lock);
	s->cfd[c->slot] = -1;
	s->running--;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	close(c->fd);
	free(c);
	return NULL;
}

/* Starts a thread with every signal blocked. */
static int spawn(pthread_t *t, int detached, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	pthread_attr_t attr;
	int rc;

	rc = pthread_attr_init(&attr);
	if (rc)
		return -rc;
	if (detached)
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(t, &attr, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	return -rc;
}

/*
 * May a connection from uid take a slot now?  Returns the free slot, or
 * -1 with why filled.  Call under s->lock.  Root may take any slot; every
 * other uid at most CONN_PER_UID, and all of them together leave
 * CONN_ROOT_RESERVE free, so no user without a role can lock root out.
 */
static int take_slot(struct vf_ctlsock *s, uid_t uid, char *why, size_t len)
{
	unsigned mine = 0, others = 0;
	int i, free_slot = -1;

	for (i = 0; i < CONN_MAX; i++) {
		if (s->cfd[i] < 0) {
			if (free_slot < 0)
				free_slot = i;
			continue;
		}
		if (s->cuid[i] != 0)
			others++;
		if (s->cuid[i] == uid)
			mine++;
	}
	if (free_slot < 0) {
		snprintf(why, len, "all %d connections are in use", CONN_MAX);
		return -1;
	}
	if (uid != 0 && mine >= CONN_PER_UID) {
		snprintf(why, len, "uid %lu already has %d connections open",
			 (unsigned long)uid, CONN_PER_UID);
		return -1;
	}
	if (uid != 0 && others >= CONN_MAX - CONN_ROOT_RESERVE) {
		snprintf(why, len, "all %d connections for non-root callers are in use",
			 CONN_MAX - CONN_ROOT_RESERVE);
		return -1;
	}
	return free_slot;
}

/* Tells a refused client why, without waiting for it, and hangs up. */
static void refuse(int fd, const char *why)
{
	char msg[160];
	unsigned char frame[5 + sizeof(msg)], code[4];
	int n;

	n = snprintf(msg, sizeof(msg), "vaultctl: control socket busy: %s; try again later\n",
		     why);
	if (n < 0 || (size_t)n >= sizeof(msg))
		n = (int)sizeof(msg) - 1;
	frame[0] = FRAME_ERR;
	put_u32(frame + 1, (uint32_t)n);
	memcpy(frame + 5, msg, (size_t)n);
	(void)!send(fd, frame, 5 + (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	put_u32(code, 1);
	frame[0] = FRAME_EXIT;
	put_u32(frame + 1, 4);
	memcpy(frame + 5, code, 4);
	(void)!send(fd, frame, 9, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

static void *accept_main(void *arg)
{
	struct vf_ctlsock *s = arg;
	struct pollfd pfd[2];
	struct ucred cred;
	socklen_t credlen;
	struct conn *c;
	char why[96];
	pthread_t t;
	int fd, slot;

	for (;;) {
		pfd[0] = (struct pollfd){ .fd = s->fd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = s->stop[0], .events = POLLIN };
		if (poll(pfd, 2, -1) < 0)
			continue;
		if (pfd[1].revents)
			break;
		if (!pfd[0].revents)
			continue;
		fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			/* EMFILE and friends: back off instead of spinning. */
			if (errno != EINTR && errno != EAGAIN &&
			    errno != ECONNABORTED)
				poll(NULL, 0, 100);
			continue;
		}
		/* Identity comes from the kernel, never from the request. */
		credlen = sizeof(cred);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &credlen) <
			    0 ||
		    credlen != sizeof(cred)) {
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->s = s;
		c->fd = fd;
		c->cred = cred;
		c->deadline = now_ms() + REQ_DEADLINE_S * 1000;
		pthread_mutex_lock(&s->lock);
		snprintf(why, sizeof(why), "the daemon is stopping");
		slot = s->stopping ? -1 :
				     take_slot(s, cred.uid, why, sizeof(why));
		if (slot >= 0) {
			c->slot = slot;
			s->cfd[slot] = fd;
			s->cuid[slot] = cred.uid;
			s->running++;
		}
		pthread_mutex_unlock(&s->lock);
		if (slot < 0) {
			refuse(fd, why);
			free(c);
			continue;
		}
		if (spawn(&t, 1, conn_main, c) < 0) {
			pthread_mutex_lock(&s->lock);
			s->cfd[c->slot] = -1;
			s->running--;
			pthread_mutex_unlock(&s->lock);
			close(fd);
			free(c);
		}
	}
	return NULL;
}

/* Is anybody answering on the socket at path? */
static int socket_answers(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, ok;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

/* Creates VF_CTLSOCK_DIR if missing; refuses one that others may write. */
static int make_dir(char *err, size_t errlen)
{
	struct stat st;

	if (mkdir(VF_CTLSOCK_DIR, 0755) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create '%s': %s",
			 VF_CTLSOCK_DIR, strerror(errno));
		return -errno;
	}
	if (lstat(VF_CTLSOCK_DIR, &st) < 0) {
		snprintf(err, errlen, "cannot stat '%s': %s", VF_CTLSOCK_DIR,
			 strerror(errno));
		return -errno;
	}
	/* Whoever can write there could swap our socket for theirs. */
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 022)) {
		snprintf(err, errlen, "unsafe control socket directory '%s': must be a directory owned by uid %lu and writable only by it",
			 VF_CTLSOCK_DIR, (unsigned long)geteuid());
		return -EPERM;
	}
	/* Others must reach the sockets inside: the daemon runs with umask
	 * 077, so a directory it just made (or one an older daemon made
	 * that way) is 0700 and every non-root vaultctl got EACCES. */
	if ((st.st_mode & 0755) != 0755 && chmod(VF_CTLSOCK_DIR, 0755) < 0) {
		snprintf(err, errlen, "cannot chmod '%s': %s", VF_CTLSOCK_DIR,
			 strerror(errno));
		return -errno;
	}
	return 0;
}

int vf_ctlsock_start(struct vf_vault *v, const char *mountpoint,
		     struct vf_ctlsock **out, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vf_ctlsock *s;
	struct stat st;
	int i, rc;

	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "control socket: out of memory");
		return -ENOMEM;
	}
	s->v = v;
	s->fd = -1;
	for (i = 0; i < CONN_MAX; i++)
		s->cfd[i] = -1;
	s->stop[0] = s->stop[1] = -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);

	rc = vf_ctlsock_path(mountpoint, s->path, sizeof(s->path));
	if (rc < 0) {
		snprintf(err, errlen, "control socket for '%s': %s", mountpoint,
			 strerror(-rc));
		goto fail;
	}
	rc = make_dir(err, errlen);
	if (rc < 0)
		goto fail;
	if (lstat(s->path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "control socket '%s' exists and is not a socket",
				 s->path);
			rc = -EEXIST;
			goto fail;
		}
		if (socket_answers(s->path)) {
			snprintf(err, errlen, "mountpoint '%s' is already served by another vaultfs daemon",
				 mountpoint);
			rc = -EADDRINUSE;
			goto fail;
		}
		unlink(s->path); /* stale: its daemon is gone */
	}
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "control socket: %s", strerror(errno));
		goto fail;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s->path);
	if (bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot bind control socket '%s': %s",
			 s->path, strerror(errno));
		goto fail;
	}
	/* Anyone may connect: roles decide (README.md, Roles), identity is PEERCRED. */
	if (chmod(s->path, 0666) < 0 || lstat(s->path, &st) < 0 ||
	    listen(s->fd, 16) < 0 || pipe2(s->stop, O_CLOEXEC) < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot set up control socket '%s': %s",
			 s->path, strerror(errno));
		unlink(s->path);
		goto fail;
	}
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	rc = spawn(&s->thread, 0, accept_main, s);
	if (rc < 0) {
		snprintf(err, errlen, "cannot start control socket thread: %s",
			 strerror(-rc));
		unlink(s->path);
		goto fail;
	}
	*out = s;
	return 0;
fail:
	if (s->stop[0] >= 0)
		close(s->stop[0]);
	if (s->stop[1] >= 0)
		close(s->stop[1]);
	if (s->fd >= 0)
		close(s->fd);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
	return rc;
}

void vf_ctlsock_stop(struct vf_ctlsock *s)
{
	struct stat st;
	ssize_t n;
	int i;

	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->stopping = 1;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	do
		n = write(s->stop[1], "x", 1);
	while (n < 0 && errno == EINTR);
	shutdown(s->fd, SHUT_RDWR);
	pthread_join(s->thread, NULL);

	/* A client that has not sent its request yet is not worth waiting
	 * for; a command already running is (its answer is on the way). */
	pthread_mutex_lock(&s->lock);
	for (i = 0; i < CONN_MAX; i++)
		if (s->cfd[i] >= 0)
			shutdown(s->cfd[i], SHUT_RD);
	while (s->running)
		pthread_cond_wait(&s->cond, &s->lock);
	pthread_mutex_unlock(&s->lock);

	/* Unlink only the socket we bound, not a successor's. */
	if (lstat(s->path, &st) == 0 && st.st_dev == s->dev &&
	    st.st_ino == s->ino)
		unlink(s->path);
	close(s->fd);
	close(s->stop[0]);
	close(s->stop[1]);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* ---- client ----------------------------------------------------------- */

/* Copies len bytes of a frame from fd to f. */
static int relay(int fd, FILE *f, uint32_t len)
{
	char buf[65536];
	size_t part;
	int rc;

	while (len) {
		part = len > sizeof(buf) ? sizeof(buf) : len;
		rc = recv_all(fd, buf, part);
		if (rc)
			return rc;
		fwrite(buf, 1, part, f);
		len -= (uint32_t)part;
	}
	if (f == stderr)
		fflush(f);
	return 0;
}

unsigned vf_ctlsock_timeout_s(void)
{
	const char *e = getenv("VAULTCTL_TIMEOUT");
	unsigned long n;
	char *end;

	if (!e || !*e)
		return VF_CTLSOCK_TIMEOUT_S;
	errno = 0;
	n = strtoul(e, &end, 10);
	if (errno || *end || n < 1 || n > 3600)
		return VF_CTLSOCK_TIMEOUT_S;
	return (unsigned)n;
}

/* The request frame of argv (ctlsock.h, wire format) in *req (malloc'd,
 * *total bytes).  0, -E2BIG or -ENOMEM. */
static int build_request(int argc, char **argv, unsigned char **req,
			 size_t *total)
{
	unsigned char *p;
	size_t len;
	int i;

	if (argc < 1 || argc > ARGC_MAX)
		return -E2BIG;
	*total = 4;
	for (i = 0; i < argc; i++) {
		len = strlen(argv[i]);
		if (len > REQ_MAX || *total + 4 + len > REQ_MAX)
			return -E2BIG;
		*total += 4 + len;
	}
	*req = p = malloc(*total);
	if (!p)
		return -ENOMEM;
	put_u32(p, (uint32_t)argc);
	p += 4;
	for (i = 0; i < argc; i++) {
		len = strlen(argv[i]);
		put_u32(p, (uint32_t)len);
		memcpy(p + 4, argv[i], len);
		p += 4 + len;
	}
	return 0;
}

/* Connects to sa with the timeouts tv (*fd: the socket, closed by the
 * caller when set).  Until the daemon acknowledges the request, every
 * step (connect on a full backlog included) waits at most the timeout:
 * a daemon that is wedged, or a socket somebody else holds, gets one
 * line instead of a hang.  The command itself may take as long as it
 * takes once acknowledged.  0 or -errno. */
static int connect_to(const struct sockaddr_un *sa, const struct timeval *tv,
		      int *fd)
{
	*fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*fd < 0)
		return -errno;
	setsockopt(*fd, SOL_SOCKET, SO_SNDTIMEO, tv, sizeof(*tv));
	setsockopt(*fd, SOL_SOCKET, SO_RCVTIMEO, tv, sizeof(*tv));
	if (connect(*fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0)
		/* A socket nobody answers is a daemon that died. */
		return errno == ECONNREFUSED ? -ENOENT :
		       errno == EAGAIN	     ? -ETIMEDOUT :
					       -errno;
	return 0;
}

/* Connects to the daemon of mountpoint and sends argv (*fd: the socket,
 * -1 when none was made).  0, -EPIPE / -ECONNRESET when the daemon hung
 * up while the request went out (it may have said why), or -errno. */
static int dial(const char *mountpoint, int argc, char **argv,
		const struct timeval *tv, int *fd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	unsigned char *req;
	size_t total;
	int rc;

	*fd = -1;
	rc = vf_ctlsock_path(mountpoint, sa.sun_path, sizeof(sa.sun_path));
	if (rc < 0)
		return rc;
	rc = build_request(argc, argv, &req, &total);
	if (rc)
		return rc;
	rc = connect_to(&sa, tv, fd);
	if (!rc)
		rc = send_all(*fd, req, total);
	free(req);
	return rc;
}

int vf_ctlsock_call(const char *mountpoint, int argc, char **argv)
{
	struct timeval tv = { .tv_sec = vf_ctlsock_timeout_s() };
	unsigned char hdr[5];
	uint32_t flen;
	int fd = -1, rc, acked = 0, sent_err = 0;

	rc = dial(mountpoint, argc, argv, &tv, &fd);
	/* A daemon that refuses the connection (busy: ctlsock.h) says why
	 * and hangs up at once, perhaps before our request is out: read
	 * what it said before giving up. */
	if (rc == -EPIPE || rc == -ECONNRESET)
		sent_err = rc;
	else if (rc)
		goto out;
	for (;;) {
		rc = recv_all(fd, hdr, sizeof(hdr));
		if (rc)
			break;
		flen = get_u32(hdr + 1);
		if (hdr[0] == FRAME_ACK && flen == 0 && !acked) {
			acked = 1;
			tv.tv_sec = 0; /* no limit from now on */
			setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		} else if (hdr[0] == FRAME_OUT || hdr[0] == FRAME_ERR) {
			rc = relay(fd, hdr[0] == FRAME_OUT ? stdout : stderr,
				   flen);
			if (rc)
				break;
		} else if (hdr[0] == FRAME_EXIT && flen == 4) {
			rc = recv_all(fd, hdr, 4);
			if (!rc)
				rc = get_u32(hdr) > 255 ? 1 : (int)get_u32(hdr);
			break;
		} else {
			rc = -EPROTO;
			break;
		}
	}
	if (sent_err && rc < 0)
		rc = sent_err; /* it said nothing: the send's error */
	/* A daemon that vanished mid-answer is not "no daemon"; one that
	 * went silent after the acknowledgement is not a timeout. */
	if (rc == -ENOENT || (acked && rc == -ETIMEDOUT))
		rc = -EIO;
out:
	fflush(stdout);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* ---- streams: vaultctl backup (docs/backup.md) ------------------------- */

int vf_ctlsock_send_item(int fd, int kind, const void *data, uint32_t len,
			 int passfd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	unsigned char hdr[5];
	struct iovec iov[2] = { { hdr, sizeof(hdr) }, { (void *)data, len } };
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };
	struct cmsghdr *cm;
	size_t total = sizeof(hdr) + len;
	ssize_t n;

	hdr[0] = (unsigned char)kind;
	put_u32(hdr + 1, len);
	if (passfd >= 0) {
		memset(&u, 0, sizeof(u));
		m.msg_control = u.buf;
		m.msg_controllen = sizeof(u.buf);
		cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &passfd, sizeof(int));
	}
	do
		n = sendmsg(fd, &m, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	/* The descriptor went with the first byte; the rest as plain data. */
	if ((size_t)n < total) {
		size_t done = (size_t)n;

		if (done < sizeof(hdr)) {
			int rc = send_all(fd, hdr + done, sizeof(hdr) - done);

			if (rc)
				return rc;
			done = sizeof(hdr);
		}
		return send_all(fd, (const char *)data + (done - sizeof(hdr)),
				total - done);
	}
	return 0;
}

int vf_ctlsock_recv_item(int fd, int *kind, void *buf, uint32_t cap,
			 uint32_t *len, int *passfd)
{
	union {
		char b[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} u;
	unsigned char hdr[5];
	struct iovec iov = { hdr, sizeof(hdr) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = u.b, .msg_controllen = sizeof(u.b) };
	struct cmsghdr *cm;
	int got = -1, x, rc;
	size_t i, nfd;
	ssize_t n;

	*passfd = -1;
	do
		n = recvmsg(fd, &m, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? -ETIMEDOUT : -errno;
	if (n == 0)
		return -ECONNRESET;
	/* Keep at most one descriptor; close any other the peer sent. */
	for (cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < nfd; i++) {
			memcpy(&x, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (got < 0)
				got = x;
			else
				close(x);
		}
	}
	rc = (size_t)n < sizeof(hdr) ?
		     recv_all(fd, hdr + n, sizeof(hdr) - (size_t)n) :
		     0;
	if (!rc && (m.msg_flags & MSG_CTRUNC))
		rc = -EPROTO;
	if (!rc) {
		*kind = hdr[0];
		*len = get_u32(hdr + 1);
		if (*len > cap)
			rc = -E2BIG;
	}
	if (!rc && *len)
		rc = recv_all(fd, buf, *len);
	if (rc) {
		if (got >= 0)
			close(got);
		return rc;
	}
	*passfd = got;
	return 0;
}

int vf_ctlsock_stream_open(const char *mountpoint, int argc, char **argv,
			   int *out)
{
	struct timeval tv = { .tv_sec = vf_ctlsock_timeout_s() };
	unsigned char hdr[5];
	uint32_t flen;
	int fd, rc;

	rc = dial(mountpoint, argc, argv, &tv, &fd);
	while (!rc) {
		rc = recv_all(fd, hdr, sizeof(hdr));
		if (rc)
			break;
		flen = get_u32(hdr + 1);
		if (hdr[0] == FRAME_ACK && flen == 0) {
			tv.tv_sec = 0;
			setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
			*out = fd;
			return 0;
		}
		if (hdr[0] == FRAME_OUT || hdr[0] == FRAME_ERR) {
			rc = relay(fd, hdr[0] == FRAME_OUT ? stdout : stderr,
				   flen);
		} else if (hdr[0] == FRAME_EXIT && flen == 4) {
			rc = recv_all(fd, hdr, 4);
			if (!rc)
				rc = get_u32(hdr) ? -EPERM : -EPROTO;
		} else {
			rc = -EPROTO;
		}
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

int vf_ctlsock_stream_reply(int fd, void *buf, uint32_t cap, uint32_t *len,
			    int *code)
{
	unsigned char hdr[5];
	uint32_t flen;
	int rc;

	for (;;) {
		rc = recv_all(fd, hdr, sizeof(hdr));
		if (rc)
			return rc == -ECONNRESET ? -EIO : rc;
		flen = get_u32(hdr + 1);
		if (hdr[0] == FRAME_OUT || hdr[0] == FRAME_ERR) {
			rc = relay(fd, hdr[0] == FRAME_OUT ? stdout : stderr,
				   flen);
			if (rc)
				return rc;
			continue;
		}
		if (hdr[0] == FRAME_EXIT && flen == 4) {
			rc = recv_all(fd, hdr, 4);
			if (rc)
				return rc;
			*code = get_u32(hdr) > 255 ? 1 : (int)get_u32(hdr);
			return VF_CTLSOCK_EXIT;
		}
		if (hdr[0] != VF_CTLSOCK_FRAME_BATCH || flen > cap)
			return -EPROTO;
		*len = flen;
		return recv_all(fd, buf, flen) ? -EIO : VF_CTLSOCK_FRAME_BATCH;
	}
}

int vf_ctlsock_send_reply(int fd, const void *data, uint32_t len)
{
	return send_frame(fd, VF_CTLSOCK_FRAME_BATCH, data, len);
}
