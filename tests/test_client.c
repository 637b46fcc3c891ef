/* test_client.c - how applications really send (docs/MODEL.md "Client
 * behaviours"): pacing in batches and a gap between messages, abort on the
 * first refusal, a discarded end-of-data reply (believed_sent), a pool
 * that stops dialling, serialised connects, a read timeout; the service's
 * session lifetime cap and the fixed-day reading of the recipient window.
 * Every expected value is worked out by hand in the comment beside it,
 * on small deterministic scenarios (connect and submit times fixed, a
 * trace of messages, no random draw that matters). */
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
#include "limiter.h"
#include "presets.h"
#include "record.h"
#include "run.h"
#include "scn_load.h"
#include "sender.h"
#include "service.h"
#include "status.h"

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

/* n messages of one recipient, the k-th at times[k] (or all at 0 if times
 * is NULL), from instance 0; connect and submit take no time unless the
 * test says so; no retry. */
static void tscn_init(tscn *t, size_t n, const int64_t *times, int64_t duration_ns)
{
	memset(t, 0, sizeof *t);
	scenario *s = &t->s;
	strcpy(s->name, "client");
	strcpy(s->variant, "base");
	s->start_unix_s = 1772409600; /* Monday 2026-03-02 00:00 UTC */
	s->duration_ns = duration_ns;
	s->seed = 7;
	s->replications = 1;
	s->series_step_ns = 1 * S;
	s->tenant = (scn_tenant){ .basic_auth_enabled = true, .licenses = 1 };
	scn_mailbox *mb = &t->mb[0];
	strcpy(mb->name, "app@contoso.com");
	mb->pool = -1;
	mb->smtp_client_auth_disabled = TRI_UNSET;
	mb->quota_bytes = 100LL << 30;
	mb->licensed = true;
	assert_int_equal(preset_fill("exchange-online", &mb->limits), 0);
	mb->limits.external_rate.limit = 0;
	mb->limits.onmicrosoft_rate.limit = 0;
	mb->limits.message_rate.limit = 0; /* the tests that want it set it */
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
	sd->size = (scn_dist){ .kind = DIST_FIXED, .a = 1000 };
	sd->connections = 1;
	sd->messages_per_session = 1;
	sd->retry = (scn_retry){ .base_ns = 60 * S, .factor = 1, .max_attempts = 1, .honors_permanent = true };
	t->rows = calloc(n ? n : 1, sizeof *t->rows);
	assert_non_null(t->rows);
	for (size_t k = 0; k < n; k++)
		t->rows[k] = (scn_trace_row){ .time_ns = times ? times[k] : 0, .instance = 0, .recipients = 1,
					      .size_bytes = 1000 };
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
	snd_series_advance(&r->w, s->duration_ns);
	assert_true(snd_world_check(&r->w));
}

static void rig_free(rig *r, tscn *t)
{
	snd_world_free(&r->w);
	svc_free(r->v);
	sim_engine_free(r->e);
	free(t->rows);
}

/* The instance's pending messages (generated = accepted + lost + pending). */
static int64_t pending(const rig *r)
{
	return r->w.inst[0].unresolved;
}

/* ---- 1. pacing ------------------------------------------------------------ */

/* 30 messages, then sleep 60 s, one session, 1 s per message: messages end
 * at 1, 2, ..., 30 s; the session sleeps [30, 90); the next 30 end at 91 ..
 * 120; sleep [120, 180); 181 .. 210; sleep [210, 270).  So exactly 30 per
 * 90 s: 90 accepted in [0, 270) (and in [0, 271): the 91st would end at
 * 271, not before the end), 30 in [0, 90) and [0, 91). */
static void test_batch_pause_per_connection(void **state)
{
	(void)state;
	static const int64_t durations_s[] = { 90, 91, 120, 121, 270, 271 };
	static const uint64_t want[] = { 30, 30, 59, 60, 90, 90 };
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		tscn t;
		tscn_init(&t, 200, NULL, durations_s[i] * S);
		scn_sender *sd = &t.sd[0];
		sd->messages_per_session = INT64_MAX;
		sd->submit_time_ns = 1 * S;
		sd->batch_size = 30;
		sd->batch_pause_ns = 60 * S;
		rig r;
		rig_run(&r, &t.s);
		if (r.w.total.accepted != want[i])
			fail_msg("over %lld s: %llu accepted, want %llu", (long long)durations_s[i],
				 (unsigned long long)r.w.total.accepted, (unsigned long long)want[i]);
		/* the session stayed open through the pauses */
		assert_int_equal(r.w.total.conn_opened, 1);
		assert_int_equal(r.w.total.accepted + pending(&r), 200);
		rig_free(&r, &t);
	}
}

/* Without a session to keep (one message per session), the pause is taken
 * out of session: 30 connections, then 60 s, then 30 more: in [0, 270)
 * with 1 s per message, 90 accepted over 90 connections. */
static void test_batch_pause_out_of_session(void **state)
{
	(void)state;
	tscn t;
	tscn_init(&t, 200, NULL, 270 * S);
	scn_sender *sd = &t.sd[0];
	sd->submit_time_ns = 1 * S;
	sd->batch_size = 30;
	sd->batch_pause_ns = 60 * S;
	rig r;
	rig_run(&r, &t.s);
	assert_int_equal(r.w.total.accepted, 90);
	assert_int_equal(r.w.total.conn_opened, 90);
	rig_free(&r, &t);
}

