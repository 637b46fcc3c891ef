/* store.c - the SQLite results store.  Contracts in store.h, schema in
 * docs/RESULTS.md (keep the two in step with schema_sql below). */
#include "store.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "stats.h"
#include "status.h"

/* ---- errors ---------------------------------------------------------------- */

static void set_err(char *err, size_t size, const char *fmt, ...)
{
	if (err == NULL || size == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, size, fmt, ap);
	va_end(ap);
}

/* The file's name for messages: the main database's path. */
static const char *db_path(sqlite3 *db)
{
	const char *p = sqlite3_db_filename(db, "main");
	return p && *p ? p : "(results store)";
}

/* "<file>: <sqlite message>[ (hint)][ (while ...)]" */
static int db_err(sqlite3 *db, const char *path, const char *what, char *err, size_t size)
{
	int code = sqlite3_errcode(db);
	const char *hint = "";
	if (code == SQLITE_CANTOPEN)
		hint = " (missing or read-only directory?)";
	else if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT) {
		set_err(err, size, "%s: not a throttlesim results file (%s)", path ? path : db_path(db),
		        sqlite3_errmsg(db));
		return SIM_ESTORE;
	} else if (code == SQLITE_READONLY)
		hint = " (read-only file?)";
	else if (code == SQLITE_BUSY)
		hint = " (another process held the lock for more than 10 s)";
	set_err(err, size, "%s: %s%s%s%s", path ? path : db_path(db), sqlite3_errmsg(db), hint,
	        what ? " while " : "", what ? what : "");
	return SIM_ESTORE;
}

/* ---- schema ----------------------------------------------------------------- */

static const char schema_fixed_sql[] =
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);\n"
	"CREATE TABLE runs (\n"
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
	"  started_at TEXT NOT NULL,\n"
	"  finished_at TEXT,\n"
	"  complete INTEGER NOT NULL DEFAULT 0 CHECK (complete IN (0, 1)),\n"
	"  program_version TEXT NOT NULL,\n"
	"  scenario_name TEXT NOT NULL,\n"
	"  scenario_file TEXT,\n"
	"  scenario_text TEXT,\n"
	"  seed INTEGER NOT NULL,\n"
	"  replications INTEGER NOT NULL,\n"
	"  command_line TEXT);\n"
	"CREATE TABLE variants (\n"
	"  run_id INTEGER NOT NULL REFERENCES runs(id),\n"
	"  idx INTEGER NOT NULL,\n"
	"  name TEXT NOT NULL,\n"
	"  PRIMARY KEY (run_id, idx)) WITHOUT ROWID;\n"
	"CREATE TABLE replications (\n"
	"  run_id INTEGER NOT NULL REFERENCES runs(id),\n"
	"  variant_idx INTEGER NOT NULL,\n"
	"  replication INTEGER NOT NULL,\n"
	"  seed INTEGER NOT NULL,\n"
	"  events INTEGER NOT NULL,\n"
	"  PRIMARY KEY (run_id, variant_idx, replication)) WITHOUT ROWID;\n"
	"CREATE TABLE figures (\n"
	"  run_id INTEGER NOT NULL REFERENCES runs(id),\n"
	"  variant_idx INTEGER NOT NULL,\n"
	"  replication INTEGER NOT NULL,\n"
	"  entity_kind TEXT NOT NULL CHECK (entity_kind IN ('total', 'group', 'mailbox')),\n"
	"  entity_idx INTEGER NOT NULL,\n"
	"  entity TEXT NOT NULL,\n"
	"  figure TEXT NOT NULL,\n"
	"  value REAL,\n"
	"  PRIMARY KEY (run_id, variant_idx, replication, entity_kind, entity_idx, figure))"
	" WITHOUT ROWID;\n"
	"CREATE TABLE summaries (\n"
	"  run_id INTEGER NOT NULL REFERENCES runs(id),\n"
	"  variant_idx INTEGER NOT NULL,\n"
	"  entity_kind TEXT NOT NULL CHECK (entity_kind IN ('total', 'group', 'mailbox')),\n"
	"  entity_idx INTEGER NOT NULL,\n"
	"  entity TEXT NOT NULL,\n"
	"  figure TEXT NOT NULL,\n"
	"  unit TEXT NOT NULL,\n"
	"  mean REAL,\n"
	"  half REAL,\n"
	"  n INTEGER NOT NULL,\n"
	"  PRIMARY KEY (run_id, variant_idx, entity_kind, entity_idx, figure)) WITHOUT ROWID;\n"
	"CREATE TABLE rejections (\n"
	"  run_id INTEGER NOT NULL REFERENCES runs(id),\n"
	"  variant_idx INTEGER NOT NULL,\n"
	"  replication INTEGER NOT NULL,\n"
	"  entity_kind TEXT NOT NULL CHECK (entity_kind IN ('total', 'group', 'mailbox')),\n"
	"  entity_idx INTEGER NOT NULL,\n"
	"  entity TEXT NOT NULL,\n"
	"  reply_class TEXT NOT NULL,\n"
	"  reply_code INTEGER NOT NULL,\n"
	"  reply_text TEXT NOT NULL,\n"
	"  count INTEGER NOT NULL,\n"
	"  lost INTEGER NOT NULL,\n"
	"  PRIMARY KEY (run_id, variant_idx, replication, entity_kind, entity_idx, reply_class))"
	" WITHOUT ROWID;\n";

