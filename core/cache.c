/*
 * cache.c - the decrypted-chunk cache (cache.h is the contract): chunks
 * read from packs, decrypted and checked, kept in a hash table on catalog
 * chunk id with an LRU list, up to VF_CACHE_CHUNKS bytes of unreferenced
 * entries.
 *
 * Invariants: every get has a put (entries are refcounted and never
 * evicted while referenced); an entry with chunk < 0 (a chunk not yet in
 * the catalog) is outside the table and freed on its last put; the table
 * and list are changed only under v->cache_mu, which is never held across
 * pack I/O or decryption.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cache.h"
#include "datakey.h"

#define CACHE_CAP 1024

static size_t cache_slot(const struct vf_vault *v, int64_t chunk)
{
	return (size_t)(((uint64_t)chunk * 0x9e3779b97f4a7c15ULL) >> 32) %
	       v->cache_cap;
}

static void lru_unlink(struct vf_vault *v, struct vf_cache_ent *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		v->lru_head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		v->lru_tail = e->prev;
	e->prev = e->next = NULL;
}

static void lru_push(struct vf_vault *v, struct vf_cache_ent *e)
{
	e->prev = NULL;
	e->next = v->lru_head;
	if (v->lru_head)
		v->lru_head->prev = e;
	v->lru_head = e;
	if (!v->lru_tail)
		v->lru_tail = e;
}

static void cache_remove(struct vf_vault *v, struct vf_cache_ent *e)
{
	struct vf_cache_ent **pp;

	for (pp = &v->cache_tab[cache_slot(v, e->chunk)]; *pp;
	     pp = &(*pp)->hnext)
		if (*pp == e) {
			*pp = e->hnext;
			break;
		}
	lru_unlink(v, e);
	v->cache_bytes -= e->len;
	free(e->data);
	free(e);
}

/* Evicts unreferenced entries from the cold end until under budget
 * (cache_mu held). */
static void cache_trim(struct vf_vault *v)
{
	struct vf_cache_ent *e = v->lru_tail, *prev;

	while (e && v->cache_bytes > VF_CACHE_CHUNKS) {
		prev = e->prev;
		if (e->refs == 0)
			cache_remove(v, e);
		e = prev;
	}
}

void vf_cache_put(struct vf_vault *v, struct vf_cache_ent *e)
{
	pthread_mutex_lock(&v->cache_mu);
	if (--e->refs == 0 && e->chunk < 0)
		cache_remove(v, e);
	else
		cache_trim(v);
	pthread_mutex_unlock(&v->cache_mu);
}

void vf_cache_free_all(struct vf_vault *v)
{
	while (v->lru_head)
		cache_remove(v, v->lru_head);
}

/* Loads and decrypts one chunk from loc (no locks held). */
static int load_chunk(struct vf_vault *v, const uint8_t cid[32],
		      const struct vf_pack_loc *loc, uint32_t rlen,
		      uint8_t **out)
{
	size_t cap = loc->len;
	uint8_t *sealed, *raw;
	ssize_t n;

	if (rlen > VF_CHUNK_MAX || cap > VF_POOL_BUF)
		return -EIO;
	sealed = vf_buf_get(v);
	raw = malloc(rlen ? rlen : 1);
	if (!sealed || !raw) {
		vf_buf_put(v, sealed);
		free(raw);
		return -ENOMEM;
	}
	n = vf_pack_read(v->io, loc, sealed, cap);
	if (n >= 0)
		n = vf_datakey_decode(v, loc->epoch, cid, sealed, (size_t)n,
				      raw, rlen);
	vf_buf_put(v, sealed);
	if (n >= 0 && (uint32_t)n != rlen)
		n = -EIO;
	if (n < 0) {
		free(raw);
		return (int)n;
	}
	*out = raw;
	return 0;
}

/* Where catalog chunk row chunk lies (takes v->mu). */
static int chunk_where(struct vf_vault *v, int64_t chunk,
		       uint8_t cid[VF_CHUNK_ID_BYTES], struct vf_pack_loc *loc,
		       uint32_t *rlen)
{
	sqlite3_stmt *st;
	int rc;

	vf_vault_lock(v);
	st = vf_catalog_stmt(v->cat, VF_Q_CHUNK_GET);
	if (!st) {
		vf_vault_unlock(v);
		return -EIO;
	}
	sqlite3_bind_int64(st, 1, chunk);
	rc = vf_catalog_row(st);
	if (rc == 1 && sqlite3_column_bytes(st, 0) == VF_CHUNK_ID_BYTES) {
		memcpy(cid, sqlite3_column_blob(st, 0), VF_CHUNK_ID_BYTES);
		snprintf(loc->pack, sizeof(loc->pack), "%s",
			 (const char *)sqlite3_column_text(st, 1));
		loc->off = (uint64_t)sqlite3_column_int64(st, 2);
		loc->len = (uint32_t)sqlite3_column_int64(st, 3);
		*rlen = (uint32_t)sqlite3_column_int64(st, 4);
		loc->epoch = (uint32_t)sqlite3_column_int64(st, 5);
		rc = 0;
	} else if (rc >= 0) {
		rc = -EIO;
	}
	sqlite3_reset(st);
	vf_vault_unlock(v);
	return rc;
}

