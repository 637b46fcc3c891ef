/* driver.h - runs every replication of a list of scenarios (variants,
 * sweep points), in parallel threads, into fixed result slots.
 *
 * Each (scenario, replication) is an independent task: its random streams
 * depend on (seed, replication, ...) only, and its results land in the
 * slot reserved for it, so the results do not depend on the number of
 * threads or the order in which tasks finish (--jobs 1 and --jobs 8 give
 * byte-identical reports).
 *
 * Progress: when progress is set, one line on standard error is rewritten
 * as replications finish: done/total, simulated time covered, events per
 * second, and an estimate of the time left.  The driver prints nothing
 * else; errors come back in err.
 *
 * Ownership: on success *out is an array of n arrays (one per scenario) of
 * v[k]->replications results (with a selection, sel[k].n); free it with
 * drv_free() (drv_free_sel()).  On failure *out is
 * untouched and err names the scenario and replication that failed.
 *
 * Stopping: when stop is set and *stop becomes non-zero (a signal
 * handler's flag), no further replication starts.  A replication cannot
 * be cut short, so with only stop set drv_run waits for those under way.
 * Tasks are taken replication-major (replication 0 of every scenario,
 * then 1, ...), so what was done is the first m replications of nearly
 * every scenario.  drv_run then returns SIM_EINTR; if complete is set,
 * complete[k] is the number of leading replications of v[k] that finished
 * (0..replications) and *out is filled as on success (the slots beyond
 * complete[k] are empty; drv_free frees them all); if complete is NULL,
 * *out is untouched.  A stop after the last replication started is no
 * stop: SIM_OK.
 *
 * Abandoning: if complete and abandoned are both set, drv_run does not
 * wait for the replications under way (a long one could take minutes):
 * it returns at once (within 0.1 s of the stop) with *abandoned = true,
 * and those threads go on reading v until they finish.  The caller must
 * then neither free v nor wait for them: it stores what was complete and
 * ends the process (_exit).  Every job runs in a thread of its own, so
 * that the calling thread is free to notice the stop.
 */
#ifndef SIM_DRIVER_H
#define SIM_DRIVER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "evset.h"
#include "results.h"
#include "scenario.h"

/* Which replications of one scenario to run: rep[0..n), ascending and
 * distinct, each below the scenario's replications.  A shard of a run
 * (`run --shard`) runs such a subset; a replication's figures depend on
 * (scenario, replication) only (run.h), so a subset gives the same
 * numbers as the whole run for the replications it has. */
typedef struct drv_sel {
	const int64_t *rep;
	size_t n;
} drv_sel;

typedef struct drv_opts {
	evs_kind kind;
	const drv_sel *sel;  /* NULL: every replication of every scenario; else n entries,
	                      * and out[k] holds sel[k].n results in sel[k]'s order */
	int jobs;        /* threads; <= 0: one */
	bool progress;   /* progress line on standard error */
	const volatile sig_atomic_t *stop;  /* NULL, or a flag: non-zero stops the run */
	size_t *complete;                   /* NULL, or n counts filled when stopped */
	bool *abandoned;                    /* NULL, or set when threads were left running */
} drv_opts;

int drv_run(scenario *const *v, size_t n, const drv_opts *o, res_rep ***out,
	    char *err, size_t errlen);
/* Frees drv_run's *out of a run of every replication (sel NULL)... */
void drv_free(res_rep **out, scenario *const *v, size_t n);
/* ... or of a run of the selection sel (as given in drv_opts). */
void drv_free_sel(res_rep **out, scenario *const *v, const drv_sel *sel, size_t n);

#endif
