/* service.c - the service side: AUTH and end-of-data decisions against
 * every limiter's state (see service.h for the contract).
 *
 * The rules are two tables.  The SLOTS table names each limiter slot of
 * scn_limits (connections, recipient_rate, external_rate, message_rate):
 * where its limit and scope are, how big its state is, how to initialise
 * and free it.  The CHECK tables (auth_checks, data_checks, in MODEL.md's
 * order) name each check: the limiter kind and slot it reads, its scope,
 * its reply class and reply, a check function, the reserve/commit pair that
 * counts an accepted message, and the error-throttle class a refusal
 * feeds.  svc_auth and svc_submit iterate them; nothing else decides.
 *
 * Layout.  Limiter states live in one table per (slot, scope): the scope
 * picks the key (mailbox index, 0, route index, source index).  A table
 * exists only if some limits use that slot with that scope; a state is
 * initialised from the first limits that use it (route 0 per mailbox
 * first, then the other routes in order) and its rings stay empty until
 * first use.  The mailbox scope's tables are not tables of their own: a
 * mailbox's states sit in one record with its route-0 lookups and its
 * mbx (struct svc, REC_ALIGN), so a message reaches adjacent lines.
 * Mailboxes (size, CET) are in mailbox.c.
 *
 * svc_submit decides first (the first check that does not pass), then
 * reserves every ring the decision will push into, then commits: so
 * SIM_ENOMEM leaves the state as it was (lazy expiry of windows aside,
 * which changes no answer).
 *
 * Time comes only from the clock port (clock.h): clk_now() for the
 * instant of every operation, one timer per tarpit queue.
 */
#include "service.h"

#include <assert.h>

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "limiter.h"
#include "mailbox.h"
#include "status.h"

/* ---- limiter states, per slot -------------------------------------------- */

enum { SLOT_CONN = 0, SLOT_RRL, SLOT_EXT, SLOT_RATE, SLOT_MOERA, SLOT_CAP, SLOT_COUNT };
#define N_SCOPES 4
_Static_assert(SLOT_COUNT <= SVC_MAX_SLOTS, "svc_session.st has a place per slot");

/* Every state starts with this: set once, by the first limits that use it. */
typedef struct slot_hdr {
	bool inited;
} slot_hdr;

/* at_eod: concurrency_check end_of_data: the cap counts submissions in
 * progress and is checked at end of data (data_checks[0]); otherwise it
 * counts what `counts` says and is checked at AUTH. */
typedef struct conc_state {
	slot_hdr h;
	bool at_eod;
	lim_conc c;
} conc_state;

/* first_refusal_ns: the first refusal by this window (-1: none), for the
 * tenant limits' figures (svc_tenant_figures). */
typedef struct sum_state {
	slot_hdr h;
	lim_sum s;
	int64_t first_refusal_ns;
} sum_state;

/* A message-rate state with its tarpit queue: held sessions in arrival
 * order (linked through their hold_node), and at most one pending
 * wake-up timer, at the instant the head would fit. */
typedef struct rate_state {
	slot_hdr h;
	scn_rate_mode mode;     /* beside h: one line holds what a message reads */
	lim_window w;
	int64_t limit;
	/* the tarpit's, last: a message in the other modes reads none of it
	 * (slot_def.hot_size stops here) */
	svc *owner;
	svc_session *head, *tail;
	clk_timer wake;
} rate_state;

/* A count window that refuses when full (message_cap). */
typedef struct win_state {
	slot_hdr h;
	lim_window w;
	int64_t limit;
} win_state;

/* One limiter slot of scn_limits: `limit` (int64_t, <= 0: off) and
 * `scope` (scn_scope) at these offsets, its settings at cfg_off. */
typedef struct slot_def {
	const char *name;
	size_t limit_off, scope_off, cfg_off;
	size_t state_size;
	size_t hot_size;     /* the first bytes of a state, those a message reads */
	void (*init)(svc *v, void *st, const void *cfg);
	void (*fini)(svc *v, void *st);  /* NULL: nothing to free */
} slot_def;

/* Per mailbox, route 0 (smtp_auth, by far the common route): its states
 * looked up once at svc_new, so AUTH does no table walk.  NULL slot
 * entries are limits left off; by_source: some slot is keyed by the
 * source, so the lookup happens at AUTH as for other routes. */
struct route0 {
	void *st[SLOT_COUNT];
	svc_lim lim;
	bool by_source;
};

/* One record per mailbox, REC_ALIGN-aligned: its mbx (the hot part), its
 * route0, the state of every slot some limits keep per mailbox (the
 * message rate last, so that its tarpit fields end the run), then the
 * mbx's cold part.  A message reads all but the cold part (AUTH, the
 * checks, the commits), so what it reads is one run of adjacent lines:
 * 480 bytes, 8 lines, with the e2e benchmark's three mailbox slots,
 * where separate tables were a line or two in each of five places.
 * Fields in a record are 8-byte aligned (REC_FIELD_ALIGN). */
#define REC_ALIGN 64
#define REC_FIELD_ALIGN 8
#define REC_R0_OFF ((sizeof(mbx) + REC_FIELD_ALIGN - 1) / REC_FIELD_ALIGN * REC_FIELD_ALIGN)

/* A held session's side of the tarpit: its queue links and the message it
 * waits to send, in svc.holds at svc_session.hold - 1 while held (free
 * nodes chained through next_free: 1 + the next, 0: none). */
typedef struct hold_node {
	svc_session *prev, *next;
	svc_message msg;
	uint32_t next_free;
} hold_node;

#define HOLD_MAX ((UINT32_C(1) << SVC_HOLD_BITS) - 1)

struct svc {
	const scenario *s;
	clk clock;
	sim_alloc a;
	svc_hooks hooks;
	int64_t n_sources;
	size_t n_mbx;
	size_t n_key[N_SCOPES];
	/* states: key k of (slot, scope) at tab + k * stride; the mailbox
	 * scope's point into the records */
	char *tab[SLOT_COUNT][N_SCOPES];
	size_t stride[SLOT_COUNT][N_SCOPES];
	char *rec;            /* the mailbox records (aligned), n_mbx of rec_size */
	void *rec_mem;        /* as allocated: rec_mem_size bytes */
	size_t rec_size, rec_mem_size;
	size_t cold_off;      /* the mbx_cold's offset in a record */
	size_t rec_hot;       /* bytes at a record's start that a message reads */
	int64_t open_total;
	int64_t thr_max_all;  /* max over mailboxes of mbx.throttled_max */
	int status;
	svc_lim *rlim;   /* per route (index 0 unused: route 0 uses its record's lim) */
	hold_node *holds;     /* n_holds nodes (tarpit only; NULL until the first hold) */
	uint32_t n_holds, free_hold;  /* free_hold: 1 + the first free node, 0: none */
};

static inline mbx *mbx_at(const svc *v, size_t mailbox)
{
	return (mbx *)(void *)(v->rec + mailbox * v->rec_size);
}

static inline struct route0 *r0_at(const svc *v, size_t mailbox)
{
	return (struct route0 *)(void *)(v->rec + mailbox * v->rec_size + REC_R0_OFF);
}

static void conc_init(svc *v, void *st, const void *cfg)
{
	(void)v;
	const scn_concurrency *k = cfg;
	conc_state *cs = st;
	cs->at_eod = k->check == CONC_AT_END_OF_DATA;
	lim_conc_init(&cs->c, k->limit, cs->at_eod || k->counts == COUNT_SUBMITTING);
}

static void sum_init(svc *v, void *st, const void *cfg)
{
	const scn_window_sum *ws = cfg;
	lim_sum *ls = &((sum_state *)st)->s;
	lim_sum_init(ls, ws->window_ns > 0 ? ws->window_ns : 1, ws->limit);
	if (ws->reset > 0) {
		/* a fixed day (recipient_rate_reset): periods start at the UTC
		 * time of day reset - 1 s, on the model's clock (time 0 is
		 * start_unix_s) */
		int64_t day_s = 86400, tod = (ws->reset - 1) - v->s->start_unix_s % day_s;
		lim_sum_set_fixed(ls, tod * SCN_NS_PER_S);
	}
	((sum_state *)st)->first_refusal_ns = -1;
}

