/* cli_plot.h - `throttlesim plot RUN`: charts of a stored run, drawn by
 * gnuplot with the scripts in plots/ (sim/cmd_plot.c; docs/PLOTS.md).
 *
 * Reads the results store only (read-only; never creates it), writes data
 * files and images into one output directory, and runs gnuplot without a
 * shell.  Prints, like every subcommand, and returns the exit status:
 * 0 every chart asked for was drawn, 1 gnuplot missing or failed, the store
 * unreadable or not ours, an output file not writable; 2 bad usage, an
 * unknown run, variant or figure.
 */
#ifndef SIM_CLI_PLOT_H
#define SIM_CLI_PLOT_H

/* argv holds the arguments after `plot`. */
int cmd_plot(int argc, char **argv);

#endif
