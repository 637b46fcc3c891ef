/* test_clock.c - the service over its clock port (models/clock.h), with
 * no engine: a hand-stepped test clock (a sorted list of timers, below)
 * drives the same arrivals as the simulation engine, and both must give
 * the same replies, in the same order, at the same instants.  This is the
 * proof that the rules need only the port, so a wall-clock server can
 * run them.
 *
 * Each script's expected replies are worked out by hand in its comment;
 * the two drivers are then also compared with each other entry by entry
 * (reply codes, release instants, throttle periods).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "clock_engine.h"
#include "engine.h"
#include "presets.h"
#include "service.h"
#include "status.h"

#define S  1000000000LL
#define MIN (60 * S)

#include "tclk.h"

/* The client: Basic auth, TLS 1.2, valid credentials, no fault drawn. */
static const svc_client BASIC = { .basic_auth = true, .fault_u = 1.0 };

/* ---- scripts and logs ----------------------------------------------------- */

typedef enum op_kind { OP_AUTH, OP_BEGIN, OP_SUBMIT, OP_QUIT, EV_ANSWER, EV_THROTTLE } op_kind;

typedef struct op {
	int64_t t;
	op_kind k;
	int sess;
	svc_fault fault;
} op;

/* What happened: an op's reply, a held session answered, a throttle period. */
typedef struct entry {
	int64_t t;
	op_kind k;
	int sess;        /* EV_THROTTLE: the class */
	int rc;          /* the reply class; -1: held */
	int code;        /* the reply's code, 0 if none */
	int64_t extra;   /* release_ns, or the throttle period's end */
} entry;

#define MAX_SESS 5
#define MAX_LOG 128

typedef struct world {
	scenario s;
	scn_mailbox mb[1];
	scn_route routes[1];
	svc *v;
	const int64_t *now;
	svc_session sess[MAX_SESS];
	entry log[MAX_LOG];
	int n_log;
	const op *script;
	int n_ops;
} world;

static void logit(world *w, entry e)
{
	assert_true(w->n_log < MAX_LOG);
	w->log[w->n_log++] = e;
}

static void on_answer(void *ctx, svc_session *s, const svc_outcome *o)
{
	world *w = ctx;
	logit(w, (entry){ *w->now, EV_ANSWER, (int)(s - w->sess), (int)o->rc, 0, o->release_ns });
}

static void on_throttle(void *ctx, int mailbox, scn_error_class c, int64_t start, int64_t end)
{
	world *w = ctx;
	(void)mailbox;
	assert_int_equal(start, *w->now);
	logit(w, (entry){ start, EV_THROTTLE, (int)c, 0, 0, end });
}

static void do_op(world *w, const op *p)
{
	svc_outcome o;
	svc_session *s = &w->sess[p->sess];
	entry e = { *w->now, p->k, p->sess, 0, 0, 0 };
	assert_int_equal(e.t, p->t);
	if (p->k == OP_QUIT) {
		svc_quit(w->v, s);
		logit(w, e);
		return;
	}
	if (p->k == OP_BEGIN) { /* the data transfer starts */
		assert_int_equal(svc_submission_begin(w->v, s), SIM_OK);
		logit(w, e);
		return;
	}
	if (p->k == OP_AUTH) {
		assert_int_equal(svc_auth(w->v, s, 0, 0, p->sess, &BASIC, &o), SIM_OK);
	} else {
		svc_message m = { 1, 0, 1000, p->fault, 1.0f };
		assert_int_equal(svc_submit(w->v, s, &m, &o), SIM_OK);
	}
	e.rc = o.held ? -1 : (int)o.rc;
	e.code = o.reply ? o.reply->code : 0;
	e.extra = o.release_ns;
	logit(w, e);
}

