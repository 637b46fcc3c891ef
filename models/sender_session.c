/* sender_session.c - the worker's state machine (snd_worker_state): a free
 * worker takes the oldest unclaimed message and connects; AUTH opens a
 * session or refuses; in a session the worker submits, continues with the
 * next message, idles or quits.  What a refusal leads to is in
 * sender_retry.c.  See docs/MODEL.md "Senders: the client side", "Outbox
 * and workers". */
#include "sender_int.h"

#include <stdint.h>

static void on_connect_done(sim_engine *e, void *ctx, uint64_t arg);
static void on_submit_done(sim_engine *e, void *ctx, uint64_t arg);
static void on_idle_end(sim_engine *e, void *ctx, uint64_t arg);
static void on_auth_refused(sim_engine *e, void *ctx, uint64_t arg);
static void answer(snd_world *w, snd_worker *wk, const svc_outcome *o);

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

void snd__connect(snd_world *w, snd_worker *wk)
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
	snd__sched(w, w->s->senders[wk->inst->group].connect_time_ns, on_connect_done, wk, 0, NULL);
}

void snd__quit_session(snd_world *w, snd_worker *wk)
{
	svc_quit(w->v, &wk->sess);
	w->mbx_open[wk->mailbox]--;
	wk->state = SW_FREE;
}

/* MAIL FROM and RCPT refused (svc_envelope): answered at once, nothing
 * transferred; an event of its own, so a run of refused messages does not
 * recurse. */
static void on_envelope_refused(sim_engine *e, void *ctx, uint64_t arg)
{
	snd_worker *wk = ctx;
	snd_world *w = wk->inst->world;
	snd__series_at(w, sim_now(e));
	svc_outcome o = { .rc = (scn_reply_class)arg, .release_ns = sim_now(e) };
	o.reply = &snd__limits(w, wk)->reply[o.rc];
	snd__count_attempt(w, wk); /* a refused envelope is an attempt, as a refused DATA is */
	answer(w, wk, &o);
	snd__check_op(w);
}

static void begin_submit(snd_world *w, snd_worker *wk)
{
	const scn_sender *sd = &w->s->senders[wk->inst->group];
	wk->state = SW_SUBMITTING;
	snd_msg *m = wk->msg;
	svc_message em = { m->recipients, m->external, m->size_bytes, (svc_fault)m->fault, 1.0f };
	svc_outcome eo;
	int st = svc_envelope(w->v, &wk->sess, &em, &eo);
	if (st != SIM_OK) {
		snd__fail(w, st);
		return;
	}
	if (eo.rc != RC_OK) {
		snd__sched(w, 0, on_envelope_refused, wk, (uint64_t)eo.rc, NULL);
		return;
	}
	st = svc_submission_begin(w->v, &wk->sess);
	if (st != SIM_OK) {
		snd__fail(w, st);
		return;
	}
	svc_prefetch_submit(w->v, &wk->sess);
	int64_t t = sd->submit_time_ns;
	/* The loader bounds size / bandwidth for the sizes it can bound; a
	 * draw from an unbounded distribution may still take longer than any
	 * run: then it saturates, and the message is still being sent at the
	 * end (never "accepted" by a wrapped sum). */
	if (sd->bandwidth_bytes_per_s > 0.0)
		t = snd__add_sat(t, snd_round_ns((double)wk->msg->size_bytes / sd->bandwidth_bytes_per_s * 1e9));
	snd__sched(w, t, on_submit_done, wk, 0, NULL);
}

static void on_auth_refused(sim_engine *e, void *ctx, uint64_t arg)
{
	snd_worker *wk = ctx;
	snd_world *w = wk->inst->world;
	snd__series_at(w, sim_now(e));
	snd__count_reject(w, wk, (scn_reply_class)arg, NULL, true);
	snd__refused(w, wk, (scn_reply_class)arg, NULL, false);
	snd__check_op(w);
}

/* AUTH at the end of connect_time: a session opens (and the message is
 * submitted), or the refusal is an attempt, answered now or after the
 * service's reply delay. */
