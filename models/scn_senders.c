/* scn_senders.c - one entry of `senders:`: its mailbox or pool, auth,
 * message, faults, session, outbox, retry policy and route.
 */
#include "scn_int.h"

#include <stdio.h>
#include <string.h>

#include <math.h>

#include "presets.h"
#include "scn_budget.h"
#include "units.h"

static const char *const sender_keys[] = { "name", "count", "mailbox", "auth", "tls", "credentials",
	"relay_source", "arrivals", "message", "faults", "client", "session", "outbox_limit", "retry", "route", NULL };
static const char *const tls_names[] = { "1.0", "1.1", "1.2", "1.3", NULL };
static const char *const credentials_names[] = { "valid", "wrong", NULL };
static const char *const relay_source_names[] = { "matches", "changed", NULL };
static const char *const message_keys[] = { "recipients", "external", "size", "group_members", NULL };
static const char *const fault_keys[] = { "send_as_denied", "invalid_recipients", "per", NULL };
static const char *const fault_per_names[] = { "message", "attempt", NULL };
static const char *const session_keys[] = { "connections", "messages_per_session", "idle_timeout",
	"connect_time", "submit_time", "bandwidth", "data_timeout", "batch_size", "batch_pause", "batch_per",
	"message_gap", "ignores_data_reply", "serial_connect", "dial_stop_after", "dial_resume", "read_timeout",
	NULL };
static const char *const batch_per_names[] = { "connection", "instance", NULL };
/* abort_on's kinds besides the reply classes' ids (rpl_info) */
static const char *const abort_kind_names[] = { "off", "any", "transient", "permanent", "timeout", "lifetime", NULL };
static const char *const retry_keys[] = { "policy", "base", "factor", "cap", "jitter", "max_attempts",
	"max_age", "honors_permanent", "honors_retry_after", "abort_on", NULL };
static const char *const jitter_names[] = { "none", "full", "equal", "decorrelated", NULL };
static const char *const auth_names[] = { "basic", "oauth", NULL };
static const char *const assign_names[] = { "per_instance", "round_robin", "least_loaded", NULL };
static const char *const mbref_keys[] = { "pool", "assign", NULL };

static void sender_defaults(scn_sender *d)
{
	memset(d, 0, sizeof *d);
	d->count = 1;
	d->mailbox = -1;
	d->pool = -1;
	d->basic_auth = true;
	d->recipients.kind = DIST_FIXED;
	d->recipients.a = 1;
	d->size.kind = DIST_FIXED;
	d->size.a = 50 * 1024;
	d->connections = 1;
	d->messages_per_session = 1;
	d->connect_time_ns = 300 * 1000000LL;
	d->submit_time_ns = 200 * 1000000LL;
	d->retry.base_ns = 60 * SCN_NS_PER_S;
	d->retry.factor = 1;
	d->retry.jitter = JITTER_NONE;
	d->retry.max_attempts = 1;
	d->retry.honors_permanent = true;
}

/* One item of abort_on: a kind or a reply class's id. */
static void parse_abort_item(scn_ctx *c, const yml_node *n, const char *p, scn_retry *r)
{
	if (!scn_want_scalar(c, n, p, "off, any, transient, permanent, timeout, lifetime or a reply class"))
		return;
	int k = scn_name_index(abort_kind_names, n->str);
	switch (k) {
	case 0: r->abort_on = 0; r->abort_on_classes = 0; return;
	case 1: r->abort_on |= SCN_ABORT_TRANSIENT | SCN_ABORT_PERMANENT | SCN_ABORT_TIMEOUT | SCN_ABORT_LIFETIME; return;
	case 2: r->abort_on |= SCN_ABORT_TRANSIENT; return;
	case 3: r->abort_on |= SCN_ABORT_PERMANENT; return;
	case 4: r->abort_on |= SCN_ABORT_TIMEOUT; return;
	case 5: r->abort_on |= SCN_ABORT_LIFETIME; return;
	default: break;
	}
	int rc = rpl_class_by_id(n->str);
	if (rc > RC_OK) {
		r->abort_on_classes |= UINT64_C(1) << rc;
		return;
	}
	yml_nearest nr = { n->str, NULL, (size_t)-1 };
	for (size_t i = 0; abort_kind_names[i]; i++)
		yml_near_try(&nr, abort_kind_names[i]);
	for (int i = RC_OK + 1; i < RC_COUNT; i++)
		yml_near_try(&nr, rpl_info[i].id);
	if (yml_near_result(&nr))
		scn_err_node(c, n, p, "'%s' is neither a kind (off, any, transient, permanent, timeout, lifetime) nor a "
			     "reply class (did you mean '%s'?)", n->str, yml_near_result(&nr));
	else
		scn_err_node(c, n, p, "'%s' is neither a kind (off, any, transient, permanent, timeout, lifetime) nor a "
			     "reply class of the catalog", n->str);
}

