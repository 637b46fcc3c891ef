/* test_replay.c - plot --entity's replay (sim/program/replay.c) and the
 * focus it runs (models/run.c, run_replication_focus).
 *
 * The scenario: one mailbox (message rate 100/min: never binding; no error
 * throttle) and three sender groups of one instance each, every time fixed:
 *   steady  a message every 10 s from 5 s, connect 1 s + submit 1 s: each
 *           accepted and released 2 s after it is generated, 6 a minute,
 *           never two at once;
 *   flood   a message every 1 s from 0.5 s, connect 0.8 s + submit 0.8 s,
 *           outbox_limit 1: the message of second k (k + 0.5 s) is taken
 *           when k is even (the one before left at k - 0.4 s) and lost to
 *           the full outbox when k is odd (the one of k - 1 is still in
 *           service until k + 1.1 s).  Accepted at k + 2.1 s: minute 0
 *           gets k = 0, 2, ..., 56 (29), every later minute 30
 *           (60m - 2 .. 60m + 56); lost 30 a minute; in 10 minutes 600
 *           generated, 299 accepted, 300 lost, 1 pending (k = 598, due at
 *           600.1 s).  At each minute's end (60m s) the message of
 *           k = 60m - 2 is in its submission: backlog 1, one session open;
 *   denied  a message a minute at 30 s, every one refused 550 5.7.60
 *           (send_as_denied: 1) at 32 s and dropped: rejected 1 and lost 1
 *           a minute, nothing accepted.
 * So per minute, by hand, for each entity (accepted, released, lost,
 * rejected, backlog and sessions at the minute's end):
 *   steady   6, 6, 0, 0, 0, 0
 *   flood    29 then 30, the same, 30, 0, 1, 1
 *   denied   0, 0, 1, 1 (5.7.60), 0, 0
 *   mailbox  35 then 36, the same, 31, 1, 1, 1 (everything happens on it;
 *            the instances' home, so their overflow and backlog too)
 * and flood's delays are all 1.6 s: its CDF is 1.6 s at every quantile,
 * topped at 299 / 600 of its messages.
 *
 * Also: the focus changes nothing of the figures (run_replication and
 * run_replication_focus give the same bytes); a replay whose stored
 * figures were altered, or whose run was made by another version, is
 * refused with a message saying why; an unknown entity is a usage error
 * with the nearest name.  The plot commands need gnuplot (skipped
 * without) and the built program (THROTTLESIM_BIN).
 */
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
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "replay.h"
#include "run.h"
#include "scn_load.h"
#include "status.h"
#include "store.h"

#ifndef THROTTLESIM_VERSION
#define THROTTLESIM_VERSION "0.0.0"
#endif

static const char hand_yaml[] =
	"name: two-groups-one-mailbox\n"
	"start: 2026-03-02T00:00:00Z\n"
	"duration: 10m\n"
	"seed: 7\n"
	"replications: 2\n"
	"mailboxes:\n"
	"  - name: box@contoso.com\n"
	"senders:\n"
	"  - name: steady\n"
	"    count: 1\n"
	"    mailbox: box@contoso.com\n"
	"    arrivals: {periodic: 10s, phase: 5s}\n"
	"    message: {recipients: 1, size: 10KB}\n"
	"    session: {connections: 1, messages_per_session: 1, connect_time: 1s, submit_time: 1s}\n"
	"  - name: flood\n"
	"    count: 1\n"
	"    mailbox: box@contoso.com\n"
	"    outbox_limit: 1\n"
	"    arrivals: {periodic: 1s, phase: 500ms}\n"
	"    message: {recipients: 1, size: 10KB}\n"
	"    session: {connections: 1, messages_per_session: 1, connect_time: 800ms, submit_time: 800ms}\n"
	"  - name: denied\n"
	"    count: 1\n"
	"    mailbox: box@contoso.com\n"
	"    arrivals: {periodic: 1m, phase: 30s}\n"
	"    message: {recipients: 1, size: 10KB}\n"
	"    faults: {send_as_denied: 1}\n"
	"    session: {connections: 1, messages_per_session: 1, connect_time: 1s, submit_time: 1s}\n"
	"limits:\n"
	"  preset: exchange-online\n"
	"  message_rate_limit: 100/min\n"
	"  error_throttle: off\n";

