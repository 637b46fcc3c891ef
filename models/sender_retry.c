/* sender_retry.c - what a refusal leads to: an honoured permanent refusal
 * loses the message (the session may go on); anything else closes the
 * session, and the message is given up (max_attempts, max_age) or waits
 * out a back-off with its worker and reconnects.  See docs/MODEL.md
 * "Senders: the client side", "Failures, back-off and giving up". */
#include "sender_int.h"

#include <math.h>
#include <stdint.h>

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

static void retry_later(snd_world *w, snd_worker *wk, int64_t retry_after_ns);

static void on_backoff_done(sim_engine *e, void *ctx, uint64_t arg)
{
	(void)e;
	(void)arg;
	snd_worker *wk = ctx;
	snd_world *w = wk->inst->world;
	snd__series_at(w, snd__now(w));
	/* an aborted job lost the message at its abort (abort_instance) */
	if (wk->state == SW_BACKOFF)
		snd__connect(w, wk);
	snd__check_op(w);
}

/* Whether a refusal with this reply stops the job (retry.abort_on). */
static bool aborts_on(const scn_retry *r, scn_reply_class rc, const scn_reply *reply)
{
	if ((r->abort_on_classes >> rc) & 1)
		return true;
	bool transient = reply ? reply->transient : false;
	return (r->abort_on & (transient ? SCN_ABORT_TRANSIENT : SCN_ABORT_PERMANENT)) != 0;
}

/* A failure of kind (SCN_ABORT_TIMEOUT, SCN_ABORT_LIFETIME) with no
 * reply class: whether the job stops (or has stopped). */
static bool aborts_on_kind(snd_world *w, snd_worker *wk, unsigned kind)
{
	const snd_iclient *ic = snd__icl(w, wk->inst);
	return ic && (ic->aborted || (w->s->senders[wk->inst->group].retry.abort_on & kind));
}

/* The message is given up; its worker (out of session) starts on the
 * next one at once, with a new connection. */
static void give_up(snd_world *w, snd_worker *wk)
{
	snd__copies_resolve(w, wk, false);
	snd__lose(w, wk, SND__LOSS_GAVE_UP);
	snd__after_message(w, wk);
}

void snd__refused(snd_world *w, snd_worker *wk, scn_reply_class rc,
		  const scn_reply *reply, bool in_session, int64_t retry_after_ns)
{
	snd_inst *in = wk->inst;
	const scn_retry *r = &w->s->senders[in->group].retry;
	snd_msg *m = wk->msg;
	bool permanent = reply ? !reply->transient : true;
	m->last_rc = (uint8_t)rc;
	if (!in_session)
		snd__dial_failed(w, wk); /* a refused connection */
	const snd_iclient *ic = snd__icl(w, in);
	if (ic && (ic->aborted || aborts_on(r, rc, reply))) {
		snd__abort(w, wk, in_session);
		return;
	}
	if (permanent && r->honors_permanent) {
		snd__copies_resolve(w, wk, false);
		snd__lose(w, wk, SND__LOSS_PERMANENT);
		if (in_session && !(reply && reply->drops_connection)) {
			wk->sent++;
			snd__continue_session(w, wk);
			return;
		}
		if (in_session)
			snd__quit_session(w, wk);
		snd__after_message(w, wk);
		return;
	}
	/* transient, or a permanent reply the sender ignores */
	if (in_session)
		snd__quit_session(w, wk);
	retry_later(w, wk, retry_after_ns);
}

void snd__timed_out(snd_world *w, snd_worker *wk)
{
	if (aborts_on_kind(w, wk, SCN_ABORT_TIMEOUT)) {
		snd__abort(w, wk, false);
		return;
	}
	retry_later(w, wk, 0);
}

void snd__lifetime_closed(snd_world *w, snd_worker *wk)
{
	if (aborts_on_kind(w, wk, SCN_ABORT_LIFETIME)) {
		snd__abort(w, wk, false);
		return;
	}
	retry_later(w, wk, 0);
}

/* Out of session after a failed attempt: give up (max_attempts, max_age)
 * or wait out a back-off, then reconnect. */
static void retry_later(snd_world *w, snd_worker *wk, int64_t retry_after_ns)
{
	snd_inst *in = wk->inst;
	const scn_retry *r = &w->s->senders[in->group].retry;
	snd_msg *m = wk->msg;
	int64_t now = snd__now(w);
	if (r->max_attempts > 0 && (int64_t)m->attempts >= r->max_attempts) {
		give_up(w, wk);
		return;
	}
	int64_t d = snd_backoff_ns(r, m, &in->rs[RNG_BACKOFF]);
	/* a client that reads the service's hint waits at least that long
	 * (the back-off stream drew as always: common random numbers hold) */
	if (r->honors_retry_after && retry_after_ns > d)
		d = retry_after_ns;
	/* now + d - generated > max_age, without overflow */
	if (r->max_age_ns > 0 && d > r->max_age_ns - (now - m->generated_ns)) {
		give_up(w, wk);
		return;
	}
	/* A run of refusals of this message at one instant: past the bound,
	 * time is not advancing and never will (zero-time livelock). */
	if (m->attempts > 1 && wk->instant_ns == now) {
		if (++wk->instant_refusals >= SND_MAX_INSTANT_REFUSALS) {
			snd__fail_why(w, SIM_ERANGE, "senders.%s: a message was refused %d times in a row at %.9g s "
				      "without simulated time advancing (session.connect_time 0 and a retry back-off of 0): "
				      "a zero-time livelock; give a connect_time, a retry base or max_attempts",
				      w->s->senders[in->group].name, SND_MAX_INSTANT_REFUSALS, (double)now / 1e9);
			return;
		}
	} else {
		wk->instant_ns = now;
		wk->instant_refusals = 1;
	}
	wk->state = SW_BACKOFF;
	snd__sched(w, d, on_backoff_done, wk, 0, NULL);
}
