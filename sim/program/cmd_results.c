/* cmd_results.c - `throttlesim results`: list the runs in a results store,
 * show one (its record and the summary table `run` printed), or export its
 * summaries and per-replication figures as CSV or JSON.
 *
 * Reads only: the store is opened with store_open_readonly(), so a missing
 * file is reported, not created, and nothing is written to the file.
 * Output is deterministic: the same file gives the same bytes (the only
 * wall-clock times are the run's stored started_at / finished_at).
 * Exit status: 0 success, 1 the store cannot be read (or stdout fails),
 * 2 bad usage or an unknown run.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "exit.h"
#include "report.h"
#include "res_summary.h"
#include "stats.h"
#include "status.h"
#include "store.h"
#include "term.h"


static const char results_usage[] =
	"usage: throttlesim results list [--db FILE]\n"
	"       throttlesim results show RUN [--db FILE]\n"
	"       throttlesim results export RUN --format csv|json [--db FILE]\n"
	"\n"
	"Reads the results store (read-only; never creates it).\n"
	"\n"
	"  list      one line per run: id, start time (UTC), complete or not,\n"
	"            scenario, variants, replications, seed\n"
	"  show      a run's record and the summary table of every variant\n"
	"  export    a run's summaries and per-replication figures\n"
	"\n"
	"  RUN         a run id (see list) or 'last' (the newest run)\n"
	"  --db FILE   results store (default throttlesim.db)\n"
	"  --format F  export: csv or json (see: throttlesim results export --help)\n"
	"  -h, --help  show this help\n"
	"\n"
	"exit status: 0 success, 1 the store cannot be read, 2 bad usage or unknown run\n";

static const char list_usage[] =
	"usage: throttlesim results list [--db FILE]\n"
	"\n"
	"One line per run, oldest first: id, started_at (UTC), complete or\n"
	"incomplete (interrupted or failed), scenario name, variants stored,\n"
	"replications per variant, base seed.\n";

static const char show_usage[] =
	"usage: throttlesim results show RUN [--db FILE]\n"
	"\n"
	"The run's record (times, scenario, seed, command line) and the summary\n"
	"table of every variant, as `throttlesim run --format table` printed it.\n"
	"RUN is a run id or 'last'.\n";

static const char export_usage[] =
	"usage: throttlesim results export RUN --format csv|json [--describe] [--db FILE]\n"
	"\n"
	"The run as `run --format csv|json` wrote it (the same writer, the same\n"
	"columns and keys), to standard output:\n"
	"  csv   one row per variant, entity and figure: variant,entity_kind,entity,\n"
	"        figure,unit,mean,half,n (sweeps: point and swept values), then\n"
	"        rep0, rep1, ... each replication's value\n"
	"  json  the figures of every entity with each replication's value, the\n"
	"        replies, and the store's record of the run (\"run\": times, file,\n"
	"        command line, the scenario's text)\n"
	"  --describe  json: also each variant's length, each sender group's route,\n"
	"              each group's and mailbox's limits, whether each reply was given\n"
	"Undefined values are empty (csv) or null (json).  RUN is a run id or 'last'.\n";

typedef struct results_opts {
	const char *db;
	const char *run;     /* "last" or an id */
	const char *format;  /* export only */
	bool describe;       /* export only: --describe */
} results_opts;

enum { RES_OPT_DB, RES_OPT_FORMAT, RES_OPT_DESCRIBE };

typedef struct results_parse {
	const char *sub;
	bool want_run;
	results_opts *o;
} results_parse;

static int results_option(void *ctx, int id, const char *opt, const char *val)
{
	results_parse *r = ctx;
	static const char *const formats[] = { "csv", "json", NULL };
	char cmd[32];
	switch (id) {
	case CLI_ARG:
		if (!r->want_run || r->o->run) {
			term_eprintf("throttlesim results %s: unexpected argument '%s' (try --help)\n", r->sub, val);
			return -1;
		}
		r->o->run = val;
		return 0;
	case RES_OPT_DB:
		if (!*val) {
			term_eprintf("throttlesim results %s: --db: the results file's name is empty\n", r->sub);
			return -1;
		}
		r->o->db = val;
		return 0;
	case RES_OPT_DESCRIBE:
		r->o->describe = true;
		return 0;
	default:
		snprintf(cmd, sizeof cmd, "results %s", r->sub);
		if (cli_choice(cmd, opt, val, formats) < 0)
			return -1;
		r->o->format = val;
		return 0;
	}
}

/* Parses [RUN] [--db FILE] [--format F]; which options are allowed
 * depends on the subcommand.  Returns -1 (message printed), 0, or 1 for
 * --help (usage printed). */
