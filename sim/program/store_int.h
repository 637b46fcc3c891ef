/* store_int.h - what the store's files (store.c: schema, opening, runs;
 * store_write.c: writing results; store_read.c: reading them back) share.
 * Not part of the store's contract (store.h); the store__ prefix marks it. */
#ifndef SIM_STORE_INT_H
#define SIM_STORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "store.h"

/* Formats a message into err (nothing if err is NULL or size 0). */
void store__set_err(char *err, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The file's name for messages: the main database's path. */
const char *store__db_path(sqlite3 *db);
/* "<file>: <sqlite message>[ (hint)][ (while what)]" into err; SIM_ESTORE. */
int store__db_err(sqlite3 *db, const char *path, const char *what, char *err, size_t size);
/* sqlite3_exec without callbacks. */
int store__exec(sqlite3 *db, const char *sql);
/* One integer from a query of one row (0 for no row); the step's rc. */
int store__query_int(sqlite3 *db, const char *sql, int64_t *out);
/* Binds s (NULL: SQL NULL) / x (not finite: SQL NULL). */
int store__bind_text(sqlite3_stmt *st, int i, const char *s);
int store__bind_real(sqlite3_stmt *st, int i, double x);
/* Column i as text ("" for NULL) / as a double (NaN for NULL). */
const char *store__col_text(sqlite3_stmt *st, int i);
double store__col_real(sqlite3_stmt *st, int i);

/* The columns of a runs row as read_run_row reads them. */
#define RUN_COLUMNS \
	"id, started_at, finished_at, complete, program_version, scenario_name, scenario_file," \
	" command_line, scenario_text, seed, replications," \
	" (SELECT count(*) FROM variants v WHERE v.run_id = runs.id)"

/* Bounds of what is read back (what the loader lets a scenario have, so
 * what a writer can have stored): names, texts (a scenario file's text,
 * a command line), replications. */
#define STORE_MAX_NAME_BYTES 1024
#define STORE_MAX_TEXT_BYTES ((size_t)64 << 20)
#define STORE_MAX_REPLICATIONS 1000000

/* Column i is TEXT (or NULL when null_ok) without NUL bytes, at most max
 * bytes / an INTEGER in [lo, hi]. */
bool store__text_ok(sqlite3_stmt *st, int i, size_t max, bool null_ok);
bool store__int_ok(sqlite3_stmt *st, int i, int64_t lo, int64_t hi);

/* The row's strings point into st: valid until the next step.  SIM_OK,
 * or SIM_ESTORE with a message naming the file and the column. */
int store__read_run_row(sqlite3_stmt *st, store_run_row *r, char *err, size_t err_size);

#endif
