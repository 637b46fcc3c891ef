/* test_store_faults.c - the results file under faults, through the built
 * program (THROTTLESIM_BIN, default build/debug/throttlesim; run from the
 * repository root), and the read commands (`throttlesim results`).
 *
 * Each fault must give a clear error (exit status 1, the file named) or
 * leave a consistent file; no earlier run may be lost.  "Not lost" is
 * checked strictly: `results export 1 --format json` is byte-identical
 * before and after the fault.  What each test does:
 *
 *   read-only directory  non-root: chmod 0555.  root (permissions do not
 *                        apply): a read-only bind mount when mount(2) is
 *                        allowed, and always a path whose parent is a
 *                        regular file.
 *   full disk            SQLite's max_page_count (THROTTLESIM_TEST_STORE_GROW_PAGES)
 *                        fails the results transaction with SQLITE_FULL;
 *                        and, when mount(2) is allowed, a real 2 MB tmpfs
 *                        filled up by another file.
 *   corrupt / foreign    pages overwritten in the middle of a valid store,
 *                        a text file, another program's SQLite file: refused,
 *                        byte-identical afterwards.
 *   kill -9, Ctrl-C      SIGKILL / SIGINT while a long run simulates;
 *                        SIGKILL while the results transaction has spilled
 *                        to the -wal file, and at instants spread over a run
 *                        whose time goes mostly to writing results.
 *   two writers          three runs at once on one new file (three rounds).
 */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE /* mkdtemp, fork, mount, kill */
#endif

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

static char dir[128];

static const char *bin(void)
{
	const char *b = getenv("THROTTLESIM_BIN");
	return b ? b : "build/debug/throttlesim";
}

/* A short run: 20 mailboxes, 4 replications, 0.1 s in a debug build. */
static const char small_yaml[] =
	"name: faults-small\n"
	"duration: 2h\n"
	"seed: 7\n"
	"replications: 4\n"
	"mailboxes:\n"
	"  - {pool: m, count: 20, name_pattern: \"m{i}@contoso.com\"}\n"
	"senders:\n"
	"  - name: app\n"
	"    count: 20\n"
	"    mailbox: {pool: m, assign: per_instance}\n"
	"    arrivals: {poisson: 10/h}\n";

/* Results that take longer to write than to simulate: 200 mailboxes,
 * 100 replications, ten minutes; about 4 MB a run (packed, schema 3),
 * more than SQLite's page cache, so the transaction spills to the -wal
 * file before it commits. */
static const char wide_yaml[] =
	"name: faults-wide\n"
	"duration: 10m\n"
	"seed: 7\n"
	"replications: 100\n"
	"mailboxes:\n"
	"  - {pool: m, count: 200, name_pattern: \"m{i}@contoso.com\"}\n"
	"senders:\n"
	"  - name: app\n"
	"    count: 200\n"
	"    mailbox: {pool: m, assign: per_instance}\n"
	"    arrivals: {poisson: 10/h}\n";

/* Large results that take a while to simulate (seconds in a debug
 * build): 200 mailboxes, 6 replications, 72,000 messages each. */
static const char big_yaml[] =
	"name: faults-big\n"
	"duration: 1h\n"
	"seed: 7\n"
	"replications: 6\n"
	"mailboxes:\n"
	"  - {pool: m, count: 200, name_pattern: \"m{i}@contoso.com\"}\n"
	"senders:\n"
	"  - name: app\n"
	"    count: 200\n"
	"    mailbox: {pool: m, assign: per_instance}\n"
	"    arrivals: {poisson: 600/h}\n";

/* A run that takes minutes: it is always killed. */
static const char long_yaml[] =
	"name: faults-long\n"
	"duration: 30d\n"
	"seed: 7\n"
	"replications: 200\n"
	"mailboxes:\n"
	"  - {pool: m, count: 200, name_pattern: \"m{i}@contoso.com\"}\n"
	"senders:\n"
	"  - name: app\n"
	"    count: 2000\n"
	"    mailbox: {pool: m, assign: round_robin}\n"
	"    arrivals: {poisson: 10/h}\n";

/* ---- helpers ------------------------------------------------------------------ */

/* parent/name into buf; a path too long for buf fails the test. */
static char *sub_path(char *buf, size_t size, const char *parent, const char *name)
{
	int n = snprintf(buf, size, "%s/%s", parent, name);
	assert_true(n > 0 && (size_t)n < size);
	return buf;
}

static char *path_in(char *buf, size_t size, const char *name)
{
	return sub_path(buf, size, dir, name);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *s = malloc((size_t)n + 1);
	assert_non_null(s);
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	s[n] = 0;
	fclose(f);
	if (len)
		*len = (size_t)n;
	return s;
}

/* Runs "<bin> <args>" with stdout and stderr captured (either may be
 * NULL); returns the exit status, -1 if it did not exit. */
