/* sender_count.c - the sender's message accounting: the counters of the
 * total, each group and each mailbox (snd_counts), the delay samples, the
 * per-minute runs and the time series.  The identity they keep,
 * generated = accepted + lost + pending, is checked by snd_world_check
 * (sender.c).  See docs/MODEL.md "Senders: the client side", "The run". */
#include "sender_int.h"

#include "check.h"
#include "presets.h"

#include <stdint.h>

/* ---- the focus: one entity's series (a replay; sender.h, snd_focus) -------- */

/* Whose messages: a group's own, or those of the instances whose home
 * mailbox it is (generation, backlog and outbox overflow). */
static bool focus_owns(const snd_focus *f, const snd_inst *in)
{
	return f->group >= 0 ? in->group == f->group : in->home_mailbox == f->mailbox;
}

/* What happened at an attempt: a group's messages, or on the mailbox. */
static bool focus_sees(const snd_focus *f, const snd_worker *wk)
{
	return f->group >= 0 ? wk->inst->group == f->group : wk->mailbox == f->mailbox;
}

static res_series_row *focus_row(const snd_world *w, int64_t t)
{
	size_t row = snd__series_row(w, t);
	return row < w->focus->n_series ? &w->focus->series[row] : NULL;
}

void snd__focus_generated(snd_world *w, const snd_inst *in, bool kept)
{
	snd_focus *f = w->focus;
	if (!focus_owns(f, in))
		return;
	if (kept) {
		f->backlog++;
		return;
	}
	res_series_row *r = focus_row(w, snd__now(w));
	if (r)
		r->lost++;
}

/* The state at a step's end: backlog, sessions, throttled mailboxes.  A
 * group's sessions are its workers in one (submitting or idle); its
 * mailboxes those it may use (its mailbox, or its pool).  O(the group's
 * workers + its mailboxes) per step: a replay's cost, never a run's. */
static void focus_fill(snd_world *w, res_series_row *r, int64_t end)
{
	const snd_focus *f = w->focus;
	svc_mailbox_state ms;
	r->outbox_backlog = (uint32_t)f->backlog;
	if (f->mailbox >= 0) {
		if (svc_mailbox_now(w->v, f->mailbox, end, &ms) == SIM_OK) {
			r->open_sessions = (uint32_t)ms.sessions;
			r->throttled_mailboxes = ms.throttled_class >= 0;
		}
		return;
	}
	const scn_sender *sd = &w->s->senders[f->group];
	int64_t conns = sd->connections > 0 ? sd->connections : 1;
	uint32_t open = 0, thr = 0;
	for (size_t i = w->group_first[f->group]; i < w->group_first[f->group] + (size_t)sd->count; i++)
		for (int64_t k = 0; k < conns; k++) {
			uint8_t st = w->inst[i].workers[k].state;
			open += st == SW_SUBMITTING || st == SW_IDLE;
		}
	size_t first = sd->pool >= 0 ? w->s->pools[sd->pool].first : (size_t)sd->mailbox;
	size_t n = sd->pool >= 0 ? w->s->pools[sd->pool].count : 1;
	for (size_t m = first; m < first + n; m++)
		if (svc_mailbox_now(w->v, (int)m, end, &ms) == SIM_OK)
			thr += ms.throttled_class >= 0;
	r->open_sessions = open;
	r->throttled_mailboxes = thr;
}

/* ---- the time series ----------------------------------------------------- */

int64_t snd__series_end_of_next(const snd_world *w)
{
	if (w->series_next >= w->n_series)
		return INT64_MAX;
	int64_t end = ((int64_t)w->series_next + 1) * w->s->series_step_ns;
	return end > w->s->duration_ns ? w->s->duration_ns : end;
}

void snd_series_advance(snd_world *w, int64_t t)
{
	while (w->series_next < w->n_series) {
		int64_t end = snd__series_end_of_next(w);
		if (end > t)
			break;
		res_series_row *r = &w->series[w->series_next];
		r->outbox_backlog = (uint32_t)w->backlog;
		r->open_sessions = (uint32_t)svc_open_sessions(w->v);
		r->throttled_mailboxes = (uint32_t)svc_throttled_mailboxes(w->v, end);
		if (w->focus && w->series_next < w->focus->n_series)
			focus_fill(w, &w->focus->series[w->series_next], end);
		w->series_next++;
	}
	w->series_next_end = snd__series_end_of_next(w);
}

/* ---- sessions and attempts ----------------------------------------------- */

