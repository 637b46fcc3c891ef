/* stats.h - statistics of one replication (exact delay quantiles, per-minute
 * throughput) and across replications (mean with a Student-t 95% interval,
 * paired differences between variants run with the same seeds), plus the
 * Erlang B formula the model tests check against.
 *
 * Delay samples.  st_delays keeps every sample (int64 ns, 8 bytes each:
 * the whole memory cost of exact quantiles) in one growing array.  At the
 * end of a replication st_delays_fill() sorts it in place (an American
 * flag sort, i.e. an in-place MSD radix sort on the bytes of the key:
 * O(n * k) for k significant bytes, no scratch array, so the 8 bytes per
 * sample budget holds during the sort too) and reads mean, p50, p90, p95,
 * p99 and max.  Quantiles follow GSL's gsl_stats_quantile_from_sorted_data:
 * with h = f * (n - 1), i = floor(h), q = (1 - (h - i)) x[i] + (h - i) x[i+1]
 * (x[n-1] when i = n - 1).  With no samples every figure is NaN.
 *
 * Per-minute counts.  st_min_run counts events in minutes [60k, 60k + 60) s
 * over [0, duration); mean = count / (duration / 60 s), peak = the largest
 * bucket (a last, partial minute is a bucket like the others).
 *
 * Across replications.  A figure that is NaN in a replication (undefined)
 * is left out: the summary is the mean over the n_def replications where it
 * is defined, and its 95% half-width t(0.975, n_def - 1) * s / sqrt(n_def)
 * with the sample standard deviation s (n_def - 1 in the denominator).
 * n_def = 0 gives mean NaN; n_def < 2 gives half NaN (no interval).
 * Paired differences (variant - base, replication by replication, same
 * seeds) use the replications where both are defined.
 *
 * Ownership: st_delays and st_min_run own their arrays (allocated with the
 * allocator given, freed by *_free).  The summary functions allocate
 * nothing.
 * No global state; all functions are reentrant.
 */
#ifndef SIM_STATS_H
#define SIM_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "status.h"

/* ---- sorting and quantiles ------------------------------------------------ */

/* Sorts v[0..n) ascending, in place, allocation-free.  O(n * k), k the
 * number of bytes in which the keys differ (<= 8); stack use ~ 8 * 6 KB.
 * When one value holds most of a sample of 63 keys (delays with fixed
 * connect and submit times), one three-way pass around it first: only
 * the other keys are sorted by bytes. */
void st_sort_i64(int64_t *v, size_t n);

/* The f-quantile (0 <= f <= 1) of sorted v[0..n), interpolated as GSL does,
 * in the units of v.  NaN when n = 0. */
double st_quantile_sorted_i64(const int64_t *v, size_t n, double f);

/* ---- delay samples ---------------------------------------------------------- */

typedef struct st_delays {
	int64_t *v;       /* samples, ns */
	size_t n, cap;
	sim_alloc alloc;
} st_delays;

typedef enum st_delay_kind { ST_SUBMISSION = 0, ST_DELIVERY = 1 } st_delay_kind;

void st_delays_init(st_delays *d, sim_alloc alloc);
/* Appends one sample (ns).  Amortised O(1); SIM_ENOMEM leaves d unchanged. */
int st_delays_add(st_delays *d, int64_t delay_ns);
/* The six figures of a delay distribution, in this order, in seconds. */
enum { ST_DELAY_MEAN = 0, ST_DELAY_P50, ST_DELAY_P90, ST_DELAY_P95, ST_DELAY_P99,
       ST_DELAY_MAX, ST_DELAY_FIGS };
#define ST_NS_PER_S 1000000000LL

/* Sorts the samples and writes mean, p50, p90, p95, p99, max (seconds) into
 * out[ST_DELAY_*]; NaN with no samples.  O(n); may be called again after
 * more samples are added. */
void st_delays_fill(st_delays *d, double out[ST_DELAY_FIGS]);
void st_delays_free(st_delays *d);

/* ---- per-minute counts ------------------------------------------------------ */


