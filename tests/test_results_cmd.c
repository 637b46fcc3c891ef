/* test_results_cmd.c - `throttlesim results` through the built binary
 * (THROTTLESIM_BIN): show of a sweep written by hand into a store (each
 * point labelled, each variant compared with the base of its own point),
 * rm (one, several, last, an unknown id that deletes nothing) and prune
 * (--keep N, --dry-run), each saying what it deleted. */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE /* mkdtemp */
#endif

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "report.h"
#include "status.h"
#include "store.h"

static const char *bin(void)
{
	const char *b = getenv("THROTTLESIM_BIN");
	return b ? b : "build/debug/throttlesim";
}

typedef struct fixture {
	char dir[64], db[128];
	/* a sweep: 2 points (senders.app.count = 1, 2) x 2 variants (base,
	 * per-device), 2 replications each */
	res_desc desc[4];
	res_rep reps[4][2];
	rpt_variant variants[4];
	rpt_run run;
	store_run_info info;
} fixture;

/* accepted per entry (point-major: base@1, per-device@1, base@2,
 * per-device@2) and replication.  Worked by hand, t(0.975, 1) = 12.706:
 *   point 1: base 100, 102 (mean 101, sd sqrt 2, half 12.7);
 *            per-device 110, 112 (mean 111); paired differences 10, 10:
 *            +10, half 0
 *   point 2: base 200, 200 (mean 200, half 0);
 *            per-device 230, 234 (mean 232, half 25.4); differences
 *            30, 34: +32, half 12.706 x 2 sqrt 2 / sqrt 2 = 25.4
 * Against the first point's base the last would read +131. */
static const double accepted[4][2] = { { 100, 102 }, { 110, 112 }, { 200, 200 }, { 230, 234 } };

static int setup(void **state)
{
	fixture *fx = calloc(1, sizeof *fx);
	assert_non_null(fx);
	snprintf(fx->dir, sizeof fx->dir, "/tmp/test_results_cmd_XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->db, sizeof fx->db, "%s/r.db", fx->dir);
	static const char *const names[2] = { "base", "per-device" };
	for (int e = 0; e < 4; e++) {
		res_desc *d = &fx->desc[e];
		snprintf(d->scenario, sizeof d->scenario, "sweepy");
		d->sweep_point = e / 2;
		d->n_sweep_keys = 1;
		snprintf(d->sweep_key[0], sizeof d->sweep_key[0], "senders.app.count");
		d->sweep_value[0] = 1 + e / 2;
		for (int r = 0; r < 2; r++) {
			res_rep *rep = &fx->reps[e][r];
			rep->seed = 7 + (uint64_t)r;   /* the same seeds: paired */
			rep->replication = r;
			for (int f = 0; f < FIG_COUNT; f++)
				rep->total.fig[f] = 0;
			rep->total.fig[FIG_ACCEPTED] = accepted[e][r];
		}
		fx->variants[e] = (rpt_variant){ names[e % 2], d, fx->reps[e], 2 };
	}
	fx->run = (rpt_run){ .scenario_name = "sweepy", .seed = 7, .version = "test", .variants = fx->variants,
	                     .n_variants = 4 };
	fx->info = (store_run_info){ .program_version = "test", .scenario_name = "sweepy",
	                             .scenario_file = "sweepy.yaml", .scenario_text = "name: sweepy\n",
	                             .command_line = "run sweepy.yaml", .seed = 7, .replications = 2 };
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	fixture *fx = *state;
	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx->dir);
	if (system(cmd) != 0)
		return -1;
	free(fx);
	return 0;
}

/* Writes `n` runs of the sweep; complete[i] false leaves run i begun only. */
static void add_runs(fixture *fx, size_t n, const bool *complete)
{
	sqlite3 *db = NULL;
	char err[512] = "";
	assert_int_equal(store_open(fx->db, &db, err, sizeof err), SIM_OK);
	for (size_t i = 0; i < n; i++) {
		int64_t id;
		assert_int_equal(store_begin_run(db, &fx->info, &id, err, sizeof err), SIM_OK);
		if (complete && !complete[i])
			continue;
		if (store_write_results(db, id, &fx->run, err, sizeof err) != SIM_OK)
			fail_msg("%s", err);
		assert_int_equal(store_finish_run(db, id, err, sizeof err), SIM_OK);
	}
	store_close(db);
}

