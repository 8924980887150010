/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mbedtls_probe: minimal mbedTLS (2.28) TLS 1.2 client for the test suite.
 *
 * The probe runs over a stream socket the caller has already connected, using
 * its own send/recv callbacks (no mbedtls_net_*), so that tests can drive it
 * over socketpair(2), TCP or anything else that behaves like a socket.  The
 * server chain is always verified (MBEDTLS_SSL_VERIFY_REQUIRED) against the
 * given CA file and host name; only TLS 1.2 is offered and accepted.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>	/* MBEDTLS_ERR_NET_* codes only */
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "mbedtls_probe.h"

/* Upper bound on any single wait for the peer, so a stuck server fails the
 * test instead of hanging it. */
#define PROBE_TIMEOUT_MS	30000

#define PROBE_DRBG_PERS		"agent-vault-mbed-probe"

static void
probe_set(char *buf, size_t len, const char *s)
{
	if (buf != NULL && len > 0)
		snprintf(buf, len, "%s", s);
}

/* "<what>: <mbedtls_strerror> (-0xNNNN)" */
static void
probe_err(char *err, size_t err_len, const char *what, int ret)
{
	char estr[256];

	if (err == NULL || err_len == 0)
		return;
	mbedtls_strerror(ret, estr, sizeof(estr));
	snprintf(err, err_len, "%s: %s (-0x%04x)", what, estr,
	    (unsigned int)(ret < 0 ? -ret : ret));
}

/*
 * Verification failure: the error above plus the verify_info text, with the
 * one-reason-per-line output folded into "reason; reason".
 */
static void
probe_verify_err(char *err, size_t err_len, const char *what, int ret,
    uint32_t flags)
{
	char estr[256], vinfo[1024], vflat[1024];
	size_t i, o;
	int n;

	if (err == NULL || err_len == 0)
		return;
	mbedtls_strerror(ret, estr, sizeof(estr));
	vinfo[0] = '\0';
	n = mbedtls_x509_crt_verify_info(vinfo, sizeof(vinfo), "", flags);
	if (n < 0)
		snprintf(vinfo, sizeof(vinfo), "flags 0x%08x",
		    (unsigned int)flags);
	for (i = o = 0; vinfo[i] != '\0' && o + 3 < sizeof(vflat); i++) {
		if (vinfo[i] != '\n') {
			vflat[o++] = vinfo[i];
			continue;
		}
		if (vinfo[i + 1] == '\0')
			break;
		vflat[o++] = ';';
		vflat[o++] = ' ';
	}
	vflat[o] = '\0';
	snprintf(err, err_len, "%s: %s (-0x%04x); verify: %s", what, estr,
	    (unsigned int)(ret < 0 ? -ret : ret), vflat);
}

static int
probe_send(void *ctx, const unsigned char *buf, size_t len)
{
	int fd = *(int *)ctx;
	ssize_t n;

	if (len > INT_MAX)
		len = INT_MAX;
	for (;;) {
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n >= 0)
			return (int)n;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return MBEDTLS_ERR_SSL_WANT_WRITE;
		if (errno == EPIPE || errno == ECONNRESET)
			return MBEDTLS_ERR_NET_CONN_RESET;
		return MBEDTLS_ERR_NET_SEND_FAILED;
	}
}

static int
probe_recv(void *ctx, unsigned char *buf, size_t len)
{
	int fd = *(int *)ctx;
	ssize_t n;

	if (len > INT_MAX)
		len = INT_MAX;
	for (;;) {
		n = recv(fd, buf, len, 0);
		if (n >= 0)
			return (int)n;	/* 0: EOF */
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return MBEDTLS_ERR_SSL_WANT_READ;
		if (errno == ECONNRESET)
			return MBEDTLS_ERR_NET_CONN_RESET;
		return MBEDTLS_ERR_NET_RECV_FAILED;
	}
}

