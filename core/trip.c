/*
 * trip.c - the ransomware tripwire (trip.h has the contract).
 *
 * Catalog meta keys (all integers, in the sealed catalog: whoever can
 * write the vault directory without the key cannot change them):
 *   trip.sens         the sensitivity (enum vf_trip_sens; none: medium)
 *   trip.learn        learning until this time (ns; 0 or none: not)
 *   trip.peak         the highest score seen while learning
 *   trip.frozen       when it fired and froze purges (0 or none: not)
 *   trip.snap         the snapshot point it marked (the last firing)
 *   trip.uid, trip.score   whose writes fired it, and the score
 *   trip.fp<i>.kind   exemption i: 1 a uid, 2 an extension (0: none)
 *   trip.fp<i>.id     the uid, or the extension's bytes (at most 8,
 *                     little-endian in the integer, zero-padded)
 *   trip.fp<i>.until  in force until this time (ns)
 *
 * Invariant: once fired, it does not fire again, and v->trip_frozen stays
 * set, until vaultctl tripwire release cleared trip.frozen (admin.c).
 * The freeze is set in memory before the catalog is written: purges stop
 * at once even if writing the catalog fails.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "audit.h"
#include "file.h"
#include "trip.h"
#include "vclock.h"
#include "view.h"

enum { OLD_NONE, OLD_LOW, OLD_PACKED };
enum { FP_NONE, FP_UID, FP_EXT };

/* One uid's window: VF_TRIP_BUCKETS buckets of VF_TRIP_BUCKET_NS. */
struct uwin {
	uint32_t uid;
	int used;
	int64_t last;                       /* last event: the LRU order */
	int64_t bucket[VF_TRIP_BUCKETS];    /* the bucket number held */
	int64_t first[VF_TRIP_BUCKETS];     /* earliest content event (0) */
	struct vf_trip_counts c[VF_TRIP_BUCKETS];
};

struct vf_trip {
	pthread_mutex_t mu;
	struct vf_trip_settings s;
	int fired;
	uint32_t high; /* the highest score a window reached (status) */
	struct uwin w[VF_TRIP_UIDS];
	struct vf_trip_exempt ex[VF_TRIP_EXEMPT_MAX];
};

/* ---- pure helpers ----------------------------------------------------- */

uint32_t vf_trip_entropy(const uint16_t hist[256], uint32_t n)
{
	double h = 0, p;
	int i;

	if (!n)
		return 0;
	for (i = 0; i < 256; i++) {
		if (!hist[i])
			continue;
		p = (double)hist[i] / n;
		h -= p * log2(p);
	}
	return (uint32_t)(h * 1000 + 0.5);
}

int vf_trip_high(uint32_t ent, uint32_t n)
{
	/* random bytes: 8 bits less the estimator's bias (Miller-Madow) */
	double expect;

	if (n < VF_TRIP_MIN_SAMPLE)
		return 0;
	expect = 8.0 - 255.0 / (2.0 * n * M_LN2);
	return ent >= (uint32_t)((expect - 0.4) * 1000);
}

