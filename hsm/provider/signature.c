/* SPDX-License-Identifier: Apache-2.0 */
/*
 * signature.c - ECDSA and RSA (PKCS#1 v1.5, PSS) with HSM keys.
 *
 * Hashing happens here, in software; only the digest crosses into the
 * token (CKM_ECDSA, CKM_RSA_PKCS over a DigestInfo, CKM_RSA_PKCS_PSS), so
 * one signature costs one C_SignInit + C_Sign.  Verification needs no
 * secret and runs on the software copy of the public key.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "prov.h"

#define ECDSA_RAW_LEN	64	/* r || s for P-256 */
#define ECDSA_DER_MAX	72

struct avp_sig {
	struct avp_ctx	*prov;
	struct avp_key	*key;
	CK_KEY_TYPE	 type;
	EVP_MD		*md;		/* NULL until set: raw input */
	EVP_MD_CTX	*mdctx;		/* digest-sign/verify only */
	EVP_MD		*mgf1;		/* PSS; NULL: same as md */
	int		 pad;		/* RSA_PKCS1_PADDING or _PSS_ */
	int		 saltlen;	/* RSA_PSS_SALTLEN_* or bytes */
	bool		 hashing;	/* digest-sign/verify under way: the
					   digest is fixed until it ends */
};

static void *
sig_new(void *provctx, CK_KEY_TYPE type)
{
	struct avp_sig *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->prov = provctx;
	c->type = type;
	c->pad = RSA_PKCS1_PADDING;
	c->saltlen = RSA_PSS_SALTLEN_AUTO;
	return c;
}

static void *
ecdsa_newctx(void *provctx, const char *propq)
{
	(void)propq;
	return sig_new(provctx, CKK_EC);
}

static void *
rsa_newctx(void *provctx, const char *propq)
{
	(void)propq;
	return sig_new(provctx, CKK_RSA);
}

static void
sig_freectx(void *ctx)
{
	struct avp_sig *c = ctx;

	if (c == NULL)
		return;
	avp_key_free(c->key);
	EVP_MD_free(c->md);
	EVP_MD_free(c->mgf1);
	EVP_MD_CTX_free(c->mdctx);
	free(c);
}

static void *
sig_dupctx(void *ctx)
{
	struct avp_sig *c = ctx, *d;

	if ((d = malloc(sizeof(*d))) == NULL)
		return NULL;
	*d = *c;
	d->mdctx = NULL;
	if (d->key != NULL)
		avp_key_ref(d->key);
	if (d->md != NULL)
		EVP_MD_up_ref(d->md);
	if (d->mgf1 != NULL)
		EVP_MD_up_ref(d->mgf1);
	if (c->mdctx != NULL && ((d->mdctx = EVP_MD_CTX_new()) == NULL ||
	    !EVP_MD_CTX_copy_ex(d->mdctx, c->mdctx))) {
		sig_freectx(d);
		return NULL;
	}
	return d;
}

static int
set_md(struct avp_sig *c, EVP_MD **slot, const char *name)
{
	EVP_MD *md;

	if ((md = EVP_MD_fetch(c->prov->libctx, name, AVP_OTHERS)) == NULL)
		return 0;
	EVP_MD_free(*slot);
	*slot = md;
	return 1;
}

static int sig_set_ctx_params(void *ctx, const OSSL_PARAM params[]);

static int
sig_init(void *ctx, void *keydata, const OSSL_PARAM params[], bool signing)
{
	struct avp_sig *c = ctx;
	struct avp_key *k = keydata;

	if (k == NULL || k->type != c->type || (signing && !k->has_private))
		return 0;
	avp_key_free(c->key);
	c->key = avp_key_ref(k);
	return sig_set_ctx_params(c, params);
}

static int
sign_init(void *ctx, void *keydata, const OSSL_PARAM params[])
{
	return sig_init(ctx, keydata, params, true);
}

static int
verify_init(void *ctx, void *keydata, const OSSL_PARAM params[])
{
	return sig_init(ctx, keydata, params, false);
}

static size_t
sig_max_len(const struct avp_sig *c)
{
	return c->type == CKK_EC ? ECDSA_DER_MAX : c->key->pub.n_len;
}

