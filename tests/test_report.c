/* test_report.c - the table, JSON and CSV writers on hand-built results:
 * determinism, JSON well-formedness, 80-column table, CSV shape. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report.h"
#include "results.h"
#include "scenario.h"
#include "stats.h"
#include "status.h"

/* ---- a hand-built run -------------------------------------------------- */

#define N_REPS 3
#define N_GROUPS 2

typedef struct fixture {
	res_desc desc;
	res_group_desc senders[N_GROUPS];
	res_mailbox_desc *mailboxes;
	size_t n_mailboxes;
	res_rep reps[N_REPS];
	res_entity groups[N_REPS][N_GROUPS];
	res_entity *mbx[N_REPS];
	res_series_row series[N_REPS][3];
	rpt_variant variants[2];
	rpt_run run;
} fixture;

static void fill_entity(res_entity *e, double base, size_t rep)
{
	for (int f = 0; f < FIG_COUNT; f++)
		e->fig[f] = base + (double)f + (double)rep * 0.5;
	e->fig[FIG_RRL_FIRST_REACHED] = NAN;           /* never reached */
	e->fig[FIG_SUB_DELAY_P95] = rep == 1 ? NAN : 12.25 * (double)(rep + 1);
	e->fig[FIG_THROTTLE_TIME] = 3600.0 + (double)rep;
	e->rejected_by[RC_CONCURRENCY] = 10 + rep;
	e->lost_by[RC_RECIPIENT_RATE] = 2 * rep;
}

static fixture *make_fixture(size_t n_mailboxes, const char *long_name)
{
	fixture *fx = calloc(1, sizeof *fx);
	assert_non_null(fx);
	fx->n_mailboxes = n_mailboxes;
	fx->mailboxes = calloc(n_mailboxes, sizeof *fx->mailboxes);
	assert_non_null(fx->mailboxes);
	snprintf(fx->desc.scenario, sizeof fx->desc.scenario, "printers \"quoted\", comma");
	snprintf(fx->senders[0].name, sizeof fx->senders[0].name, "%s", long_name);
	snprintf(fx->senders[1].name, sizeof fx->senders[1].name, "app\tserver");
	for (size_t m = 0; m < n_mailboxes; m++) {
		snprintf(fx->mailboxes[m].name, sizeof fx->mailboxes[m].name, "scanner%zu@contoso.com", m);
	}
	fx->desc.configured[RC_CONCURRENCY].code = 432;
	snprintf(fx->desc.configured[RC_CONCURRENCY].text, sizeof fx->desc.configured[RC_CONCURRENCY].text,
	         "432 4.3.2 Concurrent connections limit exceeded.");
	fx->desc.sweep_point = -1;
	fx->desc.groups = fx->senders;
	fx->desc.n_groups = N_GROUPS;
	fx->desc.mailboxes = fx->mailboxes;
	fx->desc.n_mailboxes = n_mailboxes;
	for (size_t r = 0; r < N_REPS; r++) {
		res_rep *rep = &fx->reps[r];
		rep->seed = 1000 + r;
		rep->replication = (int64_t)r;
		fill_entity(&rep->total, 1000, r);
		for (size_t g = 0; g < N_GROUPS; g++)
			fill_entity(&fx->groups[r][g], 100 * (double)(g + 1), r);
		fx->mbx[r] = calloc(n_mailboxes ? n_mailboxes : 1, sizeof(res_entity));
		assert_non_null(fx->mbx[r]);
		for (size_t m = 0; m < n_mailboxes; m++)
			fill_entity(&fx->mbx[r][m], (double)((m * 7) % 13), r);
		rep->groups = fx->groups[r];
		rep->n_groups = N_GROUPS;
		rep->mailboxes = fx->mbx[r];
		rep->n_mailboxes = n_mailboxes;
		for (size_t i = 0; i < 3; i++) {
			fx->series[r][i].accepted = (uint32_t)(i + r);
			fx->series[r][i].rejected_by[RC_CONCURRENCY] = (uint32_t)i;
		}
		rep->series = fx->series[r];
		rep->n_series = 3;
		rep->series_step_ns = 60 * SCN_NS_PER_S;
		rep->events = 12345 + r;
		rep->wall_s = 0.123 * (double)r; /* must not appear in any output */
	}
	fx->variants[0] = (rpt_variant){ "base", &fx->desc, fx->reps, N_REPS };
	fx->variants[1] = (rpt_variant){ "mailbox per device", &fx->desc, fx->reps, N_REPS };
	fx->run = (rpt_run){ .scenario_name = fx->desc.scenario, .seed = 42, .version = "0.1.0-test",
	                     .variants = fx->variants, .n_variants = 2, .json_series = true };
	return fx;
}

