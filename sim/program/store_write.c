/* store_write.c - a run's results into the store, in one transaction.
 * Contracts in store.h, schema in docs/RESULTS.md. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "res_summary.h"
#include "stats.h"
#include "status.h"
#include "store.h"
#include "store_int.h"

/* ---- results ------------------------------------------------------------------------------ */

/* Statements of both layouts: S_FIGURE .. S_CDF write a schema-2 file's
 * row-per-value tables, S_NAME .. S_REPDATA schema 3's packed ones. */
enum { S_VARIANT, S_REPLICATION, S_ENTITY, S_REPLY, S_FIGURE, S_SUMMARY, S_REJECTION, S_SERIES, S_CDF,
       S_NAME, S_VARDATA, S_REPDATA, S_COUNT };

/* Progress: values written so far (a row of the row-per-value tables, or
 * a value packed in a blob: a figure, a class's counts, a delay point, a
 * summary, a series step), reported every every_rows. */
typedef struct writer_progress {
	store_progress_fn fn;
	void *ctx;
	int64_t every_rows, next, written;
} writer_progress;

typedef struct writer {
	sqlite3 *db;
	int64_t run_id;
	sqlite3_stmt *st[S_COUNT];
	const char *what;   /* for messages: which table was being written */
	bool keep_series;   /* every replication's series, not the variant's mean */
	bool packed;        /* schema 3: the blobs (else the file's schema-2 tables) */
	writer_progress *progress;   /* NULL: nobody asked */
	store__buf buf[3];  /* blobs being built */
} writer;

static void count_written(writer *w, int64_t n)
{
	writer_progress *p = w->progress;
	if (p == NULL)
		return;
	p->written += n;
	if (p->written >= p->next) {
		p->fn(p->ctx, &(store_progress){ .rows = p->written, .done = false });
		p->next = p->written + p->every_rows;
	}
}

static int step_reset(writer *w, int which, const char *what)
{
	sqlite3_stmt *st = w->st[which];
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE) {
		w->what = what;
		return rc == SQLITE_ROW ? SQLITE_ERROR : rc;
	}
	count_written(w, 1);
	return SQLITE_OK;
}

/* Binds the blob b (or NULL when null_if_empty and b is empty); a blob
 * whose allocation failed is SQLITE_NOMEM. */
static int bind_blob(writer *w, sqlite3_stmt *st, int i, const store__buf *b, bool null_if_empty)
{
	if (b->oom) {
		w->what = "packing the results (out of memory)";
		return SQLITE_NOMEM;
	}
	if (b->n == 0 && null_if_empty)
		return sqlite3_bind_null(st, i);
	/* a zero-length blob is still a blob, not NULL */
	return sqlite3_bind_blob64(st, i, b->p ? (const void *)b->p : (const void *)"", b->n, SQLITE_STATIC);
}

static int write_summary_row(writer *w, int vi, const rpt_variant *v, res_entity_kind k, size_t e,
                             const char *entity, const char *figure, const char *unit,
                             res_what what, int idx)
{
	sqlite3_stmt *st = w->st[S_SUMMARY];
	st_summary s = res_summarize_value(v->reps, v->n_reps, k, e, what, idx);
	sqlite3_bind_int64(st, 1, w->run_id);
	sqlite3_bind_int(st, 2, vi);
	store__bind_text(st, 3, res_entity_kind_name(k));
	sqlite3_bind_int64(st, 4, (int64_t)e);
	store__bind_text(st, 5, entity);
	store__bind_text(st, 6, figure);
	store__bind_text(st, 7, unit);
	store__bind_real(st, 8, s.mean);
	store__bind_real(st, 9, s.half);
	sqlite3_bind_int64(st, 10, (int64_t)s.n_def);
	return step_reset(w, S_SUMMARY, "writing summaries");
}

