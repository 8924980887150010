/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_http_parse.c - the request-head parser: what it accepts, what it
 * refuses and with which status.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/http_parse.h"

#define MAX_HEAD 8192
#define MAX_BODY 65536

static int
parse(const char *s, struct http_request_head *r)
{
	const char *why = NULL;
	int rc = http_parse_head(s, strlen(s), MAX_HEAD, MAX_BODY, r, &why);

	if (rc == HTTP_PARSE_ERROR)
		assert_non_null(why);
	return rc;
}

static void
test_valid_requests(void **state)
{
	struct http_request_head r;
	const char *s = "POST /identities/GetWorkloadAccessToken HTTP/1.1\r\n"
	    "Host: agentvault\r\nContent-Type: application/json\r\n"
	    "Content-Length: 27\r\n\r\n{\"workloadName\":\"my-agent\"}";

	(void)state;
	assert_int_equal(parse(s, &r), HTTP_PARSE_OK);
	assert_string_equal(r.method, "POST");
	assert_string_equal(r.target, "/identities/GetWorkloadAccessToken");
	assert_int_equal(r.content_length, 27);
	assert_int_equal(r.head_len, strlen(s) - 27);
	assert_true(r.keep_alive);
	assert_true(r.json);
	assert_int_equal(parse("GET /ping HTTP/1.0\r\n\r\n", &r),
	    HTTP_PARSE_OK);
	assert_false(r.keep_alive);
	assert_int_equal(parse("GET /ping HTTP/1.0\r\nConnection: "
	    "Keep-Alive\r\n\r\n", &r), HTTP_PARSE_OK);
	assert_true(r.keep_alive);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: x\r\nConnection: "
	    "foo, close\r\nX-Empty:\r\n\r\n", &r), HTTP_PARSE_OK);
	assert_false(r.keep_alive);
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: "
	    "application/x-amz-json-1.1\r\n\r\n", &r), HTTP_PARSE_OK);
	assert_true(r.json);
	assert_false(r.form);
	/* The token service's form (RFC 6749), with or without a charset. */
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: "
	    "Application/X-WWW-Form-Urlencoded\r\n\r\n", &r), HTTP_PARSE_OK);
	assert_true(r.form);
	assert_false(r.json);
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: "
	    "application/x-www-form-urlencoded; charset=UTF-8\r\n\r\n", &r),
	    HTTP_PARSE_OK);
	assert_true(r.form);
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: "
	    "application/x-www-form-urlencodedx\r\n\r\n", &r), HTTP_PARSE_OK);
	assert_false(r.form);
}

static void
test_incomplete(void **state)
{
	struct http_request_head r;

	(void)state;
	assert_int_equal(parse("", &r), HTTP_PARSE_INCOMPLETE);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: x\r\n", &r),
	    HTTP_PARSE_INCOMPLETE);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: x\r\n\r", &r),
	    HTTP_PARSE_INCOMPLETE);
}

struct bad {
	const char	*text;
	int		 status;
};

static void
test_refused(void **state)
{
	static const struct bad bad[] = {
		{ "\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\nHost: x\n\n", 400 },
		{ "get / HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
		{ "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
		{ "GET x HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
		{ "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505 },
		{ "GET / HTTP/1.2\r\nHost: x\r\n\r\n", 505 },
		{ "GET / HTTP/1.1 \r\nHost: x\r\n\r\n", 400 },
		{ "GET / FTP/1.1\r\nHost: x\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: x\r\nNo-Colon\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: x\r\n: novalue\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: x\r\nX: a\x01b\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
		    "Content-Length: 1\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
		    400 },
		{ "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1 2\r\n\r\n",
		    400 },
		{ "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \r\n\r\n",
		    400 },
		{ "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: "
		    "99999999999\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 65537\r\n"
		    "\r\n", 413 },
		{ "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
		    "chunked\r\n\r\n", 501 },
		{ "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n", 501 },
		{ "GETGETGETGETGETGETGET / HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
	};
	struct http_request_head r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i].text, &r) != HTTP_PARSE_ERROR)
			fail_msg("case %zu accepted", i);
		if (r.status != bad[i].status)
			fail_msg("case %zu: status %d, want %d", i, r.status,
			    bad[i].status);
	}
}

static void
test_limits(void **state)
{
	static char big[MAX_HEAD + 64];
	struct http_request_head r;
	const char *why;
	char nul[] = "GET / HTTP/1.1\r\nHost: x\0\r\n\r\n";
	size_t i, off;

	(void)state;
	/* A head that never ends within the limit: 431, not "incomplete". */
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	assert_int_equal(http_parse_head(big, sizeof(big), MAX_HEAD, MAX_BODY,
	    &r, &why), HTTP_PARSE_ERROR);
	assert_int_equal(r.status, 431);
	/* A target over the limit: 414. */
	off = (size_t)snprintf(big, sizeof(big), "GET /");
	for (i = 0; i < HTTP_TARGET_MAX; i++)
		big[off++] = 'a';
	off += (size_t)snprintf(big + off, sizeof(big) - off,
	    " HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(http_parse_head(big, off, MAX_HEAD, MAX_BODY, &r,
	    &why), HTTP_PARSE_ERROR);
	assert_int_equal(r.status, 414);
	/* Too many header fields. */
	off = (size_t)snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: x\r\n");
	for (i = 0; i < HTTP_HEADERS_MAX; i++)
		off += (size_t)snprintf(big + off, sizeof(big) - off,
		    "X-%zu: y\r\n", i);
	off += (size_t)snprintf(big + off, sizeof(big) - off, "\r\n");
	assert_int_equal(http_parse_head(big, off, MAX_HEAD, MAX_BODY, &r,
	    &why), HTTP_PARSE_ERROR);
	assert_int_equal(r.status, 431);
	/* A NUL byte anywhere in the head. */
	assert_int_equal(http_parse_head(nul, sizeof(nul) - 1, MAX_HEAD,
	    MAX_BODY, &r, &why), HTTP_PARSE_ERROR);
	assert_int_equal(r.status, 400);
}

