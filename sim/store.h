/* store.h - the SQLite results store: every run's scenario, seeds, figures
 * per replication, summaries, rejections and time series, in one file that
 * many runs (and several processes at once) append to.  Schema and example
 * queries: docs/RESULTS.md.
 *
 * Ours or refused: a store file carries PRAGMA application_id =
 * STORE_APPLICATION_ID, PRAGMA user_version = its schema version and a
 * `meta` table.  store_open() creates and initialises a missing or empty
 * file; a file that is not SQLite, is corrupt, belongs to another program
 * (other application_id, or tables without ours) or has a newer schema is
 * refused with a message naming the file, and is not written to.
 *
 * Concurrency: WAL mode and a 10 s busy timeout, so two processes writing
 * runs at once both succeed (writers take turns; readers never block).
 *
 * Atomicity: a run is recorded in three steps.  store_begin_run() inserts
 * its `runs` row (complete = 0) in its own transaction; store_write_results()
 * writes everything else in ONE transaction (all or nothing); and
 * store_finish_run() sets complete = 1.  A run interrupted anywhere stays
 * complete = 0 with either no results or all of them.  Run ids come from
 * AUTOINCREMENT: never reused, so a new run never overwrites an older one.
 *
 * Determinism: only runs.started_at / finished_at hold wall-clock times.
 *
 * Errors: functions return SIM_OK, SIM_EINVAL (bad arguments) or
 * SIM_ESTORE and write a message into err (err_size bytes, may be NULL/0)
 * that names the file, e.g. "results.db: not a throttlesim results file".
 * They never print.  On failure of store_open, *db is untouched.
 *
 * Ownership: the caller owns the sqlite3 handle from store_open and closes
 * it with store_close.  One handle is used by one thread at a time.
 */
#ifndef SIM_STORE_H
#define SIM_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "report.h"

/* "TSIM" */
#define STORE_APPLICATION_ID 0x5453494D
#define STORE_SCHEMA_VERSION 1
#define STORE_BUSY_TIMEOUT_MS 10000

/* Opens or creates the store at path. */
int store_open(const char *path, sqlite3 **db, char *err, size_t err_size);

/* Closes a handle from store_open (NULL is fine). */
void store_close(sqlite3 *db);

/* What a run records about itself before it starts.  Strings may be NULL
 * (stored as NULL; scenario_name and program_version as ""). */
typedef struct store_run_info {
	const char *program_version;
	const char *scenario_name;
	const char *scenario_file;
	const char *scenario_text;
	const char *command_line;
	uint64_t seed;            /* stored as its int64 bit pattern */
	int64_t replications;
} store_run_info;

/* Inserts the run's row (complete = 0, started_at = now, UTC) and returns
 * its id in *run_id. */
int store_begin_run(sqlite3 *db, const store_run_info *info, int64_t *run_id,
                    char *err, size_t err_size);

/* Writes variants, replications, figures, summaries, rejections and series
 * of run in one transaction.  The run must exist, be incomplete and have no
 * results yet.  On any failure nothing of it is written. */
int store_write_results(sqlite3 *db, int64_t run_id, const rpt_run *run,
                        char *err, size_t err_size);

/* Marks the run complete (complete = 1, finished_at = now). */
int store_finish_run(sqlite3 *db, int64_t run_id, char *err, size_t err_size);

#endif
