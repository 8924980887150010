/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keymgmt.c - EC P-256 and RSA key management for HSM key pairs.
 *
 * A key object is a token handle for the private half plus a software
 * copy of the public half (`soft`), used for parameters, matching and
 * verification.  Import accepts public keys only (so OpenSSL can compare a
 * certificate's key with ours); export refuses any request that includes
 * the private key, which is what makes OpenSSL route signing back to us
 * instead of to a provider that would get a key without its private half.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/param_build.h>
#include <openssl/params.h>

#include "prov.h"

struct avp_key *
avp_key_new(struct avp_ctx *prov, CK_KEY_TYPE type)
{
	struct avp_key *k;

	if ((k = calloc(1, sizeof(*k))) == NULL)
		return NULL;
	k->prov = prov;
	k->type = type;
	k->refs = 1;
	k->priv = CK_INVALID_HANDLE;
	return k;
}

struct avp_key *
avp_key_ref(struct avp_key *k)
{
	__atomic_add_fetch(&k->refs, 1, __ATOMIC_RELAXED);
	return k;
}

void
avp_key_free(struct avp_key *k)
{
	if (k == NULL || __atomic_sub_fetch(&k->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	EVP_PKEY_free(k->soft);
	free(k);
}

CK_RV
avp_key_from_hsm(struct avp_ctx *prov, const struct hsm_key *hk,
    struct avp_key **out)
{
	struct avp_key *k;
	CK_RV rv;

	*out = NULL;
	if (hk->type != CKK_EC && hk->type != CKK_RSA)
		return HSM_R_KEY_ATTRS;
	if ((k = avp_key_new(prov, hk->type)) == NULL)
		return HSM_R_NO_MEMORY;
	if ((rv = hsm_pubkey_read(prov->hsm, hk, &k->pub)) == CKR_OK)
		rv = hsm_pubkey_to_evp(&k->pub, prov->libctx, &k->soft);
	if (rv != CKR_OK) {
		avp_key_free(k);
		return rv;
	}
	if (hk->cls == CKO_PRIVATE_KEY) {
		k->has_private = true;
		k->priv = hk->handle;
	}
	*out = k;
	return CKR_OK;
}

int
avp_key_bits(const struct avp_key *k)
{
	return EVP_PKEY_get_bits(k->soft);
}

static void *
ec_new(void *provctx)
{
	return avp_key_new(provctx, CKK_EC);
}

static void *
rsa_new(void *provctx)
{
	return avp_key_new(provctx, CKK_RSA);
}

static void
km_free(void *keydata)
{
	avp_key_free(keydata);
}

/* The store passes a pointer to a key object it made; take a reference. */
static void *
km_load(const void *reference, size_t reference_sz)
{
	struct avp_key *k;

	if (reference == NULL || reference_sz != sizeof(k))
		return NULL;
	memcpy(&k, reference, sizeof(k));
	return avp_key_ref(k);
}

static int
km_has(const void *keydata, int selection)
{
	const struct avp_key *k = keydata;

	if (k == NULL)
		return 0;
	if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) && !k->has_private)
		return 0;
	if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) && k->soft == NULL)
		return 0;
	return 1;
}

static int
km_match(const void *a, const void *b, int selection)
{
	const struct avp_key *ka = a, *kb = b;

	(void)selection;
	if (ka->type != kb->type || ka->soft == NULL || kb->soft == NULL)
		return 0;
	return EVP_PKEY_eq(ka->soft, kb->soft) == 1;
}

