/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys.c - finding objects by URI, reading attributes, generating keys.
 */
#include <string.h>

#include "internal.h"
#include "uri.h"

#define FIND_MAX 2	/* two are enough to tell "one" from "ambiguous" */

CK_RV
hsm_get_attr(struct hsm *h, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE t,
    void *buf, size_t cap, size_t *len)
{
	CK_ATTRIBUTE a = { t, buf, cap };
	CK_SESSION_HANDLE s;
	CK_RV rv;

	hsm_session_get(h, &s);
	rv = h->fn->C_GetAttributeValue(s, obj, &a, 1);
	hsm_session_put(h, s);
	if (rv != CKR_OK)
		return rv;
	if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
		return CKR_ATTRIBUTE_TYPE_INVALID;
	/* The module's word on the length is not trusted either. */
	if (a.ulValueLen > cap)
		return CKR_GENERAL_ERROR;
	*len = a.ulValueLen;
	return CKR_OK;
}

CK_RV
hsm_get_bool(struct hsm *h, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE t,
    bool *val)
{
	CK_BBOOL b = CK_FALSE;
	size_t len;
	CK_RV rv;

	if ((rv = hsm_get_attr(h, obj, t, &b, sizeof(b), &len)) != CKR_OK)
		return rv;
	if (len != sizeof(b))
		return CKR_GENERAL_ERROR;
	*val = b == CK_TRUE;
	return CKR_OK;
}

/* Fill a struct hsm_key from the object's own attributes. */
static CK_RV
key_describe(struct hsm *h, CK_OBJECT_HANDLE obj, struct hsm_key *k)
{
	size_t len;
	CK_RV rv;

	memset(k, 0, sizeof(*k));
	k->handle = obj;
	if ((rv = hsm_get_attr(h, obj, CKA_CLASS, &k->cls, sizeof(k->cls),
	    &len)) != CKR_OK)
		return rv;
	k->type = CK_UNAVAILABLE_INFORMATION;
	if (k->cls == CKO_SECRET_KEY || k->cls == CKO_PRIVATE_KEY ||
	    k->cls == CKO_PUBLIC_KEY) {
		if ((rv = hsm_get_attr(h, obj, CKA_KEY_TYPE, &k->type,
		    sizeof(k->type), &len)) != CKR_OK)
			return rv;
	}
	if (len != sizeof(k->cls))
		return CKR_GENERAL_ERROR;
	if (hsm_get_attr(h, obj, CKA_LABEL, k->label, HSM_LABEL_MAX,
	    &len) == CKR_OK)
		k->label[len] = '\0';
	if (hsm_get_attr(h, obj, CKA_ID, k->id, sizeof(k->id), &len) == CKR_OK)
		k->id_len = len;
	return CKR_OK;
}

/* Find up to FIND_MAX objects matching a template. */
static CK_RV
find_objects(struct hsm *h, CK_ATTRIBUTE *tmpl, CK_ULONG n,
    CK_OBJECT_HANDLE found[FIND_MAX], CK_ULONG *count)
{
	CK_SESSION_HANDLE s;
	CK_RV rv;

	hsm_session_get(h, &s);
	rv = h->fn->C_FindObjectsInit(s, tmpl, n);
	if (rv == CKR_OK) {
		rv = h->fn->C_FindObjects(s, found, FIND_MAX, count);
		h->fn->C_FindObjectsFinal(s);
	}
	hsm_session_put(h, s);
	if (rv == CKR_OK && *count > FIND_MAX)
		rv = CKR_GENERAL_ERROR;
	return rv;
}

static CK_RV
find_one(struct hsm *h, CK_ATTRIBUTE *tmpl, CK_ULONG n, struct hsm_key *out)
{
	CK_OBJECT_HANDLE found[FIND_MAX];
	CK_ULONG count = 0;
	CK_RV rv;

	if ((rv = find_objects(h, tmpl, n, found, &count)) != CKR_OK)
		return rv;
	if (count == 0)
		return HSM_R_NOT_FOUND;
	if (count > 1)
		return HSM_R_AMBIGUOUS;
	return key_describe(h, found[0], out);
}

CK_RV
hsm_find_key(struct hsm *h, const char *uri, CK_OBJECT_CLASS want_class,
    struct hsm_key *out)
{
	struct hsm_uri u;
	CK_OBJECT_CLASS cls;
	CK_ATTRIBUTE tmpl[3];
	CK_ULONG n = 0;
	CK_RV rv;

