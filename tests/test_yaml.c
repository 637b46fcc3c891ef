/* test_yaml.c - the kernel's YAML tree: positions, the problems that
 * leave a tree and those that do not, the alias bounds, the error record
 * and the nearest name; expected values worked out by hand from the texts.
 * The scenario loader's own tests (test_scenario, test_fuzz_regressions)
 * go through it as well. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <stdlib.h>
#include <unistd.h>

#include "alloc.h"
#include "status.h"
#include "yaml.h"

/* The reports of one parse, kept. */
typedef struct reports {
	int n;
	int line[8], col[8];
	char key[8][64], msg[8][512];
} reports;

static void keep(void *user, int line, int col, const char *key, const char *msg)
{
	reports *r = user;
	if (r->n < 8) {
		r->line[r->n] = line;
		r->col[r->n] = col;
		snprintf(r->key[r->n], sizeof r->key[r->n], "%s", key);
		snprintf(r->msg[r->n], sizeof r->msg[r->n], "%s", msg);
	}
	r->n++;
}

static int parse(const char *text, reports *r, yml_node **root)
{
	memset(r, 0, sizeof *r);
	return yml_parse(text, strlen(text), "test text", &sim_alloc_std, keep, r, root);
}

static void test_positions(void **state)
{
	(void)state;
	reports r;
	yml_node *root = NULL;
	assert_int_equal(parse("a: 1\nb:\n  - x\n  - ~\nc:\n", &r, &root), 0);
	assert_int_equal(r.n, 0);
	assert_non_null(root);
	assert_int_equal(root->type, YML_MAP);
	assert_int_equal(root->n, 3);
	assert_string_equal(root->items[1].key, "b");
	assert_int_equal(root->items[1].line, 2);
	assert_int_equal(root->items[1].col, 1);
	const yml_node *b = yml_get(root, "b");
	assert_int_equal(b->type, YML_SEQ);
	assert_int_equal(b->n, 2);
	assert_string_equal(b->items[0].val->str, "x");
	assert_int_equal(b->items[0].val->line, 3);
	assert_int_equal(b->items[0].val->col, 5);
	assert_int_equal(b->items[1].val->type, YML_NULL);
	assert_int_equal(yml_get(root, "c")->type, YML_NULL);
	assert_null(yml_get(root, "d"));
	assert_null(yml_get(b, "x")); /* not a mapping */
	yml_node *copy = yml_copy(&sim_alloc_std, root);
	assert_non_null(copy);
	assert_string_equal(yml_get(copy, "a")->str, "1");
	assert_int_equal(yml_get(copy, "a")->line, 1);
	assert_int_equal(yml_get(copy, "a")->col, 4);
	yml_free(&sim_alloc_std, copy);
	yml_free(&sim_alloc_std, root);

	assert_int_equal(parse("", &r, &root), 0);
	assert_null(root);
}

/* A duplicate key and a key that is not a scalar are reported but leave a
 * tree; the others leave none. */
static void test_problems(void **state)
{
	(void)state;
	reports r;
	yml_node *root = NULL;
	assert_int_equal(parse("a: 1\na: 2\n", &r, &root), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.line[0], 2);
	assert_int_equal(r.col[0], 1);
	assert_string_equal(r.key[0], "a");
	assert_string_equal(r.msg[0], "duplicate key 'a'");
	assert_int_equal(root->n, 2);
	yml_free(&sim_alloc_std, root);

	assert_int_equal(parse("? [x]\n: 1\n", &r, &root), 0);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.msg[0], "a key must be a plain name, not a list");
	assert_string_equal(root->items[0].key, "?");
	yml_free(&sim_alloc_std, root);

	root = NULL;
	assert_int_equal(parse("a: 1\n---\nb: 2\n", &r, &root), SIM_EINVAL);
	assert_null(root);
	assert_string_equal(r.msg[0], "only one YAML document per test text");
	assert_int_equal(r.line[0], 2);

	assert_int_equal(parse("a: *nowhere\n", &r, &root), SIM_EINVAL);
	assert_string_equal(r.msg[0], "unknown alias '*nowhere'");

	assert_int_equal(parse("a: [1, 2\n", &r, &root), SIM_EINVAL);
	assert_true(r.n >= 1);
	assert_memory_equal(r.msg[0], "YAML syntax error", 17);

	assert_int_equal(parse("a: 1\nb: \xff\n", &r, &root), SIM_EINVAL);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.line[0], 2);
	assert_int_equal(r.col[0], 4);
	assert_null(root);
}

/* Aliases are copied: 10 aliases of 10 aliases of 10 aliases of a
 * 10-item list are 10^4 x 11 nodes and more, past YML_MAX_ALIAS_NODES;
 * a single level is fine. */
