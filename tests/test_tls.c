/* test_tls.c - non-blocking TLS for the server (sim/program/tls.[ch]),
 * against a real OpenSSL client over a non-blocking socketpair.
 *
 * Each handshake steps both sides by hand, one call each per round, as
 * two event-loop callbacks would; nothing waits on time, so the file runs
 * the same on a loaded machine.  Expected values come from the contract:
 * the version numbers of RFC 8446 / 5246 / 4346 / 2246, the record bound
 * of 16,384 plaintext bytes (RFC 8446 5.1), the byte counts of what the
 * client sent, and the certificate profile in tls.h.  SIGPIPE keeps its
 * default action here, so a write to a closed peer that raised it would
 * kill the test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "alloc.h"
#include "status.h"
#include "tls.h"

#define HOST "mail.test.example"

/* ---- helpers ------------------------------------------------------------- */

static void pair(int fds[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK), 0);
}

static tls_server *mk_server(unsigned flags)
{
	tls_server *s = NULL;
	char err[256] = "";
	int rc = tls_server_new(NULL, NULL, HOST, flags, NULL, &s, err, sizeof err);
	if (rc != SIM_OK)
		fail_msg("tls_server_new: %s", err);
	assert_non_null(s);
	return s;
}

/* A client context; min/max 0: OpenSSL's (and the system's) defaults.
 * legacy: security level 0, as an old client needs against OpenSSL 3. */
static SSL_CTX *client_ctx(int min, int max, bool legacy)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	assert_non_null(ctx);
	if (legacy) {
		SSL_CTX_set_security_level(ctx, 0);
		assert_int_equal(SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0"), 1);
	}
	if (min)
		assert_int_equal(SSL_CTX_set_min_proto_version(ctx, min), 1);
	if (max)
		assert_int_equal(SSL_CTX_set_max_proto_version(ctx, max), 1);
	return ctx;
}

static SSL *client_ssl(SSL_CTX *ctx, int fd)
{
	SSL *ssl = SSL_new(ctx);
	assert_non_null(ssl);
	assert_int_equal(SSL_set_fd(ssl, fd), 1);
	SSL_set_connect_state(ssl);
	return ssl;
}

typedef struct hs {
	int server;       /* the server's last result */
	bool client_ok;
	int rounds;
} hs;

/* One client call and one server call per round until both are done or
 * either has failed (and the other has seen the alert). */
static hs handshake_both(tls_conn *c, SSL *cl)
{
	hs h = { .server = TLS_WANT_READ };
	bool client_failed = false;
	for (h.rounds = 1; h.rounds <= 50; h.rounds++) {
		if (!h.client_ok && !client_failed) {
			ERR_clear_error();
			int r = SSL_do_handshake(cl);
			if (r == 1) {
				h.client_ok = true;
			} else {
				int e = SSL_get_error(cl, r);
				client_failed = e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE;
			}
			ERR_clear_error();
		}
		if (h.server != TLS_OK && h.server != TLS_ERR)
			h.server = tls_handshake(c);
		bool server_done = h.server == TLS_OK || h.server == TLS_ERR;
		if (server_done && (h.client_ok || client_failed))
			break;
		if (h.server == TLS_ERR && h.rounds > 3)
			break; /* a client that never hears back */
	}
	return h;
}

/* A connected, handshaken pair: server conn over fds[0], client on fds[1]. */
typedef struct tlink {
	int fds[2];
	tls_conn *c;
	SSL_CTX *cctx;
	SSL *cl;
} tlink;

static void link_open(tlink *l, tls_server *s, SSL_CTX *cctx)
{
	pair(l->fds);
	l->c = NULL;
	assert_int_equal(tls_conn_new(s, l->fds[0], &l->c), SIM_OK);
	l->cctx = cctx;
	l->cl = client_ssl(cctx, l->fds[1]);
}

static void link_close(tlink *l)
{
	tls_conn_free(l->c);
	SSL_free(l->cl);
	SSL_CTX_free(l->cctx);
	close(l->fds[0]);
	if (l->fds[1] >= 0)
		close(l->fds[1]);
}

/* Read exactly n bytes on the client, stepping nothing else (the server
 * has written them all). */
