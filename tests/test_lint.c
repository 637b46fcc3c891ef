/* test_lint.c - check's warnings (models/scn_lint.h): each provoked by a
 * small scenario, with the key it names; a scenario without surprises
 * gets none. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "scn_lint.h"
#include "scn_load.h"
#include "status.h"

/* The warnings of the base of `text`, into w[16]; their count. */
static size_t lint_text(const char *text, scn_warning *w)
{
	scenario **v;
	size_t n;
	scn_errors errs = { 0 };
	int rc = scn_load_buffer("lint.yaml", text, strlen(text), ".", &sim_alloc_std, &v, &n, &errs);
	if (rc != SIM_OK)
		for (size_t i = 0; i < errs.n; i++)
			print_error("%d:%d: %s: %s\n", errs.v[i].line, errs.v[i].column, errs.v[i].key, errs.v[i].message);
	assert_int_equal(rc, SIM_OK);
	scn_errors_free(&errs);
	size_t k = scn_lint(v[0], w, 16);
	for (size_t i = 0; i < k && i < 16; i++)
		print_message("%s: %s\n", w[i].key, w[i].msg);
	scn_free_all(v, n, &sim_alloc_std);
	return k;
}

#define HEAD \
	"name: t\nduration: 1h\nmailboxes: [{name: a@contoso.com}]\n"

static void test_clean(void **state)
{
	(void)state;
	scn_warning w[16];
	assert_int_equal(lint_text(HEAD
		"senders:\n  - {name: s, mailbox: a@contoso.com, arrivals: {poisson: 1/min},\n"
		"     session: {connections: 3}}\n", w), 0);
}

static void test_direct_send_external(void **state)
{
	(void)state;
	scn_warning w[16];
	assert_int_equal(lint_text(HEAD
		"routes: {mx: direct-send}\n"
		"senders:\n  - {name: s, mailbox: a@contoso.com, route: mx, arrivals: {poisson: 1/min},\n"
		"     message: {recipients: 2, external: 0.1}}\n", w), 1);
	assert_string_equal(w[0].key, "senders.s.message.external");
	assert_non_null(strstr(w[0].msg, "internal recipients only"));
}

static void test_every_message_too_big(void **state)
{
	(void)state;
	scn_warning w[16];
	/* 40 MB fixed against exchange-online's 35 MB */
	assert_int_equal(lint_text(HEAD
		"senders:\n  - {name: s, mailbox: a@contoso.com, arrivals: {poisson: 1/min},\n"
		"     message: {size: 40MB}}\n", w), 1);
	assert_string_equal(w[0].key, "senders.s.message.size");
	/* 30 MB passes */
	assert_int_equal(lint_text(HEAD
		"senders:\n  - {name: s, mailbox: a@contoso.com, arrivals: {poisson: 1/min},\n"
		"     message: {size: 30MB}}\n", w), 0);
}

static void test_certain_fault(void **state)
{
	(void)state;
	scn_warning w[16];
	assert_int_equal(lint_text(HEAD
		"senders:\n  - {name: s, mailbox: a@contoso.com, arrivals: {poisson: 1/min},\n"
		"     faults: {send_as_denied: 0.5, invalid_recipients: 0.5}}\n", w), 1);
	assert_string_equal(w[0].key, "senders.s.faults");
	assert_non_null(strstr(w[0].msg, "throttled"));
}

static void test_night_peak(void **state)
{
	(void)state;
	scn_warning w[16];
	assert_int_equal(lint_text(HEAD
		"senders:\n  - {name: s, mailbox: a@contoso.com,\n"
		"     arrivals: {poisson: 1/min, profile: {hours: {\"02-04\": 3, \"08-17\": 1}}}}\n", w), 1);
	assert_string_equal(w[0].key, "senders.s.arrivals.profile");
	assert_non_null(strstr(w[0].msg, "02:00"));
}

static void test_too_many_connections(void **state)
{
	(void)state;
	scn_warning w[16];
	assert_int_equal(lint_text(HEAD
		"senders:\n  - {name: s, mailbox: a@contoso.com, arrivals: {poisson: 1/min},\n"
		"     session: {connections: 5}}\n", w), 1);
	assert_string_equal(w[0].key, "senders.s.session.connections");
	assert_non_null(strstr(w[0].msg, "5 connections"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean),
		cmocka_unit_test(test_direct_send_external),
		cmocka_unit_test(test_every_message_too_big),
		cmocka_unit_test(test_certain_fault),
		cmocka_unit_test(test_night_peak),
		cmocka_unit_test(test_too_many_connections),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
