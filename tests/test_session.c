/* test_session.c - the session keys a planner describes a client with
 * (docs/SCENARIOS.md "session", "faults"; docs/MODEL.md "Data timeout"):
 * connect and submit times as distributions, faults drawn per attempt,
 * bandwidth in bits, unlimited messages per session, and the client's data
 * timeout with the duplicates it makes.  Every expected value is worked
 * out in the comment beside it (closed forms, or exact counts in small
 * deterministic scenarios). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "clock_engine.h"
#include "presets.h"
#include "rng.h"
#include "scn_load.h"
#include "sender.h"
#include "service.h"
#include "status.h"
#include "units.h"

#define S SCN_NS_PER_S
#define MS (S / 1000)

/* ---- a scenario by hand: one mailbox (exchange-online, error throttles
 * and the tenant limit off), one sender replaying a trace ---------------- */

typedef struct tscn {
	scenario s;
	scn_mailbox mb[1];
	scn_sender sd[1];
	scn_route route[1];
	scn_trace_row *rows;
} tscn;

/* n messages of one recipient and size_bytes, the k-th at t[k] (or every
 * gap_ns from 0 if t is NULL), all from instance 0. */
static void tscn_init(tscn *t, size_t n, const int64_t *times, int64_t gap_ns, int64_t size_bytes,
		      int64_t duration_ns)
{
	memset(t, 0, sizeof *t);
	scenario *s = &t->s;
	strcpy(s->name, "session");
	strcpy(s->variant, "base");
	s->start_unix_s = 1772409600; /* Monday 2026-03-02 00:00 UTC */
	s->duration_ns = duration_ns;
	s->seed = 7;
	s->replications = 1;
	s->series_step_ns = 60 * S;
	s->tenant = (scn_tenant){ .basic_auth_enabled = true, .licenses = 1 };
	scn_mailbox *mb = &t->mb[0];
	strcpy(mb->name, "app@contoso.com");
	mb->pool = -1;
	mb->smtp_client_auth_disabled = TRI_UNSET;
	mb->quota_bytes = 100LL << 30;
	mb->licensed = true;
	assert_int_equal(preset_fill("exchange-online", &mb->limits), 0);
	mb->limits.external_rate.limit = 0;
	mb->limits.recipient_rate.limit = INT64_MAX / 4; /* counted by the service, never refusing */
	for (int c = 0; c < ERR_CLASS_COUNT; c++)
		mb->limits.error_throttle[c].enabled = false;
	strcpy(t->route[0].name, "smtp_auth");
	t->route[0].limits = mb->limits;
	scn_sender *sd = &t->sd[0];
	strcpy(sd->name, "app");
	sd->count = 1;
	sd->mailbox = 0;
	sd->pool = -1;
	sd->basic_auth = true;
	sd->recipients = (scn_dist){ .kind = DIST_FIXED, .a = 1 };
	sd->size = (scn_dist){ .kind = DIST_FIXED, .a = (double)size_bytes };
	sd->connections = 1;
	sd->messages_per_session = 1;
	sd->connect_time_ns = 0;
	sd->submit_time_ns = 0;
	sd->retry = (scn_retry){ .base_ns = 60 * S, .factor = 1, .max_attempts = 1, .honors_permanent = true };
	t->rows = calloc(n, sizeof *t->rows);
	assert_non_null(t->rows);
	for (size_t k = 0; k < n; k++)
		t->rows[k] = (scn_trace_row){ .time_ns = times ? times[k] : (int64_t)k * gap_ns, .instance = 0,
					      .recipients = 1, .size_bytes = size_bytes };
	sd->arrivals.kind = ARR_TRACE;
	sd->arrivals.trace = t->rows;
	sd->arrivals.trace_len = n;
	s->mailboxes = t->mb;
	s->n_mailboxes = 1;
	s->senders = t->sd;
	s->n_senders = 1;
	s->routes = t->route;
	s->n_routes = 1;
	s->alloc = sim_alloc_std;
}

