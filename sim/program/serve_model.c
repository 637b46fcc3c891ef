/* serve_model.c - the SMTP layer's callbacks for `throttlesim serve`: each
 * decision the layer leaves to the model goes to the service
 * (models/service.h) through the same calls the simulated senders make,
 * on the loop's clock port.  Nothing here re-implements a rule: this file
 * only says what the client did (who it is, how it authenticated, which
 * recipients are external, who the message claims to be from) and writes
 * the service's answer back.
 *
 * What the client's actions become:
 *   AUTH      identity -> the mailbox of that name (case-insensitive);
 *             PLAIN and LOGIN are Basic authentication, XOAUTH2 is OAuth;
 *             a wrong password (when the scenario gives one) or a token
 *             that does not verify are wrong credentials; TLS below 1.2
 *             is tls_too_old.  The service decides in its order.
 *   RCPT      counted: internal when its domain is one of the mailboxes'
 *             domains (the tenant's accepted domains, as far as the
 *             scenario says), else external.  A group is one recipient.
 *   DATA      the envelope checks (svc_envelope), then the submission
 *             begins (it counts for concurrency_check: end_of_data from
 *             here to its answer, as in the model).
 *   end       svc_submit with the message's recipients, size and the
 *             Send As fault when the envelope sender or the From: header
 *             is neither the mailbox nor one it has a grant on.
 * Transient faults (the limits' auth_fault_rate, data_fault_rate) draw
 * their uniform from a counter-based hash of (seed, connection, attempt),
 * so a given order of connections gets the same faults.
 */
#include "serve_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "presets.h"
#include "replies.h"
#include "rng.h"
#include "sendas.h"
#include "token.h"

/* ---- lookup tables ------------------------------------------------------- */

static uint64_t hash_ci(const char *p)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *p; p++) {
		h ^= (unsigned char)tolower((unsigned char)*p);
		h *= 1099511628211ULL;
	}
	return h;
}

int srv_mailbox_find(const serve *srv, const char *addr)
{
	if (!addr || !*addr)
		return -1;
	for (size_t i = hash_ci(addr) & srv->mbx_hash_mask;; i = (i + 1) & srv->mbx_hash_mask) {
		int32_t m = srv->mbx_hash[i];
		if (m < 0)
			return -1;
		if (strcasecmp(srv->s->mailboxes[m].name, addr) == 0)
			return m;
	}
}

static const char *domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');
	return at ? at + 1 : NULL;
}

static bool accepted_domain(const serve *srv, const char *domain)
{
	if (!domain)
		return true;  /* <postmaster>: the server's own */
	for (size_t i = 0; i < srv->n_domains; i++)
		if (strcasecmp(srv->domains[i], domain) == 0)
			return true;
	return false;
}

static void svc_throttle_hook(void *ctx, int mailbox, scn_error_class c, int64_t start_ns, int64_t end_ns)
{
	rec_throttle(ctx, mailbox, (int)c, start_ns, end_ns);
	srv_figs_throttle(ctx, mailbox, start_ns, end_ns);
}

static void held_hook(void *ctx, svc_session *s, const svc_outcome *o);

int srv_model_init(serve *srv)
{
	const scenario *s = srv->s;
	size_t cap = 16;
	while (cap < 2 * s->n_mailboxes + 2)
		cap *= 2;
	srv->mbx_hash = malloc(cap * sizeof *srv->mbx_hash);
	srv->mbx = calloc(s->n_mailboxes ? s->n_mailboxes : 1, sizeof *srv->mbx);
	srv->domains = calloc(s->n_mailboxes ? s->n_mailboxes : 1, sizeof *srv->domains);
	if (!srv->mbx_hash || !srv->mbx || !srv->domains)
		return SIM_ENOMEM;
	srv->mbx_hash_mask = cap - 1;
	for (size_t i = 0; i < cap; i++)
		srv->mbx_hash[i] = -1;
	for (size_t m = 0; m < s->n_mailboxes; m++) {
		size_t i = hash_ci(s->mailboxes[m].name) & srv->mbx_hash_mask;
		while (srv->mbx_hash[i] >= 0)
			i = (i + 1) & srv->mbx_hash_mask;
		srv->mbx_hash[i] = (int32_t)m;
		const char *d = domain_of(s->mailboxes[m].name);
		if (d && !accepted_domain(srv, d))
			srv->domains[srv->n_domains++] = (char *)d;
	}
	svc_hooks hooks = { .ctx = srv, .held_answered = held_hook, .throttle_started = svc_throttle_hook };
	srv->v = svc_new(s, &srv->clock, &sim_alloc_std, SRV_SOURCES, hooks);
	return srv->v ? SIM_OK : SIM_ENOMEM;
}

