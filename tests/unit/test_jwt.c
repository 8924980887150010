/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_jwt.c - the strict JWS/JWT verifier (daemon/jwt.c, jwk.c) with
 * software keys made here: a good token for every allowed alg, the
 * hostile-input suite of issue 8 (one case per attack, each refused with
 * a reason that never repeats the token or its signature), the JWKS rules,
 * AgentCore's claim rules, and Wycheproof's ECDSA P-256, RSA PKCS#1 v1.5
 * and RSA-PSS verification vectors (tests/vectors/wycheproof).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "daemon/jwt.h"

#define NOW	1800000000LL
#define ISS	"https://idp.example/pool"

static const char *const auds[] = { "api://agent", NULL };
static const char *const clients[] = { "client-a", NULL };
static const char *const scopes[] = { "agent:invoke", "agent:admin", NULL };

static const struct jwt_policy policy = {
	ISS, auds, clients, scopes, NULL, NOW, JWT_SKEW
};

struct fixture {
	EVP_PKEY	*rsa, *ec256, *ec384, *ec521, *ed, *rsa_other;
	struct jwk_set	*keys;
	char		 jwks[16384];
};

static struct fixture F;

/* ---- helpers ------------------------------------------------------- */

static char *
b64url(const unsigned char *in, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);
	size_t n, i;

	assert_non_null(out);
	EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	n = strlen(out);
	while (n > 0 && out[n - 1] == '=')
		n--;
	out[n] = '\0';
	for (i = 0; i < n; i++)
		out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
	return out;
}

static char *
b64s(const char *s)
{
	return b64url((const unsigned char *)s, strlen(s));
}

static size_t
half_of(const char *alg)
{
	return strcmp(alg, "ES256") == 0 ? 32 : strcmp(alg, "ES384") == 0 ? 48 :
	    66;
}

/* A JWS signature by key over msg, in the JWS form (r || s for ECDSA). */
static unsigned char *
sign_raw(EVP_PKEY *key, const char *alg, const char *msg, size_t *siglen)
{
	char md[8];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *sig;
	size_t len = 0;

	snprintf(md, sizeof(md), "SHA%s", alg + 2);
	assert_int_equal(EVP_DigestSignInit_ex(ctx, &pctx,
	    strcmp(alg, "EdDSA") == 0 ? NULL : md, NULL, NULL, key, NULL), 1);
	if (alg[0] == 'P') {
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx,
		    RSA_PKCS1_PSS_PADDING), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx,
		    RSA_PSS_SALTLEN_DIGEST), 1);
	}
	assert_int_equal(EVP_DigestSign(ctx, NULL, &len,
	    (const unsigned char *)msg, strlen(msg)), 1);
	sig = malloc(len);
	assert_int_equal(EVP_DigestSign(ctx, sig, &len,
	    (const unsigned char *)msg, strlen(msg)), 1);
	EVP_MD_CTX_free(ctx);
	if (alg[0] == 'E' && alg[1] == 'S') {
		const unsigned char *p = sig;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
		size_t h = half_of(alg);
		unsigned char *rs = malloc(2 * h);

		assert_non_null(es);
		assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(es), rs, (int)h),
		    (int)h);
		assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(es), rs + h,
		    (int)h), (int)h);
		ECDSA_SIG_free(es);
		free(sig);
		sig = rs;
		len = 2 * h;
	}
	*siglen = len;
	return sig;
}

/* header.payload.signature, the signature given. */
static char *
assemble(const char *header, const char *claims, const unsigned char *sig,
    size_t siglen)
{
	char *h = b64s(header), *c = b64s(claims), *s = b64url(sig, siglen);
	char *tok = malloc(strlen(h) + strlen(c) + strlen(s) + 3);

	sprintf(tok, "%s.%s.%s", h, c, s);
	free(h);
	free(c);
	free(s);
	return tok;
}

/* A token signed by key. */
static char *
sign_token(EVP_PKEY *key, const char *alg, const char *header,
    const char *claims)
{
	char *h = b64s(header), *c = b64s(claims), *input, *s, *tok;
	unsigned char *sig;
	size_t siglen;

	input = malloc(strlen(h) + strlen(c) + 2);
	sprintf(input, "%s.%s", h, c);
	sig = sign_raw(key, alg, input, &siglen);
	s = b64url(sig, siglen);
	tok = malloc(strlen(input) + strlen(s) + 2);
	sprintf(tok, "%s.%s", input, s);
	free(h);
	free(c);
	free(input);
	free(sig);
	free(s);
	return tok;
}

static char *
claims_with(const char *extra)
{
	static char buf[2048];

	snprintf(buf, sizeof(buf), "{\"iss\":\"" ISS "\",\"sub\":\"user-1\","
	    "\"aud\":\"api://agent\",\"client_id\":\"client-a\","
	    "\"scope\":\"openid agent:invoke\",\"exp\":%lld,\"iat\":%lld,"
	    "\"nbf\":%lld%s%s}", NOW + 300, NOW - 10, NOW - 10,
	    extra[0] != '\0' ? "," : "", extra);
	return buf;
}

static const char *good_claims(void) { return claims_with(""); }

