/*
 * ship.c - the uploader of a remote vault (ship.h; docs/remote-store.md).
 *
 * One round, on the uploader thread, every second (sooner when
 * vf_ship_sync asks), unless it waits out a backoff:
 *   1. close the pack being written when it has held data for
 *      VF_SHIP_ROTATE (vf_pack_writer_rotate), so data leaves within
 *      seconds;
 *   2. if a checkpoint is due (the catalog changed and VF_SHIP_EVERY
 *      passed since the last one, or a sync waits): copy the whole
 *      catalog with SQLite's online backup into VAULT/ship.ckpt (1 MiB
 *      per hold of v->mu; the copy is the catalog as of its last step),
 *      opened through a VFS of its own that seals every page with the
 *      catalog key (no plaintext page ever reaches the disk), noting the
 *      change count and the vault stamp; then close the current pack
 *      (every pack the copy references is now finished);
 *   3. ship every finished pack the catalog does not mark shipped
 *      (p/NAME), marking each once the store has it;
 *   4. if a checkpoint was taken: hash every page of the copy (keyed,
 *      16 bytes a page, catseg.h) and compare with the hashes of the
 *      state shipped last; the pages that differ become a sealed segment
 *      (ship.seg), unless a full checkpoint is due (vf_ship_make_delta);
 *   5. put its time (c/SEQ.t), then the segment (c/SEQ.d) or the whole
 *      copy (c/SEQ), then record ship.seq, ship.t and ship.full (the full
 *      checkpoint the chain starts at) in meta.
 * The page hashes live only in memory: the first round of a mount, and
 * the round after any failed upload, ship a full checkpoint, so a segment
 * is only ever made on a state the store is known to hold (a kill -9 at
 * any moment costs one full checkpoint, never a wrong chain).  A sequence
 * number an upload was tried for is never used again (s->tried), so the
 * store never holds two different objects under one number.
 * A checkpoint therefore never reaches the store before the packs it
 * references, and a copy is never uploaded as a later sequence number than
 * one it is older than (one thread, sequence numbers only grow).  At the
 * first round the sequence number continues from the larger of meta
 * "ship.seq" and the newest c/ object listed, so a kill -9 between an
 * upload and its record does not reuse a number for an older copy.
 *
 * What counts as a change: an SQLite update hook on the catalog (run
 * under v->mu, like every catalog access) counts row changes of every
 * rowid table but packs (whose shipped column the uploader writes);
 * WITHOUT ROWID tables (meta: the clock mark, the epoch, ship.*) are not
 * reported by SQLite, so bookkeeping never causes a checkpoint of its
 * own.  Tables changed only through WITHOUT ROWID rows (xattrs, extents,
 * roles) always change a rowid table in the same operation (nodes,
 * versions, audit).
 *
 * Locking: v->mu before s->mu; the thread never takes v->mu while holding
 * s->mu.  Memory: the backup copies page by page; packs and checkpoints
 * are streamed by the store (put_fd); pack names are read 64 at a time.
 *
 * This file holds the round's order, the thread, start, stop and status;
 * what a round uploads (steps 2 to 5) is in ship_upload.c, the state they
 * share in ship_int.h.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "alert.h"
#include "ship_int.h"

#define CKPT_NAME "ship.ckpt"
#define SEG_NAME "ship.seg"
#define TICK_MS 1000
#include "vclock.h"

/* Locks key until now + the lock period; 0 when the vault does not lock. */
int vf_ship_lock_obj(struct vf_ship *s, const char *key)
{
	int rc;

	if (!s->lock)
		return 0;
	rc = s->st->ops->set_retention(s->st, key,
				       (int64_t)time(NULL) + s->lock_period);
	if (!rc) {
		pthread_mutex_lock(&s->mu);
		s->locked++;
		pthread_mutex_unlock(&s->mu);
	}
	return rc;
}

void vf_ship_ckpt_key(uint64_t seq, char key[VF_OBJKEY_MAX + 1])
{
	snprintf(key, VF_OBJKEY_MAX + 1, VF_SHIP_CKPT_PREFIX "%016llx",
		 (unsigned long long)seq);
}

