/* SPDX-License-Identifier: Apache-2.0 */
/*
 * op_oauth2.c - OAuth2 credential providers: Create, Get, Update, Delete
 * and List.  A provider is a vendor preset (oauth_vendor.h, its
 * endpoints resolved from the inputs its configuration gives) or
 * CustomOauth2 with a discovery URL or explicit authorization server
 * metadata, plus a client ID and a client secret, or (CustomOauth2 with
 * PRIVATE_KEY_JWT) the label of an OAuth client key in the HSM instead
 * of a secret.  The secret is write-only, as an API key is: sealed on
 * the way in, never in a response, a log or the audit trail.  What is
 * stored besides (vendor, client ID, endpoints, client authentication)
 * is the configuration the responses are built from.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "api.h"

#define KIND		"oauth2"
#define CLIENT_ID_MAX	256
#define SECRET_MAX	2048
#define LIST_MAX	10	/* responseTypes */
#define DISCOVERY_MAX	(64 * 1024)	/* bytes of a discovery document */
#define CALLBACK_PATH	"/identities/oauth2/callback"

/* The client secret of a request, wherever it is: wiped when done
 * (jansson holds its own copy). */
static void
wipe_secret(json_t *in)
{
	json_t *cfg = json_object_get(in, "oauth2ProviderConfigInput"), *c, *s;
	const char *key;

	json_object_foreach(cfg, key, c)
		if ((s = json_object_get(c, "clientSecret")) != NULL &&
		    json_is_string(s))
			OPENSSL_cleanse((char *)json_string_value(s),
			    json_string_length(s));
}

/* A string field of obj: 1 to max bytes, no NUL; NULL when absent. */
static int
get_string(json_t *obj, const char *f, size_t max, bool required,
    const char **out, struct av_err *e)
{
	json_t *v = json_object_get(obj, f);

	*out = NULL;
	if (v == NULL)
		return required ? av_fail(e, AV_E_VALIDATION, "%s is required",
		    f) : 0;
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return av_fail(e, AV_E_VALIDATION, "%s must be a string of 1 "
		    "to %zu characters", f, max);
	*out = json_string_value(v);
	return 0;
}

/* Fields AgentCore has that this appliance does not do (yet). */
static int
unsupported(json_t *c, bool custom, struct av_err *e)
{
	static const struct {
		const char	*field;
		bool		 custom_only;
		const char	*why;
	} fields[] = {
		{ "clientSecretSource", false, "secrets are always kept in "
		    "the appliance's vault" },
		{ "clientSecretConfig", false, "secrets are always kept in "
		    "the appliance's vault" },
		{ "privateEndpoint", true, "there are no VPC private "
		    "endpoints on the appliance" },
		{ "privateEndpointOverrides", true, "there are no VPC "
		    "private endpoints on the appliance" },
	};
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if ((custom || !fields[i].custom_only) &&
		    json_object_get(c, fields[i].field) != NULL)
			return av_fail(e, AV_E_VALIDATION, "%s: %s",
			    fields[i].field, fields[i].why);
	return 0;
}

/* clientAuthenticationMethod: AgentCore's upper-case names. */
static int
get_auth_method(json_t *c, enum oauth_auth_method *m, struct av_err *e)
{
	const char *s;

	if (get_string(c, "clientAuthenticationMethod", 32, false, &s, e) != 0)
		return -1;
	if (s == NULL || strcmp(s, "CLIENT_SECRET_BASIC") == 0)
		*m = OAUTH_AUTH_BASIC;
	else if (strcmp(s, "CLIENT_SECRET_POST") == 0)
		*m = OAUTH_AUTH_POST;
	else if (strcmp(s, "PRIVATE_KEY_JWT") == 0)
		*m = OAUTH_AUTH_PRIVATE_KEY_JWT;
	else if (strcmp(s, "AWS_IAM_ID_TOKEN_JWT") == 0)
		return av_fail(e, AV_E_VALIDATION, "clientAuthenticationMethod "
		    "AWS_IAM_ID_TOKEN_JWT is not available on the appliance");
	else
		return av_fail(e, AV_E_VALIDATION, "clientAuthenticationMethod "
		    "must be CLIENT_SECRET_BASIC, CLIENT_SECRET_POST or "
		    "PRIVATE_KEY_JWT");
	return 0;
}

static const char *
auth_method_upper(enum oauth_auth_method m)
{
	return m == OAUTH_AUTH_POST ? "CLIENT_SECRET_POST" :
	    m == OAUTH_AUTH_PRIVATE_KEY_JWT ? "PRIVATE_KEY_JWT" :
	    "CLIENT_SECRET_BASIC";
}

/* The stored method's name ("client_secret_post"...) in AgentCore's
 * upper case. */
static const char *
stored_method_upper(json_t *config)
{
	const char *m = json_string_value(json_object_get(config,
	    "clientAuthenticationMethod"));

	return auth_method_upper(m == NULL ? OAUTH_AUTH_BASIC :
	    strcmp(m, "client_secret_post") == 0 ? OAUTH_AUTH_POST :
	    strcmp(m, "private_key_jwt") == 0 ? OAUTH_AUTH_PRIVATE_KEY_JWT :
	    OAUTH_AUTH_BASIC);
}

/*
 * additionalHeaderClaims or additionalPayloadClaims: AgentCore's map of
 * at most 10 names of [A-Za-z0-9_.:#-]{1,255} to strings of 1 to 2048
 * printable characters, none a member the appliance sets, into out.
 */
