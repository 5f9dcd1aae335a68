/*
 * vault_int.h - private to core/: the structs every core module above the
 * catalog shares (struct vf_vault, the handle, struct vf_file and the data
 * path's records) and the v->mu lock helpers.  Types only: no function
 * of a higher layer is declared here; each module's functions are in its
 * own header (ns.h, open_files.h, file.h, ...), so a module's #include
 * lines are its dependencies (docs/design.md, "Layers").
 *
 * Locking: v->mu guards the catalog, the open-file table and the stream
 * budget.  f->mu guards one open file's state.  Order: f->mu before v->mu;
 * never take f->mu while holding v->mu.  Chunk encoding, pack I/O and
 * decryption run with neither held where possible.
 */
#ifndef VF_VAULT_INT_H
#define VF_VAULT_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "catalog.h"
#include "chunker.h"
#include "crypto.h"
#include "pack.h"
#include "pack_io.h"
#include "vault.h"

#define VF_SPOOL_BLOCK (64u << 10)
#define VF_PIPE_WORKERS 2
#define VF_PIPE_JOBS 8 /* chunks queued or being stored, vault-wide */
/* Chunk-sized buffers are recycled through a small pool instead of going
 * back to malloc for every chunk (big allocations are the costly kind). */
#define VF_POOL_BUF (VF_CHUNK_MAX + (64u << 10)) /* a raw or sealed chunk */
#define VF_POOL_KEEP 8
/* An extent whose chunk a pipeline worker is still storing. */
#define VF_REF_INFLIGHT INT64_MIN

/* A cut chunk on its way to a pack: a worker hashes, deduplicates,
 * compresses, seals and stores it, then fills in (*arr)[idx].chunk. */
struct vf_job {
	struct vf_job *next;
	struct vf_file *f;
	struct vf_ext **arr;
	size_t idx;
	uint8_t *data; /* owned by the job; a pool buffer when cap says so */
	size_t len, cap;
	int64_t prefetch; /* instead: load this chunk into the cache */
};

/* One piece of a file's content. chunk > 0: catalog chunk row id; chunk
 * < 0: -(index + 1) into the file's pending chunks; chunk 0: a hole. */
struct vf_ext {
	uint64_t off;
	uint64_t len;
	int64_t chunk;
	uint32_t coff;
};

/* A chunk stored in a pack but not yet in the catalog (it is inserted by
 * the commit that first references it). */
struct vf_pending {
	uint8_t cid[VF_CHUNK_ID_BYTES];
	struct vf_pack_loc loc;
	uint32_t rlen;
	int64_t row; /* catalog id once inserted, else 0 */
};

/* A dirty 64 KiB block of an open file, held sealed in the spool. */
struct vf_block {
	uint64_t idx;  /* block number in the file */
	uint64_t slot; /* slot in the spool file */
};

/* What a write session wrote, sampled for the tripwire (trip.h): a byte
 * histogram of the first VF_TRIP_SAMPLE bytes written, the first bytes
 * written at offset 0, and what the content it replaces looked like. */
#define VF_TRIP_SAMPLE 4096
#define VF_TRIP_HEAD 16
struct vf_trip_sample {
	int64_t t0;    /* when the session began (0: no sample yet) */
	uint16_t n;    /* bytes counted in hist */
	uint8_t nhead; /* bytes in head */
	uint8_t old;   /* the replaced content: trip.c's OLD_* */
	uint8_t head[VF_TRIP_HEAD];
	uint16_t hist[256];
};

struct vf_file {
	uint64_t ino;
	int refs;
	pthread_mutex_t mu;
	struct vf_file *next; /* hash chain */

	int loaded;          /* ext holds the committed extents */
	int64_t version;     /* committed version id (0: none) */
	uint64_t size;       /* current size, dirty data included */
	int64_t mtime, ctime;
	int dirty;
	/* metadata changed while dirty, written by the commit */
	int meta_dirty;
	/* the next commit is left pending (catalog.h, deferred commits):
	 * set by vault_file.c around a deferred handle's commit */
	int defer_commit;
	/* immutability found nothing against writing it at this rule
	 * generation (v->imm_gen + 1; 0 never) */
	uint64_t imm_ok_gen;
	uint32_t mode, uid, gid;
	int64_t atime;

