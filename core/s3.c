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
#include "s3.h"

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

#define POOL_MAX 4                /* idle curl handles kept per store */
#define ERRBODY_MAX 4096          /* bytes of an error reply kept */
#define LIST_PAGE_MAX (8u << 20)  /* one ListObjectsV2 reply */
#define CRED_FILE_MAX 65536       /* credentials file size limit */
#define CURL_BUF (256 * 1024)     /* curl's upload and download buffers */
#define LIST_KEY_MAX 1024         /* S3's own key limit */
#define TOKEN_MAX 2048            /* continuation token */

struct s3 {
	struct vf_objstore base;
	char *endpoint; /* scheme://host[:port], no trailing slash */
	char *bucket;
	char *prefix;   /* "" or "PREFIX/" */
	char *sigv4;    /* "aws:amz:REGION:s3" */
	char *ca_file;  /* NULL: the system's CA bundle */
	bool allow_http;
	bool first_version; /* reads take each key's oldest version */
	int64_t date_s;     /* the Date of the last reply (under mu) */
	int64_t date_mono;  /* vf_clock_mono when it came */
	char *akid;
	char *secret;   /* sodium_malloc'd */
	pthread_mutex_t mu;
	CURL *pool[POOL_MAX];
	int npool;
};

enum sink { SINK_NONE, SINK_MEM, SINK_BUF, SINK_FD };

struct s3;
static int read_url(struct s3 *s, const char *key, char **url);

/* One request: what to send, where the body goes, what came back. */
struct req {
	const char *method; /* for messages and CUSTOMREQUEST */
	const char *what;   /* the key (or bucket) for messages */
	char *url;
	struct curl_slist *hdrs;
	/* upload: from memory (src) or from a file (src_fd) */
	bool upload;
	const char *src;
	int src_fd;
	uint64_t src_len, src_off;
	/* download */
	enum sink sink;
	char *mem;
	size_t mem_len, mem_cap, mem_max;
	char *buf;
	size_t buf_len;
	int fd;
	uint64_t got;
	CURL *h; /* while the transfer runs */
	/* outcome */
	long status;
	int cb_err; /* a callback's negative errno (its message is set) */
	char errbody[ERRBODY_MAX + 1];
	size_t errbody_len;
	char curl_err[CURL_ERROR_SIZE];
	curl_off_t content_length;
	char date[64]; /* the reply's Date header */
};

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

static char *str_dup(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

static char *str_printf(const char *fmt, ...) VF_PRINTF(1, 2);
static char *str_printf(const char *fmt, ...)
{
	va_list ap;
	char *p = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : p;
}

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* Keys and prefixes: [a-z0-9/._-] (prefixes of the store URL may also
 * use upper case), no leading "/", no empty, "." or ".." segment (curl
 * would normalise those away and sign another path). */
static bool valid_path(const char *k, bool upper, bool empty_ok)
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
		if (!is_lower_alnum(*p) && *p != '.' && *p != '_' &&
		    *p != '-' && !(upper && *p >= 'A' && *p <= 'Z'))
			return false;
	}
}

static int check_key(const char *op, const char *key)
{
	if (strlen(key) > VF_OBJKEY_MAX || !valid_path(key, false, false)) {
		vf_objstore_set_err("s3: %s: invalid object key '%.64s'", op,
				    key);
		return -EINVAL;
	}
	return 0;
}

/* Query-string encoding of SigV4: everything but A-Za-z0-9-_.~ as %XX
 * (upper-case hex), "/" included.  Returns a malloc'd string or NULL. */
static char *query_enc(const char *s)
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

/* ---- configuration ---- */

static int parse_endpoint(const struct vf_store_cfg *cfg, char **out)
{
	const char *e = cfg->endpoint, *host;
	size_t n;
	bool http;

	if (!e || !*e) {
		vf_objstore_set_err("s3: no endpoint given (https://HOST[:PORT])");
		return -EINVAL;
	}
	http = strncmp(e, "http://", 7) == 0;
	if (!http && strncmp(e, "https://", 8) != 0) {
		vf_objstore_set_err("s3: endpoint '%s' is not https://HOST[:PORT]",
				    e);
		return -EINVAL;
	}
	if (http && !cfg->allow_http) {
		vf_objstore_set_err("s3: endpoint '%s' is plain http (credentials "
				    "and data unprotected); use https or allow http "
				    "explicitly", e);
		return -EINVAL;
	}
	host = e + (http ? 7 : 8);
	n = strlen(host);
	while (n > 0 && host[n - 1] == '/')
		n--;
	if (n == 0 || strcspn(host, "/?#@ \t\r\n") < n) {
		vf_objstore_set_err("s3: endpoint '%s' is not https://HOST[:PORT]",
				    e);
		return -EINVAL;
	}
	*out = str_dup(e, (size_t)(host - e) + n);
	return *out ? 0 : -ENOMEM;
}

