/*
 * remote.h - making a remote vault and recovering one from its object
 * store (docs/remote-store.md).  Shipping is ship.h.
 */
#ifndef VF_REMOTE_H
#define VF_REMOTE_H

#include "crypto.h"
#include "objstore.h"

/* Creates a vault in dir (as vf_vault_create) whose durable copy lives in
 * the store cfg names.  Before anything is made: the store must answer
 * and hold no object (else -EEXIST, "store ... is not empty").  Then the
 * local vault, VAULT/store.conf, and the object "hdr" (vault.hdr: the
 * master key, sealed by the protector).  On failure nothing is left (the
 * local directory is removed as vf_vault_create does).  One line in err. */
VF_MUST int vf_remote_create(const char *dir, const struct vf_protector_opts *o,
			     const struct vf_store_cfg *cfg, char *err,
			     size_t errlen);

struct vf_recover_info {
	uint64_t seq;          /* the checkpoint recovered */
	int64_t t;             /* its vault stamp (ns) */
	uint64_t packs;        /* packs downloaded */
	uint64_t bytes;        /* bytes downloaded (packs and catalog) */
	uint64_t catalog_bytes;
	int detached;          /* --at: not shipping to the store */
	uint64_t skipped;      /* checkpoints that are not the vault's
				  (time missing or not authentic) */
	uint64_t full;         /* the full checkpoint the catalog starts
				  from (seq itself when no segment) */
	uint64_t segments;     /* segments applied on top of it */
	uint64_t broken;       /* the segment that ended the chain before
				  the target (0: none); seq is then the
				  state before it */
	char why[256];         /* its reason: "c/...d: not authentic ..." */
	int64_t lock_period_s; /* the vault's lock period (0: the default) */
};

/* Recovers the vault in the store cfg names into dir, which must not
 * exist or be empty, with the key o gives: fetches the headers (every
 * h/<hash> newest first, then "hdr"; ship.h) until one opens with o
 * (-EBADMSG and "wrong key ..." when none does), the newest checkpoint or
 * segment (with at > 0: the newest whose stamp is <= at), built from the
 * newest full checkpoint before it and the segments after that, in order
 * (a missing or non-authentic segment ends the chain: info->broken),
 * every pack it references
 * (eagerly), writes fresh anchors above any this machine has for the
 * vault, checks the catalog as `check` does and, unless at > 0, writes
 * store.conf so that the vault keeps shipping to the store.  On failure
 * nothing is left in dir.  One line in err. */
VF_MUST int vf_remote_recover(const struct vf_store_cfg *cfg, const char *dir,
			      const struct vf_protector_opts *o, int64_t at,
			      struct vf_recover_info *info, char *err,
			      size_t errlen);

/* The stamp of checkpoint seq, from its sealed time object c/<seq>.t
 * (akey: the anchor subkey): 0, -EBADMSG when it fails authentication,
 * or the store's error (-ENOENT: no time object); one line in
 * vf_objstore_errmsg. */
VF_MUST int vf_remote_ckpt_time(struct vf_objstore *st, const uint8_t *akey,
				uint64_t seq, int64_t *t);

#endif
