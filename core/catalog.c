/*
 * catalog.c - opening, creating and migrating the catalog; statements.
 *
 * Invariant: the catalog is only ever opened through the encrypting VFS
 * registered for this handle (catvfs.c); a plaintext page never reaches
 * the disk.  Creation order matters: the page size and the reserved bytes
 * must be fixed before the first page is written (see catvfs.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "catalog.h"
#include "catvfs.h"

static const char *const schema =
	"CREATE TABLE meta(k TEXT PRIMARY KEY, v) WITHOUT ROWID;"
	"CREATE TABLE nodes(id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" mode INTEGER NOT NULL,"
	" uid INTEGER NOT NULL, gid INTEGER NOT NULL, rdev INTEGER NOT NULL"
	" DEFAULT 0, nlink INTEGER NOT NULL, size INTEGER NOT NULL DEFAULT 0,"
	" atime INTEGER, mtime INTEGER, ctime INTEGER, btime INTEGER,"
	" version INTEGER, target BLOB);"
	"CREATE TABLE dirents(id INTEGER PRIMARY KEY, parent INTEGER NOT NULL,"
	" name BLOB NOT NULL, node INTEGER NOT NULL, born INTEGER NOT NULL,"
	" died INTEGER);"
	"CREATE UNIQUE INDEX dirents_live ON dirents(parent, name)"
	" WHERE died IS NULL;"
	"CREATE INDEX dirents_dir ON dirents(parent) WHERE died IS NULL;"
	"CREATE INDEX dirents_hist ON dirents(parent, name, born);"
	"CREATE INDEX dirents_node ON dirents(node);"
	"CREATE TABLE versions(id INTEGER PRIMARY KEY, node INTEGER NOT NULL,"
	" t INTEGER NOT NULL, size INTEGER NOT NULL, mode INTEGER, uid INTEGER,"
	" gid INTEGER, mtime INTEGER);"
	"CREATE INDEX versions_node ON versions(node, t);"
	"CREATE TABLE extents(version INTEGER NOT NULL, off INTEGER NOT NULL,"
	" len INTEGER NOT NULL, chunk INTEGER, coff INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY(version, off)) WITHOUT ROWID;"
	"CREATE INDEX extents_chunk ON extents(chunk);"
	"CREATE TABLE chunks(id INTEGER PRIMARY KEY, cid BLOB NOT NULL UNIQUE,"
	" pack INTEGER NOT NULL, off INTEGER NOT NULL, len INTEGER NOT NULL,"
	" rlen INTEGER NOT NULL);"
	"CREATE TABLE packs(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
	"CREATE TABLE xattrs(node INTEGER NOT NULL, name BLOB NOT NULL,"
	" value BLOB NOT NULL, PRIMARY KEY(node, name)) WITHOUT ROWID;";

/* Format 2 (history): explicit snapshots, the hours in which something
 * changed (for the automatic points listed in .snapshots), and the index
 * gc needs to weigh a pack.  Applied to new catalogs and, once, to
 * catalogs of format 1 when they are opened read-write. */
