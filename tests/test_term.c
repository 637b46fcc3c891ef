/* test_term.c - the terminal sanitiser and the safe output files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outfile.h"
#include "term.h"

static void clean_is(const char *in, const char *want)
{
	char buf[256];
	snprintf(buf, sizeof buf, "%s", in);
	term_clean(buf);
	assert_string_equal(buf, want);
}

static void test_controls(void **state)
{
	(void)state;
	clean_is("plain name", "plain name");
	clean_is("a\x1b[2Jb", "a?[2Jb");            /* ESC */
	clean_is("bell\a", "bell?");
	clean_is("cr\rlf\nend", "cr?lf?end");
	clean_is("del\x7f", "del?");
	clean_is("tab\tkept", "tab\tkept");
	clean_is("caf\xc3\xa9 \xe2\x82\xac", "caf\xc3\xa9 \xe2\x82\xac"); /* é € */
	clean_is("csi\xc2\x9b" "31m", "csi?31m");     /* U+009B, C1 CSI */
	clean_is("bad\xff\xfe", "bad??");             /* not UTF-8 */
	clean_is("cut\xe2\x82", "cut?");              /* truncated sequence */
	clean_is("over\xc0\xaf", "over?");            /* overlong '/' */
	clean_is("sur\xed\xa0\x80", "sur?");          /* UTF-16 surrogate */
}

static void test_copy_and_printf(void **state)
{
	(void)state;
	char out[8];
	term_copy(out, sizeof out, "abcde\xc3\xa9xyz");
	assert_string_equal(out, "abcde\xc3\xa9");
	term_copy(out, 7, "abcde\xc3\xa9xyz");         /* é would be cut: dropped */
	assert_string_equal(out, "abcde");
	char path[] = "/tmp/test_term_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w+");
	assert_non_null(f);
	term_fprintf(f, "run '%s' failed\n", "x\x1b]0;owned\ay");
	rewind(f);
	char line[128] = "";
	assert_non_null(fgets(line, sizeof line, f));
	assert_string_equal(line, "run 'x?]0;owned?y' failed\n");
	fclose(f);
	unlink(path);
}

static void test_outfile_symlink(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_outf_XXXXXX";
	assert_non_null(mkdtemp(dir));
	char target[256], link[256], err[256];
	snprintf(target, sizeof target, "%s/target", dir);
	snprintf(link, sizeof link, "%s/out.csv", dir);
	FILE *t = fopen(target, "w");
	fputs("precious\n", t);
	fclose(t);
	assert_int_equal(symlink(target, link), 0);

	outf o;
	assert_int_equal(outf_open(&o, link, err, sizeof err), 0);
	fputs("new\n", o.f);
	assert_int_equal(outf_commit(&o, err, sizeof err), 0);

	/* the symlink was replaced, its target untouched */
	struct stat st;
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	char buf[32] = "";
	t = fopen(target, "r");
	assert_non_null(fgets(buf, sizeof buf, t));
	fclose(t);
	assert_string_equal(buf, "precious\n");
	t = fopen(link, "r");
	assert_non_null(fgets(buf, sizeof buf, t));
	fclose(t);
	assert_string_equal(buf, "new\n");

	/* abort leaves the old file and no temporary behind */
	assert_int_equal(outf_open(&o, link, err, sizeof err), 0);
	fputs("half", o.f);
	outf_abort(&o);
	t = fopen(link, "r");
	assert_non_null(fgets(buf, sizeof buf, t));
	fclose(t);
	assert_string_equal(buf, "new\n");

	/* a directory that does not exist: an error naming the path */
	char missing[300];
	snprintf(missing, sizeof missing, "%s/no/such/file", dir);
	assert_int_equal(outf_open(&o, missing, err, sizeof err), -1);
	assert_non_null(strstr(err, "No such file or directory"));
	assert_non_null(strstr(err, missing));

	unlink(link);
	unlink(target);
	assert_int_equal(rmdir(dir), 0);   /* nothing else was left in it */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_controls),
		cmocka_unit_test(test_copy_and_printf),
		cmocka_unit_test(test_outfile_symlink),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
