/* load_conn.c - one SMTP client connection of `throttlesim load`: a
 * non-blocking socket on the loop, STARTTLS with OpenSSL (unless
 * --no-tls), EHLO, AUTH PLAIN, then per message MAIL, RCPT (one at a time),
 * DATA, the header and the body at once, and the final dot only when the
 * worker says the transfer time is over; QUIT at the end.  Every reply
 * goes to the worker (load_client.c), which decides what follows: this
 * file knows SMTP, not the client's rules.
 *
 * The body is generated, never held: lines of 78 'x' and CR LF (no line
 * starts with a dot, so nothing is stuffed), as many as make the
 * message's size to within a line.  TCP_NODELAY: a command is one small
 * write, and Nagle's algorithm with delayed ACKs would hold it ~40 ms of
 * wall time, seconds of model time at a large --time-scale.
 */
#include "load_int.h"

#include <errno.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>

#define LD_LINE 80   /* a body line: 78 octets and CR LF */

static void io_cb(ev_loop *l, ev_io *w, unsigned events);

static ld *gen_of(ld_worker *wk)
{
	return wk->inst->g;
}

void ld_conn_close(ld_worker *wk)
{
	ld_conn *c = &wk->conn;
	if (c->state == LC_NONE)
		return;
	if (c->io_started)
		ev_io_stop(gen_of(wk)->loop, &c->io);
	if (c->ssl)
		SSL_free(c->ssl);
	close(c->fd);
	memset(c, 0, sizeof *c);
	c->fd = -1;
	wk->conn_gen++;
}

/* The connection failed or closed with nothing to tell but that. */
static void lost(ld_worker *wk, const char *why)
{
	ld_conn_close(wk);
	ld_on_lost(wk, why);
}

static void set_interest(ld_worker *wk)
{
	ld_conn *c = &wk->conn;
	unsigned mask = EV_READ;
	bool body = c->state == LC_BODY && (c->hdr_off < c->hdr_len || c->body_left > 0 || c->dot_due);
	if (c->state == LC_CONNECTING || c->out_off < c->out_len || body || c->ssl_want == EV_WRITE)
		mask |= EV_WRITE;
	if (c->state == LC_CONNECTING)
		mask = EV_WRITE;
	ev_io_set(gen_of(wk)->loop, &c->io, mask);
}

static void queue(ld_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void queue(ld_conn *c, const char *fmt, ...)
{
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(c->out + c->out_len, sizeof c->out - c->out_len, fmt, ap);
	va_end(ap);
	if (n > 0)
		c->out_len += (size_t)n < sizeof c->out - c->out_len ? (size_t)n : sizeof c->out - c->out_len - 1;
}

/* Write up to n octets: the count, 0 when the socket is full (want set),
 * -1 when the connection failed. */
static ssize_t raw_write(ld_conn *c, const void *p, size_t n)
{
	if (c->ssl) {
		ERR_clear_error();
		int r = SSL_write(c->ssl, p, (int)(n > INT32_MAX ? INT32_MAX : n));
		if (r > 0) {
			c->ssl_want = 0;
			return r;
		}
		int e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
			c->ssl_want = e == SSL_ERROR_WANT_WRITE ? EV_WRITE : EV_READ;
			return 0;
		}
		return -1;
	}
	ssize_t r = send(c->fd, p, n, MSG_NOSIGNAL);
	if (r >= 0)
		return r;
	return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
}

/* What the body is made of: whole lines of 'x'. */
static const char *filler(void)
{
	static char buf[200 * LD_LINE];
	static bool made;
	if (!made) {
		for (size_t i = 0; i < sizeof buf; i += LD_LINE) {
			memset(buf + i, 'x', LD_LINE - 2);
			buf[i + LD_LINE - 2] = '\r';
			buf[i + LD_LINE - 1] = '\n';
		}
		made = true;
	}
	return buf;
}

/* Writes what is queued, then the message (header, body, and the dot
 * once due).  false: the connection failed (closed, the worker told). */