static int
extra_claims(json_t *p, const char *f, const char *const reserved[],
    json_t *out, struct av_err *e)
{
	json_t *m = json_object_get(p, f), *v;
	const char *k, *s;
	size_t i, n;

	if (m == NULL)
		return 0;
	if (!json_is_object(m) || json_object_size(m) > CLIENT_CLAIMS_MAX)
		return av_fail(e, AV_E_VALIDATION, "privateKeyJwtConfig.%s "
		    "must map at most %d names to strings", f,
		    CLIENT_CLAIMS_MAX);
	json_object_foreach(m, k, v) {
		n = strlen(k);
		if (n == 0 || n > CLIENT_CLAIM_NAME_MAX || strspn(k,
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789_.:#-") != n)
			return av_fail(e, AV_E_VALIDATION,
			    "privateKeyJwtConfig.%s: names are 1 to %d of "
			    "[A-Za-z0-9_.:#-]", f, CLIENT_CLAIM_NAME_MAX);
		for (i = 0; reserved[i] != NULL; i++)
			if (strcmp(k, reserved[i]) == 0)
				return av_fail(e, AV_E_VALIDATION,
				    "privateKeyJwtConfig.%s: %s is set by the "
				    "appliance", f, k);
		s = json_string_value(v);
		if (s == NULL || (n = json_string_length(v)) == 0 ||
		    n > CLIENT_CLAIM_VALUE_MAX)
			return av_fail(e, AV_E_VALIDATION,
			    "privateKeyJwtConfig.%s.%s must be a string of 1 "
			    "to %d characters", f, k, CLIENT_CLAIM_VALUE_MAX);
		for (i = 0; i < n; i++)
			if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
				return av_fail(e, AV_E_VALIDATION,
				    "privateKeyJwtConfig.%s.%s has a control "
				    "character", f, k);
	}
	json_object_set(out, f, m);
	return 0;
}

/*
 * privateKeyJwtConfig, AgentCore's shape with the key source mapped to
 * the HSM: privateKeySource is a union whose member here is
 * hsmKeySource {keyLabel} (an OAuth client key the worker loaded), not
 * kmsKeySource; signingAlgorithm is ES256 (the keys are P-256); the
 * additional claims as AgentCore takes them.  Into the configuration as
 * stored and returned.
 */
static int
private_key_jwt_config(const struct api_ctx *ctx, json_t *c, json_t *out,
    struct av_err *e)
{
	static const char *const fields[] = { "signingAlgorithm",
	    "privateKeySource", "additionalHeaderClaims",
	    "additionalPayloadClaims", NULL };
	static const char *const hsm_fields[] = { "keyLabel", NULL };
	/* What the appliance sets (and crit, b64: they change how the
	 * token is read or signed). */
	static const char *const header[] = { "alg", "typ", "kid", "crit",
	    "b64", NULL };
	static const char *const payload[] = { "iss", "sub", "aud", "jti",
	    "iat", "exp", NULL };
	json_t *p = json_object_get(c, "privateKeyJwtConfig"), *src, *hs, *o;
	const char *alg, *label;

	if (!json_is_object(p))
		return av_fail(e, AV_E_VALIDATION, "PRIVATE_KEY_JWT needs "
		    "privateKeyJwtConfig with privateKeySource.hsmKeySource."
		    "keyLabel");
	if (api_only_fields(p, fields, e) != 0 ||
	    get_string(p, "signingAlgorithm", 16, false, &alg, e) != 0)
		return -1;
	if (alg != NULL && strcmp(alg, "ES256") != 0)
		return av_fail(e, AV_E_VALIDATION, "privateKeyJwtConfig."
		    "signingAlgorithm %s: the appliance's OAuth client keys "
		    "are EC P-256, use ES256", alg);
	src = json_object_get(p, "privateKeySource");
	if (json_is_object(src) && json_object_get(src, "kmsKeySource") !=
	    NULL)
		return av_fail(e, AV_E_VALIDATION, "privateKeyJwtConfig."
		    "privateKeySource.kmsKeySource: there is no AWS KMS on the "
		    "appliance; give hsmKeySource.keyLabel, a key made by "
		    "agentvault-ceremony new-oauth-client-key");
	if (!json_is_object(src) || json_object_size(src) != 1 ||
	    !json_is_object(hs = json_object_get(src, "hsmKeySource")))
		return av_fail(e, AV_E_VALIDATION, "privateKeyJwtConfig."
		    "privateKeySource must have one member, hsmKeySource");
	if (api_only_fields(hs, hsm_fields, e) != 0 ||
	    get_string(hs, "keyLabel", CLIENT_KEY_LABEL_MAX, true, &label,
	    e) != 0)
		return -1;
	if ((o = json_pack("{s:s, s:{s:{s:s}}}", "signingAlgorithm", "ES256",
	    "privateKeySource", "hsmKeySource", "keyLabel", label)) == NULL)
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	json_object_set_new(out, "privateKeyJwtConfig", o);
	if (extra_claims(p, "additionalHeaderClaims", header, o, e) != 0 ||
	    extra_claims(p, "additionalPayloadClaims", payload, o, e) != 0)
		return -1;
	if (client_key_find(&ctx->client_keys, label) == NULL)
		return av_fail(e, AV_E_VALIDATION, "privateKeyJwtConfig: no "
		    "OAuth client key labelled %s is loaded (make it with "
		    "agentvault-ceremony new-oauth-client-key, then reload "
		    "agentvaultd)", label);
	return 0;
}

/* An array of 1 to max strings, each checked by ok(), copied to out. */
static int
get_list(json_t *md, const char *f, size_t max,
    int (*ok)(const char *, struct av_err *), json_t *out, struct av_err *e)
{
	json_t *v = json_object_get(md, f), *s;
	size_t i;

	if (v == NULL)
		return 0;
	if (!json_is_array(v) || json_array_size(v) == 0 ||
	    json_array_size(v) > max)
		return av_fail(e, AV_E_VALIDATION, "%s must be a list of 1 to "
		    "%zu strings", f, max);
	json_array_foreach(v, i, s) {
		if (!json_is_string(s) || ok(json_string_value(s), e) != 0)
			return json_is_string(s) ? -1 : av_fail(e,
			    AV_E_VALIDATION, "%s must be a list of strings", f);
	}
	json_object_set(out, f, v);
	return 0;
}

static int
ok_response_type(const char *s, struct av_err *e)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64 || strspn(s, "abcdefghijklmnopqrstuvwxyz_ ") != n)
		return av_fail(e, AV_E_VALIDATION, "responseTypes are [a-z_ ] "
		    "such as code");
	return 0;
}

