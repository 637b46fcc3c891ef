/* sender.h - the client side of a replication: sender instances, their
 * arrivals, messages, outboxes, worker slots, sessions and back-off
 * (MODEL.md "A message's life", "Back-off", "Precise rules"), driving the
 * service (service.h) through the engine (engine.h).
 *
 * One snd_world holds everything of one replication's client side: the
 * instances of every sender group (each with its own random streams, see
 * rng.h), their workers, a message pool and the counters the run turns
 * into results (run.h).  It schedules only through sim_schedule_*.
 *
 * Invariants (snd_world_check, run after every event the module handles
 * in the assert builds; see check.h):
 *   - every generated message is exactly one of: accepted, lost, or
 *     unresolved (in an outbox, held by a worker connecting, submitting,
 *     held in a tarpit, or in back-off); inst.unresolved counts the last;
 *   - an instance's unclaimed FIFO is non-empty only while none of its
 *     workers is free or idling in an open session;
 *   - a worker holds at most one message, from its first attempt to its
 *     acceptance or loss (MODEL.md "Workers and messages"): exactly while
 *     connecting, submitting or backing off; a message in the FIFO has
 *     had no attempt, one in back-off at least one and fewer than
 *     max_attempts;
 *   - the total's counters are the sums of the groups' (and of the
 *     mailboxes' for what happens at an attempt); open sessions per
 *     mailbox add up to the workers submitting or idling.
 *
 * The module's files (sender.c, sender_draw.c, sender_arrivals.c,
 * sender_session.c, sender_retry.c, sender_count.c) share sender_int.h.
 *
 * Memory: instances, workers and counters are allocated by snd_world_init
 * (O(senders x connections + groups + mailboxes)); messages come from a
 * pool of slabs grown on demand and recycled through a free list, so memory
 * grows with the number of unresolved messages only, and once warm no
 * event allocates (except the delay-sample arrays, 8 bytes per accepted
 * message, and the service's rings).
 *
 * Costs: per message a fixed handful of events (arrival, connect done,
 * submit done, plus one per retry or idle hold); every handler O(1) except
 * least_loaded (O(pool members)) and multi-worker dispatch (O(connections)).
 *
 * Errors: an allocation failure inside a handler stops the engine
 * (sim_stop) and is kept in world.status; run_replication reports it.
 */
#ifndef MODELS_SENDER_H
#define MODELS_SENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "delay_hist.h"
#include "engine.h"
#include "results.h"
#include "rng.h"
#include "scenario.h"
#include "service.h"
#include "stats.h"

struct snd_copies;

/* A message, from generation to acceptance or loss.  From the pool. */
typedef struct snd_msg {
	struct snd_msg *next;    /* outbox FIFO, or the pool's free list */
	int64_t generated_ns;
	int64_t prev_backoff_ns; /* decorrelated jitter's "previous"; base at first */
	int64_t size_bytes;
	int64_t recipients;      /* as the limits count them (a group is 1) */
	int64_t external;        /* external recipients after group expansion */
	uint32_t attempts;       /* connection refusals + submissions so far */
	uint8_t fault;           /* svc_fault */
	uint8_t last_rc;         /* scn_reply_class of the last refusal */
	uint16_t serial;         /* its instance's message count mod 2^16, for the
	                          * per-attempt draws (snd__attempt_u) */
	struct snd_copies *copies; /* copies the client gave up on while the service
	                          * held them (data_timeout), or NULL; 64 bytes in all */
} snd_msg;

typedef enum snd_worker_state {
	SW_FREE = 0,     /* no session, no message */
	SW_CONNECTING,   /* connect_time running, holding msg */
	SW_SUBMITTING,   /* in a session, submit_time running (or held) */
	SW_IDLE,         /* in a session, no message, idle_timeout running */
	SW_BACKOFF,      /* no session, holding msg, waiting out a back-off */
	/* Client behaviours (docs/MODEL.md "Client behaviours"): */
	SW_PAUSED,       /* no message, asleep between two (a batch pause, the message gap, or
	                  * the instance's pause); in its session or not (snd_wclient) */
	SW_DIAL_WAIT,    /* holding msg, no session: the pool has stopped dialling */
} snd_worker_state;

