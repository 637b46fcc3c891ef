/* presets.c - the route presets (see presets.h).  Every number carries its
 * source key from reference/exchange-online.md, or ASSUMPTION when no
 * public source states it. */
#include "presets.h"

#include <string.h>

#include "status.h"

#define S (1000000000LL)
#define MB (1024LL * 1024LL)

/* Reply table, indexed by class: Exchange Online's texts. */
static const scn_reply replies[RC_COUNT] = {
	[RC_OK] = { 250, false, false, "250 2.0.0 OK" },
	/* PS; observed */
	[RC_AUTH_DISABLED_TENANT] = { 535, false, false,
		"535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant" },
	[RC_AUTH_DISABLED_MAILBOX] = { 535, false, false,
		"535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox" },
	/* B26; observed */
	[RC_BASIC_DISABLED] = { 535, false, false,
		"535 5.7.139 Authentication unsuccessful, basic authentication is disabled." },
	/* SUB, B18 */
	[RC_CONCURRENCY] = { 432, true, true,
		"432 4.3.2 Concurrent connections limit exceeded. Visit https://aka.ms/concurrent_sending for more information." },
	/* ASSUMPTION (RFC 3463 text; observed form is ...MessageSubmissionExceededException...) */
	[RC_MESSAGE_SIZE] = { 552, false, false, "552 5.3.4 Message size exceeds fixed maximum message size" },
	/* ASSUMPTION (in-session text unpublished; NDR form 550 5.5.3 RESOLVER.ADR.RecipLimit) */
	[RC_TOO_MANY_RECIPIENTS] = { 550, false, false, "550 5.5.3 Too many recipients" },
	/* SUB, B18 */
	[RC_MAILBOX_FULL] = { 554, false, false,
		"554 5.2.2 mailbox full; STOREDRV.Submission.Exception:QuotaExceededException" },
	/* ASSUMPTION: CET names the class, not the reply */
	[RC_INVALID_LICENSE] = { 550, false, false,
		"550 5.7.1 Sender mailbox has no valid license for SMTP submission" },
	/* MFD; observed */
	[RC_SEND_AS_DENIED] = { 550, false, false,
		"550 5.7.60 SMTP; Client does not have permissions to send as this sender" },
	/* CET example; ASSUMPTION that it is the in-session reply */
	[RC_INVALID_RECIPIENTS] = { 550, false, false, "550 5.1.10 RESOLVER.ADR.RecipientNotFound" },
	/* SUB, NDR */
	[RC_RECIPIENT_RATE] = { 554, false, false,
		"554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException" },
	/* TERRL, NDR (text shortened to fit scn_reply.text) */
	[RC_TENANT_EXTERNAL] = { 550, false, false,
		"550 5.7.233 Your message can't be sent because your tenant exceeded its daily limit for sending email to external recipients" },
	/* ASSUMPTION: used only in message_rate_mode reject (SD's older wording: "rejected and the client will need to retry") */
	[RC_MESSAGE_RATE] = { 450, true, false, "450 4.7.0 Message rate limit exceeded, try again later" },
	/* CET */
	[RC_THROTTLED_MAILBOX_FULL] = { 550, false, false,
		"550 5.2.251 Sender throttled due to continuous mailbox full errors." },
	[RC_THROTTLED_SEND_AS] = { 550, false, false,
		"550 5.2.252 Sender throttled due to continuous send as denied errors." },
	[RC_THROTTLED_INVALID_LICENSE] = { 550, false, false,
		"550 5.2.253 Sender throttled due to continuous invalid license errors." },
	[RC_THROTTLED_TOO_MANY_RCPT] = { 550, false, false,
		"550 5.2.254 Sender throttled due to continuous too many recipients errors." },
	[RC_THROTTLED_INVALID_RCPT] = { 550, false, false,
		"550 5.2.255 Sender throttled due to continuous invalid recipients errors." },
};

