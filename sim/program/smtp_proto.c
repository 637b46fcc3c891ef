/* smtp_proto.c - the SMTP protocol layer (smtp_proto.h): the bounded line
 * reader, the command and path parsers, the session's state machine, the
 * SASL exchanges, and the DATA and BDAT readers.  Every reply the layer
 * gives itself is written here once, with its RFC; docs/SERVE.md lists
 * them. */
#include "smtp_proto.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "check.h"
#include "status.h"

/* What the next input byte is. */
enum {
	MODE_CMD,   /* a command line */
	MODE_SASL,  /* a SASL response line (after a 334) */
	MODE_DATA,  /* message data after DATA's 354 */
	MODE_CHUNK, /* the octets of a BDAT chunk */
	MODE_DROP,  /* dropped: after STARTTLS (until the handshake) or 221/421 */
};

/* Which callback's answer smtp_answer brings. */
enum { W_NONE, W_AUTH, W_MAIL, W_RCPT, W_ENV_DATA, W_ENV_BDAT, W_END };

/* Where DATA is in a line: RFC 5321 4.5.2 (dot-unstuffing) and 4.1.1.4
 * (CRLF.CRLF ends the data).  The CR and LF of each line are content and
 * are passed on as they come; only a dot at the start of a line is held
 * until the next octet says whether it ends the data or is deleted. */
enum {
	D_BOL,   /* after CRLF, or at the start of the data */
	D_MID,   /* inside a line */
	D_CR,    /* after a CR (already passed on) */
	D_DOT,   /* BOL then '.', held */
	D_DOTCR, /* BOL '.' CR, both held */
};

/* The SASL response awaited in MODE_SASL. */
enum { SASL_PLAIN, SASL_LOGIN_USER, SASL_LOGIN_PASS, SASL_XOAUTH2 };

#define MAX_ERRORS_DEFAULT 20 /* Postfix's smtpd_hard_error_limit */

/* ---- output --------------------------------------------------------- */

/* code.subject.detail, RFC 3463: class 2, 4 or 5 matching the reply. */
static bool valid_enhanced(int code, const char *e)
{
	if (!e || e[0] != (char)('0' + code / 100) || (e[0] != '2' && e[0] != '4' && e[0] != '5'))
		return false;
	const char *p = e + 1;
	for (int part = 0; part < 2; part++) {
		if (*p++ != '.')
			return false;
		int n = 0;
		while (*p >= '0' && *p <= '9' && n < 4) {
			p++;
			n++;
		}
		if (n < 1 || n > 3)
			return false;
	}
	return *p == '\0';
}

/* One reply line into buf (SMTP_REPLY_LINE_MAX): the code, '-' or ' ', the
 * enhanced code if valid, the text with control and non-ASCII octets as
 * spaces and '?', cut so the line with its CRLF fits 512 octets (RFC 5321
 * 4.5.3.1.5).  Returns the length. */
static size_t format_line(char *buf, int code, bool more, const char *enh, const char *text)
{
	size_t n = 0, max = SMTP_REPLY_LINE_MAX - 2;
	buf[n++] = (char)('0' + code / 100 % 10);
	buf[n++] = (char)('0' + code / 10 % 10);
	buf[n++] = (char)('0' + code % 10);
	buf[n++] = more ? '-' : ' ';
	if (valid_enhanced(code, enh)) {
		size_t el = strlen(enh);
		memcpy(buf + n, enh, el);
		n += el;
		if (text && *text)
			buf[n++] = ' ';
	}
	for (const unsigned char *t = (const unsigned char *)(text ? text : ""); *t && n < max; t++)
		buf[n++] = *t < 0x20 || *t == 0x7f ? ' ' : *t >= 0x80 ? '?' : (char)*t;
	buf[n++] = '\r';
	buf[n++] = '\n';
	return n;
}

static void drop_session(smtp_session *s);

static void put_raw(smtp_session *s, const char *p, size_t n)
{
	/* Room is reserved before a command is read (SMTP_OUT_ROOM covers
	 * the most one command writes); should that ever fail, closing is
	 * the only answer that keeps every reply line whole. */
	if (NEVER(n > SMTP_OUT_CAP - s->out_len)) {
		drop_session(s);
		return;
	}
	memcpy(s->out + s->out_len, p, n);
	s->out_len += n;
}

static void put_line(smtp_session *s, int code, bool more, const char *enh, const char *text)
{
	char buf[SMTP_REPLY_LINE_MAX];
	put_raw(s, buf, format_line(buf, code, more, enh, text));
}

static void reply(smtp_session *s, int code, const char *enh, const char *text)
{
	put_line(s, code, false, enh, text);
}

/* ---- transactions and the session --------------------------------- */

static void txn_reset(smtp_session *s, bool notify)
{
	bool had = s->in_mail;
	s->in_mail = false;
	s->data_begun = false;
	s->oversize = false;
	s->bdat_last = false;
	s->chunk_refused = false;
	s->from[0] = '\0';
	s->env = (smtp_envelope){ .from = s->from, .declared_size = -1 };
	if (had && notify && s->cb.on_reset)
		s->cb.on_reset(s->cb.ctx);
}

static void drop_session(smtp_session *s)
{
	s->flags |= SMTP_F_CLOSED;
	s->mode = MODE_DROP;
	s->waiting = W_NONE;
	txn_reset(s, true);
}

/* A reply the layer gives for the client's mistake.  After max_errors of
 * them the session ends with 421 (RFC 5321 3.8), as Postfix's hard error
 * limit and Exchange's MaxProtocolErrors do; the 421 text is Exchange
 * Server's. */
static void proto_error(smtp_session *s, int code, const char *enh, const char *text)
{
	reply(s, code, enh, text);
	if (s->cfg.max_errors > 0 && ++s->errors >= s->cfg.max_errors) {
		reply(s, 421, "4.7.0", "Too many errors on this connection, closing transmission channel");
		drop_session(s);
	}
}

/* RFC 5321 4.1.4 and 3.3: a command out of order. */
static void bad_sequence(smtp_session *s)
{
	proto_error(s, 503, "5.5.1", "Bad sequence of commands");
}

/* A caller's reply: code 0 is the layer's default success (written if
 * write_success); a code below 400 a success in the caller's words; 421
 * also ends the session; a code outside 200-599 is the caller's bug and
 * answered as a local error (RFC 5321 4.2.3, 451). */