/* One mailbox with the exchange-online limits; edit(limits) changes them. */
static world *mk_world(void (*edit)(scn_limits *L), const op *script, int n_ops)
{
	world *w = calloc(1, sizeof *w);
	assert_non_null(w);
	strcpy(w->mb[0].name, "mb0");
	w->mb[0].pool = -1;
	w->mb[0].smtp_client_auth_disabled = TRI_UNSET;
	w->mb[0].quota_bytes = 1LL << 40;
	w->mb[0].save_sent_items = true;
	w->mb[0].licensed = true;
	assert_int_equal(preset_fill("exchange-online", &w->mb[0].limits), 0);
	w->mb[0].limits.external_rate.limit = 0;
	if (edit)
		edit(&w->mb[0].limits);
	strcpy(w->routes[0].name, "smtp_auth");
	w->s.mailboxes = w->mb;
	w->s.n_mailboxes = 1;
	w->s.routes = w->routes;
	w->s.n_routes = 1;
	w->s.tenant.basic_auth_enabled = true;
	w->s.tenant.licenses = 1;
	w->s.duration_ns = 7 * 24 * 60 * MIN;
	w->script = script;
	w->n_ops = n_ops;
	return w;
}

static svc *start(world *w, const clk *c)
{
	w->now = c->now_ns;
	svc_hooks h = { .ctx = w, .held_answered = on_answer, .throttle_started = on_throttle };
	w->v = svc_new(&w->s, c, &sim_alloc_std, MAX_SESS, h);
	assert_non_null(w->v);
	return w->v;
}

/* Driver 1: the engine.  Every op is an event scheduled up front, so at
 * one instant the ops run in script order, before any timer due then. */
static void op_event(sim_engine *e, void *ctx, uint64_t arg)
{
	(void)e;
	world *w = ctx;
	do_op(w, &w->script[arg]);
}

static void run_engine(world *w, int64_t end)
{
	sim_engine *e = sim_engine_new(EVS_CALENDAR, &sim_alloc_std);
	assert_non_null(e);
	clk c = clk_from_engine(e);
	start(w, &c);
	for (int i = 0; i < w->n_ops; i++)
		assert_int_equal(sim_schedule_at(e, w->script[i].t, op_event, w, (uint64_t)i, NULL),
				 SIM_OK);
	assert_int_equal(sim_run(e, end), SIM_OK);
	assert_int_equal(svc_status(w->v), SIM_OK);
	svc_free(w->v);
	sim_engine_free(e);
}

/* Driver 2: the hand-stepped clock, no engine: step to each op's instant
 * (timers due before it fire), do the op. */
static void run_stepped(world *w, int64_t end)
{
	tclk tc = { 0 };
	clk c = tclk_port(&tc);
	start(w, &c);
	for (int i = 0; i < w->n_ops; i++) {
		tclk_step(&tc, w->script[i].t);
		do_op(w, &w->script[i]);
	}
	tclk_step(&tc, end);
	assert_int_equal(svc_status(w->v), SIM_OK);
	svc_free(w->v);
	assert_int_equal(tc.n, 0); /* svc_free cancelled what was pending */
}

/* Runs the script under both drivers; both logs must be the expected
 * one (time, kind, session, reply class, code; -1 code: not checked) and
 * identical to each other in every field. */
static void run_both(void (*edit)(scn_limits *L), const op *script, int n_ops,
		     const entry *want, int n_want, int64_t end)
{
	world *a = mk_world(edit, script, n_ops);
	world *b = mk_world(edit, script, n_ops);
	run_engine(a, end);
	run_stepped(b, end);
	for (int k = 0; k < 2; k++) {
		world *w = k ? b : a;
		assert_int_equal(w->n_log, n_want);
		for (int i = 0; i < n_want; i++) {
			assert_int_equal(w->log[i].t, want[i].t);
			assert_int_equal(w->log[i].k, want[i].k);
			assert_int_equal(w->log[i].sess, want[i].sess);
			assert_int_equal(w->log[i].rc, want[i].rc);
			if (want[i].code >= 0)
				assert_int_equal(w->log[i].code, want[i].code);
		}
	}
	for (int i = 0; i < n_want; i++) {
		assert_int_equal(a->log[i].t, b->log[i].t);
		assert_int_equal(a->log[i].k, b->log[i].k);
		assert_int_equal(a->log[i].sess, b->log[i].sess);
		assert_int_equal(a->log[i].rc, b->log[i].rc);
		assert_int_equal(a->log[i].code, b->log[i].code);
		assert_int_equal(a->log[i].extra, b->log[i].extra);
	}
	free(a);
	free(b);
}

/* ---- the tarpit and the 432 at AUTH ------------------------------------ */