static void client_read_exact(SSL *cl, unsigned char *buf, size_t n)
{
	size_t got = 0;
	for (int i = 0; got < n && i < 100000; i++) {
		int r = SSL_read(cl, buf + got, (int)(n - got));
		if (r > 0)
			got += (size_t)r;
		else
			assert_int_equal(SSL_get_error(cl, r), SSL_ERROR_WANT_READ);
	}
	assert_int_equal(got, n);
}

static void pattern(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)((i * 131u + seed) ^ (i >> 8));
}

/* ---- (a) a handshake, then data both ways --------------------------------- */

static void test_handshake_and_data(void **state)
{
	(void)state;
	tls_server *s = mk_server(0);
	tlink l;
	link_open(&l, s, client_ctx(0, 0, false));
	/* nothing sent yet: the server waits for a ClientHello */
	assert_int_equal(tls_handshake(l.c), TLS_WANT_READ);
	assert_int_equal(tls_version(l.c), 0);
	assert_string_equal(tls_version_name(tls_version(l.c)), "none");
	assert_string_equal(tls_cipher_name(l.c), "none");
	hs h = handshake_both(l.c, l.cl);
	assert_int_equal(h.server, TLS_OK);
	assert_true(h.client_ok);
	assert_int_equal(tls_handshake(l.c), TLS_OK); /* and stays so */
	assert_int_equal(tls_version(l.c), 0x0304);
	assert_string_equal(tls_version_name(0x0304), "TLSv1.3");
	assert_string_equal(tls_cipher_name(l.c), SSL_get_cipher_name(l.cl));
	assert_string_equal(tls_conn_error(l.c), "");

	/* client -> server, exact bytes; then nothing more: a want */
	static const char ehlo[] = "EHLO client.example\r\n";
	assert_int_equal(SSL_write(l.cl, ehlo, (int)strlen(ehlo)), (int)strlen(ehlo));
	char buf[512];
	int want = 0;
	assert_int_equal(tls_read(l.c, buf, sizeof buf, &want), (ssize_t)strlen(ehlo));
	assert_memory_equal(buf, ehlo, strlen(ehlo));
	assert_int_equal(tls_pending(l.c), 0);
	assert_int_equal(tls_read(l.c, buf, sizeof buf, &want), -1);
	assert_int_equal(want, TLS_WANT_READ);

	/* server -> client */
	static const char reply[] = "250-" HOST " Hello [127.0.0.1]\r\n250-SIZE 36700160\r\n250 AUTH LOGIN XOAUTH2\r\n";
	assert_int_equal(tls_write(l.c, reply, strlen(reply), &want), (ssize_t)strlen(reply));
	unsigned char got[sizeof reply];
	client_read_exact(l.cl, got, strlen(reply));
	assert_memory_equal(got, reply, strlen(reply));
	assert_int_equal(tls_write(l.c, reply, 0, &want), 0);

	/* a close_notify reads as the end */
	ERR_clear_error();
	assert_true(SSL_shutdown(l.cl) >= 0);
	assert_int_equal(tls_read(l.c, buf, sizeof buf, &want), 0);
	assert_int_equal(tls_read(l.c, buf, sizeof buf, &want), 0);
	link_close(&l);
	tls_server_free(s);
}

/* A megabyte through a socket buffer far smaller: writes are partial (at
 * most one record each, two after a want), the buffer fills
 * (TLS_WANT_WRITE), the client drains it, and each retry offers the same
 * bytes from another buffer. */
