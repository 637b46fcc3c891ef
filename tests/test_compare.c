/* test_compare.c - variants share random numbers, so the paired interval
 * of a difference is narrower than the interval two independent
 * comparisons would give.  Shown on a shipped scenario, printers.yaml:
 * every variant generates exactly the base's messages in every
 * replication (the arrival streams are common), and each pair of
 * mitigations is compared on the figures where they differ.  The base is
 * not paired with them on accepted: with the 432 at the end of data its
 * one mailbox is saturated, so what it accepts is set by the mailbox's
 * capacity, not by the arrivals it shares (correlation about 0 over the
 * replications), and there is no shared variance to remove.
 *
 * The unpaired half-width of a difference of two means over R
 * replications each is t(0.975, 2R-2) * sqrt(s_b^2/R + s_v^2/R) (equal
 * sample sizes, pooled degrees of freedom); the paired one is
 * t(0.975, R-1) * s_d / sqrt(R) with s_d the standard deviation of the
 * per-replication differences.  With positively correlated replications
 * (common random numbers) s_d^2 = s_b^2 + s_v^2 - 2 cov < s_b^2 + s_v^2.
 * Where one side does not vary at all (a variant that loses nothing has
 * lost = 0 in every replication) there is no covariance to exploit, and the
 * paired interval is a little wider for its fewer degrees of freedom; such
 * figures would show nothing, so the test uses accepted, which varies on
 * both sides in every variant. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_statistics_double.h>

#include "run.h"
#include "scn_load.h"
#include "res_summary.h"
#include "stats.h"

#define R 8

static double variance(const res_rep *a, int fig)
{
	double x[R];
	for (int i = 0; i < R; i++)
		x[i] = a[i].total.fig[fig];
	return gsl_stats_variance(x, 1, R);
}

static double unpaired_half(const res_rep *a, const res_rep *b, int fig)
{
	double x[R], y[R];
	for (int i = 0; i < R; i++) {
		x[i] = a[i].total.fig[fig];
		y[i] = b[i].total.fig[fig];
	}
	double vx = gsl_stats_variance(x, 1, R), vy = gsl_stats_variance(y, 1, R);
	return gsl_cdf_tdist_Pinv(0.975, 2 * R - 2) * sqrt(vx / R + vy / R);
}

static void test_paired_narrower(void **state)
{
	(void)state;
	scenario **v;
	size_t n;
	scn_errors errs = { 0 };
	assert_int_equal(scn_load("scenarios/printers.yaml", &sim_alloc_std, &v, &n, &errs), SIM_OK);
	scn_errors_free(&errs);
	assert_true(n >= 2);
	res_rep *reps = test_calloc(n * R, sizeof *reps);
	for (size_t k = 0; k < n; k++) {
		v[k]->duration_ns = 12LL * 3600 * SCN_NS_PER_S; /* the morning peak is inside */
		for (int r = 0; r < R; r++) {
			char err[256];
			assert_int_equal(run_replication(v[k], r, EVS_CALENDAR, &sim_alloc_std,
							 &reps[k * R + r], err, sizeof err), SIM_OK);
		}
	}
	/* common arrivals: the same messages in every variant, exactly */
	for (size_t k = 1; k < n; k++)
		for (int r = 0; r < R; r++)
			assert_true(reps[k * R + r].total.fig[FIG_GENERATED] == reps[r].total.fig[FIG_GENERATED]);
	const int figs[] = { FIG_ACCEPTED };
	int compared = 0;
	for (size_t b = 1; b < n; b++)
	for (size_t k = b + 1; k < n; k++) {
		for (size_t j = 0; j < sizeof figs / sizeof figs[0]; j++) {
			res_rep *base = &reps[b * R];
			st_summary d = res_paired_value(&reps[k * R], base, R, RES_TOTAL, 0, RES_FIG, figs[j]);
			double un = unpaired_half(base, &reps[k * R], figs[j]);
			if (isnan(d.half) || isnan(un) || d.mean == 0 ||
			    !(variance(base, figs[j]) > 0) || !(variance(&reps[k * R], figs[j]) > 0)) {
				continue; /* the same in every replication, or one side constant */
			}
			print_message("%s - %s, %s: paired half-width %g, unpaired %g\n", v[k]->variant,
				      v[b]->variant, res_fig_info[figs[j]].name, d.half, un);
			if (!(d.half < un))
				print_error("%s - %s, %s: paired %g, unpaired %g\n", v[k]->variant,
					    v[b]->variant, res_fig_info[figs[j]].name, d.half, un);
			assert_true(d.half < un);
			compared++;
		}
	}
	/* at least one pair of mitigations differs in accepted */
	assert_true(n >= 3);
	assert_true(compared >= 1);
	for (size_t i = 0; i < n * R; i++)
		res_rep_free(&reps[i]);
	test_free(reps);
	scn_free_all(v, n, &sim_alloc_std);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paired_narrower),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
