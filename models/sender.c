/* sender.c - sender instances: arrivals, messages, outboxes, workers,
 * sessions and back-off.  See sender.h for the contract and
 * docs/MODEL-senders.md for every rule and the decisions MODEL.md leaves
 * open. */
#include "sender.h"

#include "presets.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>

#define SLAB_MSGS 1024

_Static_assert(sizeof(st_min_run) == 64, "st_min_run: one cache line");
_Static_assert(sizeof(snd_worker) == 192, "snd_worker: three cache lines");
_Static_assert(sizeof(snd_inst) == 256, "snd_inst: four cache lines");
_Static_assert(offsetof(snd_inst, rs) == 64, "snd_inst: hot fields in the first line");

struct snd_slab {
	struct snd_slab *next;
	snd_msg m[SLAB_MSGS];
};

/* ---- small helpers ---------------------------------------------------- */

int64_t snd_round_ns(double x)
{
	if (!(x > 0.0))
		return 0;
	if (x >= 9.2e18)
		return INT64_MAX;
	return (int64_t)floor(x + 0.5);
}

static void fail_status(snd_world *w, int st)
{
	if (w->status == SIM_OK)
		w->status = st;
	sim_stop(w->e);
}

/* Schedule fn after delay; an event at or after the run's end would never
 * run, so it is not scheduled at all (nor is one whose time overflows). */
static void sched(snd_world *w, int64_t delay_ns, sim_handler fn, void *ctx,
		  uint64_t arg, sim_handle *h)
{
	int64_t now = sim_now(w->e);
	if (h)
		*h = SIM_HANDLE_NONE;
	if (delay_ns < 0)
		delay_ns = 0;
	if (delay_ns >= w->s->duration_ns - now)
		return;
	int st = sim_schedule_in(w->e, delay_ns, fn, ctx, arg, h);
	if (st != SIM_OK && st != SIM_ERANGE)
		fail_status(w, st);
}

static snd_msg *msg_new(snd_world *w)
{
	if (w->free_msgs == NULL) {
		snd_slab *sl = sim_malloc(&w->alloc, sizeof *sl);
		if (sl == NULL)
			return NULL;
		sl->next = w->slabs;
		w->slabs = sl;
		for (size_t i = SLAB_MSGS; i-- > 0;) {
			sl->m[i].next = w->free_msgs;
			w->free_msgs = &sl->m[i];
		}
	}
	snd_msg *m = w->free_msgs;
	w->free_msgs = m->next;
	return m;
}

static void msg_free(snd_world *w, snd_msg *m)
{
	m->next = w->free_msgs;
	w->free_msgs = m;
}

/* ---- distributions by inversion ---------------------------------------- */

static int64_t poisson_inv(double lambda, double u)
{
	if (!(lambda > 0.0))
		return 0;
	int64_t k = (int64_t)floor(lambda);
	double F = gsl_cdf_poisson_P((unsigned)k, lambda);
	double pmf = gsl_ran_poisson_pdf((unsigned)k, lambda);
	if (u <= F) {
		while (k > 0 && u <= F - pmf && pmf > 0.0) {
			F -= pmf;
			pmf *= (double)k / lambda;
			k--;
		}
	} else {
		while (u > F) {
			k++;
			pmf *= lambda / (double)k;
			if (pmf <= 0.0 && (double)k > lambda)
				break;
			F += pmf;
		}
	}
	return k;
}

int64_t snd_binomial_inv(int64_t n, double p, double u)
{
	if (n <= 0 || !(p > 0.0))
		return 0;
	if (p >= 1.0)
		return n;
	int64_t k = (int64_t)floor((double)n * p);
	double F = gsl_cdf_binomial_P((unsigned)k, p, (unsigned)n);
	double pmf = gsl_ran_binomial_pdf((unsigned)k, p, (unsigned)n);
	double r = p / (1.0 - p);
	if (u <= F) {
		while (k > 0 && u <= F - pmf && pmf > 0.0) {
			F -= pmf;
			pmf *= (double)k / ((double)(n - k + 1) * r);
			k--;
		}
	} else {
		while (u > F && k < n) {
			k++;
			pmf *= (double)(n - k + 1) / (double)k * r;
			F += pmf;
		}
	}
	return k;
}

double snd_dist_inv(const scn_dist *d, double u)
{
	switch (d->kind) {
	case DIST_FIXED:
		return d->a;
	case DIST_UNIFORM_INT: {
		double lo = floor(d->a + 0.5), hi = floor(d->b + 0.5);
		if (hi < lo)
			return lo;
		double k = floor(u * (hi - lo + 1.0));
		return lo + (k > hi - lo ? hi - lo : k);
	}
	case DIST_POISSON1:
		return 1.0 + (double)poisson_inv(d->a, u);
	case DIST_GEOMETRIC: {
		if (!(d->a > 1.0))
			return 1.0;
		double p = 1.0 / d->a;
		return 1.0 + floor(log1p(-u) / log1p(-p));
	}
	case DIST_LOGNORMAL:
		return d->a * exp(d->b * gsl_cdf_ugaussian_Pinv(u));
	case DIST_EMPIRICAL: {
		if (d->n == 0)
			return 0.0;
		double tot = 0.0;
		for (size_t i = 0; i < d->n; i++)
			tot += d->weights ? d->weights[i] : 1.0;
		double target = u * tot, cum = 0.0;
		for (size_t i = 0; i < d->n; i++) {
			cum += d->weights ? d->weights[i] : 1.0;
			if (target < cum)
				return d->values[i];
		}
		return d->values[d->n - 1];
	}
	}
	return d->a;
}

