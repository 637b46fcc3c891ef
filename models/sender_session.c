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
static void on_auth_timeout(sim_engine *e, void *ctx, uint64_t arg);
static void on_data_timeout(sim_engine *e, void *ctx, uint64_t arg);
/* The steps every message takes are inline in their callers (a call's
 * cost is a good part of each): answer, next_in_session, dispatch_one,
 * start_next, continue_session, quit_session (snd__* the same, called). */
#define SND__STEP static inline __attribute__((always_inline))
SND__STEP void answer(snd_world *w, snd_worker *wk, const svc_outcome *o, bool at_eod);
SND__STEP void start_next(snd_world *w, snd_worker *wk);
SND__STEP void continue_session(snd_world *w, snd_worker *wk);
SND__STEP void quit_session(snd_world *w, snd_worker *wk);

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
		return in->home_mailbox; /* first + index mod count, from world_build */
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
	snd_iclient *ic = snd__icl(w, wk->inst);
	if (ic && ic->dial_stopped) {
		wk->state = SW_DIAL_WAIT; /* dials again when the pool resumes (snd__dial_resume) */
		return;
	}
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
	/* The connect-done event reads this mailbox's state: start loading it
	 * (its counts' first two lines), and the worker's third line, the
	 * session's tail, which AUTH writes (the engine prefetches only the
	 * node's two). */
	svc_prefetch_auth(w->v, w->s->senders[wk->inst->group].route, mb);
	__builtin_prefetch(&w->mailboxes[mb], 1);
	__builtin_prefetch(&w->mailboxes[mb].sub_sum_s, 1);
	__builtin_prefetch(&wk->sess.mailbox, 1);
	__builtin_prefetch(&w->mbx_open[mb], 1);
	__builtin_prefetch(&w->m_acc_min[mb], 1);
	if (!w->rel_as_acc)
		__builtin_prefetch(&w->m_rel_min[mb], 1);
	const scn_sender *sd = &w->s->senders[wk->inst->group];
	int64_t d = snd__duration(wk->inst, &sd->connect_time, sd->connect_time_ns);
	if (sd->serial_connect && ALWAYS(ic != NULL)) {
		/* one thread opens the instance's connections in turn: this one
		 * starts when the previous one is done */
		int64_t now = snd__now(w);
		int64_t start = ic->connect_free_ns > now ? ic->connect_free_ns : now;
		ic->connect_free_ns = snd__add_sat(start, d);
		d = ic->connect_free_ns - now;
	}
	snd__sched_node(w, &wk->ev, d, on_connect_done, wk, 0);
}

SND__STEP void quit_session(snd_world *w, snd_worker *wk)
{
	svc_quit(w->v, snd__sess(w, wk));
	w->mbx_open[wk->mailbox]--;
	wk->state = SW_FREE;
}

void snd__quit_session(snd_world *w, snd_worker *wk)
{
	quit_session(w, wk);
}

/* MAIL FROM and RCPT refused (svc_envelope): answered at once, nothing
 * transferred; an event of its own, so a run of refused messages does not
 * recurse. */
