/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pubkey.c - the public halves of HSM key pairs, as data and as EVP_PKEYs.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/ec.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "internal.h"

static const unsigned char p256_oid[] = {
	0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07
};

/* CKA_EC_POINT is a DER OCTET STRING in v2.40; some modules give it raw. */
static CK_RV
ec_point_decode(const unsigned char *p, size_t len, unsigned char out[65])
{
	if (len == 67 && p[0] == 0x04 && p[1] == 0x41) {
		p += 2;
		len -= 2;
	}
	if (len != 65 || p[0] != 0x04)
		return HSM_R_KEY_ATTRS;
	memcpy(out, p, 65);
	return CKR_OK;
}

/*
 * The public half of an EC pair comes from a separate object; prove it
 * belongs to the private key (sign a random digest, verify) rather than
 * trust whatever object carries the same CKA_ID.
 */
static CK_RV
ec_pair_check(struct hsm *h, const struct hsm_key *priv,
    const struct hsm_pubkey *pub)
{
	CK_MECHANISM mech = { CKM_ECDSA, NULL, 0 };
	unsigned char dgst[32], raw[64], *der = NULL;
	size_t rawlen = sizeof(raw);
	ECDSA_SIG *sig = NULL;
	EVP_PKEY *pk = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	int len, ok = 0;
	CK_RV rv;

	if (RAND_bytes(dgst, sizeof(dgst)) != 1)
		return HSM_R_OPENSSL;
	if ((rv = hsm_sign(h, priv->handle, &mech, dgst, sizeof(dgst), raw,
	    &rawlen)) != CKR_OK)
		return rv;
	if (rawlen != sizeof(raw) || (sig = ECDSA_SIG_new()) == NULL ||
	    !ECDSA_SIG_set0(sig, BN_bin2bn(raw, 32, NULL),
	    BN_bin2bn(raw + 32, 32, NULL)) ||
	    (len = i2d_ECDSA_SIG(sig, &der)) <= 0 ||
	    hsm_pubkey_to_evp(pub, NULL, &pk) != CKR_OK ||
	    (ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, "provider=default")) ==
	    NULL || EVP_PKEY_verify_init(ctx) != 1)
		goto done;
	ok = EVP_PKEY_verify(ctx, der, (size_t)len, dgst, sizeof(dgst)) == 1;
done:
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	OPENSSL_free(der);
	ECDSA_SIG_free(sig);
	return ok ? CKR_OK : HSM_R_KEY_ATTRS;
}

static CK_RV
read_ec(struct hsm *h, const struct hsm_key *k, struct hsm_pubkey *out)
{
	unsigned char buf[128];
	struct hsm_key pub;
	size_t len;
	bool twin = false;
	CK_RV rv;

	if ((rv = hsm_get_attr(h, k->handle, CKA_EC_PARAMS, buf, sizeof(buf),
	    &len)) != CKR_OK)
		return rv;
	if (len != sizeof(p256_oid) || memcmp(buf, p256_oid, len) != 0)
		return HSM_R_KEY_ATTRS;	/* only P-256 is supported */
	rv = hsm_get_attr(h, k->handle, CKA_EC_POINT, buf, sizeof(buf), &len);
	if (rv != CKR_OK && k->cls == CKO_PRIVATE_KEY) {
		if ((rv = hsm_find_public_for(h, k, &pub)) != CKR_OK)
			return rv;
		rv = hsm_get_attr(h, pub.handle, CKA_EC_POINT, buf,
		    sizeof(buf), &len);
		twin = true;
	}
	if (rv != CKR_OK)
		return rv;
	if ((rv = ec_point_decode(buf, len, out->point)) != CKR_OK)
		return rv;
	return twin ? ec_pair_check(h, k, out) : CKR_OK;
}

static CK_RV
read_rsa(struct hsm *h, const struct hsm_key *k, struct hsm_pubkey *out)
{
	CK_RV rv;

	if ((rv = hsm_get_attr(h, k->handle, CKA_MODULUS, out->n,
	    sizeof(out->n), &out->n_len)) != CKR_OK)
		return rv;
	if ((rv = hsm_get_attr(h, k->handle, CKA_PUBLIC_EXPONENT, out->e,
	    sizeof(out->e), &out->e_len)) != CKR_OK)
		return rv;
	if (out->n_len < 256 || out->e_len == 0)
		return HSM_R_KEY_ATTRS;	/* under 2048 bits */
	return CKR_OK;
}

