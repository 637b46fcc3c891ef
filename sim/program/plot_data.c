/* plot_data.c - what the charts of `throttlesim plot` share: their data
 * files (plain whitespace tables, NaN for a missing value), file names
 * from variant names, units of time, the variants' legend and the
 * summaries they draw.  Contracts in plot_int.h. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plot_int.h"
#include "stats.h"
#include "term.h"

FILE *plot_open_data(const plot_ctx *c, const char *name)
{
	int fd = openat(c->tmp_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f == NULL) {
		term_eprintf("throttlesim: %s/%s: %s\n", c->tmp, name, strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	return f;
}

int plot_close_data(const plot_ctx *c, FILE *f, const char *name)
{
	int bad = ferror(f);
	if (fclose(f) != 0 || bad) {
		term_eprintf("throttlesim: writing %s/%s: %s\n", c->tmp, name, strerror(errno));
		return EXIT_FAIL;
	}
	return 0;
}

void plot_put_text(FILE *f, const char *s)
{
	char *t = strdup(s);
	if (t == NULL) {
		fputc('?', f);
		return;
	}
	term_clean(t);
	fputs(t, f);
	free(t);
}

void plot_put_num(FILE *f, double x)
{
	if (isfinite(x))
		fprintf(f, " %.10g", x);
	else
		fputs(" NaN", f);
}

void plot_safe_name(const char *s, char *buf, size_t size)
{
	size_t n = 0;
	for (; *s && n + 1 < size && n < 48; s++) {
		char ch = *s;
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		          ch == '-' || ch == '_' || ch == '.';
		buf[n++] = ok ? ch : '_';
	}
	buf[n] = 0;
}

void plot_time_unit(double max_s, double *scale, const char **unit)
{
	if (!(max_s >= 180.0)) {
		*scale = 1.0;
		*unit = "s";
	} else if (max_s < 3.0 * 3600.0) {
		*scale = 1.0 / 60.0;
		*unit = "min";
	} else {
		*scale = 1.0 / 3600.0;
		*unit = "h";
	}
}

/* In a sweep the same name stands at every point, so the point is added. */
void plot_variant_names(const plot_ctx *c, plot_sbuf *b)
{
	plot_gp_int(b, "nvar", (long long)c->n_v);
	for (size_t i = 0; i < c->n_v; i++) {
		char name[32], label[256];
		const plot_variant *v = &c->v[i];
		snprintf(name, sizeof name, "vname%zu", i + 1);
		if (v->has_point && v->key) {
			const char *k = strrchr(v->key, '.');
			snprintf(label, sizeof label, "%s, %s = %g", v->name, k ? k + 1 : v->key, v->value);
		} else {
			snprintf(label, sizeof label, "%s", v->name);
		}
		plot_gp_str(b, name, label);
	}
}

const store_summary *plot_total(const plot_ctx *c, size_t i, const char *figure)
{
	if (c->ent == NULL)
		return store_find_summary(c->l, c->v[i].idx, RES_TOTAL, 0, figure);
	if (c->ent[i] == SIZE_MAX)
		return NULL;
	return store_find_summary(c->l, c->v[i].idx, c->ent_kind, c->ent[i], figure);
}

const res_entity *plot_entity(const plot_ctx *c, size_t i, const res_rep *r)
{
	if (c->ent == NULL)
		return &r->total;
	return c->ent[i] == SIZE_MAX ? NULL : res_entity_of(r, c->ent_kind, c->ent[i]);
}

const replay_variant *plot_replayed(const plot_ctx *c, size_t i)
{
	for (size_t k = 0; k < c->replay.n; k++)
		if (c->replay.v[k].variant == c->v[i].idx)
			return &c->replay.v[k];
	return NULL;
}

void plot_ent_suffix(const plot_ctx *c, char *buf, size_t size)
{
	buf[0] = 0;
	if (c->ent == NULL || c->o->entity == NULL)
		return;
	const char *name = c->o->entity, *colon = strchr(name, ':');
	if (colon && (strncmp(name, "group:", 6) == 0 || strncmp(name, "mailbox:", 8) == 0))
		name = colon + 1;
	char safe[64];
	plot_safe_name(name, safe, sizeof safe);
	snprintf(buf, size, "-%s-%s", c->ent_kind == RES_GROUP ? "group" : "mailbox", safe);
}