/* One replication's client side and service, kept for inspection. */
typedef struct rig {
	sim_engine *e;
	svc *v;
	snd_world w;
} rig;

static void rig_run(rig *r, const scenario *s)
{
	memset(r, 0, sizeof *r);
	r->e = sim_engine_new(EVS_CALENDAR, &sim_alloc_std);
	assert_non_null(r->e);
	r->w.s = s;
	clk clock = clk_from_engine(r->e);
	r->v = svc_new(s, &clock, &sim_alloc_std, s->senders[0].count, snd_world_hooks(&r->w));
	assert_non_null(r->v);
	assert_int_equal(snd_world_init(&r->w, s, 0, r->e, r->v, &sim_alloc_std), SIM_OK);
	assert_int_equal(sim_run(r->e, s->duration_ns), SIM_OK);
	assert_int_equal(r->w.status, SIM_OK);
	assert_int_equal(svc_status(r->v), SIM_OK);
	assert_true(snd_world_check(&r->w));
}

static void rig_free(rig *r, tscn *t)
{
	snd_world_free(&r->w);
	svc_free(r->v);
	sim_engine_free(r->e);
	free(t->rows);
}

/* ---- 1. durations --------------------------------------------------------- */

/* Exponential with mean 1 s by inversion: over N draws the mean is 1 s
 * within 5 standard errors (sd 1 s / sqrt N), and the fraction over 2 s is
 * e^-2 within 5 binomial sds.  Uniform [1 s, 3 s]: mean 2 s, sd
 * 2/sqrt(12) s.  Lognormal by {mean, sd} = {1 s, 0.5 s}: the mean of the
 * draws is 1 s (the loader's conversion keeps the mean). */
static void test_duration_inversion(void **state)
{
	(void)state;
	enum { N = 200000 };
	rng_stream st;
	rng_stream_init(&st, 3, 0, 0, 0, RNG_SERVICE);
	scn_duration ex = { .kind = DUR_EXPONENTIAL, .a = 1e9 };
	scn_duration un = { .kind = DUR_UNIFORM, .a = 1e9, .b = 3e9 };
	double sum = 0, sum_u = 0;
	int over2 = 0;
	for (int i = 0; i < N; i++) {
		double x = snd_duration_inv(&ex, rng_uniform_open(&st));
		sum += x;
		over2 += x > 2e9;
		double y = snd_duration_inv(&un, rng_uniform_open(&st));
		assert_true(y >= 1e9 && y <= 3e9);
		sum_u += y;
	}
	assert_true(fabs(sum / N - 1e9) < 5 * 1e9 / sqrt(N));
	double p = exp(-2.0);
	assert_true(fabs((double)over2 / N - p) < 5 * sqrt(p * (1 - p) / N));
	assert_true(fabs(sum_u / N - 2e9) < 5 * (2e9 / sqrt(12.0)) / sqrt(N));

	/* The loader's lognormal {mean, sd}, and an empirical table. */
	const char *text = "mailboxes: [{name: m@contoso.com}]\n"
			   "senders: [{name: app, arrivals: {poisson: 1/h}, session: {\n"
			   "  connect_time: {lognormal: {mean: 1s, sd: 500ms}},\n"
			   "  submit_time: {empirical: [[100ms, 3], [2s, 1]]}}}]\n";
	scenario **v = NULL;
	size_t nv = 0;
	assert_int_equal(scn_load_buffer("d.yaml", text, strlen(text), NULL, &sim_alloc_std, &v, &nv, NULL), SIM_OK);
	const scn_sender *sd = &v[0]->senders[0];
	assert_int_equal(sd->connect_time.kind, DUR_LOGNORMAL);
	/* sigma^2 = ln(1 + 0.25), median = 1 s / sqrt(1.25) */
	assert_true(fabs(sd->connect_time.b - sqrt(log(1.25))) < 1e-12);
	assert_true(fabs(sd->connect_time.a - 1e9 / sqrt(1.25)) < 1e-3);
	double sum_l = 0;
	int slow = 0;
	for (int i = 0; i < N; i++) {
		sum_l += snd_duration_inv(&sd->connect_time, rng_uniform_open(&st));
		slow += snd_duration_inv(&sd->submit_time, rng_uniform_open(&st)) == 2e9;
	}
	assert_true(fabs(sum_l / N - 1e9) < 5 * 0.5e9 / sqrt(N));
	/* 2 s with weight 1 of 4 */
	assert_true(fabs((double)slow / N - 0.25) < 5 * sqrt(0.25 * 0.75 / N));
	scn_free_all(v, nv, &sim_alloc_std);
}

