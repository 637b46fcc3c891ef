/* test_arrivals.c - scheduled bursts, a fixed periodic phase and the
 * scenario's timezone, end to end through the loader and a replication.
 *
 * Every scenario here sends without limits and without delay (no rate or
 * concurrency limit, connect and submit times of 0), so a message is
 * accepted at the instant it arrives and the time series' accepted
 * column, one row per step, shows when messages arrived.  Expected rows
 * are worked out by hand from the zone's published rules: Europe/Berlin
 * is UTC+1 until 2026-03-29 01:00 UTC and UTC+2 after (last Sunday of
 * March). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "run.h"
#include "scn_load.h"
#include "status.h"

#define OPEN_LIMITS \
	"limits: {message_rate_limit: off, max_concurrent_connections: off, recipient_rate_limit: off}\n" \
	"mailboxes: [{name: a@contoso.com}]\n"
#define QUICK_SESSION "    session: {connect_time: 0s, submit_time: 0s}\n"

static scenario **load(const char *text, size_t *n)
{
	scenario **v;
	scn_errors errs = { 0 };
	int rc = scn_load_buffer("t.yaml", text, strlen(text), ".", &sim_alloc_std, &v, n, &errs);
	for (size_t i = 0; i < errs.n; i++)
		print_error("%d:%d: %s: %s\n", errs.v[i].line, errs.v[i].column, errs.v[i].key, errs.v[i].message);
	scn_errors_free(&errs);
	assert_int_equal(rc, SIM_OK);
	return v;
}

/* Run the scenario of text; rows[k] = messages accepted in step k. */
static size_t accepted_rows(const char *text, uint32_t *rows, size_t cap, double *generated)
{
	size_t n;
	scenario **v = load(text, &n);
	res_rep r;
	char err[256];
	assert_int_equal(run_replication(v[0], 0, EVS_CALENDAR, &sim_alloc_std, &r, err, sizeof err), SIM_OK);
	assert_true(r.n_series <= cap);
	for (size_t k = 0; k < r.n_series; k++)
		rows[k] = r.series[k].accepted;
	*generated = r.total.fig[FIG_GENERATED];
	assert_true(r.total.fig[FIG_ACCEPTED] == *generated);
	size_t ns = r.n_series;
	res_rep_free(&r);
	scn_free_all(v, n, &sim_alloc_std);
	return ns;
}

static char text[2048];

/* One sender, count instances, the given arrivals. */
static const char *scenario_text(const char *top, int count, const char *arrivals)
{
	snprintf(text, sizeof text,
		 "name: t\n%s" OPEN_LIMITS
		 "senders:\n  - name: s\n    count: %d\n    mailbox: a@contoso.com\n    auth: oauth\n"
		 "    arrivals: %s\n" QUICK_SESSION, top, count, arrivals);
	return text;
}

/* rows[] holds exactly `per` at the listed steps and 0 elsewhere. */
static void expect_rows(const uint32_t *rows, size_t n, const size_t *at, size_t n_at, uint32_t per)
{
	size_t j = 0;
	for (size_t k = 0; k < n; k++) {
		uint32_t want = (j < n_at && at[j] == k) ? per : 0;
		if (rows[k] != want)
			print_error("step %zu: %u accepted, expected %u\n", k, rows[k], want);
		assert_int_equal(rows[k], want);
		if (want)
			j++;
	}
	assert_int_equal(j, n_at);
}

static uint32_t rows[3000];

/* 400 over 2 min is one message every 0.3 s, the first at the burst's
 * instant.  From a minute before it, in steps of 0.1 s: message i in
 * step 600 + 3i, nothing elsewhere (the last, i = 399, in step 1797).
 * A daily burst at 09:00 Berlin time in winter is at 08:00 UTC; after
 * the change of 2026-03-29 at 07:00 UTC; with no timezone, at 09:00 UTC;
 * a one-shot at 2026-03-02T09:00 Berlin time, 08:00 UTC. */
static void test_burst_instants(void **state)
{
	(void)state;
	static const struct { const char *top, *arrivals; } cases[] = {
		{ "start: 2026-03-02T07:59:00Z\ntimezone: Europe/Berlin\nduration: 4m\nseries_step: 100ms\n",
		  "{bursts: {at: \"09:00\", count: 400, over: 2m}}" },
		{ "start: 2026-03-29T06:59:00Z\ntimezone: Europe/Berlin\nduration: 4m\nseries_step: 100ms\n",
		  "{bursts: {at: \"09:00\", count: 400, over: 2m}}" },
		{ "start: 2026-03-02T08:59:00Z\nduration: 4m\nseries_step: 100ms\n",
		  "{bursts: {at: \"09:00\", count: 400, over: 2m}}" },
		{ "start: 2026-03-02T07:59:00Z\ntimezone: Europe/Berlin\nduration: 4m\nseries_step: 100ms\n",
		  "{bursts: {at: \"2026-03-02T09:00\", count: 400, over: 2m}}" },
		/* a start without an offset is local time: 08:59 Berlin = 07:59 UTC */
		{ "start: 2026-03-02T08:59\ntimezone: Europe/Berlin\nduration: 4m\nseries_step: 100ms\n",
		  "{bursts: {at: \"09:00\", count: 400, over: 2m}}" },
	};
	size_t at[400];
	for (size_t i = 0; i < 400; i++)
		at[i] = 600 + 3 * i;
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		double gen;
		size_t n = accepted_rows(scenario_text(cases[c].top, 1, cases[c].arrivals), rows, 3000, &gen);
		assert_int_equal(n, 2400);
		assert_true(gen == 400);
		expect_rows(rows, n, at, 400, 1);
	}
}

