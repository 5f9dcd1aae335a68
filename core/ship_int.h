/*
 * ship_int.h - private to the uploader's files (ship.c: the round's
 * order, the thread, start and stop; ship_upload.c: what a round uploads,
 * the catalog copy, its checkpoint or segment and the packs): the
 * uploader's state and the helpers they share.  The round is described at
 * the top of ship.c.
 */
#ifndef VF_SHIP_INT_H
#define VF_SHIP_INT_H

#include <pthread.h>
#include <stdint.h>

#include "catseg.h"
#include "ship.h"

struct vf_ship {
	struct vf_vault *v;
	struct vf_objstore *st;
	char url[1024];
	char vfs[48];
	char *ckpt_path;
	char *seg_path;
	pthread_t thread;
	int started;

	/* under v->mu (the update hook runs there) */
	uint64_t changes;	  /* counted catalog changes */
	uint64_t shipped_changes; /* changes covered by the last checkpoint */
	uint64_t snap_changes;	  /* changes covered by the copy in flight */
	int64_t since_a;	  /* stamp of the oldest change not shipped */
	int64_t since_b;	  /* the same, after the copy in flight */
	int inflight;

	/* under mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;	/* wakes the thread (sync, stop) */
	pthread_cond_t done_cv; /* a round ended */
	int stop;
	uint64_t req, done; /* sync generations asked / satisfied */
	uint64_t seq;
	int seq_known;
	int64_t shipped_t;
	uint64_t bytes_pending, packs_shipped, ckpts_shipped, bytes_shipped,
	    ckpt_bytes;
	int64_t ckpt_ms;
	char err[256];
	int backoff;	   /* seconds; 0 when the last round worked */
	int64_t retry_at;  /* vf_clock_mono */
	int64_t last_ckpt; /* vf_clock_mono of the last checkpoint */
	uint64_t tried;	   /* highest seq an upload was attempted for */
	uint64_t segs_shipped, seg_bytes;

	/* only the thread (or the last round at stop, after the join) */
	struct vf_catseg_map map; /* page hashes of state seq; none (h NULL)
				     until a round shipped: the next round
				     ships a full checkpoint */
	uint64_t chain_full;	  /* the full checkpoint the chain starts at */
	int64_t chain_t;	  /* vf_clock_mono when it was taken */
	int64_t window;		  /* the history window, ns (policy.h) */
	uint64_t chain_segs;	  /* segments since, and their bytes */
	uint64_t chain_bytes;

	/* Object Lock (set before the thread starts, then only by it) */
	int lock;	      /* every object gets a COMPLIANCE retention */
	int64_t lock_period;  /* s: soft-delete retention + margin */
	int64_t lock_horizon; /* Unix s: every object locked until at
				 least this (0: not known yet) */
	int64_t next_extend;  /* vf_clock_mono of the next extension pass */
	int64_t locked;	      /* objects locked or extended this mount */
	int clock_alerted;    /* the host/store clock alert, once a mount */
	int64_t hdr_sum;      /* the last header shipped (meta "ship.hdr"):
				 its first 8 bytes of BLAKE2b-128; the
				 thread only */
	int lag_alerted;      /* the store-lag alert of this episode (the
				 uploader's thread only) */
};

/* Locks key until now + the lock period; 0 when the vault does not lock. */
int vf_ship_lock_obj(struct vf_ship *s, const char *key);

/* Removes the catalog copy, the segment and SQLite's files beside them. */
void vf_ship_unlink_ckpt(struct vf_ship *s);

/* Copies the catalog into s->ckpt_path, COPY_STEP pages per hold of
 * v->mu so that file operations are not held up for the whole copy.  The
 * catalog connection is the backup's source: SQLite updates the copy
 * with every change that connection commits between steps, so the copy
 * is the catalog as of the last step, which runs under v->mu together
 * with the bookkeeping of what the copy covers (snap_changes, *t). */
int vf_ship_copy_catalog(struct vf_ship *s, int64_t *t);

/* The file of pack name in v (malloc'd), or NULL. */
char *vf_ship_pack_path(struct vf_vault *v, const char *name);

/* Walks the unshipped finished packs: ship 0 only adds up their sizes
 * into s->bytes_pending (for status; also while the uploader waits out a
 * backoff), ship 1 ships them in row order. */
int vf_ship_walk_unshipped(struct vf_ship *s, int ship);

/* Ships every finished unshipped pack, after counting them. */
int vf_ship_packs(struct vf_ship *s);

/* The sequence number to continue from: the larger of meta "ship.seq"
 * and the newest c/ object listed (the top of ship.c). */
int vf_ship_find_seq(struct vf_ship *s);

/* Puts the time object, then the checkpoint (c/SEQ from ship.ckpt) or
 * the segment (c/SEQ.d from ship.seg), then records it: ship.seq,
 * ship.t, and ship.full, the full checkpoint its chain starts at. */
int vf_ship_put_ckpt(struct vf_ship *s, uint64_t seq, int64_t t, int seg);

/* Hashes every page of the fresh copy and, when the pages of the state
 * shipped last are known, writes the pages that changed as segment seq
 * to ship.seg.  *seg: ship the segment (1) or the full copy (0): full
 * when no state is known (the first round of a mount, or after a failed
 * upload), when the chain has VF_SHIP_CHAIN_MAX segments, or when its
 * segments with this one would add up to more than half the catalog
 * (a recovery then downloads at most about 1.5 catalogs) and more than
 * VF_SHIP_CHAIN_FLOOR (below that a recovery costs little either way),
 * or when the chain is a quarter of the history window old, so that
 * remote gc finds a floor (vf_policy_ship_segment). */
int vf_ship_make_delta(struct vf_ship *s, uint64_t seq,
		       struct vf_catseg_map *fresh, int *seg);

/* Ships the vault header when it changed since the one shipped last
 * (h/<hash>, locked like every object), then records it in meta
 * "ship.hdr".  The header is replaced by rename, so a read sees a whole
 * one; the name is its hash, so a key is never written with two
 * contents. */
int vf_ship_header(struct vf_ship *s);

#endif
