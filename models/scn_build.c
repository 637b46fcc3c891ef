/* scn_build.c - one scenario from a tree: the top-level keys, the
 * tenant, routes, mailboxes and senders, in the order that lets each
 * resolve names against the ones before; and freeing a scenario.
 */
#include "scn_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "presets.h"
#include "status.h"
#include "units.h"

static const char *const top_keys[] = { "name", "description", "start", "timezone", "duration", "seed",
	"replications", "series_step", "tenant", "mailboxes", "senders", "limits", "routes",
	"variants", "sweep", NULL };
static const char *const tenant_keys[] = { "smtp_client_auth_disabled", "basic_auth_enabled",
	"legacy_auth_block", "reject_direct_send", "licenses", "external_recipient_limit", "terrl_enforced", NULL };
static const char *const legacy_names[] = { "none", "security_defaults", "conditional_access", NULL };

/* Basic authentication for SMTP AUTH is off by default for existing
 * tenants from the end of December 2026, and admins can turn it back on
 * (B26, MC786): a tenant that says nothing follows the scenario's start.
 * The day is not announced more precisely than "end of December":
 * ASSUMPTION 2027-01-01T00:00:00Z. */
static int64_t basic_auth_off_from(void)
{
	return unit_days_from_civil(2027, 1, 1) * 86400;
}

/* TERRL is enforced by tenant size (TERRL, MC1023294): tenants of up to
 * 500 licenses since April 2025 (phases 1-3); phase 4, all larger
 * tenants, paused since the 2025-07-14 update, with no date since.  So a
 * tenant that says nothing gets the `auto` limit when it has at most 500
 * licenses and none above; an explicit external_recipient_limit is
 * enforced; `terrl_enforced` overrides either way (false: off). */
static void terrl_enforcement(scn_ctx *c, const yml_node *m, bool limit_given, scn_tenant *t)
{
	bool enforced = limit_given || t->licenses <= 500;
	if (m)
		scn_opt_bool(c, m, "terrl_enforced", "tenant", &enforced);
	if (!enforced)
		t->external_recipient_limit = 0;
	else if (!limit_given)
		t->external_recipient_limit = preset_tenant_external_auto(t->licenses);
}

static void parse_tenant(scn_ctx *c, const yml_node *n, scn_tenant *t, int64_t start_unix_s)
{
	const yml_node *m = scn_want_map(c, n, "tenant");
	t->smtp_client_auth_disabled = false;
	t->basic_auth_enabled = start_unix_s < basic_auth_off_from();
	t->licenses = 1;
	t->external_recipient_limit = 0;
	if (!m) {
		terrl_enforcement(c, NULL, false, t);
		return;
	}
	scn_check_keys(c, m, "tenant", tenant_keys);
	scn_opt_bool(c, m, "smtp_client_auth_disabled", "tenant", &t->smtp_client_auth_disabled);
	scn_opt_bool(c, m, "basic_auth_enabled", "tenant", &t->basic_auth_enabled);
	int lb = scn_opt_enum(c, m, "legacy_auth_block", "tenant", legacy_names);
	if (lb >= 0)
		t->legacy_auth_block = (scn_legacy_block)lb;
	scn_opt_bool(c, m, "reject_direct_send", "tenant", &t->reject_direct_send);
	scn_opt_count(c, m, "licenses", "tenant", 1, 100000000LL, "10^8", &t->licenses);
	yml_node *e = yml_get(m, "external_recipient_limit");
	if (e) {
		if (e->type == YML_SCALAR && !strcmp(e->str, "auto"))
			t->external_recipient_limit = preset_tenant_external_auto(t->licenses);
		else
			scn_opt_limit(c, m, "external_recipient_limit", "tenant", &t->external_recipient_limit);
	}
	terrl_enforcement(c, m, e != NULL, t);
}

