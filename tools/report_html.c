/*
 * report_html.c - the usage report as an HTML page (report_html.h).
 *
 * Charts are SVG drawn here: bars (counts per day, top directories) and
 * lines with a dot per sample (sizes per day; a day without a sample has
 * no dot and breaks no line, it is skipped).  Each chart has a y axis
 * with 0, half and the maximum, the first, middle and last day on the x
 * axis, and a legend in HTML under it.  Colours are fixed per series
 * (tests look for them in a screenshot).  Memory: one array of at most
 * VF_REPORT_DAYS_MAX values per series while a chart is drawn.
 */
#include <stdlib.h>
#include <string.h>

#include "cmd_util.h"
#include "report_html.h"

#define DAY_NS (86400 * VF_NS)
#define W 640
#define H 250
#define X0 95
#define X1 625
#define Y0 15
#define Y1 210
/* text sizes in viewBox units: a phone shows the 640 units in about 400
 * pixels, so 18 is about 11 px */
#define FONT 18

struct series {
	const char *name, *colour;
	uint64_t v[VF_REPORT_DAYS_MAX];
	int have[VF_REPORT_DAYS_MAX];
};

/* s with &, <, >, " and ' as entities: safe in text and in attributes. */
static void html_str(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default:
			if ((unsigned char)*s < 0x20 || *s == 0x7f)
				fprintf(f, "&#xfffd;");
			else
				fputc(*s, f);
		}
	}
}

/* n as a short label: "12", "3.4 k", or bytes as "1.5 MiB". */
static void num_text(uint64_t n, int bytes, char *buf, size_t cap)
{
	static const char *const bu[] = { "B", "KiB", "MiB", "GiB", "TiB",
					  "PiB" };
	static const char *const cu[] = { "", " k", " M", " G", " T", " P" };
	double x = (double)n;
	double step = bytes ? 1024.0 : 1000.0;
	size_t i = 0;

	while (x >= step && i + 1 < VF_ARRAY_LEN(bu)) {
		x /= step;
		i++;
	}
	if (i == 0)
		snprintf(buf, cap, "%llu%s%s", (unsigned long long)n,
			 bytes ? " " : "", bytes ? bu[0] : "");
	else
		snprintf(buf, cap, "%.1f%s%s", x, bytes ? " " : "",
			 bytes ? bu[i] : cu[i]);
}

static void day_text(int64_t d, char buf[32])
{
	vf_time_format(d * DAY_NS, buf);
	buf[10] = '\0';
}

/* Axes, y labels (0, max/2, max) and x labels (first, middle, last day). */
static void axes(FILE *f, const struct vf_report *r, uint64_t max, int bytes)
{
	char t[32];
	size_t i, idx[3] = { 0, r->ndays / 2, r->ndays - 1 };
	double slot = (double)(X1 - X0) / (double)r->ndays;

	fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#555\"/>\n",
		X0, Y1, X1, Y1);
	fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#555\"/>\n",
		X0, Y0, X0, Y1);
	for (i = 0; i < 3; i++) {
		uint64_t v = i == 2 ? max : max / 2 * i;
		int y = Y1 - (Y1 - Y0) * (int)i / 2;

		/* a count has no half of an odd maximum */
		if (i == 1 && !bytes && max % 2)
			continue;
		num_text(v, bytes, t, sizeof(t));
		fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#ddd\"/>"
			   "<text x=\"%d\" y=\"%d\" font-size=\"%d\" text-anchor=\"end\">%s</text>\n",
			X0, y, X1, y, X0 - 5, y + 6, FONT, t);
	}
	for (i = 0; i < 3; i++) {
		if (i && idx[i] == idx[i - 1])
			continue;
		day_text(r->days[idx[i]].day, t);
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" font-size=\"%d\" text-anchor=\"%s\">%s</text>\n",
			X0 + slot * ((double)idx[i] + 0.5), Y1 + 24, FONT,
			i == 0 ? "start" : i == 2 ? "end" : "middle", t);
	}
}

static void legend(FILE *f, const struct series *s, size_t ns)
{
	size_t i;

	fputs("<p class=\"legend\">", f);
	for (i = 0; i < ns; i++)
		fprintf(f, "<span><i style=\"background:%s\"></i>%s</span> ",
			s[i].colour, s[i].name);
	fputs("</p>\n", f);
}

/* A chart of ns series over the report's days: bars side by side per
 * day, or lines with dots (lines). */
