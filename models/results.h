/* results.h - what one replication of one scenario measured: the contract
 * between the models (producer, models/run.c) and the statistics, the
 * writers and the results store (consumers).
 *
 * Figures are a flat array of doubles per entity (the whole run, each
 * sender group, each mailbox), indexed by res_fig and described by the
 * table res_fig_info[] (name, unit, meaning), so writers and the store
 * iterate the table instead of naming fields.  A figure that is undefined
 * in a replication (e.g. a delay quantile with no accepted message) is NaN.
 * Which figures apply to which entity: a mailbox-only figure is NaN for a
 * group, and so on.
 *
 * Units in figures: times and delays in seconds (double), counts as
 * integers stored in doubles, fractions in [0, 1], percentages in
 * [0, 100].  A mailbox's delay quantiles are an upper bound from a
 * histogram (delay_hist.h); the total's and the groups' are exact.
 */
#ifndef SIM_RESULTS_H
#define SIM_RESULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "scenario.h"

/* The figure catalog: every figure a replication measures, defined once.
 *   ID      FIG_<ID>, its index
 *   name    its stable key in JSON, CSV, the store and plan targets
 *   unit    of its values
 *   label   a short label for tables and charts (at most 9 columns), "" if
 *           none is shown
 *   ents    the entities it is defined for (NaN for the others; see
 *           models/run.h for why each is where it is)
 *   keys    the views it is a key figure of, in catalog order: RES_K_TABLE
 *           the table's block per entity; RES_K_DIFF its paired difference
 *           from the base; RES_K_COMPARE the comparison of variants (table,
 *           sweep table and compare chart)
 *   doc     one line on what it is */
enum { RES_E_TOTAL = 1, RES_E_GROUP = 2, RES_E_MAILBOX = 4, RES_E_ALL = 7 };
enum { RES_K_TABLE = 1, RES_K_DIFF = 2, RES_K_COMPARE = 4 };

