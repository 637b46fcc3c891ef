/* record_profile.c - a client's behaviour read from serve's record
 * (record.h, srec_profile_read): how many sessions it held at once, how
 * many messages it sent on one, how often and after how long it tried a
 * message again, per reply.  `throttlesim profile` prints it as a
 * sender's session: and retry: sections.
 *
 * One pass over the record (two when the identity must be found first),
 * two hash tables: connections by id, messages by Message-ID.  What the
 * record cannot show is not guessed: a connection lost before its end of
 * data leaves no message line, so such an attempt is not counted; a
 * message refused before its data carries no Message-ID, so its retry is
 * counted as a message of its own.
 */
#include "record.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"

/* ---- the tables ------------------------------------------------------------ */

typedef struct conn_st {
	int64_t id;           /* 0: empty slot */
	int64_t connect_ns;   /* -1: no connect line */
	int64_t attempts;
	int64_t last_reply_ns;/* of its last message line; -1: none yet */
	int64_t run;          /* messages since its last pause (the pacing pass) */
	bool ours;            /* authenticated as the identity */
	bool open;            /* counted in the sessions at once */
} conn_st;

typedef struct msg_st {
	char *id;             /* NULL: empty slot */
	size_t id_len;
	int64_t attempts;
	int64_t last_reply_ns;
	int last_cls;         /* index into p->cls, or -1 (not kept) */
	int last_code;
} msg_st;

/* A gap between two messages of one connection, in record order. */
typedef struct gap_ent {
	int64_t conn, gap_ns;
	bool first;           /* the connection's first gap (its id may be reused later) */
} gap_ent;

typedef struct prof_ctx {
	const sim_alloc *a;
	srec_profile *p;
	conn_st *conns;
	size_t nconn, conn_cap;   /* cap a power of two, at most half full */
	msg_st *msgs;
	size_t nmsg, msg_cap;
	int64_t at_once;
	int64_t lone_messages;    /* attempts without a Message-ID */
	gap_ent *gaps;
	size_t ngap, gap_cap;
	int last_code;            /* of the identity's last message line */
} prof_ctx;

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

static uint64_t str_hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

static conn_st *conn_get(prof_ctx *x, int64_t id)
{
	if (2 * (x->nconn + 1) > x->conn_cap) {
		size_t nc = x->conn_cap ? 2 * x->conn_cap : 64;
		conn_st *t = sim_malloc(x->a, nc * sizeof *t);
		if (!t)
			return NULL;
		memset(t, 0, nc * sizeof *t);
		for (size_t i = 0; i < x->conn_cap; i++) {
			if (!x->conns[i].id)
				continue;
			size_t k = mix64((uint64_t)x->conns[i].id) & (nc - 1);
			while (t[k].id)
				k = (k + 1) & (nc - 1);
			t[k] = x->conns[i];
		}
		sim_free(x->a, x->conns, x->conn_cap * sizeof *x->conns);
		x->conns = t;
		x->conn_cap = nc;
	}
	size_t k = mix64((uint64_t)id) & (x->conn_cap - 1);
	for (; x->conns[k].id; k = (k + 1) & (x->conn_cap - 1))
		if (x->conns[k].id == id)
			return &x->conns[k];
	x->conns[k] = (conn_st){ .id = id, .connect_ns = -1, .last_reply_ns = -1 };
	x->nconn++;
	return &x->conns[k];
}

static msg_st *msg_get(prof_ctx *x, const char *id)
{
	size_t n = strlen(id);
	if (2 * (x->nmsg + 1) > x->msg_cap) {
		size_t nc = x->msg_cap ? 2 * x->msg_cap : 64;
		msg_st *t = sim_malloc(x->a, nc * sizeof *t);
		if (!t)
			return NULL;
		memset(t, 0, nc * sizeof *t);
		for (size_t i = 0; i < x->msg_cap; i++) {
			if (!x->msgs[i].id)
				continue;
			size_t k = str_hash(x->msgs[i].id, x->msgs[i].id_len) & (nc - 1);
			while (t[k].id)
				k = (k + 1) & (nc - 1);
			t[k] = x->msgs[i];
		}
		sim_free(x->a, x->msgs, x->msg_cap * sizeof *x->msgs);
		x->msgs = t;
		x->msg_cap = nc;
	}
	size_t k = str_hash(id, n) & (x->msg_cap - 1);
	for (; x->msgs[k].id; k = (k + 1) & (x->msg_cap - 1))
		if (x->msgs[k].id_len == n && !memcmp(x->msgs[k].id, id, n))
			return &x->msgs[k];
	char *d = sim_malloc(x->a, n + 1);
	if (!d)
		return NULL;
	memcpy(d, id, n + 1);
	x->msgs[k] = (msg_st){ .id = d, .id_len = n, .last_cls = -1 };
	x->nmsg++;
	return &x->msgs[k];
}