static void free_fixture(fixture *fx)
{
	for (size_t r = 0; r < N_REPS; r++)
		free(fx->mbx[r]);
	free(fx->mailboxes);
	free(fx);
}

/* Runs a writer into memory; returns a malloc'd NUL-terminated buffer. */
static char *capture(int (*writer)(FILE *, const rpt_run *), const rpt_run *run, size_t *len)
{
	FILE *f = tmpfile();
	assert_non_null(f);
	assert_int_equal(writer(f, run), SIM_OK);
	long n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	char *buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return buf;
}

/* ---- a small JSON validator (RFC 8259 grammar, no semantics) ------------ */

typedef struct jp {
	const char *s;
	int depth;
} jp;

static void ws(jp *p)
{
	while (*p->s == ' ' || *p->s == '\n' || *p->s == '\t' || *p->s == '\r')
		p->s++;
}

static int value(jp *p);

static int string(jp *p)
{
	if (*p->s != '"')
		return 0;
	p->s++;
	while (*p->s != '"') {
		unsigned char c = (unsigned char)*p->s;
		if (c == '\0' || c < 0x20)
			return 0;
		if (c == '\\') {
			p->s++;
			if (*p->s == 'u') {
				for (int i = 1; i <= 4; i++)
					if (!strchr("0123456789abcdefABCDEF", p->s[i]) || p->s[i] == '\0')
						return 0;
				p->s += 4;
			} else if (!strchr("\"\\/bfnrt", *p->s) || *p->s == '\0') {
				return 0;
			}
		}
		p->s++;
	}
	p->s++;
	return 1;
}

static int number(jp *p)
{
	const char *s = p->s;
	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (*s >= '1' && *s <= '9')
		while (*s >= '0' && *s <= '9')
			s++;
	else
		return 0;
	if (*s == '.') {
		s++;
		if (!(*s >= '0' && *s <= '9'))
			return 0;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!(*s >= '0' && *s <= '9'))
			return 0;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	p->s = s;
	return 1;
}

static int value(jp *p)
{
	ws(p);
	if (++p->depth > 64)
		return 0;
	int ok = 1;
	if (*p->s == '{') {
		p->s++;
		ws(p);
		if (*p->s == '}') {
			p->s++;
		} else {
			for (;;) {
				ws(p);
				if (!string(p))
					return 0;
				ws(p);
				if (*p->s++ != ':')
					return 0;
				if (!value(p))
					return 0;
				ws(p);
				if (*p->s == ',') {
					p->s++;
					continue;
				}
				if (*p->s++ != '}')
					return 0;
				break;
			}
		}
	} else if (*p->s == '[') {
		p->s++;
		ws(p);
		if (*p->s == ']') {
			p->s++;
		} else {
			for (;;) {
				if (!value(p))
					return 0;
				ws(p);
				if (*p->s == ',') {
					p->s++;
					continue;
				}
				if (*p->s++ != ']')
					return 0;
				break;
			}
		}
	} else if (*p->s == '"') {
		ok = string(p);
	} else if (strncmp(p->s, "null", 4) == 0 || strncmp(p->s, "true", 4) == 0) {
		p->s += 4;
	} else if (strncmp(p->s, "false", 5) == 0) {
		p->s += 5;
	} else {
		ok = number(p);
	}
	p->depth--;
	return ok;
}

