/*
 * catalog.h - the SQLite catalog: schema, migrations, prepared statements.
 *
 * The catalog holds the tree, file versions, the chunk index, packs and
 * xattrs (and later settings, roles and the audit log).  It is a WAL-mode
 * SQLite database opened through the encrypting VFS (catvfs.h), so every
 * page on disk is sealed.
 *
 * Schema (format 1); times are ns since the epoch, from the daemon clock:
 *   meta(k, v)                 settings; k "format" = 1, "created"
 *   nodes(id, mode, uid, gid, rdev, nlink, size, atime, mtime, ctime,
 *         btime, version, target)
 *                              one row per inode, kept after deletion so
 *                              history stays reachable; ids are never
 *                              reused (AUTOINCREMENT: they are the FUSE
 *                              inode numbers); version = current
 *                              version of a regular file; target = symlink
 *   dirents(id, parent, name, node, born, died)
 *                              names with their lifetime: died NULL = live.
 *                              Rename and unlink end a row and (rename)
 *                              start another, so the tree as of any time T
 *                              is the rows with born <= T < died.
 *   versions(id, node, t, size, mode, uid, gid, mtime)
 *                              recovery points: one per committed close
 *   extents(version, off, len, chunk, coff)
 *                              a version's content: [off, off+len) comes
 *                              from chunk bytes [coff, coff+len); chunk
 *                              NULL is a hole (zeros)
 *   chunks(id, cid, pack, off, len, rlen)
 *                              cid = keyed chunk id; (pack, off, len) the
 *                              pack entry; rlen the raw length
 *   packs(id, name)
 *   xattrs(node, name, value)
 * Format 2 adds:
 *   snaps(id, t, tag)          explicit snapshot points (vaultctl snapshot)
 *   activity(hour, last)       per UTC hour (t / 3600 s) in which the
 *                              tree changed (a name or a version, by
 *                              trigger), the time of the last change:
 *                              automatic snapshot points
 *   meta "policy.*"            the retention policy (vault.h)
 *   nodes.succ                 for a regular file displaced by a rename
 *                              over it, the node that took its path: its
 *                              versions are that file's history
 *   trash(id, parent, name, node, deleted_at, purge_at, saved_mtime,
 *         created)             soft-deleted items (node) and the
 *                              containers (node NULL) that keep them under
 *                              their original paths (trash.c)
 *   immut(node, days, lock_at, set_at)
 *                              immutable directories (immut.c)
 *   attrhist(node, s, mode, uid, gid, size, atime, mtime, ctime)
 *                              a node's attributes as they were before
 *                              their first change in second s (filled by
 *                              a trigger on nodes; see catalog.c)
 * Format 3 adds:
 *   xattrhist(node, name, s, value)
 *                              a node's xattr (ACLs included) as it was
 *                              before its first change in second s, NULL
 *                              when it did not exist (triggers on xattrs)
 *
 * Format 4 adds:
 *   packs.shipped              1 once the pack is in the remote vault's
 *                              object store (ship.c)
 *   meta "ship.seq", "ship.t"  the last checkpoint shipped: its sequence
 *                              number and the vault stamp it was taken at
 *   meta "store.url"           the store of a remote vault (text)
 * Format 5 adds:
 *   stats_daily(day, logical, stored, history, softdeleted, files)
 *                              sizes per UTC day (t / 86400 s), the last
 *                              sample of that day (metrics.c)
 * Format 7 adds (6 is skipped):
 *   datakeys(epoch, wrapped, created)
 *                              data key epochs >= 1: the random key sealed
 *                              under the KEYWRAP subkey (datakey.c); a row
 *                              is deleted when the epoch is destroyed
 *   packs.epoch                the data key epoch of the pack's blobs
 *   meta "data.epoch"          the epoch new chunks are sealed under
 *   meta "data.rot_total"      packs of older epochs when the rotation
 *                              started (its progress: docs/keys-rotation.md)
 *
 * Threads: a struct vf_catalog is used under its owner's lock (vault.c
 * serialises all access); statements are borrowed until the next call of
 * vf_catalog_stmt for the same query.
 */
#ifndef VF_CATALOG_H
#define VF_CATALOG_H

#include <sqlite3.h>

#include "common.h"
#include "catalog_q.h"

#define VF_CATALOG_NAME "catalog.db"
#define VF_CATALOG_FORMAT 8
/* Buckets of the commit latency histogram (the last one is +Inf). */
#define VF_CATALOG_COMMIT_BUCKETS 13
extern const double vf_catalog_commit_le[VF_CATALOG_COMMIT_BUCKETS - 1];

