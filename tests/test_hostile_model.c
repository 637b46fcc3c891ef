/* test_hostile_model.c - hostile and careless inputs the model layer must
 * answer clearly: traces written by other tools (byte-order mark, CR or
 * CRLF line ends, RFC 4180 quoting), quantities whose products overflow,
 * zero-time livelocks, and files whose run would not fit in memory
 * (models/scn_budget.h).  Every expected value is worked out beside it. */
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

#include "results.h"
#include "run.h"
#include "scenario.h"
#include "scn_budget.h"
#include "scn_load.h"

#define S SCN_NS_PER_S

/* ---- traces -------------------------------------------------------------- */

/* Three rows, in the order of time, whatever the line ends or quoting:
 * 0s a 1 1KB, 10s b 2 2KB, 20s a 3 3KB. */
static void expect_three_rows(const char *what, const char *text)
{
	scn_errors errs = { 0 };
	scn_trace_row *rows = NULL;
	size_t n = 0, ns = 0;
	int rc = scn_trace_parse(what, text, strlen(text), 0, &sim_alloc_std, &rows, &n, &ns, &errs);
	if (rc != 0) {
		char line[2048];
		scn_error_format(&errs.v[0], line, sizeof line);
		fail_msg("%s: refused: %s", what, line);
	}
	assert_int_equal(n, 3);
	assert_int_equal(ns, 2);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(rows[i].time_ns, (int64_t)i * 10 * S);
		assert_int_equal(rows[i].recipients, (int64_t)i + 1);
		assert_int_equal(rows[i].size_bytes, (int64_t)(i + 1) * 1024);
	}
	assert_int_equal(rows[0].instance, 0);
	assert_int_equal(rows[1].instance, 1);
	assert_int_equal(rows[2].instance, 0);
	sim_free(&sim_alloc_std, rows, n * sizeof *rows);
	scn_errors_free(&errs);
}

static void test_trace_line_ends_bom_quotes(void **state)
{
	(void)state;
	expect_three_rows("lf", "time,sender,recipients,size\n0s,a,1,1KB\n10s,b,2,2KB\n20s,a,3,3KB\n");
	expect_three_rows("crlf", "time,sender,recipients,size\r\n0s,a,1,1KB\r\n10s,b,2,2KB\r\n20s,a,3,3KB\r\n");
	expect_three_rows("cr", "time,sender,recipients,size\r0s,a,1,1KB\r10s,b,2,2KB\r20s,a,3,3KB\r");
	expect_three_rows("cr, no final end", "time,sender,recipients,size\r0s,a,1,1KB\r10s,b,2,2KB\r20s,a,3,3KB");
	expect_three_rows("bom", "\xEF\xBB\xBFtime,sender,recipients,size\n0s,a,1,1KB\n10s,b,2,2KB\n20s,a,3,3KB\n");
	expect_three_rows("bom crlf", "\xEF\xBB\xBFtime,sender,recipients,size\r\n0s,a,1,1KB\r\n10s,b,2,2KB\r\n20s,a,3,3KB\r\n");
	/* RFC 4180: every field quoted, as spreadsheets export */
	expect_three_rows("quoted", "\"time\",\"sender\",\"recipients\",\"size\"\r\n"
			  "\"0s\",\"a\",\"1\",\"1KB\"\r\n\"10s\",\"b\",\"2\",\"2KB\"\r\n\"20s\",\"a\",\"3\",\"3KB\"\r\n");
	/* a comma and a doubled quote inside quotes are part of the sender's
	 * name: "x,""y""" is the one sender x,"y" (rows 0 and 2), b the other */
	const char *t = "time,sender,recipients,size\n0s,\"x,\"\"y\"\"\",1,1KB\n10s,b,2,2KB\n20s,\"x,\"\"y\"\"\" ,3,3KB\n";
	expect_three_rows("quoted comma", t);
}

/* A quote left open, and text after a closing quote: one clear message at
 * the field, not one about the header. */
