/* run.c - one replication: engine + service + senders, figures out.
 * See run.h for the contract. */
#include "run.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock_engine.h"
#include "engine.h"
#include "sender.h"
#include "service.h"
#include "stats.h"

static void set_err(char *err, size_t errlen, const char *what, int st)
{
	if (err && errlen)
		snprintf(err, errlen, "%s: %s", what, sim_strerror(st));
}

static void entity_nan(res_entity *e)
{
	memset(e, 0, sizeof *e);
	for (int i = 0; i < FIG_COUNT; i++)
		e->fig[i] = NAN;
}

/* Message-level counts into figures.  pending < 0: undefined. */
void run_fill_counts(res_entity *e, const snd_counts *c, int64_t pending, double duration_min)
{
	double *f = e->fig;
	if (pending >= 0) {
		f[FIG_GENERATED] = (double)c->generated;
		f[FIG_PENDING] = (double)pending;
		f[FIG_LOST_OUTBOX_OVERFLOW] = (double)c->lost_overflow;
		f[FIG_RETRIES_PER_MSG] = c->generated ? (double)c->retries / (double)c->generated : NAN;
		f[FIG_LOST_PCT] = c->generated ? 100.0 * (double)c->lost / (double)c->generated : NAN;
	}
	f[FIG_ACCEPTED] = (double)c->accepted;
	f[FIG_DUPLICATES] = (double)c->duplicates;
	f[FIG_LOST] = (double)c->lost;
	f[FIG_LOST_GAVE_UP] = (double)c->lost_gave_up;
	f[FIG_LOST_PERMANENT] = (double)c->lost_permanent;
	f[FIG_AWAITING_RELEASE] = (double)c->awaiting_release;
	f[FIG_RELEASED] = (double)c->released;
	f[FIG_ATTEMPTS] = (double)c->attempts;
	f[FIG_RETRIES] = (double)c->retries;
	f[FIG_REJECTED] = (double)c->rejected;
	f[FIG_CONN_OPENED] = (double)c->conn_opened;
	f[FIG_CONN_REFUSED] = (double)c->conn_refused;
	f[FIG_RCPT_ACCEPTED] = (double)c->rcpt_accepted;
	f[FIG_RCPT_DELIVERED] = (double)c->rcpt_delivered;
	f[FIG_RCPT_EXTERNAL_ACCEPTED] = (double)c->rcpt_external;
	f[FIG_LAST_RELEASE] = c->released ? (double)c->last_release_ns / 1e9 : NAN;
	f[FIG_LOST_ABORTED] = (double)c->lost_aborted;
	f[FIG_BELIEVED_SENT] = (double)c->believed_sent;
	f[FIG_TIMEOUTS] = (double)(c->data_timeouts + c->auth_timeouts);
	f[FIG_DIAL_STOPS] = (double)c->dial_stops;
	f[FIG_LIFETIME_CLOSES] = (double)c->lifetime_closes;
	f[FIG_ACCEPTED_PER_MIN] = (double)c->accepted / duration_min;
	f[FIG_RELEASED_PER_MIN] = (double)c->released / duration_min;
	for (int r = 0; r < RC_COUNT; r++) {
		e->rejected_by[r] = c->rejected_by[r];
		e->lost_by[r] = c->lost_by[r];
	}
}

/* Total delay figures from the (finished) per-group samples: the mean
 * from the groups' means, quantiles and max exact over the union. */
static void fill_total_delays(double *f, const st_dset *d, size_t ng,
			      const res_entity *groups, st_delay_kind kind, int first_fig)
{
	size_t n = 0;
	double sum = 0.0, mx = -INFINITY;
	for (size_t g = 0; g < ng; g++) {
		size_t ng_k = st_dset_n(&d[g], kind);
		if (ng_k == 0)
			continue;
		n += ng_k;
		sum += groups[g].fig[first_fig] * (double)ng_k;
		double m = (double)st_dset_kth(&d[g], kind, ng_k - 1) / 1e9;
		if (m > mx)
			mx = m;
	}
	if (n == 0)
		return; /* NaN already */
	static const double q[4] = { 0.5, 0.9, 0.95, 0.99 };
	f[first_fig] = sum / (double)n;
	for (int i = 0; i < 4; i++)
		f[first_fig + 1 + i] = st_dset_union_quantile(d, ng, kind, q[i]) / 1e9;
	f[first_fig + 5] = mx;
}