static void chart(FILE *f, const struct vf_report *r, const char *title,
		  const char *id, const struct series *s, size_t ns,
		  int lines, int bytes)
{
	double slot = (double)(X1 - X0) / (double)r->ndays;
	uint64_t max = 0;
	size_t i, k;

	for (k = 0; k < ns; k++)
		for (i = 0; i < r->ndays; i++)
			if (s[k].have[i] && s[k].v[i] > max)
				max = s[k].v[i];
	if (!max)
		max = 1;
	fprintf(f, "<h2>%s</h2>\n<svg id=\"%s\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"%s\">\n",
		title, id, W, H, title);
	axes(f, r, max, bytes);
	for (k = 0; k < ns; k++) {
		int open = 0;

		for (i = 0; i < r->ndays; i++) {
			double h = (double)s[k].v[i] / (double)max *
				   (Y1 - Y0);
			double cx = X0 + slot * ((double)i + 0.5);

			if (!s[k].have[i])
				continue;
			if (lines) {
				if (!open)
					fprintf(f, "<polyline class=\"series\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"",
						s[k].colour);
				fprintf(f, "%.1f,%.1f ", cx, Y1 - h);
				open = 1;
			} else if (s[k].v[i]) {
				double bw = slot * 0.8 / (double)ns;

				if (h < 2)
					h = 2;
				fprintf(f, "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>%llu</title></rect>\n",
					X0 + slot * ((double)i + 0.1) +
						bw * (double)k,
					Y1 - h, bw, h, s[k].colour,
					(unsigned long long)s[k].v[i]);
			}
		}
		if (!lines)
			continue;
		if (open)
			fputs("\"/>\n", f);
		for (i = 0; i < r->ndays; i++)
			if (s[k].have[i])
				fprintf(f, "<circle class=\"dot\" cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"%s\"/>\n",
					X0 + slot * ((double)i + 0.5),
					Y1 - (double)s[k].v[i] / (double)max *
						     (Y1 - Y0),
					s[k].colour);
	}
	fputs("</svg>\n", f);
	legend(f, s, ns);
}

/* Top directories: one horizontal bar per directory, its path above. */
static void dirs_chart(FILE *f, const struct vf_report *r)
{
	uint64_t max = 1;
	char t[32];
	size_t i;
	int h = 56 * (int)r->ndirs + 10;

	fputs("<h2>Top directories by growth</h2>\n", f);
	if (!r->ndirs) {
		fputs("<p>No file was written in the period.</p>\n", f);
		return;
	}
	for (i = 0; i < r->ndirs; i++)
		if (r->dirs[i].bytes > max)
			max = r->dirs[i].bytes;
	fprintf(f, "<svg id=\"dirs\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"top directories\">\n",
		W, h);
	for (i = 0; i < r->ndirs; i++) {
		double len = (double)r->dirs[i].bytes / (double)max * (W - 20);
		int y = 10 + 56 * (int)i;

		num_text(r->dirs[i].bytes, 1, t, sizeof(t));
		fprintf(f, "<text x=\"10\" y=\"%d\" font-size=\"%d\">", y + 16,
			FONT + 2);
		html_str(f, r->dirs[i].path);
		fprintf(f, " (%s, %llu files)</text>\n", t,
			(unsigned long long)r->dirs[i].files);
		fprintf(f, "<rect class=\"bar\" x=\"10\" y=\"%d\" width=\"%.1f\" height=\"20\" fill=\"#8c564b\"/>\n",
			y + 24, len < 2 ? 2 : len);
	}
	fputs("</svg>\n", f);
}

static void posture_html(FILE *f, const struct vf_posture *p,
			 const char *target)
{
	size_t i;
	int k;

	fputs("<h2>Security posture: ", f);
	html_str(f, p->name);
	fputs("</h2>\n<ul>\n", f);
	for (k = 0; k < VF_PC_COUNT; k++) {
		fprintf(f, "<li>%s %s", p->met[k] ? "&#x2611;" : "&#x2610;",
			posture_conds[k].what);
		if (!p->met[k]) {
			fprintf(f, "%s: <code>%s ", p->pending[k] ? " (pending)" : "",
				posture_conds[k].cmd);
			html_str(f, target);
			fprintf(f, " %s</code>", posture_conds[k].args);
		}
		fputs("</li>\n", f);
	}
	fputs("</ul>\n", f);
	for (i = 0; i < n_posture_weak; i++)
		if (p->weak & posture_weak[i].bit)
			fprintf(f, "<p class=\"weak\">Weak: %s</p>\n",
				posture_weak[i].what);
}

