/* test_run_sets.c - the store keeps a run's --set values, in order, so
 * the run's scenario can be rebuilt as it ran (plot --entity replays it). */
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
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "status.h"
#include "store.h"

static void path_in_tmp(char *dir, size_t dsize, char *path, size_t psize)
{
	snprintf(dir, dsize, "/tmp/tsim-sets-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, psize, "%s/r.db", dir);
}

static void test_sets_round_trip(void **state)
{
	(void)state;
	char dir[64], path[128], err[512];
	path_in_tmp(dir, sizeof dir, path, sizeof path);
	sqlite3 *db = NULL;
	assert_int_equal(store_open(path, &db, err, sizeof err), SIM_OK);
	const scn_override sets[] = {
		{ .key = "senders.mfp.count", .value = "12" },
		{ .key = "mailboxes.scan.limits", .value = "{message_rate: 30}" },
		{ .key = "senders.mfp.count", .value = "14" }, /* the later one wins: order kept */
	};
	store_run_info plain = { .program_version = "t", .scenario_name = "a", .seed = 1, .replications = 1 };
	store_run_info with = plain;
	with.sets = sets;
	with.n_sets = 3;
	int64_t id1 = 0, id2 = 0;
	assert_int_equal(store_begin_run(db, &plain, &id1, err, sizeof err), SIM_OK);
	assert_int_equal(store_begin_run(db, &with, &id2, err, sizeof err), SIM_OK);
	assert_int_equal(id2, id1 + 1);

	scn_override *got = NULL;
	size_t n = 99;
	assert_int_equal(store_run_sets(db, id1, &got, &n, err, sizeof err), SIM_OK);
	assert_int_equal(n, 0);
	assert_null(got);
	assert_int_equal(store_run_sets(db, id2, &got, &n, err, sizeof err), SIM_OK);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(got[i].key, sets[i].key);
		assert_string_equal(got[i].value, sets[i].value);
		assert_null(got[i].variant);
	}
	store_run_sets_free(got, n);

	/* results rm takes the run's --set rows with it, and only its own */
	store_deleted *gone = NULL;
	size_t n_gone = 0;
	assert_int_equal(store_delete_runs(db, &id2, 1, &gone, &n_gone, err, sizeof err), SIM_OK);
	assert_int_equal(n_gone, 1);
	free(gone);
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM run_sets", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 0);
	sqlite3_finalize(st);
	store_close(db);
	unlink(path);
	rmdir(dir);
}

/* A file written before the table existed: no values, no error, and the
 * file is not changed by reading it. */
static void test_sets_old_file(void **state)
{
	(void)state;
	char dir[64], path[128], err[512];
	path_in_tmp(dir, sizeof dir, path, sizeof path);
	sqlite3 *db = NULL;
	assert_int_equal(store_open(path, &db, err, sizeof err), SIM_OK);
	store_run_info plain = { .program_version = "t", .scenario_name = "a", .seed = 1, .replications = 1 };
	int64_t id = 0;
	assert_int_equal(store_begin_run(db, &plain, &id, err, sizeof err), SIM_OK);
	assert_int_equal(sqlite3_exec(db, "DROP TABLE run_sets", NULL, NULL, NULL), SQLITE_OK);
	scn_override *got = NULL;
	size_t n = 99;
	assert_int_equal(store_run_sets(db, id, &got, &n, err, sizeof err), SIM_OK);
	assert_int_equal(n, 0);
	assert_null(got);
	store_close(db);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sets_round_trip),
		cmocka_unit_test(test_sets_old_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
