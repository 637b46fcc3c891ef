/* stats.c - delay quantiles, per-minute counts, summaries across
 * replications, Erlang B.  Contracts in stats.h. */
#include "stats.h"

#include <math.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

/* ---- sorting --------------------------------------------------------------- */

/* Below this size a bucket is finished by insertion sort: a radix pass
 * costs 256 counters, more than sorting a few dozen keys directly. */
#define ST_SMALL_SORT 48

static void insertion_sort_u64(uint64_t *a, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		uint64_t v = a[i];
		size_t j = i;
		while (j > 0 && a[j - 1] > v) {
			a[j] = a[j - 1];
			j--;
		}
		a[j] = v;
	}
}

/* American flag sort (McIlroy, Bostic & McIlroy 1993) on the byte at
 * `shift`, then recursion on each bucket with the next lower byte.
 * Recursion depth <= 8. */
static void flag_sort_u64(uint64_t *a, size_t n, int shift)
{
	if (n <= ST_SMALL_SORT) {
		insertion_sort_u64(a, n);
		return;
	}
	/* Skip the bytes in which no key of this bucket differs (delays are
	 * often equal: a bucket of one repeated value ends here at once). */
	uint64_t diff = 0;
	for (size_t i = 1; i < n; i++)
		diff |= a[i] ^ a[0];
	diff &= (UINT64_C(2) << (shift + 7)) - 1; /* bytes shift/8 and below */
	if (diff == 0)
		return;
	while (shift > 0 && ((diff >> shift) & 0xff) == 0)
		shift -= 8;
	size_t count[256] = { 0 };
	for (size_t i = 0; i < n; i++)
		count[(a[i] >> shift) & 0xff]++;
	size_t next[256], end[256];
	size_t pos = 0;
	for (int b = 0; b < 256; b++) {
		next[b] = pos;
		pos += count[b];
		end[b] = pos;
	}
	/* Cycle leader permutation: every key is moved once to its bucket. */
	for (int b = 0; b < 256; b++) {
		while (next[b] < end[b]) {
			uint64_t v = a[next[b]];
			int d = (int)((v >> shift) & 0xff);
			while (d != b) {
				uint64_t t = a[next[d]];
				a[next[d]++] = v;
				v = t;
				d = (int)((v >> shift) & 0xff);
			}
			a[next[b]++] = v;
		}
	}
	if (shift == 0)
		return;
	size_t start = 0;
	for (int b = 0; b < 256; b++) {
		if (count[b] > 1)
			flag_sort_u64(a + start, count[b], shift - 8);
		start += count[b];
	}
}

/* Delays repeat: with fixed connect and submit times nearly every
 * sample of a run can be one value, which the radix passes would walk
 * byte by byte, every key of it at every level.  The value that more
 * than half of 63 evenly spaced keys share, if any; false if none. */
#define ST_SAMPLE 63
static bool dominant_u64(const uint64_t *a, size_t n, uint64_t *x)
{
	uint64_t s[ST_SAMPLE];
	size_t step = n / ST_SAMPLE;
	for (size_t i = 0; i < ST_SAMPLE; i++)
		s[i] = a[i * step];
	insertion_sort_u64(s, ST_SAMPLE);
	/* a value in more than half of a sorted sample is its median */
	uint64_t m = s[ST_SAMPLE / 2];
	size_t k = 0;
	for (size_t i = 0; i < ST_SAMPLE; i++)
		k += s[i] == m;
	*x = m;
	return k > ST_SAMPLE / 2;
}

/* Dijkstra's three-way partition of a[0..n) around x: keys < x first,
 * then those equal (already in order), then those > x; *lt and *gt bound
 * the equal ones.  One pass. */
static void partition3_u64(uint64_t *a, size_t n, uint64_t x, size_t *lt, size_t *gt)
{
	size_t l = 0, i = 0, g = n;
	while (i < g) {
		uint64_t v = a[i];
		if (v < x) {
			a[i++] = a[l];
			a[l++] = v;
		} else if (v > x) {
			a[i] = a[--g];
			a[g] = v;
		} else {
			i++;
		}
	}
	*lt = l;
	*gt = g;
}