int vf_ship_key_seq(const char *key, uint64_t *seq, int *full)
{
	const char *p = key + strlen(VF_SHIP_CKPT_PREFIX);
	uint64_t n = 0;
	int i;

	if (strncmp(key, VF_SHIP_CKPT_PREFIX, strlen(VF_SHIP_CKPT_PREFIX)))
		return -EINVAL;
	for (i = 0; i < 16; i++) {
		int c = p[i];

		if (c >= '0' && c <= '9')
			n = n << 4 | (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			n = n << 4 | (uint64_t)(c - 'a' + 10);
		else
			return -EINVAL;
	}
	if (p[16] != '\0' && (p[16] != '.' || p[17] == '\0'))
		return -EINVAL;
	*seq = n;
	*full = p[16] == '\0';
	return 0;
}

void vf_ship_seg_key(uint64_t seq, char key[VF_OBJKEY_MAX + 1])
{
	snprintf(key, VF_OBJKEY_MAX + 1, VF_SHIP_CKPT_PREFIX "%016llx.d",
		 (unsigned long long)seq);
}

void vf_ship_time_key(uint64_t seq, char key[VF_OBJKEY_MAX + 1])
{
	snprintf(key, VF_OBJKEY_MAX + 1, VF_SHIP_CKPT_PREFIX "%016llx.t",
		 (unsigned long long)seq);
}

static void time_ad(uint64_t seq, uint8_t ad[15])
{
	int i;

	memcpy(ad, "vf-ckpt", 7);
	for (i = 0; i < 8; i++)
		ad[7 + i] = (uint8_t)(seq >> (8 * i));
}

void vf_ship_time_seal(const uint8_t key[32], uint64_t seq, int64_t t,
		       uint8_t out[VF_SHIP_TIME_BYTES])
{
	uint8_t ad[15], pt[8];
	int i;

	time_ad(seq, ad);
	for (i = 0; i < 8; i++)
		pt[i] = (uint8_t)((uint64_t)t >> (8 * i));
	vf_crypto_seal(key, ad, sizeof(ad), pt, sizeof(pt), out);
}

int vf_ship_time_open(const uint8_t key[32], uint64_t seq, const void *in,
		      size_t len, int64_t *t)
{
	uint8_t ad[15], pt[8];
	uint64_t x = 0;
	int i, rc;

	if (len != VF_SHIP_TIME_BYTES)
		return -EBADMSG;
	time_ad(seq, ad);
	rc = vf_crypto_open(key, ad, sizeof(ad), in, len, pt);
	if (rc < 0)
		return -EBADMSG;
	for (i = 0; i < 8; i++)
		x |= (uint64_t)pt[i] << (8 * i);
	*t = (int64_t)x;
	return 0;
}

static void update_hook(void *arg, int op, const char *db, const char *table,
			sqlite3_int64 row)
{
	struct vf_ship *s = arg;

	(void)op;
	(void)db;
	(void)row;
	if (table && !strcmp(table, "packs"))
		return;
	s->changes++;
	if (!s->since_a)
		s->since_a = vf_clock_now();
	if (s->inflight && !s->since_b)
		s->since_b = vf_clock_now();
}

static int round_once(struct vf_ship *s, uint64_t gen, int force)
{
	struct vf_catseg_map fresh = { NULL, 0 };
	struct vf_vault *v = s->v;
	int64_t t = 0, start = vf_clock_mono();
	uint64_t seq;
	int rc, dirty, want = 0, r, seg = 0;

	vf_objstore_set_err("%s", "");
	if (!s->seq_known) {
		rc = vf_ship_find_seq(s);
		if (rc)
			return rc;
	}
	rc = vf_ship_header(s);
	if (rc)
		return rc;
	r = vf_pack_writer_rotate(v->pw, VF_SHIP_ROTATE);
	if (r < 0) {
		vf_objstore_set_err("cannot close the current pack: %s",
				    strerror(-r));
		return r;
	}
	vf_vault_lock(v);
	dirty = s->changes != s->shipped_changes;
	pthread_mutex_lock(&s->mu);
	want = dirty && (force || gen > s->done ||
			 start - s->last_ckpt >= VF_SHIP_EVERY);
	pthread_mutex_unlock(&s->mu);
	vf_vault_unlock(v);
	if (want) {
		rc = vf_ship_copy_catalog(s, &t);
		if (rc)
			return rc;
	}
	if (want) {
		r = vf_pack_writer_rotate(v->pw, 0);
		if (r < 0) {
			vf_objstore_set_err("cannot close the current pack: "
					    "%s", strerror(-r));
			rc = r;
			goto out;
		}
	}
	rc = vf_ship_packs(s);
	if (rc || !want)
		goto out;
	pthread_mutex_lock(&s->mu);
	seq = (s->seq > s->tried ? s->seq : s->tried) + 1;
	s->last_ckpt = start;
	pthread_mutex_unlock(&s->mu);
	rc = vf_ship_make_delta(s, seq, &fresh, &seg);
	if (rc)
		goto out;
	/* from here on seq may be in the store: never used again */
	pthread_mutex_lock(&s->mu);
	s->tried = seq;
	pthread_mutex_unlock(&s->mu);
	rc = vf_ship_put_ckpt(s, seq, t, seg);
	if (rc) {
		/* what the store holds is not known: the next round ships
		 * a full checkpoint, never a segment on an unsure base */
		vf_catseg_map_release(&s->map);
		vf_catseg_map_release(&fresh);
		goto out;
	}
	vf_catseg_map_release(&s->map);
	s->map = fresh;
	if (seg) {
		s->chain_segs++;
		s->chain_bytes += s->seg_bytes;
	} else {
		s->chain_full = seq;
		s->chain_t = start;
		s->chain_segs = 0;
		s->chain_bytes = 0;
	}
	pthread_mutex_lock(&s->mu);
	s->ckpt_ms = (vf_clock_mono() - start) / 1000000;
	pthread_mutex_unlock(&s->mu);
out:
	if (want) {
		vf_vault_lock(v);
		if (s->inflight) {
			/* failed: the oldest change is still since_a */
			s->inflight = 0;
			s->since_b = 0;
		}
		vf_vault_unlock(v);
		vf_ship_unlink_ckpt(s);
	}
	if (!rc && (want || !dirty)) {
		pthread_mutex_lock(&s->mu);
		if (gen > s->done)
			s->done = gen;
		pthread_mutex_unlock(&s->mu);
	}
	return rc;
}

/* Extends the lock of every object still needed to now + the period,
 * every third of the period (at most daily): objects recovery points
 * still need must never come unlocked.  Objects remote gc found unneeded
 * (store_gc.c: sequence numbers below meta "rgc.floor", packs dropped
 * before "rgc.floor_t") are left to run out, so that gc can delete them;
 * until a gc run has looked, an object counts as needed.  The store
 * refuses to shorten a lock, so a pass can only make locks longer. */
struct extend {
	struct vf_ship *s;
	int64_t floor, floor_t;
};

static int extend_one(void *arg, const struct vf_objinfo *o)
{
	struct extend *e = arg;
	struct vf_vault *v = e->s->v;
	uint64_t seq;
	int64_t at = 0;
	int full, rc, live = 0, gone = 0;

	if (vf_ship_key_seq(o->key, &seq, &full) == 0 &&
	    !vf_policy_ckpt_needed(seq, (uint64_t)e->floor))
		return 0;
	if (!strncmp(o->key, VF_SHIP_PACK_PREFIX, 2) && e->floor_t > 0) {
		sqlite3_stmt *q;

		vf_vault_lock(v);
		q = vf_catalog_stmt(v->cat, VF_Q_SHIP_PACK_ID);
		if (q) {
			sqlite3_bind_text(q, 1, o->key + 2, -1, SQLITE_STATIC);
			live = vf_catalog_row(q) != 0; /* errors: keep */
			sqlite3_reset(q);
		}
		q = live ? NULL : vf_catalog_stmt(v->cat, VF_Q_STORE_GONE_GET);
		if (q) {
			sqlite3_bind_text(q, 1, o->key + 2, -1, SQLITE_STATIC);
			gone = vf_catalog_row(q) == 1;
			if (gone)
				at = sqlite3_column_int64(q, 0);
			sqlite3_reset(q);
		}
		vf_vault_unlock(v);
		if (!q && !live)
			live = 1;
		if (!vf_policy_pack_needed(live, gone, at, e->floor_t))
			return 0;
	}
	rc = vf_ship_lock_obj(e->s, o->key);
	return rc == -ENOENT ? 0 : rc; /* deleted by remote gc since */
}

static void extend_locks(struct vf_ship *s)
{
	int64_t start = (int64_t)time(NULL);
	int rc;

	struct extend e = { s, 0, 0 };
	int64_t every = vf_policy_extend_every(s->lock_period * VF_NS);

	if (!s->lock || vf_clock_mono() < s->next_extend)
		return;
	vf_vault_lock(s->v);
	if (vf_catalog_meta_get(s->v->cat, "rgc.floor", &e.floor) < 0 ||
	    vf_catalog_meta_get(s->v->cat, "rgc.floor_t", &e.floor_t) < 0)
		e.floor = e.floor_t = 0;
	vf_vault_unlock(s->v);
	rc = s->st->ops->list(s->st, "", extend_one, &e);
	pthread_mutex_lock(&s->mu);
	if (rc) {
		/* retried in an hour (or sooner for short locks); the locks
		 * set at upload hold meanwhile */
		s->next_extend = vf_clock_mono() +
				 (every < 3600 * VF_NS ? every : 3600 * VF_NS);
		snprintf(s->err, sizeof(s->err), "extending object locks: %s",
			 vf_objstore_errmsg());
	} else {
		s->next_extend = vf_clock_mono() + every;
		s->lock_horizon = start + s->lock_period;
	}
	pthread_mutex_unlock(&s->mu);
	if (!rc) {
		vf_vault_lock(s->v);
		rc = vf_catalog_begin(s->v->cat);
		if (!rc)
			rc = vf_catalog_finish(
				s->v->cat,
				vf_catalog_meta_set(s->v->cat, "lock.extended",
						    start));
		vf_vault_unlock(s->v);
		/* unrecorded, the next mount extends again: harmless */
		(void)rc;
	}
}

/* Raises a store-lag alert once the oldest change the store does not
 * hold is older than VF_SHIP_LAG_ALERT, once until the store catches up.
 * Without s->mu (takes the vault lock to read since_a). */
static void check_lag(struct vf_ship *s)
{
	char why[sizeof(s->err)];
	int64_t since;

	vf_vault_lock(s->v);
	since = s->since_a;
	vf_vault_unlock(s->v);
	if (!since) {
		s->lag_alerted = 0;
		return;
	}
	if (s->lag_alerted || vf_clock_now() - since < VF_SHIP_LAG_ALERT)
		return;
	s->lag_alerted = 1;
	pthread_mutex_lock(&s->mu);
	snprintf(why, sizeof(why), "%s", s->err[0] ? s->err : "no error yet");
	pthread_mutex_unlock(&s->mu);
	vf_alert_raise(s->v, VF_ALERT_STORE_LAG, VF_ALERT_WARNING,
		       VF_AUDIT_UID_NONE, 1,
		       "the store '%s' has not received the changes of the last %lld min (writes go on locally): %s",
		       s->url, (long long)((vf_clock_now() - since) / 60 / VF_NS),
		       why);
}

static void *ship_main(void *arg)
{
	struct vf_ship *s = arg;
	struct timespec ts;
	uint64_t gen, tried = 0;
	int64_t now;
	int rc;

	pthread_mutex_lock(&s->mu);
	while (!s->stop) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += TICK_MS / 1000;
		if (s->req == s->done || s->req == tried)
			pthread_cond_timedwait(&s->cv, &s->mu, &ts);
		if (s->stop)
			break;
		pthread_mutex_unlock(&s->mu);
		check_lag(s);
		pthread_mutex_lock(&s->mu);
		if (s->stop)
			break;
		gen = s->req;
		now = vf_clock_mono();
		/* A new sync request tries at once, backoff or not. */
		if (now < s->retry_at && gen == tried) {
			/* meanwhile the pack being written still closes on
			 * time, and status sees what waits */
			pthread_mutex_unlock(&s->mu);
			if (vf_pack_writer_rotate(s->v->pw, VF_SHIP_ROTATE) >= 0)
				(void)vf_ship_walk_unshipped(s, 0);
			pthread_mutex_lock(&s->mu);
			continue;
		}
		tried = gen;
		pthread_mutex_unlock(&s->mu);
		rc = round_once(s, gen, 0);
		pthread_mutex_lock(&s->mu);
		if (rc) {
			snprintf(s->err, sizeof(s->err), "%s",
				 vf_objstore_errmsg()[0] ? vf_objstore_errmsg()
							 : strerror(-rc));
			s->backoff = s->backoff ? s->backoff * 2 : 1;
			if (s->backoff > VF_SHIP_BACKOFF_MAX)
				s->backoff = VF_SHIP_BACKOFF_MAX;
			s->retry_at = vf_clock_mono() +
				      (int64_t)s->backoff * VF_NS;
		} else {
			s->err[0] = '\0';
			s->backoff = 0;
			s->retry_at = 0;
		}
		pthread_cond_broadcast(&s->done_cv);
		/* a refused request has a Date too: a host whose clock
		 * is far off cannot sign requests the store accepts
		 * (RequestTimeTooSkewed), and that is when to say so */
		if (!s->clock_alerted) {
			int64_t skew;

			if (vf_vclock_store_skew(s->v, &skew) == 0 &&
			    (skew > VF_VCLOCK_STORE_TOL ||
			     skew < -VF_VCLOCK_STORE_TOL)) {
				s->clock_alerted = 1;
				vf_alert_raise(s->v, VF_ALERT_CLOCK,
					       VF_ALERT_WARNING,
					       VF_AUDIT_UID_NONE, 1,
					       "this host's clock is %lld s %s the store's: decisions use the earlier, stamps stay within %lld s of the store's",
					       (long long)((skew < 0 ? -skew : skew) / VF_NS),
					       skew > 0 ? "ahead of" : "behind",
					       (long long)(VF_VCLOCK_STORE_TOL / VF_NS));
			}
		}
		/* after the round's waiters are answered: a sync never
		 * waits for the daily extension of the locks */
		if (!rc && s->lock) {
			pthread_mutex_unlock(&s->mu);
			extend_locks(s);
			pthread_mutex_lock(&s->mu);
		}
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* ---- start, stop, sync, status ------------------------------------- */

static void ship_free(struct vf_ship *s)
{
	if (!s)
		return;
	vf_catvfs_unregister(s->vfs);
	vf_objstore_free(s->st);
	vf_catseg_map_release(&s->map);
	free(s->ckpt_path);
	free(s->seg_path);
	pthread_cond_destroy(&s->cv);
	pthread_cond_destroy(&s->done_cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

int vf_ship_start_store(struct vf_vault *v, struct vf_objstore *st,
			const char *url, char *err, size_t errlen)
{
	pthread_condattr_t ca;
	struct vf_ship *s;
	sigset_t all, old;
	unsigned days = VF_SOFTDELETE_DAYS;
	int rc;

	if (v->readonly || v->ship) {
		vf_objstore_free(st);
		snprintf(err, errlen, "cannot ship a read-only vault");
		return -EROFS;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		vf_objstore_free(st);
		return -ENOMEM;
	}
	s->v = v;
	s->st = st;
	snprintf(s->url, sizeof(s->url), "%s", url);
	vf_vault_lock(v);
	if (vf_catalog_meta_get(v->cat, "ship.hdr", &s->hdr_sum) < 0)
		s->hdr_sum = 0;
	vf_vault_unlock(v);
	s->lock = st->ops->set_retention && !st->no_lock;
	{
		struct vf_softdelete sd;

		/* the retention at mount: a later change moves the chain's
		 * full checkpoints at the next mount */
		if (vf_vault_softdelete_get(v, &sd) == 0)
			days = sd.days;
		s->window = vf_policy_store_window(
			days, st->lock_period_s * VF_NS);
	}
	if (s->lock) {
		int64_t ext = 0, now = (int64_t)time(NULL), every;

		s->lock_period = st->lock_period_s ? st->lock_period_s :
				 vf_policy_lock_period(
					 days, VF_SHIP_LOCK_MARGIN * VF_NS,
					 86400 * VF_NS) / VF_NS;
		vf_vault_lock(v);
		if (vf_catalog_meta_get(v->cat, "lock.extended", &ext) < 0)
			ext = 0;
		vf_vault_unlock(v);
		if (ext > 0)
			s->lock_horizon = ext + s->lock_period;
		/* the first pass one interval after the last one (now if
		 * none) */
		every = vf_policy_extend_every(s->lock_period * VF_NS) / VF_NS;
		if (ext > 0 && now - ext < every)
			s->next_extend = vf_clock_mono() +
					 (every - (now - ext)) * VF_NS;
	}
	snprintf(s->vfs, sizeof(s->vfs), "vaultfs-ship-%p", (void *)s);
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cv, &ca);
	pthread_cond_init(&s->done_cv, &ca);
	pthread_condattr_destroy(&ca);
	s->ckpt_path = vf_path_join(v->dir, CKPT_NAME);
	s->seg_path = vf_path_join(v->dir, SEG_NAME);
	if (!s->ckpt_path || !s->seg_path) {
		ship_free(s);
		return -ENOMEM;
	}
	rc = vf_catvfs_register(s->vfs,
				vf_keys_sub(v->keys, VF_SUBKEY_CATALOG));
	if (rc) {
		s->vfs[0] = '\0';
		ship_free(s);
		snprintf(err, errlen, "cannot set up checkpoint sealing: %s",
			 strerror(-rc));
		return rc;
	}
	vf_ship_unlink_ckpt(s);
	/* Everything since the open counts as unshipped: a kill -9 may have
	 * left commits no checkpoint holds, so the first round takes one. */
	vf_vault_lock(v);
	s->changes = 1;
	s->since_a = vf_clock_now();
	sqlite3_update_hook(v->cat->db, update_hook, s);
	{
		sqlite3_stmt *q = vf_catalog_stmt(v->cat, VF_Q_SHIP_TEXT_SET);

		rc = q ? vf_catalog_begin(v->cat) : -EIO;
		if (!rc) {
			sqlite3_bind_text(q, 1, "store.url", -1, SQLITE_STATIC);
			sqlite3_bind_text(q, 2, s->url, -1, SQLITE_STATIC);
			rc = vf_catalog_run(q);
			/* recover takes the lock period from here (the
			 * store.conf given to recover does not say) */
			if (!rc)
				rc = vf_catalog_meta_set(v->cat,
							 "store.lock_period",
							 st->lock_period_s);
			rc = vf_catalog_finish(v->cat, rc);
		}
	}
	/* what status shows until the first round has listed the store */
	{
		int64_t seq = 0, t = 0;

		if (!vf_catalog_meta_get(v->cat, "ship.seq", &seq) &&
		    !vf_catalog_meta_get(v->cat, "ship.t", &t)) {
			s->seq = (uint64_t)seq;
			s->shipped_t = t;
		}
	}
	v->ship = s;
	vf_vault_unlock(v);
	if (rc) {
		snprintf(err, errlen, "cannot record the store in the "
			 "catalog: %s", strerror(-rc));
		vf_ship_stop(v);
		return rc;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = -pthread_create(&s->thread, NULL, ship_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		snprintf(err, errlen, "cannot start the uploader: %s",
			 strerror(-rc));
		vf_ship_stop(v);
		return rc;
	}
	s->started = 1;
	/* from now on the store's Date is the vault clock's second opinion */
	__atomic_store_n(&v->clock_store, s->st, __ATOMIC_RELEASE);
	return 0;
}

int vf_ship_start(struct vf_vault *v, char *err, size_t errlen)
{
	struct vf_store_conf *conf = NULL;
	struct vf_objstore *st = NULL;
	int rc;

	rc = vf_store_conf_read(v->dir, &conf);
	if (rc == -ENOENT)
		return 0;
	if (rc) {
		snprintf(err, errlen, "%s", vf_objstore_errmsg());
		return rc;
	}
	rc = vf_objstore_open(&conf->cfg, &st);
	if (rc) {
		snprintf(err, errlen, "cannot open store '%s': %s",
			 conf->cfg.url, vf_objstore_errmsg());
		free(conf);
		return rc;
	}
	rc = vf_ship_start_store(v, st, conf->cfg.url, err, errlen);
	free(conf);
	return rc;
}

void vf_ship_stop(struct vf_vault *v)
{
	struct vf_ship *s = v->ship;
	int dirty;

	if (!s)
		return;
	if (s->started) {
		pthread_mutex_lock(&s->mu);
		s->stop = 1;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->thread, NULL);
		/* One last round for what changed since (no retry: an
		 * unreachable store must not hold up the unmount; the next
		 * mount ships it). */
		vf_vault_lock(v);
		dirty = s->changes != s->shipped_changes;
		vf_vault_unlock(v);
		if (dirty && (s->retry_at == 0 ||
			      vf_clock_mono() >= s->retry_at))
			(void)round_once(s, s->req, 1);
	}
	vf_vault_lock(v);
	sqlite3_update_hook(v->cat->db, NULL, NULL);
	v->ship = NULL;
	/* vf_vault_close stops the ship after the mount's threads are gone:
	 * nobody reads the clock through this store any more */
	__atomic_store_n(&v->clock_store, NULL, __ATOMIC_RELEASE);
	vf_vault_unlock(v);
	vf_ship_unlink_ckpt(s);
	ship_free(s);
}

int vf_ship_sync(struct vf_vault *v, int timeout_s, char *err, size_t errlen)
{
	struct vf_ship *s = v->ship;
	struct timespec dl;
	uint64_t my;
	int rc = 0;

	if (!s || !s->started) {
		snprintf(err, errlen, "vault '%s' is not shipped to a store "
			 "(not a remote vault, or not mounted read-write)",
			 v->dir);
		return -ENOTSUP;
	}
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += timeout_s;
	pthread_mutex_lock(&s->mu);
	my = ++s->req;
	pthread_cond_broadcast(&s->cv);
	while (s->done < my && !s->stop && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&s->done_cv, &s->mu, &dl);
	if (s->done >= my) {
		rc = 0;
	} else {
		snprintf(err, errlen, "store '%s' does not hold everything "
			 "after %d s: %s", s->url, timeout_s,
			 s->err[0] ? s->err : "still shipping");
		rc = -ETIMEDOUT;
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

void vf_ship_status(struct vf_vault *v, struct vf_ship_status *out)
{
	char cur[VF_PACK_NAME_LEN + 1];
	uint64_t cur_bytes = 0;
	struct vf_ship *s;
	int64_t since;

	memset(out, 0, sizeof(*out));
	vf_vault_lock(v);
	s = v->ship;
	if (!s) {
		/* Not shipping here (offline, read-only): what the vault
		 * records of its store, if it has one. */
		struct vf_store_conf *conf = NULL;
		int64_t seq = 0, t = 0;

		if (!vf_store_conf_read(v->dir, &conf)) {
			out->remote = 1;
			out->offline = 1;
			out->lag = -1;
			snprintf(out->url, sizeof(out->url), "%s",
				 conf->cfg.url);
			free(conf);
			if (!vf_catalog_meta_get(v->cat, "ship.seq", &seq) &&
			    !vf_catalog_meta_get(v->cat, "ship.t", &t)) {
				out->seq = (uint64_t)seq;
				out->shipped_t = t;
			}
		}
		vf_vault_unlock(v);
		return;
	}
	since = s->since_a;
	out->lock = s->lock;
	out->lock_horizon = s->lock_horizon;
	out->lock_period = s->lock_period;
	out->lock_every = vf_policy_extend_every(s->lock_period * VF_NS);
	if (vf_pack_writer_current(v->pw, cur)) {
		char *p = vf_ship_pack_path(v, cur);
		struct stat st;

		if (p && stat(p, &st) == 0)
			cur_bytes = (uint64_t)st.st_size;
		free(p);
	}
	pthread_mutex_lock(&s->mu);
	out->remote = 1;
	snprintf(out->url, sizeof(out->url), "%s", s->url);
	out->seq = s->seq;
	out->shipped_t = s->shipped_t;
	out->lag = since ? vf_clock_now() - since : 0;
	if (out->lag < 0)
		out->lag = 0;
	out->bytes_pending = s->bytes_pending + cur_bytes;
	out->packs_shipped = s->packs_shipped;
	out->ckpts_shipped = s->ckpts_shipped;
	out->bytes_shipped = s->bytes_shipped;
	out->ckpt_bytes = s->ckpt_bytes;
	out->segs_shipped = s->segs_shipped;
	out->seg_bytes = s->seg_bytes;
	out->ckpt_ms = s->ckpt_ms;
	snprintf(out->last_err, sizeof(out->last_err), "%s", s->err);
	pthread_mutex_unlock(&s->mu);
	vf_vault_unlock(v);
}
