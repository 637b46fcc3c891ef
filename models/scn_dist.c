/* scn_dist.c - distributions of a sender's counts, sizes and reals:
 * a fixed value, uniform, poisson1, geometric, lognormal or empirical;
 * and of its durations (connect_time, submit_time): fixed, exponential,
 * uniform, lognormal (median and sigma, or mean and sd), empirical.
 */
#include "scn_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "units.h"

static const char *const dist_keys[] = { "uniform", "poisson1", "geometric", "lognormal", "empirical", NULL };

static bool dist_value(scn_ctx *c, const yml_node *n, const char *p, scn_vkind k, double *out)
{
	int64_t i;
	switch (k) {
	case SCN_V_COUNT:
		if (!scn_val_i64(c, n, p, unit_parse_count, "a whole number", &i))
			return false;
		if (i < 1) {
			scn_err_node(c, n, p, "must be at least 1, got %lld", (long long)i);
			return false;
		}
		if (i > SCN_MAX_RECIPIENTS) {
			scn_err_node(c, n, p, "%lld exceeds the bound of 2^40", (long long)i);
			return false;
		}
		*out = (double)i;
		return true;
	case SCN_V_SIZE:
		if (!scn_val_i64(c, n, p, unit_parse_size, "a size (e.g. 400KB)", &i))
			return false;
		*out = (double)i;
		return true;
	case SCN_V_REAL:
		return scn_val_dbl(c, n, p, unit_parse_real, "a number", out);
	}
	return false;
}

/* {uniform: [low, high]} at v (path p). */
static void dist_uniform(scn_ctx *c, const yml_node *v, const char *p, scn_vkind k, scn_dist *d)
{
	double a, b;
	if (v->type != YML_SEQ || v->n != 2) {
		scn_err_node(c, v, p, "expected a list [low, high]");
		return;
	}
	if (!dist_value(c, v->items[0].val, p, k, &a) || !dist_value(c, v->items[1].val, p, k, &b))
		return;
	if (a > b) {
		scn_err_node(c, v, p, "low is above high");
		return;
	}
	d->kind = DIST_UNIFORM_INT;
	d->a = a;
	d->b = b;
}

/* {poisson1: MEAN} or {geometric: MEAN} (kind), counts only. */
static void dist_mean(scn_ctx *c, const yml_node *v, const char *p, const char *kind, scn_vkind k, scn_dist *d)
{
	double mean;
	if (k != SCN_V_COUNT) {
		scn_err_node(c, v, p, "%s applies to counts only", kind);
		return;
	}
	if (!scn_val_dbl(c, v, p, unit_parse_real, "a mean", &mean))
		return;
	if (!(mean >= 1) || mean > 1e9) {
		scn_err_node(c, v, p, "the mean must be in [1, 10^9], got %g", mean);
		return;
	}
	d->kind = kind[0] == 'p' ? DIST_POISSON1 : DIST_GEOMETRIC;
	d->a = kind[0] == 'p' ? mean - 1 : mean;
}

/* {lognormal: {median, sigma}}. */
static void dist_lognormal(scn_ctx *c, const yml_node *v, const char *p, scn_vkind k, scn_dist *d)
{
	static const char *const ln_keys[] = { "median", "sigma", NULL };
	const yml_node *m = scn_want_map(c, v, p);
	double med = 0, sigma = 0;
	if (!m)
		return;
	scn_check_keys(c, m, p, ln_keys);
	yml_node *mn = yml_get(m, "median"), *sn = yml_get(m, "sigma");
	char q[SCN_PATH_MAX];
	if (!mn || !sn) {
		scn_err_node(c, m, p, "needs both median and sigma");
		return;
	}
	scn_pjoin(q, p, "median");
	if (!dist_value(c, mn, q, k == SCN_V_SIZE ? SCN_V_SIZE : SCN_V_REAL, &med))
		return;
	scn_pjoin(q, p, "sigma");
	if (!scn_val_dbl(c, sn, q, unit_parse_real, "a number", &sigma))
		return;
	if (!(med > 0)) {
		scn_pjoin(q, p, "median");
		scn_err_node(c, mn, q, "must be positive");
		return;
	}
	if (!(sigma >= 0) || sigma > 10) {
		scn_err_node(c, sn, q, "must be in [0, 10], got %g", sigma);
		return;
	}
	d->kind = DIST_LOGNORMAL;
	d->a = med;
	d->b = sigma;
}

/* The [value, weight] pairs of an empirical distribution into vals and
 * ws (v->n each); false at the first bad pair (reported). */
