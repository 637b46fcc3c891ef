/* serve.c - `throttlesim serve SCENARIO`: the scenario's rules behind a real
 * SMTP listener, in wall-clock time (or K times faster).  This file owns
 * the sockets: the listener, each connection's reads and writes (in clear
 * or through TLS after STARTTLS), its timeouts, and stopping on SIGINT or
 * SIGTERM.  The SMTP layer (smtp_proto.h) speaks the protocol and the
 * model (serve_model.c over models/service.h) decides; docs/SERVE.md is the
 * user's guide.
 *
 * One connection's life, all on one event loop (evloop.h):
 *   accept  -> 220 greeting queued, idle and total timers started
 *   readable-> read one buffer (clear or TLS) and pump
 *   pump    -> write what is queued; on STARTTLS, once the 220 is out, the
 *              handshake; feed the input to the SMTP layer while it reads
 *              (it stops for an answer the model holds, for output room,
 *              or after 221/421); ask the loop for read interest only when
 *              the layer can take more, and write interest only while a
 *              write is blocked.  A client that pipelines without reading
 *              therefore stops being read (bounded memory), and one that
 *              stops reading stops being written to until its idle timer
 *              closes it.
 * Nothing a client sends is read before the previous command's reply is
 * decided, so a held (tarpit) reply holds that client only.  Each read is
 * one buffer, each pump at most a bounded number of rounds: no client
 * starves the others.
 */
#define _GNU_SOURCE  /* accept4 */
#include "serve_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "exit.h"
#include "scn_load.h"
#include "term.h"
#include "token.h"
#include "units.h"

#define SRV_DEFAULT_LISTEN "127.0.0.1:2587"
#define SRV_ACCEPT_BATCH 64      /* connections accepted per readable listener */
#define SRV_PUMP_ROUNDS 32       /* rounds of write/feed/read per pump */
#define SRV_EMFILE_PAUSE_NS (100 * 1000000LL)

static const char serve_usage[] =
"usage: throttlesim serve SCENARIO [options]\n"
"\n"
"Runs SCENARIO's tenant, mailboxes, limits and assumptions behind a real SMTP\n"
"listener (a sink: nothing is ever relayed).  Real clients are the senders.\n"
"\n"
"options:\n"
"  --listen ADDR:PORT     where to listen (default " SRV_DEFAULT_LISTEN "; port 0: any free\n"
"                         port).  Only loopback unless given explicitly.\n"
"  --time-scale K         the model's clock runs K times faster than the wall clock\n"
"                         (1 to 1000000; \"60\", \"2.5\" or \"1000/3\"; default 1)\n"
"  --record FILE          write every session, command and reply as JSON lines\n"
"  --db FILE              on SIGINT/SIGTERM, store the run's figures here (default\n"
"                         throttlesim.db, as run)\n"
"  --variant NAME         serve the scenario's variant NAME (default: the base)\n"
"  --seed N               the seed of the transient faults (default: the scenario's)\n"
"  --hostname NAME        the name in the greeting (default: smtp.office365.com)\n"
"  --cert FILE --key FILE TLS certificate chain and key (PEM; default: a self-signed\n"
"                         certificate made at start)\n"
"  --write-cert FILE      write the certificate in use (PEM), for clients to trust\n"
"  --token-key FILE       the key XOAUTH2 tokens are checked with (see `throttlesim\n"
"                         token`; default throttlesim-token.key, created if missing)\n"
"  --no-tls               no STARTTLS: AUTH offered in clear (loopback tests only)\n"
"  --auth-plain MODE      AUTH PLAIN: accepted (default: taken, not advertised, as\n"
"                         Exchange Online's list is AUTH LOGIN XOAUTH2), advertised,\n"
"                         or refused (504 5.7.4)\n"
"  --max-connections N    open connections at most (default 4096); more get 421\n"
"  --idle-timeout D       close a client silent for D (wall time; default 5m)\n"
"  --session-timeout D    close a session after D in all (wall time; default 1h)\n"
"  --live                 a live view per mailbox on standard error, every second\n"
"  --control PATH         a UNIX socket answering GET /status with the state as JSON\n"
"                         (curl --unix-socket PATH http://serve/status)\n"
"  --quiet, -q            print only the listening address and errors\n"
"  -h, --help             this text\n";

