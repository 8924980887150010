/* SPDX-License-Identifier: Apache-2.0 */
/*
 * op_oauth2_token.c - GetResourceOauth2Token: a workload access token
 * exchanged for an OAuth2 access token of a provider.  The checks are
 * GetResourceApiKey's (op_tokens.c); then M2M answers from the token
 * cache, or defers the call until the client-credentials grant (single
 * flight, oauth_token.h) answers.  USER_FEDERATION is oauth3lo.c's,
 * ON_BEHALF_OF_TOKEN_EXCHANGE oauth_obo.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "api.h"
#include "oauth_token.h"
#include "user_jwt.h"

#define SCOPES_MAX	100
#define SCOPE_MAX	128
#define PARAMS_MAX	10
#define LIST_MAX	10	/* resources, audiences */

/* A string of 1 to max bytes, each printable ASCII (a space too when
 * spaces). */
static bool
printable(json_t *v, size_t max, bool spaces)
{
	const char *s = json_string_value(v);
	size_t i, n;

	if (s == NULL || (n = json_string_length(v)) == 0 || n > max ||
	    strlen(s) != n)
		return false;
	for (i = 0; i < n; i++)
		if (s[i] < (spaces ? 0x20 : 0x21) || s[i] > 0x7e)
			return false;
	return true;
}

