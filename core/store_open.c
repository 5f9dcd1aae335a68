/*
 * store_open.c - opening the object store a vf_store_cfg names, and the
 * vault's record of it (VAULT/store.conf).
 *
 *   dir:/ABS/PATH       the directory backend (objstore_dir.c)
 *   s3://BUCKET[/PFX]   the S3 backend (s3.c: vf_s3_new)
 *
 * store.conf holds no secret (objstore.h); it is written durably and
 * read with a size limit.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "objstore.h"
#include "policy.h"
#include "s3.h"

#define CONF_MAX 8192

static int open_url(const struct vf_store_cfg *cfg, struct vf_objstore **out)
{
	if (!cfg || !cfg->url) {
		vf_objstore_set_err("no store URL");
		return -EINVAL;
	}
	if (!strncmp(cfg->url, "dir:", 4)) {
		if (cfg->url[4] != '/') {
			vf_objstore_set_err("dir: needs an absolute path");
			return -EINVAL;
		}
		return vf_objstore_dir_new(cfg->url + 4, out);
	}
	if (!strncmp(cfg->url, "s3://", 5))
		return vf_s3_new(cfg, out);
	vf_objstore_set_err("expected s3://BUCKET[/PREFIX] or dir:/ABS/PATH");
	return -EINVAL;
}

int vf_objstore_open(const struct vf_store_cfg *cfg, struct vf_objstore **out)
{
	int rc = open_url(cfg, out);

	if (rc == 0) {
		(*out)->no_lock = cfg->no_lock;
		(*out)->lock_period_s = cfg->lock_period_s;
		/* a locked vault reads the versions it wrote */
		if (!cfg->no_lock && !strncmp(cfg->url, "s3://", 5))
			vf_s3_read_first_versions(*out, true);
	}
	return rc;
}

static int field_ok(const char *name, const char *v, size_t cap)
{
	if (!v)
		return 1;
	if (strchr(v, '\n') || strlen(v) >= cap || !*v) {
		vf_objstore_set_err("store option %s: empty, too long or has "
				    "a newline", name);
		return 0;
	}
	return 1;
}

int vf_store_conf_write(const char *vault_dir, const struct vf_store_cfg *cfg)
{
	struct vf_store_conf *chk = NULL;
	char *path = NULL, *tmp = NULL, *text = NULL;
	size_t len;
	FILE *f = NULL;
	int fd = -1, rc = 0, dfd;

	if (!field_ok("url", cfg->url, sizeof(chk->url)) || !cfg->url ||
	    !field_ok("endpoint", cfg->endpoint, sizeof(chk->endpoint)) ||
	    !field_ok("region", cfg->region, sizeof(chk->region)) ||
	    !field_ok("credentials", cfg->credentials,
		      sizeof(chk->credentials)) ||
	    !field_ok("profile", cfg->profile, sizeof(chk->profile)) ||
	    !field_ok("ca-file", cfg->ca_file, sizeof(chk->ca_file)))
		return -EINVAL;
	f = open_memstream(&text, &len);
	if (!f)
		return -ENOMEM;
	fprintf(f, "url %s\n", cfg->url);
	if (cfg->endpoint)
		fprintf(f, "endpoint %s\n", cfg->endpoint);
	if (cfg->region)
		fprintf(f, "region %s\n", cfg->region);
	if (cfg->credentials)
		fprintf(f, "credentials %s\n", cfg->credentials);
	if (cfg->profile)
		fprintf(f, "profile %s\n", cfg->profile);
	if (cfg->ca_file)
		fprintf(f, "ca-file %s\n", cfg->ca_file);
	if (cfg->allow_http)
		fprintf(f, "allow-http 1\n");
	if (cfg->no_lock)
		fprintf(f, "no-lock 1\n");
	if (cfg->lock_period_s)
		fprintf(f, "lock-period %lld\n", (long long)cfg->lock_period_s);
	if (fclose(f) != 0) {
		free(text);
		return -ENOMEM;
	}
	if (asprintf(&path, "%s/%s", vault_dir, VF_STORE_CONF) < 0)
		path = NULL;
	if (asprintf(&tmp, "%s/.%s.tmp", vault_dir, VF_STORE_CONF) < 0)
		tmp = NULL;
	if (!path || !tmp) {
		rc = -ENOMEM;
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) < 0 ||
	    rename(tmp, path) < 0) {
		rc = -errno;
		vf_objstore_set_err("cannot write '%s': %s", path,
				    strerror(errno));
		goto out;
	}
	dfd = open(vault_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		if (fsync(dfd) < 0)
			rc = -errno;
		close(dfd);
	}
