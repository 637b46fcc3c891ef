/* scn_trace.c - the trace CSV reader (docs/SCENARIOS.md, Traces): a
 * header time,sender,recipients,size[,external], then one row per message,
 * read as it goes from a file (or from memory: scn_trace_parse), checked
 * row by row, sorted by time (stably) and bounded by the load's memory.
 */
#include "scn_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "rfile.h"
#include "status.h"
#include "units.h"

void scn_labels_free(scn_ctx *c, scn_labels *l)
{
	for (size_t i = 0; i < l->n; i++)
		sim_free(c->a, l->v[i], strlen(l->v[i]) + 1);
	sim_free(c->a, l->v, l->cap * sizeof *l->v);
	sim_free(c->a, l->slot, l->nslot * sizeof *l->slot);
}

static uint64_t label_hash(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

static bool labels_rehash(scn_ctx *c, scn_labels *l, size_t nslot)
{
	uint32_t *t = scn_xalloc(c, nslot * sizeof *t);
	if (!t)
		return false;
	for (size_t i = 0; i < l->n; i++) {
		size_t k = label_hash(l->v[i], strlen(l->v[i])) & (nslot - 1);
		while (t[k])
			k = (k + 1) & (nslot - 1);
		t[k] = (uint32_t)(i + 1);
	}
	sim_free(c->a, l->slot, l->nslot * sizeof *l->slot);
	l->slot = t;
	l->nslot = nslot;
	return true;
}

int64_t scn_label_index(scn_ctx *c, scn_labels *l, const char *s, size_t len)
{
	size_t k = 0;
	if (l->nslot) {
		k = label_hash(s, len) & (l->nslot - 1);
		for (; l->slot[k]; k = (k + 1) & (l->nslot - 1)) {
			const char *t = l->v[l->slot[k] - 1];
			if (strlen(t) == len && !memcmp(t, s, len))
				return (int64_t)l->slot[k] - 1;
		}
	}
	if (2 * (l->n + 1) > l->nslot) {
		if (!labels_rehash(c, l, l->nslot ? 2 * l->nslot : 64))
			return -1;
		k = label_hash(s, len) & (l->nslot - 1);
		while (l->slot[k])
			k = (k + 1) & (l->nslot - 1);
	}
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 16;
		char **v = sim_realloc(c->a, l->v, l->cap * sizeof *v, nc * sizeof *v);
		if (!v) {
			c->nomem = true;
			return -1;
		}
		l->v = v;
		l->cap = nc;
	}
	char *d = scn_xstrndup(c, s, len);
	if (!d)
		return -1;
	l->v[l->n] = d;
	l->slot[k] = (uint32_t)(l->n + 1);
	return (int64_t)l->n++;
}

void scn_sort_rows(scn_trace_row *v, scn_trace_row *tmp, size_t n)
{
	for (size_t w = 1; w < n; w *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * w) {
			size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
			size_t i = lo, j = mid, k = lo;
			while (i < mid && j < hi)
				tmp[k++] = v[j].time_ns < v[i].time_ns ? v[j++] : v[i++];
			while (i < mid)
				tmp[k++] = v[i++];
			while (j < hi)
				tmp[k++] = v[j++];
		}
		memcpy(v, tmp, n * sizeof *v);
		if (w > n / 2)
			break; /* w *= 2 would overflow for n near SIZE_MAX; the last pass is done */
	}
}

#define TRACE_MAX_BAD_ROWS 10

/* Where the rows come from: a file (read as it goes, so a large trace is
 * never held twice) or a text in memory. */
typedef struct line_src {
	FILE *f;
	const char *p, *end;
} line_src;

/* One byte of src, or EOF. */
static int src_getc(line_src *src)
{
	if (src->f)
		return getc(src->f);
	return src->p < src->end ? (unsigned char)*src->p++ : EOF;
}

/* A byte read one too far goes back (at most one, as ungetc allows). */
static void src_ungetc(line_src *src, int ch)
{
	if (ch == EOF)
		return;
	if (src->f)
		ungetc(ch, src->f);
	else
		src->p--;
}

/* The next line of src into buf (at most size - 1 bytes, NUL-terminated,
 * without its end), whatever ends it: LF, CRLF or a lone CR (RFC 4180
 * writes CRLF; old Mac tools write CR).  A NUL byte is read like any
 * other.  Returns the bytes consumed, end included (0: no more input);
 * *cut is set when the line did not fit (the rest is still unread). */