static int parse(const char *sub, const char *usage, int argc, char **argv, int want_run,
                 int want_format, results_opts *o)
{
	static const cli_opt opts[] = { { "--db", NULL, true, RES_OPT_DB },
	                                { "--format", NULL, true, RES_OPT_FORMAT },
	                                { "--describe", NULL, false, RES_OPT_DESCRIBE } };
	char cmd[32];
	snprintf(cmd, sizeof cmd, "results %s", sub);
	*o = (results_opts){ .db = "throttlesim.db" };
	results_parse r = { sub, want_run != 0, o };
	int p = cli_parse(cmd, usage, opts, want_format ? 3 : 1, argc, argv, results_option, &r);
	if (p != 0)
		return p;
	if (want_run && o->run == NULL) {
		term_eprintf("throttlesim results %s: which run? give a run id or 'last' (try --help)\n", sub);
		return -1;
	}
	if (want_format && o->format == NULL) {
		term_eprintf("throttlesim results %s: --format csv or --format json is required\n", sub);
		return -1;
	}
	return 0;
}

static int exit_for(int status)
{
	return status == SIM_EINVAL ? EXIT_USAGE : EXIT_FAIL;
}

/* Opens the store and resolves RUN; prints and returns an exit status on
 * failure, 0 with *db open on success. */
static int open_run(const char *sub, const results_opts *o, sqlite3 **db, int64_t *run_id)
{
	char err[1024] = "";
	if (strcmp(o->run, "last") != 0) {
		char *end;
		errno = 0;
		long long v = strtoll(o->run, &end, 10);
		if (errno || *end || end == o->run || v <= 0) {
			term_eprintf("throttlesim results %s: RUN: expected a run id (1, 2, ...) or 'last',"
			     " got '%s'\n", sub, o->run);
			return EXIT_USAGE;
		}
		*run_id = v;
	}
	int st = store_open_readonly(o->db, db, err, sizeof err);
	if (st != SIM_OK) {
		term_eprintf("throttlesim: %s\n", err);
		return EXIT_FAIL;
	}
	if (strcmp(o->run, "last") == 0 && (st = store_last_run(*db, run_id, err, sizeof err)) != SIM_OK) {
		term_eprintf("throttlesim: %s\n", err);
		store_close(*db);
		*db = NULL;
		return exit_for(st);
	}
	return 0;
}

static int load(const char *sub, const results_opts *o, store_loaded **l)
{
	sqlite3 *db = NULL;
	int64_t id = 0;
	int rc = open_run(sub, o, &db, &id);
	if (rc != 0)
		return rc;
	char err[1024] = "";
	int st = store_load_run(db, id, l, err, sizeof err);
	store_close(db);
	if (st != SIM_OK) {
		term_eprintf("throttlesim: %s\n", err);
		return exit_for(st);
	}
	return 0;
}

static int finish_output(void)
{
	if (ferror(stdout) || fflush(stdout) != 0) {
		term_eprintf("throttlesim: writing to standard output: %s\n", strerror(errno));
		return EXIT_FAIL;
	}
	return 0;
}

/* ---- list --------------------------------------------------------------------- */

typedef struct list_ctx {
	size_t n;
} list_ctx;

static int list_row(void *p, const store_run_row *r)
{
	list_ctx *c = p;
	if (c->n++ == 0)
		term_printf("%5s  %-24s  %-10s  %-24s %4s %6s  %s\n", "id", "started_at", "status", "scenario",
		            "var", "reps", "seed");
	term_printf("%5lld  %-24s  %-10s  %-24s %4lld %6lld  %" PRIu64 "\n", (long long)r->id, r->started_at,
	            r->complete ? "complete" : "incomplete", r->scenario_name, (long long)r->n_variants,
	            (long long)r->replications, r->seed);
	return 0;
}

static int results_list(int argc, char **argv)
{
	results_opts o;
	int p = parse("list", list_usage, argc, argv, 0, 0, &o);
	if (p != 0)
		return p > 0 ? 0 : EXIT_USAGE;
	char err[1024] = "";
	sqlite3 *db = NULL;
	int st = store_open_readonly(o.db, &db, err, sizeof err);
	if (st != SIM_OK) {
		term_eprintf("throttlesim: %s\n", err);
		return EXIT_FAIL;
	}
	list_ctx c = { 0 };
	st = store_list_runs(db, list_row, &c, err, sizeof err);
	store_close(db);
	if (st != SIM_OK) {
		term_eprintf("throttlesim: %s\n", err);
		return EXIT_FAIL;
	}
	if (c.n == 0)
		term_printf("no runs in %s\n", o.db);
	return finish_output();
}

/* ---- show --------------------------------------------------------------------- */

/* A field of the run's record: store content, so sanitised for the
 * terminal (term.h) whatever its length (a command line may be long). */
static void show_field(const char *label, const char *value)
{
	char *clean = strdup(value);
	if (clean)
		term_clean(clean);
	printf("  %-13s%s\n", label, clean ? clean : "? (out of memory)");
	free(clean);
}

