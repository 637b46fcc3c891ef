/* fuzz_run.c - libFuzzer harness that loads a scenario and, when it loads,
 * runs it: one replication (replication 0 of the last scenario, the base
 * when there are no variants) through run_replication(), on the calendar
 * queue.  It finds what only a run shows: integer overflow in the model
 * (UBSan), a replication that makes no progress in simulated time, memory a
 * run cannot get, broken accounting, and any status a run of a loaded file
 * should never return.
 *
 * Budgets, so that a legitimately long or large run is cut short cleanly
 * and only a defect is reported:
 *   memory  every allocation of the run goes through a sim_alloc that
 *           refuses to hold more than RUN_MAX_BYTES (64 MiB) at once: the
 *           run must then fail with SIM_ENOMEM and free everything (a
 *           crash, a leak, or a status other than SIM_ENOMEM is a finding);
 *   events  the engine's sim_schedule_at, _in and _node_in are wrapped
 *           (-Wl,--wrap, see fuzz.mk: the models' calls from other files
 *           go through the wrappers, the engine's own call of one from the
 *           other does not, so each scheduling counts once).  After RUN_MAX_EVENTS schedulings the run is stopped with
 *           sim_stop() at the next moment the clock has moved, and
 *           run_replication's SIM_EINTR is accepted as "cut short";
 *   livelock  if the clock stays at one instant for more schedulings than
 *           the work the scenario can legitimately put at one instant
 *           (stuck_limit(): a constant plus a multiple of the sender
 *           instances, mailboxes and trace rows), the replication is
 *           spinning at one time: abort() with the time, a finding;
 *   time    libFuzzer's -timeout (10 s): a run that neither finishes nor
 *           trips the two counters above (work outside events) is a
 *           timeout finding.
 * On success the figures must add up: generated = accepted + lost + pending
 * for the total, every count finite and >= 0, events <= schedulings.
 *
 * FUZZ_RUN_VERBOSE=1 in the environment prints each run's outcome.
 *
 * The loader runs with the standard allocator, as in fuzz_scenario.c (its
 * own bound is checked there); relative trace paths resolve against
 * tests/fuzz/data/, so run from the repository root.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "run.h"
#include "scn_load.h"
#include "status.h"

#define RUN_MAX_BYTES ((size_t)64 << 20)
#define RUN_MAX_EVENTS 50000u
#define STUCK_BASE 200000u
#define STUCK_PER_ITEM 16u

#define CHECK(cond)                                                               \
	do {                                                                      \
		if (!(cond)) {                                                    \
			fprintf(stderr, "fuzz_run: invariant broken: %s (%s:%d)\n", \
				#cond, __FILE__, __LINE__);                       \
			abort();                                                  \
		}                                                                 \
	} while (0)

/* ---- the capped allocator ------------------------------------------------- */

typedef struct cap_alloc {
	size_t bytes; /* held now */
	size_t peak;
	long refused;
} cap_alloc;

static void *cap_fn(void *ud, void *ptr, size_t old_size, size_t new_size)
{
	cap_alloc *c = ud;
	if (new_size == 0) {
		if (ptr) {
			CHECK(old_size <= c->bytes); /* freeing more than was allocated */
			c->bytes -= old_size;
		}
		free(ptr);
		return NULL;
	}
	if (ptr == NULL)
		old_size = 0;
	CHECK(old_size <= c->bytes);
	if (new_size > old_size && new_size - old_size > RUN_MAX_BYTES - c->bytes) {
		c->refused++;
		return NULL;
	}
	void *q = realloc(ptr, new_size);
	if (q) {
		c->bytes = c->bytes - old_size + new_size;
		if (c->bytes > c->peak)
			c->peak = c->bytes;
	}
	return q;
}

/* ---- the event budget and the livelock detector ------------------------------ */

static struct {
	bool active;
	uint64_t scheduled;   /* schedulings in this run */
	uint64_t stuck;       /* schedulings since the clock last moved */
	uint64_t stuck_limit;
	int64_t last_now;
	bool stopped;         /* sim_stop() was called */
} budget;

static void budget_note(sim_engine *e)
{
	if (!budget.active)
		return;
	int64_t now = sim_now(e);
	budget.scheduled++;
	if (now != budget.last_now) {
		budget.last_now = now;
		budget.stuck = 0;
	} else if (++budget.stuck > budget.stuck_limit) {
		fprintf(stderr,
			"fuzz_run: livelock: %llu events scheduled at t = %lld ns without the "
			"clock moving (limit %llu)\n",
			(unsigned long long)budget.stuck, (long long)now,
			(unsigned long long)budget.stuck_limit);
		abort();
	}
	/* Cut short only once the clock has just moved, so that a run stuck
	 * at one instant goes on to the livelock check. */
	if (budget.scheduled > RUN_MAX_EVENTS && budget.stuck == 0) {
		sim_stop(e);
		budget.stopped = true;
	}
}

int __real_sim_schedule_at(sim_engine *e, int64_t t, sim_handler fn, void *ctx, uint64_t arg,
			   sim_handle *out);
