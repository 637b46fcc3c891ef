/* plot_int.h - what the files of `throttlesim plot` share (plot.c: command
 * line and driver; plot_gnuplot.c: gnuplot, its scripts and variables;
 * plot_data.c: data files and labels common to the charts; plot_timeseries.c,
 * plot_cdf.c, plot_compare.c, plot_sweep.c: one chart kind each).  Not a
 * contract for anything outside sim/program/plot*.c; the plot_ prefix marks
 * it.
 *
 * Data flows one way: store_load_run() (the whole run, read-only) -> plain
 * whitespace data files -> gnuplot, run on the scripts of plots/ with its
 * inputs as variables.  Nothing here reads the store's tables or the
 * scenario's text, except --entity's replay (replay.h), which rebuilds
 * the run's scenario from the text the store kept and checks it against
 * the stored figures: limits, names and sweep points come from each
 * variant's res_desc, figures from the stored summaries.
 *
 * What gnuplot sees is chosen here, never by the user.  Every file of a
 * chart (data, variables, a copy of its script, the image) is made in a
 * private directory (mkdtemp, 0700) under a name this program builds from
 * [A-Za-z0-9._-]; gnuplot runs with that directory as its working
 * directory and is given only those relative names, on its command line
 * (two, whatever the size of the run) and in its variables.  So an --out
 * of '|cmd' or '<cmd', which gnuplot's `set output` would hand to a shell,
 * never reaches it.  Finished files are then moved into --out with
 * renameat() (which replaces a symlink planted there, never writes
 * through it), or copied with outf_open/outf_commit when --out is on
 * another file system.  Names from the store reach gnuplot only as
 * single-quoted literals with every control and broken UTF-8 made '?'
 * (plot_gp_str), and data files only in comments, cleaned the same way
 * (plot_put_text): a foreign store may hold any name.
 *
 * Errors: the chart functions print their own messages (this is a command)
 * and return 0, EXIT_FAIL or EXIT_USAGE; a chart the store has no
 * data for prints a `note:` line and returns 0.
 */
#ifndef SIM_PLOT_INT_H
#define SIM_PLOT_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "replay.h"
#include "store.h"

#include "exit.h"

/* The sweep chart's default figure, computed from the replications: the
 * 95th percentile delivery delay of all generated mail, lost or never
 * delivered mail counting as infinitely late (plot_delay_all). */
#define PLOT_DELAY_ALL "delay_p95_all"

#define PLOT_W 1000
#define PLOT_H 600
/* Directories are kept short enough that every file name built from them fits in PATH_MAX. */
#define PLOT_DIR_MAX 2048

typedef enum plot_chart { PLOT_TIMESERIES, PLOT_CDF, PLOT_COMPARE, PLOT_SWEEP, PLOT_CHARTS } plot_chart;

typedef struct plot_opts {
	const char *db, *run, *out, *format, *variant, *figure;
	const char *from, *to;   /* --from/--to: the time series' window, or NULL */
	const char *entity;      /* --entity NAME: a sender group or mailbox, or NULL */
	const char *scripts;  /* --scripts DIR, or NULL */
	int chart;         /* a plot_chart; -1: all */
	bool keep_vars;    /* also write each chart's gnuplot variables (<image stem>.vars) */
} plot_opts;

/* A variant as the charts see it: a view into the loaded run. */
typedef struct plot_variant {
	size_t idx;              /* index in the run */
	const rpt_variant *rv;   /* name, description, replications */
	const char *name;
	bool has_point;          /* a sweep point */
	const char *key, *key2;  /* swept keys; NULL when none */
	double value, value2;    /* swept values; NaN when none */
} plot_variant;

/* The context of one plot command.  Borrows the loaded run. */
typedef struct plot_ctx {
	const plot_opts *o;
	const store_loaded *l;
	int64_t run_id;
	const char *scenario_name;
	int64_t replications;
	plot_variant *v;
	size_t n_v;
	bool is_sweep;           /* some variant is a sweep point */
	char gnuplot[PATH_MAX];
	char scripts[PLOT_DIR_MAX];
	char out[PLOT_DIR_MAX];  /* the user's directory, for messages and copies */
	int out_fd;              /* it, opened once; -1 before */
	char tmp[PATH_MAX];      /* the private directory gnuplot works in */
	int tmp_fd;              /* it, opened; -1 before */
	int written;             /* images written */
	/* --entity: the sender group or mailbox every chart is of.  ent[i] is
	 * its index in variant i (SIZE_MAX: that variant has none); NULL
	 * without --entity (the whole scenario).  The time series and the
	 * delay distribution come from the replay (replay.h), the compare and
	 * sweep charts from the stored per-entity summaries. */
	res_entity_kind ent_kind;
	size_t *ent;
	char ent_label[160];     /* "sender group 'mfp'", "mailbox 'a@b'" */
	replay_result replay;
} plot_ctx;

/* ---- a growing string (plot_gnuplot.c) ---- */

typedef struct plot_sbuf {
	char *s;
	size_t n, cap;
	bool oom;                /* an allocation failed: s is incomplete */
} plot_sbuf;