static void on_envelope_refused(sim_engine *e, void *ctx, uint64_t arg)
{
	(void)e;
	snd_worker *wk = ctx;
	snd_world *w = wk->inst->world;
	snd__series_at(w, snd__now(w));
	svc_outcome o = { .rc = (scn_reply_class)arg, .release_ns = snd__now(w) };
	o.reply = &snd__limits(w, wk)->reply[o.rc];
	snd__count_attempt(w, wk); /* a refused envelope is an attempt, as a refused DATA is */
	answer(w, wk, &o, false);
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

/* session_lifetime: the service answers the first command of a message at
 * or after AUTH + the lifetime with SCN_LIFETIME_REPLY and closes the
 * connection (OBS Haraka#2321: the reply came to a command, 55 s past the
 * 20 min).  The message is refused before anything is sent; an event of
 * its own, so a run of them does not recurse. */
static void on_lifetime_closed(sim_engine *e, void *ctx, uint64_t arg)
{
	(void)e;
	(void)arg;
	snd_worker *wk = ctx;
	snd_world *w = wk->inst->world;
	snd__series_at(w, snd__now(w));
	snd_counts *k[3] = { &w->total, snd__grp(w, wk->inst), &w->mailboxes[wk->mailbox] };
	for (int i = 0; i < 3; i++)
		k[i]->lifetime_closes++;
	snd__count_attempt(w, wk); /* MAIL FROM refused: an attempt, as a refused envelope */
	snd__quit_session(w, wk);
	snd__lifetime_closed(w, wk);
	snd__check_op(w);
}

static bool lifetime_over(snd_world *w, snd_worker *wk)
{
	if (w->wcl == NULL)
		return false; /* no lifetime anywhere: the limits' line stays cold */
	int64_t life = snd__limits(w, wk)->session_lifetime_ns;
	return life > 0 && snd__now(w) - w->wcl[wk - w->workers].open_ns >= life;
}

static void begin_submit(snd_world *w, snd_worker *wk)
{
	const scn_sender *sd = &w->s->senders[wk->inst->group];
	svc_session *ss = snd__sess(w, wk);
	wk->state = SW_SUBMITTING;
	snd_msg *m = wk->msg;
	if (lifetime_over(w, wk)) {
		snd__sched(w, 0, on_lifetime_closed, wk, 0, NULL);
		return;
	}
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
	/* Accepted at the end of data, its submission delay is known now:
	 * start loading the mailbox histogram's bucket it will count in. */
	dh_prefetch(&w->mailboxes[wk->mailbox].dly, snd__add_sat(snd__now(w), t) - m->generated_ns);
	int64_t to = sd->data_timeout_ns;
	if (to > 0 && t > to) {
		/* The client gives up while still sending: the service never
		 * sees the end of data. */
		snd__sched(w, to, on_data_timeout, wk, 0, NULL);
		return;
	}
	/* arg: 1 + what is left of the data timeout at the end of data (0: off) */
	snd__sched_node(w, &wk->ev, t, on_submit_done, wk, to > 0 ? (uint64_t)(to - t) + 1 : 0);
}

/* read_timeout: the client stops waiting for a delayed AUTH reply; the
 * connection failed, with no reply class (as a data timeout). */
static void on_auth_timeout(sim_engine *e, void *ctx, uint64_t arg)
{
	(void)e;
	(void)arg;
	snd_worker *wk = ctx;
	snd_world *w = wk->inst->world;
	snd__series_at(w, snd__now(w));
	snd_counts *k[3] = { &w->total, snd__grp(w, wk->inst), &w->mailboxes[wk->mailbox] };
	for (int i = 0; i < 3; i++)
		k[i]->auth_timeouts++;
	snd__dial_failed(w, wk);
	snd__timed_out(w, wk);
	snd__check_op(w);
}

static void on_auth_refused(sim_engine *e, void *ctx, uint64_t arg)
{
	(void)e;
	snd_worker *wk = ctx;
	snd_world *w = wk->inst->world;
	snd__series_at(w, snd__now(w));
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
	svc_client cl = { .basic_auth = sd->basic_auth, .tls_too_old = sd->tls_too_old,
			  .bad_credentials = sd->bad_credentials, .source_mismatch = sd->source_mismatch,
			  .fault_u = w->auth_faults && snd__limits(w, wk)->auth_fault_p > 0
					     ? snd__attempt_u(w, in, wk->msg, SND_DRAW_AUTH_FAULT) : 1.0f };
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
		if (w->wcl)
			w->wcl[wk - w->workers].open_ns = snd__now(w);
		snd__dial_succeeded(w, wk);
		begin_submit(w, wk);
		return;
	}
	snd__count_attempt(w, wk); /* a refused connection is an attempt; an opened one is not */
	if (o.reply_delay_ns > 0) {
		/* The refusal arrives later (auth_fail_tarpit); only 535s have one,
		 * and they carry no reply record (permanent).  A client with a
		 * shorter read timeout stops waiting first. */
		if (sd->read_timeout_ns > 0 && sd->read_timeout_ns < o.reply_delay_ns)
			snd__sched(w, sd->read_timeout_ns, on_auth_timeout, wk, 0, NULL);
		else
			snd__sched(w, o.reply_delay_ns, on_auth_refused, wk, (uint64_t)o.rc, NULL);
		return;
	}
	snd__count_reject(w, wk, o.rc, o.reply, true);
	snd__refused(w, wk, o.rc, o.reply, false, o.retry_after_ns);
}

