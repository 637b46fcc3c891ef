/* cq.h - the calendar queue behind evset.h (internal; prefix cq_).
 *
 * After Brown (1988), with the departures defended in docs/DESIGN.md.
 * Keys are inline: the queue stores evs_entry values (time, seq, item)
 * and never dereferences item.
 *   - nb buckets ("days"), nb a power of two in [64, CQ_MAX_BUCKETS], of
 *     width 2^shift ns; an entry with time t lives in bucket
 *     (t >> shift) & (nb - 1).  Up to CQ_MAX_BUCKETS a day holds about
 *     one or two entries (Brown); beyond it the days get fuller instead of
 *     the index getting bigger, so the bucket heads stay in cache.  Below
 *     CQ_MAX_BUCKETS nb may be up to 16 times the count, and the days
 *     wider than the front asks, so that a year (nb days) covers the
 *     times below the 90 % quantile of a 256-entry sample of the queue:
 *     a shorter year folds later entries onto the days being scanned
 *     (camel at 10^3 spent 7 not-due bucket visits a pop on that).
 *   - The day buckets never fold: they hold exactly the bucket entries
 *     with time in [top, horizon), where horizon - top <= a year, so a
 *     non-empty day bucket holds one day, all of it due when the scan
 *     reaches it.  Entries at or beyond the horizon go to the FAR WHEEL:
 *     CQ_FAR buckets an eighth of a year wide, (t >> yshift) & (CQ_FAR -
 *     1), chunks and bitmap as above.  Whenever the scan needs a new day,
 *     the horizon is raised to within an eighth of a year of its bound
 *     (a year from top's day), and the far buckets it passes are
 *     CASCADED: their entries go into the day buckets, once each; when
 *     the day buckets run dry, top and horizon jump to the far bucket of
 *     the least entry (Brown's
 *     folding rescanned a far entry at every pass of its bucket: change
 *     at 10^6, entries 90 s ahead of a 17 s year, about 5 times).
 *     Entries more than CQ_FAR years ahead share a far bucket and are put
 *     back at its cascade; the plan keeps CQ_FAR years above the queue's
 *     sampled span, and the cost check counts the put-backs.  The
 *     bound moves once in an eighth of a year of top: ext_at, the least
 *     top at which it exceeds the horizon, spares the pop computing it at
 *     every day change.
 *   - A bucket is an UNSORTED unrolled list: a chain of CQ_CHUNK-entry
 *     chunks from a pool owned by the queue (indices, not pointers), newest
 *     chunk first.  A day bucket is only that chain's head (CQ_NIL when
 *     empty, 4 bytes: 64 KiB for CQ_MAX_BUCKETS); a far bucket also keeps
 *     its entry count and least time (jump looks for the least).  A
 *     bitmap of non-empty buckets lets the scan skip 64 empty days a word.
 *   - The "bottom" is a sorted array bot[bh..bt) plus a small side heap,
 *     together holding EXACTLY the entries with time < top; every bucket
 *     entry has time >= top.  Pops take bot[bh] (or side[0] if less); an
 *     insert below top goes into the array unless that would shift more
 *     than CQ_SHIFT_MAX entries, then into the side heap.  When both run
 *     dry the scan moves to the next non-empty day, copies that day's
 *     entries into the bottom and sorts them there (the ladder queue's
 *     lazy sort, Tang, Goh & Thng 2005); a day of one entry, the usual
 *     one when the days are narrow, is popped straight from its chunk.  A far wheel without an entry in
 *     its next CQ_FAR years triggers Brown's direct search over it.
 *   - botcap >= 2 * count always: the bottom can take any day, and the
 *     upper half is the merge sort's scratch and the rebuild's staging area.
 *   - Every CQ_CHECK operations (one countdown, `budget`) the queue checks
 *     its count and its cost.  Resize when the count has left [ref/4,
 *     2 ref] (ref = max(64, count at the last rebuild)); the width is
 *     re-estimated from the K smallest times (and the year from the
 *     sample above) at every resize and at every
 *     cost-triggered retune: over a window of at least count + nb
 *     operations the queue adds up its work (empty words visited,
 *     entries taken, cascaded and put back, bottom shifts, oversized
 *     sorts);
 *     when that exceeds CQ_COST_MAX per operation and count + nb in all, it
 *     retunes.  Both cost O(count + nb), so O(1) amortised per operation.
 *     The first window after the start or a resize always re-plans.
 *   - A bucket's chunks are full except the newest (head); so a bucket of
 *     n entries holds at most n / CQ_CHUNK + 1 chunks, and the pool ALWAYS
 *     holds room / CQ_CHUNK + min(room, nb + CQ_FAR) + 1 chunks (reserved
 *     when the bottom array grows, or the insert fails; grown before a
 *     rebuild, or the rebuild is not done): neither an insert nor a
 *     cascade can run out, and a steady state never allocates (nor
 *     first-touches memory).
 *   - Limits: 2^32 - 2 chunks, and fewer than 2^32 entries per bucket
 *     (about 100 GB of entries).
 *
 * Times are treated as uint64_t (they are int64_t >= 0), so bucket and day
 * arithmetic cannot overflow up to INT64_MAX.
 *
 * Memory: the bucket block (day heads + bitmap), the bottom array (2-4 x
 * count entries), the side heap (grown on demand) and the chunk pool (about count / 10 + nb chunks of 256
 * bytes), some 80 bytes an entry at 10^6 against the heap's 24-48.
 * Insert grows the bottom array and the pool when it must; if that fails
 * it returns SIM_ENOMEM with nothing changed.  A failed resize is not an
 * error: the queue keeps its old index (it is only slower).  Pop never
 * allocates.
 */
