/* test_evset.c - the event set (sim/kernel/evset.h), run for BOTH kinds.
 *
 * Expected orders come from a reference (qsort on (time, seq)) or from the
 * other implementation on the same trace, never from earlier runs.
 * THROTTLESIM_EXTENDED=1 adds sizes up to 10^6.  Built with -DEVS_STRESS
 * the calendar queue resizes on every operation, so sizes are kept small.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "evset.h"
#include "incr.h"

#ifdef EVS_STRESS
#define MAX_N_DEFAULT 400
#define MAX_N_EXTENDED 5000
#else
#define MAX_N_DEFAULT 100000
#define MAX_N_EXTENDED 1000000
#endif

static size_t max_n(void)
{
	const char *e = getenv("THROTTLESIM_EXTENDED");
	return e && strcmp(e, "1") == 0 ? MAX_N_EXTENDED : MAX_N_DEFAULT;
}

/* The test's own events: the set copies (time, seq) and hands back the
 * pointer as item; every pop checks the copy against the event. */
typedef struct tnode {
	int64_t time;
	uint64_t seq;
} tnode;

static int ins(evs *s, tnode *n)
{
	return evs_insert(s, n->time, n->seq, n);
}

static tnode *peek_node(evs *s)
{
	const evs_entry *p = evs_peek(s);
	if (p == NULL)
		return NULL;
	tnode *n = p->item;
	assert_true(p->time == n->time);
	assert_true(p->seq == n->seq);
	return n;
}

/* Pops and checks the entry against its event; on an empty set checks
 * that the output is left untouched. */
static tnode *pop_node(evs *s)
{
	evs_entry x, y;
	memset(&x, 0xa5, sizeof x);
	y = x;
	if (!evs_pop(s, &x)) {
		assert_memory_equal(&x, &y, sizeof x);
		return NULL;
	}
	tnode *n = x.item;
	assert_true(x.time == n->time);
	assert_true(x.seq == n->seq);
	return n;
}

static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int key_cmp(const void *pa, const void *pb)
{
	const tnode *a = *(tnode *const *)pa, *b = *(tnode *const *)pb;
	if (a->time != b->time)
		return a->time < b->time ? -1 : 1;
	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	return 0;
}

