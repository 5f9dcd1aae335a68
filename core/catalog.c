/*
 * catalog.c - opening, creating and migrating the catalog; statements.
 *
 * Invariant: the catalog is only ever opened through the encrypting VFS
 * registered for this handle (catvfs.c); a plaintext page never reaches
 * the disk.  Creation order matters: the page size and the reserved bytes
 * must be fixed before the first page is written (see catvfs.h).
 *
 * Anchors (anchor.h; docs/design.md, "Catalog rollback").  An anchored
 * catalog keeps meta "epoch", moved on by vf_catalog_anchor_now, which is
 * the only place that checkpoints it (SQLite's automatic checkpoints are
 * off: a WAL hook counts frames and a commit past
 * VF_CATALOG_ANCHOR_FRAMES calls it; closing calls it; SQLite's own
 * checkpoint on close is disabled).  The order there is what makes a crash
 * harmless:
 *   1. commit epoch E + 1 (into the WAL);
 *   2. checkpoint TRUNCATE: the database file holds everything and is
 *      synced, the WAL is empty;
 *   3. digest the database file and write the anchor outside the vault,
 *      then the one inside it (each durably);
 *   4. bind new WAL frames to epoch E + 1 (catvfs.c).
 * A crash before 3 leaves the catalog at E + 1 and the anchors at E: open
 * takes catalog > anchor for such a crash (and re-anchors).  Between
 * anchors the database file only changes in step 2, after the epoch moved,
 * so a catalog whose epoch equals the anchor's must have the anchor's
 * digest: anything else is a splice.  A WAL copied back with an older
 * database was bound to an older epoch and is ignored by SQLite (a torn
 * log), leaving the older database, whose epoch is below the anchor's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <unistd.h>

#include <sodium.h>

#include "anchor.h"
#include "catalog.h"
#include "catvfs.h"
#include "policy.h"

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

/* Format 4: a remote vault (ship.c) marks the packs its store holds, so
 * that a restart ships only what is missing.  Shipping bookkeeping that
 * is not per pack (the last checkpoint's sequence number and time, the
 * store URL) lives in meta, keys "ship.*" and "store.url". */
static const char *const schema_4 =
	"ALTER TABLE packs ADD COLUMN shipped INTEGER NOT NULL DEFAULT 0;";

/* Format 5: one row of sizes per UTC day, written by the daemon (metrics.c,
 * vf_metrics_record_day), for the report's sizes over time
 * (docs/monitoring.md): what cannot be derived from versions, trash rows
 * and the audit log afterwards. */
static const char *const schema_5 =
	"CREATE TABLE stats_daily(day INTEGER PRIMARY KEY, logical INTEGER"
	" NOT NULL, stored INTEGER NOT NULL, history INTEGER NOT NULL,"
	" softdeleted INTEGER NOT NULL, files INTEGER NOT NULL);";

/* Format 6: remote gc (store_gc.c).  When local gc drops a pack of a
 * remote vault, it records the pack's name and the stamp of the drop
 * (the vault stamp, taken under v->mu in the transaction that deletes the
 * row, as a checkpoint's stamp is taken under v->mu at its last copy
 * step): a checkpoint stamped after it cannot reference the pack.  Remote
 * gc deletes the row with the pack's last version in the store.  WITHOUT
 * ROWID: bookkeeping, never a change that needs a checkpoint of its own. */
static const char *const schema_6 =
	"CREATE TABLE store_gone(name TEXT PRIMARY KEY, t INTEGER NOT NULL)"
	" WITHOUT ROWID;";

/* Format 8: the guards (guard.c), several keys of the vault's own or
 * the OpenSSH format and a quorum (meta "guard.quorum", absent: 1).  The
 * single key of older formats (meta "guard.pubkey", a 32-byte blob) moves
 * here; a damaged one stays behind, where the guard refuses everything
 * until it is detached (fails closed).  The format number also keeps
 * older builds, which would see no guard, from opening the vault. */
static const char *const schema_8 =
	"CREATE TABLE guard_keys(id INTEGER PRIMARY KEY, type INTEGER NOT"
	" NULL, pk BLOB NOT NULL, app TEXT NOT NULL DEFAULT '');"
	"INSERT INTO guard_keys(type, pk) SELECT 0, v FROM meta WHERE"
	" k='guard.pubkey' AND typeof(v)='blob' AND length(v)=32;"
	"DELETE FROM meta WHERE k='guard.pubkey' AND typeof(v)='blob' AND"
	" length(v)=32;";

