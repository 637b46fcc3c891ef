/* load_client.c - the client's rules for `throttlesim load`, on the loop's
 * model clock, with real SMTP connections where the simulation calls the
 * service: arrivals into each instance's outbox, workers that connect,
 * authenticate at the end of connect_time, submit (the final dot at the
 * end of submit_time + size / bandwidth), continue, idle, quit, and after
 * a refusal lose the message, or back off and reconnect, or give up.
 *
 * These are the rules of docs/MODEL.md "Senders: the client side", in the
 * order models/sender_session.c and models/sender_retry.c apply them; what
 * is drawn is drawn by the model's own functions (sender.h) from the same
 * streams, so the messages, their shapes and the back-offs are those of
 * the simulated replication.  What differs is only what the service says
 * and when: here the server answers, over sockets, in wall time scaled.
 *
 * A reply is put in its class by the scenario's own wording: the line the
 * route's limits give each class (models/replies.h), matched exactly, then
 * by code and enhanced code, then by code; a reply matching none is
 * counted as unrecognised and filed under the transient or permanent
 * class of its stage (auth_temporary / bad_credentials at AUTH,
 * data_temporary / invalid_recipients after).
 */
#include "load_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "presets.h"
#include "replies.h"

enum { W_NONE = 0, W_BACKOFF, W_IDLE, W_DT_XFER, W_DT_REPLY };

static void connect_worker(ld_worker *wk);
static void begin_submit(ld_worker *wk);
static void start_next(ld_worker *wk);
static void retry_later(ld_worker *wk);
static void on_wait(void *arg);

/* ---- small helpers ------------------------------------------------------------ */

static ld *gen(const ld_worker *wk)
{
	return wk->inst->g;
}

static const scn_sender *sender_of(const ld_worker *wk)
{
	return &gen(wk)->s->senders[wk->inst->in.group];
}

static int64_t now_of(const ld *g)
{
	return clk_now(&g->clock);
}

static void fail(ld *g, int st, const char *why)
{
	if (g->status == SIM_OK) {
		g->status = st;
		snprintf(g->why, sizeof g->why, "%s", why);
	}
	ev_stop(g->loop);
}

static int64_t add_sat(int64_t a, int64_t b)
{
	return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* A model timer at t; nothing at or after the run's end (it could not
 * run), as the simulation schedules nothing there. */
static void sched(ld *g, clk_timer *h, int64_t t, clk_cb cb, void *arg)
{
	clk_cancel(&g->clock, h);
	if (g->stopping || t >= g->s->duration_ns)
		return;
	int64_t now = now_of(g);
	if (t < now)
		t = now;
	if (clk_schedule_at(&g->clock, t, cb, arg, h) != SIM_OK)
		fail(g, SIM_ENOMEM, "out of memory for a timer");
}

/* A connect or submit time: the fixed value draws nothing, any other kind
 * one uniform of the service stream (as the world's snd__duration). */
static int64_t duration(snd_inst *in, const scn_duration *d, int64_t fixed_ns)
{
	if (d->kind == DUR_FIXED)
		return fixed_ns;
	return snd_round_ns(snd_duration_inv(d, rng_uniform_open(&in->rs[RNG_SERVICE])));
}

static const scn_limits *limits_of(const ld_worker *wk)
{
	return scn_route_limits(gen(wk)->s, sender_of(wk)->route, wk->mailbox);
}

/* The reply the scenario gives class c on the worker's route. */
static const scn_reply *reply_of(const ld_worker *wk, int c)
{
	const scn_reply *r = &limits_of(wk)->reply[c];
	if (r->code == 0 || r->text[0] == 0)
		r = preset_reply((scn_reply_class)c);
	return r;
}

/* The enhanced code of a reply line ("4.3.2"), or "" */
static void enhanced_of(const char *line, char out[16])
{
	out[0] = 0;
	const char *p = strchr(line, ' ');
	if (!p)
		return;
	p++;
	size_t n = strspn(p, "0123456789.");
	if (n == 0 || n >= 16 || (p[n] != ' ' && p[n] != 0))
		return;
	memcpy(out, p, n);
	out[n] = 0;
}

