/*
 * t-chunker.c - content-defined chunking: sizes within bounds, boundaries
 * independent of how the stream is split, and stable under edits
 * elsewhere in the data.
 */
#include <stdint.h>

#include "chunker.h"
#include "unit.h"

#define DATA_LEN (24u << 20)

static uint64_t gear[256];
static uint8_t *data;

static uint64_t rng_state = 42;
static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Cut offsets of buf, fed in pieces of at most step bytes. */
static size_t cuts(const uint8_t *buf, size_t len, size_t step,
		   uint64_t *out, size_t max)
{
	struct vf_chunker c;
	size_t pos = 0, n = 0;

	vf_chunker_init(&c, gear, 0, 0, 0);
	while (pos < len) {
		size_t want = len - pos < step ? len - pos : step, got;
		int cut;

		got = vf_chunker_scan(&c, buf + pos, want, &cut);
		pos += got;
		if (cut && n < max)
			out[n++] = pos;
	}
	if (n < max && (n == 0 || out[n - 1] != len))
		out[n++] = len;
	return n;
}

static void sizes_in_bounds(void)
{
	static uint64_t c[256];
	size_t n = cuts(data, DATA_LEN, DATA_LEN, c, 256), i;
	uint64_t prev = 0, total = 0;

	CHECK(n > 10);
	for (i = 0; i < n; i++) {
		uint64_t sz = c[i] - prev;

		if (i + 1 < n) {
			CHECK(sz >= VF_CHUNK_MIN);
			CHECK(sz <= VF_CHUNK_MAX);
		}
		total += sz;
		prev = c[i];
	}
	CHECK_EQ(total, DATA_LEN);
	/* The average lands near the target on random data. */
	CHECK(DATA_LEN / n > VF_CHUNK_AVG / 2);
	CHECK(DATA_LEN / n < VF_CHUNK_AVG * 2);
	printf("# %zu chunks, average %zu KiB\n", n, DATA_LEN / n / 1024);
}

static void split_independent(void)
{
	static uint64_t a[256], b[256], d[256];
	size_t na = cuts(data, DATA_LEN, DATA_LEN, a, 256);
	size_t nb = cuts(data, DATA_LEN, 4096, b, 256);
	size_t nd = cuts(data, DATA_LEN, 1, d, 256);

	CHECK_EQ(na, nb);
	CHECK_EQ(na, nd);
	CHECK(!memcmp(a, b, na * sizeof(a[0])));
	CHECK(!memcmp(a, d, na * sizeof(a[0])));
}

/* Boundaries after an edit at offset e are the old ones shifted by the
 * size change, except for at most two chunks around e. */
static size_t shared_after(const uint64_t *a, size_t na, const uint64_t *b,
			   size_t nb, uint64_t edit, int64_t shift)
{
	size_t i, j = 0, same = 0, later = 0;

	for (i = 0; i < na; i++) {
		if (a[i] <= edit)
			continue;
		later++;
		while (j < nb && (int64_t)b[j] < (int64_t)a[i] + shift)
			j++;
		if (j < nb && (int64_t)b[j] == (int64_t)a[i] + shift)
			same++;
	}
	return later - same;
}

static void stable_under_edits(void)
{
	static uint64_t a[256], b[256];
	uint8_t *copy = malloc(DATA_LEN + 16);
	size_t na, nb, lost, i;
	uint64_t edit = DATA_LEN / 2 + 12345;

	CHECK(copy != NULL);
	if (!copy)
		return;
	na = cuts(data, DATA_LEN, DATA_LEN, a, 256);

	/* One byte changed in place. */
	memcpy(copy, data, DATA_LEN);
	copy[edit] ^= 0x5a;
	nb = cuts(copy, DATA_LEN, DATA_LEN, b, 256);
	lost = shared_after(a, na, b, nb, edit, 0);
	CHECK(lost <= 2);
	/* Boundaries before the edit are untouched. */
	for (i = 0; i < na && a[i] < edit - 64; i++)
		CHECK_EQ(a[i], b[i]);

	/* Ten bytes inserted at the front. */
	memcpy(copy, "0123456789", 10);
	memcpy(copy + 10, data, DATA_LEN);
	nb = cuts(copy, DATA_LEN + 10, DATA_LEN, b, 256);
	lost = shared_after(a, na, b, nb, 0, 10);
	CHECK(lost <= 2);
	free(copy);
}

static void gear_keyed(void)
{
	uint8_t s1[32] = { 1 }, s2[32] = { 2 };
	uint64_t g1[256], g2[256], g3[256];

	vf_chunker_gear(g1, s1);
	vf_chunker_gear(g2, s2);
	vf_chunker_gear(g3, s1);
	CHECK(memcmp(g1, g2, sizeof(g1)) != 0);
	CHECK(memcmp(g1, g3, sizeof(g1)) == 0);
}

int main(void)
{
	uint8_t seed[32] = { 7 };
	size_t i;

	data = malloc(DATA_LEN);
	if (!data)
		return 1;
	for (i = 0; i < DATA_LEN; i += 8) {
		uint64_t r = rng();

		memcpy(data + i, &r, 8);
	}
	vf_chunker_gear(gear, seed);
	RUN(sizes_in_bounds);
	RUN(split_independent);
	RUN(stable_under_edits);
	RUN(gear_keyed);
	free(data);
	return unit_exit();
}
