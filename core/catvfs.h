/*
 * catvfs.h - an SQLite VFS shim that encrypts the catalog page by page.
 *
 * The catalog is an ordinary SQLite database in WAL mode whose every page
 * is sealed on its way to disk, so the vault directory reveals no name,
 * size or tree shape (docs/design.md, Vault directory).  The database
 * must use a 4096-byte page and keep VF_CATVFS_RESERVE reserved bytes at the end of each page
 * (SQLITE_FCNTL_RESERVE_BYTES, set by the catalog before the first table is
 * created); the shim stores each page's nonce and tag there.
 *
 * Layout on disk:
 *   main database: page n (0-based) at n*4096; bytes [0, 4056) are the
 *     XChaCha20-Poly1305 ciphertext of the page, [4056, 4080) the nonce,
 *     [4080, 4096) the tag; associated data is "db" || le64(n).
 *   WAL: the 32-byte WAL header and each 24-byte frame header are stored as
 *     SQLite writes them (page numbers, salts and checksums); the page
 *     image of frame i (at 32 + i*(24+4096) + 24) is sealed as above with
 *     associated data "wal" || le64(i), then le64(epoch) once the catalog
 *     is anchored (vf_catvfs_set_epoch).
 *   journals and temporary files are refused (the catalog runs in WAL mode
 *     with temp_store=MEMORY).
 * SQLite sees plaintext pages whose reserved tail is all zero.  A page that
 * fails authentication is reported as SQLITE_IOERR_DATA.  The 24-byte nonce
 * is a random 16-byte prefix drawn once per opened file followed by a
 * 64-bit little-endian counter of that file's seals (readers do not care:
 * the nonce is stored with the page).
 *
 * WAL writes are coalesced in memory (one base write per small
 * transaction) and flushed inside the write of each commit frame, so a
 * transaction is in the OS when SQLite's COMMIT returns (details in
 * catvfs.c).
 *
 * Opening the catalog (verified by tests/unit/t-catvfs.c):
 *   sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
 *                   SQLITE_OPEN_NOMUTEX, vfsname);
 *   new database only, before anything else touches it:
 *     PRAGMA page_size=4096;
 *     sqlite3_file_control(db, "main", SQLITE_FCNTL_RESERVE_BYTES,
 *                          &(int){VF_CATVFS_RESERVE});
 *     PRAGMA journal_mode=MEMORY;
 *   every time:
 *     PRAGMA journal_mode=WAL; PRAGMA temp_store=MEMORY;
 *     PRAGMA synchronous=NORMAL;
 * The reserve sticks when set before page 1 is first written (no VACUUM
 * needed).  journal_mode=MEMORY matters: switching an empty database
 * straight to WAL writes page 1 in a rollback-journal transaction, and the
 * shim refuses the on-disk journal (SQLITE_CANTOPEN, "unable to open
 * database file"); with MEMORY that one transaction keeps its journal in
 * memory.  After that, SQLite never asks for a journal or a temp file.
 *
 * Threads: registration is not thread-safe (call at vault open/close);
 * files opened through the VFS follow SQLite's own rules.
 */
#ifndef VF_CATVFS_H
#define VF_CATVFS_H

#include "common.h"

#define VF_CATVFS_PAGE 4096
#define VF_CATVFS_RESERVE 40

/* Registers a VFS called name (copied) that seals with key (copied into
 * sodium_malloc'd memory).  Returns 0, -ENOMEM, -EEXIST. */
VF_MUST int vf_catvfs_register(const char *name, const uint8_t key[32]);

/* Binds WAL page images sealed or opened from now on to epoch (see
 * catvfs.c, "Epoch"); 0 restores the unbound format.  Returns 0, -ENOENT
 * for an unknown name. */
int vf_catvfs_set_epoch(const char *name, uint64_t epoch);

/* The bytes of page images sealed through VFS name since it was
 * registered: into the WAL (*wal) and into the main database file (*db,
 * checkpoints).  Any thread.  Returns 0, -ENOENT for an unknown name. */
VF_MUST int vf_catvfs_sealed(const char *name, uint64_t *wal, uint64_t *db);

/* Authenticates every page of the database file at path (sealed with the
 * key of VFS name) without SQLite, calling cb(arg, page number) for each
 * page that fails (cb returns non-zero to stop).  Returns the number of
 * bad pages or -errno. */
VF_MUST int vf_catvfs_verify_db(const char *name, const char *path,
				int (*cb)(void *arg, uint64_t pgno), void *arg);

/* Reads page pgno (0-based) of the sealed database file fd (sealed with
 * the key of VFS name) into pt (VF_CATVFS_PAGE bytes, reserved tail
 * zero); an all-zero page reads as zeros.  For catalog copies outside
 * SQLite (catseg.c).  Returns 0, -ENOENT for an unknown name, -ENODATA
 * past the end of the file, -EBADMSG when the page fails
 * authentication (pt then holds no plaintext), -errno. */
VF_MUST int vf_catvfs_page_read(const char *name, int fd, uint64_t pgno,
				uint8_t *pt);

/* Seals pt (reserved tail zero) as page pgno of a database file and
 * writes it at pgno * VF_CATVFS_PAGE in fd.  Returns 0, -ENOENT, -EINVAL
 * (reserved tail not zero), -errno. */
VF_MUST int vf_catvfs_page_write(const char *name, int fd, uint64_t pgno,
				 const uint8_t *pt);

/* Unregisters and wipes the key; accepts an unknown name. */
void vf_catvfs_unregister(const char *name);

#endif
