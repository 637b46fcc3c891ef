/* cli.h - the subcommands of the throttlesim command line, each in its own
 * file.  A subcommand takes the arguments after its name, may print, and
 * returns the exit status (0 success, 1 I/O or results store failure,
 * 2 bad usage); only these and main print or choose exit codes.
 */
#ifndef SIM_CLI_H
#define SIM_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "evset.h"
#include "scenario.h"
#include "scn_load.h"

/* `throttlesim results list|show|export ...`: reads the results store
 * (read-only); sim/program/cmd_results.c. */
int cmd_results(int argc, char **argv);

/* `throttlesim plot RUN ...`: charts of a stored run with gnuplot;
 * sim/program/cmd_plot.c. */
int cmd_plot(int argc, char **argv);

/* `throttlesim plan FILE --vary KEY --range A..B --target EXPR`: the
 * smallest (or largest) value meeting a target, by bisection;
 * sim/program/cmd_plan.c. */
int cmd_plan(int argc, char **argv);

/* ---- shared by the subcommands (sim/program/cli_opts.c) ---- */

/* An integer in [lo, hi], or -1 after printing "throttlesim CMD: OPT: ...". */
int cli_parse_int(const char *cmd, const char *opt, const char *s, int64_t lo, int64_t hi, int64_t *out);

/* How to run replications: the options run and plan share. */
typedef struct cli_run_opts {
	evs_kind kind;      /* --engine calendar|heap */
	int jobs;           /* --jobs N; 0 until cli_run_opts_finish: the number of cores */
	bool quiet;         /* --quiet, -q */
	bool have_seed, have_reps, have_duration;
	uint64_t seed;      /* --seed N */
	int64_t reps;       /* --replications N */
	int64_t duration_ns;/* --duration D */
} cli_run_opts;

void cli_run_opts_init(cli_run_opts *o);
/* If a is one of the shared options, applies it: 2 when it used the value
 * val, 1 when it took none (--quiet), 0 when a is not one of them, -1 after
 * printing why the value is wrong. */
int cli_run_option(const char *cmd, const char *a, const char *val, cli_run_opts *o);
void cli_run_opts_finish(cli_run_opts *o);
/* The command line's --seed, --replications and --duration, onto s. */
void cli_apply_run_opts(const cli_run_opts *o, scenario *s);

/* Prints every problem of a failed scn_load (each followed by suffix, which
 * may be NULL) and returns the exit status: 1 out of memory, else 2. */
int cli_load_failed(const char *path, int rc, const scn_errors *errs, const char *suffix);

#endif
