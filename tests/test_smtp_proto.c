/* test_smtp_proto.c - the SMTP protocol layer: each command's syntax and
 * edge cases, the session's order (bad sequence, AUTH only after
 * STARTTLS, MAIL only after AUTH), the exact EHLO lists, the SASL
 * decodings with RFC 4954's and Microsoft's examples, DATA's
 * dot-unstuffing and BDAT, the line bound, answers given later, the
 * output bound, and a pipelined session that gives the same replies
 * whatever way its bytes are split.  Expected replies are written from
 * the RFCs and the reference, not from a run. */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp_proto.h"
#include "status.h"

#define LOG_MAX (1 << 20)

/* What a session did: its output, its callbacks' events, the body. */
typedef struct rec {
	smtp_session s;
	char out[LOG_MAX];
	size_t out_n;
	char ev[LOG_MAX];
	size_t ev_n;
	char body[LOG_MAX];
	size_t body_n;
	size_t body_mark;         /* body_n when the envelope was accepted */
	/* how the callbacks answer */
	bool later;               /* every callback says SMTP_LATER */
	smtp_reply auth, mail, rcpt, env, end; /* code 0: the default */
	bool tls;                 /* do the handshake when asked */
	char last_secret[64];
} rec;

static void ev(rec *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(r->ev + r->ev_n, LOG_MAX - r->ev_n, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < LOG_MAX - r->ev_n);
	r->ev_n += (size_t)n;
}

static const char *mech_name(smtp_mech m)
{
	return m == SMTP_MECH_PLAIN ? "PLAIN" : m == SMTP_MECH_LOGIN ? "LOGIN" : "XOAUTH2";
}

static int cb_auth(void *ctx, const smtp_auth *a, smtp_reply *out)
{
	rec *r = ctx;
	assert_int_equal(strlen(a->authzid), a->authzid_len);
	assert_int_equal(strlen(a->identity), a->identity_len);
	assert_int_equal(strlen(a->secret), a->secret_len);
	ev(r, "auth %s [%s] [%s] [%s]\n", mech_name(a->mech), a->authzid, a->identity, a->secret);
	snprintf(r->last_secret, sizeof r->last_secret, "%s", a->secret);
	*out = r->auth;
	return r->later ? SMTP_LATER : SMTP_NOW;
}

static int cb_mail(void *ctx, const smtp_envelope *e, smtp_reply *out)
{
	rec *r = ctx;
	ev(r, "mail <%s> size=%lld body=%d utf8=%d\n", e->from, (long long)e->declared_size, (int)e->body,
	   (int)e->smtputf8);
	*out = r->mail;
	return r->later ? SMTP_LATER : SMTP_NOW;
}

static int cb_rcpt(void *ctx, const smtp_envelope *e, const char *rcpt, smtp_reply *out)
{
	rec *r = ctx;
	ev(r, "rcpt <%s> #%lld\n", rcpt, (long long)e->recipients);
	*out = r->rcpt;
	return r->later ? SMTP_LATER : SMTP_NOW;
}

static int cb_env(void *ctx, const smtp_envelope *e, smtp_reply *out)
{
	rec *r = ctx;
	ev(r, "envelope <%s> %lld bdat=%d\n", e->from, (long long)e->recipients, (int)e->bdat);
	r->body_mark = r->body_n;
	*out = r->env;
	return r->later ? SMTP_LATER : SMTP_NOW;
}

static void cb_data(void *ctx, const unsigned char *p, size_t n)
{
	rec *r = ctx;
	assert_true(n > 0 && n <= LOG_MAX - r->body_n);
	memcpy(r->body + r->body_n, p, n);
	r->body_n += n;
}

static int cb_end(void *ctx, const smtp_envelope *e, smtp_reply *out)
{
	rec *r = ctx;
	ev(r, "end <%s> %lld rcpt, %lld octets, bdat=%d\n", e->from, (long long)e->recipients,
	   (long long)e->size_bytes, (int)e->bdat);
	assert_int_equal(e->size_bytes, (int64_t)(r->body_n - r->body_mark));
	*out = r->end;
	return r->later ? SMTP_LATER : SMTP_NOW;
}

static void cb_reset(void *ctx)
{
	ev(ctx, "reset\n");
}

static const smtp_callbacks CB = {
	.on_auth = cb_auth, .on_mail = cb_mail, .on_rcpt = cb_rcpt, .on_envelope = cb_env,
	.on_data = cb_data, .on_message_end = cb_end, .on_reset = cb_reset,
};

static const char *HOST = "DS7PR10MB4862.namprd10.prod.outlook.com";

static void drain(rec *r);

static rec *open_rec(const smtp_config *cfg)
{
	rec *r = calloc(1, sizeof *r);
	assert_non_null(r);
	smtp_callbacks cb = CB;
	cb.ctx = r;
	smtp_config c = cfg ? *cfg : (smtp_config){ .hostname = HOST };
	if (!c.hostname)
		c.hostname = HOST;
	assert_int_equal(smtp_init(&r->s, &c, &cb), SIM_OK);
	smtp_start(&r->s, "192.0.2.7", NULL);
	drain(r);
	return r;
}

/* Moves the session's output to the log and checks each line's form:
 * three digits, '-' or ' ', no CR or LF inside, CRLF, 512 octets at most. */
static void drain(rec *r)
{
	size_t n;
	const char *o = smtp_output(&r->s, &n);
	assert_true(n <= SMTP_OUT_CAP && n <= LOG_MAX - r->out_n);
	size_t i = 0;
	while (i < n) {
		const char *lf = memchr(o + i, '\n', n - i);
		assert_non_null(lf);
		size_t len = (size_t)(lf - (o + i)) + 1;
		assert_true(len >= 6 && len <= SMTP_REPLY_LINE_MAX);
		assert_true(o[i] >= '2' && o[i] <= '5' && o[i + 1] >= '0' && o[i + 1] <= '9' && o[i + 2] >= '0' &&
			    o[i + 2] <= '9');
		assert_true(o[i + 3] == ' ' || o[i + 3] == '-');
		assert_true(lf[-1] == '\r');
		assert_null(memchr(o + i, '\r', len - 2));
		i += len;
	}
	memcpy(r->out + r->out_n, o, n);
	r->out_n += n;
	smtp_output_consume(&r->s, n);
}

/* Answer what is awaited, as the callbacks' replies say. */
static void answer(rec *r)
{
	/* the reply the callback chose is in the event order; the layer asks
	 * for the one it waits for, so answer with the rec's reply for the
	 * kind last called */
	const char *last = r->ev_n ? r->ev + r->ev_n - 1 : r->ev;
	while (last > r->ev && last[-1] != '\n')
		last--;
	smtp_reply *rp = !strncmp(last, "auth", 4)       ? &r->auth
			 : !strncmp(last, "mail", 4)     ? &r->mail
			 : !strncmp(last, "rcpt", 4)     ? &r->rcpt
			 : !strncmp(last, "envelope", 8) ? &r->env
							 : &r->end;
	assert_int_equal(smtp_answer(&r->s, rp), SIM_OK);
}

/* Feeds p in one piece the way an event loop would: what is not consumed
 * is fed again after the output is written or the answer given. */
static void feed(rec *r, const char *p, size_t len)
{
	int stalls = 0;
	for (;;) {
		size_t n = smtp_feed(&r->s, p, len);
		assert_true(n <= len);
		p += n;
		len -= n;
		drain(r);
		unsigned f = smtp_flags(&r->s);
		if (f & SMTP_F_WAITING)
			answer(r);
		if ((f & SMTP_F_STARTTLS) && r->tls)
			assert_int_equal(smtp_tls_started(&r->s), SIM_OK);
		drain(r);
		if (!len)
			break;
		if (n == 0 && !(f & SMTP_F_WAITING))
			assert_true(++stalls < 3);
	}
}

static void feed_str(rec *r, const char *p)
{
	feed(r, p, strlen(p));
}

