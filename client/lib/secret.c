/* SPDX-License-Identifier: Apache-2.0 */
/*
 * secret.c - keeping secrets (tokens, API keys) out of memory we free.
 *
 * A reply that carries a secret is not given to jansson: its parser
 * collects strings in buffers it grows and frees without wiping.  Such
 * replies are JSON objects of scalar members, read here into exactly one
 * copy, the caller's.  Requests that carry a secret are built with
 * jansson, whose copy of the string is wiped before it is released
 * (avc_json_wipe) and whose dump goes straight into our buffer.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void
avc_wipe(void *p, size_t len)
{
	if (p != NULL)
		explicit_bzero(p, len);
}

void
avc_wipe_free(void *p, size_t len)
{
	avc_wipe(p, len);
	free(p);
}

void
av_secret_free(char *s)
{
	if (s != NULL)
		avc_wipe_free(s, strlen(s));
}

char *
avc_strdup(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

void
avc_json_wipe(json_t *s)
{
	if (json_is_string(s))
		avc_wipe((char *)json_string_value(s), json_string_length(s));
}

struct scan {
	const char	*p, *end;
};

static void
ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' ||
	    *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static int
hex4(struct scan *s, unsigned *v)
{
	int i, c;

	if (s->end - s->p < 4)
		return -1;
	for (*v = 0, i = 0; i < 4; i++) {
		c = *s->p++;
		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (unsigned)(c - '0');
		else if ((c | 32) >= 'a' && (c | 32) <= 'f')
			*v |= (unsigned)((c | 32) - 'a' + 10);
		else
			return -1;
	}
	return 0;
}

/* \uXXXX (and its low surrogate) as UTF-8 into out; the count, or -1. */
static int
unicode(struct scan *s, char *out)
{
	unsigned cp, lo;

	if (hex4(s, &cp) != 0)
		return -1;
	if (cp >= 0xd800 && cp < 0xdc00) {
		if (s->end - s->p < 2 || s->p[0] != '\\' || s->p[1] != 'u')
			return -1;
		s->p += 2;
		if (hex4(s, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff)
			return -1;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	} else if ((cp >= 0xdc00 && cp < 0xe000) || cp == 0)
		return -1;	/* a lone low surrogate; NUL in a C string */
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * A JSON string at s->p, decoded into out (no longer than the encoded
 * text, so a buffer of the body's size always fits), or only checked when
 * out is NULL.
 */
static int
string(struct scan *s, char *out)
{
	static const char esc[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
	char tmp[4];
	const char *e;
	size_t o = 0;
	int n;

	if (s->p >= s->end || *s->p++ != '"')
		return -1;
	while (s->p < s->end && *s->p != '"') {
		if ((unsigned char)*s->p < 0x20)
			return -1;
		if (*s->p != '\\') {
			if (out != NULL)
				out[o] = *s->p;
			o++;
			s->p++;
			continue;
		}
		if (++s->p >= s->end)
			return -1;
		if (*s->p == 'u') {
			s->p++;
			if ((n = unicode(s, out != NULL ? out + o : tmp)) < 0)
				return -1;
			o += (size_t)n;
			continue;
		}
		for (e = esc; *e != '\0' && *e != *s->p; e += 2)
			;
		if (*e == '\0')
			return -1;
		if (out != NULL)
			out[o] = e[1];
		o++;
		s->p++;
	}
	if (s->p >= s->end)
		return -1;
	s->p++;
	if (out != NULL)
		out[o] = '\0';
	return 0;
}

/* Well-formed UTF-8 (RFC 3629): no overlong forms, surrogates or code
 * points past U+10FFFF. */
static bool
utf8_valid(const unsigned char *p)
{
	unsigned cp, n, i;

	while (*p != '\0') {
		if (*p < 0x80) {
			p++;
			continue;
		}
		if (*p >= 0xc2 && *p <= 0xdf)
			n = 1, cp = *p & 0x1f;
		else if (*p >= 0xe0 && *p <= 0xef)
			n = 2, cp = *p & 0x0f;
		else if (*p >= 0xf0 && *p <= 0xf4)
			n = 3, cp = *p & 0x07;
		else
			return false;
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000))) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
		p += n + 1;
	}
	return true;
}

/* A number, true, false or null: checked loosely, never kept. */
static int
scalar(struct scan *s)
{
	static const char *const words[] = { "true", "false", "null" };
	size_t i, n;

	if (s->p < s->end && *s->p == '"')
		return string(s, NULL);
	for (i = 0; i < 3; i++) {
		n = strlen(words[i]);
		if ((size_t)(s->end - s->p) >= n &&
		    memcmp(s->p, words[i], n) == 0) {
			s->p += n;
			return 0;
		}
	}
	for (n = 0; s->p + n < s->end && strchr("-+.0123456789eE",
	    s->p[n]) != NULL && s->p[n] != '\0'; n++)
		;
	s->p += n;
	return n > 0 ? 0 : -1;
}

/*
 * body is a JSON object of scalar members; the string member `member`
 * goes into *out (malloc'd; av_secret_free).  0: found; 1: absent; -1:
 * not such an object (ProtocolError).
 */
int
avc_json_secret(const char *body, size_t len, const char *member,
    char **out, struct av_error *err)
{
	struct scan s = { body, body + len };
	const char *key;
	size_t mlen = strlen(member);
	bool match;

	*out = NULL;
	ws(&s);
	if (s.p >= s.end || *s.p++ != '{')
		goto bad;
	ws(&s);
	if (s.p < s.end && *s.p == '}')
		s.p++;
	else for (;;) {
		key = s.p + 1;
		if (string(&s, NULL) != 0)
			goto bad;
		/* Names with escapes never match: the daemon sends none. */
		match = (size_t)(s.p - key) == mlen + 1 &&
		    memcmp(key, member, mlen) == 0;
		ws(&s);
		if (s.p >= s.end || *s.p++ != ':')
			goto bad;
		ws(&s);
		if (match) {
			if (*out != NULL || s.p >= s.end || *s.p != '"' ||
			    (*out = malloc(len + 1)) == NULL ||
			    string(&s, *out) != 0)
				goto bad;
		} else if (scalar(&s) != 0)
			goto bad;
		ws(&s);
		if (s.p < s.end && *s.p == ',') {
			s.p++;
			ws(&s);
			continue;
		}
		if (s.p >= s.end || *s.p++ != '}')
			goto bad;
		break;
	}
	ws(&s);
	if (s.p != s.end)
		goto bad;
	if (*out != NULL && !utf8_valid((const unsigned char *)*out)) {
		avc_wipe_free(*out, len + 1);
		*out = NULL;
		return avc_fail(err, AV_PROTOCOL_ERROR, "the secret in the "
		    "reply is not valid UTF-8");
	}
	return *out != NULL ? 0 : 1;
bad:
	if (*out != NULL)
		avc_wipe_free(*out, len + 1);
	*out = NULL;
	return avc_fail(err, AV_PROTOCOL_ERROR, "the reply is not the JSON "
	    "object this operation returns");
}
