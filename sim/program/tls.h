/* tls.h - non-blocking TLS (OpenSSL) for the connections of `throttlesim
 * serve`: one server context (certificate, key, protocol policy) and one
 * TLS session per connection, stepped from the level-triggered event loop
 * (evloop.h) after the SMTP layer's STARTTLS (smtp_proto.h).
 *
 * Driving it.  After the 220 to STARTTLS is written:
 *   tls_conn_new(srv, fd, &c)        the fd stays the caller's (not closed)
 *   r = tls_handshake(c)             TLS_OK, or TLS_WANT_READ/WRITE: set the
 *                                    watcher's interest to r and call again
 *                                    when the fd is ready; TLS_ERR: close
 *   n = tls_read(c, buf, len, &want) bytes, 0 at the end, -1 with want
 *   n = tls_write(c, buf, len, &want)
 *   tls_conn_free(c), then close the fd
 * TLS_WANT_READ and TLS_WANT_WRITE equal EV_READ and EV_WRITE, so a want
 * can be passed to ev_io_set as it is.  Either call may want the other
 * direction (a TLS 1.3 KeyUpdate makes a read write; a write may need to
 * read first): the want says which, not the call.
 *
 * Level-triggered loops and buffered bytes.  tls_read decrypts a whole
 * record (up to 16 KiB) and hands out as much as asked; the rest waits
 * inside OpenSSL, where epoll cannot see it.  After a read, while
 * tls_pending(c) > 0 the caller must read again without waiting for the
 * fd (or it stalls until the client sends more, which an SMTP client
 * waiting for a reply never does).  OpenSSL's read-ahead stays off, so no
 * undecrypted bytes are held beyond the record being read: whatever is not
 * counted by tls_pending is still in the socket and wakes the loop.
 *
 * Writes.  A write may be partial (SSL_MODE_ENABLE_PARTIAL_WRITE): n < len
 * bytes were taken.  After -1 with a want, the next tls_write must offer
 * the same bytes again, from any address (SSL_MODE_ACCEPT_MOVING_WRITE_
 * BUFFER, so the SMTP output queue may be compacted in between), with len
 * at least as large: the record OpenSSL already built from them is sent
 * first.  The SMTP output queue only grows at its end until consumed, so
 * offering the queue as it stands satisfies this.
 *
 * Versions.  Exchange Online lets a TLS 1.0 or 1.1 client finish the
 * handshake and refuses it afterwards, at AUTH, with 421 4.7.66 (the
 * reference exchange-online.md).  So by default the server context takes
 * TLS 1.0 to 1.3, at security level 0 with "DEFAULT:@SECLEVEL=0" ciphers
 * (old clients have only SHA-1 suites and MD5+SHA-1 signatures), and the
 * server decides from tls_version(c).  TLS_REFUSE_LEGACY instead sets
 * TLS 1.2 as the minimum, at OpenSSL's default security level and cipher
 * list: an old client then fails in the handshake (a protocol_version
 * alert).  SSL 3 is never offered.
 *
 * Bounded memory.  SSL_MODE_RELEASE_BUFFERS frees a connection's read and
 * write buffers (about 17 KiB each) whenever they are empty, so an idle
 * connection holds only the SSL object; there is no renegotiation
 * (SSL_OP_NO_RENEGOTIATION), no compression, no session cache and no
 * session tickets (no resumption: SMTP submission clients rarely resume,
 * and a cache grows with the clients).  Bytes from a peer are read one
 * record at a time, so hostile input costs at most one record's buffer;
 * garbage where a ClientHello belongs gives TLS_ERR.
 *
 * The end of the stream.  A close_notify and a plain TCP close after the
 * handshake both read as 0 (SSL_OP_IGNORE_UNEXPECTED_EOF): SMTP marks its
 * own ends (QUIT, the final dot, BDAT LAST), so a truncation attack gains
 * nothing, and most clients close without close_notify after 221.  A close
 * during the handshake is TLS_ERR.
 *
 * SIGPIPE.  The sessions do their I/O through a socket BIO of this module
 * that sends with MSG_NOSIGNAL, so a write to a connection the peer has
 * reset fails with EPIPE (TLS_ERR) instead of killing the process; the
 * server need not ignore SIGPIPE for this module's sake.
 *
 * Certificates.  With no certificate file, tls_server_new generates one at
 * start: an EC P-256 key, subject and issuer CN=hostname, subjectAltName
 * DNS:hostname and IP:127.0.0.1, basicConstraints CA:FALSE, extended key
 * usage serverAuth, subject and authority key identifiers, valid from one
 * day before now (clock skew) for 365 days, signed with ECDSA SHA-256.
 * tls_server_write_cert writes it as PEM so a client can trust exactly
 * it.  Otherwise the PEM certificate chain (leaf first) and the PEM key
 * (the cert file itself when key_file is NULL) are loaded and checked to
 * match.  An encrypted key is refused, never prompted for.
 *
 * Errors.  tls_server_new and tls_server_write_cert return SIM_* codes
 * (status.h) and word one line into err ("FILE: what is wrong"):
 * SIM_EIO a file could not be read or written, SIM_EINVAL a file's content
 * or an argument is wrong (hostname: 1 to 64 letters, digits, '-', '.'),
 * SIM_ENOMEM an allocation or OpenSSL itself failed; *out untouched.  A
 * connection's failure is kept as a line for the logs (tls_conn_error);
 * none of it is ever sent to a client.
 *
 * Ownership and threads.  The server object owns the SSL_CTX and the BIO
 * method; each connection owns its SSL and borrows the server, which must
 * outlive it.  Our structures come from the caller's allocator; OpenSSL
 * allocates its own through CRYPTO_malloc.  OpenSSL's error queue is per
 * thread; every call here clears it before and after, so connections may
 * run in different threads if each is used by one thread at a time.
 * Costs: the handshake's public-key operations (an ECDHE and an ECDSA
 * signature on P-256, well under a millisecond); a read or write, one
 * record's symmetric crypto; no call blocks.
 */