static int64_t round_count(double x)
{
	if (!(x > 0.0))
		return 0;
	if (x >= 9.2e18)
		return INT64_MAX;
	return (int64_t)floor(x + 0.5);
}

/* ---- profile ----------------------------------------------------------- */

double snd_profile_at(const scenario *s, const scn_arrivals *a, int64_t t_ns)
{
	int64_t wall = s->start_unix_s + t_ns / SCN_NS_PER_S;
	int64_t days = wall / 86400, secs = wall % 86400;
	if (secs < 0) {
		secs += 86400;
		days--;
	}
	int hour = (int)(secs / 3600);
	/* 1970-01-01 was a Thursday: day 3 counting Monday as 0. */
	int dow = (int)(((days + 3) % 7 + 7) % 7);
	return a->hour[hour] * a->day[dow];
}

/* ---- counting ------------------------------------------------------------ */

static snd_counts *grp(snd_world *w, const snd_inst *in)
{
	return &w->groups[in->group];
}

static size_t series_row(const snd_world *w, int64_t t)
{
	return (size_t)(t / w->s->series_step_ns);
}

/* The end of row series_next (INT64_MAX when every row is filled). */
static int64_t series_end_of_next(const snd_world *w)
{
	if (w->series_next >= w->n_series)
		return INT64_MAX;
	int64_t end = ((int64_t)w->series_next + 1) * w->s->series_step_ns;
	return end > w->s->duration_ns ? w->s->duration_ns : end;
}

void snd_series_advance(snd_world *w, int64_t t)
{
	while (w->series_next < w->n_series) {
		int64_t end = series_end_of_next(w);
		if (end > t)
			break;
		res_series_row *r = &w->series[w->series_next];
		r->outbox_backlog = (uint32_t)w->backlog;
		r->open_sessions = (uint32_t)svc_open_sessions(w->v);
		r->throttled_mailboxes = (uint32_t)svc_throttled_mailboxes(w->v, end);
		w->series_next++;
	}
	w->series_next_end = series_end_of_next(w);
}

/* Every handler's first step: O(1) unless a row ends at or before t. */
static inline void series_at(snd_world *w, int64_t t)
{
	if (t >= w->series_next_end)
		snd_series_advance(w, t);
}

/* A refusal: counted per entity and time-series row, and its reply noted
 * as given (the 535s carry none from the route: the catalog's). */
static void count_reject(snd_world *w, snd_worker *wk, scn_reply_class rc, const scn_reply *reply,
			 bool at_auth)
{
	if (w->rec)
		res_rep_note_reply(w->rec, (int)rc, reply ? reply : preset_reply(rc));
	snd_counts *c[3] = { &w->total, grp(w, wk->inst), &w->mailboxes[wk->mailbox] };
	for (int i = 0; i < 3; i++) {
		c[i]->rejected++;
		c[i]->rejected_by[rc]++;
		if (at_auth)
			c[i]->conn_refused++;
	}
	size_t row = series_row(w, sim_now(w->e));
	if (row < w->n_series)
		w->series[row].rejected_by[rc]++;
}

static void count_attempt(snd_world *w, snd_worker *wk)
{
	snd_msg *m = wk->msg;
	m->attempts++;
	snd_counts *c[3] = { &w->total, grp(w, wk->inst), &w->mailboxes[wk->mailbox] };
	for (int i = 0; i < 3; i++) {
		c[i]->attempts++;
		if (m->attempts > 1)
			c[i]->retries++;
	}
}

/* The message leaves the instance (accepted or lost). */
static void resolve(snd_world *w, snd_inst *in, snd_msg *m)
{
	in->unresolved--;
	w->backlog--;
	msg_free(w, m);
}

typedef enum loss_kind { LOSS_GAVE_UP, LOSS_PERMANENT } loss_kind;

static void lose(snd_world *w, snd_worker *wk, loss_kind k)
{
	snd_msg *m = wk->msg;
	snd_counts *c[3] = { &w->total, grp(w, wk->inst), &w->mailboxes[wk->mailbox] };
	for (int i = 0; i < 3; i++) {
		c[i]->lost++;
		c[i]->lost_by[m->last_rc]++;
		if (k == LOSS_GAVE_UP)
			c[i]->lost_gave_up++;
		else
			c[i]->lost_permanent++;
	}
	wk->msg = NULL;
	resolve(w, wk->inst, m);
}

