/*
 * t-metrics.c - monitoring (core/metrics.c, core/report.c) on a real
 * vault: the exposition passes a strict parser of the Prometheus text
 * format (promtool does the same in 0047, through the mount), label
 * values are escaped, numbers follow what was done, and the gate lets a
 * Reader read metrics but not the report, which names directories.
 */
#include <ctype.h>
#include <stdio.h>

#include "unit.h"
#include "vtest.h"
#include "admin.h"
#include "metrics.h"
#include "report.h"

/* A strict reading of the text format: every sample's family was
 * declared by # HELP then # TYPE, names are [a-z_:]+, labels
 * name="value" with only \\, \" and \n escaped, the value a number.
 * Returns the number of samples, or -1 (with the line on stderr). */
static int parse_exposition(const char *text)
{
	char family[128] = "", line[1024];
	const char *p = text, *nl;
	int samples = 0, help = 0;

	while (*p) {
		size_t n, i = 0;

		nl = strchr(p, '\n');
		if (!nl)
			goto bad_end;
		n = (size_t)(nl - p);
		if (n >= sizeof(line))
			goto bad_end;
		memcpy(line, p, n);
		line[n] = '\0';
		p = nl + 1;
		if (!strncmp(line, "# HELP ", 7)) {
			if (sscanf(line + 7, "%127[a-z_:]", family) != 1)
				goto bad;
			help = 1;
			continue;
		}
		if (!strncmp(line, "# TYPE ", 7)) {
			char name[128], type[32];

			if (!help || sscanf(line + 7, "%127s %31s", name,
					    type) != 2 ||
			    strcmp(name, family) ||
			    (strcmp(type, "gauge") && strcmp(type, "counter") &&
			     strcmp(type, "histogram")))
				goto bad;
			help = 0;
			continue;
		}
		/* a sample of the declared family (histogram suffixes) */
		while (islower((unsigned char)line[i]) || line[i] == '_')
			i++;
		if (strncmp(line, family, strlen(family)) ||
		    (i != strlen(family) &&
		     strcmp(line + strlen(family), "") &&
		     strncmp(line + strlen(family), "_bucket", 7) &&
		     strncmp(line + strlen(family), "_sum", 4) &&
		     strncmp(line + strlen(family), "_count", 6)))
			goto bad;
		if (line[i] == '{') {
			i++;
			for (;;) {
				while (islower((unsigned char)line[i]) ||
				       line[i] == '_')
					i++;
				if (line[i++] != '=' || line[i++] != '"')
					goto bad;
				while (line[i] && line[i] != '"') {
					if (line[i] == '\\' &&
					    !strchr("\\\"n", line[++i]))
						goto bad;
					i++;
				}
				if (line[i++] != '"')
					goto bad;
				if (line[i] == '}')
					break;
				if (line[i++] != ',')
					goto bad;
			}
			i++;
		}
		if (line[i++] != ' ' || !line[i] ||
		    strspn(line + i, "0123456789.+Inf") != strlen(line + i))
			goto bad;
		samples++;
	}
	return samples;
bad_end:
	snprintf(line, sizeof(line), "%.60s", p);
bad:
	fprintf(stderr, "not the text format: '%s'\n", line);
	return -1;
}

/* The value of the sample named (with labels) key, or -1. */
static double sample(const char *text, const char *key)
{
	char pat[256];
	const char *s;

	snprintf(pat, sizeof(pat), "\n%s ", key);
	s = strstr(text, pat);
	return s ? strtod(s + strlen(pat), NULL) : -1;
}

static void label_escape(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return;
	vf_metrics_label(f, "a\"b\\c\nd");
	fclose(f);
	CHECK(!strcmp(buf, "a\\\"b\\\\c\\nd"));
	free(buf);
	/* the parser itself refuses what the format does not allow */
	CHECK_EQ(parse_exposition("# HELP a_b h\n# TYPE a_b gauge\n"
				  "a_b{k=\"x\\\"y\"} 1\n"), 1);
	CHECK_EQ(parse_exposition("a_b 1\n"), -1);
	CHECK_EQ(parse_exposition("# HELP a_b h\n# TYPE a_b gauge\n"
				  "a_b{k=\"\\q\"} 1\n"), -1);
	CHECK_EQ(parse_exposition("# HELP a_b h\n# TYPE a_b gauge\n"
				  "a_c 1\n"), -1);
	CHECK_EQ(parse_exposition("# HELP a_b h\n# TYPE a_b gauge\n"
				  "a_b one\n"), -1);
}