int vf_trip_packed_magic(const uint8_t *h, size_t n)
{
	static const struct {
		size_t off, len;
		const char *m;
	} magic[] = {
		{ 0, 4, "PK\x03\x04" },          /* zip, docx, jar, apk */
		{ 0, 2, "\x1f\x8b" },            /* gzip */
		{ 0, 4, "\x28\xb5\x2f\xfd" },    /* zstd */
		{ 0, 6, "\xfd" "7zXZ\x00" },     /* xz */
		{ 0, 3, "BZh" },                 /* bzip2 */
		{ 0, 6, "7z\xbc\xaf\x27\x1c" },  /* 7z */
		{ 0, 4, "Rar!" },                /* rar */
		{ 0, 4, "\x04\x22\x4d\x18" },    /* lz4 */
		{ 0, 3, "\xff\xd8\xff" },        /* jpeg */
		{ 0, 4, "\x89PNG" },             /* png */
		{ 0, 4, "GIF8" },                /* gif */
		{ 0, 4, "RIFF" },                /* webp, wav, avi */
		{ 4, 4, "ftyp" },                /* mp4, mov, heic */
		{ 0, 4, "\x1a\x45\xdf\xa3" },    /* mkv, webm */
		{ 0, 4, "OggS" },                /* ogg */
		{ 0, 4, "fLaC" },                /* flac */
		{ 0, 3, "ID3" },                 /* mp3 */
		{ 0, 2, "\xff\xfb" },            /* mp3 frame */
		{ 0, 4, "%PDF" },                /* pdf */
		{ 0, 4, "PACK" },                /* git pack */
		{ 0, 2, "\x78\x01" },            /* zlib (git objects) */
		{ 0, 2, "\x78\x5e" },
		{ 0, 2, "\x78\x9c" },
		{ 0, 2, "\x78\xda" },
	};
	size_t i;

	for (i = 0; i < VF_ARRAY_LEN(magic); i++)
		if (n >= magic[i].off + magic[i].len &&
		    !memcmp(h + magic[i].off, magic[i].m, magic[i].len))
			return 1;
	return 0;
}

/* The extension of name: after its last dot, unless that dot starts the
 * name or ends it; NULL when none. */
static const char *ext_of(const char *name)
{
	const char *d = strrchr(name, '.');

	return d && d != name && d[1] ? d + 1 : NULL;
}

int vf_trip_ext_changed(const char *from, const char *to,
			char ext[VF_TRIP_EXT_MAX + 1])
{
	const char *ne = ext_of(to), *oe = ext_of(from);
	size_t i;

	if (!ne || (oe && !strcasecmp(oe, ne)) || strstr(from, to))
		return 0;
	for (i = 0; i < VF_TRIP_EXT_MAX && ne[i]; i++)
		ext[i] = (char)tolower((unsigned char)ne[i]);
	ext[i] = '\0';
	return 1;
}

/* ---- sampling (f->mu held) ---------------------------------------------- */

static void count(struct vf_trip_sample *s, const uint8_t *p, size_t size)
{
	size_t i, take = VF_TRIP_SAMPLE - s->n;

	if (take > size)
		take = size;
	for (i = 0; i < take; i++)
		s->hist[p[i]]++;
	s->n = (uint16_t)(s->n + take);
}

static int packed(const struct vf_trip_sample *s)
{
	return vf_trip_high(vf_trip_entropy(s->hist, s->n), s->n) ||
	       vf_trip_packed_magic(s->head, s->nhead);
}

void vf_trip_begin(struct vf_vault *v, struct vf_file *f)
{
	struct vf_trip_sample *s = &f->trip;
	uint8_t buf[VF_TRIP_SAMPLE];
	ssize_t got;

	if (s->t0)
		return;
	memset(s, 0, sizeof(*s));
	s->t0 = vf_vault_stamp(v);
	if (!s->t0)
		s->t0 = 1;
	if (!f->version || !f->size)
		return; /* OLD_NONE */
	/* The replaced content, sampled as the new one will be; one chunk
	 * read (a rewriting program has usually just read it: cached).  A
	 * failed read counts as packed: it proves nothing. */
	got = vf_file_read(v, f, 0, buf, sizeof(buf));
	s->old = OLD_PACKED;
	if (got > 0) {
		count(s, buf, (size_t)got);
		s->nhead = (uint8_t)(got < VF_TRIP_HEAD ? got : VF_TRIP_HEAD);
		memcpy(s->head, buf, s->nhead);
		s->old = packed(s) ? OLD_PACKED : OLD_LOW;
	}
	memset(s->hist, 0, sizeof(s->hist));
	s->n = 0;
	s->nhead = 0;
}

