/* test_serve.c - `throttlesim serve` against the service itself: the same
 * sequence of client actions, sent over real SMTP connections to the
 * server and applied to the service (models/service.h) on a hand-stepped
 * clock (tclk.h), must get the same replies.  Each script's replies are
 * also worked out by hand in its comment, so a bug shared by both sides
 * still fails.  The server then stops on SIGTERM and its stored run must
 * hold the counts the scripts imply.
 *
 * The server runs as the built binary ($THROTTLESIM_BIN), without TLS
 * (STARTTLS with real clients is tests/serve/clients.sh), on a free
 * loopback port, at time scale 1: every script finishes well inside its
 * windows (a minute for the message rate, 10 minutes for error throttling,
 * 24 hours for recipients), so wall-clock timing cannot change a reply.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "presets.h"
#include "replies.h"
#include "scn_load.h"
#include "service.h"
#include "store.h"
#include "tclk.h"

#define S 1000000000LL

static const char scenario_text[] =
	"name: serve-agree\n"
	"start: 2026-06-01T00:00:00Z\n"
	"duration: 1d\n"
	"tenant: {licenses: 100}\n"
	"mailboxes:\n"
	"  - {name: conc@contoso.com, password: pw}\n"
	"  - {name: cet@contoso.com, password: pw}\n"
	"  - {name: rated@contoso.com, password: pw, limits: {message_rate_mode: reject}}\n"
	"  - {name: bulk@contoso.com, password: pw}\n"
	"  - {name: off@contoso.com, password: pw, smtp_client_auth_disabled: true}\n"
	"  - {name: grant@contoso.com, password: pw, send_as: [reception@contoso.com]}\n"
	"limits:\n"
	"  preset: exchange-online\n"
	"  concurrency_check: end_of_data\n"
	"  error_throttle: {threshold: 10, window: 10m, period: 1h}\n";

enum { MB_CONC, MB_CET, MB_RATED, MB_BULK, MB_OFF, MB_GRANT, N_MB };

typedef struct server {
	char dir[64];
	char path[128], db[128], ctl[96];
	pid_t pid;
	int port;
} server;

static server srv;

/* ---- the server ------------------------------------------------------------ */

static int start_server(void **state)
{
	(void)state;
	const char *bin = getenv("THROTTLESIM_BIN");
	if (!bin)
		bin = "build/debug/throttlesim";
	snprintf(srv.dir, sizeof srv.dir, "/tmp/test_serve.XXXXXX");
	if (!mkdtemp(srv.dir))
		return -1;
	snprintf(srv.path, sizeof srv.path, "%s/agree.yaml", srv.dir);
	snprintf(srv.db, sizeof srv.db, "%s/serve.db", srv.dir);
	snprintf(srv.ctl, sizeof srv.ctl, "%s/ctl.sock", srv.dir);
	FILE *f = fopen(srv.path, "w");
	if (!f)
		return -1;
	fputs(scenario_text, f);
	fclose(f);
	char key[128];
	snprintf(key, sizeof key, "%s/token.key", srv.dir);
	int out[2];
	if (pipe(out) != 0)
		return -1;
	srv.pid = fork();
	if (srv.pid == 0) {
		dup2(out[1], 1);
		close(out[0]);
		execl(bin, bin, "serve", srv.path, "--no-tls", "--listen", "127.0.0.1:0", "--quiet", "--db", srv.db,
		      "--token-key", key, "--control", srv.ctl, (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	char line[128] = "";
	FILE *rf = fdopen(out[0], "r");
	if (!rf || !fgets(line, sizeof line, rf))
		return -1;
	fclose(rf);
	const char *colon = strrchr(line, ':');
	srv.port = colon ? atoi(colon + 1) : 0;
	return srv.port > 0 ? 0 : -1;
}

static int stop_server(void **state)
{
	(void)state;
	if (srv.pid > 0) {
		kill(srv.pid, SIGKILL);
		waitpid(srv.pid, NULL, 0);
	}
	char cmd[256];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", srv.dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- a small blocking SMTP client ---------------------------------------- */

typedef struct client {
	int fd;
	char buf[8192];
	size_t len;
	char last[600];  /* the last reply line */
} client;

static void cl_connect(client *c)
{
	memset(c, 0, sizeof *c);
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(c->fd >= 0);
	struct timeval tv = { 20, 0 };
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)srv.port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&a, sizeof a), 0);
}

/* The code of the next reply (its last line); 0 at EOF. */
static int cl_reply(client *c)
{
	for (;;) {
		char *nl;
		while ((nl = memchr(c->buf, '\n', c->len)) != NULL) {
			size_t n = (size_t)(nl - c->buf) + 1;
			size_t k = n < sizeof c->last ? n : sizeof c->last - 1;
			memcpy(c->last, c->buf, k);
			c->last[k] = 0;
			memmove(c->buf, c->buf + n, c->len - n);
			c->len -= n;
			if (n >= 4 && c->last[3] == ' ')
				return atoi(c->last);
		}
		ssize_t r = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
		if (r <= 0)
			return 0;
		c->len += (size_t)r;
	}
}

static void cl_send(client *c, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof line);
	assert_int_equal(send(c->fd, line, (size_t)n, MSG_NOSIGNAL), n);
}

