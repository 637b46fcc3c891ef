/* store_read.c - a run read back from the store, validated as it is read.
 * Contracts in store.h, schema in docs/RESULTS.md. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "res_summary.h"
#include "scn_load.h"
#include "stats.h"
#include "status.h"
#include "store.h"
#include "store_int.h"

/* Everything a store_loaded owns, in one place so one function frees it. */
typedef struct loaded_mem {
	char *row_text;              /* the row's strings, back to back */
	char **variant_names;
	res_desc *desc;              /* per variant */
	rpt_variant *variants;
	res_rep **reps;              /* per variant */
	int64_t *step_ns;            /* per variant: the series step (0: not stored) */
	store_series *series;        /* per variant: the mean series the charts draw */
	size_t n_variants;
	char **strings;              /* summaries' entity/figure/unit */
	size_t n_strings, cap_strings;
} loaded_mem;

void store_loaded_free(store_loaded *l)
{
	if (l == NULL)
		return;
	loaded_mem *m = l->priv;
	if (m != NULL) {
		for (size_t v = 0; v < m->n_variants; v++) {
			if (m->reps && m->reps[v]) {
				for (size_t r = 0; r < m->variants[v].n_reps; r++) {
					free(m->reps[v][r].groups);
					free(m->reps[v][r].mailboxes);
					free(m->reps[v][r].series);
				}
				free(m->reps[v]);
			}
			if (m->desc)
				res_desc_free(&m->desc[v]);
			if (m->variant_names)
				free(m->variant_names[v]);
			if (m->series)
				free(m->series[v].rows);
		}
		free(m->series);
		for (size_t i = 0; i < m->n_strings; i++)
			free(m->strings[i]);
		free(m->strings);
		free(m->reps);
		free(m->step_ns);
		free(m->desc);
		free(m->variants);
		free(m->variant_names);
		free(m->row_text);
		free(m);
	}
	free(l->summaries);
	free(l);
}

/* Interns s: the same text gives the same pointer (figure and unit names
 * repeat on every entity; a linear probe over the last few is enough). */
static const char *keep_string(loaded_mem *m, const char *s)
{
	size_t look = m->n_strings < 64 ? m->n_strings : 64;
	for (size_t i = 0; i < look; i++)
		if (strcmp(m->strings[m->n_strings - 1 - i], s) == 0)
			return m->strings[m->n_strings - 1 - i];
	if (m->n_strings == m->cap_strings) {
		size_t cap = m->cap_strings ? 2 * m->cap_strings : 256;
		char **p = realloc(m->strings, cap * sizeof *p);
		if (p == NULL)
			return NULL;
		m->strings = p;
		m->cap_strings = cap;
	}
	char *c = strdup(s);
	if (c != NULL)
		m->strings[m->n_strings++] = c;
	return c;
}

static int kind_of(const char *s, res_entity_kind *k)
{
	if (strcmp(s, "total") == 0)
		*k = RES_TOTAL;
	else if (strcmp(s, "group") == 0)
		*k = RES_GROUP;
	else if (strcmp(s, "mailbox") == 0)
		*k = RES_MAILBOX;
	else
		return -1;
	return 0;
}

static int reply_class_of(const char *id)
{
	return rpl_class_by_id(id);
}

/* "accepted" -> (RES_FIG, FIG_ACCEPTED); "lost_by.recipient_rate" ->
 * (RES_LOST_BY, RC_RECIPIENT_RATE); unknown -> idx -1. */
static void figure_of(const char *name, res_what *what, int *idx)
{
	*what = RES_FIG;
	*idx = -1;
	const char *dot = strchr(name, '.');
	if (dot == NULL) {
		for (int f = 0; f < FIG_COUNT; f++)
			if (strcmp(res_fig_info[f].name, name) == 0)
				*idx = f;
		return;
	}
	size_t n = (size_t)(dot - name);
	if (n == strlen("rejected_by") && strncmp(name, "rejected_by", n) == 0)
		*what = RES_REJECTED_BY;
	else if (n == strlen("lost_by") && strncmp(name, "lost_by", n) == 0)
		*what = RES_LOST_BY;
	else
		return;
	*idx = reply_class_of(dot + 1);
	if (*idx < 0)
		*what = RES_FIG;
}

/* Writers' order: figures in res_fig order, then rejected_by.*, then
 * lost_by.* in class order, then figures this program does not know. */
static int figure_rank(const store_summary *s)
{
	if (s->idx < 0)
		return FIG_COUNT + 2 * RC_COUNT;
	if (s->what == RES_FIG)
		return s->idx;
	return FIG_COUNT + (s->what == RES_LOST_BY ? RC_COUNT : 0) + s->idx;
}

static int summary_cmp(const void *a, const void *b)
{
	const store_summary *x = a, *y = b;
	if (x->variant != y->variant)
		return x->variant < y->variant ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->entity != y->entity)
		return x->entity < y->entity ? -1 : 1;
	int rx = figure_rank(x), ry = figure_rank(y);
	if (rx != ry)
		return rx < ry ? -1 : 1;
	return strcmp(x->figure, y->figure);
}

/* The loader's state: one prepared statement at a time, its error. */
typedef struct loader {
	sqlite3 *db;
	int64_t run_id;
	sqlite3_stmt *st;
	const char *what;
	char *err;
	size_t err_size;
	bool damaged;   /* rows that contradict each other: message already in err */
	bool series_lost; /* the series table has the column lost */
} loader;

