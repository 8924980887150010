/* SPDX-License-Identifier: Apache-2.0 */
/*
 * client_assertion.c - the client assertion of private_key_jwt: JSON
 * header and claims, base64url, an ES256 signature made in the HSM.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "audit.h"
#include "client_assertion.h"
#include "es256.h"

#define JTI_BYTES	16

const struct client_key *
client_key_find(const struct client_keys *t, const char *label)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->k[i].label, label) == 0)
			return &t->k[i];
	return NULL;
}

void
client_keys_free(struct client_keys *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		EVP_PKEY_free(t->k[i].key);
	memset(t, 0, sizeof(*t));
}

/* base64url of a JSON value's compact text at out + *off. */
static int
put_json(json_t *v, char *out, size_t len, size_t *off)
{
	char *text;
	size_t n;
	int rc = -1;

	if (v == NULL || (text = json_dumps(v, JSON_COMPACT)) == NULL)
		return -1;
	n = strlen(text);
	/* 4 characters per 3 bytes, rounded up, and the NUL. */
	if (*off + (n + 2) / 3 * 4 + 1 <= len) {
		audit_b64url((const unsigned char *)text, n, out + *off,
		    len - *off);
		*off += strlen(out + *off);
		rc = 0;
	}
	free(text);
	return rc;
}

int
client_assertion_make(const struct client_key *k, const char *client_id,
    const char *audience, json_t *extra_header, json_t *extra_claims,
    int64_t now, char *out, size_t len, struct av_err *e)
{
	unsigned char jti[JTI_BYTES], sig[ES256_SIG_LEN];
	char jti64[2 * JTI_BYTES + 1];
	json_t *head, *claims;
	size_t off = 0;
	int rc;

	if (RAND_bytes(jti, sizeof(jti)) != 1)
		return av_fail(e, AV_E_INTERNAL, "no randomness for a jti");
	audit_b64url(jti, sizeof(jti), jti64, sizeof(jti64));
	head = json_pack("{s:s, s:s, s:s}", "alg", "ES256", "typ", "JWT",
	    "kid", k->kid);
	claims = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "iss", client_id,
	    "sub", client_id, "aud", audience, "jti", jti64,
	    "iat", (json_int_t)now, "exp",
	    (json_int_t)(now + CLIENT_ASSERTION_TTL));
	/* Ours win: a configured member never replaces one. */
	if (head != NULL && extra_header != NULL)
		json_object_update_missing(head, extra_header);
	if (claims != NULL && extra_claims != NULL)
		json_object_update_missing(claims, extra_claims);
	if ((rc = put_json(head, out, len, &off)) == 0 && off + 1 < len) {
		out[off++] = '.';
		rc = put_json(claims, out, len, &off);
	} else
		rc = -1;
	json_decref(head);
	json_decref(claims);
	if (rc != 0)
		return av_fail(e, AV_E_INTERNAL, "the client assertion does "
		    "not fit in %zu bytes", len);
	if (es256_sign(k->key, out, off, sig) != 0)
		return av_fail(e, AV_E_INTERNAL, "the HSM did not sign the "
		    "client assertion with %s", k->label);
	/* '.' and 86 characters of signature, and the NUL. */
	if (off + 1 + 86 + 1 > len)
		return av_fail(e, AV_E_INTERNAL, "the client assertion does "
		    "not fit in %zu bytes", len);
	out[off++] = '.';
	audit_b64url(sig, sizeof(sig), out + off, len - off);
	return 0;
}