/* Claims written out whole (for missing or replaced standard claims). */
static char *claims_fmt(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static char *
claims_fmt(const char *fmt, ...)
{
	static char buf[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return buf;
}

/* Parse, verify and check tok with policy p against keys. */
static int
run(const char *tok, const struct jwk_set *keys, const struct jwt_policy *p,
    struct av_err *e)
{
	struct jwt *t;
	int rc;

	memset(e, 0, sizeof(*e));
	if (jwt_parse(tok, strlen(tok), &t, e) != 0)
		return -1;
	rc = jwt_verify_signature(t, keys, e);
	if (rc == 0)
		rc = jwt_check_claims(t, p, e);
	jwt_free(t);
	return rc;
}

static void
accepted(const char *tok)
{
	struct av_err e;

	if (run(tok, F.keys, &policy, &e) != 0)
		fail_msg("refused: %s: %s", e.type, e.msg);
}

/*
 * tok refused as type with a reason containing want; the reason never
 * contains the token, its signature or its payload.
 */
static void
refused_p(const char *tok, const struct jwt_policy *p, const char *type,
    const char *want)
{
	const char *sig = strrchr(tok, '.');
	struct av_err e;

	if (run(tok, F.keys, p, &e) == 0)
		fail_msg("accepted, expected %s (%s)", type, want);
	if (strcmp(e.type, type) != 0 || strstr(e.msg, want) == NULL)
		fail_msg("got %s: %s; expected %s: ...%s...", e.type, e.msg,
		    type, want);
	if (sig != NULL && strlen(sig + 1) >= 8)
		assert_null(strstr(e.msg, sig + 1));
	if (strlen(tok) >= 8)
		assert_null(strstr(e.msg, tok));
	assert_true(strlen(e.msg) < 200);
}

static void
refused(const char *tok, const char *type, const char *want)
{
	refused_p(tok, &policy, type, want);
}

static char *
jwk_of(EVP_PKEY *key, const char *kid, const char *alg)
{
	static char buf[4096];
	char *x = NULL, *y = NULL, extra[128] = "";
	unsigned char raw[1024];
	size_t len;

	if (alg != NULL)
		snprintf(extra, sizeof(extra), ",\"alg\":\"%s\"", alg);
	if (EVP_PKEY_is_a(key, "RSA")) {
		BIGNUM *n = NULL, *e = NULL;

		assert_int_equal(EVP_PKEY_get_bn_param(key,
		    OSSL_PKEY_PARAM_RSA_N, &n), 1);
		assert_int_equal(EVP_PKEY_get_bn_param(key,
		    OSSL_PKEY_PARAM_RSA_E, &e), 1);
		len = (size_t)BN_bn2bin(n, raw);
		x = b64url(raw, len);
		len = (size_t)BN_bn2bin(e, raw);
		y = b64url(raw, len);
		snprintf(buf, sizeof(buf), "{\"kty\":\"RSA\",\"kid\":\"%s\","
		    "\"use\":\"sig\",\"n\":\"%s\",\"e\":\"%s\"%s}", kid, x, y,
		    extra);
		BN_free(n);
		BN_free(e);
	} else if (EVP_PKEY_is_a(key, "EC")) {
		char crv[32];
		size_t h;

		assert_int_equal(EVP_PKEY_get_utf8_string_param(key,
		    OSSL_PKEY_PARAM_GROUP_NAME, crv, sizeof(crv), NULL), 1);
		assert_int_equal(EVP_PKEY_get_octet_string_param(key,
		    OSSL_PKEY_PARAM_PUB_KEY, raw, sizeof(raw), &len), 1);
		h = (len - 1) / 2;
		x = b64url(raw + 1, h);
		y = b64url(raw + 1 + h, h);
		snprintf(buf, sizeof(buf), "{\"kty\":\"EC\",\"kid\":\"%s\","
		    "\"crv\":\"%s\",\"x\":\"%s\",\"y\":\"%s\"%s}", kid,
		    strcmp(crv, "prime256v1") == 0 ? "P-256" :
		    strcmp(crv, "secp384r1") == 0 ? "P-384" : "P-521", x, y,
		    extra);
	} else {
		len = sizeof(raw);
		assert_int_equal(EVP_PKEY_get_raw_public_key(key, raw, &len),
		    1);
		x = b64url(raw, len);
		snprintf(buf, sizeof(buf), "{\"kty\":\"OKP\",\"kid\":\"%s\","
		    "\"crv\":\"Ed25519\",\"x\":\"%s\"%s}", kid, x, extra);
	}
	free(x);
	free(y);
	return buf;
}

static struct jwk_set *
set_of(const char *json)
{
	struct jwk_set *s;
	struct av_err e;

	if (jwks_parse(json, strlen(json), &s, &e) != 0)
		fail_msg("jwks_parse: %s", e.msg);
	return s;
}

static int
setup(void **state)
{
	size_t n;

	(void)state;
	F.rsa = EVP_RSA_gen(2048);
	F.rsa_other = EVP_RSA_gen(2048);
	F.ec256 = EVP_EC_gen("P-256");
	F.ec384 = EVP_EC_gen("P-384");
	F.ec521 = EVP_EC_gen("P-521");
	F.ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (F.rsa == NULL || F.rsa_other == NULL || F.ec256 == NULL ||
	    F.ec384 == NULL || F.ec521 == NULL || F.ed == NULL)
		return -1;
	n = (size_t)snprintf(F.jwks, sizeof(F.jwks), "{\"keys\":[%s,",
	    jwk_of(F.rsa, "rsa-1", NULL));
	n += (size_t)snprintf(F.jwks + n, sizeof(F.jwks) - n, "%s,",
	    jwk_of(F.ec256, "ec-256", NULL));
	n += (size_t)snprintf(F.jwks + n, sizeof(F.jwks) - n, "%s,",
	    jwk_of(F.ec384, "ec-384", "ES384"));
	n += (size_t)snprintf(F.jwks + n, sizeof(F.jwks) - n, "%s,",
	    jwk_of(F.ec521, "ec-521", NULL));
	n += (size_t)snprintf(F.jwks + n, sizeof(F.jwks) - n, "%s]}",
	    jwk_of(F.ed, "ed-1", NULL));
	if (n >= sizeof(F.jwks))
		return -1;
	{
		struct av_err e;

		if (jwks_parse(F.jwks, n, &F.keys, &e) != 0 ||
		    jwks_count(F.keys) != 5)
			return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	jwks_free(F.keys);
	EVP_PKEY_free(F.rsa);
	EVP_PKEY_free(F.rsa_other);
	EVP_PKEY_free(F.ec256);
	EVP_PKEY_free(F.ec384);
	EVP_PKEY_free(F.ec521);
	EVP_PKEY_free(F.ed);
	return 0;
}

static char *
hdr(const char *alg, const char *kid, const char *extra)
{
	static char buf[1024];

	snprintf(buf, sizeof(buf), "{\"alg\":\"%s\",\"typ\":\"JWT\","
	    "\"kid\":\"%s\"%s%s}", alg, kid, extra[0] ? "," : "", extra);
	return buf;
}

/* A good ES256 token with extra header members. */
static char *
es256(const char *hextra, const char *claims)
{
	return sign_token(F.ec256, "ES256", hdr("ES256", "ec-256", hextra),
	    claims);
}

/* ---- good tokens --------------------------------------------------- */

static void
test_good_every_alg(void **state)
{
	static const struct {
		const char *alg, *kid;
	} cases[] = {
		{ "RS256", "rsa-1" }, { "RS384", "rsa-1" }, { "RS512", "rsa-1" },
		{ "PS256", "rsa-1" }, { "PS384", "rsa-1" }, { "PS512", "rsa-1" },
		{ "ES256", "ec-256" }, { "ES384", "ec-384" },
		{ "ES512", "ec-521" }, { "EdDSA", "ed-1" },
	};
	EVP_PKEY *keys[] = { F.rsa, F.rsa, F.rsa, F.rsa, F.rsa, F.rsa,
	    F.ec256, F.ec384, F.ec521, F.ed };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *tok = sign_token(keys[i], cases[i].alg,
		    hdr(cases[i].alg, cases[i].kid, ""), good_claims());
		struct jwt *t;
		struct av_err e;

		accepted(tok);
		assert_int_equal(jwt_parse(tok, strlen(tok), &t, &e), 0);
		assert_string_equal(jwt_alg_name(t), cases[i].alg);
		assert_string_equal(jwt_kid(t), cases[i].kid);
		assert_string_equal(jwt_claim_string(t, "sub"), "user-1");
		assert_int_equal(jwt_exp(t), NOW + 300);
		assert_non_null(jwt_claims(t));
		assert_non_null(jwt_header(t));
		jwt_free(t);
		free(tok);
	}
}

static void
test_good_variants(void **state)
{
	char *tok;

	(void)state;
	/* typ at+jwt (RFC 9068), x5t hints ignored, no typ at all. */
	tok = es256("\"typ2\":1", good_claims());
	accepted(tok);
	free(tok);
	tok = sign_token(F.ec256, "ES256", "{\"alg\":\"ES256\",\"kid\":"
	    "\"ec-256\",\"typ\":\"at+jwt\",\"x5t\":\"abc\"}", good_claims());
	accepted(tok);
	free(tok);
	tok = sign_token(F.ec256, "ES256", "{\"alg\":\"ES256\",\"kid\":"
	    "\"ec-256\"}", good_claims());
	accepted(tok);
	free(tok);
	/* aud array, azp, scp array, a fractional exp. */
	tok = sign_token(F.ec256, "ES256", "{\"alg\":\"ES256\",\"kid\":"
	    "\"ec-256\"}", claims_fmt("{\"iss\":\"" ISS "\",\"aud\":[\"x\","
	    "\"api://agent\"],\"azp\":\"client-a\",\"scp\":[\"agent:admin\"],"
	    "\"exp\":%lld.75}", NOW + 100));
	accepted(tok);
	free(tok);
	/* Within the skew on every side. */
	tok = es256("", claims_fmt("{\"iss\":\"" ISS "\",\"aud\":"
	    "\"api://agent\",\"client_id\":\"client-a\",\"scope\":"
	    "\"agent:invoke\",\"exp\":%lld,\"nbf\":%lld,\"iat\":%lld}",
	    NOW - 59, NOW + 59, NOW + 59));
	accepted(tok);
	free(tok);
	/* A Cognito kid: standard base64, with '+', '/' and '='. */
	{
		const char *kid = "sOJeEoZ7qL/Hm1OPJJ4Ag2M6y+DAJU8Y6pbwl8hg3dE=";
		struct jwk_set *s;
		struct av_err e;
		char jwks[4096];

		snprintf(jwks, sizeof(jwks), "{\"keys\":[%s]}", jwk_of(F.rsa,
		    kid, "RS256"));
		s = set_of(jwks);
		tok = sign_token(F.rsa, "RS256", hdr("RS256", kid, ""),
		    good_claims());
		assert_int_equal(run(tok, s, &policy, &e), 0);
		free(tok);
		jwks_free(s);
	}
}

static void
test_no_kid(void **state)
{
	struct jwk_set *one, *two;
	struct av_err e;
	char jwks[8192], *tok;

	(void)state;
	tok = sign_token(F.ec256, "ES256", "{\"alg\":\"ES256\"}",
	    good_claims());
	/* One EC P-256 key in the fixture's set: used. */
	accepted(tok);
	snprintf(jwks, sizeof(jwks), "{\"keys\":[%s,", jwk_of(F.ec256, "a",
	    NULL));
	strcat(jwks, jwk_of(F.ec256, "b", NULL));
	strcat(jwks, "]}");
	two = set_of(jwks);
	assert_int_equal(run(tok, two, &policy, &e), -1);
	assert_non_null(strstr(e.msg, "has no kid and 2 keys"));
	snprintf(jwks, sizeof(jwks), "{\"keys\":[%s]}", jwk_of(F.rsa, "r",
	    NULL));
	one = set_of(jwks);
	assert_int_equal(run(tok, one, &policy, &e), -1);
	assert_non_null(strstr(e.msg, "no key in the JWKS fits alg ES256"));
	assert_int_equal(run(tok, NULL, &policy, &e), -1);	/* no JWKS yet */
	assert_non_null(strstr(e.msg, "no key in the JWKS fits alg ES256"));
	jwks_free(one);
	jwks_free(two);
	free(tok);
}

/* ---- the hostile-input suite (issue 8 item 2) ---------------------- */

static void
test_alg_none(void **state)
{
	char *tok;

	(void)state;
	tok = assemble("{\"alg\":\"none\",\"typ\":\"JWT\"}", good_claims(),
	    (const unsigned char *)"", 0);
	refused(tok, AV_E_ACCESS_DENIED, "alg none is not allowed");
	free(tok);
	tok = assemble("{\"alg\":\"None\"}", good_claims(),
	    (const unsigned char *)"x", 1);
	refused(tok, AV_E_ACCESS_DENIED, "alg none is not allowed");
	free(tok);
	/* Unsigned even though alg claims a signature. */
	tok = assemble(hdr("ES256", "ec-256", ""), good_claims(),
	    (const unsigned char *)"", 0);
	refused(tok, AV_E_ACCESS_DENIED, "not signed");
	free(tok);
	tok = assemble("{\"typ\":\"JWT\"}", good_claims(),
	    (const unsigned char *)"x", 1);
	refused(tok, AV_E_VALIDATION, "no alg");
	free(tok);
}

static void
test_hs256_with_rsa_public_key(void **state)
{
	unsigned char mac[32], *pem;
	unsigned int maclen = sizeof(mac);
	char *h, *c, *input, *tok, *s;
	BIO *b = BIO_new(BIO_s_mem());
	long pemlen;
	const char *algs[] = { "HS256", "RS256" };
	size_t i;

	(void)state;
	/* The classic confusion: HMAC keyed with the RSA key's public PEM. */
	assert_int_equal(PEM_write_bio_PUBKEY(b, F.rsa), 1);
	pemlen = BIO_get_mem_data(b, (char **)&pem);
	for (i = 0; i < 2; i++) {
		h = b64s(hdr(algs[i], "rsa-1", ""));
		c = b64s(good_claims());
		input = malloc(strlen(h) + strlen(c) + 2);
		sprintf(input, "%s.%s", h, c);
		assert_non_null(HMAC(EVP_sha256(), pem, (int)pemlen,
		    (unsigned char *)input, strlen(input), mac, &maclen));
		s = b64url(mac, maclen);
		tok = malloc(strlen(input) + strlen(s) + 2);
		sprintf(tok, "%s.%s", input, s);
		if (i == 0)
			refused(tok, AV_E_ACCESS_DENIED, "(HMAC) is not allowed");
		else	/* the MAC passed off as an RS256 signature */
			refused(tok, AV_E_ACCESS_DENIED, "is 256 bytes, not 32");
		free(h);
		free(c);
		free(input);
		free(s);
		free(tok);
	}
	BIO_free(b);
	tok = sign_token(F.ec256, "ES256", hdr("HS512", "ec-256", ""),
	    good_claims());
	refused(tok, AV_E_ACCESS_DENIED, "HS512 (HMAC)");
	free(tok);
	tok = sign_token(F.ec256, "ES256", hdr("ES256K", "ec-256", ""),
	    good_claims());
	refused(tok, AV_E_ACCESS_DENIED, "alg ES256K is not allowed");
	free(tok);
}

/* A token whose header is {"alg":"ES256","kid":"<kid>"} (kid raw JSON). */
static char *
with_kid(const char *kid)
{
	char h[512];

	snprintf(h, sizeof(h), "{\"alg\":\"ES256\",\"kid\":\"%s\"}", kid);
	return sign_token(F.ec256, "ES256", h, good_claims());
}

static void
test_kid_path(void **state)
{
	static const char *const bad[] = {
		"../../../../etc/passwd", "..", "keys/../x", "keys\\\\x",
		"k%2e%2e%2f", "file:..",
	};
	char *tok;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tok = with_kid(bad[i]);
		refused(tok, AV_E_ACCESS_DENIED, "the kid header");
		free(tok);
	}
	/* Allowed characters (Cognito's base64 kids have '/') but no such
	 * key: a kid is only ever compared, never opened. */
	tok = with_kid("/etc/passwd");
	refused(tok, AV_E_ACCESS_DENIED, "no key in the JWKS has the token's "
	    "kid");
	free(tok);
}

static void
test_kid_sql(void **state)
{
	static const char *const bad[] = {
		"1' OR '1'='1", "k;DROP TABLE keys", "k\\\"", "k\\n", "a b",
		"k--", "", "k\\t",
	};
	char *tok, longkid[JWT_KID_MAX + 2];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tok = with_kid(bad[i]);
		if (strcmp(bad[i], "k--") == 0)	/* base64url: only compared */
			refused(tok, AV_E_ACCESS_DENIED, "no key in the JWKS");
		else
			refused(tok, AV_E_ACCESS_DENIED, "the kid header");
		free(tok);
	}
	tok = with_kid("k\\u0000");	/* jansson refuses NUL in strings */
	refused(tok, AV_E_VALIDATION, "the header is not");
	free(tok);
	memset(longkid, 'k', sizeof(longkid) - 1);
	longkid[sizeof(longkid) - 1] = '\0';
	tok = with_kid(longkid);
	refused(tok, AV_E_ACCESS_DENIED, "longer than 128");
	free(tok);
	tok = sign_token(F.ec256, "ES256", "{\"alg\":\"ES256\",\"kid\":7}",
	    good_claims());
	refused(tok, AV_E_VALIDATION, "kid header is not a string");
	free(tok);
}

