/* test_evloop.c - the wall-clock event loop (sim/program/evloop.[ch]) and
 * the clock port over it.
 *
 * Model timers run through the port at K = 1000 (10 s of model time in
 * 10 ms), or faster, so the file takes well under a second.  Every check
 * is on order and on model instants, which the loop sets exactly; none is
 * on how long anything took, so a loaded machine only makes it slower.
 * The last tests drive the service (models/service.h) with this clock and
 * with test_clock.c's hand-stepped one through the same scripts: both
 * must give the hand-worked replies, entry by entry (issue 11 point 3, in
 * miniature).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "evloop.h"
#include "presets.h"
#include "service.h"
#include "status.h"

#define S  1000000000LL
#define MS 1000000LL
#define MIN (60 * S)

static const ev_scale K1000 = { 1000, 1 };

static ev_loop *mk_loop(ev_scale k)
{
	ev_loop *l = NULL;
	assert_int_equal(ev_new(&l, &sim_alloc_std, k), SIM_OK);
	assert_non_null(l);
	return l;
}

/* ---- the time scale ---------------------------------------------------- */

static void test_scale(void **state)
{
	(void)state;
	ev_scale k = { 7, 7 };
	assert_int_equal(ev_scale_parse("1000", &k), SIM_OK);
	assert_int_equal(k.num, 1000);
	assert_int_equal(k.den, 1);
	assert_int_equal(ev_scale_parse("2.5", &k), SIM_OK);
	assert_int_equal(k.num, 5);
	assert_int_equal(k.den, 2);
	assert_int_equal(ev_scale_parse("1000/3", &k), SIM_OK);
	assert_int_equal(k.num, 1000);
	assert_int_equal(k.den, 3);
	assert_int_equal(ev_scale_parse("1", &k), SIM_OK);
	assert_int_equal(k.num, 1);
	assert_int_equal(k.den, 1);
	assert_int_equal(ev_scale_parse("1000000", &k), SIM_OK);
	/* K < 1, over 10^6, or not a number: refused, out untouched */
	static const char *bad[] = { "", "0", "0.5", "2/3", "1/0", "1000001", "2.", ".5",
				     "1e3", "10x", "-2", "1.0000000001", "3/", "99999999999" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		k = (ev_scale){ 7, 7 };
		assert_int_equal(ev_scale_parse(bad[i], &k), SIM_EINVAL);
		assert_int_equal(k.num, 7);
	}
	ev_loop *l = NULL;
	assert_int_equal(ev_new(&l, &sim_alloc_std, (ev_scale){ 1, 2 }), SIM_EINVAL);
	assert_null(l);

	/* to_wall(t) is the first wall ns whose model time reaches t. */
	const ev_scale ks[] = { { 1, 1 }, { 1000, 1 }, { 1000, 3 }, { 5, 2 }, { 999999937, 1000 } };
	for (size_t i = 0; i < sizeof ks / sizeof *ks; i++) {
		for (int64_t t = 0; t < 5000; t += 7) {
			int64_t w = ev_scale_to_wall(ks[i], t);
			assert_true(ev_scale_to_model(ks[i], w) >= t);
			if (w > 0)
				assert_true(ev_scale_to_model(ks[i], w - 1) < t);
		}
		int64_t big = INT64_MAX - 12345;
		assert_true(ev_scale_to_model(ks[i], ev_scale_to_wall(ks[i], big)) >= big);
	}
	assert_int_equal(ev_scale_to_model(K1000, 10 * MS), 10 * S);
	assert_int_equal(ev_scale_to_model(K1000, INT64_MAX / 2), INT64_MAX); /* saturates */
	assert_int_equal(ev_scale_to_wall((ev_scale){ 1000, 3 }, 1000), 3);
	assert_int_equal(ev_scale_to_wall((ev_scale){ 1000, 3 }, 1001), 4);
}

/* ---- model timers through the clock port ------------------------------------- */

typedef struct rec {
	clk c;
	ev_loop *l;
	int n;
	int who[16];
	int64_t at[16];     /* clk_now in the callback */
	clk_timer h[16];
	struct rec_arg { struct rec *r; int id; } args[16];
} rec;

