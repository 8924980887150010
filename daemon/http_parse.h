/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http_parse.h - a strict, bounded parser for HTTP/1.1 request heads.
 *
 * Why our own and not evhttp: libevent 2.1's HTTP server (the version
 * Debian 12 ships) gives no hook between accept() and its connection
 * object, so it can neither cap connections nor see the socket's peer
 * credentials before the first byte, and its timeouts are per read, so a
 * client trickling one byte per interval is never cut off.  The appliance
 * needs all three.  We keep libevent for the event loop, the listeners and
 * TLS (bufferevent_openssl) and parse only what the API uses: a request
 * line, header fields, Content-Length bodies.  Everything else is refused
 * with a precise status; tests/fuzz/fuzz_http.c fuzzes this file.
 */
#ifndef AV_HTTP_PARSE_H
#define AV_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_METHOD_MAX		16
#define HTTP_TARGET_MAX		2048
#define HTTP_HEADERS_MAX	64

enum http_parse_rc {
	HTTP_PARSE_INCOMPLETE = 0,	/* need more bytes */
	HTTP_PARSE_OK = 1,		/* head complete: r->head_len bytes */
	HTTP_PARSE_ERROR = -1,		/* see r->status and *why */
};

struct http_request_head {
	char	method[HTTP_METHOD_MAX + 1];
	char	target[HTTP_TARGET_MAX + 1];
	int	minor;			/* HTTP/1.<minor>: 0 or 1 */
	size_t	head_len;		/* bytes up to and with the blank line */
	size_t	content_length;
	bool	keep_alive;
	bool	json;			/* Content-Type is application/json
					   (or AWS's application/x-amz-json-1.1) */
	bool	form;			/* application/x-www-form-urlencoded */
	bool	has_content_type;
	int	status;			/* on error: 400, 413, 431, 501, 505 */
};

/*
 * Parse the head at the start of buf[0..len).  max_head bounds the head,
 * max_body the announced body.  Returns HTTP_PARSE_INCOMPLETE while the
 * blank line has not arrived and the head is within max_head.
 */
int http_parse_head(const char *buf, size_t len, size_t max_head,
    size_t max_body, struct http_request_head *r, const char **why);

/*
 * Percent-decode s[0..n) into out (len bytes, NUL included).  Strict:
 * every '%' takes two hex digits and %00 is refused; unencoded characters
 * must be RFC 3986 pchars, plus '/' and '?' in a query (so a '/' in a
 * path segment must come as %2F).  In a query '+' is a space, as form
 * encoders (curl --data-urlencode) send it and AWS's servers read it; a
 * plus sign is %2B.  Returns 0, or -1 for bad input or a short out.
 */
int http_url_decode(const char *s, size_t n, bool query, char *out,
    size_t len);

/* A request target's query, decoded (a browser's GET: the OAuth callback). */
#define HTTP_QUERY_MAX		16	/* parameters */
#define HTTP_QUERY_VALUE_MAX	1024	/* decoded bytes of a name or value */

struct http_query {
	size_t	 n;
	struct {
		const char	*name;
		const char	*value;
	}	 p[HTTP_QUERY_MAX];
	/* The decoded names and values, NUL-terminated (never longer than
	 * the target, plus one NUL per parameter without '='). */
	char	 buf[HTTP_TARGET_MAX + HTTP_QUERY_MAX + 1];
};

/*
 * Parse the query of target (what follows its first '?'; none: no
 * parameters) into q: "name=value" pairs joined by '&', each part
 * decoded by http_url_decode (query rules).  Refused with *why: an empty
 * name or pair ("a=1&&b"), more than HTTP_QUERY_MAX pairs, a name or
 * value longer than HTTP_QUERY_VALUE_MAX decoded, a name given twice
 * (which of two states would be the one checked?), bad encoding, a NUL,
 * or a target longer than HTTP_TARGET_MAX.  0 or -1.
 */
int http_query_parse(const char *target, struct http_query *q,
    const char **why);
/* The value of name in q, or NULL. */
const char *http_query_get(const struct http_query *q, const char *name);

/* An application/x-www-form-urlencoded body (the token service's, RFC
 * 6749 section 3.2), decoded. */
#define HTTP_FORM_MAX		16	/* parameters */
#define HTTP_FORM_BODY_MAX	16384	/* bytes of the body */

struct http_form {
	size_t	 n;
	struct {
		const char	*name;
		const char	*value;
	}	 p[HTTP_FORM_MAX];
	char	*buf;		/* the decoded names and values (malloc) */
	size_t	 size;
};

/*
 * Parse body[0..len) into f: "name=value" pairs joined by '&', each part
 * decoded by http_url_decode (query rules: '+' is a space).  Refused with
 * *why: a body over HTTP_FORM_BODY_MAX, more than HTTP_FORM_MAX pairs, an
 * empty pair or name, a pair without '=', a trailing '&', bad encoding or
 * %00, a name given twice (RFC 6749: never more than once).  Out of
 * memory: -1 with *why NULL.  0 or -1; http_form_free(f) either way.
 */
int http_form_parse(const char *body, size_t len, struct http_form *f,
    const char **why);
/* The value of name in f, or NULL. */
const char *http_form_get(const struct http_form *f, const char *name);
/* Wipe (it may hold tokens) and free. */
void http_form_free(struct http_form *f);

#endif /* AV_HTTP_PARSE_H */
