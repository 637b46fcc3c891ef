/* serve_figures.c - the figures of a served run, the same figures `run`
 * reports (models/results.h), so `results` and `plot` read a served run
 * as they read a simulated one.
 *
 * What a live server can know differs from a simulation in one way: it
 * never sees the application's outbox, only attempts.  A message is
 * therefore identified by its Message-ID header: attempts with the same
 * Message-ID are one message and its retries (an attempt without one is a
 * message of its own), and
 *   generated        messages seen (their first attempt reached DATA);
 *   accepted         messages accepted (250) at least once; more than once
 *                    counts in duplicates;
 *   lost             never accepted, and the last reply was permanent (5xx):
 *                    lost_permanent, by that reply's class;
 *   pending          never accepted, and the last reply was transient: the
 *                    client may still be retrying when the server stops;
 *   submission delay from the message's first DATA to its acceptance;
 *   delivery delay   from its first DATA to its release (delay mode: the
 *                    instant the model releases it; else its acceptance).
 * Every time is the model's (the wall time times --time-scale), and the
 * run's length is the model time at the stop.  The service's own figures
 * (sessions, time at the limit, throttle periods, windows) come from
 * run_service_figures, exactly as for a simulated replication.  The
 * served run has one sender group, "clients": every client the server saw.
 *
 * Memory: one record of 64 bytes per message and its Message-ID, kept
 * until the stop; a series row per minute of model time.
 */
#define _GNU_SOURCE  /* qsort_r */
#include "serve_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "exit.h"
#include "replies.h"
#include "report.h"
#include "run.h"
#include "stats.h"
#include "store.h"
#include "term.h"

typedef struct srv_msg {
	int64_t first_ns;        /* its first DATA, model time */
	int64_t accepted_ns;     /* first acceptance; -1: never */
	int64_t release_ns;      /* of that acceptance */
	int64_t recipients, external;
	int32_t mailbox;         /* of the last attempt */
	uint16_t last_rc;        /* the last reply's class */
	uint16_t accepted_times;
	uint32_t attempts;
} srv_msg;

struct srv_figs {
	srv_msg *msg; size_t n_msg, cap_msg;
	/* Message-ID -> index + 1 (0: empty), open addressing; keys owned */
	char **key; uint32_t *slot; size_t hcap, hused;
	res_series_row *row; size_t n_row;
	uint8_t *row_seen;       /* open_sessions written in this row */
	struct { int32_t mailbox; int64_t start, end; } *thr; size_t n_thr, cap_thr;
	uint64_t conn_opened, conn_refused, rejected_by[RC_COUNT];
	uint64_t *mbx_opened, *mbx_refused;
	const scn_reply *given[RC_COUNT];
	uint64_t peers;
};

static uint64_t hash_str(const char *p)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return h;
}

int srv_figs_init(serve *srv)
{
	srv_figs *f = calloc(1, sizeof *f);
	if (!f)
		return SIM_ENOMEM;
	size_t nm = srv->s->n_mailboxes;
	f->mbx_opened = calloc(nm, sizeof *f->mbx_opened);
	f->mbx_refused = calloc(nm, sizeof *f->mbx_refused);
	srv->figs = f;
	return f->mbx_opened && f->mbx_refused ? SIM_OK : SIM_ENOMEM;
}

void srv_figs_free(serve *srv)
{
	srv_figs *f = srv->figs;
	if (!f)
		return;
	for (size_t i = 0; i < f->hcap; i++)
		free(f->key[i]);
	free(f->key);
	free(f->slot);
	free(f->msg);
	free(f->row);
	free(f->row_seen);
	free(f->thr);
	free(f->mbx_opened);
	free(f->mbx_refused);
	free(f);
	srv->figs = NULL;
}

