/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api.c - av_open, av_close and one function per operation of docs/api.md.
 *
 * Requests are built with jansson and dumped straight into a buffer that
 * is wiped after sending.  "safe" marks the operations a repeat cannot
 * change anything with (agentvault.h, reconnection).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "internal.h"

#define SAFE	true	/* reads, token mints, vends */
#define WRITE	false

int
av_open(const struct av_options *o, av_handle **hp, struct av_error *err)
{
	struct sockaddr_un sun;
	av_handle *h;

	*hp = NULL;
	if (o == NULL || o->ca_file == NULL)
		return avc_fail(err, AV_ARGUMENT_ERROR, "the appliance CA file "
		    "is required");
	if ((o->socket_path == NULL) == (o->host == NULL) ||
	    (o->host != NULL && (o->port == 0 || o->port > 65535)))
		return avc_fail(err, AV_ARGUMENT_ERROR, "give a socket path, "
		    "or a host and a port (1-65535)");
	if (o->socket_path != NULL &&
	    strlen(o->socket_path) >= sizeof(sun.sun_path))
		return avc_fail(err, AV_ARGUMENT_ERROR, "socket path over %zu "
		    "bytes", sizeof(sun.sun_path) - 1);
	if ((o->cert_file == NULL) != (o->key_file == NULL))
		return avc_fail(err, AV_ARGUMENT_ERROR, "a client certificate "
		    "needs its key, and a key its certificate");
	if (o->timeout_ms < 0)
		return avc_fail(err, AV_ARGUMENT_ERROR, "negative timeout");
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return avc_fail(err, AV_CLIENT_ERROR, "out of memory");
	h->fd = -1;
	h->port = o->port;
	h->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms :
	    AV_DEFAULT_TIMEOUT_MS;
	h->max_response = o->max_response > 0 ? o->max_response :
	    AV_DEFAULT_MAX_RESPONSE;
	h->socket_path = avc_strdup(o->socket_path);
	h->host = avc_strdup(o->host);
	h->server_name = strdup(o->server_name != NULL ? o->server_name :
	    "localhost");
	if ((o->socket_path != NULL && h->socket_path == NULL) ||
	    (o->host != NULL && h->host == NULL) || h->server_name == NULL) {
		av_close(h);
		return avc_fail(err, AV_CLIENT_ERROR, "out of memory");
	}
	if (avc_tls_init(h, o, err) != 0) {
		av_close(h);
		return -1;
	}
	*hp = h;
	return 0;
}

void
av_close(av_handle *h)
{
	size_t i;

	if (h == NULL)
		return;
	avc_disconnect(h);
	avc_tls_free(h);
	for (i = 0; i < AVC_CACHE_SLOTS; i++) {
		free(h->cache[i].workload);
		free(h->cache[i].user_id);
		av_secret_free(h->cache[i].token);
	}
	avc_wipe_free(h->buf, h->cap);
	free(h->socket_path);
	free(h->host);
	free(h->server_name);
	free(h);
}

int
avc_exchange(av_handle *h, const char *method, const char *target,
    json_t *in, const char *secret_member, bool safe, struct avc_reply *r,
    struct av_error *err)
{
	char *body = NULL;
	size_t len = 0;
	int rc;

	if (in != NULL && ((len = json_dumpb(in, NULL, 0, JSON_COMPACT)) == 0 ||
	    (body = malloc(len)) == NULL ||
	    json_dumpb(in, body, len, JSON_COMPACT) != len))
		rc = avc_fail(err, AV_CLIENT_ERROR, "out of memory");
	else
		rc = 0;
	if (secret_member != NULL)
		avc_json_wipe(json_object_get(in, secret_member));
	json_decref(in);
	if (rc == 0)
		rc = avc_call(h, method, target, body, len, safe, r, err);
	avc_wipe_free(body, len);
	if (rc == 0 && r->status != 200) {
		avc_api_error(h, r, err);
		avc_reply_wipe(h, r);
		rc = -1;
	}
	return rc;
}

