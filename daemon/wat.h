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
 *
 * kid is the first 8 bytes of the SHA-256 of the signing key's SPKI.  When
 * the signing key is rotated, the previous keys' public halves are kept
 * (wat_keys_add_previous) and their tokens accepted until each key's
 * not_after, so that no token dies before its expiry because of a rotation.
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
#define WAT_KID_LEN		8
#define WAT_SPKI_MAX		256	/* a P-256 SPKI is 91 bytes of DER */
#define WAT_PREVIOUS_MAX	8	/* retired signing keys accepted */
#define WAT_SKEW		60	/* seconds of clock skew allowed */

struct wat_claims {
	char		workload[WAT_WORKLOAD_MAX + 1];
	char		user[WAT_USER_MAX + 1];	/* "" for no user */
	int64_t		iat, exp;
};

/* A retired signing key: its tokens are accepted until not_after. */
struct wat_previous {
	EVP_PKEY	*verify;	/* public only, in software */
	unsigned char	 kid[WAT_KID_LEN];
	int64_t		 not_after;
};

struct wat_keys {
	EVP_PKEY	*sign;		/* HSM key through the provider */
	EVP_PKEY	*verify;	/* its public half, in software */
	unsigned char	 kid[WAT_KID_LEN];
	unsigned char	 spki[WAT_SPKI_MAX];	/* its DER SPKI */
	size_t		 spki_len;
	struct wat_previous prev[WAT_PREVIOUS_MAX];
	size_t		 nprev;
	int64_t		 ttl;		/* seconds from issue to expiry */
	unsigned char	*tek;		/* token encryption key, secmem */
	char		 audience[80];	/* this appliance */
};

/*
 * Set up from an EC P-256 signing key (checked with one signature), a
 * 32-byte token key (copied) and the lifetime of the tokens it mints.
 */
int wat_keys_init(struct wat_keys *k, EVP_PKEY *sign,
    const unsigned char tek[WAT_TEK_LEN], const char *audience, int64_t ttl,
    struct av_err *e);
/*
 * Also accept tokens signed by a previous key, given by its DER SPKI,
 * before not_after.  kid must be the one the SPKI hashes to: a record
 * that does not match is refused, not trusted.
 */
int wat_keys_add_previous(struct wat_keys *k,
    const unsigned char kid[WAT_KID_LEN], const unsigned char *spki,
    size_t len, int64_t not_after, struct av_err *e);
void wat_keys_free(struct wat_keys *k);

/* A token for workload and user ("" for none) issued at now, expiring at
 * now + k->ttl; NUL-terminated into out (WAT_MAX + 1 bytes). */
int wat_mint(const struct wat_keys *k, const char *workload,
    const char *user, int64_t now, char *out, size_t len, struct av_err *e);
/* The same, expiring at exp (at most now + k->ttl; ValidationException
 * when exp <= now): a token no longer-lived than what it comes from. */
int wat_mint_until(const struct wat_keys *k, const char *workload,
    const char *user, int64_t now, int64_t exp, char *out, size_t len,
    struct av_err *e);
/*
 * Check a token at time now: format, key id (the current key, or a
 * previous one before its not_after), signature, decryption, audience,
 * expiry.  Any failure is AccessDeniedException ("the workload access
 * token is not valid") except a malformed string, which is
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