/* The output since mark. */
static const char *since(rec *r, size_t mark)
{
	r->out[r->out_n] = '\0';
	return r->out + mark;
}

/* Feed one command string and compare the output it produced. */
static void expect(rec *r, const char *in, const char *want)
{
	size_t mark = r->out_n;
	feed_str(r, in);
	assert_string_equal(since(r, mark), want);
}

/* A session after EHLO, STARTTLS, EHLO and AUTH PLAIN. */
static rec *authed_rec(const smtp_config *cfg)
{
	rec *r = open_rec(cfg);
	r->tls = true;
	feed_str(r, "EHLO client.example\r\nSTARTTLS\r\n");
	feed_str(r, "EHLO client.example\r\nAUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=\r\n");
	assert_non_null(strstr(since(r, 0), "235 2.7.0 Authentication successful\r\n"));
	assert_true(smtp_flags(&r->s) & SMTP_F_AUTHED);
	r->out_n = 0;
	r->ev_n = 0;
	return r;
}

static const char EHLO_PLAIN[] = "250-DS7PR10MB4862.namprd10.prod.outlook.com Hello [192.0.2.7]\r\n"
				 "250-SIZE 157286400\r\n"
				 "250-PIPELINING\r\n"
				 "250-DSN\r\n"
				 "250-ENHANCEDSTATUSCODES\r\n"
				 "250-STARTTLS\r\n"
				 "250-8BITMIME\r\n"
				 "250-BINARYMIME\r\n"
				 "250-CHUNKING\r\n"
				 "250 SMTPUTF8\r\n";
static const char EHLO_TLS[] = "250-DS7PR10MB4862.namprd10.prod.outlook.com Hello [192.0.2.7]\r\n"
			       "250-SIZE 157286400\r\n"
			       "250-PIPELINING\r\n"
			       "250-DSN\r\n"
			       "250-ENHANCEDSTATUSCODES\r\n"
			       "250-AUTH LOGIN XOAUTH2\r\n"
			       "250-8BITMIME\r\n"
			       "250-BINARYMIME\r\n"
			       "250-CHUNKING\r\n"
			       "250 SMTPUTF8\r\n";

/* exchange-online.md, "Greeting and capabilities of smtp.office365.com". */
static void test_greeting_and_ehlo_lists(void **state)
{
	(void)state;
	rec *r = calloc(1, sizeof *r);
	smtp_callbacks cb = CB;
	cb.ctx = r;
	smtp_config c = { .hostname = HOST };
	assert_int_equal(smtp_init(&r->s, &c, &cb), SIM_OK);
	smtp_start(&r->s, "192.0.2.7", "Mon, 3 Mar 2025 10:00:00 +0000");
	drain(r);
	assert_string_equal(since(r, 0), "220 DS7PR10MB4862.namprd10.prod.outlook.com Microsoft ESMTP MAIL "
					 "Service ready at Mon, 3 Mar 2025 10:00:00 +0000\r\n");
	r->tls = true;
	expect(r, "EHLO client.example\r\n", EHLO_PLAIN);
	expect(r, "STARTTLS\r\n", "220 2.0.0 SMTP server ready\r\n");
	assert_true(smtp_flags(&r->s) & SMTP_F_TLS);
	expect(r, "EHLO client.example\r\n", EHLO_TLS);
	/* the same list again, EHLO being idempotent */
	expect(r, "ehlo other\r\n", EHLO_TLS);
	expect(r, "HELO other\r\n", "250 DS7PR10MB4862.namprd10.prod.outlook.com Hello [192.0.2.7]\r\n");
	free(r);

	/* PLAIN advertised on request; no STARTTLS: AUTH in clear */
	smtp_config c2 = { .hostname = HOST, .plain = SMTP_PLAIN_ADVERTISED, .no_starttls = true,
			   .max_message_size = 35 * 1024 * 1024 };
	r = open_rec(&c2);
	size_t mark = r->out_n;
	feed_str(r, "EHLO x\r\n");
	assert_non_null(strstr(since(r, mark), "250-SIZE 36700160\r\n250-PIPELINING\r\n250-DSN\r\n"
					       "250-ENHANCEDSTATUSCODES\r\n250-AUTH LOGIN XOAUTH2 PLAIN\r\n"
					       "250-8BITMIME\r\n"));
	assert_null(strstr(since(r, mark), "STARTTLS"));
	expect(r, "STARTTLS\r\n", "502 5.5.1 Command not implemented\r\n");
	free(r);
}

/* RFC 3207 4.2 and CVE-2011-0411: what follows STARTTLS in the same read
 * is dropped, and the session forgets EHLO. */
static void test_starttls(void **state)
{
	(void)state;
	rec *r = open_rec(NULL);
	expect(r, "STARTTLS\r\n", "503 5.5.1 Bad sequence of commands\r\n");
	feed_str(r, "EHLO a\r\n");
	expect(r, "STARTTLS now\r\n", "501 5.5.4 Syntax error (no parameters allowed)\r\n");
	/* AUTH before STARTTLS */
	expect(r, "AUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=\r\n", "530 5.7.0 Must issue a STARTTLS command first\r\n");
	expect(r, "MAIL FROM:<a@b.example>\r\n", "530 5.7.57 Client not authenticated to send mail\r\n");
	size_t mark = r->out_n;
	static const char inject[] = "STARTTLS\r\nAUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=\r\n";
	size_t n = smtp_feed(&r->s, inject, strlen(inject));
	assert_int_equal(n, strlen(inject)); /* consumed: the injected AUTH is dropped */
	drain(r);
	assert_string_equal(since(r, mark), "220 2.0.0 SMTP server ready\r\n");
	assert_true(smtp_flags(&r->s) & SMTP_F_STARTTLS);
	assert_int_equal(smtp_feed(&r->s, "NOOP\r\n", 6), 6);
	drain(r);
	assert_string_equal(since(r, mark), "220 2.0.0 SMTP server ready\r\n");
	assert_int_equal(r->ev_n, 0);
	assert_int_equal(smtp_tls_started(&r->s), SIM_OK);
	assert_int_equal(smtp_tls_started(&r->s), SIM_EINVAL);
	/* EHLO forgotten (RFC 3207 4.2) */
	expect(r, "AUTH LOGIN\r\n", "503 5.5.1 Bad sequence of commands\r\n");
	expect(r, "MAIL FROM:<a@b.example>\r\n", "503 5.5.1 Bad sequence of commands\r\n");
	feed_str(r, "EHLO a\r\n");
	expect(r, "STARTTLS\r\n", "503 5.5.1 Bad sequence of commands\r\n");
	free(r);
}

