/* service.c - the service side: AUTH and end-of-data decisions against
 * every limiter's state (see service.h for the contract).
 *
 * Layout.  Limiter states live in one table per (slot, scope): slot is the
 * limiter slot of scn_limits (connections, recipient_rate, external_rate,
 * message_rate), scope picks the key (mailbox index, 0, route index, source
 * index).  A table exists only if some limits use that slot with that
 * scope; a state is initialised from the first limits that use it (route
 * 0 per mailbox first, then the other routes in order) and its rings stay
 * empty until first use.  Mailboxes (size, CET) are in mailbox.c.
 *
 * svc_submit decides first, then reserves every ring the decision will
 * push into, then commits: so SIM_ENOMEM leaves the state as it was
 * (lazy expiry of windows aside, which changes no answer).
 */
#include "service.h"

#include <math.h>
#include <string.h>

#include "limiter.h"
#include "mailbox.h"
#include "status.h"

enum { SLOT_CONN = 0, SLOT_RRL, SLOT_EXT, SLOT_RATE, SLOT_COUNT };
#define N_SCOPES 4

typedef struct conc_state {
	bool inited;
	lim_conc c;
} conc_state;

typedef struct sum_state {
	bool inited;
	lim_sum s;
} sum_state;

/* A message-rate state with its tarpit queue: held sessions in arrival
 * order (intrusive, through svc_session.hold_prev/next), and at most one
 * pending wake-up event, at the instant the head would fit. */
typedef struct rate_state {
	bool inited;
	lim_window w;
	int64_t limit;
	scn_rate_mode mode;
	svc *owner;
	svc_session *head, *tail;
	sim_handle wake;
} rate_state;

struct svc {
	const scenario *s;
	sim_engine *e;
	sim_alloc a;
	svc_hooks hooks;
	int64_t n_sources;
	mbx *mbx;
	size_t n_mbx;
	size_t n_key[N_SCOPES];
	void *tab[SLOT_COUNT][N_SCOPES]; /* conc_state[], sum_state[] or rate_state[] */
	int64_t open_total;
	int64_t thr_max_all;  /* max over mailboxes of mbx.throttled_max */
	int status;
	/* Per mailbox, route 0 (smtp_auth, by far the common route): its
	 * states looked up once at svc_new, so AUTH does no table walk.  NULL
	 * slot entries are limits left off; by_source: some slot is keyed by
	 * the source, so the lookup happens at AUTH as for other routes. */
	struct route0 {
		void *st[SLOT_COUNT];
		svc_lim lim;
		bool by_source;
	} *r0;
	svc_lim *rlim;   /* per route (index 0 unused: route 0 uses r0[mailbox].lim) */
	/* The mailbox-scope state tables, for svc_prefetch_auth. */
	const char *pf_tab[SLOT_COUNT];
	size_t pf_size[SLOT_COUNT];
	int n_pf;
};

static void lim_hot_init(svc_lim *h, const scn_limits *L)
{
	h->max_message_size = L->max_message_size;
	h->max_recipients = L->max_recipients_per_message;
	h->rrl_limit = L->recipient_rate.limit;
	h->ext_limit = L->external_rate.limit;
	h->smtp_auth = L->smtp_auth;
	h->saves_sent_items = L->saves_sent_items;
	h->rrl_external_only = L->recipient_rate.external_only;
	h->ext_external_only = L->external_rate.external_only;
}

static const size_t slot_size[SLOT_COUNT] = {
	sizeof(conc_state), sizeof(sum_state), sizeof(sum_state), sizeof(rate_state)
};

static const scn_limits *limits_of(const svc *v, int route, int mailbox)
{
	if (route == 0)
		return &v->s->mailboxes[mailbox].limits;
	return &v->s->routes[route].limits;
}