enum {
	O_LISTEN, O_SCALE, O_RECORD, O_DB, O_VARIANT, O_SEED, O_HOST, O_CERT, O_KEY, O_WRITE_CERT,
	O_TOKEN_KEY, O_NO_TLS, O_MAXC, O_IDLE, O_LIFE, O_LIVE, O_QUIET, O_CONTROL, O_PLAIN
};

static const cli_opt serve_opts[] = {
	{ "--listen", NULL, true, O_LISTEN }, { "--time-scale", NULL, true, O_SCALE },
	{ "--record", NULL, true, O_RECORD }, { "--db", NULL, true, O_DB },
	{ "--variant", NULL, true, O_VARIANT }, { "--seed", NULL, true, O_SEED },
	{ "--hostname", NULL, true, O_HOST }, { "--cert", NULL, true, O_CERT },
	{ "--key", NULL, true, O_KEY }, { "--write-cert", NULL, true, O_WRITE_CERT },
	{ "--token-key", NULL, true, O_TOKEN_KEY }, { "--no-tls", NULL, false, O_NO_TLS },
	{ "--max-connections", NULL, true, O_MAXC }, { "--idle-timeout", NULL, true, O_IDLE },
	{ "--session-timeout", NULL, true, O_LIFE }, { "--live", NULL, false, O_LIVE },
	{ "--quiet", "-q", false, O_QUIET }, { "--control", NULL, true, O_CONTROL },
	{ "--auth-plain", NULL, true, O_PLAIN },
};

typedef struct serve_args {
	const char *path, *listen, *record, *db, *variant, *host, *cert, *key, *write_cert, *token_key, *control;
	ev_scale scale;
	bool have_seed, no_tls, live, quiet;
	smtp_plain plain;
	uint64_t seed;
	int64_t max_conns, idle_ns, life_ns;
} serve_args;

static int serve_arg(void *ctx, int id, const char *opt, const char *val)
{
	serve_args *a = ctx;
	char err[128];
	int64_t v;
	switch (id) {
	case CLI_ARG:
		if (a->path) {
			term_eprintf("throttlesim serve: unexpected argument '%s' (one scenario)\n", val);
			return -1;
		}
		a->path = val;
		return 0;
	case O_LISTEN: a->listen = val; return 0;
	case O_SCALE:
		return cli_time_scale("serve", val, &a->scale);
	case O_RECORD: a->record = val; return 0;
	case O_DB: a->db = val; return 0;
	case O_VARIANT: a->variant = val; return 0;
	case O_SEED:
		if (cli_parse_int("serve", opt, val, 0, INT64_MAX, &v) != 0)
			return -1;
		a->seed = (uint64_t)v;
		a->have_seed = true;
		return 0;
	case O_HOST: a->host = val; return 0;
	case O_CERT: a->cert = val; return 0;
	case O_KEY: a->key = val; return 0;
	case O_WRITE_CERT: a->write_cert = val; return 0;
	case O_TOKEN_KEY: a->token_key = val; return 0;
	case O_NO_TLS: a->no_tls = true; return 0;
	case O_MAXC:
		return cli_parse_int("serve", opt, val, 1, 1000000, &a->max_conns);
	case O_IDLE:
	case O_LIFE:
		if (unit_parse_duration(val, &v, err, sizeof err) != SIM_OK || v < 0) {
			term_eprintf("throttlesim serve: %s: expected a duration such as 30s or 5m, got '%s'\n",
				     opt, val);
			return -1;
		}
		*(id == O_IDLE ? &a->idle_ns : &a->life_ns) = v;
		return 0;
	case O_LIVE: a->live = true; return 0;
	case O_QUIET: a->quiet = true; return 0;
	case O_CONTROL: a->control = val; return 0;
	case O_PLAIN: {
		static const char *const modes[] = { "accepted", "advertised", "refused", NULL };
		int k = cli_choice("serve", opt, val, modes);
		if (k < 0)
			return -1;
		a->plain = (smtp_plain)k;  /* in smtp_plain's order */
		return 0;
	}
	}
	return -1;
}

/* ---- logging ------------------------------------------------------------------ */

void srv_log(serve *srv, const char *fmt, ...)
{
	if (srv->quiet)
		return;
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	term_eprintf("serve: %s\n", buf);
}