static void
test_key_headers(void **state)
{
	static const char *const h[] = {
		"\"jku\":\"https://evil.example/jwks.json\"",
		"\"x5u\":\"https://evil.example/cert.pem\"",
		("\"jwk\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\","
		    "\"y\":\"AA\"}"),
		"\"x5c\":[\"MIIB\"]",
	};
	static const char *const name[] = { "jku", "x5u", "jwk", "x5c" };
	char want[64], *tok;
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++) {
		tok = es256(h[i], good_claims());
		snprintf(want, sizeof(want), "the %s header is not allowed: "
		    "keys come only", name[i]);
		refused(tok, AV_E_ACCESS_DENIED, want);
		free(tok);
	}
}

static void
test_crit(void **state)
{
	char *tok;

	(void)state;
	tok = es256("\"crit\":[\"exp\"],\"exp\":1", good_claims());
	refused(tok, AV_E_ACCESS_DENIED, "crit header is not allowed");
	free(tok);
	tok = es256("\"crit\":[]", good_claims());
	refused(tok, AV_E_ACCESS_DENIED, "crit header is not allowed");
	free(tok);
	tok = es256("\"crit\":[\"b64\"],\"b64\":false", good_claims());
	refused(tok, AV_E_ACCESS_DENIED, "crit header");
	free(tok);
	tok = es256("\"b64\":false", good_claims());
	refused(tok, AV_E_ACCESS_DENIED, "b64 header is not allowed");
	free(tok);
}

