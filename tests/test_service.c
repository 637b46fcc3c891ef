/* test_service.c - the service side (models/service.c, limiter.c,
 * mailbox.c): every throttle boundary of MODEL.md, with expected values
 * worked out by hand in each test's comment.
 *
 * Tests drive svc_* directly with a real engine; time advances with
 * sim_run(e, t), which leaves the clock at t (events AT t stay pending, so
 * a test that wants an event at t runs to t + 1 ns).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock_engine.h"
#include "engine.h"
#include "limiter.h"
#include "mailbox.h"
#include "presets.h"
#include "service.h"
#include "status.h"

#define S  1000000000LL
#define MIN (60 * S)
#define H  (3600 * S)
#define DAY (24 * H)
#define GB (1024LL * 1024 * 1024)

/* ---- a small world: a scenario built by hand around a preset ---------- */

#define MAX_MBX 4
#define MAX_ANS 16

typedef struct world {
	scenario s;
	scn_mailbox mb[MAX_MBX];
	scn_route routes[1];
	sim_alloc alloc;
	sim_engine *e;
	svc *v;
	/* hook records */
	svc_session *answered[MAX_ANS];
	int64_t answered_at[MAX_ANS];
	int n_answered;
	int throttle_starts;
	int64_t throttle_start_ns, throttle_end_ns;
} world;

/* Clients: Basic or OAuth, TLS 1.2, valid credentials, no fault drawn. */
static const svc_client BASIC = { .basic_auth = true, .fault_u = 1.0 };
static const svc_client OAUTH = { .fault_u = 1.0 };

static void on_answer(void *ctx, svc_session *s, const svc_outcome *o)
{
	world *w = ctx;
	assert_int_equal(o->rc, RC_OK);
	assert_int_equal(o->release_ns, sim_now(w->e));
	assert_true(w->n_answered < MAX_ANS);
	w->answered[w->n_answered] = s;
	w->answered_at[w->n_answered] = sim_now(w->e);
	w->n_answered++;
}

static void on_throttle(void *ctx, int mailbox, scn_error_class c, int64_t start, int64_t end)
{
	world *w = ctx;
	(void)mailbox;
	(void)c;
	w->throttle_starts++;
	w->throttle_start_ns = start;
	w->throttle_end_ns = end;
}

/* n mailboxes with preset limits, 100 GB quota, empty, licensed, Sent Items
 * saved, SMTP AUTH following the tenant (enabled), Basic allowed.  The test
 * edits w->mb[i] / w->s.tenant, then calls start(). */
static world *mk_world(const char *preset, size_t n)
{
	world *w = calloc(1, sizeof *w);
	assert_non_null(w);
	assert_true(n <= MAX_MBX);
	for (size_t i = 0; i < n; i++) {
		snprintf(w->mb[i].name, sizeof w->mb[i].name, "mb%zu", i);
		w->mb[i].pool = -1;
		w->mb[i].smtp_client_auth_disabled = TRI_UNSET;
		w->mb[i].quota_bytes = 100 * GB;
		w->mb[i].save_sent_items = true;
		w->mb[i].licensed = true;
		assert_int_equal(preset_fill(preset, &w->mb[i].limits), 0);
		w->mb[i].limits.external_rate.limit = 0; /* TERRL off, as the loader resolves it */
	}
	strcpy(w->routes[0].name, "smtp_auth");
	w->s.mailboxes = w->mb;
	w->s.n_mailboxes = n;
	w->s.routes = w->routes;
	w->s.n_routes = 1;
	w->s.tenant.basic_auth_enabled = true;
	w->s.tenant.licenses = 1;
	w->s.duration_ns = 7 * DAY;
	w->alloc = sim_alloc_std;
	return w;
}

static void start_n(world *w, int64_t n_sources)
{
	w->e = sim_engine_new(EVS_CALENDAR, &w->alloc);
	assert_non_null(w->e);
	svc_hooks h = { .ctx = w, .held_answered = on_answer, .throttle_started = on_throttle };
	clk c = clk_from_engine(w->e);
	w->v = svc_new(&w->s, &c, &w->alloc, n_sources, h);
	assert_non_null(w->v);
}

static void start(world *w)
{
	start_n(w, 8);
}

static void end(world *w)
{
	assert_int_equal(svc_status(w->v), SIM_OK);
	svc_free(w->v);
	sim_engine_free(w->e);
	free(w);
}

static void at(world *w, int64_t t)
{
	assert_int_equal(sim_run(w->e, t), SIM_OK);
	assert_int_equal(sim_now(w->e), t);
}

static scn_reply_class auth(world *w, svc_session *s, int mailbox, int64_t source)
{
	svc_outcome o;
	assert_int_equal(svc_auth(w->v, s, 0, mailbox, source, &BASIC, &o), SIM_OK);
	return o.rc;
}

static scn_reply_class submit(world *w, svc_session *s, int64_t rcpt, int64_t ext,
			      int64_t size, svc_fault f, svc_outcome *out)
{
	svc_outcome o;
	svc_message m = { rcpt, ext, size, f, 1.0f };
	assert_int_equal(svc_submit(w->v, s, &m, &o), SIM_OK);
	if (out)
		*out = o;
	return o.rc;
}

static scn_reply_class submit1(world *w, svc_session *s)
{
	return submit(w, s, 1, 0, 50 * 1024, SVC_FAULT_NONE, NULL);
}

/* ---- concurrency ------------------------------------------------------ */

/* Every mailbox of w with concurrency_check: auth (the connection-level
 * reading, exact to the behaviour before end_of_data became the default). */
static void check_at_auth(world *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		w->mb[i].limits.connections.check = CONC_AT_AUTH;
}

/* exchange-online with concurrency_check: auth: 3 sessions per mailbox.  At 0 s three sessions open,
 * the 4th gets 432 4.3.2 (transient); at 10 s one quits and the next
 * opens (3 again); at 15 s one quits (2 open).  Over [0, 20 s):
 * open = 3 on [0,15), 2 on [15,20) -> average (3*15 + 2*5)/20 = 2.75;
 * at the limit (3) on [0,15) -> 15/20 = 0.75.  A second mailbox is not
 * affected (per-mailbox scope). */
static void test_concurrency_boundary(void **state)
{
	(void)state;
	world *w = mk_world("exchange-online", 2);
	check_at_auth(w, 2);
	start(w);
	svc_session s[5];
	svc_outcome o;
	for (int i = 0; i < 3; i++)
		assert_int_equal(auth(w, &s[i], 0, i), RC_OK);
	assert_int_equal(svc_auth(w->v, &s[3], 0, 0, 3, &BASIC, &o), SIM_OK);
	assert_int_equal(o.rc, RC_CONCURRENCY);
	assert_non_null(o.reply);
	assert_int_equal(o.reply->code, 432);
	assert_true(o.reply->transient);
	assert_int_equal(auth(w, &s[4], 1, 4), RC_OK); /* other mailbox */
	svc_quit(w->v, &s[4]);
	assert_int_equal(svc_open_sessions(w->v), 3);

	at(w, 10 * S);
	svc_quit(w->v, &s[0]);
	assert_int_equal(auth(w, &s[3], 0, 3), RC_OK);
	assert_int_equal(auth(w, &s[0], 0, 0), RC_CONCURRENCY);
	at(w, 15 * S);
	svc_quit(w->v, &s[1]);
	svc_quit(w->v, &s[1]); /* a closed session is ignored */
	assert_int_equal(svc_open_sessions(w->v), 2);

	res_entity r;
	memset(&r, 0, sizeof r);
	svc_mailbox_figures(w->v, 0, 20 * S, &r);
	assert_true(fabs(r.fig[FIG_SESSIONS_AVG] - 2.75) < 1e-12);
	assert_true(fabs(r.fig[FIG_AT_LIMIT_FRAC] - 0.75) < 1e-12);
	assert_true(isnan(r.fig[FIG_RRL_FIRST_REACHED]));
	assert_true(isnan(r.fig[FIG_RRL_FIRST_REFUSAL]));
	svc_quit(w->v, &s[2]);
	svc_quit(w->v, &s[3]);
	end(w);
}

