/*
 * store_gc.c - remote gc: deletes from a remote vault's object store what
 * no recovery point within the history window needs, once the store's
 * Object Lock lets it (docs/remote-store.md, "Remote gc").
 *
 * What is needed, at decision time now (the earlier of the vault clock
 * and the store's, vf_policy_decide_time with GC_TOL):
 *   - hdr, and every key that is not c/<seq>... or p/<name> (not ours to
 *     judge: left alone);
 *   - every c/<seq> and c/<seq>.<suffix> (time objects, segments) with
 *     seq >= the floor: the newest full checkpoint stamped at or before
 *     now - W (W: vf_policy_store_window), so that `recover --at` works
 *     for any time within W;
 *   - every pack the catalog names, and every pack some needed checkpoint
 *     may reference: local gc records when it drops a pack (store_gone,
 *     catalog format 6), and a checkpoint copied after the drop cannot
 *     reference it, so a pack dropped before the floor's stamp is not
 *     needed (vf_policy_pack_needed).  A pack neither named nor recorded
 *     is kept.
 * No old checkpoint is downloaded: only the 48-byte time objects of full
 * checkpoints from the last floor on, up to the first one past now - W
 * (stamps grow with the sequence number).
 *
 * Acting on an unneeded object: its retention (the version reads use)
 * decides (vf_policy_objlock): still locked is "waiting"; otherwise every
 * version of the key is deleted.  A delete the store refuses (AccessDenied)
 * is "waiting" too, never an error.  The floor found is kept in meta
 * ("rgc.floor", "rgc.floor_t"; it only grows): the uploader stops renewing
 * the locks of what is below it (ship.c, extend_locks), and the next run
 * starts its walk there.
 *
 * Memory: the store is listed page by page (its backend holds one page);
 * one key at a time here.  Threads: any thread, v->mu not held; two runs
 * at once are harmless (deletes of a deleted key succeed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog.h"
#include "remote.h"
#include "ship.h"
#include "vault_int.h"

/* The store's Date has one-second resolution: decisions may be this much
 * past it, no more (a host clock ahead frees nothing early). */
#define GC_TOL (2 * VF_NS)

struct sgc {
	struct vf_vault *v;
	struct vf_objstore *st;
	struct vf_store_gc_stats *out;
	int64_t now;      /* decision time, ns */
	int64_t cutoff;   /* now - W */
	int64_t period;   /* lock period, ns */
	int64_t floor;    /* as seq; 0: none */
	int64_t floor_t;  /* its stamp */
	int64_t saved;    /* meta rgc.floor at the start */
};

/* ---- what is needed --------------------------------------------------- */

/* The floor walk over c/, in key (so sequence) order: full checkpoints
 * from the saved floor on, their stamps from their time objects. */
static int floor_cb(void *arg, const struct vf_objinfo *o)
{
	struct sgc *g = arg;
	uint64_t seq;
	int64_t t = 0;
	int full, rc;

	if (vf_ship_key_seq(o->key, &seq, &full) || !full ||
	    (int64_t)seq < g->saved)
		return 0;
	if ((int64_t)seq == g->saved)
		return 0; /* the saved floor: its stamp is known */
	rc = vf_remote_ckpt_time(g->st,
				 vf_keys_sub(g->v->keys, VF_SUBKEY_ANCHOR),
				 seq, &t);
	if (rc && rc != -ENOENT && rc != -EBADMSG && rc != -EFBIG)
		return rc;
	switch (vf_policy_ckpt_step(g->cutoff, 1, rc == 0, t)) {
	case VF_CKPT_FLOOR:
		g->floor = (int64_t)seq;
		g->floor_t = t;
		return 0;
	case VF_CKPT_STOP:
		return 1;
	case VF_CKPT_SKIP:
		break;
	}
	return 0;
}

