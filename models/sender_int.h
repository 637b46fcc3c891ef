/* sender_int.h - internal to the sender module (models/sender*.c); no
 * other file includes it.  Functions shared between the module's files
 * carry the prefix snd__ (libuv's uv__ convention); what the rest of the
 * program may call is in sender.h.
 *
 * The module's files, one concern each:
 *   sender.c           the world: construction, the message pool, the
 *                      service's hooks, the invariant checker
 *   sender_draw.c      draws by inversion, rounding, the profile
 *   sender_arrivals.c  arrivals (poisson, periodic, bursts, trace) and the
 *                      generation of a message into its outbox
 *   sender_session.c   the worker's state machine: connect, submit,
 *                      continue, idle, quit, dispatch of new messages
 *   sender_retry.c     a refusal's consequences: loss, back-off, give-up
 *   sender_count.c     message accounting: counters, delays, per-minute
 *                      runs, the time series
 *
 * Every event handler of the module ends with snd__check_op, which runs
 * snd_world_check through SIM_CHECK (check.h).
 */
#ifndef MODELS_SENDER_INT_H
#define MODELS_SENDER_INT_H

#include <math.h>

#include "check.h"
#include "sender.h"

/* ---- shared inline steps (hot: every event uses them) ---------------- */

/* The engine's time, snd__now(w), read through its clock's address
 * (several times a message: no call). */
static inline int64_t snd__now(const snd_world *w)
{
	return *w->clock;
}

/* The first failure inside a handler is kept and stops the run. */
static inline void snd__fail(snd_world *w, int st)
{
	if (w->status == SIM_OK)
		w->status = st;
	sim_stop(w->e);
}

/* Schedule fn after delay; an event at or after the run's end would never
 * run, so it is not scheduled at all (nor is one whose time overflows). */
static inline void snd__sched(snd_world *w, int64_t delay_ns, sim_handler fn, void *ctx,
			      uint64_t arg, sim_handle *h)
{
	int64_t now = snd__now(w);
	if (h)
		*h = SIM_HANDLE_NONE;
	if (delay_ns < 0)
		delay_ns = 0;
	if (delay_ns >= w->s->duration_ns - now)
		return;
	int st = sim_schedule_in(w->e, delay_ns, fn, ctx, arg, h);
	if (st != SIM_OK && st != SIM_ERANGE)
		snd__fail(w, st);
}

/* As snd__sched, through the caller's node (engine.h, sim_node): an
 * object's one pending event of that kind. */
static inline void snd__sched_node(snd_world *w, sim_node *n, int64_t delay_ns, sim_handler fn,
				   void *ctx, uint64_t arg)
{
	int64_t now = snd__now(w);
	if (delay_ns < 0)
		delay_ns = 0;
	if (delay_ns >= w->s->duration_ns - now)
		return;
	int st = sim_schedule_node_in(w->e, n, delay_ns, fn, ctx, arg);
	if (st != SIM_OK && st != SIM_ERANGE)
		snd__fail(w, st);
}

/* A failure the user must be told about in words: why names the key of
 * the sender that caused it (the first failure wins, as for snd__fail). */
__attribute__((format(printf, 3, 4)))
void snd__fail_why(snd_world *w, int st, const char *fmt, ...);

/* a + b for a, b >= 0, saturating at INT64_MAX (then never scheduled:
 * past any run's end). */