static void accept(snd_world *w, snd_worker *wk, const svc_outcome *o)
{
	snd_msg *m = wk->msg;
	snd_inst *in = wk->inst;
	const scn_sender *sd = &w->s->senders[in->group];
	int64_t now = sim_now(w->e);
	int64_t sub = now - m->generated_ns;
	int64_t del = o->release_ns - m->generated_ns;
	bool released = o->release_ns < w->s->duration_ns;
	int64_t delivered = sd->group_members > 0 ? m->recipients * sd->group_members : m->recipients;
	snd_counts *c[3] = { &w->total, grp(w, in), &w->mailboxes[wk->mailbox] };
	for (int i = 0; i < 3; i++) {
		c[i]->accepted++;
		c[i]->rcpt_accepted += (uint64_t)m->recipients;
		c[i]->rcpt_delivered += (uint64_t)delivered;
		if (released)
			c[i]->released++;
		else
			c[i]->awaiting_release++;
	}
	snd_counts *mc = c[2];
	mc->sub_sum_s += (double)sub / 1e9;
	if (sub > mc->sub_max_ns)
		mc->sub_max_ns = sub;
	int st = st_dset_add(&w->dly[in->group], sub, released, del);
	const sim_alloc *a = &w->alloc;
	/* st_min_run_add: ERANGE (outside the run) is not an error here. */
	int sa = st_min_run_add(&w->acc_min, a, now, now) | st_min_run_add(&w->g_acc_min[in->group], a, now, now) |
		 st_min_run_add(&w->m_acc_min[wk->mailbox], a, now, now);
	(void)sa; /* now is in [0, duration): always counted, nothing allocated */
	size_t row = series_row(w, now);
	if (row < w->n_series)
		w->series[row].accepted++;
	if (released) {
		mc->del_sum_s += (double)del / 1e9;
		if (del > mc->del_max_ns)
			mc->del_max_ns = del;
		int64_t rt = o->release_ns;
		if (st_min_run_add(&w->rel_min, a, now, rt) == SIM_ENOMEM ||
		    st_min_run_add(&w->g_rel_min[in->group], a, now, rt) == SIM_ENOMEM ||
		    st_min_run_add(&w->m_rel_min[wk->mailbox], a, now, rt) == SIM_ENOMEM)
			st = SIM_ENOMEM;
		row = series_row(w, rt);
		if (row < w->n_series)
			w->series[row].released++;
	}
	if (st != SIM_OK)
		fail_status(w, st);
	wk->msg = NULL;
	resolve(w, in, m);
}

/* ---- workers --------------------------------------------------------- */

static void on_connect_done(sim_engine *e, void *ctx, uint64_t arg);
static void on_submit_done(sim_engine *e, void *ctx, uint64_t arg);
static void on_backoff_done(sim_engine *e, void *ctx, uint64_t arg);
static void on_idle_end(sim_engine *e, void *ctx, uint64_t arg);
static void on_auth_refused(sim_engine *e, void *ctx, uint64_t arg);
static void start_next(snd_world *w, snd_worker *wk);
static void continue_session(snd_world *w, snd_worker *wk);

static int choose_mailbox(snd_world *w, snd_inst *in)
{
	const scn_sender *sd = &w->s->senders[in->group];
	if (sd->pool < 0)
		return sd->mailbox;
	const scn_pool *p = &w->s->pools[sd->pool];
	size_t n = p->count;
	switch (sd->assign) {
	case ASSIGN_PER_INSTANCE:
		return (int)(p->first + (size_t)in->index % n);
	case ASSIGN_ROUND_ROBIN: {
		size_t k = (size_t)(((uint64_t)in->index + in->rr++) % n);
		return (int)(p->first + k);
	}
	case ASSIGN_LEAST_LOADED: {
		size_t best = 0;
		for (size_t i = 1; i < n; i++)
			if (w->mbx_open[p->first + i] < w->mbx_open[p->first + best])
				best = i;
		return (int)(p->first + best);
	}
	}
	return (int)p->first;
}

static void connect(snd_world *w, snd_worker *wk)
{
	int mb = choose_mailbox(w, wk->inst);
	wk->mailbox = (int32_t)mb;
	wk->state = SW_CONNECTING;
	/* The connect-done event reads this mailbox's state: start loading it. */
	svc_prefetch_auth(w->v, w->s->senders[wk->inst->group].route, mb);
	__builtin_prefetch(&w->mailboxes[mb], 1);
	__builtin_prefetch(&w->mbx_open[mb], 1);
	__builtin_prefetch(&w->m_acc_min[mb], 1);
	__builtin_prefetch(&w->m_rel_min[mb], 1);
	sched(w, w->s->senders[wk->inst->group].connect_time_ns, on_connect_done, wk, 0, NULL);
}

static void quit_session(snd_world *w, snd_worker *wk)
{
	svc_quit(w->v, &wk->sess);
	w->mbx_open[wk->mailbox]--;
	wk->state = SW_FREE;
}

static void begin_submit(snd_world *w, snd_worker *wk)
{
	const scn_sender *sd = &w->s->senders[wk->inst->group];
	wk->state = SW_SUBMITTING;
	int st = svc_submission_begin(w->v, &wk->sess);
	if (st != SIM_OK) {
		fail_status(w, st);
		return;
	}
	svc_prefetch_submit(w->v, &wk->sess);
	int64_t t = sd->submit_time_ns;
	if (sd->bandwidth_bytes_per_s > 0.0)
		t += snd_round_ns((double)wk->msg->size_bytes / sd->bandwidth_bytes_per_s * 1e9);
	sched(w, t, on_submit_done, wk, 0, NULL);
}