/* Running per-minute counts: the mean per minute and the busiest minute
 * (a last, partial minute counts like the others), in O(1) memory per
 * entity instead of one bucket per minute (a simulated
 * day of 1,000 mailboxes x 2 counters was 11 MB of buckets and two cache
 * misses per message).  It relies on time order: every add names the
 * current time `now` (nondecreasing across adds) and an event time t >= now
 * (an acceptance at now, a release at or after now).  A minute before
 * minute(now) can then no longer change, so it is folded into `peak` and
 * forgotten.  Counts of minutes after minute(now) (releases carried into
 * later minutes in delay mode) wait in a ring, allocated on first use and
 * holding one counter per minute of the latest pending release; it stays
 * empty when nothing is carried over.  Memory: 48 bytes + 4 bytes per
 * minute of release backlog. */
typedef struct st_min_run {
	int64_t duration_ns;
	int64_t cur_end_ns;  /* end of the current minute, min((base + 1) min, duration) */
	int64_t base;        /* the current minute's index */
	uint64_t total;      /* events counted (in [0, duration)) */
	uint32_t cur;        /* events in the current minute */
	uint32_t peak;       /* the busiest minute before the current one */
	uint32_t *fut;       /* ring: fut[(head + i) & (cap - 1)] = minute base + 1 + i */
	uint32_t cap, head, len;
} st_min_run;

/* duration_ns > 0, else SIM_EINVAL.  Allocates nothing. */
int st_min_run_init(st_min_run *m, int64_t duration_ns);
/* Counts one event at t_ns, now_ns <= t_ns, now_ns nondecreasing across
 * calls.  SIM_ERANGE outside [0, duration) (not counted); SIM_ENOMEM if a
 * carried-over minute could not be recorded (not counted); SIM_EINVAL if
 * t_ns < now_ns.  O(1) amortised. */
int st_min_run_add_slow(st_min_run *m, const sim_alloc *a, int64_t now_ns, int64_t t_ns);
static inline int st_min_run_add(st_min_run *m, const sim_alloc *a, int64_t now_ns, int64_t t_ns)
{
	/* Fast path: both in the current minute (the usual case). */
	if (now_ns < m->cur_end_ns && t_ns < m->cur_end_ns && t_ns >= now_ns) {
		m->cur++;
		m->total++;
		return SIM_OK;
	}
	/* The next usual case: an event at now in a later minute, with no
	 * minute carried ahead: the current minute is final (folded into
	 * peak) and now's begins with this event.  What the slow path does
	 * then. */
	if (t_ns == now_ns && m->len == 0 && now_ns >= m->cur_end_ns && now_ns < m->duration_ns) {
		const int64_t min_ns = 60 * (int64_t)1000000000;
		int64_t k = now_ns / min_ns;
		if (m->cur > m->peak)
			m->peak = m->cur;
		m->base = k;
		m->cur_end_ns = (k + 1) * min_ns < m->duration_ns ? (k + 1) * min_ns : m->duration_ns;
		m->cur = 1;
		m->total++;
		return SIM_OK;
	}
	return st_min_run_add_slow(m, a, now_ns, t_ns);
}
/* Mean per minute over the run (count / (duration / 60 s)) and the busiest minute. */
void st_min_run_result(const st_min_run *m, double *mean_per_min, double *peak_min);
void st_min_run_free(st_min_run *m, const sim_alloc *a);

/* ---- submission and delivery delays in 8 bytes per message ------------------ */

