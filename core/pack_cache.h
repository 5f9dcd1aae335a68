/*
 * pack_cache.h - the pack backend of a remote vault: local packs as a
 * bounded cache in front of the object store (pack NAME is the object
 * "p/NAME").  See pack_cache.c for the policy.
 */
#ifndef VF_PACK_CACHE_H
#define VF_PACK_CACHE_H

#include "objstore.h"
#include "pack_io.h"

#define VF_OBJ_PACK_PREFIX "p/"

struct vf_pack_cache_stats {
	uint64_t limit;	        /* bytes; 0: no local copies of fetched packs */
	uint64_t cached_bytes;  /* local packs, shipped or not */
	uint64_t packs;	        /* local packs */
	uint64_t fetches;       /* whole packs fetched from the store */
	uint64_t range_reads;   /* reads served from the store (limit 0) */
	uint64_t fetched_bytes;
	uint64_t fetch_errors;
	uint64_t evictions;
	uint64_t untracked;     /* packs the table had no memory for */
};

/* A backend over local (a local backend) and store, both borrowed (they
 * must outlive it), keeping the local packs within limit bytes by
 * evicting the least recently used packs the store holds.  Lists the
 * local packs once; they count as not in the store until marked. */
VF_MUST int vf_pack_cache_new(struct vf_pack_io *local,
			      struct vf_objstore *store, uint64_t limit,
			      struct vf_pack_io **out);

/* Marks a local pack as held by the store (the uploader, after shipping
 * it or at open for packs the catalog says were shipped): it may now be
 * evicted.  No-op for an unknown name or if io is not a pack cache. */
void vf_pack_cache_shipped(struct vf_pack_io *io, const char *name);

/* Evicts shipped packs, least recently used first, until the local packs
 * fit the limit (never the most recently used one).  Returns the number
 * evicted or a negative errno; -EINVAL if io is not a pack cache. */
int vf_pack_cache_trim(struct vf_pack_io *io);

/* Changes the limit (bytes; 0: no local copies of fetched packs) and
 * trims to it.  -EINVAL if io is not a pack cache. */
int vf_pack_cache_set_limit(struct vf_pack_io *io, uint64_t limit);

/* The counters; zeros if io is not a pack cache. */
void vf_pack_cache_stats(struct vf_pack_io *io,
			 struct vf_pack_cache_stats *st);

#endif