static const char *const schema_2 =
	"CREATE TABLE snaps(id INTEGER PRIMARY KEY, t INTEGER NOT NULL,"
	" tag TEXT);"
	"CREATE INDEX snaps_t ON snaps(t);"
	"CREATE TABLE activity(hour INTEGER PRIMARY KEY, last INTEGER NOT NULL);"
	/* Only changes to the tree count (names and versions), not upkeep
	 * such as prune and gc; time only grows, so REPLACE keeps the last. */
	"CREATE TRIGGER activity_versions AFTER INSERT ON versions BEGIN"
	" INSERT OR REPLACE INTO activity VALUES(vf_now() / 3600000000000,"
	" vf_now()); END;"
	"CREATE TRIGGER activity_names AFTER INSERT ON dirents BEGIN"
	" INSERT OR REPLACE INTO activity VALUES(vf_now() / 3600000000000,"
	" vf_now()); END;"
	"CREATE TRIGGER activity_deaths AFTER UPDATE OF died ON dirents BEGIN"
	" INSERT OR REPLACE INTO activity VALUES(vf_now() / 3600000000000,"
	" vf_now()); END;"
	"CREATE INDEX chunks_pack ON chunks(pack);"
	/* A regular file renamed over another takes over its history: the
	 * displaced node's succ is the node now at its path. */
	"ALTER TABLE nodes ADD COLUMN succ INTEGER;"
	"CREATE INDEX nodes_succ ON nodes(succ) WHERE succ IS NOT NULL;"
	/* Attribute history: before the first change of a node's attributes
	 * in a second s, its previous state is kept as row (node, s), so the
	 * state at the end of any second T is the first row with s > T, or
	 * the current one.  Nodes born in the same second need no row (they
	 * did not exist at the end of any earlier second), which keeps a copy
	 * of new files free of it. */
	/* Soft delete (trash.c): deleted items and the containers that keep
	 * them under their original paths. */
	"CREATE TABLE trash(id INTEGER PRIMARY KEY, parent INTEGER NOT NULL,"
	" name BLOB NOT NULL, node INTEGER, deleted_at INTEGER NOT NULL,"
	" purge_at INTEGER NOT NULL, saved_mtime INTEGER, created INTEGER"
	" NOT NULL);"
	"CREATE INDEX trash_dir ON trash(parent, name, deleted_at);"
	"CREATE INDEX trash_parent ON trash(parent, deleted_at);"
	"CREATE INDEX trash_node ON trash(node) WHERE node IS NOT NULL;"
	/* guard.c: used approval nonces (helper area) */
	/* Every approval token accepted (guard.c), by its nonce: a token
	 * is single-use.  Rows are kept for good, not pruned at expiry:
	 * forgetting a nonce would trust the clock never to step back. */
	"CREATE TABLE guard_used(nonce BLOB PRIMARY KEY, used_at INTEGER NOT"
	" NULL, uid INTEGER, op TEXT) WITHOUT ROWID;"
	/* audit.c: the audit log (helper area) */
	"CREATE TABLE audit(id INTEGER PRIMARY KEY, t INTEGER NOT NULL,"
	" uid INTEGER NOT NULL, action TEXT NOT NULL, target TEXT,"
	" result TEXT NOT NULL, detail TEXT, mac BLOB NOT NULL);"
	"CREATE TABLE audit_head(k INTEGER PRIMARY KEY CHECK(k = 0),"
	" id INTEGER NOT NULL, count INTEGER NOT NULL, mac BLOB NOT NULL,"
	" broken INTEGER NOT NULL DEFAULT 0, tag BLOB NOT NULL);"
	/* Roles granted to uids (kind 0) and gids (kind 1) (authz.c). */
	"CREATE TABLE roles(kind INTEGER NOT NULL, id INTEGER NOT NULL,"
	" role INTEGER NOT NULL, PRIMARY KEY(kind, id)) WITHOUT ROWID;"
	/* Immutable directories (immut.c). */
	"CREATE TABLE immut(node INTEGER PRIMARY KEY, days INTEGER NOT NULL,"
	" lock_at INTEGER NOT NULL DEFAULT 0, set_at INTEGER NOT NULL);"
	"CREATE TABLE attrhist(node INTEGER NOT NULL, s INTEGER NOT NULL,"
	" mode INTEGER, uid INTEGER, gid INTEGER, size INTEGER, atime INTEGER,"
	" mtime INTEGER, ctime INTEGER, PRIMARY KEY(node, s)) WITHOUT ROWID;"
	"CREATE TRIGGER nodes_attrhist BEFORE UPDATE OF mode, uid, gid, size,"
	" mtime ON nodes WHEN coalesce(old.btime, 0) < vf_second() AND"
	" (old.mode IS NOT new.mode OR old.uid IS NOT new.uid OR old.gid IS"
	" NOT new.gid OR old.size IS NOT new.size OR old.mtime IS NOT"
	" new.mtime) BEGIN INSERT OR IGNORE INTO attrhist VALUES(old.id,"
	" vf_second(), old.mode, old.uid, old.gid, old.size, old.atime,"
	" old.mtime, old.ctime); END;";