/* The series row of model time t, grown as needed; NULL when out of memory. */
static res_series_row *row_at(serve *srv, int64_t t)
{
	srv_figs *f = srv->figs;
	int64_t step = srv->s->series_step_ns > 0 ? srv->s->series_step_ns : 60 * SCN_NS_PER_S;
	size_t k = (size_t)(t / step);
	if (k >= f->n_row) {
		size_t n = f->n_row ? f->n_row : 64;
		while (n <= k)
			n *= 2;
		res_series_row *r = realloc(f->row, n * sizeof *r);
		if (!r)
			return NULL;
		f->row = r;
		uint8_t *seen = realloc(f->row_seen, n);
		if (!seen)
			return NULL;
		f->row_seen = seen;
		memset(f->row + f->n_row, 0, (n - f->n_row) * sizeof *r);
		memset(f->row_seen + f->n_row, 0, n - f->n_row);
		f->n_row = n;
	}
	return &f->row[k];
}

void srv_figs_sessions(serve *srv)
{
	int64_t now = clk_now(&srv->clock);
	res_series_row *r = row_at(srv, now);
	if (r) {
		r->open_sessions = (uint32_t)svc_open_sessions(srv->v);
		srv->figs->row_seen[r - srv->figs->row] = 1;
	}
}

static bool grow_hash(srv_figs *f)
{
	size_t n = f->hcap ? 2 * f->hcap : 1024;
	char **key = calloc(n, sizeof *key);
	uint32_t *slot = calloc(n, sizeof *slot);
	if (!key || !slot) {
		free(key);
		free(slot);
		return false;
	}
	for (size_t i = 0; i < f->hcap; i++) {
		if (!f->key[i])
			continue;
		size_t j = hash_str(f->key[i]) & (n - 1);
		while (key[j])
			j = (j + 1) & (n - 1);
		key[j] = f->key[i];
		slot[j] = f->slot[i];
	}
	free(f->key);
	free(f->slot);
	f->key = key;
	f->slot = slot;
	f->hcap = n;
	return true;
}

/* The message this attempt belongs to (new if its Message-ID is new or
 * absent); NULL when out of memory. */
static srv_msg *message(serve *srv, const char *msgid, int64_t now)
{
	srv_figs *f = srv->figs;
	size_t j = 0;
	if (msgid && *msgid) {
		if (2 * (f->hused + 1) > f->hcap && !grow_hash(f))
			return NULL;
		for (j = hash_str(msgid) & (f->hcap - 1); f->key[j]; j = (j + 1) & (f->hcap - 1))
			if (strcmp(f->key[j], msgid) == 0)
				return &f->msg[f->slot[j] - 1];
	}
	if (f->n_msg == f->cap_msg) {
		size_t n = f->cap_msg ? 2 * f->cap_msg : 256;
		srv_msg *m = realloc(f->msg, n * sizeof *m);
		if (!m)
			return NULL;
		f->msg = m;
		f->cap_msg = n;
	}
	if (msgid && *msgid) {
		f->key[j] = strdup(msgid);
		if (!f->key[j])
			return NULL;
		f->slot[j] = (uint32_t)(f->n_msg + 1);
		f->hused++;
	}
	srv_msg *m = &f->msg[f->n_msg++];
	memset(m, 0, sizeof *m);
	m->first_ns = now;
	m->accepted_ns = -1;
	return m;
}

void srv_figs_auth(serve *srv, int mailbox, scn_reply_class rc, const scn_reply *reply)
{
	srv_figs *f = srv->figs;
	if (rc == RC_OK) {
		f->conn_opened++;
		f->mbx_opened[mailbox]++;
		srv_figs_sessions(srv);
		return;
	}
	f->conn_refused++;
	f->rejected_by[rc]++;
	if (mailbox >= 0)
		f->mbx_refused[mailbox]++;
	if (!f->given[rc])
		f->given[rc] = reply;
	res_series_row *r = row_at(srv, clk_now(&srv->clock));
	if (r)
		r->rejected_by[rc]++;
}