/* batch_per: instance, two connections, 1 s per message, batch 10 then
 * 60 s: both workers send at 0; their messages end in pairs at 1, 2, 3,
 * 4, 5 s.  At 5 s worker 0 ends the 9th (and starts another, ending at
 * 6 s), worker 1 the 10th: the instance sleeps until 65 s.  Worker 0's
 * message ending at 6 s counts (11), then it sleeps too: 11 accepted in
 * [0, 65). */
static void test_batch_pause_per_instance(void **state)
{
	(void)state;
	tscn t;
	tscn_init(&t, 100, NULL, 65 * S);
	scn_sender *sd = &t.sd[0];
	sd->connections = 2;
	sd->messages_per_session = INT64_MAX;
	sd->submit_time_ns = 1 * S;
	sd->batch_size = 10;
	sd->batch_pause_ns = 60 * S;
	sd->batch_per = BATCH_PER_INSTANCE;
	rig r;
	rig_run(&r, &t.s);
	assert_int_equal(r.w.total.accepted, 11);
	assert_int_equal(r.w.total.conn_opened, 2);
	rig_free(&r, &t);
}

/* message_gap 4 s within a session, 1 s per message: a message every 5 s,
 * ending at 1, 6, 11, ...: in [0, 60) the 12 ending at 1 .. 56. */
static void test_message_gap(void **state)
{
	(void)state;
	tscn t;
	tscn_init(&t, 50, NULL, 60 * S);
	scn_sender *sd = &t.sd[0];
	sd->messages_per_session = INT64_MAX;
	sd->submit_time_ns = 1 * S;
	sd->message_gap_ns = 4 * S;
	rig r;
	rig_run(&r, &t.s);
	assert_int_equal(r.w.total.accepted, 12);
	rig_free(&r, &t);
}

/* ---- 2. abort on the first refusal ------------------------------------------ */

/* 10 messages in one session, 1 s each; the message rate in reject mode
 * at 3 per minute refuses the 4th (450, transient).  abort_on: transient
 * stops the job there: 3 accepted, the 4th and the 6 behind it aborted
 * (7), nothing pending; the refusal is counted in rejected_by. */
static void test_abort_on_first_refusal(void **state)
{
	(void)state;
	tscn t;
	tscn_init(&t, 10, NULL, 600 * S);
	t.mb[0].limits.message_rate.limit = 3;
	t.mb[0].limits.message_rate.mode = RATE_REJECT;
	scn_sender *sd = &t.sd[0];
	sd->messages_per_session = INT64_MAX;
	sd->submit_time_ns = 1 * S;
	sd->retry.max_attempts = 5; /* it would retry: the abort comes first */
	sd->retry.abort_on = SCN_ABORT_TRANSIENT;
	rig r;
	rig_run(&r, &t.s);
	const snd_counts *c = &r.w.total;
	assert_int_equal(c->accepted, 3);
	assert_int_equal(c->lost, 7);
	assert_int_equal(c->lost_aborted, 7);
	assert_int_equal(c->aborted_tried, 1);
	assert_int_equal(c->rejected_by[RC_MESSAGE_RATE], 1);
	assert_int_equal(c->attempts, 4);
	assert_int_equal(pending(&r), 0);
	rig_free(&r, &t);
}

/* A pool of 4 connections on one mailbox: the 4 submissions end at 1 s;
 * the first to be decided sees 3 others in progress and gets the 432; the
 * other three are accepted (each sees fewer).  abort_on: concurrency:
 * the 432's message and the 6 left in the outbox are aborted: 3 accepted,
 * 7 aborted.  A later arrival (at 100 s) is aborted at once. */
static void test_abort_on_432_pool(void **state)
{
	(void)state;
	int64_t times[11];
	for (int k = 0; k < 10; k++)
		times[k] = 0;
	times[10] = 100 * S;
	tscn t;
	tscn_init(&t, 11, times, 600 * S);
	scn_sender *sd = &t.sd[0];
	sd->connections = 4;
	sd->submit_time_ns = 1 * S;
	sd->retry.abort_on_classes = UINT64_C(1) << RC_CONCURRENCY;
	rig r;
	rig_run(&r, &t.s);
	const snd_counts *c = &r.w.total;
	assert_int_equal(c->accepted, 3);
	assert_int_equal(c->lost_aborted, 8);
	assert_int_equal(c->lost, 8);
	assert_int_equal(c->rejected_by[RC_CONCURRENCY], 1);
	assert_int_equal(c->generated, 11);
	assert_int_equal(pending(&r), 0);
	rig_free(&r, &t);
}

/* abort_on names other kinds: a transient refusal of a job that aborts on
 * permanent ones only is handled as before (lost, gave_up at
 * max_attempts 1), and the job goes on: 3 accepted, then 7 refused. */
