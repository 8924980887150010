/* SPDX-License-Identifier: Apache-2.0 */
/*
 * client_assertion.h - private_key_jwt client authentication (RFC 7523
 * section 2.2, OpenID Connect Core section 9): the OAuth client keys the
 * worker loaded from the HSM, and the signed assertion a token request
 * carries instead of a client secret.
 *
 * The keys are EC P-256 private keys in the appliance's token, labelled
 * CLIENT_KEY_PREFIX... (agentvault-ceremony new-oauth-client-key); the
 * worker loads them through the OpenSSL provider when it starts (a
 * SIGHUP starts a new worker), before the sandbox closes.  A key's kid
 * is its RFC 7638 thumbprint, as the ceremony printed it in its JWK.
 */
#ifndef AV_CLIENT_ASSERTION_H
#define AV_CLIENT_ASSERTION_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "error.h"

#define CLIENT_KEY_PREFIX	"agentvault-oauth-client-"
#define CLIENT_KEY_LABEL_MAX	64	/* as the ceremony makes them */
#define CLIENT_KEY_KID_MAX	64
#define CLIENT_KEYS_MAX		64	/* keys loaded */
#define CLIENT_ASSERTION_TTL	60	/* seconds: exp = iat + this */
#define CLIENT_ASSERTION_MAX	(128 * 1024)	/* bytes of an assertion */
/* AgentCore's bounds of additionalHeaderClaims/additionalPayloadClaims. */
#define CLIENT_CLAIMS_MAX	10
#define CLIENT_CLAIM_NAME_MAX	255
#define CLIENT_CLAIM_VALUE_MAX	2048

struct client_key {
	char		 label[CLIENT_KEY_LABEL_MAX + 1];
	char		 kid[CLIENT_KEY_KID_MAX + 1];
	EVP_PKEY	*key;		/* the private half stays in the HSM */
};

/* Filled once, before the event loops start; read-only after. */
struct client_keys {
	size_t			n;
	struct client_key	k[CLIENT_KEYS_MAX];
};

/* The key labelled label, or NULL. */
const struct client_key *client_key_find(const struct client_keys *t,
    const char *label);
void client_keys_free(struct client_keys *t);

/*
 * A compact JWS (ES256, signed with k) into out (len bytes, NUL
 * included): header {"alg":"ES256","typ":"JWT","kid":k->kid}, claims
 * iss = sub = client_id, aud = audience (the token endpoint), jti (16
 * random bytes, base64url), iat = now, exp = now + CLIENT_ASSERTION_TTL.
 * extra_header and extra_claims (objects of strings, or NULL) add
 * members; they never replace those above.  InternalServerException
 * when it does not fit or signing fails.
 */
int client_assertion_make(const struct client_key *k, const char *client_id,
    const char *audience, json_t *extra_header, json_t *extra_claims,
    int64_t now, char *out, size_t len, struct av_err *e);

#endif /* AV_CLIENT_ASSERTION_H */
