/* scenario.h - a validated scenario: the contract between the loader
 * (models/scn_load.h, YAML -> this struct) and the models (models/), which
 * read it and never change it.
 *
 * Everything here is resolved: units are integers (ns, bytes), defaults
 * and presets are filled in, names are resolved to indexes, pools are
 * expanded into mailboxes.  A variant is resolved into a scenario of its
 * own (the loader applies its overrides to the YAML tree, then validates
 * the result like any scenario), so the models never see overrides.
 *
 * Ownership: a scenario and everything it points to is allocated by the
 * loader with one allocator and freed by scn_free_all() (scn_load.h).
 * Read-only afterwards, so replications may share it across threads.
 *
 * Units: times and durations int64 ns; sizes int64 bytes (binary: 1 KB =
 * 1024 B); rates double per second; probabilities double in [0, 1].
 */
#ifndef SIM_SCENARIO_H
#define SIM_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "replies.h"
#include "tz.h"

#define SCN_NS_PER_S 1000000000LL
#define SCN_NAME_MAX 128

/* Bounds on what one message or burst may be (docs/SCENARIOS.md,
 * Bounds): the loader refuses a value or distribution that could exceed
 * them, and a replication stops with an error naming the key if a draw
 * from an unbounded distribution does.  Recipients are people after
 * group expansion (recipients x group_members <= 2^40), so no product of
 * a message's quantities passes 2^63. */
#define SCN_MAX_RECIPIENTS (1LL << 40)
#define SCN_MAX_SIZE_BYTES (1LL << 60)
#define SCN_MAX_BURST 1000000LL
/* A message refused this many times in a row without simulated time
 * advancing is a zero-time livelock (docs/MODEL.md, "Back-off"): the
 * loader refuses a sender whose connect_time and retry base are both 0
 * unless max_attempts is at most this; a replication stops at it. */
#define SCN_MAX_INSTANT_REFUSALS 10000

/* ---- replies ---------------------------------------------------------- */

/* Reply classes: the catalog in replies.h (scn_reply_class, RC_*). */

typedef struct scn_reply {
	int code;           /* 432, 550, ... */
	bool transient;     /* 4xx: retry; 5xx: permanent */
	bool drops_connection;
	char text[192];     /* the full reply line, e.g. "432 4.3.2 Concurrent connections limit exceeded. ..." */
} scn_reply;

/* ---- the four limiter kinds ------------------------------------------- */

typedef enum scn_scope {
	SCOPE_MAILBOX = 0, /* one state per mailbox */
	SCOPE_TENANT,      /* one state for the whole tenant */
	SCOPE_SOURCE,      /* one state per sender instance (its source address) */
	SCOPE_CONNECTOR,   /* one state per route (all senders using it) */
} scn_scope;

/* Concurrency cap. limit 0 = no limit.  Where it is checked is an
 * assumption (MODEL.md, concurrency_check): at the end of data, against
 * the other submissions in progress (Exchange Online's default: clients
 * see the 432 as the reply to DATA), or at AUTH, against the sessions
 * `counts` names (a connection-level cap: receive connectors, third
 * parties, and Exchange Online as the 2020 announcement read). */
typedef enum scn_conc_check { CONC_AT_END_OF_DATA = 0, CONC_AT_AUTH = 1 } scn_conc_check;
typedef struct scn_concurrency {
	int64_t limit;
	scn_scope scope;
	enum { COUNT_SESSIONS = 0, COUNT_SUBMITTING = 1 } counts; /* at AUTH only */
	scn_conc_check check;
} scn_concurrency;

/* Sliding-window count of messages, checked at end of data.  limit 0 = off. */
typedef enum scn_rate_mode { RATE_DELAY = 0, RATE_REJECT = 1, RATE_TARPIT = 2 } scn_rate_mode;
typedef struct scn_window_count {
	int64_t limit;
	int64_t window_ns;
	scn_scope scope;
	scn_rate_mode mode;  /* reject mode answers reply[RC_MESSAGE_RATE] */
} scn_window_count;

/* Sliding-window sum of recipients, checked at end of data.  limit 0 = off. */
typedef struct scn_window_sum {
	int64_t limit;
	int64_t window_ns;
	scn_scope scope;
	bool external_only; /* count external recipients after group expansion */
	/* The window's reading (docs/MODEL.md "Recipient window"): 0 = rolling,
	 * (t - window, t] (the default, as documented); k > 0 = fixed periods
	 * of window_ns that reset at (k - 1) s after 00:00 UTC (an ASSUMPTION
	 * some users report: "resets at midnight").  0 by memset, so limits
	 * built by hand keep the rolling window. */
	int64_t reset;
} scn_window_sum;

