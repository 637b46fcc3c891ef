/* plot_compare.c - the comparison chart of `throttlesim plot`: one panel
 * per key figure of the whole scenario, one bar per variant (the mean over
 * replications) with whiskers for its 95% interval, from the stored
 * summaries (plots/compare.gp, docs/PLOTS.md).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot_int.h"

/* The panels: the figure catalog's key figures of the comparison
 * (RES_K_COMPARE), as the comparison table shows them; at most N_CMP. */
#define N_CMP 6

typedef struct cmp_fig {
	const char *figure, *label;
	bool is_time;
	int all_mail;     /* 1 delivery, 2 submission: the delay of all mail (plot_delay_all) */
} cmp_fig;

static size_t cmp_figures(cmp_fig out[N_CMP])
{
	size_t n = 0;
	for (int f = 0; f < FIG_COUNT && n < N_CMP; f++)
		if (res_fig_info[f].keys & RES_K_COMPARE) {
			out[n] = (cmp_fig){ res_fig_info[f].name, res_fig_info[f].label,
			                    strcmp(res_fig_info[f].unit, "s") == 0, 0 };
			/* The stored delay quantiles are of accepted mail only: a
			 * variant that loses most of it would look fastest. */
			if (f == FIG_DEL_DELAY_P95)
				out[n] = (cmp_fig){ PLOT_DELAY_ALL, "p95 deliv, all mail", true, 1 };
			else if (f == FIG_SUB_DELAY_P95)
				out[n] = (cmp_fig){ "submission_p95_all", "p95 subm, all mail",
				                    true, 2 };
			n++;
		}
	return n;
}

/* The bars: mean and half-width (0 when undefined) of each variant and
 * figure, and each time figure's unit (NULL for the others). */
typedef struct cmp_bars {
	cmp_fig fig[N_CMP];
	size_t n;                     /* panels */
	double *mean, *half;          /* [variant * N_CMP + figure]; mean +Inf: never, for 5% of the mail */
	double scale[N_CMP];
	const char *unit[N_CMP];
} cmp_bars;

static int read_bars(const plot_ctx *c, cmp_bars *b)
{
	double tmax[N_CMP] = { 0 };
	b->n = cmp_figures(b->fig);
	for (size_t i = 0; i < c->n_v; i++)
		for (size_t k = 0; k < b->n; k++) {
			const store_summary *s = b->fig[k].all_mail ? NULL : plot_total(c, i, b->fig[k].figure);
			double mu = s ? s->mean : NAN, h = s ? s->half : NAN;
			if (b->fig[k].all_mail &&
			    plot_delay_all(c, i, b->fig[k].all_mail == 1, 0.95, &mu, &h) != 0)
				return -1;
			b->mean[i * N_CMP + k] = mu;
			b->half[i * N_CMP + k] = isfinite(h) ? h : 0.0;
			if (isfinite(mu) && mu + b->half[i * N_CMP + k] > tmax[k])
				tmax[k] = mu + b->half[i * N_CMP + k];
		}
	for (size_t k = 0; k < b->n; k++) {
		b->scale[k] = 1.0;
		b->unit[k] = NULL;
		if (b->fig[k].is_time)
			plot_time_unit(tmax[k], &b->scale[k], &b->unit[k]);
	}
	return 0;
}

static int write_bars(const plot_ctx *c, const cmp_bars *b, const char *name)
{
	FILE *f = plot_open_data(c, name);
	if (f == NULL)
		return EXIT_FAIL;
	fprintf(f, "# throttlesim run %lld: mean and 95%% half-width over replications, ", (long long)c->run_id);
	plot_put_text(f, c->ent ? c->ent_label : "whole scenario");
	fprintf(f, "\n# slot variant_idx");
	for (size_t k = 0; k < b->n; k++)
		fprintf(f, " %s%s%s half never", b->fig[k].figure, b->unit[k] ? "_" : "", b->unit[k] ? b->unit[k] : "");
	fputc('\n', f);
	for (size_t i = 0; i < c->n_v; i++) {
		fprintf(f, "%zu %zu", i, c->v[i].idx);
		for (size_t k = 0; k < b->n; k++) {
			double mu = b->mean[i * N_CMP + k];
			plot_put_num(f, isinf(mu) ? NAN : mu * b->scale[k]);
			plot_put_num(f, b->half[i * N_CMP + k] * b->scale[k]);
			fprintf(f, " %d", isinf(mu) ? 1 : 0);
		}
		fputc('\n', f);
	}
	return plot_close_data(c, f, name);
}

int plot_chart_compare(plot_ctx *c)
{
	if (c->n_v < 2 && c->o->chart != PLOT_COMPARE) {
		printf("note: run %lld has one variant: no comparison chart\n", (long long)c->run_id);
		return 0;
	}
	if (c->is_sweep && c->o->chart != PLOT_COMPARE) {
		printf("note: run %lld is a sweep: see the sweep chart (or --chart compare)\n",
		       (long long)c->run_id);
		return 0;
	}
	cmp_bars bars = { .mean = malloc(c->n_v * N_CMP * sizeof *bars.mean),
	                  .half = malloc(c->n_v * N_CMP * sizeof *bars.half) };
	if (bars.mean == NULL || bars.half == NULL) {
		free(bars.mean);
		free(bars.half);
		return plot_oom();
	}
	if (read_bars(c, &bars) != 0) {
		free(bars.mean);
		free(bars.half);
		return plot_oom();
	}
	char data[128], img[128], ename[80];
	plot_ent_suffix(c, ename, sizeof ename);
	snprintf(data, sizeof data, "compare%s.dat", ename);
	snprintf(img, sizeof img, "compare%s.%s", ename, c->o->format);
	int ret = write_bars(c, &bars, data);
	free(bars.mean);
	free(bars.half);
	if (ret != 0)
		return ret;

	char title[512];
	/* Two lines: one would not fit the chart's width at its font. */
	if (c->ent)
		snprintf(title, sizeof title, "%s, %s: variants compared (run %lld, %lld replications)\n"
		         "whiskers: 95%% interval; delays count lost mail as never delivered", c->scenario_name,
		         c->ent_label, (long long)c->run_id, (long long)c->replications);
	else
		snprintf(title, sizeof title, "%s: variants compared (run %lld, %lld replications)\n"
		         "whiskers: 95%% interval; delays count lost mail as never delivered", c->scenario_name,
		         (long long)c->run_id, (long long)c->replications);
	plot_sbuf b = { 0 };
	plot_gp_common(c, &b, data, img, title);
	plot_variant_names(c, &b);
	plot_gp_int(&b, "nfig", (long long)bars.n);
	for (size_t k = 0; k < bars.n; k++) {
		char name[32], label[96];
		snprintf(name, sizeof name, "fname%zu", k + 1);
		if (bars.unit[k])
			snprintf(label, sizeof label, "%s (%s)", bars.fig[k].label, bars.unit[k]);
		else
			snprintf(label, sizeof label, "%s", bars.fig[k].label);
		plot_gp_str(&b, name, label);
	}
	ret = plot_render(c, "compare", &b, data, img);
	free(b.s);
	return ret;
}