static void tarpit_2_per_min(scn_limits *L)
{
	L->message_rate.mode = RATE_TARPIT;
	L->message_rate.limit = 2;
	L->connections.check = CONC_AT_AUTH;
}

/* concurrency_check: auth.  Three sessions per mailbox (exchange-online): the 4th AUTH at 0 s gets
 * 432.  Message rate lowered to 2 per 60 s, tarpit.  s0 at 0 s and s1 at
 * 10 s are accepted (window {0, 10}); s2 at 20 s finds it full: held; s0
 * at 30 s: held behind s2.  At 60 s the 0 s acceptance leaves the window
 * (open on the left): the timer answers s2 at 60 s ({10, 60}).  s1 at 65 s:
 * others are held, so held (first come, first served).  At 70 s the 10 s
 * one leaves: s0 answered ({60, 70}); at 120 s the 60 s one leaves: s1
 * answered.  At 130 s all quit, and a fresh AUTH of s3 opens. */
static void test_tarpit_and_432(void **state)
{
	(void)state;
	static const op script[] = {
		{ 0, OP_AUTH, 0, 0 }, { 0, OP_AUTH, 1, 0 }, { 0, OP_AUTH, 2, 0 },
		{ 0, OP_AUTH, 3, 0 },
		{ 0, OP_SUBMIT, 0, 0 }, { 10 * S, OP_SUBMIT, 1, 0 },
		{ 20 * S, OP_SUBMIT, 2, 0 }, { 30 * S, OP_SUBMIT, 0, 0 },
		{ 65 * S, OP_SUBMIT, 1, 0 },
		{ 130 * S, OP_QUIT, 0, 0 }, { 130 * S, OP_QUIT, 1, 0 },
		{ 130 * S, OP_QUIT, 2, 0 }, { 130 * S, OP_AUTH, 3, 0 },
		{ 130 * S, OP_QUIT, 3, 0 },
	};
	static const entry want[] = {
		{ 0, OP_AUTH, 0, RC_OK, 0, 0 }, { 0, OP_AUTH, 1, RC_OK, 0, 0 },
		{ 0, OP_AUTH, 2, RC_OK, 0, 0 }, { 0, OP_AUTH, 3, RC_CONCURRENCY, 432, 0 },
		{ 0, OP_SUBMIT, 0, RC_OK, 0, 0 }, { 10 * S, OP_SUBMIT, 1, RC_OK, 0, 0 },
		{ 20 * S, OP_SUBMIT, 2, -1, 0, 0 }, { 30 * S, OP_SUBMIT, 0, -1, 0, 0 },
		{ 60 * S, EV_ANSWER, 2, RC_OK, 0, 0 },
		{ 65 * S, OP_SUBMIT, 1, -1, 0, 0 },
		{ 70 * S, EV_ANSWER, 0, RC_OK, 0, 0 },
		{ 120 * S, EV_ANSWER, 1, RC_OK, 0, 0 },
		{ 130 * S, OP_QUIT, 0, 0, 0, 0 }, { 130 * S, OP_QUIT, 1, 0, 0, 0 },
		{ 130 * S, OP_QUIT, 2, 0, 0, 0 }, { 130 * S, OP_AUTH, 3, RC_OK, 0, 0 },
		{ 130 * S, OP_QUIT, 3, 0, 0, 0 },
	};
	run_both(tarpit_2_per_min, script, (int)(sizeof script / sizeof *script), want,
		 (int)(sizeof want / sizeof *want), 200 * S);
}

/* ---- the 432 at end of data (concurrency_check: end_of_data) ----------- */

static void eod_default(scn_limits *L)
{
	assert_int_equal(L->connections.check, CONC_AT_END_OF_DATA); /* the preset's */
}

/* Four simultaneous submissions: s0..s3 open and begin at 0 s (AUTH
 * refuses none), and their ends of data come at 5 s in that order.  s0
 * finds 3 others in progress: 432, its transfer spent.  It is answered,
 * so s1, s2 and s3 each find 2 others: accepted.  A fifth session opens
 * meanwhile at 1 s: sessions are not limited, only submissions. */