/* A refusal the worker's message has just received (at AUTH or at end of
 * data).  in_session: the worker is in an open session. */
static void refused(snd_world *w, snd_worker *wk, scn_reply_class rc,
		    const scn_reply *reply, bool in_session)
{
	snd_inst *in = wk->inst;
	const scn_retry *r = &w->s->senders[in->group].retry;
	snd_msg *m = wk->msg;
	bool permanent = reply ? !reply->transient : true;
	m->last_rc = (uint8_t)rc;
	if (permanent && r->honors_permanent) {
		lose(w, wk, LOSS_PERMANENT);
		if (in_session && !(reply && reply->drops_connection)) {
			wk->sent++;
			continue_session(w, wk);
			return;
		}
		if (in_session)
			quit_session(w, wk);
		wk->state = SW_FREE;
		start_next(w, wk);
		return;
	}
	/* transient, or a permanent reply the sender ignores */
	if (in_session)
		quit_session(w, wk);
	int64_t now = sim_now(w->e);
	if (r->max_attempts > 0 && (int64_t)m->attempts >= r->max_attempts) {
		lose(w, wk, LOSS_GAVE_UP);
		wk->state = SW_FREE;
		start_next(w, wk);
		return;
	}
	int64_t d = snd_backoff_ns(r, m, &in->rs[RNG_BACKOFF]);
	if (r->max_age_ns > 0) {
		/* now + d - generated > max_age, without overflow */
		int64_t age = now - m->generated_ns;
		if (d > r->max_age_ns - age) {
			lose(w, wk, LOSS_GAVE_UP);
			wk->state = SW_FREE;
			start_next(w, wk);
			return;
		}
	}
	wk->state = SW_BACKOFF;
	sched(w, d, on_backoff_done, wk, 0, NULL);
}

static void on_auth_refused(sim_engine *e, void *ctx, uint64_t arg)
{
	snd_worker *wk = ctx;
	snd_world *w = wk->inst->world;
	series_at(w, sim_now(e));
	count_reject(w, wk, (scn_reply_class)arg, NULL, true);
	refused(w, wk, (scn_reply_class)arg, NULL, false);
}

static void on_connect_done(sim_engine *e, void *ctx, uint64_t arg)
{
	(void)arg;
	snd_worker *wk = ctx;
	snd_inst *in = wk->inst;
	snd_world *w = in->world;
	const scn_sender *sd = &w->s->senders[in->group];
	series_at(w, sim_now(e));
	svc_outcome o;
	int st = svc_auth(w->v, &wk->sess, sd->route, wk->mailbox, in->source, sd->basic_auth, &o);
	if (st != SIM_OK) {
		fail_status(w, st);
		return;
	}
	wk->sess.user = wk;
	if (o.rc == RC_OK) {
		snd_counts *c[3] = { &w->total, grp(w, in), &w->mailboxes[wk->mailbox] };
		for (int i = 0; i < 3; i++)
			c[i]->conn_opened++;
		w->mbx_open[wk->mailbox]++;
		wk->sent = 0;
		begin_submit(w, wk);
		return;
	}
	count_attempt(w, wk); /* a refused connection is an attempt; an opened one is not */
	if (o.reply_delay_ns > 0) {
		/* The refusal arrives later (auth_fail_tarpit); only 535s have one,
		 * and they carry no reply record (permanent). */
		sched(w, o.reply_delay_ns, on_auth_refused, wk, (uint64_t)o.rc, NULL);
		return;
	}
	count_reject(w, wk, o.rc, o.reply, true);
	refused(w, wk, o.rc, o.reply, false);
}

static void answer(snd_world *w, snd_worker *wk, const svc_outcome *o)
{
	if (o->rc == RC_OK) {
		accept(w, wk, o);
		wk->sent++;
		continue_session(w, wk);
		return;
	}
	count_reject(w, wk, o->rc, o->reply, false);
	refused(w, wk, o->rc, o->reply, true);
}

static void on_submit_done(sim_engine *e, void *ctx, uint64_t arg)
{
	(void)arg;
	snd_worker *wk = ctx;
	snd_world *w = wk->inst->world;
	series_at(w, sim_now(e));
	snd_msg *m = wk->msg;
	svc_message sm = { m->recipients, m->external, m->size_bytes, (svc_fault)m->fault };
	svc_outcome o;
	int st = svc_submit(w->v, &wk->sess, &sm, &o);
	if (st != SIM_OK) {
		fail_status(w, st);
		return;
	}
	count_attempt(w, wk);
	if (o.held)
		return; /* answered later through held_answered */
	answer(w, wk, &o);
}

static void on_held_answered(void *ctx, svc_session *s, const svc_outcome *o)
{
	snd_world *w = ctx;
	snd_worker *wk = s->user;
	series_at(w, sim_now(w->e));
	answer(w, wk, o);
}

static void on_backoff_done(sim_engine *e, void *ctx, uint64_t arg)
{
	(void)arg;
	snd_worker *wk = ctx;
	series_at(wk->inst->world, sim_now(e));
	connect(wk->inst->world, wk);
}

