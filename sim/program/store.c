/* store.c - the SQLite results store.  Contracts in store.h, schema in
 * docs/RESULTS.md (keep the two in step with schema_sql below). */
#include "store.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>

#include "res_summary.h"
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
	else if (code == SQLITE_NOTADB) {
		set_err(err, size, "%s: not a throttlesim results file (%s)", path ? path : db_path(db),
		        sqlite3_errmsg(db));
		return SIM_ESTORE;
	} else if (code == SQLITE_CORRUPT) {
		set_err(err, size, "%s: damaged results file (%s)%s%s", path ? path : db_path(db),
		        sqlite3_errmsg(db), what ? " while " : "", what ? what : "");
		return SIM_ESTORE;
	} else if (code == SQLITE_FULL)
		hint = " (no space left for the results file)";
	else if (code == SQLITE_READONLY)
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
	"  point INTEGER,\n"
	"  sweep_key TEXT,\n"
	"  sweep_value REAL,\n"
	"  sweep_key2 TEXT,\n"
	"  sweep_value2 REAL,\n"
	"  PRIMARY KEY (run_id, idx)) WITHOUT ROWID;\n"
	"CREATE TABLE delay_cdf (\n"
	"  run_id INTEGER NOT NULL REFERENCES runs(id),\n"
	"  variant_idx INTEGER NOT NULL,\n"
	"  replication INTEGER NOT NULL,\n"
	"  kind TEXT NOT NULL CHECK (kind IN ('submission', 'delivery')),\n"
	"  q INTEGER NOT NULL CHECK (q BETWEEN 0 AND 100),\n"
	"  value_s REAL,\n"
	"  PRIMARY KEY (run_id, variant_idx, replication, kind, q)) WITHOUT ROWID;\n"
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

static int classify_in_txn(sqlite3 *db, const char *path, char *err, size_t size);

/* Decides whether the open file is ours, empty or foreign.
 * 1: ours; 0: empty; -1: foreign (message in err); -2: SQLite error (the
 * handle's error state kept for db_err; the caller closes the handle).
 * The header and the schema are read in one read transaction: read by
 * separate statements, another process's schema creation could commit in
 * between and the file look like a foreign one (tables, application_id 0). */
static int classify(sqlite3 *db, const char *path, char *err, size_t size)
{
	if (!sqlite3_get_autocommit(db))
		return classify_in_txn(db, path, err, size);
	if (exec(db, "BEGIN") != SQLITE_OK)
		return -2;
	int kind = classify_in_txn(db, path, err, size);
	if (kind != -2 && exec(db, "COMMIT") != SQLITE_OK)
		kind = -2;
	return kind;
}

static int classify_in_txn(sqlite3 *db, const char *path, char *err, size_t size)
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

/* PRAGMA quick_check before the first write: a file damaged by a disk
 * fault or by someone's editor is refused instead of being written into
 * (which could spread the damage or lose the runs it still holds). */
static int check_intact(sqlite3 *db, const char *path, char *err, size_t size)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *res = (const char *)sqlite3_column_text(st, 0);
		if (res != NULL && strcmp(res, "ok") == 0) {
			sqlite3_finalize(st);
			return SIM_OK;
		}
		set_err(err, size, "%s: damaged results file (%s); not written to "
		        "(save what is left with: sqlite3 %s .recover)", path, res ? res : "?", path);
		sqlite3_finalize(st);
		return SIM_ESTORE;
	}
	db_err(db, path, "checking the file", err, size);
	sqlite3_finalize(st);
	return SIM_ESTORE;
}

/* The only environment the store reads: see store.h, "Test hook". */
static int apply_test_hooks(sqlite3 *db, char *err, size_t size)
{
	const char *grow = getenv("THROTTLESIM_TEST_STORE_GROW_PAGES");
	if (grow == NULL || *grow == '\0')
		return SIM_OK;
	char *end;
	long long n = strtoll(grow, &end, 10);
	if (*end != '\0' || n < 0) {
		set_err(err, size, "THROTTLESIM_TEST_STORE_GROW_PAGES: expected a number >= 0, got '%s'", grow);
		return SIM_EINVAL;
	}
	return store_set_max_pages(db, n, err, size);
}

