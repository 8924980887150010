/* SPDX-License-Identifier: Apache-2.0 */
/*
 * jwk.c - JSON Web Key Sets (RFC 7517, 7518 section 6, RFC 8037): public
 * verification keys only, each turned into a software EVP_PKEY once, when
 * the set is parsed.  What is skipped and what is refused: jwt.h.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>

#include "jwk.h"

#define JWK_ALG_MAX	15
#define RSA_MIN_BITS	2048
#define RSA_MAX_BITS	8192
#define RSA_E_MAX	8	/* bytes of a public exponent accepted */

struct jwk {
	char		 kid[JWT_KID_MAX + 1];
	bool		 has_kid;
	char		 alg[JWK_ALG_MAX + 1];	/* "" when the key has none */
	enum jwk_kty	 kty;
	int		 nid;		/* EC curve, or NID_ED25519 */
	EVP_PKEY	*pkey;
};

struct jwk_set {
	size_t		 n;
	struct jwk	 keys[JWKS_MAX_KEYS];
};

static const struct {
	const char	*crv;
	const char	*group;
	int		 nid;
	size_t		 len;		/* bytes of a coordinate */
} curves[] = {
	{ "P-256", "P-256", NID_X9_62_prime256v1, 32 },
	{ "P-384", "P-384", NID_secp384r1, 48 },
	{ "P-521", "P-521", NID_secp521r1, 66 },
};

/* Members that only a private key has (RFC 7518 6.2.2, 6.3.2, RFC 8037). */
static const char *const private_members[] = {
	"d", "p", "q", "dp", "dq", "qi", "oth",
};

static int
b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int
jwt_b64url_decode(const char *in, size_t len, unsigned char **out,
    size_t *outlen)
{
	unsigned char *buf;
	uint32_t acc = 0;
	size_t i, n = 0;
	int bits = 0, v;

	*out = NULL;
	if (len % 4 == 1 || (buf = malloc(len / 4 * 3 + 3)) == NULL)
		return -1;
	for (i = 0; i < len; i++) {
		if ((v = b64val(in[i])) < 0) {
			free(buf);
			return -1;
		}
		acc = (acc << 6) | (uint32_t)v;
		if ((bits += 6) >= 8) {
			bits -= 8;
			buf[n++] = (unsigned char)(acc >> bits);
		}
	}
	/* Canonical: the bits left over (2 or 4) must be zero. */
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
		free(buf);
		return -1;
	}
	*out = buf;
	*outlen = n;
	return 0;
}

static bool
depth_ok(const json_t *j, int depth)
{
	const char *k;
	json_t *v;
	size_t i;

	if (!json_is_object(j) && !json_is_array(j))
		return true;
	if (depth >= JWT_JSON_DEPTH)
		return false;
	if (json_is_object(j)) {
		json_object_foreach((json_t *)j, k, v)
			if (!depth_ok(v, depth + 1))
				return false;
	} else {
		json_array_foreach(j, i, v)
			if (!depth_ok(v, depth + 1))
				return false;
	}
	return true;
}

json_t *
jwt_json_object(const void *buf, size_t len)
{
	json_error_t jerr;
	json_t *j;

	j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (j != NULL && (!json_is_object(j) || !depth_ok(j, 0))) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

bool
jwt_kid_ok(const char *kid)
{
	size_t i, n = strlen(kid);

	/*
	 * Letters, digits and the punctuation of base64, base64url, UUIDs
	 * and URNs.  '/' stays: Cognito's kids are standard base64.  A kid
	 * is only ever compared with the JWKS's, but nothing path- or
	 * SQL-like (quotes, ';', '\', spaces, "..") gets that far.
	 */
	if (n == 0 || n > JWT_KID_MAX || strstr(kid, "..") != NULL)
		return false;
	for (i = 0; i < n; i++)
		if (b64val(kid[i]) < 0 && strchr("+/=.:@", kid[i]) == NULL)
			return false;
	return true;
}

/* A key's base64url member, decoded; -1 when missing or malformed. */
static int
member_bytes(json_t *k, const char *name, unsigned char **out, size_t *len)
{
	const char *s = json_string_value(json_object_get(k, name));

	if (s == NULL)
		return -1;
	return jwt_b64url_decode(s, strlen(s), out, len);
}

/* Whether the key says it is for signatures (use, key_ops). */
static bool
for_verification(json_t *k)
{
	json_t *use = json_object_get(k, "use"), *ops, *op;
	size_t i;

	if (use != NULL && (!json_is_string(use) ||
	    strcmp(json_string_value(use), "sig") != 0))
		return false;
	if ((ops = json_object_get(k, "key_ops")) == NULL)
		return true;
	if (!json_is_array(ops))
		return false;
	json_array_foreach(ops, i, op)
		if (json_is_string(op) &&
		    strcmp(json_string_value(op), "verify") == 0)
			return true;
	return false;
}

static EVP_PKEY *
fromdata(const char *type, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY_CTX *check = NULL;
	EVP_PKEY *pkey = NULL;

	if (params == NULL || ctx == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto done;
	/* EC: the point is on the curve, not at infinity, of the right order. */
	if ((check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL ||
	    EVP_PKEY_public_check(check) != 1) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
done:
	EVP_PKEY_CTX_free(check);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pkey;
}

/* 1: usable, 0: skipped (too small, odd exponent), -1: malformed. */
static int
rsa_key(json_t *k, EVP_PKEY **out)
{
	unsigned char *n = NULL, *e = NULL, *np, *ep;
	size_t nlen, elen;
	BIGNUM *bn = NULL, *be = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	int rc = -1, bits;

	if (member_bytes(k, "n", &n, &nlen) != 0 ||
	    member_bytes(k, "e", &e, &elen) != 0)
		goto done;
	/* RFC 7518 forbids leading zeros; some providers still send one. */
	for (np = n; nlen > 0 && *np == 0; np++, nlen--)
		;
	for (ep = e; elen > 0 && *ep == 0; ep++, elen--)
		;
	if (nlen == 0 || elen == 0 || elen > RSA_E_MAX ||
	    (bn = BN_bin2bn(np, (int)nlen, NULL)) == NULL ||
	    (be = BN_bin2bn(ep, (int)elen, NULL)) == NULL)
		goto done;
	bits = BN_num_bits(bn);
	if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS || !BN_is_odd(bn) ||
	    !BN_is_odd(be) || BN_is_one(be)) {
		rc = 0;
		goto done;
	}
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be))
		goto done;
	if ((*out = fromdata("RSA", bld)) != NULL)
		rc = 1;
done:
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	free(n);
	free(e);
	return rc;
}

