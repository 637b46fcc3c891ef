/* test_cli_format.c - numbers as the command line prints them: CSV and
 * JSON give each double as the shortest text that reads back as the same
 * double (5803.1, not 5803.1000000000004), whole numbers as integers; the
 * table shows a half-width below its mean's printed step as 0 (never
 * "± 1e-17"); the table's header states the simulated length and what a
 * count covers.  Hand-built results (no simulation). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report.h"
#include "report_int.h"
#include "results.h"
#include "scenario.h"
#include "stats.h"
#include "status.h"

static void assert_shortest(double x, const char *want)
{
	char buf[32];
	rpt__shortest(x, buf, sizeof buf);
	if (strcmp(buf, want) != 0)
		print_error("%.17g: got '%s', want '%s'\n", x, buf, want);
	assert_string_equal(buf, want);
	assert_true(strtod(buf, NULL) == x || (isnan(x) && isnan(strtod(buf, NULL))));
}

/* The expected texts are the shortest decimal forms of these doubles
 * (the forms every shortest-round-trip printer, e.g. Python's repr,
 * gives); integers print as integers. */
static void test_shortest(void **state)
{
	(void)state;
	volatile double tenth = 0.1, fifth = 0.2;
	assert_shortest(5803.1, "5803.1");                  /* %.17g: 5803.1000000000004 */
	assert_shortest(tenth + fifth, "0.30000000000000004"); /* not 0.3: needs 17 digits */
	assert_shortest(0.3, "0.3");
	assert_shortest(1e-17, "1e-17");
	assert_shortest(1.0 / 3.0, "0.3333333333333333");   /* 16 digits */
	assert_shortest(2.0 / 3.0, "0.6666666666666666");
	assert_shortest(400, "400");
	assert_shortest(0, "0");
	assert_shortest(-12, "-12");
	assert_shortest(1e16, "10000000000000000");         /* %.15g would say 1e+16 */
	assert_shortest(9007199254740993.0, "9007199254740992"); /* 2^53 + 1 is not a double */
	assert_shortest(1e17, "1e+17");
	assert_shortest(24.5, "24.5");
}

/* ---- a hand-built run: one variant, total only ----------------------- */

#define MAX_REPS 3

typedef struct fixture {
	res_desc desc;
	res_rep reps[MAX_REPS];
	rpt_variant variant;
	rpt_run run;
} fixture;

/* Every figure NaN (not defined) but those the test sets; gen[r],
 * acc[r], lost[r] and pend[r] for replication r. */
static void make(fixture *fx, size_t n, const double *gen, const double *acc, const double *lost,
                 const double *pend, int64_t duration_ns)
{
	memset(fx, 0, sizeof *fx);
	snprintf(fx->desc.scenario, sizeof fx->desc.scenario, "fmt");
	snprintf(fx->desc.variant, sizeof fx->desc.variant, "base");
	fx->desc.duration_ns = duration_ns;
	fx->desc.sweep_point = -1;
	for (size_t r = 0; r < n; r++) {
		res_rep *rep = &fx->reps[r];
		rep->seed = 7 + r;
		rep->replication = (int64_t)r;
		for (int f = 0; f < FIG_COUNT; f++)
			rep->total.fig[f] = NAN;
		rep->total.fig[FIG_GENERATED] = gen[r];
		rep->total.fig[FIG_ACCEPTED] = acc[r];
		rep->total.fig[FIG_LOST] = lost[r];
		rep->total.fig[FIG_PENDING] = pend[r];
	}
	fx->variant = (rpt_variant){ "base", &fx->desc, fx->reps, n };
	fx->run = (rpt_run){ .scenario_name = "fmt", .seed = 7, .version = "t", .variants = &fx->variant,
	                     .n_variants = 1 };
}