/* Preferred by mbedTLS over probe_recv: bounded wait, then recv. */
static int
probe_recv_timeout(void *ctx, unsigned char *buf, size_t len,
    uint32_t timeout_ms)
{
	struct pollfd pfd;
	int fd = *(int *)ctx, r;

	memset(&pfd, 0, sizeof(pfd));
	pfd.fd = fd;
	pfd.events = POLLIN;
	do {
		r = poll(&pfd, 1, timeout_ms == 0 ? -1 :
		    (timeout_ms > INT_MAX ? INT_MAX : (int)timeout_ms));
	} while (r == -1 && errno == EINTR);
	if (r == 0)
		return MBEDTLS_ERR_SSL_TIMEOUT;
	if (r == -1)
		return MBEDTLS_ERR_NET_RECV_FAILED;
	return probe_recv(ctx, buf, len);
}

/*
 * Called on MBEDTLS_ERR_SSL_WANT_READ/WANT_WRITE: wait (bounded) until the
 * fd can make progress, so a non-blocking fd does not busy-loop.  Returns 0
 * to retry or an mbedTLS error.
 */
static int
probe_wait(int fd, int want)
{
	struct pollfd pfd;
	int r;

	memset(&pfd, 0, sizeof(pfd));
	pfd.fd = fd;
	pfd.events = want == MBEDTLS_ERR_SSL_WANT_WRITE ? POLLOUT : POLLIN;
	do {
		r = poll(&pfd, 1, PROBE_TIMEOUT_MS);
	} while (r == -1 && errno == EINTR);
	if (r == 0)
		return MBEDTLS_ERR_SSL_TIMEOUT;
	if (r == -1)
		return want == MBEDTLS_ERR_SSL_WANT_WRITE ?
		    MBEDTLS_ERR_NET_SEND_FAILED : MBEDTLS_ERR_NET_RECV_FAILED;
	return 0;	/* readable/writable, or HUP/ERR: let the I/O report */
}

#define PROBE_WANT(r) \
	((r) == MBEDTLS_ERR_SSL_WANT_READ || (r) == MBEDTLS_ERR_SSL_WANT_WRITE)

