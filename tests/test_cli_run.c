/* test_cli_run.c - `run` through the built binary (THROTTLESIM_BIN):
 * --set KEY=VALUE applied to the base and every variant, winning over a
 * variant's own `set`, its errors naming the key "(from the command
 * line)" and storing nothing; the table's header; Ctrl-C (SIGINT) during a
 * run: at once, exit 130, a message saying what was done, and the run
 * marked as ended incomplete, never left looking as if it were going. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

static const char *bin(void)
{
	const char *b = getenv("THROTTLESIM_BIN");
	return b ? b : "build/debug/throttlesim";
}

static char tmpdir[256];

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

/* "BIN args" through the shell; stdout and stderr read back; exit status. */
static int run(const char *args, char **out, char **err)
{
	char line[8192];
	snprintf(line, sizeof line, "%s %s >%s/out 2>%s/err", bin(), args, tmpdir, tmpdir);
	int st = system(line);
	char path[512];
	snprintf(path, sizeof path, "%s/out", tmpdir);
	*out = slurp(path);
	snprintf(path, sizeof path, "%s/err", tmpdir);
	*err = slurp(path);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void assert_has(const char *text, const char *want)
{
	if (strstr(text, want) == NULL)
		print_error("missing '%s' in:\n%s\n", want, text);
	assert_non_null(strstr(text, want));
}

/* One integer from the store, -1 when the query gives no row. */
static int64_t query(const char *db, const char *sql)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v = -1;
	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_busy_timeout(h, 5000);
	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

/* A sender that sends one message every minute from 0:00 (periodic, phase
 * 0: no randomness), far below every limit: in 1 hour each instance
 * sends exactly 60 messages, all accepted.  A variant doubles the count. */
static const char periodic_yaml[] =
	"name: periodic\n"
	"duration: 1h\n"
	"mailboxes: [{name: m@contoso.com}]\n"
	"senders: [{name: app, mailbox: m@contoso.com, arrivals: {periodic: 1m, phase: 0s}}]\n"
	"variants:\n"
	"  - name: two\n"
	"    set: {senders.app.count: 2}\n";

/* The generated count of a variant in run's CSV: "VARIANT,total,total,
 * generated,msgs,MEAN,...". */
static void assert_generated(const char *csv, const char *variant, const char *mean)
{
	char want[128];
	snprintf(want, sizeof want, "\n%s,total,total,generated,msgs,%s,", variant, mean);
	assert_has(csv, want);
}

/* Without --set: base 60, two 120.  --set senders.app.count=5 applies to
 * the base and to the variant after its own `set`: 300 and 300.  Two
 * --set (count and arrivals every 30 s, as '{...}' flow YAML and in the
 * --set=K=V form): 3 x 120 = 360 for both. */
static void test_set_applied(void **state)
{
	(void)state;
	char path[512], args[2048], *out, *err;
	snprintf(path, sizeof path, "%s/periodic.yaml", tmpdir);
	write_file(path, periodic_yaml);
	snprintf(args, sizeof args, "run %s --replications 2 --quiet --format csv --db %s/set.db", path, tmpdir);
	assert_int_equal(run(args, &out, &err), 0);
	assert_generated(out, "base", "60");
	assert_generated(out, "two", "120");
	free(out);
	free(err);

	snprintf(args, sizeof args, "run %s --set senders.app.count=5 --replications 2 --quiet --format csv"
	         " --db %s/set.db", path, tmpdir);
	assert_int_equal(run(args, &out, &err), 0);
	assert_generated(out, "base", "300");
	assert_generated(out, "two", "300");
	free(out);
	free(err);

	snprintf(args, sizeof args, "run %s --set senders.app.count=3 '--set=senders.app.arrivals={periodic: 30s,"
	         " phase: 0s}' --replications 1 --quiet --format csv --db %s/set.db", path, tmpdir);
	assert_int_equal(run(args, &out, &err), 0);
	assert_generated(out, "base", "360");
	assert_generated(out, "two", "360");
	free(out);
	free(err);

	/* the store records the command line as given */
	char db[512];
	snprintf(db, sizeof db, "%s/set.db", tmpdir);
	assert_int_equal(query(db, "SELECT count(*) FROM runs WHERE command_line LIKE "
	                           "'%--set senders.app.count=3 --set=senders.app.arrivals={periodic: 30s, phase: 0s}%'"),
	                 1);
}

/* A bad key, a bad value, a missing '=', `variants`: exit 2, the key
 * named, "(from the command line)" at the end, and no run stored. */
static void test_set_errors(void **state)
{
	(void)state;
	char path[512], args[2048], db[512], *out, *err;
	snprintf(path, sizeof path, "%s/periodic.yaml", tmpdir);
	write_file(path, periodic_yaml);
	snprintf(db, sizeof db, "%s/seterr.db", tmpdir);
	static const struct { const char *set, *want; } cases[] = {
		{ "senders.app.cuont=3", ": senders.app.cuont: unknown key 'cuont' (did you mean 'count'?)"
		                         " (from the command line)\n" },
		{ "senders.app.count=x", ": senders.app.count: 'x' is not a whole number (from the command line)\n" },
		{ "variants=[]", ": variants: the variants and the sweep cannot be set from the command line"
		                 " (from the command line)\n" },
		{ "senders.app.count", "throttlesim run: --set: expected KEY=VALUE (senders.mfp.count=12), got "
		                       "'senders.app.count'\n" },
		{ "=3", "throttlesim run: --set: expected KEY=VALUE (senders.mfp.count=12), got '=3'\n" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(args, sizeof args, "run %s --set '%s' --quiet --db %s", path, cases[i].set, db);
		assert_int_equal(run(args, &out, &err), 2);
		assert_has(err, cases[i].want);
		assert_string_equal(out, "");
		free(out);
		free(err);
	}
	/* a bad value is reported once, not again for each variant */
	snprintf(args, sizeof args, "run %s --set senders.app.count=x --quiet --db %s", path, db);
	assert_int_equal(run(args, &out, &err), 2);
	assert_null(strstr(strstr(err, "(from the command line)") + 1, "(from the command line)"));
	free(out);
	free(err);
	assert_true(access(db, F_OK) != 0 || query(db, "SELECT count(*) FROM runs") == 0);
}

/* The header of run's table: 1 hour, 2 replications; 60 messages is a
 * total over the hour, not a daily figure. */
static void test_table_header(void **state)
{
	(void)state;
	char path[512], args[2048], *out, *err;
	snprintf(path, sizeof path, "%s/periodic.yaml", tmpdir);
	write_file(path, periodic_yaml);
	snprintf(args, sizeof args, "run %s --replications 2 --quiet --db %s/head.db", path, tmpdir);
	assert_int_equal(run(args, &out, &err), 0);
	assert_has(out, "\n== base: 1 hour simulated, 2 replications ===");
	assert_has(out, "\n== two: 1 hour simulated, 2 replications ===");
	assert_has(out, "\n  counts: totals over the 1 hour simulated, not per day\n");
	assert_has(out, "    generated   60 \xc2\xb1 0 ");
	free(out);
	free(err);
	snprintf(args, sizeof args, "run %s --duration 1d --replications 1 --quiet --db %s/head.db", path, tmpdir);
	assert_int_equal(run(args, &out, &err), 0);
	assert_has(out, "\n== base: 1 day simulated, 1 replication ===");
	assert_has(out, "\n  counts: totals over the 1 day simulated, so per day\n");
	assert_has(out, "    generated   1440 ");      /* 24 x 60, per day */
	free(out);
	free(err);
}

/* ---- Ctrl-C ---------------------------------------------------------------- */

/* Starts "BIN args" with stdout and stderr to files in tmpdir; its pid. */
static pid_t spawn(char *const *argv)
{
	char opath[512], epath[512];
	snprintf(opath, sizeof opath, "%s/int.out", tmpdir);
	snprintf(epath, sizeof epath, "%s/int.err", tmpdir);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int o = open(opath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(epath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(99);
		signal(SIGINT, SIG_DFL);
		execv(bin(), argv);
		_exit(98);
	}
	return pid;
}

static void sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&t, &t) != 0 && errno == EINTR)
		;
}