static void test_alias_bounds(void **state)
{
	(void)state;
	reports r;
	yml_node *root = NULL;
	assert_int_equal(parse("a: &x {k: v}\nb: *x\n", &r, &root), 0);
	assert_int_equal(r.n, 0);
	assert_string_equal(yml_get(yml_get(root, "b"), "k")->str, "v");
	assert_int_equal(yml_get(root, "b")->line, 2);
	yml_free(&sim_alloc_std, root);

	const char *laughs =
		"a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n"
		"b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
		"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
		"d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
		"e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n";
	root = NULL;
	assert_int_equal(parse(laughs, &r, &root), SIM_EINVAL);
	assert_null(root);
	assert_true(strstr(r.msg[r.n - 1], "aliases expand to more than 100000 nodes") != NULL);
}

/* A text built by the test: head, then item n times, then tail. */
static char *repeat(const char *head, const char *item, size_t n, const char *tail, size_t *len)
{
	size_t hl = strlen(head), il = strlen(item), tl = strlen(tail);
	char *t = malloc(hl + il * n + tl + 1);
	assert_non_null(t);
	memcpy(t, head, hl);
	for (size_t i = 0; i < n; i++)
		memcpy(t + hl + i * il, item, il);
	memcpy(t + hl + il * n, tail, tl + 1);
	*len = hl + il * n + tl;
	return t;
}

/* The duplicate-key check is linear: 100,000 keys, the last a duplicate
 * of the first, are parsed and the one duplicate reported at its line
 * (100,002: the mapping's key, then keys k0..k99999 on lines 2..100001).
 * Scanning the keys before each one took one to two minutes; the alarm
 * turns that into a failure rather than a hang. */
static void test_duplicate_keys_linear(void **state)
{
	(void)state;
	enum { N = 100000 };
	char *t = malloc((size_t)N * 16 + 64);
	assert_non_null(t);
	size_t o = (size_t)sprintf(t, "m:\n");
	for (int i = 0; i < N; i++)
		o += (size_t)sprintf(t + o, "  k%d: 1\n", i);
	o += (size_t)sprintf(t + o, "  k0: 2\n");
	reports r;
	yml_node *root = NULL;
	memset(&r, 0, sizeof r);
	alarm(30);
	int rc = yml_parse(t, o, "test text", &sim_alloc_std, keep, &r, &root);
	alarm(0);
	assert_int_equal(rc, 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.line[0], N + 2);
	assert_int_equal(r.col[0], 3);
	assert_string_equal(r.msg[0], "duplicate key 'k0'");
	const yml_node *m = yml_get(root, "m");
	assert_int_equal(m->n, N + 1);
	assert_string_equal(yml_get(m, "k0")->str, "1"); /* the first is found */
	assert_string_equal(yml_get(m, "k99999")->str, "1");
	yml_free(&sim_alloc_std, root);
	free(t);
}

/* The tree is bounded while it is parsed.  A flow list of 100,000 "1"
 * items needs, per item, a node (48 bytes: a 64-byte chunk), its text (2
 * bytes: a 32-byte chunk) and 24 bytes of the list's array (doubled as
 * it grows): over 9 MB, refused under a bound of 1 MiB after about 10^4
 * items, never all of them.  An alias is charged before it is copied: a
 * 400,000-byte scalar aliased 1,000 times would be 400 MB (a 1 MB file
 * of such aliases asked for 24 GB); under 1 MiB the second copy is
 * refused, under the default 256 MiB the 671st. */
static void test_tree_bound(void **state)
{
	(void)state;
	reports r;
	yml_node *root = NULL;
	size_t len;
	char *t = repeat("x: [", "1,", 100000, "1]\n", &len);
	memset(&r, 0, sizeof r);
	assert_int_equal(yml_parse_max(t, len, "test text", (size_t)1 << 20, &sim_alloc_std, keep, &r, &root, NULL),
			 SIM_EINVAL);
	assert_null(root);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.msg[0], "the document needs more than 1 MiB of memory as a tree "
				      "(a scenario file is read whole before it is checked)");
	assert_int_equal(r.line[0], 1);
	assert_true(r.col[0] > 4 && r.col[0] < 2 * 20000); /* stopped within the first 20,000 items */
	free(t);

	char *big = repeat("a: &a \"", "x", 400000, "\"\nb: [", &len);
	char *t2 = malloc(len + 1000 * 4 + 8);
	assert_non_null(t2);
	memcpy(t2, big, len);
	for (int i = 0; i < 1000; i++)
		memcpy(t2 + len + (size_t)i * 4, "*a, ", 4);
	memcpy(t2 + len + 4000, "*a]\n", 5);
	memset(&r, 0, sizeof r);
	assert_int_equal(yml_parse_max(t2, len + 4004, "test text", (size_t)1 << 20, &sim_alloc_std, keep, &r, &root,
				       NULL), SIM_EINVAL);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.line[0], 2);
	/* the scalar and one copy hold 800 KB: the second alias would pass
	 * 1 MiB ("b: [*a, *a": libfyaml marks an alias at its name) */
	assert_int_equal(r.col[0], 10);
	assert_non_null(strstr(r.msg[0], "aliases expand to more than 1 MiB (at '*a', a copy of"));
	/* and under the default bound: 256 MiB / 400 KB = 671 copies, not 1,001 */
	memset(&r, 0, sizeof r);
	assert_int_equal(parse(t2, &r, &root), SIM_EINVAL);
	assert_int_equal(r.n, 1);
	assert_non_null(strstr(r.msg[0], "aliases expand to more than 256 MiB"));
	free(big);
	free(t2);
}

