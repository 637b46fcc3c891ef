/* test_fuzz_regressions.c - every input kept in tests/fuzz/regressions/
 * (findings of tests/fuzz/fuzz_scenario, fuzz_trace and fuzz_run, and the
 * resource bounds added with them), loaded through the normal entry points.
 *
 * Each scenario file goes through scn_load() (so relative paths resolve
 * against its own directory), each trace through scn_trace_parse().  A
 * file must load or be refused cleanly: a known status, every error with a
 * message, the outputs untouched on failure, no leak (under ASan in `make
 * test`), and in well under the fuzzers' 10 s timeout.  Each run
 * regression must load and its last scenario's replication 0 must run
 * through run_replication() under fuzz_run's 64 MiB allocator cap: succeed
 * with figures that add up, or fail with SIM_ENOMEM having freed
 * everything.  The files whose outcome is known are also checked against
 * it.  Run from the repository
 * root (or set THROTTLESIM_ROOT). */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "alloc.h"
#include "evset.h"
#include "limiter.h"
#include "run.h"
#include "scn_load.h"
#include "status.h"

#define SCN_DIR "tests/fuzz/regressions/scenario"
#define TRACE_DIR "tests/fuzz/regressions/trace"
#define RUN_DIR "tests/fuzz/regressions/run"
#define RUN_MAX_BYTES ((size_t)64 << 20) /* as in fuzz_run.c */
#define START_UNIX_S 1740960000LL /* 2025-03-03T00:00:00Z, as in fuzz_trace.c */

static const char *root_path(const char *rel, char *buf, size_t len)
{
	const char *r = getenv("THROTTLESIM_ROOT");
	if (r && *r)
		snprintf(buf, len, "%s/%s", r, rel);
	else
		snprintf(buf, len, "%s", rel);
	return buf;
}

/* What is known of a file: it is refused, and its first error (sorted by
 * position) contains `first`. */
typedef struct expect {
	const char *file;
	const char *first;
} expect;

static const expect scenario_expect[] = {
	{ "timeout-directive-bad-utf8.yaml", "not UTF-8 text" },
	{ "timeout-directive-bad-utf8-min.yaml", "not UTF-8 text" },
	{ "budget-mailboxes-1e6.yaml", "1000000 mailboxes exceed the loader's memory bound of 1 GiB" },
	{ "budget-mailboxes-variants.yaml", "variant 'a': 120000 mailboxes, with the base's and earlier variants'" },
	{ "trace-dev-zero.yaml", "trace file '/dev/zero' is not a regular file" },
	/* fuzz_run's findings of 2 December, now refused at load */
	{ "burst-size-unbounded.yaml", "exceed the bound of 10^6 per burst" },
	{ "livelock-zero-time-retry.yaml", "zero-time livelock" },
	{ "overflow-size-over-bandwidth.yaml", "over the bound of 100 years" },
	{ "bounds-issue-examples.yaml", "duration '1000000y' exceeds the bound of 100 years" },
	{ "slow-nearest-mailbox.yaml", "(did you mean 'mailbox-number-1@contoso-example-domain.com'?)" },
	{ "nan-0e9999.yaml", "a rate must be positive: '0e9999/s'" },
	{ "billion-laughs.yaml", "aliases expand to more than 100000 nodes (at '*l4')" },
	{ "alias-too-deep.yaml", "nesting deeper than 128 levels (through alias '*a')" },
	{ "uaf-anchored-key-min.yaml", NULL }, /* loads */
	{ NULL, NULL }
};

static const expect trace_expect[] = {
	{ "nul-byte-in-row.csv", "row 1: a NUL byte" },
	{ "line-too-long.csv", "row 1: line longer than 1022 characters" },
	{ "many-senders-reversed.csv", NULL }, /* loads: 3000 senders, sorted */
	{ "nan-0e9999.csv", NULL },            /* loads: time 0, size 0 */
	{ NULL, NULL }
};

static const expect *find_expect(const expect *t, const char *name)
{
	for (; t->file; t++)
		if (!strcmp(t->file, name))
			return t;
	return NULL;
}

