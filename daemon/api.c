/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api.c - routing and the call sequence every operation goes through:
 * who calls (its principal), the transport rule, parse, run (the
 * operation asks api_authorize() before it does any work), audit, reply.
 * A call that cannot be audited fails closed (InternalServerException),
 * and the reply waits for the parent to say its audit record is in the
 * log.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "api.h"
#include "log.h"
#include "oauth3lo.h"

enum plane {
	PLANE_OPEN,	/* liveness: any caller, not audited */
	PLANE_CONTROL,	/* admin socket, admin callers */
	PLANE_DIRECTORY, /* the same, or a service on either socket */
	PLANE_DATA,	/* agent or admin socket, agent, admin or service
			 * callers */
	PLANE_BROWSER,	/* any listener, anybody: the OAuth callback, whose
			 * state is its credential; audited, no principal */
};

/* How a route's requests and replies are written. */
enum style {
	STYLE_AWS,	/* JSON in, JSON out, errors {"__type", "message"} */
	STYLE_OAUTH,	/* a form in (the op parses it), JSON out, errors
			 * {"error", "error_description"}, no-store (RFC 6749
			 * section 5) */
	STYLE_PUBLISHED, /* a document anyone may cache a while */
};

struct route {
	const char	*method;
	const char	*path;		/* ending in '/': a prefix, the rest
					   (and any query) the op's to parse;
					   in '?': this path, with or without
					   a query; else exactly this */
	const char	*operation;
	enum plane	 plane;
	bool		 write;		/* fsync the audit record first */
	api_op_fn	*fn;
};

static api_op_fn op_ping;

/* The few routes that are not AWS's JSON API: the token service's. */
static enum style
style_of(const struct route *r)
{
	if (r->fn == op_get_agent_access_token)
		return STYLE_OAUTH;
	if (r->fn == op_openid_configuration || r->fn == op_jwks)
		return STYLE_PUBLISHED;
	return STYLE_AWS;
}

