/* test_figures.c - the figures a planner could not say before issue 10
 * (external recipients accepted, lost as a percentage, the last release,
 * average submissions in progress, Sent Items growth, the first throttle
 * and the periods per class, the tenant windows' figures, per-mailbox
 * delay quantiles), each against a value worked by hand in a small
 * deterministic scenario; and the mailbox delay histogram's buckets
 * (models/delay_hist.h) against their definition.  Every expected value
 * is derived in the comment beside it. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "delay_hist.h"
#include "presets.h"
#include "results.h"
#include "run.h"
#include "scenario.h"
#include "status.h"

#define S SCN_NS_PER_S
#define MS (S / 1000)
#define MIN (60 * S)
#define HOUR (3600 * S)

/* A scenario built by hand (as in test_model.c): MODEL.md's defaults and
 * the exchange-online preset on every mailbox, TERRL off. */
typedef struct tscn {
	scenario s;
	scn_mailbox mb[2];
	scn_sender sd[2];
	scn_route route[1];
} tscn;

static void tscn_init(tscn *t, size_t n_senders, int64_t duration_ns)
{
	memset(t, 0, sizeof *t);
	scenario *s = &t->s;
	strcpy(s->name, "figures");
	strcpy(s->variant, "base");
	s->start_unix_s = 1772409600; /* Monday 2026-03-02 00:00 UTC */
	s->duration_ns = duration_ns;
	s->seed = 7;
	s->replications = 1;
	s->series_step_ns = MIN;
	s->tenant = (scn_tenant){ .basic_auth_enabled = true, .licenses = 1 };
	scn_mailbox *mb = &t->mb[0];
	snprintf(mb->name, sizeof mb->name, "mb@contoso.com");
	mb->pool = -1;
	mb->smtp_client_auth_disabled = TRI_UNSET;
	mb->quota_bytes = 100LL << 30;
	mb->save_sent_items = true;
	mb->licensed = true;
	assert_int_equal(preset_fill("exchange-online", &mb->limits), 0);
	mb->limits.external_rate.limit = 0;
	for (size_t g = 0; g < n_senders; g++) {
		scn_sender *sd = &t->sd[g];
		snprintf(sd->name, sizeof sd->name, "g%zu", g);
		sd->count = 1;
		sd->mailbox = 0;
		sd->pool = -1;
		sd->basic_auth = true;
		sd->arrivals.kind = ARR_NONE;
		sd->recipients = (scn_dist){ .kind = DIST_FIXED, .a = 1 };
		sd->size = (scn_dist){ .kind = DIST_FIXED, .a = 50 * 1024 };
		sd->connections = 1;
		sd->messages_per_session = 1;
		sd->connect_time_ns = 300 * MS;
		sd->submit_time_ns = 200 * MS;
		sd->retry = (scn_retry){ .base_ns = 60 * S, .factor = 1, .jitter = JITTER_NONE,
					 .max_attempts = 1, .honors_permanent = true };
	}
	strcpy(t->route[0].name, "smtp_auth");
	t->route[0].limits = mb->limits;
	s->mailboxes = t->mb;
	s->n_mailboxes = 1;
	s->senders = t->sd;
	s->n_senders = n_senders;
	s->routes = t->route;
	s->n_routes = 1;
	s->alloc = sim_alloc_std;
}

/* n messages of a trace from t0 every step, each with these recipients
 * (external of them) and 50 KiB. */
static scn_trace_row *trace(scn_sender *sd, size_t n, int64_t t0, int64_t step,
			    int64_t recipients, int64_t external)
{
	scn_trace_row *r = calloc(n, sizeof *r);
	assert_non_null(r);
	for (size_t k = 0; k < n; k++)
		r[k] = (scn_trace_row){ t0 + (int64_t)k * step, 0, recipients, external, 50 * 1024 };
	sd->arrivals.kind = ARR_TRACE;
	sd->arrivals.trace = r;
	sd->arrivals.trace_len = n;
	return r;
}

static void run1(const scenario *s, res_rep *r)
{
	char err[200];
	if (run_replication(s, 0, EVS_CALENDAR, &sim_alloc_std, r, err, sizeof err) != SIM_OK)
		fail_msg("run_replication: %s", err);
}

static void near(double got, double want)
{
	if (!(fabs(got - want) <= 1e-9 * (1.0 + fabs(want))))
		fail_msg("got %.12g, want %.12g", got, want);
}

