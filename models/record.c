/* record.c - the reader of serve's record (record.h): lines, a flat JSON
 * object per line, the events the record's consumers use.
 */
#include "record.h"

#include <stdarg.h>
#include <string.h>

#include "status.h"
#include "units.h"

void srec_init_file(srec_reader *r, FILE *f)
{
	memset(r, 0, sizeof *r - sizeof r->line - sizeof r->scratch);
	r->f = f;
}

void srec_init_mem(srec_reader *r, const char *text, size_t len)
{
	memset(r, 0, sizeof *r - sizeof r->line - sizeof r->scratch);
	r->p = r->text = text;
	r->end = text + len;
}

bool srec_rewind(srec_reader *r)
{
	if (r->f) {
		if (fseek(r->f, 0, SEEK_SET) != 0)
			return false;
		clearerr(r->f);
	} else
		r->p = r->text;
	r->lineno = 0;
	r->started = false;
	r->end_model_ns = 0;
	return true;
}

bool srec_addr_equal(const char *a, const char *b)
{
	for (;; a++, b++) {
		unsigned char x = (unsigned char)*a, y = (unsigned char)*b;
		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y - 'A' + 'a');
		if (x != y)
			return false;
		if (!x)
			return true;
	}
}

static int src_getc(srec_reader *r)
{
	if (r->f)
		return getc(r->f);
	return r->p < r->end ? (unsigned char)*r->p++ : EOF;
}

/* The next line into r->line (without its end: LF, CRLF or CR); -1 at
 * the end of the input, 1 if it did not fit (the rest is skipped), 2 if
 * it holds a NUL byte, else 0.  *len: its bytes kept. */
static int read_line(srec_reader *r, size_t *len)
{
	size_t n = 0;
	int ch, st = 0;
	bool any = false;
	while ((ch = src_getc(r)) != EOF) {
		any = true;
		if (ch == '\n')
			break;
		if (ch == '\r') {
			int nx = src_getc(r);
			if (nx != '\n' && nx != EOF) {
				if (r->f)
					ungetc(nx, r->f);
				else
					r->p--;
			}
			break;
		}
		if (ch == 0)
			st = st ? st : 2;
		if (n + 1 >= SREC_LINE_MAX - 1) {
			st = 1;
			continue; /* the rest of the line is read and dropped */
		}
		r->line[n++] = (char)ch;
	}
	r->line[n] = '\0';
	*len = n;
	return any ? st : -1;
}

/* ---- one JSON object ------------------------------------------------------- */

typedef enum jtype { J_STR, J_NUM, J_TRUE, J_FALSE, J_NULL, J_NESTED } jtype;

typedef struct jfield {
	char key[32];       /* cut keys are never ours: "" */
	int col;            /* of the value */
	jtype type;
	bool whole;         /* J_NUM: a whole number within int64 */
	int64_t i;
	const char *s;      /* J_STR: decoded, NUL-terminated, in scratch */
	size_t slen;
} jfield;

typedef struct jparse {
	const char *line, *q;
	char *out, *out_end;   /* scratch */
	jfield f[SREC_FIELDS_MAX];
	int n;
	int err_col;
	char *msg;
	size_t msglen;
} jparse;

__attribute__((format(printf, 3, 4)))
static bool jfail(jparse *j, const char *at, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(j->msg, j->msglen, fmt, ap);
	va_end(ap);
	j->err_col = (int)(at - j->line) + 1;
	return false;
}

static void jspace(jparse *j)
{
	while (*j->q == ' ' || *j->q == '\t')
		j->q++;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
		: c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static bool hex4(jparse *j, const char *p, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		int h = hexval(p[i]);
		if (h < 0)
			return jfail(j, p, "\\u needs four hexadecimal digits");
		*v = *v << 4 | (unsigned)h;
	}
	return true;
}

/* A string at j->q (on its opening quote), decoded into scratch when out
 * is true, else only checked.  *s, *len: the decoded text. */
