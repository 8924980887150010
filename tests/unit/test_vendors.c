/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_vendors.c - the OAuth2 vendor presets (daemon/oauth_vendors.json
 * as compiled in): every vendor value AgentCore defines is there and
 * complete, each resolves to https endpoints from its inputs, the quirks
 * issue 7 names are set, and the loader refuses broken files.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/oauth_vendor.h"

/* AgentCore's CredentialProviderVendorType (OAuth2 values): the API. */
static const char *const agentcore_vendors[] = {
	"CustomOauth2", "GoogleOauth2", "GithubOauth2", "SlackOauth2",
	"SalesforceOauth2", "MicrosoftOauth2", "AtlassianOauth2",
	"LinkedinOauth2", "XOauth2", "OktaOauth2", "OneLoginOauth2",
	"PingOneOauth2", "FacebookOauth2", "YandexOauth2", "RedditOauth2",
	"ZoomOauth2", "TwitchOauth2", "SpotifyOauth2", "DropboxOauth2",
	"NotionOauth2", "HubspotOauth2", "CyberArkOauth2", "FusionAuthOauth2",
	"Auth0Oauth2", "CognitoOauth2", NULL
};

static const struct oauth_vendors *
vendors(void)
{
	const struct oauth_vendors *vs;
	struct av_err e;

	vs = oauth_vendors_builtin(&e);
	if (vs == NULL)
		fail_msg("%s", e.msg);
	return vs;
}

static const struct oauth_vendor *
vendor(const char *name)
{
	const struct oauth_vendor *v = oauth_vendor_find(vendors(), name);

	if (v == NULL)
		fail_msg("no preset %s", name);
	return v;
}

static const char *
param(const struct oauth_vendor *v, const char *key)
{
	size_t i;

	for (i = 0; i < v->nparams; i++)
		if (strcmp(v->params[i].key, key) == 0)
			return v->params[i].value;
	return NULL;
}

/* Resolve with the given inputs (NULL-terminated field, value pairs). */
static int
resolve(const struct oauth_vendor *v, char out[OAUTH_FIELDS][OAUTH_URL_MAX + 1],
    struct av_err *e, ...)
{
	const char *in[OAUTH_FIELDS] = { NULL };
	va_list ap;
	int f;

	va_start(ap, e);
	while ((f = va_arg(ap, int)) >= 0)
		in[f] = va_arg(ap, const char *);
	va_end(ap);
	return oauth_vendor_resolve(v, in, false, out, e);
}

static void
test_every_vendor(void **state)
{
	const struct oauth_vendors *vs = vendors();
	size_t i;

	(void)state;
	for (i = 0; agentcore_vendors[i] != NULL; i++)
		assert_non_null(oauth_vendor_find(vs, agentcore_vendors[i]));
	/* Nothing else either: the API has exactly these values. */
	assert_int_equal(vs->n, i);
}

/* Every preset resolves with the inputs it requires, and only them. */
static void
test_every_vendor_resolves(void **state)
{
	char out[OAUTH_FIELDS][OAUTH_URL_MAX + 1];
	const struct oauth_vendors *vs = vendors();
	const struct oauth_vendor *v;
	const char *in[OAUTH_FIELDS];
	struct av_err e;
	size_t i;
	int f, required;

	(void)state;
	for (i = 0; i < vs->n; i++) {
		v = &vs->v[i];
		assert_true(strncmp(v->docs, "https://", 8) == 0);
		assert_true(v->scope_sep == ' ' || v->scope_sep == ',');
		assert_non_null(v->config);
		if (v->custom)
			continue;
		required = 0;
		for (f = 0; f < OAUTH_FIELDS; f++) {
			in[f] = v->input[f].required ? v->input[f].example :
			    NULL;
			required += v->input[f].required;
			if (v->input[f].accepted)
				assert_true(v->input[f].example[0] != '\0');
		}
		if (oauth_vendor_resolve(v, in, false, out, &e) != 0)
			fail_msg("%s: %s", v->name, e.msg);
		for (f = OAUTH_ISSUER; f < OAUTH_FIELDS; f++) {
			assert_true(strncmp(out[f], "https://", 8) == 0);
			assert_null(strstr(out[f] + 8, "//"));
			assert_null(strchr(out[f], '{'));
		}
		/* Without its required inputs: a message naming one. */
		memset(in, 0, sizeof(in));
		if (required > 0) {
			assert_int_equal(oauth_vendor_resolve(v, in, false,
			    out, &e), -1);
			assert_string_equal(e.type, "ValidationException");
			assert_non_null(strstr(e.msg, "needs"));
		}
	}
}

