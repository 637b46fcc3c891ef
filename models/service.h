/* service.h - the service side of a replication: what Exchange Online (or
 * whichever route a sender uses) answers at AUTH and at end of data, with
 * every limiter's state (per mailbox, tenant, route/connector and source).
 *
 * The sender side (models/sender.c) drives it:
 *   svc_auth()               at the end of connect_time (AUTH);
 *   svc_submission_begin()   when a worker starts sending a message in an
 *                            open session (matters for concurrency_counts:
 *                            submitting);
 *   svc_submit()             at end of data: the reply, decided against the
 *                            state at the clock's now (MODEL.md, step 3);
 *   svc_quit()               when the worker quits (takes no time).
 * Time comes only from the clock port given to svc_new (clock.h): every
 * function reads the time from clk_now(); nothing is passed a time, so a
 * test advances the service by advancing its clock (running the engine
 * to t, or a hand-stepped clock), and a wall-clock server runs the
 * same rules over its own loop.
 *
 * Routes.  Route 0 is smtp_auth and uses the MAILBOX's limits
 * (scn_mailbox.limits); any other route r uses scenario->routes[r].limits.
 * The mailbox is always known (a sender authenticates as one).
 *
 * Scopes.  A limiter's state is keyed by its scope: SCOPE_MAILBOX by the
 * mailbox, SCOPE_TENANT one state, SCOPE_CONNECTOR by the route index,
 * SCOPE_SOURCE by the source (a global sender-instance index in
 * [0, n_sources)).  Mailbox and tenant states are shared by every route
 * whose limiter has that scope (so the tenant external recipient window is
 * one window, whichever route counts into it); a shared state takes its
 * window length from the first limits (route 0 per mailbox, then routes in
 * order) that use it.  The error throttle is always per mailbox and applies
 * only on routes whose limits enable it (SMTP AUTH, per CET).
 *
 * Outcomes.  RC_OK or a refusal class (scenario.h).  The reply line,
 * transient flag and drops_connection come from the route's limits
 * (svc_outcome.reply); the three 535 classes are not in scn_limits and get
 * reply NULL (permanent; text in models/presets.c).
 *
 * Message rate (step 7), by scn_window_count.mode:
 *   RATE_DELAY  accepted now; released for delivery at release_ns >= now,
 *               at most `limit` releases in any window, in order of
 *               acceptance (release_ns exact, computed at acceptance).
 *   RATE_REJECT refused (RC_MESSAGE_RATE) when `limit` messages were
 *               accepted in (now - window, now].
 *   RATE_TARPIT steps 1-6 pass, the window is full (or others are already
 *               held): svc_submit() returns outcome.held = true and the
 *               session stays submitting; later, from a clock timer at
 *               the instant it fits, hooks.held_answered(ctx, session,
 *               outcome RC_OK) is called.  Held sessions are answered first
 *               come, first served per message-rate state.  The recipient
 *               windows and the mailbox size count the message when it is
 *               answered.
 * In RATE_REJECT and RATE_TARPIT modes release_ns = the acceptance time.
 *
 * Ownership.  svc_session is the caller's (embed it in a worker, as libuv
 * links timers into caller structs); svc never allocates per session,
 * except that a held session's message and queue links (tarpit) are in a
 * table of svc's that grows by doubling (amortised O(1); SIM_ENOMEM from
 * svc_submit if it cannot).  The
 * scenario, the clock's implementation (its ctx and *now_ns) and the
 * allocator must outlive the svc; the clk struct itself is copied.
 *
 * Costs.  Every operation is O(1) amortised (sliding windows are ring
 * buffers popped lazily from the left), except svc_throttled_mailboxes()
 * (O(mailboxes)) and svc_mailbox_figures() (O(entries in the window)).
 * Ring buffers are allocated lazily on first use and grow by doubling up to
 * what the window can hold; once warm no operation allocates.
 *
 * Errors.  Functions returning int give SIM_OK, SIM_ENOMEM (a ring could
 * not grow; nothing changed) or SIM_EINVAL (bad index or session state;
 * nothing changed).  No globals; two svc may run in two threads.
 */
#ifndef MODELS_SERVICE_H
#define MODELS_SERVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "alloc.h"
#include "clock.h"
#include "results.h"
#include "scenario.h"

typedef struct svc svc;

/* A message as the service sees it at end of data. */
typedef enum svc_fault {
	SVC_FAULT_NONE = 0,
	SVC_FAULT_SEND_AS_DENIED,     /* 550 5.7.60 */
	SVC_FAULT_INVALID_RECIPIENTS, /* 550 5.1.10 */
} svc_fault;