/* PKCS#11 returns r||s; OpenSSL callers expect DER. */
static int
ecdsa_raw_to_der(const uint8_t raw[ECDSA_RAW_LEN], unsigned char *out,
    size_t *outlen)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, 32, NULL), *s = BN_bin2bn(raw + 32, 32, NULL);
	int len = 0;

	if (sig != NULL && r != NULL && s != NULL && ECDSA_SIG_set0(sig, r, s)) {
		r = s = NULL;
		if (i2d_ECDSA_SIG(sig, NULL) <= (int)*outlen)
			len = i2d_ECDSA_SIG(sig, &out);
	}
	ECDSA_SIG_free(sig);
	BN_free(r);
	BN_free(s);
	if (len <= 0)
		return 0;
	*outlen = (size_t)len;
	return 1;
}

/* DER DigestInfo { algorithm, digest } for PKCS#1 v1.5. */
static int
digest_info(const EVP_MD *md, const unsigned char *dgst, size_t dlen,
    unsigned char **der, int *der_len)
{
	X509_SIG *sig = X509_SIG_new();
	X509_ALGOR *alg;
	ASN1_OCTET_STRING *oct;
	int ok = 0;

	*der = NULL;
	if (sig == NULL)
		return 0;
	X509_SIG_getm(sig, &alg, &oct);
	if (X509_ALGOR_set0(alg, OBJ_nid2obj(EVP_MD_get_type(md)), V_ASN1_NULL,
	    NULL) && ASN1_OCTET_STRING_set(oct, dgst, (int)dlen) &&
	    (*der_len = i2d_X509_SIG(sig, der)) > 0)
		ok = 1;
	X509_SIG_free(sig);
	return ok;
}

struct pss_map {
	const char		*name;
	CK_MECHANISM_TYPE	 hash;
	CK_RSA_PKCS_MGF_TYPE	 mgf;
};

static const struct pss_map pss_maps[] = {
	{ "SHA1", CKM_SHA_1, CKG_MGF1_SHA1 },
	{ "SHA224", CKM_SHA224, CKG_MGF1_SHA224 },
	{ "SHA256", CKM_SHA256, CKG_MGF1_SHA256 },
	{ "SHA384", CKM_SHA384, CKG_MGF1_SHA384 },
	{ "SHA512", CKM_SHA512, CKG_MGF1_SHA512 },
};

static const struct pss_map *
pss_lookup(const EVP_MD *md)
{
	size_t i;

	for (i = 0; i < sizeof(pss_maps) / sizeof(pss_maps[0]); i++)
		if (EVP_MD_is_a(md, pss_maps[i].name))
			return &pss_maps[i];
	return NULL;
}

static int
pss_salt_bytes(const struct avp_sig *c)
{
	int hlen = EVP_MD_get_size(c->md);

	switch (c->saltlen) {
	case RSA_PSS_SALTLEN_DIGEST:
		return hlen;
	case RSA_PSS_SALTLEN_AUTO:
	case RSA_PSS_SALTLEN_MAX:
		/* emLen = ceil((modBits - 1) / 8), RFC 8017 9.1.1 */
		return (avp_key_bits(c->key) - 1 + 7) / 8 - hlen - 2;
	default:
		return c->saltlen;
	}
}

static int
rsa_sign_digest(struct avp_sig *c, unsigned char *sig, size_t *siglen,
    const unsigned char *tbs, size_t tbslen)
{
	CK_RSA_PKCS_PSS_PARAMS pss;
	CK_MECHANISM mech = { CKM_RSA_PKCS, NULL, 0 };
	const struct pss_map *hm, *mm;
	unsigned char *der = NULL;
	int der_len = 0;
	CK_RV rv;

	if (c->pad == RSA_PKCS1_PSS_PADDING) {
		if (c->md == NULL || (size_t)EVP_MD_get_size(c->md) != tbslen ||
		    (hm = pss_lookup(c->md)) == NULL ||
		    (mm = pss_lookup(c->mgf1 ? c->mgf1 : c->md)) == NULL ||
		    pss_salt_bytes(c) < 0)
			return 0;
		pss.hashAlg = hm->hash;
		pss.mgf = mm->mgf;
		pss.sLen = (CK_ULONG)pss_salt_bytes(c);
		mech = (CK_MECHANISM){ CKM_RSA_PKCS_PSS, &pss, sizeof(pss) };
	} else if (c->pad != RSA_PKCS1_PADDING) {
		return 0;
	} else if (c->md != NULL) {
		if ((size_t)EVP_MD_get_size(c->md) != tbslen ||
		    !digest_info(c->md, tbs, tbslen, &der, &der_len))
			return 0;
		tbs = der;
		tbslen = (size_t)der_len;
	}
	rv = hsm_sign(c->prov->hsm, c->key->priv, &mech, tbs, tbslen, sig,
	    siglen);
	OPENSSL_free(der);
	if (rv != CKR_OK) {
		avp_raise(c->prov, rv, "C_Sign (RSA)");
		return 0;
	}
	return 1;
}

