/* cq.c - the calendar queue; see cq.h for the structure and invariants and
 * docs/DESIGN.md for why it departs from Brown (1988). */
#include "cq.h"

#include <string.h>

#define CQ_MIN_BUCKETS 64
/* Beyond this many buckets the days get fuller instead: 2^14 buckets are
 * 256 KiB of heads and 1 MiB of chunk tails being filled, which stay in
 * L2/LLC, so an insert does not miss; see docs/DESIGN.md.  (This and the
 * other #ifndef knobs below can be overridden with -D for experiments.) */
#ifndef CQ_MAX_BUCKETS
#define CQ_MAX_BUCKETS 16384
#endif
#define CQ_MAX_SHIFT 62
/* Width = CQ_WIDTH_FACTOR x day_target x the mean spacing of the CQ_SAMPLE
 * smallest times, rounded up to a power of two (Brown uses 3x the spacing
 * of ~25 front events). */
#define CQ_SAMPLE 32
#ifndef CQ_WIDTH_FACTOR
#define CQ_WIDTH_FACTOR 2
#endif
/* Retune when a window costs more than this many work units per operation;
 * a well-tuned queue spends about 1-2 (each entry is scanned once when its
 * day comes, plus a bucket visit per day). */
#define CQ_COST_MAX 6
#define CQ_MIN_WINDOW 4096
/* nb may be raised up to CQ_SPREAD times the count's so that a year covers
 * the times below the CQ_SPAN_PERMILLE quantile (plan). */
#ifndef CQ_SPREAD
#define CQ_SPREAD 16
#endif
#ifndef CQ_SPAN_PERMILLE
#define CQ_SPAN_PERMILLE 900
#endif
#define CQ_SPAN_SAMPLE 256
/* A far bucket is a year / 2^CQ_FAR_SPLIT wide: the horizon moves on in
 * such steps, so the day buckets cover at least 7/8 of a year ahead. */
#define CQ_FAR_SPLIT 3
/* Cost units of an entry that a cascade finds more than CQ_FAR years
 * ahead and puts back into the far wheel. */
#ifndef CQ_REFOLD_COST
#define CQ_REFOLD_COST 4
#endif
/* Counts and costs are checked every CQ_CHECK operations. */
#define CQ_CHECK 4096
/* A bottom insert first looks for its place among this many entries at
 * the front (bot_insert). */
#ifndef CQ_FRONT_SCAN
#define CQ_FRONT_SCAN 8
#endif
/* A bottom insert that would shift more entries goes to the side heap. */
#define CQ_SHIFT_MAX 32
/* Days up to this size are insertion-sorted, longer ones merge-sorted. */
#ifndef CQ_INSERTION_MAX
#define CQ_INSERTION_MAX 16
#endif