/* series: one column per reply class, named rejected_<class id>. */
static int series_sql(char *buf, size_t size)
{
	int n = snprintf(buf, size,
		"CREATE TABLE series (\n"
		"  run_id INTEGER NOT NULL REFERENCES runs(id),\n"
		"  variant_idx INTEGER NOT NULL,\n"
		"  replication INTEGER NOT NULL,\n"
		"  step INTEGER NOT NULL,\n"
		"  t_s REAL NOT NULL,\n"
		"  accepted INTEGER NOT NULL,\n"
		"  released INTEGER NOT NULL,\n"
		"  rejected INTEGER NOT NULL,\n"
		"  backlog INTEGER NOT NULL,\n"
		"  open_sessions INTEGER NOT NULL,\n"
		"  throttled INTEGER NOT NULL");
	for (int c = 0; c < RC_COUNT && n > 0 && (size_t)n < size; c++)
		n += snprintf(buf + n, size - (size_t)n, ",\n  rejected_%s INTEGER NOT NULL", rpt_reply_id(c));
	if (n > 0 && (size_t)n < size)
		n += snprintf(buf + n, size - (size_t)n,
		              ",\n  PRIMARY KEY (run_id, variant_idx, replication, step)) WITHOUT ROWID;\n");
	return n > 0 && (size_t)n < size ? SIM_OK : SIM_ERANGE;
}

/* ---- small helpers --------------------------------------------------------------- */

