/* plot_cdf.c - the delay-distribution chart of `throttlesim plot`: the
 * delivery delay of every variant on one chart (plots/cdf.gp,
 * docs/PLOTS.md).  Each replication's quantiles (q = 0, 0.01, ..., 1) are
 * averaged over the replications, q by q (a "Vincent average"): the
 * distribution of a typical replication.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "plot_int.h"

enum { NQ = RES_CDF_POINTS };

/* m[i * NQ + q]: variant i's quantile q averaged over the replications
 * where it is defined (NaN where it is nowhere); the smallest positive
 * and the largest value in *lo, *hi.  The number of defined points. */
static size_t average_quantiles(const plot_ctx *c, double *m, double *lo, double *hi)
{
	size_t points = 0;
	*lo = INFINITY;
	*hi = 0;
	for (size_t i = 0; i < c->n_v; i++) {
		const rpt_variant *rv = c->v[i].rv;
		const replay_variant *rp = c->ent ? plot_replayed(c, i) : NULL;
		size_t reps = c->ent ? (rp ? rp->n_reps : 0) : rv->n_reps;
		for (size_t q = 0; q < NQ; q++) {
			double sum = 0;
			size_t n = 0;
			for (size_t r = 0; r < reps; r++) {
				double x = rp ? rp->delivery_cdf[r * NQ + q] : rv->reps[r].delivery_cdf[q];
				if (isfinite(x)) {
					sum += x;
					n++;
				}
			}
			double x = n ? sum / (double)n : NAN;
			m[i * NQ + q] = x;
			if (!isfinite(x))
				continue;
			points++;
			if (x > 0 && x < *lo)
				*lo = x;
			if (x > *hi)
				*hi = x;
		}
	}
	return points;
}

/* Each variant's share of generated mail delivered (released) and lost,
 * mean over its replications: the curve's top and its censored tail. */
static void shares(const plot_ctx *c, size_t i, double *delivered, double *lost)
{
	const rpt_variant *rv = c->v[i].rv;
	double d = 0, l = 0;
	size_t n = 0;
	for (size_t r = 0; r < rv->n_reps; r++) {
		const res_entity *e = plot_entity(c, i, &rv->reps[r]);
		double a = plot_share(e, FIG_RELEASED), b = plot_share(e, FIG_LOST);
		if (isfinite(a) && isfinite(b)) {
			d += a;
			l += b;
			n++;
		}
	}
	*delivered = n ? d / (double)n : 1.0;
	*lost = n ? l / (double)n : 0.0;
}

static int write_cdf(const plot_ctx *c, const double *m, bool logx, double scale, const char *unit,
                     const double *dshare, const char *name)
{
	FILE *f = plot_open_data(c, name);
	if (f == NULL)
		return EXIT_FAIL;
	fprintf(f, "# throttlesim run %lld: delivery delay quantiles (%s), mean over replications%s;\n"
	        "# per variant: its delay at quantile q of the delivered mail, and q times its delivered\n"
	        "# share: the fraction of ALL generated mail delivered within that delay\n"
	        "# q", (long long)c->run_id, unit, c->ent ? " (replayed), of the entity" : "");
	for (size_t i = 0; i < c->n_v; i++)
		fprintf(f, " v%zu_delay v%zu_fraction_of_all", c->v[i].idx, c->v[i].idx);
	fputc('\n', f);
	for (size_t q = 0; q < NQ; q++) {
		fprintf(f, "%.2f", (double)q / 100.0);
		for (size_t i = 0; i < c->n_v; i++) {
			double x = m[i * NQ + q];
			plot_put_num(f, logx && !(x > 0) ? NAN : x * scale);
			plot_put_num(f, (double)q / 100.0 * dshare[i]);
		}
		fputc('\n', f);
	}
	return plot_close_data(c, f, name);
}

