/*
 * catalog_q.h - every SQL statement of the engine, in one list (private to
 * core/).  X(name, sql); catalog.c prepares them lazily; vault.c and
 * file.c use them by name through vf_catalog_stmt.
 */
#ifndef VF_CATALOG_Q_H
#define VF_CATALOG_Q_H

#define VF_NODE_COLS "mode,uid,gid,rdev,nlink,size,atime,mtime,ctime,version"

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
			"mtime=?6,ctime=?7 WHERE id=?1")                      \
	X(NODE_SET_VERSION, "UPDATE nodes SET version=?2, size=?3, mtime=?4," \
			    "ctime=?5 WHERE id=?1")                           \
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
	X(XATTR_GET, "SELECT value FROM xattrs WHERE node=?1 AND name=?2")    \
	X(XATTR_PUT, "INSERT OR REPLACE INTO xattrs(node,name,value) "        \
		     "VALUES(?1,?2,?3)")                                      \
	X(XATTR_DEL, "DELETE FROM xattrs WHERE node=?1 AND name=?2")          \
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
	X(CHUNK_GET, "SELECT c.cid, p.name, c.off, c.len, c.rlen FROM "       \
		     "chunks c JOIN packs p ON p.id=c.pack WHERE c.id=?1")    \
	X(PACK_INSERT, "INSERT OR IGNORE INTO packs(name) VALUES(?1)")        \
	X(PACK_ID, "SELECT id FROM packs WHERE name=?1")                      \
	X(CHECK_CHUNKS, "SELECT c.id, c.cid, p.name, c.off, c.len, c.rlen "   \
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
	X(STAT_NODES, "SELECT count(*) FROM nodes")                           \
	X(ACTIVITY_NOTE, "INSERT INTO activity(hour,last) VALUES(?1,?2) ON "  \
			 "CONFLICT(hour) DO UPDATE SET last=max(last,?2)")

#endif
