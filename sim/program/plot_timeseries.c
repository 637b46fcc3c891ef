/* plot_timeseries.c - the time-series chart of `throttlesim plot`: per
 * variant, replication 0: accepted and refused per minute by reply class,
 * outbox backlog, open sessions against the concurrency limit, and the
 * error-throttle periods shaded (plots/timeseries.gp, docs/PLOTS.md).
 *
 * The limit line is the variant's own: the sum, over its mailboxes, of
 * each one's resolved concurrency limit when that limit counts per mailbox
 * (res_limits of the stored description).  A run whose store does not
 * hold limits (schema 1), or whose mailboxes have none per mailbox, gets
 * no line rather than a guessed one.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot_int.h"
#include "report.h"
#include "term.h"

/* The replication drawn: number 0 (the first stored if there is none). */
static const res_rep *rep_zero(const rpt_variant *rv)
{
	for (size_t r = 0; r < rv->n_reps; r++)
		if (rv->reps[r].replication == 0)
			return &rv->reps[r];
	return rv->n_reps ? &rv->reps[0] : NULL;
}

/* The variant's concurrency limit line (0: none) and its label.  Only
 * mailboxes whose limit counts per mailbox add to it; the label says the
 * limit per mailbox, how many mailboxes, and when the limits differ or
 * some mailboxes have none. */
static int64_t concurrency_limit(const res_desc *d, char *label, size_t size)
{
	int64_t sum = 0, lo = 0, hi = 0;
	size_t n = 0, all = d ? d->n_mailboxes : 0;
	for (size_t m = 0; m < all; m++) {
		const res_limits *lim = &d->mailboxes[m].limits;
		if (lim->concurrency <= 0 || lim->concurrency_scope != SCOPE_MAILBOX)
			continue;
		if (n == 0 || lim->concurrency < lo)
			lo = lim->concurrency;
		if (n == 0 || lim->concurrency > hi)
			hi = lim->concurrency;
		sum += lim->concurrency;
		n++;
	}
	label[0] = 0;
	if (n == 0)
		return 0;
	char per[64], rest[96] = "";
	if (lo == hi)
		snprintf(per, sizeof per, "%lld", (long long)lo);
	else
		snprintf(per, sizeof per, "%lld to %lld", (long long)lo, (long long)hi);
	if (n < all)
		snprintf(rest, sizeof rest, " (%zu of %zu mailboxes limited)", n, all);
	if (n == 1)
		snprintf(label, size, "concurrency limit, %s per mailbox%s", per, rest);
	else if (lo == hi)
		snprintf(label, size, "concurrency limit, %s x %zu mailboxes%s", per, n, rest);
	else
		snprintf(label, size, "concurrency limit, %lld in all (%s per mailbox, %zu mailboxes)%s",
		         (long long)sum, per, n, rest);
	return sum;
}

/* One time series as the chart needs it. */
typedef struct ts_data {
	const res_rep *rep;
	double step_s;
	bool occurs[RC_COUNT];      /* reply classes refused at least once */
	int n_classes;
	plot_sbuf periods;          /* error-throttle periods, "from to ..." (h) */
	int n_periods;
	double end_h;
} ts_data;

/* The data file: one row per step; throttle periods merged across steps. */
static int write_series(const plot_ctx *c, const plot_variant *v, ts_data *t, const char *name)
{
	FILE *f = plot_open_data(c, name);
	if (f == NULL)
		return EXIT_FAIL;
	fprintf(f, "# throttlesim run %lld, variant %zu '", (long long)c->run_id, v->idx);
	plot_put_text(f, v->name);
	fprintf(f, "', replication 0; step %g s\n"
	        "# t_h accepted_per_min backlog open_sessions throttled_mailboxes", t->step_s);
	for (int r = 1; r < RC_COUNT; r++)
		if (t->occurs[r])
			fprintf(f, " rejected_%s_per_min", rpt_reply_id(r));
	fputc('\n', f);
	double per_min = 60.0 / t->step_s, thr_from = -1;
	const res_rep *rep = t->rep;
	for (size_t i = 0; i < rep->n_series; i++) {
		const res_series_row *row = &rep->series[i];
		double t_h = (double)i * (double)rep->series_step_ns / 1e9 / 3600.0;
		if (!(rep->series_step_ns > 0))
			t_h = (double)i * t->step_s / 3600.0;
		bool throttled = row->throttled_mailboxes > 0;
		fprintf(f, "%.6f %.6g %lld %lld %lld", t_h, (double)row->accepted * per_min,
		        (long long)row->outbox_backlog, (long long)row->open_sessions,
		        (long long)row->throttled_mailboxes);
		for (int r = 1; r < RC_COUNT; r++)
			if (t->occurs[r])
				fprintf(f, " %.6g", (double)row->rejected_by[r] * per_min);
		fputc('\n', f);
		if (throttled && thr_from < 0)
			thr_from = t_h;
		if (!throttled && thr_from >= 0) {
			plot_sb_printf(&t->periods, "%.6f %.6f ", thr_from, t_h);
			thr_from = -1;
			t->n_periods++;
		}
	}
	t->end_h = (double)rep->n_series * t->step_s / 3600.0;
	if (thr_from >= 0) {
		plot_sb_printf(&t->periods, "%.6f %.6f ", thr_from, t->end_h);
		t->n_periods++;
	}
	return plot_close_data(c, f, name);
}

