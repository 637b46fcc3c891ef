/* tz.h - a time zone as a table of UTC offset changes over a span of
 * time, built once from the system's time zone database and read-only
 * afterwards.
 *
 * Why a table: the C library's localtime() reads the process-wide TZ
 * variable, and setenv()/tzset() while other threads call it is a data
 * race; replications run in parallel threads.  So the zone is read at load
 * time, single-threaded, from its TZif file (RFC 8536: the transitions,
 * then the POSIX TZ rule of the footer for the years after them), and
 * turned into the offset changes that fall in [from, to].  Queries are
 * pure functions of the table: any number of threads may share one.
 *
 * Times are Unix seconds (UTC); local time is the same count shifted by
 * the offset in effect ("local seconds": days_from_civil * 86400 + time
 * of day, read as if it were UTC).
 *
 * Invariants: at_s[] strictly increasing; off_s[i] != off_s[i-1] (and
 * off_s[0] != off0_s); every offset within +-26 h.  Outside [from, to] the
 * offsets are those at its edges.
 *
 * Costs: tz_load reads one file (at most TZ_MAX_FILE bytes) and is
 * O(transitions + years of the span); tz_offset_at is O(log n); the
 * table holds about two entries a year for a zone with daylight saving.
 * "UTC" (and "Etc/UTC") needs no file: an empty table.
 */
#ifndef SIM_TZ_H
#define SIM_TZ_H

#include <stddef.h>
#include <stdint.h>

#include "alloc.h"

#define TZ_NAME_MAX 64
#define TZ_MAX_FILE (1 << 20)

typedef struct tz_table {
	char name[TZ_NAME_MAX]; /* the IANA name it was built from ("UTC", "Europe/Berlin") */
	int32_t off0_s;         /* offset east of UTC before at_s[0] (all of it when n = 0) */
	size_t n;
	int64_t *at_s;          /* instants (UTC) at which the offset changes */
	int32_t *off_s;         /* the offset from at_s[i] on */
} tz_table;

/* The UTC table: no file, no allocation (frees to nothing). */
void tz_utc(tz_table *t);

/* Whether name is a well-formed zone name: 1 to TZ_NAME_MAX - 1 of
 * [A-Za-z0-9_+-] and '/', no empty component, none starting with '.'
 * (so it cannot leave the database's directory). */
int tz_name_ok(const char *name);

/* Build the table of zone name for the instants [from_s, to_s] from the
 * database in the directory dir (NULL: $TZDIR if set, else
 * /usr/share/zoneinfo).  SIM_OK fills *t (caller frees with tz_free and
 * the same allocator); otherwise *t is untouched and err says why:
 * SIM_EINVAL a malformed name or an unknown zone (no such file), SIM_EIO
 * an unreadable or malformed file, SIM_ENOMEM. */
int tz_load(tz_table *t, const char *name, const char *dir, int64_t from_s, int64_t to_s,
	    const sim_alloc *a, char *err, size_t errlen);

/* The same from the bytes of a TZif file (for tests and for tz_load). */
int tz_from_tzif(tz_table *t, const char *name, const unsigned char *buf, size_t len,
		 int64_t from_s, int64_t to_s, const sim_alloc *a, char *err, size_t errlen);

void tz_free(tz_table *t, const sim_alloc *a);

/* The offset east of UTC, in seconds, in effect at instant unix_s. */
int32_t tz_offset_at(const tz_table *t, int64_t unix_s);

/* The instant of local time local_s (local seconds).  A local time that
 * occurs twice (the hour repeated when clocks go back) gives the first;
 * one that does not occur (the hour skipped when clocks go forward) is
 * read with the offset before the change, which lands as far past the
 * change as the time was: 02:30 on a day clocks go from 02:00 to 03:00
 * gives the instant shown as 03:30.  Assumes no two changes within 24 h. */
int64_t tz_utc_of_local(const tz_table *t, int64_t local_s);

#endif
