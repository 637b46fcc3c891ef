/* tz.c - a time zone's offset changes over a span, from its TZif file
 * (RFC 8536) and the POSIX TZ rule of its footer.  See tz.h.
 */
#include "tz.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rfile.h"
#include "status.h"
#include "units.h"

#define DAY 86400LL
/* Offsets beyond +-26 h do not exist (the widest is +14 h): refusing them
 * keeps local seconds far from overflow and the 24 h look-around of
 * tz_utc_of_local valid. */
#define TZ_MAX_OFF (26 * 3600)

static int fail(int st, char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return st;
}

void tz_utc(tz_table *t)
{
	memset(t, 0, sizeof *t);
	snprintf(t->name, sizeof t->name, "UTC");
}

int tz_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n >= TZ_NAME_MAX)
		return 0;
	bool comp_start = true;
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];
		if (ch == '/') {
			if (comp_start)
				return 0; /* leading '/' or "//" */
			comp_start = true;
			continue;
		}
		if (comp_start && ch == '.')
			return 0;
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		      ch == '_' || ch == '+' || ch == '-' || ch == '.'))
			return 0;
		comp_start = false;
	}
	return !comp_start;
}

/* ---- civil dates -------------------------------------------------------- */

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* The proleptic Gregorian year of day number z (days since 1970-01-01). */
static int64_t year_of_days(int64_t z)
{
	z += 719468;
	int64_t era = floor_div(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t y = yoe + era * 400;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	return mp >= 10 ? y + 1 : y;
}

static bool leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int64_t y, int m)
{
	static const int md[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return m == 2 && leap(y) ? 29 : md[m - 1];
}

/* ---- the POSIX TZ rule of the footer (RFC 8536 3.3, POSIX TZ) -------- */

typedef struct rule_date {
	char kind;   /* 'J': Julian 1..365 without Feb 29; 'N': 0..365 with it; 'M': month.week.day */
	int n, m, w, d;
	int32_t time_s;  /* local time of the change, default 02:00, may be negative or past 24 h */
} rule_date;

typedef struct tz_rule {
	int32_t std_off, dst_off;  /* east of UTC */
	bool has_dst;
	rule_date start, end;
} tz_rule;

static bool rd_num(const char **p, int lo, int hi, int maxdig, int *out)
{
	int v = 0, k = 0;
	while (**p >= '0' && **p <= '9' && k < maxdig) {
		v = v * 10 + (**p - '0');
		(*p)++;
		k++;
	}
	if (k == 0 || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/* [+-]hh[:mm[:ss]] with hours up to max_h: seconds, signed. */
static bool rd_hms(const char **p, int max_h, int32_t *out)
{
	int sign = 1, h, m = 0, s = 0;
	if (**p == '+' || **p == '-')
		sign = *(*p)++ == '-' ? -1 : 1;
	if (!rd_num(p, 0, max_h, 3, &h))
		return false;
	if (**p == ':') {
		(*p)++;
		if (!rd_num(p, 0, 59, 2, &m))
			return false;
		if (**p == ':') {
			(*p)++;
			if (!rd_num(p, 0, 59, 2, &s))
				return false;
		}
	}
	*out = sign * (h * 3600 + m * 60 + s);
	return true;
}

static bool rd_name(const char **p)
{
	const char *q = *p;
	if (*q == '<') {
		q++;
		while (*q && *q != '>')
			q++;
		if (*q != '>' || q - *p < 4)
			return false;
		*p = q + 1;
		return true;
	}
	while ((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z'))
		q++;
	if (q - *p < 3)
		return false;
	*p = q;
	return true;
}

static bool rd_date(const char **p, rule_date *r)
{
	memset(r, 0, sizeof *r);
	r->time_s = 2 * 3600;
	if (**p == 'J') {
		(*p)++;
		r->kind = 'J';
		if (!rd_num(p, 1, 365, 3, &r->n))
			return false;
	} else if (**p == 'M') {
		(*p)++;
		r->kind = 'M';
		if (!rd_num(p, 1, 12, 2, &r->m) || *(*p)++ != '.' || !rd_num(p, 1, 5, 1, &r->w) ||
		    *(*p)++ != '.' || !rd_num(p, 0, 6, 1, &r->d))
			return false;
	} else {
		r->kind = 'N';
		if (!rd_num(p, 0, 365, 3, &r->n))
			return false;
	}
	if (**p == '/') {
		(*p)++;
		if (!rd_hms(p, 167, &r->time_s))
			return false;
	}
	return true;
}

static bool parse_rule(const char *s, tz_rule *r)
{
	const char *p = s;
	int32_t v;
	memset(r, 0, sizeof *r);
	if (!rd_name(&p) || !rd_hms(&p, 24, &v))
		return false;
	r->std_off = -v; /* POSIX counts west of UTC */
	if (!*p)
		return true;
	if (!rd_name(&p))
		return false;
	r->has_dst = true;
	r->dst_off = r->std_off + 3600;
	if (*p && *p != ',') {
		if (!rd_hms(&p, 24, &v))
			return false;
		r->dst_off = -v;
	}
	if (!*p) { /* no rule given: POSIX leaves it to the implementation; glibc's */
		const char *dflt = "M3.2.0,M11.1.0";
		return rd_date(&dflt, &r->start) && *dflt++ == ',' && rd_date(&dflt, &r->end);
	}
	if (*p++ != ',' || !rd_date(&p, &r->start) || *p++ != ',' || !rd_date(&p, &r->end))
		return false;
	return *p == '\0';
}

/* The instant of rule date r in year y, when the offset in effect before
 * it is off. */
static int64_t rule_instant(const rule_date *r, int64_t y, int32_t off)
{
	int64_t day;
	if (r->kind == 'J')
		day = unit_days_from_civil(y, 1, 1) + r->n - 1 + (leap(y) && r->n >= 60);
	else if (r->kind == 'N')
		day = unit_days_from_civil(y, 1, 1) + r->n;
	else {
		int64_t first = unit_days_from_civil(y, (unsigned)r->m, 1);
		int wd = (int)(((first + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday (0 = Sunday) */
		int64_t dom = (r->d - wd + 7) % 7 + 7LL * (r->w - 1);
		while (dom >= month_days(y, r->m))
			dom -= 7;
		day = first + dom;
	}
	return day * DAY + r->time_s - off;
}

static int32_t rule_offset(const tz_rule *r, int64_t x)
{
	if (!r->has_dst)
		return r->std_off;
	int64_t y = year_of_days(floor_div(x, DAY));
	/* Daylight saving runs from the start of year k to the end of year k
	 * (or of year k + 1 in the southern hemisphere); look at the
	 * intervals that begin in the year before x's and in x's. */
	for (int64_t k = y - 1; k <= y; k++) {
		int64_t a = rule_instant(&r->start, k, r->std_off);
		int64_t b = rule_instant(&r->end, k, r->dst_off);
		if (b <= a)
			b = rule_instant(&r->end, k + 1, r->dst_off);
		if (x >= a && x < b)
			return r->dst_off;
	}
	return r->std_off;
}

/* ---- the TZif file -------------------------------------------------------- */

typedef struct tzif {
	size_t n_tr;
	const unsigned char *times; /* n_tr big-endian times of time_size bytes */
	const unsigned char *idx;   /* n_tr type indexes */
	int time_size;
	size_t n_types;
	const unsigned char *types; /* n_types records of 6 bytes */
	bool has_rule;
	tz_rule rule;
} tzif;

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t tr_time(const tzif *z, size_t i)
{
	const unsigned char *p = z->times + i * (size_t)z->time_size;
	if (z->time_size == 4)
		return (int32_t)be32(p);
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static int32_t type_off(const tzif *z, size_t t)
{
	return (int32_t)be32(z->types + 6 * t);
}

static int32_t file_offset(const tzif *z, int64_t x)
{
	if (z->n_tr == 0)
		return z->has_rule ? rule_offset(&z->rule, x) : type_off(z, 0);
	if (x < tr_time(z, 0))
		return type_off(z, 0);
	if (x > tr_time(z, z->n_tr - 1) && z->has_rule)
		return rule_offset(&z->rule, x);
	size_t lo = 0, hi = z->n_tr; /* the last transition at or before x */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (tr_time(z, mid) <= x)
			lo = mid;
		else
			hi = mid;
	}
	return type_off(z, z->idx[lo]);
}

/* One header and its data block at buf[*at]; time_size 4 or 8. */
static bool read_block(const unsigned char *buf, size_t len, size_t *at, int time_size, tzif *z, char *ver)
{
	size_t o = *at;
	if (len - o < 44 || memcmp(buf + o, "TZif", 4))
		return false;
	*ver = (char)buf[o + 4];
	uint32_t isut = be32(buf + o + 20), isstd = be32(buf + o + 24), leapc = be32(buf + o + 28),
		 timec = be32(buf + o + 32), typec = be32(buf + o + 36), charc = be32(buf + o + 40);
	o += 44;
	uint64_t need = (uint64_t)timec * (uint64_t)time_size + timec + (uint64_t)typec * 6 + charc +
			(uint64_t)leapc * (uint64_t)(time_size + 4) + isstd + isut;
	if (typec == 0 || need > len - o)
		return false;
	z->n_tr = timec;
	z->time_size = time_size;
	z->times = buf + o;
	z->idx = buf + o + (size_t)timec * (size_t)time_size;
	z->n_types = typec;
	z->types = z->idx + timec;
	*at = o + (size_t)need;
	return true;
}

static int tzif_parse(const unsigned char *buf, size_t len, tzif *z, char *err, size_t errlen)
{
	size_t at = 0;
	char ver;
	memset(z, 0, sizeof *z);
	if (!read_block(buf, len, &at, 4, z, &ver))
		return fail(SIM_EIO, err, errlen, "not a TZif file, or cut short");
	if (ver >= '2') {
		if (!read_block(buf, len, &at, 8, z, &ver))
			return fail(SIM_EIO, err, errlen, "a TZif file whose 64-bit block is cut short");
		/* The footer: "\n" TZ "\n"; an empty TZ means none. */
		if (at < len && buf[at] == '\n') {
			const unsigned char *nl = memchr(buf + at + 1, '\n', len - at - 1);
			if (!nl)
				return fail(SIM_EIO, err, errlen, "a TZif file whose footer is cut short");
			size_t n = (size_t)(nl - (buf + at + 1));
			if (n > 0) {
				char s[128];
				if (n >= sizeof s)
					return fail(SIM_EIO, err, errlen, "a TZif footer of %zu bytes", n);
				memcpy(s, buf + at + 1, n);
				s[n] = '\0';
				if (!parse_rule(s, &z->rule))
					return fail(SIM_EIO, err, errlen, "a TZif footer rule that cannot be read");
				z->has_rule = true;
			}
		}
	}
	for (size_t i = 0; i < z->n_tr; i++) {
		if (z->idx[i] >= z->n_types || (i > 0 && tr_time(z, i) <= tr_time(z, i - 1)))
			return fail(SIM_EIO, err, errlen, "a TZif file whose transitions are out of order");
	}
	for (size_t t = 0; t < z->n_types; t++) {
		int32_t o = type_off(z, t);
		if (o < -TZ_MAX_OFF || o > TZ_MAX_OFF)
			return fail(SIM_EIO, err, errlen, "a TZif offset of %ld s", (long)o);
	}
	if (z->has_rule && (z->rule.std_off < -TZ_MAX_OFF || z->rule.std_off > TZ_MAX_OFF ||
			    z->rule.dst_off < -TZ_MAX_OFF || z->rule.dst_off > TZ_MAX_OFF))
		return fail(SIM_EIO, err, errlen, "a TZif footer offset beyond 26 h");
	return SIM_OK;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

int tz_from_tzif(tz_table *t, const char *name, const unsigned char *buf, size_t len,
		 int64_t from_s, int64_t to_s, const sim_alloc *a, char *err, size_t errlen)
{
	tzif z;
	int st = tzif_parse(buf, len, &z, err, errlen);
	if (st != SIM_OK)
		return st;
	if (to_s < from_s)
		to_s = from_s;
	/* Candidate instants: the file's transitions in (from, to], and the
	 * rule's changes of every year the span touches after them. */
	size_t cap = z.n_tr, n = 0;
	int64_t y0 = year_of_days(floor_div(from_s, DAY)) - 1, y1 = year_of_days(floor_div(to_s, DAY)) + 1;
	if (z.has_rule && z.rule.has_dst)
		cap += 2 * (size_t)(y1 - y0 + 1);
	int64_t *cand = cap ? sim_malloc(a, cap * sizeof *cand) : NULL;
	if (cap && !cand)
		return fail(SIM_ENOMEM, err, errlen, "out of memory");
	for (size_t i = 0; i < z.n_tr; i++) {
		int64_t x = tr_time(&z, i);
		if (x > from_s && x <= to_s)
			cand[n++] = x;
	}
	if (z.has_rule && z.rule.has_dst) {
		int64_t last = z.n_tr ? tr_time(&z, z.n_tr - 1) : INT64_MIN;
		for (int64_t y = y0; y <= y1; y++) {
			int64_t xs[2] = { rule_instant(&z.rule.start, y, z.rule.std_off),
					  rule_instant(&z.rule.end, y, z.rule.dst_off) };
			for (int k = 0; k < 2; k++)
				if (xs[k] > from_s && xs[k] <= to_s && xs[k] > last)
					cand[n++] = xs[k];
		}
	}
	if (n > 1)
		qsort(cand, n, sizeof *cand, cmp_i64);
	/* Keep the instants where the offset changes, in place. */
	int32_t cur = file_offset(&z, from_s), off0 = cur;
	size_t m = 0;
	int32_t *offs = n ? sim_malloc(a, n * sizeof *offs) : NULL;
	if (n && !offs) {
		sim_free(a, cand, cap * sizeof *cand);
		return fail(SIM_ENOMEM, err, errlen, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		int32_t o = file_offset(&z, cand[i]);
		if (o != cur && (m == 0 || cand[i] != cand[m - 1])) {
			cand[m] = cand[i];
			offs[m++] = o;
			cur = o;
		}
	}
	int64_t *at = NULL;
	int32_t *off = NULL;
	if (m) {
		at = sim_malloc(a, m * sizeof *at);
		off = sim_malloc(a, m * sizeof *off);
		if (!at || !off) {
			sim_free(a, at, m * sizeof *at);
			sim_free(a, off, m * sizeof *off);
			sim_free(a, cand, cap * sizeof *cand);
			sim_free(a, offs, n * sizeof *offs);
			return fail(SIM_ENOMEM, err, errlen, "out of memory");
		}
		memcpy(at, cand, m * sizeof *at);
		memcpy(off, offs, m * sizeof *off);
	}
	sim_free(a, cand, cap * sizeof *cand);
	sim_free(a, offs, n * sizeof *offs);
	memset(t, 0, sizeof *t);
	snprintf(t->name, sizeof t->name, "%s", name);
	t->off0_s = off0;
	t->n = m;
	t->at_s = at;
	t->off_s = off;
	return SIM_OK;
}

int tz_load(tz_table *t, const char *name, const char *dir, int64_t from_s, int64_t to_s,
	    const sim_alloc *a, char *err, size_t errlen)
{
	if (!tz_name_ok(name))
		return fail(SIM_EINVAL, err, errlen, "'%s' is not a time zone name (write e.g. Europe/Berlin)", name);
	if (!strcmp(name, "UTC") || !strcmp(name, "Etc/UTC")) {
		tz_utc(t);
		snprintf(t->name, sizeof t->name, "%s", name);
		return SIM_OK;
	}
	if (!dir)
		dir = getenv("TZDIR");
	if (!dir || !*dir)
		dir = "/usr/share/zoneinfo";
	char path[4096];
	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
		return fail(SIM_EINVAL, err, errlen, "the time zone directory's name is too long");
	int e = 0;
	FILE *f = rfile_open(path, &e);
	if (!f) {
		if (e == ENOENT || e == ENOTDIR || e == 0)
			return fail(SIM_EINVAL, err, errlen, "unknown time zone '%s' (no zone file %s)", name, path);
		return fail(SIM_EIO, err, errlen, "cannot read %s: %s", path, strerror(e));
	}
	unsigned char *buf = sim_malloc(a, TZ_MAX_FILE);
	if (!buf) {
		fclose(f);
		return fail(SIM_ENOMEM, err, errlen, "out of memory");
	}
	size_t len = fread(buf, 1, TZ_MAX_FILE, f);
	bool bad = ferror(f) || !feof(f);
	fclose(f);
	int st;
	if (bad)
		st = fail(SIM_EIO, err, errlen, "cannot read %s (or it is over 1 MB)", path);
	else {
		char why[160] = "";
		st = tz_from_tzif(t, name, buf, len, from_s, to_s, a, why, sizeof why);
		if (st == SIM_EIO)
			fail(st, err, errlen, "%s: %s", path, why);
		else if (st != SIM_OK)
			fail(st, err, errlen, "%s", why);
	}
	sim_free(a, buf, TZ_MAX_FILE);
	return st;
}

void tz_free(tz_table *t, const sim_alloc *a)
{
	if (!t)
		return;
	sim_free(a, t->at_s, t->n * sizeof *t->at_s);
	sim_free(a, t->off_s, t->n * sizeof *t->off_s);
	t->at_s = NULL;
	t->off_s = NULL;
	t->n = 0;
}

int32_t tz_offset_at(const tz_table *t, int64_t unix_s)
{
	if (t->n == 0 || unix_s < t->at_s[0])
		return t->off0_s;
	size_t lo = 0, hi = t->n;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->at_s[mid] <= unix_s)
			lo = mid;
		else
			hi = mid;
	}
	return t->off_s[lo];
}

int64_t tz_utc_of_local(const tz_table *t, int64_t local_s)
{
	/* The offsets a day either side of the instant are the only ones
	 * that can hold (changes are more than 24 h apart); the one before
	 * is tried first, so the first of a repeated hour wins. */
	int32_t before = tz_offset_at(t, local_s - DAY), after = tz_offset_at(t, local_s + DAY);
	int32_t cands[2] = { before, after };
	int64_t best = INT64_MAX;
	for (int k = 0; k < 2; k++) {
		int64_t u = local_s - cands[k];
		if (tz_offset_at(t, u) == cands[k] && u < best)
			best = u;
	}
	return best != INT64_MAX ? best : local_s - before;
}
