/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oauth_token.h - the vault side of OAuth2 tokens: providers as token
 * requests need them, the tokens' lifetimes in the cache, and the
 * single flight that makes concurrent requests for one missing or
 * expired token (on any event loop) cause one request to the provider.
 */
#ifndef AV_OAUTH_TOKEN_H
#define AV_OAUTH_TOKEN_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "client_assertion.h"
#include "error.h"
#include "oauth_client.h"
#include "oauth_vendor.h"
#include "store.h"

struct api_ctx;
struct event_base;

#define OAUTH_SKEW		60	/* seconds before expiry a token retires */
#define OAUTH_DEFAULT_LIFETIME	300	/* cached without expires_in */

/* The sorted unique scopes of an array of strings, space-joined (malloc;
 * "" for none); NULL when out of memory. */
char *oauth_scope_key(json_t *scopes);
/* The strings of an array as a NULL-terminated list (malloc; the
 * strings stay in the array); NULL for none, or with *oom set when out
 * of memory. */
const char **oauth_str_list(json_t *a, bool *oom);
/* When a token of lifetime expires_in (-1: not given) obtained at now
 * stops being handed out: OAUTH_SKEW before its expiry, or half its
 * lifetime when that is under 2 * OAUTH_SKEW. */
int64_t oauth_expires_at(int64_t now, int64_t expires_in);

/* A stored OAuth2 provider, as token requests need it. */
struct oauth_provider {
	char			 name[129];
	const struct oauth_vendor *vendor;
	char			 issuer[OAUTH_URL_MAX + 1];
	char			 authorization_endpoint[OAUTH_URL_MAX + 1];
	char			 token_endpoint[OAUTH_URL_MAX + 1];
	char			 client_id[257];
	enum oauth_auth_method	 auth;
	char			 key_label[CLIENT_KEY_LABEL_MAX + 1]; /* or "" */
	json_t			*config;		/* as stored */
};

/*
 * Load provider name: ResourceNotFoundException "no OAuth2 credential
 * provider named X" when there is none.  A CustomOauth2 provider
 * stored with a discovery URL but without the metadata of its document
 * (by an earlier release) is ValidationException.  The client secret stays in the vault: a cache hit
 * never decrypts it.
 */
int oauth_provider_load(struct api_ctx *ctx, const char *name,
    struct oauth_provider *p, struct av_err *e);
void oauth_provider_clear(struct oauth_provider *p);
/*
 * oauth_token_request() to p's token endpoint through this loop's
 * outbound client: the one place a client authenticates.  With a
 * secret read from the vault now and wiped once the request is built,
 * or (private_key_jwt) with a client assertion for this request, signed
 * in the HSM with the OAuth client key p names (client_assertion.h).
 */
int oauth_provider_request(struct api_ctx *ctx,
    const struct oauth_provider *p, const struct oauth_grant_req *g,
    oauth_done_fn *cb, void *arg, struct av_err *e);

/* A fetch's outcome, valid during the callback only. */
struct oauth_result {
	int		 rc;			/* 0, or -1 with e */
	struct av_err	 e;
	char		 oauth_error[OAUTH_ERROR_MAX + 1];	/* or "" */
	const char	*access;
	size_t		 access_len;
	const char	*type;			/* "Bearer" */
	int64_t		 expires_at;
	const char	*scopes;
	const char	*extra;			/* JSON text */
};

typedef void oauth_wait_fn(const struct oauth_result *r, void *arg);

/* What to fetch and how to store it. */
struct oauth_fetch {
	struct store_oauth_key		 key;
	const struct oauth_provider	*provider;
	struct oauth_grant_req		 grant;
	const char	*scopes;	/* stored when the answer has none */
	bool		 bound;		/* stored bound (M2M: always) */
	int64_t		 not_after;	/* 0, or when it stops being
					 * handed out at the latest (OBO: the
					 * user's JWT's exp) */
};

/*
 * Single flight.  The first caller for f->key starts f->grant at the
 * provider (through this loop's outbound client) and stores the answer
 * under the key; callers for the same key meanwhile, on any loop, wait
 * for the same result.  A caller that finds no flight looks at the store
 * once more first (a flight may just have stored the token): a token
 * still usable there is its result.  A refresh_token grant answered
 * without a new refresh token keeps the one it used; one answered
 * invalid_grant (or a vendor's code like it, oauth_grant_refused())
 * erases the token (the caller starts consent again).
 * f and what it points to are used during the call only.  cb runs once,
 * later, on base's loop.  0, or -1 (no callback).
 */
int oauth_token_fetch(struct api_ctx *ctx, struct event_base *base,
    const struct oauth_fetch *f, oauth_wait_fn *cb, void *arg,
    struct av_err *e);
/* Flights in the registry now (tests). */
unsigned oauth_flights(void);

/*
 * A GetResourceOauth2Token call once checked (op_oauth2_token.c): the
 * request validated, the workload token verified, the call authorized,
 * the provider loaded.  USER_FEDERATION goes on in oauth3lo_get_token()
 * (oauth3lo.c), which fills out or defers the call (API_PENDING).
 */
struct oauth_token_call {
	json_t			*in;		/* the whole request */
	const char		*workload;	/* from the token */
	const char		*user;		/* from the token; "" none */
	struct oauth_provider	*provider;
	json_t			*scopes;	/* the array requested */
	const char		*scope_key;
};

struct api_call;
int oauth3lo_get_token(struct api_ctx *ctx, struct api_call *call,
    const struct oauth_token_call *r, json_t *out, struct av_err *e);
/* ON_BEHALF_OF_TOKEN_EXCHANGE (oauth_obo.c), for a user of a JWT (the
 * caller checked user_is_jwt()): fills out or defers the call. */
int oauth_obo_get_token(struct api_ctx *ctx, struct api_call *call,
    const struct oauth_token_call *r, json_t *out, struct av_err *e);

#endif /* AV_OAUTH_TOKEN_H */
