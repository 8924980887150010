/* SPDX-License-Identifier: Apache-2.0 */
/*
 * inventory.c - the appliance's keys, by role, and what the token says of
 * each: URI, protection attributes, key check value, fingerprint.
 */
#include <stdio.h>

#include <openssl/crypto.h>

#include "ceremony.h"

const struct cer_role cer_roles[] = {
	{ CER_LABEL_KEK, HSM_KEY_AES, "vault KEK: wraps the data keys" },
	{ CER_LABEL_TOKEN_SIGNING, HSM_KEY_EC_P256,
	    "signs workload and agent access tokens" },
	{ CER_LABEL_TLS, HSM_KEY_EC_P256, "TLS server key" },
	{ "agentvault-audit", HSM_KEY_EC_P256,
	    "signs audit checkpoints and ceremony transcripts" },
	{ CER_LABEL_CA, HSM_KEY_EC_P256,
	    "appliance CA: issues the TLS certificate" },
};
const size_t cer_nroles = sizeof(cer_roles) / sizeof(cer_roles[0]);

static void
print_hex(const unsigned char *p, size_t n, const char *sep)
{
	size_t i;

	for (i = 0; i < n; i++)
		printf("%s%02X", i > 0 ? sep : "", p[i]);
}

static void
print_flags(struct hsm *h, const struct hsm_key *k)
{
	static const struct {
		CK_ATTRIBUTE_TYPE	 attr;
		const char		*name;
	} flags[] = {
		{ CKA_SENSITIVE, "sensitive" },
		{ CKA_ALWAYS_SENSITIVE, "always-sensitive" },
		{ CKA_EXTRACTABLE, "EXTRACTABLE" },
		{ CKA_NEVER_EXTRACTABLE, "never-extractable" },
		{ CKA_LOCAL, "generated-in-token" },
		{ CKA_WRAP, "wrap" },
		{ CKA_UNWRAP, "unwrap" },
		{ CKA_SIGN, "sign" },
		{ CKA_ENCRYPT, "ENCRYPT" },
		{ CKA_DECRYPT, "DECRYPT" },
	};
	size_t i;
	bool b;

	printf("    attributes:");
	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (hsm_get_bool(h, k->handle, flags[i].attr, &b) == CKR_OK &&
		    b)
			printf(" %s", flags[i].name);
	printf("\n");
}

int
cer_print_key(struct hsm *h, const struct cer_role *r)
{
	struct hsm_key k;
	struct hsm_pubkey pub;
	unsigned char kcv[HSM_KCV_LEN], fp[32];
	char uri[512], sel[256];
	CK_RV rv;

	snprintf(sel, sizeof(sel), "pkcs11:object=%s", r->label);
	rv = hsm_find_key(h, sel, r->kind == HSM_KEY_AES ? CKO_SECRET_KEY :
	    CKO_PRIVATE_KEY, &k);
	if (rv != CKR_OK) {
		printf("  %-26s MISSING (%s)\n", r->label, hsm_rv_name(rv));
		return 1;
	}
	printf("  %-26s %s  - %s\n", r->label,
	    r->kind == HSM_KEY_AES ? "AES-256 " : "EC P-256", r->use);
	if (hsm_key_uri(h, &k, uri, sizeof(uri)) == CKR_OK)
		printf("    uri: %s\n", uri);
	print_flags(h, &k);
	if ((rv = hsm_key_check_value(h, &k, kcv)) == CKR_OK) {
		printf("    kcv: ");
		print_hex(kcv, sizeof(kcv), "");
		printf("%s\n", r->kind == HSM_KEY_AES ?
		    "  (AES-ECB of a zero block)" : "  (SHA-256 of the SPKI)");
	} else {
		printf("    kcv: unavailable (%s)\n", hsm_rv_name(rv));
	}
	if (r->kind != HSM_KEY_AES && hsm_pubkey_read(h, &k, &pub) == CKR_OK &&
	    hsm_pubkey_fingerprint(&pub, fp) == CKR_OK) {
		printf("    public key SHA-256: ");
		print_hex(fp, sizeof(fp), ":");
		printf("\n");
	}
	return 0;
}

int
cer_print_inventory(struct hsm *h)
{
	size_t i;
	int missing = 0;

	printf("Key inventory of token \"%s\" (serial %s)\n",
	    hsm_token_label(h), hsm_token_serial(h));
	printf("  data keys are wrapped with %s\n", hsm_wrap_mechanism_name(h));
	for (i = 0; i < cer_nroles; i++)
		missing += cer_print_key(h, &cer_roles[i]);
	return missing == 0 ? 0 : 1;
}

int
cer_inventory(const struct cer_opts *o)
{
	struct hsm *h;
	int rc;

	if ((h = cer_open(o)) == NULL)
		return 1;
	rc = cer_print_inventory(h);
	hsm_close(h);
	return rc;
}