static const char *const class_names[RC_COUNT] = {
	[RC_OK] = "ok",
	[RC_AUTH_DISABLED_TENANT] = "auth_disabled_tenant",
	[RC_AUTH_DISABLED_MAILBOX] = "auth_disabled_mailbox",
	[RC_BASIC_DISABLED] = "basic_disabled",
	[RC_CONCURRENCY] = "concurrency",
	[RC_MESSAGE_SIZE] = "message_size",
	[RC_TOO_MANY_RECIPIENTS] = "too_many_recipients",
	[RC_MAILBOX_FULL] = "mailbox_full",
	[RC_INVALID_LICENSE] = "invalid_license",
	[RC_SEND_AS_DENIED] = "send_as_denied",
	[RC_INVALID_RECIPIENTS] = "invalid_recipients",
	[RC_RECIPIENT_RATE] = "recipient_rate",
	[RC_TENANT_EXTERNAL] = "tenant_external",
	[RC_MESSAGE_RATE] = "message_rate",
	[RC_THROTTLED_MAILBOX_FULL] = "throttled_mailbox_full",
	[RC_THROTTLED_SEND_AS] = "throttled_send_as_denied",
	[RC_THROTTLED_INVALID_LICENSE] = "throttled_invalid_license",
	[RC_THROTTLED_TOO_MANY_RCPT] = "throttled_too_many_recipients",
	[RC_THROTTLED_INVALID_RCPT] = "throttled_invalid_recipients",
};

static const scn_reply empty_reply = { 0, false, false, "" };

const scn_reply *preset_reply(scn_reply_class c)
{
	if ((int)c < 0 || c >= RC_COUNT)
		return &empty_reply;
	return &replies[c];
}

const char *preset_reply_text(scn_reply_class c)
{
	return preset_reply(c)->text;
}

const char *preset_reply_class_name(scn_reply_class c)
{
	if ((int)c < 0 || c >= RC_COUNT)
		return "";
	return class_names[c];
}

static scn_reply mk(int code, bool transient, bool drops, const char *text)
{
	scn_reply r = { code, transient, drops, "" };
	strncpy(r.text, text, sizeof r.text - 1);
	return r;
}

/* The error-throttle reply of each class (CET). */
static const scn_reply_class throttle_class[ERR_CLASS_COUNT] = {
	[ERR_MAILBOX_FULL] = RC_THROTTLED_MAILBOX_FULL,
	[ERR_SEND_AS_DENIED] = RC_THROTTLED_SEND_AS,
	[ERR_INVALID_LICENSE] = RC_THROTTLED_INVALID_LICENSE,
	[ERR_TOO_MANY_RECIPIENTS] = RC_THROTTLED_TOO_MANY_RCPT,
	[ERR_INVALID_RECIPIENTS] = RC_THROTTLED_INVALID_RCPT,
};

/* The common skeleton: Exchange Online's replies, every limit off. */
static void base(scn_limits *l, const char *name)
{
	memset(l, 0, sizeof *l);
	strncpy(l->preset, name, sizeof l->preset - 1);
	l->connections.scope = SCOPE_MAILBOX;
	l->connections.counts = COUNT_SESSIONS;
	l->connections.reply = replies[RC_CONCURRENCY];
	l->size_reply = replies[RC_MESSAGE_SIZE];
	l->recipients_reply = replies[RC_TOO_MANY_RECIPIENTS];
	l->recipient_rate.window_ns = 86400 * S;
	l->recipient_rate.scope = SCOPE_MAILBOX;
	l->recipient_rate.reply = replies[RC_RECIPIENT_RATE];
	l->external_rate.window_ns = 86400 * S;
	l->external_rate.scope = SCOPE_TENANT;
	l->external_rate.external_only = true;
	l->external_rate.reply = replies[RC_TENANT_EXTERNAL];
	l->message_rate.window_ns = 60 * S;
	l->message_rate.scope = SCOPE_MAILBOX;
	l->message_rate.mode = RATE_DELAY;
	l->message_rate.reply = replies[RC_MESSAGE_RATE];
	for (int c = 0; c < ERR_CLASS_COUNT; c++) {
		/* CET: the classes and replies are published; 10 errors in
		 * 10 min -> 60 min is an ASSUMPTION (MODEL.md defaults). */
		l->error_throttle[c].enabled = false;
		l->error_throttle[c].threshold = 10;
		l->error_throttle[c].window_ns = 600 * S;
		l->error_throttle[c].period_ns = 3600 * S;
		l->error_throttle[c].reply = replies[throttle_class[c]];
	}
	l->quota_reply = replies[RC_MAILBOX_FULL];
	l->license_reply = replies[RC_INVALID_LICENSE];
	l->send_as_reply = replies[RC_SEND_AS_DENIED];
	l->invalid_rcpt_reply = replies[RC_INVALID_RECIPIENTS];
}

