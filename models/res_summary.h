/* res_summary.h - the results of a scenario's replications summarised:
 * each figure and reply count of each entity as a mean with its 95%
 * interval (st_summary, kernel/stats.h), and the paired differences of a
 * variant from the base (same seeds, so common random numbers).
 *
 * Ownership: nothing is allocated.  Reentrant.
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


#endif
