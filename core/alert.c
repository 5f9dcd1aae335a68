/*
 * alert.c - the alert queue, the mass-deletion window and the rate limit
 * (alert.h).
 */
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alert.h"
#include "policy.h"
#include "vault_int.h"
#include "vclock.h"

struct vf_alerts {
	pthread_mutex_t lock;
	struct vf_alert q[VF_ALERT_QUEUE];
	size_t n;
	uint64_t dropped; /* queue full */
	/* rate limit: times of the last VF_ALERT_BURST alerts per kind */
	int64_t sent[VF_ALERT_KIND_COUNT][VF_ALERT_BURST];
	uint64_t suppressed[VF_ALERT_KIND_COUNT];
	uint64_t written[VF_ALERT_KIND_COUNT]; /* flushed, since the open */
	/* mass deletion */
	int64_t del_start;
	uint64_t del_n;
	uint64_t del_tree; /* live entries when the window began (0: unknown) */
	uint32_t del_uid; /* the last deleter; VF_AUDIT_UID_NONE: several */
	int del_fired;
	/* muted kinds: recorded as usual, not handed to the hook, until */
	int64_t mute[VF_ALERT_KIND_COUNT];
};

static const char *const kind_names[VF_ALERT_KIND_COUNT] = {
	[VF_ALERT_MASS_DELETE] = "mass-deletion",
	[VF_ALERT_DENIED] = "denied",
	[VF_ALERT_WEAKENED] = "settings-weakened",
	[VF_ALERT_INTEGRITY] = "integrity",
	[VF_ALERT_CLOCK] = "clock",
	[VF_ALERT_MAINTENANCE] = "maintenance",
	[VF_ALERT_UNLOCK] = "unlock-failed",
	[VF_ALERT_STORE_LAG] = "store-lag",
	[VF_ALERT_TRIPWIRE] = "tripwire",
};

const char *vf_alert_kind_name(enum vf_alert_kind k)
{
	return (unsigned)k < VF_ALERT_KIND_COUNT ? kind_names[k] : "?";
}

int vf_alert_kind_parse(const char *name)
{
	int k;

	for (k = 0; k < VF_ALERT_KIND_COUNT; k++)
		if (kind_names[k] && !strcmp(kind_names[k], name))
			return k;
	return -1;
}

/* The catalog's meta key of kind's mute. */
static void mute_key(enum vf_alert_kind k, char *buf, size_t cap)
{
	snprintf(buf, cap, "alert.mute.%s", kind_names[k]);
}

int vf_alerts_load(struct vf_vault *v)
{
	char key[64];
	int64_t t;
	int k, rc;

	for (k = 0; k < VF_ALERT_KIND_COUNT; k++) {
		mute_key(k, key, sizeof(key));
		rc = vf_catalog_meta_get(v->cat, key, &t);
		if (rc == -ENOENT)
			continue;
		if (rc)
			return rc;
		v->alerts->mute[k] = t;
	}
	return 0;
}

int64_t vf_alert_muted(struct vf_vault *v, enum vf_alert_kind k)
{
	struct vf_alerts *al = v->alerts;
	int64_t t;

	pthread_mutex_lock(&al->lock);
	t = al->mute[k];
	pthread_mutex_unlock(&al->lock);
	return t;
}

int vf_alert_mute_store(struct vf_vault *v, enum vf_alert_kind k,
			int64_t until)
{
	char key[64];

	mute_key(k, key, sizeof(key));
	return vf_catalog_meta_set(v->cat, key, until);
}

void vf_alert_mute_apply(struct vf_vault *v, enum vf_alert_kind k,
			 int64_t until)
{
	pthread_mutex_lock(&v->alerts->lock);
	v->alerts->mute[k] = until;
	pthread_mutex_unlock(&v->alerts->lock);
}

const char *vf_alert_sev_name(enum vf_alert_sev s)
{
	switch (s) {
	case VF_ALERT_INFO:
		return "info";
	case VF_ALERT_WARNING:
		return "warning";
	case VF_ALERT_CRIT:
		return "critical";
	}
	return "?";
}

int vf_alerts_new(struct vf_alerts **out)
{
	struct vf_alerts *al = calloc(1, sizeof(*al));

	if (!al)
		return -ENOMEM;
	pthread_mutex_init(&al->lock, NULL);
	*out = al;
	return 0;
}

void vf_alerts_free(struct vf_alerts *al)
{
	if (!al)
		return;
	pthread_mutex_destroy(&al->lock);
	free(al);
}

/* Takes a slot of kind's rate at now; 0 when the burst is used up.
 * al->lock held. */
static int take_slot(struct vf_alerts *al, enum vf_alert_kind k, int64_t now)
{
	int64_t *s = al->sent[k];
	int i, oldest = 0;

	for (i = 1; i < VF_ALERT_BURST; i++)
		if (s[i] < s[oldest])
			oldest = i;
	if (s[oldest] && now - s[oldest] < 3600 * VF_NS)
		return 0;
	s[oldest] = now;
	return 1;
}

