/* store.c - the SQLite results store.  Contracts in store.h, schema in
 * docs/RESULTS.md (keep the two in step with schema_sql below). */
#include "store.h"
#include "store_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>

#include "res_summary.h"
#include "stats.h"
#include "status.h"

/* ---- errors ---------------------------------------------------------------- */

void store__set_err(char *err, size_t size, const char *fmt, ...)
{
	if (err == NULL || size == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, size, fmt, ap);
	va_end(ap);
}

/* The file's name for messages: the main database's path. */
const char *store__db_path(sqlite3 *db)
{
	const char *p = sqlite3_db_filename(db, "main");
	return p && *p ? p : "(results store)";
}

/* An I/O error on a full file system: SQLite says "disk I/O error" (for
 * instance when the -shm file cannot grow), with errno ENOSPC.  errno may
 * have been overwritten by the clean-up after the failure, so the file
 * system is asked too. */
static bool disk_full(sqlite3 *db, const char *path)
{
	int code = sqlite3_errcode(db);
	if (code != SQLITE_IOERR && code != SQLITE_CANTOPEN)
		return false;
	if (sqlite3_system_errno(db) == ENOSPC)
		return true;
	char dir[4096];
	if (path == NULL || (size_t)snprintf(dir, sizeof dir, "%s", path) >= sizeof dir)
		return false;
	char *slash = strrchr(dir, '/');
	if (slash == NULL)
		snprintf(dir, sizeof dir, ".");
	else
		slash[slash == dir] = '\0';
	struct statvfs sv;
	return statvfs(dir, &sv) == 0 && sv.f_bavail == 0;
}

