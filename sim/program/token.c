/* token.c - locally minted XOAUTH2 bearer tokens (see token.h). */
#include "token.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "status.h"
#include "term.h"

#define MAC_BYTES 32
#define MAC_CHARS 43                      /* base64url of 32 bytes, unpadded */
#define PREFIX_LEN (sizeof TOK_PREFIX - 1)
#define NOT_AFTER_DIGITS 19               /* INT64_MAX has 19 digits */
#define PAYLOAD_MAX (TOK_MAILBOX_MAX + 1 + NOT_AFTER_DIGITS)
#define B64_LEN(n) (((n) * 4 + 2) / 3)
/* The smallest payload, "a\n0", is 3 bytes, 4 characters. */
#define TOK_MIN_LEN (PREFIX_LEN + 4 + 1 + MAC_CHARS)

_Static_assert(PREFIX_LEN + B64_LEN(PAYLOAD_MAX) + 1 + MAC_CHARS == TOK_MAX_LEN, "TOK_MAX_LEN is exact");
_Static_assert(B64_LEN(MAC_BYTES) == MAC_CHARS, "a MAC is 43 characters");

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	term_clean(err);
}

/* ---- base64url, unpadded ------------------------------------------------- */

/* Writes B64_LEN(n) characters (no NUL). */
static void b64_encode(const uint8_t *p, size_t n, char *out)
{
	size_t i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*out++ = b64url[v >> 18];
		*out++ = b64url[(v >> 12) & 63];
		*out++ = b64url[(v >> 6) & 63];
		*out++ = b64url[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		*out++ = b64url[v >> 18];
		*out++ = b64url[(v >> 12) & 63];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		*out++ = b64url[v >> 18];
		*out++ = b64url[(v >> 12) & 63];
		*out++ = b64url[(v >> 6) & 63];
	}
}

static int b64_value(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '-')
		return 62;
	if (ch == '_')
		return 63;
	return -1;
}

static bool b64_chars_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b64_value((unsigned char)s[i]) < 0)
			return false;
	return n % 4 != 1;
}

/* Strict decoding of n characters (b64_chars_ok) into out (room for
 * n * 3 / 4 bytes): the spare bits of the last character must be zero,
 * so each byte string has exactly one encoding.  The length, or -1. */
static long b64_decode(const char *s, size_t n, uint8_t *out)
{
	size_t o = 0, i = 0;
	for (; i + 4 <= n; i += 4) {
		uint32_t v = (uint32_t)b64_value((unsigned char)s[i]) << 18 |
			     (uint32_t)b64_value((unsigned char)s[i + 1]) << 12 |
			     (uint32_t)b64_value((unsigned char)s[i + 2]) << 6 |
			     (uint32_t)b64_value((unsigned char)s[i + 3]);
		out[o++] = (uint8_t)(v >> 16);
		out[o++] = (uint8_t)(v >> 8);
		out[o++] = (uint8_t)v;
	}
	size_t rest = n - i;
	if (rest == 2) {
		uint32_t v = (uint32_t)b64_value((unsigned char)s[i]) << 18 |
			     (uint32_t)b64_value((unsigned char)s[i + 1]) << 12;
		if (v & 0xffff)
			return -1;
		out[o++] = (uint8_t)(v >> 16);
	} else if (rest == 3) {
		uint32_t v = (uint32_t)b64_value((unsigned char)s[i]) << 18 |
			     (uint32_t)b64_value((unsigned char)s[i + 1]) << 12 |
			     (uint32_t)b64_value((unsigned char)s[i + 2]) << 6;
		if (v & 0xff)
			return -1;
		out[o++] = (uint8_t)(v >> 16);
		out[o++] = (uint8_t)(v >> 8);
	} else if (rest != 0) {
		return -1;
	}
	return (long)o;
}

/* ---- tokens ---------------------------------------------------------------- */

static bool mailbox_ok(const char *m, size_t n)
{
	if (n == 0 || n > TOK_MAILBOX_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)m[i];
		if (ch <= 0x20 || ch == 0x7f)
			return false;
	}
	return true;
}

/* The MAC of signed[0..n), base64url-encoded into out[MAC_CHARS]. */
static bool mac_encoded(const uint8_t key[TOK_KEY_BYTES], const char *signed_part, size_t n, char *out)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	if (!HMAC(EVP_sha256(), key, TOK_KEY_BYTES, (const unsigned char *)signed_part, n, md, &md_len) ||
	    md_len != MAC_BYTES)
		return false;
	b64_encode(md, MAC_BYTES, out);
	return true;
}

