/* sender.c - the sender module's world: construction and release, the
 * message pool, the service's hooks, and the invariant checker of the
 * client side.  The module's other files are listed in sender_int.h; the
 * contract is in sender.h, every rule in docs/MODEL.md ("Senders: the
 * client side"). */
#include "sender_int.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define SLAB_MSGS 1024

_Static_assert(sizeof(st_min_run) == 64, "st_min_run: one cache line");
_Static_assert(sizeof(snd_worker) == 192, "snd_worker: three cache lines");
_Static_assert(offsetof(snd_worker, sess) == 64, "snd_worker: the node and the worker's fields in the first line");
_Static_assert(sizeof(snd_inst) == 320, "snd_inst: five cache lines");
_Static_assert(offsetof(snd_inst, rs) == 96, "snd_inst: the arrival node and the hot fields in the first 96 bytes");

struct snd_slab {
	struct snd_slab *next;
	snd_msg m[SLAB_MSGS];
};

/* ---- the message pool ------------------------------------------------ */

/* The free list is empty: one more slab, its messages on the free list;
 * returns the first of them (taken), or NULL when out of memory. */
snd_msg *snd__msg_grow(snd_world *w)
{
	snd_slab *sl = sim_malloc(&w->alloc, sizeof *sl);
	if (sl == NULL)
		return NULL;
	sl->next = w->slabs;
	w->slabs = sl;
	for (size_t i = SLAB_MSGS; i-- > 0;) {
		sl->m[i].next = w->free_msgs;
		w->free_msgs = &sl->m[i];
	}
	snd_msg *m = w->free_msgs;
	w->free_msgs = m->next;
	return m;
}

/* ---- failures ----------------------------------------------------------- */

void snd__fail_why(snd_world *w, int st, const char *fmt, ...)
{
	if (w->status == SIM_OK) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(w->why, sizeof w->why, fmt, ap);
		va_end(ap);
	}
	snd__fail(w, st);
}

/* ---- world ----------------------------------------------------------- */

svc_hooks snd_world_hooks(snd_world *w)
{
	return (svc_hooks){ .ctx = w, .held_answered = snd__on_held_answered };
}

/* Arrays whose elements start on cache lines: raw keeps the block. */
#define ALLOC_A(p, n, raw) ((raw) = sim_malloc(&w->alloc, (n) * sizeof *(p) + 64), \
	(raw) ? ((p) = (void *)(((uintptr_t)(raw) + 63) & ~(uintptr_t)63), memset((p), 0, (n) * sizeof *(p)), 0) : SIM_ENOMEM)
#define FREE_A(p, n, raw) (sim_free(&w->alloc, (raw), (n) * sizeof *(p) + 64), (raw) = NULL, (p) = NULL)
#define ALLOC_N(p, n) ((p) = sim_malloc(&w->alloc, (n) * sizeof *(p) + 1), (p) ? (memset((p), 0, (n) * sizeof *(p)), 0) : SIM_ENOMEM)
#define FREE_N(p, n) (sim_free(&w->alloc, (p), (n) * sizeof *(p) + 1), (p) = NULL)


/* Whether a sender uses a client behaviour with state of its own, or a
 * route caps a session's lifetime (which needs each session's start). */
static bool needs_client_state(const scenario *s)
{
	for (size_t g = 0; g < s->n_senders; g++)
		if (scn_sender_client_state(&s->senders[g]))
			return true;
	for (size_t m = 0; m < s->n_mailboxes; m++)
		if (s->mailboxes[m].limits.session_lifetime_ns > 0)
			return true;
	for (size_t r = 1; r < s->n_routes; r++)
		if (s->routes[r].limits.session_lifetime_ns > 0)
			return true;
	return false;
}

/* Every array of the world, zeroed; SIM_ENOMEM if one cannot be had (the
 * caller frees what was allocated). */