static int
ok_auth_method(const char *s, struct av_err *e)
{
	if (strcmp(s, "client_secret_basic") == 0 ||
	    strcmp(s, "client_secret_post") == 0 ||
	    strcmp(s, "private_key_jwt") == 0)
		return 0;
	return av_fail(e, AV_E_VALIDATION, "tokenEndpointAuthMethods are "
	    "client_secret_basic, client_secret_post or private_key_jwt");
}

/* AgentCore's pattern: .+/\.well-known/(openid-configuration|
 * oauth-authorization-server).  The length of what precedes the
 * suffix (the issuer the URL names), or 0 when there is none. */
static size_t
discovery_suffix(const char *url)
{
	static const char *const suffixes[] = {
		"/.well-known/openid-configuration",
		"/.well-known/oauth-authorization-server",
	};
	size_t i, n = strlen(url), k;

	for (i = 0; i < 2; i++) {
		k = strlen(suffixes[i]);
		if (n > k && strcmp(url + n - k, suffixes[i]) == 0)
			return n - k;
	}
	return 0;
}

/* customOauth2ProviderConfig.oauthDiscovery, into the configuration. */
static int
custom_discovery(const struct api_ctx *ctx, json_t *c,
    enum oauth_auth_method m, json_t *out, struct av_err *e)
{
	static const char *const md_fields[] = { "issuer",
	    "authorizationEndpoint", "tokenEndpoint", "responseTypes",
	    "tokenEndpointAuthMethods", NULL };
	static const char *const d_fields[] = { "discoveryUrl",
	    "authorizationServerMetadata", NULL };
	bool loop = ctx->cfg->outbound.allow_http_loopback;
	json_t *d = json_object_get(c, "oauthDiscovery"), *md, *methods, *x;
	const char *url;
	size_t i;

	if (d == NULL || !json_is_object(d) || json_object_size(d) != 1)
		return av_fail(e, AV_E_VALIDATION, "oauthDiscovery must have "
		    "either discoveryUrl or authorizationServerMetadata");
	if (api_only_fields(d, d_fields, e) != 0)
		return -1;
	if (json_object_get(d, "discoveryUrl") != NULL) {
		/* The rest comes from the document (discovery_fetch). */
		if (get_string(d, "discoveryUrl", OAUTH_URL_MAX, true, &url,
		    e) != 0 || oauth_url_check("discoveryUrl", url, loop,
		    e) != 0)
			return -1;
		if (discovery_suffix(url) == 0)
			return av_fail(e, AV_E_VALIDATION, "discoveryUrl must "
			    "end in /.well-known/openid-configuration or "
			    "/.well-known/oauth-authorization-server");
		json_object_set_new(out, "discoveryUrl", json_string(url));
		return 0;
	}
	md = json_object_get(d, "authorizationServerMetadata");
	if (!json_is_object(md) || api_only_fields(md, md_fields, e) != 0)
		return json_is_object(md) ? -1 : av_fail(e, AV_E_VALIDATION,
		    "authorizationServerMetadata must be an object");
	for (i = 0; i < 3; i++) {
		if (get_string(md, md_fields[i], OAUTH_URL_MAX, true, &url,
		    e) != 0 || oauth_url_check(md_fields[i], url, loop, e) != 0)
			return -1;
		json_object_set_new(out, md_fields[i], json_string(url));
	}
	if (get_list(md, "responseTypes", LIST_MAX, ok_response_type, out,
	    e) != 0 || get_list(md, "tokenEndpointAuthMethods", 3,
	    ok_auth_method, out, e) != 0)
		return -1;
	/* The server's list, when given, must have the method chosen. */
	methods = json_object_get(out, "tokenEndpointAuthMethods");
	json_array_foreach(methods, i, x)
		if (strcmp(json_string_value(x), oauth_auth_method_name(m)) == 0)
			return 0;
	if (methods != NULL)
		return av_fail(e, AV_E_VALIDATION, "clientAuthenticationMethod "
		    "%s is not among the tokenEndpointAuthMethods",
		    auth_method_upper(m));
	return 0;
}

/* A preset's inputs, resolved to its endpoints, into the configuration. */
static int
preset_endpoints(const struct api_ctx *ctx, const struct oauth_vendor *v,
    json_t *c, json_t *out, struct av_err *e)
{
	char (*ep)[OAUTH_URL_MAX + 1];
	const char *in[OAUTH_FIELDS];
	int f, rc = -1;

	if ((ep = calloc(OAUTH_FIELDS, sizeof(*ep))) == NULL)
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	for (f = 0; f < OAUTH_FIELDS; f++)
		if (get_string(c, oauth_field_name(f), f == OAUTH_TENANT_ID ?
		    256 : OAUTH_URL_MAX, false, &in[f], e) != 0)
			goto done;
	if (oauth_vendor_resolve(v, in, ctx->cfg->outbound.allow_http_loopback,
	    ep, e) != 0)
		goto done;
	if (in[OAUTH_TENANT_ID] != NULL || v->input[OAUTH_TENANT_ID].accepted)
		json_object_set_new(out, "tenantId", json_string(
		    in[OAUTH_TENANT_ID] != NULL ? in[OAUTH_TENANT_ID] :
		    v->input[OAUTH_TENANT_ID].def));
	for (f = OAUTH_ISSUER; f < OAUTH_FIELDS; f++)
		json_object_set_new(out, oauth_field_name(f),
		    json_string(ep[f]));
	json_object_set_new(out, "responseTypes", json_pack("[s]", "code"));
	json_object_set_new(out, "tokenEndpointAuthMethods", json_pack("[s]",
	    oauth_auth_method_name(v->auth)));
	rc = 0;
done:
	free(ep);
	return rc;
}

