/* units.c - quantities in scenario files: see units.h for the grammar.
 *
 * Numbers are scanned by hand (no strtod) so that the result does not
 * depend on the C locale's decimal point, and accumulated in long double,
 * whose 64-bit mantissa holds every int64 ns count exactly; the product
 * with a unit is rounded half up once, at the end. */
#include "units.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "status.h"

static int fail(int status, char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return status;
}

static const char *skip_blank(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Scan an unsigned decimal number: digits ['_' digits] ['.' digits]
 * [e[+-]digits].  Returns 1 and advances *pp, or 0 if none is there. */
static int scan_number(const char **pp, long double *out)
{
	const char *p = *pp;
	long double v = 0;
	int digits = 0;
	while (isdigit((unsigned char)*p) || (*p == '_' && digits && isdigit((unsigned char)p[1]))) {
		if (*p != '_') {
			v = v * 10 + (*p - '0');
			digits++;
		}
		p++;
	}
	if (*p == '.' && isdigit((unsigned char)p[1])) {
		long double scale = 0.1L;
		p++;
		while (isdigit((unsigned char)*p)) {
			v += (*p - '0') * scale;
			scale /= 10;
			digits++;
			p++;
		}
	}
	if (!digits)
		return 0;
	if ((*p == 'e' || *p == 'E') &&
	    (isdigit((unsigned char)p[1]) ||
	     ((p[1] == '+' || p[1] == '-') && isdigit((unsigned char)p[2])))) {
		const char *q = p + 1;
		int sign = 1, e = 0;
		if (*q == '+' || *q == '-')
			sign = *q++ == '-' ? -1 : 1;
		while (isdigit((unsigned char)*q)) {
			if (e < 10000)
				e = e * 10 + (*q - '0');
			q++;
		}
		/* 0e9999 is 0, not 0 * inf = NaN; a NaN never leaves here: it
		 * passes every "> bound" test (found by fuzzing the loader) */
		if (v != 0)
			v *= powl(10.0L, (long double)(sign * e));
		p = q;
	}
	if (isnan(v))
		return 0; /* more than 4932 digits scaled by 1e-4951: not a number we read */
	*pp = p;
	*out = v;
	return 1;
}

static int word_eq(const char *a, size_t n, const char *b)
{
	if (strlen(b) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i]))
			return 0;
	return 1;
}

/* ns per time unit, or 0 if the word is not one. */
static long double time_unit_ns(const char *w, size_t n)
{
	static const struct { const char *name; long double ns; } units[] = {
		{ "ns", 1 }, { "us", 1e3L }, { "ms", 1e6L },
		{ "s", 1e9L }, { "sec", 1e9L }, { "secs", 1e9L }, { "second", 1e9L }, { "seconds", 1e9L },
		{ "m", 60e9L }, { "min", 60e9L }, { "mins", 60e9L }, { "minute", 60e9L }, { "minutes", 60e9L },
		{ "h", 3600e9L }, { "hr", 3600e9L }, { "hour", 3600e9L }, { "hours", 3600e9L },
		{ "d", 86400e9L }, { "day", 86400e9L }, { "days", 86400e9L },
		{ "w", 604800e9L }, { "wk", 604800e9L }, { "week", 604800e9L }, { "weeks", 604800e9L },
		/* a Julian year, 365.25 d: only so that "1000000y" meets the bound */
		{ "y", 31557600e9L }, { "year", 31557600e9L }, { "years", 31557600e9L },
	};
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (word_eq(w, n, units[i].name))
			return units[i].ns;
	return 0;
}

static size_t word_len(const char *p)
{
	size_t n = 0;
	while (isalpha((unsigned char)p[n]))
		n++;
	return n;
}

/* A duration in ns as long double, unbounded; 0 or an error status. */
static int duration_ld(const char *s, long double *out, char *err, size_t errlen)
{
	const char *p = skip_blank(s);
	long double total = 0;
	int parts = 0;
	if (*p == '-')
		return fail(SIM_ERANGE, err, errlen, "a duration must not be negative: '%s'", s);
	if (*p == '+')
		p++;
	while (*p) {
		long double v;
		if (!scan_number(&p, &v))
			break;
		p = skip_blank(p);
		size_t n = word_len(p);
		if (n == 0) {
			if (parts == 0 && *skip_blank(p) == '\0') {
				*out = v * 1e9L; /* a plain number is seconds */
				return 0;
			}
			return fail(SIM_EINVAL, err, errlen,
				    "'%s' is not a duration (write e.g. 250ms, 30s, 5m, 2h, 1d, 1w)", s);
		}
		long double u = time_unit_ns(p, n);
		if (u == 0)
			return fail(SIM_EINVAL, err, errlen,
				    "unknown time unit '%.*s' in '%s' (use ns, us, ms, s, m, h, d, w, y)",
				    (int)n, p, s);
		total += v * u;
		parts++;
		p = skip_blank(p + n);
	}
	if (parts == 0 || *p)
		return fail(SIM_EINVAL, err, errlen,
			    "'%s' is not a duration (write e.g. 250ms, 30s, 5m, 2h, 1d, 1w)", s);
	*out = total;
	return 0;
}