int store_set_max_pages(sqlite3 *db, int64_t extra_pages, char *err, size_t err_size)
{
	if (db == NULL || extra_pages < 0) {
		set_err(err, err_size, "store_set_max_pages: invalid argument");
		return SIM_EINVAL;
	}
	int64_t pages = 0, cap = 0;
	char sql[96];
	if (query_int(db, "PRAGMA page_count", &pages) != SQLITE_OK)
		return db_err(db, NULL, "limiting the file's size", err, err_size);
	snprintf(sql, sizeof sql, "PRAGMA max_page_count = %lld", (long long)(pages + extra_pages));
	if (query_int(db, sql, &cap) != SQLITE_OK)
		return db_err(db, NULL, "limiting the file's size", err, err_size);
	return SIM_OK;
}

/* WAL mode is persistent: set once, by whoever comes first; the others
 * find it set (cheap).  The switch needs an exclusive lock, for which
 * SQLite returns SQLITE_BUSY at once instead of calling the busy handler:
 * retry here for as long as the busy timeout. */
static int set_wal(sqlite3 *db)
{
	int rc;
	for (int waited_ms = 0;; waited_ms += 10) {
		rc = exec(db, "PRAGMA journal_mode = WAL");
		if (rc != SQLITE_BUSY || waited_ms >= STORE_BUSY_TIMEOUT_MS)
			return rc;
		sqlite3_sleep(10);
	}
}

/* Opens a connection with our settings (plain result codes, the busy
 * timeout); on failure nothing stays open and err says why. */
static int open_handle(const char *path, int flags, sqlite3 **dbp, char *err, size_t err_size)
{
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
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
	*dbp = db;
	return SIM_OK;
}

