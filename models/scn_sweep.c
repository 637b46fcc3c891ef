/* scn_sweep.c - `sweep:` (docs/SCENARIOS.md, Sweeps): one or two
 * dotted keys, each a list of numbers or a range, and the scenarios of
 * every point of their Cartesian product (first key outer).
 */
#include "scn_int.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>


static const char *const range_keys[] = { "from", "to", "step", NULL };

/* A finite number in decimal or exponent notation. */
static bool sweep_number(const char *s, double *x)
{
	char *end;
	if (!s || !*s || isspace((unsigned char)*s))
		return false;
	for (const char *q = s; *q; q++)
		if (!strchr("0123456789+-.eE", *q))
			return false;
	double v = strtod(s, &end);
	if (*end || !isfinite(v))
		return false;
	*x = v;
	return true;
}

static bool sweep_bound(scn_ctx *c, const yml_node *m, const char *k, const char *p, double *x)
{
	const yml_node *n = yml_get(m, k);
	char q[SCN_PATH_MAX];
	scn_pjoin(q, p, k);
	if (!n) {
		scn_err_node(c, m, p, "a range needs %s:", k);
		return false;
	}
	if (n->type != YML_SCALAR || !sweep_number(n->str, x)) {
		scn_err_node(c, n, q, "expected a number, got %s%.60s%s", n->type == YML_SCALAR ? "'" : yml_type_name(n->type),
			 n->type == YML_SCALAR ? n->str : "", n->type == YML_SCALAR ? "'" : "");
		return false;
	}
	return true;
}

/* Read `sweep:`.  Returns the number of swept keys (0: no sweep) and the
 * number of points, or -1 after reporting why the section is refused. */
int scn_parse_sweep(scn_ctx *c, const yml_node *root, size_t nvars, scn_sweep_axis ax[2], size_t *npoints)
{
	const yml_node *sw = yml_get(root, "sweep");
	if (!sw || sw->type == YML_NULL)
		return 0;
	if (sw->type != YML_MAP || sw->n == 0 || sw->n > 2) {
		scn_err_node(c, sw, "sweep", "expected a mapping of one or two dotted keys, each to a list of numbers "
			 "([10, 20, 40]) or a range ({from: 1, to: 8, step: 1})");
		return -1;
	}
	bool ok = true;
	size_t total = 1;
	for (size_t i = 0; i < sw->n; i++) {
		const yml_pair *pr = &sw->items[i];
		scn_sweep_axis *a = &ax[i];
		char p[SCN_PATH_MAX];
		scn_pjoin(p, "sweep", pr->key);
		*a = (scn_sweep_axis){ pr->key, pr->line, pr->col, NULL, 0, 1, 0 };
		if (!pr->key[0] || scn_key_under(pr->key, "variants") || scn_key_under(pr->key, "sweep") ||
		    strlen(pr->key) >= SCN_NAME_MAX) {
			scn_err_at(c, pr->line, pr->col, p, "%s", !pr->key[0] ? "an empty key"
				  : strlen(pr->key) >= SCN_NAME_MAX ? "a swept key must have at most 127 characters"
								    : "a sweep cannot change the variants or the sweep");
			ok = false;
			continue;
		}
		const yml_node *v = pr->val;
		if (v->type == YML_SEQ) {
			if (v->n == 0) {
				scn_err_node(c, v, p, "an empty list of values");
				ok = false;
				continue;
			}
			for (size_t j = 0; j < v->n; j++) {
				const yml_node *it = v->items[j].val;
				double x;
				if (it->type != YML_SCALAR || !sweep_number(it->str, &x)) {
					scn_err_node(c, it, p, "a swept value must be a number, not %s%.60s%s",
						 it->type == YML_SCALAR ? "'" : yml_type_name(it->type),
						 it->type == YML_SCALAR ? it->str : "", it->type == YML_SCALAR ? "'" : "");
					ok = false;
				}
			}
			a->list = v;
			a->n = v->n;
		} else if (v->type == YML_MAP) {
			scn_check_keys(c, v, p, range_keys);
			double from = 0, to = 0;
			bool got = sweep_bound(c, v, "from", p, &from) & sweep_bound(c, v, "to", p, &to);
			if (yml_get(v, "step") && !sweep_bound(c, v, "step", p, &a->step))
				got = false;
			if (!got) {
				ok = false;
				continue;
			}
			a->from = from;
			if (a->step <= 0) {
				scn_err_node(c, yml_get(v, "step"), p, "the step must be greater than 0");
				ok = false;
				continue;
			}
			if (to < from) {
				scn_err_node(c, v, p, "the range is empty: to (%g) is less than from (%g)", to, from);
				ok = false;
				continue;
			}
			double span = (to - from) / a->step;
			a->n = span >= SCN_MAX_SWEEP_POINTS ? (size_t)SCN_MAX_SWEEP_POINTS + 1
							    : (size_t)floor(span + 1e-9) + 1;
		} else {
			scn_err_node(c, v, p, "expected a list of numbers ([10, 20, 40]) or a range ({from: 1, to: 8, step: 1})");
			ok = false;
			continue;
		}
		if (a->n > SCN_MAX_SWEEP_POINTS) {
			scn_err_at(c, pr->line, pr->col, p, "%s points exceed the bound of %d points in a sweep",
			       a->list ? "its" : "the range's", SCN_MAX_SWEEP_POINTS);
			ok = false;
			continue;
		}
		total *= a->n;
	}
	if (!ok)
		return -1;
	if (total > SCN_MAX_SWEEP_POINTS) {
		scn_err_at(c, sw->items[1].line, sw->items[1].col, "sweep", "%zu x %zu = %zu points exceed the bound of %d points in a sweep",
		       ax[0].n, ax[1].n, total, SCN_MAX_SWEEP_POINTS);
		return -1;
	}
	if (total * (1 + nvars) > SCN_MAX_SCENARIOS) {
		scn_err_node(c, sw, "sweep", "%zu points x (the base and %zu variants) = %zu scenarios exceed the bound of %d",
			 total, nvars, total * (1 + nvars), SCN_MAX_SCENARIOS);
		return -1;
	}
	*npoints = total;
	return (int)sw->n;
}