static void test_trace_bad_quotes(void **state)
{
	(void)state;
	static const struct { const char *text, *msg; } cases[] = {
		{ "time,sender,recipients,size\n0s,\"a,1,1KB\n",
		  "t.csv:2:4: row 1: a quoted field is not closed (a line break inside quotes is not supported)" },
		{ "time,sender,recipients,size\n0s,\"a\"b,1,1KB\n",
		  "t.csv:2:7: row 1: text after a closing quote (write \"\" for a quote inside a quoted field)" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		scn_errors errs = { 0 };
		scn_trace_row *rows = NULL;
		size_t n = 0;
		int rc = scn_trace_parse("t.csv", cases[i].text, strlen(cases[i].text), 0, &sim_alloc_std, &rows,
					 &n, NULL, &errs);
		assert_int_equal(rc, SIM_ESCENARIO);
		assert_int_equal(errs.n, 1);
		char line[2048];
		scn_error_format(&errs.v[0], line, sizeof line);
		assert_string_equal(line, cases[i].msg);
		assert_null(rows);
		scn_errors_free(&errs);
	}
}

/* ---- the loader: products, rates and livelocks ----------------------------- */

/* A scenario with one mailbox and one sender whose mapping ends with
 * sender_tail (indented for the sender's keys). */
static char *one_sender(const char *top, const char *sender_tail)
{
	static char buf[2048];
	snprintf(buf, sizeof buf,
		 "name: t\n%s"
		 "mailboxes:\n"
		 "  - name: a@contoso.com\n"
		 "senders:\n"
		 "  - name: s\n"
		 "%s", top, sender_tail);
	return buf;
}

/* The text loads, or is refused with exactly the message want. */
static void expect_load(const char *text, const char *want)
{
	scn_errors errs = { 0 };
	scenario **v = NULL;
	size_t n = 0;
	int rc = scn_load_buffer("t.yaml", text, strlen(text), "", &sim_alloc_std, &v, &n, &errs);
	if (want == NULL) {
		if (rc != SIM_OK) {
			char line[2048];
			scn_error_format(&errs.v[0], line, sizeof line);
			fail_msg("refused: %s\n%s", line, text);
		}
		scn_free_all(v, n, &sim_alloc_std);
	} else {
		assert_int_equal(rc, SIM_ESCENARIO);
		assert_int_equal(errs.n, 1);
		char line[2048];
		scn_error_format(&errs.v[0], line, sizeof line);
		if (strcmp(line, want) != 0)
			fail_msg("expected\n  %s\ngot\n  %s", want, line);
		assert_null(v);
	}
	scn_errors_free(&errs);
}

/* 100 GB = 107374182400 B at 1 B/s: 107374182400 / (365.25 x 86400) =
 * 3402.5 years, over 100.  At 35 B/s, 97.2 years: under. */
static void test_load_transfer_time(void **state)
{
	(void)state;
	expect_load(one_sender("", "    arrivals: {periodic: 10m}\n"
				   "    message: {size: 100GB}\n"
				   "    session: {bandwidth: 1B/s}\n"),
		    "t.yaml:8:26: senders.s.session.bandwidth: a message of 107374182400 bytes at 1 bytes/s takes "
		    "3.4e+03 years to send, over the bound of 100 years");
	expect_load(one_sender("", "    arrivals: {periodic: 10m}\n"
				   "    message: {size: {uniform: [1KB, 100GB]}}\n"
				   "    session: {bandwidth: 35B/s}\n"), NULL);
	/* recipients x group_members: 2^40 = 1099511627776 people at most;
	 * 1099511 x 10^6 is under it, 1099512 x 10^6 over */
	expect_load(one_sender("", "    arrivals: {periodic: 10m}\n"
				   "    message: {recipients: 1099511, group_members: 1000000}\n"), NULL);
	expect_load(one_sender("", "    arrivals: {periodic: 10m}\n"
				   "    message: {recipients: {uniform: [1, 1099512]}, group_members: 1000000}\n"),
		    "t.yaml:7:67: senders.s.message.group_members: up to 1099512 recipients x 1000000 group members "
		    "is 1.1e+12 people per message, over the bound of 2^40");
}

/* The rate bound, 10^6 messages per second per instance: periodic 1 us is
 * on it, 999 ns over (1.001e6/s); 1 ns is 10^9/s.  A profile's peak
 * multiplies the rate: 10^4/s x 100 = 10^6 is on it, x 101 over.  Bursts
 * of 10^6 messages are on the bound, one more over; 2/s bursts of a
 * mean of 5 x 10^5 are 10^6/s, 3/s over. */
static void test_load_rates(void **state)
{
	(void)state;
	expect_load(one_sender("", "    arrivals: {periodic: 1us}\n"), NULL);
	expect_load(one_sender("", "    arrivals: {periodic: 999ns}\n"),
		    "t.yaml:6:26: senders.s.arrivals.periodic: 1e+06 messages per second exceed the rate bound of 10^6/s");
	expect_load(one_sender("", "    arrivals: {periodic: 1ns}\n"),
		    "t.yaml:6:26: senders.s.arrivals.periodic: 1e+09 messages per second exceed the rate bound of 10^6/s");
	expect_load(one_sender("", "    arrivals: {poisson: 10000/s, profile: {hours: {00-23: 100}}}\n"), NULL);
	expect_load(one_sender("", "    arrivals: {poisson: 10000/s, profile: {hours: {00-23: 101}}}\n"),
		    "t.yaml:6:43: senders.s.arrivals.profile: 1.01e+06 messages per second at the profile's peak "
		    "exceed the rate bound of 10^6/s");
	expect_load(one_sender("", "    arrivals: {periodic: 10us, profile: {days: {mon: 11}}}\n"),
		    "t.yaml:6:41: senders.s.arrivals.profile: 1.1e+06 messages per second at the profile's peak "
		    "exceed the rate bound of 10^6/s");
	expect_load(one_sender("", "    arrivals: {bursts: {rate: 1/h, size: 1000000, spacing: 0s}}\n"), NULL);
	expect_load(one_sender("", "    arrivals: {bursts: {rate: 1/h, size: 1000001, spacing: 0s}}\n"),
		    "t.yaml:6:42: senders.s.arrivals.bursts.size: bursts of up to 1e+06 messages exceed the bound "
		    "of 10^6 per burst");
	expect_load(one_sender("", "    arrivals: {bursts: {rate: 2/s, size: {uniform: [1, 999999]}}}\n"), NULL);
	expect_load(one_sender("", "    arrivals: {bursts: {rate: 3/s, size: {uniform: [1, 999999]}}}\n"),
		    "t.yaml:6:24: senders.s.arrivals.bursts: 1.5e+06 messages per second (bursts x their mean size) "
		    "exceed the rate bound of 10^6/s");
}

/* connect_time 0, base 0: max_attempts up to the bound (10^4) is finite
 * work at one instant; unlimited or above it is refused at the retry. */
static void test_load_livelock(void **state)
{
	(void)state;
	static const char *const ok[] = {
		"    session: {connect_time: 0s}\n    retry: {base: 0s, max_attempts: 10000}\n",
		"    session: {connect_time: 1ns}\n    retry: {base: 0s, max_attempts: 0}\n",
		"    session: {connect_time: 0s}\n    retry: {base: 1ns, max_attempts: 0}\n",
	};
	char text[2048];
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		snprintf(text, sizeof text, "    arrivals: {periodic: 10m}\n%s", ok[i]);
		expect_load(one_sender("", text), NULL);
	}
	expect_load(one_sender("", "    arrivals: {periodic: 10m}\n"
				   "    session: {connect_time: 0s}\n"
				   "    retry: {base: 0s, max_attempts: 0}\n"),
		    "t.yaml:8:19: senders.s.retry: with connect_time 0, a back-off base of 0 and max_attempts unlimited, "
		    "a refused message would be retried for ever at one instant (a zero-time livelock): give a "
		    "connect_time, a base, or max_attempts of at most 10000");
	expect_load(one_sender("", "    arrivals: {periodic: 10m}\n"
				   "    session: {connect_time: 0s}\n"
				   "    retry: {policy: fixed, base: 0s, max_attempts: 10001}\n"),
		    "t.yaml:8:34: senders.s.retry: with connect_time 0, a back-off base of 0 and max_attempts this high, "
		    "a refused message would be retried for ever at one instant (a zero-time livelock): give a "
		    "connect_time, a base, or max_attempts of at most 10000");
}