static void alerts_html(FILE *f, const struct vf_report *r)
{
	char t[32];
	size_t i;

	fputs("<h2>Alerts</h2>\n<table><tr>", f);
	for (i = 0; i < VF_ALERT_KIND_COUNT; i++)
		fprintf(f, "<th>%s</th>",
			vf_alert_kind_name((enum vf_alert_kind)i));
	fputs("</tr><tr>", f);
	for (i = 0; i < VF_ALERT_KIND_COUNT; i++)
		fprintf(f, "<td>%llu</td>",
			(unsigned long long)r->alerts_by_kind[i]);
	fputs("</tr></table>\n", f);
	if (!r->nalerts)
		return;
	fputs("<table class=\"list\"><tr><th>time</th><th>kind</th><th>what</th></tr>\n",
	      f);
	for (i = 0; i < r->nalerts; i++) {
		vf_time_format(r->alerts[i].t, t);
		fprintf(f, "<tr><td>%s</td><td>", t);
		html_str(f, r->alerts[i].kind);
		fputs(" (", f);
		html_str(f, r->alerts[i].sev);
		fputs(")</td><td>", f);
		html_str(f, r->alerts[i].what);
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n", f);
}

/* Fills series k of s from the report's days: field at offset off. */
static void fill(struct series *s, const struct vf_report *r, size_t off,
		 int sizes)
{
	size_t i;

	for (i = 0; i < r->ndays; i++) {
		s->have[i] = sizes ? r->days[i].have_sizes : 1;
		memcpy(&s->v[i], (const char *)&r->days[i] + off,
		       sizeof(uint64_t));
	}
}

void report_html(FILE *f, const struct vf_report *r, const char *target)
{
	static const struct {
		const char *name, *colour;
		size_t off;
	} sz[] = {
		{ "logical", "#1f77b4", offsetof(struct vf_report_day, logical) },
		{ "stored", "#ff7f0e", offsetof(struct vf_report_day, stored) },
		{ "history", "#2ca02c", offsetof(struct vf_report_day, history) },
		{ "soft-deleted", "#d62728",
		  offsetof(struct vf_report_day, softdeleted) },
	}, act[] = {
		{ "changed", "#17becf", offsetof(struct vf_report_day, changed) },
		{ "deleted", "#e377c2", offsetof(struct vf_report_day, deleted) },
		{ "restored", "#bcbd22",
		  offsetof(struct vf_report_day, restored) },
	};
	const struct vf_sizes *s = &r->sizes;
	struct series *se = calloc(VF_ARRAY_LEN(sz), sizeof(*se));
	char a[32], b[32];
	size_t i;

	vf_time_format(r->since, a);
	vf_time_format(r->now, b);
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<title>vaultfs report: ", f);
	html_str(f, target);
	fputs("</title>\n<style>\n"
	      "body{font-family:sans-serif;max-width:900px;margin:0 auto;padding:8px;color:#222}\n"
	      "svg{display:block;width:100%;height:auto;max-width:100%;background:#fff}\n"
	      "h1{font-size:1.3em}h2{font-size:1.1em;margin-top:1.5em}\n"
	      "table{border-collapse:collapse;font-size:.9em;display:block;overflow-x:auto}\n"
	      "td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}\n"
	      ".legend span{margin-right:1em;white-space:nowrap}\n"
	      ".legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle}\n"
	      "code{word-break:break-all}.weak{color:#a00}\n"
	      "</style></head><body>\n<h1>vaultfs report: ", f);
	html_str(f, target);
	fprintf(f, "</h1>\n<p>%s to %s (%zu days, UTC)</p>\n", a, b, r->ndays);
	fprintf(f, "<table><tr><th>files</th><th>versions</th><th>recovery points</th></tr>"
		   "<tr><td>%llu</td><td>%llu</td><td>%llu</td></tr></table>\n",
		(unsigned long long)s->files, (unsigned long long)s->versions,
		(unsigned long long)s->points);
	posture_html(f, &r->posture, target);
	if (!se) {
		fputs("<p>(charts left out: out of memory)</p>\n", f);
	} else {
		for (i = 0; i < VF_ARRAY_LEN(sz); i++) {
			se[i].name = sz[i].name;
			se[i].colour = sz[i].colour;
			fill(&se[i], r, sz[i].off, 1);
		}
		chart(f, r, "Size over time", "sizes", se, VF_ARRAY_LEN(sz),
		      1, 1);
		se[0].name = "recovery points";
		se[0].colour = "#9467bd";
		fill(&se[0], r, offsetof(struct vf_report_day, points), 0);
		chart(f, r, "Recovery points per day", "points", se, 1, 0, 0);
		for (i = 0; i < VF_ARRAY_LEN(act); i++) {
			se[i].name = act[i].name;
			se[i].colour = act[i].colour;
			fill(&se[i], r, act[i].off, 0);
		}
		chart(f, r, "Files changed, deleted and restored per day",
		      "activity", se, VF_ARRAY_LEN(act), 0, 0);
	}
	free(se);
	alerts_html(f, r);
	dirs_chart(f, r);
	fputs("</body></html>\n", f);
}