/* Exact submission- and delivery-delay distributions of one population of
 * accepted messages, keeping at most 8 bytes per accepted message plus 8
 * bytes per message whose delivery differs from its acceptance (delay
 * mode).
 *
 * Each accepted message has a submission delay s (generation to
 * acceptance) and, if released within the run, a delivery delay d >= s.
 * For most messages d == s (released at acceptance).  Kept:
 *   sub      every s (8 B per accepted message), except those equal to
 *            the first s recorded (rep_ns), which are only counted
 *            (n_rep): with fixed connect and submit times nearly every
 *            message has that one delay, and costs no memory;
 *   out      s of each message with d != s or not released (8 B each);
 *   in       d of each released message with d != s (8 B each).
 * The delivery multiset is D = sub - out + in (multiset difference; out is
 * a sub-multiset of sub by construction).  After st_dset_finish sorts the
 * three arrays, the k-th smallest of D is found by bisection on the value:
 * count_le_D(v) = count_le(sub, v) - count_le(out, v) + count_le(in, v),
 * each a binary search, so D is never materialised: O(64 log n) per order
 * statistic.  The sum of D is exact integer arithmetic (128 bits), so its
 * mean is the correctly rounded one, whatever the order of the samples. */
typedef struct st_dset {
	st_delays sub, out, in;
	int64_t rep_ns;      /* the first s recorded (when has_rep) */
	uint64_t n_rep;      /* the s equal to it, none of them in sub */
	bool has_rep;
	bool sorted;
} st_dset;

void st_dset_init(st_dset *d, sim_alloc alloc);
/* Records one accepted message: submission delay sub_ns; released: whether
 * it was released in the run, with delivery delay del_ns.  SIM_ENOMEM
 * leaves d unchanged. */
int st_dset_add_slow(st_dset *d, int64_t sub_ns, bool released, int64_t del_ns);
static inline int st_dset_add(st_dset *d, int64_t sub_ns, bool released, int64_t del_ns)
{
	/* Fast path: delivered at acceptance (the usual case), with the
	 * repeated delay or with room in sub; nothing else changes. */
	if (released && del_ns == sub_ns) {
		if (d->has_rep && sub_ns == d->rep_ns) {
			d->n_rep++;
			return SIM_OK;
		}
		if (d->has_rep && d->sub.n < d->sub.cap) {
			d->sub.v[d->sub.n++] = sub_ns;
			d->sorted = false;
			return SIM_OK;
		}
	}
	return st_dset_add_slow(d, sub_ns, released, del_ns);
}
/* Sorts the arrays (once; further adds unsort them). */
void st_dset_finish(st_dset *d);
/* Number of samples of that kind (delivery: released messages). */
size_t st_dset_n(const st_dset *d, st_delay_kind kind);
/* The k-th smallest (0-based, k < n) after st_dset_finish. */
int64_t st_dset_kth(const st_dset *d, st_delay_kind kind, size_t k);
/* As st_delays_fill (same figures, bit for bit, as sorting the samples of
 * that kind and calling st_delays_fill on them); calls st_dset_finish. */
void st_dset_fill(st_dset *d, st_delay_kind kind, double out[ST_DELAY_FIGS]);
/* The f-quantile of the union of d[0..nd) (each finished), interpolated as
 * GSL's gsl_stats_quantile_from_sorted_data, in ns; NaN with no samples.
 * O(64 x nd x log n). */
double st_dset_union_quantile(const st_dset *d, size_t nd, st_delay_kind kind, double f);
void st_dset_free(st_dset *d);

/* ---- across replications ----------------------------------------------------- */

typedef struct st_summary {
	double mean;   /* over the replications where defined; NaN if none */
	double half;   /* 95% half-width (Student t, n_def - 1 d.o.f.); NaN if n_def < 2 */
	double n_def;  /* replications where the figure is defined */
} st_summary;

/* Summary of x[0..n) (NaN entries left out).  Allocation-free. */
st_summary st_summarize(const double *x, size_t n);

/* Summary of get(ctx, i), i in [0, n) (NaN left out): st_summarize for
 * values read through a callback.  Allocation-free. */
st_summary st_summarize_fn(double (*get)(const void *ctx, size_t i), const void *ctx, size_t n);


/* ---- queueing theory ------------------------------------------------------------ */

/* Erlang B blocking probability for c servers and offered load a (Erlangs),
 * by the recursion B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1)).  O(c).
 * NaN for c < 0 or a < 0. */
double st_erlang_b(int c, double a);

#endif
