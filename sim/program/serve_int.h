/* serve_int.h - what the files of `throttlesim serve` share: the server,
 * its connections, and the functions each file gives the others.
 *
 *   serve.c         the command line, the listener, each connection's
 *                   socket, TLS and timeouts, stopping
 *   serve_model.c   the SMTP layer's callbacks: the model (models/service.h)
 *                   decides every AUTH, envelope and end of data
 *   serve_record.c  the record (--record): one JSON object per line
 *
 * One thread, one event loop (evloop.h); nothing here is shared between
 * threads.  A connection is one allocation (about 30 KiB: the SMTP
 * session's line buffer and output queue, the input buffer) plus its TLS
 * session once STARTTLS is done.
 */
#ifndef SIM_PROGRAM_SERVE_INT_H
#define SIM_PROGRAM_SERVE_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "evloop.h"
#include "scenario.h"
#include "service.h"
#include "smtp_proto.h"
#include "status.h"
#include "tls.h"

/* The input buffer: what one read takes before the SMTP layer consumes it. */
#define SRV_IN_CAP 8192
/* Distinct client addresses that get a source of their own (SCOPE_SOURCE
 * limits); beyond them addresses share sources by hash. */
#define SRV_SOURCES 1024
/* The longest header line kept while looking for From: and Message-ID:. */
#define SRV_HDR_MAX 1000

typedef struct serve serve;
typedef struct srv_figs srv_figs;

/* Where a reply was given: the record's "stage". */
typedef enum srv_stage {
	STAGE_CONNECT, STAGE_EHLO, STAGE_STARTTLS, STAGE_AUTH, STAGE_MAIL, STAGE_RCPT,
	STAGE_DATA, STAGE_END_OF_DATA, STAGE_QUIT, STAGE_TIMEOUT, STAGE_SHUTDOWN
} srv_stage;

typedef struct srv_conn {
	ev_io io;
	ev_timer idle;        /* wall: the client said nothing for idle_ns */
	ev_timer life;        /* wall: the session's total duration */
	ev_timer kick;        /* wall, now: pump again (TLS-buffered input, an answer) */
	clk_timer later;      /* model: a refusal that takes time to arrive */
	serve *srv;
	struct srv_conn *prev, *next;
	int fd;
	uint64_t id;          /* 1, 2, ... in order of acceptance */
	int64_t connected_wall;
	int64_t last_read_wall;
	tls_conn *tls;
	uint8_t tls_state;    /* 0: clear, 1: handshaking, 2: up */
	unsigned tls_want;    /* EV_READ/EV_WRITE the TLS session waits for (TLS_WANT_* equal them) */
	bool closing;         /* write what is queued, then close */
	bool write_blocked;   /* the last write met EAGAIN */
	bool eof;             /* the client closed its side */
	bool drop_after;      /* the answer awaited drops the connection */
	/* the client */
	char peer[48];
	int64_t source;
	int mailbox;          /* authenticated as; -1 before */
	smtp_mech mech;
	svc_session ss;
	/* the message in progress */
	uint64_t messages;    /* ends of data seen */
	int64_t rcpt_internal, rcpt_external;
	bool in_headers;
	bool hdr_skip;        /* the header line is over SRV_HDR_MAX: ignored */
	uint8_t hdr_which;    /* 0 other, 1 From, 2 Message-ID (for folded lines) */
	bool hdr_cr;
	size_t hdr_len;
	char hdr[SRV_HDR_MAX + 1];
	char from_hdr[SMTP_PATH_MAX + 1];
	char msgid[SMTP_PATH_MAX + 1];
	int64_t data_begin_model;
	/* a reply held back (an AUTH refusal's delay) */
	int pend_code;
	char pend_enh[16];
	char pend_text[200];
	size_t in_len;
	unsigned char in[SRV_IN_CAP];
	smtp_session smtp;
} srv_conn;

/* Events per model minute: the current minute's count and the last
 * full minute's (the live view's "per minute"). */
typedef struct srv_minute {
	int64_t minute;          /* the minute `cur` counts */
	int64_t cur, last;
} srv_minute;

/* What the server keeps per mailbox for the live view, the control
 * endpoint and the figures of the stored run. */