	/* pend_mu guards pend, the chunk fields of extents a job may fill,
	 * reallocation of such extent arrays, inflight and pipe_err */
	pthread_mutex_t pend_mu;
	pthread_cond_t pend_cv;
	int inflight;
	int pipe_err;

	struct vf_ext *ext;
	size_t ext_cap, n_ext;

	struct vf_trip_sample trip; /* the session's sample (trip.c) */

	struct vf_pending *pend;
	size_t n_pend, pend_cap;

	struct vf_block *blk; /* sorted by idx */
	size_t n_blk, blk_cap;

	/* streaming: [stream_base, stream_end) arrives in order; bytes after
	 * the last cut wait in sbuf */
	int streaming;
	int cut_once; /* a chunk was cut: allocate whole chunks from now */
	int64_t prefetched; /* last chunk handed to read-ahead */
	uint64_t stream_end;
	struct vf_chunker ck;
	uint8_t *sbuf;
	size_t sbuf_len, sbuf_cap;
};

struct vf_cache_ent {
	int64_t chunk;
	uint8_t *data;
	uint32_t len;
	int refs;
	struct vf_cache_ent *prev, *next; /* LRU, most recent first */
	struct vf_cache_ent *hnext;
};

struct vf_views;
struct vf_datakeys;
struct vf_ship;
struct vf_trip;

#define VF_IMM_NEW_RING 128

struct vf_vault {
	char *dir;
	char *keystore; /* the platform keystore (key edits write there) */
	int lockfd;
	int readonly;
	/* the disk reserve setting (policy.h; VF_POLICY_RESERVE_DEFAULT when
	 * none is set): read by every write without v->mu, so loaded and
	 * stored with __atomic; changed only by vf_admin_reserve_set */
	uint64_t reserve;
	/* -o quota=SIZE: the most the vault may store (0: no limit), and
	 * the last count of stored bytes (gc.c vf_gc_stored_bytes) with
	 * its vf_clock_mono time; all with __atomic */
	uint64_t quota;
	uint64_t stored_cached;
	int64_t stored_at;
	int kernel_times; /* the kernel sets mtime/ctime of written files */
	int passphrase;   /* unlocked by a passphrase (posture) */
	struct vf_keys *keys;
	/* datakey.c: the live data key epochs (own lock) */
	struct vf_datakeys *dk;
	struct vf_catalog *cat;
	struct vf_pack_io *io;
	struct vf_pack_io *inner_io; /* under a test fault wrapper */
	struct vf_pack_io *local_io; /* a remote vault: the packs under the
					cache (v->io is pack_cache.h's) */
	struct vf_objstore *store;   /* a remote vault: its store, for reads */
	/* a remote vault being shipped: the store whose replies' Date is
	 * the vault clock's second opinion (vclock.c); set and cleared
	 * by ship.c, read with __atomic_load_n */
	struct vf_objstore *clock_store;
	struct vf_pack_writer *pw;
	uint64_t gear[256];
	struct vf_views *views; /* view.c: seconds being browsed (v->mu) */
	/* ship.c: the uploader of a remote vault, or NULL (set and cleared
	 * under v->mu) */
	struct vf_ship *ship;
	/* trash.c: soft-delete settings, loaded on first use (v->mu) */
	int sd_loaded;
	struct vf_softdelete sd;
	/* immut.c: number of immutable directories (-1: not loaded), a
	 * generation that changes with the rules, the vault switch (v->mu) */
	int64_t imm_rules;
	uint64_t imm_gen;
	struct vf_imm_vault imm_vault;
	/* immut.c: who created the last items on this mount (a ring, the
	 * newest at imm_new_next - 1): a writer's allowances (v->mu) */
	struct vf_imm_new {
		uint64_t ino;
		uint32_t uid;
	} imm_new[VF_IMM_NEW_RING];
	unsigned imm_new_next;
	/* authz.c: the role grants, in memory, sorted (own lock) */
	pthread_mutex_t authz_mu;
	struct vf_grant {
		uint32_t id;
		uint8_t is_group, role;
	} *grants;
	size_t n_grants;
	int group_grants; /* some grant is to a group */

