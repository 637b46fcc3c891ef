/* serve_view.c - seeing what the server does while it runs: a live view
 * per mailbox on the terminal (--live, every wall second) and a control
 * endpoint (--control PATH: HTTP over a UNIX socket, mode 0600) that
 * answers `GET /status` with the same as JSON:
 *
 *   curl --unix-socket PATH http://serve/status
 *
 * Both read the service's state (svc_mailbox_now) and the server's own
 * counters; neither changes anything.  Per-minute figures are per MODEL
 * minute: "accepted/min" is the last full minute's count, "released/min"
 * the same for releases (delay mode: the instant the model releases an
 * accepted message for delivery).
 *
 * The endpoint serves one request per connection, reads at most
 * SRV_CTL_REQ_MAX octets, answers and closes; a control client that does
 * not send its request within 5 s is dropped.  It is for a person or a script on the same machine, so
 * it is a UNIX socket (file permissions decide who may ask), never TCP.
 */
#define _GNU_SOURCE  /* accept4 */
#include "serve_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "replies.h"
#include "term.h"

#define SRV_CTL_REQ_MAX 4096
#define SRV_VIEW_ROWS 20

static const char *const err_class_name[] = {
	"mailbox_full", "send_as_denied", "invalid_license", "too_many_recipients", "invalid_recipients",
};

/* ---- per-minute counts ------------------------------------------------------ */

static void minute_add(srv_minute *m, int64_t minute)
{
	if (minute != m->minute) {
		m->last = minute == m->minute + 1 ? m->cur : 0;
		m->cur = 0;
		m->minute = minute;
	}
	m->cur++;
}

/* The last full minute's count, as of minute `now`. */
static int64_t minute_last(const srv_minute *m, int64_t now)
{
	if (now == m->minute)
		return m->last;
	return now == m->minute + 1 ? m->cur : 0;
}

static int64_t minute_of(int64_t t)
{
	return t / (60 * SCN_NS_PER_S);
}

void srv_note_accepted(serve *srv, int mailbox, int64_t now, int64_t release_ns)
{
	srv_mbx *b = &srv->mbx[mailbox];
	minute_add(&b->acc_min, minute_of(now));
	if (release_ns <= now) {
		b->released++;
		minute_add(&b->rel_min, minute_of(now));
		return;
	}
	if (b->rel_len == b->rel_cap) {
		size_t n = b->rel_cap ? 2 * b->rel_cap : 16;
		int64_t *r = malloc(n * sizeof *r);
		if (!r)
			return;  /* the view misses this release; the reply stands */
		for (size_t i = 0; i < b->rel_len; i++)
			r[i] = b->rel[(b->rel_head + i) % b->rel_cap];
		free(b->rel);
		b->rel = r;
		b->rel_cap = n;
		b->rel_head = 0;
	}
	b->rel[(b->rel_head + b->rel_len++) % b->rel_cap] = release_ns;
}

/* Releases due by now leave the ring (they are in order: the model
 * releases a mailbox's messages in order of acceptance). */
static void releases_due(srv_mbx *b, int64_t now)
{
	while (b->rel_len > 0 && b->rel[b->rel_head] <= now) {
		minute_add(&b->rel_min, minute_of(b->rel[b->rel_head]));
		b->released++;
		b->rel_head = (b->rel_head + 1) % b->rel_cap;
		b->rel_len--;
	}
}

void srv_view_free(serve *srv)
{
	if (!srv->mbx)
		return;
	for (size_t m = 0; m < srv->s->n_mailboxes; m++)
		free(srv->mbx[m].rel);
}

/* ---- the live view ------------------------------------------------------------- */

static bool active(const serve *srv, size_t m)
{
	const srv_mbx *b = &srv->mbx[m];
	return b->sessions > 0 || b->accepted > 0 || b->rel_len > 0 || b->refused[RC_CONCURRENCY] > 0;
}

