/* SPDX-License-Identifier: Apache-2.0 */
/*
 * outbound.c - libcurl's multi interface on a libevent loop; see
 * outbound.h.
 *
 * curl says which sockets to watch (on_socket) and when to wake it
 * (on_timer); the loop tells curl what happened (curl_multi_socket_action)
 * and then collects the finished transfers (curl_multi_info_read).  Host
 * names are resolved in libcurl's resolver threads, and the CA bundle is
 * read once, at start: nothing here waits on the network or the disk.
 */
#include <arpa/inet.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "daemon.h"
#include "outbound.h"

#define URL_MAX		8192	/* bytes */
#define HEADERS_MAX	32	/* the caller's extra header lines */
#define CREDS_MAX	4096	/* bytes of "user:password" */

struct outbound {
	struct event_base	*base;
	CURLM			*multi;
	struct event		*timer;
	unsigned int		 connect_timeout_ms;
	unsigned int		 timeout_ms;
	size_t			 max_response;
	unsigned int		 max_transfers;
	bool			 allow_http_loopback;
	unsigned int		 ntransfers;	/* in flight */
};

/* A header line in the list curl reads (it does not copy it). */
struct header {
	struct curl_slist	 node;		/* first: the list's pointer */
	char			 text[];
};

struct transfer {
	struct outbound		*ob;
	CURL			*easy;
	CURLU			*url;
	struct curl_slist	*headers;	/* of struct header */
	char			*body;		/* the request's, a copy */
	char			*resp;		/* the answer, NUL-terminated */
	size_t			 resp_len;
	size_t			 resp_size;
	bool			 too_large;
	outbound_done_fn	*cb;
	void			*arg;
};

static const char *const error_names[] = {
	[OUTBOUND_OK] = "ok",
	[OUTBOUND_E_TIMEOUT] = "timeout",
	[OUTBOUND_E_DNS] = "dns",
	[OUTBOUND_E_CONNECT] = "connect",
	[OUTBOUND_E_TLS] = "tls",
	[OUTBOUND_E_PROXY] = "proxy",
	[OUTBOUND_E_TOO_LARGE] = "too-large",
	[OUTBOUND_E_PROTOCOL] = "protocol",
	[OUTBOUND_E_INTERNAL] = "internal",
};

const char *
outbound_error_name(enum outbound_error err)
{
	if ((size_t)err >= sizeof(error_names) / sizeof(error_names[0]))
		return "internal";
	return error_names[err];
}

/*
 * Memory: what libcurl frees may have held a secret (a request with a
 * client secret, an answer with a token), so its allocator wipes every
 * block it frees, and so do ours.
 */
static void
wipe_free(void *p)
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p, malloc_usable_size(p));
	free(p);
}

/* Never realloc(3): it would free the old block unwiped. */
static void *
wipe_realloc(void *p, size_t n)
{
	size_t old;
	void *q;

	if (p == NULL)
		return malloc(n);
	if (n <= (old = malloc_usable_size(p)) && n > 0)
		return p;
	if (n == 0) {
		wipe_free(p);
		return NULL;
	}
	if ((q = malloc(n)) == NULL)
		return NULL;
	memcpy(q, p, old);
	wipe_free(p);
	return q;
}

static char *
wipe_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p;

	if ((p = malloc(n)) != NULL)
		memcpy(p, s, n);
	return p;
}

/* The CAs of ca_bundle, shared by every loop's TLS contexts. */
static X509_STORE *ca_store;

int
outbound_global_init(struct av_err *e)
{
	const curl_version_info_data *v;

	if (curl_global_init_mem(CURL_GLOBAL_DEFAULT, malloc, wipe_free,
	    wipe_realloc, wipe_strdup, calloc) != CURLE_OK)
		return av_fail(e, AV_E_INTERNAL, "libcurl: cannot initialise");
	v = curl_version_info(CURLVERSION_NOW);
	/* 7.85: CURLOPT_PROTOCOLS_STR; OpenSSL: on_ssl_ctx. */
	if (v->version_num < 0x075500 || !(v->features & CURL_VERSION_SSL) ||
	    !(v->features & CURL_VERSION_ASYNCHDNS) || v->ssl_version == NULL ||
	    strncmp(v->ssl_version, "OpenSSL/", 8) != 0)
		return av_fail(e, AV_E_INTERNAL, "libcurl %s cannot serve "
		    "outbound HTTP (7.85 or later, with OpenSSL and "
		    "asynchronous DNS)", v->version);
	return 0;
}

