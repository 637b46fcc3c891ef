/* evset.h - the pending-event set: a priority queue of entries
 * (time, seq, item) with the key held INLINE.  It knows nothing of time
 * units, handlers or models, and never dereferences item.
 *
 * Two implementations sit behind this one interface, chosen at run time:
 *   EVS_CALENDAR  a calendar queue after Brown (1988), see docs/DESIGN.md;
 *                 insert and pop O(1) amortised.
 *   EVS_HEAP      a plain binary heap of entries; insert and pop O(log n).
 * Both pop in exactly the same order, so every test runs on both.
 *
 * Order: a before b iff a.time < b.time, or a.time == b.time and
 * a.seq < b.seq.  The caller gives every entry a distinct seq; when seq
 * grows with scheduling order (the engine's counter), equal times pop in
 * the order they were scheduled.  time must be >= 0.
 *
 * Ownership: the set copies (time, seq, item) in; item is an opaque
 * pointer that the set stores and hands back, nothing more.  What item
 * points to stays the caller's, and the caller may change or free it at
 * any time (the set never reads through it).
 *
 * Memory: the set allocates its own storage (entry arrays, bucket index,
 * a pool of bucket chunks) through the allocator given to evs_new, grows
 * it on insert and keeps it when the count falls again, so a warm set
 * (one that has already held as many entries) does not allocate.  An
 * insert that needs memory and cannot get it returns SIM_ENOMEM and
 * leaves the set unchanged.  Pop and peek never allocate and never fail.
 *
 * Build flag EVS_STRESS makes the calendar queue resize (and retune) on
 * every operation, to flush out resize bugs in tests.
 */
#ifndef SIM_EVSET_H
#define SIM_EVSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "status.h"

typedef struct evs_entry {
	int64_t time;
	uint64_t seq;
	void *item; /* the caller's; never dereferenced by the set */
} evs_entry;

typedef enum evs_kind {
	EVS_CALENDAR = 0,
	EVS_HEAP = 1,
} evs_kind;

typedef struct evs evs;

/* Returns NULL when out of memory.  The allocator must outlive the set. */
evs *evs_new(evs_kind kind, const sim_alloc *alloc);
/* Frees the set; queued items are simply forgotten (they are the caller's). */
void evs_free(evs *s);

/* Queues (time, seq, item); time >= 0.  O(1) amortised (calendar) or
 * O(log n) (heap).  0 on success, SIM_ENOMEM (negative) on allocation
 * failure, the set then unchanged. */
int evs_insert(evs *s, int64_t time, uint64_t seq, void *item);
/* The first entry in order, or NULL if empty; does not remove it.  The
 * pointer is valid until the next insert or pop. */
const evs_entry *evs_peek(evs *s);
/* Removes the first entry into *out and returns true, or returns false
 * (and leaves *out untouched) if the set is empty. */
bool evs_pop(evs *s, evs_entry *out);
/* Removes the first entry into *out and returns the new first entry, as
 * evs_peek would then (NULL if the set is now empty).  The set must not
 * be empty.  A dispatch loop that pops an event and looks at the next one
 * (to prefetch what it points to) makes one call instead of two. */
const evs_entry *evs_pop_peek(evs *s, evs_entry *out);
size_t evs_count(const evs *s);
const char *evs_kind_name(evs_kind k);

/* Diagnostics for benchmarks and tests: resizes, retunes and far-bucket
 * cascades so far, current bucket count and width (0 for the heap). */
typedef struct evs_stats {
	uint64_t resizes;
	uint64_t retunes;
	uint64_t cascades;
	size_t buckets;
	int64_t width;
} evs_stats;
void evs_get_stats(const evs *s, evs_stats *out);

#endif
