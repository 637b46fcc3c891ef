/* scn_record.c - `arrivals: {record: FILE}`: the messages a serve record
 * (record.h, docs/SERVE.md, "The record") saw, replayed as a trace (docs/SCENARIOS.md).
 *
 * Each distinct message becomes one row: its Message-ID within its
 * identity names it (an attempt without one is a message of its own), it
 * arrives at the model time of its first attempt (the earliest
 * data_begin_model_ns, or the line's model_ns in a record without it),
 * with that attempt's recipients (internal + external, the external ones
 * for the tenant limits) and the size of its first attempt that reached
 * the end of its data (0 if none did: a message refused before its data
 * was never seen).  Each identity is one instance, numbered in order of
 * its first message; `identity: ADDR` keeps one (ASCII case aside).
 *
 * `scale: X` replays X times the volume: the copies of an arrival at t
 * are spread evenly over the gap to the instance's next arrival t'
 * (copy j at t + floor(j (t' - t) / X)), and the last arrival's over the
 * time to the record's last line.  So the count in every interval
 * between two recorded arrivals is multiplied by X: the quiet stretches
 * stay quiet and the busy ones become X times as busy, which is what
 * "the same application with X times the traffic" means; copies at one
 * instant would instead make every message a burst of X, and shifted
 * copies of the whole stream would fill the quiet stretches.
 *
 * Bounds are the trace's: the rows (after scaling, and the copy the sort
 * needs) within the load's memory bound, refused by name before they are
 * allocated; up to TRACE_MAX_BAD lines reported, then reading stops.
 */
#include "scn_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "rfile.h"
#include "status.h"

#define RECORD_MAX_BAD 10
#define RECORD_MAX_SCALE 10000

typedef struct rec_read {
	scn_ctx *c;
	const yml_node *n;      /* the `record:` node, or NULL */
	const char *path, *p;
	const char *identity;   /* NULL: every identity */
	int64_t scale;
	scn_trace_row *rows;    /* one per message, in order of first sight */
	size_t nrows, cap;
	scn_labels ids;         /* identities (lower case) */
	scn_labels msgs;        /* "instance:message_id" (or "instance#row") -> row */
	int bad;
} rec_read;

__attribute__((format(printf, 2, 3)))
static void whole_err(rec_read *t, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (t->n)
		scn_push_error(t->c, t->c->file, t->n->line, t->n->col, t->p, msg);
	else
		scn_push_error(t->c, t->path, 0, 0, t->p, msg);
	t->bad++;
}

/* Room for one more row within the load's bound (the rows and the copy
 * the sort needs); false to stop (reported, or nomem). */