static int json_valid(const char *s)
{
	jp p = { s, 0 };
	if (!value(&p))
		return 0;
	ws(&p);
	return *p.s == '\0';
}

/* ---- tests ---------------------------------------------------------------- */

static void test_validator_itself(void **state)
{
	(void)state;
	assert_true(json_valid("{\"a\": [1, -2.5e+3, null, \"x\\\"y\", {}], \"b\": []}"));
	assert_false(json_valid("{\"a\": [1, 2,]}"));
	assert_false(json_valid("{\"a\": nan}"));
	assert_false(json_valid("{\"a\": 1} x"));
	assert_false(json_valid("{\"a\": \"tab\there\"}"));
}

static void test_json_deterministic_and_valid(void **state)
{
	(void)state;
	fixture *fx = make_fixture(3, "multi-function printers, 2nd floor");
	size_t n1, n2;
	char *a = capture(rpt_json, &fx->run, &n1);
	/* wall time differs: must not change the output */
	for (size_t r = 0; r < N_REPS; r++)
		fx->reps[r].wall_s += 99;
	char *b = capture(rpt_json, &fx->run, &n2);
	assert_int_equal(n1, n2);
	assert_memory_equal(a, b, n1);
	assert_true(json_valid(a));
	/* NaN is written as null, never as nan */
	assert_null(strstr(a, " nan"));
	assert_null(strstr(a, "-nan"));
	assert_null(strstr(a, "[nan"));
	assert_null(strstr(a, "inf"));
	assert_non_null(strstr(a, "\"rrl_first_reached\": {\"mean\": null, \"half\": null, \"n\": 0"));
	/* p95 defined in 2 of 3 replications: mean of 12.25 and 36.75 */
	assert_non_null(strstr(a, "\"submission_delay_p95\": {\"mean\": 24.5, "));
	/* names escaped */
	assert_non_null(strstr(a, "\"app\\tserver\""));
	assert_non_null(strstr(a, "\"printers \\\"quoted\\\", comma\""));
	assert_non_null(strstr(a, "432 4.3.2 Concurrent connections limit exceeded."));
	free(a);
	free(b);
	free_fixture(fx);
}

static void check_table_width(const char *t)
{
	size_t cols = 0;
	for (const char *p = t; *p; p++) {
		if (*p == '\n') {
			assert_true(cols <= 80);
			assert_true(p == t || p[-1] != ' '); /* no trailing blanks */
			cols = 0;
		} else if (((unsigned char)*p & 0xc0) != 0x80) {
			cols++;
		}
	}
	assert_int_equal(cols, 0); /* ends with a newline */
}

/* JSON strings stay valid UTF-8 and show nothing a terminal obeys: DEL
 * and C1 controls are escaped like C0 ones, broken UTF-8 becomes U+FFFD,
 * printable UTF-8 is kept. */
static void test_json_strings_escaped(void **state)
{
	(void)state;
	fixture *fx = make_fixture(1, "del\x7f csi\xc2\x9b" "2J esc\x1b");
	snprintf(fx->senders[1].name, sizeof fx->senders[1].name, "broken\xff\xc3 cut\xe2\x82 ok\xc3\xa9");
	char *a = capture(rpt_json, &fx->run, NULL);
	assert_true(json_valid(a));
	assert_non_null(strstr(a, "\"del\\u007f csi\\u009b2J esc\\u001b\""));
	assert_non_null(strstr(a, "\"broken\\ufffd\\ufffd cut\\ufffd\\ufffd ok\xc3\xa9\""));
	for (const unsigned char *p = (const unsigned char *)a; *p; p++)
		assert_true(*p != 0x7f && *p != 0xff && !(p[0] == 0xc2 && p[1] < 0xa0));
	free(a);
	free_fixture(fx);
}

