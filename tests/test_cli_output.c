/* test_cli_output.c - what the command line prints, through the built
 * binary (THROTTLESIM_BIN): names and paths from a hostile store or
 * command line reach the terminal sanitised (term.h) in listings, records
 * and error messages; every CSV neutralises formulas; output that cannot
 * be written is a failure with a message; --duration and --seed say which
 * bound they break, the same bound as the scenario file's. */
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

/* Runs "BIN args" through the shell with stdout to out_to (NULL: a file
 * read back into *out) and stderr read back into *err; the exit status. */
static int run_to(const char *args, const char *out_to, char **out, char **err)
{
	char line[8192], opath[512], epath[512];
	snprintf(opath, sizeof opath, "%s/out", tmpdir);
	snprintf(epath, sizeof epath, "%s/err", tmpdir);
	snprintf(line, sizeof line, "%s %s >%s 2>%s", bin(), args, out_to ? out_to : opath, epath);
	int st = system(line);
	if (out)
		*out = out_to ? NULL : slurp(opath);
	if (err)
		*err = slurp(epath);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int run(const char *args, char **out, char **err)
{
	return run_to(args, NULL, out, err);
}

/* Nothing a terminal obeys: no C0 control but tab and newline, no DEL, no
 * C1 control (U+0080-U+009F, UTF-8 c2 80-9f), no byte of broken UTF-8. */
static void assert_terminal_safe(const char *what, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		size_t n = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 :
		           (*p & 0xf8) == 0xf0 ? 4 : 0;
		bool ok = n > 0 && (*p >= 0x20 || *p == '\t' || *p == '\n') && *p != 0x7f &&
		          !(p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f);
		for (size_t i = 1; ok && i < n; i++)
			ok = (p[i] & 0xc0) == 0x80;
		if (!ok) {
			print_error("%s: byte 0x%02x at offset %zu in:\n%s\n", what, *p,
			            (size_t)((const char *)p - s), s);
			fail();
		}
		p += n;
	}
}

/* A store with one run of the minimal scenario whose names, paths and
 * command line are then rewritten to carry terminal controls, and a
 * formula for a spreadsheet.  Returns its path in db. */
static void hostile_store(char *db, size_t size)
{
	snprintf(db, size, "%s/hostile.db", tmpdir);
	unlink(db);
	char args[1024];
	snprintf(args, sizeof args, "run tests/data/minimal.yaml --quiet --replications 1 --duration 1h"
	         " --format csv --db %s", db);
	char *err;
	int st = run(args, NULL, &err);
	if (st != 0)
		print_error("%s\n", err);
	assert_int_equal(st, 0);
	free(err);
	sqlite3 *h = NULL;
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	static const char *const sql =
		"UPDATE runs SET scenario_name = 'scen' || char(27) || '[31m' || char(7),"
		"  scenario_file = 'file' || char(27) || ']0;title' || char(7),"
		"  command_line = 'cmd' || char(155) || '2J' || char(13) || 'cr' || char(127),"
		"  program_version = 'v' || char(8);"
		"UPDATE variants SET name = '=HYPERLINK(1)' || char(27) || '[2J';"
		/* (a store of schema 3 names each entity there only) */
		"UPDATE entities SET name = '@SUM(1)' || char(27) || 'c' WHERE entity_kind = 'group';";
	char *msg = NULL;
	if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK)
		print_error("%s\n", msg);
	assert_null(msg);
	sqlite3_close(h);
}

/* results list and results show print a hostile store's names, paths and
 * command line with every control as '?', and the run's table too. */
static void test_results_sanitised(void **state)
{
	(void)state;
	char db[512], args[1024], *out, *err;
	hostile_store(db, sizeof db);
	snprintf(args, sizeof args, "results list --db %s", db);
	assert_int_equal(run(args, &out, &err), 0);
	assert_terminal_safe("results list", out);
	assert_non_null(strstr(out, "scen?[31m?"));
	free(out);
	free(err);
	snprintf(args, sizeof args, "results show last --db %s", db);
	assert_int_equal(run(args, &out, &err), 0);
	assert_terminal_safe("results show", out);
	assert_non_null(strstr(out, "file?]0;title?"));
	assert_non_null(strstr(out, "cmd?2J?cr?"));     /* C1 CSI, CR and DEL */
	assert_non_null(strstr(out, "=HYPERLINK(1)?[2J"));
	assert_non_null(strstr(out, "@SUM(1)?c"));
	assert_non_null(strstr(out, "throttlesim v?"));
	free(out);
	free(err);
}

