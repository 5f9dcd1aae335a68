/*
 * catalog_q.h - every SQL statement of the engine, in one list (private to
 * core/).  X(name, sql); catalog.c prepares them lazily; vault.c and
 * file.c use them by name through vf_catalog_stmt.
 */
#ifndef VF_CATALOG_Q_H
#define VF_CATALOG_Q_H

/* The nodes whose history is ?1's: ?1 and its predecessors. */
#define VF_CHAIN                                                             \
	"WITH RECURSIVE chain(n) AS (SELECT ?1 UNION SELECT id FROM nodes, " \
	"chain WHERE nodes.succ=chain.n) "

#define VF_NODE_COLS "mode,uid,gid,rdev,nlink,size,atime,mtime,ctime,version"
/* Column indexes of a node row (VF_NODE_COLS, from its first column;
 * NODE_GET starts at 0, READDIR at VF_READDIR_ATTR).  Decoded in one
 * place: vf_ns_attr_from_row (ns.c). */
enum vf_node_col {
	VF_NODE_MODE,
	VF_NODE_UID,
	VF_NODE_GID,
	VF_NODE_RDEV,
	VF_NODE_NLINK,
	VF_NODE_SIZE,
	VF_NODE_ATIME,
	VF_NODE_MTIME,
	VF_NODE_CTIME,
	VF_NODE_VERSION,
};
/* Column indexes of a version row (VERSION_AT, VERSION_GET,
 * VERSIONS_AFTER, VERSION_NAMED: "id, t, size, mode, uid, gid, mtime" and,
 * but for VERSION_AT, node).  Decoded in view.c (attr_version_row). */
enum vf_version_col {
	VF_VERSION_ID,
	VF_VERSION_T,
	VF_VERSION_SIZE,
	VF_VERSION_MODE,
	VF_VERSION_UID,
	VF_VERSION_GID,
	VF_VERSION_MTIME,
	VF_VERSION_NODE,
};
/* Column indexes of a READDIR row: the dirent's id and name, the node's
 * id, then the node's attribute columns (mode .. ctime, no version). */
enum vf_readdir_col {
	VF_READDIR_ID,
	VF_READDIR_NAME,
	VF_READDIR_NODE,
	VF_READDIR_ATTR,
};