static size_t src_gets(line_src *src, char *buf, size_t size, size_t *len, bool *cut)
{
	size_t n = 0, used = 0;
	int ch;
	*cut = false;
	while ((ch = src_getc(src)) != EOF) {
		used++;
		if (ch == '\n')
			break;
		if (ch == '\r') {
			int nx = src_getc(src);
			if (nx == '\n')
				used++;
			else
				src_ungetc(src, nx);
			break;
		}
		if (n + 1 >= size) {
			src_ungetc(src, ch);
			used--;
			*cut = true;
			break;
		}
		buf[n++] = (char)ch;
	}
	buf[n] = '\0';
	*len = n;
	return used;
}

/* The rest of a line that did not fit, up to and including its end. */
static void src_skip_line(line_src *src)
{
	int ch;
	while ((ch = src_getc(src)) != EOF && ch != '\n') {
		if (ch == '\r') {
			int nx = src_getc(src);
			if (nx != '\n')
				src_ungetc(src, nx);
			return;
		}
	}
}

__attribute__((format(printf, 5, 6)))
static void trace_err(scn_ctx *c, const yml_node *n, const char *path, const char *p, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (n)
		scn_push_error(c, c->file, n->line, n->col, p, msg);
	else
		scn_push_error(c, path, 0, 0, p, msg);
}

/* One read of a trace: where problems are reported (see trace_read_rows),
 * the rows so far (rows[0..nrows), cap allocated) and their senders. */
typedef struct trace_read {
	scn_ctx *c;
	const yml_node *n;   /* the `trace:` node, or NULL */
	const char *path;    /* the trace file's name */
	const char *p;       /* the key */
	int64_t start_unix_s;
	scn_trace_row *rows;
	size_t nrows, cap;
	scn_labels labels;
	int lineno;          /* 1-based, of the line last read */
	int bad;             /* problems found; more than TRACE_MAX_BAD_ROWS: stop */
	bool header;         /* the header has been read */
} trace_read;

#define TRACE_LINE_MAX 1024 /* a line's bytes, with its end and the NUL */

enum { LINE_END, LINE_SKIP, LINE_ROW };

/* The next line of src into line[TRACE_LINE_MAX], without its end.
 * LINE_END at the end of src or when reading stops; LINE_SKIP for a
 * blank line, a comment or a line with a problem (reported). */
static int read_line(trace_read *t, line_src *src, char *line)
{
	scn_ctx *c = t->c;
	size_t len;
	bool cut;
	if (src_gets(src, line, TRACE_LINE_MAX - 1, &len, &cut) == 0)
		return LINE_END;
	if (t->lineno == INT32_MAX) {
		scn_err_file(c, t->path, t->lineno, 1, t->p, "more than %d lines", INT32_MAX);
		t->bad++;
		return LINE_END;
	}
	t->lineno++;
	if (cut) {
		scn_err_file(c, t->path, t->lineno, 1, t->p, "row %d: line longer than %d characters", t->lineno - 1,
			     TRACE_LINE_MAX - 2);
		t->bad++;
		src_skip_line(src);
		return t->bad > TRACE_MAX_BAD_ROWS ? LINE_END : LINE_SKIP;
	}
	if (memchr(line, '\0', len)) {
		scn_err_file(c, t->path, t->lineno, (int)strlen(line) + 1, t->p, "row %d: a NUL byte: not a text file",
			     t->lineno - 1);
		t->bad++;
		return t->bad > TRACE_MAX_BAD_ROWS ? LINE_END : LINE_SKIP;
	}
	/* A UTF-8 byte-order mark (spreadsheets write one) opens the file,
	 * not the header. */
	if (t->lineno == 1 && len >= 3 && !memcmp(line, "\xEF\xBB\xBF", 3))
		memmove(line, line + 3, len - 2);
	const char *s = line;
	while (*s == ' ' || *s == '\t')
		s++;
	return !*s || *s == '#' ? LINE_SKIP : LINE_ROW;
}

/* Split line in place at its commas into at most 6 fields, blanks around
 * each trimmed, remembering each one's column; returns the number of
 * fields (which may exceed 6).  A field may be quoted as RFC 4180 says
 * ("a,b", "say ""hi""": the quotes go, a doubled quote is one); a line
 * break inside quotes is not supported.  A quote left open returns -1, text
 * after a closing quote -2, with *bad_col the column of the problem. */