/* RFC 4954 9 examples and the LOGIN and XOAUTH2 exchanges. */
static void test_auth_mechanisms(void **state)
{
	(void)state;
	smtp_config c = { .no_starttls = true };
	rec *r = open_rec(&c);
	feed_str(r, "EHLO a\r\n");
	expect(r, "AUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=\r\n", "235 2.7.0 Authentication successful\r\n");
	assert_string_equal(r->ev, "auth PLAIN [test] [test] [1234]\n");
	expect(r, "AUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=\r\n", "503 5.5.1 Bad sequence of commands\r\n");
	/* the decoded secret does not stay in the session */
	assert_null(memmem(&r->s, sizeof r->s, "1234", 4));
	free(r);

	r = open_rec(&c);
	feed_str(r, "EHLO a\r\n");
	expect(r, "AUTH PLAIN\r\n", "334 \r\n");
	expect(r, "dGVzdAB0ZXN0ADEyMzQ=\r\n", "235 2.7.0 Authentication successful\r\n");
	assert_string_equal(r->ev, "auth PLAIN [test] [test] [1234]\n");
	free(r);

	/* LOGIN: Username:, Password: (draft-murchison-sasl-login) */
	r = open_rec(&c);
	feed_str(r, "EHLO a\r\n");
	r->auth = (smtp_reply){ 535, "5.7.139", "Authentication unsuccessful, the user credentials were incorrect." };
	expect(r, "AUTH LOGIN\r\n", "334 VXNlcm5hbWU6\r\n");
	expect(r, "dXNlckBjb250b3NvLmNvbQ==\r\n", "334 UGFzc3dvcmQ6\r\n");
	expect(r, "c2VjcmV0\r\n",
	       "535 5.7.139 Authentication unsuccessful, the user credentials were incorrect.\r\n");
	assert_string_equal(r->ev, "auth LOGIN [] [user@contoso.com] [secret]\n");
	assert_false(smtp_flags(&r->s) & SMTP_F_AUTHED);
	assert_null(memmem(&r->s, sizeof r->s, "user@contoso.com", 16));
	r->auth = (smtp_reply){ 0 };
	r->ev_n = 0;
	/* LOGIN with the user name as initial response */
	expect(r, "auth login dXNlckBjb250b3NvLmNvbQ==\r\n", "334 UGFzc3dvcmQ6\r\n");
	expect(r, "c2VjcmV0\r\n", "235 2.7.0 Authentication successful\r\n");
	assert_string_equal(r->ev, "auth LOGIN [] [user@contoso.com] [secret]\n");
	free(r);

	/* XOAUTH2, Google's documented example */
	static const char xo[] = "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk"
				 "52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==";
	r = open_rec(&c);
	feed_str(r, "EHLO a\r\n");
	char line[512];
	snprintf(line, sizeof line, "AUTH XOAUTH2 %s\r\n", xo);
	expect(r, line, "235 2.7.0 Authentication successful\r\n");
	assert_string_equal(r->ev, "auth XOAUTH2 [] [someuser@example.com] "
				   "[ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg]\n");
	free(r);
	r = open_rec(&c);
	feed_str(r, "EHLO a\r\n");
	expect(r, "AUTH XOAUTH2\r\n", "334 \r\n");
	snprintf(line, sizeof line, "%s\r\n", xo);
	expect(r, line, "235 2.7.0 Authentication successful\r\n");
	free(r);

	/* refusals the layer gives itself */
	r = open_rec(&c);
	expect(r, "AUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=\r\n", "503 5.5.1 Bad sequence of commands\r\n");
	feed_str(r, "EHLO a\r\n");
	expect(r, "AUTH CRAM-MD5\r\n", "504 5.7.4 Unrecognized authentication type\r\n");
	expect(r, "AUTH\r\n", "501 5.5.4 Syntax: AUTH mechanism [initial-response]\r\n");
	expect(r, "AUTH PLAIN a b\r\n", "501 5.5.4 Syntax: AUTH mechanism [initial-response]\r\n");
	expect(r, "AUTH PLAIN !!!!\r\n", "501 5.5.2 Cannot decode response\r\n");
	expect(r, "AUTH PLAIN =\r\n", "501 5.5.2 Cannot decode response\r\n");
	/* "test\0test" (no password), "\0\0pw", "a\0b\0c\0d" */
	expect(r, "AUTH PLAIN dGVzdAB0ZXN0\r\n", "501 5.5.2 Cannot decode response\r\n");
	expect(r, "AUTH PLAIN AABwdw==\r\n", "501 5.5.2 Cannot decode response\r\n");
	expect(r, "AUTH PLAIN YQBiAGMAZA==\r\n", "501 5.5.2 Cannot decode response\r\n");
	expect(r, "AUTH LOGIN\r\n", "334 VXNlcm5hbWU6\r\n");
	expect(r, "*\r\n", "501 5.7.0 Authentication cancelled\r\n");
	expect(r, "AUTH XOAUTH2 dXNlcj1hAWF1dGg9QmFzaWMgeAEB\r\n", /* auth=Basic x */
	       "501 5.5.2 Cannot decode response\r\n");
	expect(r, "AUTH XOAUTH2 dXNlcj1hAWF1dGg9QmVhcmVyIHgB\r\n", /* no final ^A */
	       "501 5.5.2 Cannot decode response\r\n");
	assert_int_equal(r->ev_n, 0);
	/* MAIL's AUTH is refused during a transaction: see test_bad_sequence */
	free(r);

	smtp_config refused = { .no_starttls = true, .plain = SMTP_PLAIN_REFUSED };
	r = open_rec(&refused);
	feed_str(r, "EHLO a\r\n");
	expect(r, "AUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=\r\n", "504 5.7.4 Unrecognized authentication type\r\n");
	free(r);
}

static void test_base64(void **state)
{
	(void)state;
	unsigned char out[32];
	assert_int_equal(smtp_base64_decode("", 0, out), 0);
	assert_int_equal(smtp_base64_decode("Zg==", 4, out), 1);
	assert_int_equal(out[0], 'f');
	assert_int_equal(smtp_base64_decode("Zg", 2, out), 1);       /* padding optional */
	assert_int_equal(smtp_base64_decode("Zm9vYg==", 8, out), 4);
	assert_memory_equal(out, "foob", 4);
	assert_int_equal(smtp_base64_decode("Zm9vYmFy", 8, out), 6);
	assert_int_equal(smtp_base64_decode("Z", 1, out), -1);
	assert_int_equal(smtp_base64_decode("Zg=", 3, out), -1);
	assert_int_equal(smtp_base64_decode("Z=g=", 4, out), -1);
	assert_int_equal(smtp_base64_decode("Zm9v YmFy", 9, out), -1);
	assert_int_equal(smtp_base64_decode("Zg===", 5, out), -1);
}

/* MAIL FROM: RFC 5321 4.1.2 paths and RFC 1870/6152/3030/6531/3461
 * parameters. */
