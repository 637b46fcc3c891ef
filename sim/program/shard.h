/* shard.h - a run's work units and their stable numbers, and the slice of
 * them one shard of the run takes (`throttlesim runs`, `run --shard I/N`).
 *
 * A run is its scenarios (variants x sweep points, in the order the loader
 * gives them, after --variant) times their replications.  The replications
 * of each scenario are cut into blocks of `block` (the last block may be
 * shorter); a unit is one block of one scenario.  Units are numbered 0, 1,
 * ... scenario by scenario, block by block within a scenario:
 *
 *     unit = (blocks of the scenarios before) + replication / block
 *
 * so a unit's number depends only on the scenario file, the options that
 * choose scenarios and replications, and the block: the same on every
 * machine, whatever the number of shards.  Shard I of N takes the units
 * u with u mod N = I: round robin, so that the sweep points of a sweep
 * (whose cost grows with the swept key) spread over the shards.
 *
 * Seeds: a replication's streams come from (seed, replication) only
 * (models/run.h), so a shard computes exactly the numbers the whole run
 * computes for the units it holds; `results merge` puts them together.
 *
 * Costs: O(units) time and memory.  Nothing here prints.
 */
#ifndef SIM_SHARD_H
#define SIM_SHARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Replications per unit unless --block says otherwise. */
#define SHARD_DEFAULT_BLOCK 10
/* Shards of a run at most (a SLURM array is usually capped far lower). */
#define SHARD_MAX_COUNT 1000000

typedef struct shard_unit {
	size_t scenario;         /* index into the run's scenarios */
	int64_t first, n;        /* replications [first, first + n) */
} shard_unit;

/* The units of scenarios with reps[0..n) replications each, in blocks of
 * block (>= 1): *out (malloc'd, the caller frees it) gets *n_out units in
 * number order.  SIM_OK, SIM_EINVAL (block < 1 or a count < 1), SIM_ENOMEM;
 * outputs untouched on failure. */
int shard_units(const int64_t *reps, size_t n, int64_t block, shard_unit **out, size_t *n_out);

/* Does shard index of count take unit u? */
static inline bool shard_takes(size_t u, int64_t index, int64_t count)
{
	return count > 0 && (int64_t)(u % (uint64_t)count) == index;
}

/* Parses "I/N" (0 <= I < N <= SHARD_MAX_COUNT, decimal, nothing else):
 * true with *index, *count set, else false (both untouched). */
bool shard_parse(const char *s, int64_t *index, int64_t *count);

#endif
