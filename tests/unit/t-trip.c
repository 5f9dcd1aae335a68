/*
 * t-trip.c - the ransomware tripwire without FUSE: the sample helpers
 * (entropy, what looks random, compressed formats by their magic,
 * extension changes) against tables; then an attack through the vault
 * API (text files overwritten with random bytes and renamed to .locked)
 * fires it: a tagged snapshot point, the freeze in the catalog (kept
 * across a reopen), purges, prune and gc refused, an alert; the same
 * renames and ordinary writes alone do not fire; release is the Owner's.
 */
#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include "unit.h"
#include "vtest.h"
#include "trip.h"

#define DAY (86400 * VF_NS)

static void hist_of(const uint8_t *p, size_t n, uint16_t hist[256])
{
	size_t i;

	memset(hist, 0, 256 * sizeof(hist[0]));
	for (i = 0; i < n; i++)
		hist[p[i]]++;
}

static void entropy_table(void)
{
	static uint8_t buf[VF_TRIP_SAMPLE];
	uint16_t h[256];
	size_t i;
	static const size_t sizes[] = { 256, 512, 1024, 4096 };

	memset(buf, 'a', sizeof(buf));
	hist_of(buf, sizeof(buf), h);
	CHECK_EQ(vf_trip_entropy(h, sizeof(buf)), 0);
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)i;
	hist_of(buf, sizeof(buf), h);
	CHECK_EQ(vf_trip_entropy(h, sizeof(buf)), 8000);
	/* random bytes look random at every sample size; text does not */
	for (i = 0; i < VF_ARRAY_LEN(sizes); i++) {
		randombytes_buf(buf, sizes[i]);
		hist_of(buf, sizes[i], h);
		CHECK(vf_trip_high(vf_trip_entropy(h, (uint32_t)sizes[i]),
				   (uint32_t)sizes[i]));
	}
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = "the quick brown fox jumps over the lazy dog\n"[i % 44];
	hist_of(buf, sizeof(buf), h);
	CHECK(!vf_trip_high(vf_trip_entropy(h, sizeof(buf)), sizeof(buf)));
	/* base64 (6 bits a byte) is not random-looking */
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[randombytes_uniform(64)];
	hist_of(buf, sizeof(buf), h);
	CHECK(!vf_trip_high(vf_trip_entropy(h, sizeof(buf)), sizeof(buf)));
	/* too small a sample says nothing */
	randombytes_buf(buf, 255);
	hist_of(buf, 255, h);
	CHECK(!vf_trip_high(vf_trip_entropy(h, 255), 255));
}

static void magic_table(void)
{
	static const struct {
		const char *head;
		size_t n;
		int packed;
	} t[] = {
		{ "PK\x03\x04rest", 8, 1 },
		{ "\x1f\x8b\x08\x00", 4, 1 },
		{ "\x28\xb5\x2f\xfd", 4, 1 },
		{ "\xfd" "7zXZ\x00\x00", 7, 1 },
		{ "\xff\xd8\xff\xe0", 4, 1 },
		{ "\x89PNG\r\n", 6, 1 },
		{ "\x00\x00\x00\x18" "ftypmp42", 12, 1 },
		{ "%PDF-1.7", 8, 1 },
		{ "PACK\x00\x00\x00\x02", 8, 1 },
		{ "Salted__", 8, 0 },      /* openssl enc: encrypted */
		{ "-----BEGIN", 10, 0 },
		{ "\x1f", 1, 0 },          /* too short for gzip */
		{ "\x00\x00\x00\x18" "ftyp", 7, 0 },
		{ "", 0, 0 },
	};
	size_t i;

	for (i = 0; i < VF_ARRAY_LEN(t); i++)
		CHECK_EQ(vf_trip_packed_magic((const uint8_t *)t[i].head,
					      t[i].n),
			 t[i].packed);
}