static void test_mail_syntax(void **state)
{
	(void)state;
	static const struct {
		const char *cmd, *reply;
	} cases[] = {
		{ "MAIL FROM:<a@b.example>", "250 2.1.0 Sender OK" },
		{ "mail from:<a@b.example>", "250 2.1.0 Sender OK" },
		{ "MAIL FROM: <a@b.example>", "250 2.1.0 Sender OK" }, /* liberal */
		{ "MAIL FROM:<>", "250 2.1.0 Sender OK" },
		{ "MAIL FROM:<\"john doe\"@b.example>", "250 2.1.0 Sender OK" },
		{ "MAIL FROM:<\"a>b\\\"c\"@b.example>", "250 2.1.0 Sender OK" },
		{ "MAIL FROM:<@r1.example,@r2.example:a@b.example>", "250 2.1.0 Sender OK" },
		{ "MAIL FROM:<a@[192.0.2.1]>", "250 2.1.0 Sender OK" },
		{ "MAIL FROM:<a.b+tag@sub-1.b.example> SIZE=1000 BODY=8BITMIME", "250 2.1.0 Sender OK" },
		{ "MAIL FROM:<a@b.example> BODY=BINARYMIME SMTPUTF8 RET=HDRS ENVID=x AUTH=<>", "250 2.1.0 Sender OK" },
		{ "MAIL FROM:<a@b.example> SIZE=157286400", "250 2.1.0 Sender OK" },
		{ "MAIL FROM:<a@b.example> SIZE=157286401",
		  "552 5.3.4 Message size exceeds fixed maximum message size" },
		{ "MAIL FROM:<j\xc3\xb6rg@b.example> SMTPUTF8", "250 2.1.0 Sender OK" },
		{ "MAIL FROM:<j\xc3\xb6rg@b.example>", "553 5.6.7 Non-ASCII address requires SMTPUTF8" },
		{ "MAIL FROM:<j\xc3rg@b.example> SMTPUTF8", "501 5.1.7 Invalid address" }, /* bad UTF-8 */
		{ "MAIL FROM:<j\xed\xa0\x80@b.example> SMTPUTF8", "501 5.1.7 Invalid address" }, /* surrogate */
		{ "MAIL FROM:a@b.example", "501 5.1.7 Invalid address" },
		{ "MAIL FROM:<a@b.example", "501 5.1.7 Invalid address" },
		{ "MAIL FROM:<a@b.example>x", "501 5.1.7 Invalid address" },
		{ "MAIL FROM:<a>", "501 5.1.7 Invalid address" },
		{ "MAIL FROM:<postmaster>", "501 5.1.7 Invalid address" },
		{ "MAIL FROM:<@b.example>", "501 5.1.7 Invalid address" },
		{ "MAIL FROM:<a@>", "501 5.1.7 Invalid address" },
		{ "MAIL FROM:<a..b@b.example>", "501 5.1.7 Invalid address" },
		{ "MAIL FROM:<.a@b.example>", "501 5.1.7 Invalid address" },
		{ "MAIL FROM:<a.@b.example>", "501 5.1.7 Invalid address" },
		{ "MAIL FROM:<a@b..example>", "501 5.1.7 Invalid address" },
		{ "MAIL FROM:<a@b.example.>", "501 5.1.7 Invalid address" },
		{ "MAIL FROM:<a@-b.example>", "501 5.1.7 Invalid address" },
		{ "MAIL FROM:<a@b-.example>", "501 5.1.7 Invalid address" },
		{ "MAIL FROM:<a b@b.example>", "501 5.1.7 Invalid address" },
		{ "MAIL FROM:<\"a\tb\"@b.example>", "500 5.5.2 Syntax error, invalid character in command" },
		{ "MAIL FROM:<a@b.example> SIZE=x", "501 5.5.4 Invalid arguments" },
		{ "MAIL FROM:<a@b.example> SIZE=1 SIZE=2", "501 5.5.4 Invalid arguments" },
		{ "MAIL FROM:<a@b.example> SIZE=9999999999999999999", "501 5.5.4 Invalid arguments" },
		{ "MAIL FROM:<a@b.example> BODY=9BIT", "501 5.5.4 Invalid arguments" },
		{ "MAIL FROM:<a@b.example> SMTPUTF8=yes", "501 5.5.4 Invalid arguments" },
		{ "MAIL FROM:<a@b.example> RET=ALL", "501 5.5.4 Invalid arguments" },
		{ "MAIL FROM:<a@b.example> XFOO=1",
		  "555 5.5.4 MAIL FROM/RCPT TO parameters not recognized or not implemented" },
		{ "MAIL <a@b.example>", "501 5.5.4 Syntax: MAIL FROM:<address>" },
		{ "MAIL", "501 5.5.4 Syntax: MAIL FROM:<address>" },
	};
	smtp_config c = { .no_starttls = true, .max_errors = -1 };
	rec *r = open_rec(&c);
	feed_str(r, "EHLO a\r\nAUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=\r\n");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char in[600], want[600];
		snprintf(in, sizeof in, "%s\r\n", cases[i].cmd);
		snprintf(want, sizeof want, "%s\r\n", cases[i].reply);
		size_t mark = r->out_n;
		feed_str(r, in);
		if (strcmp(since(r, mark), want))
			fail_msg("%s: got %s, want %s", cases[i].cmd, since(r, mark), want);
		feed_str(r, "RSET\r\n");
	}
	/* the bounds: local part 64, domain 255, path 256 (RFC 5321 4.5.3.1) */
	char local[80], dom[300], in[700];
	memset(local, 'l', 64);
	local[64] = '\0';
	snprintf(in, sizeof in, "MAIL FROM:<%s@b.example>\r\n", local);
	expect(r, in, "250 2.1.0 Sender OK\r\n");
	feed_str(r, "RSET\r\n");
	snprintf(in, sizeof in, "MAIL FROM:<l%s@b.example>\r\n", local);
	expect(r, in, "501 5.1.7 Address too long\r\n");
	/* a path of 256 octets: < + 64 + @ + 189 + > */
	memset(dom, 'd', 185);
	memcpy(dom + 185, ".com", 5);
	snprintf(in, sizeof in, "MAIL FROM:<%s@%s>\r\n", local, dom);
	expect(r, in, "250 2.1.0 Sender OK\r\n");
	feed_str(r, "RSET\r\n");
	snprintf(in, sizeof in, "MAIL FROM:<%s@d%s>\r\n", local, dom);
	expect(r, in, "501 5.1.7 Address too long\r\n");
	/* after HELO there are no parameters (RFC 5321 4.1.1.11) */
	feed_str(r, "HELO a\r\n");
	expect(r, "MAIL FROM:<a@b.example> SIZE=10\r\n",
	       "555 5.5.4 MAIL FROM/RCPT TO parameters not recognized or not implemented\r\n");
	expect(r, "MAIL FROM:<a@b.example>\r\n", "250 2.1.0 Sender OK\r\n");
	free(r);
}

static void test_rcpt_syntax(void **state)
{
	(void)state;
	static const struct {
		const char *cmd, *reply;
	} cases[] = {
		{ "RCPT TO:<c@d.example>", "250 2.1.5 Recipient OK" },
		{ "rcpt to: <c@d.example>", "250 2.1.5 Recipient OK" },
		{ "RCPT TO:<Postmaster>", "250 2.1.5 Recipient OK" }, /* RFC 5321 4.1.1.3 */
		{ "RCPT TO:<c@d.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;c@d.example", "250 2.1.5 Recipient OK" },
		{ "RCPT TO:<>", "501 5.1.3 Invalid address" },
		{ "RCPT TO:<c>", "501 5.1.3 Invalid address" },
		{ "RCPT TO:c@d.example", "501 5.1.3 Invalid address" },
		{ "RCPT TO:<c@d.example> XFOO",
		  "555 5.5.4 MAIL FROM/RCPT TO parameters not recognized or not implemented" },
		{ "RCPT TO:<c@d.example> NOTIFY", "501 5.5.4 Invalid arguments" },
		{ "RCPT TO:<\xc3\xa9@d.example>", "553 5.6.7 Non-ASCII address requires SMTPUTF8" },
		{ "RCPT <c@d.example>", "501 5.5.4 Syntax: RCPT TO:<address>" },
	};
	smtp_config c = { .no_starttls = true, .max_errors = -1 };
	rec *r = open_rec(&c);
	feed_str(r, "EHLO a\r\nAUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=\r\n");
	expect(r, "RCPT TO:<c@d.example>\r\n", "503 5.5.1 Bad sequence of commands\r\n");
	feed_str(r, "MAIL FROM:<a@b.example>\r\n");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char in[600], want[600];
		snprintf(in, sizeof in, "%s\r\n", cases[i].cmd);
		snprintf(want, sizeof want, "%s\r\n", cases[i].reply);
		size_t mark = r->out_n;
		feed_str(r, in);
		if (strcmp(since(r, mark), want))
			fail_msg("%s: got %s, want %s", cases[i].cmd, since(r, mark), want);
	}
	/* non-ASCII recipients after MAIL ... SMTPUTF8 */
	feed_str(r, "RSET\r\nMAIL FROM:<a@b.example> SMTPUTF8\r\n");
	expect(r, "RCPT TO:<\xc3\xa9@d\xc3\xa9.example>\r\n", "250 2.1.5 Recipient OK\r\n");
	free(r);

	/* a bound on recipients, if configured (RFC 5321 4.5.3.1.10) */
	smtp_config c2 = { .no_starttls = true, .max_recipients = 2 };
	r = open_rec(&c2);
	feed_str(r, "EHLO a\r\nAUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=\r\nMAIL FROM:<a@b.example>\r\n");
	expect(r, "RCPT TO:<c@d.example>\r\nRCPT TO:<e@d.example>\r\nRCPT TO:<f@d.example>\r\n",
	       "250 2.1.5 Recipient OK\r\n250 2.1.5 Recipient OK\r\n452 4.5.3 Too many recipients\r\n");
	free(r);
}

