/* res_summary.c - replications summarised (see res_summary.h). */
#include "res_summary.h"

#include <math.h>
#include <string.h>

#include "status.h"

const char *res_entity_kind_name(res_entity_kind k)
{
	switch (k) {
	case RES_TOTAL: return "total";
	case RES_GROUP: return "group";
	case RES_MAILBOX: return "mailbox";
	}
	return "?";
}

const res_entity *res_entity_of(const res_rep *r, res_entity_kind k, size_t index)
{
	switch (k) {
	case RES_TOTAL: return &r->total;
	case RES_GROUP: return index < r->n_groups && r->groups ? &r->groups[index] : NULL;
	case RES_MAILBOX: return index < r->n_mailboxes && r->mailboxes ? &r->mailboxes[index] : NULL;
	}
	return NULL;
}

double res_value(const res_entity *e, res_what what, int idx)
{
	if (e == NULL || idx < 0)
		return NAN;
	switch (what) {
	case RES_FIG: return idx < FIG_COUNT ? e->fig[idx] : NAN;
	case RES_REJECTED_BY: return idx < RC_COUNT ? (double)e->rejected_by[idx] : NAN;
	case RES_LOST_BY: return idx < RC_COUNT ? (double)e->lost_by[idx] : NAN;
	}
	return NAN;
}

typedef struct value_ctx {
	const res_rep *a, *b;   /* b NULL: plain values; else a - b */
	res_entity_kind k;
	size_t index;
	res_what what;
	int idx;
} value_ctx;

static double rep_value_at(const void *ctx, size_t i)
{
	const value_ctx *c = ctx;
	double x = res_value(res_entity_of(&c->a[i], c->k, c->index), c->what, c->idx);
	if (c->b == NULL)
		return x;
	double y = res_value(res_entity_of(&c->b[i], c->k, c->index), c->what, c->idx);
	return x - y; /* NaN if either is */
}

st_summary res_summarize_value(const res_rep *reps, size_t n_reps,
                              res_entity_kind k, size_t index, res_what what, int idx)
{
	value_ctx c = { reps, NULL, k, index, what, idx };
	return st_summarize_fn(rep_value_at, &c, n_reps);
}

st_summary res_paired_value(const res_rep *variant, const res_rep *base, size_t n_reps,
                           res_entity_kind k, size_t index, res_what what, int idx)
{
	value_ctx c = { variant, base, k, index, what, idx };
	return st_summarize_fn(rep_value_at, &c, n_reps);
}

static void fill_entity(res_entity_summary *s, const res_rep *a, const res_rep *b,
                        size_t n, res_entity_kind k, size_t index)
{
	value_ctx c = { a, b, k, index, RES_FIG, 0 };
	for (int f = 0; f < FIG_COUNT; f++) {
		c.what = RES_FIG;
		c.idx = f;
		s->fig[f] = st_summarize_fn(rep_value_at, &c, n);
	}
	for (int r = 0; r < RC_COUNT; r++) {
		c.idx = r;
		c.what = RES_REJECTED_BY;
		s->rejected_by[r] = st_summarize_fn(rep_value_at, &c, n);
		c.what = RES_LOST_BY;
		s->lost_by[r] = st_summarize_fn(rep_value_at, &c, n);
	}
}

static int build_summary(const res_rep *a, const res_rep *b, size_t n,
                         size_t n_groups, size_t n_mailboxes, sim_alloc alloc,
                         res_summary *out)
{
	res_entity_summary *g = NULL, *m = NULL;
	if (n_groups > SIZE_MAX / sizeof *g || n_mailboxes > SIZE_MAX / sizeof *m)
		return SIM_ENOMEM;
	if (n_groups > 0 && (g = sim_malloc(&alloc, n_groups * sizeof *g)) == NULL)
		goto fail;
	if (n_mailboxes > 0 && (m = sim_malloc(&alloc, n_mailboxes * sizeof *m)) == NULL)
		goto fail;
	fill_entity(&out->total, a, b, n, RES_TOTAL, 0);
	for (size_t i = 0; i < n_groups; i++)
		fill_entity(&g[i], a, b, n, RES_GROUP, i);
	for (size_t i = 0; i < n_mailboxes; i++)
		fill_entity(&m[i], a, b, n, RES_MAILBOX, i);
	out->groups = g;
	out->n_groups = n_groups;
	out->mailboxes = m;
	out->n_mailboxes = n_mailboxes;
	out->alloc = alloc;
	return SIM_OK;
fail:
	sim_free(&alloc, g, n_groups * sizeof *g);
	return SIM_ENOMEM;
}

int res_summarize_reps(const res_rep *reps, size_t n_reps, sim_alloc alloc,
                      res_summary *out)
{
	if (reps == NULL || n_reps == 0 || out == NULL)
		return SIM_EINVAL;
	for (size_t i = 1; i < n_reps; i++)
		if (reps[i].n_groups != reps[0].n_groups || reps[i].n_mailboxes != reps[0].n_mailboxes)
			return SIM_EINVAL;
	res_summary tmp;
	int rc = build_summary(reps, NULL, n_reps, reps[0].n_groups, reps[0].n_mailboxes, alloc, &tmp);
	if (rc == SIM_OK)
		*out = tmp;
	return rc;
}

int res_paired_reps(const res_rep *variant, const res_rep *base, size_t n_reps,
                   sim_alloc alloc, res_summary *out)
{
	if (variant == NULL || base == NULL || n_reps == 0 || out == NULL)
		return SIM_EINVAL;
	size_t ng = variant[0].n_groups, nm = variant[0].n_mailboxes;
	for (size_t i = 0; i < n_reps; i++) {
		if (variant[i].seed != base[i].seed)
			return SIM_EINVAL;
		if (variant[i].n_groups != ng || base[i].n_groups != base[0].n_groups ||
		    variant[i].n_mailboxes != nm || base[i].n_mailboxes != base[0].n_mailboxes)
			return SIM_EINVAL;
	}
	if (base[0].n_groups != ng)
		ng = 0;
	if (base[0].n_mailboxes != nm)
		nm = 0;
	res_summary tmp;
	int rc = build_summary(variant, base, n_reps, ng, nm, alloc, &tmp);
	if (rc == SIM_OK)
		*out = tmp;
	return rc;
}

void res_summary_free(res_summary *s)
{
	if (s == NULL)
		return;
	sim_free(&s->alloc, s->groups, s->n_groups * sizeof *s->groups);
	sim_free(&s->alloc, s->mailboxes, s->n_mailboxes * sizeof *s->mailboxes);
	s->groups = NULL;
	s->mailboxes = NULL;
	s->n_groups = 0;
	s->n_mailboxes = 0;
}

/* ---- Erlang B ---------------------------------------------------------------------- */

