/* serve_record.c - `serve --record FILE`: what every client did, one JSON
 * object per line (JSON Lines), in the order the server saw it.  The
 * format is docs/SERVE.md's "Record format"; its first line names the
 * format version, the scenario and the time scale, and every line after
 * carries the wall time since start and the model time, both in integer
 * nanoseconds, so a replay needs no floating point to order events.
 *
 * Strings from clients (identities, addresses, Message-IDs) are written
 * as JSON strings: quotes, backslashes and control characters escaped,
 * well-formed UTF-8 kept, any other byte written as U+FFFD.  The file is
 * written through stdio's buffer and flushed every second (the live
 * tick) and at the end, so a record costs no system call per line.
 */
#include "serve_int.h"

#include <string.h>

#include "replies.h"

static const char *const stage_name[] = {
	[STAGE_CONNECT] = "connect", [STAGE_EHLO] = "ehlo", [STAGE_STARTTLS] = "starttls",
	[STAGE_AUTH] = "auth", [STAGE_MAIL] = "mail", [STAGE_RCPT] = "rcpt", [STAGE_DATA] = "data",
	[STAGE_END_OF_DATA] = "end_of_data", [STAGE_QUIT] = "quit", [STAGE_TIMEOUT] = "timeout",
	[STAGE_SHUTDOWN] = "shutdown",
};

/* The length of the well-formed UTF-8 sequence at p (1 to 4), or 0. */
static size_t utf8_len(const unsigned char *p)
{
	unsigned char c = p[0];
	size_t n;
	uint32_t cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

static void put_str(FILE *f, const char *s)
{
	if (!s) {
		fputs("null", f);
		return;
	}
	putc('"', f);
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		unsigned char c = *p;
		if (c == '"' || c == '\\') {
			putc('\\', f);
			putc(c, f);
			p++;
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\u%04x", c);
			p++;
		} else {
			size_t n = utf8_len(p);
			if (n == 0) {
				fputs("\\ufffd", f);
				p++;
			} else {
				fwrite(p, 1, n, f);
				p += n;
			}
		}
	}
	putc('"', f);
}

/* {"ev":"...","wall_ns":..,"model_ns":..  (the caller adds the rest and "}\n") */
static FILE *head(serve *srv, const char *ev)
{
	FILE *f = srv->record;
	if (!f)
		return NULL;
	fprintf(f, "{\"ev\":\"%s\",\"wall_ns\":%lld,\"model_ns\":%lld", ev, (long long)ev_now(srv->loop),
		(long long)ev_model_now(srv->loop));
	return f;
}

static void conn_fields(FILE *f, const srv_conn *c)
{
	fprintf(f, ",\"conn\":%llu", (unsigned long long)c->id);
}

static void code_fields(FILE *f, int code, const char *enh)
{
	fprintf(f, ",\"code\":%d,\"enhanced\":", code);
	put_str(f, enh);
}

void rec_start(serve *srv, ev_scale k)
{
	FILE *f = srv->record;
	if (!f)
		return;
	fprintf(f, "{\"ev\":\"start\",\"format\":1,\"version\":\"%s\",\"scenario\":", THROTTLESIM_VERSION);
	put_str(f, srv->s->name);
	fputs(",\"variant\":", f);
	put_str(f, srv->s->variant);
	fprintf(f, ",\"time_scale\":[%u,%u],\"unix_ns\":%lld,\"seed\":%llu}\n", k.num, k.den,
		(long long)srv->start_unix_ns, (unsigned long long)srv->seed);
}

void rec_connect(serve *srv, const srv_conn *c)
{
	FILE *f = head(srv, "connect");
	if (!f)
		return;
	conn_fields(f, c);
	fputs(",\"peer\":", f);
	put_str(f, c->peer);
	fputs("}\n", f);
}

