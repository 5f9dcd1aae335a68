/*
 * admin_keys.c - the gate's key operations: data key rotation
 * (docs/keys-rotation.md) and the protectors that wrap the master key.
 * Each runs the gate's steps (admin.c's opening comment; admin_int.h).
 */

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include <sodium.h>

#include "rotate.h"
#include "audit.h"
#include "datakey.h"
#include "vault_int.h"
#include "admin_int.h"

/* ---- data key rotation ----------------------------------------------------- */

int vf_admin_key_rotate_data(struct vf_vault *v, struct vf_admin *a,
			     uint32_t *epoch, uint64_t *packs)
{
	uint32_t cur, e = 0;
	uint64_t n = 0;
	struct vf_admin_change ch;
	char detail[128];
	int rc;

	rc = vf_admin_enter(v, a, VF_OP_KEY_ROTATE, &ch);
	if (rc)
		return rc;
	ch.target = "data";
	cur = vf_datakey_current(v);
	/* the approval binds the epoch it starts */
	snprintf(ch.params, sizeof(ch.params), "data epoch=%u",
		 (unsigned)cur + 1);
	rc = vf_policy_key_rotate_data(v->store != NULL,
				       vf_datakey_floor(v) != cur, &ch.gop,
				       a->why, sizeof(a->why));
	rc = vf_admin_approve(v, a, &ch, rc);
	if (!rc)
		rc = vf_datakey_new_store(v, ch.now, &e, &n);
	snprintf(detail, sizeof(detail),
		 "data key epoch %u is current; %llu packs to re-encrypt",
		 (unsigned)e, (unsigned long long)n);
	rc = vf_admin_finish(v, a, &ch, rc, detail);
	/* in memory only once committed: a key the catalog lacks must
	 * never seal anything */
	if (!rc) {
		rc = vf_datakey_load(v);
		if (rc)
			vf_admin_say(a,
				     "the new data key is stored but could not "
				     "be loaded: %s (remount)",
				     strerror(-rc));
	}
	vf_vault_unlock(v);
	if (!rc) {
		*epoch = e;
		*packs = n;
	}
	return rc;
}

int vf_admin_key_rotation_run(struct vf_vault *v, struct vf_admin *a,
			      const volatile int *stop, uint64_t *moved)
{
	int rc = vf_admin_read_gate(v, a, VF_OP_KEY_ROTATION);

	if (rc)
		return rc;
	return vf_admin_read_failed(
	    a, "re-encrypting packs",
	    vf_rotate_run(v, a->caller.uid, stop, moved));
}

/* ---- protectors -------------------------------------------------------------- */

/* Starts an edit of the vault header inside the gate (v->mu held). */
static int key_edit(struct vf_vault *v, struct vf_admin *a,
		    const struct vf_admin_change *ch,
		    struct vf_protector_edit **e, unsigned *n)
{
	struct vf_protector_info info[VF_PROTECTOR_MAX];
	int rc;

	*e = NULL;
	rc = vf_protector_edit_begin(v->dir, v->keystore, v->keys, ch->stamp,
				     e, a->why, sizeof(a->why));
	if (!rc)
		*n = (unsigned)vf_protector_edit_list(*e, info,
						      VF_ARRAY_LEN(info));
	return rc;
}

/* Ends a protector change: stages the new header, commits the audit
 * record (detail: what changed, never key material), then puts the
 * header in place and releases v->mu.  A record without its header is
 * possible (a failed rename after the commit: recorded as failed too);
 * a header without its record is not. */
static int key_leave(struct vf_vault *v, struct vf_admin *a,
		     struct vf_admin_change *ch, struct vf_protector_edit *e,
		     int rc, const char *detail)
{
	if (!rc)
		rc = vf_protector_edit_stage(e, a->why, sizeof(a->why));
	rc = vf_admin_finish(v, a, ch, rc, detail);
	if (!rc) {
		rc = vf_protector_edit_publish(e, a->why, sizeof(a->why));
		/* a failure to record it changes no answer */
		if (rc && vf_audit_record(v, ch->stamp, a->caller.uid,
					  ch->rule->name, ch->target, "failed",
					  a->why))
			rc = rc ? rc : -EIO;
	}
	vf_vault_unlock(v);
	vf_protector_edit_free(e);
	return rc;
}

static void key_id_text(uint64_t id, char buf[17])
{
	snprintf(buf, 17, "%016llx", (unsigned long long)id);
}