/* "<file>: <sqlite message>[ (hint)][ (while ...)]" */
int store__db_err(sqlite3 *db, const char *path, const char *what, char *err, size_t size)
{
	int code = sqlite3_errcode(db);
	const char *hint = "";
	if (disk_full(db, path ? path : store__db_path(db))) {
		store__set_err(err, size, "%s: the disk is full (%s: no space left on device)%s%s",
		               path ? path : store__db_path(db), sqlite3_errmsg(db), what ? " while " : "",
		               what ? what : "");
		return SIM_ESTORE;
	}
	if (code == SQLITE_CANTOPEN)
		hint = " (missing or read-only directory?)";
	else if (code == SQLITE_NOTADB) {
		store__set_err(err, size, "%s: not a throttlesim results file (%s)", path ? path : store__db_path(db),
		        sqlite3_errmsg(db));
		return SIM_ESTORE;
	} else if (code == SQLITE_CORRUPT) {
		store__set_err(err, size, "%s: damaged results file (%s)%s%s", path ? path : store__db_path(db),
		        sqlite3_errmsg(db), what ? " while " : "", what ? what : "");
		return SIM_ESTORE;
	} else if (code == SQLITE_FULL)
		hint = " (the disk is full: no space left for the results file)";
	else if (code == SQLITE_READONLY)
		hint = " (read-only file?)";
	else if (code == SQLITE_BUSY)
		hint = " (another process holds its lock)";
	store__set_err(err, size, "%s: %s%s%s%s", path ? path : store__db_path(db), sqlite3_errmsg(db), hint,
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
	"  duration_ns INTEGER,\n"
	"  start_unix_s INTEGER,\n"
	"  series_step_ns INTEGER,\n"
	"  PRIMARY KEY (run_id, idx)) WITHOUT ROWID;\n"
	"CREATE TABLE replications (\n"
	"  run_id INTEGER NOT NULL REFERENCES runs(id),\n"
	"  variant_idx INTEGER NOT NULL,\n"
	"  replication INTEGER NOT NULL,\n"
	"  seed INTEGER NOT NULL,\n"
	"  events INTEGER NOT NULL,\n"
	"  PRIMARY KEY (run_id, variant_idx, replication)) WITHOUT ROWID;\n";

/* Schema 2: what a variant's results refer to (res_desc): each entity's
 * name, route and resolved limits, and the replies (configured, and given
 * in each replication).  Added to a schema-1 file on its first write. */
static const char schema_v2_sql[] =
	"CREATE TABLE entities (\n"
	"  run_id INTEGER NOT NULL REFERENCES runs(id),\n"
	"  variant_idx INTEGER NOT NULL,\n"
	"  entity_kind TEXT NOT NULL CHECK (entity_kind IN ('group', 'mailbox')),\n"
	"  entity_idx INTEGER NOT NULL,\n"
	"  name TEXT NOT NULL,\n"
	"  route TEXT,\n"
	"  mailbox TEXT,\n"
	"  instances INTEGER,\n"
	"  preset TEXT NOT NULL,\n"
	"  concurrency INTEGER NOT NULL,\n"
	"  concurrency_scope TEXT NOT NULL,\n"
	"  message_rate INTEGER NOT NULL,\n"
	"  message_rate_window_ns INTEGER NOT NULL,\n"
	"  message_rate_mode TEXT NOT NULL,\n"
	"  recipient_rate INTEGER NOT NULL,\n"
	"  recipient_rate_window_ns INTEGER NOT NULL,\n"
	"  external_rate INTEGER NOT NULL,\n"
	"  max_recipients_per_message INTEGER NOT NULL,\n"
	"  max_message_size INTEGER NOT NULL,\n"
	"  PRIMARY KEY (run_id, variant_idx, entity_kind, entity_idx)) WITHOUT ROWID;\n"
	"CREATE TABLE replies (\n"
	"  run_id INTEGER NOT NULL REFERENCES runs(id),\n"
	"  variant_idx INTEGER NOT NULL,\n"
	"  replication INTEGER NOT NULL,\n"
	"  reply_class TEXT NOT NULL,\n"
	"  code INTEGER NOT NULL,\n"
	"  transient INTEGER NOT NULL CHECK (transient IN (0, 1)),\n"
	"  text TEXT NOT NULL,\n"
	"  mixed INTEGER NOT NULL DEFAULT 0 CHECK (mixed IN (0, 1)),\n"
	"  PRIMARY KEY (run_id, variant_idx, replication, reply_class)) WITHOUT ROWID;\n";

/* Schema 3: a run's results packed, a row per replication and per variant
 * instead of a row per value (a tenth of the file or less; the formats of
 * the blobs in store_int.h and docs/RESULTS.md).  `names` is the run's
 * dictionary: the figures (and their units) in the order the blobs hold
 * them, and the reply classes, so that a later program whose catalogs
 * differ reads each value by its name.  New files get these tables and
 * not those of schema 2's results (figures, summaries, rejections,
 * delay_cdf, series); older files keep theirs (see store_open). */
static const char schema_v3_sql[] =
	"CREATE TABLE names (\n"
	"  run_id INTEGER NOT NULL REFERENCES runs(id),\n"
	"  kind TEXT NOT NULL CHECK (kind IN ('figure', 'reply_class')),\n"
	"  id INTEGER NOT NULL,\n"
	"  name TEXT NOT NULL,\n"
	"  unit TEXT,\n"
	"  PRIMARY KEY (run_id, kind, id)) WITHOUT ROWID;\n"
	"CREATE TABLE variant_data (\n"
	"  run_id INTEGER NOT NULL REFERENCES runs(id),\n"
	"  variant_idx INTEGER NOT NULL,\n"
	"  summaries BLOB NOT NULL,\n"
	"  series BLOB,\n"
	"  UNIQUE (run_id, variant_idx));\n"
	"CREATE TABLE replication_data (\n"
	"  run_id INTEGER NOT NULL REFERENCES runs(id),\n"
	"  variant_idx INTEGER NOT NULL,\n"
	"  replication INTEGER NOT NULL,\n"
	"  figures BLOB NOT NULL,\n"
	"  delay_cdf BLOB NOT NULL,\n"
	"  series BLOB,\n"
	"  UNIQUE (run_id, variant_idx, replication));\n";

/* The variants' clock, added without a schema version (see
 * complete_series_columns): the time zone and its offset at the start. */
static const char *const variant_columns[][2] = {
	{ "timezone", "TEXT" }, { "start_utc_offset_s", "INTEGER" },
};

/* ---- small helpers --------------------------------------------------------------- */

int store__exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* One integer from a query of one row; rc of the step. */
int store__query_int(sqlite3 *db, const char *sql, int64_t *out)
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

int store__bind_text(sqlite3_stmt *st, int i, const char *s)
{
	return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
}

int store__bind_real(sqlite3_stmt *st, int i, double x)
{
	return isfinite(x) ? sqlite3_bind_double(st, i, x) : sqlite3_bind_null(st, i);
}

const char *store__col_text(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);
	return s ? s : "";
}

double store__col_real(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

/* Column i is TEXT (or NULL when null_ok) without NUL bytes and at most
 * max bytes long. */
bool store__text_ok(sqlite3_stmt *st, int i, size_t max, bool null_ok)
{
	int t = sqlite3_column_type(st, i);
	if (t == SQLITE_NULL)
		return null_ok;
	if (t != SQLITE_TEXT)
		return false;
	const char *s = (const char *)sqlite3_column_text(st, i);
	size_t n = (size_t)sqlite3_column_bytes(st, i);
	return s != NULL && n <= max && strlen(s) == n;
}

/* Column i is an INTEGER in [lo, hi]. */
bool store__int_ok(sqlite3_stmt *st, int i, int64_t lo, int64_t hi)
{
	if (sqlite3_column_type(st, i) != SQLITE_INTEGER)
		return false;
	int64_t x = sqlite3_column_int64(st, i);
	return x >= lo && x <= hi;
}

/* The row's strings point into st: valid until the next step.  A row
 * whose columns do not have the schema's types and ranges is refused. */
int store__read_run_row(sqlite3_stmt *st, store_run_row *r, char *err, size_t err_size)
{
	const char *bad = NULL;
	if (!store__int_ok(st, 0, 1, INT64_MAX))
		bad = "id";
	else if (!store__text_ok(st, 1, STORE_MAX_NAME_BYTES, false))
		bad = "started_at";
	else if (!store__text_ok(st, 2, STORE_MAX_NAME_BYTES, true))
		bad = "finished_at";
	else if (!store__int_ok(st, 3, 0, 1))
		bad = "complete";
	else if (!store__text_ok(st, 4, STORE_MAX_NAME_BYTES, false))
		bad = "program_version";
	else if (!store__text_ok(st, 5, STORE_MAX_NAME_BYTES, false))
		bad = "scenario_name";
	else if (!store__text_ok(st, 6, STORE_MAX_TEXT_BYTES, true))
		bad = "scenario_file";
	else if (!store__text_ok(st, 7, STORE_MAX_TEXT_BYTES, true))
		bad = "command_line";
	else if (!store__text_ok(st, 8, STORE_MAX_TEXT_BYTES, true))
		bad = "scenario_text";
	else if (!store__int_ok(st, 9, INT64_MIN, INT64_MAX))
		bad = "seed";
	else if (!store__int_ok(st, 10, 1, STORE_MAX_REPLICATIONS))
		bad = "replications";
	else if (!store__int_ok(st, 11, 0, INT64_MAX))
		bad = "variants";
	if (bad != NULL) {
		long long id = sqlite3_column_type(st, 0) == SQLITE_INTEGER ? sqlite3_column_int64(st, 0) : 0;
		store__set_err(err, err_size, "%s: run %lld: a %s of the wrong type or out of range"
		               " (damaged results file?)", store__db_path(sqlite3_db_handle(st)), id, bad);
		return SIM_ESTORE;
	}
	r->id = sqlite3_column_int64(st, 0);
	r->started_at = store__col_text(st, 1);
	r->finished_at = store__col_text(st, 2);
	r->complete = sqlite3_column_int(st, 3) != 0;
	r->program_version = store__col_text(st, 4);
	r->scenario_name = store__col_text(st, 5);
	r->scenario_file = store__col_text(st, 6);
	r->command_line = store__col_text(st, 7);
	r->scenario_text = store__col_text(st, 8);
	r->seed = (uint64_t)sqlite3_column_int64(st, 9);
	r->replications = sqlite3_column_int64(st, 10);
	r->n_variants = sqlite3_column_int64(st, 11);
	return SIM_OK;
}

/* ---- open ------------------------------------------------------------------------ */

/* Column `col` of `type` in `table`, if the table lacks it. */
static int add_missing_column(sqlite3 *db, const char *table, const char *col, const char *type)
{
	char sql[200];
	int64_t have = 0;
	int rc;
	snprintf(sql, sizeof sql, "SELECT count(*) FROM pragma_table_info('%s') WHERE name = '%s'", table, col);
	if ((rc = store__query_int(db, sql, &have)) != SQLITE_OK || have)
		return rc;
	snprintf(sql, sizeof sql, "ALTER TABLE %s ADD COLUMN %s %s", table, col, type);
	return store__exec(db, sql);
}

/* Columns added without a schema version, inside a write transaction:
 * the variants' clock (time zone and its offset at the start; NULL in runs
 * written before, read as unknown) and a series column per reply class (0
 * in the runs written before a class joined the catalog: they could not
 * give it). */
static int add_missing_columns(sqlite3 *db)
{
	/* run --set KEY=VALUE, in command-line order: what `plot --entity`
	 * needs to replay a run's scenario as it ran. */
	int rc = store__exec(db, "CREATE TABLE IF NOT EXISTS run_sets (\n"
	                         "  run_id INTEGER NOT NULL REFERENCES runs(id),\n"
	                         "  pos INTEGER NOT NULL,\n"
	                         "  key TEXT NOT NULL,\n"
	                         "  value TEXT NOT NULL,\n"
	                         "  PRIMARY KEY (run_id, pos)) WITHOUT ROWID;");
	for (size_t k = 0; k < sizeof variant_columns / sizeof variant_columns[0] && rc == SQLITE_OK; k++)
		rc = add_missing_column(db, "variants", variant_columns[k][0], variant_columns[k][1]);
	int64_t series = 0;
	if (rc == SQLITE_OK)
		rc = store__query_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'series'",
		                      &series);
	for (int c = 0; c < RC_COUNT && rc == SQLITE_OK && series; c++) {
		char col[80];
		snprintf(col, sizeof col, "rejected_%s", rpt_reply_id(c));
		rc = add_missing_column(db, "series", col, "INTEGER NOT NULL DEFAULT 0");
	}
	return rc;
}

/* Inside BEGIN IMMEDIATE: make an empty file ours. */
static int initialise(sqlite3 *db)
{
	char sql[128];
	int rc;
	if ((rc = store__exec(db, schema_fixed_sql)) != SQLITE_OK ||
	    (rc = store__exec(db, schema_v2_sql)) != SQLITE_OK ||
	    (rc = store__exec(db, schema_v3_sql)) != SQLITE_OK || (rc = add_missing_columns(db)) != SQLITE_OK)
		return rc;
	snprintf(sql, sizeof sql, "PRAGMA application_id = %d; PRAGMA user_version = %d;",
	         STORE_APPLICATION_ID, STORE_SCHEMA_VERSION);
	if ((rc = store__exec(db, sql)) != SQLITE_OK)
		return rc;
	snprintf(sql, sizeof sql,
	         "INSERT INTO meta (key, value) VALUES ('application', 'throttlesim'), "
	         "('schema_version', '%d');", STORE_SCHEMA_VERSION);
	return store__exec(db, sql);
}

/* Schema 1 -> 2, under a write lock (another writer may have done it
 * meanwhile): the variants' length, start and series step, the entities and replies
 * tables.  Runs written before keep NULL there; readers show no limits.
 * Not to 3: a file keeps the layout of its results (see store_open). */
static int upgrade(sqlite3 *db)
{
	int64_t ver = 0;
	int rc;
	if ((rc = store__exec(db, "BEGIN IMMEDIATE")) != SQLITE_OK)
		return rc;
	if ((rc = store__query_int(db, "PRAGMA user_version", &ver)) == SQLITE_OK && ver == 1) {
		char sql[160];
		snprintf(sql, sizeof sql,
		         "PRAGMA user_version = 2; UPDATE meta SET value = '2' WHERE key = 'schema_version';");
		if ((rc = store__exec(db, "ALTER TABLE variants ADD COLUMN duration_ns INTEGER;"
		                          "ALTER TABLE variants ADD COLUMN start_unix_s INTEGER;"
		                          "ALTER TABLE variants ADD COLUMN series_step_ns INTEGER;")) == SQLITE_OK &&
		    (rc = store__exec(db, schema_v2_sql)) == SQLITE_OK)
			rc = store__exec(db, sql);
	}
	if (rc != SQLITE_OK) {
		store__exec(db, "ROLLBACK");
		return rc;
	}
	return store__exec(db, "COMMIT");
}

/* Adds what an older file lacks, under a write lock.  Without this a
 * newer program could not write a run into an older file. */
static int complete_series_columns(sqlite3 *db)
{
	int rc;
	if ((rc = store__exec(db, "BEGIN IMMEDIATE")) != SQLITE_OK)
		return rc;
	if ((rc = add_missing_columns(db)) != SQLITE_OK) {
		store__exec(db, "ROLLBACK");
		return rc;
	}
	return store__exec(db, "COMMIT");
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
	if (store__exec(db, "BEGIN") != SQLITE_OK)
		return -2;
	int kind = classify_in_txn(db, path, err, size);
	if (kind != -2 && store__exec(db, "COMMIT") != SQLITE_OK)
		kind = -2;
	return kind;
}

static int classify_in_txn(sqlite3 *db, const char *path, char *err, size_t size)
{
	int64_t app = 0, ver = 0, objects = 0;
	if (store__query_int(db, "PRAGMA application_id", &app) != SQLITE_OK ||
	    store__query_int(db, "PRAGMA user_version", &ver) != SQLITE_OK ||
	    store__query_int(db, "SELECT count(*) FROM sqlite_master", &objects) != SQLITE_OK)
		return -2;
	if (app == STORE_APPLICATION_ID) {
		if (ver > STORE_SCHEMA_VERSION) {
			store__set_err(err, size, "%s: written by a newer throttlesim (schema %lld; this program reads %d)",
			        path, (long long)ver, STORE_SCHEMA_VERSION);
			return -1;
		}
		if (ver < 1) {
			store__set_err(err, size, "%s: a throttlesim results file with no schema version (damaged?)", path);
			return -1;
		}
		int64_t meta = 0;
		if (store__query_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
		              &meta) != SQLITE_OK)
			return -2;
		if (meta != 1) {
			store__set_err(err, size, "%s: a throttlesim results file without its meta table (damaged?)", path);
			return -1;
		}
		return 1;
	}
	if (app == 0 && ver == 0 && objects == 0)
		return 0;
	store__set_err(err, size, "%s: not a throttlesim results file (application_id %lld, %lld schema objects)",
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
		store__set_err(err, size, "%s: damaged results file (%s); not written to "
		        "(save what is left with: sqlite3 %s .recover)", path, res ? res : "?", path);
		sqlite3_finalize(st);
		return SIM_ESTORE;
	}
	store__db_err(db, path, "checking the file", err, size);
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
		store__set_err(err, size, "THROTTLESIM_TEST_STORE_GROW_PAGES: expected a number >= 0, got '%s'", grow);
		return SIM_EINVAL;
	}
	return store_set_max_pages(db, n, err, size);
}