/* ---- connections ------------------------------------------------------------------ */

static void conn_io(ev_loop *l, ev_io *w, unsigned events);
static void conn_timeout(ev_loop *l, ev_timer *t);
static void conn_kick_cb(ev_loop *l, ev_timer *t);

static void conn_free(srv_conn *c)
{
	serve *srv = c->srv;
	srv_conn_lost(c);
	ev_io_stop(srv->loop, &c->io);
	ev_timer_stop(srv->loop, &c->idle);
	ev_timer_stop(srv->loop, &c->life);
	ev_timer_stop(srv->loop, &c->kick);
	if (c->tls)
		tls_conn_free(c->tls);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	srv->n_conns--;
	free(c);
}

static void conn_close(srv_conn *c, const char *why)
{
	rec_close(c->srv, c, why);
	conn_free(c);
}

void srv_kick(srv_conn *c)
{
	if (!ev_timer_pending(&c->kick))
		ev_timer_start(c->srv->loop, &c->kick, ev_now(c->srv->loop), conn_kick_cb, c);
}

static void conn_kick_cb(ev_loop *l, ev_timer *t)
{
	(void)l;
	srv_pump(t->arg);
}

/* Write what the SMTP layer queued: true while the connection lives. */
static bool conn_flush(srv_conn *c)
{
	for (;;) {
		size_t len;
		const char *p = smtp_output(&c->smtp, &len);
		if (len == 0) {
			c->write_blocked = false;
			return true;
		}
		ssize_t n;
		if (c->tls_state == 2) {
			int want = 0;
			n = tls_write(c->tls, p, len, &want);
			if (n < 0 && (want == TLS_WANT_READ || want == TLS_WANT_WRITE)) {
				c->write_blocked = true;
				c->tls_want = want;
				return true;
			}
		} else {
			n = send(c->fd, p, len, MSG_NOSIGNAL);
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
				c->write_blocked = errno != EINTR;
				if (c->write_blocked)
					return true;
				continue;
			}
		}
		if (n <= 0) {
			conn_close(c, "write failed");
			return false;
		}
		smtp_output_consume(&c->smtp, (size_t)n);
	}
}

/* Read one buffer: > 0 bytes, 0 nothing now, -1 closed (c is freed). */
static ssize_t conn_read(srv_conn *c)
{
	size_t room = sizeof c->in - c->in_len;
	if (room == 0)
		return 0;
	ssize_t n;
	if (c->tls_state == 2) {
		int want = 0;
		n = tls_read(c->tls, c->in + c->in_len, room, &want);
		if (n < 0 && (want == TLS_WANT_READ || want == TLS_WANT_WRITE)) {
			c->tls_want = want;
			return 0;
		}
		c->tls_want = 0;
	} else {
		n = recv(c->fd, c->in + c->in_len, room, 0);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return 0;
	}
	if (n <= 0) {
		conn_close(c, n == 0 ? "client closed" : "read failed");
		return -1;
	}
	c->in_len += (size_t)n;
	c->last_read_wall = ev_now(c->srv->loop);
	return n;
}

/* The TLS handshake, one step: 1 done, 0 waiting, -1 closed (c is freed). */
static int conn_handshake(srv_conn *c)
{
	serve *srv = c->srv;
	if (c->tls_state == 0) {
		if (tls_conn_new(srv->tls, c->fd, &c->tls) != TLS_OK) {
			conn_close(c, "TLS session could not be made");
			return -1;
		}
		c->tls_state = 1;
	}
	int st = tls_handshake(c->tls);
	if (st == TLS_WANT_READ || st == TLS_WANT_WRITE) {
		c->tls_want = st == TLS_WANT_READ ? EV_READ : EV_WRITE;
		return 0;
	}
	if (st != TLS_OK) {
		/* garbage, a version or cipher nobody shares, a client that gave
		 * up: there is no SMTP to answer in any more */
		rec_tls(srv, c, NULL);
		conn_close(c, "TLS handshake failed");
		return -1;
	}
	c->tls_state = 2;
	c->tls_want = 0;
	smtp_tls_started(&c->smtp);
	rec_tls(srv, c, tls_version_name(tls_version(c->tls)));
	return 1;
}

