/* SPDX-License-Identifier: Apache-2.0 */
/*
 * jwt.c - strict JWS/JWT parsing, signature verification (OpenSSL 3 EVP,
 * software keys) and claim checks.  What is refused and why: jwt.h and
 * docs/jwt.md.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/rsa.h>

#include "jwk.h"
#include "jwt.h"

#define NUMERIC_DATE_MAX	9007199254740992.0	/* 2^53 */

/* The group orders, big-endian in field-size bytes: r and s must be below. */
static const unsigned char p256_order[32] = {
	0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
	0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
};
static const unsigned char p384_order[48] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xc7, 0x63, 0x4d, 0x81, 0xf4, 0x37, 0x2d, 0xdf,
	0x58, 0x1a, 0x0d, 0xb2, 0x48, 0xb0, 0xa7, 0x7a,
	0xec, 0xec, 0x19, 0x6a, 0xcc, 0xc5, 0x29, 0x73,
};
static const unsigned char p521_order[66] = {
	0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xfa, 0x51, 0x86, 0x87, 0x83, 0xbf, 0x2f,
	0x96, 0x6b, 0x7f, 0xcc, 0x01, 0x48, 0xf7, 0x09,
	0xa5, 0xd0, 0x3b, 0xb5, 0xc9, 0xb8, 0x89, 0x9c,
	0x47, 0xae, 0xbb, 0x6f, 0xb7, 0x1e, 0x91, 0x38,
	0x64, 0x09,
};

/* The allow list: asymmetric algorithms only. */
static const struct jwt_alg {
	const char		*name;
	enum jwk_kty		 kty;
	int			 nid;	/* EC curve or NID_ED25519 */
	const char		*md;	/* NULL: EdDSA hashes itself */
	bool			 pss;
	size_t			 half;	/* ECDSA: bytes of r and of s */
	const unsigned char	*order;
} algs[] = {
	{ "RS256", JWK_RSA, 0, "SHA256", false, 0, NULL },
	{ "RS384", JWK_RSA, 0, "SHA384", false, 0, NULL },
	{ "RS512", JWK_RSA, 0, "SHA512", false, 0, NULL },
	{ "PS256", JWK_RSA, 0, "SHA256", true, 0, NULL },
	{ "PS384", JWK_RSA, 0, "SHA384", true, 0, NULL },
	{ "PS512", JWK_RSA, 0, "SHA512", true, 0, NULL },
	{ "ES256", JWK_EC, NID_X9_62_prime256v1, "SHA256", false, 32,
	    p256_order },
	{ "ES384", JWK_EC, NID_secp384r1, "SHA384", false, 48, p384_order },
	{ "ES512", JWK_EC, NID_secp521r1, "SHA512", false, 66, p521_order },
	{ "EdDSA", JWK_OKP, NID_ED25519, NULL, false, 0, NULL },
};

/*
 * Headers refused whatever their value: keys or key URLs from the token
 * itself (jku, x5u, jwk, x5c), extensions (crit, b64), JWE (enc, zip) and
 * content types (cty: a nested JWT, or not a JWT at all).  x5t and
 * x5t#S256 are only hints and are ignored (Entra ID sends x5t).
 */
static const struct {
	const char	*name, *why;
} refused_headers[] = {
	{ "jku", ": keys come only from the issuer's JWKS" },
	{ "x5u", ": keys come only from the issuer's JWKS" },
	{ "jwk", ": keys come only from the issuer's JWKS" },
	{ "x5c", ": keys come only from the issuer's JWKS" },
	{ "crit", ": no critical extension is understood" },
	{ "b64", ": payloads are base64url" },
	{ "enc", ": encrypted tokens are not accepted" },
	{ "zip", ": encrypted tokens are not accepted" },
	{ "cty", ": nested or non-JWT content" },
};

static const char *const typs[] = {
	"JWT", "at+jwt", "application/jwt", "application/at+jwt",
};

struct jwt {
	json_t			*header, *claims;
	const struct jwt_alg	*alg;
	const char		*kid;		/* in header, or NULL */
	char			*input;		/* header.payload: signed */
	size_t			 inputlen;
	unsigned char		*sig;
	size_t			 siglen;
};

/*
 * s as an error message may show it: at most JWT_ECHO_MAX printable
 * characters, no quotes or backslashes.
 */