/* The slot's scope, or -1 if the limits leave it off. */
static int slot_scope(const scn_limits *L, int slot)
{
	int64_t limit;
	int scope;
	switch (slot) {
	case SLOT_CONN: limit = L->connections.limit; scope = (int)L->connections.scope; break;
	case SLOT_RRL: limit = L->recipient_rate.limit; scope = (int)L->recipient_rate.scope; break;
	case SLOT_EXT: limit = L->external_rate.limit; scope = (int)L->external_rate.scope; break;
	default: limit = L->message_rate.limit; scope = (int)L->message_rate.scope; break;
	}
	if (limit <= 0 || scope < 0 || scope >= N_SCOPES)
		return -1;
	return scope;
}

static size_t key_of(int scope, int route, int mailbox, int64_t source)
{
	switch (scope) {
	case SCOPE_MAILBOX: return (size_t)mailbox;
	case SCOPE_TENANT: return 0;
	case SCOPE_SOURCE: return (size_t)source;
	default: return (size_t)route; /* SCOPE_CONNECTOR */
	}
}

static void *state_at(const svc *v, int slot, int scope, size_t key)
{
	if (scope < 0 || !v->tab[slot][scope] || key >= v->n_key[scope])
		return NULL;
	return (char *)v->tab[slot][scope] + key * slot_size[slot];
}

/* The state the limits' slot uses for this (route, mailbox, source), or NULL. */
static void *state_for(const svc *v, const scn_limits *L, int slot, int route,
		       int mailbox, int64_t source)
{
	int scope = slot_scope(L, slot);
	if (scope < 0)
		return NULL;
	return state_at(v, slot, scope, key_of(scope, route, mailbox, source));
}

static void init_state(svc *v, int slot, void *st, const scn_limits *L)
{
	switch (slot) {
	case SLOT_CONN: {
		conc_state *c = st;
		if (c->inited)
			return;
		c->inited = true;
		lim_conc_init(&c->c, L->connections.limit,
			      L->connections.counts == COUNT_SUBMITTING);
		break;
	}
	case SLOT_RRL:
	case SLOT_EXT: {
		sum_state *s = st;
		const scn_window_sum *ws = slot == SLOT_RRL ? &L->recipient_rate : &L->external_rate;
		if (s->inited)
			return;
		s->inited = true;
		lim_sum_init(&s->s, ws->window_ns > 0 ? ws->window_ns : 1, ws->limit);
		break;
	}
	default: {
		rate_state *r = st;
		if (r->inited)
			return;
		r->inited = true;
		lim_window_init(&r->w, L->message_rate.window_ns > 0 ? L->message_rate.window_ns : 1,
				L->message_rate.limit);
		r->limit = L->message_rate.limit;
		r->mode = L->message_rate.mode;
		r->owner = v;
		r->wake = SIM_HANDLE_NONE;
		break;
	}
	}
}

/* Initialise the states one set of limits uses.  route 0: the mailbox's
 * own limits (mailbox = its index); other routes reach every key of a
 * mailbox or source scope, since any mailbox or source may use them. */
static void init_limits(svc *v, const scn_limits *L, int route, int mailbox)
{
	for (int slot = 0; slot < SLOT_COUNT; slot++) {
		int scope = slot_scope(L, slot);
		if (scope < 0)
			continue;
		bool all = scope == SCOPE_SOURCE || (scope == SCOPE_MAILBOX && route != 0);
		if (all) {
			for (size_t k = 0; k < v->n_key[scope]; k++)
				init_state(v, slot, state_at(v, slot, scope, k), L);
		} else {
			void *st = state_at(v, slot, scope, key_of(scope, route, mailbox, 0));
			if (st)
				init_state(v, slot, st, L);
		}
	}
}

static size_t n_routes_of(const scenario *s)
{
	return s->n_routes > 0 ? s->n_routes : 1;
}

