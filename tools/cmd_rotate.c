/*
 * cmd_rotate.c - vaultctl key rotate TARGET --data: starts a data key
 * rotation (core/admin.h, vf_admin_key_rotate_data; docs/keys-rotation.md)
 * and, with --wait, waits for its end.
 *
 * Through the mount, the daemon's job re-encrypts the packs and --wait
 * only watches status, printing "key rotation: N of M packs re-encrypted"
 * whenever N changes.  Offline (TARGET a vault directory), --wait runs the
 * job itself, here; without --wait the job runs at the next mount.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cmd_util.h"

#define WAIT_POLL_MS 500

static void progress_line(FILE *f, const struct vf_status *st)
{
	fprintf(f, "key rotation: %llu of %llu packs re-encrypted\n",
		(unsigned long long)st->rot_done,
		(unsigned long long)st->rot_total);
	fflush(f);
}

/* Waits until no rotation is pending, printing progress when it moves
 * (unless quiet).  0, or the exit code after saying what failed. */
static int wait_rotation(struct vf_cmd_ctx *ctx, const struct cmd *c,
			 int quiet)
{
	const struct timespec pause = { 0, WAIT_POLL_MS * 1000000L };
	uint64_t shown = UINT64_MAX;
	struct vf_status st;
	struct vf_admin a;
	int rc;

	for (;;) {
		if (!ctx->online) {
			/* no daemon: the job runs here */
			admin_init(ctx, &a, NULL);
			rc = vf_admin_key_rotation_run(ctx->v, &a, NULL, NULL);
			if (rc < 0)
				return say_admin(ctx, c, &a, rc);
		}
		memset(&st, 0, sizeof(st));
		admin_init(ctx, &a, NULL);
		rc = vf_admin_status(ctx->v, &a, &st);
		if (rc < 0)
			return say_admin(ctx, c, &a, rc);
		if (!st.rot_running)
			return 0;
		if (!quiet && st.rot_done != shown) {
			progress_line(ctx->out, &st);
			shown = st.rot_done;
			/* the caller went away: stop watching */
			if (ferror(ctx->out))
				return 1;
		}
		nanosleep(&pause, NULL);
	}
}

int cmd_key_rotate_data(struct vf_cmd_ctx *ctx, const struct cmd *c,
			int argc, char **argv)
{
	const char *token = NULL, *out = NULL;
	int data = 0, wait = 0, json = 0, rc;
	const struct opt opts[] = {
		{ "--out", &out, NULL },
		{ "--data", NULL, &data },
		{ "--wait", NULL, &wait },
		{ "--approval", &token, NULL },
		{ "--json", NULL, &json },
		{ NULL, NULL, NULL },
	};
	struct vf_admin a;
	uint32_t epoch = 0;
	uint64_t packs = 0;

	rc = parse_args(c, ctx->err, argc, argv, opts, NULL, 0, 0);
	if (rc)
		return rc;
	if (out)
		return usage_error(ctx->err, c, "key rotate: --out FILE goes with a rotation of the protectors, not with --data");
	if (!data)
		return usage_error(ctx->err, c, "key rotate: give --data");
	rc = check_token(ctx, c, token);
	if (rc)
		return rc;
	admin_init(ctx, &a, token);
	rc = vf_admin_key_rotate_data(ctx->v, &a, &epoch, &packs);
	if (rc < 0)
		return say_admin(ctx, c, &a, rc);
	if (!json)
		fprintf(ctx->out, "data key epoch %u is current: new data is sealed under it; %llu packs to re-encrypt%s\n",
			(unsigned)epoch, (unsigned long long)packs,
			wait ? "" :
			ctx->online ? " (in the background: vaultctl status)" :
				      " (at the next mount)");
	if (wait && (rc = wait_rotation(ctx, c, json)))
		return rc;
	if (json) {
		struct json_object *o = json_object_new_object();

		jadd_u64(o, "epoch", epoch);
		jadd_u64(o, "packs", packs);
		jadd_bool(o, "done", wait);
		json_print(ctx->out, o);
	} else if (wait) {
		fprintf(ctx->out, "data key rotation done: every pack is sealed under epoch %u; the older data keys are destroyed\n",
			(unsigned)epoch);
	}
	return 0;
}