#define RES_FIGURES(X) \
	X(GENERATED, "generated", "msgs", "generated", RES_E_ALL, RES_K_TABLE, \
	  "messages generated") \
	X(ACCEPTED, "accepted", "msgs", "accepted", RES_E_ALL, RES_K_TABLE | RES_K_DIFF | RES_K_COMPARE, \
	  "messages accepted (250)") \
	X(LOST, "lost", "msgs", "lost", RES_E_ALL, RES_K_TABLE | RES_K_DIFF | RES_K_COMPARE, \
	  "messages lost, all reasons") \
	X(LOST_GAVE_UP, "lost_gave_up", "msgs", "", RES_E_ALL, 0, \
	  "given up after max_attempts or max_age") \
	X(LOST_OUTBOX_OVERFLOW, "lost_outbox_overflow", "msgs", "", RES_E_ALL, 0, \
	  "arrived at a full outbox") \
	X(LOST_PERMANENT, "lost_permanent", "msgs", "", RES_E_ALL, 0, \
	  "dropped after an honoured permanent reply") \
	X(PENDING, "pending", "msgs", "pending", RES_E_ALL, RES_K_TABLE | RES_K_DIFF, \
	  "not accepted when the run ended") \
	X(AWAITING_RELEASE, "awaiting_release", "msgs", "", RES_E_ALL, 0, \
	  "accepted, not yet released (delay mode)") \
	X(RELEASED, "released", "msgs", "", RES_E_ALL, 0, \
	  "released for delivery") \
	X(ATTEMPTS, "attempts", "count", "", RES_E_ALL, 0, \
	  "connection refusals plus submissions") \
	X(RETRIES, "retries", "count", "", RES_E_ALL, 0, \
	  "attempts that are not a message's first") \
	X(RETRIES_PER_MSG, "retries_per_msg", "ratio", "retry/msg", RES_E_ALL, RES_K_TABLE | RES_K_COMPARE, \
	  "retries / generated") \
	X(REJECTED, "rejected", "count", "rejected", RES_E_ALL, RES_K_TABLE, \
	  "non-250 replies, all classes") \
	X(CONN_OPENED, "connections_opened", "count", "", RES_E_ALL, 0, \
	  "sessions opened (AUTH succeeded)") \
	X(CONN_REFUSED, "connections_refused", "count", "", RES_E_ALL, 0, \
	  "connections refused at AUTH") \
	X(SUB_DELAY_MEAN, "submission_delay_mean", "s", "", RES_E_ALL, 0, \
	  "generation to acceptance, mean") \
	X(SUB_DELAY_P50, "submission_delay_p50", "s", "", RES_E_ALL, 0, \
	  "") \
	X(SUB_DELAY_P90, "submission_delay_p90", "s", "", RES_E_ALL, 0, \
	  "") \
	X(SUB_DELAY_P95, "submission_delay_p95", "s", "p95 subm", RES_E_ALL, RES_K_TABLE | RES_K_DIFF | RES_K_COMPARE, \
	  "") \
	X(SUB_DELAY_P99, "submission_delay_p99", "s", "", RES_E_ALL, 0, \
	  "") \
	X(SUB_DELAY_MAX, "submission_delay_max", "s", "", RES_E_ALL, 0, \
	  "") \
	X(DEL_DELAY_MEAN, "delivery_delay_mean", "s", "", RES_E_ALL, 0, \
	  "generation to release, mean") \
	X(DEL_DELAY_P50, "delivery_delay_p50", "s", "", RES_E_ALL, 0, \
	  "") \
	X(DEL_DELAY_P90, "delivery_delay_p90", "s", "", RES_E_ALL, 0, \
	  "") \
	X(DEL_DELAY_P95, "delivery_delay_p95", "s", "p95 deliv", RES_E_ALL, RES_K_TABLE | RES_K_DIFF | RES_K_COMPARE, \
	  "") \
	X(DEL_DELAY_P99, "delivery_delay_p99", "s", "", RES_E_ALL, 0, \
	  "") \
	X(DEL_DELAY_MAX, "delivery_delay_max", "s", "", RES_E_ALL, 0, \
	  "") \
	X(ACCEPTED_PER_MIN, "accepted_per_min", "msgs/min", "", RES_E_ALL, 0, \
	  "mean over the run") \
	X(ACCEPTED_PEAK_MIN, "accepted_peak_min", "msgs/min", "", RES_E_ALL, 0, \
	  "busiest minute [60k, 60k+60) s") \
	X(RELEASED_PER_MIN, "released_per_min", "msgs/min", "", RES_E_ALL, 0, \
	  "mean over the run") \
	X(RELEASED_PEAK_MIN, "released_peak_min", "msgs/min", "", RES_E_ALL, 0, \
	  "busiest minute") \
	X(RCPT_ACCEPTED, "recipients_accepted", "rcpts", "", RES_E_ALL, 0, \
	  "recipients of accepted messages (groups as 1)") \
	X(RCPT_DELIVERED, "recipients_delivered", "rcpts", "", RES_E_ALL, 0, \
	  "after group expansion") \
	X(SESSIONS_AVG, "sessions_avg", "sessions", "", RES_E_TOTAL | RES_E_MAILBOX, 0, \
	  "time-average open sessions (mailbox)") \
	X(AT_LIMIT_FRAC, "at_limit_frac", "fraction", "", RES_E_MAILBOX, 0, \
	  "fraction of time at the concurrency limit (mailbox)") \
	X(THROTTLE_PERIODS, "throttle_periods", "count", "", RES_E_TOTAL | RES_E_MAILBOX, 0, \
	  "error-throttle periods started") \
	X(THROTTLE_TIME, "throttle_time", "s", "throttled", RES_E_TOTAL | RES_E_MAILBOX, RES_K_TABLE | RES_K_DIFF | RES_K_COMPARE, \
	  "total error-throttled time, clipped to the run") \
	X(RRL_BLOCKED_TIME, "rrl_blocked_time", "s", "", RES_E_TOTAL | RES_E_MAILBOX, 0, \
	  "time a 1-recipient message would be refused by the recipient rate limit") \
	X(RRL_FIRST_REACHED, "rrl_first_reached", "s", "", RES_E_TOTAL | RES_E_MAILBOX, 0, \
	  "first instant the 24 h window reached the limit (NaN: never)") \
	X(RRL_FIRST_REFUSAL, "rrl_first_refusal", "s", "", RES_E_TOTAL | RES_E_MAILBOX, 0, \
	  "first 554 5.2.0 refusal (NaN: never)") \
	X(DUPLICATES, "duplicates", "msgs", "", RES_E_ALL, 0, \
	  "messages accepted more than once (a copy given up on by data_timeout, and another)") \
	RES_FIGURES_2026(X)

