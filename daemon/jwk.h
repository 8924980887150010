/* SPDX-License-Identifier: Apache-2.0 */
/*
 * jwk.h - between jwt.c and jwk.c only: strict base64url, the JSON limits
 * both apply, and the choice of a JWKS key for a token's alg and kid.
 */
#ifndef AV_JWK_H
#define AV_JWK_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "error.h"
#include "jwt.h"

enum jwk_kty { JWK_RSA = 1, JWK_EC, JWK_OKP };

/*
 * Strict unpadded base64url: only its alphabet, no padding, no length of
 * 4k + 1, unused trailing bits zero.  *out is malloc'd (len 0 gives a
 * 1-byte buffer and *outlen 0).  -1 on any deviation.
 */
int	 jwt_b64url_decode(const char *in, size_t len, unsigned char **out,
	    size_t *outlen);

/* An object parsed without duplicate members, at most JWT_JSON_DEPTH deep. */
json_t	*jwt_json_object(const void *buf, size_t len);

/*
 * The key for a token: the one named kid (or, with kid NULL, the only one)
 * of type kty (and curve nid, for EC and OKP) whose `alg`, when it has
 * one, is alg.  Borrowed; AccessDenied with a reason when there is none.
 */
int	 jwks_select(const struct jwk_set *s, const char *kid, const char *alg,
	    enum jwk_kty kty, int nid, EVP_PKEY **key, struct av_err *e);

/* Whether kid is short and of the characters a kid may have. */
bool	 jwt_kid_ok(const char *kid);

#endif /* AV_JWK_H */