/* Format 3: xattr and ACL history (issue: an Operator could destroy them
 * for good).  As for attributes: before the first change of one of a
 * node's xattrs in a second s, its previous value is kept as row (node,
 * name, s), value NULL when it did not exist, so the value at the end of
 * any second T is the first row with s > T, or the current one.  Nodes
 * born in the same second need no row, which keeps cp -a of new files
 * free of it.  An INSERT OR REPLACE is seen by the insert trigger (the
 * replaced row is still there before it) and a removal by the delete
 * trigger. */
static const char *const schema_3 =
	"CREATE TABLE xattrhist(node INTEGER NOT NULL, name BLOB NOT NULL,"
	" s INTEGER NOT NULL, value BLOB, PRIMARY KEY(node, name, s))"
	" WITHOUT ROWID;"
	"CREATE TRIGGER xattrs_hist_put BEFORE INSERT ON xattrs WHEN"
	" (SELECT coalesce(btime, 0) FROM nodes WHERE id=new.node) <"
	" vf_second() AND (SELECT value FROM xattrs WHERE node=new.node AND"
	" name=new.name) IS NOT new.value BEGIN INSERT OR IGNORE INTO"
	" xattrhist VALUES(new.node, new.name, vf_second(), (SELECT value"
	" FROM xattrs WHERE node=new.node AND name=new.name)); END;"
	"CREATE TRIGGER xattrs_hist_del BEFORE DELETE ON xattrs WHEN"
	" (SELECT coalesce(btime, 0) FROM nodes WHERE id=old.node) <"
	" vf_second() BEGIN INSERT OR IGNORE INTO xattrhist VALUES(old.node,"
	" old.name, vf_second(), old.value); END;";

/* vf_now(): the daemon clock in ns (the activity triggers' clock). */
static void sql_now(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	(void)argv;
	sqlite3_result_int64(ctx, vf_clock_now());
}

/* vf_second(): the start of the current second of the daemon clock, in
 * ns (the attribute-history trigger's clock). */
static void sql_second(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	int64_t t = vf_clock_now();

	(void)argc;
	(void)argv;
	sqlite3_result_int64(ctx, t - ((t % VF_NS) + VF_NS) % VF_NS);
}

static const char *const sql_text[VF_Q_COUNT] = {
#define VF_Q_TEXT(name, sql) [VF_Q_##name] = sql,
	VF_QUERIES(VF_Q_TEXT)
#undef VF_Q_TEXT
};

int vf_catalog_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EBADMSG;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_IOERR:
		if (rc == SQLITE_IOERR_DATA)
			return -EBADMSG;
		return -EIO;
	default:
		return -EIO;
	}
}

static int exec(struct vf_catalog *c, const char *sql)
{
	return vf_catalog_errno(sqlite3_exec(c->db, sql, NULL, NULL, NULL));
}

int vf_catalog_meta_get(struct vf_catalog *c, const char *k, int64_t *out)
{
	sqlite3_stmt *st = vf_catalog_stmt(c, VF_Q_META_GET);
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
	rc = vf_catalog_row(st);
	if (rc == 1)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc < 0 ? rc : rc == 1 ? 0 : -ENOENT;
}

int vf_catalog_meta_set(struct vf_catalog *c, const char *k, int64_t v)
{
	sqlite3_stmt *st = vf_catalog_stmt(c, VF_Q_META_SET);

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, v);
	return vf_catalog_run(st);
}