static int before(const tnode *a, const tnode *b)
{
	return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

static evs *new_set(void **state)
{
	evs_kind kind = (evs_kind)(intptr_t)*state;
	evs *s = evs_new(kind, &sim_alloc_std);
	assert_non_null(s);
	evs_stats st;
	evs_get_stats(s, &st);
	assert_true((st.buckets != 0) == (kind == EVS_CALENDAR)); /* the kind asked for */
	return s;
}

static int setup_calendar(void **state)
{
	*state = (void *)(intptr_t)EVS_CALENDAR;
	return 0;
}

static int setup_heap(void **state)
{
	*state = (void *)(intptr_t)EVS_HEAP;
	return 0;
}

/* ---- time generators for the reference tests ---- */

enum tgen { TG_WIDE, TG_TIES, TG_JUMPS, TG_HUGE, TG_HALF, TG_CLUSTER, TG_N };

static int64_t gen_time(int g, uint64_t *r, int64_t base)
{
	uint64_t x = rng_next(r);
	switch (g) {
	case TG_WIDE: return base + (int64_t)(x % 10000000);
	case TG_TIES: return base + (int64_t)(x % 4); /* heavy ties */
	case TG_JUMPS: /* mostly near, sometimes 10^9 .. 10^15 ns ahead */
		if (x % 8 == 0)
			return base + (int64_t)1000000000 * (int64_t)(1 + (x >> 8) % 1000000);
		return base + (int64_t)((x >> 8) % 1000);
	case TG_HUGE: /* anywhere in [0, INT64_MAX], including the ends */
		if (x % 16 == 0)
			return INT64_MAX - (int64_t)((x >> 8) % 3);
		if (x % 16 == 1)
			return (int64_t)((x >> 8) % 3);
		return (int64_t)(x >> 1);
	case TG_HALF: /* clustered near INT64_MAX / 2 */
		return INT64_MAX / 2 + (int64_t)((x >> 8) % 1000000) - 500000;
	case TG_CLUSTER: /* a few dense spikes */
		return base + (int64_t)((x >> 60) * 1000000) + (int64_t)((x >> 8) % 3);
	}
	return base;
}

/* Pops one node from s and the reference front, checking peek, pop, count. */
static void pop_check(evs *s, tnode **ref, size_t *lo, size_t hi)
{
	tnode *p = peek_node(s);
	tnode *q = pop_node(s);
	assert_ptr_equal(p, q);
	assert_ptr_equal(q, ref[*lo]);
	(*lo)++;
	assert_int_equal(evs_count(s), hi - *lo);
}

/* Phases of random inserts (times anywhere, also before everything already
 * popped) and pops, growing to n then shrinking to empty, against a sorted
 * reference re-sorted with qsort after every insert phase. */
static void run_phases(void **state, size_t n, int g, uint64_t seed)
{
	evs *s = new_set(state);
	tnode *nodes = calloc(n, sizeof *nodes);
	tnode **ref = calloc(n, sizeof *ref);
	assert_non_null(nodes);
	assert_non_null(ref);
	uint64_t r = seed;
	size_t lo = 0, hi = 0, used = 0;
	uint64_t seq = 0;
	int64_t base = 0;
	while (used < n || lo < hi) {
		/* insert a batch: bigger early on (growing), smaller later */
		size_t b = used < n ? 1 + (size_t)(rng_next(&r) % (n / 4 + 1)) : 0;
		if (b > n - used)
			b = n - used;
		for (size_t i = 0; i < b; i++) {
			tnode *e = &nodes[used++];
			e->time = gen_time(g, &r, base);
			e->seq = seq++;
			assert_int_equal(ins(s, e), 0);
			ref[hi++] = e;
		}
		if (b) {
			/* the unpopped part of ref re-sorted */
			qsort(ref + lo, hi - lo, sizeof *ref, key_cmp);
		}
		assert_int_equal(evs_count(s), hi - lo);
		size_t p = hi - lo;
		if (used < n)
			p = (size_t)(rng_next(&r) % (p + 1)) / 2;
		for (size_t i = 0; i < p; i++)
			pop_check(s, ref, &lo, hi);
		if (lo < hi && g != TG_HUGE && g != TG_HALF)
			base = ref[lo]->time - (int64_t)(rng_next(&r) % 3); /* sometimes in the past */
		if (base < 0)
			base = 0;
	}
	assert_null(peek_node(s));
	assert_null(pop_node(s));
	assert_int_equal(evs_count(s), 0);
	free(ref);
	free(nodes);
	evs_free(s);
}

static void test_empty(void **state)
{
	evs *s = new_set(state);
	assert_null(peek_node(s));
	assert_null(pop_node(s));
	assert_int_equal(evs_count(s), 0);
	tnode a = { 5, 0 };
	assert_int_equal(ins(s, &a), 0);
	assert_ptr_equal(peek_node(s), &a);
	assert_ptr_equal(pop_node(s), &a);
	assert_null(pop_node(s));
	evs_free(s);
}

static void test_reference_phases(void **state)
{
	size_t mx = max_n();
	static const size_t sizes[] = { 1, 2, 3, 10, 64, 65, 200, 1000, 5000, 30000, 100000, 1000000 };
	for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
		if (sizes[k] > mx)
			break;
		int seeds = sizes[k] <= 1000 ? 20 : sizes[k] <= 30000 ? 3 : 1;
#ifdef EVS_STRESS
		seeds = sizes[k] <= 64 ? 10 : 2;
#endif
		for (int g = 0; g < TG_N; g++)
			for (int sd = 0; sd < seeds; sd++)
				run_phases(state, sizes[k], g, 1000 * k + 100 * (uint64_t)g + (uint64_t)sd);
	}
}

/* Hold model: pre-fill n (times = increments), then `holds` holds.  Checks
 * peek == pop, that the popped (time, seq) never decreases (every insert is
 * at or after the clock and gets a larger seq, so that is the total order)
 * and that every node comes out exactly once when drained.  Returns the
 * FNV checksum of the popped stream. */