static int ld_prepare(loader *ld, const char *sql, const char *what)
{
	ld->what = what;
	if (sqlite3_prepare_v2(ld->db, sql, -1, &ld->st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(ld->st, 1, ld->run_id);
	return 0;
}

static int ld_done(loader *ld, int rc)
{
	sqlite3_finalize(ld->st);
	ld->st = NULL;
	return rc == SQLITE_DONE ? 0 : -1;
}

static int ld_damaged(loader *ld, const char *fmt, long long a, long long b)
{
	char msg[160];
	snprintf(msg, sizeof msg, fmt, a, b);
	store__set_err(ld->err, ld->err_size, "%s: run %lld: %s (damaged results file?)", store__db_path(ld->db),
	        (long long)ld->run_id, msg);
	ld->damaged = true;
	return -1;
}

/* What every stored value must be, checked in SQL before anything is
 * counted or grouped (a '1' stored as text would otherwise group apart
 * from 1, and counts disagree with the rows read).  The schema declares
 * these types, but SQLite does not enforce them, and a foreign or edited
 * file need not have our schema at all. */
#define T_INT(c) "typeof(" c ") = 'integer'"
#define T_TEXT(c) "typeof(" c ") = 'text'"
#define T_TEXT_NULL(c) "typeof(" c ") IN ('text', 'null')"
#define T_INT_NULL(c) "typeof(" c ") IN ('integer', 'null')"
#define T_NUM_NULL(c) "typeof(" c ") IN ('real', 'integer', 'null')"
#define T_NUM(c) "typeof(" c ") IN ('real', 'integer')"

/* Every row of the run in table satisfies cond.  0, or -1 (an SQLite
 * error, or damaged with the message in err). */
static int ld_types(loader *ld, const char *table, const char *cond)
{
	char sql[2048];
	int n = snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE run_id = ?1 AND NOT (%s)", table, cond);
	if (n < 0 || (size_t)n >= sizeof sql || ld_prepare(ld, sql, "checking the stored values"))
		return -1;
	int rc = sqlite3_step(ld->st);
	long long bad = rc == SQLITE_ROW ? sqlite3_column_int64(ld->st, 0) : 0;
	if (ld_done(ld, rc == SQLITE_ROW ? SQLITE_DONE : rc))
		return -1;
	if (bad > 0) {
		store__set_err(ld->err, ld->err_size, "%s: run %lld: %lld rows of table %s with a value of the wrong"
		               " type (damaged results file?)", store__db_path(ld->db), (long long)ld->run_id, bad,
		               table);
		ld->damaged = true;
		return -1;
	}
	return 0;
}

/* A finite number, or NULL (NaN). */
static bool num_ok(sqlite3_stmt *st, int i)
{
	int t = sqlite3_column_type(st, i);
	return t == SQLITE_NULL || ((t == SQLITE_INTEGER || t == SQLITE_FLOAT) && isfinite(sqlite3_column_double(st, i)));
}

/* Locates (variant, replication) -> the rep; replications are numbered
 * 0..n-1 by the run driver, but a sparse numbering is still found. */
static res_rep *find_rep(loaded_mem *m, int64_t vi, int64_t rep)
{
	if (vi < 0 || (size_t)vi >= m->n_variants)
		return NULL;
	res_rep *reps = m->reps[vi];
	size_t n = m->variants[vi].n_reps;
	if (rep >= 0 && (size_t)rep < n && reps[rep].replication == rep)
		return &reps[rep];
	for (size_t i = 0; i < n; i++)
		if (reps[i].replication == rep)
			return &reps[i];
	return NULL;
}

static res_entity *find_entity(res_rep *r, res_entity_kind k, int64_t e)
{
	if (k == RES_TOTAL)
		return &r->total;
	if (e < 0)
		return NULL;
	if (k == RES_GROUP)
		return (size_t)e < r->n_groups ? &r->groups[e] : NULL;
	return (size_t)e < r->n_mailboxes ? &r->mailboxes[e] : NULL;
}

static void entity_init(res_entity *e)
{
	for (int f = 0; f < FIG_COUNT; f++)
		e->fig[f] = NAN;
}

/* The entity a row names in its columns 0-3 (variant_idx, replication,
 * entity_kind, entity_idx), or NULL when the run has no such entity. */
static res_entity *row_entity(sqlite3_stmt *st, loaded_mem *m)
{
	res_rep *r = find_rep(m, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1));
	res_entity_kind k;
	if (r == NULL || kind_of(store__col_text(st, 2), &k) != 0)
		return NULL;
	return find_entity(r, k, sqlite3_column_int64(st, 3));
}

/* Does the file have this table?  (Schema-1 files lack entities and
 * replies.)  -1 on an SQLite error. */
static int has_table(loader *ld, const char *name)
{
	char sql[128];
	int64_t n = 0;
	snprintf(sql, sizeof sql, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '%s'",
	         name);
	ld->what = "reading the schema";
	return store__query_int(ld->db, sql, &n) == SQLITE_OK ? n > 0 : -1;
}

/* Does the table have this column?  (Files from before sweeps lack the
 * sweep columns of variants.)  -1 on an SQLite error. */
static int has_column(loader *ld, const char *table, const char *col)
{
	char sql[160];
	int64_t n = 0;
	snprintf(sql, sizeof sql, "SELECT count(*) FROM pragma_table_info('%s') WHERE name = '%s'", table, col);
	ld->what = "reading the schema";
	return store__query_int(ld->db, sql, &n) == SQLITE_OK ? n > 0 : -1;
}

/* The variants query for what this file has: the sweep columns (none, the
 * first key, or both keys) and schema 2's lengths.  Sets l->has_sweep. */
static int variants_query(loader *ld, store_loaded *l, char *sql, size_t size)
{
	int v2 = has_table(ld, "entities"), k1 = 1, k2 = 1;
	static const char *const cols[] = { "point", "sweep_key", "sweep_value", "sweep_key2", "sweep_value2" };
	for (int i = 0; i < 5 && v2 >= 0; i++) {
		int h = has_column(ld, "variants", cols[i]);
		if (h < 0)
			return -1;
		if (i < 3)
			k1 = k1 && h;
		else
			k2 = k2 && h;
	}
	if (v2 < 0)
		return -1;
	l->has_sweep = k1;
	int tz = has_column(ld, "variants", "timezone");
	if (tz < 0)
		return -1;
	int n = snprintf(sql, size, "SELECT idx, name, %s, %s, %s, %s FROM variants WHERE run_id = ?1 ORDER BY idx",
	                 k1 ? "point, sweep_key, sweep_value" : "NULL, NULL, NULL",
	                 k1 && k2 ? "sweep_key2, sweep_value2" : "NULL, NULL",
	                 v2 ? "duration_ns, start_unix_s, series_step_ns" : "NULL, NULL, NULL",
	                 tz ? "timezone, start_utc_offset_s" : "NULL, NULL");
	return n > 0 && (size_t)n < size ? 0 : -1;
}

/* The variants' rows: names, sweep points, length.  0, -1 (SQLite or
 * damaged), -2 (out of memory). */
static int load_variants(loader *ld, loaded_mem *m, store_loaded *l, int64_t nv)
{
	int rc;
	char sql[512];
	m->n_variants = (size_t)nv;
	m->variant_names = calloc(m->n_variants, sizeof *m->variant_names);
	m->desc = calloc(m->n_variants, sizeof *m->desc);
	m->variants = calloc(m->n_variants, sizeof *m->variants);
	m->reps = calloc(m->n_variants, sizeof *m->reps);
	m->step_ns = calloc(m->n_variants, sizeof *m->step_ns);
	if (!m->variant_names || !m->desc || !m->variants || !m->reps || !m->step_ns)
		return -2;
	if (variants_query(ld, l, sql, sizeof sql) || ld_prepare(ld, sql, "reading variants"))
		return -1;
	size_t i = 0;
	while ((rc = sqlite3_step(ld->st)) == SQLITE_ROW) {
		sqlite3_stmt *st = ld->st;
		int64_t idx = sqlite3_column_int64(st, 0);
		if (i >= m->n_variants || !store__int_ok(st, 0, (int64_t)i, (int64_t)i))
			return ld_damaged(ld, "variant %lld where %lld was expected", (long long)idx, (long long)i);
		/* A sweep point has its first key and value; a second key its
		 * value; no point, no keys.  Lengths and steps are >= 0. */
		bool point = sqlite3_column_type(st, 2) != SQLITE_NULL;
		bool key2 = sqlite3_column_type(st, 5) != SQLITE_NULL;
		if (!store__text_ok(st, 1, SCN_NAME_MAX - 1, false) ||
		    (point ? !store__int_ok(st, 2, 0, SCN_MAX_SCENARIOS) || !store__text_ok(st, 3, SCN_NAME_MAX - 1, false) ||
		             sqlite3_column_type(st, 4) == SQLITE_NULL || !num_ok(st, 4) ||
		             (key2 && (!store__text_ok(st, 5, SCN_NAME_MAX - 1, false) ||
		                       sqlite3_column_type(st, 6) == SQLITE_NULL || !num_ok(st, 6))) ||
		             (!key2 && sqlite3_column_type(st, 6) != SQLITE_NULL)
		           : sqlite3_column_type(st, 3) != SQLITE_NULL || sqlite3_column_type(st, 4) != SQLITE_NULL ||
		             key2 || sqlite3_column_type(st, 6) != SQLITE_NULL) ||
		    (sqlite3_column_type(st, 7) != SQLITE_NULL && !store__int_ok(st, 7, 0, INT64_MAX)) ||
		    (sqlite3_column_type(st, 8) != SQLITE_NULL && !store__int_ok(st, 8, INT64_MIN, INT64_MAX)) ||
		    (sqlite3_column_type(st, 9) != SQLITE_NULL && !store__int_ok(st, 9, 0, INT64_MAX)) ||
		    /* the clock: a zone name and its offset (within a day), or neither */
		    (sqlite3_column_type(st, 10) != SQLITE_NULL &&
		     (!store__text_ok(st, 10, sizeof m->desc[0].timezone - 1, false) ||
		      !store__int_ok(st, 11, -86400, 86400))) ||
		    (sqlite3_column_type(st, 10) == SQLITE_NULL && sqlite3_column_type(st, 11) != SQLITE_NULL))
			return ld_damaged(ld, "variant %lld: a name, sweep point or length of the wrong type or"
			                  " out of range", (long long)i, 0);
		if ((m->variant_names[i] = strdup(store__col_text(ld->st, 1))) == NULL)
			return -2;
		res_desc *d = &m->desc[i];
		snprintf(d->scenario, sizeof d->scenario, "%s", l->row.scenario_name);
		snprintf(d->variant, sizeof d->variant, "%s", m->variant_names[i]);
		d->seed = l->row.seed;
		d->sweep_point = sqlite3_column_type(ld->st, 2) == SQLITE_NULL ? -1 : sqlite3_column_int64(ld->st, 2);
		for (int k = 0; k < 2 && d->sweep_point >= 0; k++) {
			if (sqlite3_column_type(ld->st, 3 + 2 * k) == SQLITE_NULL)
				break;
			snprintf(d->sweep_key[k], sizeof d->sweep_key[k], "%s", store__col_text(ld->st, 3 + 2 * k));
			d->sweep_value[k] = store__col_real(ld->st, 4 + 2 * k);
			d->n_sweep_keys = k + 1;
		}
		d->duration_ns = sqlite3_column_int64(ld->st, 7);
		d->start_unix_s = sqlite3_column_int64(ld->st, 8);
		if (sqlite3_column_type(ld->st, 10) != SQLITE_NULL) {
			snprintf(d->timezone, sizeof d->timezone, "%s", store__col_text(ld->st, 10));
			d->start_utc_offset_s = (int32_t)sqlite3_column_int64(ld->st, 11);
		}
		m->step_ns[i] = sqlite3_column_int64(ld->st, 9);
		i++;
	}
	if (ld_done(ld, rc))
		return -1;
	return i == m->n_variants ? 0 : ld_damaged(ld, "%lld variants where %lld were counted",
	                                           (long long)i, (long long)m->n_variants);
}

/* Each variant's replications: seeds and events. */
static int load_replications(loader *ld, loaded_mem *m, int64_t nv)
{
	int rc;
	if (ld_types(ld, "replications", T_INT("variant_idx") " AND " T_INT("replication") " AND " T_INT("seed")
	             " AND " T_INT("events")))
		return -1;
	if (ld_prepare(ld, "SELECT variant_idx, count(*) FROM replications WHERE run_id = ?1"
	               " GROUP BY variant_idx", "reading replications"))
		return -1;
	while ((rc = sqlite3_step(ld->st)) == SQLITE_ROW) {
		int64_t vi = sqlite3_column_int64(ld->st, 0), n = sqlite3_column_int64(ld->st, 1);
		if (vi < 0 || vi >= nv || n > STORE_MAX_REPLICATIONS)
			return ld_damaged(ld, "replications of variant %lld (of %lld)", (long long)vi, (long long)nv);
		m->variants[vi].n_reps = (size_t)n;
	}
	if (ld_done(ld, rc))
		return -1;
	for (size_t v = 0; v < m->n_variants; v++) {
		if (m->variants[v].n_reps == 0)
			return ld_damaged(ld, "variant %lld of %lld has no replications", (long long)v, (long long)nv);
		if ((m->reps[v] = calloc(m->variants[v].n_reps, sizeof *m->reps[v])) == NULL)
			return -2;
	}
	if (ld_prepare(ld, "SELECT variant_idx, replication, seed, events FROM replications"
	               " WHERE run_id = ?1 ORDER BY variant_idx, replication", "reading replications"))
		return -1;
	size_t fill_v = 0, fill_r = 0;
	while ((rc = sqlite3_step(ld->st)) == SQLITE_ROW) {
		size_t vi = (size_t)sqlite3_column_int64(ld->st, 0);
		if (vi != fill_v) {
			if (vi < fill_v || fill_r != m->variants[fill_v].n_reps)
				return ld_damaged(ld, "replication rows changed while reading (%lld, %lld)",
				                  (long long)vi, (long long)fill_r);
			fill_v = vi;
			fill_r = 0;
		}
		/* numbered 0, 1, ... by the run driver; at least increasing */
		if (vi >= m->n_variants || fill_r >= m->variants[vi].n_reps ||
		    !store__int_ok(ld->st, 1, fill_r ? m->reps[vi][fill_r - 1].replication + 1 : 0,
		                   STORE_MAX_REPLICATIONS) || !store__int_ok(ld->st, 3, 0, INT64_MAX))
			return ld_damaged(ld, "variant %lld: replication row %lld out of range or out of order",
			                  (long long)vi, (long long)fill_r);
		res_rep *r = &m->reps[vi][fill_r++];
		r->replication = sqlite3_column_int64(ld->st, 1);
		r->seed = (uint64_t)sqlite3_column_int64(ld->st, 2);
		r->events = (uint64_t)sqlite3_column_int64(ld->st, 3);
		r->series_step_ns = m->step_ns[vi];
		for (int q = 0; q < RES_CDF_POINTS; q++)
			r->submission_cdf[q] = r->delivery_cdf[q] = NAN;
		entity_init(&r->total);
	}
	return ld_done(ld, rc);
}

/* Does the file have `table` (one of ours: a fixed name), with rows of
 * this run?  -1: error. */
static int run_has_rows(loader *ld, const char *table, const char *what)
{
	int t = has_table(ld, table);
	if (t <= 0)
		return t;
	char sql[128];
	int64_t n = 0;
	snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE run_id = %lld", table, (long long)ld->run_id);
	ld->what = what;
	return store__query_int(ld->db, sql, &n) == SQLITE_OK ? n > 0 : -1;
}

/* Does this run have rows in the entities table?  (No for schema-1 files,
 * and for runs written before their file was upgraded.)  -1: error. */
static int has_entities(loader *ld)
{
	return run_has_rows(ld, "entities", "reading entities");
}

/* v2: the run has entity rows (has_entities).  Entities are numbered 0,
 * 1, ... without gaps or repeats; and every entity of every replication
 * has figure rows, so what is allocated here is bounded by the rows in
 * the file (a crafted max(entity_idx) cannot ask for gigabytes). */
static int count_entities(loader *ld, loaded_mem *m, int64_t nv, int v2, size_t (*count)[2])
{
	int rc;
	if (v2 && ld_types(ld, "entities", T_INT("variant_idx") " AND " T_TEXT("entity_kind") " AND "
	                   T_INT("entity_idx") " AND " T_TEXT("name") " AND " T_TEXT_NULL("route") " AND "
	                   T_TEXT_NULL("mailbox") " AND " T_INT_NULL("instances") " AND " T_TEXT("preset") " AND "
	                   T_INT("concurrency") " AND " T_TEXT("concurrency_scope") " AND " T_INT("message_rate")
	                   " AND " T_INT("message_rate_window_ns") " AND " T_TEXT("message_rate_mode") " AND "
	                   T_INT("recipient_rate") " AND " T_INT("recipient_rate_window_ns") " AND "
	                   T_INT("external_rate") " AND " T_INT("max_recipients_per_message") " AND "
	                   T_INT("max_message_size")))
		return -1;
	if (ld_types(ld, "summaries", T_INT("variant_idx") " AND " T_TEXT("entity_kind") " AND "
	             T_INT("entity_idx") " AND " T_TEXT("entity") " AND " T_TEXT("figure") " AND " T_TEXT("unit")
	             " AND " T_NUM_NULL("mean") " AND " T_NUM_NULL("half") " AND " T_INT("n")) ||
	    ld_types(ld, "figures", T_INT("variant_idx") " AND " T_INT("replication") " AND "
	             T_TEXT("entity_kind") " AND " T_INT("entity_idx") " AND " T_TEXT("figure") " AND "
	             T_NUM_NULL("value")))
		return -1;
	if (ld_prepare(ld, v2 ? "SELECT variant_idx, entity_kind, max(entity_idx) + 1, min(entity_idx),"
	                        " count(*), count(DISTINCT entity_idx) FROM entities"
	                        " WHERE run_id = ?1 GROUP BY 1, 2"
	                      : "SELECT variant_idx, entity_kind, max(entity_idx) + 1, min(entity_idx),"
	                        " count(DISTINCT entity_idx), count(DISTINCT entity_idx) FROM summaries"
	                        " WHERE run_id = ?1 AND entity_kind <> 'total' GROUP BY 1, 2",
	               "counting entities"))
		return -1;
	while ((rc = sqlite3_step(ld->st)) == SQLITE_ROW) {
		int64_t vi = sqlite3_column_int64(ld->st, 0), n = sqlite3_column_int64(ld->st, 2);
		res_entity_kind k;
		if (vi < 0 || vi >= nv || kind_of(store__col_text(ld->st, 1), &k) != 0 || k == RES_TOTAL ||
		    n < 0 || n > SCN_MAX_INSTANCES + SCN_MAX_MAILBOXES || sqlite3_column_int64(ld->st, 3) != 0 ||
		    sqlite3_column_int64(ld->st, 4) != n || sqlite3_column_int64(ld->st, 5) != n)
			return ld_damaged(ld, "entities of variant %lld: not numbered 0 to %lld", (long long)vi,
			                  (long long)n - 1);
		count[vi][k == RES_GROUP ? 0 : 1] = (size_t)n;
	}
	if (ld_done(ld, rc))
		return -1;
	if (ld_prepare(ld, "SELECT variant_idx, count(DISTINCT replication || ' ' || entity_kind || ' ' || entity_idx)"
	               " FROM figures WHERE run_id = ?1 GROUP BY 1", "counting figures"))
		return -1;
	int64_t *covered = calloc((size_t)nv, sizeof *covered);
	if (covered == NULL)
		return -2;
	while ((rc = sqlite3_step(ld->st)) == SQLITE_ROW) {
		int64_t vi = sqlite3_column_int64(ld->st, 0);
		if (vi >= 0 && vi < nv)
			covered[vi] = sqlite3_column_int64(ld->st, 1);
	}
	int bad = -1;
	for (int64_t v = 0; v < nv && bad < 0 && rc == SQLITE_DONE; v++) {
		/* n_reps <= 10^6, entities <= 1.1 x 10^7: no overflow */
		int64_t want = (int64_t)m->variants[v].n_reps * (1 + (int64_t)count[v][0] + (int64_t)count[v][1]);
		if (covered[v] != want)
			bad = (int)v;
	}
	free(covered);
	if (ld_done(ld, rc))
		return -1;
	if (bad >= 0)
		return ld_damaged(ld, "variant %lld: figures missing for some of its entities and replications",
		                  (long long)bad, 0);
	return 0;
}

/* Every variant's replications get their entity arrays; the variants
 * their descriptions' arrays. */
static int make_entities(loaded_mem *m, size_t (*count)[2])
{
	for (size_t v = 0; v < m->n_variants; v++) {
		size_t ng = count[v][0], nm = count[v][1];
		res_desc *d = &m->desc[v];
		if (res_desc_alloc(d, &sim_alloc_std, ng, nm) != SIM_OK)
			return -2;
		for (size_t r = 0; r < m->variants[v].n_reps; r++) {
			res_rep *rep = &m->reps[v][r];
			rep->groups = ng ? calloc(ng, sizeof *rep->groups) : NULL;
			rep->mailboxes = nm ? calloc(nm, sizeof *rep->mailboxes) : NULL;
			if ((ng && !rep->groups) || (nm && !rep->mailboxes))
				return -2;
			rep->n_groups = ng;
			rep->n_mailboxes = nm;
			for (size_t k = 0; k < ng; k++)
				entity_init(&rep->groups[k]);
			for (size_t k = 0; k < nm; k++)
				entity_init(&rep->mailboxes[k]);
		}
		m->variants[v] = (rpt_variant){ .name = m->variant_names[v], .desc = d, .reps = m->reps[v],
		                                .n_reps = m->variants[v].n_reps };
	}
	return 0;
}

/* Schema 2: each entity's name, route and resolved limits. */
static int load_entities(loader *ld, loaded_mem *m)
{
	int rc;
	if (ld_prepare(ld, "SELECT variant_idx, entity_kind, entity_idx, name, route, mailbox, instances,"
	               " preset, concurrency, concurrency_scope, message_rate, message_rate_window_ns,"
	               " message_rate_mode, recipient_rate, recipient_rate_window_ns, external_rate,"
	               " max_recipients_per_message, max_message_size FROM entities WHERE run_id = ?1",
	               "reading entities"))
		return -1;
	while ((rc = sqlite3_step(ld->st)) == SQLITE_ROW) {
		sqlite3_stmt *st = ld->st;
		int64_t vi = sqlite3_column_int64(st, 0), e = sqlite3_column_int64(st, 2);
		res_entity_kind k;
		if (vi < 0 || (size_t)vi >= m->n_variants || kind_of(store__col_text(st, 1), &k) != 0 || e < 0 ||
		    (k == RES_GROUP ? (size_t)e >= m->desc[vi].n_groups : (size_t)e >= m->desc[vi].n_mailboxes))
			return ld_damaged(ld, "an entity of variant %lld, index %lld", (long long)vi, (long long)e);
		/* names within the loader's bound; limits >= 0 (0: none); the
		 * scope and mode names this program knows (it indexes by them) */
		bool ok = scn_name_index(scn_scope_names, store__col_text(st, 9)) >= 0 &&
		          scn_name_index(scn_rate_mode_names, store__col_text(st, 12)) >= 0;
		for (int c = 3; c <= 7 && ok; c++)
			ok = c == 6 ? sqlite3_column_type(st, c) == SQLITE_NULL || store__int_ok(st, c, 0, INT64_MAX)
			            : store__text_ok(st, c, SCN_NAME_MAX - 1, c == 4 || c == 5);
		for (int c = 8; c <= 17 && ok; c++)
			ok = c == 9 || c == 12 || store__int_ok(st, c, 0, INT64_MAX);
		if (!ok)
			return ld_damaged(ld, "an entity of variant %lld, index %lld: a name or limit of the wrong type"
			                  " or out of range", (long long)vi, (long long)e);
		res_desc *d = &m->desc[vi];
		res_limits *l;
		if (k == RES_GROUP) {
			res_group_desc *g = &d->groups[e];
			snprintf(g->name, sizeof g->name, "%s", store__col_text(st, 3));
			snprintf(g->route, sizeof g->route, "%s", store__col_text(st, 4));
			snprintf(g->mailbox, sizeof g->mailbox, "%s", store__col_text(st, 5));
			g->instances = sqlite3_column_int64(st, 6);
			l = &g->limits;
		} else {
			snprintf(d->mailboxes[e].name, sizeof d->mailboxes[e].name, "%s", store__col_text(st, 3));
			l = &d->mailboxes[e].limits;
		}
		snprintf(l->preset, sizeof l->preset, "%s", store__col_text(st, 7));
		l->concurrency = sqlite3_column_int64(st, 8);
		l->concurrency_scope = scn_name_index(scn_scope_names, store__col_text(st, 9));
		l->message_rate = sqlite3_column_int64(st, 10);
		l->message_rate_window_ns = sqlite3_column_int64(st, 11);
		l->message_rate_mode = scn_name_index(scn_rate_mode_names, store__col_text(st, 12));
		l->recipient_rate = sqlite3_column_int64(st, 13);
		l->recipient_rate_window_ns = sqlite3_column_int64(st, 14);
		l->external_rate = sqlite3_column_int64(st, 15);
		l->max_recipients_per_message = sqlite3_column_int64(st, 16);
		l->max_message_size = sqlite3_column_int64(st, 17);
	}
	return ld_done(ld, rc);
}

/* Schema 2: the replies configured (replication -1) and given. */
static int load_replies(loader *ld, loaded_mem *m)
{
	int rc;
	if (ld_types(ld, "replies", T_INT("variant_idx") " AND " T_INT("replication") " AND " T_TEXT("reply_class")
	             " AND " T_INT("code") " AND " T_INT("transient") " AND " T_TEXT("text") " AND " T_INT("mixed")))
		return -1;
	if (ld_prepare(ld, "SELECT variant_idx, replication, reply_class, code, transient, text, mixed"
	               " FROM replies WHERE run_id = ?1", "reading replies"))
		return -1;
	while ((rc = sqlite3_step(ld->st)) == SQLITE_ROW) {
		sqlite3_stmt *st = ld->st;
		int64_t vi = sqlite3_column_int64(st, 0), rep = sqlite3_column_int64(st, 1);
		int c = reply_class_of(store__col_text(st, 2));
		if (c < 0)
			continue; /* a class of another version */
		res_reply *r;
		res_rep *rp = NULL;
		if (vi < 0 || (size_t)vi >= m->n_variants || rep < -1 || (rep >= 0 && (rp = find_rep(m, vi, rep)) == NULL) ||
		    !store__int_ok(st, 3, 0, 999) || !store__int_ok(st, 4, 0, 1) || !store__int_ok(st, 6, 0, 1) ||
		    !store__text_ok(st, 5, sizeof m->desc[0].configured[0].text - 1, false))
			return ld_damaged(ld, "a reply of variant %lld, replication %lld", (long long)vi, (long long)rep);
		r = rp ? &rp->given[c] : &m->desc[vi].configured[c];
		r->code = sqlite3_column_int(st, 3);
		r->transient = sqlite3_column_int(st, 4) != 0;
		snprintf(r->text, sizeof r->text, "%s", store__col_text(st, 5));
		if (rp)
			rp->given_mixed[c] = sqlite3_column_int(st, 6) != 0;
	}
	return ld_done(ld, rc);
}

/* The summaries (and, in schema-1 files, the entities' names). */
static int load_summaries(loader *ld, loaded_mem *m, store_loaded *l, int64_t nv)
{
	int rc;
	int64_t ns = 0;
	char sql[96];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM summaries WHERE run_id = %lld", (long long)ld->run_id);
	ld->what = "reading summaries";
	if (store__query_int(ld->db, sql, &ns) != SQLITE_OK)
		return -1;
	if (ns > 0 && (l->summaries = calloc((size_t)ns, sizeof *l->summaries)) == NULL)
		return -2;
	if (ld_prepare(ld, "SELECT variant_idx, entity_kind, entity_idx, entity, figure, unit, mean, half, n"
	               " FROM summaries WHERE run_id = ?1", "reading summaries"))
		return -1;
	while ((rc = sqlite3_step(ld->st)) == SQLITE_ROW) {
		if (l->n_summaries >= (size_t)ns)
			return ld_damaged(ld, "more than %lld summaries (%lld read)", (long long)ns, (long long)l->n_summaries);
		store_summary *s = &l->summaries[l->n_summaries];
		int64_t vi = sqlite3_column_int64(ld->st, 0), e = sqlite3_column_int64(ld->st, 2);
		if (vi < 0 || vi >= nv || kind_of(store__col_text(ld->st, 1), &s->kind) != 0 || e < 0 ||
		    (s->kind == RES_TOTAL ? e != 0 : (size_t)e >= (s->kind == RES_GROUP ? m->desc[vi].n_groups
		                                                                        : m->desc[vi].n_mailboxes)) ||
		    !store__text_ok(ld->st, 3, SCN_NAME_MAX + 8, false) || !store__text_ok(ld->st, 4, 128, false) ||
		    !store__text_ok(ld->st, 5, 32, false) || !num_ok(ld->st, 6) || !num_ok(ld->st, 7) ||
		    !store__int_ok(ld->st, 8, 0, (int64_t)m->variants[vi].n_reps))
			return ld_damaged(ld, "a summary of variant %lld, entity %lld", (long long)vi, (long long)e);
		s->variant = (size_t)vi;
		s->entity = (size_t)e;
		const char *name = store__col_text(ld->st, 3);
		res_desc *d = &m->desc[vi];
		if (s->kind == RES_GROUP && (size_t)e < d->n_groups && !d->groups[e].name[0])
			snprintf(d->groups[e].name, sizeof d->groups[e].name, "%s", name);
		else if (s->kind == RES_MAILBOX && (size_t)e < d->n_mailboxes && !d->mailboxes[e].name[0])
			snprintf(d->mailboxes[e].name, sizeof d->mailboxes[e].name, "%s", name);
		s->entity_name = keep_string(m, name);
		s->figure = keep_string(m, store__col_text(ld->st, 4));
		s->unit = keep_string(m, store__col_text(ld->st, 5));
		if (!s->entity_name || !s->figure || !s->unit)
			return -2;
		figure_of(s->figure, &s->what, &s->idx);
		s->mean = store__col_real(ld->st, 6);
		s->half = store__col_real(ld->st, 7);
		s->n = sqlite3_column_int64(ld->st, 8);
		l->n_summaries++;
	}
	if (ld_done(ld, rc))
		return -1;
	if (l->n_summaries > 1)
		qsort(l->summaries, l->n_summaries, sizeof *l->summaries, summary_cmp);
	return 0;
}

/* Every replication's figures, and its counts by reply class. */
static int load_figures(loader *ld, loaded_mem *m)
{
	int rc;
	if (ld_prepare(ld, "SELECT variant_idx, replication, entity_kind, entity_idx, figure, value"
	               " FROM figures WHERE run_id = ?1", "reading figures"))
		return -1;
	int last_fig = 0;
	while ((rc = sqlite3_step(ld->st)) == SQLITE_ROW) {
		res_entity *ent = row_entity(ld->st, m);
		if (ent == NULL)
			return ld_damaged(ld, "a figure of variant %lld, replication %lld, for no known entity",
			                  sqlite3_column_int64(ld->st, 0), sqlite3_column_int64(ld->st, 1));
		/* Rows come in figure-name order within an entity: try the
		 * previous match's neighbour first. */
		if (!num_ok(ld->st, 5))
			return ld_damaged(ld, "a figure of variant %lld, replication %lld that is not a finite number",
			                  sqlite3_column_int64(ld->st, 0), sqlite3_column_int64(ld->st, 1));
		const char *name = store__col_text(ld->st, 4);
		int f = -1;
		for (int j = 0; j < FIG_COUNT && f < 0; j++) {
			int c = (last_fig + j) % FIG_COUNT;
			if (strcmp(res_fig_info[c].name, name) == 0)
				f = c;
		}
		if (f < 0)
			continue; /* a figure of another version: kept in the file, not shown */
		last_fig = f;
		ent->fig[f] = store__col_real(ld->st, 5);
	}
	if (ld_done(ld, rc))
		return -1;
	if (ld_types(ld, "rejections", T_INT("variant_idx") " AND " T_INT("replication") " AND "
	             T_TEXT("entity_kind") " AND " T_INT("entity_idx") " AND " T_TEXT("reply_class") " AND "
	             T_INT("count") " AND " T_INT("lost")))
		return -1;
	if (ld_prepare(ld, "SELECT variant_idx, replication, entity_kind, entity_idx, reply_class, count, lost"
	               " FROM rejections WHERE run_id = ?1", "reading rejections"))
		return -1;
	while ((rc = sqlite3_step(ld->st)) == SQLITE_ROW) {
		res_entity *ent = row_entity(ld->st, m);
		if (ent == NULL)
			return ld_damaged(ld, "rejections of variant %lld, replication %lld, for no known entity",
			                  sqlite3_column_int64(ld->st, 0), sqlite3_column_int64(ld->st, 1));
		if (!store__int_ok(ld->st, 5, 0, INT64_MAX) || !store__int_ok(ld->st, 6, 0, INT64_MAX))
			return ld_damaged(ld, "rejections of variant %lld, replication %lld: a negative count",
			                  sqlite3_column_int64(ld->st, 0), sqlite3_column_int64(ld->st, 1));
		int c = reply_class_of(store__col_text(ld->st, 4));
		if (c < 0)
			continue;
		ent->rejected_by[c] = (uint64_t)sqlite3_column_int64(ld->st, 5);
		ent->lost_by[c] = (uint64_t)sqlite3_column_int64(ld->st, 6);
	}
	return ld_done(ld, rc);
}

/* Every replication's delay-distribution points (none in a file from
 * before the table delay_cdf: l->has_delay_cdf false). */
static int load_cdf(loader *ld, loaded_mem *m, store_loaded *l)
{
	int rc = has_table(ld, "delay_cdf");
	if (rc <= 0)
		return rc;
	l->has_delay_cdf = true;
	if (ld_types(ld, "delay_cdf", T_INT("variant_idx") " AND " T_INT("replication") " AND " T_TEXT("kind")
	             " AND " T_INT("q") " AND " T_NUM_NULL("value_s")))
		return -1;
	if (ld_prepare(ld, "SELECT variant_idx, replication, kind, q, value_s FROM delay_cdf"
	               " WHERE run_id = ?1", "reading delay distributions"))
		return -1;
	while ((rc = sqlite3_step(ld->st)) == SQLITE_ROW) {
		sqlite3_stmt *st = ld->st;
		res_rep *r = find_rep(m, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1));
		int64_t q = sqlite3_column_int64(st, 3);
		const char *kind = store__col_text(st, 2);
		if (r == NULL || q < 0 || q >= RES_CDF_POINTS || !num_ok(st, 4) ||
		    (strcmp(kind, "submission") != 0 && strcmp(kind, "delivery") != 0))
			return ld_damaged(ld, "a delay point of variant %lld, replication %lld",
			                  sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1));
		(kind[0] == 's' ? r->submission_cdf : r->delivery_cdf)[q] = store__col_real(st, 4);
	}
	return ld_done(ld, rc);
}