static bool jstring(jparse *j, bool out, const char **s, size_t *len)
{
	const char *p = j->q + 1;
	char *o = j->out, *start = j->out;
	size_t n = 0;
	for (;;) {
		unsigned char c = (unsigned char)*p;
		char buf[4];
		size_t k = 0;
		if (c == '\0')
			return jfail(j, j->q, "a string is not closed");
		if (c == '"')
			break;
		if (c < 0x20)
			return jfail(j, p, "a control character inside a string (write it as \\u%04x)", c);
		if (c != '\\') {
			buf[k++] = (char)c;
			p++;
		} else {
			char e = p[1];
			const char *esc = p;
			p += 2;
			switch (e) {
			case '"': buf[k++] = '"'; break;
			case '\\': buf[k++] = '\\'; break;
			case '/': buf[k++] = '/'; break;
			case 'b': buf[k++] = '\b'; break;
			case 'f': buf[k++] = '\f'; break;
			case 'n': buf[k++] = '\n'; break;
			case 'r': buf[k++] = '\r'; break;
			case 't': buf[k++] = '\t'; break;
			case 'u': {
				unsigned cp, lo;
				if (!hex4(j, p, &cp))
					return false;
				p += 4;
				if (cp >= 0xd800 && cp <= 0xdbff) {
					if (p[0] != '\\' || p[1] != 'u' || !hex4(j, p + 2, &lo) || lo < 0xdc00 || lo > 0xdfff)
						return jfail(j, esc, "a lone surrogate \\u%04x", cp);
					p += 6;
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				} else if (cp >= 0xdc00 && cp <= 0xdfff)
					return jfail(j, esc, "a lone surrogate \\u%04x", cp);
				if (cp == 0)
					return jfail(j, esc, "a NUL character (\\u0000) inside a string");
				if (cp < 0x80)
					buf[k++] = (char)cp;
				else if (cp < 0x800) {
					buf[k++] = (char)(0xc0 | cp >> 6);
					buf[k++] = (char)(0x80 | (cp & 0x3f));
				} else if (cp < 0x10000) {
					buf[k++] = (char)(0xe0 | cp >> 12);
					buf[k++] = (char)(0x80 | (cp >> 6 & 0x3f));
					buf[k++] = (char)(0x80 | (cp & 0x3f));
				} else {
					buf[k++] = (char)(0xf0 | cp >> 18);
					buf[k++] = (char)(0x80 | (cp >> 12 & 0x3f));
					buf[k++] = (char)(0x80 | (cp >> 6 & 0x3f));
					buf[k++] = (char)(0x80 | (cp & 0x3f));
				}
				break;
			}
			default:
				return jfail(j, esc, "an unknown escape \\%c", e >= 0x20 && e < 0x7f ? e : '?');
			}
		}
		if (out) {
			/* the decoded text is never longer than the line's, and
			 * scratch is as long as a line: this cannot fail */
			if ((size_t)(j->out_end - o) <= k)
				return jfail(j, j->q, "a string too long");
			memcpy(o, buf, k);
			o += k;
		}
		n += k;
	}
	j->q = p + 1;
	if (out) {
		*o++ = '\0';
		j->out = o;
		*s = start;
	}
	*len = n;
	return true;
}

/* A number: -?digits[.digits][e[+-]digits], as JSON writes it. */
static bool jnumber(jparse *j, jfield *f)
{
	const char *p = j->q, *start = p;
	bool neg = *p == '-', frac = false;
	if (neg)
		p++;
	if (*p < '0' || *p > '9')
		return jfail(j, start, "not a JSON value");
	if (*p == '0' && p[1] >= '0' && p[1] <= '9')
		return jfail(j, start, "a number with a leading zero");
	uint64_t v = 0;
	bool over = false;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			over = true;
		else
			v = v * 10 + d;
	}
	if (*p == '.') {
		frac = true;
		p++;
		if (*p < '0' || *p > '9')
			return jfail(j, start, "a number without digits after its point");
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		frac = true;
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (*p < '0' || *p > '9')
			return jfail(j, start, "a number without digits in its exponent");
		while (*p >= '0' && *p <= '9')
			p++;
	}
	f->type = J_NUM;
	f->whole = !frac && !over && v <= (uint64_t)INT64_MAX;
	f->i = f->whole ? (neg ? -(int64_t)v : (int64_t)v) : 0;
	j->q = p;
	return true;
}

