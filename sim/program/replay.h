/* replay.h - a stored run's replications run again, seen through one sender
 * group or mailbox, for the charts the store cannot draw from what it keeps
 * (plot --entity: the time series and the delay distribution of one
 * entity; the store keeps those of the whole scenario only).
 *
 * Why a replay is the run: replication r of a scenario is a pure function
 * of (scenario, r) (models/run.h), and the store keeps everything that
 * scenario was made of: the file's text (runs.scenario_text), the run's
 * --set values (store_run_sets), the seed, each variant's name, sweep
 * point, duration and start, and each replication's index.  The scenario
 * is rebuilt from them (scn_load_buffer_ex, relative trace paths against
 * the directory of runs.scenario_file), each stored variant is matched by
 * name and sweep point, and its stored replications are run again with a
 * focus on the entity (run_replication_focus).
 *
 * Why it is checked: a trace file edited since, another program version,
 * a results file altered by hand would all give another run under the same
 * name.  So before anything is drawn: the program version must be the
 * run's; the rebuilt scenario must load and match each variant (name,
 * point, start, duration, the entity's name at its index); and every
 * replayed replication's figures (every figure, refusals and losses by
 * reply class) of the entity and of the whole scenario must equal the
 * stored ones exactly (NaN matching NaN).  Anything else refuses the
 * replay with one message saying why; nothing is drawn from it.
 *
 * Cost: the run's own simulation time for the variants replayed (every
 * replication, one thread), plus, per series step, O(the group's workers
 * and mailboxes); memory of one replication at a time plus the entity's
 * series and quantiles per replication.
 *
 * Errors: SIM_OK; SIM_EINVAL when the run cannot be replayed (err says
 * why); SIM_ENOMEM; or the replication's own failure.  Never prints.
 * On failure *out is untouched.
 */
#ifndef SIM_REPLAY_H
#define SIM_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "res_summary.h"
#include "scn_load.h"
#include "store.h"

/* One stored variant replayed: the entity's series as the charts take a
 * stored one (mean over the replications per step), and per replication
 * its delivery delay quantiles (RES_CDF_POINTS, s, NaN when none). */
typedef struct replay_variant {
	size_t variant;            /* index in the loaded run */
	res_entity_kind kind;
	size_t index;              /* the entity's index in the variant */
	store_series series;       /* has_lost true; n_reps the replications */
	double *delivery_cdf;      /* [rep * RES_CDF_POINTS + q] */
	size_t n_reps;
	bool cdf_exact;            /* a group's; a mailbox's come from its histogram */
	bool backlog_defined;      /* false: a mailbox shared by instances without a home */
	int64_t mailboxes_used;    /* a group: mailboxes it may use (its own, or its pool's) */
	bool mailboxes_shared;     /* a group: another group may use one of them too */
} replay_variant;

typedef struct replay_result {
	replay_variant *v;
	size_t n;
} replay_result;

/* Replays, for each variant i of l with want[i] and entity[i] != SIZE_MAX,
 * that variant's replications with a focus on entity kind/entity[i].
 * sets: the run's --set values (store_run_sets).  program_version: this
 * program's, compared with the run's. */
int replay_run(const store_loaded *l, const scn_override *sets, size_t n_sets, const char *program_version,
               res_entity_kind kind, const size_t *entity, const bool *want, replay_result *out,
               char *err, size_t errlen);
void replay_free(replay_result *r);

/* A replayed replication's figures against the stored ones: true when
 * every figure (NaN matching NaN) and every count by reply class of the
 * whole scenario and of the entity are equal; else false with what
 * differed first in why. */
bool replay_same(const res_rep *stored, const res_rep *replayed, res_entity_kind kind, size_t index,
                 char *why, size_t whylen);

#endif