/* Queues a; al->lock held. */
static void enqueue(struct vf_alerts *al, struct vf_alert *a)
{
	size_t len;

	if (!take_slot(al, a->kind, a->t)) {
		al->suppressed[a->kind]++;
		return;
	}
	if (al->suppressed[a->kind]) {
		len = strlen(a->what);
		snprintf(a->what + len, sizeof(a->what) - len,
			 " (%llu similar suppressed before)",
			 (unsigned long long)al->suppressed[a->kind]);
		al->suppressed[a->kind] = 0;
	}
	if (al->n == VF_ALERT_QUEUE) {
		al->dropped++;
		return;
	}
	al->q[al->n++] = *a;
}

void vf_alert_raise(struct vf_vault *v, enum vf_alert_kind kind,
		    enum vf_alert_sev sev, uint32_t uid, uint64_t count,
		    const char *fmt, ...)
{
	struct vf_alerts *al = v->alerts;
	struct vf_alert a;
	va_list ap;

	if (!al || (unsigned)kind >= VF_ALERT_KIND_COUNT)
		return;
	memset(&a, 0, sizeof(a));
	a.t = vf_vault_stamp(v);
	a.kind = kind;
	a.sev = sev;
	a.uid = uid;
	a.count = count;
	va_start(ap, fmt);
	vsnprintf(a.what, sizeof(a.what), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&al->lock);
	enqueue(al, &a);
	pthread_mutex_unlock(&al->lock);
}

void vf_alert_deleted(struct vf_vault *v, uint32_t uid)
{
	struct vf_alerts *al = v->alerts;
	uint64_t tree = 0;
	int64_t now;
	struct vf_alert a;
	char share[96] = "";
	int fresh;

	if (!al)
		return;
	now = vf_vault_now(v);
	pthread_mutex_lock(&al->lock);
	fresh = now - al->del_start > VF_ALERT_DELETE_WINDOW;
	pthread_mutex_unlock(&al->lock);
	if (fresh) {
		/* the tree as the window begins (this entry just died);
		 * never under al->lock: the vault lock comes first */
		vf_vault_lock(v);
		if (vf_catalog_counts(v->cat, VF_Q_LIVE_ENTRIES, &tree, NULL))
			tree = 0;
		else
			tree++;
		vf_vault_unlock(v);
	}
	pthread_mutex_lock(&al->lock);
	if (now - al->del_start > VF_ALERT_DELETE_WINDOW) {
		al->del_start = now;
		al->del_n = 0;
		al->del_fired = 0;
		al->del_uid = uid;
		al->del_tree = tree;
	}
	al->del_n++;
	if (al->del_uid != uid)
		al->del_uid = VF_AUDIT_UID_NONE;
	if (!al->del_fired &&
	    vf_policy_mass_delete(al->del_n, al->del_tree, VF_ALERT_DELETE_N,
				  VF_ALERT_DELETE_PCT, VF_ALERT_DELETE_MIN)) {
		al->del_fired = 1;
		memset(&a, 0, sizeof(a));
		a.t = vf_vault_stamp(v);
		a.kind = VF_ALERT_MASS_DELETE;
		a.sev = VF_ALERT_CRIT;
		a.uid = al->del_uid;
		a.count = al->del_n;
		if (al->del_tree)
			snprintf(share, sizeof(share), ", %llu %% of the %llu entries the tree had",
				 (unsigned long long)(al->del_n * 100 /
						      al->del_tree),
				 (unsigned long long)al->del_tree);
		snprintf(a.what, sizeof(a.what),
			 "%llu files or directories deleted within %lld s%s (deleted items stay in .softdeleted until purged)",
			 (unsigned long long)al->del_n,
			 (long long)(VF_ALERT_DELETE_WINDOW / VF_NS), share);
		enqueue(al, &a);
	}
	pthread_mutex_unlock(&al->lock);
}

int vf_alerts_flush(struct vf_vault *v)
{
	struct vf_alerts *al = v->alerts;
	struct vf_alert a;
	char detail[VF_ALERT_WHAT_MAX + 40];
	int rc, done = 0, muted;

	if (!al)
		return 0;
	for (;;) {
		pthread_mutex_lock(&al->lock);
		if (!al->n) {
			pthread_mutex_unlock(&al->lock);
			return done;
		}
		a = al->q[0];
		muted = a.t < al->mute[a.kind];
		pthread_mutex_unlock(&al->lock);
		if (v->readonly) {
			rc = 0; /* a read-only vault writes nothing */
		} else {
			snprintf(detail, sizeof(detail), "%s; count=%llu%s",
				 a.what, (unsigned long long)a.count,
				 muted ? "; muted" : "");
			rc = vf_vault_audit(v, a.uid, "alert",
					    vf_alert_kind_name(a.kind),
					    vf_alert_sev_name(a.sev), detail);
			if (rc < 0)
				return rc;
		}
		pthread_mutex_lock(&al->lock);
		memmove(al->q, al->q + 1, (al->n - 1) * sizeof(al->q[0]));
		al->n--;
		al->written[a.kind]++;
		pthread_mutex_unlock(&al->lock);
		if (v->alert_hook && !muted)
			v->alert_hook(v->alert_arg, &a);
		done++;
	}
}

