/* test_stats.c - sorting, quantiles, per-minute counts, summaries across
 * replications and Erlang B, against GSL, qsort and hand-worked values. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <gsl/gsl_statistics_double.h>

#include "res_summary.h"
#include "stats.h"

/* A small deterministic generator (splitmix64) so tests need no state. */
static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static void check_sort(int64_t *v, size_t n)
{
	int64_t *w = malloc((n ? n : 1) * sizeof *w);
	assert_non_null(w);
	memcpy(w, v, n * sizeof *v);
	qsort(w, n, sizeof *w, cmp_i64);
	st_sort_i64(v, n);
	assert_memory_equal(v, w, n * sizeof *v);
	free(w);
}

static void test_sort_vs_qsort(void **state)
{
	(void)state;
	uint64_t s = 1;
	static const size_t sizes[] = { 0, 1, 2, 3, 47, 48, 49, 255, 256, 1000, 1007, 1008, 4099, 100000 };
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		size_t n = sizes[k];
		int64_t *v = malloc((n ? n : 1) * sizeof *v);
		assert_non_null(v);
		/* full 64-bit range, negatives included */
		for (size_t i = 0; i < n; i++)
			v[i] = (int64_t)splitmix(&s);
		check_sort(v, n);
		/* many duplicates: 16 distinct values */
		for (size_t i = 0; i < n; i++)
			v[i] = (int64_t)(splitmix(&s) % 16) * 1000000007;
		check_sort(v, n);
		/* delays in ns: up to a day, some equal */
		for (size_t i = 0; i < n; i++)
			v[i] = (int64_t)(splitmix(&s) % (86400 * (uint64_t)SCN_NS_PER_S)) / 1000 * 1000;
		check_sort(v, n);
		/* one value in most keys (fixed connect and submit times), the
		 * others on both sides of it: st_sort_i64 partitions around
		 * the value when it holds most of a sample of the keys */
		static const uint64_t pct[] = { 40, 55, 90, 99 };
		for (size_t p = 0; p < sizeof pct / sizeof pct[0]; p++) {
			for (size_t i = 0; i < n; i++)
				v[i] = splitmix(&s) % 100 < pct[p] ? 500000000
								   : (int64_t)(splitmix(&s) % 1000000000) - 200000000;
			check_sort(v, n);
		}
		/* all equal, then sorted, then reversed, extremes */
		for (size_t i = 0; i < n; i++)
			v[i] = 42;
		check_sort(v, n);
		for (size_t i = 0; i < n; i++)
			v[i] = (int64_t)(n - i) * 3 - 7;
		check_sort(v, n);
		if (n >= 2) {
			v[0] = INT64_MIN;
			v[n - 1] = INT64_MAX;
		}
		check_sort(v, n);
		free(v);
	}
}

static void test_quantiles_vs_gsl(void **state)
{
	(void)state;
	uint64_t s = 7;
	static const size_t sizes[] = { 1, 2, 3, 10, 101, 5000 };
	static const double fs[] = { 0, 0.01, 0.5, 0.9, 0.95, 0.99, 0.999, 1 };
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		size_t n = sizes[k];
		int64_t *v = malloc(n * sizeof *v);
		double *d = malloc(n * sizeof *d);
		assert_non_null(v);
		assert_non_null(d);
		for (size_t i = 0; i < n; i++)
			v[i] = (int64_t)(splitmix(&s) % (3600 * (uint64_t)SCN_NS_PER_S));
		st_sort_i64(v, n);
		for (size_t i = 0; i < n; i++)
			d[i] = (double)v[i]; /* exact: < 2^53 */
		for (size_t j = 0; j < sizeof fs / sizeof fs[0]; j++) {
			double want = gsl_stats_quantile_from_sorted_data(d, 1, n, fs[j]);
			double got = st_quantile_sorted_i64(v, n, fs[j]);
			assert_true(got == want);
		}
		free(v);
		free(d);
	}
	assert_true(isnan(st_quantile_sorted_i64(NULL, 0, 0.5)));
}

