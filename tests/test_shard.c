/* test_shard.c - a run's units and shards (shard.h), `runs`, `run --shard`,
 * `run --emit` and `results merge` (store_merge.h), the last ones through
 * the built binary (THROTTLESIM_BIN).
 *
 * The unit numbers are worked out by hand from shard.h's rule (blocks of
 * a scenario's replications, scenario by scenario; shard I of N takes
 * u mod N = I).  A merged run is compared with the same run on one
 * machine: `results export --format json` byte for byte but for the three
 * lines that say when and by which command each was written, and the
 * stored time series row for row.  Every refusal is checked with its exact
 * message, and with the output left as it was (absent).  A merge that
 * fails while writing (the store's full-disk hook) or is killed while
 * writing leaves no output. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "shard.h"
#include "status.h"

#ifndef THROTTLESIM_VERSION
#define THROTTLESIM_VERSION "0.0.0"
#endif

/* The binary by its full path: the commands run in the test's directory. */
static char bin_path[PATH_MAX];

static const char *bin(void)
{
	return bin_path;
}

static char tmpdir[256];

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *s = malloc((size_t)n + 1);
	assert_non_null(s);
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	s[n] = 0;
	fclose(f);
	return s;
}

/* "cd TMP && BIN args" through the shell; stdout, stderr; exit status. */
static int run(char **out, char **err, const char *fmt, ...)
{
	char args[8192], line[16384], path[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof args, fmt, ap);
	va_end(ap);
	snprintf(line, sizeof line, "cd %s && %s %s >out 2>err", tmpdir, bin(), args);
	int st = system(line);
	snprintf(path, sizeof path, "%s/out", tmpdir);
	char *o = slurp(path);
	snprintf(path, sizeof path, "%s/err", tmpdir);
	char *e = slurp(path);
	if (out)
		*out = o;
	else
		free(o);
	if (err)
		*err = e;
	else
		free(e);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* run() that must succeed. */
static void ok(const char *fmt, const char *a, const char *b, const char *c)
{
	char args[4096], *err;
	snprintf(args, sizeof args, fmt, a, b, c);
	int st = run(NULL, &err, "%s", args);
	if (st != 0)
		print_error("%s: exit %d: %s\n", args, st, err);
	assert_int_equal(st, 0);
	free(err);
}

static void write_file(const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static bool exists(const char *name)
{
	char path[512];
	struct stat sb;
	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	return lstat(path, &sb) == 0;
}

static void rm(const char *name)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	unlink(path);
}

/* Files in tmpdir whose names begin with prefix. */
static int count_files(const char *prefix)
{
	DIR *d = opendir(tmpdir);
	assert_non_null(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	return n;
}

/* Three variants (3, 6 and 12 senders, Poisson arrivals: every
 * replication differs), 7 replications: with --block 3 the units are,
 * by shard.h's rule,
 *   0 base 0-2, 1 base 3-5, 2 base 6, 3 more 0-2, 4 more 3-5, 5 more 6,
 *   6 most 0-2, 7 most 3-5, 8 most 6. */
static const char shardy_yaml[] =
	"name: shardy\n"
	"duration: 2h\n"
	"seed: 11\n"
	"replications: 7\n"
	"mailboxes: [{name: m@contoso.com}]\n"
	"senders: [{name: app, mailbox: m@contoso.com, count: 3, arrivals: {poisson: 30/h}}]\n"
	"variants:\n"
	"  - name: more\n"
	"    set: {senders.app.count: 6}\n"
	"  - name: most\n"
	"    set: {senders.app.count: 12}\n";

/* ---- units -------------------------------------------------------------------- */

/* 25, 3 and 10 replications in blocks of 10: 3 + 1 + 1 = 5 units,
 * (0: 0-9, 10-19, 20-24), (1: 0-2), (2: 0-9); shard 1/2 takes 1 and 3. */
static void test_units_numbering(void **state)
{
	(void)state;
	const int64_t reps[3] = { 25, 3, 10 };
	shard_unit *u = NULL;
	size_t n = 0;
	assert_int_equal(shard_units(reps, 3, 10, &u, &n), SIM_OK);
	assert_int_equal(n, 5);
	const shard_unit want[5] = { { 0, 0, 10 }, { 0, 10, 10 }, { 0, 20, 5 }, { 1, 0, 3 }, { 2, 0, 10 } };
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(u[i].scenario, want[i].scenario);
		assert_int_equal(u[i].first, want[i].first);
		assert_int_equal(u[i].n, want[i].n);
	}
	bool takes[5];
	for (size_t i = 0; i < 5; i++)
		takes[i] = shard_takes(i, 1, 2);
	assert_false(takes[0]);
	assert_true(takes[1]);
	assert_false(takes[2]);
	assert_true(takes[3]);
	assert_false(takes[4]);
	free(u);
	/* block 1: one unit per replication, 38 */
	assert_int_equal(shard_units(reps, 3, 1, &u, &n), SIM_OK);
	assert_int_equal(n, 38);
	assert_int_equal(u[37].scenario, 2);
	assert_int_equal(u[37].first, 9);
	free(u);
	/* a block larger than every count: one unit per scenario */
	assert_int_equal(shard_units(reps, 3, 1000, &u, &n), SIM_OK);
	assert_int_equal(n, 3);
	assert_int_equal(u[0].n, 25);
	free(u);
	/* bad input, outputs untouched */
	u = (shard_unit *)&n;
	assert_int_equal(shard_units(reps, 3, 0, &u, &n), SIM_EINVAL);
	const int64_t zero[1] = { 0 };
	assert_int_equal(shard_units(zero, 1, 10, &u, &n), SIM_EINVAL);
	assert_ptr_equal(u, (shard_unit *)&n);
	assert_int_equal(n, 3);
}

static void test_shard_parse(void **state)
{
	(void)state;
	int64_t i = -5, n = -5;
	assert_true(shard_parse("0/1", &i, &n));
	assert_int_equal(i, 0);
	assert_int_equal(n, 1);
	assert_true(shard_parse("3/4", &i, &n));
	assert_int_equal(i, 3);
	assert_int_equal(n, 4);
	assert_true(shard_parse("999999/1000000", &i, &n));
	assert_int_equal(n, 1000000);
	const char *bad[] = { "4/4", "-1/4", "1/0", "1/4x", "a/b", "1/1000001", " 1/4", "1 /4", "1/", "/4", "14",
	                      "", "1/4/8", "99999999/1" };
	i = n = -5;
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		if (shard_parse(bad[k], &i, &n))
			print_error("accepted '%s'\n", bad[k]);
		assert_false(shard_parse(bad[k], &i, &n));
	}
	assert_int_equal(i, -5);
	assert_int_equal(n, -5);
	assert_false(shard_parse(NULL, &i, &n));
}

