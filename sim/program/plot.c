/* plot.c - `throttlesim plot RUN`: the command line and the driver.  It
 * loads the whole run with store_load_run() (the store opened read-only),
 * finds gnuplot and the scripts, makes the output directory and the
 * private directory the charts are drawn in, and draws each chart asked
 * for (docs/PLOTS.md).  The charts live in plot_<kind>.c, gnuplot in
 * plot_gnuplot.c; what they share, and why gnuplot never sees a path of
 * the user's, in plot_int.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "plot_int.h"
#include "res_summary.h"
#include "status.h"
#include "term.h"
#include "yaml.h"

#ifndef THROTTLESIM_VERSION
#define THROTTLESIM_VERSION "0.0.0"
#endif

static const char plot_usage[] =
	"usage: throttlesim plot RUN [--db FILE] [--out DIR] [--format png|svg]\n"
	"                            [--chart KIND] [--variant NAME] [--figure NAME]\n"
	"                            [--entity NAME] [--from T] [--to T]\n"
	"                            [--keep-vars] [--scripts DIR]\n"
	"\n"
	"Draws the charts of a stored run with gnuplot (scripts in plots/):\n"
	"  timeseries  per variant, the mean over replications on the scenario's clock:\n"
	"              accepted, released and lost per minute against the message\n"
	"              rate limit, refusals by reply, outbox backlog, open sessions\n"
	"              against the concurrency limit, error-throttle periods shaded\n"
	"  cdf         delivery delay of every variant as a share of all messages:\n"
	"              lost and undelivered mail is the gap left at the top\n"
	"  compare     the variants' key figures, bars with 95% interval whiskers\n"
	"  sweep       a figure against the swept value, with its 95% band\n"
	"\n"
	"  RUN            a run id or 'last' (the newest run)\n"
	"  --db FILE      results store (default throttlesim.db), opened read-only\n"
	"  --out DIR      where images and their data files go (default plots-run<ID>)\n"
	"  --format F     png (default) or svg\n"
	"  --chart KIND   draw only this chart: timeseries, cdf, compare or sweep\n"
	"  --variant NAME time series of this variant only (default: every variant)\n"
	"  --figure NAME  the sweep chart's figure (default delay_p95_all: the 95th\n"
	"                 percentile delivery delay counting lost mail as never delivered)\n"
	"  --entity NAME  every chart of this sender group or mailbox (group:NAME or\n"
	"                 mailbox:NAME when both have it): the time series and delays\n"
	"                 by replaying the run's replications, checked against the store\n"
	"  --from T, --to T  the time series' window: a clock time (08:30) or a time\n"
	"                 since the start (90m); default: the active window\n"
	"  --keep-vars    also write each chart's gnuplot variables to <chart>.vars\n"
	"                 beside its data (redraw, in DIR: gnuplot X.vars plots/CHART.gp)\n"
	"  --scripts DIR  the gnuplot scripts (timeseries.gp ...) to use\n"
	"  -h, --help     show this help\n"
	"\n"
	"The scripts are taken from --scripts DIR, else $THROTTLESIM_PLOTS, else\n"
	"where they were installed (the plots/ directory compiled in, or the one\n"
	"beside the program); never from ./plots of the working directory.\n"
	"Charts are drawn in a private temporary directory and moved into DIR, so\n"
	"any directory name is taken literally and a symlink there is replaced,\n"
	"never written through.\n"
	"\n"
	"exit status: 0 success, 1 gnuplot missing or failed, store unreadable or\n"
	"output not writable, 2 bad usage or unknown run, variant or figure\n";


enum { PO_DB, PO_OUT, PO_FORMAT, PO_CHART, PO_VARIANT, PO_FIGURE, PO_KEEP_VARS, PO_SCRIPTS, PO_ENTITY,
       PO_FROM, PO_TO };

static int plot_option(void *ctx, int id, const char *opt, const char *v)
{
	plot_opts *o = ctx;
	static const char *const formats[] = { "png", "svg", NULL };
	static const char *const charts[] = { "timeseries", "cdf", "compare", "sweep", NULL };
	_Static_assert(sizeof charts / sizeof charts[0] == PLOT_CHARTS + 1, "a name per chart");
	switch (id) {
	case CLI_ARG:
		if (o->run) {
			term_eprintf("throttlesim plot: unexpected argument '%s' (try --help)\n", v);
			return -1;
		}
		o->run = v;
		return 0;
	case PO_DB: o->db = v; return 0;
	case PO_OUT: o->out = v; return 0;
	case PO_FORMAT:
		if (cli_choice("plot", opt, v, formats) < 0)
			return -1;
		o->format = v;
		return 0;
	case PO_CHART:
		o->chart = cli_choice("plot", opt, v, charts);
		return o->chart < 0 ? -1 : 0;
	case PO_VARIANT: o->variant = v; return 0;
	case PO_FIGURE: o->figure = v; return 0;
	case PO_SCRIPTS: o->scripts = v; return 0;
	case PO_ENTITY: o->entity = v; return 0;
	case PO_FROM: o->from = v; return 0;
	case PO_TO: o->to = v; return 0;
	default: o->keep_vars = true; return 0;
	}
}

/* -1 error (printed), 0 go on, 1 help printed. */
static int parse(int argc, char **argv, plot_opts *o)
{
	static const cli_opt opts[] = {
		{ "--db", NULL, true, PO_DB }, { "--out", NULL, true, PO_OUT },
		{ "--format", NULL, true, PO_FORMAT }, { "--chart", NULL, true, PO_CHART },
		{ "--variant", NULL, true, PO_VARIANT }, { "--figure", NULL, true, PO_FIGURE },
		{ "--keep-vars", NULL, false, PO_KEEP_VARS }, { "--scripts", NULL, true, PO_SCRIPTS },
		{ "--entity", NULL, true, PO_ENTITY }, { "--from", NULL, true, PO_FROM }, { "--to", NULL, true, PO_TO },
	};
	*o = (plot_opts){ .db = "throttlesim.db", .format = "png", .figure = PLOT_DELAY_ALL,
	                  .chart = -1 };
	int p = cli_parse("plot", plot_usage, opts, sizeof opts / sizeof opts[0], argc, argv, plot_option, o);
	if (p != 0)
		return p;
	if (o->run == NULL) {
		fprintf(stderr, "throttlesim plot: which run? give a run id or 'last' (try --help)\n");
		return -1;
	}
	if (o->entity != NULL) {
		const char *n = o->entity;
		if (strncmp(n, "group:", 6) == 0)
			n += 6;
		else if (strncmp(n, "mailbox:", 8) == 0)
			n += 8;
		if (*n == 0) {
			fprintf(stderr, "throttlesim plot: --entity: expected a sender group or mailbox name\n");
			return -1;
		}
	}
	return 0;
}

