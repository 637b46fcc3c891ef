/* heap.h - a plain binary min-heap of entries (key inline), the event
 * set's reference implementation (internal to evset.c; prefix heap_).
 *
 * The same structure as ns-3's PriorityQueueScheduler (std::priority_queue
 * of events with the key inline), so it is the honest baseline.
 * Order (time, seq) as in evset.h.  Insert and pop O(log n), peek O(1).
 * The array grows by doubling through the allocator and never shrinks; a
 * failed growth leaves the heap unchanged (SIM_ENOMEM).
 */
#ifndef SIM_HEAP_H
#define SIM_HEAP_H

#include <stdbool.h>
#include <stddef.h>

#include "alloc.h"
#include "evset.h"

typedef struct heap {
	const sim_alloc *alloc;
	evs_entry *a; /* a[0..n) is a heap: a[i] is not after a[2i+1], a[2i+2] */
	size_t n;
	size_t cap;
	unsigned check_ops; /* SIM_CHECK's counter (check.h), kept by evset.c */
} heap;

void heap_init(heap *h, const sim_alloc *alloc);
void heap_free(heap *h);
int heap_insert(heap *h, int64_t time, uint64_t seq, void *item);
bool heap_pop(heap *h, evs_entry *out);
/* Whether a[0..n) has the heap property and n <= cap; O(n), for SIM_CHECK
 * (check.h). */
bool heap_check(const heap *h);

static inline const evs_entry *heap_peek(const heap *h)
{
	return h->n ? &h->a[0] : NULL;
}

#endif
