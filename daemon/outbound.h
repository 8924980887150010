/* SPDX-License-Identifier: Apache-2.0 */
/*
 * outbound.h - HTTPS requests from the worker to identity providers:
 * libcurl's multi interface driven by an event loop, so that a slow
 * provider holds up only the calls waiting on it.
 *
 * One struct outbound per event loop, used only from that loop's thread.
 * A request is refused at once (bad URL, plain http, too many in flight)
 * or its callback runs exactly once, later, from the loop: never from
 * inside outbound_request().  Every limit of the configuration's outbound
 * block applies to each request (docs/configuration.md): https only
 * (plain http to a loopback address only with allow_http_loopback, for
 * tests), certificate and host name verification against the CA
 * bundle alone (outbound_load_ca), no redirects, no cookies, proxies
 * from the environment.
 *
 * Secrets.  The request body, the basic-auth credentials and the answer
 * are copied into buffers that are wiped when freed, and so is every
 * buffer libcurl allocates (outbound_global_init); nothing is logged.
 */
#ifndef AV_OUTBOUND_H
#define AV_OUTBOUND_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

struct event_base;
struct outbound;

struct outbound_opts {
	unsigned int	 connect_timeout_ms;
	unsigned int	 timeout_ms;		/* the whole request */
	size_t		 max_response;		/* bytes of body */
	unsigned int	 max_transfers;		/* in flight */
	bool		 allow_http_loopback;
};

enum outbound_method {
	OUTBOUND_GET,
	OUTBOUND_POST,
};

struct outbound_req {
	enum outbound_method	 method;
	const char		*url;
	/* Extra header lines, "Name: value", NULL-terminated; or NULL. */
	const char *const	*headers;
	/* POST: the body and its type ("application/x-www-form-urlencoded",
	 * "application/json"). */
	const char		*content_type;
	const char		*body;
	size_t			 body_len;
	/* HTTP basic authentication when user is not NULL, sent as given
	 * (an OAuth client form-encodes id and secret first, RFC 6749
	 * 2.3.1); the caller wipes its own copies. */
	const char		*user;
	const char		*password;
};

enum outbound_error {
	OUTBOUND_OK = 0,
	OUTBOUND_E_TIMEOUT,	/* connect_timeout_ms or timeout_ms passed */
	OUTBOUND_E_DNS,		/* the host name does not resolve */
	OUTBOUND_E_CONNECT,	/* no TCP connection */
	OUTBOUND_E_TLS,		/* handshake or certificate verification */
	OUTBOUND_E_PROXY,	/* the proxy failed or refused */
	OUTBOUND_E_TOO_LARGE,	/* the answer is over max_response */
	OUTBOUND_E_PROTOCOL,	/* not HTTP, cut short, reset */
	OUTBOUND_E_INTERNAL,	/* out of memory and the like */
};

/* The outcome of a request: valid during the callback only. */
struct outbound_resp {
	enum outbound_error	 error;
	const char		*message;	/* what failed; no data in it */
	long			 status;	/* HTTP status; 0: none */
	const char		*content_type;	/* or NULL */
	const char		*body;		/* NUL-ended; wiped after */
	size_t			 body_len;
};

typedef void outbound_done_fn(const struct outbound_resp *resp, void *arg);

/* Once per process, before any thread and before the sandbox. */
int outbound_global_init(struct av_err *e);
/*
 * The CAs trusted for servers and HTTPS proxies: a PEM file, read now
 * (before the sandbox), shared by every struct outbound.  Until it
 * succeeds, every HTTPS request fails (OUTBOUND_E_TLS).
 */
int outbound_load_ca(const char *path, struct av_err *e);

struct outbound *outbound_new(struct event_base *base,
    const struct outbound_opts *opts);

/*
 * Start a request.  0: cb(resp, arg) will run once from the loop.  -1
 * with e filled: refused now, no callback (ValidationException for the
 * URL, ThrottlingException when max_transfers are in flight).
 */
int outbound_request(struct outbound *ob, const struct outbound_req *req,
    outbound_done_fn *cb, void *arg, struct av_err *e);

/* "timeout", "dns", ... as tests and messages name the errors. */
const char *outbound_error_name(enum outbound_error err);

#endif /* AV_OUTBOUND_H */
