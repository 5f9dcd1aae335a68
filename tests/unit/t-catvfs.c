/*
 * t-catvfs.c - the encrypting SQLite VFS: the catalog's open sequence,
 * persistence across close, crash copies of db+wal, no plaintext on disk,
 * tampering and wrong keys refused cleanly, journals refused; WAL writes
 * coalesced (one base write per small transaction, counted by a VFS under
 * the shim), committed data in the OS when COMMIT returns (a forked child
 * killed without closing loses nothing), failed flushes reported.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

/* ---- a counting VFS under the shim ------------------------------------ */

/* Wraps the default VFS; the shim registered while it is the default
 * ("cat-c") writes through it, so its counters see every base write. */
struct cnt_file {
	sqlite3_file base;
	sqlite3_file *real; /* follows in the same allocation */
	int wal;
};

static sqlite3_vfs cnt_vfs, *cnt_real;
static int cnt_wal_writes, cnt_db_writes, cnt_wal_hdr_writes;
static int cnt_fail_wal; /* WAL writes fail with SQLITE_FULL */

static void cnt_reset(void)
{
	cnt_wal_writes = cnt_db_writes = cnt_wal_hdr_writes = 0;
}

#define CNT_REAL(file) (((struct cnt_file *)(file))->real)

static int cnt_close(sqlite3_file *f)
{
	return CNT_REAL(f)->pMethods->xClose(CNT_REAL(f));
}

static int cnt_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o)
{
	return CNT_REAL(f)->pMethods->xRead(CNT_REAL(f), b, n, o);
}

static int cnt_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o)
{
	if (((struct cnt_file *)f)->wal) {
		cnt_wal_writes++;
		if (n == 24)
			cnt_wal_hdr_writes++;
		if (cnt_fail_wal)
			return SQLITE_FULL;
	} else {
		cnt_db_writes++;
	}
	return CNT_REAL(f)->pMethods->xWrite(CNT_REAL(f), b, n, o);
}

static int cnt_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	return CNT_REAL(f)->pMethods->xTruncate(CNT_REAL(f), size);
}

static int cnt_sync(sqlite3_file *f, int flags)
{
	return CNT_REAL(f)->pMethods->xSync(CNT_REAL(f), flags);
}

static int cnt_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return CNT_REAL(f)->pMethods->xFileSize(CNT_REAL(f), size);
}

static int cnt_lock(sqlite3_file *f, int l)
{
	return CNT_REAL(f)->pMethods->xLock(CNT_REAL(f), l);
}

static int cnt_unlock(sqlite3_file *f, int l)
{
	return CNT_REAL(f)->pMethods->xUnlock(CNT_REAL(f), l);
}

static int cnt_check_reserved(sqlite3_file *f, int *out)
{
	return CNT_REAL(f)->pMethods->xCheckReservedLock(CNT_REAL(f), out);
}

static int cnt_file_control(sqlite3_file *f, int op, void *arg)
{
	return CNT_REAL(f)->pMethods->xFileControl(CNT_REAL(f), op, arg);
}

static int cnt_sector_size(sqlite3_file *f)
{
	return CNT_REAL(f)->pMethods->xSectorSize(CNT_REAL(f));
}

static int cnt_device_chars(sqlite3_file *f)
{
	return CNT_REAL(f)->pMethods->xDeviceCharacteristics(CNT_REAL(f));
}

static int cnt_shm_map(sqlite3_file *f, int pg, int sz, int ext,
		       void volatile **pp)
{
	return CNT_REAL(f)->pMethods->xShmMap(CNT_REAL(f), pg, sz, ext, pp);
}

static int cnt_shm_lock(sqlite3_file *f, int ofs, int n, int flags)
{
	return CNT_REAL(f)->pMethods->xShmLock(CNT_REAL(f), ofs, n, flags);
}

static void cnt_shm_barrier(sqlite3_file *f)
{
	CNT_REAL(f)->pMethods->xShmBarrier(CNT_REAL(f));
}

static int cnt_shm_unmap(sqlite3_file *f, int del)
{
	return CNT_REAL(f)->pMethods->xShmUnmap(CNT_REAL(f), del);
}