typedef struct fixture {
	char dir[64], yaml[128], db[128];
	char out[8192], err[8192];
} fixture;

static const char *bin(void)
{
	const char *b = getenv("THROTTLESIM_BIN");
	return b ? b : "build/debug/throttlesim";
}

static void slurp(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	size_t n = fread(buf, 1, size - 1, f);
	buf[n] = 0;
	fclose(f);
}

/* The program with the arguments (no shell metacharacters in them: they
 * are ours); standard output and error into fx->out, fx->err. */
static int prog(fixture *fx, const char *fmt, ...)
{
	char args[1024], cmd[2048], p[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof args, fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof cmd, "%s %s >%s/stdout 2>%s/stderr", bin(), args, fx->dir, fx->dir);
	int st = system(cmd);
	snprintf(p, sizeof p, "%s/stdout", fx->dir);
	slurp(p, fx->out, sizeof fx->out);
	snprintf(p, sizeof p, "%s/stderr", fx->dir);
	slurp(p, fx->err, sizeof fx->err);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
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

static int setup(void **state)
{
	fixture *fx = calloc(1, sizeof *fx);
	assert_non_null(fx);
	snprintf(fx->dir, sizeof fx->dir, "/tmp/test_replay_XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->yaml, sizeof fx->yaml, "%s/hand.yaml", fx->dir);
	snprintf(fx->db, sizeof fx->db, "%s/results.db", fx->dir);
	FILE *f = fopen(fx->yaml, "w");
	assert_non_null(f);
	fputs(hand_yaml, f);
	assert_int_equal(fclose(f), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	fixture *fx = *state;
	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx->dir);
	int rc = system(cmd);
	free(fx);
	return rc == 0 ? 0 : -1;
}

/* The run stored by the program (run 1 of a new file). */
static void store_run(fixture *fx)
{
	int rc = prog(fx, "run %s --db %s -q", fx->yaml, fx->db);
	if (rc != 0)
		fail_msg("run: exit %d: %s", rc, fx->err);
}

/* The run read back and replayed for one entity of the base. */
static int replay_of(fixture *fx, res_entity_kind kind, size_t index, store_loaded **l, replay_result *res,
                     char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	assert_int_equal(store_open_readonly(fx->db, &db, err, errlen), SIM_OK);
	assert_int_equal(store_load_run(db, 1, l, err, errlen), SIM_OK);
	scn_override *sets = NULL;
	size_t n_sets = 0;
	assert_int_equal(store_run_sets(db, 1, &sets, &n_sets, err, errlen), SIM_OK);
	store_close(db);
	size_t ent[1] = { index };
	bool want[1] = { true };
	assert_int_equal((*l)->run.n_variants, 1);
	int st = replay_run(*l, sets, n_sets, THROTTLESIM_VERSION, kind, ent, want, res, err, errlen);
	store_run_sets_free(sets, n_sets);
	return st;
}

typedef struct hand_row {
	double accepted, released, lost, rejected, backlog, sessions;
} hand_row;

static void expect_series(const replay_variant *v, const char *who, hand_row first, hand_row rest,
                          int reject_class)
{
	assert_int_equal(v->series.n, 10);
	assert_int_equal(v->series.n_reps, 2);
	assert_true(v->series.step_ns == 60 * SCN_NS_PER_S);
	for (size_t i = 0; i < v->series.n; i++) {
		const store_series_row *r = &v->series.rows[i];
		hand_row h = i == 0 ? first : rest;
		double rej = 0;
		for (int c = 0; c < RC_COUNT; c++)
			rej += r->rejected_by[c];
		if (r->accepted != h.accepted || r->released != h.released || r->lost != h.lost || rej != h.rejected ||
		    r->backlog != h.backlog || r->open_sessions != h.sessions || r->throttled != 0)
			fail_msg("%s, minute %zu: %g %g %g %g %g %g, by hand %g %g %g %g %g %g", who, i, r->accepted,
			         r->released, r->lost, rej, r->backlog, r->open_sessions, h.accepted, h.released, h.lost,
			         h.rejected, h.backlog, h.sessions);
		if (reject_class >= 0)
			assert_true(r->rejected_by[reject_class] == h.rejected);
	}
}

/* Each entity's series as worked out by hand (the header's table), and
 * flood's delays. */
static void test_series_by_hand(void **state)
{
	fixture *fx = *state;
	store_run(fx);
	static const struct {
		res_entity_kind kind;
		size_t index;
		const char *who;
		hand_row first, rest;
		int rc;
	} want[] = {
		{ RES_GROUP, 0, "steady", { 6, 6, 0, 0, 0, 0 }, { 6, 6, 0, 0, 0, 0 }, -1 },
		{ RES_GROUP, 1, "flood", { 29, 29, 30, 0, 1, 1 }, { 30, 30, 30, 0, 1, 1 }, -1 },
		{ RES_GROUP, 2, "denied", { 0, 0, 1, 1, 0, 0 }, { 0, 0, 1, 1, 0, 0 }, RC_SEND_AS_DENIED },
		{ RES_MAILBOX, 0, "box", { 35, 35, 31, 1, 1, 1 }, { 36, 36, 31, 1, 1, 1 }, RC_SEND_AS_DENIED },
	};
	for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
		store_loaded *l = NULL;
		replay_result res = { 0 };
		char err[1024] = "";
		int st = replay_of(fx, want[k].kind, want[k].index, &l, &res, err, sizeof err);
		if (st != SIM_OK)
			fail_msg("%s: %s", want[k].who, err);
		assert_int_equal(res.n, 1);
		expect_series(&res.v[0], want[k].who, want[k].first, want[k].rest, want[k].rc);
		assert_int_equal(res.v[0].cdf_exact, want[k].kind == RES_GROUP);
		assert_true(res.v[0].backlog_defined);
		if (k == 1) {
			/* every accepted message of flood took 1.6 s, in both replications */
			for (size_t q = 0; q < 2 * RES_CDF_POINTS; q++)
				assert_true(fabs(res.v[0].delivery_cdf[q] - 1.6) < 1e-9);
			assert_int_equal(res.v[0].mailboxes_used, 1);
			assert_true(res.v[0].mailboxes_shared);
		}
		replay_free(&res);
		store_loaded_free(l);
	}
}

/* The focus leaves the figures as they are: every byte of what
 * run_replication fills that is a result, with and without a focus. */
static void test_focus_changes_nothing(void **state)
{
	(void)state;
	scenario **v = NULL;
	size_t n = 0;
	scn_errors errs = { 0 };
	assert_int_equal(scn_load_buffer("hand.yaml", hand_yaml, strlen(hand_yaml), NULL, &sim_alloc_std, &v, &n, &errs),
	                 SIM_OK);
	scn_errors_free(&errs);
	for (int kind = RES_GROUP; kind <= RES_MAILBOX; kind++) {
		res_rep a, b;
		char err[256];
		run_focus f = { .kind = (res_entity_kind)kind, .index = 0 };
		assert_int_equal(run_replication(v[0], 1, EVS_CALENDAR, NULL, &a, err, sizeof err), SIM_OK);
		assert_int_equal(run_replication_focus(v[0], 1, EVS_CALENDAR, NULL, &f, &b, err, sizeof err), SIM_OK);
		assert_memory_equal(&a.total, &b.total, sizeof a.total);
		assert_int_equal(a.n_groups, b.n_groups);
		assert_int_equal(a.n_mailboxes, b.n_mailboxes);
		assert_memory_equal(a.groups, b.groups, a.n_groups * sizeof *a.groups);
		assert_memory_equal(a.mailboxes, b.mailboxes, a.n_mailboxes * sizeof *a.mailboxes);
		assert_int_equal(a.n_series, b.n_series);
		assert_memory_equal(a.series, b.series, a.n_series * sizeof *a.series);
		assert_memory_equal(a.delivery_cdf, b.delivery_cdf, sizeof a.delivery_cdf);
		assert_memory_equal(a.submission_cdf, b.submission_cdf, sizeof a.submission_cdf);
		assert_int_equal(a.events, b.events);
		assert_int_equal(f.n_series, 10);
		run_focus_free(&f);
		res_rep_free(&a);
		res_rep_free(&b);
	}
	/* an entity the scenario has not: refused, nothing filled */
	run_focus f = { .kind = RES_GROUP, .index = 3 };
	res_rep r;
	char err[256];
	assert_int_equal(run_replication_focus(v[0], 0, EVS_CALENDAR, NULL, &f, &r, err, sizeof err), SIM_EINVAL);
	assert_null(f.series);
	scn_free_all(v, n, &sim_alloc_std);
}

static bool have_gnuplot(void)
{
	return system("command -v gnuplot >/dev/null 2>&1") == 0;
}

/* plot --entity through the program: the data file of flood's time series
 * holds the hand-worked counts, the CDF tops out at 299 / 600, stderr
 * says what was replayed; an unknown name is exit 2 with the nearest. */
static void test_plot_entity(void **state)
{
	fixture *fx = *state;
	if (!have_gnuplot())
		skip();
	store_run(fx);
	int rc = prog(fx, "plot 1 --db %s --out %s/o --entity flood --chart timeseries", fx->db, fx->dir);
	if (rc != 0)
		fail_msg("exit %d: %s", rc, fx->err);
	assert_non_null(strstr(fx->err, "replaying 2 replications of 1 variant for the sender group 'flood'"));
	char p[256], text[8192];
	snprintf(p, sizeof p, "%s/o/timeseries-0-base-group-flood.dat", fx->dir);
	slurp(p, text, sizeof text);
	/* clock time (2026-03-02 00:00 UTC = 1772409600), minute, accepted,
	 * released, lost per minute, backlog, sessions, throttled */
	assert_non_null(strstr(text, "\n1772409600 0 29 29 30 1 1 0\n"));
	assert_non_null(strstr(text, "\n1772409660 1 30 30 30 1 1 0\n"));
	assert_non_null(strstr(text, "\n1772410140 9 30 30 30 1 1 0\n"));

	rc = prog(fx, "plot 1 --db %s --out %s/o --entity group:flood --chart cdf --keep-vars", fx->db, fx->dir);
	if (rc != 0)
		fail_msg("exit %d: %s", rc, fx->err);
	snprintf(p, sizeof p, "%s/o/cdf-group-flood.vars", fx->dir);
	slurp(p, text, sizeof text);
	const char *d = strstr(text, "\ndshare1=");
	assert_non_null(d);
	assert_true(fabs(strtod(d + 9, NULL) - 299.0 / 600.0) < 1e-9);

	assert_int_equal(prog(fx, "plot 1 --db %s --out %s/o2 --entity flod", fx->db, fx->dir), 2);
	assert_non_null(strstr(fx->err, "no sender group or mailbox named 'flod' (did you mean 'flood'?)"));
	assert_int_equal(prog(fx, "plot 1 --db %s --out %s/o2 --entity mailbox:flood", fx->db, fx->dir), 2);
	assert_non_null(strstr(fx->err, "no mailbox named 'flood'"));
	snprintf(p, sizeof p, "%s/o2", fx->dir);
	assert_int_equal(access(p, F_OK), -1); /* nothing made */
}

/* A stored figure changed behind the program's back: the replay no longer
 * matches and nothing is drawn; another program version: said first. */
static void test_refuses_altered_store(void **state)
{
	fixture *fx = *state;
	/* A schema-2 file (a row per value) keeps the run in that layout, so
	 * one figure can be changed with SQL; the replay reads both layouts
	 * through the same loader. */
	char cmd[256];
	snprintf(cmd, sizeof cmd, "cp tests/data/store-schema2-empty.db '%s'", fx->db);
	assert_int_equal(system(cmd), 0);
	store_run(fx);
	exec_sql(fx->db, "UPDATE figures SET value = value + 1 WHERE run_id = 1 AND replication = 1"
	         " AND entity_kind = 'group' AND entity_idx = 1 AND figure = 'accepted';");
	store_loaded *l = NULL;
	replay_result res = { 0 };
	char err[1024] = "";
	assert_int_equal(replay_of(fx, RES_GROUP, 1, &l, &res, err, sizeof err), SIM_EINVAL);
	assert_non_null(strstr(err, "variant 'base', replication 1 does not replay as stored (the sender group:"
	                            " accepted is 300 in the store, 299 replayed)"));
	assert_int_equal(res.n, 0);
	store_loaded_free(l);
	/* the other group's figures are intact, but the whole scenario's are checked too */
	exec_sql(fx->db, "UPDATE figures SET value = value - 1 WHERE run_id = 1 AND replication = 1"
	         " AND entity_kind = 'group' AND entity_idx = 1 AND figure = 'accepted';"
	         "UPDATE figures SET value = 0 WHERE run_id = 1 AND replication = 0"
	         " AND entity_kind = 'total' AND figure = 'lost';");
	assert_int_equal(replay_of(fx, RES_GROUP, 0, &l, &res, err, sizeof err), SIM_EINVAL);
	assert_non_null(strstr(err, "replication 0 does not replay as stored (the whole scenario: lost is 0 in"
	                            " the store, 310 replayed)"));
	store_loaded_free(l);

	if (have_gnuplot()) {
		assert_int_equal(prog(fx, "plot 1 --db %s --out %s/o --entity steady", fx->db, fx->dir), 2);
		assert_non_null(strstr(fx->err, "cannot replay run 1: variant 'base', replication 0 does not replay"));
		assert_null(strstr(fx->out, ".png"));
		char p[256];
		snprintf(p, sizeof p, "%s/o", fx->dir);
		assert_int_equal(access(p, F_OK), -1); /* checked before anything is made */
	}
	/* The packed layout (schema 3, a new file): replication 1 given
	 * replication 0's figures no longer replays either (printers.yaml:
	 * random arrivals, so the two differ). */
	char packed[160];
	snprintf(packed, sizeof packed, "%s/packed.db", fx->dir);
	int rc = prog(fx, "run scenarios/printers.yaml --replications 2 --variant base --db %s -q", packed);
	if (rc != 0)
		fail_msg("run: exit %d: %s", rc, fx->err);
	exec_sql(packed, "UPDATE replication_data SET figures = (SELECT figures FROM replication_data"
	         " WHERE run_id = 1 AND variant_idx = 0 AND replication = 0)"
	         " WHERE run_id = 1 AND variant_idx = 0 AND replication = 1;");
	if (have_gnuplot()) {
		assert_int_equal(prog(fx, "plot 1 --db %s --out %s/o3 --entity mfp", packed, fx->dir), 2);
		assert_non_null(strstr(fx->err, "cannot replay run 1: variant 'base', replication 1 does not replay"
		                                " as stored"));
	}
	exec_sql(fx->db, "UPDATE runs SET program_version = '0.0.1' WHERE id = 1;");
	assert_int_equal(replay_of(fx, RES_GROUP, 0, &l, &res, err, sizeof err), SIM_EINVAL);
	char want[256];
	snprintf(want, sizeof want, "run 1 was made by throttlesim 0.0.1 and this is %s", THROTTLESIM_VERSION);
	assert_non_null(strstr(err, want));
	store_loaded_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_series_by_hand, setup, teardown),
		cmocka_unit_test_setup_teardown(test_focus_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plot_entity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_altered_store, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
