/* SPDX-License-Identifier: Apache-2.0 */
/*
 * op_principal.c - principals (defined in the configuration): Get, List,
 * and SimulatePrincipalPolicy, which shows what the policies in force
 * decide for a request without making it (docs/api.md, section 11).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "policy/policy.h"

#define PRINCIPAL_NAME_MAX	64
#define OPERATION_MAX		64
#define ACTION_PREFIX		"bedrock-agentcore:"

/* In enum av_principal_kind order. */
static const char *const kinds[] = { "caller", "runtime", "gateway" };

static json_t *
summary(const struct api_ctx *ctx, const struct av_principal *p)
{
	char arn[1024];

	api_principal_arn(ctx, p->name, arn, sizeof(arn));
	return json_pack("{s:s, s:s, s:s}", "name", p->name, "principalArn",
	    arn, "kind", kinds[p->kind]);
}

int
op_get_principal(struct api_ctx *ctx, struct api_call *call, json_t *in,
    json_t *out, struct av_err *e)
{
	static const char *const fields[] = { "name", NULL };
	const struct authz_principal *ap;
	const struct av_principal *p;
	json_t *api = NULL, *l, *v;
	const char *name;
	size_t i;
	int rc = -1;

	if (api_only_fields(in, fields, e) != 0 ||
	    api_get_name(in, "name", PRINCIPAL_NAME_MAX, &name, e) != 0)
		return -1;
	api_principal_arn(ctx, name, call->resource, sizeof(call->resource));
	if (api_allow(ctx, call, NULL, e) != 0)
		return -1;
	if ((ap = authz_principal_named(call->authz, name)) == NULL)
		return av_fail(e, AV_E_NOT_FOUND, "no principal named %s",
		    name);
	p = authz_principal_config(ap);
	if ((api = json_array()) == NULL)
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	if (store_policy_attached(ctx->store, name, NULL, api, e) != 0)
		goto done;
	l = summary(ctx, p);
	json_object_update(out, l);
	json_decref(l);
	json_object_set_new(out, "uids", l = json_array());
	for (i = 0; i < p->uids.n; i++)
		json_array_append_new(l, json_integer(p->uids.v[i]));
	json_object_set_new(out, "gids", l = json_array());
	for (i = 0; i < p->gids.n; i++)
		json_array_append_new(l, json_integer(p->gids.v[i]));
	json_object_set_new(out, "subjects", l = json_array());
	for (i = 0; i < p->subjects.n; i++)
		json_array_append_new(l, json_string(p->subjects.v[i]));
	json_object_set_new(out, "tags", l = json_object());
	for (i = 0; i < p->tags.n; i++)
		json_object_set_new(l, p->tags.v[i].key,
		    json_string(p->tags.v[i].value));
	/* In the order they are evaluated: the configuration's first. */
	json_object_set_new(out, "policies", l = json_array());
	for (i = 0; i < p->policies.n; i++)
		json_array_append_new(l, json_pack("{s:s, s:s}", "name",
		    p->policies.v[i], "attachedBy", "configuration"));
	json_array_foreach(api, i, v)
		json_array_append_new(l, json_pack("{s:O, s:s}", "name", v,
		    "attachedBy", "api"));
	rc = 0;
done:
	json_decref(api);
	return rc;
}

int
op_list_principals(struct api_ctx *ctx, struct api_call *call, json_t *in,
    json_t *out, struct av_err *e)
{
	static const char *const fields[] = { NULL };
	const struct av_principals_config *ps = &ctx->cfg->principals;
	json_t *l;
	size_t i;

	if (api_only_fields(in, fields, e) != 0)
		return -1;
	api_principal_arn(ctx, NULL, call->resource, sizeof(call->resource));
	if (api_allow(ctx, call, NULL, e) != 0)
		return -1;
	json_object_set_new(out, "principals", l = json_array());
	for (i = 0; i < ps->n; i++)
		json_array_append_new(l, summary(ctx, &ps->v[i]));
	return 0;
}

/* "GetResourceApiKey" or "bedrock-agentcore:GetResourceApiKey": the
 * operation's name. */