enum vf_q {
#define VF_Q_ENUM(name, sql) VF_Q_##name,
	VF_QUERIES(VF_Q_ENUM)
#undef VF_Q_ENUM
	VF_Q_COUNT
};

struct vf_catalog {
	sqlite3 *db;
	sqlite3_stmt *st[VF_Q_COUNT];
	char vfs[48];
	int depth; /* nesting of vf_catalog_begin */
	int failed; /* an inner step failed: the outer commit rolls back */
	/* Anchoring (vf_catalog_open_anchored); anchored 0 otherwise. */
	int anchored, readonly, no_checkpoint;
	int wal_frames;      /* frames in the WAL after the last commit */
	uint64_t epoch;      /* meta "epoch" as last committed */
	uint64_t anchor_epoch; /* epoch of the last anchor read or written */
	uint8_t *akey;       /* sodium_malloc'd anchor subkey */
	uint8_t id[16];
	char *path;          /* catalog.db */
	char *apath[2];      /* anchor outside the vault dir, inside it */
	char accepted[256];  /* the rollback accepted at open, or "" */
	/* Outermost COMMITs since open by latency (not cumulative: bucket i
	 * counts those above bucket i-1's bound), and their sum in ns;
	 * written under the owner's lock, read with __atomic_load_n by
	 * metrics.c without it. */
	uint64_t commit_hist[VF_CATALOG_COMMIT_BUCKETS];
	uint64_t commit_ns;
	/* Every transaction SQLite committed (its commit hook: autocommit
	 * statements included); read with __atomic_load_n. */
	uint64_t commits;
	/* Deferred commits (vf_catalog_defer): pending, a transaction is
	 * open in SQLite although depth is 0; sp, the outermost begin
	 * opened a savepoint inside it; defer, the running outermost
	 * transaction asked to stay open; pending_changes, the
	 * connection's total_changes when it was left pending. */
	int pending, sp, defer;
	int64_t pending_changes;
};

/* Where the anchors of a catalog live, and what to do on a rollback. */
struct vf_catalog_anchor {
	const uint8_t *key;      /* VF_SUBKEY_ANCHOR (copied) */
	const uint8_t *vault_id; /* 16 bytes (copied) */
	const char *outside;     /* anchor file outside the vault directory */
	const char *inside;      /* VAULT/catalog.anchor */
	const char *label;       /* the vault, for messages */
	int readonly;            /* never checkpoint nor write anchors */
	int accept_rollback;     /* open anyway, note it in accepted[] */
};

/* Number of WAL frames after which a commit checkpoints and re-anchors. */
#define VF_CATALOG_ANCHOR_FRAMES 8192

/* Opens (create: creates; the file must not exist) the catalog at path
 * sealed with key.  One line in err on failure.  -EBADMSG when the key
 * does not open it, -EPROTO for a newer format. */
VF_MUST int vf_catalog_open(const char *path, const uint8_t key[32],
			    int create, int readonly, struct vf_catalog **out,
			    char *err, size_t errlen);

/* vf_catalog_open, bound to anchors (anchor.h; design: docs/design.md,
 * "Catalog rollback"): the anchors are read and the database file digested
 * before SQLite reads it; the WAL is bound to the newest anchor's epoch
 * (catvfs.c).  Then the catalog's epoch M is compared with the anchor's N:
 * M < N is a rollback, M == N with another digest a splice, both -ESTALE
 * with one line in err ("catalog of vault X went back: ...") unless
 * a->accept_rollback, which opens anyway and keeps the line in
 * (*out)->accepted; M > N is a crash between a checkpoint and its anchor
 * and is accepted.  No anchor at all is accepted only for a catalog that
 * has never been anchored (epoch 0).  Unless read-only, the catalog is
 * re-anchored at once (epoch + 1, checkpoint, anchors written). */
VF_MUST int vf_catalog_open_anchored(const char *path, const uint8_t key[32],
				     const struct vf_catalog_anchor *a,
				     struct vf_catalog **out, char *err,
				     size_t errlen);

/* Moves the epoch on, checkpoints the WAL into the database and writes
 * both anchors (in that order, see the top of catalog.c).  0 without
 * anchors; 0 when the checkpoint could not complete (the anchor then
 * stays behind, which open accepts).  Returns 0 or -errno. */
VF_MUST int vf_catalog_anchor_now(struct vf_catalog *c);

/* Called for each piece of damage vf_catalog_verify finds: where is
 * "catalog table NAME" or "catalog page N", what the reason. */
typedef void (*vf_catalog_damage_cb)(void *arg, const char *where,
				     const char *what);

/* Reads and authenticates every page of the database file (free pages
 * too) and, through SQLite, every page of every table and index (WAL
 * included), then runs integrity_check per table.  Damage is reported by
 * table ("catalog table versions: ...") or by page.  Returns the number of
 * problems (>= 0) or -errno. */
