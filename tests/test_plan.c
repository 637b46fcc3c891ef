/* test_plan.c - `throttlesim plan` through the built binary
 * (THROTTLESIM_BIN, set by `make test`): the target expression (and binds
 * tighter than or, parentheses, percentages, errors with their column),
 * "did you mean" on figures and entities, exit status 1 when no value
 * meets the target, the too-close-to-call rule on intervals whose width is
 * known, the binding limit and --entity, each on a scenario whose figures
 * are worked out by hand.
 *
 * The scenarios are periodic senders (one message a minute each, a phase
 * of their own, no jitter) over two hours: an instance generates exactly
 * 7200 / 60 = 120 messages, so every count below is exact.  Each plan is
 * a few replications of two hours of a handful of senders: well under a
 * second.
 */
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

static const char *bin(void)
{
	const char *b = getenv("THROTTLESIM_BIN");
	return b ? b : "build/debug/throttlesim";
}

static char tmpdir[256];

/* Runs `bin ARGS` (ARGS a printf format), capturing stdout and stderr in
 * malloc'd strings (NULL: not wanted); returns the exit status. */
static int run(char **out, char **err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int run(char **out, char **err, const char *fmt, ...)
{
	char args[2048], line[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof args, fmt, ap);
	va_end(ap);
	snprintf(line, sizeof line, "%s %s >%s/out 2>%s/err", bin(), args, tmpdir, tmpdir);
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

static void expect_in(const char *text, const char *want)
{
	if (strstr(text, want) == NULL)
		fail_msg("missing \"%s\" in:\n%s", want, text);
}

static void expect_not_in(const char *text, const char *want)
{
	if (strstr(text, want) != NULL)
		fail_msg("unexpected \"%s\" in:\n%s", want, text);
}

static char rate_yaml[512], conc_yaml[512], ent_yaml[512], poisson_yaml[512];

static void write_file(char *path, size_t size, const char *name, const char *text)
{
	snprintf(path, size, "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/test_plan.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	/* rate: N senders put exactly N messages in every sliding minute of
	 * the mailbox; in reject mode with 30 a minute and no retry the 31st
	 * of each minute is refused (450 4.7.0) and lost: at N = 31, 120
	 * refusals and 120 losses of 31 x 120 = 3720 generated (3.2258%).
	 * Sessions of 2 us never meet the 3-session cap. */
	write_file(rate_yaml, sizeof rate_yaml, "rate.yaml",
	           "name: rate\nduration: 2h\nseed: 3\nreplications: 2\n"
	           "limits: {message_rate_mode: reject}\n"
	           "mailboxes: [{name: shared@contoso.com}]\n"
	           "senders:\n  - name: app\n    count: 1\n    mailbox: shared@contoso.com\n"
	           "    arrivals: {periodic: 60s}\n"
	           "    session: {connect_time: 1us, submit_time: 1us}\n");
	/* concurrency, few devices against many: each device's session lasts
	 * 50 s of its minute.  Three never make a fourth session, so nothing
	 * is refused; with four, the four 50 s arcs on the 60 s circle leave
	 * gaps of 10 s each, 40 s in all, so some instant is covered by all
	 * four, and since AUTH refuses a fourth session (432 4.3.2) some
	 * arrival is refused every minute and lost (no retry).  Four messages
	 * a minute are far below the rate limit of 30. */
	write_file(conc_yaml, sizeof conc_yaml, "conc.yaml",
	           "name: conc\nduration: 2h\nseed: 3\nreplications: 2\n"
	           "limits: {concurrency_check: auth}\n"
	           "mailboxes: [{name: scans@contoso.com}]\n"
	           "senders:\n  - name: mfp\n    count: 1\n    mailbox: scans@contoso.com\n"
	           "    arrivals: {periodic: 60s}\n"
	           "    session: {connect_time: 1us, submit_time: 50s}\n");
	/* two groups on one mailbox: app (N instances) generates 120 N,
	 * healthy 120, the mailbox 120 (N + 1) */
	write_file(ent_yaml, sizeof ent_yaml, "ent.yaml",
	           "name: ent\nduration: 2h\nseed: 3\nreplications: 2\n"
	           "mailboxes: [{name: shared@contoso.com}]\n"
	           "senders:\n"
	           "  - name: app\n    count: 1\n    mailbox: shared@contoso.com\n"
	           "    arrivals: {periodic: 60s}\n"
	           "    session: {connect_time: 1us, submit_time: 1us}\n"
	           "  - name: healthy\n    count: 1\n    mailbox: shared@contoso.com\n"
	           "    arrivals: {periodic: 60s}\n"
	           "    session: {connect_time: 1us, submit_time: 1us}\n");
	/* generated varies from replication to replication */
	write_file(poisson_yaml, sizeof poisson_yaml, "poisson.yaml",
	           "name: poisson\nduration: 1h\nseed: 11\nreplications: 2\n"
	           "mailboxes: [{name: m@contoso.com}]\n"
	           "senders:\n  - name: app\n    count: 1\n    mailbox: m@contoso.com\n"
	           "    arrivals: {poisson: 600/h}\n"
	           "    session: {connect_time: 1us, submit_time: 1us}\n");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* and binds tighter than or: at one sender, generated 120, accepted 120,
 * lost 0.  'accepted >= 100 or lost >= 1 and generated < 0' is T or (F
 * and F) = met; read left to right, (T or F) and F, it would not be. */
static void test_precedence(void **state)
{
	(void)state;
	char *out, *err;
	const char *base = "plan %s --vary senders.app.count --range 1..1 -q --target '%s'";
	assert_int_equal(run(&out, NULL, base, rate_yaml, "accepted >= 100 or lost >= 1 and generated < 0"), 0);
	expect_in(out, "with accepted >= 100 or (lost >= 1 and generated < 0) (");
	expect_in(out, "answer: senders.app.count = 1\n");
	free(out);
	/* the same with parentheses: (T or F) and F = not met, exit 1 */
	assert_int_equal(run(&out, &err, base, rate_yaml, "(accepted >= 100 or lost >= 1) and generated < 0"), 1);
	expect_in(out, "with (accepted >= 100 or lost >= 1) and generated < 0 (");
	expect_in(out, "no value in [1, 1] meets the target");
	free(out);
	free(err);
	/* && and || are and and or; a chain of one operator needs no parentheses */
	assert_int_equal(run(&out, NULL, base, rate_yaml,
	                     "lost >= 1 || lost == 0 && (generated == 120 && accepted == 120)"), 0);
	expect_in(out, "with lost >= 1 or (lost == 0 and generated == 120 and accepted == 120) (");
	free(out);
	/* F or F or (T and T): nested parentheses */
	assert_int_equal(run(&out, NULL, base, rate_yaml,
	                     "((lost >= 1) or (generated < 120 or (generated > 120))) or (accepted >= 120 and lost <= 0)"), 0);
	free(out);
}

/* lost < P% compares 100 lost / generated: 120 / 3720 = 3.2258% at 31. */
static void test_percentages(void **state)
{
	(void)state;
	char *out, *err;
	const char *base = "plan %s --vary senders.app.count --range 31..31 -q --target '%s'";
	assert_int_equal(run(&out, NULL, base, rate_yaml, "lost < 3.23%"), 0);
	expect_in(out, "lost (% of generated)        3.226% ± 0%");
	expect_in(out, "< 3.23%: met");
	free(out);
	assert_int_equal(run(&out, &err, base, rate_yaml, "lost < 3.22%"), 1);
	expect_in(out, "< 3.22%: not met");
	free(out);
	free(err);
	/* a figure in % takes a percentage as it is: the same answer */
	assert_int_equal(run(&out, NULL, base, rate_yaml, "lost_pct < 3.23%"), 0);
	free(out);
	assert_int_equal(run(&out, &err, base, rate_yaml, "lost_pct < 3.22"), 1);
	free(out);
	free(err);
	/* accepted: 3600 of 3720, 96.77% */
	assert_int_equal(run(&out, NULL, base, rate_yaml, "accepted >= 96.7% and accepted < 96.8%"), 0);
	free(out);
	/* a percentage of a delay means nothing */
	assert_int_equal(run(NULL, &err, base, rate_yaml, "delivery_delay_p95 < 5%"), 2);
	expect_in(err, "column 22: a percentage applies to a message count (of generated), a figure in % or"
	               " a fraction; delivery_delay_p95 is in s");
	free(err);
}

/* Errors name the column and put a caret under it. */
static void test_errors(void **state)
{
	(void)state;
	static const struct { const char *target, *msg; } cases[] = {
		{ "lost >= 1 or (lost < 1", "column 14: this '(' is never closed\n"
		                            "  lost >= 1 or (lost < 1\n"
		                            "               ^\n" },
		{ "lost >= 1 and", "column 14: expected a figure name, found the end\n" },
		{ "lost => 1", "column 6: expected <=, <, >=, >, == or != after 'lost'\n" },
		{ "lost == 0 lost", "column 11: expected 'and', 'or' or the end\n" },
		{ "lost == 0)", "column 10: ')' without its '('\n" },
		{ "lost < 5x", "column 8: '5x' is not a number\n" },
		{ "delivery_delay_p95 < 5q", "column 22: '5q' is not a number or a duration\n" },
		{ "lost <", "column 7: expected a value after 'lost <'\n" },
		{ "(lost == 0) and ()", "column 18: expected a figure name or '('\n" },
		{ "lost % 3", "column 6: expected <=" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *err;
		int st = run(NULL, &err, "plan %s --vary senders.app.count --range 1..2 --target '%s'",
		             rate_yaml, cases[i].target);
		if (st != 2)
			fail_msg("'%s': status %d, not 2", cases[i].target, st);
		char want[512];
		snprintf(want, sizeof want, "throttlesim plan: --target: %s", cases[i].msg);
		expect_in(err, want);
		free(err);
	}
}

/* A misspelt figure or entity gets the nearest name. */
static void test_did_you_mean(void **state)
{
	(void)state;
	char *err;
	const char *base = "plan %s --vary senders.app.count --range 1..2 --target '%s' %s";
	assert_int_equal(run(NULL, &err, base, ent_yaml, "lsot == 0", ""), 2);
	expect_in(err, "column 1: unknown figure 'lsot' (did you mean 'lost'?)");
	free(err);
	/* in the order people say it, misspelt */
	assert_int_equal(run(NULL, &err, base, ent_yaml, "lost == 0 and p95_delivery_dealy <= 1m", ""), 2);
	expect_in(err, "column 15: unknown figure 'p95_delivery_dealy' (did you mean 'delivery_delay_p95'?)");
	free(err);
	assert_int_equal(run(NULL, &err, base, ent_yaml, "retries_per_mgs < 1", ""), 2);
	expect_in(err, "(did you mean 'retries_per_msg'?)");
	free(err);
	/* nothing near: no suggestion */
	assert_int_equal(run(NULL, &err, base, ent_yaml, "lossage == 0", ""), 2);
	expect_in(err, "unknown figure 'lossage' (the figures are listed in docs/RESULTS.md)");
	free(err);
	assert_int_equal(run(NULL, &err, base, ent_yaml, "lost == 0", "--entity helthy"), 2);
	expect_in(err, "--entity: no sender group or mailbox named 'helthy' (did you mean 'healthy'?)");
	free(err);
	assert_int_equal(run(NULL, &err, base, ent_yaml, "lost == 0", "--entity shared@contoso.co"), 2);
	expect_in(err, "(did you mean 'shared@contoso.com'?)");
	free(err);
	assert_int_equal(run(NULL, &err, base, ent_yaml, "lost == 0", "--entity mailbox:app"), 2);
	expect_in(err, "--entity: no mailbox named 'app'");
	free(err);
}

/* Exit status 1, with a message, when no value of the range meets the
 * target: nothing is lost below 31 senders, and at 31 or more some is. */
static void test_nothing_meets(void **state)
{
	(void)state;
	char *out, *err;
	assert_int_equal(run(&out, &err, "plan %s --vary senders.app.count --range 1..10 -q --target 'lost >= 1'",
	                     rate_yaml), 1);
	expect_in(out, "no value in [1, 10] meets the target; at senders.app.count = 10:\n");
	expect_in(err, "throttlesim plan: no value of senders.app.count in [1, 10] meets the target\n");
	expect_not_in(out, "answer:");
	free(out);
	free(err);
	/* --largest: the bottom of the range already fails */
	assert_int_equal(run(&out, &err, "plan %s --vary senders.app.count --range 31..40 --largest -q"
	                     " --target 'lost == 0'", rate_yaml), 1);
	expect_in(out, "no value in [31, 40] meets the target; at senders.app.count = 31:\n");
	/* and says what binds there */
	expect_in(out, "binding at 31: message_rate (450 4.7.0), 120 refusals per replication,"
	               " 120 messages lost after it\n");
	free(out);
	free(err);
	/* the answer itself is 30 (test_cli's plan), exit 0 */
	assert_int_equal(run(&out, NULL, "plan %s --vary senders.app.count --range 1..100 --largest -q"
	                     " --target 'lost == 0'", rate_yaml), 0);
	expect_in(out, "answer: senders.app.count = 30\n");
	expect_in(out, "uncertainty: every step was clear of the target at 95% confidence\n");
	free(out);
}

/* The binding limit at the failing neighbour: the message rate for many
 * short sessions, the concurrency cap for a few long ones. */
static void test_binding(void **state)
{
	(void)state;
	char *out;
	assert_int_equal(run(&out, NULL, "plan %s --vary senders.app.count --range 1..100 --largest -q"
	                     " --target 'lost == 0'", rate_yaml), 0);
	expect_in(out, "answer: senders.app.count = 30\n");
	expect_in(out, "binding at 31: message_rate (450 4.7.0), 120 refusals per replication,"
	               " 120 messages lost after it\n");
	free(out);
	assert_int_equal(run(&out, NULL, "plan %s --vary senders.mfp.count --range 1..10 --largest -q"
	                     " --target 'lost == 0'", conc_yaml), 0);
	expect_in(out, "answer: senders.mfp.count = 3\n");
	expect_in(out, "binding at 4: concurrency (432 4.3.2), ");
	free(out);
	/* at the answer's neighbour of a target met by losing: nothing
	 * refuses at 30, and the output says so */
	assert_int_equal(run(&out, NULL, "plan %s --vary senders.app.count --range 1..100 -q"
	                     " --target 'lost >= 1'", rate_yaml), 0);
	expect_in(out, "answer: senders.app.count = 31\n");
	expect_in(out, "binding at 30: none; no limit refuses anything there");
	free(out);
}

/* --entity judges one sender group's or mailbox's figures: generated >=
 * 600 is first met by app at N = 5 (120 N), by the mailbox and the whole
 * scenario at N = 4 (120 (N + 1)), and never by healthy (120). */
static void test_entity(void **state)
{
	(void)state;
	static const struct { const char *opt; int status; const char *want; } cases[] = {
		{ "", 0, "answer: senders.app.count = 4\n" },
		{ "--entity app", 0, "answer: senders.app.count = 5\n" },
		{ "--entity group:app", 0, "answer: senders.app.count = 5\n" },
		{ "--entity shared@contoso.com", 0, "answer: senders.app.count = 4\n" },
		{ "--entity mailbox:shared@contoso.com", 0, "(mailbox shared@contoso.com; 2 replications each)" },
		{ "--entity healthy", 1, "no value in [1, 20] meets the target" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *out, *err;
		int st = run(&out, &err, "plan %s --vary senders.app.count --range 1..20 -q --target"
		             " 'generated >= 600' %s", ent_yaml, cases[i].opt);
		if (st != cases[i].status)
			fail_msg("'%s': status %d, not %d\n%s", cases[i].opt, st, cases[i].status, err);
		expect_in(out, cases[i].want);
		free(out);
		free(err);
	}
	char *out;
	assert_int_equal(run(&out, NULL, "plan %s --vary senders.app.count --range 1..20 -q --target"
	                     " 'generated >= 600' --entity app", ent_yaml), 0);
	expect_in(out, "(sender group app; 2 replications each)");
	/* the neighbour: 4 instances, 480 messages of app's */
	expect_in(out, "senders.app.count = 4: target NOT met\n    generated                    480 ± 0 ");
	free(out);
	/* a mailbox-only figure for the whole scenario is never met: noted */
	char *err;
	assert_int_equal(run(&out, &err, "plan %s --vary senders.app.count --range 1..2 -q --target"
	                     " 'at_limit_frac >= 0'", ent_yaml), 1);
	expect_in(err, "note: at_limit_frac is not defined for the whole scenario");
	free(out);
	free(err);
	assert_int_equal(run(&out, NULL, "plan %s --vary senders.app.count --range 1..2 -q --target"
	                     " 'at_limit_frac >= 0%%' --entity shared@contoso.com", ent_yaml), 0);
	free(out);
}

/* The replications' values of `generated` for the whole scenario, from
 * run's CSV (rep0, rep1: the last two columns). */
static void generated_per_rep(double *x0, double *x1)
{
	char *out, *err;
	char db[600];
	snprintf(db, sizeof db, "%s/p.db", tmpdir);
	assert_int_equal(run(&out, &err, "run %s --format csv -q --db %s", poisson_yaml, db), 0);
	const char *row = strstr(out, ",generated,msgs,");
	assert_non_null(row);
	const char *start = row;
	while (start > out && start[-1] != '\n')
		start--;
	assert_int_equal(strncmp(start, "base,total,", 11), 0);
	const char *eol = strchr(row, '\n');
	assert_non_null(eol);
	char line[512];
	size_t n = (size_t)(eol - start);
	assert_true(n < sizeof line);
	memcpy(line, start, n);
	line[n] = 0;
	char *c1 = strrchr(line, ',');
	assert_non_null(c1);
	*x1 = strtod(c1 + 1, NULL);
	*c1 = 0;
	char *c0 = strrchr(line, ',');
	assert_non_null(c0);
	*x0 = strtod(c0 + 1, NULL);
	free(out);
	free(err);
}

/* Too close to call, on intervals known exactly.  With two replications
 * x0 != x1 (d = |x0 - x1|), the mean is m = (x0 + x1) / 2 and the 95%
 * half-width t(0.975, 1) s / sqrt(2) with s = d / sqrt(2), so
 * h = 12.706 d / 2 = 6.353 d.  'generated >= T' is then met surely for
 * T <= m - h, not met surely for T > m + h, and too close to call between:
 * T = m (met by the mean), m + 6.3 d (not met by the mean) and
 * m - 6.3 d are too close; m + 6.4 d is surely not met; m - 6.4 d surely
 * met. */
static void test_too_close(void **state)
{
	(void)state;
	double x0, x1;
	generated_per_rep(&x0, &x1);
	/* Poisson counts of mean 600: two equal ones are rare, and would make
	 * the interval 0 wide; then this test has nothing to show */
	assert_true(x0 != x1);
	double m = (x0 + x1) / 2, d = x0 > x1 ? x0 - x1 : x1 - x0;
	struct { double t; int status; const char *verdict; bool close; } cases[] = {
		{ m, 0, "target too close to call (met by the means)", true },
		{ m - 6.3 * d, 0, "target too close to call (met by the means)", true },
		{ m + 6.3 * d, 1, "target too close to call (NOT met by the means)", true },
		{ m + 6.4 * d, 1, "target NOT met", false },
		{ m - 6.4 * d, 0, "target met", false },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *out, *err;
		int st = run(&out, &err, "plan %s --vary senders.app.count --range 1..1 -q"
		             " --target 'generated >= %.6f'", poisson_yaml, cases[i].t);
		if (st != cases[i].status)
			fail_msg("T = %.6f: status %d, not %d\n%s", cases[i].t, st, cases[i].status, out);
		char want[128];
		snprintf(want, sizeof want, "senders.app.count = 1: %s\n", cases[i].verdict);
		expect_in(out, want);
		if (cases[i].close) {
			expect_in(out, "uncertainty: 1 step too close to call (1), decided by the means\n");
			expect_in(out, "more replications are needed to decide (now 2; four times as many halve"
			               " the intervals: --replications 8)\n");
			if (cases[i].status == 0)
				expect_in(out, "no value tried surely meets the target: perhaps none in the range does\n");
		} else {
			expect_not_in(out, "too close");
		}
		free(out);
		free(err);
	}
}

/* The bracket the clear steps prove.  Smallest N with generated >= m (m
 * as above, the mean at N = 1) over 1..3: N = 1 is too close to call and
 * met by the mean, so it is the answer; N = 3 (about 1800 generated, an
 * interval some tens wide) is surely met and N = 2 is never tried, so
 * the clear steps put the answer in [1, 3]. */
static void test_bracket(void **state)
{
	(void)state;
	double x0, x1;
	generated_per_rep(&x0, &x1);
	assert_true(x0 != x1);
	double m = (x0 + x1) / 2;
	char *out;
	assert_int_equal(run(&out, NULL, "plan %s --vary senders.app.count --range 1..3 -q"
	                     " --target 'generated >= %.6f'", poisson_yaml, m), 0);
	expect_in(out, "answer: senders.app.count = 1\n");
	expect_in(out, "uncertainty: 1 step too close to call (1), decided by the means\n");
	expect_in(out, "the steps that were clear put the answer in [1, 3]\n");
	free(out);
}

/* One replication: no interval, and the output says so. */
static void test_one_replication(void **state)
{
	(void)state;
	char *out;
	assert_int_equal(run(&out, NULL, "plan %s --vary senders.app.count --range 1..100 --largest -q"
	                     " --replications 1 --target 'lost <= 0'", rate_yaml), 0);
	expect_in(out, "answer: senders.app.count = 30\n");
	expect_in(out, "uncertainty: not measured; with one replication there is no interval");
	expect_in(out, "0 (no interval)");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_percentages),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_did_you_mean),
		cmocka_unit_test(test_nothing_meets),
		cmocka_unit_test(test_binding),
		cmocka_unit_test(test_entity),
		cmocka_unit_test(test_too_close),
		cmocka_unit_test(test_bracket),
		cmocka_unit_test(test_one_replication),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