/* A trace row of more than 2^40 recipients. */
static void test_trace_recipients_bound(void **state)
{
	(void)state;
	const char *text = "time,sender,recipients,size\n0s,a,1099511627777,1KB\n";
	scn_errors errs = { 0 };
	scn_trace_row *rows = NULL;
	size_t n = 0;
	assert_int_equal(scn_trace_parse("t.csv", text, strlen(text), 0, &sim_alloc_std, &rows, &n, NULL, &errs),
			 SIM_ESCENARIO);
	char line[2048];
	scn_error_format(&errs.v[0], line, sizeof line);
	assert_string_equal(line, "t.csv:2:6: row 1: recipients: 1099511627777 exceeds the bound of 2^40");
	scn_errors_free(&errs);
}

/* ---- the memory budget (models/scn_budget.h) ------------------------------ */

/* Load text (must be valid). */
static scenario **load_text(const char *text, size_t *n)
{
	scn_errors errs = { 0 };
	scenario **v = NULL;
	int rc = scn_load_buffer("t.yaml", text, strlen(text), "", &sim_alloc_std, &v, n, &errs);
	if (rc != SIM_OK) {
		char line[2048];
		scn_error_format(&errs.v[0], line, sizeof line);
		fail_msg("refused: %s", line);
	}
	scn_errors_free(&errs);
	return v;
}

