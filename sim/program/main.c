/* main.c - the throttlesim command line.  The only place that prints to
 * the terminal and chooses exit codes:
 *   0  success
 *   1  a run failed (I/O, results store, out of memory)
 *   2  bad usage or an invalid scenario (nothing was run)
 *   130 run interrupted by Ctrl-C (SIGINT; 128 + 2, the shell's convention)
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unistd.h>

#include "driver.h"
#include "exit.h"
#include "cli.h"
#include "engine.h"
#include "report.h"
#include "run.h"
#include "scn_budget.h"
#include "scn_lint.h"
#include "scn_load.h"
#include "shard.h"
#include "store.h"
#include "store_merge.h"
#include "term.h"
#include "units.h"

#ifndef THROTTLESIM_VERSION
#define THROTTLESIM_VERSION "0.0.0"
#endif


static const char usage_text[] =
	"usage: throttlesim COMMAND [OPTIONS]\n"
	"\n"
	"Simulates Exchange Online SMTP AUTH submission throttling for the devices\n"
	"and applications described in a scenario file.\n"
	"\n"
	"commands:\n"
	"  run FILE          run every variant and replication of a scenario\n"
	"  runs FILE         the run's work units, numbered, for --shard (runs --help)\n"
	"  check FILE...     validate scenario files; run nothing\n"
	"  demo              a small demonstration of the event engine\n"
	"  plan FILE         the smallest value of a key meeting a target (plan --help)\n"
	"  results list      the runs in the results store (results --help)\n"
	"  results show RUN  a stored run's summary; results export RUN --format csv|json\n"
	"  plot RUN          charts of a stored run, drawn by gnuplot (plot --help)\n"
	"  report RUN        a stored run's one-page report, HTML or Markdown\n"
	"  serve FILE        the scenario's rules behind a live SMTP listener (serve --help)\n"
	"  token ADDRESS     an XOAUTH2 token that serve accepts (token --help)\n"
	"  profile RECORD    a sender's session and retry sections from a serve record\n"
	"  load FILE         the scenario's senders as real SMTP clients (load --help)\n"
	"\n"
	"options of run:\n"
	"  --format F        table (default), json or csv\n"
	"  --seed N          override the scenario's seed (0 to 2^63 - 1)\n"
	"  --replications N  override the number of replications\n"
	"  --duration D      override the simulated duration (e.g. 1d, 6h)\n"
	"  --variant NAME    run only the base and this variant\n"
	"  --set KEY=VALUE   set a key of the scenario (repeatable)\n"
	"  --db FILE         results store (default throttlesim.db)\n"
	"  --engine E        event set: calendar (default) or heap\n"
	"  --jobs N          replications in parallel (default: the number of cores)\n"
	"  --quiet           no progress on standard error\n"
	"  --shard I/N       run shard I of N (0 <= I < N) into its own store\n"
	"  --emit E          print the commands of a sharded run: parallel or slurm\n"
	"\n"
	"  -h, --help        show this help\n"
	"  --version         show the version\n"
	"\n"
	"exit status: 0 success, 1 run failed, 2 bad usage or invalid scenario\n";

static const char run_usage[] =
	"usage: throttlesim run FILE [OPTIONS]\n"
	"\n"
	"Runs every variant and replication of a scenario, stores the results\n"
	"and prints them.\n"
	"\n"
	"  --format F        table (default), json or csv\n"
	"  --seed N          override the scenario's seed (0 to 2^63 - 1)\n"
	"  --replications N  override the number of replications\n"
	"  --duration D      override the simulated duration (e.g. 1d, 6h)\n"
	"  --variant NAME    run only the base and this variant\n"
	"  --set KEY=VALUE   set a key of the scenario, as a variant's `set` does\n"
	"                    (senders.mfp.count=12); for the base and every variant;\n"
	"                    repeatable\n"
	"  --db FILE         results store (default throttlesim.db)\n"
	"  --keep-series     store every replication's time series (default: only the\n"
	"                    mean over replications, per variant and step)\n"
	"  --describe        json: also each variant's length, each sender group's route,\n"
	"                    each group's and mailbox's limits, whether each reply was given\n"
	"  --engine E        event set: calendar (default) or heap\n"
	"  -j, --jobs N      replications in parallel (default: the number of cores)\n"
	"  -q, --quiet       no progress on standard error\n"
	"  --memory-budget B refuse a run estimated to need more (default 4G; e.g. 8G)\n"
	"  --shard I/N       run only shard I of N (0 <= I < N): the units u with\n"
	"                    u mod N = I (see: throttlesim runs FILE), into --db, with\n"
	"                    every replication's series; prints one line, no report;\n"
	"                    join the shards with: throttlesim results merge\n"
	"  --block N         replications per unit (default 10); the same for every shard\n"
	"  --emit E          print, and do not run, the commands of the run in shards:\n"
	"                    parallel (a GNU parallel command line, then the merge) or\n"
	"                    slurm (a script submitting a job array and the merge as a\n"
	"                    dependent job: bash it, with --wait to wait for the merge)\n"
	"  --shards N        with --emit: how many shards (default: one per unit, up\n"
	"                    to 1000); --db names the merged file (default: the\n"
	"                    scenario's name with .db), shards go to NAME.shard-I.db\n"
	"  -h, --help        show this help\n"
	"\n"
	"Ctrl-C stops the run at once: it is marked incomplete in the store, with\n"
	"none of its results (a run is stored whole); the message says how many\n"
	"replications were complete, which --replications N gives again.\n"
	"\n"
	"exit status: 0 success, 1 run failed, 2 bad usage or invalid scenario,\n"
	"130 interrupted\n";

static const char runs_usage[] =
	"usage: throttlesim runs FILE [--block N] [--shard I/N] [run's options]\n"
	"\n"
	"Lists the work units of the run that `throttlesim run FILE` with the same\n"
	"options would make: each variant (and sweep point) in blocks of N\n"
	"replications (--block, default 10), numbered 0, 1, ... in the scenario's\n"
	"order.  The numbers depend only on the file, the options that choose\n"
	"variants and replications (--variant, --replications, --set) and the block;\n"
	"`run --shard I/N` runs the units u with u mod N = I.  With --shard, only\n"
	"that shard's units.\n"
	"\n"
	"exit status: 0 success, 1 out of memory, 2 bad usage or invalid scenario\n";

static const char check_usage[] =
	"usage: throttlesim check FILE... [--memory-budget B]\n"
	"\n"
	"Validates scenario files and runs nothing: one line per file, 'FILE: ok'\n"
	"or one line per problem, FILE:LINE:COLUMN: KEY: MESSAGE.  A file whose run\n"
	"(one replication per core at once) is estimated to need more memory than\n"
	"B (default 4G; e.g. 512M, 8G) is refused, naming the key and the figure.\n"
	"\n"
	"exit status: 0 every file valid, 1 out of memory, 2 a file invalid\n";

static const char demo_usage[] =
	"usage: throttlesim demo\n"
	"\n"
	"A hold model on both event sets (calendar queue and binary heap): the\n"
	"same checksum from each, and the time each took.\n";

/* A command without options: its positional arguments into args. */
typedef struct plain_args {
	const char **v;
	int n;
} plain_args;