/* ---- runs --------------------------------------------------------------------- */

static const char runs_head[] = " unit  variant                   point                     replications\n";

static void test_runs_listing(void **state)
{
	(void)state;
	write_file("shardy.yaml", shardy_yaml);
	char *out, *err, want[2048];
	assert_int_equal(run(&out, &err, "runs shardy.yaml --block 3"), 0);
	snprintf(want, sizeof want, "%s"
	         "    0  base                      -                         0-2\n"
	         "    1  base                      -                         3-5\n"
	         "    2  base                      -                         6\n"
	         "    3  more                      -                         0-2\n"
	         "    4  more                      -                         3-5\n"
	         "    5  more                      -                         6\n"
	         "    6  most                      -                         0-2\n"
	         "    7  most                      -                         3-5\n"
	         "    8  most                      -                         6\n"
	         "9 units: 3 variants in blocks of 3 replications, 21 replications\n", runs_head);
	assert_string_equal(out, want);
	assert_string_equal(err, "");
	free(out);
	free(err);
	/* shard 1 of 4: units 1 and 5 */
	assert_int_equal(run(&out, &err, "runs shardy.yaml --block 3 --shard 1/4"), 0);
	snprintf(want, sizeof want, "%s"
	         "    1  base                      -                         3-5\n"
	         "    5  more                      -                         6\n"
	         "shard 1/4: 2 of 9 units, 4 replications\n", runs_head);
	assert_string_equal(out, want);
	free(out);
	free(err);
	/* --variant and --replications choose the scenarios and their blocks:
	 * base and most, 2 replications, default block 10: two units */
	assert_int_equal(run(&out, &err, "runs shardy.yaml --variant most --replications 2"), 0);
	snprintf(want, sizeof want, "%s"
	         "    0  base                      -                         0-1\n"
	         "    1  most                      -                         0-1\n"
	         "2 units: 2 variants in blocks of 10 replications, 4 replications\n", runs_head);
	assert_string_equal(out, want);
	free(out);
	free(err);
	/* a sweep: 2 points x 2 variants, block 1, 2 replications: 8 units,
	 * point-major as the loader orders them */
	write_file("sweep.yaml",
	           "name: sw\nduration: 1h\nreplications: 2\n"
	           "mailboxes: [{name: m@contoso.com}]\n"
	           "senders: [{name: app, mailbox: m@contoso.com, arrivals: {poisson: 30/h}}]\n"
	           "variants:\n  - name: v\n    set: {limits.message_rate_limit: 5}\n"
	           "sweep: {senders.app.count: [1, 4]}\n");
	assert_int_equal(run(&out, &err, "runs sweep.yaml --block 1"), 0);
	snprintf(want, sizeof want, "%s"
	         "    0  base                      0 (senders.app.count=1)   0\n"
	         "    1  base                      0 (senders.app.count=1)   1\n"
	         "    2  v                         0 (senders.app.count=1)   0\n"
	         "    3  v                         0 (senders.app.count=1)   1\n"
	         "    4  base                      1 (senders.app.count=4)   0\n"
	         "    5  base                      1 (senders.app.count=4)   1\n"
	         "    6  v                         1 (senders.app.count=4)   0\n"
	         "    7  v                         1 (senders.app.count=4)   1\n"
	         "8 units: 4 variants and sweep points in blocks of 1 replications, 8 replications\n", runs_head);
	if (strcmp(out, want) != 0)
		print_error("%s%s", out, err);
	assert_string_equal(out, want);
	free(out);
	free(err);
	/* bad shard specs and blocks */
	assert_int_equal(run(NULL, &err, "runs shardy.yaml --shard 4/4"), 2);
	assert_string_equal(err, "throttlesim runs: --shard: expected I/N with 0 <= I < N <= 1000000 (2/4 is the"
	                         " third of four shards), got '4/4'\n");
	free(err);
	assert_int_equal(run(NULL, &err, "runs shardy.yaml --db x.db"), 2);
	assert_string_equal(err, "throttlesim runs: lists units and runs nothing: --emit, --db, --format, --describe"
	                         " and --keep-series are run's\n");
	free(err);
	assert_int_equal(run(NULL, &err, "runs shardy.yaml --block 0"), 2);
	assert_non_null(strstr(err, "throttlesim runs: --block"));
	free(err);
}