static int create_schema(struct vf_catalog *c)
{
	int reserve = VF_CATVFS_RESERVE, rc;

	rc = exec(c, "PRAGMA page_size=4096");
	if (rc)
		return rc;
	if (sqlite3_file_control(c->db, "main", SQLITE_FCNTL_RESERVE_BYTES,
				 &reserve) != SQLITE_OK)
		return -EIO;
	/* Page 1 of an empty database is written with a rollback journal
	 * when it switches to WAL; the encrypting VFS refuses journals on
	 * disk, so that one write keeps its journal in memory. */
	rc = exec(c, "PRAGMA journal_mode=MEMORY");
	if (!rc)
		rc = exec(c, "PRAGMA journal_mode=WAL");
	if (rc)
		return rc;
	rc = vf_catalog_begin(c);
	if (rc)
		return rc;
	rc = exec(c, schema);
	if (!rc)
		rc = exec(c, schema_2);
	if (!rc)
		rc = exec(c, schema_3);
	if (!rc)
		rc = vf_catalog_meta_set(c, "format", VF_CATALOG_FORMAT);
	return vf_catalog_finish(c, rc);
}

static int migrate(struct vf_catalog *c, int64_t from)
{
	int rc = vf_catalog_begin(c);

	if (rc)
		return rc;
	if (from < 2)
		rc = exec(c, schema_2);
	if (!rc && from < 3)
		rc = exec(c, schema_3);
	if (!rc)
		rc = vf_catalog_meta_set(c, "format", VF_CATALOG_FORMAT);
	return vf_catalog_finish(c, rc);
}

int vf_catalog_open(const char *path, const uint8_t key[32], int create,
		    int readonly, struct vf_catalog **out, char *err,
		    size_t errlen)
{
	struct vf_catalog *c;
	int flags, rc;
	int64_t format = 0;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	snprintf(c->vfs, sizeof(c->vfs), "vaultfs-%p", (void *)c);
	rc = vf_catvfs_register(c->vfs, key);
	if (rc) {
		snprintf(err, errlen, "cannot set up catalog encryption");
		free(c);
		return rc;
	}
	flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_READWRITE |
		(create ? SQLITE_OPEN_CREATE : 0);
	(void)readonly; /* WAL recovery needs write access even for ro */
	rc = sqlite3_open_v2(path, &c->db, flags, c->vfs);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "cannot open catalog '%s': %s", path,
			 c->db ? sqlite3_errmsg(c->db) : "out of memory");
		rc = vf_catalog_errno(rc);
		goto fail;
	}
	sqlite3_extended_result_codes(c->db, 1);
	if (sqlite3_create_function_v2(c->db, "vf_second", 0, SQLITE_UTF8,
				       NULL, sql_second, NULL, NULL,
				       NULL) != SQLITE_OK ||
	    sqlite3_create_function_v2(c->db, "vf_now", 0, SQLITE_UTF8, NULL,
				       sql_now, NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open catalog '%s': %s", path,
			 sqlite3_errmsg(c->db));
		rc = -ENOMEM;
		goto fail;
	}
	sqlite3_busy_timeout(c->db, 5000);
	rc = exec(c, "PRAGMA temp_store=MEMORY");
	if (!rc && create) {
		/* SQLite gives the WAL and shm files the database's mode. */
		if (chmod(path, 0600) < 0)
			rc = -errno;
		if (!rc)
			rc = create_schema(c);
	}
	if (!rc)
		rc = exec(c, "PRAGMA journal_mode=WAL");
	/* One connection in one process (the vault lock file guarantees
	 * it): no file locks and no shared-memory index are needed. */
	if (!rc)
		rc = exec(c, "PRAGMA locking_mode=EXCLUSIVE");
	if (!rc)
		rc = exec(c, "PRAGMA synchronous=NORMAL");
	if (!rc)
		rc = exec(c, "PRAGMA wal_autocheckpoint=8192");
	if (!rc)
		rc = exec(c, "PRAGMA cache_size=-16384");
	if (!rc)
		rc = exec(c, "PRAGMA foreign_keys=OFF");
	if (rc) {
		snprintf(err, errlen, "%s catalog '%s': %s",
			 rc == -EBADMSG ? "cannot decrypt" : "cannot open",
			 path, sqlite3_errmsg(c->db));
		goto fail;
	}
	rc = vf_catalog_meta_get(c, "format", &format);
	if (rc) {
		snprintf(err, errlen, "cannot read catalog '%s': %s", path,
			 rc == -EBADMSG ? "authentication failed" :
					  "no format record");
		rc = rc == -ENOENT ? -EIO : rc;
		goto fail;
	}
	if (format > VF_CATALOG_FORMAT) {
		snprintf(err, errlen,
			 "unsupported catalog format %lld (this build reads %d)",
			 (long long)format, VF_CATALOG_FORMAT);
		rc = -EPROTO;
		goto fail;
	}
	if (format < VF_CATALOG_FORMAT) {
		rc = migrate(c, format);
		if (rc) {
			snprintf(err, errlen,
				 "cannot upgrade catalog '%s' from format %lld: "
				 "%s", path, (long long)format,
				 sqlite3_errmsg(c->db));
			goto fail;
		}
	}
	*out = c;
	return 0;