/* near() for each of n figures; a NaN wanted means a NaN got. */
static void near_each(const double *got, const double *want, int n)
{
	for (int i = 0; i < n; i++)
		if (isnan(want[i]))
			assert_true(isnan(got[i]));
		else
			near(got[i], want[i]);
}

/* Five messages at 0, 60, ..., 240 s, 3 recipients of which 2 external,
 * 50 KiB; connect 0.3 s, submit 0.2 s: each submitted over [t + 0.3,
 * t + 0.5) and accepted (released) at t + 0.5.  Duration 600 s.
 *   external_accepted = 5 x 2 = 10 (total, group, mailbox);
 *   last_release = 240.5 s; lost_pct = 0;
 *   sent_items_growth = 5 x 51,200 = 256,000 bytes (mailbox and total);
 *   submitting_avg = 5 x 0.2 s / 600 s = 1/600;
 *   every mailbox delay quantile: all delays are 0.5 s, in the bucket
 *   [496, 512) ms, whose end 0.512 s is capped at the largest, 0.5 s. */
static void test_message_figures(void **state)
{
	(void)state;
	tscn t;
	tscn_init(&t, 1, 600 * S);
	scn_trace_row *rows = trace(&t.sd[0], 5, 0, MIN, 3, 2);
	res_rep r;
	run1(&t.s, &r);
	const res_entity *e[3] = { &r.total, &r.groups[0], &r.mailboxes[0] };
	for (int i = 0; i < 3; i++) {
		near(e[i]->fig[FIG_ACCEPTED], 5);
		near(e[i]->fig[FIG_RCPT_EXTERNAL_ACCEPTED], 10);
		near(e[i]->fig[FIG_LAST_RELEASE], 240.5);
		near(e[i]->fig[FIG_LOST_PCT], 0);
	}
	assert_true(isnan(r.groups[0].fig[FIG_SENT_ITEMS_GROWTH]));
	assert_true(isnan(r.groups[0].fig[FIG_SUBMITTING_AVG]));
	for (int i = 0; i < 3; i += 2) {
		near(e[i]->fig[FIG_SENT_ITEMS_GROWTH], 256000);
		near(e[i]->fig[FIG_SUBMITTING_AVG], 1.0 / 600.0);
	}
	for (int q = 0; q < 4; q++) {
		near(r.mailboxes[0].fig[FIG_SUB_DELAY_P50 + q], 0.5);
		near(r.mailboxes[0].fig[FIG_DEL_DELAY_P50 + q], 0.5);
	}
	res_rep_free(&r);
	free(rows);
}

/* One message at 599.6 s: AUTH at 599.9 s, submitting from then, its
 * answer (600.1 s) after the end.  Nothing released: last_release NaN,
 * not 0; no delay quantile; submitting over [599.9, 600): 0.1 / 600. */
static void test_no_release(void **state)
{
	(void)state;
	tscn t;
	tscn_init(&t, 1, 600 * S);
	scn_trace_row *rows = trace(&t.sd[0], 1, 599 * S + 600 * MS, MIN, 1, 0);
	res_rep r;
	run1(&t.s, &r);
	near(r.total.fig[FIG_GENERATED], 1);
	near(r.total.fig[FIG_RELEASED], 0);
	assert_true(isnan(r.total.fig[FIG_LAST_RELEASE]));
	assert_true(isnan(r.mailboxes[0].fig[FIG_SUB_DELAY_P50]));
	near(r.total.fig[FIG_SUBMITTING_AVG], 0.1 / 600.0);
	res_rep_free(&r);
	free(rows);
}

/* The message rate in delay mode (test_model.c's test_rate_delay): one
 * message a second, accepted 0.5 s after generation, released 30 per
 * minute in order, so release i = 30b + j has delivery delay 0.5 + 30b s.
 * 1,200 s: 600 released (b = 0..19, 30 each), sorted x[k] = 0.5 + 30
 * floor(k / 30) s.  The mailbox's delivery quantiles, rank j = ceil(f x
 * 599), reported as the end of x[j]'s bucket capped at the max 570.5 s:
 *   p50: j = ceil(299.5) = 300, x = 300.5 s = 300,500 ms in octave 2^18,
 *        buckets of 2^14 = 16,384 ms: 300,500 >> 14 = 18, end 19 x 16,384
 *        = 311,296 ms -> 311.296 s;
 *   p90: j = ceil(539.1) = 540, x = 540.5 s = 540,500 ms in octave 2^19,
 *        buckets of 32,768 ms: >> 15 = 16, end 17 x 32,768 = 557,056 ms;
 *   p95: j = ceil(569.05) = 570, x = 570.5 s: end 18 x 32,768 = 589.824 s,
 *        capped at 570.5 s; p99: j = 594, x = 570.5 s, capped: 570.5 s.
 * Submission delays are all 0.5 s (capped as above).  Each bounds the
 * group's exact quantile from above (p50: 285.5 s). */
