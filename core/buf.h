/*
 * buf.h - the buffer pool, private to core/.  Any thread; no lock needs to
 * be held (the pool has its own, taken alone).
 */
#ifndef VF_BUF_H
#define VF_BUF_H

#include "vault_int.h"

/* The pool on v (empty) / freed with every idle buffer; at open and
 * close only. */
VF_MUST int vf_buf_init(struct vf_vault *v);
void vf_buf_release(struct vf_vault *v);
/* A VF_POOL_BUF-byte buffer (caller returns it with vf_buf_put), or NULL. */
void *vf_buf_get(struct vf_vault *v);
/* Takes p back (NULL: nothing); freed when the pool is full. */
void vf_buf_put(struct vf_vault *v, void *p);
/* Frees a stream buffer of cap bytes: buffers of full chunk capacity
 * (VF_CHUNK_MAX) came from the pool, smaller ones (small files) from
 * malloc. */
void vf_buf_drop(struct vf_vault *v, void *p, size_t cap);
/* Frees the idle buffers. */
void vf_buf_free_all(struct vf_vault *v);

#endif