static int split_fields(char *line, char *fld[6], int fcol[6], int *bad_col)
{
	int nf = 0;
	char *q = line;
	for (;;) {
		while (*q == ' ' || *q == '\t')
			q++;
		char *start = q, *end, *next;
		int col = (int)(q - line) + 1;
		if (*q == '"') {
			char *r = q + 1, *wr = q;
			for (;;) {
				if (*r == '\0') {
					*bad_col = col;
					return -1;
				}
				if (*r == '"') {
					if (r[1] != '"') {
						r++;
						break;
					}
					r++;
				}
				*wr++ = *r++;
			}
			end = wr;
			while (*r == ' ' || *r == '\t')
				r++;
			if (*r != ',' && *r != '\0') {
				*bad_col = (int)(r - line) + 1;
				return -2;
			}
			next = r;
		} else {
			char *comma = strchr(q, ',');
			next = comma ? comma : q + strlen(q);
			end = next;
			while (end > q && (end[-1] == ' ' || end[-1] == '\t'))
				end--;
		}
		if (nf < 6) {
			fld[nf] = start;
			fcol[nf] = col;
		}
		nf++;
		bool more = *next == ',';
		*end = '\0';
		if (!more)
			return nf;
		q = next + 1;
	}
}

/* The first row must be the header; false (reported) if it is not. */
static bool check_header(trace_read *t, char *const *fld, int nf)
{
	t->header = true;
	if (nf < 4 || nf > 5 || strcmp(fld[0], "time") || strcmp(fld[1], "sender") ||
	    strcmp(fld[2], "recipients") || strcmp(fld[3], "size") ||
	    (nf == 5 && strcmp(fld[4], "external"))) {
		scn_err_file(t->c, t->path, t->lineno, 1, t->p,
			     "the first row must be the header time,sender,recipients,size[,external]");
		t->bad = TRACE_MAX_BAD_ROWS + 1;
		return false;
	}
	return true;
}

/* A row's time: a timestamp (from the scenario's start) or a duration. */
static bool row_time(trace_read *t, const char *s, int col, int row, int64_t *time_ns)
{
	char msg[300];
	if (strchr(s, '-') && strchr(s, ':')) {
		int64_t ts;
		if (unit_parse_timestamp(s, &ts, msg, sizeof msg)) {
			scn_err_file(t->c, t->path, t->lineno, col, t->p, "row %d: %s", row, msg);
			return false;
		}
		if (ts < t->start_unix_s) {
			scn_err_file(t->c, t->path, t->lineno, col, t->p, "row %d: time '%s' is before the scenario's start", row, s);
			return false;
		}
		if (ts - t->start_unix_s > UNIT_MAX_DURATION_NS / UNIT_NS_PER_S) {
			scn_err_file(t->c, t->path, t->lineno, col, t->p, "row %d: time '%s' is more than 100 years after the start", row, s);
			return false;
		}
		*time_ns = (ts - t->start_unix_s) * UNIT_NS_PER_S;
		return true;
	}
	if (unit_parse_duration(s, time_ns, msg, sizeof msg)) {
		scn_err_file(t->c, t->path, t->lineno, col, t->p, "row %d: time: %s", row, msg);
		return false;
	}
	return true;
}

/* A row's fields into *r (all but its instance); false after reporting
 * each of its problems. */
static bool parse_row(trace_read *t, char *const *fld, const int *fcol, int nf, scn_trace_row *r)
{
	scn_ctx *c = t->c;
	int row = t->lineno - 1, line = t->lineno;
	char msg[300];
	if (nf < 4 || nf > 5) {
		scn_err_file(c, t->path, line, 1, t->p, "row %d: expected 4 or 5 fields, got %d", row, nf);
		return false;
	}
	bool ok = row_time(t, fld[0], fcol[0], row, &r->time_ns);
	if (!fld[1][0]) {
		scn_err_file(c, t->path, line, fcol[1], t->p, "row %d: the sender is empty", row);
		ok = false;
	}
	if (unit_parse_count(fld[2], &r->recipients, msg, sizeof msg) || r->recipients < 1) {
		scn_err_file(c, t->path, line, fcol[2], t->p, "row %d: recipients must be a whole number >= 1, got '%s'", row, fld[2]);
		ok = false;
	} else if (r->recipients > SCN_MAX_RECIPIENTS) {
		scn_err_file(c, t->path, line, fcol[2], t->p, "row %d: recipients: %lld exceeds the bound of 2^40", row,
			     (long long)r->recipients);
		ok = false;
	}
	if (unit_parse_size(fld[3], &r->size_bytes, msg, sizeof msg)) {
		scn_err_file(c, t->path, line, fcol[3], t->p, "row %d: size: %s", row, msg);
		ok = false;
	}
	if (nf == 5 && fld[4][0]) {
		if (unit_parse_count(fld[4], &r->external, msg, sizeof msg)) {
			scn_err_file(c, t->path, line, fcol[4], t->p, "row %d: external must be a whole number, got '%s'", row, fld[4]);
			ok = false;
		} else if (ok && r->external > r->recipients) {
			scn_err_file(c, t->path, line, fcol[4], t->p, "row %d: external (%lld) exceeds recipients (%lld)",
				     row, (long long)r->external, (long long)r->recipients);
			ok = false;
		}
	}
	return ok;
}