static uint64_t run_hold(evs_kind kind, size_t n, int dist, size_t holds, uint64_t seed,
			 int64_t scale, uint64_t *trace)
{
	enum { NINC = 16000 };
	int64_t *inc = malloc(NINC * sizeof *inc);
	tnode *nodes = calloc(n, sizeof *nodes);
	unsigned char *seen = calloc(n, 1);
	assert_non_null(inc);
	assert_non_null(nodes);
	assert_non_null(seen);
	incr_fill(dist, inc, NINC, seed);
	evs *s = evs_new(kind, &sim_alloc_std);
	assert_non_null(s);
	size_t k = 0;
	uint64_t seq = 0, h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < n; i++) {
		nodes[i].time = inc[k] * scale;
		nodes[i].seq = seq++;
		k = (k + 1) % NINC;
		assert_int_equal(ins(s, &nodes[i]), 0);
	}
	tnode last = { 0, 0 };
	for (size_t i = 0; i < holds; i++) {
		tnode *p = peek_node(s);
		tnode *e = pop_node(s);
		assert_ptr_equal(p, e);
		assert_false(before(e, &last));
		last = *e;
		h ^= (uint64_t)e->time;
		h *= 0x100000001b3ULL;
		h ^= e->seq;
		h *= 0x100000001b3ULL;
		if (trace)
			trace[i] = (uint64_t)(e - nodes);
		e->time += inc[k] * scale;
		e->seq = seq++;
		k = (k + 1) % NINC;
		assert_int_equal(ins(s, e), 0);
		assert_int_equal(evs_count(s), n);
	}
	for (size_t i = 0; i < n; i++) {
		tnode *e = pop_node(s);
		assert_non_null(e);
		assert_false(before(e, &last));
		last = *e;
		size_t id = (size_t)(e - nodes);
		assert_true(id < n);
		assert_false(seen[id]);
		seen[id] = 1;
	}
	assert_null(pop_node(s));
	evs_free(s);
	free(seen);
	free(nodes);
	free(inc);
	return h;
}

static void test_hold_every_dist(void **state)
{
	evs_kind kind = (evs_kind)(intptr_t)*state;
	size_t mx = max_n();
	for (int d = 0; d < INCR_NDIST; d++)
		for (size_t n = 1; n <= mx; n *= 10) {
			size_t holds = n < 20000 ? 20000 : 2 * n;
#ifdef EVS_STRESS
			holds = 3 * n + 100;
#endif
			run_hold(kind, n, d, holds, 7 + (uint64_t)d, 1, NULL);
		}
	/* jumps: increments scaled to 10^9 .. 10^12 ns per ms */
	for (int d = 0; d < INCR_NDIST; d++)
		run_hold(kind, 1000, d, 5000, 3, 1000000, NULL);
}

/* Calendar and heap on the same long hold sequences: identical traces and
 * checksums. */
static void test_calendar_vs_heap(void **state)
{
	(void)state;
	size_t mx = max_n();
	for (int d = 0; d < INCR_NDIST; d++)
		for (size_t n = 10; n <= mx && n <= 100000; n *= 100) {
			size_t holds = 50000 + 4 * n;
#ifdef EVS_STRESS
			holds = 2 * n + 1000;
#endif
			uint64_t *ta = malloc(holds * sizeof *ta), *tb = malloc(holds * sizeof *tb);
			assert_non_null(ta);
			assert_non_null(tb);
			uint64_t a = run_hold(EVS_CALENDAR, n, d, holds, 11 + (uint64_t)d, 1, ta);
			uint64_t b = run_hold(EVS_HEAP, n, d, holds, 11 + (uint64_t)d, 1, tb);
			assert_int_equal(a, b);
			assert_memory_equal(ta, tb, holds * sizeof *ta);
			free(ta);
			free(tb);
		}
}