static int plain_arg(void *ctx, int id, const char *opt, const char *val)
{
	(void)id;
	(void)opt;
	plain_args *a = ctx;
	a->v[a->n++] = val;
	return 0;
}

/* -1 error (printed), 0 go on, 1 help printed; args->v has argc slots. */
static int parse_plain(const char *cmd, const char *usage, int argc, char **argv, plain_args *args)
{
	args->n = 0;
	return cli_parse(cmd, usage, NULL, 0, argc, argv, plain_arg, args);
}

/* ---- demo: a hold model on both event sets ---------------------------- */

typedef struct demo {
	uint64_t rng;
	uint64_t checksum;
	uint64_t left;
} demo;

static uint64_t demo_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void demo_event(sim_engine *e, void *ctx, uint64_t arg)
{
	demo *d = ctx;
	d->checksum = (d->checksum ^ (uint64_t)sim_now(e) ^ (arg << 1)) * 0x100000001b3ULL;
	if (d->left == 0)
		return;
	d->left--;
	int64_t inc = (int64_t)(demo_next(&d->rng) % 2000000); /* uniform, mean 1 ms */
	sim_schedule_in(e, inc, demo_event, d, arg, NULL);
}

static int cmd_demo(void)
{
	const evs_kind kinds[2] = { EVS_CALENDAR, EVS_HEAP };
	uint64_t sums[2];
	printf("demo: 10,000 pending events, 2,000,000 holds (uniform increments, mean 1 ms)\n");
	for (int k = 0; k < 2; k++) {
		sim_engine *e = sim_engine_new(kinds[k], NULL);
		if (e == NULL) {
			fprintf(stderr, "throttlesim: out of memory\n");
			return EXIT_FAIL;
		}
		demo d = { .rng = 42, .checksum = 0xcbf29ce484222325ULL, .left = 2000000 };
		for (uint64_t i = 0; i < 10000; i++)
			sim_schedule_at(e, (int64_t)(demo_next(&d.rng) % 2000000), demo_event, &d, i, NULL);
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		int rc = sim_run(e, SIM_TIME_MAX);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
		printf("  %-8s %10" PRIu64 " events  %6.1f ns/event  clock %.3f s  checksum %016" PRIx64 "%s\n",
		       evs_kind_name(kinds[k]), sim_events_run(e), 1e9 * s / (double)sim_events_run(e),
		       (double)sim_now(e) / 1e9, d.checksum, rc == SIM_OK ? "" : " (error)");
		sums[k] = d.checksum;
		sim_engine_free(e);
	}
	if (sums[0] != sums[1]) {
		fprintf(stderr, "throttlesim: the event sets disagree\n");
		return EXIT_FAIL;
	}
	printf("  both event sets ran the same events in the same order\n");
	return 0;
}

/* ---- check and run --------------------------------------------------------- */

/* Loads a scenario file with the command line's overrides (ov may be NULL
 * when n_ov is 0); prints every problem as file:line:column: key: message
 * (an override's: file: key: message (from the command line)).  Returns 0
 * or an exit status. */
static int load(const char *path, const scn_override *ov, size_t n_ov, scenario ***v, size_t *n)
{
	scn_errors errs = { 0 };
	int rc = scn_load_ex(path, &sim_alloc_std, ov, n_ov, v, n, &errs);
	int status = rc == SIM_OK ? 0 : cli_load_failed(path, rc, &errs, NULL);
	scn_errors_free(&errs);
	return status;
}


/* A run's estimated memory against the budget: 0, or 2 after printing. */
static int check_budget(const char *path, scenario *const *v, size_t n, int jobs, uint64_t budget)
{
	scn_errors errs = { 0 };
	int rc = scn_budget_check(v, n, jobs, budget, &errs);
	int status = rc == SIM_OK ? 0 : cli_load_failed(path, rc, &errs, NULL);
	scn_errors_free(&errs);
	return status;
}

typedef struct check_args {
	plain_args files;
	uint64_t budget;
} check_args;

static int check_arg(void *ctx, int id, const char *opt, const char *val)
{
	check_args *a = ctx;
	if (id == CLI_ARG)
		return plain_arg(&a->files, id, opt, val);
	return cli_memory_budget("check", val, &a->budget);
}

/* The lint's warnings (models/scn_lint.h) of the base and each variant,
 * to stderr: a variant's are printed only where the base has no such
 * warning.  Warnings never change the exit status. */
static void lint_all(const char *file, scenario **v, size_t n)
{
	enum { MAXW = 32 };
	scn_warning base[MAXW], w[MAXW];
	size_t nb = 0;
	for (size_t k = 0; k < n; k++) {
		size_t nw = scn_lint(v[k], w, MAXW);
		if (nw > MAXW)
			nw = MAXW;
		bool is_base = strcmp(v[k]->variant, "base") == 0;
		for (size_t i = 0; i < nw; i++) {
			bool seen = false;
			for (size_t j = 0; j < nb && !is_base; j++)
				seen = seen || (!strcmp(base[j].key, w[i].key) && !strcmp(base[j].msg, w[i].msg));
			if (seen)
				continue;
			if (is_base)
				term_eprintf("%s: warning: %s: %s\n", file, w[i].key, w[i].msg);
			else
				term_eprintf("%s: warning: variant '%s': %s: %s\n", file, v[k]->variant, w[i].key,
				             w[i].msg);
		}
		if (is_base && v[k]->sweep_point <= 0) {
			memcpy(base, w, nw * sizeof *w);
			nb = nw;
		}
	}
}

