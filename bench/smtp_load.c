/* smtp_load.c - a small SMTP load generator for `make bench`: C concurrent
 * connections from one epoll thread, each saying EHLO once, AUTH PLAIN
 * once (with --auth), then MAIL, RCPT, DATA, the message and its dot,
 * again and again until the run ends.  The same binary drives `throttlesim
 * serve` and Postfix's smtp-sink, so the two are measured alike.
 *
 *   bench_smtp_load --port P [--host 127.0.0.1] [--clients 100]
 *       [--duration 5] [--warmup 1] [--auth] [--user "bench{i}@contoso.com"]
 *       [--password pw] [--rcpt rcpt@contoso.com] [--size 1024] [--label X]
 *
 * Client i (1..C) is the mailbox --user with {i} replaced by i, for its
 * AUTH, its MAIL FROM and its From: header; every message has one
 * recipient and a Message-ID of its own (the service counts messages by
 * it).  Commands are not pipelined: a command is sent when the reply to
 * the one before has arrived, as a submission client without PIPELINING
 * does, so every reply's latency is the server's turnaround alone.
 *
 * What is measured, in the window [warm-up, warm-up + duration) of the
 * monotonic clock (the warm-up lets every connection get through its
 * greeting, EHLO and AUTH first):
 *   msgs          end-of-data replies 250 that arrived in the window, and
 *                 msgs_per_s = msgs / duration;
 *   eod_non250    end-of-data replies other than 250, and eod_codes the
 *                 count per code ("432:3,554:1"; "-" for none);
 *   *_fail        other refusals, at MAIL, RCPT and DATA (each followed by
 *                 RSET and a new MAIL);
 *   client_cpu_s  this process's CPU time (user + system, warm-up
 *                 included): whether the load generator kept up;
 *   latency       per reply, from the start of the send() that handed the
 *                 command's last byte to the kernel to the moment the
 *                 reply's last line was read; p50 and p99 (nearest rank, exact: every sample
 *                 is kept) in microseconds for MAIL, RCPT, DATA (the 354),
 *                 the end of data, and all four together ("all").
 * A connection the server closes (421, 432) is opened again; reconnects
 * counts them.  The output is one line of key=value pairs on stdout.
 *
 * Exit status: 0 after a run, 1 when it could not be done (no connection,
 * AUTH refused, the server closed every attempt), 2 for bad usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LOAD_MAX_CLIENTS 10000
#define LOAD_RBUF 4096
#define LOAD_MAX_SIZE (1 << 20)
/* A client that cannot connect this many times in a row ends the run: the
 * server is not there, or refuses everyone. */
#define LOAD_MAX_CONNECT_FAILS 20

/* Where a connection is: what it has sent and waits for the reply to. */
typedef enum st {
	ST_CONNECTING, ST_GREETING, ST_EHLO, ST_AUTH, ST_MAIL, ST_RCPT, ST_DATA, ST_EOD, ST_RSET,
} st;

/* The stages whose replies are timed; LAT_ALL is their union. */
enum { LAT_MAIL, LAT_RCPT, LAT_DATA, LAT_EOD, LAT_ALL, N_LAT };
static const char *const lat_name[N_LAT] = { "mail", "rcpt", "data", "eod", "all" };

typedef struct samples {
	int64_t *v;
	size_t n, cap;
} samples;

typedef struct conn {
	int fd, id;          /* id 1..C: the mailbox */
	st state;
	bool want_out;       /* EPOLLOUT registered */
	char user[256];
	char rbuf[LOAD_RBUF];
	size_t rlen;
	char *wbuf;          /* the command being sent (owned) */
	size_t wlen, woff;
	int64_t sent_ns;     /* when the command's last byte was handed over */
	uint64_t seq;        /* messages begun on this client */
	int connect_fails;
} conn;

typedef struct load {
	const char *host, *label, *user_pat, *password, *rcpt;
	int port, clients, size;
	double duration_s, warmup_s;
	bool auth;
	struct sockaddr_in addr;
	int ep;
	conn *conns;
	char *body;          /* the message's body lines, shared */
	size_t body_len, wcap;
	int64_t t_begin, t_end;  /* the measured window */
	samples lat[N_LAT];
	uint64_t msgs, eod_fail, fail[N_LAT], reconnects, replies;
	uint64_t eod_codes[600];
	const char *fatal;   /* why the run cannot go on, or NULL */
} load;