int store_set_max_pages(sqlite3 *db, int64_t extra_pages, char *err, size_t err_size)
{
	if (db == NULL || extra_pages < 0) {
		store__set_err(err, err_size, "store_set_max_pages: invalid argument");
		return SIM_EINVAL;
	}
	int64_t pages = 0, cap = 0;
	char sql[96];
	if (store__query_int(db, "PRAGMA page_count", &pages) != SQLITE_OK)
		return store__db_err(db, NULL, "limiting the file's size", err, err_size);
	snprintf(sql, sizeof sql, "PRAGMA max_page_count = %lld", (long long)(pages + extra_pages));
	if (store__query_int(db, sql, &cap) != SQLITE_OK)
		return store__db_err(db, NULL, "limiting the file's size", err, err_size);
	return SIM_OK;
}

/* ---- waiting for another process's lock ------------------------------------ */

/* A handle's busy handler state.  It lives as long as the handle: it is
 * the user data of a no-op SQL function, whose destructor SQLite calls
 * when the connection closes (after its last use of the busy handler). */
typedef struct busy_state {
	store_wait_fn on_wait;
	void *ctx;
	int64_t limit_ms;       /* 0: wait as long as it takes */
	double start_s;         /* when the current wait began (monotonic) */
	double next_notice_s;   /* waited time of the next call of on_wait */
	char path[];
} busy_state;

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* SQLite's busy handler: count is 0 at the first call of each wait.
 * Sleeps 1, 2, 4 ... ms, then 100 ms at a time; 0 gives up. */
