/* tls.c - non-blocking TLS for the server's connections (see tls.h). */
#include "tls.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "evloop.h"
#include "outfile.h"
#include "status.h"
#include "term.h"

_Static_assert((int)TLS_WANT_READ == (int)EV_READ && (int)TLS_WANT_WRITE == (int)EV_WRITE,
	       "a want is passed to ev_io_set as it is");

#define TLS_ERR_MAX 200

struct tls_server {
	const sim_alloc *alloc;
	SSL_CTX *ctx;
	BIO_METHOD *bio_meth;   /* the MSG_NOSIGNAL socket BIO, per server: no globals */
};

struct tls_conn {
	tls_server *srv;
	SSL *ssl;
	int fd;
	int sys_errno;          /* of the last failed send/recv, 0 if none */
	bool dead;              /* a fatal error: OpenSSL must not be called again */
	bool eof;               /* recv returned 0: the peer closed its side */
	char err[TLS_ERR_MAX];
};

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

/* The reason of the first error on OpenSSL's queue ("wrong version
 * number"), or fallback; the queue is emptied. */
static const char *ossl_reason(char *buf, size_t size, const char *fallback)
{
	unsigned long e = ERR_get_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;
	if (r)
		snprintf(buf, size, "%s", r);
	else if (e)
		ERR_error_string_n(e, buf, size);
	else
		snprintf(buf, size, "%s", fallback);
	ERR_clear_error();
	return buf;
}

/* ---- the socket BIO ---------------------------------------------------------
 * OpenSSL's own socket BIO writes with write(2), which raises SIGPIPE on a
 * connection the peer has reset.  This one sends with MSG_NOSIGNAL; its
 * data is the tls_conn, so the errno of a failure reaches the log line. */

static int bio_write(BIO *b, const char *buf, int len)
{
	tls_conn *c = BIO_get_data(b);
	BIO_clear_retry_flags(b);
	ssize_t n;
	do
		n = send(c->fd, buf, (size_t)len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			BIO_set_retry_write(b);
		else
			c->sys_errno = errno;
		return -1;
	}
	return (int)n;
}

static int bio_read(BIO *b, char *buf, int len)
{
	tls_conn *c = BIO_get_data(b);
	BIO_clear_retry_flags(b);
	ssize_t n;
	do
		n = recv(c->fd, buf, (size_t)len, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			BIO_set_retry_read(b);
		else
			c->sys_errno = errno;
		return -1;
	}
	if (n == 0)
		c->eof = true;
	return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)num;
	(void)ptr;
	/* Nothing is buffered here: a flush is done at once.  The end of the
	 * stream is told (OpenSSL asks, to apply SSL_OP_IGNORE_UNEXPECTED_EOF);
	 * everything else (kTLS, peeking, pending counts) is not offered. */
	if (cmd == BIO_CTRL_FLUSH)
		return 1;
	if (cmd == BIO_CTRL_EOF)
		return ((tls_conn *)BIO_get_data(b))->eof;
	return 0;
}

static BIO_METHOD *bio_method_new(void)
{
	int type = BIO_get_new_index();
	if (type == -1)
		return NULL;
	BIO_METHOD *m = BIO_meth_new(type | BIO_TYPE_SOURCE_SINK, "throttlesim socket");
	if (!m)
		return NULL;
	if (!BIO_meth_set_write(m, bio_write) || !BIO_meth_set_read(m, bio_read) ||
	    !BIO_meth_set_ctrl(m, bio_ctrl)) {
		BIO_meth_free(m);
		return NULL;
	}
	return m;
}

/* ---- the certificate ------------------------------------------------------- */

static bool hostname_ok(const char *h)
{
	size_t n = h ? strlen(h) : 0;
	if (n == 0 || n > TLS_HOSTNAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = h[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '-' || ch == '.'))
			return false;
	}
	return true;
}

static bool add_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, v3, nid, value);
	if (!ext)
		return false;
	int ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok == 1;
}

/* A self-signed certificate for host (checked by hostname_ok: no commas,
 * so it cannot smuggle a second subjectAltName entry). */
