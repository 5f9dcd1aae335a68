/*
 * s3_config.c - the S3 store's configuration, parsed and checked once in
 * vf_s3_new: the endpoint, bucket and prefix of the URL, and the key
 * pair of a root-only AWS shared-credentials file (s3.c's opening
 * comment; docs/remote-store.md).
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

#define CRED_FILE_MAX 65536 /* credentials file size limit */

/* ---- configuration ---- */

int vf_s3_parse_endpoint(const struct vf_store_cfg *cfg, char **out)
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
	*out = vf_s3_str_dup(e, (size_t)(host - e) + n);
	return *out ? 0 : -ENOMEM;
}

static bool valid_bucket(const char *b, size_t n)
{
	size_t i;

	if (n < 3 || n > 63 || !vf_s3_is_lower_alnum(b[0]) ||
	    !vf_s3_is_lower_alnum(b[n - 1]))
		return false;
	for (i = 0; i < n; i++)
		if (!vf_s3_is_lower_alnum(b[i]) && b[i] != '.' && b[i] != '-')
			return false;
	return true;
}

int vf_s3_parse_url(const char *url, char **bucket, char **prefix)
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
		if (pn > VF_OBJKEY_MAX || !vf_s3_valid_path(pre, true, false)) {
			free(pre);
			goto bad;
		}
		pre[pn] = '/';
		pre[pn + 1] = '\0';
	} else {
		pre = vf_s3_str_dup("", 0);
	}
	*bucket = vf_s3_str_dup(b, bn);
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
	*akid = vf_s3_str_dup(id, strlen(id));
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
int vf_s3_read_credentials(const char *path, const char *profile, char **akid,
			   char **secret)
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
