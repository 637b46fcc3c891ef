/* results.c - the figure table and freeing a replication's results. */
#include "results.h"

#include <stdio.h>
#include <string.h>

#include "check.h"
#include "stats.h"
#include "status.h"
#include "tz.h"

const res_fig_desc res_fig_info[FIG_COUNT] = {
#define X(id, name, unit, label, ents, keys, doc) { name, unit, label, ents, keys, doc },
	RES_FIGURES(X)
#undef X
};

void res_rep_free(res_rep *r)
{
	if (r == NULL)
		return;
	sim_free(&r->alloc, r->groups, r->n_groups * sizeof *r->groups);
	sim_free(&r->alloc, r->mailboxes, r->n_mailboxes * sizeof *r->mailboxes);
	sim_free(&r->alloc, r->series, r->n_series * sizeof *r->series);
	r->groups = NULL;
	r->mailboxes = NULL;
	r->series = NULL;
}

/* The kernel's delay statistics fill six consecutive figures. */
_Static_assert(FIG_SUB_DELAY_MAX - FIG_SUB_DELAY_MEAN + 1 == ST_DELAY_FIGS &&
	       FIG_DEL_DELAY_MAX - FIG_DEL_DELAY_MEAN + 1 == ST_DELAY_FIGS,
	       "delay figures must follow kernel/stats.h's order");

static void reply_of(const scn_reply *r, res_reply *o)
{
	o->code = r->code;
	o->transient = r->transient;
	memcpy(o->text, r->text, sizeof o->text);
	o->text[sizeof o->text - 1] = '\0';
}

void res_rep_note_reply(res_rep *rep, int c, const scn_reply *r)
{
	if (NEVER(c < 0 || c >= RC_COUNT) || NEVER(r == NULL)) /* the sender's classes, replies or the catalog's */
		return;
	if (rep->given_src[c] == r)
		return;
	rep->given_src[c] = r;
	res_reply *g = &rep->given[c];
	if (g->code == 0) {
		reply_of(r, g);
	} else if (g->code != r->code || strncmp(g->text, r->text, sizeof g->text) != 0) {
		rep->given_mixed[c] = true;
	}
}

static void describe_limits(const scn_limits *L, res_limits *o)
{
	memset(o, 0, sizeof *o);
	snprintf(o->preset, sizeof o->preset, "%s", L->preset);
	o->concurrency = L->connections.limit;
	o->concurrency_scope = (int)L->connections.scope;
	o->message_rate = L->message_rate.limit;
	o->message_rate_window_ns = L->message_rate.window_ns;
	o->message_rate_mode = (int)L->message_rate.mode;
	o->recipient_rate = L->recipient_rate.limit;
	o->recipient_rate_window_ns = L->recipient_rate.window_ns;
	o->external_rate = L->external_rate.limit;
	o->max_recipients_per_message = L->max_recipients_per_message;
	o->max_message_size = L->max_message_size;
}


int res_desc_alloc(res_desc *d, const sim_alloc *a, size_t n_groups, size_t n_mailboxes)
{
	res_group_desc *g = sim_malloc(a, (n_groups ? n_groups : 1) * sizeof *g);
	res_mailbox_desc *m = sim_malloc(a, (n_mailboxes ? n_mailboxes : 1) * sizeof *m);
	if (!g || !m) {
		sim_free(a, g, (n_groups ? n_groups : 1) * sizeof *g);
		sim_free(a, m, (n_mailboxes ? n_mailboxes : 1) * sizeof *m);
		return SIM_ENOMEM;
	}
	memset(g, 0, (n_groups ? n_groups : 1) * sizeof *g);
	memset(m, 0, (n_mailboxes ? n_mailboxes : 1) * sizeof *m);
	d->groups = g;
	d->n_groups = n_groups;
	d->mailboxes = m;
	d->n_mailboxes = n_mailboxes;
	d->alloc = *a;
	return SIM_OK;
}