/* concurrency_counts: submitting.  Four idle sessions open (idle ones do
 * not count); three begin a submission; a fifth AUTH is refused (3
 * submitting); one answer ends a submission and the next AUTH opens. */
static void test_concurrency_submitting(void **state)
{
	(void)state;
	world *w = mk_world("exchange-online", 1);
	check_at_auth(w, 1);
	w->mb[0].limits.connections.counts = COUNT_SUBMITTING;
	start(w);
	svc_session s[6];
	for (int i = 0; i < 4; i++)
		assert_int_equal(auth(w, &s[i], 0, i), RC_OK);
	for (int i = 0; i < 3; i++)
		assert_int_equal(svc_submission_begin(w->v, &s[i]), SIM_OK);
	assert_int_equal(svc_submission_begin(w->v, &s[0]), SIM_EINVAL); /* already */
	assert_int_equal(auth(w, &s[4], 0, 4), RC_CONCURRENCY);
	at(w, 1 * S);
	assert_int_equal(submit1(w, &s[0]), RC_OK);
	assert_int_equal(auth(w, &s[4], 0, 4), RC_OK);
	for (int i = 0; i < 5; i++)
		svc_quit(w->v, &s[i]);
	assert_int_equal(svc_open_sessions(w->v), 0);
	end(w);
}

/* ---- message rate ------------------------------------------------------ */

/* reject mode, 30 per sliding 60 s.  Messages at 0, 1, ..., 29 s: 30
 * accepted.  The 31st at 30 s and one at 59.999999999 s: window holds 30
 * -> refused (transient).  At 60 s the message of 0 s is exactly 60 s back,
 * outside (open on the left): 29 in the window, accepted.  A second one at
 * 60 s: (0, 60] holds 1..29 s and 60 s = 30 -> refused.  At 61 s the one
 * at 1 s leaves -> accepted. */
static void test_message_rate_reject(void **state)
{
	(void)state;
	world *w = mk_world("exchange-online", 1);
	w->mb[0].limits.message_rate.mode = RATE_REJECT;
	start(w);
	svc_session s;
	svc_outcome o;
	assert_int_equal(auth(w, &s, 0, 0), RC_OK);
	for (int k = 0; k < 30; k++) {
		at(w, k * S);
		assert_int_equal(submit(w, &s, 1, 0, 1000, SVC_FAULT_NONE, &o), RC_OK);
		assert_int_equal(o.release_ns, k * S);
	}
	at(w, 30 * S);
	assert_int_equal(submit(w, &s, 1, 0, 1000, SVC_FAULT_NONE, &o), RC_MESSAGE_RATE);
	assert_true(o.reply->transient);
	at(w, 60 * S - 1);
	assert_int_equal(submit1(w, &s), RC_MESSAGE_RATE);
	at(w, 60 * S);
	assert_int_equal(submit1(w, &s), RC_OK);
	assert_int_equal(submit1(w, &s), RC_MESSAGE_RATE);
	at(w, 61 * S);
	assert_int_equal(submit1(w, &s), RC_OK);
	svc_quit(w->v, &s);
	end(w);
}

/* delay mode (default): 60 messages accepted at 0 s, all 250.  Releases:
 * r_k = max(accept, r_(k-30) + 60 s): messages 1..30 at 0 s (delay 0),
 * 31..60 at 60 s (delay 60 s).  A 61st accepted at 10 s: r = max(10 s,
 * r_31 + 60 s) = 120 s (delay 110 s).  A 62nd at 200 s: r_32 + 60 = 120 s
 * < 200 s, so released at once. */
static void test_message_rate_delay(void **state)
{
	(void)state;
	world *w = mk_world("exchange-online", 1);
	start(w);
	svc_session s;
	svc_outcome o;
	assert_int_equal(auth(w, &s, 0, 0), RC_OK);
	for (int k = 1; k <= 60; k++) {
		assert_int_equal(submit(w, &s, 1, 0, 1000, SVC_FAULT_NONE, &o), RC_OK);
		assert_false(o.held);
		assert_int_equal(o.release_ns, k <= 30 ? 0 : 60 * S);
	}
	at(w, 10 * S);
	assert_int_equal(submit(w, &s, 1, 0, 1000, SVC_FAULT_NONE, &o), RC_OK);
	assert_int_equal(o.release_ns, 120 * S);
	at(w, 200 * S);
	assert_int_equal(submit(w, &s, 1, 0, 1000, SVC_FAULT_NONE, &o), RC_OK);
	assert_int_equal(o.release_ns, 200 * S);
	svc_quit(w->v, &s);
	end(w);
}

/* tarpit, limit lowered to 2 per 60 s, sessions A, B, C on one mailbox.
 * A at 0 s and B at 10 s: accepted (window {0, 10}).  C at 20 s: full ->
 * held.  A at 30 s: held behind C.  At 60 s the 0 s acceptance leaves
 * ((0, 60] = {10}): C answered at 60 s; window {10, 60} full.  B at 65 s:
 * others are held -> held (FCFS).  At 70 s the 10 s one leaves: A answered
 * at 70 s ({60, 70}).  At 120 s the 60 s one leaves: B answered at 120 s.
 * Recipient windows count a held message when answered: C has 7
 * recipients, so the RRL sum goes 2 -> 9 at 60 s. */
static void test_message_rate_tarpit_fcfs(void **state)
{
	(void)state;
	world *w = mk_world("exchange-online", 1);
	w->mb[0].limits.message_rate.mode = RATE_TARPIT;
	w->mb[0].limits.message_rate.limit = 2;
	check_at_auth(w, 1);
	w->mb[0].limits.connections.counts = COUNT_SUBMITTING;
	w->mb[0].limits.connections.limit = 2;
	start(w);
	svc_session A, B, C, D;
	svc_outcome o;
	assert_int_equal(auth(w, &A, 0, 0), RC_OK);
	assert_int_equal(auth(w, &B, 0, 1), RC_OK);
	assert_int_equal(auth(w, &C, 0, 2), RC_OK);
	assert_int_equal(submit1(w, &A), RC_OK);
	at(w, 10 * S);
	assert_int_equal(submit1(w, &B), RC_OK);
	at(w, 20 * S);
	assert_int_equal(submit(w, &C, 7, 0, 1000, SVC_FAULT_NONE, &o), RC_OK);
	assert_true(o.held);
	at(w, 30 * S);
	assert_int_equal(submit1(w, &A) , RC_OK);
	/* two held sessions count as submitting: a third AUTH is refused */
	assert_int_equal(auth(w, &D, 0, 3), RC_CONCURRENCY);
	assert_int_equal(svc_mailbox_rrl_sum(w->v, 0, 30 * S), 2);
	at(w, 60 * S + 1);
	assert_int_equal(w->n_answered, 1);
	assert_ptr_equal(w->answered[0], &C);
	assert_int_equal(w->answered_at[0], 60 * S);
	assert_int_equal(svc_mailbox_rrl_sum(w->v, 0, 60 * S + 1), 9);
	at(w, 65 * S);
	assert_int_equal(submit1(w, &B), RC_OK);
	assert_int_equal(w->n_answered, 1);
	at(w, 120 * S + 1);
	assert_int_equal(w->n_answered, 3);
	assert_ptr_equal(w->answered[1], &A);
	assert_int_equal(w->answered_at[1], 70 * S);
	assert_ptr_equal(w->answered[2], &B);
	assert_int_equal(w->answered_at[2], 120 * S);
	svc_quit(w->v, &A);
	svc_quit(w->v, &B);
	svc_quit(w->v, &C);
	end(w);
}

/* A held session that quits leaves the queue unanswered; the next held
 * session is answered in its place. */
