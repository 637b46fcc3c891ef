/* run_stream.h - a run's results written into the store while its
 * replications still run (store_stream.h), by a thread of its own fed by
 * the driver (driver.h, drv_opts.on_done): the store's work leaves the
 * critical path of a parallel run.
 *
 * The thread writes replications in the driver's task order (replication
 * by replication, every scenario), whatever order they finish in, so the
 * rows go in in the same order for any --jobs; a variant's summaries as
 * soon as its last replication is written.  It begins its transaction
 * when the first replication is finished, and only if no other run of
 * the store is under way (one that is would wait for our lock until we
 * are done: it writes as before instead, and so do we).
 *
 * Ownership: rs_start borrows everything it is given until rs_finish;
 * the driver's results are read by the thread only after on_done said
 * they are complete.  Errors come back from rs_finish, never printed.
 */
#ifndef SIM_RUN_STREAM_H
#define SIM_RUN_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "driver.h"
#include "report.h"

typedef struct run_stream run_stream;

/* The scenarios' variants as they will be stored: rv[k] (name and
 * description; reps and n_reps unset) for each of the n scenarios, vi[k]
 * the variant index under which scenario k is stored (a shard stores
 * only the scenarios it has units of), count[k] its replications in this
 * run (0: none), order the driver's: position i of scenario k is the
 * replication at sel[k].rep[i] (or i). */
int rs_start(sqlite3 *db, int64_t run_id, bool keep_series, const rpt_variant *rv, const size_t *vi,
             const size_t *count, size_t n, run_stream **out);

/* drv_opts.on_done: replication at position i of scenario k is complete
 * in reps_k[i] (reps_k: the scenario's array of results). */
void rs_on_done(void *ctx, size_t k, size_t i, const res_rep *reps_k);

/* Ends the thread.  complete: every replication was reported; then the
 * transaction is committed if the thread streamed, else rolled back.
 * *streamed: the results are stored (the caller writes them otherwise).
 * SIM_OK, or the store's failure with its message in err (nothing of
 * the run kept).  Frees s. */
int rs_finish(run_stream *s, bool complete, bool *streamed, char *err, size_t err_size);

#endif