static inline int before(const evs_entry *a, const evs_entry *b)
{
	return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

static void side_pop(cq *q, evs_entry *out);
static int bot_insert(cq *q, const evs_entry *e);
static bool advance(cq *q);
static void maintain(cq *q);

_Static_assert(CQ_FAR >= 64 && (CQ_FAR & (CQ_FAR - 1)) == 0, "whole bitmap words");

static size_t nwords(size_t nb)
{
	return nb / 64;
}

static size_t block_size(size_t nb)
{
	return nb * sizeof(uint32_t) + nwords(nb) * sizeof(uint64_t);
}

/* Least power of two >= count, within [CQ_MIN_BUCKETS, CQ_MAX_BUCKETS]. */
static size_t nb_for(size_t count)
{
	size_t nb = CQ_MIN_BUCKETS;
	while (nb < count && nb < CQ_MAX_BUCKETS)
		nb *= 2;
	return nb;
}

/* nb empty day buckets: every head CQ_NIL (all ones), the bitmap zero.
 * nb is a multiple of 64, so the bitmap is 8-byte aligned. */
static uint32_t *block_new(const sim_alloc *a, size_t nb)
{
	uint32_t *b = sim_malloc(a, block_size(nb));
	if (b) {
		memset(b, 0xff, nb * sizeof *b);
		memset(b + nb, 0, nwords(nb) * sizeof(uint64_t));
	}
	return b;
}

/* The block has room for nbcap buckets; nb <= nbcap are in use.  Buckets
 * and bitmap words beyond nb are kept empty, so nb can change within the
 * block (the stress build does that; a normal resize allocates exactly). */
static void set_block(cq *q, uint32_t *b, size_t nbcap, size_t nb)
{
	q->head = b;
	q->bits = (uint64_t *)(b + nbcap);
	q->nbcap = nbcap;
	q->nb = nb;
	q->mask = nb - 1;
}

/* The horizon: the day buckets hold [top, horizon), less than a year (nb
 * days) from the start of top's day, so two queued days never share a
 * bucket.  It is a multiple of a far bucket's width (a year / 2^
 * CQ_FAR_SPLIT) and kept within one such width of its bound (cascade),
 * so that nearly a year ahead goes straight into the day buckets.  A
 * year of 2^63 ns or more covers every time: no far wheel. */
static uint64_t horizon_bound(const cq *q)
{
	uint64_t base = q->top >> q->shift << q->shift;
	/* base <= 2^63 and the year < 2^63: no overflow */
	return (base + ((uint64_t)q->nb << q->shift)) >> q->yshift << q->yshift;
}

/* The bound is floor(top / F) F + Y for a far bucket F = 2^yshift and a
 * year Y = 2^CQ_FAR_SPLIT F, so it exceeds a horizon h (a multiple of F)
 * exactly when top >= h + F - Y: a pop compares top with this instead of
 * computing the bound at every day change (it moves once in
 * 2^-CQ_FAR_SPLIT of a year). */
static uint64_t ext_at_for(uint64_t horizon, unsigned yshift)
{
	uint64_t back = (1ULL << (yshift + CQ_FAR_SPLIT)) - (1ULL << yshift);
	return horizon >= back ? horizon - back : 0;
}

static void set_horizon(cq *q, uint64_t horizon)
{
	q->horizon = horizon;
	q->ext_at = ext_at_for(horizon, q->yshift);
}

static void set_year(cq *q)
{
	unsigned ysh = q->shift + (unsigned)__builtin_ctzll(q->nb);
	if (ysh >= 63) {
		q->yshift = 63;
		q->horizon = UINT64_MAX;
		q->ext_at = UINT64_MAX;
		return;
	}
	q->yshift = ysh - CQ_FAR_SPLIT;
	set_horizon(q, horizon_bound(q));
}

static void set_limits(cq *q)
{
	/* From the count, not nb: nb may be up to CQ_SPREAD times the count
	 * (plan below), and a shrink threshold taken from nb would fire at
	 * once. */
	size_t ref = q->count > CQ_MIN_BUCKETS ? q->count : CQ_MIN_BUCKETS;
	uint64_t dt = q->count / q->nb;
	q->day_target = dt ? dt : 1;
#ifdef EVS_STRESS
	(void)ref;
	q->grow_at = 0;
	q->shrink_at = SIZE_MAX;
	q->window = 1;
#else
	q->grow_at = ref > SIZE_MAX / 2 ? SIZE_MAX : 2 * ref;
	q->shrink_at = ref > CQ_MIN_BUCKETS ? ref / 4 : 0;
	uint64_t w = (uint64_t)q->count + q->nb;
	q->window = w < CQ_MIN_WINDOW ? CQ_MIN_WINDOW : w;
#endif
	q->elapsed = 0;
	q->period = q->window < CQ_CHECK ? q->window : CQ_CHECK;
	q->budget = q->period;
	q->cost = 0;
}

int cq_init(cq *q, const sim_alloc *alloc)
{
	memset(q, 0, sizeof *q);
	q->alloc = alloc;
	q->free = CQ_NIL;
	uint32_t *b = block_new(alloc, CQ_MIN_BUCKETS);
	if (!b)
		return SIM_ENOMEM;
	set_block(q, b, CQ_MIN_BUCKETS, CQ_MIN_BUCKETS);
	q->shift = 20; /* ~1 ms; re-estimated at the first resize */
	set_year(q);
	set_limits(q);
	q->replan = 1;
	return 0;
}

void cq_free(cq *q)
{
	sim_free(q->alloc, q->head, block_size(q->nbcap));
	sim_free(q->alloc, q->bot, q->botcap * sizeof *q->bot);
	sim_free(q->alloc, q->pool_raw, q->pool_raw_size);
	sim_free(q->alloc, q->side, q->side_cap * sizeof *q->side);
	q->side = NULL;
	q->head = NULL;
	q->bits = NULL;
	q->bot = NULL;
	q->pool = NULL;
	q->pool_raw = NULL;
}

/* ---- memory ---- */

/* Grows the pool to at least `want` chunks (new ones on the free list).
 * On failure nothing changes. */
static int pool_grow(cq *q, size_t want)
{
	if (want <= q->npool)
		return 0;
	size_t cap = q->npool ? 2 * (size_t)q->npool : 64;
	if (cap < want)
		cap = want;
	if (cap >= CQ_NIL)
		cap = CQ_NIL - 1;
	if (cap < want || cap > (SIZE_MAX - 64) / sizeof(cq_chunk))
		return SIM_ENOMEM;
	size_t size = cap * sizeof(cq_chunk) + 64;
	void *raw = sim_malloc(q->alloc, size);
	if (!raw)
		return SIM_ENOMEM;
	cq_chunk *p = (cq_chunk *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
	if (q->npool)
		memcpy(p, q->pool, q->npool * sizeof(cq_chunk));
	sim_free(q->alloc, q->pool_raw, q->pool_raw_size);
	q->pool = p;
	q->pool_raw = raw;
	q->pool_raw_size = size;
	for (size_t k = cap; k-- > q->npool;) {
		p[k].next = q->free;
		q->free = (uint32_t)k;
	}
	q->npool = (uint32_t)cap;
	return 0;
}

/* botcap >= want entries; keeps the contents.  On failure nothing changes. */
static int bot_grow(cq *q, size_t want)
{
	if (want <= q->botcap)
		return 0;
	size_t cap = q->botcap ? 2 * q->botcap : 128;
	if (cap < want)
		cap = want;
	if (cap > SIZE_MAX / sizeof *q->bot)
		return SIM_ENOMEM;
	evs_entry *b = sim_realloc(q->alloc, q->bot, q->botcap * sizeof *q->bot,
				   cap * sizeof *q->bot);
	if (!b)
		return SIM_ENOMEM;
	/* Touch the new part now: first touches are page faults, which cost
	 * tens of microseconds a page on some VMs; better here, while the
	 * queue grows, than in the middle of a steady state. */
	memset(b + q->botcap, 0, (cap - q->botcap) * sizeof *b);
	q->bot = b;
	q->botcap = cap;
	return 0;
}

/* Chunks that room entries can need with nb day buckets: a bucket of n
 * entries holds at most n / CQ_CHUNK + 1 chunks, and at most min(room,
 * nb + CQ_FAR) buckets are non-empty.  The pool always holds this many for
 * the current room and nb, so neither an insert nor a cascade (which
 * moves a far bucket's entries into day buckets) can run short. */
static size_t pool_need(size_t room, size_t nb)
{
	size_t busy = nb + CQ_FAR < room ? nb + CQ_FAR : room;
	return room / CQ_CHUNK + busy + 1;
}

static int reserve(cq *q)
{
	if (q->count > SIZE_MAX / 2 - 2)
		return SIM_ENOMEM;
	if (bot_grow(q, 2 * q->count + 4) != 0)
		return SIM_ENOMEM;
	size_t room = q->botcap / 2 - 1;
	/* As many chunks as room entries can need at the largest bucket
	 * count a resize would choose for them, so a steady state never
	 * grows the pool (a rebuild grows it if its plan needs more). */
	size_t nbmax = room < CQ_MAX_BUCKETS ? room : CQ_MAX_BUCKETS;
	if (nbmax < q->nb)
		nbmax = q->nb;
	if (pool_grow(q, pool_need(room, nbmax)) != 0)
		return SIM_ENOMEM;
	q->room = room;
	return 0;
}

/* Adds (time, seq, item), time >= horizon, to its far bucket. */
static inline void far_put(cq *q, int64_t time, uint64_t seq, void *item)
{
	uint64_t t = (uint64_t)time;
	uint64_t i = (t >> q->yshift) & (CQ_FAR - 1);
	cq_bucket *b = &q->far[i];
	cq_chunk *c;
	if (b->n == 0) {
		b->head = cq_chunk_take(q, CQ_NIL);
		c = &q->pool[b->head];
		b->min = t;
		q->farbits[i >> 6] |= 1ULL << (i & 63);
	} else {
		c = &q->pool[b->head];
		if (c->n == CQ_CHUNK) {
			b->head = cq_chunk_take(q, b->head);
			c = &q->pool[b->head];
		}
		if (t < b->min)
			b->min = t;
	}
	c->e[c->n++] = (evs_entry){ time, seq, item };
	b->n++;
	q->nfar++;
}

/* cq_insert's entries at or beyond the horizon (count < room, time >= top). */
int cq_insert_far(cq *q, int64_t time, uint64_t seq, void *item)
{
	far_put(q, time, seq, item);
	q->count++;
	if (--q->budget == 0)
		return cq_insert_maintain(q);
	return 0;
}

/* Adds e (time >= top) to its day bucket, or to the far wheel. */
static inline void bucket_put(cq *q, const evs_entry *e)
{
	if ((uint64_t)e->time < q->horizon)
		cq_day_put(q, e->time, e->seq, e->item);
	else
		far_put(q, e->time, e->seq, e->item);
}

/* Every case of an insert that cq_insert leaves but the one that
 * cq_insert_slow keeps for itself. */
static CQ_OUTLINE int insert_general(cq *q, int64_t time, uint64_t seq, void *item)
{
	if (q->count >= q->room && reserve(q) != 0)
		return SIM_ENOMEM;
	evs_entry e = { time, seq, item };
	if ((uint64_t)time < q->top) {
		if (bot_insert(q, &e) != 0)
			return SIM_ENOMEM;
	} else {
		bucket_put(q, &e);
	}
	q->count++;
	if (--q->budget == 0)
		maintain(q);
	return 0;
}

/* An entry below top whose place is among the first CQ_FRONT_SCAN of
 * the bottom array, with room below them: the usual insert below top
 * when a day holds much of the queue (change at 100: days of seconds,
 * increments of a millisecond).  Found and made room for in one pass,
 * without a bisection or a memmove call, in a path that needs no frame;
 * anything else goes to insert_general. */
int cq_insert_slow(cq *q, int64_t time, uint64_t seq, void *item)
{
	size_t lo = q->bh, hi = q->bt;
	evs_entry e = { time, seq, item };
	if (q->count < q->room && (uint64_t)time < q->top && lo > 0 && lo < hi) {
		evs_entry *a = q->bot;
		size_t last = hi - lo < CQ_FRONT_SCAN ? hi - 1 : lo + CQ_FRONT_SCAN - 1;
		if (before(&e, &a[last])) {
			size_t i = lo;
			while (!before(&e, &a[i])) { /* ends at last at the latest */
				a[i - 1] = a[i];
				i++;
			}
			a[i - 1] = e;
			q->bh = lo - 1;
			q->cost += i - lo;
			q->count++;
			if (--q->budget == 0)
				return cq_insert_maintain(q);
			return 0;
		}
	}
	return insert_general(q, time, seq, item);
}

int cq_insert_maintain(cq *q)
{
	maintain(q);
	return 0;
}

/* The first entry is the least of bot[bh] and side[0]; both are < top,
 * so the buckets are looked at only when both are empty. */
const evs_entry *cq_peek_slow(cq *q)
{
	if (q->side_n) {
		if (q->bh < q->bt && before(&q->bot[q->bh], &q->side[0]))
			return &q->bot[q->bh];
		return &q->side[0];
	}
	if (q->bh == q->bt && !advance(q))
		return NULL;
	return &q->bot[q->bh];
}

/* Every case of a pop that cq_pop leaves: the side heap in use, or the
 * bottom empty; cq_pop_slow keeps only the usual day change for itself. */
static CQ_OUTLINE bool pop_general(cq *q, evs_entry *out)
{
	if (q->side_n && (q->bh == q->bt || !before(&q->bot[q->bh], &q->side[0]))) {
		side_pop(q, out);
	} else {
		if (q->bh == q->bt && !advance(q))
			return false;
		*out = q->bot[q->bh++];
	}
	q->count--;
	if (--q->budget == 0)
		maintain(q);
	return true;
}

bool cq_pop_maintain(cq *q)
{
	maintain(q);
	return true;
}

static inline void chunk_free(cq *q, uint32_t k)
{
	q->pool[k].next = q->free;
	q->free = k;
}

/* Copies every entry of the chunk chain from head to out, in chain
 * order, and frees the chunks; returns how many.  The bucket's head (or
 * count) and bitmap bit are the caller's to clear. */
static size_t bucket_drain(cq *q, uint32_t head, evs_entry *out)
{
	size_t k = 0;
	for (uint32_t ci = head; ci != CQ_NIL;) {
		cq_chunk *c = &q->pool[ci];
		memcpy(out + k, c->e, c->n * sizeof *out);
		k += c->n;
		uint32_t nx = c->next;
		chunk_free(q, ci);
		ci = nx;
	}
	return k;
}

/* ---- sorting a day: insertion sort, or merge sort with scratch ---- */

static void insertion_sort(evs_entry *a, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		if (!before(&a[i], &a[i - 1]))
			continue;
		evs_entry x = a[i];
		size_t j = i;
		do {
			a[j] = a[j - 1];
			j--;
		} while (j > 0 && before(&x, &a[j - 1]));
		a[j] = x;
	}
}

static void merge_runs(const evs_entry *src, evs_entry *dst, size_t lo, size_t mid, size_t hi)
{
	size_t i = lo, j = mid, k = lo;
	if (mid == hi || !before(&src[mid], &src[mid - 1])) {
		memcpy(dst + lo, src + lo, (hi - lo) * sizeof *src);
		return;
	}
	while (i < mid && j < hi)
		dst[k++] = before(&src[j], &src[i]) ? src[j++] : src[i++];
	while (i < mid)
		dst[k++] = src[i++];
	while (j < hi)
		dst[k++] = src[j++];
}

/* Sorts a[0..n) using tmp[0..n) as scratch; O(n log n), linear on
 * presorted runs. */
static void sort_day(evs_entry *a, evs_entry *tmp, size_t n)
{
	if (n <= CQ_INSERTION_MAX) {
		insertion_sort(a, n);
		return;
	}
	for (size_t lo = 0; lo < n; lo += CQ_INSERTION_MAX)
		insertion_sort(a + lo, n - lo < CQ_INSERTION_MAX ? n - lo : CQ_INSERTION_MAX);
	evs_entry *src = a, *dst = tmp;
	for (size_t w = CQ_INSERTION_MAX; w < n; w *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * w) {
			size_t mid = lo + w < n ? lo + w : n;
			size_t hi = lo + 2 * w < n ? lo + 2 * w : n;
			merge_runs(src, dst, lo, mid, hi);
		}
		evs_entry *t = src;
		src = dst;
		dst = t;
	}
	if (src != a)
		memcpy(a, src, n * sizeof *a);
}