static void sum_fini(svc *v, void *st)
{
	lim_sum_free(&((sum_state *)st)->s, &v->a);
}

static void rate_init(svc *v, void *st, const void *cfg)
{
	const scn_window_count *wc = cfg;
	rate_state *r = st;
	lim_window_init(&r->w, wc->window_ns > 0 ? wc->window_ns : 1, wc->limit);
	r->limit = wc->limit;
	r->mode = wc->mode;
	r->owner = v;
	r->wake = CLK_TIMER_NONE;
}

static void rate_fini(svc *v, void *st)
{
	rate_state *r = st;
	if (r->h.inited)
		clk_cancel(&v->clock, &r->wake);
	lim_window_free(&r->w, &v->a);
}

static void win_init(svc *v, void *st, const void *cfg)
{
	(void)v;
	const scn_window_count *wc = cfg;
	win_state *w = st;
	lim_window_init(&w->w, wc->window_ns > 0 ? wc->window_ns : 1, wc->limit);
	w->limit = wc->limit;
}

static void win_fini(svc *v, void *st)
{
	lim_window_free(&((win_state *)st)->w, &v->a);
}

#define SLOT(field, type, hot, init, fini) \
	{ #field, offsetof(scn_limits, field.limit), offsetof(scn_limits, field.scope), \
	  offsetof(scn_limits, field), sizeof(type), hot, init, fini }

static const slot_def slots[SLOT_COUNT] = {
	[SLOT_CONN] = SLOT(connections, conc_state, sizeof(conc_state), conc_init, NULL),
	[SLOT_RRL] = SLOT(recipient_rate, sum_state, sizeof(sum_state), sum_init, sum_fini),
	[SLOT_EXT] = SLOT(external_rate, sum_state, sizeof(sum_state), sum_init, sum_fini),
	[SLOT_RATE] = SLOT(message_rate, rate_state, offsetof(rate_state, owner), rate_init,
			   rate_fini),
	[SLOT_MOERA] = SLOT(onmicrosoft_rate, sum_state, sizeof(sum_state), sum_init, sum_fini),
	[SLOT_CAP] = SLOT(message_cap, win_state, sizeof(win_state), win_init, win_fini),
};

/* The order of the mailbox-scope states in a record: the message rate last
 * (its tarpit fields, cold in the other modes, then end the hot run). */
static const int rec_slot_order[SLOT_COUNT] = {
	SLOT_CONN, SLOT_RRL, SLOT_EXT, SLOT_MOERA, SLOT_CAP, SLOT_RATE,
};

_Static_assert(_Alignof(mbx) <= REC_FIELD_ALIGN && _Alignof(mbx_cold) <= REC_FIELD_ALIGN &&
	       _Alignof(struct route0) <= REC_FIELD_ALIGN &&
	       _Alignof(conc_state) <= REC_FIELD_ALIGN && _Alignof(sum_state) <= REC_FIELD_ALIGN &&
	       _Alignof(rate_state) <= REC_FIELD_ALIGN && _Alignof(win_state) <= REC_FIELD_ALIGN,
	       "a record's parts are placed at multiples of REC_FIELD_ALIGN");
_Static_assert(sizeof(mbx_cold) >= 64, "svc_prefetch_auth may touch a line past the hot part");

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
	h->data_fault_p = L->data_fault_p;
	h->auth_fault_p = L->auth_fault_p;
	h->internal_only = L->internal_only;
	h->checks_source = L->checks_source;
	h->anonymous = L->anonymous;
}

static const scn_limits *limits_of(const svc *v, int route, int mailbox)
{
	return scn_route_limits(v->s, route, mailbox);
}

/* The slot's scope, or -1 if the limits leave it off. */
static int slot_scope(const scn_limits *L, int slot)
{
	const char *base = (const char *)L;
	int64_t limit;
	scn_scope scope;
	memcpy(&limit, base + slots[slot].limit_off, sizeof limit);
	memcpy(&scope, base + slots[slot].scope_off, sizeof scope);
	if (limit <= 0 || (int)scope < 0 || (int)scope >= N_SCOPES)
		return -1;
	return (int)scope;
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
	return v->tab[slot][scope] + key * v->stride[slot][scope];
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
	slot_hdr *h = st;
	if (h->inited)
		return;
	h->inited = true;
	slots[slot].init(v, st, (const char *)L + slots[slot].cfg_off);
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

static size_t round_up(size_t n, size_t to)
{
	return (n + to - 1) / to * to;
}

/* The mailbox records (route0, mailbox-scope states, mbx) and the other
 * (slot, scope) tables some limits use, zeroed; each mbx initialised. */
static int alloc_tables(svc *v)
{
	const scenario *s = v->s;
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
	if (v->n_mbx) {
		size_t off = round_up(REC_R0_OFF + sizeof(struct route0), REC_FIELD_ALIGN);
		size_t st_off[SLOT_COUNT] = { 0 };
		v->rec_hot = off;
		for (int i = 0; i < SLOT_COUNT; i++) {
			int slot = rec_slot_order[i];
			if (!need[slot][SCOPE_MAILBOX])
				continue;
			st_off[slot] = off;
			v->rec_hot = off + slots[slot].hot_size;
			off += round_up(slots[slot].state_size, REC_FIELD_ALIGN);
		}
		v->cold_off = off;
		v->rec_size = round_up(off + sizeof(mbx_cold), REC_ALIGN);
		v->rec_mem_size = v->n_mbx * v->rec_size + REC_ALIGN - 1;
		v->rec_mem = sim_malloc(&v->a, v->rec_mem_size);
		if (!v->rec_mem)
			return SIM_ENOMEM;
		memset(v->rec_mem, 0, v->rec_mem_size);
		v->rec = (char *)v->rec_mem + ((REC_ALIGN - (uintptr_t)v->rec_mem % REC_ALIGN) % REC_ALIGN);
		for (int slot = 0; slot < SLOT_COUNT; slot++)
			if (need[slot][SCOPE_MAILBOX]) {
				v->tab[slot][SCOPE_MAILBOX] = v->rec + st_off[slot];
				v->stride[slot][SCOPE_MAILBOX] = v->rec_size;
			}
		for (size_t i = 0; i < v->n_mbx; i++)
			mbx_init(mbx_at(v, i), (mbx_cold *)(void *)((char *)mbx_at(v, i) + v->cold_off),
				 &s->mailboxes[i], &s->mailboxes[i].limits);
	}
	for (int slot = 0; slot < SLOT_COUNT; slot++)
		for (int sc = 0; sc < N_SCOPES; sc++) {
			size_t n = v->n_key[sc];
			if (!need[slot][sc] || n == 0 || sc == SCOPE_MAILBOX)
				continue;
			v->tab[slot][sc] = sim_malloc(&v->a, n * slots[slot].state_size);
			if (!v->tab[slot][sc])
				return SIM_ENOMEM;
			memset(v->tab[slot][sc], 0, n * slots[slot].state_size);
			v->stride[slot][sc] = slots[slot].state_size;
		}
	return SIM_OK;
}

/* Route 0's states and hot limits per mailbox, so AUTH looks nothing up. */
static void init_route0(svc *v)
{
	for (size_t i = 0; i < v->n_mbx; i++) {
		const scn_limits *L = &v->s->mailboxes[i].limits;
		struct route0 *c = r0_at(v, i);
		c->by_source = false;
		lim_hot_init(&c->lim, L);
		for (int slot = 0; slot < SLOT_COUNT; slot++) {
			c->st[slot] = state_for(v, L, slot, 0, (int)i, 0);
			if (slot_scope(L, slot) == SCOPE_SOURCE)
				c->by_source = true;
		}
	}
}

svc *svc_new(const scenario *s, const clk *clock, const sim_alloc *a,
	     int64_t n_sources, svc_hooks hooks)
{
	if (n_sources < 0)
		n_sources = 0;
	svc *v = sim_malloc(a, sizeof *v);
	if (!v)
		return NULL;
	memset(v, 0, sizeof *v);
	v->s = s;
	v->clock = *clock;
	v->a = *a;
	v->hooks = hooks;
	v->n_sources = n_sources;
	v->n_mbx = s->n_mailboxes;
	v->thr_max_all = INT64_MIN;
	v->n_key[SCOPE_MAILBOX] = s->n_mailboxes;
	v->n_key[SCOPE_TENANT] = 1;
	v->n_key[SCOPE_SOURCE] = (size_t)n_sources;
	v->n_key[SCOPE_CONNECTOR] = n_routes_of(s);

	if (alloc_tables(v) != SIM_OK)
		goto fail;
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
	init_route0(v);
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
			char *t = v->tab[slot][sc];
			if (!t)
				continue;
			if (slots[slot].fini)
				for (size_t k = 0; k < v->n_key[sc]; k++)
					slots[slot].fini(v, t + k * v->stride[slot][sc]);
			if (sc != SCOPE_MAILBOX) /* in the records */
				sim_free(a, t, v->n_key[sc] * slots[slot].state_size);
		}
	if (v->rlim)
		sim_free(a, v->rlim, n_routes_of(v->s) * sizeof *v->rlim);
	if (v->holds)
		sim_free(a, v->holds, v->n_holds * sizeof *v->holds);
	if (v->rec_mem) {
		for (size_t i = 0; i < v->n_mbx; i++)
			mbx_free(mbx_at(v, i), a);
		sim_free(a, v->rec_mem, v->rec_mem_size);
	}
	sim_free(a, v, sizeof *v);
}