static int64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static bool in_window(const load *ld, int64_t t)
{
	return t >= ld->t_begin && t < ld->t_end;
}

static int samples_add(samples *s, int64_t x)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 65536;
		int64_t *v = realloc(s->v, cap * sizeof *v);
		if (!v)
			return -1;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = x;
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Nearest rank: the smallest sample with at least p of them at or below. */
static double pct_us(const samples *s, double p)
{
	if (s->n == 0)
		return 0;
	size_t k = (size_t)(p * (double)s->n + 0.999999999);
	if (k < 1)
		k = 1;
	if (k > s->n)
		k = s->n;
	return (double)s->v[k - 1] / 1e3;
}

static size_t b64(const unsigned char *in, size_t n, char *out)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? tab[v & 63] : '=';
	}
	out[o] = '\0';
	return o;
}

/* ---- connections ---------------------------------------------------------- */

static void conn_close(load *ld, conn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(ld->ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->rlen = c->wlen = c->woff = 0;
	c->want_out = false;
}

static void set_out(load *ld, conn *c, bool out)
{
	if (c->want_out == out)
		return;
	struct epoll_event e = { .events = EPOLLIN | (out ? EPOLLOUT : 0), .data.ptr = c };
	epoll_ctl(ld->ep, EPOLL_CTL_MOD, c->fd, &e);
	c->want_out = out;
}

static void conn_open(load *ld, conn *c)
{
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		ld->fatal = "socket() failed";
		return;
	}
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c->state = ST_CONNECTING;
	c->rlen = c->wlen = c->woff = 0;
	if (connect(c->fd, (struct sockaddr *)&ld->addr, sizeof ld->addr) != 0 && errno != EINPROGRESS) {
		close(c->fd);
		c->fd = -1;
		if (++c->connect_fails >= LOAD_MAX_CONNECT_FAILS)
			ld->fatal = "cannot connect";
		return;
	}
	struct epoll_event e = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
	epoll_ctl(ld->ep, EPOLL_CTL_ADD, c->fd, &e);
	c->want_out = true;
}

static void conn_reopen(load *ld, conn *c)
{
	conn_close(ld, c);
	ld->reconnects++;
	conn_open(ld, c);
}

/* Hands as much of the command to the kernel as it takes.  The reply is
 * timed from the start of the send() that hands over the last byte: on
 * loopback that call itself delivers the segment and wakes the server,
 * which may answer before the call returns. */
static void conn_flush(load *ld, conn *c)
{
	while (c->woff < c->wlen) {
		int64_t t = now_ns();
		ssize_t k = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff, MSG_NOSIGNAL);
		if (k < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				set_out(ld, c, true);
				return;
			}
			if (errno == EINTR)
				continue;
			conn_reopen(ld, c);
			return;
		}
		c->woff += (size_t)k;
		c->sent_ns = t;
	}
	set_out(ld, c, false);
}

