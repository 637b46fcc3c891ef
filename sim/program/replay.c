/* replay.c - a stored run's replications run again with a focus on one
 * entity, and checked against what the store holds.  Contract in replay.h. */
#include "replay.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "run.h"
#include "status.h"

__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return SIM_EINVAL;
}

static bool same_num(double a, double b)
{
	return (isnan(a) && isnan(b)) || a == b;
}

/* The first difference between two entities' figures and counts, or -1. */
static bool entity_same(const res_entity *a, const res_entity *b, const char *who, char *why, size_t whylen)
{
	for (int f = 0; f < FIG_COUNT; f++)
		if (!same_num(a->fig[f], b->fig[f])) {
			snprintf(why, whylen, "%s: %s is %.17g in the store, %.17g replayed", who, res_fig_info[f].name,
			         a->fig[f], b->fig[f]);
			return false;
		}
	for (int c = 0; c < RC_COUNT; c++)
		if (a->rejected_by[c] != b->rejected_by[c] || a->lost_by[c] != b->lost_by[c]) {
			snprintf(why, whylen, "%s: refusals or losses of class %s differ (%llu and %llu in the store,"
			         " %llu and %llu replayed)", who, rpt_reply_id(c),
			         (unsigned long long)a->rejected_by[c], (unsigned long long)a->lost_by[c],
			         (unsigned long long)b->rejected_by[c], (unsigned long long)b->lost_by[c]);
			return false;
		}
	return true;
}

bool replay_same(const res_rep *stored, const res_rep *replayed, res_entity_kind kind, size_t index,
                 char *why, size_t whylen)
{
	if (!entity_same(&stored->total, &replayed->total, "the whole scenario", why, whylen))
		return false;
	const res_entity *a = res_entity_of(stored, kind, index), *b = res_entity_of(replayed, kind, index);
	if (a == NULL || b == NULL) {
		snprintf(why, whylen, "the %s is missing", kind == RES_GROUP ? "sender group" : "mailbox");
		return false;
	}
	return entity_same(a, b, kind == RES_GROUP ? "the sender group" : "the mailbox", why, whylen);
}

void replay_free(replay_result *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].series.rows);
		free(r->v[i].delivery_cdf);
	}
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

/* The mailboxes group g may use: [*first, *first + *n). */
static void group_mailboxes(const scenario *s, size_t g, size_t *first, size_t *n)
{
	const scn_sender *sd = &s->senders[g];
	*first = sd->pool >= 0 ? s->pools[sd->pool].first : (size_t)sd->mailbox;
	*n = sd->pool >= 0 ? s->pools[sd->pool].count : 1;
}

/* How many mailboxes group g may use, and whether another group may use one
 * of them: what its chart's limit lines are summed over, and said. */
static void group_reach(const scenario *s, size_t g, replay_variant *rv)
{
	size_t first, n;
	group_mailboxes(s, g, &first, &n);
	const scn_sender *sd = &s->senders[g];
	rv->mailboxes_used = (int64_t)n;
	if (sd->pool >= 0 && sd->assign == ASSIGN_PER_INSTANCE && sd->count < (int64_t)n)
		rv->mailboxes_used = sd->count;
	rv->mailboxes_shared = false;
	for (size_t h = 0; h < s->n_senders && !rv->mailboxes_shared; h++) {
		if (h == g)
			continue;
		size_t f2, n2;
		group_mailboxes(s, h, &f2, &n2);
		rv->mailboxes_shared = f2 < first + n && first < f2 + n2;
	}
}

/* The scenario of s matching the stored variant rv: same name and sweep point. */
static scenario *match(scenario **v, size_t n, const rpt_variant *rv)
{
	int64_t point = rv->desc ? rv->desc->sweep_point : -1;
	for (size_t k = 0; k < n; k++)
		if (strcmp(v[k]->variant, rv->name) == 0 && v[k]->sweep_point == point)
			return v[k];
	return NULL;
}