void vf_trip_feed(struct vf_file *f, uint64_t off, const void *buf,
		  size_t size)
{
	struct vf_trip_sample *s = &f->trip;
	size_t end;

	if (!s->t0)
		return;
	if (s->n < VF_TRIP_SAMPLE)
		count(s, buf, size);
	if (off < VF_TRIP_HEAD) {
		end = off + size < VF_TRIP_HEAD ? (size_t)off + size :
						  VF_TRIP_HEAD;
		memcpy(s->head + off, buf, end - (size_t)off);
		if (end > s->nhead)
			s->nhead = (uint8_t)end;
	}
}

enum vf_trip_ev vf_trip_end(struct vf_file *f, int64_t *t0)
{
	struct vf_trip_sample *s = &f->trip;
	enum vf_trip_ev ev = VF_TRIP_EV_NONE;

	*t0 = s->t0;
	if (s->t0 && vf_trip_high(vf_trip_entropy(s->hist, s->n), s->n) &&
	    !vf_trip_packed_magic(s->head, s->nhead)) {
		if (s->old == OLD_LOW)
			ev = VF_TRIP_EV_HI_OVER;
		else if (s->old == OLD_NONE)
			ev = VF_TRIP_EV_HI_NEW;
	}
	memset(s, 0, sizeof(*s));
	return ev;
}

/* ---- settings in the catalog (v->mu held) --------------------------------- */

static int64_t meta_or(struct vf_vault *v, const char *k, int64_t dflt,
		       int *rc)
{
	int64_t x;
	int r = vf_catalog_meta_get(v->cat, k, &x);

	if (r == -ENOENT)
		return dflt;
	if (r < 0) {
		*rc = r;
		return dflt;
	}
	return x;
}

static void fp_key(char *k, size_t cap, size_t i, const char *field)
{
	snprintf(k, cap, "trip.fp%zu.%s", i, field);
}

static int64_t ext_pack(const char *ext)
{
	uint8_t b[8] = { 0 };
	uint64_t x = 0;
	int i;

	memcpy(b, ext, strnlen(ext, 8));
	for (i = 7; i >= 0; i--)
		x = x << 8 | b[i];
	return (int64_t)x;
}

static void ext_unpack(int64_t id, char ext[VF_TRIP_EXT_MAX + 1])
{
	uint64_t x = (uint64_t)id;
	int i;

	for (i = 0; i < 8; i++, x >>= 8)
		ext[i] = (char)(x & 0xff);
	ext[8] = '\0';
}

/* Reads everything into t (t->mu held by the caller). */
static int load_locked(struct vf_vault *v, struct vf_trip *t)
{
	char k[32];
	int64_t kind, id;
	size_t i;
	int rc = 0;

	t->s.sens = (enum vf_trip_sens)meta_or(v, "trip.sens", VF_TRIP_MEDIUM,
					       &rc);
	if ((unsigned)t->s.sens > VF_TRIP_HIGH)
		t->s.sens = VF_TRIP_HIGH; /* damage: fail closed */
	t->s.learn_until = meta_or(v, "trip.learn", 0, &rc);
	t->s.peak = (uint32_t)meta_or(v, "trip.peak", 0, &rc);
	for (i = 0; i < VF_TRIP_EXEMPT_MAX; i++) {
		memset(&t->ex[i], 0, sizeof(t->ex[i]));
		fp_key(k, sizeof(k), i, "kind");
		kind = meta_or(v, k, FP_NONE, &rc);
		fp_key(k, sizeof(k), i, "id");
		id = meta_or(v, k, 0, &rc);
		fp_key(k, sizeof(k), i, "until");
		t->ex[i].until = kind == FP_NONE ? 0 : meta_or(v, k, 0, &rc);
		t->ex[i].is_ext = kind == FP_EXT;
		if (kind == FP_EXT)
			ext_unpack(id, t->ex[i].ext);
		else
			t->ex[i].uid = (uint32_t)id;
	}
	return rc;
}

