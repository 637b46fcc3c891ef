/* test_sweep.c - sweeps (`sweep:`) and command-line overrides
 * (scn_load_ex) in the scenario loader.
 *
 * Each test writes a small scenario to a temporary file, loads it and
 * checks the scenarios returned (order, values actually applied, sweep
 * fields) or the errors (file:line:column: key: message).  Run from the
 * repository root (the shipped sweep is read from scenarios/). */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "scn_load.h"
#include "status.h"

static char path[64];

static const char base_yaml[] =
	"mailboxes:\n"                          /* 1 */
	"  - name: m@contoso.com\n"             /* 2 */
	"senders:\n"                            /* 3 */
	"  - name: app\n"                       /* 4 */
	"    count: 3\n"                        /* 5 */
	"    arrivals: {poisson: 10/h}\n"       /* 6 */
	"    session: {connections: 2}\n";      /* 7 */

/* Writes base_yaml then tail to a fresh temporary file (path). */
static void write_file(const char *tail)
{
	snprintf(path, sizeof path, "/tmp/test_sweep_XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(base_yaml, f);
	fputs(tail, f);
	assert_int_equal(fclose(f), 0);
}

static int load(const char *tail, const scn_override *ov, size_t n_ov, scenario ***v, size_t *n,
		scn_errors *e)
{
	write_file(tail);
	int rc = scn_load_ex(path, &sim_alloc_std, ov, n_ov, v, n, e);
	unlink(path);
	return rc;
}

static scenario **load_ok(const char *tail, const scn_override *ov, size_t n_ov, size_t *n)
{
	scenario **v = NULL;
	scn_errors e = { 0 };
	int rc = load(tail, ov, n_ov, &v, n, &e);
	for (size_t i = 0; i < e.n; i++) {
		char b[1400];
		scn_error_format(&e.v[i], b, sizeof b);
		print_error("%s\n", b);
	}
	scn_errors_free(&e);
	assert_int_equal(rc, 0);
	return v;
}

/* Loads tail, which must fail; returns the formatted errors, one a line. */
static char *load_bad(const char *tail, const scn_override *ov, size_t n_ov)
{
	scenario **v = NULL;
	size_t n = 0;
	scn_errors e = { 0 };
	int rc = load(tail, ov, n_ov, &v, &n, &e);
	assert_int_equal(rc, SIM_ESCENARIO);
	assert_null(v);
	assert_true(e.n > 0);
	char *out = calloc(e.n, 1500);
	assert_non_null(out);
	for (size_t i = 0; i < e.n; i++) {
		char b[1400];
		scn_error_format(&e.v[i], b, sizeof b);
		strcat(out, b);
		strcat(out, "\n");
	}
	scn_errors_free(&e);
	return out;
}

/* The error text has "PATH:LINE:COL: KEY: " followed by what. */
static void assert_error(const char *errs, int line, int col, const char *key, const char *what)
{
	char want[512];
	snprintf(want, sizeof want, "%s:%d:%d: %s: ", path, line, col, key);
	const char *at = strstr(errs, want);
	if (!at || !strstr(at, what))
		print_error("expected \"%s...%s\" in:\n%s", want, what, errs);
	assert_non_null(at);
	assert_non_null(strstr(at, what));
}

static size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* ---- no sweep ------------------------------------------------------------- */

static void test_no_sweep(void **state)
{
	(void)state;
	size_t n;
	scenario **v = load_ok("variants:\n  - name: two\n    set: {senders.app.count: 2}\n", NULL, 0, &n);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(v[i]->sweep_point, -1);
		assert_int_equal(v[i]->n_sweep_keys, 0);
	}
	assert_string_equal(v[1]->variant, "two");
	assert_int_equal(v[1]->senders[0].count, 2);
	scn_free_all(v, n, &sim_alloc_std);
}

/* ---- one key ----------------------------------------------------------------- */