int plot_chart_cdf(plot_ctx *c)
{
	if (!c->l->has_delay_cdf) {
		printf("note: this store has no delay_cdf table (it predates stored delay distributions):"
		       " no delay distribution chart\n");
		return 0;
	}
	double *m = malloc(c->n_v * NQ * sizeof *m);
	if (m == NULL)
		return plot_oom();
	double lo, hi;
	if (average_quantiles(c, m, &lo, &hi) == 0) {
		free(m);
		printf("note: run %lld has no delivery delays stored: no delay distribution chart\n",
		       (long long)c->run_id);
		return 0;
	}
	bool logx = hi > 0 && lo < INFINITY && hi / lo > 100.0;
	double scale = 1.0;
	const char *unit = "s";
	if (!logx)
		plot_time_unit(hi, &scale, &unit);
	char data[128], img[128], ename[80];
	plot_ent_suffix(c, ename, sizeof ename);
	snprintf(data, sizeof data, "cdf%s.dat", ename);
	snprintf(img, sizeof img, "cdf%s.%s", ename, c->o->format);
	double *dshare = malloc(2 * c->n_v * sizeof *dshare);
	if (dshare == NULL) {
		free(m);
		return plot_oom();
	}
	for (size_t i = 0; i < c->n_v; i++)
		shares(c, i, &dshare[i], &dshare[c->n_v + i]);
	int ret = write_cdf(c, m, logx, scale, unit, dshare, data);
	double *last = malloc(c->n_v * sizeof *last);
	for (size_t i = 0; last && i < c->n_v; i++) {
		last[i] = NAN;
		for (size_t q = 0; q < NQ; q++)
			if (isfinite(m[i * NQ + q]))
				last[i] = m[i * NQ + q] * scale;
	}
	free(m);
	if (ret != 0 || last == NULL) {
		free(dshare);
		free(last);
		return ret != 0 ? ret : plot_oom();
	}

	char title[512], xl[64];
	/* Two lines: with a long scenario name one would be cut at the edges. */
	if (c->ent) {
		bool hist = c->ent_kind == RES_MAILBOX;
		snprintf(title, sizeof title, "%s, %s: share of its messages delivered within a delay\n"
		         "run %lld replayed, mean of %lld replications; lost mail is never delivered%s",
		         c->scenario_name, c->ent_label, (long long)c->run_id, (long long)c->replications,
		         hist ? "; delays binned (within 1/16)" : "");
	} else {
		snprintf(title, sizeof title, "%s: share of all messages delivered within a delay\n"
		         "run %lld, mean of %lld replications; lost mail is never delivered", c->scenario_name,
		         (long long)c->run_id, (long long)c->replications);
	}
	plot_sbuf b = { 0 };
	plot_gp_common(c, &b, data, img, title);
	plot_variant_names(c, &b);
	/* Each curve stops at its delivered share; the rest of the mail, lost
	 * or never delivered, is the censored tail above it. */
	for (size_t i = 0; i < c->n_v; i++) {
		char name[32], label[320];
		double d = dshare[i], l = dshare[c->n_v + i], other = 1 - d - l;
		snprintf(name, sizeof name, "dshare%zu", i + 1);
		plot_gp_num(&b, name, d);
		snprintf(name, sizeof name, "dlast%zu", i + 1);
		plot_gp_num(&b, name, last[i]);
		snprintf(name, sizeof name, "tail%zu", i + 1);
		if (c->ent && c->ent[i] == SIZE_MAX)
			snprintf(label, sizeof label, "no such %s in it", c->ent_kind == RES_GROUP ? "group" : "mailbox");
		else if (l < 5e-4 && other < 5e-4)
			snprintf(label, sizeof label, "all delivered");
		else if (other < 5e-4)
			snprintf(label, sizeof label, "%.1f%% lost", 100 * l);
		else
			snprintf(label, sizeof label, "%.1f%% lost, %.1f%% not delivered", 100 * l, 100 * other);
		plot_gp_str(&b, name, label);
	}
	free(dshare);
	free(last);
	plot_gp_int(&b, "logx", logx);
	snprintf(xl, sizeof xl, "delivery delay (%s)", unit);
	plot_gp_str(&b, "xlabel", logx ? "delivery delay, generation to release (log scale)" : xl);
	ret = plot_render(c, "cdf", &b, data, img);
	free(b.s);
	return ret;
}