int unit_parse_duration(const char *s, int64_t *ns, char *err, size_t errlen)
{
	long double v;
	int rc = duration_ld(s, &v, err, errlen);
	if (rc)
		return rc;
	if (!(v <= (long double)UNIT_MAX_DURATION_NS))
		return fail(SIM_ERANGE, err, errlen,
			    "duration '%s' exceeds the bound of 100 years", s);
	*ns = (int64_t)floorl(v + 0.5L);
	return 0;
}

/* The denominator of a rate: a unit word ("min") or a duration ("10m"). */
static int per_ns(const char *s, const char *whole, long double *out, char *err, size_t errlen)
{
	const char *p = skip_blank(s);
	size_t n = word_len(p);
	if (n && *skip_blank(p + n) == '\0') {
		long double u = time_unit_ns(p, n);
		if (u == 0)
			return fail(SIM_EINVAL, err, errlen,
				    "unknown time unit '%.*s' in '%s' (use s, min, h, d, w)", (int)n, p, whole);
		*out = u;
		return 0;
	}
	if (duration_ld(p, out, NULL, 0) || *out <= 0)
		return fail(SIM_EINVAL, err, errlen,
			    "'%s' is not a rate (write e.g. 30/min, 6/h, 0.5/s, 1200/d)", whole);
	return 0;
}

int unit_parse_rate(const char *s, double *per_s, char *err, size_t errlen)
{
	const char *p = skip_blank(s);
	long double v, den;
	if (*p == '-')
		return fail(SIM_ERANGE, err, errlen, "a rate must be positive: '%s'", s);
	if (!scan_number(&p, &v))
		return fail(SIM_EINVAL, err, errlen,
			    "'%s' is not a rate (write e.g. 30/min, 6/h, 0.5/s, 1200/d)", s);
	p = skip_blank(p);
	if (*p != '/')
		return fail(SIM_EINVAL, err, errlen,
			    "rate '%s' needs a unit (write e.g. %s/s, %s/min or %s/h)", s,
			    skip_blank(s), skip_blank(s), skip_blank(s));
	int rc = per_ns(p + 1, s, &den, err, errlen);
	if (rc)
		return rc;
	long double r = v * 1e9L / den; /* NaN for inf/inf: refused below */
	if (!(r > 0) && !isnan(r))
		return fail(SIM_ERANGE, err, errlen, "a rate must be positive: '%s'", s);
	if (!(r <= UNIT_MAX_RATE_PER_S))
		return fail(SIM_ERANGE, err, errlen, "rate '%s' exceeds the bound of 10^6/s", s);
	*per_s = (double)r;
	return 0;
}

static long double size_unit(const char *w, size_t n)
{
	static const struct { const char *name; long double b; } units[] = {
		{ "b", 1 }, { "byte", 1 }, { "bytes", 1 },
		{ "k", 1024.0L }, { "kb", 1024.0L }, { "kib", 1024.0L },
		{ "m", 1048576.0L }, { "mb", 1048576.0L }, { "mib", 1048576.0L },
		{ "g", 1073741824.0L }, { "gb", 1073741824.0L }, { "gib", 1073741824.0L },
		{ "t", 1099511627776.0L }, { "tb", 1099511627776.0L }, { "tib", 1099511627776.0L },
	};
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (word_eq(w, n, units[i].name))
			return units[i].b;
	return 0;
}

static int size_ld(const char *s, const char *whole, long double *out, char *err, size_t errlen)
{
	const char *p = skip_blank(s);
	long double v;
	if (*p == '-')
		return fail(SIM_ERANGE, err, errlen, "a size must not be negative: '%s'", whole);
	if (*p == '+')
		p++;
	if (!scan_number(&p, &v))
		return fail(SIM_EINVAL, err, errlen,
			    "'%s' is not a size (write e.g. 400KB, 35MB, 100GB, or bytes)", whole);
	p = skip_blank(p);
	size_t n = word_len(p);
	long double u = 1;
	if (n) {
		u = size_unit(p, n);
		if (u == 0)
			return fail(SIM_EINVAL, err, errlen,
				    "unknown size unit '%.*s' in '%s' (use B, KB, MB, GB, TB; binary)",
				    (int)n, p, whole);
		p = skip_blank(p + n);
	}
	*out = v * u;
	return (int)(p - s) + 1; /* > 0: characters consumed + 1 */
}