void srv_figs_attempt(serve *srv, const srv_conn *c, scn_reply_class rc, const scn_reply *reply,
		      int64_t release_ns)
{
	srv_figs *f = srv->figs;
	int64_t now = clk_now(&srv->clock);
	srv_msg *m = message(srv, c->msgid, rc == RC_OK || c->data_begin_model <= now ? c->data_begin_model : now);
	if (!m)
		return;  /* out of memory: the figures miss this attempt; the reply stands */
	m->attempts++;
	m->mailbox = c->mailbox;
	m->last_rc = (uint16_t)rc;
	res_series_row *r = row_at(srv, now);
	if (rc == RC_OK) {
		if (m->accepted_times++ == 0) {
			m->accepted_ns = now;
			m->release_ns = release_ns;
			m->recipients = c->rcpt_internal + c->rcpt_external;
			m->external = c->rcpt_external;
		}
		if (r)
			r->accepted++;
		return;
	}
	if (!f->given[rc])
		f->given[rc] = reply;
	if (r)
		r->rejected_by[rc]++;
}

void srv_figs_throttle(serve *srv, int mailbox, int64_t start, int64_t end)
{
	srv_figs *f = srv->figs;
	if (f->n_thr == f->cap_thr) {
		size_t n = f->cap_thr ? 2 * f->cap_thr : 16;
		void *p = realloc(f->thr, n * sizeof *f->thr);
		if (!p)
			return;
		f->thr = p;
		f->cap_thr = n;
	}
	f->thr[f->n_thr].mailbox = mailbox;
	f->thr[f->n_thr].start = start;
	f->thr[f->n_thr].end = end;
	f->n_thr++;
}

/* ---- at the stop ---------------------------------------------------------------- */

typedef struct ent_acc {
	snd_counts c;
	st_dset d;
	st_min_run acc, rel;
	uint64_t pending;
} ent_acc;

static int cmp_accepted(const void *a, const void *b, void *ctx)
{
	const srv_msg *m = ctx;
	int64_t x = m[*(const size_t *)a].accepted_ns, y = m[*(const size_t *)b].accepted_ns;
	return (x > y) - (x < y);
}

/* Adds accepted message m (in order of acceptance) to e. */
static void add_accepted(ent_acc *e, const srv_msg *m, int64_t end)
{
	snd_counts *c = &e->c;
	c->accepted++;
	c->duplicates += m->accepted_times - 1u;
	c->rcpt_accepted += (uint64_t)m->recipients;
	c->rcpt_delivered += (uint64_t)m->recipients;
	c->rcpt_external += (uint64_t)m->external;
	int64_t sub = m->accepted_ns - m->first_ns;
	bool released = m->release_ns < end;
	int64_t del = m->release_ns - m->first_ns;
	c->sub_sum_s += (double)sub / 1e9;
	if (sub > c->sub_max_ns)
		c->sub_max_ns = sub;
	st_dset_add(&e->d, sub, released, del);
	st_min_run_add(&e->acc, &sim_alloc_std, m->accepted_ns, m->accepted_ns);
	if (released) {
		c->released++;
		c->del_sum_s += (double)del / 1e9;
		if (del > c->del_max_ns)
			c->del_max_ns = del;
		if (m->release_ns > c->last_release_ns)
			c->last_release_ns = m->release_ns;
		st_min_run_add(&e->rel, &sim_alloc_std, m->accepted_ns, m->release_ns);
	} else {
		c->awaiting_release++;
	}
}

static void add_unaccepted(ent_acc *e, const srv_msg *m)
{
	if (rpl_info[m->last_rc].transient) {
		e->pending++;
	} else {
		e->c.lost++;
		e->c.lost_permanent++;
		e->c.lost_by[m->last_rc]++;
	}
}

static void fill_entity(res_entity *out, ent_acc *e, double dmin, bool delays_exact)
{
	for (int i = 0; i < FIG_COUNT; i++)
		out->fig[i] = NAN;
	run_fill_counts(out, &e->c, (int64_t)e->pending, dmin);
	st_dset_finish(&e->d);
	if (delays_exact) {
		st_dset_fill(&e->d, ST_SUBMISSION, &out->fig[FIG_SUB_DELAY_MEAN]);
		st_dset_fill(&e->d, ST_DELIVERY, &out->fig[FIG_DEL_DELAY_MEAN]);
	}
	double mean;
	st_min_run_result(&e->acc, &mean, &out->fig[FIG_ACCEPTED_PEAK_MIN]);
	st_min_run_result(&e->rel, &mean, &out->fig[FIG_RELEASED_PEAK_MIN]);
}