/* ---- the bottom and the scan ---- */

/* ---- the side heap: bottom inserts that would shift many entries ---- */

static void side_push(cq *q, const evs_entry *e)
{
	evs_entry *h = q->side;
	size_t i = q->side_n++;
	uint64_t steps = 0;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!before(e, &h[p]))
			break;
		h[i] = h[p];
		i = p;
		steps++;
	}
	h[i] = *e;
	q->cost += steps;
}

static void side_pop(cq *q, evs_entry *out)
{
	evs_entry *h = q->side;
	*out = h[0];
	size_t n = --q->side_n, i = 0;
	if (n == 0)
		return;
	evs_entry x = h[n];
	uint64_t steps = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && before(&h[c + 1], &h[c]))
			c++;
		if (!before(&h[c], &x))
			break;
		h[i] = h[c];
		i = c;
		steps++;
	}
	h[i] = x;
	q->cost += steps;
}

/* Inserts e (time < top) into the bottom: into the sorted array when that
 * shifts at most CQ_SHIFT_MAX entries, else into the side heap (a day of
 * thousands of entries, as `camel` makes when the width is coarse, would
 * otherwise cost a memmove of kilobytes per insert). */
static int bot_insert(cq *q, const evs_entry *e)
{
	evs_entry *a = q->bot;
	size_t lo = q->bh, hi = q->bt;
	/* first position whose entry is after e */
	if (lo == hi || !before(e, &a[hi - 1])) {
		lo = hi;
	} else {
		while (lo < hi) {
			size_t m = lo + (hi - lo) / 2;
			if (before(e, &a[m]))
				hi = m;
			else
				lo = m + 1;
		}
	}
	size_t p = lo;
	if (q->bt == q->botcap) {
		/* Move the bottom back to the start of the array: bt - bh <=
		 * count <= botcap / 2, so this happens once per botcap / 2
		 * inserts at most, O(1) amortised. */
		size_t m = q->bt - q->bh;
		memmove(a, a + q->bh, m * sizeof *a);
		p -= q->bh;
		q->bh = 0;
		q->bt = m;
		q->cost += m;
	}
	size_t front = p - q->bh, back = q->bt - p;
	size_t shift = q->bh > 0 && front < back ? front : back;
	if (shift > CQ_SHIFT_MAX) {
		if (q->side_n == q->side_cap) {
			size_t cap = q->side_cap ? 2 * q->side_cap : 64;
			if (cap > SIZE_MAX / sizeof *q->side)
				return SIM_ENOMEM;
			evs_entry *h = sim_realloc(q->alloc, q->side, q->side_cap * sizeof *h,
						   cap * sizeof *h);
			if (!h)
				return SIM_ENOMEM;
			q->side = h;
			q->side_cap = cap;
		}
		side_push(q, e);
		return 0;
	}
	if (q->bh > 0 && front < back) {
		memmove(a + q->bh - 1, a + q->bh, front * sizeof *a);
		q->bh--;
		a[p - 1] = *e;
		q->cost += front;
		return 0;
	}
	memmove(a + p + 1, a + p, back * sizeof *a);
	a[p] = *e;
	q->bt++;
	q->cost += back;
	return 0;
}

