/* cq.c - the calendar queue; see cq.h for the structure and invariants and
 * docs/DESIGN.md for why it departs from Brown (1988). */
#include "cq.h"

#include <string.h>

#define CQ_MIN_BUCKETS 64
#define CQ_MAX_SHIFT 62
/* Width = CQ_WIDTH_FACTOR x the mean spacing of the CQ_SAMPLE smallest
 * times, rounded up to a power of two (Brown uses 3x the spacing of ~25
 * front events). */
#define CQ_SAMPLE 32
#define CQ_WIDTH_FACTOR 2
/* Retune when a window costs more than this many work units per operation;
 * a well-tuned queue spends about 1-2 (each node is scanned once when its
 * day comes, plus a bucket visit per day). */
#define CQ_COST_MAX 6
#define CQ_MIN_WINDOW 4096

static inline int before(const evs_node *a, const evs_node *b)
{
	return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

static size_t nwords(size_t nb)
{
	return nb / 64;
}

static size_t block_size(size_t nb)
{
	return nb * sizeof(cq_bucket) + nwords(nb) * sizeof(uint64_t);
}

/* Least power of two >= max(count, CQ_MIN_BUCKETS), or 0 on overflow. */
static size_t nb_for(size_t count)
{
	size_t nb = CQ_MIN_BUCKETS;
	while (nb < count) {
		if (nb > SIZE_MAX / 2 / sizeof(cq_bucket))
			return 0;
		nb *= 2;
	}
	return nb;
}

static cq_bucket *block_new(const sim_alloc *a, size_t nb)
{
	if (nb == 0 || nb > (SIZE_MAX / 2) / sizeof(cq_bucket))
		return NULL;
	cq_bucket *b = sim_malloc(a, block_size(nb));
	if (b)
		memset(b, 0, block_size(nb));
	return b;
}

static void set_block(cq *q, cq_bucket *b, size_t nb)
{
	q->b = b;
	q->bits = (uint64_t *)(b + nb);
	q->nb = nb;
	q->mask = nb - 1;
}

static void set_limits(cq *q)
{
#ifdef EVS_STRESS
	q->grow_at = 0;
	q->shrink_at = SIZE_MAX;
	q->window = 1;
#else
	q->grow_at = q->nb > SIZE_MAX / 2 ? SIZE_MAX : 2 * q->nb;
	q->shrink_at = q->nb > CQ_MIN_BUCKETS ? q->nb / 4 : 0;
	uint64_t w = (uint64_t)q->count + q->nb;
	q->window = w < CQ_MIN_WINDOW ? CQ_MIN_WINDOW : w;
#endif
	q->ops = 0;
	q->cost = 0;
}

int cq_init(cq *q, const sim_alloc *alloc)
{
	memset(q, 0, sizeof *q);
	q->alloc = alloc;
	cq_bucket *b = block_new(alloc, CQ_MIN_BUCKETS);
	if (!b)
		return SIM_ENOMEM;
	set_block(q, b, CQ_MIN_BUCKETS);
	q->shift = 20; /* ~1 ms; re-estimated at the first resize */
	set_limits(q);
	return 0;
}

void cq_free(cq *q)
{
	sim_free(q->alloc, q->b, block_size(q->nb));
	q->b = NULL;
	q->bits = NULL;
}

/* ---- sorting the bottom: natural merge sort on (time, seq) ---- */

typedef struct run {
	evs_node *h, *t;
} run;

static run merge(run a, run b)
{
	evs_node head, *t = &head;
	evs_node *x = a.h, *y = b.h;
	for (;;) {
		if (before(y, x)) {
			t->next = y;
			t = y;
			if ((y = y->next) == NULL) {
				t->next = x;
				return (run){ head.next, a.t };
			}
		} else {
			t->next = x;
			t = x;
			if ((x = x->next) == NULL) {
				t->next = y;
				return (run){ head.next, b.t };
			}
		}
	}
}

/* Cut the longest ascending or strictly descending (then reversed) run
 * from the front of *p.  Keys are distinct, so both kinds are stable. */
static run take_run(evs_node **p)
{
	evs_node *h = *p, *n = h->next;
	if (n == NULL || !before(n, h)) {
		evs_node *t = h;
		while (n && !before(n, t)) {
			t = n;
			n = n->next;
		}
		t->next = NULL;
		*p = n;
		return (run){ h, t };
	}
	evs_node *r = h; /* reversed so far, r is its head */
	h->next = NULL;
	evs_node *tail = h;
	while (n && before(n, r)) {
		evs_node *nx = n->next;
		n->next = r;
		r = n;
		n = nx;
	}
	*p = n;
	return (run){ r, tail };
}

static run sort_list(evs_node *p)
{
	run r = take_run(&p);
	if (p == NULL)
		return r;
	run pend[64];
	unsigned used = 0; /* levels 0..used-1 of pend; h == NULL when free */
	for (;;) {
		unsigned lvl = 0;
		while (lvl < used && pend[lvl].h) {
			r = merge(pend[lvl], r);
			pend[lvl].h = NULL;
			lvl++;
		}
		if (lvl == used)
			used++;
		pend[lvl] = r;
		if (p == NULL)
			break;
		r = take_run(&p);
	}
	r.h = NULL;
	for (unsigned lvl = 0; lvl < used; lvl++) {
		if (pend[lvl].h == NULL)
			continue;
		r = r.h ? merge(pend[lvl], r) : pend[lvl];
	}
	return r;
}

/* ---- the bottom and the scan ---- */

void cq_bot_insert(cq *q, evs_node *n)
{
	evs_node *b = q->bot;
	if (b == NULL) {
		n->next = NULL;
		q->bot = q->bot_tail = n;
		return;
	}
	if (!before(n, q->bot_tail)) {
		n->next = NULL;
		q->bot_tail->next = n;
		q->bot_tail = n;
		return;
	}
	if (before(n, b)) {
		n->next = b;
		q->bot = n;
		return;
	}
	/* b is before n, and n is before the tail: the walk stops in time. */
	uint64_t steps = 0;
	while (!before(n, b->next)) {
		b = b->next;
		steps++;
	}
	n->next = b->next;
	b->next = n;
	q->cost += steps;
}

/* Move the nodes of day `day` out of bucket j into the (empty) bottom.
 * Days are short (a few nodes) when the width is right, so the due nodes
 * are insertion-sorted as they are found, with O(1) paths for the head
 * and the tail (equal times come out newest first, so ties take the head
 * path).  Past CQ_INSERTION_STEPS steps the rest is merge-sorted. */
#define CQ_INSERTION_STEPS 64
static evs_node *take_day(cq *q, size_t j, uint64_t day)
{
	cq_bucket *b = &q->b[j];
	evs_node *p = b->head, *dh = NULL, *dt = NULL, *rest = NULL, *keep = NULL;
	uint64_t kmin = UINT64_MAX, scanned = 0, steps = 0, nrest = 0;
	unsigned sh = q->shift;
	while (p) {
		evs_node *nx = p->next;
		uint64_t t = (uint64_t)p->time;
		scanned++;
		if ((t >> sh) > day) {
			p->next = keep;
			keep = p;
			if (t < kmin)
				kmin = t;
		} else if (dh == NULL) {
			p->next = NULL;
			dh = dt = p;
		} else if (!before(p, dt)) {
			p->next = NULL;
			dt->next = p;
			dt = p;
		} else if (before(p, dh)) {
			p->next = dh;
			dh = p;
		} else if (steps < CQ_INSERTION_STEPS) {
			evs_node *x = dh;
			while (!before(p, x->next)) {
				x = x->next;
				steps++;
			}
			p->next = x->next;
			x->next = p;
		} else {
			p->next = rest;
			rest = p;
			nrest++;
		}
		p = nx;
	}
	b->head = keep;
	b->min = kmin;
	if (keep == NULL)
		q->bits[j >> 6] &= ~(1ULL << (j & 63));
	q->cost += scanned + steps;
	if (rest) {
		/* sorting k nodes costs about k log2 k */
		q->cost += nrest * (uint64_t)(64 - __builtin_clzll(nrest));
		run r = merge((run){ dh, dt }, sort_list(rest));
		dh = r.h;
		dt = r.t;
	}
	/* day is the day of a real node, so day + 1 <= 2^(63 - shift). */
	q->top = (day + 1) << sh;
	q->bot = dh;
	q->bot_tail = dt;
	return dh;
}

evs_node *cq_advance(cq *q)
{
	if (q->count == 0)
		return NULL;
	/* The bottom is empty: every node is in a bucket, at time >= top. */
	const unsigned sh = q->shift;
	const uint64_t mask = q->mask;
	const size_t wmask = nwords(q->nb) - 1;
	uint64_t day = q->top >> sh;
	uint64_t left = q->nb; /* days left before a whole year is scanned */
	uint64_t i = day & mask;
	uint64_t cost = 0;
	for (;;) {
		size_t w = i >> 6;
		uint64_t bits = q->bits[w] & (~0ULL << (i & 63));
		while (bits == 0) {
			w = (w + 1) & wmask;
			bits = q->bits[w];
			cost++;
		}
		uint64_t j = ((uint64_t)w << 6) | (uint64_t)__builtin_ctzll(bits);
		uint64_t d = (j - i) & mask;
		if (d >= left)
			break;
		day += d;
		left -= d;
		if ((q->b[j].min >> sh) <= day) {
			q->cost += cost;
			return take_day(q, j, day);
		}
		cost++;
		day++;
		if (--left == 0)
			break;
		i = (j + 1) & mask;
	}
	/* A whole year without a due node: Brown's direct search. */
	uint64_t m = UINT64_MAX;
	size_t jm = 0;
	for (size_t w = 0; w <= wmask; w++) {
		uint64_t bits = q->bits[w];
		cost++;
		while (bits) {
			size_t j = (w << 6) | (size_t)__builtin_ctzll(bits);
			bits &= bits - 1;
			if (q->b[j].min < m) {
				m = q->b[j].min;
				jm = j;
			}
			cost++;
		}
	}
	q->cost += cost;
	return take_day(q, jm, m >> sh);
}

/* ---- maintenance: resize and retune ---- */

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

/* Width from the spacing of the CQ_SAMPLE smallest times; keeps the
 * current width when there are too few nodes to tell. */
static unsigned estimate_shift(const cq *q)
{
	uint64_t h[CQ_SAMPLE];
	unsigned n = 0;
	uint64_t lo = UINT64_MAX;
	for (evs_node *p = q->bot; p; p = p->next) {
		uint64_t t = (uint64_t)p->time;
		if (n == CQ_SAMPLE && t >= h[0])
			break; /* the bottom is sorted */
		sample_push(h, &n, t);
		if (t < lo)
			lo = t;
	}
	for (size_t w = 0; w < nwords(q->nb); w++) {
		uint64_t bits = q->bits[w];
		while (bits) {
			size_t j = (w << 6) | (size_t)__builtin_ctzll(bits);
			bits &= bits - 1;
			for (evs_node *p = q->b[j].head; p; p = p->next) {
				uint64_t t = (uint64_t)p->time;
				sample_push(h, &n, t);
				if (t < lo)
					lo = t;
			}
		}
	}
	if (n < 2)
		return q->shift;
	uint64_t sep = (h[0] - lo) / (n - 1);
	uint64_t width = sep > UINT64_MAX / CQ_WIDTH_FACTOR ? UINT64_MAX : sep * CQ_WIDTH_FACTOR;
	return shift_for(width);
}

/* Re-bucket every bucket node for nb buckets of width 2^shift.  The bottom
 * and top stay as they are: the invariant "bottom = nodes < top" does not
 * depend on the width.  If the new block cannot be allocated the old size
 * is kept.  O(count + old nb + new nb). */
static void rebuild(cq *q, size_t nb, unsigned shift)
{
	evs_node *chain = NULL;
	for (size_t w = 0; w < nwords(q->nb); w++) {
		uint64_t bits = q->bits[w];
		q->bits[w] = 0;
		while (bits) {
			size_t j = (w << 6) | (size_t)__builtin_ctzll(bits);
			bits &= bits - 1;
			evs_node *p = q->b[j].head;
			q->b[j].head = NULL;
			while (p) {
				evs_node *nx = p->next;
				p->next = chain;
				chain = p;
				p = nx;
			}
		}
	}
	if (nb != q->nb) {
		cq_bucket *b = block_new(q->alloc, nb);
		if (b) {
			sim_free(q->alloc, q->b, block_size(q->nb));
			set_block(q, b, nb);
			q->resizes++;
		}
	}
	q->shift = shift;
	const uint64_t mask = q->mask;
	while (chain) {
		evs_node *n = chain;
		chain = n->next;
		uint64_t t = (uint64_t)n->time;
		uint64_t i = (t >> shift) & mask;
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
}

void cq_maintain(cq *q)
{
#ifdef EVS_STRESS
	/* Resize and retune on every operation, alternating sizes and widths. */
	q->stress++;
	size_t nb = nb_for(q->count);
	if (nb && (q->stress & 1) && nb <= SIZE_MAX / 4 / sizeof(cq_bucket))
		nb *= 2;
	unsigned sh = estimate_shift(q);
	if ((q->stress & 2) && sh < CQ_MAX_SHIFT)
		sh++;
	else if ((q->stress & 4) && sh > 0)
		sh--;
	if (sh != q->shift)
		q->retunes++;
	rebuild(q, nb ? nb : q->nb, sh);
	set_limits(q);
	return;
#else
	if (q->count > q->grow_at || q->count < q->shrink_at) {
		size_t nb = nb_for(q->count);
		size_t old = q->nb;
		rebuild(q, nb ? nb : q->nb, estimate_shift(q));
		set_limits(q);
		/* A failed resize is not fatal: retry when the count has
		 * doubled or halved again, so the cost stays amortised. */
		if (q->nb == old && q->count > q->grow_at)
			q->grow_at = q->count > SIZE_MAX / 2 ? SIZE_MAX : 2 * q->count;
		if (q->nb == old && q->count < q->shrink_at)
			q->shrink_at = q->count / 2;
		return;
	}
	/* The first full window always retunes: the initial width is a guess. */
	int hot = q->cost > (uint64_t)CQ_COST_MAX * q->ops || q->resizes + q->retunes == 0;
	if (hot) {
		unsigned sh = estimate_shift(q);
		if (sh != q->shift) {
			rebuild(q, q->nb, sh);
			q->retunes++;
		}
	}
	set_limits(q);
#endif
}