static void on_connect_done(sim_engine *e, void *ctx, uint64_t arg)
{
	(void)e;
	(void)arg;
	snd_worker *wk = ctx;
	snd_world *w = wk->inst->world;
	snd__series_at(w, snd__now(w));
	connect_done(w, wk);
	snd__check_op(w);
}

/* at_eod: the reply to the end of data (not to the envelope). */
SND__STEP void answer(snd_world *w, snd_worker *wk, const svc_outcome *o, bool at_eod)
{
	if (o->rc == RC_OK) {
		if (wk->msg->copies)
			snd__copies_resolve(w, wk, true);
		snd__accept(w, wk, o);
		wk->sent++;
		continue_session(w, wk);
		return;
	}
	snd__count_reject(w, wk, o->rc, o->reply, false);
	if (at_eod && w->s->senders[wk->inst->group].ignores_data_reply) {
		/* the library discards the reply: the message is lost, and sent
		 * for the application (believed_sent) */
		wk->msg->last_rc = (uint8_t)o->rc;
		snd__copies_resolve(w, wk, false);
		snd__lose(w, wk, SND__LOSS_BELIEVED_SENT);
		wk->sent++;
		if (o->reply && o->reply->drops_connection) {
			quit_session(w, wk);
			snd__after_message(w, wk);
			return;
		}
		continue_session(w, wk);
		return;
	}
	snd__refused(w, wk, o->rc, o->reply, true, o->retry_after_ns);
}

/* The end of data: the service accepts, refuses, or holds the message
 * (a tarpit, answered later through snd__on_held_answered). */
static void submit_done(snd_world *w, snd_worker *wk, uint64_t timeout_left)
{
	snd_msg *m = wk->msg;
	svc_message sm = { m->recipients, m->external, m->size_bytes, (svc_fault)m->fault,
			   w->data_faults && snd__limits(w, wk)->data_fault_p > 0
				   ? snd__attempt_u(w, wk->inst, m, SND_DRAW_DATA_FAULT) : 1.0f };
	svc_outcome o;
	int st = svc_submit(w->v, snd__sess(w, wk), &sm, &o);
	if (st != SIM_OK) {
		snd__fail(w, st);
		return;
	}
	snd__count_attempt(w, wk);
	if (o.held) {
		/* answered later through held_answered, unless the client stops
		 * waiting first: what is left of data_timeout, or read_timeout
		 * from now (the end of data), whichever ends first */
		int64_t left = timeout_left > 0 ? (int64_t)(timeout_left - 1) : -1;
		int64_t rt = w->s->senders[wk->inst->group].read_timeout_ns;
		if (rt > 0 && (left < 0 || rt < left))
			left = rt;
		if (left >= 0)
			snd__sched(w, left, on_data_timeout, wk, 1, &wk->timer);
		return;
	}
	answer(w, wk, &o, true);
}

static void on_submit_done(sim_engine *e, void *ctx, uint64_t arg)
{
	(void)e;
	snd_worker *wk = ctx;
	snd_world *w = wk->inst->world;
	snd__series_at(w, snd__now(w));
	submit_done(w, wk, arg);
	snd__check_op(w);
}

/* The client stops waiting for the end-of-data reply: during the transfer
 * (arg 0: an attempt whose end of data the service never sees), or while
 * the service holds the message (arg 1: the attempt was counted at the
 * end of data; the copy stays with the service, see abandon_held). */
