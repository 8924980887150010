/* SPDX-License-Identifier: Apache-2.0 */
/*
 * op_inbound.c - user JWTs coming in: GetWorkloadAccessTokenForJWT (a
 * workload access token for the user of a JWT the identity's authorizer
 * accepts, the JWT kept sealed for on-behalf-of use) and CheckJwt (the
 * same validation, for operators: `agentvault jwt check`).  Both wait,
 * deferred, while the identity provider's keys are fetched.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "api.h"
#include "authorizer.h"
#include "jwt.h"
#include "user_jwt.h"

/* A call waiting for the keys. */
struct inbound {
	struct api_ctx		*ctx;
	struct api_call		*call;	/* or the pending one's */
	struct api_pending	*p;	/* NULL until deferred */
	char			 workload[WAT_WORKLOAD_MAX + 1];
	char			*token;	/* ForJWT: kept (wiped) */
	size_t			 len;
};

static void
inbound_free(struct inbound *x)
{
	if (x->token != NULL)
		OPENSSL_clear_free(x->token, x->len);
	free(x);
}

/* The token of field f: a string of 1 to JWT_MAX bytes, copied. */
static int
get_token(json_t *in, const char *f, struct inbound *x, struct av_err *e)
{
	json_t *v = json_object_get(in, f);

	if (!json_is_string(v) || (x->len = json_string_length(v)) == 0 ||
	    x->len > JWT_MAX || strlen(json_string_value(v)) != x->len)
		return av_fail(e, AV_E_VALIDATION, "%s is required (a JWT of "
		    "at most %d bytes)", f, JWT_MAX);
	if ((x->token = malloc(x->len + 1)) == NULL)
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	memcpy(x->token, json_string_value(v), x->len + 1);
	return 0;
}

/* ---- GetWorkloadAccessTokenForJWT ---- */

/* The JWT is valid: keep it, mint the token bound to its user. */
static int
for_jwt_finish(struct inbound *x, struct authorizer_result *r, json_t *out,
    struct av_err *e)
{
	struct api_ctx *ctx = x->ctx;
	int64_t now = (int64_t)time(NULL);
	char token[WAT_MAX + 1];

	snprintf(x->call->user_issuer, sizeof(x->call->user_issuer), "%s",
	    r->issuer);
	snprintf(x->call->user_subject_hash,
	    sizeof(x->call->user_subject_hash), "%s", r->subject_hash);
	if (r->exp <= now)
		return av_fail(e, AV_E_ACCESS_DENIED, "the token has expired");
	if (user_jwt_keep(ctx, x->workload, r->user, r->issuer,
	    r->subject_hash, x->token, x->len, r->exp, e) != 0 ||
	    wat_mint_until(&ctx->tokens, x->workload, r->user, now, r->exp,
	    token, sizeof(token), e) != 0)
		return -1;
	json_object_set_new(out, "workloadAccessToken", json_string(token));
	OPENSSL_cleanse(token, sizeof(token));
	return 0;
}

/* authorizer_done_fn */
static void
for_jwt_ready(int rc, struct authorizer_result *r, struct av_err *e,
    void *arg)
{
	struct inbound *x = arg;
	struct av_err err = { NULL, "" };
	json_t *out = json_object();

	x->call = api_pending_call(x->p);
	if (rc == 0) {
		rc = out == NULL ? av_fail(&err, AV_E_INTERNAL, "out of "
		    "memory") : for_jwt_finish(x, r, out, &err);
		e = &err;
	}
	api_resume(x->p, rc, out, rc == 0 ? NULL : e);
	json_decref(out);
	inbound_free(x);
}

int
op_get_workload_access_token_for_jwt(struct api_ctx *ctx,
    struct api_call *call, json_t *in, json_t *out, struct av_err *e)
{
	static const char *const fields[] = { "workloadName", "userToken",
	    NULL };
	struct authorizer_result r;
	struct wi_record w;
	struct inbound *x;
	json_t *config;
	int rc = -1;