int vf_trip_load(struct vf_vault *v)
{
	struct vf_trip *t = v->trip;
	int rc = 0;
	int64_t frozen = meta_or(v, "trip.frozen", 0, &rc);

	if (!t)
		return 0;
	pthread_mutex_lock(&t->mu);
	if (!rc)
		rc = load_locked(v, t);
	if (!rc) {
		if (t->fired && !frozen)
			memset(t->w, 0, sizeof(t->w)); /* released: afresh */
		t->fired = frozen != 0;
		__atomic_store_n(&v->trip_frozen, frozen, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&t->mu);
	return rc;
}

int vf_trip_open(struct vf_vault *v)
{
	int rc;

	v->trip = calloc(1, sizeof(*v->trip));
	if (!v->trip)
		return -ENOMEM;
	pthread_mutex_init(&v->trip->mu, NULL);
	vf_vault_lock(v);
	rc = vf_trip_load(v);
	vf_vault_unlock(v);
	return rc;
}

void vf_trip_close(struct vf_vault *v)
{
	if (!v->trip)
		return;
	pthread_mutex_destroy(&v->trip->mu);
	free(v->trip);
	v->trip = NULL;
}

int vf_trip_status(struct vf_vault *v, int64_t now, struct vf_trip_status *out)
{
	struct vf_trip *t = v->trip;
	int rc = 0;
	size_t i;

	memset(out, 0, sizeof(*out));
	out->frozen_at = meta_or(v, "trip.frozen", 0, &rc);
	out->snap_at = meta_or(v, "trip.snap", 0, &rc);
	out->fired_uid = (uint32_t)meta_or(v, "trip.uid", 0, &rc);
	out->fired_score = (uint32_t)meta_or(v, "trip.score", 0, &rc);
	if (rc || !t)
		return rc ? rc : -EIO;
	pthread_mutex_lock(&t->mu);
	out->s = t->s;
	out->high_score = t->high;
	for (i = 0; i < VF_TRIP_EXEMPT_MAX; i++)
		if (t->ex[i].until > now)
			out->exempt[out->n_exempt++] = t->ex[i];
	pthread_mutex_unlock(&t->mu);
	out->learning = out->s.learn_until > now;
	out->threshold = vf_policy_trip_threshold(&out->s, now);
	return 0;
}

int vf_trip_settings_store(struct vf_vault *v, const struct vf_trip_settings *s)
{
	int rc = vf_catalog_meta_set(v->cat, "trip.sens", s->sens);

	if (!rc)
		rc = vf_catalog_meta_set(v->cat, "trip.learn", s->learn_until);
	if (!rc)
		rc = vf_catalog_meta_set(v->cat, "trip.peak", s->peak);
	return rc;
}

int vf_trip_release_store(struct vf_vault *v)
{
	return vf_catalog_meta_set(v->cat, "trip.frozen", 0);
}

int vf_trip_exempt_store(struct vf_vault *v, const struct vf_trip_exempt *e,
			 int64_t now)
{
	struct vf_trip *t = v->trip;
	size_t i, slot = VF_TRIP_EXEMPT_MAX;
	char k[32];
	int rc;

	pthread_mutex_lock(&t->mu);
	for (i = 0; i < VF_TRIP_EXEMPT_MAX; i++) {
		const struct vf_trip_exempt *x = &t->ex[i];
		int same = x->until && x->is_ext == e->is_ext &&
			   (e->is_ext ? !strcmp(x->ext, e->ext) :
					x->uid == e->uid);

		if (same) {
			slot = i;
			break;
		}
		if (slot == VF_TRIP_EXEMPT_MAX && x->until <= now)
			slot = i;
	}
	pthread_mutex_unlock(&t->mu);
	if (slot == VF_TRIP_EXEMPT_MAX)
		return -ENOSPC;
	fp_key(k, sizeof(k), slot, "kind");
	rc = vf_catalog_meta_set(v->cat, k, e->is_ext ? FP_EXT : FP_UID);
	fp_key(k, sizeof(k), slot, "id");
	if (!rc)
		rc = vf_catalog_meta_set(v->cat, k,
					 e->is_ext ? ext_pack(e->ext) :
						     (int64_t)e->uid);
	fp_key(k, sizeof(k), slot, "until");
	if (!rc)
		rc = vf_catalog_meta_set(v->cat, k, e->until);
	return rc;
}

/* ---- windows and firing -------------------------------------------------- */

/* uid's window, or the least recently active one given up for it
 * (t->mu held). */
static struct uwin *window(struct vf_trip *t, uint32_t uid, int64_t now)
{
	struct uwin *w = &t->w[0];
	size_t i;

	for (i = 0; i < VF_TRIP_UIDS; i++) {
		if (t->w[i].used && t->w[i].uid == uid)
			return &t->w[i];
		if (!t->w[i].used || t->w[i].last < w->last)
			w = &t->w[i];
		if (!t->w[i].used)
			break;
	}
	memset(w, 0, sizeof(*w));
	w->used = 1;
	w->uid = uid;
	w->last = now;
	return w;
}

static int exempt_uid(const struct vf_trip *t, uint32_t uid, int64_t now)
{
	size_t i;

	for (i = 0; i < VF_TRIP_EXEMPT_MAX; i++)
		if (!t->ex[i].is_ext && t->ex[i].until > now &&
		    t->ex[i].uid == uid)
			return 1;
	return 0;
}

static int exempt_ext(struct vf_trip *t, const char *ext, int64_t now)
{
	size_t i;
	int hit = 0;

	pthread_mutex_lock(&t->mu);
	for (i = 0; i < VF_TRIP_EXEMPT_MAX && !hit; i++)
		hit = t->ex[i].is_ext && t->ex[i].until > now &&
		      !strcmp(t->ex[i].ext, ext);
	pthread_mutex_unlock(&t->mu);
	return hit;
}

/* Adds ev to w at now; sums the live buckets into *sum and the earliest
 * content event into *first. */
static void add(struct uwin *w, enum vf_trip_ev ev, int64_t now, int64_t t0,
		struct vf_trip_counts *sum, int64_t *first)
{
	int64_t b = now / VF_TRIP_BUCKET_NS;
	size_t i = (size_t)(b % VF_TRIP_BUCKETS);
	struct vf_trip_counts *c;

	if (w->bucket[i] != b) {
		w->bucket[i] = b;
		w->first[i] = 0;
		memset(&w->c[i], 0, sizeof(w->c[i]));
	}
	c = &w->c[i];
	switch (ev) {
	case VF_TRIP_EV_HI_OVER:
		c->hi_over++;
		break;
	case VF_TRIP_EV_HI_NEW:
		c->hi_new++;
		break;
	case VF_TRIP_EV_DELETE:
		c->deletes++;
		break;
	case VF_TRIP_EV_EXT_REN:
		c->ext_ren++;
		break;
	case VF_TRIP_EV_NONE:
		break;
	}
	if ((ev == VF_TRIP_EV_HI_OVER || ev == VF_TRIP_EV_HI_NEW) &&
	    (!w->first[i] || t0 < w->first[i]))
		w->first[i] = t0;
	w->last = now;
	memset(sum, 0, sizeof(*sum));
	*first = 0;
	for (i = 0; i < VF_TRIP_BUCKETS; i++) {
		if (w->bucket[i] <= b - VF_TRIP_BUCKETS)
			continue;
		sum->hi_over += w->c[i].hi_over;
		sum->hi_new += w->c[i].hi_new;
		sum->deletes += w->c[i].deletes;
		sum->ext_ren += w->c[i].ext_ren;
		if (w->first[i] && (!*first || w->first[i] < *first))
			*first = w->first[i];
	}
}

/* Fires: the snapshot point, the freeze, the record and the alert. */
static void fire(struct vf_vault *v, uint32_t uid, int64_t first,
		 uint32_t score, const struct vf_trip_counts *c)
{
	int64_t now = vf_vault_stamp(v);
	int64_t snap = (first ? first : now) - VF_NS;
	char when[32], tag[48], detail[200];
	int rc;

	snap -= ((snap % VF_NS) + VF_NS) % VF_NS;
	__atomic_store_n(&v->trip_frozen, now, __ATOMIC_RELAXED);
	vf_time_format(snap, when);
	snprintf(tag, sizeof(tag), "tripwire-%s", when);
	snprintf(detail, sizeof(detail),
		 "score %u: %u overwrites by random-looking content, %u extension changes, %u new random-looking files, %u deletions in %d s",
		 score, c->hi_over, c->ext_ren, c->hi_new, c->deletes,
		 (int)(VF_TRIP_BUCKETS * VF_TRIP_BUCKET_NS / VF_NS));
	if (!v->readonly) {
		vf_vault_lock(v);
		rc = vf_catalog_begin(v->cat);
		if (!rc) {
			rc = vf_view_mark(v, tag, snap);
			if (!rc)
				rc = vf_catalog_meta_set(v->cat, "trip.frozen",
							 now);
			if (!rc)
				rc = vf_catalog_meta_set(v->cat, "trip.snap",
							 snap);
			if (!rc)
				rc = vf_catalog_meta_set(v->cat, "trip.uid",
							 uid);
			if (!rc)
				rc = vf_catalog_meta_set(v->cat, "trip.score",
							 score);
			if (!rc)
				rc = vf_audit_record(v, now, uid, "tripwire",
						     tag, "fired", detail);
			rc = vf_catalog_finish(v->cat, rc);
		}
		vf_vault_unlock(v);
		if (rc)
			vf_alert_raise(v, VF_ALERT_TRIPWIRE, VF_ALERT_CRIT, uid,
				       score,
				       "tripwire fired, but recording it failed (%s): purges frozen until the daemon stops",
				       strerror(-rc));
	}
	vf_alert_raise(v, VF_ALERT_TRIPWIRE, VF_ALERT_CRIT, uid, score,
		       "tripwire fired (%s): purges, prune and gc frozen until vaultctl tripwire release; the tree before the burst is .snapshots/%s (tagged %s)",
		       detail, when, tag);
}

/* Keeps a learning period's peak (best effort: a lost peak only keeps
 * the threshold lower). */
static void keep_peak(struct vf_vault *v, uint32_t peak)
{
	int rc;

	vf_vault_lock(v);
	rc = vf_catalog_meta_set(v->cat, "trip.peak", peak);
	vf_vault_unlock(v);
	(void)rc;
}

void vf_trip_note(struct vf_vault *v, uint32_t uid, enum vf_trip_ev ev,
		  int64_t t0)
{
	struct vf_trip *t = v->trip;
	struct vf_trip_counts sum;
	int64_t now, first;
	uint32_t score, peak = 0;
	int go = 0;

	if (!t || ev == VF_TRIP_EV_NONE || v->readonly)
		return;
	now = vf_vault_now(v);
	pthread_mutex_lock(&t->mu);
	if (t->fired || t->s.sens == VF_TRIP_OFF || exempt_uid(t, uid, now)) {
		pthread_mutex_unlock(&t->mu);
		return;
	}
	add(window(t, uid, now), ev, now, t0 ? t0 : vf_vault_stamp(v), &sum,
	    &first);
	score = vf_policy_trip_score(&sum, NULL);
	if (score > t->high)
		t->high = score;
	if (vf_policy_tripwire(&sum, &t->s, now)) {
		t->fired = go = 1;
	} else if (t->s.learn_until > now && score > t->s.peak) {
		t->s.peak = peak = score;
	}
	pthread_mutex_unlock(&t->mu);
	if (go)
		fire(v, uid, first, score, &sum);
	else if (peak)
		keep_peak(v, peak);
}

void vf_trip_renamed(struct vf_vault *v, uint32_t uid, const char *from,
		     const char *to)
{
	char ext[VF_TRIP_EXT_MAX + 1];

	if (v->trip && vf_trip_ext_changed(from, to, ext) &&
	    !exempt_ext(v->trip, ext, vf_vault_now(v)))
		vf_trip_note(v, uid, VF_TRIP_EV_EXT_REN, 0);
}