/* Runs variant rv's replications on s with the focus; fills out.  0 or a status. */
static int replay_variant_run(scenario *s, const rpt_variant *rv, res_entity_kind kind, size_t index,
                              replay_variant *out, char *err, size_t errlen)
{
	const char *what = kind == RES_GROUP ? "sender group" : "mailbox";
	const res_desc *d = rv->desc;
	const char *stored_name = kind == RES_GROUP ? (index < d->n_groups ? d->groups[index].name : NULL)
	                                            : (index < d->n_mailboxes ? d->mailboxes[index].name : NULL);
	const char *name = kind == RES_GROUP ? (index < s->n_senders ? s->senders[index].name : NULL)
	                                     : (index < s->n_mailboxes ? s->mailboxes[index].name : NULL);
	if (stored_name == NULL || name == NULL || strcmp(name, stored_name) != 0)
		return fail(err, errlen, "variant '%s': the rebuilt scenario has no %s '%s' where the run had it",
		            rv->name, what, stored_name ? stored_name : "?");
	if (s->start_unix_s != d->start_unix_s)
		return fail(err, errlen, "variant '%s': the rebuilt scenario starts at %lld, the run at %lld (unix s)",
		            rv->name, (long long)s->start_unix_s, (long long)d->start_unix_s);
	if (d->duration_ns > 0)
		s->duration_ns = d->duration_ns;
	if (rv->n_reps > 0)
		s->seed = rv->reps[0].seed;
	enum { NQ = RES_CDF_POINTS };
	size_t n_rows = 0;
	store_series_row *rows = NULL;
	double *cdf = calloc(rv->n_reps ? rv->n_reps * NQ : 1, sizeof *cdf);
	if (cdf == NULL)
		return SIM_ENOMEM;
	for (size_t r = 0; r < rv->n_reps; r++) {
		run_focus f = { .kind = kind, .index = index };
		res_rep rep;
		char rerr[512] = "";
		int st = run_replication_focus(s, rv->reps[r].replication, EVS_CALENDAR, NULL, &f, &rep, rerr,
		                               sizeof rerr);
		if (st != SIM_OK) {
			free(rows);
			free(cdf);
			snprintf(err, errlen, "variant '%s', replication %lld: %s", rv->name,
			         (long long)rv->reps[r].replication, rerr);
			return st;
		}
		char why[512];
		bool ok = replay_same(&rv->reps[r], &rep, kind, index, why, sizeof why);
		if (ok && r == 0) {
			n_rows = f.n_series;
			out->series.step_ns = rep.series_step_ns;
			rows = calloc(n_rows ? n_rows : 1, sizeof *rows);
			out->cdf_exact = f.cdf_exact;
			out->backlog_defined = f.backlog_defined;
		}
		if (ok && rows == NULL)
			st = SIM_ENOMEM;
		if (ok && st == SIM_OK && f.n_series != n_rows) { /* one scenario, one length: never */
			snprintf(why, sizeof why, "its series has %zu steps, the first replication's %zu", f.n_series,
			         n_rows);
			ok = false;
		}
		for (size_t i = 0; ok && st == SIM_OK && i < n_rows; i++) {
			const res_series_row *a = &f.series[i];
			store_series_row *b = &rows[i];
			b->accepted += a->accepted;
			b->released += a->released;
			b->lost += a->lost;
			b->backlog += a->outbox_backlog;
			b->open_sessions += a->open_sessions;
			b->throttled += a->throttled_mailboxes;
			for (int c = 0; c < RC_COUNT; c++)
				b->rejected_by[c] += a->rejected_by[c];
		}
		memcpy(&cdf[r * NQ], f.delivery_cdf, sizeof f.delivery_cdf);
		run_focus_free(&f);
		res_rep_free(&rep);
		if (!ok) {
			free(rows);
			free(cdf);
			return fail(err, errlen, "variant '%s', replication %lld does not replay as stored (%s)",
			            rv->name, (long long)rv->reps[r].replication, why);
		}
		if (st != SIM_OK) {
			free(rows);
			free(cdf);
			return st;
		}
	}
	double k = rv->n_reps ? (double)rv->n_reps : 1.0;
	for (size_t i = 0; i < n_rows; i++) {
		store_series_row *b = &rows[i];
		b->accepted /= k;
		b->released /= k;
		b->lost /= k;
		b->backlog /= k;
		b->open_sessions /= k;
		b->throttled /= k;
		for (int c = 0; c < RC_COUNT; c++)
			b->rejected_by[c] /= k;
	}
	out->series.rows = rows;
	out->series.n = n_rows;
	out->series.n_reps = (int64_t)rv->n_reps;
	out->series.has_lost = true;
	out->delivery_cdf = cdf;
	out->n_reps = rv->n_reps;
	out->kind = kind;
	out->index = index;
	if (kind == RES_GROUP)
		group_reach(s, index, out);
	return SIM_OK;
}

