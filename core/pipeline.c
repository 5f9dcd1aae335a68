/*
 * pipeline.c - the store pipeline: VF_PIPE_WORKERS threads that take cut
 * chunks from a bounded queue (VF_PIPE_JOBS, vault-wide), deduplicate them
 * against the file's pending chunks and the catalog, compress, seal and
 * append them to a pack, and fill in the extent the writer left for them;
 * and read-ahead jobs that load a chunk into the cache.
 *
 * A read-ahead chunk is either queued or in pf_busy until it is in the
 * cache; a reader that needs it meanwhile takes it back from the queue or
 * waits for it (vf_pipeline_prefetch_wait), so no chunk is decrypted twice
 * at once.  Readers and writers waiting for room both wait on space_cv.
 *
 * Locks: a job touches its file only under f->pend_mu (the pending chunks,
 * the extents it fills, inflight and pipe_err), and v->mu only for the
 * dedup look-up; never f->mu, which the writer holds while it waits in
 * vf_pipeline_drain.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cache.h"
#include "datakey.h"
#include "pipeline.h"

int vf_pipeline_store(struct vf_vault *v, struct vf_file *f,
		      const uint8_t *data, size_t len, int64_t *ref)
{
	uint8_t cid[VF_CHUNK_ID_BYTES], *sealed;
	struct vf_pack_loc loc;
	sqlite3_stmt *st;
	uint32_t epoch = 0;
	ssize_t n;
	size_t i, room;
	int rc, found = 0;

	vf_crypto_chunk_id(v->keys, data, len, cid);
	pthread_mutex_lock(&f->pend_mu);
	for (i = f->n_pend; i-- > 0;)
		if (!memcmp(f->pend[i].cid, cid, sizeof(cid))) {
			*ref = -(int64_t)i - 1;
			found = 1;
			break;
		}
	pthread_mutex_unlock(&f->pend_mu);
	if (found)
		return 0;
	vf_vault_lock(v);
	st = vf_catalog_stmt(v->cat, VF_Q_CHUNK_BY_CID);
	if (!st) {
		vf_vault_unlock(v);
		return -EIO;
	}
	sqlite3_bind_blob(st, 1, cid, sizeof(cid), SQLITE_STATIC);
	rc = vf_catalog_row(st);
	if (rc == 1)
		*ref = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	vf_vault_unlock(v);
	if (rc == 1)
		return 0;
	if (rc < 0)
		return rc;
	/* Sealed behind room for the pack entry header, so the pack append
	 * needs no copy. */
	room = VF_PACK_ENTRY_HDR + vf_pack_sealed_bound(len);
	sealed = room <= VF_POOL_BUF ? vf_buf_get(v) : malloc(room);
	if (!sealed)
		return -ENOMEM;
	n = vf_datakey_encode(v, cid, data, len, sealed + VF_PACK_ENTRY_HDR,
			      &epoch);
	rc = n < 0 ? (int)n :
		     vf_pack_put_framed(v->pw, epoch, sealed, (size_t)n, &loc);
	if (room <= VF_POOL_BUF)
		vf_buf_put(v, sealed);
	else
		free(sealed);
	if (rc)
		return rc;
	pthread_mutex_lock(&f->pend_mu);
	if (f->n_pend == f->pend_cap) {
		size_t cap = f->pend_cap ? f->pend_cap * 2 : 8;
		struct vf_pending *p = realloc(f->pend, cap * sizeof(*p));

		if (!p) {
			pthread_mutex_unlock(&f->pend_mu);
			return -ENOMEM;
		}
		f->pend = p;
		f->pend_cap = cap;
	}
	memcpy(f->pend[f->n_pend].cid, cid, sizeof(cid));
	f->pend[f->n_pend].loc = loc;
	f->pend[f->n_pend].rlen = (uint32_t)len;
	f->pend[f->n_pend].row = 0;
	*ref = -(int64_t)f->n_pend - 1;
	f->n_pend++;
	pthread_mutex_unlock(&f->pend_mu);
	return 0;
}

/* ---- the store pipeline -------------------------------------------------- */

/* Replaces chunk from by to in the read-ahead slots (job_mu held; a slot
 * is free when 0, and there is one per worker). */
static void pf_mark(struct vf_vault *v, int64_t from, int64_t to)
{
	int i;

	for (i = 0; i < VF_PIPE_WORKERS; i++)
		if (v->pf_busy[i] == from) {
			v->pf_busy[i] = to;
			return;
		}
}

/* A read-ahead job (its chunk already marked busy): loads the chunk into
 * the cache, then wakes readers waiting for it and writers waiting for
 * room (both wait on space_cv). */
static void prefetch_run(struct vf_vault *v, struct vf_job *j)
{
	struct vf_cache_ent *e;

	if (vf_cache_get(v, j->prefetch, &e) == 0)
		vf_cache_put(v, e);
	pthread_mutex_lock(&v->job_mu);
	pf_mark(v, j->prefetch, 0);
	v->jobs--;
	pthread_cond_broadcast(&v->space_cv);
	pthread_mutex_unlock(&v->job_mu);
	free(j);
}