static int gen_cert(const char *host, X509 **x_out, EVP_PKEY **key_out, char *err, size_t errlen)
{
	char why[160];
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	BIGNUM *serial = NULL;
	if (!key || !x)
		goto fail;
	/* A positive random 127-bit serial (RFC 5280 4.1.2.2: at most 20
	 * octets, unique per issuer; a restart must not reuse one). */
	unsigned char rnd[16];
	if (RAND_bytes(rnd, sizeof rnd) != 1)
		goto fail;
	rnd[0] = (unsigned char)((rnd[0] & 0x7f) | 0x40);
	serial = BN_bin2bn(rnd, sizeof rnd, NULL);
	if (!serial || !BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)))
		goto fail;
	/* From a day before now (a client's clock behind ours) for 365 days. */
	time_t now = time(NULL);
	if (!X509_set_version(x, X509_VERSION_3) ||
	    !X509_time_adj_ex(X509_getm_notBefore(x), -1, 0, &now) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), 364, 0, &now) || !X509_set_pubkey(x, key))
		goto fail;
	X509_NAME *name = X509_get_subject_name(x);
	if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)host, -1, -1, 0) ||
	    !X509_set_issuer_name(x, name))
		goto fail;
	/* No keyUsage: a self-signed leaf whose keyUsage lacked keyCertSign
	 * would not count as self-issued for some verifiers, and a client
	 * told to trust exactly this certificate could not build its chain.
	 * CA:FALSE and serverAuth keep it from serving as anything else; the
	 * key identifiers satisfy strict verifiers (X509_V_FLAG_X509_STRICT,
	 * the default of recent Python). */
	char san[TLS_HOSTNAME_MAX + 32];
	snprintf(san, sizeof san, "DNS:%s,IP:127.0.0.1", host);
	X509V3_CTX v3;
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	if (!add_ext(x, &v3, NID_basic_constraints, "critical,CA:FALSE") ||
	    !add_ext(x, &v3, NID_ext_key_usage, "serverAuth") ||
	    !add_ext(x, &v3, NID_subject_key_identifier, "hash") ||
	    !add_ext(x, &v3, NID_authority_key_identifier, "keyid:always") ||
	    !add_ext(x, &v3, NID_subject_alt_name, san))
		goto fail;
	if (X509_sign(x, key, EVP_sha256()) <= 0)
		goto fail;
	BN_free(serial);
	*x_out = x;
	*key_out = key;
	return SIM_OK;
fail:
	set_err(err, errlen, "cannot generate a certificate for %s: %s", host,
		ossl_reason(why, sizeof why, "out of memory"));
	BN_free(serial);
	X509_free(x);
	EVP_PKEY_free(key);
	return SIM_ENOMEM;
}

/* The passphrase callback: never prompt (OpenSSL's default reads the
 * terminal), only remember that a passphrase was wanted. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	*(bool *)u = true;
	return -1;
}

static int load_files(SSL_CTX *ctx, const char *cert_file, const char *key_file, char *err, size_t errlen)
{
	char why[160];
	FILE *f = fopen(cert_file, "r");
	if (!f) {
		set_err(err, errlen, "%s: cannot read the certificate: %s", cert_file, strerror(errno));
		return SIM_EIO;
	}
	fclose(f);
	ERR_clear_error();
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
		set_err(err, errlen, "%s: not a usable PEM certificate chain (%s)", cert_file,
			ossl_reason(why, sizeof why, "no certificate"));
		return SIM_EINVAL;
	}
	f = fopen(key_file, "r");
	if (!f) {
		set_err(err, errlen, "%s: cannot read the private key: %s", key_file, strerror(errno));
		return SIM_EIO;
	}
	bool wanted_passphrase = false;
	EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, no_passphrase, &wanted_passphrase);
	fclose(f);
	if (!key) {
		if (wanted_passphrase)
			set_err(err, errlen, "%s: the private key is encrypted; give one without a passphrase",
				key_file);
		else
			set_err(err, errlen, "%s: no PEM private key found (%s)", key_file,
				ossl_reason(why, sizeof why, "no key"));
		ERR_clear_error();
		return SIM_EINVAL;
	}
	X509 *leaf = SSL_CTX_get0_certificate(ctx);
	if (!leaf || X509_check_private_key(leaf, key) != 1) {
		set_err(err, errlen, "%s: the private key does not match the certificate in %s", key_file,
			cert_file);
		EVP_PKEY_free(key);
		ERR_clear_error();
		return SIM_EINVAL;
	}
	int ok = SSL_CTX_use_PrivateKey(ctx, key);
	EVP_PKEY_free(key);
	if (ok != 1) {
		set_err(err, errlen, "%s: the private key cannot be used (%s)", key_file,
			ossl_reason(why, sizeof why, "refused"));
		return SIM_EINVAL;
	}
	return SIM_OK;
}

/* ---- the server context ---------------------------------------------------- */

