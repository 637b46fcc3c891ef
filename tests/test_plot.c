/* test_plot.c - `throttlesim plot` (sim/program/plot*.c and the gnuplot scripts of plots/): each
 * chart kind is drawn from a small results file built through the store
 * API, in PNG and SVG, and the image checked: gnuplot succeeded, the file
 * is not empty and is 1000 x 600.  Also: the messages and exit statuses for
 * a missing gnuplot, a file that is not ours, an unknown run, bad usage,
 * and a store without the optional delay_cdf table and sweep columns; and
 * that each variant's time series draws its own concurrency limit (a
 * scenario run by the program, THROTTLESIM_BIN, its variables kept with
 * --keep-vars).
 *
 * Hostile input (issue 9): an --out that gnuplot would run as a command,
 * a plots/ of the working directory that must not be run, symlinks
 * planted at the output names, names that would break a data file or a
 * gnuplot string, and a sweep at the documented size bound.
 *
 * The rendering tests are skipped when gnuplot is not installed; the
 * scripts are those compiled in (the Makefile's PLOTSDIR), never ./plots.
 */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE /* mkdtemp, setenv */
#endif

#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "cli.h"
#include "report.h"
#include "status.h"
#include "store.h"

#define N_REPS 3
#define N_STEPS 240   /* four hours of one-minute steps */
#define N_MBX 2
#define MAX_VARIANTS 6

typedef struct fixture {
	char dir[64];
	char db[128];          /* a store with delay_cdf and the sweep columns */
	char plain_db[128];    /* a store from before delay_cdf and sweeps */
	int64_t run, sweep_run, plain_run;
	res_desc desc;
	res_mailbox_desc mailboxes[N_MBX];
	res_rep reps[MAX_VARIANTS][N_REPS];
	res_entity mbx[MAX_VARIANTS][N_REPS][N_MBX];
	res_series_row series[N_REPS][N_STEPS];
	rpt_variant variants[MAX_VARIANTS];
	char out[8192], err[8192];   /* the last call's standard output and error */
} fixture;

/* ---- building results ------------------------------------------------------------- */

/* A morning peak from 1 h to 2 h: 432s while it lasts, one error-throttle
 * period from 1.5 h to 2.5 h with its 5.2.252 refusals. */
static void fill_series(fixture *fx, size_t r)
{
	for (size_t i = 0; i < N_STEPS; i++) {
		res_series_row *row = &fx->series[r][i];
		bool peak = i >= 60 && i < 120, throttled = i >= 90 && i < 150;
		row->accepted = (uint32_t)(peak ? 25 + (i * 7 + r) % 6 : 4 + (i * 3 + r) % 5);
		row->released = row->accepted;
		row->rejected_by[RC_CONCURRENCY] = peak ? (uint32_t)(3 + i % 7) : 0;
		row->rejected_by[RC_THROTTLED_SEND_AS] = throttled ? (uint32_t)(2 + i % 3) : 0;
		row->outbox_backlog = peak ? (uint32_t)(10 + (i - 60) / 2) : 1;
		row->open_sessions = peak ? 3 : (uint32_t)(i % 3);
		row->throttled_mailboxes = throttled ? 1 : 0;
	}
}

static void fill_rep(fixture *fx, size_t v, size_t r, double level)
{
	res_rep *rep = &fx->reps[v][r];
	rep->seed = 1000 + r;
	rep->replication = (int64_t)r;
	rep->events = 100;
	for (int f = 0; f < FIG_COUNT; f++)
		rep->total.fig[f] = level * (double)(f + 1) * (1.0 + 0.04 * (double)r);
	rep->total.fig[FIG_THROTTLE_TIME] = v == 0 ? 3600.0 + 60.0 * (double)r : 0.0;
	rep->total.fig[FIG_RRL_FIRST_REACHED] = NAN;
	for (size_t m = 0; m < N_MBX; m++) {
		for (int f = 0; f < FIG_COUNT; f++)
			fx->mbx[v][r][m].fig[f] = rep->total.fig[f] / N_MBX;
	}
	rep->mailboxes = fx->mbx[v][r];
	rep->n_mailboxes = N_MBX;
	rep->series = fx->series[r];
	rep->n_series = N_STEPS;
	rep->series_step_ns = 60 * SCN_NS_PER_S;
}

static int64_t write_run(fixture *fx, const char *path, const char *const *names, size_t n)
{
	for (size_t v = 0; v < n; v++) {
		for (size_t r = 0; r < N_REPS; r++)
			fill_rep(fx, v, r, 10.0 + 7.0 * (double)v);
		fx->variants[v] = (rpt_variant){ names[v], &fx->desc, fx->reps[v], N_REPS };
	}
	rpt_run run = { .scenario_name = "plot-test", .seed = 42, .version = "0.1.0-test", .variants = fx->variants,
	                .n_variants = n };
	store_run_info info = { "0.1.0-test", "plot-test", "plot-test.yaml",
	                        "name: plot-test\nlimits:\n  preset: exchange-online\n",
	                        "throttlesim run plot-test.yaml", 42, N_REPS, NULL, 0 };
	sqlite3 *db = NULL;
	char err[512] = "";
	int64_t id = -1;
	if (store_open(path, &db, err, sizeof err) != SIM_OK ||
	    store_begin_run(db, &info, &id, err, sizeof err) != SIM_OK ||
	    store_write_results(db, id, &run, err, sizeof err) != SIM_OK ||
	    store_finish_run(db, id, err, sizeof err) != SIM_OK)
		fail_msg("%s", err);
	store_close(db);
	return id;
}

static void exec_sql(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg ? msg : "?");
	sqlite3_close(db);
}

/* Delay quantiles spanning four decades, and a sweep of two variants over
 * three values of one key, written over what the store wrote. */
static void add_extras(fixture *fx)
{
	char sql[4096];
	/* replace the runs' own (NaN-free but narrow) quantiles by wide ones */
	exec_sql(fx->db, "DELETE FROM delay_cdf;");
	/* delivery: q-th quantile 0.5 s * 2000^(q/100) * (v + 1), lower for later reps */
	snprintf(sql, sizeof sql,
	    "WITH RECURSIVE q(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM q WHERE x < 100)"
	    " INSERT INTO delay_cdf SELECT %lld, v.idx, r.replication, k.kind, q.x,"
	    " 0.5 * exp(q.x / 100.0 * 7.6) * (v.idx + 1) * (1 + 0.1 * r.replication)"
	    " * (CASE k.kind WHEN 'submission' THEN 0.9 ELSE 1 END)"
	    " FROM q, variants v, replications r, (SELECT 'submission' AS kind UNION ALL SELECT 'delivery') k"
	    " WHERE v.run_id = %lld AND r.run_id = v.run_id AND r.variant_idx = v.idx;",
	    (long long)fx->run, (long long)fx->run);
	exec_sql(fx->db, sql);
	snprintf(sql, sizeof sql,
	    "UPDATE variants SET point = idx %% 3, sweep_key = 'senders.mfp.count',"
	    " sweep_value = 10 * (1 + idx %% 3), name = CASE WHEN idx < 3 THEN 'base' ELSE 'pool-of-4' END"
	    " WHERE run_id = %lld;", (long long)fx->sweep_run);
	exec_sql(fx->db, sql);
}