static scn_reply_class classify(ld_worker *wk, int code, bool at_auth)
{
	ld *g = gen(wk);
	const char *line = wk->conn.line;
	char enh[16], e2[16];
	enhanced_of(line, enh);
	int by_enh = -1, by_code = -1;
	for (int c = 1; c < RC_COUNT; c++) {
		const scn_reply *r = reply_of(wk, c);
		if (!r || r->code != code)
			continue;
		if (strcmp(r->text, line) == 0)
			return (scn_reply_class)c;
		enhanced_of(r->text, e2);
		if (by_enh < 0 && enh[0] && strcmp(enh, e2) == 0)
			by_enh = c;
		if (by_code < 0)
			by_code = c;
	}
	if (by_enh >= 0)
		return (scn_reply_class)by_enh;
	if (by_code >= 0)
		return (scn_reply_class)by_code;
	g->unrecognised++;
	if (code / 100 == 4)
		return at_auth ? RC_AUTH_TEMPORARY : RC_DATA_TEMPORARY;
	return at_auth ? RC_BAD_CREDENTIALS : RC_INVALID_RECIPIENTS;
}

/* ---- counting, as models/sender_count.c ------------------------------------------ */

static int counts3(ld_worker *wk, snd_counts *c[3])
{
	ld *g = gen(wk);
	c[0] = &g->total;
	c[1] = &g->groups[wk->inst->in.group];
	c[2] = &g->mailboxes[wk->mailbox];
	return 3;
}

static res_series_row *row_now(ld *g)
{
	int64_t step = g->s->series_step_ns > 0 ? g->s->series_step_ns : 60 * SCN_NS_PER_S;
	size_t k = (size_t)(now_of(g) / step);
	return k < g->n_series ? &g->series[k] : NULL;
}

static void count_attempt(ld_worker *wk)
{
	snd_msg *m = &wk->msg->m;
	m->attempts++;
	snd_counts *c[3];
	for (int i = 0, n = counts3(wk, c); i < n; i++) {
		c[i]->attempts++;
		if (m->attempts > 1)
			c[i]->retries++;
	}
}

static void count_reject(ld_worker *wk, scn_reply_class rc, bool at_auth)
{
	ld *g = gen(wk);
	if (!g->given[rc])
		g->given[rc] = reply_of(wk, rc);
	snd_counts *c[3];
	for (int i = 0, n = counts3(wk, c); i < n; i++) {
		c[i]->rejected++;
		c[i]->rejected_by[rc]++;
		if (at_auth)
			c[i]->conn_refused++;
	}
	res_series_row *r = row_now(g);
	if (r)
		r->rejected_by[rc]++;
}

static void resolve(ld_worker *wk)
{
	wk->inst->in.unresolved--;
	free(wk->msg);
	wk->msg = NULL;
}

typedef enum { LOSS_GAVE_UP, LOSS_PERMANENT } loss_kind;

static void lose(ld_worker *wk, loss_kind k)
{
	snd_msg *m = &wk->msg->m;
	snd_counts *c[3];
	for (int i = 0, n = counts3(wk, c); i < n; i++) {
		c[i]->lost++;
		if (m->last_rc == RC_OK)
			c[i]->lost_no_reply++;
		else
			c[i]->lost_by[m->last_rc]++;
		if (k == LOSS_GAVE_UP)
			c[i]->lost_gave_up++;
		else
			c[i]->lost_permanent++;
	}
	resolve(wk);
}

/* Accepted: the client's view.  The release for delivery (the message
 * rate's delay mode) is the server's to know; the client counts the
 * message delivered when accepted (load.c leaves the delivery figures
 * out). */
