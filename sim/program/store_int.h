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

/* ---- schema 3: values packed into blobs (store_blob.c) ----------------------
 *
 * An unsigned number is a varint: 7 bits a byte, least significant group
 * first, the high bit set on every byte but the last (at most 10 bytes).
 * A value (a figure, a mean, a delay point) is a varint u: 0 for none
 * (NULL, NaN: what SQL NULL was), 1 followed by the double's 8 bytes in
 * little-endian order (bit for bit, -0.0 included), or u >= 2 for a whole
 * number i with |i| <= 2^53 (not -0.0), u = 2 + zigzag(i).  Counts are 1
 * byte below 128, whole values 1 byte within -63..62 and the rest 9: the
 * bytes depend on nothing but the values, so the same run gives the same
 * file on any machine. */
typedef struct store__buf {
	unsigned char *p;
	size_t n, cap;
	bool oom;           /* an allocation failed: p holds what fitted */
} store__buf;

void store__put_uint(store__buf *b, uint64_t x);
void store__put_value(store__buf *b, double x);
void store__buf_free(store__buf *b);

/* Reading a blob: every get checks the bytes left; a truncated or
 * malformed blob sets bad (and the gets return 0 from then on). */
typedef struct store__cur {
	const unsigned char *p;
	size_t n, at;
	bool bad;
} store__cur;

uint64_t store__get_uint(store__cur *c);
/* A count that must be <= max (else bad). */
uint64_t store__get_count(store__cur *c, uint64_t max);
/* NaN for none; a stored double must be finite (bad otherwise). */
double store__get_value(store__cur *c);
/* The whole blob read, nothing left over, nothing bad. */
static inline bool store__cur_done(const store__cur *c)
{
	return !c->bad && c->at == c->n;
}

#endif