static int exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* One integer from a query of one row; rc of the step. */
static int query_int(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		*out = 0;
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

static int bind_text(sqlite3_stmt *st, int i, const char *s)
{
	return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
}

static int bind_real(sqlite3_stmt *st, int i, double x)
{
	return isfinite(x) ? sqlite3_bind_double(st, i, x) : sqlite3_bind_null(st, i);
}

/* ---- open ------------------------------------------------------------------------ */

/* Inside BEGIN IMMEDIATE: make an empty file ours. */
static int initialise(sqlite3 *db)
{
	char series[4096], sql[128];
	int rc;
	if ((rc = exec(db, schema_fixed_sql)) != SQLITE_OK)
		return rc;
	if (series_sql(series, sizeof series) != SIM_OK)
		return SQLITE_TOOBIG;
	if ((rc = exec(db, series)) != SQLITE_OK)
		return rc;
	snprintf(sql, sizeof sql, "PRAGMA application_id = %d; PRAGMA user_version = %d;",
	         STORE_APPLICATION_ID, STORE_SCHEMA_VERSION);
	if ((rc = exec(db, sql)) != SQLITE_OK)
		return rc;
	snprintf(sql, sizeof sql,
	         "INSERT INTO meta (key, value) VALUES ('application', 'throttlesim'), "
	         "('schema_version', '%d');", STORE_SCHEMA_VERSION);
	return exec(db, sql);
}

/* Decides whether the open file is ours, empty or foreign.
 * 1: ours; 0: empty; -1: foreign (message in err); -2: SQLite error. */
static int classify(sqlite3 *db, const char *path, char *err, size_t size)
{
	int64_t app = 0, ver = 0, objects = 0;
	if (query_int(db, "PRAGMA application_id", &app) != SQLITE_OK ||
	    query_int(db, "PRAGMA user_version", &ver) != SQLITE_OK ||
	    query_int(db, "SELECT count(*) FROM sqlite_master", &objects) != SQLITE_OK)
		return -2;
	if (app == STORE_APPLICATION_ID) {
		if (ver > STORE_SCHEMA_VERSION) {
			set_err(err, size, "%s: written by a newer throttlesim (schema %lld; this program reads %d)",
			        path, (long long)ver, STORE_SCHEMA_VERSION);
			return -1;
		}
		if (ver < 1) {
			set_err(err, size, "%s: a throttlesim results file with no schema version (damaged?)", path);
			return -1;
		}
		int64_t meta = 0;
		if (query_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
		              &meta) != SQLITE_OK)
			return -2;
		if (meta != 1) {
			set_err(err, size, "%s: a throttlesim results file without its meta table (damaged?)", path);
			return -1;
		}
		return 1;
	}
	if (app == 0 && ver == 0 && objects == 0)
		return 0;
	set_err(err, size, "%s: not a throttlesim results file (application_id %lld, %lld schema objects)",
	        path, (long long)app, (long long)objects);
	return -1;
}

int store_open(const char *path, sqlite3 **dbp, char *err, size_t err_size)
{
	if (path == NULL || dbp == NULL) {
		set_err(err, err_size, "store_open: no path");
		return SIM_EINVAL;
	}
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		if (db == NULL) {
			set_err(err, err_size, "%s: out of memory opening the results store", path);
			return SIM_ENOMEM;
		}
		db_err(db, path, NULL, err, err_size);
		sqlite3_close(db);
		return SIM_ESTORE;
	}
	sqlite3_extended_result_codes(db, 0);
	sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);

	/* Reading the header writes nothing: a foreign or corrupt file is
	 * left exactly as it was. */
	int kind = classify(db, path, err, err_size);
	if (kind == -2)
		goto fail_db;
	if (kind == -1)
		goto fail;
	if (kind == 0) {
		/* WAL is persistent and cannot change inside a transaction;
		 * setting it on an empty file is harmless if we then lose the
		 * race to initialise it. */
		if (exec(db, "PRAGMA journal_mode = WAL") != SQLITE_OK)
			goto fail_db;
		if (exec(db, "BEGIN IMMEDIATE") != SQLITE_OK)
			goto fail_db;
		/* Another process may have initialised it meanwhile. */
		kind = classify(db, path, err, err_size);
		if (kind == 0 && initialise(db) != SQLITE_OK)
			kind = -2;
		if (kind < 0) {
			if (kind == -2)
				db_err(db, path, "creating the schema", err, err_size);
			exec(db, "ROLLBACK");
			goto fail;
		}
		if (exec(db, "COMMIT") != SQLITE_OK) {
			db_err(db, path, "creating the schema", err, err_size);
			exec(db, "ROLLBACK");
			goto fail;
		}
	}
	/* In WAL mode NORMAL cannot corrupt the file; a power cut may lose
	 * the last commits, which then read as incomplete runs. */
	if (exec(db, "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL") != SQLITE_OK)
		goto fail_db;
	*dbp = db;
	return SIM_OK;