/* Error throttle for one error class (five classes, see scn_error_class). */
typedef enum scn_error_class {
	ERR_MAILBOX_FULL = 0, ERR_SEND_AS_DENIED, ERR_INVALID_LICENSE,
	ERR_TOO_MANY_RECIPIENTS, ERR_INVALID_RECIPIENTS, ERR_CLASS_COUNT
} scn_error_class;
/* The throttled reply of error class e is RC_THROTTLED_MAILBOX_FULL + e. */
_Static_assert(RC_THROTTLED_INVALID_RCPT - RC_THROTTLED_MAILBOX_FULL + 1 == ERR_CLASS_COUNT &&
	       RC_THROTTLED_SEND_AS - RC_THROTTLED_MAILBOX_FULL == ERR_SEND_AS_DENIED &&
	       RC_THROTTLED_INVALID_LICENSE - RC_THROTTLED_MAILBOX_FULL == ERR_INVALID_LICENSE &&
	       RC_THROTTLED_TOO_MANY_RCPT - RC_THROTTLED_MAILBOX_FULL == ERR_TOO_MANY_RECIPIENTS,
	       "throttled reply classes follow scn_error_class");
typedef struct scn_error_throttle {
	bool enabled;
	int64_t threshold;  /* errors in the window that trip it */
	int64_t window_ns;
	int64_t period_ns;  /* how long the mailbox stays throttled */
} scn_error_throttle;

/* The scenario keys of a limits mapping (docs/SCENARIOS.md, limits), after
 * `preset` and before `error_throttle` and `replies`, in the order the
 * loader applies them: the key, the kind of value it takes, the field of
 * scn_limits it sets.  The loader iterates this table (models/scn_limits.c);
 * a new setting is a row here.  Kinds: BOOL, DURATION (>= 0), WINDOW
 * (> 0), LIMIT (a count or off), SIZE (a size or off), RATE_LIMIT (N or
 * N/UNIT, which sets the window too; the field is the scn_window_count),
 * PROB (a probability in [0, 1]), LIFETIME (a duration > 0 or off = 0),
 * RESET (rolling = 0, or a time of day "HH:MM[:SS]" UTC = 1 + its seconds),
 * COUNTS, SCOPE, MODE and CHECK (names: sessions|submitting,
 * scn_scope_names, scn_rate_mode_names, scn_conc_check_names). */
#define SCN_LIMIT_KEYS(X) \
	X("smtp_auth",                  BOOL,       smtp_auth) \
	X("saves_sent_items",           BOOL,       saves_sent_items) \
	X("auth_fail_tarpit",           DURATION,   auth_fail_tarpit_ns) \
	X("max_concurrent_connections", LIMIT,      connections.limit) \
	X("concurrency_counts",         COUNTS,     connections.counts) \
	X("concurrency_check",          CHECK,      connections.check) \
	X("concurrency_scope",          SCOPE,      connections.scope) \
	X("message_rate_limit",         RATE_LIMIT, message_rate) \
	X("message_rate_window",        WINDOW,     message_rate.window_ns) \
	X("message_rate_mode",          MODE,       message_rate.mode) \
	X("message_rate_scope",         SCOPE,      message_rate.scope) \
	X("recipient_rate_limit",       LIMIT,      recipient_rate.limit) \
	X("recipient_rate_window",      WINDOW,     recipient_rate.window_ns) \
	X("recipient_rate_scope",       SCOPE,      recipient_rate.scope) \
	X("max_recipients_per_message", LIMIT,      max_recipients_per_message) \
	X("max_message_size",           SIZE,       max_message_size) \
	X("internal_only",              BOOL,       internal_only) \
	X("checks_source",              BOOL,       checks_source) \
	X("anonymous",                  BOOL,       anonymous) \
	X("onmicrosoft_external_limit", LIMIT,      onmicrosoft_rate.limit) \
	X("onmicrosoft_external_window", WINDOW,    onmicrosoft_rate.window_ns) \
	X("message_cap_limit",          LIMIT,      message_cap.limit) \
	X("message_cap_window",         WINDOW,     message_cap.window_ns) \
	X("message_cap_scope",          SCOPE,      message_cap.scope) \
	X("auth_fault_rate",            PROB,       auth_fault_p) \
	X("data_fault_rate",            PROB,       data_fault_p) \
	X("session_lifetime",           LIFETIME,   session_lifetime_ns) \
	X("recipient_rate_reset",       RESET,      recipient_rate.reset)