static int cl_cmd(client *c, const char *fmt, const char *arg)
{
	char line[1024];
	snprintf(line, sizeof line, fmt, arg);
	cl_send(c, "%s\r\n", line);
	return cl_reply(c);
}

/* base64 of "\0user\0pass" for AUTH PLAIN */
static void plain_b64(const char *user, const char *pass, char *out)
{
	unsigned char raw[256];
	size_t n = 0;
	raw[n++] = 0;
	n += (size_t)sprintf((char *)raw + n, "%s", user);
	raw[n++] = 0;
	n += (size_t)sprintf((char *)raw + n, "%s", pass);
	static const char tb[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)raw[i] << 16 | (i + 1 < n ? (uint32_t)raw[i + 1] << 8 : 0) |
			     (i + 2 < n ? raw[i + 2] : 0);
		out[o++] = tb[v >> 18 & 63];
		out[o++] = tb[v >> 12 & 63];
		out[o++] = i + 1 < n ? tb[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? tb[v & 63] : '=';
	}
	out[o] = 0;
}

/* Connect, greet, authenticate: the AUTH reply's code. */
static int cl_login(client *c, const char *user, const char *pass)
{
	cl_connect(c);
	assert_int_equal(cl_reply(c), 220);
	assert_int_equal(cl_cmd(c, "EHLO %s", "test.example"), 250);
	char b64[400];
	plain_b64(user, pass, b64);
	return cl_cmd(c, "AUTH PLAIN %s", b64);
}

/* MAIL, n RCPTs (i@fabrikam.com, external), DATA: 354 expected. */
static void cl_begin(client *c, const char *from, int n_rcpt)
{
	assert_int_equal(cl_cmd(c, "MAIL FROM:<%s>", from), 250);
	for (int i = 0; i < n_rcpt; i++) {
		char r[64];
		snprintf(r, sizeof r, "r%d@fabrikam.com", i);
		assert_int_equal(cl_cmd(c, "RCPT TO:<%s>", r), 250);
	}
	assert_int_equal(cl_cmd(c, "%s", "DATA"), 354);
}

/* The message body and its final dot: the end-of-data reply's code. */
static int cl_end(client *c, const char *from_header, int serial)
{
	cl_send(c, "From: <%s>\r\nMessage-ID: <m%d.%d@test.example>\r\nSubject: t\r\n\r\nbody\r\n.\r\n",
		from_header, serial, c->fd);
	return cl_reply(c);
}

static int cl_message(client *c, const char *from, const char *from_header, int n_rcpt, int serial)
{
	cl_begin(c, from, n_rcpt);
	return cl_end(c, from_header, serial);
}

static void cl_close(client *c)
{
	close(c->fd);
	c->fd = -1;
}

/* ---- the service on a stepped clock ---------------------------------------- */

typedef struct model {
	scenario **v;
	size_t n;
	tclk t;
	clk port;
	svc *s;
} model;

static void model_start(model *m)
{
	memset(m, 0, sizeof *m);
	scn_errors errs = { 0 };
	assert_int_equal(scn_load_serve(srv.path, &sim_alloc_std, &m->v, &m->n, &errs), SIM_OK);
	scn_errors_free(&errs);
	m->port = tclk_port(&m->t);
	m->s = svc_new(m->v[0], &m->port, &sim_alloc_std, 16, (svc_hooks){ 0 });
	assert_non_null(m->s);
}

static void model_free(model *m)
{
	svc_free(m->s);
	scn_free_all(m->v, m->n, &sim_alloc_std);
}

static const svc_client PLAIN_OK = { .basic_auth = true, .fault_u = 1.0 };

