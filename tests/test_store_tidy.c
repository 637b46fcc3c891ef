/* test_store_tidy.c - deleting runs from the results store (rm, prune),
 * all or nothing, beside a reader; the file shrinking after VACUUM; the
 * progress callback while results are written. */
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
#include <sys/stat.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "report.h"
#include "status.h"
#include "store.h"

#define N_REPS 4
#define N_MBX 3
#define N_STEPS 60

typedef struct fixture {
	char dir[64];
	char path[128];
	res_desc desc;
	res_mailbox_desc mailboxes[N_MBX];
	res_rep reps[N_REPS];
	res_entity mbx[N_REPS][N_MBX];
	res_series_row series[N_REPS][N_STEPS];
	rpt_variant variants[2];
	rpt_run run;
	store_run_info info;
} fixture;

static int setup(void **state)
{
	fixture *fx = calloc(1, sizeof *fx);
	assert_non_null(fx);
	snprintf(fx->dir, sizeof fx->dir, "/tmp/test_store_tidy_XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof fx->path, "%s/results.db", fx->dir);
	snprintf(fx->desc.scenario, sizeof fx->desc.scenario, "printers");
	for (size_t m = 0; m < N_MBX; m++)
		snprintf(fx->mailboxes[m].name, sizeof fx->mailboxes[m].name, "mbx%zu@contoso.com", m);
	fx->desc.sweep_point = -1;
	fx->desc.mailboxes = fx->mailboxes;
	fx->desc.n_mailboxes = N_MBX;
	for (size_t r = 0; r < N_REPS; r++) {
		res_rep *rep = &fx->reps[r];
		rep->seed = 1000 + r;
		rep->replication = (int64_t)r;
		for (int f = 0; f < FIG_COUNT; f++) {
			rep->total.fig[f] = (double)f + (double)r;
			for (size_t m = 0; m < N_MBX; m++)
				fx->mbx[r][m].fig[f] = (double)f * (double)m;
		}
		rep->mailboxes = fx->mbx[r];
		rep->n_mailboxes = N_MBX;
		for (size_t i = 0; i < N_STEPS; i++)
			fx->series[r][i].accepted = (uint32_t)(i + r);
		rep->series = fx->series[r];
		rep->n_series = N_STEPS;
		rep->series_step_ns = 60 * SCN_NS_PER_S;
	}
	fx->variants[0] = (rpt_variant){ "base", &fx->desc, fx->reps, N_REPS };
	fx->variants[1] = (rpt_variant){ "per-device", &fx->desc, fx->reps, N_REPS };
	fx->run = (rpt_run){ .scenario_name = "printers", .seed = 42, .version = "test", .variants = fx->variants,
	                     .n_variants = 2 };
	fx->info = (store_run_info){ "test", "printers", "printers.yaml", "name: printers\n", "run", 42, N_REPS,
	                             NULL, 0 };
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

static int64_t sql_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Rows of run id (or of every run, id 0) over every table with a run_id
 * column, the runs row(s) included. */
static int64_t rows_of(sqlite3 *db, int64_t id)
{
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master m WHERE type = 'table' AND"
	                 " EXISTS (SELECT 1 FROM pragma_table_info(m.name) WHERE name = 'run_id')", -1, &st, NULL),
	                 SQLITE_OK);
	int64_t n = 0;
	char sql[256];
	while (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE %s", sqlite3_column_text(st, 0),
		         id ? "run_id = " : "1");
		if (id)
			snprintf(sql + strlen(sql), sizeof sql - strlen(sql), "%lld", (long long)id);
		n += sql_int(db, sql);
	}
	sqlite3_finalize(st);
	snprintf(sql, sizeof sql, "SELECT count(*) FROM runs WHERE %s%lld", id ? "id = " : "id > ", (long long)id);
	return n + sql_int(db, sql);
}

/* A run: complete (results and finished) or incomplete (begun only). */
static int64_t add_run(fixture *fx, sqlite3 *db, bool complete)
{
	char err[512] = "";
	int64_t id = -1;
	assert_int_equal(store_begin_run(db, &fx->info, &id, err, sizeof err), SIM_OK);
	if (complete) {
		if (store_write_results(db, id, &fx->run, err, sizeof err) != SIM_OK)
			fail_msg("%s", err);
		assert_int_equal(store_finish_run(db, id, err, sizeof err), SIM_OK);
	}
	return id;
}