/* path becomes an empty store of schema 2 (as the program created them
 * before schema 3 packed the results): add_extras rewrites its delay_cdf
 * rows with SQL. */
static void schema2_store(const char *path)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "cp tests/data/store-schema2-empty.db '%s'", path);
	assert_int_equal(system(cmd), 0);
}

static int setup(void **state)
{
	fixture *fx = calloc(1, sizeof *fx);
	assert_non_null(fx);
	snprintf(fx->dir, sizeof fx->dir, "/tmp/test_plot_XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->db, sizeof fx->db, "%s/results.db", fx->dir);
	snprintf(fx->plain_db, sizeof fx->plain_db, "%s/plain.db", fx->dir);
	snprintf(fx->desc.scenario, sizeof fx->desc.scenario, "plot-test");
	fx->desc.sweep_point = -1;
	for (size_t m = 0; m < N_MBX; m++) {
		snprintf(fx->mailboxes[m].name, sizeof fx->mailboxes[m].name, "scan%zu@contoso.com", m);
		fx->mailboxes[m].limits.concurrency = 3;
	}
	fx->desc.mailboxes = fx->mailboxes;
	fx->desc.n_mailboxes = N_MBX;
	for (size_t r = 0; r < N_REPS; r++)
		fill_series(fx, r);

	static const char *const names[] = { "base", "mailbox-per-device", "o'brien_{x}^2 & \"q\"" };
	schema2_store(fx->db);
	schema2_store(fx->plain_db);
	fx->run = write_run(fx, fx->db, names, 3);
	static const char *const sweep_names[] = { "a", "b", "c", "d", "e", "f" };
	fx->sweep_run = write_run(fx, fx->db, sweep_names, 6);
	add_extras(fx);
	fx->plain_run = write_run(fx, fx->plain_db, names, 2);
	exec_sql(fx->plain_db, "DROP TABLE delay_cdf; ALTER TABLE variants DROP COLUMN point;"
		 " ALTER TABLE variants DROP COLUMN sweep_key; ALTER TABLE variants DROP COLUMN sweep_value;"
		 " ALTER TABLE variants DROP COLUMN sweep_key2; ALTER TABLE variants DROP COLUMN sweep_value2;");
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	fixture *fx = *state;
	char cmd[160];
	/* THROTTLESIM_TEST_KEEP=1 keeps the images, to look at them. */
	const char *keep = getenv("THROTTLESIM_TEST_KEEP");
	if (keep && strcmp(keep, "1") == 0)
		fprintf(stderr, "kept %s\n", fx->dir);
	else
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx->dir);
	if (!(keep && strcmp(keep, "1") == 0) && system(cmd) != 0)
		return -1;
	free(fx);
	return 0;
}

/* ---- calling the command ------------------------------------------------------------- */

static void slurp(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	size_t n = fread(buf, 1, size - 1, f);
	buf[n] = 0;
	fclose(f);
}

/* Runs cmd_plot with args (NULL-terminated) in this process, standard
 * output and error captured into fx->out and fx->err. */