static void test_fifo_equal_times(void **state)
{
	evs *s = new_set(state);
	tnode n[10];
	for (int i = 0; i < 10; i++) {
		n[i].time = 100;
		n[i].seq = (uint64_t)i;
	}
	for (int i = 0; i < 4; i++)
		assert_int_equal(ins(s, &n[i]), 0);
	assert_ptr_equal(pop_node(s), &n[0]);
	/* scheduled at the current time after a pop: after the earlier ones */
	for (int i = 4; i < 10; i++)
		assert_int_equal(ins(s, &n[i]), 0);
	for (int i = 1; i < 10; i++) {
		assert_ptr_equal(peek_node(s), &n[i]);
		assert_ptr_equal(pop_node(s), &n[i]);
	}
	assert_null(pop_node(s));
	/* a later seq inserted first still pops after a smaller seq */
	tnode a = { 7, 9 }, b = { 7, 3 };
	assert_int_equal(ins(s, &a), 0);
	assert_int_equal(ins(s, &b), 0);
	assert_ptr_equal(pop_node(s), &b);
	assert_ptr_equal(pop_node(s), &a);
	evs_free(s);
}

static void test_extreme_times(void **state)
{
	evs *s = new_set(state);
	int64_t t[] = { INT64_MAX, 0, INT64_MAX - 1, 1, INT64_MAX / 2, INT64_MAX / 2 + 1,
			(int64_t)1 << 62, ((int64_t)1 << 62) - 1, 1000000000, INT64_MAX };
	enum { K = sizeof t / sizeof *t };
	tnode n[K];
	tnode *ref[K];
	for (int i = 0; i < K; i++) {
		n[i].time = t[i];
		n[i].seq = (uint64_t)i;
		ref[i] = &n[i];
		assert_int_equal(ins(s, &n[i]), 0);
	}
	qsort(ref, K, sizeof *ref, key_cmp);
	for (int i = 0; i < K; i++)
		assert_ptr_equal(pop_node(s), ref[i]);
	/* hold at INT64_MAX / 2 with 10^9 .. 10^18 jumps */
	tnode m[100];
	for (int i = 0; i < 100; i++) {
		m[i].time = INT64_MAX / 2 + i;
		m[i].seq = (uint64_t)i;
		assert_int_equal(ins(s, &m[i]), 0);
	}
	uint64_t seq = 100, r = 5;
	tnode last = { 0, 0 };
	for (int i = 0; i < 20000; i++) {
		tnode *e = pop_node(s);
		assert_false(before(e, &last));
		last = *e;
		int64_t jump = (int64_t)1000000000 << (rng_next(&r) % 20);
		if (e->time > INT64_MAX - jump)
			continue; /* drop it */
		e->time += jump;
		e->seq = seq++;
		assert_int_equal(ins(s, e), 0);
	}
	while (pop_node(s))
		;
	evs_free(s);
}

/* Every allocation-failure point: evs_new returns NULL or inserts fail with
 * SIM_ENOMEM leaving the node out; nothing is lost, nothing leaks. */
static void test_enomem(void **state)
{
	evs_kind kind = (evs_kind)(intptr_t)*state;
#ifdef EVS_STRESS
	enum { N = 150 }; /* every operation allocates in this build */
#else
	enum { N = 3000 };
#endif
	static tnode nodes[N];
	for (long fail_at = 1;; fail_at++) {
		sim_alloc_failing st = { fail_at, 0, 0, 0 };
		sim_alloc a = sim_alloc_failing_make(&st);
		evs *s = evs_new(kind, &a);
		if (!s) {
			assert_int_equal(st.live, 0);
			continue;
		}
		tnode *acc[N];
		size_t na = 0;
		int failures = 0;
		uint64_t r = (uint64_t)fail_at;
		for (size_t i = 0; i < N; i++) {
			nodes[i].time = (int64_t)(rng_next(&r) % 100000);
			nodes[i].seq = i;
			int rc = ins(s, &nodes[i]);
			if (rc == 0) {
				acc[na++] = &nodes[i];
			} else {
				assert_int_equal(rc, SIM_ENOMEM);
				failures++;
			}
			assert_int_equal(evs_count(s), na);
			if (i % 7 == 6 && na == 0) {
				assert_null(pop_node(s));
			} else if (i % 7 == 6) { /* interleave pops */
				qsort(acc, na, sizeof *acc, key_cmp);
				assert_ptr_equal(pop_node(s), acc[0]);
				memmove(acc, acc + 1, --na * sizeof *acc);
			}
		}
		qsort(acc, na, sizeof *acc, key_cmp);
		for (size_t i = 0; i < na; i++)
			assert_ptr_equal(pop_node(s), acc[i]);
		assert_null(pop_node(s));
		evs_free(s);
		assert_int_equal(st.live, 0);
		assert_int_equal(st.bytes, 0);
		if (failures == 0 && st.count < fail_at)
			break; /* no allocation failed: every point has been walked */
	}
}