static void test_other_commands(void **state)
{
	(void)state;
	smtp_config c = { .no_starttls = true, .max_errors = -1 };
	rec *r = open_rec(&c);
	expect(r, "NOOP\r\n", "250 2.0.0 OK\r\n");
	expect(r, "noop anything\r\n", "250 2.0.0 OK\r\n");
	expect(r, "VRFY someone\r\n", "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery\r\n");
	expect(r, "EXPN list\r\n", "502 5.5.1 Command not implemented\r\n");
	expect(r, "HELP\r\n", "214-2.0.0 This server supports the following commands:\r\n"
			      "214 2.0.0 HELO EHLO STARTTLS RCPT DATA RSET MAIL QUIT HELP AUTH BDAT NOOP\r\n");
	expect(r, "RSET\r\n", "250 2.0.0 Resetting\r\n");
	expect(r, "RSET x\r\n", "501 5.5.4 Syntax: RSET\r\n");
	expect(r, "FOO\r\n", "500 5.5.1 Unrecognized command\r\n");
	expect(r, "MAILFROM:<a@b>\r\n", "500 5.5.1 Unrecognized command\r\n");
	expect(r, "\r\n", "500 5.5.1 Unrecognized command\r\n");
	expect(r, "EHLO\r\n", "501 5.5.4 Invalid domain name\r\n");
	expect(r, "EHLO h\xc3\xa9\r\n", "501 5.5.4 Invalid domain name\r\n");
	expect(r, "HELO   \r\n", "501 5.5.4 Invalid domain name\r\n");
	/* NUL and other controls (RFC 5321 2.4) */
	size_t mark = r->out_n;
	feed(r, "NOOP\0x\r\n", 8);
	assert_string_equal(since(r, mark), "500 5.5.2 Syntax error, invalid character in command\r\n");
	expect(r, "NOOP\x1b\r\n", "500 5.5.2 Syntax error, invalid character in command\r\n");
	expect(r, "\x80\xff\r\n", "500 5.5.1 Unrecognized command\r\n");
	/* bare LF ends a command line; a bare CR is a character */
	expect(r, "NOOP\n", "250 2.0.0 OK\r\n");
	expect(r, "NOOP\rNOOP\r\n", "500 5.5.2 Syntax error, invalid character in command\r\n");
	expect(r, "QUIT\r\nNOOP\r\n", "221 2.0.0 Service closing transmission channel\r\n");
	assert_true(smtp_flags(&r->s) & SMTP_F_CLOSED);
	assert_int_equal(smtp_feed(&r->s, "NOOP\r\n", 6), 6);
	free(r);
}

/* RFC 5321 4.5.3.1.4: 512 octets with the CRLF; the AUTH bound. */
static void test_line_too_long(void **state)
{
	(void)state;
	smtp_config c = { .no_starttls = true, .auth_line_max = 1024, .max_errors = -1 };
	rec *r = open_rec(&c);
	char line[2100];
	memcpy(line, "NOOP ", 5);
	memset(line + 5, 'x', 505);
	memcpy(line + 510, "\r\n", 3); /* 512 octets */
	expect(r, line, "250 2.0.0 OK\r\n");
	memset(line + 5, 'x', 506);
	memcpy(line + 511, "\r\n", 3); /* 513 */
	expect(r, line, "500 5.5.2 Line too long\r\n");
	memcpy(line + 511, "\n", 2);   /* 512 with a bare LF */
	expect(r, line, "250 2.0.0 OK\r\n");
	/* a long line, split anywhere, is dropped to its LF and the next
	 * line is read normally */
	memset(line + 5, 'x', 2000);
	memcpy(line + 2005, "\r\nNOOP\r\n", 9);
	expect(r, line, "500 5.5.2 Line too long\r\n250 2.0.0 OK\r\n");
	for (size_t k = 0; k < 2013; k += 97) {
		size_t mark = r->out_n;
		feed(r, line, k);
		feed(r, line + k, 2013 - k);
		assert_string_equal(since(r, mark), "500 5.5.2 Line too long\r\n250 2.0.0 OK\r\n");
	}
	/* AUTH lines up to auth_line_max: 1024 octets pass, 1025 do not */
	feed_str(r, "EHLO a\r\n");
	memcpy(line, "AUTH PLAIN ", 11);
	memset(line + 11, 'A', 1011);
	memcpy(line + 1022, "\r\n", 3);
	expect(r, line, "501 5.5.2 Cannot decode response\r\n"); /* read whole: the decoding fails */
	memset(line + 11, 'A', 1012);
	memcpy(line + 1023, "\r\n", 3);
	expect(r, line, "500 5.5.2 Line too long\r\n");
	/* a SASL response has the AUTH bound too, and a long one ends AUTH */
	expect(r, "AUTH PLAIN\r\n", "334 \r\n");
	memset(line, 'A', 1030);
	memcpy(line + 1030, "\r\n", 3);
	expect(r, line, "500 5.5.2 Line too long\r\n");
	expect(r, "NOOP\r\n", "250 2.0.0 OK\r\n");
	free(r);
}

static void test_bad_sequence(void **state)
{
	(void)state;
	smtp_config c = { .no_starttls = true, .max_errors = -1 };
	rec *r = open_rec(&c);
	expect(r, "MAIL FROM:<a@b.example>\r\n", "503 5.5.1 Bad sequence of commands\r\n");
	expect(r, "DATA\r\n", "503 5.5.1 Bad sequence of commands\r\n");
	feed_str(r, "EHLO a\r\n");
	expect(r, "MAIL FROM:<a@b.example>\r\n", "530 5.7.57 Client not authenticated to send mail\r\n");
	expect(r, "RCPT TO:<c@d.example>\r\n", "503 5.5.1 Bad sequence of commands\r\n");
	feed_str(r, "AUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=\r\n");
	expect(r, "DATA\r\n", "503 5.5.1 Bad sequence of commands\r\n");
	expect(r, "MAIL FROM:<a@b.example>\r\n", "250 2.1.0 Sender OK\r\n");
	expect(r, "MAIL FROM:<a@b.example>\r\n", "503 5.5.1 Bad sequence of commands\r\n");
	expect(r, "DATA\r\n", "503 5.5.1 Bad sequence of commands\r\n");
	expect(r, "DATA x\r\n", "501 5.5.4 Syntax: DATA\r\n");
	expect(r, "AUTH LOGIN\r\n", "503 5.5.1 Bad sequence of commands\r\n");
	/* a refused RCPT does not count for DATA */
	r->rcpt = (smtp_reply){ 550, "5.7.68",
				"TenantInboundAttribution; Direct Send not allowed for this organization from unauthorized sources" };
	expect(r, "RCPT TO:<c@d.example>\r\n",
	       "550 5.7.68 TenantInboundAttribution; Direct Send not allowed for this organization from unauthorized "
	       "sources\r\n");
	expect(r, "DATA\r\n", "503 5.5.1 Bad sequence of commands\r\n");
	r->rcpt = (smtp_reply){ 0 };
	/* BINARYMIME only with BDAT (RFC 3030 3) */
	feed_str(r, "RSET\r\nMAIL FROM:<a@b.example> BODY=BINARYMIME\r\nRCPT TO:<c@d.example>\r\n");
	expect(r, "DATA\r\n", "503 5.5.1 Bad sequence of commands\r\n");
	expect(r, "RSET\r\n", "250 2.0.0 Resetting\r\n");
	assert_non_null(strstr(r->ev, "reset\n"));
	free(r);

	/* max_errors: the 20th error is followed by 421 and the end */
	r = open_rec(&(smtp_config){ .no_starttls = true });
	for (int i = 0; i < 19; i++)
		feed_str(r, "BAD\r\n");
	assert_false(smtp_flags(&r->s) & SMTP_F_CLOSED);
	expect(r, "BAD\r\nNOOP\r\n", "500 5.5.1 Unrecognized command\r\n"
				     "421 4.7.0 Too many errors on this connection, closing transmission channel\r\n");
	assert_true(smtp_flags(&r->s) & SMTP_F_CLOSED);
	free(r);
}