static int
sign(void *ctx, unsigned char *sig, size_t *siglen, size_t sigsize,
    const unsigned char *tbs, size_t tbslen)
{
	struct avp_sig *c = ctx;
	CK_MECHANISM mech = { CKM_ECDSA, NULL, 0 };
	uint8_t raw[ECDSA_RAW_LEN];
	size_t rawlen = sizeof(raw);
	CK_RV rv;

	if (c->key == NULL || !c->key->has_private)
		return 0;
	if (sig == NULL) {
		*siglen = sig_max_len(c);
		return 1;
	}
	if (sigsize < sig_max_len(c))
		return 0;
	*siglen = sigsize;
	if (c->type == CKK_RSA)
		return rsa_sign_digest(c, sig, siglen, tbs, tbslen);
	if (tbslen == 0 || tbslen > 64)
		return 0;
	rv = hsm_sign(c->prov->hsm, c->key->priv, &mech, tbs, tbslen, raw,
	    &rawlen);
	if (rv != CKR_OK) {
		avp_raise(c->prov, rv, "C_Sign (ECDSA)");
		return 0;
	}
	if (rawlen != ECDSA_RAW_LEN)
		return 0;
	return ecdsa_raw_to_der(raw, sig, siglen);
}

static int
verify(void *ctx, const unsigned char *sig, size_t siglen,
    const unsigned char *tbs, size_t tbslen)
{
	struct avp_sig *c = ctx;
	EVP_PKEY_CTX *pctx;
	int ok = 0;

	if (c->key == NULL)
		return 0;
	pctx = EVP_PKEY_CTX_new_from_pkey(c->prov->libctx, c->key->soft,
	    AVP_OTHERS);
	if (pctx == NULL || EVP_PKEY_verify_init(pctx) <= 0)
		goto done;
	if (c->md != NULL && EVP_PKEY_CTX_set_signature_md(pctx, c->md) <= 0)
		goto done;
	if (c->type == CKK_RSA) {
		if (EVP_PKEY_CTX_set_rsa_padding(pctx, c->pad) <= 0)
			goto done;
		if (c->pad == RSA_PKCS1_PSS_PADDING &&
		    (EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx,
		    c->saltlen == RSA_PSS_SALTLEN_MAX ? RSA_PSS_SALTLEN_AUTO :
		    c->saltlen) <= 0 ||
		    (c->mgf1 != NULL &&
		    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, c->mgf1) <= 0)))
			goto done;
	}
	ok = EVP_PKEY_verify(pctx, sig, siglen, tbs, tbslen) == 1;
done:
	EVP_PKEY_CTX_free(pctx);
	return ok;
}

static int
digest_init(void *ctx, const char *mdname, void *keydata,
    const OSSL_PARAM params[], bool signing)
{
	struct avp_sig *c = ctx;

	if (!sig_init(c, keydata, params, signing))
		return 0;
	c->hashing = false;
	if (!set_md(c, &c->md, mdname != NULL ? mdname : "SHA256"))
		return 0;
	if (c->mdctx == NULL && (c->mdctx = EVP_MD_CTX_new()) == NULL)
		return 0;
	if (!EVP_DigestInit_ex2(c->mdctx, c->md, NULL))
		return 0;
	c->hashing = true;
	return 1;
}

static int
digest_sign_init(void *ctx, const char *mdname, void *keydata,
    const OSSL_PARAM params[])
{
	return digest_init(ctx, mdname, keydata, params, true);
}