static void test_backpressure(void **state)
{
	(void)state;
	tls_server *s = mk_server(0);
	tlink l;
	link_open(&l, s, client_ctx(0, 0, false));
	assert_int_equal(handshake_both(l.c, l.cl).server, TLS_OK);
	size_t total = 1 << 20;
	unsigned char *src = malloc(total), *dst = malloc(total), *copy = malloc(total);
	assert_non_null(src);
	assert_non_null(dst);
	assert_non_null(copy);
	pattern(src, total, 7);
	/* a small send buffer, so the megabyte cannot fit in it */
	int sndbuf = 65536;
	assert_int_equal(setsockopt(l.fds[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf), 0);
	size_t sent = 0, got = 0;
	long wants = 0, writes = 0;
	bool moved = false, after_want = false;
	for (int round = 0; got < total && round < 10000; round++) {
		/* the server writes until the socket is full ... */
		while (sent < total) {
			/* after a want, offer the same bytes from the other buffer */
			const unsigned char *from = moved ? copy + sent : src + sent;
			int want = 0;
			ssize_t n = tls_write(l.c, from, total - sent, &want);
			if (n < 0) {
				assert_int_equal(n, -1);
				assert_int_equal(want, TLS_WANT_WRITE);
				wants++;
				memcpy(copy + sent, src + sent, total - sent);
				moved = !moved;
				after_want = true;
				break;
			}
			/* one record a call; after a want, also the record
			 * built from the bytes offered then */
			assert_true(n > 0 && n <= (after_want ? 2 : 1) * 16384);
			after_want = false;
			sent += (size_t)n;
			writes++;
		}
		/* ... then the client drains it */
		for (;;) {
			int r = SSL_read(l.cl, dst + got, (int)(total - got));
			if (r <= 0) {
				assert_int_equal(SSL_get_error(l.cl, r), SSL_ERROR_WANT_READ);
				break;
			}
			got += (size_t)r;
		}
	}
	assert_int_equal(sent, total);
	assert_true(wants >= 1);
	/* 64 records' worth, at most two per call after a want */
	assert_true(writes + wants >= (long)(total / 16384));
	assert_memory_equal(src, dst, total);
	free(src);
	free(dst);
	free(copy);
	link_close(&l);
	tls_server_free(s);
}

/* The peer gone: a TCP close without close_notify reads as the end; a
 * write to it fails with EPIPE, not SIGPIPE. */
static void test_peer_closes(void **state)
{
	(void)state;
	tls_server *s = mk_server(0);
	tlink l;
	link_open(&l, s, client_ctx(0, 0, false));
	assert_int_equal(handshake_both(l.c, l.cl).server, TLS_OK);
	close(l.fds[1]);
	l.fds[1] = -1;
	char buf[64];
	int want = 0;
	ssize_t rn = tls_read(l.c, buf, sizeof buf, &want);
	if (rn != 0)
		fail_msg("read %zd want %d: %s", rn, want, tls_conn_error(l.c));
	link_close(&l);

	link_open(&l, s, client_ctx(0, 0, false));
	assert_int_equal(handshake_both(l.c, l.cl).server, TLS_OK);
	close(l.fds[1]);
	l.fds[1] = -1;
	want = 0;
	assert_int_equal(tls_write(l.c, "250 OK\r\n", 8, &want), -1);
	assert_int_equal(want, TLS_ERR);
	assert_non_null(strstr(tls_conn_error(l.c), "Broken pipe"));
	/* dead from then on */
	assert_int_equal(tls_write(l.c, "250 OK\r\n", 8, &want), -1);
	assert_int_equal(want, TLS_ERR);
	assert_int_equal(tls_read(l.c, buf, sizeof buf, &want), -1);
	assert_int_equal(want, TLS_ERR);
	assert_int_equal(tls_handshake(l.c), TLS_ERR);
	link_close(&l);

	/* a close in the middle of the handshake is an error */
	link_open(&l, s, client_ctx(0, 0, false));
	ERR_clear_error();
	assert_int_equal(SSL_do_handshake(l.cl), -1); /* the ClientHello is sent */
	ERR_clear_error();
	close(l.fds[1]);
	l.fds[1] = -1;
	assert_int_equal(tls_handshake(l.c), TLS_ERR);
	assert_non_null(strstr(tls_conn_error(l.c), "handshake"));
	link_close(&l);
	tls_server_free(s);
}

/* ---- (b) old protocol versions --------------------------------------------- */

static void check_version(tls_server *s, int version, const char *name)
{
	tlink l;
	link_open(&l, s, client_ctx(version, version, true));
	hs h = handshake_both(l.c, l.cl);
	assert_int_equal(h.server, TLS_OK);
	assert_true(h.client_ok);
	assert_int_equal(tls_version(l.c), version);
	assert_string_equal(tls_version_name(tls_version(l.c)), name);
	/* data flows on it */
	int want = 0;
	char buf[32];
	assert_int_equal(SSL_write(l.cl, "AUTH LOGIN\r\n", 12), 12);
	assert_int_equal(tls_read(l.c, buf, sizeof buf, &want), 12);
	assert_memory_equal(buf, "AUTH LOGIN\r\n", 12);
	link_close(&l);
}

static void test_legacy_versions(void **state)
{
	(void)state;
	tls_server *s = mk_server(0);
	check_version(s, TLS1_VERSION, "TLSv1.0");
	check_version(s, TLS1_1_VERSION, "TLSv1.1");
	check_version(s, TLS1_2_VERSION, "TLSv1.2");
	check_version(s, TLS1_3_VERSION, "TLSv1.3");
	assert_int_equal(TLS1_VERSION, 0x0301);
	assert_int_equal(TLS1_1_VERSION, 0x0302);
	assert_int_equal(TLS1_2_VERSION, 0x0303);
	assert_string_equal(tls_version_name(0x0300), "unknown");
	tls_server_free(s);

	/* refused in the handshake instead */
	s = mk_server(TLS_REFUSE_LEGACY);
	const int old[] = { TLS1_VERSION, TLS1_1_VERSION };
	for (int i = 0; i < 2; i++) {
		tlink l;
		link_open(&l, s, client_ctx(old[i], old[i], true));
		hs h = handshake_both(l.c, l.cl);
		assert_int_equal(h.server, TLS_ERR);
		assert_false(h.client_ok);
		assert_non_null(strstr(tls_conn_error(l.c), "unsupported protocol"));
		assert_int_equal(tls_version(l.c), 0);
		link_close(&l);
	}
	check_version(s, TLS1_2_VERSION, "TLSv1.2");
	check_version(s, TLS1_3_VERSION, "TLSv1.3");
	tls_server_free(s);
}

/* ---- (c) garbage instead of a ClientHello ----------------------------------- */

static void garbage(tls_server *s, const void *p, size_t n)
{
	int fds[2];
	pair(fds);
	tls_conn *c = NULL;
	assert_int_equal(tls_conn_new(s, fds[0], &c), SIM_OK);
	assert_int_equal(write(fds[1], p, n), (ssize_t)n);
	int r = tls_handshake(c);
	assert_int_equal(r, TLS_ERR);
	assert_non_null(strstr(tls_conn_error(c), "handshake: "));
	assert_int_equal(tls_handshake(c), TLS_ERR);
	tls_conn_free(c);
	close(fds[0]);
	close(fds[1]);
}

static void test_garbage(void **state)
{
	(void)state;
	tls_server *s = mk_server(0);
	static const char ehlo[] = "EHLO client.example\r\n";
	static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	garbage(s, ehlo, strlen(ehlo));
	garbage(s, http, strlen(http));
	unsigned char rnd[4096];
	uint64_t x = 88172645463325252u;
	for (size_t i = 0; i < sizeof rnd; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		rnd[i] = (unsigned char)x;
	}
	rnd[0] = 0x99; /* not a TLS content type */
	garbage(s, rnd, sizeof rnd);
	/* a handshake record header claiming more than the 16 KiB + 2048
	 * a record may carry */
	static const unsigned char huge[] = { 0x16, 0x03, 0x01, 0xff, 0xff, 0x01, 0x00, 0xff, 0xfb };
	garbage(s, huge, sizeof huge);
	/* a well-formed record whose body is not a ClientHello */
	unsigned char bogus[5 + 64] = { 0x16, 0x03, 0x01, 0x00, 0x40, 0x02 /* ServerHello */ };
	garbage(s, bogus, sizeof bogus);

	/* part of a real ClientHello: the server waits for the rest */
	int fds[2], cfds[2];
	pair(fds);
	pair(cfds);
	SSL_CTX *cctx = client_ctx(0, 0, false);
	SSL *cl = client_ssl(cctx, cfds[1]);
	ERR_clear_error();
	assert_int_equal(SSL_do_handshake(cl), -1);
	ERR_clear_error();
	unsigned char hello[4096];
	ssize_t hn = read(cfds[0], hello, sizeof hello);
	assert_true(hn > 100);
	assert_int_equal(hello[0], 0x16);
	tls_conn *c = NULL;
	assert_int_equal(tls_conn_new(s, fds[0], &c), SIM_OK);
	assert_int_equal(write(fds[1], hello, 10), 10);
	assert_int_equal(tls_handshake(c), TLS_WANT_READ);
	/* the rest, corrupted in the middle (the cipher suites' length) */
	hello[5 + 4 + 2 + 32] ^= 0xff;
	assert_int_equal(write(fds[1], hello + 10, (size_t)hn - 10), hn - 10);
	assert_int_equal(tls_handshake(c), TLS_ERR);
	tls_conn_free(c);
	SSL_free(cl);
	SSL_CTX_free(cctx);
	close(fds[0]);
	close(fds[1]);
	close(cfds[0]);
	close(cfds[1]);
	tls_server_free(s);
}

/* ---- (d) the generated certificate -------------------------------------------- */

typedef struct tmpdir {
	char dir[64];
} tmpdir;

static void tmp_make(tmpdir *t)
{
	snprintf(t->dir, sizeof t->dir, "/tmp/test_tls.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
}

static void tmp_path(const tmpdir *t, const char *name, char *out, size_t n)
{
	snprintf(out, n, "%s/%s", t->dir, name);
}

static void tmp_drop(tmpdir *t, const char *const *names, size_t n)
{
	char p[128];
	for (size_t i = 0; i < n; i++) {
		tmp_path(t, names[i], p, sizeof p);
		unlink(p);
	}
	assert_int_equal(rmdir(t->dir), 0);
}

static time_t asn1_to_unix(const ASN1_TIME *a)
{
	struct tm tm;
	assert_int_equal(ASN1_TIME_to_tm(a, &tm), 1);
	return timegm(&tm);
}

/* A client that trusts exactly ca_file and checks host (or, host NULL,
 * the IP ip): the handshake's outcome and the client's verify result. */
static long verify_as_client(tls_server *s, const char *ca_file, const char *host, const char *ip, bool strict,
			     bool *ok)
{
	SSL_CTX *cctx = client_ctx(0, 0, false);
	if (ca_file)
		assert_int_equal(SSL_CTX_load_verify_locations(cctx, ca_file, NULL), 1);
	SSL_CTX_set_verify(cctx, SSL_VERIFY_PEER, NULL);
	tlink l;
	link_open(&l, s, cctx);
	if (host)
		assert_int_equal(SSL_set1_host(l.cl, host), 1);
	X509_VERIFY_PARAM *vp = SSL_get0_param(l.cl);
	if (ip)
		assert_int_equal(X509_VERIFY_PARAM_set1_ip_asc(vp, ip), 1);
	if (strict)
		X509_VERIFY_PARAM_set_flags(vp, X509_V_FLAG_X509_STRICT);
	hs h = handshake_both(l.c, l.cl);
	*ok = h.client_ok;
	if (h.client_ok)
		assert_int_equal(h.server, TLS_OK);
	else
		assert_int_equal(h.server, TLS_ERR); /* the client's alert */
	long v = SSL_get_verify_result(l.cl);
	link_close(&l);
	return v;
}

static void test_generated_cert(void **state)
{
	(void)state;
	time_t t0 = time(NULL);
	tls_server *s = mk_server(0);
	time_t t1 = time(NULL);
	tmpdir d;
	tmp_make(&d);
	char ca[128], err[256] = "";
	tmp_path(&d, "server.pem", ca, sizeof ca);
	assert_int_equal(tls_server_write_cert(s, ca, err, sizeof err), SIM_OK);

	bool ok = false;
	assert_int_equal(verify_as_client(s, ca, HOST, NULL, false, &ok), X509_V_OK);
	assert_true(ok);
	assert_int_equal(verify_as_client(s, ca, HOST, NULL, true, &ok), X509_V_OK);
	assert_true(ok);
	assert_int_equal(verify_as_client(s, ca, NULL, "127.0.0.1", true, &ok), X509_V_OK);
	assert_true(ok);
	assert_int_equal(verify_as_client(s, ca, "other.example", NULL, false, &ok), X509_V_ERR_HOSTNAME_MISMATCH);
	assert_false(ok);
	assert_int_equal(verify_as_client(s, ca, NULL, "127.0.0.2", false, &ok), X509_V_ERR_IP_ADDRESS_MISMATCH);
	assert_false(ok);
	assert_int_equal(verify_as_client(s, NULL, HOST, NULL, false, &ok), X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
	assert_false(ok);

	/* the profile of tls.h, field by field */
	FILE *f = fopen(ca, "r");
	assert_non_null(f);
	X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(x);
	assert_int_equal(X509_get_version(x), X509_VERSION_3);
	char cn[128] = "";
	assert_int_equal(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn),
			 (int)strlen(HOST));
	assert_string_equal(cn, HOST);
	assert_int_equal(X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)), 0);
	time_t nb = asn1_to_unix(X509_get0_notBefore(x)), na = asn1_to_unix(X509_get0_notAfter(x));
	assert_true(nb >= t0 - 86400 && nb <= t1 - 86400);
	assert_int_equal(na - nb, 365 * 86400);
	assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
	EVP_PKEY *pk = X509_get0_pubkey(x);
	assert_int_equal(EVP_PKEY_get_base_id(pk), EVP_PKEY_EC);
	char group[32] = "";
	assert_int_equal(EVP_PKEY_get_group_name(pk, group, sizeof group, NULL), 1);
	assert_string_equal(group, "prime256v1");
	assert_int_equal(X509_check_ca(x), 0);
	assert_true(X509_get_extended_key_usage(x) & XKU_SSL_SERVER);
	GENERAL_NAMES *san = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	assert_non_null(san);
	assert_int_equal(sk_GENERAL_NAME_num(san), 2);
	GENERAL_NAME *g0 = sk_GENERAL_NAME_value(san, 0), *g1 = sk_GENERAL_NAME_value(san, 1);
	assert_int_equal(g0->type, GEN_DNS);
	assert_int_equal(ASN1_STRING_length(g0->d.dNSName), (int)strlen(HOST));
	assert_memory_equal(ASN1_STRING_get0_data(g0->d.dNSName), HOST, strlen(HOST));
	assert_int_equal(g1->type, GEN_IPADD);
	assert_int_equal(ASN1_STRING_length(g1->d.iPAddress), 4);
	assert_memory_equal(ASN1_STRING_get0_data(g1->d.iPAddress), "\x7f\x00\x00\x01", 4);
	GENERAL_NAMES_free(san);
	assert_non_null(X509_get0_subject_key_id(x));
	assert_non_null(X509_get0_authority_key_id(x));
	assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_subject_key_id(x), X509_get0_authority_key_id(x)), 0);
	X509_free(x);

	/* writing where nothing can be written */
	char bad[160];
	tmp_path(&d, "missing-dir/server.pem", bad, sizeof bad);
	err[0] = '\0';
	assert_int_equal(tls_server_write_cert(s, bad, err, sizeof err), SIM_EIO);
	assert_non_null(strstr(err, bad));
	const char *names[] = { "server.pem" };
	tmp_drop(&d, names, 1);
	tls_server_free(s);
}