/* RES_CDF_POINTS quantiles k / (RES_CDF_POINTS - 1) of the total's delays, s. */
void run_fill_cdf(double *cdf, const st_dset *d, size_t ng, st_delay_kind kind)
{
	for (int k = 0; k < RES_CDF_POINTS; k++)
		cdf[k] = st_dset_union_quantile(d, ng, kind, (double)k / (RES_CDF_POINTS - 1)) / 1e9;
}

static double nan_min(double a, double b)
{
	if (isnan(a))
		return b;
	if (isnan(b))
		return a;
	return a < b ? a : b;
}

/* The service's figures of every mailbox and their totals (sums, and the
 * earliest instants), and the tenant's windows: what run_replication and
 * serve both report, from the service's state at end_ns. */
void run_service_figures(const svc *v, int64_t end_ns, res_rep *r)
{
	double tot_sessions = 0.0, tot_tp = 0.0, tot_tt = 0.0, tot_rrl = 0.0;
	double first_reached = NAN, first_refusal = NAN;
	/* sums: submitting_avg, sent_items_growth, throttle_periods_<class>;
	 * minimum: throttle_first */
	static const int summed[] = { FIG_SUBMITTING_AVG, FIG_SENT_ITEMS_GROWTH,
		FIG_THROTTLE_PERIODS_MAILBOX_FULL, FIG_THROTTLE_PERIODS_SEND_AS_DENIED,
		FIG_THROTTLE_PERIODS_INVALID_LICENSE, FIG_THROTTLE_PERIODS_TOO_MANY_RECIPIENTS,
		FIG_THROTTLE_PERIODS_INVALID_RECIPIENTS };
	enum { N_SUMMED = sizeof summed / sizeof summed[0] };
	double tot_sum[N_SUMMED] = { 0 }, first_throttle = NAN;
	for (size_t m = 0; m < r->n_mailboxes; m++) {
		res_entity *me = &r->mailboxes[m];
		svc_mailbox_figures(v, (int)m, end_ns, me);
		if (!isnan(me->fig[FIG_SESSIONS_AVG]))
			tot_sessions += me->fig[FIG_SESSIONS_AVG];
		if (!isnan(me->fig[FIG_THROTTLE_PERIODS]))
			tot_tp += me->fig[FIG_THROTTLE_PERIODS];
		if (!isnan(me->fig[FIG_THROTTLE_TIME]))
			tot_tt += me->fig[FIG_THROTTLE_TIME];
		if (!isnan(me->fig[FIG_RRL_BLOCKED_TIME]))
			tot_rrl += me->fig[FIG_RRL_BLOCKED_TIME];
		first_reached = nan_min(first_reached, me->fig[FIG_RRL_FIRST_REACHED]);
		first_refusal = nan_min(first_refusal, me->fig[FIG_RRL_FIRST_REFUSAL]);
		for (int i = 0; i < N_SUMMED; i++)
			if (!isnan(me->fig[summed[i]]))
				tot_sum[i] += me->fig[summed[i]];
		first_throttle = nan_min(first_throttle, me->fig[FIG_THROTTLE_FIRST]);
	}
	r->total.fig[FIG_SESSIONS_AVG] = tot_sessions;
	r->total.fig[FIG_THROTTLE_PERIODS] = tot_tp;
	r->total.fig[FIG_THROTTLE_TIME] = tot_tt;
	r->total.fig[FIG_RRL_BLOCKED_TIME] = tot_rrl;
	r->total.fig[FIG_RRL_FIRST_REACHED] = first_reached;
	r->total.fig[FIG_RRL_FIRST_REFUSAL] = first_refusal;
	for (int i = 0; i < N_SUMMED; i++)
		r->total.fig[summed[i]] = tot_sum[i];
	r->total.fig[FIG_THROTTLE_FIRST] = first_throttle;
	svc_tenant_figures(v, end_ns, &r->total);
}