/* What a planner could not yet say (issue 10): kept as one block. */
#define RES_FIGURES_2026(X) \
	X(RCPT_EXTERNAL_ACCEPTED, "external_accepted", "rcpts", "", RES_E_ALL, 0, \
	  "external recipients of accepted messages, after group expansion") \
	X(LOST_PCT, "lost_pct", "%", "", RES_E_ALL, 0, \
	  "lost / generated x 100 (NaN: nothing generated, or generation undefined)") \
	X(LAST_RELEASE, "last_release", "s", "", RES_E_ALL, 0, \
	  "instant of the last release for delivery in the run (NaN: none)") \
	X(SUBMITTING_AVG, "submitting_avg", "sessions", "", RES_E_TOTAL | RES_E_MAILBOX, 0, \
	  "time-average submissions in progress (mailbox)") \
	X(SENT_ITEMS_GROWTH, "sent_items_growth", "bytes", "", RES_E_TOTAL | RES_E_MAILBOX, 0, \
	  "bytes the accepted messages added to Sent Items") \
	X(THROTTLE_FIRST, "throttle_first", "s", "", RES_E_TOTAL | RES_E_MAILBOX, 0, \
	  "start of the first error-throttle period (NaN: never)") \
	X(THROTTLE_PERIODS_MAILBOX_FULL, "throttle_periods_mailbox_full", "count", "", \
	  RES_E_TOTAL | RES_E_MAILBOX, 0, "error-throttle periods started, 5.2.251 (mailbox full)") \
	X(THROTTLE_PERIODS_SEND_AS_DENIED, "throttle_periods_send_as_denied", "count", "", \
	  RES_E_TOTAL | RES_E_MAILBOX, 0, "error-throttle periods started, 5.2.252 (send-as denied)") \
	X(THROTTLE_PERIODS_INVALID_LICENSE, "throttle_periods_invalid_license", "count", "", \
	  RES_E_TOTAL | RES_E_MAILBOX, 0, "error-throttle periods started, 5.2.253 (invalid license)") \
	X(THROTTLE_PERIODS_TOO_MANY_RECIPIENTS, "throttle_periods_too_many_recipients", "count", "", \
	  RES_E_TOTAL | RES_E_MAILBOX, 0, "error-throttle periods started, 5.2.254 (too many recipients)") \
	X(THROTTLE_PERIODS_INVALID_RECIPIENTS, "throttle_periods_invalid_recipients", "count", "", \
	  RES_E_TOTAL | RES_E_MAILBOX, 0, "error-throttle periods started, 5.2.255 (invalid recipients)") \
	X(TERRL_LIMIT, "terrl_limit", "rcpts", "", RES_E_TOTAL, 0, \
	  "tenant external recipient limit per 24 h (NaN: off)") \
	X(TERRL_BLOCKED_TIME, "terrl_blocked_time", "s", "", RES_E_TOTAL, 0, \
	  "time one more external recipient would be refused by the tenant limit") \
	X(TERRL_FIRST_REACHED, "terrl_first_reached", "s", "", RES_E_TOTAL, 0, \
	  "first instant the tenant's 24 h window reached its limit (NaN: never)") \
	X(TERRL_FIRST_REFUSAL, "terrl_first_refusal", "s", "", RES_E_TOTAL, 0, \
	  "first 550 5.7.233 refusal (NaN: never)") \
	X(MOERA_LIMIT, "moera_limit", "rcpts", "", RES_E_TOTAL, 0, \
	  "external recipients per 24 h from *.onmicrosoft.com senders (NaN: off)") \
	X(MOERA_BLOCKED_TIME, "moera_blocked_time", "s", "", RES_E_TOTAL, 0, \
	  "time one more MOERA external recipient would be refused") \
	X(MOERA_FIRST_REACHED, "moera_first_reached", "s", "", RES_E_TOTAL, 0, \
	  "first instant the MOERA window reached its limit (NaN: never)") \
	X(MOERA_FIRST_REFUSAL, "moera_first_refusal", "s", "", RES_E_TOTAL, 0, \
	  "first 550 5.7.236 refusal (NaN: never)") \
	RES_FIGURES_CLIENT(X)