static void test_tarpit_quit_while_held(void **state)
{
	(void)state;
	world *w = mk_world("exchange-online", 1);
	w->mb[0].limits.message_rate.mode = RATE_TARPIT;
	w->mb[0].limits.message_rate.limit = 1;
	start(w);
	svc_session A, B, C;
	svc_outcome o;
	assert_int_equal(auth(w, &A, 0, 0), RC_OK);
	assert_int_equal(auth(w, &B, 0, 1), RC_OK);
	assert_int_equal(auth(w, &C, 0, 2), RC_OK);
	assert_int_equal(submit1(w, &A), RC_OK);
	assert_int_equal(submit(w, &B, 1, 0, 1, SVC_FAULT_NONE, &o), RC_OK);
	assert_true(o.held);
	assert_int_equal(submit(w, &C, 1, 0, 1, SVC_FAULT_NONE, &o), RC_OK);
	assert_true(o.held);
	at(w, 1 * S);
	svc_quit(w->v, &B);
	at(w, 60 * S + 1);
	assert_int_equal(w->n_answered, 1);
	assert_ptr_equal(w->answered[0], &C);
	assert_int_equal(w->answered_at[0], 60 * S);
	svc_quit(w->v, &A);
	svc_quit(w->v, &C);
	end(w);
}

/* FCFS at the very instant the window frees: limit 1, A accepted at 0 s,
 * B held at 1 s (its answer due at 60 s).  C ends its data at exactly
 * 60 s, before the engine has run B's answer: the window has room, but B
 * came first, so C is held too.  B is answered at 60 s, C at 120 s. */
static void test_tarpit_fcfs_same_instant(void **state)
{
	(void)state;
	world *w = mk_world("exchange-online", 1);
	w->mb[0].limits.message_rate.mode = RATE_TARPIT;
	w->mb[0].limits.message_rate.limit = 1;
	start(w);
	svc_session A, B, C;
	svc_outcome o;
	assert_int_equal(auth(w, &A, 0, 0), RC_OK);
	assert_int_equal(auth(w, &B, 0, 1), RC_OK);
	assert_int_equal(auth(w, &C, 0, 2), RC_OK);
	assert_int_equal(submit1(w, &A), RC_OK);
	at(w, 1 * S);
	assert_int_equal(submit(w, &B, 1, 0, 1, SVC_FAULT_NONE, &o), RC_OK);
	assert_true(o.held);
	at(w, 60 * S);
	assert_int_equal(submit(w, &C, 1, 0, 1, SVC_FAULT_NONE, &o), RC_OK);
	assert_true(o.held);
	at(w, 120 * S + 1);
	assert_int_equal(w->n_answered, 2);
	assert_ptr_equal(w->answered[0], &B);
	assert_int_equal(w->answered_at[0], 60 * S);
	assert_ptr_equal(w->answered[1], &C);
	assert_int_equal(w->answered_at[1], 120 * S);
	svc_quit(w->v, &A);
	svc_quit(w->v, &B);
	svc_quit(w->v, &C);
	end(w);
}

/* ---- recipient rate limit ---------------------------------------------- */

/* 100-recipient messages every minute from 0 s: after the 100th (99 min,
 * 5,940 s) the 24 h sum is 10,000 = the limit (first reached 5,940 s).
 * The 101st, at 6,000 s: 10,000 + 100 > 10,000 -> 554 5.2.0 (first
 * refusal 6,000 s).  At 86,399.999999999 s still refused; at 86,400 s the
 * message of 0 s is exactly 24 h back, outside: 9,900 + 100 = 10,000 <=
 * 10,000 -> accepted.  Blocked (sum >= 10,000): [5,940, 86,400) closes as
 * the 0 s entry leaves (9,900), then the 86,400 s acceptance brings it to
 * 10,000 again, to the end at 86,430 s: 80,460 + 30 = 80,490 s. */
static void test_rrl_every_minute(void **state)
{
	(void)state;
	world *w = mk_world("exchange-online", 1);
	start(w);
	svc_session s;
	svc_outcome o;
	assert_int_equal(auth(w, &s, 0, 0), RC_OK);
	for (int k = 0; k < 100; k++) {
		at(w, k * MIN);
		assert_int_equal(submit(w, &s, 100, 0, 1000, SVC_FAULT_NONE, NULL), RC_OK);
	}
	at(w, 100 * MIN);
	assert_int_equal(submit(w, &s, 100, 0, 1000, SVC_FAULT_NONE, &o), RC_RECIPIENT_RATE);
	assert_int_equal(o.reply->code, 554);
	assert_false(o.reply->transient);
	at(w, DAY - 1);
	assert_int_equal(submit(w, &s, 100, 0, 1000, SVC_FAULT_NONE, NULL), RC_RECIPIENT_RATE);
	at(w, DAY);
	assert_int_equal(submit(w, &s, 100, 0, 1000, SVC_FAULT_NONE, NULL), RC_OK);
	res_entity r;
	memset(&r, 0, sizeof r);
	svc_mailbox_figures(w->v, 0, DAY + 30 * S, &r);
	assert_true(fabs(r.fig[FIG_RRL_FIRST_REACHED] - 5940.0) < 1e-9);
	assert_true(fabs(r.fig[FIG_RRL_FIRST_REFUSAL] - 6000.0) < 1e-9);
	assert_true(fabs(r.fig[FIG_RRL_BLOCKED_TIME] - 80490.0) < 1e-9);
	svc_quit(w->v, &s);
	end(w);
}

/* SD's example: 5,000 recipients at 09:00 (ten 500-recipient messages,
 * within the per-message limit), 2,500 at 10:00, 2,500 at 11:00: the sum
 * is 10,000 from 11:00.  Any message is refused until 09:00 the next day:
 * a 1-recipient message at 08:59:59.999 is refused (10,000 + 1), at
 * 09:00:00 accepted (09:00 the day before is exactly 24 h back: 5,000 +
 * 1).  Blocked from 11:00 to 09:00 next day = 22 h = 79,200 s. */
static void test_rrl_service_description_example(void **state)
{
	(void)state;
	world *w = mk_world("exchange-online", 1);
	start(w);
	svc_session s;
	assert_int_equal(auth(w, &s, 0, 0), RC_OK);
	at(w, 9 * H);
	for (int i = 0; i < 10; i++)
		assert_int_equal(submit(w, &s, 500, 0, 1000, SVC_FAULT_NONE, NULL), RC_OK);
	at(w, 10 * H);
	for (int i = 0; i < 5; i++)
		assert_int_equal(submit(w, &s, 500, 0, 1000, SVC_FAULT_NONE, NULL), RC_OK);
	at(w, 11 * H);
	for (int i = 0; i < 5; i++)
		assert_int_equal(submit(w, &s, 500, 0, 1000, SVC_FAULT_NONE, NULL), RC_OK);
	assert_int_equal(svc_mailbox_rrl_sum(w->v, 0, 11 * H), 10000);
	at(w, 12 * H);
	assert_int_equal(submit1(w, &s), RC_RECIPIENT_RATE);
	at(w, DAY + 9 * H - 1000000); /* 08:59:59.999 */
	assert_int_equal(submit1(w, &s), RC_RECIPIENT_RATE);
	at(w, DAY + 9 * H);
	assert_int_equal(submit1(w, &s), RC_OK);
	assert_int_equal(svc_mailbox_rrl_sum(w->v, 0, DAY + 9 * H), 5001);
	res_entity r;
	memset(&r, 0, sizeof r);
	svc_mailbox_figures(w->v, 0, DAY + 10 * H, &r);
	assert_true(fabs(r.fig[FIG_RRL_BLOCKED_TIME] - 79200.0) < 1e-9);
	assert_true(fabs(r.fig[FIG_RRL_FIRST_REACHED] - 39600.0) < 1e-9);
	assert_true(fabs(r.fig[FIG_RRL_FIRST_REFUSAL] - 43200.0) < 1e-9);
	svc_quit(w->v, &s);
	end(w);
}

/* ---- tenant external recipient limit ---------------------------------- */