/* 1: usable, 0: skipped (another curve), -1: malformed or off the curve. */
static int
ec_key(json_t *k, int *nid, EVP_PKEY **out)
{
	const char *crv = json_string_value(json_object_get(k, "crv"));
	unsigned char *x = NULL, *y = NULL, pt[1 + 2 * 66];
	size_t xlen, ylen, i;
	OSSL_PARAM_BLD *bld = NULL;
	int rc = -1;

	if (crv == NULL)
		return -1;
	for (i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
		if (strcmp(crv, curves[i].crv) == 0)
			break;
	if (i == sizeof(curves) / sizeof(curves[0]))
		return 0;
	if (member_bytes(k, "x", &x, &xlen) != 0 ||
	    member_bytes(k, "y", &y, &ylen) != 0 ||
	    xlen != curves[i].len || ylen != curves[i].len)
		goto done;
	pt[0] = 0x04;		/* uncompressed */
	memcpy(pt + 1, x, xlen);
	memcpy(pt + 1 + xlen, y, ylen);
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    curves[i].group, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt,
	    1 + xlen + ylen))
		goto done;
	if ((*out = fromdata("EC", bld)) != NULL) {
		*nid = curves[i].nid;
		rc = 1;
	}
done:
	OSSL_PARAM_BLD_free(bld);
	free(x);
	free(y);
	return rc;
}

/* 1: usable, 0: skipped (Ed448, X25519...), -1: malformed. */
static int
okp_key(json_t *k, int *nid, EVP_PKEY **out)
{
	const char *crv = json_string_value(json_object_get(k, "crv"));
	unsigned char *x = NULL;
	size_t xlen;
	int rc = -1;

	if (crv == NULL)
		return -1;
	if (strcmp(crv, "Ed25519") != 0)
		return 0;
	if (member_bytes(k, "x", &x, &xlen) == 0 && xlen == 32 &&
	    (*out = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x,
	    xlen)) != NULL) {
		*nid = NID_ED25519;
		rc = 1;
	}
	free(x);
	return rc;
}

