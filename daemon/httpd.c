/* SPDX-License-Identifier: Apache-2.0 */
/*
 * httpd.c - connections, TLS, limits and timeouts; see httpd.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "http_parse.h"
#include "httpd.h"

#define LISTENERS_MAX 4
#define JSON_TYPE	"application/json"

struct httpd {
	struct event_base	*base;
	SSL_CTX			*ctx;
	struct httpd_opts	 opts;
	httpd_handler		*handler;
	void			*arg;
	struct evconnlistener	*listeners[LISTENERS_MAX];
	enum av_listener_kind	 kinds[LISTENERS_MAX];
	struct httpd		**group[LISTENERS_MAX];	/* who serves */
	size_t			 ngroup[LISTENERS_MAX];
	unsigned		 next[LISTENERS_MAX];	/* round robin */
	size_t			 nlisteners;
};

/* A connection accepted by one loop for another. */
struct handoff {
	struct httpd		*h;
	evutil_socket_t		 fd;
	enum av_listener_kind	 kind;
};

enum conn_state { CONN_HEAD, CONN_BODY, CONN_HANDLER, CONN_WRITING };

struct httpd_conn {
	struct httpd		*srv;
	struct bufferevent	*bev;
	struct event		*timer;
	struct av_caller	 caller;
	enum conn_state		 state;
	bool			 request_started;
	bool			 close_after;
	bool			 tls_up;	/* handshake finished */
	bool			 orphaned;	/* gone while its reply was due */
	struct http_request_head head;
	struct httpd_req	 req;
	char			*body;
	size_t			 body_size;	/* bytes allocated */
};

static void conn_process(struct httpd_conn *c);

/* Request bodies carry secrets (API keys, client secrets): wipe them. */
static void
body_free(struct httpd_conn *c)
{
	if (c->body != NULL)
		OPENSSL_cleanse(c->body, c->body_size);
	free(c->body);
	c->body = NULL;
	c->body_size = 0;
}

static void
conn_free(struct httpd_conn *c)
{
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->bev != NULL)
		bufferevent_free(c->bev);	/* closes the socket, frees SSL */
	body_free(c);
	__atomic_sub_fetch(c->srv->opts.live_connections, 1, __ATOMIC_RELAXED);
	free(c);
}

static void
arm_timer(struct httpd_conn *c, unsigned seconds)
{
	struct timeval tv = { (time_t)seconds, 0 };

	event_add(c->timer, &tv);
}

static const char *
reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 302: return "Found";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 402: return "Payment Required";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return status < 500 ? "Client Error" : "Internal Server Error";
	}
}

static void
send_response(struct httpd_conn *c, int status, const char *content_type,
    const char *headers, const char *body, size_t len,
    const char *request_id)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %zu\r\n"
	    "x-amzn-RequestId: %s\r\n"
	    "%s"
	    "Connection: %s\r\n\r\n", status, reason(status), content_type,
	    len, request_id, headers != NULL ? headers : "",
	    c->close_after ? "close" : "keep-alive");
	if (len > 0)
		evbuffer_add(out, body, len);
	c->state = CONN_WRITING;
	event_del(c->timer);
	/* Stop reading until the reply is out: one request at a time. */
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_enable(c->bev, EV_WRITE);
}

/* An error found before a handler ran: reply, then close. */
static void
reply_error(struct httpd_conn *c, int status, const char *message)
{
	char body[256];
	int n;

	n = snprintf(body, sizeof(body), "{\"__type\":\"%s\",\"message\":\"%s\"}",
	    status == 408 ? "RequestTimeoutException" : status >= 500 &&
	    status != 501 && status != 505 ? "InternalServerException" :
	    "ValidationException", message);
	c->close_after = true;
	send_response(c, status, JSON_TYPE, NULL, body, (size_t)n, "-");
}

