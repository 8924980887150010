/* SPDX-License-Identifier: Apache-2.0 */
/*
 * token.c - opening a handle on one token of one module.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "uri.h"

#define SLOTS_MAX 64

static bool
token_matches(const struct hsm_uri *u, CK_SLOT_ID slot,
    const CK_TOKEN_INFO *ti)
{
	char buf[33];

	if (u->has_slot_id && u->slot_id != slot)
		return false;
	hsm_unpad(buf, sizeof(buf), ti->label, sizeof(ti->label));
	if (u->has_token && strcmp(buf, u->token) != 0)
		return false;
	hsm_unpad(buf, sizeof(buf), ti->manufacturerID,
	    sizeof(ti->manufacturerID));
	if (u->has_manufacturer && strcmp(buf, u->manufacturer) != 0)
		return false;
	hsm_unpad(buf, sizeof(buf), ti->serialNumber, sizeof(ti->serialNumber));
	if (u->has_serial && strcmp(buf, u->serial) != 0)
		return false;
	hsm_unpad(buf, sizeof(buf), ti->model, sizeof(ti->model));
	if (u->has_model && strcmp(buf, u->model) != 0)
		return false;
	return true;
}

/* Find the one initialised token the URI names. */
static CK_RV
token_select(struct hsm *h, const struct hsm_uri *u)
{
	CK_SLOT_ID slots[SLOTS_MAX];
	CK_ULONG n = SLOTS_MAX, i, found = 0;
	CK_TOKEN_INFO ti;
	CK_RV rv;

	if ((rv = h->fn->C_GetSlotList(CK_TRUE, slots, &n)) != CKR_OK)
		return rv == CKR_BUFFER_TOO_SMALL ? HSM_R_NO_MEMORY : rv;
	for (i = 0; i < n; i++) {
		if (h->fn->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;
		if (!(ti.flags & CKF_TOKEN_INITIALIZED))
			continue;
		if (!token_matches(u, slots[i], &ti))
			continue;
		if (found++ > 0)
			return HSM_R_AMBIGUOUS;
		h->slot = slots[i];
		hsm_unpad(h->label, sizeof(h->label), ti.label,
		    sizeof(ti.label));
		hsm_unpad(h->serial, sizeof(h->serial), ti.serialNumber,
		    sizeof(ti.serialNumber));
	}
	return found == 1 ? CKR_OK : HSM_R_NO_TOKEN;
}

CK_RV
hsm_open(const char *module_path, const char *token_uri, unsigned pool_size,
    struct hsm **out)
{
	struct hsm_uri *u = NULL;
	struct hsm *h = NULL;
	CK_RV rv;

	*out = NULL;
	if (pool_size == 0 || pool_size > HSM_POOL_MAX)
		return HSM_R_BAD_INPUT;
	if ((u = calloc(1, sizeof(*u))) == NULL ||
	    (h = calloc(1, sizeof(*h))) == NULL) {
		rv = HSM_R_NO_MEMORY;
		goto done;
	}
	if ((rv = hsm_uri_parse(token_uri ? token_uri : "pkcs11:", u,
	    NULL)) != CKR_OK)
		goto done;
	if (module_path == NULL && u->has_module_path)
		module_path = u->module_path;
	if (module_path == NULL) {
		rv = HSM_R_BAD_INPUT;
		goto done;
	}
	pthread_mutex_init(&h->pool_lock, NULL);
	pthread_cond_init(&h->pool_cond, NULL);
	pthread_mutex_init(&h->login_lock, NULL);
	if ((rv = hsm_module_get(module_path, &h->mod, &h->fn)) != CKR_OK)
		goto done;
	if ((rv = token_select(h, u)) != CKR_OK)
		goto done;
	if ((rv = hsm_pool_open(h, pool_size)) != CKR_OK)
		goto done;
	*out = h;
	h = NULL;
done:
	hsm_close(h);
	free(u);
	return rv;
}

void
hsm_close(struct hsm *h)
{
	if (h == NULL)
		return;
	if (h->fn != NULL) {
		hsm_pool_close(h);
		hsm_module_put(h->mod);
	}
	pthread_mutex_destroy(&h->pool_lock);
	pthread_cond_destroy(&h->pool_cond);
	pthread_mutex_destroy(&h->login_lock);
	free(h);
}

CK_FUNCTION_LIST *
hsm_fn(const struct hsm *h)
{
	return h->fn;
}

const char *
hsm_token_label(const struct hsm *h)
{
	return h->label;
}

const char *
hsm_token_serial(const struct hsm *h)
{
	return h->serial;
}