static int ctx_policy(SSL_CTX *ctx, unsigned flags)
{
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET |
					 SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
				      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (SSL_CTX_set_num_tickets(ctx, 0) != 1 || SSL_CTX_set_dh_auto(ctx, 1) != 1)
		return 0;
	if (flags & TLS_REFUSE_LEGACY)
		return SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1;
	/* Security level 0 both on the context and in the cipher string:
	 * the string's @SECLEVEL sets the context's level as well, the
	 * explicit call documents it. */
	SSL_CTX_set_security_level(ctx, 0);
	return SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION) == 1 &&
	       SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0") == 1;
}

int tls_server_new(const char *cert_file, const char *key_file, const char *hostname, unsigned flags,
		   const sim_alloc *a, tls_server **out, char *err, size_t errlen)
{
	char why[160];
	if (!a)
		a = &sim_alloc_std;
	if (!out || (flags & ~(unsigned)TLS_REFUSE_LEGACY)) {
		set_err(err, errlen, "tls_server_new: invalid arguments");
		return SIM_EINVAL;
	}
	if (!cert_file && !hostname_ok(hostname)) {
		set_err(err, errlen,
			"the TLS hostname '%s' is not 1 to %d letters, digits, '-' and '.'",
			hostname ? hostname : "", TLS_HOSTNAME_MAX);
		return SIM_EINVAL;
	}
	ERR_clear_error();
	tls_server *s = sim_malloc(a, sizeof *s);
	if (!s) {
		set_err(err, errlen, "out of memory");
		return SIM_ENOMEM;
	}
	*s = (tls_server){ .alloc = a };
	int rc = SIM_ENOMEM;
	s->ctx = SSL_CTX_new(TLS_server_method());
	s->bio_meth = bio_method_new();
	if (!s->ctx || !s->bio_meth || !ctx_policy(s->ctx, flags)) {
		set_err(err, errlen, "cannot set up TLS: %s", ossl_reason(why, sizeof why, "out of memory"));
		goto fail;
	}
	if (cert_file) {
		rc = load_files(s->ctx, cert_file, key_file ? key_file : cert_file, err, errlen);
		if (rc != SIM_OK)
			goto fail;
	} else {
		X509 *x = NULL;
		EVP_PKEY *key = NULL;
		rc = gen_cert(hostname, &x, &key, err, errlen);
		if (rc != SIM_OK)
			goto fail;
		int ok = SSL_CTX_use_certificate(s->ctx, x) == 1 && SSL_CTX_use_PrivateKey(s->ctx, key) == 1;
		X509_free(x);
		EVP_PKEY_free(key);
		if (!ok) {
			rc = SIM_ENOMEM;
			set_err(err, errlen, "cannot use the generated certificate: %s",
				ossl_reason(why, sizeof why, "out of memory"));
			goto fail;
		}
	}
	ERR_clear_error();
	*out = s;
	return SIM_OK;
fail:
	ERR_clear_error();
	tls_server_free(s);
	return rc;
}

int tls_server_write_cert(const tls_server *srv, const char *path, char *err, size_t errlen)
{
	X509 *x = SSL_CTX_get0_certificate(srv->ctx);
	outf o;
	if (!x) {
		set_err(err, errlen, "%s: the server has no certificate", path ? path : "");
		return SIM_EINVAL;
	}
	if (outf_open(&o, path, err, errlen) != 0)
		return SIM_EIO;
	if (PEM_write_X509(o.f, x) != 1) {
		outf_abort(&o);
		ERR_clear_error();
		set_err(err, errlen, "%s: cannot write the certificate", path);
		return SIM_EIO;
	}
	return outf_commit(&o, err, errlen) == 0 ? SIM_OK : SIM_EIO;
}

void tls_server_free(tls_server *s)
{
	if (!s)
		return;
	SSL_CTX_free(s->ctx);
	BIO_meth_free(s->bio_meth);
	sim_free(s->alloc, s, sizeof *s);
}

/* ---- connections -------------------------------------------------------------- */

int tls_conn_new(tls_server *srv, int fd, tls_conn **out)
{
	tls_conn *c = sim_malloc(srv->alloc, sizeof *c);
	if (!c)
		return SIM_ENOMEM;
	*c = (tls_conn){ .srv = srv, .fd = fd };
	ERR_clear_error();
	c->ssl = SSL_new(srv->ctx);
	BIO *b = c->ssl ? BIO_new(srv->bio_meth) : NULL;
	if (!b) {
		SSL_free(c->ssl);
		sim_free(srv->alloc, c, sizeof *c);
		ERR_clear_error();
		return SIM_ENOMEM;
	}
	BIO_set_data(b, c);
	BIO_set_init(b, 1);
	SSL_set_bio(c->ssl, b, b); /* the SSL owns the BIO */
	SSL_set_accept_state(c->ssl);
	*out = c;
	return SIM_OK;
}

