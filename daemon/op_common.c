/* SPDX-License-Identifier: Apache-2.0 */
/*
 * op_common.c - request checks the operations share: unknown fields,
 * tags, page tokens.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "api.h"

#define TOKEN_NAME_MAX	255
#define PAGE_DEFAULT	10	/* AgentCore's list pages */
#define PAGE_MAX	20

/* Refuse fields the operation does not know: a typo must not pass. */
int
api_only_fields(json_t *in, const char *const *allowed, struct av_err *e)
{
	const char *key;
	json_t *v;
	size_t i;

	json_object_foreach(in, key, v) {
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(key, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL)
			return av_fail(e, AV_E_VALIDATION, "unknown field "
			    "'%.64s'", key);
	}
	return 0;
}

int
api_check_tag_key(const char *key, struct av_err *e)
{
	/* The rule is config.c's, which checks principals' tags too. */
	if (av_tag_key_valid(key, strlen(key)))
		return 0;
	if (strncasecmp(key, "aws:", 4) == 0)
		return av_fail(e, AV_E_VALIDATION, "tag keys starting with "
		    "aws: are reserved");
	return av_fail(e, AV_E_VALIDATION, "tag keys are 1-128 "
	    "characters of [a-zA-Z0-9 ._:/=+@-]");
}

/*
 * Policies compare tag keys ignoring case (aws:ResourceTag/Tenant is
 * aws:ResourceTag/tenant), so a resource may not carry two keys that
 * differ only in case: the second would add a value to the first.
 */
int
api_check_tag_case(json_t *tags, const char *key, struct av_err *e)
{
	const char *other;
	json_t *v;

	json_object_foreach(tags, other, v)
		if (other != key && strcmp(other, key) != 0 &&
		    strcasecmp(other, key) == 0)
			return av_fail(e, AV_E_VALIDATION, "tag keys '%s' and "
			    "'%s' differ only in case (policies compare keys "
			    "ignoring case)", other, key);
	return 0;
}

int
api_get_tags(json_t *in, json_t **tags, struct av_err *e)
{
	json_t *v = json_object_get(in, "tags"), *t;
	const char *key;

	if (v == NULL) {
		*tags = json_object();
		return 0;
	}
	if (!json_is_object(v) || json_object_size(v) > API_TAGS_MAX)
		return av_fail(e, AV_E_VALIDATION, "tags must be a map of at "
		    "most %d entries", API_TAGS_MAX);
	json_object_foreach(v, key, t) {
		if (api_check_tag_key(key, e) != 0 ||
		    api_check_tag_case(v, key, e) != 0)
			return -1;
		if (!json_is_string(t) ||
		    !av_tag_value_valid(json_string_value(t),
		    json_string_length(t)))
			return av_fail(e, AV_E_VALIDATION, "tag values are "
			    "0-256 characters of [a-zA-Z0-9 ._:/=+@-]");
	}
	*tags = json_incref(v);
	return 0;
}

/* nextToken: the last name of the page, base64, so clients treat it as
 * opaque. */
int
api_page_token_decode(const char *token, char *name, size_t len)
{
	unsigned char buf[3 * 512 / 4 + 4];
	int n;

	if (strlen(token) > 512 || strlen(token) % 4 != 0 ||
	    (n = EVP_DecodeBlock(buf, (const unsigned char *)token,
	    (int)strlen(token))) < 0)
		return -1;
	while (n > 0 && buf[n - 1] == '\0')	/* base64 padding */
		n--;
	if ((size_t)n >= len)
		return -1;
	memcpy(name, buf, (size_t)n);
	name[n] = '\0';
	return name[0] != '\0' && strlen(name) <= TOKEN_NAME_MAX ? 0 : -1;
}

int
api_page_params(json_t *in, unsigned *max, char *after, size_t len,
    struct av_err *e)
{
	static const char *const fields[] = { "maxResults", "nextToken", NULL };
	json_t *v;

	*max = PAGE_DEFAULT;
	after[0] = '\0';
	if (api_only_fields(in, fields, e) != 0)
		return -1;
	if ((v = json_object_get(in, "maxResults")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > PAGE_MAX)
			return av_fail(e, AV_E_VALIDATION, "maxResults must "
			    "be 1 to %d", PAGE_MAX);
		*max = (unsigned)json_integer_value(v);
	}
	if ((v = json_object_get(in, "nextToken")) != NULL &&
	    (!json_is_string(v) || api_page_token_decode(json_string_value(v),
	    after, len) != 0))
		return av_fail(e, AV_E_VALIDATION, "invalid nextToken");
	return 0;
}

