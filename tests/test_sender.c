/* test_sender.c - random streams (rng), draws by inversion, back-off and
 * profiles (sender), against closed forms worked out in the comments. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <gsl/gsl_randist.h>

#include "rng.h"
#include "sender.h"

#define S SCN_NS_PER_S

/* Same five numbers -> same stream; any one changed -> a different one. */
static void test_streams(void **state)
{
	(void)state;
	rng_stream a, b;
	rng_stream_init(&a, 42, 3, 1, 7, RNG_SHAPE);
	rng_stream_init(&b, 42, 3, 1, 7, RNG_SHAPE);
	for (int i = 0; i < 100; i++)
		assert_true(rng_u64(&a) == rng_u64(&b));
	int64_t v[5] = { 42, 3, 1, 7, RNG_SHAPE };
	for (int k = 0; k < 5; k++) {
		int64_t w[5];
		memcpy(w, v, sizeof w);
		w[k] += 1;
		rng_stream_init(&a, 42, 3, 1, 7, RNG_SHAPE);
		rng_stream_init(&b, (uint64_t)w[0], w[1], w[2], w[3], (rng_purpose)w[4]);
		int same = 0;
		for (int i = 0; i < 64; i++)
			same += rng_u64(&a) == rng_u64(&b);
		assert_int_equal(same, 0);
	}
}

/* Uniform draws: in range, mean 1/2 within 5 sigma (sigma = sqrt(1/12 n)). */
static void test_uniform(void **state)
{
	(void)state;
	rng_stream st;
	rng_stream_init(&st, 1, 0, 0, 0, RNG_ARRIVALS);
	enum { N = 200000 };
	double sum = 0, sumo = 0;
	for (int i = 0; i < N; i++) {
		double u = rng_uniform(&st), o = rng_uniform_open(&st);
		assert_true(u >= 0.0 && u < 1.0);
		assert_true(o > 0.0 && o < 1.0);
		sum += u;
		sumo += o;
	}
	double tol = 5.0 * sqrt(1.0 / 12.0 / N);
	assert_true(fabs(sum / N - 0.5) < tol);
	assert_true(fabs(sumo / N - 0.5) < tol);
}

/* Inversion: binomial(10, 0.3) and 1 + Poisson(2) means (3 and 3) within
 * 5 sigma; geometric on {1,2,..} with mean 4; fixed and uniform-int
 * edges; empirical picks by weight. */
static void test_inversion(void **state)
{
	(void)state;
	rng_stream st;
	rng_stream_init(&st, 5, 0, 0, 0, RNG_SHAPE);
	enum { N = 100000 };
	double sb = 0, sp = 0, sg = 0;
	scn_dist pois = { .kind = DIST_POISSON1, .a = 2 };
	scn_dist geo = { .kind = DIST_GEOMETRIC, .a = 4 };
	for (int i = 0; i < N; i++) {
		int64_t k = snd_binomial_inv(10, 0.3, rng_uniform_open(&st));
		assert_true(k >= 0 && k <= 10);
		sb += (double)k;
		double p = snd_dist_inv(&pois, rng_uniform_open(&st));
		assert_true(p >= 1.0 && p == floor(p));
		sp += p;
		double g = snd_dist_inv(&geo, rng_uniform_open(&st));
		assert_true(g >= 1.0);
		sg += g;
	}
	assert_true(fabs(sb / N - 3.0) < 5.0 * sqrt(2.1 / N));
	assert_true(fabs(sp / N - 3.0) < 5.0 * sqrt(2.0 / N));
	assert_true(fabs(sg / N - 4.0) < 5.0 * sqrt(12.0 / N)); /* var (1-p)/p^2 = 12 */
	assert_int_equal(snd_binomial_inv(10, 0.0, 0.9), 0);
	assert_int_equal(snd_binomial_inv(10, 1.0, 0.1), 10);
	scn_dist u = { .kind = DIST_UNIFORM_INT, .a = 2, .b = 4 };
	assert_true(snd_dist_inv(&u, 1e-12) == 2.0);
	assert_true(snd_dist_inv(&u, 1.0 - 1e-12) == 4.0);
	double vals[3] = { 10, 20, 30 }, wts[3] = { 1, 0, 3 };
	scn_dist e = { .kind = DIST_EMPIRICAL, .n = 3, .values = vals, .weights = wts };
	assert_true(snd_dist_inv(&e, 0.2) == 10.0);  /* [0, 0.25) */
	assert_true(snd_dist_inv(&e, 0.3) == 30.0);  /* [0.25, 1) */
	scn_dist ln = { .kind = DIST_LOGNORMAL, .a = 1000, .b = 0.5 };
	assert_true(fabs(snd_dist_inv(&ln, 0.5) - 1000.0) < 1e-9); /* the median */
}

