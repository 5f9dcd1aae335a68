/*
 * t-s3.c - the S3 backend without a network: store URLs and endpoints
 * accepted and refused, credentials files refused (mode, owner, type,
 * missing profile) with one line that names the file and never the
 * secret, the HTTP status to errno table, the <Code> of error replies,
 * and the ListObjectsV2 scanner on canned replies (escaped keys,
 * pagination tokens, malformed replies).  The real store is exercised by
 * tests/integration/0040-s3-store.sh.
 */
#include "s3.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"

#define SECRET "wJalrXUtnFEMIK7MDENGbPxRfiCYSECRETKEY"

static char dir[64];
static char good[128];

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd;

	/* a new file: the last one may be 0400 (only root writes that) */
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	CHECK(chmod(path, mode) == 0);
}

static struct vf_store_cfg cfg_of(const char *url, const char *endpoint,
				  const char *cred)
{
	struct vf_store_cfg c = { .url = url, .endpoint = endpoint,
				  .credentials = cred };
	return c;
}

/* vf_s3_new with cfg: the errno, and the message checked to be one line
 * without the secret. */
static int open_with(const struct vf_store_cfg *c)
{
	struct vf_objstore *s = NULL;
	int e;

	vf_objstore_set_err("%s", "");
	e = vf_s3_new(c, &s);
	if (e == 0) {
		CHECK(s != NULL);
		vf_objstore_free(s);
	} else {
		CHECK(strncmp(vf_objstore_errmsg(), "s3: ", 4) == 0);
		CHECK(strchr(vf_objstore_errmsg(), '\n') == NULL);
		CHECK(strstr(vf_objstore_errmsg(), SECRET) == NULL);
	}
	return e;
}

static void urls(void)
{
	static const char *ok[] = { "s3://bucket", "s3://bucket/",
				    "s3://my-bucket.1/a/b", "s3://abc/Pre_fix/x.y/" };
	static const char *bad[] = { "", "s3:/bucket", "http://bucket",
				     "s3://ab", "s3://Bucket", "s3://-abc",
				     "s3://abc/../x", "s3://abc/a//b",
				     "s3://abc/./a", "s3://abc/a b",
				     "s3://abc/a?b" };
	struct vf_store_cfg c;
	size_t i;

	for (i = 0; i < VF_ARRAY_LEN(ok); i++) {
		c = cfg_of(ok[i], "https://127.0.0.1:9", good);
		CHECK_EQ(open_with(&c), 0);
	}
	for (i = 0; i < VF_ARRAY_LEN(bad); i++) {
		c = cfg_of(bad[i], "https://127.0.0.1:9", good);
		CHECK_EQ(open_with(&c), -EINVAL);
		CHECK(strstr(vf_objstore_errmsg(), "malformed store URL"));
	}
	c = cfg_of(NULL, "https://127.0.0.1:9", good);
	CHECK_EQ(open_with(&c), -EINVAL);
}

static void endpoints(void)
{
	static const char *ok[] = { "https://127.0.0.1:9", "https://s3.example/",
				    "https://[::1]:8443" };
	static const char *bad[] = { "ftp://x", "https://", "https:///",
				     "https://h/path", "https://u@h",
				     "127.0.0.1:9", "" };
	struct vf_store_cfg c;
	size_t i;

	for (i = 0; i < VF_ARRAY_LEN(ok); i++) {
		c = cfg_of("s3://bucket", ok[i], good);
		CHECK_EQ(open_with(&c), 0);
	}
	for (i = 0; i < VF_ARRAY_LEN(bad); i++) {
		c = cfg_of("s3://bucket", bad[i], good);
		CHECK_EQ(open_with(&c), -EINVAL);
	}
	c = cfg_of("s3://bucket", NULL, good);
	CHECK_EQ(open_with(&c), -EINVAL);
	/* Plain http only when asked for. */
	c = cfg_of("s3://bucket", "http://127.0.0.1:9", good);
	CHECK_EQ(open_with(&c), -EINVAL);
	CHECK(strstr(vf_objstore_errmsg(), "plain http"));
	c.allow_http = true;
	CHECK_EQ(open_with(&c), 0);
	/* Regions and CA files. */
	c = cfg_of("s3://bucket", "https://h", good);
	c.region = "eu-west-1";
	CHECK_EQ(open_with(&c), 0);
	c.region = "EU WEST";
	CHECK_EQ(open_with(&c), -EINVAL);
	c.region = NULL;
	c.ca_file = "/nonexistent/ca.pem";
	CHECK_EQ(open_with(&c), -EINVAL);
	CHECK(strstr(vf_objstore_errmsg(), "/nonexistent/ca.pem"));
}

