/* test_sendas.c - Send As grants and mailbox lookup by address
 * (models/sendas.h).  Mailboxes are built by hand; every expected answer
 * follows from the rules of sendas.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "scenario.h"
#include "sendas.h"

static scn_mailbox mailbox(const char *name, const char *const *grants, size_t n)
{
	scn_mailbox mb;
	memset(&mb, 0, sizeof mb);
	strcpy(mb.name, name);
	mb.pool = -1;
	mb.send_as = grants;
	mb.n_send_as = n;
	return mb;
}

/* No grants: the mailbox's own address only, in any case. */
static void test_own_address(void **state)
{
	(void)state;
	scn_mailbox mb = mailbox("scanner@contoso.com", NULL, 0);
	assert_true(scn_may_send_as(&mb, "scanner@contoso.com"));
	assert_true(scn_may_send_as(&mb, "Scanner@CONTOSO.com"));
	assert_true(scn_may_send_as(&mb, "SCANNER@CONTOSO.COM"));
	assert_false(scn_may_send_as(&mb, "scanner2@contoso.com"));
	assert_false(scn_may_send_as(&mb, "scanner@contoso.co"));
	assert_false(scn_may_send_as(&mb, "scanner@contoso.com.evil"));
	assert_false(scn_may_send_as(&mb, "scanner"));
	/* the null reverse path, and no address at all */
	assert_false(scn_may_send_as(&mb, ""));
	assert_false(scn_may_send_as(&mb, NULL));
	assert_false(scn_may_send_as(NULL, "scanner@contoso.com"));
	/* only ASCII folds: a UTF-8 letter compares byte for byte */
	scn_mailbox u = mailbox("j\xc3\xb6rg@contoso.com", NULL, 0); /* jörg */
	assert_true(scn_may_send_as(&u, "J\xc3\xb6RG@contoso.com"));
	assert_false(scn_may_send_as(&u, "j\xc3\x96rg@contoso.com")); /* jÖrg */
}

/* An address grant is that address, in any case. */
static void test_address_grant(void **state)
{
	(void)state;
	static const char *const g[] = { "Reception@Contoso.com", "noreply@fabrikam.com" };
	scn_mailbox mb = mailbox("scanner@contoso.com", g, 2);
	assert_true(scn_may_send_as(&mb, "reception@contoso.com"));
	assert_true(scn_may_send_as(&mb, "RECEPTION@CONTOSO.COM"));
	assert_true(scn_may_send_as(&mb, "noreply@fabrikam.com"));
	assert_true(scn_may_send_as(&mb, "scanner@contoso.com")); /* its own still */
	assert_false(scn_may_send_as(&mb, "reception@fabrikam.com"));
	assert_false(scn_may_send_as(&mb, "noreply@contoso.com"));
	assert_false(scn_may_send_as(&mb, "reception@contoso.com.evil"));
	assert_false(scn_may_send_as(&mb, "xreception@contoso.com"));
	assert_false(scn_may_send_as(&mb, "reception@a.contoso.com"));
	assert_false(scn_may_send_as(&mb, ""));
}

/* *@domain: any local part in that domain, not its subdomains nor a
 * domain it is the start of. */
static void test_domain_grant(void **state)
{
	(void)state;
	static const char *const g[] = { "*@Contoso.com" };
	scn_mailbox mb = mailbox("app@fabrikam.com", g, 1);
	assert_true(scn_may_send_as(&mb, "anyone@contoso.com"));
	assert_true(scn_may_send_as(&mb, "Anyone@CONTOSO.COM"));
	assert_true(scn_may_send_as(&mb, "app@fabrikam.com"));
	assert_false(scn_may_send_as(&mb, "anyone@contoso.com.evil"));
	assert_false(scn_may_send_as(&mb, "anyone@a.contoso.com"));
	assert_false(scn_may_send_as(&mb, "anyone@xcontoso.com"));
	assert_false(scn_may_send_as(&mb, "anyone@contoso.co"));
	assert_false(scn_may_send_as(&mb, "other@fabrikam.com"));
	/* the domain follows the last '@'; the local part may not be empty */
	assert_true(scn_may_send_as(&mb, "\"a@b\"@contoso.com"));
	assert_false(scn_may_send_as(&mb, "anyone@contoso.com@evil.com"));
	assert_false(scn_may_send_as(&mb, "@contoso.com"));
	assert_false(scn_may_send_as(&mb, "contoso.com"));
	assert_false(scn_may_send_as(&mb, ""));
}

/* "*": everything but the null reverse path. */
static void test_everything_grant(void **state)
{
	(void)state;
	static const char *const g[] = { "noreply@contoso.com", "*" };
	scn_mailbox mb = mailbox("app@contoso.com", g, 2);
	assert_true(scn_may_send_as(&mb, "ceo@contoso.com"));
	assert_true(scn_may_send_as(&mb, "x@contoso.com.evil"));
	assert_true(scn_may_send_as(&mb, "postmaster"));
	assert_false(scn_may_send_as(&mb, ""));
	assert_false(scn_may_send_as(&mb, NULL));
	/* a grant list given but empty is no grant */
	scn_mailbox none = mailbox("app@contoso.com", g, 0);
	assert_false(scn_may_send_as(&none, "ceo@contoso.com"));
}

static void test_mailbox_find(void **state)
{
	(void)state;
	scn_mailbox mb[4] = {
		mailbox("scanner@contoso.com", NULL, 0),
		mailbox("Reception@Contoso.com", NULL, 0),
		mailbox("reception@contoso.com", NULL, 0), /* differs from [1] only in case */
		mailbox("mfp1@contoso.com", NULL, 0),
	};
	scenario s;
	memset(&s, 0, sizeof s);
	s.mailboxes = mb;
	s.n_mailboxes = 4;
	assert_int_equal(scn_mailbox_find(&s, "scanner@contoso.com"), 0);
	assert_int_equal(scn_mailbox_find(&s, "SCANNER@contoso.COM"), 0);
	assert_int_equal(scn_mailbox_find(&s, "mfp1@CONTOSO.com"), 3);
	/* two names equal but for case: the one written so, else the first */
	assert_int_equal(scn_mailbox_find(&s, "reception@contoso.com"), 2);
	assert_int_equal(scn_mailbox_find(&s, "Reception@Contoso.com"), 1);
	assert_int_equal(scn_mailbox_find(&s, "RECEPTION@CONTOSO.COM"), 1);
	assert_int_equal(scn_mailbox_find(&s, "mfp@contoso.com"), -1);
	assert_int_equal(scn_mailbox_find(&s, "mfp1@contoso.com.evil"), -1);
	assert_int_equal(scn_mailbox_find(&s, "scanner"), -1);
	assert_int_equal(scn_mailbox_find(&s, ""), -1);
	assert_int_equal(scn_mailbox_find(&s, NULL), -1);
	s.n_mailboxes = 0;
	assert_int_equal(scn_mailbox_find(&s, "scanner@contoso.com"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_own_address),
		cmocka_unit_test(test_address_grant),
		cmocka_unit_test(test_domain_grant),
		cmocka_unit_test(test_everything_grant),
		cmocka_unit_test(test_mailbox_find),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