static void
test_quirks(void **state)
{
	const struct oauth_vendor *v;

	(void)state;
	assert_true(vendor("GithubOauth2")->quirks & OAUTH_QUIRK_ACCEPT_JSON);
	assert_true(vendor("SlackOauth2")->quirks & OAUTH_QUIRK_AUTHED_USER);
	assert_int_equal(vendor("SlackOauth2")->scope_sep, ',');
	assert_true(vendor("SalesforceOauth2")->quirks &
	    OAUTH_QUIRK_INSTANCE_URL);
	assert_true(vendor("MicrosoftOauth2")->quirks &
	    OAUTH_QUIRK_ON_BEHALF_OF);
	v = vendor("GoogleOauth2");
	assert_string_equal(param(v, "access_type"), "offline");
	assert_string_equal(param(v, "prompt"), "consent");
	v = vendor("AtlassianOauth2");
	assert_string_equal(param(v, "audience"), "api.atlassian.com");
	assert_string_equal(param(v, "prompt"), "consent");
	assert_int_equal(vendor("CustomOauth2")->auth, OAUTH_AUTH_BASIC);
	assert_true(vendor("CustomOauth2")->custom);
	assert_false(vendor("GoogleOauth2")->custom);
	assert_string_equal(vendor("XOauth2")->config,
	    "includedOauth2ProviderConfig");
	assert_string_equal(vendor("LinkedinOauth2")->config,
	    "linkedinOauth2ProviderConfig");
}

static void
test_tenant_and_issuer(void **state)
{
	char out[OAUTH_FIELDS][OAUTH_URL_MAX + 1];
	const struct oauth_vendor *ms = vendor("MicrosoftOauth2");
	struct av_err e;

	(void)state;
	assert_int_equal(resolve(ms, out, &e, -1), 0);
	assert_string_equal(out[OAUTH_TOKEN_ENDPOINT], "https://login."
	    "microsoftonline.com/common/oauth2/v2.0/token");
	assert_int_equal(resolve(ms, out, &e, OAUTH_TENANT_ID,
	    "contoso.onmicrosoft.com", -1), 0);
	assert_string_equal(out[OAUTH_AUTHORIZATION_ENDPOINT], "https://login."
	    "microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/"
	    "authorize");
	assert_string_equal(out[OAUTH_ISSUER], "https://login."
	    "microsoftonline.com/contoso.onmicrosoft.com/v2.0");
	/* A tenant cannot reshape the URL. */
	assert_int_equal(resolve(ms, out, &e, OAUTH_TENANT_ID, "a/../b", -1),
	    -1);
	assert_non_null(strstr(e.msg, "tenantId"));
	assert_int_equal(resolve(ms, out, &e, OAUTH_TENANT_ID, "", -1), -1);
	/* Microsoft has no issuer input; X has no inputs at all. */
	assert_int_equal(resolve(ms, out, &e, OAUTH_ISSUER, "https://a.b",
	    -1), -1);
	assert_int_equal(resolve(vendor("XOauth2"), out, &e, OAUTH_ISSUER,
	    "https://x.example", -1), -1);
	assert_non_null(strstr(e.msg, "takes no issuer"));

	/* {issuer}/v1/token whether the issuer ends in '/' or not. */
	assert_int_equal(resolve(vendor("OktaOauth2"), out, &e, OAUTH_ISSUER,
	    "https://dev-1.okta.com/oauth2/default/", -1), 0);
	assert_string_equal(out[OAUTH_TOKEN_ENDPOINT],
	    "https://dev-1.okta.com/oauth2/default/v1/token");
	assert_string_equal(out[OAUTH_ISSUER],
	    "https://dev-1.okta.com/oauth2/default/");
	/* An endpoint given wins over the template. */
	assert_int_equal(resolve(vendor("OktaOauth2"), out, &e, OAUTH_ISSUER,
	    "https://dev-1.okta.com", OAUTH_TOKEN_ENDPOINT,
	    "https://dev-1.okta.com/oauth2/v1/token", -1), 0);
	assert_string_equal(out[OAUTH_TOKEN_ENDPOINT],
	    "https://dev-1.okta.com/oauth2/v1/token");
	assert_string_equal(out[OAUTH_AUTHORIZATION_ENDPOINT],
	    "https://dev-1.okta.com/v1/authorize");
	assert_int_equal(resolve(vendor("Auth0Oauth2"), out, &e, OAUTH_ISSUER,
	    "http://example.auth0.com/", -1), -1);
	assert_int_equal(resolve(vendor("CognitoOauth2"), out, &e,
	    OAUTH_ISSUER, "https://cognito-idp.us-east-1.amazonaws.com/p",
	    OAUTH_AUTHORIZATION_ENDPOINT, "https://d.auth.us-east-1."
	    "amazoncognito.com/oauth2/authorize", -1), -1);
	assert_non_null(strstr(e.msg, "needs tokenEndpoint"));
}