/* The served run as one replication: the caller frees rep (res_rep_free). */
static int build_rep(serve *srv, int64_t end, res_rep *rep)
{
	srv_figs *f = srv->figs;
	const scenario *s = srv->s;
	size_t nm = s->n_mailboxes;
	memset(rep, 0, sizeof *rep);
	rep->alloc = sim_alloc_std;
	rep->seed = srv->seed;
	rep->groups = calloc(1, sizeof *rep->groups);
	rep->mailboxes = calloc(nm, sizeof *rep->mailboxes);
	ent_acc *acc = calloc(nm + 1, sizeof *acc);  /* [0..nm): mailboxes, [nm]: all */
	size_t *order = malloc((f->n_msg ? f->n_msg : 1) * sizeof *order);
	if (!rep->groups || !rep->mailboxes || !acc || !order) {
		free(acc);
		free(order);
		return SIM_ENOMEM;
	}
	rep->n_groups = 1;
	rep->n_mailboxes = nm;
	for (size_t i = 0; i <= nm; i++) {
		st_dset_init(&acc[i].d, sim_alloc_std);
		st_min_run_init(&acc[i].acc, end);
		st_min_run_init(&acc[i].rel, end);
	}
	size_t n_acc = 0;
	for (size_t i = 0; i < f->n_msg; i++) {
		const srv_msg *m = &f->msg[i];
		ent_acc *me = &acc[m->mailbox], *all = &acc[nm];
		me->c.generated++, all->c.generated++;
		me->c.attempts += m->attempts, all->c.attempts += m->attempts;
		me->c.retries += m->attempts - 1u, all->c.retries += m->attempts - 1u;
		if (m->accepted_ns >= 0)
			order[n_acc++] = i;
		else {
			add_unaccepted(me, m);
			add_unaccepted(all, m);
		}
	}
	qsort_r(order, n_acc, sizeof *order, cmp_accepted, f->msg);
	for (size_t k = 0; k < n_acc; k++) {
		const srv_msg *m = &f->msg[order[k]];
		add_accepted(&acc[m->mailbox], m, end);
		add_accepted(&acc[nm], m, end);
	}
	/* rejections per attempt, connections */
	for (size_t m = 0; m < nm; m++) {
		ent_acc *e = &acc[m];
		for (int c = 0; c < RC_COUNT; c++) {
			e->c.rejected_by[c] = (uint64_t)srv->mbx[m].refused[c];
			e->c.rejected += e->c.rejected_by[c];
		}
		e->c.conn_opened = f->mbx_opened[m];
		e->c.conn_refused = f->mbx_refused[m];
		e->c.attempts += f->mbx_refused[m];
	}
	ent_acc *all = &acc[nm];
	for (int c = 0; c < RC_COUNT; c++) {
		all->c.rejected_by[c] = (uint64_t)srv->refused_total[c];
		all->c.rejected += all->c.rejected_by[c];
	}
	all->c.conn_opened = f->conn_opened;
	all->c.conn_refused = f->conn_refused;
	all->c.attempts += f->conn_refused;
	double dmin = (double)end / (60.0 * SCN_NS_PER_S);
	for (size_t m = 0; m < nm; m++)
		fill_entity(&rep->mailboxes[m], &acc[m], dmin, true);
	fill_entity(&rep->total, all, dmin, true);
	rep->groups[0] = rep->total;
	run_fill_cdf(rep->submission_cdf, &all->d, 1, ST_SUBMISSION);
	run_fill_cdf(rep->delivery_cdf, &all->d, 1, ST_DELIVERY);
	run_service_figures(srv->v, end, rep);
	for (int c = 0; c < RC_COUNT; c++)
		if (f->given[c])
			res_rep_note_reply(rep, c, f->given[c]);
	/* the series, cut at the stop; releases where they fall */
	int64_t step = s->series_step_ns > 0 ? s->series_step_ns : 60 * SCN_NS_PER_S;
	size_t n_rows = (size_t)((end + step - 1) / step);
	if (n_rows == 0)
		n_rows = 1;
	if (row_at(srv, (int64_t)(n_rows - 1) * step)) {
		for (size_t k = 0; k < n_acc; k++) {
			const srv_msg *m = &f->msg[order[k]];
			if (m->release_ns < end)
				f->row[m->release_ns / step].released++;
		}
		uint32_t open = 0;
		for (size_t k = 0; k < n_rows; k++) {
			if (f->row_seen[k])
				open = f->row[k].open_sessions;
			else
				f->row[k].open_sessions = open;
			int64_t t = (int64_t)(k + 1) * step - 1;
			uint32_t thr = 0;
			for (size_t i = 0; i < f->n_thr; i++)
				if (f->thr[i].start <= t && t < f->thr[i].end)
					thr++;
			f->row[k].throttled_mailboxes = thr;
		}
		rep->series = malloc(n_rows * sizeof *rep->series);
		if (rep->series) {
			memcpy(rep->series, f->row, n_rows * sizeof *rep->series);
			rep->n_series = n_rows;
		}
	}
	rep->series_step_ns = step;
	for (size_t i = 0; i <= nm; i++) {
		st_dset_free(&acc[i].d);
		st_min_run_free(&acc[i].acc, &sim_alloc_std);
		st_min_run_free(&acc[i].rel, &sim_alloc_std);
	}
	free(acc);
	free(order);
	return rep->series ? SIM_OK : SIM_ENOMEM;
}

