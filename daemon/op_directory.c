/* SPDX-License-Identifier: Apache-2.0 */
/*
 * op_directory.c - the workload identity directory: Create, Get, Update,
 * Delete and List WorkloadIdentities, with AgentCore's field names, limits
 * and ARNs (arn:PARTITION:bedrock-agentcore:REGION:ACCOUNT:
 * workload-identity-directory/default/workload-identity/NAME).
 *
 * A service (a runtime or gateway principal, config.h) creates
 * identities managed by it, and sees, changes and deletes only those: the
 * others are AccessDeniedException (names are one namespace, which
 * Create's ConflictException shows anyway) and are left out of its lists.
 * Other callers act on every identity their policies allow.  managedBy
 * names the managing service.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "authorizer.h"

#define NAME_MIN	3
#define NAME_MAX_LEN	255
#define URL_MAX		2048
#define URLS_MAX	100

int
api_wi_arn(const struct api_ctx *ctx, const char *name, char *buf, size_t len)
{
	const struct av_appliance_config *a = &ctx->cfg->appliance;
	int n;

	n = snprintf(buf, len, "arn:%s:bedrock-agentcore:%s:%s:"
	    "workload-identity-directory/default/workload-identity/%s",
	    a->partition, a->region, a->account, name);
	return n > 0 && (size_t)n < len ? 0 : -1;
}

static bool
valid_name(const char *s)
{
	size_t i, n = strlen(s);

	if (n < NAME_MIN || n > NAME_MAX_LEN)
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' &&
		    s[i] != '.' && s[i] != '-')
			return false;
	return true;
}

/* AgentCore's pattern \w+:(\/?\/?)[^\s]+, 1..2048 characters. */
static bool
valid_url(const char *s)
{
	size_t i = 0, n = strlen(s);

	if (n == 0 || n > URL_MAX)
		return false;
	while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '_'))
		i++;
	if (i == 0 || i >= n || s[i++] != ':')
		return false;
	if (i < n && s[i] == '/')
		i++;
	if (i < n && s[i] == '/')
		i++;
	if (i >= n)
		return false;
	for (; i < n; i++)
		if (isspace((unsigned char)s[i]) || (unsigned char)s[i] < 0x21)
			return false;
	return true;
}

/* The name, validated; the call's resource becomes its ARN. */
static int
get_name(const struct api_ctx *ctx, struct api_call *call, json_t *in,
    const char **name, struct av_err *e)
{
	json_t *v = json_object_get(in, "name");

	if (v == NULL || !json_is_string(v))
		return av_fail(e, AV_E_VALIDATION, "name is required");
	if (!valid_name(json_string_value(v)))
		return av_fail(e, AV_E_VALIDATION, "name must be 3 to 255 "
		    "characters of [A-Za-z0-9_.-]");
	*name = json_string_value(v);
	return api_wi_arn(ctx, *name, call->resource, sizeof(call->resource));
}

static int
get_urls(json_t *in, json_t **urls, struct av_err *e)
{
	json_t *v = json_object_get(in, "allowedResourceOauth2ReturnUrls"), *u;
	size_t i;

	if (v == NULL) {
		*urls = json_array();
		return 0;
	}
	if (!json_is_array(v) || json_array_size(v) > URLS_MAX)
		return av_fail(e, AV_E_VALIDATION, "allowedResourceOauth2"
		    "ReturnUrls must be a list of at most %d URLs", URLS_MAX);
	json_array_foreach(v, i, u)
		if (!json_is_string(u) || !valid_url(json_string_value(u)))
			return av_fail(e, AV_E_VALIDATION, "allowedResource"
			    "Oauth2ReturnUrls[%zu] is not a valid URL", i);
	*urls = json_incref(v);
	return 0;
}

/* authorizerConfiguration: checked, as stored (NULL: absent). */
static int
get_authorizer(const struct api_ctx *ctx, json_t *in, json_t **out,
    struct av_err *e)
{
	json_t *v = json_object_get(in, "authorizerConfiguration");

	*out = NULL;
	if (v == NULL)
		return 0;
	return authorizer_config_check(v,
	    ctx->cfg->outbound.allow_http_loopback, out, e);
}

static void
describe(struct api_ctx *ctx, const struct wi_record *r, json_t *out,
    bool full)
{
	char arn[512];

	api_wi_arn(ctx, r->name, arn, sizeof(arn));
	json_object_set_new(out, "name", json_string(r->name));
	json_object_set_new(out, "workloadIdentityArn", json_string(arn));
	json_object_set(out, "allowedResourceOauth2ReturnUrls", r->urls);
	if (r->managed_by[0] != '\0')
		json_object_set_new(out, "managedBy",
		    json_string(r->managed_by));
	if (r->authorizer != NULL)
		json_object_set(out, "authorizerConfiguration", r->authorizer);
	if (full) {
		json_object_set_new(out, "createdTime",
		    json_integer(r->created));
		json_object_set_new(out, "lastUpdatedTime",
		    json_integer(r->updated));
	}
}

