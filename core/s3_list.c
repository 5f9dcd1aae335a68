/*
 * s3_list.c - listing: the ListObjectsV2 and ListObjectVersions reply
 * scanners (one page in memory at a time, at most LIST_PAGE_MAX bytes)
 * and the ops built on them (list, reads of a key's first version,
 * removal of every version).  Requests go through s3.c (s3_int.h).
 */

#include <curl/curl.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "s3_int.h"

#define LIST_PAGE_MAX (8u << 20) /* one ListObjectsV2 reply */
#define TOKEN_MAX 2048           /* continuation token */

/* ---- listing ---- */

/* The text of the first <tag>...</tag> in [p, end): *v and *vend, or
 * false.  Element text never holds '<' (XML escapes it), so a plain
 * search cannot be fooled by a key. */
bool vf_s3_element(const char *p, const char *end, const char *tag,
		   const char **v, const char **vend)
{
	char open[40], close[40];
	size_t on, cn;
	const char *b, *e;

	on = (size_t)snprintf(open, sizeof(open), "<%s>", tag);
	cn = (size_t)snprintf(close, sizeof(close), "</%s>", tag);
	if (on >= sizeof(open) || cn >= sizeof(close) || p >= end)
		return false;
	b = memmem(p, (size_t)(end - p), open, on);
	if (!b)
		return false;
	b += on;
	e = memmem(b, (size_t)(end - b), close, cn);
	if (!e)
		return false;
	*v = b;
	*vend = e;
	return true;
}