static char *capture(int (*writer)(FILE *, const rpt_run *), const rpt_run *run)
{
	FILE *f = tmpfile();
	assert_non_null(f);
	assert_int_equal(writer(f, run), SIM_OK);
	long n = ftell(f);
	rewind(f);
	char *buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static void assert_has(const char *text, const char *want)
{
	if (strstr(text, want) == NULL)
		print_error("missing '%s' in:\n%s\n", want, text);
	assert_non_null(strstr(text, want));
}

/* Two replications that agree exactly: the mean is the value itself (a
 * sum of two equal doubles and its half are exact) and the half-width 0.
 * CSV and JSON print 5803.1, 0.30000000000000004 and 400 as such. */
static void test_csv_json_numbers(void **state)
{
	(void)state;
	volatile double tenth = 0.1, fifth = 0.2;
	double noisy = tenth + fifth;
	double gen[2] = { 5803.1, 5803.1 }, acc[2] = { noisy, noisy }, lost[2] = { 400, 400 },
	       pend[2] = { 1, 2 };
	fixture fx;
	make(&fx, 2, gen, acc, lost, pend, 86400LL * 1000000000LL);
	char *csv = capture(rpt_csv, &fx.run);
	assert_has(csv, "\nbase,total,total,generated,msgs,5803.1,0,2,5803.1,5803.1\n");
	assert_has(csv, "\nbase,total,total,accepted,msgs,0.30000000000000004,0,2,"
	                "0.30000000000000004,0.30000000000000004\n");
	assert_has(csv, "\nbase,total,total,lost,msgs,400,0,2,400,400\n");
	/* 1 and 2: mean 1.5, half t(0.975, 1) * sd / sqrt 2 = 12.706204736174698 * 0.5
	 * (sd = sqrt(0.5), so sd / sqrt 2 = 0.5 exactly) */
	char want[128];
	double half = 12.706204736174707 * 0.5;
	st_summary s = st_summarize(pend, 2);
	assert_true(fabs(s.half - half) < 1e-9);
	char h[32];
	rpt__shortest(s.half, h, sizeof h);
	snprintf(want, sizeof want, "\nbase,total,total,pending,msgs,1.5,%s,2,1,2\n", h);
	assert_has(csv, want);
	assert_null(strstr(csv, "5803.1000"));   /* %.17g's form of the same double */
	free(csv);
	char *json = capture(rpt_json, &fx.run);
	assert_has(json, "\"generated\": {\"mean\": 5803.1, \"half\": 0, \"n\": 2, \"values\": [5803.1, 5803.1]}");
	assert_has(json, "\"lost\": {\"mean\": 400, \"half\": 0, \"n\": 2, \"values\": [400, 400]}");
	assert_has(json, "\"accepted\": {\"mean\": 0.30000000000000004, \"half\": 0,");
	free(json);
}

/* Three replications of 0.1 (and of 5803.1): the mean is 0.3 / 3 in
 * floating point, an ulp away from 0.1, so the half-width is rounding
 * noise of about 1e-17, not 0 (checked first, so the case is real).  The
 * table shows it as 0.  A real interval (1, 2, 3: mean 2, half
 * t(0.975, 2) * 1 / sqrt 3 = 4.302653 / 1.732051 = 2.484) is kept. */
static void test_table_half_noise(void **state)
{
	(void)state;
	double gen[3] = { 0.1, 0.1, 0.1 }, acc[3] = { 5803.1, 5803.1, 5803.1 }, lost[3] = { 0, 0, 0 },
	       pend[3] = { 1, 2, 3 };
	st_summary g = st_summarize(gen, 3), a = st_summarize(acc, 3);
	assert_true(g.half > 0 && g.half < 1e-15);
	assert_true(a.half > 0 && a.half < 1e-11);
	fixture fx;
	make(&fx, 3, gen, acc, lost, pend, 86400LL * 1000000000LL);
	char *t = capture(rpt_table, &fx.run);
	assert_has(t, "generated   0.10 \xc2\xb1 0  ");
	assert_has(t, "accepted    5803 \xc2\xb1 0  ");
	assert_has(t, "lost        0 \xc2\xb1 0\n");
	assert_has(t, "pending     2 \xc2\xb1 2.48");
	assert_null(strstr(t, "e-1"));
	free(t);
	/* CSV keeps the noise: it is the exact mean and half of the data */
	char *csv = capture(rpt_csv, &fx.run);
	char want[128], m[32], h[32];
	rpt__shortest(g.mean, m, sizeof m);
	rpt__shortest(g.half, h, sizeof h);
	snprintf(want, sizeof want, ",generated,msgs,%s,%s,3,0.1,0.1,0.1\n", m, h);
	assert_has(csv, want);
	free(csv);
}

/* The header: "1 day simulated, 3 replications", and what a count is. */
static void test_table_header(void **state)
{
	(void)state;
	double x[3] = { 1, 2, 3 };
	static const struct { int64_t s; const char *head, *counts; } cases[] = {
		{ 86400, "\n== base: 1 day simulated, 3 replications ===",
		  "\n  counts: totals over the 1 day simulated, so per day\n" },
		{ 7 * 86400, "\n== base: 7 days simulated, 3 replications ===",
		  "\n  counts: totals over the 7 days simulated (per day: divide by 7)\n" },
		{ 6 * 3600, "\n== base: 6 hours simulated, 3 replications ===",
		  "\n  counts: totals over the 6 hours simulated, not per day\n" },
		{ 36 * 3600, "\n== base: 36 hours simulated, 3 replications ===",
		  "\n  counts: totals over the 36 hours simulated, not per day\n" },
		{ 90 * 60, "\n== base: 90 minutes simulated, 3 replications ===",
		  "\n  counts: totals over the 90 minutes simulated, not per day\n" },
		{ 45, "\n== base: 45 seconds simulated, 3 replications ===",
		  "\n  counts: totals over the 45 seconds simulated, not per day\n" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		fixture fx;
		make(&fx, 3, x, x, x, x, cases[i].s * 1000000000LL);
		char *t = capture(rpt_table, &fx.run);
		assert_has(t, cases[i].head);
		assert_has(t, cases[i].counts);
		/* the header line is 78 columns, as before */
		const char *h = strstr(t, "\n== base");
		const char *e = strchr(h + 1, '\n');
		assert_int_equal(e - h - 1, 78);
		free(t);
	}
	/* a length not known (0): the header as it always was */
	fixture fx;
	make(&fx, 3, x, x, x, x, 0);
	char *t = capture(rpt_table, &fx.run);
	assert_has(t, "\n== base: 3 replications ===");
	assert_null(strstr(t, "counts:"));
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shortest),
		cmocka_unit_test(test_csv_json_numbers),
		cmocka_unit_test(test_table_half_noise),
		cmocka_unit_test(test_table_header),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
