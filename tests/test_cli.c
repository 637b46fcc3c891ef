/* test_cli.c - the command line end to end, through the built binary
 * (THROTTLESIM_BIN, set by `make test`): every shipped scenario passes
 * `check` and runs; the same file and seed give byte-identical JSON, run
 * twice and with the replications split over different numbers of
 * threads; bad input is refused with exit status 2 and a
 * file:line:column: key: message line, and leaves no run in the store. */
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

static const char *bin(void)
{
	const char *b = getenv("THROTTLESIM_BIN");
	return b ? b : "build/debug/throttlesim";
}

static char tmpdir[256];

/* Runs a shell command line, capturing stdout and stderr in malloc'd
 * strings; returns the exit status. */
static int run(const char *cmd, char **out, char **err)
{
	char line[4096];
	snprintf(line, sizeof line, "%s >%s/out 2>%s/err", cmd, tmpdir, tmpdir);
	int st = system(line);
	const char *names[2] = { "out", "err" };
	char **dst[2] = { out, err };
	for (int i = 0; i < 2; i++) {
		if (dst[i] == NULL)
			continue;
		char path[512];
		snprintf(path, sizeof path, "%s/%s", tmpdir, names[i]);
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
		*dst[i] = s;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *const shipped[] = {
	"scenarios/printers.yaml", "scenarios/alerts.yaml", "scenarios/newsletter.yaml",
	"scenarios/misconfigured-app.yaml", "scenarios/mailbox-full.yaml",
	"scenarios/basic-auth-off.yaml", "scenarios/exchange-server.yaml",
	"scenarios/trace-replay.yaml", "scenarios/printers-sweep.yaml",
};

static void test_shipped_scenarios_check_and_run(void **state)
{
	(void)state;
	char cmd[1024];
	for (size_t i = 0; i < sizeof shipped / sizeof shipped[0]; i++) {
		char *out, *err;
		snprintf(cmd, sizeof cmd, "%s check %s", bin(), shipped[i]);
		int st = run(cmd, &out, &err);
		if (st != 0)
			print_error("%s: %s\n", shipped[i], err);
		assert_int_equal(st, 0);
		assert_non_null(strstr(out, ": ok"));
		free(out);
		free(err);
		snprintf(cmd, sizeof cmd, "%s run %s --replications 2 --quiet --db %s/shipped.db --format csv",
			 bin(), shipped[i], tmpdir);
		st = run(cmd, &out, &err);
		if (st != 0)
			print_error("%s: %s\n", shipped[i], err);
		assert_int_equal(st, 0);
		/* every variant and the base report accepted messages */
		assert_non_null(strstr(out, "base,total,total,accepted,"));
		free(out);
		free(err);
	}
}

static void test_json_is_deterministic(void **state)
{
	(void)state;
	char cmd[1024];
	char *a, *b, *c;
	const char *args = "run scenarios/printers.yaml --replications 4 --duration 12h --format json --quiet";
	snprintf(cmd, sizeof cmd, "%s %s --jobs 1 --db %s/a.db", bin(), args, tmpdir);
	assert_int_equal(run(cmd, &a, NULL), 0);
	snprintf(cmd, sizeof cmd, "%s %s --jobs 1 --db %s/a.db", bin(), args, tmpdir);
	assert_int_equal(run(cmd, &b, NULL), 0);
	snprintf(cmd, sizeof cmd, "%s %s --jobs 3 --db %s/b.db --engine heap", bin(), args, tmpdir);
	assert_int_equal(run(cmd, &c, NULL), 0);
	assert_true(strlen(a) > 1000);
	assert_string_equal(a, b);
	assert_string_equal(a, c);
	free(a);
	free(b);
	free(c);
}

/* A variant that overrides nothing: common random numbers make its figures
 * exactly the base's, so every paired difference is exactly 0. */
static void test_identity_variant(void **state)
{
	(void)state;
	char path[512], cmd[2048];
	snprintf(path, sizeof path, "%s/identity.yaml", tmpdir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("name: identity\nduration: 6h\nseed: 7\nreplications: 3\n"
	      "mailboxes: [{name: shared@contoso.com}]\n"
	      "senders:\n  - name: app\n    count: 20\n    mailbox: shared@contoso.com\n"
	      "    arrivals: {poisson: 60/h}\n"
	      "    session: {submit_time: 20s}\n"
	      "    retry: {policy: fixed, base: 30s, max_attempts: 3}\n"
	      "variants:\n  - name: same\n    set: {}\n", f);
	fclose(f);
	char *out, *err;
	snprintf(cmd, sizeof cmd, "%s run %s --format csv --quiet --db %s/id.db", bin(), path, tmpdir);
	int st = run(cmd, &out, &err);
	if (st != 0)
		print_error("%s\n", err);
	assert_int_equal(st, 0);
	/* Compare the rows of base and same, line by line after the variant column. */
	size_t nbase = 0, nsame = 0, nrefused = 0;
	char *save = NULL;
	char **base = calloc(100000, sizeof *base);
	char **same = calloc(100000, sizeof *same);
	for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "base,", 5) == 0 && nbase < 100000)
			base[nbase++] = line + 5;
		else if (strncmp(line, "same,", 5) == 0 && nsame < 100000)
			same[nsame++] = line + 5;
		if (strstr(line, "base,total,total,connections_refused,") == line &&
		    strncmp(line + strlen("base,total,total,connections_refused,"), "0,", 2) != 0)
			nrefused++;
	}
	assert_true(nbase > 20);
	assert_int_equal(nbase, nsame);
	for (size_t i = 0; i < nbase; i++)
		assert_string_equal(base[i], same[i]);
	/* the scenario is loaded enough that the comparison means something */
	assert_int_equal(nrefused, 1);
	free(base);
	free(same);
	free(out);
	free(err);
}

