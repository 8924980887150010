/* SPDX-License-Identifier: Apache-2.0 */
/*
 * err.c - the one error convention: return 0, or -1 with struct av_error
 * filled, either from the API's error body or with a local class.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

int
avc_fail(struct av_error *err, const char *type, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	memset(err, 0, sizeof(*err));
	snprintf(err->type, sizeof(err->type), "%s", type);
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -1;
}

void
avc_clear(struct av_error *err)
{
	if (err != NULL)
		memset(err, 0, sizeof(*err));
}

/*
 * A reply other than 200: {"__type": ..., "message": ...}.  A namespace
 * prefix ("com.example#ValidationException") is dropped, as AWS SDKs do.
 */
int
avc_api_error(av_handle *h, const struct avc_reply *r, struct av_error *err)
{
	const char *type = NULL, *msg = NULL, *hash;
	json_t *doc;

	doc = json_loadb(r->body, r->len, JSON_REJECT_DUPLICATES, NULL);
	if (json_is_object(doc)) {
		type = json_string_value(json_object_get(doc, "__type"));
		msg = json_string_value(json_object_get(doc, "message"));
	}
	if (type == NULL || *type == '\0') {
		json_decref(doc);
		return avc_fail(err, AV_PROTOCOL_ERROR, "HTTP status %d "
		    "without an API error in the body", r->status);
	}
	if ((hash = strrchr(type, '#')) != NULL)
		type = hash + 1;
	avc_fail(err, type, "%s", msg != NULL ? msg : "");
	if (err != NULL) {
		err->status = r->status;
		memcpy(err->request_id, h->request_id, sizeof(err->request_id));
	}
	json_decref(doc);
	return -1;
}
