/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_http.c - libFuzzer target for the HTTP request-head parser, the
 * percent-decoder, the query parser and the form parser: any input must
 * give a consistent answer and never read or write outside the buffers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/http_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request_head r, r2;
	const char *why = NULL;
	char *copy;
	int rc, rc2;

	/* An exact-size heap copy, so ASan sees any over-read. */
	if ((copy = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	rc = http_parse_head(copy, size, 4096, 65536, &r, &why);
	if (rc == HTTP_PARSE_ERROR && (why == NULL || r.status < 400))
		abort();
	if (rc == HTTP_PARSE_OK) {
		if (r.head_len == 0 || r.head_len > size ||
		    r.content_length > 65536)
			abort();
		/* The same head alone parses the same way. */
		rc2 = http_parse_head(copy, r.head_len, 4096, 65536, &r2, &why);
		if (rc2 != HTTP_PARSE_OK || memcmp(&r, &r2, sizeof(r)) != 0)
			abort();
	}
	/* Decoding never grows the text. */
	{
		char out[256];
		int q;

		for (q = 0; q < 2; q++)
			if (http_url_decode(copy, size, q, out, sizeof(out)) ==
			    0 && strlen(out) > size)
				abort();
	}
	/* A query: every pair found again, no name twice. */
	{
		struct http_query q;
		char *t;
		size_t i;

		if ((t = malloc(size + 1)) == NULL) {
			free(copy);
			return 0;
		}
		memcpy(t, data, size);
		t[size] = '\0';
		if (http_query_parse(t, &q, &why) == 0)
			for (i = 0; i < q.n; i++)
				if (http_query_get(&q, q.p[i].name) !=
				    q.p[i].value || strlen(q.p[i].value) >
				    HTTP_QUERY_VALUE_MAX)
					abort();
		free(t);
	}
	/* A form: every pair found again, no name twice, nothing longer
	 * than the body. */
	{
		struct http_form f;
		size_t i;

		if (http_form_parse(copy, size, &f, &why) == 0)
			for (i = 0; i < f.n; i++)
				if (http_form_get(&f, f.p[i].name) !=
				    f.p[i].value || strlen(f.p[i].value) > size)
					abort();
		http_form_free(&f);
	}
	free(copy);
	return 0;
}