static int code_of(scn_reply_class rc)
{
	if (rc == RC_OK)
		return 250;
	const scn_reply *r = preset_reply(rc);
	return r ? r->code : rpl_info[rc].code;
}

static int m_auth(model *m, svc_session *ss, int mailbox, const svc_client *cl)
{
	svc_outcome o;
	assert_int_equal(svc_auth(m->s, ss, 0, mailbox, 0, cl, &o), SIM_OK);
	return o.rc == RC_OK ? 235 : code_of(o.rc);
}

static int m_submit(model *m, svc_session *ss, int64_t rcpts, svc_fault fault)
{
	svc_message msg = { .recipients = rcpts, .external = rcpts, .size_bytes = 100, .fault = fault,
			    .fault_u = 1.0f };
	svc_outcome o;
	assert_int_equal(svc_submit(m->s, ss, &msg, &o), SIM_OK);
	assert_false(o.held);
	if (o.rc != RC_OK && o.reply)
		return o.reply->code;
	return code_of(o.rc);
}

/* ---- the scripts ---------------------------------------------------------------- */

/* Four clients on one mailbox, three of them mid-upload (DATA answered
 * 354, body not finished): the fourth's end of data is refused, 432 4.3.2
 * (concurrency_check: end_of_data: 3 other submissions in progress), and
 * the connection is dropped; the three then finish, 250 each. */
static void test_concurrency_432(void **state)
{
	(void)state;
	model m;
	model_start(&m);
	svc_session ms[4];
	int want[5];
	for (int i = 0; i < 4; i++)
		assert_int_equal(m_auth(&m, &ms[i], MB_CONC, &PLAIN_OK), 235);
	for (int i = 0; i < 4; i++)
		assert_int_equal(svc_submission_begin(m.s, &ms[i]), SIM_OK);
	want[3] = m_submit(&m, &ms[3], 1, SVC_FAULT_NONE);
	for (int i = 0; i < 3; i++)
		want[i] = m_submit(&m, &ms[i], 1, SVC_FAULT_NONE);
	model_free(&m);
	/* by hand */
	assert_int_equal(want[3], 432);
	assert_int_equal(want[0], 250);

	client c[4];
	for (int i = 0; i < 4; i++)
		assert_int_equal(cl_login(&c[i], "conc@contoso.com", "pw"), 235);
	for (int i = 0; i < 4; i++)
		cl_begin(&c[i], "conc@contoso.com", 1);
	assert_int_equal(cl_end(&c[3], "conc@contoso.com", 3), want[3]);
	assert_non_null(strstr(c[3].last, "4.3.2 Concurrent connections limit exceeded"));
	assert_int_equal(cl_reply(&c[3]), 0);  /* dropped */
	for (int i = 0; i < 3; i++)
		assert_int_equal(cl_end(&c[i], "conc@contoso.com", i), want[i]);
	for (int i = 0; i < 4; i++)
		cl_close(&c[i]);
}

/* Ten messages whose From: is not the mailbox nor a grant: 550 5.7.60
 * each; the tenth starts a send-as throttle period (threshold 10), so a
 * well-behaved client on the same mailbox then gets 550 5.2.252, while a
 * client on another mailbox is not affected (250).  A grant works. */
static void test_send_as_throttle(void **state)
{
	(void)state;
	model m;
	model_start(&m);
	svc_session bad, good, other;
	int want_bad[10], want_good, want_other;
	assert_int_equal(m_auth(&m, &bad, MB_CET, &PLAIN_OK), 235);
	for (int i = 0; i < 10; i++)
		want_bad[i] = m_submit(&m, &bad, 1, SVC_FAULT_SEND_AS_DENIED);
	assert_int_equal(m_auth(&m, &good, MB_CET, &PLAIN_OK), 235);
	want_good = m_submit(&m, &good, 1, SVC_FAULT_NONE);
	assert_int_equal(m_auth(&m, &other, MB_GRANT, &PLAIN_OK), 235);
	want_other = m_submit(&m, &other, 1, SVC_FAULT_NONE);
	model_free(&m);
	assert_int_equal(want_bad[0], 550);
	assert_int_equal(want_bad[9], 550);
	assert_int_equal(want_good, 550);
	assert_int_equal(want_other, 250);

	client c;
	assert_int_equal(cl_login(&c, "cet@contoso.com", "pw"), 235);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(cl_message(&c, "cet@contoso.com", "ceo@contoso.com", 1, 100 + i), want_bad[i]);
		assert_non_null(strstr(c.last, "5.7.60"));
	}
	cl_close(&c);
	assert_int_equal(cl_login(&c, "cet@contoso.com", "pw"), 235);
	assert_int_equal(cl_message(&c, "cet@contoso.com", "cet@contoso.com", 1, 200), want_good);
	assert_non_null(strstr(c.last, "550 5.2.252"));
	cl_close(&c);
	/* a grant: reception@ on grant@ is allowed; the envelope sender counts too */
	assert_int_equal(cl_login(&c, "grant@contoso.com", "pw"), 235);
	assert_int_equal(cl_message(&c, "grant@contoso.com", "Reception@Contoso.com", 1, 300), want_other);
	assert_int_equal(cl_message(&c, "ceo@contoso.com", "grant@contoso.com", 1, 301), 550);
	assert_non_null(strstr(c.last, "5.7.60"));
	cl_close(&c);
}