int res_describe(const scenario *s, const sim_alloc *a, res_desc *out)
{
	res_desc d;
	memset(&d, 0, sizeof d);
	if (res_desc_alloc(&d, a, s->n_senders, s->n_mailboxes) != SIM_OK)
		return SIM_ENOMEM;
	snprintf(d.scenario, sizeof d.scenario, "%s", s->name);
	snprintf(d.variant, sizeof d.variant, "%s", s->variant);
	d.seed = s->seed;
	d.duration_ns = s->duration_ns;
	d.start_unix_s = s->start_unix_s;
	snprintf(d.timezone, sizeof d.timezone, "%s", s->tz.name[0] ? s->tz.name : "UTC");
	d.start_utc_offset_s = tz_offset_at(&s->tz, s->start_unix_s);
	d.sweep_point = s->sweep_point;
	d.n_sweep_keys = s->sweep_point >= 0 ? s->n_sweep_keys : 0;
	for (int k = 0; k < d.n_sweep_keys && k < 2; k++) {
		snprintf(d.sweep_key[k], sizeof d.sweep_key[k], "%s", s->sweep_key[k]);
		d.sweep_value[k] = s->sweep_value[k];
	}
	for (size_t m = 0; m < s->n_mailboxes; m++) {
		snprintf(d.mailboxes[m].name, sizeof d.mailboxes[m].name, "%s", s->mailboxes[m].name);
		describe_limits(&s->mailboxes[m].limits, &d.mailboxes[m].limits);
	}
	for (size_t g = 0; g < s->n_senders; g++) {
		const scn_sender *sd = &s->senders[g];
		res_group_desc *o = &d.groups[g];
		snprintf(o->name, sizeof o->name, "%s", sd->name);
		o->instances = sd->count;
		int first = sd->pool >= 0 ? (int)s->pools[sd->pool].first : sd->mailbox;
		snprintf(o->mailbox, sizeof o->mailbox, "%s",
		         sd->pool >= 0 ? s->pools[sd->pool].name
		                       : first >= 0 ? s->mailboxes[first].name : "");
		if (sd->route > 0 && (size_t)sd->route < s->n_routes) {
			snprintf(o->route, sizeof o->route, "%s", s->routes[sd->route].name);
			describe_limits(&s->routes[sd->route].limits, &o->limits);
		} else {
			snprintf(o->route, sizeof o->route, "smtp_auth");
			if (first >= 0 && (size_t)first < s->n_mailboxes)
				describe_limits(&s->mailboxes[first].limits, &o->limits);
		}
	}
	/* The replies of the first mailbox's route, for the classes that are
	 * the limits' (the 250 and the 535s have no route text: left empty). */
	for (int c = 0; c < RC_COUNT; c++)
		if (s->n_mailboxes > 0 && rpl_info[c].scenario_key)
			reply_of(&s->mailboxes[0].limits.reply[c], &d.configured[c]);
	*out = d;
	return SIM_OK;
}

void res_desc_free(res_desc *d)
{
	if (d == NULL)
		return;
	sim_free(&d->alloc, d->groups, (d->n_groups ? d->n_groups : 1) * sizeof *d->groups);
	sim_free(&d->alloc, d->mailboxes, (d->n_mailboxes ? d->n_mailboxes : 1) * sizeof *d->mailboxes);
	d->groups = NULL;
	d->mailboxes = NULL;
	d->n_groups = d->n_mailboxes = 0;
}

const res_reply *res_variant_reply(const res_desc *d, const res_rep *reps, size_t n_reps, int c)
{
	static const res_reply none = { 0, false, "" };
	if (c < 0 || c >= RC_COUNT)
		return &none;
	for (size_t i = 0; reps && i < n_reps; i++)
		if (reps[i].given[c].code != 0)
			return &reps[i].given[c];
	return d ? &d->configured[c] : &none;
}