static void exchange_online(scn_limits *l)
{
	base(l, "exchange-online");
	l->smtp_auth = true;
	l->saves_sent_items = true;                 /* SUB, B18 */
	l->connections.limit = 3;                   /* SUB, B18 */
	l->connections.counts = COUNT_SESSIONS;     /* ASSUMPTION (which sessions count) */
	l->max_message_size = 35 * MB;              /* PS, SD */
	l->max_recipients_per_message = 500;        /* PS, SD */
	l->recipient_rate.limit = 10000;            /* SUB, SD: rolling 24 h */
	l->external_rate.limit = PRESET_FOLLOW_TENANT; /* TERRL (tenant setting) */
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
	l->connections.reply = mk(421, true, true,
		"421 4.3.2 The maximum number of concurrent connections has exceeded a limit, closing transmission channel");
	l->max_message_size = 36 * MB;  /* EXS: MaxMessageSize */
	l->max_recipients_per_message = 200; /* EXS: MaxRecipientsPerMessage */
	l->recipients_reply = mk(452, true, false, "452 4.5.3 Too many recipients");
	l->message_rate.limit = 5;      /* EXS: MessageRateLimit 5/min per user (port 587) */
	l->message_rate.scope = SCOPE_MAILBOX;
	l->message_rate.mode = RATE_REJECT;
	l->message_rate.reply = mk(421, true, true,
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
	l->connections.reply = mk(421, true, true,
		"421 4.3.2 The maximum number of concurrent connections has exceeded a limit, closing transmission channel");
	l->max_message_size = 35 * MB;  /* ASSUMPTION: tenant default */
	l->max_recipients_per_message = 1000; /* ASSUMPTION */
	l->external_rate.limit = PRESET_FOLLOW_TENANT; /* TERRL counts all outbound mail */
	/* MFD: not bound by 30/min nor 10,000/day; no SMTP AUTH -> no CET */
}

static void direct_send(scn_limits *l)
{
	base(l, "direct-send");
	l->smtp_auth = false;           /* MFD: MX endpoint, port 25, no AUTH */
	l->saves_sent_items = false;
	l->connections.limit = 50;      /* ASSUMPTION: per source address */
	l->connections.scope = SCOPE_SOURCE;
	l->connections.reply = mk(421, true, true,
		"421 4.3.2 The maximum number of concurrent connections has exceeded a limit, closing transmission channel");
	l->max_message_size = 35 * MB;  /* ASSUMPTION */
	l->max_recipients_per_message = 500; /* ASSUMPTION */
	/* internal recipients only (MFD): no TERRL; no rate limits published */
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
	/* excluded from TERRL; concurrency and message rate unpublished: none */
}

static void external(scn_limits *l)
{
	base(l, "external");
	l->smtp_auth = false;           /* the provider's own credentials: tenant auth settings do not apply */
	l->saves_sent_items = false;
	l->connections.limit = 20;      /* ASSUMPTION: configurable, per connector */
	l->connections.scope = SCOPE_CONNECTOR;
	l->connections.reply = mk(421, true, true, "421 4.7.0 Too many concurrent connections, try again later");
	l->max_message_size = 30 * MB;  /* ASSUMPTION */
	l->max_recipients_per_message = 1000; /* ASSUMPTION */
	l->message_rate.limit = 600;    /* ASSUMPTION: 600 per minute per connector */
	l->message_rate.scope = SCOPE_CONNECTOR;
	l->message_rate.mode = RATE_REJECT;
	l->message_rate.reply = mk(421, true, false, "421 4.7.0 Rate limit exceeded, try again later");
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