static const sqlite3_io_methods cnt_methods = {
	.iVersion = 2,
	.xClose = cnt_close,
	.xRead = cnt_read,
	.xWrite = cnt_write,
	.xTruncate = cnt_truncate,
	.xSync = cnt_sync,
	.xFileSize = cnt_file_size,
	.xLock = cnt_lock,
	.xUnlock = cnt_unlock,
	.xCheckReservedLock = cnt_check_reserved,
	.xFileControl = cnt_file_control,
	.xSectorSize = cnt_sector_size,
	.xDeviceCharacteristics = cnt_device_chars,
	.xShmMap = cnt_shm_map,
	.xShmLock = cnt_shm_lock,
	.xShmBarrier = cnt_shm_barrier,
	.xShmUnmap = cnt_shm_unmap,
};

static int cnt_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file,
		    int flags, int *out_flags)
{
	struct cnt_file *f = (struct cnt_file *)file;
	int rc;

	memset(f, 0, sizeof(*f));
	f->real = (sqlite3_file *)(f + 1);
	f->wal = (flags & SQLITE_OPEN_WAL) != 0;
	rc = cnt_real->xOpen(cnt_real, name, f->real, flags, out_flags);
	if (rc != SQLITE_OK) {
		if (f->real->pMethods)
			f->real->pMethods->xClose(f->real);
		return rc;
	}
	f->base.pMethods = &cnt_methods;
	return SQLITE_OK;
}

/* Registers "count" and "cat-c" (the shim with key_a on top of it). */
static int cnt_setup(void)
{
	cnt_real = sqlite3_vfs_find(NULL);
	if (!cnt_real)
		return -1;
	cnt_vfs = *cnt_real; /* the unix VFS methods ignore their vfs */
	cnt_vfs.iVersion = 2;
	cnt_vfs.pNext = NULL;
	cnt_vfs.zName = "count";
	cnt_vfs.szOsFile = (int)sizeof(struct cnt_file) + cnt_real->szOsFile;
	cnt_vfs.xOpen = cnt_open;
	if (sqlite3_vfs_register(&cnt_vfs, 1) != SQLITE_OK)
		return -1;
	if (vf_catvfs_register("cat-c", key_a))
		return -1;
	/* Everything else keeps using the real default. */
	return sqlite3_vfs_register(cnt_real, 1) == SQLITE_OK ? 0 : -1;
}

static void cnt_teardown(void)
{
	vf_catvfs_unregister("cat-c");
	sqlite3_vfs_unregister(&cnt_vfs);
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

static int integrity_ok(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int ok = 0;

	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) ==
		    SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		ok = strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0;
	sqlite3_finalize(st);
	return ok;
}

/* The catalog's runtime settings on top of open_cat's. */
static int open_cat_excl(const char *name, const char *vfs, int fresh,
			 sqlite3 **out)
{
	int rc = open_cat(name, vfs, fresh, out);

	if (rc)
		return rc;
	rc = sqlite3_exec(*out,
			  "PRAGMA locking_mode=EXCLUSIVE;"
			  " PRAGMA wal_autocheckpoint=0",
			  NULL, NULL, NULL);
	if (!rc && fresh)
		rc = sqlite3_exec(*out,
				  "CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT)",
				  NULL, NULL, NULL);
	if (rc) {
		sqlite3_close(*out);
		*out = NULL;
	}
	return rc;
}

#define FRAME (24 + 4096)

static long long wal_frames(const char *name)
{
	off_t sz = file_size(name);

	return sz > 32 ? (long long)(sz - 32) / FRAME : 0;
}

static void test_count_setup(void)
{
	CHECK_EQ(cnt_setup(), 0);
	CHECK(sqlite3_vfs_find("cat-c") != NULL);
	CHECK(sqlite3_vfs_find(NULL) == cnt_real);
}

/* A small transaction reaches the WAL as one base write, and is in the
 * file when COMMIT returns. */
