/*
 * restore.c - the client command restore (undelete is in undelete.c).
 *
 * They run in vaultctl, as the caller, through the mounted tree (TARGET
 * stays in their argv), so that the kernel checks every file they read and
 * write exactly as it would for cp or mv.  They may use the process's file
 * system calls, but print only to ctx->out and ctx->err.  This file is
 * linked into vaultctl only, never into the daemon (see vaultctl.c).
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cmd_util.h"
#include "cmds.h"
#include "copy_tree.h"
#include "progress.h"

/* Says why TARGET cannot be used by the client command what (restore,
 * undelete): it is not a vaultfs mountpoint. */
void not_a_mount(FILE *err, const char *target, const char *what)
{
	struct stat st;

	/* A vault directory is root-only (README.md, The vault directory):
	 * one we cannot look into is most likely one. */
	if (vf_protector_is_vault(target) == 1 ||
	    (stat(target, &st) == 0 && S_ISDIR(st.st_mode) &&
	     access(target, X_OK) < 0 && errno == EACCES))
		fprintf(err, "vaultctl: %s needs a mounted vault (mount it, then %s from MNT)\n",
			what, what);
	else
		fprintf(err, "vaultctl: '%s' is not a vaultfs mountpoint\n",
			target);
}

/* The resolved path of target when it is a vaultfs mountpoint (caller
 * frees), else NULL after saying why (what: the command, for messages). */
char *mount_path(FILE *err, const char *target, const char *what)
{
	char *real;
	int r;

	real = realpath(target, NULL);
	if (!real) {
		if (errno == ENOTCONN)
			fprintf(err, "vaultctl: '%s' is a dead vaultfs mount (its daemon is gone); unmount it with fusermount3 -u\n",
				target);
		else
			fprintf(err, "vaultctl: cannot access '%s': %s\n", target,
				strerror(errno));
		return NULL;
	}
	r = vf_cmds_mountinfo_find(real, "fuse.vaultfs");
	if (r < 0)
		fprintf(err, "vaultctl: cannot read the mount table: %s\n",
			strerror(-r));
	else if (r == 0)
		not_a_mount(err, target, what);
	if (r <= 0) {
		free(real);
		return NULL;
	}
	return real;
}

/* DEST (to, and dest: a copy to cut up) must not exist; opens its parent
 * directory (O_PATH) and points *dname at its last component.  Returns
 * the fd, or -1 after saying why. */
static int open_dest(FILE *err, const char *to, char *dest, const char **dname)
{
	struct stat st;
	char *slash;
	size_t n;
	int fd;

	for (n = strlen(dest); n > 1 && dest[n - 1] == '/'; n--)
		dest[n - 1] = '\0';
	if (lstat(dest, &st) == 0) {
		fprintf(err, "vaultctl: restore: '%s' exists\n", to);
		return -1;
	}
	if (errno != ENOENT) {
		fprintf(err, "vaultctl: restore: cannot access '%s': %s\n", to,
			strerror(errno));
		return -1;
	}
	slash = strrchr(dest, '/');
	*dname = slash ? slash + 1 : dest;
	if (slash == dest) {
		fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	} else if (slash) {
		*slash = '\0';
		fd = open(dest, O_PATH | O_DIRECTORY | O_CLOEXEC);
	} else {
		fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	}
	if (fd < 0)
		fprintf(err, "vaultctl: restore: cannot open the directory of '%s': %s\n",
			to, strerror(errno));
	return fd;
}