int store_open(const char *path, sqlite3 **dbp, char *err, size_t err_size)
{
	if (path == NULL || dbp == NULL) {
		set_err(err, err_size, "store_open: no path");
		return SIM_EINVAL;
	}
	sqlite3 *db = NULL;
	int rc = open_handle(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &db, err, err_size);
	if (rc != SIM_OK)
		return rc;

	/* Reading the header writes nothing: a foreign or corrupt file is
	 * left exactly as it was. */
	int kind = classify(db, path, err, err_size);
	if (kind == -2)
		goto fail_db;
	if (kind == -1)
		goto fail;
	if (kind == 1 && check_intact(db, path, err, err_size) != SIM_OK)
		goto fail;
	if (kind == 0) {
		/* Created in the file's first journal mode (rollback), under an
		 * exclusive lock: a process that opens the file meanwhile sees
		 * no schema or all of it.  (Switching to WAL first let a reader
		 * in WAL mode see the schema of a writer still in rollback mode
		 * half-way: tables without the application id.) */
		if (exec(db, "BEGIN EXCLUSIVE") != SQLITE_OK)
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
	if (set_wal(db) != SQLITE_OK) {
		db_err(db, path, "switching to WAL mode", err, err_size);
		goto fail;
	}
	/* In WAL mode NORMAL cannot corrupt the file; a power cut may lose
	 * the last commits, which then read as incomplete runs. */
	if (exec(db, "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL") != SQLITE_OK)
		goto fail_db;
	if (apply_test_hooks(db, err, err_size) != SIM_OK)
		goto fail;
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

enum { S_VARIANT, S_REPLICATION, S_FIGURE, S_SUMMARY, S_REJECTION, S_SERIES, S_CDF, S_COUNT };

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

static int write_summary_row(writer *w, int vi, const rpt_variant *v, res_entity_kind k, size_t e,
                             const char *entity, const char *figure, const char *unit,
                             res_what what, int idx)
{
	sqlite3_stmt *st = w->st[S_SUMMARY];
	st_summary s = res_summarize_value(v->reps, v->n_reps, k, e, what, idx);
	sqlite3_bind_int64(st, 1, w->run_id);
	sqlite3_bind_int(st, 2, vi);
	bind_text(st, 3, res_entity_kind_name(k));
	sqlite3_bind_int64(st, 4, (int64_t)e);
	bind_text(st, 5, entity);
	bind_text(st, 6, figure);
	bind_text(st, 7, unit);
	bind_real(st, 8, s.mean);
	bind_real(st, 9, s.half);
	sqlite3_bind_int64(st, 10, (int64_t)s.n_def);
	return step_reset(w, S_SUMMARY, "writing summaries");
}

static int write_entity(writer *w, int vi, const rpt_variant *v, res_entity_kind k, size_t e)
{
	char name[SCN_NAME_MAX + 8];
	int rc;
	rpt_entity_name(v->scn, (int)k, e, name, sizeof name);
	const char *kind = res_entity_kind_name(k);
	for (size_t r = 0; r < v->n_reps; r++) {
		const res_entity *ent = res_entity_of(&v->reps[r], k, e);
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
			bind_real(st, 8, res_value(ent, RES_FIG, f));
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

static int write_variant(writer *w, int vi, const rpt_variant *v)
{
	int rc;
	sqlite3_stmt *st = w->st[S_VARIANT];
	sqlite3_bind_int64(st, 1, w->run_id);
	sqlite3_bind_int(st, 2, vi);
	bind_text(st, 3, v->name ? v->name : "");
	const scenario *scn = v->scn;
	if (scn != NULL && scn->sweep_point >= 0 && scn->n_sweep_keys > 0) {
		sqlite3_bind_int64(st, 4, scn->sweep_point);
		bind_text(st, 5, scn->sweep_key[0]);
		bind_real(st, 6, scn->sweep_value[0]);
		bind_text(st, 7, scn->n_sweep_keys > 1 ? scn->sweep_key[1] : NULL);
		if (scn->n_sweep_keys > 1)
			bind_real(st, 8, scn->sweep_value[1]);
		else
			sqlite3_bind_null(st, 8);
	} else {
		for (int i = 4; i <= 8; i++)
			sqlite3_bind_null(st, i);
	}
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
		for (int kind = 0; kind < 2; kind++) {
			const double *cdf = kind == 0 ? rep->submission_cdf : rep->delivery_cdf;
			for (int q = 0; q < RES_CDF_POINTS; q++) {
				st = w->st[S_CDF];
				sqlite3_bind_int64(st, 1, w->run_id);
				sqlite3_bind_int(st, 2, vi);
				sqlite3_bind_int64(st, 3, rep->replication);
				bind_text(st, 4, kind == 0 ? "submission" : "delivery");
				sqlite3_bind_int(st, 5, q);
				bind_real(st, 6, cdf[q]);
				if ((rc = step_reset(w, S_CDF, "writing delay distributions")) != SQLITE_OK)
					return rc;
			}
		}
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
	char series[1024];
	int n = snprintf(series, sizeof series,
	                 "INSERT INTO series VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11");
	for (int c = 0; c < RC_COUNT; c++)
		n += snprintf(series + n, sizeof series - (size_t)n, ", ?%d", 12 + c);
	snprintf(series + n, sizeof series - (size_t)n, ")");
	const char *sql[S_COUNT] = {
		[S_VARIANT] = "INSERT INTO variants (run_id, idx, name, point, sweep_key, sweep_value,"
		              " sweep_key2, sweep_value2) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
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

/* ---- reading ----------------------------------------------------------------------------- */

static bool wal_exists(const char *path)
{
	char wal[4096];
	struct stat sb;
	if ((size_t)snprintf(wal, sizeof wal, "%s-wal", path) >= sizeof wal)
		return true; /* cannot tell: assume the worst */
	return stat(wal, &sb) == 0 || errno != ENOENT;
}

/* path as a URI with immutable=1 (percent-encoding what a URI reserves);
 * NULL on failure. */
static sqlite3 *open_immutable(const char *path)
{
	size_t n = strlen(path);
	char *uri = malloc(3 * n + 32);
	if (uri == NULL)
		return NULL;
	char *p = uri + sprintf(uri, "file:");
	for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
		if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		    strchr("/-_.~", *c) != NULL)
			*p++ = (char)*c;
		else
			p += sprintf(p, "%%%02X", *c);
	}
	strcpy(p, "?immutable=1");
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
	free(uri);
	if (rc != SQLITE_OK) {
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_extended_result_codes(db, 0);
	return db;
}

int store_open_readonly(const char *path, sqlite3 **dbp, char *err, size_t err_size)
{
	if (path == NULL || dbp == NULL) {
		set_err(err, err_size, "store_open_readonly: no path");
		return SIM_EINVAL;
	}
	/* SQLite's own message for a missing file is "unable to open database
	 * file"; say which of the causes it is. */
	struct stat sb;
	if (stat(path, &sb) != 0) {
		set_err(err, err_size, "%s: %s", path, errno == ENOENT ? "no such file" : strerror(errno));
		return SIM_EIO;
	}
	if (!S_ISREG(sb.st_mode)) {
		set_err(err, err_size, "%s: not a regular file", path);
		return SIM_EIO;
	}
	sqlite3 *db = NULL;
	int orc = open_handle(path, SQLITE_OPEN_READONLY, &db, err, err_size);
	if (orc != SIM_OK)
		return orc;
	int kind = classify(db, path, err, err_size);
	if (kind == -2 && sqlite3_errcode(db) == SQLITE_CANTOPEN && !wal_exists(path)) {
		/* A WAL reader needs to create the -shm file beside the store;
		 * in a read-only directory it cannot.  With no -wal file the
		 * main file holds every commit, and no writer can start there
		 * (it would need to create the -wal), so read it as immutable. */
		sqlite3 *ro = open_immutable(path);
		if (ro != NULL) {
			sqlite3_close(db);
			db = ro;
			kind = classify(db, path, err, err_size);
		}
	}
	if (kind == 1) {
		*dbp = db;
		return SIM_OK;
	}
	if (kind == -2)
		db_err(db, path, NULL, err, err_size);
	else if (kind == 0)
		set_err(err, err_size, "%s: not a throttlesim results file (empty)", path);
	sqlite3_close(db);
	return SIM_ESTORE;
}

static const char *col_text(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);
	return s ? s : "";
}

#define RUN_COLUMNS \
	"id, started_at, finished_at, complete, program_version, scenario_name, scenario_file," \
	" command_line, scenario_text, seed, replications," \
	" (SELECT count(*) FROM variants v WHERE v.run_id = runs.id)"

/* The row's strings point into st: valid until the next step. */
static void read_run_row(sqlite3_stmt *st, store_run_row *r)
{
	r->id = sqlite3_column_int64(st, 0);
	r->started_at = col_text(st, 1);
	r->finished_at = col_text(st, 2);
	r->complete = sqlite3_column_int(st, 3) != 0;
	r->program_version = col_text(st, 4);
	r->scenario_name = col_text(st, 5);
	r->scenario_file = col_text(st, 6);
	r->command_line = col_text(st, 7);
	r->scenario_text = col_text(st, 8);
	r->seed = (uint64_t)sqlite3_column_int64(st, 9);
	r->replications = sqlite3_column_int64(st, 10);
	r->n_variants = sqlite3_column_int64(st, 11);
}

int store_list_runs(sqlite3 *db, store_run_fn fn, void *ctx, char *err, size_t err_size)
{
	if (db == NULL || fn == NULL) {
		set_err(err, err_size, "store_list_runs: invalid argument");
		return SIM_EINVAL;
	}
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, "SELECT " RUN_COLUMNS " FROM runs ORDER BY id", -1, &st, NULL) != SQLITE_OK)
		return db_err(db, NULL, "listing runs", err, err_size);
	int rc, status = SIM_OK;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		store_run_row row;
		read_run_row(st, &row);
		if ((status = fn(ctx, &row)) != 0)
			break;
	}
	if (status == SIM_OK && rc != SQLITE_DONE)
		status = db_err(db, NULL, "listing runs", err, err_size);
	sqlite3_finalize(st);
	return status;
}

int store_last_run(sqlite3 *db, int64_t *run_id, char *err, size_t err_size)
{
	if (db == NULL || run_id == NULL) {
		set_err(err, err_size, "store_last_run: invalid argument");
		return SIM_EINVAL;
	}
	int64_t id = 0;
	if (query_int(db, "SELECT coalesce(max(id), 0) FROM runs", &id) != SQLITE_OK)
		return db_err(db, NULL, "finding the last run", err, err_size);
	if (id <= 0) {
		set_err(err, err_size, "%s: no runs yet", db_path(db));
		return SIM_EINVAL;
	}
	*run_id = id;
	return SIM_OK;
}

/* Everything a store_loaded owns, in one place so one function frees it. */
typedef struct loaded_mem {
	char *row_text;              /* the row's strings, back to back */
	char **variant_names;
	scenario *scn;               /* per variant: only names filled */
	rpt_variant *variants;
	res_rep **reps;              /* per variant */
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
				}
				free(m->reps[v]);
			}
			if (m->scn) {
				free(m->scn[v].senders);
				free(m->scn[v].mailboxes);
			}
			if (m->variant_names)
				free(m->variant_names[v]);
		}
		for (size_t i = 0; i < m->n_strings; i++)
			free(m->strings[i]);
		free(m->strings);
		free(m->reps);
		free(m->scn);
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
	for (int c = 0; c < RC_COUNT; c++)
		if (strcmp(rpt_reply_id(c), id) == 0)
			return c;
	return -1;
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