/* A refusal: counted per entity and time-series row, and its reply noted
 * as given (the 535s carry none from the route: the catalog's). */
void snd__count_reject(snd_world *w, snd_worker *wk, scn_reply_class rc, const scn_reply *reply,
		       bool at_auth)
{
	if (w->rec)
		res_rep_note_reply(w->rec, (int)rc, reply ? reply : preset_reply(rc));
	snd_counts *c[3] = { &w->total, snd__grp(w, wk->inst), &w->mailboxes[wk->mailbox] };
	for (int i = 0; i < 3; i++) {
		c[i]->rejected++;
		c[i]->rejected_by[rc]++;
		if (at_auth)
			c[i]->conn_refused++;
	}
	size_t row = snd__series_row(w, snd__now(w));
	if (ALWAYS(row < w->n_series)) /* events run before the end, in a row */
		w->series[row].rejected_by[rc]++;
	if (w->focus && focus_sees(w->focus, wk) && row < w->focus->n_series)
		w->focus->series[row].rejected_by[rc]++;
}


/* The message leaves the instance (accepted or lost). */
static void resolve(snd_world *w, snd_inst *in, snd_msg *m)
{
	in->unresolved--;
	w->backlog--;
	if (w->focus && focus_owns(w->focus, in))
		w->focus->backlog--;
	snd__msg_free(w, m);
}

void snd__lose(snd_world *w, snd_worker *wk, snd__loss_kind k)
{
	snd_msg *m = wk->msg;
	snd_counts *c[3] = { &w->total, snd__grp(w, wk->inst), &w->mailboxes[wk->mailbox] };
	for (int i = 0; i < 3; i++) {
		c[i]->lost++;
		if (m->last_rc == RC_OK)  /* never refused: it timed out (data_timeout) */
			c[i]->lost_no_reply++;
		else
			c[i]->lost_by[m->last_rc]++;
		if (k == SND__LOSS_GAVE_UP)
			c[i]->lost_gave_up++;
		else if (k == SND__LOSS_BELIEVED_SENT)
			c[i]->believed_sent++;
		else
			c[i]->lost_permanent++;
	}
	size_t row = snd__series_row(w, snd__now(w));
	if (ALWAYS(row < w->n_series)) /* a loss runs before the end, in a row */
		w->series[row].lost++;
	if (w->focus && focus_sees(w->focus, wk) && row < w->focus->n_series)
		w->focus->series[row].lost++;
	wk->msg = NULL;
	resolve(w, wk->inst, m);
}

void snd__lose_aborted(snd_world *w, snd_inst *in, snd_msg *m, int mailbox)
{
	snd_counts *c[3] = { &w->total, snd__grp(w, in), mailbox >= 0 ? &w->mailboxes[mailbox] : NULL };
	for (int i = 0; i < 3; i++) {
		if (c[i] == NULL)
			continue;
		c[i]->lost++;
		c[i]->lost_aborted++;
		if (m->attempts > 0)
			c[i]->aborted_tried++;
	}
	size_t row = snd__series_row(w, snd__now(w));
	if (ALWAYS(row < w->n_series))
		w->series[row].lost++;
	resolve(w, in, m);
}

const st_min_run *snd_min_run(const snd_world *w, snd_level level, size_t i, bool released)
{
	released = released && !w->rel_as_acc;
	if (level == SND_LEVEL_TOTAL && w->total_as_group) {
		level = SND_LEVEL_GROUP;
		i = 0;
	}
	switch (level) {
	case SND_LEVEL_TOTAL:
		return released ? &w->rel_min : &w->acc_min;
	case SND_LEVEL_GROUP:
		return released ? &w->g_rel_min[i] : &w->g_acc_min[i];
	case SND_LEVEL_MAILBOX:
		break;
	}
	return released ? &w->m_rel_min[i] : &w->m_acc_min[i];
}

/* A run that has only counted events at their instant (t = now) has
 * carried nothing to a later minute: it has no ring to share. */
static void copy_run(st_min_run *to, const st_min_run *from)
{
	assert(from->fut == NULL && to->fut == NULL);
	*to = *from;
}

/* The first acceptance not released at its instant: until now every
 * release run equalled its acceptance run (the same adds); from now on
 * they are counted apart.  O(groups + mailboxes), once a run. */
static void rel_split(snd_world *w)
{
	copy_run(&w->rel_min, &w->acc_min);
	for (size_t g = 0; g < w->s->n_senders; g++)
		copy_run(&w->g_rel_min[g], &w->g_acc_min[g]);
	for (size_t m = 0; m < w->s->n_mailboxes; m++)
		copy_run(&w->m_rel_min[m], &w->m_acc_min[m]);
	w->rel_as_acc = false;
}

