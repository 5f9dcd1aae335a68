/*
 * cmd_ingest.c - the daemon's side of vaultctl backup (docs/backup.md):
 * "ingest MOUNTPOINT DEST [--delete]" reads item frames from the control
 * connection, each with the descriptor vaultctl opened as its user
 * (ctlsock.h, streams), and hands them to core (ingest.h).  It answers
 * each batch frame with the running totals once every item before it is
 * committed; per-item problems go to stderr as one line each.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "cmd_util.h"
#include "ctlsock.h"
#include "ingest.h"

/* Longest item frame: a path, a NUL and a path (hard links). */
#define ITEM_MAX (2 * (VF_PATH_MAX + 1))
/* Seconds the daemon waits for the next item of a live client. */
#define ITEM_WAIT_S 600

static void put_u64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

int cmd_ingest(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
	       char **argv)
{
	struct timeval tv = { .tv_sec = ITEM_WAIT_S };
	struct vf_ingest_stats st;
	struct vf_ingest *in = NULL;
	unsigned char reply[6 * 8];
	char *pos[1] = { NULL }, *buf = NULL, *aux, err[512];
	int del = 0, rc, kind, fd, ret = 1;
	uint32_t len;
	const struct opt opts[] = {
		{ "--delete", NULL, &del },
		{ NULL, NULL, NULL },
	};

	rc = parse_args(c, ctx->err, argc, argv, opts, pos, 1, 1);
	if (rc)
		return rc;
	if (!ctx->online || ctx->sock <= 0) {
		fprintf(ctx->err, "vaultctl: ingest is the daemon's side of vaultctl backup: run vaultctl backup SRC MNT/DEST\n");
		return 1;
	}
	rc = vf_ingest_begin(ctx->v, &ctx->caller, pos[0], del, &in, err,
			     sizeof(err));
	if (rc) {
		fprintf(ctx->err, "vaultctl: backup: %s\n", err);
		return 1;
	}
	buf = malloc(ITEM_MAX + 1);
	if (!buf) {
		fprintf(ctx->err, "vaultctl: backup: out of memory\n");
		goto out;
	}
	/* A reply per batch tells the client the daemon took the run. */
	if (vf_ingest_batch(in, &st) || vf_ctlsock_send_reply(ctx->sock, NULL, 0))
		goto out;
	setsockopt(ctx->sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (;;) {
		rc = vf_ctlsock_recv_item(ctx->sock, &kind, buf, ITEM_MAX,
					  &len, &fd);
		if (rc)
			goto out; /* the client went away: committed stays */
		buf[len] = '\0';
		if (kind == 'E') {
			ret = st.failed ? 1 : 0;
			break;
		}
		if (kind == 'B') {
			fflush(ctx->err);
			rc = vf_ingest_batch(in, &st);
			put_u64(reply, st.added);
			put_u64(reply + 8, st.changed);
			put_u64(reply + 16, st.unchanged);
			put_u64(reply + 24, st.deleted);
			put_u64(reply + 32, st.failed);
			put_u64(reply + 40, st.bytes);
			if (rc || vf_ctlsock_send_reply(ctx->sock, reply,
							sizeof(reply)))
				goto out;
			continue;
		}
		aux = memchr(buf, '\0', len);
		aux = aux && aux < buf + len ? aux + 1 : NULL;
		if (strlen(buf) > VF_PATH_MAX ||
		    ((kind == 'F' || kind == 'D' || kind == 'd' || kind == 'L' ||
	      kind == 'N') &&
		     fd < 0)) {
			fprintf(ctx->err, "vaultctl: backup: malformed item\n");
			if (fd >= 0)
				close(fd);
			goto out;
		}
		if (vf_ingest_item(in, (enum vf_ingest_kind)kind, buf, fd, aux,
				   err, sizeof(err)))
			fprintf(ctx->err, "vaultctl: backup: %s\n", err);
		if (fd >= 0)
			close(fd);
	}
out:
	fflush(ctx->err);
	free(buf);
	vf_ingest_end(in);
	return ret;
}
