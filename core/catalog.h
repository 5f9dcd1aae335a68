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
#define VF_CATALOG_FORMAT 3

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
};

/* Opens (create: creates; the file must not exist) the catalog at path
 * sealed with key.  One line in err on failure.  -EBADMSG when the key
 * does not open it, -EPROTO for a newer format. */
VF_MUST int vf_catalog_open(const char *path, const uint8_t key[32],
			    int create, int readonly, struct vf_catalog **out,
			    char *err, size_t errlen);

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

/* Makes committed transactions durable (WAL synced, checkpointed). */
VF_MUST int vf_catalog_sync(struct vf_catalog *c);

/* Maps an SQLite result code to our errno vocabulary. */
int vf_catalog_errno(int rc);

/* Runs a statement that returns no rows (or ignores them): step until
 * done.  Returns 0 or -errno. */
VF_MUST int vf_catalog_run(sqlite3_stmt *st);

/* Steps once: 1 row, 0 done, -errno. */
VF_MUST int vf_catalog_row(sqlite3_stmt *st);

/* meta table helpers. */
VF_MUST int vf_catalog_meta_get(struct vf_catalog *c, const char *k,
				int64_t *out);
VF_MUST int vf_catalog_meta_set(struct vf_catalog *c, const char *k,
				int64_t v);

#endif
