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

/* The hash of a stream's first four numbers. */
static uint64_t stream_prefix(uint64_t seed, int64_t replication, int64_t group, int64_t instance)
{
	uint64_t h = 0x7468726f74746c65ULL; /* "throttle" */
	h = mix_in(h, seed);
	h = mix_in(h, (uint64_t)replication);
	h = mix_in(h, (uint64_t)group);
	return mix_in(h, (uint64_t)instance);
}

static void stream_from(rng_stream *st, uint64_t prefix, uint64_t purpose)
{
	uint64_t h = mix_in(prefix, purpose);
	for (int i = 0; i < 4; i++)
		st->s[i] = splitmix64(&h);
	/* splitmix64 is a bijection of its counter, so four consecutive
	 * outputs are never all zero; xoshiro's one forbidden state is out. */
}

void rng_stream_init(rng_stream *st, uint64_t seed, int64_t replication,
		     int64_t group, int64_t instance, rng_purpose purpose)
{
	stream_from(st, stream_prefix(seed, replication, group, instance), (uint64_t)purpose);
}

void rng_streams_init(rng_stream *st, int n, uint64_t seed, int64_t replication,
		      int64_t group, int64_t instance)
{
	uint64_t prefix = stream_prefix(seed, replication, group, instance);
	for (int p = 0; p < n; p++)
		stream_from(&st[p], prefix, (uint64_t)p);
}

uint64_t rng_key(uint64_t seed, int64_t replication, int64_t group, int64_t instance, uint64_t purpose)
{
	uint64_t h = 0x6b65792d6b657921ULL; /* "key-key!": apart from the streams' */
	h = mix_in(h, seed);
	h = mix_in(h, (uint64_t)replication);
	h = mix_in(h, (uint64_t)group);
	h = mix_in(h, (uint64_t)instance);
	h = mix_in(h, purpose);
	return splitmix64(&h);
}

double rng_hash_uniform(uint64_t key, uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t h = mix_in(mix_in(mix_in(key, a), b), c);
	return (double)(splitmix64(&h) >> 11) * 0x1.0p-53;
}
