/*
 * undelete.c - the client command undelete: rename out of .softdeleted,
 * as the caller, through the mount (linked into vaultctl only).
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

/* p (PATH or DEST, no "..") relative to the mount: a leading MNT/, as
 * resolved (real) or as written (target), or "/" is dropped and the rest
 * normalised.  Returns a copy (caller frees) or NULL (out of memory). */
static char *mount_rel(const char *real, const char *target, const char *p)
{
	size_t n = strlen(real), m = strlen(target);
	char *r;

	while (m > 1 && target[m - 1] == '/')
		m--;
	if (p[0] == '/' && n > 1 && !strncmp(p, real, n) &&
	    (p[n] == '/' || !p[n]))
		p += n;
	else if (!strncmp(p, target, m) && (p[m] == '/' || !p[m]))
		p += m;
	r = strdup(p);
	if (r && normalise_path(r) < 0) {
		/* has_dotdot ruled this out */
		free(r);
		r = NULL;
	}
	return r;
}

/* 1 when rel (normalised, relative to MNT) lies in a history view. */
static int in_view(const char *rel)
{
	static const char *const views[] = {
		".softdeleted", ".snapshots", ".versions",
	};
	size_t i, n = strcspn(rel, "/");

	for (i = 0; i < VF_ARRAY_LEN(views); i++)
		if (n == strlen(views[i]) && !strncmp(rel, views[i], n))
			return 1;
	return 0;
}

/* Splits a normalised path into its directory (rel itself, cut; "" at
 * the top) and its last component (*base). */
static const char *split_path(char *rel, const char **base)
{
	char *slash = strrchr(rel, '/');

	if (!slash) {
		*base = rel;
		return "";
	}
	*slash = '\0';
	*base = slash + 1;
	return rel;
}

/* Says why renameat2 failed, with src and dst whole (sdir/sbase and
 * ddir/dbase); sp is the source's parent, to tell a missing source from a
 * destination directory removed meanwhile. */
