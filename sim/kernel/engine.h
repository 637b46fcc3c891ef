/* engine.h - the discrete-event engine: clock, dispatch and cancellation
 * around an event set (evset.h).  Models schedule only through these
 * functions and never touch the event set.
 *
 * Time is an int64_t count of nanoseconds from the run's start.  The clock
 * never goes backwards: sim_now() is the time of the event being run, or
 * the end given to sim_run() once it returns.
 *
 * Order: events run in (time, scheduling order); equal times run in the
 * order they were scheduled (FIFO ties), whatever the event set.
 *
 * Events come from a pool owned by the engine (slabs that are never
 * returned until sim_engine_free), so once warm, scheduling allocates
 * nothing.  A handle names one scheduling of an event; it stays safe to
 * pass to sim_cancel() after the event ran or was cancelled (it is then a
 * no-op returning false), because pool memory is never unmapped and every
 * scheduling gets a fresh sequence number.
 *
 * Cancellation is O(1) and lazy: the event is marked dead and its pool
 * slot is reclaimed when the event set would have run it.
 *
 * No global state: an engine is a value; two engines may run in two threads.
 *
 * Costs: schedule and run O(1) amortised on the calendar queue, O(log n)
 * on the heap; cancel O(1).
 */
#ifndef SIM_ENGINE_H
#define SIM_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "alloc.h"
#include "evset.h"
#include "status.h"

#define SIM_TIME_MAX INT64_MAX

typedef struct sim_engine sim_engine;

/* An event handler: ctx and arg are what was given to sim_schedule_*. */
typedef void (*sim_handler)(sim_engine *e, void *ctx, uint64_t arg);

typedef struct sim_handle {
	void *ev;     /* the pool slot; never dereferenced by the caller */
	uint64_t seq; /* the scheduling it names; 0 = no event */
} sim_handle;

#define SIM_HANDLE_NONE ((sim_handle){ 0, 0 })

/* Returns NULL when out of memory. */
sim_engine *sim_engine_new(evs_kind kind, const sim_alloc *alloc);
void sim_engine_free(sim_engine *e);

int64_t sim_now(const sim_engine *e);
/* The address of the clock sim_now() reads, valid until sim_engine_free:
 * a reader through it sees the current time without a call (the models'
 * clock port reads it on every AUTH and submission). */
const int64_t *sim_clock(const sim_engine *e);

/* Schedule fn(e, ctx, arg) at absolute time t.  Errors, with nothing
 * scheduled: SIM_EPAST if t < now, SIM_ERANGE if t == SIM_TIME_MAX is
 * exceeded (t < 0 counts as past), SIM_ENOMEM.  *out (may be NULL) gets a
 * handle for sim_cancel. */
int sim_schedule_at(sim_engine *e, int64_t t, sim_handler fn, void *ctx,
		    uint64_t arg, sim_handle *out);
/* Schedule after delay_ns >= 0; SIM_ERANGE if now + delay overflows. */
int sim_schedule_in(sim_engine *e, int64_t delay_ns, sim_handler fn,
		    void *ctx, uint64_t arg, sim_handle *out);

/* An event node the caller embeds in its own object (libuv's timers are
 * linked into caller-owned structs the same way), for an object that has
 * at most one such event pending at a time: the engine reads it when the
 * event comes due, and so does the handler (ctx is usually the object
 * the node is in), so running the event touches the object's memory
 * only, not a pool slot as well; and the engine prefetches the next
 * due event's node and the 64 bytes after it while the current handler
 * runs (so put the fields the handler reads first right after it).  Zero-initialise it
 * (SIM_NODE_INIT) before the first scheduling; it must stay in place
 * while pending.  A node's events cannot be cancelled. */
typedef struct sim_node {
	sim_handler fn;
	void *ctx;
	uint64_t arg;
	uint64_t seq;  /* of its pending scheduling; 0: none pending */
} sim_node;

#define SIM_NODE_INIT ((sim_node){ 0, 0, 0, 0 })

/* Schedule fn(e, ctx, arg) through node n after delay_ns >= 0, in the
 * same (time, scheduling order) as every other event.  Errors, with
 * nothing scheduled: as sim_schedule_in, and SIM_EINVAL if n already has
 * an event pending. */
int sim_schedule_node_in(sim_engine *e, sim_node *n, int64_t delay_ns, sim_handler fn,
			 void *ctx, uint64_t arg);

/* Cancel a pending event.  True if it was pending and is now cancelled;
 * false if it already ran, was cancelled, or h is SIM_HANDLE_NONE. */
bool sim_cancel(sim_engine *e, sim_handle h);
/* True while the event named by h is pending. */
bool sim_pending(const sim_engine *e, sim_handle h);

/* Run events with time < end in order; then set the clock to end (if end is
 * not before now) and return SIM_OK.  Events at exactly end stay pending.
 * Returns early, SIM_EINTR, if a handler called sim_stop(). */
int sim_run(sim_engine *e, int64_t end);
void sim_stop(sim_engine *e);

/* Discard every pending event and give the event set's memory back (a
 * fresh, empty set replaces it), for the end of a run whose results need
 * the memory more: the clock and sim_events_run stay, handles stay safe
 * (sim_cancel returns false, sim_pending false).  A node whose event was
 * pending keeps its seq (it is not to be scheduled again).  SIM_OK, or
 * SIM_ENOMEM with nothing changed. */
int sim_drop_pending(sim_engine *e);

/* Counters: events run, events pending (live, not cancelled). */
uint64_t sim_events_run(const sim_engine *e);
uint64_t sim_events_pending(const sim_engine *e);

#endif
