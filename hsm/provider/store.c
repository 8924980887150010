/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store.c - OSSL_STORE loader for "pkcs11:" URIs.
 *
 * The URI is parsed strictly (hsm/uri.c) and must name one key on the
 * provider's token.  The loader hands OpenSSL a reference to a key object;
 * our keymgmt's load() turns it into the EVP_PKEY's key data.  Certificate
 * and data objects are not served: the appliance keeps certificates in
 * files.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/params.h>
#include <openssl/store.h>

#include "prov.h"
#include "../uri.h"

struct avp_store {
	struct avp_ctx	*prov;
	char		*uri;
	int		 expect;	/* OSSL_STORE_INFO_*, 0: any */
	bool		 done;
};

static void *
store_open(void *provctx, const char *uri)
{
	struct avp_store *s;
	struct hsm_uri u;
	const char *why = NULL;
	CK_RV rv;

	if ((rv = hsm_uri_parse(uri, &u, &why)) != CKR_OK) {
		avp_raise(provctx, rv, why != NULL ? why : "bad pkcs11: URI");
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->prov = provctx;
	if ((s->uri = strdup(uri)) == NULL) {
		free(s);
		return NULL;
	}
	return s;
}

static int
store_set_ctx_params(void *ctx, const OSSL_PARAM params[])
{
	struct avp_store *s = ctx;
	const OSSL_PARAM *p;

	if (params == NULL)
		return 1;
	p = OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_EXPECT);
	if (p != NULL && !OSSL_PARAM_get_int(p, &s->expect))
		return 0;
	return 1;
}

static const OSSL_PARAM *
store_settable_ctx_params(void *provctx)
{
	static const OSSL_PARAM params[] = {
		OSSL_PARAM_int(OSSL_STORE_PARAM_EXPECT, NULL),
		OSSL_PARAM_END
	};

	(void)provctx;
	return params;
}

static int
store_load(void *ctx, OSSL_CALLBACK *object_cb, void *object_cbarg,
    OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
	struct avp_store *s = ctx;
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	struct avp_key *k = NULL;
	struct hsm_key hk;
	OSSL_PARAM params[4];
	int type = OSSL_OBJECT_PKEY, ok;
	CK_RV rv;

	(void)pw_cb;	/* login happened when the hsm handle was opened */
	(void)pw_cbarg;
	s->done = true;
	if (s->expect == OSSL_STORE_INFO_PUBKEY)
		cls = CKO_PUBLIC_KEY;
	else if (s->expect != 0 && s->expect != OSSL_STORE_INFO_PKEY)
		return 0;
	/* An explicit type= in the URI wins over the caller's expectation. */
	rv = hsm_find_key(s->prov->hsm, s->uri, CK_UNAVAILABLE_INFORMATION, &hk);
	if (rv == CKR_OK && hk.cls != CKO_PRIVATE_KEY &&
	    hk.cls != CKO_PUBLIC_KEY)
		rv = HSM_R_NOT_FOUND;
	if (rv == HSM_R_AMBIGUOUS)	/* private and public twins: pick */
		rv = hsm_find_key(s->prov->hsm, s->uri, cls, &hk);
	if (rv == CKR_OK)
		rv = avp_key_from_hsm(s->prov, &hk, &k);
	if (rv != CKR_OK) {
		avp_raise(s->prov, rv, "loading a pkcs11: key");
		return 0;
	}
	params[0] = OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &type);
	params[1] = OSSL_PARAM_construct_utf8_string(
	    OSSL_OBJECT_PARAM_DATA_TYPE, k->type == CKK_EC ? "EC" : "RSA", 0);
	params[2] = OSSL_PARAM_construct_octet_string(
	    OSSL_OBJECT_PARAM_REFERENCE, &k, sizeof(k));
	params[3] = OSSL_PARAM_construct_end();
	ok = object_cb(params, object_cbarg);
	avp_key_free(k);	/* keymgmt load() took its own reference */
	return ok;
}

static int
store_eof(void *ctx)
{
	return ((struct avp_store *)ctx)->done;
}

static int
store_close(void *ctx)
{
	struct avp_store *s = ctx;

	free(s->uri);
	free(s);
	return 1;
}

#define FN(id, f) { id, (void (*)(void))(f) }

const OSSL_DISPATCH avp_store_functions[] = {
	FN(OSSL_FUNC_STORE_OPEN, store_open),
	FN(OSSL_FUNC_STORE_SETTABLE_CTX_PARAMS, store_settable_ctx_params),
	FN(OSSL_FUNC_STORE_SET_CTX_PARAMS, store_set_ctx_params),
	FN(OSSL_FUNC_STORE_LOAD, store_load),
	FN(OSSL_FUNC_STORE_EOF, store_eof),
	FN(OSSL_FUNC_STORE_CLOSE, store_close),
	{ 0, NULL }
};
