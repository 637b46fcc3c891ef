/* rng.h - deterministic random streams, one per (seed, replication, group,
 * instance, purpose), and a bridge to GSL's variate functions.
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
 * GSL bridge (the trick): GSL's variates (gsl_ran_poisson, _lognormal,
 * _binomial, ...) draw from a gsl_rng, which normally owns its state.
 * Keeping one gsl_rng per stream would cost tens of bytes plus a malloc
 * each for 10,000 senders x 5 purposes.  Instead rng_gsl embeds ONE
 * gsl_rng per replication whose type is our own "throttlesim-xoshiro"
 * gsl_rng_type and whose state is a single pointer to the current stream.
 * rng_gsl_use(g, stream) points it at a stream and returns the gsl_rng;
 * every draw GSL makes through it then advances that stream.  No GSL
 * allocation takes place (the gsl_rng struct is filled in by hand), and
 * the only static data is the const type descriptor.
 *   get():        the upper 32 bits of the next output (max 2^32 - 1);
 *   get_double(): 53-bit uniform on [0, 1).
 * GSL's variates use libm's log/exp; results are reproducible on one libm.
 *
 * Costs: every draw O(1).  Thread safety: a stream and an rng_gsl belong to
 * one replication (one thread).
 */
#ifndef SIM_RNG_H
#define SIM_RNG_H

#include <stdint.h>

#include <gsl/gsl_rng.h>

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

/* The next 64 raw bits. */
uint64_t rng_u64(rng_stream *st);
/* Uniform on [0, 1), 53 bits. */
double rng_uniform(rng_stream *st);
/* Uniform on (0, 1), 53 bits (never 0; for logarithms). */
double rng_uniform_pos(rng_stream *st);
/* Uniform on (0, 1) from exactly one 64-bit output: the midpoint
 * (k + 1/2) / 2^53 of a 53-bit cell.  For inversion (quantile functions
 * that are infinite at 0 or 1) with a fixed number of draws. */
double rng_uniform_open(rng_stream *st);
/* Uniform integer on [0, n), unbiased (Lemire's method); n > 0. */
uint64_t rng_below(rng_stream *st, uint64_t n);
/* Exponential with the given mean (inverse transform, -mean*log(1-u)). */
double rng_exponential(rng_stream *st, double mean);

/* One per replication; see the bridge above.  Fill with rng_gsl_init. */
typedef struct rng_gsl {
	gsl_rng g;
	rng_stream *cur;
} rng_gsl;

void rng_gsl_init(rng_gsl *b);
/* Point the bridge at st and return the gsl_rng to pass to gsl_ran_*.
 * The pointer stays valid as long as b does. */
gsl_rng *rng_gsl_use(rng_gsl *b, rng_stream *st);

#endif
