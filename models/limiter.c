/* limiter.c - the four limiter kinds (see limiter.h for the contract). */
#include "limiter.h"

#include <math.h>
#include <string.h>

#include "check.h"
#include "status.h"

/* ---- concurrency cap ---------------------------------------------------- */

void lim_conc_init(lim_conc *c, int64_t limit, bool count_submitting)
{
	memset(c, 0, sizeof *c);
	c->limit = limit;
	c->count_submitting = count_submitting;
}

bool lim_conc_check(const lim_conc *c)
{
	return c->open >= 0 && c->submitting >= 0 && c->submitting <= c->open &&
	       c->limit >= 0 && c->open_integral_ns >= 0.0 &&
	       c->submitting_integral_ns >= 0.0 && c->submitting_integral_ns <= c->open_integral_ns &&
	       c->at_limit_ns >= 0 &&
	       c->at_limit_ns <= c->last_ns;
}

double lim_conc_avg(const lim_conc *c, int64_t end_ns)
{
	if (end_ns <= 0)
		return NAN;
	double integral = c->open_integral_ns;
	if (end_ns > c->last_ns)
		integral += (double)c->open * (double)(end_ns - c->last_ns);
	return integral / (double)end_ns;
}

double lim_conc_submitting_avg(const lim_conc *c, int64_t end_ns)
{
	if (end_ns <= 0)
		return NAN;
	double integral = c->submitting_integral_ns;
	if (end_ns > c->last_ns)
		integral += (double)c->submitting * (double)(end_ns - c->last_ns);
	return integral / (double)end_ns;
}

double lim_conc_at_limit_frac(const lim_conc *c, int64_t end_ns)
{
	if (end_ns <= 0)
		return NAN;
	int64_t at = c->at_limit_ns;
	if (end_ns > c->last_ns && lim_conc_full(c))
		at += end_ns - c->last_ns;
	return (double)at / (double)end_ns;
}

/* ---- sliding-window count -------------------------------------------- */

void lim_window_init(lim_window *w, int64_t window_ns, int64_t max_len)
{
	memset(w, 0, sizeof *w);
	w->window_ns = window_ns;
	w->max_len = max_len > 0 ? (size_t)max_len : 1;
}

void lim_window_free(lim_window *w, const sim_alloc *a)
{
	sim_free(a, w->t, w->cap * sizeof *w->t);
	w->t = NULL;
	w->cap = w->len = w->head = 0;
}

static size_t win_idx(const lim_window *w, size_t i)
{
	size_t k = w->head + i;
	return k >= w->cap ? k - w->cap : k;
}

bool lim_window_check(const lim_window *w)
{
	if (w->max_len == 0 || w->window_ns <= 0 || w->len > w->cap || w->cap > w->max_len)
		return false;
	if (w->cap == 0)
		return w->t == NULL && w->len == 0 && w->head == 0;
	if (w->t == NULL || w->head >= w->cap)
		return false;
	for (size_t i = 1; i < w->len; i++)
		if (w->t[win_idx(w, i)] < w->t[win_idx(w, i - 1)])
			return false;
	return true;
}

void lim_window_expire_slow(lim_window *w, int64_t now)
{
	/* t <= now - window, written so that it cannot overflow. */
	while (w->len > 0 && now - w->t[w->head] >= w->window_ns) {
		w->head = win_idx(w, 1);
		w->len--;
	}
	SIM_CHECK(w->checks, lim_window_check(w));
}

size_t lim_window_len(const lim_window *w)
{
	return w->len;
}

int64_t lim_window_nth_back(const lim_window *w, size_t k)
{
	return w->t[win_idx(w, w->len - k)];
}