static void on_idle_end(sim_engine *e, void *ctx, uint64_t arg)
{
	(void)arg;
	snd_worker *wk = ctx;
	snd_world *w = wk->inst->world;
	series_at(w, sim_now(e));
	wk->timer = SIM_HANDLE_NONE;
	quit_session(w, wk);
	start_next(w, wk);
}

static snd_msg *take_head(snd_inst *in)
{
	snd_msg *m = in->head;
	if (m) {
		in->head = m->next;
		if (in->head == NULL)
			in->tail = NULL;
		m->next = NULL;
	}
	return m;
}

/* A free worker (no session) takes the oldest unclaimed message. */
static void start_next(snd_world *w, snd_worker *wk)
{
	wk->state = SW_FREE;
	snd_msg *m = take_head(wk->inst);
	if (m == NULL)
		return;
	wk->msg = m;
	connect(w, wk);
}

/* After an acceptance or an honoured permanent refusal in a session. */
static void continue_session(snd_world *w, snd_worker *wk)
{
	const scn_sender *sd = &w->s->senders[wk->inst->group];
	if (wk->sent < sd->messages_per_session) {
		snd_msg *m = take_head(wk->inst);
		if (m) {
			wk->msg = m;
			begin_submit(w, wk);
			return;
		}
		if (sd->idle_timeout_ns > 0) {
			wk->state = SW_IDLE;
			sched(w, sd->idle_timeout_ns, on_idle_end, wk, 0, &wk->timer);
			return;
		}
	}
	quit_session(w, wk);
	start_next(w, wk);
}

/* A new message is in the outbox: give it to a worker idling in a session
 * first, else to a free worker (MODEL.md "Workers and messages"). */
static void dispatch(snd_world *w, snd_inst *in)
{
	int64_t n = w->s->senders[in->group].connections;
	for (int64_t i = 0; i < n; i++) {
		snd_worker *wk = &in->workers[i];
		if (wk->state == SW_IDLE) {
			sim_cancel(w->e, wk->timer);
			wk->timer = SIM_HANDLE_NONE;
			wk->msg = take_head(in);
			begin_submit(w, wk);
			return;
		}
	}
	for (int64_t i = 0; i < n; i++) {
		snd_worker *wk = &in->workers[i];
		if (wk->state == SW_FREE) {
			start_next(w, wk);
			return;
		}
	}
}

/* ---- back-off ------------------------------------------------------------ */

int64_t snd_backoff_ns(const scn_retry *r, snd_msg *m, rng_stream *st)
{
	double base = (double)r->base_ns;
	double cap = r->cap_ns > 0 ? (double)r->cap_ns : INFINITY;
	double d;
	if (r->jitter == JITTER_DECORRELATED) {
		double prev = (double)m->prev_backoff_ns;
		double hi = 3.0 * prev;
		double u = rng_uniform(st);
		d = hi > base ? base + u * (hi - base) : base;
		if (d > cap)
			d = cap;
		int64_t out = snd_round_ns(d);
		m->prev_backoff_ns = out;
		return out;
	}
	int64_t k = m->attempts > 0 ? m->attempts : 1;
	d = base * pow(r->factor > 0.0 ? r->factor : 1.0, (double)(k - 1));
	if (d > cap)
		d = cap;
	switch (r->jitter) {
	case JITTER_FULL:
		d = rng_uniform(st) * d;
		break;
	case JITTER_EQUAL:
		d = d / 2.0 + rng_uniform(st) * (d / 2.0);
		break;
	default:
		break;
	}
	return snd_round_ns(d);
}

/* ---- arrivals ------------------------------------------------------------ */

static void on_arrival(sim_engine *e, void *ctx, uint64_t arg);
static void on_burst_msg(sim_engine *e, void *ctx, uint64_t arg);
static void on_trace(sim_engine *e, void *ctx, uint64_t arg);

static void generate(snd_world *w, snd_inst *in, const scn_trace_row *row)
{
	const scn_sender *sd = &w->s->senders[in->group];
	int64_t now = sim_now(w->e);
	snd_msg *m = msg_new(w);
	if (m == NULL) {
		fail_status(w, SIM_ENOMEM);
		return;
	}
	memset(m, 0, sizeof *m);
	m->generated_ns = now;
	m->prev_backoff_ns = sd->retry.base_ns;
	if (row) {
		m->recipients = row->recipients;
		m->external = row->external;
		m->size_bytes = row->size_bytes;
	} else {
		/* Three uniforms on the shape stream, always, in this order. */
		rng_stream *sh = &in->rs[RNG_SHAPE];
		double u1 = rng_uniform_open(sh), u2 = rng_uniform_open(sh), u3 = rng_uniform_open(sh);
		m->recipients = round_count(snd_dist_inv(&sd->recipients, u1));
		int64_t people = sd->group_members > 0 ? m->recipients * sd->group_members : m->recipients;
		m->external = snd_binomial_inv(people, sd->external, u2);
		m->size_bytes = round_count(snd_dist_inv(&sd->size, u3));
	}
	double uf = rng_uniform(&in->rs[RNG_FAULTS]);
	if (uf < sd->p_send_as_denied)
		m->fault = SVC_FAULT_SEND_AS_DENIED;
	else if (uf < sd->p_send_as_denied + sd->p_invalid_recipients)
		m->fault = SVC_FAULT_INVALID_RECIPIENTS;
	else
		m->fault = SVC_FAULT_NONE;

	snd_counts *home = in->home_mailbox >= 0 ? &w->mailboxes[in->home_mailbox] : NULL;
	w->total.generated++;
	grp(w, in)->generated++;
	if (home)
		home->generated++;
	if (sd->outbox_limit > 0 && in->unresolved >= sd->outbox_limit) {
		snd_counts *c[3] = { &w->total, grp(w, in), home };
		for (int i = 0; i < 3; i++) {
			if (c[i] == NULL)
				continue;
			c[i]->lost++;
			c[i]->lost_overflow++;
		}
		msg_free(w, m);
		return;
	}
	in->unresolved++;
	w->backlog++;
	if (in->tail)
		in->tail->next = m;
	else
		in->head = m;
	in->tail = m;
	dispatch(w, in);
}