/* The client behaviours' state of a worker and of an instance, in arrays
 * of their own (world.wcl, world.icl) allocated only when a sender uses a
 * behaviour that needs them (scn_sender_client_state) or a route caps a
 * session's lifetime: the hot worker and instance keep their cache lines,
 * and a scenario without them allocates nothing. */
typedef struct snd_wclient {
	int64_t open_ns;         /* AUTH of its session (session_lifetime) */
	int64_t batch_sent;      /* messages finished since its last pause (batch_per: connection) */
	bool pause_in_session;   /* SW_PAUSED: its session stays open while it sleeps */
} snd_wclient;

typedef struct snd_iclient {
	int64_t batch_sent;      /* batch_per: instance */
	int64_t pause_until_ns;  /* the instance's pause: no worker takes a message before it */
	int64_t connect_free_ns; /* serial_connect: when its connecting thread is free */
	int64_t dial_failures;   /* failed connections in a row */
	bool dial_stopped;       /* dial_stop_after reached: no connection until resumed */
	bool aborted;            /* abort_on: the job has stopped for good */
} snd_iclient;

struct snd_inst;

/* 192 bytes, 64-aligned in the world's array: every event of a message
 * reads the first two cache lines only (the node and the worker's own
 * fields, the session's hot part); the idle timer is in the third, and a
 * message the tarpit holds is kept by the service (hold_node), not here. */
typedef struct snd_worker {
	/* Its connect-done or submit-done event (one of them pending at a
	 * time, at most), first: the engine prefetches the node and the 64
	 * bytes after it a handler ahead, and runs it without a pool slot. */
	_Alignas(64) sim_node ev;
	struct snd_inst *inst;
	snd_msg *msg;
	int64_t sent;            /* messages resolved in this session */
	int32_t mailbox;         /* of the session (or connection attempt) */
	uint8_t state;           /* snd_worker_state */
	uint8_t spare;           /* its session is world.spare_of[its index], not sess
	                          * (sess is still held by the service for a copy the
	                          * client gave up on: data_timeout) */
	uint16_t instant_refusals; /* refusals of msg in a row at instant_ns */
	svc_session sess;        /* sess.user = this worker (or, given up on, its copies) */
	sim_handle timer;        /* the idle hold's end, cancelled on reuse */
	int64_t instant_ns;      /* when msg's current run of refusals began */
} snd_worker;

/* The bound of a run of refusals at one instant (zero-time livelock). */
#define SND_MAX_INSTANT_REFUSALS SCN_MAX_INSTANT_REFUSALS

struct snd_world;

/* Hot fields first (one cache line), then the streams. */
typedef struct snd_inst {
	/* Its arrival event (poisson, periodic, random bursts: one pending
	 * at a time), first: the engine prefetches it a handler ahead, and
	 * with it the instance's hot fields. */
	_Alignas(64) sim_node arrival;
	/* Hot: 64 bytes that every event of the instance reads. */
	struct snd_world *world;
	snd_msg *head, *tail;    /* unclaimed messages, oldest first */
	snd_worker *workers;     /* `connections` of them */
	int64_t unresolved;      /* generated, neither accepted nor lost */
	uint64_t msgs_made;      /* messages generated (numbers them: snd_msg.serial) */
	int64_t source;          /* global instance index (service SCOPE_SOURCE) */
	int32_t group;
	int32_t home_mailbox;    /* fixed or per_instance mailbox; -1 otherwise */
	/* The streams: arrivals, shape and faults (drawn for every message)
	 * first, service and back-off (rare) last. */
	rng_stream rs[RNG_PURPOSE_COUNT];
	/* Periodic arrivals, scheduled bursts and round_robin only. */
	int64_t arr_k;           /* periodic: the next candidate's k; scheduled bursts: local
	                          * days since the start's (once: 1 when done) */
	int64_t phase_ns;        /* periodic; scheduled bursts: the current burst's first instant */
	uint64_t rr;             /* round_robin: connection attempts so far */
	int64_t index;           /* within its group (seeds and round_robin only);
	                          * 320 bytes, 64-aligned in the world's array */
} snd_inst;

