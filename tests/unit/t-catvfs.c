/*
 * t-catvfs.c - the encrypting SQLite VFS: the catalog's open sequence,
 * persistence across close, crash copies of db+wal, no plaintext on disk,
 * tampering and wrong keys refused cleanly, journals refused.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "catvfs.h"
#include "unit.h"

#define MARKER "needle-7f3a-plaintext"
#define NROWS 20000

static char dir[64];
static const uint8_t key_a[32] = { 1, 2, 3, 4, 5 };
static const uint8_t key_b[32] = { 9, 8, 7, 6, 5 };

static void path_of(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

/* The catalog's sequence (see catvfs.h). */
static int open_cat(const char *name, const char *vfs, int fresh,
		    sqlite3 **out)
{
	char path[256];
	sqlite3 *db = NULL;
	int rc;

	path_of(path, sizeof(path), name);
	rc = sqlite3_open_v2(path, &db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				     SQLITE_OPEN_NOMUTEX,
			     vfs);
	if (rc)
		goto fail;
	if (fresh) {
		rc = sqlite3_exec(db, "PRAGMA page_size=4096", NULL, NULL,
				  NULL);
		if (rc)
			goto fail;
		rc = sqlite3_file_control(db, "main",
					  SQLITE_FCNTL_RESERVE_BYTES,
					  &(int){ VF_CATVFS_RESERVE });
		if (rc)
			goto fail;
		/* Page 1 is first written in a memory-journal transaction;
		 * switching an empty database straight to WAL would need an
		 * on-disk rollback journal, which the shim refuses. */
		rc = sqlite3_exec(db, "PRAGMA journal_mode=MEMORY", NULL, NULL,
				  NULL);
		if (rc)
			goto fail;
	}
	rc = sqlite3_exec(db,
			  "PRAGMA journal_mode=WAL; PRAGMA temp_store=MEMORY;"
			  " PRAGMA synchronous=NORMAL",
			  NULL, NULL, NULL);
	if (rc)
		goto fail;
	*out = db;
	return 0;
fail:
	sqlite3_close(db);
	return rc;
}

static long long count_rows(sqlite3 *db, int *rcp)
{
	sqlite3_stmt *st = NULL;
	long long n = -1;
	int rc;

	rc = sqlite3_prepare_v2(db, "SELECT count(*), sum(length(v)) FROM t",
				-1, &st, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			n = sqlite3_column_int64(st, 0);
			rc = SQLITE_OK;
		}
	}
	sqlite3_finalize(st);
	if (rcp)
		*rcp = rc;
	return n;
}

static int insert_rows(sqlite3 *db, int from, int n)
{
	sqlite3_stmt *st = NULL;
	char buf[128];
	int i, rc;

	rc = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	if (rc)
		return rc;
	rc = sqlite3_prepare_v2(db, "INSERT INTO t(k, v) VALUES(?, ?)", -1,
				&st, NULL);
	for (i = from; rc == SQLITE_OK && i < from + n; i++) {
		snprintf(buf, sizeof(buf), MARKER " row %d %s", i,
			 "padding padding padding padding");
		sqlite3_bind_int(st, 1, i);
		sqlite3_bind_text(st, 2, buf, -1, SQLITE_TRANSIENT);
		rc = sqlite3_step(st);
		if (rc == SQLITE_DONE)
			rc = SQLITE_OK;
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	if (rc) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return rc;
	}
	return sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
}

static int file_has(const char *name, const char *needle)
{
	char path[256], buf[1 << 16];
	size_t nlen = strlen(needle), have = 0, n;
	int found = 0;
	FILE *f;

	path_of(path, sizeof(path), name);
	f = fopen(path, "rb");
	if (!f)
		return 0;
	/* Keep nlen-1 bytes of overlap between blocks. */
	while ((n = fread(buf + have, 1, sizeof(buf) - have, f)) > 0) {
		have += n;
		if (memmem(buf, have, needle, nlen)) {
			found = 1;
			break;
		}
		if (have >= nlen) {
			memmove(buf, buf + have - (nlen - 1), nlen - 1);
			have = nlen - 1;
		}
	}
	fclose(f);
	return found;
}

static off_t file_size(const char *name)
{
	char path[256];
	struct stat st;

	path_of(path, sizeof(path), name);
	return stat(path, &st) == 0 ? st.st_size : -1;
}

static int copy_file(const char *from, const char *to)
{
	char a[256], b[256], cmd[600];

	path_of(a, sizeof(a), from);
	path_of(b, sizeof(b), to);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", a, b);
	return system(cmd);
}

static void flip_byte(const char *name, off_t off)
{
	char path[256];
	unsigned char c;
	int fd;

	path_of(path, sizeof(path), name);
	fd = open(path, O_RDWR);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(pread(fd, &c, 1, off) == 1);
	c ^= 0x10;
	CHECK(pwrite(fd, &c, 1, off) == 1);
	close(fd);
}