/* Room for one more row, within the load's memory bound (the rows, and
 * the copy the sort needs); false to stop reading (reported, or nomem). */
static bool grow_rows(trace_read *t)
{
	scn_ctx *c = t->c;
	size_t nc = t->cap ? t->cap * 2 : 64, sz = sizeof *t->rows;
	if ((t->nrows + 1) * 2 * sz > SCN_MAX_LOAD_BYTES - c->load_bytes) {
		trace_err(c, t->n, t->path, t->p, "trace file '%s' has more rows than the loader's memory bound of "
			  "1 GiB allows (%zu rows so far)", t->path, t->nrows);
		c->over_budget = true;
		t->bad++;
		return false;
	}
	if (nc * 2 * sz > SCN_MAX_LOAD_BYTES - c->load_bytes)
		nc = (SCN_MAX_LOAD_BYTES - c->load_bytes) / (2 * sz);
	scn_trace_row *v = sim_realloc(c->a, t->rows, t->cap * sz, nc * sz);
	if (!v) {
		c->nomem = true;
		return false;
	}
	t->rows = v;
	t->cap = nc;
	return true;
}

/* After the last line: the problems of the whole file, then the rows
 * sorted by time (stably) and cut to fit; false if there are none. */
static bool finish_rows(trace_read *t, line_src *src)
{
	scn_ctx *c = t->c;
	if (src->f && ferror(src->f)) {
		trace_err(c, t->n, t->path, t->p, "error reading trace file '%s'", t->path);
		t->bad++;
	}
	if (!t->header && !t->bad && !c->nomem) {
		trace_err(c, t->n, t->path, t->p, "trace file '%s' is empty (expected a header time,sender,recipients,size[,external])", t->path);
		t->bad++;
	} else if (!t->nrows && !t->bad && !c->nomem) {
		trace_err(c, t->n, t->path, t->p, "trace file '%s' has no rows", t->path);
		t->bad++;
	}
	if (t->bad || c->nomem)
		return false;
	scn_trace_row *tmp = sim_malloc(c->a, t->nrows * sizeof *tmp);
	if (!tmp) {
		c->nomem = true;
		return false;
	}
	scn_sort_rows(t->rows, tmp, t->nrows);
	sim_free(c->a, tmp, t->nrows * sizeof *tmp);
	/* shrink to fit, so that scn_free knows the size from trace_len */
	scn_trace_row *fit = sim_realloc(c->a, t->rows, t->cap * sizeof *t->rows, t->nrows * sizeof *t->rows);
	if (!fit) { /* cannot happen for a shrink with a sane allocator */
		c->nomem = true;
		return false;
	}
	t->rows = fit;
	t->cap = t->nrows;
	return true;
}

/* Read the rows of a trace CSV: header, then time,sender,recipients,size
 * [,external].  Row problems are reported at the trace file's line and
 * column, problems of the whole file at n (the `trace:` node; or, if n is
 * NULL, at the trace file without a position).  On success *rows (sorted
 * by time, stably; exactly *nrows long, allocated with c->a) and
 * *nlabels (distinct senders) are set and true is returned. */