/* ---- merge -------------------------------------------------------------------- */

/* The export of run 1 of db, without the lines that say when and by which
 * command it was written; *dropped counts them (3 expected). */
static char *export_of(const char *db, int *dropped)
{
	char *out, *err;
	int st = run(&out, &err, "results export 1 --describe --format json --db %s", db);
	if (st != 0)
		print_error("export %s: %s\n", db, err);
	assert_int_equal(st, 0);
	free(err);
	char *kept = malloc(strlen(out) + 1), *w = kept;
	assert_non_null(kept);
	*dropped = 0;
	for (char *line = out; *line;) {
		char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line + 1) : strlen(line);
		if (strncmp(line, "    \"started_at\": ", 18) == 0 || strncmp(line, "    \"finished_at\": ", 19) == 0 ||
		    strncmp(line, "    \"command_line\": ", 20) == 0)
			(*dropped)++;
		else {
			memcpy(w, line, len);
			w += len;
		}
		line += len;
	}
	*w = 0;
	free(out);
	return kept;
}

/* Every row of a table of run 1, as text, in key order. */
static char *dump(const char *db, const char *sql)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", tmpdir, db);
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	size_t cap = 1 << 16, n = 0;
	char *s = malloc(cap);
	assert_non_null(s);
	while (sqlite3_step(st) == SQLITE_ROW)
		for (int c = 0; c < sqlite3_column_count(st); c++) {
			if (n + 64 > cap)
				assert_non_null(s = realloc(s, cap *= 2));
			n += (size_t)snprintf(s + n, cap - n, "%.17g%c", sqlite3_column_double(st, c),
			                      c + 1 < sqlite3_column_count(st) ? ' ' : '\n');
		}
	s[n] = 0;
	sqlite3_finalize(st);
	sqlite3_close(h);
	return s;
}

