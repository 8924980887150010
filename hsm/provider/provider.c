/* SPDX-License-Identifier: Apache-2.0 */
/*
 * provider.c - entry point and algorithm tables of the agentvault-hsm
 * provider, and hsm_provider_load() which plugs it into a library context.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/provider.h>

#include "prov.h"
#include "../provider.h"

static OSSL_FUNC_core_new_error_fn	*core_new_error;
static OSSL_FUNC_core_set_error_debug_fn *core_set_error_debug;
static OSSL_FUNC_core_vset_error_fn	*core_vset_error;

/*
 * OpenSSL 3.0 has no way to hand a pointer to a provider's init function,
 * so hsm_provider_load() parks the hsm handle here, under a lock held for
 * the duration of the (synchronous) OSSL_PROVIDER_load call.
 */
static pthread_mutex_t	 handoff_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hsm	*handoff_hsm;

#define ALG(names, fns) { names, "provider=" AVP_NAME, fns, NULL }

static const OSSL_ALGORITHM avp_keymgmt[] = {
	ALG("EC:id-ecPublicKey:1.2.840.10045.2.1", avp_ec_keymgmt_functions),
	ALG("RSA:rsaEncryption:1.2.840.113549.1.1.1",
	    avp_rsa_keymgmt_functions),
	{ NULL, NULL, NULL, NULL }
};

static const OSSL_ALGORITHM avp_signature[] = {
	ALG("ECDSA", avp_ecdsa_signature_functions),
	ALG("RSA:rsaEncryption:1.2.840.113549.1.1.1",
	    avp_rsa_signature_functions),
	{ NULL, NULL, NULL, NULL }
};

static const OSSL_ALGORITHM avp_store[] = {
	ALG("pkcs11", avp_store_functions),
	{ NULL, NULL, NULL, NULL }
};

void
avp_raise(const struct avp_ctx *prov, CK_RV rv, const char *what)
{
	char buf[256];

	if (core_new_error == NULL || prov == NULL)
		return;
	core_new_error(prov->core);
	core_set_error_debug(prov->core, OPENSSL_FILE, OPENSSL_LINE, what);
	core_vset_error(prov->core, ERR_PACK(ERR_LIB_USER, 0, 1),
	    hsm_rv_describe(rv, buf, sizeof(buf)), NULL);
}

static const OSSL_ALGORITHM *
avp_query(void *provctx, int op, int *no_cache)
{
	(void)provctx;
	*no_cache = 0;
	switch (op) {
	case OSSL_OP_KEYMGMT:
		return avp_keymgmt;
	case OSSL_OP_SIGNATURE:
		return avp_signature;
	case OSSL_OP_STORE:
		return avp_store;
	}
	return NULL;
}

static const OSSL_PARAM *
avp_gettable_params(void *provctx)
{
	static const OSSL_PARAM params[] = {
		OSSL_PARAM_DEFN(OSSL_PROV_PARAM_NAME, OSSL_PARAM_UTF8_PTR,
		    NULL, 0),
		OSSL_PARAM_DEFN(OSSL_PROV_PARAM_STATUS, OSSL_PARAM_INTEGER,
		    NULL, 0),
		OSSL_PARAM_END
	};

	(void)provctx;
	return params;
}

static int
avp_get_params(void *provctx, OSSL_PARAM params[])
{
	OSSL_PARAM *p;

	(void)provctx;
	p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_NAME);
	if (p != NULL && !OSSL_PARAM_set_utf8_ptr(p, "Agent Vault HSM"))
		return 0;
	p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_STATUS);
	if (p != NULL && !OSSL_PARAM_set_int(p, 1))
		return 0;
	return 1;
}

static void
avp_teardown(void *provctx)
{
	struct avp_ctx *prov = provctx;

	OSSL_LIB_CTX_free(prov->libctx);
	free(prov);
}

static const OSSL_DISPATCH avp_dispatch[] = {
	{ OSSL_FUNC_PROVIDER_TEARDOWN, (void (*)(void))avp_teardown },
	{ OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))avp_query },
	{ OSSL_FUNC_PROVIDER_GETTABLE_PARAMS,
	    (void (*)(void))avp_gettable_params },
	{ OSSL_FUNC_PROVIDER_GET_PARAMS, (void (*)(void))avp_get_params },
	{ 0, NULL }
};

