/* SPDX-License-Identifier: Apache-2.0 */
/*
 * prov.h - internals of the agentvault-hsm OpenSSL 3 provider.
 *
 * The provider exposes HSM key pairs as EVP_PKEYs: a key object holds the
 * PKCS#11 handle of the private key and a copy of the public half.  The
 * private key never leaves the token: export hands out public parts only,
 * and signing is a C_Sign on a pooled session.
 */
#ifndef AV_HSM_PROV_H
#define AV_HSM_PROV_H

#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/types.h>

#include "../hsm.h"

#define AVP_NAME	"agentvault-hsm"
/* Any implementation but ours: for hashing and software public keys. */
#define AVP_OTHERS	"provider!=" AVP_NAME

struct avp_ctx {
	const OSSL_CORE_HANDLE	*core;
	OSSL_LIB_CTX		*libctx;	/* child of the application's */
	struct hsm		*hsm;
};

struct avp_key {
	struct avp_ctx		*prov;
	int			 refs;
	CK_KEY_TYPE		 type;		/* CKK_EC or CKK_RSA */
	bool			 has_private;
	CK_OBJECT_HANDLE	 priv;
	struct hsm_pubkey	 pub;
	EVP_PKEY		*soft;		/* software public key */
};

/* keymgmt.c */
struct avp_key *avp_key_new(struct avp_ctx *prov, CK_KEY_TYPE type);
void avp_key_free(struct avp_key *k);
struct avp_key *avp_key_ref(struct avp_key *k);
/* Build a key object for a private (or public) key found in the token. */
CK_RV avp_key_from_hsm(struct avp_ctx *prov, const struct hsm_key *hk,
    struct avp_key **out);
int avp_key_bits(const struct avp_key *k);

extern const OSSL_DISPATCH avp_ec_keymgmt_functions[];
extern const OSSL_DISPATCH avp_rsa_keymgmt_functions[];
/* signature.c */
extern const OSSL_DISPATCH avp_ecdsa_signature_functions[];
extern const OSSL_DISPATCH avp_rsa_signature_functions[];
/* store.c */
extern const OSSL_DISPATCH avp_store_functions[];

/* provider.c: put an error on OpenSSL's queue, naming the CK_RV. */
void avp_raise(const struct avp_ctx *prov, CK_RV rv, const char *what);

#endif /* AV_HSM_PROV_H */