/* Format 7: data key epochs (datakey.c, docs/keys-rotation.md): each
 * epoch's random key sealed under the master's KEYWRAP subkey, and the
 * epoch each pack's blobs are sealed under (0: the master's DATA subkey,
 * every pack written before format 7). */
static const char *const schema_7 =
	"CREATE TABLE datakeys(epoch INTEGER PRIMARY KEY, wrapped BLOB NOT"
	" NULL, created INTEGER NOT NULL);"
	"ALTER TABLE packs ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX packs_epoch ON packs(epoch);";

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

int vf_catalog_counts(struct vf_catalog *c, enum vf_q q, uint64_t *a,
		      uint64_t *b)
{
	sqlite3_stmt *st = vf_catalog_stmt(c, q);
	int rc;

	if (!st)
		return -EIO;
	rc = vf_catalog_row(st);
	if (rc == 1) {
		*a = (uint64_t)sqlite3_column_int64(st, 0);
		if (b)
			*b = (uint64_t)sqlite3_column_int64(st, 1);
		rc = 0;
	}
	sqlite3_reset(st);
	return rc;
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

int vf_catalog_pack_id(struct vf_catalog *c, const char *name,
		       uint32_t epoch, int64_t *id)
{
	sqlite3_stmt *st = vf_catalog_stmt(c, VF_Q_PACK_INSERT);
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, epoch);
	rc = vf_catalog_run(st);
	if (rc)
		return rc;
	st = vf_catalog_stmt(c, VF_Q_PACK_ID);
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = vf_catalog_row(st);
	if (rc == 1)
		*id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == 1 ? 0 : rc < 0 ? rc : -EIO;
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
		rc = exec(c, schema_4);
	if (!rc)
		rc = exec(c, schema_5);
	if (!rc)
		rc = exec(c, schema_6);
	if (!rc)
		rc = exec(c, schema_7);
	if (!rc)
		rc = exec(c, schema_8);
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
	if (!rc && from < 4)
		rc = exec(c, schema_4);
	if (!rc && from < 5)
		rc = exec(c, schema_5);
	if (!rc && from < 6)
		rc = exec(c, schema_6);
	if (!rc && from < 7)
		rc = exec(c, schema_7);
	if (!rc && from < 8)
		rc = exec(c, schema_8);
	if (!rc)
		rc = vf_catalog_meta_set(c, "format", VF_CATALOG_FORMAT);
	return vf_catalog_finish(c, rc);
}

static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	(void)db;
	(void)name;
	((struct vf_catalog *)arg)->wal_frames = frames;
	return SQLITE_OK;
}

/* Counts every commit, autocommit statements included (catalog.h). */
static int commit_hook(void *arg)
{
	__atomic_add_fetch(&((struct vf_catalog *)arg)->commits, 1,
			   __ATOMIC_RELAXED);
	return 0;
}

/* vf_catalog_open; with a (anchored) the WAL is bound to wal_epoch and
 * only vf_catalog_anchor_now checkpoints. */