void tls_conn_free(tls_conn *c)
{
	if (!c)
		return;
	SSL_free(c->ssl);
	sim_free(c->srv->alloc, c, sizeof *c);
}

/* What an SSL_* call's ret <= 0 means: a want, 0 for the end of the
 * stream (*closed), or TLS_ERR with c->err worded and c dead. */
static int outcome(tls_conn *c, int ret, const char *what, bool *closed)
{
	char why[160];
	int e = SSL_get_error(c->ssl, ret);
	switch (e) {
	case SSL_ERROR_WANT_READ:
		ERR_clear_error();
		return TLS_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		ERR_clear_error();
		return TLS_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		ERR_clear_error();
		if (closed) {
			*closed = true;
			return TLS_OK;
		}
		snprintf(c->err, sizeof c->err, "%s: the peer closed the connection", what);
		break;
	case SSL_ERROR_SYSCALL:
		if (c->sys_errno)
			snprintf(c->err, sizeof c->err, "%s: %s", what, strerror(c->sys_errno));
		else
			snprintf(c->err, sizeof c->err, "%s: the peer closed the connection (%s)", what,
				 ossl_reason(why, sizeof why, "end of stream"));
		break;
	case SSL_ERROR_SSL:
		snprintf(c->err, sizeof c->err, "%s: %s", what, ossl_reason(why, sizeof why, "protocol error"));
		break;
	default:
		snprintf(c->err, sizeof c->err, "%s: unexpected OpenSSL state %d", what, e);
		break;
	}
	ERR_clear_error();
	term_clean(c->err);
	c->dead = true;
	return TLS_ERR;
}

int tls_handshake(tls_conn *c)
{
	if (c->dead)
		return TLS_ERR;
	if (SSL_is_init_finished(c->ssl))
		return TLS_OK;
	ERR_clear_error();
	c->sys_errno = 0;
	int r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		ERR_clear_error();
		return TLS_OK;
	}
	return outcome(c, r, "handshake", NULL);
}

ssize_t tls_read(tls_conn *c, void *buf, size_t len, int *want)
{
	if (c->dead) {
		*want = TLS_ERR;
		return -1;
	}
	if (len == 0)
		return 0;
	int n = len > INT_MAX ? INT_MAX : (int)len;
	ERR_clear_error();
	c->sys_errno = 0;
	int r = SSL_read(c->ssl, buf, n);
	if (r > 0) {
		ERR_clear_error();
		return r;
	}
	bool closed = false;
	int w = outcome(c, r, "read", &closed);
	if (closed)
		return 0;
	*want = w;
	return -1;
}

ssize_t tls_write(tls_conn *c, const void *buf, size_t len, int *want)
{
	if (c->dead) {
		*want = TLS_ERR;
		return -1;
	}
	if (len == 0)
		return 0;
	int n = len > INT_MAX ? INT_MAX : (int)len;
	ERR_clear_error();
	c->sys_errno = 0;
	int r = SSL_write(c->ssl, buf, n);
	if (r > 0) {
		ERR_clear_error();
		return r;
	}
	/* A write never reads the end of the stream as a clean end: the
	 * bytes offered were not sent. */
	*want = outcome(c, r, "write", NULL);
	return -1;
}

size_t tls_pending(const tls_conn *c)
{
	if (c->dead)
		return 0;
	int n = SSL_pending(c->ssl);
	return n > 0 ? (size_t)n : 0;
}

int tls_version(const tls_conn *c)
{
	return SSL_is_init_finished(c->ssl) ? SSL_version(c->ssl) : 0;
}

const char *tls_version_name(int version)
{
	switch (version) {
	case 0:
		return "none";
	case TLS1_VERSION:
		return "TLSv1.0";
	case TLS1_1_VERSION:
		return "TLSv1.1";
	case TLS1_2_VERSION:
		return "TLSv1.2";
	case TLS1_3_VERSION:
		return "TLSv1.3";
	default:
		return "unknown";
	}
}

const char *tls_cipher_name(const tls_conn *c)
{
	const char *n = SSL_is_init_finished(c->ssl) ? SSL_get_cipher_name(c->ssl) : NULL;
	return n && strcmp(n, "(NONE)") != 0 ? n : "none";
}

const char *tls_conn_error(const tls_conn *c)
{
	return c->err;
}