static void credentials(void)
{
	char path[128], link[128], sub[128];
	struct vf_store_cfg c;

	snprintf(path, sizeof(path), "%s/cred", dir);
	c = cfg_of("s3://bucket", "https://h", path);

	/* missing */
	CHECK_EQ(open_with(&c), -ENOENT);
	CHECK(strstr(vf_objstore_errmsg(), path));

	/* group or other access, each bit */
	write_file(path, "[default]\naws_access_key_id = AK\n"
			 "aws_secret_access_key = " SECRET "\n", 0640);
	CHECK_EQ(open_with(&c), -EACCES);
	CHECK(strstr(vf_objstore_errmsg(), path));
	CHECK(strstr(vf_objstore_errmsg(), "group or others"));
	CHECK(chmod(path, 0604) == 0);
	CHECK_EQ(open_with(&c), -EACCES);
	CHECK(chmod(path, 0620) == 0);
	CHECK_EQ(open_with(&c), -EACCES);
	CHECK(chmod(path, 0400) == 0);
	CHECK_EQ(open_with(&c), 0);

	/* owned by another user (only root can hand a file away) */
	if (geteuid() == 0) {
		CHECK(chown(path, 4321, 4321) == 0);
		CHECK_EQ(open_with(&c), -EACCES);
		CHECK(strstr(vf_objstore_errmsg(), "owned by uid 4321"));
		CHECK(chown(path, 0, 0) == 0);
	}

	/* a symbolic link and a directory */
	snprintf(link, sizeof(link), "%s/link", dir);
	CHECK(symlink(path, link) == 0);
	c.credentials = link;
	CHECK_EQ(open_with(&c), -EACCES);
	CHECK(strstr(vf_objstore_errmsg(), "symbolic link"));
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	CHECK(mkdir(sub, 0700) == 0);
	c.credentials = sub;
	CHECK_EQ(open_with(&c), -EACCES);
	CHECK(strstr(vf_objstore_errmsg(), "not a regular file"));
	c.credentials = path;

	/* profiles, comments, blanks; a missing or incomplete profile */
	write_file(path, "# comment\n\n[other]\naws_access_key_id=O\n"
			 "aws_secret_access_key=" SECRET "\n"
			 "[ prod ]\r\n  aws_access_key_id =  P  \r\n"
			 "; note\naws_secret_access_key\t= " SECRET "\r\n"
			 "[half]\naws_access_key_id = H\n", 0600);
	CHECK_EQ(open_with(&c), -EINVAL); /* no [default] */
	CHECK(strstr(vf_objstore_errmsg(), "profile 'default'"));
	CHECK(strstr(vf_objstore_errmsg(), path));
	c.profile = "prod";
	CHECK_EQ(open_with(&c), 0);
	c.profile = "other";
	CHECK_EQ(open_with(&c), 0);
	c.profile = "half";
	CHECK_EQ(open_with(&c), -EINVAL);
	c.profile = "prod ";
	CHECK_EQ(open_with(&c), -EINVAL);
	c.profile = NULL;
	write_file(path, "[default]\naws_access_key_id = A\n"
			 "aws_secret_access_key = " SECRET "\n"
			 "aws_session_token = T\n", 0600);
	CHECK_EQ(open_with(&c), -EINVAL);
	CHECK(strstr(vf_objstore_errmsg(), "aws_session_token"));
	write_file(path, "", 0600);
	CHECK_EQ(open_with(&c), -EINVAL);
	c.credentials = NULL;
	CHECK_EQ(open_with(&c), -EINVAL);

	unlink(link);
	rmdir(sub);
	unlink(path);
}

