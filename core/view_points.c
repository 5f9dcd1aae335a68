/*
 * view_points.c - the times the views show: the slot table that gives
 * each second a view is asked about its inode slot, and the snapshot
 * points, explicit (vf_view_mark, vf_vault_snapshot) and listed in
 * .snapshots (vf_vault_snapshots).  The inode scheme is in view.h; the
 * views themselves in view.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ns.h"
#include "vclock.h"
#include "view.h"
#include "view_int.h"

/* ---- slots (v->mu held) ----------------------------------------------- */

int vf_views_new(struct vf_views **out)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	pthread_mutex_init(&(*out)->mu, NULL);
	return 0;
}

void vf_views_free(struct vf_views *vw)
{
	if (!vw)
		return;
	pthread_mutex_destroy(&vw->mu);
	free(vw->secs);
	free(vw->tab);
	free(vw);
}

static size_t sec_hash(int64_t sec, size_t cap)
{
	uint64_t h = (uint64_t)sec * 0x9E3779B97F4A7C15ULL;

	return (size_t)(h >> 17) & (cap - 1);
}

static int tab_grow(struct vf_views *vw)
{
	size_t cap = vw->tab_cap ? vw->tab_cap * 2 : 64, i, j;
	uint32_t *tab = calloc(cap, sizeof(*tab));

	if (!tab)
		return -ENOMEM;
	for (i = 0; i < vw->n; i++) {
		j = sec_hash(vw->secs[i], cap);
		while (tab[j])
			j = (j + 1) & (cap - 1);
		tab[j] = (uint32_t)i + 1;
	}
	free(vw->tab);
	vw->tab = tab;
	vw->tab_cap = cap;
	return 0;
}

/* The slot of second sec, registering it if new (vw->mu held). */
static int slot_find_add(struct vf_views *vw, int64_t sec, uint32_t *slot)
{
	size_t j;
	int rc;

	if (vw->tab_cap) {
		for (j = sec_hash(sec, vw->tab_cap); vw->tab[j];
		     j = (j + 1) & (vw->tab_cap - 1))
			if (vw->secs[vw->tab[j] - 1] == sec) {
				*slot = vw->tab[j] - 1;
				return 0;
			}
	}
	if (vw->n >= VF_VIEW_SLOTS)
		return -ENFILE; /* a million distinct seconds since mount */
	if (vw->n == vw->cap) {
		size_t cap = vw->cap ? vw->cap * 2 : 32;
		int64_t *s = realloc(vw->secs, cap * sizeof(*s));

		if (!s)
			return -ENOMEM;
		vw->secs = s;
		vw->cap = cap;
	}
	if (2 * (vw->n + 1) > vw->tab_cap) {
		rc = tab_grow(vw);
		if (rc)
			return rc;
	}
	vw->secs[vw->n] = sec;
	j = sec_hash(sec, vw->tab_cap);
	while (vw->tab[j])
		j = (j + 1) & (vw->tab_cap - 1);
	vw->tab[j] = (uint32_t)vw->n + 1;
	*slot = (uint32_t)vw->n++;
	return 0;
}

int vf_view_slot_of(struct vf_views *vw, int64_t sec, uint32_t *slot)
{
	int rc;

	pthread_mutex_lock(&vw->mu);
	rc = slot_find_add(vw, sec, slot);
	pthread_mutex_unlock(&vw->mu);
	return rc;
}

uint32_t vf_view_ino_slot(uint64_t ino)
{
	return (uint32_t)((ino >> VF_VIEW_SLOT_SHIFT) & SLOT_MASK);
}

/* The second of a slot. */
int vf_view_slot_time(struct vf_views *vw, uint32_t slot, int64_t *sec)
{
	int rc = -ENOENT;

	pthread_mutex_lock(&vw->mu);
	if (slot < vw->n) {
		*sec = vw->secs[slot];
		rc = 0;
	}
	pthread_mutex_unlock(&vw->mu);
	return rc;
}

int vf_view_slot_sec(struct vf_views *vw, uint64_t ino, int64_t *sec)
{
	return vf_view_slot_time(vw, vf_view_ino_slot(ino), sec);
}

int64_t vf_view_floor_sec(int64_t t)
{
	return t - ((t % VF_NS) + VF_NS) % VF_NS;
}

/* The end of second sec: a view shows what was committed before it. */
int64_t vf_view_sec_end(int64_t sec)
{
	return sec + VF_NS;
}

/* ---- snapshot points ----------------------------------------------------- */

static int tag_valid(const char *tag)
{
	size_t i;

	if (!tag)
		return 1;
	if (!*tag || strlen(tag) > TAG_MAX)
		return 0;
	for (i = 0; tag[i]; i++)
		if ((unsigned char)tag[i] < 0x20 || tag[i] == 0x7f)
			return 0;
	return 1;
}

