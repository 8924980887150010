/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sign.c - one signature in the token, on a pooled session.
 */
#include "internal.h"

CK_RV
hsm_sign(struct hsm *h, CK_OBJECT_HANDLE key, CK_MECHANISM *mech,
    const uint8_t *in, size_t in_len, uint8_t *sig, size_t *sig_len)
{
	CK_SESSION_HANDLE s;
	CK_ULONG len = *sig_len;
	CK_RV rv;

	hsm_session_get(h, &s);
	rv = h->fn->C_SignInit(s, mech, key);
	if (rv == CKR_OK)
		rv = h->fn->C_Sign(s, (uint8_t *)in, in_len, sig, &len);
	/* A too-small buffer leaves the operation active: replace. */
	hsm_session_release(h, s, rv);
	if (rv == CKR_OK && len > *sig_len)
		rv = CKR_GENERAL_ERROR;	/* the module wrote past our buffer? */
	if (rv == CKR_OK)
		*sig_len = len;
	return rv;
}