static bool empirical_pairs(scn_ctx *c, const yml_node *v, const char *p, scn_vkind k, double *vals, double *ws)
{
	double total = 0;
	for (size_t i = 0; i < v->n; i++) {
		const yml_node *it = v->items[i].val;
		if (it->type != YML_SEQ || it->n != 2) {
			scn_err_node(c, it, p, "expected a pair [value, weight]");
			return false;
		}
		if (!dist_value(c, it->items[0].val, p, k, &vals[i]) ||
		    !scn_val_dbl(c, it->items[1].val, p, unit_parse_real, "a weight", &ws[i]))
			return false;
		if (!(ws[i] >= 0)) {
			scn_err_node(c, it->items[1].val, p, "a weight must not be negative");
			return false;
		}
		total += ws[i];
	}
	if (!(total > 0)) {
		scn_err_node(c, v, p, "the weights sum to 0");
		return false;
	}
	return true;
}

/* {empirical: [[value, weight], ...]}: replaces d's earlier table. */
static void dist_empirical(scn_ctx *c, const yml_node *v, const char *p, scn_vkind k, scn_dist *d)
{
	if (v->type != YML_SEQ || v->n == 0) {
		scn_err_node(c, v, p, "expected a list of [value, weight] pairs");
		return;
	}
	double *vals = scn_xalloc(c, v->n * sizeof *vals), *ws = scn_xalloc(c, v->n * sizeof *ws);
	if (!vals || !ws || !empirical_pairs(c, v, p, k, vals, ws)) {
		sim_free(c->a, vals, v->n * sizeof *vals);
		sim_free(c->a, ws, v->n * sizeof *ws);
		return;
	}
	sim_free(c->a, d->values, d->n * sizeof *d->values);
	sim_free(c->a, d->weights, d->n * sizeof *d->weights);
	d->kind = DIST_EMPIRICAL;
	d->n = v->n;
	d->values = vals;
	d->weights = ws;
}

void scn_parse_dist(scn_ctx *c, const yml_node *n, const char *path, scn_vkind k, scn_dist *d)
{
	char p[SCN_PATH_MAX];
	if (n->type == YML_SCALAR) {
		double v;
		if (dist_value(c, n, path, k, &v)) {
			d->kind = DIST_FIXED;
			d->a = v;
		}
		return;
	}
	if (n->type != YML_MAP || n->n != 1) {
		scn_err_node(c, n, path, "expected a value or one of {uniform: [a, b]}, {poisson1: MEAN}, "
			 "{geometric: MEAN}, {lognormal: {median, sigma}}, {empirical: [[value, weight], ...]}");
		return;
	}
	scn_check_keys(c, n, path, dist_keys);
	const char *kind = n->items[0].key;
	const yml_node *v = n->items[0].val;
	scn_pjoin(p, path, kind);
	if (!strcmp(kind, "uniform"))
		dist_uniform(c, v, p, k, d);
	else if (!strcmp(kind, "poisson1") || !strcmp(kind, "geometric"))
		dist_mean(c, v, p, kind, k, d);
	else if (!strcmp(kind, "lognormal"))
		dist_lognormal(c, v, p, k, d);
	else if (!strcmp(kind, "empirical"))
		dist_empirical(c, v, p, k, d);
}

/* ---- durations (connect_time, submit_time) ------------------------------- */

static const char *const dur_keys[] = { "fixed", "exponential", "uniform", "lognormal", "empirical", NULL };

static bool dur_value(scn_ctx *c, const yml_node *n, const char *p, double *ns)
{
	int64_t v;
	if (!scn_val_i64(c, n, p, unit_parse_duration, "a duration (e.g. 300ms)", &v))
		return false;
	*ns = (double)v;
	return true;
}

/* {lognormal: {median, sigma}} or {lognormal: {mean, sd}}: the second
 * form is turned into the first, sigma^2 = ln(1 + sd^2/mean^2) and
 * median = mean / sqrt(1 + sd^2/mean^2) (the lognormal's moments). */
