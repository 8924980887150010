/* SPDX-License-Identifier: Apache-2.0 */
/*
 * op_policy.c - policies: Create, Get, Update, Delete and List, and
 * attaching them to principals (docs/api.md, section 11).
 *
 * Names are one namespace over three sources, resolved in this order:
 * built in (policy/builtin.c), a file of policy.dir (read when the worker
 * starts), stored through the API.  Only stored policies and the API's
 * attachments change here.  Every change is put in force (a new
 * snapshot) before the reply, so the next call is decided by it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "log.h"
#include "policy/policy.h"

#define POLICIES_MAX	100	/* stored through the API */
#define ATTACHED_MAX	16	/* per principal, through the API */
#define NAME_MAX_LEN	(AV_POLICY_NAME_SIZE - 1)	/* a policy's */
#define PRINCIPAL_NAME_MAX 64

enum source { SRC_BUILTIN, SRC_FILE, SRC_API };
static const char *const source_names[] = { "built-in", "file", "api" };

/* A policy, wherever it comes from. */
struct found {
	enum source		 source;
	const char		*text;
	size_t			 len;
	const char		*path;		/* a file's */
	struct store_policy	 stored;	/* owns the text */
};

static int
find(struct api_ctx *ctx, const char *name, struct found *f, struct av_err *e)
{
	const struct policy_builtin *b;
	const struct authz_source *src;

	memset(f, 0, sizeof(*f));
	if ((b = policy_builtin(name)) != NULL) {
		f->source = SRC_BUILTIN;
		f->text = b->text;
		f->len = strlen(b->text);
	} else if ((src = authz_sources_find(&ctx->policy_files, name)) !=
	    NULL) {
		f->source = SRC_FILE;
		f->text = src->text;
		f->len = src->len;
		f->path = src->origin;
	} else {
		if (store_policy_get(ctx->store, name, &f->stored, e) != 0)
			return -1;
		f->source = SRC_API;
		f->text = f->stored.document;
		f->len = f->stored.len;
	}
	return 0;
}

/* The file of policy.dir a policy is, or NULL. */
static const char *
file_of(struct api_ctx *ctx, const char *name)
{
	const struct authz_source *src;

	src = authz_sources_find(&ctx->policy_files, name);
	return src != NULL ? src->origin : NULL;
}

/* Update and Delete change stored policies only. */
static int
read_only(struct api_ctx *ctx, const char *name, struct av_err *e)
{
	const char *path;

	if (policy_builtin(name) != NULL)
		return av_fail(e, AV_E_VALIDATION, "policy %s is built in",
		    name);
	if ((path = file_of(ctx, name)) != NULL)
		return av_fail(e, AV_E_VALIDATION, "policy %s is the file "
		    "%.200s: edit the file and reload", name, path);
	return 0;
}

static bool
in_configuration(const struct av_principal *p, const char *policy)
{
	size_t i;

	for (i = 0; i < p->policies.n; i++)
		if (strcmp(p->policies.v[i], policy) == 0)
			return true;
	return false;
}

/* The policy's name; the call's resource becomes its ARN. */
static int
get_policy_name(struct api_ctx *ctx, struct api_call *call, json_t *in,
    const char *f, const char **name, struct av_err *e)
{
	if (api_get_name(in, f, NAME_MAX_LEN, name, e) != 0)
		return -1;
	api_policy_arn(ctx, *name, call->resource, sizeof(call->resource));
	return 0;
}

static int
get_document(json_t *in, const char **text, size_t *len, struct av_err *e)
{
	json_t *v = json_object_get(in, "document");

	if (v == NULL || !json_is_string(v))
		return av_fail(e, AV_E_VALIDATION, "document is required: the "
		    "policy's YAML or JSON text");
	*text = json_string_value(v);
	*len = json_string_length(v);
	if (*len == 0 || *len > POLICY_DOC_MAX || strlen(*text) != *len)
		return av_fail(e, AV_E_VALIDATION, "document must be 1 to %d "
		    "bytes of text", POLICY_DOC_MAX);
	return 0;
}