static void test_table_80_columns(void **state)
{
	(void)state;
	fixture *fx = make_fixture(4,
	    "a very long sender group name that goes on and on past any terminal width, "
	    "with \xc3\xa9\xc3\xa9\xc3\xa9 accents");
	char *t = capture(rpt_table, &fx->run, NULL);
	if (getenv("SHOW_TABLE"))
		fputs(t, stdout);
	check_table_width(t);
	assert_non_null(strstr(t, "..."));
	assert_non_null(strstr(t, "mailbox scanner3@contoso.com"));
	assert_non_null(strstr(t, "difference from base"));
	assert_non_null(strstr(t, "\xc2\xb1"));
	free(t);
	free_fixture(fx);

	/* many mailboxes: a summary of five, not every row */
	fx = make_fixture(40, "printers");
	t = capture(rpt_table, &fx->run, NULL);
	if (getenv("SHOW_TABLE"))
		fputs(t, stdout);
	check_table_width(t);
	assert_non_null(strstr(t, "40 mailboxes; the 5 that lost most"));
	size_t rows = 0;
	for (const char *p = t; (p = strstr(p, "  mailbox scanner")) != NULL; p++)
		rows++;
	assert_int_equal(rows, 2 * 5); /* two variants */
	free(t);
	free_fixture(fx);
}

/* The kinds of loss, the application's own count among them: a refusal
 * whose reply the client discarded is lost and "believed sent", and the
 * application says accepted + believed sent were sent. */
static void test_table_believed_sent(void **state)
{
	(void)state;
	fixture *fx = make_fixture(1, "campaign");
	fx->run.n_variants = 1;
	for (size_t r = 0; r < N_REPS; r++) {
		res_entity *e = &fx->reps[r].total;
		e->fig[FIG_ACCEPTED] = 90;
		e->fig[FIG_LOST] = 10;
		e->fig[FIG_LOST_GAVE_UP] = e->fig[FIG_LOST_OUTBOX_OVERFLOW] = e->fig[FIG_LOST_PERMANENT] = 0;
		e->fig[FIG_LOST_ABORTED] = 4;
		e->fig[FIG_BELIEVED_SENT] = 6;
		memset(e->lost_by, 0, sizeof e->lost_by);
	}
	char *t = capture(rpt_table, &fx->run, NULL);
	if (getenv("SHOW_TABLE"))
		fputs(t, stdout);
	check_table_width(t);
	const char *total = strstr(t, "  total\n");
	assert_non_null(total);
	assert_non_null(strstr(total, "lost by     aborted 4, believed sent 6\n"));
	assert_non_null(strstr(total, "app says    96 (accepted + believed sent)\n"));
	free(t);
	free_fixture(fx);
}

static void test_table_single_replication(void **state)
{
	(void)state;
	fixture *fx = make_fixture(1, "printers");
	fx->variants[0].n_reps = 1;
	fx->run.n_variants = 1;
	char *t = capture(rpt_table, &fx->run, NULL);
	check_table_width(t);
	assert_null(strstr(t, "\xc2\xb1")); /* no interval with one replication */
	free(t);
	free_fixture(fx);
}

static void test_csv(void **state)
{
	(void)state;
	fixture *fx = make_fixture(2, "printers");
	size_t n1, n2;
	char *a = capture(rpt_csv, &fx->run, &n1);
	char *b = capture(rpt_csv, &fx->run, &n2);
	assert_int_equal(n1, n2);
	assert_memory_equal(a, b, n1);
	assert_true(strncmp(a, "variant,entity_kind,entity,figure,unit,mean,half,n,rep0,rep1,rep2\n", 66) == 0);
	/* 2 variants x (1 + 2 + 2) entities x (figures + 2 class rows) + header */
	size_t lines = 0;
	for (const char *p = a; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 1 + 2 * 5 * (FIG_COUNT + 2));
	assert_non_null(strstr(a, "\nbase,total,total,generated,msgs,1000.5,"));
	assert_non_null(strstr(a, "\nbase,total,total,rrl_first_reached,s,,,0,,,\n"));
	/* each replication's value after the summary: 1000 + 0.5 rep */
	assert_non_null(strstr(a, "\nbase,total,total,generated,msgs,1000.5,"));
	assert_non_null(strstr(a, ",3,1000,1000.5,1001\n"));
	assert_non_null(strstr(a, "\nmailbox per device,group,app\tserver,"));
	free(a);
	free(b);
	free_fixture(fx);
}