static bool grow(rec_read *t)
{
	scn_ctx *c = t->c;
	size_t sz = sizeof *t->rows, nc = t->cap ? t->cap * 2 : 64;
	if ((t->nrows + 1) * 2 * sz > SCN_MAX_LOAD_BYTES - c->load_bytes) {
		whole_err(t, "record file '%s' has more messages than the loader's memory bound of 1 GiB allows "
			  "(%zu so far)", t->path, t->nrows);
		c->over_budget = true;
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

/* One message line; false to stop reading. */
static bool on_message(rec_read *t, srec_reader *r, const srec_event *ev)
{
	scn_ctx *c = t->c;
	if (!ev->has_identity) {
		scn_err_file(c, t->path, r->lineno, 1, t->p, "a message without a mailbox (\"mailbox\": null): "
			     "serve records messages only after AUTH");
		return ++t->bad <= RECORD_MAX_BAD;
	}
	if (t->identity && !srec_addr_equal(ev->identity, t->identity))
		return true;
	int64_t rcpt = ev->rcpt_internal + ev->rcpt_external;
	if (rcpt < 1 || rcpt > SCN_MAX_RECIPIENTS) {
		scn_err_file(c, t->path, r->lineno, 1, t->p, "a message with %lld recipients (expected 1 to 2^40)",
			     (long long)rcpt);
		return ++t->bad <= RECORD_MAX_BAD;
	}
	if (t->bad)
		return true; /* only more problems are looked for */
	char low[SREC_STR_MAX];
	size_t n = strlen(ev->identity);
	for (size_t i = 0; i <= n; i++)
		low[i] = ev->identity[i] >= 'A' && ev->identity[i] <= 'Z' ? (char)(ev->identity[i] - 'A' + 'a')
									  : ev->identity[i];
	int64_t inst = t->identity ? 0 : scn_label_index(c, &t->ids, low, n);
	if (inst < 0)
		return false;
	int64_t begin = ev->data_begin_model_ns >= 0 ? ev->data_begin_model_ns : ev->model_ns;
	/* rows and labels are made together, so a label's index is its row;
	 * an attempt without a Message-ID gets a label no Message-ID can
	 * take ('#' where the others have ':') */
	char key[SREC_STR_MAX + 24];
	int kn = ev->has_message_id ? snprintf(key, sizeof key, "%lld:%s", (long long)inst, ev->message_id)
				    : snprintf(key, sizeof key, "%lld#%zu", (long long)inst, t->nrows);
	int64_t k = scn_label_index(c, &t->msgs, key, (size_t)kn);
	if (k < 0)
		return false;
	size_t row = (size_t)k;
	if (row < t->nrows) {
		/* another attempt of a message seen before */
		scn_trace_row *m = &t->rows[row];
		if (begin < m->time_ns) {
			m->time_ns = begin;
			m->recipients = rcpt;
			m->external = ev->rcpt_external;
			if (ev->size_bytes >= 0)
				m->size_bytes = ev->size_bytes;
		} else if (m->size_bytes < 0)
			m->size_bytes = ev->size_bytes;
		return true;
	}
	if (t->nrows == t->cap && !grow(t))
		return false;
	t->rows[t->nrows++] = (scn_trace_row){ .time_ns = begin, .instance = inst, .recipients = rcpt,
					       .external = ev->rcpt_external, .size_bytes = ev->size_bytes };
	return true;
}

/* The rows, sorted and scaled, cut to fit: false if there are none
 * (reported) or they do not fit. */
static bool finish(rec_read *t, int64_t end_ns, size_t ninst)
{
	scn_ctx *c = t->c;
	const sim_alloc *a = c->a;
	size_t sz = sizeof *t->rows;
	if (!t->nrows) {
		if (t->identity)
			whole_err(t, "record file '%s' has no message of '%s'", t->path, t->identity);
		else
			whole_err(t, "record file '%s' has no message", t->path);
		return false;
	}
	size_t n = t->nrows, total = n * (size_t)t->scale;
	if (total / (size_t)t->scale != n || total > (SCN_MAX_LOAD_BYTES - c->load_bytes) / (2 * sz)) {
		whole_err(t, "record file '%s' at scale %lld makes %zu x %lld rows, more than the loader's memory "
			  "bound of 1 GiB allows", t->path, (long long)t->scale, n, (long long)t->scale);
		c->over_budget = true;
		return false;
	}
	for (size_t i = 0; i < n; i++)
		if (t->rows[i].size_bytes < 0)
			t->rows[i].size_bytes = 0;
	scn_trace_row *out = sim_malloc(a, total * sz), *tmp = sim_malloc(a, total * sz);
	int64_t *next = sim_malloc(a, ninst * sizeof *next);
	if (!out || !tmp || !next) {
		sim_free(a, out, total * sz);
		sim_free(a, tmp, total * sz);
		sim_free(a, next, ninst * sizeof *next);
		c->nomem = true;
		return false;
	}
	scn_sort_rows(t->rows, tmp, n);
	/* backwards: each row's next arrival of its instance (the last: the
	 * record's end) */
	for (size_t q = 0; q < ninst; q++)
		next[q] = end_ns;
	int64_t X = t->scale;
	for (size_t i = n; i-- > 0;) {
		const scn_trace_row *m = &t->rows[i];
		int64_t gap = next[m->instance] > m->time_ns ? next[m->instance] - m->time_ns : 0;
		for (int64_t j = 0; j < X; j++) {
			/* floor(j * gap / X) without overflow: j < X <= 10^4 */
			scn_trace_row cp = *m;
			cp.time_ns = m->time_ns + j * (gap / X) + j * (gap % X) / X;
			out[i * (size_t)X + (size_t)j] = cp;
		}
		next[m->instance] = m->time_ns;
	}
	if (X > 1)
		scn_sort_rows(out, tmp, total);
	sim_free(a, tmp, total * sz);
	sim_free(a, next, ninst * sizeof *next);
	sim_free(a, t->rows, t->cap * sz);
	t->rows = out;
	t->nrows = t->cap = total;
	return true;
}

/* Read the record r into rows (see the file's comment).  Line problems at
 * the record's line and column; problems of the whole file at n (or
 * without a position when n is NULL). */
static bool read_rows(scn_ctx *c, srec_reader *r, const yml_node *n, const char *path, const char *p,
		      const char *identity, int64_t scale, scn_trace_row **rows_out, size_t *nrows_out,
		      size_t *ninst_out)
{
	rec_read t = { .c = c, .n = n, .path = path, .p = p, .identity = identity, .scale = scale };
	srec_event *ev = sim_malloc(c->a, sizeof *ev);
	if (!ev) {
		c->nomem = true;
		return false;
	}
	int col, st;
	char msg[400];
	while ((st = srec_next(r, ev, &col, msg, sizeof msg)) != SREC_END) {
		if (st == SREC_STOP) {
			if (col == 0)
				whole_err(&t, "record file '%s' is %s", path, msg);
			else {
				scn_err_file(c, path, r->lineno, col, p, "%s", msg);
				t.bad++;
			}
			break;
		}
		if (st == SREC_BAD) {
			scn_err_file(c, path, r->lineno, col, p, "%s", msg);
			if (++t.bad > RECORD_MAX_BAD)
				break;
			continue;
		}
		if (ev->kind == SREC_MESSAGE && !on_message(&t, r, ev))
			break;
	}
	sim_free(c->a, ev, sizeof *ev);
	size_t ninst = identity ? 1 : t.ids.n;
	scn_labels_free(c, &t.ids);
	scn_labels_free(c, &t.msgs);
	bool ok = !t.bad && !c->nomem && finish(&t, r->end_model_ns, ninst);
	if (!ok) {
		sim_free(c->a, t.rows, t.cap * sizeof *t.rows);
		return false;
	}
	c->load_bytes += t.nrows * sizeof *t.rows;
	*rows_out = t.rows;
	*nrows_out = t.nrows;
	*ninst_out = ninst;
	return true;
}

int scn_record_parse(const char *name, const char *text, size_t len, const char *identity, int64_t scale,
		     const sim_alloc *a, scn_trace_row **rows, size_t *nrows, size_t *ninstances,
		     scn_errors *errs)
{
	if (scale < 1 || scale > RECORD_MAX_SCALE)
		return SIM_EINVAL;
	scn_ctx c = { 0 };
	c.a = a;
	c.errs = errs;
	c.file = name;
	c.dir = "";
	srec_reader *r = sim_malloc(a, sizeof *r);
	if (!r)
		return SIM_ENOMEM;
	srec_init_mem(r, text, len);
	scn_trace_row *v = NULL;
	size_t nv = 0, ni = 0;
	bool ok = read_rows(&c, r, NULL, name, "", identity, scale, &v, &nv, &ni);
	sim_free(a, r, sizeof *r);
	if (!ok)
		return c.nomem ? SIM_ENOMEM : SIM_ESCENARIO;
	*rows = v;
	*nrows = nv;
	if (ninstances)
		*ninstances = ni;
	return 0;
}

void scn_read_record(scn_ctx *c, const yml_node *m, const char *path, const scenario *s, scn_sender *snd,
		     bool count_given)
{
	(void)s;
	scn_arrivals *ar = &snd->arrivals;
	char p[SCN_PATH_MAX], q[SCN_PATH_MAX];
	const yml_node *n = yml_get(m, "record"), *idn = yml_get(m, "identity");
	const char *identity = NULL;
	int64_t scale = 1;
	scn_pjoin(p, path, "record");
	if (idn) {
		scn_pjoin(q, path, "identity");
		if (!scn_want_scalar(c, idn, q, "a mailbox address (the identity it authenticated as)"))
			return;
		if (!idn->str[0] || strlen(idn->str) >= SREC_STR_MAX) {
			scn_err_node(c, idn, q, "expected a mailbox address of 1 to %d bytes", SREC_STR_MAX - 1);
			return;
		}
		identity = idn->str;
	}
	if (yml_get(m, "scale") &&
	    !scn_opt_count(c, m, "scale", path, 1, RECORD_MAX_SCALE, "10^4 (times the recorded volume)", &scale))
		return;
	FILE *f = scn_open_arrivals_file(c, n, p, "record", ar);
	if (!f)
		return;
	srec_reader *r = scn_xalloc(c, sizeof *r);
	if (!r) {
		fclose(f);
		return;
	}
	srec_init_file(r, f);
	scn_trace_row *rows = NULL;
	size_t nrows = 0, ninst = 0;
	bool ok = read_rows(c, r, n, ar->trace_file, p, identity, scale, &rows, &nrows, &ninst);
	sim_free(c->a, r, sizeof *r);
	fclose(f);
	if (!ok)
		return;
	if (count_given && (int64_t)ninst > snd->count)
		scn_err_node(c, n, p, "record file '%s' holds %zu identities, more than count (%lld): choose one "
			     "with identity:", ar->trace_file, ninst, (long long)snd->count);
	else if (!count_given)
		snd->count = (int64_t)ninst;
	ar->trace = rows;
	ar->trace_len = nrows;
}