static void note(void *p)
{
	struct rec_arg *a = p;
	rec *r = a->r;
	assert_true(r->n < 16);
	assert_false(clk_pending(&r->c, &r->h[a->id])); /* not pending once it starts */
	r->who[r->n] = a->id;
	r->at[r->n++] = clk_now(&r->c);
}

static rec *mk_rec(ev_scale k)
{
	rec *r = calloc(1, sizeof *r);
	assert_non_null(r);
	r->l = mk_loop(k);
	r->c = ev_clock(r->l);
	for (int i = 0; i < 16; i++)
		r->args[i] = (struct rec_arg){ r, i };
	return r;
}

static void at(rec *r, int id, int64_t t)
{
	assert_int_equal(clk_schedule_at(&r->c, t, note, &r->args[id], &r->h[id]), SIM_OK);
}

static void free_rec(rec *r)
{
	ev_free(r->l);
	free(r);
}

/* Timers fire in time order, ties in scheduling order; a cancelled one
 * never; each sees the model time at its own instant; ev_run returns when
 * none is left. */
static void test_timer_order(void **state)
{
	(void)state;
	rec *r = mk_rec(K1000);
	assert_int_equal(clk_now(&r->c), 0);
	assert_false(clk_pending(&r->c, &r->h[9])); /* zeroed: no timer */
	assert_false(clk_cancel(&r->c, &r->h[9]));
	at(r, 0, 10 * S);
	at(r, 1, 3 * S);
	at(r, 2, 3 * S);
	at(r, 3, 7 * S + 1);
	at(r, 4, 0);
	at(r, 5, 5 * S);
	at(r, 6, 3 * S);
	assert_true(clk_pending(&r->c, &r->h[5]));
	assert_true(clk_cancel(&r->c, &r->h[5]));
	assert_false(clk_cancel(&r->c, &r->h[5]));
	assert_false(clk_pending(&r->c, &r->h[5]));
	assert_int_equal(ev_run(r->l), SIM_OK);
	static const int want[] = { 4, 1, 2, 6, 3, 0 };
	static const int64_t want_at[] = { 0, 3 * S, 3 * S, 3 * S, 7 * S + 1, 10 * S };
	assert_int_equal(r->n, 6);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(r->who[i], want[i]);
		assert_int_equal(r->at[i], want_at[i]);
	}
	assert_true(clk_now(&r->c) >= 10 * S);
	assert_true(ev_now(r->l) >= 10 * MS);
	/* the past is refused, nothing scheduled */
	clk_timer h = CLK_TIMER_NONE;
	assert_int_equal(clk_schedule_at(&r->c, clk_now(&r->c) - 1, note, &r->args[0], &h), SIM_EPAST);
	assert_false(clk_pending(&r->c, &h));
	free_rec(r);
}

/* From a callback at 5 s: a timer at the current instant fires in the
 * same pass, after the ones already due at 5 s and before the one at 7 s;
 * the running timer's own handle can be scheduled again (at 6 s). */
static rec *g_rec;
static void at5(void *p)
{
	note(p);
	struct rec_arg *a = p;
	if (a->id == 0) {
		at(g_rec, 3, 5 * S);
		at(g_rec, 0, 6 * S); /* its own handle, again */
	}
}

static void test_same_instant_from_callback(void **state)
{
	(void)state;
	rec *r = g_rec = mk_rec(K1000);
	assert_int_equal(clk_schedule_at(&r->c, 5 * S, at5, &r->args[0], &r->h[0]), SIM_OK);
	at(r, 1, 5 * S);
	at(r, 2, 7 * S);
	assert_int_equal(ev_run(r->l), SIM_OK);
	static const int want[] = { 0, 1, 3, 0, 2 };
	static const int64_t want_at[] = { 5 * S, 5 * S, 5 * S, 6 * S, 7 * S };
	assert_int_equal(r->n, 5);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(r->who[i], want[i]);
		assert_int_equal(r->at[i], want_at[i]);
	}
	free_rec(r);
}

/* Wall timers (session timeouts) do not scale and merge with model
 * timers by the wall instant each is due at, a model timer first on a
 * tie; ev_stop from a callback leaves the rest pending for the next run. */