static const char *
shown(const char *s, char buf[JWT_ECHO_MAX + 1])
{
	size_t i;

	for (i = 0; s[i] != '\0' && i < JWT_ECHO_MAX; i++)
		buf[i] = isprint((unsigned char)s[i]) && s[i] != '"' &&
		    s[i] != '\\' ? s[i] : '?';
	buf[i] = '\0';
	if (s[i] != '\0')
		memcpy(buf + JWT_ECHO_MAX - 3, "...", 4);
	return buf;
}

static const struct jwt_alg *
alg_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (strcmp(algs[i].name, name) == 0)
			return &algs[i];
	return NULL;
}

static int
check_header(struct jwt *t, struct av_err *e)
{
	json_t *h = t->header, *alg = json_object_get(h, "alg"), *v;
	char buf[JWT_ECHO_MAX + 1];
	const char *s;
	size_t i;

	if (alg == NULL)
		return av_fail(e, AV_E_VALIDATION, "the header has no alg");
	if ((s = json_string_value(alg)) == NULL)
		return av_fail(e, AV_E_VALIDATION, "the header's alg is not a "
		    "string");
	if (strcasecmp(s, "none") == 0)
		return av_fail(e, AV_E_ACCESS_DENIED, "alg none is not allowed: "
		    "tokens must be signed");
	if (strncasecmp(s, "HS", 2) == 0)
		return av_fail(e, AV_E_ACCESS_DENIED, "alg %s (HMAC) is not "
		    "allowed: only asymmetric algorithms are", shown(s, buf));
	if ((t->alg = alg_find(s)) == NULL)
		return av_fail(e, AV_E_ACCESS_DENIED, "alg %s is not allowed "
		    "(RS256/384/512, PS256/384/512, ES256/384/512, EdDSA are)",
		    shown(s, buf));
	for (i = 0; i < sizeof(refused_headers) / sizeof(refused_headers[0]);
	    i++)
		if (json_object_get(h, refused_headers[i].name) != NULL)
			return av_fail(e, AV_E_ACCESS_DENIED, "the %s header "
			    "is not allowed%s", refused_headers[i].name,
			    refused_headers[i].why);
	if ((v = json_object_get(h, "typ")) != NULL) {
		if ((s = json_string_value(v)) == NULL)
			return av_fail(e, AV_E_VALIDATION, "the typ header is "
			    "not a string");
		for (i = 0; i < sizeof(typs) / sizeof(typs[0]); i++)
			if (strcasecmp(s, typs[i]) == 0)
				break;
		if (i == sizeof(typs) / sizeof(typs[0]))
			return av_fail(e, AV_E_ACCESS_DENIED, "typ %s is not "
			    "a JWT or access token type", shown(s, buf));
	}
	if ((v = json_object_get(h, "kid")) != NULL) {
		if ((t->kid = json_string_value(v)) == NULL)
			return av_fail(e, AV_E_VALIDATION, "the kid header is "
			    "not a string");
		if (!jwt_kid_ok(t->kid))
			return av_fail(e, AV_E_ACCESS_DENIED, "the kid header "
			    "is longer than %d bytes or has characters a key "
			    "id may not have", JWT_KID_MAX);
	}
	return 0;
}

/* One part of the token, base64url-decoded, as a JSON object. */
static json_t *
part_object(const char *p, size_t len)
{
	unsigned char *raw;
	size_t rawlen;
	json_t *j;

	if (jwt_b64url_decode(p, len, &raw, &rawlen) != 0)
		return NULL;
	j = jwt_json_object(raw, rawlen);
	free(raw);
	return j;
}