void srv_model_free(serve *srv)
{
	svc_free(srv->v);
	srv->v = NULL;
	free(srv->mbx_hash);
	free(srv->mbx);
	free(srv->domains);
}

/* ---- replies --------------------------------------------------------------- */

/* "432 4.3.2 Concurrent ..." -> r (pointing into line and enh). */
static void split_reply(const char *line, char enh[16], smtp_reply *r)
{
	r->code = atoi(line);
	r->enhanced = NULL;
	r->text = "";
	const char *p = strchr(line, ' ');
	if (!p)
		return;
	p++;
	const char *q = p;
	while (isdigit((unsigned char)*q) || *q == '.')
		q++;
	if (q > p && q - p < 16 && (*q == ' ' || *q == 0) && isdigit((unsigned char)*p)) {
		memcpy(enh, p, (size_t)(q - p));
		enh[q - p] = 0;
		r->enhanced = enh;
		p = *q ? q + 1 : q;
	}
	r->text = p;
}

static const scn_reply *reply_of(const svc_outcome *o)
{
	return o->reply ? o->reply : preset_reply(o->rc);
}

static const char *reply_line(const svc_outcome *o)
{
	if (o->reply)
		return o->reply->text;
	const scn_reply *p = preset_reply(o->rc);
	return p ? p->text : rpl_info[o->rc].text;
}

static void count_outcome(serve *srv, int mailbox, scn_reply_class rc)
{
	if (rc == RC_OK)
		return;
	srv->refused_total[rc]++;
	if (mailbox >= 0)
		srv->mbx[mailbox].refused[rc]++;
}

static bool drops(const svc_outcome *o)
{
	return o->reply ? o->reply->drops_connection : rpl_info[o->rc].drops_connection;
}

/* ---- AUTH ---------------------------------------------------------------------- */

