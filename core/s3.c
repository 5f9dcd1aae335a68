/*
 * s3.c - the S3 object store backend: libcurl with its built-in AWS SigV4
 * signing (CURLOPT_AWS_SIGV4), path-style URLs
 * ENDPOINT/BUCKET/PREFIX/KEY.  Tested against Ceph radosgw 16.2
 * (tests/ceph/cluster.sh); written for MinIO and AWS S3 too.
 *
 * What this file owns:
 *   - the store's configuration, parsed and checked once in vf_s3_new: the
 *     endpoint (https unless allow_http), bucket and prefix, region, the
 *     key pair read from a root-only AWS shared-credentials file (the
 *     secret lives in sodium_malloc memory and is never printed; curl
 *     keeps its own copy in a handle while a request is being signed);
 *   - a small mutex-protected pool of curl easy handles, so requests reuse
 *     connections and TLS sessions; a handle is used by one thread at a
 *     time, so every op may run on any thread at once;
 *   - the mapping of curl and HTTP failures onto the errno list of
 *     objstore.h, with one line in vf_objstore_errmsg;
 *   - the ListObjectsV2 reply scanner (one page in memory at a time, at
 *     most LIST_PAGE_MAX bytes).
 *
 * This file holds the requests, the ops and the life cycle; the
 * configuration is in s3_config.c, listing in s3_list.c, what they share
 * in s3_int.h.
 *
 * What radosgw needs of a SigV4 request made by curl 7.88 (measured,
 * docs/remote-store.md): an x-amz-content-sha256 header (we send
 * UNSIGNED-PAYLOAD; TLS protects the body), every query parameter written
 * with "=" and in sorted order (curl 7.88 signs the query as written), and
 * no user header without a value: curl 7.88 signs an "Expect:" entry
 * (meant to suppress the header) as "expect;" without sending it, and the
 * signature no longer matches.  So uploads keep curl's own
 * "Expect: 100-continue", which is not signed: the store may refuse a PUT
 * (403, 404) before the body is sent, and radosgw answers 100 at once.
 *
 * Streaming: put_fd reads the file with pread in the upload callback and
 * get_fd writes the body to the fd in the download callback; neither holds
 * more than curl's buffers (CURL_BUF bytes each way) per request.
 */
#include "s3_int.h"

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

#define CURL_BUF (256 * 1024) /* curl's upload and download buffers */

/*
 * Process-wide library set-up.  curl_global_init is not thread-safe and
 * must run once; the result of that one run is kept here (the only
 * mutable static in this file, written once under pthread_once).
 */
static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static int global_err;

static void global_init(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    sodium_init() < 0)
		global_err = -ENOMEM;
}

/* ---- small helpers ---- */

char *vf_s3_str_dup(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

char *vf_s3_str_printf(const char *fmt, ...)
{
	va_list ap;
	char *p = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : p;
}

bool vf_s3_is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* Keys and prefixes: [a-z0-9/._-] (prefixes of the store URL may also
 * use upper case), no leading "/", no empty, "." or ".." segment (curl
 * would normalise those away and sign another path). */
bool vf_s3_valid_path(const char *k, bool upper, bool empty_ok)
{
	const char *seg = k;
	const char *p;

	if (!*k)
		return empty_ok;
	if (strlen(k) > LIST_KEY_MAX)
		return false;
	for (p = k;; p++) {
		if (*p == '/' || !*p) {
			size_t n = (size_t)(p - seg);

			/* a trailing "/" ends a listing prefix */
			if ((n == 0 && !(*p == '\0' && p != k && empty_ok)) ||
			    (n == 1 && seg[0] == '.') ||
			    (n == 2 && seg[0] == '.' && seg[1] == '.'))
				return false;
			if (!*p)
				return true;
			seg = p + 1;
			continue;
		}
		if (!vf_s3_is_lower_alnum(*p) && *p != '.' && *p != '_' &&
		    *p != '-' && !(upper && *p >= 'A' && *p <= 'Z'))
			return false;
	}
}

int vf_s3_check_key(const char *op, const char *key)
{
	if (strlen(key) > VF_OBJKEY_MAX ||
	    !vf_s3_valid_path(key, false, false)) {
		vf_objstore_set_err("s3: %s: invalid object key '%.64s'", op,
				    key);
		return -EINVAL;
	}
	return 0;
}

/* Query-string encoding of SigV4: everything but A-Za-z0-9-_.~ as %XX
 * (upper-case hex), "/" included.  Returns a malloc'd string or NULL. */
char *vf_s3_query_enc(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s), i, o = 0;
	char *out;

	if (n > SIZE_MAX / 3 - 1)
		return NULL;
	out = malloc(3 * n + 1);
	if (!out)
		return NULL;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    c == '.' || c == '~') {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return out;
}