int vf_cache_get(struct vf_vault *v, int64_t chunk, struct vf_cache_ent **out)
{
	struct vf_cache_ent *e;
	struct vf_pack_loc loc, again;
	uint8_t cid[VF_CHUNK_ID_BYTES];
	uint32_t rlen;
	uint8_t *data;
	int rc;

	pthread_mutex_lock(&v->cache_mu);
	for (e = v->cache_tab[cache_slot(v, chunk)]; e; e = e->hnext)
		if (e->chunk == chunk) {
			e->refs++;
			lru_unlink(v, e);
			lru_push(v, e);
			pthread_mutex_unlock(&v->cache_mu);
			*out = e;
			return 0;
		}
	pthread_mutex_unlock(&v->cache_mu);

	rc = chunk_where(v, chunk, cid, &loc, &rlen);
	if (rc)
		return rc;
	rc = load_chunk(v, cid, &loc, rlen, &data);
	/* gc may have moved the chunk to another pack and removed the old
	 * one between the look-up and the read (gc.c): look once more, and
	 * read again only if the chunk did move. */
	if (rc && rc != -ENOMEM &&
	    chunk_where(v, chunk, cid, &again, &rlen) == 0 &&
	    (strcmp(again.pack, loc.pack) || again.off != loc.off))
		rc = load_chunk(v, cid, &again, rlen, &data);
	/* A pack the catalog names but the disk does not have is lost
	 * data, not a missing file for the caller: EIO, and audited like
	 * damage (a read must never answer ENOENT for a file that exists). */
	if (rc == -ENOENT || rc == -ENOTDIR) {
		rc = -EIO;
		if (v->integrity_failed)
			v->integrity_failed(v, "missing pack");
	/* damaged or tampered data is a security event
	 * (docs/threat-model.md, Integrity) */
	} else if ((rc == -EBADMSG || rc == -EIO) && v->integrity_failed) {
		v->integrity_failed(v, rc == -EBADMSG ? "authentication"
						      : "checksum");
	}
	if (rc)
		return rc;
	e = calloc(1, sizeof(*e));
	if (!e) {
		free(data);
		return -ENOMEM;
	}
	e->chunk = chunk;
	e->data = data;
	e->len = rlen;
	e->refs = 1;
	pthread_mutex_lock(&v->cache_mu);
	e->hnext = v->cache_tab[cache_slot(v, chunk)];
	v->cache_tab[cache_slot(v, chunk)] = e;
	lru_push(v, e);
	v->cache_bytes += rlen;
	cache_trim(v);
	pthread_mutex_unlock(&v->cache_mu);
	*out = e;
	return 0;
}

int vf_cache_get_at(struct vf_vault *v, const uint8_t cid[VF_CHUNK_ID_BYTES],
		    const struct vf_pack_loc *loc, uint32_t rlen,
		    struct vf_cache_ent **out)
{
	struct vf_cache_ent *e;
	int rc;

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	rc = load_chunk(v, cid, loc, rlen, &e->data);
	if (rc) {
		free(e);
		return rc;
	}
	/* Not in the table: freed on put (chunk < 0). */
	e->chunk = -1;
	e->len = rlen;
	e->refs = 1;
	pthread_mutex_lock(&v->cache_mu);
	v->cache_bytes += e->len;
	lru_push(v, e);
	pthread_mutex_unlock(&v->cache_mu);
	*out = e;
	return 0;
}

int vf_cache_has(struct vf_vault *v, int64_t chunk)
{
	struct vf_cache_ent *e;
	int hit = 0;

	pthread_mutex_lock(&v->cache_mu);
	for (e = v->cache_tab[cache_slot(v, chunk)]; e && !hit; e = e->hnext)
		hit = e->chunk == chunk;
	pthread_mutex_unlock(&v->cache_mu);
	return hit;
}

int vf_cache_init(struct vf_vault *v)
{
	pthread_mutex_init(&v->cache_mu, NULL);
	v->cache_tab = calloc(CACHE_CAP, sizeof(*v->cache_tab));
	if (!v->cache_tab)
		return -ENOMEM;
	v->cache_cap = CACHE_CAP;
	return 0;
}

void vf_cache_release(struct vf_vault *v)
{
	vf_cache_free_all(v);
	free(v->cache_tab);
	v->cache_tab = NULL;
	v->cache_cap = 0;
	pthread_mutex_destroy(&v->cache_mu);
}