static void test_register(void)
{
	CHECK_EQ(vf_catvfs_register("cat-a", key_a), 0);
	CHECK_EQ(vf_catvfs_register("cat-a", key_a), -EEXIST);
	CHECK_EQ(vf_catvfs_register("cat-b", key_b), 0);
	CHECK(sqlite3_vfs_find("cat-a") != NULL);
	CHECK(sqlite3_vfs_find("cat-b") != NULL);
	/* Unknown names and foreign VFSes are ignored. */
	vf_catvfs_unregister("no-such-vfs");
	vf_catvfs_unregister("unix");
	CHECK(sqlite3_vfs_find("unix") != NULL);
}

static void test_create_fill_reopen(void)
{
	sqlite3 *db = NULL;
	int rc = -1;

	CHECK_EQ(open_cat("cat.db", "cat-a", 1, &db), 0);
	CHECK_EQ(sqlite3_exec(db,
			      "CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT);"
			      " CREATE INDEX t_v ON t(v)",
			      NULL, NULL, NULL),
		 SQLITE_OK);
	CHECK_EQ(insert_rows(db, 0, NROWS), SQLITE_OK);
	CHECK_EQ(count_rows(db, &rc), NROWS);
	/* Before the checkpoint the rows live in the WAL. */
	CHECK(file_size("cat.db-wal") > 0);
	CHECK(!file_has("cat.db-wal", MARKER));
	CHECK(!file_has("cat.db", MARKER));
	CHECK_EQ(sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL,
			      NULL, NULL),
		 SQLITE_OK);
	CHECK_EQ(sqlite3_close(db), SQLITE_OK);
	CHECK(file_size("cat.db") > 100 * 4096);
	CHECK_EQ(file_size("cat.db") % 4096, 0);
	CHECK(!file_has("cat.db", MARKER));
	CHECK(!file_has("cat.db", "SQLite format 3"));
	CHECK(!file_has("cat.db", "CREATE TABLE"));

	db = NULL;
	CHECK_EQ(open_cat("cat.db", "cat-a", 0, &db), 0);
	CHECK_EQ(count_rows(db, &rc), NROWS);
	CHECK_EQ(rc, SQLITE_OK);
	{
		int reserve = -1;

		CHECK_EQ(sqlite3_file_control(db, "main",
					      SQLITE_FCNTL_RESERVE_BYTES,
					      &reserve),
			 SQLITE_OK);
		CHECK_EQ(reserve, VF_CATVFS_RESERVE);
	}
	/* No rollback journal was ever needed (the shim refuses them). */
	CHECK_EQ(file_size("cat.db-journal"), -1);
	{
		sqlite3_stmt *st = NULL;
		int r;

		r = sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st,
				       NULL);
		CHECK_EQ(r, SQLITE_OK);
		CHECK_EQ(sqlite3_step(st), SQLITE_ROW);
		CHECK(strcmp((const char *)sqlite3_column_text(st, 0), "ok") ==
		      0);
		sqlite3_finalize(st);
	}
	/* The reserve stuck: the shim refuses pages without it. */
	{
		sqlite3_stmt *st = NULL;

		CHECK_EQ(sqlite3_prepare_v2(db,
					    "SELECT v FROM t WHERE k = 12345",
					    -1, &st, NULL),
			 SQLITE_OK);
		CHECK_EQ(sqlite3_step(st), SQLITE_ROW);
		CHECK(strstr((const char *)sqlite3_column_text(st, 0),
			     "row 12345 ") != NULL);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
}

/* Copies db+wal while a transaction is committed but not checkpointed,
 * as a crash would leave them, and opens the copy. */
static void test_crash_copy(void)
{
	sqlite3 *db = NULL, *db2 = NULL;
	int rc = -1;

	CHECK_EQ(open_cat("cat.db", "cat-a", 0, &db), 0);
	CHECK_EQ(sqlite3_exec(db, "PRAGMA wal_autocheckpoint=0", NULL, NULL,
			      NULL),
		 SQLITE_OK);
	CHECK_EQ(insert_rows(db, NROWS, 500), SQLITE_OK);
	CHECK_EQ(insert_rows(db, NROWS + 500, 500), SQLITE_OK);
	CHECK(file_size("cat.db-wal") > 0);
	CHECK(!file_has("cat.db-wal", MARKER));
	CHECK_EQ(copy_file("cat.db", "crash.db"), 0);
	CHECK_EQ(copy_file("cat.db-wal", "crash.db-wal"), 0);
	CHECK_EQ(copy_file("cat.db", "torn.db"), 0);
	CHECK_EQ(copy_file("cat.db-wal", "torn.db-wal"), 0);

	CHECK_EQ(open_cat("crash.db", "cat-a", 0, &db2), 0);
	CHECK_EQ(count_rows(db2, &rc), NROWS + 1000);
	CHECK_EQ(rc, SQLITE_OK);
	sqlite3_close(db2);
	sqlite3_close(db);

	/* A torn last frame (crash mid-append): recovery drops the last
	 * transaction, as plain SQLite does, and the rest stays readable. */
	db2 = NULL;
	flip_byte("torn.db-wal", file_size("torn.db-wal") - 100);
	CHECK_EQ(open_cat("torn.db", "cat-a", 0, &db2), 0);
	CHECK_EQ(count_rows(db2, &rc), NROWS + 500);
	CHECK_EQ(rc, SQLITE_OK);
	sqlite3_close(db2);
}