static void test_mailbox_quantiles(void **state)
{
	(void)state;
	tscn t;
	tscn_init(&t, 1, 1200 * S);
	t.sd[0].arrivals.kind = ARR_PERIODIC;
	t.sd[0].arrivals.interval_ns = 1 * S;
	res_rep r;
	run1(&t.s, &r);
	near(r.total.fig[FIG_RELEASED], 600);
	const double *f = r.mailboxes[0].fig;
	near(f[FIG_DEL_DELAY_P50], 311.296);
	near(f[FIG_DEL_DELAY_P90], 557.056);
	near(f[FIG_DEL_DELAY_P95], 570.5);
	near(f[FIG_DEL_DELAY_P99], 570.5);
	for (int q = 0; q < 4; q++) {
		near(f[FIG_SUB_DELAY_P50 + q], 0.5);
		assert_true(f[FIG_DEL_DELAY_P50 + q] >= r.groups[0].fig[FIG_DEL_DELAY_P50 + q]);
	}
	near(r.groups[0].fig[FIG_DEL_DELAY_P50], 285.5);
	/* the last release: i = 599 (b = 19, j = 29), generated at p + 599 s
	 * (p the phase, in [0, 1)), delayed 570.5 s: p + 1,169.5 s */
	double last = r.total.fig[FIG_LAST_RELEASE];
	assert_true(last >= 1169.5 && last < 1170.5);
	res_rep_free(&r);
}

/* The error throttle (test_model.c's test_error_throttle): group 0 sends
 * 600-recipient messages at 0, 10, ..., 90 s, refused 550 5.5.3 at
 * 10k + 0.5 s; the 10th, at 90.5 s, starts a too-many-recipients period
 * [90.5, 3690.5).  Group 1 sends 1-recipient messages at 35 + 60j s
 * (j = 0..119), answered at 35.5 + 60j: j = 1..60 fall in the period and
 * are refused 550 5.2.254 (lost, no retry), 60 are accepted.
 *   throttle_first = 90.5 s (mailbox, total);
 *   throttle_periods_too_many_recipients = 1, every other class 0;
 *   lost_pct: group 0 10/10 = 100; group 1 60/120 = 50; total and the
 *   mailbox (every message is its) 70/130 x 100;
 *   sent_items_growth = 60 x 51,200 = 3,072,000 bytes. */
static void test_throttle_figures(void **state)
{
	(void)state;
	tscn t;
	tscn_init(&t, 2, 2 * HOUR);
	scn_trace_row *bad = trace(&t.sd[0], 10, 0, 10 * S, 600, 0);
	scn_trace_row *good = trace(&t.sd[1], 120, 35 * S, MIN, 1, 0);
	res_rep r;
	run1(&t.s, &r);
	const res_entity *e[2] = { &r.total, &r.mailboxes[0] };
	for (int i = 0; i < 2; i++) {
		near(e[i]->fig[FIG_THROTTLE_FIRST], 90.5);
		for (int c = 0; c < ERR_CLASS_COUNT; c++)
			near(e[i]->fig[FIG_THROTTLE_PERIODS_MAILBOX_FULL + c], c == ERR_TOO_MANY_RECIPIENTS ? 1 : 0);
		near(e[i]->fig[FIG_THROTTLE_PERIODS_TOO_MANY_RECIPIENTS], 1);
		near(e[i]->fig[FIG_LOST_PCT], 7000.0 / 130.0);
		near(e[i]->fig[FIG_SENT_ITEMS_GROWTH], 3072000);
	}
	near(r.groups[0].fig[FIG_LOST_PCT], 100);
	near(r.groups[1].fig[FIG_LOST_PCT], 50);
	assert_true(isnan(r.groups[0].fig[FIG_THROTTLE_FIRST]));
	res_rep_free(&r);
	free(bad);
	free(good);
}