/* Rebuild our copy of the public half from the software key. */
static int
pub_from_soft(struct avp_key *k)
{
	BIGNUM *n = NULL, *e = NULL;
	size_t len = 0;
	int ok = 0;

	memset(&k->pub, 0, sizeof(k->pub));
	k->pub.type = k->type;
	if (k->type == CKK_EC) {
		char group[32];

		if (!EVP_PKEY_get_utf8_string_param(k->soft,
		    OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL) ||
		    strcmp(group, "prime256v1") != 0)
			return 0;
		return EVP_PKEY_get_octet_string_param(k->soft,
		    OSSL_PKEY_PARAM_PUB_KEY, k->pub.point, sizeof(k->pub.point),
		    &len) && len == sizeof(k->pub.point) &&
		    k->pub.point[0] == 0x04;
	}
	if (EVP_PKEY_get_bn_param(k->soft, OSSL_PKEY_PARAM_RSA_N, &n) &&
	    EVP_PKEY_get_bn_param(k->soft, OSSL_PKEY_PARAM_RSA_E, &e) &&
	    BN_num_bytes(n) <= (int)sizeof(k->pub.n) &&
	    BN_num_bytes(e) <= (int)sizeof(k->pub.e)) {
		k->pub.n_len = (size_t)BN_bn2bin(n, k->pub.n);
		k->pub.e_len = (size_t)BN_bn2bin(e, k->pub.e);
		ok = 1;
	}
	BN_free(n);
	BN_free(e);
	return ok;
}

static int
km_import(void *keydata, int selection, const OSSL_PARAM params[])
{
	struct avp_key *k = keydata;
	EVP_PKEY_CTX *ctx;
	int ok = 0;

	/* Private keys are generated in the token, never imported. */
	if (OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_PRIV_KEY) ||
	    OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_RSA_D))
		return 0;
	if (!(selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) || k->soft != NULL)
		return 0;
	ctx = EVP_PKEY_CTX_new_from_name(k->prov->libctx,
	    k->type == CKK_EC ? "EC" : "RSA", AVP_OTHERS);
	if (ctx != NULL && EVP_PKEY_fromdata_init(ctx) > 0 &&
	    EVP_PKEY_fromdata(ctx, &k->soft, EVP_PKEY_PUBLIC_KEY,
	    (OSSL_PARAM *)params) > 0)
		ok = pub_from_soft(k);
	EVP_PKEY_CTX_free(ctx);
	if (!ok) {
		EVP_PKEY_free(k->soft);
		k->soft = NULL;
	}
	return ok;
}

static const OSSL_PARAM ec_public_types[] = {
	OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
	OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
	OSSL_PARAM_END
};

static const OSSL_PARAM rsa_public_types[] = {
	OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
	OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
	OSSL_PARAM_END
};

static const OSSL_PARAM *
ec_io_types(int selection)
{
	(void)selection;
	return ec_public_types;
}

static const OSSL_PARAM *
rsa_io_types(int selection)
{
	(void)selection;
	return rsa_public_types;
}

static int
km_export(void *keydata, int selection, OSSL_CALLBACK *cb, void *cbarg)
{
	struct avp_key *k = keydata;
	OSSL_PARAM_BLD *bld;
	OSSL_PARAM *params = NULL;
	BIGNUM *n = NULL, *e = NULL;
	int ok = 0;

	if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) || k->soft == NULL)
		return 0;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL)
		return 0;
	if (k->type == CKK_EC) {
		ok = OSSL_PARAM_BLD_push_utf8_string(bld,
		    OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) &&
		    ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) == 0 ||
		    OSSL_PARAM_BLD_push_octet_string(bld,
		    OSSL_PKEY_PARAM_PUB_KEY, k->pub.point,
		    sizeof(k->pub.point)));
	} else {
		n = BN_bin2bn(k->pub.n, (int)k->pub.n_len, NULL);
		e = BN_bin2bn(k->pub.e, (int)k->pub.e_len, NULL);
		ok = n != NULL && e != NULL &&
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e);
	}
	if (ok && (params = OSSL_PARAM_BLD_to_param(bld)) != NULL)
		ok = cb(params, cbarg);
	else
		ok = 0;
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return ok;
}

/*
 * Sizes and public parts come from the software copy; what is ours alone
 * (the default digest) is set here.
 */