int cmd_restore(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		char **argv)
{
	const char *at = NULL, *to = NULL, *base, *dname = NULL;
	char *pos[2] = { NULL, NULL }, *real = NULL, *rel = NULL, *dest = NULL;
	char tname[VF_SNAP_TAG_MAX + 1], *slash;
	int json = 0, rc, ret = 1, prog = 0, noprog = 0, on;
	struct progress pg;
	const struct opt opts[] = {
		{ "--at", &at, NULL },
		{ "--to", &to, NULL },
		{ "--progress", NULL, &prog },
		{ "--no-progress", NULL, &noprog },
		{ "--json", NULL, &json },
		{ NULL, NULL, NULL },
	};
	int mfd = -1, snap = -1, tfd = -1, sparent = -1, dparent = -1, r;
	size_t n;
	struct restore rs;
	struct stat st;
	int64_t t;
	FILE *f = ctx->out;

	memset(&rs, 0, sizeof(rs));
	rs.err = ctx->err;
	rs.uid = ctx->caller.uid;
	rs.top_dfd = -1;
	rc = parse_args(c, ctx->err, argc, argv, opts, pos, 2, 2);
	if (!rc)
		rc = progress_opts(c, ctx->err, prog, noprog, &on);
	if (rc)
		return rc;
	if (!at)
		return usage_error(ctx->err, c,
				   "restore: --at TIME is required");
	if (to && !*to)
		return usage_error(ctx->err, c, "restore: --to needs a path");
	if (parse_at(at, vf_clock_now(), &t) < 0) {
		/* a snapshot's tag: .snapshots/TAG is its view */
		if (!vf_snap_tag_name(at)) {
			fprintf(ctx->err, "vaultctl: restore: '%s' is not %s, or a snapshot tag\n",
				at, AT_FORMS);
			return 1;
		}
		snprintf(tname, sizeof(tname), "%s", at);
	} else {
		/* The view name: TIME as of its whole second. */
		vf_time_format(t, tname);
	}
	if (vf_snap_tag_name(tname)) {
		/* a tag: the view says whether there is one */
	} else if (vf_time_parse(tname, &t) < 0 || t > vf_clock_now()) {
		fprintf(ctx->err, "vaultctl: restore: %s is in the future\n",
			tname);
		return 1;
	}

	real = mount_path(ctx->err, pos[0], "restore");
	if (!real)
		goto out;

	/* PATH relative to MNT; MNT/... given as an absolute path works
	 * too. */
	n = strlen(real);
	rel = strdup(pos[1][0] == '/' && !strncmp(pos[1], real, n) &&
				     (pos[1][n] == '/' || !pos[1][n]) &&
				     n > 1 ?
			     pos[1] + n :
			     pos[1]);
	if (!rel) {
		fprintf(ctx->err, "vaultctl: restore: out of memory\n");
		goto out;
	}
	if (normalise_path(rel) < 0) {
		fprintf(ctx->err, "vaultctl: restore: PATH must not contain '..'\n");
		print_usage(ctx->err, c);
		ret = 2;
		goto out;
	}
	if (strlen(rel) > VF_PATH_MAX) {
		fprintf(ctx->err, "vaultctl: restore: PATH is too long\n");
		goto out;
	}
	snprintf(rs.path, sizeof(rs.path), "%s", rel);
	rs.plen = rs.top = strlen(rel);

	mfd = open(real, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (mfd < 0) {
		fprintf(ctx->err, "vaultctl: cannot open '%s': %s\n", real,
			strerror(errno));
		goto out;
	}
	snap = openat(mfd, ".snapshots", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (snap < 0) {
		fprintf(ctx->err, "vaultctl: cannot open '%s/.snapshots': %s\n",
			real, strerror(errno));
		goto out;
	}
	/* PATH's parent and PATH itself as of T.  A name that is missing,
	 * or reached through a symlink, did not exist there. */
	slash = strrchr(rel, '/');
	base = slash ? slash + 1 : rel;
	if (slash)
		*slash = '\0';
	tfd = openat(snap, tname, O_PATH | O_DIRECTORY | O_CLOEXEC);
	r = tfd < 0 ? -errno : 0;
	close(snap);
	snap = -1;
	if (r == -ENOENT && vf_snap_tag_name(tname)) {
		/* not a time either: say both */
		fputs("vaultctl: restore: '", ctx->err);
		text_str(ctx->err, tname);
		fprintf(ctx->err, "' is not %s, and no snapshot is tagged '",
			AT_FORMS);
		text_str(ctx->err, tname);
		fputs("'\n", ctx->err);
		goto out;
	}
	if (!r) {
		sparent = rs_walk(tfd, slash ? rel : "");
		r = sparent < 0 ? sparent : 0;
	}
	if (!r && *base && fstatat(sparent, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		r = -errno;
	if (r == -ENOENT || r == -ENOTDIR || r == -ELOOP) {
		fputs("vaultctl: '", ctx->err);
		text_str(ctx->err, rs.path);
		fprintf(ctx->err, "' did not exist at %s\n", tname);
		goto out;
	}
	if (r < 0) {
		fputs("vaultctl: cannot read '", ctx->err);
		text_str(ctx->err, rs.path);
		fprintf(ctx->err, "' as of %s: %s\n", tname, strerror(-r));
		goto out;
	}

	if (to) {
		dest = strdup(to);
		if (!dest) {
			fprintf(ctx->err, "vaultctl: restore: out of memory\n");
			goto out;
		}
		dparent = open_dest(ctx->err, to, dest, &dname);
		if (dparent < 0)
			goto out;
		rs.dname = dname;
		rs.top_dfd = dparent;
	} else {
		rs.in_place = 1;
		dname = base;
	}

	rs.buf = malloc(RESTORE_BUF);
	rs.cmp = malloc(RESTORE_BUF);
	rs.xsrc = malloc(XATTR_BUF);
	rs.xdst = malloc(XATTR_BUF);
	rs.xval = malloc(XATTR_BUF);
	rs.xcur = malloc(XATTR_BUF);
	if (!rs.buf || !rs.cmp || !rs.xsrc || !rs.xdst || !rs.xval ||
	    !rs.xcur) {
		fprintf(ctx->err, "vaultctl: restore: out of memory\n");
		goto out;
	}

	/* Nothing was changed up to here. */
	progress_init(&pg, ctx->err, on, json);
	rs.prog = progress_cb(&pg);
	rs.ps.what = "restore";
	rs.ps.unit = "files";
	if (rs.prog)
		rs_count(sparent, base, &rs.ps.items_total, &rs.ps.bytes_total);
	rs_top(&rs, mfd, tfd, sparent, dparent, slash ? rel : NULL, base,
		    dname);
	if (json) {
		struct json_object *o = json_object_new_object();

		jadd_str(o, "path", pos[1]);
		jadd_str(o, "at", tname);
		jadd_str(o, "to", to);
		jadd_u64(o, "files", rs.files);
		jadd_u64(o, "dirs", rs.dirs);
		jadd_u64(o, "symlinks", rs.symlinks);
		jadd_u64(o, "special", rs.special);
		jadd_u64(o, "unchanged", rs.unchanged);
		jadd_u64(o, "bytes", rs.bytes);
		jadd_u64(o, "errors", rs.errors);
		json_print(f, o);
	} else {
		fputs("restored '", f);
		text_str(f, pos[1]);
		fprintf(f, "' as of %s ", tname);
		if (to) {
			fputs("to '", f);
			text_str(f, to);
			fputs("'", f);
		} else {
			fputs("in place", f);
		}
		fprintf(f, ": %llu file%s (%llu bytes), %llu director%s, %llu symlink%s, %llu special file%s, %llu unchanged\n",
			(unsigned long long)rs.files, rs.files == 1 ? "" : "s",
			(unsigned long long)rs.bytes,
			(unsigned long long)rs.dirs, rs.dirs == 1 ? "y" : "ies",
			(unsigned long long)rs.symlinks,
			rs.symlinks == 1 ? "" : "s",
			(unsigned long long)rs.special,
			rs.special == 1 ? "" : "s",
			(unsigned long long)rs.unchanged);
	}
	if (rs.errors) {
		fflush(f);
		fprintf(ctx->err, "vaultctl: restore: %llu error%s (above); the rest was restored\n",
			(unsigned long long)rs.errors, rs.errors == 1 ? "" : "s");
	} else {
		ret = 0;
	}
out:
	if (sparent >= 0)
		close(sparent);
	if (dparent >= 0)
		close(dparent);
	if (tfd >= 0)
		close(tfd);
	if (snap >= 0)
		close(snap);
	if (mfd >= 0)
		close(mfd);
	rs_free(&rs);
	free(dest);
	free(rel);
	free(real);
	return ret;
}

/*
 * `vaultctl undelete MNT PATH [--to DEST]` is `mv MNT/.softdeleted/PATH
 * MNT/DEST` (README.md, Soft delete: undelete is a rename out of
 * .softdeleted) done with
 * care and explained: one renameat2(RENAME_NOREPLACE), in vaultctl and as
 * its caller, so that the kernel and the daemon check it exactly as they
 * check mv.  Both parent directories are reached one component at a time
 * without following symlinks (walk), so a DEST through a symlink cannot
 * put the item anywhere unexpected; nothing is created and nothing in the
 * live tree is replaced.
 */
