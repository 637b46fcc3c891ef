/* fuzz_smtp.c - libFuzzer harness for the SMTP protocol layer
 * (sim/program/smtp_proto.c).
 *
 * An input is two configuration octets and then what a client sends.  The
 * first octet picks STARTTLS or not, how AUTH PLAIN is treated, a small or
 * the default message bound, the error limit, and how the callbacks answer
 * (at once or later, accepting or refusing, now and then with 421); the
 * second the AUTH line bound.  The client's octets are fed to one session
 * in pieces whose sizes come from a generator seeded by the input (one
 * octet, a few, or everything), the output written out at some steps and
 * left to fill at others, answers given when awaited, the TLS handshake
 * "done" when asked for.  Aborts when the layer's contract is broken:
 *   - every reply line is 3 digits (2xx-5xx), '-' or ' ', text without CR
 *     or LF, CRLF, at most 512 octets; a '-' line is followed by a line of
 *     the same code;
 *   - memory stays bounded: the output within SMTP_OUT_CAP, the command
 *     line within its bound (the layer allocates nothing: the session is
 *     this harness's);
 *   - feed stops early only when an answer is awaited, the session has
 *     closed, or the output lacks SMTP_OUT_ROOM; once the output is
 *     written and the answer given, it goes on;
 *   - smtp_answer refuses when nothing is awaited;
 *   - end of data reports the octets on_data received, within the bound;
 *   - the same octets fed in one piece give the same replies, callbacks
 *     and message octets (up to a STARTTLS, after which what was pipelined
 *     behind it is dropped, which depends on the split by design).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_proto.h"
#include "status.h"

#define CHECK(cond)                                                                   \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(stderr, "fuzz_smtp: invariant broken: %s (%s:%d)\n", \
				#cond, __FILE__, __LINE__);                           \
			abort();                                                      \
		}                                                                     \
	} while (0)

/* What one run saw, reduced to hashes and counts so that two runs compare
 * cheaply. */
typedef struct run {
	smtp_session s;
	uint64_t rng;
	unsigned policy;        /* how the callbacks answer */
	unsigned calls;         /* callbacks so far: the answers depend on it only */
	uint64_t out_hash, ev_hash, body_hash;
	uint64_t out_n, body_n, body_mark;
	uint64_t out_at_tls;    /* out_n when STARTTLS was accepted (0: never) */
	uint64_t hash_at_tls;   /* and out_hash then */
	int last_code;          /* of a '-' line, to check the next line */
	char line_buf[SMTP_REPLY_LINE_MAX + 1];
	size_t line_n;
} run;

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ c[i]) * 1099511628211ULL;
	return h;
}

static uint64_t next_rand(run *r)
{
	r->rng ^= r->rng << 13;
	r->rng ^= r->rng >> 7;
	r->rng ^= r->rng << 17;
	return r->rng;
}

static void event(run *r, const char *tag, const void *p, size_t n)
{
	r->ev_hash = fnv(fnv(r->ev_hash, tag, strlen(tag)), p, n);
}

/* The reply for the calls-th callback: the answer policy cycles through
 * successes and refusals, with a 421 now and then. */
static int decide(run *r, smtp_reply *out)
{
	static const smtp_reply replies[] = {
		{ 0, NULL, NULL },
		{ 250, "2.0.0", "OK <id@host> [Hostname=X]" },
		{ 535, "5.7.139", "Authentication unsuccessful, the user credentials were incorrect." },
		{ 432, "4.3.2", "Concurrent connections limit exceeded.\r\nVisit https://aka.ms/concurrent_sending" },
		{ 0, NULL, NULL },
		{ 550, "5.7.60", "SMTP; Client does not have permissions to send as this sender" },
		{ 999, "x", "out of range" },
		{ 421, "4.7.66", "TLS 1.0 and 1.1 are not supported." },
	};
	unsigned k = r->calls++ * (r->policy | 1) + (r->policy >> 3);
	/* mostly successes, so that sessions get deep */
	*out = (k % 5) < 3 ? replies[0] : replies[k % 8];
	return (r->policy & 4) && (k % 3 == 0) ? SMTP_LATER : SMTP_NOW;
}