fail:
	vf_catalog_close(c);
	return rc;
}

int vf_catalog_close(struct vf_catalog *c)
{
	int i, rc = 0;

	if (!c)
		return 0;
	for (i = 0; i < VF_Q_COUNT; i++)
		sqlite3_finalize(c->st[i]);
	if (c->db) {
		sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_TRUNCATE,
					  NULL, NULL);
		rc = vf_catalog_errno(sqlite3_close(c->db));
	}
	vf_catvfs_unregister(c->vfs);
	free(c);
	return rc;
}

sqlite3_stmt *vf_catalog_stmt(struct vf_catalog *c, enum vf_q q)
{
	sqlite3_stmt *st = c->st[q];

	if (!st) {
		if (sqlite3_prepare_v3(c->db, sql_text[q], -1,
				       SQLITE_PREPARE_PERSISTENT, &st,
				       NULL) != SQLITE_OK)
			return NULL;
		c->st[q] = st;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

int vf_catalog_run(sqlite3_stmt *st)
{
	int rc;

	do
		rc = sqlite3_step(st);
	while (rc == SQLITE_ROW);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : vf_catalog_errno(rc);
}

int vf_catalog_row(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return vf_catalog_errno(rc) ? vf_catalog_errno(rc) : -EIO;
}

int vf_catalog_begin(struct vf_catalog *c)
{
	int rc;

	if (c->depth++)
		return 0;
	c->failed = 0;
	rc = exec(c, "BEGIN IMMEDIATE");
	if (rc)
		c->depth = 0;
	return rc;
}

int vf_catalog_commit(struct vf_catalog *c)
{
	int rc;

	if (--c->depth)
		return 0;
	if (c->failed) {
		exec(c, "ROLLBACK");
		return -EIO;
	}
	rc = exec(c, "COMMIT");
	if (rc)
		exec(c, "ROLLBACK");
	return rc;
}

void vf_catalog_rollback(struct vf_catalog *c)
{
	if (--c->depth) {
		c->failed = 1;
		return;
	}
	exec(c, "ROLLBACK");
}

int vf_catalog_finish(struct vf_catalog *c, int rc)
{
	if (rc) {
		vf_catalog_rollback(c);
		return rc;
	}
	return vf_catalog_commit(c);
}

int vf_catalog_sync(struct vf_catalog *c)
{
	int rc = sqlite3_wal_checkpoint_v2(c->db, NULL,
					   SQLITE_CHECKPOINT_PASSIVE, NULL,
					   NULL);

	return vf_catalog_errno(rc);
}
