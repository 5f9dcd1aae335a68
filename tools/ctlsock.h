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
 *   response: a stream of frames (kind u8: 1 stdout, 2 stderr, 3 exit,
 *             4 ack), each with u32 length and bytes; the empty ack frame
 *             comes first, once the whole request is in; the exit frame
 *             carries the exit code as a u32 and ends the response.
 * Requests larger than 1 MiB are refused; a request not complete within
 * VF_CTLSOCK_REQ_DEADLINE_S of the connection is dropped.  Each uid but 0
 * may hold VF_CTLSOCK_CONN_PER_UID connections at once, and some are
 * kept for root alone; a connection over the limit gets one stderr line
 * and exit code 1 at once.
 */
#ifndef VF_CTLSOCK_H
#define VF_CTLSOCK_H

#include "vault.h"

struct vf_ctlsock;

#define VF_CTLSOCK_DIR "/run/vaultfs"
/* notes of failed unlocks (core/alert.h), one per vault */
#define VF_UNLOCK_DIR VF_CTLSOCK_DIR "/unlock"

/* Limits of a request (the listener refuses more). */
#define VF_CTLSOCK_REQ_MAX (1u << 20)
#define VF_CTLSOCK_ARGC_MAX 4096
/* Seconds a client has to send its whole request. */
#define VF_CTLSOCK_REQ_DEADLINE_S 5
/* Connections one non-root uid may hold at once. */
#define VF_CTLSOCK_CONN_PER_UID 2
/* Seconds vaultctl waits for the daemon to take its request
 * (VAULTCTL_TIMEOUT in the environment, 1 to 3600, overrides it). */
#define VF_CTLSOCK_TIMEOUT_S 10

/* Computes the socket path for a mountpoint into buf.  Returns 0 or -errno
 * (the mountpoint must exist). */
int vf_ctlsock_path(const char *mountpoint, char *buf, size_t cap);

/* Starts a listener thread serving commands against v (borrowed) for the
 * vault mounted at mountpoint.  Returns 0 or -errno; one line in err.
 * The path is computed with realpath(mountpoint): call this before the
 * FUSE mount is live (or while its session loop already runs), never from
 * the thread that serves FUSE requests.  -EADDRINUSE when another daemon
 * answers on the same socket; a socket nobody answers is replaced.
 * Connections are served by up to 16 threads at once, all signals blocked;
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
 * socket cannot be reached (-ENOENT: no daemon serves that path;
 * -ETIMEDOUT: it did not take the request within vf_ctlsock_timeout_s). */
int vf_ctlsock_call(const char *mountpoint, int argc, char **argv);

/* The client's timeout in seconds: VAULTCTL_TIMEOUT or
 * VF_CTLSOCK_TIMEOUT_S. */
unsigned vf_ctlsock_timeout_s(void);

/* ---- streams (vaultctl backup, docs/backup.md) ---------------------------
 * After the ack, a streaming command's client sends items: frames of the
 * same shape (kind u8, length u32, bytes), each with at most one file
 * descriptor passed with SCM_RIGHTS on its first byte; the daemon answers
 * with stdout/stderr frames, its own reply frames (kind
 * VF_CTLSOCK_FRAME_BATCH) and the exit frame. */
#define VF_CTLSOCK_FRAME_BATCH 5
#define VF_CTLSOCK_EXIT 1000

/* Sends one item frame (passfd -1: none).  0 or -errno. */
int vf_ctlsock_send_item(int fd, int kind, const void *data, uint32_t len,
			 int passfd);
/* Reads one item frame into buf (at most cap bytes: -E2BIG beyond); the
 * descriptor that came with it in *passfd (-1: none; any extra one is
 * closed).  0 or -errno. */
int vf_ctlsock_recv_item(int fd, int *kind, void *buf, uint32_t cap,
			 uint32_t *len, int *passfd);
/* Client: connects, sends argv (as vf_ctlsock_call), waits for the ack
 * (relaying what the daemon says before it) and gives the socket in
 * *fd.  -EPERM when the daemon refused the request (it said why). */
int vf_ctlsock_stream_open(const char *mountpoint, int argc, char **argv,
			   int *fd);
/* Client: relays stdout/stderr frames until a reply frame (its bytes in
 * buf, returns VF_CTLSOCK_FRAME_BATCH) or the exit frame (*code, returns
 * VF_CTLSOCK_EXIT); -errno when the daemon went away. */
int vf_ctlsock_stream_reply(int fd, void *buf, uint32_t cap, uint32_t *len,
			    int *code);
/* Daemon: sends a reply frame.  0 or -errno. */
int vf_ctlsock_send_reply(int fd, const void *data, uint32_t len);

#endif