static const struct route routes[] = {
	{ "GET", "/ping", "Ping", PLANE_OPEN, false, op_ping },
	{ "GET", "/.well-known/openid-configuration", "GetOpenIdConfiguration",
	    PLANE_OPEN, false, op_openid_configuration },
	{ "GET", "/.well-known/jwks.json", "GetJwks", PLANE_OPEN, false,
	    op_jwks },
	{ "POST", "/oauth2/token", "GetAgentAccessToken", PLANE_DATA, false,
	    op_get_agent_access_token },
	{ "POST", "/identities/get-token-vault", "GetTokenVault",
	    PLANE_CONTROL, false, op_get_token_vault },
	{ "POST", "/identities/CreateWorkloadIdentity",
	    "CreateWorkloadIdentity", PLANE_DIRECTORY, true,
	    op_create_workload_identity },
	{ "POST", "/identities/GetWorkloadIdentity", "GetWorkloadIdentity",
	    PLANE_DIRECTORY, false, op_get_workload_identity },
	{ "POST", "/identities/UpdateWorkloadIdentity",
	    "UpdateWorkloadIdentity", PLANE_DIRECTORY, true,
	    op_update_workload_identity },
	{ "POST", "/identities/DeleteWorkloadIdentity",
	    "DeleteWorkloadIdentity", PLANE_DIRECTORY, true,
	    op_delete_workload_identity },
	{ "POST", "/identities/ListWorkloadIdentities",
	    "ListWorkloadIdentities", PLANE_DIRECTORY, false,
	    op_list_workload_identities },
	{ "POST", "/identities/GetWorkloadAccessToken",
	    "GetWorkloadAccessToken", PLANE_DATA, false,
	    op_get_workload_access_token },
	{ "POST", "/identities/GetWorkloadAccessTokenForUserId",
	    "GetWorkloadAccessTokenForUserId", PLANE_DATA, false,
	    op_get_workload_access_token_for_user_id },
	{ "POST", "/identities/GetWorkloadAccessTokenForJWT",
	    "GetWorkloadAccessTokenForJWT", PLANE_DATA, false,
	    op_get_workload_access_token_for_jwt },
	{ "POST", "/identities/CheckJwt", "CheckJwt", PLANE_CONTROL, false,
	    op_check_jwt },
	{ "POST", "/identities/api-key", "GetResourceApiKey", PLANE_DATA,
	    false, op_get_resource_api_key },
	{ "POST", "/identities/oauth2/token", "GetResourceOauth2Token",
	    PLANE_DATA, false, op_get_resource_oauth2_token },
	{ "POST", "/identities/CompleteResourceTokenAuth",
	    "CompleteResourceTokenAuth", PLANE_DATA, true,
	    op_complete_resource_token_auth },
	{ "GET", "/identities/oauth2/callback?", "OAuth2Callback",
	    PLANE_BROWSER, true, op_oauth2_callback },
	{ "POST", "/identities/CreateApiKeyCredentialProvider",
	    "CreateApiKeyCredentialProvider", PLANE_CONTROL, true,
	    op_create_api_key_provider },
	{ "POST", "/identities/GetApiKeyCredentialProvider",
	    "GetApiKeyCredentialProvider", PLANE_CONTROL, false,
	    op_get_api_key_provider },
	{ "POST", "/identities/UpdateApiKeyCredentialProvider",
	    "UpdateApiKeyCredentialProvider", PLANE_CONTROL, true,
	    op_update_api_key_provider },
	{ "POST", "/identities/DeleteApiKeyCredentialProvider",
	    "DeleteApiKeyCredentialProvider", PLANE_CONTROL, true,
	    op_delete_api_key_provider },
	{ "POST", "/identities/ListApiKeyCredentialProviders",
	    "ListApiKeyCredentialProviders", PLANE_CONTROL, false,
	    op_list_api_key_providers },
	{ "POST", "/identities/CreateOauth2CredentialProvider",
	    "CreateOauth2CredentialProvider", PLANE_CONTROL, true,
	    op_create_oauth2_provider },
	{ "POST", "/identities/GetOauth2CredentialProvider",
	    "GetOauth2CredentialProvider", PLANE_CONTROL, false,
	    op_get_oauth2_provider },
	{ "POST", "/identities/UpdateOauth2CredentialProvider",
	    "UpdateOauth2CredentialProvider", PLANE_CONTROL, true,
	    op_update_oauth2_provider },
	{ "POST", "/identities/DeleteOauth2CredentialProvider",
	    "DeleteOauth2CredentialProvider", PLANE_CONTROL, true,
	    op_delete_oauth2_provider },
	{ "POST", "/identities/ListOauth2CredentialProviders",
	    "ListOauth2CredentialProviders", PLANE_CONTROL, false,
	    op_list_oauth2_providers },
	{ "POST", "/tags/", "TagResource", PLANE_CONTROL, true,
	    op_tag_resource },
	{ "DELETE", "/tags/", "UntagResource", PLANE_CONTROL, true,
	    op_untag_resource },
	{ "GET", "/tags/", "ListTagsForResource", PLANE_CONTROL, false,
	    op_list_tags_for_resource },
	{ "POST", "/policies/CreatePolicy", "CreatePolicy", PLANE_CONTROL,
	    true, op_create_policy },
	{ "POST", "/policies/GetPolicy", "GetPolicy", PLANE_CONTROL, false,
	    op_get_policy },
	{ "POST", "/policies/UpdatePolicy", "UpdatePolicy", PLANE_CONTROL,
	    true, op_update_policy },
	{ "POST", "/policies/DeletePolicy", "DeletePolicy", PLANE_CONTROL,
	    true, op_delete_policy },
	{ "POST", "/policies/ListPolicies", "ListPolicies", PLANE_CONTROL,
	    false, op_list_policies },
	{ "POST", "/policies/AttachPrincipalPolicy", "AttachPrincipalPolicy",
	    PLANE_CONTROL, true, op_attach_principal_policy },
	{ "POST", "/policies/DetachPrincipalPolicy", "DetachPrincipalPolicy",
	    PLANE_CONTROL, true, op_detach_principal_policy },
	{ "POST", "/policies/SimulatePrincipalPolicy",
	    "SimulatePrincipalPolicy", PLANE_CONTROL, false,
	    op_simulate_principal_policy },
	{ "POST", "/principals/GetPrincipal", "GetPrincipal", PLANE_CONTROL,
	    false, op_get_principal },
	{ "POST", "/principals/ListPrincipals", "ListPrincipals",
	    PLANE_CONTROL, false, op_list_principals },
};

static int
op_ping(struct api_ctx *ctx, struct api_call *call, json_t *in, json_t *out,
    struct av_err *e)
{
	(void)ctx;
	(void)call;
	(void)in;
	(void)e;
	json_object_set_new(out, "status", json_string("ok"));
	json_object_set_new(out, "service", json_string("agentvault"));
	json_object_set_new(out, "version", json_string(AV_VERSION));
	return 0;
}

/*
 * The transport rule, before any policy: the control plane is served on
 * the admin socket only, the directory also to services on either Unix
 * socket, the data plane on every listener.  A policy cannot widen this.
 */