/* Copies a chunk's n >= 1 entries to out sorted by insertion as they
 * are copied (a day of one entry is a copy); returns n.  Inline: it is
 * part of the pop's frameless path. */
static inline __attribute__((always_inline)) size_t copy_sorted(evs_entry *out, const evs_entry *in,
								uint32_t n)
{
	out[0] = in[0];
	for (uint32_t i = 1; i < n; i++) {
		evs_entry x = in[i];
		size_t p = i;
		while (p > 0 && before(&x, &out[p - 1])) {
			out[p] = out[p - 1];
			p--;
		}
		out[p] = x;
	}
	return n;
}

/* The first non-empty day bucket from top's day on, with the bottom
 * empty and count > nfar (so there is one): its index, its day in *dayp
 * and the bitmap words passed in *costp.  Inline in the pop's frameless
 * path and in advance. */
static inline __attribute__((always_inline)) uint64_t next_day(const cq *q, uint64_t *dayp,
								uint64_t *costp)
{
	const uint64_t mask = q->mask;
	uint64_t day = q->top >> q->shift;
	uint64_t i = day & mask;
	size_t w = i >> 6;
	uint64_t bits = q->bits[w] & (~0ULL << (i & 63));
	uint64_t cost = 0;
	if (bits == 0) {
		/* ends: some day bucket is non-empty (a wrap re-reads word w
		 * whole) */
		const size_t wmask = nwords(q->nb) - 1;
		do {
			w = (w + 1) & wmask;
			bits = q->bits[w];
			cost++;
		} while (bits == 0);
	}
	uint64_t j = ((uint64_t)w << 6) | (uint64_t)__builtin_ctzll(bits);
	*dayp = day + ((j - i) & mask);
	*costp = cost;
	return j;
}

/* Day bucket j, of day `day`, has been emptied: its head and bit
 * cleared, top at the day's end (day < horizon's day, so top stays <=
 * horizon <= 2^63 + 2^62). */
static inline void day_taken(cq *q, uint64_t j, uint64_t day)
{
	q->head[j] = CQ_NIL;
	q->bits[j >> 6] &= ~(1ULL << (j & 63));
	q->top = (day + 1) << q->shift;
}

/* Moves day bucket j, whose entries all lie in day `day` (the day
 * buckets never hold more than a year), into the empty bottom, sorted. */
