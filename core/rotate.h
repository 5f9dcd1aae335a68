/*
 * rotate.h - the data key rotation's background job: re-encrypts the packs
 * of older data key epochs under the current one, then destroys the old
 * epochs (docs/keys-rotation.md; the epochs themselves are datakey.h's).
 *
 * A pack is re-encrypted by gc's rewrite (gc.c: the live entries are
 * re-sealed into the writer's packs, synced, the catalog rows switched in
 * one transaction that is synced, then the old pack is removed), so a
 * kill at any point loses nothing: a pack the catalog no longer names is
 * removed by the next gc, and a pack it still names is rewritten by the
 * next run.  Memory: one batch of one pack at a time.
 *
 * Threads: any thread; takes v->mu in short batches.
 */
#ifndef VF_ROTATE_H
#define VF_ROTATE_H

#include "vault_int.h"

/* Runs the rotation until no pack of an older epoch is left, then (no
 * file being written) destroys the older epochs: deletes their keys,
 * audited ("key destroy", as uid).  Checks *stop (may be NULL) between
 * packs.  Returns 0 when no rotation is pending any more, 1 when work is
 * left for a later run (stopped, files being written, a pack that cannot
 * be read), or -errno.  *moved (may be NULL) gets the packs it
 * re-encrypted. */
VF_MUST int vf_rotate_run(struct vf_vault *v, uint32_t uid,
			  const volatile int *stop, uint64_t *moved);

#endif
