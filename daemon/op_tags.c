/* SPDX-License-Identifier: Apache-2.0 */
/*
 * op_tags.c - TagResource, UntagResource and ListTagsForResource on
 * /tags/{resourceArn}, the ARN URL-encoded.  Taggable: workload
 * identities, API-key and OAuth2 credential providers, the token vault
 * and the workload identity directory.  A well-formed ARN that names nothing here
 * (another partition, region or account, another kind of resource, a
 * deleted one) is ResourceNotFoundException; one that is not an AgentCore
 * ARN at all is ValidationException.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "http_parse.h"

#define TAGS_PATH	"/tags/"
#define ARN_MIN		20	/* AgentCore's resourceArn */
#define ARN_MAX		1011
#define UNTAG_KEYS_MAX	200
#define KIND_API_KEY	"api-key"
#define KIND_OAUTH2	"oauth2"

/*
 * AgentCore's pattern, whole: arn:PARTITION:bedrock-agentcore:REGION:
 * ACCOUNT:TYPE/ID(/TYPE/ID)* with REGION [a-z0-9-]+, ACCOUNT twelve
 * digits, TYPE [a-z0-9-]+ (oauth2credentialprovider); here IDs are
 * printable ASCII without '/'.
 */
static bool
arn_well_formed(const char *arn)
{
	const char *p, *q;
	size_t i, n = strlen(arn);

	if (n < ARN_MIN || n > ARN_MAX || strncmp(arn, "arn:", 4) != 0)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)arn[i] <= 0x20 ||
		    (unsigned char)arn[i] >= 0x7f)
			return false;
	if ((p = strchr(arn + 4, ':')) == NULL ||
	    strncmp(p, ":bedrock-agentcore:", 19) != 0)
		return false;
	p += 19;
	for (q = p; islower((unsigned char)*q) || isdigit((unsigned char)*q) ||
	    *q == '-'; q++)
		;
	if (q == p || *q != ':')
		return false;
	p = q + 1;
	for (q = p; isdigit((unsigned char)*q); q++)
		;
	if (q - p != 12 || *q != ':')
		return false;
	for (p = q + 1;; p = q + 1) {
		for (q = p; islower((unsigned char)*q) ||
		    isdigit((unsigned char)*q) || *q == '-'; q++)
			;
		if (q == p || *q != '/')
			return false;
		p = q + 1;
		for (q = p; *q != '\0' && *q != '/'; q++)
			;
		if (q == p)
			return false;
		if (*q == '\0')
			return true;
	}
}

/*
 * The resource of /tags/{resourceArn}: decoded, checked and resolved; the
 * call's resource becomes the ARN.  *query is what follows '?', or NULL.
 */
static int
get_resource(const struct api_ctx *ctx, struct api_call *call,
    struct store_resource *r, const char **query, struct av_err *e)
{
	static const struct {
		const char		*path;	/* after the account */
		enum store_res_type	 type;
		const char		*kind;	/* a provider's */
	} kinds[] = {
		{ "token-vault/default", STORE_RES_SINGLETON, NULL },
		{ "workload-identity-directory/default", STORE_RES_SINGLETON,
		    NULL },
		{ "workload-identity-directory/default/workload-identity/",
		    STORE_RES_WI, NULL },
		{ "token-vault/default/apikeycredentialprovider/",
		    STORE_RES_PROVIDER, KIND_API_KEY },
		{ "token-vault/default/oauth2credentialprovider/",
		    STORE_RES_PROVIDER, KIND_OAUTH2 },
	};
	const struct av_appliance_config *a = &ctx->cfg->appliance;
	const char *enc = call->req->target + strlen(TAGS_PATH), *rest;
	char arn[HTTP_TARGET_MAX + 1], ours[128];
	size_t i, n;
	int len;

	*query = strchr(enc, '?');
	n = *query != NULL ? (size_t)(*query - enc) : strlen(enc);
	if (*query != NULL)
		(*query)++;
	if (http_url_decode(enc, n, false, arn, sizeof(arn)) != 0)
		return av_fail(e, AV_E_VALIDATION, "bad percent-encoding in "
		    "the resource ARN (encode '/' as %%2F)");
	if (!arn_well_formed(arn))
		return av_fail(e, AV_E_VALIDATION, "resourceArn must be an "
		    "AgentCore ARN of 20 to 1011 characters");
	snprintf(call->resource, sizeof(call->resource), "%s", arn);
	memset(r, 0, sizeof(*r));
	r->arn = call->resource;
	len = snprintf(ours, sizeof(ours), "arn:%s:bedrock-agentcore:%s:%s:",
	    a->partition, a->region, a->account);
	if (len <= 0 || (size_t)len >= sizeof(ours) ||
	    strncmp(call->resource, ours, (size_t)len) != 0)
		return av_fail(e, AV_E_NOT_FOUND, "no resource %.200s (not "
		    "this appliance's partition, region or account)", arn);
	rest = call->resource + len;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		n = strlen(kinds[i].path);
		if (kinds[i].type == STORE_RES_SINGLETON ?
		    strcmp(rest, kinds[i].path) != 0 :
		    strncmp(rest, kinds[i].path, n) != 0 ||
		    strchr(rest + n, '/') != NULL)
			continue;
		r->type = kinds[i].type;
		r->name = rest + n;
		r->kind = kinds[i].kind;
		return 0;
	}
	return av_fail(e, AV_E_NOT_FOUND, "no resource %.200s", arn);
}