static size_t put_utf8(char *o, unsigned long c)
{
	if (c < 0x80) {
		o[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		o[0] = (char)(0xc0 | (c >> 6));
		o[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		o[0] = (char)(0xe0 | (c >> 12));
		o[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		o[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (c >> 18));
	o[1] = (char)(0x80 | ((c >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((c >> 6) & 0x3f));
	o[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

/* XML text [b, e) unescaped into out (size bytes with the NUL); false
 * when it does not fit or holds a bad entity or a NUL. */
static bool unescape(const char *b, const char *e, char *out, size_t size)
{
	static const struct {
		const char *name;
		char c;
	} ents[] = { { "amp;", '&' }, { "lt;", '<' }, { "gt;", '>' },
		     { "quot;", '"' }, { "apos;", '\'' } };
	size_t o = 0, i;

	while (b < e) {
		char tmp[4];
		size_t n = 1;

		if (*b != '&') {
			tmp[0] = *b++;
		} else {
			const char *semi = memchr(b, ';', (size_t)(e - b));
			bool ok = false;

			if (!semi)
				return false;
			b++;
			if (*b == '#') {
				char *endp;
				unsigned long c;

				b++;
				if (*b == 'x' || *b == 'X')
					c = strtoul(b + 1, &endp, 16);
				else
					c = strtoul(b, &endp, 10);
				if (endp != semi || c == 0 || c > 0x10ffff ||
				    (c >= 0xd800 && c <= 0xdfff))
					return false;
				n = put_utf8(tmp, c);
				ok = true;
			} else {
				for (i = 0; i < VF_ARRAY_LEN(ents); i++) {
					size_t l = strlen(ents[i].name);

					if ((size_t)(semi + 1 - b) == l &&
					    memcmp(b, ents[i].name, l) == 0) {
						tmp[0] = ents[i].c;
						ok = true;
					}
				}
			}
			if (!ok)
				return false;
			b = semi + 1;
		}
		if (tmp[0] == '\0' || n >= size - o)
			return false;
		memcpy(out + o, tmp, n);
		o += n;
	}
	out[o] = '\0';
	return true;
}

static bool parse_u64(const char *b, const char *e, uint64_t *out)
{
	uint64_t v = 0;

	if (b == e)
		return false;
	for (; b < e; b++) {
		uint64_t d = (uint64_t)(*b - '0');

		if (*b < '0' || *b > '9' || v > UINT64_MAX / 10 ||
		    (v == UINT64_MAX / 10 && d > UINT64_MAX % 10))
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

int vf_s3_parse_list(const char *xml, size_t len, const char *strip,
		     int (*cb)(void *arg, const struct vf_objinfo *o),
		     void *arg, char *token, size_t token_size)
{
	const char *p = xml, *end = xml + len, *v, *ve, *cb_, *ce;
	char key[LIST_KEY_MAX + 1], when[64];
	size_t strip_len = strlen(strip);
	bool truncated = false;
	int r;

	if (token_size == 0)
		return -EINVAL;
	token[0] = '\0';
	if (!memmem(xml, len, "<ListBucketResult", 17)) {
		vf_objstore_set_err("s3: LIST: not a ListBucketResult reply");
		return -EIO;
	}
	if (vf_s3_element(xml, end, "IsTruncated", &v, &ve))
		truncated = (size_t)(ve - v) == 4 && memcmp(v, "true", 4) == 0;
	while (vf_s3_element(p, end, "Contents", &cb_, &ce)) {
		struct vf_objinfo o = { 0 };
		int64_t ns;

		if (!vf_s3_element(cb_, ce, "Key", &v, &ve) ||
		    !unescape(v, ve, key, sizeof(key))) {
			vf_objstore_set_err("s3: LIST: bad <Key> in the reply");
			return -EIO;
		}
		if (strncmp(key, strip, strip_len) != 0) {
			vf_objstore_set_err("s3: LIST: key '%.64s' outside the "
					    "prefix asked for", key);
			return -EIO;
		}
		o.key = key + strip_len;
		if (!vf_s3_element(cb_, ce, "Size", &v, &ve) ||
		    !parse_u64(v, ve, &o.size)) {
			vf_objstore_set_err("s3: LIST: bad <Size> of '%.64s'", key);
			return -EIO;
		}
		if (!vf_s3_element(cb_, ce, "LastModified", &v, &ve) ||
		    (size_t)(ve - v) >= sizeof(when)) {
			vf_objstore_set_err("s3: LIST: bad <LastModified> of "
					    "'%.64s'", key);
			return -EIO;
		}
		memcpy(when, v, (size_t)(ve - v));
		when[ve - v] = '\0';
		if (vf_time_parse(when, &ns)) {
			vf_objstore_set_err("s3: LIST: bad <LastModified> of "
					    "'%.64s'", key);
			return -EIO;
		}
		o.mtime_s = ns / VF_NS;
		r = cb(arg, &o);
		if (r)
			return r;
		p = ce + 11; /* past "</Contents>" */
	}
	if (!truncated)
		return 0;
	if (!vf_s3_element(xml, end, "NextContinuationToken", &v, &ve) ||
	    !unescape(v, ve, token, token_size) || !token[0]) {
		vf_objstore_set_err("s3: LIST: truncated reply without a "
				    "continuation token");
		return -EIO;
	}
	return 0;
}

int vf_s3_parse_versions(const char *xml, size_t len, const char *strip,
			 int (*cb)(void *arg, const struct vf_s3_version *v),
			 void *arg, char *next_key, char *next_vid,
			 size_t cap)
{
	const char *p = xml, *end = xml + len, *v, *ve, *b, *e;
	char key[LIST_KEY_MAX + 1], vid[VF_S3_VID_MAX + 1], when[64];
	size_t strip_len = strlen(strip);
	bool truncated = false;
	int r;

	if (cap == 0)
		return -EINVAL;
	next_key[0] = next_vid[0] = '\0';
	if (!memmem(xml, len, "<ListVersionsResult", 19)) {
		vf_objstore_set_err("s3: LIST versions: not a ListVersionsResult reply");
		return -EIO;
	}
	if (vf_s3_element(xml, end, "IsTruncated", &v, &ve))
		truncated = (size_t)(ve - v) == 4 && memcmp(v, "true", 4) == 0;
	/* <Version> blocks (delete markers are <DeleteMarker>: skipped);
	 * "<Version>" never matches "<VersionId>" (the '>' differs). */
	while (vf_s3_element(p, end, "Version", &b, &e)) {
		struct vf_s3_version o = { 0 };
		int64_t ns;

		if (!vf_s3_element(b, e, "Key", &v, &ve) ||
		    !unescape(v, ve, key, sizeof(key)) ||
		    strncmp(key, strip, strip_len) != 0 ||
		    !vf_s3_element(b, e, "VersionId", &v, &ve) ||
		    !unescape(v, ve, vid, sizeof(vid)) || !vid[0] ||
		    !vf_s3_element(b, e, "Size", &v, &ve) ||
		    !parse_u64(v, ve, &o.size) ||
		    !vf_s3_element(b, e, "LastModified", &v, &ve) ||
		    (size_t)(ve - v) >= sizeof(when)) {
			vf_objstore_set_err("s3: LIST versions: bad <Version> in the reply");
			return -EIO;
		}
		memcpy(when, v, (size_t)(ve - v));
		when[ve - v] = '\0';
		if (vf_time_parse(when, &ns)) {
			vf_objstore_set_err("s3: LIST versions: bad <LastModified>");
			return -EIO;
		}
		o.key = key + strip_len;
		o.vid = vid;
		o.mtime_s = ns / VF_NS;
		r = cb(arg, &o);
		if (r)
			return r;
		p = e + 10; /* past "</Version>" */
	}
	if (!truncated)
		return 0;
	if (!vf_s3_element(xml, end, "NextKeyMarker", &v, &ve) ||
	    !unescape(v, ve, next_key, cap) || !next_key[0] ||
	    (vf_s3_element(xml, end, "NextVersionIdMarker", &v, &ve) &&
	     !unescape(v, ve, next_vid, cap))) {
		vf_objstore_set_err("s3: LIST versions: truncated reply without a marker");
		return -EIO;
	}
	return 0;
}

/* Walks the versions of every key under prefix (relative), page by page,
 * newest version of a key first (the S3 order). */
static int list_versions(struct s3 *s, const char *prefix,
			 int (*cb)(void *arg, const struct vf_s3_version *v),
			 void *arg)
{
	char kmark[LIST_KEY_MAX + 1] = "", vmark[LIST_KEY_MAX + 1] = "";
	char *full = NULL, *enc_prefix = NULL;
	int e;

	full = vf_s3_str_printf("%s%s", s->prefix, prefix);
	enc_prefix = full ? vf_s3_query_enc(full) : NULL;
	if (!enc_prefix) {
		e = -ENOMEM;
		goto out;
	}
	do {
		struct req r = { .method = "GET", .what = "(versions)",
				 .sink = SINK_MEM, .mem_max = LIST_PAGE_MAX };
		char *ek = kmark[0] ? vf_s3_query_enc(kmark) : NULL;
		char *ev = vmark[0] ? vf_s3_query_enc(vmark) : NULL;

		if ((kmark[0] && !ek) || (vmark[0] && !ev)) {
			free(ek);
			free(ev);
			e = -ENOMEM;
			goto out;
		}
		/* sorted parameters, each with "=" (what radosgw checks) */
		r.url = vf_s3_str_printf(
		    "%s/%s?%s%s%sprefix=%s&%s%s%sversions=", s->endpoint,
		    s->bucket, ek ? "key-marker=" : "", ek ? ek : "",
		    ek ? "&" : "", enc_prefix, ev ? "version-id-marker=" : "",
		    ev ? ev : "", ev ? "&" : "");
		free(ek);
		free(ev);
		e = r.url ? vf_s3_perform(s, &r) : -ENOMEM;
		if (e == -EFBIG) {
			vf_objstore_set_err("s3: LIST versions: reply larger than %u bytes",
					    LIST_PAGE_MAX);
			e = -EIO;
		}
		if (e == 0)
			e = vf_s3_parse_versions(r.mem ? r.mem : "", r.mem_len,
						 s->prefix, cb, arg, kmark,
						 vmark, sizeof(kmark));
		vf_s3_req_release(&r);
	} while (e == 0 && kmark[0]);
out:
	free(full);
	free(enc_prefix);
	return e;
}

struct oldest {
	const char *key;
	char vid[VF_S3_VID_MAX + 1];
};

static int oldest_cb(void *arg, const struct vf_s3_version *v)
{
	struct oldest *o = arg;

	/* newest first: the last one seen is the oldest */
	if (!strcmp(v->key, o->key))
		snprintf(o->vid, sizeof(o->vid), "%s", v->vid);
	return 0;
}

/* The URL a read of key uses: the key, or (first_version) its oldest
 * version, which on a locked bucket is the one the vault wrote: the
 * engine never writes a key twice, so a later version is someone else's
 * (an attacker who holds the credentials can add versions and delete
 * markers, never remove a locked version). */
/* The URL of key with query (or none), for its oldest version when
 * first_version: "QUERY&versionId=ID" (parameters sorted). */
int vf_s3_version_url(struct s3 *s, const char *key, const char *query,
		      char **url)
{
	struct oldest o = { key, "" };
	char *q;
	int e;

	*url = NULL;
	if (!s->first_version) {
		*url = vf_s3_object_url(s, key, query);
		return *url ? 0 : -ENOMEM;
	}
	e = list_versions(s, key, oldest_cb, &o);
	if (e)
		return e;
	if (!o.vid[0]) {
		vf_objstore_set_err("s3: %s: no version in the store", key);
		return -ENOENT;
	}
	q = vf_s3_query_enc(o.vid);
	*url = q ? vf_s3_str_printf("%s/%s/%s%s?%s%sversionId=%s", s->endpoint,
			      s->bucket, s->prefix, key, query ? query : "",
			      query ? "&" : "", q) :
		   NULL;
	free(q);
	return *url ? 0 : -ENOMEM;
}

int vf_s3_read_url(struct s3 *s, const char *key, char **url)
{
	return vf_s3_version_url(s, key, NULL, url);
}

/* list with first_version: every key that has a version (a key the
 * attacker hid behind a delete marker included), once, with the size of
 * its oldest version. */
struct vlist {
	int (*cb)(void *arg, const struct vf_objinfo *o);
	void *arg;
	char key[LIST_KEY_MAX + 1];
	struct vf_objinfo cur;
	int have;
};

static int vlist_cb(void *arg, const struct vf_s3_version *v)
{
	struct vlist *l = arg;
	int r;

	if (l->have && strcmp(l->key, v->key) != 0) {
		r = l->cb(l->arg, &l->cur);
		if (r)
			return r;
		l->have = 0;
	}
	snprintf(l->key, sizeof(l->key), "%s", v->key);
	l->cur.key = l->key;
	l->cur.size = v->size;
	l->cur.mtime_s = v->mtime_s;
	l->have = 1;
	return 0;
}

int vf_s3_list(struct vf_objstore *st, const char *prefix,
	       int (*cb)(void *arg, const struct vf_objinfo *o), void *arg)
{
	struct s3 *s = vf_s3_of(st);
	char token[TOKEN_MAX + 1] = "";
	char *full = NULL, *enc_prefix = NULL;
	int e;

	if (!prefix)
		prefix = "";
	if (strlen(prefix) > VF_OBJKEY_MAX ||
	    !vf_s3_valid_path(prefix, false, true)) {
		vf_objstore_set_err("s3: LIST: invalid prefix '%.64s'", prefix);
		return -EINVAL;
	}
	if (s->first_version) {
		struct vlist l = { .cb = cb, .arg = arg };

		e = list_versions(s, prefix, vlist_cb, &l);
		if (e == 0 && l.have)
			e = cb(arg, &l.cur);
		return e;
	}
	full = vf_s3_str_printf("%s%s", s->prefix, prefix);
	enc_prefix = full ? vf_s3_query_enc(full) : NULL;
	if (!enc_prefix) {
		e = -ENOMEM;
		goto out;
	}
	do {
		struct req r = { .method = "GET", .what = "(list)",
				 .sink = SINK_MEM, .mem_max = LIST_PAGE_MAX };
		char *enc_token = NULL;

		/* Query parameters in sorted order, each with "=" (what
		 * curl 7.88 signs is what radosgw must compute). */
		if (token[0]) {
			enc_token = vf_s3_query_enc(token);
			if (!enc_token) {
				e = -ENOMEM;
				goto out;
			}
		}
		r.url = vf_s3_str_printf(
		    "%s/%s?%s%s%slist-type=2&max-keys=1000&prefix=%s",
		    s->endpoint, s->bucket,
		    enc_token ? "continuation-token=" : "",
		    enc_token ? enc_token : "", enc_token ? "&" : "",
		    enc_prefix);
		free(enc_token);
		e = r.url ? vf_s3_perform(s, &r) : -ENOMEM;
		if (e == -EFBIG) {
			vf_objstore_set_err("s3: LIST: reply larger than %u bytes",
					    LIST_PAGE_MAX);
			e = -EIO;
		}
		if (e == 0)
			e = vf_s3_parse_list(r.mem ? r.mem : "", r.mem_len, s->prefix,
					     cb, arg, token, sizeof(token));
		vf_s3_req_release(&r);
	} while (e == 0 && token[0]);
out:
	free(full);
	free(enc_prefix);
	return e;
}

/* remove_versions: DELETE ?versionId= for each version of one key, from
 * inside the listing (the page being parsed is in memory; the markers of
 * the next page do not depend on what was deleted). */
struct purge {
	struct s3 *s;
	const char *key;
	int refused; /* -EACCES of the first version the store kept */
};

static int purge_cb(void *arg, const struct vf_s3_version *v)
{
	struct purge *p = arg;
	struct req r = { .method = "DELETE", .what = p->key };
	char *q;
	int e;

	if (strcmp(v->key, p->key))
		return 0; /* another key with this one as its prefix */
	q = vf_s3_query_enc(v->vid);
	r.url = q ? vf_s3_str_printf("%s/%s/%s%s?versionId=%s", p->s->endpoint,
				     p->s->bucket, p->s->prefix, p->key, q) :
		    NULL;
	free(q);
	e = r.url ? vf_s3_perform(p->s, &r) : -ENOMEM;
	vf_s3_req_release(&r);
	if (e == -ENOENT)
		e = 0;
	if (e == -EACCES) {
		/* locked: "not yet"; the other versions are still tried */
		p->refused = e;
		e = 0;
	}
	return e;
}

int vf_s3_remove_versions(struct vf_objstore *st, const char *key)
{
	struct purge p = { vf_s3_of(st), key, 0 };
	int e = vf_s3_check_key("DELETE", key);

	if (!e)
		e = list_versions(p.s, key, purge_cb, &p);
	if (!e && p.refused)
		vf_objstore_set_err("s3: DELETE %s: 403 AccessDenied (the object is still locked)",
				    key);
	return e ? e : p.refused;
}
