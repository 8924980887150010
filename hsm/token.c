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
text_matches(bool has, const char *want, const unsigned char *padded,
    size_t len)
{
	char buf[65];

	if (!has)
		return true;
	hsm_unpad(buf, sizeof(buf), padded, len);
	return strcmp(buf, want) == 0;
}

/* Does the URI's token, slot and library part select this slot's token? */
static bool
token_matches(CK_FUNCTION_LIST *fn, const struct hsm_uri *u, CK_SLOT_ID slot,
    const CK_TOKEN_INFO *ti)
{
	CK_SLOT_INFO si;
	CK_INFO li;

	if (u->has_slot_id && u->slot_id != slot)
		return false;
	if (!text_matches(u->has_token, u->token, ti->label,
	    sizeof(ti->label)) ||
	    !text_matches(u->has_manufacturer, u->manufacturer,
	    ti->manufacturerID, sizeof(ti->manufacturerID)) ||
	    !text_matches(u->has_serial, u->serial, ti->serialNumber,
	    sizeof(ti->serialNumber)) ||
	    !text_matches(u->has_model, u->model, ti->model,
	    sizeof(ti->model)))
		return false;
	if (u->has_slot_description || u->has_slot_manufacturer) {
		if (fn->C_GetSlotInfo(slot, &si) != CKR_OK ||
		    !text_matches(u->has_slot_description,
		    u->slot_description, si.slotDescription,
		    sizeof(si.slotDescription)) ||
		    !text_matches(u->has_slot_manufacturer,
		    u->slot_manufacturer, si.manufacturerID,
		    sizeof(si.manufacturerID)))
			return false;
	}
	if (u->has_lib_manufacturer || u->has_lib_description ||
	    u->has_lib_version) {
		if (fn->C_GetInfo(&li) != CKR_OK ||
		    !text_matches(u->has_lib_manufacturer, u->lib_manufacturer,
		    li.manufacturerID, sizeof(li.manufacturerID)) ||
		    !text_matches(u->has_lib_description, u->lib_description,
		    li.libraryDescription, sizeof(li.libraryDescription)))
			return false;
		if (u->has_lib_version &&
		    (li.libraryVersion.major != u->lib_version_major ||
		    li.libraryVersion.minor != u->lib_version_minor))
			return false;
	}
	return true;
}

bool
hsm_uri_selects(struct hsm *h, const struct hsm_uri *u)
{
	CK_TOKEN_INFO ti;

	if (h->fn->C_GetTokenInfo(h->slot, &ti) != CKR_OK)
		return false;
	return token_matches(h->fn, u, h->slot, &ti);
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
	if (n > SLOTS_MAX)
		return CKR_GENERAL_ERROR;
	for (i = 0; i < n; i++) {
		if (h->fn->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;
		if (!(ti.flags & CKF_TOKEN_INITIALIZED))
			continue;
		if (!token_matches(h->fn, u, slots[i], &ti))
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

#ifndef CKM_AES_KEY_WRAP_KWP
#define CKM_AES_KEY_WRAP_KWP	0x210bUL	/* PKCS#11 3.0 */
#endif
#define MECHS_MAX 512

static CK_RV
wrap_mechanism_select(struct hsm *h)
{
	CK_MECHANISM_TYPE mechs[MECHS_MAX];
	CK_ULONG n = MECHS_MAX, i;
	bool pad = false;
	CK_RV rv;

	if ((rv = h->fn->C_GetMechanismList(h->slot, mechs, &n)) != CKR_OK)
		return rv == CKR_BUFFER_TOO_SMALL ? HSM_R_NO_MEMORY : rv;
	if (n > MECHS_MAX)
		return CKR_GENERAL_ERROR;
	for (i = 0; i < n; i++) {
		if (mechs[i] == CKM_AES_KEY_WRAP_KWP) {
			h->wrap_mech = CKM_AES_KEY_WRAP_KWP;
			return CKR_OK;
		}
		pad |= mechs[i] == CKM_AES_KEY_WRAP_PAD;
	}
	h->wrap_mech = CKM_AES_KEY_WRAP_PAD;
	/* A token without either still opens: it may hold no KEK. */
	(void)pad;
	return CKR_OK;
}

CK_MECHANISM_TYPE
hsm_wrap_mechanism(const struct hsm *h)
{
	return h->wrap_mech;
}

const char *
hsm_wrap_mechanism_name(const struct hsm *h)
{
	return h->wrap_mech == CKM_AES_KEY_WRAP_KWP ?
	    "CKM_AES_KEY_WRAP_KWP (RFC 5649)" :
	    "CKM_AES_KEY_WRAP_PAD (RFC 5649)";
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
	if ((rv = wrap_mechanism_select(h)) != CKR_OK)
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