out:
	if (fd >= 0)
		close(fd);
	if (rc && tmp)
		unlink(tmp);
	free(text);
	free(path);
	free(tmp);
	return rc;
}

static int set_field(char *dst, size_t cap, const char *v, const char **p)
{
	if (strlen(v) >= cap)
		return -EINVAL;
	memcpy(dst, v, strlen(v) + 1);
	*p = dst;
	return 0;
}

/* A lock period in store.conf: whole seconds within the bounds init
 * accepts (a file edited to shorten the locks below the floor is
 * malformed, not obeyed). */
static int lock_period(const char *v, int64_t *out)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno || end == v || *end || n < VF_POLICY_LOCK_MIN_S ||
	    n > VF_POLICY_LOCK_MAX_S)
		return -EINVAL;
	*out = n;
	return 0;
}

int vf_store_conf_read(const char *vault_dir, struct vf_store_conf **out)
{
	struct vf_store_conf *c = NULL;
	char *path = NULL, buf[CONF_MAX + 1], *line, *save = NULL, *sp;
	ssize_t n;
	int fd, rc = 0;

	if (asprintf(&path, "%s/%s", vault_dir, VF_STORE_CONF) < 0)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		rc = -errno;
		if (rc != -ENOENT)
			vf_objstore_set_err("cannot read '%s': %s", path,
					    strerror(errno));
		free(path);
		return rc;
	}
	n = read(fd, buf, CONF_MAX + 1);
	close(fd);
	if (n < 0 || n > CONF_MAX) {
		vf_objstore_set_err("cannot read '%s': %s", path,
				    n < 0 ? strerror(errno) : "too large");
		free(path);
		return -EIO;
	}
	buf[n] = '\0';
	c = calloc(1, sizeof(*c));
	if (!c) {
		free(path);
		return -ENOMEM;
	}
	for (line = strtok_r(buf, "\n", &save); line && !rc;
	     line = strtok_r(NULL, "\n", &save)) {
		sp = strchr(line, ' ');
		if (!sp) {
			rc = -EINVAL;
			break;
		}
		*sp++ = '\0';
		if (!strcmp(line, "url"))
			rc = set_field(c->url, sizeof(c->url), sp, &c->cfg.url);
		else if (!strcmp(line, "endpoint"))
			rc = set_field(c->endpoint, sizeof(c->endpoint), sp,
				       &c->cfg.endpoint);
		else if (!strcmp(line, "region"))
			rc = set_field(c->region, sizeof(c->region), sp,
				       &c->cfg.region);
		else if (!strcmp(line, "credentials"))
			rc = set_field(c->credentials, sizeof(c->credentials),
				       sp, &c->cfg.credentials);
		else if (!strcmp(line, "profile"))
			rc = set_field(c->profile, sizeof(c->profile), sp,
				       &c->cfg.profile);
		else if (!strcmp(line, "ca-file"))
			rc = set_field(c->ca_file, sizeof(c->ca_file), sp,
				       &c->cfg.ca_file);
		else if (!strcmp(line, "allow-http"))
			c->cfg.allow_http = !strcmp(sp, "1");
		else if (!strcmp(line, "no-lock"))
			c->cfg.no_lock = !strcmp(sp, "1");
		else if (!strcmp(line, "lock-period"))
			rc = lock_period(sp, &c->cfg.lock_period_s);
		/* unknown names: written by a newer build; ignored */
	}
	if (!rc && !c->cfg.url)
		rc = -EINVAL;
	if (rc) {
		vf_objstore_set_err("'%s' is malformed", path);
		free(c);
		free(path);
		return rc;
	}
	free(path);
	*out = c;
	return 0;
}