/* Runs `throttlesim results ARGS --db <db>`; stdout into *out (malloc'd),
 * stderr into *err; the exit status. */
static int results(fixture *fx, const char *args, char **out, char **err)
{
	char line[1024];
	snprintf(line, sizeof line, "%s results %s --db %s >%s/out 2>%s/err", bin(), args, fx->db, fx->dir, fx->dir);
	int st = system(line);
	const char *names[2] = { "out", "err" };
	char **dst[2] = { out, err };
	for (int i = 0; i < 2; i++) {
		char path[256];
		snprintf(path, sizeof path, "%s/%s", fx->dir, names[i]);
		FILE *f = fopen(path, "rb");
		assert_non_null(f);
		char *s = calloc(1, 1 << 16);
		assert_non_null(s);
		size_t n = fread(s, 1, (1 << 16) - 1, f);
		s[n] = 0;
		fclose(f);
		*dst[i] = s;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The line after the first line beginning with `after` (searching from
 * *from) that begins with `prefix`: its whitespace-separated fields. */
static int fields_of(const char *text, const char *start, const char *prefix, char f[8][32])
{
	const char *p = strstr(text, start);
	assert_non_null(p);
	size_t n = strlen(prefix);
	while ((p = strchr(p, '\n')) != NULL) {
		p++;
		if (strncmp(p, prefix, n) == 0)
			break;
	}
	assert_non_null(p);
	const char *end = strchr(p, '\n');
	int k = 0;
	char line[256];
	snprintf(line, sizeof line, "%.*s", (int)(end - p), p + n);
	for (char *t = strtok(line, " "); t && k < 8; t = strtok(NULL, " "))
		snprintf(f[k++], 32, "%s", t);
	return k;
}

static void test_show_sweep(void **state)
{
	fixture *fx = *state;
	add_runs(fx, 1, NULL);
	char *out, *err;
	assert_int_equal(results(fx, "show 1", &out, &err), 0);
	/* the record names the variants once, and the swept values */
	assert_non_null(strstr(out, "\n  variants     base, per-device\n"));
	assert_non_null(strstr(out, "\n  sweep        2 points of senders.app.count: 1, 2\n"));
	/* each point under its label, in order */
	const char *p1 = strstr(out, "\n-- senders.app.count = 1\n");
	const char *p2 = strstr(out, "\n-- senders.app.count = 2\n");
	assert_non_null(p1);
	assert_non_null(p2);
	assert_true(p1 < p2);
	assert_null(strstr(out, "== base"));
	char f[8][32];
	/* point 1: base 101 +- 12.7; per-device 111, paired +10 +- 0 */
	assert_true(fields_of(out, "-- senders.app.count = 1", "base ", f) >= 1);
	assert_string_equal(f[0], "101");
	assert_true(fields_of(out, "-- senders.app.count = 1", "  \xc2\xb1 ", f) >= 1);
	assert_string_equal(f[0], "12.7");
	assert_true(fields_of(out, "-- senders.app.count = 1", "per-device ", f) >= 1);
	assert_string_equal(f[0], "111");
	assert_true(fields_of(out, "-- senders.app.count = 1", "  \xce\x94 ", f) >= 1);
	assert_string_equal(f[0], "+10");
	/* point 2: per-device 232; paired from point 2's base: +32 +- 25.4 */
	assert_true(fields_of(out, "-- senders.app.count = 2", "base ", f) >= 1);
	assert_string_equal(f[0], "200");
	assert_true(fields_of(out, "-- senders.app.count = 2", "per-device ", f) >= 1);
	assert_string_equal(f[0], "232");
	assert_true(fields_of(out, "-- senders.app.count = 2", "  \xce\x94 ", f) >= 1);
	assert_string_equal(f[0], "+32");
	const char *delta = strstr(p2, "  \xce\x94 ");
	assert_non_null(delta);
	assert_true(fields_of(delta, "\xce\x94", "  \xc2\xb1 ", f) >= 1);
	assert_string_equal(f[0], "25.4");
	assert_null(strstr(out, "+131"));
	free(out);
	free(err);
}

static int64_t count_runs(fixture *fx, const char *where)
{
	sqlite3 *db = NULL;
	char sql[200];
	assert_int_equal(sqlite3_open_v2(fx->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	snprintf(sql, sizeof sql, "SELECT count(*) FROM runs WHERE %s", where);
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static void test_rm(void **state)
{
	fixture *fx = *state;
	add_runs(fx, 5, NULL);
	char *out, *err;
	/* an unknown id among known ones: exit 2, nothing deleted */
	assert_int_equal(results(fx, "rm 2 9 3", &out, &err), 2);
	assert_non_null(strstr(err, "no run 9"));
	assert_non_null(strstr(err, "nothing deleted"));
	assert_string_equal(out, "");
	free(out);
	free(err);
	assert_int_equal(count_runs(fx, "1"), 5);
	assert_int_equal(results(fx, "rm 2x", &out, &err), 2);
	free(out);
	free(err);
	assert_int_equal(results(fx, "rm", &out, &err), 2);
	free(out);
	free(err);
	/* one */
	assert_int_equal(results(fx, "rm 2", &out, &err), 0);
	assert_non_null(strstr(out, "deleted run 2 (sweepy, complete, started "));
	assert_non_null(strstr(out, " before, "));
	assert_null(strstr(out, "deleted run 1"));
	free(out);
	free(err);
	assert_int_equal(count_runs(fx, "1"), 4);
	assert_int_equal(count_runs(fx, "id = 2"), 0);
	/* several and last (5): 1, 4 and 5 */
	assert_int_equal(results(fx, "rm 4 last 1 --no-vacuum", &out, &err), 0);
	assert_non_null(strstr(out, "deleted run 1 "));
	assert_non_null(strstr(out, "deleted run 4 "));
	assert_non_null(strstr(out, "deleted run 5 "));
	assert_null(strstr(out, " before, "));
	free(out);
	free(err);
	assert_int_equal(count_runs(fx, "1"), 1);
	assert_int_equal(count_runs(fx, "id = 3"), 1);
	/* the one left still shows */
	assert_int_equal(results(fx, "show last", &out, &err), 0);
	assert_non_null(strstr(out, "run 3 in "));
	free(out);
	free(err);
}

static void test_prune(void **state)
{
	fixture *fx = *state;
	static const bool complete[] = { true, false, true, true, false, true };
	add_runs(fx, 6, complete);
	char *out, *err;
	assert_int_equal(results(fx, "prune", &out, &err), 2);   /* --keep is required */
	free(out);
	free(err);
	assert_int_equal(results(fx, "prune --keep -1", &out, &err), 2);
	free(out);
	free(err);
	/* a dry run lists, deletes nothing */
	assert_int_equal(results(fx, "prune --keep 2 --dry-run", &out, &err), 0);
	assert_non_null(strstr(out, "would delete run 2 (sweepy, incomplete, "));
	assert_non_null(strstr(out, "would delete 3 runs; keeping the 2 newest complete runs\n"));
	free(out);
	free(err);
	assert_int_equal(count_runs(fx, "1"), 6);
	/* keep 2: 4 and 6 kept; 1, 2 (incomplete), 3 deleted; 5 stays */
	assert_int_equal(results(fx, "prune --keep 2", &out, &err), 0);
	assert_non_null(strstr(out, "deleted run 1 (sweepy, complete, "));
	assert_non_null(strstr(out, "deleted run 2 (sweepy, incomplete, "));
	assert_non_null(strstr(out, "deleted run 3 (sweepy, complete, "));
	assert_non_null(strstr(out, "deleted 3 runs; kept the 2 newest complete runs\n"));
	assert_null(strstr(out, "deleted run 4"));
	free(out);
	free(err);
	assert_int_equal(count_runs(fx, "1"), 3);
	assert_int_equal(count_runs(fx, "id IN (4, 5, 6)"), 3);
	assert_int_equal(results(fx, "prune --keep 5", &out, &err), 0);
	assert_non_null(strstr(out, "deleted 0 runs; kept the 2 newest complete runs (all there are)\n"));
	free(out);
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_show_sweep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
