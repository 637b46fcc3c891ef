/* test_model2026.c - the model as Exchange Online behaves in 2026, end to
 * end through the loader and a replication: Basic authentication by the
 * scenario's start, the per-attempt fault draws (rate, and common random
 * numbers), the envelope refusals (nothing transferred). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "run.h"
#include "scn_load.h"
#include "status.h"

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

static void run1(const scenario *s, res_rep *r)
{
	char err[256];
	assert_int_equal(run_replication(s, 0, EVS_CALENDAR, &sim_alloc_std, r, err, sizeof err), SIM_OK);
}

static double fig(const res_entity *e, int f)
{
	return e->fig[f];
}

/* 20 messages from a Basic-auth sender, one a minute from 00:00:30. */
#define BASIC_SCENARIO(start, tenant) \
	"name: t\nstart: " start "\nduration: 20m\n" tenant \
	"mailboxes: [{name: a@contoso.com}]\n" \
	"senders:\n  - {name: s, mailbox: a@contoso.com, auth: basic,\n" \
	"     arrivals: {periodic: 1m, jitter: 0s}}\n"

/* From 2027 a tenant that says nothing has Basic off: every AUTH is the
 * 535 basic wall (no retry: each message lost under it); the day before
 * it is on; a tenant that turns it back on sends everything. */