static int busy_wait(void *arg, int count)
{
	busy_state *b = arg;
	double now = mono_s();
	if (count == 0) {
		b->start_s = now;
		b->next_notice_s = STORE_WAIT_NOTICE_MS / 1000.0;
	}
	double waited = now - b->start_s;
	if (b->limit_ms > 0 && waited * 1000.0 >= (double)b->limit_ms)
		return 0;
	if (b->on_wait != NULL && waited >= b->next_notice_s) {
		char msg[4400];
		snprintf(msg, sizeof msg, "%s: another process is writing to this results file; waiting for it"
		         " (%.0f s so far)", b->path, waited);
		b->on_wait(b->ctx, msg);
		b->next_notice_s += STORE_WAIT_REPEAT_MS / 1000.0;
	}
	sqlite3_sleep(count < 7 ? 1 << count : 100);
	return 1;
}

/* SELECT throttlesim_busy_state() gives the state as an SQLite pointer
 * value (type BUSY_PTR_TYPE), so store_compact can bound its wait. */
#define BUSY_PTR_TYPE "throttlesim_busy_state"
static void busy_state_holder(sqlite3_context *c, int argc, sqlite3_value **argv)
{
	(void)argc;
	(void)argv;
	sqlite3_result_pointer(c, sqlite3_user_data(c), BUSY_PTR_TYPE, NULL);
}