/* A scope of actorTokenScopes: GetResourceOauth2Token's rule. */
static int
ok_scope(const char *s, struct av_err *e)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 128)
		goto bad;
	for (i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			goto bad;
	return 0;
bad:
	return av_fail(e, AV_E_VALIDATION, "onBehalfOfTokenExchangeConfig: "
	    "actorTokenScopes must be strings of 1 to 128 printable characters "
	    "without spaces");
}

/*
 * onBehalfOfTokenExchangeConfig (docs/obo.md), checked and copied into
 * the stored configuration: CustomOauth2 takes either grant; a vendor
 * whose on-behalf-of is its own (Microsoft's jwt-bearer with
 * requested_token_use) the JWT bearer grant only; others none.
 */
static int
get_obo(const struct oauth_vendor *v, json_t *c, json_t *out,
    struct av_err *e)
{
	static const char *const fields[] = { "grantType",
	    "tokenExchangeGrantTypeConfig", NULL };
	static const char *const tfields[] = { "actorTokenContent",
	    "actorTokenScopes", NULL };
	json_t *o = json_object_get(c, "onBehalfOfTokenExchangeConfig");
	json_t *t, *copy, *tcopy;
	const char *g, *actor = "NONE";

	if (o == NULL)
		return 0;
	if (!v->custom && !(v->quirks & OAUTH_QUIRK_ON_BEHALF_OF))
		return av_fail(e, AV_E_VALIDATION, "onBehalfOfTokenExchange"
		    "Config: %s has no on-behalf-of token exchange (use "
		    "CustomOauth2 with the vendor's endpoints)", v->name);
	if (!json_is_object(o))
		return av_fail(e, AV_E_VALIDATION, "onBehalfOfTokenExchange"
		    "Config must be an object");
	if (api_only_fields(o, fields, e) != 0)
		return -1;
	g = json_string_value(json_object_get(o, "grantType"));
	if (g == NULL || (strcmp(g, "TOKEN_EXCHANGE") != 0 &&
	    strcmp(g, "JWT_AUTHORIZATION_GRANT") != 0))
		return av_fail(e, AV_E_VALIDATION, "onBehalfOfTokenExchange"
		    "Config: grantType must be TOKEN_EXCHANGE or "
		    "JWT_AUTHORIZATION_GRANT");
	if (!v->custom && strcmp(g, "JWT_AUTHORIZATION_GRANT") != 0)
		return av_fail(e, AV_E_VALIDATION, "onBehalfOfTokenExchange"
		    "Config: %s's on-behalf-of is the JWT bearer grant: "
		    "grantType must be JWT_AUTHORIZATION_GRANT", v->name);
	t = json_object_get(o, "tokenExchangeGrantTypeConfig");
	if (t != NULL && strcmp(g, "TOKEN_EXCHANGE") != 0)
		return av_fail(e, AV_E_VALIDATION, "onBehalfOfTokenExchange"
		    "Config: tokenExchangeGrantTypeConfig goes with grantType "
		    "TOKEN_EXCHANGE only (RFC 7523 has no actor)");
	if ((copy = json_pack("{s:s}", "grantType", g)) == NULL)
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	if (t != NULL) {
		if (!json_is_object(t) || api_only_fields(t, tfields, e) != 0) {
			json_decref(copy);
			return json_is_object(t) ? -1 : av_fail(e,
			    AV_E_VALIDATION, "tokenExchangeGrantTypeConfig "
			    "must be an object");
		}
		if (json_object_get(t, "actorTokenContent") != NULL)
			actor = json_string_value(json_object_get(t,
			    "actorTokenContent"));
		if (actor == NULL || (strcmp(actor, "M2M") != 0 &&
		    strcmp(actor, "WORKLOAD_IDENTITY_JWT") != 0 &&
		    strcmp(actor, "AWS_IAM_ID_TOKEN_JWT") != 0 &&
		    strcmp(actor, "NONE") != 0)) {
			json_decref(copy);
			return av_fail(e, AV_E_VALIDATION, "onBehalfOfToken"
			    "ExchangeConfig: actorTokenContent must be M2M, "
			    "WORKLOAD_IDENTITY_JWT (or its alias "
			    "AWS_IAM_ID_TOKEN_JWT) or NONE");
		}
		if ((tcopy = json_pack("{s:s}", "actorTokenContent",
		    actor)) == NULL) {
			json_decref(copy);
			return av_fail(e, AV_E_INTERNAL, "out of memory");
		}
		json_object_set_new(copy, "tokenExchangeGrantTypeConfig",
		    tcopy);
		if (json_object_get(t, "actorTokenScopes") != NULL &&
		    strcmp(actor, "NONE") == 0) {
			json_decref(copy);
			return av_fail(e, AV_E_VALIDATION, "onBehalfOfToken"
			    "ExchangeConfig: actorTokenScopes needs an actor "
			    "token (actorTokenContent M2M or "
			    "WORKLOAD_IDENTITY_JWT)");
		}
		if (get_list(t, "actorTokenScopes", 100, ok_scope, tcopy,
		    e) != 0) {
			json_decref(copy);
			return -1;
		}
	}
	json_object_set_new(out, "onBehalfOfTokenExchangeConfig", copy);
	return 0;
}

/*
 * credentialProviderVendor and oauth2ProviderConfigInput, checked: the
 * configuration to store (*config, a new reference) and the client
 * secret (NULL when absent: required unless updating).
 */
