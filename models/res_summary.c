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


/* ---- Erlang B ---------------------------------------------------------------------- */