static void test_delays_fill(void **state)
{
	(void)state;
	st_delays d;
	st_delays_init(&d, sim_alloc_std);
	double fig[FIG_COUNT];
	for (int i = 0; i < FIG_COUNT; i++)
		fig[i] = -1;
	st_delays_fill(&d, &fig[FIG_SUB_DELAY_MEAN]);
	for (int i = FIG_SUB_DELAY_MEAN; i <= FIG_SUB_DELAY_MAX; i++)
		assert_true(isnan(fig[i]));
	assert_true(fig[FIG_DEL_DELAY_MEAN] == -1); /* the other kind untouched */

	/* 1..5 s, added in reverse: mean 3, p50 3, p90 at h = 3.6 -> 4.6,
	 * p95 at h = 3.8 -> 4.8, p99 at h = 3.96 -> 4.96, max 5 */
	for (int64_t i = 5; i >= 1; i--)
		assert_int_equal(st_delays_add(&d, i * SCN_NS_PER_S), SIM_OK);
	st_delays_fill(&d, &fig[FIG_DEL_DELAY_MEAN]);
	assert_true(fabs(fig[FIG_DEL_DELAY_MEAN] - 3) < 1e-12);
	assert_true(fabs(fig[FIG_DEL_DELAY_P50] - 3) < 1e-12);
	assert_true(fabs(fig[FIG_DEL_DELAY_P90] - 4.6) < 1e-12);
	assert_true(fabs(fig[FIG_DEL_DELAY_P95] - 4.8) < 1e-12);
	assert_true(fabs(fig[FIG_DEL_DELAY_P99] - 4.96) < 1e-12);
	assert_true(fig[FIG_DEL_DELAY_MAX] == 5);
	st_delays_free(&d);

	/* growth survives many samples; mean of 0..n-1 ns is (n-1)/2 */
	st_delays_init(&d, sim_alloc_std);
	size_t n = 300000;
	for (size_t i = 0; i < n; i++)
		assert_int_equal(st_delays_add(&d, (int64_t)((i * 7919) % n)), SIM_OK);
	st_delays_fill(&d, &fig[FIG_SUB_DELAY_MEAN]);
	assert_true(fabs(fig[FIG_SUB_DELAY_MEAN] - (double)(n - 1) / 2 / 1e9) < 1e-15);
	assert_true(fig[FIG_SUB_DELAY_MAX] == (double)(n - 1) / 1e9);
	st_delays_free(&d);
}

/* st_dset keeps the first submission delay only as a count (rep_ns,
 * n_rep).  By hand: 2, 2, 2, 1, 3, 2 s, all delivered at acceptance:
 * sorted 1 2 2 2 2 3, mean 2, p50 at h = 2.5 -> 2, p90 at h = 4.5 ->
 * 2.5, p95 at h = 4.75 -> 2.75, p99 at h = 4.95 -> 2.95, max 3; only 1
 * and 3 are kept.  Then one more of 2 s delivered at 10 s: submission
 * 1 2 2 2 2 2 3, delivery 1 2 2 2 2 3 10 (mean 22/7, p50 2, max 10). */
