/* sender_draw.c - the sender's draws by inversion of one uniform (one
 * uniform per draw whatever the distribution, for common random numbers),
 * rounding of real-valued draws, and the arrival profile.  Pure functions
 * of their arguments.  See docs/MODEL.md "Senders: the client side",
 * "Random streams". */
#include "sender_int.h"

#include <math.h>
#include <stdint.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>

int64_t snd_round_ns(double x)
{
	if (!(x > 0.0))
		return 0;
	if (x >= 9.2e18)
		return INT64_MAX;
	/* floor(x + 0.5) without a call to the C library: x + 0.5 > 0, where
	 * the cast's truncation is floor */
	return (int64_t)(x + 0.5);
}

/* Walks the CDF from the mode (GSL's cdf and pdf at the mode). */
static int64_t poisson_inv(double lambda, double u)
{
	if (!(lambda > 0.0))
		return 0;
	int64_t k = (int64_t)floor(lambda);
	double F = gsl_cdf_poisson_P((unsigned)k, lambda);
	double pmf = gsl_ran_poisson_pdf((unsigned)k, lambda);
	if (u <= F) {
		while (k > 0 && u <= F - pmf && pmf > 0.0) {
			F -= pmf;
			pmf *= (double)k / lambda;
			k--;
		}
	} else {
		while (u > F) {
			k++;
			pmf *= lambda / (double)k;
			if (pmf <= 0.0 && (double)k > lambda)
				break;
			F += pmf;
		}
	}
	return k;
}

int64_t snd_binomial_inv(int64_t n, double p, double u)
{
	if (n <= 0 || !(p > 0.0))
		return 0;
	if (p >= 1.0)
		return n;
	int64_t k = (int64_t)floor((double)n * p);
	double F = gsl_cdf_binomial_P((unsigned)k, p, (unsigned)n);
	double pmf = gsl_ran_binomial_pdf((unsigned)k, p, (unsigned)n);
	double r = p / (1.0 - p);
	if (u <= F) {
		while (k > 0 && u <= F - pmf && pmf > 0.0) {
			F -= pmf;
			pmf *= (double)k / ((double)(n - k + 1) * r);
			k--;
		}
	} else {
		while (u > F && k < n) {
			k++;
			pmf *= (double)(n - k + 1) / (double)k * r;
			F += pmf;
		}
	}
	return k;
}

double snd_dist_inv(const scn_dist *d, double u)
{
	switch (d->kind) {
	case DIST_FIXED:
		return d->a;
	case DIST_UNIFORM_INT: {
		double lo = floor(d->a + 0.5), hi = floor(d->b + 0.5);
		if (hi < lo)
			return lo;
		double k = floor(u * (hi - lo + 1.0));
		return lo + (k > hi - lo ? hi - lo : k);
	}
	case DIST_POISSON1:
		return 1.0 + (double)poisson_inv(d->a, u);
	case DIST_GEOMETRIC: {
		if (!(d->a > 1.0))
			return 1.0;
		double p = 1.0 / d->a;
		return 1.0 + floor(log1p(-u) / log1p(-p));
	}
	case DIST_LOGNORMAL:
		return d->a * exp(d->b * gsl_cdf_ugaussian_Pinv(u));
	case DIST_EMPIRICAL: {
		if (d->n == 0)
			return 0.0;
		double tot = 0.0;
		for (size_t i = 0; i < d->n; i++)
			tot += d->weights ? d->weights[i] : 1.0;
		double target = u * tot, cum = 0.0;
		for (size_t i = 0; i < d->n; i++) {
			cum += d->weights ? d->weights[i] : 1.0;
			if (target < cum)
				return d->values[i];
		}
		return d->values[d->n - 1];
	}
	}
	return d->a;
}

double snd_duration_inv(const scn_duration *d, double u)
{
	switch (d->kind) {
	case DUR_FIXED:
		return 0.0; /* drawn by no one: the fixed value is the caller's */
	case DUR_EXPONENTIAL:
		return -d->a * log1p(-u);
	case DUR_UNIFORM:
		return d->a + u * (d->b - d->a);
	case DUR_LOGNORMAL:
		return d->a * exp(d->b * gsl_cdf_ugaussian_Pinv(u));
	case DUR_EMPIRICAL: {
		if (d->n == 0)
			return 0.0;
		double target = u * d->cum[d->n - 1];
		for (uint32_t i = 0; i < d->n; i++)
			if (target < d->cum[i])
				return d->values_ns[i];
		return d->values_ns[d->n - 1];
	}
	}
	return 0.0;
}

double snd_profile_at(const scenario *s, const scn_arrivals *a, int64_t t_ns)
{
	int64_t wall = s->start_unix_s + t_ns / SCN_NS_PER_S;
	wall += tz_offset_at(&s->tz, wall); /* the profile is on the local clock */
	int64_t days = wall / 86400, secs = wall % 86400;
	if (secs < 0) {
		secs += 86400;
		days--;
	}
	int hour = (int)(secs / 3600);
	/* 1970-01-01 was a Thursday: day 3 counting Monday as 0. */
	int dow = (int)(((days + 3) % 7 + 7) % 7);
	return a->hour[hour] * a->day[dow];
}

float snd__attempt_u(const snd_world *w, const snd_inst *in, const snd_msg *m, int kind)
{
	const scenario *s = w->s;
	uint64_t key = rng_key(s->seed, w->replication, in->group, in->index,
			       (uint64_t)RNG_PURPOSE_COUNT + (uint64_t)kind);
	double u = rng_hash_uniform(key, (uint64_t)m->generated_ns, m->serial, m->attempts);
	float f = (float)u;
	return f < 1.0f ? f : nextafterf(1.0f, 0.0f); /* rounding must not reach 1 */
}