static int plot(fixture *fx, const char *first, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;
	va_start(ap, first);
	for (const char *a = first; a != NULL && argc < 31; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;

	char outp[128], errp[128];
	snprintf(outp, sizeof outp, "%s/stdout", fx->dir);
	snprintf(errp, sizeof errp, "%s/stderr", fx->dir);
	fflush(stdout);
	fflush(stderr);
	int save_out = dup(1), save_err = dup(2);
	int fo = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int fe = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(save_out >= 0 && save_err >= 0 && fo >= 0 && fe >= 0);
	dup2(fo, 1);
	dup2(fe, 2);
	int rc = cmd_plot(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(save_out, 1);
	dup2(save_err, 2);
	close(save_out);
	close(save_err);
	close(fo);
	close(fe);
	slurp(outp, fx->out, sizeof fx->out);
	slurp(errp, fx->err, sizeof fx->err);
	return rc;
}

static bool have_gnuplot(void)
{
	const char *path = getenv("PATH");
	if (path == NULL)
		return false;
	char *copy = strdup(path);
	assert_non_null(copy);
	bool found = false;
	for (char *save = NULL, *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
		char p[1024];
		snprintf(p, sizeof p, "%s/gnuplot", d);
		found = access(p, X_OK) == 0;
	}
	free(copy);
	return found;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The image exists, is not empty and is 1000 x 600 (PNG: the IHDR chunk;
 * SVG: the width and height attributes of the svg element). */
static void check_image(const char *path)
{
	struct stat sb;
	if (stat(path, &sb) != 0)
		fail_msg("%s: not written", path);
	assert_true(sb.st_size > 0);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	unsigned char head[2048];
	size_t n = fread(head, 1, sizeof head - 1, f);
	fclose(f);
	head[n] = 0;
	size_t len = strlen(path);
	if (len > 4 && strcmp(path + len - 4, ".png") == 0) {
		static const unsigned char sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
		assert_true(n >= 24);
		assert_memory_equal(head, sig, 8);
		assert_memory_equal(head + 12, "IHDR", 4);
		assert_int_equal(be32(head + 16), 1000);
		assert_int_equal(be32(head + 20), 600);
	} else {
		const char *svg = strstr((const char *)head, "<svg");
		assert_non_null(svg);
		assert_non_null(strstr(svg, "width=\"1000\""));
		assert_non_null(strstr(svg, "height=\"600\""));
	}
}

static void image(fixture *fx, const char *dir, const char *name)
{
	char p[256];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	check_image(p);
	/* and the command said it wrote it */
	if (strstr(fx->out, p) == NULL)
		fail_msg("%s not listed in: %s", p, fx->out);
}

#define NEED_GNUPLOT() do { if (!have_gnuplot()) skip(); } while (0)

/* ---- rendering ------------------------------------------------------------------------ */

static void test_timeseries(void **state)
{
	fixture *fx = *state;
	NEED_GNUPLOT();
	char run[32], out[128];
	snprintf(run, sizeof run, "%lld", (long long)fx->run);
	snprintf(out, sizeof out, "%s/ts", fx->dir);
	int rc = plot(fx, run, "--db", fx->db, "--out", out, "--chart", "timeseries", NULL);
	if (rc != 0)
		fail_msg("exit %d: %s", rc, fx->err);
	image(fx, out, "timeseries-0-base.png");
	image(fx, out, "timeseries-1-mailbox-per-device.png");
	image(fx, out, "timeseries-2-o_brien__x__2____q_.png");
	/* the data file has the classes that occur, and only those */
	char data[256], text[8192];
	snprintf(data, sizeof data, "%s/timeseries-0-base.dat", out);
	slurp(data, text, sizeof text);
	assert_non_null(strstr(text, "rejected_concurrency_per_min"));
	assert_non_null(strstr(text, "rejected_throttled_send_as_per_min"));
	assert_null(strstr(text, "rejected_recipient_rate"));

	/* --variant: that one only */
	snprintf(out, sizeof out, "%s/ts1", fx->dir);
	rc = plot(fx, run, "--db", fx->db, "--out", out, "--chart", "timeseries", "--variant",
	          "mailbox-per-device", NULL);
	assert_int_equal(rc, 0);
	image(fx, out, "timeseries-1-mailbox-per-device.png");
	snprintf(data, sizeof data, "%s/timeseries-0-base.png", out);
	assert_int_not_equal(access(data, F_OK), 0);
	assert_int_equal(plot(fx, run, "--db", fx->db, "--out", out, "--variant", "nope", NULL), 2);
	assert_non_null(strstr(fx->err, "no variant 'nope'"));
}

static void test_cdf(void **state)
{
	fixture *fx = *state;
	NEED_GNUPLOT();
	char run[32], out[128];
	snprintf(run, sizeof run, "%lld", (long long)fx->run);
	snprintf(out, sizeof out, "%s/cdf", fx->dir);
	int rc = plot(fx, run, "--db", fx->db, "--out", out, "--chart", "cdf", NULL);
	if (rc != 0)
		fail_msg("exit %d: %s", rc, fx->err);
	image(fx, out, "cdf.png");
	/* quantiles averaged over the replications: q = 0 of variant 0 is
	 * 0.5 s x (1 + 1.1 + 1.2) / 3 = 0.55 s; the delays span four decades
	 * (0.5 s .. 1000 s x 3), so the x axis is logarithmic in seconds */
	char data[256], text[16384];
	snprintf(data, sizeof data, "%s/cdf.dat", out);
	slurp(data, text, sizeof text);
	/* each variant: its delay, then q times its delivered share (here
	 * every message released: the curves reach 1) */
	assert_non_null(strstr(text, "\n0.00 0.55 0 1.1 0 1.65 0\n"));
}

static void test_compare(void **state)
{
	fixture *fx = *state;
	NEED_GNUPLOT();
	char run[32], out[128];
	snprintf(run, sizeof run, "%lld", (long long)fx->run);
	snprintf(out, sizeof out, "%s/cmp", fx->dir);
	int rc = plot(fx, run, "--db", fx->db, "--out", out, "--chart", "compare", NULL);
	if (rc != 0)
		fail_msg("exit %d: %s", rc, fx->err);
	image(fx, out, "compare.png");
}

static void test_sweep(void **state)
{
	fixture *fx = *state;
	NEED_GNUPLOT();
	char run[32], out[128];
	snprintf(run, sizeof run, "%lld", (long long)fx->sweep_run);
	snprintf(out, sizeof out, "%s/sweep", fx->dir);
	/* every chart: the sweep, and no per-point time series or bars */
	int rc = plot(fx, run, "--db", fx->db, "--out", out, NULL);
	if (rc != 0)
		fail_msg("exit %d: %s", rc, fx->err);
	image(fx, out, "sweep-delay_p95_all.png");
	assert_null(strstr(fx->out, "timeseries-"));
	assert_null(strstr(fx->out, "compare."));
	/* two lines of three points, in swept order */
	char data[256], text[8192];
	snprintf(data, sizeof data, "%s/sweep-delay_p95_all.dat", out);
	slurp(data, text, sizeof text);
	assert_non_null(strstr(text, "# line 1: base\n10 "));
	assert_non_null(strstr(text, "# line 2: pool-of-4\n10 "));
	rc = plot(fx, run, "--db", fx->db, "--out", out, "--figure", "accepted", NULL);
	assert_int_equal(rc, 0);
	image(fx, out, "sweep-accepted.png");
	assert_int_equal(plot(fx, run, "--db", fx->db, "--out", out, "--figure", "no_such", NULL), 2);
	assert_non_null(strstr(fx->err, "no figure 'no_such'"));
}

static void test_svg_every_chart(void **state)
{
	fixture *fx = *state;
	NEED_GNUPLOT();
	char run[32], out[128];
	snprintf(run, sizeof run, "%lld", (long long)fx->run);
	snprintf(out, sizeof out, "%s/svg", fx->dir);
	int rc = plot(fx, run, "--db", fx->db, "--out", out, "--format", "svg", NULL);
	if (rc != 0)
		fail_msg("exit %d: %s", rc, fx->err);
	image(fx, out, "timeseries-0-base.svg");
	image(fx, out, "cdf.svg");
	image(fx, out, "compare.svg");
	snprintf(run, sizeof run, "%lld", (long long)fx->sweep_run);
	rc = plot(fx, run, "--db", fx->db, "--out", out, "--format", "svg", "--chart", "sweep", NULL);
	assert_int_equal(rc, 0);
	image(fx, out, "sweep-delay_p95_all.svg");
}

/* A store without delay_cdf and the sweep columns: those charts are
 * skipped with a note, the others drawn; 'last' is the newest run. */
static void test_store_without_extras(void **state)
{
	fixture *fx = *state;
	NEED_GNUPLOT();
	char out[128];
	snprintf(out, sizeof out, "%s/plain", fx->dir);
	int rc = plot(fx, "last", "--db", fx->plain_db, "--out", out, NULL);
	if (rc != 0)
		fail_msg("exit %d: %s", rc, fx->err);
	assert_non_null(strstr(fx->out, "no delay_cdf table"));
	assert_non_null(strstr(fx->out, "no sweep columns"));
	image(fx, out, "timeseries-0-base.png");
	image(fx, out, "compare.png");
}

/* ---- the concurrency limit line ------------------------------------------------------- */

static const char *bin(void)
{
	const char *b = getenv("THROTTLESIM_BIN");
	return b ? b : "build/debug/throttlesim";
}

/* The gnuplot variables --keep-vars kept for an image stem of dir. */
static void vars_of(const char *dir, const char *stem, char *buf, size_t size)
{
	char p[256];
	snprintf(p, sizeof p, "%s/%s.vars", dir, stem);
	slurp(p, buf, size);
}

static void expect_var(const char *vars, const char *assignment)
{
	if (strstr(vars, assignment) == NULL)
		fail_msg("'%s' not in: %s", assignment, vars);
}

/* tests/data/plot-limits.yaml, run by the real program: two mailboxes at
 * exchange-online's documented 3 concurrent connections each; variants at
 * 5 each, 5 for one mailbox only, and off.  Each time series draws its own
 * variant's limit: 2 x 3, 2 x 5, 3 + 5, none.  The same run in a schema-1
 * file (which holds no limits) draws no line, and still draws. */
static void test_limit_line(void **state)
{
	fixture *fx = *state;
	NEED_GNUPLOT();
	char db[128], cmd[512], out[128], vars[16384];
	snprintf(db, sizeof db, "%s/limits.db", fx->dir);
	snprintf(cmd, sizeof cmd, "%s run tests/data/plot-limits.yaml --db %s --quiet >/dev/null", bin(), db);
	assert_int_equal(system(cmd), 0);
	snprintf(out, sizeof out, "%s/limits", fx->dir);
	int rc = plot(fx, "last", "--db", db, "--out", out, "--chart", "timeseries", "--keep-vars", NULL);
	if (rc != 0)
		fail_msg("exit %d: %s", rc, fx->err);
	image(fx, out, "timeseries-0-base.png");
	vars_of(out, "timeseries-0-base", vars, sizeof vars);
	expect_var(vars, "limit=6\nlimitlabel='concurrency limit, 3 x 2 mailboxes'\n");
	vars_of(out, "timeseries-1-five", vars, sizeof vars);
	expect_var(vars, "limit=10\nlimitlabel='concurrency limit, 5 x 2 mailboxes'\n");
	vars_of(out, "timeseries-2-one-mailbox-raised", vars, sizeof vars);
	expect_var(vars, "limit=8\nlimitlabel='concurrency limit, 8 in all'.\"\\n\".'(3 to 5 per mailbox, 2 mailboxes)'\n");
	vars_of(out, "timeseries-3-off", vars, sizeof vars);
	expect_var(vars, "limit=0\n");
	/* the variables are those gnuplot was given: the data file beside them */
	expect_var(vars, "datafile='timeseries-3-off.dat'\n");

	exec_sql(db, "DROP TABLE entities; DROP TABLE replies; ALTER TABLE variants DROP COLUMN duration_ns;"
	         " ALTER TABLE variants DROP COLUMN start_unix_s; ALTER TABLE variants DROP COLUMN series_step_ns;"
	         " PRAGMA user_version = 1; UPDATE meta SET value = '1' WHERE key = 'schema_version';");
	snprintf(out, sizeof out, "%s/limits1", fx->dir);
	rc = plot(fx, "last", "--db", db, "--out", out, "--chart", "timeseries", "--keep-vars", NULL);
	if (rc != 0)
		fail_msg("exit %d: %s", rc, fx->err);
	image(fx, out, "timeseries-1-five.png");
	vars_of(out, "timeseries-1-five", vars, sizeof vars);
	expect_var(vars, "limit=0\n");
}

/* ---- the mean series, hand-worked ------------------------------------------------------ */

#define H_STEPS 40    /* 40 one-minute steps */
#define H_REPS 2

typedef struct hand_run {
	res_desc desc;
	res_mailbox_desc mbx[2];
	res_series_row series[3][H_REPS][H_STEPS];
	res_rep reps[3][H_REPS];
	res_entity ent[3][H_REPS][2];
	rpt_variant variants[3];
} hand_run;

/* Three variants of two replications, 40 steps of 60 s, two mailboxes
 * limited to 3 sessions and 30 messages a minute each:
 *   lossy   rep 0: step 10 accepted 4, lost 1; step 11 accepted 2, lost 3
 *           rep 1: step 10 accepted 2, lost 1; step 13 lost 2
 *           mean:  step 10 accepted 3, lost 1; 11: 1, 1.5; 13: 0, 1
 *           generated 200, released 150 and 170, lost 50 and 30
 *   twice   every count of lossy doubled: the same three steps not 0
 *   idle    nothing at all: every step 0 */
static int64_t write_hand_run(hand_run *h, const char *path, bool keep_series)
{
	memset(h, 0, sizeof *h);
	snprintf(h->desc.scenario, sizeof h->desc.scenario, "hand");
	h->desc.sweep_point = -1;
	h->desc.duration_ns = H_STEPS * 60 * SCN_NS_PER_S;
	for (size_t m = 0; m < 2; m++) {
		snprintf(h->mbx[m].name, sizeof h->mbx[m].name, "m%zu@contoso.com", m);
		h->mbx[m].limits.concurrency = 3;
		h->mbx[m].limits.message_rate = 30;
		h->mbx[m].limits.message_rate_window_ns = 60 * SCN_NS_PER_S;
	}
	h->desc.mailboxes = h->mbx;
	h->desc.n_mailboxes = 2;
	static const char *const names[3] = { "lossy", "twice", "idle" };
	for (size_t v = 0; v < 3; v++) {
		uint32_t k = v == 0 ? 1 : v == 1 ? 2 : 0;
		res_series_row (*s)[H_STEPS] = h->series[v];
		s[0][10].accepted = 4 * k; s[0][10].lost = 1 * k;
		s[0][11].accepted = 2 * k; s[0][11].lost = 3 * k;
		s[1][10].accepted = 2 * k; s[1][10].lost = 1 * k;
		s[1][13].lost = 2 * k;
		for (size_t r = 0; r < H_REPS; r++) {
			res_rep *rep = &h->reps[v][r];
			rep->seed = 1 + r;
			rep->replication = (int64_t)r;
			rep->total.fig[FIG_GENERATED] = 200;
			rep->total.fig[FIG_RELEASED] = r == 0 ? 150 : 170;
			rep->total.fig[FIG_ACCEPTED] = rep->total.fig[FIG_RELEASED];
			rep->total.fig[FIG_LOST] = r == 0 ? 50 : 30;
			rep->total.fig[FIG_RRL_FIRST_REACHED] = NAN;
			for (size_t m = 0; m < 2; m++)
				for (int f = 0; f < FIG_COUNT; f++)
					h->ent[v][r][m].fig[f] = rep->total.fig[f] / 2;
			rep->mailboxes = h->ent[v][r];
			rep->n_mailboxes = 2;
			for (size_t q = 0; q < RES_CDF_POINTS; q++)
				rep->delivery_cdf[q] = rep->submission_cdf[q] = 1.0 + (double)q;
			rep->series = s[r];
			rep->n_series = H_STEPS;
			rep->series_step_ns = 60 * SCN_NS_PER_S;
		}
		h->variants[v] = (rpt_variant){ names[v], &h->desc, h->reps[v], H_REPS };
	}
	rpt_run run = { .scenario_name = "hand", .seed = 1, .version = "0.1.0-test", .variants = h->variants,
	                .n_variants = 3 };
	store_run_info info = { "0.1.0-test", "hand", "hand.yaml", "name: hand\n", "throttlesim run hand.yaml",
	                        1, H_REPS, NULL, 0 };
	sqlite3 *db = NULL;
	char err[512] = "";
	int64_t id = -1;
	if (store_open(path, &db, err, sizeof err) != SIM_OK ||
	    store_begin_run(db, &info, &id, err, sizeof err) != SIM_OK ||
	    store_write_results_series(db, id, &run, keep_series, err, sizeof err) != SIM_OK ||
	    store_finish_run(db, id, err, sizeof err) != SIM_OK)
		fail_msg("%s", err);
	store_close(db);
	return id;
}

static long long count_rows(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	long long n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* The data rows of a time-series data file: minute since the start and
 * the lost-per-minute column (5), in file order.  Returns the count. */
static size_t read_lost(const char *path, double *minute, double *lost, size_t max)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char line[1024];
	size_t n = 0;
	while (fgets(line, sizeof line, f)) {
		double t, a, rel;
		if (line[0] == '#')
			continue;
		assert_true(n < max);
		assert_int_equal(sscanf(line, "%lf %lf %lf %lf %lf", &t, &minute[n], &a, &rel, &lost[n]), 5);
		n++;
	}
	fclose(f);
	return n;
}

static double var_num(const char *vars, const char *name)
{
	char key[64];
	snprintf(key, sizeof key, "\n%s=", name);
	const char *p = strstr(vars, key);
	if (p == NULL)
		fail_msg("no %s in: %s", name, vars);
	return strtod(p + strlen(key), NULL);
}

/* What run stores by default: the mean of the replications (as their
 * sums, schema 3), only the steps where it is not 0: steps 10, 11 and 13
 * of lossy and of twice, none of idle: 3 x 2 = 6 rows (not x 2
 * replications).  --keep-series (keep_series): every replication's
 * series, of 40 steps each. */
static void test_series_rows(void **state)
{
	fixture *fx = *state;
	hand_run *h = malloc(sizeof *h);
	assert_non_null(h);
	char db[128], sql[256];
	snprintf(db, sizeof db, "%s/hand-mean.db", fx->dir);
	int64_t id = write_hand_run(h, db, false);
	/* schema 3 packs a variant's series in one blob: its steps (40,
	 * 0x28), then the rows stored (3, 3, 0), each a varint of one byte */
	snprintf(sql, sizeof sql, "SELECT group_concat(h, ',') = '2803,2803,2800' FROM (SELECT hex(substr(series, 1, 2))"
	         " AS h FROM variant_data WHERE run_id = %lld ORDER BY variant_idx)", (long long)id);
	assert_int_equal(count_rows(db, sql), 1);
	snprintf(sql, sizeof sql, "SELECT count(*) FROM replication_data WHERE run_id = %lld AND series IS NOT NULL",
	         (long long)id);
	assert_int_equal(count_rows(db, sql), 0);
	/* the mean's lost column: (3 + 0) / 2 at step 11 of lossy, doubled in twice */
	sqlite3 *h_db = NULL;
	store_loaded *l = NULL;
	char err[512] = "";
	assert_int_equal(store_open_readonly(db, &h_db, err, sizeof err), SIM_OK);
	if (store_load_run(h_db, id, &l, err, sizeof err) != SIM_OK)
		fail_msg("%s", err);
	assert_int_equal(l->series[0].n, H_STEPS);
	assert_true(l->series[0].rows[11].lost == 1.5);
	assert_true(l->series[1].rows[11].lost == 3);
	assert_true(l->series[2].rows[11].lost == 0);
	store_loaded_free(l);
	store_close(h_db);

	snprintf(db, sizeof db, "%s/hand-keep.db", fx->dir);
	id = write_hand_run(h, db, true);
	/* every replication's own series, 40 steps each; no variant's */
	snprintf(sql, sizeof sql, "SELECT count(*) FROM replication_data WHERE run_id = %lld"
	         " AND hex(substr(series, 1, 1)) = '28'", (long long)id);
	assert_int_equal(count_rows(db, sql), H_REPS * 3);
	snprintf(sql, sizeof sql, "SELECT count(*) FROM variant_data WHERE run_id = %lld AND series IS NULL",
	         (long long)id);
	assert_int_equal(count_rows(db, sql), 3);
	free(h);
}

/* The time series of the mean, from either store: lost per minute as
 * counted by hand (step 10: (1 + 1) / 2 = 1, step 11: (3 + 0) / 2 = 1.5,
 * step 13: (0 + 2) / 2 = 1, else 0); the window: active steps 10 to 13,
 * a margin of 2 steps (a tenth of 4 is less), so steps 8 to 15; --from
 * 5m --to 20m: steps 5 to 19; the limits 2 x 3 sessions and 2 x 30
 * messages a minute; idle (every step 0) still drawn, over its whole
 * length.  The CDF stops at the delivered share, (0.75 + 0.85) / 2 = 0.8
 * = 1 - the lost share (0.25 + 0.15) / 2. */
static void test_series_hand_counted(void **state)
{
	fixture *fx = *state;
	NEED_GNUPLOT();
	hand_run *h = malloc(sizeof *h);
	assert_non_null(h);
	for (int keep = 0; keep < 2; keep++) {
		char db[128], out[128], data[256], vars[16384];
		snprintf(db, sizeof db, "%s/hand-%d.db", fx->dir, keep);
		write_hand_run(h, db, keep == 1);
		snprintf(out, sizeof out, "%s/hand-%d", fx->dir, keep);
		int rc = plot(fx, "last", "--db", db, "--out", out, "--keep-vars", NULL);
		if (rc != 0)
			fail_msg("exit %d: %s", rc, fx->err);
		image(fx, out, "timeseries-0-lossy.png");
		image(fx, out, "timeseries-2-idle.png");
		image(fx, out, "cdf.png");

		double minute[64], lost[64];
		snprintf(data, sizeof data, "%s/timeseries-0-lossy.dat", out);
		size_t n = read_lost(data, minute, lost, 64);
		assert_int_equal(n, 8);
		static const double want[8] = { 0, 0, 1, 1.5, 0, 1, 0, 0 };
		for (size_t i = 0; i < n; i++) {
			assert_true(minute[i] == 8.0 + (double)i);
			if (lost[i] != want[i])
				fail_msg("keep %d, minute %g: lost %g, by hand %g", keep, minute[i], lost[i], want[i]);
		}
		vars_of(out, "timeseries-0-lossy", vars, sizeof vars);
		assert_true(var_num(vars, "xmin") == 8 * 60.0);
		assert_true(var_num(vars, "xmax") == 16 * 60.0);
		expect_var(vars, "\nlimit=6\nlimitlabel='concurrency limit, 3 x 2 mailboxes'\n");
		expect_var(vars, "\nratelimit=60\nratelabel='message rate limit, 30/min x 2 mailboxes'\n");
		expect_var(vars, "\nlost_stored=1\n");

		/* every step 0: 40 rows of zeros, the whole length */
		snprintf(data, sizeof data, "%s/timeseries-2-idle.dat", out);
		n = read_lost(data, minute, lost, 64);
		assert_int_equal(n, H_STEPS);
		for (size_t i = 0; i < n; i++)
			assert_true(minute[i] == (double)i && lost[i] == 0);

		vars_of(out, "cdf", vars, sizeof vars);
		assert_true(fabs(var_num(vars, "dshare1") - 0.8) < 1e-12);
		assert_true(fabs(var_num(vars, "dshare3") - 0.8) < 1e-12);
		expect_var(vars, "\ntail1='20.0% lost'\n");

		rc = plot(fx, "last", "--db", db, "--out", out, "--keep-vars", "--chart", "timeseries",
		          "--variant", "lossy", "--from", "5m", "--to", "20m", NULL);
		if (rc != 0)
			fail_msg("exit %d: %s", rc, fx->err);
		snprintf(data, sizeof data, "%s/timeseries-0-lossy.dat", out);
		n = read_lost(data, minute, lost, 64);
		assert_int_equal(n, 15);
		assert_true(minute[0] == 5 && minute[14] == 19);
		vars_of(out, "timeseries-0-lossy", vars, sizeof vars);
		assert_true(var_num(vars, "xmin") == 5 * 60.0);
		assert_true(var_num(vars, "xmax") == 20 * 60.0);
	}
	/* the CDF's data: its last point (q = 100) at 0.8 of all mail */
	char data[256], text[16384];
	snprintf(data, sizeof data, "%s/hand-1/cdf.dat", fx->dir);
	slurp(data, text, sizeof text);
	assert_non_null(strstr(text, "\n1.00 101 0.8 101 0.8 101 0.8\n"));
	free(h);
}

/* --entity: the time series and the delay distribution replay the run,
 * and this store's run was made by another version (0.1.0-test): refused
 * before anything is made, saying so.  The comparison needs no replay: it
 * draws the mailbox's stored summaries, here half the total's (fill_rep):
 * accepted of replication r is level x (1 + 0.04 r), level 10 + 7 v, so
 * the mean over r = 0, 1, 2 is 1.04 x level: 10.4 and 17.68. */
static void test_entity(void **state)
{
	fixture *fx = *state;
	char run[32], out[128];
	snprintf(run, sizeof run, "%lld", (long long)fx->run);
	snprintf(out, sizeof out, "%s/entity", fx->dir);
	assert_int_equal(plot(fx, run, "--db", fx->db, "--out", out, "--entity", "scan0@contoso.com", NULL),
	                 have_gnuplot() ? 2 : 1);
	if (!have_gnuplot())
		return;
	assert_non_null(strstr(fx->err, "--entity: cannot replay run 1: run 1 was made by throttlesim 0.1.0-test"));
	struct stat sb;
	assert_int_equal(lstat(out, &sb), -1);

	assert_int_equal(plot(fx, run, "--db", fx->db, "--out", out, "--entity", "scan0@contoso.co", NULL), 2);
	assert_non_null(strstr(fx->err, "no sender group or mailbox named 'scan0@contoso.co' (did you mean 'scan0@contoso.com'?)"));

	int rc = plot(fx, run, "--db", fx->db, "--out", out, "--entity", "mailbox:scan0@contoso.com",
	              "--chart", "compare", NULL);
	if (rc != 0)
		fail_msg("exit %d: %s", rc, fx->err);
	image(fx, out, "compare-mailbox-scan0_contoso.com.png");
	char data[256], text[8192];
	snprintf(data, sizeof data, "%s/compare-mailbox-scan0_contoso.com.dat", out);
	FILE *f = fopen(data, "r");
	assert_non_null(f);
	size_t n = fread(text, 1, sizeof text - 1, f);
	text[n] = 0;
	fclose(f);
	assert_non_null(strstr(text, "mailbox 'scan0@contoso.com'"));
	assert_non_null(strstr(text, "\n0 0 10.4 "));
	assert_non_null(strstr(text, "\n1 1 17.68 "));
}

/* ---- hostile paths, scripts, names and sizes (issue 9) -------------------------------- */

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static bool exists(const char *path)
{
	struct stat sb;
	return lstat(path, &sb) == 0;
}

/* Runs plot with the working directory dir (restored after). */
static int plot_in(fixture *fx, const char *dir, const char *run, const char *out, const char *a1,
                   const char *a2, const char *a3, const char *a4)
{
	char cwd[1024];
	assert_non_null(getcwd(cwd, sizeof cwd));
	assert_int_equal(chdir(dir), 0);
	int rc = plot(fx, run, "--db", fx->db, "--out", out, a1, a2, a3, a4, NULL);
	assert_int_equal(chdir(cwd), 0);
	return rc;
}

/* gnuplot's `set output` runs a name beginning with | or < through a
 * shell.  Such an --out (relative, so that it begins with |) must get the
 * charts in a directory literally of that name, and run nothing; so must
 * any legal directory name: quotes, spaces, a newline, a leading '-'. */
static void test_out_is_never_a_command(void **state)
{
	fixture *fx = *state;
	NEED_GNUPLOT();
	char run[32], pwned[128], img[256];
	snprintf(run, sizeof run, "%lld", (long long)fx->run);
	snprintf(pwned, sizeof pwned, "%s/pwned", fx->dir);
	static const char *const outs[] = { "|touch pwned #", "<touch pwned #", "-o 'q\" x\nz", "a'b" };
	for (size_t k = 0; k < sizeof outs / sizeof outs[0]; k++) {
		int rc = plot_in(fx, fx->dir, run, outs[k], "--chart", "compare", "--keep-vars", NULL);
		if (exists(pwned))
			fail_msg("--out '%s' ran a command", outs[k]);
		if (rc != 0)
			fail_msg("--out '%s': exit %d: %s", outs[k], rc, fx->err);
		snprintf(img, sizeof img, "%s/%s/compare.png", fx->dir, outs[k]);
		check_image(img);
		snprintf(img, sizeof img, "%s/%s/compare.dat", fx->dir, outs[k]);
		assert_true(exists(img));
	}
}

/* A malicious plots/ in the working directory: every script touches a
 * marker.  plot must not run it unless told to (--scripts, THROTTLESIM_PLOTS). */
static void test_scripts_not_from_working_directory(void **state)
{
	fixture *fx = *state;
	NEED_GNUPLOT();
	char checkout[128], plots[160], marker[160], script[256], gp[512], run[32], out[160];
	snprintf(checkout, sizeof checkout, "%s/checkout", fx->dir);
	snprintf(plots, sizeof plots, "%s/plots", checkout);
	snprintf(marker, sizeof marker, "%s/marker", fx->dir);
	assert_int_equal(mkdir(checkout, 0700), 0);
	assert_int_equal(mkdir(plots, 0700), 0);
	snprintf(gp, sizeof gp, "system('touch %s')\n", marker);
	static const char *const names[] = { "timeseries", "cdf", "compare", "sweep" };
	for (size_t k = 0; k < 4; k++) {
		snprintf(script, sizeof script, "%s/%s.gp", plots, names[k]);
		write_file(script, gp);
	}
	snprintf(run, sizeof run, "%lld", (long long)fx->run);
	snprintf(out, sizeof out, "%s/out", fx->dir);
	char *env = getenv("THROTTLESIM_PLOTS") ? strdup(getenv("THROTTLESIM_PLOTS")) : NULL;
	unsetenv("THROTTLESIM_PLOTS");
	int rc = plot_in(fx, checkout, run, out, "--chart", "compare", NULL, NULL);
	assert_false(exists(marker));
	if (rc != 0)
		fail_msg("exit %d: %s", rc, fx->err);
	image(fx, out, "compare.png");

	/* the same scripts, chosen: they run (so the check above means something) */
	rc = plot_in(fx, fx->dir, run, out, "--chart", "compare", "--scripts", "checkout/plots");
	assert_true(exists(marker));
	assert_int_equal(rc, 1);                    /* they draw nothing */
	assert_int_equal(unlink(marker), 0);
	setenv("THROTTLESIM_PLOTS", plots, 1);
	rc = plot_in(fx, fx->dir, run, out, "--chart", "compare", NULL, NULL);
	assert_true(exists(marker));
	assert_int_equal(rc, 1);
	if (env) {
		setenv("THROTTLESIM_PLOTS", env, 1);
		free(env);
	} else {
		unsetenv("THROTTLESIM_PLOTS");
	}
	/* a --scripts without scripts is refused, not replaced */
	assert_int_equal(plot_in(fx, fx->dir, run, out, "--scripts", "nowhere", NULL, NULL), 2);
	assert_non_null(strstr(fx->err, "--scripts nowhere: no gnuplot scripts there"));
}

/* Symlinks planted at the names plot writes (image, data, variables)
 * point at a file outside; it must stay as it was, and the names become
 * the chart's own files.  With TMPDIR on another file system (/dev/shm,
 * when it is one) the files are copied instead of renamed: the same. */
static void test_symlinks_not_followed(void **state)
{
	fixture *fx = *state;
	NEED_GNUPLOT();
	char run[32], victim[128], out[128], link[256], text[64];
	snprintf(run, sizeof run, "%lld", (long long)fx->run);
	snprintf(victim, sizeof victim, "%s/victim", fx->dir);
	write_file(victim, "keep me\n");
	struct stat tmp_sb, dir_sb;
	bool other_fs = stat("/dev/shm", &tmp_sb) == 0 && S_ISDIR(tmp_sb.st_mode) &&
	                access("/dev/shm", W_OK) == 0 && stat(fx->dir, &dir_sb) == 0 &&
	                tmp_sb.st_dev != dir_sb.st_dev;
	for (int pass = 0; pass < (other_fs ? 2 : 1); pass++) {
		snprintf(out, sizeof out, "%s/links%d", fx->dir, pass);
		assert_int_equal(mkdir(out, 0700), 0);
		static const char *const names[] = { "compare.png", "compare.dat", "compare.vars" };
		for (size_t k = 0; k < 3; k++) {
			snprintf(link, sizeof link, "%s/%s", out, names[k]);
			assert_int_equal(symlink(victim, link), 0);
		}
		char *old = getenv("TMPDIR") ? strdup(getenv("TMPDIR")) : NULL;
		if (pass == 1)
			setenv("TMPDIR", "/dev/shm", 1);
		int rc = plot(fx, run, "--db", fx->db, "--out", out, "--chart", "compare", "--keep-vars", NULL);
		if (old) {
			setenv("TMPDIR", old, 1);
			free(old);
		} else {
			unsetenv("TMPDIR");
		}
		slurp(victim, text, sizeof text);
		assert_string_equal(text, "keep me\n");
		if (rc != 0)
			fail_msg("pass %d: exit %d: %s", pass, rc, fx->err);
		for (size_t k = 0; k < 3; k++) {
			struct stat sb;
			snprintf(link, sizeof link, "%s/%s", out, names[k]);
			assert_int_equal(lstat(link, &sb), 0);
			assert_true(S_ISREG(sb.st_mode));
		}
		image(fx, out, "compare.png");
	}
}

/* The rows of a data file (lines that are not comments), each checked to
 * begin with a number. */
static size_t data_rows(const char *path)
{
	static char text[1 << 21];
	slurp(path, text, sizeof text);
	size_t rows = 0;
	for (char *line = text; *line;) {
		char *nl = strchr(line, '\n');
		assert_non_null(nl);
		if (*line != '#' && nl > line) {
			if (!((*line >= '0' && *line <= '9') || *line == '-'))
				fail_msg("%s: a row that is no number: %.*s", path, (int)(nl - line), line);
			rows++;
		}
		line = nl + 1;
	}
	return rows;
}

/* Names a foreign store may hold: a leading quote (which made every chart
 * fail), a newline followed by numbers (a row of its own in a data file),
 * a backquote and an @ (gnuplot's command and macro substitutions), ESC,
 * BEL, a trailing backslash and broken UTF-8.  Every chart is drawn, in
 * PNG and SVG; no data file gains a row; nothing runs; the SVG holds no
 * control character. */
static void test_hostile_names(void **state)
{
	fixture *fx = *state;
	NEED_GNUPLOT();
	char db[128], marker[128], bq[256];
	snprintf(db, sizeof db, "%s/names.db", fx->dir);
	snprintf(marker, sizeof marker, "%s/bq-marker", fx->dir);
	snprintf(bq, sizeof bq, "b`touch %s`@title", marker);
	const char *names[] = { "two\n1 2 3 4 5", bq, "esc\x1b[31m\x07 \xff tail\\", "'quoted" };
	int64_t id = write_run(fx, db, names, 4);
	char run[32], out[128], path[256];
	snprintf(run, sizeof run, "%lld", (long long)id);
	static const char *const formats[] = { "png", "svg" };
	for (size_t k = 0; k < 2; k++) {
		snprintf(out, sizeof out, "%s/names-%s", fx->dir, formats[k]);
		int rc = plot(fx, run, "--db", db, "--out", out, "--format", formats[k], "--keep-vars", NULL);
		assert_false(exists(marker));
		/* a row per step (the first chart drawn, so checked whatever came after) */
		snprintf(path, sizeof path, "%s/timeseries-0-two_1_2_3_4_5.dat", out);
		assert_int_equal(data_rows(path), N_STEPS);
		if (rc != 0)
			fail_msg("%s: exit %d: %s", formats[k], rc, fx->err);
		/* a row per quantile; a bar per variant */
		snprintf(path, sizeof path, "%s/cdf.dat", out);
		assert_int_equal(data_rows(path), RES_CDF_POINTS);
		snprintf(path, sizeof path, "%s/compare.dat", out);
		assert_int_equal(data_rows(path), 4);
		char img[64];
		snprintf(img, sizeof img, "compare.%s", formats[k]);
		image(fx, out, img);
		snprintf(img, sizeof img, "cdf.%s", formats[k]);
		image(fx, out, img);
		snprintf(img, sizeof img, "timeseries-3-_quoted.%s", formats[k]);
		image(fx, out, img);
		/* the legend has the name as written, the quote included */
		char vars[16384];
		vars_of(out, "cdf", vars, sizeof vars);
		expect_var(vars, "vname4=sprintf('%c',39).'quoted'\n");
		expect_var(vars, "vname1='two?1 2 3 4 5'\n");
		if (k == 1) {
			static char svg[1 << 20];
			snprintf(path, sizeof path, "%s/cdf.svg", out);
			slurp(path, svg, sizeof svg);
			for (const unsigned char *p = (const unsigned char *)svg; *p; p++)
				if ((*p < 0x20 && *p != '\n' && *p != '\t' && *p != '\r') || *p == 0x7f)
					fail_msg("cdf.svg holds control 0x%02x", *p);
			assert_non_null(strstr(svg, "'quoted"));
		}
	}
	/* the standard output names each image; no control reaches it */
	for (const unsigned char *p = (const unsigned char *)fx->out; *p; p++)
		assert_true(*p >= 0x20 || *p == '\n' || *p == '\t');
}

/* A sweep at the documented bounds: 1000 points (the first key at one
 * value, the second over 1000) times 10 variant names, 10^4 scenarios,
 * each name and second value its own line of one point: 10^4 lines.  Its
 * legend alone is far beyond the 128 KiB one argument may hold; plot
 * draws it, every line named. */
#define BIG 10000

static void test_sweep_at_size_bound(void **state)
{
	fixture *fx = *state;
	NEED_GNUPLOT();
	char db[128];
	snprintf(db, sizeof db, "%s/big.db", fx->dir);
	res_rep *reps = calloc(BIG, sizeof *reps);
	rpt_variant *vs = calloc(BIG, sizeof *vs);
	assert_true(reps && vs);
	/* the totals only: the description names no mailbox either, so the
	 * store finds figures for every entity it names */
	res_desc whole = fx->desc;
	whole.mailboxes = NULL;
	whole.n_mailboxes = 0;
	for (size_t v = 0; v < BIG; v++) {
		reps[v].seed = 1;
		for (int f = 0; f < FIG_COUNT; f++)
			reps[v].total.fig[f] = (double)(v % 1000 + 1);
		for (size_t q = 0; q < RES_CDF_POINTS; q++)
			reps[v].delivery_cdf[q] = reps[v].submission_cdf[q] = NAN;
		vs[v] = (rpt_variant){ "x", &whole, &reps[v], 1 };
	}
	rpt_run r = { .scenario_name = "big-sweep", .seed = 42, .version = "0.1.0-test", .variants = vs,
	              .n_variants = BIG };
	store_run_info info = { "0.1.0-test", "big-sweep", "big.yaml", "name: big-sweep\n",
	                        "throttlesim run big.yaml", 42, 1, NULL, 0 };
	sqlite3 *h = NULL;
	char err[512] = "";
	int64_t id = -1;
	if (store_open(db, &h, err, sizeof err) != SIM_OK || store_begin_run(h, &info, &id, err, sizeof err) != SIM_OK ||
	    store_write_results(h, id, &r, err, sizeof err) != SIM_OK ||
	    store_finish_run(h, id, err, sizeof err) != SIM_OK)
		fail_msg("%s", err);
	store_close(h);
	free(reps);
	free(vs);
	/* names of 40 characters, a quote first */
	exec_sql(db, "UPDATE variants SET point = idx / 10, sweep_key = 'senders.mfp.count', sweep_value = 4,"
	         " sweep_key2 = 'limits.connections', sweep_value2 = idx / 10,"
	         " name = '''variant-with-a-rather-long-name-' || (idx % 10);");
	char run[32], out[128];
	snprintf(run, sizeof run, "%lld", (long long)id);
	snprintf(out, sizeof out, "%s/big", fx->dir);
	int rc = plot(fx, run, "--db", db, "--out", out, "--chart", "sweep", "--figure", "accepted",
	              "--keep-vars", NULL);
	if (rc != 0)
		fail_msg("exit %d: %s", rc, fx->err);
	image(fx, out, "sweep-accepted.png");
	char path[256];
	snprintf(path, sizeof path, "%s/sweep-accepted.dat", out);
	assert_int_equal(data_rows(path), BIG);
	/* the variables: 10^4 lines; the last is the last variant's */
	snprintf(path, sizeof path, "%s/sweep-accepted.vars", out);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	static const char last_line[] =
		"lname10000=sprintf('%c',39).'variant-with-a-rather-long-name-9, limits.connections = 999'\n";
	bool nline = false, last = false;
	char line[512];
	long size = 0;
	while (fgets(line, sizeof line, f)) {
		size += (long)strlen(line);
		nline |= strcmp(line, "nline=10000\n") == 0;
		last |= strcmp(line, last_line) == 0;
	}
	fclose(f);
	assert_true(nline);
	assert_true(last);
	assert_true(size > 128 * 1024);
}

/* ---- failures ------------------------------------------------------------------------ */

static void test_missing_gnuplot(void **state)
{
	fixture *fx = *state;
	char empty[128], run[32], out[128];
	snprintf(empty, sizeof empty, "%s/empty-bin", fx->dir);
	assert_int_equal(mkdir(empty, 0700), 0);
	snprintf(run, sizeof run, "%lld", (long long)fx->run);
	snprintf(out, sizeof out, "%s/nognuplot", fx->dir);
	char *old = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
	setenv("PATH", empty, 1);
	int rc = plot(fx, run, "--db", fx->db, "--out", out, NULL);
	if (old) {
		setenv("PATH", old, 1);
		free(old);
	} else {
		unsetenv("PATH");
	}
	assert_int_equal(rc, 1);
	assert_non_null(strstr(fx->err, "gnuplot not found: install it with apt-get install gnuplot-nox"));
}

static void test_refuses_foreign_file(void **state)
{
	fixture *fx = *state;
	char other[128];
	snprintf(other, sizeof other, "%s/other.db", fx->dir);
	exec_sql(other, "PRAGMA application_id = 12345; CREATE TABLE t (x);");
	struct stat before, after;
	assert_int_equal(stat(other, &before), 0);
	assert_int_equal(plot(fx, "1", "--db", other, NULL), 1);
	assert_non_null(strstr(fx->err, "not a throttlesim results file"));
	assert_int_equal(stat(other, &after), 0);
	assert_int_equal(before.st_size, after.st_size);
	assert_true(before.st_mtime == after.st_mtime);
	char missing[128];
	snprintf(missing, sizeof missing, "%s/missing.db", fx->dir);
	assert_int_equal(plot(fx, "1", "--db", missing, NULL), 1);
	assert_non_null(strstr(fx->err, "no such file"));
	assert_int_not_equal(access(missing, F_OK), 0);
}

static void test_usage(void **state)
{
	fixture *fx = *state;
	assert_int_equal(plot(fx, "99", "--db", fx->db, NULL), 2);
	assert_non_null(strstr(fx->err, "no run 99"));
	assert_int_equal(plot(fx, "abc", "--db", fx->db, NULL), 2);
	assert_int_equal(plot(fx, "--db", fx->db, NULL), 2);
	assert_non_null(strstr(fx->err, "which run?"));
	assert_int_equal(plot(fx, "1", "--db", fx->db, "--format", "gif", NULL), 2);
	assert_int_equal(plot(fx, "1", "--db", fx->db, "--chart", "pie", NULL), 2);
	assert_int_equal(plot(fx, "1", "--bogus", NULL), 2);
	assert_int_equal(plot(fx, "1", "--db", NULL), 2);
	assert_int_equal(plot(fx, "--help", NULL), 0);
	assert_non_null(strstr(fx->out, "usage: throttlesim plot RUN"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_timeseries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cdf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compare, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sweep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_svg_every_chart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_without_extras, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_series_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_series_hand_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_gnuplot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_foreign_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_usage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_is_never_a_command, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scripts_not_from_working_directory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlinks_not_followed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sweep_at_size_bound, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