static void parse_routes(scn_ctx *c, const yml_node *n, scenario *s, const scn_limits *base)
{
	size_t count = 1;
	const yml_node *m = scn_want_map(c, n, "routes");
	if (m)
		count += m->n;
	s->routes = scn_xalloc(c, count * sizeof *s->routes);
	if (!s->routes)
		return;
	s->n_routes = count;
	snprintf(s->routes[0].name, sizeof s->routes[0].name, "smtp_auth");
	s->routes[0].limits = *base;
	for (size_t i = 0; m && i < m->n; i++) {
		scn_route *r = &s->routes[i + 1];
		const char *name = m->items[i].key;
		char p[SCN_PATH_MAX];
		scn_pjoin(p, "routes", name);
		if (strlen(name) >= SCN_NAME_MAX || !name[0] || !strcmp(name, "smtp_auth")) {
			scn_err_at(c, m->items[i].line, m->items[i].col, p,
			       !strcmp(name, "smtp_auth") ? "smtp_auth is the default route: set its limits under limits:"
							  : "a route name must have 1 to 127 characters");
			continue;
		}
		snprintf(r->name, sizeof r->name, "%s", name);
		const yml_node *rm = m->items[i].val;
		if (rm->type == YML_SCALAR) { /* name: preset */
			char q[SCN_PATH_MAX];
			scn_pjoin(q, p, "preset");
			scn_val_preset(c, rm, q, &r->limits);
			continue;
		}
		if (!(rm = scn_want_map(c, rm, p)) || !yml_get(rm, "preset")) {
			scn_err_at(c, m->items[i].line, m->items[i].col, p,
			       "a route needs a preset (external, relay-connector, direct-send, hve, exchange-server, exchange-online)");
			continue;
		}
		scn_parse_limits(c, rm, p, &r->limits);
	}
}

/* Whether timestamp text t names its offset (Z, +hh:mm, -hh:mm) after
 * the date: without one it is local time in the scenario's timezone. */
bool scn_ts_has_offset(const char *t)
{
	while (*t == ' ' || *t == '\t')
		t++;
	size_t n = strlen(t);
	while (n > 0 && (t[n - 1] == ' ' || t[n - 1] == '\t'))
		n--;
	if (n > 0 && (t[n - 1] == 'Z' || t[n - 1] == 'z'))
		return true;
	for (size_t i = 10; i < n; i++) /* after YYYY-MM-DD */
		if (t[i] == '+' || t[i] == '-')
			return true;
	return false;
}

/* `timezone` and `start`: the zone's table covers the longest run
 * (UNIT_MAX_DURATION_NS, not this one's duration: --duration may lengthen
 * it after the load) and two days either side (local days around the
 * edges): about two entries a year.  A start without an offset is local
 * time in it.  The zone file is read here, once, single-threaded
 * (sim/kernel/tz.h says why). */
static void parse_clock(scn_ctx *c, const yml_node *root, scenario *s)
{
	const int64_t margin_s = 2 * 86400 + 86400; /* + the widest offset */
	int64_t start = unit_days_from_civil(2026, 3, 2) * 86400; /* Monday 2026-03-02T00:00:00Z */
	bool local = false;
	const yml_node *sn = yml_get(root, "start");
	if (scn_opt_i64(c, root, "start", "", unit_parse_timestamp, "a timestamp (e.g. 2026-03-02T00:00:00Z)", &start))
		local = !scn_ts_has_offset(sn->str);
	tz_utc(&s->tz);
	const yml_node *zn = yml_get(root, "timezone");
	if (zn && scn_want_scalar(c, zn, "timezone", "an IANA time zone name (e.g. Europe/Berlin)")) {
		char why[SCN_PATH_MAX + 160];
		int64_t span_s = UNIT_MAX_DURATION_NS / SCN_NS_PER_S + 1;
		tz_table t;
		int st = tz_load(&t, zn->str, NULL, start - margin_s, start + span_s + margin_s, c->a, why, sizeof why);
		if (st == SIM_OK)
			s->tz = t;
		else if (st == SIM_ENOMEM)
			c->nomem = true;
		else
			scn_err_node(c, zn, "timezone", "%s", why);
	}
	s->start_unix_s = local ? tz_utc_of_local(&s->tz, start) : start;
}

/* Build one scenario from a tree.  Errors go to c; s is filled as far as
 * possible (free it with scn_free whatever happens). */