typedef struct svc_message {
	int64_t recipients;  /* as the recipient limits count them: a group is 1 */
	int64_t external;    /* external recipients after group expansion (tenant limit) */
	int64_t size_bytes;
	svc_fault fault;     /* drawn at generation from the sender's fault profile */
	float fault_u;       /* this attempt's uniform draw in [0, 1): refused with
	                      * 451 4.3.111 when < the route's data_fault_rate (0: never);
	                      * a float keeps the tarpit's copy of the message in the
	                      * sender's worker (24 bits are ample for a rate) */
} svc_message;

/* The client as AUTH sees it. */
typedef struct svc_client {
	bool basic_auth;         /* Basic authentication (else OAuth) */
	bool tls_too_old;        /* TLS 1.0 or 1.1 (421 4.7.66) */
	bool bad_credentials;    /* a wrong password or expired secret */
	bool source_mismatch;    /* not the source a relay connector expects (550 5.7.64) */
	double fault_u;          /* this attempt's uniform draw in [0, 1): 451 4.7.0 PRX4
	                          * when < the route's auth_fault_rate */
} svc_client;

/* The fields of one route's limits (scn_limits, kilobytes with its reply
 * texts) that every AUTH and end of data reads, in one small record per
 * route and mailbox: a submission touches its replies only when refused. */
typedef struct svc_lim {
	int64_t max_message_size;   /* 0 = none */
	int64_t max_recipients;     /* per message; 0 = none */
	int64_t rrl_limit, ext_limit;
	double data_fault_p;        /* 451 4.3.111 per end of data; 0 = never */
	double auth_fault_p;        /* 451 4.7.0 per AUTH; 0 = never (here, not read from
	                             * the scenario's limits: a cold line per AUTH) */
	bool smtp_auth, saves_sent_items;
	bool rrl_external_only, ext_external_only;
	bool internal_only, checks_source, anonymous; /* the envelope checks */
} svc_lim;

/* Places for limiter states in a session: the service's slots (6) and one
 * spare, so that a new limiter slot needs no change here (the route's
 * limits are not kept: svc finds them from the route and mailbox when a
 * reply needs them).  The size is
 * measured: AUTH writes the whole session, which must stay within two
 * cache lines of the sender's worker (sender.h: the second and third of
 * its 192 bytes, after its event node and own fields); when the tarpit's
 * links were still in the
 * session, 6 places spilled them into a third line and AUTH's write
 * misses doubled. */
#define SVC_MAX_SLOTS 7

/* Held sessions at once, at most 2^SVC_HOLD_BITS - 1 (svc_submit returns
 * SIM_ENOMEM past it; their memory runs out long before). */
#define SVC_HOLD_BITS 27

/* A session: the caller owns the memory; svc_auth() initialises it, the
 * other fields are private to svc except `user`, which svc never touches
 * (e.g. a back-pointer to the worker, for hooks.held_answered). */
typedef struct svc_session {
	void *user;
	/* private; written at AUTH, read by every submission */
	const svc_lim *lim;              /* its route's hot limits (set at AUTH) */
	void *st[SVC_MAX_SLOTS];         /* the state of each limiter slot it counts
	                                  * in, or NULL: looked up once at AUTH, not
	                                  * per message; a held session waits in its
	                                  * message-rate state's queue */
	int32_t source;   /* < 2^31: the loader bounds instances at 10^7 */
	int32_t route;
	int32_t mailbox;
	/* bits: the session stays within the worker's 192 bytes (sender.h) */
	bool open : 1;        /* AUTH succeeded and not quit */
	bool submitting : 1;  /* between svc_submission_begin and the answer */
	bool enveloped : 1;   /* the current message passed svc_envelope */
	bool source_mismatch : 1; /* from svc_client, for the envelope checks */
	bool held : 1;        /* in a tarpit queue */
	/* private, tarpit only: while held, 1 + its place in the svc's table of
	 * held messages (their queue links and the message), else 0.  That
	 * table, not the session, holds them: 48 bytes every session carried
	 * for the tarpit alone (88 bytes now, 136 before, on x86-64) */
	unsigned hold : SVC_HOLD_BITS;
} svc_session;