/* CSV injection: a name a spreadsheet would run as a formula (it begins
 * with '=', '+', '-', '@', tab or CR) is exported as text, a single quote
 * in front and the field quoted (OWASP); a name that is a plain number
 * and every number the writer formats, negative ones included, stay
 * numbers. */
static void test_csv_formula_injection(void **state)
{
	(void)state;
	fixture *fx = make_fixture(3, "=HYPERLINK(\"http://x\")");
	snprintf(fx->senders[1].name, sizeof fx->senders[1].name, "-2+3");
	snprintf(fx->mailboxes[0].name, sizeof fx->mailboxes[0].name, "@SUM(A1)");
	snprintf(fx->mailboxes[1].name, sizeof fx->mailboxes[1].name, "-5");
	snprintf(fx->mailboxes[2].name, sizeof fx->mailboxes[2].name, "a=b+c");
	fx->variants[0].name = "\tcalc";
	fx->variants[1].name = "\rcalc";
	/* generated, replication 0: -3 instead of 1000 (fill_entity) */
	fx->reps[0].total.fig[FIG_GENERATED] = -3;
	char *a = capture(rpt_csv, &fx->run, NULL);
	assert_non_null(strstr(a, "\n\"'\tcalc\",group,\"'=HYPERLINK(\"\"http://x\"\")\",generated,"));
	assert_non_null(strstr(a, "\n\"'\rcalc\",group,\"'-2+3\",generated,"));
	assert_non_null(strstr(a, ",mailbox,\"'@SUM(A1)\",generated,"));
	assert_non_null(strstr(a, ",mailbox,-5,generated,"));
	assert_non_null(strstr(a, ",mailbox,a=b+c,generated,"));
	/* the mean of -3, 1000.5 and 1001 is 666.1666...; then each value */
	assert_non_null(strstr(a, "\n\"'\tcalc\",total,total,generated,msgs,666.16666666666"));
	assert_non_null(strstr(a, ",3,-3,1000.5,1001\n"));
	/* no field anywhere begins with a formula character unquoted */
	for (const char *p = a; *p; p++)
		if (p == a || p[-1] == ',' || p[-1] == '\n')
			assert_true(strchr("=+@\t\r", *p) == NULL || *p == '\0');
	free(a);
	free_fixture(fx);
}

/* Names are printed for a terminal through the one sanitiser (term.h):
 * ESC, BEL, CR, DEL, C1 controls (U+009B is CSI) and broken UTF-8 all
 * become '?', and the table stays valid UTF-8 within 80 columns. */
static void test_table_sanitised(void **state)
{
	(void)state;
	fixture *fx = make_fixture(2, "esc\x1b[31m bel\a cr\r del\x7f");
	snprintf(fx->senders[1].name, sizeof fx->senders[1].name, "csi\xc2\x9b" "2J broken\xff\xc3");
	snprintf(fx->mailboxes[0].name, sizeof fx->mailboxes[0].name, "\xe2\x80\xae" "rtl ok \xc3\xa9");
	fx->variants[1].name = "osc\x1b]0;title\a";
	snprintf(fx->desc.scenario, sizeof fx->desc.scenario, "scen\xc2\x85" "nel");
	fx->run.scenario_name = fx->desc.scenario;
	char *t = capture(rpt_table, &fx->run, NULL);
	if (getenv("SHOW_TABLE"))
		fputs(t, stdout);
	check_table_width(t);
	for (const unsigned char *p = (const unsigned char *)t; *p; p++) {
		assert_true(*p >= 0x20 || *p == '\n');
		assert_true(*p != 0x7f);
		assert_true(*p != 0xff);
		if (*p == 0xc2)
			assert_true(p[1] >= 0xa0);   /* no C1 control U+0080-U+009F */
	}
	assert_non_null(strstr(t, "esc?[31m bel? cr? del?"));
	assert_non_null(strstr(t, "csi?2J broken??"));
	assert_non_null(strstr(t, "osc?]0;title?"));
	assert_non_null(strstr(t, "scen?nel"));
	assert_non_null(strstr(t, "rtl ok \xc3\xa9"));   /* printable UTF-8 unchanged */
	free(t);
	free_fixture(fx);
}