int lim_window_grow(lim_window *w, const sim_alloc *a)
{
	if (w->len < w->cap || w->len >= w->max_len)
		return SIM_OK; /* room, or a push will drop the oldest */
	size_t ncap = w->cap ? w->cap * 2 : 8;
	if (ncap > w->max_len)
		ncap = w->max_len;
	int64_t *nt = sim_malloc(a, ncap * sizeof *nt);
	if (!nt)
		return SIM_ENOMEM;
	for (size_t i = 0; i < w->len; i++)
		nt[i] = w->t[win_idx(w, i)];
	sim_free(a, w->t, w->cap * sizeof *w->t);
	w->t = nt;
	w->cap = ncap;
	w->head = 0;
	return SIM_OK;
}

int lim_window_push(lim_window *w, const sim_alloc *a, int64_t t)
{
	int rc = lim_window_reserve(w, a);
	if (rc != SIM_OK)
		return rc;
	if (w->len == w->max_len) {
		w->head = win_idx(w, 1);
		w->len--;
	}
	w->t[win_idx(w, w->len)] = t;
	w->len++;
	SIM_CHECK(w->checks, lim_window_check(w));
	return SIM_OK;
}

/* Delay mode.  Let a_1 <= a_2 <= ... be acceptance times, L the limit, w
 * the window, and r_k the release of the k-th accepted message.  The rule
 * is: releases in order (r_k nondecreasing), r_k >= a_k, and no window
 * (t - w, t] holds more than L releases.
 *
 * Claim 1: with r nondecreasing, "at most L in every (t - w, t]" holds iff
 * r_k - r_(k-L) >= w for every k > L.  If r_k - r_(k-L) < w, the window
 * (r_k - w, r_k] holds r_(k-L) .. r_k, L + 1 releases.  Conversely, if some
 * (t - w, t] holds L + 1 releases, take the first, j, and j + L among them:
 * t - w < r_j <= r_(j+L) <= t, so r_(j+L) - r_j < w.  (Open on the left is
 * what makes an exact gap of w allowed.)
 *
 * Claim 2: r_k = max(a_k, r_(k-L) + w) (the term absent for k <= L) is
 * nondecreasing, by induction: r_(k-1) = max(a_(k-1), r_(k-1-L) + w) <=
 * max(a_k, r_(k-L) + w) since a is nondecreasing and, by the induction
 * hypothesis, r_(k-1-L) <= r_(k-L).  So it is feasible, by claim 1; and it
 * is the earliest: any feasible s has s_k >= a_k and s_k >= s_(k-L) + w >=
 * r_(k-L) + w by induction, so s_k >= r_k.
 *
 * Which r_(k-L) the ring still holds: the ring keeps the latest releases
 * (capacity L drops only entries older than the L-th latest) and expiry
 * drops r <= now - w, for which r + w <= now <= a_k: the term cannot bind.
 * So if fewer than L are kept, r_k = a_k = now.  (lim_window_release,
 * inline in limiter.h, is this rule.) */

/* ---- sliding-window sum ---------------------------------------------- */

void lim_sum_init(lim_sum *s, int64_t window_ns, int64_t limit)
{
	memset(s, 0, sizeof *s);
	s->window_ns = window_ns;
	s->limit = limit;
	s->blocked_since = -1;
	s->first_reached_ns = -1;
}

void lim_sum_set_fixed(lim_sum *s, int64_t origin_ns)
{
	int64_t o = origin_ns % s->window_ns;
	s->fixed = true;
	s->origin_ns = o < 0 ? o + s->window_ns : o;
}

int64_t lim_sum_expiry_fixed(const lim_sum *s, int64_t t)
{
	int64_t w = s->window_ns;
	/* the end of the period holding t: origin + (floor((t - origin) / w) + 1) w */
	int64_t d = t - s->origin_ns, k = d / w;
	if (d % w != 0 && d < 0)
		k--;
	int64_t start = s->origin_ns + k * w;
	return start > INT64_MAX - w ? INT64_MAX : start + w;
}

void lim_sum_free(lim_sum *s, const sim_alloc *a)
{
	sim_free(a, s->e, s->cap * LIM_SUM_ENTRY_BYTES);
	s->e = NULL;
	s->cap = s->len = s->head = 0;
}