static void test_hostname_checked(void **state)
{
	(void)state;
	char h64[TLS_HOSTNAME_MAX + 2];
	memset(h64, 'a', sizeof h64);
	h64[TLS_HOSTNAME_MAX + 1] = '\0';
	const char *bad[] = { "", "mail host", "a,DNS:evil.example", "a/b", "m\xc3\xa9l.example", h64 };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		tls_server *s = (tls_server *)&bad; /* a sentinel: must stay */
		char err[256] = "";
		assert_int_equal(tls_server_new(NULL, NULL, bad[i], 0, NULL, &s, err, sizeof err), SIM_EINVAL);
		assert_ptr_equal(s, (tls_server *)&bad);
		assert_non_null(strstr(err, "hostname"));
	}
	tls_server *s = (tls_server *)&bad;
	char err[256] = "";
	assert_int_equal(tls_server_new(NULL, NULL, NULL, 0, NULL, &s, err, sizeof err), SIM_EINVAL);
	assert_ptr_equal(s, (tls_server *)&bad);
	assert_int_equal(tls_server_new(NULL, NULL, HOST, 0x80, NULL, &s, err, sizeof err), SIM_EINVAL);
	/* exactly 64 characters is accepted */
	h64[TLS_HOSTNAME_MAX] = '\0';
	s = NULL;
	assert_int_equal(tls_server_new(NULL, NULL, h64, 0, NULL, &s, err, sizeof err), SIM_OK);
	tls_server_free(s);
}