static bool flush(ld_worker *wk)
{
	ld_conn *c = &wk->conn;
	for (;;) {
		const char *p;
		size_t n;
		if (c->out_off < c->out_len) {
			p = c->out + c->out_off;
			n = c->out_len - c->out_off;
		} else if (c->state == LC_BODY && c->hdr_off < c->hdr_len) {
			p = c->hdr + c->hdr_off;
			n = c->hdr_len - c->hdr_off;
		} else if (c->state == LC_BODY && c->body_left > 0) {
			p = filler();
			n = c->body_left < (int64_t)(200 * LD_LINE) ? (size_t)c->body_left : 200 * LD_LINE;
		} else if (c->state == LC_BODY && c->dot_due) {
			queue(c, ".\r\n");
			c->state = LC_EOD;
			continue;
		} else {
			return true;
		}
		ssize_t r = raw_write(c, p, n);
		if (r < 0) {
			lost(wk, "write failed");
			return false;
		}
		if (r == 0)
			return true;
		if (c->out_off < c->out_len)
			c->out_off += (size_t)r;
		else if (c->hdr_off < c->hdr_len)
			c->hdr_off += (size_t)r;
		else
			c->body_left -= r;
	}
}

static void send_rcpt(ld_worker *wk, const char *domain)
{
	ld_conn *c = &wk->conn;
	int64_t k = c->rcpt_sent++;
	/* internal recipients first, at the mailbox's domain; then external */
	if (k < c->rcpt_total - c->rcpt_ext)
		queue(c, "RCPT TO:<r%lld@%s>\r\n", (long long)k, domain);
	else
		queue(c, "RCPT TO:<x%lld@load.example>\r\n", (long long)k);
}

/* The domain of the worker's mailbox (recipients there are internal). */
static const char *mbx_domain(ld_worker *wk)
{
	const char *name = gen_of(wk)->s->mailboxes[wk->mailbox].name;
	const char *at = strchr(name, '@');
	return at ? at + 1 : "load.example";
}

static bool start_tls(ld_worker *wk)
{
	ld *g = gen_of(wk);
	ld_conn *c = &wk->conn;
	c->ssl = SSL_new(g->tls);
	if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1)
		return false;
	SSL_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (g->host[0] && strspn(g->host, "0123456789.:") != strlen(g->host))
		SSL_set_tlsext_host_name(c->ssl, g->host);
	if (g->verify) {
		X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);
		if (strspn(g->host, "0123456789.:") == strlen(g->host))
			X509_VERIFY_PARAM_set1_ip_asc(vp, g->host);
		else
			SSL_set1_host(c->ssl, g->host);
	}
	SSL_set_connect_state(c->ssl);
	c->state = LC_HANDSHAKE;
	c->in_len = 0; /* nothing said in clear after STARTTLS counts (RFC 3207) */
	return true;
}

/* One complete reply (its last line in c->line, its code). */
static void on_reply_line(ld_worker *wk, int code)
{
	ld *g = gen_of(wk);
	ld_conn *c = &wk->conn;
	switch (c->state) {
	case LC_GREETING:
		if (code != 220)
			return lost(wk, "no 220 greeting");
		queue(c, "EHLO load.throttlesim\r\n");
		c->state = LC_EHLO;
		return;
	case LC_EHLO:
	case LC_EHLO_TLS:
		if (code != 250)
			return lost(wk, "EHLO refused");
		if (c->state == LC_EHLO && g->tls) {
			queue(c, "STARTTLS\r\n");
			c->state = LC_STARTTLS;
			return;
		}
		c->state = LC_READY;
		ld_on_ready(wk);
		return;
	case LC_STARTTLS:
		if (code != 220 || !start_tls(wk))
			return lost(wk, "STARTTLS refused");
		return;
	case LC_AUTH:
		c->state = code == 235 ? LC_OPEN : LC_READY;
		ld_on_auth(wk, code);
		return;
	case LC_MAIL:
	case LC_RCPT:
		if (code / 100 != 2) {
			c->state = LC_OPEN;
			ld_on_envelope(wk, code);
			return;
		}
		if (c->rcpt_sent < c->rcpt_total) {
			send_rcpt(wk, mbx_domain(wk));
			c->state = LC_RCPT;
			return;
		}
		queue(c, "DATA\r\n");
		c->state = LC_DATA;
		return;
	case LC_DATA:
		if (code == 354) {
			c->state = LC_BODY;
			c->hdr_off = 0;
		} else {
			c->state = LC_OPEN;
		}
		ld_on_envelope(wk, code);
		return;
	case LC_EOD:
		c->state = LC_OPEN;
		ld_on_reply(wk, code);
		return;
	default:
		/* a reply nobody asked for: the server closing (421 at its idle
		 * timeout or shutdown) */
		return lost(wk, "unexpected reply");
	}
}