/* A mailbox that never throttled: first throttle NaN, periods 0. */
static void test_never_throttled(void **state)
{
	(void)state;
	tscn t;
	tscn_init(&t, 1, 600 * S);
	scn_trace_row *rows = trace(&t.sd[0], 2, 0, MIN, 1, 0);
	res_rep r;
	run1(&t.s, &r);
	assert_true(isnan(r.mailboxes[0].fig[FIG_THROTTLE_FIRST]));
	assert_true(isnan(r.total.fig[FIG_THROTTLE_FIRST]));
	for (int c = 0; c < ERR_CLASS_COUNT; c++)
		near(r.total.fig[FIG_THROTTLE_PERIODS_MAILBOX_FULL + c], 0);
	res_rep_free(&r);
	free(rows);
}

/* The tenant external recipient limit at 10 (per 24 h, external
 * recipients): messages of 5 external recipients at 0, 60, 120, 180 s,
 * answered at +0.5 s.  60.5 s: 5 + 5 = 10, accepted, and the sum stands
 * at the limit (one more would be refused) until the first entry leaves
 * at 86,400.5 s, after the run: blocked [60.5, 600) = 539.5 s.  120.5 s:
 * 10 + 5 > 10, refused 550 5.7.233 (lost), and 180.5 s.
 *   terrl_limit 10, terrl_first_reached 60.5 s, terrl_first_refusal
 *   120.5 s, terrl_blocked_time 539.5 s; external_accepted 10; lost_pct 50.
 * MOERA is configured (100) and untouched (the mailbox is not in an
 * onmicrosoft.com domain): limit 100, blocked 0, never reached or refused. */
static void test_terrl_figures(void **state)
{
	(void)state;
	tscn t;
	tscn_init(&t, 1, 600 * S);
	t.mb[0].limits.external_rate.limit = 10;
	t.route[0].limits.external_rate.limit = 10;
	scn_trace_row *rows = trace(&t.sd[0], 4, 0, MIN, 5, 5);
	res_rep r;
	run1(&t.s, &r);
	const double *f = r.total.fig;
	near(f[FIG_TERRL_LIMIT], 10);
	near(f[FIG_TERRL_FIRST_REACHED], 60.5);
	near(f[FIG_TERRL_FIRST_REFUSAL], 120.5);
	near(f[FIG_TERRL_BLOCKED_TIME], 539.5);
	near(f[FIG_RCPT_EXTERNAL_ACCEPTED], 10);
	near(f[FIG_LOST_PCT], 50);
	assert_int_equal(r.total.rejected_by[RC_TENANT_EXTERNAL], 2);
	near(f[FIG_MOERA_LIMIT], 100);
	near(f[FIG_MOERA_BLOCKED_TIME], 0);
	assert_true(isnan(f[FIG_MOERA_FIRST_REACHED]) && isnan(f[FIG_MOERA_FIRST_REFUSAL]));
	/* tenant figures belong to the total only */
	assert_true(isnan(r.mailboxes[0].fig[FIG_TERRL_LIMIT]) && isnan(r.groups[0].fig[FIG_TERRL_LIMIT]));
	res_rep_free(&r);
	free(rows);
}

/* MOERA (100 external recipients per 24 h from *.onmicrosoft.com
 * senders), TERRL off: 50 external recipients at 0, 60, 120 s: 50, then
 * 100 at 60.5 s (reached, blocked [60.5, 600) = 539.5 s), then 150 > 100
 * at 120.5 s: refused 550 5.7.236.  TERRL: no limit (NaN), blocked 0. */
static void test_moera_figures(void **state)
{
	(void)state;
	tscn t;
	tscn_init(&t, 1, 600 * S);
	snprintf(t.mb[0].name, sizeof t.mb[0].name, "app@contoso.onmicrosoft.com");
	scn_trace_row *rows = trace(&t.sd[0], 3, 0, MIN, 50, 50);
	res_rep r;
	run1(&t.s, &r);
	const double *f = r.total.fig;
	near(f[FIG_MOERA_LIMIT], 100);
	near(f[FIG_MOERA_FIRST_REACHED], 60.5);
	near(f[FIG_MOERA_FIRST_REFUSAL], 120.5);
	near(f[FIG_MOERA_BLOCKED_TIME], 539.5);
	assert_int_equal(r.total.rejected_by[RC_ONMICROSOFT_EXTERNAL], 1);
	assert_true(isnan(f[FIG_TERRL_LIMIT]));
	near(f[FIG_TERRL_BLOCKED_TIME], 0);
	assert_true(isnan(f[FIG_TERRL_FIRST_REACHED]) && isnan(f[FIG_TERRL_FIRST_REFUSAL]));
	res_rep_free(&r);
	free(rows);
}