/* ---- curl handles ---- */

static CURL *handle_take(struct s3 *s)
{
	CURL *h = NULL;

	pthread_mutex_lock(&s->mu);
	if (s->npool > 0)
		h = s->pool[--s->npool];
	pthread_mutex_unlock(&s->mu);
	if (h)
		curl_easy_reset(h); /* keeps its connections and TLS sessions */
	else
		h = curl_easy_init();
	return h;
}

static void handle_give(struct s3 *s, CURL *h)
{
	pthread_mutex_lock(&s->mu);
	if (s->npool < POOL_MAX) {
		s->pool[s->npool++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&s->mu);
	if (h)
		curl_easy_cleanup(h);
}

/* ---- callbacks ---- */

static bool status_ok(long st)
{
	return st >= 200 && st < 300;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct req *r = arg;
	size_t n = size * nmemb;

	if (!status_ok(r->status)) {
		size_t room = ERRBODY_MAX - r->errbody_len;

		if (n < room)
			room = n;
		memcpy(r->errbody + r->errbody_len, data, room);
		r->errbody_len += room;
		r->errbody[r->errbody_len] = '\0';
		return n;
	}
	switch (r->sink) {
	case SINK_MEM:
		if (!r->mem) {
			/* Content-Length known: refuse early, allocate once. */
			curl_off_t cl = -1;

			curl_easy_getinfo(r->h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T,
					  &cl);
			if (cl > 0 && (uint64_t)cl > r->mem_max) {
				vf_objstore_set_err("s3: GET %s: object larger "
						    "than %zu bytes", r->what,
						    r->mem_max);
				r->cb_err = -EFBIG;
				return 0;
			}
			if (cl > 0 && (uint64_t)cl >= n) {
				r->mem = malloc((size_t)cl);
				if (!r->mem) {
					vf_objstore_set_err("s3: GET %s: out of "
							    "memory", r->what);
					r->cb_err = -ENOMEM;
					return 0;
				}
				r->mem_cap = (size_t)cl;
			}
		}
		if (n > r->mem_max - r->mem_len) {
			vf_objstore_set_err("s3: GET %s: object larger than %zu "
					    "bytes", r->what, r->mem_max);
			r->cb_err = -EFBIG;
			return 0;
		}
		if (r->mem_len + n > r->mem_cap) {
			size_t cap = r->mem_cap ? r->mem_cap : 65536;
			char *p;

			while (cap < r->mem_len + n)
				cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
			if (cap > r->mem_max && r->mem_max >= r->mem_len + n)
				cap = r->mem_max;
			p = realloc(r->mem, cap ? cap : 1);
			if (!p) {
				vf_objstore_set_err("s3: GET %s: out of memory",
						    r->what);
				r->cb_err = -ENOMEM;
				return 0;
			}
			r->mem = p;
			r->mem_cap = cap;
		}
		memcpy(r->mem + r->mem_len, data, n);
		r->mem_len += n;
		break;
	case SINK_BUF:
		if (n > r->buf_len - r->got) {
			vf_objstore_set_err("s3: GET %s: the store sent more than "
					    "the %zu bytes asked for", r->what,
					    r->buf_len);
			r->cb_err = -EIO;
			return 0;
		}
		memcpy(r->buf + r->got, data, n);
		break;
	case SINK_FD: {
		size_t done = 0;

		while (done < n) {
			ssize_t w = write(r->fd, data + done, n - done);

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				r->cb_err = errno == ENOSPC ? -ENOSPC : -EIO;
				vf_objstore_set_err("s3: GET %s: cannot write "
						    "the local file: %s", r->what,
						    strerror(errno));
				return 0;
			}
			done += (size_t)w;
		}
		break;
	}
	case SINK_NONE:
		break;
	}
	r->got += n;
	return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct req *r = arg;
	size_t n = size * nmemb;

	/* Each response (a 100 Continue too) starts with its status line:
	 * the body callback always knows the final status. */
	if (n > 9 && strncmp(data, "HTTP/", 5) == 0) {
		const char *sp = memchr(data, ' ', n);

		if (sp && sp + 4 <= data + n)
			r->status = strtol(sp + 1, NULL, 10);
	} else if (n > 5 && n < sizeof(r->date) + 5 &&
		   strncasecmp(data, "Date:", 5) == 0) {
		/* the store's clock: a second opinion for the vault's */
		size_t k = n - 5;

		memcpy(r->date, data + 5, k);
		while (k && (r->date[k - 1] == '\r' || r->date[k - 1] == '\n'))
			k--;
		r->date[k] = '\0';
	}
	return n;
}

