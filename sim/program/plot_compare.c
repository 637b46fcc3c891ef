/* plot_compare.c - the comparison chart of `throttlesim plot`: one panel
 * per key figure of the whole scenario, one bar per variant (the mean over
 * replications) with whiskers for its 95% interval, from the stored
 * summaries (plots/compare.gp, docs/PLOTS.md).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "plot_int.h"

typedef struct cmp_fig {
	const char *figure, *label;
	bool is_time;
} cmp_fig;

static const cmp_fig cmp_figs[] = {
	{ "accepted", "accepted (messages)", false },
	{ "lost", "lost (messages)", false },
	{ "rejected", "refused replies (count)", false },
	{ "delivery_delay_p95", "p95 delivery delay", true },
	{ "retries_per_msg", "retries per message", false },
	{ "throttle_time", "time error-throttled", true },
};
#define N_CMP (sizeof cmp_figs / sizeof cmp_figs[0])

/* The bars: mean and half-width (0 when undefined) of each variant and
 * figure, and each time figure's unit (NULL for the others). */
typedef struct cmp_bars {
	double *mean, *half;          /* [variant * N_CMP + figure] */
	double scale[N_CMP];
	const char *unit[N_CMP];
} cmp_bars;

static void read_bars(const plot_ctx *c, cmp_bars *b)
{
	double tmax[N_CMP] = { 0 };
	for (size_t i = 0; i < c->n_v; i++)
		for (size_t k = 0; k < N_CMP; k++) {
			const store_summary *s = plot_total(c, i, cmp_figs[k].figure);
			double mu = s ? s->mean : NAN, h = s ? s->half : NAN;
			b->mean[i * N_CMP + k] = mu;
			b->half[i * N_CMP + k] = isfinite(h) ? h : 0.0;
			if (isfinite(mu) && mu + b->half[i * N_CMP + k] > tmax[k])
				tmax[k] = mu + b->half[i * N_CMP + k];
		}
	for (size_t k = 0; k < N_CMP; k++) {
		b->scale[k] = 1.0;
		b->unit[k] = NULL;
		if (cmp_figs[k].is_time)
			plot_time_unit(tmax[k], &b->scale[k], &b->unit[k]);
	}
}

static int write_bars(const plot_ctx *c, const cmp_bars *b, const char *path)
{
	FILE *f = plot_open_data(path);
	if (f == NULL)
		return EXIT_PLOT_FAIL;
	fprintf(f, "# throttlesim run %lld: mean and 95%% half-width over replications, whole scenario\n"
	        "# slot variant_idx", (long long)c->run_id);
	for (size_t k = 0; k < N_CMP; k++)
		fprintf(f, " %s%s%s half", cmp_figs[k].figure, b->unit[k] ? "_" : "", b->unit[k] ? b->unit[k] : "");
	fputc('\n', f);
	for (size_t i = 0; i < c->n_v; i++) {
		fprintf(f, "%zu %zu", i, c->v[i].idx);
		for (size_t k = 0; k < N_CMP; k++) {
			plot_put_num(f, b->mean[i * N_CMP + k] * b->scale[k]);
			plot_put_num(f, b->half[i * N_CMP + k] * b->scale[k]);
		}
		fputc('\n', f);
	}
	return plot_close_data(f, path);
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
	read_bars(c, &bars);
	char data[PATH_MAX], img[PATH_MAX];
	snprintf(data, sizeof data, "%s/compare.dat", c->out);
	snprintf(img, sizeof img, "%s/compare.%s", c->out, c->o->format);
	int ret = write_bars(c, &bars, data);
	free(bars.mean);
	free(bars.half);
	if (ret != 0)
		return ret;

	char title[512];
	snprintf(title, sizeof title, "%s: variants compared (run %lld, %lld replications;"
	         " whiskers: 95%% confidence interval)", c->scenario_name, (long long)c->run_id,
	         (long long)c->replications);
	plot_sbuf b = { 0 };
	plot_gp_common(c, &b, data, img, title);
	plot_variant_names(c, &b);
	plot_gp_int(&b, "nfig", (long long)N_CMP);
	for (size_t k = 0; k < N_CMP; k++) {
		char name[32], label[96];
		snprintf(name, sizeof name, "fname%zu", k + 1);
		if (bars.unit[k])
			snprintf(label, sizeof label, "%s (%s)", cmp_figs[k].label, bars.unit[k]);
		else
			snprintf(label, sizeof label, "%s", cmp_figs[k].label);
		plot_gp_str(&b, name, label);
	}
	ret = plot_render(c, "compare", &b, img);
	free(b.s);
	return ret;
}