VF_MUST int vf_catalog_verify(struct vf_catalog *c, vf_catalog_damage_cb cb,
			      void *arg);

/* Checkpoints and closes; accepts NULL. */
int vf_catalog_close(struct vf_catalog *c);

/* The prepared statement for q, reset and with bindings cleared. */
sqlite3_stmt *vf_catalog_stmt(struct vf_catalog *c, enum vf_q q);

/* Transactions nest: only the outermost begin/commit reach SQLite. */
VF_MUST int vf_catalog_begin(struct vf_catalog *c);
VF_MUST int vf_catalog_commit(struct vf_catalog *c);
void vf_catalog_rollback(struct vf_catalog *c);
/* Ends the transaction: commits when rc is 0, else rolls back.  Returns
 * rc, or the commit's error. */
VF_MUST int vf_catalog_finish(struct vf_catalog *c, int rc);

/* Deferred commits.  Inside a transaction, vf_catalog_defer asks that
 * the outermost commit leave it open ("pending") instead of committing:
 * the change is visible on this connection at once and reaches the disk
 * with the next commit that is not deferred, or with vf_catalog_settle.
 * While a transaction is pending, an outermost begin opens a savepoint,
 * so a step that fails rolls back itself only, and any outermost commit
 * that was not deferred commits everything pending with it.  The caller
 * must make sure a settle follows: vault_file.c settles at every flush,
 * fsync and release, and only changes to files that are open are
 * deferred (file.h). */
void vf_catalog_defer(struct vf_catalog *c);
/* Commits what is pending (no-op when nothing is, or inside a
 * transaction).  0 or -errno (then everything pending is rolled back). */
VF_MUST int vf_catalog_settle(struct vf_catalog *c);
/* Settles when a statement outside any transaction (an autocommit
 * statement, which a pending transaction swallows) changed rows since
 * the catalog was left pending: such a change was meant to commit at
 * once.  Called when the vault lock is released. */
void vf_catalog_settle_stray(struct vf_catalog *c);

/* The catalog's bytes on disk: the database file and its write-ahead log
 * (*wal, when not NULL, gets the log's share). */
uint64_t vf_catalog_disk_bytes(struct vf_catalog *c, uint64_t *wal);

/* Maintenance: checkpoints the write-ahead log into the database and
 * truncates it (an anchored catalog through vf_catalog_anchor_now), then,
 * when vf_policy_catalog_vacuum says the free pages are worth it, rewrites
 * the database without them (VACUUM) and checkpoints again.  *vacuumed
 * (may be NULL) says whether it did.  Every page may move with a VACUUM:
 * a remote vault's next checkpoint carries most of the catalog, as a full
 * one unless the chain is still below VF_SHIP_CHAIN_FLOOR (ship_upload.c,
 * vf_ship_make_delta); a segment records the smaller page count and recovery
 * truncates to it (catseg.h).  A checkpoint copy in progress stays
 * consistent: SQLite's backup follows what this connection writes.
 * Outside a transaction; 0 or -errno. */
VF_MUST int vf_catalog_compact(struct vf_catalog *c, int *vacuumed);

/* Makes committed transactions durable (WAL synced, checkpointed). */
VF_MUST int vf_catalog_sync(struct vf_catalog *c);

/* Maps an SQLite result code to our errno vocabulary. */
int vf_catalog_errno(int rc);

/* Runs a statement that returns no rows (or ignores them): step until
 * done.  Returns 0 or -errno. */
VF_MUST int vf_catalog_run(sqlite3_stmt *st);

/* Steps once: 1 row, 0 done, -errno. */
VF_MUST int vf_catalog_row(sqlite3_stmt *st);

/* Runs aggregate query q (no parameters) and reads its one row: column 0
 * into *a and, b not NULL, column 1 into *b (left as they were when there
 * is no row).  0 or -errno. */
VF_MUST int vf_catalog_counts(struct vf_catalog *c, enum vf_q q, uint64_t *a,
			      uint64_t *b);

/* The id of pack name in the packs table, inserting it (sealed under
 * data key epoch) when it is not there.  Inside a transaction.  0 or
 * -errno. */
VF_MUST int vf_catalog_pack_id(struct vf_catalog *c, const char *name,
			       uint32_t epoch, int64_t *id);

/* meta table helpers. */
VF_MUST int vf_catalog_meta_get(struct vf_catalog *c, const char *k,
				int64_t *out);
VF_MUST int vf_catalog_meta_set(struct vf_catalog *c, const char *k,
				int64_t v);

#endif