static int
decode(const char *in, bool query, char *out, size_t len)
{
	return http_url_decode(in, strlen(in), query, out, len);
}

static void
test_url_decode(void **state)
{
	static const char *const bad_path[] = { "%", "%2", "%zz", "%00",
	    "a b", "a/b", "a?b", "\x01", "\xc3\xa9", "a%2", NULL };
	char out[32];
	size_t i;

	(void)state;
	assert_int_equal(decode("arn%3Aaws%3Ax%2Fy", false, out, sizeof(out)),
	    0);
	assert_string_equal(out, "arn:aws:x/y");
	assert_int_equal(decode("a:b@c", false, out, sizeof(out)), 0);
	assert_string_equal(out, "a:b@c");
	/* '+' is a space in a query only; %2B is a plus everywhere. */
	assert_int_equal(decode("cost+center%2B", true, out, sizeof(out)), 0);
	assert_string_equal(out, "cost center+");
	assert_int_equal(decode("a+b", false, out, sizeof(out)), 0);
	assert_string_equal(out, "a+b");
	assert_int_equal(decode("a/b?c", true, out, sizeof(out)), 0);
	for (i = 0; bad_path[i] != NULL; i++)
		assert_int_equal(decode(bad_path[i], false, out, sizeof(out)),
		    -1);
	/* The output buffer bounds it, NUL included. */
	assert_int_equal(decode("abcd", false, out, 5), 0);
	assert_int_equal(decode("abcde", false, out, 5), -1);
	assert_int_equal(decode("", false, out, 1), 0);
	assert_string_equal(out, "");
}

/* The token service's form bodies. */
static void
test_form(void **state)
{
	static const struct {
		const char	*body;
		const char	*why;	/* NULL: parsed */
	} cases[] = {
		{ "", NULL },
		{ "a=1&b=x+y%2Bz&c=", NULL },
		{ "a=1&a=2", "the form gives a parameter twice" },
		{ "a=1&", "the form ends with '&'" },
		{ "a=1&&b=2", "the form has a parameter without a name or a "
		    "value" },
		{ "=1", "the form has a parameter without a name or a value" },
		{ "a", "the form has a parameter without a name or a value" },
		{ "a=%zz", "the form is not correctly percent-encoded" },
		{ "a=%00", "the form is not correctly percent-encoded" },
		{ "a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9&j=10&k=11&l=12&m=13&"
		    "n=14&o=15&p=16&q=17", "the form has more than 16 "
		    "parameters" },
	};
	struct http_form f;
	const char *why;
	char *big;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(http_form_parse(cases[i].body,
		    strlen(cases[i].body), &f, &why), cases[i].why ? -1 : 0);
		if (cases[i].why != NULL)
			assert_string_equal(why, cases[i].why);
		if (i == 1) {
			assert_int_equal(f.n, 3);
			assert_string_equal(http_form_get(&f, "b"), "x y+z");
			assert_string_equal(http_form_get(&f, "c"), "");
			assert_null(http_form_get(&f, "d"));
		}
		http_form_free(&f);
	}
	big = malloc(HTTP_FORM_BODY_MAX + 1);
	assert_non_null(big);
	memset(big, 'a', HTTP_FORM_BODY_MAX + 1);
	big[0] = 'x', big[1] = '=';
	assert_int_equal(http_form_parse(big, HTTP_FORM_BODY_MAX, &f, &why), 0);
	assert_int_equal(strlen(http_form_get(&f, "x")), HTTP_FORM_BODY_MAX - 2);
	http_form_free(&f);
	assert_int_equal(http_form_parse(big, HTTP_FORM_BODY_MAX + 1, &f,
	    &why), -1);
	http_form_free(&f);
	free(big);
}