/* The handle's busy state (NULL for a handle not from open_handle). */
static busy_state *busy_of(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	busy_state *b = NULL;
	if (sqlite3_prepare_v2(db, "SELECT throttlesim_busy_state()", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		b = sqlite3_value_pointer(sqlite3_column_value(st, 0), BUSY_PTR_TYPE);
	sqlite3_finalize(st);
	return b;
}

/* Installs the busy handler on db (its state in *bp); SQLITE_OK or
 * SQLite's error. */
static int install_busy(sqlite3 *db, const char *path, int64_t limit_ms, store_wait_fn on_wait, void *ctx,
                        busy_state **bp)
{
	size_t n = strlen(path);
	busy_state *b = malloc(sizeof *b + n + 1);
	if (b == NULL)
		return SQLITE_NOMEM;
	*b = (busy_state){ .on_wait = on_wait, .ctx = ctx, .limit_ms = limit_ms };
	memcpy(b->path, path, n + 1);
	/* On failure SQLite has already called free(b). */
	int rc = sqlite3_create_function_v2(db, "throttlesim_busy_state", 0, SQLITE_UTF8, b, busy_state_holder,
	                                    NULL, NULL, free);
	if (rc != SQLITE_OK)
		return rc;
	*bp = b;
	return sqlite3_busy_handler(db, busy_wait, b);
}

/* WAL mode is persistent: set once, by whoever comes first; the others
 * find it set (cheap).  The switch needs an exclusive lock, for which
 * SQLite returns SQLITE_BUSY at once instead of calling the busy handler:
 * wait here as the busy handler would. */
static int set_wal(sqlite3 *db, busy_state *b)
{
	int rc;
	for (int count = 0;; count++) {
		rc = store__exec(db, "PRAGMA journal_mode = WAL");
		if (rc != SQLITE_BUSY || !busy_wait(b, count))
			return rc;
	}
}

/* path as SQLite should see it: ":memory:" and "file:..." name files here
 * (SQLite would otherwise open an in-memory database, or parse a URI). */
static char *sqlite_name(const char *path)
{
	bool special = strcmp(path, ":memory:") == 0 || strncmp(path, "file:", 5) == 0;
	size_t n = strlen(path);
	char *s = malloc(n + 3);
	if (s != NULL)
		snprintf(s, n + 3, "%s%s", special ? "./" : "", path);
	return s;
}

/* Opens a connection with our settings (plain result codes; a writer
 * waits for locks without limit, a reader for STORE_BUSY_TIMEOUT_MS); on
 * failure nothing stays open and err says why. */
static int open_handle(const char *path, int flags, store_wait_fn on_wait, void *ctx, sqlite3 **dbp,
                       busy_state **bp, char *err, size_t err_size)
{
	sqlite3 *db = NULL;
	busy_state *b = NULL;
	char *name = sqlite_name(path);
	if (name == NULL) {
		store__set_err(err, err_size, "%s: out of memory opening the results store", path);
		return SIM_ENOMEM;
	}
	int rc = sqlite3_open_v2(name, &db, flags, NULL);
	free(name);
	if (rc != SQLITE_OK) {
		if (db == NULL) {
			store__set_err(err, err_size, "%s: out of memory opening the results store", path);
			return SIM_ENOMEM;
		}
		store__db_err(db, path, NULL, err, err_size);
		sqlite3_close(db);
		return SIM_ESTORE;
	}
	sqlite3_extended_result_codes(db, 0);
	bool writer = (flags & SQLITE_OPEN_READWRITE) != 0;
	if (install_busy(db, path, writer ? 0 : STORE_BUSY_TIMEOUT_MS, on_wait, ctx, &b) != SQLITE_OK) {
		store__set_err(err, err_size, "%s: out of memory opening the results store", path);
		sqlite3_close(db);
		return SIM_ENOMEM;
	}
	*dbp = db;
	if (bp != NULL)
		*bp = b;
	return SIM_OK;
}

int store_open(const char *path, sqlite3 **dbp, char *err, size_t err_size)
{
	return store_open_waiting(path, NULL, NULL, dbp, err, err_size);
}

int store_open_waiting(const char *path, store_wait_fn on_wait, void *ctx, sqlite3 **dbp,
                       char *err, size_t err_size)
{
	if (path == NULL || dbp == NULL) {
		store__set_err(err, err_size, "store_open: no path");
		return SIM_EINVAL;
	}
	if (path[0] == '\0') {
		store__set_err(err, err_size, "the results file's name is empty (give a file name, or leave"
		               " --db out for throttlesim.db)");
		return SIM_EINVAL;
	}
	sqlite3 *db = NULL;
	busy_state *busy = NULL;
	int rc = open_handle(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, on_wait, ctx, &db, &busy,
	                     err, err_size);
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
	/* An existing file keeps the layout of its results: a schema-1 file
	 * becomes 2, a schema-2 file stays 2 and its new runs get schema 2's
	 * rows (store_write.c).  Upgrading it to 3 would lock every older
	 * program out of all its runs, for no gain on the runs it holds
	 * (docs/RESULTS.md, "Identity, versions"). */
	if (kind == 1) {
		int64_t ver = 0;
		if (store__query_int(db, "PRAGMA user_version", &ver) != SQLITE_OK ||
		    (ver < 2 && upgrade(db) != SQLITE_OK) ||
		    complete_series_columns(db) != SQLITE_OK) {
			store__db_err(db, path, "upgrading the file's schema", err, err_size);
			goto fail;
		}
	}
	if (kind == 0) {
		/* Created in the file's first journal mode (rollback), under an
		 * exclusive lock: a process that opens the file meanwhile sees
		 * no schema or all of it.  (Switching to WAL first let a reader
		 * in WAL mode see the schema of a writer still in rollback mode
		 * half-way: tables without the application id.) */
		if (store__exec(db, "BEGIN EXCLUSIVE") != SQLITE_OK)
			goto fail_db;
		/* Another process may have initialised it meanwhile. */
		kind = classify(db, path, err, err_size);
		if (kind == 0 && initialise(db) != SQLITE_OK)
			kind = -2;
		if (kind < 0) {
			if (kind == -2)
				store__db_err(db, path, "creating the schema", err, err_size);
			store__exec(db, "ROLLBACK");
			goto fail;
		}
		if (store__exec(db, "COMMIT") != SQLITE_OK) {
			store__db_err(db, path, "creating the schema", err, err_size);
			store__exec(db, "ROLLBACK");
			goto fail;
		}
	}
	if (set_wal(db, busy) != SQLITE_OK) {
		store__db_err(db, path, "switching to WAL mode", err, err_size);
		goto fail;
	}
	/* In WAL mode NORMAL cannot corrupt the file; a power cut may lose
	 * the last commits, which then read as incomplete runs. */
	if (store__exec(db, "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL") != SQLITE_OK)
		goto fail_db;
	if (apply_test_hooks(db, err, err_size) != SIM_OK)
		goto fail;
	*dbp = db;
	return SIM_OK;
fail_db:
	store__db_err(db, path, NULL, err, err_size);
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
		store__set_err(err, err_size, "store_begin_run: invalid argument");
		return SIM_EINVAL;
	}
	static const char sql[] =
		"INSERT INTO runs (started_at, complete, program_version, scenario_name, scenario_file,"
		" scenario_text, seed, replications, command_line)"
		" VALUES (" NOW_SQL ", 0, ?1, ?2, ?3, ?4, ?5, ?6, ?7)";
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return store__db_err(db, NULL, "recording the run", err, err_size);
	store__bind_text(st, 1, info->program_version ? info->program_version : "");
	store__bind_text(st, 2, info->scenario_name ? info->scenario_name : "");
	store__bind_text(st, 3, info->scenario_file);
	store__bind_text(st, 4, info->scenario_text);
	sqlite3_bind_int64(st, 5, (int64_t)info->seed);
	sqlite3_bind_int64(st, 6, info->replications);
	store__bind_text(st, 7, info->command_line);
	if (info->n_sets == 0) {
		/* An autocommit statement: its own small transaction. */
		int rc = sqlite3_step(st);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			return store__db_err(db, NULL, "recording the run", err, err_size);
		*run_id = sqlite3_last_insert_rowid(db);
		return SIM_OK;
	}
	/* The run and its --set values together, or neither. */
	if (store__exec(db, "BEGIN IMMEDIATE") != SQLITE_OK) {
		sqlite3_finalize(st);
		return store__db_err(db, NULL, "recording the run", err, err_size);
	}
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	st = NULL;
	int64_t id = sqlite3_last_insert_rowid(db);
	if (rc == SQLITE_DONE)
		rc = sqlite3_prepare_v2(db, "INSERT INTO run_sets (run_id, pos, key, value) VALUES (?1, ?2, ?3, ?4)",
		                        -1, &st, NULL) == SQLITE_OK ? SQLITE_DONE : SQLITE_ERROR;
	for (size_t i = 0; i < info->n_sets && rc == SQLITE_DONE; i++) {
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, (int64_t)i);
		store__bind_text(st, 3, info->sets[i].key);
		store__bind_text(st, 4, info->sets[i].value);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE || store__exec(db, "COMMIT") != SQLITE_OK) {
		int status = store__db_err(db, NULL, "recording the run", err, err_size);
		store__exec(db, "ROLLBACK");
		return status;
	}
	*run_id = id;
	return SIM_OK;
}

int store_run_sets(sqlite3 *db, int64_t run_id, scn_override **sets, size_t *n_sets,
                   char *err, size_t err_size)
{
	*sets = NULL;
	*n_sets = 0;
	int64_t have = 0;
	if (store__query_int(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'run_sets'",
	                     &have) != SQLITE_OK)
		return store__db_err(db, NULL, "reading the run's --set values", err, err_size);
	if (!have)
		return SIM_OK; /* a file from before --set was recorded */
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, "SELECT key, value FROM run_sets WHERE run_id = ?1 ORDER BY pos", -1, &st,
	                       NULL) != SQLITE_OK)
		return store__db_err(db, NULL, "reading the run's --set values", err, err_size);
	sqlite3_bind_int64(st, 1, run_id);
	int rc, status = SIM_OK;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && status == SIM_OK) {
		if (!store__text_ok(st, 0, STORE_MAX_TEXT_BYTES, false) ||
		    !store__text_ok(st, 1, STORE_MAX_TEXT_BYTES, false)) {
			store__set_err(err, err_size, "%s: run %lld: a --set value of the wrong type (damaged results file?)",
			               store__db_path(db), (long long)run_id);
			status = SIM_ESTORE;
			break;
		}
		scn_override *grown = realloc(*sets, (*n_sets + 1) * sizeof **sets);
		char *key = grown ? strdup(store__col_text(st, 0)) : NULL;
		char *value = key ? strdup(store__col_text(st, 1)) : NULL;
		if (grown)
			*sets = grown;
		if (value == NULL) {
			free(key);
			status = SIM_ENOMEM;
			store__set_err(err, err_size, "out of memory");
			break;
		}
		(*sets)[(*n_sets)++] = (scn_override){ .key = key, .value = value, .variant = NULL };
	}
	sqlite3_finalize(st);
	if (status == SIM_OK && rc != SQLITE_DONE)
		status = store__db_err(db, NULL, "reading the run's --set values", err, err_size);
	if (status != SIM_OK)
		store_run_sets_free(*sets, *n_sets), *sets = NULL, *n_sets = 0;
	return status;
}

