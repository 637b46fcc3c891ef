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
		cmocka_unit_test(test_error_format),
		cmocka_unit_test(test_nearest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