int vf_admin_key_list(struct vf_vault *v, struct vf_admin *a,
		      struct vf_protector_info *out, size_t cap, size_t *n)
{
	struct vf_protector_edit *e = NULL;
	int rc = vf_admin_read_gate(v, a, VF_OP_KEY_LIST);

	if (rc)
		return rc;
	vf_vault_lock(v);
	rc = vf_protector_edit_begin(v->dir, v->keystore, v->keys,
				     vf_admin_stamp_of(v, a), &e, a->why,
				     sizeof(a->why));
	if (!rc)
		*n = vf_protector_edit_list(e, out, cap);
	vf_vault_unlock(v);
	vf_protector_edit_free(e);
	return vf_admin_read_failed(a, "reading the vault header", rc);
}

/* Copies the recovery key text of e into text (cap bytes). */
static int recovery_out(struct vf_admin *a, struct vf_protector_edit *e,
			char *text, size_t cap)
{
	const char *t = vf_protector_edit_recovery(e);
	size_t len = t ? strlen(t) : 0;

	if (!t || len >= cap) {
		vf_admin_say(a, "no room for the recovery key");
		return -EINVAL;
	}
	memcpy(text, t, len + 1);
	return 0;
}

/* Adds a protector: of kind with secret (key add), or a new recovery key
 * whose text goes to text (op VF_OP_KEY_EXPORT; wiped on failure). */
static int key_new(struct vf_vault *v, struct vf_admin *a, enum vf_admin_op op,
		   uint32_t kind, const uint8_t *secret, size_t len, char *text,
		   size_t cap, struct vf_protector_info *info)
{
	int export = op == VF_OP_KEY_EXPORT;
	struct vf_protector_edit *e = NULL;
	struct vf_protector_info got;
	char detail[128] = "", id[17];
	struct vf_admin_change ch;
	unsigned n = 0;
	int rc;

	rc = vf_admin_enter(v, a, op, &ch);
	if (rc)
		return rc;
	rc = key_edit(v, a, &ch, &e, &n);
	if (export) {
		snprintf(ch.params, sizeof(ch.params),
			 "new recovery key; protectors=%u", n);
	} else if (!rc && kind == VF_PROT_RECOVERY) {
		vf_admin_say(a, "a recovery key is made by key export");
		rc = -EINVAL;
	}
	if (!rc)
		rc = vf_admin_approve(
		    v, a, &ch,
		    export ? vf_policy_key_export(n, VF_PROTECTOR_MAX, &ch.gop,
						  a->why, sizeof(a->why)) :
			     vf_policy_key_add(n, VF_PROTECTOR_MAX, a->why,
					       sizeof(a->why)));
	if (!rc)
		rc = vf_protector_edit_add(e, kind, secret, len, &got, a->why,
					   sizeof(a->why));
	if (!rc && export)
		rc = recovery_out(a, e, text, cap);
	if (!rc) {
		key_id_text(got.id, id);
		ch.target = id;
		if (export)
			snprintf(detail, sizeof(detail),
				 "exported recovery key, protector %s", id);
		else
			snprintf(detail, sizeof(detail),
				 "added %s protector %s%s",
				 vf_protector_kind_name(kind), id,
				 vf_protector_edit_upgrades(e) ?
					 "; header upgraded to format 2" :
					 "");
	}
	rc = key_leave(v, a, &ch, e, rc, detail);
	if (rc && export)
		sodium_memzero(text, cap);
	else if (!rc && info)
		*info = got;
	return rc;
}

int vf_admin_key_add(struct vf_vault *v, struct vf_admin *a, uint32_t kind,
		     const uint8_t *secret, size_t len,
		     struct vf_protector_info *info)
{
	return key_new(v, a, VF_OP_KEY_ADD, kind, secret, len, NULL, 0, info);
}

int vf_admin_key_export(struct vf_vault *v, struct vf_admin *a, char *text,
			size_t cap, struct vf_protector_info *info)
{
	return key_new(v, a, VF_OP_KEY_EXPORT, VF_PROT_RECOVERY, NULL, 0, text,
		       cap, info);
}

int vf_admin_key_remove(struct vf_vault *v, struct vf_admin *a, uint64_t id,
			struct vf_protector_info *info)
{
	struct vf_protector_info got;
	struct vf_protector_edit *e = NULL;
	char idt[17], detail[128] = "";
	struct vf_admin_change ch;
	unsigned n = 0;
	int rc;