void st_sort_i64(int64_t *v, size_t n)
{
	if (n < 2)
		return;
	/* int64_t and uint64_t may alias (signed/unsigned variants of one
	 * type).  Flipping the sign bit maps two's complement order onto
	 * unsigned order. */
	uint64_t *u = (uint64_t *)v;
	const uint64_t sign = UINT64_C(1) << 63;
	uint64_t diff = 0;
	for (size_t i = 0; i < n; i++) {
		u[i] ^= sign;
		diff |= u[i] ^ u[0];
	}
	uint64_t x;
	if (diff != 0 && n >= 16 * ST_SAMPLE && dominant_u64(u, n, &x)) {
		size_t lt, gt;
		partition3_u64(u, n, x, &lt, &gt);
		flag_sort_u64(u, lt, 56);
		flag_sort_u64(u + gt, n - gt, 56);
	} else if (diff != 0) {
		/* Start at the highest byte in which some keys differ: delays
		 * in ns fit in 5-6 bytes, so the upper passes are skipped. */
		int shift = 56;
		while (shift > 0 && ((diff >> shift) & 0xff) == 0)
			shift -= 8;
		flag_sort_u64(u, n, shift);
	}
	for (size_t i = 0; i < n; i++)
		u[i] ^= sign;
}

double st_quantile_sorted_i64(const int64_t *v, size_t n, double f)
{
	if (n == 0)
		return NAN;
	/* The same arithmetic as gsl_stats_quantile_from_sorted_data. */
	const double index = f * (double)(n - 1);
	const size_t lhs = (size_t)index;
	const double delta = index - (double)lhs;
	if (lhs >= n - 1)
		return (double)v[n - 1];
	return (1 - delta) * (double)v[lhs] + delta * (double)v[lhs + 1];
}

/* ---- delay samples ------------------------------------------------------------ */

void st_delays_init(st_delays *d, sim_alloc alloc)
{
	d->v = NULL;
	d->n = 0;
	d->cap = 0;
	d->alloc = alloc;
}

int st_delays_add(st_delays *d, int64_t delay_ns)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap + d->cap / 2 : 1024;
		if (cap > SIZE_MAX / sizeof *d->v)
			return SIM_ENOMEM;
		int64_t *v = sim_realloc(&d->alloc, d->v, d->cap * sizeof *d->v, cap * sizeof *d->v);
		if (v == NULL)
			return SIM_ENOMEM;
		d->v = v;
		d->cap = cap;
	}
	d->v[d->n++] = delay_ns;
	return SIM_OK;
}

static void fill_sorted(const st_delays *d, double *out);

void st_delays_fill(st_delays *d, double out[ST_DELAY_FIGS])
{
	if (d->n == 0) {
		for (int i = 0; i < ST_DELAY_FIGS; i++)
			out[i] = NAN;
		return;
	}
	st_sort_i64(d->v, d->n);
	fill_sorted(d, out);
}

/* The six figures of sorted samples d. */
static void fill_sorted(const st_delays *d, double *out)
{
	const double ns = (double)ST_NS_PER_S;
	/* long double: 3 M delays of days in ns overflow int64 when summed. */
	long double sum = 0;
	for (size_t i = 0; i < d->n; i++)
		sum += d->v[i];
	out[0] = (double)(sum / (long double)d->n) / ns;
	out[1] = st_quantile_sorted_i64(d->v, d->n, 0.50) / ns;
	out[2] = st_quantile_sorted_i64(d->v, d->n, 0.90) / ns;
	out[3] = st_quantile_sorted_i64(d->v, d->n, 0.95) / ns;
	out[4] = st_quantile_sorted_i64(d->v, d->n, 0.99) / ns;
	out[5] = (double)d->v[d->n - 1] / ns;
}

void st_delays_free(st_delays *d)
{
	sim_free(&d->alloc, d->v, d->cap * sizeof *d->v);
	d->v = NULL;
	d->n = 0;
	d->cap = 0;
}

/* ---- delays in 8 bytes per message ---------------------------------------------- */

void st_dset_init(st_dset *d, sim_alloc alloc)
{
	st_delays_init(&d->sub, alloc);
	st_delays_init(&d->out, alloc);
	st_delays_init(&d->in, alloc);
	d->rep_ns = 0;
	d->n_rep = 0;
	d->has_rep = false;
	d->sorted = true;
}