/* Error messages carry names and paths from the command line and the
 * files: sanitised in every command. */
static void test_errors_sanitised(void **state)
{
	(void)state;
	static const char *const cmds[] = {
		"check '/nonexistent/a\033[31m\007b.yaml'",
		"run '/nonexistent/a\033[31m\007b.yaml'",
		"run tests/data/minimal.yaml --variant 'v\033]0;x\007' --db /nonexistent/x.db",
		"run tests/data/minimal.yaml --format 'x\033[2J'",
		"run tests/data/minimal.yaml --seed 'x\233' --db /nonexistent/x.db",
		"run tests/data/minimal.yaml --duration '1\033h'",
		"run tests/data/minimal.yaml '--bogus\033[2J'",
		"results list --db '/nonexistent/\033[2J.db'",
		"results show 'x\033[2J' --db /nonexistent/x.db",
		"results 'x\033[2J'",
		"plan '/nonexistent/\033[2J' --vary a --range 1..2 --target 'lost == 0'",
		"plan tests/data/minimal.yaml --vary a --range 1..2 --target 'lost\033 == 0'",
		"'frob\033[2J'",
	};
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		char *out, *err;
		int st = run(cmds[i], &out, &err);
		assert_int_not_equal(st, 0);
		assert_true(err[0] != '\0');
		assert_terminal_safe(cmds[i], err);
		assert_terminal_safe(cmds[i], out);
		free(out);
		free(err);
	}
}

/* results export --format csv of the hostile store: the variant and group
 * names begin with '=' and '@', so they are text ('= ... quoted). */
static void test_export_csv_formula(void **state)
{
	(void)state;
	char db[512], args[1024], *out, *err;
	hostile_store(db, sizeof db);
	snprintf(args, sizeof args, "results export last --format csv --db %s", db);
	assert_int_equal(run(args, &out, &err), 0);
	assert_non_null(strstr(out, "\n\"'=HYPERLINK(1)\033[2J\",total,total,generated,msgs,"));
	assert_non_null(strstr(out, ",group,\"'@SUM(1)\033c\",generated,msgs,"));
	for (const char *p = out; *p; p++)
		if (p == out || p[-1] == ',' || p[-1] == '\n')
			assert_null(strchr("=+@\t\r", *p) && *p ? p : NULL);
	free(out);
	free(err);
}

/* Output that cannot be written is a failure, with a message, whatever
 * the command (`check FILE >/dev/full` used to exit 0). */
static void test_output_cannot_be_written(void **state)
{
	(void)state;
	if (access("/dev/full", W_OK) != 0) {
		skip();
	}
	char db[512], args[1024], *err;
	hostile_store(db, sizeof db);
	const char *cmds[] = { "check scenarios/printers.yaml", "check --help", "run --help", "demo --help",
	                       "--help", "--version", "results list --db DB", "results show last --db DB",
	                       "results export last --format json --db DB", "plan --help" };
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		const char *at = strstr(cmds[i], "DB");
		if (at)
			snprintf(args, sizeof args, "%.*s%s", (int)(at - cmds[i]), cmds[i], db);
		else
			snprintf(args, sizeof args, "%s", cmds[i]);
		int st = run_to(args, "/dev/full", NULL, &err);
		if (st != 1)
			print_error("%s: exit %d, stderr:\n%s\n", args, st, err);
		assert_int_equal(st, 1);
		assert_non_null(strstr(err, "No space left on device"));
		free(err);
	}
	/* a usage error stays a usage error (2) */
	assert_int_equal(run_to("check /nonexistent/x.yaml scenarios/printers.yaml", "/dev/full", NULL, &err), 2);
	assert_non_null(strstr(err, "No space left on device"));
	free(err);
}

/* --duration names the bound it breaks: 100 years (UNIT_MAX_DURATION_NS);
 * 0 is too short; and plan, which shares the option, says the same. */