static void
test_url_check(void **state)
{
	static const char *const good[] = {
		"https://idp.example.com/token",
		"https://idp.example.com:8443/a/b?c=d",
		"https://[2001:db8::1]/x",
		NULL
	};
	static const char *const bad[] = {
		"", "http://idp.example.com/token", "ftp://idp.example.com/",
		"https://user:pw@idp.example.com/", "https://idp.example.com/#f",
		"https:///path", "/relative", "https://idp.example.com/a b",
		"https://idp.example.com/\x7f", "javascript:alert(1)",
		"http://127.0.0.1/token", NULL
	};
	char *big;
	struct av_err e;
	size_t i;

	(void)state;
	for (i = 0; good[i] != NULL; i++)
		assert_int_equal(oauth_url_check("u", good[i], false, &e), 0);
	for (i = 0; bad[i] != NULL; i++)
		if (oauth_url_check("u", bad[i], false, &e) != -1)
			fail_msg("accepted '%s'", bad[i]);
	/* Tests only: http to loopback. */
	assert_int_equal(oauth_url_check("u", "http://127.0.0.1:9/t", true,
	    &e), 0);
	assert_int_equal(oauth_url_check("u", "http://[::1]:9/t", true, &e),
	    0);
	assert_int_equal(oauth_url_check("u", "http://10.0.0.1/t", true, &e),
	    -1);
	big = malloc(OAUTH_URL_MAX + 2);
	assert_non_null(big);
	memset(big, 'a', OAUTH_URL_MAX + 1);
	memcpy(big, "https://a.b/", 12);
	big[OAUTH_URL_MAX + 1] = '\0';
	assert_int_equal(oauth_url_check("u", big, false, &e), -1);
	big[OAUTH_URL_MAX] = '\0';
	assert_int_equal(oauth_url_check("u", big, false, &e), 0);
	free(big);
}

/* A one-vendor file around body (a vendor object's inside). */
static int
parse_one(const char *body, struct av_err *e)
{
	static struct oauth_vendors vs;
	char text[4096];

	snprintf(text, sizeof(text), "{\"version\": 1, \"vendors\": ["
	    "{\"vendor\": \"CustomOauth2\", \"config\": "
	    "\"customOauth2ProviderConfig\", \"tokenEndpointAuthMethod\": "
	    "\"client_secret_basic\", \"scopeSeparator\": \" \", \"docs\": "
	    "\"https://d.example\"}, {%s}]}", body);
	return oauth_vendors_parse(text, strlen(text), &vs, e);
}

#define OK_VENDOR							\
	"\"vendor\": \"AcmeOauth2\", \"config\": "			\
	"\"includedOauth2ProviderConfig\", \"scopeSeparator\": \" \", " \
	"\"docs\": \"https://acme.example/docs\", "			\
	"\"tokenEndpointAuthMethod\": "