/* The names of the regular files in dir, sorted; returns their number. */
static size_t list_dir(const char *dir, char names[][256], size_t cap)
{
	char buf[600];
	DIR *d = opendir(root_path(dir, buf, sizeof buf));
	assert_non_null(d);
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < cap) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(names[n++], 256, "%s", e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof names[0], (int (*)(const void *, const void *))strcmp);
	return n;
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void check_refusal(int rc, const scn_errors *errs, const expect *ex, const char *name)
{
	assert_true(rc == SIM_ESCENARIO || rc == SIM_EIO);
	assert_true(errs->n >= 1);
	for (size_t i = 0; i < errs->n; i++)
		assert_true(errs->v[i].message[0] != '\0');
	if (ex && ex->first && !strstr(errs->v[0].message, ex->first)) {
		char line[1200];
		scn_error_format(&errs->v[0], line, sizeof line);
		fail_msg("%s: first error is\n  %s\nexpected it to contain\n  %s", name, line, ex->first);
	}
}

static void test_scenario_regressions(void **state)
{
	(void)state;
	static char names[256][256];
	size_t n = list_dir(SCN_DIR, names, 256);
	assert_true(n >= 1);
	for (size_t i = 0; i < n; i++) {
		char rel[600], path[1200];
		snprintf(rel, sizeof rel, "%s/%s", SCN_DIR, names[i]);
		root_path(rel, path, sizeof path);
		const expect *ex = find_expect(scenario_expect, names[i]);
		scenario **v = (scenario **)(uintptr_t)0x1;
		size_t nv = 7;
		scn_errors errs = { 0 };
		struct timespec t0;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		int rc = scn_load(path, &sim_alloc_std, &v, &nv, &errs);
		double dt = seconds_since(&t0);
		if (dt > 10)
			fail_msg("%s: loading took %.1f s", names[i], dt);
		if (rc == 0) {
			if (ex && ex->first)
				fail_msg("%s: loaded, but should be refused (%s)", names[i], ex->first);
			assert_true(nv >= 1);
			for (size_t k = 0; k < nv; k++)
				assert_true(v[k]->duration_ns > 0);
			scn_free_all(v, nv, &sim_alloc_std);
		} else {
			assert_true(v == (scenario **)(uintptr_t)0x1 && nv == 7);
			check_refusal(rc, &errs, ex, names[i]);
		}
		scn_errors_free(&errs);
	}
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	long sz = ftell(f);
	assert_true(sz >= 0);
	rewind(f);
	char *buf = malloc((size_t)sz + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)sz, f), (size_t)sz);
	fclose(f);
	*len = (size_t)sz;
	return buf;
}

static void test_trace_regressions(void **state)
{
	(void)state;
	static char names[256][256];
	size_t n = list_dir(TRACE_DIR, names, 256);
	assert_true(n >= 1);
	for (size_t i = 0; i < n; i++) {
		char rel[600], path[1200];
		snprintf(rel, sizeof rel, "%s/%s", TRACE_DIR, names[i]);
		root_path(rel, path, sizeof path);
		const expect *ex = find_expect(trace_expect, names[i]);
		size_t len;
		char *text = read_all(path, &len);
		scn_trace_row *rows = (scn_trace_row *)(uintptr_t)0x1;
		size_t nrows = 7, nsenders = 9;
		scn_errors errs = { 0 };
		int rc = scn_trace_parse(names[i], text, len, START_UNIX_S, &sim_alloc_std, &rows, &nrows,
					 &nsenders, &errs);
		if (rc == 0) {
			if (ex && ex->first)
				fail_msg("%s: parsed, but should be refused (%s)", names[i], ex->first);
			assert_true(nrows >= 1 && nsenders >= 1 && nsenders <= nrows);
			for (size_t k = 1; k < nrows; k++)
				assert_true(rows[k - 1].time_ns <= rows[k].time_ns);
			sim_free(&sim_alloc_std, rows, nrows * sizeof *rows);
		} else {
			assert_true(rows == (scn_trace_row *)(uintptr_t)0x1 && nrows == 7 && nsenders == 9);
			check_refusal(rc, &errs, ex, names[i]);
		}
		scn_errors_free(&errs);
		free(text);
	}
}

/* fuzz_run's allocator: refuses to hold more than RUN_MAX_BYTES at once. */
typedef struct cap_alloc {
	size_t bytes;
	long refused;
} cap_alloc;

