/* SPDX-License-Identifier: Apache-2.0 */
/*
 * es256.h - ECDSA P-256 with SHA-256, in the compact r || s form that
 * JWS and our own formats (audit checkpoints, workload access tokens)
 * carry, rather than OpenSSL's DER.
 */
#ifndef AV_ES256_H
#define AV_ES256_H

#include <stddef.h>

#include <openssl/evp.h>

#define ES256_SIG_LEN 64

/* Sign msg with key (an HSM key through the provider, or software). */
int es256_sign(EVP_PKEY *key, const void *msg, size_t len,
    unsigned char sig[ES256_SIG_LEN]);
/* 1 when sig is a valid signature of msg under pub, else 0. */
int es256_verify(EVP_PKEY *pub, const void *msg, size_t len,
    const unsigned char sig[ES256_SIG_LEN]);

#endif /* AV_ES256_H */