static void test_abort_kind_not_matched(void **state)
{
	(void)state;
	tscn t;
	tscn_init(&t, 10, NULL, 30 * S);
	t.mb[0].limits.message_rate.limit = 3;
	t.mb[0].limits.message_rate.mode = RATE_REJECT;
	scn_sender *sd = &t.sd[0];
	sd->messages_per_session = INT64_MAX;
	sd->submit_time_ns = 1 * S;
	sd->retry.abort_on = SCN_ABORT_PERMANENT;
	rig r;
	rig_run(&r, &t.s);
	assert_int_equal(r.w.total.accepted, 3);
	assert_int_equal(r.w.total.lost_gave_up, 7);
	assert_int_equal(r.w.total.lost_aborted, 0);
	rig_free(&r, &t);
}

/* ---- 3. the end-of-data reply discarded ------------------------------------ */

/* The pool of 4 as above, 4 messages: the first decided gets the 432,
 * which the library discards: the message is lost (its class in lost_by)
 * and believed sent; the application counts 4 sent, the service accepted
 * 3. */
static void test_ignored_432_believed_sent(void **state)
{
	(void)state;
	tscn t;
	tscn_init(&t, 4, NULL, 60 * S);
	scn_sender *sd = &t.sd[0];
	sd->connections = 4;
	sd->submit_time_ns = 1 * S;
	sd->ignores_data_reply = true;
	rig r;
	rig_run(&r, &t.s);
	const snd_counts *c = &r.w.total;
	assert_int_equal(c->accepted, 3);
	assert_int_equal(c->believed_sent, 1);
	assert_int_equal(c->lost, 1);
	assert_int_equal(c->lost_by[RC_CONCURRENCY], 1);
	assert_int_equal(c->lost_gave_up, 0);
	assert_int_equal(c->accepted + c->believed_sent, 4);
	rig_free(&r, &t);
}

/* The message rate in reject mode at 3 a minute, 10 messages in one
 * session: the 450s do not close it, the application goes on with the
 * next message at once: 3 accepted, 7 believed sent, all in one session,
 * no retry. */
static void test_ignored_reply_session_goes_on(void **state)
{
	(void)state;
	tscn t;
	tscn_init(&t, 10, NULL, 60 * S);
	t.mb[0].limits.message_rate.limit = 3;
	t.mb[0].limits.message_rate.mode = RATE_REJECT;
	scn_sender *sd = &t.sd[0];
	sd->messages_per_session = INT64_MAX;
	sd->submit_time_ns = 1 * S;
	sd->retry.max_attempts = 3;
	sd->ignores_data_reply = true;
	rig r;
	rig_run(&r, &t.s);
	const snd_counts *c = &r.w.total;
	assert_int_equal(c->accepted, 3);
	assert_int_equal(c->believed_sent, 7);
	assert_int_equal(c->conn_opened, 1);
	assert_int_equal(c->retries, 0);
	rig_free(&r, &t);
}

/* ---- 4. a pool that stops dialling ----------------------------------------- */

/* Wrong credentials (535, permanent), connect 1 s, 5 messages at 0 and a
 * 6th at 100 s; dial_stop_after 2, dial_resume at the next message: the
 * connections of messages 1 and 2 fail at 1 and 2 s, the pool stops
 * (message 3 waits with its worker, 4 and 5 in the outbox); the 6th
 * message resumes it at 100: messages 3 and 4 fail at 101 and 102, it
 * stops again.  Lost 4, 2 stops, 2 pending. */
static void test_dial_stop_next_message(void **state)
{
	(void)state;
	int64_t times[6] = { 0, 0, 0, 0, 0, 100 * S };
	tscn t;
	tscn_init(&t, 6, times, 200 * S);
	scn_sender *sd = &t.sd[0];
	sd->connect_time_ns = 1 * S;
	sd->bad_credentials = true;
	sd->dial_stop_after = 2;
	rig r;
	rig_run(&r, &t.s);
	const snd_counts *c = &r.w.total;
	assert_int_equal(c->lost, 4);
	assert_int_equal(c->lost_by[RC_BAD_CREDENTIALS], 4);
	assert_int_equal(c->dial_stops, 2);
	assert_int_equal(c->attempts, 4);
	assert_int_equal(pending(&r), 2);
	assert_int_equal(r.w.workers[0].state, SW_DIAL_WAIT);
	rig_free(&r, &t);
}

/* The same with dial_resume 30 s: stopped at 2 s, resumed at 32: messages
 * 3 and 4 fail at 33 and 34 (stop), resumed at 64: message 5 fails at 65;
 * the 6th, at 100, fails at 101: the 2nd failure in a row, a 3rd stop.
 * Everything lost, nothing pending. */
static void test_dial_stop_timer(void **state)
{
	(void)state;
	int64_t times[6] = { 0, 0, 0, 0, 0, 100 * S };
	tscn t;
	tscn_init(&t, 6, times, 200 * S);
	scn_sender *sd = &t.sd[0];
	sd->connect_time_ns = 1 * S;
	sd->bad_credentials = true;
	sd->dial_stop_after = 2;
	sd->dial_resume_ns = 30 * S;
	rig r;
	rig_run(&r, &t.s);
	const snd_counts *c = &r.w.total;
	assert_int_equal(c->lost, 6);
	assert_int_equal(c->dial_stops, 3);
	assert_int_equal(pending(&r), 0);
	/* the losses at 1, 2, 33, 34, 65, 101 s (series step 1 s) */
	static const size_t at[] = { 1, 2, 33, 34, 65, 101 };
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(r.w.series[at[i]].lost, 1);
	rig_free(&r, &t);
}