typedef struct srv_mbx {
	int64_t sessions;        /* authenticated connections open now */
	int64_t accepted, refused[RC_COUNT];
	int64_t released;        /* accepted messages whose release instant has passed */
	int64_t recipients;      /* accepted recipients */
	srv_minute acc_min, rel_min;
	/* release instants still ahead (delay mode), in order: a ring */
	int64_t *rel; size_t rel_head, rel_len, rel_cap;
} srv_mbx;

struct serve {
	const scenario *s;
	ev_loop *loop;
	clk clock;
	svc *v;
	tls_server *tls;          /* NULL with --no-tls */
	unsigned char token_key[32];
	bool have_token_key;
	smtp_config smtp_cfg;
	int listen_fd;
	ev_io listen_io;
	ev_timer accept_pause;    /* EMFILE: accepting resumes after it */
	ev_timer tick;            /* the live view, the record's flush */
	char hostname[256];
	char listen_name[128];
	uint64_t seed;
	int64_t idle_ns, life_ns; /* wall; 0: none */
	int64_t max_conns;
	int64_t n_conns;
	uint64_t next_id;
	srv_conn *conns;          /* every open connection */
	/* mailbox lookup: open addressing over lower-cased names */
	int32_t *mbx_hash; size_t mbx_hash_mask;
	char **domains; size_t n_domains;   /* accepted domains: the mailboxes' */
	char source_ip[SRV_SOURCES][48]; int64_t n_sources_used;
	srv_mbx *mbx;
	int64_t accepted_total, refused_total[RC_COUNT];
	int64_t conns_total, conns_refused;
	int control_fd;           /* --control: the UNIX socket, or -1 */
	ev_io control_io;
	struct ctl_conn *ctl_conns;
	char control_path[108];
	FILE *record;
	const char *record_path;
	bool quiet, live;
	bool stopping;
	int signal_seen;
	int status;               /* the exit status once stopped */
	int64_t start_unix_ns;    /* wall clock at start, for the record */
	srv_figs *figs;
};

/* serve.c */
void srv_pump(srv_conn *c);
void srv_kick(srv_conn *c);          /* pump from a timer, now */
void srv_log(serve *srv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* serve_model.c */
int srv_model_init(serve *srv);      /* lookup tables, the service; SIM_* */
void srv_model_free(serve *srv);
extern const smtp_callbacks srv_callbacks_template; /* ctx set per connection */
void srv_conn_lost(srv_conn *c);     /* the connection ends: the session quits */
int srv_mailbox_find(const serve *srv, const char *addr); /* -1: none */

/* serve_view.c: the live view and the control endpoint */
void srv_note_accepted(serve *srv, int mailbox, int64_t now, int64_t release_ns);
void srv_view_tick(serve *srv);        /* releases due, the live view */
int srv_control_open(serve *srv, const char *path);  /* 0, or -1 after saying why */
void srv_control_close(serve *srv);
void srv_view_free(serve *srv);

/* serve_figures.c: the run's figures, as `run` reports them */
int srv_figs_init(serve *srv);
void srv_figs_free(serve *srv);
void srv_figs_auth(serve *srv, int mailbox, scn_reply_class rc, const scn_reply *reply);
void srv_figs_attempt(serve *srv, const srv_conn *c, scn_reply_class rc, const scn_reply *reply,
		      int64_t release_ns);
void srv_figs_throttle(serve *srv, int mailbox, int64_t start, int64_t end);
void srv_figs_sessions(serve *srv);  /* the open sessions changed */
/* Prints the run's table on standard error (unless quiet) and stores it in
 * db_path (NULL: not stored): 0 or EXIT_FAIL after saying why. */
int srv_figs_store(serve *srv, const char *db_path, const char *cmdline);

/* serve_record.c: every function is a no-op without --record. */
void rec_start(serve *srv, ev_scale k);
void rec_connect(serve *srv, const srv_conn *c);
void rec_tls(serve *srv, const srv_conn *c, const char *version);
void rec_auth(serve *srv, const srv_conn *c, const char *identity, int code, const char *enh);
void rec_message(serve *srv, const srv_conn *c, const smtp_envelope *e, srv_stage stage,
		 int code, const char *enh, int64_t release_model_ns);
void rec_reply(serve *srv, const srv_conn *c, srv_stage stage, int code, const char *enh);
void rec_close(serve *srv, const srv_conn *c, const char *why);
void rec_throttle(serve *srv, int mailbox, int cls, int64_t start_ns, int64_t end_ns);
void rec_flush(serve *srv);

#endif