static size_t on_read(char *buf, size_t size, size_t nmemb, void *arg)
{
	struct req *r = arg;
	size_t n = size * nmemb;
	uint64_t left = r->src_len - r->src_off;

	if (n > left)
		n = (size_t)left;
	if (n == 0)
		return 0;
	if (r->src) {
		memcpy(buf, r->src + r->src_off, n);
	} else {
		ssize_t got;

		do
			got = pread(r->src_fd, buf, n, (off_t)r->src_off);
		while (got < 0 && errno == EINTR);
		if (got <= 0) {
			vf_objstore_set_err("s3: PUT %s: cannot read the local "
					    "file: %s", r->what,
					    got < 0 ? strerror(errno) :
						      "shorter than its length");
			r->cb_err = -EIO;
			return CURL_READFUNC_ABORT;
		}
		n = (size_t)got;
	}
	r->src_off += n;
	return n;
}

static int on_seek(void *arg, curl_off_t off, int origin)
{
	struct req *r = arg;

	if (origin != SEEK_SET || off < 0 || (uint64_t)off > r->src_len)
		return CURL_SEEKFUNC_CANTSEEK;
	r->src_off = (uint64_t)off;
	return CURL_SEEKFUNC_OK;
}

/* ---- errors ---- */

int vf_s3_error_code(const char *body, size_t len, char *code, size_t size)
{
	const char *b, *e;
	size_t n = 0;

	if (size == 0)
		return -EINVAL;
	code[0] = '\0';
	b = memmem(body, len, "<Code>", 6);
	if (!b)
		return -ENOENT;
	b += 6;
	e = memmem(b, len - (size_t)(b - body), "</Code>", 7);
	if (!e)
		return -ENOENT;
	for (; b < e && n + 1 < size; b++)
		if ((*b >= 'A' && *b <= 'Z') || (*b >= 'a' && *b <= 'z') ||
		    (*b >= '0' && *b <= '9') || *b == '.' || *b == '_' ||
		    *b == '-')
			code[n++] = *b;
	code[n] = '\0';
	return n ? 0 : -ENOENT;
}

int vf_s3_errno_of_status(long status, const char *code)
{
	if (!code)
		code = "";
	if (status >= 200 && status < 300)
		return 0;
	if (status == 404)
		return -ENOENT;
	if (status == 401 || status == 403)
		return -EACCES;
	if (status == 408 || status == 429 || (status >= 500 && status < 600))
		return -EAGAIN;
	if (strcmp(code, "SlowDown") == 0 || strcmp(code, "RequestTimeout") == 0 ||
	    strcmp(code, "OperationAborted") == 0)
		return -EAGAIN;
	if (status == 409 && (strcmp(code, "BucketAlreadyExists") == 0 ||
			      strcmp(code, "BucketAlreadyOwnedByYou") == 0))
		return -EEXIST;
	return -EIO;
}