static int
get_config(struct api_ctx *ctx, json_t *in, bool update, json_t **config,
    json_t **secret, struct av_err *e)
{
	const struct oauth_vendor *v;
	enum oauth_auth_method m;
	const char *vendor, *key, *id, *sec;
	json_t *cfg, *c, *out;
	int f;

	*config = *secret = NULL;
	if (get_string(in, "credentialProviderVendor", 64, true, &vendor,
	    e) != 0)
		return -1;
	if ((v = oauth_vendor_find(ctx->vendors, vendor)) == NULL)
		return av_fail(e, AV_E_VALIDATION, "credentialProviderVendor "
		    "'%.64s' is not an OAuth2 vendor (docs/oauth.md)", vendor);
	cfg = json_object_get(in, "oauth2ProviderConfigInput");
	if (cfg == NULL || !json_is_object(cfg) || json_object_size(cfg) != 1)
		return av_fail(e, AV_E_VALIDATION, "oauth2ProviderConfigInput "
		    "must have one member, %s", v->config);
	key = json_object_iter_key(json_object_iter(cfg));
	c = json_object_get(cfg, key);
	if (strcmp(key, v->config) != 0)
		return av_fail(e, AV_E_VALIDATION, "%s is configured with %s, "
		    "not %.64s", v->name, v->config, key);
	if (!json_is_object(c))
		return av_fail(e, AV_E_VALIDATION, "%s must be an object",
		    v->config);
	if (unsupported(c, v->custom, e) != 0)
		return -1;
	/* The fields this vendor takes: client, then its inputs. */
	{
		const char *allowed[OAUTH_FIELDS + 7];
		size_t n = 0;

		allowed[n++] = "clientId";
		allowed[n++] = "clientSecret";
		allowed[n++] = "onBehalfOfTokenExchangeConfig";
		if (v->custom) {
			allowed[n++] = "oauthDiscovery";
			allowed[n++] = "clientAuthenticationMethod";
			allowed[n++] = "privateKeyJwtConfig";
		}
		for (f = 0; f < OAUTH_FIELDS; f++)
			if (v->input[f].accepted)
				allowed[n++] = oauth_field_name(f);
		allowed[n] = NULL;
		if (api_only_fields(c, allowed, e) != 0) {
			/* Say why an AgentCore field is refused here. */
			for (f = 0; f < OAUTH_FIELDS; f++)
				if (json_object_get(c, oauth_field_name(f)) !=
				    NULL && !v->input[f].accepted)
					return av_fail(e, AV_E_VALIDATION, "%s "
					    "takes no %s", v->name,
					    oauth_field_name(f));
			return -1;
		}
	}
	if (get_string(c, "clientId", CLIENT_ID_MAX, true, &id, e) != 0)
		return -1;
	if (strspn(id, "!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRS"
	    "TUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~") != strlen(id))
		return av_fail(e, AV_E_VALIDATION, "clientId must be printable "
		    "ASCII without spaces");
	m = v->auth;
	if (v->custom && get_auth_method(c, &m, e) != 0)
		return -1;
	/* private_key_jwt: a key in the HSM, and no secret stored. */
	if (m == OAUTH_AUTH_PRIVATE_KEY_JWT && json_object_get(c,
	    "clientSecret") != NULL)
		return av_fail(e, AV_E_VALIDATION, "clientSecret: "
		    "PRIVATE_KEY_JWT authenticates with a key in the HSM, not "
		    "a secret");
	if (m != OAUTH_AUTH_PRIVATE_KEY_JWT && json_object_get(c,
	    "privateKeyJwtConfig") != NULL)
		return av_fail(e, AV_E_VALIDATION, "privateKeyJwtConfig needs "
		    "clientAuthenticationMethod PRIVATE_KEY_JWT");
	if (get_string(c, "clientSecret", SECRET_MAX, !update &&
	    m != OAUTH_AUTH_PRIVATE_KEY_JWT, &sec, e) != 0)
		return -1;
	if ((out = json_pack("{s:s, s:s, s:s}", "vendor", v->name, "clientId",
	    id, "clientAuthenticationMethod", oauth_auth_method_name(m))) ==
	    NULL)
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	if (get_obo(v, c, out, e) != 0 ||
	    (m == OAUTH_AUTH_PRIVATE_KEY_JWT &&
	    private_key_jwt_config(ctx, c, out, e) != 0) ||
	    (v->custom ? custom_discovery(ctx, c, m, out, e) :
	    preset_endpoints(ctx, v, c, out, e)) != 0) {
		json_decref(out);
		return -1;
	}
	*config = out;
	*secret = sec != NULL ? json_object_get(c, "clientSecret") : NULL;
	return 0;
}

/* The appliance's OAuth callback, on its TCP listener by the name
 * browsers know it by (else its address); NULL without a listener. */
json_t *
api_oauth2_callback_url(const struct api_ctx *ctx)
{
	const struct av_tcp_config *t = &ctx->cfg->listen.tcp;
	const char *host = t->public_name[0] != '\0' ? t->public_name :
	    t->address;
	bool v6 = strchr(host, ':') != NULL;

	if (!t->enabled)
		return NULL;
	return json_sprintf("https://%s%s%s:%u%s", v6 ? "[" : "", host,
	    v6 ? "]" : "", t->port, CALLBACK_PATH);
}

/* oauth2ProviderConfigOutput from a stored configuration. */
static json_t *
config_output(const struct oauth_vendor *v, json_t *config)
{
	static const char *const md_fields[] = { "issuer",
	    "authorizationEndpoint", "tokenEndpoint", "responseTypes",
	    "tokenEndpointAuthMethods", NULL };
	json_t *o, *md, *x;
	size_t i;

	o = json_pack("{s:O?}", "clientId", json_object_get(config,
	    "clientId"));
	/* With a discovery URL, the metadata resolved from its document
	 * (oauthDiscovery is a union: one member). */
	md = json_object();
	for (i = 0; md_fields[i] != NULL; i++)
		if ((x = json_object_get(config, md_fields[i])) != NULL)
			json_object_set(md, md_fields[i], x);
	json_object_set_new(o, "oauthDiscovery", json_pack("{s:o}",
	    "authorizationServerMetadata", md));
	if ((x = json_object_get(config, "onBehalfOfTokenExchangeConfig")) !=
	    NULL)
		json_object_set(o, "onBehalfOfTokenExchangeConfig", x);
	if (v->custom)
		json_object_set_new(o, "clientAuthenticationMethod",
		    json_string(stored_method_upper(config)));
	if ((x = json_object_get(config, "privateKeyJwtConfig")) != NULL)
		json_object_set(o, "privateKeyJwtConfig", x);
	return json_pack("{s:o}", v->config, o);
}