static void test_dset_repeated(void **state)
{
	(void)state;
	const int64_t S = SCN_NS_PER_S;
	st_dset d;
	st_dset_init(&d, sim_alloc_std);
	static const int64_t subs[6] = { 2, 2, 2, 1, 3, 2 };
	for (int i = 0; i < 6; i++)
		assert_int_equal(st_dset_add(&d, subs[i] * S, true, subs[i] * S), SIM_OK);
	assert_int_equal(d.sub.n, 2);
	assert_int_equal(d.n_rep, 4);
	double f[ST_DELAY_FIGS];
	st_dset_fill(&d, ST_SUBMISSION, f);
	assert_true(f[0] == 2 && f[1] == 2 && f[5] == 3);
	assert_true(fabs(f[2] - 2.5) < 1e-12 && fabs(f[3] - 2.75) < 1e-12 && fabs(f[4] - 2.95) < 1e-12);
	static const int64_t kth[6] = { 1, 2, 2, 2, 2, 3 };
	for (size_t k = 0; k < 6; k++)
		assert_int_equal(st_dset_kth(&d, ST_SUBMISSION, k), kth[k] * S);
	assert_int_equal(st_dset_add(&d, 2 * S, true, 10 * S), SIM_OK);
	assert_int_equal(st_dset_n(&d, ST_SUBMISSION), 7);
	assert_int_equal(st_dset_n(&d, ST_DELIVERY), 7);
	st_dset_fill(&d, ST_DELIVERY, f);
	assert_true(fabs(f[0] - 22.0 / 7) < 1e-12 && f[1] == 2 && f[5] == 10);
	st_dset_fill(&d, ST_SUBMISSION, f);
	assert_true(fabs(f[0] - 14.0 / 7) < 1e-12 && f[5] == 3);
	st_dset_free(&d);

	/* Against st_delays_fill on the samples themselves (the contract:
	 * the same figures bit for bit): mostly one value, some delivered
	 * later, some never; and the union of two sets against one sort. */
	uint64_t s = 3;
	st_dset two[2];
	st_delays all_sub, all_del;
	st_delays_init(&all_sub, sim_alloc_std);
	st_delays_init(&all_del, sim_alloc_std);
	for (int g = 0; g < 2; g++) {
		st_dset_init(&two[g], sim_alloc_std);
		st_delays sub, del;
		st_delays_init(&sub, sim_alloc_std);
		st_delays_init(&del, sim_alloc_std);
		for (int i = 0; i < 20000; i++) {
			uint64_t r = splitmix(&s) % 100;
			int64_t x = r < 90 ? (g + 1) * 500000000LL : (int64_t)(splitmix(&s) % (3 * (uint64_t)S));
			bool released = r != 99;
			int64_t y = r >= 97 ? x + (int64_t)(splitmix(&s) % (uint64_t)S) : x;
			assert_int_equal(st_dset_add(&two[g], x, released, y), SIM_OK);
			assert_int_equal(st_delays_add(&sub, x), SIM_OK);
			assert_int_equal(st_delays_add(&all_sub, x), SIM_OK);
			if (released) {
				assert_int_equal(st_delays_add(&del, y), SIM_OK);
				assert_int_equal(st_delays_add(&all_del, y), SIM_OK);
			}
		}
		assert_true(two[g].sub.n < 20000 / 5); /* the repeated ones not kept */
		double got[ST_DELAY_FIGS], want[ST_DELAY_FIGS];
		st_dset_fill(&two[g], ST_SUBMISSION, got);
		st_delays_fill(&sub, want);
		assert_memory_equal(got, want, sizeof got);
		st_dset_fill(&two[g], ST_DELIVERY, got);
		st_delays_fill(&del, want);
		assert_memory_equal(got, want, sizeof got);
		for (size_t k = 0; k < sub.n; k += 997)
			assert_true(st_dset_kth(&two[g], ST_SUBMISSION, k) == sub.v[k]);
		st_delays_free(&sub);
		st_delays_free(&del);
	}
	st_sort_i64(all_sub.v, all_sub.n);
	st_sort_i64(all_del.v, all_del.n);
	static const double qs[5] = { 0.0, 0.5, 0.9, 0.99, 1.0 };
	for (int i = 0; i < 5; i++) {
		assert_true(st_dset_union_quantile(two, 2, ST_SUBMISSION, qs[i]) ==
			    st_quantile_sorted_i64(all_sub.v, all_sub.n, qs[i]));
		assert_true(st_dset_union_quantile(two, 2, ST_DELIVERY, qs[i]) ==
			    st_quantile_sorted_i64(all_del.v, all_del.n, qs[i]));
	}
	st_dset_free(&two[0]);
	st_dset_free(&two[1]);
	st_delays_free(&all_sub);
	st_delays_free(&all_del);
}

static void test_delays_enomem(void **state)
{
	(void)state;
	sim_alloc_failing fs = { .fail_at = 2 };
	st_delays d;
	st_delays_init(&d, sim_alloc_failing_make(&fs));
	int rc = SIM_OK;
	size_t added = 0;
	while ((rc = st_delays_add(&d, 1)) == SIM_OK)
		added++;
	assert_int_equal(rc, SIM_ENOMEM);
	assert_int_equal(d.n, added); /* unchanged by the failure */
	st_delays_free(&d);
	assert_int_equal(fs.live, 0);
}

/* Running per-minute counts: the busiest minute and the mean, with
 * releases carried into later minutes (t > now) as in delay mode. */