static int cmd_check(int argc, char **argv)
{
	const char *files[argc > 0 ? argc : 1];
	static const cli_opt opts[] = { { "--memory-budget", NULL, true, 0 } };
	check_args ca = { { files, 0 }, SCN_DEFAULT_MEMORY_BUDGET };
	int p = cli_parse("check", check_usage, opts, 1, argc, argv, check_arg, &ca);
	if (p != 0)
		return p > 0 ? EXIT_OK : EXIT_USAGE;
	if (ca.files.n < 1) {
		term_eprintf("throttlesim check: no scenario file given (try --help)\n");
		return EXIT_USAGE;
	}
	argc = ca.files.n;
	argv = (char **)files;
	int worst = 0;
	for (int i = 0; i < argc; i++) {
		scenario **v;
		size_t n;
		int rc = load(argv[i], NULL, 0, &v, &n);
		if (rc != 0) {
			if (rc > worst)
				worst = rc;
			continue;
		}
		long cores = sysconf(_SC_NPROCESSORS_ONLN);
		if ((rc = check_budget(argv[i], v, n, cores > 0 ? (int)cores : 1, ca.budget)) != 0) {
			if (rc > worst)
				worst = rc;
			scn_free_all(v, n, &sim_alloc_std);
			continue;
		}
		size_t points = 0;
		for (size_t k = 0; k < n; k++)
			if (strcmp(v[k]->variant, "base") == 0)
				points++;
		size_t variants = n / (points ? points : 1) - 1;
		if (v[0]->sweep_point >= 0)
			term_printf("%s: ok (%zu variant%s, %zu sweep points)\n", argv[i], variants,
			            variants == 1 ? "" : "s", points);
		else
			term_printf("%s: ok (%zu variant%s)\n", argv[i], variants, variants == 1 ? "" : "s");
		lint_all(argv[i], v, n);
		scn_free_all(v, n, &sim_alloc_std);
	}
	return worst;
}

typedef struct run_opts {
	const char *path;
	const char *format;
	const char *variant;
	const char *db;
	bool describe;      /* --describe: JSON with what the results refer to */
	bool keep_series;   /* --keep-series: every replication's time series into the store */
	uint64_t memory_budget; /* --memory-budget */
	scn_override *sets; /* --set KEY=VALUE, in command-line order: keys malloc'd, values in argv */
	size_t n_sets;
	cli_run_opts run;
	/* sharding (shard.h) */
	bool db_given, format_given;
	bool sharded;                 /* --shard I/N */
	int64_t shard_index, shard_count;
	int64_t block;                /* --block N */
	const char *emit;             /* --emit parallel|slurm, or NULL */
	int64_t shards;               /* --shards N (0: default) */
	/* the run-shaping options as given, to repeat them in emitted commands */
	const char *seed_arg, *reps_arg, *duration_arg, *engine_arg, *budget_arg;
	bool jobs_given;
	const char *cmd;              /* "run" or "runs", for messages */
} run_opts;

enum { RUN_FORMAT, RUN_VARIANT, RUN_DB, RUN_DESCRIBE, RUN_BUDGET, RUN_KEEP_SERIES, RUN_SET,
       RUN_SHARD, RUN_BLOCK, RUN_EMIT, RUN_SHARDS, RUN_SHARED };

/* --set KEY=VALUE: split at the first '=' (a key has none; a value may,
 * "{pool: a=b}"), applied to the base and every variant (variant NULL).
 * argv is left as it was: the store records the command line as given.
 * The array is sized by parse_run_args for every argument. */
static int run_set(run_opts *o, const char *val)
{
	const char *eq = strchr(val, '=');
	if (eq == NULL || eq == val) {
		term_eprintf("throttlesim run: --set: expected KEY=VALUE (senders.mfp.count=12), got '%s'\n", val);
		return -1;
	}
	char *key = strndup(val, (size_t)(eq - val));
	if (key == NULL) {
		term_eprintf("throttlesim: out of memory\n");
		return -1;
	}
	o->sets[o->n_sets++] = (scn_override){ .key = key, .value = eq + 1, .variant = NULL };
	return 0;
}

static void run_opts_free(run_opts *o)
{
	for (size_t i = 0; i < o->n_sets; i++)
		free((char *)o->sets[i].key);
	free(o->sets);
	o->sets = NULL;
	o->n_sets = 0;
}

static int run_option(void *ctx, int id, const char *opt, const char *val)
{
	run_opts *o = ctx;
	static const char *const formats[] = { "table", "json", "csv", NULL };
	switch (id) {
	case CLI_ARG:
		if (o->path) {
			term_eprintf("throttlesim run: one scenario file at a time ('%s' and '%s')\n", o->path, val);
			return -1;
		}
		o->path = val;
		return 0;
	case RUN_FORMAT:
		if (cli_choice("run", opt, val, formats) < 0)
			return -1;
		o->format = val;
		o->format_given = true;
		return 0;
	case RUN_SHARD:
		if (!shard_parse(val, &o->shard_index, &o->shard_count)) {
			term_eprintf("throttlesim %s: --shard: expected I/N with 0 <= I < N <= %d (2/4 is the third"
			             " of four shards), got '%s'\n", o->cmd, SHARD_MAX_COUNT, val);
			return -1;
		}
		o->sharded = true;
		return 0;
	case RUN_BLOCK:
		return cli_parse_int(o->cmd, opt, val, 1, SCN_MAX_REPLICATIONS, &o->block) < 0 ? -1 : 0;
	case RUN_SHARDS:
		return cli_parse_int("run", opt, val, 1, SHARD_MAX_COUNT, &o->shards) < 0 ? -1 : 0;
	case RUN_EMIT: {
		static const char *const emits[] = { "parallel", "slurm", NULL };
		if (cli_choice("run", opt, val, emits) < 0)
			return -1;
		o->emit = val;
		return 0;
	}
	case RUN_VARIANT:
		o->variant = val;
		return 0;
	case RUN_DB:
		o->db = val;
		o->db_given = true;
		return 0;
	case RUN_DESCRIBE:
		o->describe = true;
		return 0;
	case RUN_BUDGET:
		o->budget_arg = val;
		return cli_memory_budget("run", val, &o->memory_budget);
	case RUN_KEEP_SERIES:
		o->keep_series = true;
		return 0;
	case RUN_SET:
		return run_set(o, val);
	default:
		if (strcmp(opt, "--seed") == 0)
			o->seed_arg = val;
		else if (strcmp(opt, "--replications") == 0)
			o->reps_arg = val;
		else if (strcmp(opt, "--duration") == 0)
			o->duration_arg = val;
		else if (strcmp(opt, "--engine") == 0)
			o->engine_arg = val;
		return cli_run_option("run", opt, val, &o->run);
	}
}

