/* presets.c - the route presets (see presets.h).  Every number carries its
 * source key from docs/SOURCES.md, or ASSUMPTION when no public source
 * states it. */
#include "presets.h"

#include <math.h>
#include <string.h>

#include "status.h"

#define S (1000000000LL)
#define MB (1024LL * 1024LL)

/* The catalog's replies (replies.h) as scn_reply values, by class. */
static const scn_reply replies[RC_COUNT] = {
#define X(ID, id, label, code, transient, drops, key, text) \
	[RC_##ID] = { code, transient, drops, text },
	SCN_REPLY_CLASSES(X)
#undef X
};

static const scn_reply empty_reply = { 0, false, false, "" };

const scn_reply *preset_reply(scn_reply_class c)
{
	if ((int)c < 0 || c >= RC_COUNT)
		return &empty_reply;
	return &replies[c];
}

int64_t preset_tenant_external_auto(int64_t licenses)
{
	if (licenses < 1)
		licenses = 1;
	return (int64_t)floor(500.0 * pow((double)licenses, 0.7) + 9500.0 + 0.5);
}

static scn_reply mk(int code, bool transient, bool drops, const char *text)
{
	scn_reply r = { code, transient, drops, "" };
	strncpy(r.text, text, sizeof r.text - 1);
	return r;
}

/* The common skeleton: Exchange Online's replies, every limit off. */
static void base(scn_limits *l, const char *name)
{
	memset(l, 0, sizeof *l);
	strncpy(l->preset, name, sizeof l->preset - 1);
	l->connections.scope = SCOPE_MAILBOX;
	l->connections.counts = COUNT_SESSIONS;
	l->connections.check = CONC_AT_AUTH;  /* a connection-level cap, unless the route says */
	memcpy(l->reply, replies, sizeof l->reply);
	l->recipient_rate.window_ns = 86400 * S;
	l->recipient_rate.scope = SCOPE_MAILBOX;
	l->external_rate.window_ns = 86400 * S;
	l->external_rate.scope = SCOPE_TENANT;
	l->external_rate.external_only = true;
	l->message_rate.window_ns = 60 * S;
	l->message_rate.scope = SCOPE_MAILBOX;
	l->message_rate.mode = RATE_DELAY;
	l->onmicrosoft_rate.window_ns = 86400 * S;
	l->onmicrosoft_rate.scope = SCOPE_TENANT;
	l->onmicrosoft_rate.external_only = true;
	l->message_cap.window_ns = 3600 * S;
	l->message_cap.scope = SCOPE_CONNECTOR;
	l->message_cap.mode = RATE_REJECT;
	for (int c = 0; c < ERR_CLASS_COUNT; c++) {
		/* CET: the classes and replies are published; 10 errors in
		 * 10 min -> 60 min is an ASSUMPTION (MODEL.md defaults). */
		l->error_throttle[c].enabled = false;
		l->error_throttle[c].threshold = 10;
		l->error_throttle[c].window_ns = 600 * S;
		l->error_throttle[c].period_ns = 3600 * S;
	}
}

static void exchange_online(scn_limits *l)
{
	base(l, "exchange-online");
	l->smtp_auth = true;
	l->saves_sent_items = true;                 /* SUB, B18 */
	l->connections.limit = 3;                   /* SUB, B18 */
	/* ASSUMPTION (concurrency_check): the 432 comes at the end of data,
	 * against the other submissions in progress, as clients report it
	 * (OBS: fastapi-mail#75, nodemailer#1613, Ombi#4093); SUB: "at most
	 * three messages at the same time" */
	l->connections.check = CONC_AT_END_OF_DATA;
	l->connections.counts = COUNT_SESSIONS;     /* ASSUMPTION, with concurrency_check: auth */
	l->max_message_size = 35 * MB;              /* PS, SD */
	l->max_recipients_per_message = 500;        /* PS, SD */
	l->recipient_rate.limit = 10000;            /* SUB, SD: rolling 24 h */
	l->external_rate.limit = PRESET_FOLLOW_TENANT; /* TERRL (tenant setting) */
	/* MOERA: 100 external recipients a day per tenant from
	 * *.onmicrosoft.com senders, rolled out by June 2026 */
	l->onmicrosoft_rate.limit = 100;
	l->message_rate.limit = 30;                 /* SUB, SD: 30 per minute */
	l->message_rate.mode = RATE_DELAY;          /* SUB today; mechanism ASSUMPTION */
	for (int c = 0; c < ERR_CLASS_COUNT; c++)
		l->error_throttle[c].enabled = true; /* CET */
}

static void exchange_server(scn_limits *l)
{
	base(l, "exchange-server");
	l->smtp_auth = true;            /* client submission connector: AUTH happens */
	l->saves_sent_items = false;    /* SMTP submission does not fill Sent Items on premises */
	l->auth_fail_tarpit_ns = 5 * S; /* EXS: TarpitInterval 5 s */
	l->connections.limit = 20;      /* EXS, PS: MaxInboundConnectionPerSource */
	l->connections.scope = SCOPE_SOURCE;
	l->reply[RC_CONCURRENCY] = mk(421, true, true,
		"421 4.3.2 The maximum number of concurrent connections has exceeded a limit, closing transmission channel");
	l->max_message_size = 36 * MB;  /* EXS: MaxMessageSize */
	/* ASSUMPTION: the classic on-premises size reply (EXS gives the limit, not the text) */
	l->reply[RC_MESSAGE_SIZE] = mk(552, false, false, "552 5.3.4 Message size exceeds fixed maximum message size");
	l->max_recipients_per_message = 200; /* EXS: MaxRecipientsPerMessage */
	l->reply[RC_TOO_MANY_RECIPIENTS] = mk(452, true, false, "452 4.5.3 Too many recipients");
	l->message_rate.limit = 5;      /* EXS: MessageRateLimit 5/min per user (port 587) */
	l->message_rate.scope = SCOPE_MAILBOX;
	l->message_rate.mode = RATE_REJECT;
	l->reply[RC_MESSAGE_RATE] = mk(421, true, true,
		"421 4.4.2 Message submission rate for this client has exceeded the configured limit");
	/* no recipient rate limit, no TERRL, no continuous error throttling */
}

static void relay_connector(scn_limits *l)
{
	base(l, "relay-connector");
	l->smtp_auth = false;           /* MFD: connector by IP or certificate, no AUTH */
	l->saves_sent_items = false;
	l->connections.limit = 50;      /* ASSUMPTION: "reasonable limits" (MFD), per connector */
	l->connections.scope = SCOPE_CONNECTOR;
	l->reply[RC_CONCURRENCY] = mk(421, true, true,
		"421 4.3.2 The maximum number of concurrent connections has exceeded a limit, closing transmission channel");
	l->max_message_size = 35 * MB;  /* ASSUMPTION: tenant default */
	l->max_recipients_per_message = 1000; /* ASSUMPTION */
	l->external_rate.limit = PRESET_FOLLOW_TENANT; /* TERRL counts all outbound mail */
	l->checks_source = true;        /* RAD: 550 5.7.64 when the IP or certificate no longer matches */
	/* MFD: not bound by 30/min nor 10,000/day; no SMTP AUTH -> no CET */
}

static void direct_send(scn_limits *l)
{
	base(l, "direct-send");
	l->smtp_auth = false;           /* MFD: MX endpoint, port 25, no AUTH */
	l->saves_sent_items = false;
	l->connections.limit = 50;      /* ASSUMPTION: per source address */
	l->connections.scope = SCOPE_SOURCE;
	l->reply[RC_CONCURRENCY] = mk(421, true, true,
		"421 4.3.2 The maximum number of concurrent connections has exceeded a limit, closing transmission channel");
	l->max_message_size = 35 * MB;  /* ASSUMPTION */
	l->max_recipients_per_message = 500; /* ASSUMPTION */
	l->internal_only = true;        /* MFD: internal recipients only */
	l->anonymous = true;            /* RDS: Reject Direct Send refuses it when the tenant sets it */
	/* no TERRL; no rate limits published */
}

static void hve(scn_limits *l)
{
	base(l, "hve");
	l->smtp_auth = true;            /* HVE accounts authenticate (basic or OAuth) */
	l->saves_sent_items = false;    /* HVE accounts are not mailboxes */
	l->max_message_size = 10 * MB;  /* ASSUMPTION (HVE preview documentation) */
	l->max_recipients_per_message = 500; /* ASSUMPTION */
	l->recipient_rate.limit = 100000; /* HVE announcements: 100,000 recipients/day per tenant (preview) */
	l->recipient_rate.scope = SCOPE_TENANT;
	l->internal_only = true;        /* T-HVE: internal recipients only since June 2025 */
	/* excluded from TERRL; concurrency and message rate unpublished: none */
}

/* Azure Communication Services email over SMTP, custom verified domain. */
static void acs(scn_limits *l)
{
	base(l, "acs");
	l->smtp_auth = false;           /* credentials tied to an Entra application: tenant SMTP AUTH switches do not apply */
	l->saves_sent_items = false;
	l->connections.limit = 250;     /* T-ACS: 250 authenticated SMTP connections per subscription */
	l->connections.scope = SCOPE_CONNECTOR;
	l->reply[RC_CONCURRENCY] = mk(421, true, true, "421 4.7.0 Too many concurrent connections, try again later"); /* ASSUMPTION */
	l->message_rate.limit = 30;     /* ACS: 30 per minute per subscription (default) */
	l->message_rate.scope = SCOPE_CONNECTOR;
	l->message_rate.mode = RATE_REJECT; /* ACS: throttled with Retry-After; the SMTP reply is unpublished */
	l->message_cap.limit = 100;     /* ACS: 100 per hour per subscription (default) */
	l->max_recipients_per_message = 50; /* T-ACS */
	l->max_message_size = 10 * MB;  /* T-ACS: 10 MB per request */
	/* excluded from TERRL (TERRL); no RRL, no CET, no Sent Items */
}

static void external(scn_limits *l)
{
	base(l, "external");
	l->smtp_auth = false;           /* the provider's own credentials: tenant auth settings do not apply */
	l->saves_sent_items = false;
	l->connections.limit = 20;      /* ASSUMPTION: configurable, per connector */
	l->connections.scope = SCOPE_CONNECTOR;
	l->reply[RC_CONCURRENCY] = mk(421, true, true, "421 4.7.0 Too many concurrent connections, try again later");
	l->max_message_size = 30 * MB;  /* ASSUMPTION */
	l->max_recipients_per_message = 1000; /* ASSUMPTION */
	l->message_rate.limit = 600;    /* ASSUMPTION: 600 per minute per connector */
	l->message_rate.scope = SCOPE_CONNECTOR;
	l->message_rate.mode = RATE_REJECT;
	l->reply[RC_MESSAGE_RATE] = mk(421, true, false, "421 4.7.0 Rate limit exceeded, try again later");
	/* not Exchange Online: no RRL, no TERRL, no CET */
}

static const struct {
	const char *name;
	void (*fill)(scn_limits *);
} presets[] = {
	{ "exchange-online", exchange_online },
	{ "exchange-server", exchange_server },
	{ "relay-connector", relay_connector },
	{ "direct-send", direct_send },
	{ "hve", hve },
	{ "acs", acs },
	{ "external", external },
};

int preset_fill(const char *name, scn_limits *out)
{
	for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
		if (strcmp(name, presets[i].name) == 0) {
			presets[i].fill(out);
			return 0;
		}
	return SIM_EINVAL;
}

const char *preset_name(size_t i)
{
	return i < sizeof presets / sizeof presets[0] ? presets[i].name : NULL;
}

/* ---- client retry profiles ------------------------------------------------ */

enum { RS_BASE = 1, RS_FACTOR = 2, RS_CAP = 4, RS_ATTEMPTS = 8, RS_AGE = 16 };

static const struct retry_profile {
	unsigned set;        /* RS_*: the fields the profile gives */
	int64_t base_ns;
	double factor;
	int64_t cap_ns;
	int64_t max_attempts;
	int64_t max_age_ns;
} retry_profiles[] = {
	/* fixed: the same wait every time (MODEL.md, Back-off) */
	{ RS_FACTOR, 0, 1, 0, 0, 0 },
	/* exponential: doubling (MODEL.md, Back-off) */
	{ RS_FACTOR, 0, 2, 0, 0, 0 },
	/* mfp: a multifunction device, three tries a minute apart.
	 * ASSUMPTION: no published behaviour; Microsoft only says refused
	 * devices "would just need to retry" (MFD) */
	{ RS_BASE | RS_FACTOR | RS_ATTEMPTS, 60 * S, 1, 0, 3, 0 },
	/* postfix: the deferred queue, 300 s doubling to 4,000 s, given up
	 * after 5 days (PFX: minimal_backoff_time, maximal_backoff_time,
	 * maximal_queue_lifetime) */
	{ RS_BASE | RS_FACTOR | RS_CAP | RS_ATTEMPTS | RS_AGE, 300 * S, 2, 4000 * S, 0, 5 * 86400 * S },
};

const char *const preset_retry_names[] = { "fixed", "exponential", "mfp", "postfix", NULL };

_Static_assert(sizeof retry_profiles / sizeof retry_profiles[0] ==
	       sizeof preset_retry_names / sizeof preset_retry_names[0] - 1,
	       "a name per retry profile");

int preset_retry_apply(size_t i, scn_retry *r)
{
	if (i >= sizeof retry_profiles / sizeof retry_profiles[0])
		return SIM_EINVAL;
	const struct retry_profile *p = &retry_profiles[i];
	if (p->set & RS_BASE)
		r->base_ns = p->base_ns;
	if (p->set & RS_FACTOR)
		r->factor = p->factor;
	if (p->set & RS_CAP)
		r->cap_ns = p->cap_ns;
	if (p->set & RS_ATTEMPTS)
		r->max_attempts = p->max_attempts;
	if (p->set & RS_AGE)
		r->max_age_ns = p->max_age_ns;
	return SIM_OK;
}

bool preset_retry_grows(size_t i)
{
	return i < sizeof retry_profiles / sizeof retry_profiles[0] && retry_profiles[i].factor > 1;
}

/* ---- client profiles -------------------------------------------------------
 * What each client does, from its documentation or source (docs/SOURCES.md
 * "Client profiles"), with what it does on a 432, on a permanent reply and
 * at the end of data:
 *
 * pool: a connection pool with the common defaults (NM: nodemailer's
 *   maxConnections 5, maxMessages 100; its socketTimeout of 10 min of
 *   inactivity as the read timeout, and idle connections kept as long).
 *   432: the message's send fails (no retry), the connection is replaced;
 *   permanent: fails; end of data: the reply is read.
 * dotnet-smtpclient: System.Net.Mail.SmtpClient (DNSC: Timeout 100,000 ms
 *   for a synchronous Send), one message per Send.  432 and permanent:
 *   SmtpException, no retry; end of data: read (seq-app-htmlemail#101
 *   fails in DataStopCommand).
 * mailkit: MailKit's SmtpClient (MK: Timeout 100,000 ms per network read
 *   in its source), connected once and reused for every message.  432 and
 *   permanent: SmtpCommandException from the end of data (Ombi#4093), no
 *   retry; the 432 closes the connection, the next Send reconnects.
 * smtplib-loop: Python smtplib in a loop over one connection (PYS: no
 *   timeout unless given; send_message raises SMTPDataError at the end of
 *   data, as fastapi-mail#75 shows for aiosmtplib).  Uncaught, the first
 *   exception ends the loop: abort_on any.
 * mfp: a multifunction printer: one message per connection, three tries a
 *   minute apart (ASSUMPTION: no published behaviour; Microsoft says
 *   refused devices "would just need to retry", MFD/B18).  Permanent:
 *   dropped; end of data: read.
 * postfix-relay: Postfix relaying to Exchange Online (PFX): up to 20
 *   connections per destination (default_destination_concurrency_limit),
 *   a connection reused while mail is queued and kept 2 s idle
 *   (smtp_connection_cache_time_limit), the queue's schedule on 4xx
 *   (retry: postfix, deferred up to 5 days), a bounce on 5xx.
 */

#define CLIENT_NO_RETRY ((size_t)-1)
/* The retry profiles by name (preset_retry_names), for the table below. */
enum { RP_FIXED = 0, RP_EXPONENTIAL = 1, RP_MFP = 2, RP_POSTFIX = 3 };

static const struct client_profile {
	int64_t connections;
	int64_t messages_per_session;   /* INT64_MAX: unlimited */
	int64_t idle_timeout_ns;
	int64_t data_timeout_ns;
	int64_t read_timeout_ns;
	bool ignores_data_reply;
	unsigned abort_on;
	size_t retry;                   /* a retry profile, or CLIENT_NO_RETRY */
	int64_t max_attempts;           /* with retry: 0 keeps the profile's */
} client_profiles[] = {
	/* pool (NM) */
	{ 5, 100, 600 * S, 0, 600 * S, false, 0, CLIENT_NO_RETRY, 1 },
	/* dotnet-smtpclient (DNSC) */
	{ 1, 1, 0, 100 * S, 0, false, 0, CLIENT_NO_RETRY, 1 },
	/* mailkit (MK) */
	{ 1, INT64_MAX, 0, 0, 100 * S, false, 0, CLIENT_NO_RETRY, 1 },
	/* smtplib-loop (PYS) */
	{ 1, INT64_MAX, 0, 0, 0, false,
	  SCN_ABORT_TRANSIENT | SCN_ABORT_PERMANENT | SCN_ABORT_TIMEOUT | SCN_ABORT_LIFETIME, CLIENT_NO_RETRY, 1 },
	/* mfp (ASSUMPTION, MFD) */
	{ 1, 1, 0, 0, 0, false, 0, RP_MFP, 0 },
	/* postfix-relay (PFX) */
	{ 20, INT64_MAX, 2 * S, 0, 0, false, 0, RP_POSTFIX, 0 },
};

const char *const preset_client_names[] = { "pool", "dotnet-smtpclient", "mailkit", "smtplib-loop", "mfp",
					    "postfix-relay", NULL };

_Static_assert(sizeof client_profiles / sizeof client_profiles[0] ==
	       sizeof preset_client_names / sizeof preset_client_names[0] - 1,
	       "a name per client profile");

int preset_client_apply(size_t i, scn_sender *d)
{
	if (i >= sizeof client_profiles / sizeof client_profiles[0])
		return SIM_EINVAL;
	const struct client_profile *p = &client_profiles[i];
	d->connections = p->connections;
	d->messages_per_session = p->messages_per_session;
	d->idle_timeout_ns = p->idle_timeout_ns;
	d->data_timeout_ns = p->data_timeout_ns;
	d->read_timeout_ns = p->read_timeout_ns;
	d->ignores_data_reply = p->ignores_data_reply;
	d->retry.abort_on = p->abort_on;
	d->retry.abort_on_classes = 0;
	if (p->retry != CLIENT_NO_RETRY)
		preset_retry_apply(p->retry, &d->retry);
	if (p->max_attempts > 0)
		d->retry.max_attempts = p->max_attempts;
	return SIM_OK;
}
