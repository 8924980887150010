/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oauth_obo.c - GetResourceOauth2Token with ON_BEHALF_OF_TOKEN_EXCHANGE
 * (docs/obo.md): the user's JWT that the appliance kept when it issued
 * the workload access token (user_jwt.h) is traded at the provider's
 * token endpoint for a downstream token, by RFC 8693 token exchange
 * (with an actor token: the provider's own client-credentials token, or
 * a workload JWT the appliance signs, agent_token.h) or by the RFC 7523
 * JWT bearer grant (Microsoft's adds requested_token_use=on_behalf_of).
 * The agent never holds the user's JWT nor the client secret.
 *
 * Exchanged tokens are cached in the OAuth token vault per (workload,
 * user, provider, "obo:" scope key), through the single flight, until
 * shortly before they expire and never beyond the user's JWT.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#include "agent_token.h"
#include "api.h"
#include "jwt.h"
#include "oauth_token.h"
#include "user_jwt.h"

#define OBO_PREFIX	"obo:"
#define ACTOR_TTL	60		/* seconds a workload actor JWT lives */
#define ACTOR_JWT_MAX	(AGENT_TOKEN_MAX + 1)

enum actor { ACTOR_NONE, ACTOR_M2M, ACTOR_WORKLOAD_JWT };

/* A call waiting for its actor token or its exchange. */
struct obo {
	struct api_ctx		*ctx;
	struct api_pending	*p;
	struct oauth_provider	 prov;		/* config referenced */
	bool			 token_exchange; /* else jwt-bearer */
	enum actor		 actor;
	json_t			*actor_scopes;	/* or NULL */
	char			 workload[129];
	char			 workload_arn[512];
	char			*user;
	char			*key;		/* "obo:" ... */
	char			*scope_key;
	char			*scope;		/* as sent */
	json_t			*resources, *audiences;
};

static void
obo_free(struct obo *o)
{
	oauth_provider_clear(&o->prov);
	json_decref(o->actor_scopes);
	json_decref(o->resources);
	json_decref(o->audiences);
	free(o->user);
	free(o->key);
	free(o->scope_key);
	free(o->scope);
	free(o);
}

/* The scopes of a key with the vendor's separator, as sent (malloc). */
static char *
scope_sent(const struct oauth_provider *p, const char *key)
{
	char *s;
	size_t i;

	if ((s = strdup(key)) == NULL)
		return NULL;
	for (i = 0; s[i] != '\0'; i++)
		if (s[i] == ' ')
			s[i] = p->vendor->scope_sep;
	return s;
}

/*
 * RFC 8693 3: an access token (RFC 9068's typ at+jwt, or claims only
 * access tokens carry: scope, scp, client_id) is sent as one; any other
 * JWT (an ID token) as a JWT.
 */
static const char *
subject_type(const struct jwt *t)
{
	const char *typ = json_string_value(json_object_get(jwt_header(t),
	    "typ"));
	json_t *c = jwt_claims(t);

	if ((typ != NULL && (strcasecmp(typ, "at+jwt") == 0 ||
	    strcasecmp(typ, "application/at+jwt") == 0)) ||
	    json_object_get(c, "scope") != NULL ||
	    json_object_get(c, "scp") != NULL ||
	    json_object_get(c, "client_id") != NULL)
		return OAUTH_TT_ACCESS_TOKEN;
	return OAUTH_TT_JWT;
}

/* oauth_wait_fn: the exchange answered; so does the call. */
static void
exchange_done(const struct oauth_result *r, void *arg)
{
	struct obo *o = arg;
	struct av_err e = r->e;
	json_t *out, *tok;

	if (r->rc != 0) {
		/* Name the provider; the code (when any) is in r->e. */
		av_fail(&e, r->e.type, "the on-behalf-of token exchange at "
		    "%s failed: %s", o->prov.name, r->e.msg);
		api_resume(o->p, -1, NULL, &e);
		obo_free(o);
		return;
	}
	out = json_object();
	tok = json_stringn(r->access, r->access_len);
	if (out == NULL || tok == NULL || json_object_set(out, "accessToken",
	    tok) != 0) {
		av_fail(&e, AV_E_INTERNAL, "out of memory");
		api_resume(o->p, -1, NULL, &e);
	} else
		api_resume(o->p, 0, out, NULL);
	if (tok != NULL)
		OPENSSL_cleanse((char *)json_string_value(tok),
		    json_string_length(tok));
	json_decref(tok);
	json_decref(out);
	obo_free(o);
}

/* The actor JWT for WORKLOAD_IDENTITY_JWT: the workload, for the
 * provider's token endpoint, signed in the HSM with the agent-token key
 * (published in the appliance's JWKS). */
static int
workload_jwt(struct obo *o, char *out, size_t len, struct av_err *e)
{
	struct agent_token_req q = { 0 };
	char *scope = NULL;
	int rc;

	if (o->actor_scopes != NULL &&
	    (scope = oauth_scope_key(o->actor_scopes)) == NULL)
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	q.sub = o->workload_arn;
	q.audience = o->prov.token_endpoint;
	q.scope = scope;
	q.now = (int64_t)time(NULL);
	/* Long enough for the one request; 0: agent_tokens.ttl_seconds. */
	q.ttl = o->ctx->cfg->agent_tokens.ttl_seconds > ACTOR_TTL ?
	    ACTOR_TTL : 0;
	rc = agent_token_mint(o->ctx, &q, out, len, e);
	free(scope);
	return rc;
}

/*
 * The exchange itself, with the actor's token (M2M) when there is one:
 * the user's JWT read from the vault, sent through the single flight,
 * wiped.  0: exchange_done() will run and free o.
 */
static int
exchange(struct obo *o, const char *actor_m2m, struct av_err *e)
{
	struct oauth_fetch f;
	const char **res = NULL, **aud = NULL;
	char iss[1024], sub[1024], *jwt = NULL, *actor_jwt = NULL;
	struct jwt *t = NULL;
	bool oom1, oom2;
	int64_t now = (int64_t)time(NULL), exp;
	size_t len = 0;
	int rc = -1;

	if (user_jwt_get(o->ctx, o->workload, o->user, now, &jwt, &len, iss,
	    sizeof(iss), sub, sizeof(sub), e) != 0)
		return -1;
	if (jwt_parse(jwt, len, &t, e) != 0)
		goto done;
	if ((exp = jwt_exp(t)) <= now) {
		av_fail(e, AV_E_ACCESS_DENIED, "the user's JWT has expired: "
		    "get a workload access token for a fresh one");
		goto done;
	}
	memset(&f, 0, sizeof(f));
	f.grant.grant = o->token_exchange ? OAUTH_GRANT_TOKEN_EXCHANGE :
	    OAUTH_GRANT_JWT_BEARER;
	f.grant.subject_token = jwt;
	if (o->token_exchange) {
		f.grant.subject_token_type = subject_type(t);
		f.grant.requested_token_type = OAUTH_TT_ACCESS_TOKEN;
	} else
		f.grant.on_behalf_of = (o->prov.vendor->quirks &
		    OAUTH_QUIRK_ON_BEHALF_OF) != 0;
	if (o->actor == ACTOR_M2M) {
		f.grant.actor_token = actor_m2m;
		f.grant.actor_token_type = OAUTH_TT_ACCESS_TOKEN;
	} else if (o->actor == ACTOR_WORKLOAD_JWT) {
		if ((actor_jwt = malloc(ACTOR_JWT_MAX)) == NULL) {
			av_fail(e, AV_E_INTERNAL, "out of memory");
			goto done;
		}
		if (workload_jwt(o, actor_jwt, ACTOR_JWT_MAX, e) != 0)
			goto done;
		f.grant.actor_token = actor_jwt;
		f.grant.actor_token_type = OAUTH_TT_JWT;
	}
	res = oauth_str_list(o->resources, &oom1);
	aud = oauth_str_list(o->audiences, &oom2);
	if (oom1 || oom2) {
		av_fail(e, AV_E_INTERNAL, "out of memory");
		goto done;
	}
	f.grant.scope = o->scope;
	f.grant.resources = res;
	f.grant.audiences = aud;
	f.key.workload = o->workload;
	f.key.user = o->user;
	f.key.provider = o->prov.name;
	f.key.scope_key = o->key;
	f.provider = &o->prov;
	f.scopes = o->scope_key;
	f.bound = true;
	f.not_after = exp;
	rc = oauth_token_fetch(o->ctx, o->ctx->base(o->ctx->audit_arg), &f,
	    exchange_done, o, e);
done:
	jwt_free(t);
	OPENSSL_clear_free(jwt, len + 1);
	if (actor_jwt != NULL)
		OPENSSL_clear_free(actor_jwt, ACTOR_JWT_MAX);
	free(res);
	free(aud);
	return rc;
}

/* oauth_wait_fn: the actor's client-credentials token (M2M) is here. */
static void
actor_done(const struct oauth_result *r, void *arg)
{
	struct obo *o = arg;
	struct av_err e = r->e;

	if (r->rc != 0)
		av_fail(&e, r->e.type, "the actor token (M2M) for the "
		    "on-behalf-of token exchange at %s: %s", o->prov.name,
		    r->e.msg);
	else {
		/* exchange() needs the token during the call only. */
		char *tok = malloc(r->access_len + 1);

		if (tok == NULL)
			av_fail(&e, AV_E_INTERNAL, "out of memory");
		else {
			memcpy(tok, r->access, r->access_len + 1);
			if (exchange(o, tok, &e) == 0) {
				OPENSSL_clear_free(tok, r->access_len + 1);
				return;
			}
			OPENSSL_clear_free(tok, r->access_len + 1);
		}
	}
	api_resume(o->p, -1, NULL, &e);
	obo_free(o);
}

/*
 * The actor's token, through the M2M path: the provider's client-
 * credentials token for actorTokenScopes, the very cache entry an M2M
 * GetResourceOauth2Token for those scopes uses.  0: actor_done() runs.
 */
static int
actor_m2m(struct obo *o, struct av_err *e)
{
	struct oauth_fetch f;
	char *key, *scope;
	int rc;

	if ((key = oauth_scope_key(o->actor_scopes)) == NULL)
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	if ((scope = scope_sent(&o->prov, key)) == NULL) {
		free(key);
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	}
	memset(&f, 0, sizeof(f));
	f.key.workload = o->workload;
	f.key.user = "";
	f.key.provider = o->prov.name;
	f.key.scope_key = key;
	f.provider = &o->prov;
	f.grant.grant = OAUTH_GRANT_CLIENT_CREDENTIALS;
	f.grant.scope = scope;
	f.scopes = key;
	f.bound = true;
	/* oauth_token_fetch looks at the vault first. */
	rc = oauth_token_fetch(o->ctx, o->ctx->base(o->ctx->audit_arg), &f,
	    actor_done, o, e);
	free(key);
	free(scope);
	return rc;
}

/* The cache key: "obo:" and the scopes, and the resources and audiences
 * asked for (another audience is another token). */
static char *
obo_key(const struct oauth_token_call *r)
{
	json_t *res = json_object_get(r->in, "resources");
	json_t *aud = json_object_get(r->in, "audiences");
	char *a = NULL, *b = NULL, *key = NULL;

	if (json_array_size(res) == 0 && json_array_size(aud) == 0) {
		if (asprintf(&key, OBO_PREFIX "%s", r->scope_key) < 0)
			key = NULL;
		return key;
	}
	if ((a = oauth_scope_key(res)) != NULL &&
	    (b = oauth_scope_key(aud)) != NULL &&
	    asprintf(&key, OBO_PREFIX "%s\nresource %s\naudience %s",
	    r->scope_key, a, b) < 0)
		key = NULL;
	free(a);
	free(b);
	return key;
}

/* The provider's configuration, checked when stored (op_oauth2.c). */
static int
configure(struct obo *o, json_t *cfg, struct av_err *e)
{
	json_t *t = json_object_get(cfg, "tokenExchangeGrantTypeConfig");
	const char *g = json_string_value(json_object_get(cfg, "grantType"));
	const char *a = json_string_value(json_object_get(t,
	    "actorTokenContent"));

	if (g == NULL)
		return av_fail(e, AV_E_INTERNAL, "the stored on-behalf-of "
		    "configuration of %s is damaged", o->prov.name);
	o->token_exchange = strcmp(g, "TOKEN_EXCHANGE") == 0;
	o->actor = ACTOR_NONE;
	if (a != NULL && strcmp(a, "M2M") == 0)
		o->actor = ACTOR_M2M;
	else if (a != NULL && (strcmp(a, "WORKLOAD_IDENTITY_JWT") == 0 ||
	    strcmp(a, "AWS_IAM_ID_TOKEN_JWT") == 0))
		o->actor = ACTOR_WORKLOAD_JWT;
	if ((o->actor_scopes = json_object_get(t, "actorTokenScopes")) != NULL)
		json_incref(o->actor_scopes);
	return 0;
}

int
oauth_obo_get_token(struct api_ctx *ctx, struct api_call *call,
    const struct oauth_token_call *r, json_t *out, struct av_err *e)
{
	json_t *cfg = json_object_get(r->provider->config,
	    "onBehalfOfTokenExchangeConfig");
	struct store_oauth_key k = { r->workload, r->user, r->provider->name,
	    NULL };
	struct store_oauth_token t;
	struct obo *o;
	char *key;
	int found, rc;

	if (cfg == NULL)
		return av_fail(e, AV_E_VALIDATION, "%s has no onBehalfOfToken"
		    "ExchangeConfig: update the provider to use "
		    "ON_BEHALF_OF_TOKEN_EXCHANGE", r->provider->name);
	if ((key = obo_key(r)) == NULL)
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	k.scope_key = key;
	found = store_oauth_get(ctx->store, ctx->vault, &k, &t, e);
	if (found == 1 && t.expires_at > (int64_t)time(NULL)) {
		rc = json_object_set_new(out, "accessToken", json_stringn(
		    t.access, t.access_len)) == 0 ? 0 : av_fail(e,
		    AV_E_INTERNAL, "out of memory");
		store_oauth_token_clear(&t);
		free(key);
		return rc;
	}
	store_oauth_token_clear(&t);
	if (found < 0) {
		free(key);
		return -1;
	}
	if ((o = calloc(1, sizeof(*o))) == NULL) {
		free(key);
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	}
	o->ctx = ctx;
	o->key = key;
	o->prov = *r->provider;
	json_incref(o->prov.config);
	snprintf(o->workload, sizeof(o->workload), "%s", r->workload);
	api_wi_arn(ctx, r->workload, o->workload_arn, sizeof(o->workload_arn));
	if ((o->resources = json_object_get(r->in, "resources")) != NULL)
		json_incref(o->resources);
	if ((o->audiences = json_object_get(r->in, "audiences")) != NULL)
		json_incref(o->audiences);
	if ((o->user = strdup(r->user)) == NULL ||
	    (o->scope_key = strdup(r->scope_key)) == NULL ||
	    (o->scope = scope_sent(&o->prov, r->scope_key)) == NULL) {
		obo_free(o);
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	}
	if (configure(o, cfg, e) != 0) {
		obo_free(o);
		return -1;
	}
	if ((o->p = api_defer(call)) == NULL) {
		obo_free(o);
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	}
	/* On failure api_handle frees the unused o->p. */
	rc = o->actor == ACTOR_M2M ? actor_m2m(o, e) : exchange(o, NULL, e);
	if (rc != 0) {
		obo_free(o);
		return -1;
	}
	return API_PENDING;
}