static void wall_note(ev_loop *l, ev_timer *t)
{
	struct rec_arg *a = t->arg;
	(void)l;
	a->r->who[a->r->n] = 100 + a->id;
	a->r->at[a->r->n++] = clk_now(&a->r->c);
}

static void stop_note(void *p)
{
	note(p);
	ev_stop(((struct rec_arg *)p)->r->l);
}

static void test_wall_timers_and_stop(void **state)
{
	(void)state;
	rec *r = mk_rec(K1000);
	ev_timer w[3];
	memset(w, 0, sizeof w);
	assert_false(ev_timer_pending(&w[0]));
	assert_int_equal(ev_timer_start(r->l, &w[0], 2 * MS, wall_note, &r->args[0]), SIM_OK);
	assert_int_equal(ev_timer_start(r->l, &w[1], 1 * MS, wall_note, &r->args[1]), SIM_OK);
	assert_int_equal(ev_timer_start(r->l, &w[2], 3 * MS, wall_note, &r->args[2]), SIM_OK);
	assert_int_equal(ev_timer_start(r->l, &w[2], 3 * MS, wall_note, &r->args[2]), SIM_EINVAL);
	assert_true(ev_timer_stop(r->l, &w[2]));
	assert_false(ev_timer_stop(r->l, &w[2]));
	at(r, 1, 2 * S);                       /* wall 2 ms: before w[0] */
	at(r, 2, 1 * S + 1);                   /* wall 1 ms + 1 ns: after w[1] */
	assert_int_equal(clk_schedule_at(&r->c, 4 * S, stop_note, &r->args[3], &r->h[3]), SIM_OK);
	at(r, 4, 4 * S);                       /* same instant, after the stop */
	assert_int_equal(ev_run(r->l), SIM_OK);
	static const int want[] = { 101, 2, 1, 100, 3 };
	static const int64_t want_at[] = { 1 * S, 1 * S + 1, 2 * S, 2 * S, 4 * S };
	assert_int_equal(r->n, 5);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(r->who[i], want[i]);
		assert_int_equal(r->at[i], want_at[i]);
	}
	assert_true(clk_pending(&r->c, &r->h[4]));
	assert_int_equal(ev_run(r->l), SIM_OK);
	assert_int_equal(r->n, 6);
	assert_int_equal(r->who[5], 4);
	assert_int_equal(r->at[5], 4 * S);
	assert_int_equal(ev_timer_start(r->l, &w[0], ev_now(r->l) - 1, wall_note, &r->args[0]),
			 SIM_EPAST);
	free_rec(r);
}

/* ---- file descriptors ------------------------------------------------------- */

typedef struct piper {
	ev_loop *l;
	clk c;
	int fds[2];
	ev_io rd;
	char got[64];
	size_t n_got;
	int reads;
	bool eof;
	int64_t eof_at;
	int64_t last_write_at;
	clk_timer h[3];
} piper;

/* One byte per callback: the rest is reported again (level-triggered). */
static void on_read(ev_loop *l, ev_io *w, unsigned events)
{
	piper *p = w->arg;
	assert_int_equal(events, EV_READ);
	assert_true(clk_now(&p->c) >= p->last_write_at);
	char ch;
	ssize_t n = read(w->fd, &ch, 1);
	p->reads++;
	if (n == 1) {
		assert_true(p->n_got < sizeof p->got);
		p->got[p->n_got++] = ch;
		return;
	}
	assert_int_equal(n, 0);
	p->eof = true;
	p->eof_at = clk_now(&p->c);
	ev_io_stop(l, w);
	close(w->fd);
}

static piper *g_pipe;
static void write_ab(void *arg)
{
	(void)arg;
	g_pipe->last_write_at = clk_now(&g_pipe->c);
	assert_int_equal(write(g_pipe->fds[1], "ab", 2), 2);
}
static void write_cd(void *arg)
{
	(void)arg;
	g_pipe->last_write_at = clk_now(&g_pipe->c);
	assert_int_equal(write(g_pipe->fds[1], "cd", 2), 2);
}
static void close_w(void *arg)
{
	(void)arg;
	g_pipe->last_write_at = clk_now(&g_pipe->c);
	close(g_pipe->fds[1]);
}

