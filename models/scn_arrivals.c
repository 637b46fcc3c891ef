/* scn_arrivals.c - a sender's `arrivals:`: poisson, periodic (with
 * jitter or a fixed phase), bursts (at random, or scheduled: daily at a
 * local time of day, or once) or a trace, and the weekly profile that
 * modulates them.
 */
#include "scn_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scn_budget.h"
#include "status.h"
#include "units.h"

static const char *const day_names[] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun", NULL };
static const char *const day_long[] = { "monday", "tuesday", "wednesday", "thursday", "friday",
					"saturday", "sunday", NULL };

static int day_index(const char *s)
{
	for (int i = 0; day_names[i]; i++) {
		size_t n = strlen(s);
		if (n >= 3 && n <= strlen(day_long[i]) && !strncmp(s, day_long[i], n) &&
		    !strncmp(s, day_names[i], 3))
			return i;
	}
	return -1;
}

/* "08" or "10-16" (inclusive); 0 and sets *lo, *hi, or -1. */
static int hour_range(const char *s, int *lo, int *hi)
{
	char *end;
	errno = 0;
	long a = strtol(s, &end, 10), b = a;
	if (end == s || a < 0 || a > 23)
		return -1;
	if (*end == '-') {
		const char *q = end + 1;
		b = strtol(q, &end, 10);
		if (end == q || b < a || b > 23)
			return -1;
	}
	if (*end)
		return -1;
	*lo = (int)a;
	*hi = (int)b;
	return 0;
}

static void parse_profile(scn_ctx *c, const yml_node *n, const char *path, scn_arrivals *ar)
{
	static const char *const keys[] = { "hours", "days", NULL };
	const yml_node *m = scn_want_map(c, n, path);
	char p[SCN_PATH_MAX], q[SCN_PATH_MAX];
	if (!m)
		return;
	scn_check_keys(c, m, path, keys);
	ar->has_profile = true;
	for (int h = 0; h < 24; h++)
		ar->hour[h] = 1;
	for (int d = 0; d < 7; d++)
		ar->day[d] = 1;
	const yml_node *hn = yml_get(m, "hours");
	scn_pjoin(p, path, "hours");
	if (hn && (hn = scn_want_map(c, hn, p))) {
		for (int h = 0; h < 24; h++)
			ar->hour[h] = 0; /* hours not listed: no arrivals */
		for (size_t i = 0; i < hn->n; i++) {
			int lo, hi;
			double v;
			scn_pjoin(q, p, hn->items[i].key);
			if (hour_range(hn->items[i].key, &lo, &hi)) {
				scn_err_at(c, hn->items[i].line, hn->items[i].col, q,
				       "'%s' is not an hour (00-23) or a range of hours (10-16)", hn->items[i].key);
				continue;
			}
			if (!scn_val_dbl(c, hn->items[i].val, q, unit_parse_real, "a rate multiplier", &v))
				continue;
			if (!(v >= 0) || v > 1e6) {
				scn_err_node(c, hn->items[i].val, q, "a multiplier must be in [0, 10^6], got %g", v);
				continue;
			}
			for (int h = lo; h <= hi; h++)
				ar->hour[h] = v;
		}
	}
	const yml_node *dn = yml_get(m, "days");
	scn_pjoin(p, path, "days");
	if (dn && dn->type == YML_SEQ) {
		for (int d = 0; d < 7; d++)
			ar->day[d] = 0;
		for (size_t i = 0; i < dn->n; i++) {
			const yml_node *it = dn->items[i].val;
			int d;
			if (!scn_want_scalar(c, it, p, "a day name (mon..sun)"))
				continue;
			if ((d = day_index(it->str)) < 0) {
				const char *sug = yml_nearest_of(it->str, day_names);
				if (sug)
					scn_err_node(c, it, p, "unknown day '%s' (did you mean '%s'?)", it->str, sug);
				else
					scn_err_node(c, it, p, "unknown day '%s' (expected mon, tue, wed, thu, fri, sat or sun)", it->str);
				continue;
			}
			ar->day[d] = 1;
		}
	} else if (dn && (dn = scn_want_map(c, dn, p))) {
		for (int d = 0; d < 7; d++)
			ar->day[d] = 0;
		for (size_t i = 0; i < dn->n; i++) {
			int d;
			double v;
			scn_pjoin(q, p, dn->items[i].key);
			if ((d = day_index(dn->items[i].key)) < 0) {
				scn_err_at(c, dn->items[i].line, dn->items[i].col, q,
				       "unknown day '%s' (expected mon, tue, wed, thu, fri, sat or sun)", dn->items[i].key);
				continue;
			}
			if (!scn_val_dbl(c, dn->items[i].val, q, unit_parse_real, "a rate multiplier", &v))
				continue;
			if (!(v >= 0) || v > 1e6) {
				scn_err_node(c, dn->items[i].val, q, "a multiplier must be in [0, 10^6], got %g", v);
				continue;
			}
			ar->day[d] = v;
		}
	}
	double hmax = 0, dmax = 0;
	for (int h = 0; h < 24; h++)
		if (ar->hour[h] > hmax)
			hmax = ar->hour[h];
	for (int d = 0; d < 7; d++)
		if (ar->day[d] > dmax)
			dmax = ar->day[d];
	ar->profile_max = hmax * dmax;
	if (!(ar->profile_max > 0))
		scn_err_node(c, m, path, "the profile is zero at every hour: no message would arrive");
}

