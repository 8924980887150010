/* SPDX-License-Identifier: Apache-2.0 */
/*
 * op_tokens.c - the data plane: workload access tokens and API keys.
 *
 * GetWorkloadAccessToken / ...ForUserId mint a token for a workload
 * identity (and a user); GetResourceApiKey exchanges a valid token for the
 * key of an API-key credential provider.  The agent never holds anything
 * it could use elsewhere: the token is accepted only by this appliance.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "api.h"
#include "provider.h"
#include "user_jwt.h"

#define TEK_TYPE	"token-key"
#define TEK_NAME	"current"
#define API_KEY_KIND	"api-key"
#define API_KEY_MAX	65536

_Static_assert(STORE_KID_LEN == WAT_KID_LEN &&
    STORE_SPKI_MAX == WAT_SPKI_MAX, "token key sizes differ");

static const char service_linked[] = "WorkloadIdentity is linked to a "
    "service and cannot retrieve an access token by the caller.";

/*
 * Record the signing key as the current one (retiring another, which is
 * how a rotation takes effect) and accept the retired keys' tokens until
 * they have all expired: workload access tokens and agent access tokens
 * (whose verifiers find the retired keys in the published JWKS).
 */
static int
previous_keys(struct api_ctx *ctx, struct av_err *e)
{
	struct store_token_key prev[WAT_PREVIOUS_MAX];
	struct wat_keys *k = &ctx->tokens;
	int64_t max_age = k->ttl;
	size_t i, n = 0;

	if (max_age < ctx->cfg->agent_tokens.ttl_seconds)
		max_age = ctx->cfg->agent_tokens.ttl_seconds;
	if (store_token_key_use(ctx->store, k->kid, k->spki, k->spki_len,
	    max_age + WAT_SKEW, (int64_t)time(NULL), prev, WAT_PREVIOUS_MAX, &n,
	    e) != 0)
		return -1;
	for (i = 0; i < n; i++)
		if (wat_keys_add_previous(k, prev[i].kid, prev[i].spki,
		    prev[i].spki_len, prev[i].not_after, e) != 0)
			return -1;
	return 0;
}

int
api_tokens_init(struct api_ctx *ctx, struct av_err *e)
{
	unsigned char tek[WAT_TEK_LEN];
	char audience[80];
	EVP_PKEY *sign;
	size_t len = 0;
	int rc;

	/* The token key: created once, sealed in the vault like a secret. */
	if (store_secret_get(ctx->store, ctx->vault, TEK_TYPE, TEK_NAME, "",
	    tek, sizeof(tek), &len, e) != 0) {
		if (e->type != NULL && strcmp(e->type, AV_E_DECRYPTION) == 0)
			return av_fail(e, AV_E_INTERNAL, "the vault's data keys "
			    "do not open with this KEK (%s); was the KEK "
			    "changed without re-wrapping them?", e->msg);
		if (e->type == NULL || strcmp(e->type, AV_E_NOT_FOUND) != 0)
			return -1;
		if (RAND_priv_bytes(tek, sizeof(tek)) != 1 ||
		    store_secret_put(ctx->store, ctx->vault, TEK_TYPE, TEK_NAME,
		    "", tek, sizeof(tek), e) != 0) {
			OPENSSL_cleanse(tek, sizeof(tek));
			return av_fail(e, AV_E_INTERNAL, "cannot create the "
			    "token key");
		}
		len = sizeof(tek);
	}
	if (len != sizeof(tek)) {
		OPENSSL_cleanse(tek, sizeof(tek));
		return av_fail(e, AV_E_INTERNAL, "the token key is damaged");
	}
	if ((sign = hsm_provider_load_key(NULL,
	    ctx->cfg->hsm.token_signing_key)) == NULL) {
		OPENSSL_cleanse(tek, sizeof(tek));
		return av_fail(e, AV_E_INTERNAL, "cannot load the token-signing "
		    "key %s", ctx->cfg->hsm.token_signing_key);
	}
	snprintf(audience, sizeof(audience), "%s:%s",
	    ctx->cfg->appliance.account, ctx->cfg->appliance.name);
	rc = wat_keys_init(&ctx->tokens, sign, tek, audience,
	    ctx->cfg->tokens.ttl_seconds, e);
	EVP_PKEY_free(sign);
	OPENSSL_cleanse(tek, sizeof(tek));
	if (rc == 0 && (rc = previous_keys(ctx, e)) != 0)
		wat_keys_free(&ctx->tokens);
	/* User JWTs that expired while we were down: erased now (new ones
	 * erase the others as they come). */
	if (rc == 0 && (rc = store_user_jwt_purge(ctx->store, ctx->vault,
	    (int64_t)time(NULL), e)) != 0)
		wat_keys_free(&ctx->tokens);
	return rc;
}

int
api_token_identity(struct api_ctx *ctx, struct api_call *call, json_t *in,
    bool full, struct wi_record *r, struct av_err *e)
{
	struct authz_request q = { 0 };
	json_t *v = json_object_get(in, "workloadName");
	int rc;

	memset(r, 0, sizeof(*r));
	if (v == NULL || !json_is_string(v) ||
	    strlen(json_string_value(v)) < 3 ||
	    strlen(json_string_value(v)) > WAT_WORKLOAD_MAX)
		return av_fail(e, AV_E_VALIDATION, "workloadName is required "
		    "(3 to 255 characters)");
	api_wi_arn(ctx, json_string_value(v), call->resource,
	    sizeof(call->resource));
	/* workloadIdentityArn is the identity a token is asked for; its
	 * tags are the resource's, not the caller's (no as_workload). */
	q.workload = call->resource;
	if (api_authorize(ctx, call, &q, e) != 0)
		return -1;
	/* The row only, unless the caller needs the authorizer too. */
	rc = full ? store_wi_get(ctx->store, json_string_value(v), NULL, r, e) :
	    store_wi_lookup(ctx->store, json_string_value(v), r, e);
	if (full && rc != 0)
		return -1;
	if (!full && rc != 1)
		return rc == 0 ? av_fail(e, AV_E_NOT_FOUND, "no workload "
		    "identity named %s", json_string_value(v)) : -1;
	/* No self-extraction: only its service mints a managed identity's
	 * tokens, never the agent (nor the admin, nor another service). */
	if (r->managed_by[0] != '\0' && (call->service == NULL ||
	    strcmp(call->service, r->managed_by) != 0)) {
		json_decref(r->urls);
		json_decref(r->authorizer);
		memset(r, 0, sizeof(*r));
		return av_fail(e, AV_E_ACCESS_DENIED, "%s", service_linked);
	}
	return 0;
}