static int
transport_ok(const struct route *r, const struct av_caller *c,
    const char *service, struct av_err *e)
{
	switch (r->plane) {
	case PLANE_OPEN:
	case PLANE_DATA:
	case PLANE_BROWSER:
		return 0;
	case PLANE_DIRECTORY:
		if (service != NULL && c->listener != AV_LISTENER_TCP)
			return 0;
		/* FALLTHROUGH */
	case PLANE_CONTROL:
		if (c->listener == AV_LISTENER_ADMIN)
			return 0;
		break;
	}
	return av_fail(e, AV_E_ACCESS_DENIED, "%s is served on the admin "
	    "socket only", r->operation);
}

/*
 * Tags, as policies read them on every call: each loop thread keeps the
 * last TAGS_CACHE_MAX resources' tags while the store has not run a
 * transaction since (any write may have changed them).
 */
#define TAGS_CACHE_MAX	32

struct tags_cache {
	uint64_t	 generation;
	size_t		 n, next;
	struct {
		char	 arn[sizeof(((struct api_call *)0)->resource)];
		json_t	*tags;
	} v[TAGS_CACHE_MAX];
};

static __thread struct tags_cache *tags_cache;

static void
tags_cache_clear(struct tags_cache *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		json_decref(c->v[i].tags);
	c->n = c->next = 0;
}

