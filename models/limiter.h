/* limiter.h - the four limiter kinds as small value types: a concurrency
 * cap, a sliding-window count, a sliding-window sum and (built from the
 * count) the error throttle's per-class window.  They know nothing of mail,
 * scopes or the engine: the caller passes the time.
 *
 * Windows are open on the left: at time t a window of length w holds the
 * events in (t - w, t]; an event exactly w back is outside.  Times passed to
 * one limiter must never decrease.
 *
 * Memory: rings start empty (no allocation until the first push), grow by
 * doubling, never shrink, and hold only what the window can still need:
 * a count window at most max_len timestamps, a sum window only entries
 * inside the window (equal times merged).  Every operation is O(1)
 * amortised; nothing allocates once a ring has reached its working size.
 * Growth failures return SIM_ENOMEM with the limiter unchanged; call the
 * _reserve function first to make a later push infallible.
 *
 * Invariant checkers: lim_conc_check, lim_window_check and lim_sum_check
 * return true when the structure is sound (what each struct's comment
 * states); O(1) for the cap, O(entries) for the windows.  Callers run them
 * through SIM_CHECK (check.h) with the struct's `checks` counter: after
 * every operation in the stress build, on check.h's thinning schedule
 * under assert (operations 1, 2, 4, ..., then every 65,536th), never
 * in release.
 */
#ifndef MODELS_LIMITER_H
#define MODELS_LIMITER_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "check.h"
#include "status.h"

/* The counter SIM_CHECK keeps in each checked struct: present only in the
 * builds that check (release structs stay as small as before the
 * checkers, since a mailbox holds seven of them). */
#ifdef NDEBUG
#define LIM_CHECK_COUNTER
#else
#define LIM_CHECK_COUNTER unsigned checks;
#endif

/* ---- concurrency cap ---------------------------------------------------- */

/* Open sessions and the sessions in the middle of a submission, with the
 * time integrals of both and the time the counted number (open, or
 * submitting if count_submitting) was at or over the limit. */
typedef struct lim_conc {
	int64_t limit;           /* 0 = no limit */
	bool count_submitting;   /* the cap counts submitting sessions only */
	int64_t open;
	int64_t submitting;
	int64_t last_ns;         /* time of the last change */
	double open_integral_ns; /* sum of open * dt (double: no overflow) */
	double submitting_integral_ns; /* sum of submitting * dt */
	int64_t at_limit_ns;
	LIM_CHECK_COUNTER
} lim_conc;

void lim_conc_init(lim_conc *c, int64_t limit, bool count_submitting);
/* 0 <= submitting <= open, integrals >= 0, at-limit time <= last change. */
bool lim_conc_check(const lim_conc *c);

/* The number the cap compares against the limit. */
static inline int64_t lim_conc_counted(const lim_conc *c)
{
	return c->count_submitting ? c->submitting : c->open;
}

/* True if one more session would be refused (limit > 0 and counted >= limit). */
static inline bool lim_conc_full(const lim_conc *c)
{
	return c->limit > 0 && lim_conc_counted(c) >= c->limit;
}

/* Changes at now (>= last change): delta_open and delta_submitting each -1,
 * 0 or +1.  Inline: called about six times per message.  The integrals
 * are piecewise constant between changes: [last, now) is credited with
 * the state that held over it, then the state changes. */
static inline void lim_conc_change(lim_conc *c, int64_t now, int delta_open, int delta_submitting)
{
	/* the service's sessions open before they submit and close once */
	assert(c->open + delta_open >= 0 && c->submitting + delta_submitting >= 0);
	if (now > c->last_ns) {
		int64_t dt = now - c->last_ns;
		c->open_integral_ns += (double)c->open * (double)dt;
		c->submitting_integral_ns += (double)c->submitting * (double)dt;
		if (lim_conc_full(c))
			c->at_limit_ns += dt;
		c->last_ns = now;
	}
	c->open += delta_open;
	c->submitting += delta_submitting;
	SIM_CHECK(c->checks, lim_conc_check(c));
}
/* Over [0, end_ns): time-average open sessions; fraction of time at limit
 * (0 with no limit).  end_ns >= last change; NaN if end_ns <= 0. */