static void accept_msg(ld_worker *wk)
{
	ld *g = gen(wk);
	snd_msg *m = &wk->msg->m;
	const scn_sender *sd = sender_of(wk);
	int64_t now = now_of(g);
	int64_t sub = now - m->generated_ns;
	int64_t delivered = sd->group_members > 0 ? m->recipients * sd->group_members : m->recipients;
	snd_counts *c[3];
	for (int i = 0, n = counts3(wk, c); i < n; i++) {
		c[i]->accepted++;
		c[i]->released++;
		c[i]->rcpt_accepted += (uint64_t)m->recipients;
		c[i]->rcpt_delivered += (uint64_t)delivered;
		c[i]->rcpt_external += (uint64_t)m->external;
		c[i]->sub_sum_s += (double)sub / 1e9;
		if (sub > c[i]->sub_max_ns)
			c[i]->sub_max_ns = sub;
		if (now > c[i]->last_release_ns)
			c[i]->last_release_ns = now;
	}
	if (st_dset_add(&g->dly[wk->inst->in.group], sub, true, sub) != SIM_OK ||
	    st_dset_add(&g->dly_total, sub, true, sub) != SIM_OK)
		fail(g, SIM_ENOMEM, "out of memory for the delays");
	res_series_row *r = row_now(g);
	if (r)
		r->accepted++;
	resolve(wk);
}

/* ---- the worker -------------------------------------------------------------------- */

static int choose_mailbox(ld *g, ld_inst *li)
{
	snd_inst *in = &li->in;
	const scn_sender *sd = &g->s->senders[in->group];
	if (sd->pool < 0)
		return sd->mailbox;
	const scn_pool *p = &g->s->pools[sd->pool];
	size_t n = p->count;
	switch (sd->assign) {
	case ASSIGN_PER_INSTANCE:
		return (int)(p->first + (size_t)in->index % n);
	case ASSIGN_ROUND_ROBIN:
		return (int)(p->first + (size_t)(((uint64_t)in->index + in->rr++) % n));
	case ASSIGN_LEAST_LOADED: {
		size_t best = 0;
		for (size_t i = 1; i < n; i++)
			if (g->mbx_open[p->first + i] < g->mbx_open[p->first + best])
				best = i;
		return (int)(p->first + best);
	}
	}
	return (int)p->first;
}

static void quit_session(ld_worker *wk)
{
	ld *g = gen(wk);
	clk_cancel(&g->clock, &wk->t_xfer);
	clk_cancel(&g->clock, &wk->t_wait);
	ld_conn_quit(wk);
	if (wk->session)
		g->mbx_open[wk->mailbox]--;
	wk->session = false;
	wk->state = SW_FREE;
}

static ld_msg *take_head(ld_inst *li)
{
	snd_msg *m = li->in.head;
	if (m) {
		li->in.head = m->next;
		if (li->in.head == NULL)
			li->in.tail = NULL;
		m->next = NULL;
	}
	return (ld_msg *)m;
}

static void start_next(ld_worker *wk)
{
	wk->state = SW_FREE;
	ld_msg *m = take_head(wk->inst);
	if (m == NULL)
		return;
	wk->msg = m;
	connect_worker(wk);
}

static void continue_session(ld_worker *wk)
{
	ld *g = gen(wk);
	const scn_sender *sd = sender_of(wk);
	if (wk->sent < sd->messages_per_session) {
		ld_msg *m = take_head(wk->inst);
		if (m) {
			wk->msg = m;
			begin_submit(wk);
			return;
		}
		if (sd->idle_timeout_ns > 0) {
			wk->state = SW_IDLE;
			wk->wait_kind = W_IDLE;
			sched(g, &wk->t_wait, add_sat(now_of(g), sd->idle_timeout_ns), on_wait, wk);
			return;
		}
	}
	quit_session(wk);
	start_next(wk);
}

static void give_up(ld_worker *wk)
{
	lose(wk, LOSS_GAVE_UP);
	wk->state = SW_FREE;
	start_next(wk);
}

