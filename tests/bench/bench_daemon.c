/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_daemon.c - requests per second and latency over keep-alive TLS
 * connections on a Unix socket, and the ceiling to compare them with.
 *
 *   bench_daemon client SOCKET CA CONNS SECONDS METHOD PATH [BODY]
 *       closed loop: one thread per connection, each sending the next
 *       request when the previous answer is in; prints one result line.
 *   bench_daemon echo SOCKET CERT KEY-URI
 *       the ceiling: a bare TLS server on a Unix socket with the same HSM
 *       key (through the provider) that answers every request head with a
 *       fixed small response, one thread per connection.
 *
 * Measures; asserts nothing.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "hsm.h"
#include "provider.h"
#include "../unit/testenv.h"

#define CONNS_MAX	64
#define LAT_MAX		(2 * 1000 * 1000)
#define LAT_PER_CONN	(LAT_MAX / CONNS_MAX)

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
unix_connect(const char *path)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Read one HTTP response (head + Content-Length body); 0 or -1. */
static int
read_response(SSL *ssl, char *buf, size_t cap)
{
	size_t got = 0, need = 0;
	char *end, *cl;
	int n;

	for (;;) {
		if ((n = SSL_read(ssl, buf + got, (int)(cap - got - 1))) <= 0)
			return -1;
		got += (size_t)n;
		buf[got] = '\0';
		if (need == 0 && (end = strstr(buf, "\r\n\r\n")) != NULL) {
			cl = strcasestr(buf, "Content-Length:");
			need = (size_t)(end - buf) + 4 +
			    (cl != NULL ? strtoul(cl + 15, NULL, 10) : 0);
		}
		if (need > 0 && got >= need)
			return strncmp(buf, "HTTP/1.1 200", 12) == 0 ? 0 : -1;
		if (got + 1 >= cap)
			return -1;
	}
}

struct client {
	const char	*socket;
	SSL_CTX		*ctx;
	const char	*request;
	double		 until;
	long		 count, errors;
	double		*lat;
	long		 nlat;
};

static void *
client_thread(void *arg)
{
	struct client *c = arg;
	char buf[16384];
	SSL *ssl;
	double t0;
	int fd;

	if ((fd = unix_connect(c->socket)) < 0)
		return NULL;
	ssl = SSL_new(c->ctx);
	SSL_set_fd(ssl, fd);
	SSL_set_tlsext_host_name(ssl, "localhost");
	if (SSL_connect(ssl) != 1) {
		c->errors++;
		goto done;
	}
	while ((t0 = now()) < c->until) {
		if (SSL_write(ssl, c->request, (int)strlen(c->request)) <= 0 ||
		    read_response(ssl, buf, sizeof(buf)) != 0) {
			c->errors++;
			break;
		}
		if (c->nlat < LAT_PER_CONN)
			c->lat[c->nlat++] = now() - t0;
		c->count++;
	}
done:
	SSL_free(ssl);
	close(fd);
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
run_client(int argc, char **argv)
{
	static struct client c[CONNS_MAX];
	pthread_t t[CONNS_MAX];
	char request[4096];
	const char *body;
	double start, secs, *all;
	long total = 0, errors = 0, n = 0;
	int conns, i;
	SSL_CTX *ctx;

	if (argc < 8)
		return 2;
	conns = (int)strtol(argv[4], NULL, 10);
	secs = strtod(argv[5], NULL);
	body = argc > 8 ? argv[8] : "";
	if (conns < 1 || conns > CONNS_MAX || secs <= 0)
		return 2;
	snprintf(request, sizeof(request), "%s %s HTTP/1.1\r\nHost: localhost"
	    "\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n"
	    "%s", argv[6], argv[7], strlen(body), body);
	ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(ctx, argv[3], NULL) != 1)
		return 1;
	start = now();
	for (i = 0; i < conns; i++) {
		c[i] = (struct client){ argv[2], ctx, request, start + secs, 0,
		    0, calloc(LAT_PER_CONN, sizeof(double)), 0 };
		pthread_create(&t[i], NULL, client_thread, &c[i]);
	}
	all = calloc(LAT_MAX, sizeof(double));
	for (i = 0; i < conns; i++) {
		pthread_join(t[i], NULL);
		total += c[i].count;
		errors += c[i].errors;
		memcpy(all + n, c[i].lat, (size_t)c[i].nlat * sizeof(double));
		n += c[i].nlat;
		free(c[i].lat);
	}
	secs = now() - start;
	qsort(all, (size_t)n, sizeof(double), cmp_double);
	printf("%d %.0f %.1f %.1f %ld\n", conns, (double)total / secs,
	    n > 0 ? all[n / 2] * 1e6 : 0.0, n > 0 ? all[n * 99 / 100] * 1e6 :
	    0.0, errors);
	free(all);
	SSL_CTX_free(ctx);
	return 0;
}

