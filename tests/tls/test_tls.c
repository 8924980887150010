/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_tls.c - a TLS 1.2 handshake over a Unix socket between an OpenSSL
 * server whose private key lives only in SoftHSM2 (reached through the
 * agentvault-hsm provider) and an mbedTLS client that verifies the
 * appliance CA written by the ceremony.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "hsm.h"
#include "provider.h"
#include "testenv.h"
#include "mbedtls_probe.h"

#define TLS_KEY_URI	"pkcs11:object=agentvault-tls;type=private"
#define CA_KEY_URI	"pkcs11:object=agentvault-ca;type=private"

static struct hsm *hsm;
static struct hsm_provider *prov;
static SSL_CTX *server_ctx;

struct server {
	int	 listen_fd;
	int	 handshake_ok;
	char	 version[32];
};

static void *
serve_one(void *arg)
{
	struct server *s = arg;
	char buf[256], reply[300];
	SSL *ssl;
	int fd, n;

	if ((fd = accept(s->listen_fd, NULL, NULL)) == -1)
		return NULL;
	ssl = SSL_new(server_ctx);
	SSL_set_fd(ssl, fd);
	if (SSL_accept(ssl) == 1) {
		s->handshake_ok = 1;
		snprintf(s->version, sizeof(s->version), "%s",
		    SSL_get_version(ssl));
		if ((n = SSL_read(ssl, buf, sizeof(buf) - 1)) > 0) {
			buf[n] = '\0';
			n = snprintf(reply, sizeof(reply), "pong: %s", buf);
			SSL_write(ssl, reply, n);
		}
		SSL_shutdown(ssl);
	}
	SSL_free(ssl);
	close(fd);
	ERR_clear_error();
	return NULL;
}

/*
 * Listen on a Unix socket, serve one connection in a thread, and run the
 * mbedTLS client against it.  Returns mbed_probe's result.
 */
static int
handshake(const char *ca, const char *name, struct server *s, char *info,
    size_t infolen, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	char reply[256];
	pthread_t t;
	int cfd, rc;

	memset(s, 0, sizeof(*s));
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/tls.sock",
	    testenv("AV_TEST_DIR"));
	unlink(sun.sun_path);
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(s->listen_fd >= 0);
	assert_int_equal(bind(s->listen_fd, (struct sockaddr *)&sun,
	    sizeof(sun)), 0);
	assert_int_equal(listen(s->listen_fd, 1), 0);
	assert_int_equal(pthread_create(&t, NULL, serve_one, s), 0);

	cfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(connect(cfd, (struct sockaddr *)&sun, sizeof(sun)),
	    0);
	rc = mbed_probe(cfd, ca, name, "ping", reply, sizeof(reply), info,
	    infolen, err, errlen);
	if (rc == 0)
		assert_string_equal(reply, "pong: ping");
	close(cfd);
	pthread_join(t, NULL);
	close(s->listen_fd);
	unlink(sun.sun_path);
	return rc;
}

static const char *
path(const char *name)
{
	static char buf[512];

	snprintf(buf, sizeof(buf), "%s/%s", testenv("AV_TEST_DIR"), name);
	return buf;
}

static void
test_handshake_with_hsm_key(void **state)
{
	struct server s;
	char info[128], err[512], ca[512];

	(void)state;
	snprintf(ca, sizeof(ca), "%s", path("ca.pem"));
	if (handshake(ca, "localhost", &s, info, sizeof(info), err,
	    sizeof(err)) != 0)
		fail_msg("handshake failed: %s", err);
	assert_true(s.handshake_ok);
	assert_string_equal(s.version, "TLSv1.2");
	assert_non_null(strstr(info, "TLSv1.2"));
	assert_non_null(strstr(info, "ECDSA"));
	print_message("negotiated %s\n", info);
}

/* A CA the client trusts that did not issue the server's certificate. */
static void
write_other_ca(const char *file)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *n = X509_get_subject_name(x);
	FILE *f;

	assert_non_null(k);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"Some other CA", -1, -1, 0);
	X509_set_issuer_name(x, n);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, k);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	assert_non_null(f = fopen(file, "w"));
	PEM_write_X509(f, x);
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(k);
}

static void
test_wrong_ca_is_refused(void **state)
{
	struct server s;
	char info[128], err[512], ca[512];

	(void)state;
	snprintf(ca, sizeof(ca), "%s", path("other-ca.pem"));
	write_other_ca(ca);
	assert_int_equal(handshake(ca, "localhost", &s, info, sizeof(info),
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "verif"));
	assert_false(s.handshake_ok);
}

static void
test_wrong_name_is_refused(void **state)
{
	struct server s;
	char info[128], err[512], ca[512];

	(void)state;
	snprintf(ca, sizeof(ca), "%s", path("ca.pem"));
	assert_int_equal(handshake(ca, "not-the-appliance.example", &s, info,
	    sizeof(info), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "CN"));
}

/* OpenSSL itself refuses an HSM key that does not match the certificate. */
static void
test_mismatched_key_is_refused(void **state)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	EVP_PKEY *ca_key = hsm_provider_load_key(NULL, CA_KEY_URI);

	(void)state;
	assert_non_null(ca_key);
	assert_int_equal(SSL_CTX_use_certificate_file(ctx, path("tls.pem"),
	    SSL_FILETYPE_PEM), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(ctx, ca_key), 0);
	EVP_PKEY_free(ca_key);
	SSL_CTX_free(ctx);
	ERR_clear_error();
}

static int
setup(void **state)
{
	EVP_PKEY *key;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	hsm = testenv_hsm(2);
	if (!hsm_provider_load(hsm, NULL, &prov))
		return -1;
	if ((key = hsm_provider_load_key(NULL, TLS_KEY_URI)) == NULL)
		return -1;
	server_ctx = SSL_CTX_new(TLS_server_method());
	SSL_CTX_set_min_proto_version(server_ctx, TLS1_2_VERSION);
	if (SSL_CTX_use_certificate_file(server_ctx, path("tls.pem"),
	    SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_use_PrivateKey(server_ctx, key) != 1 ||
	    SSL_CTX_check_private_key(server_ctx) != 1) {
		ERR_print_errors_fp(stderr);
		EVP_PKEY_free(key);
		return -1;
	}
	EVP_PKEY_free(key);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	SSL_CTX_free(server_ctx);
	hsm_provider_unload(prov);
	hsm_close(hsm);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_with_hsm_key),
		cmocka_unit_test(test_wrong_ca_is_refused),
		cmocka_unit_test(test_wrong_name_is_refused),
		cmocka_unit_test(test_mismatched_key_is_refused),
	};

	return cmocka_run_group_tests_name("tls", tests, setup, teardown);
}