/* --entity in each variant, by the names the store keeps (res_desc):
 * c->ent[i] its index in variant i, SIZE_MAX where it has none.  A name
 * of both a group and a mailbox must say which (group:NAME, mailbox:NAME);
 * an unknown one gets the nearest name.  0 or EXIT_USAGE (printed). */
static int resolve_entity(plot_ctx *c)
{
	const char *name = c->o->entity;
	int want = 0; /* 0 either, else RES_GROUP / RES_MAILBOX */
	if (strncmp(name, "group:", 6) == 0)
		want = RES_GROUP, name += 6;
	else if (strncmp(name, "mailbox:", 8) == 0)
		want = RES_MAILBOX, name += 8;
	if ((c->ent = malloc((c->n_v ? c->n_v : 1) * sizeof *c->ent)) == NULL)
		return plot_oom();
	bool group = false, mailbox = false;
	yml_nearest near = { name, NULL, (size_t)-1 };
	for (size_t i = 0; i < c->n_v; i++) {
		const res_desc *d = c->v[i].rv->desc;
		for (size_t k = 0; d && (want == 0 || want == RES_GROUP) && k < d->n_groups; k++) {
			yml_near_try(&near, d->groups[k].name);
			group = group || strcmp(d->groups[k].name, name) == 0;
		}
		for (size_t k = 0; d && (want == 0 || want == RES_MAILBOX) && k < d->n_mailboxes; k++) {
			yml_near_try(&near, d->mailboxes[k].name);
			mailbox = mailbox || strcmp(d->mailboxes[k].name, name) == 0;
		}
	}
	if (group && mailbox) {
		term_eprintf("throttlesim plot: --entity: '%s' names both a sender group and a mailbox;"
		             " write group:%s or mailbox:%s\n", name, name, name);
		return EXIT_USAGE;
	}
	if (!group && !mailbox) {
		const char *what = want == RES_GROUP ? "sender group" : want == RES_MAILBOX ? "mailbox"
		                                                                          : "sender group or mailbox";
		const char *sug = yml_near_result(&near);
		if (sug)
			term_eprintf("throttlesim plot: --entity: run %lld has no %s named '%s' (did you mean '%s'?)\n",
			             (long long)c->run_id, what, name, sug);
		else
			term_eprintf("throttlesim plot: --entity: run %lld has no %s named '%s'\n", (long long)c->run_id,
			             what, name);
		return EXIT_USAGE;
	}
	c->ent_kind = group ? RES_GROUP : RES_MAILBOX;
	for (size_t i = 0; i < c->n_v; i++) {
		const res_desc *d = c->v[i].rv->desc;
		c->ent[i] = SIZE_MAX;
		size_t n = !d ? 0 : group ? d->n_groups : d->n_mailboxes;
		for (size_t k = 0; k < n && c->ent[i] == SIZE_MAX; k++)
			if (strcmp(group ? d->groups[k].name : d->mailboxes[k].name, name) == 0)
				c->ent[i] = k;
	}
	char *clean = strdup(name);
	if (clean == NULL)
		return plot_oom();
	term_clean(clean);
	snprintf(c->ent_label, sizeof c->ent_label, "%s '%s'", group ? "sender group" : "mailbox", clean);
	free(clean);
	return 0;
}