	if (api_only_fields(in, fields, e) != 0)
		return -1;
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	x->ctx = ctx;
	x->call = call;
	if (get_token(in, "userToken", x, e) != 0 ||
	    api_token_identity(ctx, call, in, true, &w, e) != 0) {
		inbound_free(x);
		return -1;
	}
	snprintf(x->workload, sizeof(x->workload), "%s", w.name);
	/* Its own authorizer, else the directory's. */
	if ((config = json_incref(w.authorizer)) == NULL &&
	    (config = authorizer_config_default(ctx->cfg)) == NULL) {
		av_fail(e, AV_E_VALIDATION, "the workload identity %s has no "
		    "authorizerConfiguration and the directory has no default "
		    "authorizer (authorizer.discovery_url): no JWT is "
		    "accepted for it", w.name);
		goto done;
	}
	if ((x->p = api_defer(call)) == NULL) {
		av_fail(e, AV_E_INTERNAL, "out of memory");
		goto done;
	}
	rc = authorizer_validate(ctx, config, x->token, x->len, &r,
	    for_jwt_ready, x, e);
	if (rc == AUTHORIZER_PENDING) {
		x = NULL;	/* for_jwt_ready's */
		rc = API_PENDING;
	} else if (rc == 0) {
		/* Answered now: api_handle frees the unused pending. */
		rc = for_jwt_finish(x, &r, out, e);
		authorizer_result_clear(&r);
	}
done:
	json_decref(config);
	json_decref(w.urls);
	json_decref(w.authorizer);
	if (x != NULL)
		inbound_free(x);
	return rc;
}

/* ---- CheckJwt ---- */

/* The outcome of a check, as the answer says it. */
static void
check_answer(int rc, const struct authorizer_result *r,
    const struct av_err *e, json_t *out)
{
	json_object_set_new(out, "valid", json_boolean(rc == 0));
	if (rc != 0) {
		json_object_set_new(out, "errorType", json_string(e->type));
		json_object_set_new(out, "reason", json_string(e->msg));
		return;
	}
	json_object_set_new(out, "issuer", json_string(r->issuer));
	json_object_set_new(out, "subject", json_string(r->subject));
	if (r->audience != NULL)
		json_object_set(out, "audience", r->audience);
	json_object_set_new(out, "expiresAt", json_integer(r->exp));
	if (r->client[0] != '\0')
		json_object_set_new(out, "clientId", json_string(r->client));
	json_object_set_new(out, "algorithm", json_string(r->alg));
	json_object_set_new(out, "userId", json_string(r->user));
}

/* authorizer_done_fn */
static void
check_ready(int rc, struct authorizer_result *r, struct av_err *e, void *arg)
{
	struct inbound *x = arg;
	json_t *out = json_object();

	if (out == NULL) {
		struct av_err oom = { AV_E_INTERNAL, "out of memory" };

		api_resume(x->p, -1, NULL, &oom);
	} else {
		check_answer(rc, r, e, out);
		api_resume(x->p, 0, out, NULL);
	}
	json_decref(out);
	inbound_free(x);
}

int
op_check_jwt(struct api_ctx *ctx, struct api_call *call, json_t *in,
    json_t *out, struct av_err *e)
{
	static const char *const fields[] = { "token",
	    "authorizerConfiguration", NULL };
	struct authorizer_result r;
	struct authz_request q = { 0 };
	struct av_err why = { NULL, "" };
	struct inbound *x;
	json_t *config = NULL;
	int rc = -1;

	if (api_only_fields(in, fields, e) != 0)
		return -1;
	api_directory_arn(ctx, call->resource, sizeof(call->resource));
	if (api_authorize(ctx, call, &q, e) != 0)
		return -1;
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	x->ctx = ctx;
	x->call = call;
	if (get_token(in, "token", x, e) != 0 ||
	    authorizer_config_check(json_object_get(in,
	    "authorizerConfiguration"), ctx->cfg->outbound.allow_http_loopback,
	    &config, e) != 0)
		goto done;
	if ((x->p = api_defer(call)) == NULL) {
		av_fail(e, AV_E_INTERNAL, "out of memory");
		goto done;
	}
	rc = authorizer_validate(ctx, config, x->token, x->len, &r,
	    check_ready, x, &why);
	if (rc == AUTHORIZER_PENDING) {
		x = NULL;
		rc = API_PENDING;
	} else {
		check_answer(rc, &r, &why, out);
		authorizer_result_clear(&r);
		rc = 0;
	}
done:
	json_decref(config);
	if (x != NULL)
		inbound_free(x);
	return rc;
}