/* RFC 5321 4.5.2 and 4.1.1.4. */
static void test_data_dot_unstuffing(void **state)
{
	(void)state;
	smtp_config c = { .no_starttls = true };
	rec *r = open_rec(&c);
	feed_str(r, "EHLO a\r\nAUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=\r\n");
	static const char msg[] = "Subject: x\r\n"
				  "\r\n"
				  "..leading dot\r\n"
				  ".x dot deleted\r\n"
				  "a.\r\n"
				  "bare\nLF\n.not an end\r\n"
				  ".\rCR after a dot\r\n"
				  "..\r\n"
				  "last\r\n"
				  ".\r\n";
	static const char want[] = "Subject: x\r\n"
				   "\r\n"
				   ".leading dot\r\n"
				   "x dot deleted\r\n"
				   "a.\r\n"
				   "bare\nLF\n.not an end\r\n"
				   "\rCR after a dot\r\n"
				   ".\r\n"
				   "last\r\n";
	size_t mlen = strlen(msg), wlen = strlen(want);
	for (size_t k = 0; k <= mlen; k++) {
		r->body_n = 0;
		r->ev_n = 0;
		size_t mark = r->out_n;
		feed_str(r, "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n");
		feed(r, msg, k);
		feed(r, msg + k, mlen - k);
		assert_string_equal(since(r, mark), "250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n"
						    "354 Start mail input; end with <CRLF>.<CRLF>\r\n250 2.0.0 OK\r\n");
		assert_int_equal(r->body_n, wlen);
		assert_memory_equal(r->body, want, wlen);
	}
	char e[128];
	snprintf(e, sizeof e, "end <a@b.example> 1 rcpt, %zu octets, bdat=0\n", wlen);
	assert_non_null(strstr(r->ev, e));
	/* an empty message; "\n.\n" and "\r\n.\n" do not end the data */
	r->body_n = 0;
	size_t mark = r->out_n;
	feed_str(r, "MAIL FROM:<>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n.\r\n");
	assert_non_null(strstr(since(r, mark), "354 Start mail input; end with <CRLF>.<CRLF>\r\n250 2.0.0 OK\r\n"));
	assert_int_equal(r->body_n, 0);
	mark = r->out_n;
	r->body_n = 0;
	feed_str(r, "MAIL FROM:<>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nx\n.\nx\r\n.\nNOOP\r\n");
	assert_string_equal(since(r, mark), "250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n"
					    "354 Start mail input; end with <CRLF>.<CRLF>\r\n");
	expect(r, ".\r\nNOOP\r\n", "250 2.0.0 OK\r\n250 2.0.0 OK\r\n");
	free(r);
}

/* The message bound: SIZE at MAIL (RFC 1870 6.1), the octets at the end
 * (6.3): counted after unstuffing, the final CRLF.CRLF not counted. */
static void test_message_size(void **state)
{
	(void)state;
	smtp_config c = { .no_starttls = true, .max_message_size = 10 };
	rec *r = open_rec(&c);
	feed_str(r, "EHLO a\r\nAUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=\r\n");
	expect(r, "MAIL FROM:<a@b.example> SIZE=11\r\n", "552 5.3.4 Message size exceeds fixed maximum message size\r\n");
	feed_str(r, "MAIL FROM:<a@b.example> SIZE=10\r\nRCPT TO:<c@d.example>\r\nDATA\r\n");
	/* 10 octets: "..abcdefg\r\n" unstuffs to ".abcdefg\r\n" */
	expect(r, "..abcdefg\r\n.\r\n", "250 2.0.0 OK\r\n");
	assert_int_equal(r->body_n, 10);
	r->body_n = 0;
	r->ev_n = 0;
	feed_str(r, "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n");
	expect(r, "abcdefghi\r\n.\r\n", "552 5.3.4 Message size exceeds fixed maximum message size\r\n");
	assert_null(strstr(r->ev, "end "));
	assert_non_null(strstr(r->ev, "reset\n"));
	/* on_data saw exactly the octets up to the bound */
	assert_int_equal(r->body_n, 10);
	assert_memory_equal(r->body, "abcdefghi\r", 10);
	/* the transaction is over */
	expect(r, "RCPT TO:<c@d.example>\r\n", "503 5.5.1 Bad sequence of commands\r\n");
	/* BDAT: a chunk past the bound is read, dropped and refused */
	r->body_n = 0;
	feed_str(r, "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n");
	expect(r, "BDAT 6\r\nabcdefBDAT 5 LAST\r\nghijkNOOP\r\n",
	       "250 2.0.0 6 octets received\r\n552 5.3.4 Message size exceeds fixed maximum message size\r\n"
	       "250 2.0.0 OK\r\n");
	assert_int_equal(r->body_n, 6);
	free(r);
}

/* RFC 3030: chunks are read raw, LAST ends the message. */
static void test_bdat(void **state)
{
	(void)state;
	smtp_config c = { .no_starttls = true, .max_errors = -1 };
	rec *r = open_rec(&c);
	feed_str(r, "EHLO a\r\nAUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=\r\n");
	/* no transaction: the chunk is read and dropped, then 503 */
	expect(r, "BDAT 8\r\nDATA\r\n\r\nNOOP\r\n", "503 5.5.1 Bad sequence of commands\r\n250 2.0.0 OK\r\n");
	feed_str(r, "MAIL FROM:<a@b.example> BODY=BINARYMIME\r\nRCPT TO:<c@d.example>\r\n");
	r->ev_n = 0;
	size_t mark = r->out_n;
	feed(r, "BDAT 5\r\n.\r\n", 11);
	assert_string_equal(since(r, mark), "");
	feed(r, "\0\xff", 2);
	feed(r, "BDAT 3 LAST\r\nabc", 16);
	assert_string_equal(since(r, mark), "250 2.0.0 5 octets received\r\n250 2.0.0 OK\r\n");
	assert_int_equal(r->body_n, 8);
	assert_memory_equal(r->body, ".\r\n\0\xff" "abc", 8);
	assert_string_equal(r->ev, "envelope <a@b.example> 1 bdat=0\nend <a@b.example> 1 rcpt, 8 octets, bdat=1\n");
	/* BDAT 0 LAST; last is case-insensitive; DATA after BDAT is refused */
	r->body_n = 0;
	feed_str(r, "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n");
	expect(r, "BDAT 2\r\nhi", "250 2.0.0 2 octets received\r\n");
	expect(r, "DATA\r\n", "503 5.5.1 Bad sequence of commands\r\n");
	expect(r, "RCPT TO:<e@d.example>\r\n", "503 5.5.1 Bad sequence of commands\r\n");
	expect(r, "BDAT 0 last\r\n", "250 2.0.0 OK\r\n");
	assert_int_equal(r->body_n, 2);
	/* syntax */
	expect(r, "BDAT\r\n", "501 5.5.4 Syntax: BDAT chunk-size [LAST]\r\n");
	expect(r, "BDAT x\r\n", "501 5.5.4 Syntax: BDAT chunk-size [LAST]\r\n");
	expect(r, "BDAT 1 FIRST\r\n", "501 5.5.4 Syntax: BDAT chunk-size [LAST]\r\n");
	expect(r, "BDAT 1000000000000000000000\r\n", "501 5.5.4 Syntax: BDAT chunk-size [LAST]\r\n");
	/* an envelope refused at the first chunk: read, dropped, refused */
	r->body_n = 0;
	r->env = (smtp_reply){ 550, "5.7.64", "TenantAttribution; Relay Access Denied SMTP." };
	feed_str(r, "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n");
	expect(r, "BDAT 4 LAST\r\nabcdNOOP\r\n", "550 5.7.64 TenantAttribution; Relay Access Denied SMTP.\r\n"
						"250 2.0.0 OK\r\n");
	assert_int_equal(r->body_n, 0);
	expect(r, "BDAT 1 LAST\r\nx", "503 5.5.1 Bad sequence of commands\r\n");
	/* BDAT after HELO: CHUNKING was not negotiated */
	r->env = (smtp_reply){ 0 };
	feed_str(r, "HELO a\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n");
	expect(r, "BDAT 1 LAST\r\nx", "503 5.5.1 Bad sequence of commands\r\n");
	free(r);
}