/* The run ids, in order, as "1,3,4". */
static void ids_of(sqlite3 *db, char *buf, size_t size)
{
	snprintf(buf, size, "%s", "");
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT id FROM runs ORDER BY id", -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW)
		snprintf(buf + strlen(buf), size - strlen(buf), "%s%lld", buf[0] ? "," : "",
		         (long long)sqlite3_column_int64(st, 0));
	sqlite3_finalize(st);
}

static sqlite3 *open_db(fixture *fx)
{
	sqlite3 *db = NULL;
	char err[512] = "";
	if (store_open(fx->path, &db, err, sizeof err) != SIM_OK)
		fail_msg("%s", err);
	return db;
}

/* ---- rm ------------------------------------------------------------------------ */

static void test_rm_one(void **state)
{
	fixture *fx = *state;
	sqlite3 *db = open_db(fx);
	for (int i = 0; i < 3; i++)
		add_run(fx, db, true);
	int64_t per_run = rows_of(db, 1);
	/* the runs row; the names of FIG_COUNT figures and RC_COUNT reply
	 * classes; 2 variants x (variant row, its summaries' row, 3 mailbox
	 * entities, 4 replications with a row of results each) */
	assert_int_equal(per_run, 1 + FIG_COUNT + RC_COUNT + 2 * (1 + 1 + N_MBX + 2 * N_REPS));
	assert_int_equal(rows_of(db, 2), per_run);
	assert_int_equal(rows_of(db, 0), 3 * per_run);
	int64_t one = 2;
	store_deleted *d = NULL;
	size_t n = 0;
	char err[512] = "", ids[64];
	assert_int_equal(store_delete_runs(db, &one, 1, &d, &n, err, sizeof err), SIM_OK);
	assert_int_equal(n, 1);
	assert_int_equal(d[0].id, 2);
	assert_int_equal(d[0].complete, 1);
	assert_string_equal(d[0].scenario_name, "printers");
	free(d);
	ids_of(db, ids, sizeof ids);
	assert_string_equal(ids, "1,3");
	/* nothing of run 2 is left in any table; the others are whole */
	assert_int_equal(rows_of(db, 2), 0);
	assert_int_equal(rows_of(db, 1), per_run);
	assert_int_equal(rows_of(db, 3), per_run);
	assert_int_equal(rows_of(db, 0), 2 * per_run);
	/* ids are never reused */
	assert_int_equal(add_run(fx, db, true), 4);
	store_close(db);
}

static void test_rm_several_and_last(void **state)
{
	fixture *fx = *state;
	sqlite3 *db = open_db(fx);
	for (int i = 0; i < 4; i++)
		add_run(fx, db, i != 1);
	int64_t per_run = rows_of(db, 1);
	int64_t some[] = { 3, 1, 3, 2 };   /* any order, a repeat; run 2 incomplete */
	store_deleted *d = NULL;
	size_t n = 0;
	char err[512] = "", ids[64];
	assert_int_equal(store_delete_runs(db, some, 4, &d, &n, err, sizeof err), SIM_OK);
	assert_int_equal(n, 3);
	assert_int_equal(d[0].id, 1);
	assert_int_equal(d[1].id, 2);
	assert_int_equal(d[1].complete, 0);
	assert_int_equal(d[2].id, 3);
	free(d);
	ids_of(db, ids, sizeof ids);
	assert_string_equal(ids, "4");
	assert_int_equal(rows_of(db, 0), per_run);
	/* 'last' is the newest run, resolved by store_last_run */
	int64_t last = 0;
	assert_int_equal(store_last_run(db, &last, err, sizeof err), SIM_OK);
	assert_int_equal(last, 4);
	assert_int_equal(store_delete_runs(db, &last, 1, &d, &n, err, sizeof err), SIM_OK);
	free(d);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM runs"), 0);
	assert_int_equal(rows_of(db, 0), 0);
	store_close(db);
}

