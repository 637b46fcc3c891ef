/* cmd_results.c - `throttlesim results`: list the runs in a results store,
 * show one (its record and the summary table `run` printed), export its
 * summaries and per-replication figures as CSV or JSON, delete runs (rm,
 * prune) and give the space back.
 *
 * list, show and export read only: the store is opened with
 * store_open_readonly(), so a missing file is reported, not created, and
 * nothing is written to the file.  rm and prune open an existing file for
 * writing (never create one).  Output is deterministic: the same file
 * gives the same bytes (the only wall-clock times are the run's stored
 * started_at / finished_at; rm and prune also give the file's size).
 * Exit status: 0 success, 1 the store cannot be read or written (or stdout
 * fails), 2 bad usage or an unknown run.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "exit.h"
#include "report.h"
#include "res_summary.h"
#include "stats.h"
#include "status.h"
#include "store.h"
#include "store_merge.h"
#include "term.h"


static const char results_usage[] =
	"usage: throttlesim results list [--db FILE]\n"
	"       throttlesim results show RUN [--db FILE]\n"
	"       throttlesim results export RUN --format csv|json [--db FILE]\n"
	"       throttlesim results rm RUN... [--db FILE] [--no-vacuum]\n"
	"       throttlesim results prune --keep N [--dry-run] [--db FILE] [--no-vacuum]\n"
	"       throttlesim results merge OUT IN... [--keep-series]\n"
	"\n"
	"Reads the results store (list, show, export: read-only) or deletes runs\n"
	"from it (rm, prune); never creates it.\n"
	"\n"
	"  list      one line per run: id, start time (UTC), complete or not,\n"
	"            scenario, variants, replications, seed\n"
	"  show      a run's record and the summary table of every variant\n"
	"            (a sweep: every point labelled, compared within the point)\n"
	"  export    a run's summaries and per-replication figures\n"
	"  rm        delete runs wholly, then shrink the file (VACUUM)\n"
	"  prune     keep the N newest complete runs, delete older runs\n"
	"  merge     join the shards of a run (run --shard I/N) into one run, in a\n"
	"            new file\n"
	"\n"
	"  RUN         a run id (see list) or 'last' (the newest run)\n"
	"  --db FILE   results store (default throttlesim.db)\n"
	"  --format F  export: csv or json (see: throttlesim results export --help)\n"
	"  -h, --help  show this help\n"
	"\n"
	"exit status: 0 success, 1 the store cannot be read or written,\n"
	"2 bad usage or unknown run\n";

static const char list_usage[] =
	"usage: throttlesim results list [--db FILE]\n"
	"\n"
	"One line per run, oldest first: id, started_at (UTC), status (complete;\n"
	"interrupted: ended before its results were stored, e.g. by Ctrl-C;\n"
	"running: going on, or killed without a word), scenario name, variants\n"
	"stored, replications per variant, base seed.\n";

static const char show_usage[] =
	"usage: throttlesim results show RUN [--db FILE]\n"
	"\n"
	"The run's record (times, scenario, seed, command line) and the summary\n"
	"table of every variant, as `throttlesim run --format table` printed it.\n"
	"A sweep: its variants and swept values in the record, and a line per\n"
	"point in the table, each variant compared with the base at that point.\n"
	"RUN is a run id or 'last'.\n";

static const char rm_usage[] =
	"usage: throttlesim results rm RUN... [--db FILE] [--no-vacuum]\n"
	"\n"
	"Deletes the runs wholly (their record and every result), in one\n"
	"transaction: if any RUN is unknown nothing is deleted (exit status 2).\n"
	"RUN is a run id or 'last' (the newest run).  Then VACUUM gives the space\n"
	"back to the file system and says how the file's size changed.\n"
	"\n"
	"  --db FILE     results store (default throttlesim.db)\n"
	"  --no-vacuum   delete only: the file keeps its size, later runs reuse\n"
	"                the space (VACUUM rewrites the file: its time grows with\n"
	"                the file's size, and it needs free space for a copy)\n"
	"  -h, --help    show this help\n";

static const char prune_usage[] =
	"usage: throttlesim results prune --keep N [--dry-run] [--db FILE] [--no-vacuum]\n"
	"\n"
	"Keeps the N newest complete runs and deletes every older run, complete\n"
	"or not (an older incomplete run was interrupted or failed).  Incomplete\n"
	"runs newer than the oldest kept run stay: one may still be running.\n"
	"With --keep 0, every run up to the newest complete one is deleted.\n"
	"Lists what it deleted, then shrinks the file (VACUUM) as rm does.\n"
	"\n"
	"  --keep N      complete runs to keep (0 or more)\n"
	"  --dry-run     list what would be deleted; delete nothing\n"
	"  --db FILE     results store (default throttlesim.db)\n"
	"  --no-vacuum   delete only: the file keeps its size\n"
	"  -h, --help    show this help\n";

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

static const char merge_usage[] =
	"usage: throttlesim results merge OUT IN... [--keep-series]\n"
	"\n"
	"Joins the shards of a run (each IN written by `run --shard I/N`; its newest\n"
	"run) into one run in OUT, a new file: the same run, figures, summaries and\n"
	"time series as `run` on one machine with the same scenario, options and\n"
	"seed gives (results export prints the same JSON but for the record's times\n"
	"and command line).  Refused, with nothing written: shards of different\n"
	"scenario files, seeds, options or program versions, a missing or repeated\n"
	"shard, an incomplete one, an OUT that exists.  OUT appears whole or not at\n"
	"all: it is written under another name and named OUT when complete.\n"
	"\n"
	"  --keep-series  store every replication's time series (default: the mean\n"
	"                 over replications, as run stores it)\n"
	"  -h, --help     show this help\n"
	"\n"
	"exit status: 0 merged, 1 a file cannot be read or written, 2 bad usage or\n"
	"shards that do not make one run\n";

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
		term_printf("%5s  %-24s  %-11s  %-24s %4s %6s  %s\n", "id", "started_at", "status", "scenario",
		            "var", "reps", "seed");
	term_printf("%5lld  %-24s  %-11s  %-24s %4lld %6lld  %" PRIu64 "\n", (long long)r->id, r->started_at,
	            store_run_status(r), r->scenario_name, (long long)r->n_variants,
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

/* A field whose items are wrapped at 80 columns under the label. */
typedef struct wrap {
	size_t col, n;
} wrap;