/* Writes at 1 s and 2 s and the close at 3 s (model) arrive in order, each
 * no earlier than its write; the EOF is seen; with nothing left to watch
 * ev_run returns. */
static void test_pipe_read_and_eof(void **state)
{
	(void)state;
	piper *p = g_pipe = calloc(1, sizeof *p);
	assert_non_null(p);
	p->l = mk_loop(K1000);
	p->c = ev_clock(p->l);
	assert_int_equal(pipe(p->fds), 0);
	assert_int_equal(ev_io_start(p->l, &p->rd, p->fds[0], EV_READ, on_read, p), SIM_OK);
	assert_int_equal(ev_io_start(p->l, &p->rd, p->fds[0], EV_READ, on_read, p), SIM_EINVAL);
	assert_int_equal(clk_schedule_at(&p->c, 1 * S, write_ab, NULL, &p->h[0]), SIM_OK);
	assert_int_equal(clk_schedule_at(&p->c, 2 * S, write_cd, NULL, &p->h[1]), SIM_OK);
	assert_int_equal(clk_schedule_at(&p->c, 3 * S, close_w, NULL, &p->h[2]), SIM_OK);
	assert_int_equal(ev_run(p->l), SIM_OK);
	assert_int_equal(p->n_got, 4);
	assert_memory_equal(p->got, "abcd", 4);
	assert_true(p->eof);
	assert_true(p->eof_at >= 3 * S);
	assert_int_equal(p->reads, 5);
	ev_free(p->l);
	free(p);
}

/* Interest 0 keeps the watcher but polls nothing (so a hang-up cannot
 * spin the loop); EV_WRITE on a pipe's write end is ready at once. */
static int n_fired_io;
static void stop_other(ev_loop *l, ev_io *w, unsigned events)
{
	(void)events;
	ev_io *other = w->arg;
	n_fired_io++;
	ev_io_stop(l, other);
	ev_io_stop(l, w);
}

static void on_writable(ev_loop *l, ev_io *w, unsigned events)
{
	assert_int_equal(events, EV_WRITE);
	n_fired_io++;
	assert_int_equal(write(w->fd, "x", 1), 1);
	assert_int_equal(ev_io_set(l, w, 0), SIM_OK);
	ev_stop(l);
}

static void stop_loop(void *l)
{
	ev_stop(l);
}

static void test_interest_and_stop_in_dispatch(void **state)
{
	(void)state;
	ev_loop *l = mk_loop(K1000);
	int a[2], b[2];
	assert_int_equal(pipe(a), 0);
	assert_int_equal(pipe(b), 0);
	ev_io wa, wb;
	memset(&wa, 0, sizeof wa);
	memset(&wb, 0, sizeof wb);
	/* write interest: fires once, then interest 0 */
	assert_int_equal(ev_io_start(l, &wa, a[1], 0, on_writable, NULL), SIM_OK);
	assert_int_equal(ev_io_set(l, &wa, EV_WRITE | 4u), SIM_EINVAL);
	assert_int_equal(ev_io_set(l, &wa, EV_WRITE), SIM_OK);
	n_fired_io = 0;
	assert_int_equal(ev_run(l), SIM_OK);
	assert_int_equal(n_fired_io, 1);
	/* still watched with interest 0, still writable: nothing reported
	 * until the timer stops the loop 1 s (model) later */
	clk c = ev_clock(l);
	clk_timer h = CLK_TIMER_NONE;
	assert_int_equal(clk_schedule_at(&c, clk_now(&c) + S, stop_loop, l, &h), SIM_OK);
	assert_int_equal(ev_run(l), SIM_OK);
	assert_int_equal(n_fired_io, 1);
	assert_false(clk_pending(&c, &h));
	ev_io_stop(l, &wa);
	ev_io_stop(l, &wa); /* twice: harmless */
	/* both read ends ready in one poll: whichever runs first stops the
	 * other, which then gets no callback although its event was read */
	assert_int_equal(write(b[1], "y", 1), 1);
	assert_int_equal(ev_io_start(l, &wa, a[0], EV_READ, stop_other, &wb), SIM_OK);
	assert_int_equal(ev_io_start(l, &wb, b[0], EV_READ, stop_other, &wa), SIM_OK);
	n_fired_io = 0;
	assert_int_equal(ev_run(l), SIM_OK); /* returns: nothing left */
	assert_int_equal(n_fired_io, 1);
	ev_free(l);
	close(a[0]); close(a[1]); close(b[0]); close(b[1]);
}

