/* replies.h - the reply catalog: every reply class the model can give,
 * defined once.  Each row is one class:
 *
 *   ID        the enum constant RC_<ID> (scn_reply_class)
 *   id        the stable identifier in results, JSON, CSV, SQL columns and
 *             the scenario key `limits.replies.<id>` that overrides it
 *   label     a short label for tables and chart legends
 *   code      the SMTP code of the text
 *   transient 4xx: the client may retry; 5xx: permanent
 *   drops     the service closes the connection after it
 *   key       1 if a scenario may override it under `replies:`, else 0
 *   text      Exchange Online's reply line, with its source key
 *             (docs/MODEL.md; ASSUMPTION where no public source gives it)
 *
 * Consumers iterate SCN_REPLY_CLASSES (or the table rpl_info[] built from
 * it); none keeps its own list.  Order is the enum order, and the order of
 * every output.  The throttled classes are consecutive and in the order of
 * scn_error_class (scenario.h checks it).
 */
#ifndef MODELS_REPLIES_H
#define MODELS_REPLIES_H

#include <stdbool.h>

#define SCN_REPLY_CLASSES(X) \
	X(OK, "ok", "250", 250, 0, 0, 0, \
	  "250 2.0.0 OK") \
	/* PS; observed */ \
	X(AUTH_DISABLED_TENANT, "auth_disabled_tenant", "535 tenant", 535, 0, 0, 0, \
	  "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant") \
	X(AUTH_DISABLED_MAILBOX, "auth_disabled_mailbox", "535 mailbox", 535, 0, 0, 0, \
	  "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox") \
	/* B26; observed (nodemailer#1714, mailR#107, rallly#3154) */ \
	X(BASIC_DISABLED, "basic_disabled", "535 basic", 535, 0, 0, 0, \
	  "535 5.7.139 Authentication unsuccessful, basic authentication is disabled.") \
	/* observed (email-bomber#1): a wrong password or expired secret */ \
	X(BAD_CREDENTIALS, "bad_credentials", "535 credentials", 535, 0, 0, 0, \
	  "535 5.7.139 Authentication unsuccessful, the user credentials were incorrect.") \
	/* T-BYP (third party): Entra security defaults block Basic auth */ \
	X(SECURITY_DEFAULTS, "security_defaults", "535 defaults", 535, 0, 0, 0, \
	  "535 5.7.139 Authentication unsuccessful, user is locked by your organization's security defaults policy") \
	/* observed (gophish#3220): a Conditional Access policy blocks it */ \
	X(CONDITIONAL_ACCESS, "conditional_access", "535 cond.access", 535, 0, 0, 0, \
	  "535 5.7.139 Authentication unsuccessful, the request did not meet the criteria to be authenticated successfully. Contact your administrator.") \
	/* observed (DSpace#8123, sendEmail#1): TLS 1.0/1.1, after the handshake; 421 closes */ \
	X(TLS_TOO_OLD, "tls_too_old", "421 4.7.66", 421, 1, 1, 1, \
	  "421 4.7.66 TLS 1.0 and 1.1 are not supported. Please upgrade/update your client to support TLS 1.2. Visit https://aka.ms/smtp_auth_tls.") \
	/* observed (oauth2ms#5, MailKit#566): sporadic, at AUTH (auth_fault_rate) */ \
	X(AUTH_TEMPORARY, "auth_temporary", "451 PRX4", 451, 1, 0, 1, \
	  "451 4.7.0 Temporary server error. Please try again later. PRX4") \
	/* SUB, B18; observed at end of DATA (fastapi-mail#75, nodemailer#1613, Ombi#4093) */ \
	X(CONCURRENCY, "concurrency", "432", 432, 1, 1, 1, \
	  "432 4.3.2 Concurrent connections limit exceeded. Visit https://aka.ms/concurrent_sending for more information.") \
	/* observed (seq-app-htmlemail#101) at end of DATA; the basic code is \
	 * not in the log: 451 ASSUMPTION (data_fault_rate) */ \
	X(DATA_TEMPORARY, "data_temporary", "4.3.111 MRH1", 451, 1, 0, 1, \
	  "451 4.3.111 Temporary server error. Please try again later MRH1") \
	/* RDS, PS: Reject Direct Send; stage ASSUMPTION (RCPT) */ \
	X(DIRECT_SEND_REJECTED, "direct_send_rejected", "550 5.7.68", 550, 0, 0, 1, \
	  "550 5.7.68 TenantInboundAttribution; Direct Send not allowed for this organization from unauthorized sources") \
	/* RAD, MFD: a relay connector whose IP or certificate no longer \
	 * matches; stage ASSUMPTION (RCPT) */ \
	X(RELAY_DENIED, "relay_denied", "550 5.7.64", 550, 0, 0, 1, \
	  "550 5.7.64 TenantAttribution; Relay Access Denied SMTP.") \
	/* MFD (direct send), HVE: internal recipients only.  ASSUMPTION: \
	 * Exchange Online's refusal of a recipient outside the accepted \
	 * domains, at RCPT; not in the sources */ \
	X(EXTERNAL_NOT_ALLOWED, "external_not_allowed", "550 5.7.54", 550, 0, 0, 1, \
	  "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain") \
	/* observed (zammad#5675); at end of DATA by inference */ \
	X(MESSAGE_SIZE, "message_size", "554 5.2.270", 554, 0, 0, 1, \
	  "554 5.2.270 MapiExceptionMaxSubmissionExceeded; Message size exceeds maximum size limit.; STOREDRV.Submission.Exception:MessageSubmissionExceededException.MapiExceptionMaxSubmissionExceeded") \
	/* ASSUMPTION (in-session text unpublished; NDR form 550 5.5.3 RESOLVER.ADR.RecipLimit) */ \
	X(TOO_MANY_RECIPIENTS, "too_many_recipients", "550 5.5.3", 550, 0, 0, 1, \
	  "550 5.5.3 Too many recipients") \
	/* SUB, B18 */ \
	X(MAILBOX_FULL, "mailbox_full", "554 5.2.2", 554, 0, 0, 1, \
	  "554 5.2.2 mailbox full; STOREDRV.Submission.Exception:QuotaExceededException") \
	/* ASSUMPTION: CET names the class, not the reply */ \
	X(INVALID_LICENSE, "invalid_license", "550 license", 550, 0, 0, 1, \
	  "550 5.7.1 Sender mailbox has no valid license for SMTP submission") \
	/* MFD; observed */ \
	X(SEND_AS_DENIED, "send_as_denied", "550 5.7.60", 550, 0, 0, 1, \
	  "550 5.7.60 SMTP; Client does not have permissions to send as this sender") \
	/* CET example; ASSUMPTION that it is the in-session reply */ \
	X(INVALID_RECIPIENTS, "invalid_recipients", "550 5.1.10", 550, 0, 0, 1, \
	  "550 5.1.10 RESOLVER.ADR.RecipientNotFound") \
	/* SUB, NDR */ \
	X(RECIPIENT_RATE, "recipient_rate", "554 5.2.0", 554, 0, 0, 1, \
	  "554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException") \
	/* TERRL, NDR (text shortened to fit scn_reply.text) */ \
	X(TENANT_EXTERNAL, "tenant_external", "550 5.7.233", 550, 0, 0, 1, \
	  "550 5.7.233 Your message can't be sent because your tenant exceeded its daily limit for sending email to external recipients (tenant external recipient rate limit)") \
	/* NDR (reply), MOERA (dates): onmicrosoft.com senders, 100 external \
	 * recipients a day per tenant; in session ASSUMPTION (NDR form) */ \
	X(ONMICROSOFT_EXTERNAL, "onmicrosoft_external", "550 5.7.236", 550, 0, 0, 1, \
	  "550 5.7.236 Your message can't be sent because your tenant has exceeded its daily limit for sending email to external recipients from your tenant's onmicrosoft.com domains") \
	/* ASSUMPTION: used only in message_rate_mode reject (SD's older \
	 * wording: "rejected and the client will need to retry"); routes \
	 * may answer otherwise (exchange-server: 421 4.4.2) */ \
	X(MESSAGE_RATE, "message_rate", "msg rate", 450, 1, 0, 1, \
	  "450 4.7.0 Message rate limit exceeded, try again later") \
	/* ASSUMPTION: a second, longer message window (the acs preset's 100 \
	 * per hour); ACS publishes only the REST 429 with Retry-After */ \
	X(MESSAGE_CAP, "message_cap", "msg cap", 450, 1, 0, 1, \
	  "450 4.7.0 Message limit for this period exceeded, try again later") \
	/* CET */ \
	X(THROTTLED_MAILBOX_FULL, "throttled_mailbox_full", "550 5.2.251", 550, 0, 0, 0, \
	  "550 5.2.251 Sender throttled due to continuous mailbox full errors.") \
	X(THROTTLED_SEND_AS, "throttled_send_as", "550 5.2.252", 550, 0, 0, 0, \
	  "550 5.2.252 Sender throttled due to continuous send as denied errors.") \
	X(THROTTLED_INVALID_LICENSE, "throttled_invalid_license", "550 5.2.253", 550, 0, 0, 0, \
	  "550 5.2.253 Sender throttled due to continuous invalid license errors.") \
	X(THROTTLED_TOO_MANY_RCPT, "throttled_too_many_recipients", "550 5.2.254", 550, 0, 0, 0, \
	  "550 5.2.254 Sender throttled due to continuous too many recipients errors.") \
	X(THROTTLED_INVALID_RCPT, "throttled_invalid_recipients", "550 5.2.255", 550, 0, 0, 0, \
	  "550 5.2.255 Sender throttled due to continuous invalid recipients errors.")

