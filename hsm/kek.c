/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kek.c - the vault KEK: wrapping data keys, checking keys, check values.
 *
 * Data keys are wrapped with AES key wrap with padding (RFC 5649; the
 * mechanism is chosen per token, see hsm_wrap_mechanism); docs/hsm.md
 * says why.  A DEK enters the token
 * only as a short-lived session object, created to be wrapped or produced
 * by unwrapping, and destroyed before the call returns.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "internal.h"


/* A DEK inside the token may do nothing but be wrapped or read out. */
#define DEK_NO_USE \
	{ CKA_ENCRYPT, &hsm_false, sizeof(CK_BBOOL) }, \
	{ CKA_DECRYPT, &hsm_false, sizeof(CK_BBOOL) }, \
	{ CKA_SIGN, &hsm_false, sizeof(CK_BBOOL) }, \
	{ CKA_VERIFY, &hsm_false, sizeof(CK_BBOOL) }, \
	{ CKA_WRAP, &hsm_false, sizeof(CK_BBOOL) }, \
	{ CKA_UNWRAP, &hsm_false, sizeof(CK_BBOOL) }, \
	{ CKA_DERIVE, &hsm_false, sizeof(CK_BBOOL) }

CK_RV
hsm_kek_check(struct hsm *h, const struct hsm_key *kek, const char **why)
{
	static const struct {
		CK_ATTRIBUTE_TYPE	attr;
		bool			want;
		const char		*why;
	} rules[] = {
		{ CKA_TOKEN, true, "the KEK is not a token object" },
		/* Without CKA_PRIVATE, a session that never logged in can
		 * unwrap with it. */
		{ CKA_PRIVATE, true, "the KEK is usable without login" },
		{ CKA_SENSITIVE, true, "the KEK is not sensitive" },
		{ CKA_ALWAYS_SENSITIVE, true, "the KEK was once not sensitive" },
		{ CKA_EXTRACTABLE, false, "the KEK is extractable" },
		{ CKA_NEVER_EXTRACTABLE, true, "the KEK was once extractable" },
		{ CKA_WRAP, true, "the KEK may not wrap" },
		{ CKA_UNWRAP, true, "the KEK may not unwrap" },
	};
	CK_ULONG value_len = 0;
	const char *dummy;
	size_t i, len;
	bool b;
	CK_RV rv;

	if (why == NULL)
		why = &dummy;
	*why = "the KEK is not an AES secret key";
	if (kek->cls != CKO_SECRET_KEY || kek->type != CKK_AES)
		return HSM_R_KEY_ATTRS;
	*why = "the KEK is not 256 bits";
	if ((rv = hsm_get_attr(h, kek->handle, CKA_VALUE_LEN, &value_len,
	    sizeof(value_len), &len)) != CKR_OK)
		return rv;
	if (value_len != 32)
		return HSM_R_KEY_ATTRS;
	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		*why = rules[i].why;
		if ((rv = hsm_get_bool(h, kek->handle, rules[i].attr, &b)) !=
		    CKR_OK)
			return rv;
		if (b != rules[i].want)
			return HSM_R_KEY_ATTRS;
	}
	*why = NULL;
	return CKR_OK;
}

