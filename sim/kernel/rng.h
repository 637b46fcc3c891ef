/* rng.h - deterministic random streams, one per (seed, replication, group,
 * instance, purpose).
 *
 * A stream is xoshiro256** (Blackman & Vigna 2018): 32 bytes of state,
 * period 2^256 - 1.  Its state is seeded by splitmix64 from a hash of the
 * five numbers, so two streams that differ in any one of them are
 * unrelated, and a stream depends on nothing else: not on how many other
 * streams exist, nor on the order they were created in.  That is what
 * gives common random numbers across variants and makes replications
 * independent of how they are batched.  Only integer arithmetic is used,
 * so the same seed gives the same draws on any machine.
 *
 * Variates are drawn by inversion from these uniforms (models/sender.c),
 * so every draw is a fixed number of outputs of one stream.
 *
 * Costs: every draw O(1).  Thread safety: a stream belongs to one
 * replication (one thread).
 */
#ifndef SIM_RNG_H
#define SIM_RNG_H

#include <math.h>
#include <stdint.h>

typedef enum rng_purpose {
	RNG_ARRIVALS = 0,
	RNG_SHAPE = 1,
	RNG_FAULTS = 2,
	RNG_SERVICE = 3,
	RNG_BACKOFF = 4,
	RNG_PURPOSE_COUNT
} rng_purpose;

typedef struct rng_stream {
	uint64_t s[4];
} rng_stream;

/* Seed a stream from the five numbers that name it. */
void rng_stream_init(rng_stream *st, uint64_t seed, int64_t replication,
		     int64_t group, int64_t instance, rng_purpose purpose);
/* st[p] = the stream of purpose p, for p in [0, n): the same streams as
 * n calls of rng_stream_init, the hash of the four common numbers taken
 * once. */
void rng_streams_init(rng_stream *st, int n, uint64_t seed, int64_t replication,
		      int64_t group, int64_t instance);

/* The draws are inline: several per message, each a handful of
 * instructions (a call cost as much again). */

static inline uint64_t rng__rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* The next 64 raw bits. */
static inline uint64_t rng_u64(rng_stream *st)
{
	uint64_t *s = st->s;
	uint64_t result = rng__rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rng__rotl(s[3], 45);
	return result;
}

/* Uniform on [0, 1), 53 bits. */
static inline double rng_uniform(rng_stream *st)
{
	return (double)(rng_u64(st) >> 11) * 0x1.0p-53;
}

/* Uniform on (0, 1) from exactly one 64-bit output: the midpoint
 * (k + 1/2) / 2^53 of a 53-bit cell.  For inversion (quantile functions
 * that are infinite at 0 or 1) with a fixed number of draws. */
static inline double rng_uniform_open(rng_stream *st)
{
	return ((double)(rng_u64(st) >> 11) + 0.5) * 0x1.0p-53;
}

/* Exponential with the given mean (inverse transform, -mean*log(1-u)). */
static inline double rng_exponential(rng_stream *st, double mean)
{
	return -mean * log1p(-rng_uniform(st));
}

/* Counter-based draws, for draws whose number depends on what happens in
 * the run (one per attempt): a uniform on [0, 1) that is a pure function
 * of a key and three counters, so drawing it never shifts any stream, and
 * two variants that make different attempts still draw the same value for
 * the same (key, a, b, c).  rng_key names the key as rng_stream_init names
 * a stream (purpose: any number, e.g. past RNG_PURPOSE_COUNT). */
uint64_t rng_key(uint64_t seed, int64_t replication, int64_t group, int64_t instance, uint64_t purpose);
double rng_hash_uniform(uint64_t key, uint64_t a, uint64_t b, uint64_t c);

#endif