/* What a reply is. */
typedef struct svc_outcome {
	scn_reply_class rc;
	const scn_reply *reply;  /* from the route's limits; NULL for RC_OK and the 535 classes */
	bool held;               /* tarpit: answer comes later through hooks.held_answered */
	int64_t reply_delay_ns;  /* AUTH refusals (535): the limits' auth_fail_tarpit_ns, the
	                          * time the refusal takes to arrive; 0 otherwise */
	int64_t release_ns;      /* RC_OK: when the message is released for delivery (>= now) */
	int64_t retry_after_ns;  /* a full window's refusal (message rate in reject mode,
	                          * message_cap): when it has room again, from now; 0: no hint */
} svc_outcome;

typedef struct svc_hooks {
	void *ctx;
	/* Required if any limits use RATE_TARPIT: a held session is answered
	 * (o->rc == RC_OK, o->release_ns == now).  Called from a clock timer;
	 * the session is no longer submitting; the hook may call any svc_*
	 * function, including svc_submission_begin/svc_submit/svc_quit on s. */
	void (*held_answered)(void *ctx, svc_session *s, const svc_outcome *o);
	/* Optional: an error-throttle period [start_ns, end_ns) started on a
	 * mailbox (for time series and traces). */
	void (*throttle_started)(void *ctx, int mailbox, scn_error_class c,
				 int64_t start_ns, int64_t end_ns);
} svc_hooks;

/* n_sources: total sender instances (for SCOPE_SOURCE); sources are
 * 0 .. n_sources-1.  clock: the time and timers (copied; what it points to
 * must outlive the svc, as must s and a).  Returns NULL on ENOMEM. */
svc *svc_new(const scenario *s, const clk *clock, const sim_alloc *a,
	     int64_t n_sources, svc_hooks hooks);
void svc_free(svc *v);

/* AUTH at now, in this order (docs/MODEL.md): TLS below 1.2 (421 4.7.66,
 * any route), a transient fault drawn per attempt (451 4.7.0 PRX4); then,
 * if limits.smtp_auth: SMTP AUTH disabled for the mailbox (its tristate,
 * else the tenant's), wrong credentials, Basic auth used while the tenant
 * has it off, or while security defaults or a Conditional Access policy
 * blocks it (each 535 5.7.139 with its text); then, with
 * concurrency_check: auth, the concurrency cap (432).  client NULL: OAuth,
 * TLS 1.2, valid credentials, no fault.  On
 * RC_OK the session is open and counts until svc_quit; otherwise *sess is
 * left closed (it need not be quit).  Returns SIM_OK (the decision is in
 * *out), SIM_EINVAL for a bad route/mailbox/source.  Error throttling does
 * not refuse AUTH. */
int svc_auth(svc *v, svc_session *sess, int route, int mailbox, int64_t source,
	     const svc_client *client, svc_outcome *out);

/* MAIL FROM and RCPT of a message, at now, before its data: Reject Direct
 * Send (550 5.7.68) on an anonymous route of a tenant that sets it, a
 * relay connector's source check (550 5.7.64), external recipients on an
 * internal-only route (550 5.7.54).  RC_OK: the client may send the data
 * (svc_submission_begin, then svc_submit).  A refused message was not
 * transferred; the session stays open.  svc_submit runs these checks
 * itself when they were not run for the message.  SIM_OK or SIM_EINVAL. */
int svc_envelope(svc *v, svc_session *sess, const svc_message *m, svc_outcome *out);

/* The worker starts sending a message in an open session.  Counts the
 * session as submitting (concurrency_counts: submitting) until the
 * answer.  SIM_EINVAL if the session is not open or already submitting. */
int svc_submission_begin(svc *v, svc_session *sess);

/* End of data at now: the reply, checking in MODEL.md's order (throttled
 * class, size, recipients per message, quota/license/send-as/invalid
 * recipients, recipient rate 554 5.2.0, tenant external 550 5.7.233,
 * message rate), else accepted (recipient windows count it; the mailbox
 * grows by its size if Sent Items are saved).  Underlying errors are
 * counted into the error-throttle windows and may start a throttle period
 * [now, now + period).  If svc_submission_begin was not called for this
 * message it is implied.  Unless out->held, the submission has ended.
 * Returns SIM_OK, SIM_ENOMEM (nothing changed), SIM_EINVAL. */
int svc_submit(svc *v, svc_session *sess, const svc_message *m, svc_outcome *out);

/* The client abandoned the message before its end of data (RSET between
 * BDAT chunks, a lost connection, a message over the SIZE bound): the
 * submission ends at now and nothing is counted (no window, no error
 * history); a held session leaves its tarpit queue unanswered.  The
 * session stays open.  A session not submitting is left as it is.
 * SIM_OK, or SIM_EINVAL if the session is not open. */