static void test_432_four_at_once(void **state)
{
	(void)state;
	static const op script[] = {
		{ 0, OP_AUTH, 0, 0 }, { 0, OP_AUTH, 1, 0 }, { 0, OP_AUTH, 2, 0 }, { 0, OP_AUTH, 3, 0 },
		{ 0, OP_BEGIN, 0, 0 }, { 0, OP_BEGIN, 1, 0 }, { 0, OP_BEGIN, 2, 0 }, { 0, OP_BEGIN, 3, 0 },
		{ 1 * S, OP_AUTH, 4, 0 },
		{ 5 * S, OP_SUBMIT, 0, 0 }, { 5 * S, OP_SUBMIT, 1, 0 },
		{ 5 * S, OP_SUBMIT, 2, 0 }, { 5 * S, OP_SUBMIT, 3, 0 },
		{ 6 * S, OP_QUIT, 4, 0 },
	};
	static const entry want[] = {
		{ 0, OP_AUTH, 0, RC_OK, 0, 0 }, { 0, OP_AUTH, 1, RC_OK, 0, 0 },
		{ 0, OP_AUTH, 2, RC_OK, 0, 0 }, { 0, OP_AUTH, 3, RC_OK, 0, 0 },
		{ 0, OP_BEGIN, 0, 0, 0, 0 }, { 0, OP_BEGIN, 1, 0, 0, 0 },
		{ 0, OP_BEGIN, 2, 0, 0, 0 }, { 0, OP_BEGIN, 3, 0, 0, 0 },
		{ 1 * S, OP_AUTH, 4, RC_OK, 0, 0 },
		{ 5 * S, OP_SUBMIT, 0, RC_CONCURRENCY, 432, 5 * S },
		{ 5 * S, OP_SUBMIT, 1, RC_OK, 0, 5 * S }, { 5 * S, OP_SUBMIT, 2, RC_OK, 0, 5 * S },
		{ 5 * S, OP_SUBMIT, 3, RC_OK, 0, 5 * S },
		{ 6 * S, OP_QUIT, 4, 0, 0, 0 },
	};
	run_both(eod_default, script, (int)(sizeof script / sizeof *script), want,
		 (int)(sizeof want / sizeof *want), 10 * S);
}

/* A long upload overlapped by three short ones.  s0 begins at 0 s and its
 * data ends at 100 s.  s1, s2, s3 begin at 10, 20, 30 s and end at 40,
 * 50, 60 s: s1 finds s0, s2, s3 in progress (3): 432; s2 finds s0, s3
 * (2): accepted; s3 finds s0: accepted.  Then s1 (retrying in the same
 * test as a new submission) begins at 90 s with s2 and s3 at 95 s; at
 * 100 s s0's long upload ends with 3 others in progress: 432 after
 * 100 s of transfer; s1, s2, s3 end at 101 s in that order: 2, 1, 0
 * others: all accepted. */
static void test_432_long_upload(void **state)
{
	(void)state;
	static const op script[] = {
		{ 0, OP_AUTH, 0, 0 }, { 0, OP_AUTH, 1, 0 }, { 0, OP_AUTH, 2, 0 }, { 0, OP_AUTH, 3, 0 },
		{ 0, OP_BEGIN, 0, 0 },
		{ 10 * S, OP_BEGIN, 1, 0 }, { 20 * S, OP_BEGIN, 2, 0 }, { 30 * S, OP_BEGIN, 3, 0 },
		{ 40 * S, OP_SUBMIT, 1, 0 }, { 50 * S, OP_SUBMIT, 2, 0 }, { 60 * S, OP_SUBMIT, 3, 0 },
		{ 90 * S, OP_BEGIN, 1, 0 }, { 95 * S, OP_BEGIN, 2, 0 }, { 95 * S, OP_BEGIN, 3, 0 },
		{ 100 * S, OP_SUBMIT, 0, 0 },
		{ 101 * S, OP_SUBMIT, 1, 0 }, { 101 * S, OP_SUBMIT, 2, 0 }, { 101 * S, OP_SUBMIT, 3, 0 },
	};
	static const entry want[] = {
		{ 0, OP_AUTH, 0, RC_OK, 0, 0 }, { 0, OP_AUTH, 1, RC_OK, 0, 0 },
		{ 0, OP_AUTH, 2, RC_OK, 0, 0 }, { 0, OP_AUTH, 3, RC_OK, 0, 0 },
		{ 0, OP_BEGIN, 0, 0, 0, 0 },
		{ 10 * S, OP_BEGIN, 1, 0, 0, 0 }, { 20 * S, OP_BEGIN, 2, 0, 0, 0 },
		{ 30 * S, OP_BEGIN, 3, 0, 0, 0 },
		{ 40 * S, OP_SUBMIT, 1, RC_CONCURRENCY, 432, 40 * S },
		{ 50 * S, OP_SUBMIT, 2, RC_OK, 0, 50 * S }, { 60 * S, OP_SUBMIT, 3, RC_OK, 0, 60 * S },
		{ 90 * S, OP_BEGIN, 1, 0, 0, 0 }, { 95 * S, OP_BEGIN, 2, 0, 0, 0 },
		{ 95 * S, OP_BEGIN, 3, 0, 0, 0 },
		{ 100 * S, OP_SUBMIT, 0, RC_CONCURRENCY, 432, 100 * S },
		{ 101 * S, OP_SUBMIT, 1, RC_OK, 0, 101 * S }, { 101 * S, OP_SUBMIT, 2, RC_OK, 0, 101 * S },
		{ 101 * S, OP_SUBMIT, 3, RC_OK, 0, 101 * S },
	};
	run_both(eod_default, script, (int)(sizeof script / sizeof *script), want,
		 (int)(sizeof want / sizeof *want), 200 * S);
}