static const char *reason_of(long status)
{
	switch (status) {
	case 400: return "BadRequest";
	case 403: return "Forbidden";
	case 404: return "NotFound";
	case 409: return "Conflict";
	case 416: return "RangeNotSatisfiable";
	case 500: return "InternalError";
	case 503: return "ServiceUnavailable";
	default: return "error";
	}
}

/* Maps a finished transfer to 0 or a negative errno, with its message. */
static int outcome(struct s3 *s, struct req *r, CURLcode rc, long os_errno)
{
	char code[64];

	if (r->cb_err)
		return r->cb_err; /* the callback said why */
	switch (rc) {
	case CURLE_OK:
		break;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		vf_objstore_set_err("s3: cannot connect to %s: %s", s->endpoint,
				    os_errno ? strerror((int)os_errno) :
					       r->curl_err);
		return -EAGAIN;
	case CURLE_OPERATION_TIMEDOUT:
		vf_objstore_set_err("s3: %s %s: timed out talking to %s (%s)",
				    r->method, r->what, s->endpoint, r->curl_err);
		return -EAGAIN;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
		vf_objstore_set_err("s3: %s %s: connection to %s lost (%s)",
				    r->method, r->what, s->endpoint, r->curl_err);
		return -EAGAIN;
	case CURLE_PEER_FAILED_VERIFICATION:
		vf_objstore_set_err("s3: TLS certificate of %s not trusted (use "
				    "--ca-file)", s->endpoint);
		return -EIO;
	case CURLE_SSL_CACERT_BADFILE:
		vf_objstore_set_err("s3: CA file '%s' cannot be used",
				    s->ca_file ? s->ca_file : "(system)");
		return -EIO;
	case CURLE_SSL_CONNECT_ERROR:
		vf_objstore_set_err("s3: TLS handshake with %s failed (%s)",
				    s->endpoint, r->curl_err);
		return -EIO;
	case CURLE_OUT_OF_MEMORY:
		vf_objstore_set_err("s3: %s %s: out of memory", r->method,
				    r->what);
		return -ENOMEM;
	default:
		vf_objstore_set_err("s3: %s %s: %s", r->method, r->what,
				    r->curl_err[0] ? r->curl_err :
						     curl_easy_strerror(rc));
		return -EIO;
	}
	if (status_ok(r->status))
		return 0;
	if (vf_s3_error_code(r->errbody, r->errbody_len, code, sizeof(code)))
		snprintf(code, sizeof(code), "%s", reason_of(r->status));
	vf_objstore_set_err("s3: %s %s: %ld %s", r->method, r->what, r->status,
			    code);
	return vf_s3_errno_of_status(r->status, code);
}

/* ---- one request ---- */

char *vf_s3_object_url(struct s3 *s, const char *key, const char *query)
{
	return vf_s3_str_printf("%s/%s/%s%s%s%s", s->endpoint, s->bucket,
				s->prefix, key, query ? "?" : "",
				query ? query : "");
}

