/* rng.c - xoshiro256** streams seeded by splitmix64, and the GSL bridge.
 * See rng.h for the contract. */
#include "rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Fold one number into the hash: a full splitmix64 round on (h ^ v), so
 * that the order of the five numbers matters. */
static uint64_t mix_in(uint64_t h, uint64_t v)
{
	uint64_t x = h ^ v;
	return splitmix64(&x);
}

void rng_stream_init(rng_stream *st, uint64_t seed, int64_t replication,
		     int64_t group, int64_t instance, rng_purpose purpose)
{
	uint64_t h = 0x7468726f74746c65ULL; /* "throttle" */
	h = mix_in(h, seed);
	h = mix_in(h, (uint64_t)replication);
	h = mix_in(h, (uint64_t)group);
	h = mix_in(h, (uint64_t)instance);
	h = mix_in(h, (uint64_t)purpose);
	for (int i = 0; i < 4; i++)
		st->s[i] = splitmix64(&h);
	/* splitmix64 is a bijection of its counter, so four consecutive
	 * outputs are never all zero; xoshiro's one forbidden state is out. */
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t rng_u64(rng_stream *st)
{
	uint64_t *s = st->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double rng_uniform(rng_stream *st)
{
	return (double)(rng_u64(st) >> 11) * 0x1.0p-53;
}

double rng_uniform_pos(rng_stream *st)
{
	double u;
	do
		u = rng_uniform(st);
	while (u == 0.0);
	return u;
}

double rng_uniform_open(rng_stream *st)
{
	return ((double)(rng_u64(st) >> 11) + 0.5) * 0x1.0p-53;
}

uint64_t rng_below(rng_stream *st, uint64_t n)
{
	/* Lemire (2019): multiply-shift with rejection of the biased low part. */
	unsigned __int128 m = (unsigned __int128)rng_u64(st) * n;
	uint64_t l = (uint64_t)m;
	if (l < n) {
		uint64_t t = (0 - n) % n;
		while (l < t) {
			m = (unsigned __int128)rng_u64(st) * n;
			l = (uint64_t)m;
		}
	}
	return (uint64_t)(m >> 64);
}

double rng_exponential(rng_stream *st, double mean)
{
	return -mean * log1p(-rng_uniform(st));
}

/* ---- GSL bridge ----------------------------------------------------- */

/* The gsl_rng state is one pointer, rng_gsl.cur: the stream in use. */

static void bridge_set(void *state, unsigned long seed)
{
	(void)state;
	(void)seed; /* streams are seeded by rng_stream_init only */
}

static unsigned long bridge_get(void *state)
{
	rng_stream **cur = state;
	return (unsigned long)(rng_u64(*cur) >> 32);
}

static double bridge_get_double(void *state)
{
	rng_stream **cur = state;
	return rng_uniform(*cur);
}

static const gsl_rng_type bridge_type = {
	.name = "throttlesim-xoshiro256ss",
	.max = 0xffffffffUL,
	.min = 0,
	.size = sizeof(rng_stream *),
	.set = bridge_set,
	.get = bridge_get,
	.get_double = bridge_get_double,
};

void rng_gsl_init(rng_gsl *b)
{
	b->cur = NULL;
	b->g.type = &bridge_type;
	b->g.state = &b->cur;
}

gsl_rng *rng_gsl_use(rng_gsl *b, rng_stream *st)
{
	b->cur = st;
	return &b->g;
}
