/*
 * spool.h - the spool of dirty blocks, private to core/ (spool.c has the
 * layout).  Any thread; the spool has its own lock, taken alone.
 */
#ifndef VF_SPOOL_H
#define VF_SPOOL_H

#include "vault_int.h"

/* _init: no spool file yet (first thing at open); _release: closes it
 * and frees the free list (last thing at close; also after a failed
 * open).  vf_spool_open creates the spool file in v->dir; err gets a
 * one-line reason.  vf_spool_close closes it (a spool never opened too). */
VF_MUST int vf_spool_init(struct vf_vault *v);
void vf_spool_release(struct vf_vault *v);
VF_MUST int vf_spool_open(struct vf_vault *v, char *err, size_t errlen);
void vf_spool_close(struct vf_vault *v);
/* A free slot (always 0) / gives one back. */
VF_MUST int vf_spool_alloc(struct vf_vault *v, uint64_t *slot);
void vf_spool_free_slot(struct vf_vault *v, uint64_t slot);
/* Seals and writes / reads and opens the VF_SPOOL_BLOCK bytes of slot:
 * -ENOSPC, -EIO, -EBADMSG (a block that does not authenticate), -ENOMEM. */
VF_MUST int vf_spool_write(struct vf_vault *v, uint64_t slot,
			   const uint8_t *blk);
VF_MUST int vf_spool_read(struct vf_vault *v, uint64_t slot, uint8_t *blk);

/* Bytes of file data held in the spool now (slots in use): data that
 * still needs room in a pack when its file is committed.  Any thread. */
uint64_t vf_spool_pending(struct vf_vault *v);

#endif