/* A run with submit_time exponential(mean 1 s), connect 0, messages 10 s
 * apart (no limit binds): the submission delay of each message is its
 * draw, so their mean is 1 s within 5 standard errors.  The service
 * stream is drawn exactly once per submission (common random numbers): a
 * fresh stream advanced by `accepted` uniforms is the instance's stream at
 * the end.  With the fixed default nothing is drawn: the stream is as
 * seeded. */
static void test_submit_time_exponential_run(void **state)
{
	(void)state;
	enum { N = 4000 };
	tscn t;
	tscn_init(&t, N, NULL, 10 * S, 1000, (int64_t)N * 10 * S + 60 * S);
	t.sd[0].submit_time = (scn_duration){ .kind = DUR_EXPONENTIAL, .a = 1e9 };
	rig r;
	rig_run(&r, &t.s);
	assert_int_equal(r.w.total.accepted, N);
	double mean = r.w.mailboxes[0].sub_sum_s / (double)N;
	assert_true(fabs(mean - 1.0) < 5.0 / sqrt(N));
	rng_stream fresh;
	rng_stream_init(&fresh, t.s.seed, 0, 0, 0, RNG_SERVICE);
	for (int i = 0; i < N; i++)
		(void)rng_uniform_open(&fresh);
	assert_memory_equal(&fresh, &r.w.inst[0].rs[RNG_SERVICE], sizeof fresh);
	rig_free(&r, &t);

	tscn_init(&t, 50, NULL, 10 * S, 1000, 600 * S);
	t.sd[0].submit_time_ns = 200 * MS; /* DUR_FIXED */
	t.sd[0].connect_time_ns = 300 * MS;
	rig_run(&r, &t.s);
	assert_int_equal(r.w.total.accepted, 50);
	rng_stream_init(&fresh, t.s.seed, 0, 0, 0, RNG_SERVICE);
	assert_memory_equal(&fresh, &r.w.inst[0].rs[RNG_SERVICE], sizeof fresh);
	/* every delay is exactly 0.3 s + 0.2 s */
	assert_int_equal(r.w.mailboxes[0].sub_max_ns, 500 * MS);
	rig_free(&r, &t);
}

/* ---- 2. faults per attempt ------------------------------------------------ */

/* send_as_denied p = 0.5, retried (honors_permanent off) up to 3 attempts:
 * drawn per attempt, a message is lost when all three draws fault, with
 * probability 1/8; drawn per message (the default), when its one draw
 * does, 1/2.  N messages: lost within 5 binomial sds of N p. */
static void test_fault_per_attempt(void **state)
{
	(void)state;
	enum { N = 8000 };
	for (int per_attempt = 0; per_attempt < 2; per_attempt++) {
		tscn t;
		tscn_init(&t, N, NULL, 10 * S, 1000, (int64_t)N * 10 * S + 60 * S);
		scn_sender *sd = &t.sd[0];
		sd->p_send_as_denied = 0.5;
		sd->faults_per_attempt = per_attempt;
		sd->retry = (scn_retry){ .base_ns = 1 * S, .factor = 1, .max_attempts = 3, .honors_permanent = false };
		rig r;
		rig_run(&r, &t.s);
		double p = per_attempt ? 1.0 / 8 : 0.5;
		double lost = (double)r.w.total.lost;
		assert_int_equal(r.w.total.lost, r.w.total.lost_gave_up);
		assert_int_equal(r.w.total.accepted + r.w.total.lost, N);
		assert_true(fabs(lost - N * p) < 5 * sqrt(N * p * (1 - p)));
		rig_free(&r, &t);
	}
	/* the loader's key */
	const char *text = "mailboxes: [{name: m@contoso.com}]\n"
			   "senders: [{name: app, arrivals: {poisson: 1/h}, faults: {send_as_denied: 0.1, per: attempt}}]\n";
	scenario **v = NULL;
	size_t nv = 0;
	assert_int_equal(scn_load_buffer("f.yaml", text, strlen(text), NULL, &sim_alloc_std, &v, &nv, NULL), SIM_OK);
	assert_true(v[0]->senders[0].faults_per_attempt);
	scn_free_all(v, nv, &sim_alloc_std);
}