void
httpd_reply_ex(struct httpd_req *req, int status, const char *content_type,
    const char *headers, const char *body, size_t len)
{
	struct httpd_conn *c = req->conn;

	if (c->orphaned) {
		conn_free(c);
		return;
	}
	send_response(c, status, content_type, headers, body,
	    body != NULL ? len : 0, req->request_id);
}

void
httpd_reply(struct httpd_req *req, int status, const char *body, size_t len)
{
	httpd_reply_ex(req, status, JSON_TYPE, NULL, body, len);
}

/* What a page or redirect of the browser plane says besides: not kept,
 * not referred, not sniffed, not framed, and it loads nothing. */
#define BROWSER_HEADERS \
	"Cache-Control: no-store\r\n" \
	"Pragma: no-cache\r\n" \
	"Referrer-Policy: no-referrer\r\n" \
	"X-Content-Type-Options: nosniff\r\n" \
	"X-Frame-Options: DENY\r\n" \
	"Content-Security-Policy: default-src 'none'; style-src " \
	"'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; " \
	"form-action 'none'\r\n"

void
httpd_reply_html(struct httpd_req *req, int status, const char *html)
{
	httpd_reply_ex(req, status, "text/html; charset=utf-8",
	    BROWSER_HEADERS, html, strlen(html));
}

int
httpd_reply_redirect(struct httpd_req *req, const char *location)
{
	char *headers;
	size_t i, n = strlen(location);
	int len;

	/* No header injection: printable ASCII only, bounded. */
	for (i = 0; i < n; i++)
		if ((unsigned char)location[i] <= 0x20 ||
		    (unsigned char)location[i] >= 0x7f)
			return -1;
	if (n == 0 || n > HTTPD_LOCATION_MAX ||
	    (len = asprintf(&headers, "Location: %s\r\n" BROWSER_HEADERS,
	    location)) < 0)
		return -1;
	httpd_reply_ex(req, 302, "text/plain; charset=utf-8", headers, NULL,
	    0);
	free(headers);
	return 0;
}

static void
new_request_id(char out[37])
{
	unsigned char r[16];

	RAND_bytes(r, sizeof(r));
	r[6] = (r[6] & 0x0f) | 0x40;	/* UUID version 4 */
	r[8] = (r[8] & 0x3f) | 0x80;
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5],
	    r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
}

static void
dispatch(struct httpd_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t n = c->head.content_length;

	body_free(c);
	if ((c->body = malloc(n + 1)) == NULL) {
		reply_error(c, 503, "out of memory");
		return;
	}
	c->body_size = n + 1;
	evbuffer_drain(in, c->head.head_len);
	evbuffer_remove(in, c->body, n);
	c->body[n] = '\0';
	c->close_after = !c->head.keep_alive;
	memset(&c->req, 0, sizeof(c->req));
	c->req.method = c->head.method;
	c->req.target = c->head.target;
	c->req.body = c->body;
	c->req.body_len = n;
	c->req.json = c->head.json;
	c->req.form = c->head.form;
	c->req.caller = &c->caller;
	c->req.conn = c;
	new_request_id(c->req.request_id);
	c->state = CONN_HANDLER;
	/* The reply may wait for the audit trail: no timeout meanwhile. */
	event_del(c->timer);
	c->srv->handler(&c->req, c->srv->arg);
}

static void
conn_process(struct httpd_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t len = evbuffer_get_length(in), scan;
	const char *why = "bad request";
	unsigned char *p;
	int rc;

	if (len == 0)
		return;
	if (!c->request_started) {
		/* From the first byte, the whole request has read_timeout. */
		c->request_started = true;
		arm_timer(c, c->srv->opts.read_timeout);
	}
	if (c->state == CONN_HEAD) {
		scan = len < c->srv->opts.max_head ? len :
		    c->srv->opts.max_head;
		if ((p = evbuffer_pullup(in, (ev_ssize_t)scan)) == NULL)
			return;
		rc = http_parse_head((const char *)p, scan,
		    c->srv->opts.max_head, c->srv->opts.max_body, &c->head,
		    &why);
		if (rc == HTTP_PARSE_INCOMPLETE)
			return;
		if (rc == HTTP_PARSE_ERROR) {
			reply_error(c, c->head.status, why);
			return;
		}
		c->state = CONN_BODY;
	}
	if (c->state == CONN_BODY &&
	    len >= c->head.head_len + c->head.content_length)
		dispatch(c);
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	conn_process(arg);
}