static void status_table(void)
{
	static const struct {
		long status;
		const char *code;
		int err;
	} t[] = {
		{ 200, "", 0 },
		{ 204, NULL, 0 },
		{ 206, "", 0 },
		{ 404, "NoSuchKey", -ENOENT },
		{ 404, "NoSuchBucket", -ENOENT },
		{ 403, "AccessDenied", -EACCES },
		{ 403, "SignatureDoesNotMatch", -EACCES },
		{ 401, "", -EACCES },
		{ 500, "InternalError", -EAGAIN },
		{ 502, "", -EAGAIN },
		{ 503, "SlowDown", -EAGAIN },
		{ 429, "", -EAGAIN },
		{ 408, "", -EAGAIN },
		{ 400, "RequestTimeout", -EAGAIN },
		{ 409, "OperationAborted", -EAGAIN },
		{ 409, "BucketAlreadyOwnedByYou", -EEXIST },
		{ 409, "BucketAlreadyExists", -EEXIST },
		{ 409, "InvalidBucketState", -EIO },
		{ 400, "InvalidArgument", -EIO },
		{ 416, "InvalidRange", -EIO },
		{ 301, "PermanentRedirect", -EIO },
		{ 0, "", -EIO },
	};
	size_t i;

	for (i = 0; i < VF_ARRAY_LEN(t); i++) {
		int e = vf_s3_errno_of_status(t[i].status, t[i].code);

		if (e != t[i].err)
			fprintf(stderr, "status %ld %s: %d, want %d\n",
				t[i].status, t[i].code ? t[i].code : "(null)", e,
				t[i].err);
		CHECK_EQ(e, t[i].err);
	}
}