/* delay(k) = min(cap, base * factor^(k-1)): base 10 s, factor 2, cap 60 s:
 * 10, 20, 40, 60, 60.  full in [0, d]; equal in [d/2, d]; decorrelated in
 * [base, min(cap, 3 prev)] with prev starting at base. */
static void test_backoff(void **state)
{
	(void)state;
	scn_retry r = { .base_ns = 10 * S, .factor = 2, .cap_ns = 60 * S, .jitter = JITTER_NONE };
	rng_stream st;
	rng_stream_init(&st, 1, 0, 0, 0, RNG_BACKOFF);
	snd_msg m;
	memset(&m, 0, sizeof m);
	int64_t want[5] = { 10, 20, 40, 60, 60 };
	for (int k = 1; k <= 5; k++) {
		m.attempts = (uint32_t)k;
		assert_true(snd_backoff_ns(&r, &m, &st) == want[k - 1] * S);
	}
	for (int j = JITTER_FULL; j <= JITTER_EQUAL; j++) {
		r.jitter = (scn_jitter)j;
		for (int k = 1; k <= 5; k++)
			for (int i = 0; i < 200; i++) {
				m.attempts = (uint32_t)k;
				int64_t d = snd_backoff_ns(&r, &m, &st);
				int64_t hi = want[k - 1] * S, lo = j == JITTER_FULL ? 0 : hi / 2;
				assert_true(d >= lo && d <= hi);
			}
	}
	r.jitter = JITTER_DECORRELATED;
	for (int i = 0; i < 200; i++) {
		m.prev_backoff_ns = r.base_ns;
		for (int k = 1; k <= 6; k++) {
			int64_t prev = m.prev_backoff_ns;
			int64_t d = snd_backoff_ns(&r, &m, &st);
			int64_t hi = 3 * prev < r.cap_ns ? 3 * prev : r.cap_ns;
			assert_true(d >= r.base_ns && d <= hi);
			assert_true(m.prev_backoff_ns == d);
		}
	}
	assert_true(snd_round_ns(1.5) == 2 && snd_round_ns(2.4999) == 2 && snd_round_ns(-1) == 0);
}

/* Profile: start Monday 2026-03-02 00:00 UTC; t = 2 d + 9 h 30 min is
 * Wednesday 09:30: hour[9] * day[2]. */
static void test_profile(void **state)
{
	(void)state;
	scenario s;
	memset(&s, 0, sizeof s);
	s.start_unix_s = 1772409600;
	scn_arrivals a;
	memset(&a, 0, sizeof a);
	for (int h = 0; h < 24; h++)
		a.hour[h] = h;
	for (int d = 0; d < 7; d++)
		a.day[d] = 100 * (d + 1);
	int64_t t = (2 * 86400 + 9 * 3600 + 1800) * S;
	assert_true(snd_profile_at(&s, &a, t) == 9.0 * 300.0);
	assert_true(snd_profile_at(&s, &a, 0) == 0.0 * 100.0);
	assert_true(snd_profile_at(&s, &a, (6 * 86400 + 23 * 3600) * S) == 23.0 * 700.0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_streams),
		cmocka_unit_test(test_uniform),
		cmocka_unit_test(test_inversion),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_profile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