static int
digest_verify_init(void *ctx, const char *mdname, void *keydata,
    const OSSL_PARAM params[])
{
	return digest_init(ctx, mdname, keydata, params, false);
}

static int
digest_update(void *ctx, const unsigned char *data, size_t len)
{
	struct avp_sig *c = ctx;

	return c->mdctx != NULL && c->hashing &&
	    EVP_DigestUpdate(c->mdctx, data, len);
}

static int
digest_sign_final(void *ctx, unsigned char *sig, size_t *siglen,
    size_t sigsize)
{
	struct avp_sig *c = ctx;
	unsigned char dgst[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;

	if (c->mdctx == NULL || !c->hashing)
		return 0;
	if (sig == NULL)	/* size query: do not finish the hash */
		return sign(c, NULL, siglen, 0, NULL, 0);
	c->hashing = false;	/* one signature per init */
	if (!EVP_DigestFinal_ex(c->mdctx, dgst, &dlen))
		return 0;
	return sign(c, sig, siglen, sigsize, dgst, dlen);
}

static int
digest_verify_final(void *ctx, const unsigned char *sig, size_t siglen)
{
	struct avp_sig *c = ctx;
	unsigned char dgst[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;

	if (c->mdctx == NULL || !c->hashing)
		return 0;
	c->hashing = false;
	if (!EVP_DigestFinal_ex(c->mdctx, dgst, &dlen))
		return 0;
	return verify(c, sig, siglen, dgst, dlen);
}

/* The AlgorithmIdentifier X509_sign() puts in certificates. */
static int
algorithm_id(const struct avp_sig *c, OSSL_PARAM *p)
{
	X509_ALGOR *alg;
	unsigned char *der = NULL;
	int sig_nid, len, ok = 0;

	if (c->md == NULL || c->pad == RSA_PKCS1_PSS_PADDING)
		return 1;	/* nothing to say: PSS certificates unsupported */
	if (!OBJ_find_sigid_by_algs(&sig_nid, EVP_MD_get_type(c->md),
	    c->type == CKK_EC ? NID_X9_62_id_ecPublicKey : NID_rsaEncryption))
		return 0;
	if ((alg = X509_ALGOR_new()) == NULL)
		return 0;
	if (X509_ALGOR_set0(alg, OBJ_nid2obj(sig_nid),
	    c->type == CKK_EC ? V_ASN1_UNDEF : V_ASN1_NULL, NULL) &&
	    (len = i2d_X509_ALGOR(alg, &der)) > 0)
		ok = OSSL_PARAM_set_octet_string(p, der, (size_t)len);
	OPENSSL_free(der);
	X509_ALGOR_free(alg);
	return ok;
}

static int
sig_get_ctx_params(void *ctx, OSSL_PARAM params[])
{
	struct avp_sig *c = ctx;
	OSSL_PARAM *p;

	p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_ALGORITHM_ID);
	if (p != NULL && !algorithm_id(c, p))
		return 0;
	p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_DIGEST);
	if (p != NULL && c->md != NULL &&
	    !OSSL_PARAM_set_utf8_string(p, EVP_MD_get0_name(c->md)))
		return 0;
	if (c->type != CKK_RSA)
		return 1;
	p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PAD_MODE);
	if (p != NULL && !OSSL_PARAM_set_int(p, c->pad))
		return 0;
	p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN);
	if (p != NULL && !OSSL_PARAM_set_int(p, c->saltlen))
		return 0;
	return 1;
}

/* Integer, or one of OpenSSL's names, as EVP_PKEY_CTX_ctrl_str sends. */
static int
param_int_or_name(const OSSL_PARAM *p, const char *const names[],
    const int values[], size_t n, int *out)
{
	const char *s;
	size_t i;

	if (p->data_type != OSSL_PARAM_UTF8_STRING)
		return OSSL_PARAM_get_int(p, out);
	if (!OSSL_PARAM_get_utf8_string_ptr(p, &s))
		return 0;
	for (i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = values[i];
			return 1;
		}
	return 0;
}