static bool secret_equal(const char *a, size_t an, const char *b)
{
	size_t bn = strlen(b);
	unsigned char d = an != bn;
	for (size_t i = 0; i < an && i < bn; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

static uint64_t fault_key(const serve *srv)
{
	return rng_key(srv->seed, 0, 0, 0, 0x5e7e);
}

static void pend_auth_later(void *arg);

static int on_auth(void *ctx, const smtp_auth *a, smtp_reply *r)
{
	srv_conn *c = ctx;
	serve *srv = c->srv;
	int m = srv_mailbox_find(srv, a->identity);
	bool authz_ok = a->authzid_len == 0 || strcasecmp(a->authzid, a->identity) == 0;
	svc_outcome o;
	memset(&o, 0, sizeof o);
	c->mech = a->mech;
	if (m < 0 || !authz_ok) {
		o.rc = RC_BAD_CREDENTIALS;
	} else {
		const scn_mailbox *mb = &srv->s->mailboxes[m];
		svc_client cl = { 0 };
		cl.basic_auth = a->mech != SMTP_MECH_XOAUTH2;
		cl.tls_too_old = c->tls && tls_version(c->tls) < 0x0303;
		if (a->mech == SMTP_MECH_XOAUTH2)
			cl.bad_credentials = !srv->have_token_key ||
				tok_verify(srv->token_key, a->secret, a->secret_len, a->identity,
					   (int64_t)time(NULL)) != TOK_OK;
		else
			cl.bad_credentials = mb->password && !secret_equal(a->secret, a->secret_len, mb->password);
		cl.fault_u = rng_hash_uniform(fault_key(srv), c->id, 0, 1);
		if (svc_auth(srv->v, &c->ss, 0, m, c->source, &cl, &o) != SIM_OK)
			o.rc = RC_AUTH_TEMPORARY;
	}
	if (o.rc == RC_OK) {
		c->mailbox = m;
		c->ss.user = c;
		srv->mbx[m].sessions++;
		srv_figs_auth(srv, m, RC_OK, NULL);
		rec_auth(srv, c, a->identity, 235, "2.7.0");
		r->code = 0;
		return SMTP_NOW;
	}
	count_outcome(srv, m, o.rc);
	srv_figs_auth(srv, m, o.rc, reply_of(&o));
	split_reply(reply_line(&o), c->pend_enh, r);
	snprintf(c->pend_text, sizeof c->pend_text, "%s", r->text);
	r->text = c->pend_text;
	rec_auth(srv, c, a->identity, r->code, r->enhanced);
	if (o.reply_delay_ns > 0) {
		/* the refusal takes the limits' auth_fail_tarpit to arrive */
		c->pend_code = r->code;
		if (clk_schedule_at(&srv->clock, clk_now(&srv->clock) + o.reply_delay_ns,
				    pend_auth_later, c, &c->later) == SIM_OK)
			return SMTP_LATER;
	}
	if (drops(&o) && r->code != 421) {
		c->pend_code = r->code;
		c->drop_after = true;
		return SMTP_LATER;
	}
	return SMTP_NOW;
}

static void pend_auth_later(void *arg)
{
	srv_conn *c = arg;
	smtp_reply r = { c->pend_code, c->pend_enh[0] ? c->pend_enh : NULL, c->pend_text };
	smtp_answer(&c->smtp, &r);
	srv_kick(c);
}

/* ---- the envelope -------------------------------------------------------------- */

static void reset_message(srv_conn *c)
{
	c->rcpt_internal = c->rcpt_external = 0;
	c->in_headers = true;
	c->hdr_skip = c->hdr_cr = false;
	c->hdr_which = 0;
	c->hdr_len = 0;
	c->from_hdr[0] = c->msgid[0] = 0;
}

static int on_mail(void *ctx, const smtp_envelope *e, smtp_reply *r)
{
	(void)e, (void)r;
	reset_message(ctx);
	return SMTP_NOW;
}

static int on_rcpt(void *ctx, const smtp_envelope *e, const char *rcpt, smtp_reply *r)
{
	(void)e, (void)r;
	srv_conn *c = ctx;
	if (accepted_domain(c->srv, domain_of(rcpt)))
		c->rcpt_internal++;
	else
		c->rcpt_external++;
	return SMTP_NOW;
}

static svc_message message_of(const srv_conn *c, const smtp_envelope *e)
{
	svc_message m = { 0 };
	m.recipients = c->rcpt_internal + c->rcpt_external;
	m.external = c->rcpt_external;
	m.size_bytes = e->size_bytes;
	return m;
}

/* A refusal: its reply in r, or held in the connection when it drops the
 * connection (the pump answers it once the feed has stopped, so nothing
 * pipelined behind it is read). */
static int refuse(srv_conn *c, const svc_outcome *o, smtp_reply *r)
{
	count_outcome(c->srv, c->mailbox, o->rc);
	srv_figs_attempt(c->srv, c, o->rc, reply_of(o), -1);
	split_reply(reply_line(o), c->pend_enh, r);
	if (drops(o) && r->code != 421) {
		c->pend_code = r->code;
		snprintf(c->pend_text, sizeof c->pend_text, "%s", r->text);
		c->drop_after = true;
		return SMTP_LATER;
	}
	return SMTP_NOW;
}

static int on_envelope(void *ctx, const smtp_envelope *e, smtp_reply *r)
{
	srv_conn *c = ctx;
	serve *srv = c->srv;
	svc_message m = message_of(c, e);
	svc_outcome o;
	c->data_begin_model = clk_now(&srv->clock);
	if (svc_envelope(srv->v, &c->ss, &m, &o) != SIM_OK) {
		o.rc = RC_DATA_TEMPORARY;
		o.reply = NULL;
	}
	if (o.rc != RC_OK) {
		int st = refuse(c, &o, r);
		rec_message(srv, c, e, STAGE_DATA, r->code, r->enhanced, -1);
		return st;
	}
	svc_submission_begin(srv->v, &c->ss);
	c->data_begin_model = clk_now(&srv->clock);
	return SMTP_NOW;
}

/* ---- the headers: From: and Message-ID: ----------------------------------------- */

/* The address in a From: value: inside <...> if there is one, else the
 * first word; cut at SMTP_PATH_MAX. */
static void header_address(const char *v, char *out)
{
	const char *lt = strchr(v, '<');
	const char *p = lt ? lt + 1 : v;
	while (*p == ' ' || *p == '\t')
		p++;
	size_t n = 0;
	while (p[n] && p[n] != '>' && p[n] != ',' && (lt || (p[n] != ' ' && p[n] != '\t')) &&
	       n < SMTP_PATH_MAX)
		n++;
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	memcpy(out, p, n);
	out[n] = 0;
}

static void header_line_end(srv_conn *c)
{
	c->hdr[c->hdr_len] = 0;
	if (c->hdr_len == 0) {
		c->in_headers = false;
		return;
	}
	if (c->hdr_skip)
		return;
	if (c->hdr[0] == ' ' || c->hdr[0] == '\t') {
		/* a folded line continues the last header: only an empty value
		 * so far is completed from it */
		if (c->hdr_which == 1 && !c->from_hdr[0])
			header_address(c->hdr, c->from_hdr);
		else if (c->hdr_which == 2 && !c->msgid[0])
			header_address(c->hdr, c->msgid);
		return;
	}
	c->hdr_which = 0;
	if (strncasecmp(c->hdr, "From:", 5) == 0) {
		c->hdr_which = 1;
		if (!c->from_hdr[0])
			header_address(c->hdr + 5, c->from_hdr);
	} else if (strncasecmp(c->hdr, "Message-ID:", 11) == 0) {
		c->hdr_which = 2;
		if (!c->msgid[0])
			header_address(c->hdr + 11, c->msgid);
	}
}

static void on_data(void *ctx, const unsigned char *p, size_t n)
{
	srv_conn *c = ctx;
	for (size_t i = 0; i < n && c->in_headers; i++) {
		unsigned char ch = p[i];
		if (ch == '\n' && c->hdr_cr) {
			c->hdr_cr = false;
			header_line_end(c);
			c->hdr_len = 0;
			c->hdr_skip = false;
			continue;
		}
		if (c->hdr_cr) {  /* a bare CR is content */
			c->hdr_cr = false;
			if (c->hdr_len < SRV_HDR_MAX)
				c->hdr[c->hdr_len++] = '\r';
			else
				c->hdr_skip = true;
		}
		if (ch == '\r') {
			c->hdr_cr = true;
			continue;
		}
		if (c->hdr_len < SRV_HDR_MAX)
			c->hdr[c->hdr_len++] = ch ? (char)ch : ' ';
		else
			c->hdr_skip = true;
	}
}

/* ---- end of data ---------------------------------------------------------------- */

static void answer_accepted(srv_conn *c, const smtp_envelope *e, const svc_outcome *o, smtp_reply *r)
{
	serve *srv = c->srv;
	srv_mbx *mb = &srv->mbx[c->mailbox];
	mb->accepted++;
	mb->recipients += c->rcpt_internal + c->rcpt_external;
	srv_note_accepted(srv, c->mailbox, clk_now(&srv->clock), o->release_ns);
	srv->accepted_total++;
	srv_figs_attempt(srv, c, RC_OK, NULL, o->release_ns);
	r->code = 250;
	r->enhanced = "2.0.0";
	r->text = "OK";
	rec_message(srv, c, e, STAGE_END_OF_DATA, 250, "2.0.0", o->release_ns);
}

static int on_message_end(void *ctx, const smtp_envelope *e, smtp_reply *r)
{
	srv_conn *c = ctx;
	serve *srv = c->srv;
	const scn_mailbox *mb = &srv->s->mailboxes[c->mailbox];
	svc_message m = message_of(c, e);
	bool from_ok = !e->from[0] || scn_may_send_as(mb, e->from);
	bool hdr_ok = !c->from_hdr[0] || scn_may_send_as(mb, c->from_hdr);
	if (!from_ok || !hdr_ok)
		m.fault = SVC_FAULT_SEND_AS_DENIED;
	m.fault_u = (float)rng_hash_uniform(fault_key(srv), c->id, ++c->messages, 2);
	svc_outcome o;
	if (svc_submit(srv->v, &c->ss, &m, &o) != SIM_OK) {
		o.rc = RC_DATA_TEMPORARY;
		o.reply = NULL;
		o.held = false;
		svc_submission_abort(srv->v, &c->ss);
	}
	if (o.held)
		return SMTP_LATER;  /* the tarpit: held_hook answers */
	if (o.rc == RC_OK) {
		answer_accepted(c, e, &o, r);
		return SMTP_NOW;
	}
	int st = refuse(c, &o, r);
	rec_message(srv, c, e, STAGE_END_OF_DATA, r->code, r->enhanced, -1);
	return st;
}

static void held_hook(void *ctx, svc_session *s, const svc_outcome *o)
{
	(void)ctx;
	srv_conn *c = s->user;
	smtp_reply r;
	answer_accepted(c, &c->smtp.env, o, &r);
	smtp_answer(&c->smtp, &r);
	srv_kick(c);
}

static void on_reset(void *ctx)
{
	srv_conn *c = ctx;
	if (c->mailbox >= 0 && c->ss.submitting)
		svc_submission_abort(c->srv->v, &c->ss);
	reset_message(c);
}

void srv_conn_lost(srv_conn *c)
{
	serve *srv = c->srv;
	clk_cancel(&srv->clock, &c->later);
	if (c->mailbox >= 0) {
		svc_quit(srv->v, &c->ss);
		srv->mbx[c->mailbox].sessions--;
		c->mailbox = -1;
		srv_figs_sessions(srv);
	}
}

const smtp_callbacks srv_callbacks_template = {
	.ctx = NULL,
	.on_auth = on_auth,
	.on_mail = on_mail,
	.on_rcpt = on_rcpt,
	.on_envelope = on_envelope,
	.on_data = on_data,
	.on_message_end = on_message_end,
	.on_reset = on_reset,
};
