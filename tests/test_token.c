/* test_token.c - the locally minted XOAUTH2 bearer tokens and their key
 * file (sim/program/token.[ch]).
 *
 * The known-answer token was computed apart from this code, with Python's
 * hmac and base64 modules over the same key and payload; the other
 * expectations follow from the format in token.h: every single-character
 * change is caught, by the shape check (the prefix, the dot) or by the
 * MAC (everything else), at the exact position where each applies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "status.h"
#include "token.h"

static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void key_0_to_31(uint8_t k[TOK_KEY_BYTES])
{
	for (int i = 0; i < TOK_KEY_BYTES; i++)
		k[i] = (uint8_t)i;
}

static tok_result verify_str(const uint8_t *k, const char *t, const char *id, int64_t now)
{
	return tok_verify(k, t, strlen(t), id, now);
}

/* A token signed with k over an arbitrary payload, built with OpenSSL's
 * own base64 (then made url-safe and unpadded), so the shape of a payload
 * only a key holder could sign can be tested. */
static void sign_raw(const uint8_t *k, const char *payload, char *out, size_t outlen)
{
	unsigned char b64[1024];
	int n = EVP_EncodeBlock(b64, (const unsigned char *)payload, (int)strlen(payload));
	while (n > 0 && b64[n - 1] == '=')
		n--;
	for (int i = 0; i < n; i++)
		b64[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
	char signed_part[1100];
	snprintf(signed_part, sizeof signed_part, "tsim1.%.*s", n, (const char *)b64);
	unsigned char md[32];
	unsigned int mdlen = 0;
	assert_non_null(HMAC(EVP_sha256(), k, TOK_KEY_BYTES, (const unsigned char *)signed_part,
			     strlen(signed_part), md, &mdlen));
	unsigned char mac[64];
	int m = EVP_EncodeBlock(mac, md, 32);
	while (m > 0 && mac[m - 1] == '=')
		m--;
	for (int i = 0; i < m; i++)
		mac[i] = mac[i] == '+' ? '-' : mac[i] == '/' ? '_' : mac[i];
	snprintf(out, outlen, "%s.%.*s", signed_part, m, (const char *)mac);
}

/* ---- minting and verifying ------------------------------------------------ */

static void test_known_answer(void **state)
{
	(void)state;
	uint8_t k[TOK_KEY_BYTES];
	key_0_to_31(k);
	char t[TOK_MAX_LEN + 1];
	assert_int_equal(tok_mint(k, "alice@contoso.com", 1700000000, t, sizeof t), SIM_OK);
	assert_string_equal(t, "tsim1.YWxpY2VAY29udG9zby5jb20KMTcwMDAwMDAwMA."
			       "_y6Lai5NS_3d7ZJXE12ZKYU6x7_nX6MZXBv-YLt2GWE");
	/* sign_raw, built on OpenSSL's encoder, agrees */
	char r[TOK_MAX_LEN + 1];
	sign_raw(k, "alice@contoso.com\n1700000000", r, sizeof r);
	assert_string_equal(t, r);
}

static void test_round_trip(void **state)
{
	(void)state;
	uint8_t k[TOK_KEY_BYTES];
	key_0_to_31(k);
	char t[TOK_MAX_LEN + 1];
	/* payload lengths 0, 1 and 2 mod 3: every tail of the encoder */
	const char *boxes[] = { "a@b.c", "ab@b.c", "abc@b.c", "printer-7@contoso.onmicrosoft.com",
				"d\xc3\xa9j\xc3\xa0@exemple.fr" };
	for (size_t i = 0; i < sizeof boxes / sizeof *boxes; i++) {
		assert_int_equal(tok_mint(k, boxes[i], 1700000000, t, sizeof t), SIM_OK);
		assert_int_equal(verify_str(k, t, boxes[i], 1700000000), TOK_OK);
		assert_int_equal(verify_str(k, t, boxes[i], 0), TOK_OK);
	}
	/* the identity is matched ASCII case-insensitively */
	assert_int_equal(tok_mint(k, "Alice@Contoso.com", 100, t, sizeof t), SIM_OK);
	assert_int_equal(verify_str(k, t, "alice@contoso.COM", 100), TOK_OK);
	assert_int_equal(verify_str(k, t, "ALICE@CONTOSO.COM", 100), TOK_OK);
	/* not_after 0 and INT64_MAX; the longest mailbox makes the longest token */
	assert_int_equal(tok_mint(k, "a@b.c", 0, t, sizeof t), SIM_OK);
	assert_int_equal(verify_str(k, t, "a@b.c", 0), TOK_OK);
	char longest[TOK_MAILBOX_MAX + 1];
	memset(longest, 'x', TOK_MAILBOX_MAX);
	longest[1] = '@';
	longest[TOK_MAILBOX_MAX] = '\0';
	assert_int_equal(tok_mint(k, longest, INT64_MAX, t, sizeof t), SIM_OK);
	assert_int_equal(strlen(t), TOK_MAX_LEN);
	assert_int_equal(verify_str(k, t, longest, INT64_MAX), TOK_OK);
	assert_int_equal(verify_str(k, t, longest, INT64_MIN), TOK_OK);
}

static void test_mint_refuses(void **state)
{
	(void)state;
	uint8_t k[TOK_KEY_BYTES];
	key_0_to_31(k);
	char t[TOK_MAX_LEN + 1];
	char over[TOK_MAILBOX_MAX + 2];
	memset(over, 'x', TOK_MAILBOX_MAX + 1);
	over[TOK_MAILBOX_MAX + 1] = '\0';
	const char *bad[] = { "", "a b@c", "a\nb@c", "a\tb", "a\x7f", over };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_int_equal(tok_mint(k, bad[i], 1, t, sizeof t), SIM_EINVAL);
	assert_int_equal(tok_mint(k, NULL, 1, t, sizeof t), SIM_EINVAL);
	assert_int_equal(tok_mint(k, "a@b.c", -1, t, sizeof t), SIM_EINVAL);
	/* "a@b.c\n1" is 7 bytes, 10 characters: 6 + 10 + 1 + 43 = 60, plus NUL */
	memset(t, '#', sizeof t);
	assert_int_equal(tok_mint(k, "a@b.c", 1, t, 60), SIM_ERANGE);
	assert_int_equal(t[0], '#');
	assert_int_equal(tok_mint(k, "a@b.c", 1, t, 61), SIM_OK);
	assert_int_equal(strlen(t), 60);
}

static void test_failure_kinds(void **state)
{
	(void)state;
	uint8_t k[TOK_KEY_BYTES], other[TOK_KEY_BYTES];
	key_0_to_31(k);
	memcpy(other, k, sizeof other);
	other[31] ^= 1;
	char t[TOK_MAX_LEN + 1], u[2 * TOK_MAX_LEN];
	assert_int_equal(tok_mint(k, "alice@contoso.com", 1700000000, t, sizeof t), SIM_OK);
	size_t len = strlen(t);

	/* bad signature: another key (one bit apart) */
	assert_int_equal(verify_str(other, t, "alice@contoso.com", 0), TOK_BAD_SIGNATURE);
	/* expired by exactly one second; valid through its last second */
	assert_int_equal(verify_str(k, t, "alice@contoso.com", 1700000000), TOK_OK);
	assert_int_equal(verify_str(k, t, "alice@contoso.com", 1700000001), TOK_EXPIRED);
	/* expiry is told before the user */
	assert_int_equal(verify_str(k, t, "bob@contoso.com", 1700000001), TOK_EXPIRED);
	/* wrong user */
	const char *others[] = { "bob@contoso.com", "alice@contoso.co", "alice@contoso.comm", "alice",
				 "", "alice@contoso.com ", "alicf@contoso.com" };
	for (size_t i = 0; i < sizeof others / sizeof *others; i++)
		assert_int_equal(verify_str(k, t, others[i], 1), TOK_WRONG_USER);
	assert_int_equal(tok_verify(k, t, len, NULL, 1), TOK_WRONG_USER);

	/* malformed shapes */
	assert_int_equal(tok_verify(k, t, 0, "alice@contoso.com", 1), TOK_MALFORMED);
	assert_int_equal(tok_verify(k, NULL, 0, "alice@contoso.com", 1), TOK_MALFORMED);
	assert_int_equal(tok_verify(k, t, len - 1, "alice@contoso.com", 1), TOK_MALFORMED);
	assert_int_equal(verify_str(k, "tsim1.", "a", 1), TOK_MALFORMED);
	snprintf(u, sizeof u, "%s", t);
	u[4] = '2'; /* tsim2. */
	assert_int_equal(verify_str(k, u, "alice@contoso.com", 1), TOK_MALFORMED);
	snprintf(u, sizeof u, "%s=", t); /* padding */
	assert_int_equal(verify_str(k, u, "alice@contoso.com", 1), TOK_MALFORMED);
	snprintf(u, sizeof u, "%s.", t); /* a third dot */
	assert_int_equal(verify_str(k, u, "alice@contoso.com", 1), TOK_MALFORMED);
	snprintf(u, sizeof u, "%s", t);
	u[len - 44] = '+'; /* the dot replaced by a character of standard base64 */
	assert_int_equal(verify_str(k, u, "alice@contoso.com", 1), TOK_MALFORMED);
	snprintf(u, sizeof u, "%s", t);
	u[10] = '/';
	assert_int_equal(verify_str(k, u, "alice@contoso.com", 1), TOK_MALFORMED);
	/* a NUL inside: the given length counts, and NUL is not base64url */
	snprintf(u, sizeof u, "%s", t);
	u[12] = '\0';
	assert_int_equal(tok_verify(k, u, len, "alice@contoso.com", 1), TOK_MALFORMED);

	/* payloads only a key holder could sign, each malformed */
	const char *bad_payloads[] = {
		"alice@contoso.com 1700000000",          /* no newline */
		"alice@contoso.com\n",                   /* no time */
		"\n1700000000",                          /* no mailbox */
		"alice@contoso.com\n01700000000",        /* a leading zero */
		"alice@contoso.com\n+1700000000",        /* a sign */
		"alice@contoso.com\n-1",
		"alice@contoso.com\n17000000x0",
		"alice@contoso.com\n9223372036854775808", /* INT64_MAX + 1 */
		"alice@contoso.com\n17\n1",              /* a second newline */
		"al ice@contoso.com\n1700000000",        /* a space in the mailbox */
	};
	for (size_t i = 0; i < sizeof bad_payloads / sizeof *bad_payloads; i++) {
		sign_raw(k, bad_payloads[i], u, sizeof u);
		assert_int_equal(verify_str(k, u, "alice@contoso.com", 1), TOK_MALFORMED);
	}
	/* ... and the edges of the same checks accepted */
	sign_raw(k, "alice@contoso.com\n9223372036854775807", u, sizeof u);
	assert_int_equal(verify_str(k, u, "alice@contoso.com", 1), TOK_OK);
	sign_raw(k, "alice@contoso.com\n0", u, sizeof u);
	assert_int_equal(verify_str(k, u, "alice@contoso.com", 0), TOK_OK);
	assert_int_equal(verify_str(k, u, "alice@contoso.com", 1), TOK_EXPIRED);
}

/* Every single-character change: in "tsim1." or at the dot the shape is
 * wrong; anywhere else (payload or MAC, each replaced by every other
 * base64url character) the MAC no longer matches.  Never TOK_OK. */
static void test_flipped_characters(void **state)
{
	(void)state;
	uint8_t k[TOK_KEY_BYTES];
	key_0_to_31(k);
	char t[TOK_MAX_LEN + 1], u[TOK_MAX_LEN + 1];
	assert_int_equal(tok_mint(k, "alice@contoso.com", 1700000000, t, sizeof t), SIM_OK);
	size_t len = strlen(t), dot = len - 44;
	assert_int_equal(t[dot], '.');
	long bad_sig = 0;
	for (size_t i = 0; i < len; i++) {
		for (const char *c = B64URL; *c; c++) {
			if (*c == t[i])
				continue;
			memcpy(u, t, len + 1);
			u[i] = *c;
			tok_result want = (i < 6 || i == dot) ? TOK_MALFORMED : TOK_BAD_SIGNATURE;
			assert_int_equal(verify_str(k, u, "alice@contoso.com", 1), want);
			bad_sig += want == TOK_BAD_SIGNATURE;
		}
	}
	/* 38 payload and 43 MAC characters, 63 replacements each; among
	 * them the changes to the spare bits alone of the last character of
	 * each (4 bits in the payload's, 2 in the MAC's), which a decoder
	 * that ignored those bits would let through */
	assert_int_equal(bad_sig, (38 + 43) * 63);
}

/* Hostile input: random bytes at every length up to 16 KiB and valid
 * tokens with random tails never crash and never pass. */
static void test_hostile(void **state)
{
	(void)state;
	uint8_t k[TOK_KEY_BYTES];
	key_0_to_31(k);
	size_t cap = 16384;
	char *buf = malloc(cap);
	assert_non_null(buf);
	uint64_t x = 0x9e3779b97f4a7c15u;
	for (size_t len = 0; len <= cap; len += (len < 600 ? 1 : 97)) {
		for (size_t i = 0; i < len; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			buf[i] = (char)x;
		}
		assert_int_equal(tok_verify(k, buf, len, "a@b.c", 0), TOK_MALFORMED);
		/* the right prefix and dot, random base64url elsewhere */
		if (len >= 54 && len <= TOK_MAX_LEN) {
			for (size_t i = 0; i < len; i++)
				buf[i] = B64URL[(unsigned char)buf[i] & 63];
			memcpy(buf, "tsim1.", 6);
			buf[len - 44] = '.';
			tok_result r = tok_verify(k, buf, len, "a@b.c", 0);
			assert_true(r == TOK_MALFORMED || r == TOK_BAD_SIGNATURE);
		}
	}
	free(buf);
}

/* ---- the key file ------------------------------------------------------------ */

typedef struct tmp {
	char dir[64];
	char path[128];
} tmp;

static void tmp_make(tmp *t, const char *name)
{
	snprintf(t->dir, sizeof t->dir, "/tmp/test_token.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof t->path, "%s/%s", t->dir, name);
}

static void tmp_drop(tmp *t)
{
	unlink(t->path);
	assert_int_equal(rmdir(t->dir), 0);
}

static void write_file(const char *path, const char *s, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void test_key_create_then_load(void **state)
{
	(void)state;
	tmp d;
	tmp_make(&d, "token.key");
	uint8_t a[TOK_KEY_BYTES], b[TOK_KEY_BYTES], c[TOK_KEY_BYTES];
	char err[256] = "";
	/* an unhelpful umask: the file is made 0600 all the same */
	mode_t old = umask(0277);
	int rc = tok_key_load(d.path, a, true, err, sizeof err);
	umask(old);
	assert_int_equal(rc, SIM_OK);
	struct stat st;
	assert_int_equal(stat(d.path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, 65);
	/* the file holds the key as lower-case hex and a newline */
	char text[80] = "";
	FILE *f = fopen(d.path, "r");
	assert_non_null(f);
	assert_int_equal(fread(text, 1, sizeof text - 1, f), 65);
	fclose(f);
	char hex[66];
	for (int i = 0; i < TOK_KEY_BYTES; i++)
		snprintf(hex + 2 * i, 3, "%02x", a[i]);
	hex[64] = '\n';
	hex[65] = '\0';
	assert_string_equal(text, hex);
	/* loading it, with or without create, gives the same key */
	assert_int_equal(tok_key_load(d.path, b, false, err, sizeof err), SIM_OK);
	assert_memory_equal(a, b, TOK_KEY_BYTES);
	assert_int_equal(tok_key_load(d.path, c, true, err, sizeof err), SIM_OK);
	assert_memory_equal(a, c, TOK_KEY_BYTES);
	/* a token minted with one verifies with the other */
	char t[TOK_MAX_LEN + 1];
	assert_int_equal(tok_mint(a, "a@b.c", 5, t, sizeof t), SIM_OK);
	assert_int_equal(verify_str(c, t, "a@b.c", 5), TOK_OK);
	tmp_drop(&d);

	/* two keys made apart differ (256 random bits) */
	tmp_make(&d, "k2");
	assert_int_equal(tok_key_load(d.path, b, true, err, sizeof err), SIM_OK);
	assert_memory_not_equal(a, b, TOK_KEY_BYTES);
	tmp_drop(&d);
}

static void test_key_file_refused(void **state)
{
	(void)state;
	tmp d;
	tmp_make(&d, "token.key");
	uint8_t k[TOK_KEY_BYTES], sentinel[TOK_KEY_BYTES];
	memset(sentinel, 0xA5, sizeof sentinel);
	char err[300];
	static const char good[] = "000102030405060708090a0b0c0d0e0f101112131415161718191A1B1C1D1E1F\n";

	/* missing, without create */
	memcpy(k, sentinel, sizeof k);
	assert_int_equal(tok_key_load(d.path, k, false, err, sizeof err), SIM_EIO);
	assert_non_null(strstr(err, d.path));
	assert_non_null(strstr(err, "No such file or directory"));
	assert_memory_equal(k, sentinel, sizeof k);

	/* readable by others, by group, writable by group: refused */
	const mode_t modes[] = { 0644, 0640, 0620, 0604, 0601 };
	for (size_t i = 0; i < sizeof modes / sizeof *modes; i++) {
		write_file(d.path, good, modes[i]);
		err[0] = '\0';
		assert_int_equal(tok_key_load(d.path, k, false, err, sizeof err), SIM_EINVAL);
		assert_non_null(strstr(err, d.path));
		char m[8];
		snprintf(m, sizeof m, "%04o", (unsigned)modes[i]);
		assert_non_null(strstr(err, m));
		assert_non_null(strstr(err, "chmod 600"));
		assert_memory_equal(k, sentinel, sizeof k);
		/* create does not overwrite a refused file either */
		assert_int_equal(tok_key_load(d.path, k, true, err, sizeof err), SIM_EINVAL);
	}
	/* the same file at 0600 (and 0400) loads, upper-case hex too */
	write_file(d.path, good, 0600);
	assert_int_equal(tok_key_load(d.path, k, false, err, sizeof err), SIM_OK);
	uint8_t want[TOK_KEY_BYTES];
	key_0_to_31(want);
	assert_memory_equal(k, want, sizeof k);
	write_file(d.path, good, 0400);
	memcpy(k, sentinel, sizeof k);
	assert_int_equal(tok_key_load(d.path, k, false, err, sizeof err), SIM_OK);
	assert_memory_equal(k, want, sizeof k);
	/* without the final newline */
	char no_nl[65];
	memcpy(no_nl, good, 64);
	no_nl[64] = '\0';
	write_file(d.path, no_nl, 0600);
	assert_int_equal(tok_key_load(d.path, k, false, err, sizeof err), SIM_OK);
	assert_memory_equal(k, want, sizeof k);

	/* content that is not one line of 64 hex digits */
	const char *bad[] = { "", "\n", "00", "0001020304050607", /* short */
			      "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1\n", /* 63 */
			      "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f0\n", /* 65 */
			      "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n\n",
			      "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g\n",
			      " 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
			      "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\r\n" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		write_file(d.path, bad[i], 0600);
		memcpy(k, sentinel, sizeof k);
		err[0] = '\0';
		assert_int_equal(tok_key_load(d.path, k, false, err, sizeof err), SIM_EINVAL);
		assert_non_null(strstr(err, d.path));
		assert_non_null(strstr(err, "64 hex digits"));
		assert_memory_equal(k, sentinel, sizeof k);
	}
	unlink(d.path);

	/* not a regular file: a directory, a FIFO (which must not block) */
	assert_int_equal(mkdir(d.path, 0700), 0);
	assert_int_equal(tok_key_load(d.path, k, true, err, sizeof err), SIM_EINVAL);
	assert_non_null(strstr(err, "not a regular file"));
	assert_int_equal(rmdir(d.path), 0);
	assert_int_equal(mkfifo(d.path, 0600), 0);
	assert_int_equal(tok_key_load(d.path, k, false, err, sizeof err), SIM_EINVAL);
	assert_non_null(strstr(err, "not a regular file"));
	assert_memory_equal(k, sentinel, sizeof k);
	unlink(d.path);

	/* create in a directory that does not exist */
	char deep[200];
	snprintf(deep, sizeof deep, "%s/no-such-dir/token.key", d.dir);
	assert_int_equal(tok_key_load(deep, k, true, err, sizeof err), SIM_EIO);
	assert_non_null(strstr(err, deep));
	assert_memory_equal(k, sentinel, sizeof k);
	tmp_drop(&d);
}

static void test_result_names(void **state)
{
	(void)state;
	assert_string_equal(tok_result_name(TOK_OK), "ok");
	assert_string_equal(tok_result_name(TOK_MALFORMED), "malformed");
	assert_string_equal(tok_result_name(TOK_BAD_SIGNATURE), "bad signature");
	assert_string_equal(tok_result_name(TOK_EXPIRED), "expired");
	assert_string_equal(tok_result_name(TOK_WRONG_USER), "wrong user");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_answer),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_mint_refuses),
		cmocka_unit_test(test_failure_kinds),
		cmocka_unit_test(test_flipped_characters),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_key_create_then_load),
		cmocka_unit_test(test_key_file_refused),
		cmocka_unit_test(test_result_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