static void test_tampered_page(void)
{
	sqlite3 *db = NULL;
	int rc = SQLITE_OK;

	CHECK_EQ(copy_file("cat.db", "tamper.db"), 0);
	/* A byte in the middle of the file: some table or index page. */
	flip_byte("tamper.db", (file_size("tamper.db") / 4096 / 2) * 4096 + 77);
	CHECK_EQ(open_cat("tamper.db", "cat-a", 0, &db), 0);
	CHECK_EQ(count_rows(db, &rc), -1);
	rc = sqlite3_exec(db, "SELECT count(*) FROM t WHERE v LIKE '%x%'",
			  NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "PRAGMA integrity_check", NULL, NULL,
				  NULL);
	CHECK(rc != SQLITE_OK);
	CHECK_EQ(sqlite3_extended_errcode(db), SQLITE_IOERR_DATA);
	sqlite3_close(db);

	/* Page 1 tampered: nothing opens. */
	db = NULL;
	CHECK_EQ(copy_file("cat.db", "tamper1.db"), 0);
	flip_byte("tamper1.db", 4095);
	rc = open_cat("tamper1.db", "cat-a", 0, &db);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "SELECT count(*) FROM t", NULL, NULL,
				  NULL);
	CHECK_EQ(rc & 0xff, SQLITE_IOERR);
	sqlite3_close(db);
}

static void test_wrong_key(void)
{
	char path[256];
	sqlite3 *db = NULL;
	int rc;

	path_of(path, sizeof(path), "cat.db");
	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, "cat-b");
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "SELECT count(*) FROM t", NULL, NULL,
				  NULL);
	CHECK_EQ(rc, SQLITE_IOERR);
	CHECK_EQ(sqlite3_extended_errcode(db), SQLITE_IOERR_DATA);
	sqlite3_close(db);
	/* Through the catalog's sequence too. */
	db = NULL;
	rc = open_cat("cat.db", "cat-b", 0, &db);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "SELECT count(*) FROM t", NULL, NULL,
				  NULL);
	CHECK_EQ(rc, SQLITE_IOERR);
	sqlite3_close(db);
	/* And the right key still reads it afterwards. */
	db = NULL;
	CHECK_EQ(open_cat("cat.db", "cat-a", 0, &db), 0);
	CHECK_EQ(count_rows(db, NULL), NROWS + 1000);
	sqlite3_close(db);
}

/* Without the reserve, the shim refuses to write full pages. */
static void test_no_reserve_refused(void)
{
	char path[256];
	sqlite3 *db = NULL;
	int rc;

	path_of(path, sizeof(path), "noreserve.db");
	CHECK_EQ(sqlite3_open_v2(path, &db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
				 "cat-a"),
		 SQLITE_OK);
	rc = sqlite3_exec(db,
			  "PRAGMA journal_mode=MEMORY; PRAGMA journal_mode=WAL;"
			  " PRAGMA temp_store=MEMORY; CREATE TABLE t(v TEXT);"
			  "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT "
			  "x+1 FROM c WHERE x < 200) INSERT INTO t SELECT "
			  "printf('%0100d', x) FROM c",
			  NULL, NULL, NULL);
	CHECK(rc != SQLITE_OK);
	CHECK_EQ(sqlite3_extended_errcode(db), SQLITE_IOERR_WRITE);
	sqlite3_close(db);
}

/* Journals are refused: a rollback-journal database cannot write. */
static void test_journal_refused(void)
{
	char path[256];
	sqlite3 *db = NULL;
	int rc;

	path_of(path, sizeof(path), "journal.db");
	CHECK_EQ(sqlite3_open_v2(path, &db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
				 "cat-a"),
		 SQLITE_OK);
	sqlite3_file_control(db, "main", SQLITE_FCNTL_RESERVE_BYTES,
			     &(int){ VF_CATVFS_RESERVE });
	rc = sqlite3_exec(db, "PRAGMA journal_mode=DELETE; "
			      "CREATE TABLE t(v); INSERT INTO t VALUES(1);"
			      "BEGIN; INSERT INTO t VALUES(2); COMMIT",
			  NULL, NULL, NULL);
	CHECK(rc != SQLITE_OK);
	sqlite3_close(db);
	path_of(path, sizeof(path), "journal.db-journal");
	CHECK(access(path, F_OK) != 0);
}

int main(void)
{
	char cmd[128];

	snprintf(dir, sizeof(dir), "/tmp/t-catvfs.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_register);
	RUN(test_create_fill_reopen);
	RUN(test_crash_copy);
	RUN(test_tampered_page);
	RUN(test_wrong_key);
	RUN(test_no_reserve_refused);
	RUN(test_journal_refused);
	vf_catvfs_unregister("cat-a");
	vf_catvfs_unregister("cat-b");
	CHECK(sqlite3_vfs_find("cat-a") == NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	return unit_exit();
}
