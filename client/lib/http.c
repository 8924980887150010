/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http.c - HTTP/1.1 over the handle's connection: one request, one reply
 * with Content-Length (the daemon never sends chunked replies, so they are
 * refused), a bounded head and body; the reconnect rule of agentvault.h.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

/* Make room for need bytes plus a NUL, without leaving a copy behind. */
static int
reserve(av_handle *h, size_t used, size_t need, struct av_error *err)
{
	char *n;

	if (need + 1 <= h->cap)
		return 0;
	if ((n = calloc(1, need + 1)) == NULL)
		return avc_fail(err, AV_CLIENT_ERROR, "out of memory");
	if (used > 0)
		memcpy(n, h->buf, used);
	avc_wipe_free(h->buf, h->cap);
	h->buf = n;
	h->cap = need + 1;
	return 0;
}

static bool
header_is(const char *line, size_t len, const char *name, const char **val)
{
	size_t n = strlen(name);

	if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
		return false;
	for (*val = line + n + 1; **val == ' ' || **val == '\t'; (*val)++)
		;
	return true;
}

/* Only [A-Za-z0-9-]: the id ends up on terminals. */
static void
request_id(av_handle *h, const char *v, const char *end)
{
	size_t n;
	char c;

	for (n = 0; v + n < end && n + 1 < sizeof(h->request_id); n++) {
		c = v[n];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-'))
			break;
		h->request_id[n] = c;
	}
	h->request_id[n] = '\0';
}

/* The status line and the headers we need; the head ends in h->buf[hlen]. */
int
avc_parse_head(av_handle *h, size_t hlen, struct avc_reply *r, size_t *clen,
    bool *close_after, struct av_error *err)
{
	const char *p = h->buf, *end = h->buf + hlen - 2, *eol, *v;
	bool have_len = false;
	size_t n;

	for (n = 0; n < hlen; n++)
		if (p[n] == '\0' || (p[n] == '\n' && (n == 0 ||
		    p[n - 1] != '\r')) || (p[n] == '\r' && p[n + 1] != '\n'))
			return avc_fail(err, AV_PROTOCOL_ERROR, "malformed "
			    "reply head");
	if (strncmp(p, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)p[7]) ||
	    p[8] != ' ' || p[9] < '1' || p[9] > '5' ||
	    !isdigit((unsigned char)p[10]) || !isdigit((unsigned char)p[11]) ||
	    (p[12] != ' ' && p[12] != '\r'))
		return avc_fail(err, AV_PROTOCOL_ERROR, "not an HTTP reply");
	/* Three digits, checked above. */
	r->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	*close_after = p[7] == '0';
	h->request_id[0] = '\0';
	for (p = strstr(p, "\r\n") + 2; p < end; p = eol + 2) {
		eol = strstr(p, "\r\n");
		n = (size_t)(eol - p);
		if (memchr(p, ':', n) == NULL || *p == ':' || *p == ' ')
			return avc_fail(err, AV_PROTOCOL_ERROR, "malformed "
			    "header in the reply");
		if (header_is(p, n, "Content-Length", &v)) {
			if (have_len || eol - v == 0 || eol - v > 9 ||
			    strspn(v, "0123456789") != (size_t)(eol - v))
				return avc_fail(err, AV_PROTOCOL_ERROR,
				    "bad Content-Length in the reply");
			*clen = strtoul(v, NULL, 10);
			have_len = true;
		} else if (header_is(p, n, "Transfer-Encoding", &v))
			return avc_fail(err, AV_PROTOCOL_ERROR, "the reply "
			    "uses Transfer-Encoding: refused");
		else if (header_is(p, n, "Connection", &v))
			*close_after = strncasecmp(v, "close", 5) == 0;
		else if (header_is(p, n, "x-amzn-RequestId", &v))
			request_id(h, v, eol);
	}
	if (!have_len)
		return avc_fail(err, AV_PROTOCOL_ERROR, "the reply has no "
		    "Content-Length");
	return 0;
}