static void expect_refused(const char *yaml, const char *want_pos_key)
{
	char path[512], cmd[2048], db[512];
	snprintf(path, sizeof path, "%s/bad.yaml", tmpdir);
	snprintf(db, sizeof db, "%s/bad.db", tmpdir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(yaml, f);
	fclose(f);
	unlink(db);
	char *out, *err;
	snprintf(cmd, sizeof cmd, "%s run %s --db %s", bin(), path, db);
	assert_int_equal(run(cmd, &out, &err), 2);
	char want[2048];
	snprintf(want, sizeof want, "%s:%s", path, want_pos_key);
	if (strstr(err, want) == NULL)
		print_error("want '%s' in:\n%s\n", want, err);
	assert_non_null(strstr(err, want));
	assert_int_equal(out[0], 0);
	/* refused before anything ran: no results file was even created */
	assert_int_not_equal(access(db, F_OK), 0);
	free(out);
	free(err);
	snprintf(cmd, sizeof cmd, "%s check %s", bin(), path);
	assert_int_equal(run(cmd, NULL, NULL), 2);
}

static void test_bad_input(void **state)
{
	(void)state;
	expect_refused("name: x\nmailboxes: [{name: a@b.c}]\nsenders:\n  - name: s\n"
		       "    mailbox: a@b.c\n    arrivals: {poisson: 5/h}\n    sesion: {connections: 2}\n",
		       "7:5: senders.s.sesion: unknown key 'sesion' (did you mean 'session'?)");
	expect_refused("name: x\nmailboxes: [{name: a@b.c}]\nsenders:\n  - name: s\n"
		       "    mailbox: nobody@b.c\n    arrivals: {poisson: 5/h}\n",
		       "5:14: senders.s.mailbox:");
	expect_refused("name: x\nmailboxes: [{name: a@b.c}]\nsenders:\n  - name: s\n"
		       "    mailbox: a@b.c\n    arrivals: {poisson: -5/h}\n",
		       "6:25: senders.s.arrivals.poisson:");
}

/* plan, against an answer known exactly: N instances each sending one
 * message every 60 s (random phase, no jitter) put exactly N messages in
 * every sliding minute of the mailbox.  In reject mode with a limit of 30 a
 * minute and no retry, nothing is lost for N <= 30 and the 31st message of
 * some minute is refused for N = 31; sessions last 2 us, so the 3-session
 * cap never refuses.  The largest N with lost == 0 is therefore 30. */
static void test_plan(void **state)
{
	(void)state;
	char path[512], cmd[2048];
	snprintf(path, sizeof path, "%s/plan.yaml", tmpdir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("name: plan\nduration: 2h\nseed: 3\nreplications: 2\n"
	      "limits: {message_rate_mode: reject}\n"
	      "mailboxes: [{name: shared@contoso.com}]\n"
	      "senders:\n  - name: app\n    count: 1\n    mailbox: shared@contoso.com\n"
	      "    arrivals: {periodic: 60s}\n"
	      "    session: {connect_time: 1us, submit_time: 1us}\n", f);
	fclose(f);
	char *out, *err;
	snprintf(cmd, sizeof cmd, "%s plan %s --vary senders.app.count --range 1..100 --largest"
		 " --target 'lost == 0' --quiet", bin(), path);
	int st = run(cmd, &out, &err);
	if (st != 0)
		print_error("%s\n", err);
	assert_int_equal(st, 0);
	if (strstr(out, "answer: senders.app.count = 30\n") == NULL)
		print_error("%s\n", out);
	assert_non_null(strstr(out, "answer: senders.app.count = 30\n"));
	assert_non_null(strstr(out, "senders.app.count = 31: target NOT met"));
	free(out);
	free(err);
	/* the smallest count with some loss is 31 */
	snprintf(cmd, sizeof cmd, "%s plan %s --vary senders.app.count --range 1..100"
		 " --target 'lost >= 1' --quiet", bin(), path);
	assert_int_equal(run(cmd, &out, NULL), 0);
	assert_non_null(strstr(out, "answer: senders.app.count = 31\n"));
	free(out);
	/* a target naming an unknown figure is a usage error that names it */
	snprintf(cmd, sizeof cmd, "%s plan %s --vary senders.app.count --range 1..10"
		 " --target 'lossage == 0'", bin(), path);
	assert_int_equal(run(cmd, NULL, &err), 2);
	assert_non_null(strstr(err, "unknown figure 'lossage'"));
	free(err);
}

/* A route whose concurrency refusal is 421 4.7.0 (the external preset):
 * the run's JSON, the stored rejections and the export carry that reply,
 * as given, never the first mailbox's 432 4.3.2. */
static void test_reply_as_given(void **state)
{
	(void)state;
	char cmd[1024], *out, *err;
	const char *want = "\"code\": 421, \"short\": \"421 4.7.0\", "
	                   "\"text\": \"421 4.7.0 Too many concurrent connections, try again later\", "
	                   "\"given\": true";
	snprintf(cmd, sizeof cmd, "rm -f %s/given.db; %s run tests/data/external-route.yaml --quiet"
	         " --db %s/given.db --format json --describe", tmpdir, bin(), tmpdir);
	assert_int_equal(run(cmd, &out, &err), 0);
	assert_non_null(strstr(out, want));
	assert_null(strstr(out, "432 4.3.2"));
	free(out);
	free(err);
	snprintf(cmd, sizeof cmd, "%s results export 1 --db %s/given.db --format json --describe", bin(), tmpdir);
	assert_int_equal(run(cmd, &out, &err), 0);
	assert_non_null(strstr(out, want));
	assert_null(strstr(out, "432 4.3.2"));
	free(out);
	free(err);
	/* every replication that refused for concurrency gave the 421 */
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	snprintf(cmd, sizeof cmd, "%s/given.db", tmpdir);
	assert_int_equal(sqlite3_open_v2(cmd, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT DISTINCT code, text FROM replies"
	                                    " WHERE reply_class = 'concurrency' AND replication >= 0", -1, &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 421);
	assert_string_equal((const char *)sqlite3_column_text(st, 1),
	                    "421 4.7.0 Too many concurrent connections, try again later");
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* One option parser for every command: -h and --help print usage on
 * standard output and exit 0 (before anything is opened or run); an
 * unknown option is named as unknown; a missing value as missing. */
static void test_help_and_options(void **state)
{
	(void)state;
	static const char *const cmds[] = { "run", "check", "demo", "plan", "results list",
	                                    "results show", "results export", "plot" };
	char cmd[1024], *out, *err;
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		for (int h = 0; h < 2; h++) {
			snprintf(cmd, sizeof cmd, "%s %s %s", bin(), cmds[i], h ? "-h" : "x --help");
			assert_int_equal(run(cmd, &out, &err), 0);
			assert_non_null(strstr(out, "usage: throttlesim "));
			assert_string_equal(err, "");
			free(out);
			free(err);
		}
		snprintf(cmd, sizeof cmd, "%s %s --no-such-option", bin(), cmds[i]);
		assert_int_equal(run(cmd, &out, &err), 2);
		assert_non_null(strstr(err, "unknown option '--no-such-option'"));
		free(out);
		free(err);
	}
	snprintf(cmd, sizeof cmd, "%s run scenarios/printers.yaml --seed", bin());
	assert_int_equal(run(cmd, &out, &err), 2);
	assert_non_null(strstr(err, "--seed needs a value"));
	free(out);
	free(err);
	/* --name=value is the same as --name value */
	snprintf(cmd, sizeof cmd, "%s run tests/data/minimal.yaml --replications=1 --duration=1h --quiet"
	         " --format=csv --db %s/eq.db", bin(), tmpdir);
	assert_int_equal(run(cmd, &out, &err), 0);
	assert_non_null(strstr(out, ",n,rep0\n"));
	free(out);
	free(err);
}

static void test_usage_errors(void **state)
{
	(void)state;
	char cmd[1024];
	char *out, *err;
	snprintf(cmd, sizeof cmd, "%s run /nonexistent/file.yaml", bin());
	assert_int_equal(run(cmd, &out, &err), 2);
	assert_non_null(strstr(err, "/nonexistent/file.yaml"));
	free(out);
	free(err);
	snprintf(cmd, sizeof cmd, "%s run scenarios/printers.yaml --format xml", bin());
	assert_int_equal(run(cmd, NULL, NULL), 2);
	snprintf(cmd, sizeof cmd, "%s run scenarios/printers.yaml --variant nosuch --db %s/v.db", bin(), tmpdir);
	assert_int_equal(run(cmd, NULL, &err), 2);
	assert_non_null(strstr(err, "nosuch"));
	free(err);
	snprintf(cmd, sizeof cmd, "%s --help", bin());
	assert_int_equal(run(cmd, &out, NULL), 0);
	assert_non_null(strstr(out, "usage: throttlesim"));
	free(out);
	snprintf(cmd, sizeof cmd, "%s frobnicate", bin());
	assert_int_equal(run(cmd, NULL, NULL), 2);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/throttlesim-cli-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped_scenarios_check_and_run),
		cmocka_unit_test(test_json_is_deterministic),
		cmocka_unit_test(test_identity_variant),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_reply_as_given),
		cmocka_unit_test(test_help_and_options),
		cmocka_unit_test(test_usage_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
