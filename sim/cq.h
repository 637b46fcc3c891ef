/* cq.h - the calendar queue behind evset.h (internal; prefix cq_).
 *
 * After Brown (1988), with the departures defended in docs/DESIGN.md:
 *   - nb buckets ("days"), nb a power of two >= 64, of width 2^shift ns;
 *     a node with time t lives in bucket (t >> shift) & (nb - 1).
 *   - Buckets are UNSORTED singly linked lists (O(1) push) that remember
 *     their minimum time; a bitmap of non-empty buckets lets the scan skip
 *     64 empty days per word.
 *   - The "bottom" is a sorted list holding EXACTLY the nodes with
 *     time < top; every node in a bucket has time >= top.  Pops take the
 *     bottom's head.  When the bottom runs dry the scan moves to the next
 *     non-empty day, moves that day's nodes to the bottom and sorts them
 *     (natural merge sort), as the ladder queue does (Tang, Goh & Thng
 *     2005).  A whole year without a due node triggers Brown's direct
 *     search for the minimum.
 *   - Resize (nb) when the count leaves [nb/4, 2nb]; width re-estimated
 *     from the K smallest times at every resize and at every cost-triggered
 *     retune: over a window of at least count + nb operations the queue
 *     adds up its work (empty words and not-due buckets visited, nodes
 *     scanned, bottom-insert steps); above COST_MAX per operation it
 *     retunes.  Both cost O(count + nb), so O(1) amortised per operation.
 *
 * Times are treated as uint64_t (they are int64_t >= 0), so bucket and day
 * arithmetic cannot overflow up to INT64_MAX.
 *
 * Memory: one block holding the buckets and the bitmap.  A failed grow is
 * not an error: the queue keeps its old size (it is only slower), so
 * cq_insert never fails.  Nothing is allocated per operation.
 */
#ifndef SIM_CQ_H
#define SIM_CQ_H

#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "evset.h"

typedef struct cq_bucket {
	evs_node *head; /* unsorted; NULL when empty */
	uint64_t min;   /* least time in the list; meaningful when non-empty */
} cq_bucket;

typedef struct cq {
	const sim_alloc *alloc;
	cq_bucket *b;      /* nb buckets, then the bitmap, in one block */
	uint64_t *bits;    /* bit i set iff b[i].head != NULL */
	size_t nb;         /* power of two >= 64 */
	uint64_t mask;     /* nb - 1 */
	unsigned shift;    /* bucket width is 2^shift ns */
	uint64_t top;      /* bottom = exactly the nodes with time < top */
	evs_node *bot;     /* sorted by (time, seq) */
	evs_node *bot_tail;/* valid while bot != NULL */
	size_t count;      /* nodes queued (bottom + buckets) */
	size_t grow_at;    /* resize when count > grow_at ... */
	size_t shrink_at;  /* ... or count < shrink_at */
	uint64_t ops;      /* operations in the current cost window */
	uint64_t window;   /* length of the cost window */
	uint64_t cost;     /* work units spent in the window */
	uint64_t resizes, retunes;
	unsigned stress;   /* EVS_STRESS: toggles the forced changes */
} cq;

int cq_init(cq *q, const sim_alloc *alloc);
void cq_free(cq *q);

/* Out of line: bottom insert, day advance, maintenance. */
void cq_bot_insert(cq *q, evs_node *n);
evs_node *cq_advance(cq *q);
void cq_maintain(cq *q);

static inline void cq_insert(cq *q, evs_node *n)
{
	uint64_t t = (uint64_t)n->time;
	q->count++;
	if (t < q->top) {
		cq_bot_insert(q, n);
	} else {
		uint64_t i = (t >> q->shift) & q->mask;
		cq_bucket *b = &q->b[i];
		if (b->head == NULL) {
			q->bits[i >> 6] |= 1ULL << (i & 63);
			b->min = t;
		} else if (t < b->min) {
			b->min = t;
		}
		n->next = b->head;
		b->head = n;
	}
	if (++q->ops >= q->window || q->count > q->grow_at)
		cq_maintain(q);
}

static inline evs_node *cq_peek(cq *q)
{
	return q->bot ? q->bot : cq_advance(q);
}

static inline evs_node *cq_pop(cq *q)
{
	evs_node *n = q->bot;
	if (n == NULL && (n = cq_advance(q)) == NULL)
		return NULL;
	q->bot = n->next;
	q->count--;
	if (++q->ops >= q->window || q->count < q->shrink_at)
		cq_maintain(q);
	return n;
}


#endif
