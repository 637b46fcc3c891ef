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
#include "term.h"

/* One figure at every point, and how the points make lines. */
typedef struct sweep_data {
	const char *fig;
	double *mean, *half;        /* per variant; NaN when none */
	size_t *line;               /* per variant: its line, SIZE_MAX for none */
	size_t *order;              /* scratch */
	size_t *first_of_line;      /* per line (at most one per variant) */
	size_t n_lines;
	char unit_in[32];           /* the figure's unit as stored */
	double scale;
	const char *unit;           /* as shown */
	size_t n_never;             /* points where over 5% of the mail was not delivered */
} sweep_data;

static void sweep_free(sweep_data *s)
{
	free(s->mean);
	free(s->half);
	free(s->line);
	free(s->order);
	free(s->first_of_line);
}

/* The figure of every variant; the number of variants that have it. */
static size_t read_points(const plot_ctx *c, sweep_data *s)
{
	size_t found = 0;
	double ymax = 0;
	bool all = strcmp(s->fig, PLOT_DELAY_ALL) == 0;
	for (size_t i = 0; i < c->n_v; i++) {
		const store_summary *sm = all ? NULL : plot_total(c, i, s->fig);
		s->mean[i] = s->half[i] = NAN;
		if (all) {
			/* never (+Inf) is left out of the line, and said in the label */
			if (plot_delay_all(c, i, true, 0.95, &s->mean[i], &s->half[i]) != 0)
				return 0;
			if (isinf(s->mean[i])) {
				s->mean[i] = NAN;
				s->n_never++;
			}
			snprintf(s->unit_in, sizeof s->unit_in, "s");
		} else if (sm == NULL) {
			continue;
		} else {
			s->mean[i] = sm->mean;
			s->half[i] = sm->half;
			snprintf(s->unit_in, sizeof s->unit_in, "%s", sm->unit);
		}
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

/* A point's line key: variant name, second swept value, variant index. */
typedef struct line_key {
	const char *name;
	double value2;              /* NaN: none */
	size_t i;
} line_key;

static int cmp_line_key(const void *pa, const void *pb)
{
	const line_key *a = pa, *b = pb;
	int k = strcmp(a->name, b->name);
	if (k != 0)
		return k;
	bool na = isnan(a->value2), nb = isnan(b->value2);
	if (na != nb)
		return na ? -1 : 1;
	if (!na && a->value2 != b->value2)
		return a->value2 < b->value2 ? -1 : 1;
	return a->i < b->i ? -1 : a->i > b->i;
}

/* Lines: one per (variant name, second key's value), numbered in the order
 * of their first variant.  Sorting the keys makes it O(n log n) for the
 * 10^4 scenarios a sweep may have (every one its own line, at worst).
 * 0 or EXIT_FAIL (out of memory). */
static int make_lines(const plot_ctx *c, sweep_data *s)
{
	line_key *k = malloc((c->n_v ? c->n_v : 1) * sizeof *k);
	if (k == NULL)
		return plot_oom();
	size_t n = 0;
	for (size_t i = 0; i < c->n_v; i++) {
		const plot_variant *v = &c->v[i];
		s->line[i] = SIZE_MAX;
		s->order[i] = SIZE_MAX;       /* here: the first variant of i's line */
		if (v->has_point && isfinite(v->value))
			k[n++] = (line_key){ v->name, v->value2, i };
	}
	qsort(k, n, sizeof *k, cmp_line_key);
	for (size_t j = 0; j < n; j++) {
		bool same = j > 0 && strcmp(k[j].name, k[j - 1].name) == 0 &&
		            ((isnan(k[j].value2) && isnan(k[j - 1].value2)) || k[j].value2 == k[j - 1].value2);
		s->order[k[j].i] = same ? s->order[k[j - 1].i] : k[j].i;
	}
	free(k);
	s->n_lines = 0;
	for (size_t i = 0; i < c->n_v; i++) {
		size_t first = s->order[i];
		if (first == SIZE_MAX)
			continue;
		if (first == i) {
			s->first_of_line[s->n_lines] = i;
			s->line[i] = s->n_lines++;
		} else {
			s->line[i] = s->line[first];   /* first < i: numbered already */
		}
	}
	return 0;
}

/* Each line's points sorted by the swept value, lines apart by two blank
 * rows (gnuplot's index). */
static int write_sweep(const plot_ctx *c, sweep_data *s, const char *key, const char *name)
{
	FILE *f = plot_open_data(c, name);
	if (f == NULL)
		return EXIT_FAIL;
	/* Each line's variants, by line: a counting sort (O(variants)). */
	size_t *start = calloc(s->n_lines + 1, sizeof *start);
	if (start == NULL) {
		fclose(f);
		return plot_oom();
	}
	for (size_t i = 0; i < c->n_v; i++)
		if (s->line[i] != SIZE_MAX)
			start[s->line[i] + 1]++;
	for (size_t l = 0; l < s->n_lines; l++)
		start[l + 1] += start[l];
	for (size_t i = 0; i < c->n_v; i++)
		if (s->line[i] != SIZE_MAX)
			s->order[start[s->line[i]]++] = i;   /* start[l] ends as the end of line l */
	fprintf(f, "# throttlesim run %lld: ", (long long)c->run_id);
	plot_put_text(f, s->fig);
	fputs(" (", f);
	plot_put_text(f, s->unit);
	fputs(") against ", f);
	plot_put_text(f, key);
	fputs("; mean, mean - half, mean + half\n", f);
	for (size_t l = 0; l < s->n_lines; l++) {
		size_t from = l ? start[l - 1] : 0, n = start[l] - from;
		size_t *ord = s->order + from;
		for (size_t a = 1; a < n; a++)   /* insertion sort by swept value: <= 1000 points a line */
			for (size_t b = a; b > 0 && c->v[ord[b - 1]].value > c->v[ord[b]].value; b--) {
				size_t t = ord[b];
				ord[b] = ord[b - 1];
				ord[b - 1] = t;
			}
		fprintf(f, "# line %zu: ", l + 1);
		plot_put_text(f, c->v[s->first_of_line[l]].name);
		fputc('\n', f);
		for (size_t j = 0; j < n; j++) {
			size_t i = ord[j];
			double h = isfinite(s->half[i]) ? s->half[i] : 0.0;
			fprintf(f, "%.10g", c->v[i].value);
			plot_put_num(f, s->mean[i] * s->scale);
			plot_put_num(f, (s->mean[i] - h) * s->scale);
			plot_put_num(f, (s->mean[i] + h) * s->scale);
			fputc('\n', f);
		}
		fputs("\n\n", f);
	}
	free(start);
	return plot_close_data(c, f, name);
}

static void sweep_vars(const plot_ctx *c, const sweep_data *s, const char *key, plot_sbuf *b)
{
	/* "delivery_delay_p95" reads as "delivery delay p95". */
	char pretty[128], ylabel[256];
	if (strcmp(s->fig, PLOT_DELAY_ALL) == 0)
		snprintf(pretty, sizeof pretty, "p95 delivery delay of all mail");
	else
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
	char data[256], img[256], sfig[64], ename[80];
	plot_safe_name(s->fig, sfig, sizeof sfig);
	plot_ent_suffix(c, ename, sizeof ename);
	snprintf(data, sizeof data, "sweep-%s%s.dat", sfig, ename);
	snprintf(img, sizeof img, "sweep-%s%s.%s", sfig, ename, c->o->format);
	if (write_sweep(c, s, key, data) != 0)
		return EXIT_FAIL;
	char pretty[128], title[512];
	snprintf(pretty, sizeof pretty, "%s", s->fig);
	for (char *p = pretty; *p; p++)
		if (*p == '_')
			*p = ' ';
	/* Two lines, the second what the delay of all mail means (a vertical
	 * axis label that long would be cut). */
	char of[256];
	plot_of(c, of, sizeof of);
	if (strcmp(s->fig, PLOT_DELAY_ALL) == 0 && c->ent)
		snprintf(title, sizeof title, "%s: p95 delivery delay against %s\n%s; lost mail counts as never"
		         " delivered%s", c->scenario_name, key, of + 2,
		         s->n_never ? "; a gap: over 5% never delivered" : "");
	else if (strcmp(s->fig, PLOT_DELAY_ALL) == 0)
		snprintf(title, sizeof title, "%s: p95 delivery delay against %s (run %lld)\nlost mail counts as"
		         " never delivered%s", c->scenario_name, key, (long long)c->run_id,
		         s->n_never ? "; a gap: over 5% never delivered" : "");
	else
		snprintf(title, sizeof title, "%s: %s against %s%s", c->scenario_name, pretty, key, of);
	plot_sbuf b = { 0 };
	plot_gp_common(c, &b, data, img, title);
	sweep_vars(c, s, key, &b);
	int ret = plot_render(c, "sweep", &b, data, img);
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
	const char *fig = c->o->figure;
	if (strcmp(fig, PLOT_DELAY_ALL) == 0 && !c->l->has_delay_cdf) {
		printf("note: this store has no delay distributions: the sweep chart shows"
		       " delivery_delay_p95, of delivered mail only\n");
		fig = "delivery_delay_p95";
	}
	sweep_data s = { .fig = fig, .mean = malloc(c->n_v * sizeof *s.mean),
	                 .half = malloc(c->n_v * sizeof *s.half), .line = malloc(c->n_v * sizeof *s.line),
	                 .order = malloc(c->n_v * sizeof *s.order),
	                 .first_of_line = malloc(c->n_v * sizeof *s.first_of_line) };
	if (!s.mean || !s.half || !s.line || !s.order || !s.first_of_line) {
		sweep_free(&s);
		return plot_oom();
	}
	if (read_points(c, &s) == 0) {
		sweep_free(&s);
		term_eprintf("throttlesim plot: run %lld has no figure '%s' (names: throttlesim results"
		        " export %lld --format csv)\n", (long long)c->run_id, c->o->figure, (long long)c->run_id);
		return EXIT_USAGE;
	}
	int ret = make_lines(c, &s);
	if (ret == 0)
		ret = draw(c, &s);
	sweep_free(&s);
	return ret;
}
