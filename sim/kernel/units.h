/* units.h - parse the quantities a scenario file writes as text: durations,
 * rates, sizes, bandwidths, probabilities, counts and timestamps, into the
 * integer units the simulator uses inside (ns, bytes) or doubles (per
 * second, probabilities).
 *
 * Contract, for every unit_parse_*():
 *   - s is a NUL-terminated string; leading and trailing blanks are allowed.
 *   - on success returns 0 and writes *out; on failure returns SIM_EINVAL
 *     (not a valid quantity) or SIM_ERANGE (valid, but out of bounds),
 *     leaves *out untouched and writes a one-line reason (no key, no
 *     position: the caller adds those) into err[0..errlen) if err != NULL.
 *   - No global state, no allocation: safe from any thread.
 *
 * Grammar (case-insensitive units, decimals allowed, '_' digit separators):
 *   duration   NUMBER UNIT [NUMBER UNIT ...]   e.g. 250ms, 30s, 5m, 1h30m
 *              UNIT: ns us ms s sec m min h d w y (y = 365.25 d); a plain
 *              number is seconds.
 *              0 <= value <= UNIT_MAX_DURATION_NS (100 years of 365.25 d);
 *              rounded half up to whole ns.
 *   rate       NUMBER '/' (UNIT | DURATION)   e.g. 30/min, 6/h, 0.5/s,
 *              1200/d, 5/10m.  A unit is required: a bare number is
 *              refused (4 could mean 4/s or 4/h).  0 < rate <= 10^6/s.
 *   size       NUMBER [B|KB|MB|GB|TB|KiB|MiB|GiB|TiB], binary: 1 KB = 1024
 *              B; a plain number is bytes.  0 <= size <= 2^60 B (1 EB).
 *   bandwidth  SIZE '/' (UNIT | DURATION), e.g. 10MB/s; plain = bytes/s;
 *              or bits: NUMBER (bit|kbit|Mbit|Gbit|Tbit) '/' (UNIT |
 *              DURATION), decimal SI as links are rated (2Mbit/s = 2 x
 *              10^6 bits/s = 250,000 bytes/s), read as bytes/s.
 *   probability NUMBER in [0, 1] or NUMBER% in [0%, 100%].
 *   count      a whole number in [0, 2^63 - 1] (1e6 and 10_000 accepted);
 *              plain digits are read exactly.
 *   timestamp  YYYY-MM-DD[(T| )HH:MM[:SS[.frac]]][Z|+HH:MM|-HH:MM] (no
 *              zone = UTC), to whole seconds since 1970-01-01T00:00:00Z.
 */
#ifndef SIM_UNITS_H
#define SIM_UNITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UNIT_NS_PER_S 1000000000LL
/* 100 years of 365.25 days: the bound on any duration in a scenario. */
#define UNIT_MAX_DURATION_NS (36525LL * 86400LL * UNIT_NS_PER_S)
#define UNIT_MAX_RATE_PER_S 1e6
#define UNIT_MAX_SIZE_BYTES (1LL << 60)

int unit_parse_duration(const char *s, int64_t *ns, char *err, size_t errlen);
int unit_parse_rate(const char *s, double *per_s, char *err, size_t errlen);
int unit_parse_size(const char *s, int64_t *bytes, char *err, size_t errlen);
int unit_parse_bandwidth(const char *s, double *bytes_per_s, char *err, size_t errlen);
int unit_parse_probability(const char *s, double *p, char *err, size_t errlen);
int unit_parse_count(const char *s, int64_t *v, char *err, size_t errlen);
/* A finite real number (no unit). */
int unit_parse_real(const char *s, double *v, char *err, size_t errlen);
/* true/false, yes/no, on/off. */
int unit_parse_bool(const char *s, bool *v, char *err, size_t errlen);
int unit_parse_timestamp(const char *s, int64_t *unix_s, char *err, size_t errlen);

/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's algorithm). */
int64_t unit_days_from_civil(int64_t y, unsigned m, unsigned d);

#endif
