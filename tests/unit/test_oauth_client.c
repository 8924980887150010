/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_oauth_client.c - the token endpoint client without a network:
 * the requests it builds (each grant, each client authentication, RFC
 * 6749 2.3.1 form-encoding of the client's credentials) and the answers
 * it parses (JSON, form-encoded, Slack's authed_user, Salesforce's
 * instance_url), refusing malformed ones without echoing them; and the
 * private_key_jwt client assertion (its header, claims and signature).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "daemon/client_assertion.h"
#include "daemon/es256.h"
#include "daemon/oauth_client.h"

static const struct oauth_client basic = { "https://idp.example/token",
    "client:1 +x", "s3cret/&=?%", OAUTH_AUTH_BASIC, 0, NULL };
static const struct oauth_client post = { "https://idp.example/token",
    "client-2", "p a+ss", OAUTH_AUTH_POST, 0, NULL };

static void
build(const struct oauth_client *c, const struct oauth_grant_req *g,
    const char *want_body, const char *want_user, const char *want_pw)
{
	char *body, *user, *pw;
	struct av_err e;
	size_t len;

	assert_int_equal(oauth_request_build(c, g, &body, &len, &user, &pw,
	    &e), 0);
	assert_string_equal(body, want_body);
	assert_int_equal(len, strlen(want_body));
	if (want_user == NULL) {
		assert_null(user);
		assert_null(pw);
	} else {
		assert_string_equal(user, want_user);
		assert_string_equal(pw, want_pw);
	}
	free(body);
	free(user);
	free(pw);
}

static void
test_build_client_credentials(void **state)
{
	const char *res[] = { "https://api.example/", NULL };
	const char *aud[] = { "api://x", NULL };
	struct oauth_grant_req g = { .grant = OAUTH_GRANT_CLIENT_CREDENTIALS,
	    .scope = "read write" };

	(void)state;
	build(&basic, &g, "grant_type=client_credentials&scope=read+write",
	    "client%3A1+%2Bx", "s3cret%2F%26%3D%3F%25");
	build(&post, &g, "grant_type=client_credentials&scope=read+write&"
	    "client_id=client-2&client_secret=p+a%2Bss", NULL, NULL);
	g.scope = NULL;
	g.resources = res;
	g.audiences = aud;
	build(&post, &g, "grant_type=client_credentials&resource=https%3A%2F"
	    "%2Fapi.example%2F&audience=api%3A%2F%2Fx&client_id=client-2&"
	    "client_secret=p+a%2Bss", NULL, NULL);
}

/* private_key_jwt: the assertion in the body, no secret, no basic auth;
 * every grant carries it. */
static void
test_build_private_key_jwt(void **state)
{
	static const struct oauth_client pkj = { "https://idp.example/token",
	    "client 3", NULL, OAUTH_AUTH_PRIVATE_KEY_JWT, 0, "aaa.bbb.c-_" };
	struct oauth_client none = pkj;
	struct oauth_grant_req g = { .grant = OAUTH_GRANT_CLIENT_CREDENTIALS };
	char *body, *user, *pw;
	struct av_err e;
	size_t len;

	(void)state;
	build(&pkj, &g, "grant_type=client_credentials&client_id=client+3&"
	    "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-"
	    "assertion-type%3Ajwt-bearer&client_assertion=aaa.bbb.c-_", NULL,
	    NULL);
	g.grant = OAUTH_GRANT_REFRESH_TOKEN;
	g.refresh_token = "rt";
	build(&pkj, &g, "grant_type=refresh_token&refresh_token=rt&"
	    "client_id=client+3&client_assertion_type=urn%3Aietf%3Aparams%3A"
	    "oauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion="
	    "aaa.bbb.c-_", NULL, NULL);
	g.grant = OAUTH_GRANT_AUTHORIZATION_CODE;
	g.code = "c";
	g.redirect_uri = "https://av/cb";
	build(&pkj, &g, "grant_type=authorization_code&code=c&redirect_uri="
	    "https%3A%2F%2Fav%2Fcb&client_id=client+3&client_assertion_type="
	    "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&"
	    "client_assertion=aaa.bbb.c-_", NULL, NULL);
	/* Without its assertion the client cannot authenticate. */
	none.client_assertion = NULL;
	none.client_secret = "a secret is no substitute";
	assert_int_equal(oauth_request_build(&none, &g, &body, &len, &user,
	    &pw, &e), -1);
}

/* RFC 8693 token exchange and RFC 7523 jwt-bearer: the subject, the
 * actor, the token types, Microsoft's requested_token_use. */
static void
test_build_obo(void **state)
{
	const char *aud[] = { "api://down", NULL };
	struct oauth_grant_req g = { .grant = OAUTH_GRANT_TOKEN_EXCHANGE,
	    .scope = "read", .subject_token = "u.s.er",
	    .subject_token_type = OAUTH_TT_ACCESS_TOKEN,
	    .requested_token_type = OAUTH_TT_ACCESS_TOKEN, .audiences = aud };
	char *body, *user, *pw;
	struct av_err e;
	size_t len;

	(void)state;
	build(&basic, &g, "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-"
	    "type%3Atoken-exchange&subject_token=u.s.er&subject_token_type="
	    "urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token&"
	    "requested_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3A"
	    "access_token&scope=read&audience=api%3A%2F%2Fdown",
	    "client%3A1+%2Bx", "s3cret%2F%26%3D%3F%25");
	g.actor_token = "a.c.t";
	g.actor_token_type = OAUTH_TT_JWT;
	g.requested_token_type = NULL;
	g.audiences = NULL;
	build(&post, &g, "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-"
	    "type%3Atoken-exchange&subject_token=u.s.er&subject_token_type="
	    "urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token&"
	    "actor_token=a.c.t&actor_token_type=urn%3Aietf%3Aparams%3Aoauth%3A"
	    "token-type%3Ajwt&scope=read&client_id=client-2&client_secret=p+a"
	    "%2Bss", NULL, NULL);
	/* An actor token without its type (or a type without a token). */
	g.actor_token_type = NULL;
	assert_int_equal(oauth_request_build(&post, &g, &body, &len, &user,
	    &pw, &e), -1);
	g.actor_token = NULL;
	g.subject_token_type = NULL;
	assert_int_equal(oauth_request_build(&post, &g, &body, &len, &user,
	    &pw, &e), -1);
	g.grant = OAUTH_GRANT_JWT_BEARER;
	build(&post, &g, "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-"
	    "type%3Ajwt-bearer&assertion=u.s.er&scope=read&client_id=client-2&"
	    "client_secret=p+a%2Bss", NULL, NULL);
	g.on_behalf_of = true;
	build(&post, &g, "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-"
	    "type%3Ajwt-bearer&assertion=u.s.er&requested_token_use=on_behalf_"
	    "of&scope=read&client_id=client-2&client_secret=p+a%2Bss", NULL,
	    NULL);
	g.subject_token = NULL;
	assert_int_equal(oauth_request_build(&post, &g, &body, &len, &user,
	    &pw, &e), -1);
}

/* base64url (unpadded) into a NUL-terminated malloc'd buffer. */
static char *
unb64url(const char *in, size_t n, size_t *outlen)
{
	char *t = calloc(1, n + 4);
	unsigned char *out = calloc(1, n + 4);
	size_t i;
	int len;

	assert_non_null(t);
	assert_non_null(out);
	for (i = 0; i < n; i++) {
		assert_true(in[i] != '=' && in[i] != '+' && in[i] != '/');
		t[i] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : in[i];
	}
	while (i % 4 != 0)
		t[i++] = '=';
	len = EVP_DecodeBlock(out, (unsigned char *)t, (int)i);
	assert_true(len >= 0);
	*outlen = (size_t)len - (n % 4 == 2 ? 2 : n % 4 == 3 ? 1 : 0);
	out[*outlen] = '\0';
	free(t);
	return (char *)out;
}

static json_t *
part(const char *p, size_t n)
{
	size_t len;
	char *text = unb64url(p, n, &len);
	json_t *v = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);

	free(text);
	assert_non_null(v);
	return v;
}

