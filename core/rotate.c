/*
 * rotate.c - the data key rotation's background job (rotate.h).
 *
 * Invariants:
 * - Old epochs are destroyed only in a transaction that finds no pack of
 *   theirs in the catalog while no file is in a dirty session (v->mu
 *   held): a dirty file may hold chunks sealed under an old epoch in a
 *   pack no commit has named yet (gc.c has the same rule), and its commit
 *   would name that pack; the next run then re-encrypts it.
 * - The pack the writer is appending to is closed to appends before it
 *   is rewritten (gc never rewrites the current pack).
 */
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "datakey.h"
#include "gc.h"
#include "rotate.h"
#include "vclock.h"

/* The next pack of an epoch below cur after id last: 1 found, 0 none,
 * -errno. */
static int next_pack(struct vf_vault *v, uint32_t cur, int64_t last,
		     int64_t *id, char name[VF_PACK_NAME_LEN + 1],
		     uint32_t *epoch)
{
	int rc;

	vf_vault_lock(v);
	rc = vf_gc_pack_row(v, VF_Q_ROT_NEXT, cur, last, id, name, epoch);
	vf_vault_unlock(v);
	return rc;
}

/* Destroys the epochs below the current one when nothing of theirs is
 * left: 0 done, 1 not yet, -errno. */
static int destroy_old(struct vf_vault *v, uint32_t uid, uint32_t cur)
{
	uint64_t left = 1;
	char detail[128];
	int rc;

	vf_vault_lock(v);
	if (v->n_dirty) {
		vf_vault_unlock(v);
		return 1;
	}
	rc = vf_catalog_begin(v->cat);
	if (rc) {
		vf_vault_unlock(v);
		return rc;
	}
	rc = vf_datakey_packs_below(v, cur, &left);
	if (!rc && left == 0) {
		snprintf(detail, sizeof(detail),
			 "data key epochs %u to %u destroyed: every pack is sealed under epoch %u",
			 vf_datakey_floor(v), cur - 1, cur);
		rc = vf_datakey_destroy_store(v);
		/* no destruction without its record */
		if (!rc)
			rc = vf_audit_record(v, vf_vault_stamp(v), uid,
					     "key destroy", "data", "ok",
					     detail);
	}
	rc = vf_catalog_finish(v->cat, rc);
	if (!rc && left == 0)
		rc = vf_catalog_sync(v->cat);
	if (!rc && left == 0)
		rc = vf_datakey_load(v);
	vf_vault_unlock(v);
	return rc < 0 ? rc : left ? 1 : 0;
}

int vf_rotate_run(struct vf_vault *v, uint32_t uid, const volatile int *stop,
		  uint64_t *moved)
{
	char name[VF_PACK_NAME_LEN + 1], cur_name[VF_PACK_NAME_LEN + 1];
	uint32_t cur, epoch = 0;
	uint64_t n = 0;
	int64_t id = 0, last = 0;
	int rc, left = 0;

	if (v->readonly)
		return -EROFS;
	cur = vf_datakey_current(v);
	if (vf_datakey_floor(v) == cur)
		return 0;
	for (;;) {
		if (stop && *stop) {
			left = 1;
			break;
		}
		rc = next_pack(v, cur, last, &id, name, &epoch);
		if (rc < 0)
			goto out;
		if (rc == 0)
			break;
		last = id;
		/* gc skips the pack being appended to: close it first */
		if (vf_pack_writer_current(v->pw, cur_name) &&
		    !strcmp(cur_name, name)) {
			rc = vf_pack_writer_rotate(v->pw, 0);
			if (rc < 0)
				goto out;
		}
		rc = vf_gc_rewrite(v, id, name, epoch);
		if (rc == -EBUSY) {
			left = 1; /* files kept being written */
			continue;
		}
		if (rc < 0)
			goto out;
		n += (uint64_t)rc;
	}
	rc = left ? 1 : destroy_old(v, uid, cur);
out:
	if (moved)
		*moved = n;
	return rc;
}