static void wrap_start(wrap *w, const char *label)
{
	printf("  %-13s", label);
	*w = (wrap){ 15, 0 };
}

/* One item (store content: sanitised), with a comma after the previous. */
static void wrap_item(wrap *w, const char *raw)
{
	char item[2 * SCN_NAME_MAX + 64];
	term_copy(item, sizeof item, raw);
	size_t len = strlen(item);
	if (w->n > 0) {
		putchar(',');
		w->col++;
		if (w->col + 1 + len > 80) {
			printf("\n  %-13s", "");
			w->col = 15;
		} else {
			putchar(' ');
			w->col++;
		}
	}
	fputs(item, stdout);
	w->col += len;
	w->n++;
}

/* The point of variant entry v, -1 when the run is no sweep. */
static int64_t point_of(const store_loaded *l, size_t v)
{
	const res_desc *d = l->run.variants[v].desc;
	return d && d->sweep_point >= 0 && d->n_sweep_keys > 0 ? d->sweep_point : -1;
}

/* "40" or "(10, 2)": the swept values of a point. */
static void point_values(const res_desc *d, char *buf, size_t size)
{
	if (d->n_sweep_keys == 1)
		snprintf(buf, size, "%.15g", d->sweep_value[0]);
	else
		snprintf(buf, size, "(%.15g, %.15g)", d->sweep_value[0], d->sweep_value[1]);
}

/* The record's variants: their names; for a sweep, the names once (those
 * of the first point) and the swept key(s) with each point's values, in
 * the order of the table's points. */