svc *svc_new(const scenario *s, sim_engine *e, const sim_alloc *a,
	     int64_t n_sources, svc_hooks hooks)
{
	if (n_sources < 0)
		n_sources = 0;
	svc *v = sim_malloc(a, sizeof *v);
	if (!v)
		return NULL;
	memset(v, 0, sizeof *v);
	v->s = s;
	v->e = e;
	v->a = *a;
	v->hooks = hooks;
	v->n_sources = n_sources;
	v->n_mbx = s->n_mailboxes;
	v->thr_max_all = INT64_MIN;
	v->n_key[SCOPE_MAILBOX] = s->n_mailboxes;
	v->n_key[SCOPE_TENANT] = 1;
	v->n_key[SCOPE_SOURCE] = (size_t)n_sources;
	v->n_key[SCOPE_CONNECTOR] = n_routes_of(s);

	if (v->n_mbx) {
		v->mbx = sim_malloc(a, v->n_mbx * sizeof *v->mbx);
		if (!v->mbx)
			goto fail;
		for (size_t i = 0; i < v->n_mbx; i++)
			mbx_init(&v->mbx[i], &s->mailboxes[i], &s->mailboxes[i].limits);
	}

	/* Which (slot, scope) tables are needed. */
	bool need[SLOT_COUNT][N_SCOPES] = { { false } };
	for (size_t i = 0; i < s->n_mailboxes; i++)
		for (int slot = 0; slot < SLOT_COUNT; slot++) {
			int sc = slot_scope(&s->mailboxes[i].limits, slot);
			if (sc >= 0)
				need[slot][sc] = true;
		}
	for (size_t r = 1; r < s->n_routes; r++)
		for (int slot = 0; slot < SLOT_COUNT; slot++) {
			int sc = slot_scope(&s->routes[r].limits, slot);
			if (sc >= 0)
				need[slot][sc] = true;
		}
	for (int slot = 0; slot < SLOT_COUNT; slot++)
		for (int sc = 0; sc < N_SCOPES; sc++) {
			size_t n = v->n_key[sc];
			if (!need[slot][sc] || n == 0)
				continue;
			v->tab[slot][sc] = sim_malloc(a, n * slot_size[slot]);
			if (!v->tab[slot][sc])
				goto fail;
			memset(v->tab[slot][sc], 0, n * slot_size[slot]);
		}
	for (int slot = 0; slot < SLOT_COUNT; slot++)
		if (v->tab[slot][SCOPE_MAILBOX]) {
			v->pf_tab[v->n_pf] = v->tab[slot][SCOPE_MAILBOX];
			v->pf_size[v->n_pf++] = slot_size[slot];
		}
	for (size_t i = 0; i < s->n_mailboxes; i++)
		init_limits(v, &s->mailboxes[i].limits, 0, (int)i);
	for (size_t r = 1; r < s->n_routes; r++)
		init_limits(v, &s->routes[r].limits, (int)r, 0);
	v->rlim = sim_malloc(a, n_routes_of(s) * sizeof *v->rlim);
	if (!v->rlim)
		goto fail;
	memset(v->rlim, 0, n_routes_of(s) * sizeof *v->rlim);
	for (size_t r = 1; r < s->n_routes; r++)
		lim_hot_init(&v->rlim[r], &s->routes[r].limits);
	if (v->n_mbx) {
		v->r0 = sim_malloc(a, v->n_mbx * sizeof *v->r0);
		if (!v->r0)
			goto fail;
		for (size_t i = 0; i < v->n_mbx; i++) {
			const scn_limits *L = &s->mailboxes[i].limits;
			struct route0 *c = &v->r0[i];
			c->by_source = false;
			lim_hot_init(&c->lim, L);
			for (int slot = 0; slot < SLOT_COUNT; slot++) {
				c->st[slot] = state_for(v, L, slot, 0, (int)i, 0);
				if (slot_scope(L, slot) == SCOPE_SOURCE)
					c->by_source = true;
			}
		}
	}
	return v;
fail:
	svc_free(v);
	return NULL;
}