/*
 * The response for a provider: name, ARNs, callback and configuration;
 * with times (created > 0: Get, Update) its vendor too.
 */
static int
describe(struct api_ctx *ctx, const struct api_call *call, const char *name,
    const char *config_text, int64_t created, int64_t updated, json_t *out,
    struct av_err *e)
{
	const struct oauth_vendor *v;
	json_t *config, *cb;
	char secret[1100];

	if ((config = json_loads(config_text, 0, NULL)) == NULL ||
	    (v = oauth_vendor_find(ctx->vendors, json_string_value(
	    json_object_get(config, "vendor")))) == NULL) {
		json_decref(config);
		return av_fail(e, AV_E_INTERNAL, "the stored configuration of "
		    "%s is damaged", name);
	}
	snprintf(secret, sizeof(secret), "%s/secret", call->resource);
	json_object_set_new(out, "name", json_string(name));
	json_object_set_new(out, "credentialProviderArn",
	    json_string(call->resource));
	json_object_set_new(out, "clientSecretArn",
	    json_pack("{s:s}", "secretArn", secret));
	if ((cb = api_oauth2_callback_url(ctx)) != NULL)
		json_object_set_new(out, "callbackUrl", cb);
	json_object_set_new(out, "oauth2ProviderConfigOutput",
	    config_output(v, config));
	if (created > 0) {
		json_object_set_new(out, "credentialProviderVendor",
		    json_string(v->name));
		json_object_set_new(out, "createdTime", json_integer(created));
		json_object_set_new(out, "lastUpdatedTime",
		    json_integer(updated));
	}
	json_decref(config);
	return 0;
}

/* The configuration authenticates with a key (private_key_jwt). */
static bool
uses_key(json_t *config)
{
	const char *m = json_string_value(json_object_get(config,
	    "clientAuthenticationMethod"));

	return m != NULL && strcmp(m, "private_key_jwt") == 0;
}

/*
 * Store a new provider (or, updating, its new configuration and the
 * secret when given) and describe it in out.  A provider that now
 * authenticates with a key keeps no secret: one left from its earlier
 * method is erased.
 */
static int
save(struct api_ctx *ctx, const struct api_call *call, bool update,
    const char *name, json_t *config, const char *secret, size_t len,
    json_t *tags, json_t *out, struct av_err *e)
{
	int64_t created, updated;
	char *text, *stored = NULL;
	int rc;

	if ((text = json_dumps(config, JSON_COMPACT)) == NULL)
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	if (!update)
		rc = store_provider_create(ctx->store, ctx->vault, KIND, name,
		    call->resource, text, (const uint8_t *)secret, len, tags,
		    ctx->cfg->quotas.oauth2_providers, e) != 0 ||
		    describe(ctx, call, name, text, 0, 0, out, e) != 0 ? -1 : 0;
	else
		rc = store_provider_update(ctx->store, ctx->vault, KIND, name,
		    text, (const uint8_t *)secret, len, e) != 0 ||
		    store_provider_get(ctx->store, KIND, name, &created,
		    &updated, &stored, e) != 0 ||
		    describe(ctx, call, name, stored, created, updated, out,
		    e) != 0 ? -1 : 0;
	if (rc == 0 && update && uses_key(config) &&
	    store_secret_delete(ctx->store, ctx->vault, KIND, name, "", e) !=
	    0 && strcmp(e->type, AV_E_NOT_FOUND) != 0)
		rc = -1;
	free(text);
	free(stored);
	return rc;
}

/* A Create or Update waiting for its discovery document. */
struct discovery {
	struct api_ctx		*ctx;
	struct api_pending	*p;
	bool			 update;
	char			 name[API_PROVIDER_NAME_MAX + 1];
	json_t			*config;	/* with discoveryUrl */
	char			*secret;	/* or NULL; wiped */
	size_t			 secret_len;
	json_t			*tags;
};

static void
discovery_free(struct discovery *d)
{
	if (d->secret != NULL) {
		OPENSSL_cleanse(d->secret, d->secret_len);
		free(d->secret);
	}
	json_decref(d->config);
	json_decref(d->tags);
	free(d);
}

/* The strings of the document's list f that ok() accepts, at most max,
 * as the configuration's field to; absent lists are left absent. */
static int
doc_list(json_t *doc, const char *f, const char *to, size_t max,
    int (*ok)(const char *, struct av_err *), json_t *config,
    struct av_err *e)
{
	json_t *v = json_object_get(doc, f), *x, *keep;
	struct av_err ignored;
	size_t i;

	if (v == NULL)
		return 0;
	if (!json_is_array(v))
		return av_fail(e, AV_E_VALIDATION, "discoveryUrl: the "
		    "document's %s is not a list", f);
	keep = json_array();
	json_array_foreach(v, i, x)
		if (json_is_string(x) && json_array_size(keep) < max &&
		    ok(json_string_value(x), &ignored) == 0)
			json_array_append(keep, x);
	json_object_set_new(config, to, keep);
	return 0;
}

static int
ok_known_method(const char *s, struct av_err *e)
{
	return strcmp(s, "client_secret_basic") == 0 ||
	    strcmp(s, "client_secret_post") == 0 ||
	    strcmp(s, "private_key_jwt") == 0 ? 0 : av_fail(e,
	    AV_E_VALIDATION, "unknown");
}

/*
 * The discovery document (RFC 8414 section 3, OpenID Connect Discovery
 * section 4): checked, its metadata into the configuration.  The issuer
 * must be the discovery URL without its well-known suffix, exactly
 * (RFC 8414 3.3, OIDC Discovery 4.3): a document served for another
 * issuer is refused, whoever serves it.
 */