/* ---- 5. serialised connects ------------------------------------------------- */

/* 3 connections, connect 2 s, 3 messages at 0, submit 0: one thread opens
 * them in turn, so the sessions open (and the messages are accepted) at
 * 2, 4 and 6 s: submission delays 2 + 4 + 6 = 12 s, max 6 s.  Without
 * serial_connect all three at 2 s. */
static void test_serial_connect(void **state)
{
	(void)state;
	for (int serial = 0; serial <= 1; serial++) {
		tscn t;
		tscn_init(&t, 3, NULL, 60 * S);
		scn_sender *sd = &t.sd[0];
		sd->connections = 3;
		sd->connect_time_ns = 2 * S;
		sd->serial_connect = serial;
		rig r;
		rig_run(&r, &t.s);
		const snd_counts *c = &r.w.mailboxes[0];
		assert_int_equal(c->accepted, 3);
		assert_int_equal(c->sub_max_ns, (serial ? 6 : 2) * S);
		assert_true(fabs(c->sub_sum_s - (serial ? 12.0 : 6.0)) < 1e-9);
		rig_free(&r, &t);
	}
}

/* ---- 6. read timeout ------------------------------------------------------- */

/* A failed AUTH answered after a 5 s tarpit (exchange-server's
 * auth_fail_tarpit), wrong credentials, connect 0: with read_timeout 2 s
 * the client gives up at 2 s, a timeout with no reply class (lost with no
 * reply); without it the 535 comes at 5 s. */
static void test_read_timeout_auth(void **state)
{
	(void)state;
	for (int rt = 0; rt <= 1; rt++) {
		tscn t;
		tscn_init(&t, 1, NULL, 60 * S);
		t.mb[0].limits.auth_fail_tarpit_ns = 5 * S;
		scn_sender *sd = &t.sd[0];
		sd->bad_credentials = true;
		sd->read_timeout_ns = rt ? 2 * S : 0;
		rig r;
		rig_run(&r, &t.s);
		const snd_counts *c = &r.w.total;
		assert_int_equal(c->lost, 1);
		assert_int_equal(c->auth_timeouts, rt ? 1 : 0);
		assert_int_equal(c->lost_no_reply, rt ? 1 : 0);
		assert_int_equal(c->lost_by[RC_BAD_CREDENTIALS], rt ? 0 : 1);
		assert_int_equal(r.w.series[rt ? 2 : 5].lost, 1);
		rig_free(&r, &t);
	}
}

/* The message rate in tarpit mode at 1 per 40 s, two messages at 0: the
 * second is held from 0.  read_timeout 10 s from the end of data: the
 * client gives up at 10 s (a data timeout; lost with no reply after
 * max_attempts 1) and the service still accepts the held copy at 40 s. */
static void test_read_timeout_held_reply(void **state)
{
	(void)state;
	tscn t;
	tscn_init(&t, 2, NULL, 60 * S);
	t.mb[0].limits.message_rate.limit = 1;
	t.mb[0].limits.message_rate.window_ns = 40 * S;
	t.mb[0].limits.message_rate.mode = RATE_TARPIT;
	scn_sender *sd = &t.sd[0];
	sd->connections = 2;
	sd->read_timeout_ns = 10 * S;
	rig r;
	rig_run(&r, &t.s);
	const snd_counts *c = &r.w.total;
	assert_int_equal(c->accepted, 1);
	assert_int_equal(c->data_timeouts, 1);
	assert_int_equal(c->lost_no_reply, 1);
	assert_int_equal(r.w.series[10].lost, 1);
	rig_free(&r, &t);
}

/* ---- 7. the service's session lifetime ------------------------------------- */

/* session_lifetime 10 s, one session, 1 s per message, 20 messages at 0:
 * messages start at 0, 1, ..., 9 s and are accepted; the 11th starts at
 * exactly 10 s = AUTH + lifetime: 421 4.4.1, the session closes, the
 * message is lost (no retry) with no reply class; the 12th opens a new
 * session at 10 s and the 9 left are accepted by 19 s: 19 accepted, one
 * close, two sessions.  With 10 s + 1 ns and 11 messages, the 11th starts
 * 1 ns before the cap: 11 accepted in one session. */
static void test_session_lifetime(void **state)
{
	(void)state;
	for (int later = 0; later <= 1; later++) {
		tscn t;
		tscn_init(&t, later ? 11 : 20, NULL, 100 * S);
		t.mb[0].limits.session_lifetime_ns = 10 * S + later;
		scn_sender *sd = &t.sd[0];
		sd->messages_per_session = INT64_MAX;
		sd->submit_time_ns = 1 * S;
		rig r;
		rig_run(&r, &t.s);
		const snd_counts *c = &r.w.total;
		assert_int_equal(c->accepted, later ? 11 : 19);
		assert_int_equal(c->lifetime_closes, later ? 0 : 1);
		assert_int_equal(c->conn_opened, later ? 1 : 2);
		assert_int_equal(c->lost_no_reply, later ? 0 : 1);
		if (!later)
			assert_int_equal(r.w.series[10].lost, 1);
		rig_free(&r, &t);
	}
}

/* ---- 8. the recipient window: rolling or a fixed day ------------------------ */

