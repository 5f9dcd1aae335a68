/*
 * ctlsock.h - the daemon's control socket: how vaultctl reaches a mounted
 * vault with the caller's own identity.
 *
 * The daemon listens on a Unix stream socket at
 *   /run/vaultfs/<32 hex digits of BLAKE2b-128(realpath(mountpoint))>.sock
 * (directory 0755, socket 0666: anyone may connect; roles decide).  The
 * caller's uid/gid/pid come from SO_PEERCRED, never from the request.
 *
 * Wire format (all integers little-endian u32):
 *   request:  argc, then argc times (length, bytes) - the vaultctl argv
 *             after the program name, with TARGET included as given.
 *   response: a stream of frames (kind u8: 1 stdout, 2 stderr, 3 exit),
 *             each with u32 length and bytes; the exit frame carries the
 *             exit code as a u32 and ends the response.
 * Requests larger than 1 MiB are refused.
 */
#ifndef VF_CTLSOCK_H
#define VF_CTLSOCK_H

#include "vault.h"

struct vf_ctlsock;

#define VF_CTLSOCK_DIR "/run/vaultfs"

/* Limits of a request (the listener refuses more). */
#define VF_CTLSOCK_REQ_MAX (1u << 20)
#define VF_CTLSOCK_ARGC_MAX 4096

/* Computes the socket path for a mountpoint into buf.  Returns 0 or -errno
 * (the mountpoint must exist). */
int vf_ctlsock_path(const char *mountpoint, char *buf, size_t cap);

/* Starts a listener thread serving commands against v (borrowed) for the
 * vault mounted at mountpoint.  Returns 0 or -errno; one line in err.
 * The path is computed with realpath(mountpoint): call this before the
 * FUSE mount is live (or while its session loop already runs), never from
 * the thread that serves FUSE requests.  -EADDRINUSE when another daemon
 * answers on the same socket; a socket nobody answers is replaced.
 * Connections are served by up to 8 threads at once, all signals blocked;
 * each command runs vf_cmds_run with online = 1 and the SO_PEERCRED
 * identity.  Call from the daemon's main thread. */
int vf_ctlsock_start(struct vf_vault *v, const char *mountpoint,
		     struct vf_ctlsock **out, char *err, size_t errlen);

/* Stops the listener, waits for running commands (connections still
 * sending their request are cut), removes the socket if it is still ours;
 * accepts NULL.  Call before vf_vault_close. */
void vf_ctlsock_stop(struct vf_ctlsock *s);

/* Client side: sends argv to the daemon serving mountpoint, copies its
 * stdout/stderr frames to ours and returns its exit code; -errno when the
 * socket cannot be reached (-ENOENT: no daemon serves that path). */
int vf_ctlsock_call(const char *mountpoint, int argc, char **argv);

#endif