static int open_impl(const char *path, const uint8_t key[32], int create,
		     int readonly, const struct vf_catalog_anchor *a,
		     uint64_t wal_epoch, struct vf_catalog **out, char *err,
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
	if (a) {
		c->anchored = 1;
		c->readonly = a->readonly;
		c->anchor_epoch = wal_epoch;
		c->akey = sodium_malloc(32);
		c->path = strdup(path);
		c->apath[0] = a->outside ? strdup(a->outside) : NULL;
		c->apath[1] = a->inside ? strdup(a->inside) : NULL;
		if (!c->akey || !c->path || (a->outside && !c->apath[0]) ||
		    (a->inside && !c->apath[1])) {
			rc = -ENOMEM;
			snprintf(err, errlen, "cannot open catalog: %s",
				 strerror(ENOMEM));
			goto fail;
		}
		memcpy(c->akey, a->key, 32);
		memcpy(c->id, a->vault_id, sizeof(c->id));
		(void)vf_catvfs_set_epoch(c->vfs, wal_epoch);
	}
	flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_READWRITE |
		(create ? SQLITE_OPEN_CREATE : 0);
	(void)readonly; /* WAL recovery needs write access even for ro */
	rc = sqlite3_open_v2(path, &c->db, flags, c->vfs);
	if (rc == SQLITE_OK && c->anchored)
		rc = sqlite3_db_config(c->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
				       1, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "cannot open catalog '%s': %s", path,
			 c->db ? sqlite3_errmsg(c->db) : "out of memory");
		rc = vf_catalog_errno(rc);
		goto fail;
	}
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_commit_hook(c->db, commit_hook, c);
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
	/* One connection in one process (the vault lock file guarantees
	 * it): no file locks and no shared-memory index are needed.  Set
	 * before the first access in WAL mode, so SQLite keeps the WAL index
	 * in heap memory and never creates catalog.db-shm (up to 100 KB per
	 * vault, of no use once the catalog is closed). */
	if (!rc)
		rc = exec(c, "PRAGMA locking_mode=EXCLUSIVE");
	if (!rc && create) {
		/* SQLite gives the WAL and shm files the database's mode. */
		if (chmod(path, 0600) < 0)
			rc = -errno;
		if (!rc)
			rc = create_schema(c);
	}
	if (!rc)
		rc = exec(c, "PRAGMA journal_mode=WAL");
	if (!rc)
		rc = exec(c, "PRAGMA synchronous=NORMAL");
	if (!rc)
		rc = exec(c, "PRAGMA wal_autocheckpoint=8192");
	if (!rc && c->anchored)
		sqlite3_wal_hook(c->db, wal_hook, c); /* replaces autocheckpoint */
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
	c->no_checkpoint = 1;
	vf_catalog_close(c);
	return rc;
}

int vf_catalog_open(const char *path, const uint8_t key[32], int create,
		    int readonly, struct vf_catalog **out, char *err,
		    size_t errlen)
{
	return open_impl(path, key, create, readonly, NULL, 0, out, err,
			 errlen);
}

int vf_catalog_open_anchored(const char *path, const uint8_t key[32],
			     const struct vf_catalog_anchor *a,
			     struct vf_catalog **out, char *err, size_t errlen)
{
	struct vf_anchor best, got, now;
	struct vf_catalog *c = NULL;
	const char *paths[2] = { a->outside, a->inside };
	char why[256] = "";
	int have = 0, i, rc;
	int64_t m = 0;

	memset(&best, 0, sizeof(best));
	for (i = 0; i < 2; i++)
		if (paths[i] && !vf_anchor_read(paths[i], a->key, a->vault_id,
						&got) &&
		    (!have || got.epoch > best.epoch)) {
			best = got;
			have = 1;
		}
	/* Before SQLite reads it: the file as the anchor saw it. */
	rc = vf_anchor_digest(path, a->key, &now);
	if (rc) {
		snprintf(err, errlen, "cannot read catalog '%s': %s", path,
			 strerror(-rc));
		return rc;
	}
	rc = open_impl(path, key, 0, a->readonly, a, best.epoch, &c, err,
		       errlen);
	if (rc)
		return rc;
	rc = vf_catalog_meta_get(c, "epoch", &m);
	if (rc == -ENOENT)
		rc = 0;
	if (rc) {
		snprintf(err, errlen, "cannot read catalog '%s': %s", path,
			 strerror(-rc));
		goto fail;
	}
	c->epoch = (uint64_t)m;
	if (!have && m > 0)
		snprintf(why, sizeof(why),
			 "catalog of vault '%s' has no anchor: catalog has "
			 "epoch %lld", a->label, (long long)m);
	else if (have && (uint64_t)m < best.epoch)
		snprintf(why, sizeof(why),
			 "catalog of vault '%s' went back: anchor says epoch "
			 "%llu, catalog has %lld", a->label,
			 (unsigned long long)best.epoch, (long long)m);
	else if (have && (uint64_t)m == best.epoch &&
		 (now.size != best.size ||
		  sodium_memcmp(now.digest, best.digest, 32)))
		snprintf(why, sizeof(why),
			 "catalog of vault '%s' was altered: its pages differ "
			 "from the anchor of epoch %llu", a->label,
			 (unsigned long long)best.epoch);
	if (why[0] && !a->accept_rollback) {
		snprintf(err, errlen, "%s", why);
		rc = -ESTALE;
		goto fail;
	}
	if (why[0] && (uint64_t)m != best.epoch) {
		/* Accepted: the WAL that goes with this database was bound to
		 * the epoch the database has (it was written after the anchor
		 * of that epoch), not to the newest anchor's.  Read it so. */
		c->no_checkpoint = 1;
		vf_catalog_close(c);
		c = NULL;
		rc = open_impl(path, key, 0, a->readonly, a, (uint64_t)m, &c,
			       err, errlen);
		if (rc)
			return rc;
		rc = vf_catalog_meta_get(c, "epoch", &m);
		if (rc == -ENOENT)
			rc = 0;
		if (rc)
			goto fail;
		c->epoch = (uint64_t)m;
		c->anchor_epoch = best.epoch;
	}
	snprintf(c->accepted, sizeof(c->accepted), "%s", why);
	rc = vf_catalog_anchor_now(c);
	/* A full disk leaves the catalog ahead of its anchor, which is
	 * safe (accepted next time); any other failure is refused, so an
	 * anchor that can never be written does not go unnoticed. */
	if (rc == -ENOSPC || rc == -EDQUOT)
		rc = 0;
	if (rc) {
		snprintf(err, errlen, "cannot write the anchor of catalog '%s': "
			 "%s", path, strerror(-rc));
		goto fail;
	}
	*out = c;
	return 0;
fail:
	c->no_checkpoint = 1;
	vf_catalog_close(c);
	return rc;
}