static void test_rm_unknown_deletes_nothing(void **state)
{
	fixture *fx = *state;
	sqlite3 *db = open_db(fx);
	for (int i = 0; i < 3; i++)
		add_run(fx, db, true);
	int64_t before = rows_of(db, 0);
	int64_t some[] = { 1, 9, 3 };
	store_deleted *d = (store_deleted *)&some;   /* must stay untouched */
	size_t n = 77;
	char err[512] = "", ids[64];
	assert_int_equal(store_delete_runs(db, some, 3, &d, &n, err, sizeof err), SIM_EINVAL);
	assert_non_null(strstr(err, "no run 9"));
	assert_non_null(strstr(err, "nothing deleted"));
	assert_ptr_equal(d, (store_deleted *)&some);
	assert_int_equal(n, 77);
	ids_of(db, ids, sizeof ids);
	assert_string_equal(ids, "1,2,3");
	assert_int_equal(rows_of(db, 0), before);
	/* the handle is usable after the refusal: no transaction left open */
	assert_int_equal(sqlite3_get_autocommit(db), 1);
	assert_int_equal(add_run(fx, db, true), 4);
	store_close(db);
}

/* A reader that began before the deletion goes on seeing the run (WAL
 * snapshot), is never blocked, and sees it gone once it reads again. */