/* Inserts at the current time, each after everything queued, with a pop
 * after each: in the calendar they go to the tail of the current day's
 * sorted array while pops eat its head, until the array must be moved back
 * to its start.  Order must hold throughout. */
static void test_bottom_tail(void **state)
{
	evs *s = new_set(state);
	enum { K = 3000 };
	tnode *n = calloc(K, sizeof *n);
	assert_non_null(n);
	for (int i = 0; i < 2; i++) {
		n[i].time = i / 4;
		n[i].seq = (uint64_t)i;
		assert_int_equal(ins(s, &n[i]), 0);
	}
	for (int i = 2; i < K; i++) {
		assert_ptr_equal(pop_node(s), &n[i - 2]);
		n[i].time = i / 4; /* ties too */
		n[i].seq = (uint64_t)i;
		assert_int_equal(ins(s, &n[i]), 0);
		assert_int_equal(evs_count(s), 2);
	}
	assert_ptr_equal(pop_node(s), &n[K - 2]);
	assert_ptr_equal(pop_node(s), &n[K - 1]);
	assert_null(pop_node(s));
	free(n);
	evs_free(s);
}

/* item is opaque: values that point nowhere come back unchanged (a set
 * that dereferenced them would crash, under ASan at once), and the entry
 * popped is a copy, so the caller may reuse its memory at once. */
static void test_item_opaque(void **state)
{
	evs *s = new_set(state);
	uint64_t r = 99;
	enum { K = 5000 };
	for (uint64_t i = 0; i < K; i++)
		assert_int_equal(evs_insert(s, (int64_t)(rng_next(&r) % 1000), i,
					    (void *)(uintptr_t)(i * 8 + 1)), 0);
	evs_entry prev = { -1, 0, NULL }, e;
	for (uint64_t i = 0; i < K; i++) {
		const evs_entry *p = evs_peek(s);
		assert_non_null(p);
		evs_entry pe = *p;
		assert_true(evs_pop(s, &e));
		assert_memory_equal(&pe, &e, sizeof e);
		assert_true(prev.time < e.time || (prev.time == e.time && prev.seq < e.seq));
		assert_true((uintptr_t)e.item == e.seq * 8 + 1);
		prev = e;
	}
	assert_false(evs_pop(s, &e));
	evs_free(s);
}

/* Two clusters of n / 2 entries one second apart (times i and 10^9 + i,
 * i < n / 2, ns), inserted in that order, then drained in order.  Returns
 * the set's stats after the inserts. */
static void two_clusters(size_t n, evs_stats *st)
{
	tnode *nd = calloc(n, sizeof *nd);
	assert_non_null(nd);
	evs *s = evs_new(EVS_CALENDAR, &sim_alloc_std);
	assert_non_null(s);
	for (size_t i = 0; i < n; i++) {
		nd[i].time = (int64_t)(i < n / 2 ? i : 1000000000 + (i - n / 2));
		nd[i].seq = i;
		assert_int_equal(ins(s, &nd[i]), 0);
	}
	evs_get_stats(s, st);
	for (size_t i = 0; i < n; i++)
		assert_ptr_equal(pop_node(s), &nd[i]); /* inserted in order */
	assert_null(pop_node(s));
	evs_free(s);
	free(nd);
}