#ifndef SIM_CQ_H
#define SIM_CQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "evset.h"

#define CQ_CHUNK 10        /* entries per chunk: 8 + 240 bytes, padded to 256 */
#define CQ_NIL UINT32_MAX
#define CQ_FAR 1024        /* buckets of the far wheel (a power of two) */
#define CQ_FARW (CQ_FAR / 64) /* its bitmap words */

typedef struct cq_chunk {
	uint32_t next;     /* older chunk of the same bucket, or next free one */
	uint32_t n;        /* entries used in e[] */
	evs_entry e[CQ_CHUNK];
	uint64_t pad;
} cq_chunk;

/* A far bucket.  A day bucket is only its head (cq.head[i], CQ_NIL when
 * empty): a count and least time there were kept up at every insert and
 * read only by the maintenance, which walks the chunks anyway. */
typedef struct cq_bucket {
	uint32_t head;     /* newest chunk; meaningful when n > 0 */
	uint32_t n;        /* entries in the bucket; 0 = empty */
	uint64_t min;      /* least time in the bucket; meaningful when n > 0 */
} cq_bucket;

typedef struct cq {
	const sim_alloc *alloc;
	uint32_t *head;    /* nb day buckets' newest chunks (CQ_NIL: empty),
			    * then the bitmap, in one block */
	uint64_t *bits;    /* bit i set iff head[i] != CQ_NIL */
	size_t nb;         /* power of two >= 64 */
	size_t nbcap;      /* buckets the block has room for, >= nb */
	uint64_t mask;     /* nb - 1 */
	unsigned shift;    /* bucket width is 2^shift ns */
	unsigned yshift;   /* a year (nb days) is 2^yshift ns; 63: no far wheel */
	uint64_t top;      /* bottom = exactly the entries with time < top */
	uint64_t horizon;  /* year-aligned; day buckets hold [top, horizon), the
			    * far wheel [horizon, ...); UINT64_MAX: no far wheel */
	uint64_t ext_at;   /* the least top whose horizon bound exceeds horizon
			    * (extend has work); UINT64_MAX: no far wheel */
	evs_entry *bot;    /* bot[bh..bt) sorted by (time, seq) */
	size_t bh, bt, botcap;
	size_t room;       /* botcap / 2 - 1: inserts need no growth while count < room */
	evs_entry *side;   /* side heap: part of the bottom (time < top), used for */
	size_t side_n;     /* inserts that would shift the array too much */
	size_t side_cap;
	cq_chunk *pool;    /* 64-byte aligned inside pool_raw */
	void *pool_raw;
	size_t pool_raw_size;
	uint32_t npool;    /* chunks in the pool */
	uint32_t free;     /* free list through cq_chunk.next */
	size_t count;      /* entries queued (bottom + day buckets + far wheel) */
	size_t nfar;       /* entries in the far wheel */
	size_t grow_at;    /* resize when count > grow_at ... */
	size_t shrink_at;  /* ... or count < shrink_at (checked when a window ends) */
	uint64_t budget;   /* operations left until the next check */
	uint64_t elapsed;  /* operations in the window before this check period */
	uint64_t period;   /* length of this check period */
	uint64_t window;   /* length of the cost window */
	uint64_t cost;     /* work units spent in the window */
	uint64_t day_target; /* entries per day the width aims at */
	uint64_t resizes, retunes, cascades;
	unsigned stress;   /* EVS_STRESS: toggles the forced changes */
	unsigned replan;   /* re-plan when this window ends (start, resize) */
	unsigned check_ops; /* SIM_CHECK's counter (check.h), kept by evset.c */
	uint64_t farbits[CQ_FARW]; /* bit i set iff far[i].n != 0 */
	cq_bucket far[CQ_FAR]; /* the far wheel: year (t >> yshift) & (CQ_FAR - 1) */
} cq;