int vf_s3_perform(struct s3 *s, struct req *r)
{
	CURL *h;
	CURLcode rc;
	long os_errno = 0;
	struct curl_slist *l;
	int err = 0;

	l = curl_slist_append(r->hdrs, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
	if (!l)
		return -ENOMEM;
	r->hdrs = l;
	h = handle_take(s);
	if (!h) {
		vf_objstore_set_err("s3: %s %s: out of memory", r->method, r->what);
		return -ENOMEM;
	}
	r->curl_err[0] = '\0';
	r->status = 0;
	r->h = h;
#define SET(opt, val) err |= curl_easy_setopt(h, opt, val) != CURLE_OK
	SET(CURLOPT_URL, r->url);
	SET(CURLOPT_PROTOCOLS_STR, s->allow_http ? "https,http" : "https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_AWS_SIGV4, s->sigv4);
	SET(CURLOPT_USERNAME, s->akid);
	SET(CURLOPT_PASSWORD, s->secret);
	SET(CURLOPT_HTTPHEADER, r->hdrs);
	SET(CURLOPT_CONNECTTIMEOUT, 10L);
	SET(CURLOPT_LOW_SPEED_LIMIT, 1024L);
	SET(CURLOPT_LOW_SPEED_TIME, 30L);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	if (s->ca_file)
		SET(CURLOPT_CAINFO, s->ca_file);
	SET(CURLOPT_ERRORBUFFER, r->curl_err);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, r);
	SET(CURLOPT_WRITEFUNCTION, on_write);
	SET(CURLOPT_WRITEDATA, r);
	SET(CURLOPT_BUFFERSIZE, (long)CURL_BUF);
	if (strcmp(r->method, "HEAD") == 0) {
		SET(CURLOPT_NOBODY, 1L);
	} else if (r->upload) {
		SET(CURLOPT_UPLOAD, 1L);
		SET(CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->src_len);
		SET(CURLOPT_READFUNCTION, on_read);
		SET(CURLOPT_READDATA, r);
		SET(CURLOPT_SEEKFUNCTION, on_seek);
		SET(CURLOPT_SEEKDATA, r);
		SET(CURLOPT_UPLOAD_BUFFERSIZE, (long)CURL_BUF);
	} else if (strcmp(r->method, "GET") != 0) {
		SET(CURLOPT_CUSTOMREQUEST, r->method);
	}
#undef SET
	if (err) {
		handle_give(s, h);
		vf_objstore_set_err("s3: %s %s: curl refused an option (libcurl "
				    "too old?)", r->method, r->what);
		return -EIO;
	}
	rc = curl_easy_perform(h);
	if (r->date[0]) {
		time_t d = curl_getdate(r->date, NULL);

		if (d > 0) {
			pthread_mutex_lock(&s->mu);
			s->date_s = (int64_t)d;
			s->date_mono = vf_clock_mono();
			pthread_mutex_unlock(&s->mu);
		}
	}
	curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	r->content_length = -1;
	curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T,
			  &r->content_length);
	/* The handle must not keep pointers into r. */
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	r->h = NULL;
	handle_give(s, h);
	return outcome(s, r, rc, os_errno);
}

void vf_s3_req_release(struct req *r)
{
	free(r->url);
	curl_slist_free_all(r->hdrs);
	free(r->mem);
}

/* ---- the ops ---- */

struct s3 *vf_s3_of(struct vf_objstore *st)
{
	return (struct s3 *)st;
}

static int put_common(struct vf_objstore *st, const char *key, const void *data,
		      int fd, uint64_t len)
{
	struct s3 *s = vf_s3_of(st);
	struct req r = { .method = "PUT", .what = key, .upload = true,
			 .src = data, .src_fd = fd, .src_len = len };
	int e = vf_s3_check_key("PUT", key);

	if (e)
		return e;
	r.url = vf_s3_object_url(s, key, NULL);
	e = r.url ? vf_s3_perform(s, &r) : -ENOMEM;
	vf_s3_req_release(&r);
	return e;
}

static int s3_put(struct vf_objstore *st, const char *key, const void *data,
		  size_t len)
{
	if (!data && len) {
		vf_objstore_set_err("s3: PUT %s: no data", key);
		return -EINVAL;
	}
	return put_common(st, key, data ? data : "", -1, len);
}

static int s3_put_fd(struct vf_objstore *st, const char *key, int fd,
		     uint64_t len)
{
	return put_common(st, key, NULL, fd, len);
}

/* GET of a whole object (the version reads use) into r's sink; a body
 * shorter than its Content-Length is -EIO. */
static int get_whole(struct s3 *s, const char *key, struct req *r)
{
	int e = vf_s3_read_url(s, key, &r->url);

	if (e)
		return e;
	e = vf_s3_perform(s, r);
	if (e == 0 && r->content_length >= 0 &&
	    (uint64_t)r->content_length != r->got) {
		vf_objstore_set_err("s3: GET %s: %" PRIu64 " of %lld bytes", key,
				    r->got, (long long)r->content_length);
		e = -EIO;
	}
	return e;
}

