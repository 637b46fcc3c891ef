/* evset.h - the pending-event set: a priority queue of nodes keyed by
 * (time, seq).  It knows nothing of time units, handlers or models.
 *
 * Two implementations sit behind this one interface, chosen at run time:
 *   EVS_CALENDAR  a calendar queue after Brown (1988), see docs/DESIGN.md;
 *                 insert and pop O(1) amortised.
 *   EVS_HEAP      a plain binary heap; insert and pop O(log n).
 * Both pop in exactly the same order, so every test runs on both.
 *
 * Order: a before b iff a.time < b.time, or a.time == b.time and
 * a.seq < b.seq.  The caller gives every node a distinct seq; when seq
 * grows with scheduling order (the engine's counter), equal times pop in
 * the order they were scheduled.
 *
 * Ownership: nodes belong to the caller.  Between evs_insert and the
 * evs_pop that returns it, the event set owns the node's link field and
 * the caller must not touch the node or free it.  time and seq must not
 * change while the node is queued.
 *
 * Memory: the set allocates only its own index (bucket array or heap
 * array) through the allocator given to evs_new; nodes are never copied
 * or allocated.  Growth can fail: evs_insert then returns SIM_ENOMEM and
 * the set is unchanged (the node is not queued).
 *
 * Build flag EVS_STRESS makes the calendar queue resize (and retune) on
 * every operation, to flush out resize bugs in tests.
 */
#ifndef SIM_EVSET_H
#define SIM_EVSET_H

#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "status.h"

typedef struct evs_node {
	int64_t time;
	uint64_t seq;
	struct evs_node *next; /* owned by the event set while queued */
} evs_node;

typedef enum evs_kind {
	EVS_CALENDAR = 0,
	EVS_HEAP = 1,
} evs_kind;

typedef struct evs evs;

/* Returns NULL when out of memory.  The allocator must outlive the set. */
evs *evs_new(evs_kind kind, const sim_alloc *alloc);
/* Frees the index; queued nodes are simply forgotten (they are the caller's). */
void evs_free(evs *s);

/* 0 on success, SIM_ENOMEM (negative) on allocation failure. */
int evs_insert(evs *s, evs_node *n);
/* The first node in order, or NULL if empty.  Does not remove it. */
evs_node *evs_peek(evs *s);
/* Removes and returns the first node, or NULL if empty. */
evs_node *evs_pop(evs *s);
size_t evs_count(const evs *s);
evs_kind evs_kind_of(const evs *s);
const char *evs_kind_name(evs_kind k);

/* Diagnostics for benchmarks and tests: resizes and retunes so far,
 * current bucket count and width (0 for the heap). */
typedef struct evs_stats {
	uint64_t resizes;
	uint64_t retunes;
	size_t buckets;
	int64_t width;
} evs_stats;
void evs_get_stats(const evs *s, evs_stats *out);

#endif