void store_run_sets_free(scn_override *sets, size_t n_sets)
{
	for (size_t i = 0; i < n_sets; i++) {
		free((char *)sets[i].key);
		free((char *)sets[i].value);
	}
	free(sets);
}

int store_finish_run(sqlite3 *db, int64_t run_id, char *err, size_t err_size)
{
	if (db == NULL) {
		store__set_err(err, err_size, "store_finish_run: invalid argument");
		return SIM_EINVAL;
	}
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db,
	        "UPDATE runs SET complete = 1, finished_at = " NOW_SQL " WHERE id = ?1 AND complete = 0",
	        -1, &st, NULL) != SQLITE_OK)
		return store__db_err(db, NULL, "marking the run complete", err, err_size);
	sqlite3_bind_int64(st, 1, run_id);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return store__db_err(db, NULL, "marking the run complete", err, err_size);
	if (sqlite3_changes(db) != 1) {
		store__set_err(err, err_size, "%s: run %lld does not exist or is already complete",
		        store__db_path(db), (long long)run_id);
		return SIM_ESTORE;
	}
	return SIM_OK;
}

int store_end_run(sqlite3 *db, int64_t run_id, char *err, size_t err_size)
{
	if (db == NULL) {
		store__set_err(err, err_size, "store_end_run: invalid argument");
		return SIM_EINVAL;
	}
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, "UPDATE runs SET finished_at = " NOW_SQL " WHERE id = ?1 AND complete = 0",
	                       -1, &st, NULL) != SQLITE_OK)
		return store__db_err(db, NULL, "ending the interrupted run", err, err_size);
	sqlite3_bind_int64(st, 1, run_id);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return store__db_err(db, NULL, "ending the interrupted run", err, err_size);
	return SIM_OK;
}

/* ---- reading ----------------------------------------------------------------------------- */

/* Does the store have a -wal file that may hold commits (one that is not
 * empty)? */
static bool wal_has_frames(const char *path)
{
	char wal[4096];
	struct stat sb;
	if ((size_t)snprintf(wal, sizeof wal, "%s-wal", path) >= sizeof wal)
		return true; /* cannot tell: assume the worst */
	if (stat(wal, &sb) != 0)
		return errno != ENOENT;
	return sb.st_size > 0;
}

/* path as a URI with the given query (percent-encoding what a URI
 * reserves), opened read-only; NULL on failure. */
static sqlite3 *open_uri(const char *path, const char *query)
{
	size_t n = strlen(path);
	char *uri = malloc(3 * n + strlen(query) + 32);
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
	sprintf(p, "?%s", query);
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
	free(uri);
	busy_state *b;
	if (rc != SQLITE_OK || install_busy(db, path, STORE_BUSY_TIMEOUT_MS, NULL, NULL, &b) != SQLITE_OK) {
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_extended_result_codes(db, 0);
	return db;
}

/* A handle opened with query that can read the file (its classification
 * in *kind), or NULL. */
static sqlite3 *try_open(const char *path, const char *query, int *kind, char *err, size_t size)
{
	sqlite3 *db = open_uri(path, query);
	if (db == NULL)
		return NULL;
	int k = classify(db, path, err, size);
	if (k == -2) {
		sqlite3_close(db);
		return NULL;
	}
	*kind = k;
	return db;
}

int store_open_readonly(const char *path, sqlite3 **dbp, char *err, size_t err_size)
{
	if (path == NULL || dbp == NULL) {
		store__set_err(err, err_size, "store_open_readonly: no path");
		return SIM_EINVAL;
	}
	if (path[0] == '\0') {
		store__set_err(err, err_size, "the results file's name is empty");
		return SIM_EINVAL;
	}
	/* SQLite's own message for a missing file is "unable to open database
	 * file"; say which of the causes it is. */
	struct stat sb;
	if (stat(path, &sb) != 0) {
		store__set_err(err, err_size, "%s: %s", path, errno == ENOENT ? "no such file" : strerror(errno));
		return SIM_EIO;
	}
	if (!S_ISREG(sb.st_mode)) {
		store__set_err(err, err_size, "%s: not a regular file", path);
		return SIM_EIO;
	}
	sqlite3 *db = NULL;
	int orc = open_handle(path, SQLITE_OPEN_READONLY, NULL, NULL, &db, NULL, err, err_size);
	if (orc != SIM_OK)
		return orc;
	int kind = classify(db, path, err, err_size);
	int code = kind == -2 ? sqlite3_errcode(db) : SQLITE_OK;
	if (code == SQLITE_CANTOPEN || code == SQLITE_IOERR) {
		/* A WAL reader needs a -shm file beside the store that it can
		 * create and grow: it cannot in a read-only directory, nor on a
		 * full disk (the -shm cannot grow: "disk I/O error").  Read
		 * without writing to it: with readonly_shm, SQLite reads the
		 * -wal into private memory when no writer holds the -shm.  (The
		 * first handle is closed first: a second one in this process
		 * would share its -shm.)  The first failure's message stays
		 * unless another way works. */
		store__db_err(db, path, NULL, err, err_size);
		sqlite3_close(db);
		db = try_open(path, "mode=ro&readonly_shm=1", &kind, err, err_size);
		/* With no -wal file (or an empty one) the main file holds every
		 * commit, and no writer can start where the -wal cannot be
		 * created or grown: read it as immutable. */
		if (db == NULL && !wal_has_frames(path))
			db = try_open(path, "immutable=1", &kind, err, err_size);
		if (db == NULL)
			return SIM_ESTORE;
	}
	if (kind == 1) {
		*dbp = db;
		return SIM_OK;
	}
	if (kind == -2)
		store__db_err(db, path, NULL, err, err_size);
	else if (kind == 0)
		store__set_err(err, err_size, "%s: not a throttlesim results file (empty)", path);
	sqlite3_close(db);
	return SIM_ESTORE;
}

int store_list_runs(sqlite3 *db, store_run_fn fn, void *ctx, char *err, size_t err_size)
{
	if (db == NULL || fn == NULL) {
		store__set_err(err, err_size, "store_list_runs: invalid argument");
		return SIM_EINVAL;
	}
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, "SELECT " RUN_COLUMNS " FROM runs ORDER BY id", -1, &st, NULL) != SQLITE_OK)
		return store__db_err(db, NULL, "listing runs", err, err_size);
	int rc, status = SIM_OK;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		store_run_row row;
		if ((status = store__read_run_row(st, &row, err, err_size)) != SIM_OK)
			break;
		if ((status = fn(ctx, &row)) != 0)
			break;
	}
	if (status == SIM_OK && rc != SQLITE_DONE)
		status = store__db_err(db, NULL, "listing runs", err, err_size);
	sqlite3_finalize(st);
	return status;
}

