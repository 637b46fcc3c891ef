/* token.h - the bearer tokens `throttlesim token` mints and `throttlesim
 * serve` accepts for AUTH XOAUTH2: signed locally with a key file, never
 * obtained from or checked with an identity provider.
 *
 * Format (all ASCII, no padding, no whitespace):
 *   tsim1.<base64url(mailbox "\n" not_after)>.<base64url(HMAC-SHA256(key, signed))>
 * where signed is everything before the last dot ("tsim1." and the
 * payload), not_after is the last Unix second at which the token is valid,
 * in canonical decimal (no sign, no leading zero), and base64url is RFC
 * 4648 section 5 without '=' padding.  The MAC covers the encoded text, so
 * verifying never decodes anything the key did not sign, and any change
 * to a single character (including the two spare bits of a final base64
 * character) fails the check.  The MAC is compared in encoded form with
 * CRYPTO_memcmp, in time independent of where the strings differ.
 *
 * Verification order: the outer shape (prefix, two dots, the alphabet,
 * lengths) -> TOK_MALFORMED; the MAC -> TOK_BAD_SIGNATURE; the signed
 * payload (decoded, "mailbox\nnot_after") -> TOK_MALFORMED (only a key
 * holder can get here with a bad payload); now > not_after ->
 * TOK_EXPIRED; the mailbox against the identity (XOAUTH2's user=), ASCII
 * case-insensitively, as Exchange Online matches addresses ->
 * TOK_WRONG_USER.  Any bytes up to any length are safe to pass: a token
 * over TOK_MAX_LEN is malformed before anything is read past it.
 *
 * Mailboxes: 1 to TOK_MAILBOX_MAX bytes, none of them a control
 * character, space or DEL (UTF-8 passes through); not_after in
 * [0, INT64_MAX].  So a token is at most TOK_MAX_LEN characters.
 *
 * The key file.  One line of 64 hex digits (32 bytes), a final newline
 * optional.  It must be a regular file that group and others cannot read
 * or write (as ssh demands of a private key: any of the mode's 077 bits
 * refuses it); tok_key_load with create makes a missing one with
 * O_CREAT | O_EXCL, mode 0600, from getrandom(2).  Two processes creating
 * it at once: one creates, the other finds it and reads it (a reader that
 * catches it half written gets a clear "not a key file" error, not a
 * different key).  The owner is not checked.
 *
 * Errors: tok_key_load returns SIM_* codes (status.h), one line in err
 * ("FILE: what is wrong"): SIM_EIO the file could not be read or
 * created, SIM_EINVAL its content or mode is wrong; key untouched on
 * failure.  tok_mint: SIM_EINVAL for a mailbox or time outside the above,
 * SIM_ERANGE if out is smaller than the token plus its NUL (out then
 * untouched).  No allocation, no globals; tok_verify is O(len) with len
 * capped at TOK_MAX_LEN, and key bytes on the stack are wiped after use.
 */
#ifndef SIM_PROGRAM_TOKEN_H
#define SIM_PROGRAM_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOK_KEY_BYTES 32
/* RFC 5321 4.5.3.1.3: a path is at most 256 octets with its brackets. */
#define TOK_MAILBOX_MAX 254
#define TOK_PREFIX "tsim1."
/* "tsim1." + base64url(254 + 1 + 19 bytes) + "." + base64url(32 bytes):
 * 6 + 366 + 1 + 43. */
#define TOK_MAX_LEN 416

typedef enum tok_result {
	TOK_OK = 0,
	TOK_MALFORMED,
	TOK_BAD_SIGNATURE,
	TOK_EXPIRED,
	TOK_WRONG_USER,
} tok_result;

/* Read the key at path into key; with create, a missing file is created
 * with a new random key first.  SIM_OK, SIM_EIO or SIM_EINVAL (err filled,
 * key untouched). */
int tok_key_load(const char *path, uint8_t key[TOK_KEY_BYTES], bool create, char *err, size_t errlen);

/* The token for mailbox (NUL-terminated), valid until not_after_unix
 * (inclusive), into out (NUL-terminated).  SIM_OK, SIM_EINVAL or
 * SIM_ERANGE (out too small: TOK_MAX_LEN + 1 always suffices). */
int tok_mint(const uint8_t key[TOK_KEY_BYTES], const char *mailbox, int64_t not_after_unix, char *out,
	     size_t outlen);

/* Check token[0..len) (any bytes, not NUL-terminated) for identity
 * (NUL-terminated) at now_unix. */
tok_result tok_verify(const uint8_t key[TOK_KEY_BYTES], const char *token, size_t len, const char *identity,
		      int64_t now_unix);

/* "ok", "malformed", "bad signature", "expired", "wrong user". */
const char *tok_result_name(tok_result r);

#endif