int st_dset_add_slow(st_dset *d, int64_t sub_ns, bool released, int64_t del_ns)
{
	bool moved = !released || del_ns != sub_ns;
	/* the first s recorded is the repeated one */
	bool rep = !d->has_rep || sub_ns == d->rep_ns;
	/* Reserve first, so that SIM_ENOMEM leaves d unchanged. */
	if (!rep && d->sub.n == d->sub.cap) {
		if (st_delays_add(&d->sub, 0) != SIM_OK)
			return SIM_ENOMEM;
		d->sub.n--;
	}
	if (moved && d->out.n == d->out.cap) {
		if (st_delays_add(&d->out, 0) != SIM_OK)
			return SIM_ENOMEM;
		d->out.n--;
	}
	if (moved && released && st_delays_add(&d->in, del_ns) != SIM_OK)
		return SIM_ENOMEM;
	if (rep) {
		d->has_rep = true;
		d->rep_ns = sub_ns;
		d->n_rep++;
	} else {
		d->sub.v[d->sub.n++] = sub_ns;
	}
	if (moved)
		d->out.v[d->out.n++] = sub_ns;
	d->sorted = false;
	return SIM_OK;
}

void st_dset_finish(st_dset *d)
{
	if (d->sorted)
		return;
	st_sort_i64(d->sub.v, d->sub.n);
	st_sort_i64(d->out.v, d->out.n);
	st_sort_i64(d->in.v, d->in.n);
	d->sorted = true;
}

size_t st_dset_n(const st_dset *d, st_delay_kind kind)
{
	size_t n = d->sub.n + (size_t)d->n_rep;
	if (kind == ST_SUBMISSION)
		return n;
	return n - d->out.n + d->in.n;
}