int
op_create_workload_identity(struct api_ctx *ctx, struct api_call *call,
    json_t *in, json_t *out, struct av_err *e)
{
	static const char *const fields[] = { "name",
	    "allowedResourceOauth2ReturnUrls", "authorizerConfiguration",
	    "tags", NULL };
	json_t *urls = NULL, *tags = NULL, *authz = NULL;
	struct wi_record r;
	const char *name;
	int rc = -1;

	if (api_only_fields(in, fields, e) != 0 ||
	    get_name(ctx, call, in, &name, e) != 0 ||
	    get_urls(in, &urls, e) != 0 ||
	    get_authorizer(ctx, in, &authz, e) != 0 ||
	    api_get_tags(in, &tags, e) != 0 ||
	    api_allow(ctx, call, tags, e) != 0)
		goto done;
	if (store_wi_create(ctx->store, name, call->service != NULL ?
	    call->service : "", call->resource, urls, authz, tags,
	    ctx->cfg->quotas.workload_identities, e) != 0 ||
	    store_wi_get(ctx->store, name, NULL, &r, e) != 0)
		goto done;
	describe(ctx, &r, out, false);
	json_decref(r.urls);
	json_decref(r.authorizer);
	rc = 0;
done:
	json_decref(urls);
	json_decref(authz);
	json_decref(tags);
	return rc;
}

int
op_get_workload_identity(struct api_ctx *ctx, struct api_call *call,
    json_t *in, json_t *out, struct av_err *e)
{
	static const char *const fields[] = { "name", NULL };
	struct wi_record r;
	const char *name;

	if (api_only_fields(in, fields, e) != 0 ||
	    get_name(ctx, call, in, &name, e) != 0 ||
	    api_allow(ctx, call, NULL, e) != 0 ||
	    store_wi_get(ctx->store, name, call->service, &r, e) != 0)
		return -1;
	describe(ctx, &r, out, true);
	json_decref(r.urls);
	json_decref(r.authorizer);
	return 0;
}

int
op_update_workload_identity(struct api_ctx *ctx, struct api_call *call,
    json_t *in, json_t *out, struct av_err *e)
{
	static const char *const fields[] = { "name",
	    "allowedResourceOauth2ReturnUrls", "authorizerConfiguration",
	    NULL };
	json_t *urls = NULL, *authz = NULL;
	struct wi_record r;
	const char *name;
	int rc = -1;

	/* As the return URLs, the authorizer is replaced: absent, none. */
	if (api_only_fields(in, fields, e) != 0 ||
	    get_name(ctx, call, in, &name, e) != 0 ||
	    get_urls(in, &urls, e) != 0 ||
	    get_authorizer(ctx, in, &authz, e) != 0 ||
	    api_allow(ctx, call, NULL, e) != 0 ||
	    store_wi_update(ctx->store, name, call->service, urls, authz,
	    e) != 0 ||
	    store_wi_get(ctx->store, name, NULL, &r, e) != 0)
		goto done;
	describe(ctx, &r, out, true);
	json_decref(r.urls);
	json_decref(r.authorizer);
	rc = 0;
done:
	json_decref(urls);
	json_decref(authz);
	return rc;
}

int
op_delete_workload_identity(struct api_ctx *ctx, struct api_call *call,
    json_t *in, json_t *out, struct av_err *e)
{
	static const char *const fields[] = { "name", NULL };
	const char *name;

	(void)out;
	if (api_only_fields(in, fields, e) != 0 ||
	    get_name(ctx, call, in, &name, e) != 0 ||
	    api_allow(ctx, call, NULL, e) != 0)
		return -1;
	return store_wi_delete(ctx->store, ctx->vault, name, call->service,
	    call->resource, e);
}

int
op_list_workload_identities(struct api_ctx *ctx, struct api_call *call,
    json_t *in, json_t *out, struct av_err *e)
{
	json_t *names = json_array(), *managers = json_array();
	json_t *list = json_array(), *n, *entry, *m;
	char after[NAME_MAX_LEN + 1], arn[512];
	bool more = false;
	unsigned max;
	size_t i;
	int rc = -1;

	if (api_page_params(in, &max, after, sizeof(after), e) != 0)
		goto done;
	if (after[0] != '\0' && !valid_name(after)) {
		av_fail(e, AV_E_VALIDATION, "invalid nextToken");
		goto done;
	}
	api_directory_arn(ctx, call->resource, sizeof(call->resource));
	if (api_allow(ctx, call, NULL, e) != 0)
		goto done;
	if (store_wi_list(ctx->store, call->service, after, max, names,
	    managers, &more, e) != 0)
		goto done;
	json_array_foreach(names, i, n) {
		api_wi_arn(ctx, json_string_value(n), arn, sizeof(arn));
		entry = json_pack("{s:O, s:s}", "name", n,
		    "workloadIdentityArn", arn);
		m = json_array_get(managers, i);
		if (entry != NULL && json_string_length(m) > 0)
			json_object_set(entry, "managedBy", m);
		json_array_append_new(list, entry);
	}
	json_object_set(out, "workloadIdentities", list);
	if (more)
		api_page_token_set(out, names);
	rc = 0;
done:
	json_decref(names);
	json_decref(managers);
	json_decref(list);
	return rc;
}