int unit_parse_size(const char *s, int64_t *bytes, char *err, size_t errlen)
{
	long double v;
	int rc = size_ld(s, s, &v, err, errlen);
	if (rc < 0)
		return rc;
	if (s[rc - 1] != '\0')
		return fail(SIM_EINVAL, err, errlen,
			    "'%s' is not a size (write e.g. 400KB, 35MB, 100GB, or bytes)", s);
	if (!(v <= (long double)UNIT_MAX_SIZE_BYTES))
		return fail(SIM_ERANGE, err, errlen, "size '%s' exceeds the bound of 2^60 bytes (1 EB)", s);
	*bytes = (int64_t)floorl(v + 0.5L);
	return 0;
}

/* Bits, as links are rated: decimal SI (1 kbit = 1000 bits, unlike the
 * binary bytes of a size), spelled out so that "Mb" never has to be read
 * as bits or bytes: 0 if w is not a bit unit. */
static long double bit_unit(const char *w, size_t n)
{
	static const struct { const char *name; long double bits; } units[] = {
		{ "bit", 1 }, { "bits", 1 }, { "kbit", 1e3L }, { "kbits", 1e3L },
		{ "mbit", 1e6L }, { "mbits", 1e6L }, { "gbit", 1e9L }, { "gbits", 1e9L },
		{ "tbit", 1e12L }, { "tbits", 1e12L },
	};
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (word_eq(w, n, units[i].name))
			return units[i].bits;
	return 0;
}

/* NUMBER BITUNIT at s, as bytes: like size_ld (characters consumed + 1),
 * or 0 when s does not name bits (then it is read as a size). */
static int bits_ld(const char *s, long double *out)
{
	const char *p = skip_blank(s);
	long double v;
	if (*p == '+')
		p++;
	if (!scan_number(&p, &v))
		return 0;
	p = skip_blank(p);
	size_t n = word_len(p);
	long double u = n ? bit_unit(p, n) : 0;
	if (u == 0)
		return 0;
	*out = v * u / 8;
	p = skip_blank(p + n);
	return (int)(p - s) + 1;
}

int unit_parse_bandwidth(const char *s, double *bytes_per_s, char *err, size_t errlen)
{
	long double v, den = 1e9L;
	int rc = bits_ld(s, &v);
	if (rc == 0)
		rc = size_ld(s, s, &v, err, errlen);
	if (rc < 0)
		return rc;
	const char *p = s + rc - 1;
	if (*p == '/') {
		rc = per_ns(p + 1, s, &den, err, errlen);
		if (rc)
			return rc;
	} else if (*p) {
		return fail(SIM_EINVAL, err, errlen, "'%s' is not a bandwidth (write e.g. 10MB/s or 2Mbit/s)", s);
	}
	long double r = v * 1e9L / den;
	if (!(r <= (long double)UNIT_MAX_SIZE_BYTES))
		return fail(SIM_ERANGE, err, errlen, "bandwidth '%s' exceeds the bound of 2^60 bytes/s", s);
	*bytes_per_s = (double)r;
	return 0;
}

int unit_parse_real(const char *s, double *v, char *err, size_t errlen)
{
	const char *p = skip_blank(s);
	int neg = 0;
	long double x;
	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (!scan_number(&p, &x) || *skip_blank(p))
		return fail(SIM_EINVAL, err, errlen, "'%s' is not a number", s);
	if (!isfinite((double)x))
		return fail(SIM_ERANGE, err, errlen, "'%s' is too large", s);
	*v = (double)(neg ? -x : x);
	return 0;
}

int unit_parse_probability(const char *s, double *p, char *err, size_t errlen)
{
	const char *q = skip_blank(s);
	long double x;
	if (*q == '-')
		return fail(SIM_ERANGE, err, errlen, "a probability must be in [0, 1]: '%s'", s);
	if (!scan_number(&q, &x))
		return fail(SIM_EINVAL, err, errlen, "'%s' is not a probability (write e.g. 0.05 or 5%%)", s);
	q = skip_blank(q);
	if (*q == '%') {
		x /= 100;
		q = skip_blank(q + 1);
	}
	if (*q)
		return fail(SIM_EINVAL, err, errlen, "'%s' is not a probability (write e.g. 0.05 or 5%%)", s);
	if (!(x <= 1))
		return fail(SIM_ERANGE, err, errlen, "probability '%s' is over 1", s);
	*p = (double)x;
	return 0;
}