static void sql(const char *db, const char *statement);

static void assert_same_run(const char *single, const char *merged)
{
	int d1, d2;
	char *a = export_of(single, &d1), *b = export_of(merged, &d2);
	assert_int_equal(d1, 3);
	assert_int_equal(d2, 3);
	assert_string_equal(a, b);
	free(a);
	free(b);
	static const char series[] = "SELECT * FROM series WHERE run_id = 1 ORDER BY variant_idx, replication, step";
	a = dump(single, series);
	b = dump(merged, series);
	assert_true(strlen(a) > 1000);   /* the mean series is there */
	assert_string_equal(a, b);
	free(a);
	free(b);
}

static void make_shards(const char *prefix, int n, const char *opts)
{
	char spec[32], db[64];
	for (int i = 0; i < n; i++) {
		snprintf(spec, sizeof spec, "%d/%d", i, n);
		snprintf(db, sizeof db, "%s%d.db", prefix, i);
		ok("run shardy.yaml --quiet --shard %s --db %s %s", spec, db, opts);
	}
}

static void test_merge_equals_single(void **state)
{
	(void)state;
	write_file("shardy.yaml", shardy_yaml);
	ok("run shardy.yaml --quiet --format json --db %s%s%s >/dev/null", "single.db", "", "");
	/* 3 shards of blocks of 3, given out of order */
	make_shards("a", 3, "--block 3 --jobs 2");
	char *out, *err;
	assert_int_equal(run(&out, &err, "results merge ma.db a2.db a0.db a1.db"), 0);
	assert_string_equal(out, "merged 3 shards into ma.db: run 1, 3 variants, 21 replications (9 units)\n");
	assert_string_equal(err, "");
	free(out);
	free(err);
	assert_same_run("single.db", "ma.db");
	/* another split: one replication per unit, 5 shards, one job each */
	make_shards("b", 5, "--block 1 --jobs 1");
	assert_int_equal(run(&out, NULL, "results merge mb.db b0.db b1.db b2.db b3.db b4.db"), 0);
	assert_string_equal(out, "merged 5 shards into mb.db: run 1, 3 variants, 21 replications (21 units)\n");
	free(out);
	assert_same_run("single.db", "mb.db");
	/* one shard is the whole run */
	make_shards("c", 1, "");
	assert_int_equal(run(NULL, NULL, "results merge mc.db c0.db"), 0);
	assert_same_run("single.db", "mc.db");
	/* the replications written while the run goes on (--jobs 2 and more,
	 * run_stream.h) or after it (--jobs 1), and after it when another run
	 * of the file is under way (a row begun and not ended): the same run */
	ok("run shardy.yaml --quiet --jobs 1 --db %s%s%s", "one.db", "", "");
	ok("run shardy.yaml --quiet --jobs 3 --db %s%s%s", "three.db", "", "");
	assert_same_run("single.db", "one.db");
	assert_same_run("single.db", "three.db");
	ok("run shardy.yaml --quiet --jobs 1 --duration 1m --db %s%s%s", "busy.db", "", "");
	sql("busy.db", "UPDATE runs SET complete = 0, finished_at = NULL");
	ok("run shardy.yaml --quiet --jobs 2 --db %s%s%s", "busy.db", "", "");
	char *a = dump("busy.db", "SELECT count(*), sum(value) FROM figures WHERE run_id = 2");
	char *b = dump("single.db", "SELECT count(*), sum(value) FROM figures WHERE run_id = 1");
	assert_string_equal(a, b);
	free(a);
	free(b);
	/* a shard prints one line, not the report */
	assert_int_equal(run(&out, NULL, "run shardy.yaml --quiet --block 3 --shard 2/4 --db d.db"), 0);
	assert_string_equal(out, "shard 2/4 of shardy.yaml: 2 of 9 units (2 variants, 4 replications) stored as"
	                         " run 1 in d.db\n");
	free(out);
}

/* Each refusal: exit 2, its message, and no output file. */
static void refused(const char *args, const char *want)
{
	char *err;
	rm("out.db");
	int st = run(NULL, &err, "results merge out.db %s", args);
	if (strcmp(err, want) != 0)
		print_error("merge %s:\n got: %s want: %s", args, err, want);
	assert_string_equal(err, want);
	assert_int_equal(st, 2);
	assert_false(exists("out.db"));
	assert_int_equal(count_files("out.db"), 0);
	free(err);
}