fail_db:
	db_err(db, path, NULL, err, err_size);
fail:
	sqlite3_close(db);
	return SIM_ESTORE;
}

void store_close(sqlite3 *db)
{
	if (db != NULL)
		sqlite3_close_v2(db);
}

/* ---- runs ---------------------------------------------------------------------------- */

#define NOW_SQL "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"

int store_begin_run(sqlite3 *db, const store_run_info *info, int64_t *run_id,
                    char *err, size_t err_size)
{
	if (db == NULL || info == NULL || run_id == NULL) {
		set_err(err, err_size, "store_begin_run: invalid argument");
		return SIM_EINVAL;
	}
	static const char sql[] =
		"INSERT INTO runs (started_at, complete, program_version, scenario_name, scenario_file,"
		" scenario_text, seed, replications, command_line)"
		" VALUES (" NOW_SQL ", 0, ?1, ?2, ?3, ?4, ?5, ?6, ?7)";
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_err(db, NULL, "recording the run", err, err_size);
	bind_text(st, 1, info->program_version ? info->program_version : "");
	bind_text(st, 2, info->scenario_name ? info->scenario_name : "");
	bind_text(st, 3, info->scenario_file);
	bind_text(st, 4, info->scenario_text);
	sqlite3_bind_int64(st, 5, (int64_t)info->seed);
	sqlite3_bind_int64(st, 6, info->replications);
	bind_text(st, 7, info->command_line);
	/* An autocommit statement: its own small transaction. */
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_err(db, NULL, "recording the run", err, err_size);
	*run_id = sqlite3_last_insert_rowid(db);
	return SIM_OK;
}

int store_finish_run(sqlite3 *db, int64_t run_id, char *err, size_t err_size)
{
	if (db == NULL) {
		set_err(err, err_size, "store_finish_run: invalid argument");
		return SIM_EINVAL;
	}
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db,
	        "UPDATE runs SET complete = 1, finished_at = " NOW_SQL " WHERE id = ?1 AND complete = 0",
	        -1, &st, NULL) != SQLITE_OK)
		return db_err(db, NULL, "marking the run complete", err, err_size);
	sqlite3_bind_int64(st, 1, run_id);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_err(db, NULL, "marking the run complete", err, err_size);
	if (sqlite3_changes(db) != 1) {
		set_err(err, err_size, "%s: run %lld does not exist or is already complete",
		        db_path(db), (long long)run_id);
		return SIM_ESTORE;
	}
	return SIM_OK;
}

/* ---- results ------------------------------------------------------------------------------ */

enum { S_VARIANT, S_REPLICATION, S_FIGURE, S_SUMMARY, S_REJECTION, S_SERIES, S_COUNT };

typedef struct writer {
	sqlite3 *db;
	int64_t run_id;
	sqlite3_stmt *st[S_COUNT];
	const char *what;   /* for messages: which table was being written */
} writer;

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
	return SQLITE_OK;
}

static int write_summary_row(writer *w, int vi, const rpt_variant *v, st_entity_kind k, size_t e,
                             const char *entity, const char *figure, const char *unit,
                             st_what what, int idx)
{
	sqlite3_stmt *st = w->st[S_SUMMARY];
	st_summary s = st_summarize_value(v->reps, v->n_reps, k, e, what, idx);
	sqlite3_bind_int64(st, 1, w->run_id);
	sqlite3_bind_int(st, 2, vi);
	bind_text(st, 3, st_entity_kind_name(k));
	sqlite3_bind_int64(st, 4, (int64_t)e);
	bind_text(st, 5, entity);
	bind_text(st, 6, figure);
	bind_text(st, 7, unit);
	bind_real(st, 8, s.mean);
	bind_real(st, 9, s.half);
	sqlite3_bind_int64(st, 10, (int64_t)s.n_def);
	return step_reset(w, S_SUMMARY, "writing summaries");
}