/* message_rate_mode: reject: 30 messages in a minute are accepted, the
 * 31st is refused with the message-rate reply (450 4.7.0). */
static void test_rate_reject_31st(void **state)
{
	(void)state;
	model m;
	model_start(&m);
	svc_session ss;
	int want[31];
	assert_int_equal(m_auth(&m, &ss, MB_RATED, &PLAIN_OK), 235);
	for (int i = 0; i < 31; i++)
		want[i] = m_submit(&m, &ss, 1, SVC_FAULT_NONE);
	model_free(&m);
	assert_int_equal(want[29], 250);
	assert_int_equal(want[30], 450);

	client c;
	assert_int_equal(cl_login(&c, "rated@contoso.com", "pw"), 235);
	for (int i = 0; i < 31; i++)
		assert_int_equal(cl_message(&c, "rated@contoso.com", "rated@contoso.com", 1, 400 + i), want[i]);
	assert_non_null(strstr(c.last, "450 4.7.0"));
	cl_close(&c);
}

/* 20 messages of 500 recipients fill the 10,000-recipient 24-hour window;
 * the next message (1 recipient: the 10,001st) is refused, 554 5.2.0. */
static void test_recipient_limit(void **state)
{
	(void)state;
	model m;
	model_start(&m);
	svc_session ss;
	int want[21];
	assert_int_equal(m_auth(&m, &ss, MB_BULK, &PLAIN_OK), 235);
	for (int i = 0; i < 20; i++)
		want[i] = m_submit(&m, &ss, 500, SVC_FAULT_NONE);
	want[20] = m_submit(&m, &ss, 1, SVC_FAULT_NONE);
	model_free(&m);
	assert_int_equal(want[19], 250);
	assert_int_equal(want[20], 554);

	client c;
	assert_int_equal(cl_login(&c, "bulk@contoso.com", "pw"), 235);
	for (int i = 0; i < 20; i++)
		assert_int_equal(cl_message(&c, "bulk@contoso.com", "bulk@contoso.com", 500, 500 + i), want[i]);
	assert_int_equal(cl_message(&c, "bulk@contoso.com", "bulk@contoso.com", 1, 520), want[20]);
	assert_non_null(strstr(c.last, "554 5.2.0"));
	cl_close(&c);
}

/* AUTH: SMTP AUTH disabled for the mailbox -> 535 5.7.139 (the mailbox's
 * wording); a wrong password -> 535 5.7.139 (credentials); an unknown
 * mailbox -> the same; a right one -> 235.  MAIL before AUTH -> 530. */
static void test_auth_replies(void **state)
{
	(void)state;
	model m;
	model_start(&m);
	svc_session ss;
	svc_client bad = PLAIN_OK;
	bad.bad_credentials = true;
	int want_off = m_auth(&m, &ss, MB_OFF, &PLAIN_OK);
	int want_bad = m_auth(&m, &ss, MB_CONC, &bad);
	model_free(&m);
	assert_int_equal(want_off, 535);
	assert_int_equal(want_bad, 535);

	client c;
	assert_int_equal(cl_login(&c, "off@contoso.com", "pw"), want_off);
	assert_non_null(strstr(c.last, "SmtpClientAuthentication is disabled for the Mailbox"));
	assert_int_equal(cl_cmd(&c, "MAIL FROM:<%s>", "off@contoso.com"), 530);
	cl_close(&c);
	assert_int_equal(cl_login(&c, "conc@contoso.com", "wrong"), want_bad);
	assert_non_null(strstr(c.last, "the user credentials were incorrect"));
	cl_close(&c);
	assert_int_equal(cl_login(&c, "nobody@contoso.com", "pw"), 535);
	cl_close(&c);
	assert_int_equal(cl_login(&c, "CONC@contoso.com", "pw"), 235);
	assert_int_equal(cl_cmd(&c, "%s", "QUIT"), 221);
	cl_close(&c);
}