static inline int64_t snd__add_sat(int64_t a, int64_t b)
{
	return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* The limits a worker's attempts meet: its route's, or (smtp_auth) its
 * session's mailbox's. */
static inline const scn_limits *snd__limits(const snd_world *w, const snd_worker *wk)
{
	return scn_route_limits(w->s, w->s->senders[wk->inst->group].route, wk->mailbox);
}

/* Draw kinds of snd__attempt_u (each a key of its own: a new kind shifts
 * no other draw). */
enum { SND_DRAW_AUTH_FAULT = 1, SND_DRAW_DATA_FAULT = 2, SND_DRAW_MSG_FAULT = 3 };

/* A uniform on [0, 1) for attempt `attempts` of message m, of the given
 * kind: counter-based (rng_hash_uniform), so it shifts no stream and a
 * variant that makes other attempts draws the same for the same attempt. */
float snd__attempt_u(const snd_world *w, const snd_inst *in, const snd_msg *m, int kind);

static inline snd_counts *snd__grp(snd_world *w, const snd_inst *in)
{
	return &w->groups[in->group];
}

static inline size_t snd__series_row(const snd_world *w, int64_t t)
{
	return (size_t)(t / w->s->series_step_ns);
}

/* Every handler's first step: O(1) unless a row ends at or before t. */
static inline void snd__series_at(snd_world *w, int64_t t)
{
	if (t >= w->series_next_end)
		snd_series_advance(w, t);
}

/* Every handler's last step: the accounting identity and the workers'
 * states (snd_world_check), under SIM_CHECK; nothing in release.  After a
 * failure the run is abandoned half-way, so nothing is checked. */
static inline void snd__check_op(snd_world *w)
{
	(void)w;
	SIM_CHECK(w->check_ops, w->status != SIM_OK || snd_world_check(w));
}

/* ---- the message pool (sender.c) ------------------------------------- */

snd_msg *snd__msg_grow(snd_world *w);

static inline snd_msg *snd__msg_new(snd_world *w)
{
	if (w->free_msgs == NULL)
		return snd__msg_grow(w);
	snd_msg *m = w->free_msgs;
	w->free_msgs = m->next;
	return m;
}

static inline void snd__msg_free(snd_world *w, snd_msg *m)
{
	m->next = w->free_msgs;
	w->free_msgs = m;
}

/* ---- sender_draw.c ----------------------------------------------------- */

/* A real-valued count (recipients, bytes, a burst), rounded as
 * snd_round_ns rounds: half up, saturating. */
static inline int64_t snd__round_count(double x)
{
	if (!(x > 0.0))
		return 0;
	if (x >= 9.2e18)
		return INT64_MAX;
	/* floor(x + 0.5) without the call: x + 0.5 > 0, where the cast's
	 * truncation is floor */
	return (int64_t)(x + 0.5);
}

/* snd_dist_inv, the fixed value without a call (every message draws
 * its recipients and size, most from a fixed value). */
static inline double snd__dist_inv(const scn_dist *d, double u)
{
	return d->kind == DIST_FIXED ? d->a : snd_dist_inv(d, u);
}

/* Whether any value of a message depends on the shape stream's three
 * uniforms (recipients, external, size), and on the faults stream's one.
 * Nothing else reads those two streams, so when no value depends on them
 * they need not be drawn at all: the k-th message's values come from the
 * same uniforms of its stream (3k..3k+2, and k) whenever they are used,
 * which is what "always three and one" is for (common random numbers). */
enum { SND__DRAWS_SHAPE = 1, SND__DRAWS_FAULT = 2 };

/* Which of the two a sender's messages draw (world.g_draws keeps it per
 * group, taken once). */
static inline uint8_t snd__draws(const scn_sender *sd)
{
	bool shape = sd->recipients.kind != DIST_FIXED || sd->size.kind != DIST_FIXED || sd->external > 0.0;
	/* a uniform on [0, 1) is below neither bound when both are <= 0 */
	bool fault = sd->p_send_as_denied > 0.0 || sd->p_send_as_denied + sd->p_invalid_recipients > 0.0;
	return (uint8_t)((shape ? SND__DRAWS_SHAPE : 0) | (fault ? SND__DRAWS_FAULT : 0));
}

/* A connect or submit time for instance in: the fixed value draws
 * nothing; any other kind is one uniform of the service stream (rng.h). */
static inline int64_t snd__duration(snd_inst *in, const scn_duration *d, int64_t fixed_ns)
{
	if (d->kind == DUR_FIXED)
		return fixed_ns;
	return snd_round_ns(snd_duration_inv(d, rng_uniform_open(&in->rs[RNG_SERVICE])));
}

/* ---- sender_arrivals.c ------------------------------------------------- */

/* The first arrival of instance in (any kind but trace). */
void snd__start_arrivals(snd_world *w, snd_inst *in);
/* The next trace row of group g, if any. */
void snd__schedule_trace(snd_world *w, size_t g);

/* ---- sender_session.c -------------------------------------------------- */

/* The client behaviours' state of instance in, or NULL when no sender of
 * the scenario needs it (sender.h, snd_iclient). */
static inline snd_iclient *snd__icl(const snd_world *w, const snd_inst *in)
{
	return w->icl ? &w->icl[in - w->inst] : NULL;
}

/* Start a connection for the worker's message (mailbox chosen now). */
void snd__connect(snd_world *w, snd_worker *wk);
void snd__quit_session(snd_world *w, snd_worker *wk);
/* A free worker (no session) takes the oldest unclaimed message. */
void snd__start_next(snd_world *w, snd_worker *wk);
/* After an acceptance or an honoured permanent refusal in a session. */
void snd__continue_session(snd_world *w, snd_worker *wk);
/* A new message is in the instance's outbox: give it to a worker. */
void snd__dispatch(snd_world *w, snd_inst *in);
/* The worker's message is finished and it has no session: its batch
 * pause if one is due, then the next message. */
void snd__after_message(snd_world *w, snd_worker *wk);
/* A connection failed (refused at AUTH, or its reply timed out) or
 * opened: dial_stop_after counts the failures in a row. */
void snd__dial_failed(snd_world *w, snd_worker *wk);
void snd__dial_succeeded(snd_world *w, snd_worker *wk);
/* dial_resume's timer (ctx: the instance). */
void snd__on_dial_resume(sim_engine *e, void *ctx, uint64_t arg);
/* abort_on matched (or the job had already stopped): the worker's message
 * is lost as aborted, and every other of the instance with it. */
void snd__abort(snd_world *w, snd_worker *wk, bool in_session);
/* The service's answer to a held submission (svc_hooks.held_answered). */
void snd__on_held_answered(void *ctx, svc_session *s, const svc_outcome *o);

/* The session a worker uses now: its own, or a spare while its own is
 * held for a copy it gave up on (data_timeout). */
static inline svc_session *snd__sess(const snd_world *w, snd_worker *wk)
{
	return wk->spare ? &w->spare_of[wk - w->workers]->sess : &wk->sess;
}
/* The worker's message is resolved (accepted: true, or lost): settles the
 * copies it left held (duplicates).  Before snd__accept or snd__lose. */
void snd__copies_resolve(snd_world *w, snd_worker *wk, bool accepted);

/* ---- sender_retry.c ---------------------------------------------------- */
/* The client stopped waiting for the end-of-data reply (data_timeout):
 * the session is closed on the client's side; the message is retried as
 * after a transient refusal, or given up.  Its last reply class stays. */
void snd__timed_out(snd_world *w, snd_worker *wk);
/* The service closed the worker's session for its lifetime before the
 * message was sent (the session is already quit): as a timeout. */
void snd__lifetime_closed(snd_world *w, snd_worker *wk);

/* A refusal the worker's message has just received (at AUTH or at end of
 * data); in_session: the worker is in an open session. */
void snd__refused(snd_world *w, snd_worker *wk, scn_reply_class rc,
		  const scn_reply *reply, bool in_session, int64_t retry_after_ns);

/* ---- sender_count.c ---------------------------------------------------- */

/* The end of row series_next (INT64_MAX when every row is filled). */
int64_t snd__series_end_of_next(const snd_world *w);

/* The focus (world.focus, a replay's one entity; sender.h): a message
 * generated at instance in, kept in its outbox or lost to a full one. */
void snd__focus_generated(snd_world *w, const snd_inst *in, bool kept);

/* The counts every message or attempt updates are inline here (one call
 * less on the hot path); the rest are in sender_count.c. */

/* A message is generated at instance in; false if the outbox was full
 * (then counted lost as outbox_overflow). */
static inline bool snd__count_generated(snd_world *w, snd_inst *in)
{
	const scn_sender *sd = &w->s->senders[in->group];
	snd_counts *home = in->home_mailbox >= 0 ? &w->mailboxes[in->home_mailbox] : NULL;
	w->total.generated++;
	snd__grp(w, in)->generated++;
	if (home)
		home->generated++;
	if (sd->outbox_limit > 0 && in->unresolved >= sd->outbox_limit) {
		snd_counts *c[3] = { &w->total, snd__grp(w, in), home };
		for (int i = 0; i < 3; i++) {
			if (c[i] == NULL)
				continue;
			c[i]->lost++;
			c[i]->lost_overflow++;
		}
		size_t row = snd__series_row(w, snd__now(w));
		if (row < w->n_series)
			w->series[row].lost++;
		if (w->focus)
			snd__focus_generated(w, in, false);
		return false;
	}
	in->unresolved++;
	w->backlog++;
	if (w->focus)
		snd__focus_generated(w, in, true);
	return true;
}

static inline void snd__count_conn_opened(snd_world *w, snd_worker *wk)
{
	w->total.conn_opened++;
	snd__grp(w, wk->inst)->conn_opened++;
	w->mailboxes[wk->mailbox].conn_opened++;
}

/* One more attempt for the worker's message (the three entities written
 * out: once per message). */
static inline void snd__count_attempt(snd_world *w, snd_worker *wk)
{
	snd_msg *m = wk->msg;
	m->attempts++;
	uint64_t retry = m->attempts > 1;
	snd_counts *g = snd__grp(w, wk->inst), *mb = &w->mailboxes[wk->mailbox];
	w->total.attempts++;
	g->attempts++;
	mb->attempts++;
	w->total.retries += retry;
	g->retries += retry;
	mb->retries += retry;
}

void snd__count_reject(snd_world *w, snd_worker *wk, scn_reply_class rc, const scn_reply *reply,
		       bool at_auth);

typedef enum snd__loss_kind { SND__LOSS_GAVE_UP, SND__LOSS_PERMANENT, SND__LOSS_BELIEVED_SENT } snd__loss_kind;

/* The worker's message is lost, or accepted (o: the service's outcome);
 * either way it leaves the instance and goes back to the pool. */
void snd__lose(snd_world *w, snd_worker *wk, snd__loss_kind k);
void snd__accept(snd_world *w, snd_worker *wk, const svc_outcome *o);
/* Message m of instance in is lost as aborted (abort_on), credited to
 * mailbox (-1: none); it leaves the instance and goes back to the pool. */
void snd__lose_aborted(snd_world *w, snd_inst *in, snd_msg *m, int mailbox);

#endif
