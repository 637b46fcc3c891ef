/* sender_session.c - the worker's state machine (snd_worker_state): a free
 * worker takes the oldest unclaimed message and connects; AUTH opens a
 * session or refuses; in a session the worker submits, continues with the
 * next message, idles or quits.  What a refusal leads to is in
 * sender_retry.c.  See docs/MODEL.md "Senders: the client side", "Outbox
 * and workers", "Data timeout".
 *
 * A data timeout (session.data_timeout) that fires while the service holds
 * the message (a tarpit) leaves the session with the service: it stays
 * open and held there until its message is answered (accepted), while the
 * worker goes on with a spare session.  The held copy's acceptance and the
 * message's own are tallied in the message's snd_copies record, which
 * counts a message accepted twice once in duplicates. */
#include "sender_int.h"

#include <stdint.h>
#include <string.h>

static void on_connect_done(sim_engine *e, void *ctx, uint64_t arg);
static void on_submit_done(sim_engine *e, void *ctx, uint64_t arg);
static void on_idle_end(sim_engine *e, void *ctx, uint64_t arg);
static void on_auth_refused(sim_engine *e, void *ctx, uint64_t arg);
static void on_data_timeout(sim_engine *e, void *ctx, uint64_t arg);
static void answer(snd_world *w, snd_worker *wk, const svc_outcome *o);

/* ---- copies the client gave up on (data_timeout) ------------------------ */

/* Whether p lies in the world's array of workers (a session's user is
 * its worker, or, given up on, its message's copies record). */
static bool in_workers(const snd_world *w, const void *p)
{
	uintptr_t a = (uintptr_t)p, lo = (uintptr_t)w->workers;
	return a >= lo && a < (uintptr_t)(w->workers + w->n_workers);
}

static snd_spare *spare_get(snd_world *w)
{
	snd_spare *sp = w->spare_free;
	if (sp) {
		w->spare_free = sp->next;
	} else {
		sp = sim_malloc(&w->alloc, sizeof *sp);
		if (sp == NULL)
			return NULL;
		sp->all = w->spare_all;
		w->spare_all = sp;
	}
	memset(&sp->sess, 0, sizeof sp->sess);
	sp->next = NULL;
	return sp;
}

static void spare_put(snd_world *w, snd_spare *sp)
{
	sp->next = w->spare_free;
	w->spare_free = sp;
}

static snd_copies *copies_get(snd_world *w, int32_t group)
{
	snd_copies *c = w->copies_free;
	if (c) {
		w->copies_free = c->next;
	} else {
		c = sim_malloc(&w->alloc, sizeof *c);
		if (c == NULL)
			return NULL;
		c->all = w->copies_all;
		w->copies_all = c;
	}
	c->next = NULL;
	c->pending = c->accepted = 0;
	c->group = group;
	c->resolved = false;
	return c;
}

/* One more copy of c's message accepted, at mailbox mb: the second makes
 * the message a duplicate. */
static void copy_accepted(snd_world *w, snd_copies *c, int mb)
{
	if (++c->accepted != 2)
		return;
	snd_counts *k[3] = { &w->total, &w->groups[c->group], &w->mailboxes[mb] };
	for (int i = 0; i < 3; i++)
		k[i]->duplicates++;
}

static void copies_done(snd_world *w, snd_copies *c)
{
	if (c->resolved && c->pending == 0) {
		c->next = w->copies_free;
		w->copies_free = c;
	}
}

void snd__copies_resolve(snd_world *w, snd_worker *wk, bool accepted)
{
	snd_msg *m = wk->msg;
	snd_copies *c = m->copies;
	if (c == NULL)
		return;
	m->copies = NULL;
	if (accepted)
		copy_accepted(w, c, wk->mailbox);
	c->resolved = true;
	copies_done(w, c);
}

/* The client gives up on the held session ss: it stays open and held in
 * the service for the copy (ss->user becomes the copies record); the
 * worker, out of session on its side, gets a spare session for its next
 * connection.  false: out of memory (the run is stopped). */
