/*
 * progress.h - the progress line of vaultctl's long commands (check
 * --read-data, gc, prune, restore, undelete): core's progress callback
 * (vault.h, struct vf_progress) turned into text for a person or JSON
 * events for a program.  docs/progress.md has the formats and the rules
 * for when anything is shown.
 *
 * Where it runs: in vaultctl for offline and client commands, in the
 * daemon for a command that came over the control socket; either way it
 * writes only to the command's err stream, which the control socket
 * carries back to vaultctl's stderr as the command runs.  Whether the
 * caller's stderr is a terminal is decided by vaultctl, which adds
 * --progress to the command line when it is (vf_cmds_locate's
 * progress_at): the daemon never guesses.
 */
#ifndef VF_PROGRESS_H
#define VF_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

#include "vault.h"

enum progress_mode {
	PROGRESS_OFF = 0,
	PROGRESS_LINE = 1, /* one line redrawn in place with \r, cleared */
	PROGRESS_JSON = 2, /* one JSON object per line */
};

struct progress {
	FILE *f;
	enum progress_mode mode;
	int64_t start_ms, last_ms; /* when the work began; the last output */
	int drawn;                 /* a line is on the screen */
	struct vf_progress cb;     /* what core calls: progress_fn, this */
};

/* Sets p up to write to f: off unless on; JSON events when json. */
void progress_init(struct progress *p, FILE *f, int on, int json);

/* The callback for core (struct vf_progress's fn, arg a struct
 * progress): draws at most 5 times a second (a JSON event at most once a
 * second), and at done clears the line (or writes the last event). */
void progress_fn(void *arg, const struct vf_progress_state *s);

/* The core callback of p, or NULL when p is off. */
const struct vf_progress *progress_cb(struct progress *p);

/* Reads --progress / --no-progress (each a flag): 0 and *on, or 2 after
 * a usage error when both are given. */
struct cmd;
int progress_opts(const struct cmd *c, FILE *err, int progress,
		  int no_progress, int *on);

#endif