static void test_rm_beside_a_reader(void **state)
{
	fixture *fx = *state;
	sqlite3 *db = open_db(fx);
	add_run(fx, db, true);
	add_run(fx, db, true);
	int64_t per_run = rows_of(db, 2);
	sqlite3 *rd = NULL;
	char err[512] = "";
	assert_int_equal(store_open_readonly(fx->path, &rd, err, sizeof err), SIM_OK);
	assert_int_equal(sqlite3_exec(rd, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(rows_of(rd, 2), per_run);   /* the read transaction starts here */
	int64_t two = 2;
	store_deleted *d = NULL;
	size_t n = 0;
	assert_int_equal(store_delete_runs(db, &two, 1, &d, &n, err, sizeof err), SIM_OK);
	free(d);
	assert_int_equal(rows_of(db, 2), 0);
	assert_int_equal(rows_of(rd, 2), per_run);   /* its snapshot, whole */
	store_loaded *l = NULL;
	assert_int_equal(sqlite3_exec(rd, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(rows_of(rd, 2), 0);
	assert_int_equal(store_load_run(rd, 2, &l, err, sizeof err), SIM_EINVAL);
	assert_int_equal(store_load_run(rd, 1, &l, err, sizeof err), SIM_OK);
	assert_int_equal(l->run.n_variants, 2);
	store_loaded_free(l);
	store_close(rd);
	store_close(db);
}

/* ---- prune ---------------------------------------------------------------------- */

static void test_prune(void **state)
{
	fixture *fx = *state;
	sqlite3 *db = open_db(fx);
	/* 1 complete, 2 incomplete, 3 and 4 complete, 5 incomplete, 6 complete */
	static const bool complete[] = { true, false, true, true, false, true };
	for (size_t i = 0; i < 6; i++)
		add_run(fx, db, complete[i]);
	int64_t per_run = rows_of(db, 1);
	store_deleted *d = NULL;
	size_t n = 0;
	int64_t kept = -1;
	char err[512] = "", ids[64];

	/* more than there are: nothing goes */
	assert_int_equal(store_prune(db, 10, false, &d, &n, &kept, err, sizeof err), SIM_OK);
	assert_int_equal(n, 0);
	assert_int_equal(kept, 4);
	free(d);

	/* a dry run chooses, and deletes nothing */
	assert_int_equal(store_prune(db, 2, true, &d, &n, &kept, err, sizeof err), SIM_OK);
	assert_int_equal(n, 3);
	free(d);
	ids_of(db, ids, sizeof ids);
	assert_string_equal(ids, "1,2,3,4,5,6");

	/* keep 2: the two newest complete runs are 4 and 6; everything older
	 * than 4 goes (1, 3 complete; 2 incomplete); 5, incomplete but newer
	 * than 4, stays */
	assert_int_equal(store_prune(db, 2, false, &d, &n, &kept, err, sizeof err), SIM_OK);
	assert_int_equal(kept, 2);
	assert_int_equal(n, 3);
	assert_int_equal(d[0].id, 1);
	assert_int_equal(d[1].id, 2);
	assert_int_equal(d[1].complete, 0);
	assert_int_equal(d[2].id, 3);
	free(d);
	ids_of(db, ids, sizeof ids);
	assert_string_equal(ids, "4,5,6");
	assert_int_equal(sql_int(db, "SELECT count(*) FROM runs WHERE complete = 1"), 2);
	assert_int_equal(rows_of(db, 0), 2 * per_run + 1);   /* 5 has only its runs row */

	/* keep 2 again: nothing more */
	assert_int_equal(store_prune(db, 2, false, &d, &n, &kept, err, sizeof err), SIM_OK);
	assert_int_equal(n, 0);
	free(d);

	/* keep 1: 4 and the incomplete 5 go */
	assert_int_equal(store_prune(db, 1, false, &d, &n, &kept, err, sizeof err), SIM_OK);
	assert_int_equal(n, 2);
	assert_int_equal(kept, 1);
	free(d);
	ids_of(db, ids, sizeof ids);
	assert_string_equal(ids, "6");

	/* a run begun after the newest complete one stays with keep 0 */
	add_run(fx, db, false);  /* 7 */
	assert_int_equal(store_prune(db, 0, false, &d, &n, &kept, err, sizeof err), SIM_OK);
	assert_int_equal(n, 1);
	assert_int_equal(d[0].id, 6);
	assert_int_equal(kept, 0);
	free(d);
	ids_of(db, ids, sizeof ids);
	assert_string_equal(ids, "7");
	/* no complete run: nothing to cut at, nothing deleted */
	assert_int_equal(store_prune(db, 0, false, &d, &n, &kept, err, sizeof err), SIM_OK);
	assert_int_equal(n, 0);
	free(d);
	assert_int_equal(store_prune(db, -1, false, &d, &n, &kept, err, sizeof err), SIM_EINVAL);
	store_close(db);
}

/* ---- compacting ------------------------------------------------------------------- */

static int64_t bytes(const char *path)
{
	char wal[200];
	struct stat sb;
	int64_t n = stat(path, &sb) == 0 ? (int64_t)sb.st_size : 0;
	snprintf(wal, sizeof wal, "%s-wal", path);
	return n + (stat(wal, &sb) == 0 ? (int64_t)sb.st_size : 0);
}

static void test_rm_then_vacuum_shrinks(void **state)
{
	fixture *fx = *state;
	sqlite3 *db = open_db(fx);
	for (int i = 0; i < 8; i++)
		add_run(fx, db, true);
	store_close(db);    /* the last handle: the WAL goes into the file */
	int64_t full = bytes(fx->path);
	db = open_db(fx);
	int64_t all[] = { 1, 2, 3, 4, 5, 6, 7 };
	store_deleted *d = NULL;
	size_t n = 0;
	char err[512] = "";
	assert_int_equal(store_delete_runs(db, all, 7, &d, &n, err, sizeof err), SIM_OK);
	free(d);
	/* deleting alone frees pages inside the file: it does not shrink */
	assert_true(bytes(fx->path) >= full);
	store_compacted c;
	assert_int_equal(store_compact(db, &c, err, sizeof err), SIM_OK);
	assert_true(c.complete);
	assert_int_equal(c.bytes_after, bytes(fx->path));
	/* one run of eight left: well under a quarter (the schema's pages
	 * are a small fixed part) */
	assert_true(c.bytes_after * 4 < full);
	/* and the run left reads back whole */
	store_loaded *l = NULL;
	assert_int_equal(store_load_run(db, 8, &l, err, sizeof err), SIM_OK);
	assert_int_equal(l->run.variants[1].n_reps, N_REPS);
	store_loaded_free(l);
	store_close(db);
	assert_true(bytes(fx->path) * 4 < full);
}

/* A reader of an older snapshot holds the checkpoint back: compacting
 * still succeeds (waiting a bounded time) and says the file is not yet
 * at its final size. */
static void test_vacuum_beside_a_reader(void **state)
{
	fixture *fx = *state;
	sqlite3 *db = open_db(fx);
	for (int i = 0; i < 3; i++)
		add_run(fx, db, true);
	sqlite3 *rd = NULL;
	char err[512] = "";
	assert_int_equal(store_open_readonly(fx->path, &rd, err, sizeof err), SIM_OK);
	assert_int_equal(sqlite3_exec(rd, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	int64_t seen = rows_of(rd, 0);
	int64_t two[] = { 1, 2 };
	store_deleted *d = NULL;
	size_t n = 0;
	assert_int_equal(store_delete_runs(db, two, 2, &d, &n, err, sizeof err), SIM_OK);
	free(d);
	store_compacted c;
	assert_int_equal(store_compact(db, &c, err, sizeof err), SIM_OK);
	assert_false(c.complete);
	assert_int_equal(rows_of(rd, 0), seen);      /* still its snapshot */
	assert_int_equal(sqlite3_exec(rd, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	store_close(rd);
	assert_int_equal(store_compact(db, &c, err, sizeof err), SIM_OK);
	assert_true(c.complete);
	store_close(db);
}

/* ---- progress ---------------------------------------------------------------------- */

typedef struct calls {
	int64_t rows[4096];
	size_t n;
	int done, failed;
} calls;

static void on_progress(void *ctx, const store_progress *p)
{
	calls *c = ctx;
	assert_true(c->n < 4096);
	assert_int_equal(c->done, 0);    /* nothing after the last call */
	c->rows[c->n++] = p->rows;
	c->done += p->done;
	c->failed += p->failed;
}

static void test_progress(void **state)
{
	fixture *fx = *state;
	sqlite3 *db = open_db(fx);
	char err[512] = "";
	int64_t id = -1;
	assert_int_equal(store_begin_run(db, &fx->info, &id, err, sizeof err), SIM_OK);
	calls *c = calloc(1, sizeof *c);
	assert_non_null(c);
	assert_int_equal(store_write_results_progress(db, id, &fx->run, true, on_progress, c, 100, err, sizeof err),
	                 SIM_OK);
	/* The values written: every row but the runs row (names FIG_COUNT +
	 * RC_COUNT, per variant its row, 3 entities, 4 replications, 4 rows
	 * of results, 1 of summaries), and what the blobs hold: per
	 * replication the 4 entities' FIG_COUNT figures (no class counted),
	 * 2 x 101 delay points and its series' steps that are not all 0
	 * (accepted = step + replication: 59 in replication 0, 60 in the
	 * others); per variant 4 x FIG_COUNT summaries. */
	int64_t rows = FIG_COUNT + RC_COUNT + 2 * (1 + N_MBX + N_REPS + N_REPS + 1);
	int64_t packed = 2 * (N_REPS * (4 * FIG_COUNT + 2 * 101) + (N_STEPS - 1) + (N_REPS - 1) * N_STEPS +
	                      4 * FIG_COUNT);
	assert_int_equal(rows, rows_of(db, id) - 1);
	assert_int_equal(c->done, 1);
	assert_int_equal(c->failed, 0);
	assert_int_equal(c->rows[c->n - 1], rows + packed);
	/* counts increasing by 100 or more (the last, done, may repeat the
	 * count before it); every replication's row (more
	 * than 100 values) brings a call: 8 or more */
	assert_true(c->n >= 2 * N_REPS);
	for (size_t i = 1; i < c->n; i++)
		assert_true(c->rows[i] >= c->rows[i - 1] + (i + 1 < c->n ? 100 : 0));
	assert_true(c->rows[0] >= 100);

	/* a write that fails: one last call, failed, 0 rows kept */
	memset(c, 0, sizeof *c);
	assert_int_equal(store_write_results_progress(db, id, &fx->run, true, on_progress, c, 100, err, sizeof err),
	                 SIM_ESTORE);   /* the run already has results */
	assert_int_equal(c->n, 1);
	assert_int_equal(c->failed, 1);
	assert_int_equal(c->rows[0], 0);
	free(c);
	store_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rm_one, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rm_several_and_last, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rm_unknown_deletes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rm_beside_a_reader, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rm_then_vacuum_shrinks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vacuum_beside_a_reader, setup, teardown),
		cmocka_unit_test_setup_teardown(test_progress, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