int vf_catalog_anchor_now(struct vf_catalog *c)
{
	struct vf_anchor an;
	uint64_t next;
	int nlog = -1, nckpt = -1, i, rc;

	if (!c->anchored || c->readonly || c->depth || c->no_checkpoint)
		return 0;
	c->no_checkpoint = 1; /* no re-entry from the commit below */
	next = (c->epoch > c->anchor_epoch ? c->epoch : c->anchor_epoch) + 1;
	rc = vf_catalog_begin(c);
	if (!rc)
		rc = vf_catalog_meta_set(c, "epoch", (int64_t)next);
	rc = vf_catalog_finish(c, rc);
	if (rc)
		goto out;
	c->epoch = next;
	rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_TRUNCATE,
				       &nlog, &nckpt);
	if (rc != SQLITE_OK || nlog != nckpt) {
		/* A reader holds the WAL: the anchor stays behind (open
		 * accepts a catalog ahead of it); the next commit retries. */
		rc = 0;
		goto out;
	}
	c->wal_frames = 0;
	memset(&an, 0, sizeof(an));
	rc = vf_anchor_digest(c->path, c->akey, &an);
	an.epoch = next;
	/* Outside first: it is the one an attacker cannot rewrite. */
	for (i = 0; !rc && i < 2; i++)
		if (c->apath[i])
			rc = vf_anchor_write(c->apath[i], c->akey, c->id, &an);
	if (rc)
		goto out;
	/* The WAL is empty: bind what comes next to the new anchor. */
	(void)vf_catvfs_set_epoch(c->vfs, next);
	c->anchor_epoch = next;
out:
	c->no_checkpoint = 0;
	return rc;
}

struct verify {
	vf_catalog_damage_cb cb;
	void *arg;
	int n;
};

static int bad_page(void *arg, uint64_t pgno)
{
	struct verify *vs = arg;
	char where[64];

	snprintf(where, sizeof(where), "catalog page %llu",
		 (unsigned long long)pgno + 1);
	if (vs->cb)
		vs->cb(vs->arg, where, "authentication failed");
	vs->n++;
	return vs->n >= 100; /* enough to say the file is damaged */
}

/* integrity_check of one table (and its indexes), through the pager: every
 * page it reaches is read and authenticated, the WAL's included. */
static int verify_table(struct vf_catalog *c, const char *name,
			struct verify *vs)
{
	char where[128], *sql;
	sqlite3_stmt *st = NULL;
	int rc, found = 0;

	snprintf(where, sizeof(where), "catalog table %s", name);
	sql = sqlite3_mprintf("PRAGMA integrity_check(%Q)", name);
	if (!sql)
		return -ENOMEM;
	rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *msg = (const char *)sqlite3_column_text(st, 0);

		if (msg && strcmp(msg, "ok") && !found++) {
			if (vs->cb)
				vs->cb(vs->arg, where, msg);
			vs->n++;
		}
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_DONE && rc != SQLITE_OK && !found) {
		if (vs->cb)
			vs->cb(vs->arg, where,
			       rc == SQLITE_IOERR_DATA ? "authentication failed"
						      : sqlite3_errstr(rc));
		vs->n++;
	}
	sqlite3_finalize(st);
	sqlite3_free(sql);
	return 0;
}