/* ---- the checks ---------------------------------------------------------- */

/* What a check sees: one AUTH or one end of data, at now. */
typedef struct chk {
	svc *v;
	svc_session *sess;
	const svc_message *msg;   /* end of data; NULL at AUTH */
	const svc_lim *H;         /* the route's hot limits */
	const scn_limits *L;      /* the route's limits (replies, throttle settings), or
	                           * NULL: found by chk_limits when a refusal needs them */
	mbx *m;
	void *const *st;          /* the limiter states, by slot (NULL: off) */
	int64_t now;
	const svc_client *cl;     /* AUTH: the client */
} chk;

/* A check returns CHK_PASS, CHK_HOLD (answer later: the row's hold()), or
 * a refusal: k >= 0, the reply class rc + k, whose reply the route's
 * limits hold at reply[rc + k] (the throttle row has one class per error
 * class, the AUTH-disabled row two classes, answered without a route
 * reply). */
enum { CHK_PASS = -1, CHK_HOLD = -2 };

/* The limiter kind a check reads (limiter.h), and where its state is. */
typedef enum chk_kind {
	KIND_NONE = 0,   /* a property of the message, mailbox or tenant */
	KIND_CONC,       /* lim_conc */
	KIND_SUM,        /* lim_sum */
	KIND_WINDOW,     /* lim_window */
	KIND_ERROR,      /* the mailbox's error throttle (lim_window per class) */
} chk_kind;

typedef enum chk_scope {
	BY_LIMITS = 0,   /* the slot's scope in the limits (mailbox, tenant, source, connector) */
	BY_MAILBOX,
	BY_TENANT,
	BY_MESSAGE,
} chk_scope;

typedef struct svc_check {
	const char *name;
	chk_kind kind;
	int slot;                 /* SLOT_* of its state, or -1 */
	chk_scope scope;
	scn_reply_class rc;
	bool route_reply;         /* answered with the limits' reply[rc + k]; false: the
	                           * 535 refusals, whose text is the catalog's */
	int (*check)(const chk *c);
	/* Accepted: reserve makes commit infallible (SIM_OK or SIM_ENOMEM,
	 * nothing changed); commit counts the message.  Either may be NULL. */
	int (*reserve)(const chk *c);
	void (*commit)(const chk *c, svc_outcome *o);
	void (*refused)(const chk *c);    /* this row refused: note it, or NULL */
	int (*hold)(const chk *c);        /* CHK_HOLD: queue the session, or NULL */
	int err;                  /* the ERR_* class a refusal feeds (CET), or -1 */
	/* A refusal's retry-after hint: how long until the row would pass
	 * (a full window's next free instant), or NULL: no hint. */
	int64_t (*retry_after)(const chk *c);
} svc_check;

static int64_t sum_amount(bool external_only, const svc_message *m)
{
	return external_only ? m->external : m->recipients;
}

/* AUTH */

static inline int auth_disabled_check(const chk *c)
{
	if (!c->H->smtp_auth)
		return CHK_PASS;
	scn_reply_class rc = mbx_auth_check(c->m, &c->v->s->tenant);
	return rc == RC_OK ? CHK_PASS : (int)(rc - RC_AUTH_DISABLED_TENANT);
}

/* TLS below 1.2: refused after the handshake, on any route. */
static inline int tls_check(const chk *c)
{
	return c->cl->tls_too_old ? 0 : CHK_PASS;
}

/* A sporadic transient fault, drawn per attempt by the caller. */
static inline int auth_fault_check(const chk *c)
{
	return c->cl->fault_u < c->H->auth_fault_p ? 0 : CHK_PASS;
}

static inline int credentials_check(const chk *c)
{
	return c->H->smtp_auth && c->cl->bad_credentials ? 0 : CHK_PASS;
}

static inline int basic_disabled_check(const chk *c)
{
	return c->H->smtp_auth && c->cl->basic_auth && !c->v->s->tenant.basic_auth_enabled
		? 0 : CHK_PASS;
}

/* Basic auth blocked in Entra: k = 0 security defaults, 1 Conditional Access. */
static inline int legacy_block_check(const chk *c)
{
	scn_legacy_block b = c->v->s->tenant.legacy_auth_block;
	if (!c->H->smtp_auth || !c->cl->basic_auth || b == LEGACY_NONE)
		return CHK_PASS;
	return b == LEGACY_SECURITY_DEFAULTS ? 0 : 1;
}

static inline int conc_check(const chk *c)
{
	const conc_state *cs = c->st[SLOT_CONN];
	return cs && !cs->at_eod && lim_conc_full(&cs->c) ? 0 : CHK_PASS;
}

static inline void conc_commit(const chk *c, svc_outcome *o)
{
	(void)o;
	conc_state *cs = c->st[SLOT_CONN];
	if (cs)
		lim_conc_change(&cs->c, c->now, +1, 0);
}

/* MAIL FROM and RCPT */

static inline int direct_send_check(const chk *c)
{
	return c->H->anonymous && c->v->s->tenant.reject_direct_send ? 0 : CHK_PASS;
}

static inline int relay_source_check(const chk *c)
{
	return c->H->checks_source && c->sess->source_mismatch ? 0 : CHK_PASS;
}

static inline int internal_only_check(const chk *c)
{
	return c->H->internal_only && c->msg->external > 0 ? 0 : CHK_PASS;
}

/* End of data */

/* A sporadic transient fault, drawn per attempt by the caller. */
static inline int data_fault_check(const chk *c)
{
	return c->msg->fault_u < c->H->data_fault_p ? 0 : CHK_PASS;
}

/* concurrency_check end_of_data: refused when the mailbox (the slot's
 * scope) already has `limit` OTHER submissions in progress; this one's
 * transfer time is spent all the same.  A submission is in progress from
 * svc_submission_begin to its answer (a tarpit hold included). */
static inline int conc_eod_check(const chk *c)
{
	const conc_state *cs = c->st[SLOT_CONN];
	if (!cs || !cs->at_eod || cs->c.limit <= 0)
		return CHK_PASS;
	int64_t others = cs->c.submitting - (c->sess->submitting ? 1 : 0);
	return others >= cs->c.limit ? 0 : CHK_PASS;
}

