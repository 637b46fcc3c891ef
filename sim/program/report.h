/* report.h - writers of a run's results: a table for an 80-column terminal,
 * JSON (complete), CSV (one row per variant x entity x figure).
 *
 * Writers only read: they take the results of replications already run
 * (rpt_run) and a FILE*, and never run, print elsewhere or exit.  Each
 * figure is summarised across replications with stats.h (mean over the
 * replications where it is defined, 95% Student-t half-width, n).
 *
 * Determinism: the same rpt_run gives byte-identical output from every
 * writer: keys and rows in fixed order (figures in res_fig order, entities
 * in scenario order, reply classes in enum order), numbers with %.17g,
 * NaN and infinities as null (JSON) or empty (CSV), no wall times.
 *
 * Ownership: the writers borrow everything in rpt_run; they allocate
 * nothing.  Errors: SIM_EINVAL for an inconsistent rpt_run, SIM_EIO when
 * the stream reports an error (ferror) — part of the output may have been
 * written.
 */
#ifndef SIM_REPORT_H
#define SIM_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "results.h"

/* One variant ("base" first, by convention) and its replications. */
typedef struct rpt_variant {
	const char *name;        /* variant name */
	const res_desc *desc;    /* names, limits, sweep point; may be NULL (names become g0, m0, ...) */
	const res_rep *reps;     /* reps[0..n_reps), same scenario, seeds as the base */
	size_t n_reps;
} rpt_variant;

/* Where a stored run came from: written by `results export`, never by
 * `run` (its timestamps would make the output depend on the clock). */
typedef struct rpt_provenance {
	int64_t id;
	bool complete;
	const char *started_at, *finished_at;  /* finished_at "" when not finished */
	const char *scenario_file, *command_line, *scenario_text;
	int64_t replications;
} rpt_provenance;

typedef struct rpt_run {
	const char *scenario_name;
	uint64_t seed;
	const char *version;     /* program version */
	const rpt_variant *variants;
	size_t n_variants;
	bool json_series;        /* JSON: include each replication's time series */
	bool json_describe;      /* JSON: include what the results refer to (each variant's
	                          * length, each entity's route and limits, whether each
	                          * class was given); off: the figures alone */
	const rpt_provenance *stored; /* NULL, or the store's record of the run */
} rpt_run;

/* A reply class's stable identifier for JSON/CSV/SQL ("concurrency",
 * "recipient_rate") and its catalog code (models/replies.h).  NULL / 0 for
 * an out-of-range class. */
const char *rpt_reply_id(int reply_class);
int rpt_reply_code(int reply_class);

/* The short label of class c as a variant's results show it: the
 * catalog's label, unless the reply given has another code, then its
 * code and enhanced code ("421 4.7.0").  Writes at most size bytes. */
void rpt_reply_label(const rpt_variant *v, int c, char *buf, size_t size);

/* Entity name: the description's group/mailbox name, "total", or
 * "g<i>"/"m<i>" when there is no description.  Writes at most size bytes. */
void rpt_entity_name(const res_desc *d, int kind, size_t index, char *buf, size_t size);

/* Formats a duration in seconds for people: "250ms", "1.2s", "45s",
 * "3m04s", "2h10m", "3d04h"; "-" for NaN.  buf >= 16 bytes. */
void rpt_format_duration(double seconds, char *buf, size_t size);

int rpt_table(FILE *f, const rpt_run *run);
/* The comparison of variants (rows) on the key figures (columns), with
 * 95% half-widths and each variant's paired difference from the first
 * variant; rpt_table prints it at the end when there are several. */
int rpt_compare(FILE *f, const rpt_run *run);
int rpt_json(FILE *f, const rpt_run *run);
int rpt_csv(FILE *f, const rpt_run *run);

#endif