/* The buckets: one per ms below 32 ms; from 16 ms on, 16 per octave.
 * Hand-worked: 15 ms -> bucket 15, ends at 16 ms; 32 and 33 ms -> bucket
 * 32 (octave 5, width 2 ms), ends at 34 ms; 500 ms -> octave 8, width
 * 16 ms, 500 >> 4 = 31, bucket 16 x 4 + 31 = 95, ends at 512 ms.  A day:
 * the largest delay 86,399,999 ms lies in octave 26, >> 22 = 20, bucket
 * 16 x 22 + 20 = 372: 373 buckets.  Every bucket ends where the next
 * starts, and is at most 1/16 of its start wide (1 ms below 16 ms). */
static void test_buckets(void **state)
{
	(void)state;
	assert_int_equal(dh_bucket_of(15 * MS + 999999), 15);
	assert_int_equal(dh_bucket_end_ns(15), 16 * MS);
	assert_int_equal(dh_bucket_of(32 * MS), 32);
	assert_int_equal(dh_bucket_of(33 * MS + 999999), 32);
	assert_int_equal(dh_bucket_of(34 * MS), 33);
	assert_int_equal(dh_bucket_end_ns(32), 34 * MS);
	assert_int_equal(dh_bucket_of(500 * MS), 95);
	assert_int_equal(dh_bucket_end_ns(95), 512 * MS);
	assert_int_equal(dh_buckets(86400 * S), 373);
	/* 100 years: 3,155,760,000,000 ms, octave 41, >> 37 = 22: bucket 614 */
	uint32_t n = dh_buckets(INT64_C(100) * 36525 * 864 * S);
	assert_int_equal(n, 615);
	int64_t start = 0;
	for (uint32_t b = 0; b < n; b++) {
		int64_t end = dh_bucket_end_ns(b);
		assert_int_equal(dh_bucket_of(start), b);
		assert_int_equal(dh_bucket_of(end - 1), b);
		assert_int_equal(dh_bucket_of(end), b + 1);
		if (start >= 16 * MS)
			assert_true((end - start) * 16 <= start);
		else
			assert_int_equal(end - start, MS);
		start = end;
	}
}

/* The histogram on its own: delays 1..100 s, one each (n = 100).  p90:
 * j = ceil(0.9 x 99) = ceil(89.1) = 90, x[90] = 91 s = 91,000 ms, octave
 * 16 (65,536), width 4,096 ms: 91,000 >> 12 = 22, end 23 x 4,096 =
 * 94,208 ms.  p50: j = ceil(49.5) = 50, x = 51 s = 51,000 ms, octave 15,
 * width 2,048: >> 11 = 24, end 25 x 2,048 = 51,200 ms.  p99: j = 99 (98.01
 * -> 99), x = 100 s, bucket end 102,400 ms capped at the max 100 s.  The
 * last ten delivered 1,000 s later (not delayed for the others): the
 * delivery histogram forks then, and its p50 is the submission one, its
 * p99 1,100 s (the max: 1,100,000 ms, bucket end 1,114,112 capped). */
static void test_histogram(void **state)
{
	(void)state;
	dh_hist h;
	dh_init(&h, 2000 * S);
	assert_true(isnan(dh_quantile(&h, ST_SUBMISSION, 0.5)));
	for (int k = 1; k <= 100; k++)
		assert_int_equal(dh_add(&h, &sim_alloc_std, k * S, true, k <= 90 ? k * S : (k + 1000) * S), SIM_OK);
	near(dh_quantile(&h, ST_SUBMISSION, 0.5), 51.2);
	near(dh_quantile(&h, ST_SUBMISSION, 0.9), 94.208);
	near(dh_quantile(&h, ST_SUBMISSION, 0.99), 100);
	near(dh_quantile(&h, ST_DELIVERY, 0.5), 51.2);
	near(dh_quantile(&h, ST_DELIVERY, 0.99), 1100);
	assert_true(isnan(dh_quantile(&h, ST_DELIVERY, 1.5)));
	/* several quantiles in one walk: the same values, in any order (a
	 * descending f walks again), NaN where one is */
	static const double f[6] = { 0.5, 0.9, 0.99, 0.5, 1.5, 0.99 };
	static const double want_sub[6] = { 51.2, 94.208, 100, 51.2, NAN, 100 };
	/* delivery p90: j = 90, x[90] = 1,091 s (90 of 1..90 s before it),
	 * bucket end 1,114,112 ms capped at the max 1,100 s */
	static const double want_del[6] = { 51.2, 1100, 1100, 51.2, NAN, 1100 };
	double q[6];
	dh_quantiles(&h, ST_SUBMISSION, f, 6, q);
	near_each(q, want_sub, 6);
	dh_quantiles(&h, ST_DELIVERY, f, 6, q);
	near_each(q, want_del, 6);
	dh_free(&h, &sim_alloc_std);
}

