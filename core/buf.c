/*
 * buf.c - the buffer pool: VF_POOL_BUF-byte buffers (a raw or sealed
 * chunk) recycled instead of going back to malloc for every chunk, big
 * allocations being the costly kind (buf.h is the contract).
 *
 * Invariant: at most VF_POOL_KEEP idle buffers are kept, under
 * v->pool_mu, which is taken alone.
 */
#include <stdlib.h>

#include "buf.h"

void *vf_buf_get(struct vf_vault *v)
{
	void *p = NULL;

	pthread_mutex_lock(&v->pool_mu);
	if (v->n_pool)
		p = v->pool[--v->n_pool];
	pthread_mutex_unlock(&v->pool_mu);
	return p ? p : malloc(VF_POOL_BUF);
}

void vf_buf_put(struct vf_vault *v, void *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&v->pool_mu);
	if (v->n_pool < VF_POOL_KEEP) {
		v->pool[v->n_pool++] = p;
		p = NULL;
	}
	pthread_mutex_unlock(&v->pool_mu);
	free(p);
}

void vf_buf_free_all(struct vf_vault *v)
{
	while (v->n_pool)
		free(v->pool[--v->n_pool]);
}

int vf_buf_init(struct vf_vault *v)
{
	pthread_mutex_init(&v->pool_mu, NULL);
	v->n_pool = 0;
	return 0;
}

void vf_buf_release(struct vf_vault *v)
{
	vf_buf_free_all(v);
	pthread_mutex_destroy(&v->pool_mu);
}

void vf_buf_drop(struct vf_vault *v, void *p, size_t cap)
{
	if (cap == VF_CHUNK_MAX)
		vf_buf_put(v, p);
	else
		free(p);
}