/* Number of elements <= v in sorted a[0..n). */
static size_t count_le(const int64_t *a, size_t n, int64_t v)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (a[mid] <= v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Number of elements < v in sorted a[0..n). */
static size_t count_lt(const int64_t *a, size_t n, int64_t v)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (a[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The k-th smallest submission delay (k < st_dset_n), sub sorted: sub
 * holds none equal to rep_ns, so the repeated ones sit right after the
 * elements of sub below it. */
static int64_t sub_kth(const st_dset *d, size_t k)
{
	if (d->n_rep == 0)
		return d->sub.v[k];
	size_t below = count_lt(d->sub.v, d->sub.n, d->rep_ns);
	if (k < below)
		return d->sub.v[k];
	if (k - below < d->n_rep)
		return d->rep_ns;
	return d->sub.v[k - (size_t)d->n_rep];
}

static size_t dset_count_le(const st_dset *d, st_delay_kind kind, int64_t v)
{
	size_t c = count_le(d->sub.v, d->sub.n, v);
	if (d->n_rep > 0 && d->rep_ns <= v)
		c += (size_t)d->n_rep;
	if (kind == ST_DELIVERY)
		c = c - count_le(d->out.v, d->out.n, v) + count_le(d->in.v, d->in.n, v);
	return c;
}

/* Bounds of the samples of that kind: within [min, max] of sub and in. */
static void dset_range(const st_dset *d, st_delay_kind kind, int64_t *lo, int64_t *hi)
{
	if (d->sub.n) {
		if (d->sub.v[0] < *lo)
			*lo = d->sub.v[0];
		if (d->sub.v[d->sub.n - 1] > *hi)
			*hi = d->sub.v[d->sub.n - 1];
	}
	if (d->n_rep) {
		if (d->rep_ns < *lo)
			*lo = d->rep_ns;
		if (d->rep_ns > *hi)
			*hi = d->rep_ns;
	}
	if (kind == ST_DELIVERY && d->in.n) {
		if (d->in.v[0] < *lo)
			*lo = d->in.v[0];
		if (d->in.v[d->in.n - 1] > *hi)
			*hi = d->in.v[d->in.n - 1];
	}
}

static bool dset_plain(const st_dset *d, st_delay_kind kind)
{
	return kind == ST_SUBMISSION || (d->out.n == 0 && d->in.n == 0);
}

/* The k-th smallest of the union of d[0..nd), by bisection on the value:
 * the smallest v with at least k + 1 samples <= v. */
static int64_t union_kth(const st_dset *d, size_t nd, st_delay_kind kind, size_t k)
{
	if (nd == 1 && dset_plain(d, kind))
		return sub_kth(d, k);
	int64_t lo = INT64_MAX, hi = INT64_MIN;
	for (size_t g = 0; g < nd; g++)
		dset_range(&d[g], kind, &lo, &hi);
	while (lo < hi) {
		int64_t mid = lo + (int64_t)(((uint64_t)hi - (uint64_t)lo) / 2);
		size_t c = 0;
		for (size_t g = 0; g < nd; g++)
			c += dset_count_le(&d[g], kind, mid);
		if (c >= k + 1)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

int64_t st_dset_kth(const st_dset *d, st_delay_kind kind, size_t k)
{
	return union_kth(d, 1, kind, k);
}

double st_dset_union_quantile(const st_dset *d, size_t nd, st_delay_kind kind, double f)
{
	size_t n = 0;
	for (size_t g = 0; g < nd; g++)
		n += st_dset_n(&d[g], kind);
	if (n == 0)
		return NAN;
	/* The same arithmetic as gsl_stats_quantile_from_sorted_data. */
	const double index = f * (double)(n - 1);
	const size_t lhs = (size_t)index;
	const double delta = index - (double)lhs;
	if (lhs >= n - 1)
		return (double)union_kth(d, nd, kind, n - 1);
	return (1 - delta) * (double)union_kth(d, nd, kind, lhs) +
	       delta * (double)union_kth(d, nd, kind, lhs + 1);
}

__extension__ typedef __int128 st_i128;

static st_i128 sum_i64(const int64_t *v, size_t n)
{
	st_i128 s = 0;
	for (size_t i = 0; i < n; i++)
		s += v[i];
	return s;
}

void st_dset_fill(st_dset *d, st_delay_kind kind, double out[ST_DELAY_FIGS])
{
	st_dset_finish(d);
	const double ns = (double)ST_NS_PER_S;
	size_t n = st_dset_n(d, kind);
	if (n == 0) {
		for (int i = 0; i < ST_DELAY_FIGS; i++)
			out[i] = NAN;
		return;
	}
	if (dset_plain(d, kind) && d->n_rep == 0) {
		/* The samples are exactly sub, sorted: st_delays_fill's arithmetic. */
		fill_sorted(&d->sub, out);
		return;
	}
	if (dset_plain(d, kind)) {
		/* The samples are sub and the repeated delay: st_delays_fill's
		 * arithmetic on them in sorted order, the same sums in the same
		 * order (the repeated ones after the elements below them). */
		size_t below = count_lt(d->sub.v, d->sub.n, d->rep_ns);
		long double sum = 0;
		for (size_t i = 0; i < below; i++)
			sum += d->sub.v[i];
		for (uint64_t i = 0; i < d->n_rep; i++)
			sum += d->rep_ns;
		for (size_t i = below; i < d->sub.n; i++)
			sum += d->sub.v[i];
		out[0] = (double)(sum / (long double)n) / ns;
		static const double qs[4] = { 0.50, 0.90, 0.95, 0.99 };
		for (int i = 0; i < 4; i++) {
			/* st_quantile_sorted_i64's arithmetic */
			const double index = qs[i] * (double)(n - 1);
			const size_t lhs = (size_t)index;
			const double delta = index - (double)lhs;
			out[1 + i] = (lhs >= n - 1 ? (double)sub_kth(d, n - 1)
				      : (1 - delta) * (double)sub_kth(d, lhs) + delta * (double)sub_kth(d, lhs + 1)) / ns;
		}
		out[5] = (double)sub_kth(d, n - 1) / ns;
		return;
	}
	/* Exact integer sum, rounded once to long double: equal to
	 * st_delays_fill's long double running sum whenever that one is exact
	 * (every partial sum below 2^64 ns, i.e. always for shipped runs), and
	 * the correctly rounded value otherwise. */
	st_i128 sum = sum_i64(d->sub.v, d->sub.n) + (st_i128)d->rep_ns * (st_i128)d->n_rep -
		      sum_i64(d->out.v, d->out.n) + sum_i64(d->in.v, d->in.n);
	out[0] = (double)((long double)sum / (long double)n) / ns;
	static const double q[4] = { 0.50, 0.90, 0.95, 0.99 };
	for (int i = 0; i < 4; i++)
		out[1 + i] = st_dset_union_quantile(d, 1, kind, q[i]) / ns;
	out[5] = (double)st_dset_kth(d, kind, n - 1) / ns;
}

void st_dset_free(st_dset *d)
{
	st_delays_free(&d->sub);
	st_delays_free(&d->out);
	st_delays_free(&d->in);
}

/* ---- running per-minute counts -------------------------------------------------- */

#define ST_MIN_NS (60 * ST_NS_PER_S)

int st_min_run_init(st_min_run *m, int64_t duration_ns)
{
	if (duration_ns <= 0)
		return SIM_EINVAL;
	memset(m, 0, sizeof *m);
	m->duration_ns = duration_ns;
	m->cur_end_ns = ST_MIN_NS < duration_ns ? ST_MIN_NS : duration_ns;
	return SIM_OK;
}

/* Make the current minute the one holding now (minutes before it are final). */
static void min_run_advance(st_min_run *m, int64_t now_ns)
{
	int64_t k = now_ns / ST_MIN_NS;
	while (m->base < k) {
		if (m->cur > m->peak)
			m->peak = m->cur;
		if (m->len == 0) {
			m->cur = 0;
			m->base = k;
			break;
		}
		m->cur = m->fut[m->head];
		m->fut[m->head] = 0;
		m->head = (m->head + 1) & (m->cap - 1);
		m->len--;
		m->base++;
	}
	m->cur_end_ns = (m->base + 1) * ST_MIN_NS;
	if (m->cur_end_ns > m->duration_ns)
		m->cur_end_ns = m->duration_ns;
}

int st_min_run_add_slow(st_min_run *m, const sim_alloc *a, int64_t now_ns, int64_t t_ns)
{
	if (t_ns < 0 || t_ns >= m->duration_ns)
		return SIM_ERANGE;
	if (t_ns < now_ns)
		return SIM_EINVAL;
	if (now_ns >= m->cur_end_ns)
		min_run_advance(m, now_ns);
	if (t_ns < m->cur_end_ns) { /* cur_end <= duration */
		m->cur++;
		m->total++;
		return SIM_OK;
	}
	/* A later minute: fut[i] is minute base + 1 + i. */
	size_t i = (size_t)(t_ns / ST_MIN_NS - m->base - 1);
	if (i >= m->cap) {
		size_t ncap = m->cap ? m->cap : 8;
		while (ncap <= i)
			ncap *= 2;
		if (ncap > UINT32_MAX)
			return SIM_ENOMEM;
		uint32_t *nf = sim_malloc(a, ncap * sizeof *nf);
		if (nf == NULL)
			return SIM_ENOMEM;
		memset(nf, 0, ncap * sizeof *nf);
		for (size_t j = 0; j < m->len; j++)
			nf[j] = m->fut[(m->head + j) & (m->cap - 1)];
		sim_free(a, m->fut, m->cap * sizeof *m->fut);
		m->fut = nf;
		m->cap = (uint32_t)ncap;
		m->head = 0;
	}
	m->fut[(m->head + i) & (m->cap - 1)]++;
	if (i + 1 > m->len)
		m->len = (uint32_t)(i + 1);
	m->total++;
	return SIM_OK;
}

void st_min_run_result(const st_min_run *m, double *mean_per_min, double *peak_min)
{
	uint32_t peak = m->peak > m->cur ? m->peak : m->cur;
	for (uint32_t j = 0; j < m->len; j++) {
		uint32_t c = m->fut[(m->head + j) & (m->cap - 1)];
		if (c > peak)
			peak = c;
	}
	*mean_per_min = (double)m->total / ((double)m->duration_ns / (double)ST_MIN_NS);
	*peak_min = (double)peak;
}

void st_min_run_free(st_min_run *m, const sim_alloc *a)
{
	sim_free(a, m->fut, m->cap * sizeof *m->fut);
	m->fut = NULL;
	m->cap = m->len = m->head = 0;
}

/* ---- summaries ------------------------------------------------------------------- */

/* Mean and half-width from a value getter, two passes (no cancellation
 * from summing squares). */
typedef double (*value_at)(const void *ctx, size_t i);

st_summary st_summarize_fn(value_at get, const void *ctx, size_t n)
{
	st_summary s = { NAN, NAN, 0 };
	double sum = 0;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		double x = get(ctx, i);
		if (!isnan(x)) {
			sum += x;
			k++;
		}
	}
	s.n_def = (double)k;
	if (k == 0)
		return s;
	s.mean = sum / (double)k;
	if (k < 2)
		return s;
	double ss = 0;
	for (size_t i = 0; i < n; i++) {
		double x = get(ctx, i);
		if (!isnan(x))
			ss += (x - s.mean) * (x - s.mean);
	}
	double sd = sqrt(ss / (double)(k - 1));
	s.half = gsl_cdf_tdist_Pinv(0.975, (double)(k - 1)) * sd / sqrt((double)k);
	return s;
}

static double array_at(const void *ctx, size_t i)
{
	return ((const double *)ctx)[i];
}

st_summary st_summarize(const double *x, size_t n)
{
	return st_summarize_fn(array_at, x, n);
}

double st_erlang_b(int c, double a)
{
	if (c < 0 || !(a >= 0))
		return NAN;
	/* The recursion is numerically stable (every step is in [0, 1]). */
	double b = 1.0;
	for (int k = 1; k <= c; k++)
		b = a * b / ((double)k + a * b);
	return b;
}