/* The rate bound (UNIT_MAX_RATE_PER_S, messages per second per instance)
 * holds for what the arrivals give together: a periodic interval (1 us at
 * least), a rate at the profile's peak, bursts of up to SCN_MAX_BURST
 * messages at their mean size. */
static void arrival_bounds(scn_ctx *c, const yml_node *m, const char *path, const scn_arrivals *ar)
{
	char p[SCN_PATH_MAX];
	double peak = ar->has_profile ? ar->profile_max : 1;
	const char *key = ar->has_profile ? "profile" : ar->kind == ARR_PERIODIC ? "periodic" : "poisson";
	double per_s = 0;
	if (!(peak > 0))
		return; /* reported by the profile */
	switch (ar->kind) {
	case ARR_POISSON:
		per_s = ar->rate_per_s * peak;
		break;
	case ARR_PERIODIC:
		per_s = ar->interval_ns > 0 ? 1e9 / (double)ar->interval_ns * peak : 0;
		break;
	case ARR_BURSTS: {
		if (ar->when != BURST_RANDOM)
			return; /* bounded where parsed: count <= 10^6, count / over <= 10^6/s */
		double bmax = scn_dist_max(&ar->burst_size), bmean = scn_dist_mean(&ar->burst_size);
		const yml_node *b = yml_get(m, "bursts");
		if (bmax > (double)SCN_MAX_BURST && (isfinite(bmax) || bmean > (double)SCN_MAX_BURST / 100)) {
			scn_pjoin(p, path, "bursts.size");
			scn_err_node(c, yml_get(b, "size") ? yml_get(b, "size") : b, p,
				     "bursts of up to %.3g messages exceed the bound of 10^6 per burst%s", bmax,
				     isfinite(bmax) ? "" : " (a mean above 10^4 with no largest value)");
			return;
		}
		per_s = ar->rate_per_s * peak * bmean;
		key = ar->has_profile ? "profile" : "bursts";
		break;
	}
	default:
		return;
	}
	if (per_s > UNIT_MAX_RATE_PER_S) {
		scn_pjoin(p, path, key);
		scn_err_node(c, yml_get(m, key) ? yml_get(m, key) : m, p,
			     "%.3g messages per second%s exceed the rate bound of 10^6/s", per_s,
			     ar->has_profile ? " at the profile's peak" : ar->kind == ARR_BURSTS ? " (bursts x their mean size)" : "");
	}
}