/* ---- (e) certificate and key from files ---------------------------------------- */

static EVP_PKEY *test_key(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-384");
	assert_non_null(k);
	return k;
}

static X509 *test_cert(EVP_PKEY *k, const char *cn)
{
	X509 *x = X509_new();
	assert_non_null(x);
	assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 4242), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), -3600));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 86400));
	X509_NAME *n = X509_get_subject_name(x);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0), 1);
	assert_int_equal(X509_set_issuer_name(x, n), 1);
	assert_int_equal(X509_set_pubkey(x, k), 1);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	return x;
}

static void write_pem(const char *path, X509 *x, EVP_PKEY *k, const char *passphrase)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	if (x)
		assert_int_equal(PEM_write_X509(f, x), 1);
	if (k && passphrase)
		assert_int_equal(PEM_write_PrivateKey(f, k, EVP_aes_128_cbc(), (unsigned char *)passphrase,
						      (int)strlen(passphrase), NULL, NULL), 1);
	else if (k)
		assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
	assert_int_equal(fclose(f), 0);
}

/* tls_server_new from files; on failure err must name want_in_err (and
 * also_in_err, if given) and *out stay as it was. */
static void load_fails(const char *cert, const char *key, int rc, const char *want_in_err, const char *also_in_err,
		       const char *what)
{
	tls_server *s = (tls_server *)&rc;
	char err[512] = "";
	assert_int_equal(tls_server_new(cert, key, NULL, 0, NULL, &s, err, sizeof err), rc);
	assert_ptr_equal(s, (tls_server *)&rc);
	if (!strstr(err, want_in_err) || (also_in_err && !strstr(err, also_in_err)) || !strstr(err, what))
		fail_msg("error \"%s\" lacks \"%s\" / \"%s\" / \"%s\"", err, want_in_err,
			 also_in_err ? also_in_err : "", what);
	assert_null(strchr(err, '\n'));
}