static int
avp_init(const OSSL_CORE_HANDLE *core, const OSSL_DISPATCH *in,
    const OSSL_DISPATCH **out, void **provctx)
{
	struct avp_ctx *prov;
	const OSSL_DISPATCH *d;

	if (handoff_hsm == NULL)
		return 0;	/* only hsm_provider_load() may start us */
	for (d = in; d->function_id != 0; d++) {
		switch (d->function_id) {
		case OSSL_FUNC_CORE_NEW_ERROR:
			core_new_error = OSSL_FUNC_core_new_error(d);
			break;
		case OSSL_FUNC_CORE_SET_ERROR_DEBUG:
			core_set_error_debug = OSSL_FUNC_core_set_error_debug(d);
			break;
		case OSSL_FUNC_CORE_VSET_ERROR:
			core_vset_error = OSSL_FUNC_core_vset_error(d);
			break;
		}
	}
	if ((prov = calloc(1, sizeof(*prov))) == NULL)
		return 0;
	prov->core = core;
	prov->hsm = handoff_hsm;
	if ((prov->libctx = OSSL_LIB_CTX_new_child(core, in)) == NULL) {
		free(prov);
		return 0;
	}
	*provctx = prov;
	*out = avp_dispatch;
	return 1;
}

struct hsm_provider {
	OSSL_PROVIDER	*def;
	OSSL_PROVIDER	*ours;
};

int
hsm_provider_load(struct hsm *h, OSSL_LIB_CTX *libctx,
    struct hsm_provider **out)
{
	struct hsm_provider *p;

	*out = NULL;
	/* One hsm handle per library context: a second would be ignored. */
	if (OSSL_PROVIDER_available(libctx, AVP_NAME))
		return 0;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return 0;
	/*
	 * Loading any provider explicitly stops OpenSSL from loading the
	 * default one on its own, and hashing and public-key work need it.
	 * The handle is kept so that unloading releases it (OpenSSL 3.0
	 * leaks its RNG method otherwise).
	 */
	if ((p->def = OSSL_PROVIDER_load(libctx, "default")) == NULL ||
	    !OSSL_PROVIDER_add_builtin(libctx, AVP_NAME, avp_init))
		goto fail;
	pthread_mutex_lock(&handoff_lock);
	handoff_hsm = h;
	p->ours = OSSL_PROVIDER_load(libctx, AVP_NAME);
	handoff_hsm = NULL;
	pthread_mutex_unlock(&handoff_lock);
	if (p->ours == NULL)
		goto fail;
	*out = p;
	return 1;
fail:
	hsm_provider_unload(p);
	return 0;
}

void
hsm_provider_unload(struct hsm_provider *p)
{
	if (p == NULL)
		return;
	if (p->ours != NULL)
		OSSL_PROVIDER_unload(p->ours);
	if (p->def != NULL)
		OSSL_PROVIDER_unload(p->def);
	free(p);
}

EVP_PKEY *
hsm_provider_load_key(OSSL_LIB_CTX *libctx, const char *uri)
{
	OSSL_STORE_CTX *store;
	OSSL_STORE_INFO *info;
	EVP_PKEY *pk = NULL;

	store = OSSL_STORE_open_ex(uri, libctx, "?provider=" AVP_NAME, NULL,
	    NULL, NULL, NULL, NULL);
	if (store == NULL)
		return NULL;
	while (pk == NULL && !OSSL_STORE_eof(store)) {
		if ((info = OSSL_STORE_load(store)) == NULL)
			break;
		if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
			pk = OSSL_STORE_INFO_get1_PKEY(info);
		else if (OSSL_STORE_INFO_get_type(info) ==
		    OSSL_STORE_INFO_PUBKEY)
			pk = OSSL_STORE_INFO_get1_PUBKEY(info);
		OSSL_STORE_INFO_free(info);
	}
	OSSL_STORE_close(store);
	return pk;
}