/* Add key i of the document to s, skip it, or refuse the set. */
static int
add_key(struct jwk_set *s, json_t *k, size_t i, struct av_err *e)
{
	struct jwk *d = &s->keys[s->n];
	json_t *kid = json_object_get(k, "kid"), *alg = json_object_get(k,
	    "alg");
	const char *kty;
	size_t m;
	int rc;

	if (!json_is_object(k))
		return av_fail(e, AV_E_VALIDATION,
		    "JWKS key %zu is not an object", i);
	for (m = 0; m < sizeof(private_members) / sizeof(private_members[0]);
	    m++)
		if (json_object_get(k, private_members[m]) != NULL)
			return av_fail(e, AV_E_VALIDATION, "JWKS key %zu has "
			    "private key member \"%s\": a JWKS publishes "
			    "public keys only", i, private_members[m]);
	if ((kty = json_string_value(json_object_get(k, "kty"))) == NULL)
		return av_fail(e, AV_E_VALIDATION, "JWKS key %zu has no kty",
		    i);
	/* Unusable here, not wrong: skipped. */
	if (!for_verification(k) ||
	    (kid != NULL && (!json_is_string(kid) ||
	    !jwt_kid_ok(json_string_value(kid)))) ||
	    (alg != NULL && (!json_is_string(alg) ||
	    strlen(json_string_value(alg)) > JWK_ALG_MAX)))
		return 0;
	memset(d, 0, sizeof(*d));
	if (strcmp(kty, "RSA") == 0) {
		d->kty = JWK_RSA;
		rc = rsa_key(k, &d->pkey);
	} else if (strcmp(kty, "EC") == 0) {
		d->kty = JWK_EC;
		rc = ec_key(k, &d->nid, &d->pkey);
	} else if (strcmp(kty, "OKP") == 0) {
		d->kty = JWK_OKP;
		rc = okp_key(k, &d->nid, &d->pkey);
	} else
		return 0;	/* oct (symmetric: never), unknown types */
	ERR_clear_error();
	if (rc < 0)
		return av_fail(e, AV_E_VALIDATION, "JWKS key %zu (%s) is "
		    "malformed or its point is not on its curve", i, kty);
	if (rc == 0)
		return 0;
	if (kid != NULL) {
		d->has_kid = true;
		snprintf(d->kid, sizeof(d->kid), "%s",
		    json_string_value(kid));
	}
	if (alg != NULL)
		snprintf(d->alg, sizeof(d->alg), "%s",
		    json_string_value(alg));
	s->n++;
	return 0;
}

int
jwks_parse(const char *json, size_t len, struct jwk_set **out,
    struct av_err *e)
{
	struct jwk_set *s;
	json_t *root, *keys, *k;
	size_t i;

	*out = NULL;
	if (len > JWKS_MAX)
		return av_fail(e, AV_E_VALIDATION, "the JWKS is larger than "
		    "%d bytes", JWKS_MAX);
	if ((root = jwt_json_object(json, len)) == NULL)
		return av_fail(e, AV_E_VALIDATION, "the JWKS is not a JSON "
		    "object (or has duplicate members, or is too deep)");
	if (!json_is_array(keys = json_object_get(root, "keys"))) {
		json_decref(root);
		return av_fail(e, AV_E_VALIDATION, "the JWKS has no \"keys\" "
		    "array");
	}
	if (json_array_size(keys) > JWKS_MAX_KEYS) {
		json_decref(root);
		return av_fail(e, AV_E_VALIDATION, "the JWKS has more than %d "
		    "keys", JWKS_MAX_KEYS);
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		json_decref(root);
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	}
	json_array_foreach(keys, i, k)
		if (add_key(s, k, i, e) != 0) {
			json_decref(root);
			jwks_free(s);
			return -1;
		}
	json_decref(root);
	*out = s;
	return 0;
}

void
jwks_free(struct jwk_set *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++)
		EVP_PKEY_free(s->keys[i].pkey);
	free(s);
}

size_t
jwks_count(const struct jwk_set *s)
{
	return s == NULL ? 0 : s->n;
}

bool
jwks_has_kid(const struct jwk_set *s, const char *kid)
{
	size_t i;

	for (i = 0; s != NULL && kid != NULL && i < s->n; i++)
		if (s->keys[i].has_kid && strcmp(s->keys[i].kid, kid) == 0)
			return true;
	return false;
}

static bool
fits(const struct jwk *k, const char *alg, enum jwk_kty kty, int nid)
{
	return k->kty == kty && (kty == JWK_RSA || k->nid == nid) &&
	    (k->alg[0] == '\0' || strcmp(k->alg, alg) == 0);
}

int
jwks_select(const struct jwk_set *s, const char *kid, const char *alg,
    enum jwk_kty kty, int nid, EVP_PKEY **key, struct av_err *e)
{
	const struct jwk *found = NULL;
	size_t i, n = 0, count = jwks_count(s);	/* no set: no key */

	*key = NULL;
	if (kid != NULL) {
		for (i = 0; i < count; i++)
			if (s->keys[i].has_kid &&
			    strcmp(s->keys[i].kid, kid) == 0 &&
			    fits(&s->keys[i], alg, kty, nid)) {
				*key = s->keys[i].pkey;
				return 0;
			}
		if (jwks_has_kid(s, kid))
			return av_fail(e, AV_E_ACCESS_DENIED, "the JWKS key "
			    "named by kid does not fit alg %s (key type, "
			    "curve or the key's alg)", alg);
		return av_fail(e, AV_E_ACCESS_DENIED, "no key in the JWKS has "
		    "the token's kid");
	}
	for (i = 0; i < count; i++)
		if (fits(&s->keys[i], alg, kty, nid)) {
			found = &s->keys[i];
			n++;
		}
	if (n == 0)
		return av_fail(e, AV_E_ACCESS_DENIED, "no key in the JWKS fits "
		    "alg %s", alg);
	if (n > 1)
		return av_fail(e, AV_E_ACCESS_DENIED, "the token has no kid "
		    "and %zu keys in the JWKS fit alg %s", n, alg);
	*key = found->pkey;
	return 0;
}