/* Any value, not kept (nested arrays and objects), at most depth levels. */
static bool jskip(jparse *j, int depth)
{
	jspace(j);
	char c = *j->q;
	if (c == '"') {
		size_t n;
		return jstring(j, false, NULL, &n);
	}
	if (c == '[' || c == '{') {
		char close = c == '[' ? ']' : '}';
		if (depth >= SREC_DEPTH_MAX)
			return jfail(j, j->q, "nested more than %d levels deep", SREC_DEPTH_MAX);
		j->q++;
		jspace(j);
		if (*j->q == close) {
			j->q++;
			return true;
		}
		for (;;) {
			if (c == '{') {
				size_t n;
				jspace(j);
				if (*j->q != '"')
					return jfail(j, j->q, "expected a key (a string)");
				if (!jstring(j, false, NULL, &n))
					return false;
				jspace(j);
				if (*j->q != ':')
					return jfail(j, j->q, "expected ':' after a key");
				j->q++;
			}
			if (!jskip(j, depth + 1))
				return false;
			jspace(j);
			if (*j->q == ',') {
				j->q++;
				continue;
			}
			if (*j->q == close) {
				j->q++;
				return true;
			}
			return jfail(j, j->q, "expected ',' or '%c'", close);
		}
	}
	jfield tmp;
	if (!strncmp(j->q, "true", 4) || !strncmp(j->q, "null", 4)) {
		j->q += 4;
		return true;
	}
	if (!strncmp(j->q, "false", 5)) {
		j->q += 5;
		return true;
	}
	return jnumber(j, &tmp);
}

/* The line as one flat object into j->f. */
static bool jobject(jparse *j)
{
	jspace(j);
	if (*j->q != '{')
		return jfail(j, j->q, "expected a JSON object ({...}) on each line");
	j->q++;
	jspace(j);
	if (*j->q == '}') {
		j->q++;
	} else {
		for (;;) {
			jspace(j);
			if (*j->q != '"')
				return jfail(j, j->q, "expected a key (a string)");
			if (j->n == SREC_FIELDS_MAX)
				return jfail(j, j->q, "more than %d fields", SREC_FIELDS_MAX);
			jfield *f = &j->f[j->n];
			memset(f, 0, sizeof *f);
			const char *kpos = j->q;
			const char *ks;
			size_t kn;
			char *mark = j->out;
			if (!jstring(j, true, &ks, &kn))
				return false;
			if (kn < sizeof f->key)
				memcpy(f->key, ks, kn + 1);
			j->out = mark; /* the key's text is not kept */
			for (int i = 0; f->key[0] && i < j->n; i++)
				if (!strcmp(j->f[i].key, f->key))
					return jfail(j, kpos, "the key \"%s\" is given twice", f->key);
			jspace(j);
			if (*j->q != ':')
				return jfail(j, j->q, "expected ':' after a key");
			j->q++;
			jspace(j);
			f->col = (int)(j->q - j->line) + 1;
			char c = *j->q;
			if (c == '"') {
				f->type = J_STR;
				if (!jstring(j, true, &f->s, &f->slen))
					return false;
			} else if (c == '[' || c == '{') {
				f->type = J_NESTED;
				if (!jskip(j, 1))
					return false;
			} else if (!strncmp(j->q, "true", 4)) {
				f->type = J_TRUE;
				j->q += 4;
			} else if (!strncmp(j->q, "false", 5)) {
				f->type = J_FALSE;
				j->q += 5;
			} else if (!strncmp(j->q, "null", 4)) {
				f->type = J_NULL;
				j->q += 4;
			} else if (!jnumber(j, f))
				return false;
			j->n++;
			jspace(j);
			if (*j->q == ',') {
				j->q++;
				continue;
			}
			if (*j->q == '}') {
				j->q++;
				break;
			}
			return jfail(j, j->q, "expected ',' or '}'");
		}
	}
	jspace(j);
	if (*j->q)
		return jfail(j, j->q, "text after the object");
	return true;
}