static const char *const arrival_keys[] = { "poisson", "periodic", "jitter", "phase", "bursts", "trace",
					     "record", "identity", "scale", "profile", NULL };
static const char *const burst_keys[] = { "rate", "size", "spacing", "at", "count", "over", "days", NULL };

/* "09:00" or "09:00:30": seconds after midnight, or -1. */
static int64_t time_of_day(const char *s)
{
	int v[3] = { 0, 0, 0 }, k = 0;
	const char *p = s;
	for (;;) {
		int digits = 0, x = 0;
		while (*p >= '0' && *p <= '9' && digits < 3) {
			x = x * 10 + (*p++ - '0');
			digits++;
		}
		if (digits == 0 || digits > 2 || (k > 0 && digits != 2))
			return -1;
		v[k++] = x;
		if (*p != ':' || k == 3)
			break;
		p++;
	}
	if (*p || k < 2 || v[0] > 23 || v[1] > 59 || v[2] > 59)
		return -1;
	return v[0] * 3600LL + v[1] * 60LL + v[2];
}

/* A scheduled burst: `at` (a time of day, every day of `days`, or a date
 * and time, once), `count` messages spread evenly over `over`.  Times
 * without an offset are the scenario's local time (s->tz). */
static void parse_scheduled(scn_ctx *c, const yml_node *b, const char *p, const scenario *s, scn_arrivals *ar)
{
	char q[SCN_PATH_MAX];
	const yml_node *at = yml_get(b, "at");
	static const char *const random_keys[] = { "rate", "size", "spacing", NULL };
	for (int i = 0; random_keys[i]; i++)
		if (yml_get(b, random_keys[i])) {
			scn_pjoin(q, p, random_keys[i]);
			scn_err_node(c, yml_get(b, random_keys[i]), q, "a scheduled burst (at:) takes count, over and "
				     "days; %s is for bursts at random", random_keys[i]);
		}
	scn_pjoin(q, p, "at");
	ar->burst_size.kind = DIST_FIXED;
	ar->burst_size.a = 1;
	if (scn_want_scalar(c, at, q, "a time of day (09:00) or a date and time (2026-03-02T09:00)")) {
		int64_t tod = time_of_day(at->str), when;
		char why[160];
		if (tod >= 0) {
			ar->when = BURST_DAILY;
			ar->at_s = tod;
		} else if (unit_parse_timestamp(at->str, &when, why, sizeof why) == 0) {
			ar->when = BURST_ONCE;
			ar->at_s = scn_ts_has_offset(at->str) ? when : tz_utc_of_local(&s->tz, when);
			if (ar->at_s < s->start_unix_s)
				scn_err_node(c, at, q, "'%s' is before the scenario's start", at->str);
		} else
			scn_err_node(c, at, q, "'%s' is not a time of day (09:00, 09:00:30) or a date and time "
				     "(2026-03-02T09:00)", at->str);
	}
	ar->days_mask = 0x7f;
	const yml_node *dn = yml_get(b, "days");
	scn_pjoin(q, p, "days");
	if (dn && ar->when == BURST_ONCE)
		scn_err_node(c, dn, q, "a burst at a date and time happens once: days are for a time of day");
	else if (dn && dn->type != YML_SEQ)
		scn_err_node(c, dn, q, "expected a list of days (e.g. [mon, tue, wed, thu, fri])");
	else if (dn) {
		ar->days_mask = 0;
		for (size_t i = 0; i < dn->n; i++) {
			const yml_node *it = dn->items[i].val;
			int d;
			if (!scn_want_scalar(c, it, q, "a day name (mon..sun)"))
				continue;
			if ((d = day_index(it->str)) < 0) {
				scn_err_node(c, it, q, "unknown day '%s' (expected mon, tue, wed, thu, fri, sat or sun)", it->str);
				continue;
			}
			ar->days_mask |= (uint8_t)(1u << d);
		}
		if (ar->days_mask == 0 && dn->n == 0)
			scn_err_node(c, dn, q, "no day: the burst would never happen");
	}
	const yml_node *cn = yml_get(b, "count");
	int64_t count = 0;
	if (!cn)
		scn_err_node(c, b, p, "needs a count (messages per burst)");
	else if (scn_opt_count(c, b, "count", p, 1, SCN_MAX_BURST, "10^6 per burst", &count))
		ar->burst_size.a = (double)count;
	ar->over_ns = 0;
	scn_pjoin(q, p, "over");
	if (scn_opt_dur(c, b, "over", p, &ar->over_ns)) {
		if (ar->when == BURST_DAILY && ar->over_ns > 23 * 3600 * SCN_NS_PER_S)
			scn_err_node(c, yml_get(b, "over"), q, "a daily burst must be over within 23 h (the "
				     "shortest day, when clocks go forward), before the next begins");
		else if (count > 0 && ar->over_ns > 0 &&
			 (double)count / ((double)ar->over_ns / 1e9) > UNIT_MAX_RATE_PER_S)
			scn_err_node(c, yml_get(b, "over"), q, "%lld messages over %s exceed the rate bound of "
				     "10^6/s", (long long)count, yml_get(b, "over")->str);
	}
	/* The mean rate of bursts, for the run's estimates (scn_budget.c). */
	int ndays = 0;
	for (int d = 0; d < 7; d++)
		ndays += (ar->days_mask >> d) & 1;
	if (ar->when == BURST_DAILY)
		ar->rate_per_s = ndays / 7.0 / 86400.0;
	else if (ar->when == BURST_ONCE && s->duration_ns > 0)
		ar->rate_per_s = 1e9 / (double)s->duration_ns;
}

