/* test_store_corrupt.c - a store edited behind the program's back: every
 * read path (store_open_readonly, store_list_runs, store_last_run,
 * store_load_run) must give an error naming the file, never a crash or a
 * value out of its range (run under AddressSanitizer and UBSan in the san
 * build).  Each case starts from a real store written by store_write_results
 * and changes it with one SQL statement, as a damaged disk, a foreign
 * program or an attacker could; constraints that would stop the statement
 * (NOT NULL, CHECK) are taken off first, since a crafted file need not
 * have them.  Every case runs on the layout it concerns: schema 3's
 * packed one (blobs: truncated, too long, a count or value out of range,
 * a number beyond the run's names), schema 2's tables (a copy of
 * tests/data/store-schema2-empty.db written into), or both. */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE /* mkdtemp */
#endif

#include <math.h>
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

#include "report.h"
#include "res_summary.h"
#include "status.h"
#include "store.h"

#define N_REPS 2
#define N_GROUPS 1
#define N_MBX 2
#define N_STEPS 3

static char dir[64], pristine2[128], pristine3[128], path[128];

/* A run of two variants (the second a sweep point with two keys), each
 * with N_REPS replications, a group, N_MBX mailboxes, rejections, delay
 * points and a time series: every table has rows. */
static void write_store(const char *file)
{
	static res_group_desc groups[N_GROUPS];
	static res_mailbox_desc mbx[N_MBX];
	static res_desc desc[2];
	static res_rep reps[N_REPS];
	static res_entity g[N_REPS][N_GROUPS], m[N_REPS][N_MBX];
	static res_series_row series[N_REPS][N_STEPS];
	snprintf(groups[0].name, sizeof groups[0].name, "app");
	snprintf(groups[0].limits.preset, sizeof groups[0].limits.preset, "default");
	for (size_t i = 0; i < N_MBX; i++) {
		snprintf(mbx[i].name, sizeof mbx[i].name, "m%zu@contoso.com", i);
		snprintf(mbx[i].limits.preset, sizeof mbx[i].limits.preset, "default");
		mbx[i].limits.concurrency = 3;
	}
	for (int v = 0; v < 2; v++) {
		desc[v].groups = groups;
		desc[v].n_groups = N_GROUPS;
		desc[v].mailboxes = mbx;
		desc[v].n_mailboxes = N_MBX;
		desc[v].duration_ns = 3600 * SCN_NS_PER_S;
		desc[v].sweep_point = -1;
		desc[v].configured[RC_CONCURRENCY].code = 432;
		snprintf(desc[v].configured[RC_CONCURRENCY].text, sizeof desc[v].configured[RC_CONCURRENCY].text,
		         "432 4.3.2 Concurrent connections limit exceeded.");
	}
	desc[1].sweep_point = 0;
	desc[1].n_sweep_keys = 2;
	snprintf(desc[1].sweep_key[0], sizeof desc[1].sweep_key[0], "senders.app.count");
	snprintf(desc[1].sweep_key[1], sizeof desc[1].sweep_key[1], "senders.app.rate");
	desc[1].sweep_value[0] = 10;
	desc[1].sweep_value[1] = 2.5;
	for (size_t r = 0; r < N_REPS; r++) {
		res_rep *rep = &reps[r];
		rep->replication = (int64_t)r;
		rep->seed = 100 + r;
		rep->events = 1000;
		for (int f = 0; f < FIG_COUNT; f++) {
			rep->total.fig[f] = (double)f;
			for (size_t i = 0; i < N_GROUPS; i++)
				g[r][i].fig[f] = (double)f;
			for (size_t i = 0; i < N_MBX; i++)
				m[r][i].fig[f] = (double)f;
		}
		rep->total.rejected_by[RC_CONCURRENCY] = 4;
		rep->total.lost_by[RC_CONCURRENCY] = 1;
		m[r][0].rejected_by[RC_CONCURRENCY] = 4;
		rep->groups = g[r];
		rep->n_groups = N_GROUPS;
		rep->mailboxes = m[r];
		rep->n_mailboxes = N_MBX;
		for (int q = 0; q < RES_CDF_POINTS; q++)
			rep->submission_cdf[q] = rep->delivery_cdf[q] = 0.5 * q;
		for (size_t i = 0; i < N_STEPS; i++)
			series[r][i].accepted = (uint32_t)i;
		rep->series = series[r];
		rep->n_series = N_STEPS;
		rep->series_step_ns = 60 * SCN_NS_PER_S;
		rep->given[RC_CONCURRENCY] = desc[0].configured[RC_CONCURRENCY];
	}
	rpt_variant variants[2] = { { "base", &desc[0], reps, N_REPS }, { "wide", &desc[1], reps, N_REPS } };
	rpt_run run = { .scenario_name = "corrupt", .seed = 1, .version = "test", .variants = variants,
	                .n_variants = 2 };
	store_run_info info = { "test", "corrupt", "corrupt.yaml", "name: corrupt\n", "throttlesim run", 1, N_REPS,
	                        NULL, 0 };
	sqlite3 *db = NULL;
	char err[512] = "";
	int64_t id = 0;
	assert_int_equal(store_open(file, &db, err, sizeof err), SIM_OK);
	assert_int_equal(store_begin_run(db, &info, &id, err, sizeof err), SIM_OK);
	if (store_write_results(db, id, &run, err, sizeof err) != SIM_OK)
		fail_msg("%s", err);
	assert_int_equal(store_finish_run(db, id, err, sizeof err), SIM_OK);
	store_close(db);
}

