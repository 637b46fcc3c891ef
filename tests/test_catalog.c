/* test_catalog.c - every row of the reply and figure catalogs (models/
 * replies.h, models/results.h) followed through the whole path, with the
 * built binary (THROTTLESIM_BIN): a scenario that provokes every reply
 * class (tests/data/catalog-walk.yaml), `run`, the results store,
 * `results export` (JSON and CSV) and the plot's data; and every figure
 * through the JSON, the CSV, the store and `plan`'s targets; every route
 * preset through a run's results; every client retry profile through the
 * loader.  A consumer
 * that does not know a row (a class missing from the store's columns, a
 * figure plan refuses) fails here.  gnuplot is needed (make test installs
 * it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "presets.h"
#include "replies.h"
#include "results.h"
#include "scn_load.h"
#include "status.h"

static char dir[256];

static const char *bin(void)
{
	const char *b = getenv("THROTTLESIM_BIN");
	return b ? b : "build/debug/throttlesim";
}

/* Runs a shell command; its standard output in *out (malloc'd) when out
 * is given.  Returns the exit status. */
static int run(char **out, const char *fmt, ...)
{
	char cmd[2048], line[2600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	snprintf(line, sizeof line, "%s >%s/out 2>%s/err", cmd, dir, dir);
	int st = system(line);
	if (out) {
		char path[512];
		snprintf(path, sizeof path, "%s/out", dir);
		FILE *f = fopen(path, "rb");
		assert_non_null(f);
		fseek(f, 0, SEEK_END);
		long n = ftell(f);
		fseek(f, 0, SEEK_SET);
		*out = malloc((size_t)n + 1);
		assert_non_null(*out);
		assert_int_equal(fread(*out, 1, (size_t)n, f), (size_t)n);
		(*out)[n] = 0;
		fclose(f);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *s = malloc((size_t)n + 1);
	assert_non_null(s);
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	s[n] = 0;
	fclose(f);
	return s;
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/test_catalog_XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	char db[512];
	snprintf(db, sizeof db, "%s/walk.db", dir);
	/* a store of schema 2, whose rows per value the checks below query
	 * (schema 3 packs them; it reads back the same: test_store_layout) */
	if (run(NULL, "cp tests/data/store-schema2-empty.db %s", db) != 0)
		return -1;
	return run(NULL, "%s run tests/data/catalog-walk.yaml --quiet --db %s --format json --describe", bin(), db);
}

static int teardown(void **state)
{
	(void)state;
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Every reply class: given in the run (its JSON), stored with the
 * catalog's code and text, counted in the time series' column of its own,
 * exported, and named in the time-series chart's legend. */
static void test_every_reply_class(void **state)
{
	(void)state;
	char db[512], *json = NULL, *csv = NULL;
	snprintf(db, sizeof db, "%s/walk.db", dir);
	assert_int_equal(run(&json, "%s results export 1 --db %s --format json --describe", bin(), db), 0);
	assert_int_equal(run(&csv, "%s results export 1 --db %s --format csv", bin(), db), 0);
	assert_int_equal(run(NULL, "%s plot 1 --db %s --out %s/plots --keep-vars --chart timeseries",
	                     bin(), db, dir), 0);
	char vars[600];
	snprintf(vars, sizeof vars, "%s/plots/timeseries-0-base.vars", dir);
	char *v0 = slurp(vars);
	snprintf(vars, sizeof vars, "%s/plots/timeseries-1-tenant-off.vars", dir);
	char *v1 = slurp(vars);
	snprintf(vars, sizeof vars, "%s/plots/timeseries-2-security-defaults.vars", dir);
	char *v2 = slurp(vars);
	snprintf(vars, sizeof vars, "%s/plots/timeseries-3-conditional-access.vars", dir);
	char *v3 = slurp(vars);
	snprintf(vars, sizeof vars, "%s/plots/timeseries-4-no-terrl.vars", dir);
	char *v4 = slurp(vars);

	sqlite3 *h = NULL;
	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	for (int c = 1; c < RC_COUNT; c++) {
		const rpl_class_info *r = &rpl_info[c];
		char want[400], legend[96];
		/* the run gave it, with the catalog's code and text */
		snprintf(want, sizeof want, "{\"id\": \"%s\", \"code\": %d, \"short\": \"%s\", \"text\": \"%s\","
		         " \"given\": true", r->id, r->code, r->label, r->text);
		if (strstr(json, want) == NULL)
			fail_msg("class %s: not given as %s", r->id, want);
		snprintf(want, sizeof want, ",total,total,rejected_by.%s,count,", r->id);
		if (strstr(csv, want) == NULL)
			fail_msg("class %s: no %s row in the CSV export", r->id, want);
		/* the legend names it: "<label> <id, spaces for underscores>", or
		 * the id alone when the label is no code ("msg rate") */
		bool code = r->label[0] >= '0' && r->label[0] <= '9';
		snprintf(legend, sizeof legend, "%s%s%s'", code ? r->label : "", code ? " " : "", r->id);
		for (char *p = legend + (code ? strlen(r->label) : 0); *p; p++)
			if (*p == '_')
				*p = ' ';
		if (!strstr(v0, legend) && !strstr(v1, legend) && !strstr(v2, legend) && !strstr(v3, legend) &&
		    !strstr(v4, legend))
			fail_msg("class %s: not in the time series' legend ('%s)", r->id, legend);
		/* stored: its rejections with the catalog's reply, its series column */
		sqlite3_stmt *st = NULL;
		assert_int_equal(sqlite3_prepare_v2(h, "SELECT reply_code, reply_text, sum(count) FROM rejections"
		                                    " WHERE entity_kind = 'total' AND reply_class = ?1", -1, &st, NULL),
		                 SQLITE_OK);
		sqlite3_bind_text(st, 1, r->id, -1, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(st, 0), r->code);
		assert_string_equal((const char *)sqlite3_column_text(st, 1), r->text);
		int64_t count = sqlite3_column_int64(st, 2);
		assert_true(count > 0);
		sqlite3_finalize(st);
		char sql[160];
		snprintf(sql, sizeof sql, "SELECT sum(rejected_%s) FROM series", r->id);
		assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		/* the series counts every refusal of the run, as the total does */
		assert_int_equal(sqlite3_column_int64(st, 0), count);
		sqlite3_finalize(st);
	}
	sqlite3_close(h);
	free(v0);
	free(v1);
	free(v2);
	free(v3);
	free(v4);
	free(json);
	free(csv);
}

/* Every figure: in the JSON's catalog and each entity, in the CSV, in
 * the store, and known to plan as a target. */
static void test_every_figure(void **state)
{
	(void)state;
	char db[512], *json = NULL, *csv = NULL;
	snprintf(db, sizeof db, "%s/walk.db", dir);
	assert_int_equal(run(&json, "%s results export 1 --db %s --format json", bin(), db), 0);
	assert_int_equal(run(&csv, "%s results export 1 --db %s --format csv", bin(), db), 0);
	sqlite3 *h = NULL;
	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	for (int f = 0; f < FIG_COUNT; f++) {
		const res_fig_desc *d = &res_fig_info[f];
		char want[256];
		snprintf(want, sizeof want, "{\"name\": \"%s\", \"unit\": \"%s\"", d->name, d->unit);
		if (strstr(json, want) == NULL)
			fail_msg("figure %s: not in the JSON's figures", d->name);
		snprintf(want, sizeof want, "base,mailbox,rrl@contoso.com,%s,%s,", d->name, d->unit);
		if (strstr(csv, want) == NULL)
			fail_msg("figure %s: no mailbox row in the CSV", d->name);
		sqlite3_stmt *st = NULL;
		assert_int_equal(sqlite3_prepare_v2(h, "SELECT count(*) FROM figures WHERE figure = ?1", -1, &st, NULL),
		                 SQLITE_OK);
		sqlite3_bind_text(st, 1, d->name, -1, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		/* 5 variants x (total + 21 groups + 21 mailboxes) x 1 replication */
		assert_int_equal(sqlite3_column_int64(st, 0), 5 * (1 + 21 + 21));
		sqlite3_finalize(st);
		/* plan knows it: a target on it is not a usage error */
		int rc = run(NULL, "%s plan tests/data/minimal.yaml --vary senders.app.count --range 1..1"
		             " --replications 1 --duration 10m --quiet --target '%s >= 0'", bin(), d->name);
		if (rc == 2)
			fail_msg("figure %s: plan refuses it as a target", d->name);
	}
	/* the run fills every figure: each has a value for some entity of
	 * some variant (the walk provokes every limit, throttle class and
	 * tenant window), so a row the run never sets is caught here */
	for (int f = 0; f < FIG_COUNT; f++) {
		sqlite3_stmt *st = NULL;
		assert_int_equal(sqlite3_prepare_v2(h, "SELECT count(*) FROM figures WHERE figure = ?1"
		                                    " AND value IS NOT NULL", -1, &st, NULL), SQLITE_OK);
		sqlite3_bind_text(st, 1, res_fig_info[f].name, -1, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		if (sqlite3_column_int64(st, 0) == 0)
			fail_msg("figure %s: no entity of the walk has a value", res_fig_info[f].name);
		sqlite3_finalize(st);
	}
	/* ... and what the walk provokes shows on the total: every CET
	 * class throttled (each throttled_* reply was given), both tenant
	 * windows refused, external recipients accepted, and so on */
	static const char *const provoked[] = {
		"throttle_periods_mailbox_full", "throttle_periods_send_as_denied",
		"throttle_periods_invalid_license", "throttle_periods_too_many_recipients",
		"throttle_periods_invalid_recipients", "throttle_first", "terrl_limit",
		"terrl_first_reached", "terrl_first_refusal", "terrl_blocked_time", "moera_limit",
		"moera_first_reached", "moera_first_refusal", "moera_blocked_time", "external_accepted",
		"sent_items_growth", "submitting_avg", "last_release", "lost_pct",
	};
	for (size_t i = 0; i < sizeof provoked / sizeof provoked[0]; i++) {
		sqlite3_stmt *st = NULL;
		assert_int_equal(sqlite3_prepare_v2(h, "SELECT max(value) FROM figures WHERE figure = ?1"
		                                    " AND entity_kind = 'total'", -1, &st, NULL), SQLITE_OK);
		sqlite3_bind_text(st, 1, provoked[i], -1, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		if (!(sqlite3_column_double(st, 0) > 0))
			fail_msg("figure %s: 0 or none on the walk's total, which provokes it", provoked[i]);
		sqlite3_finalize(st);
	}
	/* a figure is NaN exactly outside the entities the catalog names
	 * (checked on the stored values: NULL is NaN) */
	for (int f = 0; f < FIG_COUNT; f++) {
		static const char *const kinds[] = { "total", "group", "mailbox" };
		for (int k = 0; k < 3; k++) {
			if (res_fig_info[f].ents & (1u << k))
				continue;
			sqlite3_stmt *st = NULL;
			assert_int_equal(sqlite3_prepare_v2(h, "SELECT count(*) FROM figures WHERE figure = ?1"
			                                    " AND entity_kind = ?2 AND value IS NOT NULL", -1, &st, NULL),
			                 SQLITE_OK);
			sqlite3_bind_text(st, 1, res_fig_info[f].name, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, kinds[k], -1, SQLITE_STATIC);
			assert_int_equal(sqlite3_step(st), SQLITE_ROW);
			if (sqlite3_column_int64(st, 0) != 0)
				fail_msg("figure %s has values for a %s, which the catalog says it is not defined for",
				         res_fig_info[f].name, kinds[k]);
			sqlite3_finalize(st);
		}
	}
	sqlite3_close(h);
	free(json);
	free(csv);
}

/* Every route preset: a route of it runs, and the results name it with
 * the limits it resolved to (the same as preset_fill gives). */
static void test_every_preset(void **state)
{
	(void)state;
	for (size_t i = 0; preset_name(i); i++) {
		char path[512], *json = NULL, want[256];
		snprintf(path, sizeof path, "%s/preset-%zu.yaml", dir, i);
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fprintf(f, "name: preset-walk\nduration: 10m\nmailboxes: [{name: m@contoso.com}]\n"
		        "routes: {r: {preset: %s}}\n"
		        "senders: [{name: app, auth: oauth, route: r, arrivals: {poisson: 60/h}}]\n",
		        preset_name(i));
		fclose(f);
		assert_int_equal(run(&json, "%s run %s --quiet --db %s/presets.db --format json --describe", bin(), path, dir),
		                 0);
		scn_limits l;
		assert_int_equal(preset_fill(preset_name(i), &l), SIM_OK);
		snprintf(want, sizeof want, "\"route\": \"r\", \"mailbox\": \"m@contoso.com\", \"instances\": 1,\n"
		         "        \"limits\": {\"preset\": \"%s\", \"concurrency\": %lld", preset_name(i),
		         (long long)l.connections.limit);
		if (strstr(json, want) == NULL)
			fail_msg("preset %s: the group's limits are not in the results as %s", preset_name(i), want);
		free(json);
	}
}

/* Every client retry profile: a sender naming it gets exactly what the
 * profile applies to the defaults. */
static void test_every_retry_profile(void **state)
{
	(void)state;
	for (size_t i = 0; preset_retry_names[i]; i++) {
		char text[512];
		int n = snprintf(text, sizeof text, "mailboxes: [{name: m@contoso.com}]\n"
		                 "senders: [{name: app, arrivals: {poisson: 1/h}, retry: %s}]\n",
		                 preset_retry_names[i]);
		scenario **v = NULL;
		size_t nv = 0;
		scn_errors errs = { 0 };
		assert_int_equal(scn_load_buffer("retry.yaml", text, (size_t)n, NULL, &sim_alloc_std, &v, &nv, &errs),
		                 SIM_OK);
		scn_errors_free(&errs);
		/* the defaults (SCENARIOS.md, retry), then the profile */
		scn_retry want = { .base_ns = 60 * SCN_NS_PER_S, .factor = 1, .jitter = JITTER_NONE,
		                   .max_attempts = 1, .honors_permanent = true };
		assert_int_equal(preset_retry_apply(i, &want), SIM_OK);
		const scn_retry *got = &v[0]->senders[0].retry;
		assert_int_equal(got->base_ns, want.base_ns);
		assert_true(got->factor == want.factor);
		assert_int_equal(got->cap_ns, want.cap_ns);
		assert_int_equal(got->max_attempts, want.max_attempts);
		assert_int_equal(got->max_age_ns, want.max_age_ns);
		scn_free_all(v, nv, &sim_alloc_std);
	}
	assert_int_equal(preset_retry_apply(99, NULL), SIM_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_reply_class),
		cmocka_unit_test(test_every_figure),
		cmocka_unit_test(test_every_preset),
		cmocka_unit_test(test_every_retry_profile),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
