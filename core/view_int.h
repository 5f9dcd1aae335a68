/*
 * view_int.h - private to the history views' files (view.c: catalog
 * reads, attributes, names, lookup, listings and files; view_points.c:
 * the slot table and the snapshot points): the table and the helpers
 * both use.
 */
#ifndef VF_VIEW_INT_H
#define VF_VIEW_INT_H

#include <pthread.h>
#include <stdint.h>

#include "view.h"

#define SLOT_MASK ((1ULL << (VF_VIEW_SHIFT - VF_VIEW_SLOT_SHIFT)) - 1)
#define HOUR (3600 * VF_NS)
#define DAY (24 * HOUR)
#define TAG_MAX VF_SNAP_TAG_MAX

/* The slot table: each second a view was asked about gets a slot, its
 * number in the view's inode numbers (view.h). */
struct vf_views {
	/* its own lock, not v->mu: fs/ asks vf_view_stable from inside
	 * readdir callbacks, while v->mu is held */
	pthread_mutex_t mu;
	int64_t *secs; /* slot -> second (ns, whole) */
	uint32_t *tab; /* open addressing: slot + 1, 0 empty */
	size_t n, cap, tab_cap;
};

/* The slot of second sec, taken when it has none (takes vw->mu). */
int vf_view_slot_of(struct vf_views *vw, int64_t sec, uint32_t *slot);

/* The slot a snapshot inode number carries (view.h). */
uint32_t vf_view_ino_slot(uint64_t ino);

/* The second of a slot. */
int vf_view_slot_time(struct vf_views *vw, uint32_t slot, int64_t *sec);

/* The second of the slot of snapshot inode ino. */
int vf_view_slot_sec(struct vf_views *vw, uint64_t ino, int64_t *sec);

/* t rounded down to its whole second (ns). */
int64_t vf_view_floor_sec(int64_t t);

/* The end of second sec: a view shows what was committed before it. */
int64_t vf_view_sec_end(int64_t sec);

/* Merges explicit points (snaps, by time) with the automatic ones; an
 * automatic point at the second of an explicit one is not repeated.
 * Both statements stay live while cb runs; cb must not use them. */
int vf_view_list_points_locked(struct vf_vault *v, int64_t now, vf_snap_cb cb,
			       void *arg);

#endif