/* Write, hand-shake, feed and read until the connection waits for
 * something; c may be freed (conn_close) on the way. */
void srv_pump(srv_conn *c)
{
	serve *srv = c->srv;
	int round;
	for (round = 0; round < SRV_PUMP_ROUNDS; round++) {
		if (!conn_flush(c))
			return;
		size_t out_len;
		smtp_output(&c->smtp, &out_len);
		unsigned f = smtp_flags(&c->smtp);
		if (out_len > 0)
			break;  /* wait until the client reads */
		if (c->closing || (f & SMTP_F_CLOSED)) {
			conn_close(c, c->closing ? "closed by the server" : "session ended");
			return;
		}
		if (c->tls_state == 1 || ((f & SMTP_F_STARTTLS) && c->tls_state == 0)) {
			c->in_len = 0;  /* plaintext behind STARTTLS: the layer dropped it */
			if (!srv->tls) {
				conn_close(c, "STARTTLS without TLS");
				return;
			}
			int hs = conn_handshake(c);
			if (hs < 0)
				return;
			if (hs == 0)
				break;
			continue;
		}
		if (f & SMTP_F_WAITING) {
			if (c->drop_after) {
				/* a reply that drops the connection: answered after the
				 * feed stopped, so nothing pipelined behind it is read */
				smtp_reply r = { c->pend_code, c->pend_enh[0] ? c->pend_enh : NULL, c->pend_text };
				c->drop_after = false;
				c->closing = true;
				c->in_len = 0;
				smtp_answer(&c->smtp, &r);
				continue;
			}
			/* The answer is the model's to give: buffer what the client
			 * sends meanwhile (and see a hang-up), but do not feed it. */
			if (c->in_len < sizeof c->in && conn_read(c) < 0)
				return;
			break;
		}
		if (c->in_len > 0 && !c->eof) {
			size_t n = smtp_feed(&c->smtp, c->in, c->in_len);
			memmove(c->in, c->in + n, c->in_len - n);
			c->in_len -= n;
			if (n > 0 || (smtp_flags(&c->smtp) & (SMTP_F_WAITING | SMTP_F_CLOSED | SMTP_F_STARTTLS)))
				continue;
			smtp_output(&c->smtp, &out_len);
			if (out_len > 0)
				continue;  /* output room: write, then feed the rest */
		}
		if (c->in_len < sizeof c->in) {
			ssize_t r = conn_read(c);
			if (r < 0)
				return;
			if (r > 0)
				continue;
			if (c->tls_state == 2 && tls_pending(c->tls) > 0)
				continue;
		}
		break;
	}
	/* what to wait for */
	unsigned f = smtp_flags(&c->smtp);
	size_t out_len;
	smtp_output(&c->smtp, &out_len);
	unsigned mask = 0;
	if (c->tls_state == 1 || (c->tls_state == 2 && c->tls_want))
		mask |= c->tls_want;
	if (out_len > 0)
		mask |= c->tls_state == 2 && c->tls_want ? c->tls_want : EV_WRITE;
	else if (!(f & SMTP_F_WAITING) && !c->closing && c->in_len < sizeof c->in)
		mask |= EV_READ;
	if (mask == 0 && c->tls_state == 2 && tls_pending(c->tls) > 0)
		srv_kick(c);
	if (round == SRV_PUMP_ROUNDS && !c->closing)
		/* The budget ran out with work left (a full input buffer, say):
		 * ask for writability, which a connected socket has at once, so
		 * the pump goes on in the next iteration, after the other
		 * clients, instead of waiting for an event that may never come. */
		mask |= EV_WRITE;
	/* Read interest is kept while a reply is held (the pump reads into the
	 * buffer without feeding it), to see a hang-up; a full buffer stops it. */
	if (f & SMTP_F_WAITING && c->in_len < sizeof c->in && c->tls_state != 1)
		mask |= EV_READ;
	ev_io_set(srv->loop, &c->io, mask);
}

static void conn_io(ev_loop *l, ev_io *w, unsigned events)
{
	(void)l, (void)events;
	srv_pump(w->arg);
}