int vf_view_mark(struct vf_vault *v, const char *tag, int64_t t)
{
	sqlite3_stmt *st;

	if (!tag_valid(tag))
		return -EINVAL;
	st = vf_catalog_stmt(v->cat, VF_Q_SNAP_INSERT);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, vf_view_floor_sec(t));
	if (tag)
		sqlite3_bind_text(st, 2, tag, -1, SQLITE_STATIC);
	return vf_catalog_run(st);
}

int vf_vault_snapshot(struct vf_vault *v, const char *tag, int64_t *t)
{
	int rc;

	if (!tag_valid(tag))
		return -EINVAL;
	if (v->readonly)
		return -EROFS;
	*t = vf_view_floor_sec(vf_vault_stamp(v));
	vf_vault_lock(v);
	rc = vf_catalog_begin(v->cat);
	if (!rc)
		rc = vf_catalog_finish(v->cat, vf_view_mark(v, tag, *t));
	vf_vault_unlock(v);
	return rc;
}

/* Automatic points, oldest first, from the activity table (rows by
 * hour): each hour of the last day that saw a change gives the second of
 * its last change; each earlier day gives the second of its last change. */
struct autopoints {
	sqlite3_stmt *st;
	int64_t now, recent;
	int64_t day, last; /* the day being gathered (have_day) */
	int have_day, done;
	int64_t pend;      /* a recent hour read while closing a day */
	int have_pend;
};

static int auto_next(struct autopoints *it, int64_t *out)
{
	int64_t hour, t, d;
	int rc;

	if (it->have_pend) {
		it->have_pend = 0;
		*out = it->pend;
		return 1;
	}
	while (!it->done) {
		rc = vf_catalog_row(it->st);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			it->done = 1;
			break;
		}
		hour = sqlite3_column_int64(it->st, 0);
		t = vf_view_floor_sec(sqlite3_column_int64(it->st, 1));
		if (t >= it->now - VF_NS)
			continue; /* not history yet */
		if (hour * HOUR >= it->recent) {
			if (!it->have_day) {
				*out = t;
				return 1;
			}
			it->have_day = 0;
			it->pend = t;
			it->have_pend = 1;
			*out = it->last;
			return 1;
		}
		d = hour / 24;
		if (it->have_day && d != it->day) {
			*out = it->last;
			it->day = d;
			it->last = t;
			return 1;
		}
		it->have_day = 1;
		it->day = d;
		it->last = t;
	}
	if (it->have_day) {
		it->have_day = 0;
		*out = it->last;
		return 1;
	}
	return 0;
}

/* Merges explicit points (snaps, by time) with the automatic ones; an
 * automatic point at the second of an explicit one is not repeated.  Both
 * statements stay live while cb runs; cb must not use them. */
int vf_view_list_points_locked(struct vf_vault *v, int64_t now,
			       vf_snap_cb cb, void *arg)
{
	struct autopoints it = { .now = now, .recent = now - DAY };
	sqlite3_stmt *ex = vf_catalog_stmt(v->cat, VF_Q_SNAPS_LIST);
	int64_t et = 0, at = 0;
	char tag[TAG_MAX + 1];
	int erc, arc;

	it.st = vf_catalog_stmt(v->cat, VF_Q_ACTIVITY_LIST);
	if (!ex || !it.st)
		return -EIO;
	erc = vf_catalog_row(ex);
	arc = auto_next(&it, &at);
	while (erc == 1 || arc == 1) {
		if (erc < 0 || arc < 0)
			break;
		if (erc == 1)
			et = sqlite3_column_int64(ex, 0);
		if (erc == 1 && (arc != 1 || et <= at)) {
			const unsigned char *s = sqlite3_column_text(ex, 1);

			if (s)
				snprintf(tag, sizeof(tag), "%s", s);
			if (arc == 1 && et == at)
				arc = auto_next(&it, &at);
			if (et < now - VF_NS && cb(arg, et, s ? tag : NULL))
				break;
			erc = vf_catalog_row(ex);
		} else {
			if (cb(arg, at, NULL))
				break;
			arc = auto_next(&it, &at);
		}
	}
	sqlite3_reset(ex);
	sqlite3_reset(it.st);
	return erc < 0 ? erc : arc < 0 ? arc : 0;
}

int vf_vault_snapshots(struct vf_vault *v, int64_t now, vf_snap_cb cb,
		       void *arg)
{
	int rc;

	vf_vault_lock(v);
	rc = vf_view_list_points_locked(v, now, cb, arg);
	vf_vault_unlock(v);
	return rc;
}