/* What the application did and believed (docs/MODEL.md "Client
 * behaviours"): kept as one block.  lost_aborted and believed_sent are
 * kinds of lost (lost = gave_up + outbox_overflow + permanent + aborted +
 * believed_sent); what the application counts as sent is accepted +
 * believed_sent. */
#define RES_FIGURES_CLIENT(X) \
	X(LOST_ABORTED, "lost_aborted", "msgs", "", RES_E_ALL, 0, \
	  "lost when the job stopped at a refusal (abort_on): the refused message and the rest of its outbox") \
	X(BELIEVED_SENT, "believed_sent", "msgs", "", RES_E_ALL, 0, \
	  "refused at end of data, counted as sent by an application that discards that reply (lost too)") \
	X(TIMEOUTS, "timeouts", "count", "", RES_E_ALL, 0, \
	  "replies the client stopped waiting for (data_timeout, read_timeout)") \
	X(DIAL_STOPS, "dial_stops", "count", "", RES_E_ALL, 0, \
	  "times a pool stopped dialling after dial_stop_after failed connections") \
	X(LIFETIME_CLOSES, "lifetime_closes", "count", "", RES_E_ALL, 0, \
	  "sessions the service closed at a message for their lifetime (session_lifetime)")

typedef enum res_fig {
#define X(id, name, unit, label, ents, keys, doc) FIG_##id,
	RES_FIGURES(X)
#undef X
	FIG_COUNT
} res_fig;

typedef struct res_fig_desc {
	const char *name;
	const char *unit;
	const char *label;
	unsigned ents;   /* RES_E_* */
	unsigned keys;   /* RES_K_* */
	const char *doc;
} res_fig_desc;

extern const res_fig_desc res_fig_info[FIG_COUNT];

/* Figures of one entity in one replication, plus counts by reply class. */
typedef struct res_entity {
	double fig[FIG_COUNT];
	uint64_t rejected_by[RC_COUNT];  /* rejections (every attempt) by reply class */
	uint64_t lost_by[RC_COUNT];      /* messages lost with that last reply (permanent or gave_up) */
} res_entity;

/* The time series of a replication, summed over the scenario, one row per
 * step [k*step, (k+1)*step). */
typedef struct res_series_row {
	uint32_t accepted;
	uint32_t released;         /* released for delivery in the step (its release time) */
	uint32_t lost;             /* messages lost in the step, every reason (outbox overflow included) */
	uint32_t rejected_by[RC_COUNT];
	uint32_t outbox_backlog;   /* messages generated, not yet accepted or lost, at the step's end */
	uint32_t open_sessions;    /* at the step's end, all mailboxes */
	uint32_t throttled_mailboxes; /* mailboxes in an error-throttle period at the step's end */
} res_series_row;

/* Points of the delay distributions kept for plots: quantile k/(N-1),
 * k = 0..N-1, of the whole scenario's delays (seconds; NaN when none). */
#define RES_CDF_POINTS 101

/* A reply as the service gave it: code and line.  code 0: none given. */
typedef struct res_reply {
	int code;
	bool transient;
	char text[sizeof(((scn_reply *)0)->text)];
} res_reply;

