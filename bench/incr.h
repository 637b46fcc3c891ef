/* incr.h - increment distributions of the hold model
 * (../shared/reference/hold-model.md), shared by the C and the ns-3
 * benchmark so both see exactly the same increments.
 *
 * Every distribution has mean 1 unit (bimodal: 1.43, change: see below),
 * scaled by INCR_SCALE_NS and rounded half up to integer nanoseconds.
 * The generator is a self-contained splitmix64, so the arrays are the same
 * on every machine and in C and C++.
 */
#ifndef BENCH_INCR_H
#define BENCH_INCR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define INCR_SCALE_NS 1000000.0 /* 1 unit = 1 ms */

enum incr_dist {
	INCR_EXPONENTIAL,
	INCR_UNIFORM,
	INCR_TRIANGULAR,
	INCR_NEG_TRIANGULAR,
	INCR_BIMODAL,
	INCR_CAMEL,
	INCR_CHANGE,
	INCR_NDIST
};

const char *incr_name(int dist);
/* -1 if unknown */
int incr_parse(const char *name);
/* Fill out[0..n) with increments of distribution dist from seed.
 * For INCR_CHANGE, n should be a multiple of 4000 so cycling the array
 * keeps the 2,000-draw blocks alternating. */
void incr_fill(int dist, int64_t *out, size_t n, uint64_t seed);

#ifdef __cplusplus
}
#endif
#endif