void scn_parse_arrivals(scn_ctx *c, const yml_node *n, const char *path, const scenario *s, scn_sender *snd,
			   bool count_given)
{
	scn_arrivals *ar = &snd->arrivals;
	char p[SCN_PATH_MAX];
	const yml_node *m = scn_want_map(c, n, path);
	if (!m) {
		if (!n || n->type == YML_NULL)
			scn_err_at(c, n ? n->line : 0, n ? n->col : 0, path,
			       "needs one of poisson, periodic, bursts, trace or record");
		return;
	}
	scn_check_keys(c, m, path, arrival_keys);
	int kinds = 0;
	const char *kind_keys[] = { "poisson", "periodic", "bursts", "trace", "record" };
	for (int i = 0; i < 5; i++)
		kinds += yml_get(m, kind_keys[i]) != NULL;
	if (kinds != 1) {
		scn_err_node(c, m, path, kinds ? "give only one of poisson, periodic, bursts, trace or record"
					   : "needs one of poisson, periodic, bursts, trace or record");
		return;
	}
	if (!yml_get(m, "record")) {
		static const char *const rec_keys[] = { "identity", "scale" };
		for (int i = 0; i < 2; i++)
			if (yml_get(m, rec_keys[i])) {
				scn_pjoin(p, path, rec_keys[i]);
				scn_err_node(c, yml_get(m, rec_keys[i]), p, "%s applies to record arrivals only",
					     rec_keys[i]);
			}
	}
	yml_node *k;
	if (yml_get(m, "poisson")) {
		ar->kind = ARR_POISSON;
		scn_opt_dbl(c, m, "poisson", path, unit_parse_rate, "a rate (e.g. 4/h)", &ar->rate_per_s);
	} else if ((k = yml_get(m, "periodic"))) {
		int64_t v;
		ar->kind = ARR_PERIODIC;
		if (scn_opt_dur(c, m, "periodic", path, &v)) {
			if (v <= 0) {
				scn_pjoin(p, path, "periodic");
				scn_err_node(c, k, p, "the interval must be longer than 0");
			} else
				ar->interval_ns = v;
		}
	} else if ((k = yml_get(m, "bursts"))) {
		const yml_node *b;
		ar->kind = ARR_BURSTS;
		scn_pjoin(p, path, "bursts");
		if ((b = scn_want_map(c, k, p)) && yml_get(b, "at")) {
			scn_check_keys(c, b, p, burst_keys);
			parse_scheduled(c, b, p, s, ar);
		} else if (b) {
			static const char *const sched_keys[] = { "count", "over", "days", NULL };
			scn_check_keys(c, b, p, burst_keys);
			for (int i = 0; sched_keys[i]; i++)
				if (yml_get(b, sched_keys[i])) {
					char q[SCN_PATH_MAX];
					scn_pjoin(q, p, sched_keys[i]);
					scn_err_node(c, yml_get(b, sched_keys[i]), q, "%s is for a scheduled burst: "
						     "give its time with at (e.g. at: \"09:00\")", sched_keys[i]);
				}
			if (!yml_get(b, "rate"))
				scn_err_node(c, b, p, "needs a rate (bursts per unit of time, e.g. 2/d)");
			scn_opt_dbl(c, b, "rate", p, unit_parse_rate, "a rate (e.g. 2/d)", &ar->rate_per_s);
			yml_node *sz = yml_get(b, "size");
			char q[SCN_PATH_MAX];
			scn_pjoin(q, p, "size");
			if (sz)
				scn_parse_dist(c, sz, q, SCN_V_COUNT, &ar->burst_size);
			else
				scn_err_node(c, b, p, "needs a size (messages per burst)");
			scn_opt_dur(c, b, "spacing", p, &ar->spacing_ns);
		} else if (k->type == YML_NULL)
			scn_err_node(c, k, p, "needs {rate, size, spacing} or {at, count, over}");
	} else if (yml_get(m, "record")) {
		ar->kind = ARR_TRACE;
		if (yml_get(m, "profile")) {
			scn_pjoin(p, path, "profile");
			scn_err_node(c, yml_get(m, "profile"), p, "a record is replayed as it was (scale: X for more "
				     "volume): it takes no profile");
		}
		scn_read_record(c, m, path, s, snd, count_given);
	} else {
		ar->kind = ARR_TRACE;
		scn_pjoin(p, path, "trace");
		if (yml_get(m, "profile")) {
			char q[SCN_PATH_MAX];
			scn_pjoin(q, path, "profile");
			scn_err_node(c, yml_get(m, "profile"), q, "a trace is replayed as is: it takes no profile");
		}
		scn_read_trace(c, yml_get(m, "trace"), p, s, snd, count_given);
	}
	yml_node *j = yml_get(m, "jitter");
	if (j) {
		if (ar->kind != ARR_PERIODIC) {
			scn_pjoin(p, path, "jitter");
			scn_err_node(c, j, p, "jitter applies to periodic arrivals only");
		} else
			scn_opt_dur(c, m, "jitter", path, &ar->jitter_ns);
	}
	yml_node *ph = yml_get(m, "phase");
	if (ph) {
		scn_pjoin(p, path, "phase");
		if (ar->kind != ARR_PERIODIC)
			scn_err_node(c, ph, p, "phase applies to periodic arrivals only");
		else if (scn_opt_dur(c, m, "phase", path, &ar->phase_ns))
			ar->fixed_phase = true;
	}
	yml_node *pr = yml_get(m, "profile");
	if (pr && ar->kind == ARR_BURSTS && ar->when != BURST_RANDOM) {
		scn_pjoin(p, path, "profile");
		scn_err_node(c, pr, p, "a scheduled burst takes no profile: choose its days with bursts.days");
	} else if (pr && ar->kind != ARR_TRACE) {
		scn_pjoin(p, path, "profile");
		parse_profile(c, pr, p, ar);
	}
	arrival_bounds(c, m, path, ar);
}