/* Other wordings a class has been seen in, selectable by name in a
 * scenario (`replies: {concurrency: storedrv}`): class, name, text. */
#define SCN_REPLY_FORMS(X) \
	/* observed (timeoff#308, v2board#148): the 2018 form */ \
	X(CONCURRENCY, "storedrv", \
	  "432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded") \
	/* observed (Ombi#4093, as MailKit prints it; basic code restored) */ \
	X(CONCURRENCY, "storedrv_visit", \
	  "432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded. Visit aka.ms/concurrent_sending for more info.") \
	/* the RFC 3463 reading the catalog used before the observed text */ \
	X(MESSAGE_SIZE, "rfc3463", \
	  "552 5.3.4 Message size exceeds fixed maximum message size")

/* A reply class: what the models count losses and rejections by. */
typedef enum scn_reply_class {
#define X(ID, id, label, code, transient, drops, key, text) RC_##ID,
	SCN_REPLY_CLASSES(X)
#undef X
	RC_COUNT
} scn_reply_class;

/* One row of the catalog. */
typedef struct rpl_class_info {
	const char *id;
	const char *label;
	int code;
	bool transient, drops_connection;
	bool scenario_key;
	const char *text;
} rpl_class_info;

/* rpl_info[c] for c in [0, RC_COUNT). */
extern const rpl_class_info rpl_info[RC_COUNT];

/* The catalog row of c, or NULL when c is out of range. */
const rpl_class_info *rpl_class(int c);

/* The class whose id is `id`, or -1. */
int rpl_class_by_id(const char *id);

/* The text of class c's other wording `name` (SCN_REPLY_FORMS), or NULL. */
const char *rpl_form(int c, const char *name);

#endif