/* The focus's delay quantiles, from the world's samples before they are
 * freed: a group's exact (its st_dset), a mailbox's from its histogram. */
static void focus_cdf(const snd_world *w, run_focus *f)
{
	for (int k = 0; k < RES_CDF_POINTS; k++)
		f->submission_cdf[k] = f->delivery_cdf[k] = NAN;
	if (f->kind == RES_GROUP) {
		run_fill_cdf(f->submission_cdf, &w->dly[f->index], 1, ST_SUBMISSION);
		run_fill_cdf(f->delivery_cdf, &w->dly[f->index], 1, ST_DELIVERY);
		return;
	}
	const dh_hist *h = &w->mailboxes[f->index].dly;
	if (h->n_buckets == 0)
		return; /* it accepted nothing */
	for (int k = 0; k < RES_CDF_POINTS; k++) {
		double q = (double)k / (RES_CDF_POINTS - 1);
		f->submission_cdf[k] = dh_quantile(h, ST_SUBMISSION, q);
		f->delivery_cdf[k] = dh_quantile(h, ST_DELIVERY, q);
	}
}

void run_focus_free(run_focus *f)
{
	if (f && f->series)
		sim_free(&f->alloc, f->series, (f->n_series ? f->n_series : 1) * sizeof *f->series);
	if (f) {
		f->series = NULL;
		f->n_series = 0;
	}
}

int run_replication(const scenario *s, int64_t replication, evs_kind kind,
		    const sim_alloc *a, res_rep *out, char *err, size_t errlen)
{
	return run_replication_focus(s, replication, kind, a, NULL, out, err, errlen);
}