/* One entity's counts of an acceptance (three entities each time:
 * written out, not a loop over an array of them). */
static inline void count_accepted(snd_counts *c, const snd_msg *m, int64_t delivered, bool released,
				  int64_t release_ns)
{
	c->accepted++;
	c->rcpt_accepted += (uint64_t)m->recipients;
	c->rcpt_delivered += (uint64_t)delivered;
	c->rcpt_external += (uint64_t)m->external;
	if (released) {
		c->released++;
		if (release_ns > c->last_release_ns)
			c->last_release_ns = release_ns;
	} else {
		c->awaiting_release++;
	}
}

void snd__accept(snd_world *w, snd_worker *wk, const svc_outcome *o)
{
	snd_msg *m = wk->msg;
	snd_inst *in = wk->inst;
	const scn_sender *sd = &w->s->senders[in->group];
	int64_t now = snd__now(w);
	int64_t sub = now - m->generated_ns;
	int64_t del = o->release_ns - m->generated_ns;
	bool released = o->release_ns < w->s->duration_ns;
	int64_t delivered = sd->group_members > 0 ? m->recipients * sd->group_members : m->recipients;
	snd_counts *mc = &w->mailboxes[wk->mailbox];
	count_accepted(&w->total, m, delivered, released, o->release_ns);
	count_accepted(snd__grp(w, in), m, delivered, released, o->release_ns);
	count_accepted(mc, m, delivered, released, o->release_ns);
	/* A message adds at most 2^40 people (scenario.h), so the total's
	 * uint64 count is stopped at 2^63, long before it could wrap. */
	if (w->total.rcpt_delivered > (uint64_t)INT64_MAX)
		snd__fail_why(w, SIM_ERANGE, "senders.%s.message.recipients: more than 2^63 recipients delivered in "
			      "one replication: the counts would overflow", sd->name);
	mc->sub_sum_s += (double)sub / 1e9;
	if (sub > mc->sub_max_ns)
		mc->sub_max_ns = sub;
	int st = st_dset_add(&w->dly[in->group], sub, released, del);
	const sim_alloc *a = &w->alloc;
	if (mc->dly.n_buckets == 0)
		dh_init(&mc->dly, w->s->duration_ns);
	if (st == SIM_OK)
		st = dh_add(&mc->dly, a, sub, released, del);
	bool at_once = released && o->release_ns == now;
	if (!at_once && w->rel_as_acc)
		rel_split(w);
	/* st_min_run_add: ERANGE (outside the run) is not an error here.
	 * now is in [0, duration): always counted, nothing allocated. */
	if (!w->total_as_group)
		(void)st_min_run_add(&w->acc_min, a, now, now);
	(void)st_min_run_add(&w->g_acc_min[in->group], a, now, now);
	(void)st_min_run_add(&w->m_acc_min[wk->mailbox], a, now, now);
	/* The handler's first step (snd__series_at) made now's row the
	 * next to fill: no division. */
	size_t row = w->series_next;
	assert(row == snd__series_row(w, now));
	if (ALWAYS(row < w->n_series)) /* an acceptance runs before the end */
		w->series[row].accepted++;
	bool focused = w->focus && focus_sees(w->focus, wk);
	res_series_row *frow = focused ? focus_row(w, now) : NULL;
	if (frow)
		frow->accepted++;
	if (released) {
		mc->del_sum_s += (double)del / 1e9;
		if (del > mc->del_max_ns)
			mc->del_max_ns = del;
		int64_t rt = o->release_ns;
		if (!w->rel_as_acc &&
		    ((!w->total_as_group && st_min_run_add(&w->rel_min, a, now, rt) == SIM_ENOMEM) ||
		     st_min_run_add(&w->g_rel_min[in->group], a, now, rt) == SIM_ENOMEM ||
		     st_min_run_add(&w->m_rel_min[wk->mailbox], a, now, rt) == SIM_ENOMEM))
			st = SIM_ENOMEM;
		if (!at_once)
			row = snd__series_row(w, rt);
		if (row < w->n_series)
			w->series[row].released++;
		if (focused && (frow = focus_row(w, rt)) != NULL)
			frow->released++;
	}
	if (st != SIM_OK)
		snd__fail(w, st);
	wk->msg = NULL;
	resolve(w, in, m);
}