static void
test_expired(void **state)
{
	char *tok;

	(void)state;
	tok = es256("", claims_fmt("{\"iss\":\"" ISS "\",\"aud\":"
	    "\"api://agent\",\"client_id\":\"client-a\",\"scope\":"
	    "\"agent:invoke\",\"exp\":%lld}", NOW - 60));
	refused(tok, AV_E_ACCESS_DENIED, "the token expired at 1799999940");
	free(tok);
	tok = es256("", claims_fmt("{\"iss\":\"" ISS "\",\"exp\":%lld.5}",
	    NOW - 60));
	refused(tok, AV_E_ACCESS_DENIED, "expired");
	free(tok);
	tok = es256("", "{\"iss\":\"" ISS "\"}");
	refused(tok, AV_E_ACCESS_DENIED, "the token has no exp");
	free(tok);
	/* NumericDate: numbers only, finite, within 2^53. */
	tok = es256("", "{\"iss\":\"" ISS "\",\"exp\":\"1900000000\"}");
	refused(tok, AV_E_VALIDATION, "exp is not a NumericDate");
	free(tok);
	tok = es256("", "{\"iss\":\"" ISS "\",\"exp\":1e300}");
	refused(tok, AV_E_VALIDATION, "exp is not a NumericDate");
	free(tok);
	tok = es256("", "{\"iss\":\"" ISS "\",\"exp\":true}");
	refused(tok, AV_E_VALIDATION, "exp is not a NumericDate");
	free(tok);
	tok = es256("", "{\"iss\":\"" ISS "\",\"exp\":99999999999999999999}");
	refused(tok, AV_E_VALIDATION, "payload is not");
	free(tok);
}

static void
test_not_yet_valid(void **state)
{
	char *tok;

	(void)state;
	tok = es256("", claims_with("\"nbf2\":0"));
	accepted(tok);
	free(tok);
	tok = es256("", claims_fmt("{\"iss\":\"" ISS "\",\"exp\":%lld,"
	    "\"nbf\":%lld}", NOW + 600, NOW + 61));
	refused(tok, AV_E_ACCESS_DENIED, "not valid before 1800000061");
	free(tok);
	tok = es256("", claims_fmt("{\"iss\":\"" ISS "\",\"exp\":%lld,"
	    "\"nbf\":%lld.1}", NOW + 600, NOW + 60));
	refused(tok, AV_E_ACCESS_DENIED, "not valid before");
	free(tok);
	tok = es256("", claims_fmt("{\"iss\":\"" ISS "\",\"exp\":%lld,"
	    "\"nbf\":null}", NOW + 600));
	refused(tok, AV_E_VALIDATION, "nbf is not a NumericDate");
	free(tok);
}

static void
test_future_iat(void **state)
{
	char *tok;

	(void)state;
	tok = es256("", claims_fmt("{\"iss\":\"" ISS "\",\"exp\":%lld,"
	    "\"iat\":%lld}", NOW + 600, NOW + 61));
	refused(tok, AV_E_ACCESS_DENIED, "issued in the future");
	free(tok);
}

static void
test_wrong_iss(void **state)
{
	char *tok;

	(void)state;
	tok = es256("", claims_fmt("{\"iss\":\"" ISS "/\",\"exp\":%lld}",
	    NOW + 600));
	refused(tok, AV_E_ACCESS_DENIED, "iss is not the configured issuer");
	free(tok);
	tok = es256("", claims_fmt("{\"iss\":\"HTTPS://IDP.EXAMPLE/POOL\","
	    "\"exp\":%lld}", NOW + 600));
	refused(tok, AV_E_ACCESS_DENIED, "iss is not the configured issuer");
	free(tok);
	tok = es256("", claims_fmt("{\"exp\":%lld}", NOW + 600));
	refused(tok, AV_E_ACCESS_DENIED, "no iss");
	free(tok);
	tok = es256("", claims_fmt("{\"iss\":[\"" ISS "\"],\"exp\":%lld}",
	    NOW + 600));
	refused(tok, AV_E_ACCESS_DENIED, "no iss");
	free(tok);
}

static void
test_wrong_aud(void **state)
{
	static const char *const bad[] = {
		"\"api://other\"", "[\"api://other\",\"x\"]", "[]",
		"\"API://AGENT\"",
	};
	char extra[128], *tok;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(extra, sizeof(extra), "{\"iss\":\"" ISS "\",\"exp\":"
		    "%lld,\"aud\":%s}", NOW + 600, bad[i]);
		tok = es256("", extra);
		refused(tok, AV_E_ACCESS_DENIED, "aud does not name an allowed");
		free(tok);
	}
	tok = es256("", claims_fmt("{\"iss\":\"" ISS "\",\"exp\":%lld}",
	    NOW + 600));
	refused(tok, AV_E_ACCESS_DENIED, "the token has no aud");
	free(tok);
	tok = es256("", claims_fmt("{\"iss\":\"" ISS "\",\"exp\":%lld,"
	    "\"aud\":[1,\"api://agent\"]}", NOW + 600));
	refused(tok, AV_E_VALIDATION, "aud has a member that is not");
	free(tok);
}

static const char *
client_claims(const char *client)
{
	return claims_fmt("{\"iss\":\"" ISS "\",\"exp\":%lld,\"aud\":"
	    "\"api://agent\",%s,\"scope\":\"agent:invoke\"}", NOW + 600,
	    client);
}

static void
test_wrong_azp(void **state)
{
	char *tok;

	(void)state;
	tok = es256("", client_claims("\"azp\":\"client-b\""));
	refused(tok, AV_E_ACCESS_DENIED, "azp is not an allowed client");
	free(tok);
	tok = es256("", client_claims("\"azp\":\"client-a\""));
	accepted(tok);
	free(tok);
	/* client_id wins over azp (AgentCore checks client_id). */
	tok = es256("", client_claims("\"azp\":\"client-a\",\"client_id\":"
	    "\"client-b\""));
	refused(tok, AV_E_ACCESS_DENIED, "client_id is not an allowed client");
	free(tok);
	tok = es256("", client_claims("\"sub\":\"x\""));
	refused(tok, AV_E_ACCESS_DENIED, "neither client_id nor azp");
	free(tok);
}

static void
test_wrong_client_id(void **state)
{
	char *tok;

	(void)state;
	tok = es256("", client_claims("\"client_id\":\"client-A\""));
	refused(tok, AV_E_ACCESS_DENIED, "client_id is not an allowed client");
	free(tok);
	tok = es256("", client_claims("\"client_id\":[\"client-a\"]"));
	refused(tok, AV_E_VALIDATION, "client_id is not a string");
	free(tok);
}

