/* scn_budget.h - what a run of a loaded scenario file will need in memory,
 * estimated before anything runs, so that `check` and `run` refuse a file
 * whose run cannot be held (docs/MODEL.md, "Memory budget") instead of
 * letting it exhaust the machine hours later.
 *
 * The estimate follows run.h's costs, per replication:
 *   - the time series: duration / series_step rows, each sizeof
 *     res_series_row, twice (the world's rows and the result's copy);
 *   - messages: the expected number generated (rate x the profile's mean
 *     x duration x count, or the trace's rows), each costing its delay
 *     samples (8 B, 16 B with the arrays' doubling) and, as an upper
 *     bound on what may wait at once, a pooled message with its event
 *     (64 B + 48 B; fewer when outbox_limit caps the backlog);
 *   - instances (320 B + 192 B per connection) and mailboxes (~1.3 KB,
 *     plus their rate windows: 16 B per recipient and 8 B per message of
 *     their limits, at most what the run generates).
 * A run holds every replication's results until they are stored (their
 * time series) and `jobs` replications in flight at once:
 *     need = sum over scenarios of replications x results
 *            + jobs x the largest replication in flight.
 * It is an estimate of expectations (a burst of bad luck may need more),
 * meant to catch files off by orders of magnitude, not to be tight.
 *
 * Costs: O(scenarios x (senders + mailboxes)); allocates nothing but the
 * error records.
 */
#ifndef MODELS_SCN_BUDGET_H
#define MODELS_SCN_BUDGET_H

#include <stddef.h>
#include <stdint.h>

#include "scenario.h"
#include "scn_load.h"

/* 4 GiB: half of an 8 GB laptop or CI runner, leaving the rest to the
 * system and the results store (the shipped scenarios are estimated at
 * < 25 MiB with one job, < 1 GiB with 64). */
#define SCN_DEFAULT_MEMORY_BUDGET (4ULL << 30)

/* The largest and mean value of a distribution (INFINITY for lognormal,
 * geometric and poisson1: no largest). */
double scn_dist_max(const scn_dist *d);
double scn_dist_mean(const scn_dist *d);

/* Messages per second one instance of sd generates on average (the
 * profile's mean over the week); a trace: its rows over the duration. */
double scn_sender_rate(const scn_sender *sd, int64_t duration_ns);

/* The bytes a run of v[0..n) needs with `jobs` replications at once. */
double scn_budget_need(scenario *const *v, size_t n, int jobs);

/* SIM_OK if the run fits in budget_bytes; else SIM_ESCENARIO with one
 * error in errs naming the file, the key that costs the most and the
 * figures: "FILE: duration: a run needs about 12.6 GiB (time series:
 * 52596000 rows per replication), over the memory budget of 4 GiB (raise
 * it with --memory-budget)". */
int scn_budget_check(scenario *const *v, size_t n, int jobs, uint64_t budget_bytes, scn_errors *errs);

/* "8G", "8GB", "8GiB", "512M", "4096K" or a number of bytes; 0 and *bytes,
 * or -1 if s is none of these or is 0. */
int scn_budget_parse(const char *s, uint64_t *bytes);

#endif