/* Whether a candidate arrival at now survives the profile's thinning. */
static bool thin_keep(snd_world *w, snd_inst *in, const scn_arrivals *a)
{
	if (!a->has_profile)
		return true;
	double u = rng_uniform(&in->rs[RNG_ARRIVALS]);
	return u * a->profile_max < snd_profile_at(w->s, a, sim_now(w->e));
}

static double cand_rate(const scn_arrivals *a)
{
	return a->has_profile ? a->rate_per_s * a->profile_max : a->rate_per_s;
}

static int64_t periodic_interval(const scn_arrivals *a)
{
	if (a->has_profile)
		return snd_round_ns((double)a->interval_ns / a->profile_max);
	return a->interval_ns;
}

/* Time of periodic candidate k (phase + k interval + U[0, jitter)). */
static void schedule_periodic(snd_world *w, snd_inst *in)
{
	const scn_arrivals *a = &w->s->senders[in->group].arrivals;
	int64_t iv = periodic_interval(a);
	double t = (double)in->phase_ns + (double)in->arr_k * (double)iv;
	if (a->jitter_ns > 0)
		t += rng_uniform(&in->rs[RNG_ARRIVALS]) * (double)a->jitter_ns;
	int64_t at = snd_round_ns(t);
	int64_t now = sim_now(w->e);
	if (at < now)
		at = now; /* jitter wider than the interval: keep the order */
	sched(w, at - now, on_arrival, in, 0, NULL);
}

static void schedule_gap(snd_world *w, snd_inst *in, double rate)
{
	if (!(rate > 0.0))
		return;
	double gap = rng_exponential(&in->rs[RNG_ARRIVALS], 1.0 / rate);
	sched(w, snd_round_ns(gap * 1e9), on_arrival, in, 0, NULL);
}

static void on_arrival(sim_engine *e, void *ctx, uint64_t arg)
{
	(void)arg;
	snd_inst *in = ctx;
	snd_world *w = in->world;
	/* What generate will touch after the draws: start the loads now. */
	__builtin_prefetch(in->workers, 1);
	if (in->home_mailbox >= 0)
		__builtin_prefetch(&w->mailboxes[in->home_mailbox], 1);
	__builtin_prefetch(&in->rs[RNG_SHAPE], 1);
	__builtin_prefetch(&in->rs[RNG_FAULTS], 1);
	const scn_arrivals *a = &w->s->senders[in->group].arrivals;
	series_at(w, sim_now(e));
	bool keep = thin_keep(w, in, a);
	switch (a->kind) {
	case ARR_POISSON:
		if (keep)
			generate(w, in, NULL);
		schedule_gap(w, in, cand_rate(a));
		break;
	case ARR_PERIODIC:
		if (keep)
			generate(w, in, NULL);
		in->arr_k++;
		schedule_periodic(w, in);
		break;
	case ARR_BURSTS:
		if (keep) {
			double n = snd_dist_inv(&a->burst_size, rng_uniform_open(&in->rs[RNG_ARRIVALS]));
			int64_t k = round_count(n);
			if (k > 0) {
				generate(w, in, NULL);
				if (k > 1)
					sched(w, a->spacing_ns, on_burst_msg, in, (uint64_t)(k - 1), NULL);
			}
		}
		schedule_gap(w, in, cand_rate(a));
		break;
	default:
		break;
	}
}

static void on_burst_msg(sim_engine *e, void *ctx, uint64_t left)
{
	snd_inst *in = ctx;
	snd_world *w = in->world;
	series_at(w, sim_now(e));
	generate(w, in, NULL);
	if (left > 1)
		sched(w, w->s->senders[in->group].arrivals.spacing_ns, on_burst_msg, in, left - 1, NULL);
}

/* Trace replay: one cursor per group, rows in time order. */
static void schedule_trace(snd_world *w, size_t g)
{
	const scn_arrivals *a = &w->s->senders[g].arrivals;
	size_t i = w->trace_pos[g];
	while (i < a->trace_len && (a->trace[i].instance < 0 ||
				    a->trace[i].instance >= w->s->senders[g].count))
		i++;
	w->trace_pos[g] = i;
	if (i >= a->trace_len)
		return;
	int64_t now = sim_now(w->e), t = a->trace[i].time_ns;
	if (t < now)
		t = now;
	sched(w, t - now, on_trace, w, (uint64_t)g, NULL);
}