/* Three days in hourly steps from local midnight: a burst of 400 each
 * day, nothing else.  From Monday 2026-03-02 (UTC+1 throughout) the
 * bursts fall in steps 9, 33 and 57.  From Saturday 2026-03-28 00:00
 * local (= 03-27 23:00 UTC) the first is at 08:00 UTC, step 9; the
 * clocks go forward in the night, and the next two are at 07:00 UTC,
 * 32 and 56 hours after the start: in UTC the burst moved an hour. */
static void test_daily_across_dst(void **state)
{
	(void)state;
	static const struct { const char *start; size_t at[3]; } cases[] = {
		{ "2026-03-02T00:00", { 9, 33, 57 } },
		{ "2026-03-28T00:00", { 9, 32, 56 } },
	};
	for (size_t c = 0; c < 2; c++) {
		char top[256];
		snprintf(top, sizeof top, "start: %s\ntimezone: Europe/Berlin\nduration: 3d\nseries_step: 1h\n",
			 cases[c].start);
		double gen;
		size_t n = accepted_rows(scenario_text(top, 1, "{bursts: {at: \"09:00\", count: 400, over: 2m}}"),
					 rows, 3000, &gen);
		assert_int_equal(n, 72);
		assert_true(gen == 3 * 400);
		expect_rows(rows, n, cases[c].at, 3, 400);
	}
}

/* The zone's table does not depend on the duration the file gives: a
 * run lengthened after the load (as --duration does) still meets the
 * change of 2026-03-29.  30 days in hourly steps from Monday 2026-03-02
 * 00:00 local (= 03-01 23:00 UTC): day d's burst at 09:00 local is in
 * step 24d + 9 while the offset is +1 h (d = 0..26, to Saturday 28th),
 * 24d + 8 from Sunday 29th (d = 27..29). */
static void test_duration_lengthened(void **state)
{
	(void)state;
	size_t n;
	scenario **v = load(scenario_text("start: 2026-03-02T00:00\ntimezone: Europe/Berlin\nduration: 1d\n"
					  "series_step: 1h\n", 1, "{bursts: {at: \"09:00\", count: 400, over: 2m}}"), &n);
	v[0]->duration_ns = 30LL * 86400 * SCN_NS_PER_S;
	res_rep r;
	char err[256];
	assert_int_equal(run_replication(v[0], 0, EVS_CALENDAR, &sim_alloc_std, &r, err, sizeof err), SIM_OK);
	assert_int_equal(r.n_series, 720);
	assert_true(r.total.fig[FIG_ACCEPTED] == 30 * 400);
	size_t at[30];
	for (size_t d = 0; d < 30; d++)
		at[d] = 24 * d + (d < 27 ? 9 : 8);
	for (size_t k = 0; k < r.n_series; k++)
		rows[k] = r.series[k].accepted;
	expect_rows(rows, r.n_series, at, 30, 400);
	res_rep_free(&r);
	scn_free_all(v, n, &sim_alloc_std);
}

/* days: [mon..fri] from Friday 2026-03-06 00:00 UTC over three days: only
 * Friday's burst (step 9); the weekend has none.  Two instances: each
 * its own burst, 800 in the step. */
static void test_daily_days(void **state)
{
	(void)state;
	double gen;
	size_t at[] = { 9 };
	size_t n = accepted_rows(scenario_text("start: 2026-03-06T00:00:00Z\nduration: 3d\nseries_step: 1h\n", 2,
					       "{bursts: {at: \"09:00\", count: 400, over: 2m, "
					       "days: [mon, tue, wed, thu, fri]}}"), rows, 3000, &gen);
	assert_int_equal(n, 72);
	assert_true(gen == 800);
	expect_rows(rows, n, at, 1, 800);
}

/* A profile with only the hour 09-10 local set, on periodic arrivals
 * every minute from phase 0: a candidate at every minute, kept when its
 * local hour is 09 (multiplier 1 against the peak 1: always kept; 0:
 * never).  So exactly 60 messages, all in the UTC hour 08-09 in winter
 * and 07-08 in summer, none elsewhere. */
