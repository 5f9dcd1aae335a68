/*
 * cmd_backup.c - vaultctl backup SRC MNT/DEST (docs/backup.md): what
 * rsync -a [--delete] SRC/ MNT/DEST/ does, without a FUSE round trip per
 * file.  Runs in vaultctl, as the caller: it walks SRC and opens every
 * item itself (so the kernel checks the caller's rights on each), and
 * passes the descriptors to the daemon over the control socket
 * ("ingest", cmd_ingest.c; ctlsock.h, streams), which stores them as the
 * caller (core/ingest.h).  Linked into vaultctl only.
 *
 * Memory: one directory stream per level of the walk, one directory's
 * names at a time for --delete, and at most HARDLINKS_MAX remembered
 * hard-linked files.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd_util.h"
#include "cmds.h"
#include "ctlsock.h"
#include "policy.h"
#include "progress.h"

#define HARDLINKS_MAX 100000

struct hl {
	dev_t dev;
	ino_t ino;
	char *rel;
};

struct run {
	FILE *err;
	int sock;
	dev_t mnt_dev;
	int del, top_is_root; /* DEST is the vault root: skip its views */
	char mntdest[2 * PATH_MAX];
	uint64_t batch_files, batch_bytes, local_failed;
	uint64_t r[6]; /* added changed unchanged deleted failed bytes */
	void *links;
	size_t nlinks;
	struct progress pg;
	int dead;
};

static int hl_cmp(const void *a, const void *b)
{
	const struct hl *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static void hl_free(void *p)
{
	struct hl *e = p;

	free(e->rel);
	free(e);
}

static uint64_t get_u64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Ends a batch: waits until the daemon says everything sent so far is
 * committed, then shows it. */
static int batch(struct run *r)
{
	unsigned char buf[64];
	uint32_t len = 0;
	int code, rc, i;
	struct vf_progress_state s = { .what = "backup", .unit = "files" };

	if (r->dead)
		return -EIO;
	rc = vf_ctlsock_send_item(r->sock, 'B', NULL, 0, -1);
	if (!rc)
		rc = vf_ctlsock_stream_reply(r->sock, buf, sizeof(buf), &len,
					     &code);
	if (rc != VF_CTLSOCK_FRAME_BATCH || len != 48) {
		r->dead = 1;
		return -EIO;
	}
	for (i = 0; i < 6; i++)
		r->r[i] = get_u64(buf + 8 * i);
	r->batch_files = r->batch_bytes = 0;
	s.items = r->r[0] + r->r[1] + r->r[2];
	s.bytes = r->r[5];
	progress_fn(&r->pg, &s);
	return 0;
}

static int put_item(struct run *r, int kind, const char *rel, const char *aux,
		    int fd, uint64_t size)
{
	char buf[2 * (PATH_MAX + 1)];
	size_t a = strlen(rel) + 1, b = aux ? strlen(aux) + 1 : 0;
	int rc;

	if (r->dead)
		return -EIO;
	memcpy(buf, rel, a);
	if (aux)
		memcpy(buf + a, aux, b);
	rc = vf_ctlsock_send_item(r->sock, kind, buf, (uint32_t)(a + b), fd);
	if (rc == -ETOOMANYREFS && r->batch_files) {
		/* too many descriptors in flight for our open-file limit:
		 * once the daemon has taken them all, again */
		rc = batch(r);
		if (!rc)
			rc = vf_ctlsock_send_item(r->sock, kind, buf,
						  (uint32_t)(a + b), fd);
	}
	if (rc) {
		r->dead = 1;
		return rc;
	}
	/* Every item counts, directories too: descriptors in flight on the
	 * socket count against the sender's RLIMIT_NOFILE (sendmsg fails
	 * with ETOOMANYREFS beyond: then the batch ends early, above). */
	r->batch_files++;
	r->batch_bytes += size;
	if (vf_policy_ingest_batch_full(r->batch_files, r->batch_bytes))
		return batch(r);
	return 0;
}

static void problem(struct run *r, const char *rel, const char *what)
{
	fprintf(r->err, "vaultctl: backup: %s: %s\n", *rel ? rel : ".", what);
	r->local_failed++;
}

static int walk(struct run *r, int dfd, char *rel, size_t rlen, int depth);

/* One entry name of directory dfd (rel: its path, rlen long). */
static int entry(struct run *r, int dfd, char *rel, size_t rlen,
		 const char *name, int depth)
{
	struct stat st;
	size_t n = strlen(name);
	int fd, rc = 0;

	if (rlen + 1 + n >= PATH_MAX) {
		problem(r, rel, "path too long");
		return 0;
	}
	if (rlen)
		rel[rlen++] = '/';
	memcpy(rel + rlen, name, n + 1);
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		problem(r, rel, strerror(errno));
		goto out;
	}
	if (S_ISREG(st.st_mode)) {
		if (st.st_nlink > 1) {
			struct hl key = { st.st_dev, st.st_ino, NULL }, **hit, *e;

			hit = tfind(&key, &r->links, hl_cmp);
			if (hit) {
				rc = put_item(r, 'H', rel, (*hit)->rel, -1, 0);
				goto out;
			}
			e = malloc(sizeof(*e));
			if (e && r->nlinks < HARDLINKS_MAX) {
				*e = key;
				e->rel = strdup(rel);
				if (e->rel && tsearch(e, &r->links, hl_cmp))
					r->nlinks++;
				else {
					free(e->rel);
					free(e);
				}
			} else {
				free(e);
			}
		}
		fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			problem(r, rel, errno == EACCES ?
				"Permission denied (not backed up)" :
				strerror(errno));
			goto out;
		}
		rc = put_item(r, 'F', rel, NULL, fd, (uint64_t)st.st_size);
		close(fd);
	} else if (S_ISDIR(st.st_mode)) {
		if (st.st_dev == r->mnt_dev)
			goto out; /* never the vault into itself */
		fd = openat(dfd, name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			problem(r, rel, errno == EACCES ?
				"Permission denied (not backed up)" :
				strerror(errno));
			goto out;
		}
		rc = put_item(r, 'D', rel, NULL, fd, 0);
		if (!rc)
			rc = walk(r, fd, rel, rlen + n, depth + 1);
		if (!rc)
			rc = put_item(r, 'd', rel, NULL, fd, 0);
		close(fd);
	} else {
		/* a symbolic link, fifo, socket or device: the item itself */
		fd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			problem(r, rel, strerror(errno));
			goto out;
		}
		rc = put_item(r, S_ISLNK(st.st_mode) ? 'L' : 'N', rel, NULL, fd, 0);
		close(fd);
	}