void svc_free(svc *v)
{
	if (!v)
		return;
	const sim_alloc *a = &v->a;
	for (int slot = 0; slot < SLOT_COUNT; slot++)
		for (int sc = 0; sc < N_SCOPES; sc++) {
			void *t = v->tab[slot][sc];
			if (!t)
				continue;
			for (size_t k = 0; k < v->n_key[sc]; k++) {
				void *st = (char *)t + k * slot_size[slot];
				if (slot == SLOT_RRL || slot == SLOT_EXT)
					lim_sum_free(&((sum_state *)st)->s, a);
				else if (slot == SLOT_RATE) {
					rate_state *r = st;
					if (r->inited)
						sim_cancel(v->e, r->wake);
					lim_window_free(&r->w, a);
				}
			}
			sim_free(a, t, v->n_key[sc] * slot_size[slot]);
		}
	if (v->r0)
		sim_free(a, v->r0, v->n_mbx * sizeof *v->r0);
	if (v->rlim)
		sim_free(a, v->rlim, n_routes_of(v->s) * sizeof *v->rlim);
	if (v->mbx) {
		for (size_t i = 0; i < v->n_mbx; i++)
			mbx_free(&v->mbx[i], a);
		sim_free(a, v->mbx, v->n_mbx * sizeof *v->mbx);
	}
	sim_free(a, v, sizeof *v);
}

/* ---- sessions ------------------------------------------------------------ */

int svc_auth(svc *v, svc_session *sess, int route, int mailbox, int64_t source,
	     bool basic_auth, svc_outcome *out)
{
	if (route < 0 || (size_t)route >= n_routes_of(v->s) || mailbox < 0 ||
	    (size_t)mailbox >= v->n_mbx || source < 0 ||
	    (v->n_sources > 0 && source >= v->n_sources))
		return SIM_EINVAL;
	int64_t now = sim_now(v->e);
	const scn_limits *L = limits_of(v, route, mailbox);
	mbx *m = &v->mbx[mailbox];
	svc_outcome o = { .rc = RC_OK, .release_ns = now };

	/* Every field but user and held_msg (meaningful only while held). */
	sess->route = route;
	sess->mailbox = mailbox;
	sess->source = source;
	sess->open = sess->submitting = sess->held = false;
	sess->conc = sess->rrl_st = sess->ext_st = sess->rate_st = NULL;
	sess->limits = NULL;
	sess->lim = NULL;
	sess->hold_prev = sess->hold_next = NULL;
	const svc_lim *H = route == 0 ? &v->r0[mailbox].lim : &v->rlim[route];

	if (H->smtp_auth) {
		o.rc = mbx_auth_check(m, &v->s->tenant);
		if (o.rc == RC_OK && basic_auth && !v->s->tenant.basic_auth_enabled)
			o.rc = RC_BASIC_DISABLED;
		if (o.rc != RC_OK) {
			o.reply_delay_ns = L->auth_fail_tarpit_ns;
			*out = o;
			return SIM_OK;
		}
	}
	void *st[SLOT_COUNT];
	if (route == 0 && !v->r0[mailbox].by_source) {
		memcpy(st, v->r0[mailbox].st, sizeof st);
	} else {
		for (int slot = 0; slot < SLOT_COUNT; slot++)
			st[slot] = state_for(v, L, slot, route, mailbox, source);
	}
	conc_state *cs = st[SLOT_CONN];
	if (cs && lim_conc_full(&cs->c)) {
		o.rc = RC_CONCURRENCY;
		o.reply = &L->reply[RC_CONCURRENCY];
		*out = o;
		return SIM_OK;
	}
	if (cs)
		lim_conc_change(&cs->c, now, +1, 0);
	lim_conc_change(&m->sessions, now, +1, 0);
	v->open_total++;
	sess->conc = cs;
	sess->limits = L;
	sess->lim = H;
	sess->rrl_st = st[SLOT_RRL];
	sess->ext_st = st[SLOT_EXT];
	sess->rate_st = st[SLOT_RATE];
	sess->open = true;
	*out = o;
	return SIM_OK;
}

int svc_submission_begin(svc *v, svc_session *sess)
{
	if (!sess->open || sess->submitting)
		return SIM_EINVAL;
	if (sess->conc)
		lim_conc_change(&((conc_state *)sess->conc)->c, sim_now(v->e), 0, +1);
	sess->submitting = true;
	return SIM_OK;
}

static void submission_end(svc_session *sess, int64_t now)
{
	if (!sess->submitting)
		return;
	if (sess->conc)
		lim_conc_change(&((conc_state *)sess->conc)->c, now, 0, -1);
	sess->submitting = false;
}