static void copy(const char *from, const char *to)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "cp '%s' '%s' && rm -f '%s-wal' '%s-shm'", from, to, to, to);
	assert_int_equal(system(cmd), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/test_store_corrupt_XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(pristine2, sizeof pristine2, "%s/pristine2.db", dir);
	snprintf(pristine3, sizeof pristine3, "%s/pristine3.db", dir);
	snprintf(path, sizeof path, "%s/damaged.db", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* table rebuilt without its constraints (NOT NULL, CHECK, keys). */
static void unconstrain(sqlite3 *h, const char *table)
{
	char sql[512];
	snprintf(sql, sizeof sql, "CREATE TABLE loose AS SELECT * FROM %s; DROP TABLE %s;"
	         " ALTER TABLE loose RENAME TO %s;", table, table, table);
	assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
}

typedef struct damage {
	const char *table;     /* the table changed (rebuilt without constraints first) */
	const char *sql;
	bool listing_fails;    /* the runs row itself is damaged */
	int layout;            /* 2, 3, or 0 for both */
} damage;

/* A blob with its first value replaced by bytes (x'..'): the values
 * after it unchanged, so only what the bytes say is wrong. */
#define FIRST_VALUE(col, bytes) "CAST(" bytes " || substr(" col ", 2) AS BLOB)"

static const damage cases[] = {
	/* runs */
	{ "runs", "UPDATE runs SET scenario_name = NULL", true, 0 },
	{ "runs", "UPDATE runs SET replications = 0", true, 0 },
	{ "runs", "UPDATE runs SET replications = 'many'", true, 0 },
	{ "runs", "UPDATE runs SET complete = 7", true, 0 },
	{ "runs", "UPDATE runs SET seed = 1.5", true, 0 },
	{ "runs", "UPDATE runs SET scenario_name = CAST('ab' || char(0) || 'cd' AS TEXT)", true, 0 },
	{ "runs", "UPDATE runs SET program_version = printf('%.5000c', 'v')", true, 0 },
	{ "runs", "UPDATE runs SET started_at = x'00ff'", true, 0 },
	/* variants */
	{ "variants", "UPDATE variants SET idx = 5 WHERE idx = 1", false, 0 },
	{ "variants", "UPDATE variants SET idx = 'one' WHERE idx = 1", false, 0 },
	{ "variants", "UPDATE variants SET name = NULL WHERE idx = 0", false, 0 },
	{ "variants", "UPDATE variants SET name = printf('%.300c', 'n') WHERE idx = 0", false, 0 },
	{ "variants", "UPDATE variants SET point = -3 WHERE idx = 1", false, 0 },
	{ "variants", "UPDATE variants SET timezone = printf('%.300c', 'z'), start_utc_offset_s = 0 WHERE idx = 0", false, 0 },
	{ "variants", "UPDATE variants SET timezone = 'Europe/Berlin', start_utc_offset_s = 999999 WHERE idx = 0", false, 0 },
	{ "variants", "UPDATE variants SET timezone = NULL, start_utc_offset_s = 3600 WHERE idx = 0", false, 0 },
	{ "variants", "UPDATE variants SET point = 'x' WHERE idx = 1", false, 0 },
	{ "variants", "UPDATE variants SET sweep_key = NULL WHERE idx = 1", false, 0 },
	{ "variants", "UPDATE variants SET sweep_value = NULL WHERE idx = 1", false, 0 },
	{ "variants", "UPDATE variants SET sweep_value = 9e999 WHERE idx = 1", false, 0 },
	{ "variants", "UPDATE variants SET sweep_value2 = NULL WHERE idx = 1", false, 0 },
	{ "variants", "UPDATE variants SET sweep_key = 'k' WHERE idx = 0", false, 0 },
	{ "variants", "UPDATE variants SET sweep_key = x'41' WHERE idx = 1", false, 0 },
	{ "variants", "UPDATE variants SET duration_ns = -1", false, 0 },
	{ "variants", "UPDATE variants SET series_step_ns = 'x'", false, 0 },
	/* replications */
	{ "replications", "DELETE FROM replications WHERE variant_idx = 0 AND replication = 1", false, 0 },
	{ "replications", "UPDATE replications SET replication = -1 WHERE replication = 0", false, 0 },
	{ "replications", "UPDATE replications SET events = 'x'", false, 0 },
	{ "replications", "UPDATE replications SET events = -1", false, 0 },
	{ "replications", "UPDATE replications SET variant_idx = 0.5 WHERE variant_idx = 0 AND replication = 1", false, 0 },
	{ "replications", "UPDATE replications SET variant_idx = 9 WHERE variant_idx = 1", false, 0 },
	/* entities */
	{ "entities", "UPDATE entities SET entity_idx = 1000000000 WHERE entity_kind = 'mailbox' AND entity_idx = 1", false, 0 },
	{ "entities", "UPDATE entities SET entity_idx = 1 WHERE entity_kind = 'mailbox' AND entity_idx = 0", false, 0 },
	{ "entities", "UPDATE entities SET concurrency_scope = 'galaxy'", false, 0 },
	{ "entities", "UPDATE entities SET message_rate_mode = NULL", false, 0 },
	{ "entities", "UPDATE entities SET concurrency = -4", false, 0 },
	{ "entities", "UPDATE entities SET name = printf('%.200c', 'e')", false, 0 },
	{ "entities", "UPDATE entities SET max_message_size = 1.5", false, 0 },
	/* replies */
	{ "replies", "UPDATE replies SET code = 99999", false, 0 },
	{ "replies", "UPDATE replies SET transient = 2", false, 0 },
	{ "replies", "UPDATE replies SET replication = 40 WHERE replication >= 0", false, 0 },
	{ "replies", "UPDATE replies SET text = printf('%.2000c', 't')", false, 0 },
	/* summaries */
	{ "summaries", "UPDATE summaries SET n = -1", false, 2 },
	{ "summaries", "UPDATE summaries SET n = 99", false, 2 },
	{ "summaries", "UPDATE summaries SET mean = 'abc'", false, 2 },
	{ "summaries", "UPDATE summaries SET mean = 9e999", false, 2 },
	{ "summaries", "UPDATE summaries SET entity_idx = 99 WHERE entity_kind = 'mailbox'", false, 2 },
	{ "summaries", "UPDATE summaries SET entity_idx = 3 WHERE entity_kind = 'total'", false, 2 },
	{ "summaries", "UPDATE summaries SET unit = printf('%.100c', 'u')", false, 2 },
	/* figures */
	{ "figures", "UPDATE figures SET value = 'abc'", false, 2 },
	{ "figures", "UPDATE figures SET value = -9e999", false, 2 },
	{ "figures", "DELETE FROM figures WHERE entity_kind = 'mailbox' AND entity_idx = 1 AND replication = 0", false, 2 },
	{ "figures", "UPDATE figures SET replication = 7 WHERE replication = 1", false, 2 },
	{ "figures", "UPDATE figures SET entity_idx = 'zero' WHERE entity_kind = 'group'", false, 2 },
	/* rejections */
	{ "rejections", "UPDATE rejections SET count = -5", false, 2 },
	{ "rejections", "UPDATE rejections SET lost = 'x'", false, 2 },
	{ "rejections", "UPDATE rejections SET entity_idx = 50 WHERE entity_kind = 'mailbox'", false, 2 },
	/* delay points */
	{ "delay_cdf", "UPDATE delay_cdf SET q = 500 WHERE q = 3", false, 2 },
	{ "delay_cdf", "UPDATE delay_cdf SET value_s = 'slow'", false, 2 },
	{ "delay_cdf", "UPDATE delay_cdf SET kind = 'other' WHERE q = 3", false, 2 },
	/* series */
	{ "series", "UPDATE series SET step = step + 100 WHERE step = 1", false, 2 },
	{ "series", "UPDATE series SET accepted = -1", false, 2 },
	{ "series", "UPDATE series SET accepted = 5000000000", false, 2 },
	{ "series", "UPDATE series SET t_s = NULL", false, 2 },
	{ "series", "INSERT INTO series SELECT * FROM series WHERE step = 2", false, 2 },
	/* schema 3: the names */
	{ "names", "UPDATE names SET id = id + 1 WHERE kind = 'figure' AND id = 3", false, 3 },
	{ "names", "DELETE FROM names WHERE kind = 'figure' AND id = 0", false, 3 },
	{ "names", "DELETE FROM names WHERE kind = 'reply_class' AND id = 0", false, 3 },
	{ "names", "UPDATE names SET name = x'4142' WHERE id = 2", false, 3 },
	{ "names", "UPDATE names SET unit = printf('%.100c', 'u') WHERE kind = 'figure'", false, 3 },
	{ "names", "UPDATE names SET id = 'two' WHERE id = 2", false, 3 },
	/* schema 3: a variant's summaries and series */
	{ "variant_data", "UPDATE variant_data SET summaries = substr(summaries, 1, length(summaries) - 1)", false, 3 },
	{ "variant_data", "UPDATE variant_data SET summaries = CAST(summaries || x'02' AS BLOB)", false, 3 },
	{ "variant_data", "UPDATE variant_data SET summaries = 'abc'", false, 3 },
	{ "variant_data", "UPDATE variant_data SET summaries = NULL WHERE variant_idx = 1", false, 3 },
	{ "variant_data", "DELETE FROM variant_data WHERE variant_idx = 1", false, 3 },
	{ "variant_data", "UPDATE variant_data SET variant_idx = 0", false, 3 },
	/* 16383 groups: far more than the bytes could hold */
	{ "variant_data", "UPDATE variant_data SET summaries = " FIRST_VALUE("summaries", "x'ff7f'"), false, 3 },
	/* the first n (of the total's first figure) above the replications */
	{ "variant_data", "UPDATE variant_data SET summaries = CAST(substr(summaries, 1, 4) || x'03' ||"
	                  " substr(summaries, 6) AS BLOB)", false, 3 },
	/* a mean that is a NaN's bits, an infinity's */
	{ "variant_data", "UPDATE variant_data SET summaries = CAST(substr(summaries, 1, 2) ||"
	                  " x'01000000000000f87f' || substr(summaries, 4) AS BLOB)", false, 3 },
	{ "variant_data", "UPDATE variant_data SET summaries = CAST(substr(summaries, 1, 2) ||"
	                  " x'01000000000000f0ff' || substr(summaries, 4) AS BLOB)", false, 3 },
	/* 100 steps in a variant of 60; a step beyond the 3 said */
	{ "variant_data", "UPDATE variant_data SET series = x'6400'", false, 3 },
	{ "variant_data", "UPDATE variant_data SET series = CAST(x'030103' || zeroblob(6 +"
	                  " (SELECT count(*) FROM names WHERE kind = 'reply_class')) AS BLOB)", false, 3 },
	{ "variant_data", "UPDATE variant_data SET series = x'0301'", false, 3 },
	{ "variant_data", "UPDATE variant_data SET series = 7", false, 3 },
	/* schema 3: a replication's figures, delay points and series */
	{ "replication_data", "UPDATE replication_data SET figures = substr(figures, 1, length(figures) - 1)"
	                      " WHERE replication = 1", false, 3 },
	{ "replication_data", "UPDATE replication_data SET figures = CAST(figures || x'02' AS BLOB)", false, 3 },
	{ "replication_data", "UPDATE replication_data SET figures = NULL WHERE replication = 0", false, 3 },
	{ "replication_data", "UPDATE replication_data SET figures = " FIRST_VALUE("figures", "x'01000000000000f07f'"),
	  false, 3 },
	{ "replication_data", "UPDATE replication_data SET figures = " FIRST_VALUE("figures", "x'ffffffffffffffffff7f'"),
	  false, 3 },
	/* a whole number beyond 2^53: 2 + zigzag(2^53 + 1) */
	{ "replication_data", "UPDATE replication_data SET figures = " FIRST_VALUE("figures", "x'8480808080808020'"),
	  false, 3 },
	{ "replication_data", "DELETE FROM replication_data WHERE variant_idx = 0 AND replication = 1", false, 3 },
	{ "replication_data", "UPDATE replication_data SET replication = 0 WHERE replication = 1", false, 3 },
	{ "replication_data", "UPDATE replication_data SET replication = 5 WHERE replication = 1", false, 3 },
	{ "replication_data", "UPDATE replication_data SET delay_cdf = substr(delay_cdf, 1, 50)", false, 3 },
	{ "replication_data", "UPDATE replication_data SET delay_cdf = " FIRST_VALUE("delay_cdf", "x'05'"), false, 3 },
	{ "replication_data", "UPDATE replication_data SET delay_cdf = x''", false, 3 },
	{ "replication_data", "UPDATE replication_data SET series = x'6400'", false, 3 },
	/* a count of 2^32 in a replication's series */
	{ "replication_data", "UPDATE replication_data SET series = CAST(x'0301008080808010' || zeroblob(5 +"
	                      " (SELECT count(*) FROM names WHERE kind = 'reply_class')) AS BLOB)", false, 3 },
	{ "replication_data", "UPDATE replication_data SET series = 'x'", false, 3 },
};

/* The run must be refused, with the file named: by store_load_run always,
 * and by store_list_runs when the runs row is what was damaged. */
static void check_case(const damage *d, const char *pristine)
{
	copy(pristine, path);
	sqlite3 *h = NULL;
	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, "PRAGMA ignore_check_constraints = ON", NULL, NULL, NULL), SQLITE_OK);
	unconstrain(h, d->table);
	if (sqlite3_exec(h, d->sql, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s: %s", d->sql, sqlite3_errmsg(h));
	if (sqlite3_changes(h) == 0)
		fail_msg("%s: changed nothing", d->sql);
	assert_int_equal(sqlite3_close(h), SQLITE_OK);

	char err[1024] = "";
	sqlite3 *db = NULL;
	assert_int_equal(store_open_readonly(path, &db, err, sizeof err), SIM_OK);
	int64_t last = 0;
	assert_int_equal(store_last_run(db, &last, err, sizeof err), SIM_OK);
	assert_int_equal(last, 1);

	store_loaded *l = NULL;
	err[0] = '\0';
	int rc = store_load_run(db, 1, &l, err, sizeof err);
	if (rc == SIM_OK) {
		store_loaded_free(l);
		fail_msg("%s: store_load_run accepted it (%s)", d->sql, pristine);
	}
	assert_int_equal(rc, SIM_ESTORE);
	assert_null(l);
	if (strstr(err, path) == NULL)
		fail_msg("%s: the message does not name the file: %s", d->sql, err);
	store_close(db);
}

static int count_run(void *ctx, const store_run_row *row)
{
	(void)row;
	(*(int *)ctx)++;
	return 0;
}

/* store_list_runs refuses a damaged runs row, and lists a run whose
 * results are damaged (its row is fine). */
static void check_listing(const damage *d, const char *pristine)
{
	copy(pristine, path);
	sqlite3 *h = NULL;
	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, "PRAGMA ignore_check_constraints = ON", NULL, NULL, NULL), SQLITE_OK);
	unconstrain(h, d->table);
	assert_int_equal(sqlite3_exec(h, d->sql, NULL, NULL, NULL), SQLITE_OK);
	bool changed = sqlite3_changes(h) > 0;
	assert_int_equal(sqlite3_close(h), SQLITE_OK);
	if (!changed)
		return;
	char err[1024] = "";
	sqlite3 *db = NULL;
	assert_int_equal(store_open_readonly(path, &db, err, sizeof err), SIM_OK);
	int n = 0;
	int rc = store_list_runs(db, count_run, &n, err, sizeof err);
	if (d->listing_fails) {
		if (rc != SIM_ESTORE)
			fail_msg("%s: store_list_runs accepted it", d->sql);
		assert_int_equal(n, 0);
		if (strstr(err, path) == NULL)
			fail_msg("%s: the message does not name the file: %s", d->sql, err);
	} else {
		assert_int_equal(rc, SIM_OK);
		assert_int_equal(n, 1);
	}
	store_close(db);
}