/* A submission's limits are looked up only when it is refused or its
 * mailbox throttled: an accepted message reads its hot limits alone. */
static const scn_limits *chk_limits(const chk *c)
{
	return c->L ? c->L : limits_of(c->v, c->sess->route, c->sess->mailbox);
}

static inline int throttled_check(const chk *c)
{
	if (c->now >= c->m->throttled_max)
		return CHK_PASS; /* mbx_throttled_class's O(1) answer, without the limits */
	return mbx_throttled_class_slow(c->m, chk_limits(c), c->now); /* -1 or the class */
}

static inline int size_check(const chk *c)
{
	return c->H->max_message_size > 0 && c->msg->size_bytes > c->H->max_message_size
		? 0 : CHK_PASS;
}

static inline int recipients_check(const chk *c)
{
	return c->H->max_recipients > 0 && c->msg->recipients > c->H->max_recipients
		? 0 : CHK_PASS;
}

static inline int quota_check(const chk *c)
{
	const mbx *m = c->m;
	return c->H->smtp_auth && m->quota_bytes > 0 && m->size_bytes >= m->quota_bytes
		? 0 : CHK_PASS;
}

/* Sent Items: the accepted message grows the mailbox, once.  The size
 * saturates at INT64_MAX, past every quota (at most 2^60 B), rather than
 * overflow: eight messages of the largest size did (found by fuzz_run). */
static inline void quota_commit(const chk *c, svc_outcome *o)
{
	(void)o;
	if (c->H->saves_sent_items && c->m->save_sent_items) {
		/* saturating: sizes are bounded (2^60) but their sum is not */
		int64_t *z = &c->m->size_bytes;
		*z = c->msg->size_bytes > INT64_MAX - *z ? INT64_MAX : *z + c->msg->size_bytes;
	}
}

static inline int license_check(const chk *c)
{
	return c->H->smtp_auth && !c->m->licensed ? 0 : CHK_PASS;
}

static inline int send_as_check(const chk *c)
{
	return c->msg->fault == SVC_FAULT_SEND_AS_DENIED ? 0 : CHK_PASS;
}

static inline int invalid_rcpt_check(const chk *c)
{
	return c->msg->fault == SVC_FAULT_INVALID_RECIPIENTS ? 0 : CHK_PASS;
}

/* The two recipient windows: the sum in (now - w, now] plus this
 * message's amount over the route's limit is refused. */
static inline int sum_check(sum_state *st, int64_t now, int64_t amount, int64_t limit)
{
	if (!st)
		return CHK_PASS;
	lim_sum_expire(&st->s, now);
	return st->s.sum + amount > limit ? 0 : CHK_PASS;
}

static inline int sum_reserve(sum_state *st, const chk *c, int64_t amount)
{
	return st ? lim_sum_reserve(&st->s, &c->v->a, c->now, amount) : SIM_OK;
}

static inline void sum_commit(sum_state *st, const chk *c, int64_t amount)
{
	if (!st)
		return;
	lim_sum_add_reserved(&st->s, c->now, amount);
}

static inline int rrl_check(const chk *c)
{
	return sum_check(c->st[SLOT_RRL], c->now,
			 sum_amount(c->H->rrl_external_only, c->msg), c->H->rrl_limit);
}

static inline int rrl_reserve(const chk *c)
{
	return sum_reserve(c->st[SLOT_RRL], c, sum_amount(c->H->rrl_external_only, c->msg));
}

static inline void rrl_commit(const chk *c, svc_outcome *o)
{
	(void)o;
	sum_commit(c->st[SLOT_RRL], c, sum_amount(c->H->rrl_external_only, c->msg));
}

static void rrl_refused(const chk *c)
{
	if (c->m->cold->first_rrl_refusal_ns < 0)
		c->m->cold->first_rrl_refusal_ns = c->now;
}

/* The first refusal by a window (TERRL, MOERA), for the figures. */
static void sum_refused(sum_state *st, int64_t now)
{
	if (st && st->first_refusal_ns < 0)
		st->first_refusal_ns = now;
}

static void ext_refused(const chk *c)
{
	sum_refused(c->st[SLOT_EXT], c->now);
}

static void moera_refused(const chk *c)
{
	sum_refused(c->st[SLOT_MOERA], c->now);
}

static inline int ext_check(const chk *c)
{
	return sum_check(c->st[SLOT_EXT], c->now,
			 sum_amount(c->H->ext_external_only, c->msg), c->H->ext_limit);
}

static inline int ext_reserve(const chk *c)
{
	return sum_reserve(c->st[SLOT_EXT], c, sum_amount(c->H->ext_external_only, c->msg));
}

static inline void ext_commit(const chk *c, svc_outcome *o)
{
	(void)o;
	sum_commit(c->st[SLOT_EXT], c, sum_amount(c->H->ext_external_only, c->msg));
}

/* MOERA: the tenant's external recipients from *.onmicrosoft.com senders
 * in the window, plus this message's, over the limit.  Other senders
 * neither count nor are refused. */
static inline int moera_check(const chk *c)
{
	sum_state *st = c->st[SLOT_MOERA];
	if (!st || !c->m->onmicrosoft)
		return CHK_PASS;
	return sum_check(st, c->now, c->msg->external, st->s.limit);
}

static inline int moera_reserve(const chk *c)
{
	return c->m->onmicrosoft ? sum_reserve(c->st[SLOT_MOERA], c, c->msg->external) : SIM_OK;
}

static inline void moera_commit(const chk *c, svc_outcome *o)
{
	(void)o;
	if (c->m->onmicrosoft)
		sum_commit(c->st[SLOT_MOERA], c, c->msg->external);
}

/* message_cap: a second count window, refused when full. */
static inline int cap_check(const chk *c)
{
	win_state *w = c->st[SLOT_CAP];
	if (!w)
		return CHK_PASS;
	lim_window_expire(&w->w, c->now);
	return (int64_t)lim_window_len(&w->w) >= w->limit ? 0 : CHK_PASS;
}

static inline int cap_reserve(const chk *c)
{
	win_state *w = c->st[SLOT_CAP];
	return w ? lim_window_reserve(&w->w, &c->v->a) : SIM_OK;
}

static inline void cap_commit(const chk *c, svc_outcome *o)
{
	(void)o;
	win_state *w = c->st[SLOT_CAP];
	if (w)
		(void)lim_window_push(&w->w, &c->v->a, c->now); /* reserved */
}

/* Message rate: delay mode never refuses (the release time is set at
 * commit); reject refuses a full window; tarpit holds the session while
 * the window is full or others are already held (first come, first
 * served). */
static inline int rate_check(const chk *c)
{
	rate_state *r = c->st[SLOT_RATE];
	if (!r || r->mode == RATE_DELAY)
		return CHK_PASS;
	lim_window_expire(&r->w, c->now);
	bool full = (int64_t)lim_window_len(&r->w) >= r->limit;
	if (r->mode == RATE_REJECT)
		return full ? 0 : CHK_PASS;
	return full || r->head ? CHK_HOLD : CHK_PASS;
}

static inline int rate_reserve(const chk *c)
{
	rate_state *r = c->st[SLOT_RATE];
	return r ? lim_window_reserve(&r->w, &c->v->a) : SIM_OK;
}

static inline void rate_commit(const chk *c, svc_outcome *o)
{
	rate_state *r = c->st[SLOT_RATE];
	if (!r)
		return;
	/* reserved: neither can fail */
	if (r->mode == RATE_DELAY)
		(void)lim_window_release(&r->w, &c->v->a, c->now, &o->release_ns);
	else
		(void)lim_window_push(&r->w, &c->v->a, c->now);
}

static int rate_hold(const chk *c);

/* A full count window (checked, so expired at now) has room again when
 * its limit-th latest entry leaves it. */
static int64_t window_free_in(const lim_window *w, int64_t limit, int64_t now)
{
	if ((int64_t)lim_window_len(w) < limit || limit <= 0)
		return 0;
	int64_t at = lim_window_nth_back(w, (size_t)limit) + w->window_ns;
	return at > now ? at - now : 0;
}