int
mbed_probe(int fd, const char *ca_path, const char *server_name,
    const char *msg, char *reply, size_t reply_cap,
    char *info, size_t info_len, char *err, size_t err_len)
{
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_x509_crt ca;
	mbedtls_ssl_config conf;
	mbedtls_ssl_context ssl;
	const char *suite, *version;
	size_t msg_len, off;
	uint32_t flags;
	int bio_fd = fd, ret, rv = -1;

	probe_set(err, err_len, "");
	probe_set(info, info_len, "");
	if (reply != NULL && reply_cap > 0)
		reply[0] = '\0';
	if (fd < 0 || ca_path == NULL || server_name == NULL ||
	    *server_name == '\0' || msg == NULL || reply == NULL ||
	    reply_cap < 2) {
		probe_set(err, err_len, "mbed_probe: invalid argument");
		return -1;
	}

	/* Init everything first so the single exit path may free it all. */
	mbedtls_entropy_init(&entropy);
	mbedtls_ctr_drbg_init(&drbg);
	mbedtls_x509_crt_init(&ca);
	mbedtls_ssl_config_init(&conf);
	mbedtls_ssl_init(&ssl);

	if ((ret = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func,
	    &entropy, (const unsigned char *)PROBE_DRBG_PERS,
	    sizeof(PROBE_DRBG_PERS) - 1)) != 0) {
		probe_err(err, err_len, "ctr_drbg_seed", ret);
		goto out;
	}

	if ((ret = mbedtls_x509_crt_parse_file(&ca, ca_path)) != 0) {
		if (ret > 0 && err != NULL && err_len > 0) {
			/* Strict: a partly unparsable CA file is an error. */
			snprintf(err, err_len, "CA file %s: %d certificate(s) "
			    "failed to parse", ca_path, ret);
		} else
			probe_err(err, err_len, "CA file", ret);
		goto out;
	}

	if ((ret = mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_CLIENT,
	    MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT)) != 0) {
		probe_err(err, err_len, "ssl_config_defaults", ret);
		goto out;
	}
	mbedtls_ssl_conf_authmode(&conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_ca_chain(&conf, &ca, NULL);
	mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
	mbedtls_ssl_conf_min_version(&conf, MBEDTLS_SSL_MAJOR_VERSION_3,
	    MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_max_version(&conf, MBEDTLS_SSL_MAJOR_VERSION_3,
	    MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_read_timeout(&conf, PROBE_TIMEOUT_MS);

	if ((ret = mbedtls_ssl_setup(&ssl, &conf)) != 0) {
		probe_err(err, err_len, "ssl_setup", ret);
		goto out;
	}
	/* Sets SNI and the name checked against the certificate. */
	if ((ret = mbedtls_ssl_set_hostname(&ssl, server_name)) != 0) {
		probe_err(err, err_len, "ssl_set_hostname", ret);
		goto out;
	}
	mbedtls_ssl_set_bio(&ssl, &bio_fd, probe_send, probe_recv,
	    probe_recv_timeout);

	while ((ret = mbedtls_ssl_handshake(&ssl)) != 0) {
		if (PROBE_WANT(ret) && (ret = probe_wait(fd, ret)) == 0)
			continue;
		flags = mbedtls_ssl_get_verify_result(&ssl);
		if (ret == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED ||
		    (flags != 0 && flags != UINT32_MAX))
			probe_verify_err(err, err_len, "handshake", ret, flags);
		else
			probe_err(err, err_len, "handshake", ret);
		goto out;
	}
	/* Belt and braces: VERIFY_REQUIRED already fails the handshake. */
	if ((flags = mbedtls_ssl_get_verify_result(&ssl)) != 0) {
		probe_verify_err(err, err_len, "handshake",
		    MBEDTLS_ERR_X509_CERT_VERIFY_FAILED, flags);
		goto out;
	}

	msg_len = strlen(msg);
	for (off = 0; off < msg_len; ) {
		ret = mbedtls_ssl_write(&ssl, (const unsigned char *)msg + off,
		    msg_len - off);
		if (ret > 0) {
			off += (size_t)ret;
			continue;
		}
		if (PROBE_WANT(ret) && (ret = probe_wait(fd, ret)) == 0)
			continue;
		if (ret == 0)
			ret = MBEDTLS_ERR_SSL_INTERNAL_ERROR;
		probe_err(err, err_len, "write", ret);
		goto out;
	}

	for (;;) {
		ret = mbedtls_ssl_read(&ssl, (unsigned char *)reply,
		    reply_cap - 1);
		if (ret > 0)
			break;
		if (PROBE_WANT(ret) && (ret = probe_wait(fd, ret)) == 0)
			continue;
		if (ret == 0 || ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) {
			probe_set(err, err_len,
			    "read: peer closed the connection before replying");
		} else
			probe_err(err, err_len, "read", ret);
		goto out;
	}
	reply[ret] = '\0';

	while ((ret = mbedtls_ssl_close_notify(&ssl)) != 0) {
		if (PROBE_WANT(ret) && (ret = probe_wait(fd, ret)) == 0)
			continue;
		/* Peer already gone after replying: nothing left to notify. */
		if (ret == MBEDTLS_ERR_NET_CONN_RESET)
			break;
		probe_err(err, err_len, "close_notify", ret);
		goto out;
	}

	version = mbedtls_ssl_get_version(&ssl);
	suite = mbedtls_ssl_get_ciphersuite(&ssl);
	if (info != NULL && info_len > 0)
		snprintf(info, info_len, "%s %s", version != NULL ?
		    version : "unknown", suite != NULL ? suite : "unknown");
	rv = 0;

 out:
	if (rv != 0)
		reply[0] = '\0';
	mbedtls_ssl_free(&ssl);
	mbedtls_ssl_config_free(&conf);
	mbedtls_x509_crt_free(&ca);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&entropy);
	return rv;
}