static void ext_table(void)
{
	static const struct {
		const char *from, *to, *ext;
	} t[] = {
		{ "a.txt", "a.txt.locked", "locked" },
		{ "a.txt", "a.ENCRYPTED", "encrypte" },
		{ "Makefile", "Makefile.bak", "bak" },
		{ "a.jpeg", "a.jpg", "jpg" },
		{ "a.txt", "b.TXT", NULL },          /* same extension */
		{ "config.lock", "config", NULL },   /* git's lock files */
		{ ".a.c.Xy12Ab", "a.c", NULL },       /* rsync's temporary */
		{ "a.c~", "a.c", NULL },              /* an editor's backup */
		{ "tmp", "x.", NULL },                /* no extension */
		{ "a", ".bashrc", NULL },             /* a dot file */
		{ "tmp_pack_x1", "pack-1.pack", "pack" },
	};
	char ext[VF_TRIP_EXT_MAX + 1];
	size_t i;

	for (i = 0; i < VF_ARRAY_LEN(t); i++) {
		CHECK_EQ(vf_trip_ext_changed(t[i].from, t[i].to, ext),
			 t[i].ext != NULL);
		if (t[i].ext && vf_trip_ext_changed(t[i].from, t[i].to, ext))
			CHECK(!strcmp(ext, t[i].ext));
	}
}

/* Writes n bytes of p as the whole content of parent/name as c. */
static uint64_t put(struct vf_vault *v, const struct vf_caller *c,
		    uint64_t parent, const char *name, const void *p, size_t n)
{
	struct vf_handle *h = NULL;
	struct vf_attr a = { .ino = 0 };

	if (vf_vault_lookup(v, c, parent, name, &a) == 0)
		CHECK_EQ(vf_vault_open_file(v, c, a.ino, O_WRONLY | O_TRUNC,
					    &h), 0);
	else
		CHECK_EQ(vf_vault_create_file(v, c, parent, name, 0666,
					      O_WRONLY, &a, &h), 0);
	if (!h)
		return 0;
	CHECK_EQ(vf_vault_write(v, h, 0, p, n), (ssize_t)n);
	CHECK_EQ(vf_vault_release(v, h), 0);
	return a.ino;
}

static int64_t frozen_at(struct vf_vault *v, uint32_t *high)
{
	struct vf_admin a = vt_admin(0);
	struct vf_trip_status st;

	CHECK_EQ(vf_admin_trip_status(v, &a, &st), 0);
	if (high)
		*high = st.high_score;
	return st.frozen_at;
}

static char text[8192];

static void make_text(void)
{
	size_t i;

	for (i = 0; i + 1 < sizeof(text); i++)
		text[i] = "invoice budget plan review\n"[i % 27];
}

static int snap_cb(void *arg, int64_t t, const char *tag)
{
	if (tag && !strncmp(tag, "tripwire-", 9))
		*(int64_t *)arg = t;
	return 0;
}

