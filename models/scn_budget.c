/* scn_budget.c - the memory a run will need, estimated from the loaded
 * scenarios (see scn_budget.h for the model and its figures). */
#include "scn_budget.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "results.h"
#include "status.h"

double scn_dist_max(const scn_dist *d)
{
	switch (d->kind) {
	case DIST_FIXED:
		return d->a;
	case DIST_UNIFORM_INT:
		return d->b;
	case DIST_EMPIRICAL: {
		double m = 0;
		for (size_t i = 0; i < d->n; i++)
			if (d->values[i] > m && (!d->weights || d->weights[i] > 0))
				m = d->values[i];
		return m;
	}
	default:
		return INFINITY;
	}
}

double scn_dist_mean(const scn_dist *d)
{
	switch (d->kind) {
	case DIST_FIXED:
		return d->a;
	case DIST_UNIFORM_INT:
		return (d->a + d->b) / 2;
	case DIST_POISSON1:
		return 1 + d->a;
	case DIST_GEOMETRIC:
		return d->a;
	case DIST_LOGNORMAL:
		return d->a * exp(d->b * d->b / 2);
	case DIST_EMPIRICAL: {
		double sum = 0, tot = 0;
		for (size_t i = 0; i < d->n; i++) {
			double w = d->weights ? d->weights[i] : 1;
			sum += w * d->values[i];
			tot += w;
		}
		return tot > 0 ? sum / tot : 0;
	}
	}
	return d->a;
}

/* The profile's mean multiplier over the 168 hours of a week. */
static double profile_mean(const scn_arrivals *a)
{
	if (!a->has_profile)
		return 1;
	double hs = 0, ds = 0;
	for (int h = 0; h < 24; h++)
		hs += a->hour[h];
	for (int d = 0; d < 7; d++)
		ds += a->day[d];
	return hs / 24 * ds / 7;
}

double scn_sender_rate(const scn_sender *sd, int64_t duration_ns)
{
	const scn_arrivals *a = &sd->arrivals;
	switch (a->kind) {
	case ARR_POISSON:
		return a->rate_per_s * profile_mean(a);
	case ARR_PERIODIC:
		return a->interval_ns > 0 ? 1e9 / (double)a->interval_ns * profile_mean(a) : 0;
	case ARR_BURSTS:
		return a->rate_per_s * profile_mean(a) * scn_dist_mean(&a->burst_size);
	case ARR_TRACE:
		/* all of its rows, over the instances (a per-instance figure) */
		return sd->count > 0 && duration_ns > 0
		       ? (double)a->trace_len / (double)sd->count / ((double)duration_ns / 1e9) : 0;
	default:
		return 0;
	}
}

/* What one figure of the estimate is, for the message. */
typedef struct part {
	double bytes;
	char key[256];
	char what[160];
} part;

static void part_max(part *p, double bytes, const char *key, const char *what)
{
	if (bytes > p->bytes) {
		p->bytes = bytes;
		snprintf(p->key, sizeof p->key, "%s", key);
		snprintf(p->what, sizeof p->what, "%s", what);
	}
}

/* Bytes of one replication of s: what it keeps as results (*kept) and
 * what it holds while it runs (*live, results included); *big the
 * largest part. */
static void one_rep(const scenario *s, double *kept, double *live, part *big)
{
	double dur_s = (double)s->duration_ns / 1e9;
	int64_t step = s->series_step_ns > 0 ? s->series_step_ns : 60 * SCN_NS_PER_S;
	double rows = ceil((double)s->duration_ns / (double)step);
	double series = rows * (double)sizeof(res_series_row);
	double entities = (double)(1 + s->n_senders + s->n_mailboxes) * (double)sizeof(res_entity);
	char what[160];
	*kept = series + entities;
	snprintf(what, sizeof what, "time series: %.0f rows of %zu B per replication", rows, sizeof(res_series_row));
	part_max(big, series * 2, "duration", what);
	double l = series * 2 + entities, msgs_all = 0;
	for (size_t g = 0; g < s->n_senders; g++) {
		const scn_sender *sd = &s->senders[g];
		double count = (double)sd->count;
		double conns = (double)(sd->connections > 0 ? sd->connections : 1);
		double msgs = scn_sender_rate(sd, s->duration_ns) * dur_s * count;
		double backlog = msgs;
		if (sd->outbox_limit > 0 && (double)sd->outbox_limit * count < backlog)
			backlog = (double)sd->outbox_limit * count;
		double inst = count * (320 + 192 * conns) /* run.h: per instance, per worker */;
		double m = msgs * 16 + backlog * (64 + 48);
		char key[256];
		snprintf(key, sizeof key, "senders.%s.arrivals", sd->name);
		snprintf(what, sizeof what, "%.3g messages in a replication, at 16 B of delay samples each "
			 "and up to %.3g waiting at once at 112 B", msgs, backlog);
		part_max(big, m, key, what);
		snprintf(key, sizeof key, "senders.%s.count", sd->name);
		snprintf(what, sizeof what, "%.3g instances with %.3g connections each", count, conns);
		part_max(big, inst, key, what);
		l += m + inst;
		msgs_all += msgs;
	}
	double mb = 0;
	for (size_t i = 0; i < s->n_mailboxes; i++) {
		const scn_limits *li = &s->mailboxes[i].limits;
		double rrl = fmin((double)li->recipient_rate.limit, msgs_all);
		double mrl = fmin((double)li->message_rate.limit, msgs_all);
		mb += 1300 + 16 * rrl + 8 * mrl;
	}
	snprintf(what, sizeof what, "%zu mailboxes with their rate windows", s->n_mailboxes);
	part_max(big, mb, "mailboxes", what);
	*live = l + mb;
}

