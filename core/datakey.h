/*
 * datakey.h - data key epochs: the keys chunks are sealed under
 * (docs/keys-rotation.md).
 *
 * Epoch 0 is the master key's DATA subkey (every vault had it before
 * data keys could rotate, so old packs need no rewrite).  Epochs 1, 2, ...
 * are random 32-byte keys, each sealed under the master's KEYWRAP subkey
 * with its epoch number as associated data and kept in the catalog's
 * datakeys table.  meta "data.epoch" is the epoch new chunks are sealed
 * under; meta "data.floor" the lowest epoch still in use: a pack naming
 * an epoch below it is refused (that key is destroyed: its row is gone,
 * and epoch 0's key, which the master still derives, is never used
 * again).
 *
 * In memory the keys of the live epochs hang off the vault (v->dk), in
 * sodium_malloc'd memory, under a read-write lock: sealing and opening
 * take it shared, vf_datakey_load exclusive.
 *
 * Threads: any thread.  vf_datakey_load and vf_datakey_new_store need
 * v->mu (and, for the store, the caller's transaction).
 */
#ifndef VF_DATAKEY_H
#define VF_DATAKEY_H

#include "vault_int.h"

/* (Re)reads the epochs from the catalog (v->mu held) and replaces the
 * keys in memory, wiping the old ones.  -EBADMSG when a key row fails
 * authentication, -EIO, -ENOMEM. */
VF_MUST int vf_datakey_load(struct vf_vault *v);

/* Wipes and frees the keys; accepts a vault without any. */
void vf_datakey_free(struct vf_vault *v);

/* The epoch new chunks are sealed under, and the lowest live one. */
uint32_t vf_datakey_current(struct vf_vault *v);
uint32_t vf_datakey_floor(struct vf_vault *v);

/* vf_pack_encode under the current epoch's key; *epoch gets that epoch
 * (the pack the blob goes into must be of that epoch). */
VF_MUST ssize_t vf_datakey_encode(struct vf_vault *v,
				  const uint8_t id[VF_CHUNK_ID_BYTES],
				  const void *raw, size_t n, void *out,
				  uint32_t *epoch);

/* vf_pack_decode under epoch's key; -EBADMSG when that epoch is not
 * live (destroyed, or never made). */
VF_MUST ssize_t vf_datakey_decode(struct vf_vault *v, uint32_t epoch,
				  const uint8_t id[VF_CHUNK_ID_BYTES],
				  const void *sealed, size_t n, void *out,
				  size_t cap);

/* Re-seals a blob of epoch from under the current epoch into out (same
 * length n); *to gets the current epoch.  Errors as vf_pack_reseal, and
 * -EBADMSG for an epoch that is not live. */
VF_MUST int vf_datakey_reseal(struct vf_vault *v, uint32_t from,
			      const uint8_t id[VF_CHUNK_ID_BYTES],
			      const void *sealed, size_t n, void *out,
			      uint32_t *to);

/* Counts the packs the catalog names of epochs below epoch into *n (v->mu
 * held).  0 or -errno. */
VF_MUST int vf_datakey_packs_below(struct vf_vault *v, uint32_t epoch,
				   uint64_t *n);

/* Makes a new epoch (current + 1) with a fresh random key and makes it
 * current in the catalog, and counts the packs of older epochs into meta
 * "data.rot_total" (v->mu held, inside the caller's transaction).  The
 * keys in memory change only with the next vf_datakey_load, which the
 * caller runs once the transaction committed.  *epoch gets the new
 * epoch, *packs the count. */
VF_MUST int vf_datakey_new_store(struct vf_vault *v, int64_t now,
				 uint32_t *epoch, uint64_t *packs);

/* Destroys every epoch below the current one (v->mu held, inside the
 * caller's transaction, which has checked that no pack of those epochs
 * is left): deletes their rows and raises meta "data.floor".  Takes
 * effect in memory with the next vf_datakey_load. */
VF_MUST int vf_datakey_destroy_store(struct vf_vault *v);

/* Test support: copies epoch's key into key (tests/ only: proves that
 * no pack opens under a destroyed key).  0, or -ENOENT when the epoch is
 * not live. */
VF_MUST int vf_datakey_export(struct vf_vault *v, uint32_t epoch,
			      uint8_t key[VF_KEY_BYTES]);

#endif