static void test_per_minute(void **state)
{
	(void)state;
	st_min_run m;
	assert_int_equal(st_min_run_init(&m, 0), SIM_EINVAL);
	/* 2.5 minutes: minutes [0,60) [60,120) [120,150) */
	assert_int_equal(st_min_run_init(&m, 150 * SCN_NS_PER_S), SIM_OK);
	const sim_alloc *a = &sim_alloc_std;
	assert_int_equal(st_min_run_add(&m, a, 0, 0), SIM_OK);
	assert_int_equal(st_min_run_add(&m, a, 0, 125 * SCN_NS_PER_S), SIM_OK); /* carried to minute 2 */
	assert_int_equal(st_min_run_add(&m, a, 60 * SCN_NS_PER_S - 1, 60 * SCN_NS_PER_S - 1), SIM_OK);
	assert_int_equal(st_min_run_add(&m, a, 60 * SCN_NS_PER_S, 60 * SCN_NS_PER_S), SIM_OK); /* next */
	assert_int_equal(st_min_run_add(&m, a, 121 * SCN_NS_PER_S, 121 * SCN_NS_PER_S), SIM_OK);
	assert_int_equal(st_min_run_add(&m, a, 122 * SCN_NS_PER_S, 122 * SCN_NS_PER_S), SIM_OK);
	assert_int_equal(st_min_run_add(&m, a, 123 * SCN_NS_PER_S, 150 * SCN_NS_PER_S), SIM_ERANGE); /* end excluded */
	assert_int_equal(st_min_run_add(&m, a, 123 * SCN_NS_PER_S, 122 * SCN_NS_PER_S), SIM_EINVAL); /* t < now */
	double mean, peak;
	st_min_run_result(&m, &mean, &peak);
	/* minutes hold 2, 1 and 3 (121 s, 122 s and the carried 125 s): 6 in 2.5 min */
	assert_true(fabs(mean - 6 / 2.5) < 1e-12);
	assert_true(peak == 3);
	st_min_run_free(&m, a);

	/* Nothing carried ahead (every event at its instant): minutes 0, 0,
	 * then 2 (minute 1 empty), 2, 2, then 3 up to the end at 200 s (the
	 * last, partial minute [180, 200) s): buckets 2, 0, 3, 1, so peak 3
	 * and 6 events in 10/3 minutes; its minute's end is the run's. */
	assert_int_equal(st_min_run_init(&m, 200 * SCN_NS_PER_S), SIM_OK);
	static const int64_t at_s[6] = { 1, 59, 120, 150, 179, 199 };
	for (int i = 0; i < 6; i++)
		assert_int_equal(st_min_run_add(&m, a, at_s[i] * SCN_NS_PER_S, at_s[i] * SCN_NS_PER_S), SIM_OK);
	assert_int_equal(m.base, 3);
	assert_int_equal(m.cur_end_ns, 200 * SCN_NS_PER_S);
	assert_int_equal(st_min_run_add(&m, a, 200 * SCN_NS_PER_S, 200 * SCN_NS_PER_S), SIM_ERANGE);
	st_min_run_result(&m, &mean, &peak);
	assert_true(fabs(mean - 6 / (200.0 / 60)) < 1e-12);
	assert_true(peak == 3);
	st_min_run_free(&m, a);
}

static void test_summary_t_half_width(void **state)
{
	(void)state;
	/* {1,2,3,4,5}: mean 3; squared deviations 4+1+0+1+4 = 10, s^2 = 10/4,
	 * s = 1.5811388; t(0.975, 4) = 2.7764451; half = 2.7764451 * 1.5811388
	 * / sqrt(5) = 2.7764451 * 0.7071068 = 1.9632432 */
	double x[] = { 1, 2, 3, 4, 5 };
	st_summary s = st_summarize(x, 5);
	assert_true(s.mean == 3);
	assert_true(s.n_def == 5);
	assert_true(fabs(s.half - 1.9632432) < 1e-6);

	/* NaN replications are left out: {1, NaN, 3} -> mean 2 over 2;
	 * s = sqrt(2), t(0.975, 1) = 12.706205, half = 12.706205 * sqrt(2) / sqrt(2) */
	double y[] = { 1, NAN, 3 };
	s = st_summarize(y, 3);
	assert_true(s.mean == 2);
	assert_true(s.n_def == 2);
	assert_true(fabs(s.half - 12.706205) < 1e-5);

	double one[] = { NAN, 7 };
	s = st_summarize(one, 2);
	assert_true(s.mean == 7 && s.n_def == 1 && isnan(s.half));
	double none[] = { NAN, NAN };
	s = st_summarize(none, 2);
	assert_true(isnan(s.mean) && s.n_def == 0 && isnan(s.half));
	double same[] = { 4, 4, 4 };
	s = st_summarize(same, 3);
	assert_true(s.mean == 4 && s.half == 0);
}