/* The value of axis a at its index i: the text set in the tree and the number. */
static void sweep_value(const scn_sweep_axis *a, size_t i, char *text, size_t size, double *x)
{
	if (a->list) {
		snprintf(text, size, "%s", a->list->items[i].val->str);
	} else {
		double v = a->from + (double)i * a->step;
		snprintf(text, size, "%.15g", v == 0 ? 0.0 : v); /* no "-0" */
	}
	if (!sweep_number(text, x))
		*x = NAN; /* cannot happen: checked by scn_parse_sweep */
}

/* Every point of the sweep: the base with the point's values, then each
 * variant's `set` on top, into v[*nv ..]. */
void scn_build_points(scn_ctx *c, const yml_node *root, const scn_sweep_axis *ax, int naxes, size_t npoints,
			 const yml_node *vars, size_t nvars, const char *text, const char *path,
			 const char *default_name, scenario **v, size_t *nv)
{
	for (size_t p = 0; p < npoints && !c->nomem && !c->over_budget; p++) {
		size_t idx[2] = { naxes == 2 ? p / ax[1].n : p, naxes == 2 ? p % ax[1].n : 0 };
		char vt[2][64], label[2 * SCN_NAME_MAX + 200];
		double x[2] = { 0, 0 };
		yml_node *tree = scn_copy(c, root);
		if (!tree)
			return;
		int w = snprintf(label, sizeof label, "sweep point %zu (", p);
		for (int k = 0; k < naxes; k++) {
			sweep_value(&ax[k], idx[k], vt[k], sizeof vt[k], &x[k]);
			yml_node sv = { YML_SCALAR, ax[k].line, ax[k].col, vt[k], 0, 0, NULL };
			yml_pair pr = { (char *)ax[k].key, ax[k].line, ax[k].col, &sv };
			scn_apply_override(c, tree, &pr);
			if (w >= 0 && (size_t)w < sizeof label)
				w += snprintf(label + w, sizeof label - (size_t)w, "%s%s = %s", k ? ", " : "",
					      ax[k].key, vt[k]);
		}
		if (w >= 0 && (size_t)w < sizeof label)
			snprintf(label + w, sizeof label - (size_t)w, ")");
		c->point = label;
		for (size_t i = 0; i <= nvars && !c->nomem && !c->over_budget; i++) {
			scenario *s;
			if (i == 0) {
				s = scn_build_one(c, tree, text, path, "base", default_name);
			} else {
				const yml_node *it = vars->items[i - 1].val; /* valid: checked without the sweep */
				s = scn_build_variant(c, tree, it, yml_get(it, "name")->str, text, path, default_name);
			}
			if (!s)
				break;
			s->sweep_point = (int64_t)p;
			s->n_sweep_keys = naxes;
			for (int k = 0; k < naxes; k++) {
				snprintf(s->sweep_key[k], sizeof s->sweep_key[k], "%s", ax[k].key);
				s->sweep_value[k] = x[k];
			}
			v[(*nv)++] = s;
		}
		c->point = NULL;
		yml_free(c->a, tree);
	}
}