/* The whole run: what every replication keeps, the largest replication
 * in flight, how many run at once; the need. */
static double estimate(scenario *const *v, size_t n, int jobs, part *big, double *kept, double *live_max,
		       double *par, double *reps)
{
	*kept = *live_max = *reps = 0;
	if (jobs < 1)
		jobs = 1;
	for (size_t i = 0; i < n; i++) {
		double k, l;
		one_rep(v[i], &k, &l, big);
		*kept += k * (double)v[i]->replications;
		*reps += (double)v[i]->replications;
		if (l > *live_max)
			*live_max = l;
	}
	*par = *reps < jobs ? *reps : jobs;
	return *kept + *live_max * *par;
}

double scn_budget_need(scenario *const *v, size_t n, int jobs)
{
	part big = { 0 };
	double kept, live_max, par, reps;
	return estimate(v, n, jobs, &big, &kept, &live_max, &par, &reps);
}

static void fmt_bytes(char *buf, size_t len, double b)
{
	if (b >= (double)(1ULL << 30))
		snprintf(buf, len, "%.3g GiB", b / (double)(1ULL << 30));
	else
		snprintf(buf, len, "%.3g MiB", b / (double)(1ULL << 20));
}

int scn_budget_check(scenario *const *v, size_t n, int jobs, uint64_t budget_bytes, scn_errors *errs)
{
	part big = { 0 };
	double kept, live_max, par, reps;
	double need = estimate(v, n, jobs, &big, &kept, &live_max, &par, &reps);
	if (need <= (double)budget_bytes)
		return SIM_OK;
	/* What to change: the largest part of one replication, unless what
	 * every replication keeps is most of it. */
	if (kept > live_max * par && v[0]->replications > 1) {
		snprintf(big.key, sizeof big.key, "replications");
		snprintf(big.what, sizeof big.what, "%.0f replications in all, each keeping %.3g MiB of results",
			 reps, kept / reps / (double)(1 << 20));
	}
	yml_error *e = yml_errors_add(errs);
	if (e) {
		char nb[32], bb[32];
		fmt_bytes(nb, sizeof nb, need);
		fmt_bytes(bb, sizeof bb, (double)budget_bytes);
		memset(e, 0, sizeof *e);
		snprintf(e->file, sizeof e->file, "%s", v[0]->source_file);
		snprintf(e->key, sizeof e->key, "%s", big.key);
		snprintf(e->message, sizeof e->message,
			 "a run needs about %s (%s; %d replication%s at once), over the memory budget of %s "
			 "(raise it with --memory-budget)", nb, big.what, (int)par, par == 1 ? "" : "s", bb);
	}
	return SIM_ESCENARIO;
}

int scn_budget_parse(const char *s, uint64_t *bytes)
{
	char *end;
	if (!s || !(*s >= '0' && *s <= '9'))
		return -1;
	double v = strtod(s, &end);
	int shift = 0;
	switch (*end) {
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	case 'T': case 't': shift = 40; end++; break;
	default: break;
	}
	if (shift && *end == 'i')
		end++;
	if (*end == 'B' || (*end == 'b' && shift))
		end++;
	if (*end || !(v > 0) || v * (double)(1ULL << shift) >= 18e18)
		return -1;
	*bytes = (uint64_t)(v * (double)(1ULL << shift));
	return *bytes ? 0 : -1;
}