static void sql(const char *db, const char *statement)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", tmpdir, db);
	sqlite3 *h = NULL;
	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, statement, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
}

static void test_merge_refusals(void **state)
{
	(void)state;
	write_file("shardy.yaml", shardy_yaml);
	write_file("other.yaml", "# another file\n");
	char cat[600];
	snprintf(cat, sizeof cat, "cat %s/shardy.yaml >> %s/other.yaml", tmpdir, tmpdir);
	assert_int_equal(system(cat), 0);
	make_shards("r", 3, "--block 3");
	refused("r0.db r2.db", "throttlesim results merge: shard 1/3 is missing: no file holds units 1, 4, 7"
	        " (the first: base, replications 3-5)\n");
	refused("r0.db", "throttlesim results merge: shards 1/3, 2/3 are missing: no file holds units 1, 2, 4, 5,"
	        " 7, 8 (the first: base, replications 3-5)\n");
	ok("results merge %s %s %s", "ok.db", "r0.db r1.db", "r2.db");  /* the three make one run */
	char copy[1200];
	snprintf(copy, sizeof copy, "cp %s/r1.db %s/r1copy.db", tmpdir, tmpdir);
	assert_int_equal(system(copy), 0);
	refused("r0.db r1.db r1copy.db r2.db", "throttlesim results merge: r1.db (shard 1/3) and r1copy.db (shard"
	        " 1/3) both hold unit 1 (base, replications 3-5): give each shard once\n");
	/* shard 0 of a 2-way split holds units 0, 2, 4, 6, 8: unit 0 is also shard 0/3's */
	ok("run shardy.yaml --quiet --block 3 --shard %s --db %s %s", "0/2", "h0.db", "");
	refused("r0.db r1.db r2.db h0.db", "throttlesim results merge: r0.db (shard 0/3) and h0.db (shard 0/2) both"
	        " hold unit 0 (base, replications 0-2): give each shard once\n");
	/* with shards of different counts, the units are named: 1/3 holds
	 * 1, 4, 7 and 2/4 holds 2, 6, so 0, 3, 5, 8 are missing */
	ok("run shardy.yaml --quiet --block 3 --shard %s --db %s %s", "2/4", "q2.db", "");
	refused("r1.db q2.db", "throttlesim results merge: no file holds units 0, 3, 5, 8 (the first: base,"
	        " replications 0-2): give every shard of the run\n");
	ok("run shardy.yaml --quiet --block 3 --seed 12 --shard %s --db %s %s", "1/3", "seed1.db", "");
	refused("r0.db seed1.db r2.db", "throttlesim results merge: r0.db and seed1.db are shards of runs with"
	        " different seeds (11 and 12)\n");
	ok("run other.yaml --quiet --block 3 --shard %s --db %s %s", "1/3", "other1.db", "");
	refused("r0.db other1.db r2.db", "throttlesim results merge: r0.db and other1.db are shards of different"
	        " scenario files (scenarios 'shardy' and 'shardy'; their texts differ)\n");
	ok("run shardy.yaml --quiet --block 3 --replications 8 --shard %s --db %s %s", "1/3", "reps1.db", "");
	refused("r0.db reps1.db r2.db", "throttlesim results merge: r0.db and reps1.db are shards of runs with"
	        " different replications (7 and 8)\n");
	ok("run shardy.yaml --quiet --block 2 --shard %s --db %s %s", "1/3", "block1.db", "");
	refused("r0.db block1.db r2.db", "throttlesim results merge: r0.db and block1.db cut the run into different"
	        " units (--block 3 and --block 2)\n");
	ok("run shardy.yaml --quiet --block 3 --duration 1h --set %s --shard 1/3 --db %s %s",
	   "senders.app.count=2", "opt1.db", "");
	refused("r0.db opt1.db r2.db", "throttlesim results merge: r0.db and opt1.db are shards of runs with"
	        " different options ('' and '--duration 3600000000000ns --set senders.app.count=2')\n");
	/* program versions: of a shard against another, of the first against
	 * this program */
	snprintf(copy, sizeof copy, "cp %s/r1.db %s/old1.db && cp %s/r0.db %s/old0.db", tmpdir, tmpdir, tmpdir, tmpdir);
	assert_int_equal(system(copy), 0);
	sql("old1.db", "UPDATE runs SET program_version = '0.0.1'");
	sql("old0.db", "UPDATE runs SET program_version = '0.0.1'");
	refused("r0.db old1.db r2.db", "throttlesim results merge: r0.db and old1.db were written by different"
	        " versions of throttlesim (" THROTTLESIM_VERSION " and 0.0.1): the shards of a run come from one"
	        " version\n");
	refused("old0.db r1.db r2.db", "throttlesim results merge: old0.db was written by throttlesim 0.0.1 and this"
	        " is throttlesim " THROTTLESIM_VERSION ": merge with the version that ran the shards\n");
	/* not a shard; an incomplete shard */
	ok("run shardy.yaml --quiet --db %s%s%s", "whole.db", "", "");
	refused("whole.db", "throttlesim results merge: whole.db: run 1 is not a shard (a run of the whole scenario;"
	        " shards come from run --shard I/N)\n");
	snprintf(copy, sizeof copy, "cp %s/r2.db %s/cut2.db", tmpdir, tmpdir);
	assert_int_equal(system(copy), 0);
	sql("cut2.db", "UPDATE runs SET complete = 0");
	refused("r0.db r1.db cut2.db", "throttlesim results merge: cut2.db: run 1 (shard 2/3) is incomplete"
	        " (interrupted or failed): run that shard again\n");
	/* an output that exists is not touched */
	char *err, *before = NULL, *after;
	char okpath[512];
	snprintf(okpath, sizeof okpath, "%s/ok.db", tmpdir);
	before = slurp(okpath);
	assert_int_equal(run(NULL, &err, "results merge ok.db r0.db r1.db r2.db"), 2);
	assert_string_equal(err, "throttlesim results merge: ok.db exists: results merge writes a new file (the"
	                         " merged run appears whole or not at all); give a new name\n");
	free(err);
	after = slurp(okpath);
	assert_memory_equal(before, after, strlen(before) + 1);
	free(before);
	free(after);
	/* usage */
	assert_int_equal(run(NULL, &err, "results merge out.db"), 2);
	assert_string_equal(err, "throttlesim results merge: expected OUT and at least one IN (try --help)\n");
	free(err);
	/* a shard with no unit */
	assert_int_equal(run(NULL, &err, "run shardy.yaml --quiet --shard 9/10 --db none.db"), 2);
	assert_string_equal(err, "throttlesim run: --shard 9/10: no unit for this shard: the run has 3 units (see:"
	                         " throttlesim runs shardy.yaml); use fewer shards, or smaller units (--block)\n");
	free(err);
	assert_false(exists("none.db"));
}

