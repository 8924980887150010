/* SPDX-License-Identifier: Apache-2.0 */
/*
 * conn.c - the transport: a non-blocking socket (Unix or TCP) and mbedTLS
 * over it, every wait a poll() bounded by the call's deadline.
 *
 * The TLS configuration (CA, client certificate, random generator) is
 * loaded once per handle; each connection gets a fresh mbedtls_ssl_context,
 * and freeing it wipes its record buffers.  TLS 1.2 only (Debian's mbedTLS
 * 2.28 has no TLS 1.3); the server chain and name are always verified.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>	/* MBEDTLS_ERR_NET_* codes only */

#include "internal.h"

#define WANT(r)	((r) == MBEDTLS_ERR_SSL_WANT_READ || \
		 (r) == MBEDTLS_ERR_SSL_WANT_WRITE)
#define DRBG_PERS	"libagentvault"

/* strerror, thread-safe: one handle per thread, many threads. */
#define ERRSTR(e)	strerror_r((e), (char[64]){ 0 }, 64)

int64_t
avc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
tls_fail(struct av_error *err, const char *what, int ret)
{
	char text[160];

	mbedtls_strerror(ret, text, sizeof(text));
	return avc_fail(err, AV_TLS_ERROR, "%s: %s (-0x%04x)", what, text,
	    (unsigned)-ret);
}