static void connect_done(snd_world *w, snd_worker *wk)
{
	snd_inst *in = wk->inst;
	const scn_sender *sd = &w->s->senders[in->group];
	svc_outcome o;
	const scn_limits *L = snd__limits(w, wk);
	svc_client cl = { .basic_auth = sd->basic_auth, .tls_too_old = sd->tls_too_old,
			  .bad_credentials = sd->bad_credentials, .source_mismatch = sd->source_mismatch,
			  .fault_u = L->auth_fault_p > 0 ? snd__attempt_u(w, in, wk->msg, SND_DRAW_AUTH_FAULT)
							 : 1.0f };
	int st = svc_auth(w->v, &wk->sess, sd->route, wk->mailbox, in->source, &cl, &o);
	if (st != SIM_OK) {
		snd__fail(w, st);
		return;
	}
	wk->sess.user = wk;
	if (o.rc == RC_OK) {
		snd__count_conn_opened(w, wk);
		w->mbx_open[wk->mailbox]++;
		wk->sent = 0;
		begin_submit(w, wk);
		return;
	}
	snd__count_attempt(w, wk); /* a refused connection is an attempt; an opened one is not */
	if (o.reply_delay_ns > 0) {
		/* The refusal arrives later (auth_fail_tarpit); only 535s have one,
		 * and they carry no reply record (permanent). */
		snd__sched(w, o.reply_delay_ns, on_auth_refused, wk, (uint64_t)o.rc, NULL);
		return;
	}
	snd__count_reject(w, wk, o.rc, o.reply, true);
	snd__refused(w, wk, o.rc, o.reply, false);
}

static void on_connect_done(sim_engine *e, void *ctx, uint64_t arg)
{
	(void)arg;
	snd_worker *wk = ctx;
	snd_world *w = wk->inst->world;
	snd__series_at(w, sim_now(e));
	connect_done(w, wk);
	snd__check_op(w);
}

static void answer(snd_world *w, snd_worker *wk, const svc_outcome *o)
{
	if (o->rc == RC_OK) {
		snd__accept(w, wk, o);
		wk->sent++;
		snd__continue_session(w, wk);
		return;
	}
	snd__count_reject(w, wk, o->rc, o->reply, false);
	snd__refused(w, wk, o->rc, o->reply, true);
}

/* The end of data: the service accepts, refuses, or holds the message
 * (a tarpit, answered later through snd__on_held_answered). */
static void submit_done(snd_world *w, snd_worker *wk)
{
	snd_msg *m = wk->msg;
	const scn_limits *L = snd__limits(w, wk);
	svc_message sm = { m->recipients, m->external, m->size_bytes, (svc_fault)m->fault,
			   L->data_fault_p > 0 ? snd__attempt_u(w, wk->inst, m, SND_DRAW_DATA_FAULT) : 1.0f };
	svc_outcome o;
	int st = svc_submit(w->v, &wk->sess, &sm, &o);
	if (st != SIM_OK) {
		snd__fail(w, st);
		return;
	}
	snd__count_attempt(w, wk);
	if (o.held)
		return; /* answered later through held_answered */
	answer(w, wk, &o);
}

static void on_submit_done(sim_engine *e, void *ctx, uint64_t arg)
{
	(void)arg;
	snd_worker *wk = ctx;
	snd_world *w = wk->inst->world;
	snd__series_at(w, sim_now(e));
	submit_done(w, wk);
	snd__check_op(w);
}

void snd__on_held_answered(void *ctx, svc_session *s, const svc_outcome *o)
{
	snd_world *w = ctx;
	snd_worker *wk = s->user;
	snd__series_at(w, sim_now(w->e));
	answer(w, wk, o);
	snd__check_op(w);
}

static void on_idle_end(sim_engine *e, void *ctx, uint64_t arg)
{
	(void)arg;
	snd_worker *wk = ctx;
	snd_world *w = wk->inst->world;
	snd__series_at(w, sim_now(e));
	wk->timer = SIM_HANDLE_NONE;
	snd__quit_session(w, wk);
	snd__start_next(w, wk);
	snd__check_op(w);
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
void snd__start_next(snd_world *w, snd_worker *wk)
{
	wk->state = SW_FREE;
	snd_msg *m = take_head(wk->inst);
	if (m == NULL)
		return;
	wk->msg = m;
	snd__connect(w, wk);
}

/* After an acceptance or an honoured permanent refusal in a session. */
void snd__continue_session(snd_world *w, snd_worker *wk)
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
			snd__sched(w, sd->idle_timeout_ns, on_idle_end, wk, 0, &wk->timer);
			return;
		}
	}
	snd__quit_session(w, wk);
	snd__start_next(w, wk);
}

/* A new message is in the outbox: give it to a worker idling in a session
 * first, else to a free worker (MODEL.md "Workers and messages"). */
void snd__dispatch(snd_world *w, snd_inst *in)
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
			snd__start_next(w, wk);
			return;
		}
	}
}
