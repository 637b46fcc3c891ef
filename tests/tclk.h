/* tclk.h - a hand-stepped clock for tests: the clock port (models/clock.h)
 * over a sorted list of at most TCLK_MAX timers, stepped by the test.  The
 * service runs on it with no engine and no wall clock (test_clock.c,
 * test_serve.c).
 */
#ifndef TESTS_TCLK_H
#define TESTS_TCLK_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "clock.h"
#include "status.h"

#define TCLK_MAX 16

/* Pending timers sorted by (time, id); ids count schedulings from 1, so
 * equal times fire in scheduling order, as the port requires. */
typedef struct tclk {
	int64_t now;
	uint64_t next_id;
	int n;
	struct tentry {
		int64_t t;
		uint64_t id;
		clk_timer *h;
	} q[TCLK_MAX];
} tclk;

static inline int tclk_schedule_at(void *ctx, int64_t t, clk_cb cb, void *arg, clk_timer *h)
{
	tclk *c = ctx;
	if (t < c->now)
		return SIM_EPAST;
	if (c->n == TCLK_MAX)
		return SIM_ENOMEM;
	uint64_t id = ++c->next_id;
	int i = c->n;
	while (i > 0 && c->q[i - 1].t > t) { /* ids grow: a tie goes after */
		c->q[i] = c->q[i - 1];
		i--;
	}
	c->q[i] = (struct tentry){ t, id, h };
	c->n++;
	h->cb = cb;
	h->arg = arg;
	h->impl = c;
	h->id = id;
	return SIM_OK;
}

static inline int tclk_find(const tclk *c, const clk_timer *h)
{
	for (int i = 0; i < c->n; i++)
		if (c->q[i].h == h && c->q[i].id == h->id)
			return i;
	return -1;
}

static inline bool tclk_cancel(void *ctx, clk_timer *h)
{
	tclk *c = ctx;
	int i = tclk_find(c, h);
	if (i < 0)
		return false;
	memmove(&c->q[i], &c->q[i + 1], (size_t)(c->n - i - 1) * sizeof c->q[0]);
	c->n--;
	return true;
}

static inline bool tclk_pending(const void *ctx, const clk_timer *h)
{
	return tclk_find(ctx, h) >= 0;
}

/* Fire the timers due before `end`, in order, then stand at end (the
 * engine's sim_run(e, end) rule: a timer at exactly end stays pending). */
static inline void tclk_step(tclk *c, int64_t end)
{
	while (c->n > 0 && c->q[0].t < end) {
		struct tentry x = c->q[0];
		memmove(&c->q[0], &c->q[1], (size_t)(c->n - 1) * sizeof c->q[0]);
		c->n--;
		c->now = x.t;
		x.h->cb(x.h->arg); /* no longer pending: it may schedule again */
	}
	if (end > c->now)
		c->now = end;
}

static inline clk tclk_port(tclk *c)
{
	return (clk){ .now_ns = &c->now, .ctx = c, .schedule_at = tclk_schedule_at,
		      .cancel = tclk_cancel, .pending = tclk_pending };
}

#endif