/* The store's full-disk hook fails the merged file's write: no output,
 * no temporary file left. */
static void test_merge_fails_whole(void **state)
{
	(void)state;
	write_file("shardy.yaml", shardy_yaml);
	make_shards("f", 2, "--block 3");
	char *err;
	setenv("THROTTLESIM_TEST_STORE_GROW_PAGES", "3", 1);
	int st = run(NULL, &err, "results merge full2.db f0.db f1.db");
	unsetenv("THROTTLESIM_TEST_STORE_GROW_PAGES");
	assert_int_equal(st, 1);
	assert_non_null(strstr(err, "database or disk is full"));
	assert_false(exists("full2.db"));
	assert_int_equal(count_files("full2.db"), 0);
	free(err);
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Killed (SIGKILL) while its file is being written, a merge leaves no
 * output; stopped by SIGTERM, no temporary file either.  The kill comes
 * as soon as the temporary file appears; tries until one lands before
 * the merge ends (each try must leave the output absent or whole). */
static void test_merge_killed(void **state)
{
	(void)state;
	write_file("shardy.yaml", shardy_yaml);
	make_shards("k", 2, "--block 3 --replications 60 --keep-series");
	int landed[2] = { 0, 0 };
	for (int sig = 0; sig < 2; sig++)
		for (int attempt = 0; attempt < 40 && landed[sig] < 3; attempt++) {
			char out[64], tmp[600], path[600];
			snprintf(out, sizeof out, "kill%d-%d.db", sig, attempt);
			pid_t pid = fork();
			assert_true(pid >= 0);
			if (pid == 0) {
				if (chdir(tmpdir) != 0)
					_exit(127);
				int fd = open("/dev/null", O_WRONLY);
				dup2(fd, 1);
				dup2(fd, 2);
				execl(bin(), bin(), "results", "merge", "--keep-series", out, "k0.db", "k1.db", (char *)NULL);
				_exit(127);
			}
			snprintf(tmp, sizeof tmp, "%s/%s.merge-%ld", tmpdir, out, (long)pid);
			snprintf(path, sizeof path, "%s/%s", tmpdir, out);
			struct stat sb;
			bool seen = false;
			double t0 = now_s();
			int status = 0;
			while (now_s() - t0 < 20) {
				if (lstat(tmp, &sb) == 0 && sb.st_size > 0) {
					seen = true;
					break;
				}
				if (waitpid(pid, &status, WNOHANG) == pid) {
					pid = 0;
					break;
				}
			}
			if (pid) {
				kill(pid, sig == 0 ? SIGKILL : SIGTERM);
				assert_int_equal(waitpid(pid, &status, 0), pid);
			}
			bool killed = WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGTERM);
			if (seen && killed) {
				landed[sig]++;
				assert_false(lstat(path, &sb) == 0);
				if (sig == 1)
					assert_false(lstat(tmp, &sb) == 0);
				unlink(tmp);
			} else {
				/* the merge ended first: the output whole */
				assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
				assert_true(lstat(path, &sb) == 0);
			}
			char side[700];
			snprintf(side, sizeof side, "%s-wal", tmp);
			unlink(side);
			snprintf(side, sizeof side, "%s-shm", tmp);
			unlink(side);
		}
	if (landed[0] == 0 || landed[1] == 0)
		print_error("kills that landed while writing: SIGKILL %d, SIGTERM %d\n", landed[0], landed[1]);
	assert_true(landed[0] > 0 && landed[1] > 0);
}