	/* vclock.c: vault time clock_v0 at CLOCK_MONOTONIC clock_mono0, both
	 * set once by the open (clock_started); the mark last saved (v->mu) */
	int clock_started;
	int64_t clock_v0, clock_mono0, clock_saved;

	pthread_mutex_t mu;
	struct vf_file **files;
	size_t files_cap;
	size_t stream_bytes;
	/* Files in a dirty session (file.c counts them under mu).  Such a
	 * file holds chunk references the catalog does not have yet, so gc
	 * frees chunks and moves packs only while this is 0 (gc.c). */
	int n_dirty;

	pthread_mutex_t cache_mu;
	struct vf_cache_ent **cache_tab;
	size_t cache_cap;
	struct vf_cache_ent *lru_head, *lru_tail;
	size_t cache_bytes;

	pthread_mutex_t job_mu;
	pthread_cond_t job_cv, space_cv;
	struct vf_job *jq_head, *jq_tail;
	int jobs; /* queued + running */
	int stopping;
	int64_t pf_busy[VF_PIPE_WORKERS]; /* chunks being read ahead, or 0 */
	pthread_t workers[VF_PIPE_WORKERS];
	int n_workers;

	pthread_mutex_t pool_mu;
	void *pool[VF_POOL_KEEP];
	int n_pool;

	pthread_mutex_t spool_mu;
	int spool_fd;
	uint64_t spool_slots;
	uint64_t *spool_free;
	size_t n_free, free_cap;

	/* Called by file data when a chunk fails authentication or its
	 * checksum (what: "authentication" or "checksum"); set by
	 * vf_vault_open to audit.c's counter, so file data needs no audit. */
	void (*integrity_failed)(struct vf_vault *v, const char *what);
	struct vf_alerts *alerts; /* alert.c: the queue (own lock) */
	/* metrics.c: fs/'s request counters, lent before serving */
	const char *const *req_names;
	const _Atomic uint64_t *req_counts;
	size_t n_req;
	vf_alert_hook alert_hook;  /* set by the daemon before it serves */
	void *alert_arg;
	vf_forget_hook forget_hook; /* set by fs/ before it serves */
	void *forget_arg;

	/* trip.c: the tripwire's windows (own lock); trip_frozen is when
	 * it froze purges (0: not frozen), read by trash.c and gc.c without
	 * any lock, so loaded and stored with __atomic */
	struct vf_trip *trip;
	int64_t trip_frozen;
	/* protect.c: enum vf_prot_state, VF_PROT_ON unless protection is
	 * stopped; read by the facade's write checks without any lock, so
	 * loaded and stored with __atomic */
	int prot_state;

	/* audit.c: the denied-access counters, under a lock of their own
	 * (audit.h has the rule); made by vf_audit_new at open, freed by
	 * vf_audit_free at close */
	struct vf_audit *audit;
};

struct vf_handle {
	struct vf_file *f;
	int flags;
	uint32_t uid; /* who opened it (refusals are audited with it) */
	int view;   /* f is private: a recovery point opened from a view */
	int stable; /* the view never changes: the kernel may keep pages */
	int defer;  /* its commits stay pending (vf_vault_handle_defer) */
};

/* v->mu: the catalog, the open-file table and the stream budget. */
static inline void vf_vault_lock(struct vf_vault *v)
{
	pthread_mutex_lock(&v->mu);
}

static inline void vf_vault_unlock(struct vf_vault *v)
{
	/* a change made outside a transaction while one is pending
	 * (catalog.h, deferred commits) commits now, as it would have */
	if (v->cat && v->cat->pending)
		vf_catalog_settle_stray(v->cat);
	pthread_mutex_unlock(&v->mu);
}

#endif