void plot_of(const plot_ctx *c, char *buf, size_t size)
{
	if (c->ent)
		snprintf(buf, size, ", %s (run %lld)", c->ent_label, (long long)c->run_id);
	else
		snprintf(buf, size, " (run %lld)", (long long)c->run_id);
}

int plot_oom(void)
{
	fprintf(stderr, "throttlesim: out of memory\n");
	return EXIT_FAIL;
}

double plot_share(const res_entity *e, int fig)
{
	if (e == NULL)
		return NAN;
	double g = e->fig[FIG_GENERATED], x = e->fig[fig];
	if (isnan(g))
		g = e->fig[FIG_ACCEPTED] + e->fig[FIG_LOST];
	if (!(g > 0) || !isfinite(x))
		return NAN;
	x /= g;
	return x < 0 ? 0 : x > 1 ? 1 : x;
}

/* The p-quantile over all generated mail of one replication: the delay
 * quantile p / share of the reached messages, interpolated between the
 * stored points; infinite when p is beyond the share reached. */
static double quantile_all(const double *cdf, double share, double p)
{
	if (!(share > 0))
		return INFINITY;
	double q = p / share;
	if (q > 1.0 + 1e-12)
		return INFINITY;
	double pos = (q > 1 ? 1 : q) * (RES_CDF_POINTS - 1);
	size_t k = (size_t)floor(pos);
	if (k >= RES_CDF_POINTS - 1)
		return cdf[RES_CDF_POINTS - 1];
	double a = cdf[k], b = cdf[k + 1], f = pos - (double)k;
	return a + (b - a) * f;
}

/* The same for one entity, whose stored quantiles are its figures p50,
 * p90, p95, p99 and max only: p / share lies in [p, 1], so for p = 0.95
 * it is read between p95, p99 and max, linearly (exact when all of its
 * mail was delivered). */
static double quantile_all_figures(const res_entity *e, bool delivery, double share, double p)
{
	if (!(share > 0))
		return INFINITY;
	double q = p / share;
	if (q > 1.0 + 1e-12)
		return INFINITY;
	int f0 = delivery ? FIG_DEL_DELAY_P50 : FIG_SUB_DELAY_P50;
	const double at[5] = { 0.5, 0.9, 0.95, 0.99, 1.0 };
	const double v[5] = { e->fig[f0], e->fig[f0 + 1], e->fig[f0 + 2], e->fig[f0 + 3],
	                      e->fig[delivery ? FIG_DEL_DELAY_MAX : FIG_SUB_DELAY_MAX] };
	if (q < at[0])
		return NAN; /* not stored: the charts ask for p95 */
	for (int k = 0; k < 4; k++)
		if (q <= at[k + 1] || k == 3) {
			double t = (q > 1 ? 1 : q);
			return v[k] + (v[k + 1] - v[k]) * (t - at[k]) / (at[k + 1] - at[k]);
		}
	return NAN;
}

int plot_delay_all(const plot_ctx *c, size_t i, bool delivery, double p, double *mean, double *half)
{
	const rpt_variant *rv = c->v[i].rv;
	*mean = *half = NAN;
	/* calloc: with no replication, x[0] is a defined 0 nobody reads (and -O2 stays quiet) */
	double *x = calloc(rv->n_reps ? rv->n_reps : 1, sizeof *x);
	if (x == NULL)
		return -1;
	bool inf = false;
	for (size_t r = 0; r < rv->n_reps; r++) {
		const res_rep *rep = &rv->reps[r];
		const res_entity *e = plot_entity(c, i, rep);
		double share = plot_share(e, delivery ? FIG_RELEASED : FIG_ACCEPTED);
		if (!isfinite(share))
			x[r] = NAN;
		else if (c->ent == NULL)
			x[r] = quantile_all(delivery ? rep->delivery_cdf : rep->submission_cdf, share, p);
		else
			x[r] = quantile_all_figures(e, delivery, share, p);
		inf |= isinf(x[r]);
	}
	st_summary s = st_summarize(x, rv->n_reps);
	free(x);
	if (inf) {
		*mean = INFINITY;
	} else {
		*mean = s.mean;
		*half = s.half;
	}
	return 0;
}
