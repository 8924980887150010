/* SPDX-License-Identifier: Apache-2.0 */
/*
 * authorizer.h - the inbound JWT authorizer (spec section 8,
 * docs/inbound.md): which user JWTs a workload identity accepts, and
 * their validation with keys from the identity provider's JWKS.
 *
 * An authorizer is AgentCore's customJWTAuthorizer, as the API takes it
 * on a workload identity:
 *
 *   {"customJWTAuthorizer": {"discoveryUrl": "https://.../.well-known/
 *     openid-configuration", "allowedAudience": [...], "allowedClients":
 *     [...], "allowedScopes": [...], "customClaims": [...]}}
 *
 * The directory's default comes from the configuration's authorizer:
 * block, in the same form.  The token's issuer must be the discovery
 * URL without its /.well-known/openid-configuration, and so must the
 * issuer of the document served there.
 *
 * Keys (jwks_cache.c): per discovery URL, shared by every event loop
 * under a mutex; a miss fetches the discovery document and its jwks_uri
 * through the calling loop's outbound client, once for every concurrent
 * caller (single flight), while the calls wait (deferred).  Keys are
 * used for authorizer.jwks_ttl_seconds, then fetched again; a token
 * whose kid the set lacks makes a fetch too, at most once per
 * authorizer.jwks_refresh_min_seconds per discovery URL (so do failed
 * fetches); while the identity provider cannot be reached, the keys last
 * fetched serve for up to authorizer.jwks_max_stale_seconds.
 */
#ifndef AV_AUTHORIZER_H
#define AV_AUTHORIZER_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "config.h"
#include "error.h"
#include "oauth_vendor.h"

struct api_ctx;
struct jwk_set;

#define AUTHORIZER_PENDING	1
#define AUTHORIZER_SUB_MAX	1024	/* bytes of a `sub` accepted */
#define AUTHORIZER_LIST_MAX	50	/* items of an allowed list */
/* "jwt:" + base64url(SHA-256(iss || 0x00 || sub)) */
#define USER_JWT_KEY_LEN	47

/*
 * in: an authorizerConfiguration from a request, checked strictly (the
 * discovery URL as above, https or, with allow_http_loopback, http to
 * loopback; lists of 1 to 50 strings of 1 to 255 bytes; customClaims as
 * jwt_claim_rules_valid()).  *out: the same, as stored (a new reference).
 */
int	 authorizer_config_check(const json_t *in, bool allow_http_loopback,
	    json_t **out, struct av_err *e);
/* The directory's default (authorizer: in cfg) in that form, or NULL. */
json_t	*authorizer_config_default(const struct av_config *cfg);
/* The discovery URL of an authorizer in that form. */
const char *authorizer_discovery_url(const json_t *config);

/* The user key of a JWT user: "jwt:" + base64url(SHA-256(iss 0 sub)). */
int	 authorizer_user_key(const char *iss, const char *sub,
	    char out[USER_JWT_KEY_LEN + 1]);

/* What a valid token says. */
struct authorizer_result {
	char		 issuer[OAUTH_URL_MAX + 1];
	char		 subject[AUTHORIZER_SUB_MAX + 1];
	char		 subject_hash[65];	/* hex SHA-256 */
	char		 user[USER_JWT_KEY_LEN + 1];
	char		 client[256];	/* client_id or azp, or "" */
	char		 alg[16];
	json_t		*audience;	/* aud as given, or NULL */
	int64_t		 exp;
};
void	 authorizer_result_clear(struct authorizer_result *r);

typedef void authorizer_done_fn(int rc, struct authorizer_result *r,
    struct av_err *e, void *arg);

/*
 * Validate token (len bytes) with config (in the form above).  0: valid,
 * *r filled, no callback.  AUTHORIZER_PENDING: the keys are being
 * fetched; cb(rc, r, e, arg) runs once, later, on the calling thread's
 * loop (r and e valid during the call only).  -1: refused or failed now,
 * e filled, no callback.  Refusals are AccessDeniedException (a
 * malformed token ValidationException) with the reason; no message
 * contains the token.
 */
int	 authorizer_validate(struct api_ctx *ctx, const json_t *config,
	    const char *token, size_t len, struct authorizer_result *r,
	    authorizer_done_fn *cb, void *arg, struct av_err *e);

/* ---- the key cache (jwks_cache.c) ---- */

struct jwks_keys;	/* a fetched key set, reference counted */

const struct jwk_set *jwks_keys_set(const struct jwks_keys *k);
void	 jwks_keys_release(struct jwks_keys *k);

typedef void jwks_done_fn(int rc, struct jwks_keys *keys, struct av_err *e,
    void *arg);

/*
 * The keys of discovery_url for a token with kid (NULL: none).  0: *keys
 * is a reference (jwks_keys_release it), possibly of a set without kid
 * when a fetch is not allowed yet; 1: a fetch is under way, and cb(rc,
 * keys, e, arg) runs once, later, on the calling thread's loop, with a
 * reference to release when rc is 0; -1: e.
 */
int	 jwks_cache_get(struct api_ctx *ctx, const char *discovery_url,
	    const char *kid, struct jwks_keys **keys, jwks_done_fn *cb,
	    void *arg, struct av_err *e);

#endif /* AV_AUTHORIZER_H */