static int find_floor(struct sgc *g)
{
	struct vf_vault *v = g->v;
	int64_t saved_t = 0;
	int rc;

	vf_vault_lock(v);
	if (vf_catalog_meta_get(v->cat, "rgc.floor", &g->saved) < 0 ||
	    vf_catalog_meta_get(v->cat, "rgc.floor_t", &saved_t) < 0)
		g->saved = saved_t = 0;
	vf_vault_unlock(v);
	g->floor = g->saved;
	g->floor_t = saved_t;
	rc = g->st->ops->list(g->st, VF_SHIP_CKPT_PREFIX, floor_cb, g);
	if (rc < 0)
		return rc;
	if (g->floor <= g->saved)
		return 0;
	vf_vault_lock(v);
	rc = vf_catalog_begin(v->cat);
	if (!rc) {
		rc = vf_catalog_meta_set(v->cat, "rgc.floor", g->floor);
		if (!rc)
			rc = vf_catalog_meta_set(v->cat, "rgc.floor_t",
						 g->floor_t);
		rc = vf_catalog_finish(v->cat, rc);
	}
	vf_vault_unlock(v);
	if (rc)
		vf_objstore_set_err("cannot record the oldest needed checkpoint: %s",
				    strerror(-rc));
	return rc;
}

/* 1 when pack name is still needed, 0 when not, or -errno. */
static int pack_needed(struct sgc *g, const char *name)
{
	struct vf_vault *v = g->v;
	sqlite3_stmt *q;
	int64_t at = 0;
	int live, gone = 0;

	vf_vault_lock(v);
	q = vf_catalog_stmt(v->cat, VF_Q_SHIP_PACK_ID);
	live = q ? 0 : -EIO;
	if (q) {
		sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
		live = vf_catalog_row(q);
		sqlite3_reset(q);
	}
	q = live == 0 ? vf_catalog_stmt(v->cat, VF_Q_STORE_GONE_GET) : NULL;
	if (live == 0) {
		gone = q ? 0 : -EIO;
		if (q) {
			sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
			gone = vf_catalog_row(q);
			if (gone == 1)
				at = sqlite3_column_int64(q, 0);
			sqlite3_reset(q);
		}
	}
	vf_vault_unlock(v);
	if (live < 0 || gone < 0)
		return live < 0 ? live : gone;
	return vf_policy_pack_needed(live, gone, at, g->floor_t);
}

/* ---- acting ------------------------------------------------------------ */

static void forget_pack(struct sgc *g, const char *name)
{
	struct vf_vault *v = g->v;
	sqlite3_stmt *q;
	int rc;

	vf_vault_lock(v);
	q = vf_catalog_stmt(v->cat, VF_Q_STORE_GONE_DEL);
	rc = q ? vf_catalog_begin(v->cat) : -EIO;
	if (!rc) {
		sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
		rc = vf_catalog_finish(v->cat, vf_catalog_run(q));
	}
	vf_vault_unlock(v);
	/* a row left behind only costs a row: the pack is not listed again */
	(void)rc;
}

/* An unneeded object: wait for its lock, or delete every version. */
static int unneeded(struct sgc *g, const struct vf_objinfo *o, int pack)
{
	struct vf_objstore *st = g->st;
	uint64_t *waiting = pack ? &g->out->packs_waiting :
				   &g->out->ckpts_waiting;
	int64_t until_s = 0, ignored;
	int rc = 0;

	if (!st->no_lock && st->ops->get_retention)
		rc = st->ops->get_retention(st, o->key, &until_s);
	if (rc == -ENOENT)
		return 0; /* gone since the listing */
	if (rc)
		return rc;
	if (vf_policy_objlock(g->now, until_s * VF_NS, 0, g->period,
			      g->period / 3, &ignored) == VF_OBJLOCK_WAIT) {
		(*waiting)++;
		if (!g->out->next_unlock || until_s < g->out->next_unlock)
			g->out->next_unlock = until_s;
		return 0;
	}
	rc = st->ops->remove_versions ? st->ops->remove_versions(st, o->key) :
					st->ops->remove(st, o->key);
	if (rc == -EACCES) {
		/* the store's clock or a later version says "not yet" */
		(*waiting)++;
		g->out->refused++;
		return 0;
	}
	if (rc)
		return rc;
	if (pack) {
		g->out->packs_deleted++;
		forget_pack(g, o->key + strlen(VF_SHIP_PACK_PREFIX));
	} else {
		g->out->ckpts_deleted++;
	}
	g->out->bytes_deleted += o->size;
	return 0;
}