static void error_code(void)
{
	static const char body[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>"
		"SignatureDoesNotMatch</Code><Message></Message></Error>";
	char code[64];

	CHECK_EQ(vf_s3_error_code(body, strlen(body), code, sizeof(code)), 0);
	CHECK(strcmp(code, "SignatureDoesNotMatch") == 0);
	/* truncated to the buffer, odd characters dropped */
	CHECK_EQ(vf_s3_error_code(body, strlen(body), code, 6), 0);
	CHECK(strcmp(code, "Signa") == 0);
	CHECK_EQ(vf_s3_error_code("<Code>a\nb;c</Code>", 18, code, 64), 0);
	CHECK(strcmp(code, "abc") == 0);
	CHECK_EQ(vf_s3_error_code("", 0, code, 64), -ENOENT);
	CHECK_EQ(vf_s3_error_code("<Code>x", 7, code, 64), -ENOENT);
	CHECK_EQ(vf_s3_error_code("<Code></Code>", 13, code, 64), -ENOENT);
	/* the length bounds the search: no NUL needed */
	CHECK_EQ(vf_s3_error_code(body, 20, code, 64), -ENOENT);
}

struct seen {
	int n;
	char keys[8][64];
	uint64_t sizes[8];
	int64_t mtimes[8];
	int stop_at;
};

static int seen_cb(void *arg, const struct vf_objinfo *o)
{
	struct seen *s = arg;

	if (s->n < 8) {
		snprintf(s->keys[s->n], sizeof(s->keys[0]), "%s", o->key);
		s->sizes[s->n] = o->size;
		s->mtimes[s->n] = o->mtime_s;
	}
	s->n++;
	return s->stop_at && s->n == s->stop_at ? 7 : 0;
}

#define HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult " \
	     "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>b</Name>"
#define ITEM(k, t, s) "<Contents><Key>" k "</Key><LastModified>" t \
		      "</LastModified><ETag>&quot;x&quot;</ETag><Size>" s \
		      "</Size><StorageClass>STANDARD</StorageClass></Contents>"

static int scan(const char *xml, const char *strip, struct seen *s,
		char *token, size_t tsize)
{
	memset(s->keys, 0, sizeof(s->keys));
	s->n = 0;
	return vf_s3_parse_list(xml, strlen(xml), strip, seen_cb, s, token,
				tsize);
}

static void list_scanner(void)
{
	static const char page1[] = HEAD
		"<Prefix>pre/</Prefix><MaxKeys>3</MaxKeys><IsTruncated>true"
		"</IsTruncated>"
		ITEM("pre/a&amp;b", "2026-12-05T07:11:35.694Z", "0")
		ITEM("pre/&#x41;&#66;&lt;&gt;&quot;&apos;", "1970-01-01T00:00:01Z",
		     "18446744073709551615")
		ITEM("pre/packs/ab/cd", "2026-12-05T07:11:35.000000000Z", "16777216")
		"<KeyCount>3</KeyCount><NextContinuationToken>1a/b+c=&amp;d"
		"</NextContinuationToken></ListBucketResult>";
	static const char last[] = HEAD
		"<IsTruncated>false</IsTruncated>"
		ITEM("pre/z", "2026-12-05T07:11:35Z", "5")
		"<KeyCount>1</KeyCount></ListBucketResult>";
	static const char empty[] = HEAD
		"<IsTruncated>false</IsTruncated><KeyCount>0</KeyCount>"
		"</ListBucketResult>";
	struct seen s = { 0 };
	char token[64];

	CHECK_EQ(scan(page1, "pre/", &s, token, sizeof(token)), 0);
	CHECK_EQ(s.n, 3);
	CHECK(strcmp(s.keys[0], "a&b") == 0);
	CHECK(strcmp(s.keys[1], "AB<>\"'") == 0);
	CHECK(strcmp(s.keys[2], "packs/ab/cd") == 0);
	CHECK(s.sizes[0] == 0);
	CHECK(s.sizes[1] == UINT64_MAX);
	CHECK(s.sizes[2] == 16777216);
	CHECK_EQ(s.mtimes[0], 1796454695);
	CHECK_EQ(s.mtimes[1], 1);
	CHECK(strcmp(token, "1a/b+c=&d") == 0);

	CHECK_EQ(scan(last, "pre/", &s, token, sizeof(token)), 0);
	CHECK_EQ(s.n, 1);
	CHECK(strcmp(s.keys[0], "z") == 0);
	CHECK(token[0] == '\0');
	CHECK_EQ(scan(empty, "", &s, token, sizeof(token)), 0);
	CHECK_EQ(s.n, 0);
	CHECK(token[0] == '\0');

	/* the callback stops the scan with its value */
	s.stop_at = 2;
	CHECK_EQ(scan(page1, "pre/", &s, token, sizeof(token)), 7);
	CHECK_EQ(s.n, 2);
	s.stop_at = 0;

	/* a token that does not fit, a key outside the prefix */
	CHECK_EQ(scan(page1, "pre/", &s, token, 4), -EIO);
	CHECK_EQ(scan(page1, "other/", &s, token, sizeof(token)), -EIO);
	CHECK(strstr(vf_objstore_errmsg(), "outside the prefix"));
}

static void list_malformed(void)
{
	static const char *bad[] = {
		"",
		"<Error><Code>AccessDenied</Code></Error>",
		HEAD "<IsTruncated>true</IsTruncated></ListBucketResult>",
		HEAD "<IsTruncated>true</IsTruncated><NextContinuationToken>"
		     "</NextContinuationToken></ListBucketResult>",
		HEAD ITEM("a&bogus;", "2026-12-05T07:11:35Z", "1"),
		HEAD ITEM("a&#0;", "2026-12-05T07:11:35Z", "1"),
		HEAD ITEM("a&#xD800;", "2026-12-05T07:11:35Z", "1"),
		HEAD ITEM("a&amp", "2026-12-05T07:11:35Z", "1"),
		HEAD ITEM("a", "2026-12-05T07:11:35Z", "-1"),
		HEAD ITEM("a", "2026-12-05T07:11:35Z", "1x"),
		HEAD ITEM("a", "2026-12-05T07:11:35Z", ""),
		HEAD ITEM("a", "2026-12-05T07:11:35Z", "18446744073709551616"),
		HEAD ITEM("a", "yesterday", "1"),
		HEAD ITEM("a", "", "1"),
		HEAD "<Contents><Size>1</Size></Contents>",
		HEAD "<Contents><Key>a</Key><LastModified>2026-12-05T07:11:35Z"
		     "</LastModified></Contents>",
	};
	struct seen s = { 0 };
	char token[64];
	size_t i;

	for (i = 0; i < VF_ARRAY_LEN(bad); i++) {
		int e = scan(bad[i], "", &s, token, sizeof(token));

		if (e != -EIO)
			fprintf(stderr, "malformed reply %zu: %d\n", i, e);
		CHECK_EQ(e, -EIO);
		CHECK(strncmp(vf_objstore_errmsg(), "s3: LIST", 8) == 0);
	}
	/* A long key is accepted up to S3's 1024 bytes. */
	{
		static char xml[4096];
		char key[1100];

		memset(key, 'k', 1024);
		key[1024] = '\0';
		snprintf(xml, sizeof(xml), HEAD ITEM("%s", "2026-12-05T07:11:35Z",
						     "1"), key);
		CHECK_EQ(scan(xml, "", &s, token, sizeof(token)), 0);
		CHECK_EQ(s.n, 1);
		key[1024] = 'k';
		key[1025] = '\0';
		snprintf(xml, sizeof(xml), HEAD ITEM("%s", "2026-12-05T07:11:35Z",
						     "1"), key);
		CHECK_EQ(scan(xml, "", &s, token, sizeof(token)), -EIO);
	}
}

/* ListVersionsResult: versions newest first, delete markers skipped,
 * the markers of the next page; the oldest version is the last seen. */
struct vseen {
	char keys[8][64], vids[8][64];
	int n;
};

static int vseen_cb(void *arg, const struct vf_s3_version *v)
{
	struct vseen *x = arg;

	if (x->n < 8) {
		snprintf(x->keys[x->n], sizeof(x->keys[0]), "%s", v->key);
		snprintf(x->vids[x->n], sizeof(x->vids[0]), "%s", v->vid);
		x->n++;
	}
	return 0;
}

static void versions_scanner(void)
{
	static const char page[] =
		"<?xml version=\"1.0\"?><ListVersionsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
		"<Name>b</Name><Prefix>v/p/</Prefix><IsTruncated>true</IsTruncated>"
		"<NextKeyMarker>v/p/bb</NextKeyMarker><NextVersionIdMarker>x&amp;2</NextVersionIdMarker>"
		"<DeleteMarker><Key>v/p/aa</Key><VersionId>dm1</VersionId><IsLatest>true</IsLatest>"
		"<LastModified>2026-12-05T08:00:03.000Z</LastModified></DeleteMarker>"
		"<Version><Key>v/p/aa</Key><VersionId>new</VersionId><IsLatest>false</IsLatest>"
		"<LastModified>2026-12-05T08:00:02.000Z</LastModified><Size>6</Size></Version>"
		"<Version><Key>v/p/aa</Key><VersionId>orig</VersionId><IsLatest>false</IsLatest>"
		"<LastModified>2026-12-05T08:00:01.000Z</LastModified><Size>4096</Size></Version>"
		"<Version><Key>v/p/bb</Key><VersionId>b1</VersionId><IsLatest>true</IsLatest>"
		"<LastModified>2026-12-05T08:00:01.000Z</LastModified><Size>10</Size></Version>"
		"</ListVersionsResult>";
	static const char bad[] =
		"<ListVersionsResult><Version><Key>v/p/aa</Key><Size>1</Size>"
		"<LastModified>2026-12-05T08:00:01.000Z</LastModified></Version>"
		"</ListVersionsResult>";
	char nk[64], nv[64];
	struct vseen x = { .n = 0 };

	CHECK_EQ(vf_s3_parse_versions(page, sizeof(page) - 1, "v/", vseen_cb,
				      &x, nk, nv, sizeof(nk)),
		 0);
	CHECK_EQ(x.n, 3);
	CHECK(!strcmp(x.keys[0], "p/aa") && !strcmp(x.vids[0], "new"));
	CHECK(!strcmp(x.keys[1], "p/aa") && !strcmp(x.vids[1], "orig"));
	CHECK(!strcmp(x.keys[2], "p/bb") && !strcmp(x.vids[2], "b1"));
	CHECK(!strcmp(nk, "v/p/bb"));
	CHECK(!strcmp(nv, "x&2"));
	/* a <Version> without its id is an error, not a guess */
	x.n = 0;
	CHECK_EQ(vf_s3_parse_versions(bad, sizeof(bad) - 1, "v/", vseen_cb,
				      &x, nk, nv, sizeof(nk)),
		 -EIO);
	CHECK_EQ(vf_s3_parse_versions("<ListBucketResult/>", 19, "", vseen_cb,
				      &x, nk, nv, sizeof(nk)),
		 -EIO);
}

int main(void)
{
	if (!unit_tmpdir(dir, sizeof(dir), "t-s3")) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(good, sizeof(good), "%s/good", dir);
	write_file(good, "[default]\naws_access_key_id = AKIDEXAMPLE\n"
			 "aws_secret_access_key = " SECRET "\n", 0600);
	RUN(urls);
	RUN(endpoints);
	RUN(credentials);
	RUN(status_table);
	RUN(error_code);
	RUN(list_scanner);
	RUN(list_malformed);
	RUN(versions_scanner);
	unlink(good);
	rmdir(dir);
	return unit_exit();
}