/* The series' columns of reply counts, in catalog order: rejected_<id>
 * where the file has it, else 0 (a class this file's version lacked);
 * then lost (0 in a file without it).  Of the replications' own rows, or
 * of the variants' mean rows (replication -1). */
static int series_query(loader *ld, char *sql, size_t size, bool mean)
{
	int n = snprintf(sql, size, "SELECT variant_idx, replication, step, accepted, released, backlog,"
	                 " open_sessions, throttled, t_s");
	for (int c = 0; c < RC_COUNT && n > 0 && (size_t)n < size; c++) {
		char q[160];
		int64_t has = 0;
		snprintf(q, sizeof q, "SELECT count(*) FROM pragma_table_info('series') WHERE name = 'rejected_%s'",
		         rpl_info[c].id);
		ld->what = "reading the schema";
		if (store__query_int(ld->db, q, &has) != SQLITE_OK)
			return -1;
		n += has ? snprintf(sql + n, size - (size_t)n, ", rejected_%s", rpl_info[c].id)
		         : snprintf(sql + n, size - (size_t)n, ", 0");
	}
	if (n > 0 && (size_t)n < size)
		n += snprintf(sql + n, size - (size_t)n, ", %s FROM series WHERE run_id = ?1 AND replication %s"
		              " ORDER BY variant_idx, replication, step", ld->series_lost ? "lost" : "0",
		              mean ? "= -1" : ">= 0");
	return n > 0 && (size_t)n < size ? 0 : -1;
}

