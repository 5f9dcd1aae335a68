/*
 * guard_set.c - the vault's guards (README.md, The guard; docs/guard.md):
 * the attached keys and quorum as stored in the catalog, and the check
 * every critical operation passes (vf_vault_guard_authorize).  The
 * request and token formats and their security invariants are described
 * at the top of guard.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "guard.h"
#include "policy.h"
#include "vault_int.h"

/* ---- the vault's guards (v->mu held) ----------------------------------- */

/* The guards as stored (catalog format 8: table guard_keys, meta
 * "guard.quorum"; a vault of an older format had one key, meta
 * "guard.pubkey", which the upgrade moves into guard_keys).  1 found, 0
 * none, -EIO when anything stored is not a key or the quorum is out of
 * range (fails closed: a damaged guard is not an absent one). */
int vf_guard_set_load(struct vf_vault *v, struct vf_guard_set *set)
{
	sqlite3_stmt *st = vf_catalog_stmt(v->cat, VF_Q_GUARD_GET);
	struct vf_guard_set t;
	struct vf_sshkey *k;
	const char *app;
	int64_t q = 1;
	int rc;

	/* a legacy key the upgrade did not move is damaged */
	if (!st)
		return -EIO;
	rc = vf_catalog_row(st);
	sqlite3_reset(st);
	if (rc)
		return rc < 0 ? rc : -EIO;
	st = vf_catalog_stmt(v->cat, VF_Q_GUARD_KEYS);
	if (!st)
		return -EIO;
	memset(&t, 0, sizeof(t));
	while ((rc = vf_catalog_row(st)) == 1) {
		if (t.n == VF_GUARD_SET_MAX) {
			rc = -EIO;
			break;
		}
		k = &t.keys[t.n++];
		k->type = sqlite3_column_int(st, 0);
		app = (const char *)sqlite3_column_text(st, 2);
		if (k->type < VF_GUARD_KEY_VAULT ||
		    k->type > VF_SSHKEY_SK_ED25519 ||
		    sqlite3_column_type(st, 1) != SQLITE_BLOB ||
		    sqlite3_column_bytes(st, 1) != VF_GUARD_PK_BYTES || !app ||
		    strlen(app) > VF_SSHKEY_APP_MAX ||
		    (k->type == VF_SSHKEY_SK_ED25519) != (app[0] != '\0')) {
			rc = -EIO;
			break;
		}
		memcpy(k->pk, sqlite3_column_blob(st, 1), VF_GUARD_PK_BYTES);
		memcpy(k->app, app, strlen(app) + 1);
	}
	sqlite3_reset(st);
	if (rc < 0)
		return rc;
	if (!t.n)
		return 0;
	rc = vf_catalog_meta_get(v->cat, "guard.quorum", &q);
	if (rc && rc != -ENOENT)
		return rc;
	if (q < 1 || (uint64_t)q > t.n)
		return -EIO;
	t.quorum = (unsigned)q;
	*set = t;
	return 1;
}

int vf_guard_set_store(struct vf_vault *v, const struct vf_guard_set *set)
{
	sqlite3_stmt *st;
	size_t i;
	int rc = vf_catalog_begin(v->cat);

	if (rc)
		return rc;
	st = vf_catalog_stmt(v->cat, VF_Q_GUARD_KEYS_DEL);
	rc = st ? vf_catalog_run(st) : -EIO;
	for (i = 0; !rc && i < set->n; i++) {
		st = vf_catalog_stmt(v->cat, VF_Q_GUARD_KEY_ADD);
		if (!st) {
			rc = -EIO;
			break;
		}
		sqlite3_bind_int(st, 1, set->keys[i].type);
		sqlite3_bind_blob(st, 2, set->keys[i].pk, VF_GUARD_PK_BYTES,
				  SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 3, set->keys[i].app, -1,
				  SQLITE_TRANSIENT);
		rc = vf_catalog_run(st);
	}
	if (!rc)
		rc = vf_catalog_meta_set(v->cat, "guard.quorum", set->quorum);
	return vf_catalog_finish(v->cat, rc);
}

int vf_guard_key_drop(struct vf_vault *v)
{
	sqlite3_stmt *st;
	int rc = vf_catalog_begin(v->cat);

	if (rc)
		return rc;
	st = vf_catalog_stmt(v->cat, VF_Q_GUARD_DEL);
	rc = st ? vf_catalog_run(st) : -EIO;
	st = rc ? NULL : vf_catalog_stmt(v->cat, VF_Q_GUARD_KEYS_DEL);
	if (!rc)
		rc = st ? vf_catalog_run(st) : -EIO;
	return vf_catalog_finish(v->cat, rc);
}