static void *cap_fn(void *ud, void *ptr, size_t old_size, size_t new_size)
{
	cap_alloc *c = ud;
	if (ptr == NULL)
		old_size = 0;
	assert_true(old_size <= c->bytes);
	if (new_size == 0) {
		c->bytes -= old_size;
		free(ptr);
		return NULL;
	}
	if (new_size > old_size && new_size - old_size > RUN_MAX_BYTES - c->bytes) {
		c->refused++;
		return NULL;
	}
	void *q = realloc(ptr, new_size);
	if (q)
		c->bytes = c->bytes - old_size + new_size;
	return q;
}

static void check_entity(const char *name, const res_entity *e)
{
	const double *f = e->fig;
	if (!(f[FIG_GENERATED] == f[FIG_ACCEPTED] + f[FIG_LOST] + f[FIG_PENDING]))
		fail_msg("%s: generated %g != accepted %g + lost %g + pending %g", name,
			 f[FIG_GENERATED], f[FIG_ACCEPTED], f[FIG_LOST], f[FIG_PENDING]);
}

static void test_run_regressions(void **state)
{
	(void)state;
	static char names[256][256];
	char dir[600];
	DIR *d = opendir(root_path(RUN_DIR, dir, sizeof dir));
	if (d == NULL)
		skip(); /* no run finding kept yet */
	closedir(d);
	size_t n = list_dir(RUN_DIR, names, 256);
	for (size_t i = 0; i < n; i++) {
		char rel[600], path[1200];
		snprintf(rel, sizeof rel, "%s/%s", RUN_DIR, names[i]);
		root_path(rel, path, sizeof path);
		scenario **v = NULL;
		size_t nv = 0;
		scn_errors errs = { 0 };
		int rc = scn_load(path, &sim_alloc_std, &v, &nv, &errs);
		if (rc) {
			char line[1200];
			scn_error_format(&errs.v[0], line, sizeof line);
			fail_msg("%s: a run regression must load: %s", names[i], line);
		}
		cap_alloc cap = { 0 };
		sim_alloc a = { cap_fn, &cap };
		res_rep r;
		char err[256] = "";
		struct timespec t0;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		rc = run_replication(v[nv - 1], 0, EVS_CALENDAR, &a, &r, err, sizeof err);
		double dt = seconds_since(&t0);
		if (dt > 10)
			fail_msg("%s: the run took %.1f s", names[i], dt);
		if (rc == SIM_OK) {
			check_entity(names[i], &r.total);
			for (size_t g = 0; g < r.n_groups; g++)
				check_entity(names[i], &r.groups[g]);
			res_rep_free(&r);
		} else if (rc != SIM_ENOMEM || cap.refused == 0) {
			fail_msg("%s: status %d: %s", names[i], rc, err);
		}
		assert_int_equal(cap.bytes, 0);
		scn_free_all(v, nv, &sim_alloc_std);
		scn_errors_free(&errs);
	}
}

/* fuzz_run, tests/fuzz/regressions/run/rate-delay-release-overflow.yaml:
 * in delay mode releases pile up a window apart (r_k = r_(k-L) + w), so
 * with a limit of 1 and a 100-year window the 4th release, 300 years on,
 * overflowed int64 (UBSan; a negative time in release builds).  A release
 * beyond int64 is later than every run ends: it saturates at INT64_MAX,
 * and stays there. */
static void test_rate_delay_release_saturates(void **state)
{
	(void)state;
	const int64_t century = 36525LL * 86400LL * 1000000000LL; /* 100 y of 365.25 d */
	lim_window w;
	lim_window_init(&w, century, 1);
	int64_t r = -1;
	assert_int_equal(lim_window_release(&w, &sim_alloc_std, 0, &r), SIM_OK);
	assert_true(r == 0);
	assert_int_equal(lim_window_release(&w, &sim_alloc_std, 0, &r), SIM_OK);
	assert_true(r == century);
	assert_int_equal(lim_window_release(&w, &sim_alloc_std, 1, &r), SIM_OK);
	assert_true(r == 2 * century); /* 6.3e18 < INT64_MAX */
	assert_int_equal(lim_window_release(&w, &sim_alloc_std, 2, &r), SIM_OK);
	assert_true(r == INT64_MAX); /* 3 centuries, 9.47e18, is past INT64_MAX */
	assert_int_equal(lim_window_release(&w, &sim_alloc_std, 3, &r), SIM_OK);
	assert_true(r == INT64_MAX);
	assert_true(lim_window_check(&w));
	lim_window_free(&w, &sim_alloc_std);
}