static int
km_get_params(void *keydata, OSSL_PARAM params[])
{
	struct avp_key *k = keydata;
	OSSL_PARAM *p;

	if (k->soft == NULL)
		return 0;
	for (p = params; p->key != NULL; p++) {
		if (strcmp(p->key, OSSL_PKEY_PARAM_DEFAULT_DIGEST) == 0) {
			if (!OSSL_PARAM_set_utf8_string(p, "SHA256"))
				return 0;
		} else if (strcmp(p->key, OSSL_PKEY_PARAM_MAX_SIZE) == 0) {
			if (!OSSL_PARAM_set_int(p, EVP_PKEY_get_size(k->soft)))
				return 0;
		} else if (strcmp(p->key, OSSL_PKEY_PARAM_BITS) == 0) {
			if (!OSSL_PARAM_set_int(p, EVP_PKEY_get_bits(k->soft)))
				return 0;
		} else if (strcmp(p->key, OSSL_PKEY_PARAM_SECURITY_BITS) == 0) {
			if (!OSSL_PARAM_set_int(p,
			    EVP_PKEY_get_security_bits(k->soft)))
				return 0;
		} else {
			OSSL_PARAM one[2] = { *p, OSSL_PARAM_END };

			/* Public parameters: ask the software key. */
			if (!EVP_PKEY_get_params(k->soft, one))
				return 0;
			p->return_size = one[0].return_size;
		}
	}
	return 1;
}

static const OSSL_PARAM *
ec_gettable_params(void *provctx)
{
	static const OSSL_PARAM params[] = {
		OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
		OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
		OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
		OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
		OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
		OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
		    NULL, 0),
		OSSL_PARAM_utf8_string(
		    OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING, NULL, 0),
		OSSL_PARAM_BN(OSSL_PKEY_PARAM_EC_PUB_X, NULL, 0),
		OSSL_PARAM_BN(OSSL_PKEY_PARAM_EC_PUB_Y, NULL, 0),
		OSSL_PARAM_END
	};

	(void)provctx;
	return params;
}

static const OSSL_PARAM *
rsa_gettable_params(void *provctx)
{
	static const OSSL_PARAM params[] = {
		OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
		OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
		OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
		OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, NULL, 0),
		OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
		OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
		OSSL_PARAM_END
	};

	(void)provctx;
	return params;
}

static const char *
ec_query_operation_name(int operation_id)
{
	return operation_id == OSSL_OP_SIGNATURE ? "ECDSA" : NULL;
}

static const char *
rsa_query_operation_name(int operation_id)
{
	return operation_id == OSSL_OP_SIGNATURE ? "RSA" : NULL;
}

#define FN(id, f) { id, (void (*)(void))(f) }

const OSSL_DISPATCH avp_ec_keymgmt_functions[] = {
	FN(OSSL_FUNC_KEYMGMT_NEW, ec_new),
	FN(OSSL_FUNC_KEYMGMT_FREE, km_free),
	FN(OSSL_FUNC_KEYMGMT_LOAD, km_load),
	FN(OSSL_FUNC_KEYMGMT_HAS, km_has),
	FN(OSSL_FUNC_KEYMGMT_MATCH, km_match),
	FN(OSSL_FUNC_KEYMGMT_IMPORT, km_import),
	FN(OSSL_FUNC_KEYMGMT_IMPORT_TYPES, ec_io_types),
	FN(OSSL_FUNC_KEYMGMT_EXPORT, km_export),
	FN(OSSL_FUNC_KEYMGMT_EXPORT_TYPES, ec_io_types),
	FN(OSSL_FUNC_KEYMGMT_GET_PARAMS, km_get_params),
	FN(OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, ec_gettable_params),
	FN(OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, ec_query_operation_name),
	{ 0, NULL }
};

const OSSL_DISPATCH avp_rsa_keymgmt_functions[] = {
	FN(OSSL_FUNC_KEYMGMT_NEW, rsa_new),
	FN(OSSL_FUNC_KEYMGMT_FREE, km_free),
	FN(OSSL_FUNC_KEYMGMT_LOAD, km_load),
	FN(OSSL_FUNC_KEYMGMT_HAS, km_has),
	FN(OSSL_FUNC_KEYMGMT_MATCH, km_match),
	FN(OSSL_FUNC_KEYMGMT_IMPORT, km_import),
	FN(OSSL_FUNC_KEYMGMT_IMPORT_TYPES, rsa_io_types),
	FN(OSSL_FUNC_KEYMGMT_EXPORT, km_export),
	FN(OSSL_FUNC_KEYMGMT_EXPORT_TYPES, rsa_io_types),
	FN(OSSL_FUNC_KEYMGMT_GET_PARAMS, km_get_params),
	FN(OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, rsa_gettable_params),
	FN(OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, rsa_query_operation_name),
	{ 0, NULL }
};
