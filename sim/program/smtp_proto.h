/* smtp_proto.h - the SMTP protocol layer of `throttlesim serve`: one
 * submission session as Exchange Online's smtp.office365.com:587 speaks it,
 * with no socket, no TLS and no clock.  An event loop feeds it the bytes it
 * reads, sends what it writes, does the TLS handshake when told, and
 * answers for the model where the model decides.
 *
 * Driving it.
 *   smtp_init(s, cfg, cb)        once; the session needs no other memory
 *   smtp_start(s, peer, date)    queues the 220 greeting
 *   n = smtp_feed(s, p, len)     consumes a prefix of p (any split: mid-line,
 *                                mid-CRLF, one byte at a time); the caller
 *                                keeps p[n..len) and feeds it again later
 *   smtp_output(s, &len)         the replies queued so far, in command order;
 *   smtp_output_consume(s, n)    ... drop n of them once written
 *   smtp_answer(s, reply)        the answer to a callback that said "later"
 *   smtp_tls_started(s)          the handshake the layer asked for is done
 * smtp_feed stops early (n < len) for exactly three reasons, which
 * smtp_flags tells apart:
 *   SMTP_F_WAITING   a callback returned SMTP_LATER: nothing more is read
 *                    until smtp_answer; then feed the rest (pipelined
 *                    commands are processed after the answer, in order);
 *   output room      fewer than SMTP_OUT_ROOM bytes are free in the output
 *                    queue (a client pipelining without reading): write
 *                    the output, then feed the rest;
 *   SMTP_F_CLOSED    after 221 or 421: write the output and close.
 * After the STARTTLS line (SMTP_F_STARTTLS) every byte fed is consumed and
 * dropped until smtp_tls_started: plaintext pipelined behind STARTTLS must
 * never reach the TLS session (CVE-2011-0411).  Write the output (the
 * 220), do the handshake, call smtp_tls_started, then feed what TLS reads.
 *
 * Who decides.  The layer answers the protocol itself (syntax, sequence,
 * line length, the EHLO lists, the SASL exchanges, size bounds: the list
 * with RFC references is in docs/SERVE.md).  The model decides AUTH, MAIL,
 * each RCPT, the envelope at DATA or the first BDAT, and the end of data:
 * the callbacks fill a reply and return SMTP_NOW, or return SMTP_LATER and
 * answer with smtp_answer when they know (the tarpit holds a reply).  A
 * reply of code 0 means the layer's own success reply; a code below 400 is
 * a success; 421 also closes the session.  Pointers handed to a callback
 * (paths, SASL fields) are valid only during the call: copy what is kept.
 * Decoded SASL secrets are wiped from the session after the call.  A
 * callback must not call smtp_* on its own session (answer later
 * instead).
 *
 * Memory.  smtp_session is the caller's (embed it; about 18 KiB, most of it
 * the line buffer and the output queue); the layer never allocates.  The
 * message body is streamed to on_data, never held (a message over the
 * bound: its first max_message_size octets, then on_reset; a BDAT chunk
 * that would pass the bound: none of it); recipients are passed to on_rcpt
 * one at a time and only counted here.
 *
 * Bare LF.  A bare LF ends a command line (a CR before it is dropped), as
 * Postfix did by default before 3.9, so hand-typed and sloppy clients work.
 * In message data only CR LF is a line end: a bare LF is content, is
 * passed through unchanged, and neither starts a line for dot-unstuffing
 * nor ends the data.  The end of data is exactly CR LF . CR LF, which is
 * unambiguous and leaves no room for SMTP smuggling (CVE-2023-51764).
 *
 * Costs.  smtp_feed is O(len) plus the callbacks; every other call O(1)
 * except smtp_output_consume (a memmove of the rest of the queue).
 * No globals: sessions may run in different threads.
 */
#ifndef SIM_PROGRAM_SMTP_PROTO_H
#define SIM_PROGRAM_SMTP_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 5321 4.5.3.1.4: a command line is at most 512 octets with its CRLF. */
#define SMTP_LINE_MAX 512
/* The compile-time cap of the AUTH line bound (an XOAUTH2 token runs to a
 * few kilobytes; 12,288 octets carry a 9,216-byte SASL response). */
