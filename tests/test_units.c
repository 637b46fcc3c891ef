/* test_units.c - the edges of the quantities the units parser reads: a
 * count's bound is 2^63 - 1 exactly (the seed's bound in the file and with
 * --seed), and a duration beyond 100 years says so. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "status.h"
#include "units.h"

/* 2^63 - 1 = 9223372036854775807, read digit by digit: one more is out of
 * bounds and says which bound; so is a decimal form past 2^63. */
static void test_count_bound(void **state)
{
	(void)state;
	char err[256];
	int64_t c = -1;
	assert_int_equal(unit_parse_count("9223372036854775807", &c, err, sizeof err), 0);
	assert_true(c == INT64_MAX);
	assert_int_equal(unit_parse_count(" 9_223_372_036_854_775_806 ", &c, err, sizeof err), 0);
	assert_true(c == INT64_MAX - 1);
	c = 7;
	assert_int_equal(unit_parse_count("9223372036854775808", &c, err, sizeof err), SIM_ERANGE);
	assert_non_null(strstr(err, "exceeds the bound of 2^63 - 1"));
	assert_int_equal(c, 7);   /* untouched on failure */
	assert_int_equal(unit_parse_count("99999999999999999999999", &c, err, sizeof err), SIM_ERANGE);
	assert_int_equal(unit_parse_count("9.3e18", &c, err, sizeof err), SIM_ERANGE);
	assert_non_null(strstr(err, "exceeds the bound of 2^63 - 1"));
	assert_int_equal(unit_parse_count("9e18", &c, err, sizeof err), 0);
	assert_true(c == 9000000000000000000LL);
	assert_int_equal(unit_parse_count("0", &c, err, sizeof err), 0);
	assert_int_equal(c, 0);
	assert_int_equal(unit_parse_count("12_", &c, err, sizeof err), SIM_EINVAL);
	assert_int_equal(unit_parse_count("+5", &c, err, sizeof err), 0);
	assert_int_equal(c, 5);
}

/* 100 years of 365.25 days is the largest duration; 1000y is refused as
 * beyond that bound, not as anything else. */
static void test_duration_bound(void **state)
{
	(void)state;
	char err[256];
	int64_t ns = 0;
	assert_int_equal(unit_parse_duration("100y", &ns, err, sizeof err), 0);
	assert_true(ns == UNIT_MAX_DURATION_NS);
	assert_true(ns == 36525LL * 86400 * 1000000000LL);   /* 100 x 365.25 days */
	assert_int_equal(unit_parse_duration("1000y", &ns, err, sizeof err), SIM_ERANGE);
	assert_non_null(strstr(err, "exceeds the bound of 100 years"));
	assert_int_equal(unit_parse_duration("100y1ns", &ns, err, sizeof err), SIM_ERANGE);
	assert_int_equal(unit_parse_duration("0", &ns, err, sizeof err), 0);
	assert_int_equal(ns, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_count_bound),
		cmocka_unit_test(test_duration_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
