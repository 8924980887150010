/* SPDX-License-Identifier: Apache-2.0 */
/*
 * user_jwt.h - the user JWTs the appliance keeps, sealed in the vault,
 * for on-behalf-of use: GetWorkloadAccessTokenForJWT keeps the JWT it
 * validated per (workload, user) until the JWT expires, so that the agent
 * never needs it again.  The user of a JWT is "jwt:" + base64url(SHA-256(
 * iss || 0x00 || sub)) (authorizer.h); GetWorkloadAccessTokenForUserId
 * refuses such user ids, so no caller can pose as a JWT user.
 */
#ifndef AV_USER_JWT_H
#define AV_USER_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct api_ctx;

#define USER_JWT_PREFIX	"jwt:"

bool user_is_jwt(const char *user);	/* starts with "jwt:" */

/*
 * Keep jwt (len bytes, validated: its iss, the SHA-256 of its sub, its
 * exp) for (workload, user) until exp, replacing an older one; the same
 * JWT presented again writes nothing.
 */
int user_jwt_keep(struct api_ctx *ctx, const char *workload,
    const char *user, const char *iss, const char *subject_hash,
    const char *jwt, size_t len, int64_t exp, struct av_err *e);

/*
 * The user JWT kept for (workload, user), decrypted into *jwt (malloc; the
 * caller wipes it with OPENSSL_clear_free), with its iss and sub.
 * AccessDenied when none is kept or it has expired ("the user's JWT has
 * expired: get a workload access token for a fresh one").
 */
int user_jwt_get(struct api_ctx *ctx, const char *workload, const char *user,
    int64_t now, char **jwt, size_t *len, char iss[], size_t isslen,
    char sub[], size_t sublen, struct av_err *e);

#endif /* AV_USER_JWT_H */