static void
test_missing_scope(void **state)
{
	static const char *const bad[] = {
		"\"scope\":\"openid profile\"", "\"scope\":\"agent:invoke2\"",
		"\"scope\":\"\"", "\"scp\":[\"openid\"]",
		"\"scp\":\"agent:invokeX agent\"",
	};
	char *tok;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tok = es256("", claims_fmt("{\"iss\":\"" ISS "\",\"exp\":%lld,"
		    "\"aud\":\"api://agent\",\"client_id\":\"client-a\",%s}",
		    NOW + 600, bad[i]));
		refused(tok, AV_E_ACCESS_DENIED, "none of the allowed scopes");
		free(tok);
	}
	tok = es256("", claims_fmt("{\"iss\":\"" ISS "\",\"exp\":%lld,"
	    "\"aud\":\"api://agent\",\"client_id\":\"client-a\"}", NOW + 600));
	refused(tok, AV_E_ACCESS_DENIED, "the token has no scope");
	free(tok);
	tok = es256("", claims_fmt("{\"iss\":\"" ISS "\",\"exp\":%lld,"
	    "\"aud\":\"api://agent\",\"client_id\":\"client-a\",\"scope\":"
	    "[\"agent:invoke\"]}", NOW + 600));
	refused(tok, AV_E_VALIDATION, "scope is not a string");
	free(tok);
	tok = es256("", claims_fmt("{\"iss\":\"" ISS "\",\"exp\":%lld,"
	    "\"aud\":\"api://agent\",\"client_id\":\"client-a\",\"scp\":"
	    "\"openid  agent:admin\"}", NOW + 600));
	accepted(tok);
	free(tok);
}

/* An ES256 token whose r (which 0) or s (1) is replaced by v. */
static void
ecdsa_rs(const char *alg, EVP_PKEY *key, const char *kid, int which,
    const unsigned char *v)
{
	char *h = b64s(hdr(alg, kid, "")), *c = b64s(good_claims()), *input,
	    *tok;
	unsigned char *sig;
	size_t siglen, half = half_of(alg);

	input = malloc(strlen(h) + strlen(c) + 2);
	sprintf(input, "%s.%s", h, c);
	sig = sign_raw(key, alg, input, &siglen);
	memcpy(sig + which * half, v, half);
	tok = assemble(hdr(alg, kid, ""), good_claims(), sig, siglen);
	refused(tok, AV_E_ACCESS_DENIED, "r or s is zero or not below the "
	    "group order");
	free(h);
	free(c);
	free(input);
	free(sig);
	free(tok);
}

static void
test_ecdsa_r_s_range(void **state)
{
	static const char *const algs[] = { "ES256", "ES384", "ES512" };
	static const char *const kids[] = { "ec-256", "ec-384", "ec-521" };
	EVP_PKEY *keys[] = { F.ec256, F.ec384, F.ec521 };
	unsigned char zero[66] = { 0 }, n[66], ff[66];
	size_t i, h;
	int which;

	(void)state;
	memset(ff, 0xff, sizeof(ff));
	for (i = 0; i < 3; i++) {
		EC_GROUP *g = EC_GROUP_new_by_curve_name(OBJ_sn2nid(
		    i == 0 ? "prime256v1" : i == 1 ? "secp384r1" :
		    "secp521r1"));
		BIGNUM *np1 = BN_dup(EC_GROUP_get0_order(g));

		h = half_of(algs[i]);
		assert_int_equal(BN_bn2binpad(EC_GROUP_get0_order(g), n,
		    (int)h), (int)h);
		for (which = 0; which < 2; which++) {
			ecdsa_rs(algs[i], keys[i], kids[i], which, zero);
			ecdsa_rs(algs[i], keys[i], kids[i], which, n);
			ecdsa_rs(algs[i], keys[i], kids[i], which, ff);
		}
		/* n + 1: still refused before OpenSSL (which would reduce). */
		assert_int_equal(BN_add_word(np1, 1), 1);
		assert_int_equal(BN_bn2binpad(np1, n, (int)h), (int)h);
		ecdsa_rs(algs[i], keys[i], kids[i], 1, n);
		BN_free(np1);
		EC_GROUP_free(g);
	}
	/* Wrong length (DER instead of r || s, or a byte short). */
	{
		char *tok = es256("", good_claims()), *dot = strrchr(tok, '.');

		dot[strlen(dot) - 2] = '\0';	/* 86 chars -> 84: 63 bytes */
		refused(tok, AV_E_ACCESS_DENIED, "an ES256 signature is 64 "
		    "bytes (r || s), not 63");
		free(tok);
	}
}

static void
test_malformed_base64url(void **state)
{
	char *good = es256("", good_claims()), *tok, *d1, *last;
	size_t n = strlen(good);

	(void)state;
	tok = malloc(n + 8);
	/* Padding on the signature. */
	snprintf(tok, n + 8, "%s==", good);
	refused(tok, AV_E_VALIDATION, "signature is not strict base64url");
	/* The standard alphabet. */
	strcpy(tok, good);
	d1 = strchr(tok, '.');
	d1[1] = '+';
	refused(tok, AV_E_VALIDATION, "payload is not strict base64url");
	strcpy(tok, good);
	tok[1] = '/';
	refused(tok, AV_E_VALIDATION, "header is not strict base64url");
	/* Non-canonical trailing bits: 86 chars carry 4 unused bits. */
	strcpy(tok, good);
	last = tok + n - 1;
	*last = *last == 'A' ? 'B' : *last == 'Q' ? 'R' : *last == 'g' ? 'h' :
	    *last == 'w' ? 'x' : 'B';
	refused(tok, AV_E_VALIDATION, "signature is not strict base64url");
	/* A length of 4k + 1. */
	snprintf(tok, n + 8, "%sAAA", good);
	refused(tok, AV_E_VALIDATION, "signature is not strict base64url");
	/* Whitespace, NUL. */
	snprintf(tok, n + 8, " %s", good);
	refused(tok, AV_E_VALIDATION, "header is not strict base64url");
	{
		struct jwt *t;
		struct av_err e;

		strcpy(tok, good);
		tok[3] = '\0';
		assert_int_equal(jwt_parse(tok, n, &t, &e), -1);
		assert_string_equal(e.type, AV_E_VALIDATION);
	}
	/* Not three parts. */
	refused("abc", AV_E_VALIDATION, "not a compact JWS");
	refused("a.b", AV_E_VALIDATION, "not a compact JWS");
	refused("a.b.c.d", AV_E_VALIDATION, "not a compact JWS");
	refused("", AV_E_VALIDATION, "empty");
	/* Header or payload not an object. */
	free(tok);
	tok = assemble("[\"ES256\"]", good_claims(), (const unsigned char *)"x",
	    1);
	refused(tok, AV_E_VALIDATION, "header is not");
	free(tok);
	tok = sign_token(F.ec256, "ES256", hdr("ES256", "ec-256", ""),
	    "\"just a string\"");
	refused(tok, AV_E_VALIDATION, "payload is not");
	free(tok);
	tok = sign_token(F.ec256, "ES256", hdr("ES256", "ec-256", ""),
	    "{\"iss\":\"x\"} trailing");
	refused(tok, AV_E_VALIDATION, "payload is not");
	free(tok);
	free(good);
}

static void
test_duplicate_members(void **state)
{
	char *tok;

	(void)state;
	tok = sign_token(F.ec256, "ES256", "{\"alg\":\"ES256\",\"kid\":"
	    "\"ec-256\",\"alg\":\"none\"}", good_claims());
	refused(tok, AV_E_VALIDATION, "header is not");
	free(tok);
	tok = es256("", claims_with("\"iss\":\"https://evil.example\""));
	refused(tok, AV_E_VALIDATION, "payload is not");
	free(tok);
	tok = es256("", claims_with("\"x\":{\"a\":1,\"a\":2}"));
	refused(tok, AV_E_VALIDATION, "payload is not");
	free(tok);
}