static int results_show(int argc, char **argv)
{
	results_opts o;
	int p = parse("show", show_usage, argc, argv, 1, 0, &o);
	if (p != 0)
		return p > 0 ? 0 : EXIT_USAGE;
	store_loaded *l = NULL;
	int rc = load("show", &o, &l);
	if (rc != 0)
		return rc;
	const store_run_row *r = &l->row;
	char buf[64];
	term_printf("run %lld in %s: %s\n", (long long)r->id, o.db,
	            r->complete ? "complete" : "INCOMPLETE (interrupted, or failed while running or writing)");
	show_field("started", r->started_at);
	show_field("finished", r->finished_at[0] ? r->finished_at : "-");
	show_field("scenario", r->scenario_name);
	show_field("file", r->scenario_file[0] ? r->scenario_file : "-");
	snprintf(buf, sizeof buf, "%" PRIu64, r->seed);
	show_field("seed", buf);
	snprintf(buf, sizeof buf, "%lld per variant", (long long)r->replications);
	show_field("replications", buf);
	/* The variant names, wrapped at 80 columns. */
	printf("  %-13s", "variants");
	size_t col = 15;
	if (l->run.n_variants == 0)
		fputs("- (no results stored)", stdout);
	for (size_t v = 0; v < l->run.n_variants; v++) {
		char name[SCN_NAME_MAX];
		term_copy(name, sizeof name, l->run.variants[v].name ? l->run.variants[v].name : "");
		size_t w = strlen(name) + (v + 1 < l->run.n_variants ? 1 : 0);
		if (v > 0 && col + 1 + w > 80) {
			printf("\n  %-13s", "");
			col = 15;
		} else if (v > 0) {
			putchar(' ');
			col++;
		}
		printf("%s%s", name, v + 1 < l->run.n_variants ? "," : "");
		col += w;
	}
	putchar('\n');
	snprintf(buf, sizeof buf, "throttlesim %s", r->program_version);
	show_field("program", buf);
	show_field("command", r->command_line[0] ? r->command_line : "-");
	int st = SIM_OK;
	if (l->run.n_variants > 0) {
		putchar('\n');
		st = rpt_table(stdout, &l->run);
	}
	store_loaded_free(l);
	if (st == SIM_EINVAL) {
		term_eprintf("throttlesim: run %s: the stored results are inconsistent\n", o.run);
		return EXIT_FAIL;
	}
	return finish_output();
}

/* ---- export ------------------------------------------------------------------- */

/* The run through the same writers as `run --format json|csv`, with the
 * store's record of it (JSON only: the "run" object). */
static int export_run(const store_loaded *l, bool json, bool describe)
{
	const store_run_row *r = &l->row;
	rpt_provenance p = { .id = r->id, .complete = r->complete, .started_at = r->started_at,
	                     .finished_at = r->finished_at, .scenario_file = r->scenario_file,
	                     .command_line = r->command_line, .scenario_text = r->scenario_text,
	                     .replications = r->replications };
	rpt_run run = l->run;
	run.stored = &p;
	run.json_describe = describe;
	return json ? rpt_json(stdout, &run) : rpt_csv(stdout, &run);
}

static int results_export(int argc, char **argv)
{
	results_opts o;
	int p = parse("export", export_usage, argc, argv, 1, 1, &o);
	if (p != 0)
		return p > 0 ? 0 : EXIT_USAGE;
	store_loaded *l = NULL;
	int rc = load("export", &o, &l);
	if (rc != 0)
		return rc;
	if (!l->row.complete)
		term_eprintf("throttlesim: note: run %lld is incomplete%s\n", (long long)l->row.id,
		     l->run.n_variants ? "" : " and has no results");
	rc = export_run(l, strcmp(o.format, "json") == 0, o.describe);
	store_loaded_free(l);
	if (rc == SIM_EINVAL) {
		term_eprintf("throttlesim results export: run %s has inconsistent results (damaged file?)\n",
		     o.run);
		return EXIT_FAIL;
	}
	return finish_output();
}

int cmd_results(int argc, char **argv)
{
	if (argc < 1) {
		fputs(results_usage, stderr);
		return EXIT_USAGE;
	}
	const char *sub = argv[0];
	if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0 || strcmp(sub, "help") == 0) {
		fputs(results_usage, stdout);
		return 0;
	}
	if (strcmp(sub, "list") == 0)
		return results_list(argc - 1, argv + 1);
	if (strcmp(sub, "show") == 0)
		return results_show(argc - 1, argv + 1);
	if (strcmp(sub, "export") == 0)
		return results_export(argc - 1, argv + 1);
	term_eprintf("throttlesim results: unknown subcommand '%s' (list, show or export; try --help)\n", sub);
	return EXIT_USAGE;
}