/* Whether the series table has the column lost (ld->series_lost). */
static int has_series_lost(loader *ld)
{
	int64_t have = 0;
	ld->what = "reading the schema";
	if (store__query_int(ld->db, "SELECT count(*) FROM pragma_table_info('series') WHERE name = 'lost'",
	                     &have) != SQLITE_OK)
		return -1;
	ld->series_lost = have != 0;
	return 0;
}

/* Every replication's time series; steps must run 0, 1, ... */
static int load_series(loader *ld, loaded_mem *m)
{
	int rc;
	if (ld_types(ld, "series", T_INT("variant_idx") " AND " T_INT("replication") " AND " T_INT("step")
	             " AND " T_NUM("t_s")))
		return -1;
	if (ld_prepare(ld, "SELECT variant_idx, replication, count(*), max(step), min(step),"
	               " count(DISTINCT step) FROM series WHERE run_id = ?1 AND replication >= 0 GROUP BY 1, 2",
	               "reading the time series"))
		return -1;
	while ((rc = sqlite3_step(ld->st)) == SQLITE_ROW) {
		res_rep *r = find_rep(m, sqlite3_column_int64(ld->st, 0), sqlite3_column_int64(ld->st, 1));
		int64_t n = sqlite3_column_int64(ld->st, 2);
		if (r == NULL || r->series != NULL || n <= 0 || n > (INT64_C(1) << 32) ||
		    sqlite3_column_int64(ld->st, 3) != n - 1 || sqlite3_column_int64(ld->st, 4) != 0 ||
		    sqlite3_column_int64(ld->st, 5) != n)
			return ld_damaged(ld, "the time series of variant %lld, replication %lld",
			                  sqlite3_column_int64(ld->st, 0), sqlite3_column_int64(ld->st, 1));
		if ((r->series = calloc((size_t)n, sizeof *r->series)) == NULL)
			return -2;
		r->n_series = (size_t)n;
	}
	if (ld_done(ld, rc))
		return -1;
	char sql[2048];
	if (series_query(ld, sql, sizeof sql, false) || ld_prepare(ld, sql, "reading the time series"))
		return -1;
	while ((rc = sqlite3_step(ld->st)) == SQLITE_ROW) {
		sqlite3_stmt *st = ld->st;
		res_rep *r = find_rep(m, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1));
		int64_t i = sqlite3_column_int64(st, 2);
		if (r == NULL || i < 0 || (size_t)i >= r->n_series)
			return ld_damaged(ld, "a time-series row of variant %lld, replication %lld",
			                  sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1));
		bool ok = num_ok(st, 8);
		for (int c = 3; c < 10 + RC_COUNT && ok; c++)
			ok = c == 8 || store__int_ok(st, c, 0, UINT32_MAX);
		if (!ok)
			return ld_damaged(ld, "a time-series row of variant %lld, replication %lld: a count of the wrong"
			                  " type or out of range", sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1));
		res_series_row *row = &r->series[i];
		row->accepted = (uint32_t)sqlite3_column_int64(st, 3);
		row->released = (uint32_t)sqlite3_column_int64(st, 4);
		row->outbox_backlog = (uint32_t)sqlite3_column_int64(st, 5);
		row->open_sessions = (uint32_t)sqlite3_column_int64(st, 6);
		row->throttled_mailboxes = (uint32_t)sqlite3_column_int64(st, 7);
		for (int c = 0; c < RC_COUNT; c++)
			row->rejected_by[c] = (uint32_t)sqlite3_column_int64(st, 9 + c);
		row->lost = (uint32_t)sqlite3_column_int64(st, 9 + RC_COUNT);
		/* schema-1 files do not store the step: the time of step 1 */
		if (i == 1 && r->series_step_ns <= 0) {
			double t = sqlite3_column_double(st, 8);
			if (!(t >= 0 && t <= 3.2e9)) /* 100 years */
				return ld_damaged(ld, "the time series of variant %lld, replication %lld: a bad step",
				                  sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1));
			r->series_step_ns = (int64_t)llround(t * 1e9);
		}
	}
	return ld_done(ld, rc);
}

