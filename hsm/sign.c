/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sign.c - one signature in the token, on a pooled session.
 */
#include <openssl/crypto.h>

#include "internal.h"

/*
 * A too-small buffer leaves the operation active on the session (v2.40
 * has no way to cancel it); finish it into a scratch buffer so the
 * session goes back to the pool clean.
 */
static void
finish_sign(struct hsm *h, CK_SESSION_HANDLE s, const uint8_t *in,
    size_t in_len)
{
	uint8_t scratch[HSM_RSA_MAX_BYTES];
	CK_ULONG len = sizeof(scratch);

	h->fn->C_Sign(s, (uint8_t *)in, in_len, scratch, &len);
	OPENSSL_cleanse(scratch, sizeof(scratch));
}

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
	if (rv == CKR_BUFFER_TOO_SMALL)
		finish_sign(h, s, in, in_len);
	hsm_session_put(h, s);
	if (rv == CKR_OK)
		*sig_len = len;
	return rv;
}