static bool abandon_held(snd_world *w, snd_worker *wk, svc_session *ss)
{
	snd_msg *m = wk->msg;
	size_t i = (size_t)(wk - w->workers);
	if (w->spare_of == NULL) {
		w->spare_of = sim_malloc(&w->alloc, w->n_workers * sizeof *w->spare_of);
		if (w->spare_of == NULL)
			return false;
		memset(w->spare_of, 0, w->n_workers * sizeof *w->spare_of);
	}
	snd_copies *c = m->copies ? m->copies : copies_get(w, wk->inst->group);
	snd_spare *sp = c ? spare_get(w) : NULL;
	if (sp == NULL) {
		if (c && !m->copies) {
			c->next = w->copies_free;
			w->copies_free = c;
		}
		return false;
	}
	m->copies = c;
	c->pending++;
	ss->user = c;
	w->spare_of[i] = sp; /* an earlier spare, if ss was it, is now the copy's */
	wk->spare = 1;
	w->mbx_open[wk->mailbox]--;
	wk->state = SW_FREE;
	return true;
}

/* The service accepted a copy its client had given up on: it writes its
 * 250 to a closed connection, and the session ends. */
static void held_copy_answered(snd_world *w, svc_session *s)
{
	snd_copies *c = s->user;
	int mb = s->mailbox;
	s->user = NULL;
	svc_quit(w->v, s);
	if (!in_workers(w, s))
		spare_put(w, (snd_spare *)(void *)s); /* sess is a spare's first member */
	c->pending--;
	copy_accepted(w, c, mb);
	copies_done(w, c);
}

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
	if (wk->spare && !wk->sess.open) {
		/* its own session was answered: back to it */
		size_t i = (size_t)(wk - w->workers);
		spare_put(w, w->spare_of[i]);
		w->spare_of[i] = NULL;
		wk->spare = 0;
	}
	int mb = choose_mailbox(w, wk->inst);
	wk->mailbox = (int32_t)mb;
	wk->state = SW_CONNECTING;
	/* The connect-done event reads this mailbox's state: start loading it. */
	svc_prefetch_auth(w->v, w->s->senders[wk->inst->group].route, mb);
	__builtin_prefetch(&w->mailboxes[mb], 1);
	__builtin_prefetch(&w->mbx_open[mb], 1);
	__builtin_prefetch(&w->m_acc_min[mb], 1);
	__builtin_prefetch(&w->m_rel_min[mb], 1);
	const scn_sender *sd = &w->s->senders[wk->inst->group];
	snd__sched(w, snd__duration(wk->inst, &sd->connect_time, sd->connect_time_ns), on_connect_done, wk, 0, NULL);
}

void snd__quit_session(snd_world *w, snd_worker *wk)
{
	svc_quit(w->v, snd__sess(w, wk));
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

/* A fault drawn afresh for this submission (faults: per attempt):
 * counter-based, so it shifts no stream. */
static uint8_t attempt_fault(const snd_world *w, const snd_inst *in, const scn_sender *sd, const snd_msg *m)
{
	float u = snd__attempt_u(w, in, m, SND_DRAW_MSG_FAULT);
	if (u < sd->p_send_as_denied)
		return SVC_FAULT_SEND_AS_DENIED;
	if (u < sd->p_send_as_denied + sd->p_invalid_recipients)
		return SVC_FAULT_INVALID_RECIPIENTS;
	return SVC_FAULT_NONE;
}

static void begin_submit(snd_world *w, snd_worker *wk)
{
	const scn_sender *sd = &w->s->senders[wk->inst->group];
	svc_session *ss = snd__sess(w, wk);
	wk->state = SW_SUBMITTING;
	snd_msg *m = wk->msg;
	if (sd->faults_per_attempt)
		m->fault = attempt_fault(w, wk->inst, sd, m);
	svc_message em = { m->recipients, m->external, m->size_bytes, (svc_fault)m->fault, 1.0f };
	svc_outcome eo;
	int st = svc_envelope(w->v, ss, &em, &eo);
	if (st != SIM_OK) {
		snd__fail(w, st);
		return;
	}
	if (eo.rc != RC_OK) {
		snd__sched(w, 0, on_envelope_refused, wk, (uint64_t)eo.rc, NULL);
		return;
	}
	st = svc_submission_begin(w->v, ss);
	if (st != SIM_OK) {
		snd__fail(w, st);
		return;
	}
	svc_prefetch_submit(w->v, ss);
	int64_t t = snd__duration(wk->inst, &sd->submit_time, sd->submit_time_ns);
	/* The loader bounds size / bandwidth for the sizes it can bound; a
	 * draw from an unbounded distribution may still take longer than any
	 * run: then it saturates, and the message is still being sent at the
	 * end (never "accepted" by a wrapped sum). */
	if (sd->bandwidth_bytes_per_s > 0.0)
		t = snd__add_sat(t, snd_round_ns((double)wk->msg->size_bytes / sd->bandwidth_bytes_per_s * 1e9));
	int64_t to = sd->data_timeout_ns;
	if (to > 0 && t > to) {
		/* The client gives up while still sending: the service never
		 * sees the end of data. */
		snd__sched(w, to, on_data_timeout, wk, 0, NULL);
		return;
	}
	/* arg: 1 + what is left of the data timeout at the end of data (0: off) */
	snd__sched(w, t, on_submit_done, wk, to > 0 ? (uint64_t)(to - t) + 1 : 0, NULL);
}

static void on_auth_refused(sim_engine *e, void *ctx, uint64_t arg)
{
	snd_worker *wk = ctx;
	snd_world *w = wk->inst->world;
	snd__series_at(w, sim_now(e));
	snd__count_reject(w, wk, (scn_reply_class)arg, NULL, true);
	snd__refused(w, wk, (scn_reply_class)arg, NULL, false, 0);
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
	svc_session *ss = snd__sess(w, wk);
	int st = svc_auth(w->v, ss, sd->route, wk->mailbox, in->source, &cl, &o);
	if (st != SIM_OK) {
		snd__fail(w, st);
		return;
	}
	ss->user = wk;
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
	snd__refused(w, wk, o.rc, o.reply, false, o.retry_after_ns);
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
		if (wk->msg->copies)
			snd__copies_resolve(w, wk, true);
		snd__accept(w, wk, o);
		wk->sent++;
		snd__continue_session(w, wk);
		return;
	}
	snd__count_reject(w, wk, o->rc, o->reply, false);
	snd__refused(w, wk, o->rc, o->reply, true, o->retry_after_ns);
}