static int ckpt_cb(void *arg, const struct vf_objinfo *o)
{
	struct sgc *g = arg;
	uint64_t seq;
	int full;

	if (vf_ship_key_seq(o->key, &seq, &full))
		return 0; /* not ours to judge */
	if (vf_policy_ckpt_needed(seq, (uint64_t)g->floor))
		return 1; /* this and every later key: needed */
	return unneeded(g, o, 0);
}

static int pack_cb(void *arg, const struct vf_objinfo *o)
{
	struct sgc *g = arg;
	const char *name = o->key + strlen(VF_SHIP_PACK_PREFIX);
	int rc;

	if (strlen(name) != VF_PACK_NAME_LEN)
		return 0; /* not a pack name: not ours to judge */
	rc = pack_needed(g, name);
	if (rc < 0)
		return rc;
	if (rc) {
		g->out->kept++;
		return 0;
	}
	return unneeded(g, o, 1);
}

/* The lock period the uploader uses (ship.c), ns. */
static int64_t lock_period(const struct vf_objstore *st, unsigned days)
{
	if (st->lock_period_s)
		return st->lock_period_s * VF_NS;
	return vf_policy_lock_period(days, VF_SHIP_LOCK_MARGIN * VF_NS,
				     86400 * VF_NS);
}

int vf_vault_store_gc(struct vf_vault *v, struct vf_store_gc_stats *out,
		      char *err, size_t errlen)
{
	struct vf_store_conf *conf = NULL;
	struct vf_store_gc_stats stats;
	struct vf_softdelete sd;
	struct sgc g;
	uint64_t size;
	int64_t store_now = 0;
	int rc, d;

	memset(&stats, 0, sizeof(stats));
	memset(&g, 0, sizeof(g));
	rc = vf_store_conf_read(v->dir, &conf);
	free(conf);
	if (rc == -ENOENT) {
		*out = stats; /* a local vault */
		return 0;
	}
	if (rc || !v->store) {
		snprintf(err, errlen, "cannot open the store of vault '%s'%s%s",
			 v->dir, rc ? ": " : "", rc ? vf_objstore_errmsg() : "");
		return rc ? rc : -EIO;
	}
	stats.remote = 1;
	g.v = v;
	g.st = v->store;
	g.out = &stats;
	rc = vf_vault_softdelete_get(v, &sd);
	if (rc) {
		snprintf(err, errlen, "cannot read the soft-delete retention: %s",
			 strerror(-rc));
		return rc;
	}
	g.period = lock_period(g.st, sd.days);
	stats.window = vf_policy_store_window(sd.days, g.period);
	vf_objstore_set_err("%s", "");
	/* one request first: the store answers (or not), and its Date is
	 * the second opinion of every decision below */
	rc = g.st->ops->head(g.st, VF_SHIP_HDR_KEY, &size);
	if (!rc && (!g.st->ops->store_time ||
		    g.st->ops->store_time(g.st, &store_now)))
		store_now = 0;
	g.now = vf_policy_decide_time(vf_vault_now(v), store_now, GC_TOL, &d);
	g.cutoff = g.now - stats.window;
	if (!rc)
		rc = find_floor(&g);
	stats.floor = (uint64_t)g.floor;
	if (!rc) {
		rc = g.st->ops->list(g.st, VF_SHIP_CKPT_PREFIX, ckpt_cb, &g);
		rc = rc > 0 ? 0 : rc;
	}
	if (!rc)
		rc = g.st->ops->list(g.st, VF_SHIP_PACK_PREFIX, pack_cb, &g);
	if (rc) {
		snprintf(err, errlen, "store gc of '%s' failed: %s", v->dir,
			 vf_objstore_errmsg()[0] ? vf_objstore_errmsg() :
						   strerror(-rc));
		return rc;
	}
	*out = stats;
	return 0;
}