static double col_real(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
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
	set_err(ld->err, ld->err_size, "%s: run %lld: %s (damaged results file?)", db_path(ld->db),
	        (long long)ld->run_id, msg);
	ld->damaged = true;
	return -1;
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
	if (r == NULL || kind_of(col_text(st, 2), &k) != 0)
		return NULL;
	return find_entity(r, k, sqlite3_column_int64(st, 3));
}

static int load_results(loader *ld, loaded_mem *m, store_loaded *l)
{
	int rc;
	/* variants */
	int64_t nv = 0;
	{
		char sql[96];
		snprintf(sql, sizeof sql, "SELECT count(*) FROM variants WHERE run_id = %lld", (long long)ld->run_id);
		ld->what = "reading variants";
		if (query_int(ld->db, sql, &nv) != SQLITE_OK)
			return -1;
	}
	if (nv == 0)
		return 0;
	m->n_variants = (size_t)nv;
	m->variant_names = calloc(m->n_variants, sizeof *m->variant_names);
	m->scn = calloc(m->n_variants, sizeof *m->scn);
	m->variants = calloc(m->n_variants, sizeof *m->variants);
	m->reps = calloc(m->n_variants, sizeof *m->reps);
	if (!m->variant_names || !m->scn || !m->variants || !m->reps)
		return -2;
	if (ld_prepare(ld, "SELECT idx, name FROM variants WHERE run_id = ?1 ORDER BY idx", "reading variants"))
		return -1;
	size_t i = 0;
	while ((rc = sqlite3_step(ld->st)) == SQLITE_ROW) {
		int64_t idx = sqlite3_column_int64(ld->st, 0);
		if (i >= m->n_variants || idx != (int64_t)i)
			return ld_damaged(ld, "variant %lld where %lld was expected", (long long)idx, (long long)i);
		if ((m->variant_names[i] = strdup(col_text(ld->st, 1))) == NULL)
			return -2;
		i++;
	}
	if (ld_done(ld, rc))
		return -1;

	/* replications */
	if (ld_prepare(ld, "SELECT variant_idx, count(*) FROM replications WHERE run_id = ?1"
	               " GROUP BY variant_idx", "reading replications"))
		return -1;
	while ((rc = sqlite3_step(ld->st)) == SQLITE_ROW) {
		int64_t vi = sqlite3_column_int64(ld->st, 0), n = sqlite3_column_int64(ld->st, 1);
		if (vi < 0 || vi >= nv)
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
			fill_v = vi;
			fill_r = 0;
		}
		if (vi >= m->n_variants || fill_r >= m->variants[vi].n_reps)
			return ld_damaged(ld, "replication rows changed while reading (%lld, %lld)",
			                  (long long)vi, (long long)fill_r);
		res_rep *r = &m->reps[vi][fill_r++];
		r->replication = sqlite3_column_int64(ld->st, 1);
		r->seed = (uint64_t)sqlite3_column_int64(ld->st, 2);
		r->events = (uint64_t)sqlite3_column_int64(ld->st, 3);
		entity_init(&r->total);
	}
	if (ld_done(ld, rc))
		return -1;

	/* How many groups and mailboxes: from the summaries (one row per
	 * entity and figure, fewer than the figures). */
	size_t (*count)[2] = calloc(m->n_variants, sizeof *count);
	if (count == NULL)
		return -2;
	if (ld_prepare(ld, "SELECT variant_idx, entity_kind, max(entity_idx) + 1 FROM summaries"
	               " WHERE run_id = ?1 AND entity_kind <> 'total' GROUP BY 1, 2", "reading summaries")) {
		free(count);
		return -1;
	}
	while ((rc = sqlite3_step(ld->st)) == SQLITE_ROW) {
		int64_t vi = sqlite3_column_int64(ld->st, 0), n = sqlite3_column_int64(ld->st, 2);
		res_entity_kind k;
		if (vi < 0 || vi >= nv || kind_of(col_text(ld->st, 1), &k) != 0 || n < 0 || n > (INT64_C(1) << 32)) {
			free(count);
			return ld_damaged(ld, "summaries of variant %lld, %lld entities", (long long)vi, (long long)n);
		}
		count[vi][k == RES_GROUP ? 0 : 1] = (size_t)n;
	}
	if (ld_done(ld, rc)) {
		free(count);
		return -1;
	}
	for (size_t v = 0; v < m->n_variants; v++) {
		scenario *s = &m->scn[v];
		size_t ng = count[v][0], nm = count[v][1];
		snprintf(s->name, sizeof s->name, "%s", l->row.scenario_name);
		snprintf(s->variant, sizeof s->variant, "%s", m->variant_names[v]);
		s->senders = ng ? calloc(ng, sizeof *s->senders) : NULL;
		s->mailboxes = nm ? calloc(nm, sizeof *s->mailboxes) : NULL;
		s->n_senders = ng;
		s->n_mailboxes = nm;
		if ((ng && !s->senders) || (nm && !s->mailboxes)) {
			free(count);
			return -2;
		}
		for (size_t r = 0; r < m->variants[v].n_reps; r++) {
			res_rep *rep = &m->reps[v][r];
			rep->groups = ng ? calloc(ng, sizeof *rep->groups) : NULL;
			rep->mailboxes = nm ? calloc(nm, sizeof *rep->mailboxes) : NULL;
			if ((ng && !rep->groups) || (nm && !rep->mailboxes)) {
				free(count);
				return -2;
			}
			rep->n_groups = ng;
			rep->n_mailboxes = nm;
			for (size_t g = 0; g < ng; g++)
				entity_init(&rep->groups[g]);
			for (size_t k = 0; k < nm; k++)
				entity_init(&rep->mailboxes[k]);
		}
		m->variants[v] = (rpt_variant){ .name = m->variant_names[v], .scn = s, .reps = m->reps[v],
		                                .n_reps = m->variants[v].n_reps };
	}
	free(count);

	/* summaries, and the entities' names */
	int64_t ns = 0;
	{
		char sql[96];
		snprintf(sql, sizeof sql, "SELECT count(*) FROM summaries WHERE run_id = %lld", (long long)ld->run_id);
		ld->what = "reading summaries";
		if (query_int(ld->db, sql, &ns) != SQLITE_OK)
			return -1;
	}
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
		if (vi < 0 || vi >= nv || kind_of(col_text(ld->st, 1), &s->kind) != 0 || e < 0)
			return ld_damaged(ld, "a summary of variant %lld, entity %lld", (long long)vi, (long long)e);
		s->variant = (size_t)vi;
		s->entity = (size_t)e;
		const char *name = col_text(ld->st, 3);
		scenario *scn = &m->scn[vi];
		if (s->kind == RES_GROUP && (size_t)e < scn->n_senders)
			snprintf(scn->senders[e].name, sizeof scn->senders[e].name, "%s", name);
		else if (s->kind == RES_MAILBOX && (size_t)e < scn->n_mailboxes)
			snprintf(scn->mailboxes[e].name, sizeof scn->mailboxes[e].name, "%s", name);
		s->entity_name = keep_string(m, name);
		s->figure = keep_string(m, col_text(ld->st, 4));
		s->unit = keep_string(m, col_text(ld->st, 5));
		if (!s->entity_name || !s->figure || !s->unit)
			return -2;
		figure_of(s->figure, &s->what, &s->idx);
		s->mean = col_real(ld->st, 6);
		s->half = col_real(ld->st, 7);
		s->n = sqlite3_column_int64(ld->st, 8);
		l->n_summaries++;
	}
	if (ld_done(ld, rc))
		return -1;
	if (l->n_summaries > 1)
		qsort(l->summaries, l->n_summaries, sizeof *l->summaries, summary_cmp);

	/* figures of every replication */
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
		const char *name = col_text(ld->st, 4);
		int f = -1;
		for (int j = 0; j < FIG_COUNT && f < 0; j++) {
			int c = (last_fig + j) % FIG_COUNT;
			if (strcmp(res_fig_info[c].name, name) == 0)
				f = c;
		}
		if (f < 0)
			continue; /* a figure of another version: kept in the file, not shown */
		last_fig = f;
		ent->fig[f] = col_real(ld->st, 5);
	}
	if (ld_done(ld, rc))
		return -1;

	/* counts by reply class */
	if (ld_prepare(ld, "SELECT variant_idx, replication, entity_kind, entity_idx, reply_class, count, lost"
	               " FROM rejections WHERE run_id = ?1", "reading rejections"))
		return -1;
	while ((rc = sqlite3_step(ld->st)) == SQLITE_ROW) {
		res_entity *ent = row_entity(ld->st, m);
		if (ent == NULL)
			return ld_damaged(ld, "rejections of variant %lld, replication %lld, for no known entity",
			                  sqlite3_column_int64(ld->st, 0), sqlite3_column_int64(ld->st, 1));
		int c = reply_class_of(col_text(ld->st, 4));
		if (c < 0)
			continue;
		ent->rejected_by[c] = (uint64_t)sqlite3_column_int64(ld->st, 5);
		ent->lost_by[c] = (uint64_t)sqlite3_column_int64(ld->st, 6);
	}
	if (ld_done(ld, rc))
		return -1;
	l->run.variants = m->variants;
	l->run.n_variants = m->n_variants;
	return 0;
}