/* The assertion: ES256 header with the key's kid, RFC 7523 claims, a
 * fresh jti each time, a signature the public key verifies. */
static void
test_client_assertion(void **state)
{
	struct client_key k = { "agentvault-oauth-client-t", "kid-1", NULL };
	char a[8192], b[8192], small[200];
	const char *dot1, *dot2;
	json_t *h, *c, *c2;
	size_t siglen;
	char *sig;
	struct av_err e;

	(void)state;
	assert_non_null(k.key = EVP_EC_gen("P-256"));
	assert_int_equal(client_assertion_make(&k, "client \"3\"",
	    "https://idp.example/token", NULL, NULL, 1700000000, a, sizeof(a),
	    &e), 0);
	assert_int_equal(client_assertion_make(&k, "client \"3\"",
	    "https://idp.example/token", NULL, NULL, 1700000000, b, sizeof(b),
	    &e), 0);
	assert_non_null(dot1 = strchr(a, '.'));
	assert_non_null(dot2 = strchr(dot1 + 1, '.'));
	assert_null(strchr(dot2 + 1, '.'));
	h = part(a, (size_t)(dot1 - a));
	assert_int_equal(json_object_size(h), 3);
	assert_string_equal(json_string_value(json_object_get(h, "alg")),
	    "ES256");
	assert_string_equal(json_string_value(json_object_get(h, "typ")),
	    "JWT");
	assert_string_equal(json_string_value(json_object_get(h, "kid")),
	    "kid-1");
	c = part(dot1 + 1, (size_t)(dot2 - dot1 - 1));
	assert_int_equal(json_object_size(c), 6);
	assert_string_equal(json_string_value(json_object_get(c, "iss")),
	    "client \"3\"");
	assert_string_equal(json_string_value(json_object_get(c, "sub")),
	    "client \"3\"");
	assert_string_equal(json_string_value(json_object_get(c, "aud")),
	    "https://idp.example/token");
	assert_int_equal(json_integer_value(json_object_get(c, "iat")),
	    1700000000);
	assert_int_equal(json_integer_value(json_object_get(c, "exp")),
	    1700000000 + CLIENT_ASSERTION_TTL);
	/* 16 random bytes: 22 characters; another each time. */
	assert_int_equal(strlen(json_string_value(json_object_get(c, "jti"))),
	    22);
	dot1 = strchr(b, '.');
	c2 = part(dot1 + 1, (size_t)(strrchr(b, '.') - dot1 - 1));
	assert_string_not_equal(json_string_value(json_object_get(c, "jti")),
	    json_string_value(json_object_get(c2, "jti")));
	sig = unb64url(dot2 + 1, strlen(dot2 + 1), &siglen);
	assert_int_equal(siglen, ES256_SIG_LEN);
	assert_int_equal(es256_verify(k.key, a, (size_t)(dot2 - a),
	    (unsigned char *)sig), 1);
	/* One bit of the claims changed: no longer valid. */
	a[dot2 - a - 1] ^= 1;
	assert_int_equal(es256_verify(k.key, a, (size_t)(dot2 - a),
	    (unsigned char *)sig), 0);
	/* Too small a buffer is refused, never truncated. */
	assert_int_equal(client_assertion_make(&k, "c", "https://i/t", NULL,
	    NULL, 1700000000, small, sizeof(small), &e), -1);
	assert_string_equal(e.type, AV_E_INTERNAL);
	free(sig);
	json_decref(h);
	json_decref(c);
	json_decref(c2);

	/* Configured members are added, never replace the appliance's. */
	h = json_pack("{s:s, s:s}", "x5t", "thumb", "alg", "none");
	c = json_pack("{s:s, s:s}", "tenant", "t-1", "iss", "evil");
	assert_int_equal(client_assertion_make(&k, "cid", "https://i/t", h, c,
	    1700000000, a, sizeof(a), &e), 0);
	json_decref(h);
	json_decref(c);
	dot1 = strchr(a, '.');
	dot2 = strchr(dot1 + 1, '.');
	h = part(a, (size_t)(dot1 - a));
	c = part(dot1 + 1, (size_t)(dot2 - dot1 - 1));
	assert_string_equal(json_string_value(json_object_get(h, "x5t")),
	    "thumb");
	assert_string_equal(json_string_value(json_object_get(h, "alg")),
	    "ES256");
	assert_string_equal(json_string_value(json_object_get(c, "tenant")),
	    "t-1");
	assert_string_equal(json_string_value(json_object_get(c, "iss")),
	    "cid");
	sig = unb64url(dot2 + 1, strlen(dot2 + 1), &siglen);
	assert_int_equal(es256_verify(k.key, a, (size_t)(dot2 - a),
	    (unsigned char *)sig), 1);
	free(sig);
	json_decref(h);
	json_decref(c);
	EVP_PKEY_free(k.key);
}