static int64_t rate_retry_after(const chk *c)
{
	const rate_state *r = c->st[SLOT_RATE];
	return r ? window_free_in(&r->w, r->limit, c->now) : 0;
}

static int64_t cap_retry_after(const chk *c)
{
	const win_state *w = c->st[SLOT_CAP];
	return w ? window_free_in(&w->w, w->limit, c->now) : 0;
}

/* MODEL.md, "At AUTH": in this order; the first that does not pass
 * answers.  Error throttling does not refuse AUTH. */
static const svc_check auth_checks[] = {
	{ "tls_too_old", KIND_NONE, -1, BY_MESSAGE, RC_TLS_TOO_OLD,
	  true, tls_check, NULL, NULL, NULL, NULL, -1, NULL },
	{ "auth_fault", KIND_NONE, -1, BY_MESSAGE, RC_AUTH_TEMPORARY,
	  true, auth_fault_check, NULL, NULL, NULL, NULL, -1, NULL },
	{ "smtp_auth_disabled", KIND_NONE, -1, BY_MAILBOX, RC_AUTH_DISABLED_TENANT,
	  false, auth_disabled_check, NULL, NULL, NULL, NULL, -1, NULL },
	{ "bad_credentials", KIND_NONE, -1, BY_MESSAGE, RC_BAD_CREDENTIALS,
	  false, credentials_check, NULL, NULL, NULL, NULL, -1, NULL },
	{ "basic_auth_disabled", KIND_NONE, -1, BY_TENANT, RC_BASIC_DISABLED,
	  false, basic_disabled_check, NULL, NULL, NULL, NULL, -1, NULL },
	{ "legacy_auth_blocked", KIND_NONE, -1, BY_TENANT, RC_SECURITY_DEFAULTS,
	  false, legacy_block_check, NULL, NULL, NULL, NULL, -1, NULL },
	{ "concurrency", KIND_CONC, SLOT_CONN, BY_LIMITS, RC_CONCURRENCY,
	  true, conc_check, NULL, conc_commit, NULL, NULL, -1, NULL },
};

/* MAIL FROM and RCPT, before the data (svc_envelope): in this order. */
static const svc_check env_checks[] = {
	{ "reject_direct_send", KIND_NONE, -1, BY_TENANT, RC_DIRECT_SEND_REJECTED,
	  true, direct_send_check, NULL, NULL, NULL, NULL, -1, NULL },
	{ "relay_source", KIND_NONE, -1, BY_MESSAGE, RC_RELAY_DENIED,
	  true, relay_source_check, NULL, NULL, NULL, NULL, -1, NULL },
	{ "internal_only", KIND_NONE, -1, BY_MESSAGE, RC_EXTERNAL_NOT_ALLOWED,
	  true, internal_only_check, NULL, NULL, NULL, NULL, -1, NULL },
};

/* MODEL.md, "End of data": in this order; the first that does not pass
 * answers; if all pass, every commit counts the message. */
static const svc_check data_checks[] = {
	{ "concurrency_end_of_data", KIND_CONC, SLOT_CONN, BY_LIMITS, RC_CONCURRENCY,
	  true, conc_eod_check, NULL, NULL, NULL, NULL, -1, NULL },
	{ "data_fault", KIND_NONE, -1, BY_MESSAGE, RC_DATA_TEMPORARY,
	  true, data_fault_check, NULL, NULL, NULL, NULL, -1, NULL },
	{ "throttled_class", KIND_ERROR, -1, BY_MAILBOX, RC_THROTTLED_MAILBOX_FULL,
	  true, throttled_check, NULL, NULL, NULL, NULL, -1, NULL },
	{ "message_size", KIND_NONE, -1, BY_MESSAGE, RC_MESSAGE_SIZE,
	  true, size_check, NULL, NULL, NULL, NULL, -1, NULL },
	{ "recipients_per_message", KIND_NONE, -1, BY_MESSAGE, RC_TOO_MANY_RECIPIENTS,
	  true, recipients_check, NULL, NULL, NULL, NULL,
	  ERR_TOO_MANY_RECIPIENTS, NULL },
	{ "mailbox_full", KIND_NONE, -1, BY_MAILBOX, RC_MAILBOX_FULL,
	  true, quota_check, NULL, quota_commit, NULL, NULL, ERR_MAILBOX_FULL, NULL },
	{ "invalid_license", KIND_NONE, -1, BY_MAILBOX, RC_INVALID_LICENSE,
	  true, license_check, NULL, NULL, NULL, NULL, ERR_INVALID_LICENSE, NULL },
	{ "send_as_denied", KIND_NONE, -1, BY_MESSAGE, RC_SEND_AS_DENIED,
	  true, send_as_check, NULL, NULL, NULL, NULL, ERR_SEND_AS_DENIED, NULL },
	{ "invalid_recipients", KIND_NONE, -1, BY_MESSAGE, RC_INVALID_RECIPIENTS,
	  true, invalid_rcpt_check, NULL, NULL, NULL, NULL,
	  ERR_INVALID_RECIPIENTS, NULL },
	{ "recipient_rate", KIND_SUM, SLOT_RRL, BY_LIMITS, RC_RECIPIENT_RATE,
	  true, rrl_check, rrl_reserve, rrl_commit, rrl_refused, NULL, -1, NULL },
	/* MOERA before TERRL: the narrower, sender-specific limit names its own reason */
	{ "onmicrosoft_external", KIND_SUM, SLOT_MOERA, BY_LIMITS, RC_ONMICROSOFT_EXTERNAL,
	  true, moera_check, moera_reserve, moera_commit, moera_refused, NULL, -1, NULL },
	{ "tenant_external", KIND_SUM, SLOT_EXT, BY_LIMITS, RC_TENANT_EXTERNAL,
	  true, ext_check, ext_reserve, ext_commit, ext_refused, NULL, -1, NULL },
	{ "message_rate", KIND_WINDOW, SLOT_RATE, BY_LIMITS, RC_MESSAGE_RATE,
	  true, rate_check, rate_reserve, rate_commit, NULL, rate_hold, -1, rate_retry_after },
	{ "message_cap", KIND_WINDOW, SLOT_CAP, BY_LIMITS, RC_MESSAGE_CAP,
	  true, cap_check, cap_reserve, cap_commit, NULL, NULL, -1, cap_retry_after },
};

#define N_AUTH_CHECKS (sizeof auth_checks / sizeof auth_checks[0])
#define N_ENV_CHECKS (sizeof env_checks / sizeof env_checks[0])
#define N_DATA_CHECKS (sizeof data_checks / sizeof data_checks[0])

/* Calling a row's functions.  A table loop is unrolled (UNROLL) and then
 * each row's function pointer is a constant; the comparisons below fold
 * away and leave that function inlined, so walking the table costs what
 * the if-chain it replaced cost (measured: docs/DESIGN.md).  A function
 * not listed here is called through its pointer: slower, never wrong. */
#if defined(__GNUC__) && !defined(__clang__)
#define UNROLL _Pragma("GCC unroll 16")
#else
#define UNROLL
#endif
/* The folding needs the call_* functions and the table walkers inlined
 * into their caller: GCC judged call_check too big to inline once the
 * 2026 rows were added, and then ran its 24 comparisons at run time for
 * every row (1,300 instructions a message, a quarter of the run). */
#if defined(__GNUC__)
#define FOLD inline __attribute__((always_inline))
#else
#define FOLD inline
#endif
#define DIRECT(fn, ...) \
	if (f == fn) \
		return fn(__VA_ARGS__)