static void on_trace(sim_engine *e, void *ctx, uint64_t arg)
{
	snd_world *w = ctx;
	size_t g = (size_t)arg;
	const scn_trace_row *row = &w->s->senders[g].arrivals.trace[w->trace_pos[g]];
	series_at(w, sim_now(e));
	w->trace_pos[g]++;
	generate(w, &w->inst[w->group_first[g] + (size_t)row->instance], row);
	schedule_trace(w, g);
}

static void start_arrivals(snd_world *w, snd_inst *in)
{
	const scn_arrivals *a = &w->s->senders[in->group].arrivals;
	switch (a->kind) {
	case ARR_POISSON:
	case ARR_BURSTS:
		if (a->has_profile && !(a->profile_max > 0.0))
			return;
		schedule_gap(w, in, cand_rate(a));
		break;
	case ARR_PERIODIC: {
		if (a->interval_ns <= 0 || (a->has_profile && !(a->profile_max > 0.0)))
			return;
		int64_t iv = periodic_interval(a);
		in->phase_ns = (int64_t)floor(rng_uniform(&in->rs[RNG_ARRIVALS]) * (double)iv);
		in->arr_k = 0;
		schedule_periodic(w, in);
		break;
	}
	default:
		break;
	}
}

/* ---- world ----------------------------------------------------------- */

svc_hooks snd_world_hooks(snd_world *w)
{
	return (svc_hooks){ .ctx = w, .held_answered = on_held_answered };
}

/* Arrays whose elements start on cache lines: raw keeps the block. */
#define ALLOC_A(p, n, raw) ((raw) = sim_malloc(&w->alloc, (n) * sizeof *(p) + 64), \
	(raw) ? ((p) = (void *)(((uintptr_t)(raw) + 63) & ~(uintptr_t)63), memset((p), 0, (n) * sizeof *(p)), 0) : SIM_ENOMEM)
#define FREE_A(p, n, raw) (sim_free(&w->alloc, (raw), (n) * sizeof *(p) + 64), (raw) = NULL, (p) = NULL)
#define ALLOC_N(p, n) ((p) = sim_malloc(&w->alloc, (n) * sizeof *(p) + 1), (p) ? (memset((p), 0, (n) * sizeof *(p)), 0) : SIM_ENOMEM)
#define FREE_N(p, n) (sim_free(&w->alloc, (p), (n) * sizeof *(p) + 1), (p) = NULL)