static void
test_oversized(void **state)
{
	char *big, *tok, deep[128];
	size_t n = JWT_MAX;

	(void)state;
	big = malloc(n + 64);
	memset(big, 'a', n + 64);
	memcpy(big, "{\"x\":\"", 6);
	strcpy(big + n - 2000, "\"}");
	tok = es256("", big);
	assert_true(strlen(tok) > JWT_MAX);
	refused(tok, AV_E_VALIDATION, "longer than 16384 bytes");
	free(tok);
	free(big);
	/* Nesting deeper than JWT_JSON_DEPTH. */
	memset(deep, 0, sizeof(deep));
	strcpy(deep, "\"x\":");
	memset(deep + 4, '[', JWT_JSON_DEPTH);
	memset(deep + 4 + JWT_JSON_DEPTH, ']', JWT_JSON_DEPTH);
	tok = es256("", claims_with(deep));
	refused(tok, AV_E_VALIDATION, "at most 16 deep");
	free(tok);
	deep[4 + JWT_JSON_DEPTH - 1] = '1';	/* one level less: fine */
	deep[4 + JWT_JSON_DEPTH] = ' ';
	tok = es256("", claims_with(deep));
	accepted(tok);
	free(tok);
}

static void
test_nested_jwt(void **state)
{
	char *inner = es256("", good_claims()), *tok;

	(void)state;
	tok = es256("\"cty\":\"JWT\"", good_claims());
	refused(tok, AV_E_ACCESS_DENIED, "cty header is not allowed: nested");
	free(tok);
	tok = es256("\"cty\":\"jwt\"", good_claims());
	refused(tok, AV_E_ACCESS_DENIED, "cty header");
	free(tok);
	/* A JWT as the payload itself is not a JSON object. */
	tok = sign_token(F.ec256, "ES256", hdr("ES256", "ec-256", ""), inner);
	refused(tok, AV_E_VALIDATION, "payload is not");
	free(tok);
	/* JWE (five parts), zip, enc. */
	refused("eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d", AV_E_VALIDATION,
	    "encrypted token (JWE) is not accepted");
	tok = es256("\"enc\":\"A256GCM\"", good_claims());
	refused(tok, AV_E_ACCESS_DENIED, "enc header");
	free(tok);
	tok = es256("\"zip\":\"DEF\"", good_claims());
	refused(tok, AV_E_ACCESS_DENIED, "zip header");
	free(tok);
	/* typ of another kind of JWT. */
	tok = sign_token(F.ec256, "ES256", "{\"alg\":\"ES256\",\"kid\":"
	    "\"ec-256\",\"typ\":\"dpop+jwt\"}", good_claims());
	refused(tok, AV_E_ACCESS_DENIED, "typ dpop+jwt is not");
	free(tok);
	free(inner);
}

static void
test_tampered(void **state)
{
	char *a = es256("", good_claims()), *b, *tok, *other;

	(void)state;
	/* b's header and payload with a's signature. */
	b = es256("", claims_with("\"admin\":true"));
	tok = malloc(strlen(a) + strlen(b) + 1);
	sprintf(tok, "%.*s%s", (int)(strrchr(b, '.') - b), b, strrchr(a, '.'));
	refused(tok, AV_E_ACCESS_DENIED, "ES256 signature does not verify");
	free(tok);
	free(a);
	free(b);
	/* Signed by another key under our kid. */
	other = sign_token(F.rsa_other, "RS256", hdr("RS256", "rsa-1", ""),
	    good_claims());
	refused(other, AV_E_ACCESS_DENIED, "RS256 signature does not verify");
	free(other);
	/* Key-type confusion: an ES256 token naming the RSA key. */
	other = sign_token(F.ec256, "ES256", hdr("ES256", "rsa-1", ""),
	    good_claims());
	refused(other, AV_E_ACCESS_DENIED, "does not fit alg ES256");
	free(other);
	/* A P-384 key for ES256. */
	other = sign_token(F.ec384, "ES384", hdr("ES256", "ec-384", ""),
	    good_claims());
	refused(other, AV_E_ACCESS_DENIED, "does not fit alg ES256");
	free(other);
	/* A PS256 signature under an RS256 header. */
	a = sign_token(F.rsa, "PS256", hdr("PS256", "rsa-1", ""),
	    good_claims());
	accepted(a);
	b = sign_token(F.rsa, "RS256", hdr("RS256", "rsa-1", ""),
	    good_claims());
	tok = malloc(strlen(a) + strlen(b) + 1);
	sprintf(tok, "%.*s%s", (int)(strrchr(b, '.') - b), b, strrchr(a, '.'));
	refused(tok, AV_E_ACCESS_DENIED, "RS256 signature does not verify");
	free(tok);
	free(a);
	free(b);
}

/* ---- JWKS ---------------------------------------------------------- */

static void
jwks_refused(const char *json, const char *want)
{
	struct jwk_set *s;
	struct av_err e;

	if (jwks_parse(json, strlen(json), &s, &e) == 0)
		fail_msg("JWKS accepted, expected: %s", want);
	assert_string_equal(e.type, AV_E_VALIDATION);
	if (strstr(e.msg, want) == NULL)
		fail_msg("got %s, expected ...%s...", e.msg, want);
	assert_null(s);
}

static void
test_jwks(void **state)
{
	struct jwk_set *s;
	EVP_PKEY *small = EVP_RSA_gen(1024);
	char buf[8192], *p;
	size_t i;

	(void)state;
	assert_true(jwks_has_kid(F.keys, "ec-256"));
	assert_false(jwks_has_kid(F.keys, "ec-999"));
	/* Private members refuse the whole set. */
	p = jwk_of(F.ec256, "a", NULL);
	p[strlen(p) - 1] = '\0';
	snprintf(buf, sizeof(buf), "{\"keys\":[%s,\"d\":\"AAAA\"}]}", p);
	jwks_refused(buf, "private key member \"d\"");
	/* Skipped: oct, use enc, key_ops without verify, 1024-bit RSA,
	 * unknown kty and curve, Ed448, a kid with bad characters. */
	snprintf(buf, sizeof(buf), "{\"keys\":[{\"kty\":\"oct\",\"k\":"
	    "\"c2VjcmV0\"},{\"kty\":\"EC\",\"crv\":\"P-256K\",\"x\":\"A\"},"
	    "{\"kty\":\"OKP\",\"crv\":\"Ed448\",\"x\":\"A\"},"
	    "{\"kty\":\"XYZ\"},");
	p = jwk_of(F.ec256, "enc", NULL);
	p[strlen(p) - 1] = '\0';
	strcat(buf, p);
	strcat(buf, ",\"use\":\"enc\"},");
	p = jwk_of(F.ec256, "ops", NULL);
	p[strlen(p) - 1] = '\0';
	strcat(buf, p);
	strcat(buf, ",\"key_ops\":[\"sign\"]},");
	strcat(buf, jwk_of(F.ec256, "bad kid", NULL));
	strcat(buf, ",");
	strcat(buf, jwk_of(small, "small", NULL));
	strcat(buf, "]}");
	s = set_of(buf);
	assert_int_equal(jwks_count(s), 0);
	jwks_free(s);
	/* Kept: key_ops with verify, use sig. */
	p = jwk_of(F.ec256, "ops", NULL);
	p[strlen(p) - 1] = '\0';
	snprintf(buf, sizeof(buf), "{\"keys\":[%s,\"key_ops\":[\"verify\"]}]}",
	    p);
	s = set_of(buf);
	assert_int_equal(jwks_count(s), 1);
	jwks_free(s);
	/* A point off the curve: y + 1. */
	snprintf(buf, sizeof(buf), "{\"keys\":[%s]}", jwk_of(F.ec256, "a",
	    NULL));
	p = strstr(buf, "\"y\":\"") + 5;
	p[0] = p[0] == 'A' ? 'B' : 'A';
	jwks_refused(buf, "not on its curve");
	/* Coordinates of the wrong length; malformed base64url. */
	jwks_refused("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":"
	    "\"AAAA\",\"y\":\"AAAA\"}]}", "malformed");
	jwks_refused("{\"keys\":[{\"kty\":\"RSA\",\"n\":\"a+b=\",\"e\":"
	    "\"AQAB\"}]}", "malformed");
	jwks_refused("{\"keys\":[{\"kty\":\"RSA\",\"e\":\"AQAB\"}]}",
	    "malformed");
	jwks_refused("{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
	    "\"x\":\"AAAA\"}]}", "malformed");
	jwks_refused("{\"keys\":[{\"kid\":\"x\"}]}", "has no kty");
	jwks_refused("{\"keys\":[1]}", "not an object");
	jwks_refused("{\"keys\":{}}", "no \"keys\" array");
	jwks_refused("[]", "not a JSON object");
	jwks_refused("{\"keys\":[],\"keys\":[]}", "duplicate");
	/* More than 100 keys. */
	strcpy(buf, "{\"keys\":[");
	for (i = 0; i <= JWKS_MAX_KEYS; i++)
		strcat(buf, i == 0 ? "{}" : ",{}");
	strcat(buf, "]}");
	jwks_refused(buf, "more than 100 keys");
	EVP_PKEY_free(small);
}