static void test_sweep_list(void **state)
{
	(void)state;
	size_t n;
	scenario **v = load_ok("sweep:\n  senders.app.count: [10, 20, 40, 80]\n", NULL, 0, &n);
	static const int64_t want[] = { 10, 20, 40, 80 };
	assert_int_equal(n, 4);
	for (size_t p = 0; p < 4; p++) {
		assert_string_equal(v[p]->variant, "base");
		assert_int_equal(v[p]->sweep_point, (int64_t)p);
		assert_int_equal(v[p]->n_sweep_keys, 1);
		assert_string_equal(v[p]->sweep_key[0], "senders.app.count");
		assert_true(v[p]->sweep_value[0] == (double)want[p]);
		assert_int_equal(v[p]->senders[0].count, want[p]);
		assert_int_equal(v[p]->senders[0].connections, 2); /* the rest unchanged */
	}
	scn_free_all(v, n, &sim_alloc_std);
}

static void test_sweep_range_with_variants(void **state)
{
	(void)state;
	size_t n;
	scenario **v = load_ok("variants:\n"
			       "  - name: more-connections\n"
			       "    set: {senders.app.session.connections: 5}\n"
			       "  - name: fixed-count\n"
			       "    set: {senders.app.count: 7}\n"
			       "sweep:\n"
			       "  senders.app.count: {from: 1, to: 8, step: 3}\n", /* 1, 4, 7 */
			       NULL, 0, &n);
	assert_int_equal(n, 3 * 3);
	static const char *const names[] = { "base", "more-connections", "fixed-count" };
	for (size_t p = 0; p < 3; p++) {
		for (size_t k = 0; k < 3; k++) {
			const scenario *s = v[p * 3 + k];
			assert_string_equal(s->variant, names[k]);
			assert_int_equal(s->sweep_point, (int64_t)p);
			assert_true(s->sweep_value[0] == (double)(1 + 3 * p));
			/* the variant's set goes on top of the point's value */
			assert_int_equal(s->senders[0].count, k == 2 ? 7 : (int64_t)(1 + 3 * p));
			assert_int_equal(s->senders[0].connections, k == 1 ? 5 : 2);
		}
	}
	scn_free_all(v, n, &sim_alloc_std);

	/* step defaults to 1; a range may end off the grid */
	v = load_ok("sweep:\n  senders.app.session.connections: {from: 2, to: 4.5}\n", NULL, 0, &n);
	assert_int_equal(n, 3);
	for (size_t p = 0; p < 3; p++)
		assert_int_equal(v[p]->senders[0].connections, (int64_t)(2 + p));
	scn_free_all(v, n, &sim_alloc_std);
}

/* ---- two keys: the Cartesian product, first key outer ------------------------- */

static void test_sweep_two_keys(void **state)
{
	(void)state;
	size_t n;
	scenario **v = load_ok("sweep:\n"
			       "  senders.app.count: [1, 2, 3]\n"
			       "  senders.app.session.connections: {from: 1, to: 2}\n",
			       NULL, 0, &n);
	assert_int_equal(n, 6);
	for (size_t p = 0; p < 6; p++) {
		assert_int_equal(v[p]->sweep_point, (int64_t)p);
		assert_int_equal(v[p]->n_sweep_keys, 2);
		assert_string_equal(v[p]->sweep_key[0], "senders.app.count");
		assert_string_equal(v[p]->sweep_key[1], "senders.app.session.connections");
		assert_int_equal(v[p]->senders[0].count, (int64_t)(1 + p / 2));
		assert_int_equal(v[p]->senders[0].connections, (int64_t)(1 + p % 2));
		assert_true(v[p]->sweep_value[0] == (double)(1 + p / 2));
		assert_true(v[p]->sweep_value[1] == (double)(1 + p % 2));
	}
	scn_free_all(v, n, &sim_alloc_std);
}

/* ---- refused sweeps ------------------------------------------------------------ */