int
outbound_load_ca(const char *path, struct av_err *e)
{
	X509_STORE *s;

	if ((s = X509_STORE_new()) == NULL ||
	    X509_STORE_load_file(s, path) != 1) {
		X509_STORE_free(s);
		ERR_clear_error();
		return av_fail(e, AV_E_INTERNAL, "cannot read the CA bundle "
		    "%s", path);
	}
	X509_STORE_free(ca_store);
	ca_store = s;
	return 0;
}

/* CURLOPT_SSL_CTX_FUNCTION, for the server's and a proxy's handshake. */
static CURLcode
on_ssl_ctx(CURL *easy, void *ctx, void *arg)
{
	(void)easy;
	(void)arg;
	if (ca_store == NULL)
		return CURLE_SSL_CACERT_BADFILE;
	SSL_CTX_set1_cert_store(ctx, ca_store);
	return CURLE_OK;
}

/* ---- the loop ------------------------------------------------------ */

static void finish(struct transfer *t, CURLcode rc);

static void
collect(struct outbound *ob)
{
	CURLMsg *m;
	void *t;
	int left;

	while ((m = curl_multi_info_read(ob->multi, &left)) != NULL)
		if (m->msg == CURLMSG_DONE && curl_easy_getinfo(m->easy_handle,
		    CURLINFO_PRIVATE, &t) == CURLE_OK)
			finish(t, m->data.result);
}

static void
on_event(evutil_socket_t fd, short what, void *arg)
{
	struct outbound *ob = arg;
	int running;

	curl_multi_socket_action(ob->multi, fd,
	    ((what & EV_READ) ? CURL_CSELECT_IN : 0) |
	    ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0), &running);
	collect(ob);
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct outbound *ob = arg;
	int running;

	(void)fd;
	(void)what;
	curl_multi_socket_action(ob->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	collect(ob);
}

/*
 * CURLMOPT_SOCKETFUNCTION: watch s as curl asks; its event is the
 * socket's pointer in curl.  A failure here is not reported to curl (that
 * would stop the whole multi handle): the transfer ends at its timeout.
 */