int cq_init(cq *q, const sim_alloc *alloc);
void cq_free(cq *q);

/* Whether the structure holds every invariant above: the bottom sorted
 * and below top, the side heap a heap below top, every bucket entry in its
 * bucket at or above top, far bucket counts and minima, the day heads
 * and the bitmap, ext_at, the chunk
 * accounting (every chunk in exactly one bucket or on the free list, all
 * but a bucket's newest chunk full) and the count.  O(count + nbcap +
 * chunks); for SIM_CHECK (check.h) after every operation in the stress
 * build, periodically in the other assert builds. */
bool cq_check(const cq *q);

/* The hot paths below make only tail calls, so they need no stack frame;
 * everything unusual goes to the out-of-line versions in cq.c. */
/* noinline: with link-time optimisation GCC would otherwise inline them
 * into the hot paths, which then save six registers and set up a frame on
 * every call for work done once in many (at N = 100, 45 of the ~190
 * instructions of a hold). */
#define CQ_OUTLINE __attribute__((noinline))
CQ_OUTLINE int cq_insert_slow(cq *q, int64_t time, uint64_t seq, void *item);
CQ_OUTLINE int cq_insert_far(cq *q, int64_t time, uint64_t seq, void *item);
CQ_OUTLINE __attribute__((cold)) int cq_insert_maintain(cq *q);
CQ_OUTLINE bool cq_pop_slow(cq *q, evs_entry *out);
CQ_OUTLINE const evs_entry *cq_peek_slow(cq *q);
CQ_OUTLINE __attribute__((cold)) bool cq_pop_maintain(cq *q);

/* Takes a chunk off the free list (the pool bound, pool_need in cq.c,
 * guarantees one) as the newest of a chain whose next is `next`, empty;
 * returns its index. */
static inline uint32_t cq_chunk_take(cq *q, uint32_t next)
{
	uint32_t k = q->free;
	cq_chunk *c = &q->pool[k];
	q->free = c->next;
	c->next = next;
	c->n = 0;
	return k;
}

/* Adds (time, seq, item), top <= time < horizon, to its day bucket; the
 * pool bound (pool_need in cq.c) guarantees a free chunk.  The insert's
 * fast path and every move inside cq.c (a cascade, a rebuild) put day
 * entries this one way (bucket_put in cq.c, which also takes the far
 * wheel's). */
static inline void cq_day_put(cq *q, int64_t time, uint64_t seq, void *item)
{
	uint64_t i = ((uint64_t)time >> q->shift) & q->mask;
	uint32_t h = q->head[i];
	cq_chunk *c;
	if (h == CQ_NIL) {
		uint32_t k = cq_chunk_take(q, CQ_NIL);
		c = &q->pool[k];
		c->n = 1;
		c->e[0] = (evs_entry){ time, seq, item };
		q->head[i] = k;
		q->bits[i >> 6] |= 1ULL << (i & 63);
		return;
	}
	c = &q->pool[h];
	uint32_t n = c->n;
	if (__builtin_expect(n == CQ_CHUNK, 0)) {
		uint32_t k = cq_chunk_take(q, h);
		c = &q->pool[k];
		n = 0;
		q->head[i] = k;
	}
	c->n = n + 1;
	c->e[n] = (evs_entry){ time, seq, item };
}

static inline int cq_insert(cq *q, int64_t time, uint64_t seq, void *item)
{
	uint64_t t = (uint64_t)time;
	/* count < room keeps botcap >= 2 (count + 1) after this insert, and
	 * the pool big enough for it (pool_need in cq.c): q->free is never
	 * CQ_NIL below */
	if (__builtin_expect(q->count >= q->room || t < q->top, 0))
		return cq_insert_slow(q, time, seq, item);
	/* a path of its own: at camel 10^3 most inserts go there (days of
	 * 64 ns, a year of 1 ms, increments of 1 and 2 ms) */
	if (__builtin_expect(t >= q->horizon, 0))
		return cq_insert_far(q, time, seq, item);
	cq_day_put(q, time, seq, item);
	q->count++;
	if (__builtin_expect(--q->budget == 0, 0))
		return cq_insert_maintain(q);
	return 0;
}

static inline const evs_entry *cq_peek(cq *q)
{
	if (__builtin_expect(q->bh == q->bt || q->side_n, 0))
		return cq_peek_slow(q);
	return &q->bot[q->bh];
}

static inline bool cq_pop(cq *q, evs_entry *out)
{
	if (__builtin_expect(q->bh == q->bt || q->side_n, 0))
		return cq_pop_slow(q, out);
	*out = q->bot[q->bh++];
	q->count--;
	if (__builtin_expect(--q->budget == 0, 0))
		return cq_pop_maintain(q);
	return true;
}

#endif