static void tell_waiting(void *ctx, const char *message)
{
	(void)ctx;
	term_eprintf("serve: %s\n", message);
}

int srv_figs_store(serve *srv, const char *db_path, const char *cmdline)
{
	int64_t end = clk_now(&srv->clock);
	if (end <= 0)
		end = 1;
	res_rep rep;
	res_desc desc;
	memset(&desc, 0, sizeof desc);
	char err[1024];
	int st = build_rep(srv, end, &rep);
	if (st == SIM_OK)
		st = res_describe(srv->s, &sim_alloc_std, &desc);
	if (st != SIM_OK) {
		res_rep_free(&rep);
		term_eprintf("throttlesim serve: out of memory while summing up the run\n");
		return EXIT_FAIL;
	}
	/* a served run's length is the model time it ran, and its one group
	 * is every client */
	desc.duration_ns = end;
	desc.seed = srv->seed;
	res_group_desc *g = sim_malloc(&desc.alloc, sizeof *g);
	if (g) {
		memset(g, 0, sizeof *g);
		snprintf(g->name, sizeof g->name, "clients");
		snprintf(g->route, sizeof g->route, "smtp_auth");
		snprintf(g->mailbox, sizeof g->mailbox, "any");
		g->instances = srv->n_sources_used;
		g->limits = desc.n_mailboxes ? desc.mailboxes[0].limits : g->limits;
		sim_free(&desc.alloc, desc.groups, desc.n_groups * sizeof *desc.groups);
		desc.groups = g;
		desc.n_groups = 1;
	}
	rpt_variant var = { .name = srv->s->variant, .desc = &desc, .reps = &rep, .n_reps = 1 };
	rpt_run run = { .scenario_name = srv->s->name, .seed = srv->seed, .version = THROTTLESIM_VERSION,
			.variants = &var, .n_variants = 1 };
	int status = 0;
	if (!srv->quiet)
		rpt_table(stderr, &run);
	if (db_path) {
		int64_t run_id = 0;
		store_run_info info = {
			.program_version = THROTTLESIM_VERSION, .scenario_name = srv->s->name,
			.scenario_file = srv->s->source_file, .scenario_text = srv->s->source_text,
			.command_line = cmdline, .seed = srv->seed, .replications = 1,
		};
		if (store_run_once(db_path, &info, &run, tell_waiting, NULL, &run_id, err, sizeof err) != SIM_OK) {
			term_eprintf("throttlesim serve: %s\n", err);
			status = EXIT_FAIL;
		} else if (!srv->quiet) {
			term_eprintf("serve: stored as run %lld in %s\n", (long long)run_id, db_path);
		}
	}
	res_rep_free(&rep);
	res_desc_free(&desc);
	return status;
}