static int
get_operation(json_t *in, const char **op, struct av_err *e)
{
	json_t *v = json_object_get(in, "action");
	const char *s;
	size_t n;

	if (v == NULL || !json_is_string(v))
		return av_fail(e, AV_E_VALIDATION, "action is required");
	s = json_string_value(v);
	if (strncasecmp(s, ACTION_PREFIX, strlen(ACTION_PREFIX)) == 0)
		s += strlen(ACTION_PREFIX);
	n = strlen(s);
	if (n == 0 || n > OPERATION_MAX ||
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789") != n)
		return av_fail(e, AV_E_VALIDATION, "action must be an "
		    "operation, such as GetResourceApiKey or "
		    "bedrock-agentcore:GetResourceApiKey");
	*op = s;
	return 0;
}

static int
get_resource(json_t *in, const char **res, struct av_err *e)
{
	json_t *v = json_object_get(in, "resource");
	const char *s;
	size_t i, n;

	if (v == NULL || !json_is_string(v))
		return av_fail(e, AV_E_VALIDATION, "resource is required: an "
		    "ARN or \"*\"");
	s = json_string_value(v);
	n = json_string_length(v);
	if (strcmp(s, "*") != 0 && (strncmp(s, "arn:", 4) != 0 ||
	    n >= POLICY_VALUE_MAX))
		return av_fail(e, AV_E_VALIDATION, "resource must be \"*\" or "
		    "an ARN of less than %d bytes", POLICY_VALUE_MAX);
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			return av_fail(e, AV_E_VALIDATION, "resource must not "
			    "contain spaces or control characters");
	*res = s;
	return 0;
}

static bool
value_ok(const json_t *v)
{
	return json_is_string(v) && json_string_length(v) < POLICY_VALUE_MAX &&
	    strlen(json_string_value(v)) == json_string_length(v);
}

/* context {KEY: "value" or ["v1", ...]}, checked (a new reference, NULL
 * without a context). */
static int
get_context(json_t *in, json_t **extra, struct av_err *e)
{
	json_t *c = json_object_get(in, "context"), *v, *x;
	const char *k;
	size_t i;

	*extra = NULL;
	if (c == NULL)
		return 0;
	if (!json_is_object(c) || json_object_size(c) > POLICY_CTX_KEYS_MAX)
		return av_fail(e, AV_E_VALIDATION, "context must be a map of "
		    "at most %d condition keys", POLICY_CTX_KEYS_MAX);
	json_object_foreach(c, k, v) {
		if (strlen(k) == 0 || strlen(k) > POLICY_KEY_MAX)
			return av_fail(e, AV_E_VALIDATION, "context keys are "
			    "1 to %d bytes", POLICY_KEY_MAX);
		if (json_is_array(v) &&
		    json_array_size(v) <= POLICY_CTX_VALUES_MAX) {
			json_array_foreach(v, i, x)
				if (!value_ok(x))
					break;
			if (i == json_array_size(v))
				continue;
		} else if (value_ok(v))
			continue;
		return av_fail(e, AV_E_VALIDATION, "context[%.128s] must be a "
		    "string or a list of at most %d strings, each shorter "
		    "than %d bytes", k, POLICY_CTX_VALUES_MAX,
		    POLICY_VALUE_MAX);
	}
	*extra = json_incref(c);
	return 0;
}

int
op_simulate_principal_policy(struct api_ctx *ctx, struct api_call *call,
    json_t *in, json_t *out, struct av_err *e)
{
	static const char *const fields[] = { "principalName", "action",
	    "resource", "context", NULL };
	const struct authz_principal *p = call->principal;
	const char *name, *op = NULL, *resource = NULL;
	struct authz_request q = { 0 };
	struct policy_decision d;
	char why[AUTHZ_WHY_SIZE], action[128];
	json_t *extra = NULL, *tags = NULL, *m;
	int rc = -1;

	if (api_only_fields(in, fields, e) != 0)
		return -1;
	name = authz_principal_config(p)->name;
	if (json_object_get(in, "principalName") != NULL &&
	    api_get_name(in, "principalName", PRINCIPAL_NAME_MAX, &name,
	    e) != 0)
		return -1;
	if (get_operation(in, &op, e) != 0 || get_resource(in, &resource,
	    e) != 0 || get_context(in, &extra, e) != 0)
		return -1;
	api_principal_arn(ctx, name, call->resource, sizeof(call->resource));
	if (api_allow(ctx, call, NULL, e) != 0)
		goto done;
	if ((p = authz_principal_named(call->authz, name)) == NULL) {
		av_fail(e, AV_E_NOT_FOUND, "no principal named %s", name);
		goto done;
	}
	/* The resource's tags, as enforcement reads them. */
	if (strcmp(resource, "*") != 0 &&
	    authz_uses(p, AUTHZ_RESOURCE_TAGS) &&
	    (tags = api_resource_tags(ctx, resource)) == NULL) {
		av_fail(e, AV_E_INTERNAL, "cannot read the resource's tags");
		goto done;
	}
	q.operation = op;
	q.resource = resource;
	q.resource_tags = tags;
	q.extra = extra;
	if (authz_simulate(p, &q, &d, why, sizeof(why), e) != 0)
		goto done;
	snprintf(action, sizeof(action), ACTION_PREFIX "%s", op);
	json_object_set_new(out, "principalName", json_string(name));
	json_object_set_new(out, "action", json_string(action));
	json_object_set_new(out, "resource", json_string(resource));
	json_object_set_new(out, "decision",
	    json_string(policy_effect_name(d.effect)));
	if (d.doc_name != NULL) {
		m = json_pack("{s:s, s:i}", "policy", d.doc_name, "index",
		    d.stmt);
		if (d.sid != NULL)
			json_object_set_new(m, "sid", json_string(d.sid));
		json_object_set_new(out, "matchedStatement", m);
	}
	json_object_set_new(out, "explanation", json_string(why));
	rc = 0;
done:
	json_decref(extra);
	json_decref(tags);
	return rc;
}
