/* evloop.h - the wall-clock event loop `throttlesim serve` runs on: one
 * epoll set for file descriptors, two timer heaps, a signalfd, and the
 * model's clock port (models/clock.h) over them.  No SMTP and no model:
 * the server puts sockets, session timeouts and the service on it.
 *
 * Time.  The loop caches two times once per iteration, after the poll (as
 * libuv's uv_update_time): the wall time, monotonic ns since ev_new
 * (ev_now), and the model time, the wall time times the scale K = num/den
 * (K >= 1), floored to an integer ns.  A model timer at t is due at the
 * first wall ns w with model(w) >= t, i.e. at t / K rounded up.  Model time
 * saturates at INT64_MAX (292 years / K of wall time).
 *
 * One iteration: poll; update both times; run the timers due; dispatch the
 * I/O events the poll returned; run the timers those callbacks made due
 * (at the current instant).  Timers run before I/O so that an I/O callback
 * at model time M never sees a timer due before M still pending, as under
 * the simulation engine.
 *
 * Timers.  Two binary heaps of caller-owned handles (libuv's uv_timer_t
 * shape): wall timers (ev_timer_*, for session timeouts, which must not
 * scale) and model timers (the clock port, ev_clock).  Each heap is
 * ordered by (due, seq), seq a loop-wide counter of schedulings, so equal
 * instants fire in scheduling order.  The two are merged by the wall
 * instant each is due at, a model timer first on a tie.  Before a model
 * timer's callback the model time is set to the timer's own instant; before
 * a wall timer's, to model(its due); after the timers, to model(wall now):
 * it never decreases.  A timer scheduled from a callback at the current
 * instant fires in the same pass, after those already due then.
 * Costs: start, stop O(log n); pending O(1); the heap arrays grow by
 * doubling through the allocator and never shrink.
 *
 * File descriptors.  Level-triggered, so a session that stops reading for
 * its own reasons (the SMTP layer's back-pressure, a reply held by the
 * tarpit) just drops read interest and is told again when it takes it
 * back; an edge-triggered loop would make every reader drain to EAGAIN or
 * remember on its own that data is waiting.  Each callback should do a
 * bounded amount of work (read one buffer) so no client starves the
 * others.  Interest 0 takes the fd out of the epoll set (epoll always
 * reports hang-ups, which would spin a level-triggered loop).  A hang-up or
 * error is reported as whichever of EV_READ, EV_WRITE the watcher wants:
 * the read or write then sees EOF or the error.  ev_io_start makes the fd
 * non-blocking.  The loop allocates nothing per fd: ev_io is the caller's
 * (embed it in the connection) and is linked by pointer from epoll.
 *
 * Signals.  ev_signal blocks the given signals in the calling thread and
 * reads them from a signalfd as an ordinary watcher, so a SIGTERM is a
 * callback between two others, never an interruption.  Call it before any
 * thread is started (each thread must block them too), and note that
 * children inherit the blocked mask: unblock in a child before exec.
 * ev_free restores the mask.
 *
 * Stopping and ownership.  ev_stop, from any callback, ends ev_run after
 * the current callback (timers and events left stay pending for the next
 * ev_run).  ev_run also returns when nothing is left: no fd watched and no
 * timer pending.  ev_free closes the loop's own fds (epoll, signalfd) and
 * frees what it allocated; it does not close the watchers' fds, and
 * handles still pending are simply abandoned (no callback).  The clock
 * port must not be used after ev_free (svc_free before ev_free).
 * No globals: one loop per thread.  Errors: SIM_* codes (status.h); a
 * failed system call gives SIM_EIO and keeps its errno (ev_errno).
 */
#ifndef SIM_PROGRAM_EVLOOP_H
#define SIM_PROGRAM_EVLOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "clock.h"

typedef struct ev_loop ev_loop;

/* The time scale K = num / den of `--time-scale K`. */
typedef struct ev_scale {
	uint32_t num;
	uint32_t den;
} ev_scale;

#define EV_SCALE_MAX 1000000u    /* K <= 10^6: a year of model time in 32 s */
#define EV_SCALE_PART_MAX 1000000000u /* num and den each at most 10^9 */

/* "1000", "2.5" (up to 9 decimals) or "1000/3" -> out, reduced.  SIM_EINVAL
 * (out untouched) unless 1 <= K <= EV_SCALE_MAX. */