static int write_entity(writer *w, int vi, const rpt_variant *v, st_entity_kind k, size_t e)
{
	char name[SCN_NAME_MAX + 8];
	int rc;
	rpt_entity_name(v->scn, (int)k, e, name, sizeof name);
	const char *kind = st_entity_kind_name(k);
	for (size_t r = 0; r < v->n_reps; r++) {
		const res_entity *ent = st_entity(&v->reps[r], k, e);
		int64_t rep = v->reps[r].replication;
		for (int f = 0; f < FIG_COUNT; f++) {
			sqlite3_stmt *st = w->st[S_FIGURE];
			sqlite3_bind_int64(st, 1, w->run_id);
			sqlite3_bind_int(st, 2, vi);
			sqlite3_bind_int64(st, 3, rep);
			bind_text(st, 4, kind);
			sqlite3_bind_int64(st, 5, (int64_t)e);
			bind_text(st, 6, name);
			bind_text(st, 7, res_fig_info[f].name);
			bind_real(st, 8, st_value(ent, ST_FIG, f));
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
			bind_text(st, 4, kind);
			sqlite3_bind_int64(st, 5, (int64_t)e);
			bind_text(st, 6, name);
			bind_text(st, 7, rpt_reply_id(c));
			sqlite3_bind_int(st, 8, rpt_reply_code_in(v->scn, c));
			bind_text(st, 9, rpt_reply_text(v->scn, c));
			sqlite3_bind_int64(st, 10, (int64_t)ent->rejected_by[c]);
			sqlite3_bind_int64(st, 11, (int64_t)ent->lost_by[c]);
			if ((rc = step_reset(w, S_REJECTION, "writing rejections")) != SQLITE_OK)
				return rc;
		}
	}
	for (int f = 0; f < FIG_COUNT; f++)
		if ((rc = write_summary_row(w, vi, v, k, e, name, res_fig_info[f].name,
		                            res_fig_info[f].unit, ST_FIG, f)) != SQLITE_OK)
			return rc;
	/* Reply-class counts that occur, as in the CSV writer. */
	for (int wh = ST_REJECTED_BY; wh <= ST_LOST_BY; wh++) {
		for (int c = 0; c < RC_COUNT; c++) {
			bool used = false;
			for (size_t r = 0; r < v->n_reps && !used; r++) {
				double x = st_value(st_entity(&v->reps[r], k, e), (st_what)wh, c);
				used = x != 0 && !isnan(x);
			}
			if (!used)
				continue;
			char fig[96];
			snprintf(fig, sizeof fig, "%s.%s", wh == ST_REJECTED_BY ? "rejected_by" : "lost_by",
			         rpt_reply_id(c));
			if ((rc = write_summary_row(w, vi, v, k, e, name, fig,
			                            wh == ST_REJECTED_BY ? "count" : "msgs",
			                            (st_what)wh, c)) != SQLITE_OK)
				return rc;
		}
	}
	return SQLITE_OK;
}