double lim_conc_avg(const lim_conc *c, int64_t end_ns);
/* Over [0, end_ns): time-average submissions in progress; NaN if end_ns <= 0. */
double lim_conc_submitting_avg(const lim_conc *c, int64_t end_ns);
double lim_conc_at_limit_frac(const lim_conc *c, int64_t end_ns);

/* ---- sliding-window count -------------------------------------------- */

/* The latest timestamps (nondecreasing), at most max_len of them: with a
 * limit L, "L events in (t - w, t]" only ever needs the L latest.
 * Invariant: len <= cap <= max_len (a ring never outgrows the limit),
 * head < cap when cap > 0, timestamps nondecreasing from the head. */
typedef struct lim_window {
	int64_t *t;
	size_t cap, head, len;
	size_t max_len;          /* > 0 */
	int64_t window_ns;       /* > 0 */
	LIM_CHECK_COUNTER
} lim_window;

void lim_window_init(lim_window *w, int64_t window_ns, int64_t max_len);
void lim_window_free(lim_window *w, const sim_alloc *a);
bool lim_window_check(const lim_window *w);
/* Drop timestamps <= now - window (outside the window at now or later).
 * Inline up to the first comparison: a message's window usually has
 * nothing to drop, and the call cost more than the test. */
void lim_window_expire_slow(lim_window *w, int64_t now);
static inline void lim_window_expire(lim_window *w, int64_t now)
{
	/* t <= now - window, written so that it cannot overflow */
	if (w->len > 0 && now - w->t[w->head] >= w->window_ns)
		lim_window_expire_slow(w, now);
	else
		SIM_CHECK(w->checks, lim_window_check(w));
}
/* Timestamps kept (after lim_window_expire(now): those in (now - w, +inf)). */
size_t lim_window_len(const lim_window *w);
/* The k-th latest kept timestamp, k in 1..len. */
int64_t lim_window_nth_back(const lim_window *w, size_t k);
/* Make the next push infallible.  SIM_OK or SIM_ENOMEM (unchanged).
 * Inline when there is room, or a push will drop the oldest: once warm,
 * always. */
int lim_window_grow(lim_window *w, const sim_alloc *a);
static inline int lim_window_reserve(lim_window *w, const sim_alloc *a)
{
	if (w->len < w->cap || w->len >= w->max_len)
		return SIM_OK;
	return lim_window_grow(w, a);
}
/* Append t (>= the latest); when max_len are kept the oldest is dropped.
 * SIM_OK or SIM_ENOMEM (unchanged). */
int lim_window_push(lim_window *w, const sim_alloc *a, int64_t t);

/* Delay-mode release time of a message accepted at now, given w holds the
 * releases so far (max_len = the limit), and records it (inline: once per
 * accepted message).  See limiter.c for why r_k = max(now, r_(k-L) + window) is the earliest release that keeps
 * at most L releases in every (t - window, t], in order; a release past
 * INT64_MAX is INT64_MAX (later than any run ends).  SIM_ENOMEM
 * leaves w unchanged and *release_ns untouched. */
static inline int lim_window_release(lim_window *w, const sim_alloc *a, int64_t now,
				     int64_t *release_ns)
{
	lim_window_expire(w, now);
	int rc = lim_window_reserve(w, a);
	if (rc != SIM_OK)
		return rc;
	int64_t r = now;
	if (w->len >= w->max_len) {
		/* Releases pile up a window apart, so a long enough run of them
		 * passes any bound: saturate at INT64_MAX, later than every run
		 * ends (an overflow found by tests/fuzz/fuzz_run). */
		int64_t back = lim_window_nth_back(w, w->max_len);
		int64_t earliest = back > INT64_MAX - w->window_ns ? INT64_MAX : back + w->window_ns;
		if (earliest > r)
			r = earliest;
	}
	if (w->len == w->max_len) {
		w->head = w->head + 1 >= w->cap ? 0 : w->head + 1;
		w->len--;
	}
	size_t k = w->head + w->len;
	w->t[k >= w->cap ? k - w->cap : k] = r; /* reserved above */
	w->len++;
	*release_ns = r;
	SIM_CHECK(w->checks, lim_window_check(w));
	return SIM_OK;
}

/* ---- sliding-window sum ---------------------------------------------- */