int
jwt_parse(const char *token, size_t len, struct jwt **out, struct av_err *e)
{
	const char *d1, *d2;
	struct jwt *t;
	size_t dots = 0, i;

	*out = NULL;
	if (len == 0)
		return av_fail(e, AV_E_VALIDATION, "the token is empty");
	if (len > JWT_MAX)
		return av_fail(e, AV_E_VALIDATION, "the token is longer than "
		    "%d bytes", JWT_MAX);
	for (i = 0; i < len; i++)
		if (token[i] == '.')
			dots++;
	if (dots == 4)
		return av_fail(e, AV_E_VALIDATION, "an encrypted token (JWE) "
		    "is not accepted: a signed JWT (JWS) is");
	if (dots != 2)
		return av_fail(e, AV_E_VALIDATION, "the token is not a compact "
		    "JWS (header.payload.signature)");
	d1 = memchr(token, '.', len);
	d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token));
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	if ((t->header = part_object(token, (size_t)(d1 - token))) == NULL) {
		av_fail(e, AV_E_VALIDATION, "the header is not strict "
		    "base64url of a JSON object (without duplicate members, "
		    "at most %d deep)", JWT_JSON_DEPTH);
		goto fail;
	}
	if (check_header(t, e) != 0)
		goto fail;
	if ((t->claims = part_object(d1 + 1, (size_t)(d2 - d1 - 1))) ==
	    NULL) {
		av_fail(e, AV_E_VALIDATION, "the payload is not strict "
		    "base64url of a JSON object (without duplicate members, "
		    "at most %d deep)", JWT_JSON_DEPTH);
		goto fail;
	}
	if (jwt_b64url_decode(d2 + 1, len - (size_t)(d2 + 1 - token), &t->sig,
	    &t->siglen) != 0) {
		av_fail(e, AV_E_VALIDATION, "the signature is not strict "
		    "base64url");
		goto fail;
	}
	if (t->siglen == 0) {
		av_fail(e, AV_E_ACCESS_DENIED, "the token is not signed");
		goto fail;
	}
	t->inputlen = (size_t)(d2 - token);
	if ((t->input = malloc(t->inputlen)) == NULL) {
		av_fail(e, AV_E_INTERNAL, "out of memory");
		goto fail;
	}
	memcpy(t->input, token, t->inputlen);
	*out = t;
	return 0;
fail:
	jwt_free(t);
	return -1;
}

void
jwt_free(struct jwt *t)
{
	if (t == NULL)
		return;
	json_decref(t->header);
	json_decref(t->claims);
	free(t->input);
	free(t->sig);
	free(t);
}

const char *
jwt_kid(const struct jwt *t)
{
	return t->kid;
}

const char *
jwt_alg_name(const struct jwt *t)
{
	return t->alg->name;
}

json_t *
jwt_claims(const struct jwt *t)
{
	return t->claims;
}

json_t *
jwt_header(const struct jwt *t)
{
	return t->header;
}

const char *
jwt_claim_string(const struct jwt *t, const char *name)
{
	return json_string_value(json_object_get(t->claims, name));
}

/* ---- signatures ---------------------------------------------------- */

static bool
all_zero(const unsigned char *p, size_t n)
{
	unsigned char acc = 0;

	while (n-- > 0)
		acc |= *p++;
	return acc == 0;
}

/*
 * JWS's r || s to DER, refusing r or s outside [1, n-1] before OpenSSL
 * sees them (big-endian, equal length: memcmp orders them as numbers).
 */
static unsigned char *
ecdsa_der(const struct jwt_alg *a, const unsigned char *sig, size_t siglen,
    int *derlen, struct av_err *e)
{
	const unsigned char *r = sig, *s = sig + a->half;
	ECDSA_SIG *es = NULL;
	BIGNUM *br = NULL, *bs = NULL;
	unsigned char *der = NULL;

	if (siglen != 2 * a->half) {
		av_fail(e, AV_E_ACCESS_DENIED, "an %s signature is %zu bytes "
		    "(r || s), not %zu", a->name, 2 * a->half, siglen);
		return NULL;
	}
	if (all_zero(r, a->half) || memcmp(r, a->order, a->half) >= 0 ||
	    all_zero(s, a->half) || memcmp(s, a->order, a->half) >= 0) {
		av_fail(e, AV_E_ACCESS_DENIED, "the %s signature's r or s is "
		    "zero or not below the group order", a->name);
		return NULL;
	}
	if ((es = ECDSA_SIG_new()) == NULL ||
	    (br = BN_bin2bn(r, (int)a->half, NULL)) == NULL ||
	    (bs = BN_bin2bn(s, (int)a->half, NULL)) == NULL ||
	    !ECDSA_SIG_set0(es, br, bs)) {
		BN_free(br);
		BN_free(bs);
	} else if ((*derlen = i2d_ECDSA_SIG(es, &der)) <= 0)
		der = NULL;
	ECDSA_SIG_free(es);
	if (der == NULL)
		av_fail(e, AV_E_INTERNAL, "could not encode the signature");
	return der;
}