#define POST	"\"client_secret_post\""
#define ENDPOINTS							\
	", \"issuer\": \"https://acme.example\", "			\
	"\"authorizationEndpoint\": \"https://acme.example/authorize\", " \
	"\"tokenEndpoint\": \"https://acme.example/token\""

static void
test_broken_files(void **state)
{
	static const char *const broken[] = {
		OK_VENDOR POST,					/* no endpoints */
		OK_VENDOR POST ENDPOINTS ", \"colour\": \"red\"",	/* unknown key */
		OK_VENDOR POST ENDPOINTS ", \"quirks\": [\"magic\"]",
		OK_VENDOR POST ENDPOINTS ", \"quirks\": [\"accept_json\", "
		    "\"accept_json\"]",
		OK_VENDOR POST ENDPOINTS ", \"authorizationParams\": "
		    "{\"redirect_uri\": \"x\"}",
		OK_VENDOR POST ENDPOINTS ", \"authorizationParams\": {\"a\": "
		    "\"b c\"}",
		OK_VENDOR POST ", \"issuer\": \"http://acme.example\", "
		    "\"authorizationEndpoint\": \"https://acme.example/a\", "
		    "\"tokenEndpoint\": \"https://acme.example/t\"",
		/* {issuer} without a value every provider has */
		OK_VENDOR POST ", \"issuer\": \"https://acme.example\", "
		    "\"authorizationEndpoint\": \"{issuer}/a\", "
		    "\"tokenEndpoint\": \"{issuer}/t\", \"inputs\": "
		    "{\"issuer\": {\"example\": \"https://acme.example\"}}",
		/* a field that refers to itself */
		OK_VENDOR POST ", \"issuer\": \"{issuer}\", "
		    "\"authorizationEndpoint\": \"https://acme.example/a\", "
		    "\"tokenEndpoint\": \"https://acme.example/t\", \"inputs\": "
		    "{\"issuer\": {\"required\": true, \"example\": "
		    "\"https://acme.example\"}}",
		/* an input the configuration does not have */
		OK_VENDOR POST ENDPOINTS ", \"inputs\": {\"tenantId\": "
		    "{\"default\": \"x\", \"example\": \"y\"}}",
		OK_VENDOR "\"private_key_jwt\"" ENDPOINTS,
		"\"vendor\": \"CustomOauth2\", \"config\": "
		    "\"customOauth2ProviderConfig\", "
		    "\"tokenEndpointAuthMethod\": \"client_secret_basic\", "
		    "\"scopeSeparator\": \" \", \"docs\": \"https://d.example\"",
		NULL
	};
	struct av_err e;
	size_t i;

	(void)state;
	assert_int_equal(parse_one(OK_VENDOR POST ENDPOINTS, &e), 0);
	for (i = 0; broken[i] != NULL; i++)
		if (parse_one(broken[i], &e) != -1)
			fail_msg("accepted broken vendor %zu", i);
		else
			assert_string_equal(e.type, "InternalServerException");
	{
		static struct oauth_vendors vs;
		static const char *const files[] = {
			"", "[]", "{\"version\": 2, \"vendors\": []}",
			"{\"version\": 1, \"vendors\": []}",
			"{\"version\": 1, \"version\": 1, \"vendors\": []}",
			NULL
		};

		for (i = 0; files[i] != NULL; i++)
			assert_int_equal(oauth_vendors_parse(files[i],
			    strlen(files[i]), &vs, &e), -1);
		/* No CustomOauth2. */
		assert_int_equal(oauth_vendors_parse("{\"version\": 1, "
		    "\"vendors\": [{" OK_VENDOR POST ENDPOINTS "}]}",
		    strlen("{\"version\": 1, \"vendors\": [{" OK_VENDOR
		    ENDPOINTS "}]}"), &vs, &e), -1);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_vendor),
		cmocka_unit_test(test_every_vendor_resolves),
		cmocka_unit_test(test_quirks),
		cmocka_unit_test(test_tenant_and_issuer),
		cmocka_unit_test(test_url_check),
		cmocka_unit_test(test_broken_files),
	};

	return cmocka_run_group_tests_name("vendors", tests, NULL, NULL);
}
