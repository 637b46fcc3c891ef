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
 * Concurrency: WAL mode, so two processes writing runs at once both
 * succeed: writers take turns, readers never block.  A writer (a handle
 * from store_open / store_open_waiting) waits for another writer's lock
 * for as long as that one holds it, with no fixed give-up: a run that has
 * finished simulating never loses its results because the file was busy
 * (they stay in the caller's memory meanwhile).  Once it has waited
 * STORE_WAIT_NOTICE_MS, and every STORE_WAIT_REPEAT_MS after, it calls the
 * caller's store_wait_fn, so the user can be told.  A read-only handle
 * gives up after STORE_BUSY_TIMEOUT_MS (readers of a WAL file wait only
 * for another's recovery).  A new file's schema is created under an
 * exclusive lock before the file is switched to WAL, so processes racing
 * to create it all succeed.
 *
 * Atomicity: a run is recorded in three steps.  store_begin_run() inserts
 * its `runs` row (complete = 0) in its own transaction; store_write_results()
 * writes everything else in ONE transaction (all or nothing); and
 * store_finish_run() sets complete = 1.  A run interrupted anywhere stays
 * complete = 0 with either no results or all of them.  Run ids come from
 * AUTOINCREMENT: never reused, so a new run never overwrites an older one.
 *
 * Layout: schema 3 (new files) packs a run's results into a blob per
 * replication and per variant, with a per-run dictionary of figure and
 * class names (formats: store_write.c, docs/RESULTS.md); a file of schema
 * 2 keeps schema 2's row-per-value tables for the runs written into it
 * (a schema-1 file is upgraded to 2 at its first write).  The loader reads
 * both and returns the same for the same run.
 *
 * Determinism: only runs.started_at / finished_at hold wall-clock times;
 * the blobs' bytes depend on the values alone (little-endian, fixed).
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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "report.h"
#include "res_summary.h"
#include "scn_load.h"
#include "stats.h"

/* "TSIM" */
#define STORE_APPLICATION_ID 0x5453494D
#define STORE_SCHEMA_VERSION 3
#define STORE_BUSY_TIMEOUT_MS 10000
#define STORE_WAIT_NOTICE_MS 1000
#define STORE_WAIT_REPEAT_MS 30000

/* Told that a writer is waiting for another process's lock: message names
 * the file and how long it has waited ("results.db: another process is
 * writing to this results file; waiting for it (1 s so far)"). */
typedef void (*store_wait_fn)(void *ctx, const char *message);

/* Opens or creates the store at path.  An empty path is SIM_EINVAL (SQLite
 * would open a private temporary file and keep nothing); ":memory:" and
 * names beginning "file:" are the files of those names. */
int store_open(const char *path, sqlite3 **db, char *err, size_t err_size);

/* store_open, calling on_wait(ctx, ...) while it waits for a lock (at open
 * and at every later write through the handle).  ctx must outlive the
 * handle.  on_wait may be NULL. */
int store_open_waiting(const char *path, store_wait_fn on_wait, void *ctx, sqlite3 **db,
                       char *err, size_t err_size);

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
	const scn_override *sets; /* run --set KEY=VALUE, in order (table run_sets) */
	size_t n_sets;
} store_run_info;

/* Inserts the run's row (complete = 0, started_at = now, UTC) and returns
 * its id in *run_id. */
int store_begin_run(sqlite3 *db, const store_run_info *info, int64_t *run_id,
                    char *err, size_t err_size);

/* Writes variants, replications, figures, summaries, rejections and series
 * of run in one transaction, in the layout of the file's schema (see
 * Layout above).  The run must exist, be incomplete and have no results
 * yet.  On any failure nothing of it is written.  The time series: every
 * replication's (store_write_results: keep_series), or only the
 * variant's over its replications per step (schema 3: their sums; schema
 * 2: their mean as replication -1), leaving out the steps where every
 * column is 0 (what `run` stores unless given --keep-series).  A schema-2
 * file without the series column `lost` gets it (0 in the runs before).
 * O(values): about 0.06 s for 100 replications of scenarios/printers.yaml
 * packed (2.5 s in schema 2's rows). */
int store_write_results(sqlite3 *db, int64_t run_id, const rpt_run *run,
                        char *err, size_t err_size);
int store_write_results_series(sqlite3 *db, int64_t run_id, const rpt_run *run, bool keep_series,
                               char *err, size_t err_size);

/* Marks the run complete (complete = 1, finished_at = now). */
/* The --set values run_id was run with, in order (none for a file or run
 * from before they were recorded); free with store_run_sets_free. */
int store_run_sets(sqlite3 *db, int64_t run_id, scn_override **sets, size_t *n_sets,
                   char *err, size_t err_size);
void store_run_sets_free(scn_override *sets, size_t n_sets);

int store_finish_run(sqlite3 *db, int64_t run_id, char *err, size_t err_size);

/* Ends a run that was interrupted before its results were written:
 * finished_at = now, complete stays 0, so the store tells it from a run
 * still going (finished_at NULL): `results list` shows it "interrupted". */
int store_end_run(sqlite3 *db, int64_t run_id, char *err, size_t err_size);

/* The three steps for a run that is complete before it is stored (serve's
 * and load's): open path (waiting for the lock as store_open_waiting),
 * begin, write, finish, close.  *run_id is its id.  SIM_OK, or the first
 * failure's code with its message in err. */
int store_run_once(const char *path, const store_run_info *info, const rpt_run *run,
		   store_wait_fn on_wait, void *ctx, int64_t *run_id, char *err, size_t err_size);

/* ---- progress while writing ---------------------------------------------------
 *
 * Writing a large run takes a while: store_write_results_progress() is
 * store_write_results_series() (keep_series as there) that tells fn how
 * many values it has written (`rows`: a row of a table, or a value packed
 * in a blob: a figure, a class's counts, a delay point, a summary, a
 * series step, so the count is that of schema 2's rows and advances at
 * least once a replication), when every_rows more have been written (0:
 * STORE_PROGRESS_ROWS) after each row, counts increasing strictly, and
 * once more at the end (done = true; rows = every value of the run
 * written, which may equal the call before; 0 when it failed).  fn runs
 * inside the write transaction: it must not use db.  It may print (the
 * caller's choice: the store itself never does). */
#define STORE_PROGRESS_ROWS 20000

typedef struct store_progress {
	int64_t rows;     /* rows written so far */
	bool done;        /* the last call: the write is over */
	bool failed;      /* ... and failed (nothing of it was kept) */
} store_progress;

typedef void (*store_progress_fn)(void *ctx, const store_progress *p);

int store_write_results_progress(sqlite3 *db, int64_t run_id, const rpt_run *run, bool keep_series,
                                 store_progress_fn fn, void *ctx, int64_t every_rows, char *err, size_t err_size);

/* A store_progress_fn for commands: one line on standard error, rewritten
 * in place ("storing the results in results.db: 120000 rows"), cleared at
 * the end.  ctx is the file's name (const char *) or NULL.  For a terminal only: the caller decides
 * (isatty).  Defined with the results command (cmd_results.c); this is the
 * one function of this header that prints. */
void store_progress_to_terminal(void *ctx, const store_progress *p);

/* ---- deleting runs -------------------------------------------------------------
 *
 * A run is deleted wholly, in one transaction: its row in `runs` and its
 * rows in every table of the file that has a run_id column (found in the
 * schema, so a table added later is covered too).  All or nothing: an
 * unknown id is SIM_EINVAL ("no run 9 ... nothing deleted") and nothing is
 * deleted.  Readers are never blocked (WAL): one that began reading before
 * the deletion goes on seeing the run until it ends its read.  Ids of
 * deleted runs are never reused (AUTOINCREMENT).
 *
 * Deleting frees pages inside the file; store_compact() gives them back
 * to the file system. */

/* A deleted run, for messages (strings cut to fit). */
typedef struct store_deleted {
	int64_t id;
	int complete;
	char started_at[40];
	char scenario_name[128];
} store_deleted;

/* Deletes the runs ids[0..n) (any order, repeats ignored).  On success
 * *out (malloc'd, the caller frees it) describes them in id order, *n_out
 * of them.  O(rows deleted).  Outputs untouched on failure. */
int store_delete_runs(sqlite3 *db, const int64_t *ids, size_t n, store_deleted **out, size_t *n_out,
                      char *err, size_t err_size);

/* Keeps the `keep` newest complete runs and deletes every run older than
 * the oldest of them, complete or not (an older incomplete run was
 * interrupted or failed: nothing will complete it).  Incomplete runs newer
 * than the oldest kept run are left, as one may still be running.  With
 * keep 0 the cut is just after the newest complete run; with no complete
 * run nothing is deleted.  *out, *n_out as store_delete_runs; *n_kept (may
 * be NULL) the complete runs kept.  dry_run: choose and describe, delete
 * nothing. */
int store_prune(sqlite3 *db, int64_t keep, bool dry_run, store_deleted **out, size_t *n_out,
                int64_t *n_kept, char *err, size_t err_size);

/* VACUUM, then a TRUNCATE checkpoint: the file (and its -wal) shrink to
 * what the runs left need.  Chosen over auto_vacuum = INCREMENTAL: that
 * mode must be set before the first table is created (existing files
 * would need a VACUUM to switch anyway), costs pointer-map pages and page
 * moves on every commit of every run written, and only hands back whole
 * free pages at the end of the file; VACUUM costs nothing until a user
 * deletes, then rewrites the file once: O(file size) time, and free space
 * for a temporary copy of what is kept.  The checkpoint waits at most
 * STORE_COMPACT_WAIT_MS for a reader of an older snapshot; complete is
 * false when one stayed longer (the file then shrinks at a later
 * checkpoint).  Sizes are of the file plus its -wal, in bytes. */
#define STORE_COMPACT_WAIT_MS 3000

typedef struct store_compacted {
	int64_t bytes_before, bytes_after;
	bool complete;
} store_compacted;

int store_compact(sqlite3 *db, store_compacted *out, char *err, size_t err_size);

/* ---- faults ------------------------------------------------------------------
 *
 * Writing (store_open): an existing file that is ours is checked with
 * PRAGMA quick_check before anything is written (O(file size): about a
 * second per few hundred MB); a damaged file is refused ("damaged") and not
 * written to.  SQLite has no page checksums: damage inside a stored value
 * that leaves the b-trees well formed cannot be seen.  A full disk
 * (SQLITE_FULL) while writing results rolls the whole transaction back:
 * the message says "database or disk is full", the run stays incomplete
 * with no results, earlier runs are untouched.
 *
 * Test hook: when the environment variable THROTTLESIM_TEST_STORE_GROW_PAGES
 * holds a number N >= 0, store_open() lets the file grow by at most N pages
 * (store_set_max_pages), so a test can fill the "disk" at a chosen point
 * through the built program.  Nothing else reads the environment. */

/* Caps the main database at its current size plus extra_pages pages
 * (PRAGMA max_page_count); writes beyond fail with SQLITE_FULL exactly as
 * a full disk does.  The cap lasts as long as the handle. */
int store_set_max_pages(sqlite3 *db, int64_t extra_pages, char *err, size_t err_size);

/* ---- reading -----------------------------------------------------------------
 *
 * store_open_readonly() opens an existing store with SQLITE_OPEN_READONLY:
 * it never creates the file and never writes to it (SQLite may create the
 * -wal/-shm files beside it, as any reader of a WAL database does).  A
 * missing file fails with SIM_EIO ("no such file"); a file that is not ours
 * with SIM_ESTORE, as for store_open.  An unknown run id is SIM_EINVAL
 * ("no run 7"), so that a caller can tell bad input from a failing store.
 */

/* Opens path for reading. *db untouched on failure. */
int store_open_readonly(const char *path, sqlite3 **db, char *err, size_t err_size);

/* A `runs` row.  Strings are never NULL ("" for NULL columns) and, in a
 * store_run_fn callback, valid only during the call. */
typedef struct store_run_row {
	int64_t id;
	const char *started_at, *finished_at;   /* finished_at "" when not finished */
	int complete;                           /* 0 or 1 */
	const char *program_version, *scenario_name, *scenario_file, *command_line;
	const char *scenario_text;
	uint64_t seed;
	int64_t replications;
	int64_t n_variants;                     /* variants with results (0 if none) */
} store_run_row;

/* How a run's row reads: "complete", "interrupted" (ended incomplete:
 * store_end_run) or "running" (no end yet: going on, or killed without a
 * word). */
static inline const char *store_run_status(const store_run_row *r)
{
	return r->complete ? "complete" : r->finished_at && r->finished_at[0] ? "interrupted" : "running";
}

/* Called once per run, in id order; a non-zero return stops the walk and
 * is returned by store_list_runs. */
typedef int (*store_run_fn)(void *ctx, const store_run_row *row);

/* Walks every run, oldest first.  O(runs). */
int store_list_runs(sqlite3 *db, store_run_fn fn, void *ctx, char *err, size_t err_size);

/* The id of the newest run (complete or not).  SIM_EINVAL if there is none. */
int store_last_run(sqlite3 *db, int64_t *run_id, char *err, size_t err_size);

/* One summary row of a run, with what it summarises (for res_value()). */
typedef struct store_summary {
	size_t variant;        /* index into run.variants */
	res_entity_kind kind;
	size_t entity;         /* entity index in the scenario */
	const char *entity_name, *figure, *unit;
	res_what what;          /* RES_FIG, RES_REJECTED_BY or RES_LOST_BY */
	int idx;               /* res_fig or reply class; -1 for a figure this program does not know */
	double mean, half;     /* NaN for NULL */
	int64_t n;
} store_summary;

/* A variant's time series as the charts draw it: per step, the mean over
 * its replications (counts per step; backlog, sessions and throttled
 * mailboxes at the step's end).  Read from the stored mean rows
 * (replication -1), else averaged from the replications' own rows. */
typedef struct store_series_row {
	double accepted, released, lost, backlog, open_sessions, throttled;
	double rejected_by[RC_COUNT];
} store_series_row;

typedef struct store_series {
	store_series_row *rows;   /* steps 0 .. n - 1; NULL when the variant has no series */
	size_t n;
	int64_t step_ns;
	int64_t n_reps;           /* replications averaged */
	bool has_lost;            /* the file stores lost per step (else 0 here) */
} store_series;

/* A run read back: its row, and its results rebuilt as the writers take
 * them (figures, counts by reply class, seeds and events of every
 * replication; entity names; no time series), so rpt_table() prints the
 * table `throttlesim run` printed.  For a run without results, run.n_variants
 * is 0.  Summaries are those stored, in the writers' order: variant, total,
 * groups, mailboxes, figures in res_fig order, then rejected_by.* and
 * lost_by.* in reply-class order.  Everything is owned by the struct. */
typedef struct store_loaded {
	store_run_row row;
	rpt_run run;
	store_summary *summaries;
	size_t n_summaries;
	/* What the file can hold (set when the run has results): false for a
	 * file from before stored delay distributions (table delay_cdf: the
	 * replications' cdf points stay NaN) or before sweeps (the variants'
	 * sweep columns: no description has a sweep point). */
	bool has_delay_cdf;
	bool has_sweep;
	const store_series *series;   /* per variant (run.n_variants) */
	void *priv;            /* the memory behind all of the above */
} store_loaded;

/* Reads run_id; SIM_EINVAL if there is no such run.  O(rows of the run).
 * On failure *out is untouched. */
int store_load_run(sqlite3 *db, int64_t run_id, store_loaded **out, char *err, size_t err_size);

void store_loaded_free(store_loaded *l);

/* The summary of one figure ("accepted", "rejected_by.concurrency", as in
 * summaries.figure) of an entity of a variant (entity 0 for RES_TOTAL),
 * or NULL when the run has none.  O(log summaries + figures). */
const store_summary *store_find_summary(const store_loaded *l, size_t variant, res_entity_kind kind,
                                        size_t entity, const char *figure);

#endif