static void hold_remove(rate_state *r, svc_session *s)
{
	if (s->hold_prev)
		s->hold_prev->hold_next = s->hold_next;
	else
		r->head = s->hold_next;
	if (s->hold_next)
		s->hold_next->hold_prev = s->hold_prev;
	else
		r->tail = s->hold_prev;
	s->hold_prev = s->hold_next = NULL;
	s->held = false;
}

void svc_quit(svc *v, svc_session *sess)
{
	if (!sess->open)
		return;
	int64_t now = sim_now(v->e);
	if (sess->held)
		hold_remove(sess->rate_st, sess);
	submission_end(sess, now);
	if (sess->conc)
		lim_conc_change(&((conc_state *)sess->conc)->c, now, -1, 0);
	lim_conc_change(&v->mbx[sess->mailbox].sessions, now, -1, 0);
	v->open_total--;
	sess->open = false;
	sess->conc = NULL;
}

/* ---- prefetching ---------------------------------------------------- */

/* Two cache lines from p, for writing. */
static inline void pf2w(const void *p)
{
	__builtin_prefetch(p, 1);
	__builtin_prefetch((const char *)p + 64, 1);
}

void svc_prefetch_auth(const svc *v, int route, int mailbox)
{
	if (route != 0 || mailbox < 0 || (size_t)mailbox >= v->n_mbx)
		return;
	/* Addresses from the tables alone (no dependent load): what AUTH and
	 * the submission after it read of this mailbox. */
	__builtin_prefetch(&v->r0[mailbox], 0);
	pf2w(&v->mbx[mailbox]);
	for (int k = 0; k < v->n_pf; k++)
		pf2w(v->pf_tab[k] + (size_t)mailbox * v->pf_size[k]);
}

void svc_prefetch_submit(const svc *v, const svc_session *sess)
{
	(void)v;
	const sum_state *rrl = sess->rrl_st;
	if (rrl && rrl->s.cap > 0) {
		size_t k = rrl->s.head + rrl->s.len;
		if (k >= rrl->s.cap)
			k -= rrl->s.cap;
		__builtin_prefetch(&rrl->s.e[k], 1);
	}
	const rate_state *r = sess->rate_st;
	if (r && r->w.cap > 0) {
		size_t k = r->w.head + r->w.len;
		if (k >= r->w.cap)
			k -= r->w.cap;
		__builtin_prefetch(&r->w.t[r->w.head], 0);
		__builtin_prefetch(&r->w.t[k], 1);
	}
}

/* ---- end of data ---------------------------------------------------- */

static int64_t sum_amount(bool external_only, const svc_message *m)
{
	return external_only ? m->external : m->recipients;
}

/* Make every push of an acceptance infallible. */
static int reserve_accept(svc *v, const svc_lim *H, const svc_message *msg,
			  sum_state *rrl, sum_state *ext, rate_state *rate)
{
	int64_t now = sim_now(v->e);
	if (rrl && lim_sum_reserve(&rrl->s, &v->a, now, sum_amount(H->rrl_external_only, msg)) != SIM_OK)
		return SIM_ENOMEM;
	if (ext && lim_sum_reserve(&ext->s, &v->a, now, sum_amount(H->ext_external_only, msg)) != SIM_OK)
		return SIM_ENOMEM;
	if (rate && lim_window_reserve(&rate->w, &v->a) != SIM_OK)
		return SIM_ENOMEM;
	return SIM_OK;
}

/* Step 8: count the message in the recipient windows and (reject, tarpit)
 * the message window, grow the mailbox; the release time in delay mode. */