/* ---- failed unlocks ----------------------------------------------------- */

/* STATEDIR/<32 hex: BLAKE2b of the vault's real path>: one line
 * "COUNT FIRST LAST UID" (wall-clock ns: there is no vault clock without
 * the key) and one line saying why the last attempt failed. */
#define NOTE_MAX 512

struct unlock_note {
	unsigned long long n;
	long long first, last;
	unsigned long uid;
	char why[256];
};

static char *note_path(const char *statedir, const char *vault)
{
	unsigned char h[16];
	char hex[2 * sizeof(h) + 1], *real = realpath(vault, NULL), *p;

	if (!real)
		return NULL;
	crypto_generichash(h, sizeof(h), (const unsigned char *)real,
			   strlen(real), NULL, 0);
	free(real);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	p = vf_path_join(statedir, hex);
	return p;
}

/* Reads a note; -ENOENT when there is none, -EINVAL when it is garbage. */
static int note_read(const char *path, struct unlock_note *u)
{
	char buf[NOTE_MAX], *nl, *end;
	ssize_t len;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return -EINVAL;
	buf[len] = '\0';
	memset(u, 0, sizeof(*u));
	if (sscanf(buf, "%llu %lld %lld %lu", &u->n, &u->first, &u->last,
		   &u->uid) != 4 || !u->n)
		return -EINVAL;
	nl = strchr(buf, '\n');
	if (nl) {
		end = strchr(nl + 1, '\n');
		if (end)
			*end = '\0';
		snprintf(u->why, sizeof(u->why), "%s", nl + 1);
	}
	return 0;
}

int vf_unlock_failure_note(const char *statedir, const char *vault,
			   uint32_t uid, const char *why)
{
	struct unlock_note u;
	char *path, *tmp = NULL, buf[NOTE_MAX];
	long long now;
	int fd = -1, rc, len;

	now = vf_clock_now();
	if (mkdir(statedir, 0700) < 0 && errno != EEXIST)
		return -errno;
	path = note_path(statedir, vault);
	if (!path)
		return -errno ? -errno : -ENOMEM;
	if (note_read(path, &u) < 0) {
		memset(&u, 0, sizeof(u));
		u.first = now;
	}
	u.n++;
	u.last = now;
	u.uid = uid;
	len = snprintf(buf, sizeof(buf), "%llu %lld %lld %lu\n%.200s\n", u.n,
		       u.first, u.last, u.uid, why);
	rc = -ENOMEM;
	if (asprintf(&tmp, "%s.tmp", path) < 0)
		goto out;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	rc = fd < 0 || write(fd, buf, (size_t)len) != len ? -errno : 0;
	if (fd >= 0 && close(fd) < 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (rc)
		unlink(tmp);
out:
	free(tmp);
	free(path);
	return rc;
}

int vf_unlock_failures_report(struct vf_vault *v, const char *statedir)
{
	struct unlock_note u;
	char first[32], last[32], *path;
	int rc;

	if (v->readonly)
		return 0;
	path = note_path(statedir, v->dir);
	if (!path)
		return -ENOMEM;
	rc = note_read(path, &u);
	if (rc == 0 || rc == -EINVAL) {
		if (rc == 0) {
			vf_time_format(u.first, first);
			vf_time_format(u.last, last);
			vf_alert_raise(v, VF_ALERT_UNLOCK,
				       u.n >= VF_ALERT_UNLOCK_CRIT ?
					       VF_ALERT_CRIT :
					       VF_ALERT_WARNING,
				       (uint32_t)u.uid, u.n,
				       "%llu failed unlock attempt%s since the vault was last mounted (first %s, last %s host time): %s",
				       u.n, u.n == 1 ? "" : "s", first, last,
				       u.why[0] ? u.why : "wrong key");
		}
		rc = unlink(path) < 0 ? -errno : 0;
	} else if (rc == -ENOENT) {
		rc = 0;
	}
	free(path);
	return rc;
}

void vf_alerts_counts(struct vf_vault *v, uint64_t out[VF_ALERT_KIND_COUNT])
{
	struct vf_alerts *al = v->alerts;

	memset(out, 0, VF_ALERT_KIND_COUNT * sizeof(out[0]));
	if (!al)
		return;
	pthread_mutex_lock(&al->lock);
	memcpy(out, al->written, sizeof(al->written));
	pthread_mutex_unlock(&al->lock);
}