/* Amounts added in (t - w, t], with a running sum, and the times the sum
 * stood at or over `limit` (a one-unit addition would be refused):
 * blocked time and the first time it was reached, both exact because an
 * entry's expiry time is known (its time + w) even when popped lazily.
 *
 * Entries are 6 bytes (LIM_SUM_ENTRY_BYTES), the 48-bit number
 * (delta << LIM_SUM_AMOUNT_BITS) | amount, where delta is the entry's time
 * minus the previous entry's (the head's time is kept in head_t, the last
 * one's in tail_t), so any time fits, and amount is 7 bits.  An amount
 * above LIM_SUM_AMOUNT_MAX (127) is split over several entries of the same
 * time (delta 0); a gap above LIM_SUM_DELTA_MAX (2^41 - 1 ns, 36.6 min)
 * between an entry and the next is bridged by amount-0 entries.  Splitting
 * and bridging change nothing observable: pieces of one time expire at the
 * same instant, and a bridge's expiry pops nothing from the sum.  Every
 * entry but a bridge has amount >= 1, so a window whose sum stays <= limit
 * holds at most `limit` entries plus its bridges (at most window /
 * LIM_SUM_DELTA_MAX: 39 in 24 h): memory per window <= 6 B x (min(limit,
 * additions in the window) + bridges), e.g. 2,880 messages a day (a gap
 * of 30 s on average) -> 2,880 entries (ring 4,096 x 6 B = 24 KiB).  The
 * 6 bytes were 8 until 2026-12: the 24-hour recipient window of the e2e
 * benchmark's 1,000 mailboxes is 2.9 million entries. */
#define LIM_SUM_ENTRY_BYTES 6
#define LIM_SUM_AMOUNT_BITS 7
#define LIM_SUM_AMOUNT_MAX ((INT64_C(1) << LIM_SUM_AMOUNT_BITS) - 1)
#define LIM_SUM_DELTA_MAX ((INT64_C(1) << (8 * LIM_SUM_ENTRY_BYTES - LIM_SUM_AMOUNT_BITS)) - 1)

/* Entry i of a ring e (byte order is the host's; only this process reads it). */
static inline uint64_t lim_sum_entry(const unsigned char *e, size_t i)
{
	uint32_t lo;
	uint16_t hi;
	memcpy(&lo, e + i * LIM_SUM_ENTRY_BYTES, sizeof lo);
	memcpy(&hi, e + i * LIM_SUM_ENTRY_BYTES + sizeof lo, sizeof hi);
	return (uint64_t)lo | (uint64_t)hi << 32;
}

static inline void lim_sum_entry_put(unsigned char *e, size_t i, uint64_t x)
{
	uint32_t lo = (uint32_t)x;
	uint16_t hi = (uint16_t)(x >> 32);
	memcpy(e + i * LIM_SUM_ENTRY_BYTES, &lo, sizeof lo);
	memcpy(e + i * LIM_SUM_ENTRY_BYTES + sizeof lo, &hi, sizeof hi);
}

typedef struct lim_sum {
	unsigned char *e;        /* cap entries of LIM_SUM_ENTRY_BYTES */
	size_t cap, head, len;
	int64_t head_t, tail_t;  /* times of the first and last entry (len > 0) */
	int64_t window_ns;
	int64_t limit;           /* for the blocked-time figures; 0 = not tracked */
	int64_t sum;
	int64_t blocked_since;   /* -1: sum < limit */
	int64_t blocked_ns;      /* closed blocked intervals */
	int64_t first_reached_ns;/* -1: never */
	/* A fixed window (lim_sum_set_fixed): periods [origin + k w, origin +
	 * (k + 1) w), and an entry expires at the end of its period instead
	 * of w after it.  Expiry instants still rise with the entries' times,
	 * so everything above holds as for the sliding window. */
	bool fixed;
	int64_t origin_ns;       /* in [0, w) */
	LIM_CHECK_COUNTER
} lim_sum;

void lim_sum_init(lim_sum *s, int64_t window_ns, int64_t limit);
/* Make s a fixed window whose periods start at origin_ns + k window_ns
 * (any origin; reduced modulo the window).  Before the first addition. */