/* -1 error (printed), 0 go on, 1 help printed. */
static int parse_run_args(const char *cmd, const char *usage, int argc, char **argv, run_opts *o)
{
	static const cli_opt opts[] = {
		{ "--format", NULL, true, RUN_FORMAT }, { "--variant", NULL, true, RUN_VARIANT },
		{ "--db", NULL, true, RUN_DB }, { "--describe", NULL, false, RUN_DESCRIBE },
		{ "--memory-budget", NULL, true, RUN_BUDGET }, { "--keep-series", NULL, false, RUN_KEEP_SERIES },
		{ "--set", NULL, true, RUN_SET }, { "--shard", NULL, true, RUN_SHARD },
		{ "--block", NULL, true, RUN_BLOCK }, { "--emit", NULL, true, RUN_EMIT },
		{ "--shards", NULL, true, RUN_SHARDS },
		CLI_RUN_OPTIONS(RUN_SHARED),
	};
	*o = (run_opts){ .format = "table", .db = "throttlesim.db", .memory_budget = SCN_DEFAULT_MEMORY_BUDGET,
	                 .block = SHARD_DEFAULT_BLOCK, .cmd = cmd };
	cli_run_opts_init(&o->run);
	if ((o->sets = calloc(argc > 0 ? (size_t)argc : 1, sizeof *o->sets)) == NULL) {
		term_eprintf("throttlesim: out of memory\n");
		return -1;
	}
	o->cmd = cmd;
	int p = cli_parse(cmd, usage, opts, sizeof opts / sizeof opts[0], argc, argv, run_option, o);
	if (p != 0)
		return p;
	if (o->path == NULL) {
		term_eprintf("throttlesim run: no scenario file given (try --help)\n");
		return -1;
	}
	if (o->sharded && o->emit) {
		term_eprintf("throttlesim run: --shard runs one shard, --emit prints the commands of all: one or"
		             " the other\n");
		return -1;
	}
	if (o->sharded && (o->format_given || o->describe)) {
		term_eprintf("throttlesim run: --shard prints no report (a shard holds a part of the run's"
		             " figures): %s after results merge\n", o->describe ? "--describe them" : "export them");
		return -1;
	}
	if (o->shards && !o->emit) {
		term_eprintf("throttlesim run: --shards N goes with --emit (one shard: --shard I/N)\n");
		return -1;
	}
	o->jobs_given = o->run.jobs != 0;
	cli_run_opts_finish(&o->run);
	return 0;
}

/* Everything one `run` holds, freed in one place (run_free). */
typedef struct run_job {
	run_opts o;
	scenario **v;            /* every scenario of the file (variants, sweep points) */
	size_t n;
	scenario **chosen;       /* those to run: all, or the bases and the named variant */
	size_t n_sel;
	sqlite3 *db;
	int64_t run_id;
	char *cmdline;
	res_rep **reps;          /* per chosen scenario, its replications */
	res_desc *desc;          /* per chosen scenario, what its results refer to */
	size_t n_desc;
	rpt_variant *rv;
	size_t *complete;        /* per chosen scenario, replications done when interrupted */
	size_t kept;             /* interrupted: replications kept of each scenario (0: none) */
	bool abandoned;          /* interrupted with replications still running (driver.h) */
	size_t n_rv;             /* variants with results: n_sel, or those a shard holds */
	/* --shard: the run's units, and per chosen scenario the replications
	 * of this shard's units (drv_sel) */
	shard_unit *units;
	size_t n_units;
	drv_sel *sel;
	int64_t **sel_reps;
	size_t shard_units_held;
} run_job;

static void run_free(run_job *j)
{
	drv_free_sel(j->reps, j->chosen, j->sel, j->n_sel);
	for (size_t k = 0; j->sel_reps && k < j->n_sel; k++)
		free(j->sel_reps[k]);
	free(j->sel_reps);
	free(j->sel);
	free(j->units);
	for (size_t k = 0; k < j->n_desc; k++)
		res_desc_free(&j->desc[k]);
	free(j->desc);
	free(j->chosen);
	free(j->rv);
	free(j->complete);
	store_close(j->db);
	free(j->cmdline);
	scn_free_all(j->v, j->n, &sim_alloc_std);
	run_opts_free(&j->o);
}

static int out_of_memory(void)
{
	term_eprintf("throttlesim: out of memory\n");
	return EXIT_FAIL;
}

/* Which scenarios to run: all, or the bases and the named variant (with a
 * sweep, at every point).  0 or an exit status (message printed). */
static int select_variants(run_job *j)
{
	const char *want = j->o.variant;
	if ((j->chosen = calloc(j->n, sizeof *j->chosen)) == NULL)
		return out_of_memory();
	bool found = want == NULL || strcmp(want, "base") == 0;
	for (size_t i = 0; i < j->n; i++) {
		bool is_base = strcmp(j->v[i]->variant, "base") == 0;
		bool named = want && !is_base && strcmp(j->v[i]->variant, want) == 0;
		found = found || named;
		if (want == NULL || is_base || named)
			j->chosen[j->n_sel++] = j->v[i];
	}
	if (!found) {
		term_eprintf("%s: no variant named '%s'; the file has:", j->o.path, want);
		for (size_t i = 1; i < j->n && strcmp(j->v[i]->variant, "base") != 0; i++)
			term_eprintf(" %s", j->v[i]->variant);
		term_eprintf("%s\n", j->n == 1 || strcmp(j->v[1]->variant, "base") == 0 ? " none" : "");
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < j->n; i++)
		cli_apply_run_opts(&j->o.run, j->v[i]);
	return 0;
}

/* While the run waits for another process's lock on the store. */
static void tell_waiting(void *ctx, const char *message)
{
	(void)ctx;
	term_eprintf("throttlesim: %s; this run's results are kept until they are stored\n", message);
}

/* The results store first: a store we cannot use stops us before the
 * work.  Records the run (incomplete until its results are in). */
static int begin_stored_run(run_job *j, int full_argc, char **full_argv)
{
	char err[1024];
	j->cmdline = cli_join_args(NULL, full_argc, full_argv);
	const scenario *s = j->v[0];
	store_run_info info = {
		.program_version = THROTTLESIM_VERSION, .scenario_name = s->name,
		.scenario_file = j->o.path, .scenario_text = s->source_text,
		.command_line = j->cmdline, .seed = s->seed, .replications = s->replications,
		.sets = j->o.sets, .n_sets = j->o.n_sets,
	};
	int st = store_open_waiting(j->o.db, tell_waiting, NULL, &j->db, err, sizeof err);
	if (st == SIM_EINVAL) {
		term_eprintf("throttlesim run: --db: %s\n", err);
		return EXIT_USAGE;
	}
	if (st != SIM_OK || store_begin_run(j->db, &info, &j->run_id, err, sizeof err) != SIM_OK) {
		term_eprintf("throttlesim: %s\n", err);
		return EXIT_FAIL;
	}
	return 0;
}

/* ---- Ctrl-C ------------------------------------------------------------------ */

enum { EXIT_INTERRUPTED = 130 };

/* The one piece of state outside a context: a signal handler reaches
 * nothing else.  Set by SIGINT while a run simulates or writes; the
 * driver's workers read it between replications. */
static struct {
	volatile sig_atomic_t stop;
	bool progress;   /* a progress line is on the terminal: clear it first */
} sigint_state;

/* Async-signal-safe: a flag and one write(2).  SA_RESETHAND makes the
 * next Ctrl-C the default one, which ends the process at once (while the
 * run's row is being marked, say). */
static void on_sigint(int sig)
{
	(void)sig;
	static const char clear[] = "\r\033[K";
	static const char msg[] = "throttlesim: interrupted: stopping\n";
	sigint_state.stop = 1;
	ssize_t w = sigint_state.progress ? write(STDERR_FILENO, clear, sizeof clear - 1) : 0;
	w = write(STDERR_FILENO, msg, sizeof msg - 1);
	(void)w;
}