/* The GNU parallel line: the program by its full path, the file as
 * given, quoted; the options that shape the run; the merge after. */
static void test_emit_parallel(void **state)
{
	(void)state;
	write_file("shardy.yaml", shardy_yaml);
	char *out, *err, want[16384], b[PATH_MAX];
	const char *f = "shardy.yaml";
	assert_non_null(realpath(bin(), b));
	assert_int_equal(run(&out, &err, "run shardy.yaml --emit parallel --shards 3 --block 3 --seed 5"
	                                 " --set senders.app.count=2 --db \"it's run.db\""), 0);
	snprintf(want, sizeof want,
	         "parallel --will-cite -q --halt now,fail=1 '%s' run '%s' --seed '5' --set 'senders.app.count=2'"
	         " --block 3 --shard {}/3 --jobs 1 --quiet --db 'it'\\''s run'.shard-{}.db ::: {0..2} \\\n"
	         "  && '%s' results merge 'it'\\''s run.db' 'it'\\''s run'.shard-{0..2}.db\n", b, f, b);
	assert_string_equal(out, want);
	free(out);
	free(err);
	assert_int_equal(run(NULL, &err, "run shardy.yaml --emit parallel --shards 10 --block 3"), 2);
	assert_string_equal(err, "throttlesim run: --shards 10: the run has only 9 units (see: throttlesim runs"
	                         " shardy.yaml; smaller units: --block)\n");
	free(err);
	assert_int_equal(run(NULL, &err, "run shardy.yaml --emit slurm --shard 1/2"), 2);
	assert_string_equal(err, "throttlesim run: --shard runs one shard, --emit prints the commands of all: one or"
	                         " the other\n");
	free(err);
}

static int setup(void **state)
{
	(void)state;
	const char *b = getenv("THROTTLESIM_BIN");
	if (realpath(b ? b : "build/debug/throttlesim", bin_path) == NULL)
		return -1;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/throttlesim-shard-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_units_numbering),
		cmocka_unit_test(test_shard_parse),
		cmocka_unit_test(test_runs_listing),
		cmocka_unit_test(test_merge_equals_single),
		cmocka_unit_test(test_merge_refusals),
		cmocka_unit_test(test_merge_fails_whole),
		cmocka_unit_test(test_merge_killed),
		cmocka_unit_test(test_emit_parallel),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
