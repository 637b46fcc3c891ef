/* cli.h - the subcommands of the throttlesim command line, each in its own
 * file.  A subcommand takes the arguments after its name, may print, and
 * returns the exit status (0 success, 1 I/O or results store failure,
 * 2 bad usage); only these and main print or choose exit codes.
 */
#ifndef SIM_CLI_H
#define SIM_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evloop.h"
#include "evset.h"
#include "scenario.h"
#include "scn_load.h"

/* `throttlesim results list|show|export ...`: reads the results store
 * (read-only); sim/program/cmd_results.c. */
int cmd_results(int argc, char **argv);

/* `throttlesim plot RUN ...`: charts of a stored run with gnuplot;
 * sim/program/plot.c. */
int cmd_plot(int argc, char **argv);

/* `throttlesim report RUN --html FILE`: a stored run's one-page report,
 * HTML or Markdown; sim/program/cmd_report.c. */
int cmd_report(int argc, char **argv);

/* `throttlesim serve SCENARIO ...`: the scenario's rules behind a live SMTP
 * listener; sim/program/serve.c. */
int cmd_serve(int argc, char **argv);

/* `throttlesim load SCENARIO --target ADDR:PORT`: the scenario's senders as
 * real SMTP clients against a server, in scaled time; sim/program/load.c. */
int cmd_load(int argc, char **argv);

/* `throttlesim token ADDRESS`: an XOAUTH2 token serve accepts;
 * sim/program/cmd_token.c. */
int cmd_token(int argc, char **argv);

/* `throttlesim profile RECORD`: a recorded client's session: and retry:
 * sections; sim/program/cmd_profile.c. */
int cmd_profile(int argc, char **argv);

/* `throttlesim plan FILE --vary KEY --range A..B --target EXPR`: the
 * smallest (or largest) value meeting a target, by bisection;
 * sim/program/cmd_plan.c. */
int cmd_plan(int argc, char **argv);

/* ---- shared by the subcommands (sim/program/cli.c) ---- */

/* The one option parser.  A command lists its options; cli_parse walks
 * argv, calling fn(ctx, id, name, value) for each option (value NULL when
 * it takes none) and fn(ctx, CLI_ARG, NULL, arg) for each other argument.
 * "--name value", "--name=value" and the alias ("-q") are accepted; "--"
 * ends the options.  -h or --help anywhere prints usage to standard output
 * and returns 1 before anything else is looked at.  An unknown option, a
 * missing value or fn's -1 return -1, the message on standard error. */
typedef struct cli_opt {
	const char *name;     /* "--db" */
	const char *alias;    /* "-q", or NULL */
	bool takes_value;
	int id;
} cli_opt;
#define CLI_ARG (-1)
typedef int (*cli_fn)(void *ctx, int id, const char *opt, const char *val);
int cli_parse(const char *cmd, const char *usage, const cli_opt *opts, size_t n_opts,
              int argc, char **argv, cli_fn fn, void *ctx);

/* The index of val in the NULL-terminated choices, or -1 after printing
 * "throttlesim CMD: OPT: expected a, b or c, got 'val'". */
int cli_choice(const char *cmd, const char *opt, const char *val, const char *const *choices);

/* An integer in [lo, hi], or -1 after printing "throttlesim CMD: OPT: ...". */
int cli_parse_int(const char *cmd, const char *opt, const char *s, int64_t lo, int64_t hi, int64_t *out);

/* --memory-budget B (check, run, plan): 0 with *out set, or -1 after
 * printing "throttlesim CMD: --memory-budget: expected a size ...". */
int cli_memory_budget(const char *cmd, const char *val, uint64_t *out);

/* --time-scale K (serve, load): 0 with *out set, or -1 after printing
 * "throttlesim CMD: --time-scale: expected ...". */
int cli_time_scale(const char *cmd, const char *val, ev_scale *out);

/* The arguments joined by spaces after head (NULL: none), for the store's
 * record of a command line: a malloc'd string, or NULL. */
char *cli_join_args(const char *head, int argc, char *const *argv);

/* Raise the soft limit on open files to the hard one (a server or load
 * generator with many sockets); failures are ignored: accept reports
 * EMFILE later. */
void cli_raise_fd_limit(void);

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

/* The rows of the options run and plan share, all with the same id: the
 * command's handler passes that id's options to cli_run_option. */
#define CLI_RUN_OPTIONS(id) \
	{ "--seed", NULL, true, (id) }, { "--replications", NULL, true, (id) }, \
	{ "--duration", NULL, true, (id) }, { "--jobs", "-j", true, (id) }, \
	{ "--engine", NULL, true, (id) }, { "--quiet", "-q", false, (id) }

void cli_run_opts_init(cli_run_opts *o);
/* Applies one of CLI_RUN_OPTIONS (by its name) with its value: 0, or -1
 * after printing why the value is wrong. */
int cli_run_option(const char *cmd, const char *a, const char *val, cli_run_opts *o);
void cli_run_opts_finish(cli_run_opts *o);
/* The command line's --seed, --replications and --duration, onto s. */
void cli_apply_run_opts(const cli_run_opts *o, scenario *s);

/* Prints every problem of a failed scn_load (each followed by suffix, which
 * may be NULL) and returns the exit status: 1 out of memory, else 2. */
int cli_load_failed(const char *path, int rc, const scn_errors *errs, const char *suffix);

#endif