int __real_sim_schedule_in(sim_engine *e, int64_t delay_ns, sim_handler fn, void *ctx,
			   uint64_t arg, sim_handle *out);
int __wrap_sim_schedule_at(sim_engine *e, int64_t t, sim_handler fn, void *ctx, uint64_t arg,
			   sim_handle *out);
int __wrap_sim_schedule_in(sim_engine *e, int64_t delay_ns, sim_handler fn, void *ctx,
			   uint64_t arg, sim_handle *out);
int __real_sim_schedule_node_in(sim_engine *e, sim_node *n, int64_t delay_ns, sim_handler fn,
				void *ctx, uint64_t arg);
int __wrap_sim_schedule_node_in(sim_engine *e, sim_node *n, int64_t delay_ns, sim_handler fn,
				void *ctx, uint64_t arg);

int __wrap_sim_schedule_at(sim_engine *e, int64_t t, sim_handler fn, void *ctx, uint64_t arg,
			   sim_handle *out)
{
	budget_note(e);
	return __real_sim_schedule_at(e, t, fn, ctx, arg, out);
}

int __wrap_sim_schedule_in(sim_engine *e, int64_t delay_ns, sim_handler fn, void *ctx,
			   uint64_t arg, sim_handle *out)
{
	budget_note(e);
	return __real_sim_schedule_in(e, delay_ns, fn, ctx, arg, out);
}

/* Events kept in their owner's node (an instance's next arrival) count
 * as any other. */
int __wrap_sim_schedule_node_in(sim_engine *e, sim_node *n, int64_t delay_ns, sim_handler fn,
				void *ctx, uint64_t arg)
{
	budget_note(e);
	return __real_sim_schedule_node_in(e, n, delay_ns, fn, ctx, arg);
}

/* The most schedulings a scenario can legitimately make at one instant:
 * each sender instance, mailbox and trace row may start a bounded chain of
 * events at the same time (arrival, connect, submit, reply, retry). */
static uint64_t stuck_limit(const scenario *s)
{
	uint64_t items = s->n_mailboxes;
	for (size_t g = 0; g < s->n_senders; g++) {
		items += (uint64_t)s->senders[g].count;
		if (s->senders[g].arrivals.kind == ARR_TRACE)
			items += s->senders[g].arrivals.trace_len;
	}
	return STUCK_BASE + STUCK_PER_ITEM * items;
}

/* ---- the harness ------------------------------------------------------------ */

static void check_counts(const res_entity *e)
{
	static const int figs[] = { FIG_GENERATED, FIG_ACCEPTED, FIG_LOST, FIG_PENDING,
				    FIG_ATTEMPTS, FIG_RETRIES, FIG_REJECTED };
	for (size_t i = 0; i < sizeof figs / sizeof figs[0]; i++) {
		double v = e->fig[figs[i]];
		CHECK(isfinite(v) && v >= 0);
	}
	CHECK(e->fig[FIG_GENERATED] ==
	      e->fig[FIG_ACCEPTED] + e->fig[FIG_LOST] + e->fig[FIG_PENDING]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	scenario **v = NULL;
	size_t n = 0;
	scn_errors errs = { 0 };
	int rc = scn_load_buffer("fuzz.yaml", (const char *)data, size, "tests/fuzz/data",
				 &sim_alloc_std, &v, &n, &errs);
	scn_errors_free(&errs);
	if (rc != 0)
		return 0; /* refusals are fuzz_scenario's subject */
	CHECK(n >= 1);
	const scenario *s = v[n - 1];

	cap_alloc cap = { 0 };
	sim_alloc a = { cap_fn, &cap };
	budget.scheduled = budget.stuck = 0;
	budget.last_now = 0;
	budget.stopped = false;
	budget.stuck_limit = stuck_limit(s);
	budget.active = true;
	res_rep r;
	memset(&r, 0xA5, sizeof r);
	char err[256] = "";
	rc = run_replication(s, 0, EVS_CALENDAR, &a, &r, err, sizeof err);
	budget.active = false;
	if (getenv("FUZZ_RUN_VERBOSE"))
		fprintf(stderr, "fuzz_run: status %d, %llu schedulings, peak %zu bytes%s%s\n", rc,
			(unsigned long long)budget.scheduled, cap.peak, rc ? ": " : "", rc ? err : "");

	if (rc == SIM_OK) {
		CHECK(r.events <= budget.scheduled);
		CHECK(r.n_groups == s->n_senders && r.n_mailboxes == s->n_mailboxes);
		check_counts(&r.total);
		for (size_t g = 0; g < r.n_groups; g++)
			check_counts(&r.groups[g]);
		res_rep_free(&r);
	} else if (rc == SIM_ENOMEM) {
		CHECK(cap.refused > 0); /* ENOMEM only when memory was refused */
	} else if (rc == SIM_EINTR) {
		CHECK(budget.stopped);
	} else {
		fprintf(stderr, "fuzz_run: a loaded scenario failed to run: status %d (%s): %s\n", rc,
			sim_strerror(rc), err);
		abort();
	}
	CHECK(cap.bytes == 0); /* everything the run allocated is freed */
	scn_free_all(v, n, &sim_alloc_std);
	return 0;
}