/* ---- 3. bandwidth in bits ------------------------------------------------- */

/* 2 Mbit/s = 2 x 10^6 bits/s = 250,000 bytes/s (decimal, as links are
 * rated); a 1 MB message (2^20 bytes) takes 1048576 / 250000 = 4.194304 s
 * to send, exactly its submission delay with connect and submit time 0. */
static void test_bandwidth_bits(void **state)
{
	(void)state;
	double b = 0;
	assert_int_equal(unit_parse_bandwidth("2Mbit/s", &b, NULL, 0), 0);
	assert_true(b == 250000.0);
	assert_int_equal(unit_parse_bandwidth("512kbit/s", &b, NULL, 0), 0);
	assert_true(b == 64000.0);
	assert_int_equal(unit_parse_bandwidth("1Gbit/s", &b, NULL, 0), 0);
	assert_true(b == 125000000.0);
	assert_int_equal(unit_parse_bandwidth("8 bits/s", &b, NULL, 0), 0);
	assert_true(b == 1.0);
	assert_int_equal(unit_parse_bandwidth("10MB/s", &b, NULL, 0), 0); /* bytes stay binary */
	assert_true(b == 10.0 * 1048576);
	assert_int_equal(unit_parse_bandwidth("-2Mbit/s", &b, NULL, 0), SIM_ERANGE);
	assert_int_equal(unit_parse_bandwidth("2Mbit", &b, NULL, 0), 0); /* per second, as "10MB" is */
	assert_true(b == 250000.0);
	assert_int_equal(unit_parse_bandwidth("2Mbit/h", &b, NULL, 0), 0);
	assert_true(b == 250000.0 / 3600);

	tscn t;
	tscn_init(&t, 1, NULL, 0, 1 << 20, 60 * S);
	assert_int_equal(unit_parse_bandwidth("2Mbit/s", &t.sd[0].bandwidth_bytes_per_s, NULL, 0), 0);
	rig r;
	rig_run(&r, &t.s);
	assert_int_equal(r.w.total.accepted, 1);
	assert_int_equal(r.w.mailboxes[0].sub_max_ns, 4194304000LL);
	rig_free(&r, &t);
}

/* ---- 4. unlimited messages per session ------------------------------------ */

/* A burst of 10 at t = 0, one connection: with messages_per_session
 * unlimited the worker sends all ten in the session it opened for the
 * first (connections opened = 1); with the default of 1, ten sessions. */
static void test_unlimited_messages_per_session(void **state)
{
	(void)state;
	const char *text = "mailboxes: [{name: m@contoso.com}]\n"
			   "senders: [{name: app, arrivals: {poisson: 1/h}, session: {messages_per_session: unlimited}}]\n";
	scenario **v = NULL;
	size_t nv = 0;
	assert_int_equal(scn_load_buffer("u.yaml", text, strlen(text), NULL, &sim_alloc_std, &v, &nv, NULL), SIM_OK);
	int64_t unlimited = v[0]->senders[0].messages_per_session;
	assert_true(unlimited == INT64_MAX);
	scn_free_all(v, nv, &sim_alloc_std);

	for (int k = 0; k < 2; k++) {
		tscn t;
		int64_t at[10] = { 0 };
		tscn_init(&t, 10, at, 0, 1000, 600 * S);
		t.sd[0].messages_per_session = k ? unlimited : 1;
		t.sd[0].connect_time_ns = 300 * MS;
		t.sd[0].submit_time_ns = 200 * MS;
		rig r;
		rig_run(&r, &t.s);
		assert_int_equal(r.w.total.accepted, 10);
		assert_int_equal(r.w.total.conn_opened, k ? 1 : 10);
		rig_free(&r, &t);
	}
}

