/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oauth_authorize.h - the authorization request of the three-legged flow
 * (USER_FEDERATION): session URIs, state, PKCE S256 (RFC 7636) and the
 * authorization URL a user opens.  No I/O here: the session these belong
 * to is kept by the store, the flow is oauth3lo.c's.
 */
#ifndef AV_OAUTH_AUTHORIZE_H
#define AV_OAUTH_AUTHORIZE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "error.h"
#include "oauth_vendor.h"

/* AgentCore's form: the prefix, then 32 random bytes in base64url. */
#define OAUTH_SESSION_URI_PREFIX	"urn:ietf:params:oauth:request_uri:"
#define OAUTH_RANDOM_LEN	43	/* base64url of 32 bytes, unpadded */
#define OAUTH_SESSION_URI_LEN \
	(sizeof(OAUTH_SESSION_URI_PREFIX) - 1 + OAUTH_RANDOM_LEN)
#define OAUTH_STATE_HASH_LEN	64	/* hex SHA-256 */

#define OAUTH_CUSTOM_MAX	10	/* customParameters */
#define OAUTH_CUSTOM_KEY_MAX	256
#define OAUTH_CUSTOM_VALUE_MAX	2048
#define OAUTH_INDICATORS_MAX	10	/* resources, audiences */
#define OAUTH_AUTHZ_URL_MAX	32768	/* bytes of an authorization URL */

/* base64url (no padding) of 32 fresh random bytes: a state or a PKCE
 * verifier.  0, or -1 when the generator fails. */
int oauth_random_token(char out[OAUTH_RANDOM_LEN + 1]);
/* A new session URI.  0 or -1. */
int oauth_session_uri_new(char out[OAUTH_SESSION_URI_LEN + 1]);
/* s has the form of a session URI this appliance hands out. */
bool oauth_session_uri_valid(const char *s);
/* The hex SHA-256 of a state: all the store keeps of it. */
void oauth_state_hash(const char *state, char out[OAUTH_STATE_HASH_LEN + 1]);

/*
 * PKCE S256: the code challenge of a verifier, BASE64URL(SHA256(ASCII(
 * verifier))).  The verifier must be 43 to 128 unreserved characters
 * (RFC 7636 section 4.1); -1 otherwise.
 */
int oauth_pkce_challenge(const char *verifier, char out[OAUTH_RANDOM_LEN + 1]);

/* What an authorization URL is made of (the strings borrowed). */
struct oauth_authz_request {
	const char		*endpoint;	/* may have a query already */
	const char		*client_id;
	const char		*redirect_uri;
	json_t			*scopes;	/* array of strings */
	const char		*state;
	const char		*code_challenge;	/* S256 */
	const struct oauth_vendor *vendor;	/* separator, extra parameters */
	json_t			*resources;	/* array of strings, or NULL */
	json_t			*audiences;	/* array of strings, or NULL */
	json_t			*custom;	/* object of strings, or NULL */
};

/*
 * customParameters: at most OAUTH_CUSTOM_MAX, keys of 1 to 256 printable
 * characters, values of 1 to 2048 characters, and none naming a standard
 * parameter (those the URL carries anyway, and nonce, request,
 * request_uri): ValidationException otherwise.
 */
int oauth_custom_params_check(json_t *custom, struct av_err *e);

/*
 * The authorization URL (malloc'd into *url): the endpoint with
 * response_type=code, client_id, redirect_uri, scope (joined by the
 * vendor's separator; named user_scope for OAUTH_QUIRK_AUTHED_USER, where
 * a custom parameter may not name it either), state, code_challenge, code_challenge_method=S256,
 * the vendor's extra parameters (one named by a custom parameter, or
 * audience when audiences are given, is left to those), resource for
 * each of resources (RFC 8707), audience for each of audiences, then
 * the custom parameters; every name and value percent-encoded.  A
 * custom parameter is checked as oauth_custom_params_check does; a URL
 * longer than OAUTH_AUTHZ_URL_MAX is ValidationException.
 */
int oauth_authorize_url(const struct oauth_authz_request *r, char **url,
    struct av_err *e);

#endif /* AV_OAUTH_AUTHORIZE_H */