/* The description, or NULL when there is none. */
static int
get_description(json_t *in, const char **desc, struct av_err *e)
{
	json_t *v = json_object_get(in, "description");
	const char *s;
	size_t i, n;

	*desc = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_string(v) ||
	    (n = json_string_length(v)) > STORE_POLICY_DESC_MAX)
		return av_fail(e, AV_E_VALIDATION, "description must be a "
		    "string of at most %d bytes", STORE_POLICY_DESC_MAX);
	s = json_string_value(v);
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return av_fail(e, AV_E_VALIDATION, "description must "
			    "not contain control characters");
	*desc = s;
	return 0;
}

/* Refused unless it parses: the error names the policy, line, column. */
static int
check_document(const char *name, const char *text, size_t len,
    struct av_err *e)
{
	struct policy_doc *d;

	if ((d = policy_parse(name, text, len, e)) == NULL)
		return -1;
	policy_doc_free(d);
	return 0;
}

/* Put a change in force before the reply. */
static int
put_in_force(struct api_ctx *ctx, struct av_err *e)
{
	char why[AV_ERR_MSG_MAX];

	if (api_authz_load(ctx, e) == 0)
		return 0;
	/* Stored, but the previous snapshot still decides. */
	snprintf(why, sizeof(why), "%s", e->msg);
	log_error("a policy change is stored but not in force: %s", why);
	return av_fail(e, AV_E_INTERNAL, "the change is stored but not in "
	    "force: %.180s", why);
}

static void
describe(const struct api_ctx *ctx, const char *name, const struct found *f,
    json_t *out)
{
	char arn[1024];

	api_policy_arn(ctx, name, arn, sizeof(arn));
	json_object_set_new(out, "name", json_string(name));
	json_object_set_new(out, "policyArn", json_string(arn));
	json_object_set_new(out, "source",
	    json_string(source_names[f->source]));
	if (f->path != NULL)
		json_object_set_new(out, "path", json_string(f->path));
	json_object_set_new(out, "description", json_string(
	    f->source == SRC_API ? f->stored.description : ""));
	if (f->source == SRC_API) {
		json_object_set_new(out, "createdTime",
		    json_integer(f->stored.created));
		json_object_set_new(out, "lastUpdatedTime",
		    json_integer(f->stored.updated));
	}
}

/* Describe the stored policy name as it is now. */
static int
describe_stored(struct api_ctx *ctx, const char *name, json_t *out,
    struct av_err *e)
{
	struct found f;

	if (find(ctx, name, &f, e) != 0)
		return -1;
	describe(ctx, name, &f, out);
	free(f.stored.document);
	return 0;
}

int
op_create_policy(struct api_ctx *ctx, struct api_call *call, json_t *in,
    json_t *out, struct av_err *e)
{
	static const char *const fields[] = { "name", "document",
	    "description", NULL };
	const char *name, *text, *desc, *path = NULL;
	size_t len;

	if (api_only_fields(in, fields, e) != 0 ||
	    get_policy_name(ctx, call, in, "name", &name, e) != 0 ||
	    get_document(in, &text, &len, e) != 0 ||
	    get_description(in, &desc, e) != 0 ||
	    api_allow(ctx, call, NULL, e) != 0)
		return -1;
	if (policy_builtin(name) != NULL || (path = file_of(ctx, name)) != NULL)
		return av_fail(e, AV_E_CONFLICT, "a policy named %s already "
		    "exists (%.200s)", name, path != NULL ? path : "built in");
	if (check_document(name, text, len, e) != 0 ||
	    store_policy_create(ctx->store, name, text, len,
	    desc != NULL ? desc : "", POLICIES_MAX, e) != 0 ||
	    put_in_force(ctx, e) != 0)
		return -1;
	return describe_stored(ctx, name, out, e);
}

/* The principals a policy is attached to: the configuration's, then the
 * API's (the only ones of principals the configuration no longer has). */
static int
attached_to(struct api_ctx *ctx, const char *name, json_t *out,
    struct av_err *e)
{
	const struct av_principals_config *ps = &ctx->cfg->principals;
	json_t *api, *v, *w;
	size_t i, j;
	int rc;