/* Deep flow nesting is refused before libfyaml reads it: 2 MB of '['
 * took it 0.7 GB and seconds (a state per open level) before the first
 * event past our depth bound. */
static void test_deep_flow(void **state)
{
	(void)state;
	reports r;
	yml_node *root = NULL;
	size_t len;
	char *t = repeat("x: ", "[", 2000000, "\n", &len);
	memset(&r, 0, sizeof r);
	alarm(20);
	assert_int_equal(parse(t, &r, &root), SIM_EINVAL);
	alarm(0);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.msg[0], "nesting deeper than 128 levels");
	assert_int_equal(r.line[0], 1);
	assert_int_equal(r.col[0], 3 + YML_MAX_DEPTH + 1); /* the 129th '[' */
	free(t);
	/* a valid text with brackets in scalars and quotes is untouched */
	t = repeat("a: b[1]\nc: 'it''s [[['\nd: \"[[[\"\ne: [x, [y, {z: w}]]\nf: # [[[\n  g\n", "", 0, "", &len);
	assert_int_equal(parse(t, &r, &root), 0);
	assert_int_equal(r.n, 0);
	yml_free(&sim_alloc_std, root);
	free(t);
}

static void test_error_format(void **state)
{
	(void)state;
	yml_errors es = { 0 };
	yml_error *e = yml_errors_add(&es);
	assert_non_null(e);
	snprintf(e->file, sizeof e->file, "f.yaml");
	snprintf(e->message, sizeof e->message, "bad");
	char buf[128];
	yml_error_format(e, buf, sizeof buf);
	assert_string_equal(buf, "f.yaml: bad");
	snprintf(e->key, sizeof e->key, "a.b");
	yml_error_format(e, buf, sizeof buf);
	assert_string_equal(buf, "f.yaml: a.b: bad");
	e->line = 3;
	e->column = 7;
	yml_error_format(e, buf, sizeof buf);
	assert_string_equal(buf, "f.yaml:3:7: a.b: bad");
	e->key[0] = '\0';
	yml_error_format(e, buf, sizeof buf);
	assert_string_equal(buf, "f.yaml:3:7: bad");
	for (int i = 0; i < 20; i++)
		assert_non_null(yml_errors_add(&es));
	assert_int_equal(es.n, 21);
	yml_errors_free(&es);
	assert_int_equal(es.n, 0);
	assert_null(es.v);
}

/* At most 1, 2 or 3 edits for words of up to 4, 8 or more characters; a
 * transposition is one edit; case does not count. */
static void test_nearest(void **state)
{
	(void)state;
	static const char *const names[] = { "mfp", "count", "mailbox", "arrivals", NULL };
	assert_string_equal(yml_nearest_of("mpf", names), "mfp");
	assert_string_equal(yml_nearest_of("MFP", names), "mfp");
	assert_string_equal(yml_nearest_of("cuont", names), "count");
	assert_string_equal(yml_nearest_of("mailbx", names), "mailbox");
	assert_string_equal(yml_nearest_of("arivls", names), "arrivals");
	assert_null(yml_nearest_of("xyz", names));
	assert_null(yml_nearest_of("cnt", names)); /* 2 edits for a 3-letter word */
	char list[64];
	yml_list_names(list, sizeof list, names);
	assert_string_equal(list, "mfp, count, mailbox or arrivals");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_positions),
		cmocka_unit_test(test_problems),
		cmocka_unit_test(test_alias_bounds),
		cmocka_unit_test(test_duplicate_keys_linear),
		cmocka_unit_test(test_tree_bound),
		cmocka_unit_test(test_deep_flow),
		cmocka_unit_test(test_error_format),
		cmocka_unit_test(test_nearest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
