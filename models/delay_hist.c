/* delay_hist.c - a mailbox's delays in fixed-size histograms (see
 * delay_hist.h for the buckets, the quantile and the bounds). */
#include "delay_hist.h"

#include <math.h>
#include <string.h>

#include "check.h"
#include "status.h"

#define NS_PER_MS 1000000

int64_t dh_bucket_end_ns(uint32_t b)
{
	if (b < 32)
		return ((int64_t)b + 1) * NS_PER_MS;
	int e = (int)(b / 16) + 3;
	if (e > 44)
		return INT64_MAX; /* beyond any delay */
	int64_t s = (int64_t)b - 16 * (e - 4); /* in [16, 32) */
	int64_t ms = (s + 1) << (e - 4);
	return ms > INT64_MAX / NS_PER_MS ? INT64_MAX : ms * NS_PER_MS; /* the last bucket, 2^63 ns */
}

uint32_t dh_buckets(int64_t duration_ns)
{
	return duration_ns > 1 ? dh_bucket_of(duration_ns - 1) + 1 : 1;
}

void dh_init(dh_hist *h, int64_t duration_ns)
{
	memset(h, 0, sizeof *h);
	h->n_buckets = dh_buckets(duration_ns);
}

static uint32_t clamp_bucket(const dh_hist *h, int64_t ns)
{
	uint32_t b = dh_bucket_of(ns);
	if (NEVER(b >= h->n_buckets)) /* the contract: delays < the duration */
		b = h->n_buckets - 1;
	return b;
}

/* The run's count into its bucket (which it cannot overflow: dh_hist);
 * the run ends.  The counts the histogram stands for do not change. */
static void run_flush(dh_hist *h)
{
	if (h->run_n)
		h->sub[h->run_b] += h->run_n;
	h->run_n = 0;
	h->run_room = 0;
}

int dh_add_slow(dh_hist *h, const sim_alloc *a, int64_t sub_ns, bool released, int64_t del_ns)
{
	size_t bytes = (size_t)h->n_buckets * sizeof *h->sub;
	run_flush(h);
	if (h->sub == NULL) {
		h->sub = sim_malloc(a, bytes);
		if (h->sub == NULL)
			return SIM_ENOMEM;
		memset(h->sub, 0, bytes);
	}
	if (h->del == NULL && (!released || del_ns != sub_ns)) {
		/* every delivery so far equalled its submission: start from those */
		h->del = sim_malloc(a, bytes);
		if (h->del == NULL)
			return SIM_ENOMEM;
		memcpy(h->del, h->sub, bytes);
	}
	uint32_t bs = clamp_bucket(h, sub_ns);
	uint32_t bd = released ? clamp_bucket(h, del_ns) : 0;
	if (h->sub[bs] == UINT32_MAX || (h->del && released && h->del[bd] == UINT32_MAX)) {
		h->saturated = true;
		return SIM_OK;
	}
	h->sub[bs]++;
	h->n_sub++;
	if (sub_ns > h->max_sub_ns)
		h->max_sub_ns = sub_ns;
	if (released) {
		if (h->del)
			h->del[bd]++;
		h->n_del++;
		if (del_ns > h->max_del_ns)
			h->max_del_ns = del_ns;
	}
	if (h->del == NULL) {
		/* the next delays of this bucket go to a run (the fast path) */
		h->run_b = (uint16_t)bs;
		h->run_room = UINT32_MAX - h->sub[bs];
	}
	return SIM_OK;
}

/* Bucket b's count in c (sub or del): the run's delays are in sub's
 * bucket, which is also the deliveries' while there is no delivery array
 * (and no run once there is one). */
static uint64_t count_at(const dh_hist *h, const uint32_t *c, uint32_t b)
{
	return (uint64_t)c[b] + (c == h->sub && b == h->run_b ? h->run_n : 0);
}

void dh_quantiles(const dh_hist *h, st_delay_kind kind, const double *f, size_t n, double *out)
{
	const uint32_t *c = kind == ST_DELIVERY && h->del ? h->del : h->sub;
	uint64_t nk = kind == ST_DELIVERY ? h->n_del : h->n_sub;
	int64_t max = kind == ST_DELIVERY ? h->max_del_ns : h->max_sub_ns;
	/* the walk so far: cum = the counts of buckets [0, b) */
	uint32_t b = 0;
	uint64_t cum = 0, last_j = 0;
	for (size_t i = 0; i < n; i++) {
		out[i] = NAN;
		if (nk == 0 || c == NULL || h->saturated || !(f[i] >= 0.0 && f[i] <= 1.0))
			continue;
		/* j = ceil(f (n - 1)), a product within rounding of an integer
		 * taken as that integer (0.95 x 20 is 19, not 20) */
		double x = f[i] * (double)(nk - 1), fl = floor(x);
		uint64_t j = (uint64_t)fl + (x - fl > 1e-9 * (1.0 + x) ? 1 : 0);
		if (j < last_j) { /* f not ascending: walk again from the start */
			b = 0;
			cum = 0;
		}
		last_j = j;
		/* the first bucket whose running count exceeds j */
		while (b < h->n_buckets && cum + count_at(h, c, b) <= j)
			cum += count_at(h, c, b++);
		if (b < h->n_buckets) {
			int64_t end = dh_bucket_end_ns(b);
			out[i] = (double)(end < max ? end : max) / 1e9;
		} /* else not reached: the counts add up to nk */
	}
}

double dh_quantile(const dh_hist *h, st_delay_kind kind, double f)
{
	double q;
	dh_quantiles(h, kind, &f, 1, &q);
	return q;
}

void dh_free(dh_hist *h, const sim_alloc *a)
{
	size_t bytes = (size_t)h->n_buckets * sizeof *h->sub;
	sim_free(a, h->sub, bytes);
	sim_free(a, h->del, bytes);
	h->sub = h->del = NULL;
}
