/* heap.h - a plain binary min-heap of node pointers, the event set's
 * reference implementation (internal to evset.c; prefix heap_).
 *
 * Order (time, seq) as in evset.h.  Insert and pop O(log n), peek O(1).
 * The array of pointers grows by doubling through the allocator and never
 * shrinks; a failed growth leaves the heap unchanged (SIM_ENOMEM).
 * The heap does not use the nodes' link field.
 */
#ifndef SIM_HEAP_H
#define SIM_HEAP_H

#include <stddef.h>

#include "alloc.h"
#include "evset.h"

typedef struct heap {
	const sim_alloc *alloc;
	evs_node **a; /* a[0..n) is a heap: a[i] is not after a[2i+1], a[2i+2] */
	size_t n;
	size_t cap;
} heap;

void heap_init(heap *h, const sim_alloc *alloc);
void heap_free(heap *h);
int heap_insert(heap *h, evs_node *x);
evs_node *heap_pop(heap *h);

static inline evs_node *heap_peek(const heap *h)
{
	return h->n ? h->a[0] : NULL;
}

#endif