/* Delays of one value count in the histogram's run, not its array, and
 * the quantiles see them.  30 delays of 500 ms, 40 of 2 s, 30 of 500 ms
 * again (n = 100, all delivered at once: no delivery array).  Sorted: 60
 * at 0.5 s (bucket 95, end 512 ms), then 40 at 2 s (2,000 ms: octave 10,
 * width 64 ms, 2,000 >> 6 = 31, bucket 127, end 32 x 64 = 2,048 ms,
 * capped at the max 2 s).  p59: j = ceil(58.41) = 59, x[59] = 0.5 s ->
 * 0.512; p60: j = ceil(59.4) = 60, x[60] = 2 s -> 2.  Then a bucket filled
 * to 2^32 - 1 through its run: the next delay there marks the histogram
 * saturated and is not counted, as counting in the array would. */
static void test_histogram_run(void **state)
{
	(void)state;
	dh_hist h;
	dh_init(&h, 2000 * S);
	for (int k = 0; k < 100; k++) {
		int64_t d = k >= 30 && k < 70 ? 2 * S : 500 * MS;
		assert_int_equal(dh_add(&h, &sim_alloc_std, d, true, d), SIM_OK);
	}
	assert_null(h.del);
	assert_int_equal(h.n_sub, 100);
	assert_int_equal(h.n_del, 100);
	/* the last 30: the first through the array, 29 in the run */
	assert_int_equal(h.run_b, 95);
	assert_int_equal(h.run_n, 29);
	assert_int_equal(h.sub[95], 31);
	assert_int_equal(h.sub[127], 40);
	static const double f[4] = { 0.0, 0.59, 0.6, 1.0 };
	static const double want[4] = { 0.512, 0.512, 2, 2 };
	double q[4];
	dh_quantiles(&h, ST_SUBMISSION, f, 4, q);
	near_each(q, want, 4);
	dh_quantiles(&h, ST_DELIVERY, f, 4, q);
	near_each(q, want, 4);
	/* a delivery that differs: the delivery array starts from the counts
	 * with the run's in them */
	assert_int_equal(dh_add(&h, &sim_alloc_std, 500 * MS, true, 3 * S), SIM_OK);
	assert_non_null(h.del);
	assert_int_equal(h.run_n, 0);
	assert_int_equal(h.sub[95], 61);
	assert_int_equal(h.del[95], 60);
	dh_free(&h, &sim_alloc_std);

	dh_init(&h, 2000 * S);
	assert_int_equal(dh_add(&h, &sim_alloc_std, 500 * MS, true, 500 * MS), SIM_OK);
	h.sub[127] = UINT32_MAX - 3;
	for (int k = 0; k < 3; k++) /* 2^32 - 3 + 3: full */
		assert_int_equal(dh_add(&h, &sim_alloc_std, 2 * S, true, 2 * S), SIM_OK);
	assert_false(h.saturated);
	assert_int_equal(h.n_sub, 4);
	assert_int_equal(dh_add(&h, &sim_alloc_std, 2 * S, true, 2 * S), SIM_OK);
	assert_true(h.saturated);
	assert_int_equal(h.n_sub, 4);
	assert_int_equal(h.sub[127], UINT32_MAX);
	assert_true(isnan(dh_quantile(&h, ST_SUBMISSION, 0.5)));
	dh_free(&h, &sim_alloc_std);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_message_figures),
		cmocka_unit_test(test_no_release),
		cmocka_unit_test(test_mailbox_quantiles),
		cmocka_unit_test(test_throttle_figures),
		cmocka_unit_test(test_never_throttled),
		cmocka_unit_test(test_terrl_figures),
		cmocka_unit_test(test_moera_figures),
		cmocka_unit_test(test_buckets),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_histogram_run),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