/* Splits what was read into lines; a reply ends at "ddd " (or "ddd"). */
static void parse(ld_worker *wk)
{
	ld_conn *c = &wk->conn;
	size_t start = 0;
	for (size_t i = 0; i < c->in_len; i++) {
		if (c->in[i] != '\n')
			continue;
		size_t n = i - start;
		if (n > 0 && c->in[start + n - 1] == '\r')
			n--;
		const char *ln = c->in + start;
		start = i + 1;
		if (n < 3 || ln[0] < '2' || ln[0] > '5')
			continue;
		if (n > 3 && ln[3] == '-')
			continue;
		size_t k = n < sizeof c->line - 1 ? n : sizeof c->line - 1;
		memcpy(c->line, ln, k);
		c->line[k] = 0;
		int code = (ln[0] - '0') * 100 + (ln[1] - '0') * 10 + (ln[2] - '0');
		uint8_t before = c->state;
		uint32_t gen = wk->conn_gen;
		on_reply_line(wk, code);
		if (wk->conn_gen != gen)
			return;  /* closed (maybe reopened) by the worker */
		if (before == LC_STARTTLS)
			return;  /* start_tls dropped the rest */
	}
	memmove(c->in, c->in + start, c->in_len - start);
	c->in_len -= start;
	if (c->in_len == sizeof c->in)
		c->in_len = 0; /* a line longer than the buffer: dropped */
}

/* Reads what is there (TLS: and what OpenSSL holds).  false: closed. */
static bool do_read(ld_worker *wk)
{
	ld_conn *c = &wk->conn;
	for (;;) {
		if (c->state == LC_NONE || c->state == LC_HANDSHAKE)
			return c->state != LC_NONE;
		ssize_t r;
		uint32_t gen = wk->conn_gen;
		if (c->ssl) {
			ERR_clear_error();
			int n = SSL_read(c->ssl, c->in + c->in_len, (int)(sizeof c->in - c->in_len));
			if (n <= 0) {
				int e = SSL_get_error(c->ssl, n);
				if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
					c->ssl_want = e == SSL_ERROR_WANT_WRITE ? EV_WRITE : 0;
					return true;
				}
				lost(wk, e == SSL_ERROR_ZERO_RETURN ? "closed by the server" : "TLS read failed");
				return false;
			}
			r = n;
		} else {
			r = recv(c->fd, c->in + c->in_len, sizeof c->in - c->in_len, 0);
			if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
				return true;
			if (r <= 0) {
				lost(wk, r == 0 ? "closed by the server" : "read failed");
				return false;
			}
		}
		c->in_len += (size_t)r;
		parse(wk);
		if (wk->conn_gen != gen)
			return false;
		if (!c->ssl && (size_t)r < sizeof c->in)
			return true; /* level-triggered: the loop says when there is more */
	}
}

static bool handshake(ld_worker *wk)
{
	ld_conn *c = &wk->conn;
	ERR_clear_error();
	int r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		c->ssl_want = 0;
		c->state = LC_EHLO_TLS;
		queue(c, "EHLO load.throttlesim\r\n");
		return true;
	}
	int e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		c->ssl_want = e == SSL_ERROR_WANT_WRITE ? EV_WRITE : 0;
		return true;
	}
	char why[160];
	snprintf(why, sizeof why, "TLS handshake failed: %s", ERR_reason_error_string(ERR_peek_last_error())
		 ? ERR_reason_error_string(ERR_peek_last_error()) : "closed");
	lost(wk, why);
	return false;
}

static void io_cb(ev_loop *l, ev_io *w, unsigned events)
{
	(void)l;
	ld_worker *wk = w->arg;
	ld_conn *c = &wk->conn;
	uint32_t gen = wk->conn_gen;
	if (c->state == LC_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof err;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
			char why[160];
			snprintf(why, sizeof why, "connect: %s", strerror(err ? err : errno));
			lost(wk, why);
			return;
		}
		c->state = LC_GREETING;
		set_interest(wk);
		return;
	}
	if (c->state == LC_HANDSHAKE) {
		if (!handshake(wk))
			return;
		if (c->state == LC_HANDSHAKE) {
			ev_io_set(gen_of(wk)->loop, &c->io, c->ssl_want == EV_WRITE ? EV_WRITE : EV_READ);
			return;
		}
	}
	if (!flush(wk))
		return;
	if ((events & EV_READ) || c->ssl) {
		if (!do_read(wk))
			return;
	}
	if (wk->conn_gen != gen)
		return;
	if (c->state == LC_HANDSHAKE) {
		/* STARTTLS was just answered: the client speaks first */
		if (!handshake(wk))
			return;
		if (c->state == LC_HANDSHAKE) {
			ev_io_set(gen_of(wk)->loop, &c->io, c->ssl_want == EV_WRITE ? EV_WRITE : EV_READ);
			return;
		}
	}
	if (!flush(wk))
		return;
	set_interest(wk);
}