/* retry.abort_on: one item or a list of them (their union); off alone. */
static void parse_abort_on(scn_ctx *c, const yml_node *n, const char *p, scn_retry *r)
{
	r->abort_on = 0;
	r->abort_on_classes = 0;
	if (n->type != YML_SEQ) {
		parse_abort_item(c, n, p, r);
		return;
	}
	char q[SCN_PATH_MAX + 24];
	for (size_t i = 0; i < n->n; i++) {
		snprintf(q, sizeof q, "%s[%zu]", p, i);
		const yml_node *it = n->items[i].val;
		if (it->type == YML_SCALAR && !strcmp(it->str, "off")) {
			scn_err_node(c, it, q, "off stands alone (abort_on: off), not in a list");
			continue;
		}
		parse_abort_item(c, it, q, r);
	}
}

static void parse_retry(scn_ctx *c, const yml_node *n, const char *path, scn_retry *r)
{
	char p[SCN_PATH_MAX];
	int e;
	if (n->type == YML_SCALAR) { /* retry: postfix */
		if ((e = scn_val_enum(c, n, path, preset_retry_names)) >= 0)
			preset_retry_apply((size_t)e, r);
		return;
	}
	const yml_node *m = scn_want_map(c, n, path);
	if (!m)
		return;
	scn_check_keys(c, m, path, retry_keys);
	int policy = 0;
	if ((e = scn_opt_enum(c, m, "policy", path, preset_retry_names)) >= 0)
		policy = e;
	preset_retry_apply((size_t)policy, r);
	scn_opt_dur(c, m, "base", path, &r->base_ns);
	yml_node *f = yml_get(m, "factor");
	if (f) {
		double v;
		scn_pjoin(p, path, "factor");
		if (!preset_retry_grows((size_t)policy))
			scn_err_node(c, f, p, "factor applies to policy exponential only");
		else if (scn_val_dbl(c, f, p, unit_parse_real, "a number", &v)) {
			if (!(v >= 1) || v > 1000)
				scn_err_node(c, f, p, "must be in [1, 1000], got %g", v);
			else
				r->factor = v;
		}
	}
	scn_opt_dur(c, m, "cap", path, &r->cap_ns);
	if ((e = scn_opt_enum(c, m, "jitter", path, jitter_names)) >= 0)
		r->jitter = (scn_jitter)e;
	scn_opt_count(c, m, "max_attempts", path, 0, 1000000000LL, "10^9", &r->max_attempts);
	scn_opt_dur(c, m, "max_age", path, &r->max_age_ns);
	scn_opt_bool(c, m, "honors_permanent", path, &r->honors_permanent);
	scn_opt_bool(c, m, "honors_retry_after", path, &r->honors_retry_after);
	yml_node *ab = yml_get(m, "abort_on");
	if (ab) {
		scn_pjoin(p, path, "abort_on");
		parse_abort_on(c, ab, p, r);
	}
	if (r->cap_ns && r->cap_ns < r->base_ns) {
		scn_pjoin(p, path, yml_get(m, "cap") ? "cap" : "base");
		scn_err_node(c, yml_get(m, "cap") ? yml_get(m, "cap") : m, p, "cap is below base");
	}
}

/* Resolve a name among mailboxes then pools; returns 1 mailbox, 2 pool, 0 none. */
static int find_mailbox(const scenario *s, const char *name, int *idx)
{
	for (size_t i = 0; i < s->n_mailboxes; i++)
		if (!strcmp(s->mailboxes[i].name, name)) {
			*idx = (int)i;
			return 1;
		}
	for (size_t i = 0; i < s->n_pools; i++)
		if (!strcmp(s->pools[i].name, name)) {
			*idx = (int)i;
			return 2;
		}
	return 0;
}

