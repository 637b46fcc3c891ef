/* clock_engine.h - the clock port (clock.h) over the simulation engine:
 * now is the engine's clock (read through sim_clock, no call), a timer is
 * one engine event, so timers keep the engine's (time, seq) order with
 * every other event of the run.  The engine must outlive the port. */
#ifndef MODELS_CLOCK_ENGINE_H
#define MODELS_CLOCK_ENGINE_H

#include "clock.h"
#include "engine.h"

clk clk_from_engine(sim_engine *e);

#endif