void rec_tls(serve *srv, const srv_conn *c, const char *version)
{
	FILE *f = head(srv, "tls");
	if (!f)
		return;
	conn_fields(f, c);
	fputs(",\"version\":", f);
	put_str(f, version);
	fprintf(f, ",\"ok\":%s}\n", version ? "true" : "false");
}

static const char *mech_name(smtp_mech m)
{
	return m == SMTP_MECH_PLAIN ? "PLAIN" : m == SMTP_MECH_LOGIN ? "LOGIN" : "XOAUTH2";
}

void rec_auth(serve *srv, const srv_conn *c, const char *identity, int code, const char *enh)
{
	FILE *f = head(srv, "auth");
	if (!f)
		return;
	conn_fields(f, c);
	fprintf(f, ",\"stage\":\"auth\",\"mech\":\"%s\",\"identity\":", mech_name(c->mech));
	put_str(f, identity);
	fputs(",\"tls\":", f);
	put_str(f, c->tls_state == 2 ? tls_version_name(tls_version(c->tls)) : NULL);
	code_fields(f, code, enh);
	fputs("}\n", f);
}

void rec_message(serve *srv, const srv_conn *c, const smtp_envelope *e, srv_stage stage,
		 int code, const char *enh, int64_t release_model_ns)
{
	FILE *f = head(srv, "message");
	if (!f)
		return;
	conn_fields(f, c);
	fputs(",\"mailbox\":", f);
	put_str(f, c->mailbox >= 0 ? srv->s->mailboxes[c->mailbox].name : NULL);
	fputs(",\"from\":", f);
	put_str(f, e->from);
	fputs(",\"from_header\":", f);
	put_str(f, c->from_hdr[0] ? c->from_hdr : NULL);
	fputs(",\"message_id\":", f);
	put_str(f, c->msgid[0] ? c->msgid : NULL);
	fprintf(f, ",\"rcpt_internal\":%lld,\"rcpt_external\":%lld,\"size\":%lld,\"bdat\":%s",
		(long long)c->rcpt_internal, (long long)c->rcpt_external,
		(long long)(stage == STAGE_END_OF_DATA ? e->size_bytes : -1), e->bdat ? "true" : "false");
	fprintf(f, ",\"stage\":\"%s\"", stage_name[stage]);
	code_fields(f, code, enh);
	/* a refusal at DATA carries the instant too: a replay places the
	 * attempt there (docs/SERVE.md, "The record") */
	if (stage == STAGE_END_OF_DATA || stage == STAGE_DATA)
		fprintf(f, ",\"data_begin_model_ns\":%lld", (long long)c->data_begin_model);
	if (release_model_ns >= 0)
		fprintf(f, ",\"release_model_ns\":%lld", (long long)release_model_ns);
	fputs("}\n", f);
}

void rec_reply(serve *srv, const srv_conn *c, srv_stage stage, int code, const char *enh)
{
	FILE *f = head(srv, "reply");
	if (!f)
		return;
	conn_fields(f, c);
	fprintf(f, ",\"stage\":\"%s\"", stage_name[stage]);
	code_fields(f, code, enh);
	fputs("}\n", f);
}

void rec_close(serve *srv, const srv_conn *c, const char *why)
{
	FILE *f = head(srv, "close");
	if (!f)
		return;
	conn_fields(f, c);
	fprintf(f, ",\"messages\":%llu,\"why\":", (unsigned long long)c->messages);
	put_str(f, why);
	fputs("}\n", f);
}

void rec_throttle(serve *srv, int mailbox, int cls, int64_t start_ns, int64_t end_ns)
{
	FILE *f = head(srv, "throttle");
	if (!f)
		return;
	fputs(",\"mailbox\":", f);
	put_str(f, srv->s->mailboxes[mailbox].name);
	fprintf(f, ",\"class\":%d,\"start_model_ns\":%lld,\"end_model_ns\":%lld}\n", cls,
		(long long)start_ns, (long long)end_ns);
}

void rec_flush(serve *srv)
{
	if (srv->record)
		fflush(srv->record);
}