/* Caller replies: a custom success, a refusal, 421 ending the session,
 * a code out of range. */
static void test_caller_replies(void **state)
{
	(void)state;
	smtp_config c = { .no_starttls = true };
	rec *r = open_rec(&c);
	feed_str(r, "EHLO a\r\nAUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=\r\n");
	r->end = (smtp_reply){ 250, "2.0.0", "OK <id@host> [Hostname=DS7PR10MB4862]" };
	expect(r, "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nx\r\n.\r\n",
	       "250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n354 Start mail input; end with <CRLF>.<CRLF>\r\n"
	       "250 2.0.0 OK <id@host> [Hostname=DS7PR10MB4862]\r\n");
	r->end = (smtp_reply){ 432, "4.3.2", "Concurrent connections limit exceeded.\r\nInjected: yes" };
	expect(r, "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nx\r\n.\r\n",
	       "250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n354 Start mail input; end with <CRLF>.<CRLF>\r\n"
	       "432 4.3.2 Concurrent connections limit exceeded.  Injected: yes\r\n");
	r->end = (smtp_reply){ 250, "4.0.0", NULL }; /* the enhanced code's class is wrong: left out */
	expect(r, "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nx\r\n.\r\n",
	       "250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n354 Start mail input; end with <CRLF>.<CRLF>\r\n"
	       "250 \r\n");
	r->mail = (smtp_reply){ 99, NULL, "bad" };
	expect(r, "MAIL FROM:<a@b.example>\r\n", "451 4.3.0 Requested action aborted: local error in processing\r\n");
	r->mail = (smtp_reply){ 0 };
	/* a long text is cut at 512 octets */
	char longtext[1000];
	memset(longtext, 't', sizeof longtext - 1);
	longtext[sizeof longtext - 1] = '\0';
	r->rcpt = (smtp_reply){ 550, "5.1.10", longtext };
	size_t mark = r->out_n;
	feed_str(r, "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n");
	assert_int_equal(r->out_n - mark, strlen("250 2.1.0 Sender OK\r\n") + 512);
	r->rcpt = (smtp_reply){ 421, "4.7.66", "TLS 1.0 and 1.1 are not supported." };
	expect(r, "RCPT TO:<c@d.example>\r\nNOOP\r\n", "421 4.7.66 TLS 1.0 and 1.1 are not supported.\r\n");
	assert_true(smtp_flags(&r->s) & SMTP_F_CLOSED);
	assert_non_null(strstr(r->ev, "reset\n"));
	free(r);
}

/* An answer given later: nothing after the held end of data is read until
 * it comes, and the pipelined commands are then answered in order. */
static void test_answer_later(void **state)
{
	(void)state;
	smtp_config c = { .no_starttls = true };
	rec *r = open_rec(&c);
	r->later = true;
	static const char in[] = "EHLO a\r\nAUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=\r\nMAIL FROM:<a@b.example>\r\n"
				 "RCPT TO:<c@d.example>\r\nDATA\r\nbody\r\n.\r\nNOOP\r\nQUIT\r\n";
	const char *p = in;
	size_t len = strlen(in);
	assert_int_equal(smtp_answer(&r->s, NULL), SIM_EINVAL);
	int answers = 0;
	while (len) {
		size_t n = smtp_feed(&r->s, p, len);
		p += n;
		len -= n;
		drain(r);
		if (!(smtp_flags(&r->s) & SMTP_F_WAITING))
			continue;
		answers++;
		/* held: more input is not read */
		assert_int_equal(smtp_feed(&r->s, p, len), 0);
		if (!strncmp(p, "NOOP", 4)) {
			/* the end of data is held (a tarpit): the client's NOOP waits */
			r->out[r->out_n] = '\0';
			assert_non_null(strstr(r->out, "354 Start mail input"));
			assert_null(strstr(r->out, "250 2.0.0 OK"));
			static const smtp_reply ok = { 250, "2.0.0", "OK held" };
			assert_int_equal(smtp_answer(&r->s, &ok), SIM_OK);
		} else
			assert_int_equal(smtp_answer(&r->s, NULL), SIM_OK);
		drain(r);
	}
	assert_int_equal(answers, 5); /* auth, mail, rcpt, envelope, end */
	assert_string_equal(since(r, 0), "220 DS7PR10MB4862.namprd10.prod.outlook.com Microsoft ESMTP MAIL Service ready\r\n"
		"250-DS7PR10MB4862.namprd10.prod.outlook.com Hello [192.0.2.7]\r\n250-SIZE 157286400\r\n"
		"250-PIPELINING\r\n250-DSN\r\n250-ENHANCEDSTATUSCODES\r\n250-AUTH LOGIN XOAUTH2\r\n"
		"250-8BITMIME\r\n250-BINARYMIME\r\n250-CHUNKING\r\n250 SMTPUTF8\r\n"
		"235 2.7.0 Authentication successful\r\n250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n"
		"354 Start mail input; end with <CRLF>.<CRLF>\r\n250 2.0.0 OK held\r\n250 2.0.0 OK\r\n"
		"221 2.0.0 Service closing transmission channel\r\n");
	free(r);
}

/* A client that pipelines without reading: the output stays within its
 * bound, the input waits, nothing is lost. */
static void test_output_bound(void **state)
{
	(void)state;
	smtp_config c = { .no_starttls = true };
	rec *r = open_rec(&c);
	char in[1000 * 6 + 1];
	for (int i = 0; i < 1000; i++)
		memcpy(in + 6 * i, "NOOP\r\n", 6);
	size_t n = smtp_feed(&r->s, in, 6000);
	size_t out;
	smtp_output(&r->s, &out);
	assert_true(n < 6000);
	assert_true(out <= SMTP_OUT_CAP && SMTP_OUT_CAP - out < SMTP_OUT_ROOM);
	assert_int_equal(smtp_feed(&r->s, in + n, 6000 - n), 0);
	drain(r);
	feed(r, in + n, 6000 - n);
	size_t count = 0;
	for (const char *p = since(r, 0); (p = strstr(p, "250 2.0.0 OK\r\n")); p++)
		count++;
	assert_int_equal(count, 1000);
	free(r);
}

/* A whole pipelined session, fed at once, byte by byte, and in every
 * split in two: the same replies, callbacks and body.  Twice: answered at
 * once and answered later. */
static const char TRANSCRIPT[] =
	"EHLO client.example\r\n"
	"AUTH LOGIN\r\ndXNlckBjb250b3NvLmNvbQ==\r\nc2VjcmV0\r\n"
	"MAIL FROM:<user@contoso.com> SIZE=40\r\n"
	"RCPT TO:<a@fabrikam.example>\r\n"
	"RCPT TO:<b@fabrikam.example> NOTIFY=NEVER\r\n"
	"DATA\r\n"
	"Subject: t\r\n\r\n..dot\r\nline\r\n.\r\n"
	"MAIL FROM:<user@contoso.com> BODY=BINARYMIME\r\n"
	"RCPT TO:<a@fabrikam.example>\r\n"
	"BDAT 5\r\n\r\n.\r\nBDAT 3 LAST\r\nxyz"
	"RSET\r\nbad command\r\nNOOP\r\n"
	"MAIL FROM:<user@contoso.com>\r\nRSET\r\n"
	"QUIT\r\n";

static void run_split(bool later, const char *pieces[], const size_t lens[], size_t n, rec **out)
{
	smtp_config c = { .no_starttls = true };
	rec *r = open_rec(&c);
	r->later = later;
	for (size_t i = 0; i < n; i++)
		feed(r, pieces[i], lens[i]);
	*out = r;
}