/* auto = 500 * licenses^0.7 + 9,500 rounded: 1 -> 10,000; 100 -> 12,559.4
 * + 9,500 -> 22,059; 10,000 -> 315,478.6 + 9,500 -> 324,979 (TERRL). */
static void test_terrl_auto(void **state)
{
	(void)state;
	assert_int_equal(preset_tenant_external_auto(1), 10000);
	assert_int_equal(preset_tenant_external_auto(100), 22059);
	assert_int_equal(preset_tenant_external_auto(10000), 324979);
	assert_int_equal(preset_tenant_external_auto(0), 10000);
}

/* Tenant external limit 100, shared by two mailboxes: mailbox 0 sends 60
 * external, mailbox 1 40 (sum 100 = the limit, allowed); one more external
 * from mailbox 0 -> 550 5.7.233; an internal-only message is accepted.  The
 * 24 h window: at 24 h after the first, its 60 leave -> 60 more allowed. */
static void test_terrl_tenant_scope(void **state)
{
	(void)state;
	world *w = mk_world("exchange-online", 2);
	for (int i = 0; i < 2; i++)
		w->mb[i].limits.external_rate.limit = 100;
	start(w);
	svc_session a, b;
	svc_outcome o;
	assert_int_equal(auth(w, &a, 0, 0), RC_OK);
	assert_int_equal(auth(w, &b, 1, 1), RC_OK);
	assert_int_equal(submit(w, &a, 60, 60, 1000, SVC_FAULT_NONE, NULL), RC_OK);
	at(w, 1 * S);
	assert_int_equal(submit(w, &b, 40, 40, 1000, SVC_FAULT_NONE, NULL), RC_OK);
	at(w, 2 * S);
	assert_int_equal(submit(w, &a, 2, 1, 1000, SVC_FAULT_NONE, &o), RC_TENANT_EXTERNAL);
	assert_int_equal(o.reply->code, 550);
	assert_int_equal(submit(w, &a, 5, 0, 1000, SVC_FAULT_NONE, NULL), RC_OK);
	at(w, DAY);
	assert_int_equal(submit(w, &b, 60, 60, 1000, SVC_FAULT_NONE, NULL), RC_OK);
	svc_quit(w->v, &a);
	svc_quit(w->v, &b);
	end(w);
}

/* ---- per-message checks, faults, mailbox -------------------------------- */

/* Quota 1,000 B, size 900 B: a 200 B message is accepted (size before 900
 * < 1,000) and takes the mailbox to 1,100 B; the next gets 554 5.2.2.  A
 * mailbox at exactly its quota is full.  Without Sent Items the size stays. */
static void test_mailbox_full(void **state)
{
	(void)state;
	world *w = mk_world("exchange-online", 3);
	w->mb[0].quota_bytes = 1000;
	w->mb[0].size_bytes = 900;
	w->mb[1].quota_bytes = 1000;
	w->mb[1].size_bytes = 1000;
	w->mb[2].quota_bytes = 1000;
	w->mb[2].size_bytes = 900;
	w->mb[2].save_sent_items = false;
	start(w);
	svc_session s[3];
	svc_outcome o;
	for (int i = 0; i < 3; i++)
		assert_int_equal(auth(w, &s[i], i, i), RC_OK);
	assert_int_equal(submit(w, &s[0], 1, 0, 200, SVC_FAULT_NONE, NULL), RC_OK);
	assert_int_equal(svc_mailbox_size(w->v, 0), 1100);
	assert_int_equal(submit(w, &s[0], 1, 0, 200, SVC_FAULT_NONE, &o), RC_MAILBOX_FULL);
	assert_int_equal(o.reply->code, 554);
	assert_int_equal(submit(w, &s[1], 1, 0, 1, SVC_FAULT_NONE, NULL), RC_MAILBOX_FULL);
	assert_int_equal(submit(w, &s[2], 1, 0, 200, SVC_FAULT_NONE, NULL), RC_OK);
	assert_int_equal(submit(w, &s[2], 1, 0, 200, SVC_FAULT_NONE, NULL), RC_OK);
	assert_int_equal(svc_mailbox_size(w->v, 2), 900);
	for (int i = 0; i < 3; i++)
		svc_quit(w->v, &s[i]);
	end(w);
}

/* Order of the per-message checks: size (35 MB, binary) before recipients
 * (500) before faults; 35 MB exactly is allowed, 501 recipients are not;
 * unlicensed before send-as; send-as before invalid recipients. */
static void test_check_order(void **state)
{
	(void)state;
	world *w = mk_world("exchange-online", 2);
	w->mb[1].licensed = false;
	start(w);
	svc_session a, b;
	assert_int_equal(auth(w, &a, 0, 0), RC_OK);
	assert_int_equal(auth(w, &b, 1, 1), RC_OK);
	const int64_t mb35 = 35LL * 1024 * 1024;
	assert_int_equal(submit(w, &a, 501, 0, mb35 + 1, SVC_FAULT_SEND_AS_DENIED, NULL),
			 RC_MESSAGE_SIZE);
	assert_int_equal(submit(w, &a, 501, 0, mb35, SVC_FAULT_SEND_AS_DENIED, NULL),
			 RC_TOO_MANY_RECIPIENTS);
	assert_int_equal(submit(w, &a, 500, 0, mb35, SVC_FAULT_SEND_AS_DENIED, NULL),
			 RC_SEND_AS_DENIED);
	assert_int_equal(submit(w, &a, 500, 0, mb35, SVC_FAULT_INVALID_RECIPIENTS, NULL),
			 RC_INVALID_RECIPIENTS);
	assert_int_equal(submit(w, &a, 500, 0, mb35, SVC_FAULT_NONE, NULL), RC_OK);
	assert_int_equal(submit(w, &b, 1, 0, 1, SVC_FAULT_SEND_AS_DENIED, NULL),
			 RC_INVALID_LICENSE);
	svc_quit(w->v, &a);
	svc_quit(w->v, &b);
	end(w);
}

/* ---- continuous error throttling ----------------------------------------- */

/* Defaults: 10 errors in 10 min -> 60 min.  A faulty sender gets send-as
 * denied at 0, 1, ..., 9 s: the 10th (9 s) gets its own 550 5.7.60 and
 * trips the throttle over [9 s, 3,609 s).  A correct sender on the same
 * mailbox: AUTH still succeeds; at 10 s and at 3,608.999999999 s it gets
 * 550 5.2.252; at 3,609 s it is accepted.  Another mailbox is not affected.
 * Figures to 1,809 s: one period, 1,800 s (clipped). */
static void test_error_throttle_trips(void **state)
{
	(void)state;
	world *w = mk_world("exchange-online", 2);
	start(w);
	svc_session bad, good, other;
	svc_outcome o;
	assert_int_equal(auth(w, &bad, 0, 0), RC_OK);
	for (int k = 0; k < 10; k++) {
		at(w, k * S);
		assert_int_equal(submit(w, &bad, 1, 0, 1, SVC_FAULT_SEND_AS_DENIED, &o),
				 RC_SEND_AS_DENIED);
		assert_int_equal(o.reply->code, 550);
		assert_int_equal(w->throttle_starts, k == 9 ? 1 : 0);
	}
	assert_int_equal(w->throttle_start_ns, 9 * S);
	assert_int_equal(w->throttle_end_ns, 9 * S + H);
	at(w, 10 * S);
	assert_int_equal(auth(w, &good, 0, 1), RC_OK);
	assert_int_equal(submit(w, &good, 1, 0, 1, SVC_FAULT_NONE, &o), RC_THROTTLED_SEND_AS);
	assert_int_equal(o.reply->code, 550);
	/* the throttle replies do not feed the throttle: no new period */
	assert_int_equal(submit(w, &bad, 1, 0, 1, SVC_FAULT_SEND_AS_DENIED, NULL),
			 RC_THROTTLED_SEND_AS);
	assert_int_equal(auth(w, &other, 1, 2), RC_OK);
	assert_int_equal(submit1(w, &other), RC_OK);
	assert_int_equal(svc_throttled_mailboxes(w->v, 10 * S), 1);
	res_entity r;
	memset(&r, 0, sizeof r);
	svc_mailbox_figures(w->v, 0, 1809 * S, &r);
	assert_true(r.fig[FIG_THROTTLE_PERIODS] == 1.0);
	assert_true(fabs(r.fig[FIG_THROTTLE_TIME] - 1800.0) < 1e-9);
	at(w, 9 * S + H - 1);
	assert_int_equal(submit1(w, &good), RC_THROTTLED_SEND_AS);
	at(w, 9 * S + H);
	assert_int_equal(submit1(w, &good), RC_OK);
	assert_int_equal(svc_throttled_mailboxes(w->v, 9 * S + H), 0);
	assert_int_equal(w->throttle_starts, 1);
	svc_quit(w->v, &bad);
	svc_quit(w->v, &good);
	svc_quit(w->v, &other);
	end(w);
}