static void ctx_free(prof_ctx *x)
{
	for (size_t i = 0; i < x->msg_cap; i++)
		if (x->msgs[i].id)
			sim_free(x->a, x->msgs[i].id, x->msgs[i].id_len + 1);
	sim_free(x->a, x->msgs, x->msg_cap * sizeof *x->msgs);
	sim_free(x->a, x->conns, x->conn_cap * sizeof *x->conns);
	sim_free(x->a, x->gaps, x->gap_cap * sizeof *x->gaps);
}

static bool wait_add(const sim_alloc *a, srec_wait_list *w, int64_t v)
{
	if (w->n == w->cap) {
		size_t nc = w->cap ? 2 * w->cap : 16;
		int64_t *t = sim_realloc(a, w->v, w->cap * sizeof *t, nc * sizeof *t);
		if (!t)
			return false;
		w->v = t;
		w->cap = nc;
	}
	w->v[w->n++] = v;
	return true;
}

void srec_profile_free(srec_profile *p, const sim_alloc *a)
{
	for (size_t i = 0; i < p->n_classes; i++)
		sim_free(a, p->cls[i].waits.v, p->cls[i].waits.cap * sizeof *p->cls[i].waits.v);
	sim_free(a, p->gaps.v, p->gaps.cap * sizeof *p->gaps.v);
	for (int k = 0; k <= SREC_PROFILE_RETRIES; k++) {
		sim_free(a, p->transient_by_attempt[k].v, p->transient_by_attempt[k].cap * sizeof(int64_t));
		sim_free(a, p->any_by_attempt[k].v, p->any_by_attempt[k].cap * sizeof(int64_t));
	}
	memset(p, 0, sizeof *p);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

int64_t srec_median(srec_wait_list *w)
{
	if (!w->n)
		return 0;
	qsort(w->v, w->n, sizeof *w->v, cmp_i64);
	return w->v[(w->n - 1) / 2];
}

/* The class of a reply: its index in p->cls, added if new; -1 when the
 * table is full (the reply is then counted in other_classes only). */
static int class_of(srec_profile *p, int code, const char *enh)
{
	for (size_t i = 0; i < p->n_classes; i++)
		if (p->cls[i].code == code && !strcmp(p->cls[i].enhanced, enh))
			return (int)i;
	if (p->n_classes == SREC_PROFILE_CLASSES)
		return -1;
	srec_reply_obs *o = &p->cls[p->n_classes];
	memset(o, 0, sizeof *o);
	o->code = code;
	snprintf(o->enhanced, sizeof o->enhanced, "%s", enh);
	return (int)p->n_classes++;
}

/* ---- one message attempt --------------------------------------------------- */

static int on_message(prof_ctx *x, const srec_event *ev, conn_st *cn)
{
	srec_profile *p = x->p;
	const sim_alloc *a = x->a;
	int64_t begin = ev->data_begin_model_ns >= 0 ? ev->data_begin_model_ns : ev->model_ns;
	p->attempts++;
	if (cn) {
		cn->attempts++;
		if (cn->attempts > p->max_per_session)
			p->max_per_session = cn->attempts;
		if (cn->last_reply_ns >= 0) {
			/* the client's pacing: from the last reply on this
			 * connection to this message's data */
			int64_t gap = begin > cn->last_reply_ns ? begin - cn->last_reply_ns : 0;
			if (x->ngap == x->gap_cap) {
				size_t nc = x->gap_cap ? 2 * x->gap_cap : 64;
				gap_ent *t = sim_realloc(a, x->gaps, x->gap_cap * sizeof *t, nc * sizeof *t);
				if (!t)
					return SIM_ENOMEM;
				x->gaps = t;
				x->gap_cap = nc;
			}
			x->gaps[x->ngap++] = (gap_ent){ cn->id, gap, cn->attempts == 2 };
			if (!wait_add(a, &p->gaps, gap))
				return SIM_ENOMEM;
		}
		cn->last_reply_ns = ev->model_ns;
	}
	x->last_code = ev->code;
	if (ev->code >= 400)
		p->refusals++;
	int cls = class_of(p, ev->code, ev->enhanced);
	if (cls >= 0)
		p->cls[cls].replies++;
	else
		p->other_classes++;
	if (ev->code >= 500)
		p->permanent_replies++;
	if (!ev->has_message_id) {
		x->lone_messages++;
		p->attempts_hist[1]++;
		if (p->max_attempts < 1)
			p->max_attempts = 1;
		return SIM_OK;
	}
	msg_st *m = msg_get(x, ev->message_id);
	if (!m)
		return SIM_ENOMEM;
	if (m->attempts > 0) {
		/* the wait: from the last reply to the client's next move, the
		 * connection it opened for this attempt or else the data */
		int64_t start = cn && cn->connect_ns >= m->last_reply_ns ? cn->connect_ns : begin;
		int64_t wait = start > m->last_reply_ns ? start - m->last_reply_ns : 0;
		int64_t k = m->attempts < SREC_PROFILE_RETRIES ? m->attempts : SREC_PROFILE_RETRIES;
		if (m->last_cls >= 0) {
			p->cls[m->last_cls].retried++;
			if (!wait_add(a, &p->cls[m->last_cls].waits, wait))
				return SIM_ENOMEM;
		}
		if (!wait_add(a, &p->any_by_attempt[k], wait))
			return SIM_ENOMEM;
		if (m->last_code >= 400 && m->last_code < 500 && !wait_add(a, &p->transient_by_attempt[k], wait))
			return SIM_ENOMEM;
		if (m->last_code >= 500)
			p->retried_permanent = true;
	}
	m->attempts++;
	m->last_reply_ns = ev->model_ns;
	m->last_cls = cls;
	m->last_code = ev->code;
	if (m->attempts > p->max_attempts)
		p->max_attempts = m->attempts;
	return SIM_OK;
}

/* ---- the passes ------------------------------------------------------------- */

/* The record's identities: how many (case aside), the first two named. */
static int find_identity(srec_reader *r, srec_profile *p, char *msg, size_t msglen)
{
	srec_event *ev = malloc(sizeof *ev);
	if (!ev)
		return SIM_ENOMEM;
	int col, st, rc = SIM_OK;
	char why[300];
	while ((st = srec_next(r, ev, &col, why, sizeof why)) != SREC_END) {
		if (st < 0) {
			snprintf(msg, msglen, "%d:%d: %s", r->lineno, col, why);
			rc = SIM_ESCENARIO;
			break;
		}
		const char *who = NULL;
		if (ev->kind == SREC_AUTH && ev->code == 235 && ev->has_identity)
			who = ev->identity;
		else if (ev->kind == SREC_MESSAGE && ev->has_identity)
			who = ev->identity;
		if (!who)
			continue;
		if (p->n_identities == 0) {
			snprintf(p->identity, sizeof p->identity, "%s", who);
			p->n_identities = 1;
		} else if (!srec_addr_equal(who, p->identity) &&
			   (p->n_identities == 1 || !srec_addr_equal(who, p->other_identity))) {
			if (p->n_identities == 1)
				snprintf(p->other_identity, sizeof p->other_identity, "%s", who);
			p->n_identities++;
		}
	}
	free(ev);
	return rc;
}

/* The pacing the gaps show (srec_profile: gaps, batch_size, ...): the
 * pauses, the runs of messages between them on each connection (the first
 * run from the connection's first message), and the median of the other
 * gaps.  O(gaps log gaps). */
static int pacing(prof_ctx *x)
{
	srec_profile *p = x->p;
	if (x->ngap == 0)
		return SIM_OK;
	int64_t med = srec_median(&p->gaps);
	int64_t thr = 10 * med > SREC_PAUSE_MIN_NS ? 10 * med : SREC_PAUSE_MIN_NS;
	srec_wait_list small = { 0 }, pauses = { 0 }, runs = { 0 };
	int rc = SIM_OK;
	for (size_t i = 0; i < x->ngap && rc == SIM_OK; i++) {
		conn_st *cn = conn_get(x, x->gaps[i].conn);
		if (!cn) {
			rc = SIM_ENOMEM;
			break;
		}
		if (x->gaps[i].first)
			cn->run = 1; /* the connection's first message */
		if (x->gaps[i].gap_ns > thr) {
			if (!wait_add(x->a, &pauses, x->gaps[i].gap_ns) || !wait_add(x->a, &runs, cn->run))
				rc = SIM_ENOMEM;
			cn->run = 1;
		} else {
			cn->run++;
			if (!wait_add(x->a, &small, x->gaps[i].gap_ns))
				rc = SIM_ENOMEM;
		}
	}
	if (rc == SIM_OK) {
		p->pauses = (int64_t)pauses.n;
		p->gap_median_ns = srec_median(&small);
		bool same = runs.n >= 2;
		for (size_t i = 1; same && i < runs.n; i++)
			same = runs.v[i] == runs.v[0];
		if (same) {
			p->batch_size = runs.v[0];
			p->batch_pause_ns = srec_median(&pauses);
		}
	}
	sim_free(x->a, small.v, small.cap * sizeof *small.v);
	sim_free(x->a, pauses.v, pauses.cap * sizeof *pauses.v);
	sim_free(x->a, runs.v, runs.cap * sizeof *runs.v);
	return rc;
}

int srec_profile_read(srec_reader *r, const char *identity, const sim_alloc *a, srec_profile *p,
		      char *msg, size_t msglen)
{
	memset(p, 0, sizeof *p);
	msg[0] = '\0';
	if (!identity) {
		/* n_identities counts distinct names only up to the third */
		int rc = find_identity(r, p, msg, msglen);
		if (rc)
			return rc;
		if (p->n_identities == 0) {
			snprintf(msg, msglen, "no client authenticated in this record");
			return SIM_ESCENARIO;
		}
		if (p->n_identities > 1) {
			snprintf(msg, msglen, "more than one identity in this record (%s, %s%s): choose one",
				 p->identity, p->other_identity, p->n_identities > 2 ? ", ..." : "");
			return SIM_ESCENARIO;
		}
		if (!srec_rewind(r)) {
			snprintf(msg, msglen, "cannot read the record twice (a pipe?): give the identity");
			return SIM_ESCENARIO;
		}
	} else
		snprintf(p->identity, sizeof p->identity, "%s", identity);
	p->first_model_ns = -1;
	prof_ctx x = { .a = a, .p = p };
	srec_event *ev = malloc(sizeof *ev);
	if (!ev)
		return SIM_ENOMEM;
	int col, st, rc = SIM_OK;
	char why[300];
	bool seen = false;
	while ((st = srec_next(r, ev, &col, why, sizeof why)) != SREC_END) {
		if (st < 0) {
			snprintf(msg, msglen, "%d:%d: %s", r->lineno, col, why);
			rc = SIM_ESCENARIO;
			break;
		}
		conn_st *cn = NULL;
		if (ev->conn > 0 && !(cn = conn_get(&x, ev->conn))) {
			rc = SIM_ENOMEM;
			break;
		}
		bool mine = false;
		switch (ev->kind) {
		case SREC_CONNECT:
			if (cn->open)  /* a reused id: the old connection is gone */
				x.at_once--;
			*cn = (conn_st){ .id = cn->id, .connect_ns = ev->model_ns, .last_reply_ns = -1 };
			break;
		case SREC_AUTH:
			if (ev->code == 235 && ev->has_identity && srec_addr_equal(ev->identity, p->identity) &&
			    !cn->ours) {
				cn->ours = cn->open = mine = true;
				p->sessions++;
				if (++x.at_once > p->max_sessions_at_once)
					p->max_sessions_at_once = x.at_once;
			}
			break;
		case SREC_MESSAGE:
			if (ev->has_identity ? srec_addr_equal(ev->identity, p->identity) : cn->ours) {
				mine = true;
				rc = on_message(&x, ev, cn);
			}
			break;
		case SREC_CLOSE:
			if (cn->open) {
				x.at_once--;
				cn->open = false;
				mine = true;
			}
			break;
		default:
			break;
		}
		if (rc)
			break;
		if (mine) {
			seen = true;
			if (p->first_model_ns < 0)
				p->first_model_ns = ev->model_ns;
			p->last_model_ns = ev->model_ns;
		}
	}
	free(ev);
	if (!rc && !seen) {
		snprintf(msg, msglen, "no session or message of '%s' in this record", p->identity);
		rc = SIM_ESCENARIO;
	}
	if (!rc)
		rc = pacing(&x);
	if (!rc) {
		p->stopped_at_refusal = p->refusals == 1 && x.last_code >= 400 && p->attempts > 1;
		p->messages = x.lone_messages;
		for (size_t i = 0; i < x.msg_cap; i++) {
			if (!x.msgs[i].id)
				continue;
			p->messages++;
			int64_t k = x.msgs[i].attempts;
			p->attempts_hist[k < SREC_PROFILE_RETRIES ? k : SREC_PROFILE_RETRIES]++;
		}
	}
	ctx_free(&x);
	if (rc) {
		char keep[sizeof p->identity];
		memcpy(keep, p->identity, sizeof keep);
		srec_profile_free(p, a);
		memcpy(p->identity, keep, sizeof keep);
		if (rc == SIM_ENOMEM && !msg[0])
			snprintf(msg, msglen, "out of memory");
	}
	return rc;
}

/* ---- the fit ---------------------------------------------------------------- */

/* The median of every wait of lists[1..SREC_PROFILE_RETRIES]. */
static int64_t pooled_median(srec_wait_list *lists)
{
	size_t n = 0;
	for (int k = 1; k <= SREC_PROFILE_RETRIES; k++)
		n += lists[k].n;
	if (!n)
		return 0;
	int64_t *v = malloc(n * sizeof *v);
	if (!v) /* the fit falls back to the first retries' median */
		return srec_median(&lists[1]);
	size_t i = 0;
	for (int k = 1; k <= SREC_PROFILE_RETRIES; k++) {
		if (!lists[k].n)
			continue; /* its v may be NULL, which memcpy may not be given */
		memcpy(v + i, lists[k].v, lists[k].n * sizeof *v);
		i += lists[k].n;
	}
	srec_wait_list all = { v, n, n };
	int64_t m = srec_median(&all);
	free(v);
	return m;
}

void srec_profile_fit(srec_profile *p, int64_t *base_ns, double *factor)
{
	srec_wait_list *lists = p->transient_by_attempt;
	size_t total = 0;
	for (int k = 1; k <= SREC_PROFILE_RETRIES; k++)
		total += lists[k].n;
	if (!total)
		lists = p->any_by_attempt;
	/* weighted least squares of ln(median_k) on k - 1 */
	double sw = 0, sx = 0, sy = 0;
	int idx = 0;
	double xs[SREC_PROFILE_RETRIES + 1], ys[SREC_PROFILE_RETRIES + 1], ws[SREC_PROFILE_RETRIES + 1];
	for (int k = 1; k <= SREC_PROFILE_RETRIES; k++) {
		if (!lists[k].n)
			continue;
		double m = (double)srec_median(&lists[k]);
		xs[idx] = k - 1;
		ys[idx] = log(m > 1e6 ? m : 1e6); /* below 1 ms counts as 1 ms */
		ws[idx] = (double)lists[k].n;
		sw += ws[idx];
		sx += ws[idx] * xs[idx];
		sy += ws[idx] * ys[idx];
		idx++;
	}
	*factor = 1.0;
	*base_ns = (pooled_median(lists) + 500000) / 1000000 * 1000000;
	if (idx < 2)
		return;
	double mx = sx / sw, my = sy / sw, sxx = 0, sxy = 0;
	for (int i = 0; i < idx; i++) {
		sxx += ws[i] * (xs[i] - mx) * (xs[i] - mx);
		sxy += ws[i] * (xs[i] - mx) * (ys[i] - my);
	}
	double b = sxy / sxx, f = exp(b);
	if (!(f >= 1.1))
		return; /* flat (or shrinking: a client does not wait less each time) */
	if (f > 1000)
		f = 1000;
	*factor = round(f * 100) / 100;
	*base_ns = (int64_t)llround(exp(my - b * mx) / 1e6) * 1000000;
}