/* GET and POST take no query parameters. */
static int
no_query(const char *query, struct av_err *e)
{
	if (query != NULL)
		return av_fail(e, AV_E_VALIDATION, "no query parameters are "
		    "allowed");
	return 0;
}

/* ?tagKeys=K1&tagKeys=K2...: each key URL-encoded; no other parameter. */
static int
get_tag_keys(const char *query, json_t *keys, struct av_err *e)
{
	char key[HTTP_TARGET_MAX + 1];
	const char *p = query, *end, *eq;
	size_t n;

	while (p != NULL) {
		end = strchr(p, '&');
		n = end != NULL ? (size_t)(end - p) : strlen(p);
		eq = memchr(p, '=', n);
		if (eq == NULL || (size_t)(eq - p) != 7 ||
		    strncmp(p, "tagKeys", 7) != 0)
			return av_fail(e, AV_E_VALIDATION, "the only query "
			    "parameter is tagKeys");
		if (http_url_decode(eq + 1, n - 8, true, key, sizeof(key)) != 0)
			return av_fail(e, AV_E_VALIDATION, "bad "
			    "percent-encoding in tagKeys");
		if (api_check_tag_key(key, e) != 0)
			return -1;
		if (json_array_size(keys) == UNTAG_KEYS_MAX)
			return av_fail(e, AV_E_VALIDATION, "at most %d tagKeys",
			    UNTAG_KEYS_MAX);
		json_array_append_new(keys, json_string(key));
		p = end != NULL ? end + 1 : NULL;
	}
	return 0;
}

int
op_tag_resource(struct api_ctx *ctx, struct api_call *call, json_t *in,
    json_t *out, struct av_err *e)
{
	static const char *const fields[] = { "tags", NULL };
	struct store_resource r;
	const char *query;
	json_t *tags = NULL;
	int rc;

	(void)out;
	if (get_resource(ctx, call, &r, &query, e) != 0 ||
	    no_query(query, e) != 0 || api_only_fields(in, fields, e) != 0)
		return -1;
	if (json_object_get(in, "tags") == NULL)
		return av_fail(e, AV_E_VALIDATION, "tags is required");
	if (api_get_tags(in, &tags, e) != 0)
		return -1;
	rc = api_allow(ctx, call, tags, e);
	if (rc == 0)
		rc = store_tags_add(ctx->store, &r, tags, API_TAGS_MAX, e);
	json_decref(tags);
	return rc;
}

int
op_untag_resource(struct api_ctx *ctx, struct api_call *call, json_t *in,
    json_t *out, struct av_err *e)
{
	static const char *const fields[] = { NULL };
	struct store_resource r;
	const char *query;
	json_t *keys = json_array();
	int rc = -1;

	(void)out;
	if (keys == NULL)
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	/* No tagKeys at all removes nothing: AgentCore allows 0 keys. */
	if (get_resource(ctx, call, &r, &query, e) == 0 &&
	    (query == NULL || get_tag_keys(query, keys, e) == 0) &&
	    api_only_fields(in, fields, e) == 0) {
		struct authz_request q = { .tag_keys = keys };

		if ((rc = api_authorize(ctx, call, &q, e)) == 0)
			rc = store_tags_remove(ctx->store, &r, keys, e);
	}
	json_decref(keys);
	return rc;
}

int
op_list_tags_for_resource(struct api_ctx *ctx, struct api_call *call,
    json_t *in, json_t *out, struct av_err *e)
{
	static const char *const fields[] = { NULL };
	struct store_resource r;
	const char *query;
	json_t *tags;

	if (get_resource(ctx, call, &r, &query, e) != 0 ||
	    no_query(query, e) != 0 || api_only_fields(in, fields, e) != 0 ||
	    api_allow(ctx, call, NULL, e) != 0)
		return -1;
	if ((tags = json_object()) == NULL)
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	if (store_tags_list(ctx->store, &r, tags, e) != 0) {
		json_decref(tags);
		return -1;
	}
	json_object_set_new(out, "tags", tags);
	return 0;
}