/* The error window is open on the left: 9 errors at 0..8 s, the 10th at
 * 600 s finds the 0 s one exactly 10 min back, outside: (0, 600] holds 9 ->
 * no throttle; an 11th at 600 s makes 10 -> throttled from 600 s. */
static void test_error_throttle_window_edge(void **state)
{
	(void)state;
	world *w = mk_world("exchange-online", 1);
	start(w);
	svc_session s;
	assert_int_equal(auth(w, &s, 0, 0), RC_OK);
	for (int k = 0; k < 9; k++) {
		at(w, k * S);
		assert_int_equal(submit(w, &s, 1, 0, 1, SVC_FAULT_INVALID_RECIPIENTS, NULL),
				 RC_INVALID_RECIPIENTS);
	}
	at(w, 600 * S);
	assert_int_equal(submit(w, &s, 1, 0, 1, SVC_FAULT_INVALID_RECIPIENTS, NULL),
			 RC_INVALID_RECIPIENTS);
	assert_int_equal(w->throttle_starts, 0);
	assert_int_equal(submit(w, &s, 501, 0, 1, SVC_FAULT_NONE, NULL), RC_TOO_MANY_RECIPIENTS);
	assert_int_equal(w->throttle_starts, 0); /* another class */
	assert_int_equal(submit(w, &s, 1, 0, 1, SVC_FAULT_INVALID_RECIPIENTS, NULL),
			 RC_INVALID_RECIPIENTS);
	assert_int_equal(w->throttle_starts, 1);
	assert_int_equal(submit1(w, &s), RC_THROTTLED_INVALID_RCPT);
	svc_quit(w->v, &s);
	end(w);
}

/* With several classes throttled the lowest code wins (mailbox module
 * directly: through the service the first throttle refuses everything,
 * so a second class cannot trip on the same route).  Periods of two
 * classes overlap: [0, 100) and [50, 150) -> union 150. */
static void test_error_throttle_lowest_code(void **state)
{
	(void)state;
	scn_mailbox cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.licensed = true;
	cfg.smtp_client_auth_disabled = TRI_UNSET;
	assert_int_equal(preset_fill("exchange-online", &cfg.limits), 0);
	for (int c = 0; c < ERR_CLASS_COUNT; c++) {
		cfg.limits.error_throttle[c].threshold = 1;
		cfg.limits.error_throttle[c].period_ns = 100;
	}
	mbx m;
	mbx_cold mc;
	mbx_init(&m, &mc, &cfg, &cfg.limits);
	const sim_alloc *a = &sim_alloc_std;
	assert_int_equal(mbx_reserve_error(&m, a, ERR_INVALID_RECIPIENTS), SIM_OK);
	assert_true(mbx_record_error(&m, a, ERR_INVALID_RECIPIENTS,
				     &cfg.limits.error_throttle[ERR_INVALID_RECIPIENTS], 0));
	assert_int_equal(mbx_throttled_class(&m, &cfg.limits, 0), ERR_INVALID_RECIPIENTS);
	assert_int_equal(mbx_reserve_error(&m, a, ERR_SEND_AS_DENIED), SIM_OK);
	assert_true(mbx_record_error(&m, a, ERR_SEND_AS_DENIED,
				     &cfg.limits.error_throttle[ERR_SEND_AS_DENIED], 50));
	assert_int_equal(mbx_throttled_class(&m, &cfg.limits, 50), ERR_SEND_AS_DENIED);
	assert_int_equal(mbx_throttled_class(&m, &cfg.limits, 120), ERR_SEND_AS_DENIED);
	assert_int_equal(mbx_throttled_class(&m, &cfg.limits, 150), -1);
	assert_int_equal(mc.periods, 2);
	assert_int_equal(mbx_throttle_ns(&m, 1000), 150);
	assert_int_equal(mbx_throttle_ns(&m, 120), 120);
	mbx_free(&m, a);
}

/* ---- AUTH ----------------------------------------------------------- */

/* Mailbox setting wins when set: tenant disabled + mailbox unset -> 535
 * ...Tenant; tenant disabled + mailbox false -> OK; tenant enabled +
 * mailbox true -> 535 ...Mailbox.  Basic off: Basic -> 535 basic; OAuth ->
 * OK.  AUTH refusals leave no session open. */
static void test_auth(void **state)
{
	(void)state;
	world *w = mk_world("exchange-online", 3);
	w->s.tenant.smtp_client_auth_disabled = true;
	w->mb[1].smtp_client_auth_disabled = TRI_FALSE;
	w->mb[2].smtp_client_auth_disabled = TRI_TRUE;
	start(w);
	svc_session s;
	svc_outcome o;
	assert_int_equal(auth(w, &s, 0, 0), RC_AUTH_DISABLED_TENANT);
	assert_int_equal(auth(w, &s, 1, 0), RC_OK);
	svc_quit(w->v, &s);
	assert_int_equal(auth(w, &s, 2, 0), RC_AUTH_DISABLED_MAILBOX);
	assert_int_equal(svc_open_sessions(w->v), 0);
	end(w);

	w = mk_world("exchange-online", 1);
	w->s.tenant.basic_auth_enabled = false;
	start(w);
	assert_int_equal(svc_auth(w->v, &s, 0, 0, 0, &BASIC, &o), SIM_OK);
	assert_int_equal(o.rc, RC_BASIC_DISABLED);
	assert_null(o.reply);
	assert_int_equal(o.reply_delay_ns, 0);
	assert_int_equal(svc_auth(w->v, &s, 0, 0, 0, &OAUTH, &o), SIM_OK);
	assert_int_equal(o.rc, RC_OK);
	svc_quit(w->v, &s);
	assert_int_equal(svc_auth(w->v, &s, 1, 0, 0, &OAUTH, &o), SIM_EINVAL);
	assert_int_equal(svc_auth(w->v, &s, 0, 5, 0, &OAUTH, &o), SIM_EINVAL);
	end(w);
}

/* ---- exchange-server preset ----------------------------------------------- */

/* 200 recipients per message -> 452 4.5.3 (transient); 5 messages per
 * minute per user in reject mode -> 421 4.4.2 with the connection dropped
 * (the 6th at 5 s); a failed AUTH arrives 5 s late; 20 connections per
 * source: the 21st from source 0 refused, source 1 still opens. */