static int s3_get(struct vf_objstore *st, const char *key, void **data,
		  size_t *len, size_t max)
{
	struct s3 *s = vf_s3_of(st);
	struct req r = { .method = "GET", .what = key, .sink = SINK_MEM,
			 .mem_max = max };
	int e = vf_s3_check_key("GET", key);

	if (e)
		return e;
	e = get_whole(s, key, &r);
	if (e == 0) {
		if (!r.mem)
			r.mem = malloc(1);
		if (!r.mem) {
			e = -ENOMEM;
		} else {
			*data = r.mem;
			*len = r.mem_len;
			r.mem = NULL;
		}
	}
	vf_s3_req_release(&r);
	return e;
}

static int s3_get_range(struct vf_objstore *st, const char *key, uint64_t off,
			void *buf, size_t len)
{
	struct s3 *s = vf_s3_of(st);
	struct req r = { .method = "GET", .what = key, .sink = SINK_BUF,
			 .buf = buf, .buf_len = len };
	char range[64];
	struct curl_slist *l;
	int e = vf_s3_check_key("GET", key);

	if (e)
		return e;
	if (len == 0)
		return 0;
	if (off > UINT64_MAX - len) {
		vf_objstore_set_err("s3: GET %s: range out of bounds", key);
		return -EINVAL;
	}
	snprintf(range, sizeof(range), "Range: bytes=%" PRIu64 "-%" PRIu64, off,
		 off + len - 1);
	l = curl_slist_append(NULL, range);
	if (!l)
		return -ENOMEM;
	r.hdrs = l;
	e = vf_s3_read_url(s, key, &r.url);
	if (e) {
		vf_s3_req_release(&r);
		return e;
	}
	e = r.url ? vf_s3_perform(s, &r) : -ENOMEM;
	if (e == -EIO && r.status == 416) {
		vf_objstore_set_err("s3: GET %s: short object (range %" PRIu64
				    "+%zu beyond its end)", key, off, len);
	} else if (e == 0 && (r.status != 206 || r.got != len)) {
		/* A 200 would be the whole object: a store that ignores
		 * Range (refused by the SINK_BUF bound unless it fits). */
		if (!(r.status == 200 && off == 0 && r.got == len)) {
			vf_objstore_set_err("s3: GET %s: short object (%" PRIu64
					    " of %zu bytes at %" PRIu64 ", status "
					    "%ld)", key, r.got, len, off, r.status);
			e = -EIO;
		}
	}
	vf_s3_req_release(&r);
	return e;
}

static int s3_get_fd(struct vf_objstore *st, const char *key, int fd,
		     uint64_t *len)
{
	struct s3 *s = vf_s3_of(st);
	struct req r = { .method = "GET", .what = key, .sink = SINK_FD,
			 .fd = fd };
	int e = vf_s3_check_key("GET", key);

	if (e)
		return e;
	e = get_whole(s, key, &r);
	if (e == 0)
		*len = r.got;
	vf_s3_req_release(&r);
	return e;
}

static int s3_head(struct vf_objstore *st, const char *key, uint64_t *size)
{
	struct s3 *s = vf_s3_of(st);
	struct req r = { .method = "HEAD", .what = key };
	int e = vf_s3_check_key("HEAD", key);

	if (e)
		return e;
	e = vf_s3_read_url(s, key, &r.url);
	if (e) {
		vf_s3_req_release(&r);
		return e;
	}
	e = r.url ? vf_s3_perform(s, &r) : -ENOMEM;
	if (e == 0 && r.content_length < 0) {
		vf_objstore_set_err("s3: HEAD %s: no Content-Length", key);
		e = -EIO;
	}
	if (e == 0)
		*size = (uint64_t)r.content_length;
	vf_s3_req_release(&r);
	return e;
}

static int s3_remove(struct vf_objstore *st, const char *key)
{
	struct s3 *s = vf_s3_of(st);
	struct req r = { .method = "DELETE", .what = key };
	int e = vf_s3_check_key("DELETE", key);

	if (e)
		return e;
	r.url = vf_s3_object_url(s, key, NULL);
	e = r.url ? vf_s3_perform(s, &r) : -ENOMEM;
	if (e == -ENOENT)
		e = 0; /* removing a missing object is not an error */
	vf_s3_req_release(&r);
	return e;
}

/* ---- life cycle ---- */