json_t *
api_resource_tags(struct api_ctx *ctx, const char *arn)
{
	struct tags_cache *c = tags_cache;
	uint64_t gen = store_generation(ctx->store);
	struct av_err e;
	json_t *tags;
	size_t i;

	if (c == NULL && (c = tags_cache = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if (c->generation != gen) {
		tags_cache_clear(c);
		c->generation = gen;
	}
	for (i = 0; i < c->n; i++)
		if (strcmp(c->v[i].arn, arn) == 0)
			return json_incref(c->v[i].tags);
	if ((tags = json_object()) == NULL ||
	    store_tags_read(ctx->store, arn, tags, &e) != 0 ||
	    strlen(arn) >= sizeof(c->v[0].arn)) {
		json_decref(tags);
		return NULL;
	}
	/* Round robin: which one goes matters little at this size. */
	if (c->n < TAGS_CACHE_MAX)
		i = c->n++;
	else {
		i = c->next++ % TAGS_CACHE_MAX;
		json_decref(c->v[i].tags);
	}
	memcpy(c->v[i].arn, arn, strlen(arn) + 1);
	c->v[i].tags = json_incref(tags);
	return tags;
}

int
api_authorize(struct api_ctx *ctx, struct api_call *call,
    struct authz_request *q, struct av_err *e)
{
	json_t *rtags = NULL, *wtags = NULL;
	int rc;

	q->operation = call->operation;
	if (q->resource == NULL)
		q->resource = call->resource;
	/* Looked up only when a policy could test them. */
	if (q->resource_tags == NULL && q->resource[0] != '\0' &&
	    authz_uses(call->principal, AUTHZ_RESOURCE_TAGS)) {
		if ((rtags = api_resource_tags(ctx, q->resource)) == NULL)
			return av_fail(e, AV_E_INTERNAL, "cannot read the "
			    "resource's tags");
		q->resource_tags = rtags;
	}
	/* A workload's tags describe the caller only when it acts as that
	 * workload (its token); minting one is not acting as it. */
	if (q->workload_tags == NULL && q->workload != NULL &&
	    q->as_workload &&
	    authz_uses(call->principal, AUTHZ_PRINCIPAL_TAGS)) {
		if ((wtags = api_resource_tags(ctx, q->workload)) == NULL) {
			json_decref(rtags);
			return av_fail(e, AV_E_INTERNAL, "cannot read the "
			    "workload identity's tags");
		}
		q->workload_tags = wtags;
	}
	rc = authz_decide(call->principal, call->req->caller, q,
	    call->decision, sizeof(call->decision), e);
	call->authorized = rc == 0;
	json_decref(rtags);
	json_decref(wtags);
	return rc;
}

int
api_authz_load(struct api_ctx *ctx, struct av_err *e)
{
	struct authz_sources stored = { 0 };
	struct store_attachment *sa = NULL;
	struct authz_attachment *att = NULL;
	struct authz *a = NULL;
	size_t i, n = 0;

	/*
	 * Read, build and publish under one lock: two changes made at once
	 * on two loops cannot publish out of order (the older snapshot last).
	 */
	pthread_mutex_lock(&ctx->authz_load);
	if (store_policy_load(ctx->store, &stored, &sa, &n, e) != 0)
		goto done;
	if ((att = calloc(n + 1, sizeof(*att))) == NULL) {
		av_fail(e, AV_E_INTERNAL, "out of memory");
		goto done;
	}
	for (i = 0; i < n; i++) {
		att[i].principal = sa[i].principal;
		att[i].policy = sa[i].policy;
	}
	if ((a = authz_build(&ctx->cfg->principals, &ctx->policy_files,
	    &stored, att, n, e)) != NULL)
		authz_publish(&ctx->authz, a);
done:
	pthread_mutex_unlock(&ctx->authz_load);
	authz_sources_free(&stored);
	free(sa);
	free(att);
	return a != NULL ? 0 : -1;
}

static json_t *parse_body(const struct httpd_req *req, struct av_err *e);

static const char oom_body[] = "{\"__type\":\"InternalServerException\","
    "\"message\":\"out of memory\"}";

/* The reply's text: body, or an error; NULL when out of memory. */
static struct api_reply *
reply_new(struct httpd_req *req, const json_t *body, const struct av_err *e)
{
	struct api_reply *r;
	json_t *err = NULL;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->req = req;
	if (e != NULL) {
		err = json_pack("{s:s, s:s}", "__type", e->type, "message",
		    e->msg);
		body = err;
		r->status = av_err_status(e->type);
	} else
		r->status = 200;
	r->body = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(err);
	if (r->body == NULL) {
		free(r);
		return NULL;
	}
	r->len = strlen(r->body);
	return r;
}

void
api_reply_finish(struct api_reply *r, bool audited)
{
	static const char refused[] = "{\"__type\":\"InternalServerException"
	    "\",\"message\":\"the audit trail cannot be written; the call "
	    "was refused\"}";

	if (!audited)
		httpd_reply(r->req, 500, refused, sizeof(refused) - 1);
	else if (r->location != NULL) {
		if (httpd_reply_redirect(r->req, r->location) != 0)
			httpd_reply_html(r->req, 500, "<!DOCTYPE html><title>"
			    "error</title><p>internal error</p>");
	} else if (r->html)
		httpd_reply_html(r->req, r->status, r->body);
	else
		httpd_reply_ex(r->req, r->status, "application/json",
		    r->headers, r->body, r->len);
	/* Replies can carry secrets (GetResourceApiKey). */
	OPENSSL_cleanse(r->body, r->len);
	free(r->body);
	free(r->location);
	free(r);
}

/* Reply now, without an audit record (liveness, test hooks). */
static void
reply_now(struct httpd_req *req, const json_t *body, const struct av_err *e)
{
	struct api_reply *r = reply_new(req, body, e);

	if (r == NULL)
		httpd_reply(req, 500, oom_body, sizeof(oom_body) - 1);
	else
		api_reply_finish(r, true);
}

/* Parse the request body: a JSON object, or nothing. */
static json_t *
parse_body(const struct httpd_req *req, struct av_err *e)
{
	json_error_t jerr;
	json_t *in;

	if (req->body_len == 0)
		return json_object();
	if (!req->json) {
		av_fail(e, AV_E_VALIDATION, "the body must be JSON "
		    "(Content-Type: application/json)");
		return NULL;
	}
	in = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (in == NULL) {
		av_fail(e, AV_E_VALIDATION, "malformed JSON at line %d column "
		    "%d: %s", jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(in)) {
		json_decref(in);
		av_fail(e, AV_E_VALIDATION, "the body must be a JSON object");
		return NULL;
	}
	return in;
}

static bool
route_match(const char *path, const char *target)
{
	size_t n = strlen(path);

	switch (path[n - 1]) {
	case '/':
		return strncmp(path, target, n) == 0;
	case '?':
		return strncmp(path, target, n - 1) == 0 &&
		    (target[n - 1] == '\0' || target[n - 1] == '?');
	default:
		return strcmp(path, target) == 0;
	}
}

static const struct route *
route_find(const struct httpd_req *req, bool *method_mismatch)
{
	size_t i;

	*method_mismatch = false;
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (!route_match(routes[i].path, req->target))
			continue;
		if (strcmp(routes[i].method, req->method) == 0)
			return &routes[i];
		*method_mismatch = true;
	}
	return NULL;
}

/* /test/outbound: the answer, once it comes (the body if short). */
static void
test_outbound_done(const struct outbound_resp *r, void *arg)
{
	json_t *out, *body;

	out = json_pack("{s:I, s:I, s:s, s:s?, s:s}", "status",
	    (json_int_t)r->status, "bodyLength", (json_int_t)r->body_len,
	    "error", outbound_error_name(r->error), "contentType",
	    r->content_type, "message", r->message);
	if (out != NULL && r->body_len <= 4096 &&
	    (body = json_stringn(r->body, r->body_len)) != NULL)
		json_object_set_new(out, "body", body);
	reply_now(arg, out, NULL);
	json_decref(out);
}

/* /test/outbound {"url", "method", "body", "contentType", "user",
 * "password"}: one request through this loop's client; the reply waits. */
static void
test_outbound(struct api_ctx *ctx, struct httpd_req *req)
{
	struct av_err e = { AV_E_VALIDATION, "" };
	struct outbound_req q;
	const char *method = "GET";
	json_t *in;

	memset(&q, 0, sizeof(q));
	if ((in = parse_body(req, &e)) == NULL) {
		reply_now(req, NULL, &e);
		return;
	}
	/* outbound_request() copies what it keeps of q. */
	if (json_unpack(in, "{s:s, s?s, s?s, s?s, s?s, s?s}", "url", &q.url,
	    "method", &method, "body", &q.body, "contentType",
	    &q.content_type, "user", &q.user, "password", &q.password) != 0)
		av_fail(&e, AV_E_VALIDATION, "expected {url, method, body, "
		    "contentType, user, password}");
	else {
		q.method = strcmp(method, "POST") == 0 ? OUTBOUND_POST :
		    OUTBOUND_GET;
		q.body_len = q.body != NULL ? strlen(q.body) : 0;
		if (outbound_request(ctx->outbound(ctx->audit_arg), &q,
		    test_outbound_done, req, &e) == 0)
			e.type = NULL;
	}
	if (e.type != NULL)
		reply_now(req, NULL, &e);
	json_decref(in);
}

/* /test/deferred: the outbound request's outcome, or the error asked. */
struct test_deferred {
	struct api_pending	*p;
	bool			 fail;
};

static void
test_deferred_done(const struct outbound_resp *r, void *arg)
{
	struct test_deferred *t = arg;
	struct av_err e = { NULL, "" };
	json_t *out;

	out = json_pack("{s:I, s:s}", "status", (json_int_t)r->status,
	    "error", outbound_error_name(r->error));
	if (t->fail)
		av_fail(&e, AV_E_VALIDATION, "failed as asked");
	api_resume(t->p, t->fail ? -1 : 0, out, &e);
	json_decref(out);
	free(t);
}

/*
 * /test/deferred {"url", "fail", "authorize"}: an operation that defers
 * its call until an outbound request to url is answered, then succeeds
 * (or fails as asked; or, without authorize, must fail closed).  Served
 * through serve(), so audited as TestDeferred on the vault.
 */
static int
op_test_deferred(struct api_ctx *ctx, struct api_call *call, json_t *in,
    json_t *out, struct av_err *e)
{
	struct outbound_req q = { .method = OUTBOUND_GET };
	struct test_deferred *t;
	int fail = 0, authorize = 1;

	(void)out;
	if (json_unpack(in, "{s:s, s?b, s?b}", "url", &q.url, "fail", &fail,
	    "authorize", &authorize) != 0)
		return av_fail(e, AV_E_VALIDATION, "expected {url, fail, "
		    "authorize}");
	api_vault_arn(ctx, call->resource, sizeof(call->resource));
	if (authorize && api_allow(ctx, call, NULL, e) != 0)
		return -1;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	t->fail = fail;
	if ((t->p = api_defer(call)) == NULL) {
		free(t);
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	}
	if (outbound_request(ctx->outbound(ctx->audit_arg), &q,
	    test_deferred_done, t, e) != 0) {
		free(t);	/* api_handle frees the unused p */
		return -1;
	}
	return API_PENDING;
}

/* Not in routes[]: served only as a test hook. */
static const struct route test_deferred_route = { .method = "POST",
    .path = "/test/deferred", .operation = "TestDeferred",
    .plane = PLANE_CONTROL, .fn = op_test_deferred };
static void serve(struct api_ctx *ctx, struct httpd_req *req,
    const struct route *r);

/*
 * /test/probe {"what": "getaddrinfo" | "unix-socket"}: what libraries do
 * behind our back in the sandbox.  getaddrinfo with AI_ADDRCONFIG lists
 * the interfaces over netlink, as it does to sort a name's addresses;
 * syslog(3) opens a Unix socket.  The answer: 0 or the errno.
 */
static int
probe(const char *what)
{
	struct addrinfo hints, *res;
	int fd, rc;

	if (strcmp(what, "unix-socket") == 0) {
		if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
			return errno;
		close(fd);
		return 0;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	if ((rc = getaddrinfo("localhost", "443", &hints, &res)) != 0)
		return rc == EAI_SYSTEM ? errno : -1;
	freeaddrinfo(res);
	return 0;
}

static void
test_probe(struct httpd_req *req)
{
	struct av_err e = { AV_E_VALIDATION, "" };
	const char *what;
	json_t *in, *out = NULL;

	if ((in = parse_body(req, &e)) == NULL ||
	    json_unpack(in, "{s:s}", "what", &what) != 0) {
		av_fail(&e, AV_E_VALIDATION, "expected {what}");
		reply_now(req, NULL, &e);
	} else {
		out = json_pack("{s:i}", "errno", probe(what));
		reply_now(req, out, NULL);
	}
	json_decref(in);
	json_decref(out);
}

/*
 * Test hooks, only with AGENTVAULT_TEST_HOOKS=1 in the daemon's
 * environment and only on the admin socket (tests/integration):
 *   /test/forbidden-syscall  make a syscall the sandbox forbids;
 *   /test/put-secret, /test/get-secret  {"name","value"} through the real
 *   store and vault, until the operations that store secrets exist;
 *   /test/bad-ipc {"kind": "unknown"|"oversized"|"out-of-order"}  send
 *   the parent a frame it must answer by killing this worker;
 *   /test/outbound  an outbound HTTP request (test_outbound);
 *   /test/probe  syscalls libraries make in the sandbox (test_probe);
 *   /test/deferred  an operation answered later (op_test_deferred).
 */
static bool
test_hook(struct api_ctx *ctx, struct httpd_req *req)
{
	struct av_err e = { AV_E_INTERNAL, "" };
	json_t *in = NULL, *out = NULL;
	const char *name = NULL, *value = NULL;
	uint8_t buf[1024];
	size_t len = 0;
	int rc = -1;

	if (!ctx->test_hooks || strncmp(req->target, "/test/", 6) != 0 ||
	    req->caller->listener != AV_LISTENER_ADMIN)
		return false;
	if (strcmp(req->target, "/test/forbidden-syscall") == 0) {
		/* execve is not on the allowlist: the kernel kills us. */
		execve("/bin/true", (char *[]){ "true", NULL },
		    (char *[]){ NULL });
		httpd_reply(req, 500, NULL, 0);
		return true;
	}
	if (strcmp(req->target, "/test/outbound") == 0) {
		test_outbound(ctx, req);
		return true;
	}
	if (strcmp(req->target, "/test/probe") == 0) {
		test_probe(req);
		return true;
	}
	if (strcmp(req->target, "/test/deferred") == 0) {
		serve(ctx, req, &test_deferred_route);
		return true;
	}
	if (strcmp(req->target, "/test/bad-ipc") == 0 &&
	    (in = parse_body(req, &e)) != NULL &&
	    json_unpack(in, "{s:s}", "kind", &name) == 0) {
		ctx->bad_ipc(name, ctx->audit_arg);
		json_decref(in);
		in = NULL;
		rc = 0;
	} else if ((in = parse_body(req, &e)) != NULL &&
	    json_unpack(in, "{s:s, s?s}", "name", &name, "value", &value) == 0) {
		if (strcmp(req->target, "/test/put-secret") == 0 && value != NULL)
			rc = store_secret_put(ctx->store, ctx->vault, "test",
			    name, "", (const uint8_t *)value, strlen(value), &e);
		else if (strcmp(req->target, "/test/get-secret") == 0 &&
		    (rc = store_secret_get(ctx->store, ctx->vault, "test",
		    name, "", buf, sizeof(buf) - 1, &len, &e)) == 0) {
			buf[len] = '\0';
			out = json_pack("{s:s}", "value", (char *)buf);
		}
	}
	if (rc == 0 && out == NULL)
		out = json_object();
	reply_now(req, out, rc == 0 ? NULL : &e);
	json_decref(in);
	json_decref(out);
	return true;
}

/*
 * A call an operation deferred (API_PENDING): what api_handle needs to
 * finish it later, as it would have at once.
 */
struct api_pending {
	struct api_ctx		*ctx;
	struct httpd_req	*req;
	const struct route	*route;
	const char		*principal;	/* its config's name */
	struct api_call		 call;
};

/* The browser plane's reply: the op's redirect or page, else an error
 * page; NULL when out of memory. */
static struct api_reply *
reply_browser(struct httpd_req *req, struct api_call *call, int rc,
    const struct av_err *e)
{
	struct api_reply *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->req = req;
	r->html = true;
	r->location = call->browser.location;
	call->browser.location = NULL;
	if (call->browser.html != NULL) {
		r->status = call->browser.status;
		r->body = call->browser.html;
		call->browser.html = NULL;
	} else if (r->location == NULL) {
		r->status = rc != 0 ? av_err_status(e->type) : 500;
		if (asprintf(&r->body, "<!DOCTYPE html><title>error</title>"
		    "<h1>%s</h1><p>The appliance could not finish this "
		    "sign-in.</p>", rc != 0 ? e->type : AV_E_INTERNAL) < 0)
			r->body = NULL;
		if (r->body == NULL) {
			free(r);
			return NULL;
		}
	}
	r->len = r->body != NULL ? strlen(r->body) : 0;
	return r;
}

/*
 * An OAuth route's reply (RFC 6749 section 5): never cached, and its
 * errors are {"error", "error_description"}, 400 for a request refused,
 * 500 or 503 for the appliance's failures.  A caller the appliance does
 * not know is invalid_client; a policy's refusal unauthorized_client.
 */
static struct api_reply *
reply_oauth(struct httpd_req *req, const struct api_call *call,
    const json_t *out, const struct av_err *e)
{
	const char *code = call->oauth_error;
	struct api_reply *r;
	json_t *err;
	int status = 400;

	if (e == NULL)
		r = reply_new(req, out, NULL);
	else {
		if (strcmp(e->type, AV_E_INTERNAL) == 0 ||
		    strcmp(e->type, AV_E_DECRYPTION) == 0 ||
		    strcmp(e->type, AV_E_ENCRYPTION) == 0)
			code = "server_error", status = 500;
		else if (strcmp(e->type, AV_E_THROTTLING) == 0)
			code = "temporarily_unavailable", status = 503;
		else if (code == NULL && strcmp(e->type,
		    AV_E_ACCESS_DENIED) == 0)
			code = call->principal == NULL ? "invalid_client" :
			    "unauthorized_client";
		else if (code == NULL)
			code = "invalid_request";
		err = json_pack("{s:s, s:s}", "error", code,
		    "error_description", e->msg);
		r = err != NULL ? reply_new(req, err, NULL) : NULL;
		json_decref(err);
		if (r != NULL)
			r->status = status;
	}
	if (r != NULL)
		r->headers = "Cache-Control: no-store\r\nPragma: no-cache\r\n";
	return r;
}

/* The reply of route r's call, as its style writes it. */
static struct api_reply *
reply_for(struct httpd_req *req, const struct route *r,
    struct api_call *call, int rc, const json_t *out, const struct av_err *e)
{
	struct api_reply *reply;

	if (r->plane == PLANE_BROWSER)
		return reply_browser(req, call, rc, e);
	if (style_of(r) == STYLE_OAUTH)
		return reply_oauth(req, call, out, rc == 0 ? NULL : e);
	reply = reply_new(req, out, rc == 0 ? NULL : e);
	/* Published documents change when the signing key is rotated, at
	 * a restart: verifiers refetch on an unknown kid meanwhile. */
	if (reply != NULL && style_of(r) == STYLE_PUBLISHED)
		reply->headers = rc == 0 ? "Cache-Control: public, "
		    "max-age=300\r\n" : "Cache-Control: no-store\r\n";
	return reply;
}

/*
 * The end of every call but liveness: fail closed without a decision,
 * audit, then reply (behind the audit record), and release the authz
 * snapshot.
 */
static void
finish(struct api_ctx *ctx, struct httpd_req *req, const struct route *r,
    struct api_call *call, const char *principal, int rc, const json_t *out,
    struct av_err *e)
{
	struct api_reply *reply;
	struct api_audit ev;

	/* Success without a decision is a bug: fail closed. */
	if (rc == 0 && r->plane != PLANE_OPEN && !call->authorized) {
		log_error("%s returned without authorizing the call; refused",
		    r->operation);
		(void)snprintf(call->decision, sizeof(call->decision),
		    "not authorized (internal error)");
		rc = av_fail(e, AV_E_INTERNAL, "internal error");
	}
	memset(&ev, 0, sizeof(ev));
	ev.request_id = req->request_id;
	ev.operation = r->operation;
	ev.resource = call->resource;
	ev.caller = req->caller;
	ev.principal = principal;
	ev.decision = call->decision[0] != '\0' ? call->decision : NULL;
	if (call->user_issuer[0] != '\0') {
		ev.user_issuer = call->user_issuer;
		ev.user_subject_hash = call->user_subject_hash;
	}
	ev.sync = r->write;
	ev.outcome = rc == 0 ? "allowed" :
	    strcmp(e->type, AV_E_ACCESS_DENIED) == 0 ? "denied" : "error";
	ev.error = rc == 0 ? NULL : e->type;
	if ((reply = reply_for(req, r, call, rc, out, e)) == NULL)
		httpd_reply(req, 500, oom_body, sizeof(oom_body) - 1);
	else if (r->plane == PLANE_OPEN)
		api_reply_finish(reply, true);
	/* No record, no reply: an unauditable call fails closed. */
	else if (ctx->audit(&ev, reply, ctx->audit_arg) != 0)
		api_reply_finish(reply, false);
	free(call->browser.location);
	free(call->browser.html);
	call->browser.location = call->browser.html = NULL;
	authz_release(call->authz);
	call->authz = NULL;
}

struct api_pending *
api_defer(struct api_call *call)
{
	struct api_pending *p;

	if (call->pending != NULL || (p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	call->pending = p;
	return p;
}

void
api_resume(struct api_pending *p, int rc, json_t *out, struct av_err *e)
{
	struct av_err oom = { NULL, "" };
	json_t *empty = NULL;

	if (rc == 0 && out == NULL && (out = empty = json_object()) == NULL)
		rc = av_fail(e = &oom, AV_E_INTERNAL, "out of memory");
	if (rc != 0 && (e == NULL || e->type == NULL))
		rc = av_fail(e = &oom, AV_E_INTERNAL, "internal error");
	finish(p->ctx, p->req, p->route, &p->call, p->principal, rc, out, e);
	json_decref(empty);
	free(p);
}

struct api_call *
api_pending_call(struct api_pending *p)
{
	return &p->call;
}

/* One call of route r: who calls, transport, parse, run, finish. */
static void
serve(struct api_ctx *ctx, struct httpd_req *req, const struct route *r)
{
	struct api_call call;
	const struct av_principal *pc;
	const char *principal = NULL;
	struct av_err e = { NULL, "" };
	json_t *in = NULL, *out = NULL;
	int rc = 0;

	memset(&call, 0, sizeof(call));
	call.req = req;
	call.operation = r->operation;
	if (r->plane != PLANE_OPEN) {
		call.authz = authz_acquire(&ctx->authz);
		call.principal = authz_principal_of(call.authz, req->caller);
	}
	if (call.principal != NULL) {
		pc = authz_principal_config(call.principal);
		principal = pc->name;
		if (pc->kind != AV_PRINCIPAL_CALLER)
			call.service = pc->name;
	}

	if (r->plane != PLANE_OPEN && transport_ok(r, req->caller,
	    call.service, &e) != 0) {
		(void)snprintf(call.decision, sizeof(call.decision),
		    "transport: %s", e.msg);
		rc = -1;
	}
	/* Nobody the appliance knows: refused before reading anything. */
	if (rc == 0 && r->plane != PLANE_OPEN && r->plane != PLANE_BROWSER &&
	    call.principal == NULL) {
		struct authz_request q = { .operation = r->operation,
		    .resource = "" };

		rc = authz_decide(NULL, req->caller, &q, call.decision,
		    sizeof(call.decision), &e);
	}
	/* An OAuth route's op reads its form itself. */
	if (rc == 0 && (in = style_of(r) == STYLE_OAUTH ? json_object() :
	    parse_body(req, &e)) == NULL)
		rc = e.type != NULL ? -1 : av_fail(&e, AV_E_INTERNAL,
		    "out of memory");
	if (rc == 0 && (out = json_object()) == NULL)
		rc = av_fail(&e, AV_E_INTERNAL, "out of memory");
	if (rc == 0)
		rc = r->fn(ctx, &call, in, out, &e);
	if (rc == API_PENDING && call.pending != NULL &&
	    r->plane != PLANE_OPEN) {
		/* The op finishes it with api_resume(); the call's state
		 * (authz snapshot, resource, decision) goes with it. */
		call.pending->ctx = ctx;
		call.pending->req = req;
		call.pending->route = r;
		call.pending->principal = principal;
		call.pending->call = call;
		call.pending->call.pending = NULL;
	} else {
		/* Deferred, then finished at once: p was not handed out. */
		free(call.pending);
		call.pending = NULL;
		if (rc == API_PENDING) {
			log_error("%s returned pending without api_defer(); "
			    "refused", r->operation);
			rc = av_fail(&e, AV_E_INTERNAL, "internal error");
		}
		finish(ctx, req, r, &call, principal, rc, out, &e);
	}
	json_decref(in);
	json_decref(out);
}

void
api_handle(struct httpd_req *req, void *arg)
{
	struct api_ctx *ctx = arg;
	const struct route *r;
	struct av_err e = { NULL, "" };
	bool mismatch;

	if (test_hook(ctx, req))
		return;
	if ((r = route_find(req, &mismatch)) == NULL) {
		av_fail(&e, AV_E_VALIDATION, mismatch ? "method not allowed" :
		    "unknown operation");
		reply_now(req, NULL, &e);
		return;
	}
	serve(ctx, req, r);
}