	for (i = 0; i < ps->n; i++)
		if (in_configuration(&ps->v[i], name))
			json_array_append_new(out, json_string(ps->v[i].name));
	if ((api = json_array()) == NULL)
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	rc = store_policy_attached(ctx->store, NULL, name, api, e);
	json_array_foreach(api, i, v) {
		json_array_foreach(out, j, w)
			if (json_equal(v, w))
				break;
		if (j == json_array_size(out))
			json_array_append(out, v);
	}
	json_decref(api);
	return rc;
}

int
op_get_policy(struct api_ctx *ctx, struct api_call *call, json_t *in,
    json_t *out, struct av_err *e)
{
	static const char *const fields[] = { "name", NULL };
	json_t *to = NULL;
	struct found f;
	const char *name;
	int rc = -1;

	if (api_only_fields(in, fields, e) != 0 ||
	    get_policy_name(ctx, call, in, "name", &name, e) != 0 ||
	    api_allow(ctx, call, NULL, e) != 0 ||
	    find(ctx, name, &f, e) != 0)
		return -1;
	if ((to = json_array()) == NULL) {
		av_fail(e, AV_E_INTERNAL, "out of memory");
		goto done;
	}
	if (attached_to(ctx, name, to, e) != 0)
		goto done;
	describe(ctx, name, &f, out);
	json_object_set_new(out, "document", json_stringn(f.text, f.len));
	json_object_set(out, "attachedTo", to);
	rc = 0;
done:
	json_decref(to);
	free(f.stored.document);
	return rc;
}

int
op_update_policy(struct api_ctx *ctx, struct api_call *call, json_t *in,
    json_t *out, struct av_err *e)
{
	static const char *const fields[] = { "name", "document",
	    "description", NULL };
	const char *name, *text, *desc;
	size_t len;

	if (api_only_fields(in, fields, e) != 0 ||
	    get_policy_name(ctx, call, in, "name", &name, e) != 0 ||
	    get_document(in, &text, &len, e) != 0 ||
	    get_description(in, &desc, e) != 0 ||
	    api_allow(ctx, call, NULL, e) != 0)
		return -1;
	if (read_only(ctx, name, e) != 0)
		return -1;
	if (check_document(name, text, len, e) != 0 ||
	    store_policy_update(ctx->store, name, text, len, desc, e) != 0 ||
	    put_in_force(ctx, e) != 0)
		return -1;
	return describe_stored(ctx, name, out, e);
}

int
op_delete_policy(struct api_ctx *ctx, struct api_call *call, json_t *in,
    json_t *out, struct av_err *e)
{
	static const char *const fields[] = { "name", NULL };
	const char *name;

	(void)out;
	if (api_only_fields(in, fields, e) != 0 ||
	    get_policy_name(ctx, call, in, "name", &name, e) != 0 ||
	    api_allow(ctx, call, NULL, e) != 0)
		return -1;
	if (read_only(ctx, name, e) != 0)
		return -1;
	if (store_policy_delete(ctx->store, name, e) != 0)
		return -1;
	return put_in_force(ctx, e);
}

struct entry {
	const char	*name;
	enum source	 source;
};

static int
by_name(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name,
	    ((const struct entry *)b)->name);
}