static void s3_destroy(struct vf_objstore *st)
{
	struct s3 *s = vf_s3_of(st);
	int i;

	for (i = 0; i < s->npool; i++)
		curl_easy_cleanup(s->pool[i]);
	pthread_mutex_destroy(&s->mu);
	free(s->endpoint);
	free(s->bucket);
	free(s->prefix);
	free(s->sigv4);
	free(s->ca_file);
	free(s->akid);
	if (s->secret) {
		sodium_memzero(s->secret, strlen(s->secret));
		sodium_free(s->secret);
	}
	free(s);
}

static int s3_set_retention(struct vf_objstore *st, const char *key,
			    int64_t until_s)
{
	return vf_s3_put_retention(st, key, until_s);
}

static int s3_get_retention(struct vf_objstore *st, const char *key,
			    int64_t *until_s)
{
	struct s3 *s = vf_s3_of(st);
	struct req r = { .method = "GET", .what = key, .sink = SINK_MEM,
			 .mem_max = 64 << 10 };
	char when[64];
	const char *v, *ve;
	int64_t ns;
	int e = vf_s3_check_key("GET retention", key);

	*until_s = 0;
	if (e)
		return e;
	e = vf_s3_version_url(s, key, "retention=", &r.url);
	if (e)
		return e;
	e = vf_s3_perform(s, &r);
	if (e == -ENOENT) {
		/* no retention on that version */
		vf_s3_req_release(&r);
		return 0;
	}
	if (e == 0 && r.mem &&
	    vf_s3_element(r.mem, r.mem + r.mem_len, "RetainUntilDate", &v,
			  &ve) &&
	    (size_t)(ve - v) < sizeof(when)) {
		memcpy(when, v, (size_t)(ve - v));
		when[ve - v] = '\0';
		if (vf_time_parse(when, &ns) == 0)
			*until_s = ns / VF_NS;
	}
	vf_s3_req_release(&r);
	return e;
}

static int s3_store_time(struct vf_objstore *st, int64_t *now_ns)
{
	struct s3 *s = vf_s3_of(st);
	int64_t d, m;

	pthread_mutex_lock(&s->mu);
	d = s->date_s;
	m = s->date_mono;
	pthread_mutex_unlock(&s->mu);
	if (!d)
		return -ENOENT;
	*now_ns = d * VF_NS + (vf_clock_mono() - m);
	return 0;
}

static int s3_lock_enabled(struct vf_objstore *st, int *on)
{
	struct s3 *s = vf_s3_of(st);
	struct req r = { .method = "GET", .what = "object lock configuration",
			 .sink = SINK_MEM, .mem_max = 64 << 10 };
	char code[64] = "";
	int e;

	*on = 0;
	r.url = vf_s3_str_printf("%s/%s?object-lock=", s->endpoint, s->bucket);
	e = r.url ? vf_s3_perform(s, &r) : -ENOMEM;
	if (e == 0)
		*on = r.mem && memmem(r.mem, r.mem_len,
				      "<ObjectLockEnabled>Enabled<", 27) != NULL;
	else if (e == -ENOENT &&
		 vf_s3_error_code(r.errbody, r.errbody_len, code,
				  sizeof(code)) == 0 &&
		 strcmp(code, "NoSuchBucket") != 0)
		e = 0; /* no lock configuration: not locked */
	vf_s3_req_release(&r);
	return e;
}

static const struct vf_objstore_ops s3_ops = {
	.put = s3_put,
	.put_fd = s3_put_fd,
	.get = s3_get,
	.get_range = s3_get_range,
	.get_fd = s3_get_fd,
	.head = s3_head,
	.list = vf_s3_list,
	.remove = s3_remove,
	.remove_versions = vf_s3_remove_versions,
	.set_retention = s3_set_retention,
	.lock_enabled = s3_lock_enabled,
	.get_retention = s3_get_retention,
	.store_time = s3_store_time,
	.destroy = s3_destroy,
};