int replay_run(const store_loaded *l, const scn_override *sets, size_t n_sets, const char *program_version,
               res_entity_kind kind, const size_t *entity, const bool *want, replay_result *out,
               char *err, size_t errlen)
{
	const store_run_row *row = &l->row;
	/* The version first: another program's model may give other figures,
	 * and saying so beats a figure-by-figure mismatch. */
	if (strcmp(row->program_version, program_version) != 0)
		return fail(err, errlen, "run %lld was made by throttlesim %s and this is %s: its replications"
		            " would not be the run's", (long long)row->id,
		            row->program_version[0] ? row->program_version : "(unknown)", program_version);
	if (row->scenario_text[0] == 0)
		return fail(err, errlen, "run %lld keeps no scenario text", (long long)row->id);
	char dir[1024] = "";
	const char *slash = strrchr(row->scenario_file, '/');
	if (slash && (size_t)(slash - row->scenario_file) < sizeof dir)
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - row->scenario_file), row->scenario_file);
	scenario **v = NULL;
	size_t n = 0;
	scn_errors errs = { 0 };
	int st = scn_load_buffer_ex(row->scenario_file[0] ? row->scenario_file : row->scenario_name,
	                            row->scenario_text, strlen(row->scenario_text), dir, &sim_alloc_std, sets,
	                            n_sets, &v, &n, &errs);
	if (st != SIM_OK) {
		char first[1024] = "";
		if (errs.n > 0)
			scn_error_format(&errs.v[0], first, sizeof first);
		scn_errors_free(&errs);
		if (st == SIM_ENOMEM)
			return st;
		return fail(err, errlen, "the run's scenario no longer loads: %s", first[0] ? first : sim_strerror(st));
	}
	scn_errors_free(&errs);
	const rpt_run *run = &l->run;
	replay_result res = { calloc(run->n_variants ? run->n_variants : 1, sizeof *res.v), 0 };
	if (res.v == NULL) {
		scn_free_all(v, n, &sim_alloc_std);
		return SIM_ENOMEM;
	}
	for (size_t i = 0; i < run->n_variants && st == SIM_OK; i++) {
		if (!want[i] || entity[i] == SIZE_MAX)
			continue;
		const rpt_variant *rv = &run->variants[i];
		scenario *s = rv->desc ? match(v, n, rv) : NULL;
		if (s == NULL) {
			st = fail(err, errlen, "variant '%s' of the run is not in its rebuilt scenario", rv->name);
			break;
		}
		replay_variant *o = &res.v[res.n];
		*o = (replay_variant){ .variant = i };
		st = replay_variant_run(s, rv, kind, entity[i], o, err, errlen);
		if (st == SIM_OK)
			res.n++;
	}
	scn_free_all(v, n, &sim_alloc_std);
	if (st != SIM_OK) {
		replay_free(&res);
		return st;
	}
	*out = res;
	return SIM_OK;
}
