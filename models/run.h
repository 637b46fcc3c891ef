/* run.h - one replication of one scenario: builds the engine, the service
 * (service.h) and the senders (sender.h), runs [0, duration), turns what
 * they counted into a res_rep (results.h), and frees everything.
 *
 * Seeds: replication r of scenario seed S draws from streams derived from
 * (S, r, group, instance, purpose) only, so a replication's figures do not
 * depend on which other replications run, in which order or batch, and a
 * variant with the same seed reuses the same streams (common random
 * numbers).  Two calls with equal arguments give byte-identical figures
 * (every field of res_rep except wall_s and the allocator).
 *
 * Entities: total; each sender group (scenario order); each mailbox.  A
 * figure that does not apply to an entity, or is undefined, is NaN:
 *   - service-side figures (sessions_avg, submitting_avg, at_limit_frac,
 *     sent_items_growth, throttle_*, rrl_*) are mailbox figures; the total
 *     has sums (sessions_avg, submitting_avg, sent_items_growth,
 *     throttle_periods*, throttle_time, rrl_blocked_time) and minima
 *     (rrl_first_*, throttle_first), groups have NaN;
 *   - the tenant windows' figures (terrl_*, moera_*) are the total's only:
 *     the windows belong to the tenant, no mailbox;
 *   - a mailbox is credited with what happened on it; generated, pending
 *     and lost_outbox_overflow are credited to the mailbox of instances
 *     with a fixed mailbox (single or per_instance) and are NaN for a
 *     mailbox that round_robin or least_loaded instances may also use;
 *   - delay quantiles are exact for the total and the groups (st_dset,
 *     stats.h: 8 bytes per accepted message, 16 B more only for messages
 *     the message rate delayed); a mailbox's come from a fixed-size
 *     histogram (delay_hist.h), an upper bound within 1/16 (or 1 ms);
 *   - submission_cdf / delivery_cdf: the total's quantiles k/100, in s
 *     (NaN with no samples);
 *   - per-minute peaks are exact for every entity (running counts,
 *     st_min_run), with no cap on mailboxes x minutes.
 * Errors inside engine events (the senders' world.status, the service's
 * svc_status) fail the replication.
 * Accounting: generated = accepted + lost + pending holds exactly for the
 * total, each group and each mailbox whose generation is defined.
 *
 * Ownership: on success *out is filled and owns its arrays (allocated with
 * a; free with res_rep_free).  On failure *out is untouched, err gets a
 * one-line reason, and the status is returned (SIM_ENOMEM, SIM_EINVAL).
 *
 * Costs: time O(events).  Memory (figures from the end-to-end benchmark):
 *   per sender instance  320 B (its arrival's event node and the hot fields
 *                        in the first 96 B, then five 32 B streams; 64-aligned)
 *                        + 192 B per worker (two hot lines);
 *   per mailbox          ~1.4 KB of counters and limiter states, its delay
 *                        histogram once it accepts (4 B x dh_buckets(duration):
 *                        1.5 KiB for a day; twice that in delay mode), plus its
 *                        recipient-rate window, 6 B per message accepted in
 *                        the last 24 h (at most `limit` entries; ring
 *                        rounded up to a power of two), and the
 *                        message-rate ring, 8 B x limit;
 *   per pending message  56 B (pool) + its engine event;
 *   per accepted message 8 B of delay samples at most (none when its
 *                        submission delay is its group's first one, as
 *                        nearly all are with fixed connect and submit
 *                        times; +16 B only when delayed by the message
 *                        rate in delay mode).
 * scn_budget.h turns these into the estimate `check` and `run` hold a file
 * to before anything runs.
 *
 * A replication also stops with SIM_ERANGE, and err names the sender's
 * key, when a draw passes a bound of scenario.h (recipients, size, burst)
 * or a message is refused SCN_MAX_INSTANT_REFUSALS times at one instant
 * (a zero-time livelock).
 */
#ifndef MODELS_RUN_H
#define MODELS_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "evset.h"
#include "res_summary.h"
#include "results.h"
#include "scenario.h"
#include "sender.h"
#include "service.h"
#include "stats.h"

int run_replication(const scenario *s, int64_t replication, evs_kind kind,
		    const sim_alloc *a, res_rep *out, char *err, size_t errlen);

/* One entity of a replication seen apart (plot --entity replays a stored
 * run's replications with it).  In: kind (RES_GROUP or RES_MAILBOX) and
 * index in the scenario.  Out, filled by run_replication_focus on
 * success: the entity's time series (what each row holds for each kind:
 * sender.h, snd_focus), allocated with the run's allocator (free with
 * run_focus_free); its delay quantiles k / (RES_CDF_POINTS - 1), in s, NaN
 * with no samples: exact for a group (its samples), for a mailbox from its
 * histogram (an upper bound within 1/16 or 1 ms, as its figures);
 * backlog_defined false for a mailbox that instances without a home
 * mailbox also use (their messages belong to no mailbox until an attempt:
 * its backlog counts only the instances whose home it is). */
typedef struct run_focus {
	res_entity_kind kind;
	size_t index;
	res_series_row *series; size_t n_series;
	double submission_cdf[RES_CDF_POINTS];
	double delivery_cdf[RES_CDF_POINTS];
	bool cdf_exact;
	bool backlog_defined;
	sim_alloc alloc;
} run_focus;

/* run_replication, and with focus (may be NULL) that entity's series and
 * delays too.  *out is exactly what run_replication gives (the focus only
 * adds counts beside the world's: every figure byte-identical).  The cost
 * of a normal run: one test of a NULL pointer at each count site.  With a
 * focus: O(the group's workers + its mailboxes) more per series step.  An
 * entity out of range is SIM_EINVAL.  On failure focus's outputs are
 * untouched. */
int run_replication_focus(const scenario *s, int64_t replication, evs_kind kind, const sim_alloc *a,
			  run_focus *focus, res_rep *out, char *err, size_t errlen);
void run_focus_free(run_focus *f);

/* The service-side figures of r's mailboxes (r->n_mailboxes of them, in
 * scenario order; the figures svc_mailbox_figures fills) and of r->total
 * (their sums, the earliest of their first instants, and the tenant's
 * windows, svc_tenant_figures), from v's state at end_ns.  The other
 * figures are left as they are.  run_replication and `serve` both use it,
 * so a served run reports the service exactly as a simulated one. */
void run_service_figures(const svc *v, int64_t end_ns, res_rep *r);

/* The message-level figures of an entity from its counts: pending >= 0
 * sets generated, pending, overflow losses, retries per message and the
 * lost share (a shared mailbox passes -1: its messages belong to groups);
 * duration_min the run's length in minutes. */
void run_fill_counts(res_entity *e, const snd_counts *c, int64_t pending, double duration_min);
/* RES_CDF_POINTS quantiles k / (RES_CDF_POINTS - 1), in s, of the union of
 * the (finished) delay sets d[0..ng). */
void run_fill_cdf(double *cdf, const st_dset *d, size_t ng, st_delay_kind kind);

#endif