/* Message-level counters of one entity (total, a group, a mailbox).  A
 * mailbox is credited with what happened on it (attempts, acceptances,
 * losses at an attempt) and, for instances whose mailbox is fixed
 * (home_mailbox), with generation, overflow and pending. */
typedef struct snd_counts {
	/* What every message updates, together: the first two lines (arrays
	 * of counts are 64-aligned).  _Alignas on the first member alone: on
	 * a declaration of several it aligns each of them, which put these
	 * five counts on five lines of their own. */
	_Alignas(64) uint64_t generated;
	uint64_t conn_opened, attempts, accepted, released;
	uint64_t rcpt_accepted, rcpt_delivered;
	uint64_t rcpt_external;        /* external recipients of accepted messages */
	double sub_sum_s, del_sum_s;   /* mailboxes: for the mean */
	int64_t sub_max_ns, del_max_ns;
	int64_t last_release_ns;       /* latest release in the run (when released > 0) */
	uint64_t retries;              /* attempts after a message's first */
	/* Refusals and losses (lost and rejected fill the second line). */
	uint64_t lost, rejected;
	/* Mailboxes only: their delay quantiles in bounded memory (set up at
	 * the first acceptance, freed by snd_world_free); the third line,
	 * read by every acceptance. */
	_Alignas(64) dh_hist dly;
	uint64_t lost_gave_up, lost_overflow, lost_permanent;
	uint64_t awaiting_release;
	uint64_t conn_refused;
	uint64_t rejected_by[RC_COUNT], lost_by[RC_COUNT];
	uint64_t lost_no_reply;        /* given up with no reply ever given (only data timeouts):
	                                * in lost_gave_up, under no reply class */
	/* data_timeout: end-of-data replies the client stopped waiting for, and
	 * messages the service accepted more than once (a copy the client gave
	 * up on, and another) */
	uint64_t data_timeouts, duplicates;
	/* Client behaviours (docs/MODEL.md "Client behaviours").  lost_aborted
	 * and believed_sent are kinds of loss beside gave_up, overflow and
	 * permanent: lost is their sum.  aborted_tried: aborted messages that
	 * had an attempt (the attempts identity). */
	uint64_t lost_aborted, aborted_tried, believed_sent;
	uint64_t auth_timeouts;        /* AUTH replies the client stopped waiting for (read_timeout) */
	uint64_t dial_stops, lifetime_closes;
} snd_counts;

/* A session the client gave up on while the service held its message
 * (tarpit) stays open in the service until the held message is answered
 * (docs/MODEL.md "Data timeout"); the worker then goes on with a spare
 * session.  Both are rare: from free lists, never freed before the world. */
typedef struct snd_spare {
	svc_session sess;
	struct snd_spare *next, *all;  /* free list; every spare */
} snd_spare;

/* The copies of one message the client gave up on while the service held
 * them: how many are still held, how many the service accepted (the
 * message's own acceptance included), and whether the client has resolved
 * the message.  A message accepted twice is counted once in duplicates. */
typedef struct snd_copies {
	struct snd_copies *next, *all;
	uint32_t pending;              /* copies still held by the service */
	uint32_t accepted;             /* copies accepted */
	int32_t group;
	bool resolved;                 /* the message was accepted or lost */
} snd_copies;

typedef struct snd_slab snd_slab;

/* A replication seen through one sender group or one mailbox (a replay for
 * `plot --entity`, run.h: run_replication_focus): the time series of that
 * entity alone, counted at the same sites as the whole scenario's.  Exactly
 * one of group and mailbox is >= 0.  What a row holds (res_series_row):
 *   group    accepted, released, lost and refused attempts of its messages;
 *            outbox_backlog its instances' unresolved messages; open_sessions
 *            its workers in a session; throttled_mailboxes the mailboxes it
 *            may use that are in an error-throttle period;
 *   mailbox  what happened on it (as its figures: attempts, acceptances and
 *            losses there, and outbox overflow of the instances whose home
 *            it is); outbox_backlog the unresolved messages of the instances
 *            whose home it is; open_sessions its sessions; throttled 0 or 1.
 * The world only adds to series (n_series rows, zeroed, the world's step);
 * the caller owns it.  world.focus is NULL in a normal run: each count site
 * then pays one test of that pointer. */