static void
test_build_code_and_refresh(void **state)
{
	struct oauth_grant_req g = { .grant = OAUTH_GRANT_AUTHORIZATION_CODE,
	    .code = "c0de", .redirect_uri = "https://av.example:8443/"
	    "identities/oauth2/callback", .code_verifier = "v-._~" };
	char *body, *user, *pw;
	struct av_err e;
	size_t len;

	(void)state;
	build(&basic, &g, "grant_type=authorization_code&code=c0de&"
	    "redirect_uri=https%3A%2F%2Fav.example%3A8443%2Fidentities%2F"
	    "oauth2%2Fcallback&code_verifier=v-._%7E", "client%3A1+%2Bx",
	    "s3cret%2F%26%3D%3F%25");
	g.grant = OAUTH_GRANT_REFRESH_TOKEN;
	g.refresh_token = "r t";
	g.scope = "a";
	build(&post, &g, "grant_type=refresh_token&refresh_token=r+t&scope=a&"
	    "client_id=client-2&client_secret=p+a%2Bss", NULL, NULL);
	g.refresh_token = NULL;
	assert_int_equal(oauth_request_build(&post, &g, &body, &len, &user,
	    &pw, &e), -1);
	g.grant = OAUTH_GRANT_AUTHORIZATION_CODE;
	g.code = NULL;
	assert_int_equal(oauth_request_build(&post, &g, &body, &len, &user,
	    &pw, &e), -1);
}

