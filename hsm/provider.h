/* SPDX-License-Identifier: Apache-2.0 */
/*
 * provider.h - the agentvault-hsm OpenSSL 3 provider.
 *
 * After hsm_provider_load(h, libctx), OSSL_STORE_open("pkcs11:...") on that
 * library context yields EVP_PKEYs whose private half stays in the token of
 * h: EC P-256 (ECDSA) and RSA 2048+ (PKCS#1 v1.5 and PSS).  They work with
 * EVP_DigestSign*, EVP_PKEY_sign, X509_sign_ctx (ECDSA and PKCS#1 v1.5
 * certificates; not PSS) and SSL_CTX_use_PrivateKey;
 * their public half exports (i2d_PUBKEY, EVP_PKEY_get_params) for JWKS and
 * certificates.  The hsm handle must outlive the library context's use of
 * the provider.
 */
#ifndef AV_HSM_PROVIDER_H
#define AV_HSM_PROVIDER_H

#include <openssl/provider.h>
#include <openssl/store.h>

#include "hsm.h"

struct hsm_provider;

/* Load "default" and our provider into libctx (NULL: the default libctx).
 * Returns 1 and a handle in *out, or 0 (errors on OpenSSL's queue). */
int hsm_provider_load(struct hsm *h, OSSL_LIB_CTX *libctx,
    struct hsm_provider **out);
/* Unload both again (before hsm_close). */
void hsm_provider_unload(struct hsm_provider *p);

/* Open a pkcs11: URI through the store, preferring our provider. */
EVP_PKEY *hsm_provider_load_key(OSSL_LIB_CTX *libctx, const char *uri);

#endif /* AV_HSM_PROVIDER_H */