int
avc_tls_init(av_handle *h, const struct av_options *o, struct av_error *err)
{
	int ret;

	mbedtls_entropy_init(&h->entropy);
	mbedtls_ctr_drbg_init(&h->drbg);
	mbedtls_x509_crt_init(&h->ca);
	mbedtls_x509_crt_init(&h->cert);
	mbedtls_pk_init(&h->key);
	mbedtls_ssl_config_init(&h->conf);
	mbedtls_ssl_init(&h->ssl);

	if ((ret = mbedtls_ctr_drbg_seed(&h->drbg, mbedtls_entropy_func,
	    &h->entropy, (const unsigned char *)DRBG_PERS,
	    sizeof(DRBG_PERS) - 1)) != 0)
		return tls_fail(err, "random generator", ret);
	/* Strict: a CA file with a certificate that does not parse is
	 * refused (a positive return counts those). */
	if ((ret = mbedtls_x509_crt_parse_file(&h->ca, o->ca_file)) != 0)
		return ret > 0 ? avc_fail(err, AV_TLS_ERROR, "CA file %s: "
		    "%d certificates do not parse", o->ca_file, ret) :
		    tls_fail(err, o->ca_file, ret);
	if ((ret = mbedtls_ssl_config_defaults(&h->conf, MBEDTLS_SSL_IS_CLIENT,
	    MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT)) != 0)
		return tls_fail(err, "TLS configuration", ret);
	mbedtls_ssl_conf_authmode(&h->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_ca_chain(&h->conf, &h->ca, NULL);
	mbedtls_ssl_conf_rng(&h->conf, mbedtls_ctr_drbg_random, &h->drbg);
	mbedtls_ssl_conf_min_version(&h->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
	    MBEDTLS_SSL_MINOR_VERSION_3);
	if (o->cert_file == NULL)
		return 0;
	if ((ret = mbedtls_x509_crt_parse_file(&h->cert, o->cert_file)) != 0)
		return ret > 0 ? avc_fail(err, AV_TLS_ERROR, "%s does not "
		    "parse", o->cert_file) : tls_fail(err, o->cert_file, ret);
	if ((ret = mbedtls_pk_parse_keyfile(&h->key, o->key_file, NULL)) != 0)
		return tls_fail(err, o->key_file, ret);
	if ((ret = mbedtls_ssl_conf_own_cert(&h->conf, &h->cert,
	    &h->key)) != 0)
		return tls_fail(err, "client certificate", ret);
	return 0;
}

void
avc_tls_free(av_handle *h)
{
	mbedtls_ssl_free(&h->ssl);
	mbedtls_ssl_config_free(&h->conf);
	mbedtls_pk_free(&h->key);
	mbedtls_x509_crt_free(&h->cert);
	mbedtls_x509_crt_free(&h->ca);
	mbedtls_ctr_drbg_free(&h->drbg);
	mbedtls_entropy_free(&h->entropy);
}

/* Wait until fd can make progress, or fail at the deadline. */
static int
wait_fd(av_handle *h, short events, int64_t deadline, const char *what,
    struct av_error *err)
{
	struct pollfd p = { .fd = h->fd, .events = events };
	int64_t left;
	int r;

	for (;;) {
		if ((left = deadline - avc_now_ms()) <= 0)
			return avc_fail(err, AV_TIMEOUT_ERROR, "%s: the call "
			    "took over %d ms", what, h->timeout_ms);
		r = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (r > 0)
			return 0;	/* ready, or HUP/ERR: the I/O says */
		if (r < 0 && errno != EINTR)
			return avc_fail(err, AV_TRANSPORT_ERROR, "%s: poll: %s",
			    what, ERRSTR(errno));
	}
}

static int
bio_send(void *ctx, const unsigned char *buf, size_t len)
{
	av_handle *h = ctx;
	ssize_t n;

	do
		n = send(h->fd, buf, len > INT_MAX ? INT_MAX : len,
		    MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n >= 0) {
		h->sent += (size_t)n;
		return (int)n;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	return errno == EPIPE || errno == ECONNRESET ?
	    MBEDTLS_ERR_NET_CONN_RESET : MBEDTLS_ERR_NET_SEND_FAILED;
}

static int
bio_recv(void *ctx, unsigned char *buf, size_t len)
{
	av_handle *h = ctx;
	ssize_t n;

	do
		n = recv(h->fd, buf, len > INT_MAX ? INT_MAX : len, 0);
	while (n < 0 && errno == EINTR);
	if (n >= 0)
		return (int)n;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return MBEDTLS_ERR_SSL_WANT_READ;
	return errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET :
	    MBEDTLS_ERR_NET_RECV_FAILED;
}

/* A failed read or write: the peer gone (h->lost), or worse. */
static int
io_fail(av_handle *h, const char *what, int ret, struct av_error *err)
{
	if (ret == 0 || ret == MBEDTLS_ERR_SSL_CONN_EOF ||
	    ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY ||
	    ret == MBEDTLS_ERR_NET_CONN_RESET) {
		h->lost = true;
		return avc_fail(err, AV_TRANSPORT_ERROR, "%s: the appliance "
		    "closed the connection", what);
	}
	if (ret == MBEDTLS_ERR_NET_SEND_FAILED ||
	    ret == MBEDTLS_ERR_NET_RECV_FAILED)
		return avc_fail(err, AV_TRANSPORT_ERROR, "%s: %s", what,
		    ERRSTR(errno));
	return tls_fail(err, what, ret);
}

static int
connect_unix(av_handle *h, struct av_error *err)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", h->socket_path);
	h->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (h->fd == -1)
		return avc_fail(err, AV_TRANSPORT_ERROR, "socket: %s",
		    ERRSTR(errno));
	if (connect(h->fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		return 0;
	/* EAGAIN: the listen queue is full; nothing to wait for. */
	return avc_fail(err, AV_TRANSPORT_ERROR, "connect to %s: %s",
	    h->socket_path, ERRSTR(errno));
}

static int
connect_tcp(av_handle *h, int64_t deadline, struct av_error *err)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_NUMERICSERV }, *res, *ai;
	char port[12];
	int rc, e = 0;
	socklen_t len = sizeof(e);

	snprintf(port, sizeof(port), "%u", h->port);
	if ((rc = getaddrinfo(h->host, port, &hints, &res)) != 0)
		return avc_fail(err, AV_TRANSPORT_ERROR, "%s: %s", h->host,
		    gai_strerror(rc));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		h->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, 0);
		if (h->fd == -1) {
			e = errno;
			continue;
		}
		if (connect(h->fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		e = errno;
		if (e == EINPROGRESS) {
			if (wait_fd(h, POLLOUT, deadline, "connect",
			    err) != 0) {
				freeaddrinfo(res);
				return -1;
			}
			if (getsockopt(h->fd, SOL_SOCKET, SO_ERROR, &e,
			    &len) == 0 && e == 0)
				break;
		}
		close(h->fd);
		h->fd = -1;
	}
	freeaddrinfo(res);
	if (h->fd == -1)
		return avc_fail(err, AV_TRANSPORT_ERROR, "connect to %s port "
		    "%u: %s", h->host, h->port, ERRSTR(e));
	return 0;
}

/* Why a handshake failed, in words an operator can act on. */
static int
handshake_fail(av_handle *h, int ret, struct av_error *err)
{
	char info[512];
	uint32_t flags;
	size_t i;

	if (ret == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
		flags = mbedtls_ssl_get_verify_result(&h->ssl);
		if (mbedtls_x509_crt_verify_info(info, sizeof(info), "",
		    flags) < 0)
			snprintf(info, sizeof(info), "flags 0x%x", flags);
		for (i = 0; info[i] != '\0'; i++)
			if (info[i] == '\n')
				info[i] = info[i + 1] == '\0' ? '\0' : ';';
		return avc_fail(err, AV_TLS_ERROR, "the appliance's "
		    "certificate is not trusted:%s (is the CA file the "
		    "appliance's ca.pem, and the name '%s'?)", info,
		    h->server_name);
	}
	if (ret == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE)
		return avc_fail(err, AV_TLS_ERROR, "the appliance refused the "
		    "TLS handshake (on TCP it may want a client certificate)");
	if (ret == 0 || ret == MBEDTLS_ERR_SSL_CONN_EOF ||
	    ret == MBEDTLS_ERR_NET_CONN_RESET)
		return avc_fail(err, AV_TRANSPORT_ERROR, "the appliance closed "
		    "the connection during the TLS handshake");
	return io_fail(h, "TLS handshake", ret, err);
}

int
avc_connect(av_handle *h, int64_t deadline, struct av_error *err)
{
	int ret;

	if ((h->socket_path != NULL ? connect_unix(h, err) :
	    connect_tcp(h, deadline, err)) != 0)
		goto fail;
	mbedtls_ssl_free(&h->ssl);
	mbedtls_ssl_init(&h->ssl);
	if ((ret = mbedtls_ssl_setup(&h->ssl, &h->conf)) != 0 ||
	    (ret = mbedtls_ssl_set_hostname(&h->ssl, h->server_name)) != 0) {
		tls_fail(err, "TLS set-up", ret);
		goto fail;
	}
	mbedtls_ssl_set_bio(&h->ssl, h, bio_send, bio_recv, NULL);
	while ((ret = mbedtls_ssl_handshake(&h->ssl)) != 0) {
		if (!WANT(ret)) {
			handshake_fail(h, ret, err);
			goto fail;
		}
		if (wait_fd(h, ret == MBEDTLS_ERR_SSL_WANT_READ ? POLLIN :
		    POLLOUT, deadline, "TLS handshake", err) != 0)
			goto fail;
	}
	h->idle = true;
	return 0;
fail:
	avc_disconnect(h);
	return -1;
}

void
avc_disconnect(av_handle *h)
{
	/*
	 * close_notify flushes pending output first: after a failed or
	 * timed-out exchange that would be the rest of a request the caller
	 * was told had failed.  So only on an idle connection, and one try.
	 */
	if (h->fd != -1 && h->idle)
		(void)mbedtls_ssl_close_notify(&h->ssl);
	if (h->fd != -1)
		close(h->fd);
	h->fd = -1;
	h->idle = false;
	mbedtls_ssl_free(&h->ssl);	/* wipes the record buffers */
	mbedtls_ssl_init(&h->ssl);
}

/* Between requests the server sends nothing: anything readable is its
 * close_notify, EOF or a reset, and the connection cannot be used. */
bool
avc_stale(av_handle *h)
{
	struct pollfd p = { .fd = h->fd, .events = POLLIN };

	return poll(&p, 1, 0) != 0 || mbedtls_ssl_check_pending(&h->ssl);
}

int
avc_write(av_handle *h, const char *buf, size_t len, int64_t deadline,
    struct av_error *err)
{
	size_t off = 0;
	int ret;

	while (off < len) {
		ret = mbedtls_ssl_write(&h->ssl, (const unsigned char *)buf +
		    off, len - off);
		if (ret > 0)
			off += (size_t)ret;
		else if (!WANT(ret))
			return io_fail(h, "send", ret, err);
		else if (wait_fd(h, ret == MBEDTLS_ERR_SSL_WANT_READ ? POLLIN :
		    POLLOUT, deadline, "send", err) != 0)
			return -1;
	}
	return 0;
}

/* Some bytes of the reply (> 0), or -1. */
int
avc_read(av_handle *h, char *buf, size_t cap, int64_t deadline,
    struct av_error *err)
{
	int ret;

	for (;;) {
		ret = mbedtls_ssl_read(&h->ssl, (unsigned char *)buf, cap);
		if (ret > 0) {
			h->received += (size_t)ret;
			return ret;
		}
		if (!WANT(ret))
			return io_fail(h, "receive", ret, err);
		if (wait_fd(h, ret == MBEDTLS_ERR_SSL_WANT_READ ? POLLIN :
		    POLLOUT, deadline, "waiting for the reply", err) != 0)
			return -1;
	}
}