/* Ties at one instant are decided in event order, and a submission
 * answered first is no longer in progress for the next.  s1, s2 in
 * progress from 0 s; s0 and s3 begin at 1 s.  At 5 s s3's end of data
 * comes before s0's: s3 finds s0, s1, s2 (3): 432; s0 then finds s1, s2
 * (2): 250.  At 7 s s3 begins again, then s1's end of data finds s2, s3
 * (2): 250.  At 8 s s4 opens and begins, s0 begins: s2's end of data
 * finds s3, s4, s0 (3): 432; s3's then finds s4, s0 (2): 250. */
static void test_432_ties(void **state)
{
	(void)state;
	static const op script[] = {
		{ 0, OP_AUTH, 0, 0 }, { 0, OP_AUTH, 1, 0 }, { 0, OP_AUTH, 2, 0 }, { 0, OP_AUTH, 3, 0 },
		{ 0, OP_BEGIN, 1, 0 }, { 0, OP_BEGIN, 2, 0 },
		{ 1 * S, OP_BEGIN, 0, 0 }, { 1 * S, OP_BEGIN, 3, 0 },
		{ 5 * S, OP_SUBMIT, 3, 0 }, { 5 * S, OP_SUBMIT, 0, 0 },
		{ 7 * S, OP_BEGIN, 3, 0 }, { 7 * S, OP_SUBMIT, 1, 0 },
		{ 8 * S, OP_AUTH, 4, 0 }, { 8 * S, OP_BEGIN, 4, 0 }, { 8 * S, OP_BEGIN, 0, 0 },
		{ 8 * S, OP_SUBMIT, 2, 0 }, { 8 * S, OP_SUBMIT, 3, 0 },
	};
	static const entry want[] = {
		{ 0, OP_AUTH, 0, RC_OK, 0, 0 }, { 0, OP_AUTH, 1, RC_OK, 0, 0 },
		{ 0, OP_AUTH, 2, RC_OK, 0, 0 }, { 0, OP_AUTH, 3, RC_OK, 0, 0 },
		{ 0, OP_BEGIN, 1, 0, 0, 0 }, { 0, OP_BEGIN, 2, 0, 0, 0 },
		{ 1 * S, OP_BEGIN, 0, 0, 0, 0 }, { 1 * S, OP_BEGIN, 3, 0, 0, 0 },
		{ 5 * S, OP_SUBMIT, 3, RC_CONCURRENCY, 432, 5 * S },
		{ 5 * S, OP_SUBMIT, 0, RC_OK, 0, 5 * S },
		{ 7 * S, OP_BEGIN, 3, 0, 0, 0 }, { 7 * S, OP_SUBMIT, 1, RC_OK, 0, 7 * S },
		{ 8 * S, OP_AUTH, 4, RC_OK, 0, 0 }, { 8 * S, OP_BEGIN, 4, 0, 0, 0 },
		{ 8 * S, OP_BEGIN, 0, 0, 0, 0 },
		{ 8 * S, OP_SUBMIT, 2, RC_CONCURRENCY, 432, 8 * S },
		{ 8 * S, OP_SUBMIT, 3, RC_OK, 0, 8 * S },
	};
	run_both(eod_default, script, (int)(sizeof script / sizeof *script), want,
		 (int)(sizeof want / sizeof *want), 20 * S);
}