static int world_alloc(snd_world *w)
{
	const scenario *s = w->s;
	size_t ng = s->n_senders, nm = s->n_mailboxes;
	for (size_t g = 0; g < ng; g++) {
		w->n_inst += (size_t)s->senders[g].count;
		w->n_workers += (size_t)(s->senders[g].count * (s->senders[g].connections > 0 ? s->senders[g].connections : 1));
	}
	w->workers_mem = sim_malloc(&w->alloc, w->n_workers * sizeof *w->workers + 64);
	if (w->workers_mem == NULL)
		return SIM_ENOMEM;
	/* not zeroed here: world_build writes every worker and instance whole */
	w->workers = (snd_worker *)(((uintptr_t)w->workers_mem + 63) & ~(uintptr_t)63);
	w->inst_mem = sim_malloc(&w->alloc, w->n_inst * sizeof *w->inst + 64);
	if (w->inst_mem == NULL)
		return SIM_ENOMEM;
	w->inst = (snd_inst *)(((uintptr_t)w->inst_mem + 63) & ~(uintptr_t)63);
	if (
	    ALLOC_N(w->group_first, ng) || ALLOC_N(w->trace_pos, ng) || ALLOC_N(w->g_draws, ng) ||
	    ALLOC_N(w->mbx_open, nm) || ALLOC_N(w->mbx_shared, nm) ||
	    ALLOC_A(w->groups, ng, w->groups_mem) || ALLOC_A(w->mailboxes, nm, w->mailboxes_mem) ||
	    ALLOC_N(w->dly, ng) ||
	    ALLOC_N(w->g_acc_min, ng) || ALLOC_N(w->g_rel_min, ng) ||
	    ALLOC_A(w->m_acc_min, nm, w->m_acc_mem) || ALLOC_A(w->m_rel_min, nm, w->m_rel_mem))
		return SIM_ENOMEM;
	if (needs_client_state(s) && (ALLOC_N(w->wcl, w->n_workers) || ALLOC_N(w->icl, w->n_inst)))
		return SIM_ENOMEM;
	return SIM_OK;
}

/* The delay samples, the running per-minute counts (O(1) per entity,
 * stats.h) and the time series' rows. */
static int world_init_stats(snd_world *w)
{
	const scenario *s = w->s;
	size_t ng = s->n_senders, nm = s->n_mailboxes;
	for (size_t g = 0; g < ng; g++)
		st_dset_init(&w->dly[g], w->alloc);
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
		return SIM_ENOMEM;
	w->series_next_end = snd__series_end_of_next(w);
	return SIM_OK;
}

/* Every instance of every group: streams, workers, home mailbox; and which
 * mailboxes instances without a home can use. */