static FOLD int call_check(int (*f)(const chk *), const chk *c)
{
	DIRECT(tls_check, c);
	DIRECT(auth_fault_check, c);
	DIRECT(auth_disabled_check, c);
	DIRECT(credentials_check, c);
	DIRECT(basic_disabled_check, c);
	DIRECT(legacy_block_check, c);
	DIRECT(conc_check, c);
	DIRECT(direct_send_check, c);
	DIRECT(relay_source_check, c);
	DIRECT(internal_only_check, c);
	DIRECT(conc_eod_check, c);
	DIRECT(data_fault_check, c);
	DIRECT(throttled_check, c);
	DIRECT(size_check, c);
	DIRECT(recipients_check, c);
	DIRECT(quota_check, c);
	DIRECT(license_check, c);
	DIRECT(send_as_check, c);
	DIRECT(invalid_rcpt_check, c);
	DIRECT(rrl_check, c);
	DIRECT(ext_check, c);
	DIRECT(rate_check, c);
	DIRECT(moera_check, c);
	DIRECT(cap_check, c);
	return f(c);
}

static FOLD int call_reserve(int (*f)(const chk *), const chk *c)
{
	DIRECT(rrl_reserve, c);
	DIRECT(ext_reserve, c);
	DIRECT(rate_reserve, c);
	DIRECT(moera_reserve, c);
	DIRECT(cap_reserve, c);
	return f(c);
}

static FOLD void call_commit(void (*f)(const chk *, svc_outcome *), const chk *c, svc_outcome *o)
{
	DIRECT(conc_commit, c, o);
	DIRECT(quota_commit, c, o);
	DIRECT(rrl_commit, c, o);
	DIRECT(ext_commit, c, o);
	DIRECT(rate_commit, c, o);
	DIRECT(moera_commit, c, o);
	DIRECT(cap_commit, c, o);
	f(c, o);
}

/* The first row of t that does not pass, with its verdict in *k; NULL if
 * all pass. */
static FOLD const svc_check *first_failing(const svc_check *t, size_t n, const chk *c, int *k)
{
	UNROLL
	for (size_t i = 0; i < n; i++) {
		int r = call_check(t[i].check, c);
		if (r != CHK_PASS) {
			*k = r;
			return &t[i];
		}
	}
	return NULL;
}

/* Every row's commit (accepted: count the message), in table order. */
static FOLD void commit_all(const svc_check *t, size_t n, const chk *c, svc_outcome *o)
{
	UNROLL
	for (size_t i = 0; i < n; i++)
		if (t[i].commit)
			call_commit(t[i].commit, c, o);
}

/* Every row's reserve: SIM_OK, or SIM_ENOMEM with nothing counted. */
static FOLD int reserve_all(const svc_check *t, size_t n, const chk *c)
{
	UNROLL
	for (size_t i = 0; i < n; i++)
		if (t[i].reserve && call_reserve(t[i].reserve, c) != SIM_OK)
			return SIM_ENOMEM;
	return SIM_OK;
}

static void refusal(const svc_check *row, int k, const scn_limits *L, svc_outcome *o)
{
	assert(k >= 0 && row->rc + k < RC_COUNT); /* a row's classes are consecutive in the catalog */
	o->rc = (scn_reply_class)(row->rc + k);
	o->reply = row->route_reply ? &L->reply[row->rc + k] : NULL;
}

/* ---- sessions ------------------------------------------------------------ */

static int auth_args_ok(const svc *v, int route, int mailbox, int64_t source)
{
	return route >= 0 && (size_t)route < n_routes_of(v->s) && mailbox >= 0 &&
	       (size_t)mailbox < v->n_mbx && source >= 0 && source <= INT32_MAX &&
	       (v->n_sources == 0 || source < v->n_sources);
}

int svc_auth(svc *v, svc_session *sess, int route, int mailbox, int64_t source,
	     const svc_client *client, svc_outcome *out)
{
	static const svc_client oauth = { .fault_u = 1.0 };
	if (!client)
		client = &oauth;
	if (!auth_args_ok(v, route, mailbox, source))
		return SIM_EINVAL;
	int64_t now = clk_now(&v->clock);
	/* both from the record before the session's stores (a memset may
	 * alias v->rec, and the compiler would load it again) */
	mbx *m = mbx_at(v, (size_t)mailbox);
	const struct route0 *r0 = r0_at(v, (size_t)mailbox);
	svc_outcome o = { .rc = RC_OK, .release_ns = now };

	/* Every field but user: AUTH writes the session's 88 bytes. */
	sess->route = route;
	sess->mailbox = mailbox;
	sess->source = (int32_t)source; /* auth_args_ok: < n_sources <= 10^7 */
	sess->open = sess->submitting = sess->held = sess->enveloped = false;
	sess->hold = 0;
	sess->source_mismatch = client->source_mismatch;
	sess->lim = NULL;
	const svc_lim *H = route == 0 ? &r0->lim : &v->rlim[route];

	/* The states straight into the session (zeroed again if refused).
	 * Route 0's route limits are looked up only for a refusal's reply. */
	const scn_limits *L = NULL;
	if (route == 0 && !r0->by_source) {
		memcpy(sess->st, r0->st, sizeof r0->st);
	} else {
		L = limits_of(v, route, mailbox);
		for (int slot = 0; slot < SLOT_COUNT; slot++)
			sess->st[slot] = state_for(v, L, slot, route, mailbox, source);
	}
	for (int slot = SLOT_COUNT; slot < SVC_MAX_SLOTS; slot++)
		sess->st[slot] = NULL;
	chk c = { .v = v, .sess = sess, .H = H, .L = L, .m = m, .st = sess->st, .now = now,
		  .cl = client };
	int k;
	const svc_check *row = first_failing(auth_checks, N_AUTH_CHECKS, &c, &k);
	if (row) {
		L = chk_limits(&c);
		refusal(row, k, L, &o);
		/* Assumption (MODEL.md): only a failed authentication (535) is
		 * tarpitted, not the concurrency refusal. */
		if (!row->route_reply)
			o.reply_delay_ns = L->auth_fail_tarpit_ns;
		memset(sess->st, 0, sizeof sess->st); /* a closed session counts nowhere */
		*out = o;
		return SIM_OK;
	}
	commit_all(auth_checks, N_AUTH_CHECKS, &c, &o);
	lim_conc_change(&m->sessions, now, +1, 0);
	v->open_total++;
	sess->lim = H;
	sess->open = true;
	*out = o;
	return SIM_OK;
}

int svc_submission_begin(svc *v, svc_session *sess)
{
	if (!sess->open || sess->submitting)
		return SIM_EINVAL;
	conc_state *cs = sess->st[SLOT_CONN];
	int64_t now = clk_now(&v->clock);
	if (cs)
		lim_conc_change(&cs->c, now, 0, +1);
	/* the mailbox's own count, for submitting_avg whatever the cap counts */
	lim_conc_change(&mbx_at(v, (size_t)sess->mailbox)->sessions, now, 0, +1);
	sess->submitting = true;
	return SIM_OK;
}

static void submission_end(svc *v, svc_session *sess, int64_t now)
{
	if (!sess->submitting)
		return;
	conc_state *cs = sess->st[SLOT_CONN];
	if (cs)
		lim_conc_change(&cs->c, now, 0, -1);
	lim_conc_change(&mbx_at(v, (size_t)sess->mailbox)->sessions, now, 0, -1);
	sess->submitting = false;
}

static hold_node *hold_of(const svc *v, const svc_session *s)
{
	assert(s->held && s->hold > 0 && s->hold <= v->n_holds);
	return &v->holds[s->hold - 1];
}

/* A free node (1 + its index), the table doubled if none is; 0: ENOMEM
 * (the table is then as it was). */
