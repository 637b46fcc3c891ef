/* clock.h - the clock port: the only way the service (service.c) sees
 * time and asks for a timer.  The rules never name an engine, so the same
 * checks run under the simulation engine (clock_engine.c) and under a
 * wall-clock event loop (a live SMTP server implements these four
 * operations over its own timer heap, as libuv's uv_now and uv_timer_*).
 *
 * Contract for an implementation:
 *   *now_ns    the current time in ns, readable at any moment.  It never
 *              decreases, and while a timer callback runs it is the
 *              timer's time (a simulation: the event's time; a wall-clock
 *              loop: the loop time it caches once per iteration, as
 *              uv_update_time does).  A plain load, not a call: it is read
 *              on every AUTH, submission and quit.
 *   schedule_at(ctx, t, cb, arg, h)
 *              call cb(arg) once at time t (>= now), after every timer
 *              already due at t that was scheduled before it (ties in
 *              scheduling order).  Returns SIM_OK, or SIM_EPAST, SIM_ERANGE,
 *              SIM_ENOMEM with nothing scheduled.  h is the caller's memory
 *              (a libuv-style handle embedded in the caller's struct): it
 *              must stay put until the timer has fired or been cancelled;
 *              the implementation fills it and keeps no other record the
 *              caller must free.  A timer must not be scheduled again while
 *              pending.
 *   cancel(ctx, h)   true if h was pending and now will not fire; false
 *              otherwise (fired, cancelled, never scheduled).
 *   pending(ctx, h)  true while h is scheduled and has not fired.
 * A handle zeroed (CLK_TIMER_NONE) names no timer: cancel and pending
 * return false.  Costs are the implementation's; the engine's are O(1)
 * amortised (engine.h).
 */
#ifndef MODELS_CLOCK_H
#define MODELS_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

typedef void (*clk_cb)(void *arg);

/* A timer handle: the caller owns the memory, the implementation the
 * fields. */
typedef struct clk_timer {
	clk_cb cb;       /* what schedule_at was given */
	void *arg;
	void *impl;      /* the implementation's (the engine's event slot) */
	uint64_t id;     /* the implementation's; 0: never scheduled */
} clk_timer;

#define CLK_TIMER_NONE ((clk_timer){ 0 })

typedef struct clk {
	const int64_t *now_ns;
	void *ctx;
	int (*schedule_at)(void *ctx, int64_t t, clk_cb cb, void *arg, clk_timer *h);
	bool (*cancel)(void *ctx, clk_timer *h);
	bool (*pending)(const void *ctx, const clk_timer *h);
} clk;

static inline int64_t clk_now(const clk *c)
{
	return *c->now_ns;
}

static inline int clk_schedule_at(const clk *c, int64_t t, clk_cb cb, void *arg, clk_timer *h)
{
	return c->schedule_at(c->ctx, t, cb, arg, h);
}

static inline bool clk_cancel(const clk *c, clk_timer *h)
{
	return c->cancel(c->ctx, h);
}

static inline bool clk_pending(const clk *c, const clk_timer *h)
{
	return c->pending(c->ctx, h);
}

#endif