/* ---- signals ------------------------------------------------------------- */

static int got_signo;
static void on_signal(ev_loop *l, int signo, void *arg)
{
	(void)arg;
	got_signo = signo;
	ev_stop(l);
}

static void too_late(ev_loop *l, ev_timer *t)
{
	(void)t;
	got_signo = -1;
	ev_stop(l);
}

/* SIGTERM to self is a callback of the loop; ev_free unblocks it again. */
static void test_sigterm(void **state)
{
	(void)state;
	ev_loop *l = mk_loop(K1000);
	static const int sigs[] = { SIGINT, SIGTERM };
	assert_int_equal(ev_signal(l, sigs, 2, on_signal, NULL), SIM_OK);
	assert_int_equal(ev_signal(l, sigs, 2, on_signal, NULL), SIM_EINVAL);
	ev_timer guard;
	memset(&guard, 0, sizeof guard);
	assert_int_equal(ev_timer_start(l, &guard, 5 * S, too_late, NULL), SIM_OK); /* wall */
	got_signo = 0;
	assert_int_equal(kill(getpid(), SIGTERM), 0);
	assert_int_equal(ev_run(l), SIM_OK);
	assert_int_equal(got_signo, SIGTERM);
	ev_free(l);
	sigset_t now;
	assert_int_equal(pthread_sigmask(SIG_BLOCK, NULL, &now), 0);
	assert_false(sigismember(&now, SIGTERM));
	assert_false(sigismember(&now, SIGINT));
}

/* ---- allocation failures ----------------------------------------------- */

static int n_enomem_fired;
static void count_fired(void *arg)
{
	(void)arg;
	n_enomem_fired++;
}

/* Fail the 1st, 2nd, ... allocation: ev_new or a schedule_at gives
 * SIM_ENOMEM and schedules nothing; everything scheduled before still
 * fires; ev_free leaves nothing allocated. */
static void test_enomem(void **state)
{
	(void)state;
	enum { N = 40 };
	for (long fail_at = 1; fail_at <= N + 6; fail_at++) {
		sim_alloc_failing st = { .fail_at = fail_at };
		sim_alloc a = sim_alloc_failing_make(&st);
		ev_loop *l = NULL;
		int rc = ev_new(&l, &a, K1000);
		if (rc != SIM_OK) {
			assert_int_equal(rc, SIM_ENOMEM);
			assert_null(l);
			continue;
		}
		clk c = ev_clock(l);
		static clk_timer h[N];
		int ok = 0;
		for (int i = 0; i < N; i++) {
			h[i] = CLK_TIMER_NONE;
			rc = clk_schedule_at(&c, (N - i) * MS, count_fired, NULL, &h[i]);
			if (rc == SIM_OK) {
				ok++;
			} else {
				assert_int_equal(rc, SIM_ENOMEM);
				assert_false(clk_pending(&c, &h[i]));
			}
		}
		n_enomem_fired = 0;
		assert_int_equal(ev_run(l), SIM_OK);
		assert_int_equal(n_enomem_fired, ok);
		ev_free(l);
		assert_int_equal(st.live, 0);
	}
}

/* ---- the service over this clock --------------------------------------- */

/* test_clock.c's hand-stepped clock: pending timers sorted by (time, id). */
#define TCLK_MAX 16

typedef struct tclk {
	int64_t now;
	uint64_t next_id;
	int n;
	struct tentry {
		int64_t t;
		uint64_t id;
		clk_timer *h;
	} q[TCLK_MAX];
} tclk;

static int tclk_schedule_at(void *ctx, int64_t t, clk_cb cb, void *arg, clk_timer *h)
{
	tclk *c = ctx;
	if (t < c->now)
		return SIM_EPAST;
	if (c->n == TCLK_MAX)
		return SIM_ENOMEM;
	uint64_t id = ++c->next_id;
	int i = c->n;
	while (i > 0 && c->q[i - 1].t > t) {
		c->q[i] = c->q[i - 1];
		i--;
	}
	c->q[i] = (struct tentry){ t, id, h };
	c->n++;
	h->cb = cb;
	h->arg = arg;
	h->impl = c;
	h->id = id;
	return SIM_OK;
}