int ld_conn_open(ld_worker *wk)
{
	ld *g = gen_of(wk);
	ld_conn *c = &wk->conn;
	memset(c, 0, sizeof *c);
	wk->conn_gen++;
	c->fd = socket(g->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return SIM_EIO;
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(c->fd, (struct sockaddr *)&g->addr, g->addr_len) != 0 && errno != EINPROGRESS) {
		close(c->fd);
		c->fd = -1;
		return SIM_EIO;
	}
	c->state = LC_CONNECTING;
	if (ev_io_start(g->loop, &c->io, c->fd, EV_WRITE, io_cb, wk) != SIM_OK) {
		close(c->fd);
		memset(c, 0, sizeof *c);
		c->fd = -1;
		return SIM_EIO;
	}
	c->io_started = true;
	return SIM_OK;
}

/* Writes now what was queued (the loop would on its next pass; now keeps
 * the model instant of the command as close as it can be). */
static void kick(ld_worker *wk)
{
	if (!flush(wk))
		return;
	set_interest(wk);
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t base64(const unsigned char *in, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) |
			     (i + 2 < n ? in[i + 2] : 0);
		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	out[o] = 0;
	return o;
}

void ld_conn_auth(ld_worker *wk, const char *user, const char *password)
{
	ld_conn *c = &wk->conn;
	unsigned char raw[600];
	size_t un = strlen(user), pn = strlen(password);
	if (un > 255)
		un = 255;
	if (pn > 255)
		pn = 255;
	/* PLAIN: authzid NUL authcid NUL passwd (RFC 4616), no authzid */
	raw[0] = 0;
	memcpy(raw + 1, user, un);
	raw[1 + un] = 0;
	memcpy(raw + 2 + un, password, pn);
	char enc[820];
	base64(raw, 2 + un + pn, enc);
	queue(c, "AUTH PLAIN %s\r\n", enc);
	c->state = LC_AUTH;
	kick(wk);
}

void ld_conn_message(ld_worker *wk, const char *from, const char *from_hdr, int64_t rcpt_internal,
		     int64_t rcpt_external, const char *domain, int64_t size, const char *msgid)
{
	(void)domain;
	ld_conn *c = &wk->conn;
	c->rcpt_total = rcpt_internal + rcpt_external;
	c->rcpt_sent = 0;
	c->dot_due = false;
	int h = snprintf(c->hdr, sizeof c->hdr,
			 "From: <%s>\r\nTo: <r0@%s>\r\nSubject: throttlesim load\r\nMessage-ID: <%s>\r\n"
			 "X-Load-Size: %lld\r\n\r\n", from_hdr, mbx_domain(wk), msgid, (long long)size);
	c->hdr_len = h > 0 && (size_t)h < sizeof c->hdr ? (size_t)h : 0;
	int64_t rest = size - (int64_t)c->hdr_len;
	c->body_left = rest > 0 ? rest / LD_LINE * LD_LINE : 0;
	c->hdr_off = 0;
	c->rcpt_ext = rcpt_external;
	queue(c, "MAIL FROM:<%s> SIZE=%lld\r\n", from, (long long)(c->hdr_len + (size_t)c->body_left));
	c->state = LC_MAIL;
	kick(wk);
}

void ld_conn_end_data(ld_worker *wk)
{
	ld_conn *c = &wk->conn;
	if (c->state != LC_BODY)
		return;
	c->dot_due = true;
	kick(wk);
}

void ld_conn_quit(ld_worker *wk)
{
	ld_conn *c = &wk->conn;
	if (c->state == LC_NONE)
		return;
	if (c->state >= LC_READY && c->state != LC_BODY) {
		static const char q[] = "QUIT\r\n";
		if (c->out_off == c->out_len)
			(void)raw_write(c, q, sizeof q - 1);
	}
	ld_conn_close(wk);
}