static int write_variant(writer *w, int vi, const rpt_variant *v)
{
	int rc;
	sqlite3_stmt *st = w->st[S_VARIANT];
	sqlite3_bind_int64(st, 1, w->run_id);
	sqlite3_bind_int(st, 2, vi);
	bind_text(st, 3, v->name ? v->name : "");
	if ((rc = step_reset(w, S_VARIANT, "writing variants")) != SQLITE_OK)
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
		for (size_t i = 0; i < rep->n_series && rep->series; i++) {
			const res_series_row *row = &rep->series[i];
			uint64_t rejected = 0;
			for (int c = 0; c < RC_COUNT; c++)
				rejected += row->rejected_by[c];
			st = w->st[S_SERIES];
			sqlite3_bind_int64(st, 1, w->run_id);
			sqlite3_bind_int(st, 2, vi);
			sqlite3_bind_int64(st, 3, rep->replication);
			sqlite3_bind_int64(st, 4, (int64_t)i);
			sqlite3_bind_double(st, 5, (double)i * (double)rep->series_step_ns / (double)SCN_NS_PER_S);
			sqlite3_bind_int64(st, 6, row->accepted);
			sqlite3_bind_int64(st, 7, row->released);
			sqlite3_bind_int64(st, 8, (int64_t)rejected);
			sqlite3_bind_int64(st, 9, row->outbox_backlog);
			sqlite3_bind_int64(st, 10, row->open_sessions);
			sqlite3_bind_int64(st, 11, row->throttled_mailboxes);
			for (int c = 0; c < RC_COUNT; c++)
				sqlite3_bind_int64(st, 12 + c, row->rejected_by[c]);
			if ((rc = step_reset(w, S_SERIES, "writing the time series")) != SQLITE_OK)
				return rc;
		}
	}
	const res_rep *r0 = &v->reps[0];
	if ((rc = write_entity(w, vi, v, ST_TOTAL, 0)) != SQLITE_OK)
		return rc;
	for (size_t g = 0; g < r0->n_groups; g++)
		if ((rc = write_entity(w, vi, v, ST_GROUP, g)) != SQLITE_OK)
			return rc;
	for (size_t m = 0; m < r0->n_mailboxes; m++)
		if ((rc = write_entity(w, vi, v, ST_MAILBOX, m)) != SQLITE_OK)
			return rc;
	return SQLITE_OK;
}

static int prepare_all(writer *w)
{
	char series[1024];
	int n = snprintf(series, sizeof series,
	                 "INSERT INTO series VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11");
	for (int c = 0; c < RC_COUNT; c++)
		n += snprintf(series + n, sizeof series - (size_t)n, ", ?%d", 12 + c);
	snprintf(series + n, sizeof series - (size_t)n, ")");
	const char *sql[S_COUNT] = {
		[S_VARIANT] = "INSERT INTO variants (run_id, idx, name) VALUES (?1, ?2, ?3)",
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
	};
	for (int i = 0; i < S_COUNT; i++) {
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
	if (db == NULL || run == NULL || (run->n_variants > 0 && run->variants == NULL)) {
		set_err(err, err_size, "store_write_results: invalid argument");
		return SIM_EINVAL;
	}
	for (size_t vi = 0; vi < run->n_variants; vi++) {
		if (run->variants[vi].n_reps == 0 || run->variants[vi].reps == NULL) {
			set_err(err, err_size, "store_write_results: variant %zu has no replications", vi);
			return SIM_EINVAL;
		}
	}
	writer w = { db, run_id, { NULL }, NULL };
	int rc = SQLITE_OK;
	int status = SIM_ESTORE;
	if (exec(db, "BEGIN IMMEDIATE") != SQLITE_OK)
		return db_err(db, NULL, "starting to write results", err, err_size);

	int64_t state = -1;
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
		if (rc != SQLITE_OK) {
			w.what = "checking the run";
			goto fail_db;
		}
	}
	if (state != 0) {
		set_err(err, err_size, state < 0 ? "%s: run %lld does not exist"
		                                 : "%s: run %lld already has results or is complete",
		        db_path(db), (long long)run_id);
		goto fail;
	}
	if ((rc = prepare_all(&w)) != SQLITE_OK)
		goto fail_db;
	for (size_t vi = 0; vi < run->n_variants; vi++)
		if ((rc = write_variant(&w, (int)vi, &run->variants[vi])) != SQLITE_OK)
			goto fail_db;
	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(w.st[i]);
	if (exec(db, "COMMIT") != SQLITE_OK) {
		db_err(db, NULL, "committing results", err, err_size);
		exec(db, "ROLLBACK");
		return SIM_ESTORE;
	}
	return SIM_OK;
fail_db:
	/* The message must be read before ROLLBACK replaces it. */
	db_err(db, NULL, w.what, err, err_size);
fail:
	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(w.st[i]);
	exec(db, "ROLLBACK");
	return status;
}
