/* SPDX-License-Identifier: Apache-2.0 */
/*
 * op_sts.c - the appliance as an RFC 8693 token service.
 *
 * POST /oauth2/token exchanges a workload access token bound to a user
 * (the subject token) for an agent access token (agent_token.h): sub is
 * the user, act.sub the workload identity that acts for it, aud the
 * audience asked.  The caller is a principal as for every data-plane
 * call, and its policy must allow bedrock-agentcore:GetAgentAccessToken
 * on the workload identity.  The discovery document and the JWKS that
 * verify the tokens are published to anybody, on every listener.
 */
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "agent_token.h"
#include "api.h"
#include "http_parse.h"
#include "user_jwt.h"

#define GRANT_TOKEN_EXCHANGE	"urn:ietf:params:oauth:grant-type:token-exchange"
#define TYPE_WAT	"urn:agentvault:params:oauth:token-type:workload_access_token"
#define TYPE_ACCESS	"urn:ietf:params:oauth:token-type:access_token"
#define TYPE_JWT	"urn:ietf:params:oauth:token-type:jwt"

/* 1..max printable ASCII characters, no space (an audience). */
static bool
printable(const char *s, size_t max)
{
	size_t n = strlen(s), i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return n > 0 && n <= max;
}

/* RFC 6749 section 3.3: scope-tokens of NQCHAR, one space apart. */
static bool
scope_ok(const char *s)
{
	size_t n = strlen(s), i;

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == ' ' ? i == 0 || i + 1 == n || s[i + 1] == ' ' :
		    ch < 0x21 || ch == 0x22 || ch == 0x5c || ch > 0x7e)
			return false;
	}
	return n > 0 && n <= AGENT_TOKEN_SCOPE_MAX;
}

/* The audience: allowed by agent_tokens.audiences, when it has any. */
static int
audience_ok(const struct api_ctx *ctx, const char *aud, struct av_err *e)
{
	const struct av_audience_list *l = &ctx->cfg->agent_tokens.audiences;
	size_t i;

	if (!printable(aud, AGENT_TOKEN_AUD_MAX))
		return av_fail(e, AV_E_VALIDATION, "audience must be 1 to %d "
		    "printable characters without spaces", AGENT_TOKEN_AUD_MAX);
	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], aud) == 0)
			return 0;
	return l->n == 0 ? 0 : av_fail(e, AV_E_VALIDATION, "audience is not "
	    "one this appliance issues tokens for (agent_tokens.audiences)");
}

/* The request's parameters, checked, with the error code of each
 * refusal (RFC 8693 section 2.2.2) in call->oauth_error. */
static int
request_check(struct api_ctx *ctx, struct api_call *call,
    const struct http_form *f, struct av_err *e)
{
	const char *grant = http_form_get(f, "grant_type");
	const char *type = http_form_get(f, "subject_token_type");
	const char *want = http_form_get(f, "requested_token_type");
	const char *aud = http_form_get(f, "audience");
	const char *scope = http_form_get(f, "scope");

	if (grant == NULL)
		return av_fail(e, AV_E_VALIDATION, "grant_type is required");
	if (strcmp(grant, GRANT_TOKEN_EXCHANGE) != 0) {
		call->oauth_error = "unsupported_grant_type";
		return av_fail(e, AV_E_VALIDATION, "grant_type must be "
		    GRANT_TOKEN_EXCHANGE);
	}
	if (http_form_get(f, "subject_token") == NULL || type == NULL)
		return av_fail(e, AV_E_VALIDATION, "subject_token and "
		    "subject_token_type are required");
	if (strcmp(type, TYPE_WAT) != 0)
		return av_fail(e, AV_E_VALIDATION, "subject_token_type must be "
		    TYPE_WAT " (a workload access token bound to a user)");
	/* The workload access token names the actor itself. */
	if (http_form_get(f, "actor_token") != NULL ||
	    http_form_get(f, "actor_token_type") != NULL)
		return av_fail(e, AV_E_VALIDATION, "actor_token is not used: "
		    "the workload access token names the acting workload");
	if (want != NULL && strcmp(want, TYPE_ACCESS) != 0 &&
	    strcmp(want, TYPE_JWT) != 0)
		return av_fail(e, AV_E_VALIDATION, "requested_token_type must "
		    "be " TYPE_ACCESS " or " TYPE_JWT);
	if (scope != NULL && !scope_ok(scope)) {
		call->oauth_error = "invalid_scope";
		return av_fail(e, AV_E_VALIDATION, "scope must be scope tokens "
		    "one space apart, at most %d characters",
		    AGENT_TOKEN_SCOPE_MAX);
	}
	if (http_form_get(f, "resource") != NULL) {
		call->oauth_error = "invalid_target";
		return av_fail(e, AV_E_VALIDATION, "resource is not supported: "
		    "name the target with audience");
	}
	if (aud == NULL)
		return av_fail(e, AV_E_VALIDATION, "audience is required");
	if (audience_ok(ctx, aud, e) != 0) {
		call->oauth_error = "invalid_target";
		return -1;
	}
	return 0;
}

/*
 * The token's sub: the user id the workload access token was minted for
 * or, for a user JWT's, the sub of the JWT the appliance kept.
 */
static int
subject_of(struct api_ctx *ctx, const struct wat_claims *c, int64_t now,
    char *sub, size_t len, struct av_err *e)
{
	char iss[1024];
	char *jwt = NULL;
	size_t jlen = 0;
	int rc;

	if (!user_is_jwt(c->user)) {
		if (strlen(c->user) >= len)
			return av_fail(e, AV_E_INTERNAL, "user too long");
		memcpy(sub, c->user, strlen(c->user) + 1);
		return 0;
	}
	rc = user_jwt_get(ctx, c->workload, c->user, now, &jwt, &jlen, iss,
	    sizeof(iss), sub, len, e);
	OPENSSL_clear_free(jwt, jlen);
	return rc;
}