int tok_mint(const uint8_t key[TOK_KEY_BYTES], const char *mailbox, int64_t not_after_unix, char *out,
	     size_t outlen)
{
	size_t mlen = mailbox ? strlen(mailbox) : 0;
	if (!mailbox_ok(mailbox, mlen) || not_after_unix < 0)
		return SIM_EINVAL;
	char payload[PAYLOAD_MAX + 1];
	int plen = snprintf(payload, sizeof payload, "%s\n%lld", mailbox, (long long)not_after_unix);
	if (plen < 0 || (size_t)plen > PAYLOAD_MAX)
		return SIM_EINVAL;
	char tok[TOK_MAX_LEN + 1];
	size_t n = PREFIX_LEN;
	memcpy(tok, TOK_PREFIX, PREFIX_LEN);
	b64_encode((const uint8_t *)payload, (size_t)plen, tok + n);
	n += B64_LEN((size_t)plen);
	if (!mac_encoded(key, tok, n, tok + n + 1))
		return SIM_EINVAL;
	tok[n] = '.';
	n += 1 + MAC_CHARS;
	if (outlen < n + 1)
		return SIM_ERANGE;
	memcpy(out, tok, n);
	out[n] = '\0';
	return SIM_OK;
}

static char ascii_lower(char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

tok_result tok_verify(const uint8_t key[TOK_KEY_BYTES], const char *token, size_t len, const char *identity,
		      int64_t now_unix)
{
	if (!token || len < TOK_MIN_LEN || len > TOK_MAX_LEN || memcmp(token, TOK_PREFIX, PREFIX_LEN) != 0)
		return TOK_MALFORMED;
	/* <payload>.<mac>: the MAC's length is fixed, so the dot's place is
	 * too; a dot anywhere else is outside the alphabet. */
	size_t dot = len - MAC_CHARS - 1;
	const char *payload = token + PREFIX_LEN, *mac = token + dot + 1;
	size_t pchars = dot - PREFIX_LEN;
	if (token[dot] != '.' || !b64_chars_ok(payload, pchars) || !b64_chars_ok(mac, MAC_CHARS))
		return TOK_MALFORMED;
	char want[MAC_CHARS];
	if (!mac_encoded(key, token, dot, want))
		return TOK_MALFORMED;
	if (CRYPTO_memcmp(want, mac, MAC_CHARS) != 0)
		return TOK_BAD_SIGNATURE;

	uint8_t p[PAYLOAD_MAX + 2];
	long plen = b64_decode(payload, pchars, p);
	if (plen < 3 || plen > PAYLOAD_MAX)
		return TOK_MALFORMED;
	const uint8_t *nl = memchr(p, '\n', (size_t)plen);
	if (!nl)
		return TOK_MALFORMED;
	size_t mlen = (size_t)(nl - p);
	const char *digits = (const char *)nl + 1;
	size_t dlen = (size_t)plen - mlen - 1;
	if (!mailbox_ok((const char *)p, mlen) || dlen == 0 || dlen > NOT_AFTER_DIGITS ||
	    (dlen > 1 && digits[0] == '0'))
		return TOK_MALFORMED;
	int64_t not_after = 0;
	for (size_t i = 0; i < dlen; i++) {
		int d = digits[i] - '0';
		if (d < 0 || d > 9 || not_after > (INT64_MAX - d) / 10)
			return TOK_MALFORMED;
		not_after = not_after * 10 + d;
	}
	if (now_unix > not_after)
		return TOK_EXPIRED;
	if (!identity || strlen(identity) != mlen)
		return TOK_WRONG_USER;
	for (size_t i = 0; i < mlen; i++)
		if (ascii_lower(identity[i]) != ascii_lower((char)p[i]))
			return TOK_WRONG_USER;
	return TOK_OK;
}

const char *tok_result_name(tok_result r)
{
	switch (r) {
	case TOK_OK:
		return "ok";
	case TOK_MALFORMED:
		return "malformed";
	case TOK_BAD_SIGNATURE:
		return "bad signature";
	case TOK_EXPIRED:
		return "expired";
	case TOK_WRONG_USER:
		return "wrong user";
	}
	return "unknown";
}

/* ---- the key file ---------------------------------------------------------- */

static int hex_value(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Create path with a new key (into key).  SIM_OK; 1 if the file exists
 * (someone else made it: read theirs); SIM_EIO with err filled (nothing
 * left behind). */
static int key_create(const char *path, uint8_t key[TOK_KEY_BYTES], char *err, size_t errlen)
{
	uint8_t k[TOK_KEY_BYTES];
	size_t got = 0;
	while (got < sizeof k) {
		ssize_t r = getrandom(k + got, sizeof k - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			set_err(err, errlen, "%s: cannot make a key: no random bytes: %s", path, strerror(errno));
			return SIM_EIO;
		}
		got += (size_t)r;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		int e = errno;
		OPENSSL_cleanse(k, sizeof k);
		if (e == EEXIST)
			return 1;
		set_err(err, errlen, "%s: cannot create the key file: %s", path, strerror(e));
		return SIM_EIO;
	}
	char line[2 * TOK_KEY_BYTES + 1];
	for (size_t i = 0; i < TOK_KEY_BYTES; i++) {
		line[2 * i] = "0123456789abcdef"[k[i] >> 4];
		line[2 * i + 1] = "0123456789abcdef"[k[i] & 15];
	}
	line[2 * TOK_KEY_BYTES] = '\n';
	/* The umask may only have taken bits away; fchmod makes it exactly
	 * 0600 so the owner can read it back. */
	int e = fchmod(fd, 0600) == 0 ? 0 : errno;
	size_t off = 0;
	while (!e && off < sizeof line) {
		ssize_t w = write(fd, line + off, sizeof line - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			e = errno;
		else
			off += (size_t)w;
	}
	if (!e && fsync(fd) != 0)
		e = errno;
	if (close(fd) != 0 && !e)
		e = errno;
	OPENSSL_cleanse(line, sizeof line);
	if (e) {
		unlink(path);
		OPENSSL_cleanse(k, sizeof k);
		set_err(err, errlen, "%s: cannot write the key file: %s", path, strerror(e));
		return SIM_EIO;
	}
	memcpy(key, k, sizeof k);
	OPENSSL_cleanse(k, sizeof k);
	return SIM_OK;
}

int tok_key_load(const char *path, uint8_t key[TOK_KEY_BYTES], bool create, char *err, size_t errlen)
{
	if (!path || !*path) {
		set_err(err, errlen, "a key file needs a name");
		return SIM_EINVAL;
	}
	/* O_NONBLOCK: opening a FIFO planted at the path must not hang; it is
	 * refused below as not a regular file. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 && errno == ENOENT && create) {
		int rc = key_create(path, key, err, errlen);
		if (rc != 1)
			return rc;
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	}
	if (fd < 0) {
		set_err(err, errlen, "%s: cannot read the key file: %s", path, strerror(errno));
		return SIM_EIO;
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		set_err(err, errlen, "%s: cannot read the key file: %s", path, strerror(errno));
		close(fd);
		return SIM_EIO;
	}
	if (!S_ISREG(st.st_mode)) {
		set_err(err, errlen, "%s: the key file is not a regular file", path);
		close(fd);
		return SIM_EINVAL;
	}
	if (st.st_mode & 077) {
		set_err(err, errlen, "%s: the key file's mode %04o lets group or others at it (chmod 600 %s)",
			path, (unsigned)(st.st_mode & 07777), path);
		close(fd);
		return SIM_EINVAL;
	}
	/* One byte more than the longest valid file tells a longer one. */
	char buf[2 * TOK_KEY_BYTES + 2];
	size_t n = 0;
	int e = 0;
	while (n < sizeof buf) {
		ssize_t r = read(fd, buf + n, sizeof buf - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			e = errno;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (e) {
		OPENSSL_cleanse(buf, sizeof buf);
		set_err(err, errlen, "%s: cannot read the key file: %s", path, strerror(e));
		return SIM_EIO;
	}
	uint8_t k[TOK_KEY_BYTES];
	bool ok = n == 2 * TOK_KEY_BYTES || (n == 2 * TOK_KEY_BYTES + 1 && buf[2 * TOK_KEY_BYTES] == '\n');
	for (size_t i = 0; ok && i < TOK_KEY_BYTES; i++) {
		int hi = hex_value(buf[2 * i]), lo = hex_value(buf[2 * i + 1]);
		if (hi < 0 || lo < 0)
			ok = false;
		else
			k[i] = (uint8_t)(hi << 4 | lo);
	}
	OPENSSL_cleanse(buf, sizeof buf);
	if (!ok) {
		OPENSSL_cleanse(k, sizeof k);
		set_err(err, errlen, "%s: not a key file: expected one line of %d hex digits", path,
			2 * TOK_KEY_BYTES);
		return SIM_EINVAL;
	}
	memcpy(key, k, sizeof k);
	OPENSSL_cleanse(k, sizeof k);
	return SIM_OK;
}