static int
on_socket(CURL *easy, curl_socket_t s, int what, void *arg, void *sockp)
{
	struct outbound *ob = arg;
	struct event *ev = sockp;
	short kind;

	(void)easy;
	if (ev != NULL)
		event_del(ev);
	if (what == CURL_POLL_REMOVE) {
		if (ev != NULL)
			event_free(ev);
		return 0;
	}
	kind = EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
	    ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
	if (ev == NULL) {
		if ((ev = event_new(ob->base, s, kind, on_event, ob)) == NULL)
			return 0;
		curl_multi_assign(ob->multi, s, ev);
	} else
		event_assign(ev, ob->base, s, kind, on_event, ob);
	event_add(ev, NULL);
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: never act from here, only schedule. */
static int
on_timer(CURLM *multi, long ms, void *arg)
{
	struct outbound *ob = arg;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	(void)multi;
	if (ms < 0)
		evtimer_del(ob->timer);
	else
		evtimer_add(ob->timer, &tv);
	return 0;
}

struct outbound *
outbound_new(struct event_base *base, const struct outbound_opts *opts)
{
	struct outbound *ob;

	if ((ob = calloc(1, sizeof(*ob))) == NULL)
		return NULL;
	ob->base = base;
	ob->connect_timeout_ms = opts->connect_timeout_ms;
	ob->timeout_ms = opts->timeout_ms;
	ob->max_response = opts->max_response;
	ob->max_transfers = opts->max_transfers;
	ob->allow_http_loopback = opts->allow_http_loopback;
	if ((ob->timer = evtimer_new(base, on_timeout, ob)) == NULL ||
	    (ob->multi = curl_multi_init()) == NULL) {
		if (ob->timer != NULL)
			event_free(ob->timer);
		free(ob);
		return NULL;
	}
	curl_multi_setopt(ob->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(ob->multi, CURLMOPT_SOCKETDATA, ob);
	curl_multi_setopt(ob->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(ob->multi, CURLMOPT_TIMERDATA, ob);
	/* Idle connections kept for reuse: no more than transfers. */
	curl_multi_setopt(ob->multi, CURLMOPT_MAXCONNECTS,
	    (long)opts->max_transfers);
	return ob;
}

/* ---- one transfer -------------------------------------------------- */

static void
transfer_free(struct transfer *t)
{
	struct curl_slist *n, *next;

	if (t->easy != NULL)
		curl_easy_cleanup(t->easy);
	curl_url_cleanup(t->url);
	for (n = t->headers; n != NULL; n = next) {
		next = n->next;
		wipe_free(n);
	}
	wipe_free(t->body);
	wipe_free(t->resp);
	free(t);
}

static enum outbound_error
classify(CURLcode rc, bool too_large, long connect_code)
{
	if (rc == CURLE_OK)
		return OUTBOUND_OK;
	if (too_large || rc == CURLE_FILESIZE_EXCEEDED)
		return OUTBOUND_E_TOO_LARGE;
	if (connect_code >= 300)	/* the proxy refused CONNECT */
		return OUTBOUND_E_PROXY;
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		return OUTBOUND_E_TIMEOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
		return OUTBOUND_E_DNS;
	case CURLE_COULDNT_CONNECT:
		return OUTBOUND_E_CONNECT;
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_PROXY:
		return OUTBOUND_E_PROXY;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_USE_SSL_FAILED:
		return OUTBOUND_E_TLS;
	case CURLE_OUT_OF_MEMORY:
	case CURLE_WRITE_ERROR:		/* ours: out of memory */
	case CURLE_FAILED_INIT:
	case CURLE_BAD_FUNCTION_ARGUMENT:
	case CURLE_UNKNOWN_OPTION:
	case CURLE_NOT_BUILT_IN:
		return OUTBOUND_E_INTERNAL;
	default:
		return OUTBOUND_E_PROTOCOL;
	}
}

static void
finish(struct transfer *t, CURLcode rc)
{
	struct outbound *ob = t->ob;
	struct outbound_resp r;
	char msg[160];
	long connect_code = 0;
	char *ctype = NULL;

	memset(&r, 0, sizeof(r));
	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &r.status);
	curl_easy_getinfo(t->easy, CURLINFO_CONTENT_TYPE, &ctype);
	curl_easy_getinfo(t->easy, CURLINFO_HTTP_CONNECTCODE, &connect_code);
	r.error = classify(rc, t->too_large, connect_code);
	r.content_type = ctype;
	r.body = "";
	if (r.error == OUTBOUND_OK) {
		r.message = "";
		if (t->resp != NULL) {
			r.body = t->resp;
			r.body_len = t->resp_len;
		}
	} else {
		if (r.error == OUTBOUND_E_TOO_LARGE)
			(void)snprintf(msg, sizeof(msg), "too-large: the "
			    "answer is over %zu bytes "
			    "(outbound.max_response_bytes)", ob->max_response);
		else if (connect_code >= 300)
			(void)snprintf(msg, sizeof(msg), "proxy: the proxy "
			    "answered CONNECT with %ld", connect_code);
		else
			(void)snprintf(msg, sizeof(msg), "%s: %s",
			    outbound_error_name(r.error),
			    curl_easy_strerror(rc));
		r.message = msg;
	}
	curl_multi_remove_handle(ob->multi, t->easy);
	ob->ntransfers--;
	t->cb(&r, t->arg);
	transfer_free(t);
}

/* CURLOPT_WRITEFUNCTION: keep at most max_response bytes; a short count
 * makes curl abort the transfer. */
static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	struct transfer *t = arg;
	size_t len = size * n, max = t->ob->max_response, want;
	char *q;

	if (len > max - t->resp_len) {
		t->too_large = true;
		return 0;
	}
	if (t->resp_len + len + 1 > t->resp_size) {
		want = t->resp_size < 2048 ? 4096 : 2 * t->resp_size;
		if (want < t->resp_len + len + 1)
			want = t->resp_len + len + 1;
		if (want > max + 1)
			want = max + 1;
		if ((q = malloc(want)) == NULL)
			return 0;
		if (t->resp_len > 0)
			memcpy(q, t->resp, t->resp_len);
		wipe_free(t->resp);
		t->resp = q;
		t->resp_size = want;
	}
	memcpy(t->resp + t->resp_len, p, len);
	t->resp_len += len;
	t->resp[t->resp_len] = '\0';
	return len;
}