static void unknown_mailbox(scn_ctx *c, const scenario *s, const yml_node *n, const char *p, const char *name,
			    bool pool_only)
{
	yml_nearest nr = { name, NULL, (size_t)-1 };
	/* at most 10^4 mailboxes per search and SCN_NEAR_MAX_WORK in a load (all
	 * variants): past that the message goes without a suggestion */
	for (size_t i = 0; !pool_only && i < s->n_mailboxes && i < 10000 && c->near_work < SCN_NEAR_MAX_WORK; i++, c->near_work++)
		yml_near_try(&nr, s->mailboxes[i].name);
	for (size_t i = 0; i < s->n_pools; i++)
		yml_near_try(&nr, s->pools[i].name);
	const char *sug = yml_near_result(&nr);
	const char *what = pool_only ? "pool" : "mailbox or pool";
	if (sug)
		scn_err_node(c, n, p, "no %s named '%s' (did you mean '%s'?)", what, name, sug);
	else
		scn_err_node(c, n, p, "no %s named '%s' in mailboxes", what, name);
}

static void parse_mailbox_ref(scn_ctx *c, const yml_node *n, const char *p, const scenario *s, scn_sender *d)
{
	int idx, kind;
	if (n->type == YML_SCALAR) {
		kind = find_mailbox(s, n->str, &idx);
		if (kind == 1)
			d->mailbox = idx;
		else if (kind == 2) {
			d->pool = idx;
			d->assign = ASSIGN_PER_INSTANCE;
		} else
			unknown_mailbox(c, s, n, p, n->str, false);
		return;
	}
	const yml_node *m = scn_want_map(c, n, p);
	if (!m)
		return;
	scn_check_keys(c, m, p, mbref_keys);
	yml_node *pn = yml_get(m, "pool");
	char q[SCN_PATH_MAX];
	scn_pjoin(q, p, "pool");
	if (!pn) {
		scn_err_node(c, m, p, "expected a mailbox name or {pool: NAME, assign: per_instance|round_robin|least_loaded}");
		return;
	}
	if (!scn_want_scalar(c, pn, q, "a pool name"))
		return;
	kind = find_mailbox(s, pn->str, &idx);
	if (kind != 2) {
		if (kind == 1)
			scn_err_node(c, pn, q, "'%s' is a mailbox, not a pool", pn->str);
		else
			unknown_mailbox(c, s, pn, q, pn->str, true);
		return;
	}
	d->pool = idx;
	d->assign = ASSIGN_PER_INSTANCE;
	int e = scn_opt_enum(c, m, "assign", p, assign_names);
	if (e >= 0)
		d->assign = (scn_assign)e;
}

/* The session keys of the client behaviours (docs/SCENARIOS.md
 * "session"): pacing, the discarded data reply, serialised connects and a
 * pool that stops dialling. */
static void parse_client_session(scn_ctx *c, const yml_node *sub, const char *p, scn_sender *d)
{
	char q[SCN_PATH_MAX];
	bool bs = scn_opt_count(c, sub, "batch_size", p, 0, 1000000000LL, "10^9", &d->batch_size);
	bool bp = scn_opt_dur(c, sub, "batch_pause", p, &d->batch_pause_ns);
	int e = scn_opt_enum(c, sub, "batch_per", p, batch_per_names);
	if (e >= 0)
		d->batch_per = (scn_batch_per)e;
	if (d->batch_size > 0 && d->batch_pause_ns == 0) {
		scn_pjoin(q, p, bp ? "batch_pause" : "batch_size");
		scn_err_node(c, bp ? yml_get(sub, "batch_pause") : yml_get(sub, "batch_size"), q,
			     "a batch needs a pause longer than 0 (batch_size: N with batch_pause: DURATION)");
	} else if (!bs && (bp || e >= 0)) {
		const char *k = bp ? "batch_pause" : "batch_per";
		scn_pjoin(q, p, k);
		scn_err_node(c, yml_get(sub, k), q, "%s needs batch_size (the messages between two pauses)", k);
	}
	scn_opt_dur(c, sub, "message_gap", p, &d->message_gap_ns);
	scn_opt_bool(c, sub, "ignores_data_reply", p, &d->ignores_data_reply);
	scn_opt_bool(c, sub, "serial_connect", p, &d->serial_connect);
	bool ds = scn_opt_count(c, sub, "dial_stop_after", p, 0, 1000000000LL, "10^9", &d->dial_stop_after);
	yml_node *dr = yml_get(sub, "dial_resume");
	scn_pjoin(q, p, "dial_resume");
	if (dr && !ds) {
		scn_err_node(c, dr, q, "dial_resume needs dial_stop_after (the failed connections that stop the pool)");
	} else if (dr && dr->type == YML_SCALAR && !strcmp(dr->str, "next_message")) {
		d->dial_resume_ns = 0;
	} else if (dr && scn_opt_dur(c, sub, "dial_resume", p, &d->dial_resume_ns) && d->dial_resume_ns == 0) {
		scn_err_node(c, dr, q, "must be longer than 0, or next_message");
	}
}

