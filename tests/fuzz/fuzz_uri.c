/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_uri.c - libFuzzer target for the "pkcs11:" URI parser (hsm/uri.c).
 *
 * Whatever parses must format, and the canonical text must parse back to
 * the very same struct and format to the very same text.  Failures must
 * be HSM_R_URI_SYNTAX with a reason.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -I hsm \
 *     -I/usr/include/p11-kit-1 tests/fuzz/fuzz_uri.c hsm/uri.c
 * Run:   ./a.out -max_len=4096 tests/fuzz/corpus/uri
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hsm.h"
#include "uri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* One byte over HSM_URI_MAX so the length limit gets exercised. */
	char text[HSM_URI_MAX + 2];
	char canon[HSM_URI_MAX + 1], again[HSM_URI_MAX + 1];
	struct hsm_uri a, b;
	const char *why;
	size_t n, clen;
	CK_RV rv;

	n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;
	memcpy(text, data, n);
	text[n] = '\0';

	why = NULL;
	rv = hsm_uri_parse(text, &a, &why);
	if (rv != CKR_OK) {
		if (rv != HSM_R_URI_SYNTAX || why == NULL)
			abort();
		return 0;
	}
	if (why != NULL)
		abort();

	/* parse(format(u)) == u, and format is idempotent. */
	if (hsm_uri_format(&a, canon, sizeof(canon)) != CKR_OK)
		abort();
	if (hsm_uri_parse(canon, &b, &why) != CKR_OK)
		abort();
	if (memcmp(&a, &b, sizeof(a)) != 0)
		abort();
	if (hsm_uri_format(&b, again, sizeof(again)) != CKR_OK)
		abort();
	if (strcmp(canon, again) != 0)
		abort();

	/* A buffer one byte short fails cleanly; an exact one works. */
	clen = strlen(canon);
	if (hsm_uri_format(&a, again, clen) != HSM_R_BAD_INPUT ||
	    again[0] != '\0')
		abort();
	if (hsm_uri_format(&a, again, clen + 1) != CKR_OK ||
	    strcmp(canon, again) != 0)
		abort();
	return 0;
}