#define SMTP_AUTH_LINE_CAP 12288
/* RFC 5321 4.5.3.1.5: a reply line is at most 512 octets with its CRLF. */
#define SMTP_REPLY_LINE_MAX 512
/* RFC 5321 4.5.3.1.3: a path, with its angle brackets, is at most 256. */
#define SMTP_PATH_MAX 256
#define SMTP_LOCAL_MAX 64    /* RFC 5321 4.5.3.1.1 */
#define SMTP_DOMAIN_MAX 255  /* RFC 5321 4.5.3.1.2 */
/* Exchange Online's SIZE (the reference exchange-online.md, "Greeting"). */
#define SMTP_SIZE_DEFAULT 157286400
/* The output queue, and the room a command needs before it is read: the
 * longest thing one command writes is the EHLO list or one reply line (a
 * deferred BDAT refusal is written instead of, not besides, the chunk's
 * reply). */
#define SMTP_OUT_CAP 4096
#define SMTP_OUT_ROOM 1024

/* How AUTH PLAIN is treated.  Exchange Online advertises `AUTH LOGIN
 * XOAUTH2` only; whether it accepts PLAIN anyway is not published.  The
 * default accepts it without advertising it, so the persona's EHLO list is
 * exact and clients configured for PLAIN (swaks, Postfix with SASL) still
 * work. */
typedef enum smtp_plain {
	SMTP_PLAIN_UNADVERTISED = 0, /* accepted, not in the EHLO list */
	SMTP_PLAIN_ADVERTISED,       /* AUTH LOGIN XOAUTH2 PLAIN */
	SMTP_PLAIN_REFUSED,          /* 504 5.7.4, as for an unknown mechanism */
} smtp_plain;

typedef struct smtp_config {
	const char *hostname;      /* the server's name in 220 and 250 (must
	                            * outlive the session); NULL: "localhost" */
	int64_t max_message_size;  /* SIZE and the bound on data; 0: 157286400 */
	size_t auth_line_max;      /* AUTH lines and SASL responses; 0: the cap */
	bool no_starttls;          /* no STARTTLS: AUTH offered in clear (tests,
	                            * a loopback port); false is Exchange's 587 */
	smtp_plain plain;
	int max_errors;            /* protocol errors before 421; 0: 20, <0: none */
	int64_t max_recipients;    /* 452 4.5.3 beyond it; 0: no bound here (the
	                            * model's per-message limit answers at end
	                            * of data, as Exchange Online does) */
} smtp_config;

/* A reply from the caller: code 200-599 (0: the layer's success reply),
 * an enhanced code "c.s.d" or NULL, a one-line text (control characters
 * are written as spaces, a line is cut at 512 octets).  Only read during
 * the call it is given to. */
typedef struct smtp_reply {
	int code;
	const char *enhanced;
	const char *text;
} smtp_reply;

enum { SMTP_NOW = 0, SMTP_LATER = 1 };

typedef enum smtp_mech { SMTP_MECH_PLAIN, SMTP_MECH_LOGIN, SMTP_MECH_XOAUTH2 } smtp_mech;

/* What AUTH carried, decoded.  identity: PLAIN's authcid, LOGIN's user
 * name, XOAUTH2's user=; secret: the password or the bearer token; authzid:
 * PLAIN's authorisation identity ("" if none or not PLAIN).  Each is NUL
 * terminated and contains no NUL. */
typedef struct smtp_auth {
	smtp_mech mech;
	const char *authzid;
	const char *identity;
	const char *secret;
	size_t authzid_len, identity_len, secret_len;
} smtp_auth;

typedef enum smtp_body { SMTP_BODY_7BIT, SMTP_BODY_8BITMIME, SMTP_BODY_BINARYMIME } smtp_body;

/* The envelope so far.  from: the reverse-path without its brackets and
 * source route ("" for <>). */
typedef struct smtp_envelope {
	const char *from;
	int64_t declared_size;   /* MAIL's SIZE=, -1 if absent */
	smtp_body body;
	bool smtputf8;
	int64_t recipients;      /* accepted RCPTs */
	bool bdat;               /* the data comes as BDAT chunks */
	int64_t size_bytes;      /* at end of data: the message's octets (after
	                          * dot-unstuffing; the final CRLF.CRLF excluded) */
} smtp_envelope;