static void live(serve *srv, int64_t now)
{
	bool tty = isatty(STDERR_FILENO);
	if (tty)
		fputs("\033[H\033[2J", stderr);
	int64_t min = minute_of(now);
	term_eprintf("throttlesim serve %s  model %.1f s  connections %lld  accepted %lld  (Ctrl-C stops and stores)\n",
		     srv->listen_name, (double)now / SCN_NS_PER_S, (long long)srv->n_conns,
		     (long long)srv->accepted_total);
	term_eprintf("%-30s %5s %5s %6s %8s %8s %7s %12s  %s\n", "mailbox", "sess", "subm", "432s",
		     "acc/min", "rel/min", "backlog", "rcpt/24h", "throttle");
	int rows = 0;
	size_t shown = 0;
	for (size_t m = 0; m < srv->s->n_mailboxes; m++) {
		if (!active(srv, m))
			continue;
		shown++;
		if (rows == SRV_VIEW_ROWS)
			continue;
		rows++;
		const srv_mbx *b = &srv->mbx[m];
		svc_mailbox_state st;
		if (svc_mailbox_now(srv->v, (int)m, now, &st) != SIM_OK)
			continue;
		char fill[32], thr[64] = "-";
		if (st.rrl_limit > 0)
			snprintf(fill, sizeof fill, "%lld %3.0f%%", (long long)st.rrl_sum,
				 100.0 * (double)st.rrl_sum / (double)st.rrl_limit);
		else
			snprintf(fill, sizeof fill, "%lld", (long long)st.rrl_sum);
		if (st.throttled_class >= 0)
			snprintf(thr, sizeof thr, "%s, %.0f s left", err_class_name[st.throttled_class],
				 (double)(st.throttled_until - now) / SCN_NS_PER_S);
		term_eprintf("%-30.30s %5lld %5lld %6lld %8lld %8lld %7zu %12s  %s\n", srv->s->mailboxes[m].name,
			     (long long)st.sessions, (long long)st.submitting,
			     (long long)b->refused[RC_CONCURRENCY], (long long)minute_last(&b->acc_min, min),
			     (long long)minute_last(&b->rel_min, min), b->rel_len, fill, thr);
	}
	if (shown > (size_t)rows)
		term_eprintf("... and %zu more mailboxes (the control endpoint lists all)\n", shown - (size_t)rows);
	if (!tty)
		fputc('\n', stderr);
}

void srv_view_tick(serve *srv)
{
	int64_t now = clk_now(&srv->clock);
	for (size_t m = 0; m < srv->s->n_mailboxes; m++)
		releases_due(&srv->mbx[m], now);
	if (srv->live && !srv->quiet)
		live(srv, now);
}

/* ---- JSON ------------------------------------------------------------------------ */

typedef struct buf {
	char *p;
	size_t len, cap;
	bool failed;
} buf;

