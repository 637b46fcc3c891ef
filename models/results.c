/* results.c - the figure table and freeing a replication's results. */
#include "results.h"
#include "stats.h"

const res_fig_desc res_fig_info[FIG_COUNT] = {
#define X(id, name, unit, doc) { name, unit, doc },
	RES_FIGURES(X)
#undef X
};

void res_rep_free(res_rep *r)
{
	if (r == NULL)
		return;
	sim_free(&r->alloc, r->groups, r->n_groups * sizeof *r->groups);
	sim_free(&r->alloc, r->mailboxes, r->n_mailboxes * sizeof *r->mailboxes);
	sim_free(&r->alloc, r->series, r->n_series * sizeof *r->series);
	r->groups = NULL;
	r->mailboxes = NULL;
	r->series = NULL;
}

/* The kernel's delay statistics fill six consecutive figures. */
_Static_assert(FIG_SUB_DELAY_MAX - FIG_SUB_DELAY_MEAN + 1 == ST_DELAY_FIGS &&
	       FIG_DEL_DELAY_MAX - FIG_DEL_DELAY_MEAN + 1 == ST_DELAY_FIGS,
	       "delay figures must follow kernel/stats.h's order");
