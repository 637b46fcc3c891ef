/* test_tz.c - the time zone table (sim/kernel/tz.h): offsets and their
 * changes against the published rules, worked out by hand in the
 * comments; the footer's POSIX rule alone gives the same table as the
 * transitions; local times in the skipped and the repeated hour; names
 * that could leave the zone directory, and unknown zones, refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "status.h"
#include "tz.h"
#include "units.h"

#define H 3600LL

static int64_t utc(int y, int mo, int d, int h, int mi)
{
	return unit_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * H + mi * 60;
}

/* A TZif version 2 file with no transition and one time type, so the
 * footer's rule decides every instant (RFC 8536 3.3). */
static size_t footer_only(unsigned char *buf, const char *rule, int32_t off0)
{
	size_t n = 0;
	for (int block = 0; block < 2; block++) {
		memcpy(buf + n, "TZif2", 5);
		memset(buf + n + 5, 0, 39);
		buf[n + 39] = 1; /* typecnt */
		buf[n + 43] = 4; /* charcnt */
		n += 44;
		uint32_t o = (uint32_t)off0;
		unsigned char rec[6] = { (unsigned char)(o >> 24), (unsigned char)(o >> 16), (unsigned char)(o >> 8),
					 (unsigned char)o, 0, 0 };
		memcpy(buf + n, rec, 6);
		n += 6;
		memcpy(buf + n, "XXX", 4);
		n += 4;
	}
	buf[n++] = '\n';
	memcpy(buf + n, rule, strlen(rule));
	n += strlen(rule);
	buf[n++] = '\n';
	return n;
}

/* Europe/Berlin in 2026: CET (+1 h) until the last Sunday of March,
 * 2026-03-29 (March 1st is a Sunday: 1, 8, 15, 22, 29), at 01:00 UTC;
 * CEST (+2 h) until the last Sunday of October, 2026-10-25 (October 31st
 * is a Saturday), at 01:00 UTC.  Both from the zone file (its
 * transitions) and from the rule of its footer alone. */
static void check_berlin_2026(const tz_table *t)
{
	assert_int_equal(t->n, 2);
	assert_int_equal(t->off0_s, 3600);
	assert_int_equal(t->at_s[0], utc(2026, 3, 29, 1, 0));
	assert_int_equal(t->off_s[0], 7200);
	assert_int_equal(t->at_s[1], utc(2026, 10, 25, 1, 0));
	assert_int_equal(t->off_s[1], 3600);
	assert_int_equal(tz_offset_at(t, utc(2026, 3, 29, 1, 0) - 1), 3600);
	assert_int_equal(tz_offset_at(t, utc(2026, 3, 29, 1, 0)), 7200);
	assert_int_equal(tz_offset_at(t, utc(2026, 12, 31, 0, 0)), 3600);
}

static void test_berlin(void **state)
{
	(void)state;
	char err[256];
	tz_table t;
	int64_t from = utc(2026, 1, 1, 0, 0), to = utc(2026, 12, 31, 0, 0);
	assert_int_equal(tz_load(&t, "Europe/Berlin", "/usr/share/zoneinfo", from, to, &sim_alloc_std, err,
				 sizeof err), SIM_OK);
	assert_string_equal(t.name, "Europe/Berlin");
	check_berlin_2026(&t);
	/* 09:00 local is 08:00 UTC in winter, 07:00 UTC in summer. */
	assert_int_equal(tz_utc_of_local(&t, utc(2026, 3, 28, 9, 0)), utc(2026, 3, 28, 8, 0));
	assert_int_equal(tz_utc_of_local(&t, utc(2026, 3, 29, 9, 0)), utc(2026, 3, 29, 7, 0));
	/* 02:30 on 2026-03-29 does not exist (02:00 -> 03:00): read with
	 * the offset before, +1 h, it is 01:30 UTC, shown as 03:30 CEST. */
	assert_int_equal(tz_utc_of_local(&t, utc(2026, 3, 29, 2, 30)), utc(2026, 3, 29, 1, 30));
	/* 02:30 on 2026-10-25 happens twice (03:00 -> 02:00): the first,
	 * still CEST (+2 h), is 00:30 UTC. */
	assert_int_equal(tz_utc_of_local(&t, utc(2026, 10, 25, 2, 30)), utc(2026, 10, 25, 0, 30));
	tz_free(&t, &sim_alloc_std);

	unsigned char buf[512];
	size_t n = footer_only(buf, "CET-1CEST,M3.5.0,M10.5.0/3", 3600);
	assert_int_equal(tz_from_tzif(&t, "rule", buf, n, from, to, &sim_alloc_std, err, sizeof err), SIM_OK);
	check_berlin_2026(&t);
	tz_free(&t, &sim_alloc_std);
}

