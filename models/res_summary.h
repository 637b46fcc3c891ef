/* res_summary.h - the results of a scenario's replications summarised:
 * each figure and reply count of each entity as a mean with its 95%
 * interval (st_summary, kernel/stats.h), and the paired differences of a
 * variant from the base (same seeds, so common random numbers).
 *
 * Ownership: the functions returning st_summary allocate nothing;
 * res_summary owns its arrays (free with res_summary_free).  Reentrant.
 */
#ifndef MODELS_RES_SUMMARY_H
#define MODELS_RES_SUMMARY_H

#include <stddef.h>

#include "alloc.h"
#include "results.h"
#include "stats.h"

typedef enum res_entity_kind { RES_TOTAL = 0, RES_GROUP = 1, RES_MAILBOX = 2 } res_entity_kind;

/* "total", "group", "mailbox". */
const char *res_entity_kind_name(res_entity_kind k);

/* The entity of one replication, NULL if index is out of range (RES_TOTAL
 * ignores index). */
const res_entity *res_entity_of(const res_rep *r, res_entity_kind k, size_t index);

/* What of an entity to summarise: a figure, or a count by reply class. */
typedef enum res_what { RES_FIG = 0, RES_REJECTED_BY = 1, RES_LOST_BY = 2 } res_what;

/* The value of (what, idx) in entity e: fig[idx], rejected_by[idx] or
 * lost_by[idx] as a double.  NaN if e is NULL or idx out of range. */
double res_value(const res_entity *e, res_what what, int idx);

/* Summary over reps[0..n_reps) of one value of one entity.  Allocation-free,
 * O(n_reps).  Replications lacking the entity count as undefined. */
st_summary res_summarize_value(const res_rep *reps, size_t n_reps,
                              res_entity_kind k, size_t index, res_what what, int idx);

/* Paired difference variant - base over replication pairs i (same seeds),
 * left out where either side is undefined.  Allocation-free, O(n_reps). */
st_summary res_paired_value(const res_rep *variant, const res_rep *base, size_t n_reps,
                           res_entity_kind k, size_t index, res_what what, int idx);

/* Every figure and reply-class count of one entity. */
typedef struct res_entity_summary {
	st_summary fig[FIG_COUNT];
	st_summary rejected_by[RC_COUNT];
	st_summary lost_by[RC_COUNT];
} res_entity_summary;

/* Summaries of every entity of a scenario's replications. */
typedef struct res_summary {
	res_entity_summary total;
	res_entity_summary *groups;    size_t n_groups;
	res_entity_summary *mailboxes; size_t n_mailboxes;
	sim_alloc alloc;
} res_summary;

/* Summarises reps[0..n_reps) (one scenario: the entity counts of reps[0]).
 * Entity counts differing between replications -> SIM_EINVAL.
 * On failure *out is untouched.  Free with res_summary_free. */
int res_summarize_reps(const res_rep *reps, size_t n_reps, sim_alloc alloc,
                      res_summary *out);

/* Paired differences variant - base for every value.  Both arrays hold
 * n_reps replications with equal seeds (else SIM_EINVAL).  The total is
 * always compared; groups (mailboxes) only when both sides have the same
 * count, else out has none of them: the caller checks the names match. */
int res_paired_reps(const res_rep *variant, const res_rep *base, size_t n_reps,
                   sim_alloc alloc, res_summary *out);

void res_summary_free(res_summary *s);

#endif