/* The calendar's plan for clustered times (cq.c: plan), worked by hand.
 * The first check is at the 4,096th operation (CQ_CHECK), a resize since
 * 4,096 > 2 x 64.  The front's spacing (the 32 smallest times 0..31, 1 ns
 * apart) asks for days of 2 x 1 ns = 2 ns; a year of nb_for(4096) = 4,096
 * such days is 8 us, while the sample's 90 % quantile lies in the second
 * cluster, about 10^9 ns from the first.
 *   - n = 4,096: below CQ_MAX_BUCKETS the buckets may grow 16x but not
 *     past 16,384, a year of 32,768 ns, still short; so the days widen to
 *     the least power of two 2^k whose day buckets' guaranteed reach, 7/8
 *     of a year less a day, 16,384 x 2^k x 7/8 - 2^k = 14,335 x 2^k, is
 *     >= the quantile, 10^9 plus at most 2,047: 2^k >= 69,760, k = 17,
 *     days of 131,072 ns (14,335 x 2^17 = 1.88 x 10^9; 2^16 gives 9.39 x
 *     10^8, short, although its whole year, 2^30 = 1.07 x 10^9, is not).
 *   - n = 20,000: the check at 8,192 is no resize (8,192 is not > 2 x
 *     4,096), the one at 12,288 is, with nb_for(12288) = 16,384 =
 *     CQ_MAX_BUCKETS: no room to spread the year over the 90 % quantile,
 *     days from the front (2 ns); but the far wheel's 1,024 buckets of
 *     1/8 year must cover the whole sample, from 0 to at least 10^9 (the
 *     second cluster): 1,024 x 16,384 x 2^k / 8 >= 10^9 needs
 *     2^(21 + k) >= 2^30 (2^29 = 5.4 x 10^8 is short), k = 9, days of
 *     512 ns; the check at
 *     16,384 has nothing to do (16,384 <= 2 x 12,288, no cost spent on
 *     inserts). */
static void test_plan_clusters(void **state)
{
	(void)state;
	evs_stats st;
	two_clusters(4096, &st);
#ifndef EVS_STRESS /* the stress build resizes and retunes at every operation */
	assert_int_equal(st.buckets, 16384);
	assert_int_equal(st.width, 131072);
#endif
	two_clusters(20000, &st);
#ifndef EVS_STRESS
	assert_int_equal(st.buckets, 16384);
	assert_int_equal(st.width, 512);
#endif
}

/* Calendar and heap pop the same stream on the two distributions that
 * once defeated the calendar's width (camel at 10^3: spikes 500 ns wide,
 * 1 ms apart; change: the spacing jumps by five orders of magnitude every
 * 2,000 draws), for long enough that clusters drift and the queue retunes:
 * 100 x n holds. */
static void test_calendar_vs_heap_spikes(void **state)
{
	(void)state;
	static const struct {
		int dist;
		size_t n;
	} cases[] = { { INCR_CAMEL, 1000 }, { INCR_CHANGE, 1000 }, { INCR_CAMEL, 5000 } };
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		size_t n = cases[c].n, holds = 100 * n;
#ifdef EVS_STRESS
		n /= 10;
		holds = 20 * n;
#endif
		uint64_t *ta = malloc(holds * sizeof *ta), *tb = malloc(holds * sizeof *tb);
		assert_non_null(ta);
		assert_non_null(tb);
		uint64_t a = run_hold(EVS_CALENDAR, n, cases[c].dist, holds, 5, 1, ta);
		uint64_t b = run_hold(EVS_HEAP, n, cases[c].dist, holds, 5, 1, tb);
		assert_int_equal(a, b);
		assert_memory_equal(ta, tb, holds * sizeof *ta);
		free(ta);
		free(tb);
	}
}

