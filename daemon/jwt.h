/* SPDX-License-Identifier: Apache-2.0 */
/*
 * jwt.h - a strict verifier for JWS-signed JWTs (RFC 7515, 7519) with keys
 * from a JWKS (RFC 7517), for inbound user tokens.  docs/jwt.md lists what
 * is refused and why; in short:
 *
 * Parsing (jwt_parse): compact serialization only (three parts; JWE's five
 * are refused), at most JWT_MAX bytes, strict unpadded base64url with
 * canonical trailing bits, header and claims JSON objects without
 * duplicate members and at most JWT_JSON_DEPTH deep.  The header's `alg`
 * must be RS256/384/512, PS256/384/512, ES256/384/512 or EdDSA (Ed25519);
 * `none` and HS* are refused, and so are the `jku`, `x5u`, `jwk` and
 * `x5c` headers (keys come only from the configured JWKS), any `crit` (we
 * understand no extension), `b64`, `zip`, `enc` and any `cty` (nested
 * tokens); `x5t` is ignored.  `typ`, when present, must be JWT, at+jwt,
 * application/jwt or application/at+jwt (case-insensitive).  `kid` is at
 * most JWT_KID_MAX bytes of [A-Za-z0-9-_+/=.:@] (Cognito's kids are
 * standard base64), never `..`; it is only compared with the JWKS's kids.
 *
 * Keys (jwks_parse): RSA (2048..8192 bits), EC P-256/384/521 (the point is
 * checked on the curve) and OKP Ed25519.  Keys whose `use` is not `sig` or
 * whose `key_ops` lacks `verify`, symmetric `oct` keys and keys of unknown
 * types are skipped; a key with private members (`d`, `p`, ...) makes the
 * whole set invalid (a provider that publishes private keys is broken).
 * At most JWKS_MAX_KEYS keys.
 *
 * Signatures (jwt_verify_signature): the key is the one whose kid equals
 * the token's; a token without kid is tried against the set only when
 * exactly one key fits its alg.  The key's type (and curve) must fit the
 * alg family, and its `alg`, when given, must equal the token's.  ECDSA
 * signatures are the JWS r || s form, exactly twice the field size, r and
 * s in [1, n-1]; PSS uses salt length = hash length and MGF1 with the
 * same hash.
 *
 * Claims (jwt_check_claims): `exp` required, `nbf` and `iat` optional, all
 * finite numbers within +-2^53 (NumericDate allows fractions); skew on
 * each; `iat` later than now + skew is refused.  `iss` must equal the
 * policy's issuer exactly.  As AgentCore's customJWTAuthorizer: `aud`
 * (string or array) must name one of the allowed audiences; `client_id`
 * (access tokens) - or, when absent, `azp` (ID tokens) - must be one of
 * the allowed clients; at least one of the token's scopes (`scope`, a
 * space-separated string, or `scp`, string or array) must be one of the
 * allowed scopes; every rule of required_claims (AgentCore's
 * `customClaims` shape, see jwt_claim_rules_valid) must hold.
 *
 * Errors: ValidationException when the token (or JWKS) is malformed,
 * AccessDeniedException when it is well formed but refused (forbidden alg
 * or header, no usable key, bad signature, failed claim).  Messages name
 * the header or claim; they never contain the token, a signature or a
 * claim value longer than JWT_ECHO_MAX bytes.
 */
#ifndef AV_JWT_H
#define AV_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "error.h"

#define JWT_MAX		16384	/* bytes of a compact token accepted */
#define JWT_SKEW	60	/* seconds of clock skew allowed */
#define JWT_KID_MAX	128	/* bytes of a kid accepted */
#define JWT_JSON_DEPTH	16	/* nesting of header and claims */
#define JWT_ECHO_MAX	40	/* longest claim value quoted in an error */
#define JWKS_MAX	(256 * 1024)	/* bytes of a JWKS document accepted */
#define JWKS_MAX_KEYS	100

struct jwk_set;			/* a parsed JWKS: public keys by kid */

/*
 * Parse a JWKS document ({"keys": [...]}).  Unusable keys are skipped (see
 * above); a set with no usable key is valid and empty.
 */
int	 jwks_parse(const char *json, size_t len, struct jwk_set **out,
	    struct av_err *e);
void	 jwks_free(struct jwk_set *s);
size_t	 jwks_count(const struct jwk_set *s);	/* usable keys */
/* Whether the set has a key with this kid (unknown kid: refetch the JWKS). */
bool	 jwks_has_kid(const struct jwk_set *s, const char *kid);

struct jwt;			/* a parsed, not yet verified token */

/* Parse and check the form and the header; nothing is trusted yet. */
int	 jwt_parse(const char *token, size_t len, struct jwt **out,
	    struct av_err *e);
void	 jwt_free(struct jwt *t);
const char *jwt_kid(const struct jwt *t);	/* or NULL */
const char *jwt_alg_name(const struct jwt *t);

/* Verify the signature with the key of keys that the token names (keys
 * NULL: no JWKS yet, no key). */
int	 jwt_verify_signature(const struct jwt *t, const struct jwk_set *keys,
	    struct av_err *e);

struct jwt_policy {
	const char		*issuer;	/* exact `iss` required */
	const char *const	*audiences;	/* NULL-terminated; NULL: any */
	const char *const	*clients;	/* client_id / azp, or NULL */
	const char *const	*scopes;	/* one needed, or NULL */
	const json_t		*required_claims; /* customClaims, or NULL */
	int64_t			 now;
	int64_t			 skew;		/* JWT_SKEW */
};

/* Check the claims of a token whose signature was verified. */
int	 jwt_check_claims(const struct jwt *t, const struct jwt_policy *p,
	    struct av_err *e);

/*
 * Whether rules is a valid required-claims list, AgentCore's customClaims:
 *   [{"inboundTokenClaimName": "dept",
 *     "inboundTokenClaimValueType": "STRING" | "STRING_ARRAY",
 *     "authorizingClaimMatchValue": {
 *       "claimMatchOperator": "EQUALS" | "CONTAINS" | "CONTAINS_ANY",
 *       "claimMatchValue": {"matchValueString": "eng"} |
 *                          {"matchValueStringList": ["a", "b"]}}}, ...]
 * EQUALS only with STRING (the claim equals matchValueString); CONTAINS
 * (the array claim contains matchValueString) and CONTAINS_ANY (it
 * contains one of matchValueStringList) only with STRING_ARRAY.  For the
 * authorizer's configuration; jwt_check_claims refuses a token when the
 * rules are invalid.
 */
int	 jwt_claim_rules_valid(const json_t *rules, struct av_err *e);

json_t	*jwt_claims(const struct jwt *t);	/* borrowed */
json_t	*jwt_header(const struct jwt *t);	/* borrowed */
const char *jwt_claim_string(const struct jwt *t, const char *name);
int64_t	 jwt_exp(const struct jwt *t);	/* whole seconds; 0 when missing */

/*
 * For tests (Wycheproof vectors) and jwt_verify_signature: 0 when sig is
 * a valid JWS signature by alg of msg under the set's key named kid (or
 * its only key fitting alg when kid is NULL), else -1.
 */
int	 jwt_verify_detached(const struct jwk_set *keys, const char *alg,
	    const char *kid, const void *msg, size_t len,
	    const unsigned char *sig, size_t siglen, struct av_err *e);

#endif /* AV_JWT_H */