static int commit_accept(svc *v, const svc_session *sess, const svc_message *msg,
			 int64_t now, int64_t *release_ns, bool reserved)
{
	const svc_lim *H = sess->lim;
	sum_state *rrl = sess->rrl_st;
	sum_state *ext = sess->ext_st;
	rate_state *rate = sess->rate_st;
	int rc = SIM_OK;
	*release_ns = now;
	if (reserved) {
		/* reserve_accept expired both windows at now and made room */
		if (rrl)
			lim_sum_add_reserved(&rrl->s, now, sum_amount(H->rrl_external_only, msg));
		if (ext)
			lim_sum_add_reserved(&ext->s, now, sum_amount(H->ext_external_only, msg));
	} else {
		if (rrl && lim_sum_add(&rrl->s, &v->a, now, sum_amount(H->rrl_external_only, msg)) != SIM_OK)
			rc = SIM_ENOMEM;
		if (ext && lim_sum_add(&ext->s, &v->a, now, sum_amount(H->ext_external_only, msg)) != SIM_OK)
			rc = SIM_ENOMEM;
	}
	if (rate) {
		if (rate->mode == RATE_DELAY) {
			if (lim_window_release(&rate->w, &v->a, now, release_ns) != SIM_OK)
				rc = SIM_ENOMEM;
		} else if (lim_window_push(&rate->w, &v->a, now) != SIM_OK) {
			rc = SIM_ENOMEM;
		}
	}
	mbx *m = &v->mbx[sess->mailbox];
	if (H->saves_sent_items && m->save_sent_items)
		m->size_bytes += msg->size_bytes;
	return rc;
}

static void rate_wake(sim_engine *e, void *ctx, uint64_t arg);

/* Tarpit: the instant the window has room again (the limit-th latest
 * acceptance leaves it), if a wake-up is not already pending. */
static int rate_schedule_wake(svc *v, rate_state *r, int64_t now)
{
	if (sim_pending(v->e, r->wake))
		return SIM_OK;
	lim_window_expire(&r->w, now);
	int64_t at = now;
	if ((int64_t)lim_window_len(&r->w) >= r->limit)
		at = lim_window_nth_back(&r->w, (size_t)r->limit) + r->w.window_ns;
	return sim_schedule_at(v->e, at, rate_wake, r, 0, &r->wake);
}

/* Answer held sessions, first come first served, while the window has
 * room at this instant; then wait for the next room. */
static void rate_wake(sim_engine *e, void *ctx, uint64_t arg)
{
	(void)arg;
	rate_state *r = ctx;
	svc *v = r->owner;
	int64_t now = sim_now(e);
	r->wake = SIM_HANDLE_NONE;
	while (r->head) {
		lim_window_expire(&r->w, now);
		if ((int64_t)lim_window_len(&r->w) >= r->limit) {
			int rc = rate_schedule_wake(v, r, now);
			if (rc != SIM_OK && v->status == SIM_OK)
				v->status = rc;
			return;
		}
		svc_session *s = r->head;
		hold_remove(r, s);
		svc_outcome o = { .rc = RC_OK, .release_ns = now };
		int rc = commit_accept(v, s, &s->held_msg, now, &o.release_ns, false);
		if (rc != SIM_OK && v->status == SIM_OK)
			v->status = rc;
		submission_end(s, now);
		if (v->hooks.held_answered)
			v->hooks.held_answered(v->hooks.ctx, s, &o);
	}
}