static void *
echo_thread(void *arg)
{
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Type: "
	    "application/json\r\nContent-Length: 16\r\n\r\n{\"status\":\"ok\"}\n";
	SSL *ssl = arg;
	char buf[16384];
	size_t got = 0;
	char *end;
	int n;

	if (SSL_accept(ssl) == 1) {
		while ((n = SSL_read(ssl, buf + got, (int)(sizeof(buf) - got -
		    1))) > 0) {
			got += (size_t)n;
			buf[got] = '\0';
			/* Answer each complete head (bodies are small). */
			while ((end = strstr(buf, "\r\n\r\n")) != NULL) {
				char *cl = strcasestr(buf, "Content-Length:");
				size_t used = (size_t)(end - buf) + 4 +
				    (cl != NULL && cl < end ?
				    strtoul(cl + 15, NULL, 10) : 0);

				if (used > got)
					break;
				SSL_write(ssl, resp, sizeof(resp) - 1);
				memmove(buf, buf + used, got - used + 1);
				got -= used;
			}
		}
	}
	close(SSL_get_fd(ssl));
	SSL_free(ssl);
	return NULL;
}

static int
run_echo(int argc, char **argv)
{
	struct hsm_provider *prov;
	struct sockaddr_un sun;
	struct hsm *h;
	EVP_PKEY *key;
	SSL_CTX *ctx;
	pthread_t t;
	int lfd, fd;

	if (argc < 5)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	h = testenv_hsm(4);
	if (!hsm_provider_load(h, NULL, &prov) ||
	    (key = hsm_provider_load_key(NULL, argv[4])) == NULL) {
		fprintf(stderr, "echo: cannot load the key %s\n", argv[4]);
		return 1;
	}
	ctx = SSL_CTX_new(TLS_server_method());
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	if (SSL_CTX_use_certificate_chain_file(ctx, argv[3]) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, key) != 1) {
		fprintf(stderr, "echo: TLS set-up failed\n");
		return 1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", argv[2]);
	unlink(argv[2]);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    listen(lfd, 128) != 0) {
		fprintf(stderr, "echo: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	while ((fd = accept(lfd, NULL, NULL)) >= 0) {
		SSL *ssl = SSL_new(ctx);

		SSL_set_fd(ssl, fd);
		pthread_create(&t, NULL, echo_thread, ssl);
		pthread_detach(t);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	int rc = 2;

	if (argc > 1 && strcmp(argv[1], "client") == 0)
		rc = run_client(argc, argv);
	else if (argc > 1 && strcmp(argv[1], "echo") == 0)
		rc = run_echo(argc, argv);
	if (rc == 2)
		fprintf(stderr, "usage: bench_daemon client SOCKET CA CONNS "
		    "SECONDS METHOD PATH [BODY]\n       bench_daemon echo "
		    "SOCKET CERT KEY-URI\n");
	return rc;
}
