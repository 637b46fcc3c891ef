/* store_stream.h - a run's results written while the run goes on, in one
 * transaction: each replication as it is finished, each variant's
 * summaries and mean series once its replications are all written, then
 * the commit.  The same rows as store_write_results_series() (store.h),
 * so a run reads back the same either way; what changes is when the work
 * is done: off the critical path of a parallel run (`run` feeds it from a
 * thread of its own while the replications run).
 *
 * The write lock is held from store_stream_begin() to the commit (WAL:
 * readers are not blocked, another writer waits, saying so): `run` streams
 * only into a store no other run is writing (store.h, concurrency).
 *
 * Order: any, as long as a variant's replications come before
 * store_stream_variant() for it, and every variant of the run gets one.
 * The run must exist, be incomplete and have no results.  After any
 * failure the caller calls store_stream_abort(): nothing of the run is
 * kept.  The handle is used by one thread at a time; rpt_variant and
 * res_rep are read during the call only.
 *
 * Errors as store.h: SIM_ESTORE with the file's name in err, SIM_EINVAL,
 * SIM_ENOMEM. */
#ifndef SIM_STORE_STREAM_H
#define SIM_STORE_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "report.h"

typedef struct store_stream store_stream;

/* BEGIN IMMEDIATE (waiting for the lock as the handle does) and checks
 * the run.  On failure nothing is open and *out is untouched. */
int store_stream_begin(sqlite3 *db, int64_t run_id, bool keep_series, store_stream **out, char *err,
                       size_t err_size);
/* One replication of variant vi (v: its name and description). */
int store_stream_replication(store_stream *s, size_t vi, const rpt_variant *v, const res_rep *rep, char *err,
                             size_t err_size);
/* Variant vi, once all of its replications are written: its row,
 * description, mean series (without keep_series) and summaries. */
int store_stream_variant(store_stream *s, size_t vi, const rpt_variant *v, char *err, size_t err_size);
/* COMMIT; frees s (also on failure, when everything is rolled back). */
int store_stream_commit(store_stream *s, char *err, size_t err_size);
/* ROLLBACK; frees s.  NULL is fine. */
void store_stream_abort(store_stream *s);

#endif