static int
verify_with(const struct jwt_alg *a, EVP_PKEY *key, const void *msg,
    size_t len, const unsigned char *sig, size_t siglen, struct av_err *e)
{
	EVP_MD_CTX *md = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *der = NULL;
	int derlen = 0, ok = 0;

	if (a->kty == JWK_RSA && siglen != (size_t)EVP_PKEY_get_size(key))
		return av_fail(e, AV_E_ACCESS_DENIED, "an %s signature with "
		    "this key is %d bytes, not %zu", a->name,
		    EVP_PKEY_get_size(key), siglen);
	if (a->kty == JWK_OKP && siglen != 64)
		return av_fail(e, AV_E_ACCESS_DENIED, "an EdDSA signature is "
		    "64 bytes, not %zu", siglen);
	if (a->kty == JWK_EC) {
		if ((der = ecdsa_der(a, sig, siglen, &derlen, e)) == NULL)
			return -1;
		sig = der;
		siglen = (size_t)derlen;
	}
	if ((md = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestVerifyInit_ex(md, &pctx, a->md, NULL, NULL, key,
	    NULL) == 1 &&
	    (!a->pss ||
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) ==
	    1 && EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, a->md, NULL) == 1)))
		ok = EVP_DigestVerify(md, sig, siglen, msg, len) == 1;
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	ERR_clear_error();
	if (!ok)
		return av_fail(e, AV_E_ACCESS_DENIED, "the token's %s "
		    "signature does not verify", a->name);
	return 0;
}

int
jwt_verify_detached(const struct jwk_set *keys, const char *alg,
    const char *kid, const void *msg, size_t len, const unsigned char *sig,
    size_t siglen, struct av_err *e)
{
	const struct jwt_alg *a = alg_find(alg);
	EVP_PKEY *key;
	char buf[JWT_ECHO_MAX + 1];

	if (a == NULL)
		return av_fail(e, AV_E_ACCESS_DENIED, "alg %s is not allowed",
		    shown(alg, buf));
	if (jwks_select(keys, kid, a->name, a->kty, a->nid, &key, e) != 0)
		return -1;
	return verify_with(a, key, msg, len, sig, siglen, e);
}

int
jwt_verify_signature(const struct jwt *t, const struct jwk_set *keys,
    struct av_err *e)
{
	return jwt_verify_detached(keys, t->alg->name, t->kid, t->input,
	    t->inputlen, t->sig, t->siglen, e);
}

/* ---- claims -------------------------------------------------------- */

/*
 * A NumericDate claim, rounded the strict way (exp down, nbf and iat up):
 * 0 with *v, 1 when missing, -1 when not a finite number within +-2^53.
 */
static int
numeric_date(const json_t *claims, const char *name, bool up, int64_t *v)
{
	json_t *j = json_object_get(claims, name);
	double d;

	if (j == NULL)
		return 1;
	if (!json_is_number(j))
		return -1;
	d = json_number_value(j);
	if (!isfinite(d) || d > NUMERIC_DATE_MAX || d < -NUMERIC_DATE_MAX)
		return -1;
	*v = (int64_t)(up ? ceil(d) : floor(d));
	return 0;
}

int64_t
jwt_exp(const struct jwt *t)
{
	int64_t v;

	return numeric_date(t->claims, "exp", false, &v) == 0 ? v : 0;
}

