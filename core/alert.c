/*
 * alert.c - the alert queue, the mass-deletion window and the rate limit
 * (alert.h).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
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
	uint32_t del_uid; /* the last deleter; VF_AUDIT_UID_NONE: several */
	int del_fired;
};

static const char *const kind_names[VF_ALERT_KIND_COUNT] = {
	[VF_ALERT_MASS_DELETE] = "mass-deletion",
	[VF_ALERT_DENIED] = "denied",
	[VF_ALERT_WEAKENED] = "settings-weakened",
	[VF_ALERT_INTEGRITY] = "integrity",
	[VF_ALERT_CLOCK] = "clock",
	[VF_ALERT_MAINTENANCE] = "maintenance",
};

const char *vf_alert_kind_name(enum vf_alert_kind k)
{
	return (unsigned)k < VF_ALERT_KIND_COUNT ? kind_names[k] : "?";
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
	int64_t now;
	struct vf_alert a;

	if (!al)
		return;
	now = vf_vault_now(v);
	pthread_mutex_lock(&al->lock);
	if (now - al->del_start > VF_ALERT_DELETE_WINDOW) {
		al->del_start = now;
		al->del_n = 0;
		al->del_fired = 0;
		al->del_uid = uid;
	}
	al->del_n++;
	if (al->del_uid != uid)
		al->del_uid = VF_AUDIT_UID_NONE;
	if (al->del_n >= VF_ALERT_DELETE_N && !al->del_fired) {
		al->del_fired = 1;
		memset(&a, 0, sizeof(a));
		a.t = vf_vault_stamp(v);
		a.kind = VF_ALERT_MASS_DELETE;
		a.sev = VF_ALERT_CRIT;
		a.uid = al->del_uid;
		a.count = al->del_n;
		snprintf(a.what, sizeof(a.what),
			 "%llu files or directories deleted within %lld s (deleted items stay in .softdeleted until purged)",
			 (unsigned long long)al->del_n,
			 (long long)(VF_ALERT_DELETE_WINDOW / VF_NS));
		enqueue(al, &a);
	}
	pthread_mutex_unlock(&al->lock);
}

int vf_alerts_flush(struct vf_vault *v)
{
	struct vf_alerts *al = v->alerts;
	struct vf_alert a;
	char detail[VF_ALERT_WHAT_MAX + 32];
	int rc, done = 0;

	if (!al)
		return 0;
	for (;;) {
		pthread_mutex_lock(&al->lock);
		if (!al->n) {
			pthread_mutex_unlock(&al->lock);
			return done;
		}
		a = al->q[0];
		pthread_mutex_unlock(&al->lock);
		if (v->readonly) {
			rc = 0; /* a read-only vault writes nothing */
		} else {
			snprintf(detail, sizeof(detail), "%s; count=%llu",
				 a.what, (unsigned long long)a.count);
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
		if (v->alert_hook)
			v->alert_hook(v->alert_arg, &a);
		done++;
	}
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