static size_t sum_idx(const lim_sum *s, size_t i)
{
	size_t k = s->head + i;
	return k >= s->cap ? k - s->cap : k;
}

static int64_t ent_amount(uint64_t e)
{
	return (int64_t)(e & (uint64_t)LIM_SUM_AMOUNT_MAX);
}

static int64_t ent_delta(uint64_t e)
{
	return (int64_t)(e >> LIM_SUM_AMOUNT_BITS);
}

static uint64_t ent_make(int64_t delta, int64_t amount)
{
	return ((uint64_t)delta << LIM_SUM_AMOUNT_BITS) | (uint64_t)amount;
}

bool lim_sum_check(const lim_sum *s)
{
	if (s->len > s->cap || (s->cap > 0 && (s->e == NULL || s->head >= s->cap)) ||
	    s->window_ns <= 0 || s->limit < 0 || s->sum < 0)
		return false;
	int64_t sum = 0, t = s->head_t;
	for (size_t i = 0; i < s->len; i++) {
		uint64_t x = lim_sum_entry(s->e, sum_idx(s, i));
		if (i > 0)
			t += ent_delta(x);
		sum += ent_amount(x);
	}
	if (sum != s->sum || (s->len > 0 && t != s->tail_t))
		return false;
	bool blocked = s->limit > 0 && s->sum >= s->limit;
	if (blocked != (s->blocked_since >= 0))
		return false;
	return s->blocked_since < 0 || (s->first_reached_ns >= 0 &&
					 s->first_reached_ns <= s->blocked_since);
}

void lim_sum_expire_slow(lim_sum *s, int64_t now)
{
	while (s->len > 0 && now >= lim_sum_expiry(s, s->head_t)) {
		int64_t expiry = lim_sum_expiry(s, s->head_t);
		s->sum -= ent_amount(lim_sum_entry(s->e, s->head));
		if (s->blocked_since >= 0 && s->sum < s->limit) {
			s->blocked_ns += expiry - s->blocked_since;
			s->blocked_since = -1;
		}
		s->head = sum_idx(s, 1);
		s->len--;
		if (s->len > 0)
			s->head_t += ent_delta(lim_sum_entry(s->e, s->head));
	}
	SIM_CHECK(s->checks, lim_sum_check(s));
}

int64_t lim_sum_at(const lim_sum *s, int64_t t)
{
	int64_t sum = s->sum, tt = s->head_t;
	for (size_t i = 0; i < s->len; i++) {
		uint64_t x = lim_sum_entry(s->e, sum_idx(s, i));
		if (i > 0)
			tt += ent_delta(x);
		if (t < lim_sum_expiry(s, tt))
			break;
		sum -= ent_amount(x);
	}
	return sum;
}

/* Entries an addition of amount (> 0) at now needs, after expiry. */
static size_t sum_needed(const lim_sum *s, int64_t now, int64_t amount)
{
	size_t n = 0;
	if (s->len > 0 && s->tail_t == now) {
		int64_t room = LIM_SUM_AMOUNT_MAX - ent_amount(lim_sum_entry(s->e, sum_idx(s, s->len - 1)));
		amount -= amount < room ? amount : room;
		if (amount == 0)
			return 0;
	} else if (s->len > 0) {
		n += (size_t)((now - s->tail_t - 1) / LIM_SUM_DELTA_MAX); /* bridges */
	}
	return n + (size_t)((amount + LIM_SUM_AMOUNT_MAX - 1) / LIM_SUM_AMOUNT_MAX);
}