static int tclk_find(const tclk *c, const clk_timer *h)
{
	for (int i = 0; i < c->n; i++)
		if (c->q[i].h == h && c->q[i].id == h->id)
			return i;
	return -1;
}

static bool tclk_cancel(void *ctx, clk_timer *h)
{
	tclk *c = ctx;
	int i = tclk_find(c, h);
	if (i < 0)
		return false;
	memmove(&c->q[i], &c->q[i + 1], (size_t)(c->n - i - 1) * sizeof c->q[0]);
	c->n--;
	return true;
}

static bool tclk_pending(const void *ctx, const clk_timer *h)
{
	return tclk_find(ctx, h) >= 0;
}

static void tclk_step(tclk *c, int64_t end)
{
	while (c->n > 0 && c->q[0].t < end) {
		struct tentry x = c->q[0];
		memmove(&c->q[0], &c->q[1], (size_t)(c->n - 1) * sizeof c->q[0]);
		c->n--;
		c->now = x.t;
		x.h->cb(x.h->arg);
	}
	if (end > c->now)
		c->now = end;
}

typedef enum op_kind { OP_AUTH, OP_SUBMIT, OP_QUIT, EV_ANSWER, EV_THROTTLE } op_kind;

typedef struct op {
	int64_t t;
	op_kind k;
	int sess;
	svc_fault fault;
} op;

typedef struct entry {
	int64_t t;
	op_kind k;
	int sess;
	int rc;          /* the reply class; -1: held */
	int code;        /* -1 in a wanted entry: not checked */
	int64_t extra;   /* release_ns, or the throttle period's end */
} entry;

#define MAX_SESS 5
#define MAX_OPS 20
#define MAX_LOG 64

static const svc_client BASIC = { .basic_auth = true, .fault_u = 1.0 };

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
	/* the event-loop driver: each op is a clock timer */
	clk_timer op_h[MAX_OPS], stop_h;
	struct op_arg { struct world *w; int i; } op_args[MAX_OPS];
	ev_loop *l;
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
	assert_int_equal(e.t, p->t); /* the op runs at exactly its instant */
	if (p->k == OP_QUIT) {
		svc_quit(w->v, s);
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

static world *mk_world(void (*edit)(scn_limits *L), const op *script, int n_ops)
{
	assert_true(n_ops <= MAX_OPS);
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

static void start(world *w, const clk *c)
{
	w->now = c->now_ns;
	svc_hooks h = { .ctx = w, .held_answered = on_answer, .throttle_started = on_throttle };
	w->v = svc_new(&w->s, c, &sim_alloc_std, MAX_SESS, h);
	assert_non_null(w->v);
}

/* Driver 1: the hand-stepped clock (test_clock.c's run_stepped). */
static void run_stepped(world *w, int64_t end)
{
	tclk tc = { 0 };
	clk c = { .now_ns = &tc.now, .ctx = &tc, .schedule_at = tclk_schedule_at,
		  .cancel = tclk_cancel, .pending = tclk_pending };
	start(w, &c);
	for (int i = 0; i < w->n_ops; i++) {
		tclk_step(&tc, w->script[i].t);
		do_op(w, &w->script[i]);
	}
	tclk_step(&tc, end);
	assert_int_equal(svc_status(w->v), SIM_OK);
	svc_free(w->v);
	assert_int_equal(tc.n, 0);
}

/* Driver 2: the event loop in scaled wall time.  Every op is a clock timer
 * scheduled up front, so at one instant the ops run in script order,
 * before any service timer due then (as the engine's events in
 * test_clock.c); a last timer at `end` stops the loop. */
static void op_fire(void *p)
{
	struct op_arg *a = p;
	do_op(a->w, &a->w->script[a->i]);
}

static void stop_fire(void *p)
{
	ev_stop(((world *)p)->l);
}

static void run_evloop(world *w, ev_scale k, int64_t end)
{
	w->l = mk_loop(k);
	clk c = ev_clock(w->l);
	start(w, &c);
	for (int i = 0; i < w->n_ops; i++) {
		w->op_args[i] = (struct op_arg){ w, i };
		assert_int_equal(clk_schedule_at(&c, w->script[i].t, op_fire, &w->op_args[i],
						 &w->op_h[i]), SIM_OK);
	}
	assert_int_equal(clk_schedule_at(&c, end, stop_fire, w, &w->stop_h), SIM_OK);
	assert_int_equal(ev_run(w->l), SIM_OK);
	assert_int_equal(clk_now(&c), end);
	assert_int_equal(svc_status(w->v), SIM_OK);
	svc_free(w->v);
	ev_free(w->l);
}

static void run_both(void (*edit)(scn_limits *L), const op *script, int n_ops,
		     const entry *want, int n_want, ev_scale k, int64_t end)
{
	world *a = mk_world(edit, script, n_ops);
	world *b = mk_world(edit, script, n_ops);
	run_stepped(a, end);
	run_evloop(b, k, end);
	for (int j = 0; j < 2; j++) {
		world *w = j ? b : a;
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
		assert_int_equal(a->log[i].code, b->log[i].code);
		assert_int_equal(a->log[i].extra, b->log[i].extra);
	}
	free(a);
	free(b);
}

static void tarpit_2_per_min(scn_limits *L)
{
	L->message_rate.mode = RATE_TARPIT;
	L->message_rate.limit = 2;
	L->connections.check = CONC_AT_AUTH;
}

/* test_clock.c's tarpit script, worked there: the 4th AUTH at 0 s gets
 * 432; with 2 messages a minute in tarpit mode s2 (20 s) and s0 (30 s)
 * are held and answered by the service's timer at 60 s and 70 s, s1
 * (65 s) at 120 s.  K = 1000: 200 s of model time in 0.2 s. */
static void test_service_tarpit(void **state)
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
		 (int)(sizeof want / sizeof *want), K1000, 200 * S);
}