/* Which variants the time series and the delay distribution draw: those
 * the replay must run. */
static size_t replay_wanted(const plot_ctx *c, bool *want)
{
	bool ts = c->o->chart < 0 || c->o->chart == PLOT_TIMESERIES;
	bool cdf = (c->o->chart < 0 || c->o->chart == PLOT_CDF) && c->l->has_delay_cdf;
	bool ts_all = !(c->o->variant == NULL && c->is_sweep && c->o->chart != PLOT_TIMESERIES);
	size_t n = 0;
	for (size_t i = 0; i < c->n_v; i++) {
		want[i] = c->ent[i] != SIZE_MAX &&
		          (cdf || (ts && ts_all && (c->o->variant == NULL || strcmp(c->o->variant, c->v[i].name) == 0)));
		n += want[i];
	}
	return n;
}

/* The replay of the variants drawn (replay.h): told on stderr, since it
 * takes as long as the run did.  0, EXIT_FAIL, or EXIT_USAGE when the
 * run cannot be replayed (printed). */
static int replay(plot_ctx *c, const scn_override *sets, size_t n_sets)
{
	bool *want = calloc(c->n_v ? c->n_v : 1, sizeof *want);
	if (want == NULL)
		return plot_oom();
	size_t nv = replay_wanted(c, want), reps = 0;
	if (nv == 0) {
		free(want);
		return 0;
	}
	for (size_t i = 0; i < c->n_v; i++)
		if (want[i])
			reps += c->v[i].rv->n_reps;
	term_eprintf("throttlesim plot: replaying %zu replication%s of %zu variant%s for the %s (the store"
	             " keeps its figures, not its time series)\n", reps, reps == 1 ? "" : "s", nv,
	             nv == 1 ? "" : "s", c->ent_label);
	char err[1024] = "";
	int st = replay_run(c->l, sets, n_sets, THROTTLESIM_VERSION, c->ent_kind, c->ent, want, &c->replay, err,
	                    sizeof err);
	free(want);
	if (st == SIM_OK)
		return 0;
	if (st == SIM_ENOMEM)
		return plot_oom();
	term_eprintf("throttlesim plot: --entity: cannot replay run %lld: %s\n", (long long)c->run_id, err);
	return st == SIM_EINVAL ? EXIT_USAGE : EXIT_FAIL;
}

/* The charts' view of each variant: name and sweep point from its
 * description.  0 or EXIT_FAIL. */
static int make_variants(plot_ctx *c)
{
	const rpt_run *run = &c->l->run;
	c->n_v = run->n_variants;
	if ((c->v = calloc(c->n_v ? c->n_v : 1, sizeof *c->v)) == NULL)
		return plot_oom();
	for (size_t i = 0; i < c->n_v; i++) {
		const rpt_variant *rv = &run->variants[i];
		const res_desc *d = rv->desc;
		int nk = d && d->sweep_point >= 0 ? d->n_sweep_keys : 0;
		c->v[i] = (plot_variant){ .idx = i, .rv = rv, .name = rv->name, .has_point = d && d->sweep_point >= 0,
		                          .key = nk >= 1 ? d->sweep_key[0] : NULL,
		                          .key2 = nk >= 2 ? d->sweep_key[1] : NULL,
		                          .value = nk >= 1 ? d->sweep_value[0] : NAN,
		                          .value2 = nk >= 2 ? d->sweep_value[1] : NAN };
		if (c->v[i].has_point)
			c->is_sweep = true;
	}
	return 0;
}

