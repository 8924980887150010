/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_token.h - agent access tokens: JWTs the appliance issues and
 * anyone can verify against its published JWKS (docs/agent-tokens.md).
 *
 *   header  {"alg":"ES256","typ":"at+jwt","kid":<RFC 7638 thumbprint>}
 *   claims  {"iss","sub","act":{"sub"}?,"aud","client_id","iat","nbf",
 *            "exp","jti","scope"?}
 *
 * Signed in the HSM with the token-signing key, the one that signs
 * workload access tokens (wat.h), so that one rotation covers both and
 * the retired keys' public halves are published until their last token
 * has expired.  kid is the key's RFC 7638 JWK thumbprint (base64url).
 */
#ifndef AV_AGENT_TOKEN_H
#define AV_AGENT_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "error.h"

struct api_ctx;

#define AGENT_TOKEN_MAX		8192	/* bytes of a token, NUL excluded:
					   the longest claims fit */
#define AGENT_TOKEN_KID_LEN	43	/* base64url of a SHA-256 */
#define AGENT_TOKEN_SUB_MAX	512	/* a user or a workload ARN */
#define AGENT_TOKEN_AUD_MAX	512
#define AGENT_TOKEN_SCOPE_MAX	1024

/*
 * What a token says: sub (the user, or the workload's ARN for a workload
 * JWT), act.sub (the workload's ARN acting for sub, or NULL: no act),
 * aud, scope (or NULL), issued at now, expiring at now + ttl.  ttl must
 * be 1 to agent_tokens.ttl_seconds (0: that): the retired keys stay
 * published that long after a rotation, and no longer.
 */
struct agent_token_req {
	const char	*sub;
	const char	*actor;
	const char	*audience;
	const char	*scope;
	int64_t		 now, ttl;
};

/* A compact JWS into out (NUL-terminated; AGENT_TOKEN_MAX + 1 bytes
 * suffice).  One HSM signature. */
int agent_token_mint(struct api_ctx *ctx, const struct agent_token_req *r,
    char *out, size_t len, struct av_err *e);

/*
 * The issuer: agent_tokens.issuer, else https://<the TCP listener's
 * public name or address>:<port>.  Without either, -1
 * (ValidationException): the appliance issues no agent tokens.
 */
int agent_token_issuer(const struct api_ctx *ctx, char *buf, size_t len,
    struct av_err *e);

/* The JWKS at time now: the current key and every retired one whose
 * not_after has not passed.  A new reference, NULL when out of memory. */
json_t *agent_token_jwks(const struct api_ctx *ctx, int64_t now);

/* The RFC 7638 thumbprint of an EC P-256 public key, base64url; 0/-1. */
int agent_token_kid(EVP_PKEY *pub, char kid[AGENT_TOKEN_KID_LEN + 1]);

#endif /* AV_AGENT_TOKEN_H */