int vf_catalog_verify(struct vf_catalog *c, vf_catalog_damage_cb cb,
		      void *arg)
{
	struct verify vs = { cb, arg, 0 };
	const char *file = sqlite3_db_filename(c->db, "main");
	sqlite3_stmt *st = NULL;
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	int rc;

	rc = file ? vf_catvfs_verify_db(c->vfs, file, bad_page, &vs) : -EIO;
	if (rc < 0)
		return rc;
	rc = sqlite3_prepare_v2(c->db,
				"SELECT name FROM sqlite_schema WHERE type ="
				" 'table' ORDER BY name", -1, &st, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		char **nn;

		rc = SQLITE_OK;
		if (!name)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			nn = realloc(names, cap * sizeof(*names));
			if (!nn) {
				rc = SQLITE_NOMEM;
				break;
			}
			names = nn;
		}
		names[n] = strdup(name);
		if (!names[n]) {
			rc = SQLITE_NOMEM;
			break;
		}
		n++;
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_NOMEM) {
		rc = -ENOMEM;
		goto out;
	}
	if (rc != SQLITE_DONE) {
		if (cb)
			cb(arg, "catalog schema",
			   rc == SQLITE_IOERR_DATA ? "authentication failed"
						  : sqlite3_errstr(rc));
		vs.n++;
	}
	rc = 0;
	for (i = 0; i < n && !rc; i++)
		rc = verify_table(c, names[i], &vs);
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc < 0 ? rc : vs.n;
}

int vf_catalog_close(struct vf_catalog *c)
{
	int i, rc = 0;

	if (!c)
		return 0;
	for (i = 0; i < VF_Q_COUNT; i++)
		sqlite3_reset(c->st[i]);
	rc = vf_catalog_settle(c);
	/* Anchored: the last anchor names the state left on disk.  When
	 * that fails (a full disk) the catalog is left ahead of its anchor,
	 * which the next open accepts, and everything committed is in the
	 * WAL: the close itself has not failed. */
	if (c->db && c->anchored) {
		i = vf_catalog_anchor_now(c);
		(void)i;
	}
	for (i = 0; i < VF_Q_COUNT; i++)
		sqlite3_finalize(c->st[i]);
	if (c->db) {
		if (!c->anchored)
			sqlite3_wal_checkpoint_v2(c->db, NULL,
						  SQLITE_CHECKPOINT_TRUNCATE,
						  NULL, NULL);
		i = vf_catalog_errno(sqlite3_close(c->db));
		rc = rc ? rc : i;
	}
	vf_catvfs_unregister(c->vfs);
	if (c->akey)
		sodium_free(c->akey);
	free(c->path);
	free(c->apath[0]);
	free(c->apath[1]);
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
	c->defer = 0;
	if (c->pending) {
		rc = exec(c, "SAVEPOINT vf_step");
		c->sp = !rc;
	} else {
		rc = exec(c, "BEGIN IMMEDIATE");
	}
	if (rc)
		c->depth = 0;
	return rc;
}

/* The commit latency histogram (catalog.h): bucket i counts commits of
 * at most vf_catalog_commit_le[i] seconds; the last is +Inf. */
const double vf_catalog_commit_le[VF_CATALOG_COMMIT_BUCKETS - 1] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
};

static void count_commit(struct vf_catalog *c, int64_t ns)
{
	size_t i = 0;

	while (i < VF_CATALOG_COMMIT_BUCKETS - 1 &&
	       (double)ns / 1e9 > vf_catalog_commit_le[i])
		i++;
	__atomic_add_fetch(&c->commit_hist[i], 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&c->commit_ns, (uint64_t)(ns > 0 ? ns : 0),
			   __ATOMIC_RELAXED);
}

/* Undoes the running outermost transaction: its savepoint only when it
 * runs inside a pending one (which stays), else all of it. */
static void undo(struct vf_catalog *c)
{
	if (c->sp) {
		exec(c, "ROLLBACK TO vf_step");
		exec(c, "RELEASE vf_step");
		c->sp = 0;
		return;
	}
	exec(c, "ROLLBACK");
	c->pending = 0;
}