static void take_day(cq *q, size_t j, uint64_t day)
{
	cq_chunk *pool = q->pool;
	evs_entry *out = q->bot;
	uint32_t ci = q->head[j];
	cq_chunk *c = &pool[ci];
	size_t k;
	if (c->next == CQ_NIL) {
		/* One chunk (the usual case up to CQ_MAX_BUCKETS): sorted by
		 * insertion as it is copied; a day of one entry is a copy. */
		k = copy_sorted(out, c->e, c->n);
		chunk_free(q, ci);
	} else {
		k = bucket_drain(q, ci, out);
		/* botcap >= 2 count >= 2 k: the upper half is scratch */
		sort_day(out, out + k, k);
		if (k > 8 * q->day_target + 16)
			q->cost += k * (uint64_t)(64 - __builtin_clzll(k));
	}
	q->cost += k;
	day_taken(q, j, day);
	q->bh = 0;
	q->bt = k;
}

/* Moves the far bucket j's entries below the horizon (just raised) into
 * the day buckets; entries of later passes of the wheel stay.  The bottom
 * is empty, so its array stages them (botcap >= 2 count). */
static void cascade_bucket(cq *q, size_t j)
{
	cq_bucket *b = &q->far[j];
	evs_entry *stage = q->bot;
	size_t k = bucket_drain(q, b->head, stage);
	b->n = 0;
	q->farbits[j >> 6] &= ~(1ULL << (j & 63));
	q->nfar -= k;
	size_t kept = q->nfar;
	for (size_t x = 0; x < k; x++)
		bucket_put(q, &stage[x]);
	/* An entry put back is a rescan the far wheel exists to avoid (the
	 * wheel is too short for the queue's span): weighted so that the
	 * cost check retunes, and the plan widens the days. */
	kept = q->nfar - kept;
	q->cascades++;
	q->cost += 1 + k + CQ_REFOLD_COST * kept;
}

/* The day buckets and the bottom are empty: every entry is in the far
 * wheel, at or beyond the horizon.  Moves top and the horizon to the far
 * bucket of the least entry, whose entries then go into the day buckets
 * (Brown's direct search when the next CQ_FAR far buckets hold only
 * later passes). */
static void jump(cq *q)
{
	const unsigned ysh = q->yshift;
	uint64_t cost = 0;
	uint64_t yr = q->horizon >> ysh; /* the first far bucket's span */
	size_t i = (size_t)(yr & (CQ_FAR - 1));
	size_t w = i >> 6;
	uint64_t bits = q->farbits[w] & (~0ULL << (i & 63));
	/* ends: nfar = count > 0 (a wrap re-reads word w whole) */
	while (bits == 0) {
		w = (w + 1) & (CQ_FARW - 1);
		bits = q->farbits[w];
		cost++;
	}
	size_t j = (w << 6) | (size_t)__builtin_ctzll(bits);
	uint64_t y = yr + ((j - i) & (CQ_FAR - 1));
	if ((q->far[j].min >> ysh) != y) {
		uint64_t m = UINT64_MAX;
		for (size_t x = 0; x < CQ_FARW; x++) {
			for (uint64_t bb = q->farbits[x]; bb; bb &= bb - 1) {
				size_t jj = (x << 6) | (size_t)__builtin_ctzll(bb);
				if (q->far[jj].min < m) {
					m = q->far[jj].min;
					j = jj;
				}
				cost++;
			}
		}
		y = m >> ysh;
	}
	/* every queued entry is >= horizon <= y << ysh: top only moves on;
	 * (y + 1) << ysh <= 2^63 as y << ysh is a time */
	q->top = y << ysh;
	set_horizon(q, (y + 1) << ysh);
	q->cost += cost;
	cascade_bucket(q, j);
}

/* Raises the horizon to its bound, a far bucket at a time, cascading each
 * (each far entry is moved once: Brown's folding instead rescanned it at
 * every pass of its bucket). */
static void extend(cq *q)
{
	uint64_t bound = horizon_bound(q);
	if (q->nfar == 0) {
		set_horizon(q, bound);
		return;
	}
	const unsigned ysh = q->yshift;
	while (q->horizon < bound) {
		size_t j = (size_t)((q->horizon >> ysh) & (CQ_FAR - 1));
		set_horizon(q, q->horizon + (1ULL << ysh));
		if (q->far[j].n)
			cascade_bucket(q, j);
	}
}

static bool advance(cq *q)
{
	if (q->count == 0)
		return false;
	/* The bottom is empty: count - nfar entries are in the day buckets,
	 * in [top, horizon), each day in its own bucket. */
	if (q->count == q->nfar)
		jump(q);
	if (q->top >= q->ext_at)
		extend(q);
	uint64_t day, cost;
	uint64_t j = next_day(q, &day, &cost);
	q->cost += cost;
	take_day(q, j, day);
	return true;
}

/* The day change as it comes at every few pops: the bottom and the side
 * heap empty, the next non-empty day bucket one chunk, the horizon not
 * due to move.  Its entries are taken and the first popped in one go; a
 * day of one entry (the usual case when days hold one or two) never
 * touches the bottom array.  Anything else goes to pop_general, as a tail
 * call, so this path keeps few registers live and needs no frame. */
bool cq_pop_slow(cq *q, evs_entry *out)
{
	if (__builtin_expect(q->side_n != 0 || q->count == q->nfar, 0))
		return pop_general(q, out);
	if (__builtin_expect(q->top >= q->ext_at, 0)) {
		/* every eighth of a year; with the far wheel empty the horizon
		 * only moves (extend) */
		if (q->nfar != 0)
			return pop_general(q, out);
		set_horizon(q, horizon_bound(q));
	}
	/* bh == bt; count > nfar: some day bucket is non-empty */
	uint64_t day, cost;
	uint64_t j = next_day(q, &day, &cost);
	uint32_t ci = q->head[j];
	cq_chunk *c = &q->pool[ci];
	if (__builtin_expect(c->next != CQ_NIL, 0))
		return pop_general(q, out);
	uint32_t n = c->n;
	q->cost += cost + n;
	day_taken(q, j, day);
	chunk_free(q, ci);
	if (n == 1) {
		*out = c->e[0];
	} else {
		/* sorted by insertion as the entries are copied */
		evs_entry *a = q->bot;
		copy_sorted(a, c->e, n);
		*out = a[0];
		q->bh = 1;
		q->bt = n;
	}
	q->count--;
	if (__builtin_expect(--q->budget == 0, 0))
		return cq_pop_maintain(q);
	return true;
}

/* ---- maintenance: resize and retune ---- */