/* A variant's mean series from its replications' own rows (a run stored
 * with --keep-series, or before mean rows were stored). */
static int mean_of_reps(loaded_mem *m, size_t v)
{
	store_series *s = &m->series[v];
	const rpt_variant *rv = &m->variants[v];
	for (size_t r = 0; r < rv->n_reps; r++)
		if (m->reps[v][r].n_series > s->n) {
			s->n = m->reps[v][r].n_series;
			s->step_ns = m->reps[v][r].series_step_ns;
		}
	if (s->n == 0)
		return 0;
	if ((s->rows = calloc(s->n, sizeof *s->rows)) == NULL)
		return -2;
	s->n_reps = (int64_t)rv->n_reps;
	double k = (double)rv->n_reps;
	for (size_t r = 0; r < rv->n_reps; r++) {
		const res_rep *rep = &m->reps[v][r];
		for (size_t i = 0; i < rep->n_series; i++) {
			const res_series_row *a = &rep->series[i];
			store_series_row *o = &s->rows[i];
			o->accepted += a->accepted / k;
			o->released += a->released / k;
			o->lost += a->lost / k;
			o->backlog += a->outbox_backlog / k;
			o->open_sessions += a->open_sessions / k;
			o->throttled += a->throttled_mailboxes / k;
			for (int c = 0; c < RC_COUNT; c++)
				o->rejected_by[c] += a->rejected_by[c] / k;
		}
	}
	return 0;
}

/* Variant v without a stored mean series: the mean of its replications'
 * series, if kept; with neither but a length, every step was 0 (the
 * writer leaves such steps out): a series of zeros, not a missing one. */
static int complete_series(loaded_mem *m, size_t v)
{
	if (m->series[v].rows != NULL)
		return 0;
	size_t length = m->series[v].n;
	m->series[v].n = 0;
	int rc = mean_of_reps(m, v);
	if (rc != 0)
		return rc;
	if (m->series[v].rows == NULL && length > 0) {
		if ((m->series[v].rows = calloc(length, sizeof *m->series[v].rows)) == NULL)
			return -2;
		m->series[v].n = length;
		m->series[v].step_ns = m->step_ns[v];
		m->series[v].n_reps = (int64_t)m->variants[v].n_reps;
	}
	return 0;
}

/* Each variant's mean series: its mean rows (replication -1; steps not
 * stored are 0, up to the variant's length), else the mean of its
 * replications' rows. */
static int load_mean_series(loader *ld, loaded_mem *m, store_loaded *l)
{
	if ((m->series = calloc(m->n_variants ? m->n_variants : 1, sizeof *m->series)) == NULL)
		return -2;
	l->series = m->series;
	for (size_t v = 0; v < m->n_variants; v++) {
		const res_desc *d = &m->desc[v];
		int64_t step = m->step_ns[v];
		m->series[v].has_lost = ld->series_lost;
		if (step > 0 && d->duration_ns > 0) {
			m->series[v].step_ns = step;
			m->series[v].n = (size_t)((d->duration_ns + step - 1) / step);
		}
	}
	int rc;
	/* A file whose variants do not say their length and step (schema
	 * 1): the rows stored say how far they go (t_s = step x step_s). */
	if (ld_prepare(ld, "SELECT variant_idx, max(step), max(t_s / step) FROM series"
	               " WHERE run_id = ?1 AND replication = -1 AND step > 0 GROUP BY 1",
	               "reading the mean time series"))
		return -1;
	while ((rc = sqlite3_step(ld->st)) == SQLITE_ROW) {
		int64_t v = sqlite3_column_int64(ld->st, 0), last = sqlite3_column_int64(ld->st, 1);
		double step_s = sqlite3_column_double(ld->st, 2);
		if (v < 0 || (size_t)v >= m->n_variants || m->series[v].n != 0)
			continue;
		if (last < 0 || last >= (INT64_C(1) << 32) || !(step_s > 0 && step_s <= 3.2e9))
			return ld_damaged(ld, "the mean time series of variant %lld, step %lld", (long long)v,
			                  (long long)last);
		m->series[v].n = (size_t)last + 1;
		m->series[v].step_ns = (int64_t)llround(step_s * 1e9);
	}
	if (ld_done(ld, rc))
		return -1;
	char sql[2048];
	if (series_query(ld, sql, sizeof sql, true) || ld_prepare(ld, sql, "reading the mean time series"))
		return -1;
	while ((rc = sqlite3_step(ld->st)) == SQLITE_ROW) {
		sqlite3_stmt *st = ld->st;
		int64_t v = sqlite3_column_int64(st, 0), i = sqlite3_column_int64(st, 2);
		store_series *s = v >= 0 && (size_t)v < m->n_variants ? &m->series[v] : NULL;
		bool ok = s != NULL && i >= 0 && (size_t)i < s->n;
		for (int c = 3; c < 10 + RC_COUNT && ok; c++)
			ok = num_ok(st, c) && sqlite3_column_double(st, c) >= 0;
		if (!ok)
			return ld_damaged(ld, "a mean time-series row of variant %lld, step %lld", (long long)v,
			                  (long long)i);
		if (s->rows == NULL) {
			if ((s->rows = calloc(s->n, sizeof *s->rows)) == NULL)
				return -2;
			s->n_reps = (int64_t)m->variants[v].n_reps;
		}
		store_series_row *o = &s->rows[i];
		o->accepted = sqlite3_column_double(st, 3);
		o->released = sqlite3_column_double(st, 4);
		o->backlog = sqlite3_column_double(st, 5);
		o->open_sessions = sqlite3_column_double(st, 6);
		o->throttled = sqlite3_column_double(st, 7);
		for (int c = 0; c < RC_COUNT; c++)
			o->rejected_by[c] = sqlite3_column_double(st, 9 + c);
		o->lost = sqlite3_column_double(st, 9 + RC_COUNT);
	}
	if (ld_done(ld, rc))
		return -1;
	for (size_t v = 0; v < m->n_variants; v++)
		if ((rc = complete_series(m, v)) != 0)
			return rc;
	return 0;
}