static int
read_reply(av_handle *h, int64_t deadline, struct avc_reply *r,
    bool *close_after, struct av_error *err)
{
	size_t got = 0, hlen = 0, clen = 0, total = 0;
	char *end;
	int n;

	if (reserve(h, 0, AVC_HEAD_MAX, err) != 0)
		return -1;
	r->total = 0;
	for (;;) {
		if ((n = avc_read(h, h->buf + got, (hlen == 0 ? AVC_HEAD_MAX :
		    total) - got, deadline, err)) < 0) {
			r->total = got;
			return -1;
		}
		got += (size_t)n;
		h->buf[got] = '\0';
		r->total = got;
		if (hlen == 0) {
			end = memmem(h->buf, got, "\r\n\r\n", 4);
			if (end == NULL) {
				if (got == AVC_HEAD_MAX)
					return avc_fail(err, AV_PROTOCOL_ERROR,
					    "reply head over %d bytes",
					    AVC_HEAD_MAX);
				continue;
			}
			hlen = (size_t)(end - h->buf) + 4;
			if (avc_parse_head(h, hlen, r, &clen, close_after,
			    err) != 0)
				return -1;
			if (clen > h->max_response)
				return avc_fail(err, AV_PROTOCOL_ERROR, "reply "
				    "of %zu bytes, over the limit of %zu", clen,
				    h->max_response);
			total = hlen + clen;
			if (reserve(h, got, total, err) != 0)
				return -1;
		}
		if (got > total)
			return avc_fail(err, AV_PROTOCOL_ERROR, "more bytes "
			    "than the reply's Content-Length");
		if (got == total)
			break;
	}
	r->body = h->buf + hlen;
	r->len = clen;
	return 0;
}

void
avc_reply_wipe(av_handle *h, struct avc_reply *r)
{
	if (h->buf != NULL)
		avc_wipe(h->buf, r->total < h->cap ? r->total : h->cap);
	r->total = 0;
	r->body = NULL;
	r->len = 0;
}

/* One attempt on the current connection; the request is in req. */
static int
exchange_once(av_handle *h, const char *req, size_t len, int64_t deadline,
    struct avc_reply *r, struct av_error *err)
{
	bool close_after = false;

	h->sent = h->received = 0;
	h->lost = false;
	h->idle = false;
	if (avc_write(h, req, len, deadline, err) != 0 ||
	    read_reply(h, deadline, r, &close_after, err) != 0)
		return -1;
	h->idle = true;
	if (close_after)
		avc_disconnect(h);
	return 0;
}

/* A write that failed after some of it left: say so. */
static void
maybe_applied(struct av_error *err)
{
	size_t n;

	if (err == NULL)
		return;
	n = strlen(err->message);
	snprintf(err->message + n, sizeof(err->message) - n, " (after the "
	    "request was sent: it may or may not have been applied; not "
	    "repeated)");
}

int
avc_call(av_handle *h, const char *method, const char *target,
    const char *body, size_t len, bool retry_safe, struct avc_reply *r,
    struct av_error *err)
{
	return avc_call_typed(h, method, target, "application/json", body,
	    len, retry_safe, r, err);
}

/* One deadline for the whole call: connecting, a retry, the reply. */
int
avc_call_typed(av_handle *h, const char *method, const char *target,
    const char *type, const char *body, size_t len, bool retry_safe,
    struct avc_reply *r, struct av_error *err)
{
	char head[AVC_TARGET_MAX + 512], *req;
	int64_t deadline = avc_now_ms() + h->timeout_ms;
	size_t hlen, rlen;
	bool reused;
	int n, attempt, rc = -1;

	memset(r, 0, sizeof(*r));
	n = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: %s\r\n"
	    "%s%s%sContent-Length: %zu\r\nUser-Agent: libagentvault/"
	    AV_VERSION "\r\n\r\n", method, target, h->server_name,
	    len > 0 ? "Content-Type: " : "", len > 0 ? type : "",
	    len > 0 ? "\r\n" : "", len);
	if (n < 0 || (size_t)n >= sizeof(head))
		return avc_fail(err, AV_ARGUMENT_ERROR, "request target too "
		    "long");
	hlen = (size_t)n;
	rlen = hlen + len;
	/* One buffer, so that a small request is one TLS record. */
	if ((req = malloc(rlen)) == NULL)
		return avc_fail(err, AV_CLIENT_ERROR, "out of memory");
	memcpy(req, head, hlen);
	if (len > 0)
		memcpy(req + hlen, body, len);

	for (attempt = 0; attempt < 2; attempt++) {
		if (h->fd != -1 && avc_stale(h))
			avc_disconnect(h);
		reused = h->fd != -1;
		if (!reused && avc_connect(h, deadline, err) != 0)
			break;
		if ((rc = exchange_once(h, req, rlen, deadline, r, err)) == 0)
			break;
		avc_disconnect(h);
		avc_reply_wipe(h, r);
		if (reused && h->lost && h->received == 0 &&
		    (h->sent == 0 || retry_safe))
			continue;
		if (h->sent > 0 && !retry_safe)
			maybe_applied(err);
		break;
	}
	avc_wipe_free(req, rlen);
	return rc;
}

/* Percent-encode everything but RFC 3986's unreserved characters. */
int
avc_urlencode(char *out, size_t cap, size_t *off, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char c;

	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if (*off + 4 > cap)
			return -1;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~')
			out[(*off)++] = (char)c;
		else {
			out[(*off)++] = '%';
			out[(*off)++] = hex[c >> 4];
			out[(*off)++] = hex[c & 15];
		}
	}
	out[*off] = '\0';
	return 0;
}