static bool trace_read_rows(scn_ctx *c, line_src *src, const yml_node *n, const char *path, const char *p,
			    int64_t start_unix_s, scn_trace_row **rows_out, size_t *nrows_out, size_t *nlabels)
{
	trace_read t = { .c = c, .n = n, .path = path, .p = p, .start_unix_s = start_unix_s };
	char line[TRACE_LINE_MAX], *fld[6];
	int fcol[6], k;
	while ((k = read_line(&t, src, line)) != LINE_END) {
		if (k == LINE_SKIP)
			continue;
		int bad_col = 1;
		int nf = split_fields(line, fld, fcol, &bad_col);
		if (nf < 0) {
			scn_err_file(c, t.path, t.lineno, bad_col, t.p, "row %d: %s", t.lineno - 1,
				     nf == -1 ? "a quoted field is not closed (a line break inside quotes is not supported)"
					      : "text after a closing quote (write \"\" for a quote inside a quoted field)");
			t.bad++;
			if (!t.header)
				break;
			continue;
		}
		if (!t.header) {
			if (!check_header(&t, fld, nf))
				break;
			continue;
		}
		if (t.bad > TRACE_MAX_BAD_ROWS)
			break;
		scn_trace_row r = { 0 };
		if (!parse_row(&t, fld, fcol, nf, &r)) {
			t.bad++;
			continue;
		}
		if (t.nrows == t.cap && !grow_rows(&t))
			break;
		r.instance = scn_label_index(c, &t.labels, fld[1], strlen(fld[1]));
		if (r.instance < 0)
			break;
		t.rows[t.nrows++] = r;
	}
	*nlabels = t.labels.n;
	scn_labels_free(c, &t.labels);
	if (!finish_rows(&t, src)) {
		sim_free(c->a, t.rows, t.cap * sizeof *t.rows);
		return false;
	}
	c->load_bytes += t.nrows * sizeof *t.rows;
	*rows_out = t.rows;
	*nrows_out = t.nrows;
	return true;
}

int scn_trace_parse(const char *name, const char *text, size_t len, int64_t start_unix_s,
		    const sim_alloc *a, scn_trace_row **rows, size_t *nrows, size_t *nsenders,
		    scn_errors *errs)
{
	scn_ctx c = { 0 };
	c.a = a;
	c.errs = errs;
	c.file = name;
	c.dir = "";
	line_src src = { NULL, text, text + len };
	scn_trace_row *r = NULL;
	size_t nr = 0, nl = 0;
	if (!trace_read_rows(&c, &src, NULL, name, "", start_unix_s, &r, &nr, &nl))
		return c.nomem ? SIM_ENOMEM : SIM_ESCENARIO;
	*rows = r;
	*nrows = nr;
	if (nsenders)
		*nsenders = nl;
	return 0;
}

FILE *scn_open_arrivals_file(scn_ctx *c, const yml_node *n, const char *p, const char *what,
			     scn_arrivals *ar)
{
	char path[sizeof ar->trace_file];
	if (!scn_want_scalar(c, n, p, "a file name"))
		return NULL;
	if (n->str[0] == '/')
		snprintf(path, sizeof path, "%s", n->str);
	else if (snprintf(path, sizeof path, "%s%s", c->dir, n->str) >= (int)sizeof path) {
		scn_err_node(c, n, p, "%s path too long", what);
		return NULL;
	}
	snprintf(ar->trace_file, sizeof ar->trace_file, "%s", path);
	/* Only regular files, asked before a byte is read and opened without
	 * blocking: a FIFO used to hang in open(), /dev/zero never ends. */
	int err = 0;
	FILE *f = rfile_open(path, &err);
	if (!f) {
		if (!err)
			scn_err_node(c, n, p, "%s file '%s' is not a regular file", what, path);
		else
			scn_err_node(c, n, p, "cannot open %s file '%s': %s", what, path, strerror(err));
	}
	return f;
}

/* The trace file of n for sender snd of s. */
void scn_read_trace(scn_ctx *c, const yml_node *n, const char *p, const scenario *s, scn_sender *snd,
		       bool count_given)
{
	scn_arrivals *ar = &snd->arrivals;
	FILE *f = scn_open_arrivals_file(c, n, p, "trace", ar);
	if (!f)
		return;
	line_src src = { f, NULL, NULL };
	scn_trace_row *rows = NULL;
	size_t nrows = 0, nlabels = 0;
	bool ok = trace_read_rows(c, &src, n, ar->trace_file, p, s->start_unix_s, &rows, &nrows, &nlabels);
	fclose(f);
	if (!ok)
		return;
	if (count_given && (int64_t)nlabels > snd->count)
		scn_err_node(c, n, p, "trace file '%s' names %zu senders, more than count (%lld)",
			 ar->trace_file, nlabels, (long long)snd->count);
	else if (!count_given)
		snd->count = (int64_t)nlabels;
	ar->trace = rows;
	ar->trace_len = nrows;
}
