/* SPDX-License-Identifier: Apache-2.0 */
/*
 * init.c - the initialisation ceremony: generate the appliance's keys in
 * the token, issue its certificates, print the inventory.
 */
#include <stdio.h>
#include <string.h>

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
