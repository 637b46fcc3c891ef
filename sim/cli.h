/* cli.h - the subcommands of the throttlesim command line, each in its own
 * file.  A subcommand takes the arguments after its name, may print, and
 * returns the exit status (0 success, 1 I/O or results store failure,
 * 2 bad usage); only these and main print or choose exit codes.
 */
#ifndef SIM_CLI_H
#define SIM_CLI_H

/* `throttlesim results list|show|export ...`: reads the results store
 * (read-only); sim/cmd_results.c. */
int cmd_results(int argc, char **argv);

/* `throttlesim plot RUN ...`: charts of a stored run with gnuplot;
 * sim/cmd_plot.c. */
int cmd_plot(int argc, char **argv);

/* `throttlesim plan FILE --vary KEY --range A..B --target EXPR`: the
 * smallest (or largest) value meeting a target, by bisection;
 * sim/cmd_plan.c. */
int cmd_plan(int argc, char **argv);

#endif