int store_last_run(sqlite3 *db, int64_t *run_id, char *err, size_t err_size)
{
	if (db == NULL || run_id == NULL) {
		store__set_err(err, err_size, "store_last_run: invalid argument");
		return SIM_EINVAL;
	}
	int64_t id = 0;
	if (store__query_int(db, "SELECT coalesce(max(id), 0) FROM runs WHERE typeof(id) = 'integer'", &id) !=
	    SQLITE_OK)
		return store__db_err(db, NULL, "finding the last run", err, err_size);
	if (id <= 0) {
		store__set_err(err, err_size, "%s: no runs yet", store__db_path(db));
		return SIM_EINVAL;
	}
	*run_id = id;
	return SIM_OK;
}


/* ---- tidying: deleting runs, compacting ------------------------------------------ */

/* The tables that hold rows of a run: every table of the file with a
 * run_id column, found in the schema rather than listed here, so that a
 * table added later (or by a newer program that still shares this schema
 * version) is never left with rows of a deleted run.  Children first,
 * `runs` last (foreign keys).  *names is malloc'd, NULL-terminated. */
static int run_tables(sqlite3 *db, char ***names)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db,
		"SELECT m.name FROM sqlite_master m WHERE m.type = 'table' AND m.name <> 'runs'"
		" AND EXISTS (SELECT 1 FROM pragma_table_info(m.name) p WHERE p.name = 'run_id')"
		" ORDER BY m.name", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	size_t n = 0, cap = 16;
	char **v = calloc(cap + 2, sizeof *v);
	if (v == NULL) {
		sqlite3_finalize(st);
		return SQLITE_NOMEM;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			char **p = realloc(v, (2 * cap + 2) * sizeof *v);
			if (p == NULL) {
				rc = SQLITE_NOMEM;
				break;
			}
			v = p;
			cap *= 2;
		}
		if ((v[n] = strdup(store__col_text(st, 0))) == NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
		v[++n] = NULL;
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE && (v[n] = strdup("runs")) == NULL)
		rc = SQLITE_NOMEM;
	else if (rc == SQLITE_DONE)
		v[++n] = NULL, rc = SQLITE_OK;
	if (rc != SQLITE_OK) {
		for (size_t i = 0; v[i]; i++)
			free(v[i]);
		free(v);
		return rc;
	}
	*names = v;
	return SQLITE_OK;
}

static void free_names(char **names)
{
	for (size_t i = 0; names && names[i]; i++)
		free(names[i]);
	free(names);
}

/* Inside a write transaction: describes run id into *d; SQLITE_DONE when
 * there is no such run. */
static int describe_run(sqlite3 *db, int64_t id, store_deleted *d)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, "SELECT complete, started_at, scenario_name FROM runs WHERE id = ?1",
	                            -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*d = (store_deleted){ .id = id, .complete = sqlite3_column_int(st, 0) != 0 };
		snprintf(d->started_at, sizeof d->started_at, "%s", store__col_text(st, 1));
		snprintf(d->scenario_name, sizeof d->scenario_name, "%s", store__col_text(st, 2));
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

/* Inside a write transaction: every row of each run in ids[0..n).
 * O(rows deleted + tables x runs x log rows): every table's key begins
 * with run_id. */