int store_load_run(sqlite3 *db, int64_t run_id, store_loaded **out, char *err, size_t err_size)
{
	if (db == NULL || out == NULL) {
		set_err(err, err_size, "store_load_run: invalid argument");
		return SIM_EINVAL;
	}
	store_loaded *l = calloc(1, sizeof *l);
	loaded_mem *m = calloc(1, sizeof *m);
	if (l == NULL || m == NULL) {
		free(l);
		free(m);
		set_err(err, err_size, "%s: out of memory reading run %lld", db_path(db), (long long)run_id);
		return SIM_ENOMEM;
	}
	l->priv = m;
	loader ld = { db, run_id, NULL, NULL, err, err_size, false };
	int status = SIM_ESTORE, rc;

	/* One read transaction: the run, its results and its row agree even
	 * while another process writes. */
	if (exec(db, "BEGIN") != SQLITE_OK) {
		db_err(db, NULL, "reading", err, err_size);
		store_loaded_free(l);
		return SIM_ESTORE;
	}
	if (ld_prepare(&ld, "SELECT " RUN_COLUMNS " FROM runs WHERE id = ?1", "reading the run"))
		goto fail_db;
	rc = sqlite3_step(ld.st);
	if (rc == SQLITE_DONE) {
		int64_t last = 0;
		ld_done(&ld, rc);
		query_int(db, "SELECT coalesce(max(id), 0) FROM runs", &last);
		if (last > 0)
			set_err(err, err_size, "%s: no run %lld (run ids go up to %lld; see: throttlesim results list)",
			        db_path(db), (long long)run_id, (long long)last);
		else
			set_err(err, err_size, "%s: no run %lld (no runs yet)", db_path(db), (long long)run_id);
		status = SIM_EINVAL;
		goto fail;
	}
	if (rc != SQLITE_ROW)
		goto fail_db;
	{
		/* Copy the row's strings into one block. */
		store_run_row r;
		read_run_row(ld.st, &r);
		const char *src[8] = { r.started_at, r.finished_at, r.program_version, r.scenario_name,
		                       r.scenario_file, r.command_line, r.scenario_text, "" };
		size_t len = 0;
		for (int i = 0; i < 7; i++)
			len += strlen(src[i]) + 1;
		if ((m->row_text = malloc(len)) == NULL) {
			status = SIM_ENOMEM;
			set_err(err, err_size, "%s: out of memory reading run %lld", db_path(db), (long long)run_id);
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
		set_err(err, err_size, "%s: out of memory reading run %lld", db_path(db), (long long)run_id);
		goto fail;
	}
	if (rc != 0) {
		if (ld.damaged)
			goto fail;
		goto fail_db;
	}
	exec(db, "COMMIT");
	*out = l;
	return SIM_OK;
fail_db:
	db_err(db, NULL, ld.what, err, err_size);
fail:
	sqlite3_finalize(ld.st);
	exec(db, "ROLLBACK");
	store_loaded_free(l);
	return status;
}