/* test_clock.c's error-throttle script: ten send-as errors 10 s apart
 * start a 60 min throttle at 90 s; a clean message gets 550 5.2.252 at
 * 100 s and 1 ns before the end, and 250 at exactly 90 s + 60 min.  The
 * hour passes at K = 100,000 (36 ms). */
static void test_service_error_throttle(void **state)
{
	(void)state;
	enum { N = 1 + 10 + 3 + 1 };
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
	const int64_t ts[] = { 100 * S, end - 1, end };
	for (int k = 0; k < 3; k++) {
		script[n++] = (op){ ts[k], OP_SUBMIT, 0, 0 };
		want[m++] = (entry){ ts[k], OP_SUBMIT, 0, k < 2 ? RC_THROTTLED_SEND_AS : RC_OK,
				     k < 2 ? 550 : 0, 0 };
	}
	script[n++] = (op){ end, OP_QUIT, 0, 0 };
	want[m++] = (entry){ end, OP_QUIT, 0, 0, 0, 0 };
	run_both(NULL, script, n, want, m, (ev_scale){ 100000, 1 }, end + S);
}

/* A held session quits; the timer still answers the one behind it at
 * 60 s (test_clock.c).  A rational scale, K = 5000/3: 200 s in 0.12 s. */
static void tarpit_1_per_min(scn_limits *L)
{
	L->message_rate.mode = RATE_TARPIT;
	L->message_rate.limit = 1;
}

static void test_service_quit_while_held(void **state)
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
	ev_scale k;
	assert_int_equal(ev_scale_parse("5000/3", &k), SIM_OK);
	run_both(tarpit_1_per_min, script, (int)(sizeof script / sizeof *script), want,
		 (int)(sizeof want / sizeof *want), k, 200 * S);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scale),
		cmocka_unit_test(test_timer_order),
		cmocka_unit_test(test_same_instant_from_callback),
		cmocka_unit_test(test_wall_timers_and_stop),
		cmocka_unit_test(test_pipe_read_and_eof),
		cmocka_unit_test(test_interest_and_stop_in_dispatch),
		cmocka_unit_test(test_sigterm),
		cmocka_unit_test(test_enomem),
		cmocka_unit_test(test_service_tarpit),
		cmocka_unit_test(test_service_error_throttle),
		cmocka_unit_test(test_service_quit_while_held),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