static int
sig_set_ctx_params(void *ctx, const OSSL_PARAM params[])
{
	static const char *const pad_names[] = { "pkcs1", "pss" };
	static const int pad_values[] = { RSA_PKCS1_PADDING,
	    RSA_PKCS1_PSS_PADDING };
	static const char *const salt_names[] = { "digest", "max", "auto" };
	static const int salt_values[] = { RSA_PSS_SALTLEN_DIGEST,
	    RSA_PSS_SALTLEN_MAX, RSA_PSS_SALTLEN_AUTO };
	struct avp_sig *c = ctx;
	const OSSL_PARAM *p;
	const char *name;

	if (params == NULL)
		return 1;
	p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_DIGEST);
	/* The digest of a digest-sign under way is fixed: changing it
	 * would label a SHA-256 signature as something else. */
	if (p != NULL && c->hashing)
		return 0;
	if (p != NULL && (!OSSL_PARAM_get_utf8_string_ptr(p, &name) ||
	    !set_md(c, &c->md, name)))
		return 0;
	if (c->type != CKK_RSA)
		return 1;
	p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PAD_MODE);
	if (p != NULL && !param_int_or_name(p, pad_names, pad_values, 2,
	    &c->pad))
		return 0;
	p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN);
	if (p != NULL && !param_int_or_name(p, salt_names, salt_values, 3,
	    &c->saltlen))
		return 0;
	p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_MGF1_DIGEST);
	if (p != NULL && (!OSSL_PARAM_get_utf8_string_ptr(p, &name) ||
	    !set_md(c, &c->mgf1, name)))
		return 0;
	return 1;
}

static const OSSL_PARAM *
ecdsa_settable(void *ctx, void *provctx)
{
	static const OSSL_PARAM params[] = {
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
		OSSL_PARAM_END
	};

	(void)ctx;
	(void)provctx;
	return params;
}

static const OSSL_PARAM *
rsa_settable(void *ctx, void *provctx)
{
	static const OSSL_PARAM params[] = {
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
		OSSL_PARAM_int(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL),
		OSSL_PARAM_int(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, NULL),
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, NULL,
		    0),
		OSSL_PARAM_END
	};

	(void)ctx;
	(void)provctx;
	return params;
}

static const OSSL_PARAM *
sig_gettable(void *ctx, void *provctx)
{
	static const OSSL_PARAM params[] = {
		OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID,
		    NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
		OSSL_PARAM_int(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL),
		OSSL_PARAM_int(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, NULL),
		OSSL_PARAM_END
	};

	(void)ctx;
	(void)provctx;
	return params;
}

#define FN(id, f) { id, (void (*)(void))(f) }
#define COMMON_SIG_FUNCTIONS \
	FN(OSSL_FUNC_SIGNATURE_FREECTX, sig_freectx), \
	FN(OSSL_FUNC_SIGNATURE_DUPCTX, sig_dupctx), \
	FN(OSSL_FUNC_SIGNATURE_SIGN_INIT, sign_init), \
	FN(OSSL_FUNC_SIGNATURE_SIGN, sign), \
	FN(OSSL_FUNC_SIGNATURE_VERIFY_INIT, verify_init), \
	FN(OSSL_FUNC_SIGNATURE_VERIFY, verify), \
	FN(OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT, digest_sign_init), \
	FN(OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE, digest_update), \
	FN(OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL, digest_sign_final), \
	FN(OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_INIT, digest_verify_init), \
	FN(OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_UPDATE, digest_update), \
	FN(OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_FINAL, digest_verify_final), \
	FN(OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS, sig_get_ctx_params), \
	FN(OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS, sig_gettable), \
	FN(OSSL_FUNC_SIGNATURE_SET_CTX_PARAMS, sig_set_ctx_params)

const OSSL_DISPATCH avp_ecdsa_signature_functions[] = {
	FN(OSSL_FUNC_SIGNATURE_NEWCTX, ecdsa_newctx),
	COMMON_SIG_FUNCTIONS,
	FN(OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS, ecdsa_settable),
	{ 0, NULL }
};

const OSSL_DISPATCH avp_rsa_signature_functions[] = {
	FN(OSSL_FUNC_SIGNATURE_NEWCTX, rsa_newctx),
	COMMON_SIG_FUNCTIONS,
	FN(OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS, rsa_settable),
	{ 0, NULL }
};