static void test_cert_files(void **state)
{
	(void)state;
	tmpdir d;
	tmp_make(&d);
	char cert[128], key[128], both[128], other[128], enc[128], junk[128], missing[128];
	tmp_path(&d, "cert.pem", cert, sizeof cert);
	tmp_path(&d, "key.pem", key, sizeof key);
	tmp_path(&d, "both.pem", both, sizeof both);
	tmp_path(&d, "other-key.pem", other, sizeof other);
	tmp_path(&d, "enc-key.pem", enc, sizeof enc);
	tmp_path(&d, "junk.pem", junk, sizeof junk);
	tmp_path(&d, "no-such.pem", missing, sizeof missing);
	EVP_PKEY *k = test_key(), *k2 = test_key();
	X509 *x = test_cert(k, "files.example");
	write_pem(cert, x, NULL, NULL);
	write_pem(key, NULL, k, NULL);
	write_pem(both, x, k, NULL);
	write_pem(other, NULL, k2, NULL);
	write_pem(enc, NULL, k, "secret");
	FILE *f = fopen(junk, "w");
	assert_non_null(f);
	fputs("not PEM at all\n", f);
	fclose(f);

	/* cert and key apart, and in one file: the client sees that cert */
	const char *keys[] = { key, NULL };
	const char *certs[] = { cert, both };
	for (int i = 0; i < 2; i++) {
		tls_server *s = NULL;
		char err[256] = "";
		int rc = tls_server_new(certs[i], keys[i], NULL, 0, NULL, &s, err, sizeof err);
		if (rc != SIM_OK)
			fail_msg("%s", err);
		tlink l;
		link_open(&l, s, client_ctx(0, 0, false));
		assert_int_equal(handshake_both(l.c, l.cl).server, TLS_OK);
		X509 *peer = SSL_get1_peer_certificate(l.cl);
		assert_non_null(peer);
		assert_int_equal(X509_cmp(peer, x), 0);
		X509_free(peer);
		link_close(&l);
		tls_server_free(s);
	}

	load_fails(missing, key, SIM_EIO, missing, NULL, "No such file or directory");
	load_fails(cert, missing, SIM_EIO, missing, NULL, "No such file or directory");
	load_fails(cert, other, SIM_EINVAL, other, cert, "does not match");
	load_fails(cert, enc, SIM_EINVAL, enc, NULL, "encrypted");
	load_fails(junk, key, SIM_EINVAL, junk, NULL, "certificate");
	load_fails(key, key, SIM_EINVAL, key, NULL, "certificate"); /* a key where the cert belongs */
	load_fails(cert, cert, SIM_EINVAL, cert, NULL, "no PEM private key"); /* and no key in the cert file */
	load_fails(cert, junk, SIM_EINVAL, junk, NULL, "no PEM private key");
	load_fails(d.dir, key, SIM_EINVAL, d.dir, NULL, "certificate"); /* a directory */

	X509_free(x);
	EVP_PKEY_free(k);
	EVP_PKEY_free(k2);
	const char *names[] = { "cert.pem", "key.pem", "both.pem", "other-key.pem", "enc-key.pem", "junk.pem" };
	tmp_drop(&d, names, sizeof names / sizeof *names);
}

