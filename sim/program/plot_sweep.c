/* plot_sweep.c - the sweep chart of `throttlesim plot`: a figure of the
 * whole scenario (the stored summaries) against the swept value, one line
 * per variant name and value of a second swept key, each with its 95%
 * band (plots/sweep.gp, docs/PLOTS.md).  Sweep points come from each
 * variant's stored description.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot_int.h"

#define MAX_LINES 1024

/* One figure at every point, and how the points make lines. */
typedef struct sweep_data {
	const char *fig;
	double *mean, *half;        /* per variant; NaN when none */
	size_t *line;               /* per variant: its line, SIZE_MAX for none */
	size_t *order;              /* scratch */
	size_t first_of_line[MAX_LINES];
	size_t n_lines;
	char unit_in[32];           /* the figure's unit as stored */
	double scale;
	const char *unit;           /* as shown */
} sweep_data;

static void sweep_free(sweep_data *s)
{
	free(s->mean);
	free(s->half);
	free(s->line);
	free(s->order);
}

/* The figure of every variant; the number of variants that have it. */
static size_t read_points(const plot_ctx *c, sweep_data *s)
{
	size_t found = 0;
	double ymax = 0;
	for (size_t i = 0; i < c->n_v; i++) {
		const store_summary *sm = plot_total(c, i, s->fig);
		s->mean[i] = s->half[i] = NAN;
		if (sm == NULL)
			continue;
		s->mean[i] = sm->mean;
		s->half[i] = sm->half;
		snprintf(s->unit_in, sizeof s->unit_in, "%s", sm->unit);
		found++;
		double top = s->mean[i] + (isfinite(s->half[i]) ? s->half[i] : 0);
		if (isfinite(s->mean[i]) && top > ymax)
			ymax = top;
	}
	s->scale = 1.0;
	s->unit = s->unit_in;
	if (strcmp(s->unit_in, "s") == 0)
		plot_time_unit(ymax, &s->scale, &s->unit);
	return found;
}

/* Lines: one per (variant name, second key's value).  O(variants x lines),
 * a few hundred at most. */
static void make_lines(const plot_ctx *c, sweep_data *s)
{
	s->n_lines = 0;
	for (size_t i = 0; i < c->n_v; i++) {
		const plot_variant *v = &c->v[i];
		s->line[i] = SIZE_MAX;
		if (!v->has_point || !isfinite(v->value))
			continue;
		for (size_t l = 0; l < s->n_lines; l++) {
			const plot_variant *w = &c->v[s->first_of_line[l]];
			bool same2 = (isnan(w->value2) && isnan(v->value2)) || w->value2 == v->value2;
			if (strcmp(w->name, v->name) == 0 && same2) {
				s->line[i] = l;
				break;
			}
		}
		if (s->line[i] == SIZE_MAX && s->n_lines < MAX_LINES) {
			s->first_of_line[s->n_lines] = i;
			s->line[i] = s->n_lines++;
		}
	}
}

/* Each line's points sorted by the swept value, lines apart by two blank
 * rows (gnuplot's index). */
static int write_sweep(const plot_ctx *c, sweep_data *s, const char *key, const char *path)
{
	FILE *f = plot_open_data(path);
	if (f == NULL)
		return EXIT_FAIL;
	fprintf(f, "# throttlesim run %lld: %s (%s) against %s; mean, mean - half, mean + half\n",
	        (long long)c->run_id, s->fig, s->unit, key);
	for (size_t l = 0; l < s->n_lines; l++) {
		size_t n = 0;
		for (size_t i = 0; i < c->n_v; i++)
			if (s->line[i] == l)
				s->order[n++] = i;
		for (size_t a = 1; a < n; a++)   /* insertion sort by swept value */
			for (size_t b = a; b > 0 && c->v[s->order[b - 1]].value > c->v[s->order[b]].value; b--) {
				size_t t = s->order[b];
				s->order[b] = s->order[b - 1];
				s->order[b - 1] = t;
			}
		fprintf(f, "# line %zu: %s\n", l + 1, c->v[s->first_of_line[l]].name);
		for (size_t j = 0; j < n; j++) {
			size_t i = s->order[j];
			double h = isfinite(s->half[i]) ? s->half[i] : 0.0;
			fprintf(f, "%.10g", c->v[i].value);
			plot_put_num(f, s->mean[i] * s->scale);
			plot_put_num(f, (s->mean[i] - h) * s->scale);
			plot_put_num(f, (s->mean[i] + h) * s->scale);
			fputc('\n', f);
		}
		fputs("\n\n", f);
	}
	return plot_close_data(f, path);
}