/* libfyaml 0.7.12 decoded a run of escaped single quotes wrongly: the
 * loader decodes those scalars itself. */
static void test_single_quoted(void **state)
{
	(void)state;
	/* names may not hold a newline (they are refused at load): the folded
	 * case goes through the description, which is free text */
	static const struct { const char *yaml, *name; bool desc; } cases[] = {
		{ "'x''''y@c.com'", "x''y@c.com", false },
		{ "'it''s@c.com'", "it's@c.com", false },
		{ "'a''''''''''''''''b@c.com'", "a''''''''b@c.com", false },
		{ "'a''b\n  c''d\n\n  e  ''f'", "a'b c'd\ne  'f", true }, /* folded: a space, a newline */
		{ "'plain@c.com'", "plain@c.com", false },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char text[512];
		int len = cases[i].desc
			? snprintf(text, sizeof text, "description: %s\nmailboxes:\n  - name: m@c.com\n"
				   "senders:\n  - {name: s, arrivals: {poisson: 1/h}}\n", cases[i].yaml)
			: snprintf(text, sizeof text,
				   "mailboxes:\n  - name: %s\nsenders:\n  - {name: s, arrivals: {poisson: 1/h}}\n",
				   cases[i].yaml);
		scenario **v = NULL;
		size_t n = 0;
		scn_errors errs = { 0 };
		int rc = scn_load_buffer("q.yaml", text, (size_t)len, NULL, &sim_alloc_std, &v, &n, &errs);
		if (rc) {
			char line[1200];
			scn_error_format(&errs.v[0], line, sizeof line);
			fail_msg("%s: %s", cases[i].yaml, line);
		}
		assert_string_equal(cases[i].desc ? v[0]->description : v[0]->mailboxes[0].name, cases[i].name);
		scn_free_all(v, n, &sim_alloc_std);
		scn_errors_free(&errs);
	}
}

/* The in-memory entry points agree with the file ones. */
static void test_buffer_matches_file(void **state)
{
	(void)state;
	char path[600];
	root_path("scenarios/trace-replay.yaml", path, sizeof path);
	size_t len;
	char *text = read_all(path, &len);
	scenario **a = NULL, **b = NULL;
	size_t na = 0, nb = 0;
	char dir[600];
	root_path("scenarios", dir, sizeof dir);
	assert_int_equal(scn_load(path, &sim_alloc_std, &a, &na, NULL), 0);
	assert_int_equal(scn_load_buffer(path, text, len, dir, &sim_alloc_std, &b, &nb, NULL), 0);
	assert_int_equal(na, nb);
	for (size_t i = 0; i < na; i++) {
		assert_string_equal(a[i]->name, b[i]->name);
		assert_string_equal(a[i]->variant, b[i]->variant);
		assert_int_equal(a[i]->senders[0].arrivals.trace_len, b[i]->senders[0].arrivals.trace_len);
		assert_memory_equal(a[i]->senders[0].arrivals.trace, b[i]->senders[0].arrivals.trace,
				    a[i]->senders[0].arrivals.trace_len * sizeof(scn_trace_row));
	}
	scn_free_all(a, na, &sim_alloc_std);
	scn_free_all(b, nb, &sim_alloc_std);
	free(text);

	/* a NUL byte in a buffer is refused as in a file */
	scn_errors errs = { 0 };
	scenario **v = NULL;
	size_t nv = 0;
	assert_int_equal(scn_load_buffer("nul.yaml", "a: 1\0b: 2\n", 10, NULL, &sim_alloc_std, &v, &nv, &errs),
			 SIM_ESCENARIO);
	assert_int_equal(errs.n, 1);
	assert_non_null(strstr(errs.v[0].message, "NUL byte"));
	scn_errors_free(&errs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scenario_regressions),
		cmocka_unit_test(test_trace_regressions),
		cmocka_unit_test(test_run_regressions),
		cmocka_unit_test(test_rate_delay_release_saturates),
		cmocka_unit_test(test_single_quoted),
		cmocka_unit_test(test_buffer_matches_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
