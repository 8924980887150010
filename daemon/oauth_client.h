/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oauth_client.h - the token endpoint client (RFC 6749 section 4.1.3,
 * 4.4, 6) over outbound.h: client_credentials, authorization_code (with
 * the PKCE verifier) and refresh_token grants, the client authenticated
 * with client_secret_basic, client_secret_post or private_key_jwt (RFC
 * 7523 section 2.2: a signed assertion the caller made for this request,
 * client_assertion.h), and the answer parsed strictly into a struct
 * oauth_token.
 *
 * Secrets (client secret, code, verifier, refresh and access tokens)
 * live in buffers wiped when freed; no message carries one, nor any of
 * the provider's answer but its `error` code, and that only when it is
 * [A-Za-z0-9_.-]{1,64}.
 */
#ifndef AV_OAUTH_CLIENT_H
#define AV_OAUTH_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "error.h"
#include "oauth_vendor.h"

struct outbound;

#define OAUTH_TOKEN_MAX		16384	/* bytes of an access/refresh token */
#define OAUTH_SCOPE_MAX		4096	/* bytes of a scope string */
#define OAUTH_EXTRA_MAX		4096	/* bytes of the extras, as JSON */
#define OAUTH_ANSWER_MAX	(256 * 1024)	/* bytes of an answer parsed */
#define OAUTH_ERROR_MAX		64	/* bytes of a provider's error code */
#define OAUTH_LIFETIME_MAX	(10LL * 366 * 86400)	/* expires_in */

#define OAUTH_ASSERTION_TYPE \
	"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

/* What a token request needs of its provider: the client secret, or
 * with OAUTH_AUTH_PRIVATE_KEY_JWT a client assertion (no secret). */
struct oauth_client {
	const char		*token_endpoint;
	const char		*client_id;
	const char		*client_secret;	/* NULL with an assertion */
	enum oauth_auth_method	 auth;
	unsigned		 quirks;	/* OAUTH_QUIRK_* */
	const char		*client_assertion; /* compact JWS, or NULL */
};

enum oauth_grant {
	OAUTH_GRANT_CLIENT_CREDENTIALS,
	OAUTH_GRANT_AUTHORIZATION_CODE,
	OAUTH_GRANT_REFRESH_TOKEN,
	OAUTH_GRANT_TOKEN_EXCHANGE,	/* RFC 8693 section 2.1 */
	OAUTH_GRANT_JWT_BEARER,		/* RFC 7523 section 2.1 */
};

#define OAUTH_GT_TOKEN_EXCHANGE \
	"urn:ietf:params:oauth:grant-type:token-exchange"
#define OAUTH_GT_JWT_BEARER	"urn:ietf:params:oauth:grant-type:jwt-bearer"
/* RFC 8693 section 3 token type identifiers. */
#define OAUTH_TT_ACCESS_TOKEN	"urn:ietf:params:oauth:token-type:access_token"
#define OAUTH_TT_JWT		"urn:ietf:params:oauth:token-type:jwt"

struct oauth_grant_req {
	enum oauth_grant	 grant;
	const char		*scope;		/* as sent, or NULL */
	/* authorization_code */
	const char		*code;
	const char		*redirect_uri;
	const char		*code_verifier;	/* or NULL without PKCE */
	/* refresh_token */
	const char		*refresh_token;
	/* token-exchange: subject_token (with its type), actor_token (with
	 * its type, or NULL), requested_token_type (or NULL); jwt-bearer:
	 * the subject token is the assertion */
	const char		*subject_token;
	const char		*subject_token_type;
	const char		*actor_token;
	const char		*actor_token_type;
	const char		*requested_token_type;
	/* jwt-bearer: Microsoft's requested_token_use=on_behalf_of */
	bool			 on_behalf_of;
	/* RFC 8707 resource and audience parameters, NULL-terminated
	 * lists, or NULL. */
	const char *const	*resources;
	const char *const	*audiences;
};

/* A token endpoint's answer.  oauth_token_clear() wipes and frees it. */
struct oauth_token {
	char		*access;	/* never NULL once parsed */
	size_t		 access_len;
	char		*refresh;	/* or NULL */
	size_t		 refresh_len;
	char		 type[33];	/* "Bearer" */
	int64_t		 expires_in;	/* seconds, or -1 when not given */
	char		*scope;		/* as granted, or NULL */
	json_t		*extra;		/* {"instance_url": ...}, or NULL */
};

void oauth_token_clear(struct oauth_token *t);

/*
 * The request: its form-encoded body (*body, malloc, the caller wipes
 * and frees it) and, with client_secret_basic, the form-encoded client
 * id and secret for HTTP basic authentication (*user, *password: malloc,
 * wiped and freed by the caller; NULL otherwise).  With private_key_jwt
 * the body carries client_id, client_assertion_type (OAUTH_ASSERTION_TYPE)
 * and client_assertion, and there is no basic authentication.
 */
int oauth_request_build(const struct oauth_client *c,
    const struct oauth_grant_req *g, char **body, size_t *len, char **user,
    char **password, struct av_err *e);

/*
 * Parse an answer (HTTP status, Content-Type, body) into t.  An error
 * answer fails with e naming the provider's error code, also copied to
 * oauth_error (OAUTH_ERROR_MAX + 1 bytes; "" when there is none or it is
 * not of the safe alphabet).  quirks: OAUTH_QUIRK_AUTHED_USER takes the
 * user's token from Slack's authed_user; OAUTH_QUIRK_INSTANCE_URL keeps
 * instance_url in t->extra.
 */
int oauth_response_parse(long status, const char *content_type,
    const char *body, size_t len, unsigned quirks, struct oauth_token *t,
    char *oauth_error, struct av_err *e);

/*
 * The provider's error code says the refresh token (or code) is no longer
 * honoured: RFC 6749's invalid_grant, GitHub's bad_refresh_token, Slack's
 * invalid_refresh_token.
 */
bool oauth_grant_refused(const char *oauth_error);

/*
 * The outcome of a request: rc 0 with t (the callee may move its
 * pointers out and NULL them; the rest is wiped after the callback), or
 * -1 with e and the provider's error code ("" when none).
 */
typedef void oauth_done_fn(int rc, struct oauth_token *t,
    const char *oauth_error, struct av_err *e, void *arg);

/*
 * Send the grant to c's token endpoint through ob.  0: cb runs once,
 * later, from ob's loop.  -1: refused now (e), no callback.
 */
int oauth_token_request(struct outbound *ob, const struct oauth_client *c,
    const struct oauth_grant_req *g, oauth_done_fn *cb, void *arg,
    struct av_err *e);

#endif /* AV_OAUTH_CLIENT_H */