/* The check's one message, or "" when the run fits. */
static void budget_msg(scenario **v, size_t n, int jobs, uint64_t budget, char *out, size_t len)
{
	scn_errors errs = { 0 };
	int rc = scn_budget_check(v, n, jobs, budget, &errs);
	out[0] = '\0';
	if (rc != SIM_OK) {
		assert_int_equal(rc, SIM_ESCENARIO);
		assert_int_equal(errs.n, 1);
		scn_error_format(&errs.v[0], out, len);
	} else
		assert_int_equal(errs.n, 0);
	scn_errors_free(&errs);
}

/* duration 100y, series_step 60s: 36525 d x 1440 = 52,596,000 rows.  A
 * replication keeps one copy and holds two while it runs: three in all,
 * 3 x 52596000 x sizeof(res_series_row) (over 14 GiB at 96 B or more),
 * plus under 1 MiB for the one sender and mailbox: over the 4 GiB
 * default; 1 MiB more than the series is enough. */
static void test_budget_series(void **state)
{
	(void)state;
	size_t n;
	scenario **v = load_text(one_sender("duration: 100y\nseries_step: 60s\n", "    arrivals: {periodic: 1y}\n"), &n);
	double rows = 36525.0 * 1440, series = 3 * rows * (double)sizeof(res_series_row);
	double need = scn_budget_need(v, n, 1);
	assert_true(need >= series && need < series + (1 << 20));
	char msg[2048], want[512];
	budget_msg(v, n, 1, SCN_DEFAULT_MEMORY_BUDGET, msg, sizeof msg);
	snprintf(want, sizeof want, "t.yaml: duration: a run needs about %.3g GiB (time series: 52596000 rows of %zu B "
		 "per replication; 1 replication at once), over the memory budget of 4 GiB (raise it with --memory-budget)",
		 need / (double)(1ULL << 30), sizeof(res_series_row));
	assert_string_equal(msg, want);
	budget_msg(v, n, 1, (uint64_t)series + (1 << 20), msg, sizeof msg);
	assert_string_equal(msg, "");
	scn_free_all(v, n, &sim_alloc_std);
}

/* 10 years: 3652.5 d x 1440 = 5,259,600 rows, R = 5259600 x
 * sizeof(res_series_row).  4 replications keep 4R and each holds 2R
 * while running: one job needs 4R + 2R = 6R, under a budget of 6.5R; four
 * jobs 4R + 8R = 12R, over.  And what every replication keeps is named when it is most of
 * the need: 40 replications of 1 year (R/10 each) keep 4R, hold R/5. */