CK_RV
hsm_kek_wrap(struct hsm *h, const struct hsm_key *kek,
    const uint8_t dek[HSM_DEK_LEN], uint8_t out[HSM_WRAPPED_DEK_LEN])
{
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE type = CKK_AES;
	/* A session object that can only be wrapped, and is never readable. */
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &type, sizeof(type) },
		{ CKA_TOKEN, &hsm_false, sizeof(CK_BBOOL) },
		{ CKA_PRIVATE, &hsm_true, sizeof(CK_BBOOL) },
		{ CKA_SENSITIVE, &hsm_true, sizeof(CK_BBOOL) },
		{ CKA_EXTRACTABLE, &hsm_true, sizeof(CK_BBOOL) },
		DEK_NO_USE,
		{ CKA_MODIFIABLE, &hsm_false, sizeof(CK_BBOOL) },
		{ CKA_VALUE, (void *)dek, HSM_DEK_LEN },
	};
	CK_MECHANISM wrap_mech = { h->wrap_mech, NULL, 0 };
	CK_OBJECT_HANDLE obj;
	CK_SESSION_HANDLE s;
	CK_ULONG len = HSM_WRAPPED_DEK_LEN;
	CK_RV rv;

	hsm_session_get(h, &s);
	rv = h->fn->C_CreateObject(s, tmpl, sizeof(tmpl) / sizeof(tmpl[0]),
	    &obj);
	if (rv == CKR_OK) {
		rv = h->fn->C_WrapKey(s, &wrap_mech, kek->handle, obj, out,
		    &len);
		/* A DEK left behind in the token would outlive the call. */
		if (h->fn->C_DestroyObject(s, obj) != CKR_OK && rv == CKR_OK)
			rv = CKR_GENERAL_ERROR;
	}
	hsm_session_release(h, s, rv);
	if (rv == CKR_OK && len != HSM_WRAPPED_DEK_LEN)
		rv = CKR_WRAPPED_KEY_LEN_RANGE;
	return rv;
}

CK_RV
hsm_kek_unwrap(struct hsm *h, const struct hsm_key *kek,
    const uint8_t in[HSM_WRAPPED_DEK_LEN], uint8_t dek[HSM_DEK_LEN])
{
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE type = CKK_AES;
	/* Readable (that is the point), but private and of no other use. */
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &type, sizeof(type) },
		{ CKA_TOKEN, &hsm_false, sizeof(CK_BBOOL) },
		{ CKA_PRIVATE, &hsm_true, sizeof(CK_BBOOL) },
		{ CKA_SENSITIVE, &hsm_false, sizeof(CK_BBOOL) },
		{ CKA_EXTRACTABLE, &hsm_true, sizeof(CK_BBOOL) },
		DEK_NO_USE,
	};
	CK_ATTRIBUTE value = { CKA_VALUE, dek, HSM_DEK_LEN };
	CK_MECHANISM wrap_mech = { h->wrap_mech, NULL, 0 };
	CK_OBJECT_HANDLE obj;
	CK_SESSION_HANDLE s;
	CK_RV rv;

	hsm_session_get(h, &s);
	rv = h->fn->C_UnwrapKey(s, &wrap_mech, kek->handle, (uint8_t *)in,
	    HSM_WRAPPED_DEK_LEN, tmpl, sizeof(tmpl) / sizeof(tmpl[0]), &obj);
	if (rv == CKR_OK) {
		rv = h->fn->C_GetAttributeValue(s, obj, &value, 1);
		if (h->fn->C_DestroyObject(s, obj) != CKR_OK && rv == CKR_OK)
			rv = CKR_GENERAL_ERROR;
	}
	hsm_session_release(h, s, rv);
	if (rv == CKR_OK && value.ulValueLen != HSM_DEK_LEN)
		rv = CKR_WRAPPED_KEY_LEN_RANGE;
	if (rv != CKR_OK)
		OPENSSL_cleanse(dek, HSM_DEK_LEN);
	return rv;
}

CK_RV
hsm_key_check_value(struct hsm *h, const struct hsm_key *k,
    uint8_t kcv[HSM_KCV_LEN])
{
	struct hsm_pubkey pub;
	unsigned char buf[32];
	size_t len;
	CK_RV rv;

	if (k->cls == CKO_SECRET_KEY) {
		rv = hsm_get_attr(h, k->handle, CKA_CHECK_VALUE, buf,
		    sizeof(buf), &len);
		if (rv == CKR_OK && len < HSM_KCV_LEN)
			rv = HSM_R_KEY_ATTRS;
	} else {
		if ((rv = hsm_pubkey_read(h, k, &pub)) == CKR_OK)
			rv = hsm_pubkey_fingerprint(&pub, buf);
	}
	if (rv == CKR_OK)
		memcpy(kcv, buf, HSM_KCV_LEN);
	return rv;
}