static int delete_rows(sqlite3 *db, const int64_t *ids, size_t n, const char **what)
{
	char **tables = NULL;
	*what = "finding the run's tables";
	int rc = run_tables(db, &tables);
	if (rc != SQLITE_OK)
		return rc;
	for (size_t t = 0; tables[t] && rc == SQLITE_OK; t++) {
		sqlite3_stmt *st = NULL;
		/* The name comes from the file's own schema: quoted, not trusted. */
		char *q = sqlite3_mprintf("DELETE FROM \"%w\" WHERE %s = ?1", tables[t],
		                          strcmp(tables[t], "runs") == 0 ? "id" : "run_id");
		if (q == NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
		*what = "deleting the run's rows";
		rc = sqlite3_prepare_v2(db, q, -1, &st, NULL);
		sqlite3_free(q);
		for (size_t i = 0; i < n && rc == SQLITE_OK; i++) {
			sqlite3_bind_int64(st, 1, ids[i]);
			rc = sqlite3_step(st);
			sqlite3_reset(st);
			rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
		}
		sqlite3_finalize(st);
	}
	free_names(tables);
	return rc;
}

static int cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* Deletes ids[0..n) (sorted, distinct) in the open write transaction
 * and commits (or, dry_run, rolls back).  Describes them in *out. */
static int delete_and_commit(sqlite3 *db, const int64_t *ids, size_t n, bool dry_run, store_deleted **out,
                             size_t *n_out, char *err, size_t err_size)
{
	const char *what = "reading the runs";
	store_deleted *d = calloc(n ? n : 1, sizeof *d);
	int rc = d ? SQLITE_OK : SQLITE_NOMEM;
	for (size_t i = 0; i < n && rc == SQLITE_OK; i++) {
		rc = describe_run(db, ids[i], &d[i]);
		if (rc == SQLITE_DONE) {
			int64_t last = 0;
			store__query_int(db, "SELECT coalesce(max(id), 0) FROM runs", &last);
			store__set_err(err, err_size, last > 0 ? "%s: no run %lld (run ids go up to %lld; see: throttlesim"
			               " results list); nothing deleted" : "%s: no run %lld (no runs); nothing deleted",
			               store__db_path(db), (long long)ids[i], (long long)last);
			store__exec(db, "ROLLBACK");
			free(d);
			return SIM_EINVAL;
		}
	}
	if (rc == SQLITE_OK && !dry_run)
		rc = delete_rows(db, ids, n, &what);
	if (rc == SQLITE_OK && (dry_run ? store__exec(db, "ROLLBACK") : store__exec(db, "COMMIT")) != SQLITE_OK) {
		what = "committing the deletion";
		rc = sqlite3_errcode(db);
	}
	if (rc != SQLITE_OK) {
		if (rc == SQLITE_NOMEM)
			store__set_err(err, err_size, "%s: out of memory deleting runs", store__db_path(db));
		else
			store__db_err(db, NULL, what, err, err_size);
		store__exec(db, "ROLLBACK");
		free(d);
		return rc == SQLITE_NOMEM ? SIM_ENOMEM : SIM_ESTORE;
	}
	*out = d;
	*n_out = n;
	return SIM_OK;
}

int store_delete_runs(sqlite3 *db, const int64_t *ids, size_t n, store_deleted **out, size_t *n_out,
                      char *err, size_t err_size)
{
	if (db == NULL || (n > 0 && ids == NULL) || out == NULL || n_out == NULL) {
		store__set_err(err, err_size, "store_delete_runs: invalid argument");
		return SIM_EINVAL;
	}
	int64_t *sorted = malloc((n ? n : 1) * sizeof *sorted);
	if (sorted == NULL) {
		store__set_err(err, err_size, "%s: out of memory deleting runs", store__db_path(db));
		return SIM_ENOMEM;
	}
	memcpy(sorted, ids, n * sizeof *ids);
	qsort(sorted, n, sizeof *sorted, cmp_id);
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (m == 0 || sorted[i] != sorted[m - 1])
			sorted[m++] = sorted[i];
	if (store__exec(db, "BEGIN IMMEDIATE") != SQLITE_OK) {
		free(sorted);
		return store__db_err(db, NULL, "starting to delete runs", err, err_size);
	}
	int st = delete_and_commit(db, sorted, m, false, out, n_out, err, err_size);
	free(sorted);
	return st;
}

int store_prune(sqlite3 *db, int64_t keep, bool dry_run, store_deleted **out, size_t *n_out,
                int64_t *n_kept, char *err, size_t err_size)
{
	if (db == NULL || keep < 0 || out == NULL || n_out == NULL) {
		store__set_err(err, err_size, "store_prune: invalid argument");
		return SIM_EINVAL;
	}
	if (store__exec(db, "BEGIN IMMEDIATE") != SQLITE_OK)
		return store__db_err(db, NULL, "starting to prune", err, err_size);
	/* The cut: the oldest kept run; with none kept, just after the
	 * newest complete run; with no complete run, nothing goes.  Every
	 * run older than the cut is deleted, complete or not; incomplete
	 * runs newer than it stay (one may still be running). */
	int64_t cut = 0, kept = 0;
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db,
		"SELECT count(*), coalesce(min(id), (SELECT coalesce(max(id) + 1, 0) FROM runs WHERE complete = 1))"
		" FROM (SELECT id FROM runs WHERE complete = 1 ORDER BY id DESC LIMIT ?1)", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, keep);
		if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			kept = sqlite3_column_int64(st, 0);
			cut = kept > 0 || keep == 0 ? sqlite3_column_int64(st, 1) : 0;
			rc = SQLITE_OK;
		}
	}
	sqlite3_finalize(st);
	st = NULL;
	int64_t *ids = NULL;
	size_t n = 0, cap = 0;
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, "SELECT id FROM runs WHERE id < ?1 ORDER BY id", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, cut);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			if (n == cap) {
				cap = cap ? 2 * cap : 64;
				int64_t *p = realloc(ids, cap * sizeof *p);
				if (p == NULL) {
					rc = SQLITE_NOMEM;
					break;
				}
				ids = p;
			}
			ids[n++] = sqlite3_column_int64(st, 0);
		}
		rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_OK) {
		if (rc == SQLITE_NOMEM)
			store__set_err(err, err_size, "%s: out of memory pruning runs", store__db_path(db));
		else
			store__db_err(db, NULL, "choosing the runs to delete", err, err_size);
		store__exec(db, "ROLLBACK");
		free(ids);
		return rc == SQLITE_NOMEM ? SIM_ENOMEM : SIM_ESTORE;
	}
	int status = delete_and_commit(db, ids, n, dry_run, out, n_out, err, err_size);
	free(ids);
	if (status == SIM_OK && n_kept != NULL)
		*n_kept = kept;
	return status;
}

static int64_t file_bytes(const char *path, const char *suffix)
{
	char name[4200];
	struct stat sb;
	snprintf(name, sizeof name, "%s%s", path, suffix);
	return stat(name, &sb) == 0 ? (int64_t)sb.st_size : 0;
}

int store_compact(sqlite3 *db, store_compacted *out, char *err, size_t err_size)
{
	if (db == NULL || out == NULL) {
		store__set_err(err, err_size, "store_compact: invalid argument");
		return SIM_EINVAL;
	}
	const char *path = store__db_path(db);
	store_compacted c = { .bytes_before = file_bytes(path, "") + file_bytes(path, "-wal") };
	/* VACUUM rebuilds the file without its free pages (under the write
	 * lock, which it waits for as any write does; readers go on reading
	 * their snapshot).  Its pages go through the WAL: the main file takes
	 * its new size when a checkpoint copies every frame back, and the
	 * -wal file only shrinks with a TRUNCATE checkpoint.  That checkpoint
	 * waits for readers of older snapshots: for STORE_COMPACT_WAIT_MS at
	 * most (a reader that stays longer only delays the shrinking: the next
	 * writer's checkpoint finishes it). */
	if (store__exec(db, "VACUUM") != SQLITE_OK)
		return store__db_err(db, NULL, "compacting the file (VACUUM)", err, err_size);
	busy_state *b = busy_of(db);
	int64_t saved = b ? b->limit_ms : 0;
	if (b)
		b->limit_ms = STORE_COMPACT_WAIT_MS;
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, "PRAGMA wal_checkpoint(TRUNCATE)", -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		c.complete = sqlite3_column_int(st, 0) == 0;
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	if (b)
		b->limit_ms = saved;
	if (rc == SQLITE_BUSY) {
		rc = SQLITE_OK;
		c.complete = false;
	}
	if (rc != SQLITE_OK)
		return store__db_err(db, NULL, "compacting the file (checkpoint)", err, err_size);
	c.bytes_after = file_bytes(path, "") + file_bytes(path, "-wal");
	*out = c;
	return SIM_OK;
}
