/* record.h - reading what `throttlesim serve --record FILE` wrote
 * (docs/SERVE.md, "The record"): JSON Lines, the first line {"ev":"start","format":1,
 * ...}, then one object per event (connect, tls, auth, message, reply,
 * close, throttle) in the order the server saw them.
 *
 * Two consumers: the loader's `arrivals: {record: FILE}` (scn_record.c
 * turns the messages into trace rows) and `throttlesim profile`
 * (srec_profile_read, below: a client's session and retry behaviour).
 *
 * The reader is a line reader and a small JSON object parser, nothing
 * more: one line is one flat object; nested arrays and objects are
 * skipped (the start line's time_scale), unknown keys and unknown events
 * are ignored (a newer writer of format 1 may add them), a duplicate key,
 * a malformed value or a field of the wrong type is an error at its line
 * and column.  Every bound is fixed: a line is at most SREC_LINE_MAX - 2
 * bytes, a string SREC_STR_MAX - 1 bytes once decoded, an object at most
 * SREC_FIELDS_MAX fields and SREC_DEPTH_MAX levels deep.  Reading is O(n)
 * in the bytes of the file; the reader allocates nothing.
 */
#ifndef MODELS_RECORD_H
#define MODELS_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "alloc.h"

#define SREC_FORMAT 1
/* serve's longest line: three client strings of up to 256 bytes (from,
 * From:, Message-ID), each up to 6 bytes per byte once escaped (\u0001),
 * the mailbox name and about 400 bytes of fixed fields: under 6 KiB. */
#define SREC_LINE_MAX 16384
#define SREC_STR_MAX 1024
#define SREC_FIELDS_MAX 64
#define SREC_DEPTH_MAX 16

typedef enum srec_kind {
	SREC_OTHER = 0, SREC_START, SREC_CONNECT, SREC_TLS, SREC_AUTH, SREC_MESSAGE, SREC_REPLY,
	SREC_CLOSE, SREC_THROTTLE
} srec_kind;

/* One line.  Fields an event does not carry keep their "absent" value. */
typedef struct srec_event {
	srec_kind kind;
	int format;                 /* start */
	int64_t model_ns;           /* -1: absent (start) */
	int64_t conn;               /* 0: absent (start, throttle) */
	int code;                   /* auth, message, reply; 0: absent */
	char enhanced[16];          /* "" if absent or null */
	char stage[16];             /* "" if absent */
	bool has_identity;          /* auth: "identity"; message: "mailbox" (not null) */
	char identity[SREC_STR_MAX];
	char mech[16];              /* auth */
	bool has_message_id;
	char message_id[SREC_STR_MAX];
	int64_t rcpt_internal, rcpt_external;
	int64_t size_bytes;         /* -1: unknown (a message refused before its data) */
	int64_t data_begin_model_ns;/* -1: absent */
} srec_event;

typedef struct srec_reader {
	FILE *f;                    /* or the text [p, end) */
	const char *p, *end, *text;
	int lineno;                 /* 1-based, of the line last read */
	bool started;               /* the start line has been read */
	int64_t end_model_ns;       /* the latest model time of any line so far (0 at first) */
	char line[SREC_LINE_MAX];
	char scratch[SREC_LINE_MAX];/* the line's strings, decoded */
} srec_reader;

enum {
	SREC_END = 0,    /* no more lines */
	SREC_EVENT = 1,  /* *ev is the next event */
	SREC_BAD = -1,   /* this line is wrong (msg, *col); the next may be read */
	SREC_STOP = -2   /* reading cannot go on: not a record, a newer format, a read error */
};

/* A reader of the open file f (not closed by it) or of text[0..len). */
void srec_init_file(srec_reader *r, FILE *f);
void srec_init_mem(srec_reader *r, const char *text, size_t len);

/* The next event.  The first line that is not blank must be the start
 * line of format SREC_FORMAT (else SREC_STOP); it is returned as an event
 * too.  On SREC_BAD and SREC_STOP msg holds the reason and *col its
 * 1-based column (1 for the whole line) in line r->lineno; *col 0 for a
 * problem of the whole file (empty, a read error). */
int srec_next(srec_reader *r, srec_event *ev, int *col, char *msg, size_t msglen);

/* Back to the first line, for a second reading; false if the file cannot
 * seek (a pipe). */
bool srec_rewind(srec_reader *r);