/* A refusal of the worker's message (sender_retry.c's snd__refused). */
static void refused(ld_worker *wk, scn_reply_class rc, int code, bool in_session)
{
	const scn_retry *r = &sender_of(wk)->retry;
	snd_msg *m = &wk->msg->m;
	bool permanent = code / 100 != 4;
	const scn_reply *rep = reply_of(wk, rc);
	bool drops = rep ? rep->drops_connection : rpl_info[rc].drops_connection;
	m->last_rc = (uint8_t)rc;
	if (permanent && r->honors_permanent) {
		lose(wk, LOSS_PERMANENT);
		if (in_session && !drops) {
			wk->sent++;
			continue_session(wk);
			return;
		}
		if (in_session)
			quit_session(wk);
		wk->state = SW_FREE;
		start_next(wk);
		return;
	}
	if (in_session)
		quit_session(wk);
	else
		ld_conn_quit(wk);
	retry_later(wk);
}

/* Out of session after a failed attempt: give up or back off. */
static void retry_later(ld_worker *wk)
{
	ld *g = gen(wk);
	snd_inst *in = &wk->inst->in;
	const scn_retry *r = &sender_of(wk)->retry;
	snd_msg *m = &wk->msg->m;
	int64_t now = now_of(g);
	if (r->max_attempts > 0 && (int64_t)m->attempts >= r->max_attempts) {
		give_up(wk);
		return;
	}
	int64_t d = snd_backoff_ns(r, m, &in->rs[RNG_BACKOFF]);
	if (r->max_age_ns > 0 && d > r->max_age_ns - (now - m->generated_ns)) {
		give_up(wk);
		return;
	}
	wk->state = SW_BACKOFF;
	wk->wait_kind = W_BACKOFF;
	sched(g, &wk->t_wait, add_sat(now, d), on_wait, wk);
}

static void on_auth_due(void *arg)
{
	ld_worker *wk = arg;
	wk->auth_due = true;
	if (wk->conn.state == LC_READY) {
		const scn_mailbox *mb = &gen(wk)->s->mailboxes[wk->mailbox];
		ld_conn_auth(wk, mb->name, mb->password ? mb->password : "throttlesim");
	}
}

void ld_on_ready(ld_worker *wk)
{
	if (wk->auth_due)
		on_auth_due(wk);
}

static void connect_worker(ld_worker *wk)
{
	ld *g = gen(wk);
	snd_inst *in = &wk->inst->in;
	const scn_sender *sd = sender_of(wk);
	wk->mailbox = choose_mailbox(g, wk->inst);
	wk->state = SW_CONNECTING;
	wk->auth_due = false;
	wk->session = false;
	int64_t ct = duration(in, &sd->connect_time, sd->connect_time_ns);
	sched(g, &wk->t_auth, add_sat(now_of(g), ct), on_auth_due, wk);
	if (ld_conn_open(wk) != SIM_OK)
		ld_on_lost(wk, "cannot open a socket");
}

void ld_on_auth(ld_worker *wk, int code)
{
	ld *g = gen(wk);
	if (wk->state != SW_CONNECTING)
		return;
	if (code == 235) {
		snd_counts *c[3];
		for (int i = 0, n = counts3(wk, c); i < n; i++)
			c[i]->conn_opened++;
		g->mbx_open[wk->mailbox]++;
		wk->session = true;
		wk->sent = 0;
		begin_submit(wk);
		return;
	}
	scn_reply_class rc = classify(wk, code, true);
	count_attempt(wk); /* a refused connection is an attempt */
	count_reject(wk, rc, true);
	refused(wk, rc, code, false);
}