out:
	return rc; /* the caller cuts rel back */
}

/* --delete: names of DEST/rel (listed through the mount, as the caller)
 * that SRC/rel (dfd) does not have. */
static int extraneous(struct run *r, int dfd, char *rel, size_t rlen)
{
	char path[2 * PATH_MAX + 2];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int rc = 0;

	snprintf(path, sizeof(path), "%s%s%s", r->mntdest, rlen ? "/" : "", rel);
	d = opendir(path);
	if (!d)
		return 0;
	while (!rc && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!rlen && r->top_is_root &&
		    (!strcmp(de->d_name, ".snapshots") ||
		     !strcmp(de->d_name, ".softdeleted") ||
		     !strcmp(de->d_name, ".versions")))
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 ||
		    errno != ENOENT)
			continue;
		snprintf(path, sizeof(path), "%s%s%s", rel, rlen ? "/" : "",
			 de->d_name);
		rc = put_item(r, 'X', path, NULL, -1, 0);
	}
	closedir(d);
	return rc;
}

static int walk(struct run *r, int dfd, char *rel, size_t rlen, int depth)
{
	struct dirent *de;
	DIR *d;
	int fd, rc = 0;

	fd = dup(dfd);
	d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		if (fd >= 0)
			close(fd);
		problem(r, rel, strerror(errno));
		return 0;
	}
	while (!rc && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		rc = entry(r, dfd, rel, rlen, de->d_name, depth);
		rel[rlen] = '\0';
	}
	closedir(d);
	if (!rc && r->del)
		rc = extraneous(r, dfd, rel, rlen);
	return rc;
}

/* --from-list: each listed path (relative to SRC; no recursion into a
 * listed directory, as rsync --files-from), after its parents. */
/* The next record of a list into buf (NUL-terminated): up to a NUL or
 * a newline - whichever ends the first record decides for all (*sep: -1
 * until then).  Its length; -1 at the end; -2 for a record too long
 * (skipped). */
static ssize_t next_record(FILE *f, int *sep, char *buf, size_t cap)
{
	size_t n = 0;
	int ch, over = 0;

	while ((ch = getc(f)) != EOF) {
		if (*sep < 0 && (ch == '\0' || ch == '\n'))
			*sep = ch;
		if (ch == *sep)
			break;
		if (n + 1 < cap)
			buf[n++] = (char)ch;
		else
			over = 1;
	}
	buf[n] = '\0';
	if (ch == EOF && !n && !over)
		return -1;
	return over ? -2 : (ssize_t)n;
}

/* 1 when a listed path leaves SRC (a ".." component). */
static int leaves(const char *p)
{
	const char *e;

	for (; *p; p = *e ? e + 1 : e) {
		e = strchrnul(p, '/');
		if (e - p == 2 && p[0] == '.' && p[1] == '.')
			return 1;
	}
	return 0;
}