static int write_entity(writer *w, int vi, const rpt_variant *v, res_entity_kind k, size_t e)
{
	char name[SCN_NAME_MAX + 8];
	int rc;
	rpt_entity_name(v->desc, (int)k, e, name, sizeof name);
	const char *kind = res_entity_kind_name(k);
	for (size_t r = 0; r < v->n_reps; r++) {
		const res_entity *ent = res_entity_of(&v->reps[r], k, e);
		int64_t rep = v->reps[r].replication;
		for (int f = 0; f < FIG_COUNT; f++) {
			sqlite3_stmt *st = w->st[S_FIGURE];
			sqlite3_bind_int64(st, 1, w->run_id);
			sqlite3_bind_int(st, 2, vi);
			sqlite3_bind_int64(st, 3, rep);
			store__bind_text(st, 4, kind);
			sqlite3_bind_int64(st, 5, (int64_t)e);
			store__bind_text(st, 6, name);
			store__bind_text(st, 7, res_fig_info[f].name);
			store__bind_real(st, 8, res_value(ent, RES_FIG, f));
			if ((rc = step_reset(w, S_FIGURE, "writing figures")) != SQLITE_OK)
				return rc;
		}
		for (int c = 0; ent && c < RC_COUNT; c++) {
			if (ent->rejected_by[c] == 0 && ent->lost_by[c] == 0)
				continue;
			sqlite3_stmt *st = w->st[S_REJECTION];
			sqlite3_bind_int64(st, 1, w->run_id);
			sqlite3_bind_int(st, 2, vi);
			sqlite3_bind_int64(st, 3, rep);
			store__bind_text(st, 4, kind);
			sqlite3_bind_int64(st, 5, (int64_t)e);
			store__bind_text(st, 6, name);
			/* the reply as this replication gave it */
			const res_reply *given = v->reps[r].given[c].code != 0
				? &v->reps[r].given[c] : res_variant_reply(v->desc, NULL, 0, c);
			store__bind_text(st, 7, rpt_reply_id(c));
			sqlite3_bind_int(st, 8, given->code > 0 ? given->code : rpt_reply_code(c));
			store__bind_text(st, 9, given->text);
			sqlite3_bind_int64(st, 10, (int64_t)ent->rejected_by[c]);
			sqlite3_bind_int64(st, 11, (int64_t)ent->lost_by[c]);
			if ((rc = step_reset(w, S_REJECTION, "writing rejections")) != SQLITE_OK)
				return rc;
		}
	}
	for (int f = 0; f < FIG_COUNT; f++)
		if ((rc = write_summary_row(w, vi, v, k, e, name, res_fig_info[f].name,
		                            res_fig_info[f].unit, RES_FIG, f)) != SQLITE_OK)
			return rc;
	/* Reply-class counts that occur, as in the CSV writer. */
	for (int wh = RES_REJECTED_BY; wh <= RES_LOST_BY; wh++) {
		for (int c = 0; c < RC_COUNT; c++) {
			bool used = false;
			for (size_t r = 0; r < v->n_reps && !used; r++) {
				double x = res_value(res_entity_of(&v->reps[r], k, e), (res_what)wh, c);
				used = x != 0 && !isnan(x);
			}
			if (!used)
				continue;
			char fig[96];
			snprintf(fig, sizeof fig, "%s.%s", wh == RES_REJECTED_BY ? "rejected_by" : "lost_by",
			         rpt_reply_id(c));
			if ((rc = write_summary_row(w, vi, v, k, e, name, fig,
			                            wh == RES_REJECTED_BY ? "count" : "msgs",
			                            (res_what)wh, c)) != SQLITE_OK)
				return rc;
		}
	}
	return SQLITE_OK;
}

static int write_reply(writer *w, int vi, int64_t replication, int c, const res_reply *r, bool mixed)
{
	sqlite3_stmt *st = w->st[S_REPLY];
	sqlite3_bind_int64(st, 1, w->run_id);
	sqlite3_bind_int(st, 2, vi);
	sqlite3_bind_int64(st, 3, replication);
	store__bind_text(st, 4, rpl_info[c].id);
	sqlite3_bind_int(st, 5, r->code);
	sqlite3_bind_int(st, 6, r->transient);
	store__bind_text(st, 7, r->text);
	sqlite3_bind_int(st, 8, mixed);
	return step_reset(w, S_REPLY, "writing replies");
}

static int write_limits_row(writer *w, int vi, const char *kind, size_t idx, const char *name,
                            const res_group_desc *g, const res_limits *l)
{
	sqlite3_stmt *st = w->st[S_ENTITY];
	sqlite3_bind_int64(st, 1, w->run_id);
	sqlite3_bind_int(st, 2, vi);
	store__bind_text(st, 3, kind);
	sqlite3_bind_int64(st, 4, (int64_t)idx);
	store__bind_text(st, 5, name);
	store__bind_text(st, 6, g ? g->route : NULL);
	store__bind_text(st, 7, g ? g->mailbox : NULL);
	if (g)
		sqlite3_bind_int64(st, 8, g->instances);
	store__bind_text(st, 9, l->preset);
	sqlite3_bind_int64(st, 10, l->concurrency);
	store__bind_text(st, 11, scn_scope_name(l->concurrency_scope));
	sqlite3_bind_int64(st, 12, l->message_rate);
	sqlite3_bind_int64(st, 13, l->message_rate_window_ns);
	store__bind_text(st, 14, scn_rate_mode_name(l->message_rate_mode));
	sqlite3_bind_int64(st, 15, l->recipient_rate);
	sqlite3_bind_int64(st, 16, l->recipient_rate_window_ns);
	sqlite3_bind_int64(st, 17, l->external_rate);
	sqlite3_bind_int64(st, 18, l->max_recipients_per_message);
	sqlite3_bind_int64(st, 19, l->max_message_size);
	return step_reset(w, S_ENTITY, "writing entities");
}

/* The variant's description: its entities with their limits, and the
 * replies its first mailbox's route would give (replication -1). */
static int write_description(writer *w, int vi, const rpt_variant *v)
{
	const res_desc *d = v->desc;
	int rc = SQLITE_OK;
	if (d == NULL)
		return SQLITE_OK;
	for (size_t g = 0; g < d->n_groups && rc == SQLITE_OK; g++)
		rc = write_limits_row(w, vi, "group", g, d->groups[g].name, &d->groups[g], &d->groups[g].limits);
	for (size_t m = 0; m < d->n_mailboxes && rc == SQLITE_OK; m++)
		rc = write_limits_row(w, vi, "mailbox", m, d->mailboxes[m].name, NULL, &d->mailboxes[m].limits);
	for (int c = 0; c < RC_COUNT && rc == SQLITE_OK; c++)
		if (d->configured[c].code != 0)
			rc = write_reply(w, vi, -1, c, &d->configured[c], false);
	return rc;
}