static int on_auth(void *ctx, const smtp_auth *a, smtp_reply *out)
{
	run *r = ctx;
	CHECK(a->mech <= SMTP_MECH_XOAUTH2);
	CHECK(strlen(a->authzid) == a->authzid_len && strlen(a->identity) == a->identity_len &&
	      strlen(a->secret) == a->secret_len);
	CHECK(a->identity_len > 0 && a->secret_len > 0);
	event(r, "auth", a->identity, a->identity_len);
	event(r, "secret", a->secret, a->secret_len);
	return decide(r, out);
}

static int on_mail(void *ctx, const smtp_envelope *e, smtp_reply *out)
{
	run *r = ctx;
	CHECK(strlen(e->from) <= SMTP_PATH_MAX && e->recipients == 0);
	event(r, "mail", e->from, strlen(e->from));
	return decide(r, out);
}

static int on_rcpt(void *ctx, const smtp_envelope *e, const char *rcpt, smtp_reply *out)
{
	run *r = ctx;
	(void)e;
	CHECK(strlen(rcpt) > 0 && strlen(rcpt) <= SMTP_PATH_MAX);
	event(r, "rcpt", rcpt, strlen(rcpt));
	return decide(r, out);
}

static int on_envelope(void *ctx, const smtp_envelope *e, smtp_reply *out)
{
	run *r = ctx;
	CHECK(e->recipients > 0);
	event(r, "envelope", &e->recipients, sizeof e->recipients);
	r->body_mark = r->body_n;
	return decide(r, out);
}

static void on_data(void *ctx, const unsigned char *p, size_t n)
{
	run *r = ctx;
	CHECK(n > 0);
	r->body_hash = fnv(r->body_hash, p, n);
	r->body_n += n;
}

static int on_message_end(void *ctx, const smtp_envelope *e, smtp_reply *out)
{
	run *r = ctx;
	CHECK((uint64_t)e->size_bytes == r->body_n - r->body_mark);
	CHECK(e->size_bytes <= r->s.cfg.max_message_size);
	CHECK(e->recipients > 0);
	event(r, "end", &e->size_bytes, sizeof e->size_bytes);
	return decide(r, out);
}

static void on_reset(void *ctx)
{
	event(ctx, "reset", "", 0);
}

/* Checks and hashes the output, line by line (a line may span drains). */
static void take_output(run *r, size_t upto)
{
	size_t n;
	const char *o = smtp_output(&r->s, &n);
	CHECK(n <= SMTP_OUT_CAP);
	if (upto > n)
		upto = n;
	for (size_t i = 0; i < upto; i++) {
		CHECK(r->line_n < SMTP_REPLY_LINE_MAX);
		r->line_buf[r->line_n++] = o[i];
		if (o[i] != '\n')
			continue;
		const char *l = r->line_buf;
		size_t len = r->line_n;
		CHECK(len >= 6 && l[len - 2] == '\r');
		CHECK(l[0] >= '2' && l[0] <= '5' && l[1] >= '0' && l[1] <= '9' && l[2] >= '0' && l[2] <= '9');
		CHECK(l[3] == ' ' || l[3] == '-');
		CHECK(!memchr(l, '\r', len - 2) && !memchr(l, '\n', len - 1));
		int code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
		CHECK(!r->last_code || r->last_code == code);
		r->last_code = l[3] == '-' ? code : 0;
		r->line_n = 0;
	}
	r->out_hash = fnv(r->out_hash, o, upto);
	r->out_n += upto;
	smtp_output_consume(&r->s, upto);
}

