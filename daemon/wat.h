/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wat.h - workload access tokens.
 *
 *   avwat1.<base64url(kid[8] || nonce[12] || AES-256-GCM(claims) || tag[16])>
 *         .<base64url(ECDSA P-256 r || s over the first part, in the HSM)>
 *
 * The claims (workload, user, issue and expiry times, appliance, a random
 * id) are encrypted under a token key that only this appliance holds
 * (sealed in the vault), so the agent that carries a token cannot read
 * whom it acts for; the signature, made by the HSM token-signing key, is
 * what makes it unforgeable.  Verification needs no HSM: the public key is
 * cached in software.  One HSM signature per mint, none per use.
 */
#ifndef AV_WAT_H
#define AV_WAT_H

#include <stdint.h>
#include <stddef.h>

#include <openssl/evp.h>

#include "error.h"

#define WAT_PREFIX		"avwat1."
#define WAT_MAX			2048	/* longest token accepted */
#define WAT_USER_MAX		128	/* AgentCore's user id limit */
#define WAT_WORKLOAD_MAX	255
#define WAT_TEK_LEN		32
#define WAT_CLOCK_SKEW		60	/* seconds an iat may be ahead */

struct wat_claims {
	char		workload[WAT_WORKLOAD_MAX + 1];
	char		user[WAT_USER_MAX + 1];	/* "" for no user */
	int64_t		iat, exp;
};

struct wat_keys {
	EVP_PKEY	*sign;		/* HSM key through the provider */
	EVP_PKEY	*verify;	/* its public half, in software */
	unsigned char	 kid[8];	/* SHA-256 of its SPKI, first 8 bytes */
	unsigned char	*tek;		/* token encryption key, secmem */
	char		 audience[80];	/* this appliance */
};

/* Set up from a signing key and a 32-byte token key (copied). */
int wat_keys_init(struct wat_keys *k, EVP_PKEY *sign,
    const unsigned char tek[WAT_TEK_LEN], const char *audience,
    struct av_err *e);
void wat_keys_free(struct wat_keys *k);

/* A token for c, NUL-terminated into out (WAT_MAX + 1 bytes). */
int wat_mint(const struct wat_keys *k, const struct wat_claims *c,
    char *out, size_t len, struct av_err *e);
/*
 * Check a token at time now: format, key id, signature, decryption,
 * audience, expiry.  Any failure is AccessDeniedException ("the workload
 * access token is not valid") except a malformed string, which is
 * ValidationException; the message never says which check failed.
 */
int wat_verify(const struct wat_keys *k, const char *token, int64_t now,
    struct wat_claims *out, struct av_err *e);

/*
 * wat_verify with a per-thread memo (wat_cache.c): a token that verified
 * is accepted again, until its expiry, by its SHA-256 alone.
 */
int wat_verify_cached(const struct wat_keys *k, const char *token,
    int64_t now, struct wat_claims *out, struct av_err *e);

#endif /* AV_WAT_H */