static void same(const rec *a, const rec *b)
{
	assert_int_equal(a->out_n, b->out_n);
	assert_memory_equal(a->out, b->out, a->out_n);
	assert_int_equal(a->ev_n, b->ev_n);
	assert_memory_equal(a->ev, b->ev, a->ev_n);
	assert_int_equal(a->body_n, b->body_n);
	assert_memory_equal(a->body, b->body, a->body_n);
}

static void test_pipelined_splits(void **state)
{
	(void)state;
	size_t len = strlen(TRANSCRIPT);
	for (int later = 0; later < 2; later++) {
		rec *whole;
		const char *p1[] = { TRANSCRIPT };
		size_t l1[] = { len };
		run_split(later, p1, l1, 1, &whole);
		whole->out[whole->out_n] = '\0';
		assert_string_equal(whole->out,
			"220 DS7PR10MB4862.namprd10.prod.outlook.com Microsoft ESMTP MAIL Service ready\r\n"
			"250-DS7PR10MB4862.namprd10.prod.outlook.com Hello [192.0.2.7]\r\n250-SIZE 157286400\r\n"
			"250-PIPELINING\r\n250-DSN\r\n250-ENHANCEDSTATUSCODES\r\n250-AUTH LOGIN XOAUTH2\r\n"
			"250-8BITMIME\r\n250-BINARYMIME\r\n250-CHUNKING\r\n250 SMTPUTF8\r\n"
			"334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n235 2.7.0 Authentication successful\r\n"
			"250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n250 2.1.5 Recipient OK\r\n"
			"354 Start mail input; end with <CRLF>.<CRLF>\r\n250 2.0.0 OK\r\n"
			"250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n"
			"250 2.0.0 5 octets received\r\n250 2.0.0 OK\r\n"
			"250 2.0.0 Resetting\r\n500 5.5.1 Unrecognized command\r\n250 2.0.0 OK\r\n"
			"250 2.1.0 Sender OK\r\n250 2.0.0 Resetting\r\n"
			"221 2.0.0 Service closing transmission channel\r\n");
		whole->ev[whole->ev_n] = '\0';
		assert_string_equal(whole->ev,
			"auth LOGIN [] [user@contoso.com] [secret]\n"
			"mail <user@contoso.com> size=40 body=0 utf8=0\n"
			"rcpt <a@fabrikam.example> #0\nrcpt <b@fabrikam.example> #1\n"
			"envelope <user@contoso.com> 2 bdat=0\n"
			"end <user@contoso.com> 2 rcpt, 26 octets, bdat=0\n"
			"mail <user@contoso.com> size=-1 body=2 utf8=0\n"
			"rcpt <a@fabrikam.example> #0\n"
			"envelope <user@contoso.com> 1 bdat=0\n"
			"end <user@contoso.com> 1 rcpt, 8 octets, bdat=1\n"
			"mail <user@contoso.com> size=-1 body=0 utf8=0\n"
			"reset\n");
		assert_int_equal(whole->body_n, 34);
		assert_memory_equal(whole->body, "Subject: t\r\n\r\n.dot\r\nline\r\n\r\n.\r\nxyz", 34);

		/* byte by byte */
		smtp_config c = { .no_starttls = true };
		rec *r = open_rec(&c);
		r->later = later;
		for (size_t i = 0; i < len; i++)
			feed(r, TRANSCRIPT + i, 1);
		same(whole, r);
		free(r);

		/* every split in two */
		for (size_t k = 0; k <= len; k++) {
			const char *p2[] = { TRANSCRIPT, TRANSCRIPT + k };
			size_t l2[] = { k, len - k };
			run_split(later, p2, l2, 2, &r);
			same(whole, r);
			free(r);
		}
		free(whole);
	}
}

/* The STARTTLS part of a session split at every byte: what comes up to
 * and including STARTTLS gives the same replies however it is cut. */
static void test_starttls_splits(void **state)
{
	(void)state;
	static const char in[] = "EHLO a\r\nNOOP\r\nAUTH LOGIN\r\nSTARTTLS\r\n";
	size_t len = strlen(in);
	rec *whole = open_rec(NULL);
	feed(whole, in, len);
	for (size_t k = 0; k <= len; k++) {
		rec *r = open_rec(NULL);
		feed(r, in, k);
		feed(r, in + k, len - k);
		same(whole, r);
		assert_true(smtp_flags(&r->s) & SMTP_F_STARTTLS);
		free(r);
	}
	free(whole);
}

/* The submission path of smtp.office365.com:587 end to end: EHLO,
 * STARTTLS, EHLO, AUTH, one message; the client's second AUTH refused. */
static void test_tls_session(void **state)
{
	(void)state;
	rec *r = authed_rec(NULL);
	expect(r, "AUTH LOGIN\r\n", "503 5.5.1 Bad sequence of commands\r\n");
	expect(r, "MAIL FROM:<test@contoso.com>\r\nRCPT TO:<a@fabrikam.example>\r\nDATA\r\nhi\r\n.\r\n",
	       "250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n354 Start mail input; end with <CRLF>.<CRLF>\r\n"
	       "250 2.0.0 OK\r\n");
	assert_string_equal(r->ev, "mail <test@contoso.com> size=-1 body=0 utf8=0\nrcpt <a@fabrikam.example> #0\n"
				   "envelope <test@contoso.com> 1 bdat=0\nend <test@contoso.com> 1 rcpt, 4 octets, bdat=0\n");
	free(r);
}

static void test_init_contract(void **state)
{
	(void)state;
	smtp_session *s = malloc(sizeof *s);
	memset(s, 0xa5, sizeof *s);
	smtp_callbacks cb = CB;
	smtp_config c = { .hostname = "bad host" };
	assert_int_equal(smtp_init(s, &c, &cb), SIM_EINVAL);
	c.hostname = "";
	assert_int_equal(smtp_init(s, &c, &cb), SIM_EINVAL);
	c.hostname = "ok";
	c.auth_line_max = SMTP_AUTH_LINE_CAP + 1;
	assert_int_equal(smtp_init(s, &c, &cb), SIM_EINVAL);
	c.auth_line_max = 100;
	assert_int_equal(smtp_init(s, &c, &cb), SIM_EINVAL);
	c.auth_line_max = 0;
	c.max_message_size = -1;
	assert_int_equal(smtp_init(s, &c, &cb), SIM_EINVAL);
	c.max_message_size = 0;
	cb.on_message_end = NULL;
	assert_int_equal(smtp_init(s, &c, &cb), SIM_EINVAL);
	/* untouched on failure */
	for (size_t i = 0; i < sizeof *s; i++)
		assert_int_equal(((unsigned char *)s)[i], 0xa5);
	cb = CB;
	assert_int_equal(smtp_init(s, &c, &cb), SIM_OK);
	assert_int_equal(smtp_init(s, NULL, &cb), SIM_OK); /* all defaults */
	assert_true(sizeof *s < 20 * 1024);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_greeting_and_ehlo_lists),
		cmocka_unit_test(test_starttls),
		cmocka_unit_test(test_auth_mechanisms),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_mail_syntax),
		cmocka_unit_test(test_rcpt_syntax),
		cmocka_unit_test(test_other_commands),
		cmocka_unit_test(test_line_too_long),
		cmocka_unit_test(test_bad_sequence),
		cmocka_unit_test(test_data_dot_unstuffing),
		cmocka_unit_test(test_message_size),
		cmocka_unit_test(test_bdat),
		cmocka_unit_test(test_caller_replies),
		cmocka_unit_test(test_answer_later),
		cmocka_unit_test(test_output_bound),
		cmocka_unit_test(test_pipelined_splits),
		cmocka_unit_test(test_starttls_splits),
		cmocka_unit_test(test_tls_session),
		cmocka_unit_test(test_init_contract),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
