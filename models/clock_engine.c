/* clock_engine.c - the clock port over the engine (see clock_engine.h). */
#include "clock_engine.h"

/* The engine calls this for a timer's event; the handle carries the
 * callback, so a timer costs one engine event and no allocation. */
static void fire(sim_engine *e, void *ctx, uint64_t arg)
{
	(void)e;
	(void)arg;
	clk_timer *h = ctx;
	h->cb(h->arg);
}

static sim_handle handle_of(const clk_timer *h)
{
	return (sim_handle){ h->impl, h->id };
}

static int eng_schedule_at(void *ctx, int64_t t, clk_cb cb, void *arg, clk_timer *h)
{
	sim_handle sh;
	int rc = sim_schedule_at(ctx, t, fire, h, 0, &sh);
	if (rc != SIM_OK)
		return rc;
	h->cb = cb;
	h->arg = arg;
	h->impl = sh.ev;
	h->id = sh.seq;
	return SIM_OK;
}

static bool eng_cancel(void *ctx, clk_timer *h)
{
	return sim_cancel(ctx, handle_of(h));
}

static bool eng_pending(const void *ctx, const clk_timer *h)
{
	return sim_pending(ctx, handle_of(h));
}

clk clk_from_engine(sim_engine *e)
{
	return (clk){ .now_ns = sim_clock(e), .ctx = e, .schedule_at = eng_schedule_at,
		      .cancel = eng_cancel, .pending = eng_pending };
}