static void metrics_and_report(void)
{
	struct vf_caller reader = { .uid = 4701, .gid = 4701, .pid = 1 };
	struct vf_vault *v = vt_fresh();
	struct vf_attr d;
	struct vf_report *r = calloc(1, sizeof(*r));
	struct vf_admin a;
	char *buf = NULL, err[256];
	size_t len = 0;
	int64_t now = vf_clock_now();
	FILE *f;

	if (!v || !r) {
		free(r);
		return;
	}
	CHECK_EQ(vf_vault_mkdir(v, &vt_root, 1, "we<ird&", 0755, &d), 0);
	vt_put(v, d.ino, "a", "1234567890");
	vt_put(v, d.ino, "b", "12345");
	vt_put(v, 1, "top", "xy");
	vt_put(v, 1, "top", "xyz");
	CHECK_EQ(vf_vault_unlink(v, &vt_root, d.ino, "b"), 0);

	/* metrics: the format, and the numbers */
	f = open_memstream(&buf, &len);
	vf_admin_init(&a, &vt_root, NULL);
	CHECK_EQ(vf_admin_metrics(v, &a, f), 0);
	fclose(f);
	CHECK(parse_exposition(buf) > 10);
	CHECK(sample(buf, "vaultfs_files") == 2);
	CHECK(sample(buf, "vaultfs_softdeleted_files") == 1);
	CHECK(sample(buf, "vaultfs_data_bytes{kind=\"logical\"}") == 13);
	CHECK(sample(buf, "vaultfs_data_bytes{kind=\"history\"}") == 2);
	CHECK(sample(buf, "vaultfs_data_bytes{kind=\"softdeleted\"}") == 5);
	CHECK(sample(buf, "vaultfs_catalog_commit_duration_seconds_count") ==
	      sample(buf, "vaultfs_catalog_commit_duration_seconds_bucket{le=\"+Inf\"}"));
	CHECK(sample(buf, "vaultfs_catalog_commit_duration_seconds_count") > 0);
	CHECK(strstr(buf, "we<ird") == NULL);
	free(buf);

	/* a Reader may read the numbers, not the report */
	CHECK_EQ(vt_role_grant(v, 0, 4701, VF_ROLE_READER, err, sizeof(err)),
		 0);
	buf = NULL;
	f = open_memstream(&buf, &len);
	vf_admin_init(&a, &reader, NULL);
	CHECK_EQ(vf_admin_metrics(v, &a, f), 0);
	fclose(f);
	free(buf);
	CHECK_EQ(vf_admin_report(v, &a, now - 3 * 86400 * VF_NS, r), -EACCES);
	CHECK(strstr(a.why, "report needs the operator role") != NULL);

	/* the report: four days, today's deletions and changes, the
	 * directory that grew most first */
	memset(r, 0, sizeof(*r));
	vf_admin_init(&a, &vt_root, NULL);
	CHECK_EQ(vf_admin_report(v, &a, now - 3 * 86400 * VF_NS, r), 0);
	CHECK_EQ(r->ndays, 4);
	CHECK_EQ(r->days[3].day, vf_vault_stamp(v) / (86400 * VF_NS));
	CHECK_EQ(r->days[3].deleted, 1);
	CHECK_EQ(r->days[3].changed, 3); /* a, b (deleted since) and top */
	CHECK_EQ(r->days[3].restored, 0);
	CHECK(r->days[3].points >= 1);
	CHECK_EQ(r->days[0].changed, 0);
	CHECK_EQ(r->days[3].logical, 13);
	CHECK_EQ(r->ndirs, 2);
	CHECK(!strcmp(r->dirs[0].path, "/we<ird&"));
	CHECK_EQ(r->dirs[0].bytes, 10);
	CHECK(!strcmp(r->dirs[1].path, "/"));
	CHECK_EQ(r->dirs[1].bytes, 5);
	CHECK_EQ(r->dirs[1].files, 1);

	/* a period longer than the series keeps its last days */
	memset(r, 0, sizeof(*r));
	CHECK_EQ(vf_admin_report(v, &a, 0, r), 0);
	CHECK_EQ(r->ndays, VF_REPORT_DAYS_MAX);
	free(r);
	CHECK_EQ(vf_vault_close(v), 0);
}

int main(void)
{
	vt_setup("t-metrics");
	RUN(label_escape);
	RUN(metrics_and_report);
	CHECK(vt_cleanup() == 0);
	return unit_exit();
}
