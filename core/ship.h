/*
 * ship.h - shipping a remote vault to its object store (design:
 * docs/remote-store.md).
 *
 * While a remote vault is open read-write by the daemon, one thread ships
 *   p/<pack name>          every finished pack, once (packs.shipped = 1);
 *   c/<seq, 16 hex>.t      48 bytes: the checkpoint's vault stamp (le64),
 *                          sealed with the anchor subkey, associated data
 *                          "vf-ckpt" || le64(seq);
 *   c/<seq, 16 hex>        a checkpoint: a consistent copy of the whole
 *                          catalog, every page sealed as in catalog.db,
 *   or c/<seq, 16 hex>.d   a segment: the pages that changed since the
 *                          state shipped last (catseg.h),
 * in this order, so that a checkpoint or segment is never in the store
 * before a pack it references nor before its time.  A full checkpoint is
 * shipped at the first round of a mount, after a failed upload, and when
 * the chain of segments since the last one grows past VF_SHIP_CHAIN_MAX
 * or past both half the catalog's size and VF_SHIP_CHAIN_FLOOR.  The uploader closes the pack being
 * written once it has held data for VF_SHIP_ROTATE ns, and takes a
 * checkpoint at most every VF_SHIP_EVERY ns while the catalog changes, and
 * whenever vf_ship_sync asks.  Store errors are retried with exponential
 * backoff (1 s doubling to 60 s); the vault goes on working locally.
 *
 * Threads: every function may be called from any thread; v->mu must not
 * be held by the caller.
 */
#ifndef VF_SHIP_H
#define VF_SHIP_H

#include "objstore.h"
#include "vault_int.h"

#define VF_SHIP_ROTATE (2 * VF_NS)
#define VF_SHIP_EVERY (5 * VF_NS)
#define VF_SHIP_CHAIN_MAX 64 /* segments between two full checkpoints */
#define VF_SHIP_CHAIN_FLOOR (1u << 20) /* bytes of segments always allowed */
#define VF_SHIP_BACKOFF_MAX 60 /* seconds */
#define VF_SHIP_LAG_ALERT (15 * 60 * VF_NS) /* store-lag alert after */
#define VF_SHIP_LOCK_MARGIN (7 * 86400) /* s, beyond soft-delete retention */
#define VF_SHIP_TIME_BYTES (8 + VF_SEAL_OVERHEAD)
#define VF_SHIP_CKPT_PREFIX "c/"
#define VF_SHIP_PACK_PREFIX "p/"
#define VF_SHIP_HDR_KEY "hdr"
/* A vault header that changed after init (key add, remove, rotate,
 * export, passphrase change; docs/keys.md): h/<32 hex of its
 * BLAKE2b-128>, shipped by the first round after the change; "hdr" is
 * never written again (a locked vault reads the first version of a key,
 * ship.c).  recover tries every header it finds. */
#define VF_SHIP_HDRS_PREFIX "h/"

struct vf_ship_status {
	int remote;            /* 0: a local vault (nothing else is set) */
	int offline;           /* 1: remote, but not shipping from this
				  process (offline or read-only open): only
				  url, seq and shipped_t are set, lag is -1 */
	char url[1024];
	uint64_t seq;          /* last checkpoint in the store (0: none) */
	int64_t shipped_t;     /* its vault stamp, ns (0: none) */
	int64_t lag;           /* age of the oldest change not in the store,
				  ns; 0 when the store holds everything */
	uint64_t bytes_pending; /* packs not in the store yet: finished ones
				   and the one being written */
	uint64_t packs_shipped, ckpts_shipped, bytes_shipped; /* this mount */
	uint64_t ckpt_bytes;   /* size of the last full checkpoint shipped */
	uint64_t segs_shipped; /* segments shipped this mount */
	uint64_t seg_bytes;    /* size of the last segment shipped */
	int64_t ckpt_ms;       /* time its round took, ms */
	char last_err[256];    /* last store error ("" since a success) */
	int lock;              /* objects are locked (COMPLIANCE) */
	int64_t lock_horizon;  /* Unix s: every object locked until at least
				  this (0: not known) */
	int64_t lock_period;   /* s */
	int64_t lock_every;    /* ns: how often needed objects' locks are
				  renewed (vf_policy_extend_every) */
};

/* Starts shipping v when it is a remote vault (VAULT/store.conf exists):
 * opens the store and the uploader thread.  0 for a local vault (nothing
 * started).  One line in err on failure. */
VF_MUST int vf_ship_start(struct vf_vault *v, char *err, size_t errlen);

/* As vf_ship_start, with store s (taken over: freed by vf_ship_stop, or
 * here on failure) named url; for tests. */
VF_MUST int vf_ship_start_store(struct vf_vault *v, struct vf_objstore *s,
				const char *url, char *err, size_t errlen);

/* Stops the thread; when the catalog changed since the last checkpoint,
 * tries one last round (no retry).  Accepts a vault that ships nothing.
 * Called by vf_vault_close before the pack writer closes. */
void vf_ship_stop(struct vf_vault *v);

/* Returns when a checkpoint taken after this call is in the store (0), or
 * after timeout_s seconds (-ETIMEDOUT, one line in err with the store's
 * last error).  -ENOTSUP for a vault that is not remote (or not shipping:
 * offline, read-only). */
VF_MUST int vf_ship_sync(struct vf_vault *v, int timeout_s, char *err,
			 size_t errlen);

/* Fills out: remote 0 for a local vault; offline 1 for a remote vault
 * this process does not ship (see the struct). */
void vf_ship_status(struct vf_vault *v, struct vf_ship_status *out);

/* The key of checkpoint seq ("c/%016llx"), of segment seq
 * ("c/%016llx.d") and of the time object of either ("c/%016llx.t"). */
void vf_ship_ckpt_key(uint64_t seq, char key[VF_OBJKEY_MAX + 1]);
void vf_ship_seg_key(uint64_t seq, char key[VF_OBJKEY_MAX + 1]);
void vf_ship_time_key(uint64_t seq, char key[VF_OBJKEY_MAX + 1]);

/* The sequence number of a key under c/: "c/<16 hex>" (*full = 1: a
 * whole catalog) or "c/<16 hex>.<suffix>" (*full = 0: its time object,
 * a segment, ...).  -EINVAL for any other key. */
VF_MUST int vf_ship_key_seq(const char *key, uint64_t *seq, int *full);

/* Seals / opens a checkpoint's time object (anchor subkey). */
void vf_ship_time_seal(const uint8_t key[32], uint64_t seq, int64_t t,
		       uint8_t out[VF_SHIP_TIME_BYTES]);
VF_MUST int vf_ship_time_open(const uint8_t key[32], uint64_t seq,
			      const void *in, size_t len, int64_t *t);

#endif
