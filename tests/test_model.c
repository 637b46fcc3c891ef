/* test_model.c - whole replications (run_replication) against theory and
 * against hand-worked counts in small deterministic scenarios.  Every
 * expected value is derived in the comment beside it. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <gsl/gsl_cdf.h>

#include "presets.h"
#include "results.h"
#include "run.h"
#include "scenario.h"
#include "stats.h"

#define S SCN_NS_PER_S
#define MS (S / 1000)
#define MIN (60 * S)
#define HOUR (3600 * S)
#define DAY (86400 * S)
#define MAXMB 16
#define MAXSD 4

/* A scenario built by hand, with MODEL.md's 'Defaults' and the
 * exchange-online preset on every mailbox (TERRL off). */
typedef struct tscn {
	scenario s;
	scn_mailbox mb[MAXMB];
	scn_sender sd[MAXSD];
	scn_pool pool[2];
	scn_route route[1];
} tscn;

static void tscn_sender_defaults(scn_sender *sd, const char *name)
{
	memset(sd, 0, sizeof *sd);
	strcpy(sd->name, name);
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

static void tscn_init(tscn *t, size_t n_mailboxes, size_t n_senders, int64_t duration_ns)
{
	memset(t, 0, sizeof *t);
	scenario *s = &t->s;
	strcpy(s->name, "test");
	strcpy(s->variant, "base");
	s->start_unix_s = 1772409600; /* Monday 2026-03-02 00:00 UTC */
	s->duration_ns = duration_ns;
	s->seed = 42;
	s->replications = 1;
	s->series_step_ns = MIN;
	s->tenant = (scn_tenant){ .smtp_client_auth_disabled = false, .basic_auth_enabled = true, .licenses = 1 };
	for (size_t m = 0; m < n_mailboxes; m++) {
		scn_mailbox *mb = &t->mb[m];
		snprintf(mb->name, sizeof mb->name, "mb%zu@contoso.com", m);
		mb->pool = -1;
		mb->smtp_client_auth_disabled = TRI_UNSET;
		mb->quota_bytes = 100LL << 30;
		mb->save_sent_items = true;
		mb->licensed = true;
		assert_int_equal(preset_fill("exchange-online", &mb->limits), 0);
		mb->limits.external_rate.limit = 0; /* tenant limit off */
	}
	for (size_t g = 0; g < n_senders; g++)
		tscn_sender_defaults(&t->sd[g], "g");
	strcpy(t->route[0].name, "smtp_auth");
	assert_int_equal(preset_fill("exchange-online", &t->route[0].limits), 0);
	t->route[0].limits.external_rate.limit = 0;
	s->mailboxes = t->mb;
	s->n_mailboxes = n_mailboxes;
	s->senders = t->sd;
	s->n_senders = n_senders;
	s->routes = t->route;
	s->n_routes = 1;
	s->pools = t->pool;
	s->n_pools = 0;
	s->alloc = sim_alloc_std;
}

/* A pool over mailboxes [first, first + count). */
static void tscn_pool(tscn *t, size_t first, size_t count)
{
	t->pool[0] = (scn_pool){ .name = "pool", .first = first, .count = count };
	for (size_t m = first; m < first + count; m++)
		t->mb[m].pool = 0;
	t->s.n_pools = 1;
}

static void run1(const scenario *s, int64_t rep, res_rep *r)
{
	char err[200];
	int st = run_replication(s, rep, EVS_CALENDAR, &sim_alloc_std, r, err, sizeof err);
	if (st != SIM_OK)
		fail_msg("run_replication: %s", err);
}

static double fig(const res_entity *e, res_fig f)
{
	return e->fig[f];
}

/* generated = accepted + lost + pending, and lost = sum of its reasons. */
static void check_accounting(const res_entity *e)
{
	assert_true(fig(e, FIG_GENERATED) == fig(e, FIG_ACCEPTED) + fig(e, FIG_LOST) + fig(e, FIG_PENDING));
	assert_true(fig(e, FIG_LOST) == fig(e, FIG_LOST_GAVE_UP) + fig(e, FIG_LOST_PERMANENT) +
		    fig(e, FIG_LOST_OUTBOX_OVERFLOW));
	assert_true(fig(e, FIG_ACCEPTED) == fig(e, FIG_RELEASED) + fig(e, FIG_AWAITING_RELEASE));
}

static void check_rep_accounting(const res_rep *r)
{
	check_accounting(&r->total);
	for (size_t g = 0; g < r->n_groups; g++)
		check_accounting(&r->groups[g]);
	for (size_t m = 0; m < r->n_mailboxes; m++)
		if (!isnan(fig(&r->mailboxes[m], FIG_GENERATED)))
			check_accounting(&r->mailboxes[m]);
}

/* ---- Erlang B --------------------------------------------------------- */

/* Poisson connection attempts (rate lambda) on one mailbox capped at 3
 * sessions, holding time h, no retry, connect_time 0: an M/G/3/3 loss
 * system, whose blocking probability is Erlang B(3, lambda h) whatever the
 * holding-time distribution (insensitivity).  One instance with 12 worker
 * slots, so a slot is always free (at most 3 are in sessions) and every
 * arrival attempts at once.  By hand:
 *   B(3, 1) = (1/6) / (1 + 1 + 1/2 + 1/6)      = 1/16  = 0.0625
 *   B(3, 3) = 4.5 / (1 + 3 + 4.5 + 4.5)         = 9/26  = 0.3462
 *   B(3, 6) = 36 / (1 + 6 + 18 + 36)            = 36/61 = 0.5902
 * (st_erlang_b is tested against these in test_stats.c.)  Each
 * replication gives refused/attempts; over R = 12 replications the mean
 * must lie within the 99% Student-t interval of B. */
enum hold_kind { HOLD_FIXED, HOLD_LOGNORMAL, HOLD_EXPONENTIAL };

/* where: concurrency_check.  At AUTH the system is Erlang's loss system;
 * at end of data every message holds its worker for its whole transfer,
 * refused or not, so the submissions in progress are an M/G/infinity
 * system (the 12 workers are all busy with probability under 1e-4 at
 * a <= 3), and a message is refused when at its end of data at least 3
 * OTHERS are in progress.  By the Slivnyak-Mecke theorem the others a
 * departure sees are the stationary population, Poisson(a), whatever the
 * hold distribution: P(refused) = P(Poisson(a) >= 3). */
static void loss_case(double a, double expect, enum hold_kind hold, scn_conc_check where)
{
	tscn t;
	tscn_init(&t, 1, 1, 2 * HOUR);
	scn_limits *l = &t.mb[0].limits;
	l->connections.check = where;
	l->recipient_rate.limit = 0;
	l->message_rate.limit = 0;
	scn_sender *sd = &t.sd[0];
	sd->connections = 12;
	sd->connect_time_ns = 0;
	double hold_s = 1.0;
	sd->arrivals.kind = ARR_POISSON;
	sd->arrivals.rate_per_s = a / hold_s;
	if (hold == HOLD_LOGNORMAL) {
		/* hold = size / bandwidth, size lognormal(median 1 MB, sigma 1):
		 * mean = 1 MB e^{1/2}; bandwidth chosen so the mean hold is 1 s. */
		sd->submit_time_ns = 0;
		sd->size = (scn_dist){ .kind = DIST_LOGNORMAL, .a = 1 << 20, .b = 1.0 };
		sd->bandwidth_bytes_per_s = (double)(1 << 20) * exp(0.5);
		l->max_message_size = 0;
	} else if (hold == HOLD_EXPONENTIAL) {
		/* hold = size / bandwidth, size geometric on {1, 2, ...} with mean
		 * 1 MB: P(size > k) = (1 - 2^-20)^k = e^{-k 2^-20 (1 + O(2^-20))},
		 * an exponential distribution with mean 1 MB sampled at 1-byte
		 * steps (about 1 us at this bandwidth): the mean hold is 1 s. */
		sd->submit_time_ns = 0;
		sd->size = (scn_dist){ .kind = DIST_GEOMETRIC, .a = 1 << 20 };
		sd->bandwidth_bytes_per_s = (double)(1 << 20);
		l->max_message_size = 0;
	} else {
		sd->submit_time_ns = 1 * S;
	}
	if (where == CONC_AT_AUTH)
		assert_true(fabs(st_erlang_b(3, a) - expect) < 1e-4);
	enum { R = 12 };
	double x[R], sum = 0, ss = 0;
	for (int r = 0; r < R; r++) {
		res_rep rr;
		run1(&t.s, r, &rr);
		check_rep_accounting(&rr);
		assert_true(fig(&rr.total, FIG_ATTEMPTS) > 2000);
		/* no retry: every message has exactly one attempt */
		assert_true(fig(&rr.total, FIG_ATTEMPTS) == fig(&rr.total, FIG_GENERATED) - fig(&rr.total, FIG_PENDING));
		if (where == CONC_AT_AUTH) {
			x[r] = fig(&rr.total, FIG_CONN_REFUSED) /
			       (fig(&rr.total, FIG_CONN_REFUSED) + fig(&rr.total, FIG_CONN_OPENED));
			assert_true(rr.total.rejected_by[RC_CONCURRENCY] == (uint64_t)fig(&rr.total, FIG_CONN_REFUSED));
		} else {
			x[r] = (double)rr.total.rejected_by[RC_CONCURRENCY] / fig(&rr.total, FIG_ATTEMPTS);
			assert_true(fig(&rr.total, FIG_CONN_REFUSED) == 0.0); /* nothing at AUTH */
		}
		sum += x[r];
		res_rep_free(&rr);
	}
	double mean = sum / R;
	for (int r = 0; r < R; r++)
		ss += (x[r] - mean) * (x[r] - mean);
	double sd_ = sqrt(ss / (R - 1));
	double half = gsl_cdf_tdist_Pinv(0.995, R - 1) * sd_ / sqrt((double)R);
	static const char *const hold_name[] = { "fixed", "lognormal", "exponential" };
	print_message("%s, a = %.0f, %s hold: simulated %.4f +- %.4f, theory %.4f\n",
		      where == CONC_AT_AUTH ? "Erlang B(3, a)" : "P(Poisson(a) >= 3)", a,
		      hold_name[hold], mean, half, expect);
	assert_true(fabs(mean - expect) <= half);
}

static void erlang_case(double a, double expect, enum hold_kind hold)
{
	loss_case(a, expect, hold, CONC_AT_AUTH);
}

/* P(Poisson(a) >= 3) = 1 - e^-a (1 + a + a^2/2). */
static void eod_case(double a, enum hold_kind hold)
{
	loss_case(a, 1.0 - exp(-a) * (1.0 + a + a * a / 2.0), hold, CONC_AT_END_OF_DATA);
}

static void test_erlang_b_fixed(void **state)
{
	(void)state;
	erlang_case(1.0, 1.0 / 16.0, HOLD_FIXED);
	erlang_case(3.0, 9.0 / 26.0, HOLD_FIXED);
	erlang_case(6.0, 36.0 / 61.0, HOLD_FIXED);
}

static void test_erlang_b_lognormal(void **state)
{
	(void)state;
	erlang_case(1.0, 1.0 / 16.0, HOLD_LOGNORMAL);
	erlang_case(3.0, 9.0 / 26.0, HOLD_LOGNORMAL);
	erlang_case(6.0, 36.0 / 61.0, HOLD_LOGNORMAL);
}

/* concurrency_check: end_of_data, the default: the same arrivals, the
 * refusal probability insensitive to the hold's distribution. */
static void test_end_of_data_poisson_tail(void **state)
{
	(void)state;
	eod_case(1.0, HOLD_FIXED);
	eod_case(2.0, HOLD_LOGNORMAL);
	eod_case(3.0, HOLD_EXPONENTIAL);
}

/* The loss system of the textbook: Poisson attempts, exponential session
 * times, no retries. */
static void test_erlang_b_exponential(void **state)
{
	(void)state;
	erlang_case(1.0, 1.0 / 16.0, HOLD_EXPONENTIAL);
	erlang_case(3.0, 9.0 / 26.0, HOLD_EXPONENTIAL);
	erlang_case(6.0, 36.0 / 61.0, HOLD_EXPONENTIAL);
}


/* ---- small deterministic scenarios ----------------------------------- */

/* Trace rows for instance `inst` at times t0 + k*step, k < n. */
static scn_trace_row *trace_rows(size_t n, int64_t t0, int64_t step, int64_t inst,
				 int64_t recipients)
{
	scn_trace_row *r = calloc(n, sizeof *r);
	assert_non_null(r);
	for (size_t k = 0; k < n; k++)
		r[k] = (scn_trace_row){ t0 + (int64_t)k * step, inst, recipients, 0, 50 * 1024 };
	return r;
}

static void use_trace(scn_sender *sd, scn_trace_row *rows, size_t n)
{
	sd->arrivals.kind = ARR_TRACE;
	sd->arrivals.trace = rows;
	sd->arrivals.trace_len = n;
}

/* Periodic 1 msg/s (phase p in [0, 1 s)), connect 0.3 s + submit 0.2 s:
 * message k is answered at p + k + 0.5.  Reject mode, 30 per 60 s, open on
 * the left: k = 0..29 accepted; k = 30 sees 30 in (p - 29.5, p + 30.5] and
 * is refused, and so on to k = 59; k = 60 at p + 60.5 no longer sees
 * p + 0.5, so 29 in the window: accepted.  Blocks of 60: 30 accepted then
 * 30 refused.  Every minute bucket [60j, 60j + 60) holds the answers of
 * k = 60j .. 60j + 29 (p + 60j + 29.5 < 60j + 60) and no other acceptance:
 * exactly 30 accepted per minute.  Duration 610 s: k = 0..608 answered
 * surely, k = 609 iff p < 0.5; k >= 600 are in an accepting block:
 * accepted + pending = 310, gave_up = 300 (no retry). */
static void test_rate_reject(void **state)
{
	(void)state;
	tscn t;
	tscn_init(&t, 1, 1, 610 * S);
	t.mb[0].limits.message_rate.mode = RATE_REJECT;
	t.sd[0].arrivals.kind = ARR_PERIODIC;
	t.sd[0].arrivals.interval_ns = 1 * S;
	res_rep r;
	run1(&t.s, 0, &r);
	check_rep_accounting(&r);
	assert_true(fig(&r.total, FIG_GENERATED) == 610.0);
	assert_true(fig(&r.total, FIG_ACCEPTED) + fig(&r.total, FIG_PENDING) == 310.0);
	assert_true(fig(&r.total, FIG_LOST_GAVE_UP) == 300.0);
	assert_int_equal(r.total.rejected_by[RC_MESSAGE_RATE], 300);
	assert_int_equal(r.total.lost_by[RC_MESSAGE_RATE], 300);
	for (size_t j = 0; j < 10; j++)
		assert_int_equal(r.series[j].accepted, 30);
	assert_true(fig(&r.total, FIG_ACCEPTED_PEAK_MIN) == 30.0);
	res_rep_free(&r);
}

/* The same sender in delay mode: everything accepted, 0.5 s after
 * generation; released at most 30 per 60 s in order.  Acceptance i (i =
 * 30b + j) at p + i + 0.5; release r_i = max(a_i, r_{i-30} + 60 s) gives
 * r_i = p + j + 0.5 + 60b, so delivery delay = r_i - (p + i) = 0.5 + 30b s.
 * Duration 1200 s: releases before the end are b <= 19, i.e. i < 600:
 * released = 600, delay mean 0.5 + 30 * 9.5 = 285.5 s, max 0.5 + 570 =
 * 570.5 s, p50 = (x[299] + x[300]) / 2 = (270.5 + 300.5) / 2 = 285.5 s. */
static void test_rate_delay(void **state)
{
	(void)state;
	tscn t;
	tscn_init(&t, 1, 1, 1200 * S);
	t.sd[0].arrivals.kind = ARR_PERIODIC;
	t.sd[0].arrivals.interval_ns = 1 * S;
	res_rep r;
	run1(&t.s, 0, &r);
	check_rep_accounting(&r);
	assert_true(fig(&r.total, FIG_LOST) == 0.0);
	assert_true(fig(&r.total, FIG_RELEASED) == 600.0);
	assert_true(fabs(fig(&r.total, FIG_SUB_DELAY_MAX) - 0.5) < 1e-9);
	assert_true(fabs(fig(&r.total, FIG_SUB_DELAY_P50) - 0.5) < 1e-9);
	assert_true(fabs(fig(&r.total, FIG_DEL_DELAY_MEAN) - 285.5) < 1e-6);
	assert_true(fabs(fig(&r.total, FIG_DEL_DELAY_MAX) - 570.5) < 1e-9);
	assert_true(fabs(fig(&r.total, FIG_DEL_DELAY_P50) - 285.5) < 1e-9);
	assert_true(fig(&r.total, FIG_RELEASED_PEAK_MIN) == 30.0);
	res_rep_free(&r);
}

/* 100-recipient messages every minute from t = 0 (trace), answered at
 * 60k + 0.5 s.  After k = 0..99 the 24 h sum is 10,000; k = 100 (6000.5 s)
 * would make it 10,100 > 10,000: 554 5.2.0, honoured, lost.  At
 * a_1440 = a_0 + 24 h the window (t - 24 h, t] excludes a_0: 9,900 + 100
 * = 10,000, accepted: sending resumes exactly 24 h after the first.  Then
 * each minute one more leaves.  Duration 24 h + 300 s: k = 1440..1444
 * answered (60 * 1444 + 0.5 < 86,700), so accepted = 105, lost = 1340. */
static void test_rrl(void **state)
{
	(void)state;
	tscn t;
	tscn_init(&t, 1, 1, DAY + 300 * S);
	size_t n = 1446;
	scn_trace_row *rows = trace_rows(n, 0, MIN, 0, 100);
	use_trace(&t.sd[0], rows, n);
	res_rep r;
	run1(&t.s, 0, &r);
	check_rep_accounting(&r);
	assert_true(fig(&r.total, FIG_ACCEPTED) == 105.0);
	assert_true(fig(&r.total, FIG_LOST_PERMANENT) == 1340.0);
	assert_int_equal(r.total.lost_by[RC_RECIPIENT_RATE], 1340);
	assert_true(fabs(fig(&r.mailboxes[0], FIG_RRL_FIRST_REFUSAL) - 6000.5) < 1e-9);
	assert_true(fabs(fig(&r.mailboxes[0], FIG_RRL_FIRST_REACHED) - 5940.5) < 1e-9);
	/* the minute of a_1440 = 86,400.5 s is row 1440 */
	assert_int_equal(r.series[1439].accepted, 0);
	assert_int_equal(r.series[1440].accepted, 1);
	res_rep_free(&r);
	free(rows);
}

/* Error throttle, threshold 10 in 10 min -> 60 min.  Group 0 sends 600-
 * recipient messages (too many recipients) at 0, 10, ..., 90 s: errors at
 * 10k + 0.5; the 10th (90.5 s) trips: throttled over [90.5, 3690.5).
 * Group 1, a correct sender on the same mailbox, sends at 35 + 60j s,
 * answered at 35.5 + 60j: refused 550 5.2.254 iff 90.5 <= t < 3690.5, i.e.
 * j = 1..60 (95.5 .. 3635.5; j = 61 answers at 3695.5: accepted).  Two
 * hours: j = 0..119, so 60 refused and 60 accepted. */
static void test_error_throttle(void **state)
{
	(void)state;
	tscn t;
	tscn_init(&t, 1, 2, 2 * HOUR);
	scn_trace_row *bad = trace_rows(10, 0, 10 * S, 0, 600);
	scn_trace_row *good = trace_rows(120, 35 * S, MIN, 0, 1);
	use_trace(&t.sd[0], bad, 10);
	use_trace(&t.sd[1], good, 120);
	res_rep r;
	run1(&t.s, 0, &r);
	check_rep_accounting(&r);
	assert_int_equal(r.groups[0].rejected_by[RC_TOO_MANY_RECIPIENTS], 10);
	assert_int_equal(r.groups[1].rejected_by[RC_THROTTLED_TOO_MANY_RCPT], 60);
	assert_true(fig(&r.groups[1], FIG_ACCEPTED) == 60.0);
	assert_true(fig(&r.mailboxes[0], FIG_THROTTLE_PERIODS) == 1.0);
	assert_true(fabs(fig(&r.mailboxes[0], FIG_THROTTLE_TIME) - 3600.0) < 1e-9);
	res_rep_free(&r);
	free(bad);
	free(good);
}

/* concurrency_check: auth.  Four instances send one message each at t = 0; submit takes 10 s.  All
 * AUTH at 0.3 s in instance order: three sessions open, the fourth gets
 * 432 (no retry: gave up).  Sessions run from AUTH (0.3 s) to the end of
 * the 10 s submission (10.3 s): at the limit over [0.3, 10.3) of 60 s,
 * 10 / 60 = 1/6; time-average sessions 3 * 10 / 60 = 0.5. */
static void test_concurrency_boundary(void **state)
{
	(void)state;
	tscn t;
	tscn_init(&t, 1, 1, MIN);
	t.mb[0].limits.connections.check = CONC_AT_AUTH;
	t.sd[0].count = 4;
	t.sd[0].submit_time_ns = 10 * S;
	scn_trace_row rows[4];
	for (int i = 0; i < 4; i++)
		rows[i] = (scn_trace_row){ 0, i, 1, 0, 1024 };
	use_trace(&t.sd[0], rows, 4);
	res_rep r;
	run1(&t.s, 0, &r);
	check_rep_accounting(&r);
	assert_true(fig(&r.total, FIG_CONN_OPENED) == 3.0);
	assert_true(fig(&r.total, FIG_CONN_REFUSED) == 1.0);
	assert_int_equal(r.total.lost_by[RC_CONCURRENCY], 1);
	assert_true(fig(&r.total, FIG_ACCEPTED) == 3.0);
	assert_true(fabs(fig(&r.mailboxes[0], FIG_AT_LIMIT_FRAC) - 1.0 / 6.0) < 1e-9);
	assert_true(fabs(fig(&r.mailboxes[0], FIG_SESSIONS_AVG) - 0.5) < 1e-9);
	res_rep_free(&r);
}

/* concurrency_check: end_of_data (the default), the same four messages:
 * all four sessions open at 0.3 s (AUTH refuses nothing) and begin their
 * data then; at 10.3 s the four ends of data come in instance order.
 * Instance 0's finds 3 others in progress: 432, after its 10 s transfer
 * (no retry: lost under 432).  It is then no longer in progress, so the
 * other three find 2 each: accepted.  Four submissions are in progress
 * over [0.3, 10.3): at the limit (>= 3) 10 / 60 = 1/6 of the minute;
 * four sessions over the same 10 s: 4 * 10 / 60 = 2/3 on average. */
static void test_concurrency_end_of_data(void **state)
{
	(void)state;
	tscn t;
	tscn_init(&t, 1, 1, MIN);
	t.sd[0].count = 4;
	t.sd[0].submit_time_ns = 10 * S;
	scn_trace_row rows[4];
	for (int i = 0; i < 4; i++)
		rows[i] = (scn_trace_row){ 0, i, 1, 0, 1024 };
	use_trace(&t.sd[0], rows, 4);
	res_rep r;
	run1(&t.s, 0, &r);
	check_rep_accounting(&r);
	assert_true(fig(&r.total, FIG_CONN_OPENED) == 4.0);
	assert_true(fig(&r.total, FIG_CONN_REFUSED) == 0.0);
	assert_int_equal(r.total.rejected_by[RC_CONCURRENCY], 1);
	assert_int_equal(r.total.lost_by[RC_CONCURRENCY], 1);
	assert_true(fig(&r.total, FIG_ACCEPTED) == 3.0);
	assert_true(fabs(fig(&r.mailboxes[0], FIG_AT_LIMIT_FRAC) - 1.0 / 6.0) < 1e-9);
	assert_true(fabs(fig(&r.mailboxes[0], FIG_SESSIONS_AVG) - 2.0 / 3.0) < 1e-9);
	res_rep_free(&r);
}

/* Pools over 4 mailboxes.  per_instance: 6 instances, one message each:
 * member i mod 4 -> accepted 2, 2, 1, 1.  round_robin: 2 instances, 6
 * messages each 10 s apart; instance 0 starts at member 0 (0,1,2,3,0,1),
 * instance 1 at member 1 (1,2,3,0,1,2): accepted 3, 4, 3, 2. */
static void test_pools(void **state)
{
	(void)state;
	tscn t;
	tscn_init(&t, 4, 1, MIN * 2);
	tscn_pool(&t, 0, 4);
	t.sd[0].pool = 0;
	t.sd[0].mailbox = -1;
	t.sd[0].count = 6;
	t.sd[0].assign = ASSIGN_PER_INSTANCE;
	scn_trace_row rows[12];
	for (int i = 0; i < 6; i++)
		rows[i] = (scn_trace_row){ 0, i, 1, 0, 1024 };
	use_trace(&t.sd[0], rows, 6);
	res_rep r;
	run1(&t.s, 0, &r);
	check_rep_accounting(&r);
	double pi[4] = { 2, 2, 1, 1 };
	for (int m = 0; m < 4; m++)
		assert_true(fig(&r.mailboxes[m], FIG_ACCEPTED) == pi[m]);
	res_rep_free(&r);

	t.sd[0].count = 2;
	t.sd[0].assign = ASSIGN_ROUND_ROBIN;
	for (int k = 0; k < 6; k++)
		for (int i = 0; i < 2; i++)
			rows[2 * k + i] = (scn_trace_row){ k * 10 * S, i, 1, 0, 1024 };
	use_trace(&t.sd[0], rows, 12);
	run1(&t.s, 0, &r);
	check_rep_accounting(&r);
	double rr[4] = { 3, 4, 3, 2 };
	for (int m = 0; m < 4; m++) {
		assert_true(fig(&r.mailboxes[m], FIG_ACCEPTED) == rr[m]);
		assert_true(isnan(fig(&r.mailboxes[m], FIG_GENERATED)));
	}
	res_rep_free(&r);
}

/* least_loaded over 3 mailboxes; sessions last 100 s.  Messages at 0, 1,
 * 2, 3, 4 s from instances 0..4: open sessions (0,0,0) -> m0; (1,0,0) ->
 * m1; (1,1,0) -> m2; (1,1,1) -> m0 (tie: lowest); (2,1,1) -> m1.
 * Sessions opened: 2, 2, 1.  Then two messages at 0 and 0.1 s: the first
 * is still connecting (until 0.3 s) when the second chooses, and
 * connecting does not count: both go to m0. */
static void test_least_loaded(void **state)
{
	(void)state;
	tscn t;
	tscn_init(&t, 3, 1, 200 * S);
	tscn_pool(&t, 0, 3);
	t.sd[0].pool = 0;
	t.sd[0].mailbox = -1;
	t.sd[0].count = 5;
	t.sd[0].assign = ASSIGN_LEAST_LOADED;
	t.sd[0].submit_time_ns = 100 * S;
	scn_trace_row rows[5];
	for (int i = 0; i < 5; i++)
		rows[i] = (scn_trace_row){ i * S, i, 1, 0, 1024 };
	use_trace(&t.sd[0], rows, 5);
	res_rep r;
	run1(&t.s, 0, &r);
	check_rep_accounting(&r);
	double ll[3] = { 2, 2, 1 };
	for (int m = 0; m < 3; m++)
		assert_true(fig(&r.mailboxes[m], FIG_CONN_OPENED) == ll[m]);
	res_rep_free(&r);

	t.sd[0].count = 2;
	rows[0] = (scn_trace_row){ 0, 0, 1, 0, 1024 };
	rows[1] = (scn_trace_row){ 100 * MS, 1, 1, 0, 1024 };
	use_trace(&t.sd[0], rows, 2);
	run1(&t.s, 0, &r);
	assert_true(fig(&r.mailboxes[0], FIG_CONN_OPENED) == 2.0);
	res_rep_free(&r);
}

/* Back-off in a run: SMTP AUTH disabled on the mailbox (535, permanent)
 * and a sender that ignores permanent replies, so every attempt fails at
 * AUTH, 0.3 s after each connect.  base 10 s, factor 2, no jitter.
 * max_attempts 4: attempts at 0.3, 0.3+10+0.3 = 10.6, 10.6+20+0.3 = 30.9,
 * 30.9+40+0.3 = 71.2 s, then given up: rows 0: 3 rejections, 1: 1.
 * max_age 60 s, no attempt limit: at 30.9 the draw d = 40 gives
 * 30.9 + 40 - 0 = 70.9 > 60: given up after 3 attempts, all in row 0. */
static void test_backoff_giveup(void **state)
{
	(void)state;
	tscn t;
	tscn_init(&t, 1, 1, 10 * MIN);
	t.mb[0].smtp_client_auth_disabled = TRI_TRUE;
	scn_sender *sd = &t.sd[0];
	sd->retry = (scn_retry){ .base_ns = 10 * S, .factor = 2, .jitter = JITTER_NONE,
				 .max_attempts = 4, .honors_permanent = false };
	scn_trace_row row = { 0, 0, 1, 0, 1024 };
	use_trace(sd, &row, 1);
	res_rep r;
	run1(&t.s, 0, &r);
	check_rep_accounting(&r);
	assert_true(fig(&r.total, FIG_ATTEMPTS) == 4.0);
	assert_true(fig(&r.total, FIG_RETRIES) == 3.0);
	assert_true(fig(&r.total, FIG_LOST_GAVE_UP) == 1.0);
	assert_int_equal(r.total.lost_by[RC_AUTH_DISABLED_MAILBOX], 1);
	assert_int_equal(r.series[0].rejected_by[RC_AUTH_DISABLED_MAILBOX], 3);
	assert_int_equal(r.series[1].rejected_by[RC_AUTH_DISABLED_MAILBOX], 1);
	res_rep_free(&r);

	sd->retry.max_attempts = 0;
	sd->retry.max_age_ns = 60 * S;
	run1(&t.s, 0, &r);
	check_rep_accounting(&r);
	assert_true(fig(&r.total, FIG_ATTEMPTS) == 3.0);
	assert_true(fig(&r.total, FIG_LOST_GAVE_UP) == 1.0);
	assert_int_equal(r.series[0].rejected_by[RC_AUTH_DISABLED_MAILBOX], 3);
	assert_int_equal(r.series[1].rejected_by[RC_AUTH_DISABLED_MAILBOX], 0);
	res_rep_free(&r);

	/* honoured: lost at once under its reply, one attempt */
	sd->retry.honors_permanent = true;
	run1(&t.s, 0, &r);
	assert_true(fig(&r.total, FIG_LOST_PERMANENT) == 1.0);
	assert_true(fig(&r.total, FIG_ATTEMPTS) == 1.0);
	res_rep_free(&r);
}

/* Outbox limit 2; five messages at t = 0.  The first is claimed by the
 * worker (still unresolved, still counted), the second waits: 3, 4, 5
 * overflow.  The two are accepted at 0.5 and 1.0 s. */
static void test_outbox_overflow(void **state)
{
	(void)state;
	tscn t;
	tscn_init(&t, 1, 1, MIN);
	t.sd[0].outbox_limit = 2;
	scn_trace_row rows[5];
	for (int i = 0; i < 5; i++)
		rows[i] = (scn_trace_row){ 0, 0, 1, 0, 1024 };
	use_trace(&t.sd[0], rows, 5);
	res_rep r;
	run1(&t.s, 0, &r);
	check_rep_accounting(&r);
	assert_true(fig(&r.total, FIG_LOST_OUTBOX_OVERFLOW) == 3.0);
	assert_true(fig(&r.total, FIG_ACCEPTED) == 2.0);
	assert_true(fabs(fig(&r.total, FIG_SUB_DELAY_MAX) - 1.0) < 1e-9);
	res_rep_free(&r);
}

/* ---- random scenarios: accounting, determinism, common random numbers -- */

static uint64_t sm(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double su(uint64_t *x)
{
	return (double)(sm(x) >> 11) * 0x1.0p-53;
}

static void random_scenario(tscn *t, uint64_t seed)
{
	uint64_t x = seed;
	tscn_init(t, 6, 3, HOUR);
	t->s.seed = seed;
	tscn_pool(t, 2, 4);
	for (size_t m = 0; m < 6; m++) {
		t->mb[m].limits.message_rate.mode = (scn_rate_mode)(sm(&x) % 3);
		t->mb[m].limits.recipient_rate.limit = 200 + (int64_t)(sm(&x) % 400);
	}
	static const scn_arrival_kind kinds[3] = { ARR_POISSON, ARR_PERIODIC, ARR_BURSTS };
	for (size_t g = 0; g < 3; g++) {
		scn_sender *sd = &t->sd[g];
		sd->count = 1 + (int64_t)(sm(&x) % 5);
		if (g == 0) {
			sd->mailbox = (int)(sm(&x) % 2);
		} else {
			sd->pool = 0;
			sd->mailbox = -1;
			sd->assign = (scn_assign)(sm(&x) % 3);
		}
		sd->arrivals.kind = kinds[sm(&x) % 3];
		sd->arrivals.rate_per_s = 0.01 + 0.1 * su(&x);
		sd->arrivals.interval_ns = (int64_t)(5 + sm(&x) % 60) * S;
		sd->arrivals.jitter_ns = (int64_t)(sm(&x) % 5) * S;
		sd->arrivals.burst_size = (scn_dist){ .kind = DIST_UNIFORM_INT, .a = 1, .b = 8 };
		sd->arrivals.spacing_ns = 2 * S;
		sd->recipients = (scn_dist){ .kind = DIST_POISSON1, .a = 3 };
		sd->external = 0.3;
		sd->size = (scn_dist){ .kind = DIST_LOGNORMAL, .a = 200 * 1024, .b = 1.5 };
		sd->p_send_as_denied = 0.05 * su(&x);
		sd->p_invalid_recipients = 0.05 * su(&x);
		sd->connections = 1 + (int64_t)(sm(&x) % 3);
		sd->messages_per_session = 1 + (int64_t)(sm(&x) % 4);
		sd->idle_timeout_ns = (int64_t)(sm(&x) % 3) * 5 * S;
		sd->outbox_limit = (int64_t)(sm(&x) % 4) * 5;
		sd->bandwidth_bytes_per_s = 1e6;
		sd->retry = (scn_retry){ .base_ns = 5 * S, .factor = 1.5 + su(&x), .cap_ns = 120 * S,
					 .jitter = (scn_jitter)(sm(&x) % 4),
					 .max_attempts = (int64_t)(sm(&x) % 6),
					 .max_age_ns = (int64_t)(sm(&x) % 2) * 10 * MIN,
					 .honors_permanent = sm(&x) % 2 };
	}
}

static void test_accounting_random(void **state)
{
	(void)state;
	for (uint64_t k = 1; k <= 12; k++) {
		tscn t;
		random_scenario(&t, k);
		res_rep r;
		run1(&t.s, 0, &r);
		check_rep_accounting(&r);
		assert_true(fig(&r.total, FIG_GENERATED) > 0);
		res_rep_free(&r);
	}
}

static void same_rep(const res_rep *a, const res_rep *b)
{
	assert_memory_equal(&a->total, &b->total, sizeof a->total);
	assert_int_equal(a->n_groups, b->n_groups);
	assert_memory_equal(a->groups, b->groups, a->n_groups * sizeof *a->groups);
	assert_memory_equal(a->mailboxes, b->mailboxes, a->n_mailboxes * sizeof *a->mailboxes);
	assert_int_equal(a->n_series, b->n_series);
	assert_memory_equal(a->series, b->series, a->n_series * sizeof *a->series);
	assert_true(a->events == b->events);
}

/* Same scenario and replication twice, on either event set -> identical
 * figures; replications 0..3 in one batch or in reverse order -> each the
 * same.  A variant identical to the base -> identical.  A variant that
 * changes only the retry policy -> `generated` identical (arrival and
 * shape streams untouched). */
static void test_determinism_crn(void **state)
{
	(void)state;
	tscn t, u;
	random_scenario(&t, 7);
	res_rep a[4], b[4];
	for (int r = 0; r < 4; r++)
		run1(&t.s, r, &a[r]);
	for (int r = 3; r >= 0; r--) {
		char err[100];
		assert_int_equal(run_replication(&t.s, r, r % 2 ? EVS_HEAP : EVS_CALENDAR,
						 &sim_alloc_std, &b[r], err, sizeof err), 0);
	}
	for (int r = 0; r < 4; r++)
		same_rep(&a[r], &b[r]);
	assert_true(fig(&a[0].total, FIG_GENERATED) != fig(&a[1].total, FIG_GENERATED) ||
		    fig(&a[0].total, FIG_ACCEPTED) != fig(&a[1].total, FIG_ACCEPTED));
	for (int r = 0; r < 4; r++)
		res_rep_free(&b[r]);

	random_scenario(&u, 7); /* an identical variant */
	strcpy(u.s.variant, "same");
	for (int r = 0; r < 4; r++) {
		run1(&u.s, r, &b[r]);
		same_rep(&a[r], &b[r]);
		res_rep_free(&b[r]);
	}
	for (size_t g = 0; g < 3; g++) {
		u.sd[g].retry = (scn_retry){ .base_ns = 1 * S, .factor = 3, .jitter = JITTER_FULL,
					     .max_attempts = 0, .max_age_ns = HOUR, .honors_permanent = true };
	}
	for (int r = 0; r < 4; r++) {
		run1(&u.s, r, &b[r]);
		assert_true(fig(&a[r].total, FIG_GENERATED) == fig(&b[r].total, FIG_GENERATED));
		for (size_t g = 0; g < 3; g++)
			assert_true(fig(&a[r].groups[g], FIG_GENERATED) == fig(&b[r].groups[g], FIG_GENERATED));
		res_rep_free(&b[r]);
		res_rep_free(&a[r]);
	}
}

/* Every allocation failure is reported, leaves *out untouched and leaks
 * nothing. */
/* ---- overflow and livelock: what the loader cannot foresee -------------- */

/* A run that must stop with an error whose text begins with want. */
static void expect_run_error(const scenario *s, const char *want)
{
	char err[400];
	res_rep r;
	memset(&r, 0xA5, sizeof r);
	unsigned char before[sizeof r];
	memcpy(before, &r, sizeof r);
	int st = run_replication(s, 0, EVS_CALENDAR, &sim_alloc_std, &r, err, sizeof err);
	assert_int_equal(st, SIM_ERANGE);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("expected an error beginning '%s', got '%s'", want, err);
	assert_memory_equal(&r, before, sizeof r); /* *out untouched */
}

/* 100 GB over 1 B/s takes 10^11 s (3,400 years): the message is still
 * being sent when the hour ends.  Connect 0.3 s, submit 0.2 s + the
 * transfer: a wrapped sum once made it "accepted" at 0.3 s. */
static void test_transfer_overflow(void **state)
{
	(void)state;
	tscn t;
	tscn_init(&t, 1, 1, HOUR);
	scn_sender *sd = &t.sd[0];
	sd->bandwidth_bytes_per_s = 1;
	t.mb[0].limits.max_message_size = 0;
	scn_trace_row row = { 0, 0, 1, 0, 100LL << 30 };
	use_trace(sd, &row, 1);
	res_rep r;
	run1(&t.s, 0, &r);
	check_rep_accounting(&r);
	assert_true(fig(&r.total, FIG_GENERATED) == 1.0);
	assert_true(fig(&r.total, FIG_ACCEPTED) == 0.0);
	assert_true(fig(&r.total, FIG_PENDING) == 1.0);
	assert_true(fig(&r.total, FIG_CONN_OPENED) == 1.0);
	res_rep_free(&r);
}

/* Draws from unbounded distributions past the bounds of scenario.h stop
 * the run, naming the key.  Lognormal with median m and sigma 10 exceeds
 * m x 1.15 with probability 1 - Phi(0.014) ~ 0.49: with 60 messages a
 * minute the first such draw comes within seconds (never none: 0.51^60). */
static void test_unbounded_draws(void **state)
{
	(void)state;
	tscn t;
	tscn_init(&t, 1, 1, MIN);
	scn_sender *sd = &t.sd[0];
	sd->arrivals.kind = ARR_POISSON;
	sd->arrivals.rate_per_s = 1;
	sd->size = (scn_dist){ .kind = DIST_LOGNORMAL, .a = (double)SCN_MAX_SIZE_BYTES, .b = 10 };
	expect_run_error(&t.s, "senders.g.message.size: a draw of ");

	tscn_init(&t, 1, 1, MIN);
	sd->arrivals.kind = ARR_POISSON;
	sd->arrivals.rate_per_s = 1;
	sd->recipients = (scn_dist){ .kind = DIST_LOGNORMAL, .a = (double)SCN_MAX_RECIPIENTS, .b = 10 };
	expect_run_error(&t.s, "senders.g.message.recipients: a draw of ");
	/* with groups, the bound is on people: 2^40 / 2^20 recipients of 2^20 */
	sd->recipients = (scn_dist){ .kind = DIST_LOGNORMAL, .a = (double)(1LL << 20), .b = 10 };
	sd->group_members = 1LL << 20;
	expect_run_error(&t.s, "senders.g.message.recipients: a draw of ");

	tscn_init(&t, 1, 1, MIN);
	sd->arrivals.kind = ARR_BURSTS;
	sd->arrivals.rate_per_s = 1;
	sd->arrivals.burst_size = (scn_dist){ .kind = DIST_LOGNORMAL, .a = (double)SCN_MAX_BURST, .b = 10 };
	expect_run_error(&t.s, "senders.g.arrivals.bursts.size: a draw of ");
}

/* Recipients delivered: a trace row's 2^40 recipients, each a group of
 * 10^6, is 1.0995e18 people; eight such messages are 8.796e18, under
 * 2^63 = 9.223e18, counted exactly; the ninth passes 2^63 and stops the
 * run, where the count would have wrapped a few messages later. */
static void test_recipient_count_overflow(void **state)
{
	(void)state;
	tscn t;
	tscn_init(&t, 1, 1, HOUR);
	t.mb[0].limits.max_recipients_per_message = 0;
	t.mb[0].limits.recipient_rate.limit = 0;
	scn_sender *sd = &t.sd[0];
	sd->group_members = 1000000;
	scn_trace_row rows[9];
	for (int i = 0; i < 9; i++)
		rows[i] = (scn_trace_row){ i * S, 0, SCN_MAX_RECIPIENTS, 0, 1024 };
	use_trace(sd, rows, 8);
	res_rep r;
	run1(&t.s, 0, &r);
	assert_true(fig(&r.total, FIG_ACCEPTED) == 8.0);
	assert_true(fig(&r.total, FIG_RCPT_DELIVERED) == 8.0 * (double)SCN_MAX_RECIPIENTS * 1e6);
	res_rep_free(&r);
	use_trace(sd, rows, 9);
	expect_run_error(&t.s, "senders.g.message.recipients: more than 2^63 recipients delivered");
}

/* Connect time 0, back-off 0, a refusal at every AUTH (SMTP AUTH disabled
 * for the mailbox, a permanent reply the sender ignores): every attempt
 * of the one message is at t = 0.  max_attempts = N gives up after N
 * attempts, all at 0, which is fine up to the bound; above it (or
 * unlimited) the run stops at the bound's refusal, naming the sender,
 * instead of spinning for ever. */
static void test_zero_time_livelock(void **state)
{
	(void)state;
	tscn t;
	tscn_init(&t, 1, 1, HOUR);
	t.mb[0].smtp_client_auth_disabled = TRI_TRUE;
	t.mb[0].limits.auth_fail_tarpit_ns = 0;
	scn_sender *sd = &t.sd[0];
	strcpy(sd->name, "app");
	sd->connect_time_ns = 0;
	sd->retry = (scn_retry){ .base_ns = 0, .factor = 1, .jitter = JITTER_NONE,
				 .max_attempts = SCN_MAX_INSTANT_REFUSALS, .honors_permanent = false };
	scn_trace_row row = { 0, 0, 1, 0, 1024 };
	use_trace(sd, &row, 1);
	res_rep r;
	run1(&t.s, 0, &r);
	check_rep_accounting(&r);
	assert_true(fig(&r.total, FIG_ATTEMPTS) == (double)SCN_MAX_INSTANT_REFUSALS);
	assert_true(fig(&r.total, FIG_LOST_GAVE_UP) == 1.0);
	res_rep_free(&r);

	alarm(60); /* before the check existed this spun for ever: fail, do not hang */
	sd->retry.max_attempts = SCN_MAX_INSTANT_REFUSALS + 1;
	expect_run_error(&t.s, "senders.app: a message was refused 10000 times in a row at 0 s without simulated time advancing");
	sd->retry.max_attempts = 0;
	expect_run_error(&t.s, "senders.app: a message was refused 10000 times in a row at 0 s");
	alarm(0);
}

static void test_alloc_failures(void **state)
{
	(void)state;
	tscn t;
	random_scenario(&t, 3);
	t.s.duration_ns = 5 * MIN;
	for (long k = 1;; k++) {
		sim_alloc_failing f = { .fail_at = k };
		sim_alloc a = sim_alloc_failing_make(&f);
		res_rep r;
		memset(&r, 0xab, sizeof r);
		res_rep before = r;
		char err[100] = "";
		int st = run_replication(&t.s, 0, EVS_CALENDAR, &a, &r, err, sizeof err);
		if (st == SIM_OK) {
			res_rep_free(&r);
			assert_int_equal(f.live, 0);
			break;
		}
		assert_int_equal(st, SIM_ENOMEM);
		assert_true(err[0] != '\0'); /* a reason, for the user */
		assert_memory_equal(&r, &before, sizeof r);
		assert_int_equal(f.live, 0);
		assert_true(k < 100000);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_erlang_b_fixed),
		cmocka_unit_test(test_erlang_b_lognormal),
		cmocka_unit_test(test_end_of_data_poisson_tail),
		cmocka_unit_test(test_erlang_b_exponential),
		cmocka_unit_test(test_rate_reject),
		cmocka_unit_test(test_rate_delay),
		cmocka_unit_test(test_rrl),
		cmocka_unit_test(test_error_throttle),
		cmocka_unit_test(test_concurrency_boundary),
		cmocka_unit_test(test_concurrency_end_of_data),
		cmocka_unit_test(test_pools),
		cmocka_unit_test(test_least_loaded),
		cmocka_unit_test(test_backoff_giveup),
		cmocka_unit_test(test_outbox_overflow),
		cmocka_unit_test(test_accounting_random),
		cmocka_unit_test(test_determinism_crn),
		cmocka_unit_test(test_transfer_overflow),
		cmocka_unit_test(test_unbounded_draws),
		cmocka_unit_test(test_zero_time_livelock),
		cmocka_unit_test(test_recipient_count_overflow),
		cmocka_unit_test(test_alloc_failures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