static void test_sweep_errors(void **state)
{
	(void)state;
	/* a key the schema does not know: once, not once per point */
	char *e = load_bad("sweep:\n  senders.app.cuont: [1, 2]\n", NULL, 0);
	assert_error(e, 9, 3, "senders.app.cuont", "unknown key 'cuont' (did you mean 'count'?)");
	assert_int_equal(count_lines(e), 1);
	free(e);

	/* a value that is not a number, in a list and in a range */
	e = load_bad("sweep:\n  senders.app.count: [1, ten, 3]\n", NULL, 0);
	assert_error(e, 9, 26, "sweep.senders.app.count", "a swept value must be a number, not 'ten'");
	free(e);
	e = load_bad("sweep:\n  senders.app.count: {from: 1, to: lots}\n", NULL, 0);
	assert_error(e, 9, 36, "sweep.senders.app.count.to", "expected a number, got 'lots'");
	free(e);

	/* too many points: one key, and the product of two */
	e = load_bad("sweep:\n  senders.app.count: {from: 1, to: 1e6}\n", NULL, 0);
	assert_error(e, 9, 3, "sweep.senders.app.count", "exceed the bound of 1000 points");
	free(e);
	e = load_bad("sweep:\n  senders.app.count: {from: 1, to: 100}\n"
		     "  senders.app.session.connections: {from: 1, to: 11}\n", NULL, 0);
	assert_error(e, 10, 3, "sweep", "100 x 11 = 1100 points exceed the bound of 1000");
	free(e);

	/* a number the key refuses: named at the sweep key, once per point */
	e = load_bad("sweep:\n  senders.app.count: [1, 2.5, -3]\n", NULL, 0);
	assert_error(e, 9, 3, "senders.app.count", "sweep point 1 (senders.app.count = 2.5): ");
	assert_error(e, 9, 3, "senders.app.count", "sweep point 2 (senders.app.count = -3): ");
	assert_int_equal(count_lines(e), 2);
	free(e);

	/* a variant cannot change the sweep; the sweep not the variants */
	e = load_bad("variants:\n  - name: x\n    set: {sweep.a: [1]}\nsweep:\n  senders.app.count: [1]\n", NULL, 0);
	assert_error(e, 10, 11, "sweep.a", "a variant cannot change the sweep");
	free(e);
	e = load_bad("sweep:\n  variants.x: [1]\n", NULL, 0);
	assert_error(e, 9, 3, "sweep.variants.x", "a sweep cannot change the variants or the sweep");
	free(e);
	e = load_bad("sweep: [1, 2]\n", NULL, 0);
	assert_error(e, 8, 8, "sweep", "expected a mapping of one or two dotted keys");
	free(e);
}

/* ---- command-line overrides (scn_load_ex) ------------------------------------ */

static void test_override(void **state)
{
	(void)state;
	size_t n;
	scn_override ov[] = { { .key = "senders.app.count", .value = "12" },
			      { .key = "senders.app.retry", .value = "{policy: exponential, base: 30s}" } };
	scenario **v = load_ok("variants:\n  - name: v\n    set: {senders.app.count: 5}\n", ov, 2, &n);
	assert_int_equal(n, 2);
	assert_int_equal(v[0]->senders[0].count, 12);
	assert_int_equal(v[0]->senders[0].retry.base_ns, 30000000000LL);
	assert_int_equal(v[1]->senders[0].count, 12); /* the command line wins over a variant's set */
	assert_int_equal(v[1]->senders[0].retry.base_ns, 30000000000LL);
	scn_free_all(v, n, &sim_alloc_std);

	/* an override for one variant leaves the base and the others alone */
	scn_override one = { .key = "senders.app.count", .value = "7", .variant = "v" };
	v = load_ok("variants:\n  - name: v\n    set: {senders.app.count: 5}\n  - name: w\n", &one, 1, &n);
	assert_int_equal(n, 3);
	assert_int_equal(v[0]->senders[0].count, 3);
	assert_int_equal(v[1]->senders[0].count, 7);
	assert_int_equal(v[2]->senders[0].count, 3);
	scn_free_all(v, n, &sim_alloc_std);

	/* a sweep of the same key wins over the command line */
	v = load_ok("sweep:\n  senders.app.count: [1, 2]\n", ov, 1, &n);
	assert_int_equal(n, 2);
	assert_int_equal(v[0]->senders[0].count, 1);
	assert_int_equal(v[1]->senders[0].count, 2);
	scn_free_all(v, n, &sim_alloc_std);
}