static void catch_sigint(bool progress, struct sigaction *old)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigint;
	sa.sa_flags = SA_RESETHAND | SA_RESTART;  /* SQLite's I/O is not cut short */
	sigemptyset(&sa.sa_mask);
	sigint_state.stop = 0;
	sigint_state.progress = progress;
	sigaction(SIGINT, &sa, old);
}

/* Every replication of every chosen scenario, in parallel (the results do
 * not depend on --jobs), and what each scenario's results refer to.
 * Interrupted: EXIT_INTERRUPTED, with j->kept the number of first
 * replications complete for every scenario. */
static int simulate(run_job *j)
{
	char err[1024];
	j->rv = calloc(j->n_sel, sizeof *j->rv);
	j->desc = calloc(j->n_sel, sizeof *j->desc);
	j->complete = calloc(j->n_sel, sizeof *j->complete);
	if (j->rv == NULL || j->desc == NULL || j->complete == NULL)
		return out_of_memory();
	drv_opts dopt = { .kind = j->o.run.kind, .jobs = j->o.run.jobs, .sel = j->sel,
			  .progress = !j->o.run.quiet && isatty(STDERR_FILENO),
			  .stop = &sigint_state.stop, .complete = j->complete, .abandoned = &j->abandoned };
	int rc = drv_run(j->chosen, j->n_sel, &dopt, &j->reps, err, sizeof err);
	if (rc != SIM_OK && rc != SIM_EINTR) {
		term_eprintf("throttlesim: %s: %s\n", j->o.path, err);
		return EXIT_FAIL;
	}
	if (rc == SIM_EINTR) {
		/* the first replications complete for every scenario */
		j->kept = SIZE_MAX;
		for (size_t k = 0; k < j->n_sel; k++)
			if (j->complete[k] < j->kept)
				j->kept = j->complete[k];
		return EXIT_INTERRUPTED;
	}
	for (; j->n_desc < j->n_sel; j->n_desc++)
		if (res_describe(j->chosen[j->n_desc], &sim_alloc_std, &j->desc[j->n_desc]) != SIM_OK)
			return out_of_memory();
	/* a shard: only the scenarios it holds units of, in the run's order */
	for (size_t k = 0; k < j->n_sel; k++) {
		size_t n = j->sel ? j->sel[k].n : (size_t)j->chosen[k]->replications;
		if (n > 0)
			j->rv[j->n_rv++] = (rpt_variant){ .name = j->chosen[k]->variant, .desc = &j->desc[k],
			                                  .reps = j->reps[k], .n_reps = n };
	}
	return 0;
}

/* After Ctrl-C: the run's row marked as ended incomplete, and what was
 * done said.  Nothing of the replications is stored: the store holds a
 * run whole or not at all (store.h, Atomicity), and the replications
 * that were complete come back byte for byte from the same command with
 * --replications N, as their seeds depend on nothing else. */
static int keep_interrupted(run_job *j)
{
	char err[1024], what[160];
	size_t n = j->n_sel;
	int64_t want = j->chosen[0]->replications;
	bool same = true;
	for (size_t k = 1; k < n; k++)
		same = same && j->chosen[k]->replications == want;
	bool sweep = j->chosen[0]->sweep_point >= 0;
	const char *many = sweep ? "variants and sweep points" : "variants";
	if (n == 1)
		snprintf(what, sizeof what, "of %s", j->chosen[0]->variant);
	else
		snprintf(what, sizeof what, "of each of the %zu %s", n, many);
	if (store_end_run(j->db, j->run_id, err, sizeof err) != SIM_OK) {
		term_eprintf("throttlesim: %s\n", err);
		return EXIT_FAIL;
	}
	if (j->o.sharded) {
		term_eprintf("throttlesim: interrupted: shard %lld/%lld stored nothing (a run is stored whole):"
		             " run %lld is marked incomplete in %s; run the shard again\n",
		             (long long)j->o.shard_index, (long long)j->o.shard_count, (long long)j->run_id, j->o.db);
		return EXIT_INTERRUPTED;
	}
	if (j->kept == 0 && n == 1)
		term_eprintf("throttlesim: interrupted before any replication %s was complete", what);
	else if (j->kept == 0)
		term_eprintf("throttlesim: interrupted before each of the %zu %s had a complete replication", n, many);
	else if (same)
		term_eprintf("throttlesim: interrupted: %zu of %lld replications %s were complete", j->kept,
		             (long long)want, what);
	else
		term_eprintf("throttlesim: interrupted: %zu replications %s were complete", j->kept, what);
	term_eprintf("; nothing stored (a run is stored whole): run %lld is marked incomplete in %s\n",
	             (long long)j->run_id, j->o.db);
	if (j->kept > 0)
		term_eprintf("throttlesim: the same command with --replications %zu gives those %zu again"
		             " (the same seeds)\n", j->kept, j->kept);
	return EXIT_INTERRUPTED;
}

/* ---- shards (shard.h) ------------------------------------------------------- */

/* The units of the chosen scenarios.  0 or an exit status (printed). */
static int make_units(run_job *j)
{
	int64_t *reps = calloc(j->n_sel ? j->n_sel : 1, sizeof *reps);
	if (reps == NULL)
		return out_of_memory();
	for (size_t k = 0; k < j->n_sel; k++)
		reps[k] = j->chosen[k]->replications;
	int rc = shard_units(reps, j->n_sel, j->o.block, &j->units, &j->n_units);
	free(reps);
	return rc == SIM_OK ? 0 : out_of_memory();
}

/* --shard I/N: per chosen scenario, the replications of the shard's
 * units, ascending.  0 or an exit status (printed). */
static int select_shard(run_job *j)
{
	if ((j->sel = calloc(j->n_sel, sizeof *j->sel)) == NULL ||
	    (j->sel_reps = calloc(j->n_sel, sizeof *j->sel_reps)) == NULL)
		return out_of_memory();
	size_t *count = calloc(j->n_sel, sizeof *count);
	if (count == NULL)
		return out_of_memory();
	for (size_t u = 0; u < j->n_units; u++)
		if (shard_takes(u, j->o.shard_index, j->o.shard_count)) {
			count[j->units[u].scenario] += (size_t)j->units[u].n;
			j->shard_units_held++;
		}
	for (size_t k = 0; k < j->n_sel; k++)
		if (count[k] && (j->sel_reps[k] = calloc(count[k], sizeof *j->sel_reps[k])) == NULL) {
			free(count);
			return out_of_memory();
		}
	free(count);
	for (size_t u = 0; u < j->n_units; u++) {
		const shard_unit *x = &j->units[u];
		if (!shard_takes(u, j->o.shard_index, j->o.shard_count))
			continue;
		for (int64_t r = x->first; r < x->first + x->n; r++)
			j->sel_reps[x->scenario][j->sel[x->scenario].n++] = r;
	}
	for (size_t k = 0; k < j->n_sel; k++)
		j->sel[k].rep = j->sel_reps[k];
	if (j->shard_units_held == 0) {
		term_eprintf("throttlesim run: --shard %lld/%lld: no unit for this shard: the run has %zu unit%s"
		             " (see: throttlesim runs %s); use fewer shards, or smaller units (--block)\n",
		             (long long)j->o.shard_index, (long long)j->o.shard_count, j->n_units,
		             j->n_units == 1 ? "" : "s", j->o.path);
		return EXIT_USAGE;
	}
	return 0;
}

