/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oauthkey.c - keys for private_key_jwt client authentication: a key
 * pair made in the token, whose public JWK the operator registers at the
 * identity provider; agentvaultd signs client assertions with it.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "ceremony.h"

#define KEY_ID_LEN 16

int
cer_oauth_client_key(const struct cer_opts *o, bool create)
{
	const struct cer_role r = { o->label, HSM_KEY_EC_P256,
	    "signs private_key_jwt client assertions" };
	unsigned char id[KEY_ID_LEN];
	char sel[HSM_URI_BUF], jwk[HSM_JWK_MAX], kid[HSM_JWK_KID_LEN + 1];
	struct hsm_pubkey pub;
	struct hsm_key k;
	struct hsm *h;
	int rc = 1;
	CK_RV rv;

	if (r.label == NULL || !cer_label_ok(r.label) ||
	    strncmp(r.label, CER_LABEL_OAUTH_CLIENT,
	    strlen(CER_LABEL_OAUTH_CLIENT)) != 0 ||
	    strlen(r.label) == strlen(CER_LABEL_OAUTH_CLIENT)) {
		fprintf(stderr, "agentvault-ceremony: --label takes "
		    CER_LABEL_OAUTH_CLIENT "NAME, at most %d of letters, "
		    "digits, '.', '_' or '-'\n", CER_LABEL_MAX);
		return 2;
	}
	if ((h = cer_open(o)) == NULL)
		return 1;
	if (create) {
		if (RAND_bytes(id, sizeof(id)) != 1) {
			cer_fail("random key id", HSM_R_OPENSSL);
			goto done;
		}
		/* HSM_R_EXISTS when the label is taken: never replaced. */
		if ((rv = hsm_generate_ec_p256(h, r.label, id, sizeof(id),
		    &k)) != CKR_OK) {
			cer_fail(r.label, rv);
			goto done;
		}
	} else {
		snprintf(sel, sizeof(sel), "pkcs11:object=%s;type=private",
		    r.label);
		if ((rv = hsm_find_key(h, sel, CKO_PRIVATE_KEY, &k)) !=
		    CKR_OK) {
			cer_fail(r.label, rv);
			goto done;
		}
	}
	if ((rv = hsm_pubkey_read(h, &k, &pub)) != CKR_OK ||
	    (rv = hsm_pubkey_jwk(&pub, jwk, sizeof(jwk), kid)) != CKR_OK) {
		cer_fail(r.label, rv);
		goto done;
	}
	printf("%s OAuth client key in token \"%s\" (serial %s)\n",
	    create ? "New" : "The", hsm_token_label(h), hsm_token_serial(h));
	if (cer_print_key(h, &r) != 0)
		goto done;
	printf("    kid: %s  (RFC 7638 thumbprint)\n\n"
	    "Public JWK, to register at the identity provider as the client's "
	    "key:\n%s\n\n"
	    "agentvaultd loads the key when it starts or reloads (SIGHUP); a "
	    "provider uses it with\n"
	    "  \"clientAuthenticationMethod\": \"PRIVATE_KEY_JWT\",\n"
	    "  \"privateKeyJwtConfig\": {\"privateKeySource\": "
	    "{\"hsmKeySource\": {\"keyLabel\": \"%s\"}}}\n", kid, jwk, r.label);
	rc = 0;
done:
	hsm_close(h);
	return rc;
}