static void test_profile_local_hours(void **state)
{
	(void)state;
	static const struct { const char *start; size_t hour; } cases[] = {
		{ "2026-03-02T00:00:00Z", 8 },
		{ "2026-06-01T00:00:00Z", 7 },
	};
	for (size_t c = 0; c < 2; c++) {
		char top[256];
		snprintf(top, sizeof top, "start: %s\ntimezone: Europe/Berlin\nduration: 1d\nseries_step: 1h\n",
			 cases[c].start);
		double gen;
		size_t n = accepted_rows(scenario_text(top, 1, "{periodic: 1m, phase: 0s, profile: {hours: {\"09\": 1}}}"),
					 rows, 3000, &gen);
		assert_int_equal(n, 24);
		assert_true(gen == 60);
		expect_rows(rows, n, &cases[c].hour, 1, 60);
	}
}

/* periodic: 1m with phase: 30s over 10 min, in steps of 1 s: every
 * instance at 30 + 60k s, k = 0..9, so three instances put 3 messages
 * in each of steps 30, 90, ..., 570 and none elsewhere. */
static void test_periodic_phase(void **state)
{
	(void)state;
	double gen;
	size_t at[10];
	for (size_t k = 0; k < 10; k++)
		at[k] = 30 + 60 * k;
	size_t n = accepted_rows(scenario_text("duration: 10m\nseries_step: 1s\n", 3, "{periodic: 1m, phase: 30s}"),
				 rows, 3000, &gen);
	assert_int_equal(n, 600);
	assert_true(gen == 30);
	expect_rows(rows, n, at, 10, 3);
}

/* Bad input: one error each, at the key's line and column (the
 * arrivals are on line 9, or 10 after one top-level line, from column
 * 15; a quoted scalar's column is its text's, after the quote). */
static void test_errors(void **state)
{
	(void)state;
	static const struct { const char *top, *arrivals, *key, *msg; int line, col; } cases[] = {
		{ "timezone: Europe/Berln\n", "{poisson: 1/h}", "timezone", "unknown time zone 'Europe/Berln'", 2, 11 },
		{ "timezone: ../../etc/passwd\n", "{poisson: 1/h}", "timezone", "is not a time zone name", 2, 11 },
		{ "", "{bursts: {at: \"25:00\", count: 4}}", "senders.s.arrivals.bursts.at", "is not a time of day", 9, 30 },
		{ "", "{bursts: {at: \"09:00\", count: 4, rate: 2/d}}", "senders.s.arrivals.bursts.rate",
		  "is for bursts at random", 9, 54 },
		{ "", "{bursts: {rate: 2/d, size: 3, over: 1m}}", "senders.s.arrivals.bursts.over",
		  "is for a scheduled burst", 9, 51 },
		{ "", "{bursts: {at: \"09:00\"}}", "senders.s.arrivals.bursts", "needs a count", 9, 24 },
		{ "", "{bursts: {at: \"09:00\", count: 4, over: 24h}}", "senders.s.arrivals.bursts.over",
		  "within 23 h", 9, 54 },
		{ "", "{bursts: {at: \"09:00\", count: 1000000, over: 0.5s}}", "senders.s.arrivals.bursts.over",
		  "exceed the rate bound", 9, 60 },
		{ "start: 2026-03-02T00:00:00Z\n", "{bursts: {at: \"2026-03-01T09:00\", count: 4}}",
		  "senders.s.arrivals.bursts.at", "is before the scenario's start", 10, 30 },
		{ "", "{bursts: {at: \"2026-03-02T09:00\", count: 4, days: [mon]}}", "senders.s.arrivals.bursts.days",
		  "happens once", 9, 65 },
		{ "", "{poisson: 1/h, phase: 30s}", "senders.s.arrivals.phase", "periodic arrivals only", 9, 37 },
		{ "", "{bursts: {at: \"09:00\", count: 4}, profile: {hours: {\"09\": 1}}}", "senders.s.arrivals.profile",
		  "takes no profile", 9, 58 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *t = scenario_text(cases[i].top, 1, cases[i].arrivals);
		scenario **v = NULL;
		size_t n = 0;
		scn_errors errs = { 0 };
		int rc = scn_load_buffer("t.yaml", t, strlen(t), ".", &sim_alloc_std, &v, &n, &errs);
		assert_int_equal(rc, SIM_ESCENARIO);
		if (errs.n != 1 || strcmp(errs.v[0].key, cases[i].key) || !strstr(errs.v[0].message, cases[i].msg) ||
		    errs.v[0].line != cases[i].line || errs.v[0].column != cases[i].col)
			for (size_t k = 0; k < errs.n; k++)
				print_error("case %zu: %d:%d: %s: %s\n", i, errs.v[k].line, errs.v[k].column,
					    errs.v[k].key, errs.v[k].message);
		assert_int_equal(errs.n, 1);
		assert_string_equal(errs.v[0].key, cases[i].key);
		assert_non_null(strstr(errs.v[0].message, cases[i].msg));
		assert_int_equal(errs.v[0].line, cases[i].line);
		assert_int_equal(errs.v[0].column, cases[i].col);
		scn_errors_free(&errs);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_instants),
		cmocka_unit_test(test_daily_across_dst),
		cmocka_unit_test(test_duration_lengthened),
		cmocka_unit_test(test_daily_days),
		cmocka_unit_test(test_profile_local_hours),
		cmocka_unit_test(test_periodic_phase),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
