/* store_merge.h - shards of a run in the results store, and their merge
 * into one run (`run --shard I/N`, `results merge OUT IN...`).
 *
 * A shard (shard.h) runs some units of a run into a store of its own and
 * records, beside the run, what it is: its index and count, the block of
 * replications per unit, the options that shape the run's results, and
 * the whole run's scenarios (name, sweep point, replications) with the
 * variant under which the shard stores each one it holds.  The record
 * lives in two tables of its own, `shards` and `shard_scenarios` (schema:
 * docs/SCALING.md), keyed by run_id, so store_delete_runs() removes it
 * with its run; nothing else of the store is touched.
 *
 * Merging reads each shard's newest run through the store's loader
 * (store_load_run), checks that the shards belong to one run (the same
 * program version, the same one as the merging program, scenario text,
 * seed, replications, options, block and scenarios) and that together
 * they hold every unit exactly once, puts every variant's replications in
 * order, and writes them as one run through the store's writer, which
 * recomputes the summaries and the mean time series from the
 * replications exactly as for a run on one machine: so the merged run
 * reads back as that run does.
 *
 * Atomicity: the merged run is written into a new file in the output's
 * directory and linked to the output's name only when complete (link(2):
 * it never replaces a file).  An output that exists is refused before
 * anything is read.  Interrupted at any point, the output is as before:
 * absent.  A leftover temporary file (after kill -9) is named OUT.merge-*.
 *
 * Errors: SIM_EINVAL when the inputs do not make one run (the message
 * says which files and why), SIM_EIO / SIM_ESTORE when a file cannot be
 * read or written, SIM_ENOMEM.  Nothing here prints.
 */
#ifndef SIM_STORE_MERGE_H
#define SIM_STORE_MERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "store.h"

/* One scenario of the whole run, as a shard records it. */
typedef struct store_shard_scenario {
	const char *name;        /* the variant's name ("base", ...) */
	int64_t point;           /* its sweep point; -1 when the run is no sweep */
	int64_t replications;
	int64_t variant_idx;     /* the shard's variant holding it; -1: none of its units */
} store_shard_scenario;

typedef struct store_shard {
	int64_t index, count;    /* shard I of N */
	int64_t block;           /* replications per unit */
	const char *options;     /* the options that shape the results, as text ("" none) */
	const store_shard_scenario *scenarios;
	size_t n_scenarios;
} store_shard;

/* Records run_id of db as shard s, in one transaction (the tables are
 * created on first use).  Called after store_begin_run and before the
 * results are written, so a complete run that is a shard always has its
 * record. */
int store_note_shard(sqlite3 *db, int64_t run_id, const store_shard *s, char *err, size_t err_size);

/* Reads the record of run_id: *out (malloc'd; store_shard_free) or NULL
 * when the run is not a shard.  Values are checked as the loader checks
 * its own: a record out of range is SIM_ESTORE ("damaged"). */
int store_load_shard(sqlite3 *db, int64_t run_id, store_shard **out, char *err, size_t err_size);
void store_shard_free(store_shard *s);

typedef struct store_merge_opts {
	const char *out;           /* the merged store: must not exist */
	const char *const *in;     /* the shards' stores (each: its newest run) */
	size_t n_in;
	const char *version;       /* this program's version */
	const char *command_line;   /* recorded as the merged run's */
	bool keep_series;          /* store every replication's series (else the mean) */
	const char *tmp_path;      /* NULL, or where to write before linking to out
	                            * (the caller's, to remove it on a signal) */
	store_wait_fn on_wait;
	void *ctx;
} store_merge_opts;

/* What was merged, for the caller's message. */
typedef struct store_merge_info {
	int64_t run_id;            /* in out */
	size_t n_variants;         /* variants (x sweep points) */
	int64_t n_replications;    /* replications of all of them */
	size_t n_units;
} store_merge_info;

int store_merge(const store_merge_opts *o, store_merge_info *info, char *err, size_t err_size);

#endif