/* ---- time series ---------------------------------------------------------------------------
 *
 * Columns of a series row in the order of the INSERT: 1 run, 2 variant,
 * 3 replication, 4 step, 5 t_s, 6 accepted, 7 released, 8 rejected,
 * 9 backlog, 10 open_sessions, 11 throttled, 12.. rejected_<class> (in
 * catalog order), then lost.  A replication's own rows hold counts; the
 * variant's mean rows (replication = -1) hold the mean over its
 * replications, stored as REAL where it is not whole (the INTEGER
 * columns' affinity keeps a whole mean an integer). */
enum { SER_LOST = 12 + RC_COUNT };

static int bind_series_head(writer *w, int vi, int64_t rep, size_t i, int64_t step_ns)
{
	sqlite3_stmt *st = w->st[S_SERIES];
	sqlite3_bind_int64(st, 1, w->run_id);
	sqlite3_bind_int(st, 2, vi);
	sqlite3_bind_int64(st, 3, rep);
	sqlite3_bind_int64(st, 4, (int64_t)i);
	return sqlite3_bind_double(st, 5, (double)i * (double)step_ns / (double)SCN_NS_PER_S);
}

/* One replication's rows, every step (run --keep-series). */
static int write_rep_series(writer *w, int vi, const res_rep *rep)
{
	sqlite3_stmt *st = w->st[S_SERIES];
	for (size_t i = 0; i < rep->n_series && rep->series; i++) {
		const res_series_row *row = &rep->series[i];
		uint64_t rejected = 0;
		for (int c = 0; c < RC_COUNT; c++)
			rejected += row->rejected_by[c];
		bind_series_head(w, vi, rep->replication, i, rep->series_step_ns);
		sqlite3_bind_int64(st, 6, row->accepted);
		sqlite3_bind_int64(st, 7, row->released);
		sqlite3_bind_int64(st, 8, (int64_t)rejected);
		sqlite3_bind_int64(st, 9, row->outbox_backlog);
		sqlite3_bind_int64(st, 10, row->open_sessions);
		sqlite3_bind_int64(st, 11, row->throttled_mailboxes);
		for (int c = 0; c < RC_COUNT; c++)
			sqlite3_bind_int64(st, 12 + c, row->rejected_by[c]);
		sqlite3_bind_int64(st, SER_LOST, row->lost);
		int rc = step_reset(w, S_SERIES, "writing the time series");
		if (rc != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
}

/* The variant's mean over its replications, step by step: one row per
 * step in which some column is not 0 (the reader fills the others with
 * 0 up to the variant's length).  A replication shorter than the longest
 * counts 0 beyond its end.  O(replications x steps x columns); the sums
 * run in replication order, so the same run gives the same bytes. */
static int write_mean_series(writer *w, int vi, const rpt_variant *v)
{
	size_t n = 0;
	int64_t step_ns = 0;
	for (size_t r = 0; r < v->n_reps; r++)
		if (v->reps[r].series && v->reps[r].n_series > n) {
			n = v->reps[r].n_series;
			step_ns = v->reps[r].series_step_ns;
		}
	sqlite3_stmt *st = w->st[S_SERIES];
	double k = (double)v->n_reps;
	for (size_t i = 0; i < n; i++) {
		double sum[7 + RC_COUNT] = { 0 };   /* the columns 6.. of the row, lost last */
		for (size_t r = 0; r < v->n_reps; r++) {
			const res_rep *rep = &v->reps[r];
			if (rep->series == NULL || i >= rep->n_series)
				continue;
			const res_series_row *row = &rep->series[i];
			sum[0] += row->accepted;
			sum[1] += row->released;
			sum[3] += row->outbox_backlog;
			sum[4] += row->open_sessions;
			sum[5] += row->throttled_mailboxes;
			for (int c = 0; c < RC_COUNT; c++) {
				sum[2] += row->rejected_by[c];
				sum[6 + c] += row->rejected_by[c];
			}
			sum[6 + RC_COUNT] += row->lost;
		}
		bool any = false;
		for (size_t j = 0; j < sizeof sum / sizeof sum[0]; j++)
			any |= sum[j] != 0;
		if (!any)
			continue;
		bind_series_head(w, vi, -1, i, step_ns);
		for (int j = 0; j < 6 + RC_COUNT; j++)
			sqlite3_bind_double(st, 6 + j, sum[j] / k);
		sqlite3_bind_double(st, SER_LOST, sum[6 + RC_COUNT] / k);
		int rc = step_reset(w, S_SERIES, "writing the time series");
		if (rc != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
}

/* The series column `lost` (messages lost per step), added to a file
 * written before it; runs written before read it as 0. */
static int add_lost_column(writer *w)
{
	int64_t have = 0;
	int rc = store__query_int(w->db, "SELECT count(*) FROM pragma_table_info('series') WHERE name = 'lost'",
	                          &have);
	if (rc == SQLITE_OK && !have)
		rc = store__exec(w->db, "ALTER TABLE series ADD COLUMN lost INTEGER NOT NULL DEFAULT 0");
	if (rc != SQLITE_OK)
		w->what = "adding the series column lost";
	return rc;
}

/* ---- schema 3: the packed layout -------------------------------------------------------------
 *
 * Blobs (varints and values as in store_int.h), entities in the order
 * total, groups 0.., mailboxes 0.. (the counts of the variant's first
 * replication, as the summaries have them):
 *  figures (a replication):  per entity, FIG_COUNT values (the figure
 *      names' order), then k and k x (class, rejected, lost) for the
 *      classes with a count that is not 0, classes increasing;
 *  delay_cdf (a replication): RES_CDF_POINTS, then the submission
 *      points, then the delivery points, as values;
 *  summaries (a variant): n_groups, n_mailboxes, then per entity
 *      FIG_COUNT x (mean, half, n), then k and k x (code, mean, half, n)
 *      with code = class for rejected_by.<class>, RC_COUNT + class for
 *      lost_by.<class>, codes increasing;
 *  series (a replication's own with --keep-series, else the variant's):
 *      steps, k, then k x (steps skipped since the last row, accepted,
 *      released, lost, backlog, open_sessions, throttled, rejected by
 *      class in class order) for the steps where a count is not 0; a
 *      variant's holds the SUMS over its replications (whole numbers,
 *      exact), the reader divides by the replications.
 * Class and figure numbers are those of the run's `names` rows. */

/* The run's dictionary: figures with their units, reply classes. */
static int write_names(writer *w)
{
	int rc = SQLITE_OK;
	for (int k = 0; k < FIG_COUNT + RC_COUNT && rc == SQLITE_OK; k++) {
		sqlite3_stmt *st = w->st[S_NAME];
		bool fig = k < FIG_COUNT;
		sqlite3_bind_int64(st, 1, w->run_id);
		store__bind_text(st, 2, fig ? "figure" : "reply_class");
		sqlite3_bind_int(st, 3, fig ? k : k - FIG_COUNT);
		store__bind_text(st, 4, fig ? res_fig_info[k].name : rpl_info[k - FIG_COUNT].id);
		store__bind_text(st, 5, fig ? res_fig_info[k].unit : NULL);
		rc = step_reset(w, S_NAME, "writing the names of figures and reply classes");
	}
	return rc;
}

static size_t n_entities(const rpt_variant *v)
{
	return 1 + v->reps[0].n_groups + v->reps[0].n_mailboxes;
}

/* Entity i of n_entities(v) in the order total, groups, mailboxes. */
static void entity_at(const rpt_variant *v, size_t i, res_entity_kind *k, size_t *e)
{
	size_t ng = v->reps[0].n_groups;
	*k = i == 0 ? RES_TOTAL : i <= ng ? RES_GROUP : RES_MAILBOX;
	*e = i == 0 ? 0 : i <= ng ? i - 1 : i - 1 - ng;
}

/* A replication's figures and counts by class; returns the values packed. */
static int64_t pack_figures(store__buf *b, const rpt_variant *v, const res_rep *rep)
{
	int64_t values = 0;
	for (size_t i = 0; i < n_entities(v); i++) {
		res_entity_kind k;
		size_t e;
		entity_at(v, i, &k, &e);
		const res_entity *ent = res_entity_of(rep, k, e);
		for (int f = 0; f < FIG_COUNT; f++)
			store__put_value(b, res_value(ent, RES_FIG, f));
		uint64_t used = 0;
		for (int c = 0; ent && c < RC_COUNT; c++)
			used += ent->rejected_by[c] != 0 || ent->lost_by[c] != 0;
		store__put_uint(b, used);
		for (int c = 0; ent && c < RC_COUNT; c++) {
			if (ent->rejected_by[c] == 0 && ent->lost_by[c] == 0)
				continue;
			store__put_uint(b, (uint64_t)c);
			store__put_uint(b, ent->rejected_by[c]);
			store__put_uint(b, ent->lost_by[c]);
		}
		values += FIG_COUNT + (int64_t)used;
	}
	return values;
}

static void pack_cdf(store__buf *b, const res_rep *rep)
{
	store__put_uint(b, RES_CDF_POINTS);
	for (int q = 0; q < RES_CDF_POINTS; q++)
		store__put_value(b, rep->submission_cdf[q]);
	for (int q = 0; q < RES_CDF_POINTS; q++)
		store__put_value(b, rep->delivery_cdf[q]);
}

/* The columns of a packed series row, from a replication's row. */
enum { SC_ACCEPTED, SC_RELEASED, SC_LOST, SC_BACKLOG, SC_SESSIONS, SC_THROTTLED, SC_REJECTED,
       SC_COUNT = SC_REJECTED + RC_COUNT };

static void series_columns(const res_series_row *row, uint64_t *col)
{
	col[SC_ACCEPTED] = row->accepted;
	col[SC_RELEASED] = row->released;
	col[SC_LOST] = row->lost;
	col[SC_BACKLOG] = row->outbox_backlog;
	col[SC_SESSIONS] = row->open_sessions;
	col[SC_THROTTLED] = row->throttled_mailboxes;
	for (int c = 0; c < RC_COUNT; c++)
		col[SC_REJECTED + c] = row->rejected_by[c];
}

/* Rows of n steps, sums[i] (SC_COUNT each), those not all 0; returns the
 * rows packed. */
static int64_t pack_series(store__buf *b, const uint64_t *sums, size_t n)
{
	uint64_t rows = 0;
	for (size_t i = 0; i < n; i++)
		for (int j = 0; j < SC_COUNT; j++)
			if (sums[i * SC_COUNT + j] != 0) {
				rows++;
				break;
			}
	store__put_uint(b, n);
	store__put_uint(b, rows);
	size_t last = 0;
	bool first = true;
	for (size_t i = 0; i < n; i++) {
		const uint64_t *col = &sums[i * SC_COUNT];
		bool any = false;
		for (int j = 0; j < SC_COUNT && !any; j++)
			any = col[j] != 0;
		if (!any)
			continue;
		store__put_uint(b, first ? i : i - last - 1);
		for (int j = 0; j < SC_COUNT; j++)
			store__put_uint(b, col[j]);
		last = i;
		first = false;
	}
	return (int64_t)rows;
}

/* A replication's own series (run --keep-series). */
static int pack_rep_series(store__buf *b, const res_rep *rep, int64_t *rows)
{
	size_t n = rep->series ? rep->n_series : 0;
	uint64_t *sums = calloc(n ? n * SC_COUNT : 1, sizeof *sums);
	if (sums == NULL)
		return SQLITE_NOMEM;
	for (size_t i = 0; i < n; i++)
		series_columns(&rep->series[i], &sums[i * SC_COUNT]);
	*rows = pack_series(b, sums, n);
	free(sums);
	return SQLITE_OK;
}

/* The variant's series summed over its replications, step by step (a
 * replication shorter than the longest counts 0 beyond its end).  The
 * mean the charts draw is sum / replications, computed by the reader:
 * the same double the schema-2 writer stored (its sums were exact). */
static int pack_mean_series(store__buf *b, const rpt_variant *v, int64_t *rows)
{
	size_t n = 0;
	for (size_t r = 0; r < v->n_reps; r++)
		if (v->reps[r].series && v->reps[r].n_series > n)
			n = v->reps[r].n_series;
	uint64_t *sums = calloc(n ? n * SC_COUNT : 1, sizeof *sums);
	if (sums == NULL)
		return SQLITE_NOMEM;
	for (size_t r = 0; r < v->n_reps; r++) {
		const res_rep *rep = &v->reps[r];
		for (size_t i = 0; rep->series && i < rep->n_series; i++) {
			uint64_t col[SC_COUNT];
			series_columns(&rep->series[i], col);
			for (int j = 0; j < SC_COUNT; j++)
				sums[i * SC_COUNT + j] += col[j];
		}
	}
	*rows = pack_series(b, sums, n);
	free(sums);
	return SQLITE_OK;
}

static void pack_summary(store__buf *b, const rpt_variant *v, res_entity_kind k, size_t e, res_what what, int idx)
{
	st_summary s = res_summarize_value(v->reps, v->n_reps, k, e, what, idx);
	store__put_value(b, s.mean);
	store__put_value(b, s.half);
	store__put_uint(b, (uint64_t)s.n_def);
}

/* The variant's summaries, in the writers' order; returns the values packed. */
static int64_t pack_summaries(store__buf *b, const rpt_variant *v)
{
	int64_t values = 0;
	store__put_uint(b, v->reps[0].n_groups);
	store__put_uint(b, v->reps[0].n_mailboxes);
	for (size_t i = 0; i < n_entities(v); i++) {
		res_entity_kind k;
		size_t e;
		entity_at(v, i, &k, &e);
		for (int f = 0; f < FIG_COUNT; f++)
			pack_summary(b, v, k, e, RES_FIG, f);
		/* Reply-class counts that occur, as in the CSV writer. */
		uint64_t used[2 * RC_COUNT], n_used = 0;
		for (int wh = RES_REJECTED_BY; wh <= RES_LOST_BY; wh++)
			for (int c = 0; c < RC_COUNT; c++) {
				bool any = false;
				for (size_t r = 0; r < v->n_reps && !any; r++) {
					double x = res_value(res_entity_of(&v->reps[r], k, e), (res_what)wh, c);
					any = x != 0 && !isnan(x);
				}
				if (any)
					used[n_used++] = (uint64_t)((wh == RES_LOST_BY ? RC_COUNT : 0) + c);
			}
		store__put_uint(b, n_used);
		for (uint64_t j = 0; j < n_used; j++) {
			store__put_uint(b, used[j]);
			bool lost = used[j] >= RC_COUNT;
			pack_summary(b, v, k, e, lost ? RES_LOST_BY : RES_REJECTED_BY,
			             (int)(used[j] - (lost ? RC_COUNT : 0)));
		}
		values += FIG_COUNT + (int64_t)n_used;
	}
	return values;
}

/* A replication's row of replication_data. */
static int write_rep_data(writer *w, int vi, const rpt_variant *v, const res_rep *rep)
{
	for (int i = 0; i < 3; i++)
		w->buf[i].n = 0;
	int64_t values = pack_figures(&w->buf[0], v, rep) + 2 * RES_CDF_POINTS, rows = 0;
	pack_cdf(&w->buf[1], rep);
	if (w->keep_series && pack_rep_series(&w->buf[2], rep, &rows) != SQLITE_OK) {
		w->what = "packing the time series (out of memory)";
		return SQLITE_NOMEM;
	}
	sqlite3_stmt *st = w->st[S_REPDATA];
	sqlite3_bind_int64(st, 1, w->run_id);
	sqlite3_bind_int(st, 2, vi);
	sqlite3_bind_int64(st, 3, rep->replication);
	int rc;
	if ((rc = bind_blob(w, st, 4, &w->buf[0], false)) != SQLITE_OK ||
	    (rc = bind_blob(w, st, 5, &w->buf[1], false)) != SQLITE_OK ||
	    (rc = bind_blob(w, st, 6, &w->buf[2], true)) != SQLITE_OK ||
	    (rc = step_reset(w, S_REPDATA, "writing the replications' results")) != SQLITE_OK)
		return rc;
	count_written(w, values + rows);
	return SQLITE_OK;
}

/* A variant's row of variant_data: summaries and, unless every
 * replication keeps its own, the series summed. */
static int write_variant_data(writer *w, int vi, const rpt_variant *v)
{
	for (int i = 0; i < 3; i++)
		w->buf[i].n = 0;
	int64_t values = pack_summaries(&w->buf[0], v), rows = 0;
	if (!w->keep_series && pack_mean_series(&w->buf[1], v, &rows) != SQLITE_OK) {
		w->what = "packing the time series (out of memory)";
		return SQLITE_NOMEM;
	}
	sqlite3_stmt *st = w->st[S_VARDATA];
	sqlite3_bind_int64(st, 1, w->run_id);
	sqlite3_bind_int(st, 2, vi);
	int rc;
	if ((rc = bind_blob(w, st, 3, &w->buf[0], false)) != SQLITE_OK ||
	    (rc = bind_blob(w, st, 4, &w->buf[1], true)) != SQLITE_OK ||
	    (rc = step_reset(w, S_VARDATA, "writing the variants' summaries")) != SQLITE_OK)
		return rc;
	count_written(w, values + rows);
	return SQLITE_OK;
}

static int write_variant(writer *w, int vi, const rpt_variant *v)
{
	int rc;
	sqlite3_stmt *st = w->st[S_VARIANT];
	sqlite3_bind_int64(st, 1, w->run_id);
	sqlite3_bind_int(st, 2, vi);
	store__bind_text(st, 3, v->name ? v->name : "");
	const res_desc *d = v->desc;
	if (d != NULL && d->sweep_point >= 0 && d->n_sweep_keys > 0) {
		sqlite3_bind_int64(st, 4, d->sweep_point);
		store__bind_text(st, 5, d->sweep_key[0]);
		store__bind_real(st, 6, d->sweep_value[0]);
		store__bind_text(st, 7, d->n_sweep_keys > 1 ? d->sweep_key[1] : NULL);
		if (d->n_sweep_keys > 1)
			store__bind_real(st, 8, d->sweep_value[1]);
		else
			sqlite3_bind_null(st, 8);
	} else {
		for (int i = 4; i <= 8; i++)
			sqlite3_bind_null(st, i);
	}
	if (d != NULL) {
		sqlite3_bind_int64(st, 9, d->duration_ns);
		sqlite3_bind_int64(st, 10, d->start_unix_s);
		if (d->timezone[0]) {
			store__bind_text(st, 12, d->timezone);
			sqlite3_bind_int64(st, 13, d->start_utc_offset_s);
		}
	}
	sqlite3_bind_int64(st, 11, v->reps[0].series_step_ns);
	if ((rc = step_reset(w, S_VARIANT, "writing variants")) != SQLITE_OK ||
	    (rc = write_description(w, vi, v)) != SQLITE_OK)
		return rc;
	for (size_t r = 0; r < v->n_reps; r++) {
		const res_rep *rep = &v->reps[r];
		st = w->st[S_REPLICATION];
		sqlite3_bind_int64(st, 1, w->run_id);
		sqlite3_bind_int(st, 2, vi);
		sqlite3_bind_int64(st, 3, rep->replication);
		sqlite3_bind_int64(st, 4, (int64_t)rep->seed);
		sqlite3_bind_int64(st, 5, (int64_t)rep->events);
		if ((rc = step_reset(w, S_REPLICATION, "writing replications")) != SQLITE_OK)
			return rc;
		for (int k = 0; k < RC_COUNT; k++)
			if (rep->given[k].code != 0 &&
			    (rc = write_reply(w, vi, rep->replication, k, &rep->given[k], rep->given_mixed[k])) != SQLITE_OK)
				return rc;
		if (w->packed) {
			if ((rc = write_rep_data(w, vi, v, rep)) != SQLITE_OK)
				return rc;
			continue;
		}
		for (int kind = 0; kind < 2; kind++) {
			const double *cdf = kind == 0 ? rep->submission_cdf : rep->delivery_cdf;
			for (int q = 0; q < RES_CDF_POINTS; q++) {
				st = w->st[S_CDF];
				sqlite3_bind_int64(st, 1, w->run_id);
				sqlite3_bind_int(st, 2, vi);
				sqlite3_bind_int64(st, 3, rep->replication);
				store__bind_text(st, 4, kind == 0 ? "submission" : "delivery");
				sqlite3_bind_int(st, 5, q);
				store__bind_real(st, 6, cdf[q]);
				if ((rc = step_reset(w, S_CDF, "writing delay distributions")) != SQLITE_OK)
					return rc;
			}
		}
		if (w->keep_series && (rc = write_rep_series(w, vi, rep)) != SQLITE_OK)
			return rc;
	}
	if (w->packed)
		return write_variant_data(w, vi, v);
	if (!w->keep_series && (rc = write_mean_series(w, vi, v)) != SQLITE_OK)
		return rc;
	const res_rep *r0 = &v->reps[0];
	if ((rc = write_entity(w, vi, v, RES_TOTAL, 0)) != SQLITE_OK)
		return rc;
	for (size_t g = 0; g < r0->n_groups; g++)
		if ((rc = write_entity(w, vi, v, RES_GROUP, g)) != SQLITE_OK)
			return rc;
	for (size_t m = 0; m < r0->n_mailboxes; m++)
		if ((rc = write_entity(w, vi, v, RES_MAILBOX, m)) != SQLITE_OK)
			return rc;
	return SQLITE_OK;
}

static int prepare_all(writer *w)
{
	char series[2048];
	int n = snprintf(series, sizeof series, "INSERT INTO series (run_id, variant_idx, replication, step, t_s,"
	                 " accepted, released, rejected, backlog, open_sessions, throttled");
	for (int c = 0; c < RC_COUNT; c++)
		n += snprintf(series + n, sizeof series - (size_t)n, ", rejected_%s", rpt_reply_id(c));
	n += snprintf(series + n, sizeof series - (size_t)n, ", lost) VALUES (?1");
	for (int c = 2; c <= SER_LOST; c++)
		n += snprintf(series + n, sizeof series - (size_t)n, ", ?%d", c);
	snprintf(series + n, sizeof series - (size_t)n, ")");
	const char *sql[S_COUNT] = {
		[S_VARIANT] = "INSERT INTO variants (run_id, idx, name, point, sweep_key, sweep_value,"
		              " sweep_key2, sweep_value2, duration_ns, start_unix_s, series_step_ns,"
		              " timezone, start_utc_offset_s)"
		              " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
		[S_ENTITY] = "INSERT INTO entities VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
		             " ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
		[S_REPLY] = "INSERT INTO replies (run_id, variant_idx, replication, reply_class, code,"
		            " transient, text, mixed) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
		[S_CDF] = "INSERT INTO delay_cdf (run_id, variant_idx, replication, kind, q, value_s)"
		          " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
		[S_REPLICATION] = "INSERT INTO replications (run_id, variant_idx, replication, seed, events)"
		                  " VALUES (?1, ?2, ?3, ?4, ?5)",
		[S_FIGURE] = "INSERT INTO figures (run_id, variant_idx, replication, entity_kind, entity_idx,"
		             " entity, figure, value) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
		[S_SUMMARY] = "INSERT INTO summaries (run_id, variant_idx, entity_kind, entity_idx, entity,"
		              " figure, unit, mean, half, n) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
		[S_REJECTION] = "INSERT INTO rejections (run_id, variant_idx, replication, entity_kind,"
		                " entity_idx, entity, reply_class, reply_code, reply_text, count, lost)"
		                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
		[S_SERIES] = series,
		[S_NAME] = "INSERT INTO names (run_id, kind, id, name, unit) VALUES (?1, ?2, ?3, ?4, ?5)",
		[S_VARDATA] = "INSERT INTO variant_data (run_id, variant_idx, summaries, series) VALUES (?1, ?2, ?3, ?4)",
		[S_REPDATA] = "INSERT INTO replication_data (run_id, variant_idx, replication, figures, delay_cdf,"
		              " series) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	};
	for (int i = 0; i < S_COUNT; i++) {
		/* only the statements of the file's layout: the other's tables
		 * need not exist */
		if ((i >= S_FIGURE && i <= S_CDF && w->packed) || (i >= S_NAME && !w->packed))
			continue;
		int rc = sqlite3_prepare_v2(w->db, sql[i], -1, &w->st[i], NULL);
		if (rc != SQLITE_OK) {
			w->what = "preparing statements";
			return rc;
		}
	}
	return SQLITE_OK;
}

int store_write_results(sqlite3 *db, int64_t run_id, const rpt_run *run,
                        char *err, size_t err_size)
{
	return store_write_results_series(db, run_id, run, true, err, err_size);
}

/* The results of run into run_id, in the layout of the file's schema:
 * schema 3's blobs, or the rows of an older file's tables (a file keeps
 * one layout: see store_open).  progress may be NULL. */
static int write_results(sqlite3 *db, int64_t run_id, const rpt_run *run, bool keep_series,
                         writer_progress *progress, char *err, size_t err_size)
{
	if (db == NULL || run == NULL || (run->n_variants > 0 && run->variants == NULL)) {
		store__set_err(err, err_size, "store_write_results: invalid argument");
		return SIM_EINVAL;
	}
	for (size_t vi = 0; vi < run->n_variants; vi++) {
		if (run->variants[vi].n_reps == 0 || run->variants[vi].reps == NULL) {
			store__set_err(err, err_size, "store_write_results: variant %zu has no replications", vi);
			return SIM_EINVAL;
		}
	}
	writer w = { .db = db, .run_id = run_id, .keep_series = keep_series, .progress = progress };
	int rc = SQLITE_OK;
	int status = SIM_ESTORE;
	if (store__exec(db, "BEGIN IMMEDIATE") != SQLITE_OK)
		return store__db_err(db, NULL, "starting to write results", err, err_size);

	int64_t state = -1, version = 0;
	{
		sqlite3_stmt *st = NULL;
		rc = sqlite3_prepare_v2(db,
		        "SELECT complete + 2 * EXISTS (SELECT 1 FROM variants WHERE run_id = ?1)"
		        " FROM runs WHERE id = ?1", -1, &st, NULL);
		if (rc == SQLITE_OK) {
			sqlite3_bind_int64(st, 1, run_id);
			rc = sqlite3_step(st);
			if (rc == SQLITE_ROW)
				state = sqlite3_column_int64(st, 0);
			rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
		}
		sqlite3_finalize(st);
		if (rc == SQLITE_OK)
			rc = store__query_int(db, "PRAGMA user_version", &version);
		if (rc != SQLITE_OK) {
			w.what = "checking the run";
			goto fail_db;
		}
	}
	if (state != 0) {
		store__set_err(err, err_size, state < 0 ? "%s: run %lld does not exist"
		                                 : "%s: run %lld already has results or is complete",
		        store__db_path(db), (long long)run_id);
		goto fail;
	}
	w.packed = version >= 3;
	if ((!w.packed && (rc = add_lost_column(&w)) != SQLITE_OK) || (rc = prepare_all(&w)) != SQLITE_OK ||
	    (w.packed && (rc = write_names(&w)) != SQLITE_OK))
		goto fail_db;
	for (size_t vi = 0; vi < run->n_variants; vi++)
		if ((rc = write_variant(&w, (int)vi, &run->variants[vi])) != SQLITE_OK)
			goto fail_db;
	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(w.st[i]);
	for (int i = 0; i < 3; i++)
		store__buf_free(&w.buf[i]);
	if (store__exec(db, "COMMIT") != SQLITE_OK) {
		store__db_err(db, NULL, "committing results", err, err_size);
		store__exec(db, "ROLLBACK");
		return SIM_ESTORE;
	}
	return SIM_OK;
fail_db:
	/* The message must be read before ROLLBACK replaces it. */
	if (rc == SQLITE_NOMEM && w.what && strstr(w.what, "out of memory")) {
		store__set_err(err, err_size, "%s: %s", store__db_path(db), w.what);
		status = SIM_ENOMEM;
	} else
		store__db_err(db, NULL, w.what, err, err_size);
fail:
	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(w.st[i]);
	for (int i = 0; i < 3; i++)
		store__buf_free(&w.buf[i]);
	store__exec(db, "ROLLBACK");
	return status;
}

int store_write_results_series(sqlite3 *db, int64_t run_id, const rpt_run *run, bool keep_series,
                               char *err, size_t err_size)
{
	return write_results(db, run_id, run, keep_series, NULL, err, err_size);
}

int store_write_results_progress(sqlite3 *db, int64_t run_id, const rpt_run *run, bool keep_series,
                                 store_progress_fn fn, void *ctx, int64_t every_rows, char *err, size_t err_size)
{
	if (fn == NULL)
		return write_results(db, run_id, run, keep_series, NULL, err, err_size);
	writer_progress p = { .fn = fn, .ctx = ctx, .every_rows = every_rows > 0 ? every_rows : STORE_PROGRESS_ROWS };
	p.next = p.every_rows;
	int st = write_results(db, run_id, run, keep_series, &p, err, err_size);
	fn(ctx, &(store_progress){ .rows = st == SIM_OK ? p.written : 0, .done = true, .failed = st != SIM_OK });
	return st;
}

int store_run_once(const char *path, const store_run_info *info, const rpt_run *run,
		   store_wait_fn on_wait, void *ctx, int64_t *run_id, char *err, size_t err_size)
{
	sqlite3 *db = NULL;
	int st = store_open_waiting(path, on_wait, ctx, &db, err, err_size);
	if (st == SIM_OK)
		st = store_begin_run(db, info, run_id, err, err_size);
	if (st == SIM_OK)
		st = store_write_results(db, *run_id, run, err, err_size);
	if (st == SIM_OK)
		st = store_finish_run(db, *run_id, err, err_size);
	if (db)
		store_close(db);
	return st;
}
