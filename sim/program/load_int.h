/* load_int.h - what the files of `throttlesim load` share: the generator,
 * its instances and workers, and the SMTP client connection.
 *
 *   load.c          the command line, the scenario, the loop, the stop, the
 *                   figures (printed and stored as run stores them)
 *   load_client.c   the client's rules (docs/MODEL.md "Senders: the client
 *                   side"): arrivals, outboxes, workers, sessions, back-off,
 *                   give-up, on the loop's model clock; the service is the
 *                   server at the other end of each connection
 *   load_conn.c     one SMTP client connection: non-blocking socket,
 *                   STARTTLS (OpenSSL), EHLO, AUTH PLAIN, MAIL, RCPT, DATA,
 *                   the body, the final dot when the worker says, QUIT
 *
 * The pure steps come from the model (sender.h: snd_arrival_first,
 * snd_arrival_step, snd_message_draw, snd_backoff_ns, snd_duration_inv,
 * snd_round_ns) with the streams snd_world_init gives replication R of the
 * scenario's seed, so `load --seed S --replication R` generates the same
 * messages at the same model instants as replication R of `run --seed S`.
 *
 * One thread, one loop (evloop.h); model timers on its clock port (ev_clock).
 */
#ifndef SIM_PROGRAM_LOAD_INT_H
#define SIM_PROGRAM_LOAD_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <sys/socket.h>

#include <openssl/ssl.h>

#include "evloop.h"
#include "results.h"
#include "scenario.h"
#include "sender.h"
#include "stats.h"

typedef struct ld ld;
typedef struct ld_inst ld_inst;
typedef struct ld_worker ld_worker;

/* The connection's protocol state. */
typedef enum ld_cstate {
	LC_NONE = 0,     /* no socket */
	LC_CONNECTING,   /* TCP connect in progress */
	LC_GREETING,     /* waiting for 220 */
	LC_EHLO,         /* EHLO sent (before TLS) */
	LC_STARTTLS,     /* STARTTLS sent */
	LC_HANDSHAKE,    /* TLS handshake */
	LC_EHLO_TLS,     /* EHLO sent again under TLS */
	LC_READY,        /* ready for AUTH; waiting for the worker */
	LC_AUTH,         /* AUTH sent */
	LC_OPEN,         /* authenticated, no message */
	LC_MAIL,         /* MAIL FROM sent */
	LC_RCPT,         /* RCPT TO sent (rcpt_sent of them) */
	LC_DATA,         /* DATA sent */
	LC_BODY,         /* 354 seen: header and body written, dot when told */
	LC_EOD,          /* the final dot sent: waiting for the reply */
} ld_cstate;

#define LD_IN_CAP 4096
#define LD_OUT_CAP 2048
#define LD_HDR_CAP 768

typedef struct ld_conn {
	ev_io io;
	int fd;
	SSL *ssl;
	uint8_t state;          /* ld_cstate */
	bool io_started;
	bool dot_due;           /* the worker says: the transfer time is over */
	bool hs_done;
	unsigned ssl_want;      /* EV_READ/EV_WRITE an SSL call waits for; 0: none */
	int64_t rcpt_sent, rcpt_total, rcpt_ext;
	int64_t body_left;      /* filler octets still to write */
	size_t out_len, out_off;
	size_t hdr_len, hdr_off;
	size_t in_len;
	char out[LD_OUT_CAP];
	char hdr[LD_HDR_CAP];
	char in[LD_IN_CAP];
	char line[520];         /* the reply's last line */
} ld_conn;

/* A message: the model's, plus its number for the Message-ID. */
typedef struct ld_msg {
	snd_msg m;              /* first: the outbox links snd_msg pointers */
	uint64_t number;        /* of its instance, from 0 */
} ld_msg;

struct ld_worker {
	ld_inst *inst;
	ld_msg *msg;
	int64_t sent;           /* messages resolved in this session */
	int32_t mailbox;
	uint8_t state;          /* snd_worker_state */
	bool auth_due;          /* connect_time has passed */
	bool session;           /* authenticated */
	bool counted;           /* this submission's attempt is counted (at its end of data) */
	int64_t data_begin;     /* model time of the 354 */
	clk_timer t_auth;       /* connect_time's end */
	clk_timer t_xfer;       /* the transfer's end (the final dot) */
	clk_timer t_wait;       /* back-off, idle hold, data timeout */
	uint8_t wait_kind;      /* what t_wait is */
	uint32_t conn_gen;      /* counts opens and closes: a callback that closed or
	                         * reopened the connection is seen by the reader */
	ld_conn conn;
};

struct ld_inst {
	snd_inst in;            /* group, index, streams, arrival state, outbox FIFO, unresolved */
	ld *g;
	ld_worker *workers;
	clk_timer t_arr;
	clk_timer t_burst;
	int64_t burst_left;
};

struct ld {
	const scenario *s;
	ev_loop *loop;
	clk clock;
	int64_t replication;
	uint64_t seed;
	uint64_t run_tag;       /* wall ns at start: Message-IDs unique across runs */
	int status;             /* first failure: SIM_* */
	char why[256];
	bool stopping, quiet;
	/* the target */
	struct sockaddr_storage addr; socklen_t addr_len;
	char host[256];
	SSL_CTX *tls;           /* NULL: --no-tls */
	bool verify;
	/* the client side */
	ld_inst *inst; size_t n_inst;
	int64_t *mbx_open;      /* sessions per mailbox (least_loaded) */
	clk_timer t_end;
	/* counts, as the world keeps them */
	snd_counts total, *groups, *mailboxes;
	st_dset dly_total, *dly;
	res_series_row *series; size_t n_series;
	const scn_reply *given[RC_COUNT];
	uint64_t conn_failures;   /* connections lost or failed without a reply */
	uint64_t unrecognised;    /* replies matching no class of the scenario */
	char first_failure[200];
};

/* load_client.c */
int ld_client_init(ld *g);              /* instances, workers, first arrivals */
void ld_client_free(ld *g);
void ld_client_stop(ld *g);             /* the end: every connection closed */
/* The connection's events to its worker. */
void ld_on_ready(ld_worker *wk);                        /* ready for AUTH */
void ld_on_auth(ld_worker *wk, int code);               /* AUTH's reply */
void ld_on_envelope(ld_worker *wk, int code);           /* MAIL/RCPT/DATA refused (code >= 400) or 354 */
void ld_on_reply(ld_worker *wk, int code);              /* the end-of-data reply */
void ld_on_lost(ld_worker *wk, const char *why);        /* closed or failed with no reply awaited given */

/* load_conn.c */
int ld_conn_open(ld_worker *wk);        /* SIM_OK or SIM_EIO (then nothing is open) */
void ld_conn_auth(ld_worker *wk, const char *user, const char *password);
void ld_conn_message(ld_worker *wk, const char *from, const char *from_hdr, int64_t rcpt_internal,
		     int64_t rcpt_external, const char *domain, int64_t size, const char *msgid);
void ld_conn_end_data(ld_worker *wk);   /* the transfer time is over: the final dot */
void ld_conn_quit(ld_worker *wk);       /* QUIT written best-effort, then closed */
void ld_conn_close(ld_worker *wk);      /* closed at once */

#endif
