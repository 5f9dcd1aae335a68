/*
 * chunker.c - FastCDC-style content-defined chunking; see chunker.h.
 */
#include <string.h>

#include "chunker.h"

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void vf_chunker_gear(uint64_t gear[256], const uint8_t seed[32])
{
	uint64_t s = 0, w;
	int i;

	for (i = 0; i < 4; i++) {
		memcpy(&w, seed + 8 * i, 8);
		s ^= w;
		splitmix64(&s);
	}
	for (i = 0; i < 256; i++)
		gear[i] = splitmix64(&s);
}

static unsigned log2u(size_t x)
{
	unsigned b = 0;

	while (x > 1) {
		x >>= 1;
		b++;
	}
	return b;
}

/* A mask of the top `bits` bits: the cut test looks at the bits that
 * depend on the most bytes of the window. */
static uint64_t top_mask(unsigned bits)
{
	return bits >= 64 ? ~0ULL : ~0ULL << (64 - bits);
}

void vf_chunker_init(struct vf_chunker *c, const uint64_t *gear, size_t min,
		     size_t avg, size_t max)
{
	unsigned b;

	c->gear = gear;
	c->min = min ? min : VF_CHUNK_MIN;
	c->avg = avg ? avg : VF_CHUNK_AVG;
	c->max = max ? max : VF_CHUNK_MAX;
	b = log2u(c->avg);
	c->mask_s = top_mask(b + 2);
	c->mask_l = top_mask(b - 2);
	vf_chunker_reset(c);
}

void vf_chunker_reset(struct vf_chunker *c)
{
	c->fp = 0;
	c->len = 0;
}

size_t vf_chunker_scan(struct vf_chunker *c, const uint8_t *buf, size_t n,
		       int *cut)
{
	size_t i = 0, warm;
	uint64_t fp = c->fp;

	*cut = 0;
	/* Skip what can never be a cut, but hash the last 64 bytes before
	 * min so fp is warm at the first candidate. */
	warm = c->min > 64 ? c->min - 64 : 0;
	if (c->len < warm) {
		size_t skip = warm - c->len;

		if (skip >= n) {
			c->len += n;
			return n;
		}
		i = skip;
	}
	for (; i < n; i++) {
		size_t at = c->len + i + 1;

		fp = (fp << 1) + c->gear[buf[i]];
		if (at < c->min)
			continue;
		if (at >= c->max ||
		    !(fp & (at < c->avg ? c->mask_s : c->mask_l))) {
			*cut = 1;
			vf_chunker_reset(c);
			return i + 1;
		}
	}
	c->len += n;
	c->fp = fp;
	return n;
}