static void show_variants(const store_loaded *l)
{
	const rpt_run *run = &l->run;
	wrap w;
	wrap_start(&w, "variants");
	if (run->n_variants == 0)
		fputs("- (no results stored)", stdout);
	bool sweep = run->n_variants > 0 && point_of(l, 0) >= 0;
	for (size_t v = 0; v < run->n_variants; v++) {
		if (sweep && point_of(l, v) != point_of(l, 0))
			break;
		wrap_item(&w, run->variants[v].name ? run->variants[v].name : "");
	}
	putchar('\n');
	if (!sweep)
		return;
	size_t points = 0;
	for (size_t v = 0; v < run->n_variants; v++)
		if (v == 0 || point_of(l, v) != point_of(l, v - 1))
			points++;
	const res_desc *d0 = run->variants[0].desc;
	char head[2 * SCN_NAME_MAX + 64];
	if (d0->n_sweep_keys == 1)
		snprintf(head, sizeof head, "%zu points of %s:", points, d0->sweep_key[0]);
	else
		snprintf(head, sizeof head, "%zu points of (%s, %s):", points, d0->sweep_key[0], d0->sweep_key[1]);
	wrap_start(&w, "sweep");
	char clean[sizeof head];
	term_copy(clean, sizeof clean, head);
	fputs(clean, stdout);
	w.col += strlen(clean);
	for (size_t v = 0; v < run->n_variants; v++) {
		if (v > 0 && point_of(l, v) == point_of(l, v - 1))
			continue;
		char val[96];
		point_values(run->variants[v].desc, val, sizeof val);
		if (w.n == 0) {
			/* the first value follows the heading, on the next line if
			 * it would pass column 80 */
			w.n = 1;
			if (w.col + 1 + strlen(val) > 80) {
				printf("\n  %-13s%s", "", val);
				w.col = 15 + strlen(val);
			} else {
				printf(" %s", val);
				w.col += 1 + strlen(val);
			}
		} else
			wrap_item(&w, val);
	}
	putchar('\n');
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
	show_variants(l);
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

/* ---- rm and prune ------------------------------------------------------------- */

typedef struct tidy_opts {
	const char *sub;
	const char *db;
	const char **runs;    /* rm: the RUN arguments */
	size_t n_runs;
	int64_t keep;         /* prune: --keep, -1 when not given */
	bool dry_run, no_vacuum;
} tidy_opts;

enum { TIDY_DB, TIDY_KEEP, TIDY_DRY_RUN, TIDY_NO_VACUUM };

static int tidy_option(void *ctx, int id, const char *opt, const char *val)
{
	tidy_opts *o = ctx;
	char cmd[32];
	snprintf(cmd, sizeof cmd, "results %s", o->sub);
	switch (id) {
	case CLI_ARG:
		if (o->runs == NULL) {
			term_eprintf("throttlesim results %s: unexpected argument '%s' (try --help)\n", o->sub, val);
			return -1;
		}
		o->runs[o->n_runs++] = val;
		return 0;
	case TIDY_DB:
		if (!*val) {
			term_eprintf("throttlesim results %s: --db: the results file's name is empty\n", o->sub);
			return -1;
		}
		o->db = val;
		return 0;
	case TIDY_KEEP:
		return cli_parse_int(cmd, opt, val, 0, INT64_MAX, &o->keep) < 0 ? -1 : 0;
	case TIDY_DRY_RUN:
		o->dry_run = true;
		return 0;
	default:
		o->no_vacuum = true;
		return 0;
	}
}

/* "7.4 MB", "96 KB", "512 bytes" */
static void format_bytes(int64_t n, char *buf, size_t size)
{
	if (n >= 1000000)
		snprintf(buf, size, "%.1f MB", (double)n / 1e6);
	else if (n >= 1000)
		snprintf(buf, size, "%.0f KB", (double)n / 1e3);
	else
		snprintf(buf, size, "%lld bytes", (long long)n);
}

static void say_deleted(const store_deleted *d, size_t n, bool dry_run)
{
	for (size_t i = 0; i < n; i++) {
		char name[sizeof d[i].scenario_name], at[sizeof d[i].started_at];
		term_copy(name, sizeof name, d[i].scenario_name);
		term_copy(at, sizeof at, d[i].started_at);
		term_printf("%s run %lld (%s, %s, started %s)\n", dry_run ? "would delete" : "deleted",
		            (long long)d[i].id, name, d[i].complete ? "complete" : "incomplete", at);
	}
}

/* The file and its -wal, in bytes (0 for a missing one). */
static int64_t store_bytes(const char *path)
{
	char wal[4200];
	struct stat sb;
	int64_t n = stat(path, &sb) == 0 ? (int64_t)sb.st_size : 0;
	snprintf(wal, sizeof wal, "%s-wal", path);
	return n + (stat(wal, &sb) == 0 ? (int64_t)sb.st_size : 0);
}

/* VACUUM after a deletion; prints the sizes (before: the size before the
 * deletion, bytes).  0 or EXIT_FAIL. */
static int compact(sqlite3 *db, const char *path, int64_t bytes_before)
{
	char err[1024] = "", before[32], after[32];
	store_compacted c;
	if (store_compact(db, &c, err, sizeof err) != SIM_OK) {
		term_eprintf("throttlesim: %s (the runs are deleted; the file keeps its size, and later runs"
		             " reuse the space)\n", err);
		return EXIT_FAIL;
	}
	format_bytes(bytes_before, before, sizeof before);
	format_bytes(c.bytes_after, after, sizeof after);
	term_printf("%s: %s before, %s now%s\n", path, before, after,
	            c.complete ? "" : " (another process is reading it: the file shrinks further once"
	                              " it is done and a later run is written)");
	return 0;
}

/* Opens an existing store for writing: rm and prune never create one. */
static int open_existing(const tidy_opts *o, sqlite3 **db)
{
	char err[1024] = "";
	struct stat sb;
	if (stat(o->db, &sb) != 0) {
		term_eprintf("throttlesim: %s: %s\n", o->db, errno == ENOENT ? "no such file" : strerror(errno));
		return EXIT_FAIL;
	}
	if (store_open(o->db, db, err, sizeof err) != SIM_OK) {
		term_eprintf("throttlesim: %s\n", err);
		return EXIT_FAIL;
	}
	return 0;
}

static int results_rm(int argc, char **argv)
{
	static const cli_opt opts[] = { { "--db", NULL, true, TIDY_DB },
	                                { "--no-vacuum", NULL, false, TIDY_NO_VACUUM } };
	const char **runs = calloc((size_t)argc + 1, sizeof *runs);
	int64_t *ids = calloc((size_t)argc + 1, sizeof *ids);
	if (runs == NULL || ids == NULL) {
		free(runs);
		free(ids);
		term_eprintf("throttlesim: out of memory\n");
		return EXIT_FAIL;
	}
	tidy_opts o = { .sub = "rm", .db = "throttlesim.db", .runs = runs, .keep = -1 };
	int rc = cli_parse("results rm", rm_usage, opts, 2, argc, argv, tidy_option, &o);
	sqlite3 *db = NULL;
	if (rc != 0) {
		rc = rc > 0 ? 0 : EXIT_USAGE;
		goto out;
	}
	if (o.n_runs == 0) {
		term_eprintf("throttlesim results rm: which runs? give run ids or 'last' (try --help)\n");
		rc = EXIT_USAGE;
		goto out;
	}
	bool want_last = false;
	for (size_t i = 0; i < o.n_runs; i++) {
		if (strcmp(runs[i], "last") == 0) {
			want_last = true;
			continue;
		}
		char *end;
		errno = 0;
		long long v = strtoll(runs[i], &end, 10);
		if (errno || *end || end == runs[i] || v <= 0) {
			term_eprintf("throttlesim results rm: RUN: expected a run id (1, 2, ...) or 'last', got '%s'\n",
			             runs[i]);
			rc = EXIT_USAGE;
			goto out;
		}
		ids[i] = v;
	}
	int64_t bytes = store_bytes(o.db);
	if ((rc = open_existing(&o, &db)) != 0)
		goto out;
	char err[1024] = "";
	int st;
	/* 'last' is resolved here, not in the deletion's transaction: a run
	 * begun meanwhile by another process is not the one the user saw. */
	for (size_t i = 0; want_last && i < o.n_runs; i++)
		if (strcmp(runs[i], "last") == 0 && (st = store_last_run(db, &ids[i], err, sizeof err)) != SIM_OK) {
			term_eprintf("throttlesim: %s; nothing deleted\n", err);
			rc = exit_for(st);
			goto out;
		}
	store_deleted *d = NULL;
	size_t nd = 0;
	if ((st = store_delete_runs(db, ids, o.n_runs, &d, &nd, err, sizeof err)) != SIM_OK) {
		term_eprintf("throttlesim: %s\n", err);
		rc = exit_for(st);
		goto out;
	}
	say_deleted(d, nd, false);
	free(d);
	rc = o.no_vacuum ? 0 : compact(db, o.db, bytes);
	if (rc == 0)
		rc = finish_output();
out:
	store_close(db);
	free(runs);
	free(ids);
	return rc;
}

static int results_prune(int argc, char **argv)
{
	static const cli_opt opts[] = { { "--db", NULL, true, TIDY_DB },
	                                { "--keep", NULL, true, TIDY_KEEP },
	                                { "--dry-run", NULL, false, TIDY_DRY_RUN },
	                                { "--no-vacuum", NULL, false, TIDY_NO_VACUUM } };
	tidy_opts o = { .sub = "prune", .db = "throttlesim.db", .keep = -1 };
	int p = cli_parse("results prune", prune_usage, opts, 4, argc, argv, tidy_option, &o);
	if (p != 0)
		return p > 0 ? 0 : EXIT_USAGE;
	if (o.keep < 0) {
		term_eprintf("throttlesim results prune: --keep N is required (the complete runs to keep)\n");
		return EXIT_USAGE;
	}
	sqlite3 *db = NULL;
	int64_t bytes = store_bytes(o.db);
	int rc = open_existing(&o, &db);
	if (rc != 0)
		return rc;
	char err[1024] = "";
	store_deleted *d = NULL;
	size_t nd = 0;
	int64_t kept = 0;
	int st = store_prune(db, o.keep, o.dry_run, &d, &nd, &kept, err, sizeof err);
	if (st != SIM_OK) {
		term_eprintf("throttlesim: %s\n", err);
		store_close(db);
		return exit_for(st);
	}
	say_deleted(d, nd, o.dry_run);
	free(d);
	term_printf("%s %zu run%s; %s the %lld newest complete run%s%s\n", o.dry_run ? "would delete" : "deleted",
	            nd, nd == 1 ? "" : "s", o.dry_run ? "keeping" : "kept", (long long)kept, kept == 1 ? "" : "s",
	            kept < o.keep ? " (all there are)" : "");
	rc = o.no_vacuum || o.dry_run || nd == 0 ? 0 : compact(db, o.db, bytes);
	store_close(db);
	return rc == 0 ? finish_output() : rc;
}

/* ---- merge ------------------------------------------------------------------- */

/* The one piece of state outside a context: a signal handler reaches
 * nothing else.  The files a merge is writing, removed if it is stopped
 * (the output is linked only once complete, so it is never among them). */
static struct {
	char paths[4][4200];
} merge_sig;

static void on_merge_signal(int sig)
{
	for (int i = 0; i < 4; i++)
		unlink(merge_sig.paths[i]);
	_exit(128 + sig);
}

typedef struct merge_args {
	const char **files;
	size_t n;
	bool keep_series;
} merge_args;

static int merge_option(void *ctx, int id, const char *opt, const char *val)
{
	(void)opt;
	merge_args *a = ctx;
	if (id == CLI_ARG) {
		if (!*val) {
			term_eprintf("throttlesim results merge: a file's name is empty\n");
			return -1;
		}
		a->files[a->n++] = val;
	} else {
		a->keep_series = true;
	}
	return 0;
}

static void merge_waiting(void *ctx, const char *message)
{
	(void)ctx;
	term_eprintf("throttlesim: %s\n", message);
}

static int results_merge(int argc, char **argv)
{
	static const cli_opt opts[] = { { "--keep-series", NULL, false, 1 } };
	merge_args a = { .files = calloc((size_t)argc + 1, sizeof *a.files) };
	if (a.files == NULL) {
		term_eprintf("throttlesim: out of memory\n");
		return EXIT_FAIL;
	}
	int p = cli_parse("results merge", merge_usage, opts, 1, argc, argv, merge_option, &a);
	if (p != 0 || a.n < 2) {
		if (p == 0)
			term_eprintf("throttlesim results merge: expected OUT and at least one IN (try --help)\n");
		free(a.files);
		return p > 0 ? 0 : EXIT_USAGE;
	}
	char *cmdline = cli_join_args("throttlesim results merge", argc, argv);
	/* Built in a buffer of its own: GCC cannot tell that paths[0] and
	 * paths[i] never overlap (-Wrestrict). */
	char tmp[sizeof merge_sig.paths[0]];
	snprintf(tmp, sizeof tmp, "%s.merge-%ld", a.files[0], (long)getpid());
	memcpy(merge_sig.paths[0], tmp, sizeof tmp);
	static const char *const sides[] = { "-wal", "-shm", "-journal" };
	for (int i = 1; i <= 3; i++)
		snprintf(merge_sig.paths[i], sizeof merge_sig.paths[i], "%.4000s%s", tmp, sides[i - 1]);
	struct sigaction sa, old[3];
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_merge_signal;
	sigemptyset(&sa.sa_mask);
	const int sigs[3] = { SIGINT, SIGTERM, SIGHUP };
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &sa, &old[i]);
	store_merge_opts mo = { .out = a.files[0], .in = a.files + 1, .n_in = a.n - 1, .version = THROTTLESIM_VERSION,
	                        .command_line = cmdline, .keep_series = a.keep_series,
	                        .tmp_path = merge_sig.paths[0], .on_wait = merge_waiting };
	store_merge_info info;
	char err[2048] = "";
	int st = store_merge(&mo, &info, err, sizeof err);
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &old[i], NULL);
	free(cmdline);
	int rc = 0;
	if (st != SIM_OK) {
		term_eprintf("throttlesim results merge: %s\n", err);
		rc = exit_for(st);
	} else {
		term_printf("merged %zu shard%s into %s: run %lld, %zu variant%s, %lld replications (%zu units)\n",
		            a.n - 1, a.n == 2 ? "" : "s", a.files[0], (long long)info.run_id, info.n_variants,
		            info.n_variants == 1 ? "" : "s", (long long)info.n_replications, info.n_units);
		rc = finish_output();
	}
	free(a.files);
	return rc;
}

/* ---- progress while a run is stored -------------------------------------------- */

void store_progress_to_terminal(void *ctx, const store_progress *p)
{
	const char *path = ctx;
	if (p->done) {
		fputs("\r\033[K", stderr);
		return;
	}
	char clean[256] = "";
	if (path)
		term_copy(clean, sizeof clean, path);
	fprintf(stderr, "\r\033[Kstoring the results%s%s: %lld rows", path ? " in " : "", clean,
	        (long long)p->rows);
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
	if (strcmp(sub, "rm") == 0)
		return results_rm(argc - 1, argv + 1);
	if (strcmp(sub, "prune") == 0)
		return results_prune(argc - 1, argv + 1);
	if (strcmp(sub, "merge") == 0)
		return results_merge(argc - 1, argv + 1);
	term_eprintf("throttlesim results: unknown subcommand '%s' (list, show, export, rm, prune or merge;"
	             " try --help)\n",
	             sub);
	return EXIT_USAGE;
}