static void conn_send(load *ld, conn *c, st next, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void conn_send(load *ld, conn *c, st next, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(c->wbuf, ld->wcap, fmt, ap);
	va_end(ap);
	c->wlen = n > 0 && (size_t)n < ld->wcap ? (size_t)n : 0;
	c->woff = 0;
	c->state = next;
	conn_flush(ld, c);
}

/* The message: headers of its own (Message-ID unique per client and
 * sequence), the shared body, the dot. */
static void send_message(load *ld, conn *c)
{
	int n = snprintf(c->wbuf, ld->wcap,
			 "From: <%s>\r\nTo: <%s>\r\nSubject: smtp_load %d.%" PRIu64 "\r\n"
			 "Message-ID: <%d.%" PRIu64 ".%lld@smtp-load.invalid>\r\n\r\n",
			 c->user, ld->rcpt, c->id, c->seq, c->id, c->seq, (long long)ld->t_begin);
	if (n < 0 || (size_t)n + ld->body_len + 5 > ld->wcap) {
		ld->fatal = "message does not fit its buffer";
		return;
	}
	memcpy(c->wbuf + n, ld->body, ld->body_len);
	memcpy(c->wbuf + (size_t)n + ld->body_len, ".\r\n", 3);
	c->wlen = (size_t)n + ld->body_len + 3;
	c->woff = 0;
	c->state = ST_EOD;
	c->seq++;
	conn_flush(ld, c);
}

static void start_auth(load *ld, conn *c)
{
	unsigned char raw[600];
	size_t ul = strlen(c->user), pl = strlen(ld->password);
	raw[0] = '\0';
	memcpy(raw + 1, c->user, ul);
	raw[1 + ul] = '\0';
	memcpy(raw + 2 + ul, ld->password, pl);
	char enc[820];
	b64(raw, 2 + ul + pl, enc);
	conn_send(ld, c, ST_AUTH, "AUTH PLAIN %s\r\n", enc);
}

static void timed(load *ld, int stage, int64_t t, int64_t sent)
{
	if (!in_window(ld, t))
		return;
	ld->replies++;
	if (samples_add(&ld->lat[stage], t - sent) != 0 || samples_add(&ld->lat[LAT_ALL], t - sent) != 0)
		ld->fatal = "out of memory for the latency samples";
}

/* One complete reply (its last line) with its code. */
static void on_reply(load *ld, conn *c, int code, int64_t t)
{
	switch (c->state) {
	case ST_GREETING:
		if (code != 220) {
			conn_reopen(ld, c);
			return;
		}
		conn_send(ld, c, ST_EHLO, "EHLO smtp-load.invalid\r\n");
		return;
	case ST_EHLO:
		if (code != 250) {
			ld->fatal = "EHLO refused";
			return;
		}
		if (ld->auth)
			start_auth(ld, c);
		else
			conn_send(ld, c, ST_MAIL, "MAIL FROM:<%s>\r\n", c->user);
		return;
	case ST_AUTH:
		/* 235 from a real server; smtp-sink says 250 to anything. */
		if (code / 100 != 2) {
			ld->fatal = "AUTH PLAIN refused";
			return;
		}
		conn_send(ld, c, ST_MAIL, "MAIL FROM:<%s>\r\n", c->user);
		return;
	case ST_MAIL:
	case ST_RCPT:
	case ST_DATA: {
		int stage = c->state == ST_MAIL ? LAT_MAIL : c->state == ST_RCPT ? LAT_RCPT : LAT_DATA;
		timed(ld, stage, t, c->sent_ns);
		bool ok = c->state == ST_DATA ? code == 354 : code == 250 || code == 251;
		if (!ok) {
			if (in_window(ld, t))
				ld->fail[stage]++;
			if (code == 421)
				conn_reopen(ld, c);
			else
				conn_send(ld, c, ST_RSET, "RSET\r\n");
			return;
		}
		if (c->state == ST_MAIL)
			conn_send(ld, c, ST_RCPT, "RCPT TO:<%s>\r\n", ld->rcpt);
		else if (c->state == ST_RCPT)
			conn_send(ld, c, ST_DATA, "DATA\r\n");
		else
			send_message(ld, c);
		return;
	}
	case ST_EOD:
		timed(ld, LAT_EOD, t, c->sent_ns);
		if (in_window(ld, t)) {
			if (code == 250) {
				ld->msgs++;
			} else {
				ld->eod_fail++;
				ld->eod_codes[code >= 0 && code < 600 ? code : 0]++;
			}
		}
		/* 421 and Exchange's 432 close the connection. */
		if (code == 421 || code == 432)
			conn_reopen(ld, c);
		else
			conn_send(ld, c, ST_MAIL, "MAIL FROM:<%s>\r\n", c->user);
		return;
	case ST_RSET:
		conn_send(ld, c, ST_MAIL, "MAIL FROM:<%s>\r\n", c->user);
		return;
	case ST_CONNECTING:
		return;
	}
}

/* Reads what there is and acts on every complete reply in it.  A reply
 * ends at its last line: "ddd " or "ddd" alone, not "ddd-". */
static void conn_read(load *ld, conn *c)
{
	for (;;) {
		ssize_t k = recv(c->fd, c->rbuf + c->rlen, sizeof c->rbuf - c->rlen, 0);
		if (k == 0 || (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
			conn_reopen(ld, c);
			return;
		}
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		int64_t t = now_ns();
		c->rlen += (size_t)k;
		size_t start = 0;
		for (;;) {
			char *nl = memchr(c->rbuf + start, '\n', c->rlen - start);
			if (!nl)
				break;
			const char *line = c->rbuf + start;
			size_t len = (size_t)(nl - line) + 1;
			start += len;
			if (len >= 4 && line[3] == '-')
				continue;
			int code = len >= 3 ? (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0') : 0;
			on_reply(ld, c, code, t);
			if (c->fd < 0 || ld->fatal)
				return;
			if (c->rlen == 0)  /* reopened */
				return;
		}
		memmove(c->rbuf, c->rbuf + start, c->rlen - start);
		c->rlen -= start;
		if (c->rlen == sizeof c->rbuf) {  /* a line longer than any reply */
			conn_reopen(ld, c);
			return;
		}
	}
}

static void conn_event(load *ld, conn *c, uint32_t ev)
{
	if (c->state == ST_CONNECTING) {
		if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		int err = 0;
		socklen_t el = sizeof err;
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
		if (err != 0) {
			conn_close(ld, c);
			if (++c->connect_fails >= LOAD_MAX_CONNECT_FAILS)
				ld->fatal = "cannot connect";
			else
				conn_open(ld, c);
			return;
		}
		c->connect_fails = 0;
		c->state = ST_GREETING;
		set_out(ld, c, false);
		return;
	}
	if ((ev & EPOLLOUT) && c->woff < c->wlen) {
		conn_flush(ld, c);
		if (c->fd < 0)
			return;
	}
	if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP))
		conn_read(ld, c);
}

/* ---- the run ------------------------------------------------------------ */

static int usage(void)
{
	fprintf(stderr,
		"usage: bench_smtp_load --port P [--host 127.0.0.1] [--clients 100] [--duration 5]\n"
		"         [--warmup 1] [--auth] [--user PATTERN] [--password PW] [--rcpt ADDR]\n"
		"         [--size BYTES] [--label NAME]\n");
	return 2;
}

static int parse_args(load *ld, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--auth") == 0) {
			ld->auth = true;
			continue;
		}
		if (i + 1 >= argc)
			return -1;
		const char *v = argv[++i];
		char *end;
		if (strcmp(a, "--host") == 0)
			ld->host = v;
		else if (strcmp(a, "--port") == 0)
			ld->port = (int)strtol(v, &end, 10);
		else if (strcmp(a, "--clients") == 0)
			ld->clients = (int)strtol(v, &end, 10);
		else if (strcmp(a, "--duration") == 0)
			ld->duration_s = strtod(v, &end);
		else if (strcmp(a, "--warmup") == 0)
			ld->warmup_s = strtod(v, &end);
		else if (strcmp(a, "--user") == 0)
			ld->user_pat = v;
		else if (strcmp(a, "--password") == 0)
			ld->password = v;
		else if (strcmp(a, "--rcpt") == 0)
			ld->rcpt = v;
		else if (strcmp(a, "--size") == 0)
			ld->size = (int)strtol(v, &end, 10);
		else if (strcmp(a, "--label") == 0)
			ld->label = v;
		else
			return -1;
	}
	if (ld->port < 1 || ld->port > 65535 || ld->clients < 1 || ld->clients > LOAD_MAX_CLIENTS ||
	    !(ld->duration_s > 0 && ld->duration_s <= 3600) || !(ld->warmup_s >= 0 && ld->warmup_s <= 600) ||
	    ld->size < 0 || ld->size > LOAD_MAX_SIZE || strlen(ld->user_pat) > 200 ||
	    strlen(ld->password) > 256 || strlen(ld->rcpt) > 200)
		return -1;
	if (inet_pton(AF_INET, ld->host, &ld->addr.sin_addr) != 1)
		return -1;
	ld->addr.sin_family = AF_INET;
	ld->addr.sin_port = htons((uint16_t)ld->port);
	return 0;
}