/* A fixed window of 24 h starting at 06:00 (origin 6 h): an entry at
 * 05:00 leaves at exactly 06:00; one at 06:00 at 06:00 the next day.
 * Rolling: 24 h after it. */
static void test_fixed_window_sum(void **state)
{
	(void)state;
	const int64_t H = 3600 * S;
	lim_sum s;
	lim_sum_init(&s, 24 * H, 10);
	lim_sum_set_fixed(&s, 6 * H);
	assert_int_equal(lim_sum_expiry(&s, 5 * H), 6 * H);
	assert_int_equal(lim_sum_expiry(&s, 6 * H), 30 * H);
	assert_int_equal(lim_sum_expiry(&s, 6 * H - 1), 6 * H);
	assert_int_equal(lim_sum_add(&s, &sim_alloc_std, 5 * H, 10), SIM_OK);
	assert_int_equal(lim_sum_at(&s, 6 * H - 1), 10);
	assert_int_equal(lim_sum_at(&s, 6 * H), 0);
	/* blocked from 05:00 (sum 10 = limit) to the reset at 06:00 */
	assert_int_equal(lim_sum_blocked_ns(&s, 8 * H), 1 * H);
	lim_sum_free(&s, &sim_alloc_std);
	lim_sum_init(&s, 24 * H, 10);
	assert_int_equal(lim_sum_expiry(&s, 5 * H), 29 * H);
	lim_sum_free(&s, &sim_alloc_std);
	/* an origin outside [0, w) is reduced; times before it too */
	lim_sum_init(&s, 24 * H, 10);
	lim_sum_set_fixed(&s, -18 * H);
	assert_int_equal(lim_sum_expiry(&s, 0), 6 * H);
	lim_sum_free(&s, &sim_alloc_std);
}

/* The run, on a limit of 10 recipients: the scenario starts at 23:00 UTC;
 * 10 messages at 0 fill the window; a message at 1 h - 1 ns (23:59:59.999
 * 999 999) is refused 554 5.2.0 either way; one at exactly 1 h (00:00,
 * the reset with recipient_rate_reset "00:00") is accepted on a fixed day
 * and refused on the rolling 24 h (until 24 h). */
static void test_fixed_day_reset_run(void **state)
{
	(void)state;
	for (int fixed = 0; fixed <= 1; fixed++) {
		int64_t times[12];
		for (int k = 0; k < 10; k++)
			times[k] = 0;
		times[10] = 3600 * S - 1;
		times[11] = 3600 * S;
		tscn t;
		tscn_init(&t, 12, times, 7200 * S);
		t.s.start_unix_s += 23 * 3600;
		t.mb[0].limits.recipient_rate.limit = 10;
		t.mb[0].limits.recipient_rate.reset = fixed ? 1 : 0; /* 00:00 UTC */
		rig r;
		rig_run(&r, &t.s);
		const snd_counts *c = &r.w.total;
		assert_int_equal(c->accepted, fixed ? 11 : 10);
		assert_int_equal(c->lost_by[RC_RECIPIENT_RATE], fixed ? 1 : 2);
		rig_free(&r, &t);
	}
}

/* ---- 9. the loader ---------------------------------------------------------- */

static const char *load_error(const char *sender_extra, const char *limits)
{
	static char line[1200];
	char text[1024];
	int n = snprintf(text, sizeof text, "mailboxes: [{name: m@contoso.com}]\n%s"
			 "senders: [{name: app, arrivals: {poisson: 1/h}, %s}]\n", limits, sender_extra);
	scenario **v = NULL;
	size_t nv = 0;
	scn_errors errs = { 0 };
	int st = scn_load_buffer("k.yaml", text, (size_t)n, NULL, &sim_alloc_std, &v, &nv, &errs);
	if (st == SIM_OK) {
		scn_free_all(v, nv, &sim_alloc_std);
		return "";
	}
	assert_true(errs.n >= 1);
	scn_error_format(&errs.v[0], line, sizeof line);
	scn_errors_free(&errs);
	return line;
}