int unit_parse_count(const char *s, int64_t *v, char *err, size_t errlen)
{
	const char *p = skip_blank(s);
	long double x;
	if (*p == '-')
		return fail(SIM_ERANGE, err, errlen, "'%s' must not be negative", s);
	if (*p == '+')
		p++;
	/* Plain digits (and '_' separators) are read exactly, so the bound is
	 * 2^63 - 1 itself: a long double may hold only 53 bits. */
	const char *q = p;
	int64_t acc = 0;
	bool digits = false, over = false;
	while (isdigit((unsigned char)*q) || (*q == '_' && digits && isdigit((unsigned char)q[1]))) {
		if (*q != '_') {
			int d = *q - '0';
			if (acc > (INT64_MAX - d) / 10)
				over = true;
			else
				acc = acc * 10 + d;
			digits = true;
		}
		q++;
	}
	if (digits && *skip_blank(q) == '\0') {
		if (over)
			return fail(SIM_ERANGE, err, errlen, "'%s' exceeds the bound of 2^63 - 1", s);
		*v = acc;
		return 0;
	}
	if (!scan_number(&p, &x) || *skip_blank(p))
		return fail(SIM_EINVAL, err, errlen, "'%s' is not a whole number", s);
	if (x != floorl(x))
		return fail(SIM_EINVAL, err, errlen, "'%s' is not a whole number", s);
	/* 1e18 and the like: 2^63 is exact in every long double */
	if (!(x < 9223372036854775808.0L))
		return fail(SIM_ERANGE, err, errlen, "'%s' exceeds the bound of 2^63 - 1", s);
	*v = (int64_t)x;
	return 0;
}

int unit_parse_bool(const char *s, bool *v, char *err, size_t errlen)
{
	const char *p = skip_blank(s);
	size_t n = strlen(p);
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (word_eq(p, n, "true") || word_eq(p, n, "yes") || word_eq(p, n, "on")) {
		*v = true;
		return 0;
	}
	if (word_eq(p, n, "false") || word_eq(p, n, "no") || word_eq(p, n, "off")) {
		*v = false;
		return 0;
	}
	return fail(SIM_EINVAL, err, errlen, "'%s' is not true or false", s);
}

int64_t unit_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* Read exactly n digits. */
static int digits_n(const char **pp, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*pp)[i]))
			return 0;
		v = v * 10 + ((*pp)[i] - '0');
	}
	*pp += n;
	*out = v;
	return 1;
}

int unit_parse_timestamp(const char *s, int64_t *unix_s, char *err, size_t errlen)
{
	const char *p = skip_blank(s);
	int y, mo, d, h = 0, mi = 0, se = 0, off = 0;
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (!digits_n(&p, 4, &y) || *p++ != '-' || !digits_n(&p, 2, &mo) || *p++ != '-' ||
	    !digits_n(&p, 2, &d))
		goto bad;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (!digits_n(&p, 2, &h) || *p++ != ':' || !digits_n(&p, 2, &mi))
			goto bad;
		if (*p == ':') {
			p++;
			if (!digits_n(&p, 2, &se))
				goto bad;
			if (*p == '.') {
				p++;
				if (!isdigit((unsigned char)*p))
					goto bad;
				while (isdigit((unsigned char)*p))
					p++; /* whole seconds: fractions are dropped */
			}
		}
	}
	p = skip_blank(p);
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1, oh, om = 0;
		if (!digits_n(&p, 2, &oh))
			goto bad;
		if (*p == ':')
			p++;
		if (isdigit((unsigned char)*p) && !digits_n(&p, 2, &om))
			goto bad;
		if (oh > 23 || om > 59)
			goto bad;
		off = sign * (oh * 3600 + om * 60);
	}
	if (*skip_blank(p))
		goto bad;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || se > 60)
		return fail(SIM_ERANGE, err, errlen, "'%s' is not a valid date and time", s);
	if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return fail(SIM_ERANGE, err, errlen, "'%s' is not a valid date (%d is not a leap year)", s, y);
	*unix_s = unit_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se - off;
	return 0;
bad:
	return fail(SIM_EINVAL, err, errlen,
		    "'%s' is not a timestamp (write e.g. 2026-03-02T00:00:00Z)", s);
}
