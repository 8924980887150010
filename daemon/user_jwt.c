/* SPDX-License-Identifier: Apache-2.0 */
/*
 * user_jwt.c - the user JWTs kept for on-behalf-of use (user_jwt.h), on
 * top of store_user_jwt.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "api.h"
#include "jwt.h"
#include "user_jwt.h"

bool
user_is_jwt(const char *user)
{
	return strncmp(user, USER_JWT_PREFIX, strlen(USER_JWT_PREFIX)) == 0;
}

static void
sha256_hex(const char *p, size_t n, char out[65])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[SHA256_DIGEST_LENGTH];
	size_t i;

	SHA256((const unsigned char *)p, n, md);
	for (i = 0; i < sizeof(md); i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 15];
	}
	out[64] = '\0';
}

int
user_jwt_keep(struct api_ctx *ctx, const char *workload, const char *user,
    const char *iss, const char *subject_hash, const char *jwt, size_t len,
    int64_t exp, struct av_err *e)
{
	int64_t now = (int64_t)time(NULL);
	char hash[65];
	int rc;

	sha256_hex(jwt, len, hash);
	/* The same JWT again (an agent asking per request): a read only. */
	if ((rc = store_user_jwt_same(ctx->store, workload, user, hash, now,
	    e)) != 0)
		return rc < 0 ? -1 : 0;
	return store_user_jwt_put(ctx->store, ctx->vault, workload, user, iss,
	    subject_hash, hash, jwt, len, exp, now, e);
}

int
user_jwt_get(struct api_ctx *ctx, const char *workload, const char *user,
    int64_t now, char **jwt, size_t *len, char iss[], size_t isslen,
    char sub[], size_t sublen, struct av_err *e)
{
	struct jwt *t = NULL;
	const char *s;
	int64_t exp;
	char *buf;
	int rc;

	*jwt = NULL;
	*len = 0;
	if ((rc = store_user_jwt_info(ctx->store, workload, user, iss, isslen,
	    &exp, e)) < 0)
		return -1;
	if (rc == 0)
		return av_fail(e, AV_E_ACCESS_DENIED, "no JWT of this user is "
		    "kept: get a workload access token with "
		    "GetWorkloadAccessTokenForJWT");
	if (exp <= now)
		return av_fail(e, AV_E_ACCESS_DENIED, "the user's JWT has "
		    "expired: get a workload access token for a fresh one");
	if ((buf = malloc(JWT_MAX + 1)) == NULL)
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	if (store_secret_get(ctx->store, ctx->vault, STORE_USER_JWT_SECRET,
	    user, workload, (uint8_t *)buf, JWT_MAX, len, e) != 0) {
		if (e->type != NULL && strcmp(e->type, AV_E_NOT_FOUND) == 0)
			av_fail(e, AV_E_ACCESS_DENIED, "the user's JWT has "
			    "expired: get a workload access token for a fresh "
			    "one");
		OPENSSL_clear_free(buf, JWT_MAX + 1);
		return -1;
	}
	buf[*len] = '\0';
	/* Its sub: the JWT validated when it was kept. */
	if (jwt_parse(buf, *len, &t, e) != 0 ||
	    (s = jwt_claim_string(t, "sub")) == NULL || strlen(s) >= sublen) {
		jwt_free(t);
		OPENSSL_clear_free(buf, JWT_MAX + 1);
		return av_fail(e, AV_E_INTERNAL, "the kept JWT is damaged");
	}
	memcpy(sub, s, strlen(s) + 1);
	jwt_free(t);
	*jwt = buf;
	return 0;
}