/* A session quits while held: it leaves the queue unanswered, and the
 * wake-up timer still answers the one behind it.  Limit 1 per 60 s: s0
 * accepted at 0 s; s1 held at 1 s, s2 held at 2 s; s1 quits at 30 s; at
 * 60 s s2 is answered. */
static void tarpit_1_per_min(scn_limits *L)
{
	L->message_rate.mode = RATE_TARPIT;
	L->message_rate.limit = 1;
}

static void test_tarpit_quit_while_held(void **state)
{
	(void)state;
	static const op script[] = {
		{ 0, OP_AUTH, 0, 0 }, { 0, OP_AUTH, 1, 0 }, { 0, OP_AUTH, 2, 0 },
		{ 0, OP_SUBMIT, 0, 0 }, { 1 * S, OP_SUBMIT, 1, 0 }, { 2 * S, OP_SUBMIT, 2, 0 },
		{ 30 * S, OP_QUIT, 1, 0 },
		{ 90 * S, OP_QUIT, 0, 0 }, { 90 * S, OP_QUIT, 2, 0 },
	};
	static const entry want[] = {
		{ 0, OP_AUTH, 0, RC_OK, 0, 0 }, { 0, OP_AUTH, 1, RC_OK, 0, 0 },
		{ 0, OP_AUTH, 2, RC_OK, 0, 0 },
		{ 0, OP_SUBMIT, 0, RC_OK, 0, 0 }, { 1 * S, OP_SUBMIT, 1, -1, 0, 0 },
		{ 2 * S, OP_SUBMIT, 2, -1, 0, 0 }, { 30 * S, OP_QUIT, 1, 0, 0, 0 },
		{ 60 * S, EV_ANSWER, 2, RC_OK, 0, 0 },
		{ 90 * S, OP_QUIT, 0, 0, 0, 0 }, { 90 * S, OP_QUIT, 2, 0, 0, 0 },
	};
	run_both(tarpit_1_per_min, script, (int)(sizeof script / sizeof *script), want,
		 (int)(sizeof want / sizeof *want), 200 * S);
}

/* ---- 30 per minute, reject ----------------------------------------------- */

static void reject_mode(scn_limits *L)
{
	L->message_rate.mode = RATE_REJECT;
}

/* 30 per 60 s (SUB), reject mode: messages at 0, 1, ..., 29 s are
 * accepted; the 31st, at 30 s, is refused.  At 60 s the 0 s message has
 * left (0 <= 60 - 60): 29 in the window, the next is accepted; a second
 * one at 60 s finds 30 again and is refused. */
static void test_reject_30_per_min(void **state)
{
	(void)state;
	op script[1 + 31 + 2 + 1];
	entry want[1 + 31 + 2 + 1];
	int n = 0;
	script[n] = (op){ 0, OP_AUTH, 0, 0 };
	want[n++] = (entry){ 0, OP_AUTH, 0, RC_OK, 0, 0 };
	for (int k = 0; k <= 30; k++) {
		script[n] = (op){ k * S, OP_SUBMIT, 0, 0 };
		want[n++] = (entry){ k * S, OP_SUBMIT, 0, k < 30 ? RC_OK : RC_MESSAGE_RATE,
				     k < 30 ? 0 : -1, 0 };
	}
	for (int k = 0; k < 2; k++) {
		script[n] = (op){ 60 * S, OP_SUBMIT, 0, 0 };
		want[n++] = (entry){ 60 * S, OP_SUBMIT, 0, k == 0 ? RC_OK : RC_MESSAGE_RATE,
				     k == 0 ? 0 : -1, 0 };
	}
	script[n] = (op){ 61 * S, OP_QUIT, 0, 0 };
	want[n++] = (entry){ 61 * S, OP_QUIT, 0, 0, 0, 0 };
	run_both(reject_mode, script, n, want, n, 120 * S);
}