/* ---- schema 3: the packed layout (formats in store_write.c) ------------------------------- */

/* The run's dictionary: what the blobs' figure and class numbers are in
 * this program (-1: unknown to it), and their names (owned by m). */
typedef struct dict {
	size_t n_fig, n_cls;
	int *fig, *cls;
	const char **fig_name, **fig_unit, **cls_name;
} dict;

static void dict_free(dict *d)
{
	free(d->fig);
	free(d->cls);
	free(d->fig_name);
	free(d->fig_unit);
	free(d->cls_name);
}

/* Bounds on a dictionary: the catalogs are far smaller. */
#define STORE_MAX_NAMES 4096

static int load_names(loader *ld, loaded_mem *m, dict *d)
{
	int rc;
	if (ld_types(ld, "names", T_TEXT("kind") " AND " T_INT("id") " AND " T_TEXT("name") " AND "
	             T_TEXT_NULL("unit")))
		return -1;
	if (ld_prepare(ld, "SELECT kind = 'figure', count(*), min(id), max(id), count(DISTINCT id) FROM names"
	               " WHERE run_id = ?1 AND kind IN ('figure', 'reply_class') GROUP BY 1",
	               "reading the names of figures"))
		return -1;
	while ((rc = sqlite3_step(ld->st)) == SQLITE_ROW) {
		int64_t n = sqlite3_column_int64(ld->st, 1);
		if (n > STORE_MAX_NAMES || sqlite3_column_int64(ld->st, 2) != 0 ||
		    sqlite3_column_int64(ld->st, 3) != n - 1 || sqlite3_column_int64(ld->st, 4) != n)
			return ld_damaged(ld, "names of figures (1) or reply classes (0), %lld: not numbered 0 to %lld",
			                  sqlite3_column_int64(ld->st, 0), n - 1);
		*(sqlite3_column_int64(ld->st, 0) ? &d->n_fig : &d->n_cls) = (size_t)n;
	}
	if (ld_done(ld, rc))
		return -1;
	d->fig = calloc(d->n_fig + 1, sizeof *d->fig);
	d->cls = calloc(d->n_cls + 1, sizeof *d->cls);
	d->fig_name = calloc(d->n_fig + 1, sizeof *d->fig_name);
	d->fig_unit = calloc(d->n_fig + 1, sizeof *d->fig_unit);
	d->cls_name = calloc(d->n_cls + 1, sizeof *d->cls_name);
	if (!d->fig || !d->cls || !d->fig_name || !d->fig_unit || !d->cls_name)
		return -2;
	if (ld_prepare(ld, "SELECT kind = 'figure', id, name, unit FROM names WHERE run_id = ?1"
	               " AND kind IN ('figure', 'reply_class')", "reading the names of figures"))
		return -1;
	while ((rc = sqlite3_step(ld->st)) == SQLITE_ROW) {
		sqlite3_stmt *st = ld->st;
		bool fig = sqlite3_column_int64(st, 0) != 0;
		int64_t id = sqlite3_column_int64(st, 1);
		if (id < 0 || (size_t)id >= (fig ? d->n_fig : d->n_cls) || !store__text_ok(st, 2, 96, false) ||
		    !store__text_ok(st, 3, 32, true))
			return ld_damaged(ld, "the name of figure (1) or reply class (0) %lld, number %lld", fig ? 1LL : 0LL,
			                  (long long)id);
		const char *name = keep_string(m, store__col_text(st, 2));
		const char *unit = keep_string(m, store__col_text(st, 3));
		if (name == NULL || unit == NULL)
			return -2;
		if (fig) {
			res_what what;
			int idx;
			figure_of(name, &what, &idx);
			d->fig[id] = what == RES_FIG ? idx : -1;
			d->fig_name[id] = name;
			d->fig_unit[id] = unit;
		} else {
			d->cls[id] = reply_class_of(name);
			d->cls_name[id] = name;
		}
	}
	return ld_done(ld, rc);
}

/* Each variant's entity counts, from the head of its summaries; every
 * variant has one row, every replication one (each with figures long
 * enough for its entities: what is allocated is bounded by the file). */
static int count_packed(loader *ld, loaded_mem *m, const dict *d, int64_t nv, size_t (*count)[2])
{
	int rc;
	if (ld_types(ld, "variant_data", T_INT("variant_idx") " AND typeof(summaries) = 'blob' AND"
	             " typeof(series) IN ('blob', 'null')") ||
	    ld_types(ld, "replication_data", T_INT("variant_idx") " AND " T_INT("replication") " AND"
	             " typeof(figures) = 'blob' AND typeof(delay_cdf) = 'blob' AND typeof(series) IN ('blob', 'null')"))
		return -1;
	if (ld_prepare(ld, "SELECT variant_idx, summaries FROM variant_data WHERE run_id = ?1 ORDER BY variant_idx",
	               "reading summaries"))
		return -1;
	int64_t i = 0;
	while ((rc = sqlite3_step(ld->st)) == SQLITE_ROW) {
		store__cur c = { sqlite3_column_blob(ld->st, 1), (size_t)sqlite3_column_bytes(ld->st, 1), 0, false };
		uint64_t ng = store__get_count(&c, SCN_MAX_INSTANCES), nm = store__get_count(&c, SCN_MAX_MAILBOXES);
		/* each entity's summaries take 3 bytes a figure and 1 more */
		if (sqlite3_column_int64(ld->st, 0) != i || i >= nv || c.bad ||
		    (1 + ng + nm) * (3 * d->n_fig + 1) > c.n)
			return ld_damaged(ld, "the summaries of variant %lld (%lld entities)", (long long)i,
			                  (long long)(1 + ng + nm));
		count[i][0] = (size_t)ng;
		count[i][1] = (size_t)nm;
		i++;
	}
	if (ld_done(ld, rc))
		return -1;
	if (i != nv)
		return ld_damaged(ld, "summaries of %lld variants of %lld", (long long)i, (long long)nv);
	if (ld_prepare(ld, "SELECT variant_idx, count(*), min(length(figures)) FROM replication_data"
	               " WHERE run_id = ?1 GROUP BY 1", "counting the replications' results"))
		return -1;
	int64_t seen = 0;
	while ((rc = sqlite3_step(ld->st)) == SQLITE_ROW) {
		int64_t v = sqlite3_column_int64(ld->st, 0);
		if (v < 0 || v >= nv || (size_t)sqlite3_column_int64(ld->st, 1) != m->variants[v].n_reps ||
		    (uint64_t)sqlite3_column_int64(ld->st, 2) < (1 + count[v][0] + count[v][1]) * (d->n_fig + 1))
			return ld_damaged(ld, "variant %lld: results missing for some of its replications", (long long)v, 0);
		seen++;
	}
	if (ld_done(ld, rc))
		return -1;
	return seen == nv ? 0 : ld_damaged(ld, "results of %lld variants of %lld", (long long)seen, (long long)nv);
}

/* Entity i of variant v in the order total, groups, mailboxes. */
static res_entity_kind packed_entity(const res_desc *desc, size_t i, size_t *e)
{
	size_t ng = desc->n_groups;
	*e = i == 0 ? 0 : i <= ng ? i - 1 : i - 1 - ng;
	return i == 0 ? RES_TOTAL : i <= ng ? RES_GROUP : RES_MAILBOX;
}

static int add_summary(store_loaded *l, size_t *cap, const store_summary *s)
{
	if (l->n_summaries == *cap) {
		size_t n = *cap ? 2 * *cap : 1024;
		store_summary *p = realloc(l->summaries, n * sizeof *p);
		if (p == NULL)
			return -2;
		l->summaries = p;
		*cap = n;
	}
	if (s->entity_name == NULL || s->figure == NULL || s->unit == NULL)
		return -2;
	l->summaries[l->n_summaries++] = *s;
	return 0;
}

/* Decodes a packed series (n_steps, rows) into steps[0 .. *n): each
 * row's columns go through put(ctx, step, columns).  max_steps bounds
 * the steps, max_count every count.  0, or -1 when damaged. */
typedef struct series_sink {
	const dict *d;
	uint64_t max_count;
	size_t max_steps;
} series_sink;

static int decode_series(store__cur *c, const series_sink *k, size_t *n, void *rows, bool mean, double reps)
{
	uint64_t steps = store__get_count(c, k->max_steps), nrows = store__get_count(c, steps);
	if (c->bad)
		return -1;
	*n = (size_t)steps;
	uint64_t at = 0;
	for (uint64_t j = 0; j < nrows && !c->bad; j++) {
		uint64_t gap = store__get_count(c, steps);
		at = j == 0 ? gap : at + 1 + gap;
		if (at >= steps) {
			c->bad = true;
			break;
		}
		uint64_t col[6];
		for (int q = 0; q < 6; q++)
			col[q] = store__get_count(c, k->max_count);
		if (mean) {
			store_series_row *o = &((store_series_row *)rows)[at];
			o->accepted = (double)col[0] / reps;
			o->released = (double)col[1] / reps;
			o->lost = (double)col[2] / reps;
			o->backlog = (double)col[3] / reps;
			o->open_sessions = (double)col[4] / reps;
			o->throttled = (double)col[5] / reps;
		} else {
			res_series_row *o = &((res_series_row *)rows)[at];
			o->accepted = (uint32_t)col[0];
			o->released = (uint32_t)col[1];
			o->lost = (uint32_t)col[2];
			o->outbox_backlog = (uint32_t)col[3];
			o->open_sessions = (uint32_t)col[4];
			o->throttled_mailboxes = (uint32_t)col[5];
		}
		for (size_t q = 0; q < k->d->n_cls; q++) {
			uint64_t x = store__get_count(c, k->max_count);
			int cl = k->d->cls[q];
			if (cl < 0)
				continue;
			if (mean)
				((store_series_row *)rows)[at].rejected_by[cl] = (double)x / reps;
			else
				((res_series_row *)rows)[at].rejected_by[cl] = (uint32_t)x;
		}
	}
	return c->bad ? -1 : 0;
}