void scn_build(scn_ctx *c, const yml_node *root, scenario *s)
{
	yml_node *n;
	scn_check_keys(c, root, "", top_keys);
	if (!scn_opt_name(c, root, "name", "", s->name) && !s->name[0])
		snprintf(s->name, sizeof s->name, "scenario");
	if ((n = yml_get(root, "description")) && scn_want_scalar(c, n, "description", "a text")) {
		s->description = scn_xstrndup(c, n->str, strlen(n->str));
	}
	s->duration_ns = 86400 * SCN_NS_PER_S;
	if (scn_opt_dur(c, root, "duration", "", &s->duration_ns) && s->duration_ns <= 0)
		scn_err_node(c, yml_get(root, "duration"), "duration", "must be longer than 0");
	parse_clock(c, root, s);
	int64_t seed = 1;
	scn_opt_count(c, root, "seed", "", 0, SCN_MAX_SEED, "2^63 - 1", &seed);
	s->seed = (uint64_t)seed;
	s->replications = 1;
	scn_opt_count(c, root, "replications", "", 1, SCN_MAX_REPLICATIONS, "10^6", &s->replications);
	s->series_step_ns = 60 * SCN_NS_PER_S;
	if (scn_opt_dur(c, root, "series_step", "", &s->series_step_ns) && s->series_step_ns <= 0)
		scn_err_node(c, yml_get(root, "series_step"), "series_step", "must be longer than 0");
	if (c->nomem)
		return;

	parse_tenant(c, yml_get(root, "tenant"), &s->tenant, s->start_unix_s);
	scn_limits base;
	preset_fill("exchange-online", &base);
	if ((n = yml_get(root, "limits")))
		scn_parse_limits(c, n, "limits", &base);
	parse_routes(c, yml_get(root, "routes"), s, &base);
	if (c->nomem)
		return;
	scn_parse_mailboxes(c, yml_get(root, "mailboxes"), s, &base);
	if (c->nomem)
		return;
	for (size_t i = 0; i < s->n_mailboxes; i++)
		scn_resolve_tenant_limit(&s->mailboxes[i].limits, s->tenant.external_recipient_limit);
	for (size_t i = 0; i < s->n_routes; i++)
		scn_resolve_tenant_limit(&s->routes[i].limits, s->tenant.external_recipient_limit);

	const yml_node *sn = yml_get(root, "senders");
	if ((!sn || sn->type == YML_NULL) && c->senders_optional)
		return;  /* serve: the real clients are the senders */
	if (!sn || sn->type == YML_NULL) {
		scn_err_at(c, sn ? sn->line : 1, sn ? sn->col : 1, "senders", "a scenario needs at least one sender");
		return;
	}
	if (sn->type != YML_SEQ || sn->n == 0) {
		scn_err_node(c, sn, "senders", "expected a list of senders");
		return;
	}
	s->senders = scn_xalloc(c, sn->n * sizeof *s->senders);
	if (!s->senders)
		return;
	s->n_senders = sn->n;
	int64_t total = 0;
	for (size_t i = 0; i < sn->n && !c->nomem; i++) {
		scn_parse_sender(c, sn->items[i].val, i, s, yml_get(root, "mailboxes"), &s->senders[i]);
		for (size_t j = 0; j < i; j++)
			if (s->senders[i].name[0] && !strcmp(s->senders[i].name, s->senders[j].name)) {
				char p[SCN_PATH_MAX];
				scn_pjoin(p, "senders", s->senders[i].name);
				scn_err_node(c, sn->items[i].val, p, "the sender name '%s' is used more than once",
					 s->senders[i].name);
				break;
			}
		total += s->senders[i].count;
	}
	if (total > SCN_MAX_INSTANCES)
		scn_err_node(c, sn, "senders", "%lld sender instances in all exceed the bound of 10^7", (long long)total);
}

void scn_free(scenario *s)
{
	if (!s)
		return;
	const sim_alloc a = s->alloc;
	if (s->description)
		sim_free(&a, s->description, strlen(s->description) + 1);
	if (s->source_text)
		sim_free(&a, s->source_text, strlen(s->source_text) + 1);
	sim_free(&a, s->mailboxes, s->n_mailboxes * sizeof *s->mailboxes);
	for (size_t i = 0; i < s->n_creds; i++)
		sim_free(&a, s->creds[i].mem, s->creds[i].bytes);
	sim_free(&a, s->creds, s->n_creds * sizeof *s->creds);
	sim_free(&a, s->pools, s->n_pools * sizeof *s->pools);
	for (size_t i = 0; i < s->n_senders; i++) {
		scn_sender *d = &s->senders[i];
		scn_dist *ds[] = { &d->recipients, &d->size, &d->arrivals.burst_size };
		for (size_t k = 0; k < 3; k++) {
			sim_free(&a, ds[k]->values, ds[k]->n * sizeof *ds[k]->values);
			sim_free(&a, ds[k]->weights, ds[k]->n * sizeof *ds[k]->weights);
		}
		sim_free(&a, d->arrivals.trace, d->arrivals.trace_len * sizeof *d->arrivals.trace);
	}
	sim_free(&a, s->senders, s->n_senders * sizeof *s->senders);
	sim_free(&a, s->routes, s->n_routes * sizeof *s->routes);
	tz_free(&s->tz, &a);
	sim_free(&a, s, sizeof *s);
}

void scn_free_all(scenario **v, size_t n, const sim_alloc *a)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		scn_free(v[i]);
	sim_free(a, v, n * sizeof *v);
}