static void begin_submit(ld_worker *wk)
{
	ld *g = gen(wk);
	snd_inst *in = &wk->inst->in;
	ld_msg *lm = wk->msg;
	snd_msg *m = &lm->m;
	wk->state = SW_SUBMITTING;
	const char *box = g->s->mailboxes[wk->mailbox].name;
	/* a Send As fault: the From: header names an address the mailbox
	 * has no grant on, which the service refuses with 550 5.7.60 */
	const char *from_hdr = m->fault == SVC_FAULT_SEND_AS_DENIED ? "not-granted@send-as-denied.example" : box;
	int64_t rcpt = m->recipients > 0 ? m->recipients : 1;
	int64_t ext = m->external < rcpt ? m->external : rcpt;
	char id[160];
	snprintf(id, sizeof id, "%llx.%llu.%lld.%d.%lld.%llu@load.throttlesim", (unsigned long long)g->run_tag,
		 (unsigned long long)g->seed, (long long)g->replication, (int)in->group, (long long)in->index,
		 (unsigned long long)lm->number);
	wk->counted = false;
	ld_conn_message(wk, box, from_hdr, rcpt - ext, ext, NULL, m->size_bytes, id);
}

static void on_xfer_end(void *arg)
{
	ld_worker *wk = arg;
	ld *g = gen(wk);
	const scn_sender *sd = sender_of(wk);
	count_attempt(wk); /* counted at the end of data, as the simulation does */
	wk->counted = true;
	ld_conn_end_data(wk);
	if (sd->data_timeout_ns > 0) {
		wk->wait_kind = W_DT_REPLY;
		sched(g, &wk->t_wait, add_sat(wk->data_begin, sd->data_timeout_ns), on_wait, wk);
	}
}

void ld_on_envelope(ld_worker *wk, int code)
{
	ld *g = gen(wk);
	if (wk->state != SW_SUBMITTING)
		return;
	if (code == 354) {
		const scn_sender *sd = sender_of(wk);
		snd_inst *in = &wk->inst->in;
		int64_t now = now_of(g);
		int64_t t = duration(in, &sd->submit_time, sd->submit_time_ns);
		if (sd->bandwidth_bytes_per_s > 0.0)
			t = add_sat(t, snd_round_ns((double)wk->msg->m.size_bytes / sd->bandwidth_bytes_per_s * 1e9));
		wk->data_begin = now;
		int64_t to = sd->data_timeout_ns;
		if (to > 0 && t > to) {
			/* the client gives up while still sending */
			wk->wait_kind = W_DT_XFER;
			sched(g, &wk->t_wait, add_sat(now, to), on_wait, wk);
			return;
		}
		sched(g, &wk->t_xfer, add_sat(now, t), on_xfer_end, wk);
		return;
	}
	/* MAIL, RCPT or DATA refused: an attempt, answered at once */
	scn_reply_class rc = classify(wk, code, false);
	count_attempt(wk);
	count_reject(wk, rc, false);
	refused(wk, rc, code, true);
}

void ld_on_reply(ld_worker *wk, int code)
{
	ld *g = gen(wk);
	if (wk->state != SW_SUBMITTING)
		return;
	clk_cancel(&g->clock, &wk->t_wait);
	if (code / 100 == 2) {
		accept_msg(wk);
		wk->sent++;
		continue_session(wk);
		return;
	}
	scn_reply_class rc = classify(wk, code, false);
	count_reject(wk, rc, false);
	refused(wk, rc, code, true);
}

void ld_on_lost(ld_worker *wk, const char *why)
{
	ld *g = gen(wk);
	if (g->stopping)
		return;
	g->conn_failures++;
	if (getenv("THROTTLESIM_LOAD_DEBUG"))
		fprintf(stderr, "lost t=%.3f state=%d cstate=%d: %s\n", (double)now_of(g) / 1e9, wk->state, wk->conn.state, why);
	if (!g->first_failure[0])
		snprintf(g->first_failure, sizeof g->first_failure, "%s", why);
	clk_cancel(&g->clock, &wk->t_auth);
	clk_cancel(&g->clock, &wk->t_xfer);
	clk_cancel(&g->clock, &wk->t_wait);
	if (wk->session)
		g->mbx_open[wk->mailbox]--;
	wk->session = false;
	switch (wk->state) {
	case SW_CONNECTING:
	case SW_SUBMITTING:
		/* an attempt that got no reply: as after a data timeout */
		if (!wk->counted)
			count_attempt(wk);
		wk->counted = false;
		retry_later(wk);
		return;
	case SW_IDLE:
		wk->state = SW_FREE;
		start_next(wk);
		return;
	default:
		return;
	}
}