static int
parse(long status, const char *ctype, const char *body, unsigned quirks,
    struct oauth_token *t, char *oerr, struct av_err *e)
{
	return oauth_response_parse(status, ctype, body, strlen(body), quirks,
	    t, oerr, e);
}

static void
test_parse_json(void **state)
{
	char oerr[OAUTH_ERROR_MAX + 1];
	struct oauth_token t;
	struct av_err e;

	(void)state;
	assert_int_equal(parse(200, "application/json; charset=utf-8",
	    "{\"access_token\":\"at\",\"token_type\":\"bearer\","
	    "\"expires_in\":3600,\"refresh_token\":\"rt\",\"scope\":\"a b\","
	    "\"id_token\":\"x\"}", 0, &t, oerr, &e), 0);
	assert_string_equal(t.access, "at");
	assert_int_equal(t.access_len, 2);
	assert_string_equal(t.refresh, "rt");
	assert_string_equal(t.type, "Bearer");
	assert_int_equal(t.expires_in, 3600);
	assert_string_equal(t.scope, "a b");
	assert_null(t.extra);
	oauth_token_clear(&t);
	assert_null(t.access);
	/* No expires_in, no token_type: a Bearer token of unknown life. */
	assert_int_equal(parse(200, "application/json", "{\"access_token\":"
	    "\"at\"}", 0, &t, oerr, &e), 0);
	assert_int_equal(t.expires_in, -1);
	assert_null(t.refresh);
	oauth_token_clear(&t);
}

static void
test_parse_form(void **state)
{
	char oerr[OAUTH_ERROR_MAX + 1];
	struct oauth_token t;
	struct av_err e;

	(void)state;
	/* GitHub without Accept: JSON. */
	assert_int_equal(parse(200, "application/x-www-form-urlencoded",
	    "access_token=gho_16C7e42F292c6912E7710c838347Ae178B4a&scope="
	    "repo%2Cgist&token_type=bearer&expires_in=28800", 0, &t, oerr,
	    &e), 0);
	assert_string_equal(t.access, "gho_16C7e42F292c6912E7710c838347Ae178B4a");
	assert_string_equal(t.scope, "repo,gist");
	assert_int_equal(t.expires_in, 28800);
	oauth_token_clear(&t);
	assert_int_equal(parse(200, "application/x-www-form-urlencoded",
	    "error=bad_verification_code&error_description=The+code", 0, &t,
	    oerr, &e), -1);
	assert_string_equal(oerr, "bad_verification_code");
	assert_non_null(strstr(e.msg, "bad_verification_code"));
	assert_null(strstr(e.msg, "The code"));
	/* Malformed: a key twice, bad escapes, NUL, no '='. */
	assert_int_equal(parse(200, "application/x-www-form-urlencoded",
	    "access_token=a&access_token=b", 0, &t, oerr, &e), -1);
	assert_int_equal(parse(200, "application/x-www-form-urlencoded",
	    "access_token=a%2", 0, &t, oerr, &e), -1);
	assert_int_equal(parse(200, "application/x-www-form-urlencoded",
	    "access_token=a%00b", 0, &t, oerr, &e), -1);
	assert_int_equal(parse(200, "application/x-www-form-urlencoded",
	    "access_token", 0, &t, oerr, &e), -1);
}