static void bput(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bput(buf *b, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = true;
			return;
		}
		if (b->p && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap : 4096;
		while (cap <= b->len + (size_t)n)
			cap *= 2;
		char *q = realloc(b->p, cap);
		if (!q) {
			b->failed = true;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
}

/* Mailbox names are checked at load (no control characters); a quote or
 * backslash is escaped. */
static void bput_str(buf *b, const char *s)
{
	bput(b, "\"");
	for (; *s; s++)
		bput(b, *s == '"' || *s == '\\' ? "\\%c" : "%c", *s);
	bput(b, "\"");
}

static void status_json(serve *srv, buf *b)
{
	int64_t now = clk_now(&srv->clock);
	int64_t min = minute_of(now);
	bput(b, "{\"scenario\":");
	bput_str(b, srv->s->name);
	bput(b, ",\"variant\":");
	bput_str(b, srv->s->variant);
	bput(b, ",\"listen\":");
	bput_str(b, srv->listen_name);
	bput(b, ",\"wall_ns\":%lld,\"model_ns\":%lld,\"connections\":%lld,\"connections_total\":%lld,"
		"\"accepted\":%lld,\"refused\":{", (long long)ev_now(srv->loop), (long long)now,
	     (long long)srv->n_conns, (long long)srv->conns_total, (long long)srv->accepted_total);
	bool first = true;
	for (int c = 1; c < RC_COUNT; c++)
		if (srv->refused_total[c]) {
			bput(b, "%s\"%s\":%lld", first ? "" : ",", rpl_info[c].id, (long long)srv->refused_total[c]);
			first = false;
		}
	bput(b, "},\"mailboxes\":[");
	for (size_t m = 0; m < srv->s->n_mailboxes; m++) {
		const srv_mbx *mb = &srv->mbx[m];
		svc_mailbox_state st;
		if (svc_mailbox_now(srv->v, (int)m, now, &st) != SIM_OK)
			continue;
		bput(b, "%s{\"name\":", m ? "," : "");
		bput_str(b, srv->s->mailboxes[m].name);
		bput(b, ",\"sessions\":%lld,\"submitting\":%lld,\"accepted\":%lld,\"released\":%lld,"
			"\"awaiting_release\":%zu,\"accepted_last_minute\":%lld,\"released_last_minute\":%lld,"
			"\"recipient_window\":%lld,\"recipient_limit\":%lld,\"size_bytes\":%lld,\"refused\":{",
		     (long long)st.sessions, (long long)st.submitting, (long long)mb->accepted,
		     (long long)mb->released, mb->rel_len, (long long)minute_last(&mb->acc_min, min),
		     (long long)minute_last(&mb->rel_min, min), (long long)st.rrl_sum, (long long)st.rrl_limit,
		     (long long)st.size_bytes);
		first = true;
		for (int c = 1; c < RC_COUNT; c++)
			if (mb->refused[c]) {
				bput(b, "%s\"%s\":%lld", first ? "" : ",", rpl_info[c].id, (long long)mb->refused[c]);
				first = false;
			}
		bput(b, "},\"throttle\":");
		if (st.throttled_class >= 0)
			bput(b, "{\"class\":\"%s\",\"until_model_ns\":%lld}", err_class_name[st.throttled_class],
			     (long long)st.throttled_until);
		else
			bput(b, "null");
		bput(b, "}");
	}
	bput(b, "]}\n");
}

/* ---- the control endpoint -------------------------------------------------------- */

typedef struct ctl_conn {
	ev_io io;
	ev_timer expire;         /* a client that never asks is dropped */
	serve *srv;
	struct ctl_conn *prev, *next;
	size_t len;
	char req[SRV_CTL_REQ_MAX];
} ctl_conn;

static void ctl_done(ctl_conn *k)
{
	serve *srv = k->srv;
	if (k->prev)
		k->prev->next = k->next;
	else
		srv->ctl_conns = k->next;
	if (k->next)
		k->next->prev = k->prev;
	ev_timer_stop(srv->loop, &k->expire);
	ev_io_stop(k->srv->loop, &k->io);
	close(k->io.fd);
	free(k);
}

static void ctl_answer(ctl_conn *k, int code, const char *reason, const char *body, size_t n)
{
	char head[256];
	int h = snprintf(head, sizeof head,
			 "HTTP/1.0 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
			 code, reason, code == 200 ? "application/json" : "text/plain", n);
	/* Small answers to a local client: written at once or dropped (the
	 * socket is non-blocking; a client that does not read loses it). */
	(void)!send(k->io.fd, head, (size_t)h, MSG_NOSIGNAL | MSG_DONTWAIT);
	size_t off = 0;
	while (off < n) {
		ssize_t w = send(k->io.fd, body + off, n - off, MSG_NOSIGNAL);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	ctl_done(k);
}

static void ctl_read(ev_loop *l, ev_io *w, unsigned events)
{
	(void)l, (void)events;
	ctl_conn *k = w->arg;
	ssize_t r = recv(w->fd, k->req + k->len, sizeof k->req - 1 - k->len, 0);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		ctl_done(k);
		return;
	}
	k->len += (size_t)r;
	k->req[k->len] = 0;
	if (!strstr(k->req, "\r\n\r\n") && !strstr(k->req, "\n\n")) {
		if (k->len == sizeof k->req - 1) {
			static const char big[] = "request too long\n";
			ctl_answer(k, 431, "Request Header Fields Too Large", big, sizeof big - 1);
		}
		return;
	}
	if (strncmp(k->req, "GET /status ", 12) == 0 || strncmp(k->req, "GET /status?", 12) == 0) {
		buf b = { 0 };
		status_json(k->srv, &b);
		if (b.failed) {
			static const char oom[] = "out of memory\n";
			ctl_answer(k, 500, "Internal Server Error", oom, sizeof oom - 1);
		} else {
			ctl_answer(k, 200, "OK", b.p, b.len);
		}
		free(b.p);
		return;
	}
	static const char nf[] = "only GET /status is served here\n";
	ctl_answer(k, 404, "Not Found", nf, sizeof nf - 1);
}

static void ctl_expire(ev_loop *l, ev_timer *t)
{
	(void)l;
	ctl_done(t->arg);
}

static void ctl_accept(ev_loop *l, ev_io *w, unsigned events)
{
	(void)events;
	serve *srv = w->arg;
	for (int i = 0; i < 16; i++) {
		int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		ctl_conn *k = calloc(1, sizeof *k);
		if (!k || ev_io_start(l, &k->io, fd, EV_READ, ctl_read, k) != SIM_OK) {
			free(k);
			close(fd);
			continue;
		}
		k->srv = srv;
		k->next = srv->ctl_conns;
		if (k->next)
			k->next->prev = k;
		srv->ctl_conns = k;
		ev_timer_start(l, &k->expire, ev_now(l) + 5 * SCN_NS_PER_S, ctl_expire, k);
	}
}

int srv_control_open(serve *srv, const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof a.sun_path || strlen(path) >= sizeof srv->control_path) {
		term_eprintf("throttlesim serve: --control %s: the path is too long for a UNIX socket (at most %zu)\n",
			     path, sizeof a.sun_path - 1);
		return -1;
	}
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			term_eprintf("throttlesim serve: --control %s: exists and is not a socket; not replaced\n", path);
			return -1;
		}
		unlink(path);  /* a socket left by an earlier server */
	}
	memcpy(a.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	mode_t old = umask(0177);  /* the socket is the user's alone */
	int ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(fd, 16) == 0;
	umask(old);
	if (!ok) {
		term_eprintf("throttlesim serve: --control %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (ev_io_start(srv->loop, &srv->control_io, fd, EV_READ, ctl_accept, srv) != SIM_OK) {
		close(fd);
		unlink(path);
		term_eprintf("throttlesim serve: --control %s: the event loop could not watch it\n", path);
		return -1;
	}
	srv->control_fd = fd;
	memcpy(srv->control_path, path, strlen(path) + 1);
	return 0;
}

void srv_control_close(serve *srv)
{
	while (srv->ctl_conns)
		ctl_done(srv->ctl_conns);
	if (srv->control_fd < 0)
		return;
	ev_io_stop(srv->loop, &srv->control_io);
	close(srv->control_fd);
	unlink(srv->control_path);
	srv->control_fd = -1;
}