/* The most steps a variant's series can have: its length over its step
 * (the writer's ceil), or, for a variant that does not say, 2^20. */
static size_t max_steps(const loaded_mem *m, size_t v)
{
	int64_t step = m->step_ns[v], dur = m->desc[v].duration_ns;
	if (step > 0 && dur > 0)
		return (size_t)((dur + step - 1) / step);
	return (size_t)1 << 20;
}

/* Summaries and mean series of every variant. */
static int load_variant_data(loader *ld, loaded_mem *m, store_loaded *l, const dict *d)
{
	int rc;
	size_t cap = 0;
	if ((m->series = calloc(m->n_variants ? m->n_variants : 1, sizeof *m->series)) == NULL)
		return -2;
	l->series = m->series;
	if (ld_prepare(ld, "SELECT variant_idx, summaries, series FROM variant_data WHERE run_id = ?1"
	               " ORDER BY variant_idx", "reading summaries"))
		return -1;
	size_t v = 0;
	while ((rc = sqlite3_step(ld->st)) == SQLITE_ROW && v < m->n_variants) {
		const res_desc *desc = &m->desc[v];
		uint64_t reps = m->variants[v].n_reps;
		store__cur c = { sqlite3_column_blob(ld->st, 1), (size_t)sqlite3_column_bytes(ld->st, 1), 0, false };
		store__get_uint(&c);
		store__get_uint(&c);
		for (size_t i = 0; i < 1 + desc->n_groups + desc->n_mailboxes && !c.bad; i++) {
			size_t e;
			res_entity_kind kind = packed_entity(desc, i, &e);
			char name[SCN_NAME_MAX + 8];
			rpt_entity_name(desc, (int)kind, e, name, sizeof name);
			const char *ename = keep_string(m, name);
			for (size_t f = 0; f < d->n_fig && !c.bad; f++) {
				store_summary s = { .variant = v, .kind = kind, .entity = e, .entity_name = ename,
				                    .figure = d->fig_name[f], .unit = d->fig_unit[f] };
				s.mean = store__get_value(&c);
				s.half = store__get_value(&c);
				s.n = (int64_t)store__get_count(&c, reps);
				figure_of(s.figure, &s.what, &s.idx);
				if (!c.bad && (rc = add_summary(l, &cap, &s)) != 0)
					return rc;
			}
			uint64_t k = store__get_count(&c, 2 * d->n_cls), last = 0;
			for (uint64_t j = 0; j < k && !c.bad; j++) {
				uint64_t code = store__get_count(&c, 2 * d->n_cls - 1);
				if (j > 0 && code <= last)
					c.bad = true;
				last = code;
				bool lost = code >= d->n_cls;
				char fig[160];
				snprintf(fig, sizeof fig, "%s.%s", lost ? "lost_by" : "rejected_by",
				         c.bad ? "" : d->cls_name[code - (lost ? d->n_cls : 0)]);
				store_summary s = { .variant = v, .kind = kind, .entity = e, .entity_name = ename,
				                    .figure = keep_string(m, fig), .unit = lost ? "msgs" : "count" };
				s.unit = keep_string(m, s.unit);
				s.mean = store__get_value(&c);
				s.half = store__get_value(&c);
				s.n = (int64_t)store__get_count(&c, reps);
				if (c.bad)
					break;
				figure_of(s.figure, &s.what, &s.idx);
				if ((rc = add_summary(l, &cap, &s)) != 0)
					return rc;
			}
		}
		if (!store__cur_done(&c))
			return ld_damaged(ld, "the summaries of variant %lld", (long long)v, 0);
		/* the mean series: the variant's length, as schema 2's reader */
		store_series *s = &m->series[v];
		s->has_lost = true;
		if (m->step_ns[v] > 0 && desc->duration_ns > 0) {
			s->step_ns = m->step_ns[v];
			s->n = (size_t)((desc->duration_ns + s->step_ns - 1) / s->step_ns);
		}
		if (sqlite3_column_type(ld->st, 2) == SQLITE_BLOB) {
			store__cur sc = { sqlite3_column_blob(ld->st, 2), (size_t)sqlite3_column_bytes(ld->st, 2), 0, false };
			series_sink sink = { d, reps * UINT32_MAX, max_steps(m, v) };
			/* a first pass for the length (a variant that does not say) */
			store__cur peek = sc;
			uint64_t steps = store__get_count(&peek, sink.max_steps);
			if (s->n == 0 && !peek.bad) {
				s->n = (size_t)steps;
				s->step_ns = m->step_ns[v];
			}
			if (steps > s->n)
				return ld_damaged(ld, "the mean time series of variant %lld, %lld steps", (long long)v,
				                  (long long)steps);
			if (s->n > 0 && (s->rows = calloc(s->n, sizeof *s->rows)) == NULL)
				return -2;
			s->n_reps = (int64_t)reps;
			size_t n;
			if (decode_series(&sc, &sink, &n, s->rows, true, (double)reps) != 0 || !store__cur_done(&sc))
				return ld_damaged(ld, "the mean time series of variant %lld", (long long)v, 0);
		}
		v++;
	}
	if (ld_done(ld, rc == SQLITE_ROW ? SQLITE_DONE : rc))
		return -1;
	if (l->n_summaries > 1)
		qsort(l->summaries, l->n_summaries, sizeof *l->summaries, summary_cmp);
	return 0;
}

/* Every replication's figures, counts by class, delay points and (run
 * --keep-series) series. */
static int read_replication_data(loader *ld, loaded_mem *m, const dict *d, bool *seen);

static int load_replication_data(loader *ld, loaded_mem *m, const dict *d)
{
	int rc;
	size_t total = 0;
	for (size_t v = 0; v < m->n_variants; v++)
		total += m->variants[v].n_reps;
	bool *seen = calloc(total ? total : 1, sizeof *seen);
	if (seen == NULL)
		return -2;
	rc = read_replication_data(ld, m, d, seen);
	free(seen);
	return rc;
}

/* load_replication_data's loop; seen[] marks the replications read (the
 * variants' in turn). */
static int read_replication_data(loader *ld, loaded_mem *m, const dict *d, bool *seen)
{
	int rc;
	if (ld_prepare(ld, "SELECT variant_idx, replication, figures, delay_cdf, series FROM replication_data"
	               " WHERE run_id = ?1", "reading the replications' results"))
		return -1;
	while ((rc = sqlite3_step(ld->st)) == SQLITE_ROW) {
		sqlite3_stmt *st = ld->st;
		int64_t vi = sqlite3_column_int64(st, 0), ri = sqlite3_column_int64(st, 1);
		res_rep *r = find_rep(m, vi, ri);
		size_t at = 0;
		for (int64_t v = 0; r != NULL && v < vi; v++)
			at += m->variants[v].n_reps;
		at += r ? (size_t)(r - m->reps[vi]) : 0;
		/* each replication once */
		if (r == NULL || seen[at])
			return ld_damaged(ld, "the results of variant %lld, replication %lld", (long long)vi, (long long)ri);
		seen[at] = true;
		const res_desc *desc = &m->desc[vi];
		store__cur c = { sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2), 0, false };
		for (size_t i = 0; i < 1 + desc->n_groups + desc->n_mailboxes && !c.bad; i++) {
			size_t e;
			res_entity_kind kind = packed_entity(desc, i, &e);
			res_entity *ent = find_entity(r, kind, (int64_t)e);
			for (size_t f = 0; f < d->n_fig; f++) {
				double x = store__get_value(&c);
				if (d->fig[f] >= 0)
					ent->fig[d->fig[f]] = x;
			}
			uint64_t k = store__get_count(&c, d->n_cls), last = 0;
			for (uint64_t j = 0; j < k && !c.bad; j++) {
				uint64_t cl = store__get_count(&c, d->n_cls - 1);
				uint64_t rej = store__get_count(&c, INT64_MAX), lost = store__get_count(&c, INT64_MAX);
				if (j > 0 && cl <= last)
					c.bad = true;
				last = cl;
				if (!c.bad && d->cls[cl] >= 0) {
					ent->rejected_by[d->cls[cl]] = rej;
					ent->lost_by[d->cls[cl]] = lost;
				}
			}
		}
		if (!store__cur_done(&c))
			return ld_damaged(ld, "the figures of variant %lld, replication %lld", (long long)vi, (long long)ri);
		c = (store__cur){ sqlite3_column_blob(st, 3), (size_t)sqlite3_column_bytes(st, 3), 0, false };
		if (store__get_uint(&c) != RES_CDF_POINTS)
			c.bad = true;
		for (int q = 0; q < RES_CDF_POINTS; q++)
			r->submission_cdf[q] = store__get_value(&c);
		for (int q = 0; q < RES_CDF_POINTS; q++)
			r->delivery_cdf[q] = store__get_value(&c);
		if (!store__cur_done(&c))
			return ld_damaged(ld, "the delay points of variant %lld, replication %lld", (long long)vi,
			                  (long long)ri);
		if (sqlite3_column_type(st, 4) == SQLITE_BLOB) {
			c = (store__cur){ sqlite3_column_blob(st, 4), (size_t)sqlite3_column_bytes(st, 4), 0, false };
			series_sink sink = { d, UINT32_MAX, max_steps(m, (size_t)vi) };
			store__cur peek = c;
			uint64_t steps = store__get_count(&peek, sink.max_steps);
			if (!peek.bad && steps > 0 && (r->series = calloc((size_t)steps, sizeof *r->series)) == NULL)
				return -2;
			size_t n = 0;
			if (decode_series(&c, &sink, &n, r->series, false, 1) != 0 || !store__cur_done(&c))
				return ld_damaged(ld, "the time series of variant %lld, replication %lld", (long long)vi,
				                  (long long)ri);
			r->n_series = n;
		}
	}
	return ld_done(ld, rc);
}

/* Does this run have packed results (schema 3)?  -1: error. */
static int is_packed(loader *ld)
{
	return run_has_rows(ld, "variant_data", "reading summaries");
}