	if ((rv = hsm_uri_parse(uri, &u, NULL)) != CKR_OK)
		return rv;
	/* The URI may name a token: it must be the one this handle is on. */
	if (!hsm_uri_selects(h, &u))
		return HSM_R_NO_TOKEN;
	cls = hsm_uri_type_class(u.type);
	if (cls == CK_UNAVAILABLE_INFORMATION)
		cls = want_class;
	else if (want_class != CK_UNAVAILABLE_INFORMATION && cls != want_class)
		return HSM_R_NOT_FOUND;
	if (cls != CK_UNAVAILABLE_INFORMATION)
		tmpl[n++] = (CK_ATTRIBUTE){ CKA_CLASS, &cls, sizeof(cls) };
	if (u.has_object)
		tmpl[n++] = (CK_ATTRIBUTE){ CKA_LABEL, u.object,
		    strlen(u.object) };
	if (u.has_id)
		tmpl[n++] = (CK_ATTRIBUTE){ CKA_ID, u.id, u.id_len };
	/* "pkcs11:" alone would pick whatever single object exists. */
	if (!u.has_object && !u.has_id)
		return HSM_R_URI_UNSPECIFIC;
	return find_one(h, tmpl, n, out);
}

CK_RV
hsm_find_public_for(struct hsm *h, const struct hsm_key *priv,
    struct hsm_key *out)
{
	CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
	CK_ATTRIBUTE tmpl[3] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
	};
	CK_ULONG n = 1;

	if (priv->id_len > 0)
		tmpl[n++] = (CK_ATTRIBUTE){ CKA_ID, (void *)priv->id,
		    priv->id_len };
	else if (priv->label[0] != '\0')
		tmpl[n++] = (CK_ATTRIBUTE){ CKA_LABEL, (void *)priv->label,
		    strlen(priv->label) };
	else
		return HSM_R_NOT_FOUND;
	return find_one(h, tmpl, n, out);
}

CK_RV
hsm_key_uri(const struct hsm *h, const struct hsm_key *k, char *buf,
    size_t len)
{
	struct hsm_uri u;

	memset(&u, 0, sizeof(u));
	u.has_token = true;
	memcpy(u.token, h->label, sizeof(u.token));
	if (k->label[0] != '\0') {
		u.has_object = true;
		memcpy(u.object, k->label, sizeof(u.object));
	}
	if (k->id_len > 0) {
		u.has_id = true;
		memcpy(u.id, k->id, k->id_len);
		u.id_len = k->id_len;
	}
	switch (k->cls) {
	case CKO_PRIVATE_KEY: u.type = HSM_URI_TYPE_PRIVATE; break;
	case CKO_PUBLIC_KEY: u.type = HSM_URI_TYPE_PUBLIC; break;
	case CKO_SECRET_KEY: u.type = HSM_URI_TYPE_SECRET_KEY; break;
	case CKO_CERTIFICATE: u.type = HSM_URI_TYPE_CERT; break;
	default: break;
	}
	return hsm_uri_format(&u, buf, len);
}

static CK_RV
label_free(struct hsm *h, const char *label)
{
	CK_ATTRIBUTE tmpl[1] = {
		{ CKA_LABEL, (void *)label, strlen(label) },
	};
	CK_OBJECT_HANDLE found[FIND_MAX];
	CK_ULONG count = 0;
	CK_RV rv;

	if (strlen(label) == 0 || strlen(label) > HSM_LABEL_MAX)
		return HSM_R_BAD_INPUT;
	if ((rv = find_objects(h, tmpl, 1, found, &count)) != CKR_OK)
		return rv;
	return count == 0 ? CKR_OK : HSM_R_EXISTS;
}

/* DER of the prime256v1 OID, CKA_EC_PARAMS of every EC key we make. */
static const unsigned char p256_params[] = {
	0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07
};