/* An absolute URI (RFC 3986: scheme ":" ...), without fragment. */
static bool
absolute_uri(json_t *v)
{
	const char *s = json_string_value(v);
	size_t n;

	if (!printable(v, OAUTH_URL_MAX, false) || strchr(s, '#') != NULL)
		return false;
	n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789+-.");
	return n > 0 && s[n] == ':' && s[n + 1] != '\0' &&
	    ((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'));
}

static int
check_list(json_t *in, const char *f, size_t max, bool (*ok)(json_t *),
    const char *what, struct av_err *e)
{
	json_t *v = json_object_get(in, f), *x;
	size_t i;

	if (v == NULL)
		return 0;
	if (!json_is_array(v) || json_array_size(v) > max)
		return av_fail(e, AV_E_VALIDATION, "%s must be a list of at "
		    "most %zu %s", f, max, what);
	json_array_foreach(v, i, x)
		if (!ok(x))
			return av_fail(e, AV_E_VALIDATION, "%s[%zu] must be %s",
			    f, i, what);
	return 0;
}

static bool
ok_scope(json_t *v)
{
	return printable(v, SCOPE_MAX, false);
}

static bool
ok_audience(json_t *v)
{
	return printable(v, 256, false);
}

/* The request's fields, each as the contract says. */
static int
validate(json_t *in, const char **flow, struct av_err *e)
{
	static const char *const fields[] = { "workloadIdentityToken",
	    "resourceCredentialProviderName", "scopes", "oauth2Flow",
	    "sessionUri", "resourceOauth2ReturnUrl", "forceAuthentication",
	    "customParameters", "customState", "resources", "audiences",
	    NULL };
	static const char *const consent_only[] = { "sessionUri",
	    "resourceOauth2ReturnUrl", "customState", "forceAuthentication",
	    NULL };
	json_t *v, *x;
	const char *k;
	size_t i;

	if (api_only_fields(in, fields, e) != 0)
		return -1;
	if (!json_is_string(json_object_get(in, "workloadIdentityToken")) ||
	    !json_is_string(json_object_get(in,
	    "resourceCredentialProviderName")))
		return av_fail(e, AV_E_VALIDATION, "workloadIdentityToken and "
		    "resourceCredentialProviderName are required");
	if (!api_provider_name_valid(json_string_value(json_object_get(in,
	    "resourceCredentialProviderName"))))
		return av_fail(e, AV_E_VALIDATION, "resourceCredentialProvider"
		    "Name must be 1 to 128 of [a-zA-Z0-9-_]");
	if (json_object_get(in, "scopes") == NULL)
		return av_fail(e, AV_E_VALIDATION, "scopes is required (a list, "
		    "possibly empty)");
	if (check_list(in, "scopes", SCOPES_MAX, ok_scope, "strings of 1 to "
	    "128 printable characters without spaces", e) != 0 ||
	    check_list(in, "resources", LIST_MAX, absolute_uri,
	    "absolute URIs without fragment", e) != 0 ||
	    check_list(in, "audiences", LIST_MAX, ok_audience, "strings of 1 "
	    "to 256 printable characters without spaces", e) != 0)
		return -1;
	*flow = json_string_value(json_object_get(in, "oauth2Flow"));
	if (*flow == NULL || (strcmp(*flow, "M2M") != 0 &&
	    strcmp(*flow, "USER_FEDERATION") != 0 &&
	    strcmp(*flow, "ON_BEHALF_OF_TOKEN_EXCHANGE") != 0))
		return av_fail(e, AV_E_VALIDATION, "oauth2Flow must be M2M, "
		    "USER_FEDERATION or ON_BEHALF_OF_TOKEN_EXCHANGE");
	if ((v = json_object_get(in, "sessionUri")) != NULL &&
	    !printable(v, 1024, false))
		return av_fail(e, AV_E_VALIDATION, "sessionUri must be a "
		    "string of 1 to 1024 characters");
	if ((v = json_object_get(in, "resourceOauth2ReturnUrl")) != NULL &&
	    !printable(v, OAUTH_URL_MAX, false))
		return av_fail(e, AV_E_VALIDATION, "resourceOauth2ReturnUrl "
		    "must be a URL of at most %d characters", OAUTH_URL_MAX);
	if ((v = json_object_get(in, "forceAuthentication")) != NULL &&
	    !json_is_boolean(v))
		return av_fail(e, AV_E_VALIDATION, "forceAuthentication must "
		    "be true or false");
	if ((v = json_object_get(in, "customState")) != NULL &&
	    !printable(v, 4096, true))
		return av_fail(e, AV_E_VALIDATION, "customState must be 1 to "
		    "4096 printable characters");
	if ((v = json_object_get(in, "customParameters")) != NULL) {
		if (!json_is_object(v) || json_object_size(v) > PARAMS_MAX)
			return av_fail(e, AV_E_VALIDATION, "customParameters "
			    "must be an object of at most %d strings",
			    PARAMS_MAX);
		json_object_foreach(v, k, x)
			if (strlen(k) == 0 || strlen(k) > 256 ||
			    !printable(x, 2048, true))
				return av_fail(e, AV_E_VALIDATION,
				    "customParameters: keys of 1 to 256 and "
				    "values of 1 to 2048 characters");
	}
	if (strcmp(*flow, "USER_FEDERATION") != 0)
		for (i = 0; consent_only[i] != NULL; i++)
			if (json_object_get(in, consent_only[i]) != NULL)
				return av_fail(e, AV_E_VALIDATION, "%s is not "
				    "used with oauth2Flow %s", consent_only[i],
				    *flow);
	return 0;
}

/* oauth_wait_fn: the M2M fetch answered; so does the call. */
static void
m2m_done(const struct oauth_result *r, void *arg)
{
	struct api_pending *p = arg;
	struct av_err e = r->e;
	json_t *out, *tok;

	if (r->rc != 0) {
		api_resume(p, -1, NULL, &e);
		return;
	}
	out = json_object();
	tok = json_stringn(r->access, r->access_len);
	if (out == NULL || tok == NULL || json_object_set(out, "accessToken",
	    tok) != 0) {
		av_fail(&e, AV_E_INTERNAL, "out of memory");
		api_resume(p, -1, NULL, &e);
	} else
		api_resume(p, 0, out, NULL);
	if (tok != NULL)
		OPENSSL_cleanse((char *)json_string_value(tok),
		    json_string_length(tok));
	json_decref(tok);
	json_decref(out);
}

/*
 * The cache key of an M2M token: its scopes, and the resources and
 * audiences it was asked for (another audience is another token).
 */
static char *
m2m_key(const struct oauth_token_call *r)
{
	json_t *res = json_object_get(r->in, "resources");
	json_t *aud = json_object_get(r->in, "audiences");
	char *a = NULL, *b = NULL, *key = NULL;

	if (json_array_size(res) == 0 && json_array_size(aud) == 0)
		return strdup(r->scope_key);
	if ((a = oauth_scope_key(res)) != NULL &&
	    (b = oauth_scope_key(aud)) != NULL &&
	    asprintf(&key, "%s\nresource %s\naudience %s", r->scope_key, a,
	    b) < 0)
		key = NULL;
	free(a);
	free(b);
	return key;
}

static int
m2m(struct api_ctx *ctx, struct api_call *call,
    const struct oauth_token_call *r, json_t *out, struct av_err *e)
{
	struct store_oauth_key k = { r->workload, "", r->provider->name,
	    NULL };
	struct oauth_fetch f;
	struct store_oauth_token t;
	struct api_pending *p;
	const char **res = NULL, **aud = NULL;
	char *scope = NULL;
	bool oom1, oom2;
	size_t i;
	char *key;
	int found, rc = -1;

	if ((key = m2m_key(r)) == NULL)
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	k.scope_key = key;
	found = store_oauth_get(ctx->store, ctx->vault, &k, &t, e);
	if (found < 0)
		goto done;
	if (found == 1 && t.expires_at > (int64_t)time(NULL)) {
		rc = json_object_set_new(out, "accessToken", json_stringn(
		    t.access, t.access_len)) == 0 ? 0 : av_fail(e,
		    AV_E_INTERNAL, "out of memory");
		store_oauth_token_clear(&t);
		goto done;
	}
	store_oauth_token_clear(&t);
	/* The vendor's separator between the scopes sent. */
	if ((scope = strdup(r->scope_key)) == NULL) {
		av_fail(e, AV_E_INTERNAL, "out of memory");
		goto done;
	}
	for (i = 0; scope[i] != '\0'; i++)
		if (scope[i] == ' ')
			scope[i] = r->provider->vendor->scope_sep;
	res = oauth_str_list(json_object_get(r->in, "resources"), &oom1);
	aud = oauth_str_list(json_object_get(r->in, "audiences"), &oom2);
	if (oom1 || oom2) {
		av_fail(e, AV_E_INTERNAL, "out of memory");
		goto done;
	}
	memset(&f, 0, sizeof(f));
	f.key = k;
	f.provider = r->provider;
	f.grant.grant = OAUTH_GRANT_CLIENT_CREDENTIALS;
	f.grant.scope = scope;
	f.grant.resources = res;
	f.grant.audiences = aud;
	f.scopes = r->scope_key;
	f.bound = true;
	if ((p = api_defer(call)) == NULL) {
		av_fail(e, AV_E_INTERNAL, "out of memory");
		goto done;
	}
	if (oauth_token_fetch(ctx, ctx->base(ctx->audit_arg), &f, m2m_done, p,
	    e) != 0)
		goto done;	/* api_handle frees the unused p */
	rc = API_PENDING;
done:
	free(key);
	free(scope);
	free(res);
	free(aud);
	return rc;
}

int
op_get_resource_oauth2_token(struct api_ctx *ctx, struct api_call *call,
    json_t *in, json_t *out, struct av_err *e)
{
	struct oauth_token_call r;
	struct oauth_provider prov;
	struct authz_request q = { 0 };
	char workload[512], *key = NULL;
	const char *flow = NULL, *name;
	struct wat_claims c;
	struct wi_record w;
	int rc;

	if (validate(in, &flow, e) != 0)
		return -1;
	name = json_string_value(json_object_get(in,
	    "resourceCredentialProviderName"));
	api_provider_arn(ctx, API_PROVIDER_OAUTH2, name, call->resource,
	    sizeof(call->resource));
	if (wat_verify_cached(&ctx->tokens, json_string_value(
	    json_object_get(in, "workloadIdentityToken")), (int64_t)time(NULL),
	    &c, e) != 0)
		return -1;
	/* As GetResourceApiKey: a deleted or re-created identity's tokens
	 * are no good. */
	if (store_wi_lookup(ctx->store, c.workload, &w, e) != 1 ||
	    c.iat < w.created)
		return av_fail(e, AV_E_ACCESS_DENIED, "the workload access "
		    "token is not valid");
	api_wi_arn(ctx, c.workload, workload, sizeof(workload));
	q.provider = name;
	q.workload = workload;
	q.as_workload = true;
	if (api_authorize(ctx, call, &q, e) != 0)
		return -1;
	/* On behalf of whom: the user of a JWT the appliance validated
	 * and kept, never a caller-chosen user id. */
	if (strcmp(flow, "ON_BEHALF_OF_TOKEN_EXCHANGE") == 0 &&
	    !user_is_jwt(c.user))
		return av_fail(e, AV_E_VALIDATION, "ON_BEHALF_OF_TOKEN_EXCHANGE "
		    "needs a workload access token from "
		    "GetWorkloadAccessTokenForJWT (this one is %s)",
		    c.user[0] == '\0' ? "for no user" : "for a user id");
	if (oauth_provider_load(ctx, name, &prov, e) != 0)
		return -1;
	if ((key = oauth_scope_key(json_object_get(in, "scopes"))) == NULL) {
		oauth_provider_clear(&prov);
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	}
	r.in = in;
	r.workload = c.workload;
	r.user = c.user;
	r.provider = &prov;
	r.scopes = json_object_get(in, "scopes");
	r.scope_key = key;
	if (strcmp(flow, "M2M") == 0)
		rc = m2m(ctx, call, &r, out, e);
	else if (strcmp(flow, "ON_BEHALF_OF_TOKEN_EXCHANGE") == 0)
		rc = oauth_obo_get_token(ctx, call, &r, out, e);
	else
		rc = oauth3lo_get_token(ctx, call, &r, out, e);
	oauth_provider_clear(&prov);
	free(key);
	return rc;
}