int vf_vault_guard_get(struct vf_vault *v, char *pub_text, size_t cap)
{
	struct vf_guard_set set;
	int rc;

	vf_vault_lock(v);
	rc = vf_guard_set_load(v, &set);
	vf_vault_unlock(v);
	if (rc == 0)
		return -ENOENT;
	if (rc < 0)
		return rc;
	return vf_guard_key_format(&set.keys[0], pub_text, cap);
}

/* A fresh request for op/params into request, and the line for the
 * requester into why. */
static int make_request(struct vf_vault *v, const struct vf_guard_set *set,
			const char *op, const char *params, int64_t now,
			char *request, size_t reqcap, char *why, size_t whylen)
{
	struct vf_guard_request r;
	char text[VF_GUARD_TEXT_MAX];
	size_t i;
	int rc;

	memcpy(r.vault_id, vf_keys_vault_id(v->keys), VF_VAULT_ID_BYTES);
	memcpy(r.op, op, strlen(op) + 1);
	vf_guard_params_hash(params, r.params_hash);
	vf_guard_params_text(params, r.params);
	randombytes_buf(r.nonce, sizeof(r.nonce));
	r.created = now;
	rc = vf_guard_request_format(&r, text, sizeof(text));
	if (!rc && strlen(text) >= reqcap)
		rc = -ERANGE;
	if (rc) {
		snprintf(
		    why, whylen,
		    "approval required, but the request buffer is too small");
		return rc;
	}
	memcpy(request, text, strlen(text) + 1);
	for (i = 0; i < set->n && set->keys[i].type == VF_GUARD_KEY_VAULT; i++)
		;
	if (set->quorum == 1 && i < set->n)
		snprintf(why, whylen,
			 "approval required: ask the guard holder to sign the "
			 "request with ssh-keygen -Y sign -n vaultfs -f KEY "
			 "FILE (FILE holding the request line%s) and give "
			 "back the request line and FILE.sig: %s",
			 set->n > 1 ? ", or with vaultctl guard approve" : "",
			 text);
	else if (set->quorum > 1)
		snprintf(why, whylen,
			 "approval required from %u of the %zu guards: ask "
			 "each guard holder to approve (vaultctl guard approve "
			 "--key FILE, or ssh-keygen -Y sign -n vaultfs) %s",
			 set->quorum, set->n, text);
	else
		snprintf(why, whylen,
			 "approval required: ask the guard holder to run: "
			 "vaultctl guard approve --key FILE %s",
			 text);
	return -EPERM;
}

/* Records t's nonce as used, in a transaction of its own: -EPERM when it
 * already was. */
static int consume(struct vf_vault *v, uid_t uid,
		   const struct vf_guard_request *r, int64_t now, char *why,
		   size_t whylen)
{
	sqlite3_stmt *st;
	int rc;

	/* The gate calls this inside the transaction of the operation it
	 * approves: the nonce is recorded exactly when the operation
	 * commits, so a token is spent once, and never on an operation
	 * that did not happen.  Alone (vf_vault_guard_authorize) it is a
	 * transaction of its own. */
	rc = vf_catalog_begin(v->cat);
	if (rc)
		goto out;
	st = vf_catalog_stmt(v->cat, VF_Q_GUARD_USE);
	if (!st) {
		rc = -EIO;
	} else {
		sqlite3_bind_blob(st, 1, r->nonce, VF_GUARD_NONCE_BYTES,
				  SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 2, now);
		sqlite3_bind_int64(st, 3, (int64_t)uid);
		sqlite3_bind_text(st, 4, r->op, -1, SQLITE_TRANSIENT);
		rc = vf_catalog_run(st);
	}
	if (rc)
		vf_catalog_rollback(v->cat);
	else
		rc = vf_catalog_commit(v->cat);
out:
	if (rc == -EEXIST) {
		snprintf(why, whylen, "approval was already used");
		rc = -EPERM;
	} else if (rc) {
		snprintf(why, whylen, "cannot record the approval: %s",
			 strerror(-rc));
	}
	return rc;
}

/* The reason of approval i (1-based) of n: as it is when there is one. */
static void which(char *why, size_t whylen, size_t i, size_t n)
{
	char tmp[VF_GUARD_WHY_MAX];

	if (n < 2)
		return;
	snprintf(tmp, sizeof(tmp), "%s", why);
	snprintf(why, whylen, "approval %zu of %zu: %s", i, n, tmp);
}

/* The approvals in token checked against set: 0 with *first the request
 * they approve and signer[] the guard of each, or -EPERM. */
