/* engine.c - clock, dispatch and cancellation around an event set.
 *
 * Events live in slabs of SLAB_EVENTS; free events form a singly linked
 * free list.  The event set holds (time, seq, event pointer) entries with
 * the key inline and never reads the event.  Slabs are freed only
 * with the engine, which is what keeps stale handles safe: a handle's
 * pointer always points into live engine memory, and the seq it carries
 * tells whether that slot still holds the same scheduling.
 *
 * A caller's node (sim_node) goes into the event set as its address with
 * the low bit set (nodes are pointer-aligned, so a pool event's address
 * never has it): the dispatch loop tells the two apart without reading
 * either.
 */
#include "engine.h"

#include <assert.h>

#include <stddef.h>
#include <stdint.h>

#define SLAB_EVENTS 1024

enum { EV_FREE = 0, EV_PENDING = 1, EV_CANCELLED = 2 };

typedef struct sim_event {
	uint64_t seq; /* of the last scheduling in this slot; 0 if never used */
	struct sim_event *next_free;
	sim_handler fn;
	void *ctx;
	uint64_t arg;
	int state;
} sim_event;

typedef struct slab {
	struct slab *next;
	sim_event ev[SLAB_EVENTS];
} slab;

struct sim_engine {
	sim_alloc alloc;
	evs *set;
	evs_kind kind;
	int64_t now;
	uint64_t next_seq; /* 1-based, so seq 0 means "no event" in a handle */
	uint64_t run_count;
	uint64_t live;     /* pending, not cancelled */
	sim_event *free_list;
	slab *slabs;
	int stop;
};

sim_engine *sim_engine_new(evs_kind kind, const sim_alloc *alloc)
{
	if (alloc == NULL)
		alloc = &sim_alloc_std;
	sim_engine *e = sim_malloc(alloc, sizeof *e);
	if (e == NULL)
		return NULL;
	*e = (sim_engine){ .alloc = *alloc, .kind = kind, .next_seq = 1 };
	e->set = evs_new(kind, &e->alloc);
	if (e->set == NULL) {
		sim_free(alloc, e, sizeof *e);
		return NULL;
	}
	return e;
}

void sim_engine_free(sim_engine *e)
{
	if (e == NULL)
		return;
	evs_free(e->set);
	for (slab *s = e->slabs, *next; s; s = next) {
		next = s->next;
		sim_free(&e->alloc, s, sizeof *s);
	}
	sim_alloc a = e->alloc;
	sim_free(&a, e, sizeof *e);
}

int64_t sim_now(const sim_engine *e)
{
	return e->now;
}

const int64_t *sim_clock(const sim_engine *e)
{
	return &e->now;
}

static int grow_pool(sim_engine *e)
{
	slab *s = sim_malloc(&e->alloc, sizeof *s);
	if (s == NULL)
		return SIM_ENOMEM;
	s->next = e->slabs;
	e->slabs = s;
	for (int i = SLAB_EVENTS - 1; i >= 0; i--) {
		s->ev[i].state = EV_FREE;
		s->ev[i].seq = 0;
		s->ev[i].next_free = e->free_list;
		e->free_list = &s->ev[i];
	}
	return SIM_OK;
}

static void release(sim_engine *e, sim_event *ev)
{
	ev->state = EV_FREE;
	ev->next_free = e->free_list;
	e->free_list = ev;
}

int sim_schedule_at(sim_engine *e, int64_t t, sim_handler fn, void *ctx,
		    uint64_t arg, sim_handle *out)
{
	if (t < e->now)
		return SIM_EPAST;
	if (t == SIM_TIME_MAX)
		return SIM_ERANGE; /* reserved: sim_run(e, SIM_TIME_MAX) runs everything */
	if (fn == NULL)
		return SIM_EINVAL;
	if (e->free_list == NULL && grow_pool(e) != SIM_OK)
		return SIM_ENOMEM;
	sim_event *ev = e->free_list;
	if (evs_insert(e->set, t, e->next_seq, ev) != SIM_OK)
		return SIM_ENOMEM;
	e->free_list = ev->next_free;
	ev->seq = e->next_seq;
	ev->fn = fn;
	ev->ctx = ctx;
	ev->arg = arg;
	ev->state = EV_PENDING;
	e->next_seq++;
	e->live++;
	if (out) {
		out->ev = ev;
		out->seq = ev->seq;
	}
	return SIM_OK;
}