static void test_budget_jobs_and_replications(void **state)
{
	(void)state;
	size_t n;
	char msg[2048];
	scenario **v = load_text(one_sender("duration: 3652.5d\nreplications: 4\n", "    arrivals: {periodic: 1d}\n"), &n);
	uint64_t budget = (uint64_t)(6.5 * 5259600.0 * (double)sizeof(res_series_row));
	budget_msg(v, n, 1, budget, msg, sizeof msg);
	assert_string_equal(msg, "");
	budget_msg(v, n, 4, budget, msg, sizeof msg);
	assert_true(strncmp(msg, "t.yaml: duration: a run needs about ", 36) == 0);
	assert_non_null(strstr(msg, "4 replications at once"));
	/* more jobs than replications cost no more than one per replication */
	budget_msg(v, n, 64, 2 * budget, msg, sizeof msg);
	assert_string_equal(msg, "");
	scn_free_all(v, n, &sim_alloc_std);

	v = load_text(one_sender("duration: 365.25d\nreplications: 40\n", "    arrivals: {periodic: 1d}\n"), &n);
	budget_msg(v, n, 1, 1ULL << 30, msg, sizeof msg);
	assert_true(strncmp(msg, "t.yaml: replications: a run needs about ", 40) == 0);
	assert_non_null(strstr(msg, "40 replications in all"));
	scn_free_all(v, n, &sim_alloc_std);
}

/* Messages: 1000/s for 100 days = 8.64e9 messages, 16 B of delay samples
 * each = 138 GB, whatever the outbox: named at the sender's arrivals.
 * Periodic 1 us (the rate bound itself) for 1 h: 3.6e9 messages. */
static void test_budget_messages(void **state)
{
	(void)state;
	size_t n;
	char msg[2048];
	scenario **v = load_text(one_sender("duration: 100d\n", "    arrivals: {poisson: 1000/s}\n    outbox_limit: 10\n"), &n);
	assert_true(scn_budget_need(v, n, 1) >= 8.64e9 * 16);
	budget_msg(v, n, 1, SCN_DEFAULT_MEMORY_BUDGET, msg, sizeof msg);
	assert_true(strncmp(msg, "t.yaml: senders.s.arrivals: a run needs about ", 46) == 0);
	assert_non_null(strstr(msg, "8.64e+09 messages in a replication"));
	scn_free_all(v, n, &sim_alloc_std);
	v = load_text(one_sender("duration: 1h\n", "    arrivals: {periodic: 1us}\n"), &n);
	budget_msg(v, n, 1, SCN_DEFAULT_MEMORY_BUDGET, msg, sizeof msg);
	assert_non_null(strstr(msg, "3.6e+09 messages in a replication"));
	scn_free_all(v, n, &sim_alloc_std);
}

/* Every shipped scenario fits the default with one replication per core
 * of a large machine (64). */
static void test_budget_shipped(void **state)
{
	(void)state;
	static const char *const files[] = { "scenarios/alerts.yaml", "scenarios/basic-auth-off.yaml",
		"scenarios/exchange-server.yaml", "scenarios/mailbox-full.yaml", "scenarios/misconfigured-app.yaml",
		"scenarios/newsletter.yaml", "scenarios/printers-sweep.yaml", "scenarios/printers.yaml",
		"scenarios/trace-replay.yaml" };
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		scn_errors errs = { 0 };
		scenario **v;
		size_t n;
		assert_int_equal(scn_load(files[i], &sim_alloc_std, &v, &n, &errs), SIM_OK);
		assert_int_equal(scn_budget_check(v, n, 64, SCN_DEFAULT_MEMORY_BUDGET, &errs), SIM_OK);
		scn_free_all(v, n, &sim_alloc_std);
		scn_errors_free(&errs);
	}
}

