/* SPDX-License-Identifier: Apache-2.0 */
/*
 * selftest.c - see selftest.h.  Vectors: SHA-256 of "abc" (FIPS 180-2),
 * HMAC-SHA256 RFC 4231 case 2, AES-256-GCM test case 14 of the GCM
 * specification, ECDSA P-256/SHA-256 RFC 6979 A.2.5 ("sample").
 */
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#include "provider.h"
#include "selftest.h"
#include "daemon/config.h"

static int
unhex(const char *hex, unsigned char *out, size_t len)
{
	size_t i;
	unsigned int b;

	if (strlen(hex) != 2 * len)
		return -1;
	for (i = 0; i < len; i++) {
		if (sscanf(hex + 2 * i, "%2x", &b) != 1)
			return -1;
		out[i] = (unsigned char)b;
	}
	return 0;
}

static int
failed(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s", what);
	return -1;
}

static int
kat_sha256(void)
{
	unsigned char want[32], got[32];
	unsigned int len = 0;

	unhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	    want, 32);
	return EVP_Digest("abc", 3, got, &len, EVP_sha256(), NULL) == 1 &&
	    len == 32 && memcmp(got, want, 32) == 0 ? 0 : -1;
}

static int
kat_hmac(void)
{
	static const char data[] = "what do ya want for nothing?";
	unsigned char want[32], got[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	unhex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
	    want, 32);
	return HMAC(EVP_sha256(), "Jefe", 4, (const unsigned char *)data,
	    sizeof(data) - 1, got, &len) != NULL && len == 32 &&
	    memcmp(got, want, 32) == 0 ? 0 : -1;
}

static int
kat_gcm(void)
{
	unsigned char key[32] = { 0 }, iv[12] = { 0 }, pt[16] = { 0 };
	unsigned char ct[16], tag[16], want_ct[16], want_tag[16], back[16];
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0, m = 0, ok;

	unhex("cea7403d4d606b6e074ec5d3baf39d18", want_ct, 16);
	unhex("d0d1c8a799996bf0265b98b5d48ab919", want_tag, 16);
	ok = c != NULL &&
	    EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv) == 1 &&
	    EVP_EncryptUpdate(c, ct, &n, pt, 16) == 1 &&
	    EVP_EncryptFinal_ex(c, ct + n, &m) == 1 &&
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1 &&
	    memcmp(ct, want_ct, 16) == 0 && memcmp(tag, want_tag, 16) == 0;
	/* And decryption must refuse a wrong tag. */
	tag[0] ^= 1;
	ok = ok && EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv) ==
	    1 && EVP_DecryptUpdate(c, back, &n, ct, 16) == 1 &&
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1 &&
	    EVP_DecryptFinal_ex(c, back + n, &m) != 1;
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -1;
}

/* RFC 6979 A.2.5: P-256 key, SHA-256, message "sample". */
static int
kat_ecdsa(void)
{
	unsigned char pub[65], r[32], s[32], *der = NULL;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *pk = NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	ECDSA_SIG *sig = ECDSA_SIG_new();
	int len, ok = 0;

	pub[0] = 0x04;
	unhex("60FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6",
	    pub + 1, 32);
	unhex("7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299",
	    pub + 33, 32);
	unhex("EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716",
	    r, 32);
	unhex("F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8",
	    s, 32);
	if (bld == NULL || pctx == NULL || md == NULL || sig == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    "prime256v1", 0) || !OSSL_PARAM_BLD_push_octet_string(bld,
	    OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub)) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    EVP_PKEY_fromdata_init(pctx) != 1 ||
	    EVP_PKEY_fromdata(pctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1 ||
	    !ECDSA_SIG_set0(sig, BN_bin2bn(r, 32, NULL),
	    BN_bin2bn(s, 32, NULL)) || (len = i2d_ECDSA_SIG(sig, &der)) <= 0)
		goto done;
	ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk) == 1 &&
	    EVP_DigestVerify(md, der, (size_t)len,
	    (const unsigned char *)"sample", 6) == 1 &&
	    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk) == 1 &&
	    EVP_DigestVerify(md, der, (size_t)len,
	    (const unsigned char *)"samplf", 6) != 1;
done:
	OPENSSL_free(der);
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	EVP_PKEY_CTX_free(pctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return ok ? 0 : -1;
}

int
selftest_kat(char *err, size_t errlen)
{
	if (kat_sha256() != 0)
		return failed(err, errlen, "SHA-256 known-answer test");
	if (kat_hmac() != 0)
		return failed(err, errlen, "HMAC-SHA256 known-answer test");
	if (kat_gcm() != 0)
		return failed(err, errlen, "AES-256-GCM known-answer test");
	if (kat_ecdsa() != 0)
		return failed(err, errlen, "ECDSA P-256 known-answer test");
	return 0;
}

/* Sign in the HSM, verify with the exported public key in software. */
static int
pairwise(const char *uri)
{
	unsigned char msg[32], sig[128], *der = NULL;
	const unsigned char *p;
	size_t siglen = sizeof(sig);
	EVP_PKEY *key = hsm_provider_load_key(NULL, uri), *pub = NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int len, ok = 0;

	if (key == NULL || md == NULL || RAND_bytes(msg, sizeof(msg)) != 1)
		goto done;
	if ((len = i2d_PUBKEY(key, &der)) <= 0)
		goto done;
	p = der;
	pub = d2i_PUBKEY_ex(NULL, &p, len, NULL, "provider=default");
	ok = pub != NULL &&
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
	    EVP_DigestSign(md, sig, &siglen, msg, sizeof(msg)) == 1 &&
	    EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL,
	    "provider=default", pub, NULL) == 1 &&
	    EVP_DigestVerify(md, sig, siglen, msg, sizeof(msg)) == 1;
done:
	OPENSSL_free(der);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(key);
	return ok ? 0 : -1;
}

int
selftest_run(const struct av_config *cfg, struct hsm *h, char *err,
    size_t errlen)
{
	const char *keys[] = { cfg->hsm.token_signing_key, cfg->hsm.tls_key,
	    cfg->hsm.audit_key };
	uint8_t dek[HSM_DEK_LEN], back[HSM_DEK_LEN], w[HSM_WRAPPED_DEK_LEN];
	struct hsm_key kek;
	size_t i;
	int rc = 0;

	if (selftest_kat(err, errlen) != 0)
		return -1;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (pairwise(keys[i]) != 0) {
			snprintf(err, errlen, "pairwise test of %s", keys[i]);
			return -1;
		}
	if (cfg->vault.kek_mode != AV_KEK_SERVICE_MANAGED)
		return 0;	/* the worker checks a customer's KEK */
	if (RAND_bytes(dek, sizeof(dek)) != 1 ||
	    hsm_find_key(h, cfg->vault.kek, CKO_SECRET_KEY, &kek) != CKR_OK ||
	    hsm_kek_wrap(h, &kek, dek, w) != CKR_OK ||
	    hsm_kek_unwrap(h, &kek, w, back) != CKR_OK ||
	    CRYPTO_memcmp(dek, back, sizeof(dek)) != 0)
		rc = failed(err, errlen, "KEK wrap/unwrap round trip");
	OPENSSL_cleanse(dek, sizeof(dek));
	OPENSSL_cleanse(back, sizeof(back));
	return rc;
}
