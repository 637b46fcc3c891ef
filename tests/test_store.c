/* test_store.c - the SQLite results store: round trip, refusing files that
 * are not ours (left byte-identical), several runs and processes, and
 * all-or-nothing writes. */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE /* mkdtemp, fork, waitpid */
#endif

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "report.h"
#include "res_summary.h"
#include "stats.h"
#include "status.h"
#include "store.h"

#define N_REPS 3
#define N_GROUPS 2
#define N_MBX 3

typedef struct fixture {
	char dir[64];
	char path[128];
	res_desc desc;
	res_group_desc senders[N_GROUPS];
	res_mailbox_desc mailboxes[N_MBX];
	res_rep reps[N_REPS];
	res_entity groups[N_REPS][N_GROUPS];
	res_entity mbx[N_REPS][N_MBX];
	res_series_row series[N_REPS][4];
	rpt_variant variants[2];
	rpt_run run;
	store_run_info info;
} fixture;

static double fig_value(size_t rep, int kind, size_t e, int f)
{
	if (f == FIG_RRL_FIRST_REACHED)
		return NAN;
	return 1000.0 * kind + 100.0 * (double)e + (double)f + 0.25 * (double)rep;
}

static void fill(res_entity *ent, size_t rep, int kind, size_t e)
{
	for (int f = 0; f < FIG_COUNT; f++)
		ent->fig[f] = fig_value(rep, kind, e, f);
	ent->rejected_by[RC_CONCURRENCY] = 5 + rep + e;
	ent->lost_by[RC_RECIPIENT_RATE] = rep;
}