static int run(char **out, char **err, const char *fmt, ...)
{
	char args[2048], line[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof args, fmt, ap);
	va_end(ap);
	snprintf(line, sizeof line, "%s %s >%s/stdout 2>%s/stderr", bin(), args, dir, dir);
	int st = system(line);
	char p[512];
	if (out)
		*out = slurp(path_in(p, sizeof p, "stdout"), NULL);
	if (err)
		*err = slurp(path_in(p, sizeof p, "stderr"), NULL);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The same, with one environment variable set for the child. */
static int run_env(const char *env, char **err, const char *fmt, ...)
{
	char args[2048], line[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof args, fmt, ap);
	va_end(ap);
	snprintf(line, sizeof line, "%s %s %s >/dev/null 2>%s/stderr", env, bin(), args, dir);
	int st = system(line);
	char p[512];
	if (err)
		*err = slurp(path_in(p, sizeof p, "stderr"), NULL);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#define assert_contains(hay, needle) \
	do { \
		if ((hay) == NULL || strstr((hay), (needle)) == NULL) \
			fail_msg("expected '%s' in: %s", (needle), (hay) ? (hay) : "(null)"); \
	} while (0)

static void copy_file(const char *from, const char *to)
{
	size_t n;
	char *data = slurp(from, &n);
	assert_non_null(data);
	FILE *f = fopen(to, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
	free(data);
}

/* A fresh store at db holding one complete run of scenario; returns its
 * JSON export (the reference that must survive every fault).  The run is
 * made once per scenario and its file copied (after `run` exits the -wal
 * is checkpointed away, so the main file is the whole store): runs are
 * slow under the sanitizers. */
static char *store_with_one_run_of(const char *db, const char *scenario)
{
	static struct { char scenario[32], path[512]; char *json; } cache[4];
	size_t i = 0;
	while (i < 4 && cache[i].json != NULL && strcmp(cache[i].scenario, scenario) != 0)
		i++;
	assert_true(i < 4);
	if (cache[i].json == NULL) {
		char scn[512], name[64], *err = NULL;
		snprintf(name, sizeof name, "ref-%s.db", scenario);
		path_in(cache[i].path, sizeof cache[i].path, name);
		int st = run(NULL, &err, "run %s --quiet --db %s", path_in(scn, sizeof scn, scenario),
		             cache[i].path);
		if (st != 0)
			fail_msg("first run failed (%d): %s", st, err);
		free(err);
		assert_int_equal(run(&cache[i].json, NULL, "results export 1 --format json --db %s",
		                     cache[i].path), 0);
		snprintf(cache[i].scenario, sizeof cache[i].scenario, "%s", scenario);
	}
	unlink(db);
	copy_file(cache[i].path, db);
	char *json = strdup(cache[i].json);
	assert_non_null(json);
	return json;
}

static char *store_with_one_run(const char *db)
{
	return store_with_one_run_of(db, "small.yaml");
}

static void assert_run1_intact(const char *db, const char *reference)
{
	char *out = NULL, *err = NULL;
	int st = run(&out, &err, "results export 1 --format json --db %s", db);
	if (st != 0)
		fail_msg("export of run 1 failed (%d): %s", st, err);
	assert_string_equal(out, reference);
	free(out);
	free(err);
}

/* One integer from SQL, on a connection of our own. */
static int64_t sql_int(const char *db, const char *sql)
{
	sqlite3 *h = NULL;
	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(h, 10000);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(h));
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

static void assert_integrity_ok(const char *db)
{
	sqlite3 *h = NULL;
	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	sqlite3_close(h);
}

static const char *const result_tables[] = { "variants", "replications", "replication_data", "variant_data",
                                             "names", "entities" };
enum { N_TABLES = sizeof result_tables / sizeof result_tables[0] };

/* Rows of run id in every result table. */
static void rows_of(const char *db, int64_t id, int64_t rows[N_TABLES])
{
	for (int t = 0; t < N_TABLES; t++) {
		char sql[128];
		snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE run_id = %lld", result_tables[t],
		         (long long)id);
		rows[t] = sql_int(db, sql);
	}
}

/* A run that is incomplete has none of its results; a complete one all of
 * them (as many rows as the reference run of the same scenario). */
static void assert_all_or_nothing(const char *db, int64_t id, const int64_t ref[N_TABLES])
{
	char sql[96];
	snprintf(sql, sizeof sql, "SELECT complete FROM runs WHERE id = %lld", (long long)id);
	int64_t complete = sql_int(db, sql);
	int64_t rows[N_TABLES];
	rows_of(db, id, rows);
	bool none = true, all = true;
	for (int t = 0; t < N_TABLES; t++) {
		none = none && rows[t] == 0;
		all = all && rows[t] == ref[t];
	}
	if (complete ? !all : !(none || all))
		fail_msg("run %lld (complete = %lld): %lld variants, %lld replications' results, %lld variants' summaries",
		         (long long)id, (long long)complete, (long long)rows[0], (long long)rows[2],
		         (long long)rows[3]);
}

static bool same_file(const char *path, const char *before, size_t n_before)
{
	size_t n;
	char *after = slurp(path, &n);
	bool same = after != NULL && n == n_before && memcmp(before, after, n) == 0;
	free(after);
	return same;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Starts "<bin> run scenario --quiet --jobs 1 --db db" in the background,
 * its standard error to errfile (NULL: discarded). */
static pid_t start_run_err(const char *scenario, const char *db, const char *errfile)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		int err = errfile ? open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0644) : null;
		if (null >= 0)
			dup2(null, STDOUT_FILENO);
		if (err >= 0)
			dup2(err, STDERR_FILENO);
		execl(bin(), bin(), "run", scenario, "--quiet", "--jobs", "1", "--db", db, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static pid_t start_run(const char *scenario, const char *db)
{
	return start_run_err(scenario, db, NULL);
}

/* Waits (at most 20 s) until the store holds more than n runs. */
static void wait_for_runs(const char *db, int64_t n)
{
	double t0 = now_s();
	while (now_s() - t0 < 20) {
		sqlite3 *h = NULL;
		if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
			sqlite3_stmt *st = NULL;
			int64_t runs = -1;
			if (sqlite3_prepare_v2(h, "SELECT count(*) FROM runs", -1, &st, NULL) == SQLITE_OK &&
			    sqlite3_step(st) == SQLITE_ROW)
				runs = sqlite3_column_int64(st, 0);
			sqlite3_finalize(st);
			sqlite3_close(h);
			if (runs > n)
				return;
		} else {
			sqlite3_close(h);
		}
		sleep_s(0.005);
	}
	fail_msg("no new run appeared in %s", db);
}

/* mount(2) needs CAP_SYS_ADMIN; tests that use it skip their part when
 * it is refused. */
static bool bind_readonly(const char *src, const char *dst)
{
	if (mount(src, dst, NULL, MS_BIND, NULL) != 0)
		return false;
	if (mount(NULL, dst, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) != 0) {
		umount2(dst, MNT_DETACH);
		return false;
	}
	return true;
}

/* ---- setup ------------------------------------------------------------------- */

static int group_setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/test_store_faults_XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	char p[512];
	write_text(path_in(p, sizeof p, "small.yaml"), small_yaml);
	write_text(path_in(p, sizeof p, "long.yaml"), long_yaml);
	write_text(path_in(p, sizeof p, "wide.yaml"), wide_yaml);
	write_text(path_in(p, sizeof p, "big.yaml"), big_yaml);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	char cmd[512];
	/* mounts left behind by a failed test */
	umount2(path_in(cmd, sizeof cmd, "tmpfs"), MNT_DETACH);
	umount2(path_in(cmd, sizeof cmd, "rodir"), MNT_DETACH);
	if (snprintf(cmd, sizeof cmd, "chmod -R u+w '%s' 2>/dev/null; rm -rf '%s'", dir, dir) >= (int)sizeof cmd)
		return -1;
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- the read commands ------------------------------------------------------ */

static void test_results_commands(void **state)
{
	(void)state;
	char db[512], missing[512], scn[512], *out = NULL, *err = NULL, *table = NULL, *csv = NULL;
	path_in(db, sizeof db, "read.db");
	path_in(missing, sizeof missing, "missing.db");
	path_in(scn, sizeof scn, "small.yaml");
	unlink(db);
	assert_int_equal(run(&table, NULL, "run %s --quiet --db %s", scn, db), 0);
	assert_int_equal(run(&csv, NULL, "run %s --quiet --db %s --format csv", scn, db), 0);

	/* list: both runs, complete */
	assert_int_equal(run(&out, NULL, "results list --db %s", db), 0);
	assert_contains(out, "    1  ");
	assert_contains(out, "    2  ");
	assert_contains(out, "complete     faults-small");
	free(out);

	/* show: the record, then exactly the table `run` printed */
	size_t n_db;
	char *db_before = slurp(db, &n_db);
	assert_int_equal(run(&out, NULL, "results show 1 --db %s", db), 0);
	assert_contains(out, "run 1 in ");
	assert_contains(out, "seed         7\n");
	char *t = strstr(out, "\nthrottlesim ");
	assert_non_null(t);
	assert_string_equal(t + 1, table);
	free(out);

	/* export csv: one writer for `run --format csv` and the export, so the
	 * same bytes (run 2 is the csv run); twice the same bytes */
	char *csv2 = NULL;
	assert_int_equal(run(&out, NULL, "results export last --format csv --db %s", db), 0);
	assert_int_equal(run(&csv2, NULL, "results export 2 --format csv --db %s", db), 0);
	assert_string_equal(out, csv2);
	assert_string_equal(out, csv);
	assert_contains(out, ",n,rep0,rep1,rep2,rep3\n"); /* replications: 4 */
	free(out);
	free(csv2);

	/* export json: deterministic, and `run --format json`'s document with
	 * the store's record of the run added after the seed */
	char *j1 = NULL, *j2 = NULL, *jrun = NULL;
	assert_int_equal(run(&j1, NULL, "results export 1 --format json --db %s", db), 0);
	assert_int_equal(run(&j2, NULL, "results export 1 --format json --db %s", db), 0);
	assert_string_equal(j1, j2);
	assert_contains(j1, "\"format\": \"throttlesim-results\"");
	assert_contains(j1, "\"complete\": true");
	char db2[512];
	path_in(db2, sizeof db2, "read-json.db");
	unlink(db2);
	assert_int_equal(run(&jrun, NULL, "run %s --quiet --db %s --format json", scn, db2), 0);
	char *rb = strstr(j1, "  \"run\": {\n");
	assert_non_null(rb);
	char *re = strstr(rb, "\n  },\n");
	assert_non_null(re);
	memmove(rb, re + strlen("\n  },\n"), strlen(re + strlen("\n  },\n")) + 1);
	assert_string_equal(j1, jrun);
	free(j1);
	free(j2);
	free(jrun);

	/* reading never writes to the file */
	assert_true(same_file(db, db_before, n_db));
	free(db_before);

	/* unknown run: exit 2, says so */
	assert_int_equal(run(NULL, &err, "results show 99 --db %s", db), 2);
	assert_contains(err, "no run 99");
	free(err);
	assert_int_equal(run(NULL, &err, "results export x --format csv --db %s", db), 2);
	free(err);
	assert_int_equal(run(NULL, &err, "results export 1 --db %s", db), 2);
	free(err);
	assert_int_equal(run(NULL, &err, "results frobnicate"), 2);
	free(err);
	assert_int_equal(run(&out, NULL, "results show --help"), 0);
	assert_contains(out, "usage: throttlesim results show");
	free(out);

	/* a missing file: exit 1, named, not created */
	assert_int_equal(run(NULL, &err, "results list --db %s", missing), 1);
	assert_contains(err, missing);
	assert_contains(err, "no such file");
	free(err);
	assert_int_equal(run(NULL, &err, "results show last --db %s", missing), 1);
	free(err);
	struct stat sb;
	assert_int_equal(stat(missing, &sb), -1);
	free(table);
	free(csv);
}

/* ---- read-only directory ------------------------------------------------------ */

static void test_readonly_directory(void **state)
{
	(void)state;
	char scn[512], file[512], under_file[512], *err = NULL, *out = NULL;
	path_in(scn, sizeof scn, "small.yaml");

	/* A directory that cannot be made, whoever we are: its parent is a
	 * regular file. */
	write_text(path_in(file, sizeof file, "plainfile"), "x\n");
	sub_path(under_file, sizeof under_file, file, "results.db");
	assert_int_equal(run(NULL, &err, "run %s --quiet --db %s", scn, under_file), 1);
	assert_contains(err, under_file);
	assert_contains(err, "unable to open database file");
	free(err);

	/* A read-only directory: a store that is there, and one to create. */
	char rw[512], ro[512], db_rw[512], db_ro[512], new_ro[512];
	path_in(rw, sizeof rw, "rwdir");
	path_in(ro, sizeof ro, "rodir");
	assert_int_equal(mkdir(rw, 0755), 0);
	sub_path(db_rw, sizeof db_rw, rw, "results.db");
	char *ref = store_with_one_run(db_rw);
	bool root = geteuid() == 0, mounted = false;
	if (root) {
		assert_int_equal(mkdir(ro, 0755), 0);
		mounted = bind_readonly(rw, ro);
		if (!mounted) {
			print_message("note: root without mount(2): read-only directory part skipped\n");
			free(ref);
			return;
		}
	} else {
		assert_int_equal(chmod(rw, 0555), 0);
		snprintf(ro, sizeof ro, "%s", rw);
	}
	sub_path(db_ro, sizeof db_ro, ro, "results.db");
	sub_path(new_ro, sizeof new_ro, ro, "new.db");
	size_t n;
	char *before = slurp(db_ro, &n);

	assert_int_equal(run(NULL, &err, "run %s --quiet --db %s", scn, new_ro), 1);
	assert_contains(err, new_ro);
	assert_contains(err, "read-only directory");
	free(err);
	assert_int_equal(run(NULL, &err, "run %s --quiet --db %s", scn, db_ro), 1);
	assert_contains(err, db_ro);
	assert_contains(err, "read-only");
	free(err);
	/* the store is still readable there, and unchanged */
	assert_int_equal(run(&out, &err, "results list --db %s", db_ro), 0);
	assert_contains(out, "complete     faults-small");
	free(out);
	free(err);
	assert_run1_intact(db_ro, ref);
	assert_true(same_file(db_ro, before, n));

	if (mounted)
		assert_int_equal(umount2(ro, MNT_DETACH), 0);
	else
		assert_int_equal(chmod(rw, 0755), 0);
	free(before);
	free(ref);
}

/* ---- full disk ----------------------------------------------------------------- */

static void test_full_disk_page_limit(void **state)
{
	(void)state;
	char db[512], scn[512], *err = NULL;
	path_in(db, sizeof db, "full.db");
	path_in(scn, sizeof scn, "small.yaml");
	char *ref = store_with_one_run(db);
	int64_t ref_rows[N_TABLES];
	rows_of(db, 1, ref_rows);

	/* The file may grow by 2 pages: enough for the run's row, not for
	 * its results (hundreds of pages). */
	int st = run_env("THROTTLESIM_TEST_STORE_GROW_PAGES=2", &err, "run %s --quiet --db %s", scn, db);
	assert_int_equal(st, 1);
	assert_contains(err, db);
	assert_contains(err, "database or disk is full");
	free(err);

	assert_integrity_ok(db);
	assert_run1_intact(db, ref);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM runs"), 2);
	assert_int_equal(sql_int(db, "SELECT complete FROM runs WHERE id = 2"), 0);
	int64_t rows[N_TABLES];
	rows_of(db, 2, rows);
	for (int t = 0; t < N_TABLES; t++)
		assert_int_equal(rows[t], 0);

	/* with room again, the next run is stored whole */
	assert_int_equal(run(NULL, NULL, "run %s --quiet --db %s", scn, db), 0);
	assert_int_equal(sql_int(db, "SELECT complete FROM runs WHERE id = 3"), 1);
	assert_all_or_nothing(db, 3, ref_rows);
	free(ref);
}

/* A real full file system: a 2 MB tmpfs, filled by another file. */
static void test_full_disk_tmpfs(void **state)
{
	(void)state;
	char mnt[512], db[512], scn[512], *err = NULL;
	path_in(mnt, sizeof mnt, "tmpfs");
	path_in(scn, sizeof scn, "small.yaml");
	assert_int_equal(mkdir(mnt, 0755), 0);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=2m") != 0) {
		print_message("note: mount(2) refused (%s): real full-disk test skipped\n", strerror(errno));
		skip();
	}
	sub_path(db, sizeof db, mnt, "results.db");
	char *ref = store_with_one_run(db);
	int64_t ref_rows[N_TABLES];
	rows_of(db, 1, ref_rows);

	/* Fill the file system in 4 KB files, then free 24 of them: room
	 * for the -shm file and the run's row, not for its results. */
	char fill[600];
	int n_fill = 0;
	char block[4096];
	memset(block, 0x5a, sizeof block);
	for (;; n_fill++) {
		snprintf(fill, sizeof fill, "%s/fill%d", mnt, n_fill);
		int fd = open(fill, O_WRONLY | O_CREAT, 0644);
		if (fd < 0)
			break;
		ssize_t w = write(fd, block, sizeof block);
		close(fd);
		if (w != (ssize_t)sizeof block) {
			unlink(fill);
			break;
		}
	}
	assert_true(n_fill > 24);
	for (int i = 0; i < 24; i++) {
		snprintf(fill, sizeof fill, "%s/fill%d", mnt, n_fill - 1 - i);
		unlink(fill);
	}

	int st = run(NULL, &err, "run %s --quiet --db %s", scn, db);
	assert_int_equal(st, 1);
	assert_contains(err, db);
	assert_contains(err, "database or disk is full");
	free(err);
	/* Whether the run's row fitted or not, nothing of its results is
	 * there, and run 1 is whole. */
	assert_integrity_ok(db);
	assert_run1_intact(db, ref);
	int64_t runs = sql_int(db, "SELECT count(*) FROM runs");
	assert_true(runs == 1 || runs == 2);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM runs WHERE complete = 1"), 1);
	if (runs == 2)
		assert_all_or_nothing(db, 2, ref_rows);

	/* A commit left in the -wal file by a writer that died (no checkpoint
	 * at close), then the disk filled up to the last byte. */
	for (int i = 0; i < 16 && n_fill > 0; i++) {
		snprintf(fill, sizeof fill, "%s/fill%d", mnt, --n_fill);
		unlink(fill);
	}
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		sqlite3 *h = NULL;
		int rc = sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(h, "PRAGMA wal_autocheckpoint = 0; INSERT INTO runs (started_at,"
			                     " program_version, scenario_name, seed, replications) VALUES"
			                     " ('2000-01-01T00:00:00Z', 'x', 'only-in-the-wal', 1, 1)", NULL, NULL, NULL);
		_exit(rc == SQLITE_OK ? 0 : 1);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* The -shm file is rebuilt from the -wal by the next reader (no
	 * process has it open); on a full disk it cannot grow. */
	char shm[600];
	snprintf(shm, sizeof shm, "%s-shm", db);
	unlink(shm);
	for (size_t size = sizeof block; size > 0; size /= 2) {
		for (;; n_fill++) {
			snprintf(fill, sizeof fill, "%s/fill%d", mnt, n_fill);
			int fd = open(fill, O_WRONLY | O_CREAT, 0644);
			if (fd < 0)
				break;
			ssize_t w = write(fd, block, size);
			close(fd);
			if (w != (ssize_t)size) {
				unlink(fill);
				break;
			}
		}
	}
	char *out = NULL;
	st = run(&out, &err, "results list --db %s", db);
	if (st != 0)
		fail_msg("results list on a full disk: %d: %s", st, err);
	assert_contains(out, "faults-small");
	assert_contains(out, "only-in-the-wal");
	free(out);
	free(err);
	assert_run1_intact(db, ref);

	/* Writing says why it cannot. */
	st = run(NULL, &err, "run %s --quiet --db %s", scn, db);
	assert_int_equal(st, 1);
	assert_contains(err, db);
	assert_contains(err, "disk is full");
	free(err);
	assert_run1_intact(db, ref);

	/* (That the file takes runs again once there is room is shown by
	 * test_full_disk_page_limit; runs are slow under the sanitizers.) */
	assert_int_equal(umount2(mnt, MNT_DETACH), 0);
	free(ref);
}

/* ---- corrupt and foreign files ---------------------------------------------- */

static void check_refused(const char *db, const char *want)
{
	char scn[512], *err = NULL;
	path_in(scn, sizeof scn, "small.yaml");
	size_t n;
	char *before = slurp(db, &n);
	assert_non_null(before);
	assert_int_equal(run(NULL, &err, "run %s --quiet --db %s", scn, db), 1);
	assert_contains(err, db);
	assert_contains(err, want);
	free(err);
	assert_true(same_file(db, before, n));
	free(before);
}

static void test_corrupt_and_foreign_files(void **state)
{
	(void)state;
	char db[512], text[512], other[512], *err = NULL;

	/* Pages in the middle of a valid store overwritten.  (SQLite keeps
	 * no checksums: only damage to the file's structure can be seen;
	 * three whole pages always include some.) */
	path_in(db, sizeof db, "corrupt.db");
	char *ref = store_with_one_run(db);
	free(ref);
	struct stat sb;
	assert_int_equal(stat(db, &sb), 0);
	int64_t pages = sb.st_size / 4096;
	assert_true(pages > 20);
	int fd = open(db, O_WRONLY);
	assert_true(fd >= 0);
	char junk[3 * 4096];
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (char)(i * 37 + 11);
	assert_int_equal(pwrite(fd, junk, sizeof junk, (off_t)(pages / 2) * 4096), (ssize_t)sizeof junk);
	close(fd);
	check_refused(db, "damaged results file");
	/* reading it fails cleanly (1) or succeeds: never a crash or a 2 */
	int st = run(NULL, &err, "results export 1 --format csv --db %s", db);
	assert_true(st == 0 || st == 1);
	if (st == 1)
		assert_contains(err, "damaged results file");
	free(err);

	/* A text file. */
	path_in(text, sizeof text, "notes.txt");
	write_text(text, "These are my notes, not a results file.\n");
	check_refused(text, "not a throttlesim results file");
	assert_int_equal(run(NULL, &err, "results list --db %s", text), 1);
	assert_contains(err, "not a throttlesim results file");
	free(err);

	/* Another program's SQLite file. */
	path_in(other, sizeof other, "contacts.db");
	unlink(other);
	sqlite3 *h = NULL;
	assert_int_equal(sqlite3_open(other, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, "CREATE TABLE contacts (name TEXT); INSERT INTO contacts VALUES ('x');",
	                              NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	check_refused(other, "not a throttlesim results file");
	assert_int_equal(run(NULL, &err, "results list --db %s", other), 1);
	assert_contains(err, "not a throttlesim results file");
	free(err);
}

/* ---- killed runs ----------------------------------------------------------------- */

static void kill_during_simulation(int sig, const char *name)
{
	char db[512], scn[512];
	path_in(db, sizeof db, name);
	char *ref = store_with_one_run(db);
	int64_t ref_rows[N_TABLES];
	rows_of(db, 1, ref_rows);
	pid_t pid = start_run(path_in(scn, sizeof scn, "long.yaml"), db);
	wait_for_runs(db, 1);
	sleep_s(0.2);
	assert_int_equal(kill(pid, sig), 0);
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	/* gone by the signal (or, with a handler, a failure status) */
	assert_true(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0));

	assert_integrity_ok(db);
	assert_run1_intact(db, ref);
	assert_int_equal(sql_int(db, "SELECT complete FROM runs WHERE id = 2"), 0);
	assert_all_or_nothing(db, 2, ref_rows);
	char *out = NULL;
	assert_int_equal(run(&out, NULL, "results list --db %s", db), 0);
	/* Ctrl-C ends the run (interrupted); a SIGKILL leaves no word (running) */
	assert_contains(out, sig == SIGINT ? "interrupted  faults-long" : "running      faults-long");
	free(out);
	/* and the file takes the next run */
	if (sig == SIGKILL) {
		assert_int_equal(run(NULL, NULL, "run %s --quiet --db %s",
		                     path_in(scn, sizeof scn, "small.yaml"), db), 0);
		assert_int_equal(sql_int(db, "SELECT complete FROM runs WHERE id = 3"), 1);
	}
	free(ref);
}

static void test_kill9_during_run(void **state)
{
	(void)state;
	kill_during_simulation(SIGKILL, "kill9.db");
}

static void test_ctrl_c_during_run(void **state)
{
	(void)state;
	kill_during_simulation(SIGINT, "sigint.db");
}

static off_t file_size(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 ? sb.st_size : 0;
}

/* SIGKILL while the results transaction is under way: once the -wal file
 * holds more than 1 MB (the run's own row is a few KB), results are being
 * written; then SIGKILL at five instants spread over a whole run.  Every
 * run must be all or nothing. */
static void test_kill9_while_writing(void **state)
{
	(void)state;
	char db[512], scn[512], wal[600];
	path_in(db, sizeof db, "killany.db");
	path_in(scn, sizeof scn, "wide.yaml");
	snprintf(wal, sizeof wal, "%s-wal", db);
	char *ref = store_with_one_run_of(db, "wide.yaml");
	int64_t ref_rows[N_TABLES];
	rows_of(db, 1, ref_rows);

	/* mid-transaction: the row exists, results are spilling to the WAL */
	bool caught = false;
	for (int attempt = 0; attempt < 3 && !caught; attempt++) {
		int64_t before = sql_int(db, "SELECT count(*) FROM runs");
		pid_t pid = start_run(scn, db);
		int status = 0;
		pid_t done = 0;
		double t0 = now_s();
		while (file_size(wal) < (1 << 20) && (done = waitpid(pid, &status, WNOHANG)) == 0 &&
		       now_s() - t0 < 20)
			sleep_s(0.001);
		if (done == 0) {
			kill(pid, SIGKILL);
			assert_int_equal(waitpid(pid, &status, 0), pid);
		}
		char sql[96];
		snprintf(sql, sizeof sql, "SELECT complete FROM runs WHERE id = %lld", (long long)before + 1);
		caught = WIFSIGNALED(status) && sql_int(db, sql) == 0;
	}
	assert_true(caught);

	double t0 = now_s();
	assert_int_equal(run(NULL, NULL, "run %s --quiet --jobs 1 --db %s", scn, db), 0);
	double full = now_s() - t0;
	for (int i = 1; i <= 5; i++) {
		pid_t pid = start_run(scn, db);
		sleep_s(full * i / 5.0);
		kill(pid, SIGKILL);
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
	}
	int64_t runs = sql_int(db, "SELECT count(*) FROM runs");
	assert_integrity_ok(db);
	assert_run1_intact(db, ref);
	for (int64_t id = 1; id <= runs; id++)
		assert_all_or_nothing(db, id, ref_rows);
	free(ref);
}

/* ---- two writers ----------------------------------------------------------------- */

/* Three runs start together on a new file, three times over: they race
 * to create the schema, then to write their results.  (This found a race:
 * a process could see another's half-created schema and refuse the file.) */
static void test_concurrent_writers(void **state)
{
	(void)state;
	enum { PROCS = 3, ROUNDS = 3 };
	char db[512], scn[512], wal[600], shm[600];
	path_in(db, sizeof db, "shared.db");
	path_in(scn, sizeof scn, "small.yaml");
	snprintf(wal, sizeof wal, "%s-wal", db);
	snprintf(shm, sizeof shm, "%s-shm", db);
	for (int round = 0; round < ROUNDS; round++) {
		unlink(db);
		unlink(wal);
		unlink(shm);
		pid_t pid[PROCS];
		char errfile[PROCS][512];
		for (int p = 0; p < PROCS; p++) {
			char name[32];
			snprintf(name, sizeof name, "writer%d.err", p);
			pid[p] = start_run_err(scn, db, path_in(errfile[p], sizeof errfile[p], name));
		}
		for (int p = 0; p < PROCS; p++) {
			int status = 0;
			assert_int_equal(waitpid(pid[p], &status, 0), pid[p]);
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
				char *err = slurp(errfile[p], NULL);
				print_error("round %d, writer %d: status %d: %s\n", round, p, status, err ? err : "");
				free(err);
				fail();
			}
		}
		assert_integrity_ok(db);
		assert_int_equal(sql_int(db, "SELECT count(*) FROM runs WHERE complete = 1"), PROCS);
		int64_t ref_rows[N_TABLES];
		rows_of(db, 1, ref_rows);
		assert_true(ref_rows[2] > 0);
		for (int64_t id = 1; id <= PROCS; id++)
			assert_all_or_nothing(db, id, ref_rows);
		/* same scenario, same seed: the runs agree figure by figure (their
		 * blobs byte for byte) */
		assert_int_equal(sql_int(db, "SELECT count(*) FROM replication_data a JOIN replication_data b"
		                             " ON b.variant_idx = a.variant_idx AND b.replication = a.replication"
		                             " WHERE a.run_id = 1 AND b.run_id > 1 AND (a.figures IS NOT b.figures"
		                             " OR a.delay_cdf IS NOT b.delay_cdf)"), 0);
	}
}


/* Two large runs start together; once both have their row (they are
 * simulating), another process takes the write lock and holds it past
 * the 10 s after which a run used to give up, and until both runs have
 * said on stderr that they wait.  Then it lets go: both runs are stored,
 * whole, and agree figure by figure (same scenario, same seed). */
static void test_runs_wait_for_the_lock(void **state)
{
	(void)state;
	char db[512], scn[512], errfile[2][512];
	path_in(db, sizeof db, "waiting.db");
	path_in(scn, sizeof scn, "big.yaml");
	char *ref = store_with_one_run_of(db, "big.yaml");
	int64_t ref_rows[N_TABLES];
	rows_of(db, 1, ref_rows);

	pid_t pid[2];
	for (int p = 0; p < 2; p++) {
		char name[32];
		snprintf(name, sizeof name, "waiter%d.err", p);
		pid[p] = start_run_err(scn, db, path_in(errfile[p], sizeof errfile[p], name));
	}
	wait_for_runs(db, 2);
	sqlite3 *h = NULL;
	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(h, 60000);
	assert_int_equal(sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	double t0 = now_s();
	bool told[2] = { false, false };
	while (!(told[0] && told[1] && now_s() - t0 > 12)) {
		if (now_s() - t0 > 120)
			fail_msg("the runs did not both say they wait for the lock");
		for (int p = 0; p < 2; p++) {
			int status;
			if (waitpid(pid[p], &status, WNOHANG) == pid[p]) {
				char *err = slurp(errfile[p], NULL);
				fail_msg("run %d ended (status %d) while the lock was held: %s", p, status,
				         err ? err : "");
			}
			char *err = slurp(errfile[p], NULL);
			told[p] = err != NULL && strstr(err, db) != NULL && strstr(err, "waiting for it") != NULL;
			free(err);
		}
		sleep_s(0.05);
	}
	assert_int_equal(sqlite3_exec(h, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(h), SQLITE_OK);
	for (int p = 0; p < 2; p++) {
		int status = 0;
		assert_int_equal(waitpid(pid[p], &status, 0), pid[p]);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			char *err = slurp(errfile[p], NULL);
			fail_msg("run %d: status %d: %s", p, status, err ? err : "");
		}
	}
	assert_integrity_ok(db);
	assert_run1_intact(db, ref);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM runs WHERE complete = 1"), 3);
	for (int64_t id = 2; id <= 3; id++)
		assert_all_or_nothing(db, id, ref_rows);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM replication_data a JOIN replication_data b"
	                             " ON b.variant_idx = a.variant_idx AND b.replication = a.replication"
	                             " WHERE a.run_id = 1 AND b.run_id > 1 AND (a.figures IS NOT b.figures"
	                             " OR a.delay_cdf IS NOT b.delay_cdf)"), 0);
	free(ref);
}