static int from_list(struct run *r, int sfd, const char *list)
{
	char rel[PATH_MAX], line[PATH_MAX + 1], *slash;
	size_t n, i;
	ssize_t len;
	int rc = 0, pfd, sep = -1;
	FILE *f = strcmp(list, "-") ? fopen(list, "re") : stdin;

	if (!f) {
		fprintf(r->err, "vaultctl: backup: cannot read '%s': %s\n",
			list, strerror(errno));
		return -EINVAL;
	}
	while (!rc && (len = next_record(f, &sep, line, sizeof(line))) != -1) {
		if (len == -2) {
			problem(r, line, "listed path too long");
			continue;
		}
		while (len > 1 && line[len - 1] == '/')
			line[--len] = '\0';
		n = strspn(line, "/");
		if (!line[n] || (size_t)len - n >= sizeof(rel) || leaves(line)) {
			if (line[n])
				problem(r, line, "not a path under SRC");
			continue;
		}
		memcpy(rel, line + n, (size_t)len - n + 1);
		/* parents first (made when missing, attributes untouched) */
		for (i = 0; (slash = strchr(rel + i, '/')); i = (size_t)(slash - rel) + 1) {
			*slash = '\0';
			pfd = openat(sfd, rel,
				     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (pfd >= 0) {
				rc = put_item(r, 'D', rel, NULL, pfd, 0);
				close(pfd);
			}
			*slash = '/';
			if (rc)
				break;
		}
		if (rc)
			break;
		slash = strrchr(rel, '/');
		if (slash) {
			*slash = '\0';
			pfd = openat(sfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			*slash = '/';
		} else {
			pfd = dup(sfd);
		}
		if (pfd < 0) {
			problem(r, rel, strerror(errno));
			continue;
		}
		{
			char name[NAME_MAX + 1];
			struct stat st;
			size_t plen = slash ? (size_t)(slash - rel) : 0;

			const char *nm = slash ? slash + 1 : rel;

			if (strlen(nm) >= sizeof(name)) {
				problem(r, rel, "name too long");
				close(pfd);
				continue;
			}
			memcpy(name, nm, strlen(nm) + 1);
			rel[plen] = '\0';
			if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISDIR(st.st_mode)) {
				int dfd = openat(pfd, name, O_RDONLY | O_DIRECTORY |
								    O_NOFOLLOW | O_CLOEXEC);

				snprintf(rel + plen, sizeof(rel) - plen, "%s%s",
					 plen ? "/" : "", name);
				if (dfd < 0) {
					problem(r, rel, strerror(errno));
				} else {
					rc = put_item(r, 'D', rel, NULL, dfd, 0);
					if (!rc)
						rc = put_item(r, 'd', rel, NULL, dfd, 0);
					close(dfd);
				}
			} else {
				rc = entry(r, pfd, rel, plen, name, 0);
			}
		}
		close(pfd);
	}
	if (f != stdin)
		fclose(f);
	return rc;
}

/* Splits MNT/DEST into the vaultfs mountpoint above it and the path
 * under it.  DEST need not exist, nor be visible to the caller yet (a
 * caller without a role cannot look into the mount: the daemon says
 * why): the longest prefix that resolves is resolved, the rest kept. */
static int locate(FILE *err, const char *dest, char *mnt, size_t cap,
		  char *rel, size_t rcap)
{
	char path[PATH_MAX], full[2 * PATH_MAX], *real = NULL, *cut = NULL;
	size_t n;

	if (dest[0] != '/') {
		if (!getcwd(path, sizeof(path)))
			path[0] = '\0';
		snprintf(full, sizeof(full), "%s/%s", path, dest);
	} else {
		snprintf(full, sizeof(full), "%s", dest);
	}
	n = strlen(full);
	while (n > 1 && full[n - 1] == '/')
		full[--n] = '\0';
	snprintf(path, sizeof(path), "%s", full);
	while (!(real = realpath(path, NULL))) {
		cut = strrchr(path, '/');
		if (!cut || cut == path) {
			fprintf(err, "vaultctl: backup: cannot access '%s': %s\n",
				dest, strerror(errno));
			return -1;
		}
		*cut = '\0';
	}
	snprintf(mnt, cap, "%s%s", real, full + strlen(path));
	free(real);
	/* walk up to the mountpoint */
	snprintf(path, sizeof(path), "%s", mnt);
	for (;;) {
		if (vf_cmds_mountinfo_find(path, "fuse.vaultfs") == 1)
			break;
		cut = strrchr(path, '/');
		if (!cut || cut == path) {
			fprintf(err, "vaultctl: backup: '%s' is not inside a vaultfs mount\n",
				dest);
			return -1;
		}
		*cut = '\0';
	}
	snprintf(rel, rcap, "%s", mnt + strlen(path));
	snprintf(mnt, cap, "%s", path);
	return 0;
}

int cmd_backup(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
	       char **argv)
{
	const char *list = NULL;
	char *pos[2] = { NULL, NULL }, mnt[PATH_MAX], rel[PATH_MAX];
	char walkrel[PATH_MAX] = "", *av[5];
	int del = 0, prog = 0, noprog = 0, on, rc, sfd = -1, code = 1, ac;
	unsigned char buf[64];
	uint32_t len;
	struct timespec t0, t1;
	struct run r;
	struct stat st;
	const struct opt opts[] = {
		{ "--delete", NULL, &del },
		{ "--from-list", &list, NULL },
		{ "--progress", NULL, &prog },
		{ "--no-progress", NULL, &noprog },
		{ NULL, NULL, NULL },
	};

	memset(&r, 0, sizeof(r));
	rc = parse_args(c, ctx->err, argc, argv, opts, pos, 2, 2);
	if (!rc)
		rc = progress_opts(c, ctx->err, prog, noprog, &on);
	if (rc)
		return rc;
	if (del && list)
		return usage_error(ctx->err, c, "backup: --delete does not combine with --from-list");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	sfd = open(pos[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0) {
		fprintf(ctx->err, "vaultctl: backup: cannot open '%s': %s\n",
			pos[0], strerror(errno));
		return 1;
	}
	if (locate(ctx->err, pos[1], mnt, sizeof(mnt), rel, sizeof(rel))) {
		close(sfd);
		return 1;
	}
	if (stat(mnt, &st) == 0)
		r.mnt_dev = st.st_dev;
	snprintf(r.mntdest, sizeof(r.mntdest), "%s%s", mnt, rel);
	r.top_is_root = !rel[0];
	r.err = ctx->err;
	r.del = del;
	ac = 0;
	av[ac++] = "ingest";
	av[ac++] = mnt;
	av[ac++] = rel[0] ? rel : "/";
	if (del)
		av[ac++] = "--delete";
	av[ac] = NULL;
	fflush(ctx->out);
	rc = vf_ctlsock_stream_open(mnt, ac, av, &r.sock);
	if (rc) {
		if (rc != -EPERM)
			fprintf(ctx->err, "vaultctl: backup: cannot reach the daemon of '%s': %s\n",
				mnt, strerror(-rc));
		close(sfd);
		return 1;
	}
	/* The daemon's first reply: it took the run (or said why not). */
	rc = vf_ctlsock_stream_reply(r.sock, buf, sizeof(buf), &len, &code);
	if (rc != VF_CTLSOCK_FRAME_BATCH) {
		close(sfd);
		close(r.sock);
		return rc == VF_CTLSOCK_EXIT ? (code ? code : 1) : 1;
	}
	progress_init(&r.pg, stderr, on, 0);
	rc = put_item(&r, 'D', "", NULL, sfd, 0);
	if (!rc)
		rc = list ? from_list(&r, sfd, list) : walk(&r, sfd, walkrel, 0, 0);
	if (!rc && !list)
		rc = put_item(&r, 'd', "", NULL, sfd, 0);
	if (!rc)
		rc = batch(&r);
	if (!rc) {
		struct vf_progress_state s = { .what = "backup", .unit = "files",
					       .done = 1 };

		progress_fn(&r.pg, &s);
		rc = vf_ctlsock_send_item(r.sock, 'E', NULL, 0, -1);
		if (!rc && vf_ctlsock_stream_reply(r.sock, buf, sizeof(buf),
						   &len, &code) != VF_CTLSOCK_EXIT)
			rc = -EIO;
	}
	close(sfd);
	close(r.sock);
	tdestroy(r.links, hl_free);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rc) {
		fprintf(ctx->err, "vaultctl: backup: the daemon went away; what it reported committed (%llu files) is kept\n",
			(unsigned long long)(r.r[0] + r.r[1] + r.r[2]));
		return 1;
	}
	fprintf(ctx->out,
		"backup: %llu new, %llu changed, %llu unchanged, %llu deleted, %llu failed, %llu bytes read, %.1f s\n",
		(unsigned long long)r.r[0], (unsigned long long)r.r[1],
		(unsigned long long)r.r[2], (unsigned long long)r.r[3],
		(unsigned long long)(r.r[4] + r.local_failed),
		(unsigned long long)r.r[5],
		(double)(t1.tv_sec - t0.tv_sec) +
			(double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return code || r.local_failed ? 1 : 0;
}