static void test_override_errors(void **state)
{
	(void)state;
	char want[600];
	/* a key the schema does not know */
	scn_override ov = { .key = "senders.app.cuont", .value = "12" };
	char *e = load_bad("", &ov, 1);
	snprintf(want, sizeof want, "%s: senders.app.cuont: unknown key 'cuont' (did you mean 'count'?) "
		 "(from the command line)\n", path);
	assert_string_equal(e, want);
	free(e);
	/* an item that does not exist */
	ov = (scn_override){ .key = "senders.ap.count", .value = "12" };
	e = load_bad("", &ov, 1);
	assert_non_null(strstr(e, ": senders.ap.count: no item named 'ap' in senders (did you mean 'app'?) "
			       "(from the command line)"));
	free(e);
	/* a value the key refuses, and a value that is not YAML */
	ov = (scn_override){ .key = "senders.app.count", .value = "twelve" };
	e = load_bad("", &ov, 1);
	snprintf(want, sizeof want, "%s: senders.app.count: ", path);
	assert_non_null(strstr(e, want));
	assert_non_null(strstr(e, "(from the command line)"));
	free(e);
	ov = (scn_override){ .key = "senders.app.retry", .value = "{policy: [" };
	e = load_bad("", &ov, 1);
	assert_non_null(strstr(e, "senders.app.retry: '{policy: [' is not a YAML value"));
	free(e);
	ov = (scn_override){ .key = "sweep.x", .value = "1" };
	e = load_bad("", &ov, 1);
	assert_non_null(strstr(e, "sweep.x: the variants and the sweep cannot be set from the command line"));
	free(e);
}

/* ---- the shipped sweep ------------------------------------------------------------ */

static void test_shipped_sweep(void **state)
{
	(void)state;
	scenario **v = NULL;
	size_t n = 0;
	scn_errors e = { 0 };
	assert_int_equal(scn_load("scenarios/printers-sweep.yaml", &sim_alloc_std, &v, &n, &e), 0);
	scn_errors_free(&e);
	assert_int_equal(n, 4 * 4);
	static const int64_t count[] = { 10, 20, 40, 80 };
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(v[i]->sweep_point, (int64_t)(i / 4));
		assert_int_equal(v[i]->senders[0].count, count[i / 4]);
	}
	assert_string_equal(v[5]->variant, "mailbox-per-device");
	scn_free_all(v, n, &sim_alloc_std);
}

/* ---- allocation failures: everything freed, outputs untouched ------------------ */

static void test_alloc_walk(void **state)
{
	(void)state;
	write_file("variants:\n  - name: v\n    set: {senders.app.session.connections: 3}\n"
		   "sweep:\n  senders.app.count: [1, 2]\n  senders.app.session.connections: {from: 1, to: 2}\n");
	scn_override ov = { .key = "senders.app.retry", .value = "{policy: exponential, base: 30s}" };
	for (long k = 1;; k++) {
		sim_alloc_failing st = { 0 };
		st.fail_at = k;
		sim_alloc a = sim_alloc_failing_make(&st);
		scenario **v = (scenario **)(uintptr_t)0x1;
		size_t n = 777;
		scn_errors e = { 0 };
		int rc = scn_load_ex(path, &a, &ov, 1, &v, &n, &e);
		scn_errors_free(&e);
		if (rc == 0) {
			assert_int_equal(n, 4 * 2);
			scn_free_all(v, n, &a);
			assert_int_equal(st.live, 0);
			assert_int_equal(st.bytes, 0);
			break;
		}
		assert_int_equal(rc, SIM_ENOMEM);
		assert_true(v == (scenario **)(uintptr_t)0x1);
		assert_int_equal(n, 777);
		assert_int_equal(st.live, 0);
		assert_int_equal(st.bytes, 0);
		assert_true(k < 1000000);
	}
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_sweep),
		cmocka_unit_test(test_sweep_list),
		cmocka_unit_test(test_sweep_range_with_variants),
		cmocka_unit_test(test_sweep_two_keys),
		cmocka_unit_test(test_sweep_errors),
		cmocka_unit_test(test_override),
		cmocka_unit_test(test_override_errors),
		cmocka_unit_test(test_shipped_sweep),
		cmocka_unit_test(test_alloc_walk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