static void on_data_timeout(sim_engine *e, void *ctx, uint64_t arg)
{
	(void)e;
	snd_worker *wk = ctx;
	snd_world *w = wk->inst->world;
	snd__series_at(w, snd__now(w));
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
	snd__series_at(w, snd__now(w));
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
	answer(w, wk, o, true);
	snd__check_op(w);
}

static void on_idle_end(sim_engine *e, void *ctx, uint64_t arg)
{
	(void)e;
	(void)arg;
	snd_worker *wk = ctx;
	snd_world *w = wk->inst->world;
	snd__series_at(w, snd__now(w));
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

/* ---- client behaviours: pauses, a pool that stops dialling, abort ------- */

/* Whether the instance is in its pause (batch_per: instance) now. */
static bool inst_paused(const snd_world *w, const snd_iclient *ic)
{
	return ic && ic->pause_until_ns > snd__now(w);
}

static void on_pause_end(sim_engine *e, void *ctx, uint64_t arg);
SND__STEP bool dispatch_one(snd_world *w, snd_inst *in);

/* The worker sleeps until `until` (a batch pause, the message gap, the
 * instance's pause), its session kept open or not.  An instant at or past
 * the run's end is never reached: it sleeps to the end. */
static void pause_until(snd_world *w, snd_worker *wk, int64_t until, bool in_session)
{
	wk->state = SW_PAUSED;
	w->wcl[wk - w->workers].pause_in_session = in_session;
	snd__sched(w, until - snd__now(w), on_pause_end, wk, 0, NULL);
}

/* A message of the worker is finished (accepted, lost, believed sent):
 * the sleep before its next one, 0 for none.  At the end of a batch
 * (batch_size messages of the worker or of the instance) it is the batch
 * pause, and an instance's batch pauses the whole instance; otherwise the
 * message gap, which the caller applies within a session only.  *batch
 * says which. */
static int64_t finished(snd_world *w, snd_worker *wk, bool *batch)
{
	const scn_sender *sd = &w->s->senders[wk->inst->group];
	*batch = false;
	if (sd->batch_size > 0) {
		snd_iclient *ic = snd__icl(w, wk->inst);
		int64_t *n = sd->batch_per == BATCH_PER_INSTANCE ? &ic->batch_sent : &w->wcl[wk - w->workers].batch_sent;
		if (++*n >= sd->batch_size) {
			*n = 0;
			*batch = true;
			if (sd->batch_per == BATCH_PER_INSTANCE)
				ic->pause_until_ns = snd__add_sat(snd__now(w), sd->batch_pause_ns);
			return sd->batch_pause_ns;
		}
	}
	return sd->message_gap_ns;
}

/* The session's next step once nothing holds it: the next message while
 * the session may send more, else an idle hold, else quit and start the
 * worker's next session. */
SND__STEP void next_in_session(snd_world *w, snd_worker *wk, const scn_sender *sd)
{
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
	quit_session(w, wk);
	start_next(w, wk);
}

/* The session goes on (after a message, or after a pause in it): the next
 * message, an idle hold, or quit. */
static void resume_session(snd_world *w, snd_worker *wk)
{
	const scn_sender *sd = &w->s->senders[wk->inst->group];
	snd_iclient *ic = snd__icl(w, wk->inst);
	if (ic && ic->aborted) {
		snd__quit_session(w, wk);
		return;
	}
	if (inst_paused(w, ic)) {
		pause_until(w, wk, ic->pause_until_ns, true);
		return;
	}
	next_in_session(w, wk, sd);
}

/* After a message in a session, with the client behaviours' state. */
static void client_continue(snd_world *w, snd_worker *wk)
{
	const scn_sender *sd = &w->s->senders[wk->inst->group];
	snd_iclient *ic = snd__icl(w, wk->inst);
	bool batch;
	int64_t p = finished(w, wk, &batch);
	int64_t now = snd__now(w);
	if (ic->aborted) {
		snd__quit_session(w, wk);
		return;
	}
	if (wk->sent >= sd->messages_per_session) {
		/* the session is used up: the gap is within a session only */
		snd__quit_session(w, wk);
		if (batch && p > 0)
			pause_until(w, wk, snd__add_sat(now, p), false);
		else
			snd__start_next(w, wk);
		return;
	}
	int64_t until = snd__add_sat(now, p);
	if (ic->pause_until_ns > until)
		until = ic->pause_until_ns;
	if (until > now) {
		pause_until(w, wk, until, true);
		return;
	}
	resume_session(w, wk);
}

/* Messages that waited in the FIFO (an instance's pause) go to the free
 * and idle workers. */
static void dispatch_waiting(snd_world *w, snd_inst *in)
{
	snd_iclient *ic = snd__icl(w, in);
	while (in->head && !ic->aborted && !inst_paused(w, ic) && dispatch_one(w, in))
		;
}

static void on_pause_end(sim_engine *e, void *ctx, uint64_t arg)
{
	(void)e;
	(void)arg;
	snd_worker *wk = ctx;
	snd_world *w = wk->inst->world;
	snd__series_at(w, snd__now(w));
	snd_wclient *wc = &w->wcl[wk - w->workers];
	if (ALWAYS(wk->state == SW_PAUSED)) {
		wk->state = SW_FREE;
		if (wc->pause_in_session) {
			wc->pause_in_session = false;
			wk->state = SW_SUBMITTING; /* in session again, between two messages */
			resume_session(w, wk);
		} else {
			snd__start_next(w, wk);
		}
		dispatch_waiting(w, wk->inst);
	}
	snd__check_op(w);
}

void snd__after_message(snd_world *w, snd_worker *wk)
{
	wk->state = SW_FREE;
	if (w->icl) {
		bool batch;
		int64_t p = finished(w, wk, &batch);
		if (batch && p > 0) {
			pause_until(w, wk, snd__add_sat(snd__now(w), p), false);
			return;
		}
	}
	snd__start_next(w, wk);
}

void snd__dial_failed(snd_world *w, snd_worker *wk)
{
	snd_iclient *ic = snd__icl(w, wk->inst);
	const scn_sender *sd = &w->s->senders[wk->inst->group];
	if (ic == NULL || sd->dial_stop_after == 0)
		return;
	if (++ic->dial_failures < sd->dial_stop_after || ic->dial_stopped)
		return;
	ic->dial_stopped = true;
	snd_counts *k[3] = { &w->total, snd__grp(w, wk->inst), &w->mailboxes[wk->mailbox] };
	for (int i = 0; i < 3; i++)
		k[i]->dial_stops++;
	if (sd->dial_resume_ns > 0)
		snd__sched(w, sd->dial_resume_ns, snd__on_dial_resume, wk->inst, 0, NULL);
}

void snd__dial_succeeded(snd_world *w, snd_worker *wk)
{
	snd_iclient *ic = snd__icl(w, wk->inst);
	if (ic)
		ic->dial_failures = 0;
}

/* The pool dials again: its waiting workers connect, in slot order. */
static void dial_resume(snd_world *w, snd_inst *in)
{
	snd_iclient *ic = snd__icl(w, in);
	ic->dial_stopped = false;
	ic->dial_failures = 0;
	int64_t n = w->s->senders[in->group].connections;
	for (int64_t i = 0; i < n; i++)
		if (in->workers[i].state == SW_DIAL_WAIT)
			snd__connect(w, &in->workers[i]);
}

void snd__on_dial_resume(sim_engine *e, void *ctx, uint64_t arg)
{
	(void)e;
	(void)arg;
	snd_inst *in = ctx;
	snd_world *w = in->world;
	snd__series_at(w, snd__now(w));
	if (ALWAYS(snd__icl(w, in)->dial_stopped))
		dial_resume(w, in);
	snd__check_op(w);
}

/* The job stops for good (abort_on): every message of the instance not
 * yet finished is lost as aborted, now or (one in an attempt) when its
 * attempt ends; its workers take nothing more. */
static void abort_instance(snd_world *w, snd_inst *in)
{
	snd__icl(w, in)->aborted = true;
	snd_msg *m;
	while ((m = take_head(in)))
		snd__lose_aborted(w, in, m, in->home_mailbox);
	int64_t n = w->s->senders[in->group].connections;
	for (int64_t i = 0; i < n; i++) {
		snd_worker *o = &in->workers[i];
		if (o->state != SW_BACKOFF && o->state != SW_DIAL_WAIT)
			continue;
		/* a message that had an attempt is credited to that attempt's
		 * mailbox; one that never left the outbox to its home */
		m = o->msg;
		o->msg = NULL;
		o->state = SW_FREE;
		snd__lose_aborted(w, in, m, m->attempts > 0 ? o->mailbox : in->home_mailbox);
	}
}

void snd__abort(snd_world *w, snd_worker *wk, bool in_session)
{
	if (in_session)
		snd__quit_session(w, wk);
	snd__copies_resolve(w, wk, false);
	snd_msg *m = wk->msg;
	wk->msg = NULL;
	wk->state = SW_FREE;
	snd__lose_aborted(w, wk->inst, m, wk->mailbox);
	if (!snd__icl(w, wk->inst)->aborted)
		abort_instance(w, wk->inst);
}

/* ---- taking messages ---------------------------------------------------- */

void snd__start_next(snd_world *w, snd_worker *wk)
{
	start_next(w, wk);
}

/* A free worker (no session) takes the oldest unclaimed message. */
SND__STEP void start_next(snd_world *w, snd_worker *wk)
{
	wk->state = SW_FREE;
	snd_iclient *ic = snd__icl(w, wk->inst);
	if (ic && (ic->aborted || inst_paused(w, ic)))
		return; /* nothing more; or the pause's end dispatches */
	snd_msg *m = take_head(wk->inst);
	if (m == NULL)
		return;
	wk->msg = m;
	snd__connect(w, wk);
}

void snd__continue_session(snd_world *w, snd_worker *wk)
{
	continue_session(w, wk);
}

/* After an acceptance or an honoured permanent refusal in a session. */
SND__STEP void continue_session(snd_world *w, snd_worker *wk)
{
	if (w->icl) {
		client_continue(w, wk);
		return;
	}
	const scn_sender *sd = &w->s->senders[wk->inst->group];
	next_in_session(w, wk, sd);
}

/* The head message to a worker idling in a session first, else to a free
 * worker (MODEL.md "Workers and messages"); false if none could take it. */
SND__STEP bool dispatch_one(snd_world *w, snd_inst *in)
{
	int64_t n = w->s->senders[in->group].connections;
	for (int64_t i = 0; i < n; i++) {
		snd_worker *wk = &in->workers[i];
		if (wk->state == SW_IDLE) {
			sim_cancel(w->e, wk->timer);
			wk->timer = SIM_HANDLE_NONE;
			wk->msg = take_head(in);
			begin_submit(w, wk);
			return true;
		}
	}
	for (int64_t i = 0; i < n; i++) {
		snd_worker *wk = &in->workers[i];
		if (wk->state == SW_FREE) {
			start_next(w, wk);
			return true;
		}
	}
	return false;
}

/* A new message is in the outbox: give it to a worker idling in a session
 * first, else to a free worker.  With the client behaviours: an aborted
 * job loses it at once, a pool stopped until the next message dials
 * again, and an instance in its pause keeps it until the pause ends. */
void snd__dispatch(snd_world *w, snd_inst *in)
{
	snd_iclient *ic = snd__icl(w, in);
	if (ic == NULL) {
		dispatch_one(w, in);
		return;
	}
	if (ic->aborted) {
		snd_msg *m;
		while ((m = take_head(in)))
			snd__lose_aborted(w, in, m, in->home_mailbox);
		return;
	}
	if (ic->dial_stopped && w->s->senders[in->group].dial_resume_ns == 0)
		dial_resume(w, in);
	dispatch_waiting(w, in);
}