/* A route's limits: named slots, each of one of the four kinds, plus the
 * per-message checks, and the reply this route gives for each class.  A
 * preset is one of these filled with data (models/presets.c); scenarios
 * override any field. */
/* The reply a session past its lifetime gets (OBS Haraka#2321: the
 * basic code is not in the report; 421, which closes, ASSUMPTION).  Not a
 * reply class: the client sees its connection closed before its message
 * (docs/MODEL.md "Session lifetime"). */
#define SCN_LIFETIME_REPLY "421 4.4.1 Connection timed out. Total session duration exceeded"

typedef struct scn_limits {
	char preset[SCN_NAME_MAX];       /* exchange-online, exchange-server, direct-send, ... */
	bool smtp_auth;                  /* AUTH happens: the auth checks apply */
	bool saves_sent_items;           /* accepted messages grow the mailbox */
	int64_t auth_fail_tarpit_ns;     /* delay before a failed AUTH reply (exchange-server 5 s) */
	scn_concurrency connections;     /* 3 per mailbox, 432 4.3.2 */
	int64_t max_message_size;        /* bytes; 0 = none */
	int64_t max_recipients_per_message; /* 0 = none */
	scn_window_sum recipient_rate;   /* 10,000 per 24 h per mailbox */
	scn_window_sum external_rate;    /* tenant external recipient limit (off by default) */
	scn_window_count message_rate;   /* 30 per 60 s per mailbox */
	bool internal_only;              /* external recipients refused at RCPT (direct send, HVE) */
	bool checks_source;              /* a relay connector: a sender whose source does not match is refused */
	bool anonymous;                  /* no AUTH, to the tenant's MX: Reject Direct Send applies */
	scn_window_sum onmicrosoft_rate; /* MOERA: external recipients of *.onmicrosoft.com senders, per tenant */
	scn_window_count message_cap;    /* a second, longer message window, refused (acs: 100 per hour) */
	double auth_fault_p;             /* per AUTH: 451 4.7.0 ... PRX4 with this probability */
	double data_fault_p;             /* per end of data: 451 4.3.111 ... MRH1 */
	/* A session's total lifetime (0 = none): the first command of a
	 * message at or after AUTH + this is answered SCN_LIFETIME_REPLY and the
	 * connection closed.  ASSUMPTION: about 20 min observed on the MX
	 * path only (OBS Haraka#2321); off by default. */
	int64_t session_lifetime_ns;
	scn_error_throttle error_throttle[ERR_CLASS_COUNT];
	scn_reply reply[RC_COUNT];       /* by class: the catalog's, or the preset's or scenario's text */
} scn_limits;

/* ---- distributions ------------------------------------------------------ */

typedef enum scn_dist_kind {
	DIST_FIXED = 0,    /* a */
	DIST_UNIFORM_INT,  /* integers a..b inclusive */
	DIST_POISSON1,     /* 1 + Poisson(a) (a = mean - 1) */
	DIST_GEOMETRIC,    /* on {1,2,...} with mean a */
	DIST_LOGNORMAL,    /* median a, sigma b */
	DIST_EMPIRICAL,    /* values[i] with probability weights[i] (normalised) */
} scn_dist_kind;

typedef struct scn_dist {
	scn_dist_kind kind;
	double a, b;
	size_t n;
	double *values;
	double *weights;
} scn_dist;

/* A duration drawn at each use (a sender's connect_time and submit_time,
 * docs/SCENARIOS.md "session"): DUR_FIXED draws nothing (the value is the
 * field beside it, so a scenario with fixed times keeps its streams byte
 * for byte); every other kind is one uniform of the instance's service
 * stream per use, by inversion (rng.h: common random numbers).  Empirical
 * tables are held inline (at most SCN_DUR_EMPIRICAL_MAX pairs), so a
 * sender owns no memory for them. */
typedef enum scn_dur_kind {
	DUR_FIXED = 0,     /* the *_ns field beside it */
	DUR_EXPONENTIAL,   /* mean a */
	DUR_UNIFORM,       /* on [a, b] */
	DUR_LOGNORMAL,     /* median a, sigma b (of the log; no unit) */
	DUR_EMPIRICAL,     /* values_ns[i] with probability (cum[i] - cum[i-1]) / cum[n-1] */
} scn_dur_kind;

