/* SPDX-License-Identifier: Apache-2.0 */
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>

#include "es256.h"

int
es256_sign(EVP_PKEY *key, const void *msg, size_t len,
    unsigned char sig[ES256_SIG_LEN])
{
	unsigned char der[80];
	size_t derlen = sizeof(der);
	const unsigned char *p = der;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	ECDSA_SIG *es = NULL;
	const BIGNUM *r, *s;
	int rc = -1;

	if (md == NULL || EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL,
	    key, NULL) != 1 ||
	    EVP_DigestSign(md, der, &derlen, msg, len) != 1 ||
	    (es = d2i_ECDSA_SIG(NULL, &p, (long)derlen)) == NULL ||
	    p != der + derlen)
		goto done;
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_bn2binpad(r, sig, 32) == 32 && BN_bn2binpad(s, sig + 32, 32) ==
	    32)
		rc = 0;
done:
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return rc;
}

int
es256_verify(EVP_PKEY *pub, const void *msg, size_t len,
    const unsigned char sig[ES256_SIG_LEN])
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
	unsigned char *der = NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int derlen, ok = 0;

	if (es != NULL && r != NULL && s != NULL && ECDSA_SIG_set0(es, r, s)) {
		r = s = NULL;	/* owned by es now */
		if ((derlen = i2d_ECDSA_SIG(es, &der)) > 0 && md != NULL &&
		    EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, pub,
		    NULL) == 1)
			ok = EVP_DigestVerify(md, der, (size_t)derlen, msg,
			    len) == 1;
	}
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	OPENSSL_free(der);
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return ok;
}