static void
test_parse_quirks(void **state)
{
	const char *slack = "{\"ok\":true,\"access_token\":\"xoxb-1\","
	    "\"token_type\":\"bot\",\"scope\":\"chat:write\",\"authed_user\":"
	    "{\"id\":\"U1\",\"scope\":\"search:read\",\"access_token\":"
	    "\"xoxp-1\",\"token_type\":\"user\"}}";
	char oerr[OAUTH_ERROR_MAX + 1];
	struct oauth_token t;
	struct av_err e;

	(void)state;
	assert_int_equal(parse(200, "application/json", slack,
	    OAUTH_QUIRK_AUTHED_USER, &t, oerr, &e), 0);
	assert_string_equal(t.access, "xoxp-1");
	assert_string_equal(t.type, "user");
	assert_string_equal(t.scope, "search:read");
	oauth_token_clear(&t);
	/* Without the quirk, a "bot" token is no Bearer token. */
	assert_int_equal(parse(200, "application/json", slack, 0, &t, oerr,
	    &e), -1);
	assert_non_null(strstr(e.msg, "not Bearer"));
	/* Slack's errors: 200 with ok false. */
	assert_int_equal(parse(200, "application/json", "{\"ok\":false,"
	    "\"error\":\"invalid_code\"}", OAUTH_QUIRK_AUTHED_USER, &t, oerr,
	    &e), -1);
	assert_string_equal(oerr, "invalid_code");
	/* Salesforce: instance_url kept. */
	assert_int_equal(parse(200, "application/json", "{\"access_token\":"
	    "\"00D\",\"token_type\":\"Bearer\",\"instance_url\":"
	    "\"https://x.my.salesforce.com\",\"signature\":\"s\"}",
	    OAUTH_QUIRK_INSTANCE_URL, &t, oerr, &e), 0);
	assert_string_equal(json_string_value(json_object_get(t.extra,
	    "instance_url")), "https://x.my.salesforce.com");
	oauth_token_clear(&t);
}

static void
test_parse_errors(void **state)
{
	static const struct {
		long		 status;
		const char	*ctype;
		const char	*body;
		const char	*oerr;	/* expected provider code */
		const char	*msg;	/* in the message */
	} cases[] = {
		{ 400, "application/json", "{\"error\":\"invalid_grant\","
		    "\"error_description\":\"secret-xyz\"}", "invalid_grant",
		    "answered invalid_grant (HTTP 400)" },
		{ 401, "application/json", "{\"error\":\"invalid_client\"}",
		    "invalid_client", "invalid_client" },
		{ 400, "application/json", "{\"error\":\"bad code <secret-xyz>"
		    "\"}", "", "failed (HTTP 400)" },
		{ 503, NULL, "", "", "failed (HTTP 503)" },
		{ 502, "text/html", "<html>secret-xyz</html>", "",
		    "failed (HTTP 502)" },
		{ 200, "text/html", "<html>secret-xyz</html>", "",
		    "neither JSON nor form" },
		{ 200, "application/json", "{\"access_token\": \"garbage\", "
		    "\"token_type\": ", "", "malformed" },
		{ 200, "application/json", "[\"secret-xyz\"]", "",
		    "malformed" },
		{ 200, "application/json", "{\"token_type\":\"Bearer\"}", "",
		    "no usable access_token" },
		{ 200, "application/json", "{\"access_token\":\"\"}", "",
		    "no usable access_token" },
		{ 200, "application/json", "{\"access_token\":7}", "",
		    "no usable access_token" },
		{ 200, "application/json", "{\"access_token\":\"a\\nb\"}", "",
		    "no usable access_token" },
		{ 200, "application/json", "{\"access_token\":\"a\","
		    "\"token_type\":\"mac\"}", "", "type mac, not Bearer" },
		{ 200, "application/json", "{\"access_token\":\"a\","
		    "\"expires_in\":-5}", "", "expires_in" },
		{ 200, "application/json", "{\"access_token\":\"a\","
		    "\"expires_in\":0}", "", "expires_in" },
		{ 200, "application/json", "{\"access_token\":\"a\","
		    "\"expires_in\":99999999999999}", "", "expires_in" },
		{ 200, "application/json", "{\"access_token\":\"a\","
		    "\"expires_in\":\"12x\"}", "", "expires_in" },
		{ 200, "application/json", "{\"access_token\":\"a\","
		    "\"access_token\":\"b\"}", "", "malformed" },
	};
	char oerr[OAUTH_ERROR_MAX + 1];
	struct oauth_token t;
	struct av_err e;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&e, 0, sizeof(e));
		if (parse(cases[i].status, cases[i].ctype, cases[i].body, 0,
		    &t, oerr, &e) != -1)
			fail_msg("case %zu parsed", i);
		if (strcmp(oerr, cases[i].oerr) != 0 ||
		    strstr(e.msg, cases[i].msg) == NULL ||
		    strstr(e.msg, "secret-xyz") != NULL || t.access != NULL)
			fail_msg("case %zu: [%s] %s", i, oerr, e.msg);
	}
	/* Refresh tokens refused: RFC 6749's code, GitHub's, Slack's. */
	assert_true(oauth_grant_refused("invalid_grant"));
	assert_true(oauth_grant_refused("bad_refresh_token"));
	assert_true(oauth_grant_refused("invalid_refresh_token"));
	assert_false(oauth_grant_refused("invalid_client"));
	assert_false(oauth_grant_refused(""));
}