#define SCN_DUR_EMPIRICAL_MAX 32

typedef struct scn_duration {
	scn_dur_kind kind;
	uint32_t n;                              /* empirical pairs */
	double a, b;                             /* ns, except sigma */
	double values_ns[SCN_DUR_EMPIRICAL_MAX];
	double cum[SCN_DUR_EMPIRICAL_MAX];       /* cumulative weights */
} scn_duration;

/* ---- arrivals ------------------------------------------------------------ */

typedef enum scn_arrival_kind {
	ARR_NONE = 0, ARR_POISSON, ARR_PERIODIC, ARR_BURSTS, ARR_TRACE
} scn_arrival_kind;

typedef struct scn_trace_row {
	int64_t time_ns;      /* from the scenario's start */
	int64_t instance;     /* sender instance index, 0-based */
	int64_t recipients;
	int64_t external;     /* external recipients (<= recipients) */
	int64_t size_bytes;
} scn_trace_row;

/* Bursts drawn at random (a rate and a size), or scheduled: at a time
 * of day on the chosen days of the scenario's local calendar, or once. */
typedef enum scn_burst_when { BURST_RANDOM = 0, BURST_DAILY, BURST_ONCE } scn_burst_when;

typedef struct scn_arrivals {
	scn_arrival_kind kind;
	double rate_per_s;        /* poisson: messages/s; bursts: bursts/s (scheduled: their
				   * mean over a week, for the estimates) */
	int64_t interval_ns;      /* periodic */
	int64_t jitter_ns;        /* periodic: arrival k at phase + k*interval + U[0, jitter) */
	bool fixed_phase;         /* periodic: phase_ns for every instance, else U[0, interval) each */
	int64_t phase_ns;
	scn_dist burst_size;      /* bursts: messages per burst (scheduled: fixed, `count`) */
	int64_t spacing_ns;       /* bursts: between messages of a burst */
	/* Scheduled bursts: message i (0 <= i < count) of a burst that
	 * begins at T arrives at T + floor(i * over_ns / count). */
	scn_burst_when when;
	int64_t at_s;             /* daily: seconds after local midnight; once: the instant (Unix s) */
	uint8_t days_mask;        /* daily: bit d set for the local weekdays it runs (0 = Monday) */
	int64_t over_ns;
	bool has_profile;         /* rate multiplied by hour[h] * day[d] (thinning) */
	double hour[24];          /* multiplier per hour of local time (the scenario's timezone) */
	double day[7];            /* multiplier per local day of week, 0 = Monday */
	double profile_max;       /* max over hour[h]*day[d], for thinning */
	scn_trace_row *trace;     /* trace: rows sorted by time (stable) */
	size_t trace_len;
	char trace_file[512];
} scn_arrivals;

/* ---- entities -------------------------------------------------------- */

typedef enum scn_tristate { TRI_UNSET = -1, TRI_FALSE = 0, TRI_TRUE = 1 } scn_tristate;

/* The bounds on a mailbox's test credentials (docs/SCENARIOS.md,
 * mailboxes: password, send_as): a password of 1 to SCN_PASSWORD_MAX
 * bytes; at most SCN_SEND_AS_MAX grants per mailboxes: entry, each an
 * address of at most SCN_ADDRESS_MAX bytes (RFC 5321 4.5.3.1.3: a path
 * is at most 256 octets, its two angle brackets included). */
#define SCN_PASSWORD_MAX 256
#define SCN_SEND_AS_MAX 1000
#define SCN_ADDRESS_MAX 254

/* One block of credentials: the grant pointers, then the password and the
 * grants' texts, NUL-terminated, in one allocation of `bytes` bytes.  One
 * per `mailboxes:` entry that gives a password or send_as, so the members
 * of a pool share one (10^6 pooled mailboxes cost one block, plus three
 * words each in scn_mailbox). */
typedef struct scn_creds {
	void *mem;                /* NULL: the entry was refused (the load fails) */
	size_t bytes;
} scn_creds;

typedef struct scn_mailbox {
	char name[SCN_NAME_MAX];
	int pool;                 /* index into pools, or -1 */
	/* For `serve`; the simulator ignores them.  Both point into one of
	 * the scenario's creds blocks (borrowed: valid while the scenario
	 * is).  password: what AUTH PLAIN/LOGIN must give, NULL = none set
	 * (any password is taken).  send_as: the Send As grants, as written:
	 * addresses, "*@domain" or "*" (scn_may_send_as, sendas.h). */
	const char *password;
	const char *const *send_as;
	size_t n_send_as;
	scn_tristate smtp_client_auth_disabled; /* unset = follow the tenant */
	int64_t quota_bytes;
	int64_t size_bytes;       /* at start */
	bool save_sent_items;
	bool licensed;
	scn_limits limits;        /* the smtp_auth route's limits for this mailbox, overrides applied */
} scn_mailbox;