void lim_sum_set_fixed(lim_sum *s, int64_t origin_ns);
/* When an entry of time t leaves the window: t + w (sliding), or the end
 * of t's period (fixed); saturates.  The sliding case inline: every
 * check and reserve asks it of the head. */
int64_t lim_sum_expiry_fixed(const lim_sum *s, int64_t t);
static inline int64_t lim_sum_expiry(const lim_sum *s, int64_t t)
{
	int64_t w = s->window_ns;
	if (s->fixed)
		return lim_sum_expiry_fixed(s, t);
	return t > INT64_MAX - w ? INT64_MAX : t + w;
}
void lim_sum_free(lim_sum *s, const sim_alloc *a);
/* len <= cap; sum = the entries' amounts; tail_t = head_t + the deltas
 * after the head; every amount <= LIM_SUM_AMOUNT_MAX; blocked iff
 * (limit > 0 and sum >= limit); first_reached <= blocked_since. */
bool lim_sum_check(const lim_sum *s);
/* Pop entries with time <= now - window, each at its own expiry instant.
 * Inline up to the head's expiry test (usually nothing to pop). */
void lim_sum_expire_slow(lim_sum *s, int64_t now);
static inline void lim_sum_expire(lim_sum *s, int64_t now)
{
	if (s->len > 0 && now >= lim_sum_expiry(s, s->head_t))
		lim_sum_expire_slow(s, now);
	else
		SIM_CHECK(s->checks, lim_sum_check(s));
}
/* The sum in (t - window, t] for t >= the last operation, without changing s. */
int64_t lim_sum_at(const lim_sum *s, int64_t t);
/* Make lim_sum_add(s, a, now, amount) infallible.  Inline for the usual
 * case: one entry (no split, no bridge) and room for it. */
int lim_sum_grow(lim_sum *s, const sim_alloc *a, int64_t now, int64_t amount);
static inline int lim_sum_reserve(lim_sum *s, const sim_alloc *a, int64_t now, int64_t amount)
{
	lim_sum_expire(s, now);
	if (amount <= 0 || (s->len < s->cap && amount <= LIM_SUM_AMOUNT_MAX &&
			    (s->len == 0 || now - s->tail_t <= LIM_SUM_DELTA_MAX)))
		return SIM_OK;
	return lim_sum_grow(s, a, now, amount);
}
/* Add amount (>= 0) at now (>= the latest); expires first.  SIM_OK or
 * SIM_ENOMEM (unchanged, lazy expiry aside). */
int lim_sum_add(lim_sum *s, const sim_alloc *a, int64_t now, int64_t amount);
/* lim_sum_add after lim_sum_reserve(s, a, now, amount) succeeded with no
 * operation on s in between: cannot fail, does not expire again.  Inline
 * for the usual case, one new entry after others (what the slow path
 * does then, step for step). */
void lim_sum_add_reserved_slow(lim_sum *s, int64_t now, int64_t amount);
/* The end of both paths: the sum, and the first instant at the limit. */
static inline void lim__sum_added(lim_sum *s, int64_t now, int64_t amount)
{
	s->sum += amount;
	if (s->limit > 0 && s->blocked_since < 0 && s->sum >= s->limit) {
		s->blocked_since = now;
		if (s->first_reached_ns < 0)
			s->first_reached_ns = now;
	}
	SIM_CHECK(s->checks, lim_sum_check(s));
}
static inline void lim_sum_add_reserved(lim_sum *s, int64_t now, int64_t amount)
{
	if (amount <= 0)
		return;
	if (s->len == 0 || s->tail_t == now || amount > LIM_SUM_AMOUNT_MAX ||
	    now - s->tail_t > LIM_SUM_DELTA_MAX) {
		lim_sum_add_reserved_slow(s, now, amount);
		return;
	}
	size_t k = s->head + s->len;
	if (k >= s->cap)
		k -= s->cap;
	lim_sum_entry_put(s->e, k, ((uint64_t)(now - s->tail_t) << LIM_SUM_AMOUNT_BITS) |
				    (uint64_t)amount);
	s->len++;
	s->tail_t = now;
	lim__sum_added(s, now, amount);
}
/* Blocked time in [0, end_ns), for end_ns >= the last operation, without
 * changing s.  O(entries). */
int64_t lim_sum_blocked_ns(const lim_sum *s, int64_t end_ns);

#endif
