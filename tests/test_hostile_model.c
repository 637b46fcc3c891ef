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

#include <cmocka.h>

#include "run.h"
#include "scenario.h"
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trace_line_ends_bom_quotes),
		cmocka_unit_test(test_trace_bad_quotes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