static void
on_write(struct bufferevent *bev, void *arg)
{
	struct httpd_conn *c = arg;

	if (c->state != CONN_WRITING ||
	    evbuffer_get_length(bufferevent_get_output(bev)) > 0)
		return;
	if (c->close_after) {
		conn_free(c);
		return;
	}
	/* Ready for the next request on this connection. */
	c->state = CONN_HEAD;
	c->request_started = false;
	body_free(c);
	c->body = NULL;
	arm_timer(c, c->srv->opts.idle_timeout);
	bufferevent_enable(bev, EV_READ);
	conn_process(c);	/* a pipelined request may be waiting */
}

/*
 * mTLS: the verified client certificate's subject names the caller, in
 * RFC 2253 form ("CN=agent-7,O=Acme"), as principals list it.  A subject
 * that does not fit is left empty: it matches no principal.
 */
static void
peer_subject(struct httpd_conn *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	X509 *cert = ssl != NULL ? SSL_get1_peer_certificate(ssl) : NULL;
	BIO *b;
	int n;

	if (cert == NULL)
		return;
	if (SSL_get_verify_result(ssl) == X509_V_OK &&
	    (b = BIO_new(BIO_s_mem())) != NULL) {
		if (X509_NAME_print_ex(b, X509_get_subject_name(cert), 0,
		    XN_FLAG_RFC2253) > 0 && (n = BIO_read(b, c->caller.subject,
		    sizeof(c->caller.subject))) > 0 &&
		    (size_t)n < sizeof(c->caller.subject))
			c->caller.subject[n] = '\0';
		else
			c->caller.subject[0] = '\0';
		BIO_free(b);
	}
	X509_free(cert);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct httpd_conn *c = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		c->tls_up = true;
		if (c->caller.listener == AV_LISTENER_TCP)
			peer_subject(c);
		return;
	}
	/* EOF, a TLS or socket error: nothing more to say to this peer. */
	ERR_clear_error();
	if (c->state == CONN_HANDLER) {
		/* The handler still holds the request: free at its reply. */
		c->orphaned = true;
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
		return;
	}
	conn_free(c);
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct httpd_conn *c = arg;

	(void)fd;
	(void)what;
	/*
	 * A peer that has not finished the TLS handshake, or does not read
	 * our reply, gets nothing more; one that is slow sending its
	 * request gets a 408 and one more read_timeout to take it.
	 */
	if (c->tls_up && c->request_started && (c->state == CONN_HEAD ||
	    c->state == CONN_BODY)) {
		reply_error(c, 408, "request not received in time");
		arm_timer(c, c->srv->opts.read_timeout);
		return;
	}
	conn_free(c);
}

static void
peer_identity(struct httpd_conn *c, int fd, enum av_listener_kind kind)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	c->caller.listener = kind;
	if (kind != AV_LISTENER_TCP &&
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == 0 &&
	    len == sizeof(uc)) {
		c->caller.has_cred = true;
		c->caller.uid = uc.uid;
		c->caller.gid = uc.gid;
		c->caller.pid = uc.pid;
	}
}

