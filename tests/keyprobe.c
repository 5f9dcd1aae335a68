/*
 * keyprobe - proves what a data key rotation promises about the packs of
 * an (unmounted) vault (tests/integration/0051-rotate-data.sh).
 *
 *   keyprobe VAULT KEYSTORE export EPOCH FILE
 *       writes epoch's data key (live epochs only) to FILE, mode 0600:
 *       taken before a rotation, it is the "old key" of the check below.
 *   keyprobe VAULT KEYSTORE check (FILE | master)
 *       tries every chunk the catalog names, in every pack on disk, with
 *       the old key (FILE, or "master": epoch 0's key, the master's DATA
 *       subkey, which the master key still derives after the rotation)
 *       and with the key of the epoch its pack names; prints
 *         packs P entries E old_opens O new_opens N min_epoch M
 *       where old_opens must be 0 and new_opens E after a rotation.
 *       Exits 1 when anything cannot be read.
 *
 * A test helper: it reads core's private structures (vault_int.h) and
 * prints key material only into the file it is told to write.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "datakey.h"
#include "pack.h"
#include "vault_int.h"

struct probe {
	struct vf_vault *v;
	uint8_t old[VF_KEY_BYTES];
	sqlite3_stmt *cid_at;
	uint8_t *sealed, *raw;
	const char *pack;
	uint32_t epoch;
	uint64_t packs, entries, old_opens, new_opens, min_epoch;
	int failed;
};

/* One entry: its chunk id from the catalog, then both keys. */
static int entry(void *arg, uint64_t off, uint32_t len, int ok)
{
	struct probe *p = arg;
	struct vf_pack_loc loc;
	ssize_t n;

	if (!ok) {
		fprintf(stderr, "keyprobe: %s at %llu: checksum mismatch\n",
			p->pack, (unsigned long long)off);
		p->failed = 1;
		return 0;
	}
	sqlite3_reset(p->cid_at);
	sqlite3_bind_text(p->cid_at, 1, p->pack, -1, SQLITE_STATIC);
	sqlite3_bind_int64(p->cid_at, 2, (int64_t)off);
	if (sqlite3_step(p->cid_at) != SQLITE_ROW ||
	    sqlite3_column_bytes(p->cid_at, 0) != VF_CHUNK_ID_BYTES)
		return 0; /* not referenced: garbage gc removes */
	snprintf(loc.pack, sizeof(loc.pack), "%s", p->pack);
	loc.off = off;
	loc.len = len;
	loc.epoch = p->epoch;
	n = vf_pack_read(p->v->io, &loc, p->sealed, VF_POOL_BUF);
	if (n < 0) {
		p->failed = 1;
		return 0;
	}
	p->entries++;
	if (vf_pack_decode_key(p->old, sqlite3_column_blob(p->cid_at, 0),
			       p->sealed, (size_t)n, p->raw, VF_CHUNK_MAX) >= 0)
		p->old_opens++;
	if (vf_datakey_decode(p->v, p->epoch,
			      sqlite3_column_blob(p->cid_at, 0), p->sealed,
			      (size_t)n, p->raw, VF_CHUNK_MAX) >= 0)
		p->new_opens++;
	return 0;
}

static int one_pack(void *arg, const char *name)
{
	struct probe *p = arg;

	p->pack = name;
	if (vf_pack_header(p->v->io, name, &p->epoch, NULL) < 0 ||
	    vf_pack_scan(p->v->io, name, entry, p, NULL) < 0) {
		fprintf(stderr, "keyprobe: cannot read pack %s\n", name);
		p->failed = 1;
		return 0;
	}
	p->packs++;
	if (p->epoch < p->min_epoch)
		p->min_epoch = p->epoch;
	return 0;
}

static int check(struct probe *p, const char *old)
{
	int fd;

	if (!strcmp(old, "master")) {
		memcpy(p->old, vf_keys_sub(p->v->keys, VF_SUBKEY_DATA),
		       VF_KEY_BYTES);
	} else {
		fd = open(old, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || read(fd, p->old, VF_KEY_BYTES) != VF_KEY_BYTES) {
			fprintf(stderr, "keyprobe: cannot read '%s'\n", old);
			return 1;
		}
		close(fd);
	}
	if (sqlite3_prepare_v2(p->v->cat->db,
			       "SELECT c.cid FROM chunks c JOIN packs k ON "
			       "k.id=c.pack WHERE k.name=?1 AND c.off=?2",
			       -1, &p->cid_at, NULL) != SQLITE_OK)
		return 1;
	p->sealed = malloc(VF_POOL_BUF);
	p->raw = malloc(VF_CHUNK_MAX);
	p->min_epoch = UINT32_MAX;
	if (!p->sealed || !p->raw ||
	    p->v->io->ops->list(p->v->io, one_pack, p) < 0)
		p->failed = 1;
	sqlite3_finalize(p->cid_at);
	free(p->sealed);
	free(p->raw);
	printf("packs %llu entries %llu old_opens %llu new_opens %llu min_epoch %llu\n",
	       (unsigned long long)p->packs, (unsigned long long)p->entries,
	       (unsigned long long)p->old_opens,
	       (unsigned long long)p->new_opens,
	       (unsigned long long)(p->packs ? p->min_epoch : 0));
	return p->failed;
}

static int export(struct probe *p, const char *epoch, const char *file)
{
	int fd, rc;

	if (vf_datakey_export(p->v, (uint32_t)strtoul(epoch, NULL, 10),
			      p->old) < 0) {
		fprintf(stderr, "keyprobe: epoch %s is not live\n", epoch);
		return 1;
	}
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	rc = fd < 0 || write(fd, p->old, VF_KEY_BYTES) != VF_KEY_BYTES;
	if (fd >= 0 && close(fd) < 0)
		rc = 1;
	return rc;
}

int main(int argc, char **argv)
{
	struct vf_protector_opts o = { 0 };
	struct probe p;
	char err[512];
	int rc;

	if (argc < 5 || (strcmp(argv[3], "check") && strcmp(argv[3], "export")) ||
	    (!strcmp(argv[3], "export") && argc != 6)) {
		fprintf(stderr, "usage: keyprobe VAULT KEYSTORE export EPOCH FILE | check FILE|master\n");
		return 2;
	}
	memset(&p, 0, sizeof(p));
	o.keystore = argv[2];
	if (vf_vault_open(argv[1], &o, VF_OPEN_RDONLY, &p.v, err,
			  sizeof(err)) < 0) {
		fprintf(stderr, "keyprobe: %s\n", err);
		return 1;
	}
	rc = !strcmp(argv[3], "check") ? check(&p, argv[4]) :
					 export(&p, argv[4], argv[5]);
	sodium_memzero(p.old, sizeof(p.old));
	vf_vault_close(p.v);
	return rc;
}