static void world_build(snd_world *w, int64_t replication)
{
	const scenario *s = w->s;
	size_t ii = 0, wi = 0;
	for (size_t g = 0; g < s->n_senders; g++) {
		const scn_sender *sd = &s->senders[g];
		int64_t conns = sd->connections > 0 ? sd->connections : 1;
		w->group_first[g] = ii;
		w->g_draws[g] = snd__draws(sd);
		for (int64_t k = 0; k < sd->count; k++, ii++) {
			snd_inst *in = &w->inst[ii];
			/* every field written, the rest zero (the array is not
			 * zeroed first: one pass over its memory, not two) */
			*in = (snd_inst){ .world = w, .index = k, .source = (int64_t)ii, .group = (int32_t)g,
					  .workers = &w->workers[wi] };
			rng_streams_init(in->rs, RNG_PURPOSE_COUNT, s->seed, replication, (int64_t)g, k);
			for (int64_t c = 0; c < conns; c++, wi++)
				w->workers[wi] = (snd_worker){ .inst = in };
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
}

/* The first arrival of every instance, then of every trace. */
static int world_start(snd_world *w)
{
	const scenario *s = w->s;
	for (size_t i = 0; i < w->n_inst; i++) {
		if (s->senders[w->inst[i].group].arrivals.kind != ARR_TRACE)
			snd__start_arrivals(w, &w->inst[i]);
		if (w->status)
			return w->status;
	}
	for (size_t g = 0; g < s->n_senders; g++)
		if (s->senders[g].arrivals.kind == ARR_TRACE)
			snd__schedule_trace(w, g);
	return w->status;
}

int snd_world_init(snd_world *w, const scenario *s, int64_t replication,
		   sim_engine *e, svc *v, const sim_alloc *a)
{
	memset(w, 0, sizeof *w);
	w->s = s;
	w->e = e;
	w->clock = sim_clock(e);
	w->v = v;
	w->alloc = *a;
	if (world_alloc(w) != SIM_OK || world_init_stats(w) != SIM_OK)
		goto fail;
	w->replication = replication;
	w->rel_as_acc = true;
	w->total_as_group = s->n_senders == 1;
	for (size_t i = 0; i < s->n_mailboxes; i++) {
		w->auth_faults |= s->mailboxes[i].limits.auth_fault_p > 0;
		w->data_faults |= s->mailboxes[i].limits.data_fault_p > 0;
	}
	for (size_t r = 1; r < s->n_routes; r++) {
		w->auth_faults |= s->routes[r].limits.auth_fault_p > 0;
		w->data_faults |= s->routes[r].limits.data_fault_p > 0;
	}
	world_build(w, replication);
	if (world_start(w) != SIM_OK)
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
	for (snd_spare *sp = w->spare_all, *next; sp; sp = next) {
		next = sp->all;
		sim_free(&w->alloc, sp, sizeof *sp);
	}
	for (snd_copies *c = w->copies_all, *next; c; c = next) {
		next = c->all;
		sim_free(&w->alloc, c, sizeof *c);
	}
	if (w->spare_of)
		sim_free(&w->alloc, w->spare_of, w->n_workers * sizeof *w->spare_of);
	w->spare_all = w->spare_free = NULL;
	w->copies_all = w->copies_free = NULL;
	w->spare_of = NULL;
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
		if (w->mailboxes)
			dh_free(&w->mailboxes[m].dly, &w->alloc);
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
	if (w->g_draws)
		FREE_N(w->g_draws, ng);
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
	if (w->wcl)
		FREE_N(w->wcl, w->n_workers);
	if (w->icl)
		FREE_N(w->icl, w->n_inst);
}

/* ---- the invariant checker --------------------------------------------- */

/* The counters credited to the total and to the message's group together:
 * the total is their sum over the groups. */
#define SND_GROUP_SUMS(X) X(generated) X(conn_opened) X(attempts) X(accepted) \
	X(released) X(rcpt_accepted) X(rcpt_delivered) X(rcpt_external) X(lost) X(lost_gave_up) \
	X(lost_overflow) X(lost_permanent) X(awaiting_release) X(retries) \
	X(rejected) X(conn_refused) X(lost_no_reply) X(lost_aborted) X(aborted_tried) X(believed_sent) \
	X(auth_timeouts) X(dial_stops) X(lifetime_closes)
/* ... and those credited to the mailbox of the attempt as well (a loss by
 * overflow is credited to a home mailbox only, if any). */
#define SND_MAILBOX_SUMS(X) X(conn_opened) X(attempts) X(accepted) X(released) \
	X(rcpt_accepted) X(rcpt_delivered) X(rcpt_external) X(lost_gave_up) X(lost_permanent) \
	X(awaiting_release) X(retries) X(rejected) X(conn_refused) X(lost_no_reply) X(aborted_tried) \
	X(believed_sent) X(auth_timeouts) X(dial_stops) X(lifetime_closes)

/* What every entity's counters satisfy on their own. */
static bool counts_ok(const snd_counts *c)
{
	uint64_t by_lost = 0, by_rej = 0;
	for (int rc = 0; rc < RC_COUNT; rc++) {
		by_lost += c->lost_by[rc];
		by_rej += c->rejected_by[rc];
	}
	return c->accepted == c->released + c->awaiting_release &&
	       c->lost == c->lost_gave_up + c->lost_overflow + c->lost_permanent + c->lost_aborted +
			  c->believed_sent &&
	       by_lost + c->lost_no_reply == c->lost_gave_up + c->lost_permanent + c->believed_sent &&
	       c->aborted_tried <= c->lost_aborted &&
	       by_rej == c->rejected && c->conn_refused <= c->rejected &&
	       c->retries <= c->attempts;
}

/* The total is the sum of the groups, and (for what a mailbox is credited
 * with at an attempt) of the mailboxes. */
static bool sums_ok(const snd_world *w)
{
	snd_counts g = { 0 }, m = { 0 };
	for (size_t i = 0; i < w->s->n_senders; i++) {
		if (!counts_ok(&w->groups[i]))
			return false;
#define ADD(f) g.f += w->groups[i].f;
		SND_GROUP_SUMS(ADD)
#undef ADD
	}
	for (size_t i = 0; i < w->s->n_mailboxes; i++) {
		if (!counts_ok(&w->mailboxes[i]))
			return false;
#define ADD(f) m.f += w->mailboxes[i].f;
		SND_MAILBOX_SUMS(ADD)
#undef ADD
	}
#define SAME(f) if (g.f != w->total.f) return false;
	SND_GROUP_SUMS(SAME)
#undef SAME
#define SAME(f) if (m.f != w->total.f) return false;
	SND_MAILBOX_SUMS(SAME)
#undef SAME
	return counts_ok(&w->total);
}

/* What the checker of one instance adds up for the world. */
typedef struct snd_tally {
	int64_t unresolved;   /* sum of inst.unresolved */
	uint64_t tried;       /* held messages with at least one attempt */
	int64_t in_session;   /* workers submitting or idling */
} snd_tally;

/* A worker's state agrees with what it holds (MODEL.md "Outbox and
 * workers", "Failures, back-off and giving up"). */
static bool worker_ok(const snd_worker *wk, const snd_wclient *wc, const scn_sender *sd, bool unclaimed,
		      int64_t slot, snd_tally *t)
{
	const snd_msg *m = wk->msg;
	bool holds = wk->state == SW_CONNECTING || wk->state == SW_SUBMITTING ||
		     wk->state == SW_BACKOFF || wk->state == SW_DIAL_WAIT;
	if (wk->state > SW_DIAL_WAIT || (m != NULL) != holds)
		return false;
	if ((wk->state == SW_PAUSED || wk->state == SW_DIAL_WAIT) && wc == NULL)
		return false;
	/* a free or idle worker would have taken the oldest unclaimed message
	 * (a paused one takes it when it wakes) */
	if (unclaimed && slot < sd->connections && (wk->state == SW_FREE || wk->state == SW_IDLE))
		return false;
	if (wk->state == SW_SUBMITTING || wk->state == SW_IDLE ||
	    (wk->state == SW_PAUSED && wc->pause_in_session))
		t->in_session++;
	if (wk->state == SW_IDLE && wk->sent >= sd->messages_per_session)
		return false;
	if (m == NULL)
		return true;
	int64_t max = sd->retry.max_attempts;
	if (m->attempts > 0)
		t->tried++;
	if (max > 0 && (int64_t)m->attempts > max)
		return false;
	/* in back-off only after a refusal, and only with attempts left */
	if (wk->state == SW_BACKOFF && (m->attempts == 0 || (max > 0 && (int64_t)m->attempts >= max)))
		return false;
	return true;
}

/* inst.unresolved = its unclaimed messages (never attempted yet: a worker
 * keeps its message through back-offs) + the messages its workers hold. */
static bool inst_ok(const snd_world *w, const snd_inst *in, snd_tally *t)
{
	const scn_sender *sd = &w->s->senders[in->group];
	int64_t n = 0;
	const snd_msg *last = NULL;
	for (const snd_msg *m = in->head; m; m = m->next) {
		if (m->attempts != 0 || n > in->unresolved)
			return false;
		last = m;
		n++;
	}
	if (last != in->tail)
		return false;
	int64_t conns = sd->connections > 0 ? sd->connections : 1;
	const snd_iclient *ic = w->icl ? &w->icl[in - w->inst] : NULL;
	/* messages wait in the FIFO with free workers while the instance is
	 * paused (the pause's end dispatches them); an aborted job has none */
	bool waiting = in->head != NULL && !(ic && ic->pause_until_ns > snd__now(w));
	if (ic && ic->aborted && in->head != NULL)
		return false;
	for (int64_t i = 0; i < conns; i++) {
		const snd_worker *wk = &in->workers[i];
		const snd_wclient *wc = w->wcl ? &w->wcl[wk - w->workers] : NULL;
		if (wk->inst != in || !worker_ok(wk, wc, sd, waiting, i, t))
			return false;
		n += wk->msg != NULL;
	}
	if (n != in->unresolved || (sd->outbox_limit > 0 && n > sd->outbox_limit))
		return false;
	t->unresolved += n;
	return true;
}

bool snd_world_check(const snd_world *w)
{
	const scenario *s = w->s;
	snd_tally t = { 0, 0, 0 };
	int64_t home_pending = 0;
	for (size_t g = 0; g < s->n_senders; g++) {
		int64_t before = t.unresolved;
		for (size_t i = w->group_first[g]; i < w->group_first[g] + (size_t)s->senders[g].count; i++) {
			const snd_inst *in = &w->inst[i];
			if (!inst_ok(w, in, &t))
				return false;
			if (in->home_mailbox >= 0 && !w->mbx_shared[in->home_mailbox])
				home_pending += in->unresolved;
		}
		/* generated = accepted + lost + pending, per group */
		const snd_counts *c = &w->groups[g];
		if (c->generated != c->accepted + c->lost + (uint64_t)(t.unresolved - before))
			return false;
	}
	const snd_counts *c = &w->total;
	if (t.unresolved != w->backlog ||
	    c->generated != c->accepted + c->lost + (uint64_t)w->backlog)
		return false;
	/* Every message that has had an attempt was accepted, given up, lost
	 * permanently, or is still held. */
	if (c->attempts - c->retries != c->accepted + c->lost_gave_up + c->lost_permanent + c->believed_sent +
					  c->aborted_tried + t.tried)
		return false;
	/* The mailboxes no round_robin or least_loaded pool can use see only
	 * their home instances' messages: the identity holds over them too. */
	uint64_t gen = 0, done = 0;
	int64_t open = 0;
	for (size_t m = 0; m < s->n_mailboxes; m++) {
		if (w->mbx_open[m] < 0)
			return false;
		open += w->mbx_open[m];
		if (!w->mbx_shared[m]) {
			gen += w->mailboxes[m].generated;
			done += w->mailboxes[m].accepted + w->mailboxes[m].lost;
		}
	}
	if (gen != done + (uint64_t)home_pending || open != t.in_session)
		return false;
	return w->series_next <= w->n_series && sums_ok(w);
}
