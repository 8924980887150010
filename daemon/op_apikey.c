/* SPDX-License-Identifier: Apache-2.0 */
/*
 * op_apikey.c - API-key credential providers: Create, Get, Update, Delete
 * and List.  The key is write-only: sealed on the way in (its own data
 * key under the vault KEK), never in a response, a log or the audit trail.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "api.h"

#define KIND		"api-key"
#define KEY_MAX		65536

/* The key, in place in the request; wiped by the caller when done. */
static int
get_key(json_t *in, json_t **key, struct av_err *e)
{
	json_t *v = json_object_get(in, "apiKey");
	size_t n;

	if (v == NULL || !json_is_string(v))
		return av_fail(e, AV_E_VALIDATION, "apiKey is required");
	n = json_string_length(v);
	if (n == 0 || n > KEY_MAX || strlen(json_string_value(v)) != n)
		return av_fail(e, AV_E_VALIDATION, "apiKey must be 1 to %d "
		    "characters", KEY_MAX);
	*key = v;
	return 0;
}

/* jansson keeps its own copy of the key: wipe it before it is freed. */
static void
wipe_key(json_t *key)
{
	if (key != NULL)
		OPENSSL_cleanse((char *)json_string_value(key),
		    json_string_length(key));
}

static void
describe(const struct api_call *call, const char *name, int64_t created,
    int64_t updated, json_t *out)
{
	char secret[1100];

	snprintf(secret, sizeof(secret), "%s/secret", call->resource);
	json_object_set_new(out, "name", json_string(name));
	json_object_set_new(out, "credentialProviderArn",
	    json_string(call->resource));
	json_object_set_new(out, "apiKeySecretArn",
	    json_pack("{s:s}", "secretArn", secret));
	if (created > 0) {
		json_object_set_new(out, "createdTime", json_integer(created));
		json_object_set_new(out, "lastUpdatedTime",
		    json_integer(updated));
	}
}

int
op_create_api_key_provider(struct api_ctx *ctx, struct api_call *call,
    json_t *in, json_t *out, struct av_err *e)
{
	static const char *const fields[] = { "name", "apiKey", "tags", NULL };
	json_t *key = NULL, *tags = NULL;
	const char *name;
	int rc = -1;

	if (api_only_fields(in, fields, e) != 0 ||
	    api_get_provider_name(ctx, call, API_PROVIDER_APIKEY, in, &name,
	    e) != 0 ||
	    get_key(in, &key, e) != 0 || api_get_tags(in, &tags, e) != 0 ||
	    api_allow(ctx, call, tags, e) != 0)
		goto done;
	if (store_provider_create(ctx->store, ctx->vault, KIND, name,
	    call->resource, NULL, (const uint8_t *)json_string_value(key),
	    json_string_length(key), tags, ctx->cfg->quotas.api_key_providers,
	    e) != 0)
		goto done;
	describe(call, name, 0, 0, out);
	rc = 0;
done:
	wipe_key(key);
	json_decref(tags);
	return rc;
}

int
op_get_api_key_provider(struct api_ctx *ctx, struct api_call *call,
    json_t *in, json_t *out, struct av_err *e)
{
	static const char *const fields[] = { "name", NULL };
	int64_t created, updated;
	const char *name;

	if (api_only_fields(in, fields, e) != 0 ||
	    api_get_provider_name(ctx, call, API_PROVIDER_APIKEY, in, &name,
	    e) != 0 ||
	    api_allow(ctx, call, NULL, e) != 0 ||
	    store_provider_get(ctx->store, KIND, name, &created, &updated,
	    NULL, e) != 0)
		return -1;
	describe(call, name, created, updated, out);
	return 0;
}

int
op_update_api_key_provider(struct api_ctx *ctx, struct api_call *call,
    json_t *in, json_t *out, struct av_err *e)
{
	static const char *const fields[] = { "name", "apiKey", NULL };
	int64_t created, updated;
	json_t *key = NULL;
	const char *name;
	int rc = -1;

	if (api_only_fields(in, fields, e) != 0 ||
	    api_get_provider_name(ctx, call, API_PROVIDER_APIKEY, in, &name,
	    e) != 0 ||
	    get_key(in, &key, e) != 0 ||
	    api_allow(ctx, call, NULL, e) != 0 ||
	    store_provider_update(ctx->store, ctx->vault, KIND, name, NULL,
	    (const uint8_t *)json_string_value(key), json_string_length(key),
	    e) != 0 ||
	    store_provider_get(ctx->store, KIND, name, &created, &updated,
	    NULL, e) != 0)
		goto done;
	describe(call, name, created, updated, out);
	rc = 0;
done:
	wipe_key(key);
	return rc;
}

int
op_delete_api_key_provider(struct api_ctx *ctx, struct api_call *call,
    json_t *in, json_t *out, struct av_err *e)
{
	static const char *const fields[] = { "name", NULL };
	const char *name;

	(void)out;
	if (api_only_fields(in, fields, e) != 0 ||
	    api_get_provider_name(ctx, call, API_PROVIDER_APIKEY, in, &name,
	    e) != 0 ||
	    api_allow(ctx, call, NULL, e) != 0)
		return -1;
	return store_provider_delete(ctx->store, ctx->vault, KIND, name,
	    call->resource, e);
}

int
op_list_api_key_providers(struct api_ctx *ctx, struct api_call *call,
    json_t *in, json_t *out, struct av_err *e)
{
	json_t *names = json_array(), *list = json_array(), *n;
	char after[API_PROVIDER_NAME_MAX + 1];
	struct api_call item;
	int64_t created, updated;
	bool more = false;
	unsigned max;
	size_t i;
	int rc = -1;

	if (api_page_params(in, &max, after, sizeof(after), e) != 0)
		goto done;
	if (after[0] != '\0' && !api_provider_name_valid(after)) {
		av_fail(e, AV_E_VALIDATION, "invalid nextToken");
		goto done;
	}
	api_vault_arn(ctx, call->resource, sizeof(call->resource));
	if (api_allow(ctx, call, NULL, e) != 0)
		goto done;
	if (store_provider_list(ctx->store, KIND, after, max, names, &more,
	    e) != 0)
		goto done;
	json_array_foreach(names, i, n) {
		json_t *p = json_object();

		api_provider_arn(ctx, API_PROVIDER_APIKEY, json_string_value(n),
		    item.resource, sizeof(item.resource));
		created = updated = 0;
		store_provider_get(ctx->store, KIND, json_string_value(n),
		    &created, &updated, NULL, NULL);
		describe(&item, json_string_value(n), created, updated, p);
		json_object_del(p, "apiKeySecretArn");
		json_array_append_new(list, p);
	}
	json_object_set(out, "credentialProviders", list);
	if (more)
		api_page_token_set(out, names);
	rc = 0;
done:
	json_decref(names);
	json_decref(list);
	return rc;
}