/* The non-empty buckets, day buckets then far wheel, as bitmap words
 * 0 .. nwords(nb) + CQ_FARW - 1 (the last CQ_FARW are the far wheel's). */
static uint64_t word_at(const cq *q, size_t w)
{
	return w < nwords(q->nb) ? q->bits[w] : q->farbits[w - nwords(q->nb)];
}

/* The newest chunk of the bucket of bit `bit` of word w (as word_at). */
static uint32_t head_at(const cq *q, size_t w, size_t bit)
{
	return w < nwords(q->nb) ? q->head[(w << 6) | bit]
				 : q->far[((w - nwords(q->nb)) << 6) | bit].head;
}

static unsigned shift_for(uint64_t width)
{
	unsigned s = 0;
	while (s < CQ_MAX_SHIFT && (1ULL << s) < width)
		s++;
	return s;
}

static void sample_push(uint64_t *h, unsigned *n, uint64_t t)
{
	/* h is a max-heap of the CQ_SAMPLE smallest times seen so far. */
	unsigned i;
	if (*n < CQ_SAMPLE) {
		i = (*n)++;
		while (i > 0 && h[(i - 1) / 2] < t) {
			h[i] = h[(i - 1) / 2];
			i = (i - 1) / 2;
		}
		h[i] = t;
		return;
	}
	if (t >= h[0])
		return;
	i = 0;
	for (;;) {
		unsigned c = 2 * i + 1;
		if (c >= CQ_SAMPLE)
			break;
		if (c + 1 < CQ_SAMPLE && h[c + 1] > h[c])
			c++;
		if (h[c] <= t)
			break;
		h[i] = h[c];
		i = c;
	}
	h[i] = t;
}

/* Width for day_target entries a day, from the spacing of the CQ_SAMPLE
 * smallest times; keeps the current width when there are too few entries
 * to tell. */
static unsigned estimate_shift(const cq *q, uint64_t day_target)
{
	uint64_t h[CQ_SAMPLE];
	unsigned n = 0;
	uint64_t lo = UINT64_MAX;
	for (size_t i = q->bh; i < q->bt; i++) {
		uint64_t t = (uint64_t)q->bot[i].time;
		if (n == CQ_SAMPLE && t >= h[0])
			break; /* the bottom is sorted */
		sample_push(h, &n, t);
		if (t < lo)
			lo = t;
	}
	for (size_t w = 0; w < nwords(q->nb) + CQ_FARW; w++) {
		uint64_t bits = word_at(q, w);
		while (bits) {
			size_t bit = (size_t)__builtin_ctzll(bits);
			bits &= bits - 1;
			/* a far bucket keeps its least time (a day bucket not) */
			if (n == CQ_SAMPLE && w >= nwords(q->nb) &&
			    q->far[((w - nwords(q->nb)) << 6) | bit].min >= h[0])
				continue;
			for (uint32_t c = head_at(q, w, bit); c != CQ_NIL; c = q->pool[c].next) {
				const cq_chunk *ch = &q->pool[c];
				for (uint32_t i = 0; i < ch->n; i++) {
					uint64_t t = (uint64_t)ch->e[i].time;
					sample_push(h, &n, t);
					if (t < lo)
						lo = t;
				}
			}
		}
	}
	if (n < 2)
		return q->shift;
	uint64_t sep = (h[0] - lo) / (n - 1);
	uint64_t f = CQ_WIDTH_FACTOR * day_target;
	uint64_t width = sep > UINT64_MAX / f ? UINT64_MAX : sep * f;
	return shift_for(width);
}

/* Re-bucket every bucket entry (day buckets and far wheel) for nb buckets
 * of width 2^shift.  The bottom and top stay as they are: the invariant
 * "bottom = entries < top" does not depend on the width; the horizon is
 * the end of top's year at the new width.  The bucket entries are staged
 * in the bottom array's spare half.  If the pool cannot be made big
 * enough nothing changes; if only the new block cannot be allocated the
 * old nb is kept.  O(count + old nb + new nb). */
static void rebuild(cq *q, size_t nb, unsigned shift)
{
	size_t m = q->bt - q->bh;
	if (pool_grow(q, pool_need(q->room, nb)) != 0)
		return;
	if (q->bh > 0) {
		memmove(q->bot, q->bot + q->bh, m * sizeof *q->bot);
		q->bh = 0;
		q->bt = m;
	}
	evs_entry *stage = q->bot + m; /* botcap - m >= 2 count - m >= the rest */
	size_t k = 0;
	for (size_t w = 0; w < nwords(q->nb) + CQ_FARW; w++) {
		uint64_t bits = word_at(q, w);
		while (bits) {
			size_t bit = (size_t)__builtin_ctzll(bits);
			bits &= bits - 1;
			k += bucket_drain(q, head_at(q, w, bit), stage + k);
			if (w < nwords(q->nb))
				q->head[(w << 6) | bit] = CQ_NIL;
			else
				q->far[((w - nwords(q->nb)) << 6) | bit].n = 0;
		}
		if (w < nwords(q->nb))
			q->bits[w] = 0;
	}
	memset(q->farbits, 0, sizeof q->farbits);
	q->nfar = 0;
	if (nb != q->nb) {
#ifdef EVS_STRESS
		/* resize every operation without an allocation every time */
		if (nb <= q->nbcap && 4 * nb >= q->nbcap) {
			set_block(q, q->head, q->nbcap, nb);
			q->resizes++;
		} else {
			uint32_t *b = block_new(q->alloc, 2 * nb);
			if (b) {
				sim_free(q->alloc, q->head, block_size(q->nbcap));
				set_block(q, b, 2 * nb, nb);
				q->resizes++;
			}
		}
#else
		uint32_t *b = block_new(q->alloc, nb);
		if (b) {
			sim_free(q->alloc, q->head, block_size(q->nbcap));
			set_block(q, b, nb, nb);
			q->resizes++;
		}
#endif
	}
	q->shift = shift;
	set_year(q);
	for (size_t x = 0; x < k; x++)
		bucket_put(q, &stage[x]);
}

static uint64_t day_target_for(size_t count, size_t nb)
{
	uint64_t dt = count / nb;
	return dt ? dt : 1;
}

/* The time below which CQ_SPAN_PERMILLE of the queued entries lie, from
 * an evenly strided sample of at most CQ_SPAN_SAMPLE of them (every
 * stride-th entry of the bottom, then of the buckets in bucket order;
 * deterministic).  O(count / CQ_CHUNK + nb). */