static bool caller_reply(smtp_session *s, const smtp_reply *r, int dcode, const char *denh,
			 const char *dtext, bool write_success)
{
	int code = r ? r->code : 0;
	if (code == 0) {
		if (write_success)
			reply(s, dcode, denh, dtext);
		return true;
	}
	if (code < 200 || code > 599) {
		reply(s, 451, "4.3.0", "Requested action aborted: local error in processing");
		return false;
	}
	if (code < 400) {
		if (write_success)
			reply(s, code, r->enhanced, r->text);
		return true;
	}
	reply(s, code, r->enhanced, r->text);
	if (code == 421)
		drop_session(s);
	return false;
}

static void wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;
	while (n--)
		*v++ = 0;
}

/* ---- base64 (RFC 4648) ------------------------------------------------ */

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long smtp_base64_decode(const char *in, size_t len, unsigned char *out)
{
	size_t pad = 0;
	while (pad < 2 && len > pad && in[len - 1 - pad] == '=')
		pad++;
	size_t n = len - pad;
	if (pad && len % 4 != 0)
		return -1;
	if (n % 4 == 1)
		return -1;
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	/* Writing never overtakes reading (3 bytes out per 4 in), so out may
	 * be in. */
	for (size_t i = 0; i < n; i++) {
		int v = b64_value((unsigned char)in[i]);
		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	return (long)o;
}

/* ---- paths (RFC 5321 4.1.2, RFC 6531 3.3) --------------------------- */

enum { PATH_OK, PATH_SYNTAX, PATH_LONG };

/* The length of a well-formed UTF-8 sequence of 2 to 4 octets at p (with
 * n octets left), else 0: no overlong forms, surrogates or values past
 * U+10FFFF (RFC 3629 4). */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	size_t len;
	unsigned lo = 0x80, hi = 0xbf;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;
		if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;
		if (c == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

static bool is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

static bool is_letdig(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* A domain (sub-domain *("." sub-domain), letters, digits and inner
 * hyphens, UTF-8 labels allowed) or an address literal "[...]" at p;
 * returns its length, 0 if there is none. */
static size_t scan_domain(const unsigned char *p, size_t n, bool *eight)
{
	size_t i = 0;
	if (n && p[0] == '[') {
		for (i = 1; i < n && p[i] != ']'; i++)
			if (p[i] < 33 || p[i] > 126 || p[i] == '[' || p[i] == '\\')
				return 0;
		return i < n && i > 1 ? i + 1 : 0;
	}
	for (;;) {
		size_t start = i;
		bool last_hyphen = false;
		while (i < n) {
			if (is_letdig(p[i]) || (p[i] == '-' && i > start)) {
				last_hyphen = p[i] == '-';
				i++;
			} else if (p[i] >= 0x80) {
				size_t k = utf8_seq(p + i, n - i);
				if (!k)
					return 0;
				*eight = true;
				last_hyphen = false;
				i += k;
			} else
				break;
		}
		if (i == start || last_hyphen)
			return 0;
		if (i < n && p[i] == '.' && i + 1 < n && p[i + 1] != '>') {
			i++;
			continue;
		}
		return i;
	}
}

/* A local part (dot-string or quoted string, UTF-8 allowed) at p; its
 * length, 0 if there is none. */
static size_t scan_local(const unsigned char *p, size_t n, bool *eight)
{
	size_t i = 0;
	if (n && p[0] == '"') {
		for (i = 1; i < n && p[i] != '"'; i++) {
			if (p[i] == '\\') {
				if (i + 1 >= n || p[i + 1] < 32 || p[i + 1] > 126)
					return 0;
				i++;
			} else if (p[i] >= 0x80) {
				size_t k = utf8_seq(p + i, n - i);
				if (!k)
					return 0;
				*eight = true;
				i += k - 1;
			} else if (p[i] < 32 || p[i] > 126)
				return 0;
		}
		return i < n ? i + 1 : 0;
	}
	for (;;) {
		size_t start = i;
		while (i < n) {
			if (is_atext(p[i]))
				i++;
			else if (p[i] >= 0x80) {
				size_t k = utf8_seq(p + i, n - i);
				if (!k)
					return 0;
				*eight = true;
				i += k;
			} else
				break;
		}
		if (i == start)
			return 0;
		if (i + 1 < n && p[i] == '.' && p[i + 1] != '@') {
			i++;
			continue;
		}
		return i;
	}
}

/* The path at *pp: "<" [source route ":"] mailbox ">", or "<>" if
 * allow_null, or "<postmaster>" if allow_postmaster.  The mailbox, without
 * brackets and source route, goes to out (SMTP_PATH_MAX + 1); *pp moves
 * past '>'; *eight says whether it holds non-ASCII (UTF-8, checked well
 * formed).  Bounds: RFC 5321 4.5.3.1.1-3. */
static int parse_path(const char **pp, bool allow_null, bool allow_postmaster, char *out, bool *eight)
{
	const unsigned char *p = (const unsigned char *)*pp;
	size_t n = strlen(*pp);
	size_t end = 0;
	bool quoted = false; /* a '>' may sit in a quoted local part */
	for (; end < n; end++) {
		if (quoted && p[end] == '\\' && end + 1 < n)
			end++;
		else if (p[end] == '"')
			quoted = !quoted;
		else if (!quoted && p[end] == '>')
			break;
	}
	if (!n || p[0] != '<' || end == n)
		return PATH_SYNTAX;
	if (end + 1 > SMTP_PATH_MAX)
		return PATH_LONG;
	*eight = false;
	size_t i = 1;
	if (end == 1) {
		if (!allow_null)
			return PATH_SYNTAX;
		out[0] = '\0';
		*pp += 2;
		return PATH_OK;
	}
	/* A-d-l: accepted and ignored (RFC 5321 4.1.1.3, C). */
	if (p[i] == '@') {
		for (;;) {
			size_t d = scan_domain(p + i + 1, end - i - 1, eight);
			if (!d)
				return PATH_SYNTAX;
			i += 1 + d;
			if (i + 1 < end && p[i] == ',' && p[i + 1] == '@') {
				i++;
				continue;
			}
			if (i < end && p[i] == ':') {
				i++;
				break;
			}
			return PATH_SYNTAX;
		}
	}
	size_t mstart = i;
	size_t l = scan_local(p + i, end - i, eight);
	if (!l)
		return PATH_SYNTAX;
	if (l > SMTP_LOCAL_MAX)
		return PATH_LONG;
	i += l;
	if (i == end && allow_postmaster && l == 10 && !strncasecmp((const char *)p + mstart, "postmaster", 10)) {
		/* RFC 5321 4.1.1.3: <postmaster> without a domain */
	} else {
		if (i >= end || p[i] != '@')
			return PATH_SYNTAX;
		i++;
		size_t d = scan_domain(p + i, end - i, eight);
		if (!d || i + d != end)
			return PATH_SYNTAX;
		if (d > SMTP_DOMAIN_MAX)
			return PATH_LONG;
		i += d;
	}
	memcpy(out, p + mstart, end - mstart);
	out[end - mstart] = '\0';
	*pp += end + 1;
	return PATH_OK;
}

/* ---- ESMTP parameters (RFC 5321 4.1.2 esmtp-param) ------------------- */

/* The next "keyword[=value]" at *pp, split in place; false at the end of
 * the line, *bad on a malformed one. */
static bool next_param(char **pp, char **key, char **val, bool *bad)
{
	char *p = *pp;
	while (*p == ' ')
		p++;
	if (!*p)
		return false;
	*key = p;
	if (!is_letdig((unsigned char)*p))
		*bad = true;
	while (*p && *p != ' ' && *p != '=') {
		if (!is_letdig((unsigned char)*p) && *p != '-')
			*bad = true;
		p++;
	}
	*val = NULL;
	if (*p == '=') {
		*p++ = '\0';
		*val = p;
		while (*p && *p != ' ') {
			if ((unsigned char)*p < 33 || *p == '=')
				*bad = true;
			p++;
		}
		if (p == *val)
			*bad = true;
	}
	if (*p)
		*p++ = '\0';
	*pp = p;
	return true;
}

/* At most 18 digits: an int64 without overflow. */
static bool parse_count(const char *v, int64_t *out)
{
	int64_t x = 0;
	size_t n = 0;
	for (; v[n]; n++) {
		if (v[n] < '0' || v[n] > '9' || n >= 18)
			return false;
		x = x * 10 + (v[n] - '0');
	}
	if (!n)
		return false;
	*out = x;
	return true;
}

/* ---- commands ------------------------------------------------------- */

static void cmd_hello(smtp_session *s, char *arg, bool ehlo)
{
	if (!arg) {
		proto_error(s, 501, "5.5.4", "Invalid domain name");
		return;
	}
	for (const unsigned char *p = (const unsigned char *)arg; *p; p++)
		if (*p >= 0x80) {
			proto_error(s, 501, "5.5.4", "Invalid domain name");
			return;
		}
	/* RFC 5321 4.1.4: a new EHLO ends any transaction. */
	txn_reset(s, true);
	s->helo = true;
	s->ehlo = ehlo;
	char hello[SMTP_REPLY_LINE_MAX];
	if (s->peer[0])
		snprintf(hello, sizeof hello, "%s Hello [%s]", s->cfg.hostname, s->peer);
	else
		snprintf(hello, sizeof hello, "%s Hello", s->cfg.hostname);
	if (!ehlo) {
		reply(s, 250, NULL, hello);
		return;
	}
	/* smtp.office365.com:587 (exchange-online.md, "Greeting and
	 * capabilities"): the same list before and after STARTTLS, except
	 * STARTTLS itself before and AUTH after, right after
	 * ENHANCEDSTATUSCODES. */
	bool auth_offered = (s->flags & SMTP_F_TLS) || s->cfg.no_starttls;
	char size[40];
	snprintf(size, sizeof size, "SIZE %lld", (long long)s->cfg.max_message_size);
	put_line(s, 250, true, NULL, hello);
	put_line(s, 250, true, NULL, size);
	put_line(s, 250, true, NULL, "PIPELINING");
	put_line(s, 250, true, NULL, "DSN");
	put_line(s, 250, true, NULL, "ENHANCEDSTATUSCODES");
	if (!(s->flags & SMTP_F_TLS) && !s->cfg.no_starttls)
		put_line(s, 250, true, NULL, "STARTTLS");
	if (auth_offered)
		put_line(s, 250, true, NULL,
			 s->cfg.plain == SMTP_PLAIN_ADVERTISED ? "AUTH LOGIN XOAUTH2 PLAIN" : "AUTH LOGIN XOAUTH2");
	put_line(s, 250, true, NULL, "8BITMIME");
	put_line(s, 250, true, NULL, "BINARYMIME");
	put_line(s, 250, true, NULL, "CHUNKING");
	put_line(s, 250, false, NULL, "SMTPUTF8");
}

static void finish_mail(smtp_session *s, const smtp_reply *r)
{
	if (caller_reply(s, r, 250, "2.1.0", "Sender OK", true))
		s->in_mail = true;
	else if (!(s->flags & SMTP_F_CLOSED))
		txn_reset(s, false);
}

static void cmd_mail(smtp_session *s, char *arg)
{
	if (!s->helo || s->in_mail) {
		bad_sequence(s);
		return;
	}
	/* Exchange Online refuses MAIL without AUTH here, not at RCPT
	 * (exchange-online.md, "Authentication replies"). */
	if (!(s->flags & SMTP_F_AUTHED)) {
		reply(s, 530, "5.7.57", "Client not authenticated to send mail");
		return;
	}
	if (!arg || strncasecmp(arg, "FROM:", 5)) {
		proto_error(s, 501, "5.5.4", "Syntax: MAIL FROM:<address>");
		return;
	}
	const char *p = arg + 5;
	while (*p == ' ')
		p++; /* liberal: "MAIL FROM: <a@b>" */
	bool eight = false;
	int rc = parse_path(&p, true, false, s->from, &eight);
	if (rc != PATH_OK) {
		s->from[0] = '\0';
		proto_error(s, 501, "5.1.7", rc == PATH_LONG ? "Address too long" : "Invalid address");
		return;
	}
	if (*p && *p != ' ') {
		s->from[0] = '\0';
		proto_error(s, 501, "5.1.7", "Invalid address");
		return;
	}
	int64_t size = -1;
	smtp_body body = SMTP_BODY_7BIT;
	bool utf8 = false, bad = false, unknown = false, seen_body = false, seen_ret = false,
	     seen_envid = false, seen_auth = false;
	char *q = (char *)p, *key, *val;
	while (next_param(&q, &key, &val, &bad)) {
		bool dup = false;
		if (!strcasecmp(key, "SIZE")) {
			dup = size >= 0;
			if (!val || !parse_count(val, &size))
				bad = true;
		} else if (!strcasecmp(key, "BODY")) {
			dup = seen_body;
			seen_body = true;
			if (val && !strcasecmp(val, "7BIT"))
				body = SMTP_BODY_7BIT;
			else if (val && !strcasecmp(val, "8BITMIME"))
				body = SMTP_BODY_8BITMIME;
			else if (val && !strcasecmp(val, "BINARYMIME"))
				body = SMTP_BODY_BINARYMIME;
			else
				bad = true;
		} else if (!strcasecmp(key, "SMTPUTF8")) {
			dup = utf8;
			utf8 = true;
			if (val)
				bad = true;
		} else if (!strcasecmp(key, "RET")) { /* RFC 3461 4.3 */
			dup = seen_ret;
			seen_ret = true;
			if (!val || (strcasecmp(val, "FULL") && strcasecmp(val, "HDRS")))
				bad = true;
		} else if (!strcasecmp(key, "ENVID")) { /* RFC 3461 4.4 */
			dup = seen_envid;
			seen_envid = true;
			if (!val || strlen(val) > 100)
				bad = true;
		} else if (!strcasecmp(key, "AUTH")) { /* RFC 4954 5 */
			dup = seen_auth;
			seen_auth = true;
			if (!val)
				bad = true;
		} else
			unknown = true;
		if (dup)
			bad = true;
	}
	const char *why = NULL;
	int code = 0;
	const char *enh = NULL;
	if (bad) {
		code = 501, enh = "5.5.4", why = "Invalid arguments";
	} else if (unknown || (!s->ehlo && q != p)) {
		/* RFC 5321 4.1.1.11: parameters not recognised, or given after HELO */
		code = 555, enh = "5.5.4", why = "MAIL FROM/RCPT TO parameters not recognized or not implemented";
	} else if (eight && !utf8) {
		/* RFC 6531 3.5 */
		code = 553, enh = "5.6.7", why = "Non-ASCII address requires SMTPUTF8";
	}
	if (code) {
		s->from[0] = '\0';
		proto_error(s, code, enh, why);
		return;
	}
	if (size > s->cfg.max_message_size) {
		/* RFC 1870 6.1 */
		s->from[0] = '\0';
		reply(s, 552, "5.3.4", "Message size exceeds fixed maximum message size");
		return;
	}
	s->env = (smtp_envelope){ .from = s->from, .declared_size = size, .body = body, .smtputf8 = utf8 };
	smtp_reply r = { 0 };
	if (s->cb.on_mail && s->cb.on_mail(s->cb.ctx, &s->env, &r) == SMTP_LATER) {
		s->waiting = W_MAIL;
		return;
	}
	finish_mail(s, &r);
}

static void finish_rcpt(smtp_session *s, const smtp_reply *r)
{
	if (caller_reply(s, r, 250, "2.1.5", "Recipient OK", true))
		s->env.recipients++;
}

static void cmd_rcpt(smtp_session *s, char *arg)
{
	if (!s->helo || !s->in_mail || s->data_begun) {
		bad_sequence(s);
		return;
	}
	if (!arg || strncasecmp(arg, "TO:", 3)) {
		proto_error(s, 501, "5.5.4", "Syntax: RCPT TO:<address>");
		return;
	}
	const char *p = arg + 3;
	while (*p == ' ')
		p++;
	char rcpt[SMTP_PATH_MAX + 1];
	bool eight = false;
	int rc = parse_path(&p, false, true, rcpt, &eight);
	if (rc != PATH_OK || (*p && *p != ' ')) {
		proto_error(s, 501, "5.1.3", rc == PATH_LONG ? "Address too long" : "Invalid address");
		return;
	}
	bool bad = false, unknown = false, seen_notify = false, seen_orcpt = false;
	char *q = (char *)p, *key, *val;
	while (next_param(&q, &key, &val, &bad)) {
		if (!strcasecmp(key, "NOTIFY")) { /* RFC 3461 4.1 */
			bad |= seen_notify || !val;
			seen_notify = true;
		} else if (!strcasecmp(key, "ORCPT")) { /* RFC 3461 4.2 */
			bad |= seen_orcpt || !val || strlen(val) > 500;
			seen_orcpt = true;
		} else
			unknown = true;
	}
	if (bad) {
		proto_error(s, 501, "5.5.4", "Invalid arguments");
		return;
	}
	if (unknown || (!s->ehlo && q != p)) {
		proto_error(s, 555, "5.5.4", "MAIL FROM/RCPT TO parameters not recognized or not implemented");
		return;
	}
	if (eight && !s->env.smtputf8) {
		proto_error(s, 553, "5.6.7", "Non-ASCII address requires SMTPUTF8");
		return;
	}
	if (s->cfg.max_recipients > 0 && s->env.recipients >= s->cfg.max_recipients) {
		/* RFC 5321 4.5.3.1.10 */
		reply(s, 452, "4.5.3", "Too many recipients");
		return;
	}
	smtp_reply r = { 0 };
	if (s->cb.on_rcpt && s->cb.on_rcpt(s->cb.ctx, &s->env, rcpt, &r) == SMTP_LATER) {
		s->waiting = W_RCPT;
		return;
	}
	finish_rcpt(s, &r);
}

static void finish_env_data(smtp_session *s, const smtp_reply *r)
{
	if (caller_reply(s, r, 0, NULL, NULL, false)) {
		s->data_begun = true;
		s->mode = MODE_DATA;
		s->dstate = D_BOL;
		s->env.size_bytes = 0;
		/* RFC 5321 4.3.2; no enhanced code on 3xx (RFC 2034 3) */
		reply(s, 354, NULL, "Start mail input; end with <CRLF>.<CRLF>");
	} else if (!(s->flags & SMTP_F_CLOSED))
		txn_reset(s, true);
}

static void cmd_data(smtp_session *s, char *arg)
{
	if (arg) {
		proto_error(s, 501, "5.5.4", "Syntax: DATA");
		return;
	}
	/* RFC 5321 3.3: DATA without an accepted MAIL and RCPT; RFC 3030 3:
	 * DATA after BDAT, or for a BINARYMIME message. */
	if (!s->helo || !s->in_mail || !s->env.recipients || s->data_begun ||
	    s->env.body == SMTP_BODY_BINARYMIME) {
		bad_sequence(s);
		return;
	}
	smtp_reply r = { 0 };
	if (s->cb.on_envelope && s->cb.on_envelope(s->cb.ctx, &s->env, &r) == SMTP_LATER) {
		s->waiting = W_ENV_DATA;
		return;
	}
	finish_env_data(s, &r);
}

static void end_of_message(smtp_session *s);

/* The chunk has been read: its reply, or the end of the message. */
static void chunk_end(smtp_session *s)
{
	s->mode = MODE_CMD;
	if (s->chunk_refused) {
		put_raw(s, s->deferred, s->deferred_len);
		s->chunk_refused = false;
		txn_reset(s, true);
		return;
	}
	if (s->oversize) {
		/* RFC 1870 6.3, RFC 3030 2 */
		reply(s, 552, "5.3.4", "Message size exceeds fixed maximum message size");
		txn_reset(s, true);
		return;
	}
	if (!s->bdat_last) {
		char text[64];
		snprintf(text, sizeof text, "%lld octets received", (long long)s->chunk_size);
		reply(s, 250, "2.0.0", text);
		return;
	}
	end_of_message(s);
}

/* Refuse the BDAT being read: its chunk is still read (and dropped), and
 * this reply comes after it (RFC 3030 2: the chunk always follows). */
static void refuse_chunk(smtp_session *s, int code, const char *enh, const char *text)
{
	s->deferred_len = format_line(s->deferred, code, false, enh, text);
	s->chunk_refused = true;
}

static void start_chunk(smtp_session *s)
{
	if (!s->chunk_refused && s->chunk_size > s->cfg.max_message_size - s->env.size_bytes)
		s->oversize = true;
	s->mode = MODE_CHUNK;
	if (s->chunk_left == 0)
		chunk_end(s);
}

static void finish_env_bdat(smtp_session *s, const smtp_reply *r)
{
	smtp_reply fixed = { 451, "4.3.0", "Requested action aborted: local error in processing" };
	int code = r ? r->code : 0;
	if (code == 0 || (code >= 200 && code < 400)) {
		s->data_begun = true;
		s->env.bdat = true;
		s->env.size_bytes = 0;
	} else {
		if (code > 599 || code < 200)
			r = &fixed;
		refuse_chunk(s, r->code, r->enhanced, r->text);
		if (r->code == 421) {
			/* the session ends now: the chunk is not worth reading */
			put_raw(s, s->deferred, s->deferred_len);
			drop_session(s);
			return;
		}
	}
	start_chunk(s);
}

static void cmd_bdat(smtp_session *s, char *arg)
{
	/* BDAT chunk-size [SP "LAST"] (RFC 3030 2) */
	char *sp = arg ? strchr(arg, ' ') : NULL;
	bool last = false;
	if (sp) {
		*sp = '\0';
		char *t = sp + 1;
		while (*t == ' ')
			t++;
		if (strncasecmp(t, "LAST", 4))
			t = NULL;
		else {
			t += 4;
			while (*t == ' ')
				t++;
		}
		if (!t || *t) {
			proto_error(s, 501, "5.5.4", "Syntax: BDAT chunk-size [LAST]");
			return;
		}
		last = true;
	}
	int64_t n;
	if (!arg || !parse_count(arg, &n)) {
		/* Without a size the chunk cannot be skipped: what follows is
		 * read as commands. */
		proto_error(s, 501, "5.5.4", "Syntax: BDAT chunk-size [LAST]");
		return;
	}
	s->chunk_size = s->chunk_left = n;
	s->bdat_last = last;
	s->chunk_refused = false;
	if (!s->ehlo || !s->in_mail || !s->env.recipients || (s->data_begun && !s->env.bdat)) {
		refuse_chunk(s, 503, "5.5.1", "Bad sequence of commands");
		start_chunk(s);
		return;
	}
	if (s->data_begun) {
		start_chunk(s);
		return;
	}
	smtp_reply r = { 0 };
	if (s->cb.on_envelope && s->cb.on_envelope(s->cb.ctx, &s->env, &r) == SMTP_LATER) {
		s->waiting = W_ENV_BDAT;
		return;
	}
	finish_env_bdat(s, &r);
}

static void finish_end(smtp_session *s, const smtp_reply *r)
{
	caller_reply(s, r, 250, "2.0.0", "OK", true);
	if (!(s->flags & SMTP_F_CLOSED))
		txn_reset(s, false);
}

static void end_of_message(smtp_session *s)
{
	s->mode = MODE_CMD;
	if (s->oversize) {
		reply(s, 552, "5.3.4", "Message size exceeds fixed maximum message size");
		txn_reset(s, true);
		return;
	}
	smtp_reply r = { 0 };
	if (s->cb.on_message_end(s->cb.ctx, &s->env, &r) == SMTP_LATER) {
		s->waiting = W_END;
		return;
	}
	finish_end(s, &r);
}

/* ---- AUTH (RFC 4954) ---------------------------------------------------- */

static void finish_auth(smtp_session *s, const smtp_reply *r)
{
	if (caller_reply(s, r, 235, "2.7.0", "Authentication successful", true))
		s->flags |= SMTP_F_AUTHED;
}

/* Hand the decoded credentials to the caller, then wipe them. */
static void call_auth(smtp_session *s, smtp_auth *a, unsigned char *buf, size_t len)
{
	smtp_reply r = { 0 };
	int rc = s->cb.on_auth(s->cb.ctx, a, &r);
	wipe(buf, len);
	wipe(s->login_user, sizeof s->login_user);
	if (rc == SMTP_LATER) {
		s->waiting = W_AUTH;
		return;
	}
	finish_auth(s, &r);
}

static void sasl_malformed(smtp_session *s, unsigned char *buf, size_t len)
{
	wipe(buf, len);
	wipe(s->login_user, sizeof s->login_user);
	proto_error(s, 501, "5.5.2", "Cannot decode response");
}

/* RFC 4616 2: [authzid] NUL authcid NUL passwd, authcid and passwd not
 * empty. */
static void sasl_plain(smtp_session *s, unsigned char *d, size_t n)
{
	unsigned char *z1 = memchr(d, 0, n);
	unsigned char *z2 = z1 ? memchr(z1 + 1, 0, n - (size_t)(z1 + 1 - d)) : NULL;
	if (!z2 || z2 == z1 + 1 || z2 + 1 == d + n || memchr(z2 + 1, 0, n - (size_t)(z2 + 1 - d))) {
		sasl_malformed(s, d, n);
		return;
	}
	d[n] = '\0';
	smtp_auth a = {
		.mech = SMTP_MECH_PLAIN,
		.authzid = (const char *)d, .authzid_len = (size_t)(z1 - d),
		.identity = (const char *)z1 + 1, .identity_len = (size_t)(z2 - z1 - 1),
		.secret = (const char *)z2 + 1, .secret_len = (size_t)(d + n - z2 - 1),
	};
	call_auth(s, &a, d, n + 1);
}

/* Microsoft's and Google's XOAUTH2: "user=" U ^A "auth=Bearer " T ^A ^A;
 * other key=value fields are ignored. */
static void sasl_xoauth2(smtp_session *s, unsigned char *d, size_t n)
{
	const char *user = NULL, *token = NULL;
	size_t user_len = 0, token_len = 0, i = 0;
	bool ok = !memchr(d, 0, n);
	while (ok) {
		if (i < n && d[i] == 0x01) {
			ok = i + 1 == n;
			break;
		}
		unsigned char *e = i < n ? memchr(d + i, 0x01, n - i) : NULL;
		if (!e) {
			ok = false;
			break;
		}
		*e = '\0';
		char *f = (char *)d + i;
		size_t flen = (size_t)(e - (d + i));
		if (flen >= 5 && !strncmp(f, "user=", 5)) {
			user = f + 5;
			user_len = flen - 5;
		} else if (flen >= 5 && !strncmp(f, "auth=", 5)) {
			if (flen < 12 || strncasecmp(f + 5, "Bearer ", 7))
				ok = false;
			token = f + 12;
			token_len = flen - 12;
		}
		i = (size_t)(e - d) + 1;
	}
	if (!ok || !user || !token || !user_len || !token_len) {
		sasl_malformed(s, d, n);
		return;
	}
	smtp_auth a = {
		.mech = SMTP_MECH_XOAUTH2, .authzid = "", .identity = user, .identity_len = user_len,
		.secret = token, .secret_len = token_len,
	};
	call_auth(s, &a, d, n);
}

/* A SASL response (initial or after 334) for the step s->sasl, base64 in
 * the line buffer at b64 (len octets), decoded in place. */
static void sasl_step(smtp_session *s, char *b64, size_t len)
{
	unsigned char *d = (unsigned char *)b64;
	long n = len == 1 && b64[0] == '=' ? 0 : smtp_base64_decode(b64, len, d);
	s->mode = MODE_CMD;
	if (n < 0) {
		/* RFC 4954 4: undecodable, 501 with 5.5.2 */
		sasl_malformed(s, d, len);
		return;
	}
	switch (s->sasl) {
	case SASL_PLAIN:
		sasl_plain(s, d, (size_t)n);
		return;
	case SASL_XOAUTH2:
		sasl_xoauth2(s, d, (size_t)n);
		return;
	case SASL_LOGIN_USER:
		if (!n || memchr(d, 0, (size_t)n) || (size_t)n >= sizeof s->login_user) {
			sasl_malformed(s, d, (size_t)n);
			return;
		}
		memcpy(s->login_user, d, (size_t)n);
		s->login_user[n] = '\0';
		wipe(d, (size_t)n);
		s->sasl = SASL_LOGIN_PASS;
		s->mode = MODE_SASL;
		reply(s, 334, NULL, "UGFzc3dvcmQ6"); /* "Password:" */
		return;
	case SASL_LOGIN_PASS: {
		if (!n || memchr(d, 0, (size_t)n)) {
			sasl_malformed(s, d, (size_t)n);
			return;
		}
		d[n] = '\0';
		smtp_auth a = {
			.mech = SMTP_MECH_LOGIN, .authzid = "", .identity = s->login_user,
			.identity_len = strlen(s->login_user), .secret = (const char *)d, .secret_len = (size_t)n,
		};
		call_auth(s, &a, d, (size_t)n);
		return;
	}
	}
}

static void sasl_response(smtp_session *s, char *line, size_t len)
{
	if (len == 1 && line[0] == '*') {
		/* RFC 4954 4: the client cancels */
		s->mode = MODE_CMD;
		wipe(s->login_user, sizeof s->login_user);
		proto_error(s, 501, "5.7.0", "Authentication cancelled");
		return;
	}
	sasl_step(s, line, len);
}

static void cmd_auth(smtp_session *s, char *arg)
{
	if (!s->ehlo) {
		bad_sequence(s);
		return;
	}
	/* AUTH is offered only after STARTTLS (exchange-online.md); RFC 3207
	 * 4's reply for a command that needs TLS first. */
	if (!(s->flags & SMTP_F_TLS) && !s->cfg.no_starttls) {
		reply(s, 530, "5.7.0", "Must issue a STARTTLS command first");
		return;
	}
	/* RFC 4954 4: not after a successful AUTH, not during a transaction */
	if ((s->flags & SMTP_F_AUTHED) || s->in_mail) {
		bad_sequence(s);
		return;
	}
	if (!arg) {
		proto_error(s, 501, "5.5.4", "Syntax: AUTH mechanism [initial-response]");
		return;
	}
	char *init = strchr(arg, ' ');
	if (init) {
		*init++ = '\0';
		if (!*init || strchr(init, ' ')) {
			proto_error(s, 501, "5.5.4", "Syntax: AUTH mechanism [initial-response]");
			return;
		}
	}
	if (!strcasecmp(arg, "PLAIN") && s->cfg.plain != SMTP_PLAIN_REFUSED)
		s->sasl = SASL_PLAIN;
	else if (!strcasecmp(arg, "LOGIN"))
		s->sasl = SASL_LOGIN_USER;
	else if (!strcasecmp(arg, "XOAUTH2"))
		s->sasl = SASL_XOAUTH2;
	else {
		/* RFC 4954 4 */
		proto_error(s, 504, "5.7.4", "Unrecognized authentication type");
		return;
	}
	if (init) {
		sasl_step(s, init, strlen(init));
		return;
	}
	s->mode = MODE_SASL;
	/* An empty challenge is "334 " (RFC 4954 4); LOGIN asks "Username:". */
	reply(s, 334, NULL, s->sasl == SASL_LOGIN_USER ? "VXNlcm5hbWU6" : "");
}

static void cmd_starttls(smtp_session *s, char *arg)
{
	if (s->cfg.no_starttls) {
		proto_error(s, 502, "5.5.1", "Command not implemented");
		return;
	}
	if (arg) {
		/* RFC 3207 4 */
		proto_error(s, 501, "5.5.4", "Syntax error (no parameters allowed)");
		return;
	}
	if (!s->ehlo || (s->flags & SMTP_F_TLS)) {
		bad_sequence(s);
		return;
	}
	reply(s, 220, "2.0.0", "SMTP server ready");
	txn_reset(s, true);
	s->flags |= SMTP_F_STARTTLS;
	s->mode = MODE_DROP;
}

/* A complete command line of len octets (its CR LF removed) in s->line. */
static void dispatch_line(smtp_session *s, size_t len)
{
	char *l = (char *)s->line;
	l[len] = '\0';
	if (s->mode == MODE_SASL) {
		sasl_response(s, l, len);
		return;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)l[i];
		if (c < 0x20 || c == 0x7f) {
			/* NUL and other controls: RFC 5321 2.4 commands are ASCII text */
			proto_error(s, 500, "5.5.2", "Syntax error, invalid character in command");
			return;
		}
	}
	while (len && l[len - 1] == ' ')
		l[--len] = '\0';
	char *arg = strchr(l, ' ');
	if (arg) {
		*arg++ = '\0';
		while (*arg == ' ')
			arg++;
		if (!*arg)
			arg = NULL;
	}
	static const struct {
		const char *verb;
		void (*fn)(smtp_session *, char *);
	} table[] = {
		{ "MAIL", cmd_mail }, { "RCPT", cmd_rcpt }, { "DATA", cmd_data }, { "BDAT", cmd_bdat },
		{ "AUTH", cmd_auth }, { "STARTTLS", cmd_starttls },
	};
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
		if (!strcasecmp(l, table[i].verb)) {
			table[i].fn(s, arg);
			return;
		}
	if (!strcasecmp(l, "EHLO") || !strcasecmp(l, "HELO"))
		cmd_hello(s, arg, l[0] == 'E' || l[0] == 'e');
	else if (!strcasecmp(l, "RSET")) {
		if (arg) {
			proto_error(s, 501, "5.5.4", "Syntax: RSET");
			return;
		}
		txn_reset(s, true);
		reply(s, 250, "2.0.0", "Resetting");
	} else if (!strcasecmp(l, "NOOP"))
		reply(s, 250, "2.0.0", "OK");
	else if (!strcasecmp(l, "QUIT")) {
		reply(s, 221, "2.0.0", "Service closing transmission channel");
		drop_session(s);
	} else if (!strcasecmp(l, "VRFY")) /* RFC 5321 3.5.3 */
		reply(s, 252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery");
	else if (!strcasecmp(l, "EXPN")) /* RFC 5321 3.5.2: may be disabled */
		proto_error(s, 502, "5.5.1", "Command not implemented");
	else if (!strcasecmp(l, "HELP")) {
		put_line(s, 214, true, "2.0.0", "This server supports the following commands:");
		reply(s, 214, "2.0.0", "HELO EHLO STARTTLS RCPT DATA RSET MAIL QUIT HELP AUTH BDAT NOOP");
	} else
		proto_error(s, 500, "5.5.1", "Unrecognized command");
}

/* ---- input ------------------------------------------------------------ */

static size_t line_bound(const smtp_session *s)
{
	if (s->mode == MODE_SASL ||
	    (s->line_len >= 5 && !strncasecmp((const char *)s->line, "AUTH ", 5)))
		return s->cfg.auth_line_max;
	return SMTP_LINE_MAX;
}

/* Appends to the command line up to its LF, at most one line.  A line is
 * at most its bound in octets with its terminator (RFC 5321 4.5.3.1.4);
 * the rest of a longer one is dropped and the line answered with 500. */
static size_t line_bytes(smtp_session *s, const unsigned char *p, size_t n)
{
	const unsigned char *lf = memchr(p, '\n', n);
	size_t take = lf ? (size_t)(lf - p) : n, off = 0;
	if (!s->discarding) {
		/* the octets before the LF: at most bound - 1; first up to the
		 * short bound, then (the line's verb now known) up to its own */
		for (int pass = 0; pass < 2 && off < take; pass++) {
			size_t cap = (pass ? line_bound(s) : SMTP_LINE_MAX) - 1;
			size_t k = cap > s->line_len ? cap - s->line_len : 0;
			if (k > take - off)
				k = take - off;
			memcpy(s->line + s->line_len, p + off, k);
			s->line_len += k;
			off += k;
		}
		if (off < take)
			s->discarding = true;
	}
	if (!lf)
		return n;
	size_t len = s->line_len;
	s->line_len = 0;
	if (s->discarding) {
		s->discarding = false;
		if (s->mode == MODE_SASL) {
			s->mode = MODE_CMD;
			wipe(s->line, sizeof s->line);
			wipe(s->login_user, sizeof s->login_user);
		}
		proto_error(s, 500, "5.5.2", "Line too long");
	} else {
		if (len && s->line[len - 1] == '\r')
			len--;
		dispatch_line(s, len);
	}
	return take + 1;
}

static void emit(smtp_session *s, const unsigned char *p, size_t n)
{
	if (!n || s->oversize || s->chunk_refused)
		return;
	int64_t room = s->cfg.max_message_size - s->env.size_bytes;
	if ((int64_t)n > room) {
		/* the octets up to the bound are passed on, so what on_data
		 * sees does not depend on how the input was split */
		if (room > 0 && s->cb.on_data)
			s->cb.on_data(s->cb.ctx, p, (size_t)room);
		s->env.size_bytes = s->cfg.max_message_size;
		s->oversize = true;
		return;
	}
	s->env.size_bytes += (int64_t)n;
	if (s->cb.on_data)
		s->cb.on_data(s->cb.ctx, p, n);
}

/* DATA: passes the message on, dot-unstuffed, up to CRLF.CRLF. */
static size_t data_bytes(smtp_session *s, const unsigned char *p, size_t n)
{
	size_t span = 0; /* p[span..i) is content not yet passed on */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];
		switch (s->dstate) {
		case D_BOL:
			if (c == '.') {
				emit(s, p + span, i - span);
				span = i + 1;
				s->dstate = D_DOT;
			} else
				s->dstate = c == '\r' ? D_CR : D_MID;
			break;
		case D_MID:
			if (c == '\r')
				s->dstate = D_CR;
			break;
		case D_CR:
			s->dstate = c == '\n' ? D_BOL : c == '\r' ? D_CR : D_MID;
			break;
		case D_DOT:
			/* RFC 5321 4.5.2: a leading dot with more on the line is
			 * deleted; c is content (span starts at it) */
			if (c == '\r') {
				span = i + 1;
				s->dstate = D_DOTCR;
			} else
				s->dstate = D_MID;
			break;
		case D_DOTCR:
			if (c == '\n') {
				end_of_message(s);
				return i + 1;
			}
			/* ".\r" then more: the dot deleted, the CR content */
			emit(s, (const unsigned char *)"\r", 1);
			span = i;
			s->dstate = c == '\r' ? D_CR : D_MID;
			break;
		}
	}
	emit(s, p + span, n - span);
	return n;
}

static size_t chunk_bytes(smtp_session *s, const unsigned char *p, size_t n)
{
	size_t k = (int64_t)n < s->chunk_left ? n : (size_t)s->chunk_left;
	emit(s, p, k);
	s->chunk_left -= (int64_t)k;
	if (s->chunk_left == 0)
		chunk_end(s);
	return k;
}

/* ---- the interface -------------------------------------------------- */

int smtp_init(smtp_session *s, const smtp_config *cfg, const smtp_callbacks *cb)
{
	smtp_config c = cfg ? *cfg : (smtp_config){ 0 };
	if (!c.hostname)
		c.hostname = "localhost";
	size_t hl = strlen(c.hostname);
	if (!hl || hl > 255)
		return SIM_EINVAL;
	for (size_t i = 0; i < hl; i++)
		if ((unsigned char)c.hostname[i] <= 32 || (unsigned char)c.hostname[i] >= 127)
			return SIM_EINVAL;
	if (!c.max_message_size)
		c.max_message_size = SMTP_SIZE_DEFAULT;
	if (!c.auth_line_max)
		c.auth_line_max = SMTP_AUTH_LINE_CAP;
	if (c.max_message_size < 0 || c.max_recipients < 0 || c.auth_line_max < SMTP_LINE_MAX ||
	    c.auth_line_max > SMTP_AUTH_LINE_CAP || (unsigned)c.plain > SMTP_PLAIN_REFUSED)
		return SIM_EINVAL;
	if (!c.max_errors)
		c.max_errors = MAX_ERRORS_DEFAULT;
	if (!cb || !cb->on_auth || !cb->on_message_end)
		return SIM_EINVAL;
	memset(s, 0, offsetof(smtp_session, line));
	s->cfg = c;
	s->cb = *cb;
	s->mode = MODE_DROP; /* until smtp_start */
	txn_reset(s, false);
	return SIM_OK;
}

void smtp_start(smtp_session *s, const char *peer, const char *date)
{
	size_t n = 0;
	for (; peer && peer[n] && n < sizeof s->peer - 1; n++)
		s->peer[n] = (unsigned char)peer[n] > 32 && (unsigned char)peer[n] < 127 && peer[n] != ']' ? peer[n] : '?';
	s->peer[n] = '\0';
	char text[SMTP_REPLY_LINE_MAX];
	/* exchange-online.md, "Greeting" */
	if (date)
		snprintf(text, sizeof text, "%s Microsoft ESMTP MAIL Service ready at %s", s->cfg.hostname, date);
	else
		snprintf(text, sizeof text, "%s Microsoft ESMTP MAIL Service ready", s->cfg.hostname);
	reply(s, 220, NULL, text);
	s->mode = MODE_CMD;
}

size_t smtp_feed(smtp_session *s, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i = 0;
	while (i < len && !s->waiting) {
		if (s->mode == MODE_DROP)
			return len; /* after STARTTLS or the end: never read */
		if (SMTP_OUT_CAP - s->out_len < SMTP_OUT_ROOM)
			break;
		switch (s->mode) {
		case MODE_CMD:
		case MODE_SASL:
			i += line_bytes(s, p + i, len - i);
			break;
		case MODE_DATA:
			i += data_bytes(s, p + i, len - i);
			break;
		case MODE_CHUNK:
			i += chunk_bytes(s, p + i, len - i);
			break;
		}
	}
	return i;
}

const char *smtp_output(const smtp_session *s, size_t *len)
{
	*len = s->out_len;
	return s->out;
}

void smtp_output_consume(smtp_session *s, size_t n)
{
	if (n > s->out_len)
		n = s->out_len;
	memmove(s->out, s->out + n, s->out_len - n);
	s->out_len -= n;
}

int smtp_answer(smtp_session *s, const smtp_reply *r)
{
	int w = s->waiting;
	if (w == W_NONE)
		return SIM_EINVAL;
	s->waiting = W_NONE;
	switch (w) {
	case W_AUTH:
		finish_auth(s, r);
		break;
	case W_MAIL:
		finish_mail(s, r);
		break;
	case W_RCPT:
		finish_rcpt(s, r);
		break;
	case W_ENV_DATA:
		finish_env_data(s, r);
		break;
	case W_ENV_BDAT:
		finish_env_bdat(s, r);
		break;
	case W_END:
		finish_end(s, r);
		break;
	}
	return SIM_OK;
}

int smtp_tls_started(smtp_session *s)
{
	if (!(s->flags & SMTP_F_STARTTLS) || (s->flags & SMTP_F_CLOSED))
		return SIM_EINVAL;
	/* RFC 3207 4.2: forget what the client said before TLS */
	s->flags = (s->flags & ~(SMTP_F_STARTTLS | SMTP_F_AUTHED)) | SMTP_F_TLS;
	s->helo = s->ehlo = false;
	s->line_len = 0;
	s->discarding = false;
	txn_reset(s, false);
	s->mode = MODE_CMD;
	return SIM_OK;
}

unsigned smtp_flags(const smtp_session *s)
{
	return s->flags | (s->waiting ? SMTP_F_WAITING : 0);
}
