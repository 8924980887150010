/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_wat.c - libFuzzer target for workload access token parsing and
 * verification: no input may crash, read out of bounds, or be accepted
 * (the fuzzer cannot forge an ES256 signature).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/evp.h>

#include "daemon/wat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct wat_keys k;
	static int ready;
	static const unsigned char tek[WAT_TEK_LEN] = { 7 };
	struct wat_claims c;
	struct av_err e;
	char *tok;

	if (!ready) {
		EVP_PKEY *key = EVP_EC_gen("P-256");

		if (key == NULL ||
		    wat_keys_init(&k, key, tek, "fuzz", 900, &e) != 0)
			abort();
		EVP_PKEY_free(key);
		ready = 1;
	}
	if ((tok = malloc(size + 1)) == NULL)
		return 0;
	memcpy(tok, data, size);
	tok[size] = '\0';
	if (wat_verify(&k, tok, 1000, &c, &e) == 0)
		abort();
	free(tok);
	return 0;
}