typedef struct smtp_callbacks {
	void *ctx;
	/* Required.  A success makes the session authenticated. */
	int (*on_auth)(void *ctx, const smtp_auth *a, smtp_reply *r);
	/* Optional (default: 250 2.1.0 Sender OK); called after the layer's
	 * checks, with e->recipients == 0. */
	int (*on_mail)(void *ctx, const smtp_envelope *e, smtp_reply *r);
	/* Optional (default: 250 2.1.5 Recipient OK): one recipient path. */
	int (*on_rcpt)(void *ctx, const smtp_envelope *e, const char *rcpt, smtp_reply *r);
	/* Optional (default: proceed): at DATA, or at the first BDAT, with the
	 * whole envelope.  A success lets the data come (DATA gets the layer's
	 * 354); a refusal ends the transaction (at BDAT: after the chunk, which
	 * is read and dropped). */
	int (*on_envelope)(void *ctx, const smtp_envelope *e, smtp_reply *r);
	/* Optional: message octets as they arrive (unstuffed), in order. */
	void (*on_data)(void *ctx, const unsigned char *p, size_t n);
	/* Required: the end of data (DATA's final dot, BDAT ... LAST) of a
	 * message within the size bound.  Default success: 250 2.0.0 OK. */
	int (*on_message_end)(void *ctx, const smtp_envelope *e, smtp_reply *r);
	/* Optional: a transaction ended without on_message_end (RSET, EHLO,
	 * a refusal, a message over the size bound, STARTTLS). */
	void (*on_reset)(void *ctx);
} smtp_callbacks;

/* Session flags (smtp_flags). */
#define SMTP_F_WAITING  1u  /* a callback's answer is awaited */
#define SMTP_F_STARTTLS 2u  /* write the output, then do the TLS handshake */
#define SMTP_F_CLOSED   4u  /* write the output, then close */
#define SMTP_F_TLS      8u  /* TLS is up */
#define SMTP_F_AUTHED   16u /* AUTH succeeded */

/* The session.  All fields are private; the struct is public so the
 * caller can embed it (no allocation per connection). */
typedef struct smtp_session {
	smtp_config cfg;
	smtp_callbacks cb;
	unsigned flags;
	uint8_t mode;        /* what the next byte is: command, SASL response,
	                      * DATA, BDAT chunk, dropped */
	uint8_t waiting;     /* which callback's answer is awaited */
	uint8_t dstate;      /* DATA: where in a line (dot-unstuffing) */
	uint8_t sasl;        /* the SASL step awaited in SMTP_MODE_SASL */
	bool helo, ehlo;     /* HELO or EHLO given (since TLS) */
	bool in_mail;        /* MAIL accepted */
	bool data_begun;     /* DATA or the first BDAT accepted the envelope */
	bool bdat_last;      /* the chunk being read ends the message */
	bool chunk_refused;  /* the chunk being read is dropped, then deferred[] */
	bool oversize;       /* the message passed max_message_size */
	bool discarding;     /* the command line is too long: drop to its LF */
	int errors;
	size_t line_len;
	int64_t chunk_left;  /* BDAT octets still to read */
	int64_t chunk_size;
	smtp_envelope env;
	size_t deferred_len;
	size_t out_len;
	char peer[48];                       /* the client's address, for Hello [..] */
	char from[SMTP_PATH_MAX + 1];
	char login_user[SMTP_PATH_MAX * 2];  /* LOGIN: the user name until the password */
	char deferred[SMTP_REPLY_LINE_MAX];  /* a reply to write after a dropped chunk */
	unsigned char line[SMTP_AUTH_LINE_CAP];
	char out[SMTP_OUT_CAP];
} smtp_session;

/* SIM_OK, or SIM_EINVAL for a bad config (a hostname with space or control
 * characters or over 255 octets, auth_line_max outside [512, cap],
 * negative sizes) or a missing required callback; *s is then untouched. */
int smtp_init(smtp_session *s, const smtp_config *cfg, const smtp_callbacks *cb);
/* Queue the greeting: 220 <host> Microsoft ESMTP MAIL Service ready at
 * <date> (date NULL: without " at ..."); peer: the client's address as
 * EHLO's reply shows it (NULL: none; cut at 47 octets). */
void smtp_start(smtp_session *s, const char *peer, const char *date);
size_t smtp_feed(smtp_session *s, const void *p, size_t len);
const char *smtp_output(const smtp_session *s, size_t *len);
void smtp_output_consume(smtp_session *s, size_t n);
/* SIM_OK, or SIM_EINVAL when no answer is awaited. */
int smtp_answer(smtp_session *s, const smtp_reply *r);
/* SIM_OK, or SIM_EINVAL when STARTTLS was not just accepted.  Forgets the
 * EHLO and any transaction (RFC 3207 4.2); the client must EHLO again. */
int smtp_tls_started(smtp_session *s);
unsigned smtp_flags(const smtp_session *s);

/* Base64 (RFC 4648, padding optional) decoded into out (may be in):
 * the length, or -1 for a character outside the alphabet or a misplaced
 * '='.  out needs 3 * (len / 4) + 2 bytes. */
long smtp_base64_decode(const char *in, size_t len, unsigned char *out);

#endif