/* The run's entity rows describe exactly the entities its summaries
 * count: each kind of each variant numbered 0 .. n - 1, once each. */
static int check_packed_entities(loader *ld, loaded_mem *m)
{
	int rc;
	if (ld_types(ld, "entities", T_INT("variant_idx") " AND " T_TEXT("entity_kind") " AND " T_INT("entity_idx")))
		return -1;
	if (ld_prepare(ld, "SELECT variant_idx, entity_kind, count(*), count(DISTINCT entity_idx), min(entity_idx),"
	               " max(entity_idx) FROM entities WHERE run_id = ?1 GROUP BY 1, 2", "checking entities"))
		return -1;
	size_t kinds = 0, want = 0;
	for (size_t v = 0; v < m->n_variants; v++)
		want += (m->desc[v].n_groups > 0) + (m->desc[v].n_mailboxes > 0);
	while ((rc = sqlite3_step(ld->st)) == SQLITE_ROW) {
		sqlite3_stmt *st = ld->st;
		int64_t v = sqlite3_column_int64(st, 0), n = sqlite3_column_int64(st, 2);
		res_entity_kind k;
		if (v < 0 || (size_t)v >= m->n_variants || kind_of(store__col_text(st, 1), &k) != 0 || k == RES_TOTAL ||
		    (size_t)n != (k == RES_GROUP ? m->desc[v].n_groups : m->desc[v].n_mailboxes) ||
		    sqlite3_column_int64(st, 3) != n || sqlite3_column_int64(st, 4) != 0 ||
		    sqlite3_column_int64(st, 5) != n - 1)
			return ld_damaged(ld, "entities of variant %lld: not numbered 0 to %lld", (long long)v,
			                  (long long)n - 1);
		kinds++;
	}
	if (ld_done(ld, rc))
		return -1;
	return kinds == want ? 0 : ld_damaged(ld, "entities missing (%lld kinds of %lld)", (long long)kinds,
	                                       (long long)want);
}

/* A run of schema 3, after its variants and replications. */
static int load_packed(loader *ld, loaded_mem *m, store_loaded *l, int64_t nv)
{
	dict d = { 0 };
	int rc, v2;
	size_t (*count)[2] = calloc(m->n_variants, sizeof *count);
	if (count == NULL)
		return -2;
	if ((rc = load_names(ld, m, &d)) == 0 && (rc = count_packed(ld, m, &d, nv, count)) == 0)
		rc = make_entities(m, count);
	free(count);
	if (rc == 0 && (v2 = has_entities(ld)) < 0)
		rc = -1;
	if (rc == 0 && v2)
		rc = check_packed_entities(ld, m);
	if (rc == 0 && v2)
		rc = load_entities(ld, m);
	if (rc == 0 && (v2 = has_table(ld, "replies")) < 0)
		rc = -1;
	if (rc == 0 && v2)
		rc = load_replies(ld, m);
	/* without entity rows (a run written without a description), the
	 * names the writers give: g0, m0, ... */
	for (size_t v = 0; v < m->n_variants && rc == 0; v++) {
		res_desc *desc = &m->desc[v];
		for (size_t g = 0; g < desc->n_groups; g++)
			if (!desc->groups[g].name[0])
				snprintf(desc->groups[g].name, sizeof desc->groups[g].name, "g%zu", g);
		for (size_t k = 0; k < desc->n_mailboxes; k++)
			if (!desc->mailboxes[k].name[0])
				snprintf(desc->mailboxes[k].name, sizeof desc->mailboxes[k].name, "m%zu", k);
	}
	if (rc == 0)
		rc = load_variant_data(ld, m, l, &d);
	if (rc == 0)
		rc = load_replication_data(ld, m, &d);
	dict_free(&d);
	if (rc != 0)
		return rc;
	l->has_delay_cdf = true;
	for (size_t v = 0; v < m->n_variants; v++)
		if ((rc = complete_series(m, v)) != 0)
			return rc;
	return 0;
}

static int load_results(loader *ld, loaded_mem *m, store_loaded *l)
{
	int64_t nv = 0;
	char sql[96];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM variants WHERE run_id = %lld", (long long)ld->run_id);
	ld->what = "reading variants";
	if (store__query_int(ld->db, sql, &nv) != SQLITE_OK)
		return -1;
	if (nv == 0)
		return 0;
	int rc, v2;
	if ((rc = load_variants(ld, m, l, nv)) != 0 || (rc = load_replications(ld, m, nv)) != 0)
		return rc;
	if ((rc = is_packed(ld)) < 0)
		return -1;
	if (rc) {
		if ((rc = load_packed(ld, m, l, nv)) != 0)
			return rc;
		l->run.variants = m->variants;
		l->run.n_variants = m->n_variants;
		return 0;
	}
	if ((v2 = has_entities(ld)) < 0)
		return -1;
	size_t (*count)[2] = calloc(m->n_variants, sizeof *count);
	if (count == NULL)
		return -2;
	rc = count_entities(ld, m, nv, v2, count);
	if (rc == 0)
		rc = make_entities(m, count);
	free(count);
	if (rc != 0)
		return rc;
	if (v2 && ((rc = load_entities(ld, m)) != 0 || (rc = load_replies(ld, m)) != 0))
		return rc;
	if ((rc = load_summaries(ld, m, l, nv)) != 0 || (rc = load_figures(ld, m)) != 0 ||
	    (rc = load_cdf(ld, m, l)) != 0 || (rc = has_series_lost(ld)) != 0 ||
	    (rc = load_series(ld, m)) != 0 || (rc = load_mean_series(ld, m, l)) != 0)
		return rc;
	l->run.variants = m->variants;
	l->run.n_variants = m->n_variants;
	return 0;
}

int store_load_run(sqlite3 *db, int64_t run_id, store_loaded **out, char *err, size_t err_size)
{
	if (db == NULL || out == NULL) {
		store__set_err(err, err_size, "store_load_run: invalid argument");
		return SIM_EINVAL;
	}
	store_loaded *l = calloc(1, sizeof *l);
	loaded_mem *m = calloc(1, sizeof *m);
	if (l == NULL || m == NULL) {
		free(l);
		free(m);
		store__set_err(err, err_size, "%s: out of memory reading run %lld", store__db_path(db), (long long)run_id);
		return SIM_ENOMEM;
	}
	l->priv = m;
	loader ld = { db, run_id, NULL, NULL, err, err_size, false, false };
	int status = SIM_ESTORE, rc;

	/* One read transaction: the run, its results and its row agree even
	 * while another process writes. */
	if (store__exec(db, "BEGIN") != SQLITE_OK) {
		store__db_err(db, NULL, "reading", err, err_size);
		store_loaded_free(l);
		return SIM_ESTORE;
	}
	if (ld_prepare(&ld, "SELECT " RUN_COLUMNS " FROM runs WHERE id = ?1", "reading the run"))
		goto fail_db;
	rc = sqlite3_step(ld.st);
	if (rc == SQLITE_DONE) {
		int64_t last = 0;
		ld_done(&ld, rc);
		store__query_int(db, "SELECT coalesce(max(id), 0) FROM runs", &last);
		if (last > 0)
			store__set_err(err, err_size, "%s: no run %lld (run ids go up to %lld; see: throttlesim results list)",
			        store__db_path(db), (long long)run_id, (long long)last);
		else
			store__set_err(err, err_size, "%s: no run %lld (no runs yet)", store__db_path(db), (long long)run_id);
		status = SIM_EINVAL;
		goto fail;
	}
	if (rc != SQLITE_ROW)
		goto fail_db;
	{
		/* Copy the row's strings into one block. */
		store_run_row r;
		if (store__read_run_row(ld.st, &r, err, err_size) != SIM_OK)
			goto fail;
		const char *src[8] = { r.started_at, r.finished_at, r.program_version, r.scenario_name,
		                       r.scenario_file, r.command_line, r.scenario_text, "" };
		size_t len = 0;
		for (int i = 0; i < 7; i++)
			len += strlen(src[i]) + 1;
		if ((m->row_text = malloc(len)) == NULL) {
			status = SIM_ENOMEM;
			store__set_err(err, err_size, "%s: out of memory reading run %lld", store__db_path(db), (long long)run_id);
			goto fail;
		}
		char *p = m->row_text;
		const char *dst[7];
		for (int i = 0; i < 7; i++) {
			size_t n = strlen(src[i]) + 1;
			memcpy(p, src[i], n);
			dst[i] = p;
			p += n;
		}
		l->row = r;
		l->row.started_at = dst[0];
		l->row.finished_at = dst[1];
		l->row.program_version = dst[2];
		l->row.scenario_name = dst[3];
		l->row.scenario_file = dst[4];
		l->row.command_line = dst[5];
		l->row.scenario_text = dst[6];
	}
	ld_done(&ld, SQLITE_DONE);
	l->run = (rpt_run){ .scenario_name = l->row.scenario_name, .seed = l->row.seed,
	                    .version = l->row.program_version };
	rc = load_results(&ld, m, l);
	if (rc == -2) {
		status = SIM_ENOMEM;
		store__set_err(err, err_size, "%s: out of memory reading run %lld", store__db_path(db), (long long)run_id);
		goto fail;
	}
	if (rc != 0) {
		if (ld.damaged)
			goto fail;
		goto fail_db;
	}
	store__exec(db, "COMMIT");
	*out = l;
	return SIM_OK;
fail_db:
	store__db_err(db, NULL, ld.what, err, err_size);
fail:
	sqlite3_finalize(ld.st);
	store__exec(db, "ROLLBACK");
	store_loaded_free(l);
	return status;
}

const store_summary *store_find_summary(const store_loaded *l, size_t variant, res_entity_kind kind,
                                        size_t entity, const char *figure)
{
	if (l == NULL || figure == NULL)
		return NULL;
	/* The summaries are sorted by (variant, kind, entity, ...): find the
	 * entity's first row, then look through its figures. */
	size_t lo = 0, hi = l->n_summaries;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const store_summary *s = &l->summaries[mid];
		bool before = s->variant != variant ? s->variant < variant
		            : s->kind != kind       ? s->kind < kind
		                                    : s->entity < entity;
		if (before)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < l->n_summaries; i++) {
		const store_summary *s = &l->summaries[i];
		if (s->variant != variant || s->kind != kind || s->entity != entity)
			break;
		if (strcmp(s->figure, figure) == 0)
			return s;
	}
	return NULL;
}