CK_RV
hsm_pubkey_read(struct hsm *h, const struct hsm_key *k,
    struct hsm_pubkey *out)
{
	memset(out, 0, sizeof(*out));
	out->type = k->type;
	if (k->cls != CKO_PRIVATE_KEY && k->cls != CKO_PUBLIC_KEY)
		return HSM_R_KEY_ATTRS;
	if (k->type == CKK_EC)
		return read_ec(h, k, out);
	if (k->type == CKK_RSA)
		return read_rsa(h, k, out);
	return HSM_R_KEY_ATTRS;
}

CK_RV
hsm_pubkey_to_evp(const struct hsm_pubkey *pub, OSSL_LIB_CTX *libctx,
    EVP_PKEY **out)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	BIGNUM *n = NULL, *e = NULL;
	CK_RV rv = HSM_R_OPENSSL;
	int ok;

	*out = NULL;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL)
		goto done;
	if (pub->type == CKK_EC) {
		ok = OSSL_PARAM_BLD_push_utf8_string(bld,
		    OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) &&
		    OSSL_PARAM_BLD_push_octet_string(bld,
		    OSSL_PKEY_PARAM_PUB_KEY, pub->point, sizeof(pub->point));
		ctx = EVP_PKEY_CTX_new_from_name(libctx, "EC", "provider=default");
	} else {
		n = BN_bin2bn(pub->n, (int)pub->n_len, NULL);
		e = BN_bin2bn(pub->e, (int)pub->e_len, NULL);
		ok = n != NULL && e != NULL &&
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e);
		ctx = EVP_PKEY_CTX_new_from_name(libctx, "RSA",
		    "provider=default");
	}
	if (!ok || ctx == NULL || (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto done;
	if (EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		goto done;
	rv = CKR_OK;
done:
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	BN_free(n);
	BN_free(e);
	return rv;
}

CK_RV
hsm_pubkey_fingerprint(const struct hsm_pubkey *pub, unsigned char out[32])
{
	EVP_PKEY *pk = NULL;
	unsigned char *der = NULL;
	unsigned int mdlen = 32;
	int len;
	CK_RV rv;

	if ((rv = hsm_pubkey_to_evp(pub, NULL, &pk)) != CKR_OK)
		return rv;
	rv = HSM_R_OPENSSL;
	if ((len = i2d_PUBKEY(pk, &der)) > 0 &&
	    EVP_Digest(der, (size_t)len, out, &mdlen, EVP_sha256(), NULL))
		rv = CKR_OK;
	OPENSSL_free(der);
	EVP_PKEY_free(pk);
	return rv;
}

/* Unpadded base64url (RFC 4648 section 5) of n bytes into out. */
static void
b64url(const unsigned char *in, size_t n, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned long v;
	size_t i, k, o = 0;

	for (i = 0; i < n; i += 3) {
		v = (unsigned long)in[i] << 16;
		if (i + 1 < n)
			v |= (unsigned long)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		for (k = 0; k < 4 && k <= n - i; k++)
			out[o++] = a[(v >> (18 - 6 * k)) & 0x3f];
	}
	out[o] = '\0';
}

CK_RV
hsm_pubkey_jwk(const struct hsm_pubkey *pub, char *buf, size_t len,
    char kid[HSM_JWK_KID_LEN + 1])
{
	char x[44], y[44], members[160];
	unsigned char md[32];
	unsigned int mdlen = sizeof(md);
	int n;

	if (pub->type != CKK_EC || pub->point[0] != 0x04)
		return HSM_R_BAD_INPUT;
	b64url(pub->point + 1, 32, x);
	b64url(pub->point + 33, 32, y);
	/* RFC 7638 3.2: the required members, sorted, no whitespace. */
	n = snprintf(members, sizeof(members), "{\"crv\":\"P-256\","
	    "\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", x, y);
	if (n < 0 || (size_t)n >= sizeof(members) ||
	    !EVP_Digest(members, (size_t)n, md, &mdlen, EVP_sha256(), NULL))
		return HSM_R_OPENSSL;
	b64url(md, sizeof(md), kid);
	n = snprintf(buf, len, "{\"kty\":\"EC\",\"crv\":\"P-256\","
	    "\"x\":\"%s\",\"y\":\"%s\",\"kid\":\"%s\",\"alg\":\"ES256\","
	    "\"use\":\"sig\"}", x, y, kid);
	return n < 0 || (size_t)n >= len ? HSM_R_BAD_INPUT : CKR_OK;
}