int sim_schedule_in(sim_engine *e, int64_t delay_ns, sim_handler fn,
		    void *ctx, uint64_t arg, sim_handle *out)
{
	if (delay_ns < 0)
		return SIM_EPAST;
	if (delay_ns >= SIM_TIME_MAX - e->now)
		return SIM_ERANGE;
	return sim_schedule_at(e, e->now + delay_ns, fn, ctx, arg, out);
}

int sim_schedule_node_in(sim_engine *e, sim_node *n, int64_t delay_ns, sim_handler fn,
			 void *ctx, uint64_t arg)
{
	if (delay_ns < 0)
		return SIM_EPAST;
	if (delay_ns >= SIM_TIME_MAX - e->now)
		return SIM_ERANGE;
	if (fn == NULL || n->seq != 0)
		return SIM_EINVAL;
	if (evs_insert(e->set, e->now + delay_ns, e->next_seq, (char *)n + 1) != SIM_OK)
		return SIM_ENOMEM;
	n->fn = fn;
	n->ctx = ctx;
	n->arg = arg;
	n->seq = e->next_seq++;
	e->live++;
	return SIM_OK;
}

static sim_event *lookup(const sim_engine *e, sim_handle h)
{
	(void)e;
	sim_event *ev = h.ev;
	if (ev == NULL || h.seq == 0 || ev->seq != h.seq || ev->state != EV_PENDING)
		return NULL;
	return ev;
}

bool sim_cancel(sim_engine *e, sim_handle h)
{
	sim_event *ev = lookup(e, h);
	if (ev == NULL)
		return false;
	ev->state = EV_CANCELLED;
	e->live--;
	return true;
}

bool sim_pending(const sim_engine *e, sim_handle h)
{
	return lookup(e, h) != NULL;
}

int sim_run(sim_engine *e, int64_t end)
{
	e->stop = 0;
	for (;;) {
		const evs_entry *p = evs_peek(e->set);
		if (p == NULL || p->time >= end)
			break;
		evs_entry x;
		/* q: the next event due, unless this handler schedules an
		 * earlier one: start loading its node or pool slot now, so that
		 * it arrives while this handler runs (a node begins the object
		 * its handler works on: two lines, the node's and the next,
		 * engine.h). */
		const evs_entry *q = evs_pop_peek(e->set, &x);
		if (q) {
			const char *next = (const char *)q->item - ((uintptr_t)q->item & 1);
			__builtin_prefetch(next, 1);
			__builtin_prefetch(next + 64, 1);
		}
		if ((uintptr_t)x.item & 1) {
			sim_node *n = (sim_node *)(void *)((char *)x.item - 1);
			assert(n->seq == x.seq && x.time >= e->now);
			e->now = x.time;
			e->live--;
			e->run_count++;
			n->seq = 0; /* free before the call: the handler may reschedule it */
			n->fn(e, n->ctx, n->arg);
			if (e->stop)
				return SIM_EINTR;
			continue;
		}
		sim_event *ev = x.item;
		if (ev->state == EV_CANCELLED) {
			release(e, ev);
			continue;
		}
		assert(x.time >= e->now); /* scheduling refuses the past (SIM_EPAST) */
		e->now = x.time;
		e->live--;
		e->run_count++;
		/* Free the slot before the call: a handler may reschedule at once
		 * and reuse it; the handle of this run is dead from here on. */
		sim_handler fn = ev->fn;
		void *ctx = ev->ctx;
		uint64_t arg = ev->arg;
		release(e, ev);
		fn(e, ctx, arg);
		if (e->stop)
			return SIM_EINTR;
	}
	if (end > e->now)
		e->now = end;
	return SIM_OK;
}

int sim_drop_pending(sim_engine *e)
{
	evs *fresh = evs_new(e->kind, &e->alloc);
	if (fresh == NULL)
		return SIM_ENOMEM;
	evs_free(e->set);
	e->set = fresh;
	/* Every pool slot free again (in slab order, as grow_pool leaves a
	 * slab): a stale handle then finds its slot not pending. */
	e->free_list = NULL;
	for (slab *s = e->slabs; s; s = s->next)
		for (int i = SLAB_EVENTS - 1; i >= 0; i--)
			release(e, &s->ev[i]);
	e->live = 0;
	return SIM_OK;
}

void sim_stop(sim_engine *e)
{
	e->stop = 1;
}

uint64_t sim_events_run(const sim_engine *e)
{
	return e->run_count;
}

uint64_t sim_events_pending(const sim_engine *e)
{
	return e->live;
}