/* COMMIT of everything open, pending included. */
static int commit_all(struct vf_catalog *c)
{
	int64_t t0 = vf_clock_mono();
	int rc = exec(c, "COMMIT");

	c->pending = 0;
	if (rc) {
		exec(c, "ROLLBACK");
		return rc;
	}
	count_commit(c, vf_clock_mono() - t0);
	if (c->anchored && c->wal_frames >= VF_CATALOG_ANCHOR_FRAMES) {
		/* The commit stands whatever happens; the next one retries. */
		int r = vf_catalog_anchor_now(c);

		(void)r;
	}
	return 0;
}

int vf_catalog_commit(struct vf_catalog *c)
{
	int rc;

	if (--c->depth)
		return 0;
	if (c->failed) {
		undo(c);
		return -EIO;
	}
	if (c->sp) {
		rc = exec(c, "RELEASE vf_step");
		if (rc) {
			undo(c);
			return rc;
		}
		c->sp = 0;
	}
	if (c->defer) {
		c->defer = 0;
		c->pending = 1;
		c->pending_changes = sqlite3_total_changes64(c->db);
		return 0;
	}
	return commit_all(c);
}

void vf_catalog_rollback(struct vf_catalog *c)
{
	if (--c->depth) {
		c->failed = 1;
		return;
	}
	undo(c);
}

int vf_catalog_finish(struct vf_catalog *c, int rc)
{
	if (rc) {
		vf_catalog_rollback(c);
		return rc;
	}
	return vf_catalog_commit(c);
}

void vf_catalog_defer(struct vf_catalog *c)
{
	if (c->depth)
		c->defer = 1;
}

int vf_catalog_settle(struct vf_catalog *c)
{
	if (!c || c->depth || !c->pending)
		return 0;
	return commit_all(c);
}

void vf_catalog_settle_stray(struct vf_catalog *c)
{
	int r;

	if (!c || c->depth || !c->pending ||
	    sqlite3_total_changes64(c->db) == c->pending_changes)
		return;
	r = commit_all(c);
	(void)r;
}

/* Durable without a checkpoint: only vf_catalog_anchor_now checkpoints an
 * anchored catalog.  catvfs hands each commit to the OS inside COMMIT, so
 * an fsync of the WAL file makes it durable. */
static int sync_wal(struct vf_catalog *c)
{
	char *wal = NULL;
	int fd, rc = 0;

	if (asprintf(&wal, "%s-wal", c->path) < 0)
		return -ENOMEM;
	fd = open(wal, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		rc = errno == ENOENT ? 0 : -errno;
	else if (fsync(fd) < 0)
		rc = -errno;
	if (fd >= 0)
		close(fd);
	free(wal);
	return rc;
}

uint64_t vf_catalog_disk_bytes(struct vf_catalog *c, uint64_t *wal)
{
	struct stat st;
	uint64_t db = 0, log = 0;
	char *p = NULL;

	if (stat(c->path, &st) == 0)
		db = (uint64_t)st.st_size;
	if (asprintf(&p, "%s-wal", c->path) >= 0 && stat(p, &st) == 0)
		log = (uint64_t)st.st_size;
	free(p);
	if (wal)
		*wal = log;
	return db + log;
}

/* Checkpoints and truncates the WAL (see vf_catalog_compact). */
static int checkpoint_truncate(struct vf_catalog *c)
{
	if (c->anchored)
		return vf_catalog_anchor_now(c);
	return vf_catalog_errno(sqlite3_wal_checkpoint_v2(
		c->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL));
}

static int pragma_int(struct vf_catalog *c, const char *sql, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -EIO;
}

int vf_catalog_compact(struct vf_catalog *c, int *vacuumed)
{
	int64_t pages = 0, free_pages = 0;
	int rc;

	if (vacuumed)
		*vacuumed = 0;
	if (c->readonly || c->depth)
		return 0;
	rc = checkpoint_truncate(c);
	if (!rc)
		rc = pragma_int(c, "PRAGMA page_count", &pages);
	if (!rc)
		rc = pragma_int(c, "PRAGMA freelist_count", &free_pages);
	if (rc || !vf_policy_catalog_vacuum((uint64_t)pages,
					    (uint64_t)free_pages))
		return rc;
	rc = exec(c, "VACUUM");
	if (!rc)
		rc = checkpoint_truncate(c);
	if (!rc && vacuumed)
		*vacuumed = 1;
	return rc;
}

int vf_catalog_sync(struct vf_catalog *c)
{
	int rc;

	if (c->anchored)
		return sync_wal(c);
	rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
				       NULL, NULL);
	return vf_catalog_errno(rc);
}