static void undelete_error(FILE *err, int e, int sp, const char *sbase,
			   const char *src, const char *dst, const char *ddir)
{
	struct stat st;

	fputs("vaultctl: ", err);
	switch (e) {
	case ENOENT:
		if (fstatat(sp, sbase, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			fputc('\'', err);
			text_str(err, src);
			fputs("' is not in .softdeleted\n", err);
		} else {
			fputs("the directory '", err);
			text_str(err, *ddir ? ddir : "/");
			fputs("' does not exist (undelete does not create directories)\n",
			      err);
		}
		return;
	case EEXIST:
	case ENOTEMPTY:
		fputc('\'', err);
		text_str(err, dst);
		fputs("' exists in the live tree; undelete it elsewhere with --to\n",
		      err);
		return;
	case EXDEV:
		fputc('\'', err);
		text_str(err, src);
		fputs("' holds deleted items but was not deleted itself; undelete the items inside it, or copy it out with cp -a\n",
		      err);
		return;
	case EROFS:
		fputs("undelete of '", err);
		text_str(err, src);
		fputs("' refused: the vault is read-only\n", err);
		return;
	case EACCES:
	case EPERM:
		fputs("undelete of '", err);
		text_str(err, src);
		fprintf(err, "' refused: %s\n", strerror(e));
		return;
	default:
		fputs("undelete of '", err);
		text_str(err, src);
		fprintf(err, "' failed: %s\n", strerror(e));
	}
}

int cmd_undelete(struct vf_cmd_ctx *ctx, const struct cmd *c,
		 int argc, char **argv)
{
	const char *to = NULL, *sdir, *sbase, *ddir, *dbase;
	char *pos[2] = { NULL, NULL }, *real = NULL, *src = NULL, *dst = NULL;
	char *scut = NULL, *dcut = NULL;
	int json = 0;
	const struct opt opts[] = {
		{ "--to", &to, NULL },
		{ "--json", NULL, &json },
		{ NULL, NULL, NULL },
	};
	int mfd = -1, tfd = -1, sp = -1, dp = -1, rc, ret = 1;

	rc = parse_args(c, ctx->err, argc, argv, opts, pos, 2, 2);
	if (rc)
		return rc;
	if (to && !*to)
		return usage_error(ctx->err, c, "undelete: --to needs a path");
	if (has_dotdot(pos[1]) || (to && has_dotdot(to)))
		return usage_error(ctx->err, c, "undelete: PATH and DEST must not contain '..'");
	real = mount_path(ctx->err, pos[0], "undelete");
	if (!real)
		return 1;
	/* PATH as under .softdeleted; MNT/.softdeleted/PATH works too. */
	src = mount_rel(real, pos[0], pos[1]);
	if (src)
		memmove(src, trash_rel(src), strlen(trash_rel(src)) + 1);
	if (src)
		dst = to ? mount_rel(real, pos[0], to) : strdup(src);
	if (!src || !dst) {
		fprintf(ctx->err, "vaultctl: undelete: out of memory\n");
		goto out;
	}
	if (!*src || !*dst) {
		fprintf(ctx->err, "vaultctl: undelete: %s must name an item\n",
			*src ? "DEST" : "PATH");
		print_usage(ctx->err, c);
		ret = 2;
		goto out;
	}
	if (in_view(dst)) {
		fputs("vaultctl: undelete: '", ctx->err);
		text_str(ctx->err, dst);
		fputs("' is in a read-only view; DEST must be in the live tree\n",
		      ctx->err);
		ret = 2;
		goto out;
	}
	if (strlen(src) > VF_PATH_MAX || strlen(dst) > VF_PATH_MAX) {
		fprintf(ctx->err, "vaultctl: undelete: %s is too long\n",
			strlen(src) > VF_PATH_MAX ? "PATH" : "DEST");
		goto out;
	}
	scut = strdup(src);
	dcut = strdup(dst);
	if (!scut || !dcut) {
		fprintf(ctx->err, "vaultctl: undelete: out of memory\n");
		goto out;
	}
	sdir = split_path(scut, &sbase);
	ddir = split_path(dcut, &dbase);

	mfd = open(real, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (mfd < 0) {
		fprintf(ctx->err, "vaultctl: cannot open '%s': %s\n", real,
			strerror(errno));
		goto out;
	}
	tfd = openat(mfd, ".softdeleted", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (tfd < 0) {
		fprintf(ctx->err, "vaultctl: cannot open '%s/.softdeleted': %s\n",
			real, strerror(errno));
		goto out;
	}
	sp = rs_walk(tfd, sdir);
	if (sp < 0) {
		fputs("vaultctl: '", ctx->err);
		text_str(ctx->err, src);
		if (sp == -ENOENT || sp == -ENOTDIR)
			fputs("' is not in .softdeleted\n", ctx->err);
		else
			fprintf(ctx->err, "' cannot be reached: %s\n",
				strerror(-sp));
		goto out;
	}
	dp = rs_walk(mfd, ddir);
	if (dp < 0) {
		if (dp == -ENOENT) {
			fputs("vaultctl: the directory '", ctx->err);
			text_str(ctx->err, ddir);
			fputs("' does not exist (undelete does not create directories)\n",
			      ctx->err);
		} else if (dp == -ENOTDIR || dp == -ELOOP) {
			fputs("vaultctl: '", ctx->err);
			text_str(ctx->err, ddir);
			fputs("' is not a directory (undelete does not follow symlinks)\n",
			      ctx->err);
		} else {
			fputs("vaultctl: undelete: cannot open the directory '",
			      ctx->err);
			text_str(ctx->err, ddir);
			fprintf(ctx->err, "': %s\n", strerror(-dp));
		}
		goto out;
	}
	/* The one change: nothing is replaced, nothing created. */
	if (renameat2(sp, sbase, dp, dbase, RENAME_NOREPLACE) < 0) {
		undelete_error(ctx->err, errno, sp, sbase, src, dst, ddir);
		goto out;
	}
	if (json) {
		struct json_object *o = json_object_new_object();

		jadd_str(o, "path", src);
		jadd_str(o, "to", dst);
		json_print(ctx->out, o);
	} else {
		fputs("undeleted '", ctx->out);
		text_str(ctx->out, src);
		if (strcmp(src, dst)) {
			fputs("' as '", ctx->out);
			text_str(ctx->out, dst);
		}
		fputs("'\n", ctx->out);
	}
	ret = 0;
out:
	if (dp >= 0)
		close(dp);
	if (sp >= 0)
		close(sp);
	if (tfd >= 0)
		close(tfd);
	if (mfd >= 0)
		close(mfd);
	free(dcut);
	free(scut);
	free(dst);
	free(src);
	free(real);
	return ret;
}