void plot_sb_printf(plot_sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- gnuplot (plot_gnuplot.c) ---- */

/* One line "name=value" of a gnuplot script.  A string is cleaned (every
 * control, DEL, C1 control and broken UTF-8 byte '?', as term_clean) and
 * written as single-quoted literals with no quote inside, each ' as
 * sprintf('%c',39), joined by '.': no doubled quote that gnuplot's scanner
 * could misread at the start of a string, no double quote to confuse its
 * @macro and `backquote` scanning, which skip single-quoted text. */
void plot_gp_str(plot_sbuf *b, const char *name, const char *value);
void plot_gp_lines(plot_sbuf *b, const char *name, const char *value); /* a title: "\n" breaks lines */
void plot_gp_num(plot_sbuf *b, const char *name, double v);
void plot_gp_int(plot_sbuf *b, const char *name, long long v);
/* The variables of every script: datafile, out, fmt, title, width, height.
 * datafile and img are the names chosen by the chart (relative). */
void plot_gp_common(const plot_ctx *c, plot_sbuf *b, const char *datafile, const char *img,
                    const char *title);

/* gnuplot on PATH (absolute entries only: an empty or relative entry would
 * run a gnuplot of the working directory). */
bool plot_find_gnuplot(char *out, size_t size);
/* The directory of the scripts, from --scripts DIR, else
 * $THROTTLESIM_PLOTS, else where they were installed: the directory
 * compiled in (THROTTLESIM_PLOTS_DIR), else plots/ found from the
 * program's own path (/proc/self/exe).  Never ./plots of the working
 * directory: running plot inside a checkout must not run its scripts.
 * An explicit choice that holds no scripts is an error, not replaced.
 * 0, EXIT_USAGE (--scripts) or EXIT_FAIL; messages printed. */
int plot_find_scripts(plot_ctx *c);

/* Runs gnuplot (no shell) in the private directory on a copy of
 * <scripts>/<script>.gp, after a file of vars; then moves the data file
 * and, if gnuplot succeeded and wrote it, the image into --out (and the
 * variables as <image stem>.vars with --keep-vars), prints the image's
 * path and counts it.  datafile and image are names in the private
 * directory.  0 or EXIT_FAIL (gnuplot's messages shown). */
int plot_render(plot_ctx *c, const char *script, const plot_sbuf *vars, const char *datafile,
                const char *image);
/* Moves the file name of the private directory into --out (rename, or a
 * copy through outf when --out is on another file system).  0 or EXIT_FAIL. */
int plot_move_out(plot_ctx *c, const char *name);

/* ---- data files and labels (plot_data.c) ---- */

/* A new file name in the private directory (O_EXCL, O_NOFOLLOW) / its
 * fclose, with a message on failure (NULL / EXIT_FAIL). */
FILE *plot_open_data(const plot_ctx *c, const char *name);
int plot_close_data(const plot_ctx *c, FILE *f, const char *name);
/* s as text of a data file's comment: cleaned as term_clean (a newline in
 * a name must not start a row). */
void plot_put_text(FILE *f, const char *s);
/* " %.10g", or " NaN" (gnuplot skips it) for a value that is not finite. */
void plot_put_num(FILE *f, double x);
/* A file name part: letters, digits, - _ . kept, anything else '_'; at most 48. */
void plot_safe_name(const char *s, char *buf, size_t size);
/* Seconds shown in s, min or h, whichever keeps numbers up to max_s short. */
void plot_time_unit(double max_s, double *scale, const char **unit);
/* nvar, vname1..: every variant for a legend (in a sweep, with its point). */
void plot_variant_names(const plot_ctx *c, plot_sbuf *b);
/* The summary of figure for variant i of the charts' entity (the whole
 * scenario, or --entity's), or NULL. */
const store_summary *plot_total(const plot_ctx *c, size_t i, const char *figure);
/* The charts' entity in replication r (the whole scenario or --entity's);
 * NULL when variant i has no such entity. */
const res_entity *plot_entity(const plot_ctx *c, size_t i, const res_rep *r);
/* The replay of variant i (--entity), or NULL. */
const replay_variant *plot_replayed(const plot_ctx *c, size_t i);
/* Figure fig of entity e as a share of its messages, in [0, 1]: of those
 * generated, or, for a mailbox whose generation is undefined (instances
 * without a home use it), of those accepted or lost on it.  NaN when
 * there were none. */
double plot_share(const res_entity *e, int fig);
/* "" or "-group-mfp", "-mailbox-a_b.com": what --entity adds to file names. */
void plot_ent_suffix(const plot_ctx *c, char *buf, size_t size);
/* " (run 7)" or ", sender group 'mfp' (run 7)": what the titles name. */
void plot_of(const plot_ctx *c, char *buf, size_t size);
/* The p-quantile (0.95: p95) of the delay of ALL generated mail of
 * variant i, averaged over its replications with its 95% half-width:
 * delivery (generation to release) or submission (to acceptance).  Lost,
 * pending and unreleased mail count as never delivered, so the quantile
 * is +Inf in a replication where less than p of the mail got through,
 * and *mean is +Inf (half NaN) when it is in any replication: a lossy
 * variant never looks fastest.  From the stored delay quantiles and
 * figures of each replication.  0, or -1 out of memory. */
int plot_delay_all(const plot_ctx *c, size_t i, bool delivery, double p, double *mean, double *half);
/* Prints "throttlesim: out of memory"; EXIT_FAIL. */
int plot_oom(void);

/* ---- the charts: 0, EXIT_FAIL or EXIT_USAGE ---- */

int plot_chart_timeseries(plot_ctx *c);
int plot_chart_cdf(plot_ctx *c);
int plot_chart_compare(plot_ctx *c);
int plot_chart_sweep(plot_ctx *c);

#endif