#define VF_QUERIES(X)                                                        \
	X(META_GET, "SELECT v FROM meta WHERE k=?1")                          \
	X(META_SET, "INSERT OR REPLACE INTO meta(k,v) VALUES(?1,?2)")         \
	X(NODE_GET, "SELECT " VF_NODE_COLS " FROM nodes WHERE id=?1")        \
	X(NODE_INSERT, "INSERT INTO nodes(mode,uid,gid,rdev,nlink,size,"      \
		       "atime,mtime,ctime,btime,target) "                     \
		       "VALUES(?1,?2,?3,?4,?5,0,?6,?6,?6,?6,?7)")             \
	X(NODE_NLINK, "UPDATE nodes SET nlink=nlink+?2, ctime=?3 WHERE id=?1") \
	X(NODE_TOUCH, "UPDATE nodes SET mtime=?2, ctime=?2 WHERE id=?1")      \
	X(NODE_CTIME, "UPDATE nodes SET ctime=?2 WHERE id=?1")                \
	X(NODE_SET_MODE, "UPDATE nodes SET mode=?2, ctime=?3 WHERE id=?1")    \
	X(NODE_SET_SIZE, "UPDATE nodes SET size=?2 WHERE id=?1")              \
	X(NODE_SETATTR, "UPDATE nodes SET mode=?2,uid=?3,gid=?4,atime=?5,"    \
			"mtime=?6,ctime=max(coalesce(ctime, 0),?7) WHERE "    \
			"id=?1")                                              \
	X(NODE_SET_VERSION, "UPDATE nodes SET version=?2, size=?3, mtime=?4," \
			    "ctime=max(coalesce(ctime, 0),?5) WHERE id=?1")   \
	X(NODE_TARGET, "SELECT target FROM nodes WHERE id=?1")                \
	X(LOOKUP, "SELECT node FROM dirents WHERE parent=?1 AND name=?2 "     \
		  "AND died IS NULL")                                         \
	X(DIRENT_INSERT, "INSERT INTO dirents(parent,name,node,born) "        \
			 "VALUES(?1,?2,?3,?4)")                               \
	X(DIRENT_KILL, "UPDATE dirents SET died=?3 WHERE parent=?1 AND "      \
		       "name=?2 AND died IS NULL")                            \
	X(DIR_HAS_CHILD, "SELECT 1 FROM dirents WHERE parent=?1 AND died "    \
			 "IS NULL LIMIT 1")                                   \
	X(PARENT_OF, "SELECT parent, name FROM dirents WHERE node=?1 AND "    \
		     "died IS NULL ORDER BY id LIMIT 1")                      \
	X(READDIR, "SELECT d.id, d.name, n.id, n.mode, n.uid, n.gid, n.rdev," \
		   "n.nlink, n.size, n.atime, n.mtime, n.ctime FROM dirents d " \
		   "JOIN nodes n ON n.id=d.node WHERE d.parent=?1 AND d.died " \
		   "IS NULL AND d.id>?2 ORDER BY d.id")                       \
	X(VIEW_LOOKUP, "SELECT node FROM dirents WHERE parent=?1 AND name=?2 " \
		       "AND born<?3 AND (died IS NULL OR died>=?3) ORDER BY " \
		       "born DESC LIMIT 1")                                   \
	X(VIEW_READDIR, "SELECT id, name, node FROM dirents WHERE parent=?1 " \
			"AND (name, born) > (?2, ?3) AND born<?4 AND (died "  \
			"IS NULL OR died>=?4) ORDER BY name, born")           \
	X(VIEW_NLINK, "SELECT count(*) FROM dirents WHERE node=?1 AND "       \
		      "born<?2 AND (died IS NULL OR died>=?2)")               \
	X(DIRENT_KEY, "SELECT name, born FROM dirents WHERE id=?1")           \
	X(VERSION_AT, "SELECT id, t, size, mode, uid, gid, mtime FROM "       \
		      "versions WHERE node=?1 AND t<?2 ORDER BY t DESC LIMIT 1") \
	X(VERSION_GET, "SELECT id, t, size, mode, uid, gid, mtime, node FROM " \
		       "versions WHERE id=?1")                                \
	/* a file's versions include those of the nodes it displaced by    \
	 * rename (nodes.succ): the history of its path */                  \
	X(VERSIONS_AFTER, VF_CHAIN "SELECT id, t, size, mode, uid, gid, "     \
			  "mtime, node FROM versions WHERE node IN (SELECT n " \
			  "FROM chain) AND (t, id) > (?2, ?3) ORDER BY t, id") \
	X(VERSION_RANK, VF_CHAIN "SELECT count(*) FROM versions WHERE node "  \
			"IN (SELECT n FROM chain) AND t>=?2 AND (t, id) < "   \
			"(?3, ?4)")                                           \
	X(VERSION_NAMED, VF_CHAIN "SELECT id, t, size, mode, uid, gid, "      \
			 "mtime, node FROM versions WHERE node IN (SELECT n " \
			 "FROM chain) AND t>=?2 AND t<?3 ORDER BY t, id "     \
			 "LIMIT 1 OFFSET ?4")                                 \
	X(NODE_SUCCEED, "UPDATE nodes SET succ=?2 WHERE id=?1")               \
	X(ATTRS_AT, "SELECT mode, uid, gid, size, atime, mtime, ctime FROM "  \
		    "attrhist WHERE node=?1 AND s>=?2 ORDER BY s LIMIT 1")    \
	X(TRASH_GET, "SELECT parent, name, node, deleted_at, purge_at, "      \
		     "saved_mtime, created FROM trash WHERE id=?1")           \
	X(TRASH_INSERT, "INSERT INTO trash(parent, name, node, deleted_at, "  \
			"purge_at, saved_mtime, created) VALUES(?1, ?2, ?3, " \
			"?4, ?5, ?6, ?7)")                                    \
	X(TRASH_OF_NODE, "SELECT id FROM trash WHERE node=?1 ORDER BY id "    \
			 "DESC LIMIT 1")                                      \
	X(TRASH_CONTAINER, "SELECT id FROM trash WHERE parent=?1 AND "        \
			   "name=?2 AND node IS NULL LIMIT 1")                \
	X(TRASH_CONVERT, "UPDATE trash SET node=?2, deleted_at=?3, "          \
			 "purge_at=?4 WHERE id=?1")                           \
	X(TRASH_REDATE, "UPDATE trash SET purge_at=deleted_at+?1 WHERE node " \
			"IS NOT NULL AND purge_at>deleted_at")                \
	X(TRASH_RANK, "SELECT count(*), count(CASE WHEN deleted_at>=?5 THEN " \
		      "1 END) FROM trash WHERE parent=?1 AND name=?2 AND "    \
		      "(deleted_at, id) < (?3, ?4)")                          \
	X(TRASH_FIRST, "SELECT id FROM trash WHERE parent=?1 AND name=?2 "    \
		       "ORDER BY deleted_at, id LIMIT 1")                     \
	X(TRASH_AT, "SELECT id FROM trash WHERE parent=?1 AND name=?2 AND "   \
		    "deleted_at>=?3 AND deleted_at<?4 ORDER BY deleted_at, "  \
		    "id LIMIT 1 OFFSET ?5")                                   \
	X(TRASH_LIST, "SELECT id FROM trash WHERE parent=?1 AND (name, "      \
		      "deleted_at, id) > (?2, ?3, ?4) AND (node IS NULL OR "  \
		      "purge_at>?5) ORDER BY name, deleted_at, id")           \
	X(TRASH_LAST_CHILD, "SELECT id FROM trash WHERE parent=?1 ORDER BY "  \
			    "deleted_at DESC, id DESC LIMIT 1")               \
	X(TRASH_NODE_ROWS, "SELECT count(*) FROM trash WHERE node=?1")        \
	X(TRASH_DELETE, "DELETE FROM trash WHERE id=?1")                      \
	X(TRASH_EXPIRED, "SELECT id FROM trash WHERE node IS NOT NULL AND "   \
			 "purge_at<=?1 AND id>?2 ORDER BY id LIMIT 1")        \
	X(TRASH_TOPS, "WITH RECURSIVE top(id) AS (SELECT t.id FROM trash t "  \
		      "WHERE t.id>?1 AND t.node IS NOT NULL AND "             \
		      "t.purge_at>?2 AND (t.parent=0 OR (SELECT p.node FROM " \
		      "trash p WHERE p.id=t.parent) IS NULL) ORDER BY t.id "  \
		      "LIMIT 1), sub(id, node) AS (SELECT t.id, t.node FROM " \
		      "trash t, top WHERE t.id=top.id UNION ALL SELECT "      \
		      "c.id, c.node FROM trash c, sub WHERE c.parent=sub.id) " \
		      "SELECT (SELECT id FROM top), coalesce(sum(CASE WHEN "  \
		      "(n.mode & 61440)=32768 THEN n.size END), 0), "         \
		      "count(CASE WHEN (n.mode & 61440)!=16384 THEN 1 END) "  \
		      "FROM sub LEFT JOIN nodes n ON n.id=sub.node")          \
	X(TRASH_SIZE, "WITH RECURSIVE sub(id, node) AS (SELECT id, node "   \
		      "FROM trash WHERE id=?1 UNION ALL SELECT c.id, c.node " \
		      "FROM trash c, sub WHERE c.parent=sub.id) SELECT "      \
		      "coalesce(sum(CASE WHEN (n.mode & 61440)=32768 THEN "   \
		      "n.size END), 0), count(CASE WHEN (n.mode & 61440)"     \
		      "!=16384 THEN 1 END) FROM sub LEFT JOIN nodes n ON "    \
		      "n.id=sub.node")                                        \
	X(NODE_RESTORE_MTIME, "UPDATE nodes SET mtime=?2 WHERE id=?1")        \
	X(NODE_PRED, "SELECT id FROM nodes WHERE succ=?1 LIMIT 1")            \
	X(PURGE_EXTENTS, "DELETE FROM extents WHERE version IN (SELECT id "   \
			 "FROM versions WHERE node=?1)")                      \
	X(PURGE_VERSIONS, "DELETE FROM versions WHERE node=?1")               \
	X(PURGE_DIRENTS, "DELETE FROM dirents WHERE node=?1 OR parent=?1")    \
	X(PURGE_ATTRHIST, "DELETE FROM attrhist WHERE node=?1")               \
	X(PURGE_XATTRS, "DELETE FROM xattrs WHERE node=?1")                   \
	X(PURGE_NODE, "DELETE FROM nodes WHERE id=?1")                        \
	X(ROLE_PUT, "INSERT OR REPLACE INTO roles(kind, id, role) "           \
		    "VALUES(?1, ?2, ?3)")                                     \
	X(ROLE_DEL, "DELETE FROM roles WHERE kind=?1 AND id=?2")              \
	X(ROLE_ALL, "SELECT kind, id, role FROM roles ORDER BY kind, id")     \
	X(IMM_COUNT, "SELECT count(*) FROM immut")                            \
	X(IMM_GET, "SELECT days, lock_at, set_at FROM immut WHERE node=?1")   \
	X(IMM_PUT, "INSERT OR REPLACE INTO immut(node, days, lock_at, "       \
		   "set_at) VALUES(?1, ?2, ?3, ?4)")                          \
	X(IMM_DEL, "DELETE FROM immut WHERE node=?1")                         \
	X(IMM_UNLOCK, "UPDATE immut SET lock_at=0 WHERE node=?1")             \
	X(IMM_NEXT, "SELECT node, days, lock_at, set_at FROM immut WHERE "    \
		    "node>?1 ORDER BY node LIMIT 1")                          \
	X(IMM_SEALED, "SELECT CASE WHEN (mode & 61440)=32768 THEN (SELECT "   \
		      "min(t) FROM versions WHERE node=?1) ELSE btime END "   \
		      "FROM nodes WHERE id=?1")                               \
	X(SNAP_INSERT, "INSERT INTO snaps(t, tag) VALUES(?1, ?2)")            \
	X(SNAP_BY_TAG, "SELECT t FROM snaps WHERE tag=?1 ORDER BY t DESC, "  \
		       "id DESC LIMIT 1")                                     \
	X(SNAPS_LIST, "SELECT t, tag FROM snaps ORDER BY t, id")              \
	X(ACTIVITY_LIST, "SELECT hour, last FROM activity ORDER BY hour")     \
	X(XATTR_GET, "SELECT value FROM xattrs WHERE node=?1 AND name=?2")    \
	X(XATTR_PUT, "INSERT OR REPLACE INTO xattrs(node,name,value) "        \
		     "VALUES(?1,?2,?3)")                                      \
	X(XATTR_DEL, "DELETE FROM xattrs WHERE node=?1 AND name=?2")          \
	X(XATTR_AT, "SELECT value, 1 FROM xattrhist WHERE node=?1 AND "     \
		    "name=?2 AND s>=?3 ORDER BY s LIMIT 1")                   \
	X(XATTR_NAMES_AT, "SELECT name FROM xattrs WHERE node=?1 UNION "      \
			  "SELECT name FROM xattrhist WHERE node=?1 AND "     \
			  "s>=?2 ORDER BY 1")                                 \
	X(PURGE_XATTRHIST, "DELETE FROM xattrhist WHERE node=?1")             \
	X(XATTR_LIST, "SELECT name FROM xattrs WHERE node=?1 ORDER BY name")  \
	X(VERSION_INSERT, "INSERT INTO versions(node,t,size,mode,uid,gid,"    \
			  "mtime) VALUES(?1,?2,?3,?4,?5,?6,?7)")              \
	X(EXTENT_INSERT, "INSERT INTO extents(version,off,len,chunk,coff) "   \
			 "VALUES(?1,?2,?3,?4,?5)")                            \
	X(EXTENTS_OF, "SELECT off, len, chunk, coff FROM extents WHERE "      \
		      "version=?1 ORDER BY off")                              \
	X(CHUNK_BY_CID, "SELECT id FROM chunks WHERE cid=?1")                 \
	X(CHUNK_INSERT, "INSERT OR IGNORE INTO chunks(cid,pack,off,len,rlen)" \
			" VALUES(?1,?2,?3,?4,?5)")                            \
	X(CHUNK_GET, "SELECT c.cid, p.name, c.off, c.len, c.rlen, p.epoch "   \
		     "FROM "                                                  \
		     "chunks c JOIN packs p ON p.id=c.pack WHERE c.id=?1")    \
	X(PACK_INSERT, "INSERT OR IGNORE INTO packs(name, epoch) "            \
		       "VALUES(?1, ?2)")                                      \
	X(PACK_ID, "SELECT id FROM packs WHERE name=?1")                      \
	X(CHECK_CHUNKS, "SELECT c.id, c.cid, p.name, c.off, c.len, c.rlen, "  \
			"p.epoch "                                            \
			"FROM chunks c JOIN packs p ON p.id=c.pack WHERE "    \
			"c.id IN (SELECT chunk FROM extents) AND c.id>?1 "    \
			"ORDER BY c.id LIMIT 256")                            \
	X(NODES_OF_CHUNK, "SELECT DISTINCT v.node FROM extents e JOIN "       \
			  "versions v ON v.id=e.version WHERE e.chunk=?1")    \
	X(DANGLING_EXTENTS, "SELECT DISTINCT v.node FROM extents e JOIN "     \
			    "versions v ON v.id=e.version WHERE e.chunk IS "  \
			    "NOT NULL AND e.chunk NOT IN (SELECT id FROM "    \
			    "chunks)")                                        \
	X(STAT_FILES, "SELECT count(*), coalesce(sum(n.size),0) FROM nodes n " \
		      "WHERE (n.mode & 61440)=32768 AND EXISTS (SELECT 1 "    \
		      "FROM dirents d WHERE d.node=n.id AND d.died IS NULL)") \
	X(STAT_DIRS, "SELECT count(*) FROM nodes n WHERE (n.mode & 61440)="   \
		     "16384")                                                 \
	X(STAT_VERSIONS, "SELECT count(*) FROM versions")                     \
	X(STAT_CHUNKS, "SELECT count(*), coalesce(sum(len),0) FROM chunks")   \
	X(STAT_PACKS, "SELECT count(*) FROM packs")                           \
	X(LIVE_ENTRIES, "SELECT count(*) FROM dirents WHERE died IS NULL")    \
	X(STAT_NODES, "SELECT count(*) FROM nodes")                           \
	/* metrics.c and report.c: sizes and counts over time */             \
	X(STAT_HISTORY, "SELECT coalesce(sum(size),0) FROM versions WHERE "   \
			"id NOT IN (SELECT version FROM nodes WHERE version " \
			"IS NOT NULL)")                                       \
	X(STAT_SOFTDELETED, "SELECT count(*), coalesce(sum(n.size),0) FROM "  \
			    "trash t JOIN nodes n ON n.id=t.node WHERE "      \
			    "(n.mode & 61440)=32768")                         \
	X(STAT_POINTS, "SELECT (SELECT count(*) FROM snaps)+(SELECT "         \
		       "count(*) FROM activity)")                             \
	X(STATS_DAY_PUT, "INSERT OR REPLACE INTO stats_daily(day,logical,"    \
			 "stored,history,softdeleted,files) "                 \
			 "VALUES(?1,?2,?3,?4,?5,?6)")                         \
	X(STATS_DAYS, "SELECT day,logical,stored,history,softdeleted FROM "   \
		      "stats_daily WHERE day>=?1 ORDER BY day")               \
	X(REPORT_POINTS, "SELECT d, count(*) FROM (SELECT hour/24 AS d FROM " \
			 "activity WHERE hour>=?1*24 UNION ALL SELECT "       \
			 "t/86400000000000 FROM snaps WHERE "                 \
			 "t>=?1*86400000000000) GROUP BY d")                  \
	X(REPORT_CHANGED, "SELECT t/86400000000000 AS d, count(DISTINCT "     \
			  "node) FROM versions WHERE t>=?1*86400000000000 "   \
			  "GROUP BY d")                                       \
	X(REPORT_AUDIT_DAYS, "SELECT t/86400000000000 AS d, action='delete'," \
			     " count(*) FROM audit WHERE "                    \
			     "t>=?1*86400000000000 AND (action='undelete' "   \
			     "OR (action='delete' AND detail='unlink')) "      \
			     "GROUP BY d, action")                            \
	X(REPORT_ALERT_KINDS, "SELECT target, count(*) FROM audit WHERE "     \
			      "t>=?1 AND action='alert' GROUP BY target "     \
			      "ORDER BY target")                              \
	X(REPORT_ALERT_LAST, "SELECT t, target, result, detail FROM audit "   \
			     "WHERE t>=?1 AND action='alert' ORDER BY id "    \
			     "DESC LIMIT ?2")                                 \
	X(REPORT_TOP_DIRS, "SELECT d.parent, sum(v.size), count(DISTINCT "    \
			   "v.node) FROM versions v JOIN dirents d ON "       \
			   "d.node=v.node AND d.died IS NULL WHERE v.t>=?1 "  \
			   "GROUP BY d.parent ORDER BY 2 DESC, 1 LIMIT ?2")   \
	/* gc.c: retention, prune, gc */                                      \
	/* files, i.e. nodes not displaced by a rename (those are part of   \
	 * their successor's history), with more versions than any policy   \
	 * keeps, or with displaced predecessors */                         \
	X(PRUNE_NODES, "SELECT node FROM versions v WHERE node>?1 AND "       \
		       "node<=?4 AND (SELECT succ FROM nodes WHERE "          \
		       "id=v.node) IS NULL GROUP BY node HAVING count(*)>?2 " \
		       "OR EXISTS (SELECT 1 FROM nodes p WHERE p.succ=v.node) " \
		       "ORDER BY node LIMIT ?3")                              \
	X(PRUNE_NODE_MAX, "SELECT coalesce(max(node),0) FROM versions")       \
	/* in commit order (id), not by t: a clock set back cannot reorder */ \
	X(PRUNE_WINDOW, VF_CHAIN "SELECT id, t, size, node FROM versions "    \
			"WHERE node IN (SELECT n FROM chain) AND id < ?3 "    \
			"ORDER BY id DESC LIMIT ?4")                          \
	/* never a file's current version; a displaced node has none */     \
	X(PRUNE_VERSION, "DELETE FROM versions WHERE id=?1 AND node=?2 AND "  \
			 "(id IS NOT (SELECT version FROM nodes WHERE id=?2) " \
			 "OR (SELECT succ FROM nodes WHERE id=?2) IS NOT "    \
			 "NULL)")                                             \
	X(PRUNE_EMPTY_PRED, VF_CHAIN "SELECT n FROM chain WHERE n<>?1 AND "   \
			    "NOT EXISTS (SELECT 1 FROM versions WHERE "       \
			    "node=chain.n) LIMIT 1 OFFSET ?2")                \
	X(NODE_RELINK, "UPDATE nodes SET succ=(SELECT succ FROM nodes WHERE " \
		       "id=?1) WHERE succ=?1")                                \
	X(PRUNE_EXTENTS, "DELETE FROM extents WHERE version=?1")              \
	X(NAME_OF, "SELECT parent, name FROM dirents WHERE node=?1 ORDER "    \
		   "BY died IS NOT NULL, CASE WHEN died IS NULL THEN id "     \
		   "END, died DESC, id DESC LIMIT 1")                         \
	X(GC_DEAD_CHUNKS, "SELECT id FROM chunks WHERE id>?1 AND id<=?3 AND " \
			  "id<(SELECT max(id) FROM chunks) AND NOT EXISTS "   \
			  "(SELECT 1 FROM extents WHERE chunk=chunks.id) "    \
			  "ORDER BY id LIMIT ?2")                             \
	X(GC_CHUNK_MAX, "SELECT coalesce(max(id),0) FROM chunks")             \
	X(GC_CHUNK_DEL, "DELETE FROM chunks WHERE id=?1 AND NOT EXISTS "      \
			"(SELECT 1 FROM extents WHERE chunk=?1)")             \
	X(GC_PACK_MAX, "SELECT coalesce(max(id),0) FROM packs")               \
	X(GC_PACK_NEXT, "SELECT id, name, epoch FROM packs WHERE id>?1 AND "  \
			"id<=?2 "                                             \
			"ORDER BY id LIMIT 1")                                \
	X(GC_PACK_LIVE, "SELECT count(*), coalesce(sum(len),0) FROM chunks "  \
			"WHERE pack=?1")                                      \
	X(GC_PACK_CHUNKS, "SELECT id, off, len, cid FROM chunks WHERE "        \
			  "pack=?1 AND "                                      \
			  "id>?2 ORDER BY id LIMIT ?3")                       \
	X(GC_CHUNK_MOVE, "UPDATE chunks SET pack=?2, off=?3 WHERE id=?1 AND " \
			 "pack=?4 AND len=?5")                                \
	X(GC_PACK_DEL, "DELETE FROM packs WHERE id=?1 AND NOT EXISTS (SELECT " \
		       "1 FROM chunks WHERE pack=?1)")                          \
	X(GC_GONE_ADD, "INSERT OR REPLACE INTO store_gone(name, t) SELECT "   \
		       "name, ?2 FROM packs WHERE id=?1 AND (shipped OR ?3) " \
		       "AND NOT EXISTS (SELECT 1 FROM chunks WHERE pack=?1)") \
	/* store_gc.c: remote gc */                                         \
	X(STORE_GONE_GET, "SELECT t FROM store_gone WHERE name=?1")           \
	X(STORE_GONE_DEL, "DELETE FROM store_gone WHERE name=?1")             \
	/* datakey.c, rotate.c: data key epochs and their rotation */       \
	X(DATAKEY_ALL, "SELECT epoch, wrapped FROM datakeys ORDER BY epoch")  \
	X(DATAKEY_INSERT, "INSERT INTO datakeys(epoch, wrapped, created) "    \
			  "VALUES(?1, ?2, ?3)")                               \
	X(DATAKEY_DEL, "DELETE FROM datakeys WHERE epoch<?1")                 \
	X(ROT_NEXT, "SELECT id, name, epoch FROM packs WHERE epoch<?1 AND "   \
		    "id>?2 ORDER BY id LIMIT 1")                              \
	X(ROT_LEFT, "SELECT count(*) FROM packs WHERE epoch<?1")              \
	/* guard.c: approvals (helper area; keep entries below) */          \
	X(GUARD_GET, "SELECT v FROM meta WHERE k='guard.pubkey'")             \
	X(GUARD_DEL, "DELETE FROM meta WHERE k IN ('guard.pubkey',"           \
		     "'guard.quorum')")                                       \
	X(GUARD_KEYS, "SELECT type, pk, app FROM guard_keys ORDER BY id")     \
	X(GUARD_KEY_ADD, "INSERT INTO guard_keys(type, pk, app) "             \
			 "VALUES(?1, ?2, ?3)")                                \
	X(GUARD_KEYS_DEL, "DELETE FROM guard_keys")                           \
	X(GUARD_USE, "INSERT INTO guard_used(nonce,used_at,uid,op) "          \
		     "VALUES(?1,?2,?3,?4)")                                   \
	/* audit.c: the audit log (helper area; keep entries below) */      \
	X(AUDIT_HEAD_GET, "SELECT id, count, mac, broken, tag FROM "          \
			  "audit_head WHERE k=0")                             \
	X(AUDIT_HEAD_PUT, "INSERT OR REPLACE INTO audit_head(k, id, count, "  \
			  "mac, broken, tag) VALUES(0, ?1, ?2, ?3, ?4, ?5)")  \
	X(AUDIT_INSERT, "INSERT INTO audit(id, t, uid, action, target, "      \
			"result, detail, mac) VALUES(?1, ?2, ?3, ?4, ?5, ?6, " \
			"?7, ?8)")                                            \
	X(AUDIT_LAST_T, "SELECT t FROM audit ORDER BY id DESC LIMIT 1")      \
	X(AUDIT_LAST, "SELECT id, mac, (SELECT count(*) FROM audit) FROM "    \
		      "audit ORDER BY id DESC LIMIT 1")                       \
	X(AUDIT_BATCH, "SELECT id, t, uid, action, target, result, detail, "  \
		       "mac FROM audit WHERE id>=?1 AND t>=?2 ORDER BY id "   \
		       "LIMIT ?3")                                            \
	/* ship.c and remote.c: what a remote vault has shipped */          \
	X(SHIP_UNSHIPPED, "SELECT name FROM packs WHERE shipped=0 AND id>?1 " \
			  "ORDER BY id LIMIT ?2")                             \
	X(SHIP_PACK_ID, "SELECT id FROM packs WHERE name=?1")                 \
	X(SHIP_MARK, "UPDATE packs SET shipped=1 WHERE name=?1")              \
	X(SHIP_MARK_ALL, "UPDATE packs SET shipped=1")                        \
	X(SHIP_SHIPPED, "SELECT id, name FROM packs WHERE shipped=1 AND "     \
			"id>?1 ORDER BY id LIMIT 256")                        \
	X(SHIP_PACKS_ALL, "SELECT id, name FROM packs WHERE id>?1 ORDER BY "  \
			  "id LIMIT ?2")                                      \
	X(SHIP_TEXT_GET, "SELECT v FROM meta WHERE k=?1")                     \
	X(SHIP_TEXT_SET, "INSERT OR REPLACE INTO meta(k, v) VALUES(?1, ?2)")

#endif
