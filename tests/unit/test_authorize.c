/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_authorize.c - the three-legged flow's authorization request
 * (daemon/oauth_authorize.c): PKCE S256 against RFC 7636's appendix B,
 * session URIs and state, and the authorization URL with every kind of
 * parameter, the standard ones protected, and its limits.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/oauth_authorize.h"

static const struct oauth_vendor *
vendor(const char *name)
{
	const struct oauth_vendors *vs;
	struct av_err e;

	if ((vs = oauth_vendors_builtin(&e)) == NULL)
		fail_msg("%s", e.msg);
	return oauth_vendor_find(vs, name);
}

static void
test_pkce(void **state)
{
	char c[OAUTH_RANDOM_LEN + 1], v[OAUTH_RANDOM_LEN + 1], big[130];

	(void)state;
	/* RFC 7636, appendix B. */
	assert_int_equal(oauth_pkce_challenge(
	    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", c), 0);
	assert_string_equal(c, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
	/* 43 to 128 unreserved characters, no other. */
	assert_int_equal(oauth_pkce_challenge("short", c), -1);
	memset(big, 'a', 128);
	big[128] = '\0';
	assert_int_equal(oauth_pkce_challenge(big, c), 0);
	big[128] = 'a';
	big[129] = '\0';
	assert_int_equal(oauth_pkce_challenge(big, c), -1);
	memset(big, '~', 43);
	big[43] = '\0';
	assert_int_equal(oauth_pkce_challenge(big, c), 0);
	big[10] = '+';
	assert_int_equal(oauth_pkce_challenge(big, c), -1);
	/* A fresh verifier is one. */
	assert_int_equal(oauth_random_token(v), 0);
	assert_int_equal(strlen(v), 43);
	assert_int_equal(oauth_pkce_challenge(v, c), 0);
}

static void
test_session_and_state(void **state)
{
	char a[OAUTH_SESSION_URI_LEN + 1], b[OAUTH_SESSION_URI_LEN + 1];
	char h[OAUTH_STATE_HASH_LEN + 1];

	(void)state;
	assert_int_equal(oauth_session_uri_new(a), 0);
	assert_int_equal(oauth_session_uri_new(b), 0);
	assert_int_equal(strlen(a), strlen(OAUTH_SESSION_URI_PREFIX) + 43);
	assert_int_equal(strncmp(a, "urn:ietf:params:oauth:request_uri:", 34),
	    0);
	assert_string_not_equal(a, b);
	assert_true(oauth_session_uri_valid(a));
	assert_false(oauth_session_uri_valid("urn:ietf:params:oauth:"
	    "request_uri:short"));
	a[40] = '=';
	assert_false(oauth_session_uri_valid(a));
	a[40] = 'A';
	a[0] = 'U';
	assert_false(oauth_session_uri_valid(a));
	/* SHA-256 ("abc"), FIPS 180-2. */
	oauth_state_hash("abc", h);
	assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a"
	    "9cb410ff61f20015ad");
}

static char *
build(struct oauth_authz_request *r, struct av_err *e)
{
	char *url = NULL;

	if (oauth_authorize_url(r, &url, e) != 0)
		return NULL;
	return url;
}

static void
test_url(void **state)
{
	struct oauth_authz_request r;
	struct av_err e;
	json_t *scopes = json_pack("[s, s]", "openid", "read:x y");
	json_t *res = json_pack("[s, s]", "https://api.example/", "urn:x");
	json_t *aud = json_pack("[s]", "api.example");
	json_t *custom = json_pack("{s:s, s:s}", "login_hint", "a@b.c",
	    "prompt", "select_account");
	json_t *slack = json_pack("{s:s}", "user_scope", "admin");
	char *url;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.endpoint = "https://idp.example/authorize";
	r.client_id = "cl i&d";
	r.redirect_uri = "https://vault.example:8443/identities/oauth2/callback";
	r.scopes = scopes;
	r.state = "STATE";
	r.code_challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
	url = build(&r, &e);
	assert_non_null(url);
	assert_string_equal(url, "https://idp.example/authorize?"
	    "response_type=code&client_id=cl%20i%26d&redirect_uri=https%3A%2F%2F"
	    "vault.example%3A8443%2Fidentities%2Foauth2%2Fcallback&scope=openid"
	    "%20read%3Ax%20y&state=STATE&code_challenge=E9Melhoa2OwvFrEMTJguCHa"
	    "oeK1t8URWbuGJSstw-cM&code_challenge_method=S256");
	free(url);

	/* An endpoint with a query; the vendor's separator and parameters;
	 * resources, audiences, custom parameters last. */
	r.endpoint = "https://idp.example/authorize?tenant=t1";
	r.vendor = vendor("GoogleOauth2");
	r.resources = res;
	r.audiences = aud;
	r.custom = custom;
	url = build(&r, &e);
	assert_non_null(url);
	assert_non_null(strstr(url, "authorize?tenant=t1&response_type=code&"));
	assert_non_null(strstr(url, "&code_challenge_method=S256&access_type="
	    "offline&resource=https%3A%2F%2Fapi.example%2F&resource=urn%3Ax&"
	    "audience=api.example&login_hint=a%40b.c&prompt=select_account"));
	/* The custom prompt replaced the preset's. */
	assert_null(strstr(url, "prompt=consent"));
	free(url);

	/* Slack joins scopes with commas and asks for them as the user's
	 * (user_scope), which no custom parameter replaces; Atlassian's
	 * audience yields to the caller's. */
	r.vendor = vendor("SlackOauth2");
	r.resources = r.audiences = r.custom = NULL;
	url = build(&r, &e);
	assert_non_null(strstr(url, "&user_scope=openid%2Cread%3Ax%20y&"));
	assert_null(strstr(url, "&scope="));
	free(url);
	r.custom = slack;
	assert_null(build(&r, &e));
	assert_string_equal(e.type, AV_E_VALIDATION);
	r.custom = NULL;
	r.vendor = vendor("AtlassianOauth2");
	url = build(&r, &e);
	assert_non_null(strstr(url, "&audience=api.atlassian.com&prompt="
	    "consent"));
	free(url);
	r.audiences = aud;
	url = build(&r, &e);
	assert_null(strstr(url, "api.atlassian.com"));
	assert_non_null(strstr(url, "&prompt=consent&audience=api.example"));
	free(url);
	json_decref(scopes);
	json_decref(res);
	json_decref(aud);
	json_decref(custom);
	json_decref(slack);
}

static void
test_refused(void **state)
{
	static const char *const std[] = { "response_type", "client_id",
	    "redirect_uri", "scope", "state", "code_challenge",
	    "code_challenge_method", "resource", "audience", "nonce",
	    "request", "request_uri", NULL };
	struct oauth_authz_request r;
	struct av_err e;
	json_t *scopes = json_pack("[s]", "read"), *c;
	char *url, *big;
	size_t i;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.endpoint = "https://idp.example/authorize";
	r.client_id = "c";
	r.redirect_uri = "https://v/cb";
	r.scopes = scopes;
	r.state = "s";
	r.code_challenge = "c";
	for (i = 0; std[i] != NULL; i++) {
		r.custom = c = json_pack("{s:s}", std[i], "x");
		assert_null(build(&r, &e));
		assert_string_equal(e.type, AV_E_VALIDATION);
		assert_non_null(strstr(e.msg, std[i]));
		json_decref(c);
	}
	/* Count, name and value limits. */
	c = json_object();
	for (i = 0; i <= OAUTH_CUSTOM_MAX; i++)
		json_object_set_new(c, (char[]){ (char)('a' + i), 0 },
		    json_string("v"));
	assert_int_equal(oauth_custom_params_check(c, &e), -1);
	json_object_del(c, "a");
	assert_int_equal(oauth_custom_params_check(c, &e), 0);
	json_object_set_new(c, "b", json_string(""));
	assert_int_equal(oauth_custom_params_check(c, &e), -1);
	json_object_set_new(c, "b", json_integer(1));
	assert_int_equal(oauth_custom_params_check(c, &e), -1);
	json_decref(c);
	c = json_pack("{s:s}", "has space", "v");
	assert_int_equal(oauth_custom_params_check(c, &e), -1);
	json_decref(c);
	big = malloc(OAUTH_CUSTOM_VALUE_MAX + 2);
	memset(big, 'k', OAUTH_CUSTOM_VALUE_MAX + 1);
	big[OAUTH_CUSTOM_KEY_MAX + 1] = '\0';
	c = json_pack("{s:s}", big, "v");
	assert_int_equal(oauth_custom_params_check(c, &e), -1);
	json_decref(c);
	big[OAUTH_CUSTOM_KEY_MAX + 1] = 'k';
	big[OAUTH_CUSTOM_VALUE_MAX] = '\0';
	c = json_pack("{s:s}", "k", big);
	assert_int_equal(oauth_custom_params_check(c, &e), 0);
	json_decref(c);
	big[OAUTH_CUSTOM_VALUE_MAX] = 'k';
	big[OAUTH_CUSTOM_VALUE_MAX + 1] = '\0';
	c = json_pack("{s:s}", "k", big);
	assert_int_equal(oauth_custom_params_check(c, &e), -1);
	json_decref(c);
	/* Ten values of 2048 bytes that all need encoding: over the cap. */
	memset(big, ' ', OAUTH_CUSTOM_VALUE_MAX);
	big[OAUTH_CUSTOM_VALUE_MAX] = '\0';
	r.custom = c = json_object();
	for (i = 0; i < OAUTH_CUSTOM_MAX; i++)
		json_object_set_new(c, (char[]){ 'p', (char)('a' + i), 0 },
		    json_string(big));
	url = build(&r, &e);
	assert_null(url);
	assert_non_null(strstr(e.msg, "longer than"));
	json_decref(c);
	/* Resource indicators: strings, at most OAUTH_INDICATORS_MAX. */
	r.custom = NULL;
	r.resources = c = json_pack("[s, i]", "https://a/", 1);
	assert_null(build(&r, &e));
	json_decref(c);
	r.resources = c = json_array();
	for (i = 0; i <= OAUTH_INDICATORS_MAX; i++)
		json_array_append_new(c, json_string("https://a/"));
	assert_null(build(&r, &e));
	json_decref(c);
	free(big);
	json_decref(scopes);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pkce),
		cmocka_unit_test(test_session_and_state),
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