/* The control endpoint: GET /status over the UNIX socket answers 200 with
 * the state as JSON; the scripts above leave 54 messages accepted (the
 * count below), 20 x 500 recipients in bulk@'s window: 10,000, and
 * cet@ throttled for send_as_denied.  Anything else is 404. */
static char *control_get(const char *request)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof a.sun_path, "%s", srv.ctl);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(send(fd, request, strlen(request), 0), (ssize_t)strlen(request));
	static char buf[65536];
	size_t n = 0;
	ssize_t r;
	while (n < sizeof buf - 1 && (r = recv(fd, buf + n, sizeof buf - 1 - n, 0)) > 0)
		n += (size_t)r;
	buf[n] = 0;
	close(fd);
	return buf;
}

static void test_control_status(void **state)
{
	(void)state;
	const char *b = control_get("GET /status HTTP/1.0\r\n\r\n");
	assert_non_null(strstr(b, "HTTP/1.0 200 OK\r\n"));
	assert_non_null(strstr(b, "\"accepted\":54,"));
	assert_non_null(strstr(b, "{\"name\":\"bulk@contoso.com\",\"sessions\":0,\"submitting\":0,\"accepted\":20,"));
	assert_non_null(strstr(b, "\"recipient_window\":10000,\"recipient_limit\":10000,"));
	assert_non_null(strstr(b, "\"throttle\":{\"class\":\"send_as_denied\","));
	/* conc@: the wrong password of test_auth_replies and the 432 */
	assert_non_null(strstr(b, "\"refused\":{\"bad_credentials\":1,\"concurrency\":1},\"throttle\":null}"));
	b = control_get("GET /other HTTP/1.0\r\n\r\n");
	assert_non_null(strstr(b, "HTTP/1.0 404 Not Found\r\n"));
	struct stat st;
	assert_int_equal(stat(srv.ctl, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

/* SIGTERM: the server stops (exit 0) and stores the run; its total
 * figures are the scripts' counts, worked out by hand:
 *   accepted: 3 (concurrency) + 1 (grant) + 30 (rate) + 20 (recipients) = 54
 *   refused at end of data: 1 x 432, 10 x 5.7.60 + 1 x 5.7.60 (envelope
 *   sender), 1 x 5.2.252, 1 x message rate, 1 x 5.2.0 = 15
 *   refused at AUTH: 3 (disabled, wrong password, unknown) */
static void test_stop_stores_run(void **state)
{
	(void)state;
	assert_int_equal(kill(srv.pid, SIGTERM), 0);
	int ws = 0;
	assert_int_equal(waitpid(srv.pid, &ws, 0), srv.pid);
	srv.pid = 0;
	assert_true(WIFEXITED(ws));
	assert_int_equal(WEXITSTATUS(ws), 0);
	sqlite3 *db;
	char err[512];
	assert_int_equal(store_open_readonly(srv.db, &db, err, sizeof err), SIM_OK);
	int64_t run;
	assert_int_equal(store_last_run(db, &run, err, sizeof err), SIM_OK);
	store_loaded *l;
	assert_int_equal(store_load_run(db, run, &l, err, sizeof err), SIM_OK);
	const store_summary *acc = store_find_summary(l, 0, RES_TOTAL, 0, "accepted");
	assert_non_null(acc);
	assert_true(acc->mean == 54.0);
	const store_summary *conn_ref = store_find_summary(l, 0, RES_TOTAL, 0, "connections_refused");
	assert_non_null(conn_ref);
	assert_true(conn_ref->mean == 3.0);
	struct stat st;
	assert_int_equal(stat(srv.ctl, &st), -1);  /* the control socket is removed at the stop */
	const store_summary *rej = store_find_summary(l, 0, RES_TOTAL, 0, "rejected");
	assert_non_null(rej);
	assert_true(rej->mean == 18.0);
	store_loaded_free(l);
	store_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_concurrency_432),
		cmocka_unit_test(test_send_as_throttle),
		cmocka_unit_test(test_rate_reject_31st),
		cmocka_unit_test(test_recipient_limit),
		cmocka_unit_test(test_auth_replies),
		cmocka_unit_test(test_control_status),
		cmocka_unit_test(test_stop_stores_run),
	};
	return cmocka_run_group_tests(tests, start_server, stop_server);
}