int svc_submission_abort(svc *v, svc_session *sess);

/* Close the session at now (a held session leaves its tarpit queue,
 * unanswered).  A closed session is ignored. */
void svc_quit(svc *v, svc_session *sess);

/* Hints, no effect on any answer: start loading what svc_auth (and the
 * submission after it) will read of this mailbox, or what svc_submit will
 * read of this session's windows.  Called when the event that will need
 * them is scheduled, so the loads overlap the events in between. */
void svc_prefetch_auth(const svc *v, int route, int mailbox);
void svc_prefetch_submit(const svc *v, const svc_session *sess);

/* ---- reading the state ------------------------------------------------ */

/* SIM_OK, or the first error met inside a clock timer (a tarpit answer
 * whose ring could not grow: the message was still answered, its window
 * count skipped).  Check it after running the clock. */
int svc_status(const svc *v);

/* Open sessions over all mailboxes, now. */
int64_t svc_open_sessions(const svc *v);
/* Mailboxes in an error-throttle period (any class) at time t >= last op. */
int64_t svc_throttled_mailboxes(const svc *v, int64_t t);
/* Current size in bytes of a mailbox. */
int64_t svc_mailbox_size(const svc *v, int mailbox);
/* The smtp_auth recipient-rate window sum of a mailbox at t (t >= last op;
 * the state its route-0 limits point to; 0 for SCOPE_SOURCE). */
int64_t svc_mailbox_rrl_sum(const svc *v, int mailbox, int64_t t);

/* A mailbox's state at t (>= the last operation), for a live view. */
typedef struct svc_mailbox_state {
	int64_t sessions;        /* open sessions */
	int64_t submitting;      /* submissions in progress (a tarpit hold included) */
	int64_t rrl_sum;         /* recipients in its route-0 recipient window */
	int64_t rrl_limit;       /* that window's limit (0: none) */
	int64_t size_bytes;      /* the mailbox's size (Sent Items included) */
	int throttled_class;     /* scn_error_class throttling it at t, or -1 */
	int64_t throttled_until; /* the end of that period (valid with a class) */
} svc_mailbox_state;

/* SIM_OK, or SIM_EINVAL for a bad mailbox.  O(error classes). */
int svc_mailbox_now(const svc *v, int mailbox, int64_t t, svc_mailbox_state *out);

/* Fills, for a mailbox, the service-side figures of *out (other figures are
 * left alone), over the run [0, end_ns) with end_ns >= the last operation:
 *   SESSIONS_AVG      time-average open sessions of the mailbox (every open
 *                     session, whatever concurrency_counts);
 *   AT_LIMIT_FRAC     fraction of time the mailbox's route-0 concurrency
 *                     state (the count concurrency_counts names) was at its
 *                     limit (0 with no limit; NaN for SCOPE_SOURCE);
 *   THROTTLE_PERIODS  error-throttle periods started (each class counts);
 *   THROTTLE_TIME     s in the union of periods, clipped to [0, end_ns);
 *   RRL_BLOCKED_TIME  s during which the route-0 recipient-rate sum was >=
 *                     its limit (a 1-recipient message would be refused);
 *   RRL_FIRST_REACHED s at which that sum first reached the limit (NaN: never);
 *   RRL_FIRST_REFUSAL s of the first 554 5.2.0 to this mailbox (NaN: never);
 *   SUBMITTING_AVG    time-average submissions in progress (svc_submission_begin
 *                     to the answer, a tarpit hold included);
 *   SENT_ITEMS_GROWTH bytes added to the mailbox (Sent Items) in the run;
 *   THROTTLE_FIRST    s at which the first error-throttle period started;
 *   THROTTLE_PERIODS_<class> periods started per CET class.
 * RELEASED / AWAITING_RELEASE and per-minute figures are message-level: the
 * run derives them from outcome.release_ns (released iff release_ns < end). */
void svc_mailbox_figures(const svc *v, int mailbox, int64_t end_ns, res_entity *out);

/* Fills the tenant-scope windows' figures of *out (the run's total: these
 * windows belong to no mailbox): TERRL_* for the tenant external recipient
 * limit, MOERA_* for the onmicrosoft.com one; each its limit (NaN: no
 * limits use it), the s its sum stood >= the limit (one more external
 * recipient would be refused; 0 when off), the first instant it reached
 * the limit and the first refusal (NaN: never).  O(entries in the windows). */
void svc_tenant_figures(const svc *v, int64_t end_ns, res_entity *out);


#endif