/* ---- 5. data timeout and duplicates --------------------------------------- */

/* The mailbox takes 1 message per 40 s, tarpitted (the reply held until
 * the window has room); the client waits 30 s for the end-of-data reply;
 * connect and submit take no time; back-off 60 s.  Two messages at t = 0,
 * two connections:
 *   t = 0   m1 accepted (the window was empty); m2 held, its room comes at
 *           40 (m1 leaves the window (now - 40 s, now]).
 *   t = 30  m2's client gives up (data timeout 1), retries at 90.
 *   t = 40  the service accepts m2's held copy (its client is gone).
 *   t = 90  m2's retry: the window holds the copy (40), which left it at
 *           80: accepted at once.
 * The client saw 2 messages accepted; the service accepted 3 (m1, m2
 * twice: 3 recipients in its 24 h window); duplicates 1; connections
 * opened 3; attempts 3.  With max_attempts 1 instead, m2 is given up at 30
 * (lost 1) though its copy is accepted at 40: the service accepted 2,
 * duplicates 0.  The worked times are checked by the delays: m2's
 * submission delay is 90 s. */
static void test_data_timeout_duplicates(void **state)
{
	(void)state;
	for (int retry = 1; retry >= 0; retry--) {
		tscn t;
		int64_t at[2] = { 0, 0 };
		tscn_init(&t, 2, at, 0, 1000, 600 * S);
		t.mb[0].limits.message_rate = (scn_window_count){ .limit = 1, .window_ns = 40 * S,
								  .scope = SCOPE_MAILBOX, .mode = RATE_TARPIT };
		scn_sender *sd = &t.sd[0];
		sd->connections = 2;
		sd->data_timeout_ns = 30 * S;
		sd->retry = (scn_retry){ .base_ns = 60 * S, .factor = 1, .max_attempts = retry ? 3 : 1,
					 .honors_permanent = true };
		rig r;
		rig_run(&r, &t.s);
		const snd_counts *c = &r.w.total;
		assert_int_equal(c->data_timeouts, 1);
		assert_int_equal(svc_mailbox_rrl_sum(r.v, 0, 600 * S), retry ? 3 : 2);
		if (retry) {
			assert_int_equal(c->accepted, 2);
			assert_int_equal(c->lost, 0);
			assert_int_equal(c->duplicates, 1);
			assert_int_equal(r.w.mailboxes[0].duplicates, 1);
			assert_int_equal(r.w.groups[0].duplicates, 1);
			assert_int_equal(c->conn_opened, 3);
			assert_int_equal(c->attempts, 3);
			assert_int_equal(r.w.mailboxes[0].sub_max_ns, 90 * S);
		} else {
			assert_int_equal(c->accepted, 1);
			assert_int_equal(c->lost_gave_up, 1);
			assert_int_equal(c->duplicates, 0);
			assert_int_equal(c->conn_opened, 2);
		}
		/* the copy's session ended when it was answered */
		assert_int_equal(svc_open_sessions(r.v), 0);
		rig_free(&r, &t);
	}
}

/* A timeout while the data is still being sent (submit_time 40 s > data
 * timeout 30 s) counts as a timeout too: the service never sees the end of
 * data, so nothing is accepted.  max_attempts 2, back-off 60 s: attempts at
 * 0 and 90 both time out (at 30 and 120); the message is given up at 120.
 * No copy is held, so no duplicate. */