typedef struct snd_focus {
	int32_t group, mailbox;        /* the entity; -1 for the other kind */
	int64_t backlog;               /* its unresolved messages now */
	res_series_row *series; size_t n_series;
} snd_focus;

typedef struct snd_world {
	const scenario *s;
	int64_t replication;
	sim_engine *e;
	const int64_t *clock;          /* sim_clock(e): the time read without a call (snd__now) */
	svc *v;
	sim_alloc alloc;
	int status;                    /* first failure inside a handler */
	char why[256];                 /* what it was, when more than status says ("" if not) */

	snd_inst *inst; size_t n_inst; /* inst: 64-aligned in inst_mem */
	void *inst_mem;
	snd_worker *workers; size_t n_workers; /* workers: 64-aligned in workers_mem */
	void *workers_mem;
	void *groups_mem, *mailboxes_mem, *m_acc_mem, *m_rel_mem; /* 64-aligned arrays' blocks */
	size_t *group_first;           /* instances of group g: [first[g], first[g] + count) */
	size_t *trace_pos;             /* per group: next trace row */
	int64_t *mbx_open;             /* open sessions per mailbox (least_loaded) */
	bool *mbx_shared;              /* mailbox used by an instance without a home */

	snd_slab *slabs;
	snd_msg *free_msgs;
	snd_spare **spare_of;          /* per worker (data_timeout only; else NULL) */
	snd_spare *spare_free, *spare_all;
	snd_copies *copies_free, *copies_all;
	snd_wclient *wcl;              /* per worker, or NULL (no client behaviour needs it) */
	snd_iclient *icl;              /* per instance, or NULL */

	int64_t backlog;               /* sum of inst.unresolved */
	snd_counts total, *groups, *mailboxes;
	st_dset *dly;                  /* per group: submission and delivery delays */
	st_min_run acc_min, rel_min, *g_acc_min, *g_rel_min, *m_acc_min, *m_rel_min;

	res_series_row *series; size_t n_series;
	res_rep *rec;                  /* where the replies given are noted (may be NULL) */
	snd_focus *focus;              /* NULL, or the entity a replay counts apart */
	size_t series_next;            /* first row whose end is not yet filled */
	int64_t series_next_end;       /* that row's end; INT64_MAX: none left */
	unsigned check_ops;            /* SIM_CHECK's counter (check.h) */
	/* Whether any limits a worker can meet have a sporadic AUTH or
	 * end-of-data fault: when not, no attempt reads its limits for it
	 * (a cold line of the scenario per message). */
	bool auth_faults, data_faults;
	/* The per-minute runs, each counted once where two would count
	 * alike: while every acceptance so far was released at its instant
	 * (rel_as_acc) the release runs are the acceptance runs and are not
	 * counted (the first that is not copies them out); with one sender
	 * group the total's runs are the group's (total_as_group) and are
	 * never counted.  Read them through snd_min_run. */
	bool rel_as_acc, total_as_group;
	uint8_t *g_draws;              /* per group: the streams its messages draw (sender_int.h) */
} snd_world;

/* Builds every instance of s's senders (streams from (s->seed,
 * replication, group, instance, purpose)) and schedules their first
 * arrivals on e.  v, e, s and a must outlive the world.  SIM_OK, or
 * SIM_ENOMEM with everything freed. */
int snd_world_init(snd_world *w, const scenario *s, int64_t replication,
		   sim_engine *e, svc *v, const sim_alloc *a);
void snd_world_free(snd_world *w);

/* Whether the world's accounting and state are consistent (the invariants
 * above, spelled out in sender.c): O(instances x connections + groups +
 * mailboxes + unclaimed messages).  The module runs it through SIM_CHECK
 * after every event it handles; tests may call it at any time between
 * events. */
bool snd_world_check(const snd_world *w);