typedef enum scn_assign { ASSIGN_PER_INSTANCE = 0, ASSIGN_ROUND_ROBIN, ASSIGN_LEAST_LOADED } scn_assign;

typedef struct scn_pool {
	char name[SCN_NAME_MAX];
	size_t first;  /* its members are mailboxes[first .. first+count) */
	size_t count;
} scn_pool;

typedef enum scn_jitter { JITTER_NONE = 0, JITTER_FULL, JITTER_EQUAL, JITTER_DECORRELATED } scn_jitter;

typedef struct scn_retry {
	int64_t base_ns;
	double factor;            /* 1 = fixed */
	int64_t cap_ns;           /* 0 = no cap */
	scn_jitter jitter;
	int64_t max_attempts;     /* 0 = no limit; default 1 (no retry) */
	int64_t max_age_ns;       /* 0 = no limit */
	bool honors_permanent;
	bool honors_retry_after;  /* waits at least the service's retry-after hint */
	/* abort_on: the first refusal of these kinds stops the instance for
	 * good; its message and every later one are lost as aborted
	 * (docs/MODEL.md "Client behaviours").  0 and 0 = never (default). */
	unsigned abort_on;        /* SCN_ABORT_* */
	uint64_t abort_on_classes; /* bit c: reply class c */
} scn_retry;

enum { SCN_ABORT_TRANSIENT = 1, SCN_ABORT_PERMANENT = 2, SCN_ABORT_TIMEOUT = 4, SCN_ABORT_LIFETIME = 8 };
_Static_assert(RC_COUNT <= 64, "scn_retry.abort_on_classes has a bit per reply class");

/* The batch pause's counter: each worker slot (a connection of the
 * application) or the instance as a whole. */
typedef enum scn_batch_per { BATCH_PER_CONNECTION = 0, BATCH_PER_INSTANCE = 1 } scn_batch_per;

typedef struct scn_route {
	char name[SCN_NAME_MAX];  /* "smtp_auth" (index 0, limits per mailbox), or a named route */
	scn_limits limits;        /* for routes other than smtp_auth (scope connector/source/tenant) */
} scn_route;

typedef struct scn_sender {
	char name[SCN_NAME_MAX];
	int64_t count;            /* instances */
	/* mailbox: exactly one of mailbox >= 0 or pool >= 0 */
	int mailbox;
	int pool;
	scn_assign assign;
	bool basic_auth;          /* auth: basic (default) or oauth */
	bool tls_too_old;         /* tls: 1.0 or 1.1 (default 1.2) */
	bool bad_credentials;     /* credentials: wrong (default valid) */
	bool source_mismatch;     /* relay_source: changed (default matches) */
	scn_arrivals arrivals;
	/* message shape */
	scn_dist recipients;      /* per message (each may be a distribution group) */
	double external;          /* probability a recipient is external */
	scn_dist size;            /* bytes */
	int64_t group_members;    /* 0: recipients are people; >0: each recipient is a group of this many */
	/* faults, drawn per message (at generation, from the faults stream),
	 * or afresh at each submission (faults_per_attempt: counter-based,
	 * snd__attempt_u, so no stream shifts) */
	double p_send_as_denied;
	double p_invalid_recipients;
	bool faults_per_attempt;
	/* session */
	int64_t connections;      /* worker slots */
	int64_t messages_per_session; /* INT64_MAX: unlimited */
	int64_t idle_timeout_ns;
	int64_t connect_time_ns;  /* the value when connect_time.kind is DUR_FIXED */
	int64_t submit_time_ns;   /* the value when submit_time.kind is DUR_FIXED */
	scn_duration connect_time, submit_time;
	double bandwidth_bytes_per_s; /* 0 = no size term */
	int64_t data_timeout_ns;  /* 0 = off: the client waits for the end-of-data reply
	                           * at most this long from the start of the data */
	int64_t outbox_limit;     /* 0 = unlimited */
	/* Client behaviours (docs/MODEL.md "Client behaviours"); each default
	 * (0, false) is the behaviour the model had before them. */
	int64_t batch_size;       /* after every batch_size messages sleep batch_pause_ns; 0 = off */
	int64_t batch_pause_ns;
	scn_batch_per batch_per;
	int64_t message_gap_ns;   /* sleep between two messages of one session */
	bool ignores_data_reply;  /* the end-of-data reply is discarded: a refusal counts as sent */
	bool serial_connect;      /* one thread opens the instance's connections one at a time */
	int64_t dial_stop_after;  /* after this many failed connections in a row, stop dialling; 0 = never */
	int64_t dial_resume_ns;   /* ... until this long after, or (0) the next message */
	int64_t read_timeout_ns;  /* 0 = off: the longest wait for a reply (AUTH, end of data) */
	scn_retry retry;
	int route;                /* index into routes; 0 = smtp_auth */
} scn_sender;