/* --variant names a variant of the run?  0 or EXIT_USAGE. */
static int check_variant(const plot_ctx *c)
{
	if (c->o->variant == NULL)
		return 0;
	for (size_t i = 0; i < c->n_v; i++)
		if (strcmp(c->v[i].name, c->o->variant) == 0)
			return 0;
	term_eprintf("throttlesim plot: run %lld has no variant '%s'; it has:", (long long)c->run_id,
	             c->o->variant);
	for (size_t k = 0; k < c->n_v; k++)
		if (k == 0 || strcmp(c->v[k].name, c->v[k - 1].name) != 0)
			term_eprintf(" %s", c->v[k].name);
	fputc('\n', stderr);
	return EXIT_USAGE;
}

/* The run RUN names, read whole from the store.  0, EXIT_FAIL or
 * EXIT_USAGE (messages printed); *l is the caller's on success. */
static int load_run(plot_ctx *c, store_loaded **l, scn_override **sets, size_t *n_sets)
{
	sqlite3 *db = NULL;
	char err[1024] = "";
	int st = store_open_readonly(c->o->db, &db, err, sizeof err);
	if (st != SIM_OK) {
		term_eprintf("throttlesim: %s\n", err);
		return EXIT_FAIL;
	}
	if (strcmp(c->o->run, "last") == 0 && (st = store_last_run(db, &c->run_id, err, sizeof err)) != SIM_OK) {
		term_eprintf("throttlesim plot: %s\n", err);
		store_close(db);
		return st == SIM_EINVAL ? EXIT_USAGE : EXIT_FAIL;
	}
	st = store_load_run(db, c->run_id, l, err, sizeof err);
	if (st == SIM_OK && c->o->entity)
		st = store_run_sets(db, c->run_id, sets, n_sets, err, sizeof err);
	store_close(db);
	if (st == SIM_EINVAL) {
		term_eprintf("throttlesim plot: %s: no run %lld (see throttlesim results list)\n",
		             c->o->db, (long long)c->run_id);
		return EXIT_USAGE;
	}
	if (st != SIM_OK) {
		term_eprintf("throttlesim: %s\n", err);
		return EXIT_FAIL;
	}
	c->l = *l;
	c->scenario_name = (*l)->row.scenario_name;
	c->replications = (*l)->row.replications;
	if ((*l)->run.n_variants == 0) {
		fprintf(stderr, "throttlesim plot: run %lld has no results (interrupted, or still running)\n",
		        (long long)c->run_id);
		return EXIT_FAIL;
	}
	int rc = make_variants(c);
	if (rc == 0)
		rc = check_variant(c);
	if (rc == 0 && c->o->entity)
		rc = resolve_entity(c);
	return rc;
}

/* The output directory, made if missing, opened once (it is where the
 * finished files are renamed to).  0 or EXIT_FAIL. */
static int open_out(plot_ctx *c)
{
	if (mkdir(c->out, 0777) != 0 && errno != EEXIST) {
		term_eprintf("throttlesim: cannot create %s: %s\n", c->out, strerror(errno));
		return EXIT_FAIL;
	}
	c->out_fd = open(c->out, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->out_fd < 0) {
		int e = errno;
		term_eprintf("throttlesim: %s: %s\n", c->out, e == ENOTDIR ? "exists and is not a directory"
		                                                            : strerror(e));
		return EXIT_FAIL;
	}
	return 0;
}

/* The private directory the charts are drawn in: $TMPDIR (else /tmp)/
 * throttlesim-plot-XXXXXX, mode 0700.  0 or EXIT_FAIL. */