static void test_budget_parse(void **state)
{
	(void)state;
	static const struct { const char *s; uint64_t bytes; } good[] = {
		{ "8G", 8ULL << 30 }, { "8GB", 8ULL << 30 }, { "8GiB", 8ULL << 30 }, { "8g", 8ULL << 30 },
		{ "512M", 512ULL << 20 }, { "1.5G", 3ULL << 29 }, { "4096K", 4ULL << 20 }, { "1T", 1ULL << 40 },
		{ "1000", 1000 }, { "1000B", 1000 },
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		uint64_t b = 0;
		assert_int_equal(scn_budget_parse(good[i].s, &b), 0);
		assert_true(b == good[i].bytes);
	}
	static const char *const bad[] = { "", "0", "0G", "8X", "-1", "G", "8 G", "8GG", "1e30", "nan", NULL };
	for (size_t i = 0; bad[i]; i++) {
		uint64_t b = 7;
		assert_int_equal(scn_budget_parse(bad[i], &b), -1);
		assert_true(b == 7);
	}
}

/* The option on check and run, through the built binary: the 100-year
 * file above is refused by both (exit 2, before any results file is
 * made) and passes check with --memory-budget 16G; a bad budget is a
 * usage error. */
static void test_budget_cli(void **state)
{
	(void)state;
	const char *bin = getenv("THROTTLESIM_BIN") ? getenv("THROTTLESIM_BIN") : "build/debug/throttlesim";
	char dir[] = "/tmp/test_hostile_model.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char yaml[300], db[300], cmd[2048], errf[300];
	snprintf(yaml, sizeof yaml, "%s/long.yaml", dir);
	snprintf(db, sizeof db, "%s/r.db", dir);
	snprintf(errf, sizeof errf, "%s/err", dir);
	FILE *f = fopen(yaml, "w");
	assert_non_null(f);
	fputs(one_sender("duration: 100y\n", "    arrivals: {periodic: 1y}\n"), f);
	fclose(f);
	static const struct { const char *args; int status; const char *err; } cases[] = {
		{ "check %s", 2, ": duration: a run needs about " },
		{ "check %s --memory-budget 64G", 0, NULL },
		{ "check --memory-budget=1G %s", 2, "over the memory budget of 1 GiB" },
		{ "check %s --memory-budget 16Q", 2, "--memory-budget: expected a size such as 512M or 8G, got '16Q'" },
		{ "run %s -q -j 1 --db %s", 2, ": duration: a run needs about " },
		{ "run %s -q --memory-budget 0 --db %s", 2, "--memory-budget: expected a size" },
		{ "plan %s --vary senders.s.count --range 1..2 --target 'lost <= 1' -q", 2,
		  ": duration: a run needs about " },
		{ "plan %s --vary senders.s.count --range 1..2 --target 'lost <= 1' -q --memory-budget 1Q", 2,
		  "--memory-budget: expected a size" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char args[900];
		snprintf(args, sizeof args, cases[i].args, yaml, db);
		snprintf(cmd, sizeof cmd, "%s %s >/dev/null 2>%s", bin, args, errf);
		int st = system(cmd);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), cases[i].status);
		char buf[4096] = { 0 };
		f = fopen(errf, "r");
		assert_non_null(f);
		size_t got = fread(buf, 1, sizeof buf - 1, f);
		buf[got] = '\0';
		fclose(f);
		if (cases[i].err && !strstr(buf, cases[i].err))
			fail_msg("%s: expected '%s' in: %s", args, cases[i].err, buf);
		assert_int_equal(access(db, F_OK), -1); /* no results file */
	}
	remove(errf);
	remove(yaml);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trace_line_ends_bom_quotes),
		cmocka_unit_test(test_trace_bad_quotes),
		cmocka_unit_test(test_trace_recipients_bound),
		cmocka_unit_test(test_load_transfer_time),
		cmocka_unit_test(test_load_rates),
		cmocka_unit_test(test_load_livelock),
		cmocka_unit_test(test_budget_series),
		cmocka_unit_test(test_budget_jobs_and_replications),
		cmocka_unit_test(test_budget_messages),
		cmocka_unit_test(test_budget_shipped),
		cmocka_unit_test(test_budget_parse),
		cmocka_unit_test(test_budget_cli),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