int
op_get_agent_access_token(struct api_ctx *ctx, struct api_call *call,
    json_t *in, json_t *out, struct av_err *e)
{
	struct agent_token_req r = { 0 };
	struct authz_request q = { 0 };
	struct http_form f = { 0 };
	struct wat_claims c;
	struct wi_record w;
	char sub[AGENT_TOKEN_SUB_MAX + 1], token[AGENT_TOKEN_MAX + 1];
	const char *want, *why;
	int64_t now = (int64_t)time(NULL);
	int rc = -1;

	(void)in;
	if (!call->req->form) {
		av_fail(e, AV_E_VALIDATION, "the body must be "
		    "application/x-www-form-urlencoded (RFC 8693)");
		goto done;
	}
	if (http_form_parse(call->req->body, call->req->body_len, &f,
	    &why) != 0) {
		av_fail(e, why != NULL ? AV_E_VALIDATION : AV_E_INTERNAL, "%s",
		    why != NULL ? why : "out of memory");
		goto done;
	}
	if (request_check(ctx, call, &f, e) != 0)
		goto done;
	/* RFC 8693 section 2.2.2: a subject token that is not valid, for
	 * whatever reason, is an invalid_request. */
	call->oauth_error = "invalid_request";
	if (wat_verify_cached(&ctx->tokens, http_form_get(&f,
	    "subject_token"), now, &c, e) != 0)
		goto done;
	if (store_wi_lookup(ctx->store, c.workload, &w, e) != 1 ||
	    c.iat < w.created) {
		av_fail(e, AV_E_ACCESS_DENIED, "the workload access token is "
		    "not valid");
		goto done;
	}
	api_wi_arn(ctx, c.workload, call->resource, sizeof(call->resource));
	q.workload = call->resource;
	q.as_workload = true;
	call->oauth_error = NULL;	/* a refusal: unauthorized_client */
	if (api_authorize(ctx, call, &q, e) != 0)
		goto done;
	call->oauth_error = "invalid_request";
	/* An agent access token says whom the agent acts for. */
	if (c.user[0] == '\0') {
		av_fail(e, AV_E_VALIDATION, "the workload access token is bound "
		    "to no user: get one for a user (GetWorkloadAccessTokenFor"
		    "UserId or ...ForJWT)");
		goto done;
	}
	/* The user JWT kept, gone or expired: the token is no good. */
	if (subject_of(ctx, &c, now, sub, sizeof(sub), e) != 0)
		goto done;
	r.sub = sub;
	r.actor = call->resource;
	r.audience = http_form_get(&f, "audience");
	r.scope = http_form_get(&f, "scope");
	r.now = now;
	/* Short, and never beyond the subject token's own expiry. */
	r.ttl = ctx->cfg->agent_tokens.ttl_seconds;
	if (c.exp - now < r.ttl)
		r.ttl = c.exp - now;
	if (r.ttl < 1) {
		av_fail(e, AV_E_ACCESS_DENIED, "the workload access token is "
		    "not valid");
		goto done;
	}
	call->oauth_error = NULL;
	if (agent_token_mint(ctx, &r, token, sizeof(token), e) != 0)
		goto done;
	want = http_form_get(&f, "requested_token_type");
	json_object_set_new(out, "access_token", json_string(token));
	json_object_set_new(out, "issued_token_type", json_string(
	    want != NULL ? want : TYPE_ACCESS));
	json_object_set_new(out, "token_type", json_string("Bearer"));
	json_object_set_new(out, "expires_in", json_integer(r.ttl));
	if (r.scope != NULL)
		json_object_set_new(out, "scope", json_string(r.scope));
	OPENSSL_cleanse(token, sizeof(token));
	rc = 0;
done:
	http_form_free(&f);
	return rc;
}

/* The OpenID Provider Metadata a token service has (OpenID Connect
 * Discovery 1.0 section 3, RFC 8414), naming the issuer's endpoints. */
int
op_openid_configuration(struct api_ctx *ctx, struct api_call *call,
    json_t *in, json_t *out, struct av_err *e)
{
	char iss[AV_ISSUER_SIZE];

	(void)call;
	(void)in;
	if (agent_token_issuer(ctx, iss, sizeof(iss), e) != 0) {
		e->type = AV_E_NOT_FOUND;
		return -1;
	}
	json_object_set_new(out, "issuer", json_string(iss));
	json_object_set_new(out, "jwks_uri", json_sprintf("%s/.well-known/"
	    "jwks.json", iss));
	json_object_set_new(out, "token_endpoint", json_sprintf("%s/oauth2/"
	    "token", iss));
	json_object_set_new(out, "grant_types_supported", json_pack("[s]",
	    GRANT_TOKEN_EXCHANGE));
	json_object_set_new(out, "token_endpoint_auth_methods_supported",
	    json_pack("[s]", "tls_client_auth"));
	json_object_set_new(out, "response_types_supported", json_array());
	json_object_set_new(out, "subject_types_supported", json_pack("[s]",
	    "public"));
	json_object_set_new(out, "id_token_signing_alg_values_supported",
	    json_pack("[s]", "ES256"));
	return 0;
}

int
op_jwks(struct api_ctx *ctx, struct api_call *call, json_t *in, json_t *out,
    struct av_err *e)
{
	json_t *jwks;

	(void)call;
	(void)in;
	if ((jwks = agent_token_jwks(ctx, (int64_t)time(NULL))) == NULL)
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	json_object_update(out, jwks);
	json_decref(jwks);
	return 0;
}
