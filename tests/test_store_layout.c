/* test_store_layout.c - schema 3's packed layout against schema 2's rows:
 * the same run reads back the same, datum for datum and bit for bit,
 * whichever layout holds it; the exports of a run written by the program
 * before schema 3 (tests/data/store-schema2.db) are byte for byte those
 * of the same run written now; the encoding of a value is the one worked
 * out by hand; a schema-2 file keeps its layout when written to. */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE /* mkdtemp */
#endif

#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "report.h"
#include "res_summary.h"
#include "status.h"
#include "store.h"
#include "store_int.h"

static const char *bin(void)
{
	const char *b = getenv("THROTTLESIM_BIN");
	return b ? b : "build/debug/throttlesim";
}

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/test_store_layout_XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	if (system(cmd) != 0)
		fail_msg("failed: %s", cmd);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	long n = ftell(f);
	rewind(f);
	char *b = malloc((size_t)n + 1);
	assert_non_null(b);
	assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
	b[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return b;
}

static int64_t sql_int(const char *path, const char *sql)
{
	sqlite3 *h = NULL;
	assert_int_equal(sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(h));
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

/* ---- the encoding, by hand ------------------------------------------------------- */

static void expect_bytes(double x, const char *hex)
{
	store__buf b = { 0 };
	store__put_value(&b, x);
	char got[64] = "";
	for (size_t i = 0; i < b.n; i++)
		snprintf(got + 2 * i, sizeof got - 2 * i, "%02x", b.p[i]);
	if (strcmp(got, hex) != 0)
		fail_msg("%.17g: %s, not %s", x, got, hex);
	/* and back, bit for bit (NaN as NaN) */
	store__cur c = { b.p, b.n, 0, false };
	double y = store__get_value(&c);
	assert_true(store__cur_done(&c));
	if (isnan(x))
		assert_true(isnan(y));
	else
		assert_memory_equal(&x, &y, sizeof x);
	store__buf_free(&b);
}

static void test_value_bytes(void **state)
{
	(void)state;
	/* none: 0; whole i: 2 + zigzag(i) (0 -> 0, -1 -> 1, 1 -> 2, ...) */
	expect_bytes(NAN, "00");
	expect_bytes(0, "02");
	expect_bytes(-1, "03");
	expect_bytes(1, "04");
	expect_bytes(62, "7e");          /* 2 + 124 = 126: the last of one byte */
	expect_bytes(-63, "7f");         /* 2 + 125 = 127 */
	expect_bytes(63, "8001");        /* 2 + 126 = 128 = 0x80 + 1 x 128 */
	expect_bytes(-64, "8101");
	expect_bytes(300, "da04");       /* 2 + 600 = 602 = 0x5a | 0x80, 4 */
	/* 2^53: 2 + 2^54 in 7-bit groups: 2, six of 0, 2^54 / 2^49 = 0x20 */
	expect_bytes(9007199254740992.0, "8280808080808020");
	expect_bytes(-9007199254740992.0, "8180808080808020");   /* 2 + 2^54 - 1 */
	/* else 1 and the 8 bytes, least significant first */
	expect_bytes(0.5, "01000000000000e03f");
	expect_bytes(-0.0, "010000000000000080");
	expect_bytes(9007199254740994.0, "010100000000004043");   /* 2^53 + 2: not in the whole range */
	expect_bytes(DBL_MAX, "01ffffffffffffef7f");
	expect_bytes(4.9406564584124654e-324, "010100000000000000");
	/* infinities are none, as SQL NULL was */
	store__buf b = { 0 };
	store__put_value(&b, INFINITY);
	store__put_value(&b, -INFINITY);
	assert_int_equal(b.n, 2);
	assert_int_equal(b.p[0], 0);
	assert_int_equal(b.p[1], 0);
	store__buf_free(&b);
	/* counts: the largest is 10 bytes; an 11th, or a 10th above 1, is bad */
	store__put_uint(&b, UINT64_MAX);
	assert_int_equal(b.n, 10);
	assert_int_equal(b.p[9], 1);
	store__cur c = { b.p, b.n, 0, false };
	assert_true(store__get_uint(&c) == UINT64_MAX);
	assert_true(store__cur_done(&c));
	b.p[9] = 2;
	c = (store__cur){ b.p, b.n, 0, false };
	store__get_uint(&c);
	assert_true(c.bad);
	c = (store__cur){ b.p, 9, 0, false };   /* cut short */
	store__get_uint(&c);
	assert_true(c.bad);
	store__buf_free(&b);
	/* a stored double that is not finite is refused */
	static const unsigned char inf[] = { 1, 0, 0, 0, 0, 0, 0, 0xf0, 0x7f };
	c = (store__cur){ inf, sizeof inf, 0, false };
	store__get_value(&c);
	assert_true(c.bad);
	static const unsigned char cut[] = { 1, 0, 0, 0 };
	c = (store__cur){ cut, sizeof cut, 0, false };
	store__get_value(&c);
	assert_true(c.bad);
}

/* ---- exports: the program before schema 3 and now ------------------------------ */

/* doc without its "run" object (the store's record: times, command line,
 * run id), which differs between any two runs. */
static void drop_run_record(char *doc)
{
	char *a = strstr(doc, "\n  \"run\": {\n");
	assert_non_null(a);
	char *b = strstr(a, "\n  },\n");
	assert_non_null(b);
	memmove(a + 1, b + strlen("\n  },\n"), strlen(b + strlen("\n  },\n")) + 1);
}

static char *export_of(const char *db, int run, const char *format)
{
	char out[256];
	snprintf(out, sizeof out, "%s/export-%d.%s", dir, run, format);
	sh("%s results export %d --format %s --db %s > %s", bin(), run, format, db, out);
	char *doc = slurp(out, NULL);
	if (strcmp(format, "json") == 0)
		drop_run_record(doc);
	return doc;
}

/* tests/data/store-schema2.db holds two runs written by the program
 * before schema 3, of
 *   run scenarios/alerts.yaml --replications 2 --seed 7 --set duration=6h
 * (run 1) and the same with --keep-series (run 2).  The same runs,
 * written now into a new file, export the same bytes (but for the run
 * record), read from either file by this program. */
static void test_exports_match_schema2(void **state)
{
	(void)state;
	char old[128], now[128];
	snprintf(old, sizeof old, "%s/old.db", dir);
	snprintf(now, sizeof now, "%s/now.db", dir);
	sh("cp tests/data/store-schema2.db %s", old);
	sh("%s run scenarios/alerts.yaml --replications 2 --seed 7 --set duration=6h --quiet --db %s > /dev/null",
	   bin(), now);
	sh("%s run scenarios/alerts.yaml --replications 2 --seed 7 --set duration=6h --keep-series --quiet"
	   " --db %s > /dev/null", bin(), now);
	assert_int_equal(sql_int(now, "PRAGMA user_version"), 3);
	assert_int_equal(sql_int(now, "SELECT count(*) FROM sqlite_master WHERE name = 'figures'"), 0);
	assert_int_equal(sql_int(old, "PRAGMA user_version"), 2);
	/* the runs have what the comparison needs: rejections, undefined
	 * figures and delays, a series of each kind */
	assert_true(sql_int(old, "SELECT count(*) FROM rejections WHERE run_id = 1") > 0);
	assert_true(sql_int(old, "SELECT count(*) FROM figures WHERE run_id = 1 AND value IS NULL") > 0);
	assert_true(sql_int(old, "SELECT count(*) FROM delay_cdf WHERE run_id = 1 AND value_s IS NULL") > 0);
	assert_true(sql_int(old, "SELECT count(*) FROM series WHERE run_id = 2 AND replication >= 0") > 0);
	assert_int_equal(sql_int(now, "SELECT count(*) FROM replication_data WHERE run_id = 2 AND series IS NULL"), 0);
	for (int run = 1; run <= 2; run++) {
		static const char *const formats[] = { "json", "csv" };
		for (int f = 0; f < 2; f++) {
			char *a = export_of(old, run, formats[f]);
			char *b = export_of(now, run, formats[f]);
			if (strcmp(a, b) != 0)
				fail_msg("run %d, %s: the exports differ", run, formats[f]);
			assert_true(strlen(a) > 10000);
			free(a);
			free(b);
		}
	}
	/* ... and the new file is far smaller for the same runs (a quarter
	 * at this size, where each table's pages and the replies weigh) */
	char *x;
	size_t n_old, n_now;
	x = slurp(old, &n_old);
	free(x);
	sh("%s results prune --keep 2 --db %s > /dev/null", bin(), now);   /* a VACUUM: no free pages */
	x = slurp(now, &n_now);
	free(x);
	assert_true(n_now * 4 < n_old);
}

/* ---- the same run in both layouts, through the loader ------------------------- */

#define N_REPS 3
#define N_GROUPS 2
#define N_MBX 3
#define N_STEPS 5

typedef struct fixture {
	res_desc desc[2];
	res_group_desc groups[N_GROUPS];
	res_mailbox_desc mbx[N_MBX];
	res_rep reps[2][N_REPS];
	res_entity g[2][N_REPS][N_GROUPS], m[2][N_REPS][N_MBX];
	res_series_row series[2][N_REPS][N_STEPS];
	rpt_variant variants[2];
	rpt_run run;
	store_run_info info;
} fixture;

/* Values of every kind the encoding tells apart: none, whole (small,
 * negative, large, 2^53), fractions, the largest and smallest doubles. */
static double value_of(int v, size_t r, int k, size_t e, int f)
{
	static const double odd[] = { 0.1, -2.5, 1e300, 4.9406564584124654e-324, 9007199254740992.0,
	                              -123456789.0, 86400.000000001, 3.0 };
	unsigned h = (unsigned)(f * 7 + (int)e * 3 + k * 11 + (int)r * 5 + v * 13);
	if (h % 9 == 0)
		return NAN;
	if (h % 4 == 0)
		return odd[h % 8];
	return (double)(h % 300) + (h % 3 == 0 ? 0.25 : 0);
}

static void fill(fixture *fx)
{
	for (size_t i = 0; i < N_GROUPS; i++) {
		snprintf(fx->groups[i].name, sizeof fx->groups[i].name, "group %zu", i);
		snprintf(fx->groups[i].limits.preset, sizeof fx->groups[i].limits.preset, "default");
		snprintf(fx->groups[i].route, sizeof fx->groups[i].route, "smtp_auth");
		fx->groups[i].instances = 4;
	}
	for (size_t i = 0; i < N_MBX; i++) {
		snprintf(fx->mbx[i].name, sizeof fx->mbx[i].name, "m%zu@contoso.com", i);
		snprintf(fx->mbx[i].limits.preset, sizeof fx->mbx[i].limits.preset, "exchange-online");
		fx->mbx[i].limits.concurrency = 3;
	}
	for (int v = 0; v < 2; v++) {
		res_desc *d = &fx->desc[v];
		d->groups = fx->groups;
		d->n_groups = N_GROUPS;
		d->mailboxes = fx->mbx;
		d->n_mailboxes = N_MBX;
		d->duration_ns = N_STEPS * 60 * SCN_NS_PER_S;
		d->sweep_point = -1;
		d->configured[RC_CONCURRENCY] = (res_reply){ 432, true, "432 4.3.2 Concurrent connections limit exceeded." };
		for (size_t r = 0; r < N_REPS; r++) {
			res_rep *rep = &fx->reps[v][r];
			rep->replication = (int64_t)r;
			rep->seed = UINT64_C(0x8000000000000000) + r;
			rep->events = 1000 * r;
			rep->groups = fx->g[v][r];
			rep->n_groups = N_GROUPS;
			rep->mailboxes = fx->m[v][r];
			rep->n_mailboxes = N_MBX;
			for (size_t i = 0; i < 1 + N_GROUPS + N_MBX; i++) {
				int k = i == 0 ? RES_TOTAL : i <= N_GROUPS ? RES_GROUP : RES_MAILBOX;
				size_t e = i == 0 ? 0 : i <= N_GROUPS ? i - 1 : i - 1 - N_GROUPS;
				res_entity *ent = i == 0 ? &rep->total : i <= N_GROUPS ? &fx->g[v][r][e] : &fx->m[v][r][e];
				for (int f = 0; f < FIG_COUNT; f++)
					ent->fig[f] = value_of(v, r, k, e, f);
				ent->rejected_by[RC_CONCURRENCY] = 3 * r + e;
				ent->lost_by[RC_RECIPIENT_RATE] = r;                    /* 0 in rep 0 */
				ent->rejected_by[RC_COUNT - 1] = UINT64_C(1) << 40;    /* the catalog's last class */
			}
			for (int q = 0; q < RES_CDF_POINTS; q++) {
				rep->submission_cdf[q] = q < 30 ? 0.013 * q * (1 + r) : NAN;
				rep->delivery_cdf[q] = 7.469064713 + q;
			}
			for (size_t i = 0; i < N_STEPS; i++) {
				res_series_row *row = &fx->series[v][r][i];
				if (i == 2)
					continue;   /* a step of zeros */
				row->accepted = (uint32_t)(i + r + v);
				row->lost = i == 4 ? UINT32_MAX : (uint32_t)r;
				row->outbox_backlog = (uint32_t)(7 * r);
				row->rejected_by[RC_CONCURRENCY] = (uint32_t)i;
				row->rejected_by[RC_COUNT - 1] = 1;
			}
			rep->series = fx->series[v][r];
			rep->n_series = N_STEPS;
			rep->series_step_ns = 60 * SCN_NS_PER_S;
		}
		fx->reps[v][1].given[RC_CONCURRENCY] = (res_reply){ 421, true, "421 4.7.0 Too many connections" };
		fx->reps[v][1].given_mixed[RC_CONCURRENCY] = true;
	}
	/* a replication shorter than the others: 0 beyond its end */
	fx->reps[1][2].n_series = 3;
	fx->variants[0] = (rpt_variant){ "base", &fx->desc[0], fx->reps[0], N_REPS };
	fx->variants[1] = (rpt_variant){ "per device", &fx->desc[1], fx->reps[1], N_REPS };
	fx->run = (rpt_run){ .scenario_name = "layout", .seed = 9, .version = "test", .variants = fx->variants,
	                     .n_variants = 2 };
	fx->info = (store_run_info){ "test", "layout", "layout.yaml", "name: layout\n", "throttlesim run", 9, N_REPS,
	                             NULL, 0 };
}

static store_loaded *write_and_load(const fixture *fx, const char *path, bool keep_series)
{
	sqlite3 *db = NULL;
	char err[512] = "";
	int64_t id = 0;
	store_loaded *l = NULL;
	if (store_open(path, &db, err, sizeof err) != SIM_OK ||
	    store_begin_run(db, &fx->info, &id, err, sizeof err) != SIM_OK ||
	    store_write_results_series(db, id, &fx->run, keep_series, err, sizeof err) != SIM_OK ||
	    store_finish_run(db, id, err, sizeof err) != SIM_OK || store_load_run(db, id, &l, err, sizeof err) != SIM_OK)
		fail_msg("%s", err);
	store_close(db);
	return l;
}

/* Equal bits (NaN to NaN: both layouts read none as the same NaN). */
static void same_double(double a, double b, const char *what)
{
	if (isnan(a) && isnan(b))
		return;
	if (memcmp(&a, &b, sizeof a) != 0)
		fail_msg("%s: %.17g and %.17g", what, a, b);
}

static void same_entity(const res_entity *a, const res_entity *b)
{
	for (int f = 0; f < FIG_COUNT; f++)
		same_double(a->fig[f], b->fig[f], res_fig_info[f].name);
	assert_memory_equal(a->rejected_by, b->rejected_by, sizeof a->rejected_by);
	assert_memory_equal(a->lost_by, b->lost_by, sizeof a->lost_by);
}

static void same_loaded(const store_loaded *a, const store_loaded *b)
{
	assert_int_equal(a->run.n_variants, b->run.n_variants);
	assert_int_equal(a->has_delay_cdf, b->has_delay_cdf);
	assert_int_equal(a->has_sweep, b->has_sweep);
	for (size_t v = 0; v < a->run.n_variants; v++) {
		const rpt_variant *va = &a->run.variants[v], *vb = &b->run.variants[v];
		assert_string_equal(va->name, vb->name);
		assert_int_equal(va->n_reps, vb->n_reps);
		const res_desc *da = va->desc, *db = vb->desc;
		assert_int_equal(da->n_groups, db->n_groups);
		assert_int_equal(da->n_mailboxes, db->n_mailboxes);
		assert_int_equal(da->duration_ns, db->duration_ns);
		for (size_t g = 0; g < da->n_groups; g++)
			assert_memory_equal(&da->groups[g], &db->groups[g], sizeof da->groups[g]);
		for (size_t m = 0; m < da->n_mailboxes; m++)
			assert_memory_equal(&da->mailboxes[m], &db->mailboxes[m], sizeof da->mailboxes[m]);
		assert_memory_equal(da->configured, db->configured, sizeof da->configured);
		for (size_t r = 0; r < va->n_reps; r++) {
			const res_rep *ra = &va->reps[r], *rb = &vb->reps[r];
			assert_int_equal(ra->replication, rb->replication);
			assert_true(ra->seed == rb->seed);
			assert_true(ra->events == rb->events);
			assert_memory_equal(ra->given, rb->given, sizeof ra->given);
			assert_memory_equal(ra->given_mixed, rb->given_mixed, sizeof ra->given_mixed);
			same_entity(&ra->total, &rb->total);
			assert_int_equal(ra->n_groups, rb->n_groups);
			assert_int_equal(ra->n_mailboxes, rb->n_mailboxes);
			for (size_t g = 0; g < ra->n_groups; g++)
				same_entity(&ra->groups[g], &rb->groups[g]);
			for (size_t m = 0; m < ra->n_mailboxes; m++)
				same_entity(&ra->mailboxes[m], &rb->mailboxes[m]);
			for (int q = 0; q < RES_CDF_POINTS; q++) {
				same_double(ra->submission_cdf[q], rb->submission_cdf[q], "submission delay");
				same_double(ra->delivery_cdf[q], rb->delivery_cdf[q], "delivery delay");
			}
			assert_int_equal(ra->series_step_ns, rb->series_step_ns);
			assert_int_equal(ra->n_series, rb->n_series);
			if (ra->n_series)
				assert_memory_equal(ra->series, rb->series, ra->n_series * sizeof *ra->series);
		}
		const store_series *sa = &a->series[v], *sb = &b->series[v];
		assert_int_equal(sa->n, sb->n);
		assert_int_equal(sa->step_ns, sb->step_ns);
		assert_int_equal(sa->n_reps, sb->n_reps);
		assert_int_equal(sa->has_lost, sb->has_lost);
		for (size_t i = 0; i < sa->n; i++) {
			const store_series_row *x = &sa->rows[i], *y = &sb->rows[i];
			same_double(x->accepted, y->accepted, "mean accepted");
			same_double(x->released, y->released, "mean released");
			same_double(x->lost, y->lost, "mean lost");
			same_double(x->backlog, y->backlog, "mean backlog");
			same_double(x->open_sessions, y->open_sessions, "mean sessions");
			same_double(x->throttled, y->throttled, "mean throttled");
			for (int c = 0; c < RC_COUNT; c++)
				same_double(x->rejected_by[c], y->rejected_by[c], "mean rejected");
		}
	}
	assert_int_equal(a->n_summaries, b->n_summaries);
	for (size_t i = 0; i < a->n_summaries; i++) {
		const store_summary *x = &a->summaries[i], *y = &b->summaries[i];
		assert_int_equal(x->variant, y->variant);
		assert_int_equal(x->kind, y->kind);
		assert_int_equal(x->entity, y->entity);
		assert_string_equal(x->entity_name, y->entity_name);
		assert_string_equal(x->figure, y->figure);
		assert_string_equal(x->unit, y->unit);
		assert_int_equal(x->what, y->what);
		assert_int_equal(x->idx, y->idx);
		same_double(x->mean, y->mean, x->figure);
		same_double(x->half, y->half, x->figure);
		assert_int_equal(x->n, y->n);
	}
}

static void both_layouts(bool keep_series)
{
	fixture *fx = calloc(1, sizeof *fx);
	assert_non_null(fx);
	fill(fx);
	char two[128], three[128];
	snprintf(two, sizeof two, "%s/two-%d.db", dir, keep_series);
	snprintf(three, sizeof three, "%s/three-%d.db", dir, keep_series);
	sh("cp tests/data/store-schema2-empty.db %s", two);
	store_loaded *a = write_and_load(fx, two, keep_series);
	store_loaded *b = write_and_load(fx, three, keep_series);
	assert_int_equal(sql_int(two, "PRAGMA user_version"), 2);
	assert_int_equal(sql_int(three, "PRAGMA user_version"), 3);
	assert_true(sql_int(two, "SELECT count(*) FROM figures") > 0);
	same_loaded(a, b);
	/* worked by hand: variant 1's mean lost at step 4 is
	 * (2^32 - 1) x 2 / 3 (the third replication is 3 steps long); at step 3, replications 0, 1, 2 lose 0, 1, 2
	 * (the third is 3 steps long: 0): (0 + 1 + 0) / 3 */
	assert_true(b->series[1].rows[4].lost == (double)UINT32_MAX * 2 / 3);
	assert_true(b->series[1].rows[3].lost == 1.0 / 3);
	assert_true(b->series[0].rows[2].accepted == 0);
	const store_summary *s = store_find_summary(b, 0, RES_GROUP, 1, "rejected_by.concurrency");
	assert_non_null(s);
	assert_true(s->mean == 4);   /* 3r + 1 over r = 0, 1, 2 */
	assert_non_null(store_find_summary(b, 0, RES_TOTAL, 0, "lost_by.recipient_rate"));
	store_loaded_free(a);
	store_loaded_free(b);
	free(fx);
}

static void test_same_run_both_layouts(void **state)
{
	(void)state;
	both_layouts(false);
	both_layouts(true);
}

/* -0.0 keeps its sign in schema 3 (schema 2's REAL column made it 0). */
static void test_negative_zero(void **state)
{
	(void)state;
	fixture *fx = calloc(1, sizeof *fx);
	assert_non_null(fx);
	fill(fx);
	fx->reps[0][1].mailboxes[2].fig[FIG_ACCEPTED] = -0.0;
	char path[128];
	snprintf(path, sizeof path, "%s/zero.db", dir);
	store_loaded *l = write_and_load(fx, path, false);
	double x = l->run.variants[0].reps[1].mailboxes[2].fig[FIG_ACCEPTED];
	assert_true(x == 0 && signbit(x));
	store_loaded_free(l);
	free(fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_value_bytes),
		cmocka_unit_test(test_same_run_both_layouts),
		cmocka_unit_test(test_negative_zero),
		cmocka_unit_test(test_exports_match_schema2),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