/* The southern hemisphere, from the rule alone: Australia/Sydney
 * (AEST +10 h, AEDT +11 h) ends daylight saving on the first Sunday of
 * April, 2026-04-05 (April 1st is a Wednesday), at 03:00 AEDT = 16:00 UTC
 * the day before, and starts it on the first Sunday of October,
 * 2026-10-04 (October 1st is a Thursday), at 02:00 AEST = 16:00 UTC the
 * day before.  January is in daylight saving. */
static void test_southern_rule(void **state)
{
	(void)state;
	char err[256];
	tz_table t;
	unsigned char buf[512];
	size_t n = footer_only(buf, "AEST-10AEDT,M10.1.0,M4.1.0/3", 36000);
	assert_int_equal(tz_from_tzif(&t, "rule", buf, n, utc(2026, 1, 1, 0, 0), utc(2026, 12, 31, 0, 0),
				      &sim_alloc_std, err, sizeof err), SIM_OK);
	assert_int_equal(t.off0_s, 39600);
	assert_int_equal(t.n, 2);
	assert_int_equal(t.at_s[0], utc(2026, 4, 4, 16, 0));
	assert_int_equal(t.off_s[0], 36000);
	assert_int_equal(t.at_s[1], utc(2026, 10, 3, 16, 0));
	assert_int_equal(t.off_s[1], 39600);
	tz_free(&t, &sim_alloc_std);
	/* No daylight saving: one offset, no change. */
	n = footer_only(buf, "<+0530>-5:30", 19800);
	assert_int_equal(tz_from_tzif(&t, "rule", buf, n, utc(2026, 1, 1, 0, 0), utc(2027, 1, 1, 0, 0),
				      &sim_alloc_std, err, sizeof err), SIM_OK);
	assert_int_equal(t.n, 0);
	assert_int_equal(t.off0_s, 19800);
	tz_free(&t, &sim_alloc_std);
}

/* UTC needs no file; a name that could climb out of the directory is
 * refused before any file is opened; an unknown zone is SIM_EINVAL; a
 * file that is not TZif is SIM_EIO; *t untouched on failure. */
static void test_names(void **state)
{
	(void)state;
	char err[256];
	tz_table t;
	assert_int_equal(tz_load(&t, "UTC", "/nonexistent", 0, 86400, &sim_alloc_std, err, sizeof err), SIM_OK);
	assert_int_equal(t.n, 0);
	assert_int_equal(t.off0_s, 0);
	assert_int_equal(tz_utc_of_local(&t, 12345), 12345);
	static const char *const bad[] = { "../etc/passwd", "/etc/passwd", "Europe//Berlin", "Europe/",
					   "Europe/.hidden", "", "a b", NULL };
	for (int i = 0; bad[i]; i++) {
		assert_false(tz_name_ok(bad[i]));
		memset(&t, 0x5a, sizeof t);
		assert_int_equal(tz_load(&t, bad[i], NULL, 0, 86400, &sim_alloc_std, err, sizeof err), SIM_EINVAL);
		assert_int_equal(t.n, 0x5a5a5a5a5a5a5a5aULL);
	}
	assert_true(tz_name_ok("America/Argentina/Buenos_Aires"));
	assert_true(tz_name_ok("Etc/GMT+5"));
	assert_int_equal(tz_load(&t, "Europe/Berln", "/usr/share/zoneinfo", 0, 86400, &sim_alloc_std, err,
				 sizeof err), SIM_EINVAL);
	assert_non_null(strstr(err, "unknown time zone 'Europe/Berln'"));
	unsigned char junk[64] = "not a zone file";
	assert_int_equal(tz_from_tzif(&t, "x", junk, sizeof junk, 0, 86400, &sim_alloc_std, err, sizeof err),
			 SIM_EIO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_berlin),
		cmocka_unit_test(test_southern_rule),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
