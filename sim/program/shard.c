/* shard.c - a run's work units and a shard's slice of them (shard.h). */
#include "shard.h"

#include <stdlib.h>

#include "status.h"

int shard_units(const int64_t *reps, size_t n, int64_t block, shard_unit **out, size_t *n_out)
{
	if (block < 1 || (n > 0 && reps == NULL) || out == NULL || n_out == NULL)
		return SIM_EINVAL;
	size_t total = 0;
	for (size_t k = 0; k < n; k++) {
		if (reps[k] < 1)
			return SIM_EINVAL;
		total += (size_t)((reps[k] + block - 1) / block);
	}
	shard_unit *u = calloc(total ? total : 1, sizeof *u);
	if (u == NULL)
		return SIM_ENOMEM;
	size_t i = 0;
	for (size_t k = 0; k < n; k++)
		for (int64_t first = 0; first < reps[k]; first += block)
			u[i++] = (shard_unit){ .scenario = k, .first = first,
			                       .n = reps[k] - first < block ? reps[k] - first : block };
	*out = u;
	*n_out = total;
	return SIM_OK;
}

/* A decimal number of at most 7 digits from *p, or -1. */
static int64_t small_number(const char **p)
{
	int64_t v = 0;
	int digits = 0;
	while (**p >= '0' && **p <= '9' && digits < 8) {
		v = 10 * v + (**p - '0');
		(*p)++;
		digits++;
	}
	return digits == 0 || digits > 7 ? -1 : v;
}

bool shard_parse(const char *s, int64_t *index, int64_t *count)
{
	if (s == NULL)
		return false;
	const char *p = s;
	int64_t i = small_number(&p);
	if (i < 0 || *p++ != '/')
		return false;
	int64_t n = small_number(&p);
	if (n < 1 || *p != '\0' || n > SHARD_MAX_COUNT || i >= n)
		return false;
	*index = i;
	*count = n;
	return true;
}