/* The script's variables: refusal classes, the limit, throttle periods. */
static void series_vars(const plot_variant *v, const ts_data *t, plot_sbuf *b)
{
	plot_gp_num(b, "xmax", t->end_h);
	plot_gp_int(b, "nclass", t->n_classes);
	int k = 0;
	for (int r = 1; r < RC_COUNT; r++) {
		if (!t->occurs[r])
			continue;
		char name[32], label[96];
		snprintf(name, sizeof name, "cname%d", ++k);
		/* "432 concurrency": the code people see in logs (the reply as
		 * given), then the class. */
		const char *id = rpt_reply_id(r);
		char code[16];
		rpt_reply_label(v->rv, r, code, sizeof code);
		if (code[0] >= '0' && code[0] <= '9')
			snprintf(label, sizeof label, "%s %s", code, id);
		else /* a label that is no code ("msg rate") would repeat the class */
			snprintf(label, sizeof label, "%s", id);
		for (char *p = label; *p; p++)
			if (*p == '_')
				*p = ' ';
		plot_gp_str(b, name, label);
	}
	char llabel[320];
	plot_gp_int(b, "limit", (long long)concurrency_limit(v->rv->desc, llabel, sizeof llabel));
	plot_gp_str(b, "limitlabel", llabel);
	plot_gp_int(b, "nperiods", t->n_periods);
	plot_gp_str(b, "periods", t->periods.s ? t->periods.s : "");
}

static int chart_one(plot_ctx *c, const plot_variant *v)
{
	ts_data t = { .rep = rep_zero(v->rv) };
	if (t.rep == NULL || t.rep->n_series == 0) {
		term_printf("note: variant '%s' has no time series in run %lld: no time series chart\n", v->name,
		       (long long)c->run_id);
		return 0;
	}
	t.step_s = t.rep->series_step_ns > 0 ? (double)t.rep->series_step_ns / 1e9 : 60.0;
	for (size_t i = 0; i < t.rep->n_series; i++)
		for (int r = 1; r < RC_COUNT; r++)
			if (t.rep->series[i].rejected_by[r] > 0 && !t.occurs[r]) {
				t.occurs[r] = true;
				t.n_classes++;
			}
	char sname[64], data[128], img[128];
	plot_safe_name(v->name, sname, sizeof sname);
	snprintf(data, sizeof data, "timeseries-%zu-%s.dat", v->idx, sname);
	snprintf(img, sizeof img, "timeseries-%zu-%s.%s", v->idx, sname, c->o->format);
	if (write_series(c, v, &t, data) != 0) {
		free(t.periods.s);
		return EXIT_FAIL;
	}
	char title[512];
	snprintf(title, sizeof title, "%s, variant %s: replication 0 (run %lld)", c->scenario_name,
	         v->name, (long long)c->run_id);
	plot_sbuf b = { 0 };
	plot_gp_common(c, &b, data, img, title);
	if (t.periods.oom)
		b.oom = true;
	series_vars(v, &t, &b);
	free(t.periods.s);
	int ret = plot_render(c, "timeseries", &b, data, img);
	free(b.s);
	return ret;
}

int plot_chart_timeseries(plot_ctx *c)
{
	if (c->o->variant == NULL && c->is_sweep && c->o->chart != PLOT_TIMESERIES) {
		printf("note: run %lld is a sweep of %zu variants: time series only with --variant NAME"
		       " or --chart timeseries\n", (long long)c->run_id, c->n_v);
		return 0;
	}
	int ret = 0;
	for (size_t i = 0; i < c->n_v && ret == 0; i++)
		if (c->o->variant == NULL || strcmp(c->o->variant, c->v[i].name) == 0)
			ret = chart_one(c, &c->v[i]);
	return ret;
}