/* ---- (f) tls_pending -------------------------------------------------------------- */

static void test_pending(void **state)
{
	(void)state;
	tls_server *s = mk_server(0);
	tlink l;
	link_open(&l, s, client_ctx(0, 0, false));
	assert_int_equal(handshake_both(l.c, l.cl).server, TLS_OK);
	/* two records: 10,000 and 5,000 bytes (each under the 16,384 bound) */
	unsigned char a[10000], b[5000], got[10000];
	pattern(a, sizeof a, 1);
	pattern(b, sizeof b, 2);
	assert_int_equal(SSL_write(l.cl, a, sizeof a), (int)sizeof a);
	assert_int_equal(SSL_write(l.cl, b, sizeof b), (int)sizeof b);
	int want = 0;
	assert_int_equal(tls_pending(l.c), 0);
	/* 100, then the first record's other 9,900 in pieces of 1,000: the
	 * pending count falls by exactly what each read took */
	assert_int_equal(tls_read(l.c, got, 100, &want), 100);
	assert_int_equal(tls_pending(l.c), 9900);
	size_t off = 100;
	while (off < sizeof a) {
		size_t before = tls_pending(l.c);
		ssize_t n = tls_read(l.c, got + off, 1000, &want);
		assert_int_equal(n, before < 1000 ? before : 1000);
		off += (size_t)n;
		assert_int_equal(tls_pending(l.c), sizeof a - off);
	}
	assert_int_equal(off, sizeof a);
	assert_memory_equal(got, a, sizeof a);
	/* the second record was left in the socket (no read-ahead): pending
	 * is 0 although 5,000 bytes are on their way, and the loop would be
	 * woken for them */
	assert_int_equal(tls_pending(l.c), 0);
	assert_int_equal(tls_read(l.c, got, 1, &want), 1);
	assert_int_equal(got[0], b[0]);
	assert_int_equal(tls_pending(l.c), 4999);
	assert_int_equal(tls_read(l.c, got + 1, sizeof got - 1, &want), 4999);
	assert_memory_equal(got, b, sizeof b);
	assert_int_equal(tls_pending(l.c), 0);
	assert_int_equal(tls_read(l.c, got, sizeof got, &want), -1);
	assert_int_equal(want, TLS_WANT_READ);
	link_close(&l);
	tls_server_free(s);
}