static int sum_grow(lim_sum *s, const sim_alloc *a, size_t need)
{
	if (s->len + need <= s->cap)
		return SIM_OK;
	size_t ncap = s->cap ? s->cap * 2 : 8;
	/* A sum kept <= limit holds <= limit entries: no need to double past
	 * it (past it, when states are shared with a larger limit, double). */
	if (s->limit > 0 && ncap > (size_t)s->limit && s->len + need <= (size_t)s->limit)
		ncap = (size_t)s->limit;
	if (ncap < s->len + need)
		ncap = s->len + need;
	unsigned char *ne = sim_malloc(a, ncap * LIM_SUM_ENTRY_BYTES);
	if (!ne)
		return SIM_ENOMEM;
	/* the ring's two runs, oldest first */
	size_t first = s->cap - s->head < s->len ? s->cap - s->head : s->len;
	if (first > 0)
		memcpy(ne, s->e + s->head * LIM_SUM_ENTRY_BYTES, first * LIM_SUM_ENTRY_BYTES);
	if (s->len > first)
		memcpy(ne + first * LIM_SUM_ENTRY_BYTES, s->e, (s->len - first) * LIM_SUM_ENTRY_BYTES);
	sim_free(a, s->e, s->cap * LIM_SUM_ENTRY_BYTES);
	s->e = ne;
	s->cap = ncap;
	s->head = 0;
	return SIM_OK;
}

/* lim_sum_reserve past its inline test (expired already, amount > 0). */
int lim_sum_grow(lim_sum *s, const sim_alloc *a, int64_t now, int64_t amount)
{
	return sum_grow(s, a, sum_needed(s, now, amount));
}

static void sum_push(lim_sum *s, int64_t delta, int64_t amount)
{
	lim_sum_entry_put(s->e, sum_idx(s, s->len), ent_make(delta, amount));
	s->len++;
}

int lim_sum_add(lim_sum *s, const sim_alloc *a, int64_t now, int64_t amount)
{
	int rc = lim_sum_reserve(s, a, now, amount);
	if (rc != SIM_OK || amount <= 0)
		return rc;
	lim_sum_add_reserved(s, now, amount);
	return SIM_OK;
}

void lim_sum_add_reserved_slow(lim_sum *s, int64_t now, int64_t amount)
{
	if (amount <= 0)
		return;
	int64_t left = amount;
	if (s->len > 0 && s->tail_t == now) {
		size_t last = sum_idx(s, s->len - 1);
		uint64_t x = lim_sum_entry(s->e, last);
		int64_t room = LIM_SUM_AMOUNT_MAX - ent_amount(x);
		int64_t put = left < room ? left : room;
		lim_sum_entry_put(s->e, last, x + (uint64_t)put);
		left -= put;
	}
	if (left > 0) {
		int64_t delta = 0;
		if (s->len == 0) {
			s->head_t = now;
		} else {
			delta = now - s->tail_t;
			while (delta > LIM_SUM_DELTA_MAX) {
				sum_push(s, LIM_SUM_DELTA_MAX, 0); /* a bridge */
				delta -= LIM_SUM_DELTA_MAX;
			}
		}
		while (left > 0) {
			int64_t put = left < LIM_SUM_AMOUNT_MAX ? left : LIM_SUM_AMOUNT_MAX;
			sum_push(s, delta, put);
			delta = 0;
			left -= put;
		}
		s->tail_t = now;
	}
	lim__sum_added(s, now, amount);
}

int64_t lim_sum_blocked_ns(const lim_sum *s, int64_t end_ns)
{
	int64_t total = s->blocked_ns;
	int64_t since = s->blocked_since;
	int64_t sum = s->sum, tt = s->head_t;
	for (size_t i = 0; i < s->len && since >= 0; i++) {
		uint64_t x = lim_sum_entry(s->e, sum_idx(s, i));
		if (i > 0)
			tt += ent_delta(x);
		int64_t expiry = lim_sum_expiry(s, tt);
		if (end_ns < expiry)
			break;
		sum -= ent_amount(x);
		if (sum < s->limit) {
			total += expiry - since;
			since = -1;
		}
	}
	if (since >= 0 && end_ns > since)
		total += end_ns - since;
	return total;
}