static void test_exchange_server(void **state)
{
	(void)state;
	world *w = mk_world("exchange-server", 1);
	w->s.tenant.basic_auth_enabled = false;
	start(w);
	svc_session s[22];
	svc_outcome o;
	assert_int_equal(svc_auth(w->v, &s[0], 0, 0, 0, &BASIC, &o), SIM_OK);
	assert_int_equal(o.rc, RC_BASIC_DISABLED);
	assert_int_equal(o.reply_delay_ns, 5 * S);
	for (int i = 0; i < 20; i++) {
		assert_int_equal(svc_auth(w->v, &s[i], 0, 0, 0, &OAUTH, &o), SIM_OK);
		assert_int_equal(o.rc, RC_OK);
	}
	assert_int_equal(svc_auth(w->v, &s[20], 0, 0, 0, &OAUTH, &o), SIM_OK);
	assert_int_equal(o.rc, RC_CONCURRENCY);
	assert_int_equal(o.reply->code, 421);
	assert_int_equal(svc_auth(w->v, &s[21], 0, 0, 1, &OAUTH, &o), SIM_OK);
	assert_int_equal(o.rc, RC_OK);

	assert_int_equal(submit(w, &s[0], 201, 0, 1, SVC_FAULT_NONE, &o), RC_TOO_MANY_RECIPIENTS);
	assert_int_equal(o.reply->code, 452);
	assert_true(o.reply->transient);
	for (int k = 0; k < 5; k++) {
		at(w, k * S + 1);
		assert_int_equal(submit1(w, &s[0]), RC_OK);
	}
	at(w, 5 * S);
	assert_int_equal(submit(w, &s[0], 1, 0, 1, SVC_FAULT_NONE, &o), RC_MESSAGE_RATE);
	assert_int_equal(o.reply->code, 421);
	assert_true(o.reply->transient);
	assert_true(o.reply->drops_connection);
	for (int i = 0; i < 20; i++)
		svc_quit(w->v, &s[i]);
	svc_quit(w->v, &s[21]);
	end(w);
}

/* ---- limiters ------------------------------------------------------------ */

/* Delay-mode releases against the definition: for a deterministic
 * pseudo-random acceptance pattern, every window (r - 60, r] holds at most
 * 30 releases, releases are in order, and each release is the earliest
 * possible: either its acceptance time or exactly 60 s after the release
 * 30 before it. */
static void test_release_property(void **state)
{
	(void)state;
	enum { N = 3000, L = 30 };
	const int64_t W = 60 * S;
	static int64_t acc[N], rel[N];
	lim_window w;
	lim_window_init(&w, W, L);
	uint64_t x = 12345;
	int64_t t = 0;
	for (int k = 0; k < N; k++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		if ((x >> 60) < 5)
			t += (int64_t)((x >> 20) % (20 * (uint64_t)S));
		acc[k] = t;
		assert_int_equal(lim_window_release(&w, &sim_alloc_std, t, &rel[k]), SIM_OK);
		assert_true(w.cap <= L);
	}
	for (int k = 0; k < N; k++) {
		assert_true(rel[k] >= acc[k]);
		if (k > 0)
			assert_true(rel[k] >= rel[k - 1]);
		int in = 0;
		for (int j = k; j >= 0 && rel[k] - rel[j] < W; j--)
			in++;
		assert_true(in <= L);
		assert_true(rel[k] == acc[k] || (k >= L && rel[k] == rel[k - L] + W));
	}
	lim_window_free(&w, &sim_alloc_std);
}

/* A sum window keeps only entries inside it: one add a minute for 10
 * days with a 24 h window keeps at most 1,440 entries (ring <= 2,048);
 * the sum after the last add is 1,440 (entries at t - 24 h is out). */
static void test_sum_memory_bounded(void **state)
{
	(void)state;
	lim_sum s;
	lim_sum_init(&s, DAY, 0);
	for (int64_t k = 0; k < 10 * 1440; k++)
		assert_int_equal(lim_sum_add(&s, &sim_alloc_std, k * MIN, 1), SIM_OK);
	assert_true(s.len <= 1440);
	assert_true(s.cap <= 2048);
	assert_int_equal(s.sum, 1440);
	lim_sum_free(&s, &sim_alloc_std);
}

/* 6-byte sum entries: an amount over 7 bits (127) is split over entries
 * of one time, a gap over 2^41 - 1 ns (36.6 min) is bridged by amount-0
 * entries; neither changes the sum, the expiry instants or the blocked
 * time.  Worked by hand, window 2 h, limit 300:
 *   at 0: 200 = 127 + 73 (2 entries), then 100 tops the 73 up to 127 and
 *   leaves 46 (3 entries, sum 300: blocked from 0);
 *   at 90 min: 7, after floor((90 min - 1 ns) / (2^41 - 1 ns)) = 2
 *   bridges, at 2^41 - 1 and 2 (2^41 - 1) ns (6 entries, sum 307).
 * Expiry: the time-0 entries at 2 h (blocked time 2 h), the bridges at
 * 2 h + 36.6 min and 2 h + 73.3 min (both before 3 h 29 min), the 7 at
 * 3 h 30 min. */
static void test_sum_split_and_bridge(void **state)
{
	(void)state;
	assert_int_equal(LIM_SUM_AMOUNT_MAX, 127);
	assert_int_equal(LIM_SUM_DELTA_MAX, INT64_C(2199023255551));
	lim_sum s;
	lim_sum_init(&s, 2 * H, 300);
	assert_int_equal(lim_sum_add(&s, &sim_alloc_std, 0, 200), SIM_OK);
	assert_int_equal(s.len, 2);
	assert_int_equal(lim_sum_add(&s, &sim_alloc_std, 0, 100), SIM_OK); /* reaches the limit */
	assert_int_equal(s.len, 3);
	assert_int_equal(s.sum, 300);
	assert_int_equal(lim_sum_add(&s, &sim_alloc_std, 90 * MIN, 7), SIM_OK); /* bridged gap */
	assert_int_equal(s.len, 6);
	assert_true(lim_sum_check(&s));
	assert_int_equal(lim_sum_at(&s, 2 * H - 1), 307);
	assert_int_equal(lim_sum_at(&s, 2 * H), 7);
	assert_int_equal(lim_sum_at(&s, 3 * H + 30 * MIN - 1), 7);
	assert_int_equal(lim_sum_at(&s, 3 * H + 30 * MIN), 0);
	/* blocked from 0 until the first entries expire at 2 h */
	assert_int_equal(lim_sum_blocked_ns(&s, 150 * MIN), 2 * H);
	lim_sum_expire(&s, 3 * H + 29 * MIN);
	assert_int_equal(s.sum, 7);
	assert_int_equal(s.len, 1);
	assert_int_equal(s.blocked_ns, 2 * H);
	lim_sum_expire(&s, 3 * H + 30 * MIN);
	assert_int_equal(s.sum, 0);
	assert_int_equal(s.len, 0);
	lim_sum_free(&s, &sim_alloc_std);
}

/* ---- invariant checkers ------------------------------------------------- */

/* Each checker accepts what the operations build and rejects a structure
 * broken by hand in the one way its contract names. */
static void test_invariant_checkers(void **state)
{
	(void)state;
	const sim_alloc *a = &sim_alloc_std;
	lim_conc c;
	lim_conc_init(&c, 3, false);
	lim_conc_change(&c, 5, +1, 0);
	lim_conc_change(&c, 7, 0, +1);
	assert_true(lim_conc_check(&c));
	c.submitting = 2; /* more submitting than open */
	assert_false(lim_conc_check(&c));

	lim_window w;
	lim_window_init(&w, 60 * S, 4);
	for (int k = 0; k < 6; k++)
		assert_int_equal(lim_window_push(&w, a, k * S), SIM_OK);
	assert_true(lim_window_check(&w));
	assert_int_equal(lim_window_len(&w), 4); /* max_len */
	w.t[(w.head + 1) % w.cap] = 0;            /* out of order */
	assert_false(lim_window_check(&w));
	lim_window_free(&w, a);

	lim_sum s;
	lim_sum_init(&s, 60 * S, 10);
	assert_int_equal(lim_sum_add(&s, a, 0, 4), SIM_OK);
	assert_int_equal(lim_sum_add(&s, a, S, 6), SIM_OK);
	assert_true(lim_sum_check(&s));     /* 10 >= 10: blocked since 1 s */
	assert_int_equal(s.blocked_since, S);
	s.sum = 9;                          /* the sum no longer the entries' */
	assert_false(lim_sum_check(&s));
	s.sum = 10;
	s.blocked_since = -1;               /* at the limit but not blocked */
	assert_false(lim_sum_check(&s));
	lim_sum_free(&s, a);

	scn_mailbox cfg = { .quota_bytes = 0, .licensed = true };
	scn_limits L;
	assert_int_equal(preset_fill("exchange-online", &L), 0);
	mbx m;
	mbx_cold mc;
	mbx_init(&m, &mc, &cfg, &L);
	assert_true(mbx_throttle_check(&m));
	for (int k = 0; k < 10; k++) {
		assert_int_equal(mbx_reserve_error(&m, a, ERR_SEND_AS_DENIED), SIM_OK);
		mbx_record_error(&m, a, ERR_SEND_AS_DENIED, &L.error_throttle[ERR_SEND_AS_DENIED],
				 k * S);
	}
	assert_int_equal(mc.periods, 1);
	assert_true(mbx_throttle_check(&m));
	m.throttled_max = 0;                /* not the latest period's end */
	assert_false(mbx_throttle_check(&m));
	mbx_free(&m, a);
}

