/* evset.c - the event-set interface: dispatch on the kind to the calendar
 * queue (cq.c) or the binary heap (heap.c).  The hot paths of both are
 * inline in their headers, so a call through evs_* costs one switch. */
#include "evset.h"

#include "cq.h"
#include "heap.h"

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

int evs_insert(evs *s, int64_t time, uint64_t seq, void *item)
{
	if (s->kind == EVS_CALENDAR)
		return cq_insert(&s->u.c, time, seq, item);
	return heap_insert(&s->u.h, time, seq, item);
}

const evs_entry *evs_peek(evs *s)
{
	if (s->kind == EVS_CALENDAR)
		return cq_peek(&s->u.c);
	return heap_peek(&s->u.h);
}

bool evs_pop(evs *s, evs_entry *out)
{
	if (s->kind == EVS_CALENDAR)
		return cq_pop(&s->u.c, out);
	return heap_pop(&s->u.h, out);
}

size_t evs_count(const evs *s)
{
	return s->kind == EVS_CALENDAR ? s->u.c.count : s->u.h.n;
}

evs_kind evs_kind_of(const evs *s)
{
	return s->kind;
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
		out->buckets = s->u.c.nb;
		out->width = (int64_t)1 << s->u.c.shift;
	} else {
		out->resizes = 0;
		out->retunes = 0;
		out->buckets = 0;
		out->width = 0;
	}
}