/* Waits (up to 60 s) until the store holds the run's row. */
static void wait_for_run(const char *db, pid_t pid)
{
	for (int i = 0; i < 1200; i++) {
		if (access(db, F_OK) == 0 && query(db, "SELECT count(*) FROM runs") > 0)
			return;
		int st;
		assert_int_equal(waitpid(pid, &st, WNOHANG), 0);   /* still running */
		sleep_ms(50);
	}
	fail_msg("the run never appeared in %s", db);
}

static int wait_exit(pid_t pid, char **err)
{
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	char path[512];
	snprintf(path, sizeof path, "%s/int.err", tmpdir);
	*err = slurp(path);
	if (!WIFEXITED(st))
		print_error("ended by signal %d; stderr:\n%s\n", WIFSIGNALED(st) ? WTERMSIG(st) : 0, *err);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* No run of the store looks as if it were still going: every run not
 * complete has its end time; and `results list` says so too. */
static void assert_nothing_running(const char *db)
{
	assert_int_equal(query(db, "SELECT count(*) FROM runs WHERE complete = 0 AND"
	                           " (finished_at IS NULL OR finished_at = '')"), 0);
	char args[1024], *out, *err;
	snprintf(args, sizeof args, "results list --db %s", db);
	assert_int_equal(run(args, &out, &err), 0);
	assert_null(strstr(out, "running"));
	assert_non_null(strstr(out, "interrupted"));
	free(out);
	free(err);
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* The run's row after Ctrl-C: there, not complete, with its end time,
 * and none of its results (a run is stored whole or not at all). */
static void assert_marked(const char *db)
{
	assert_int_equal(query(db, "SELECT count(*) FROM runs"), 1);
	assert_int_equal(query(db, "SELECT complete FROM runs WHERE id = 1"), 0);
	assert_int_equal(query(db, "SELECT count(*) FROM runs WHERE id = 1 AND finished_at LIKE '20%Z'"), 1);
	assert_int_equal(query(db, "SELECT count(*) FROM variants WHERE run_id = 1"), 0);
	assert_int_equal(query(db, "SELECT count(*) FROM replications WHERE run_id = 1"), 0);
	assert_nothing_running(db);
}

/* A run of 20,000 short replications (6 hours of one message a second:
 * milliseconds each) on two threads, SIGINT one second after its row is
 * in the store: it stops, says how many replications of each variant
 * were complete (N >= 1: many finish in a second) and which option gives
 * them again, marks the run and exits 130. */
static void test_interrupt_says_what_was_done(void **state)
{
	(void)state;
	char path[512], db[512];
	snprintf(path, sizeof path, "%s/fast.yaml", tmpdir);
	write_file(path, "name: fast\nduration: 6h\nmailboxes: [{name: m@contoso.com}]\n"
	                 "senders: [{name: app, mailbox: m@contoso.com, arrivals: {periodic: 1s, phase: 0s}}]\n"
	                 "variants: [{name: two, set: {senders.app.count: 2}}]\n");
	snprintf(db, sizeof db, "%s/int1.db", tmpdir);
	char *argv[] = { (char *)bin(), "run", path, "--replications", "20000", "--jobs", "2",
	                 "--db", db, NULL };
	pid_t pid = spawn(argv);
	wait_for_run(db, pid);
	sleep_ms(1000);
	assert_int_equal(kill(pid, SIGINT), 0);
	char *err;
	assert_int_equal(wait_exit(pid, &err), 130);
	assert_has(err, "throttlesim: interrupted: stopping\n");
	unsigned long kept = 0, again = 0, again2 = 0;
	char tail[512];
	const char *m = strstr(err, "throttlesim: interrupted: stopping\n");
	m += strlen("throttlesim: interrupted: stopping\n");
	int got = sscanf(m, "throttlesim: interrupted: %lu of 20000 replications of each of the 2 variants were"
	                 " complete; nothing stored (a run is stored whole): run 1 is marked incomplete in %511[^\n]",
	                 &kept, tail);
	if (got != 2)
		print_error("%s\n", err);
	assert_int_equal(got, 2);
	assert_string_equal(tail, db);
	assert_true(kept >= 1 && kept < 20000);
	m = strstr(m, "\nthrottlesim: the same command");
	assert_non_null(m);
	assert_int_equal(sscanf(m, "\nthrottlesim: the same command with --replications %lu gives those %lu again"
	                        " (the same seeds)", &again, &again2), 2);
	assert_int_equal(again, kept);
	assert_int_equal(again2, kept);
	assert_marked(db);
	free(err);
}

/* One thread, a base whose first replication is long (a year of one
 * message every 10 s: tens of seconds) and a variant: SIGINT while it
 * runs stops the run at once (the replication under way is not waited
 * for), nothing is complete, the run is marked, exit 130. */
static void test_interrupt_does_not_wait(void **state)
{
	(void)state;
	char path[512], db[512];
	snprintf(path, sizeof path, "%s/slow.yaml", tmpdir);
	write_file(path, "name: slow\nduration: 365d\nmailboxes: [{name: m@contoso.com}]\n"
	                 "senders: [{name: app, mailbox: m@contoso.com, arrivals: {periodic: 10s, phase: 0s}}]\n"
	                 "variants: [{name: two, set: {senders.app.count: 2}}]\n");
	snprintf(db, sizeof db, "%s/int2.db", tmpdir);
	char *argv[] = { (char *)bin(), "run", path, "--replications", "2", "--jobs", "1", "--db", db, NULL };
	pid_t pid = spawn(argv);
	wait_for_run(db, pid);
	sleep_ms(300);
	double t0 = now_s();
	assert_int_equal(kill(pid, SIGINT), 0);
	char *err;
	assert_int_equal(wait_exit(pid, &err), 130);
	double took = now_s() - t0;
	if (took > 3)
		print_error("took %.1f s after SIGINT\n", took);
	assert_true(took < 3);
	assert_has(err, "throttlesim: interrupted before each of the 2 variants had a complete replication;"
	                " nothing stored (a run is stored whole): run 1 is marked incomplete in ");
	assert_null(strstr(err, "--replications"));
	assert_marked(db);
	free(err);
	char out_path[512];
	snprintf(out_path, sizeof out_path, "%s/int.out", tmpdir);
	char *out = slurp(out_path);
	assert_string_equal(out, "");
	free(out);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/throttlesim-run-XXXXXX");
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
		cmocka_unit_test(test_set_applied),
		cmocka_unit_test(test_set_errors),
		cmocka_unit_test(test_table_header),
		cmocka_unit_test(test_interrupt_says_what_was_done),
		cmocka_unit_test(test_interrupt_does_not_wait),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