#ifndef SIM_PROGRAM_TLS_H
#define SIM_PROGRAM_TLS_H

#include <stddef.h>
#include <sys/types.h>

#include "alloc.h"

typedef struct tls_server tls_server;
typedef struct tls_conn tls_conn;

/* Results of tls_handshake and the wants of tls_read/tls_write.  The two
 * wants equal EV_READ and EV_WRITE (evloop.h). */
enum tls_result {
	TLS_OK = 0,
	TLS_WANT_READ = 1,
	TLS_WANT_WRITE = 2,
	TLS_ERR = -1,
};

/* tls_server_new flags. */
enum {
	TLS_REFUSE_LEGACY = 1u, /* TLS 1.0 and 1.1 fail in the handshake */
};

#define TLS_HOSTNAME_MAX 64 /* the generated certificate's CN (RFC 5280 ub-common-name) */

/* ---- the server context ---------------------------------------------------- */

/* A server context.  cert_file NULL: generate a certificate for hostname
 * (key_file ignored); else load cert_file (a PEM chain, leaf first) and
 * key_file (PEM; NULL: the key is in cert_file), hostname ignored.  a NULL
 * means sim_alloc_std.  SIM_OK, or SIM_EIO / SIM_EINVAL / SIM_ENOMEM with
 * err filled and *out untouched. */
int tls_server_new(const char *cert_file, const char *key_file, const char *hostname, unsigned flags,
		   const sim_alloc *a, tls_server **out, char *err, size_t errlen);
/* Write the server's certificate (the leaf) as PEM to path, replacing it
 * atomically (outfile.h).  SIM_OK or SIM_EIO with err filled. */
int tls_server_write_cert(const tls_server *srv, const char *path, char *err, size_t errlen);
/* Free the context; every connection made from it must be freed first. */
void tls_server_free(tls_server *srv);

/* ---- connections -------------------------------------------------------------- */

/* A TLS session, server side, over the connected socket fd (non-blocking;
 * the caller keeps owning and closes it).  SIM_OK or SIM_ENOMEM (*out
 * untouched). */
int tls_conn_new(tls_server *srv, int fd, tls_conn **out);
void tls_conn_free(tls_conn *c);

/* Step the handshake: TLS_OK once it is complete (and at every call after),
 * TLS_WANT_READ / TLS_WANT_WRITE, or TLS_ERR (tls_conn_error says why;
 * the connection is dead: free it). */
int tls_handshake(tls_conn *c);

/* Up to len > 0 decrypted bytes into buf: their count; 0 when the peer has
 * closed (close_notify or end of the stream); -1 with *want TLS_WANT_READ,
 * TLS_WANT_WRITE or TLS_ERR.  Only after the handshake is complete. */
ssize_t tls_read(tls_conn *c, void *buf, size_t len, int *want);
/* Encrypt and send up to len bytes of buf: the count taken (> 0; 0 only
 * for len 0), or -1 with *want as for tls_read.  See "Writes" above for
 * the retry after a want. */
ssize_t tls_write(tls_conn *c, const void *buf, size_t len, int *want);

/* Decrypted bytes held inside OpenSSL, which the next tls_read returns
 * without touching the socket (see above: the caller must drain them). */
size_t tls_pending(const tls_conn *c);

/* The protocol version once the handshake is complete: 0x0301 TLS 1.0,
 * 0x0302 TLS 1.1, 0x0303 TLS 1.2, 0x0304 TLS 1.3; 0 before. */
int tls_version(const tls_conn *c);
/* "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"; "none" for 0, "unknown"
 * for anything else.  A static string. */
const char *tls_version_name(int version);
/* The negotiated cipher suite's OpenSSL name ("TLS_AES_256_GCM_SHA384"),
 * "none" before the handshake is complete; valid while c lives. */
const char *tls_cipher_name(const tls_conn *c);
/* The last failure of c, one line for the logs ("" if none); valid until
 * the next call on c. */
const char *tls_conn_error(const tls_conn *c);

#endif