int vf_s3_new(const struct vf_store_cfg *cfg, struct vf_objstore **out)
{
	const char *region = cfg->region ? cfg->region : "us-east-1";
	const char *profile = cfg->profile ? cfg->profile : "default";
	struct s3 *s;
	size_t i;
	int e;

	pthread_once(&global_once, global_init);
	if (global_err) {
		vf_objstore_set_err("s3: cannot initialise libcurl");
		return global_err;
	}
	for (i = 0; region[i]; i++)
		if (!vf_s3_is_lower_alnum(region[i]) && region[i] != '-')
			break;
	if (!region[0] || region[i] || i > 64) {
		vf_objstore_set_err("s3: invalid region '%.64s'", region);
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->base.ops = &s3_ops;
	s->allow_http = cfg->allow_http;
	if (pthread_mutex_init(&s->mu, NULL)) {
		free(s);
		return -ENOMEM;
	}
	e = vf_s3_parse_endpoint(cfg, &s->endpoint);
	if (e)
		goto fail;
	e = vf_s3_parse_url(cfg->url, &s->bucket, &s->prefix);
	if (e)
		goto fail;
	if (cfg->ca_file) {
		if (access(cfg->ca_file, R_OK) < 0) {
			vf_objstore_set_err("s3: CA file '%s': %s", cfg->ca_file,
					    strerror(errno));
			e = -EINVAL;
			goto fail;
		}
		s->ca_file = vf_s3_str_dup(cfg->ca_file, strlen(cfg->ca_file));
		if (!s->ca_file) {
			e = -ENOMEM;
			goto fail;
		}
	}
	s->sigv4 = vf_s3_str_printf("aws:amz:%s:s3", region);
	if (!s->sigv4) {
		e = -ENOMEM;
		goto fail;
	}
	e = vf_s3_read_credentials(cfg->credentials, profile, &s->akid,
				   &s->secret);
	if (e)
		goto fail;
	*out = &s->base;
	return 0;
fail:
	s3_destroy(&s->base);
	return e;
}

int vf_s3_create_bucket(const struct vf_store_cfg *cfg, bool object_lock)
{
	struct vf_objstore *st = NULL;
	struct s3 *s;
	struct req r = { .method = "PUT", .upload = true, .src = "" };
	int e = vf_s3_new(cfg, &st);

	if (e)
		return e;
	s = vf_s3_of(st);
	r.what = s->bucket;
	if (object_lock) {
		r.hdrs = curl_slist_append(NULL,
					   "x-amz-bucket-object-lock-enabled: true");
		if (!r.hdrs) {
			e = -ENOMEM;
			goto out;
		}
	}
	r.url = vf_s3_str_printf("%s/%s", s->endpoint, s->bucket);
	e = r.url ? vf_s3_perform(s, &r) : -ENOMEM;
out:
	vf_s3_req_release(&r);
	vf_objstore_free(st);
	return e;
}

int vf_s3_put_retention(struct vf_objstore *st, const char *key,
			int64_t retain_until_s)
{
	struct s3 *s = vf_s3_of(st);
	struct req r = { .method = "PUT", .what = key, .upload = true };
	char when[32], *body = NULL;
	int e = vf_s3_check_key("PUT retention", key);

	if (e)
		return e;
	if (st->ops != &s3_ops) {
		vf_objstore_set_err("s3: retention needs an S3 store");
		return -EINVAL;
	}
	if (retain_until_s <= 0 || retain_until_s > INT64_MAX / VF_NS) {
		vf_objstore_set_err("s3: PUT %s retention: bad time", key);
		return -EINVAL;
	}
	vf_time_format(retain_until_s * VF_NS, when);
	body = vf_s3_str_printf(
	    "<Retention xmlns=\"http://s3.amazonaws.com/doc/"
	    "2006-03-01/\"><Mode>COMPLIANCE</Mode><RetainUntilDate>"
	    "%s</RetainUntilDate></Retention>",
	    when);
	if (!body)
		return -ENOMEM;
	r.src = body;
	r.src_len = strlen(body);
	r.url = vf_s3_object_url(s, key, "retention=");
	r.method = "PUT";
	e = r.url ? vf_s3_perform(s, &r) : -ENOMEM;
	vf_s3_req_release(&r);
	free(body);
	return e;
}

void vf_s3_read_first_versions(struct vf_objstore *st, bool on)
{
	if (st->ops == &s3_ops)
		vf_s3_of(st)->first_version = on;
}