int
op_list_policies(struct api_ctx *ctx, struct api_call *call, json_t *in,
    json_t *out, struct av_err *e)
{
	const struct policy_builtin *b;
	char after[NAME_MAX_LEN + 1], arn[1024];
	json_t *stored = NULL, *list = NULL, *names = NULL, *v;
	struct entry *all = NULL;
	size_t i, n = 0, cap;
	unsigned max, k;
	int rc = -1;

	if (api_page_params(in, &max, after, sizeof(after), e) != 0)
		return -1;
	api_policy_arn(ctx, NULL, call->resource, sizeof(call->resource));
	if (api_allow(ctx, call, NULL, e) != 0)
		return -1;
	if ((stored = json_array()) == NULL || (list = json_array()) == NULL ||
	    (names = json_array()) == NULL) {
		av_fail(e, AV_E_INTERNAL, "out of memory");
		goto done;
	}
	if (store_policy_names(ctx->store, stored, e) != 0)
		goto done;
	for (cap = 0, b = policy_builtins(); b->name != NULL; b++)
		cap++;
	cap += ctx->policy_files.n + json_array_size(stored);
	if ((all = calloc(cap, sizeof(*all))) == NULL) {
		av_fail(e, AV_E_INTERNAL, "out of memory");
		goto done;
	}
	for (b = policy_builtins(); b->name != NULL; b++)
		all[n++] = (struct entry){ b->name, SRC_BUILTIN };
	for (i = 0; i < ctx->policy_files.n; i++)
		all[n++] = (struct entry){ ctx->policy_files.v[i].name,
		    SRC_FILE };
	/* A stored policy a file shadows is not the one in force. */
	json_array_foreach(stored, i, v)
		if (file_of(ctx, json_string_value(v)) == NULL &&
		    policy_builtin(json_string_value(v)) == NULL)
			all[n++] = (struct entry){ json_string_value(v),
			    SRC_API };
	qsort(all, n, sizeof(*all), by_name);
	for (i = 0, k = 0; i < n; i++) {
		if (strcmp(all[i].name, after) <= 0)
			continue;
		if (k++ == max) {
			api_page_token_set(out, names);
			break;
		}
		api_policy_arn(ctx, all[i].name, arn, sizeof(arn));
		json_array_append_new(names, json_string(all[i].name));
		json_array_append_new(list, json_pack("{s:s, s:s, s:s}",
		    "name", all[i].name, "policyArn", arn, "source",
		    source_names[all[i].source]));
	}
	json_object_set(out, "policies", list);
	rc = 0;
done:
	free(all);
	json_decref(stored);
	json_decref(list);
	json_decref(names);
	return rc;
}

/* principalName and policyName; the call's resource is the principal. */
static int
get_attachment(struct api_ctx *ctx, struct api_call *call, json_t *in,
    const char **principal, const char **policy, struct av_err *e)
{
	static const char *const fields[] = { "principalName", "policyName",
	    NULL };

	if (api_only_fields(in, fields, e) != 0 ||
	    api_get_name(in, "principalName", PRINCIPAL_NAME_MAX, principal,
	    e) != 0 ||
	    api_get_name(in, "policyName", NAME_MAX_LEN, policy, e) != 0)
		return -1;
	api_principal_arn(ctx, *principal, call->resource,
	    sizeof(call->resource));
	return 0;
}

int
op_attach_principal_policy(struct api_ctx *ctx, struct api_call *call,
    json_t *in, json_t *out, struct av_err *e)
{
	const struct authz_principal *p;
	const char *principal, *policy;
	bool stored;

	(void)out;
	if (get_attachment(ctx, call, in, &principal, &policy, e) != 0 ||
	    api_allow(ctx, call, NULL, e) != 0)
		return -1;
	if ((p = authz_principal_named(call->authz, principal)) == NULL)
		return av_fail(e, AV_E_NOT_FOUND, "no principal named %s",
		    principal);
	if (in_configuration(authz_principal_config(p), policy))
		return av_fail(e, AV_E_CONFLICT, "policy %s is already "
		    "attached to principal %s by the configuration", policy,
		    principal);
	/* A stored policy is checked in the attachment's transaction. */
	stored = policy_builtin(policy) == NULL &&
	    file_of(ctx, policy) == NULL;
	if (store_policy_attach(ctx->store, principal, policy, stored,
	    ATTACHED_MAX, e) != 0)
		return -1;
	return put_in_force(ctx, e);
}

int
op_detach_principal_policy(struct api_ctx *ctx, struct api_call *call,
    json_t *in, json_t *out, struct av_err *e)
{
	const struct authz_principal *p;
	const char *principal, *policy;

	(void)out;
	if (get_attachment(ctx, call, in, &principal, &policy, e) != 0 ||
	    api_allow(ctx, call, NULL, e) != 0)
		return -1;
	/* Of a principal no longer configured: still detachable. */
	if ((p = authz_principal_named(call->authz, principal)) != NULL &&
	    in_configuration(authz_principal_config(p), policy))
		return av_fail(e, AV_E_VALIDATION, "policy %s is attached to "
		    "principal %s by the configuration: edit the "
		    "configuration", policy, principal);
	if (store_policy_detach(ctx->store, principal, policy, e) != 0)
		return -1;
	return put_in_force(ctx, e);
}