/* The worker's one multi-purpose timer: back-off, idle hold, data timeout. */
static void on_wait(void *arg)
{
	ld_worker *wk = arg;
	ld *g = gen(wk);
	uint8_t kind = wk->wait_kind;
	wk->wait_kind = W_NONE;
	switch (kind) {
	case W_BACKOFF:
		connect_worker(wk);
		return;
	case W_IDLE:
		quit_session(wk);
		start_next(wk);
		return;
	case W_DT_XFER:
	case W_DT_REPLY: {
		snd_counts *c[3];
		for (int i = 0, n = counts3(wk, c); i < n; i++)
			c[i]->data_timeouts++;
		if (kind == W_DT_XFER)
			count_attempt(wk);
		quit_session(wk);
		retry_later(wk);
		return;
	}
	default:
		(void)g;
		return;
	}
}

/* ---- arrivals (sender_arrivals.c's steps) ------------------------------------------ */

static void dispatch(ld_inst *li)
{
	int64_t n = li->g->s->senders[li->in.group].connections;
	for (int64_t i = 0; i < n; i++) {
		ld_worker *wk = &li->workers[i];
		if (wk->state == SW_IDLE) {
			clk_cancel(&li->g->clock, &wk->t_wait);
			wk->wait_kind = W_NONE;
			wk->msg = take_head(li);
			begin_submit(wk);
			return;
		}
	}
	for (int64_t i = 0; i < n; i++) {
		ld_worker *wk = &li->workers[i];
		if (wk->state == SW_FREE) {
			start_next(wk);
			return;
		}
	}
}

static void generate(ld_inst *li)
{
	ld *g = li->g;
	snd_inst *in = &li->in;
	const scn_sender *sd = &g->s->senders[in->group];
	ld_msg *lm = calloc(1, sizeof *lm);
	if (!lm) {
		fail(g, SIM_ENOMEM, "out of memory for a message");
		return;
	}
	snd_msg *m = &lm->m;
	m->generated_ns = now_of(g);
	lm->number = in->msgs_made;
	m->serial = (uint16_t)in->msgs_made++;
	m->prev_backoff_ns = sd->retry.base_ns;
	double drawn = 0.0;
	if (snd_message_draw(sd, in, m, NULL, &drawn) != SND_DRAW_OK) {
		free(lm);
		char why[200];
		snprintf(why, sizeof why, "senders.%s.message: a draw (%.3g) exceeds the scenario's bounds", sd->name,
			 drawn);
		fail(g, SIM_ERANGE, why);
		return;
	}
	snd_counts *home = in->home_mailbox >= 0 ? &g->mailboxes[in->home_mailbox] : NULL;
	snd_counts *c[3] = { &g->total, &g->groups[in->group], home };
	for (int i = 0; i < 3; i++)
		if (c[i])
			c[i]->generated++;
	if (sd->outbox_limit > 0 && in->unresolved >= sd->outbox_limit) {
		for (int i = 0; i < 3; i++)
			if (c[i]) {
				c[i]->lost++;
				c[i]->lost_overflow++;
			}
		free(lm);
		return;
	}
	in->unresolved++;
	if (in->tail)
		in->tail->next = m;
	else
		in->head = m;
	in->tail = m;
	dispatch(li);
}

static void on_burst(void *arg)
{
	ld_inst *li = arg;
	generate(li);
	if (--li->burst_left > 0)
		sched(li->g, &li->t_burst, add_sat(now_of(li->g), li->g->s->senders[li->in.group].arrivals.spacing_ns),
		      on_burst, li);
}