/* A sender's `session:` mapping, at path p. */
static void parse_session(scn_ctx *c, const yml_node *sub, const char *p, scn_sender *d)
{
	scn_check_keys(c, sub, p, session_keys);
	scn_opt_count(c, sub, "connections", p, 1, 100000, "10^5", &d->connections);
	yml_node *mps = yml_get(sub, "messages_per_session");
	if (mps && mps->type == YML_SCALAR && !strcmp(mps->str, "unlimited"))
		d->messages_per_session = INT64_MAX; /* while the outbox is not empty */
	else
		scn_opt_count(c, sub, "messages_per_session", p, 1, 1000000000LL, "10^9 (or unlimited)",
			      &d->messages_per_session);
	scn_opt_dur(c, sub, "idle_timeout", p, &d->idle_timeout_ns);
	char q[SCN_PATH_MAX];
	yml_node *v;
	scn_pjoin(q, p, "connect_time");
	if ((v = yml_get(sub, "connect_time")))
		scn_parse_duration(c, v, q, &d->connect_time_ns, &d->connect_time);
	scn_pjoin(q, p, "submit_time");
	if ((v = yml_get(sub, "submit_time")))
		scn_parse_duration(c, v, q, &d->submit_time_ns, &d->submit_time);
	yml_node *dt = yml_get(sub, "data_timeout");
	if (dt && dt->type == YML_SCALAR && (!strcmp(dt->str, "off") || !strcmp(dt->str, "none")))
		d->data_timeout_ns = 0;
	else if (scn_opt_dur(c, sub, "data_timeout", p, &d->data_timeout_ns) && d->data_timeout_ns == 0) {
		scn_pjoin(q, p, "data_timeout");
		scn_err_node(c, dt, q, "must be positive (or off)");
	}
	yml_node *rt = yml_get(sub, "read_timeout");
	if (rt && rt->type == YML_SCALAR && (!strcmp(rt->str, "off") || !strcmp(rt->str, "none")))
		d->read_timeout_ns = 0;
	else if (scn_opt_dur(c, sub, "read_timeout", p, &d->read_timeout_ns) && d->read_timeout_ns == 0) {
		scn_pjoin(q, p, "read_timeout");
		scn_err_node(c, rt, q, "must be positive (or off)");
	}
	parse_client_session(c, sub, p, d);
	yml_node *bw = yml_get(sub, "bandwidth");
	if (bw && bw->type == YML_SCALAR && (!strcmp(bw->str, "off") || !strcmp(bw->str, "none")))
		d->bandwidth_bytes_per_s = 0;
	else if (scn_opt_dbl(c, sub, "bandwidth", p, unit_parse_bandwidth, "a bandwidth (e.g. 10MB/s)",
			     &d->bandwidth_bytes_per_s) && !(d->bandwidth_bytes_per_s > 0)) {
		scn_pjoin(q, p, "bandwidth");
		scn_err_node(c, bw, q, "must be positive (or off)");
	}
}

/* A sender's `route:` (at path p), resolved among s's routes. */
static void parse_route_ref(scn_ctx *c, const yml_node *rt, const char *p, const scenario *s, scn_sender *d)
{
	if (!scn_want_scalar(c, rt, p, "a route name"))
		return;
	for (size_t i = 0; i < s->n_routes; i++)
		if (!strcmp(s->routes[i].name, rt->str)) {
			d->route = (int)i;
			return;
		}
	yml_nearest nr = { rt->str, NULL, (size_t)-1 };
	for (size_t j = 0; j < s->n_routes; j++)
		yml_near_try(&nr, s->routes[j].name);
	if (yml_near_result(&nr))
		scn_err_node(c, rt, p, "no route named '%s' (did you mean '%s'?)", rt->str, yml_near_result(&nr));
	else
		scn_err_node(c, rt, p, "no route named '%s' (define it under routes:)", rt->str);
}

