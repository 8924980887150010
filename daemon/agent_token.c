/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_token.c - agent access tokens (agent_token.h): compact ES256
 * JWS signed in the HSM, and the JWKS that verifies them.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "agent_token.h"
#include "api.h"
#include "audit.h"
#include "es256.h"

#define B64(n)		(((n) + 2) / 3 * 4 + 1)	/* base64url of n bytes, NUL */
#define EC_POINT_LEN	65			/* 0x04 || x || y */

/* x and y of an EC P-256 public key, base64url; 0/-1. */
static int
ec_xy(EVP_PKEY *pub, char x[B64(32)], char y[B64(32)])
{
	unsigned char pt[EC_POINT_LEN];
	size_t len = 0;

	if (EVP_PKEY_get_octet_string_param(pub, OSSL_PKEY_PARAM_PUB_KEY, pt,
	    sizeof(pt), &len) != 1 || len != EC_POINT_LEN || pt[0] != 0x04)
		return -1;
	audit_b64url(pt + 1, 32, x, B64(32));
	audit_b64url(pt + 33, 32, y, B64(32));
	return 0;
}

int
agent_token_kid(EVP_PKEY *pub, char kid[AGENT_TOKEN_KID_LEN + 1])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char x[B64(32)], y[B64(32)], jwk[160];
	int n;

	/* RFC 7638: the required members, sorted, no white space. */
	if (ec_xy(pub, x, y) != 0 || (n = snprintf(jwk, sizeof(jwk),
	    "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", x,
	    y)) < 0 || (size_t)n >= sizeof(jwk))
		return -1;
	SHA256((const unsigned char *)jwk, (size_t)n, md);
	audit_b64url(md, sizeof(md), kid, AGENT_TOKEN_KID_LEN + 1);
	return 0;
}

int
agent_token_issuer(const struct api_ctx *ctx, char *buf, size_t len,
    struct av_err *e)
{
	const struct av_tcp_config *t = &ctx->cfg->listen.tcp;
	const char *host = t->public_name[0] != '\0' ? t->public_name :
	    t->address;
	bool v6 = strchr(host, ':') != NULL;
	int n;

	if (ctx->cfg->agent_tokens.issuer[0] != '\0')
		n = snprintf(buf, len, "%s", ctx->cfg->agent_tokens.issuer);
	/* A wildcard address names no host a verifier could reach. */
	else if (!t->enabled || strcmp(host, "0.0.0.0") == 0 ||
	    strcmp(host, "::") == 0)
		return av_fail(e, AV_E_VALIDATION, "this appliance issues no "
		    "agent access tokens: set agent_tokens.issuer (or "
		    "listen.tcp with a public_name)");
	else
		n = snprintf(buf, len, "https://%s%s%s:%u", v6 ? "[" : "",
		    host, v6 ? "]" : "", t->port);
	if (n < 0 || (size_t)n >= len)
		return av_fail(e, AV_E_INTERNAL, "issuer too long");
	return 0;
}

/* The JWK of a public key, with its kid. */
static json_t *
jwk(EVP_PKEY *pub)
{
	char x[B64(32)], y[B64(32)], kid[AGENT_TOKEN_KID_LEN + 1];

	if (ec_xy(pub, x, y) != 0 || agent_token_kid(pub, kid) != 0)
		return NULL;
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "kty", "EC",
	    "crv", "P-256", "x", x, "y", y, "kid", kid, "use", "sig", "alg",
	    "ES256");
}

json_t *
agent_token_jwks(const struct api_ctx *ctx, int64_t now)
{
	const struct wat_keys *k = &ctx->tokens;
	json_t *keys, *key;
	size_t i;

	if ((keys = json_array()) == NULL ||
	    json_array_append_new(keys, jwk(k->verify)) != 0)
		goto fail;
	for (i = 0; i < k->nprev; i++) {
		if (k->prev[i].not_after <= now)
			continue;
		if ((key = jwk(k->prev[i].verify)) == NULL ||
		    json_array_append_new(keys, key) != 0)
			goto fail;
	}
	return json_pack("{s:o}", "keys", keys);
fail:
	json_decref(keys);
	return NULL;
}