/* What, besides the scenario's text, seed and replications (the run's
 * row), shapes the results: every shard of a run must have the same. */
static char *run_identity(const run_opts *o)
{
	size_t size = 256;
	for (size_t i = 0; i < o->n_sets; i++)
		size += strlen(o->sets[i].key) + strlen(o->sets[i].value) + 16;
	if (o->variant)
		size += strlen(o->variant);
	char *s = malloc(size);
	if (s == NULL)
		return NULL;
	size_t n = 0;
	s[0] = '\0';
	if (o->variant)
		n += (size_t)snprintf(s + n, size - n, "%s--variant %s", n ? " " : "", o->variant);
	if (o->run.have_duration)
		n += (size_t)snprintf(s + n, size - n, "%s--duration %lldns", n ? " " : "",
		                      (long long)o->run.duration_ns);
	for (size_t i = 0; i < o->n_sets; i++)
		n += (size_t)snprintf(s + n, size - n, "%s--set %s=%s", n ? " " : "", o->sets[i].key,
		                      o->sets[i].value);
	return s;
}

/* The shard's record beside its run (store_merge.h).  0 or an exit status. */
static int note_shard(run_job *j)
{
	if (!j->o.sharded)
		return 0;
	char err[1024];
	store_shard_scenario *sc = calloc(j->n_sel, sizeof *sc);
	char *identity = run_identity(&j->o);
	if (sc == NULL || identity == NULL) {
		free(sc);
		free(identity);
		return out_of_memory();
	}
	int64_t held = 0;
	for (size_t k = 0; k < j->n_sel; k++)
		sc[k] = (store_shard_scenario){ .name = j->chosen[k]->variant, .point = j->chosen[k]->sweep_point,
		                                .replications = j->chosen[k]->replications,
		                                .variant_idx = j->sel[k].n ? held++ : -1 };
	store_shard rec = { .index = j->o.shard_index, .count = j->o.shard_count, .block = j->o.block,
	                    .options = identity, .scenarios = sc, .n_scenarios = j->n_sel };
	int st = store_note_shard(j->db, j->run_id, &rec, err, sizeof err);
	free(sc);
	free(identity);
	if (st != SIM_OK) {
		term_eprintf("throttlesim: %s\n", err);
		return EXIT_FAIL;
	}
	return 0;
}

/* A shard's one line: what it holds and where. */
static int report_shard(run_job *j)
{
	int64_t reps = 0;
	for (size_t k = 0; k < j->n_rv; k++)
		reps += (int64_t)j->rv[k].n_reps;
	term_printf("shard %lld/%lld of %s: %zu of %zu units (%zu variant%s, %lld replications) stored as run %lld"
	            " in %s\n", (long long)j->o.shard_index, (long long)j->o.shard_count, j->o.path,
	            j->shard_units_held, j->n_units, j->n_rv, j->n_rv == 1 ? "" : "s", (long long)reps,
	            (long long)j->run_id, j->o.db);
	return 0;
}

/* ---- emitted commands: GNU parallel, SLURM ---------------------------------- */

/* s for a POSIX shell, in single quotes ('\'' for a quote). */
static void put_quoted(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++)
		if (*s == '\'')
			fputs("'\\''", f);
		else
			fputc(*s, f);
	fputc('\'', f);
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* The options that shape the run, as given, each quoted. */
static void put_run_options(FILE *f, const run_opts *o)
{
	const struct { const char *name, *val; } given[] = {
		{ "--seed", o->seed_arg }, { "--replications", o->reps_arg }, { "--duration", o->duration_arg },
		{ "--variant", o->variant }, { "--engine", o->engine_arg }, { "--memory-budget", o->budget_arg },
	};
	for (size_t i = 0; i < sizeof given / sizeof given[0]; i++)
		if (given[i].val) {
			fprintf(f, " %s ", given[i].name);
			put_quoted(f, given[i].val);
		}
	for (size_t i = 0; i < o->n_sets; i++) {
		fputs(" --set ", f);
		char *kv = malloc(strlen(o->sets[i].key) + strlen(o->sets[i].value) + 2);
		if (kv) {
			sprintf(kv, "%s=%s", o->sets[i].key, o->sets[i].value);
			put_quoted(f, kv);
			free(kv);
		}
	}
	fprintf(f, " --block %lld", (long long)o->block);
}

typedef struct emit_names {
	char bin[4096], file[4096], out[4096], stem[4096], cwd[4096];
	int64_t shards;
} emit_names;

/* The program, the scenario, the merged file and its shards' stem. */
static int emit_names_of(run_job *j, const char *argv0, emit_names *e)
{
	ssize_t n = readlink("/proc/self/exe", e->bin, sizeof e->bin - 1);
	if (n > 0)
		e->bin[n] = '\0';
	else
		snprintf(e->bin, sizeof e->bin, "%s", argv0);
	/* as given: the shards record it as a run on one machine would (the
	 * commands run in this directory: the SLURM script changes to it) */
	snprintf(e->file, sizeof e->file, "%s", j->o.path);
	if (j->o.db_given) {
		snprintf(e->out, sizeof e->out, "%s", j->o.db);
	} else {
		const char *base = strrchr(j->o.path, '/');
		base = base ? base + 1 : j->o.path;
		size_t len = strlen(base);
		if (len > 5 && strcmp(base + len - 5, ".yaml") == 0)
			len -= 5;
		else if (len > 4 && strcmp(base + len - 4, ".yml") == 0)
			len -= 4;
		snprintf(e->out, sizeof e->out, "%.*s.db", (int)len, base);
	}
	size_t len = strlen(e->out);
	if (len > 3 && strcmp(e->out + len - 3, ".db") == 0)
		len -= 3;
	snprintf(e->stem, sizeof e->stem, "%.*s", (int)len, e->out);
	if (getcwd(e->cwd, sizeof e->cwd) == NULL)
		snprintf(e->cwd, sizeof e->cwd, ".");
	bool bad = has_control(e->bin) || has_control(e->file) || has_control(e->out) || has_control(e->cwd);
	for (size_t i = 0; i < j->o.n_sets; i++)
		bad = bad || has_control(j->o.sets[i].value);
	if (bad) {
		term_eprintf("throttlesim run: --emit: a path or value holds a control character; it cannot be"
		             " written into a command line safely\n");
		return EXIT_USAGE;
	}
	e->shards = j->o.shards ? j->o.shards : (int64_t)(j->n_units < 1000 ? j->n_units : 1000);
	if ((size_t)e->shards > j->n_units) {
		term_eprintf("throttlesim run: --shards %lld: the run has only %zu unit%s (see: throttlesim runs %s;"
		             " smaller units: --block)\n", (long long)e->shards, j->n_units,
		             j->n_units == 1 ? "" : "s", j->o.path);
		return EXIT_USAGE;
	}
	return 0;
}