static void dur_lognormal(scn_ctx *c, const yml_node *v, const char *p, scn_duration *d)
{
	static const char *const ln_keys[] = { "median", "sigma", "mean", "sd", NULL };
	const yml_node *m = scn_want_map(c, v, p);
	if (!m)
		return;
	scn_check_keys(c, m, p, ln_keys);
	const yml_node *md = yml_get(m, "median"), *sg = yml_get(m, "sigma");
	const yml_node *mn = yml_get(m, "mean"), *sd = yml_get(m, "sd");
	char q[SCN_PATH_MAX];
	bool by_median = md || sg;
	if ((by_median && (mn || sd)) || (by_median ? !(md && sg) : !(mn && sd))) {
		scn_err_node(c, m, p, "needs either {median, sigma} or {mean, sd}");
		return;
	}
	double a, b;
	scn_pjoin(q, p, by_median ? "median" : "mean");
	if (!dur_value(c, by_median ? md : mn, q, &a))
		return;
	if (!(a > 0)) {
		scn_err_node(c, by_median ? md : mn, q, "must be positive");
		return;
	}
	scn_pjoin(q, p, by_median ? "sigma" : "sd");
	if (by_median) {
		if (!scn_val_dbl(c, sg, q, unit_parse_real, "a number", &b))
			return;
	} else if (!dur_value(c, sd, q, &b))
		return;
	if (!by_median) {
		double r = 1 + (b / a) * (b / a);
		a = a / sqrt(r);
		b = sqrt(log(r));
	}
	if (!(b >= 0) || b > 10) {
		scn_err_node(c, by_median ? sg : sd, q, "sigma must be in [0, 10], got %g", b);
		return;
	}
	d->kind = DUR_LOGNORMAL;
	d->a = a;
	d->b = b;
}

static void dur_empirical(scn_ctx *c, const yml_node *v, const char *p, scn_duration *d)
{
	if (v->type != YML_SEQ || v->n == 0 || v->n > SCN_DUR_EMPIRICAL_MAX) {
		scn_err_node(c, v, p, "expected a list of 1 to %d [duration, weight] pairs", SCN_DUR_EMPIRICAL_MAX);
		return;
	}
	double vals[SCN_DUR_EMPIRICAL_MAX], cum[SCN_DUR_EMPIRICAL_MAX], total = 0;
	for (size_t i = 0; i < v->n; i++) {
		const yml_node *it = v->items[i].val;
		double w;
		if (it->type != YML_SEQ || it->n != 2) {
			scn_err_node(c, it, p, "expected a pair [duration, weight]");
			return;
		}
		if (!dur_value(c, it->items[0].val, p, &vals[i]) ||
		    !scn_val_dbl(c, it->items[1].val, p, unit_parse_real, "a weight", &w))
			return;
		if (!(w >= 0) || w > 1e300) {
			scn_err_node(c, it->items[1].val, p, "a weight must be a finite number, not negative");
			return;
		}
		total += w;
		cum[i] = total;
	}
	if (!(total > 0)) {
		scn_err_node(c, v, p, "the weights sum to 0");
		return;
	}
	d->kind = DUR_EMPIRICAL;
	d->n = (uint32_t)v->n;
	memcpy(d->values_ns, vals, v->n * sizeof *vals);
	memcpy(d->cum, cum, v->n * sizeof *cum);
}

void scn_parse_duration(scn_ctx *c, const yml_node *n, const char *path, int64_t *fixed_ns, scn_duration *d)
{
	char p[SCN_PATH_MAX];
	if (n->type == YML_SCALAR) {
		if (scn_val_i64(c, n, path, unit_parse_duration, "a duration (e.g. 300ms)", fixed_ns))
			d->kind = DUR_FIXED;
		return;
	}
	if (n->type != YML_MAP || n->n != 1) {
		scn_err_node(c, n, path, "expected a duration or one of {fixed: D}, {exponential: MEAN}, "
			     "{uniform: [LOW, HIGH]}, {lognormal: {median, sigma}}, {lognormal: {mean, sd}}, "
			     "{empirical: [[D, weight], ...]}");
		return;
	}
	scn_check_keys(c, n, path, dur_keys);
	const char *kind = n->items[0].key;
	const yml_node *v = n->items[0].val;
	scn_pjoin(p, path, kind);
	double a, b;
	if (!strcmp(kind, "fixed")) {
		if (scn_val_i64(c, v, p, unit_parse_duration, "a duration (e.g. 300ms)", fixed_ns))
			d->kind = DUR_FIXED;
	} else if (!strcmp(kind, "exponential")) {
		if (!dur_value(c, v, p, &a))
			return;
		if (!(a > 0)) {
			scn_err_node(c, v, p, "the mean must be positive");
			return;
		}
		d->kind = DUR_EXPONENTIAL;
		d->a = a;
	} else if (!strcmp(kind, "uniform")) {
		if (v->type != YML_SEQ || v->n != 2) {
			scn_err_node(c, v, p, "expected a list [low, high]");
			return;
		}
		if (!dur_value(c, v->items[0].val, p, &a) || !dur_value(c, v->items[1].val, p, &b))
			return;
		if (a > b) {
			scn_err_node(c, v, p, "low is above high");
			return;
		}
		d->kind = DUR_UNIFORM;
		d->a = a;
		d->b = b;
	} else if (!strcmp(kind, "lognormal"))
		dur_lognormal(c, v, p, d);
	else if (!strcmp(kind, "empirical"))
		dur_empirical(c, v, p, d);
}