static void conn_timeout(ev_loop *l, ev_timer *t)
{
	srv_conn *c = t->arg;
	serve *srv = c->srv;
	int64_t now = ev_now(l);
	bool life = t == &c->life;
	if (!life && c->last_read_wall + srv->idle_ns > now && !(smtp_flags(&c->smtp) & SMTP_F_CLOSED)) {
		ev_timer_start(l, &c->idle, c->last_read_wall + srv->idle_ns, conn_timeout, c);
		return;
	}
	if (!life && (smtp_flags(&c->smtp) & SMTP_F_WAITING)) {
		/* the server holds this client's reply: not the client's silence */
		ev_timer_start(l, &c->idle, now + srv->idle_ns, conn_timeout, c);
		return;
	}
	/* One best-effort line, then close: a client that stopped reading
	 * must not keep the connection by filling its window. */
	char line[160];
	int n = snprintf(line, sizeof line, "421 4.4.2 %s %s\r\n", srv->hostname,
			 life ? "Session duration limit exceeded, closing connection"
			      : "Connection timed out, closing connection");
	if (c->tls_state == 2) {
		int want;
		tls_write(c->tls, line, (size_t)n, &want);
	} else if (c->tls_state == 0) {
		(void)!send(c->fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	rec_reply(srv, c, STAGE_TIMEOUT, 421, "4.4.2");
	conn_close(c, life ? "session timeout" : "idle timeout");
}

static void greeting_date(char *buf, size_t n)
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, n, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

static void peer_name(const struct sockaddr_storage *ss, char *out, size_t n)
{
	const void *addr = ss->ss_family == AF_INET6
		? (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr
		: (const void *)&((const struct sockaddr_in *)ss)->sin_addr;
	if (!inet_ntop(ss->ss_family, addr, out, (socklen_t)n))
		snprintf(out, n, "unknown");
}

static int64_t source_of(serve *srv, const char *ip)
{
	for (int64_t i = 0; i < srv->n_sources_used; i++)
		if (strcmp(srv->source_ip[i], ip) == 0)
			return i;
	if (srv->n_sources_used < SRV_SOURCES) {
		snprintf(srv->source_ip[srv->n_sources_used], sizeof srv->source_ip[0], "%s", ip);
		return srv->n_sources_used++;
	}
	uint64_t h = 1469598103934665603ULL;
	for (const char *p = ip; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return (int64_t)(h % SRV_SOURCES);
}

static void conn_new(serve *srv, int fd, const struct sockaddr_storage *ss)
{
	srv->conns_total++;
	if (srv->n_conns >= srv->max_conns || srv->stopping) {
		static const char busy[] = "421 4.3.2 Service not available, too many connections\r\n";
		(void)!send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		close(fd);
		srv->conns_refused++;
		return;
	}
	srv_conn *c = calloc(1, sizeof *c);
	if (!c) {
		close(fd);
		srv->conns_refused++;
		return;
	}
	c->srv = srv;
	c->fd = fd;
	c->id = ++srv->next_id;
	c->mailbox = -1;
	c->connected_wall = c->last_read_wall = ev_now(srv->loop);
	peer_name(ss, c->peer, sizeof c->peer);
	c->source = source_of(srv, c->peer);
	smtp_callbacks cb = srv_callbacks_template;
	cb.ctx = c;
	if (smtp_init(&c->smtp, &srv->smtp_cfg, &cb) != SIM_OK ||
	    ev_io_start(srv->loop, &c->io, fd, EV_WRITE, conn_io, c) != SIM_OK) {
		close(fd);
		free(c);
		srv->conns_refused++;
		return;
	}
	c->next = srv->conns;
	if (c->next)
		c->next->prev = c;
	srv->conns = c;
	srv->n_conns++;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	char date[64];
	greeting_date(date, sizeof date);
	smtp_start(&c->smtp, c->peer, date);
	rec_connect(srv, c);
	if (srv->idle_ns > 0)
		ev_timer_start(srv->loop, &c->idle, c->connected_wall + srv->idle_ns, conn_timeout, c);
	if (srv->life_ns > 0)
		ev_timer_start(srv->loop, &c->life, c->connected_wall + srv->life_ns, conn_timeout, c);
	srv_pump(c);
}

/* ---- the listener ---------------------------------------------------------- */

static void accept_resume(ev_loop *l, ev_timer *t)
{
	serve *srv = t->arg;
	ev_io_set(l, &srv->listen_io, EV_READ);
}

static void listen_io(ev_loop *l, ev_io *w, unsigned events)
{
	(void)events;
	serve *srv = w->arg;
	for (int i = 0; i < SRV_ACCEPT_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		int fd = accept4(srv->listen_fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* Out of descriptors: pending connections stay in the
				 * backlog; stop polling the listener (a level-triggered
				 * loop would spin on it) and try again shortly. */
				srv_log(srv, "accept: %s; pausing new connections for 100 ms", strerror(errno));
				ev_io_set(l, &srv->listen_io, 0);
				if (!ev_timer_pending(&srv->accept_pause))
					ev_timer_start(l, &srv->accept_pause, ev_now(l) + SRV_EMFILE_PAUSE_NS,
						       accept_resume, srv);
			}
			return;  /* EAGAIN, ECONNABORTED, EINTR: nothing more now */
		}
		conn_new(srv, fd, &ss);
	}
}

/* "127.0.0.1:2587", "[::1]:2587", "localhost:25" -> a bound, listening fd,
 * or -1 after printing why. */
static int listen_on(const char *spec, char *name, size_t name_len)
{
	char host[256];
	const char *port;
	if (spec[0] == '[') {
		const char *rb = strchr(spec, ']');
		if (!rb || rb[1] != ':' || (size_t)(rb - spec - 1) >= sizeof host) {
			term_eprintf("throttlesim serve: --listen: expected ADDR:PORT or [IPv6]:PORT, got '%s'\n", spec);
			return -1;
		}
		memcpy(host, spec + 1, (size_t)(rb - spec - 1));
		host[rb - spec - 1] = 0;
		port = rb + 2;
	} else {
		const char *colon = strrchr(spec, ':');
		if (!colon || (size_t)(colon - spec) >= sizeof host || strchr(spec, ':') != colon) {
			term_eprintf("throttlesim serve: --listen: expected ADDR:PORT or [IPv6]:PORT, got '%s'\n", spec);
			return -1;
		}
		memcpy(host, spec, (size_t)(colon - spec));
		host[colon - spec] = 0;
		port = colon + 1;
	}
	int64_t pn;
	if (cli_parse_int("serve", "--listen port", port, 0, 65535, &pn) != 0)
		return -1;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	int gai = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (gai != 0) {
		term_eprintf("throttlesim serve: --listen: %s: %s\n", host, gai_strerror(gai));
		return -1;
	}
	int fd = -1, err = 0;
	for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			err = errno;
			continue;
		}
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
			err = errno;
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0) {
		term_eprintf("throttlesim serve: --listen %s: %s\n", spec, strerror(err));
		return -1;
	}
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	char ip[64];
	peer_name(&ss, ip, sizeof ip);
	int bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						   : ((struct sockaddr_in *)&ss)->sin_port);
	snprintf(name, name_len, ss.ss_family == AF_INET6 ? "[%s]:%d" : "%s:%d", ip, bound);
	return fd;
}