static const jfield *jget(const jparse *j, const char *key)
{
	for (int i = 0; i < j->n; i++)
		if (!strcmp(j->f[i].key, key))
			return &j->f[i];
	return NULL;
}

/* A whole number in [lo, hi]: false (reported) if it is absent and
 * required, or not such a number; absent and optional: true, *out kept. */
static bool want_int(jparse *j, const char *key, bool required, int64_t lo, int64_t hi, int64_t *out)
{
	const jfield *f = jget(j, key);
	if (!f) {
		if (required)
			return jfail(j, j->line, "\"%s\" is missing", key);
		return true;
	}
	if (f->type != J_NUM || !f->whole)
		return jfail(j, j->line + f->col - 1, "\"%s\" must be a whole number", key);
	if (f->i < lo || f->i > hi)
		return jfail(j, j->line + f->col - 1, "\"%s\": %lld is outside [%lld, %lld]", key, (long long)f->i,
			     (long long)lo, (long long)hi);
	*out = f->i;
	return true;
}

/* A string (copied to out, at most cap - 1 bytes) or, if nullable, null
 * (*has false).  Absent: as null if nullable and optional. */
static bool want_str(jparse *j, const char *key, bool required, bool nullable, char *out, size_t cap, bool *has)
{
	const jfield *f = jget(j, key);
	if (has)
		*has = false;
	if (!f || (f->type == J_NULL && nullable)) {
		if (!f && required)
			return jfail(j, j->line, "\"%s\" is missing", key);
		return true;
	}
	if (f->type != J_STR)
		return jfail(j, j->line + f->col - 1, "\"%s\" must be a string%s", key, nullable ? " or null" : "");
	if (f->slen >= cap)
		return jfail(j, j->line + f->col - 1, "\"%s\" is longer than %zu bytes", key, cap - 1);
	memcpy(out, f->s, f->slen + 1);
	if (has)
		*has = true;
	return true;
}

static const char *const kind_name[] = {
	[SREC_START] = "start", [SREC_CONNECT] = "connect", [SREC_TLS] = "tls", [SREC_AUTH] = "auth",
	[SREC_MESSAGE] = "message", [SREC_REPLY] = "reply", [SREC_CLOSE] = "close", [SREC_THROTTLE] = "throttle",
};

/* The event of a parsed line. */
static bool event_of(jparse *j, srec_event *ev)
{
	char name[16];
	int64_t v;
	if (!want_str(j, "ev", true, false, name, sizeof name, NULL)) {
		if (!jget(j, "ev") || jget(j, "ev")->type != J_STR)
			return false;
		name[0] = '\0'; /* a long name is an unknown event */
	}
	ev->kind = SREC_OTHER;
	for (int k = SREC_START; k <= SREC_THROTTLE; k++)
		if (!strcmp(name, kind_name[k]))
			ev->kind = (srec_kind)k;
	if (ev->kind == SREC_START) {
		if (!want_int(j, "format", true, 1, INT32_MAX, &v))
			return false;
		ev->format = (int)v;
		return true;
	}
	if (!want_int(j, "model_ns", ev->kind != SREC_OTHER, 0, UNIT_MAX_DURATION_NS, &ev->model_ns))
		return false;
	if (ev->kind == SREC_OTHER || ev->kind == SREC_THROTTLE)
		return true;
	if (!want_int(j, "conn", true, 1, INT64_MAX, &ev->conn))
		return false;
	if (ev->kind == SREC_AUTH || ev->kind == SREC_MESSAGE || ev->kind == SREC_REPLY) {
		if (!want_int(j, "code", true, 200, 599, &v))
			return false;
		ev->code = (int)v;
		if (!want_str(j, "enhanced", false, true, ev->enhanced, sizeof ev->enhanced, NULL) ||
		    !want_str(j, "stage", ev->kind != SREC_AUTH, false, ev->stage, sizeof ev->stage, NULL))
			return false;
	}
	if (ev->kind == SREC_AUTH)
		return want_str(j, "identity", true, true, ev->identity, sizeof ev->identity, &ev->has_identity) &&
		       want_str(j, "mech", false, true, ev->mech, sizeof ev->mech, NULL);
	if (ev->kind != SREC_MESSAGE)
		return true;
	return want_str(j, "mailbox", true, true, ev->identity, sizeof ev->identity, &ev->has_identity) &&
	       want_str(j, "message_id", true, true, ev->message_id, sizeof ev->message_id, &ev->has_message_id) &&
	       want_int(j, "rcpt_internal", true, 0, (int64_t)1 << 40, &ev->rcpt_internal) &&
	       want_int(j, "rcpt_external", true, 0, (int64_t)1 << 40, &ev->rcpt_external) &&
	       want_int(j, "size", true, -1, UNIT_MAX_SIZE_BYTES, &ev->size_bytes) &&
	       want_int(j, "data_begin_model_ns", false, 0, UNIT_MAX_DURATION_NS, &ev->data_begin_model_ns);
}

