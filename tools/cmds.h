/*
 * cmds.h - the vaultctl command table, shared by the vaultctl binary
 * (offline, against a vault directory) and the daemon (online, for a
 * request on the control socket).  A command parses its arguments, makes
 * one core call and prints: data to out, errors (one line) to err.
 * Returns the exit code: 0 ok, 1 refused or failed, 2 usage.
 *
 * A few commands are "client" commands (restore, undelete): they run in
 * vaultctl itself, with the caller's own identity, through the mounted
 * tree, so that the kernel checks every access as for any other program;
 * they never run in the daemon or offline.
 */
#ifndef VF_CMDS_H
#define VF_CMDS_H

#include <stdio.h>

#include "cmd_ctx.h"
#include "vault.h"


/* Runs argv (argv[0] is the group, e.g. "check" or "role"; TARGET already
 * removed) against ctx.  Returns the exit code. */
int vf_cmds_run(struct vf_cmd_ctx *ctx, int argc, char **argv);

/* 1 when the command needs no open vault (init, help, guard keygen...). */
int vf_cmds_is_standalone(const char *group);

/* Where a command line stands, from vf_cmds_locate. */
struct vf_cmd_info {
	int target;     /* index of TARGET in argv; -1 for a standalone command */
	int open_flags; /* vf_vault_open flags for offline use (VF_OPEN_RDONLY) */
	int client;     /* 1: runs in vaultctl through the mount (vf_cmds_run_client) */
	int help;       /* 1: --help was asked for (vf_cmds_help); target is -1 */
	int progress_at; /* the command takes --progress: where an option
			    may go in argv (after group and verb); else 0 */
};

/* Finds the command of argv (argv[0] is the group, TARGET still in place)
 * without running it.  TARGET is the first operand after the group and
 * verb (options may come before it; their values are skipped by the
 * command's option table; "--" ends the options).  Returns 0 and fills *info; 2 on a usage error (an
 * unknown group or verb, a missing TARGET: the usage lines are printed to
 * err); 1 when the command is not available in this version (one line to
 * err).  Any thread. */
int vf_cmds_locate(int argc, char **argv, struct vf_cmd_info *info, FILE *err);

/* Prints the usage line and the options of the command of argv to out
 * (--help).  Returns 0, or the exit code of a lookup failure (printed to
 * err). */
int vf_cmds_help(int argc, char **argv, FILE *out, FILE *err);

/* Runs a standalone command (argv[0] is its group).  Returns the exit code.
 * Called by vaultctl only, never by the daemon. */
int vf_cmds_run_standalone(int argc, char **argv, FILE *out, FILE *err);

/* A client command's handler, by group ("restore"). */
struct cmd;
struct vf_cmd_client {
	const char *group;
	int (*fn)(struct vf_cmd_ctx *ctx, const struct cmd *c, int argc,
		  char **argv);
};

/* Runs a client command (argv[0] is its group, TARGET still in place) in
 * this process, as its caller, with its handler from clients (nclients
 * entries; a command without one fails with exit 1).  The shared table
 * names no client handler, so that the daemon, which links this table,
 * does not link the client code (restore.c) either.  Returns the exit
 * code.  Called by vaultctl only, never by the daemon. */
int vf_cmds_run_client(int argc, char **argv,
		       const struct vf_cmd_client *clients, size_t nclients,
		       FILE *out, FILE *err);

/* Takes the key options (--passphrase-file, --key-file, --key-command,
 * --keystore; "--opt VALUE" or "--opt=VALUE") out of argv, shifting the
 * rest down and updating *argc; scanning stops at "--".  o's strings point
 * into argv (borrowed).  Returns 0, or 2 on a usage error (one line to err,
 * no usage line: the caller prints it with vf_cmds_usage). */
int vf_cmds_take_key_opts(int *argc, char **argv, struct vf_protector_opts *o,
			  FILE *err);

/* Looks path (resolved, as /proc/self/mountinfo spells mountpoints) up in
 * the mount table.  With fstype NULL: 1 when anything is mounted there;
 * else 1 when the topmost mount there has that type ("fuse.vaultfs").
 * Returns 0 when not, -errno when the table cannot be read.  Any thread.
 * Shared by vaultctl and mount.vaultfs. */
int vf_cmds_mountinfo_find(const char *path, const char *fstype);

/* Prints "usage: ..." for the command of argv (all verbs of its group when
 * the verb is missing or unknown, the general line when the group is). */
void vf_cmds_usage(FILE *err, int argc, char **argv);

#endif