static void test_write_count(void)
{
	sqlite3 *db = NULL;
	long long f0, frames;
	int i, rc = -1;

	CHECK_EQ(open_cat_excl("count.db", "cat-c", 1, &db), 0);
	CHECK_EQ(insert_rows(db, 0, 1), SQLITE_OK);
	for (i = 1; i <= 20; i++) {
		cnt_reset();
		f0 = wal_frames("count.db-wal");
		CHECK_EQ(insert_rows(db, i, 1), SQLITE_OK);
		CHECK_EQ(cnt_wal_writes, 1);
		CHECK_EQ(cnt_db_writes, 0);
		CHECK(wal_frames("count.db-wal") > f0);
		CHECK_EQ((file_size("count.db-wal") - 32) % FRAME, 0);
	}
	/* An autocommit statement too. */
	cnt_reset();
	CHECK_EQ(sqlite3_exec(db, "INSERT INTO t(k, v) VALUES(1000, 'x')", NULL,
			      NULL, NULL),
		 SQLITE_OK);
	CHECK_EQ(cnt_wal_writes, 1);
	/* Several pages, still one write. */
	cnt_reset();
	f0 = wal_frames("count.db-wal");
	CHECK_EQ(insert_rows(db, 2000, 150), SQLITE_OK);
	frames = wal_frames("count.db-wal") - f0;
	CHECK(frames > 1 && frames < 31);
	CHECK_EQ(cnt_wal_writes, 1);
	/* More than a buffer: one write per 31 frames (< 128 KiB). */
	cnt_reset();
	f0 = wal_frames("count.db-wal");
	CHECK_EQ(insert_rows(db, 10000, 5000), SQLITE_OK);
	frames = wal_frames("count.db-wal") - f0;
	CHECK(frames > 62);
	CHECK(cnt_wal_writes >= 2);
	CHECK(cnt_wal_writes <= (frames + 30) / 31 + 1);
	CHECK_EQ(count_rows(db, &rc), 5172);
	CHECK_EQ(rc, SQLITE_OK);
	/* After a reset SQLite syncs the new WAL header before the first
	 * frame (its syncHeader rule), which flushes it: two writes, then
	 * one per transaction again. */
	CHECK_EQ(sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL,
			      NULL, NULL),
		 SQLITE_OK);
	CHECK_EQ(file_size("count.db-wal"), 0);
	cnt_reset();
	CHECK_EQ(insert_rows(db, 20000, 1), SQLITE_OK);
	CHECK_EQ(cnt_wal_writes, 2);
	CHECK_EQ(wal_frames("count.db-wal"), 1);
	cnt_reset();
	CHECK_EQ(insert_rows(db, 20001, 1), SQLITE_OK);
	CHECK_EQ(cnt_wal_writes, 1);
	CHECK_EQ(wal_frames("count.db-wal"), 2);
	CHECK_EQ(sqlite3_close(db), SQLITE_OK);

	db = NULL;
	CHECK_EQ(open_cat("count.db", "cat-c", 0, &db), 0);
	CHECK_EQ(count_rows(db, &rc), 5174);
	CHECK(integrity_ok(db));
	sqlite3_close(db);
}

/* A transaction larger than the page cache spills, rewrites frames in
 * place and then rewrites their checksums (the commit frame's header
 * last, with no page after it): a copy taken right after COMMIT, as a
 * crash leaves the files, holds it all. */
static int one_row(void *arg, int n, char **v, char **names)
{
	(*(int *)arg)++;
	return 0;
}