/* The sub-node at key of mapping key0 of sender n (for a position), or n. */
static const yml_node *at(const yml_node *n, const char *key0, const char *key)
{
	const yml_node *m = yml_get(n, key0);
	const yml_node *k = m && m->type == YML_MAP && key ? yml_get(m, key) : NULL;
	return k ? k : m ? m : n;
}

/* Whether every connect_time drawn is 0 ns (a distribution that may draw
 * 0 draws a positive time again on the next attempt, so it cannot loop
 * for ever at one instant; a replication stops at the bound of refusals
 * at one instant if it ever did, see sender_retry.c). */
static bool always_zero(const scn_duration *t, int64_t fixed_ns)
{
	switch (t->kind) {
	case DUR_FIXED:
		return fixed_ns == 0;
	case DUR_UNIFORM:
		return t->b < 0.5;
	case DUR_EMPIRICAL:
		for (uint32_t i = 0; i < t->n; i++)
			if (t->values_ns[i] >= 0.5 && t->cum[i] > (i ? t->cum[i - 1] : 0))
				return false;
		return true;
	default:
		return false;
	}
}

/* What the sender's keys give together (each key alone is bounded where
 * it is read): products that would pass their bound, and a retry loop
 * that takes no simulated time. */
static void sender_bounds(scn_ctx *c, const yml_node *n, const char *path, const scn_sender *d)
{
	char p[SCN_PATH_MAX], q[SCN_PATH_MAX];
	double gm = d->group_members > 0 ? (double)d->group_members : 1;
	double rmax = scn_dist_max(&d->recipients);
	if (isfinite(rmax) && rmax * gm > (double)SCN_MAX_RECIPIENTS) {
		bool g = d->group_members > 0;
		scn_pjoin(q, path, "message");
		scn_pjoin(p, q, g ? "group_members" : "recipients");
		scn_err_node(c, at(n, "message", g ? "group_members" : "recipients"), p,
			     "up to %.0f recipients x %.0f group members is %.3g people per message, over the bound of 2^40",
			     rmax, gm, rmax * gm);
	}
	double smax = scn_dist_max(&d->size);
	if (d->bandwidth_bytes_per_s > 0 && isfinite(smax) &&
	    smax / d->bandwidth_bytes_per_s > (double)UNIT_MAX_DURATION_NS / 1e9) {
		scn_pjoin(q, path, "session");
		scn_pjoin(p, q, "bandwidth");
		scn_err_node(c, at(n, "session", "bandwidth"), p,
			     "a message of %.0f bytes at %g bytes/s takes %.3g years to send, over the bound of 100 years",
			     smax, d->bandwidth_bytes_per_s, smax / d->bandwidth_bytes_per_s / (365.25 * 86400));
	}
	const scn_retry *r = &d->retry;
	if (always_zero(&d->connect_time, d->connect_time_ns) && r->base_ns == 0 &&
	    (r->max_attempts == 0 || r->max_attempts > SCN_MAX_INSTANT_REFUSALS)) {
		scn_pjoin(p, path, "retry");
		scn_err_node(c, at(n, "retry", yml_get(yml_get(n, "retry"), "base") ? "base" : NULL), p,
			     "with connect_time 0, a back-off base of 0 and max_attempts %s, a refused message would be "
			     "retried for ever at one instant (a zero-time livelock): give a connect_time, a base, "
			     "or max_attempts of at most %d", r->max_attempts ? "this high" : "unlimited",
			     SCN_MAX_INSTANT_REFUSALS);
	}
}