static void setup(run *r, const uint8_t *cfgb, uint64_t seed)
{
	memset(r, 0, sizeof *r);
	smtp_config c = {
		.hostname = "FUZZ.outlook.office365.com",
		.no_starttls = cfgb[0] & 1,
		.plain = (smtp_plain)((cfgb[0] >> 1) % 3),
		.max_message_size = (cfgb[0] & 8) ? 64 : 0,
		.max_errors = (cfgb[0] & 16) ? -1 : 0,
		.auth_line_max = SMTP_LINE_MAX + (size_t)cfgb[1] * ((SMTP_AUTH_LINE_CAP - SMTP_LINE_MAX) / 255),
		.max_recipients = (cfgb[1] & 1) ? 3 : 0,
	};
	smtp_callbacks cb = {
		.ctx = r, .on_auth = on_auth, .on_mail = on_mail, .on_rcpt = on_rcpt,
		.on_envelope = on_envelope, .on_data = on_data, .on_message_end = on_message_end,
		.on_reset = on_reset,
	};
	CHECK(smtp_init(&r->s, &c, &cb) == SIM_OK);
	r->policy = (unsigned)(cfgb[0] >> 5) | (unsigned)(cfgb[1] & 2) << 1;
	r->rng = seed | 1;
	r->out_hash = r->ev_hash = r->body_hash = 1469598103934665603ULL;
	smtp_start(&r->s, "198.51.100.9", "Mon, 3 Mar 2025 10:00:00 +0000");
}

/* Feeds data; whole: in one piece, always writing the output. */
static void drive(run *r, const uint8_t *data, size_t size, bool whole)
{
	size_t pos = 0;
	int idle = 0;
	while (pos < size) {
		size_t piece = size - pos;
		if (!whole) {
			uint64_t x = next_rand(r);
			size_t cap = (x & 3) == 0 ? 1 : (x & 3) == 1 ? 7 : (x & 3) == 2 ? 100 : size;
			piece = 1 + (size_t)(x >> 8) % cap;
			if (piece > size - pos)
				piece = size - pos;
		}
		size_t n = smtp_feed(&r->s, data + pos, piece);
		CHECK(n <= piece);
		CHECK(r->s.line_len < r->s.cfg.auth_line_max);
		unsigned f = smtp_flags(&r->s);
		size_t out;
		smtp_output(&r->s, &out);
		if (n < piece)
			CHECK((f & (SMTP_F_WAITING | SMTP_F_CLOSED)) || SMTP_OUT_CAP - out < SMTP_OUT_ROOM);
		if (f & SMTP_F_CLOSED)
			CHECK(n == piece); /* dropped, never left for the caller */
		pos += n;
		/* a slow reader now and then: part of the output, or none */
		bool write = whole || (next_rand(r) % 4) != 0 || n == 0;
		take_output(r, write ? SIZE_MAX : (size_t)(next_rand(r) % 64));
		if (f & SMTP_F_WAITING) {
			smtp_reply rep;
			(void)decide(r, &rep);
			CHECK(smtp_answer(&r->s, &rep) == SIM_OK);
			take_output(r, SIZE_MAX);
		} else
			CHECK(smtp_answer(&r->s, NULL) == SIM_EINVAL);
		if (f & SMTP_F_STARTTLS) {
			take_output(r, SIZE_MAX);
			if (!r->out_at_tls) {
				r->out_at_tls = r->out_n;
				r->hash_at_tls = r->out_hash;
			}
			CHECK(smtp_tls_started(&r->s) == SIM_OK);
		}
		idle = n == 0 ? idle + 1 : 0;
		CHECK(idle < 4);
	}
	take_output(r, SIZE_MAX);
	CHECK(r->line_n == 0 && r->last_code == 0);
}

static run A, B; /* libFuzzer runs one input at a time */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	uint64_t seed = fnv(1469598103934665603ULL, data, size);
	setup(&A, data, seed);
	drive(&A, data + 2, size - 2, false);
	setup(&B, data, seed);
	drive(&B, data + 2, size - 2, true);
	if (!A.out_at_tls && !B.out_at_tls) {
		CHECK(A.out_n == B.out_n && A.out_hash == B.out_hash);
		CHECK(A.ev_hash == B.ev_hash);
		CHECK(A.body_n == B.body_n && A.body_hash == B.body_hash);
	} else
		CHECK(A.out_at_tls == B.out_at_tls && A.hash_at_tls == B.hash_at_tls);
	return 0;
}
