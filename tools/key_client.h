/*
 * key_client.h - vaultctl's side of the key commands (cmd_key.c): it
 * reads what the caller gives (a key file, a key command's output, a
 * passphrase from a file or the terminal) as the caller, so the daemon
 * never opens a path or runs a command it was told to, and writes a
 * recovery key to the caller's --out FILE (mode 0600, never over an
 * existing file).  vaultctl only.
 */
#ifndef VF_KEY_CLIENT_H
#define VF_KEY_CLIENT_H

#include "cmds.h"

struct vf_key_client {
	const char *out;   /* --out FILE, or NULL */
	int words;         /* --words */
	int rotate;        /* key rotate (else key export) */
	char *tmp;         /* the temporary file stdout goes to */
	int saved;         /* the real stdout while redirected (-1) */
	char **argv;       /* the rewritten argv (owned), or NULL */
	char *secrets[2];  /* hex secrets in it (sodium_malloc'd) */
};

/* Rewrites argc and argv of a key add, key export, key rotate or
 * passphrase change (info from vf_cmds_locate): FILE, CMD and
 * passphrases become --secret HEX (or --current-secret and --new-secret);
 * "--out FILE" becomes "--out -" and --words goes.  Other commands are
 * left alone.  Returns 0, or the exit code after one line on stderr. */
int vf_key_client_prepare(int *argc, char ***argv,
			  const struct vf_cmd_info *info,
			  struct vf_key_client *kc);

/* With --out: checks FILE does not exist and sends stdout to a temporary
 * file beside it.  0 or 1. */
int vf_key_client_begin(struct vf_key_client *kc);

/* Ends what begin started: when rc is 0 and the command printed a
 * recovery key, links it as FILE (no replace), says so and, with
 * --words, prints the key for paper; otherwise removes the temporary
 * file.  Frees kc.  Returns the exit code. */
int vf_key_client_end(struct vf_key_client *kc, int rc);

#endif