/* The scenario's clock in the table's header: 2026-03-29T00:30:00Z is
 * 01:30 +01:00 in Berlin (summer time begins at 01:00 UTC that day), and
 * 2026-06-01T00:00:00Z is 02:00 +02:00; a UTC scenario prints no line. */
static void test_table_start_in_local_time(void **state)
{
	(void)state;
	fixture *fx = make_fixture(2, "g");
	char *t = capture(rpt_table, &fx->run, NULL);
	assert_null(strstr(t, "\nstart "));
	free(t);
	snprintf(fx->desc.timezone, sizeof fx->desc.timezone, "Europe/Berlin");
	fx->desc.start_unix_s = 1774744200;   /* 2026-03-29T00:30:00Z */
	fx->desc.start_utc_offset_s = 3600;
	t = capture(rpt_table, &fx->run, NULL);
	assert_non_null(strstr(t, "\nstart 2026-03-29 01:30 +01:00 Europe/Berlin\n"));
	free(t);
	fx->desc.start_unix_s = 1780272000;   /* 2026-06-01T00:00:00Z */
	fx->desc.start_utc_offset_s = 7200;
	t = capture(rpt_table, &fx->run, NULL);
	assert_non_null(strstr(t, "\nstart 2026-06-01 02:00 +02:00 Europe/Berlin\n"));
	free(t);
	free_fixture(fx);
}

static void test_durations(void **state)
{
	(void)state;
	static const struct { double s; const char *want; } cases[] = {
		{ 0, "0s" }, { 0.25, "250ms" }, { 1.2, "1.2s" }, { 9.94, "9.9s" }, { 45, "45s" },
		{ 59.4, "59s" }, { 59.6, "1m00s" }, { 184, "3m04s" }, { 7800, "2h10m" },
		{ 3 * 86400 + 4 * 3600, "3d04h" }, { NAN, "-" }, { -2.5, "-2.5s" },
	};
	char buf[32];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		rpt_format_duration(cases[i].s, buf, sizeof buf);
		assert_string_equal(buf, cases[i].want);
	}
}

static void test_reply_names(void **state)
{
	(void)state;
	for (int c = 0; c < RC_COUNT; c++) {
		assert_non_null(rpt_reply_id(c));
	}
	assert_null(rpt_reply_id(RC_COUNT));
	char label[16];
	rpt_reply_label(NULL, RC_RECIPIENT_RATE, label, sizeof label);
	assert_string_equal(label, "554 5.2.0");
	assert_int_equal(rpt_reply_code(RC_CONCURRENCY), 432);
}

static void test_invalid_input(void **state)
{
	(void)state;
	FILE *f = tmpfile();
	assert_non_null(f);
	rpt_variant v = { "base", NULL, NULL, 0 };
	rpt_run run = { .scenario_name = "s", .seed = 1, .version = "v", .variants = &v, .n_variants = 1 };
	assert_int_equal(rpt_json(f, &run), SIM_EINVAL);
	assert_int_equal(rpt_csv(f, &run), SIM_EINVAL);
	assert_int_equal(rpt_table(f, &run), SIM_EINVAL);
	assert_int_equal(rpt_json(f, NULL), SIM_EINVAL);
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validator_itself),
		cmocka_unit_test(test_json_deterministic_and_valid),
		cmocka_unit_test(test_json_strings_escaped),
		cmocka_unit_test(test_table_80_columns),
		cmocka_unit_test(test_table_single_replication),
		cmocka_unit_test(test_table_believed_sent),
		cmocka_unit_test(test_csv),
		cmocka_unit_test(test_csv_formula_injection),
		cmocka_unit_test(test_table_sanitised),
		cmocka_unit_test(test_table_start_in_local_time),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_reply_names),
		cmocka_unit_test(test_invalid_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
