/* SPDX-License-Identifier: Apache-2.0 */
/*
 * httpd.h - HTTP/1.1 over TLS on the worker's listeners (libevent loop,
 * OpenSSL bufferevents, the strict head parser of http_parse.c).
 *
 * Per connection: the peer's credentials (Unix sockets) or certificate
 * subject (TCP with mTLS) are taken at accept; the whole request (TLS
 * handshake, head and body) must arrive within read_timeout; an idle
 * keep-alive connection is closed after idle_timeout; connections over
 * max_connections are closed at accept.  One request at a time per
 * connection; the handler runs on the loop's thread and must reply, then
 * or later (from the same loop), exactly once, even when the peer has
 * gone meanwhile (the connection is freed at the reply).
 */
#ifndef AV_HTTPD_H
#define AV_HTTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <openssl/ssl.h>

struct event_base;

enum av_listener_kind {
	AV_LISTENER_ADMIN = 1,		/* admin Unix socket */
	AV_LISTENER_AGENT = 2,		/* agent Unix socket */
	AV_LISTENER_TCP = 3,		/* optional TCP listener */
};

/* Who is calling, as the transport proves it. */
struct av_caller {
	enum av_listener_kind	 listener;
	bool			 has_cred;	/* uid/gid/pid valid */
	uid_t			 uid;
	gid_t			 gid;
	pid_t			 pid;
	char			 subject[256];	/* mTLS certificate subject */
};

struct httpd_opts {
	size_t		 max_head;
	size_t		 max_body;
	unsigned	 read_timeout;		/* seconds */
	unsigned	 idle_timeout;		/* seconds */
	unsigned	 max_connections;	/* across every loop */
	unsigned	*live_connections;	/* shared counter (atomic) */
};

struct httpd_req {
	const char		*method;
	const char		*target;
	const char		*body;		/* NUL-terminated copy */
	size_t			 body_len;
	bool			 json;		/* Content-Type says JSON */
	bool			 form;		/* or a form (RFC 6749) */
	const struct av_caller	*caller;
	char			 request_id[37];
	struct httpd_conn	*conn;		/* for httpd_reply */
};

typedef void httpd_handler(struct httpd_req *req, void *arg);

struct httpd;

struct httpd *httpd_new(struct event_base *base, SSL_CTX *ctx,
    const struct httpd_opts *opts, httpd_handler *handler, void *arg);
/*
 * Accept on a listening socket (not closed here) with group[0]'s loop and
 * deal the connections out to the n servers of group in turn (each on its
 * own loop; group must outlive them).
 */
int httpd_listen(struct httpd **group, size_t n, int fd,
    enum av_listener_kind kind);
void httpd_free(struct httpd *h);
/* Draining: accept no new connections (thread-safe with libevent's
 * pthreads support on). */
void httpd_stop_accepting(struct httpd *h);

/* Send the reply (body: JSON text, may be NULL) to req; exactly once. */
void httpd_reply(struct httpd_req *req, int status, const char *body,
    size_t len);
/* The same with another content type and extra header lines (each
 * "Name: value\r\n", NULL for none; the caller makes them safe). */
void httpd_reply_ex(struct httpd_req *req, int status,
    const char *content_type, const char *headers, const char *body,
    size_t len);

/*
 * The browser plane (the OAuth callback): an HTML page, or a 302 to
 * location, each with Cache-Control: no-store, Referrer-Policy:
 * no-referrer, X-Content-Type-Options: nosniff and a Content-Security-
 * Policy that loads nothing.  html must be escaped by the caller.
 * httpd_reply_redirect refuses (-1, nothing sent) a location that is
 * empty, longer than HTTPD_LOCATION_MAX or has anything but printable
 * ASCII without spaces.
 */
#define HTTPD_LOCATION_MAX	8192
void httpd_reply_html(struct httpd_req *req, int status, const char *html);
int httpd_reply_redirect(struct httpd_req *req, const char *location);

#endif /* AV_HTTPD_H */