static uint64_t span_quantile(const cq *q, uint64_t *full)
{
	*full = 0;
	uint64_t s[CQ_SPAN_SAMPLE];
	size_t n = 0, stride = q->count / CQ_SPAN_SAMPLE + 1, skip = 0;
	for (size_t i = q->bh; i < q->bt && n < CQ_SPAN_SAMPLE; i += stride)
		s[n++] = (uint64_t)q->bot[i].time;
	for (size_t w = 0; w < nwords(q->nb) + CQ_FARW && n < CQ_SPAN_SAMPLE; w++) {
		uint64_t bits = word_at(q, w);
		while (bits && n < CQ_SPAN_SAMPLE) {
			uint32_t head = head_at(q, w, (size_t)__builtin_ctzll(bits));
			bits &= bits - 1;
			for (uint32_t c = head; c != CQ_NIL && n < CQ_SPAN_SAMPLE;
			     c = q->pool[c].next) {
				const cq_chunk *ch = &q->pool[c];
				if (skip >= ch->n) {
					skip -= ch->n;
					continue;
				}
				for (uint32_t i = (uint32_t)skip; i < ch->n && n < CQ_SPAN_SAMPLE;
				     i += (uint32_t)stride)
					s[n++] = (uint64_t)ch->e[i].time;
				/* entries of this chunk after the last one taken */
				size_t last = skip + (ch->n - 1 - skip) / stride * stride;
				skip = stride - 1 - (ch->n - 1 - last);
			}
		}
	}
	if (n < 2)
		return 0;
	for (size_t i = 1; i < n; i++) {
		uint64_t x = s[i];
		size_t j = i;
		while (j > 0 && s[j - 1] > x) {
			s[j] = s[j - 1];
			j--;
		}
		s[j] = x;
	}
	*full = s[n - 1] - s[0];
	return s[(n - 1) * CQ_SPAN_PERMILLE / 1000] - s[0];
}

/* Bucket count and width for the current contents: the width from the
 * front's spacing (estimate_shift), the count from the number of entries,
 * raised (up to CQ_SPREAD times, and CQ_MAX_BUCKETS) until a year covers
 * most of the queue's span.  A year shorter than the span folds later
 * entries onto the buckets being scanned, and every day change then walks
 * past not-due buckets: when the times come in clusters far apart (camel)
 * the front's spacing is that inside a cluster, and a year of nb such days
 * covered a small part of the 2 ms span. */
/* Whether nb days of 2^sh ns leave span uncovered.  The day buckets
 * reach at least the horizon's bound less a far bucket past top's day:
 * a year less 2^-CQ_FAR_SPLIT of it, less a day.  Against the whole year,
 * camel at 10^3 got the 1 ms year its next spike needs, and the horizon,
 * 7/8 to 1 year ahead, cut through that spike: 57 % of the inserts went
 * to the far wheel and were cascaded. */
static bool short_of(size_t nb, unsigned sh, uint64_t span)
{
	uint64_t year = (uint64_t)nb << sh;
	if (year >> sh != nb)
		return false; /* a year beyond 2^64 ns covers any span */
	return year - (year >> CQ_FAR_SPLIT) - (1ULL << sh) < span;
}

static void plan(const cq *q, size_t *nbp, unsigned *shp)
{
	size_t nb = nb_for(q->count);
	unsigned sh = estimate_shift(q, day_target_for(q->count, nb));
	size_t cap = nb * CQ_SPREAD < CQ_MAX_BUCKETS ? nb * CQ_SPREAD : CQ_MAX_BUCKETS;
	uint64_t full, span = span_quantile(q, &full);
	if (cap > nb) {
		while (nb < cap && short_of(nb, sh, span))
			nb *= 2;
		/* Still short: the front is much denser than the rest (a
		 * spike); wider days, rather than a year that folds.  Not once
		 * the count fills CQ_MAX_BUCKETS: there days hold many entries
		 * by design and a width from the span would crowd the
		 * clusters' days. */
		while (sh < CQ_MAX_SHIFT && short_of(nb, sh, span))
			sh++;
	}
	/* The far wheel (CQ_FAR years) must cover the whole sample, or its
	 * entries are rescanned at every pass of their far bucket (change at
	 * 10^6: a front of 256 ns days from the pre-fill, a year of 4 ms and
	 * entries 90 s ahead).  A factor CQ_FAR milder than the bound above,
	 * so it binds only where part of the queue lies many years out. */
	unsigned lg = (unsigned)__builtin_ctzll(nb) + (unsigned)__builtin_ctzll(CQ_FAR) - CQ_FAR_SPLIT;
	while (sh + lg < 63 && (1ULL << (sh + lg)) < full)
		sh++;
	*nbp = nb;
	*shp = sh;
}

static void maintain(cq *q)
{
#ifdef EVS_STRESS
	/* Resize and retune on every operation, alternating sizes and widths. */
	(void)plan;
	q->stress++;
	size_t nb = nb_for(q->count);
	if ((q->stress & 1) && nb < CQ_MAX_BUCKETS)
		nb *= 2;
	unsigned sh = estimate_shift(q, day_target_for(q->count, nb));
	if ((q->stress & 2) && sh < CQ_MAX_SHIFT)
		sh++;
	else if ((q->stress & 4) && sh > 0)
		sh--;
	if (sh != q->shift)
		q->retunes++;
	rebuild(q, nb, sh);
	set_limits(q);
	return;
#else
	if (q->count > q->grow_at || q->count < q->shrink_at) {
		size_t nb;
		unsigned sh;
		plan(q, &nb, &sh);
		rebuild(q, nb, sh);
		set_limits(q);
		q->replan = 1;
		return;
	}
	q->elapsed += q->period;
	/* Hot: the window so far has cost more than CQ_COST_MAX units an
	 * operation, and more than count + nb units in all, which is what a
	 * retune costs, so retuning at most doubles the work that provoked it.
	 * Checked every CQ_CHECK operations, so a sudden change of the spacing
	 * is caught after about (count + nb) / cost-rate operations, not a
	 * whole window.  The first full window after the start or a resize
	 * always re-plans: the initial width is a guess, and a resize's plan
	 * sees the queue while it grows (the hold model's pre-fill puts a
	 * quarter of camel's 10^6 times within 1 us of 0: days of 1 ns,
	 * which no later cost check found hot while the queue, spread over
	 * 2 ms, ran at half a due entry a day). */
	int end = q->elapsed >= q->window;
	int hot = (q->cost > (uint64_t)CQ_COST_MAX * q->elapsed &&
		   q->cost > (uint64_t)q->count + q->nb) ||
		  (end && q->replan);
	if (end)
		q->replan = 0;
	if (!hot && !end) {
		uint64_t left = q->window - q->elapsed;
		q->period = left < CQ_CHECK ? left : CQ_CHECK;
		q->budget = q->period;
		return;
	}
	if (hot) {
		size_t nb;
		unsigned sh;
		plan(q, &nb, &sh);
		if (sh != q->shift || nb != q->nb) {
			rebuild(q, nb, sh);
			q->retunes++;
		}
	}
	set_limits(q);
#endif
}