static void attack_fires(void)
{
	const struct vf_caller op = { .uid = 2001, .gid = 2001, .pid = 1,
				      .umask = 022 };
	struct vf_vault *v = vt_fresh();
	struct vf_admin a;
	struct vf_prune_stats ps;
	struct vf_gc_stats gs;
	uint8_t rnd[6000];
	char name[32], locked[40];
	uint64_t n;
	int64_t snap = 0, since = 0;
	uint32_t high;
	int i, fired_at = 0;

	if (!v)
		return;
	make_text();
	CHECK_EQ(vt_role_grant(v, 0, op.uid, VF_ROLE_OPERATOR, NULL, 0), 0);
	for (i = 0; i < 30; i++) {
		snprintf(name, sizeof(name), "f%02d.txt", i);
		put(v, &op, VF_ROOT_INO, name, text, sizeof(text) - 1);
	}
	/* ordinary rewrites, and renames alone, do not fire */
	for (i = 0; i < 30; i++) {
		snprintf(name, sizeof(name), "f%02d.txt", i);
		put(v, &op, VF_ROOT_INO, name, text, sizeof(text) - 2);
	}
	CHECK_EQ(frozen_at(v, &high), 0);
	CHECK_EQ(high, 0);
	sleep(1); /* the burst starts in a second of its own */
	for (i = 0; i < 30 && !fired_at; i++) {
		snprintf(name, sizeof(name), "f%02d.txt", i);
		snprintf(locked, sizeof(locked), "%s.locked", name);
		randombytes_buf(rnd, sizeof(rnd));
		put(v, &op, VF_ROOT_INO, name, rnd, sizeof(rnd));
		CHECK_EQ(vf_vault_rename(v, &op, VF_ROOT_INO, name,
					 VF_ROOT_INO, locked, 0), 0);
		if (frozen_at(v, NULL))
			fired_at = i + 1;
	}
	/* medium: 2 per overwrite, 1 per rename, fires at 16 */
	CHECK_EQ(fired_at, 6);
	a = vt_admin(0);
	CHECK_EQ(vf_admin_snapshots(v, &a, snap_cb, &snap), 0);
	CHECK(snap != 0);
	/* frozen: nothing removed, whoever asks */
	a = vt_admin(0);
	CHECK_EQ(vf_admin_prune(v, &a, 0, NULL, NULL, &ps), -EPERM);
	CHECK(strstr(a.why, "frozen by the tripwire") != NULL);
	a = vt_admin(0);
	CHECK_EQ(vf_admin_gc(v, &a, &gs), -EPERM);
	put(v, &vt_root, VF_ROOT_INO, "doomed", "x", 1);
	CHECK_EQ(vf_vault_unlink(v, &vt_root, VF_ROOT_INO, "doomed"), 0);
	CHECK_EQ(vf_vault_purge_expired(v, vf_vault_now(v) + 100 * DAY, &n),
		 0);
	CHECK_EQ(n, 0);
	/* the freeze is in the catalog */
	v = vt_reopen(v);
	if (!v)
		return;
	CHECK(frozen_at(v, NULL) != 0);
	/* an Operator cannot lift it; the Owner (root, no guard) can */
	vf_admin_init(&a, &op, NULL);
	CHECK_EQ(vf_admin_trip_release(v, &a, &since), -EACCES);
	a = vt_admin(0);
	CHECK_EQ(vf_admin_trip_release(v, &a, &since), 0);
	CHECK(since != 0);
	CHECK_EQ(frozen_at(v, NULL), 0);
	a = vt_admin(0);
	CHECK_EQ(vf_admin_trip_release(v, &a, &since), -EINVAL);
	CHECK_EQ(vf_vault_close(v), 0);
}

/* A uid marked as a false positive no longer counts. */
static void exempt_uid(void)
{
	const struct vf_caller op = { .uid = 2002, .gid = 2002, .pid = 1,
				      .umask = 022 };
	struct vf_trip_exempt e = { .uid = 2002 };
	struct vf_vault *v = vt_fresh();
	struct vf_admin a;
	uint8_t rnd[6000];
	char name[32];
	int i;

	if (!v)
		return;
	make_text();
	CHECK_EQ(vt_role_grant(v, 0, op.uid, VF_ROLE_OPERATOR, NULL, 0), 0);
	a = vt_admin(0);
	CHECK_EQ(vf_admin_trip_exempt(v, &a, &e, 0), -EINVAL);
	a = vt_admin(0);
	CHECK_EQ(vf_admin_trip_exempt(v, &a, &e, 7), 0);
	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "p%02d", i);
		put(v, &op, VF_ROOT_INO, name, text, sizeof(text) - 1);
		randombytes_buf(rnd, sizeof(rnd));
		put(v, &op, VF_ROOT_INO, name, rnd, sizeof(rnd));
	}
	CHECK_EQ(frozen_at(v, NULL), 0);
	CHECK_EQ(vf_vault_close(v), 0);
}

int main(void)
{
	vt_setup("t-trip");
	if (sodium_init() < 0)
		return 1;
	RUN(entropy_table);
	RUN(magic_table);
	RUN(ext_table);
	RUN(attack_fires);
	RUN(exempt_uid);
	CHECK_EQ(vt_cleanup(), 0);
	return unit_exit();
}