static uint32_t hold_alloc(svc *v)
{
	if (!v->free_hold) {
		uint32_t n = v->n_holds ? v->n_holds * 2 : 8;
		if (n > HOLD_MAX || n < v->n_holds)
			n = HOLD_MAX;
		if (n <= v->n_holds)
			return 0;
		hold_node *nh = sim_malloc(&v->a, (size_t)n * sizeof *nh);
		if (!nh)
			return 0;
		if (v->n_holds) {
			memcpy(nh, v->holds, (size_t)v->n_holds * sizeof *nh);
			sim_free(&v->a, v->holds, (size_t)v->n_holds * sizeof *nh);
		}
		for (uint32_t i = v->n_holds; i < n; i++)
			nh[i].next_free = i + 1 < n ? i + 2 : 0;
		v->free_hold = v->n_holds + 1;
		v->holds = nh;
		v->n_holds = n;
	}
	uint32_t h = v->free_hold;
	v->free_hold = v->holds[h - 1].next_free;
	return h;
}

static void hold_release(svc *v, uint32_t h)
{
	v->holds[h - 1].next_free = v->free_hold;
	v->free_hold = h;
}

static void hold_remove(svc *v, rate_state *r, svc_session *s)
{
	hold_node *n = hold_of(v, s);
	if (n->prev)
		hold_of(v, n->prev)->next = n->next;
	else
		r->head = n->next;
	if (n->next)
		hold_of(v, n->next)->prev = n->prev;
	else
		r->tail = n->prev;
	hold_release(v, s->hold);
	s->hold = 0;
	s->held = false;
}

int svc_submission_abort(svc *v, svc_session *sess)
{
	if (!sess->open)
		return SIM_EINVAL;
	if (sess->held)
		hold_remove(v, sess->st[SLOT_RATE], sess);
	submission_end(v, sess, clk_now(&v->clock));
	sess->enveloped = false;
	return SIM_OK;
}

void svc_quit(svc *v, svc_session *sess)
{
	if (!sess->open)
		return;
	int64_t now = clk_now(&v->clock);
	if (sess->held)
		hold_remove(v, sess->st[SLOT_RATE], sess);
	submission_end(v, sess, now);
	conc_state *cs = sess->st[SLOT_CONN];
	if (cs)
		lim_conc_change(&cs->c, now, -1, 0);
	lim_conc_change(&mbx_at(v, (size_t)sess->mailbox)->sessions, now, -1, 0);
	v->open_total--;
	sess->open = false;
	sess->st[SLOT_CONN] = NULL;
}

/* ---- prefetching ---------------------------------------------------- */

void svc_prefetch_auth(const svc *v, int route, int mailbox)
{
	if (route != 0 || mailbox < 0 || (size_t)mailbox >= v->n_mbx)
		return;
	/* What AUTH and the submission after it read of this mailbox: the
	 * hot part of its record, from the index alone (no dependent load). */
	const char *p = v->rec + (size_t)mailbox * v->rec_size;
	for (size_t off = 0; off < v->rec_hot; off += 128) {
		/* two lines a turn (the next line, if past the hot part, is
		 * still the record's: its cold part is longer than a line) */
		__builtin_prefetch(p + off, 1);
		__builtin_prefetch(p + off + 64, 1);
	}
}

void svc_prefetch_submit(const svc *v, const svc_session *sess)
{
	(void)v;
	const sum_state *rrl = sess->st[SLOT_RRL];
	if (rrl && rrl->s.cap > 0) {
		size_t k = rrl->s.head + rrl->s.len;
		if (k >= rrl->s.cap)
			k -= rrl->s.cap;
		__builtin_prefetch(rrl->s.e + k * LIM_SUM_ENTRY_BYTES, 1);
	}
	const rate_state *r = sess->st[SLOT_RATE];
	if (r && r->w.cap > 0) {
		size_t k = r->w.head + r->w.len;
		if (k >= r->w.cap)
			k -= r->w.cap;
		__builtin_prefetch(&r->w.t[r->w.head], 0);
		__builtin_prefetch(&r->w.t[k], 1);
	}
}

/* ---- end of data ---------------------------------------------------- */

static void rate_wake(void *arg);

/* Tarpit: the instant the window has room again (the limit-th latest
 * acceptance leaves it), if a wake-up is not already pending. */
static int rate_schedule_wake(svc *v, rate_state *r, int64_t now)
{
	if (clk_pending(&v->clock, &r->wake))
		return SIM_OK;
	lim_window_expire(&r->w, now);
	return clk_schedule_at(&v->clock, now + window_free_in(&r->w, r->limit, now), rate_wake, r,
			       &r->wake);
}

/* CHK_HOLD: make sure a wake-up is pending, then queue the session. */
static int rate_hold(const chk *c)
{
	svc *v = c->v;
	rate_state *r = c->st[SLOT_RATE];
	svc_session *sess = c->sess;
	uint32_t h = hold_alloc(v);
	if (!h)
		return SIM_ENOMEM;
	int rc = rate_schedule_wake(v, r, c->now);
	if (rc != SIM_OK) {
		hold_release(v, h);
		return rc;
	}
	hold_node *n = &v->holds[h - 1];
	n->msg = *c->msg;
	n->next = NULL;
	n->prev = r->tail;
	sess->held = true;
	sess->hold = h;
	if (r->tail)
		hold_of(v, r->tail)->next = sess;
	else
		r->head = sess;
	r->tail = sess;
	return SIM_OK;
}

static chk chk_of(svc *v, svc_session *sess, const svc_message *msg, int64_t now)
{
	return (chk){ .v = v, .sess = sess, .msg = msg, .H = sess->lim, .L = NULL,
		      .m = mbx_at(v, (size_t)sess->mailbox), .st = sess->st, .now = now };
}

/* A held message answered from the wake-up: count it through every
 * commit, each reserved first; a reserve that fails skips that count and
 * is reported through svc_status (the answer cannot be taken back). */
static void commit_held(svc *v, svc_session *s, const svc_message *msg, svc_outcome *o)
{
	chk c = chk_of(v, s, msg, o->release_ns);
	for (size_t i = 0; i < N_DATA_CHECKS; i++) {
		const svc_check *row = &data_checks[i];
		if (!row->commit)
			continue;
		if (row->reserve && row->reserve(&c) != SIM_OK) {
			if (v->status == SIM_OK)
				v->status = SIM_ENOMEM;
			continue;
		}
		row->commit(&c, o);
	}
}

/* Answer held sessions, first come first served, while the window has
 * room at this instant; then wait for the next room. */
static void rate_wake(void *arg)
{
	rate_state *r = arg;
	svc *v = r->owner;
	int64_t now = clk_now(&v->clock);
	while (r->head) {
		lim_window_expire(&r->w, now);
		if ((int64_t)lim_window_len(&r->w) >= r->limit) {
			int rc = rate_schedule_wake(v, r, now);
			if (rc != SIM_OK && v->status == SIM_OK)
				v->status = rc;
			return;
		}
		svc_session *s = r->head;
		svc_message msg = hold_of(v, s)->msg; /* its node is freed next */
		hold_remove(v, r, s);
		svc_outcome o = { .rc = RC_OK, .release_ns = now };
		commit_held(v, s, &msg, &o);
		submission_end(v, s, now);
		if (v->hooks.held_answered)
			v->hooks.held_answered(v->hooks.ctx, s, &o);
	}
}

/* The refusal by `row`: reserve its error-throttle count, then note it. */
static int submit_refused(const chk *c, const svc_check *row, int k, svc_outcome *o)
{
	svc *v = c->v;
	const scn_limits *L = chk_limits(c);
	const scn_error_throttle *et = row->err >= 0 ? &L->error_throttle[row->err] : NULL;
	scn_error_class err = (scn_error_class)row->err;
	if (et && et->enabled && mbx_reserve_error(c->m, &v->a, err) != SIM_OK)
		return SIM_ENOMEM;
	if (!c->sess->submitting)
		svc_submission_begin(v, c->sess);
	if (row->refused)
		row->refused(c);
	if (et && mbx_record_error(c->m, &v->a, err, et, c->now)) {
		if (c->m->throttled_max > v->thr_max_all)
			v->thr_max_all = c->m->throttled_max;
		if (v->hooks.throttle_started)
			v->hooks.throttle_started(v->hooks.ctx, c->sess->mailbox, err, c->now,
						  c->m->cold->throttled_until[err]);
	}
	refusal(row, k, L, o);
	if (row->retry_after)
		o->retry_after_ns = row->retry_after(c);
	return SIM_OK;
}