/* Take a new connection on h's loop. */
static void
conn_start(struct httpd *h, evutil_socket_t fd, enum av_listener_kind kind)
{
	struct httpd_conn *c;
	SSL *ssl;

	if (__atomic_add_fetch(h->opts.live_connections, 1,
	    __ATOMIC_RELAXED) > h->opts.max_connections) {
		/* Over the cap: close at once, before any TLS work. */
		__atomic_sub_fetch(h->opts.live_connections, 1,
		    __ATOMIC_RELAXED);
		close(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL || (ssl = SSL_new(h->ctx)) ==
	    NULL) {
		free(c);
		__atomic_sub_fetch(h->opts.live_connections, 1,
		    __ATOMIC_RELAXED);
		close(fd);
		return;
	}
	c->srv = h;
	peer_identity(c, fd, kind);
	c->bev = bufferevent_openssl_socket_new(h->base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	c->timer = evtimer_new(h->base, on_timeout, c);
	if (c->bev == NULL || c->timer == NULL) {
		if (c->bev == NULL) {
			SSL_free(ssl);
			close(fd);
		}
		conn_free(c);
		return;
	}
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	bufferevent_enable(c->bev, EV_READ);
	/* The handshake and the first request share read_timeout. */
	c->request_started = true;
	arm_timer(c, h->opts.read_timeout);
}

static void
on_handoff(evutil_socket_t unused, short what, void *arg)
{
	struct handoff *m = arg;

	(void)unused;
	(void)what;
	conn_start(m->h, m->fd, m->kind);
	free(m);
}

/*
 * One loop accepts for the whole group and deals the connections out in
 * turn: loops sharing one listening socket would all wake for each
 * connection, and the kernel would not spread them evenly.
 */
static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	static const struct timeval now = { 0, 0 };
	struct httpd *h = arg, *to;
	struct handoff *m;
	size_t i;

	(void)sa;
	(void)salen;
	for (i = 0; i < h->nlisteners && h->listeners[i] != l; i++)
		;
	if (i == h->nlisteners) {
		close(fd);
		return;
	}
	to = h->group[i][h->next[i]++ % h->ngroup[i]];
	if (to == h) {
		conn_start(h, fd, h->kinds[i]);
		return;
	}
	if ((m = malloc(sizeof(*m))) == NULL) {
		close(fd);
		return;
	}
	*m = (struct handoff){ to, fd, h->kinds[i] };
	if (event_base_once(to->base, -1, EV_TIMEOUT, on_handoff, m,
	    &now) != 0) {
		free(m);
		close(fd);
	}
}

struct httpd *
httpd_new(struct event_base *base, SSL_CTX *ctx, const struct httpd_opts *opts,
    httpd_handler *handler, void *arg)
{
	struct httpd *h;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->base = base;
	h->ctx = ctx;
	h->opts = *opts;
	h->handler = handler;
	h->arg = arg;
	return h;
}

int
httpd_listen(struct httpd **group, size_t n, int fd,
    enum av_listener_kind kind)
{
	struct httpd *h = group[0];
	struct evconnlistener *l;

	if (h->nlisteners == LISTENERS_MAX || n == 0)
		return -1;
	/* The parent already listen()ed (backlog 0: libevent must not call
	 * listen); the socket outlives us: never close it from here.
	 * Thread-safe: the drain disables it from the main thread. */
	l = evconnlistener_new(h->base, on_accept, h, LEV_OPT_REUSEABLE |
	    LEV_OPT_THREADSAFE, 0, fd);
	if (l == NULL)
		return -1;
	h->listeners[h->nlisteners] = l;
	h->kinds[h->nlisteners] = kind;
	h->group[h->nlisteners] = group;
	h->ngroup[h->nlisteners++] = n;
	return 0;
}

void
httpd_free(struct httpd *h)
{
	size_t i;

	if (h == NULL)
		return;
	for (i = 0; i < h->nlisteners; i++)
		evconnlistener_free(h->listeners[i]);
	free(h);
}

void
httpd_stop_accepting(struct httpd *h)
{
	size_t i;

	for (i = 0; i < h->nlisteners; i++)
		evconnlistener_disable(h->listeners[i]);
}
