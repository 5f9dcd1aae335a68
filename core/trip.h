/*
 * trip.h - the ransomware tripwire (docs/tripwire.md): cheap signals from
 * the write path, counted per uid in a sliding window, scored by
 * policy.c (vf_policy_tripwire); when a window fires, the tripwire marks
 * a snapshot point "tripwire-<time>" from just before the burst, freezes
 * purges, prune and gc (catalog meta "trip.frozen", read back at every
 * open) and raises a critical alert.  Only `vaultctl tripwire release`
 * (admin.c, critical) lifts the freeze.
 *
 * Signals:
 *   - a write session that replaced content of low entropy by content of
 *     high entropy that carries no known compressed format's magic
 *     (hi_over), or made a new file of such content (hi_new);
 *   - a rename that gave a file another extension (ext_ren);
 *   - a deleted file (deletes).
 * Entropy is a byte histogram over the first VF_TRIP_SAMPLE bytes a
 * session writes; the replaced content's is sampled once per session,
 * from its first VF_TRIP_SAMPLE bytes, when the session begins (one
 * chunk read, usually from the cache: a program rewriting a file has
 * just read it).
 *
 * Memory is fixed: VF_TRIP_UIDS windows (the least recently active uid
 * gives its slot up) and one sample per open file.
 *
 * Threads: the sample functions with f->mu held; vf_trip_note and
 * vf_trip_renamed with no lock held (they take the tripwire's own lock,
 * then v->mu to fire); the store functions with v->mu held, inside the
 * gate's transaction; vf_trip_load with v->mu held.
 */
#ifndef VF_TRIP_H
#define VF_TRIP_H

#include "vault_int.h"

#define VF_TRIP_UIDS 16
#define VF_TRIP_BUCKETS 6
#define VF_TRIP_BUCKET_NS (10 * VF_NS) /* the window: 6 x 10 s */
#define VF_TRIP_MIN_SAMPLE 256         /* fewer bytes say nothing */

enum vf_trip_ev {
	VF_TRIP_EV_NONE,
	VF_TRIP_EV_HI_OVER,
	VF_TRIP_EV_HI_NEW,
	VF_TRIP_EV_DELETE,
	VF_TRIP_EV_EXT_REN,
};

/* Makes the tripwire's state and loads its settings and freeze from the
 * catalog (after it is open).  -ENOMEM, -EIO. */
VF_MUST int vf_trip_open(struct vf_vault *v);
void vf_trip_close(struct vf_vault *v);
/* Reads the settings, exemptions and freeze from the catalog into memory
 * (after a change committed); v->mu held. */
VF_MUST int vf_trip_load(struct vf_vault *v);

/* ---- sampling (f->mu held) ---------------------------------------------- */

/* Begins the session's sample unless begun: its time, and what the
 * content it may replace (f's committed content) looks like.  Call
 * before the first change: a write, or O_TRUNC's truncation. */
void vf_trip_begin(struct vf_vault *v, struct vf_file *f);
/* Counts what a write of size bytes at off brings to the sample. */
void vf_trip_feed(struct vf_file *f, uint64_t off, const void *buf,
		  size_t size);
/* The session committed: what it was (hi_over, hi_new or none); *t0 its
 * start.  Resets the sample. */
enum vf_trip_ev vf_trip_end(struct vf_file *f, int64_t *t0);

/* ---- events (no lock held) ------------------------------------------------ */

/* Counts ev by uid at t0 (its start; 0: now); fires when the window's
 * score crosses the threshold and the tripwire has not fired yet. */
void vf_trip_note(struct vf_vault *v, uint32_t uid, enum vf_trip_ev ev,
		  int64_t t0);
/* A rename from one name to another by uid: counted when it changed the
 * extension (vf_trip_ext_changed) to one not exempted. */
void vf_trip_renamed(struct vf_vault *v, uint32_t uid, const char *from,
		     const char *to);

/* ---- pure helpers (unit tests) ------------------------------------------ */

/* Entropy of a byte histogram of n bytes, in milli-bits per byte. */
uint32_t vf_trip_entropy(const uint16_t hist[256], uint32_t n);
/* 1 when ent (milli-bits) over n bytes looks random: within 0.4 bit of
 * what random bytes give for that sample size; 0 below
 * VF_TRIP_MIN_SAMPLE bytes. */
int vf_trip_high(uint32_t ent, uint32_t n);
/* 1 when the first n bytes at offset 0 are the magic of a compressed or
 * already-packed format (zip, gzip, zstd, xz, bzip2, 7z, rar, lz4, jpeg,
 * png, gif, webp/riff, mp4/mov, mkv/webm, ogg, flac, mp3, pdf). */
int vf_trip_packed_magic(const uint8_t *head, size_t n);
/* 1 when renaming from to to gives a file a new, non-empty extension
 * (ext gets it, at most VF_TRIP_EXT_MAX bytes, lower case) that it did
 * not have, and from is not a temporary name of to (it does not contain
 * it: rsync's ".name.abc123", an editor's "name~"); else 0. */
int vf_trip_ext_changed(const char *from, const char *to,
			char ext[VF_TRIP_EXT_MAX + 1]);

/* ---- settings (v->mu held, in the gate's transaction) -------------------- */

VF_MUST int vf_trip_status(struct vf_vault *v, int64_t now,
			   struct vf_trip_status *out);
VF_MUST int vf_trip_settings_store(struct vf_vault *v,
				   const struct vf_trip_settings *s);
/* Clears the freeze in the catalog; vf_trip_load then lifts it and
 * starts every window afresh. */
VF_MUST int vf_trip_release_store(struct vf_vault *v);
/* Stores exemption e (replacing the one of the same uid or extension,
 * else a free or expired slot; -ENOSPC when VF_TRIP_EXEMPT_MAX are in
 * force). */
VF_MUST int vf_trip_exempt_store(struct vf_vault *v,
				 const struct vf_trip_exempt *e, int64_t now);

#endif
