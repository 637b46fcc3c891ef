/* delay_hist.h - a mailbox's submission and delivery delays in fixed-size
 * histograms, for its delay quantiles in bounded memory (the total's and
 * the groups' quantiles stay exact: st_dset, stats.h).
 *
 * Buckets.  A delay d (ns) is counted in whole milliseconds, v = floor(d /
 * 1 ms).  Values below 16 ms have a bucket each; from 16 ms on, every
 * octave [2^e, 2^(e+1)) ms is cut into 16 equal buckets of 2^(e-4) ms.  So
 * a bucket is at most 1/16 of its lower edge wide (or 1 ms).  The
 * histogram has the buckets the run's duration can reach (a delay never
 * exceeds the run), dh_buckets(duration): at most 16 x (floor(log2(
 * duration in ms)) - 2), e.g. 373 buckets for a day, 615 for 100 years.
 *
 * Quantile.  Of the n delays sorted x[0] <= ... <= x[n-1], the quantile f
 * is read at rank j = ceil(f (n - 1)) and reported as the upper edge of
 * x[j]'s bucket, but never above the largest delay seen:
 *     x[j] <= dh_quantile <= min(max, x[j] + x[j] / 16 + 1 ms).
 * It bounds from above the exact quantile of st_dset (GSL's, which
 * interpolates between x[floor] and x[ceil] of f (n - 1)), and equals x[j]
 * when x[j] lies in the largest delay's bucket (all delays equal, say).
 *
 * Memory: nothing until the first delay; then one array of 4-byte counts
 * (1.5 KiB for a day); a second for the delivery delays only once a
 * message's delivery differs from its submission (delay mode, or accepted
 * and not released): until then the delivery histogram is the submission
 * one.  Counts are 32 bits: a histogram that would count more than 2^32 - 1
 * delays in one bucket is marked saturated and its quantiles are NaN.
 * Costs: dh_add O(1) (O(buckets) once, when the delivery array is made);
 * dh_quantile O(buckets).
 */
#ifndef MODELS_DELAY_HIST_H
#define MODELS_DELAY_HIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "stats.h"
#include "status.h"

typedef struct dh_hist {
	uint32_t *sub;        /* submission delays; NULL before the first */
	uint32_t *del;        /* delivery delays; NULL while they are sub's */
	uint64_t n_sub, n_del;
	int64_t max_sub_ns, max_del_ns;
	uint32_t n_buckets;
	bool saturated;
	/* The run: run_n delays of bucket run_b counted here and not yet in
	 * sub[run_b], while there is no delivery array.  A mailbox's delays
	 * are mostly one value (fixed connect and submit times), so most
	 * messages add to the run, in the line that holds the rest of the
	 * histogram, and not to a line of the array (a cache miss a message
	 * in the e2e benchmark).  run_n < run_room keeps sub[run_b] + run_n
	 * <= UINT32_MAX, so the run's end (dh_add_slow) finds the bucket full
	 * at the same message as counting in the array would.  64 bytes in
	 * all: one line of snd_counts. */
	uint16_t run_b;       /* < n_buckets (at most 656) */
	uint32_t run_n, run_room; /* run_room 0: no run */
} dh_hist;

/* The buckets a run of duration_ns needs (>= 1). */
uint32_t dh_buckets(int64_t duration_ns);
/* The bucket of a delay (ns >= 0), and a bucket's upper edge (exclusive), ns. */
static inline uint32_t dh_bucket_of(int64_t delay_ns)
{
	/* v ms: v itself below 32; from 16 on, octave e (2^e <= v < 2^(e+1))
	 * has the 16 buckets 16 (e - 4) + (v >> (e - 4)), which for e = 4 is
	 * v again. */
	uint64_t v = delay_ns > 0 ? (uint64_t)delay_ns / 1000000 : 0;
	if (v < 32)
		return (uint32_t)v;
	int e = 63 - __builtin_clzll(v);
	return (uint32_t)(16 * (e - 4) + (int)(v >> (e - 4)));
}
int64_t dh_bucket_end_ns(uint32_t bucket);

void dh_init(dh_hist *h, int64_t duration_ns);
/* Count one accepted message: submission delay sub_ns and, if released,
 * delivery delay del_ns (>= sub_ns).  Delays must be < the duration given
 * to dh_init.  SIM_OK or SIM_ENOMEM (h unchanged). */
int dh_add_slow(dh_hist *h, const sim_alloc *a, int64_t sub_ns, bool released, int64_t del_ns);
static inline int dh_add(dh_hist *h, const sim_alloc *a, int64_t sub_ns, bool released, int64_t del_ns)
{
	/* Fast path, inline (once per accepted message): delivered at
	 * acceptance while every delivery so far was (no delivery array),
	 * in the run's bucket, with room.  What dh_add_slow would do then,
	 * the bucket's count kept in the run. */
	if (h->del == NULL && released && del_ns == sub_ns) {
		uint32_t b = dh_bucket_of(sub_ns);
		if (b == h->run_b && h->run_n < h->run_room) {
			h->run_n++;
			h->n_sub++;
			h->n_del++;
			if (sub_ns > h->max_sub_ns)
				h->max_sub_ns = sub_ns;
			if (sub_ns > h->max_del_ns)
				h->max_del_ns = sub_ns;
			return SIM_OK;
		}
	}
	return dh_add_slow(h, a, sub_ns, released, del_ns);
}
/* Start loading the submission bucket a later dh_add(h, sub_ns, ...)
 * will count in (a random line of the array), unless the run holds it;
 * a hint only. */
static inline void dh_prefetch(const dh_hist *h, int64_t sub_ns)
{
	uint32_t b = dh_bucket_of(sub_ns);
	bool in_run = b == h->run_b && h->run_room != 0;
	if (h->sub && b < h->n_buckets && !in_run)
		__builtin_prefetch(&h->sub[b], 1);
}
/* Quantile f in [0, 1] of one kind, in seconds (see above); NaN with no
 * delay of that kind or when saturated. */
double dh_quantile(const dh_hist *h, st_delay_kind kind, double f);
/* out[i] = dh_quantile(h, kind, f[i]) for i < n, in one walk of the
 * buckets when f is ascending (O(buckets + n)). */
void dh_quantiles(const dh_hist *h, st_delay_kind kind, const double *f, size_t n, double *out);
void dh_free(dh_hist *h, const sim_alloc *a);

#endif