void
api_page_token_set(json_t *out, json_t *names)
{
	unsigned char token[4 * (TOKEN_NAME_MAX + 2) / 3 + 4];
	json_t *last = json_array_get(names, json_array_size(names) - 1);

	if (last == NULL || strlen(json_string_value(last)) > TOKEN_NAME_MAX)
		return;
	EVP_EncodeBlock(token, (const unsigned char *)json_string_value(last),
	    (int)strlen(json_string_value(last)));
	json_object_set_new(out, "nextToken", json_string((const char *)token));
}

int
api_allow(struct api_ctx *ctx, struct api_call *call, json_t *request_tags,
    struct av_err *e)
{
	struct authz_request q = { .request_tags = request_tags };

	return api_authorize(ctx, call, &q, e);
}

int
api_directory_arn(const struct api_ctx *ctx, char *buf, size_t len)
{
	const struct av_appliance_config *a = &ctx->cfg->appliance;
	int n;

	n = snprintf(buf, len, "arn:%s:bedrock-agentcore:%s:%s:"
	    "workload-identity-directory/default", a->partition, a->region,
	    a->account);
	return n > 0 && (size_t)n < len ? 0 : -1;
}

int
api_vault_arn(const struct api_ctx *ctx, char *buf, size_t len)
{
	const struct av_appliance_config *a = &ctx->cfg->appliance;
	int n;

	n = snprintf(buf, len, "arn:%s:bedrock-agentcore:%s:%s:"
	    "token-vault/default", a->partition, a->region, a->account);
	return n > 0 && (size_t)n < len ? 0 : -1;
}

static int
arn_of(const struct api_ctx *ctx, const char *type, const char *name,
    char *buf, size_t len)
{
	const struct av_appliance_config *a = &ctx->cfg->appliance;
	int n;

	n = snprintf(buf, len, "arn:%s:bedrock-agentcore:%s:%s:%s%s%s",
	    a->partition, a->region, a->account, type, name != NULL ? "/" : "",
	    name != NULL ? name : "");
	return n > 0 && (size_t)n < len ? 0 : -1;
}

int
api_policy_arn(const struct api_ctx *ctx, const char *name, char *buf,
    size_t len)
{
	return arn_of(ctx, "policy", name, buf, len);
}

int
api_principal_arn(const struct api_ctx *ctx, const char *name, char *buf,
    size_t len)
{
	return arn_of(ctx, "principal", name, buf, len);
}

int
api_get_name(json_t *in, const char *f, size_t max, const char **name,
    struct av_err *e)
{
	json_t *v = json_object_get(in, f);
	size_t n;

	if (v == NULL || !json_is_string(v))
		return av_fail(e, AV_E_VALIDATION, "%s is required", f);
	n = json_string_length(v);
	if (n == 0 || n > max || strspn(json_string_value(v),
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._-") != n)
		return av_fail(e, AV_E_VALIDATION, "%s must be 1 to %zu "
		    "characters of [A-Za-z0-9._-]", f, max);
	*name = json_string_value(v);
	return 0;
}

int
api_provider_arn(const struct api_ctx *ctx, const char *type,
    const char *name, char *buf, size_t len)
{
	const struct av_appliance_config *a = &ctx->cfg->appliance;
	int n;

	n = snprintf(buf, len, "arn:%s:bedrock-agentcore:%s:%s:token-vault/"
	    "default/%s/%s", a->partition, a->region, a->account, type, name);
	return n > 0 && (size_t)n < len ? 0 : -1;
}

/* AgentCore: 1 to 128 characters of [a-zA-Z0-9-_]. */
bool
api_provider_name_valid(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > API_PROVIDER_NAME_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return false;
	return true;
}

int
api_get_provider_name(const struct api_ctx *ctx, struct api_call *call,
    const char *type, json_t *in, const char **name, struct av_err *e)
{
	json_t *v = json_object_get(in, "name");

	if (v == NULL || !json_is_string(v))
		return av_fail(e, AV_E_VALIDATION, "name is required");
	if (!api_provider_name_valid(json_string_value(v)))
		return av_fail(e, AV_E_VALIDATION, "name must be 1 to 128 "
		    "characters of [a-zA-Z0-9-_]");
	*name = json_string_value(v);
	return api_provider_arn(ctx, type, *name, call->resource,
	    sizeof(call->resource));
}