static int
discovery_take(const struct api_ctx *ctx, const struct outbound_resp *r,
    json_t *config, struct av_err *e)
{
	static const struct {
		const char	*doc, *cfg;
	} eps[] = {
		{ "authorization_endpoint", "authorizationEndpoint" },
		{ "token_endpoint", "tokenEndpoint" },
	};
	const char *url = json_string_value(json_object_get(config,
	    "discoveryUrl")), *m;
	bool loop = ctx->cfg->outbound.allow_http_loopback;
	char what[64];
	json_t *doc, *v, *methods;
	size_t n, i;
	int rc = -1;

	if (r->error == OUTBOUND_E_TOO_LARGE)
		return av_fail(e, AV_E_VALIDATION, "discoveryUrl: the "
		    "document is too large");
	if (r->error != OUTBOUND_OK)
		return av_fail(e, AV_E_VALIDATION, "discoveryUrl: the "
		    "document cannot be fetched (%s)",
		    outbound_error_name(r->error));
	if (r->status != 200)
		return av_fail(e, AV_E_VALIDATION, "discoveryUrl: the server "
		    "answered HTTP %ld", r->status);
	if (r->body_len > DISCOVERY_MAX)
		return av_fail(e, AV_E_VALIDATION, "discoveryUrl: the "
		    "document is too large");
	if ((doc = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES,
	    NULL)) == NULL || !json_is_object(doc)) {
		json_decref(doc);
		return av_fail(e, AV_E_VALIDATION, "discoveryUrl: the "
		    "document is not a JSON object");
	}
	n = discovery_suffix(url);
	v = json_object_get(doc, "issuer");
	if (!json_is_string(v) || json_string_length(v) != n ||
	    strncmp(json_string_value(v), url, n) != 0) {
		av_fail(e, AV_E_VALIDATION, "discoveryUrl: the document's "
		    "issuer is not %.*s, the issuer the discovery URL names",
		    (int)n, url);
		goto done;
	}
	json_object_set(config, "issuer", v);
	for (i = 0; i < 2; i++) {
		v = json_object_get(doc, eps[i].doc);
		snprintf(what, sizeof(what), "discoveryUrl: the document's %s",
		    eps[i].doc);
		if (v == NULL) {
			av_fail(e, AV_E_VALIDATION, "%s is missing", what);
			goto done;
		}
		if (!json_is_string(v) || strlen(json_string_value(v)) !=
		    json_string_length(v) || oauth_url_check(what,
		    json_string_value(v), loop, e) != 0) {
			if (json_is_string(v))
				goto done;
			av_fail(e, AV_E_VALIDATION, "%s is not a string",
			    what);
			goto done;
		}
		json_object_set(config, eps[i].cfg, v);
	}
	if (doc_list(doc, "response_types_supported", "responseTypes",
	    LIST_MAX, ok_response_type, config, e) != 0 ||
	    doc_list(doc, "token_endpoint_auth_methods_supported",
	    "tokenEndpointAuthMethods", 3, ok_known_method, config, e) != 0)
		goto done;
	/* Without the list, client_secret_basic (RFC 8414 section 2). */
	if ((methods = json_object_get(config, "tokenEndpointAuthMethods")) ==
	    NULL)
		json_object_set_new(config, "tokenEndpointAuthMethods",
		    json_pack("[s]", "client_secret_basic"));
	methods = json_object_get(config, "tokenEndpointAuthMethods");
	m = json_string_value(json_object_get(config,
	    "clientAuthenticationMethod"));
	json_array_foreach(methods, i, v)
		if (strcmp(json_string_value(v), m) == 0)
			rc = 0;
	if (rc != 0)
		av_fail(e, AV_E_VALIDATION, "discoveryUrl: the server does "
		    "not list the client authentication method %s among its "
		    "token_endpoint_auth_methods_supported", m);
done:
	json_decref(doc);
	return rc;
}

/* outbound_done_fn: the document is here; so is the call's answer. */
static void
discovery_done(const struct outbound_resp *r, void *arg)
{
	struct discovery *d = arg;
	struct api_call *call = api_pending_call(d->p);
	struct av_err e = { NULL, "" };
	json_t *out = json_object();
	int rc;

	rc = out == NULL ? av_fail(&e, AV_E_INTERNAL, "out of memory") :
	    discovery_take(d->ctx, r, d->config, &e) != 0 ||
	    save(d->ctx, call, d->update, d->name, d->config, d->secret,
	    d->secret_len, d->tags, out, &e) != 0 ? -1 : 0;
	api_resume(d->p, rc, out, rc == 0 ? NULL : &e);
	json_decref(out);
	discovery_free(d);
}

/*
 * Fetch the discovery document of config's discoveryUrl, then finish the
 * Create or Update (discovery_done): the call is deferred meanwhile.
 */
static int
discovery_fetch(struct api_ctx *ctx, struct api_call *call, bool update,
    const char *name, json_t *config, json_t *secret, json_t *tags,
    struct av_err *e)
{
	static const char *const headers[] = { "Accept: application/json",
	    NULL };
	struct outbound_req q = { .method = OUTBOUND_GET, .headers = headers };
	struct discovery *d;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	d->ctx = ctx;
	d->update = update;
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->config = json_incref(config);
	d->tags = json_incref(tags);
	if (secret != NULL) {
		d->secret_len = json_string_length(secret);
		if ((d->secret = malloc(d->secret_len + 1)) == NULL) {
			discovery_free(d);
			return av_fail(e, AV_E_INTERNAL, "out of memory");
		}
		memcpy(d->secret, json_string_value(secret), d->secret_len + 1);
	}
	q.url = json_string_value(json_object_get(config, "discoveryUrl"));
	if ((d->p = api_defer(call)) == NULL) {
		discovery_free(d);
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	}
	if (outbound_request(ctx->outbound(ctx->audit_arg), &q,
	    discovery_done, d, e) != 0) {
		discovery_free(d);	/* api_handle frees the unused p */
		return -1;
	}
	return API_PENDING;
}