static void pristine_store_loads(const char *pristine)
{
	char err[1024] = "";
	sqlite3 *db = NULL;
	assert_int_equal(store_open_readonly(pristine, &db, err, sizeof err), SIM_OK);
	store_loaded *l = NULL;
	if (store_load_run(db, 1, &l, err, sizeof err) != SIM_OK)
		fail_msg("%s", err);
	assert_int_equal(l->run.n_variants, 2);
	const res_desc *d = l->run.variants[1].desc;
	assert_int_equal(d->sweep_point, 0);
	assert_int_equal(d->n_sweep_keys, 2);
	assert_true(d->sweep_value[1] == 2.5);
	assert_int_equal(l->run.variants[0].n_reps, N_REPS);
	assert_int_equal(l->run.variants[0].reps[1].n_series, N_STEPS);
	store_loaded_free(l);
	int n = 0;
	assert_int_equal(store_list_runs(db, count_run, &n, err, sizeof err), SIM_OK);
	assert_int_equal(n, 1);
	store_close(db);
}

static void test_pristine_store_loads(void **state)
{
	(void)state;
	write_store(pristine3);
	pristine_store_loads(pristine3);
	/* the schema-2 store: as the program created it before schema 3 */
	copy("tests/data/store-schema2-empty.db", pristine2);
	write_store(pristine2);
	pristine_store_loads(pristine2);
	sqlite3 *h = NULL;
	assert_int_equal(sqlite3_open(pristine2, &h), SQLITE_OK);
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(h, "SELECT count(*) FROM figures", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_true(sqlite3_column_int64(st, 0) > 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
}

static void test_every_damage_refused(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		for (int layout = 2; layout <= 3; layout++) {
			if (cases[i].layout != 0 && cases[i].layout != layout)
				continue;
			/* tables of schema 2's results exist only there */
			const char *pristine = layout == 2 ? pristine2 : pristine3;
			check_case(&cases[i], pristine);
			check_listing(&cases[i], pristine);
		}
}

/* Loads run 1 of db: SIM_OK, or SIM_ESTORE saying the file is damaged;
 * never anything else (and, in the san build, never a bad access). */
static int load_outcome(sqlite3 *db, const char *what, size_t at)
{
	char err[1024] = "";
	store_loaded *l = NULL;
	int rc = store_load_run(db, 1, &l, err, sizeof err);
	store_loaded_free(l);
	if (rc != SIM_OK && (rc != SIM_ESTORE || strstr(err, "damaged") == NULL || strstr(err, path) == NULL))
		fail_msg("%s, byte %zu: %d: %s", what, at, rc, err);
	return rc;
}

/* Every packed blob of a replication and of a variant, cut short at
 * every length up to 48 and at 32 more, one byte longer, and with bytes
 * set to 0x00, 0x01, 0x7f, 0xff or their high bit flipped at 48
 * places: a blob cut or lengthened is always refused, a changed byte
 * refused or read (a valid value changed into another valid one). */
static void test_blob_mutations(void **state)
{
	(void)state;
	copy(pristine3, path);
	sqlite3 *h = NULL, *db = NULL;
	char err[1024] = "";
	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	/* no fsync per case: nothing here outlives the test */
	assert_int_equal(sqlite3_exec(h, "PRAGMA synchronous = OFF", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(store_open_readonly(path, &db, err, sizeof err), SIM_OK);
	static const char *const targets[][2] = {
		{ "variant_data", "summaries" }, { "variant_data", "series" }, { "replication_data", "figures" },
		{ "replication_data", "delay_cdf" }, { "replication_data", "series" },
	};
	int refused = 0, read = 0;
	for (size_t t = 0; t < sizeof targets / sizeof targets[0]; t++) {
		char sql[256], what[96];
		snprintf(what, sizeof what, "%s.%s", targets[t][0], targets[t][1]);
		snprintf(sql, sizeof sql, "SELECT rowid, %s FROM %s WHERE %s IS NOT NULL ORDER BY rowid DESC LIMIT 1",
		         targets[t][1], targets[t][0], targets[t][1]);
		sqlite3_stmt *st = NULL;
		assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
		if (sqlite3_step(st) != SQLITE_ROW) {
			sqlite3_finalize(st);
			continue;   /* (a variant's series: this store keeps every replication's) */
		}
		int64_t rowid = sqlite3_column_int64(st, 0);
		size_t n = (size_t)sqlite3_column_bytes(st, 1);
		unsigned char *orig = malloc(n + 1), *b = malloc(n + 1);
		assert_non_null(orig);
		assert_non_null(b);
		memcpy(orig, sqlite3_column_blob(st, 1), n);
		sqlite3_finalize(st);
		snprintf(sql, sizeof sql, "UPDATE %s SET %s = ?1 WHERE rowid = ?2", targets[t][0], targets[t][1]);
		assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
		/* cases: lengths, one byte more, then 5 changes at 48 places */
		size_t n_cut = n < 48 ? n : 48;
		for (size_t k = 0; k < n_cut + 32 + 1 + 5 * 48; k++) {
			size_t len = n, at = 0;
			memcpy(b, orig, n);
			bool must_fail = true;
			if (k < n_cut)
				len = at = k;
			else if (k < n_cut + 32)
				len = at = (k - n_cut) * n / 32;
			else if (k == n_cut + 32)
				b[len++] = 0x02, at = n;   /* a value too many */
			else {
				size_t j = k - n_cut - 33;
				static const unsigned char set[] = { 0x00, 0x01, 0x7f, 0xff };
				at = (j / 5) * n / 48;
				b[at] = j % 5 < 4 ? set[j % 5] : (unsigned char)(b[at] ^ 0x80);
				must_fail = false;
			}
			sqlite3_bind_blob(st, 1, b, (int)len, SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, rowid);
			assert_int_equal(sqlite3_step(st), SQLITE_DONE);
			sqlite3_reset(st);
			int rc = load_outcome(db, what, at);
			if (must_fail && rc == SIM_OK)
				fail_msg("%s cut to %zu bytes (of %zu) or lengthened: read", what, len, n);
			rc == SIM_OK ? read++ : refused++;
		}
		sqlite3_bind_blob(st, 1, orig, (int)n, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, rowid);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_finalize(st);
		assert_int_equal(load_outcome(db, what, 0), SIM_OK);
		free(orig);
		free(b);
	}
	/* both outcomes occur: the cases are not all of one kind */
	assert_true(refused > 100);
	assert_true(read > 10);
	store_close(db);
	sqlite3_close(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pristine_store_loads),
		cmocka_unit_test(test_every_damage_refused),
		cmocka_unit_test(test_blob_mutations),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