int ev_scale_parse(const char *s, ev_scale *out);
/* floor(wall_ns * K), saturating at INT64_MAX; wall_ns >= 0. */
int64_t ev_scale_to_model(ev_scale k, int64_t wall_ns);
/* The first wall ns w with ev_scale_to_model(k, w) >= model_ns: ceil(t / K). */
int64_t ev_scale_to_wall(ev_scale k, int64_t model_ns);

/* ---- the loop ------------------------------------------------------------ */

/* A new loop with time 0 now.  SIM_EINVAL for a scale out of range,
 * SIM_ENOMEM, SIM_EIO (epoll_create1 failed); *out untouched on failure. */
int ev_new(ev_loop **out, const sim_alloc *a, ev_scale scale);
void ev_free(ev_loop *l);
/* Run until ev_stop or nothing is left.  SIM_OK, or SIM_EIO if the poll
 * failed (EINTR is not a failure). */
int ev_run(ev_loop *l);
void ev_stop(ev_loop *l);
/* The cached wall time (ns since ev_new) and model time. */
int64_t ev_now(const ev_loop *l);
int64_t ev_model_now(const ev_loop *l);
/* The errno of the last failed system call. */
int ev_errno(const ev_loop *l);

/* ---- file descriptors ------------------------------------------------------ */

enum { EV_READ = 1u, EV_WRITE = 2u };

typedef struct ev_io ev_io;
typedef void (*ev_io_cb)(ev_loop *l, ev_io *w, unsigned events);

/* Caller-owned; the loop owns the fields while it is started. */
struct ev_io {
	int fd;
	unsigned mask;     /* EV_READ | EV_WRITE wanted */
	bool started;
	bool in_epoll;     /* registered with epoll (mask != 0) */
	ev_io_cb cb;
	void *arg;
};

/* Watch fd for mask (may be 0: watched but not polled).  The fd is made
 * non-blocking.  SIM_EINVAL if w is started, SIM_EIO on failure (w left
 * stopped). */
int ev_io_start(ev_loop *l, ev_io *w, int fd, unsigned mask, ev_io_cb cb, void *arg);
/* Change the interest of a started watcher; O(1), a system call only when
 * the mask changes. */
int ev_io_set(ev_loop *l, ev_io *w, unsigned mask);
/* Stop watching (safe from any callback, also w's own; no event for w is
 * delivered after it returns).  The fd stays open: close it after. */
void ev_io_stop(ev_loop *l, ev_io *w);

/* ---- wall timers ---------------------------------------------------------- */

typedef struct ev_timer ev_timer;
typedef void (*ev_timer_cb)(ev_loop *l, ev_timer *t);

/* Caller-owned; the loop owns the fields.  Zeroed: not pending. */
struct ev_timer {
	int64_t due;    /* wall ns (a model timer's: model ns) */
	uint64_t seq;
	size_t slot;    /* 1 + its index in its heap; 0: not pending */
	ev_timer_cb cb;
	void *arg;
};

/* Fire cb(l, t) at wall time due_ns (>= ev_now, else SIM_EPAST).  t must
 * not be pending.  SIM_ENOMEM if the heap could not grow. */
int ev_timer_start(ev_loop *l, ev_timer *t, int64_t due_ns, ev_timer_cb cb, void *arg);
/* True if t was pending and now will not fire. */
bool ev_timer_stop(ev_loop *l, ev_timer *t);
static inline bool ev_timer_pending(const ev_timer *t)
{
	return t->slot != 0;
}

/* ---- signals ----------------------------------------------------------------- */

typedef void (*ev_signal_cb)(ev_loop *l, int signo, void *arg);

/* Deliver signos[0..n) as cb(l, signo, arg) callbacks (once per loop).
 * SIM_EINVAL if already set or a signal is invalid, SIM_EIO on failure
 * (mask restored). */
int ev_signal(ev_loop *l, const int *signos, int n, ev_signal_cb cb, void *arg);

/* ---- the clock port -------------------------------------------------------- */

/* The model's clock (models/clock.h) over this loop: now_ns is the model
 * time above; schedule_at(t) fires at wall t / K; SIM_EPAST for t below the
 * model time, SIM_ENOMEM (a node for the timer from the loop's pool, or
 * heap growth).  A clk_timer costs one pooled node while pending: the
 * pool grows to the largest number pending at once and is freed by
 * ev_free. */
clk ev_clock(ev_loop *l);

#endif