/* ---- allocation failures --------------------------------------------------------- */

static void test_alloc_failures(void **state)
{
	(void)state;
	sim_alloc_failing st = { .fail_at = 1 };
	sim_alloc a = sim_alloc_failing_make(&st);
	tls_server *s = (tls_server *)&st;
	char err[256] = "";
	assert_int_equal(tls_server_new(NULL, NULL, HOST, 0, &a, &s, err, sizeof err), SIM_ENOMEM);
	assert_ptr_equal(s, (tls_server *)&st);
	assert_int_equal(st.live, 0);

	st = (sim_alloc_failing){ .fail_at = 2 };
	a = sim_alloc_failing_make(&st);
	s = NULL;
	assert_int_equal(tls_server_new(NULL, NULL, HOST, 0, &a, &s, err, sizeof err), SIM_OK);
	int fds[2];
	pair(fds);
	tls_conn *c = (tls_conn *)&st;
	assert_int_equal(tls_conn_new(s, fds[0], &c), SIM_ENOMEM);
	assert_ptr_equal(c, (tls_conn *)&st);
	st.fail_at = 0;
	assert_int_equal(tls_conn_new(s, fds[0], &c), SIM_OK);
	assert_int_equal(st.live, 2);
	tls_conn_free(c);
	tls_server_free(s);
	assert_int_equal(st.live, 0);
	close(fds[0]);
	close(fds[1]);
}

static int teardown_all(void **state)
{
	(void)state;
	/* OpenSSL's global tables, so the leak checker sees only ours */
	OPENSSL_cleanup();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_and_data),
		cmocka_unit_test(test_backpressure),
		cmocka_unit_test(test_peer_closes),
		cmocka_unit_test(test_legacy_versions),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_generated_cert),
		cmocka_unit_test(test_hostname_checked),
		cmocka_unit_test(test_cert_files),
		cmocka_unit_test(test_pending),
		cmocka_unit_test(test_alloc_failures),
	};
	return cmocka_run_group_tests(tests, NULL, teardown_all);
}