CK_RV
hsm_generate_kek(struct hsm *h, const char *label, const unsigned char *id,
    size_t id_len, struct hsm_key *out)
{
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE type = CKK_AES;
	CK_ULONG value_len = 32;
	CK_MECHANISM mech = { CKM_AES_KEY_GEN, NULL, 0 };
	/* Wrap and unwrap only: the KEK never encrypts data directly. */
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &type, sizeof(type) },
		{ CKA_VALUE_LEN, &value_len, sizeof(value_len) },
		{ CKA_TOKEN, &hsm_true, sizeof(CK_BBOOL) },
		{ CKA_PRIVATE, &hsm_true, sizeof(CK_BBOOL) },
		{ CKA_SENSITIVE, &hsm_true, sizeof(CK_BBOOL) },
		{ CKA_EXTRACTABLE, &hsm_false, sizeof(CK_BBOOL) },
		{ CKA_WRAP, &hsm_true, sizeof(CK_BBOOL) },
		{ CKA_UNWRAP, &hsm_true, sizeof(CK_BBOOL) },
		{ CKA_ENCRYPT, &hsm_false, sizeof(CK_BBOOL) },
		{ CKA_DECRYPT, &hsm_false, sizeof(CK_BBOOL) },
		{ CKA_SIGN, &hsm_false, sizeof(CK_BBOOL) },
		{ CKA_VERIFY, &hsm_false, sizeof(CK_BBOOL) },
		{ CKA_DERIVE, &hsm_false, sizeof(CK_BBOOL) },
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_ID, (void *)id, id_len },
	};
	CK_OBJECT_HANDLE obj;
	CK_SESSION_HANDLE s;
	CK_RV rv;

	if (id_len == 0 || id_len > HSM_ID_MAX)
		return HSM_R_BAD_INPUT;
	if ((rv = label_free(h, label)) != CKR_OK)
		return rv;
	hsm_session_get(h, &s);
	rv = h->fn->C_GenerateKey(s, &mech, tmpl,
	    sizeof(tmpl) / sizeof(tmpl[0]), &obj);
	hsm_session_put(h, s);
	if (rv != CKR_OK)
		return rv;
	return key_describe(h, obj, out);
}

/* Generate a key pair: the private half sensitive, never extractable,
 * signing only; the public half a token object so the provider can read
 * the public key (PKCS#11 private EC keys do not carry CKA_EC_POINT). */
static CK_RV
generate_pair(struct hsm *h, CK_MECHANISM *mech, CK_ATTRIBUTE *pub_extra,
    CK_ULONG npub_extra, const char *label, const unsigned char *id,
    size_t id_len, struct hsm_key *out_priv)
{
	/*
	 * The public half is private too: a public token object could be
	 * replaced by anyone without the PIN, and we read the public key
	 * from it (pubkey.c also checks that the two halves pair).
	 */
	CK_ATTRIBUTE pub[9] = {
		{ CKA_TOKEN, &hsm_true, sizeof(CK_BBOOL) },
		{ CKA_PRIVATE, &hsm_true, sizeof(CK_BBOOL) },
		{ CKA_MODIFIABLE, &hsm_false, sizeof(CK_BBOOL) },
		{ CKA_VERIFY, &hsm_true, sizeof(CK_BBOOL) },
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_ID, (void *)id, id_len },
	};
	CK_ATTRIBUTE priv[] = {
		{ CKA_TOKEN, &hsm_true, sizeof(CK_BBOOL) },
		{ CKA_PRIVATE, &hsm_true, sizeof(CK_BBOOL) },
		{ CKA_SENSITIVE, &hsm_true, sizeof(CK_BBOOL) },
		{ CKA_EXTRACTABLE, &hsm_false, sizeof(CK_BBOOL) },
		{ CKA_SIGN, &hsm_true, sizeof(CK_BBOOL) },
		{ CKA_DECRYPT, &hsm_false, sizeof(CK_BBOOL) },
		{ CKA_UNWRAP, &hsm_false, sizeof(CK_BBOOL) },
		{ CKA_DERIVE, &hsm_false, sizeof(CK_BBOOL) },
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_ID, (void *)id, id_len },
	};
	CK_ULONG npub = 6, i;
	CK_OBJECT_HANDLE pub_obj, priv_obj;
	CK_SESSION_HANDLE s;
	CK_RV rv;

	if (id_len == 0 || id_len > HSM_ID_MAX || npub_extra > 3)
		return HSM_R_BAD_INPUT;
	if ((rv = label_free(h, label)) != CKR_OK)
		return rv;
	for (i = 0; i < npub_extra; i++)
		pub[npub++] = pub_extra[i];
	hsm_session_get(h, &s);
	rv = h->fn->C_GenerateKeyPair(s, mech, pub, npub, priv,
	    sizeof(priv) / sizeof(priv[0]), &pub_obj, &priv_obj);
	hsm_session_put(h, s);
	if (rv != CKR_OK)
		return rv;
	return key_describe(h, priv_obj, out_priv);
}