/* ---- out of memory ------------------------------------------------------ */

/* Fail the 1st, 2nd, ... allocation: svc_new returns NULL or works;
 * svc_submit returns SIM_ENOMEM with nothing changed (the same message
 * then succeeds with a working allocator... here: the count stays
 * consistent), and nothing leaks. */
static void test_enomem_walk(void **state)
{
	(void)state;
	for (long fail = 1; fail < 40; fail++) {
		world *w = mk_world("exchange-online", 2);
		sim_alloc_failing st = { .fail_at = 0 };
		w->alloc = sim_alloc_failing_make(&st);
		w->e = sim_engine_new(EVS_HEAP, &sim_alloc_std);
		st.fail_at = fail;
		svc_hooks h = { .ctx = w };
		clk c = clk_from_engine(w->e);
		w->v = svc_new(&w->s, &c, &w->alloc, 4, h);
		if (w->v) {
			svc_session s;
			svc_outcome o;
			assert_int_equal(auth(w, &s, 0, 0), RC_OK);
			int accepted = 0;
			for (int k = 0; k < 40; k++) {
				svc_message m = { 1, 0, 10, k % 4 == 3 ? SVC_FAULT_SEND_AS_DENIED
								      : SVC_FAULT_NONE, 1.0f };
				int rc = svc_submit(w->v, &s, &m, &o);
				assert_true(rc == SIM_OK || rc == SIM_ENOMEM);
				if (rc == SIM_OK && o.rc == RC_OK)
					accepted++;
			}
			/* the RRL window holds exactly the accepted messages */
			assert_int_equal(svc_mailbox_rrl_sum(w->v, 0, 0), accepted);
			svc_quit(w->v, &s);
			svc_free(w->v);
		}
		sim_engine_free(w->e);
		assert_int_equal(st.live, 0);
		free(w);
	}
}

/* Sent Items growth saturates: nine messages of 2^60 bytes (the loader's
 * bound on a size) to a mailbox without quota would pass INT64_MAX. */
static void test_sent_items_saturate(void **state)
{
	(void)state;
	world *w = mk_world("exchange-online", 1);
	w->mb[0].quota_bytes = 0;
	w->mb[0].limits.max_message_size = 0;
	w->mb[0].limits.message_rate.limit = 0;
	start(w);
	svc_session s;
	assert_int_equal(auth(w, &s, 0, 0), RC_OK);
	for (int k = 0; k < 9; k++)
		assert_int_equal(submit(w, &s, 1, 0, INT64_C(1) << 60, SVC_FAULT_NONE, NULL), RC_OK);
	assert_true(svc_mailbox_size(w->v, 0) == INT64_MAX);
	svc_quit(w->v, &s);
	end(w);
}

/* ---- the 2026 replies and routes ----------------------------------------- */

static scn_reply_class auth_as(world *w, svc_session *s, int mailbox, const svc_client *cl,
			       svc_outcome *out)
{
	svc_outcome o;
	assert_int_equal(svc_auth(w->v, s, 0, mailbox, 0, cl, &o), SIM_OK);
	if (out)
		*out = o;
	if (o.rc == RC_OK)
		svc_quit(w->v, s);
	return o.rc;
}

/* At AUTH, in order: TLS below 1.2 (421 4.7.66, closes), the drawn fault
 * (451 4.7.0 PRX4, refused iff u < rate: 0.49 < 0.5, 0.5 is not), SMTP
 * AUTH disabled, wrong credentials, Basic off, then Basic blocked by
 * security defaults or Conditional Access; OAuth passes the last three. */
static void test_auth_replies_2026(void **state)
{
	(void)state;
	world *w = mk_world("exchange-online", 2);
	w->mb[0].limits.auth_fault_p = 0.5;
	w->mb[1].smtp_client_auth_disabled = TRI_TRUE;
	w->s.tenant.legacy_auth_block = LEGACY_SECURITY_DEFAULTS;
	start(w);
	svc_session s;
	svc_outcome o;
	svc_client old_tls = { .basic_auth = true, .tls_too_old = true, .fault_u = 0.0 };
	assert_int_equal(auth_as(w, &s, 0, &old_tls, &o), RC_TLS_TOO_OLD);
	assert_int_equal(o.reply->code, 421);
	assert_true(o.reply->transient && o.reply->drops_connection);
	assert_non_null(strstr(o.reply->text, "4.7.66"));
	svc_client unlucky = { .fault_u = 0.49f };
	assert_int_equal(auth_as(w, &s, 0, &unlucky, &o), RC_AUTH_TEMPORARY);
	assert_int_equal(o.reply->code, 451);
	assert_true(o.reply->transient);
	svc_client edge = { .fault_u = 0.5f };
	assert_int_equal(auth_as(w, &s, 0, &edge, NULL), RC_OK);
	svc_client wrong = { .basic_auth = true, .bad_credentials = true, .fault_u = 1.0f };
	assert_int_equal(auth_as(w, &s, 1, &wrong, NULL), RC_AUTH_DISABLED_MAILBOX);
	assert_int_equal(auth_as(w, &s, 0, &wrong, &o), RC_BAD_CREDENTIALS);
	assert_null(o.reply); /* the catalog's text */
	assert_int_equal(auth_as(w, &s, 0, &BASIC, NULL), RC_SECURITY_DEFAULTS);
	assert_int_equal(auth_as(w, &s, 0, &OAUTH, NULL), RC_OK);
	w->s.tenant.legacy_auth_block = LEGACY_CONDITIONAL_ACCESS;
	assert_int_equal(auth_as(w, &s, 0, &BASIC, NULL), RC_CONDITIONAL_ACCESS);
	w->s.tenant.basic_auth_enabled = false;
	assert_int_equal(auth_as(w, &s, 0, &BASIC, NULL), RC_BASIC_DISABLED);
	end(w);
}

static scn_reply_class envelope(world *w, svc_session *s, int64_t ext)
{
	svc_outcome o;
	svc_message m = { 1 + ext, ext, 1000, SVC_FAULT_NONE, 1.0f };
	assert_int_equal(svc_envelope(w->v, s, &m, &o), SIM_OK);
	return o.rc;
}

/* Direct send: internal recipients only (a message with one external
 * recipient is refused 550 5.7.54 before its data; the session stays
 * open and the next, internal, message goes); with the tenant's
 * RejectDirectSend every message is refused 550 5.7.68 first.  Without
 * svc_envelope, svc_submit applies the same checks. */
static void test_direct_send_internal_only(void **state)
{
	(void)state;
	world *w = mk_world("direct-send", 1);
	start(w);
	svc_session s;
	assert_int_equal(auth_as(w, &s, 0, &OAUTH, NULL), RC_OK);
	assert_int_equal(svc_auth(w->v, &s, 0, 0, 0, &OAUTH, &(svc_outcome){ 0 }), SIM_OK);
	assert_int_equal(envelope(w, &s, 1), RC_EXTERNAL_NOT_ALLOWED);
	assert_int_equal(envelope(w, &s, 0), RC_OK);
	assert_int_equal(submit(w, &s, 3, 0, 1000, SVC_FAULT_NONE, NULL), RC_OK);
	assert_int_equal(submit(w, &s, 3, 2, 1000, SVC_FAULT_NONE, NULL), RC_EXTERNAL_NOT_ALLOWED);
	w->s.tenant.reject_direct_send = true;
	assert_int_equal(envelope(w, &s, 1), RC_DIRECT_SEND_REJECTED);
	assert_int_equal(envelope(w, &s, 0), RC_DIRECT_SEND_REJECTED);
	svc_quit(w->v, &s);
	end(w);
}