/* ASCII case-insensitive equality: SMTP addresses as Exchange Online
 * matches them. */
bool srec_addr_equal(const char *a, const char *b);

/* ---- a client's behaviour (`throttlesim profile`) -------------------------- */

/* Replies told apart as the record gives them: code and enhanced code. */
#define SREC_PROFILE_CLASSES 64
#define SREC_PROFILE_RETRIES 16   /* waits kept per retry index 1..16 (later ones go to 16) */
#define SREC_PAUSE_MIN_NS 1000000000LL /* a gap shorter than 1 s is never a pause */

typedef struct srec_wait_list {
	int64_t *v;
	size_t n, cap;
} srec_wait_list;

typedef struct srec_reply_obs {
	int code;
	char enhanced[16];
	int64_t replies;            /* message attempts that got it */
	int64_t retried;            /* ... followed by another attempt of the same message */
	srec_wait_list waits;       /* the waits to that next attempt, ns */
} srec_reply_obs;

typedef struct srec_profile {
	char identity[SREC_STR_MAX];
	int64_t sessions;           /* authenticated connections */
	int64_t max_sessions_at_once;
	int64_t max_per_session;    /* message attempts on one connection */
	int64_t attempts;           /* message lines */
	int64_t messages;           /* distinct messages (message_id; none: each its own) */
	int64_t max_attempts;       /* of one message */
	int64_t attempts_hist[SREC_PROFILE_RETRIES + 1]; /* messages with k attempts (index 16: >= 16) */
	bool retried_permanent;     /* a 5xx was followed by another attempt */
	int64_t permanent_replies;
	int64_t first_model_ns, last_model_ns; /* the identity's first and last line */
	size_t n_classes;
	srec_reply_obs cls[SREC_PROFILE_CLASSES];
	int64_t other_classes;      /* replies beyond SREC_PROFILE_CLASSES distinct ones (not kept) */
	/* the waits after a transient (4xx) reply, by the attempt that got it */
	srec_wait_list transient_by_attempt[SREC_PROFILE_RETRIES + 1]; /* index k = 1..16 */
	srec_wait_list any_by_attempt[SREC_PROFILE_RETRIES + 1];       /* after any reply */
	/* pacing and reactions (docs/SERVE.md, profile): the gaps from a
	 * reply to the next message's data on the same connection; a gap over
	 * max(10 x their median, 1 s) is a pause.  batch_size > 0 when at
	 * least two runs of messages between pauses were seen and all had
	 * that length (batch_pause: the median pause); gap_median: the median
	 * of the other gaps.  stopped_at_refusal: the identity's last message
	 * line was its only refusal, after other attempts (abort_on). */
	srec_wait_list gaps;
	int64_t gap_median_ns;
	int64_t batch_size, batch_pause_ns, pauses;
	int64_t refusals;
	bool stopped_at_refusal;
	/* identities seen, when none was asked for and more than one exists */
	size_t n_identities;
	char other_identity[SREC_STR_MAX];
} srec_profile;

/* Reads the record r from its start and fills *p with the behaviour of
 * the client that authenticated as identity (NULL: the only identity of
 * the record; with more than one, SIM_ESCENARIO with
 * p->n_identities > 1 and two of their names in p->identity and
 * p->other_identity).  Everything is allocated with a; free with
 * srec_profile_free.  Returns 0, SIM_ESCENARIO (a line is wrong: msg
 * is "LINE:COL: why"; or no such identity: msg says so) or SIM_ENOMEM.
 * Memory: O(messages + connections) of the identity. */
int srec_profile_read(srec_reader *r, const char *identity, const sim_alloc *a, srec_profile *p,
		      char *msg, size_t msglen);
void srec_profile_free(srec_profile *p, const sim_alloc *a);

/* The median of a wait list (sorted in place; the lower middle for an even
 * count; 0 for none). */
int64_t srec_median(srec_wait_list *w);

/* The retry policy fitted to p: attempt k's wait = base * factor^(k-1),
 * by least squares on the logarithms of the per-attempt medians of the
 * waits after transient replies (weighted by their counts); factor < 1.1
 * or fewer than two retry indexes: fixed, base the median of every such
 * wait.  No transient retries: the waits after any reply.  base is
 * rounded to the millisecond, factor to two decimals; *base_ns 0: no
 * retry seen. */
void srec_profile_fit(srec_profile *p, int64_t *base_ns, double *factor);

#endif