/* ---- stopping ------------------------------------------------------------------ */

static void on_signal(ev_loop *l, int signo, void *arg)
{
	serve *srv = arg;
	srv->signal_seen = signo;
	srv->stopping = true;
	ev_io_stop(l, &srv->listen_io);
	srv_control_close(srv);
	/* Open sessions are told and closed: a client mid-message gets 421
	 * and will retry elsewhere, as it would on a server restart. */
	static const char bye[] = "421 4.3.2 Service shutting down\r\n";
	while (srv->conns) {
		srv_conn *c = srv->conns;
		if (c->tls_state == 2) {
			int want;
			tls_write(c->tls, bye, sizeof bye - 1, &want);
		} else if (c->tls_state == 0) {
			(void)!send(c->fd, bye, sizeof bye - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		}
		rec_reply(srv, c, STAGE_SHUTDOWN, 421, "4.3.2");
		conn_close(c, "server stopping");
	}
	ev_stop(l);
}

/* ---- the live view --------------------------------------------------------------- */

static void tick(ev_loop *l, ev_timer *t)
{
	serve *srv = t->arg;
	rec_flush(srv);
	srv_view_tick(srv);
	srv_figs_sessions(srv);
	ev_timer_start(l, t, ev_now(l) + SCN_NS_PER_S, tick, srv);
}

/* ---- the command -------------------------------------------------------------------- */

static int load_scenario(const serve_args *a, scenario ***v, size_t *n, const scenario **out)
{
	scn_errors errs = { 0 };
	int rc = scn_load_serve(a->path, &sim_alloc_std, v, n, &errs);
	int status = rc == SIM_OK ? 0 : cli_load_failed(a->path, rc, &errs, NULL);
	scn_errors_free(&errs);
	if (status)
		return status;
	*out = (*v)[0];
	if (a->variant) {
		*out = NULL;
		for (size_t i = 0; i < *n; i++)
			if (strcmp((*v)[i]->variant, a->variant) == 0)
				*out = (*v)[i];
		if (!*out) {
			term_eprintf("throttlesim serve: %s has no variant '%s'\n", a->path, a->variant);
			return EXIT_USAGE;
		}
	}
	if ((*out)->n_mailboxes == 0) {
		term_eprintf("throttlesim serve: %s: no mailboxes to serve\n", a->path);
		return EXIT_USAGE;
	}
	return 0;
}

int cmd_serve(int argc, char **argv)
{
	serve_args a = { 0 };
	a.scale = (ev_scale){ 1, 1 };
	a.max_conns = 4096;
	a.idle_ns = 300 * SCN_NS_PER_S;
	a.life_ns = 3600 * SCN_NS_PER_S;
	int p = cli_parse("serve", serve_usage, serve_opts, sizeof serve_opts / sizeof *serve_opts,
			  argc, argv, serve_arg, &a);
	if (p != 0)
		return p > 0 ? EXIT_OK : EXIT_USAGE;
	if (!a.path) {
		term_eprintf("throttlesim serve: which scenario? (usage: throttlesim serve SCENARIO; try --help)\n");
		return EXIT_USAGE;
	}
	if ((a.cert == NULL) != (a.key == NULL)) {
		term_eprintf("throttlesim serve: --cert and --key go together\n");
		return EXIT_USAGE;
	}
	if (a.no_tls && (a.cert || a.write_cert)) {
		term_eprintf("throttlesim serve: --no-tls with %s: no certificate is used\n",
			     a.cert ? "--cert" : "--write-cert");
		return EXIT_USAGE;
	}

	scenario **v = NULL;
	size_t nv = 0;
	serve srv;
	memset(&srv, 0, sizeof srv);
	srv.listen_fd = -1;
	srv.control_fd = -1;
	int status = load_scenario(&a, &v, &nv, &srv.s);
	if (status) {
		scn_free_all(v, nv, &sim_alloc_std);
		return status;
	}
	const scenario *s = srv.s;
	srv.seed = a.have_seed ? a.seed : s->seed;
	srv.quiet = a.quiet;
	srv.live = a.live;
	srv.idle_ns = a.idle_ns;
	srv.life_ns = a.life_ns;
	srv.max_conns = a.max_conns;
	snprintf(srv.hostname, sizeof srv.hostname, "%s", a.host ? a.host : "smtp.office365.com");
	srv.smtp_cfg.hostname = srv.hostname;
	srv.smtp_cfg.no_starttls = a.no_tls;
	srv.smtp_cfg.plain = a.plain;
	status = EXIT_FAIL;
	char err[512] = "";

	static smtp_session probe;  /* checks the configuration once, at start */
	if (smtp_init(&probe, &srv.smtp_cfg, &srv_callbacks_template) == SIM_EINVAL) {
		term_eprintf("throttlesim serve: --hostname: '%s' is not a host name\n", srv.hostname);
		status = EXIT_USAGE;
		goto out;
	}
	const char *key_path = a.token_key ? a.token_key : "throttlesim-token.key";
	if (tok_key_load(key_path, srv.token_key, true, err, sizeof err) != SIM_OK) {
		term_eprintf("throttlesim serve: %s\n", err);
		goto out;
	}
	srv.have_token_key = true;
	if (!a.no_tls) {
		if (tls_server_new(a.cert, a.key, srv.hostname, 0, &sim_alloc_std, &srv.tls, err, sizeof err) != SIM_OK) {
			term_eprintf("throttlesim serve: %s\n", err);
			goto out;
		}
		if (a.write_cert && tls_server_write_cert(srv.tls, a.write_cert, err, sizeof err) != SIM_OK) {
			term_eprintf("throttlesim serve: %s\n", err);
			goto out;
		}
	}
	if (a.record) {
		srv.record = fopen(a.record, "w");
		if (!srv.record) {
			term_eprintf("throttlesim serve: --record %s: %s\n", a.record, strerror(errno));
			goto out;
		}
		srv.record_path = a.record;
	}
	if (ev_new(&srv.loop, &sim_alloc_std, a.scale) != SIM_OK) {
		term_eprintf("throttlesim serve: the event loop could not start: %s\n", strerror(errno));
		goto out;
	}
	srv.clock = ev_clock(srv.loop);
	if (srv_model_init(&srv) != SIM_OK || srv_figs_init(&srv) != SIM_OK) {
		term_eprintf("throttlesim serve: out of memory\n");
		goto out;
	}
	cli_raise_fd_limit();
	signal(SIGPIPE, SIG_IGN);
	srv.listen_fd = listen_on(a.listen ? a.listen : SRV_DEFAULT_LISTEN, srv.listen_name,
				  sizeof srv.listen_name);
	if (srv.listen_fd < 0) {
		status = EXIT_USAGE;
		goto out;
	}
	int sigs[] = { SIGINT, SIGTERM };
	if (ev_signal(srv.loop, sigs, 2, on_signal, &srv) != SIM_OK ||
	    ev_io_start(srv.loop, &srv.listen_io, srv.listen_fd, EV_READ, listen_io, &srv) != SIM_OK) {
		term_eprintf("throttlesim serve: the event loop could not start: %s\n", strerror(ev_errno(srv.loop)));
		goto out;
	}
	if (a.control && srv_control_open(&srv, a.control) != 0) {
		status = EXIT_USAGE;
		goto out;
	}
	ev_timer_start(srv.loop, &srv.tick, SCN_NS_PER_S, tick, &srv);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	srv.start_unix_ns = (int64_t)ts.tv_sec * SCN_NS_PER_S + ts.tv_nsec;
	rec_start(&srv, a.scale);
	/* The first line is for scripts: where to connect (port 0 picks one). */
	printf("listening on %s\n", srv.listen_name);
	fflush(stdout);
	if (!a.quiet) {
		for (size_t m = 0; m < s->n_mailboxes && m < 50; m++)
			if (!s->mailboxes[m].password)
				term_eprintf("serve: %s has no password in the scenario: any password is accepted\n",
					     s->mailboxes[m].name);
		term_eprintf("serve: %s (%s), %zu mailboxes, time scale %u/%u%s\n", s->name, s->variant,
			     s->n_mailboxes, a.scale.num, a.scale.den,
			     a.no_tls ? ", no TLS (AUTH in clear)" : "");
	}
	if (ev_run(srv.loop) != SIM_OK) {
		term_eprintf("throttlesim serve: the event loop failed: %s\n", strerror(ev_errno(srv.loop)));
		goto out;
	}
	rec_flush(&srv);
	if (!a.quiet)
		term_eprintf("serve: stopped (%s): %lld connections, %lld messages accepted\n",
			     srv.signal_seen == SIGINT ? "SIGINT" : "SIGTERM",
			     (long long)srv.conns_total, (long long)srv.accepted_total);
	char *cmdline = cli_join_args("throttlesim serve", argc, argv);
	status = srv_figs_store(&srv, a.db ? a.db : "throttlesim.db", cmdline);
	free(cmdline);
out:
	while (srv.conns)
		conn_free(srv.conns);
	if (srv.loop)
		srv_control_close(&srv);
	srv_view_free(&srv);
	if (srv.record && fclose(srv.record) != 0 && status == EXIT_OK) {
		term_eprintf("throttlesim serve: --record %s: %s\n", srv.record_path, strerror(errno));
		status = EXIT_FAIL;
	}
	srv_figs_free(&srv);
	srv_model_free(&srv);
	if (srv.loop)
		ev_free(srv.loop);
	if (srv.listen_fd >= 0)
		close(srv.listen_fd);
	if (srv.tls)
		tls_server_free(srv.tls);
	scn_free_all(v, nv, &sim_alloc_std);
	return status;
}