/* A relay connector refuses a sender whose source no longer matches
 * (550 5.7.64); a matching one relays to anyone. */
static void test_relay_source(void **state)
{
	(void)state;
	world *w = mk_world("relay-connector", 1);
	start(w);
	svc_session a, b;
	svc_outcome o;
	svc_client moved = { .source_mismatch = true, .fault_u = 1.0f };
	assert_int_equal(svc_auth(w->v, &a, 0, 0, 0, &moved, &o), SIM_OK);
	assert_int_equal(o.rc, RC_OK); /* no AUTH: the connector decides at RCPT */
	assert_int_equal(envelope(w, &a, 0), RC_RELAY_DENIED);
	assert_int_equal(svc_auth(w->v, &b, 0, 0, 1, &OAUTH, &o), SIM_OK);
	assert_int_equal(envelope(w, &b, 5), RC_OK);
	assert_int_equal(submit(w, &b, 6, 5, 1000, SVC_FAULT_NONE, NULL), RC_OK);
	svc_quit(w->v, &a);
	svc_quit(w->v, &b);
	end(w);
}

/* The drawn end-of-data fault: 451 4.3.111 iff u < data_fault_rate. */
static void test_data_fault(void **state)
{
	(void)state;
	world *w = mk_world("exchange-online", 1);
	w->mb[0].limits.data_fault_p = 0.25;
	start(w);
	svc_session s;
	svc_outcome o;
	assert_int_equal(auth(w, &s, 0, 0), RC_OK);
	svc_message m = { 1, 0, 1000, SVC_FAULT_NONE, 0.2f };
	assert_int_equal(svc_submit(w->v, &s, &m, &o), SIM_OK);
	assert_int_equal(o.rc, RC_DATA_TEMPORARY);
	assert_true(o.reply->transient);
	m.fault_u = 0.25f;
	assert_int_equal(svc_submit(w->v, &s, &m, &o), SIM_OK);
	assert_int_equal(o.rc, RC_OK);
	svc_quit(w->v, &s);
	end(w);
}

/* MOERA: 100 external recipients per tenant per rolling 24 h from
 * *.onmicrosoft.com senders.  mb0 is app@contoso.onmicrosoft.com, mb1
 * app@contoso.com.  At 0 h mb0 sends 60 external: counted (60); mb1 sends
 * 500 external: not counted.  At 1 h mb0 sends 40 (100, at the limit: a
 * sum equal to the limit passes); at 2 h one more is refused 550 5.7.236,
 * and a message with internal recipients only still goes.  At exactly
 * 24 h the 0 h entry is outside (t - 24 h, t]: 40 counted, 60 more fit. */
static void test_moera(void **state)
{
	(void)state;
	world *w = mk_world("exchange-online", 2);
	snprintf(w->mb[0].name, sizeof w->mb[0].name, "app@Contoso.OnMicrosoft.com");
	snprintf(w->mb[1].name, sizeof w->mb[1].name, "app@contoso.com");
	for (int i = 0; i < 2; i++)
		w->mb[i].limits.message_rate.limit = 0;
	start(w);
	svc_session a, b;
	svc_outcome o;
	assert_int_equal(auth(w, &a, 0, 0), RC_OK);
	assert_int_equal(auth(w, &b, 1, 1), RC_OK);
	assert_int_equal(submit(w, &a, 60, 60, 1000, SVC_FAULT_NONE, NULL), RC_OK);
	assert_int_equal(submit(w, &b, 500, 500, 1000, SVC_FAULT_NONE, NULL), RC_OK);
	at(w, 3600 * S);
	assert_int_equal(submit(w, &a, 40, 40, 1000, SVC_FAULT_NONE, NULL), RC_OK);
	at(w, 7200 * S);
	assert_int_equal(submit(w, &a, 1, 1, 1000, SVC_FAULT_NONE, &o), RC_ONMICROSOFT_EXTERNAL);
	assert_int_equal(o.reply->code, 550);
	assert_non_null(strstr(o.reply->text, "5.7.236"));
	assert_int_equal(submit(w, &a, 5, 0, 1000, SVC_FAULT_NONE, NULL), RC_OK);
	assert_int_equal(submit(w, &b, 1, 1, 1000, SVC_FAULT_NONE, NULL), RC_OK);
	at(w, 86400 * S);
	assert_int_equal(submit(w, &a, 60, 60, 1000, SVC_FAULT_NONE, NULL), RC_OK);
	assert_int_equal(submit(w, &a, 1, 1, 1000, SVC_FAULT_NONE, NULL), RC_ONMICROSOFT_EXTERNAL);
	svc_quit(w->v, &a);
	svc_quit(w->v, &b);
	end(w);
}

/* acs: a second message window, refused when full.  Lowered to 3 per
 * hour, the minute rate off: 0, 10, 20 min accepted; 30 min refused
 * (450, transient); at exactly 60 min the 0 min message has left. */
static void test_message_cap(void **state)
{
	(void)state;
	world *w = mk_world("acs", 1);
	w->mb[0].limits.message_cap.limit = 3;
	w->mb[0].limits.message_rate.limit = 0;
	start(w);
	svc_session s;
	svc_outcome o;
	assert_int_equal(svc_auth(w->v, &s, 0, 0, 0, &OAUTH, &o), SIM_OK);
	for (int k = 0; k < 3; k++) {
		at(w, k * 600 * S);
		assert_int_equal(submit1(w, &s), RC_OK);
	}
	at(w, 1800 * S);
	assert_int_equal(submit(w, &s, 1, 0, 1000, SVC_FAULT_NONE, &o), RC_MESSAGE_CAP);
	assert_true(o.reply->transient);
	assert_true(o.retry_after_ns == 1800 * S); /* the 0 min message leaves at 60 min */
	at(w, 3600 * S);
	assert_int_equal(submit1(w, &s), RC_OK);
	assert_int_equal(submit1(w, &s), RC_MESSAGE_CAP);
	svc_quit(w->v, &s);
	end(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_concurrency_boundary),
		cmocka_unit_test(test_concurrency_submitting),
		cmocka_unit_test(test_message_rate_reject),
		cmocka_unit_test(test_message_rate_delay),
		cmocka_unit_test(test_message_rate_tarpit_fcfs),
		cmocka_unit_test(test_tarpit_quit_while_held),
		cmocka_unit_test(test_tarpit_fcfs_same_instant),
		cmocka_unit_test(test_rrl_every_minute),
		cmocka_unit_test(test_rrl_service_description_example),
		cmocka_unit_test(test_terrl_auto),
		cmocka_unit_test(test_terrl_tenant_scope),
		cmocka_unit_test(test_mailbox_full),
		cmocka_unit_test(test_check_order),
		cmocka_unit_test(test_error_throttle_trips),
		cmocka_unit_test(test_error_throttle_window_edge),
		cmocka_unit_test(test_error_throttle_lowest_code),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_exchange_server),
		cmocka_unit_test(test_release_property),
		cmocka_unit_test(test_sum_memory_bounded),
		cmocka_unit_test(test_sum_split_and_bridge),
		cmocka_unit_test(test_invariant_checkers),
		cmocka_unit_test(test_enomem_walk),
		cmocka_unit_test(test_sent_items_saturate),
		cmocka_unit_test(test_auth_replies_2026),
		cmocka_unit_test(test_direct_send_internal_only),
		cmocka_unit_test(test_relay_source),
		cmocka_unit_test(test_data_fault),
		cmocka_unit_test(test_moera),
		cmocka_unit_test(test_message_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