/* One shard's command, up to its --shard (the caller adds the rest). */
static void put_shard_command(FILE *f, const emit_names *e, const run_opts *o)
{
	put_quoted(f, e->bin);
	fputs(" run ", f);
	put_quoted(f, e->file);
	put_run_options(f, o);
}

static void put_merge_command(FILE *f, const emit_names *e, const run_opts *o)
{
	put_quoted(f, e->bin);
	fputs(" results merge", f);
	if (o->keep_series)
		fputs(" --keep-series", f);
	fputc(' ', f);
	put_quoted(f, e->out);
	fputc(' ', f);
	put_quoted(f, e->stem);
	fprintf(f, ".shard-{0..%lld}.db", (long long)e->shards - 1);
}

static int emit(run_job *j, const char *argv0)
{
	emit_names *e = calloc(1, sizeof *e);
	if (e == NULL)
		return out_of_memory();
	int rc = emit_names_of(j, argv0, e);
	if (rc != 0) {
		free(e);
		return rc;
	}
	FILE *f = stdout;
	long long n = (long long)e->shards;
	if (strcmp(j->o.emit, "parallel") == 0) {
		/* -q: parallel quotes the command it runs, so no name reaches a
		 * shell unquoted; --halt: the first failed shard stops the rest. */
		fputs("parallel --will-cite -q --halt now,fail=1 ", f);
		put_shard_command(f, e, &j->o);
		fputs(" --shard {}/", f);
		fprintf(f, "%lld --jobs 1 --quiet --db ", n);
		put_quoted(f, e->stem);
		fprintf(f, ".shard-{}.db ::: {0..%lld} \\\n  && ", n - 1);
		put_merge_command(f, e, &j->o);
		fputc('\n', f);
	} else {
		int cpus = j->o.jobs_given ? j->o.run.jobs : 1;
		fputs("#!/bin/bash\n", f);
		fprintf(f, "# throttlesim: a run in %lld shards, a SLURM job array, and their merge, a job\n"
		        "# that starts once every shard has succeeded.  Submit with: bash THIS-FILE\n"
		        "# (bash THIS-FILE --wait returns when the merge is done; its status is the merge's).\n"
		        "set -euo pipefail\ncd ", n);
		put_quoted(f, e->cwd);
		fprintf(f, "\narray=$(sbatch --parsable --job-name=throttlesim --array=0-%lld --cpus-per-task=%d"
		        " --output=", n - 1, cpus);
		put_quoted(f, e->stem);
		fputs(".shard-%a.out <<'SHARD'\n#!/bin/bash\nexec ", f);
		put_shard_command(f, e, &j->o);
		fprintf(f, " --shard \"$SLURM_ARRAY_TASK_ID/%lld\" --jobs \"${SLURM_CPUS_PER_TASK:-1}\" --quiet --db ", n);
		put_quoted(f, e->stem);
		fputs(".shard-\"$SLURM_ARRAY_TASK_ID\".db\nSHARD\n)\n", f);
		fputs("sbatch --parsable --job-name=throttlesim-merge --dependency=afterok:\"${array%%;*}\" --output=", f);
		put_quoted(f, e->stem);
		fputs(".merge.out \"$@\" <<'MERGE'\n#!/bin/bash\nexec ", f);
		put_merge_command(f, e, &j->o);
		fputs("\nMERGE\n", f);
	}
	free(e);
	return 0;
}

/* ---- runs: the units, numbered ------------------------------------------------ */


static void runs_point(const scenario *s, char *buf, size_t size)
{
	if (s->sweep_point < 0 || s->n_sweep_keys == 0)
		snprintf(buf, size, "-");
	else if (s->n_sweep_keys == 1)
		snprintf(buf, size, "%lld (%s=%.15g)", (long long)s->sweep_point, s->sweep_key[0], s->sweep_value[0]);
	else
		snprintf(buf, size, "%lld (%s=%.15g, %s=%.15g)", (long long)s->sweep_point, s->sweep_key[0],
		         s->sweep_value[0], s->sweep_key[1], s->sweep_value[1]);
}

static int cmd_runs(int argc, char **argv)
{
	run_job j = { 0 };
	int p = parse_run_args("runs", runs_usage, argc, argv, &j.o);
	if (p == 0 && (j.o.emit || j.o.db_given || j.o.format_given || j.o.describe || j.o.keep_series)) {
		term_eprintf("throttlesim runs: lists units and runs nothing: --emit, --db, --format, --describe"
		             " and --keep-series are run's\n");
		p = -1;
	}
	if (p != 0) {
		run_opts_free(&j.o);
		return p > 0 ? EXIT_OK : EXIT_USAGE;
	}
	int status = load(j.o.path, j.o.sets, j.o.n_sets, &j.v, &j.n);
	if (status == 0 && (status = select_variants(&j)) == 0 && (status = make_units(&j)) == 0) {
		size_t listed = 0;
		int64_t reps = 0;
		term_printf("%5s  %-24s  %-24s  %s\n", "unit", "variant", "point", "replications");
		for (size_t u = 0; u < j.n_units; u++) {
			const shard_unit *x = &j.units[u];
			if (j.o.sharded && !shard_takes(u, j.o.shard_index, j.o.shard_count))
				continue;
			const scenario *s = j.chosen[x->scenario];
			char point[4 * SCN_NAME_MAX + 128], range[48];
			runs_point(s, point, sizeof point);
			if (x->n == 1)
				snprintf(range, sizeof range, "%lld", (long long)x->first);
			else
				snprintf(range, sizeof range, "%lld-%lld", (long long)x->first,
				         (long long)(x->first + x->n - 1));
			term_printf("%5zu  %-24s  %-24s  %s\n", u, s->variant, point, range);
			listed++;
			reps += x->n;
		}
		if (j.o.sharded)
			term_printf("shard %lld/%lld: %zu of %zu units, %lld replications\n", (long long)j.o.shard_index,
			            (long long)j.o.shard_count, listed, j.n_units, (long long)reps);
		else
			term_printf("%zu units: %zu variant%s%s in blocks of %lld replications, %lld replications\n",
			            j.n_units, j.n_sel, j.n_sel == 1 ? "" : "s",
			            j.n_sel && j.chosen[0]->sweep_point >= 0 ? " and sweep points" : "",
			            (long long)j.o.block, (long long)reps);
	}
	run_free(&j);
	return status;
}