/* Every check passed: reserve every count, then commit them all. */
static int submit_accepted(const chk *c, svc_outcome *o)
{
	if (reserve_all(data_checks, N_DATA_CHECKS, c) != SIM_OK)
		return SIM_ENOMEM;
	if (!c->sess->submitting)
		svc_submission_begin(c->v, c->sess);
	commit_all(data_checks, N_DATA_CHECKS, c, o);
	return SIM_OK;
}

int svc_envelope(svc *v, svc_session *sess, const svc_message *msg, svc_outcome *out)
{
	if (!sess->open || sess->held || sess->submitting)
		return SIM_EINVAL;
	int64_t now = clk_now(&v->clock);
	chk c = chk_of(v, sess, msg, now);
	svc_outcome o = { .rc = RC_OK, .release_ns = now };
	int k;
	const svc_check *row = first_failing(env_checks, N_ENV_CHECKS, &c, &k);
	if (row)
		refusal(row, k, chk_limits(&c), &o);
	sess->enveloped = !row;
	*out = o;
	return SIM_OK;
}

int svc_submit(svc *v, svc_session *sess, const svc_message *msg, svc_outcome *out)
{
	if (!sess->open || sess->held)
		return SIM_EINVAL;
	int64_t now = clk_now(&v->clock);
	chk c = chk_of(v, sess, msg, now);
	svc_outcome o = { .rc = RC_OK, .release_ns = now };
	int k;
	const svc_check *row = NULL;
	if (!sess->enveloped) {
		/* svc_envelope was not called: its checks come first */
		row = first_failing(env_checks, N_ENV_CHECKS, &c, &k);
		if (row) {
			refusal(row, k, chk_limits(&c), &o);
			submission_end(v, sess, now);
			*out = o;
			return SIM_OK;
		}
	}
	sess->enveloped = false;  /* consumed by this message */
	row = first_failing(data_checks, N_DATA_CHECKS, &c, &k);
	int rc;
	if (row && k == CHK_HOLD) {
		rc = row->hold(&c);
		if (rc != SIM_OK)
			return rc;
		if (!sess->submitting)
			svc_submission_begin(v, sess);
		o.held = true;
		*out = o;
		return SIM_OK;
	}
	rc = row ? submit_refused(&c, row, k, &o) : submit_accepted(&c, &o);
	if (rc != SIM_OK)
		return rc;
	submission_end(v, sess, now);
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
		n += t < mbx_at(v, i)->throttled_max; /* some class throttled at t */
	return n;
}


int64_t svc_mailbox_size(const svc *v, int mailbox)
{
	if (mailbox < 0 || (size_t)mailbox >= v->n_mbx)
		return 0;
	return mbx_at(v, (size_t)mailbox)->size_bytes;
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

int svc_mailbox_now(const svc *v, int mailbox, int64_t t, svc_mailbox_state *out)
{
	if (mailbox < 0 || (size_t)mailbox >= v->n_mbx)
		return SIM_EINVAL;
	const mbx *m = mbx_at(v, (size_t)mailbox);
	out->sessions = m->sessions.open;
	out->submitting = m->sessions.submitting;
	const sum_state *rs = mailbox_rrl(v, mailbox);
	out->rrl_sum = rs ? lim_sum_at(&rs->s, t) : 0;
	out->rrl_limit = limits_of(v, 0, mailbox)->recipient_rate.limit;
	out->size_bytes = m->size_bytes;
	out->throttled_class = -1;
	out->throttled_until = 0;
	for (int c = 0; c < ERR_CLASS_COUNT; c++)
		if (t < m->cold->throttled_until[c] && m->cold->throttled_until[c] > out->throttled_until) {
			out->throttled_class = c;
			out->throttled_until = m->cold->throttled_until[c];
		}
	return SIM_OK;
}

void svc_mailbox_figures(const svc *v, int mailbox, int64_t end_ns, res_entity *out)
{
	if (mailbox < 0 || (size_t)mailbox >= v->n_mbx)
		return;
	const mbx *m = mbx_at(v, (size_t)mailbox);
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
	f[FIG_THROTTLE_PERIODS] = (double)m->cold->periods;
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
	f[FIG_RRL_FIRST_REFUSAL] = m->cold->first_rrl_refusal_ns >= 0
		? (double)m->cold->first_rrl_refusal_ns / (double)SCN_NS_PER_S : NAN;
	f[FIG_SUBMITTING_AVG] = lim_conc_submitting_avg(&m->sessions, end_ns);
	int64_t grown = m->size_bytes - v->s->mailboxes[mailbox].size_bytes; /* sizes only grow */
	f[FIG_SENT_ITEMS_GROWTH] = (double)grown;
	f[FIG_THROTTLE_FIRST] = m->cold->first_throttle_ns >= 0
		? (double)m->cold->first_throttle_ns / (double)SCN_NS_PER_S : NAN;
	for (int c = 0; c < ERR_CLASS_COUNT; c++)
		f[FIG_THROTTLE_PERIODS_MAILBOX_FULL + c] = (double)m->cold->periods_by[c];
}

_Static_assert(FIG_THROTTLE_PERIODS_INVALID_RECIPIENTS - FIG_THROTTLE_PERIODS_MAILBOX_FULL + 1 == ERR_CLASS_COUNT &&
	       FIG_THROTTLE_PERIODS_SEND_AS_DENIED - FIG_THROTTLE_PERIODS_MAILBOX_FULL == ERR_SEND_AS_DENIED &&
	       FIG_THROTTLE_PERIODS_INVALID_LICENSE - FIG_THROTTLE_PERIODS_MAILBOX_FULL == ERR_INVALID_LICENSE &&
	       FIG_THROTTLE_PERIODS_TOO_MANY_RECIPIENTS - FIG_THROTTLE_PERIODS_MAILBOX_FULL == ERR_TOO_MANY_RECIPIENTS,
	       "the per-class throttle figures follow scn_error_class");

/* One tenant window's four figures, from first_fig (limit, blocked time,
 * first reached, first refusal): NaN, 0, NaN, NaN when no limits use it. */
static void tenant_window_figures(const svc *v, int slot, int64_t end_ns, double *f)
{
	const sum_state *st = state_at(v, slot, SCOPE_TENANT, 0);
	if (!st || !st->h.inited) {
		f[0] = NAN;
		f[1] = 0.0;
		f[2] = f[3] = NAN;
		return;
	}
	f[0] = (double)st->s.limit;
	f[1] = (double)lim_sum_blocked_ns(&st->s, end_ns) / (double)SCN_NS_PER_S;
	f[2] = st->s.first_reached_ns >= 0 ? (double)st->s.first_reached_ns / (double)SCN_NS_PER_S : NAN;
	f[3] = st->first_refusal_ns >= 0 ? (double)st->first_refusal_ns / (double)SCN_NS_PER_S : NAN;
}

_Static_assert(FIG_TERRL_BLOCKED_TIME == FIG_TERRL_LIMIT + 1 && FIG_TERRL_FIRST_REACHED == FIG_TERRL_LIMIT + 2 &&
	       FIG_TERRL_FIRST_REFUSAL == FIG_TERRL_LIMIT + 3 && FIG_MOERA_BLOCKED_TIME == FIG_MOERA_LIMIT + 1 &&
	       FIG_MOERA_FIRST_REACHED == FIG_MOERA_LIMIT + 2 && FIG_MOERA_FIRST_REFUSAL == FIG_MOERA_LIMIT + 3,
	       "tenant_window_figures fills four figures in this order");

void svc_tenant_figures(const svc *v, int64_t end_ns, res_entity *out)
{
	tenant_window_figures(v, SLOT_EXT, end_ns, &out->fig[FIG_TERRL_LIMIT]);
	tenant_window_figures(v, SLOT_MOERA, end_ns, &out->fig[FIG_MOERA_LIMIT]);
}