int run_replication_focus(const scenario *s, int64_t replication, evs_kind kind, const sim_alloc *a,
			  run_focus *focus, res_rep *out, char *err, size_t errlen)
{
	if (a == NULL)
		a = &sim_alloc_std;
	if (s == NULL || out == NULL || s->duration_ns <= 0 ||
	    (focus && !(focus->kind == RES_GROUP ? focus->index < s->n_senders
	                : focus->kind == RES_MAILBOX && focus->index < s->n_mailboxes))) {
		set_err(err, errlen, "run_replication", SIM_EINVAL);
		return SIM_EINVAL;
	}
	snd_focus sf = { .group = -1, .mailbox = -1 };
	res_series_row *fseries = NULL;
	size_t fn = 0;
	struct timespec t0, t1;
	timespec_get(&t0, TIME_UTC);
	int st = SIM_ENOMEM;
	snd_world w;
	memset(&w, 0, sizeof w);
	bool world_ok = false;
	res_rep r;
	memset(&r, 0, sizeof r);
	r.alloc = *a;
	size_t ng = s->n_senders, nm = s->n_mailboxes;
	int64_t n_sources = 0;
	for (size_t g = 0; g < ng; g++)
		n_sources += s->senders[g].count;

	sim_engine *e = sim_engine_new(kind, a);
	svc *v = NULL;
	if (e == NULL)
		goto fail;
	/* The world's address must be stable before the service gets its hooks. */
	w.s = s;
	clk clock = clk_from_engine(e);
	v = svc_new(s, &clock, a, n_sources, snd_world_hooks(&w));
	if (v == NULL)
		goto fail;
	st = snd_world_init(&w, s, replication, e, v, a);
	if (st != SIM_OK)
		goto fail;
	world_ok = true;
	w.rec = &r;
	if (focus) {
		st = SIM_ENOMEM;
		fn = w.n_series;
		if ((fseries = sim_malloc(a, (fn ? fn : 1) * sizeof *fseries)) == NULL)
			goto fail;
		memset(fseries, 0, (fn ? fn : 1) * sizeof *fseries);
		sf.series = fseries;
		sf.n_series = fn;
		if (focus->kind == RES_GROUP)
			sf.group = (int32_t)focus->index;
		else
			sf.mailbox = (int32_t)focus->index;
		w.focus = &sf;
	}
	st = sim_run(e, s->duration_ns);
	if (w.status != SIM_OK) {
		st = w.status;
		goto fail;
	}
	if (st != SIM_OK)
		goto fail;
	/* A failure inside a service event (a tarpit answer whose window ring
	 * could not grow) is only recorded there. */
	st = svc_status(v);
	if (st != SIM_OK)
		goto fail;
	snd_series_advance(&w, s->duration_ns);
	r.events = sim_events_run(e);
	/* Nothing runs any more: the event set's memory (its chunk pool is
	 * reserved for the largest queue) goes back before the results are
	 * allocated, which keeps them out of the run's peak.  Failing that,
	 * it is merely kept. */
	(void)sim_drop_pending(e);

	st = SIM_ENOMEM;
	r.groups = sim_malloc(a, (ng ? ng : 1) * sizeof *r.groups);
	r.mailboxes = sim_malloc(a, (nm ? nm : 1) * sizeof *r.mailboxes);
	r.series = sim_malloc(a, (w.n_series ? w.n_series : 1) * sizeof *r.series);
	if (!r.groups || !r.mailboxes || !r.series)
		goto fail;
	r.n_groups = ng;
	r.n_mailboxes = nm;
	r.n_series = w.n_series;
	memcpy(r.series, w.series, w.n_series * sizeof *r.series);
	r.seed = s->seed;
	r.replication = replication;
	r.series_step_ns = s->series_step_ns > 0 ? s->series_step_ns : 60 * SCN_NS_PER_S;

	double dmin = (double)s->duration_ns / (60.0 * SCN_NS_PER_S);
	int64_t end = s->duration_ns;
	/* pending per group and per home mailbox */
	entity_nan(&r.total);
	int64_t pend_total = 0;
	for (size_t g = 0; g < ng; g++) {
		int64_t p = 0;
		for (size_t i = w.group_first[g]; i < w.group_first[g] + (size_t)s->senders[g].count; i++)
			p += w.inst[i].unresolved;
		pend_total += p;
		entity_nan(&r.groups[g]);
		run_fill_counts(&r.groups[g], &w.groups[g], p, dmin);
		st_dset_fill(&w.dly[g], ST_SUBMISSION, &r.groups[g].fig[FIG_SUB_DELAY_MEAN]);
		st_dset_fill(&w.dly[g], ST_DELIVERY, &r.groups[g].fig[FIG_DEL_DELAY_MEAN]);
		st_min_run_result(snd_min_run(&w, SND_LEVEL_GROUP, g, false), &r.groups[g].fig[FIG_ACCEPTED_PER_MIN],
				  &r.groups[g].fig[FIG_ACCEPTED_PEAK_MIN]);
		st_min_run_result(snd_min_run(&w, SND_LEVEL_GROUP, g, true), &r.groups[g].fig[FIG_RELEASED_PER_MIN],
				  &r.groups[g].fig[FIG_RELEASED_PEAK_MIN]);
	}
	run_fill_counts(&r.total, &w.total, pend_total, dmin);
	st_min_run_result(snd_min_run(&w, SND_LEVEL_TOTAL, 0, false), &r.total.fig[FIG_ACCEPTED_PER_MIN],
			  &r.total.fig[FIG_ACCEPTED_PEAK_MIN]);
	st_min_run_result(snd_min_run(&w, SND_LEVEL_TOTAL, 0, true), &r.total.fig[FIG_RELEASED_PER_MIN],
			  &r.total.fig[FIG_RELEASED_PEAK_MIN]);
	if (ng == 1) {
		for (int f = FIG_SUB_DELAY_MEAN; f <= FIG_DEL_DELAY_MAX; f++)
			r.total.fig[f] = r.groups[0].fig[f];
	} else if (ng > 1) {
		fill_total_delays(r.total.fig, w.dly, ng, r.groups, ST_SUBMISSION, FIG_SUB_DELAY_MEAN);
		fill_total_delays(r.total.fig, w.dly, ng, r.groups, ST_DELIVERY, FIG_DEL_DELAY_MEAN);
	}
	run_fill_cdf(r.submission_cdf, w.dly, ng, ST_SUBMISSION);
	run_fill_cdf(r.delivery_cdf, w.dly, ng, ST_DELIVERY);

	/* mailboxes: the message-level figures here, the service's in
	 * run_service_figures */
	for (size_t m = 0; m < nm; m++) {
		res_entity *me = &r.mailboxes[m];
		const snd_counts *c = &w.mailboxes[m];
		entity_nan(me);
		run_fill_counts(me, c, w.mbx_shared[m] ? -1 : 0, dmin);
		if (c->accepted) {
			me->fig[FIG_SUB_DELAY_MEAN] = c->sub_sum_s / (double)c->accepted;
			me->fig[FIG_SUB_DELAY_MAX] = (double)c->sub_max_ns / 1e9;
		}
		if (c->released) {
			me->fig[FIG_DEL_DELAY_MEAN] = c->del_sum_s / (double)c->released;
			me->fig[FIG_DEL_DELAY_MAX] = (double)c->del_max_ns / 1e9;
		}
		static const double q[4] = { 0.5, 0.9, 0.95, 0.99 };
		double sq[4], dq[4];
		dh_quantiles(&c->dly, ST_SUBMISSION, q, 4, sq);
		dh_quantiles(&c->dly, ST_DELIVERY, q, 4, dq);
		for (int i = 0; i < 4; i++) {
			me->fig[FIG_SUB_DELAY_P50 + i] = sq[i];
			me->fig[FIG_DEL_DELAY_P50 + i] = dq[i];
		}
		st_min_run_result(snd_min_run(&w, SND_LEVEL_MAILBOX, m, false), &me->fig[FIG_ACCEPTED_PER_MIN],
				  &me->fig[FIG_ACCEPTED_PEAK_MIN]);
		st_min_run_result(snd_min_run(&w, SND_LEVEL_MAILBOX, m, true), &me->fig[FIG_RELEASED_PER_MIN],
				  &me->fig[FIG_RELEASED_PEAK_MIN]);
	}
	run_service_figures(v, end, &r);
	for (size_t i = 0; i < w.n_inst; i++)
		if (w.inst[i].home_mailbox >= 0 && !w.mbx_shared[w.inst[i].home_mailbox])
			r.mailboxes[w.inst[i].home_mailbox].fig[FIG_PENDING] += (double)w.inst[i].unresolved;

	if (focus) {
		focus_cdf(&w, focus);
		focus->alloc = *a;
		focus->series = fseries;
		focus->n_series = fn;
		focus->cdf_exact = focus->kind == RES_GROUP;
		focus->backlog_defined = focus->kind == RES_GROUP || !w.mbx_shared[focus->index];
	}
	snd_world_free(&w);
	svc_free(v);
	sim_engine_free(e);
	timespec_get(&t1, TIME_UTC);
	r.wall_s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	*out = r;
	return SIM_OK;
fail:
	sim_free(a, r.groups, (ng ? ng : 1) * sizeof *r.groups);
	sim_free(a, r.mailboxes, (nm ? nm : 1) * sizeof *r.mailboxes);
	sim_free(a, r.series, (w.n_series ? w.n_series : 1) * sizeof *r.series);
	sim_free(a, fseries, (fn ? fn : 1) * sizeof *fseries);
	if (world_ok)
		snd_world_free(&w);
	svc_free(v);
	sim_engine_free(e);
	if (w.why[0] && err && errlen)
		snprintf(err, errlen, "%s", w.why);
	else
		set_err(err, errlen, "run_replication", st);
	return st;
}