/* The pattern with every {i} replaced by the client's number. */
static void make_user(const char *pat, int id, char *out, size_t cap)
{
	size_t o = 0;
	for (const char *p = pat; *p && o + 12 < cap; p++) {
		if (strncmp(p, "{i}", 3) == 0) {
			o += (size_t)snprintf(out + o, cap - o, "%d", id);
			p += 2;
		} else {
			out[o++] = *p;
		}
	}
	out[o] = '\0';
}

/* Body lines of 76 'x' (no line starts with a dot) up to about --size
 * octets, the message's headers not counted. */
static int make_body(load *ld)
{
	size_t lines = ((size_t)ld->size + 77) / 78;
	ld->body_len = lines * 78;
	ld->body = malloc(ld->body_len + 1);
	if (!ld->body)
		return -1;
	for (size_t i = 0; i < lines; i++) {
		memset(ld->body + i * 78, 'x', 76);
		memcpy(ld->body + i * 78 + 76, "\r\n", 2);
	}
	ld->wcap = ld->body_len + 2048;
	return 0;
}

static void print_result(load *ld)
{
	double secs = ld->duration_s;
	printf("smtp_load label=%s target=%s:%d clients=%d duration_s=%.3f auth=%d size=%d msgs=%" PRIu64
	       " msgs_per_s=%.1f eod_non250=%" PRIu64 " eod_codes=",
	       ld->label, ld->host, ld->port, ld->clients, secs, ld->auth ? 1 : 0, ld->size, ld->msgs,
	       (double)ld->msgs / secs, ld->eod_fail);
	bool any = false;
	for (int code = 0; code < 600; code++)
		if (ld->eod_codes[code]) {
			printf("%s%d:%" PRIu64, any ? "," : "", code, ld->eod_codes[code]);
			any = true;
		}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
		     (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
	printf("%s mail_fail=%" PRIu64 " rcpt_fail=%" PRIu64 " data_fail=%" PRIu64 " reconnects=%" PRIu64
	       " replies=%" PRIu64 " client_cpu_s=%.3f",
	       any ? "" : "-", ld->fail[LAT_MAIL], ld->fail[LAT_RCPT], ld->fail[LAT_DATA], ld->reconnects,
	       ld->replies, cpu);
	for (int s = 0; s < N_LAT; s++) {
		if (ld->lat[s].n > 1)
			qsort(ld->lat[s].v, ld->lat[s].n, sizeof *ld->lat[s].v, cmp_i64);
		printf(" %s_p50_us=%.1f %s_p99_us=%.1f", lat_name[s], pct_us(&ld->lat[s], 0.50), lat_name[s],
		       pct_us(&ld->lat[s], 0.99));
	}
	printf("\n");
}

int main(int argc, char **argv)
{
	load ld = {
		.host = "127.0.0.1", .label = "-", .user_pat = "bench{i}@contoso.com", .password = "pw",
		.rcpt = "rcpt@contoso.com", .clients = 100, .size = 1024, .duration_s = 5, .warmup_s = 1,
		.ep = -1,
	};
	if (parse_args(&ld, argc, argv) != 0)
		return usage();
	int status = 1;
	ld.conns = calloc((size_t)ld.clients, sizeof *ld.conns);
	ld.ep = epoll_create1(EPOLL_CLOEXEC);
	if (!ld.conns || ld.ep < 0 || make_body(&ld) != 0) {
		fprintf(stderr, "smtp_load: out of memory or no epoll\n");
		goto done;
	}
	int64_t t0 = now_ns();
	ld.t_begin = t0 + (int64_t)(ld.warmup_s * 1e9);
	ld.t_end = ld.t_begin + (int64_t)(ld.duration_s * 1e9);
	for (int i = 0; i < ld.clients && !ld.fatal; i++) {
		conn *c = &ld.conns[i];
		c->id = i + 1;
		c->fd = -1;
		make_user(ld.user_pat, c->id, c->user, sizeof c->user);
		c->wbuf = malloc(ld.wcap);
		if (!c->wbuf) {
			ld.fatal = "out of memory";
			break;
		}
		conn_open(&ld, c);
	}
	struct epoll_event evs[256];
	while (!ld.fatal) {
		int64_t now = now_ns();
		if (now >= ld.t_end)
			break;
		int64_t wait_ms = (ld.t_end - now) / 1000000 + 1;
		int n = epoll_wait(ld.ep, evs, 256, (int)(wait_ms > 1000 ? 1000 : wait_ms));
		if (n < 0 && errno != EINTR) {
			ld.fatal = "epoll_wait failed";
			break;
		}
		for (int i = 0; i < n && !ld.fatal; i++) {
			conn *c = evs[i].data.ptr;
			if (c->fd >= 0)
				conn_event(&ld, c, evs[i].events);
		}
	}
	if (ld.fatal) {
		fprintf(stderr, "smtp_load: %s (%s:%d)\n", ld.fatal, ld.host, ld.port);
		goto done;
	}
	print_result(&ld);
	status = 0;
done:
	for (int i = 0; ld.conns && i < ld.clients; i++) {
		if (ld.conns[i].wbuf)
			conn_close(&ld, &ld.conns[i]);
		free(ld.conns[i].wbuf);
	}
	for (int s = 0; s < N_LAT; s++)
		free(ld.lat[s].v);
	free(ld.conns);
	free(ld.body);
	if (ld.ep >= 0)
		close(ld.ep);
	return status;
}