/* A call whose reply is JSON without secrets; in NULL: no body. */
static int
run(av_handle *h, const char *method, const char *target, json_t *in,
    const char *secret_member, bool safe, json_t **out, struct av_error *err)
{
	struct avc_reply r;
	json_t *doc;

	if (out != NULL)
		*out = NULL;
	if (avc_exchange(h, method, target, in, secret_member, safe, &r,
	    err) != 0)
		return -1;
	doc = json_loadb(r.body, r.len, JSON_REJECT_DUPLICATES, NULL);
	avc_reply_wipe(h, &r);
	if (!json_is_object(doc)) {
		json_decref(doc);
		return avc_fail(err, AV_PROTOCOL_ERROR, "the reply is not a "
		    "JSON object");
	}
	if (out != NULL)
		*out = doc;
	else
		json_decref(doc);
	return 0;
}

/*
 * Any operation by its path, for those without a function of their own.
 * Only reads (Get..., List..., Simulate...) are safe to repeat.  The path
 * goes into the request line as it is: letters, digits and "/_.-" only.
 */
int
av_call(av_handle *h, const char *path, json_t *in, json_t **out,
    struct av_error *err)
{
	const char *op;
	bool safe;

	if (out != NULL)
		*out = NULL;
	if (path == NULL || path[0] != '/' || path[strspn(path,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789/_.-")] != '\0')
		return avc_fail(err, AV_ARGUMENT_ERROR, "the path is /GROUP/"
		    "OPERATION, of letters, digits and /_.-");
	if (in != NULL && !json_is_object(in))
		return avc_fail(err, AV_ARGUMENT_ERROR, "the request is not a "
		    "JSON object");
	op = strrchr(path, '/') + 1;
	safe = strncmp(op, "Get", 3) == 0 || strncmp(op, "List", 4) == 0 ||
	    strncmp(op, "Simulate", 8) == 0;
	/* run() releases its request: the caller keeps its reference. */
	if ((in = in != NULL ? json_incref(in) : json_object()) == NULL)
		return avc_fail(err, AV_CLIENT_ERROR, "out of memory");
	return run(h, "POST", path, in, NULL, safe, out, err);
}

/* A request body that could not be built. */
static int
bad_args(json_t **out, struct av_error *err)
{
	if (out != NULL)
		*out = NULL;
	return avc_fail(err, AV_ARGUMENT_ERROR, "a required argument is "
	    "missing, a string is not UTF-8, or tags are not key, value "
	    "pairs");
}

/* POST /identities/OP; secret_member: wipe that member of in. */
static int
post(av_handle *h, const char *op, json_t *in, const char *secret_member,
    bool safe, json_t **out, struct av_error *err)
{
	char target[128];

	if (in == NULL)
		return bad_args(out, err);
	snprintf(target, sizeof(target), "/identities/%s", op);
	return run(h, "POST", target, in, secret_member, safe, out, err);
}

/* in.member = secret, added last: a failure after it would free an
 * unwiped copy. */
static json_t *
with_secret(json_t *in, const char *member, const char *secret)
{
	if (in != NULL && json_object_set_new(in, member,
	    json_string(secret)) != 0) {
		json_decref(in);
		return NULL;
	}
	return in;
}

/* A reply that carries one secret string member. */
static int
secret_op(av_handle *h, const char *op, json_t *in, const char *in_secret,
    const char *member, char **out, struct av_error *err)
{
	struct avc_reply r;
	char target[128];
	int rc;

	*out = NULL;
	if (in == NULL)
		return bad_args(NULL, err);
	snprintf(target, sizeof(target), "/identities/%s", op);
	if (avc_exchange(h, "POST", target, in, in_secret, SAFE, &r, err) != 0)
		return -1;
	rc = avc_json_secret(r.body, r.len, member, out, err);
	avc_reply_wipe(h, &r);
	if (rc == 1)
		return avc_fail(err, AV_PROTOCOL_ERROR, "the reply has no %s",
		    member);
	return rc;
}

/* in with in[key] = the list; NULL (in released) if that fails. */
static json_t *
with_list(json_t *in, const char *key, const char *const *l)
{
	json_t *a;

	if (in == NULL || l == NULL)
		return in;
	if ((a = json_array()) == NULL || json_object_set_new(in, key, a) != 0)
		goto bad;
	for (; *l != NULL; l++)
		if (json_array_append_new(a, json_string(*l)) != 0)
			goto bad;
	return in;
bad:
	json_decref(in);
	return NULL;
}

/* in with in[key] = { k: v, ... } from key, value pairs; NULL (in
 * released) if that fails. */
static json_t *
with_pairs(json_t *in, const char *key, const char *const *kv)
{
	json_t *m;

	if (in == NULL || kv == NULL)
		return in;
	if ((m = json_object()) == NULL ||
	    json_object_set_new(in, key, m) != 0)
		goto bad;
	for (; kv[0] != NULL; kv += 2)
		if (kv[1] == NULL ||
		    json_object_set_new(m, kv[0], json_string(kv[1])) != 0)
			goto bad;
	return in;
bad:
	json_decref(in);
	return NULL;
}

static json_t *
with_tags(json_t *in, const char *const *kv)
{
	return with_pairs(in, "tags", kv);
}

static json_t *
page(int max_results, const char *next_token)
{
	json_t *in = json_pack("{s:s*}", "nextToken", next_token);

	if (in != NULL && max_results != 0 && json_object_set_new(in,
	    "maxResults", json_integer(max_results)) != 0) {
		json_decref(in);
		return NULL;
	}
	return in;
}

int
av_ping(av_handle *h, json_t **out, struct av_error *err)
{
	return run(h, "GET", "/ping", NULL, NULL, SAFE, out, err);
}

int
av_get_token_vault(av_handle *h, const char *vault_id, json_t **out,
    struct av_error *err)
{
	return run(h, "POST", "/identities/get-token-vault",
	    json_pack("{s:s*}", "tokenVaultId", vault_id), NULL, SAFE, out,
	    err);
}

int
av_create_workload_identity(av_handle *h, const char *name,
    const char *const *return_urls, const char *const *tags, json_t **out,
    struct av_error *err)
{
	json_t *in = json_pack("{s:s}", "name", name);

	in = with_tags(with_list(in, "allowedResourceOauth2ReturnUrls",
	    return_urls), tags);
	return post(h, "CreateWorkloadIdentity", in, NULL, WRITE, out, err);
}

int
av_get_workload_identity(av_handle *h, const char *name, json_t **out,
    struct av_error *err)
{
	return post(h, "GetWorkloadIdentity", json_pack("{s:s}", "name", name),
	    NULL, SAFE, out, err);
}

int
av_update_workload_identity(av_handle *h, const char *name,
    const char *const *return_urls, json_t **out, struct av_error *err)
{
	json_t *in = json_pack("{s:s}", "name", name);

	in = with_list(in, "allowedResourceOauth2ReturnUrls", return_urls);
	return post(h, "UpdateWorkloadIdentity", in, NULL, WRITE, out, err);
}

int
av_delete_workload_identity(av_handle *h, const char *name,
    struct av_error *err)
{
	return post(h, "DeleteWorkloadIdentity", json_pack("{s:s}", "name",
	    name), NULL, WRITE, NULL, err);
}

int
av_list_workload_identities(av_handle *h, int max_results,
    const char *next_token, json_t **out, struct av_error *err)
{
	return post(h, "ListWorkloadIdentities", page(max_results, next_token),
	    NULL, SAFE, out, err);
}

int
av_create_api_key_provider(av_handle *h, const char *name,
    const char *api_key, const char *const *tags, json_t **out,
    struct av_error *err)
{
	json_t *in = with_tags(json_pack("{s:s}", "name", name), tags);

	return post(h, "CreateApiKeyCredentialProvider",
	    with_secret(in, "apiKey", api_key), "apiKey", WRITE, out, err);
}

int
av_get_api_key_provider(av_handle *h, const char *name, json_t **out,
    struct av_error *err)
{
	return post(h, "GetApiKeyCredentialProvider", json_pack("{s:s}",
	    "name", name), NULL, SAFE, out, err);
}

int
av_update_api_key_provider(av_handle *h, const char *name,
    const char *api_key, json_t **out, struct av_error *err)
{
	json_t *in = json_pack("{s:s}", "name", name);

	return post(h, "UpdateApiKeyCredentialProvider",
	    with_secret(in, "apiKey", api_key), "apiKey", WRITE, out, err);
}

int
av_delete_api_key_provider(av_handle *h, const char *name,
    struct av_error *err)
{
	return post(h, "DeleteApiKeyCredentialProvider", json_pack("{s:s}",
	    "name", name), NULL, WRITE, NULL, err);
}

int
av_list_api_key_providers(av_handle *h, int max_results,
    const char *next_token, json_t **out, struct av_error *err)
{
	return post(h, "ListApiKeyCredentialProviders",
	    page(max_results, next_token), NULL, SAFE, out, err);
}

/* /tags/{arn}, and ?tagKeys=K&tagKeys=K... for the keys. */
static int
tags_target(char *t, const char *arn, const char *const *keys,
    struct av_error *err)
{
	const char *sep = "?tagKeys=";
	size_t off = 6;

	if (arn == NULL)
		return avc_fail(err, AV_ARGUMENT_ERROR, "the ARN is required");
	memcpy(t, "/tags/", off + 1);
	if (avc_urlencode(t, AVC_TARGET_MAX, &off, arn) != 0)
		goto long_;
	for (; keys != NULL && *keys != NULL; keys++, sep = "&tagKeys=") {
		if (off + 10 > AVC_TARGET_MAX)
			goto long_;
		memcpy(t + off, sep, 10);
		off += 9;
		if (avc_urlencode(t, AVC_TARGET_MAX, &off, *keys) != 0)
			goto long_;
	}
	return 0;
long_:
	return avc_fail(err, AV_ARGUMENT_ERROR, "the ARN and tag keys do not "
	    "fit in a request target");
}

int
av_tag_resource(av_handle *h, const char *arn, const char *const *tags,
    struct av_error *err)
{
	char t[AVC_TARGET_MAX];
	json_t *in;

	if (tags_target(t, arn, NULL, err) != 0)
		return -1;
	if ((in = with_tags(json_object(), tags != NULL ? tags :
	    (const char *const[]){ NULL })) == NULL)
		return bad_args(NULL, err);
	return run(h, "POST", t, in, NULL, WRITE, NULL, err);
}

int
av_untag_resource(av_handle *h, const char *arn, const char *const *keys,
    struct av_error *err)
{
	char t[AVC_TARGET_MAX];

	if (tags_target(t, arn, keys, err) != 0)
		return -1;
	return run(h, "DELETE", t, NULL, NULL, WRITE, NULL, err);
}

int
av_list_tags_for_resource(av_handle *h, const char *arn, json_t **out,
    struct av_error *err)
{
	char t[AVC_TARGET_MAX];

	if (out != NULL)
		*out = NULL;
	if (tags_target(t, arn, NULL, err) != 0)
		return -1;
	return run(h, "GET", t, NULL, NULL, SAFE, out, err);
}

int
av_get_workload_access_token(av_handle *h, const char *workload,
    char **token, struct av_error *err)
{
	return secret_op(h, "GetWorkloadAccessToken", json_pack("{s:s}",
	    "workloadName", workload), NULL, "workloadAccessToken", token,
	    err);
}

int
av_get_workload_access_token_for_user_id(av_handle *h,
    const char *workload, const char *user_id, char **token,
    struct av_error *err)
{
	return secret_op(h, "GetWorkloadAccessTokenForUserId",
	    json_pack("{s:s, s:s}", "workloadName", workload, "userId",
	    user_id), NULL, "workloadAccessToken", token, err);
}

int
av_get_workload_access_token_for_jwt(av_handle *h, const char *workload,
    const char *user_token, char **token, struct av_error *err)
{
	return secret_op(h, "GetWorkloadAccessTokenForJWT", with_secret(
	    json_pack("{s:s}", "workloadName", workload), "userToken",
	    user_token), "userToken", "workloadAccessToken", token, err);
}

int
av_check_jwt(av_handle *h, const char *discovery_url,
    const char *const *audiences, const char *const *clients,
    const char *const *scopes, const char *token, json_t **out,
    struct av_error *err)
{
	json_t *c = json_pack("{s:s}", "discoveryUrl", discovery_url);
	json_t *in = NULL;

	c = with_list(with_list(with_list(c, "allowedAudience", audiences),
	    "allowedClients", clients), "allowedScopes", scopes);
	if (c != NULL && (in = json_pack("{s:{s:o}}",
	    "authorizerConfiguration", "customJWTAuthorizer", c)) == NULL)
		return bad_args(out, err);
	return post(h, "CheckJwt", with_secret(in, "token", token), "token",
	    false, out, err);
}

int
av_get_resource_api_key(av_handle *h, const char *token,
    const char *provider, char **api_key, struct av_error *err)
{
	json_t *in = json_pack("{s:s}", "resourceCredentialProviderName",
	    provider);

	return secret_op(h, "api-key", with_secret(in, "workloadIdentityToken",
	    token), "workloadIdentityToken", "apiKey", api_key, err);
}

/* ---- the token service (RFC 8693) ---- */

#define AGENT_GRANT	"urn:ietf:params:oauth:grant-type:token-exchange"
#define AGENT_WAT_TYPE	"urn:agentvault:params:oauth:token-type:" \
			"workload_access_token"

/* name=value, percent-encoded, after an '&' unless first; 0/-1. */
static int
form_put(char *out, size_t cap, size_t *off, const char *name,
    const char *value)
{
	if (*off > 0 && *off + 1 < cap)
		out[(*off)++] = '&';
	if (avc_urlencode(out, cap, off, name) != 0 || *off + 1 >= cap)
		return -1;
	out[(*off)++] = '=';
	return avc_urlencode(out, cap, off, value);
}

/* An RFC 6749 error ({"error", "error_description"}) as err; else the
 * API's. */
static int
oauth_error(av_handle *h, const struct avc_reply *r, struct av_error *err)
{
	const char *code = NULL, *desc = NULL;
	json_t *doc;

	doc = json_loadb(r->body, r->len, JSON_REJECT_DUPLICATES, NULL);
	if (json_is_object(doc)) {
		code = json_string_value(json_object_get(doc, "error"));
		desc = json_string_value(json_object_get(doc,
		    "error_description"));
	}
	if (code == NULL || *code == '\0' || strlen(code) > 63) {
		json_decref(doc);
		return avc_api_error(h, r, err);
	}
	avc_fail(err, code, "%s", desc != NULL ? desc : code);
	if (err != NULL) {
		err->status = r->status;
		memcpy(err->request_id, h->request_id, sizeof(err->request_id));
	}
	json_decref(doc);
	return -1;
}

int
av_get_agent_access_token(av_handle *h, const char *workload_token,
    const char *audience, const char *scope, char **token,
    long long *expires_in, struct av_error *err)
{
	struct avc_reply r;
	json_t *doc;
	char *body;
	size_t cap, off = 0;
	int rc;

	*token = NULL;
	if (workload_token == NULL || audience == NULL)
		return bad_args(NULL, err);
	cap = 3 * (strlen(workload_token) + strlen(audience) +
	    (scope != NULL ? strlen(scope) : 0)) + 512;
	if ((body = malloc(cap)) == NULL)
		return avc_fail(err, AV_CLIENT_ERROR, "out of memory");
	rc = form_put(body, cap, &off, "grant_type", AGENT_GRANT) != 0 ||
	    form_put(body, cap, &off, "subject_token", workload_token) != 0 ||
	    form_put(body, cap, &off, "subject_token_type",
	    AGENT_WAT_TYPE) != 0 ||
	    form_put(body, cap, &off, "audience", audience) != 0 ||
	    (scope != NULL && form_put(body, cap, &off, "scope", scope) != 0) ?
	    avc_fail(err, AV_CLIENT_ERROR, "request too long") : 0;
	if (rc == 0)
		rc = avc_call_typed(h, "POST", "/oauth2/token",
		    "application/x-www-form-urlencoded", body, off, SAFE, &r,
		    err);
	avc_wipe_free(body, cap);
	if (rc != 0)
		return -1;
	if (r.status != 200) {
		oauth_error(h, &r, err);
		avc_reply_wipe(h, &r);
		return -1;
	}
	rc = avc_json_secret(r.body, r.len, "access_token", token, err);
	if (rc == 0 && expires_in != NULL) {
		doc = json_loadb(r.body, r.len, 0, NULL);
		*expires_in = json_integer_value(json_object_get(doc,
		    "expires_in"));
		avc_json_wipe(json_object_get(doc, "access_token"));
		json_decref(doc);
	}
	avc_reply_wipe(h, &r);
	if (rc == 1)
		return avc_fail(err, AV_PROTOCOL_ERROR, "the reply has no "
		    "access_token");
	return rc;
}

/* ---- OAuth2: GetResourceOauth2Token, CompleteResourceTokenAuth ---- */

#define SESSION_ID_MAX	128	/* after AV_SESSION_URI_PREFIX */

/* "unknown operation": an appliance from before the OAuth2 issue. */
static int
not_yet(struct av_error *err, const char *op)
{
	if (err != NULL && err->status == 400 &&
	    strcmp(err->message, "unknown operation") == 0)
		avc_fail(err, AV_NOT_SUPPORTED_ERROR, "this appliance does not "
		    "support %s yet (OAuth2 credential providers came in a "
		    "later release)", op);
	return -1;
}

static json_t *
oauth2_request(const struct av_oauth2_request *rq)
{
	static const char *const flows[] = { "USER_FEDERATION", "M2M",
	    "ON_BEHALF_OF_TOKEN_EXCHANGE" };
	static const char *const none[] = { NULL };
	json_t *in;

	if ((unsigned)rq->flow >= sizeof(flows) / sizeof(flows[0]))
		return NULL;
	in = json_pack("{s:s, s:s, s:s*, s:s*, s:s*}",
	    "resourceCredentialProviderName", rq->provider, "oauth2Flow",
	    flows[rq->flow], "sessionUri", rq->session_uri,
	    "resourceOauth2ReturnUrl", rq->return_url, "customState",
	    rq->custom_state);
	in = with_list(in, "scopes", rq->scopes != NULL ? rq->scopes : none);
	in = with_list(with_list(in, "resources", rq->resources), "audiences",
	    rq->audiences);
	in = with_pairs(in, "customParameters", rq->custom_parameters);
	if (in != NULL && rq->force_authentication &&
	    json_object_set_new(in, "forceAuthentication", json_true()) != 0) {
		json_decref(in);
		return NULL;
	}
	return with_secret(in, "workloadIdentityToken", rq->workload_token);
}

/* doc[key]: NULL when absent; *bad when present but not a string. */
static const char *
member(json_t *doc, const char *key, bool *bad)
{
	json_t *v = json_object_get(doc, key);

	if (v != NULL && !json_is_string(v))
		*bad = true;
	return json_string_value(v);
}

/* http(s), printable ASCII: it goes to browsers and terminals. */
static bool
url_ok(const char *u)
{
	size_t i;

	if (strncmp(u, "https://", 8) != 0 && strncmp(u, "http://", 7) != 0)
		return false;
	for (i = 0; u[i] != '\0'; i++)
		if (i >= AVC_URL_MAX || u[i] <= ' ' || u[i] > '~')
			return false;
	return true;
}

static bool
session_ok(const char *s)
{
	size_t n = sizeof(AV_SESSION_URI_PREFIX) - 1, id;

	if (strncmp(s, AV_SESSION_URI_PREFIX, n) != 0)
		return false;
	id = strspn(s + n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_");
	return id > 0 && id <= SESSION_ID_MAX && s[n + id] == '\0';
}

/* A reply without a token: the session, checked.  asked: the request's
 * session URI, for a poll's reply that does not repeat it. */
static int
oauth2_session(const char *body, size_t len, const char *asked,
    struct av_oauth2_result *res, struct av_error *err)
{
	json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	const char *url, *uri, *status, *why = NULL;
	bool bad = false;

	url = member(doc, "authorizationUrl", &bad);
	uri = member(doc, "sessionUri", &bad);
	status = member(doc, "sessionStatus", &bad);
	if (uri == NULL)
		uri = asked;
	if (!json_is_object(doc) || bad)
		why = "the reply is not the JSON object this operation returns";
	else if (status == NULL || (strcmp(status, "IN_PROGRESS") != 0 &&
	    strcmp(status, "FAILED") != 0))
		why = "the reply has neither an access token nor a session "
		    "status (IN_PROGRESS or FAILED)";
	else if (uri == NULL || !session_ok(uri))
		why = "the reply has no session URI of the form "
		    AV_SESSION_URI_PREFIX "ID";
	else if (url != NULL && !url_ok(url))
		why = "the authorization URL in the reply is not a printable "
		    "http(s) URL";
	else if (url == NULL && asked == NULL && strcmp(status,
	    "IN_PROGRESS") == 0)
		why = "the reply starts a session without an authorization URL";
	if (why != NULL) {
		json_decref(doc);
		return avc_fail(err, AV_PROTOCOL_ERROR, "%s", why);
	}
	snprintf(res->session_status, sizeof(res->session_status), "%s",
	    status);
	res->session_uri = strdup(uri);
	res->authorization_url = avc_strdup(url);
	json_decref(doc);
	if (res->session_uri == NULL || (url != NULL &&
	    res->authorization_url == NULL))
		return avc_fail(err, AV_CLIENT_ERROR, "out of memory");
	return 0;
}

void
av_oauth2_result_free(struct av_oauth2_result *res)
{
	if (res == NULL)
		return;
	av_secret_free(res->access_token);
	free(res->authorization_url);
	free(res->session_uri);
	memset(res, 0, sizeof(*res));
}

/*
 * Safe to repeat (agentvault.h, reconnection): a poll, and an M2M vend.
 * A first 3LO request may start a session: not repeated.
 */
int
av_get_resource_oauth2_token(av_handle *h, const struct av_oauth2_request *rq,
    struct av_oauth2_result *res, struct av_error *err)
{
	struct avc_reply r;
	json_t *in;
	int rc;

	memset(res, 0, sizeof(*res));
	if (rq == NULL || (in = oauth2_request(rq)) == NULL)
		return bad_args(NULL, err);
	if (avc_exchange(h, "POST", "/identities/oauth2/token", in,
	    "workloadIdentityToken", rq->session_uri != NULL ||
	    rq->flow == AV_M2M, &r, err) != 0)
		return not_yet(err, "GetResourceOauth2Token");
	rc = avc_oauth2_reply(r.body, r.len, rq->session_uri, res, err);
	avc_reply_wipe(h, &r);
	return rc;
}

/* The token (read without jansson: secret.c), or else the session. */
int
avc_oauth2_reply(const char *body, size_t len, const char *asked,
    struct av_oauth2_result *res, struct av_error *err)
{
	int rc;

	memset(res, 0, sizeof(*res));
	rc = avc_json_secret(body, len, "accessToken", &res->access_token,
	    err);
	if (rc == 1)
		rc = oauth2_session(body, len, asked, res, err);
	else if (rc == 0 && res->access_token[0] == '\0')
		rc = avc_fail(err, AV_PROTOCOL_ERROR, "the access token in the "
		    "reply is empty");
	if (rc != 0)
		av_oauth2_result_free(res);
	return rc;
}

int
av_complete_resource_token_auth(av_handle *h, const char *session_uri,
    const char *user_id, const char *user_token, struct av_error *err)
{
	json_t *in, *tok = NULL;
	int rc;

	if ((user_id == NULL) == (user_token == NULL))
		return avc_fail(err, AV_ARGUMENT_ERROR, "give the user as a user "
		    "id or a user token, one of them");
	in = json_pack("{s:s, s:{s:s*}}", "sessionUri", session_uri,
	    "userIdentifier", "userId", user_id);
	/* The JWT is nested: our reference keeps it alive to be wiped. */
	if (in != NULL && user_token != NULL && ((tok =
	    json_string(user_token)) == NULL || json_object_set(json_object_get(
	    in, "userIdentifier"), "userToken", tok) != 0)) {
		json_decref(in);
		in = NULL;
	}
	rc = post(h, "CompleteResourceTokenAuth", in, NULL, WRITE, NULL, err);
	avc_json_wipe(tok);
	json_decref(tok);
	return rc != 0 ? not_yet(err, "CompleteResourceTokenAuth") : 0;
}