static void test_basic_auth_by_date(void **state)
{
	(void)state;
	static const struct { const char *text; int basic_refused; } cases[] = {
		{ BASIC_SCENARIO("2027-01-04T00:00:00Z", ""), 1 },
		{ BASIC_SCENARIO("2026-12-31T23:00:00Z", ""), 0 },
		{ BASIC_SCENARIO("2027-01-04T00:00:00Z", "tenant: {basic_auth_enabled: true}\n"), 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t n;
		scenario **v = load(cases[i].text, &n);
		res_rep r;
		run1(v[0], &r);
		double gen = fig(&r.total, FIG_GENERATED);
		assert_true(gen == 20.0);
		if (cases[i].basic_refused) {
			assert_true(r.total.lost_by[RC_BASIC_DISABLED] == 20);
			assert_true(fig(&r.total, FIG_ACCEPTED) == 0.0);
		} else {
			assert_true(r.total.rejected_by[RC_BASIC_DISABLED] == 0);
			assert_true(fig(&r.total, FIG_ACCEPTED) == 20.0);
		}
		res_rep_free(&r);
		scn_free_all(v, n, &sim_alloc_std);
	}
}

#define FAULT_SCENARIO(limits) \
	"name: t\nduration: 1d\nseed: 5\n" \
	"mailboxes: [{name: a@contoso.com}]\n" limits \
	"senders:\n  - {name: s, mailbox: a@contoso.com, auth: oauth,\n" \
	"     arrivals: {periodic: 30s, jitter: 0s}}\n" \
	"variants:\n  - {name: faulty, set: {limits.data_fault_rate: 0.25}}\n"

/* data_fault_rate 0.25, no retry: each of the 2,880 messages is refused
 * 451 4.3.111 with probability 1/4, independently: the count is
 * Binomial(2880, 0.25), mean 720, sd 23.2; within 5 sd.  The base, with
 * no faults, generates the same messages (the draws shift no stream). */
static void test_data_fault_rate(void **state)
{
	(void)state;
	size_t n;
	scenario **v = load(FAULT_SCENARIO(""), &n);
	assert_int_equal(n, 2);
	res_rep b, f;
	run1(v[0], &b);
	run1(v[1], &f);
	assert_true(fig(&b.total, FIG_GENERATED) == 2880.0);
	assert_true(fig(&f.total, FIG_GENERATED) == 2880.0);
	assert_true(b.total.rejected_by[RC_DATA_TEMPORARY] == 0);
	double k = (double)f.total.rejected_by[RC_DATA_TEMPORARY];
	double sd = sqrt(2880 * 0.25 * 0.75);
	print_message("MRH1 refusals: %.0f of 2880 (expect 720 +- %.1f)\n", k, sd);
	assert_true(fabs(k - 720.0) < 5 * sd);
	assert_true(f.total.lost_by[RC_DATA_TEMPORARY] == (uint64_t)k); /* no retry */
	assert_true(fig(&f.total, FIG_ACCEPTED) == 2880.0 - k);
	res_rep_free(&b);
	res_rep_free(&f);
	scn_free_all(v, n, &sim_alloc_std);
}

/* Direct send with every recipient external: every message is refused
 * 550 5.7.54 before its data, at the end of connect_time (0.3 s), so the
 * 10-minute transfer is never spent.  Over 30 min, 15 messages (one every
 * 2 min): all 15 are lost under 5.7.54 by the end and none is pending;
 * had the transfer been spent, the ones generated in the last 10 minutes
 * would still be in it. */
static void test_envelope_refusal_no_transfer(void **state)
{
	(void)state;
	size_t n;
	scenario **v = load("name: t\nduration: 30m\nmailboxes: [{name: a@contoso.com}]\n"
	                    "routes: {mx: direct-send}\n"
	                    "senders:\n  - {name: s, mailbox: a@contoso.com, route: mx,\n"
	                    "     arrivals: {periodic: 2m, jitter: 0s},\n"
	                    "     message: {recipients: 3, external: 1}, session: {submit_time: 10m}}\n", &n);
	res_rep r;
	run1(v[0], &r);
	assert_true(fig(&r.total, FIG_GENERATED) == 15.0);
	assert_true(r.total.lost_by[RC_EXTERNAL_NOT_ALLOWED] == 15);
	assert_true(fig(&r.total, FIG_PENDING) == 0.0);
	assert_true(fig(&r.total, FIG_ACCEPTED) == 0.0);
	res_rep_free(&r);
	scn_free_all(v, n, &sim_alloc_std);
}

/* TERRL by tenant size: enforced with the auto limit up to 500 licenses
 * (phases 1-3), not above (phase 4 paused); an explicit limit is
 * enforced; terrl_enforced overrides.  auto = 500 x L^0.7 + 9,500,
 * rounded half up. */
static void test_terrl_enforcement(void **state)
{
	(void)state;
	static const struct { const char *tenant; int64_t licenses; int64_t want; } cases[] = {
		{ "", 1, -1 },                                                   /* auto(1) = 10,000 */
		{ "tenant: {licenses: 500}\n", 500, -1 },                        /* auto(500) */
		{ "tenant: {licenses: 501}\n", 501, 0 },                         /* phase 4: paused */
		{ "tenant: {licenses: 600, terrl_enforced: true}\n", 600, -1 },  /* auto(600) */
		{ "tenant: {licenses: 600, external_recipient_limit: 50}\n", 600, 50 },
		{ "tenant: {external_recipient_limit: 50, terrl_enforced: false}\n", 1, 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char text[512];
		snprintf(text, sizeof text, "name: t\nduration: 1h\n%smailboxes: [{name: a@contoso.com}]\n"
			 "senders:\n  - {name: s, mailbox: a@contoso.com, arrivals: {poisson: 1/h}}\n", cases[i].tenant);
		size_t n;
		scenario **v = load(text, &n);
		int64_t want = cases[i].want >= 0 ? cases[i].want
			: (int64_t)floor(500.0 * pow((double)cases[i].licenses, 0.7) + 9500.0 + 0.5);
		assert_true(v[0]->tenant.external_recipient_limit == want);
		assert_true(v[0]->mailboxes[0].limits.external_rate.limit == want);
		if (i == 0)
			assert_true(want == 10000);
		scn_free_all(v, n, &sim_alloc_std);
	}
}

/* acs with its hour window lowered to 2, the minute rate off: three
 * messages at 0 s, one connection, one message a session (connect 0.3 s,
 * submit 0.2 s).  The first two are accepted at 0.5 s and 1.0 s; the third
 * is refused at 1.5 s with the hint 0.5 + 3600 - 1.5 = 3599 s.  A client
 * that honours it waits 3599 s (not its 60 s back-off): it reconnects at
 * 3600.5 s, and at 3601.0 s both entries have left (an entry exactly an
 * hour back is outside): accepted, the last release at exactly 3601 s.
 * One that does not retries at 61.5 s, is refused again, and gives up
 * (2 attempts). */
#define ACS_SCENARIO(honours) \
	"name: t\nduration: 2h\nmailboxes: [{name: a@contoso.com}]\n" \
	"routes: {acs: {preset: acs, message_rate_limit: \"off\", message_cap_limit: 2}}\n" \
	"senders:\n  - {name: s, mailbox: a@contoso.com, route: acs,\n" \
	"     arrivals: {bursts: {at: \"2026-03-02T00:00:00Z\", count: 3}},\n" \
	"     retry: {policy: fixed, base: 60s, max_attempts: 2, honors_retry_after: " honours "}}\n"

static void test_retry_after(void **state)
{
	(void)state;
	size_t n;
	scenario **v = load(ACS_SCENARIO("true"), &n);
	res_rep r;
	run1(v[0], &r);
	assert_true(fig(&r.total, FIG_GENERATED) == 3.0);
	assert_true(fig(&r.total, FIG_ACCEPTED) == 3.0);
	assert_true(r.total.rejected_by[RC_MESSAGE_CAP] == 1);
	assert_true(fabs(fig(&r.total, FIG_LAST_RELEASE) - 3601.0) < 1e-9);
	res_rep_free(&r);
	scn_free_all(v, n, &sim_alloc_std);

	v = load(ACS_SCENARIO("false"), &n);
	run1(v[0], &r);
	assert_true(fig(&r.total, FIG_ACCEPTED) == 2.0);
	assert_true(r.total.rejected_by[RC_MESSAGE_CAP] == 2);
	assert_true(r.total.lost_by[RC_MESSAGE_CAP] == 1);
	assert_true(fabs(fig(&r.total, FIG_LAST_RELEASE) - 1.0) < 1e-9);
	res_rep_free(&r);
	scn_free_all(v, n, &sim_alloc_std);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic_auth_by_date),
		cmocka_unit_test(test_data_fault_rate),
		cmocka_unit_test(test_envelope_refusal_no_transfer),
		cmocka_unit_test(test_terrl_enforcement),
		cmocka_unit_test(test_retry_after),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