/* base64url(text) appended to out at *o; 0/-1 when it does not fit. */
static int
put_b64(char *out, size_t len, size_t *o, const void *in, size_t n)
{
	if (len - *o < B64(n))
		return -1;
	audit_b64url(in, n, out + *o, len - *o);
	*o += strlen(out + *o);
	return 0;
}

int
agent_token_mint(struct api_ctx *ctx, const struct agent_token_req *r,
    char *out, size_t len, struct av_err *e)
{
	const int64_t max = ctx->cfg->agent_tokens.ttl_seconds;
	char iss[AV_ISSUER_SIZE], kid[AGENT_TOKEN_KID_LEN + 1];
	char header[128], jti[B64(16)];
	unsigned char rnd[16], sig[ES256_SIG_LEN];
	int64_t ttl = r->ttl != 0 ? r->ttl : max;
	json_t *claims;
	char *text;
	size_t o = 0;
	int n, rc;

	if (ttl < 1 || ttl > max)
		return av_fail(e, AV_E_INTERNAL, "agent token lifetime out of "
		    "range");
	if (r->sub == NULL || r->audience == NULL ||
	    strlen(r->sub) > AGENT_TOKEN_SUB_MAX ||
	    strlen(r->audience) > AGENT_TOKEN_AUD_MAX ||
	    (r->actor != NULL && strlen(r->actor) > AGENT_TOKEN_SUB_MAX) ||
	    (r->scope != NULL && strlen(r->scope) > AGENT_TOKEN_SCOPE_MAX))
		return av_fail(e, AV_E_VALIDATION, "agent token claims too "
		    "long");
	if (agent_token_issuer(ctx, iss, sizeof(iss), e) != 0)
		return -1;
	if (agent_token_kid(ctx->tokens.verify, kid) != 0 ||
	    RAND_bytes(rnd, sizeof(rnd)) != 1)
		return av_fail(e, AV_E_INTERNAL, "cannot mint an agent token");
	audit_b64url(rnd, sizeof(rnd), jti, sizeof(jti));
	/* RFC 9068: typ at+jwt, and client_id (the agent, the client the
	 * token was issued to). */
	n = snprintf(header, sizeof(header), "{\"alg\":\"ES256\","
	    "\"typ\":\"at+jwt\",\"kid\":\"%s\"}", kid);
	claims = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "iss", iss,
	    "sub", r->sub, "aud", r->audience, "client_id",
	    r->actor != NULL ? r->actor : r->sub, "iat", (json_int_t)r->now,
	    "exp", (json_int_t)(r->now + ttl), "jti", jti);
	if (claims != NULL && r->actor != NULL)
		json_object_set_new(claims, "act", json_pack("{s:s}", "sub",
		    r->actor));
	if (claims != NULL && r->scope != NULL)
		json_object_set_new(claims, "scope", json_string(r->scope));
	text = claims != NULL ? json_dumps(claims, JSON_COMPACT) : NULL;
	json_decref(claims);
	if (text == NULL || n < 0 || (size_t)n >= sizeof(header)) {
		free(text);
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	}
	rc = put_b64(out, len, &o, header, (size_t)n) != 0 || o + 1 >= len ?
	    -1 : 0;
	if (rc == 0) {
		out[o++] = '.';
		rc = put_b64(out, len, &o, text, strlen(text));
	}
	free(text);
	if (rc != 0 || o + 1 >= len)
		return av_fail(e, AV_E_INTERNAL, "agent token too long");
	if (es256_sign(ctx->tokens.sign, out, o, sig) != 0)
		return av_fail(e, AV_E_INTERNAL, "the HSM did not sign the "
		    "agent token");
	out[o++] = '.';
	if (put_b64(out, len, &o, sig, sizeof(sig)) != 0)
		return av_fail(e, AV_E_INTERNAL, "agent token too long");
	return 0;
}