static void test_spill(void)
{
	sqlite3 *db = NULL, *db2 = NULL;
	int rc = -1, rows = 0;

	CHECK_EQ(open_cat_excl("spill.db", "cat-c", 1, &db), 0);
	CHECK_EQ(sqlite3_exec(db,
			      "PRAGMA cache_size=10; CREATE INDEX t_v ON t(v);"
			      " CREATE TABLE u(x)",
			      NULL, NULL, NULL),
		 SQLITE_OK);
	cnt_reset();
	CHECK_EQ(insert_rows(db, 0, 20000), SQLITE_OK);
	/* Copy before anything reads the WAL (a read would flush it). */
	CHECK_EQ(copy_file("spill.db", "spill2.db"), 0);
	CHECK_EQ(copy_file("spill.db-wal", "spill2.db-wal"), 0);
	CHECK(cnt_wal_hdr_writes > 0); /* checksums were rewritten */
	CHECK_EQ(count_rows(db, &rc), 20000);
	CHECK(integrity_ok(db));
	CHECK_EQ(open_cat("spill2.db", "cat-a", 0, &db2), 0);
	CHECK_EQ(count_rows(db2, &rc), 20000);
	CHECK(integrity_ok(db2));
	sqlite3_close(db2);

	CHECK_EQ(insert_rows(db, 20000, 5), SQLITE_OK);
	CHECK_EQ(copy_file("spill.db", "spill3.db"), 0);
	CHECK_EQ(copy_file("spill.db-wal", "spill3.db-wal"), 0);
	db2 = NULL;
	CHECK_EQ(open_cat("spill3.db", "cat-a", 0, &db2), 0);
	CHECK_EQ(count_rows(db2, &rc), 20005);
	CHECK(integrity_ok(db2));
	sqlite3_close(db2);

	/* A spilled transaction rolled back leaves frames past the WAL's
	 * end; the next commit (one frame: u's only page) is appended
	 * before them and still reaches the file when COMMIT returns. */
	CHECK_EQ(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	CHECK_EQ(sqlite3_exec(db,
			      "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL "
			      "SELECT x+1 FROM c WHERE x < 5000) INSERT INTO "
			      "t(k, v) SELECT 100000 + x, printf('%0200d', x) "
			      "FROM c",
			      NULL, NULL, NULL),
		 SQLITE_OK);
	CHECK_EQ(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	cnt_reset();
	CHECK_EQ(sqlite3_exec(db, "INSERT INTO u VALUES(7)", NULL, NULL, NULL),
		 SQLITE_OK);
	CHECK(cnt_wal_writes >= 1 && cnt_wal_writes <= 2);
	CHECK_EQ(copy_file("spill.db", "spill4.db"), 0);
	CHECK_EQ(copy_file("spill.db-wal", "spill4.db-wal"), 0);
	db2 = NULL;
	CHECK_EQ(open_cat("spill4.db", "cat-a", 0, &db2), 0);
	CHECK_EQ(count_rows(db2, &rc), 20005);
	CHECK_EQ(sqlite3_exec(db2, "SELECT 1 FROM u WHERE x = 7", one_row,
			      &rows, NULL),
		 SQLITE_OK);
	CHECK_EQ(rows, 1);
	CHECK(integrity_ok(db2));
	sqlite3_close(db2);
	sqlite3_close(db);
}

#define FORK_TXNS 200

/* A child commits and is gone without closing: nothing committed is
 * left in a buffer. */
static void test_fork_crash(void)
{
	sqlite3 *db = NULL;
	int status = -1, rc = -1;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		int i;

		rc = open_cat_excl("fork.db", "cat-a", 1, &db);
		for (i = 0; !rc && i < FORK_TXNS; i++)
			rc = insert_rows(db, i, 1);
		/* One commit spanning several buffers, then a small one. */
		if (!rc)
			rc = insert_rows(db, FORK_TXNS, 3000);
		if (!rc)
			rc = insert_rows(db, FORK_TXNS + 3000, 1);
		_exit(rc ? 1 : 0); /* no close, no checkpoint */
	}
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(wal_frames("fork.db-wal") > 0);
	CHECK_EQ(open_cat("fork.db", "cat-a", 0, &db), 0);
	CHECK_EQ(count_rows(db, &rc), FORK_TXNS + 3001);
	CHECK_EQ(rc, SQLITE_OK);
	CHECK(integrity_ok(db));
	sqlite3_close(db);
}

/* A failed flush fails the COMMIT with the base VFS's error; the
 * database goes on working. */
static void test_flush_error(void)
{
	sqlite3 *db = NULL;
	int rc = -1;

	CHECK_EQ(open_cat_excl("full.db", "cat-c", 1, &db), 0);
	CHECK_EQ(insert_rows(db, 0, 10), SQLITE_OK);
	cnt_fail_wal = 1;
	cnt_reset();
	rc = insert_rows(db, 10, 1);
	cnt_fail_wal = 0;
	CHECK_EQ(rc, SQLITE_FULL);
	CHECK_EQ(cnt_wal_writes, 1);
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	/* A big one fails too, on an early flush. */
	cnt_fail_wal = 1;
	rc = insert_rows(db, 100, 5000);
	cnt_fail_wal = 0;
	CHECK_EQ(rc, SQLITE_FULL);
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	CHECK_EQ(insert_rows(db, 11, 1), SQLITE_OK);
	CHECK_EQ(count_rows(db, &rc), 11);
	CHECK(integrity_ok(db));
	CHECK_EQ(sqlite3_close(db), SQLITE_OK);
	db = NULL;
	CHECK_EQ(open_cat("full.db", "cat-c", 0, &db), 0);
	CHECK_EQ(count_rows(db, &rc), 11);
	CHECK(integrity_ok(db));
	sqlite3_close(db);
}

int main(void)
{
	char cmd[128];

	if (!unit_tmpdir(dir, sizeof(dir), "t-catvfs")) {
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
	RUN(test_count_setup);
	RUN(test_write_count);
	RUN(test_spill);
	RUN(test_fork_crash);
	RUN(test_flush_error);
	cnt_teardown();
	vf_catvfs_unregister("cat-a");
	vf_catvfs_unregister("cat-b");
	CHECK(sqlite3_vfs_find("cat-a") == NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	return unit_exit();
}