static void
test_query(void **state)
{
	static const char *const bad[] = {
		"/cb?a=1&&b=2", "/cb?&a=1", "/cb?a=1&", "/cb?=x", "/cb?a=1&a=2",
		"/cb?a&a", "/cb?a=%zz", "/cb?a=%00", "/cb?a=b c", "/cb?a=\x01",
		"/cb?a=%", "/cb?state=1&code=2&state=1", NULL };
	struct http_query q;
	char big[HTTP_TARGET_MAX + 64];
	const char *why;
	size_t i, off;

	(void)state;
	assert_int_equal(http_query_parse("/cb", &q, &why), 0);
	assert_int_equal(q.n, 0);
	assert_int_equal(http_query_parse("/cb?", &q, &why), 0);
	assert_int_equal(q.n, 0);
	assert_int_equal(http_query_parse("/cb?code=a%2Fb&state=x+y&flag&"
	    "u=https%3A%2F%2Fh%2Fp%3Fq%3D1&e=", &q, &why), 0);
	assert_int_equal(q.n, 5);
	assert_string_equal(http_query_get(&q, "code"), "a/b");
	assert_string_equal(http_query_get(&q, "state"), "x y");
	assert_string_equal(http_query_get(&q, "flag"), "");
	assert_string_equal(http_query_get(&q, "u"), "https://h/p?q=1");
	assert_string_equal(http_query_get(&q, "e"), "");
	assert_null(http_query_get(&q, "missing"));
	/* '?' and '/' may stand unencoded in a query value. */
	assert_int_equal(http_query_parse("/cb?r=/a?b", &q, &why), 0);
	assert_string_equal(http_query_get(&q, "r"), "/a?b");
	for (i = 0; bad[i] != NULL; i++) {
		why = NULL;
		assert_int_equal(http_query_parse(bad[i], &q, &why), -1);
		assert_non_null(why);
	}
	/* Limits: parameters, the decoded length of one, the target. */
	off = (size_t)snprintf(big, sizeof(big), "/cb?");
	for (i = 0; i < HTTP_QUERY_MAX; i++)
		off += (size_t)snprintf(big + off, sizeof(big) - off, "p%zu=%zu&",
		    i, i);
	big[off - 1] = '\0';
	assert_int_equal(http_query_parse(big, &q, &why), 0);
	assert_int_equal(q.n, HTTP_QUERY_MAX);
	snprintf(big + off - 1, sizeof(big) - off + 1, "&one=more");
	assert_int_equal(http_query_parse(big, &q, &why), -1);
	off = (size_t)snprintf(big, sizeof(big), "/cb?v=");
	memset(big + off, 'a', HTTP_QUERY_VALUE_MAX);
	big[off + HTTP_QUERY_VALUE_MAX] = '\0';
	assert_int_equal(http_query_parse(big, &q, &why), 0);
	assert_int_equal(strlen(http_query_get(&q, "v")), HTTP_QUERY_VALUE_MAX);
	big[off + HTTP_QUERY_VALUE_MAX] = 'a';
	big[off + HTTP_QUERY_VALUE_MAX + 1] = '\0';
	assert_int_equal(http_query_parse(big, &q, &why), -1);
	/* The buffer holds the longest target's pairs, NULs included: 16
	 * names without '=' (two NULs each) filling HTTP_TARGET_MAX. */
	off = (size_t)snprintf(big, sizeof(big), "/?");
	for (i = 0; i < HTTP_QUERY_MAX; i++) {
		size_t k = i + 1 < HTTP_QUERY_MAX ?
		    (HTTP_TARGET_MAX - 2 - (HTTP_QUERY_MAX - 1)) /
		    HTTP_QUERY_MAX : HTTP_TARGET_MAX - off;

		memset(big + off, (int)('a' + i), k);
		off += k;
		if (i + 1 < HTTP_QUERY_MAX)
			big[off++] = '&';
	}
	big[off] = '\0';
	assert_int_equal(off, HTTP_TARGET_MAX);
	assert_int_equal(http_query_parse(big, &q, &why), 0);
	assert_int_equal(q.n, HTTP_QUERY_MAX);
	memset(big, 'a', HTTP_TARGET_MAX + 1);
	big[0] = '/';
	big[HTTP_TARGET_MAX + 1] = '\0';
	assert_int_equal(http_query_parse(big, &q, &why), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_requests),
		cmocka_unit_test(test_incomplete),
		cmocka_unit_test(test_url_decode),
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_form),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests_name("http_parse", tests, NULL, NULL);
}