typedef enum snd_level { SND_LEVEL_TOTAL, SND_LEVEL_GROUP, SND_LEVEL_MAILBOX } snd_level;

/* The per-minute run of acceptances (released false) or releases of the
 * total, of group i or of mailbox i (i ignored for the total).  O(1). */
const st_min_run *snd_min_run(const snd_world *w, snd_level level, size_t i, bool released);

/* The service's hooks for this world (tarpit answers, throttle starts). */
svc_hooks snd_world_hooks(snd_world *w);

/* Fill the time-series rows whose end is <= t (state at the end of a step
 * is the state just before it: events at the step's end belong to the
 * next step).  Called by every handler before it changes anything, and by
 * the run at the end with t = duration. */
void snd_series_advance(snd_world *w, int64_t t);

/* Real-valued draws to integer ns, rounded half up; saturates. */
int64_t snd_round_ns(double x);

/* The k-th retry's back-off (k = attempts already made >= 1) for message
 * m, drawing the jitter from st; updates m->prev_backoff_ns.  Exposed for
 * the tests. */
int64_t snd_backoff_ns(const scn_retry *r, snd_msg *m, rng_stream *st);

/* A draw from d by inversion of one uniform u in (0, 1) (one uniform per
 * draw whatever the distribution, for common random numbers). */
double snd_dist_inv(const scn_dist *d, double u);
/* A duration in ns (not rounded) from a distribution other than
 * DUR_FIXED, by inversion of one uniform u in (0, 1). */
double snd_duration_inv(const scn_duration *d, double u);
/* Binomial(n, p) by inversion of one uniform u in (0, 1). */
int64_t snd_binomial_inv(int64_t n, double p, double u);

/* The profile multiplier hour[h] * day[d] at simulated time t_ns, h and d
 * on the scenario's local clock (s->tz). */
double snd_profile_at(const scenario *s, const scn_arrivals *a, int64_t t_ns);

/* ---- the client's pure steps, apart from any clock ----------------------
 * What the world's handlers compute from an instance's streams alone, for
 * a client that keeps its own time: `throttlesim load` drives real SMTP
 * connections with them on a wall-clock loop.  An snd_inst for these
 * needs only group, index and rs[] (streams from rng_stream_init(seed,
 * replication, group, index, purpose), as snd_world_init makes them) and
 * keeps arr_k and phase_ns for them; nothing else of it is read. */

typedef enum snd_draw_result {
	SND_DRAW_OK = 0,
	SND_DRAW_TOO_MANY_RECIPIENTS, /* over 2^40 people per message */
	SND_DRAW_TOO_LARGE,           /* a size over 2^60 B, or a burst over 10^6 */
} snd_draw_result;

/* A message's shape (recipients, external recipients, size) and fault,
 * into m: three uniforms of the shape stream and one of the faults
 * stream, always, in this order (a trace row gives the shape).  On a
 * bound passed, *drawn is the value drawn (m's shape is then partial). */
snd_draw_result snd_message_draw(const scn_sender *sd, snd_inst *in, snd_msg *m,
				 const scn_trace_row *row, double *drawn);

/* One arrival event of an instance whose arrivals are poisson, periodic
 * or random bursts: how many messages it generates now (0 when thinned
 * out, 1, or a burst's size: the first now and the rest every
 * arrivals.spacing after it) and when the next arrival event is
 * (INT64_MAX: none).  Draws the arrivals stream only. */
typedef struct snd_arrival {
	int64_t messages;
	int64_t next_ns;
	double drawn;                /* the burst drawn, when over the bound */
} snd_arrival;

/* The first arrival event's time from the start (0), for poisson,
 * periodic and random bursts; INT64_MAX: none (any other kind: scheduled
 * bursts and traces are the world's alone). */
int64_t snd_arrival_first(const scenario *s, snd_inst *in);
/* At the arrival event at now: SND_DRAW_OK, or SND_DRAW_TOO_LARGE for a
 * burst over 10^6 (out->drawn says how many). */
snd_draw_result snd_arrival_step(const scenario *s, snd_inst *in, int64_t now, snd_arrival *out);

#endif