/* RFC 7518 forbids a leading zero in n; some providers send one anyway. */
static void
test_jwks_rsa_leading_zero(void **state)
{
	unsigned char raw[520];
	struct jwk_set *s;
	struct av_err e;
	BIGNUM *n = NULL;
	char buf[4096], *n64, *tok;
	size_t len;

	(void)state;
	assert_int_equal(EVP_PKEY_get_bn_param(F.rsa, OSSL_PKEY_PARAM_RSA_N,
	    &n), 1);
	raw[0] = 0;
	len = (size_t)BN_bn2bin(n, raw + 1) + 1;
	n64 = b64url(raw, len);
	snprintf(buf, sizeof(buf), "{\"keys\":[{\"kty\":\"RSA\",\"kid\":"
	    "\"z\",\"n\":\"%s\",\"e\":\"AQAB\"}]}", n64);
	s = set_of(buf);
	assert_int_equal(jwks_count(s), 1);
	tok = sign_token(F.rsa, "RS256", hdr("RS256", "z", ""), good_claims());
	assert_int_equal(run(tok, s, &policy, &e), 0);
	free(tok);
	/* An EdDSA signature a byte short. */
	tok = sign_token(F.ed, "EdDSA", hdr("EdDSA", "ed-1", ""),
	    good_claims());
	tok[strlen(tok) - 2] = '\0';	/* 86 chars -> 84: 63 bytes */
	refused(tok, AV_E_ACCESS_DENIED, "an EdDSA signature is 64 bytes, "
	    "not 63");
	free(tok);
	jwks_free(s);
	free(n64);
	BN_free(n);
}

static void
test_key_alg_mismatch(void **state)
{
	struct jwk_set *s;
	struct av_err e;
	char buf[8192], *tok;

	(void)state;
	snprintf(buf, sizeof(buf), "{\"keys\":[%s]}", jwk_of(F.rsa, "r",
	    "RS512"));
	s = set_of(buf);
	tok = sign_token(F.rsa, "RS256", hdr("RS256", "r", ""),
	    good_claims());
	assert_int_equal(run(tok, s, &policy, &e), -1);
	assert_non_null(strstr(e.msg, "does not fit alg RS256"));
	free(tok);
	tok = sign_token(F.rsa, "RS512", hdr("RS512", "r", ""),
	    good_claims());
	assert_int_equal(run(tok, s, &policy, &e), 0);
	free(tok);
	jwks_free(s);
}

/* ---- AgentCore's customClaims ------------------------------------- */

static void
test_required_claims(void **state)
{
	struct jwt_policy p = policy;
	json_error_t jerr;
	json_t *rules;
	struct av_err e;
	char *tok;

	(void)state;
	rules = json_loads("[{\"inboundTokenClaimName\":\"dept\","
	    "\"inboundTokenClaimValueType\":\"STRING\","
	    "\"authorizingClaimMatchValue\":{\"claimMatchOperator\":"
	    "\"EQUALS\",\"claimMatchValue\":{\"matchValueString\":\"eng\"}}},"
	    "{\"inboundTokenClaimName\":\"roles\","
	    "\"inboundTokenClaimValueType\":\"STRING_ARRAY\","
	    "\"authorizingClaimMatchValue\":{\"claimMatchOperator\":"
	    "\"CONTAINS\",\"claimMatchValue\":{\"matchValueString\":"
	    "\"admin\"}}},"
	    "{\"inboundTokenClaimName\":\"perms\","
	    "\"inboundTokenClaimValueType\":\"STRING_ARRAY\","
	    "\"authorizingClaimMatchValue\":{\"claimMatchOperator\":"
	    "\"CONTAINS_ANY\",\"claimMatchValue\":{\"matchValueStringList\":"
	    "[\"read\",\"write\"]}}}]", 0, &jerr);
	assert_non_null(rules);
	assert_int_equal(jwt_claim_rules_valid(rules, &e), 0);
	p.required_claims = rules;
	tok = es256("", claims_with("\"dept\":\"eng\",\"roles\":[\"x\","
	    "\"admin\"],\"perms\":[\"write\"]"));
	assert_int_equal(run(tok, F.keys, &p, &e), 0);
	free(tok);
	tok = es256("", claims_with("\"dept\":\"sales\",\"roles\":[\"admin\"],"
	    "\"perms\":[\"write\"]"));
	refused_p(tok, &p, AV_E_ACCESS_DENIED, "the dept claim does not match "
	    "(EQUALS)");
	free(tok);
	tok = es256("", claims_with("\"dept\":\"eng\",\"roles\":[\"user\"],"
	    "\"perms\":[\"write\"]"));
	refused_p(tok, &p, AV_E_ACCESS_DENIED, "roles claim does not match "
	    "(CONTAINS)");
	free(tok);
	tok = es256("", claims_with("\"dept\":\"eng\",\"roles\":[\"admin\"],"
	    "\"perms\":[\"delete\"]"));
	refused_p(tok, &p, AV_E_ACCESS_DENIED, "perms claim does not match "
	    "(CONTAINS_ANY)");
	free(tok);
	tok = es256("", claims_with("\"dept\":[\"eng\"],\"roles\":[\"admin\"],"
	    "\"perms\":[\"write\"]"));
	refused_p(tok, &p, AV_E_ACCESS_DENIED, "dept claim is not a string");
	free(tok);
	tok = es256("", claims_with("\"roles\":[\"admin\"]"));
	refused_p(tok, &p, AV_E_ACCESS_DENIED, "no dept claim");
	free(tok);
	json_decref(rules);
	/* Invalid rules: EQUALS on an array, CONTAINS_ANY without a list,
	 * unknown members, an unknown type. */
	{
		static const char *const bad[] = {
			"{}",
			"[{\"inboundTokenClaimName\":\"a\","
			    "\"inboundTokenClaimValueType\":\"STRING_ARRAY\","
			    "\"authorizingClaimMatchValue\":{"
			    "\"claimMatchOperator\":\"EQUALS\","
			    "\"claimMatchValue\":{\"matchValueString\":\"x\"}}}]",
			"[{\"inboundTokenClaimName\":\"a\","
			    "\"inboundTokenClaimValueType\":\"STRING_ARRAY\","
			    "\"authorizingClaimMatchValue\":{"
			    "\"claimMatchOperator\":\"CONTAINS_ANY\","
			    "\"claimMatchValue\":{\"matchValueString\":\"x\"}}}]",
			"[{\"inboundTokenClaimName\":\"a\","
			    "\"inboundTokenClaimValueType\":\"NUMBER\","
			    "\"authorizingClaimMatchValue\":{"
			    "\"claimMatchOperator\":\"EQUALS\","
			    "\"claimMatchValue\":{\"matchValueString\":\"x\"}}}]",
			"[{\"inboundTokenClaimName\":\"a\",\"extra\":1,"
			    "\"inboundTokenClaimValueType\":\"STRING\","
			    "\"authorizingClaimMatchValue\":{"
			    "\"claimMatchOperator\":\"EQUALS\","
			    "\"claimMatchValue\":{\"matchValueString\":\"x\"}}}]",
		};
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			rules = json_loads(bad[i], 0, &jerr);
			assert_non_null(rules);
			assert_int_equal(jwt_claim_rules_valid(rules, &e), -1);
			p.required_claims = rules;
			tok = es256("", good_claims());
			assert_int_equal(run(tok, F.keys, &p, &e), -1);
			assert_string_equal(e.type, AV_E_VALIDATION);
			free(tok);
			json_decref(rules);
		}
	}
}