static bool
listed(const char *s, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

/* Whether a space-separated scope string grants one of allowed. */
static bool
scope_granted(const char *scopes, const char *const *allowed)
{
	char one[256];
	size_t n;

	while (*scopes != '\0') {
		n = strcspn(scopes, " ");
		if (n > 0 && n < sizeof(one)) {
			memcpy(one, scopes, n);
			one[n] = '\0';
			if (listed(one, allowed))
				return true;
		}
		scopes += n;
		scopes += strspn(scopes, " ");
	}
	return false;
}

static int
check_times(const json_t *c, const struct jwt_policy *p, struct av_err *e)
{
	int64_t exp, nbf, iat;
	int rc;

	if ((rc = numeric_date(c, "exp", false, &exp)) == 1)
		return av_fail(e, AV_E_ACCESS_DENIED, "the token has no exp");
	if (rc < 0)
		return av_fail(e, AV_E_VALIDATION, "exp is not a NumericDate");
	if (p->now >= exp + p->skew)
		return av_fail(e, AV_E_ACCESS_DENIED, "the token expired at "
		    "%lld (now %lld)", (long long)exp, (long long)p->now);
	if ((rc = numeric_date(c, "nbf", true, &nbf)) < 0)
		return av_fail(e, AV_E_VALIDATION, "nbf is not a NumericDate");
	if (rc == 0 && p->now + p->skew < nbf)
		return av_fail(e, AV_E_ACCESS_DENIED, "the token is not valid "
		    "before %lld (now %lld)", (long long)nbf, (long long)p->now);
	if ((rc = numeric_date(c, "iat", true, &iat)) < 0)
		return av_fail(e, AV_E_VALIDATION, "iat is not a NumericDate");
	if (rc == 0 && p->now + p->skew < iat)
		return av_fail(e, AV_E_ACCESS_DENIED, "the token was issued in "
		    "the future (iat %lld, now %lld)", (long long)iat,
		    (long long)p->now);
	return 0;
}

static int
check_audience(const json_t *c, const char *const *allowed, struct av_err *e)
{
	json_t *aud = json_object_get(c, "aud"), *v;
	size_t i;

	if (aud == NULL)
		return av_fail(e, AV_E_ACCESS_DENIED, "the token has no aud");
	if (json_is_string(aud) && listed(json_string_value(aud), allowed))
		return 0;
	if (json_is_array(aud))
		json_array_foreach(aud, i, v) {
			if (!json_is_string(v))
				return av_fail(e, AV_E_VALIDATION, "aud has "
				    "a member that is not a string");
			if (listed(json_string_value(v), allowed))
				return 0;
		}
	else if (!json_is_string(aud))
		return av_fail(e, AV_E_VALIDATION, "aud is neither a string "
		    "nor an array of strings");
	return av_fail(e, AV_E_ACCESS_DENIED, "aud does not name an allowed "
	    "audience");
}

static int
check_client(const json_t *c, const char *const *allowed, struct av_err *e)
{
	json_t *id = json_object_get(c, "client_id");
	const char *name = "client_id";

	if (id == NULL) {
		id = json_object_get(c, "azp");
		name = "azp";
	}
	if (id == NULL)
		return av_fail(e, AV_E_ACCESS_DENIED, "the token has neither "
		    "client_id nor azp");
	if (!json_is_string(id))
		return av_fail(e, AV_E_VALIDATION, "%s is not a string", name);
	if (!listed(json_string_value(id), allowed))
		return av_fail(e, AV_E_ACCESS_DENIED, "%s is not an allowed "
		    "client", name);
	return 0;
}

static int
check_scopes(const json_t *c, const char *const *allowed, struct av_err *e)
{
	json_t *scope = json_object_get(c, "scope"), *scp = json_object_get(c,
	    "scp"), *v;
	size_t i;

	if (scope == NULL && scp == NULL)
		return av_fail(e, AV_E_ACCESS_DENIED, "the token has no scope "
		    "(scope or scp)");
	if ((scope != NULL && !json_is_string(scope)) ||
	    (scp != NULL && !json_is_string(scp) && !json_is_array(scp)))
		return av_fail(e, AV_E_VALIDATION, "scope is not a string, or "
		    "scp neither a string nor an array");
	if (scope != NULL && scope_granted(json_string_value(scope), allowed))
		return 0;
	if (json_is_string(scp) && scope_granted(json_string_value(scp),
	    allowed))
		return 0;
	if (json_is_array(scp))
		json_array_foreach(scp, i, v)
			if (json_is_string(v) &&
			    listed(json_string_value(v), allowed))
				return 0;
	return av_fail(e, AV_E_ACCESS_DENIED, "the token has none of the "
	    "allowed scopes");
}

/* The rule's fields; -1 when it is not a valid customClaims entry. */
static int
rule_fields(const json_t *r, const char **name, bool *array, const char **op,
    const char **one, const json_t **list)
{
	json_t *mv, *cmv, *v;
	const char *type;
	size_t i;

	if (!json_is_object(r) || json_object_size(r) != 3 ||
	    (*name = json_string_value(json_object_get(r,
	    "inboundTokenClaimName"))) == NULL || **name == '\0' ||
	    (type = json_string_value(json_object_get(r,
	    "inboundTokenClaimValueType"))) == NULL ||
	    !json_is_object(mv = json_object_get(r,
	    "authorizingClaimMatchValue")) || json_object_size(mv) != 2 ||
	    (*op = json_string_value(json_object_get(mv,
	    "claimMatchOperator"))) == NULL ||
	    !json_is_object(cmv = json_object_get(mv, "claimMatchValue")) ||
	    json_object_size(cmv) != 1)
		return -1;
	*one = json_string_value(json_object_get(cmv, "matchValueString"));
	*list = json_object_get(cmv, "matchValueStringList");
	if (strcmp(type, "STRING") == 0)
		*array = false;
	else if (strcmp(type, "STRING_ARRAY") == 0)
		*array = true;
	else
		return -1;
	if (strcmp(*op, "EQUALS") == 0)
		return !*array && *one != NULL ? 0 : -1;
	if (strcmp(*op, "CONTAINS") == 0)
		return *array && *one != NULL ? 0 : -1;
	if (strcmp(*op, "CONTAINS_ANY") != 0 || !*array ||
	    !json_is_array(*list) || json_array_size(*list) == 0)
		return -1;
	json_array_foreach(*list, i, v)
		if (!json_is_string(v))
			return -1;
	return 0;
}

int
jwt_claim_rules_valid(const json_t *rules, struct av_err *e)
{
	const char *name, *op, *one;
	const json_t *list;
	json_t *r;
	bool array;
	size_t i;

	if (!json_is_array(rules))
		return av_fail(e, AV_E_VALIDATION, "required claims are not an "
		    "array of customClaims rules");
	json_array_foreach(rules, i, r)
		if (rule_fields(r, &name, &array, &op, &one, &list) != 0)
			return av_fail(e, AV_E_VALIDATION, "required claim "
			    "rule %zu is not inboundTokenClaimName, "
			    "inboundTokenClaimValueType (STRING: EQUALS; "
			    "STRING_ARRAY: CONTAINS, CONTAINS_ANY) and "
			    "authorizingClaimMatchValue", i);
	return 0;
}

static bool
array_has(const json_t *a, const char *s)
{
	json_t *v;
	size_t i;

	json_array_foreach(a, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return true;
	return false;
}

static int
check_rules(const json_t *c, const json_t *rules, struct av_err *e)
{
	const char *name, *op, *one;
	const json_t *list;
	json_t *r, *v, *want;
	char buf[JWT_ECHO_MAX + 1];
	bool array, ok;
	size_t i, j;

	if (jwt_claim_rules_valid(rules, e) != 0)
		return -1;
	json_array_foreach(rules, i, r) {
		rule_fields(r, &name, &array, &op, &one, &list);
		if ((v = json_object_get(c, name)) == NULL)
			return av_fail(e, AV_E_ACCESS_DENIED, "the token has "
			    "no %s claim (a required claim)", shown(name, buf));
		if (array ? !json_is_array(v) : !json_is_string(v))
			return av_fail(e, AV_E_ACCESS_DENIED, "the %s claim is "
			    "not a %s", shown(name, buf), array ?
			    "string array" : "string");
		if (!array)
			ok = strcmp(json_string_value(v), one) == 0;
		else if (one != NULL)
			ok = array_has(v, one);
		else {
			ok = false;
			json_array_foreach(list, j, want)
				if (array_has(v, json_string_value(want)))
					ok = true;
		}
		if (!ok)
			return av_fail(e, AV_E_ACCESS_DENIED, "the %s claim "
			    "does not match (%s)", shown(name, buf), op);
	}
	return 0;
}

int
jwt_check_claims(const struct jwt *t, const struct jwt_policy *p,
    struct av_err *e)
{
	const json_t *c = t->claims;
	const char *iss;

	if (p->issuer == NULL)
		return av_fail(e, AV_E_INTERNAL, "no issuer is configured");
	if (check_times(c, p, e) != 0)
		return -1;
	if ((iss = jwt_claim_string(t, "iss")) == NULL)
		return av_fail(e, AV_E_ACCESS_DENIED, "the token has no iss "
		    "(or it is not a string)");
	if (strcmp(iss, p->issuer) != 0)
		return av_fail(e, AV_E_ACCESS_DENIED, "iss is not the "
		    "configured issuer");
	if (p->audiences != NULL && p->audiences[0] != NULL &&
	    check_audience(c, p->audiences, e) != 0)
		return -1;
	if (p->clients != NULL && p->clients[0] != NULL &&
	    check_client(c, p->clients, e) != 0)
		return -1;
	if (p->scopes != NULL && p->scopes[0] != NULL &&
	    check_scopes(c, p->scopes, e) != 0)
		return -1;
	if (p->required_claims != NULL &&
	    check_rules(c, p->required_claims, e) != 0)
		return -1;
	return 0;
}