CK_RV
hsm_generate_ec_p256(struct hsm *h, const char *label,
    const unsigned char *id, size_t id_len, struct hsm_key *out_priv)
{
	CK_MECHANISM mech = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	CK_ATTRIBUTE extra[] = {
		{ CKA_EC_PARAMS, (void *)p256_params, sizeof(p256_params) },
	};

	return generate_pair(h, &mech, extra, 1, label, id, id_len, out_priv);
}

CK_RV
hsm_generate_rsa(struct hsm *h, const char *label, const unsigned char *id,
    size_t id_len, unsigned bits, struct hsm_key *out_priv)
{
	CK_MECHANISM mech = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
	CK_ULONG mod_bits = bits;
	unsigned char e[] = { 0x01, 0x00, 0x01 };
	CK_ATTRIBUTE extra[] = {
		{ CKA_MODULUS_BITS, &mod_bits, sizeof(mod_bits) },
		{ CKA_PUBLIC_EXPONENT, e, sizeof(e) },
	};

	if (bits < 2048 || bits > 8192)
		return HSM_R_BAD_INPUT;
	return generate_pair(h, &mech, extra, 2, label, id, id_len, out_priv);
}

CK_RV
hsm_list_labels(struct hsm *h, const char *prefix,
    char labels[][HSM_LABEL_MAX + 1], size_t max, size_t *n)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE tmpl[1] = { { CKA_CLASS, &cls, sizeof(cls) } };
	CK_OBJECT_HANDLE found[16];
	CK_ULONG count, i;
	CK_SESSION_HANDLE s;
	char label[HSM_LABEL_MAX + 1];
	bool more = false;
	CK_RV rv;

	*n = 0;
	hsm_session_get(h, &s);
	if ((rv = h->fn->C_FindObjectsInit(s, tmpl, 1)) != CKR_OK) {
		hsm_session_put(h, s);
		return rv;
	}
	do {
		count = 0;
		if ((rv = h->fn->C_FindObjects(s, found, 16, &count)) !=
		    CKR_OK || count > 16)
			break;
		for (i = 0; i < count; i++) {
			/* Labels are read on this session: the pool may be
			 * one session deep. */
			CK_ATTRIBUTE a = { CKA_LABEL, label, HSM_LABEL_MAX };

			if (h->fn->C_GetAttributeValue(s, found[i], &a, 1) !=
			    CKR_OK || a.ulValueLen > HSM_LABEL_MAX)
				continue;
			label[a.ulValueLen] = '\0';
			if (strncmp(label, prefix, strlen(prefix)) != 0 ||
			    strlen(label) != a.ulValueLen)
				continue;
			if (*n == max) {
				more = true;
				continue;
			}
			memcpy(labels[(*n)++], label, a.ulValueLen + 1);
		}
	} while (count == 16);
	h->fn->C_FindObjectsFinal(s);
	hsm_session_put(h, s);
	if (rv == CKR_OK && count > 16)
		rv = CKR_GENERAL_ERROR;
	return rv == CKR_OK && more ? HSM_R_BAD_INPUT : rv;
}

CK_RV
hsm_destroy_label(struct hsm *h, const char *label)
{
	CK_ATTRIBUTE tmpl[1] = {
		{ CKA_LABEL, (void *)label, strlen(label) },
	};
	CK_OBJECT_HANDLE found[FIND_MAX];
	CK_ULONG count, i;
	CK_SESSION_HANDLE s;
	CK_RV rv;

	/* Find and destroy in rounds until nothing with the label is left. */
	for (;;) {
		count = 0;
		if ((rv = find_objects(h, tmpl, 1, found, &count)) != CKR_OK)
			return rv;
		if (count == 0)
			return CKR_OK;
		hsm_session_get(h, &s);
		for (i = 0; i < count && rv == CKR_OK; i++)
			rv = h->fn->C_DestroyObject(s, found[i]);
		hsm_session_put(h, s);
		if (rv != CKR_OK)
			return rv;
	}
}