static bool valid_bucket(const char *b, size_t n)
{
	size_t i;

	if (n < 3 || n > 63 || !is_lower_alnum(b[0]) || !is_lower_alnum(b[n - 1]))
		return false;
	for (i = 0; i < n; i++)
		if (!is_lower_alnum(b[i]) && b[i] != '.' && b[i] != '-')
			return false;
	return true;
}

static int parse_url(const char *url, char **bucket, char **prefix)
{
	const char *b, *slash;
	size_t bn, pn;
	char *pre = NULL;

	if (!url || strncmp(url, "s3://", 5) != 0)
		goto bad;
	b = url + 5;
	slash = strchr(b, '/');
	bn = slash ? (size_t)(slash - b) : strlen(b);
	if (!valid_bucket(b, bn))
		goto bad;
	pn = slash ? strlen(slash + 1) : 0;
	while (pn > 0 && slash[pn] == '/')
		pn--;
	if (pn > 0) {
		pre = malloc(pn + 2);
		if (!pre)
			return -ENOMEM;
		memcpy(pre, slash + 1, pn);
		pre[pn] = '\0';
		if (pn > VF_OBJKEY_MAX || !valid_path(pre, true, false)) {
			free(pre);
			goto bad;
		}
		pre[pn] = '/';
		pre[pn + 1] = '\0';
	} else {
		pre = str_dup("", 0);
	}
	*bucket = str_dup(b, bn);
	*prefix = pre;
	if (!*bucket || !pre) {
		free(*bucket);
		free(pre);
		return -ENOMEM;
	}
	return 0;
bad:
	vf_objstore_set_err("s3: malformed store URL '%s' (expected "
			    "s3://BUCKET[/PREFIX])", url ? url : "");
	return -EINVAL;
}

static char *trim(char *s, char *end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		end--;
	*end = '\0';
	return s;
}

/* Key pair of profile from the text of a credentials file (NUL-terminated,
 * modified in place).  *akid is malloc'd, *secret sodium_malloc'd. */
static int parse_credentials(char *text, const char *profile, char **akid,
			     char **secret)
{
	char *line = text, *next, *eq, *k, *v;
	const char *id = NULL, *sec = NULL;
	bool in = false;

	for (; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		line = trim(line, line + strlen(line));
		if (!*line || *line == '#' || *line == ';')
			continue;
		if (*line == '[') {
			char *close = strchr(line, ']');

			if (!close)
				return -EINVAL;
			k = trim(line + 1, close);
			in = strcmp(k, profile) == 0;
			continue;
		}
		eq = strchr(line, '=');
		if (!eq || !in)
			continue;
		v = trim(eq + 1, eq + 1 + strlen(eq + 1));
		k = trim(line, eq);
		if (strcmp(k, "aws_access_key_id") == 0)
			id = v;
		else if (strcmp(k, "aws_secret_access_key") == 0)
			sec = v;
		else if (strcmp(k, "aws_session_token") == 0)
			return -EOPNOTSUPP;
	}
	if (!id || !sec || !*id || !*sec || strcspn(id, " \t") != strlen(id) ||
	    strcspn(sec, " \t") != strlen(sec))
		return -ENOENT;
	*akid = str_dup(id, strlen(id));
	*secret = sodium_malloc(strlen(sec) + 1);
	if (!*akid || !*secret) {
		free(*akid);
		sodium_free(*secret);
		return -ENOMEM;
	}
	memcpy(*secret, sec, strlen(sec) + 1);
	return 0;
}

/*
 * Reads the key pair.  The file must be a regular file (not a symlink),
 * owned by root or by the user this process runs as, and give nothing to
 * group or others: a key another user could read or replace is refused
 * (the security invariant of docs/remote-store.md is enforced here).
 */