static void test_loader_errors(void **state)
{
	(void)state;
	static const struct { const char *sender, *limits, *err; } bad[] = {
		{ "session: {batch_size: 30}", "", "senders.app.session.batch_size: a batch needs a pause" },
		{ "session: {batch_pause: 60s}", "", "senders.app.session.batch_pause: batch_pause needs batch_size" },
		{ "session: {batch_size: 30, batch_pause: 1m, batch_per: thread}", "",
		  "senders.app.session.batch_per" },
		{ "session: {batch_size: -1, batch_pause: 1m}", "", "senders.app.session.batch_size" },
		{ "session: {message_gap: soon}", "", "senders.app.session.message_gap" },
		{ "session: {ignores_data_reply: maybe}", "", "senders.app.session.ignores_data_reply" },
		{ "session: {dial_resume: 5m}", "", "dial_resume needs dial_stop_after" },
		{ "session: {dial_stop_after: 3, dial_resume: 0s}", "", "must be longer than 0, or next_message" },
		{ "session: {read_timeout: 0s}", "", "senders.app.session.read_timeout: must be positive (or off)" },
		{ "retry: {abort_on: concurency}", "", "did you mean 'concurrency'" },
		{ "retry: {abort_on: [transient, off]}", "", "senders.app.retry.abort_on[1]: off stands alone" },
		{ "retry: {abort_on: ok}", "", "senders.app.retry.abort_on" },
		{ "", "limits: {session_lifetime: 0s}\n", "limits.session_lifetime: must be longer than 0 (or off)" },
		{ "", "limits: {recipient_rate_reset: midnight}\n", "limits.recipient_rate_reset: expected rolling" },
		{ "", "limits: {recipient_rate_reset: \"24:00\"}\n", "limits.recipient_rate_reset" },
		{ "", "limits: {recipient_rate_reset: \"9:00\"}\n", "limits.recipient_rate_reset" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const char *line = load_error(bad[i].sender, bad[i].limits);
		if (!strstr(line, bad[i].err))
			fail_msg("%s%s: got '%s', want '%s'", bad[i].sender, bad[i].limits, line, bad[i].err);
		/* file:line:col: key: message */
		if (strncmp(line, "k.yaml:", 7) != 0)
			fail_msg("no position: %s", line);
	}
}

static void test_loader_values(void **state)
{
	(void)state;
	const char *text = "mailboxes: [{name: m@contoso.com}]\n"
			   "limits: {session_lifetime: 20m, recipient_rate_reset: \"07:30\"}\n"
			   "senders: [{name: app, arrivals: {poisson: 1/h},\n"
			   "  session: {batch_size: 30, batch_pause: 60s, batch_per: instance, message_gap: 250ms,\n"
			   "            ignores_data_reply: true, serial_connect: true, dial_stop_after: 3,\n"
			   "            dial_resume: 5m, read_timeout: 100s},\n"
			   "  retry: {abort_on: [transient, send_as_denied, timeout]}}]\n";
	scenario **v = NULL;
	size_t nv = 0;
	assert_int_equal(scn_load_buffer("k.yaml", text, strlen(text), NULL, &sim_alloc_std, &v, &nv, NULL), SIM_OK);
	const scn_sender *sd = &v[0]->senders[0];
	assert_int_equal(sd->batch_size, 30);
	assert_int_equal(sd->batch_pause_ns, 60 * S);
	assert_int_equal(sd->batch_per, BATCH_PER_INSTANCE);
	assert_int_equal(sd->message_gap_ns, 250 * MS);
	assert_true(sd->ignores_data_reply);
	assert_true(sd->serial_connect);
	assert_int_equal(sd->dial_stop_after, 3);
	assert_int_equal(sd->dial_resume_ns, 300 * S);
	assert_int_equal(sd->read_timeout_ns, 100 * S);
	assert_int_equal(sd->retry.abort_on, SCN_ABORT_TRANSIENT | SCN_ABORT_TIMEOUT);
	assert_true(sd->retry.abort_on_classes == UINT64_C(1) << RC_SEND_AS_DENIED);
	const scn_limits *L = &v[0]->mailboxes[0].limits;
	assert_int_equal(L->session_lifetime_ns, 1200 * S);
	assert_int_equal(L->recipient_rate.reset, 1 + 7 * 3600 + 30 * 60);
	scn_free_all(v, nv, &sim_alloc_std);
	/* the defaults: every behaviour off */
	const char *plain = "mailboxes: [{name: m@contoso.com}]\n"
			    "senders: [{name: app, arrivals: {poisson: 1/h}}]\n";
	assert_int_equal(scn_load_buffer("k.yaml", plain, strlen(plain), NULL, &sim_alloc_std, &v, &nv, NULL), SIM_OK);
	sd = &v[0]->senders[0];
	assert_false(scn_sender_client_state(sd));
	assert_false(sd->ignores_data_reply);
	assert_int_equal(sd->read_timeout_ns, 0);
	assert_int_equal(v[0]->mailboxes[0].limits.session_lifetime_ns, 0);
	assert_int_equal(v[0]->mailboxes[0].limits.recipient_rate.reset, 0);
	scn_free_all(v, nv, &sim_alloc_std);
}

/* ---- 10. client profiles ---------------------------------------------------- */

/* Each profile's values, as the catalog (presets.c) gives them from its
 * source, and a sender's own keys over it. */
static void test_client_profiles_values(void **state)
{
	(void)state;
	const char *text = "mailboxes: [{name: m@contoso.com}]\n"
			   "senders:\n"
			   "  - {name: pool, client: pool, arrivals: {poisson: 1/h}}\n"
			   "  - {name: net, client: dotnet-smtpclient, arrivals: {poisson: 1/h}}\n"
			   "  - {name: mk, client: mailkit, arrivals: {poisson: 1/h}}\n"
			   "  - {name: py, client: smtplib-loop, arrivals: {poisson: 1/h}}\n"
			   "  - {name: mfp, client: mfp, arrivals: {poisson: 1/h}}\n"
			   "  - {name: pf, client: postfix-relay, arrivals: {poisson: 1/h}, session: {connections: 3},\n"
			   "     retry: {max_age: 1d}}\n";
	scenario **v = NULL;
	size_t nv = 0;
	assert_int_equal(scn_load_buffer("k.yaml", text, strlen(text), NULL, &sim_alloc_std, &v, &nv, NULL), SIM_OK);
	const scn_sender *sd = v[0]->senders;
	/* pool: 5 connections, 100 messages each, 10 min socket timeout, no retry */
	assert_int_equal(sd[0].connections, 5);
	assert_int_equal(sd[0].messages_per_session, 100);
	assert_int_equal(sd[0].read_timeout_ns, 600 * S);
	assert_int_equal(sd[0].retry.max_attempts, 1);
	/* .NET SmtpClient: one message per Send, Timeout 100 s */
	assert_int_equal(sd[1].messages_per_session, 1);
	assert_int_equal(sd[1].data_timeout_ns, 100 * S);
	/* MailKit: one connection for every message, 100 s per read */
	assert_int_equal(sd[2].messages_per_session, INT64_MAX);
	assert_int_equal(sd[2].read_timeout_ns, 100 * S);
	/* smtplib in a loop: the first exception ends it */
	assert_int_equal(sd[3].messages_per_session, INT64_MAX);
	assert_true(sd[3].retry.abort_on & SCN_ABORT_TRANSIENT);
	assert_true(sd[3].retry.abort_on & SCN_ABORT_PERMANENT);
	/* mfp: 3 tries a minute apart */
	assert_int_equal(sd[4].retry.max_attempts, 3);
	assert_int_equal(sd[4].retry.base_ns, 60 * S);
	/* postfix: the queue's schedule; the sender's keys win */
	assert_int_equal(sd[5].connections, 3);
	assert_int_equal(sd[5].retry.base_ns, 300 * S);
	assert_int_equal(sd[5].retry.cap_ns, 4000 * S);
	assert_int_equal(sd[5].retry.max_attempts, 0);
	assert_int_equal(sd[5].retry.max_age_ns, 86400 * S);
	assert_int_equal(sd[5].idle_timeout_ns, 2 * S);
	scn_free_all(v, nv, &sim_alloc_std);
	assert_true(strstr(load_error("client: mailkt", ""), "senders.app.client: unknown value 'mailkt' "
				      "(did you mean 'mailkit'?)") != NULL);
}

/* The pool profile on one mailbox, 5 messages at once, 1 s each: the
 * five ends of data at 1 s are decided in turn; the first sees 4 others
 * in progress, the second 3: both get the 432 and, with no retry, are
 * lost; the last three see 2, 1, 0 and are accepted.  The pool loses
 * every message beyond the third. */
static void test_pool_profile_loses_beyond_third(void **state)
{
	(void)state;
	tscn t;
	tscn_init(&t, 5, NULL, 60 * S);
	scn_sender *sd = &t.sd[0];
	assert_int_equal(preset_client_apply(0, sd), SIM_OK); /* pool */
	sd->submit_time_ns = 1 * S;
	rig r;
	rig_run(&r, &t.s);
	assert_int_equal(r.w.total.accepted, 3);
	assert_int_equal(r.w.total.lost_gave_up, 2);
	assert_int_equal(r.w.total.lost_by[RC_CONCURRENCY], 2);
	rig_free(&r, &t);
	/* smtplib in a loop, the same burst over one connection with the
	 * message rate at 3 a minute in reject mode: the 4th raises, the loop
	 * ends: 3 accepted, 2 aborted */
	tscn_init(&t, 5, NULL, 60 * S);
	t.mb[0].limits.message_rate.limit = 3;
	t.mb[0].limits.message_rate.mode = RATE_REJECT;
	sd = &t.sd[0];
	assert_int_equal(preset_client_apply(3, sd), SIM_OK); /* smtplib-loop */
	sd->submit_time_ns = 1 * S;
	rig_run(&r, &t.s);
	assert_int_equal(r.w.total.accepted, 3);
	assert_int_equal(r.w.total.lost_aborted, 2);
	rig_free(&r, &t);
}

/* ---- 11. a client's pacing and reactions read from serve's record ---------- */

/* One connection, 9 messages: three 0.5 s apart (from each reply to the
 * next data), then 60 s, three more, 60 s, three more; the 9th refused
 * with 432, the last line of the client.  Gaps: 0.5 s x 6, 60 s x 2;
 * their median (the lower middle) 0.5 s, so pauses are those over
 * max(5 s, 1 s): the two of 60 s; runs of 3 and 3 before them: batch_size
 * 3, batch_pause 60 s; the other gaps' median 0.5 s; one refusal, the
 * last line: stopped at its refusal. */
static void test_record_pacing(void **state)
{
	(void)state;
	static char text[16384];
	size_t n = (size_t)snprintf(text, sizeof text,
		"{\"ev\":\"start\",\"format\":1}\n"
		"{\"ev\":\"connect\",\"wall_ns\":0,\"model_ns\":0,\"conn\":1,\"peer\":\"127.0.0.1\"}\n"
		"{\"ev\":\"auth\",\"wall_ns\":0,\"model_ns\":500000000,\"conn\":1,\"stage\":\"auth\","
		"\"mech\":\"PLAIN\",\"identity\":\"app@contoso.com\",\"tls\":null,\"code\":235,\"enhanced\":\"2.7.0\"}\n");
	int64_t begin = 1000 * MS;
	for (int k = 1; k <= 9; k++) {
		int64_t reply = begin + 200 * MS;
		int code = k == 9 ? 432 : 250;
		n += (size_t)snprintf(text + n, sizeof text - n,
			"{\"ev\":\"message\",\"wall_ns\":%lld,\"model_ns\":%lld,\"conn\":1,\"mailbox\":\"app@contoso.com\","
			"\"from\":\"app@contoso.com\",\"from_header\":null,\"message_id\":\"m%d@x\",\"rcpt_internal\":1,"
			"\"rcpt_external\":0,\"size\":1000,\"bdat\":false,\"stage\":\"end_of_data\",\"code\":%d,"
			"\"enhanced\":\"%s\",\"data_begin_model_ns\":%lld}\n",
			(long long)reply, (long long)reply, k, code, code == 250 ? "2.0.0" : "4.3.2", (long long)begin);
		begin = reply + (k % 3 == 0 ? 60 * S : 500 * MS);
	}
	srec_reader *r = malloc(sizeof *r);
	srec_profile *p = malloc(sizeof *p);
	assert_non_null(r);
	assert_non_null(p);
	char msg[300];
	srec_init_mem(r, text, n);
	assert_int_equal(srec_profile_read(r, "app@contoso.com", &sim_alloc_std, p, msg, sizeof msg), 0);
	assert_int_equal(p->attempts, 9);
	assert_int_equal(p->gaps.n, 8);
	assert_int_equal(p->pauses, 2);
	assert_int_equal(p->batch_size, 3);
	assert_int_equal(p->batch_pause_ns, 60 * S);
	assert_int_equal(p->gap_median_ns, 500 * MS);
	assert_int_equal(p->refusals, 1);
	assert_true(p->stopped_at_refusal);
	srec_profile_free(p, &sim_alloc_std);
	free(p);
	free(r);
}

/* ---- 12. the shipped campaign ---------------------------------------------- */

static const char *root_path(const char *rel, char *buf, size_t len)
{
	const char *r = getenv("THROTTLESIM_ROOT");
	if (r && *r)
		snprintf(buf, len, "%s/%s", r, rel);
	else
		snprintf(buf, len, "%s", rel);
	return buf;
}

/* scenarios/campaign.yaml: 3,000 messages, a pool of 4 on one mailbox,
 * the end-of-data reply discarded.  Exact whatever the draws: nothing is
 * retried, pending or lost otherwise, so the application counts every
 * message sent (accepted + believed_sent = 3,000) and every loss is a
 * believed-sent 432; with 3 connections no submission ever sees 3 others
 * in progress, so none is refused.  With 4 some are (the first decided of
 * four ends of data that overlap sees three others): believed_sent > 0. */
static void test_shipped_campaign(void **state)
{
	(void)state;
	char path[1024];
	scenario **v = NULL;
	size_t n = 0;
	scn_errors e = { 0 };
	assert_int_equal(scn_load(root_path("scenarios/campaign.yaml", path, sizeof path), &sim_alloc_std, &v, &n, &e),
			 SIM_OK);
	assert_int_equal(n, 4);
	for (size_t i = 0; i < n; i++) {
		bool three = strcmp(v[i]->variant, "three-connections") == 0;
		bool reads = strcmp(v[i]->variant, "reads-the-reply") == 0;
		res_rep r;
		char err[256];
		assert_int_equal(run_replication(v[i], 0, EVS_CALENDAR, &sim_alloc_std, &r, err, sizeof err), SIM_OK);
		const double *f = r.total.fig;
		assert_true(f[FIG_GENERATED] == 3000);
		assert_true(f[FIG_PENDING] == 0);
		if (reads) {
			assert_true(f[FIG_BELIEVED_SENT] == 0);
		} else {
			assert_true(f[FIG_ACCEPTED] + f[FIG_BELIEVED_SENT] == 3000);
			assert_true(f[FIG_LOST] == f[FIG_BELIEVED_SENT]);
			assert_true(r.total.lost_by[RC_CONCURRENCY] == (uint64_t)f[FIG_BELIEVED_SENT]);
			if (three)
				assert_true(f[FIG_BELIEVED_SENT] == 0);
			else
				assert_true(f[FIG_BELIEVED_SENT] > 0);
		}
		res_rep_free(&r);
	}
	scn_free_all(v, n, &sim_alloc_std);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batch_pause_per_connection),
		cmocka_unit_test(test_batch_pause_out_of_session),
		cmocka_unit_test(test_batch_pause_per_instance),
		cmocka_unit_test(test_message_gap),
		cmocka_unit_test(test_abort_on_first_refusal),
		cmocka_unit_test(test_abort_on_432_pool),
		cmocka_unit_test(test_abort_kind_not_matched),
		cmocka_unit_test(test_ignored_432_believed_sent),
		cmocka_unit_test(test_ignored_reply_session_goes_on),
		cmocka_unit_test(test_dial_stop_next_message),
		cmocka_unit_test(test_dial_stop_timer),
		cmocka_unit_test(test_serial_connect),
		cmocka_unit_test(test_read_timeout_auth),
		cmocka_unit_test(test_read_timeout_held_reply),
		cmocka_unit_test(test_session_lifetime),
		cmocka_unit_test(test_fixed_window_sum),
		cmocka_unit_test(test_fixed_day_reset_run),
		cmocka_unit_test(test_loader_errors),
		cmocka_unit_test(test_loader_values),
		cmocka_unit_test(test_client_profiles_values),
		cmocka_unit_test(test_pool_profile_loses_beyond_third),
		cmocka_unit_test(test_record_pacing),
		cmocka_unit_test(test_shipped_campaign),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