/* The end of data: the service accepts, refuses, or holds the message
 * (a tarpit, answered later through snd__on_held_answered). */
static void submit_done(snd_world *w, snd_worker *wk, uint64_t timeout_left)
{
	snd_msg *m = wk->msg;
	const scn_limits *L = snd__limits(w, wk);
	svc_message sm = { m->recipients, m->external, m->size_bytes, (svc_fault)m->fault,
			   L->data_fault_p > 0 ? snd__attempt_u(w, wk->inst, m, SND_DRAW_DATA_FAULT) : 1.0f };
	svc_outcome o;
	int st = svc_submit(w->v, snd__sess(w, wk), &sm, &o);
	if (st != SIM_OK) {
		snd__fail(w, st);
		return;
	}
	snd__count_attempt(w, wk);
	if (o.held) {
		/* answered later through held_answered, unless the client stops
		 * waiting first */
		if (timeout_left > 0)
			snd__sched(w, (int64_t)(timeout_left - 1), on_data_timeout, wk, 1, &wk->timer);
		return;
	}
	answer(w, wk, &o);
}

static void on_submit_done(sim_engine *e, void *ctx, uint64_t arg)
{
	snd_worker *wk = ctx;
	snd_world *w = wk->inst->world;
	snd__series_at(w, sim_now(e));
	submit_done(w, wk, arg);
	snd__check_op(w);
}

/* The client stops waiting for the end-of-data reply: during the transfer
 * (arg 0: an attempt whose end of data the service never sees), or while
 * the service holds the message (arg 1: the attempt was counted at the
 * end of data; the copy stays with the service, see abandon_held). */
static void on_data_timeout(sim_engine *e, void *ctx, uint64_t arg)
{
	snd_worker *wk = ctx;
	snd_world *w = wk->inst->world;
	snd__series_at(w, sim_now(e));
	wk->timer = SIM_HANDLE_NONE;
	snd_counts *k[3] = { &w->total, snd__grp(w, wk->inst), &w->mailboxes[wk->mailbox] };
	for (int i = 0; i < 3; i++)
		k[i]->data_timeouts++;
	svc_session *ss = snd__sess(w, wk);
	if (arg == 1 && ALWAYS(ss->held)) {
		if (!abandon_held(w, wk, ss)) {
			snd__fail(w, SIM_ENOMEM);
			return;
		}
	} else {
		snd__count_attempt(w, wk);
		snd__quit_session(w, wk);
	}
	snd__timed_out(w, wk);
	snd__check_op(w);
}

void snd__on_held_answered(void *ctx, svc_session *s, const svc_outcome *o)
{
	snd_world *w = ctx;
	snd__series_at(w, sim_now(w->e));
	if (!in_workers(w, s->user)) {
		held_copy_answered(w, s);
		snd__check_op(w);
		return;
	}
	snd_worker *wk = s->user;
	if (wk->timer.seq != 0) { /* the data timeout, if one is running */
		sim_cancel(w->e, wk->timer);
		wk->timer = SIM_HANDLE_NONE;
	}
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
