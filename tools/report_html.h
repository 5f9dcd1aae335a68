/*
 * report_html.h - the usage report as one self-contained HTML page: inline
 * CSS and inline SVG charts, no script, no external URL, readable on a
 * phone (the charts scale with the page: viewBox, width 100%).
 */
#ifndef VF_REPORT_HTML_H
#define VF_REPORT_HTML_H

#include <stdio.h>

#include "report.h"

/* Writes the page for r to f; target is named in the title and in the
 * commands that meet a posture condition.  Every text that comes from
 * the vault or the caller is HTML-escaped. */
void report_html(FILE *f, const struct vf_report *r, const char *target);

#endif