static void
test_parse_limits(void **state)
{
	char oerr[OAUTH_ERROR_MAX + 1];
	struct oauth_token t;
	struct av_err e;
	size_t n = OAUTH_TOKEN_MAX + 40, i;
	char *big;

	(void)state;
	assert_non_null(big = malloc(OAUTH_ANSWER_MAX + 2));
	/* An access token over OAUTH_TOKEN_MAX. */
	i = (size_t)snprintf(big, n, "{\"access_token\":\"");
	memset(big + i, 'A', OAUTH_TOKEN_MAX + 1);
	strcpy(big + i + OAUTH_TOKEN_MAX + 1, "\"}");
	assert_int_equal(parse(200, "application/json", big, 0, &t, oerr,
	    &e), -1);
	/* An answer over OAUTH_ANSWER_MAX, refused before parsing. */
	memset(big, ' ', OAUTH_ANSWER_MAX + 1);
	big[OAUTH_ANSWER_MAX + 1] = '\0';
	assert_int_equal(parse(200, "application/json", big, 0, &t, oerr,
	    &e), -1);
	assert_non_null(strstr(e.msg, "too large"));
	free(big);
}

/* RFC 8693 answers: issued_token_type an access token or a JWT. */
static void
test_parse_issued_token_type(void **state)
{
	struct oauth_token t;
	char oerr[OAUTH_ERROR_MAX + 1];
	struct av_err e;

	(void)state;
	assert_int_equal(parse(200, "application/json", "{\"access_token\":"
	    "\"x\",\"token_type\":\"Bearer\",\"issued_token_type\":\"urn:"
	    "ietf:params:oauth:token-type:access_token\",\"expires_in\":60}",
	    0, &t, oerr, &e), 0);
	assert_string_equal(t.access, "x");
	oauth_token_clear(&t);
	assert_int_equal(parse(200, "application/json", "{\"access_token\":"
	    "\"x\",\"token_type\":\"Bearer\",\"issued_token_type\":\"urn:"
	    "ietf:params:oauth:token-type:jwt\"}", 0, &t, oerr, &e), 0);
	oauth_token_clear(&t);
	assert_int_equal(parse(200, "application/json", "{\"access_token\":"
	    "\"x\",\"token_type\":\"Bearer\",\"issued_token_type\":\"urn:"
	    "ietf:params:oauth:token-type:refresh_token\"}", 0, &t, oerr, &e),
	    -1);
	assert_null(strstr(e.msg, "refresh_token"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_client_credentials),
		cmocka_unit_test(test_build_code_and_refresh),
		cmocka_unit_test(test_build_private_key_jwt),
		cmocka_unit_test(test_build_obo),
		cmocka_unit_test(test_parse_issued_token_type),
		cmocka_unit_test(test_client_assertion),
		cmocka_unit_test(test_parse_json),
		cmocka_unit_test(test_parse_form),
		cmocka_unit_test(test_parse_quirks),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