/* Append the line a + b to the transfer's headers. */
static int
add_header(struct transfer *t, const char *a, const char *b, struct av_err *e)
{
	size_t la = strlen(a), lb = strlen(b);
	struct curl_slist **p;
	struct header *h;

	if (strpbrk(a, "\r\n") != NULL || strpbrk(b, "\r\n") != NULL)
		return av_fail(e, AV_E_VALIDATION, "a header line must not "
		    "contain CR or LF");
	if ((h = malloc(sizeof(*h) + la + lb + 1)) == NULL)
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	memcpy(h->text, a, la);
	memcpy(h->text + la, b, lb + 1);
	h->node.data = h->text;
	h->node.next = NULL;
	for (p = &t->headers; *p != NULL; p = &(*p)->next)
		;
	*p = &h->node;
	return 0;
}

/* Authorization: Basic, built here so that every copy is wiped. */
static int
add_basic_auth(struct transfer *t, const char *user, const char *password,
    struct av_err *e)
{
	size_t lu = strlen(user), lp = password != NULL ? strlen(password) : 0;
	size_t n = lu + 1 + lp;
	unsigned char *plain;
	char *b64;
	int rc;

	if (strchr(user, ':') != NULL)
		return av_fail(e, AV_E_VALIDATION, "a basic-auth user name "
		    "must not contain ':'");
	if (n > CREDS_MAX)
		return av_fail(e, AV_E_VALIDATION, "basic-auth credentials "
		    "over %d bytes", CREDS_MAX);
	plain = malloc(n);
	b64 = malloc(4 * ((n + 2) / 3) + 1);
	if (plain == NULL || b64 == NULL)
		rc = av_fail(e, AV_E_INTERNAL, "out of memory");
	else {
		memcpy(plain, user, lu);
		plain[lu] = ':';
		if (lp > 0)
			memcpy(plain + lu + 1, password, lp);
		EVP_EncodeBlock((unsigned char *)b64, plain, (int)n);
		rc = add_header(t, "Authorization: Basic ", b64, e);
	}
	wipe_free(plain);
	wipe_free(b64);
	return rc;
}