static void on_arrival(void *arg)
{
	ld_inst *li = arg;
	ld *g = li->g;
	int64_t now = now_of(g);
	snd_arrival st;
	if (snd_arrival_step(g->s, &li->in, now, &st) != SND_DRAW_OK) {
		char why[200];
		snprintf(why, sizeof why, "senders.%s.arrivals.bursts.size: a draw of %.3g messages exceeds 10^6",
			 g->s->senders[li->in.group].name, st.drawn);
		fail(g, SIM_ERANGE, why);
		return;
	}
	if (st.messages > 0) {
		generate(li);
		if (st.messages > 1) {
			/* a burst while another is still coming joins its tail */
			bool running = li->burst_left > 0;
			li->burst_left += st.messages - 1;
			if (!running)
				sched(g, &li->t_burst, add_sat(now, g->s->senders[li->in.group].arrivals.spacing_ns),
				      on_burst, li);
		}
	}
	sched(g, &li->t_arr, st.next_ns, on_arrival, li);
}

/* ---- the world of instances ------------------------------------------------------------ */

int ld_client_init(ld *g)
{
	const scenario *s = g->s;
	size_t n = 0;
	for (size_t k = 0; k < s->n_senders; k++)
		n += (size_t)s->senders[k].count;
	g->inst = calloc(n ? n : 1, sizeof *g->inst);
	g->mbx_open = calloc(s->n_mailboxes ? s->n_mailboxes : 1, sizeof *g->mbx_open);
	if (!g->inst || !g->mbx_open)
		return SIM_ENOMEM;
	size_t ii = 0;
	for (size_t k = 0; k < s->n_senders; k++) {
		const scn_sender *sd = &s->senders[k];
		for (int64_t j = 0; j < sd->count; j++, ii++) {
			ld_inst *li = &g->inst[ii];
			snd_inst *in = &li->in;
			li->g = g;
			for (int p = 0; p < RNG_PURPOSE_COUNT; p++)
				rng_stream_init(&in->rs[p], s->seed, g->replication, (int64_t)k, j, (rng_purpose)p);
			in->index = j;
			in->source = (int64_t)ii;
			in->group = (int32_t)k;
			if (sd->pool < 0)
				in->home_mailbox = sd->mailbox;
			else if (sd->assign == ASSIGN_PER_INSTANCE)
				in->home_mailbox = (int32_t)(s->pools[sd->pool].first +
							     (size_t)j % s->pools[sd->pool].count);
			else
				in->home_mailbox = -1;
			li->workers = calloc((size_t)sd->connections, sizeof *li->workers);
			if (!li->workers)
				return SIM_ENOMEM;
			for (int64_t w = 0; w < sd->connections; w++) {
				li->workers[w].inst = li;
				li->workers[w].conn.fd = -1;
			}
		}
	}
	g->n_inst = n;
	for (size_t i = 0; i < n; i++)
		sched(g, &g->inst[i].t_arr, snd_arrival_first(s, &g->inst[i].in), on_arrival, &g->inst[i]);
	return g->status;
}

void ld_client_stop(ld *g)
{
	g->stopping = true;
	for (size_t i = 0; i < g->n_inst; i++) {
		ld_inst *li = &g->inst[i];
		clk_cancel(&g->clock, &li->t_arr);
		clk_cancel(&g->clock, &li->t_burst);
		int64_t n = g->s->senders[li->in.group].connections;
		for (int64_t w = 0; li->workers && w < n; w++) {
			ld_worker *wk = &li->workers[w];
			clk_cancel(&g->clock, &wk->t_auth);
			clk_cancel(&g->clock, &wk->t_xfer);
			clk_cancel(&g->clock, &wk->t_wait);
			ld_conn_quit(wk);
		}
	}
}

void ld_client_free(ld *g)
{
	for (size_t i = 0; g->inst && i < g->n_inst; i++) {
		ld_inst *li = &g->inst[i];
		int64_t n = g->s->senders[li->in.group].connections;
		for (int64_t w = 0; li->workers && w < n; w++)
			free(li->workers[w].msg);
		for (snd_msg *m = li->in.head, *next; m; m = next) {
			next = m->next;
			free(m);
		}
		free(li->workers);
	}
	free(g->inst);
	free(g->mbx_open);
	g->inst = NULL;
}
