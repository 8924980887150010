/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_client.c - libFuzzer target for libagentvault's reply parsers: the
 * HTTP reply head (avc_parse_head), the secret-member scanner
 * (avc_json_secret) and GetResourceOauth2Token's reply (avc_oauth2_reply:
 * a token, or a session whose URL and URI were checked).  Any input must
 * give a clean answer and never read outside the buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/lib/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
oauth2(const char *body, size_t size, const char *asked)
{
	struct av_oauth2_result res;
	struct av_error err;
	const char *u;
	int rc;

	memset(&err, 0, sizeof(err));
	rc = avc_oauth2_reply(body, size, asked, &res, &err);
	if (rc == -1) {
		if (err.type[0] == '\0' || res.access_token != NULL ||
		    res.session_uri != NULL || res.authorization_url != NULL)
			abort();
		return;
	}
	if (rc != 0 || (res.access_token == NULL) == (res.session_uri == NULL))
		abort();
	if (res.access_token != NULL && (res.access_token[0] == '\0' ||
	    strlen(res.access_token) > size))
		abort();
	if (res.session_uri != NULL && strcmp(res.session_status,
	    "IN_PROGRESS") != 0 && strcmp(res.session_status, "FAILED") != 0)
		abort();
	if (res.session_uri != NULL && strncmp(res.session_uri,
	    AV_SESSION_URI_PREFIX, strlen(AV_SESSION_URI_PREFIX)) != 0)
		abort();
	for (u = res.authorization_url; u != NULL && *u != '\0'; u++)
		if (*u <= ' ' || *u > '~' || u - res.authorization_url >=
		    AVC_URL_MAX)
			abort();
	av_oauth2_result_free(&res);
}

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
	oauth2(copy, size, NULL);
	oauth2(copy, size, AV_SESSION_URI_PREFIX "asked");
	free(copy);
	return 0;
}