static void test_data_timeout_in_transfer(void **state)
{
	(void)state;
	tscn t;
	tscn_init(&t, 1, NULL, 0, 1000, 600 * S);
	scn_sender *sd = &t.sd[0];
	sd->submit_time_ns = 40 * S;
	sd->data_timeout_ns = 30 * S;
	sd->retry = (scn_retry){ .base_ns = 60 * S, .factor = 1, .max_attempts = 2, .honors_permanent = true };
	rig r;
	rig_run(&r, &t.s);
	const snd_counts *c = &r.w.total;
	assert_int_equal(c->data_timeouts, 2);
	assert_int_equal(c->attempts, 2);
	assert_int_equal(c->lost_gave_up, 1);
	assert_int_equal(c->lost_no_reply, 1);   /* no reply was ever given: under no class */
	assert_int_equal(c->lost_by[RC_OK], 0);
	assert_int_equal(c->accepted, 0);
	assert_int_equal(c->duplicates, 0);
	assert_int_equal(svc_mailbox_rrl_sum(r.v, 0, 600 * S), 0);
	assert_int_equal(svc_open_sessions(r.v), 0);
	rig_free(&r, &t);
}

/* The loader: data_timeout is a positive duration or off; connect_time and
 * submit_time say what is wrong with a bad distribution. */
static void test_session_keys_loader(void **state)
{
	(void)state;
	static const struct { const char *session; const char *err; } bad[] = {
		{ "data_timeout: 0s", "must be positive (or off)" },
		{ "submit_time: {exponential: 0s}", "the mean must be positive" },
		{ "connect_time: {uniform: [2s, 1s]}", "low is above high" },
		{ "connect_time: {lognormal: {median: 1s, sd: 1s}}", "needs either {median, sigma} or {mean, sd}" },
		{ "submit_time: {gamma: 1s}", "gamma" },
		{ "messages_per_session: lots", "a whole number" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char text[512];
		int n = snprintf(text, sizeof text, "mailboxes: [{name: m@contoso.com}]\n"
				 "senders: [{name: app, arrivals: {poisson: 1/h}, session: {%s}}]\n", bad[i].session);
		scenario **v = NULL;
		size_t nv = 0;
		scn_errors errs = { 0 };
		assert_int_equal(scn_load_buffer("k.yaml", text, (size_t)n, NULL, &sim_alloc_std, &v, &nv, &errs),
				 SIM_ESCENARIO);
		assert_true(errs.n >= 1);
		char line[1200];
		scn_error_format(&errs.v[0], line, sizeof line);
		if (!strstr(line, bad[i].err))
			fail_msg("%s: %s", bad[i].session, line);
		scn_errors_free(&errs);
	}
	const char *text = "mailboxes: [{name: m@contoso.com}]\n"
			   "senders: [{name: app, arrivals: {poisson: 1/h}, session: {data_timeout: 30s,\n"
			   "  connect_time: {fixed: 1s}, submit_time: 250ms, bandwidth: 512kbit/s}}]\n";
	scenario **v = NULL;
	size_t nv = 0;
	assert_int_equal(scn_load_buffer("k.yaml", text, strlen(text), NULL, &sim_alloc_std, &v, &nv, NULL), SIM_OK);
	const scn_sender *sd = &v[0]->senders[0];
	assert_int_equal(sd->data_timeout_ns, 30 * S);
	assert_int_equal(sd->connect_time.kind, DUR_FIXED);
	assert_int_equal(sd->connect_time_ns, 1 * S);
	assert_int_equal(sd->submit_time_ns, 250 * MS);
	assert_true(sd->bandwidth_bytes_per_s == 64000.0);
	scn_free_all(v, nv, &sim_alloc_std);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration_inversion),
		cmocka_unit_test(test_submit_time_exponential_run),
		cmocka_unit_test(test_fault_per_attempt),
		cmocka_unit_test(test_bandwidth_bits),
		cmocka_unit_test(test_unlimited_messages_per_session),
		cmocka_unit_test(test_data_timeout_duplicates),
		cmocka_unit_test(test_data_timeout_in_transfer),
		cmocka_unit_test(test_session_keys_loader),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