int svc_submit(svc *v, svc_session *sess, const svc_message *msg, svc_outcome *out)
{
	if (!sess->open || sess->held)
		return SIM_EINVAL;
	int64_t now = sim_now(v->e);
	const scn_limits *L = sess->limits; /* replies and throttle settings: refusals only */
	const svc_lim *H = sess->lim;
	mbx *m = &v->mbx[sess->mailbox];
	sum_state *rrl = sess->rrl_st;
	sum_state *ext = sess->ext_st;
	rate_state *rate = sess->rate_st;
	svc_outcome o = { .rc = RC_OK, .release_ns = now };
	int err = -1;        /* the underlying error class, for CET */
	bool hold = false;

	/* Decide (MODEL.md, step 3). */
	int thr = mbx_throttled_class(m, L, now);
	if (thr >= 0) {
		o.rc = (scn_reply_class)(RC_THROTTLED_MAILBOX_FULL + thr);
		o.reply = &L->reply[RC_THROTTLED_MAILBOX_FULL + (thr)];
	} else if (H->max_message_size > 0 && msg->size_bytes > H->max_message_size) {
		o.rc = RC_MESSAGE_SIZE;
		o.reply = &L->reply[RC_MESSAGE_SIZE];
	} else if (H->max_recipients > 0 && msg->recipients > H->max_recipients) {
		o.rc = RC_TOO_MANY_RECIPIENTS;
		o.reply = &L->reply[RC_TOO_MANY_RECIPIENTS];
		err = ERR_TOO_MANY_RECIPIENTS;
	} else if (H->smtp_auth && m->quota_bytes > 0 && m->size_bytes >= m->quota_bytes) {
		o.rc = RC_MAILBOX_FULL;
		o.reply = &L->reply[RC_MAILBOX_FULL];
		err = ERR_MAILBOX_FULL;
	} else if (H->smtp_auth && !m->licensed) {
		o.rc = RC_INVALID_LICENSE;
		o.reply = &L->reply[RC_INVALID_LICENSE];
		err = ERR_INVALID_LICENSE;
	} else if (msg->fault == SVC_FAULT_SEND_AS_DENIED) {
		o.rc = RC_SEND_AS_DENIED;
		o.reply = &L->reply[RC_SEND_AS_DENIED];
		err = ERR_SEND_AS_DENIED;
	} else if (msg->fault == SVC_FAULT_INVALID_RECIPIENTS) {
		o.rc = RC_INVALID_RECIPIENTS;
		o.reply = &L->reply[RC_INVALID_RECIPIENTS];
		err = ERR_INVALID_RECIPIENTS;
	} else if (rrl && (lim_sum_expire(&rrl->s, now),
			   rrl->s.sum + sum_amount(H->rrl_external_only, msg) > H->rrl_limit)) {
		o.rc = RC_RECIPIENT_RATE;
		o.reply = &L->reply[RC_RECIPIENT_RATE];
	} else if (ext && (lim_sum_expire(&ext->s, now),
			   ext->s.sum + sum_amount(H->ext_external_only, msg) > H->ext_limit)) {
		o.rc = RC_TENANT_EXTERNAL;
		o.reply = &L->reply[RC_TENANT_EXTERNAL];
	} else if (rate && rate->mode != RATE_DELAY) {
		lim_window_expire(&rate->w, now);
		bool full = (int64_t)lim_window_len(&rate->w) >= rate->limit;
		if (rate->mode == RATE_REJECT && full) {
			o.rc = RC_MESSAGE_RATE;
			o.reply = &L->reply[RC_MESSAGE_RATE];
		} else if (rate->mode == RATE_TARPIT && (full || rate->head)) {
			hold = true;
		}
	}

	/* Reserve, so that nothing below fails. */
	if (err >= 0 && L->error_throttle[err].enabled &&
	    mbx_reserve_error(m, &v->a, (scn_error_class)err) != SIM_OK)
		return SIM_ENOMEM;
	if (o.rc == RC_OK && !hold && reserve_accept(v, H, msg, rrl, ext, rate) != SIM_OK)
		return SIM_ENOMEM;
	if (hold) {
		int rc = rate_schedule_wake(v, rate, now);
		if (rc != SIM_OK)
			return rc;
	}

	/* Commit. */
	if (!sess->submitting)
		svc_submission_begin(v, sess);
	if (o.rc == RC_RECIPIENT_RATE && m->first_rrl_refusal_ns < 0)
		m->first_rrl_refusal_ns = now;
	if (err >= 0 && mbx_record_error(m, &v->a, (scn_error_class)err,
					 &L->error_throttle[err], now)) {
		if (m->throttled_max > v->thr_max_all)
			v->thr_max_all = m->throttled_max;
		if (v->hooks.throttle_started)
			v->hooks.throttle_started(v->hooks.ctx, sess->mailbox, (scn_error_class)err,
						  now, m->throttled_until[err]);
	}
	if (hold) {
		sess->held = true;
		sess->held_msg = *msg;
		sess->hold_next = NULL;
		sess->hold_prev = rate->tail;
		if (rate->tail)
			rate->tail->hold_next = sess;
		else
			rate->head = sess;
		rate->tail = sess;
		o.held = true;
		*out = o;
		return SIM_OK;
	}
	if (o.rc == RC_OK)
		(void)commit_accept(v, sess, msg, now, &o.release_ns, true); /* reserved */
	submission_end(sess, now);
	*out = o;
	return SIM_OK;
}