/* ---- the file's name --------------------------------------------------------- */

/* --db '' used to print "stored as run 1 in " and keep nothing (SQLite
 * opens a private temporary file for an empty name): refused, exit 2,
 * before any simulation.  ":memory:" is a file of that name. */
static void test_db_names(void **state)
{
	(void)state;
	char scn[512], mem[512], *out = NULL, *err = NULL;
	path_in(scn, sizeof scn, "small.yaml");
	assert_int_equal(run(&out, &err, "run %s --db ''", scn), 2);
	assert_contains(err, "--db");
	assert_contains(err, "name is empty");
	assert_true(strstr(out, "stored") == NULL);
	free(out);
	free(err);
	assert_int_equal(run(NULL, &err, "results list --db ''"), 2);
	assert_contains(err, "name is empty");
	free(err);

	/* a file named :memory: (in the test's directory) keeps the run */
	char real[4096], line[8192];
	assert_non_null(realpath(bin(), real));
	snprintf(line, sizeof line, "cd %s && %s run small.yaml --quiet --db :memory: >/dev/null 2>&1", dir, real);
	int st = system(line);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	path_in(mem, sizeof mem, ":memory:");
	assert_int_equal(sql_int(mem, "SELECT count(*) FROM runs WHERE complete = 1"), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_results_commands),
		cmocka_unit_test(test_readonly_directory),
		cmocka_unit_test(test_full_disk_page_limit),
		cmocka_unit_test(test_full_disk_tmpfs),
		cmocka_unit_test(test_corrupt_and_foreign_files),
		cmocka_unit_test(test_kill9_during_run),
		cmocka_unit_test(test_ctrl_c_during_run),
		cmocka_unit_test(test_kill9_while_writing),
		cmocka_unit_test(test_concurrent_writers),
		cmocka_unit_test(test_runs_wait_for_the_lock),
		cmocka_unit_test(test_db_names),
	};
	/* TEST_FILTER=test_kill* runs only the matching tests */
	if (getenv("TEST_FILTER"))
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