/* ---- the invariant checker ---- */

/* The bottom: bot[bh..bt) sorted, the side heap a heap, all below top. */
static bool bottom_ok(const cq *q)
{
	if (q->bh > q->bt || q->bt > q->botcap || q->side_n > q->side_cap)
		return false;
	for (size_t i = q->bh; i < q->bt; i++)
		if ((uint64_t)q->bot[i].time >= q->top ||
		    (i > q->bh && !before(&q->bot[i - 1], &q->bot[i])))
			return false;
	for (size_t i = 0; i < q->side_n; i++)
		if ((uint64_t)q->side[i].time >= q->top ||
		    (i > 0 && before(&q->side[i], &q->side[(i - 1) / 2])))
			return false;
	return true;
}

/* Bucket j's chunk chain from head (not empty; the newest chunk may be
 * partial, the others are full): every entry in bucket j of the day
 * buckets, or of the far wheel; their count and least time into *n and
 * *min.  Adds its chunks to *chunks. */
static bool bucket_ok(const cq *q, uint32_t head, size_t j, bool far, size_t *chunks,
		      uint64_t *np, uint64_t *minp)
{
	uint64_t n = 0, min = UINT64_MAX;
	if (head == CQ_NIL)
		return false;
	for (uint32_t c = head; c != CQ_NIL; c = q->pool[c].next) {
		if (c >= q->npool || ++*chunks > q->npool)
			return false;
		const cq_chunk *ch = &q->pool[c];
		if (ch->n == 0 || ch->n > CQ_CHUNK || (c != head && ch->n != CQ_CHUNK))
			return false;
		for (uint32_t i = 0; i < ch->n; i++) {
			uint64_t t = (uint64_t)ch->e[i].time;
			if (far ? t < q->horizon || ((t >> q->yshift) & (CQ_FAR - 1)) != j
				: t < q->top || t >= q->horizon || ((t >> q->shift) & q->mask) != j)
				return false;
			if (t < min)
				min = t;
		}
		n += ch->n;
	}
	*np = n;
	*minp = min;
	return true;
}

bool cq_check(const cq *q)
{
	if (q->nb < CQ_MIN_BUCKETS || q->nb > q->nbcap || (q->nb & (q->nb - 1)) ||
	    q->mask != q->nb - 1 || q->bits != (const uint64_t *)(q->head + q->nbcap))
		return false;
	if (!bottom_ok(q) || (q->botcap && (q->room > q->botcap / 2 - 1 || 2 * q->count > q->botcap)))
		return false;
	/* The horizon: the end of top's year, or none (a year of 2^63 ns or
	 * more); top may have reached it (the day buckets are then empty). */
	if (q->shift + (unsigned)__builtin_ctzll(q->nb) >= 63) {
		if (q->horizon != UINT64_MAX || q->ext_at != UINT64_MAX || q->yshift != 63 ||
		    q->nfar)
			return false;
	} else {
		unsigned ysh = q->shift + (unsigned)__builtin_ctzll(q->nb) - CQ_FAR_SPLIT;
		if (q->yshift != ysh || (q->horizon & ((1ULL << ysh) - 1)) ||
		    q->horizon < q->top || q->horizon > horizon_bound(q) ||
		    q->ext_at != ext_at_for(q->horizon, ysh))
			return false;
		/* what the pop's shortcut relies on: extend has work exactly
		 * from ext_at on */
		if ((q->top >= q->ext_at) != (horizon_bound(q) > q->horizon))
			return false;
	}
	if (q->room && q->npool < pool_need(q->room, q->nb))
		return false;
	size_t n = q->bt - q->bh + q->side_n, chunks = 0, nfar = 0;
	/* A day bucket is non-empty iff its head is set iff its bit is;
	 * buckets beyond nb are kept empty. */
	for (size_t j = 0; j < q->nbcap; j++) {
		bool bit = (q->bits[j >> 6] >> (j & 63)) & 1;
		if (bit != (q->head[j] != CQ_NIL) || (bit && j >= q->nb))
			return false;
		uint64_t bn, bmin;
		if (bit && !bucket_ok(q, q->head[j], j, false, &chunks, &bn, &bmin))
			return false;
		if (bit)
			n += bn;
	}
	/* A far bucket also keeps its count and least time. */
	for (size_t j = 0; j < CQ_FAR; j++) {
		if (((q->farbits[j >> 6] >> (j & 63)) & 1) != (q->far[j].n != 0))
			return false;
		uint64_t bn, bmin;
		if (q->far[j].n && (!bucket_ok(q, q->far[j].head, j, true, &chunks, &bn, &bmin) ||
				    bn != q->far[j].n || bmin != q->far[j].min))
			return false;
		nfar += q->far[j].n;
	}
	n += nfar;
	if (n != q->count || nfar != q->nfar || q->budget == 0 || q->budget > q->period)
		return false;
#ifdef EVS_STRESS
	/* Checked after every operation here, and the free list is a pointer
	 * chase over the whole pool (2-3 x count chunks after a reserve), which
	 * tripled the stress tests' time: it is walked at every 64th check
	 * (check_ops has been counted before the check runs). */
	if (q->check_ops % 64 != 1)
		return chunks <= q->npool;
#endif
	/* every chunk is in one bucket or on the free list */
	for (uint32_t c = q->free; c != CQ_NIL; c = q->pool[c].next)
		if (c >= q->npool || ++chunks > q->npool)
			return false;
	return chunks == q->npool;
}
