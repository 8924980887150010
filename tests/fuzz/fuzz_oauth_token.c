/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_oauth_token.c - libFuzzer target for the token endpoint answer
 * parser (oauth_response_parse): the first byte picks the status, the
 * content type and the quirks, the rest is the body.  No input may
 * crash, leak or read out of bounds; a success has an access token and a
 * sane lifetime, a failure a message without the answer in it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/oauth_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const types[] = { "application/json",
	    "application/x-www-form-urlencoded", "application/json; "
	    "charset=utf-8", NULL };
	static const long statuses[] = { 200, 200, 400, 401, 500, 201, 302,
	    503 };
	struct oauth_token t;
	struct av_err e = { NULL, "" };
	char oerr[OAUTH_ERROR_MAX + 1];
	unsigned quirks;
	char *body;
	int rc;

	if (size < 1)
		return 0;
	quirks = (data[0] >> 5) & 0x7;
	/* A copy without slack: the parser must stay within size - 1. */
	if ((body = malloc(size - 1 + 1)) == NULL)
		return 0;
	memcpy(body, data + 1, size - 1);
	body[size - 1] = '\0';
	rc = oauth_response_parse(statuses[data[0] & 0x7],
	    types[(data[0] >> 3) & 0x3], body, size - 1, quirks, &t, oerr, &e);
	if (rc == 0) {
		if (t.access == NULL || t.access_len == 0 ||
		    strlen(t.access) != t.access_len ||
		    (t.expires_in != -1 && (t.expires_in < 1 ||
		    t.expires_in > OAUTH_LIFETIME_MAX)))
			abort();
		oauth_token_clear(&t);
	} else if (e.type == NULL || strlen(oerr) > OAUTH_ERROR_MAX ||
	    strspn(oerr, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_.-") != strlen(oerr))
		abort();
	free(body);
	return 0;
}