static void test_summaries_of_reps(void **state)
{
	(void)state;
	res_rep base[5], var[5];
	res_entity bg[5][2], vg[5][2];
	memset(base, 0, sizeof base);
	memset(var, 0, sizeof var);
	memset(bg, 0, sizeof bg);
	memset(vg, 0, sizeof vg);
	for (int r = 0; r < 5; r++) {
		base[r].seed = var[r].seed = 100 + (uint64_t)r;
		base[r].groups = bg[r];
		var[r].groups = vg[r];
		base[r].n_groups = var[r].n_groups = 2;
		base[r].total.fig[FIG_ACCEPTED] = 10 + r;      /* 10..14 */
		var[r].total.fig[FIG_ACCEPTED] = 10 + 2 * r;   /* 10..18: diff 0..4 */
		base[r].total.fig[FIG_SUB_DELAY_P95] = r == 0 ? NAN : 1.0;
		var[r].total.fig[FIG_SUB_DELAY_P95] = r == 1 ? NAN : 3.0;
		bg[r][1].rejected_by[RC_CONCURRENCY] = (uint64_t)r + 1; /* 1..5 */
	}
	st_summary s = res_summarize_value(base, 5, RES_TOTAL, 0, RES_FIG, FIG_ACCEPTED);
	assert_true(s.mean == 12);
	assert_true(fabs(s.half - 1.9632432) < 1e-6);
	assert_true(res_summarize_value(base, 5, RES_TOTAL, 0, RES_FIG, FIG_SUB_DELAY_P95).n_def == 4);
	s = res_summarize_value(base, 5, RES_GROUP, 1, RES_REJECTED_BY, RC_CONCURRENCY);
	assert_true(s.mean == 3);
	assert_true(fabs(s.half - 1.9632432) < 1e-6);
	/* a group past the last is undefined in every replication */
	assert_true(res_summarize_value(base, 5, RES_GROUP, 2, RES_FIG, FIG_ACCEPTED).n_def == 0);

	/* paired: differences 0,1,2,3,4 -> mean 2, same half-width as {1..5} */
	s = res_paired_value(var, base, 5, RES_TOTAL, 0, RES_FIG, FIG_ACCEPTED);
	assert_true(s.mean == 2);
	assert_true(fabs(s.half - 1.9632432) < 1e-6);
	/* p95 defined in both only for r = 2, 3, 4: difference 2, no spread */
	s = res_paired_value(var, base, 5, RES_TOTAL, 0, RES_FIG, FIG_SUB_DELAY_P95);
	assert_true(s.n_def == 3);
	assert_true(s.mean == 2);
	assert_true(s.half == 0);
}

static void test_erlang_b(void **state)
{
	(void)state;
	/* c = 1: B = a / (1 + a) */
	for (double a = 0; a < 10; a += 0.7)
		assert_true(fabs(st_erlang_b(1, a) - a / (1 + a)) < 1e-15);
	/* c = 3, a = 2: B = (a^3/3!) / (1 + a + a^2/2 + a^3/6)
	 *            = (8/6) / (1 + 2 + 2 + 8/6) = (4/3) / (19/3) = 4/19 */
	assert_true(fabs(st_erlang_b(3, 2) - 4.0 / 19.0) < 1e-15);
	/* c = 2, a = 1: (1/2) / (1 + 1 + 1/2) = 1/5 */
	assert_true(fabs(st_erlang_b(2, 1) - 0.2) < 1e-15);
	assert_true(st_erlang_b(0, 5) == 1);
	assert_true(st_erlang_b(4, 0) == 0);
	assert_true(isnan(st_erlang_b(-1, 1)));
	assert_true(isnan(st_erlang_b(1, -1)));
	/* large c stays finite and in [0, 1] */
	double b = st_erlang_b(1000, 950);
	assert_true(b > 0 && b < 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sort_vs_qsort),
		cmocka_unit_test(test_quantiles_vs_gsl),
		cmocka_unit_test(test_delays_fill),
		cmocka_unit_test(test_dset_repeated),
		cmocka_unit_test(test_delays_enomem),
		cmocka_unit_test(test_per_minute),
		cmocka_unit_test(test_summary_t_half_width),
		cmocka_unit_test(test_summaries_of_reps),
		cmocka_unit_test(test_erlang_b),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