static int make_tmp(plot_ctx *c)
{
	const char *base = getenv("TMPDIR");
	if (base == NULL || *base == 0)
		base = "/tmp";
	int k = snprintf(c->tmp, sizeof c->tmp, "%s/throttlesim-plot-XXXXXX", base);
	if (k < 0 || (size_t)k >= sizeof c->tmp || mkdtemp(c->tmp) == NULL) {
		term_eprintf("throttlesim plot: cannot make a temporary directory in %s: %s\n", base,
		             k < 0 || (size_t)k >= sizeof c->tmp ? "the path is too long" : strerror(errno));
		c->tmp[0] = 0;
		return EXIT_FAIL;
	}
	c->tmp_fd = open(c->tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (c->tmp_fd < 0) {
		term_eprintf("throttlesim plot: %s: %s\n", c->tmp, strerror(errno));
		rmdir(c->tmp);
		c->tmp[0] = 0;
		return EXIT_FAIL;
	}
	return 0;
}

/* Removes the private directory and whatever a failed chart left in it
 * (only files: the program makes nothing else there). */
static void remove_tmp(plot_ctx *c)
{
	if (c->tmp_fd >= 0) {
		int fd = dup(c->tmp_fd);
		DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
		if (d == NULL && fd >= 0)
			close(fd);
		for (struct dirent *e; d && (e = readdir(d)) != NULL;)
			if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
				unlinkat(c->tmp_fd, e->d_name, 0);
		if (d)
			closedir(d);
		close(c->tmp_fd);
		c->tmp_fd = -1;
	}
	if (c->tmp[0] && rmdir(c->tmp) != 0)
		term_eprintf("throttlesim plot: cannot remove %s: %s\n", c->tmp, strerror(errno));
	c->tmp[0] = 0;
}

/* gnuplot and its scripts.  0 or an exit status. */
static int find_tools(plot_ctx *c)
{
	if (!plot_find_gnuplot(c->gnuplot, sizeof c->gnuplot)) {
		fprintf(stderr, "throttlesim plot: gnuplot not found: install it with"
		        " apt-get install gnuplot-nox\n");
		return EXIT_FAIL;
	}
	return plot_find_scripts(c);
}

/* The output directory and the private one.  0 or an exit status. */
static int prepare_output(plot_ctx *c)
{
	int rc;
	if (c->o->out && strlen(c->o->out) >= sizeof c->out) {
		fprintf(stderr, "throttlesim plot: --out: the path is too long\n");
		return EXIT_USAGE;
	}
	if (c->o->out)
		snprintf(c->out, sizeof c->out, "%s", c->o->out);
	else
		snprintf(c->out, sizeof c->out, "plots-run%lld", (long long)c->run_id);
	rc = open_out(c);
	return rc != 0 ? rc : make_tmp(c);
}

int cmd_plot(int argc, char **argv)
{
	plot_opts o;
	int p = parse(argc, argv, &o);
	if (p != 0)
		return p > 0 ? 0 : EXIT_USAGE;
	plot_ctx c = { .o = &o, .out_fd = -1, .tmp_fd = -1 };
	if (strcmp(o.run, "last") != 0) {
		char *end;
		errno = 0;
		long long v = strtoll(o.run, &end, 10);
		if (errno || *end || end == o.run || v <= 0) {
			term_eprintf("throttlesim plot: RUN: expected a run id (1, 2, ...) or 'last', got '%s'\n",
			        o.run);
			return EXIT_USAGE;
		}
		c.run_id = v;
	}
	store_loaded *l = NULL;
	scn_override *sets = NULL;
	size_t n_sets = 0;
	int rc = load_run(&c, &l, &sets, &n_sets);
	if (rc == 0)
		rc = find_tools(&c);
	/* The replay before anything is made: one that is refused leaves nothing. */
	if (rc == 0 && c.ent)
		rc = replay(&c, sets, n_sets);
	if (rc == 0)
		rc = prepare_output(&c);
	static int (*const charts[PLOT_CHARTS])(plot_ctx *) = { plot_chart_timeseries, plot_chart_cdf,
	                                                        plot_chart_compare, plot_chart_sweep };
	for (int k = 0; k < PLOT_CHARTS && rc == 0; k++)
		if (o.chart < 0 || o.chart == k)
			rc = charts[k](&c);
	if (rc == 0 && c.written == 0)
		printf("no chart drawn for run %lld\n", (long long)c.run_id);
	remove_tmp(&c);
	if (c.out_fd >= 0)
		close(c.out_fd);
	free(c.v);
	free(c.ent);
	replay_free(&c.replay);
	store_run_sets_free(sets, n_sets);
	store_loaded_free(l);
	if (fflush(stdout) != 0 && rc == 0) {
		fprintf(stderr, "throttlesim: writing to standard output: %s\n", strerror(errno));
		rc = EXIT_FAIL;
	}
	return rc;
}
