/*
 * cache.h - the decrypted-chunk cache, private to core/ (cache.c has the
 * rules).  Any thread; f->mu may be held, v->mu must not be (a miss takes
 * it to find the chunk).
 */
#ifndef VF_CACHE_H
#define VF_CACHE_H

#include "vault_int.h"

/* The empty cache on v / freed with every entry; at open and close only. */
VF_MUST int vf_cache_init(struct vf_vault *v);
void vf_cache_release(struct vf_vault *v);
/* Catalog chunk chunk, decrypted: from the cache or read from its pack
 * (looked up again if gc moved it meanwhile).  A reference the caller
 * returns with vf_cache_put.  -ENOENT, -EIO, -EBADMSG (reported to
 * v->integrity_failed), -ENOMEM. */
VF_MUST int vf_cache_get(struct vf_vault *v, int64_t chunk,
			 struct vf_cache_ent **out);
/* A chunk not yet in the catalog, read from loc: an entry outside the
 * table, freed by its vf_cache_put. */
VF_MUST int vf_cache_get_at(struct vf_vault *v,
			    const uint8_t cid[VF_CHUNK_ID_BYTES],
			    const struct vf_pack_loc *loc, uint32_t rlen,
			    struct vf_cache_ent **out);
void vf_cache_put(struct vf_vault *v, struct vf_cache_ent *e);
/* 1 when chunk is in the cache (read-ahead skips it). */
int vf_cache_has(struct vf_vault *v, int64_t chunk);
void vf_cache_free_all(struct vf_vault *v);

#endif