/* ---- reading the state ------------------------------------------------ */

int svc_status(const svc *v)
{
	return v->status;
}

int64_t svc_open_sessions(const svc *v)
{
	return v->open_total;
}

int64_t svc_throttled_mailboxes(const svc *v, int64_t t)
{
	int64_t n = 0;
	if (t >= v->thr_max_all)
		return 0; /* no period of any mailbox reaches t */
	for (size_t i = 0; i < v->n_mbx; i++)
		n += t < v->mbx[i].throttled_max; /* some class throttled at t */
	return n;
}

bool svc_mailbox_throttled(const svc *v, int mailbox, scn_error_class c, int64_t t)
{
	if (mailbox < 0 || (size_t)mailbox >= v->n_mbx || c < 0 || c >= ERR_CLASS_COUNT)
		return false;
	return t < v->mbx[mailbox].throttled_until[c];
}

int64_t svc_mailbox_size(const svc *v, int mailbox)
{
	if (mailbox < 0 || (size_t)mailbox >= v->n_mbx)
		return 0;
	return v->mbx[mailbox].size_bytes;
}

static const sum_state *mailbox_rrl(const svc *v, int mailbox)
{
	const scn_limits *L = limits_of(v, 0, mailbox);
	if (slot_scope(L, SLOT_RRL) == SCOPE_SOURCE)
		return NULL;
	return state_for(v, L, SLOT_RRL, 0, mailbox, 0);
}

int64_t svc_mailbox_rrl_sum(const svc *v, int mailbox, int64_t t)
{
	if (mailbox < 0 || (size_t)mailbox >= v->n_mbx)
		return 0;
	const sum_state *s = mailbox_rrl(v, mailbox);
	return s ? lim_sum_at(&s->s, t) : 0;
}

void svc_mailbox_figures(const svc *v, int mailbox, int64_t end_ns, res_entity *out)
{
	if (mailbox < 0 || (size_t)mailbox >= v->n_mbx)
		return;
	const mbx *m = &v->mbx[mailbox];
	const scn_limits *L = limits_of(v, 0, mailbox);
	double *f = out->fig;
	f[FIG_SESSIONS_AVG] = lim_conc_avg(&m->sessions, end_ns);
	int cscope = slot_scope(L, SLOT_CONN);
	if (cscope < 0) {
		f[FIG_AT_LIMIT_FRAC] = end_ns > 0 ? 0.0 : NAN;
	} else if (cscope == SCOPE_SOURCE) {
		f[FIG_AT_LIMIT_FRAC] = NAN;
	} else {
		const conc_state *cs = state_for(v, L, SLOT_CONN, 0, mailbox, 0);
		f[FIG_AT_LIMIT_FRAC] = cs ? lim_conc_at_limit_frac(&cs->c, end_ns) : NAN;
	}
	f[FIG_THROTTLE_PERIODS] = (double)m->periods;
	f[FIG_THROTTLE_TIME] = (double)mbx_throttle_ns(m, end_ns) / (double)SCN_NS_PER_S;
	const sum_state *rrl = mailbox_rrl(v, mailbox);
	if (rrl) {
		f[FIG_RRL_BLOCKED_TIME] = (double)lim_sum_blocked_ns(&rrl->s, end_ns) /
					  (double)SCN_NS_PER_S;
		f[FIG_RRL_FIRST_REACHED] = rrl->s.first_reached_ns >= 0
			? (double)rrl->s.first_reached_ns / (double)SCN_NS_PER_S : NAN;
	} else {
		f[FIG_RRL_BLOCKED_TIME] = 0.0;
		f[FIG_RRL_FIRST_REACHED] = NAN;
	}
	f[FIG_RRL_FIRST_REFUSAL] = m->first_rrl_refusal_ns >= 0
		? (double)m->first_rrl_refusal_ns / (double)SCN_NS_PER_S : NAN;
}

int64_t svc_tenant_external_auto(int64_t licenses)
{
	if (licenses < 1)
		licenses = 1;
	return (int64_t)floor(500.0 * pow((double)licenses, 0.7) + 9500.0 + 0.5);
}