static void *worker_main(void *arg)
{
	struct vf_vault *v = arg;
	struct vf_job *j;
	int64_t ref = 0;
	int rc;

	for (;;) {
		pthread_mutex_lock(&v->job_mu);
		while (!v->jq_head && !v->stopping)
			pthread_cond_wait(&v->job_cv, &v->job_mu);
		j = v->jq_head;
		if (!j) {
			pthread_mutex_unlock(&v->job_mu);
			return NULL;
		}
		v->jq_head = j->next;
		if (!v->jq_head)
			v->jq_tail = NULL;
		if (j->prefetch)
			pf_mark(v, 0, j->prefetch);
		pthread_mutex_unlock(&v->job_mu);

		if (j->prefetch) {
			prefetch_run(v, j);
			continue;
		}
		rc = vf_pipeline_store(v, j->f, j->data, j->len, &ref);
		vf_buf_drop(v, j->data, j->cap);
		pthread_mutex_lock(&j->f->pend_mu);
		if (rc) {
			if (!j->f->pipe_err)
				j->f->pipe_err = rc;
		} else {
			(*j->arr)[j->idx].chunk = ref;
		}
		if (--j->f->inflight == 0)
			pthread_cond_broadcast(&j->f->pend_cv);
		pthread_mutex_unlock(&j->f->pend_mu);
		free(j);

		pthread_mutex_lock(&v->job_mu);
		v->jobs--;
		pthread_cond_broadcast(&v->space_cv);
		pthread_mutex_unlock(&v->job_mu);
	}
}

int vf_pipeline_init(struct vf_vault *v)
{
	pthread_mutex_init(&v->job_mu, NULL);
	pthread_cond_init(&v->job_cv, NULL);
	pthread_cond_init(&v->space_cv, NULL);
	return 0;
}

void vf_pipeline_release(struct vf_vault *v)
{
	pthread_mutex_destroy(&v->job_mu);
	pthread_cond_destroy(&v->job_cv);
	pthread_cond_destroy(&v->space_cv);
}

int vf_pipeline_start(struct vf_vault *v)
{
	int i, rc;

	for (i = 0; i < VF_PIPE_WORKERS; i++) {
		rc = pthread_create(&v->workers[i], NULL, worker_main, v);
		if (rc)
			return -rc;
		v->n_workers++;
	}
	return 0;
}

void vf_pipeline_stop(struct vf_vault *v)
{
	int i;

	pthread_mutex_lock(&v->job_mu);
	v->stopping = 1;
	pthread_cond_broadcast(&v->job_cv);
	pthread_mutex_unlock(&v->job_mu);
	for (i = 0; i < v->n_workers; i++)
		pthread_join(v->workers[i], NULL);
	v->n_workers = 0;
}

/* Appends a job to the workers' queue and wakes one (job_mu held, room
 * checked by the caller). */
static void enqueue(struct vf_vault *v, struct vf_job *j)
{
	v->jobs++;
	if (v->jq_tail)
		v->jq_tail->next = j;
	else
		v->jq_head = j;
	v->jq_tail = j;
	pthread_cond_signal(&v->job_cv);
}

int vf_pipeline_submit(struct vf_vault *v, struct vf_file *f, struct vf_ext **arr,
			size_t idx, uint8_t *data, size_t len, size_t cap)
{
	struct vf_job *j = calloc(1, sizeof(*j));

	if (!j) {
		vf_buf_drop(v, data, cap);
		return -ENOMEM;
	}
	j->cap = cap;
	j->f = f;
	j->arr = arr;
	j->idx = idx;
	j->data = data;
	j->len = len;
	pthread_mutex_lock(&f->pend_mu);
	f->inflight++;
	pthread_mutex_unlock(&f->pend_mu);
	pthread_mutex_lock(&v->job_mu);
	while (v->jobs >= VF_PIPE_JOBS)
		pthread_cond_wait(&v->space_cv, &v->job_mu);
	enqueue(v, j);
	pthread_mutex_unlock(&v->job_mu);
	return 0;
}

int vf_pipeline_drain(struct vf_file *f)
{
	int rc;

	pthread_mutex_lock(&f->pend_mu);
	while (f->inflight)
		pthread_cond_wait(&f->pend_cv, &f->pend_mu);
	rc = f->pipe_err;
	pthread_mutex_unlock(&f->pend_mu);
	return rc;
}

/* Whether chunk is queued or being read ahead (job_mu held). */
static int pf_pending(struct vf_vault *v, int64_t chunk)
{
	const struct vf_job *j;
	int i;

	for (i = 0; i < VF_PIPE_WORKERS; i++)
		if (v->pf_busy[i] == chunk)
			return 1;
	for (j = v->jq_head; j; j = j->next)
		if (j->prefetch == chunk)
			return 1;
	return 0;
}

int vf_pipeline_prefetch(struct vf_vault *v, int64_t chunk)
{
	struct vf_job *j = NULL;
	int rc = -EAGAIN;

	pthread_mutex_lock(&v->job_mu);
	if (pf_pending(v, chunk)) {
		rc = 0;
	} else if (v->jobs < VF_PIPE_JOBS && (j = calloc(1, sizeof(*j)))) {
		j->prefetch = chunk;
		enqueue(v, j);
		rc = 0;
	}
	pthread_mutex_unlock(&v->job_mu);
	return rc;
}


void vf_pipeline_prefetch_wait(struct vf_vault *v, int64_t chunk)
{
	struct vf_job *j, *prev = NULL;

	pthread_mutex_lock(&v->job_mu);
	/* Still queued: the reader loads it itself rather than wait for the
	 * jobs ahead of it. */
	for (j = v->jq_head; j && j->prefetch != chunk; j = j->next)
		prev = j;
	if (j) {
		if (prev)
			prev->next = j->next;
		else
			v->jq_head = j->next;
		if (v->jq_tail == j)
			v->jq_tail = prev;
		v->jobs--;
		pthread_cond_broadcast(&v->space_cv);
		free(j);
	}
	while (pf_pending(v, chunk))
		pthread_cond_wait(&v->space_cv, &v->job_mu);
	pthread_mutex_unlock(&v->job_mu);
}
