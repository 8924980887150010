/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_client.c - the data plane as an agent sees it: calls through
 * libagentvault, one thread per connection, each with its own handle
 * (keep-alive), in a closed loop.  Prints one line in bench_daemon's
 * format: connections, req/s, p50 and p99 latency in microseconds, errors.
 *
 *   bench_client SOCKET CA CONNS SECONDS token WORKLOAD USER
 *       GetWorkloadAccessTokenForUserId
 *   bench_client SOCKET CA CONNS SECONDS api-key WORKLOAD USER PROVIDER
 *       av_with_api_key: the workload token minted once per handle and
 *       cached, then one GetResourceApiKey per call
 *
 * Measures; asserts nothing.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agentvault.h"

#define CONNS_MAX	64
#define LAT_PER_CONN	(2 * 1000 * 1000 / CONNS_MAX)

struct client {
	char		**argv;
	double		 until;
	long		 count, errors, nlat;
	double		*lat;
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
nothing(const char *secret, void *arg)
{
	(void)secret;
	(void)arg;
	return 0;
}

static void *
client_thread(void *arg)
{
	struct client *c = arg;
	struct av_options o = { .socket_path = c->argv[1],
	    .ca_file = c->argv[2] };
	struct av_api_key_opts k = { .workload = c->argv[6],
	    .user_id = c->argv[7], .provider = c->argv[8] };
	bool token = strcmp(c->argv[5], "token") == 0;
	struct av_error e;
	av_handle *h;
	char *tok;
	double t0;
	int rc;

	if (av_open(&o, &h, &e) != 0) {
		c->errors++;
		return NULL;
	}
	while ((t0 = now()) < c->until) {
		if (token) {
			rc = av_get_workload_access_token_for_user_id(h,
			    k.workload, k.user_id, &tok, &e);
			if (rc == 0)
				av_secret_free(tok);
		} else
			rc = av_with_api_key(h, &k, nothing, NULL, &e);
		if (rc != 0) {
			if (c->errors++ == 0)
				fprintf(stderr, "bench_client: %s: %s\n",
				    e.type, e.message);
			continue;
		}
		if (c->nlat < LAT_PER_CONN)
			c->lat[c->nlat++] = now() - t0;
		c->count++;
	}
	av_close(h);
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	static struct client c[CONNS_MAX];
	pthread_t t[CONNS_MAX];
	double start, secs, *all;
	long total = 0, errors = 0, n = 0;
	int conns, i;

	if (argc != 8 + (argc > 5 && strcmp(argv[5], "api-key") == 0)) {
		fprintf(stderr, "usage: bench_client SOCKET CA CONNS SECONDS "
		    "token|api-key WORKLOAD USER [PROVIDER]\n");
		return 2;
	}
	conns = (int)strtol(argv[3], NULL, 10);
	secs = strtod(argv[4], NULL);
	if (conns < 1 || conns > CONNS_MAX || secs <= 0)
		return 2;
	start = now();
	for (i = 0; i < conns; i++) {
		c[i] = (struct client){ argv, start + secs, 0, 0, 0,
		    calloc(LAT_PER_CONN, sizeof(double)) };
		pthread_create(&t[i], NULL, client_thread, &c[i]);
	}
	all = calloc((size_t)conns * LAT_PER_CONN, sizeof(double));
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
	return 0;
}
