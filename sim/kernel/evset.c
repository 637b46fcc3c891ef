/* evset.c - the event-set interface: dispatch on the kind to the calendar
 * queue (cq.c) or the binary heap (heap.c).  The hot paths of both are
 * inline in their headers, so a call through evs_* costs one switch.
 * After every operation that can change the structure (insert, pop, and a
 * peek, which may take the calendar's next day) the structure's checker
 * runs through SIM_CHECK: every time in the stress build, on a thinning schedule in
 * the debug and san builds, never in release (check.h). */
#include "evset.h"

#include "check.h"
#include "cq.h"
#include "heap.h"

/* The structure's invariant checker, under SIM_CHECK. */
static inline void check_op(evs *s);

struct evs {
	evs_kind kind;
	sim_alloc alloc; /* a copy; cq and heap point here */
	union {
		cq c;
		heap h;
	} u;
};

evs *evs_new(evs_kind kind, const sim_alloc *alloc)
{
	if (kind != EVS_CALENDAR && kind != EVS_HEAP)
		return NULL;
	evs *s = sim_malloc(alloc, sizeof *s);
	if (!s)
		return NULL;
	s->kind = kind;
	s->alloc = *alloc;
	if (kind == EVS_CALENDAR) {
		if (cq_init(&s->u.c, &s->alloc) != 0)
			goto fail;
	} else {
		heap_init(&s->u.h, &s->alloc);
	}
	return s;
fail:
	sim_free(alloc, s, sizeof *s);
	return NULL;
}

void evs_free(evs *s)
{
	if (!s)
		return;
	sim_alloc a = s->alloc;
	if (s->kind == EVS_CALENDAR)
		cq_free(&s->u.c);
	else
		heap_free(&s->u.h);
	sim_free(&a, s, sizeof *s);
}

static inline void check_op(evs *s)
{
	(void)s;
	if (s->kind == EVS_CALENDAR)
		SIM_CHECK(s->u.c.check_ops, cq_check(&s->u.c));
	else
		SIM_CHECK(s->u.h.check_ops, heap_check(&s->u.h));
}

/* Each evs_* call is one of two inline paths.  Inlined side by side, the
 * heap's loops made every call save six registers and set up a frame
 * that the calendar's fast path (frameless, its rare cases tail calls)
 * does not need: about 45 instructions a hold at N = 100, a quarter of
 * the calendar's cost there.  So each set's path has a function of its
 * own, and evs_* is the switch and a tail call (SIM_CHECK's check_op
 * compiles to nothing in release builds). */
static int cal_insert(evs *s, int64_t time, uint64_t seq, void *item)
{
	int rc = cq_insert(&s->u.c, time, seq, item);
	check_op(s);
	return rc;
}

static __attribute__((noinline)) int hp_insert(evs *s, int64_t time, uint64_t seq, void *item)
{
	int rc = heap_insert(&s->u.h, time, seq, item);
	check_op(s);
	return rc;
}

int evs_insert(evs *s, int64_t time, uint64_t seq, void *item)
{
	if (s->kind == EVS_CALENDAR)
		return cal_insert(s, time, seq, item);
	return hp_insert(s, time, seq, item);
}

static __attribute__((noinline)) const evs_entry *hp_peek(evs *s)
{
	const evs_entry *e = heap_peek(&s->u.h);
	check_op(s);
	return e;
}

const evs_entry *evs_peek(evs *s)
{
	if (s->kind != EVS_CALENDAR)
		return hp_peek(s);
	const evs_entry *e = cq_peek(&s->u.c);
	check_op(s);
	return e;
}

static __attribute__((noinline)) bool hp_pop(evs *s, evs_entry *out)
{
	bool ok = heap_pop(&s->u.h, out);
	check_op(s);
	return ok;
}

bool evs_pop(evs *s, evs_entry *out)
{
	if (s->kind != EVS_CALENDAR)
		return hp_pop(s, out);
	bool ok = cq_pop(&s->u.c, out);
	check_op(s);
	return ok;
}

static __attribute__((noinline)) const evs_entry *hp_pop_peek(evs *s, evs_entry *out)
{
	heap_pop(&s->u.h, out);
	check_op(s);
	const evs_entry *e = heap_peek(&s->u.h);
	check_op(s);
	return e;
}

const evs_entry *evs_pop_peek(evs *s, evs_entry *out)
{
	if (s->kind != EVS_CALENDAR)
		return hp_pop_peek(s, out);
	cq_pop(&s->u.c, out);
	check_op(s);
	const evs_entry *e = cq_peek(&s->u.c);
	check_op(s);
	return e;
}

size_t evs_count(const evs *s)
{
	return s->kind == EVS_CALENDAR ? s->u.c.count : s->u.h.n;
}

const char *evs_kind_name(evs_kind k)
{
	switch (k) {
	case EVS_CALENDAR: return "calendar";
	case EVS_HEAP: return "heap";
	}
	return "?";
}

void evs_get_stats(const evs *s, evs_stats *out)
{
	if (s->kind == EVS_CALENDAR) {
		out->resizes = s->u.c.resizes;
		out->retunes = s->u.c.retunes;
		out->cascades = s->u.c.cascades;
		out->buckets = s->u.c.nb;
		out->width = (int64_t)1 << s->u.c.shift;
	} else {
		out->resizes = 0;
		out->retunes = 0;
		out->cascades = 0;
		out->buckets = 0;
		out->width = 0;
	}
}