	rc = vf_admin_enter(v, a, VF_OP_KEY_REMOVE, &ch);
	if (rc)
		return rc;
	key_id_text(id, idt);
	ch.target = idt;
	rc = key_edit(v, a, &ch, &e, &n);
	if (!rc) {
		struct vf_protector_info all[VF_PROTECTOR_MAX];
		size_t i, k = vf_protector_edit_list(e, all, VF_ARRAY_LEN(all));

		for (i = 0; i < k && all[i].id != id; i++)
			;
		if (i == k) {
			vf_admin_say(a, "no protector %s (see key list)", idt);
			rc = -ENOENT;
		} else {
			/* the approval binds the protector and its kind */
			snprintf(ch.params, sizeof(ch.params),
				 "protector=%s kind=%s", idt,
				 vf_protector_kind_name(all[i].kind));
		}
	}
	if (!rc)
		rc = vf_admin_approve(
		    v, a, &ch,
		    vf_policy_key_remove(n, &ch.gop, a->why, sizeof(a->why)));
	if (!rc)
		rc = vf_protector_edit_remove(e, id, &got, a->why,
					      sizeof(a->why));
	if (!rc)
		snprintf(detail, sizeof(detail), "removed %s protector %s",
			 vf_protector_kind_name(got.kind), idt);
	rc = key_leave(v, a, &ch, e, rc, detail);
	if (!rc && info)
		*info = got;
	return rc;
}

int vf_admin_key_rotate(struct vf_vault *v, struct vf_admin *a,
			int new_recovery, char *text, size_t cap, unsigned *n)
{
	struct vf_protector_info all[VF_PROTECTOR_MAX];
	struct vf_protector_edit *e = NULL;
	unsigned plat = 0, rec = 0, count = 0, done = 0;
	char detail[160] = "";
	struct vf_admin_change ch;
	size_t i, k;
	int rc;

	rc = vf_admin_enter(v, a, VF_OP_KEY_ROTATE, &ch);
	if (rc)
		return rc;
	rc = key_edit(v, a, &ch, &e, &count);
	if (!rc) {
		k = vf_protector_edit_list(e, all, VF_ARRAY_LEN(all));
		for (i = 0; i < k; i++) {
			plat += all[i].kind == VF_PROT_PLATFORM;
			rec += all[i].kind == VF_PROT_RECOVERY;
		}
		snprintf(ch.params, sizeof(ch.params),
			 "rotate platform=%u recovery=%u", plat, rec);
		rc = vf_admin_approve(v, a, &ch, vf_policy_key_rotate(&ch.gop));
	}
	if (!rc)
		rc = vf_protector_edit_rotate(e, new_recovery, &done, a->why,
					      sizeof(a->why));
	if (!rc && rec)
		rc = recovery_out(a, e, text, cap);
	if (!rc)
		snprintf(detail, sizeof(detail),
			 "new wrapping keys for %u protectors (platform %u, "
			 "recovery %u)", done, plat, rec);
	rc = key_leave(v, a, &ch, e, rc, detail);
	if (rc)
		sodium_memzero(text, cap);
	else
		*n = done;
	return rc;
}

int vf_admin_passphrase_change(struct vf_vault *v, struct vf_admin *a,
			       const uint8_t *cur, size_t curlen,
			       const uint8_t *next, size_t nextlen,
			       uint64_t *id)
{
	struct vf_protector_edit *e = NULL;
	char detail[128] = "", idt[17];
	struct vf_admin_change ch;
	uint64_t got = 0;
	unsigned n = 0;
	int rc;

	rc = vf_admin_enter(v, a, VF_OP_PASSPHRASE_CHANGE, &ch);
	if (rc)
		return rc;
	rc = key_edit(v, a, &ch, &e, &n);
	snprintf(ch.params, sizeof(ch.params), "new passphrase; protectors=%u",
		 n);
	if (!rc)
		rc = vf_admin_approve(v, a, &ch,
				      vf_policy_passphrase_change(&ch.gop));
	if (!rc)
		rc = vf_protector_edit_passphrase(e, cur, curlen, next, nextlen,
						  &got, a->why,
						  sizeof(a->why));
	if (!rc) {
		key_id_text(got, idt);
		ch.target = idt;
		snprintf(detail, sizeof(detail),
			 "passphrase changed, now protector %s", idt);
	}
	rc = key_leave(v, a, &ch, e, rc, detail);
	if (!rc && id)
		*id = got;
	return rc;
}