static int read_credentials(const char *path, const char *profile,
			    char **akid, char **secret)
{
	struct stat st;
	char *text = NULL;
	size_t got = 0;
	int fd = -1, r;

	if (!path || !*path) {
		vf_objstore_set_err("s3: no credentials file given");
		return -EINVAL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		r = -errno;
		if (errno == ELOOP)
			vf_objstore_set_err("s3: credentials file '%s' is a "
					    "symbolic link", path);
		else
			vf_objstore_set_err("s3: cannot open credentials file "
					    "'%s': %s", path, strerror(errno));
		return r == -ENOENT ? -ENOENT : -EACCES;
	}
	r = -EACCES;
	if (fstat(fd, &st) < 0) {
		vf_objstore_set_err("s3: cannot stat credentials file '%s': %s",
				    path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		vf_objstore_set_err("s3: credentials file '%s' is not a regular "
				    "file", path);
		goto out;
	}
	/* geteuid: the process's own identity owns its key file (not a
	 * caller's identity, which core never reads). */
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		vf_objstore_set_err("s3: credentials file '%s' is owned by uid "
				    "%u, not root", path, (unsigned)st.st_uid);
		goto out;
	}
	if (st.st_mode & 077) {
		vf_objstore_set_err("s3: credentials file '%s' is accessible by "
				    "group or others (mode %04o; chmod 600)", path,
				    (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (st.st_size > CRED_FILE_MAX) {
		vf_objstore_set_err("s3: credentials file '%s' is larger than "
				    "%d bytes", path, CRED_FILE_MAX);
		goto out;
	}
	text = sodium_malloc((size_t)st.st_size + 1);
	if (!text) {
		r = -ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, text + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			vf_objstore_set_err("s3: cannot read credentials file "
					    "'%s': %s", path, strerror(errno));
			r = -EIO;
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	text[got] = '\0';
	r = parse_credentials(text, profile, akid, secret);
	if (r == -EOPNOTSUPP) {
		vf_objstore_set_err("s3: credentials file '%s': profile '%s' has "
				    "an aws_session_token (temporary credentials "
				    "are not supported)", path, profile);
		r = -EINVAL;
	} else if (r == -ENOENT || r == -EINVAL) {
		vf_objstore_set_err("s3: credentials file '%s' has no "
				    "aws_access_key_id and aws_secret_access_key "
				    "for profile '%s'", path, profile);
		r = -EINVAL;
	}
out:
	if (text) {
		sodium_memzero(text, (size_t)st.st_size + 1);
		sodium_free(text);
	}
	close(fd);
	return r;
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

static char *object_url(struct s3 *s, const char *key, const char *query)
{
	return str_printf("%s/%s/%s%s%s%s", s->endpoint, s->bucket, s->prefix,
			  key, query ? "?" : "", query ? query : "");
}

static int perform(struct s3 *s, struct req *r)
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

static void req_release(struct req *r)
{
	free(r->url);
	curl_slist_free_all(r->hdrs);
	free(r->mem);
}

/* ---- the ops ---- */

static struct s3 *of(struct vf_objstore *st)
{
	return (struct s3 *)st;
}

static int put_common(struct vf_objstore *st, const char *key, const void *data,
		      int fd, uint64_t len)
{
	struct s3 *s = of(st);
	struct req r = { .method = "PUT", .what = key, .upload = true,
			 .src = data, .src_fd = fd, .src_len = len };
	int e = check_key("PUT", key);

	if (e)
		return e;
	r.url = object_url(s, key, NULL);
	e = r.url ? perform(s, &r) : -ENOMEM;
	req_release(&r);
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
	int e = read_url(s, key, &r->url);

	if (e)
		return e;
	e = perform(s, r);
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
	struct s3 *s = of(st);
	struct req r = { .method = "GET", .what = key, .sink = SINK_MEM,
			 .mem_max = max };
	int e = check_key("GET", key);

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
	req_release(&r);
	return e;
}

static int s3_get_range(struct vf_objstore *st, const char *key, uint64_t off,
			void *buf, size_t len)
{
	struct s3 *s = of(st);
	struct req r = { .method = "GET", .what = key, .sink = SINK_BUF,
			 .buf = buf, .buf_len = len };
	char range[64];
	struct curl_slist *l;
	int e = check_key("GET", key);

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
	e = read_url(s, key, &r.url);
	if (e) {
		req_release(&r);
		return e;
	}
	e = r.url ? perform(s, &r) : -ENOMEM;
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
	req_release(&r);
	return e;
}

static int s3_get_fd(struct vf_objstore *st, const char *key, int fd,
		     uint64_t *len)
{
	struct s3 *s = of(st);
	struct req r = { .method = "GET", .what = key, .sink = SINK_FD,
			 .fd = fd };
	int e = check_key("GET", key);

	if (e)
		return e;
	e = get_whole(s, key, &r);
	if (e == 0)
		*len = r.got;
	req_release(&r);
	return e;
}

static int s3_head(struct vf_objstore *st, const char *key, uint64_t *size)
{
	struct s3 *s = of(st);
	struct req r = { .method = "HEAD", .what = key };
	int e = check_key("HEAD", key);

	if (e)
		return e;
	e = read_url(s, key, &r.url);
	if (e) {
		req_release(&r);
		return e;
	}
	e = r.url ? perform(s, &r) : -ENOMEM;
	if (e == 0 && r.content_length < 0) {
		vf_objstore_set_err("s3: HEAD %s: no Content-Length", key);
		e = -EIO;
	}
	if (e == 0)
		*size = (uint64_t)r.content_length;
	req_release(&r);
	return e;
}

static int s3_remove(struct vf_objstore *st, const char *key)
{
	struct s3 *s = of(st);
	struct req r = { .method = "DELETE", .what = key };
	int e = check_key("DELETE", key);

	if (e)
		return e;
	r.url = object_url(s, key, NULL);
	e = r.url ? perform(s, &r) : -ENOMEM;
	if (e == -ENOENT)
		e = 0; /* removing a missing object is not an error */
	req_release(&r);
	return e;
}

/* ---- listing ---- */

/* The text of the first <tag>...</tag> in [p, end): *v and *vend, or
 * false.  Element text never holds '<' (XML escapes it), so a plain
 * search cannot be fooled by a key. */
static bool element(const char *p, const char *end, const char *tag,
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
	if (element(xml, end, "IsTruncated", &v, &ve))
		truncated = (size_t)(ve - v) == 4 && memcmp(v, "true", 4) == 0;
	while (element(p, end, "Contents", &cb_, &ce)) {
		struct vf_objinfo o = { 0 };
		int64_t ns;

		if (!element(cb_, ce, "Key", &v, &ve) ||
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
		if (!element(cb_, ce, "Size", &v, &ve) ||
		    !parse_u64(v, ve, &o.size)) {
			vf_objstore_set_err("s3: LIST: bad <Size> of '%.64s'", key);
			return -EIO;
		}
		if (!element(cb_, ce, "LastModified", &v, &ve) ||
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
	if (!element(xml, end, "NextContinuationToken", &v, &ve) ||
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
	if (element(xml, end, "IsTruncated", &v, &ve))
		truncated = (size_t)(ve - v) == 4 && memcmp(v, "true", 4) == 0;
	/* <Version> blocks (delete markers are <DeleteMarker>: skipped);
	 * "<Version>" never matches "<VersionId>" (the '>' differs). */
	while (element(p, end, "Version", &b, &e)) {
		struct vf_s3_version o = { 0 };
		int64_t ns;

		if (!element(b, e, "Key", &v, &ve) ||
		    !unescape(v, ve, key, sizeof(key)) ||
		    strncmp(key, strip, strip_len) != 0 ||
		    !element(b, e, "VersionId", &v, &ve) ||
		    !unescape(v, ve, vid, sizeof(vid)) || !vid[0] ||
		    !element(b, e, "Size", &v, &ve) ||
		    !parse_u64(v, ve, &o.size) ||
		    !element(b, e, "LastModified", &v, &ve) ||
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
	if (!element(xml, end, "NextKeyMarker", &v, &ve) ||
	    !unescape(v, ve, next_key, cap) || !next_key[0] ||
	    (element(xml, end, "NextVersionIdMarker", &v, &ve) &&
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

	full = str_printf("%s%s", s->prefix, prefix);
	enc_prefix = full ? query_enc(full) : NULL;
	if (!enc_prefix) {
		e = -ENOMEM;
		goto out;
	}
	do {
		struct req r = { .method = "GET", .what = "(versions)",
				 .sink = SINK_MEM, .mem_max = LIST_PAGE_MAX };
		char *ek = kmark[0] ? query_enc(kmark) : NULL;
		char *ev = vmark[0] ? query_enc(vmark) : NULL;

		if ((kmark[0] && !ek) || (vmark[0] && !ev)) {
			free(ek);
			free(ev);
			e = -ENOMEM;
			goto out;
		}
		/* sorted parameters, each with "=" (what radosgw checks) */
		r.url = str_printf("%s/%s?%s%s%sprefix=%s&%s%s%sversions=",
				   s->endpoint, s->bucket,
				   ek ? "key-marker=" : "", ek ? ek : "",
				   ek ? "&" : "", enc_prefix,
				   ev ? "version-id-marker=" : "",
				   ev ? ev : "", ev ? "&" : "");
		free(ek);
		free(ev);
		e = r.url ? perform(s, &r) : -ENOMEM;
		if (e == -EFBIG) {
			vf_objstore_set_err("s3: LIST versions: reply larger than %u bytes",
					    LIST_PAGE_MAX);
			e = -EIO;
		}
		if (e == 0)
			e = vf_s3_parse_versions(r.mem ? r.mem : "", r.mem_len,
						 s->prefix, cb, arg, kmark,
						 vmark, sizeof(kmark));
		req_release(&r);
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
static int version_url(struct s3 *s, const char *key, const char *query,
		       char **url)
{
	struct oldest o = { key, "" };
	char *q;
	int e;

	*url = NULL;
	if (!s->first_version) {
		*url = object_url(s, key, query);
		return *url ? 0 : -ENOMEM;
	}
	e = list_versions(s, key, oldest_cb, &o);
	if (e)
		return e;
	if (!o.vid[0]) {
		vf_objstore_set_err("s3: %s: no version in the store", key);
		return -ENOENT;
	}
	q = query_enc(o.vid);
	*url = q ? str_printf("%s/%s/%s%s?%s%sversionId=%s", s->endpoint,
			      s->bucket, s->prefix, key, query ? query : "",
			      query ? "&" : "", q) :
		   NULL;
	free(q);
	return *url ? 0 : -ENOMEM;
}

static int read_url(struct s3 *s, const char *key, char **url)
{
	return version_url(s, key, NULL, url);
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

static int s3_list(struct vf_objstore *st, const char *prefix,
		   int (*cb)(void *arg, const struct vf_objinfo *o), void *arg)
{
	struct s3 *s = of(st);
	char token[TOKEN_MAX + 1] = "";
	char *full = NULL, *enc_prefix = NULL;
	int e;

	if (!prefix)
		prefix = "";
	if (strlen(prefix) > VF_OBJKEY_MAX || !valid_path(prefix, false, true)) {
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
	full = str_printf("%s%s", s->prefix, prefix);
	enc_prefix = full ? query_enc(full) : NULL;
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
			enc_token = query_enc(token);
			if (!enc_token) {
				e = -ENOMEM;
				goto out;
			}
		}
		r.url = str_printf("%s/%s?%s%s%slist-type=2&max-keys=1000&prefix=%s",
				   s->endpoint, s->bucket,
				   enc_token ? "continuation-token=" : "",
				   enc_token ? enc_token : "",
				   enc_token ? "&" : "", enc_prefix);
		free(enc_token);
		e = r.url ? perform(s, &r) : -ENOMEM;
		if (e == -EFBIG) {
			vf_objstore_set_err("s3: LIST: reply larger than %u bytes",
					    LIST_PAGE_MAX);
			e = -EIO;
		}
		if (e == 0)
			e = vf_s3_parse_list(r.mem ? r.mem : "", r.mem_len, s->prefix,
					     cb, arg, token, sizeof(token));
		req_release(&r);
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
	q = query_enc(v->vid);
	r.url = q ? str_printf("%s/%s/%s%s?versionId=%s", p->s->endpoint,
			       p->s->bucket, p->s->prefix, p->key, q) :
		    NULL;
	free(q);
	e = r.url ? perform(p->s, &r) : -ENOMEM;
	req_release(&r);
	if (e == -ENOENT)
		e = 0;
	if (e == -EACCES) {
		/* locked: "not yet"; the other versions are still tried */
		p->refused = e;
		e = 0;
	}
	return e;
}

static int s3_remove_versions(struct vf_objstore *st, const char *key)
{
	struct purge p = { of(st), key, 0 };
	int e = check_key("DELETE", key);

	if (!e)
		e = list_versions(p.s, key, purge_cb, &p);
	if (!e && p.refused)
		vf_objstore_set_err("s3: DELETE %s: 403 AccessDenied (the object is still locked)",
				    key);
	return e ? e : p.refused;
}

/* ---- life cycle ---- */

static void s3_destroy(struct vf_objstore *st)
{
	struct s3 *s = of(st);
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
	struct s3 *s = of(st);
	struct req r = { .method = "GET", .what = key, .sink = SINK_MEM,
			 .mem_max = 64 << 10 };
	char when[64];
	const char *v, *ve;
	int64_t ns;
	int e = check_key("GET retention", key);

	*until_s = 0;
	if (e)
		return e;
	e = version_url(s, key, "retention=", &r.url);
	if (e)
		return e;
	e = perform(s, &r);
	if (e == -ENOENT) {
		/* no retention on that version */
		req_release(&r);
		return 0;
	}
	if (e == 0 && r.mem &&
	    element(r.mem, r.mem + r.mem_len, "RetainUntilDate", &v, &ve) &&
	    (size_t)(ve - v) < sizeof(when)) {
		memcpy(when, v, (size_t)(ve - v));
		when[ve - v] = '\0';
		if (vf_time_parse(when, &ns) == 0)
			*until_s = ns / VF_NS;
	}
	req_release(&r);
	return e;
}

static int s3_store_time(struct vf_objstore *st, int64_t *now_ns)
{
	struct s3 *s = of(st);
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
	struct s3 *s = of(st);
	struct req r = { .method = "GET", .what = "object lock configuration",
			 .sink = SINK_MEM, .mem_max = 64 << 10 };
	char code[64] = "";
	int e;

	*on = 0;
	r.url = str_printf("%s/%s?object-lock=", s->endpoint, s->bucket);
	e = r.url ? perform(s, &r) : -ENOMEM;
	if (e == 0)
		*on = r.mem && memmem(r.mem, r.mem_len,
				      "<ObjectLockEnabled>Enabled<", 27) != NULL;
	else if (e == -ENOENT &&
		 vf_s3_error_code(r.errbody, r.errbody_len, code,
				  sizeof(code)) == 0 &&
		 strcmp(code, "NoSuchBucket") != 0)
		e = 0; /* no lock configuration: not locked */
	req_release(&r);
	return e;
}

static const struct vf_objstore_ops s3_ops = {
	.put = s3_put,
	.put_fd = s3_put_fd,
	.get = s3_get,
	.get_range = s3_get_range,
	.get_fd = s3_get_fd,
	.head = s3_head,
	.list = s3_list,
	.remove = s3_remove,
	.remove_versions = s3_remove_versions,
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
		if (!is_lower_alnum(region[i]) && region[i] != '-')
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
	e = parse_endpoint(cfg, &s->endpoint);
	if (e)
		goto fail;
	e = parse_url(cfg->url, &s->bucket, &s->prefix);
	if (e)
		goto fail;
	if (cfg->ca_file) {
		if (access(cfg->ca_file, R_OK) < 0) {
			vf_objstore_set_err("s3: CA file '%s': %s", cfg->ca_file,
					    strerror(errno));
			e = -EINVAL;
			goto fail;
		}
		s->ca_file = str_dup(cfg->ca_file, strlen(cfg->ca_file));
		if (!s->ca_file) {
			e = -ENOMEM;
			goto fail;
		}
	}
	s->sigv4 = str_printf("aws:amz:%s:s3", region);
	if (!s->sigv4) {
		e = -ENOMEM;
		goto fail;
	}
	e = read_credentials(cfg->credentials, profile, &s->akid, &s->secret);
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
	s = of(st);
	r.what = s->bucket;
	if (object_lock) {
		r.hdrs = curl_slist_append(NULL,
					   "x-amz-bucket-object-lock-enabled: true");
		if (!r.hdrs) {
			e = -ENOMEM;
			goto out;
		}
	}
	r.url = str_printf("%s/%s", s->endpoint, s->bucket);
	e = r.url ? perform(s, &r) : -ENOMEM;
out:
	req_release(&r);
	vf_objstore_free(st);
	return e;
}

int vf_s3_put_retention(struct vf_objstore *st, const char *key,
			int64_t retain_until_s)
{
	struct s3 *s = of(st);
	struct req r = { .method = "PUT", .what = key, .upload = true };
	char when[32], *body = NULL;
	int e = check_key("PUT retention", key);

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
	body = str_printf("<Retention xmlns=\"http://s3.amazonaws.com/doc/"
			  "2006-03-01/\"><Mode>COMPLIANCE</Mode><RetainUntilDate>"
			  "%s</RetainUntilDate></Retention>", when);
	if (!body)
		return -ENOMEM;
	r.src = body;
	r.src_len = strlen(body);
	r.url = object_url(s, key, "retention=");
	r.method = "PUT";
	e = r.url ? perform(s, &r) : -ENOMEM;
	req_release(&r);
	free(body);
	return e;
}

void vf_s3_read_first_versions(struct vf_objstore *st, bool on)
{
	if (st->ops == &s3_ops)
		of(st)->first_version = on;
}