/* The calendar's far wheel (cq.h), worked by hand on a fresh calendar
 * (64 days of 2^20 ns: a year Y = 2^26 ns, far buckets F = Y / 8 = 2^23
 * ns wide, 1,024 of them; the horizon starts at Y; fewer than 4,096
 * operations, so no resize or retune changes this):
 *   a 5 and b Y - 1 go into days 0 and 63; c, d at Y (a tie) into far
 *   bucket 8, e at Y + F into 9; f at 2^33 + Y, 1,024 far buckets later,
 *   into 8 as well; g at INT64_MAX - 1 into 1,023.
 *   - pop a; h at 6 goes below top (2^20) into the bottom: pop h; pop b
 *     (day 63); top is then Y, the horizon, and the day buckets are empty.
 *   - jump: far bucket 8 holds the least entry (c): cascade 1 moves c and
 *     d into day 64 and puts f back; the horizon is raised to 2Y (a year
 *     from day 64, in steps of F), passing far bucket 9: cascade 2 moves
 *     e.  pop c; i at Y (a tie again, scheduled later) goes below top
 *     (Y + 2^20) into the bottom behind d: pop d, i, then e (day 72).
 *   - jump: from far bucket 16 the first non-empty one is 1,023 (g),
 *     whose least time lies 2^40 - 1 - 2,047 buckets later than that
 *     pass: direct search finds f; cascade 3.  pop f.
 *   - jump: again direct search (g is in pass 2^30 - 1 of the wheel);
 *     cascade 4.  pop g; then the set is empty.
 * The heap pops the same order and counts no cascades. */
static void test_far_wheel_by_hand(void **state)
{
	evs_kind kind = (evs_kind)(intptr_t)*state;
	(void)kind;
	evs *s = new_set(state);
	const int64_t Y = (int64_t)1 << 26, F = (int64_t)1 << 23;
	tnode a = { 5, 1 }, b = { Y - 1, 2 }, c = { Y, 3 }, d = { Y, 4 }, e = { Y + F, 5 },
	      f = { ((int64_t)1 << 33) + Y, 6 }, g = { INT64_MAX - 1, 7 }, h = { 6, 8 },
	      i = { Y, 9 };
	tnode *first[] = { &a, &b, &c, &d, &e, &f, &g };
	for (size_t k = 0; k < sizeof first / sizeof first[0]; k++)
		assert_int_equal(ins(s, first[k]), 0);
	assert_ptr_equal(pop_node(s), &a);
	assert_int_equal(ins(s, &h), 0);
	assert_ptr_equal(pop_node(s), &h);
	assert_ptr_equal(pop_node(s), &b);
	assert_ptr_equal(pop_node(s), &c);
	evs_stats st;
	evs_get_stats(s, &st);
#ifndef EVS_STRESS /* the stress build rebuilds at every operation */
	assert_int_equal(st.cascades, kind == EVS_CALENDAR ? 2 : 0);
#endif
	assert_int_equal(ins(s, &i), 0);
	assert_ptr_equal(pop_node(s), &d);
	assert_ptr_equal(pop_node(s), &i);
	assert_ptr_equal(pop_node(s), &e);
	assert_ptr_equal(pop_node(s), &f);
	evs_get_stats(s, &st);
#ifndef EVS_STRESS /* the stress build rebuilds at every operation */
	assert_int_equal(st.cascades, kind == EVS_CALENDAR ? 3 : 0);
#endif
	assert_ptr_equal(peek_node(s), &g);
	assert_ptr_equal(pop_node(s), &g);
	assert_null(pop_node(s));
	evs_get_stats(s, &st);
#ifndef EVS_STRESS /* the stress build rebuilds at every operation */
	assert_int_equal(st.cascades, kind == EVS_CALENDAR ? 4 : 0);
#endif
#ifndef EVS_STRESS
	assert_int_equal(st.resizes + st.retunes, 0);
#endif
	evs_free(s);
}

/* Calendar and heap on the end-to-end run's mix, long enough for resizes,
 * retunes and many cascades: a pre-fill within 1 ms (so the first plan
 * sees a dense front), then holds where a tenth of the inserts lie 300 s
 * ahead (plus up to 1 s), beyond the year, and the rest up to 1 ms ahead,
 * a ninth of those at the popped time itself (ties); then a drain.  Both must pop the
 * same (time, seq) stream, in order. */
