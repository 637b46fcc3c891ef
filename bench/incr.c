/* incr.c - the hold model's increment distributions. */
#include "incr.h"

#include <math.h>
#include <string.h>

static const char *const names[INCR_NDIST] = {
	"exponential", "uniform", "triangular", "negtriangular",
	"bimodal", "camel", "change",
};

const char *incr_name(int dist)
{
	return dist >= 0 && dist < INCR_NDIST ? names[dist] : "?";
}

int incr_parse(const char *name)
{
	for (int i = 0; i < INCR_NDIST; i++)
		if (strcmp(name, names[i]) == 0)
			return i;
	return -1;
}

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform on (0, 1): 53 random bits, never 0 (so -log U is finite). */
static double unif(uint64_t *s)
{
	return ((double)(splitmix64(s) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

/* Camel: 99.9% of the mass in spikes 0.05% of a cell wide at 0, 1 and 2,
 * weighted 1/4, 1/2, 1/4; the rest uniform on [0, 2].  Mean 1. */
static double camel(uint64_t *s)
{
	const double w = 0.0005;
	double u = unif(s), v = unif(s);
	if (u >= 0.999)
		return 2.0 * v;
	u /= 0.999;
	if (u < 0.25)
		return w * v;
	if (u < 0.75)
		return 1.0 - w / 2 + w * v;
	return 2.0 - w * v;
}

static double draw(int dist, uint64_t *s, size_t i)
{
	switch (dist) {
	case INCR_EXPONENTIAL: return -log(unif(s));
	case INCR_UNIFORM: return 2.0 * unif(s);
	case INCR_TRIANGULAR: return 1.5 * sqrt(unif(s));
	case INCR_NEG_TRIANGULAR: return 3.0 * (1.0 - sqrt(unif(s)));
	case INCR_BIMODAL: {
		double x = 0.95238 * unif(s);
		return unif(s) < 0.1 ? x + 9.5238 : x;
	}
	case INCR_CAMEL: return camel(s);
	case INCR_CHANGE:
		if ((i / 2000) % 2 == 0)
			return -log(unif(s));
		return 90000.0 + 10000.0 * sqrt(unif(s));
	}
	return 1.0;
}

void incr_fill(int dist, int64_t *out, size_t n, uint64_t seed)
{
	uint64_t s = seed * 0x2545f4914f6cdd1dULL + (uint64_t)dist;
	for (size_t i = 0; i < n; i++)
		out[i] = (int64_t)floor(draw(dist, &s, i) * INCR_SCALE_NS + 0.5);
}
