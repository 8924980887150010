/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http_parse.c - see http_parse.h.  RFC 9112 grammar, strictly: CRLF line
 * ends only, no obs-fold, no whitespace before a colon, one Content-Length
 * of digits, no Transfer-Encoding (so no request smuggling between the two).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_parse.h"

static int
fail(struct http_request_head *r, int status, const char **why,
    const char *text)
{
	r->status = status;
	if (why != NULL)
		*why = text;
	return HTTP_PARSE_ERROR;
}

/* RFC 9110 tchar. */
static bool
is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' && strchr("!#$%&'*+-.^_`|~",
	    c) != NULL);
}

static bool
is_field_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* Case-insensitive comparison of a counted name with a C string. */
static bool
name_is(const char *name, size_t len, const char *want)
{
	return strlen(want) == len && strncasecmp(name, want, len) == 0;
}

/* Does the comma-separated token list contain tok? */
static bool
list_has(const char *v, size_t len, const char *tok)
{
	size_t i = 0, start, tl = strlen(tok);

	while (i < len) {
		while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		start = i;
		while (i < len && v[i] != ',' && v[i] != ' ' && v[i] != '\t')
			i++;
		if (i - start == tl && strncasecmp(v + start, tok, tl) == 0)
			return true;
	}
	return false;
}

static int
parse_request_line(const char *p, size_t len, struct http_request_head *r,
    const char **why)
{
	size_t i = 0, start;

	while (i < len && i <= HTTP_METHOD_MAX && p[i] >= 'A' && p[i] <= 'Z')
		i++;
	if (i == 0 || i > HTTP_METHOD_MAX || i >= len || p[i] != ' ')
		return fail(r, 400, why, "malformed request line");
	memcpy(r->method, p, i);
	r->method[i] = '\0';
	start = ++i;
	while (i < len && p[i] > 0x20 && p[i] < 0x7f)
		i++;
	if (i == start || i - start > HTTP_TARGET_MAX)
		return fail(r, i == start ? 400 : 414, why,
		    "bad request target");
	if (i >= len || p[i] != ' ' || p[start] != '/')
		return fail(r, 400, why, "bad request target");
	memcpy(r->target, p + start, i - start);
	r->target[i - start] = '\0';
	i++;
	if (len - i != 8 || strncmp(p + i, "HTTP/", 5) != 0 ||
	    p[i + 6] != '.')
		return fail(r, 400, why, "malformed HTTP version");
	if (p[i + 5] != '1' || (p[i + 7] != '0' && p[i + 7] != '1'))
		return fail(r, 505, why, "only HTTP/1.0 and HTTP/1.1");
	r->minor = p[i + 7] - '0';
	r->keep_alive = r->minor == 1;
	return 0;
}

static int
parse_field(const char *p, size_t len, struct http_request_head *r,
    bool *seen_cl, bool *seen_host, const char **why)
{
	size_t n = 0, v, vend;
	size_t cl = 0, i;

	while (n < len && is_tchar((unsigned char)p[n]))
		n++;
	if (n == 0 || n >= len || p[n] != ':')
		return fail(r, 400, why, "malformed header field");
	for (v = n + 1; v < len && (p[v] == ' ' || p[v] == '\t'); v++)
		;
	for (vend = len; vend > v && (p[vend - 1] == ' ' ||
	    p[vend - 1] == '\t'); vend--)
		;
	for (i = v; i < vend; i++)
		if (!is_field_char((unsigned char)p[i]))
			return fail(r, 400, why, "bad character in a header");
	if (name_is(p, n, "Content-Length")) {
		if (*seen_cl)
			return fail(r, 400, why, "repeated Content-Length");
		if (vend == v || vend - v > 10)
			return fail(r, 400, why, "bad Content-Length");
		for (i = v; i < vend; i++) {
			if (p[i] < '0' || p[i] > '9')
				return fail(r, 400, why, "bad Content-Length");
			cl = cl * 10 + (size_t)(p[i] - '0');
		}
		*seen_cl = true;
		r->content_length = cl;
	} else if (name_is(p, n, "Transfer-Encoding")) {
		return fail(r, 501, why, "Transfer-Encoding is not supported: "
		    "send Content-Length");
	} else if (name_is(p, n, "Connection")) {
		if (list_has(p + v, vend - v, "close"))
			r->keep_alive = false;
		else if (list_has(p + v, vend - v, "keep-alive"))
			r->keep_alive = true;
	} else if (name_is(p, n, "Content-Type")) {
		r->has_content_type = true;
		r->json = (vend - v >= 16 &&
		    strncasecmp(p + v, "application/json", 16) == 0) ||
		    (vend - v >= 23 &&
		    strncasecmp(p + v, "application/x-amz-json-", 23) == 0);
		r->form = vend - v >= 33 && strncasecmp(p + v,
		    "application/x-www-form-urlencoded", 33) == 0 &&
		    (vend - v == 33 || p[v + 33] == ';' || p[v + 33] == ' ');
	} else if (name_is(p, n, "Host")) {
		if (*seen_host)
			return fail(r, 400, why, "repeated Host");
		*seen_host = true;
	}
	return 0;
}

int
http_parse_head(const char *buf, size_t len, size_t max_head,
    size_t max_body, struct http_request_head *r, const char **why)
{
	size_t scan = len < max_head ? len : max_head;
	size_t line = 0, i, nfields = 0;
	bool seen_cl = false, seen_host = false, first = true;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < scan; i++) {
		if (buf[i] == '\0')
			return fail(r, 400, why, "NUL in request head");
		if (buf[i] != '\n')
			continue;
		if (i == 0 || buf[i - 1] != '\r')
			return fail(r, 400, why, "lines must end in CRLF");
		if (i - 1 == line) {		/* the blank line */
			if (first)
				return fail(r, 400, why, "empty request");
			if (r->minor == 1 && !seen_host)
				return fail(r, 400, why, "missing Host");
			if (r->content_length > max_body)
				return fail(r, 413, why, "request body too "
				    "large");
			r->head_len = i + 1;
			return HTTP_PARSE_OK;
		}
		if (first) {
			if (parse_request_line(buf, i - 1, r, why) != 0)
				return HTTP_PARSE_ERROR;
			first = false;
		} else {
			if (buf[line] == ' ' || buf[line] == '\t')
				return fail(r, 400, why, "folded header line");
			if (++nfields > HTTP_HEADERS_MAX)
				return fail(r, 431, why, "too many headers");
			if (parse_field(buf + line, i - 1 - line, r, &seen_cl,
			    &seen_host, why) != 0)
				return HTTP_PARSE_ERROR;
		}
		line = i + 1;
	}
	if (len >= max_head)
		return fail(r, 431, why, "request head too large");
	return HTTP_PARSE_INCOMPLETE;
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
http_url_decode(const char *s, size_t n, bool query, char *out, size_t len)
{
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (o + 1 >= len)
			return -1;
		if (c == '%') {
			if (n - i < 3 || (hi = hexval((unsigned char)s[i + 1])) <
			    0 || (lo = hexval((unsigned char)s[i + 2])) < 0 ||
			    (hi == 0 && lo == 0))
				return -1;
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (query && c == '+') {
			out[o++] = ' ';
		} else if (isalnum(c) || (c != '\0' &&
		    strchr("-._~!$&'()*+,;=:@", c) != NULL) ||
		    (query && (c == '/' || c == '?'))) {
			out[o++] = (char)c;
		} else {
			return -1;
		}
	}
	out[o] = '\0';
	return 0;
}

/* One part of a pair, decoded into q->buf at *o. */
static int
query_part(const char *s, size_t n, struct http_query *q, size_t *o,
    const char **out, const char **why)
{
	size_t room = sizeof(q->buf) - *o;

	if (room > HTTP_QUERY_VALUE_MAX + 1)
		room = HTTP_QUERY_VALUE_MAX + 1;
	if (room == 0 || http_url_decode(s, n, true, q->buf + *o, room) != 0) {
		*why = n >= HTTP_QUERY_VALUE_MAX ? "query parameter too long" :
		    "bad encoding in the query";
		return -1;
	}
	*out = q->buf + *o;
	*o += strlen(*out) + 1;
	return 0;
}

int
http_query_parse(const char *target, struct http_query *q, const char **why)
{
	const char *s = strchr(target, '?'), *amp, *eq, *end;
	size_t i, o = 0, n;

	memset(q, 0, sizeof(*q));
	if (strlen(target) > HTTP_TARGET_MAX) {
		*why = "request target too long";
		return -1;
	}
	if (s == NULL || *++s == '\0')
		return 0;
	for (; s != NULL; s = amp != NULL ? amp + 1 : NULL) {
		amp = strchr(s, '&');
		end = amp != NULL ? amp : s + strlen(s);
		if (end == s || *s == '=') {
			*why = "empty parameter in the query";
			return -1;
		}
		if (q->n == HTTP_QUERY_MAX) {
			*why = "too many query parameters";
			return -1;
		}
		eq = memchr(s, '=', (size_t)(end - s));
		n = (size_t)((eq != NULL ? eq : end) - s);
		if (query_part(s, n, q, &o, &q->p[q->n].name, why) != 0 ||
		    (eq != NULL ? query_part(eq + 1, (size_t)(end - eq - 1), q,
		    &o, &q->p[q->n].value, why) : query_part("", 0, q, &o,
		    &q->p[q->n].value, why)) != 0)
			return -1;
		for (i = 0; i < q->n; i++)
			if (strcmp(q->p[i].name, q->p[q->n].name) == 0) {
				*why = "a query parameter given twice";
				return -1;
			}
		q->n++;
	}
	return 0;
}

int
http_form_parse(const char *body, size_t len, struct http_form *f,
    const char **why)
{
	const char *p = body, *end = body + len, *amp, *eq;
	size_t i, o = 0;

	memset(f, 0, sizeof(*f));
	*why = "the form is larger than 16384 bytes";
	if (len > HTTP_FORM_BODY_MAX)
		return -1;
	/* Decoding never lengthens: the body and a NUL per part. */
	f->size = len + 2 * HTTP_FORM_MAX;
	if ((f->buf = calloc(1, f->size)) == NULL) {
		*why = NULL;
		return -1;
	}
	while (p < end) {
		if ((amp = memchr(p, '&', (size_t)(end - p))) == NULL)
			amp = end;
		*why = "the form has a parameter without a name or a value";
		if ((eq = memchr(p, '=', (size_t)(amp - p))) == NULL || eq == p)
			return -1;
		*why = "the form has more than 16 parameters";
		if (f->n == HTTP_FORM_MAX)
			return -1;
		*why = "the form is not correctly percent-encoded";
		f->p[f->n].name = f->buf + o;
		if (http_url_decode(p, (size_t)(eq - p), true, f->buf + o,
		    f->size - o) != 0)
			return -1;
		o += strlen(f->buf + o) + 1;
		f->p[f->n].value = f->buf + o;
		if (http_url_decode(eq + 1, (size_t)(amp - eq - 1), true,
		    f->buf + o, f->size - o) != 0)
			return -1;
		o += strlen(f->buf + o) + 1;
		*why = "the form gives a parameter twice";
		for (i = 0; i < f->n; i++)
			if (strcmp(f->p[i].name, f->p[f->n].name) == 0)
				return -1;
		f->n++;
		*why = "the form ends with '&'";
		if (amp + 1 == end)
			return -1;
		p = amp + (amp < end);
	}
	*why = NULL;
	return 0;
}

const char *
http_form_get(const struct http_form *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->p[i].name, name) == 0)
			return f->p[i].value;
	return NULL;
}

void
http_form_free(struct http_form *f)
{
	if (f->buf != NULL)
		explicit_bzero(f->buf, f->size);
	free(f->buf);
	f->buf = NULL;
}

const char *
http_query_get(const struct http_query *q, const char *name)
{
	size_t i;

	for (i = 0; i < q->n; i++)
		if (strcmp(q->p[i].name, name) == 0)
			return q->p[i].value;
	return NULL;
}