/* The workload named in the request must exist and may get a token. */
static int
token_for(struct api_ctx *ctx, struct api_call *call, json_t *in,
    const char *user, json_t *out, struct av_err *e)
{
	struct wi_record r;
	char token[WAT_MAX + 1];
	int rc;

	if (api_token_identity(ctx, call, in, false, &r, e) != 0)
		return -1;
	if ((rc = wat_mint(&ctx->tokens, r.name, user, (int64_t)time(NULL),
	    token, sizeof(token), e)) == 0)
		json_object_set_new(out, "workloadAccessToken",
		    json_string(token));
	return rc;
}

int
op_get_workload_access_token(struct api_ctx *ctx, struct api_call *call,
    json_t *in, json_t *out, struct av_err *e)
{
	static const char *const fields[] = { "workloadName", NULL };

	if (api_only_fields(in, fields, e) != 0)
		return -1;
	return token_for(ctx, call, in, "", out, e);
}

int
op_get_workload_access_token_for_user_id(struct api_ctx *ctx,
    struct api_call *call, json_t *in, json_t *out, struct av_err *e)
{
	static const char *const fields[] = { "workloadName", "userId", NULL };
	json_t *v = json_object_get(in, "userId");
	size_t i, n;

	if (api_only_fields(in, fields, e) != 0)
		return -1;
	/* Any text, e.g. "provider_id+user_id"; printable, 1..128. */
	if (v == NULL || !json_is_string(v) ||
	    (n = strlen(json_string_value(v))) == 0 || n > WAT_USER_MAX ||
	    n != json_string_length(v))
		return av_fail(e, AV_E_VALIDATION, "userId must be 1 to 128 "
		    "characters");
	for (i = 0; i < n; i++)
		if ((unsigned char)json_string_value(v)[i] < 0x20)
			return av_fail(e, AV_E_VALIDATION, "userId has a "
			    "control character");
	/* Nobody poses as the user of a validated JWT. */
	if (user_is_jwt(json_string_value(v)))
		return av_fail(e, AV_E_VALIDATION, "userId: ids starting with "
		    "jwt: are reserved for the users of validated JWTs "
		    "(GetWorkloadAccessTokenForJWT)");
	return token_for(ctx, call, in, json_string_value(v), out, e);
}

int
op_get_resource_api_key(struct api_ctx *ctx, struct api_call *call,
    json_t *in, json_t *out, struct av_err *e)
{
	static const char *const fields[] = { "workloadIdentityToken",
	    "resourceCredentialProviderName", NULL };
	json_t *tok = json_object_get(in, "workloadIdentityToken");
	json_t *prov = json_object_get(in, "resourceCredentialProviderName");
	static __thread unsigned char key[API_KEY_MAX + 1];
	struct authz_request q = { 0 };
	char workload[512];
	struct wat_claims c;
	struct wi_record r;
	size_t len = 0;
	int rc;

	if (api_only_fields(in, fields, e) != 0)
		return -1;
	if (tok == NULL || !json_is_string(tok) || prov == NULL ||
	    !json_is_string(prov) || strlen(json_string_value(prov)) == 0 ||
	    strlen(json_string_value(prov)) > 128)
		return av_fail(e, AV_E_VALIDATION, "workloadIdentityToken and "
		    "resourceCredentialProviderName are required");
	api_provider_arn(ctx, API_PROVIDER_APIKEY, json_string_value(prov),
	    call->resource, sizeof(call->resource));
	if (wat_verify_cached(&ctx->tokens, json_string_value(tok),
	    (int64_t)time(NULL), &c, e) != 0)
		return -1;
	/*
	 * A deleted identity's tokens die with it, and an identity created
	 * again under the same name does not inherit them (to the second:
	 * a token minted in the second of its re-creation still passes).
	 */
	if (store_wi_lookup(ctx->store, c.workload, &r, e) != 1 ||
	    c.iat < r.created)
		return av_fail(e, AV_E_ACCESS_DENIED, "the workload access "
		    "token is not valid");
	api_wi_arn(ctx, c.workload, workload, sizeof(workload));
	q.provider = json_string_value(prov);
	q.workload = workload;
	q.as_workload = true;
	if (api_authorize(ctx, call, &q, e) != 0)
		return -1;
	rc = store_secret_get(ctx->store, ctx->vault, API_KEY_KIND,
	    json_string_value(prov), "", key, API_KEY_MAX, &len, e);
	if (rc == 0) {
		key[len] = '\0';
		json_object_set_new(out, "apiKey", json_stringn((char *)key,
		    len));
	} else if (e->type != NULL && strcmp(e->type, AV_E_NOT_FOUND) == 0) {
		av_fail(e, AV_E_NOT_FOUND, "no API-key credential provider "
		    "named %s", json_string_value(prov));
	}
	OPENSSL_cleanse(key, len);
	return rc;
}