/* ---- error throttling ---------------------------------------------------- */

/* CET defaults (exchange-online): 10 errors of a class in 10 min throttle
 * the mailbox for 60 min.  Send-as denied at 0, 10, ..., 90 s: each gets
 * 550 5.7.60; the 10th (90 s) starts a period [90 s, 3690 s) of class
 * send-as (the hook fires before the reply is logged).  A clean message
 * at 100 s gets 550 5.2.252; at 3690 s - 1 ns still; at 3690 s it is
 * accepted. */
static void test_error_throttle(void **state)
{
	(void)state;
	enum { N = 1 + 10 + 1 + 3 + 1 };
	op script[N];
	entry want[N + 1];
	int n = 0, m = 0;
	script[n++] = (op){ 0, OP_AUTH, 0, 0 };
	want[m++] = (entry){ 0, OP_AUTH, 0, RC_OK, 0, 0 };
	for (int k = 0; k < 10; k++) {
		script[n++] = (op){ k * 10 * S, OP_SUBMIT, 0, SVC_FAULT_SEND_AS_DENIED };
		if (k == 9)
			want[m++] = (entry){ 90 * S, EV_THROTTLE, ERR_SEND_AS_DENIED, 0, 0, 0 };
		want[m++] = (entry){ k * 10 * S, OP_SUBMIT, 0, RC_SEND_AS_DENIED, 550, 0 };
	}
	int64_t end = 90 * S + 60 * MIN;
	const int64_t at[] = { 100 * S, end - 1, end };
	for (int k = 0; k < 3; k++) {
		script[n++] = (op){ at[k], OP_SUBMIT, 0, 0 };
		want[m++] = (entry){ at[k], OP_SUBMIT, 0, k < 2 ? RC_THROTTLED_SEND_AS : RC_OK,
				     k < 2 ? 550 : 0, 0 };
	}
	script[n++] = (op){ end, OP_QUIT, 0, 0 };
	want[m++] = (entry){ end, OP_QUIT, 0, 0, 0, 0 };
	run_both(NULL, script, n, want, m, end + S);
}

/* ---- the test clock itself ---------------------------------------------- */

static int fired[4];
static int n_fired;
static void note(void *arg)
{
	fired[n_fired++] = (int)(intptr_t)arg;
}

/* Ties fire in scheduling order, cancel and pending follow the port's
 * contract, and a timer at exactly the step's end stays pending. */
static void test_tclk_contract(void **state)
{
	(void)state;
	tclk tc = { 0 };
	clk c = tclk_port(&tc);
	clk_timer h[3] = { CLK_TIMER_NONE, CLK_TIMER_NONE, CLK_TIMER_NONE };
	assert_false(clk_pending(&c, &h[0]));
	assert_false(clk_cancel(&c, &h[0]));
	assert_int_equal(clk_schedule_at(&c, 5, note, (void *)(intptr_t)1, &h[0]), SIM_OK);
	assert_int_equal(clk_schedule_at(&c, 5, note, (void *)(intptr_t)2, &h[1]), SIM_OK);
	assert_int_equal(clk_schedule_at(&c, 3, note, (void *)(intptr_t)3, &h[2]), SIM_OK);
	assert_true(clk_pending(&c, &h[1]));
	tclk_step(&tc, 5);
	assert_int_equal(n_fired, 1);
	assert_int_equal(fired[0], 3);
	assert_int_equal(clk_now(&c), 5);
	assert_true(clk_cancel(&c, &h[0]));
	assert_false(clk_cancel(&c, &h[0]));
	tclk_step(&tc, 6);
	assert_int_equal(n_fired, 2);
	assert_int_equal(fired[1], 2);
	assert_false(clk_pending(&c, &h[1]));
	assert_int_equal(clk_schedule_at(&c, 4, note, NULL, &h[0]), SIM_EPAST);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tclk_contract),
		cmocka_unit_test(test_tarpit_and_432),
		cmocka_unit_test(test_432_four_at_once),
		cmocka_unit_test(test_432_long_upload),
		cmocka_unit_test(test_432_ties),
		cmocka_unit_test(test_tarpit_quit_while_held),
		cmocka_unit_test(test_reject_30_per_min),
		cmocka_unit_test(test_error_throttle),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