typedef struct res_rep {
	uint64_t seed;
	int64_t replication;
	res_entity total;
	res_entity *groups;   size_t n_groups;    /* scenario order */
	res_entity *mailboxes; size_t n_mailboxes; /* scenario order */
	res_series_row *series; size_t n_series;
	int64_t series_step_ns;
	double submission_cdf[RES_CDF_POINTS];
	double delivery_cdf[RES_CDF_POINTS];
	uint64_t events;       /* events the engine ran */
	double wall_s;         /* not part of byte-identical output */
	/* Per class, the reply given first in this replication (code 0 when
	 * none was); given_mixed: another reply of the class was given too
	 * (routes or mailboxes may word one class differently). */
	res_reply given[RC_COUNT];
	bool given_mixed[RC_COUNT];
	const void *given_src[RC_COUNT]; /* the last reply noted: a cache, not a result */
	sim_alloc alloc;
} res_rep;

void res_rep_free(res_rep *r);

/* Records that reply r of class c was given (the first one is kept; a
 * different one sets given_mixed).  O(1) when r is the reply noted last
 * for the class, else O(length of the text). */
void res_rep_note_reply(res_rep *rep, int c, const scn_reply *r);

/* ---- what a variant's results refer to -------------------------------------- */

/* The resolved limits of an entity (a mailbox's smtp_auth limits, or the
 * route a sender group uses).  0 = no limit. */
typedef struct res_limits {
	char preset[SCN_NAME_MAX];
	int64_t concurrency;            /* sessions (or submissions) at once */
	int concurrency_scope;          /* scn_scope */
	int64_t message_rate;           /* messages per window */
	int64_t message_rate_window_ns;
	int message_rate_mode;          /* scn_rate_mode */
	int64_t recipient_rate;         /* recipients per window */
	int64_t recipient_rate_window_ns;
	int64_t external_rate;          /* the tenant external recipient limit applied */
	int64_t max_recipients_per_message;
	int64_t max_message_size;       /* bytes */
} res_limits;

typedef struct res_group_desc {
	char name[SCN_NAME_MAX];
	char route[SCN_NAME_MAX];       /* "smtp_auth" or the route's name */
	char mailbox[SCN_NAME_MAX];     /* the mailbox, or the pool, it authenticates as */
	int64_t instances;
	res_limits limits;              /* its route's (smtp_auth: its first mailbox's) */
} res_group_desc;

typedef struct res_mailbox_desc {
	char name[SCN_NAME_MAX];
	res_limits limits;              /* smtp_auth limits, overrides applied */
} res_mailbox_desc;

/* What a variant's results refer to, so that a reader needs nothing else:
 * the run's names, each entity's resolved limits, the replies the first
 * mailbox's route would give (shown for a class no replication gave), and
 * the sweep point.  Built by res_describe() from the scenario the variant
 * ran, or read back from a store; owns its arrays. */
typedef struct res_desc {
	char scenario[SCN_NAME_MAX];
	char variant[SCN_NAME_MAX];
	uint64_t seed;
	int64_t duration_ns;
	int64_t start_unix_s;
	char timezone[64];              /* the scenario's clock: an IANA name, "UTC" by default */
	int32_t start_utc_offset_s;     /* its offset east of UTC at the start */
	int64_t sweep_point;            /* -1: not a sweep */
	int n_sweep_keys;
	char sweep_key[2][SCN_NAME_MAX];
	double sweep_value[2];
	res_group_desc *groups;   size_t n_groups;
	res_mailbox_desc *mailboxes; size_t n_mailboxes;
	res_reply configured[RC_COUNT];
	sim_alloc alloc;
} res_desc;

/* Fills *out from s.  SIM_ENOMEM leaves *out untouched.  O(entities). */
int res_describe(const scenario *s, const sim_alloc *a, res_desc *out);
/* Allocates the entity arrays of an empty description (for readers that
 * fill it themselves).  SIM_ENOMEM leaves *d untouched. */
int res_desc_alloc(res_desc *d, const sim_alloc *a, size_t n_groups, size_t n_mailboxes);
void res_desc_free(res_desc *d);

/* The reply of class c that a variant's results show: the one given in the
 * first replication that gave one, else the configured one.  Never NULL. */
const res_reply *res_variant_reply(const res_desc *d, const res_rep *reps, size_t n_reps, int c);

#endif
