/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_client.c - libFuzzer target for libagentvault's two reply parsers:
 * the HTTP reply head (avc_parse_head) and the secret-member scanner
 * (avc_json_secret).  Any input must give a clean answer and never read
 * outside the buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/lib/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct av_error err;
	struct avc_reply r;
	av_handle h;
	const char *end;
	size_t clen = 0, n;
	bool close_after;
	char *copy, *secret;
	int rc;

	/* Exactly the bytes, plus the NUL read_reply keeps after them. */
	if ((copy = malloc(size + 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';

	n = size < AVC_HEAD_MAX ? size : AVC_HEAD_MAX;
	if ((end = memmem(copy, n, "\r\n\r\n", 4)) != NULL) {
		memset(&h, 0, sizeof(h));
		memset(&r, 0, sizeof(r));
		memset(&err, 0, sizeof(err));
		h.buf = copy;
		h.cap = size + 1;
		rc = avc_parse_head(&h, (size_t)(end - copy) + 4, &r, &clen,
		    &close_after, &err);
		if (rc != 0 && rc != -1)
			abort();
		if (rc == 0 && (r.status < 100 || r.status > 599 ||
		    clen > 999999999 || strlen(h.request_id) >=
		    sizeof(h.request_id)))
			abort();
		if (rc == -1 && err.type[0] == '\0')
			abort();
	}

	memset(&err, 0, sizeof(err));
	rc = avc_json_secret(copy, size, "apiKey", &secret, &err);
	if (rc == 0) {
		if (secret == NULL || strlen(secret) > size)
			abort();
		av_secret_free(secret);
	} else if (rc != 1 && rc != -1)
		abort();
	free(copy);
	return 0;
}