int srec_next(srec_reader *r, srec_event *ev, int *col, char *msg, size_t msglen)
{
	size_t len;
	int st;
	*col = 1;
	msg[0] = '\0';
	for (;;) {
		if (r->lineno == INT32_MAX) {
			snprintf(msg, msglen, "more than %d lines", INT32_MAX);
			return SREC_STOP;
		}
		st = read_line(r, &len);
		if (st < 0) {
			*col = 0;
			if (r->f && ferror(r->f)) {
				snprintf(msg, msglen, "unreadable (a read error)");
				return SREC_STOP;
			}
			if (!r->started) {
				snprintf(msg, msglen, "empty: a record begins with {\"ev\":\"start\",\"format\":%d,...}",
					 SREC_FORMAT);
				return SREC_STOP;
			}
			return SREC_END;
		}
		r->lineno++;
		const char *s = r->line;
		/* a UTF-8 byte-order mark at the top is not part of the line */
		if (r->lineno == 1 && len >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3))
			s += 3;
		while (*s == ' ' || *s == '\t')
			s++;
		if (st == 0 && !*s)
			continue;
		if (st == 1) {
			snprintf(msg, msglen, "a line longer than %d bytes", SREC_LINE_MAX - 2);
			return r->started ? SREC_BAD : SREC_STOP;
		}
		if (st == 2) {
			*col = (int)strlen(r->line) + 1;
			snprintf(msg, msglen, "a NUL byte: not a text file");
			return r->started ? SREC_BAD : SREC_STOP;
		}
		jparse j = { .line = r->line, .q = s, .out = r->scratch, .out_end = r->scratch + sizeof r->scratch,
			     .msg = msg, .msglen = msglen };
		memset(ev, 0, sizeof *ev);
		ev->model_ns = -1;
		ev->size_bytes = -1;
		ev->data_begin_model_ns = -1;
		bool ok = jobject(&j) && event_of(&j, ev);
		if (!r->started) {
			if (!ok || ev->kind != SREC_START) {
				char why[256];
				snprintf(why, sizeof why, "%s", ok ? "" : msg);
				snprintf(msg, msglen, "not a serve record: the first line must be "
					 "{\"ev\":\"start\",\"format\":%d,...}%s%s", SREC_FORMAT, ok ? "" : " (", ok ? "" : why);
				if (!ok)
					snprintf(msg + strlen(msg), msglen - strlen(msg), ")");
				*col = ok ? 1 : j.err_col;
				return SREC_STOP;
			}
			if (ev->format != SREC_FORMAT) {
				snprintf(msg, msglen, "record format %d: this version reads format %d", ev->format,
					 SREC_FORMAT);
				*col = jget(&j, "format")->col;
				return SREC_STOP;
			}
			r->started = true;
			return SREC_EVENT;
		}
		if (!ok) {
			*col = j.err_col;
			return SREC_BAD;
		}
		if (ev->kind == SREC_START) {
			snprintf(msg, msglen, "a second start line (two records joined?)");
			return SREC_BAD;
		}
		if (ev->model_ns > r->end_model_ns)
			r->end_model_ns = ev->model_ns;
		return SREC_EVENT;
	}
}