static void test_far_mix_vs_heap(void **state)
{
	(void)state;
#ifdef EVS_STRESS
	enum { N = 300, HOLDS = 6000 };
#else
	enum { N = 20000, HOLDS = 400000 };
#endif
	evs *s[2] = { evs_new(EVS_CALENDAR, &sim_alloc_std), evs_new(EVS_HEAP, &sim_alloc_std) };
	assert_non_null(s[0]);
	assert_non_null(s[1]);
	uint64_t r = 42, seq = 0;
	for (size_t k = 0; k < N; k++, seq++) {
		int64_t t = (int64_t)(rng_next(&r) % 1000000);
		assert_int_equal(evs_insert(s[0], t, seq, NULL), 0);
		assert_int_equal(evs_insert(s[1], t, seq, NULL), 0);
	}
	int64_t last = 0;
	for (size_t k = 0; k < HOLDS + N; k++, seq++) {
		evs_entry x, y;
		assert_true(evs_pop(s[0], &x));
		assert_true(evs_pop(s[1], &y));
		assert_true(x.time == y.time && x.seq == y.seq);
		assert_true(x.time >= last);
		last = x.time;
		if (k >= HOLDS)
			continue;
		uint64_t u = rng_next(&r);
		int64_t t = x.time;
		if (u % 10 == 0)
			t += 300000000000LL + (int64_t)(u / 10 % 1000000000);
		else if (u % 10 != 1)
			t += (int64_t)(u / 10 % 1000000);
		assert_int_equal(evs_insert(s[0], t, seq, NULL), 0);
		assert_int_equal(evs_insert(s[1], t, seq, NULL), 0);
	}
	assert_int_equal(evs_count(s[0]), 0);
	evs_stats st;
	evs_get_stats(s[0], &st);
#ifndef EVS_STRESS
	assert_true(st.cascades > 0);
#endif
	evs_free(s[0]);
	evs_free(s[1]);
}

/* evs_pop_peek pops the first entry and returns the next, as a pop and a
 * peek would: c (3), then a and b (7, a tie in scheduling order), then d
 * at 2^27, which a fresh calendar keeps in its far wheel (beyond its first
 * horizon, 2^26), so the peek after b's pop cascades; after d, NULL. */
static void test_pop_peek(void **state)
{
	evs *s = new_set(state);
	tnode a = { 7, 2 }, b = { 7, 3 }, c = { 3, 9 }, d = { (int64_t)1 << 27, 10 };
	assert_int_equal(ins(s, &a), 0);
	assert_int_equal(ins(s, &d), 0);
	assert_int_equal(ins(s, &b), 0);
	assert_int_equal(ins(s, &c), 0);
	evs_entry x;
	const evs_entry *p = evs_pop_peek(s, &x);
	assert_ptr_equal(x.item, &c);
	assert_ptr_equal(p->item, &a);
	p = evs_pop_peek(s, &x);
	assert_ptr_equal(x.item, &a);
	assert_ptr_equal(p->item, &b);
	p = evs_pop_peek(s, &x);
	assert_ptr_equal(x.item, &b);
	assert_ptr_equal(p->item, &d);
	assert_true(p->time == d.time && p->seq == d.seq);
	p = evs_pop_peek(s, &x);
	assert_ptr_equal(x.item, &d);
	assert_null(p);
	assert_int_equal(evs_count(s), 0);
	evs_free(s);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(evs_kind_name(EVS_CALENDAR), "calendar");
	assert_string_equal(evs_kind_name(EVS_HEAP), "heap");
	evs_stats st;
	evs *s = evs_new(EVS_CALENDAR, &sim_alloc_std);
	assert_non_null(s);
	evs_get_stats(s, &st);
	assert_true(st.buckets > 0);
	assert_true(st.width > 0);
	evs_free(s);
}

#define BOTH(f) cmocka_unit_test_setup(f, setup_calendar), cmocka_unit_test_setup(f, setup_heap)

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_empty),
		BOTH(test_fifo_equal_times),
		BOTH(test_extreme_times),
		BOTH(test_enomem),
		BOTH(test_reference_phases),
		BOTH(test_hold_every_dist),
		BOTH(test_item_opaque),
		BOTH(test_bottom_tail),
		BOTH(test_far_wheel_by_hand),
		BOTH(test_pop_peek),
		cmocka_unit_test(test_far_mix_vs_heap),
		cmocka_unit_test(test_calendar_vs_heap),
		cmocka_unit_test(test_calendar_vs_heap_spikes),
		cmocka_unit_test(test_plan_clusters),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
