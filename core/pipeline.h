/*
 * pipeline.h - the store pipeline (pipeline.c), private to core/: file
 * data hands it cut chunks and waits for them at commit.
 */
#ifndef VF_PIPELINE_H
#define VF_PIPELINE_H

#include "vault_int.h"

/* The queue (_init, first thing at open; _release, last at close) and
 * the workers (_start after the keys and packs are there; _stop joins
 * them once every job is done). */
VF_MUST int vf_pipeline_init(struct vf_vault *v);
void vf_pipeline_release(struct vf_vault *v);
VF_MUST int vf_pipeline_start(struct vf_vault *v);
void vf_pipeline_stop(struct vf_vault *v);

/* Hands data (ownership moves to the job; a pool buffer when cap is
 * VF_CHUNK_MAX) to the workers, which fill in (*arr)[idx].chunk; waits
 * while the queue is full.  The caller holds f->mu; *arr may be
 * reallocated only under f->pend_mu. */
VF_MUST int vf_pipeline_submit(struct vf_vault *v, struct vf_file *f,
			       struct vf_ext **arr, size_t idx, uint8_t *data,
			       size_t len, size_t cap);
/* Stores one chunk in the calling thread (dedup against f's pending
 * chunks and the catalog; otherwise encode and append to a pack) and
 * returns its extent reference in *ref: what a worker does with a job,
 * and what a writer does with the one last chunk of a small file when
 * nothing else is in flight.  Takes f->pend_mu and v->mu briefly, never
 * f->mu. */
VF_MUST int vf_pipeline_store(struct vf_vault *v, struct vf_file *f,
			      const uint8_t *data, size_t len, int64_t *ref);
/* Waits until every chunk f handed to the workers is stored; returns the
 * first error any of them met.  f->mu held. */
VF_MUST int vf_pipeline_drain(struct vf_file *f);
/* Queues a read-ahead of chunk into the cache when there is room and it
 * is not queued or loading already: 0, or -EAGAIN (full) / -ENOMEM;
 * nothing waits for it. */
VF_MUST int vf_pipeline_prefetch(struct vf_vault *v, int64_t chunk);
/* Before a reader loads chunk itself: takes it back if it is still queued
 * for read-ahead, or waits while a worker is loading it. */
void vf_pipeline_prefetch_wait(struct vf_vault *v, int64_t chunk);

#endif