int
op_create_oauth2_provider(struct api_ctx *ctx, struct api_call *call,
    json_t *in, json_t *out, struct av_err *e)
{
	static const char *const fields[] = { "name",
	    "credentialProviderVendor", "oauth2ProviderConfigInput", "tags",
	    NULL };
	json_t *config = NULL, *secret, *tags = NULL;
	const char *name;
	int rc = -1;

	if (api_only_fields(in, fields, e) != 0 ||
	    api_get_provider_name(ctx, call, API_PROVIDER_OAUTH2, in, &name,
	    e) != 0 ||
	    get_config(ctx, in, false, &config, &secret, e) != 0 ||
	    api_get_tags(in, &tags, e) != 0 ||
	    api_allow(ctx, call, tags, e) != 0)
		goto done;
	if (json_object_get(config, "discoveryUrl") != NULL)
		rc = discovery_fetch(ctx, call, false, name, config, secret,
		    tags, e);
	else
		rc = save(ctx, call, false, name, config,
		    json_string_value(secret), json_string_length(secret), tags,
		    out, e);
done:
	wipe_secret(in);
	json_decref(config);
	json_decref(tags);
	return rc;
}

int
op_get_oauth2_provider(struct api_ctx *ctx, struct api_call *call,
    json_t *in, json_t *out, struct av_err *e)
{
	static const char *const fields[] = { "name", NULL };
	int64_t created, updated;
	char *config = NULL;
	const char *name;
	int rc;

	rc = api_only_fields(in, fields, e) != 0 ||
	    api_get_provider_name(ctx, call, API_PROVIDER_OAUTH2, in, &name,
	    e) != 0 ||
	    api_allow(ctx, call, NULL, e) != 0 ||
	    store_provider_get(ctx->store, KIND, name, &created, &updated,
	    &config, e) != 0 ||
	    describe(ctx, call, name, config, created, updated, out, e) != 0 ?
	    -1 : 0;
	free(config);
	return rc;
}

/* The whole configuration is replaced; the secret only when given. */
int
op_update_oauth2_provider(struct api_ctx *ctx, struct api_call *call,
    json_t *in, json_t *out, struct av_err *e)
{
	static const char *const fields[] = { "name",
	    "credentialProviderVendor", "oauth2ProviderConfigInput", NULL };
	json_t *config = NULL, *secret, *old = NULL;
	char *stored = NULL;
	const char *name;
	int rc = -1;

	if (api_only_fields(in, fields, e) != 0 ||
	    api_get_provider_name(ctx, call, API_PROVIDER_OAUTH2, in, &name,
	    e) != 0 ||
	    get_config(ctx, in, true, &config, &secret, e) != 0 ||
	    api_allow(ctx, call, NULL, e) != 0)
		goto done;
	/* From a key back to a secret: there is none to keep. */
	if (secret == NULL && !uses_key(config) &&
	    store_provider_get(ctx->store, KIND, name, NULL, NULL, &stored,
	    NULL) == 0 && (old = json_loads(stored, 0, NULL)) != NULL &&
	    uses_key(old)) {
		av_fail(e, AV_E_VALIDATION, "clientSecret is required: %s "
		    "authenticated with a key (PRIVATE_KEY_JWT) and has no "
		    "secret", name);
		goto done;
	}
	if (json_object_get(config, "discoveryUrl") != NULL)
		rc = discovery_fetch(ctx, call, true, name, config, secret,
		    NULL, e);
	else
		rc = save(ctx, call, true, name, config, secret != NULL ?
		    json_string_value(secret) : NULL, secret != NULL ?
		    json_string_length(secret) : 0, NULL, out, e);
done:
	wipe_secret(in);
	json_decref(config);
	json_decref(old);
	free(stored);
	return rc;
}

int
op_delete_oauth2_provider(struct api_ctx *ctx, struct api_call *call,
    json_t *in, json_t *out, struct av_err *e)
{
	static const char *const fields[] = { "name", NULL };
	const char *name;

	(void)out;
	if (api_only_fields(in, fields, e) != 0 ||
	    api_get_provider_name(ctx, call, API_PROVIDER_OAUTH2, in, &name,
	    e) != 0 ||
	    api_allow(ctx, call, NULL, e) != 0)
		return -1;
	return store_provider_delete(ctx->store, ctx->vault, KIND, name,
	    call->resource, e);
}

int
op_list_oauth2_providers(struct api_ctx *ctx, struct api_call *call,
    json_t *in, json_t *out, struct av_err *e)
{
	json_t *names = json_array(), *list = json_array(), *n, *config;
	char after[API_PROVIDER_NAME_MAX + 1], arn[1024], *text;
	int64_t created, updated;
	bool more = false;
	unsigned max;
	size_t i;
	int rc = -1;

	if (api_page_params(in, &max, after, sizeof(after), e) != 0)
		goto done;
	if (after[0] != '\0' && !api_provider_name_valid(after)) {
		av_fail(e, AV_E_VALIDATION, "invalid nextToken");
		goto done;
	}
	api_vault_arn(ctx, call->resource, sizeof(call->resource));
	if (api_allow(ctx, call, NULL, e) != 0 ||
	    store_provider_list(ctx->store, KIND, after, max, names, &more,
	    e) != 0)
		goto done;
	json_array_foreach(names, i, n) {
		/* One deleted meanwhile is left out. */
		text = NULL;
		if (store_provider_get(ctx->store, KIND, json_string_value(n),
		    &created, &updated, &text, NULL) != 0)
			continue;
		config = json_loads(text, 0, NULL);
		free(text);
		api_provider_arn(ctx, API_PROVIDER_OAUTH2, json_string_value(n), arn,
		    sizeof(arn));
		json_array_append_new(list, json_pack("{s:O, s:O?, s:s, s:I, "
		    "s:I}", "name", n, "credentialProviderVendor",
		    json_object_get(config, "vendor"), "credentialProviderArn",
		    arn, "createdTime", (json_int_t)created, "lastUpdatedTime",
		    (json_int_t)updated));
		json_decref(config);
	}
	json_object_set(out, "credentialProviders", list);
	if (more)
		api_page_token_set(out, names);
	rc = 0;
done:
	json_decref(names);
	json_decref(list);
	return rc;
}
