/* SPDX-License-Identifier: Apache-2.0 */
/*
 * init.c - the initialisation ceremony: generate the appliance's keys in
 * the token, issue its certificates, print the inventory.  And a new
 * token-signing key, for a rotation.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "ceremony.h"

#define KEY_ID_LEN 16

/* Which of the appliance's labels are already taken. */
static int
existing_keys(struct hsm *h, bool *any)
{
	struct hsm_key k;
	char sel[256];
	size_t i;
	CK_RV rv;

	*any = false;
	for (i = 0; i < cer_nroles; i++) {
		snprintf(sel, sizeof(sel), "pkcs11:object=%s",
		    cer_roles[i].label);
		rv = hsm_find_key(h, sel, CK_UNAVAILABLE_INFORMATION, &k);
		if (rv == CKR_OK || rv == HSM_R_AMBIGUOUS) {
			fprintf(stderr, "agentvault-ceremony: key %s exists\n",
			    cer_roles[i].label);
			*any = true;
		} else if (rv != HSM_R_NOT_FOUND) {
			return cer_fail(cer_roles[i].label, rv);
		}
	}
	return 0;
}

static int
generate(struct hsm *h, const struct cer_role *r)
{
	unsigned char id[KEY_ID_LEN];
	struct hsm_key k;
	CK_RV rv;

	if (RAND_bytes(id, sizeof(id)) != 1)
		return cer_fail("random key id", HSM_R_OPENSSL);
	if (r->kind == HSM_KEY_AES)
		rv = hsm_generate_kek(h, r->label, id, sizeof(id), &k);
	else
		rv = hsm_generate_ec_p256(h, r->label, id, sizeof(id), &k);
	if (rv != CKR_OK)
		return cer_fail(r->label, rv);
	if (r->kind == HSM_KEY_AES) {
		const char *why = NULL;

		if ((rv = hsm_kek_check(h, &k, &why)) != CKR_OK) {
			fprintf(stderr, "agentvault-ceremony: the new KEK "
			    "fails its check: %s\n", why ? why : "?");
			return 1;
		}
	}
	return 0;
}

int
cer_init(const struct cer_opts *o)
{
	struct hsm *h;
	bool any;
	size_t i;
	int rc = 1;

	if ((h = cer_open(o)) == NULL)
		return 1;
	if (existing_keys(h, &any) != 0)
		goto done;
	if (any && !o->force) {
		fprintf(stderr, "agentvault-ceremony: refusing to replace "
		    "existing keys (their data would be lost); give --force "
		    "to destroy and regenerate them\n");
		goto done;
	}
	for (i = 0; i < cer_nroles; i++) {
		CK_RV rv;

		if (any && (rv = hsm_destroy_label(h, cer_roles[i].label)) !=
		    CKR_OK) {
			cer_fail(cer_roles[i].label, rv);
			goto done;
		}
		if (generate(h, &cer_roles[i]) != 0)
			goto done;
	}
	if (cer_issue_certs(h, o) != 0)
		goto done;
	rc = cer_print_inventory(h);
done:
	hsm_close(h);
	return rc;
}

/*
 * A new token-signing key beside the current one.  The daemon signs with
 * it once hsm.token_signing_key names it (at a reload or restart) and
 * keeps accepting the previous key's tokens until they expire.
 */
int
cer_rotate_token_key(const struct cer_opts *o)
{
	struct cer_role r = { o->label, HSM_KEY_EC_P256,
	    "signs workload access tokens (new)" };
	unsigned char id[KEY_ID_LEN], fp[32];
	char label[80], uri[HSM_URI_BUF];
	struct hsm_pubkey pub;
	struct hsm_key k;
	struct hsm *h;
	struct tm tm;
	time_t now = time(NULL);
	size_t i;
	int rc = 1;
	CK_RV rv;

	if (r.label == NULL) {
		gmtime_r(&now, &tm);
		strftime(label, sizeof(label),
		    CER_LABEL_TOKEN_SIGNING "-%Y%m%dT%H%M%SZ", &tm);
		r.label = label;
	}
	if (!cer_label_ok(r.label)) {
		fprintf(stderr, "agentvault-ceremony: --label takes 1 to 64 "
		    "letters, digits, '.', '_' or '-'\n");
		return 2;
	}
	if ((h = cer_open(o)) == NULL)
		return 1;
	if (RAND_bytes(id, sizeof(id)) != 1) {
		cer_fail("random key id", HSM_R_OPENSSL);
		goto done;
	}
	if ((rv = hsm_generate_ec_p256(h, r.label, id, sizeof(id), &k)) !=
	    CKR_OK || (rv = hsm_key_uri(h, &k, uri, sizeof(uri))) != CKR_OK ||
	    (rv = hsm_pubkey_read(h, &k, &pub)) != CKR_OK ||
	    (rv = hsm_pubkey_fingerprint(&pub, fp)) != CKR_OK) {
		cer_fail(r.label, rv);
		goto done;
	}
	printf("New token-signing key in token \"%s\" (serial %s)\n",
	    hsm_token_label(h), hsm_token_serial(h));
	if (cer_print_key(h, &r) != 0)
		goto done;
	/* The kid tokens carry: the first 8 bytes of the SHA-256 above. */
	printf("    kid: ");
	for (i = 0; i < 8; i++)
		printf("%02X", fp[i]);
	printf("\n\nTo sign with it, set in the daemon's configuration\n"
	    "  hsm:\n    token_signing_key: \"%s\"\n"
	    "and reload it.  Tokens of the previous key are accepted until "
	    "they expire.\n", uri);
	rc = 0;
done:
	hsm_close(h);
	return rc;
}