static int check_all(struct vf_vault *v, const struct vf_guard_set *set,
		     const char *op, const char *params, const char *token,
		     int64_t now, struct vf_guard_approval *ap, int *signer,
		     size_t *nout, char *why, size_t whylen)
{
	size_t i, n, bad;
	int rc;

	rc = vf_guard_approvals_parse(token, ap, VF_GUARD_SET_MAX, &bad);
	if (rc < 0) {
		if (!bad && token[strspn(token, " \t\r\n")])
			snprintf(why, whylen,
				 "approval token is malformed (more than %d "
				 "approvals)",
				 VF_GUARD_SET_MAX);
		else if (strstr(token, VF_SSHSIG_BEGIN))
			snprintf(why, whylen,
				 "approval %zu is malformed (an SSH approval is "
				 "the request line, then the signature file "
				 "ssh-keygen wrote)",
				 bad);
		else if (bad <= 1)
			snprintf(why, whylen, "approval token is malformed");
		else
			snprintf(why, whylen, "approval %zu is malformed", bad);
		return -EPERM;
	}
	n = (size_t)rc;
	for (i = 0; i < n; i++) {
		rc = vf_guard_approval_check(&ap[i], set,
					     vf_keys_vault_id(v->keys), op,
					     params, now, &signer[i], why,
					     whylen);
		if (rc) {
			which(why, whylen, i + 1, n);
			return rc;
		}
		/* all of them approve one request: its nonce is spent once */
		if (i && memcmp(ap[i].req.nonce, ap[0].req.nonce,
				VF_GUARD_NONCE_BYTES)) {
			snprintf(why, whylen,
				 "approval %zu of %zu is for another request "
				 "than approval 1",
				 i + 1, n);
			return -EPERM;
		}
	}
	*nout = n;
	return 0;
}

int vf_guard_authorize(struct vf_vault *v, uid_t uid, const char *op,
		       const char *params, const char *token, int64_t now,
		       char *request, size_t reqcap, char *why, size_t whylen,
		       char *fingerprint_out)
{
	struct vf_guard_approval *ap = NULL;
	int signer[VF_GUARD_SET_MAX];
	struct vf_guard_set set;
	char fpr[VF_GUARD_FPR_TEXT];
	size_t i, j, n = 0, o = 0;
	int rc;

	if (whylen)
		why[0] = '\0';
	if (sodium_init() < 0) {
		snprintf(why, whylen, "cannot initialise libsodium");
		return -ENOMEM;
	}
	if (!vf_guard_op_valid(op) || !params) {
		snprintf(why, whylen, "invalid operation name or parameters");
		return -EINVAL;
	}
	rc = vf_guard_set_load(v, &set);
	if (rc < 0) {
		snprintf(why, whylen, "cannot read the guard key: %s",
			 rc == -EIO ? "damaged catalog entry" : strerror(-rc));
		return rc;
	}
	if (rc == 0) {
		if (fingerprint_out)
			fingerprint_out[0] = '\0';
		return 0; /* no guard: allowed, the caller audits it */
	}
	if (!token)
		return make_request(v, &set, op, params, now, request, reqcap,
				    why, whylen);
	ap = calloc(VF_GUARD_SET_MAX, sizeof(*ap));
	if (!ap) {
		snprintf(why, whylen, "cannot check the approval: out of memory");
		return -ENOMEM;
	}
	rc = check_all(v, &set, op, params, token, now, ap, signer, &n, why,
		       whylen);
	if (!rc)
		rc = vf_policy_quorum(signer, n, set.quorum, why, whylen);
	if (rc)
		goto out;
	if (v->readonly) {
		snprintf(why, whylen, "the vault is mounted read-only");
		rc = -EROFS;
		goto out;
	}
	rc = consume(v, uid, &ap[0].req, now, why, whylen);
	if (rc || !fingerprint_out)
		goto out;
	/* the distinct guards that approved, in the order given */
	fingerprint_out[0] = '\0';
	for (i = 0; i < n; i++) {
		for (j = 0; j < i && signer[j] != signer[i]; j++)
			;
		if (j < i)
			continue;
		vf_guard_key_fpr(&set.keys[signer[i]], fpr);
		o += (size_t)snprintf(fingerprint_out + o,
				      VF_GUARD_FPRS_TEXT - o, "%s%s",
				      o ? "," : "", fpr);
	}
out:
	free(ap);
	return rc;
}

int vf_vault_guard_authorize(struct vf_vault *v, uid_t uid, const char *op,
			     const char *params, const char *token, int64_t now,
			     char *request, size_t reqcap, char *why,
			     size_t whylen, char *fingerprint_out)
{
	int rc;

	vf_vault_lock(v);
	rc = vf_guard_authorize(v, uid, op, params, token, now, request,
				reqcap, why, whylen, fingerprint_out);
	vf_vault_unlock(v);
	return rc;
}