static bool
is_loopback(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;
	char buf[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(host);

	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (n < 2 || n >= sizeof(buf) || host[0] != '[' || host[n - 1] != ']')
		return false;
	memcpy(buf, host + 1, n - 2);
	buf[n - 2] = '\0';
	return inet_pton(AF_INET6, buf, &a6) == 1 &&
	    memcmp(&a6, &in6addr_loopback, sizeof(a6)) == 0;
}

/*
 * Parse the URL once, with curl's parser, check it and hand curl the
 * parsed handle (CURLOPT_CURLU): what is checked is what is fetched.
 */
static int
check_url(struct transfer *t, const char *text, struct av_err *e)
{
	char *scheme = NULL, *host = NULL, *user = NULL;
	bool ok;
	int rc = -1;

	if (text == NULL || strnlen(text, URL_MAX + 1) > URL_MAX)
		return av_fail(e, AV_E_VALIDATION, "a URL of at most %d bytes "
		    "is needed", URL_MAX);
	if ((t->url = curl_url()) == NULL)
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	if (curl_url_set(t->url, CURLUPART_URL, text, 0) != CURLUE_OK ||
	    curl_url_get(t->url, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(t->url, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		av_fail(e, AV_E_VALIDATION, "malformed URL");
		goto out;
	}
	if (curl_url_get(t->url, CURLUPART_USER, &user, 0) != CURLUE_NO_USER) {
		av_fail(e, AV_E_VALIDATION, "credentials in a URL are "
		    "refused");
		goto out;
	}
	ok = strcmp(scheme, "https") == 0 || (t->ob->allow_http_loopback &&
	    strcmp(scheme, "http") == 0 && is_loopback(host));
	if (!ok) {
		av_fail(e, AV_E_VALIDATION, "only https:// URLs are fetched%s",
		    t->ob->allow_http_loopback ? " (and http:// to a loopback "
		    "address)" : "");
		goto out;
	}
	rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	return rc;
}

static int
set_options(struct transfer *t, const struct outbound_req *req,
    struct av_err *e)
{
	const struct outbound *ob = t->ob;
	CURL *c = t->easy;
	bool bad;

	bad = curl_easy_setopt(c, CURLOPT_CURLU, t->url) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR,
	    ob->allow_http_loopback ? "http,https" : "https") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    /* HTTP/1.1: libcurl's buffers only, all wiped (nghttp2 has
	     * its own); a token endpoint gains little from HTTP/2. */
	    curl_easy_setopt(c, CURLOPT_HTTP_VERSION,
	    (long)CURL_HTTP_VERSION_1_1) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)ob->connect_timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
	    (long)ob->timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)ob->max_response) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSLVERSION,
	    (long)CURL_SSLVERSION_TLSv1_2) != CURLE_OK ||
	    /* ca_bundle's CAs alone (on_ssl_ctx), never the build's file
	     * or directory, read in the sandbox. */
	    curl_easy_setopt(c, CURLOPT_CAINFO, NULL) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CAPATH, NULL) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROXY_CAINFO, NULL) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROXY_CAPATH, NULL) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CA_CACHE_TIMEOUT, 0L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION,
	    on_ssl_ctx) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_USERAGENT,
	    "agentvault/" AV_VERSION) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HTTPHEADER, t->headers) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, t) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PRIVATE, t) != CURLE_OK;
	if (!bad && req->method == OUTBOUND_POST)
		bad = curl_easy_setopt(c, CURLOPT_POST, 1L) != CURLE_OK ||
		    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)req->body_len) != CURLE_OK ||
		    curl_easy_setopt(c, CURLOPT_POSTFIELDS,
		    t->body) != CURLE_OK;
	if (bad)
		return av_fail(e, AV_E_INTERNAL, "libcurl refused an option");
	return 0;
}

static int
prepare(struct transfer *t, const struct outbound_req *req, struct av_err *e)
{
	size_t i;

	if (check_url(t, req->url, e) != 0)
		return -1;
	for (i = 0; req->headers != NULL && req->headers[i] != NULL; i++) {
		if (i == HEADERS_MAX)
			return av_fail(e, AV_E_VALIDATION, "more than %d "
			    "header lines", HEADERS_MAX);
		if (add_header(t, req->headers[i], "", e) != 0)
			return -1;
	}
	if (req->user != NULL &&
	    add_basic_auth(t, req->user, req->password, e) != 0)
		return -1;
	if (req->method == OUTBOUND_POST) {
		if ((req->content_type != NULL && add_header(t,
		    "Content-Type: ", req->content_type, e) != 0) ||
		    /* No "Expect: 100-continue" round trip. */
		    add_header(t, "Expect:", "", e) != 0)
			return -1;
		if ((t->body = malloc(req->body_len + 1)) == NULL)
			return av_fail(e, AV_E_INTERNAL, "out of memory");
		if (req->body_len > 0)
			memcpy(t->body, req->body, req->body_len);
		t->body[req->body_len] = '\0';
	} else if (req->body_len > 0)
		return av_fail(e, AV_E_VALIDATION, "a GET request has no body");
	if ((t->easy = curl_easy_init()) == NULL)
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	return set_options(t, req, e);
}

int
outbound_request(struct outbound *ob, const struct outbound_req *req,
    outbound_done_fn *cb, void *arg, struct av_err *e)
{
	struct transfer *t;

	if (ob->ntransfers >= ob->max_transfers)
		return av_fail(e, AV_E_THROTTLING, "too many outbound requests "
		    "in flight (outbound.max_transfers: %u)",
		    ob->max_transfers);
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	t->ob = ob;
	t->cb = cb;
	t->arg = arg;
	if (prepare(t, req, e) != 0) {
		transfer_free(t);
		return -1;
	}
	/* Only schedules (on_timer): the transfer starts from the loop. */
	if (curl_multi_add_handle(ob->multi, t->easy) != CURLM_OK) {
		transfer_free(t);
		return av_fail(e, AV_E_INTERNAL, "cannot start the request");
	}
	ob->ntransfers++;
	return 0;
}