static void test_duration_bound(void **state)
{
	(void)state;
	char *out, *err;
	assert_int_equal(run("run tests/data/minimal.yaml --duration 1000y --db /nonexistent/x.db", &out, &err), 2);
	assert_non_null(strstr(err, "--duration: duration '1000y' exceeds the bound of 100 years"));
	assert_null(strstr(err, "positive"));
	free(out);
	free(err);
	assert_int_equal(run("plan tests/data/minimal.yaml --vary senders.app.count --range 1..2"
	                     " --target 'lost == 0' --duration 101y", &out, &err), 2);
	assert_non_null(strstr(err, "exceeds the bound of 100 years"));
	free(out);
	free(err);
	assert_int_equal(run("run tests/data/minimal.yaml --duration 0 --db /nonexistent/x.db", &out, &err), 2);
	assert_non_null(strstr(err, "--duration: must be longer than 0"));
	free(out);
	free(err);
	assert_int_equal(run("run tests/data/minimal.yaml --duration 5x --db /nonexistent/x.db", &out, &err), 2);
	assert_non_null(strstr(err, "unknown time unit 'x'"));
	free(out);
	free(err);
}

/* The seed's bound is 2^63 - 1 = 9223372036854775807 in the file and with
 * --seed alike: the largest is accepted by both, one more refused by both. */
static void test_seed_bound(void **state)
{
	(void)state;
	char path[512], args[1024], *out, *err;
	static const char *const seeds[2] = { "9223372036854775807", "9223372036854775808" };
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof path, "%s/seed%d.yaml", tmpdir, i);
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fprintf(f, "seed: %s\nduration: 1h\nmailboxes: [{name: m@contoso.com}]\n"
		        "senders: [{name: app, mailbox: m@contoso.com, arrivals: {poisson: 10/h}}]\n", seeds[i]);
		fclose(f);
		snprintf(args, sizeof args, "check %s", path);
		assert_int_equal(run(args, &out, &err), i == 0 ? 0 : 2);
		free(out);
		free(err);
		snprintf(args, sizeof args, "run tests/data/minimal.yaml --duration 1h --seed %s --quiet"
		         " --format json --db %s/seed.db", seeds[i], tmpdir);
		assert_int_equal(run(args, &out, &err), i == 0 ? 0 : 2);
		if (i == 0)
			assert_non_null(strstr(out, "\"seed\": 9223372036854775807"));
		else
			assert_non_null(strstr(err, "--seed: expected an integer in [0, 9223372036854775807]"));
		free(out);
		free(err);
	}
}

/* Help on standard output, exit 0, for every command and subcommand, by
 * --help and by -h alike; an unknown option is named as unknown, never as
 * missing a value. */
static void test_help_everywhere(void **state)
{
	(void)state;
	static const char *const cmds[] = { "run", "check", "demo", "plan", "plot", "results",
	                                    "results list", "results show", "results export", "serve", "token",
	                                    "profile", "load", "report" };
	char args[256], *out, *err;
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		char *first = NULL;
		for (int form = 0; form < 2; form++) {
			snprintf(args, sizeof args, "%s %s", cmds[i], form ? "-h" : "--help");
			assert_int_equal(run(args, &out, &err), 0);
			assert_non_null(strstr(out, "usage: throttlesim "));
			assert_string_equal(err, "");
			if (form == 0)
				first = out;
			else {
				assert_string_equal(out, first);   /* -h is --help */
				free(out);
				free(first);
			}
			free(err);
		}
		for (int form = 0; form < 2; form++) {
			if (strcmp(cmds[i], "results") == 0)
				continue;   /* wants a subcommand first */
			snprintf(args, sizeof args, "%s %s", cmds[i], form ? "--bogus=1" : "-z");
			assert_int_equal(run(args, &out, &err), 2);
			assert_non_null(strstr(err, form ? "unknown option '--bogus'" : "unknown option '-z'"));
			assert_null(strstr(err, "needs a value"));
			free(out);
			free(err);
		}
	}
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/throttlesim-out-XXXXXX");
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
		cmocka_unit_test(test_results_sanitised),
		cmocka_unit_test(test_errors_sanitised),
		cmocka_unit_test(test_export_csv_formula),
		cmocka_unit_test(test_output_cannot_be_written),
		cmocka_unit_test(test_duration_bound),
		cmocka_unit_test(test_seed_bound),
		cmocka_unit_test(test_help_everywhere),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