/* The results into the store, the run marked complete, then the report. */
static int store_and_report(run_job *j)
{
	char err[1024];
	rpt_run run = { .scenario_name = j->v[0]->name, .seed = j->v[0]->seed,
			.version = THROTTLESIM_VERSION, .variants = j->rv, .n_variants = j->n_rv,
			.json_describe = j->o.describe };
	/* A shard keeps every replication's series: the merge computes the
	 * mean over all of them, as a run on one machine does. */
	bool keep_series = j->o.keep_series || j->o.sharded;
	if (store_write_results_progress(j->db, j->run_id, &run, keep_series, !j->o.run.quiet && isatty(STDERR_FILENO)
	                                 ? store_progress_to_terminal : NULL, (void *)j->o.db, 0, err, sizeof err) != SIM_OK ||
	    store_finish_run(j->db, j->run_id, err, sizeof err) != SIM_OK) {
		term_eprintf("throttlesim: %s\n", err);
		return EXIT_FAIL;
	}
	if (j->o.sharded)
		return report_shard(j);
	const char *fmt = j->o.format;
	int rc = strcmp(fmt, "json") == 0 ? rpt_json(stdout, &run)
	       : strcmp(fmt, "csv") == 0 ? rpt_csv(stdout, &run) : rpt_table(stdout, &run);
	if (rc != SIM_OK || fflush(stdout) != 0) {
		term_eprintf("throttlesim: writing the report: %s\n", strerror(errno));
		return EXIT_FAIL;
	}
	if (!j->o.run.quiet && strcmp(fmt, "table") == 0) {
		putchar('\n');
		term_printf("stored as run %lld in %s\n", (long long)j->run_id, j->o.db);
	}
	return 0;
}

static int cmd_run(int argc, char **argv, int full_argc, char **full_argv)
{
	run_job j = { 0 };
	int p = parse_run_args("run", run_usage, argc, argv, &j.o);
	if (p != 0) {
		run_opts_free(&j.o);
		return p > 0 ? EXIT_OK : EXIT_USAGE;
	}
	int status = load(j.o.path, j.o.sets, j.o.n_sets, &j.v, &j.n);
	if (status != 0) {
		run_opts_free(&j.o);
		return status;
	}
	if ((status = select_variants(&j)) == 0 && (j.o.sharded || j.o.emit))
		status = make_units(&j);
	if (status == 0 && j.o.emit) {
		status = emit(&j, full_argv[0]);
		run_free(&j);
		return status;
	}
	if (status == 0 && j.o.sharded)
		status = select_shard(&j);
	if (status == 0 &&
	    (status = check_budget(j.o.path, j.chosen, j.n_sel, j.o.run.jobs, j.o.memory_budget)) == 0) {
		/* Caught from before the run's row is written, so no moment
		 * leaves a row that nothing will end: a Ctrl-C while the row
		 * is written (or the store is waited for) stops the run before
		 * its first replication, and the row is marked. */
		struct sigaction old;
		catch_sigint(!j.o.run.quiet && isatty(STDERR_FILENO), &old);
		if ((status = begin_stored_run(&j, full_argc, full_argv)) == 0 && (status = note_shard(&j)) == 0) {
			status = simulate(&j);
			if (status == 0)
				status = store_and_report(&j);
			else if (status == EXIT_INTERRUPTED)
				status = keep_interrupted(&j);
		}
		if (j.abandoned) {
			/* Threads are still simulating with the scenarios: nothing
			 * may be freed under them, and waiting could take minutes.
			 * The run is marked; the process ends here. */
			store_close(j.db);
			fflush(stdout);
			fflush(stderr);
			_exit(status);
		}
		sigaction(SIGINT, &old, NULL);
	}
	run_free(&j);
	return status;
}

static int dispatch(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (strcmp(cmd, "--version") == 0) {
		printf("throttlesim %s\n", THROTTLESIM_VERSION);
		return 0;
	}
	if (strcmp(cmd, "demo") == 0) {
		const char *extra[argc];
		plain_args args = { extra, 0 };
		int p = parse_plain("demo", demo_usage, argc - 2, argv + 2, &args);
		if (p == 0 && args.n > 0)
			term_eprintf("throttlesim demo: unexpected argument '%s' (try demo --help)\n", extra[0]);
		if (p != 0 || args.n > 0)
			return p > 0 ? EXIT_OK : EXIT_USAGE;
		return cmd_demo();
	}
	if (strcmp(cmd, "check") == 0)
		return cmd_check(argc - 2, argv + 2);
	if (strcmp(cmd, "run") == 0)
		return cmd_run(argc - 2, argv + 2, argc, argv);
	if (strcmp(cmd, "runs") == 0)
		return cmd_runs(argc - 2, argv + 2);
	if (strcmp(cmd, "plan") == 0)
		return cmd_plan(argc - 2, argv + 2);
	if (strcmp(cmd, "results") == 0)
		return cmd_results(argc - 2, argv + 2);
	if (strcmp(cmd, "plot") == 0)
		return cmd_plot(argc - 2, argv + 2);
	if (strcmp(cmd, "report") == 0)
		return cmd_report(argc - 2, argv + 2);
	if (strcmp(cmd, "serve") == 0)
		return cmd_serve(argc - 2, argv + 2);
	if (strcmp(cmd, "load") == 0)
		return cmd_load(argc - 2, argv + 2);
	if (strcmp(cmd, "token") == 0)
		return cmd_token(argc - 2, argv + 2);
	if (strcmp(cmd, "profile") == 0)
		return cmd_profile(argc - 2, argv + 2);
	term_eprintf("throttlesim: unknown command '%s' (try --help)\n", cmd);
	return EXIT_USAGE;
}

/* Whatever the command printed must have reached standard output: a
 * buffered write fails only when flushed, so the last flush (and any
 * error met on the way) decides, for every command: `check FILE
 * >/dev/full` is a failure.  A command that failed while running (1) has
 * said why, the output included (run, results, plot check their own);
 * after success or a usage error (2, kept) the lost output is news. */
static int stdout_status(int status)
{
	errno = 0;
	bool failed = fflush(stdout) != 0;
	int e = errno;
	if (!ferror(stdout) && !failed)
		return status;
	if (status != EXIT_FAIL)
		term_eprintf("throttlesim: writing to standard output: %s\n", e ? strerror(e) : "write error");
	return status == EXIT_OK ? EXIT_FAIL : status;
}

int main(int argc, char **argv)
{
	return stdout_status(dispatch(argc, argv));
}