static int setup(void **state)
{
	fixture *fx = calloc(1, sizeof *fx);
	assert_non_null(fx);
	snprintf(fx->dir, sizeof fx->dir, "/tmp/test_store_XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof fx->path, "%s/results.db", fx->dir);
	snprintf(fx->desc.scenario, sizeof fx->desc.scenario, "printers");
	for (size_t g = 0; g < N_GROUPS; g++)
		snprintf(fx->senders[g].name, sizeof fx->senders[g].name, "group%zu", g);
	for (size_t m = 0; m < N_MBX; m++) {
		snprintf(fx->mailboxes[m].name, sizeof fx->mailboxes[m].name, "mbx%zu@contoso.com", m);
	}
	fx->desc.configured[RC_CONCURRENCY].code = 432;
	snprintf(fx->desc.configured[RC_CONCURRENCY].text, sizeof fx->desc.configured[RC_CONCURRENCY].text,
	         "432 4.3.2 Concurrent connections limit exceeded.");
	fx->desc.sweep_point = -1;
	fx->desc.groups = fx->senders;
	fx->desc.n_groups = N_GROUPS;
	fx->desc.mailboxes = fx->mailboxes;
	fx->desc.n_mailboxes = N_MBX;
	for (size_t r = 0; r < N_REPS; r++) {
		res_rep *rep = &fx->reps[r];
		rep->seed = UINT64_C(0xfedcba9876543210) + r; /* above INT64_MAX */
		rep->replication = (int64_t)r;
		rep->events = 1000 + r;
		fill(&rep->total, r, RES_TOTAL, 0);
		for (size_t g = 0; g < N_GROUPS; g++)
			fill(&fx->groups[r][g], r, RES_GROUP, g);
		for (size_t m = 0; m < N_MBX; m++)
			fill(&fx->mbx[r][m], r, RES_MAILBOX, m);
		rep->groups = fx->groups[r];
		rep->n_groups = N_GROUPS;
		rep->mailboxes = fx->mbx[r];
		rep->n_mailboxes = N_MBX;
		for (size_t i = 0; i < 4; i++) {
			fx->series[r][i].accepted = (uint32_t)(10 * i + r);
			fx->series[r][i].rejected_by[RC_CONCURRENCY] = (uint32_t)i;
			fx->series[r][i].rejected_by[RC_RECIPIENT_RATE] = 1;
		}
		rep->series = fx->series[r];
		rep->n_series = 4;
		rep->series_step_ns = 60 * SCN_NS_PER_S;
	}
	fx->variants[0] = (rpt_variant){ "base", &fx->desc, fx->reps, N_REPS };
	fx->variants[1] = (rpt_variant){ "per device", &fx->desc, fx->reps, N_REPS };
	fx->run = (rpt_run){ .scenario_name = "printers", .seed = 42, .version = "0.1.0-test", .variants = fx->variants,
	                     .n_variants = 2 };
	fx->info = (store_run_info){ "0.1.0-test", "printers", "scenarios/printers.yaml",
	                             "name: printers\n", "throttlesim run printers.yaml", 42, N_REPS, NULL, 0 };
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

/* One integer from SQL on db. */
static int64_t sql_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int64_t write_run(fixture *fx, sqlite3 *db)
{
	char err[512] = "";
	int64_t id = -1;
	assert_int_equal(store_begin_run(db, &fx->info, &id, err, sizeof err), SIM_OK);
	assert_int_equal(sql_int(db, "SELECT complete FROM runs ORDER BY id DESC LIMIT 1"), 0);
	int rc = store_write_results(db, id, &fx->run, err, sizeof err);
	if (rc != SIM_OK)
		fail_msg("%s", err);
	assert_int_equal(store_finish_run(db, id, err, sizeof err), SIM_OK);
	return id;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	long n = ftell(f);
	rewind(f);
	char *b = malloc((size_t)n + 1);
	assert_non_null(b);
	assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return b;
}

/* fx->path becomes a schema-2 store with no runs (the schema as the
 * program created it before schema 3: tests/data/store-schema2-empty.db),
 * so that what is written into it takes that file's layout. */
static void use_schema2(fixture *fx)
{
	size_t n;
	char *b = read_file("tests/data/store-schema2-empty.db", &n);
	FILE *f = fopen(fx->path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(b, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
	free(b);
}

/* ---- tests ----------------------------------------------------------------- */

/* A schema-2 file keeps its layout: a run written into it by this program
 * has its rows in the tables of schema 2, as before. */
static void test_round_trip(void **state)
{
	fixture *fx = *state;
	sqlite3 *db = NULL;
	char err[512] = "";
	use_schema2(fx);
	assert_int_equal(store_open(fx->path, &db, err, sizeof err), SIM_OK);
	int64_t id = write_run(fx, db);

	assert_int_equal(sql_int(db, "PRAGMA application_id"), STORE_APPLICATION_ID);
	assert_int_equal(sql_int(db, "PRAGMA user_version"), 2);
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);

	assert_int_equal(sql_int(db, "SELECT complete FROM runs"), 1);
	assert_int_equal(sql_int(db, "SELECT finished_at IS NOT NULL FROM runs"), 1);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM variants"), 2);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM replications"), 2 * N_REPS);
	/* seeds keep their 64 bits (stored as the int64 bit pattern) */
	assert_true((uint64_t)sql_int(db, "SELECT seed FROM replications WHERE variant_idx = 0"
	                                  " AND replication = 1") == fx->reps[1].seed);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM figures"),
	                 2 * N_REPS * (1 + N_GROUPS + N_MBX) * FIG_COUNT);

	/* every figure reads back as written (NaN as NULL) */
	assert_int_equal(sqlite3_prepare_v2(db,
	    "SELECT replication, entity_kind, entity_idx, figure, value FROM figures"
	    " WHERE run_id = ?1 AND variant_idx = 1", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_int64(st, 1, id);
	size_t rows = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		size_t rep = (size_t)sqlite3_column_int64(st, 0);
		const char *kind = (const char *)sqlite3_column_text(st, 1);
		int k = strcmp(kind, "total") == 0 ? RES_TOTAL : strcmp(kind, "group") == 0 ? RES_GROUP : RES_MAILBOX;
		size_t e = (size_t)sqlite3_column_int64(st, 2);
		const char *fig = (const char *)sqlite3_column_text(st, 3);
		int f = 0;
		while (f < FIG_COUNT && strcmp(res_fig_info[f].name, fig) != 0)
			f++;
		assert_true(f < FIG_COUNT);
		double want = fig_value(rep, k, e, f);
		if (isnan(want))
			assert_int_equal(sqlite3_column_type(st, 4), SQLITE_NULL);
		else
			assert_true(sqlite3_column_double(st, 4) == want);
		rows++;
	}
	sqlite3_finalize(st);
	assert_int_equal(rows, N_REPS * (1 + N_GROUPS + N_MBX) * FIG_COUNT);

	/* summaries: mean of 0, 0.25, 0.5 added: +0.25 */
	assert_int_equal(sqlite3_prepare_v2(db,
	    "SELECT mean, n, half FROM summaries WHERE variant_idx = 0 AND entity_kind = 'mailbox'"
	    " AND entity = 'mbx2@contoso.com' AND figure = 'accepted'", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_true(sqlite3_column_double(st, 0) == fig_value(0, RES_MAILBOX, 2, FIG_ACCEPTED) + 0.25);
	assert_int_equal(sqlite3_column_int64(st, 1), N_REPS);
	sqlite3_finalize(st);
	assert_int_equal(sql_int(db, "SELECT n FROM summaries WHERE entity_kind = 'total'"
	                             " AND figure = 'rrl_first_reached' AND variant_idx = 0"), 0);
	assert_int_equal(sql_int(db, "SELECT mean IS NULL AND half IS NULL FROM summaries"
	                             " WHERE entity_kind = 'total' AND figure = 'rrl_first_reached'"
	                             " AND variant_idx = 0"), 1);

	/* rejections: concurrency 5 + rep + e for group 1, rep 2 -> 8 */
	assert_int_equal(sql_int(db, "SELECT count FROM rejections WHERE variant_idx = 0"
	                             " AND replication = 2 AND entity_kind = 'group' AND entity_idx = 1"
	                             " AND reply_class = 'concurrency'"), 8);
	assert_int_equal(sql_int(db, "SELECT reply_code FROM rejections WHERE reply_class = 'concurrency'"
	                             " LIMIT 1"), 432);
	/* lost_by[RECIPIENT_RATE] = rep: zero in rep 0, so no row there */
	assert_int_equal(sql_int(db, "SELECT count(*) FROM rejections WHERE reply_class = 'recipient_rate'"
	                             " AND replication = 0"), 0);

	/* series: 4 steps per replication, rejected = sum of classes */
	assert_int_equal(sql_int(db, "SELECT count(*) FROM series"), 2 * N_REPS * 4);
	assert_int_equal(sql_int(db, "SELECT rejected FROM series WHERE variant_idx = 0"
	                             " AND replication = 1 AND step = 3"), 3 + 1);
	assert_int_equal(sql_int(db, "SELECT rejected_concurrency FROM series WHERE variant_idx = 0"
	                             " AND replication = 1 AND step = 3"), 3);
	assert_int_equal(sql_int(db, "SELECT accepted FROM series WHERE variant_idx = 1"
	                             " AND replication = 2 AND step = 2"), 22);
	assert_int_equal(sql_int(db, "SELECT t_s FROM series WHERE step = 2 LIMIT 1"), 120);

	/* results cannot be written twice, or to a missing run */
	assert_int_equal(store_write_results(db, id, &fx->run, err, sizeof err), SIM_ESTORE);
	assert_non_null(strstr(err, "results.db"));
	assert_int_equal(store_write_results(db, id + 100, &fx->run, err, sizeof err), SIM_ESTORE);
	assert_non_null(strstr(err, "does not exist"));
	assert_int_equal(store_finish_run(db, id, err, sizeof err), SIM_ESTORE);
	store_close(db);
}

/* What a run describes of itself comes back as written: names, routes,
 * resolved limits, the replies configured and those each replication
 * gave, the time series and the delay points. */
static void description_round_trip(fixture *fx, bool schema2)
{
	for (size_t m = 0; m < N_MBX; m++) {
		fx->mailboxes[m].limits.concurrency = 3 + (int64_t)m;
		fx->mailboxes[m].limits.concurrency_scope = SCOPE_MAILBOX;
		fx->mailboxes[m].limits.message_rate = 30;
		fx->mailboxes[m].limits.message_rate_window_ns = 60 * SCN_NS_PER_S;
		fx->mailboxes[m].limits.message_rate_mode = RATE_REJECT;
		fx->mailboxes[m].limits.recipient_rate = 10000;
		fx->mailboxes[m].limits.recipient_rate_window_ns = 86400 * SCN_NS_PER_S;
		snprintf(fx->mailboxes[m].limits.preset, sizeof fx->mailboxes[m].limits.preset, "exchange-online");
	}
	snprintf(fx->senders[1].route, sizeof fx->senders[1].route, "vendor");
	snprintf(fx->senders[1].limits.preset, sizeof fx->senders[1].limits.preset, "external");
	fx->senders[1].limits.concurrency = 20;
	fx->senders[1].limits.concurrency_scope = SCOPE_CONNECTOR;
	fx->senders[1].instances = 7;
	fx->desc.duration_ns = 3600 * SCN_NS_PER_S;
	fx->desc.start_unix_s = 1772409600;
	snprintf(fx->desc.timezone, sizeof fx->desc.timezone, "Europe/Berlin");
	fx->desc.start_utc_offset_s = 3600;
	/* replication 1 was refused by a route that words the class otherwise */
	fx->reps[1].given[RC_CONCURRENCY] = (res_reply){ 421, true, "421 4.7.0 Too many concurrent connections" };
	fx->reps[1].given_mixed[RC_CONCURRENCY] = true;
	for (int q = 0; q < RES_CDF_POINTS; q++) {
		fx->reps[0].submission_cdf[q] = q / 10.0;
		fx->reps[0].delivery_cdf[q] = q == 50 ? NAN : q / 5.0;
	}
	sqlite3 *db = NULL;
	char err[512] = "";
	if (schema2)
		use_schema2(fx);
	assert_int_equal(store_open(fx->path, &db, err, sizeof err), SIM_OK);
	int64_t id = write_run(fx, db);
	assert_int_equal(sql_int(db, "PRAGMA user_version"), schema2 ? 2 : STORE_SCHEMA_VERSION);
	/* the rejections of replication 1 carry the reply it gave */
	if (schema2) {
		assert_int_equal(sql_int(db, "SELECT reply_code FROM rejections WHERE replication = 1"
		                             " AND reply_class = 'concurrency' LIMIT 1"), 421);
		assert_int_equal(sql_int(db, "SELECT reply_code FROM rejections WHERE replication = 0"
		                             " AND reply_class = 'concurrency' LIMIT 1"), 432);
	}
	store_loaded *l = NULL;
	assert_int_equal(store_load_run(db, id, &l, err, sizeof err), SIM_OK);
	assert_int_equal(l->run.n_variants, 2);
	const rpt_variant *v = &l->run.variants[0];
	const res_desc *d = v->desc;
	assert_non_null(d);
	assert_int_equal(d->n_groups, N_GROUPS);
	assert_int_equal(d->n_mailboxes, N_MBX);
	assert_string_equal(d->mailboxes[2].name, "mbx2@contoso.com");
	assert_int_equal(d->mailboxes[2].limits.concurrency, 5);
	assert_int_equal(d->mailboxes[2].limits.message_rate_mode, RATE_REJECT);
	assert_int_equal(d->mailboxes[2].limits.recipient_rate_window_ns, 86400 * SCN_NS_PER_S);
	assert_string_equal(d->mailboxes[0].limits.preset, "exchange-online");
	assert_string_equal(d->groups[1].route, "vendor");
	assert_string_equal(d->groups[1].limits.preset, "external");
	assert_int_equal(d->groups[1].limits.concurrency_scope, SCOPE_CONNECTOR);
	assert_int_equal(d->groups[1].instances, 7);
	assert_int_equal(d->duration_ns, 3600 * SCN_NS_PER_S);
	assert_int_equal(d->start_unix_s, 1772409600);
	assert_string_equal(d->timezone, "Europe/Berlin");
	assert_int_equal(d->start_utc_offset_s, 3600);
	assert_int_equal(d->configured[RC_CONCURRENCY].code, 432);
	assert_int_equal(v->reps[1].given[RC_CONCURRENCY].code, 421);
	assert_true(v->reps[1].given_mixed[RC_CONCURRENCY]);
	assert_string_equal(v->reps[1].given[RC_CONCURRENCY].text, "421 4.7.0 Too many concurrent connections");
	assert_int_equal(v->reps[0].given[RC_CONCURRENCY].code, 0);
	assert_int_equal(res_variant_reply(d, v->reps, v->n_reps, RC_CONCURRENCY)->code, 421);
	for (size_t r = 0; r < N_REPS; r++) {
		assert_int_equal(v->reps[r].n_series, 4);
		assert_int_equal(v->reps[r].series_step_ns, 60 * SCN_NS_PER_S);
		for (size_t i = 0; i < 4; i++) {
			assert_int_equal(v->reps[r].series[i].accepted, 10 * i + r);
			assert_int_equal(v->reps[r].series[i].rejected_by[RC_CONCURRENCY], i);
			assert_int_equal(v->reps[r].series[i].rejected_by[RC_RECIPIENT_RATE], 1);
		}
	}
	for (int q = 0; q < RES_CDF_POINTS; q++) {
		assert_true(v->reps[0].submission_cdf[q] == q / 10.0);
		if (q == 50)
			assert_true(isnan(v->reps[0].delivery_cdf[q]));
		else
			assert_true(v->reps[0].delivery_cdf[q] == q / 5.0);
	}
	store_loaded_free(l);
	store_close(db);
}

static void test_description_round_trip(void **state)
{
	description_round_trip(*state, false);
}

static void test_description_round_trip_schema2(void **state)
{
	description_round_trip(*state, true);
}

/* A schema-1 file (no entities, replies or series step) is read, names
 * from its summaries and no limits; the first write upgrades it. */
static void test_schema1_file(void **state)
{
	fixture *fx = *state;
	sqlite3 *db = NULL;
	char err[512] = "";
	use_schema2(fx);
	assert_int_equal(store_open(fx->path, &db, err, sizeof err), SIM_OK);
	int64_t id = write_run(fx, db);
	assert_int_equal(sqlite3_exec(db, "DROP TABLE entities; DROP TABLE replies;"
	                              " ALTER TABLE variants DROP COLUMN duration_ns;"
	                              " ALTER TABLE variants DROP COLUMN start_unix_s;"
	                              " ALTER TABLE variants DROP COLUMN series_step_ns;"
	                              " ALTER TABLE variants DROP COLUMN timezone;"
	                              " ALTER TABLE variants DROP COLUMN start_utc_offset_s;"
	                              " PRAGMA user_version = 1;"
	                              " UPDATE meta SET value = '1' WHERE key = 'schema_version';",
	                              NULL, NULL, NULL), SQLITE_OK);
	store_close(db);
	assert_int_equal(store_open_readonly(fx->path, &db, err, sizeof err), SIM_OK);
	store_loaded *l = NULL;
	assert_int_equal(store_load_run(db, id, &l, err, sizeof err), SIM_OK);
	const res_desc *d = l->run.variants[0].desc;
	assert_int_equal(d->n_mailboxes, N_MBX);
	assert_string_equal(d->mailboxes[1].name, "mbx1@contoso.com");
	assert_string_equal(d->groups[0].name, "group0");
	assert_int_equal(d->mailboxes[1].limits.concurrency, 0);
	/* the step comes from the stored times */
	assert_int_equal(l->run.variants[0].reps[0].series_step_ns, 60 * SCN_NS_PER_S);
	store_loaded_free(l);
	store_close(db);
	assert_int_equal(store_open(fx->path, &db, err, sizeof err), SIM_OK);
	assert_int_equal(sql_int(db, "PRAGMA user_version"), 2);   /* to 2, its layout kept */
	int64_t id2 = write_run(fx, db);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM entities"), 2 * (N_GROUPS + N_MBX));
	assert_int_equal(store_load_run(db, id, &l, err, sizeof err), SIM_OK);
	store_loaded_free(l);
	assert_int_equal(store_load_run(db, id2, &l, err, sizeof err), SIM_OK);
	store_loaded_free(l);
	store_close(db);
}

/* store_find_summary finds every stored row (a binary search that must
 * agree with looking at each row), and NULL for what is not stored; a
 * file without delay_cdf or the sweep columns (from before them) is read,
 * and says so. */
static void find_summary_and_old_files(fixture *fx, bool schema2)
{
	sqlite3 *db = NULL;
	char err[512] = "";
	if (schema2)
		use_schema2(fx);
	assert_int_equal(store_open(fx->path, &db, err, sizeof err), SIM_OK);
	int64_t id = write_run(fx, db);
	store_loaded *l = NULL;
	assert_int_equal(store_load_run(db, id, &l, err, sizeof err), SIM_OK);
	assert_true(l->has_delay_cdf);
	assert_true(l->has_sweep);
	assert_true(l->n_summaries > 0);
	for (size_t i = 0; i < l->n_summaries; i++) {
		const store_summary *s = &l->summaries[i];
		assert_ptr_equal(store_find_summary(l, s->variant, s->kind, s->entity, s->figure), s);
	}
	assert_null(store_find_summary(l, 0, RES_TOTAL, 0, "no_such_figure"));
	assert_null(store_find_summary(l, l->run.n_variants, RES_TOTAL, 0, "accepted"));
	assert_null(store_find_summary(l, 0, RES_MAILBOX, N_MBX, "accepted"));
	/* every summary of both variants: FIG_COUNT per entity, and
	 * rejected_by.concurrency (every replication) and lost_by.recipient_rate
	 * (replications 1 and 2) */
	assert_int_equal(l->n_summaries, 2 * (1 + N_GROUPS + N_MBX) * (FIG_COUNT + 2));
	const store_summary *s = store_find_summary(l, 1, RES_GROUP, 1, "rejected_by.concurrency");
	assert_non_null(s);
	assert_string_equal(s->unit, "count");
	assert_string_equal(s->entity_name, "group1");
	assert_true(s->mean == 5 + 1 + 1.0);   /* 5 + rep + e over reps 0, 1, 2 */
	assert_int_equal(s->n, N_REPS);
	store_loaded_free(l);
	if (!schema2) {
		store_close(db);
		return;
	}
	assert_int_equal(sqlite3_exec(db, "DROP TABLE delay_cdf; ALTER TABLE variants DROP COLUMN point;"
	                              " ALTER TABLE variants DROP COLUMN sweep_key;"
	                              " ALTER TABLE variants DROP COLUMN sweep_value;"
	                              " ALTER TABLE variants DROP COLUMN sweep_key2;"
	                              " ALTER TABLE variants DROP COLUMN sweep_value2;",
	                              NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(store_load_run(db, id, &l, err, sizeof err), SIM_OK);
	assert_false(l->has_delay_cdf);
	assert_false(l->has_sweep);
	assert_int_equal(l->run.variants[0].desc->sweep_point, -1);
	assert_true(isnan(l->run.variants[0].reps[0].delivery_cdf[0]));
	store_loaded_free(l);
	store_close(db);
}

static void test_find_summary_and_old_files(void **state)
{
	find_summary_and_old_files(*state, true);
}

static void test_find_summary(void **state)
{
	find_summary_and_old_files(*state, false);
}

static void test_reopen_and_two_runs(void **state)
{
	fixture *fx = *state;
	sqlite3 *a = NULL, *b = NULL;
	char err[512] = "";
	assert_int_equal(store_open(fx->path, &a, err, sizeof err), SIM_OK);
	/* a second handle on the same file while the first is open */
	assert_int_equal(store_open(fx->path, &b, err, sizeof err), SIM_OK);
	int64_t id1 = write_run(fx, a);
	fx->info.seed = 43;
	int64_t id2 = write_run(fx, b);
	assert_true(id2 > id1);
	store_close(a);
	store_close(b);
	assert_int_equal(store_open(fx->path, &a, err, sizeof err), SIM_OK);
	assert_int_equal(sql_int(a, "SELECT count(*) FROM runs WHERE complete = 1"), 2);
	assert_int_equal(sql_int(a, "SELECT count(DISTINCT run_id) FROM replication_data"), 2);
	assert_int_equal(sql_int(a, "SELECT seed FROM runs WHERE id = (SELECT max(id) FROM runs)"), 43);
	/* ids are never reused, even after the newest run is deleted */
	char sql[512];
	snprintf(sql, sizeof sql, "DELETE FROM names WHERE run_id = %lld; DELETE FROM variant_data WHERE run_id = %lld;"
	         "DELETE FROM replication_data WHERE run_id = %lld;",
	         (long long)id2, (long long)id2, (long long)id2);
	assert_int_equal(sqlite3_exec(a, sql, NULL, NULL, NULL), SQLITE_OK);
	snprintf(sql, sizeof sql, "DELETE FROM replications WHERE run_id = %lld; DELETE FROM variants"
	         " WHERE run_id = %lld; DELETE FROM entities WHERE run_id = %lld;"
	         " DELETE FROM replies WHERE run_id = %lld; DELETE FROM runs WHERE id = %lld;",
	         (long long)id2, (long long)id2, (long long)id2, (long long)id2, (long long)id2);
	assert_int_equal(sqlite3_exec(a, sql, NULL, NULL, NULL), SQLITE_OK);
	int64_t id3 = write_run(fx, a);
	assert_true(id3 > id2);
	store_close(a);
}

/* A file written before a reply class joined the catalog: its series has
 * no column for the class.  Opening it to write adds the column (0 in
 * the runs before), and a run is written and read back. */
static void test_new_reply_class_column(void **state)
{
	fixture *fx = *state;
	sqlite3 *a = NULL;
	char err[512] = "";
	use_schema2(fx);
	assert_int_equal(store_open(fx->path, &a, err, sizeof err), SIM_OK);
	int64_t id1 = write_run(fx, a);
	char sql[200];
	snprintf(sql, sizeof sql, "ALTER TABLE series DROP COLUMN rejected_%s", rpt_reply_id(RC_COUNT - 1));
	assert_int_equal(sqlite3_exec(a, sql, NULL, NULL, NULL), SQLITE_OK);
	store_close(a);
	assert_int_equal(store_open(fx->path, &a, err, sizeof err), SIM_OK);
	snprintf(sql, sizeof sql, "SELECT count(*) FROM series WHERE run_id = %lld AND rejected_%s = 0",
	         (long long)id1, rpt_reply_id(RC_COUNT - 1));
	assert_true(sql_int(a, sql) > 0);
	int64_t id2 = write_run(fx, a);
	assert_true(id2 > id1);
	assert_int_equal(sql_int(a, "SELECT count(*) FROM runs WHERE complete = 1"), 2);
	store_close(a);
}

static void check_refused(const char *path, const char *want)
{
	size_t n1, n2;
	char *before = read_file(path, &n1);
	sqlite3 *db = (sqlite3 *)(uintptr_t)0x1;
	char err[512] = "";
	assert_int_equal(store_open(path, &db, err, sizeof err), SIM_ESTORE);
	assert_true(db == (sqlite3 *)(uintptr_t)0x1); /* untouched */
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, want));
	char *after = read_file(path, &n2);
	assert_int_equal(n1, n2);
	assert_memory_equal(before, after, n1);
	free(before);
	free(after);
}

static void test_refuses_foreign_files(void **state)
{
	fixture *fx = *state;
	char path[160];

	/* garbage bytes */
	snprintf(path, sizeof path, "%s/garbage.db", fx->dir);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	for (int i = 0; i < 8192; i++)
		fputc((i * 131 + 7) & 0xff, f);
	fclose(f);
	check_refused(path, "not a throttlesim results file");

	/* a valid SQLite database of another program */
	snprintf(path, sizeof path, "%s/other.db", fx->dir);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE contacts (name TEXT); INSERT INTO contacts"
	                                  " VALUES ('x');", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	check_refused(path, "not a throttlesim results file");

	/* another program's application_id, no tables */
	snprintf(path, sizeof path, "%s/otherapp.db", fx->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA application_id = 1234; PRAGMA user_version = 1;",
	                              NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	check_refused(path, "not a throttlesim results file");

	/* ours, but from a newer schema */
	snprintf(path, sizeof path, "%s/newer.db", fx->dir);
	char err[512];
	assert_int_equal(store_open(path, &db, err, sizeof err), SIM_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99; PRAGMA journal_mode = DELETE;",
	                              NULL, NULL, NULL), SQLITE_OK);
	store_close(db);
	check_refused(path, "newer throttlesim");

	/* a directory that does not exist */
	snprintf(path, sizeof path, "%s/no/such/dir/results.db", fx->dir);
	db = NULL;
	assert_int_equal(store_open(path, &db, err, sizeof err), SIM_ESTORE);
	assert_null(db);
	assert_non_null(strstr(err, "results.db: unable to open database file"));
}

static void failure_leaves_no_partial_rows(fixture *fx, bool schema2)
{
	sqlite3 *db = NULL;
	char err[512] = "";
	if (schema2)
		use_schema2(fx);
	assert_int_equal(store_open(fx->path, &db, err, sizeof err), SIM_OK);
	int64_t good = write_run(fx, db);
	/* a failure in the middle: after variants, replications, series and
	 * figures, the first summary row of variant 1 aborts */
	assert_int_equal(sqlite3_exec(db, schema2
	    ? "CREATE TEMP TRIGGER boom BEFORE INSERT ON main.summaries WHEN NEW.variant_idx = 1"
	      " BEGIN SELECT RAISE(ABORT, 'disk on fire'); END;"
	    : "CREATE TEMP TRIGGER boom BEFORE INSERT ON main.variant_data WHEN NEW.variant_idx = 1"
	      " BEGIN SELECT RAISE(ABORT, 'disk on fire'); END;", NULL, NULL, NULL), SQLITE_OK);
	int64_t id = -1;
	assert_int_equal(store_begin_run(db, &fx->info, &id, err, sizeof err), SIM_OK);
	assert_int_equal(store_write_results(db, id, &fx->run, err, sizeof err), SIM_ESTORE);
	assert_non_null(strstr(err, schema2 ? "results.db: disk on fire while writing summaries"
	                                    : "results.db: disk on fire while writing the variants' summaries"));
	static const char *tables2[] = { "variants", "replications", "figures", "summaries",
	                                 "rejections", "series" };
	static const char *tables3[] = { "variants", "replications", "names", "variant_data",
	                                 "replication_data", "entities" };
	const char **tables = schema2 ? tables2 : tables3;
	for (size_t i = 0; i < sizeof tables2 / sizeof tables2[0]; i++) {
		char sql[128];
		snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE run_id = %lld", tables[i], (long long)id);
		assert_int_equal(sql_int(db, sql), 0);
		snprintf(sql, sizeof sql, "SELECT count(*) > 0 FROM %s WHERE run_id = %lld", tables[i],
		         (long long)good);
		assert_int_equal(sql_int(db, sql), 1);
	}
	/* the run stays, marked incomplete; the handle is usable afterwards */
	assert_int_equal(sql_int(db, "SELECT complete FROM runs ORDER BY id DESC LIMIT 1"), 0);
	assert_int_equal(sqlite3_get_autocommit(db), 1);
	assert_int_equal(sqlite3_exec(db, "DROP TRIGGER boom", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(store_write_results(db, id, &fx->run, err, sizeof err), SIM_OK);
	assert_int_equal(store_finish_run(db, id, err, sizeof err), SIM_OK);
	store_close(db);
}

static void test_failure_leaves_no_partial_rows(void **state)
{
	failure_leaves_no_partial_rows(*state, false);
}

static void test_failure_leaves_no_partial_rows_schema2(void **state)
{
	failure_leaves_no_partial_rows(*state, true);
}

static void test_two_processes(void **state)
{
	fixture *fx = *state;
	enum { PROCS = 3, RUNS = 4 };
	pid_t pid[PROCS];
	for (int p = 0; p < PROCS; p++) {
		pid[p] = fork();
		assert_true(pid[p] >= 0);
		if (pid[p] == 0) {
			sqlite3 *db = NULL;
			char err[512];
			int ok = store_open(fx->path, &db, err, sizeof err) == SIM_OK;
			for (int r = 0; ok && r < RUNS; r++) {
				int64_t id;
				ok = store_begin_run(db, &fx->info, &id, err, sizeof err) == SIM_OK &&
				     store_write_results(db, id, &fx->run, err, sizeof err) == SIM_OK &&
				     store_finish_run(db, id, err, sizeof err) == SIM_OK;
			}
			if (!ok)
				fprintf(stderr, "child: %s\n", err);
			store_close(db);
			_exit(ok ? 0 : 1);
		}
	}
	for (int p = 0; p < PROCS; p++) {
		int status = 0;
		assert_int_equal(waitpid(pid[p], &status, 0), pid[p]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	sqlite3 *db = NULL;
	char err[512];
	assert_int_equal(store_open(fx->path, &db, err, sizeof err), SIM_OK);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM runs WHERE complete = 1"), PROCS * RUNS);
	assert_int_equal(sql_int(db, "SELECT count(DISTINCT run_id) FROM variant_data"), PROCS * RUNS);
	store_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_description_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_description_round_trip_schema2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_find_summary, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failure_leaves_no_partial_rows_schema2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schema1_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_find_summary_and_old_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_and_two_runs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_reply_class_column, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_foreign_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failure_leaves_no_partial_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_processes, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