int snd_world_init(snd_world *w, const scenario *s, int64_t replication,
		   sim_engine *e, svc *v, const sim_alloc *a)
{
	memset(w, 0, sizeof *w);
	w->s = s;
	w->e = e;
	w->v = v;
	w->alloc = *a;
	w->replication = replication;
	size_t ng = s->n_senders, nm = s->n_mailboxes;
	for (size_t g = 0; g < ng; g++) {
		w->n_inst += (size_t)s->senders[g].count;
		w->n_workers += (size_t)(s->senders[g].count * (s->senders[g].connections > 0 ? s->senders[g].connections : 1));
	}
	w->workers_mem = sim_malloc(&w->alloc, w->n_workers * sizeof *w->workers + 64);
	if (w->workers_mem == NULL)
		goto fail;
	w->workers = (snd_worker *)(((uintptr_t)w->workers_mem + 63) & ~(uintptr_t)63);
	memset(w->workers, 0, w->n_workers * sizeof *w->workers);
	w->inst_mem = sim_malloc(&w->alloc, w->n_inst * sizeof *w->inst + 64);
	if (w->inst_mem == NULL)
		goto fail;
	w->inst = (snd_inst *)(((uintptr_t)w->inst_mem + 63) & ~(uintptr_t)63);
	memset(w->inst, 0, w->n_inst * sizeof *w->inst);
	if (
	    ALLOC_N(w->group_first, ng) || ALLOC_N(w->trace_pos, ng) ||
	    ALLOC_N(w->mbx_open, nm) || ALLOC_N(w->mbx_shared, nm) ||
	    ALLOC_A(w->groups, ng, w->groups_mem) || ALLOC_A(w->mailboxes, nm, w->mailboxes_mem) ||
	    ALLOC_N(w->dly, ng) ||
	    ALLOC_N(w->g_acc_min, ng) || ALLOC_N(w->g_rel_min, ng) ||
	    ALLOC_A(w->m_acc_min, nm, w->m_acc_mem) || ALLOC_A(w->m_rel_min, nm, w->m_rel_mem))
		goto fail;
	for (size_t g = 0; g < ng; g++)
		st_dset_init(&w->dly[g], *a);
	/* Running per-minute counts: O(1) per entity (stats.h). */
	st_min_run_init(&w->acc_min, s->duration_ns);
	st_min_run_init(&w->rel_min, s->duration_ns);
	for (size_t g = 0; g < ng; g++) {
		st_min_run_init(&w->g_acc_min[g], s->duration_ns);
		st_min_run_init(&w->g_rel_min[g], s->duration_ns);
	}
	for (size_t m = 0; m < nm; m++) {
		st_min_run_init(&w->m_acc_min[m], s->duration_ns);
		st_min_run_init(&w->m_rel_min[m], s->duration_ns);
	}
	int64_t step = s->series_step_ns > 0 ? s->series_step_ns : 60 * SCN_NS_PER_S;
	w->n_series = (size_t)((s->duration_ns + step - 1) / step);
	if (ALLOC_N(w->series, w->n_series))
		goto fail;
	w->series_next_end = series_end_of_next(w);

	size_t ii = 0, wi = 0;
	for (size_t g = 0; g < ng; g++) {
		const scn_sender *sd = &s->senders[g];
		int64_t conns = sd->connections > 0 ? sd->connections : 1;
		w->group_first[g] = ii;
		for (int64_t k = 0; k < sd->count; k++, ii++) {
			snd_inst *in = &w->inst[ii];
			for (int p = 0; p < RNG_PURPOSE_COUNT; p++)
				rng_stream_init(&in->rs[p], s->seed, replication, (int64_t)g, k, (rng_purpose)p);
			in->world = w;
			in->index = k;
			in->source = (int64_t)ii;
			in->group = (int32_t)g;
			in->workers = &w->workers[wi];
			for (int64_t c = 0; c < conns; c++, wi++)
				w->workers[wi].inst = in;
			if (sd->pool < 0)
				in->home_mailbox = sd->mailbox;
			else if (sd->assign == ASSIGN_PER_INSTANCE)
				in->home_mailbox = (int32_t)(s->pools[sd->pool].first +
							     (size_t)k % s->pools[sd->pool].count);
			else
				in->home_mailbox = -1;
		}
		if (sd->pool >= 0 && sd->assign != ASSIGN_PER_INSTANCE)
			for (size_t m = 0; m < s->pools[sd->pool].count; m++)
				w->mbx_shared[s->pools[sd->pool].first + m] = true;
	}
	for (size_t i = 0; i < w->n_inst; i++) {
		if (s->senders[w->inst[i].group].arrivals.kind != ARR_TRACE)
			start_arrivals(w, &w->inst[i]);
		if (w->status)
			goto fail;
	}
	for (size_t g = 0; g < ng; g++)
		if (s->senders[g].arrivals.kind == ARR_TRACE)
			schedule_trace(w, g);
	if (w->status)
		goto fail;
	return SIM_OK;
fail:
	snd_world_free(w);
	return SIM_ENOMEM;
}

void snd_world_free(snd_world *w)
{
	size_t ng = w->s ? w->s->n_senders : 0, nm = w->s ? w->s->n_mailboxes : 0;
	for (snd_slab *sl = w->slabs, *next; sl; sl = next) {
		next = sl->next;
		sim_free(&w->alloc, sl, sizeof *sl);
	}
	w->slabs = NULL;
	w->free_msgs = NULL;
	for (size_t g = 0; g < ng; g++)
		if (w->dly)
			st_dset_free(&w->dly[g]);
	st_min_run_free(&w->acc_min, &w->alloc);
	st_min_run_free(&w->rel_min, &w->alloc);
	for (size_t g = 0; g < ng; g++) {
		if (w->g_acc_min)
			st_min_run_free(&w->g_acc_min[g], &w->alloc);
		if (w->g_rel_min)
			st_min_run_free(&w->g_rel_min[g], &w->alloc);
	}
	for (size_t m = 0; m < nm; m++) {
		if (w->m_acc_min)
			st_min_run_free(&w->m_acc_min[m], &w->alloc);
		if (w->m_rel_min)
			st_min_run_free(&w->m_rel_min[m], &w->alloc);
	}
	if (w->inst_mem)
		sim_free(&w->alloc, w->inst_mem, w->n_inst * sizeof *w->inst + 64);
	w->inst_mem = NULL;
	w->inst = NULL;
	if (w->workers_mem)
		sim_free(&w->alloc, w->workers_mem, w->n_workers * sizeof *w->workers + 64);
	w->workers_mem = NULL;
	w->workers = NULL;
	if (w->group_first)
		FREE_N(w->group_first, ng);
	if (w->trace_pos)
		FREE_N(w->trace_pos, ng);
	if (w->mbx_open)
		FREE_N(w->mbx_open, nm);
	if (w->mbx_shared)
		FREE_N(w->mbx_shared, nm);
	if (w->groups_mem)
		FREE_A(w->groups, ng, w->groups_mem);
	if (w->mailboxes_mem)
		FREE_A(w->mailboxes, nm, w->mailboxes_mem);
	if (w->dly)
		FREE_N(w->dly, ng);
	if (w->g_acc_min)
		FREE_N(w->g_acc_min, ng);
	if (w->g_rel_min)
		FREE_N(w->g_rel_min, ng);
	if (w->m_acc_mem)
		FREE_A(w->m_acc_min, nm, w->m_acc_mem);
	if (w->m_rel_mem)
		FREE_A(w->m_rel_min, nm, w->m_rel_mem);
	if (w->series)
		FREE_N(w->series, w->n_series);
}
