/*
 * progress.c - the progress line and JSON progress events (progress.h).
 *
 * The line, for a person on a terminal:
 *   check: 1204/5120 chunks, 1.2 GiB/4.8 GiB, 310.4 MiB/s, ETA 12s
 * redrawn in place ("\r" then the text then "\033[K", which erases what
 * a longer line before left), and erased at the end so that the
 * command's own output starts on a clean line.  An event, for a program:
 *   {"progress":"check","unit":"chunks","items":1204,"items_total":5120,
 *    "bytes":...,"bytes_total":...,"rate":325432123,"eta_s":12,
 *    "done":false}
 * totals, rate and eta_s are null when not known.  The rate is bytes per
 * second when the work counts bytes, else items per second; the ETA
 * comes from the fraction done (bytes when their total is known, else
 * items) and the time so far.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "cmd_util.h"
#include "progress.h"

#define LINE_MS 200  /* a person sees 5 redraws a second */
#define EVENT_MS 1000

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void progress_init(struct progress *p, FILE *f, int on, int json)
{
	memset(p, 0, sizeof(*p));
	p->f = f;
	p->mode = !on ? PROGRESS_OFF : json ? PROGRESS_JSON : PROGRESS_LINE;
	p->start_ms = mono_ms();
	p->cb.fn = progress_fn;
	p->cb.arg = p;
}

const struct vf_progress *progress_cb(struct progress *p)
{
	return p->mode == PROGRESS_OFF ? NULL : &p->cb;
}

/* Fraction done in [0, 1], or -1 when no total is known. */
static double fraction(const struct vf_progress_state *s)
{
	if (s->bytes_total)
		return s->bytes > s->bytes_total ?
			       1.0 :
			       (double)s->bytes / (double)s->bytes_total;
	if (s->items_total)
		return s->items > s->items_total ?
			       1.0 :
			       (double)s->items / (double)s->items_total;
	return -1;
}

/* Seconds left, or -1 when not known yet. */
static long long eta_s(const struct vf_progress_state *s, int64_t ms)
{
	double f = fraction(s);

	if (f <= 0 || ms < 500)
		return -1;
	return (long long)((double)ms * (1 - f) / f / 1000 + 0.5);
}

static void format_eta(long long s, char *buf, size_t cap)
{
	if (s < 0)
		snprintf(buf, cap, "-");
	else if (s < 60)
		snprintf(buf, cap, "%llds", s);
	else if (s < 3600)
		snprintf(buf, cap, "%lldm%02llds", s / 60, s % 60);
	else
		snprintf(buf, cap, "%lldh%02lldm", s / 3600, s / 60 % 60);
}

static void draw_line(struct progress *p, const struct vf_progress_state *s,
		      int64_t ms)
{
	char b[SIZE_TEXT_MAX], t[SIZE_TEXT_MAX], eta[32];
	double secs = ms > 0 ? (double)ms / 1000 : 0;

	fprintf(p->f, "\r%s: %llu", s->what, (unsigned long long)s->items);
	if (s->items_total)
		fprintf(p->f, "/%llu", (unsigned long long)s->items_total);
	fprintf(p->f, " %s", s->unit);
	if (s->bytes || s->bytes_total) {
		fprintf(p->f, ", %s", size_text(s->bytes, 0, b));
		if (s->bytes_total)
			fprintf(p->f, "/%s", size_text(s->bytes_total, 0, t));
		if (secs > 0)
			fprintf(p->f, ", %s/s",
				size_text((uint64_t)((double)s->bytes / secs), 0,
					  b));
	} else if (secs > 0) {
		fprintf(p->f, ", %.0f %s/s", (double)s->items / secs, s->unit);
	}
	format_eta(eta_s(s, ms), eta, sizeof(eta));
	fprintf(p->f, ", ETA %s\033[K", eta);
	p->drawn = 1;
}

static void json_event(struct progress *p, const struct vf_progress_state *s,
		       int64_t ms)
{
	struct json_object *o = json_object_new_object();
	double secs = (double)ms / 1000;
	uint64_t done = s->bytes || s->bytes_total ? s->bytes : s->items;
	long long eta = eta_s(s, ms);

	jadd_str(o, "progress", s->what);
	jadd_str(o, "unit", s->unit);
	jadd_u64(o, "items", s->items);
	jadd(o, "items_total",
	     s->items_total ? json_object_new_int64((int64_t)s->items_total) :
			      NULL);
	jadd_u64(o, "bytes", s->bytes);
	jadd(o, "bytes_total",
	     s->bytes_total ? json_object_new_int64((int64_t)s->bytes_total) :
			      NULL);
	jadd(o, "rate",
	     secs > 0 ? json_object_new_int64((int64_t)((double)done / secs)) :
			NULL);
	jadd(o, "eta_s", eta >= 0 ? json_object_new_int64(eta) : NULL);
	jadd_u64(o, "elapsed_ms", (uint64_t)ms);
	jadd_bool(o, "done", s->done);
	json_print(p->f, o);
}

void progress_fn(void *arg, const struct vf_progress_state *s)
{
	struct progress *p = arg;
	int64_t now = mono_ms(), ms = now - p->start_ms;

	if (p->mode == PROGRESS_OFF)
		return;
	if (s->done) {
		if (p->mode == PROGRESS_JSON)
			json_event(p, s, ms);
		else if (p->drawn)
			fputs("\r\033[K", p->f);
		p->drawn = 0;
		fflush(p->f);
		return;
	}
	if (now - p->last_ms < (p->mode == PROGRESS_JSON ? EVENT_MS : LINE_MS))
		return;
	p->last_ms = now;
	if (p->mode == PROGRESS_JSON)
		json_event(p, s, ms);
	else
		draw_line(p, s, ms);
	fflush(p->f);
}

int progress_opts(const struct cmd *c, FILE *err, int progress,
		  int no_progress, int *on)
{
	char name[64];

	if (progress && no_progress) {
		cmd_name(c, name, sizeof(name));
		return usage_error(err, c,
				   "%s: options '--progress' and '--no-progress' exclude each other",
				   name);
	}
	*on = progress;
	return 0;
}