static void
test_reason_never_echoes(void **state)
{
	char h[512], *tok, longalg[200];

	(void)state;
	/* A long, hostile alg is cut and its quotes replaced. */
	memset(longalg, 'A', sizeof(longalg) - 1);
	longalg[sizeof(longalg) - 1] = '\0';
	longalg[3] = '\\';
	longalg[4] = '\\';
	snprintf(h, sizeof(h), "{\"alg\":\"%s\"}", longalg);
	tok = sign_token(F.ec256, "ES256", h, good_claims());
	refused(tok, AV_E_ACCESS_DENIED, "AAA?AAAA");
	{
		struct av_err e;

		assert_int_equal(run(tok, F.keys, &policy, &e), -1);
		assert_true(strlen(e.msg) < 160);
		assert_non_null(strstr(e.msg, "..."));
	}
	free(tok);
}

/* ---- Wycheproof ---------------------------------------------------- */

static unsigned char *
unhex(const char *s, size_t *len)
{
	size_t n = strlen(s) / 2, i;
	unsigned char *out = malloc(n + 1);
	unsigned int v;

	for (i = 0; i < n; i++) {
		assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = (unsigned char)v;
	}
	*len = n;
	return out;
}

/* A few ECDSA groups carry no JWK: one from the uncompressed point. */
static json_t *
ec_jwk(const json_t *pk)
{
	const char *u = json_string_value(json_object_get(pk, "uncompressed"));
	unsigned char *raw;
	size_t len;
	char *x, *y;
	json_t *j;

	assert_non_null(u);
	raw = unhex(u, &len);
	assert_int_equal(len, 65);
	x = b64url(raw + 1, 32);
	y = b64url(raw + 33, 32);
	j = json_pack("{s:s,s:s,s:s,s:s}", "kty", "EC", "crv", "P-256", "x", x,
	    "y", y);
	free(raw);
	free(x);
	free(y);
	return j;
}

static void
wycheproof(const char *file, const char *jwkname, const char *alg)
{
	char path[512];
	json_error_t jerr;
	json_t *root, *groups, *g, *tests, *tc;
	size_t gi, ti, valid = 0, invalid = 0, acc = 0, acc_ok = 0;

	snprintf(path, sizeof(path), "tests/vectors/wycheproof/%s", file);
	root = json_load_file(path, 0, &jerr);
	if (root == NULL)
		fail_msg("%s: %s", path, jerr.text);
	groups = json_object_get(root, "testGroups");
	json_array_foreach(groups, gi, g) {
		json_t *jwk = json_object_get(g, jwkname), *keys;
		char *jwks;
		struct jwk_set *s = NULL;
		struct av_err e;

		if (jwk == NULL)
			keys = json_pack("{s:[o]}", "keys", ec_jwk(
			    json_object_get(g, "publicKey")));
		else
			keys = json_pack("{s:[O]}", "keys", jwk);
		assert_non_null(keys);
		jwks = json_dumps(keys, JSON_COMPACT);
		if (jwks_parse(jwks, strlen(jwks), &s, &e) != 0)
			fail_msg("%s group %zu: %s", file, gi, e.msg);
		assert_int_equal(jwks_count(s), 1);
		tests = json_object_get(g, "tests");
		json_array_foreach(tests, ti, tc) {
			const char *res = json_string_value(json_object_get(tc,
			    "result"));
			size_t mlen, slen;
			unsigned char *msg = unhex(json_string_value(
			    json_object_get(tc, "msg")), &mlen);
			unsigned char *sig = unhex(json_string_value(
			    json_object_get(tc, "sig")), &slen);
			int rc = jwt_verify_detached(s, alg, NULL, msg, mlen,
			    sig, slen, &e);

			if (strcmp(res, "valid") == 0) {
				if (rc != 0)
					fail_msg("%s tcId %lld valid, refused: "
					    "%s", file, json_integer_value(
					    json_object_get(tc, "tcId")), e.msg);
				valid++;
			} else if (strcmp(res, "invalid") == 0) {
				if (rc == 0)
					fail_msg("%s tcId %lld invalid, "
					    "accepted", file, json_integer_value(
					    json_object_get(tc, "tcId")));
				invalid++;
			} else {
				acc++;
				acc_ok += rc == 0;
			}
			free(msg);
			free(sig);
		}
		jwks_free(s);
		free(jwks);
		json_decref(keys);
	}
	print_message("# wycheproof %s: %zu valid accepted, %zu invalid "
	    "refused, %zu acceptable (%zu accepted)\n", file, valid, invalid,
	    acc, acc_ok);
	assert_true(valid > 0 && invalid > 0);
	assert_int_equal(acc_ok, 0);	/* we take DER DigestInfo only */
	json_decref(root);
}

static void
test_wycheproof_ecdsa_p256(void **state)
{
	(void)state;
	wycheproof("ecdsa_secp256r1_sha256_p1363_test.json", "publicKeyJwk",
	    "ES256");
}

static void
test_wycheproof_rsa_pkcs1(void **state)
{
	(void)state;
	wycheproof("rsa_signature_2048_sha256_test.json", "keyJwk", "RS256");
}

static void
test_wycheproof_rsa_pss(void **state)
{
	(void)state;
	wycheproof("rsa_pss_2048_sha256_mgf1_32_test.json", "publicKeyJwk",
	    "PS256");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_every_alg),
		cmocka_unit_test(test_good_variants),
		cmocka_unit_test(test_no_kid),
		cmocka_unit_test(test_alg_none),
		cmocka_unit_test(test_hs256_with_rsa_public_key),
		cmocka_unit_test(test_kid_path),
		cmocka_unit_test(test_kid_sql),
		cmocka_unit_test(test_key_headers),
		cmocka_unit_test(test_crit),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_not_yet_valid),
		cmocka_unit_test(test_future_iat),
		cmocka_unit_test(test_wrong_iss),
		cmocka_unit_test(test_wrong_aud),
		cmocka_unit_test(test_wrong_azp),
		cmocka_unit_test(test_wrong_client_id),
		cmocka_unit_test(test_missing_scope),
		cmocka_unit_test(test_ecdsa_r_s_range),
		cmocka_unit_test(test_malformed_base64url),
		cmocka_unit_test(test_duplicate_members),
		cmocka_unit_test(test_oversized),
		cmocka_unit_test(test_nested_jwt),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_jwks),
		cmocka_unit_test(test_jwks_rsa_leading_zero),
		cmocka_unit_test(test_key_alg_mismatch),
		cmocka_unit_test(test_required_claims),
		cmocka_unit_test(test_reason_never_echoes),
		cmocka_unit_test(test_wycheproof_ecdsa_p256),
		cmocka_unit_test(test_wycheproof_rsa_pkcs1),
		cmocka_unit_test(test_wycheproof_rsa_pss),
	};

	return cmocka_run_group_tests_name("jwt", tests, setup, teardown);
}