void scn_parse_sender(scn_ctx *c, const yml_node *n, size_t index, const scenario *s, const yml_node *mailboxes,
			 scn_sender *d)
{
	char path[SCN_PATH_MAX], p[SCN_PATH_MAX];
	const yml_node *sub;
	size_t nerr0 = c->nerr;
	sender_defaults(d);
	snprintf(path, sizeof path, "senders[%zu]", index);
	if (n->type != YML_MAP) {
		scn_err_node(c, n, path, "a sender must be a mapping (name:, count:, mailbox:, arrivals:, ...)");
		return;
	}
	if (!yml_get(n, "name"))
		scn_err_node(c, n, path, "a sender needs a name");
	else if (scn_opt_name(c, n, "name", "senders", d->name))
		snprintf(path, sizeof path, "senders.%s", d->name);
	scn_check_keys(c, n, path, sender_keys);
	bool count_given = scn_opt_count(c, n, "count", path, 1, SCN_MAX_INSTANCES, "10^7", &d->count);
	yml_node *mb = yml_get(n, "mailbox");
	scn_pjoin(p, path, "mailbox");
	if (mb)
		parse_mailbox_ref(c, mb, p, s, d);
	else if (mailboxes && mailboxes->type == YML_SEQ && mailboxes->n == 1 && s->n_pools <= 1 &&
		 (s->n_pools == 1 || s->n_mailboxes == 1)) {
		if (s->n_pools == 1)
			d->pool = 0;
		else
			d->mailbox = 0;
	} else
		scn_err_node(c, n, path, "a sender needs a mailbox (there is not exactly one mailbox to default to)");
	int e = scn_opt_enum(c, n, "auth", path, auth_names);
	if (e >= 0)
		d->basic_auth = e == 0;
	if ((e = scn_opt_enum(c, n, "tls", path, tls_names)) >= 0)
		d->tls_too_old = e < 2;
	if ((e = scn_opt_enum(c, n, "credentials", path, credentials_names)) >= 0)
		d->bad_credentials = e == 1;
	if ((e = scn_opt_enum(c, n, "relay_source", path, relay_source_names)) >= 0)
		d->source_mismatch = e == 1;
	scn_pjoin(p, path, "arrivals");
	if (yml_get(n, "arrivals"))
		scn_parse_arrivals(c, yml_get(n, "arrivals"), p, s, d, count_given);
	else
		scn_err_node(c, n, path, "a sender needs arrivals (poisson, periodic, bursts, trace or record)");
	scn_pjoin(p, path, "message");
	if ((sub = scn_want_map(c, yml_get(n, "message"), p))) {
		char q[SCN_PATH_MAX];
		scn_check_keys(c, sub, p, message_keys);
		yml_node *v;
		scn_pjoin(q, p, "recipients");
		if ((v = yml_get(sub, "recipients")))
			scn_parse_dist(c, v, q, SCN_V_COUNT, &d->recipients);
		scn_opt_prob(c, sub, "external", p, &d->external);
		scn_pjoin(q, p, "size");
		if ((v = yml_get(sub, "size")))
			scn_parse_dist(c, v, q, SCN_V_SIZE, &d->size);
		scn_opt_count(c, sub, "group_members", p, 0, 1000000, "10^6", &d->group_members);
	}
	scn_pjoin(p, path, "faults");
	if ((sub = scn_want_map(c, yml_get(n, "faults"), p))) {
		scn_check_keys(c, sub, p, fault_keys);
		bool a = scn_opt_prob(c, sub, "send_as_denied", p, &d->p_send_as_denied);
		bool b = scn_opt_prob(c, sub, "invalid_recipients", p, &d->p_invalid_recipients);
		if ((a || b) && d->p_send_as_denied + d->p_invalid_recipients > 1 + 1e-12)
			scn_err_node(c, sub, p, "send_as_denied + invalid_recipients = %g, over 1",
				 d->p_send_as_denied + d->p_invalid_recipients);
		int per = scn_opt_enum(c, sub, "per", p, fault_per_names);
		if (per >= 0)
			d->faults_per_attempt = per == 1;
	}
	/* a client profile first: the sender's session and retry keys then
	 * override what it sets */
	if ((e = scn_opt_enum(c, n, "client", path, preset_client_names)) >= 0)
		preset_client_apply((size_t)e, d);
	scn_pjoin(p, path, "session");
	if ((sub = scn_want_map(c, yml_get(n, "session"), p)))
		parse_session(c, sub, p, d);
	scn_opt_limit(c, n, "outbox_limit", path, &d->outbox_limit);
	yml_node *r = yml_get(n, "retry");
	if (r && r->type != YML_NULL) {
		scn_pjoin(p, path, "retry");
		parse_retry(c, r, p, &d->retry);
	}
	yml_node *rt = yml_get(n, "route");
	if (rt) {
		scn_pjoin(p, path, "route");
		parse_route_ref(c, rt, p, s, d);
	}
	if (c->nerr == nerr0)
		sender_bounds(c, n, path, d);
}
