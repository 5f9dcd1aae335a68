/*
 * cmd_ingest.c - the daemon's side of vaultctl backup (docs/backup.md):
 * "ingest MOUNTPOINT DEST [--delete]" reads item frames from the control
 * connection, each with the descriptor vaultctl opened as its user
 * (ctlsock.h, streams), and hands them to core (ingest.h).  It answers
 * each batch frame with the running totals once every item before it is
 * committed; per-item problems go to stderr as one line each.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "cmd_util.h"
#include "ctlsock.h"
#include "ingest.h"

/* Longest item frame: a path, a NUL and a path (hard links). */
#define ITEM_MAX (2 * (VF_PATH_MAX + 1))
/* Seconds the daemon waits for the next item of a live client. */
#define ITEM_WAIT_S 600

/* Files are stored by WORKERS threads at once (each with its sibling of
 * the run, ingest.h) from a queue of at most QUEUE_MAX; every other item
 * is the reading thread's.  A directory's end (its mode, owner, times,
 * extended attributes) waits, with its descriptor, among at most
 * ENDS_MAX, until the queue ran dry: so it comes after its files.  A hard
 * link (after its target) and a batch's answer (after all of it) wait
 * for that too. */
#define WORKERS 2
#define QUEUE_MAX 64
#define ENDS_MAX 64

struct job {
	char *rel;
	int fd;
	uint64_t size;
};

/* No file: a worker's size while it stores nothing. */
#define IDLE UINT64_MAX

struct pool {
	pthread_mutex_t mu;
	pthread_cond_t more, room;
	struct job q[QUEUE_MAX];
	struct job ends[ENDS_MAX]; /* directory ends waiting, in order */
	size_t nends;
	size_t head, n, busy;
	int stop;
	FILE *err;
	struct vf_ingest *w[WORKERS];
	uint64_t sizes[WORKERS]; /* of the file each worker stores, or IDLE */
	pthread_t t[WORKERS];
	int started;
};

struct worker {
	struct pool *p;
	struct vf_ingest *in;
	int idx;
};

/* 1 when another worker stores a file of size: the two may have the same
 * content, and a chunk is deduplicated only against what is in the
 * catalog, which neither has put there yet - both would store it.  One
 * waits for the other (files of other sizes go on in parallel). */
static int same_size_busy(const struct pool *p, int me, uint64_t size)
{
	int i;

	for (i = 0; i < WORKERS; i++)
		if (i != me && p->sizes[i] == size)
			return 1;
	return 0;
}

static void *work(void *arg)
{
	struct pool *p = ((struct worker *)arg)->p;
	struct vf_ingest *in = ((struct worker *)arg)->in;
	int me = ((struct worker *)arg)->idx;
	struct job j;
	char err[512];

	free(arg);
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while ((!p->n && !p->stop) ||
		       (p->n && same_size_busy(p, me, p->q[p->head].size)))
			pthread_cond_wait(p->n ? &p->room : &p->more, &p->mu);
		if (!p->n)
			break;
		j = p->q[p->head];
		p->head = (p->head + 1) % QUEUE_MAX;
		p->n--;
		p->busy++;
		p->sizes[me] = j.size;
		pthread_cond_broadcast(&p->room);
		pthread_mutex_unlock(&p->mu);
		if (vf_ingest_item(in, VF_INGEST_FILE, j.rel, j.fd, NULL, err,
				   sizeof(err)))
			fprintf(p->err, "vaultctl: backup: %s\n", err);
		close(j.fd);
		free(j.rel);
		pthread_mutex_lock(&p->mu);
		p->busy--;
		p->sizes[me] = IDLE;
		pthread_cond_broadcast(&p->room);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Hands a file to the workers (rel and fd move to the job). */
static void submit(struct pool *p, char *rel, int fd)
{
	struct stat st;
	uint64_t size = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : IDLE - 1;

	pthread_mutex_lock(&p->mu);
	while (p->n == QUEUE_MAX)
		pthread_cond_wait(&p->room, &p->mu);
	p->q[(p->head + p->n) % QUEUE_MAX] = (struct job){ rel, fd, size };
	p->n++;
	pthread_cond_signal(&p->more);
	pthread_mutex_unlock(&p->mu);
}

/* Waits until every file handed to the workers is stored. */
static void drain(struct pool *p)
{
	pthread_mutex_lock(&p->mu);
	while (p->n || p->busy)
		pthread_cond_wait(&p->room, &p->mu);
	pthread_mutex_unlock(&p->mu);
}

/* Starts the workers (none when a sibling cannot be made: the reading
 * thread stores files itself then). */
static void pool_start(struct pool *p, struct vf_ingest *in, FILE *err)
{
	struct worker *w;
	int i;

	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->more, NULL);
	pthread_cond_init(&p->room, NULL);
	p->err = err;
	for (i = 0; i < WORKERS; i++)
		p->sizes[i] = IDLE;
	for (i = 0; i < WORKERS; i++) {
		w = malloc(sizeof(*w));
		if (!w || vf_ingest_sibling(in, &p->w[i])) {
			free(w);
			break;
		}
		w->p = p;
		w->in = p->w[i];
		w->idx = i;
		if (pthread_create(&p->t[i], NULL, work, w)) {
			free(w);
			break;
		}
		p->started++;
	}
}

/* Drains the queue, then sets the directory ends that waited. */
static void settle_ends(struct pool *p, struct vf_ingest *in)
{
	char err[512];
	size_t i;

	drain(p);
	for (i = 0; i < p->nends; i++) {
		if (vf_ingest_item(in, VF_INGEST_DIR_END, p->ends[i].rel,
				   p->ends[i].fd, NULL, err, sizeof(err)))
			fprintf(p->err, "vaultctl: backup: %s\n", err);
		close(p->ends[i].fd);
		free(p->ends[i].rel);
	}
	p->nends = 0;
}

static void pool_stop(struct pool *p)
{
	int i;

	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->more);
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < p->started; i++)
		pthread_join(p->t[i], NULL);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->more);
	pthread_cond_destroy(&p->room);
}

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
	struct pool pool = { 0 };
	unsigned char reply[6 * 8];
	char *rel;
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
	pool_start(&pool, in, ctx->err);
	for (;;) {
		rc = vf_ctlsock_recv_item(ctx->sock, &kind, buf, ITEM_MAX,
					  &len, &fd);
		if (rc)
			goto out; /* the client went away: committed stays */
		buf[len] = '\0';
		if ((kind == 'F' || kind == 'd') && pool.started && fd >= 0 &&
		    strlen(buf) <= VF_PATH_MAX && (rel = strdup(buf))) {
			if (kind == 'F') {
				submit(&pool, rel, fd);
				continue;
			}
			pool.ends[pool.nends++] = (struct job){ rel, fd, 0 };
			if (pool.nends == ENDS_MAX)
				settle_ends(&pool, in);
			continue;
		}
		if (kind == 'H' || kind == 'B' || kind == 'E' || kind == 'd' ||
		    kind == 'F')
			settle_ends(&pool, in);
		if ((kind == 'B' || kind == 'E' || kind == 'H' || kind == 'X') &&
		    fd >= 0) {
			close(fd); /* these carry none */
			fd = -1;
		}
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
	if (pool.err) {
		settle_ends(&pool, in);
		pool_stop(&pool);
	}
	fflush(ctx->err);
	free(buf);
	vf_ingest_end(in);
	return ret;
}