/* What blocks Basic authentication in Entra besides Exchange's own
 * switch: security defaults, or a Conditional Access policy (each answers
 * with its own 535 5.7.139). */
typedef enum scn_legacy_block { LEGACY_NONE = 0, LEGACY_SECURITY_DEFAULTS, LEGACY_CONDITIONAL_ACCESS } scn_legacy_block;

typedef struct scn_tenant {
	bool smtp_client_auth_disabled;
	bool basic_auth_enabled;
	scn_legacy_block legacy_auth_block;
	bool reject_direct_send;   /* Set-OrganizationConfig -RejectDirectSend (RDS) */
	int64_t licenses;
	/* tenant external recipient limit per sliding 24 h, resolved
	 * (off = 0; auto = 500 * licenses^0.7 + 9500 rounded); also copied
	 * into external_rate.limit of every route subject to it (TERRL). */
	int64_t external_recipient_limit;
} scn_tenant;

typedef struct scenario {
	char name[SCN_NAME_MAX];
	char *description;
	char *source_text;        /* the file's text, stored with results */
	char source_file[512];
	char variant[SCN_NAME_MAX]; /* "base" or the variant's name */
	/* Sweeps: the point this scenario is (-1: not a sweep), and the one or
	 * two swept keys with their values at this point. */
	int64_t sweep_point;
	int n_sweep_keys;
	char sweep_key[2][SCN_NAME_MAX];
	double sweep_value[2];
	int64_t start_unix_s;     /* wall-clock instant of time 0 (UTC) */
	/* `timezone:` the IANA zone of the local clock (profiles, daily
	 * bursts, timestamps without an offset): its offset changes over
	 * [start - 2 d, start + 100 years + 2 d] (the longest run, whatever
	 * --duration says later), "UTC" by default.  Owned; freed by
	 * scn_free. */
	tz_table tz;
	int64_t duration_ns;
	uint64_t seed;
	int64_t replications;
	int64_t series_step_ns;   /* time-series step, default 60 s */
	scn_tenant tenant;
	scn_mailbox *mailboxes; size_t n_mailboxes;
	/* The credential blocks the mailboxes point into, one per
	 * `mailboxes:` entry with a password or send_as.  Owned; freed by
	 * scn_free.  Each scenario (variant, sweep point) has its own. */
	scn_creds *creds; size_t n_creds;
	scn_pool *pools; size_t n_pools;
	scn_sender *senders; size_t n_senders;
	scn_route *routes; size_t n_routes;   /* routes[0] is smtp_auth */
	sim_alloc alloc;
} scenario;

/* Whether a sender uses any client behaviour that needs the world's
 * per-worker and per-instance client state (sender.c allocates it only
 * then). */
static inline bool scn_sender_client_state(const scn_sender *sd)
{
	return sd->batch_size > 0 || sd->message_gap_ns > 0 || sd->serial_connect || sd->dial_stop_after > 0 ||
	       sd->retry.abort_on != 0 || sd->retry.abort_on_classes != 0;
}

/* The schema's names for scopes and message-rate modes, NULL-terminated
 * and in enum order; "" for an out-of-range value. */
extern const char *const scn_scope_names[];
extern const char *const scn_rate_mode_names[];
extern const char *const scn_conc_check_names[];

/* The limits that route `route` applies to a message of `mailbox`: route
 * 0 (smtp_auth) uses the mailbox's own limits, any other route its own.
 * Indices must be in range. */
const scn_limits *scn_route_limits(const scenario *s, int route, int mailbox);
const char *scn_scope_name(int scope);
const char *scn_rate_mode_name(int mode);
/* The index of s in a NULL-terminated list of names, or -1. */
int scn_name_index(const char *const *names, const char *s);

#endif