static void sweep_vars(const plot_ctx *c, const sweep_data *s, const char *key, plot_sbuf *b)
{
	/* "delivery_delay_p95" reads as "delivery delay p95". */
	char pretty[128], ylabel[256];
	snprintf(pretty, sizeof pretty, "%s", s->fig);
	for (char *p = pretty; *p; p++)
		if (*p == '_')
			*p = ' ';
	if (s->unit[0])
		snprintf(ylabel, sizeof ylabel, "%s (%s)", pretty, s->unit);
	else
		snprintf(ylabel, sizeof ylabel, "%s", pretty);
	plot_gp_str(b, "xlabel", key);
	plot_gp_str(b, "ylabel", ylabel);
	plot_gp_int(b, "nline", (long long)s->n_lines);
	for (size_t l = 0; l < s->n_lines; l++) {
		const plot_variant *w = &c->v[s->first_of_line[l]];
		char name[32], label[256];
		snprintf(name, sizeof name, "lname%zu", l + 1);
		if (w->key2 && isfinite(w->value2))
			snprintf(label, sizeof label, "%s, %s = %g", w->name, w->key2, w->value2);
		else
			snprintf(label, sizeof label, "%s", w->name);
		plot_gp_str(b, name, label);
	}
}

/* Draws the chart of s (its points read, its lines made). */
static int draw(plot_ctx *c, sweep_data *s)
{
	const char *key = s->n_lines && c->v[s->first_of_line[0]].key ? c->v[s->first_of_line[0]].key
	                                                            : "swept value";
	char data[PATH_MAX], img[PATH_MAX], sfig[64];
	plot_safe_name(s->fig, sfig, sizeof sfig);
	snprintf(data, sizeof data, "%s/sweep-%s.dat", c->out, sfig);
	snprintf(img, sizeof img, "%s/sweep-%s.%s", c->out, sfig, c->o->format);
	if (write_sweep(c, s, key, data) != 0)
		return EXIT_FAIL;
	char pretty[128], title[512];
	snprintf(pretty, sizeof pretty, "%s", s->fig);
	for (char *p = pretty; *p; p++)
		if (*p == '_')
			*p = ' ';
	snprintf(title, sizeof title, "%s: %s against %s (run %lld)", c->scenario_name, pretty, key,
	         (long long)c->run_id);
	plot_sbuf b = { 0 };
	plot_gp_common(c, &b, data, img, title);
	sweep_vars(c, s, key, &b);
	int ret = plot_render(c, "sweep", &b, img);
	free(b.s);
	return ret;
}

int plot_chart_sweep(plot_ctx *c)
{
	if (!c->l->has_sweep) {
		printf("note: this store has no sweep columns in variants (it predates sweeps"
		       "): no sweep chart\n");
		return 0;
	}
	if (!c->is_sweep) {
		if (c->o->chart == PLOT_SWEEP)
			printf("note: run %lld is not a sweep: no sweep chart\n", (long long)c->run_id);
		return 0;
	}
	sweep_data s = { .fig = c->o->figure, .mean = malloc(c->n_v * sizeof *s.mean),
	                 .half = malloc(c->n_v * sizeof *s.half), .line = malloc(c->n_v * sizeof *s.line),
	                 .order = malloc(c->n_v * sizeof *s.order) };
	if (!s.mean || !s.half || !s.line || !s.order) {
		sweep_free(&s);
		return plot_oom();
	}
	if (read_points(c, &s) == 0) {
		sweep_free(&s);
		fprintf(stderr, "throttlesim plot: run %lld has no figure '%s' (names: throttlesim results"
		        " export %lld --format csv)\n", (long long)c->run_id, c->o->figure, (long long)c->run_id);
		return EXIT_USAGE;
	}
	make_lines(c, &s);
	int ret = draw(c, &s);
	sweep_free(&s);
	return ret;
}
