/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_libagentvault.c - libagentvault against the real daemon and against
 * the misbehaving servers of tests/integration/test_client.py, which runs
 * one scenario per invocation and passes the TAP lines on:
 *
 *   api        every operation, success and error; keep-alive; wiping
 *   decorate   av_with_api_key's token cache, av_with_access_token
 *   restart    the same handle across a daemon and a worker restart
 *   badca      a server certificate from another CA, another name
 *   timeout    a listener that never answers (handshake, reply)
 *   retry      the reconnect rule: what is repeated and what is not
 *   protocol   malformed replies
 *   oauth      the OAuth2 calls, av_with_access_token's consent and
 *              polling, av_wait_oauth2_token, faked
 *   oauth-e2e  M2M against the daemon and a real OpenID provider
 *              (tests/oauth/test_client_oauth.py)
 *   tcp        TCP with a client certificate
 *   unit       the secret reader and the URL encoder, directly
 *
 * Environment: ADMIN, AGENT (sockets), CA, AUDIT (the audit log), FAKE
 * (a fake server's socket), FAKE_CA, PORT, CERT, KEY; for oauth-e2e
 * PROVIDER, WORKLOAD and TOKEN_OUT (where fn writes the token).
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agentvault.h"
#include "lib/internal.h"

static int tap_n, tap_failed;

static bool
ok(bool cond, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", cond ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!cond)
		tap_failed++;
	return cond;
}

/* rc == -1 with the error type wanted (NULL: rc == 0). */
static bool
check(int rc, const struct av_error *e, const char *type, const char *name)
{
	bool good = type == NULL ? rc == 0 : rc == -1 &&
	    strcmp(e->type, type) == 0;

	if (!ok(good, "%s", name))
		printf("# rc %d, %s: %s\n", rc, e->type, e->message);
	return good;
}

static const char *
env(const char *name)
{
	const char *v = getenv(name);

	if (v == NULL) {
		fprintf(stderr, "test_libagentvault: %s is not set\n", name);
		exit(2);
	}
	return v;
}

/* The connection's socket inode: the same while it lives, new after. */
static ino_t
conn_ino(av_handle *h)
{
	struct stat st;

	return h->fd != -1 && fstat(h->fd, &st) == 0 ? st.st_ino : 0;
}

static av_handle *
open_sock(const char *sock, const char *ca, int timeout_ms)
{
	struct av_options o = { .socket_path = sock, .ca_file = ca,
	    .timeout_ms = timeout_ms };
	struct av_error e;
	av_handle *h;

	if (av_open(&o, &h, &e) != 0) {
		printf("# av_open: %s: %s\n", e.type, e.message);
		exit(1);
	}
	return h;
}

static const char *
str(json_t *doc, const char *key)
{
	const char *s = json_string_value(json_object_get(doc, key));

	return s != NULL ? s : "";
}

/* Records of an operation in the audit log so far. */
static int
audit_count(const char *op)
{
	char line[8192], pat[128];
	FILE *fp = fopen(env("AUDIT"), "r");
	int n = 0;

	snprintf(pat, sizeof(pat), "\"operation\":\"%s\"", op);
	while (fp != NULL && fgets(line, sizeof(line), fp) != NULL)
		n += strstr(line, pat) != NULL;
	if (fp != NULL)
		fclose(fp);
	return n;
}

static bool
buf_holds(av_handle *h, const char *s)
{
	return h->buf != NULL && memmem(h->buf, h->cap, s, strlen(s)) != NULL;
}

/* An API key with escapes, non-ASCII and a 4-byte character. */
#define KEY	"sk-\"quoted\" back\\slash/tab\there-\xc3\xa9\xe2\x82\xac-" \
		"\xf0\x9f\x94\x91"
#define ARN_ID	"arn:aws:bedrock-agentcore:us-east-1:000000000000:" \
		"workload-identity-directory/default/workload-identity/"

static void
t_open_errors(void)
{
	struct av_options o = { .socket_path = "/nonexistent/sock",
	    .ca_file = env("CA") };
	struct av_error e;
	av_handle *h;
	json_t *doc;

	check(av_open(&(struct av_options){ .socket_path = "x" }, &h, &e), &e,
	    AV_ARGUMENT_ERROR, "av_open without a CA is ArgumentError");
	check(av_open(&(struct av_options){ .socket_path = "x", .host = "y",
	    .port = 1, .ca_file = env("CA") }, &h, &e), &e,
	    AV_ARGUMENT_ERROR, "a socket and a host is ArgumentError");
	check(av_open(&(struct av_options){ .socket_path = "x",
	    .ca_file = env("CA"), .cert_file = env("CA") }, &h, &e), &e,
	    AV_ARGUMENT_ERROR, "a certificate without its key is "
	    "ArgumentError");
	check(av_open(&(struct av_options){ .socket_path = "x",
	    .ca_file = "/nonexistent/ca.pem" }, &h, &e), &e, AV_TLS_ERROR,
	    "a missing CA file is TlsError");
	check(av_open(&(struct av_options){ .socket_path = "x",
	    .ca_file = "/etc/hostname" }, &h, &e), &e, AV_TLS_ERROR,
	    "a CA file without a certificate is TlsError");
	check(av_open(&o, &h, &e), &e, NULL, "av_open does not connect yet");
	check(av_ping(h, &doc, &e), &e, AV_TRANSPORT_ERROR,
	    "a socket that does not exist is TransportError");
	ok(strstr(e.message, "/nonexistent/sock") != NULL && e.status == 0,
	    "the message names the socket; local errors have status 0");
	av_close(h);
	av_close(NULL);
	av_secret_free(NULL);
}

static void
t_vault(av_handle *a, av_handle *g)
{
	struct av_error e;
	json_t *doc;

	if (check(av_ping(a, &doc, &e), &e, NULL, "Ping on the admin socket"))
		ok(strcmp(str(doc, "status"), "ok") == 0, "ping says ok");
	json_decref(doc);
	check(av_ping(g, NULL, &e), &e, NULL, "Ping on the agent socket, "
	    "result not wanted");
	if (check(av_get_token_vault(a, NULL, &doc, &e), &e, NULL,
	    "GetTokenVault"))
		ok(strcmp(str(doc, "tokenVaultId"), "default") == 0 &&
		    json_object_get(doc, "hsm") != NULL,
		    "it returns the default vault and its HSM key");
	json_decref(doc);
	check(av_get_token_vault(a, "other", &doc, &e), &e,
	    "ResourceNotFoundException", "another vault is "
	    "ResourceNotFoundException");
	ok(e.status == 404 && strlen(e.request_id) == 36 && doc == NULL,
	    "API errors carry the status and the request id; *out is NULL");
	check(av_get_token_vault(a, "bad id!", NULL, &e), &e,
	    "ValidationException", "a malformed vault id is "
	    "ValidationException");
	check(av_get_token_vault(g, NULL, NULL, &e), &e,
	    "AccessDeniedException", "the control plane on the agent socket "
	    "is AccessDeniedException");
	ok(e.status == 403, "with status 403");
}

static void
t_directory(av_handle *a)
{
	const char *urls[] = { "https://app.example.com/cb", "myapp://cb",
	    NULL };
	const char *tags[] = { "team", "agents", "env", "prod", NULL };
	const char *odd[] = { "team", NULL };
	const char *bad_utf8[] = { "\xff\xfe", NULL };
	struct av_error e;
	json_t *doc, *list;
	const char *next;
	char name[32];
	int i, n;

	if (check(av_create_workload_identity(a, "lib-agent", urls, tags, &doc,
	    &e), &e, NULL, "CreateWorkloadIdentity with URLs and tags")) {
		list = json_object_get(doc, "allowedResourceOauth2ReturnUrls");
		ok(strcmp(str(doc, "workloadIdentityArn"),
		    ARN_ID "lib-agent") == 0 && json_array_size(list) == 2,
		    "it returns the ARN and the URLs");
	}
	json_decref(doc);
	check(av_create_workload_identity(a, "lib-agent", NULL, NULL, NULL,
	    &e), &e, "ConflictException", "a taken name is ConflictException");
	ok(e.status == 409, "with status 409");
	check(av_create_workload_identity(a, "x!", NULL, NULL, NULL, &e), &e,
	    "ValidationException", "a bad name is ValidationException");
	check(av_create_workload_identity(a, NULL, NULL, NULL, &doc, &e), &e,
	    AV_ARGUMENT_ERROR, "a NULL name is ArgumentError, caught here");
	check(av_create_workload_identity(a, "lib-odd", NULL, odd, NULL, &e),
	    &e, AV_ARGUMENT_ERROR, "tags that are not pairs are "
	    "ArgumentError");
	check(av_create_workload_identity(a, "lib-utf8", bad_utf8, NULL, NULL,
	    &e), &e, AV_ARGUMENT_ERROR, "a URL that is not UTF-8 is "
	    "ArgumentError");
	if (check(av_get_workload_identity(a, "lib-agent", &doc, &e), &e, NULL,
	    "GetWorkloadIdentity"))
		ok(json_integer_value(json_object_get(doc, "createdTime")) > 0,
		    "it has its creation time");
	json_decref(doc);
	check(av_get_workload_identity(a, "lib-nobody", NULL, &e), &e,
	    "ResourceNotFoundException", "a missing identity is "
	    "ResourceNotFoundException");
	if (check(av_update_workload_identity(a, "lib-agent", urls + 1, &doc,
	    &e), &e, NULL, "UpdateWorkloadIdentity"))
		ok(json_array_size(json_object_get(doc,
		    "allowedResourceOauth2ReturnUrls")) == 1,
		    "it replaces the return URLs");
	json_decref(doc);
	if (check(av_update_workload_identity(a, "lib-agent", NULL, &doc, &e),
	    &e, NULL, "UpdateWorkloadIdentity without URLs"))
		ok(json_array_size(json_object_get(doc,
		    "allowedResourceOauth2ReturnUrls")) == 0, "empties them");
	json_decref(doc);
	for (i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "lib-page-%d", i);
		av_create_workload_identity(a, name, NULL, NULL, NULL, &e);
	}
	check(av_list_workload_identities(a, 2, NULL, &doc, &e), &e, NULL,
	    "ListWorkloadIdentities, 2 per page");
	for (n = 0, i = 0; doc != NULL && i < 20; i++) {
		n += (int)json_array_size(json_object_get(doc,
		    "workloadIdentities"));
		next = json_string_value(json_object_get(doc, "nextToken"));
		if (next == NULL)
			break;
		list = doc;
		av_list_workload_identities(a, 2, next, &doc, &e);
		json_decref(list);
	}
	json_decref(doc);
	ok(n >= 6 && i >= 2, "nextToken pages through them all (%d in %d "
	    "pages)", n, i + 1);
	check(av_list_workload_identities(a, 21, NULL, NULL, &e), &e,
	    "ValidationException", "maxResults 21 is ValidationException");
	check(av_delete_workload_identity(a, "lib-page-0", &e), &e, NULL,
	    "DeleteWorkloadIdentity");
	check(av_delete_workload_identity(a, "lib-page-0", &e), &e,
	    "ResourceNotFoundException", "deleting it again is "
	    "ResourceNotFoundException");
}

static void
t_providers(av_handle *a)
{
	const char *tags[] = { "vendor", "github", NULL };
	struct av_error e;
	json_t *doc;

	if (check(av_create_api_key_provider(a, "lib-key", KEY, tags, &doc,
	    &e), &e, NULL, "CreateApiKeyCredentialProvider with a key of "
	    "escapes and UTF-8"))
		ok(strstr(str(doc, "credentialProviderArn"),
		    "apikeycredentialprovider/lib-key") != NULL &&
		    json_object_get(doc, "apiKey") == NULL,
		    "it answers with the ARNs, never the key");
	json_decref(doc);
	ok(!buf_holds(a, "back\\\\slash") && !buf_holds(a, "back\\slash"),
	    "no copy of the key is left in the handle's buffer");
	check(av_create_api_key_provider(a, "lib-key", "x", NULL, NULL, &e),
	    &e, "ConflictException", "a taken provider name is "
	    "ConflictException");
	check(av_create_api_key_provider(a, "lib-nokey", NULL, NULL, NULL, &e),
	    &e, AV_ARGUMENT_ERROR, "a NULL key is ArgumentError");
	check(av_create_api_key_provider(a, "lib-empty", "", NULL, NULL, &e),
	    &e, "ValidationException", "an empty key is ValidationException");
	if (check(av_get_api_key_provider(a, "lib-key", &doc, &e), &e, NULL,
	    "GetApiKeyCredentialProvider"))
		ok(json_integer_value(json_object_get(doc, "createdTime")) > 0,
		    "with its times");
	json_decref(doc);
	check(av_get_api_key_provider(a, "lib-none", NULL, &e), &e,
	    "ResourceNotFoundException", "a missing provider is "
	    "ResourceNotFoundException");
	check(av_update_api_key_provider(a, "lib-key", KEY "-2", NULL, &e), &e,
	    NULL, "UpdateApiKeyCredentialProvider");
	check(av_update_api_key_provider(a, "lib-none", "k", NULL, &e), &e,
	    "ResourceNotFoundException", "updating a missing provider is "
	    "ResourceNotFoundException");
	av_create_api_key_provider(a, "lib-key-b", "kb", NULL, NULL, &e);
	if (check(av_list_api_key_providers(a, 1, NULL, &doc, &e), &e, NULL,
	    "ListApiKeyCredentialProviders"))
		ok(json_array_size(json_object_get(doc,
		    "credentialProviders")) == 1 &&
		    json_object_get(doc, "nextToken") != NULL,
		    "one per page, with a nextToken");
	json_decref(doc);
	check(av_delete_api_key_provider(a, "lib-key-b", &e), &e, NULL,
	    "DeleteApiKeyCredentialProvider");
	check(av_delete_api_key_provider(a, "lib-key-b", &e), &e,
	    "ResourceNotFoundException", "deleting it again is "
	    "ResourceNotFoundException");
}

static void
t_tags(av_handle *a)
{
	const char *tags[] = { "cost center", "42", "a+b", "plus", NULL };
	const char *keys[] = { "cost center", "a+b", "absent", NULL };
	char big[5000];
	struct av_error e;
	json_t *doc, *t;

	check(av_tag_resource(a, ARN_ID "lib-agent", tags, &e), &e, NULL,
	    "TagResource with a space and a plus in keys");
	if (check(av_list_tags_for_resource(a, ARN_ID "lib-agent", &doc, &e),
	    &e, NULL, "ListTagsForResource")) {
		t = json_object_get(doc, "tags");
		ok(strcmp(str(t, "cost center"), "42") == 0 &&
		    strcmp(str(t, "team"), "agents") == 0 &&
		    json_object_size(t) == 4, "it lists the new tags and the "
		    "identity's own");
	}
	json_decref(doc);
	check(av_untag_resource(a, ARN_ID "lib-agent", keys, &e), &e, NULL,
	    "UntagResource, the keys URL-encoded");
	av_list_tags_for_resource(a, ARN_ID "lib-agent", &doc, &e);
	ok(json_object_size(json_object_get(doc, "tags")) == 2,
	    "the two keys are gone");
	json_decref(doc);
	check(av_untag_resource(a, ARN_ID "lib-agent", NULL, &e), &e, NULL,
	    "UntagResource without keys removes nothing");
	check(av_list_tags_for_resource(a, ARN_ID "lib-none", NULL, &e), &e,
	    "ResourceNotFoundException", "an unknown resource is "
	    "ResourceNotFoundException");
	check(av_tag_resource(a, "not-an-arn", tags, &e), &e,
	    "ValidationException", "a malformed ARN is ValidationException");
	check(av_tag_resource(a, NULL, tags, &e), &e, AV_ARGUMENT_ERROR,
	    "a NULL ARN is ArgumentError");
	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	check(av_untag_resource(a, ARN_ID "lib-agent",
	    (const char *[]){ big, NULL }, &e), &e, AV_ARGUMENT_ERROR,
	    "keys too long for a request target are ArgumentError");
}

static void
t_tokens(av_handle *a, av_handle *g)
{
	struct av_error e;
	char *tok = NULL, *tok2 = NULL, *key = NULL;
	int rc;

	if (check(av_get_workload_access_token(g, "lib-agent", &tok, &e), &e,
	    NULL, "GetWorkloadAccessToken"))
		ok(strncmp(tok, "avwat1.", 7) == 0, "it is an avwat1 token");
	ok(!buf_holds(g, "avwat1."), "no copy of it is left in the handle's "
	    "buffer");
	if (check(av_get_workload_access_token_for_user_id(g, "lib-agent",
	    "cognito+user-1", &tok2, &e), &e, NULL,
	    "GetWorkloadAccessTokenForUserId") &&
	    check(av_get_resource_api_key(g, tok2, "lib-key", &key, &e), &e,
	    NULL, "GetResourceApiKey"))
		ok(strcmp(key, KEY "-2") == 0, "it returns the stored key, "
		    "escapes and UTF-8 intact");
	ok(!buf_holds(g, "back\\\\slash") && !buf_holds(g, "back\\slash"),
	    "no copy of the key is left in the handle's buffer");
	av_secret_free(key);
	av_secret_free(tok2);
	rc = av_get_resource_api_key(g, "avwat1.forged.token", "lib-key", &key,
	    &e);
	ok(rc == -1 && key == NULL && (strcmp(e.type,
	    "AccessDeniedException") == 0 || strcmp(e.type,
	    "ValidationException") == 0), "a forged token is refused (%s)",
	    e.type);
	check(av_get_resource_api_key(g, tok, "lib-none", &key, &e), &e,
	    "ResourceNotFoundException", "an unknown provider is "
	    "ResourceNotFoundException");
	check(av_get_workload_access_token(g, "lib-nobody", &tok2, &e), &e,
	    "ResourceNotFoundException", "a token for a missing identity is "
	    "ResourceNotFoundException");
	check(av_get_workload_access_token_for_user_id(g, "lib-agent", "",
	    &tok2, &e), &e, "ValidationException", "an empty user id is "
	    "ValidationException");
	check(av_get_resource_api_key(g, NULL, "lib-key", &key, &e), &e,
	    AV_ARGUMENT_ERROR, "a NULL token is ArgumentError");
	check(av_get_resource_api_key(a, tok, "lib-key", &key, &e), &e, NULL,
	    "the admin socket serves the data plane too");
	av_secret_free(key);
	av_secret_free(tok);
}

static void
t_keepalive(void)
{
	struct av_options o = { .socket_path = env("ADMIN"),
	    .ca_file = env("CA"), .max_response = 16 };
	av_handle *h = open_sock(env("ADMIN"), env("CA"), 0), *small;
	struct av_error e;
	ino_t first;
	int i, fails = 0;

	fails += av_get_token_vault(h, NULL, NULL, &e) != 0;
	first = conn_ino(h);
	for (i = 1; i < 20; i++)
		fails += av_get_token_vault(h, NULL, NULL, &e) != 0;
	ok(fails == 0 && first != 0 && conn_ino(h) == first, "20 calls on "
	    "one keep-alive connection");
	av_close(h);
	if (av_open(&o, &small, &e) == 0) {
		check(av_ping(small, NULL, &e), &e, AV_PROTOCOL_ERROR,
		    "a reply over max_response is ProtocolError");
		av_close(small);
	}
}

static int
scenario_api(void)
{
	av_handle *a = open_sock(env("ADMIN"), env("CA"), 0);
	av_handle *g = open_sock(env("AGENT"), env("CA"), 0);

	t_open_errors();
	t_vault(a, g);
	t_directory(a);
	t_providers(a);
	t_tags(a);
	t_tokens(a, g);
	t_keepalive();
	av_close(a);
	av_close(g);
	return 0;
}

struct seen {
	int	 calls;
	char	 secret[128];
	int	 ret;
};

static int
remember(const char *secret, void *arg)
{
	struct seen *s = arg;

	s->calls++;
	snprintf(s->secret, sizeof(s->secret), "%s", secret);
	return s->ret;
}

static int
scenario_decorate(void)
{
	av_handle *a = open_sock(env("ADMIN"), env("CA"), 0);
	av_handle *g = open_sock(env("AGENT"), env("CA"), 0);
	struct av_api_key_opts o = { .provider = "deco-key",
	    .workload = "deco-agent", .user_id = "cognito+alice" };
	struct av_oauth2_opts oa = { .provider = "github",
	    .scopes = (const char *[]){ "repo", NULL },
	    .workload = "deco-agent" };
	const char *mint = "GetWorkloadAccessTokenForUserId";
	struct seen s = { 0 };
	struct av_error e;
	char *tok;
	int before, rc;

	av_create_workload_identity(a, "deco-agent", NULL, NULL, NULL, &e);
	av_create_api_key_provider(a, "deco-key", "deco-secret", NULL, NULL,
	    &e);
	before = audit_count(mint);
	rc = av_with_api_key(g, &o, remember, &s, &e);
	ok(rc == 0 && s.calls == 1 && strcmp(s.secret, "deco-secret") == 0 &&
	    e.type[0] == '\0', "av_with_api_key calls fn with the key");
	ok(audit_count(mint) == before + 1, "it minted one workload token");
	s.ret = 7;
	rc = av_with_api_key(g, &o, remember, &s, &e);
	ok(rc == 7 && s.calls == 2 && e.type[0] == '\0', "the second call "
	    "returns what fn returned (%d)", rc);
	ok(audit_count(mint) == before + 1, "and reuses the cached token: "
	    "no new mint");
	o.user_id = "cognito+bob";
	s.ret = 0;
	av_with_api_key(g, &o, remember, &s, &e);
	ok(audit_count(mint) == before + 2, "another user gets a token of "
	    "its own");
	o.token_ttl_s = 1;
	av_with_api_key(g, &o, remember, &s, &e);
	sleep(1);
	av_with_api_key(g, &o, remember, &s, &e);
	ok(audit_count(mint) == before + 3 && s.calls == 5, "a token past "
	    "most of token_ttl_s is replaced");
	o.token_ttl_s = 0;

	/* The identity deleted: the cached token is refused; one new mint
	 * is tried, and its error is the one reported. */
	av_delete_workload_identity(a, "deco-agent", &e);
	before = audit_count(mint);
	rc = av_with_api_key(g, &o, remember, &s, &e);
	ok(rc == -1 && s.calls == 5 && audit_count(mint) == before + 1 &&
	    strcmp(e.type, "ResourceNotFoundException") == 0, "a refused "
	    "cached token is replaced once (%s)", e.type);
	av_create_workload_identity(a, "deco-agent", NULL, NULL, NULL, &e);
	rc = av_with_api_key(g, &o, remember, &s, &e);
	ok(rc == 0 && s.calls == 6, "and the next call works again");

	o.provider = "deco-none";
	rc = av_with_api_key(g, &o, remember, &s, &e);
	ok(rc == -1 && s.calls == 6 && strcmp(e.type,
	    "ResourceNotFoundException") == 0, "an unknown provider is "
	    "ResourceNotFoundException, fn not called");
	o.provider = NULL;
	check(av_with_api_key(g, &o, remember, &s, &e), &e, AV_ARGUMENT_ERROR,
	    "no provider is ArgumentError");
	before = audit_count(mint);
	av_get_workload_access_token(g, "deco-agent", &tok, &e);
	rc = av_with_api_key(g, &(struct av_api_key_opts){ .provider =
	    "deco-key", .workload_token = tok }, remember, &s, &e);
	ok(rc == 0 && s.calls == 7 && audit_count(mint) == before,
	    "a given workload token is used as it is");
	av_secret_free(tok);
	check(av_with_api_key(g, &(struct av_api_key_opts){ .provider =
	    "deco-key" }, remember, &s, &e), &e, AV_ARGUMENT_ERROR,
	    "neither workload nor token is ArgumentError");

	rc = av_with_access_token(g, &oa, remember, &s, &e);
	check(rc, &e, "ResourceNotFoundException", "av_with_access_token: an "
	    "unknown provider is ResourceNotFoundException");
	ok(s.calls == 7 && strstr(e.message, "no OAuth2 credential provider "
	    "named github") != NULL, "fn is not called, and the message says "
	    "why");
	oa.scopes = NULL;
	check(av_with_access_token(g, &oa, remember, &s, &e), &e,
	    AV_ARGUMENT_ERROR, "no scopes is ArgumentError");
	av_close(a);
	av_close(g);
	return 0;
}

static void
wait_for_go(const char *what)
{
	char line[64];

	printf("# restart %s\n", what);
	fflush(stdout);
	if (fgets(line, sizeof(line), stdin) == NULL)
		exit(1);
}

static int
scenario_restart(void)
{
	av_handle *h = open_sock(env("ADMIN"), env("CA"), 0);
	struct av_error e;
	ino_t before;

	check(av_get_token_vault(h, NULL, NULL, &e), &e, NULL, "a call before "
	    "the restart");
	before = conn_ino(h);
	wait_for_go("daemon");
	check(av_get_token_vault(h, NULL, NULL, &e), &e, NULL, "the same "
	    "handle works after the daemon restarted");
	ok(conn_ino(h) != 0 && conn_ino(h) != before, "on a new connection");
	wait_for_go("worker");
	check(av_create_workload_identity(h, "lib-after-restart", NULL, NULL,
	    NULL, &e), &e, NULL, "a write after the worker was killed and "
	    "restarted: the dead connection is noticed before sending");
	av_close(h);
	return 0;
}

static int
scenario_badca(void)
{
	struct av_options o = { .socket_path = env("ADMIN"),
	    .ca_file = env("FAKE_CA") };
	struct av_error e;
	av_handle *h;

	h = open_sock(env("ADMIN"), env("FAKE_CA"), 0);
	check(av_ping(h, NULL, &e), &e, AV_TLS_ERROR, "the daemon's "
	    "certificate is refused with another CA");
	ok(strstr(e.message, "not trusted") != NULL, "the message says it is "
	    "not trusted (%s)", e.message);
	av_close(h);
	h = open_sock(env("FAKE"), env("CA"), 0);
	check(av_ping(h, NULL, &e), &e, AV_TLS_ERROR, "a server with a "
	    "certificate from another CA is refused");
	av_close(h);
	o.ca_file = env("CA");
	o.server_name = "agentvault.example.com";
	if (av_open(&o, &h, &e) == 0) {
		check(av_ping(h, NULL, &e), &e, AV_TLS_ERROR, "a certificate "
		    "for another name is refused");
		av_close(h);
	}
	return 0;
}

static int
scenario_timeout(void)
{
	av_handle *h = open_sock(env("FAKE"), env("FAKE_CA"), 300);
	struct av_error e;
	int64_t t0 = avc_now_ms(), dt;

	check(av_ping(h, NULL, &e), &e, AV_TIMEOUT_ERROR, "a server that "
	    "never completes the handshake is TimeoutError");
	dt = avc_now_ms() - t0;
	ok(dt >= 290 && dt < 5000, "after the timeout (%lld ms)",
	    (long long)dt);
	av_close(h);
	/* Long enough for a handshake on a loaded machine. */
	h = open_sock(env("FAKE2"), env("FAKE_CA"), 2000);
	t0 = avc_now_ms();
	check(av_ping(h, NULL, &e), &e, AV_TIMEOUT_ERROR, "a server that "
	    "never replies is TimeoutError");
	dt = avc_now_ms() - t0;
	ok(dt >= 1990 && dt < 10000 && strstr(e.message, "waiting for the "
	    "reply") != NULL, "after the timeout, waiting for the reply (%lld "
	    "ms: %s)", (long long)dt, e.message);
	check(av_create_workload_identity(h, "x-y-z", NULL, NULL, NULL, &e),
	    &e, AV_TIMEOUT_ERROR, "a timeout is not retried");
	ok(strstr(e.message, "may or may not have been applied") != NULL,
	    "a write that timed out may or may not have been applied (%s)",
	    e.message);
	av_close(h);
	return 0;
}

static int
scenario_retry(void)
{
	av_handle *h = open_sock(env("FAKE"), env("FAKE_CA"), 0);
	struct av_error e;
	json_t *in;

	/* The fake answers the first request of each connection and drops
	 * the connection at the second, without a reply. */
	check(av_get_workload_identity(h, "r-one", NULL, &e), &e, NULL,
	    "the first call is answered");
	check(av_get_workload_identity(h, "r-two", NULL, &e), &e, NULL,
	    "a read dropped after sending is repeated on a new connection");
	check(av_create_workload_identity(h, "r-three", NULL, NULL, NULL, &e),
	    &e, AV_TRANSPORT_ERROR, "a write dropped after sending is not "
	    "repeated: TransportError");
	ok(strstr(e.message, "may or may not have been applied") != NULL,
	    "saying it may or may not have been applied");
	check(av_get_workload_identity(h, "r-four", NULL, &e), &e, NULL,
	    "the handle goes on with a new connection");
	in = json_pack("{s:s}", "name", "p-one");
	check(av_call(h, "/policies/GetPolicy", in, NULL, &e), &e, NULL,
	    "av_call: a read (Get...) dropped after sending is repeated");
	check(av_call(h, "/policies/CreatePolicy", in, NULL, &e), &e,
	    AV_TRANSPORT_ERROR, "av_call: a write dropped after sending is "
	    "not repeated");
	check(av_call(h, "/policies/Get Policy", in, NULL, &e), &e,
	    AV_ARGUMENT_ERROR, "av_call: a path that does not fit a request "
	    "line is ArgumentError");
	json_decref(in);
	in = json_array();
	check(av_call(h, "/policies/ListPolicies", in, NULL, &e), &e,
	    AV_ARGUMENT_ERROR, "av_call: a request that is not an object is "
	    "ArgumentError");
	json_decref(in);
	av_close(h);
	/* FAKE2 closes each connection right after its reply. */
	h = open_sock(env("FAKE2"), env("FAKE_CA"), 0);
	check(av_create_workload_identity(h, "r-five", NULL, NULL, NULL, &e),
	    &e, NULL, "a write on a fresh connection");
	usleep(200 * 1000);
	check(av_create_workload_identity(h, "r-six", NULL, NULL, NULL, &e),
	    &e, NULL, "a write after the server closed the idle connection "
	    "goes out on a new one");
	av_close(h);
	return 0;
}

static int
scenario_protocol(void)
{
	static const char *const what[] = { "a chunked reply",
	    "a reply over 1 MiB", "a reply without Content-Length",
	    "a bad status line", "a 200 that is not JSON",
	    "a 500 that is not an API error", "bytes after the reply",
	    "a head with bare LF", "an apiKey reply that is not an object" };
	av_handle *h = open_sock(env("FAKE"), env("FAKE_CA"), 0);
	struct av_error e;
	char *key = NULL;
	size_t i;

	for (i = 0; i < 8; i++)
		check(av_ping(h, NULL, &e), &e, AV_PROTOCOL_ERROR, what[i]);
	check(av_get_resource_api_key(h, "t", "p", &key, &e), &e,
	    AV_PROTOCOL_ERROR, what[8]);
	ok(key == NULL, "*api_key stays NULL");
	av_close(h);
	return 0;
}

struct auth {
	int	 shown;
	char	 url[256];
	int	 cancel;
};

static int
show_url(const char *url, void *arg)
{
	struct auth *a = arg;

	a->shown++;
	snprintf(a->url, sizeof(a->url), "%s", url);
	return a->cancel;
}

/* GetResourceOauth2Token with every member, the session, polling,
 * CompleteResourceTokenAuth; test_client.py checks the bodies sent. */
static void
t_oauth2_calls(av_handle *h)
{
	struct av_oauth2_request rq = { .workload_token = "avwat1.all",
	    .provider = "consent", .scopes = (const char *[]){ "repo",
	    "user", NULL }, .flow = AV_USER_FEDERATION,
	    .return_url = "https://app.example.com/cb",
	    .force_authentication = true,
	    .custom_parameters = (const char *[]){ "prompt", "consent",
	    "login_hint", "alice@example.com", NULL },
	    .custom_state = "st-1", .resources = (const char *[]){
	    "https://api.example.com/", NULL }, .audiences =
	    (const char *[]){ "api", "other", NULL } };
	struct av_oauth2_result res;
	struct av_error e;
	char *token = NULL;
	int64_t t0;

	if (!check(av_get_resource_oauth2_token(h, &rq, &res, &e), &e, NULL,
	    "av_get_resource_oauth2_token with every request member"))
		return;
	ok(res.access_token == NULL && strcmp(res.session_status,
	    "IN_PROGRESS") == 0 && res.authorization_url != NULL &&
	    strcmp(res.authorization_url,
	    "https://idp.example/authorize?s=1") == 0 &&
	    res.session_uri != NULL && strcmp(res.session_uri,
	    "urn:ietf:params:oauth:request_uri:s1") == 0,
	    "the answer is a session: URL, session URI, IN_PROGRESS");
	rq.session_uri = res.session_uri;
	t0 = avc_now_ms();
	check(av_wait_oauth2_token(h, &rq, 50, 5000, &token, &e), &e, NULL,
	    "av_wait_oauth2_token polls the session until the token");
	ok(token != NULL && strcmp(token, "gho_\xc3\xa9t") == 0 &&
	    avc_now_ms() - t0 >= 50, "the token, after a pause (%lld ms)",
	    (long long)(avc_now_ms() - t0));
	ok(!buf_holds(h, "gho_"), "the reply buffer holds no token");
	av_secret_free(token);
	av_oauth2_result_free(&res);
	ok(res.session_uri == NULL && res.authorization_url == NULL,
	    "av_oauth2_result_free empties the result");

	rq = (struct av_oauth2_request){ .workload_token = "avwat1.fake.token",
	    .provider = "m2m", .flow = AV_M2M };
	check(av_get_resource_oauth2_token(h, &rq, &res, &e), &e, NULL,
	    "M2M, no scopes");
	ok(res.access_token != NULL && strcmp(res.access_token,
	    "m2m-token") == 0 && res.session_uri == NULL &&
	    res.session_status[0] == '\0', "the access token, no session");
	av_oauth2_result_free(&res);

	rq.provider = "never";
	rq.flow = AV_USER_FEDERATION;
	rq.session_uri = "urn:ietf:params:oauth:request_uri:n1";
	t0 = avc_now_ms();
	check(av_wait_oauth2_token(h, &rq, 50, 300, &token, &e), &e,
	    AV_TIMEOUT_ERROR, "av_wait_oauth2_token: TimeoutError at the "
	    "deadline");
	ok(token == NULL && avc_now_ms() - t0 < 2000, "in time, no token");
	rq.provider = "fails";
	check(av_wait_oauth2_token(h, &rq, 50, 5000, &token, &e), &e,
	    AV_AUTHORIZATION_ERROR, "av_wait_oauth2_token: a FAILED session "
	    "is AuthorizationError");
	rq.session_uri = NULL;
	check(av_wait_oauth2_token(h, &rq, 50, 5000, &token, &e), &e,
	    AV_ARGUMENT_ERROR, "av_wait_oauth2_token without a session URI "
	    "is ArgumentError");
	check(av_get_resource_oauth2_token(h, &rq, &res, &e), &e, NULL,
	    "a FAILED session is an answer, not an error");
	ok(strcmp(res.session_status, "FAILED") == 0 && res.access_token ==
	    NULL && res.authorization_url == NULL, "with status FAILED");
	av_oauth2_result_free(&res);
	rq.provider = "old";
	check(av_get_resource_oauth2_token(h, &rq, &res, &e), &e,
	    AV_NOT_SUPPORTED_ERROR, "an appliance without the operation: "
	    "NotSupportedError");
	rq.provider = NULL;
	check(av_get_resource_oauth2_token(h, &rq, &res, &e), &e,
	    AV_ARGUMENT_ERROR, "no provider is ArgumentError");
	rq.provider = "m2m";
	rq.workload_token = NULL;
	check(av_get_resource_oauth2_token(h, &rq, &res, &e), &e,
	    AV_ARGUMENT_ERROR, "no workload token is ArgumentError");
	rq.workload_token = "t";
	rq.flow = (enum av_auth_flow)7;
	check(av_get_resource_oauth2_token(h, &rq, &res, &e), &e,
	    AV_ARGUMENT_ERROR, "a flow out of the enum is ArgumentError");
	rq.flow = AV_M2M;
	rq.custom_parameters = (const char *[]){ "odd", NULL, NULL };
	check(av_get_resource_oauth2_token(h, &rq, &res, &e), &e,
	    AV_ARGUMENT_ERROR, "custom parameters not in pairs: "
	    "ArgumentError");
	ok(res.access_token == NULL && res.session_uri == NULL, "the result "
	    "stays empty after an error");

	check(av_complete_resource_token_auth(h,
	    "urn:ietf:params:oauth:request_uri:s1", "alice", NULL, &e), &e,
	    NULL, "av_complete_resource_token_auth with a user id");
	check(av_complete_resource_token_auth(h,
	    "urn:ietf:params:oauth:request_uri:s2", NULL, "eyJ.user.jwt", &e),
	    &e, NULL, "and with a user token");
	check(av_complete_resource_token_auth(h,
	    "urn:ietf:params:oauth:request_uri:s1", "mallory", NULL, &e), &e,
	    "AccessDeniedException", "another user: the appliance's "
	    "AccessDeniedException");
	check(av_complete_resource_token_auth(h,
	    "urn:ietf:params:oauth:request_uri:old", "alice", NULL, &e), &e,
	    AV_NOT_SUPPORTED_ERROR, "without the operation: "
	    "NotSupportedError");
	check(av_complete_resource_token_auth(h, "urn:x", "a", "b", &e), &e,
	    AV_ARGUMENT_ERROR, "both a user id and a token: ArgumentError");
	check(av_complete_resource_token_auth(h, "urn:x", NULL, NULL, &e),
	    &e, AV_ARGUMENT_ERROR, "neither: ArgumentError");
	check(av_complete_resource_token_auth(h, NULL, "a", NULL, &e), &e,
	    AV_ARGUMENT_ERROR, "no session URI: ArgumentError");
}

/* Replies to refuse: ProtocolError, nothing kept. */
static void
t_oauth2_bad_replies(av_handle *h)
{
	static const char *const bad[] = { "bad-url", "ctl-url", "bad-uri",
	    "long-uri", "no-status", "odd-status", "no-url", "num-url",
	    "empty-token", "nested", "empty" };
	struct av_oauth2_request rq = { .workload_token = "t",
	    .flow = AV_USER_FEDERATION };
	struct av_oauth2_result res;
	struct av_error e;
	char name[64];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rq.provider = bad[i];
		snprintf(name, sizeof(name), "a reply of kind %s is "
		    "ProtocolError", bad[i]);
		check(av_get_resource_oauth2_token(h, &rq, &res, &e), &e,
		    AV_PROTOCOL_ERROR, name);
		if (res.access_token != NULL || res.session_uri != NULL ||
		    res.authorization_url != NULL)
			ok(false, "the result of %s is empty", bad[i]);
	}
	rq.provider = "no-url";
	rq.session_uri = "urn:ietf:params:oauth:request_uri:b";
	check(av_get_resource_oauth2_token(h, &rq, &res, &e), &e, NULL,
	    "no authorization URL is fine in the answer to a poll");
	av_oauth2_result_free(&res);
}

static int
scenario_oauth(void)
{
	av_handle *h = open_sock(env("FAKE"), env("FAKE_CA"), 0);
	struct auth au = { 0 };
	struct av_oauth2_opts o = { .provider = "consent",
	    .scopes = (const char *[]){ "repo", "user", NULL },
	    .workload_token = "avwat1.fake.token", .on_auth_url = show_url,
	    .on_auth_url_arg = &au, .force_authentication = true,
	    .callback_url = "https://app.example.com/cb",
	    .poll_interval_ms = 50, .deadline_ms = 5000 };
	struct seen s = { 0 };
	struct av_error e;

	check(av_with_access_token(h, &o, remember, &s, &e), &e, NULL,
	    "3LO: consent, then polling until the token comes");
	ok(au.shown == 1 && strcmp(au.url,
	    "https://idp.example/authorize?s=1") == 0, "on_auth_url got the "
	    "authorization URL once");
	ok(s.calls == 1 && strcmp(s.secret, "gho_\xc3\xa9t") == 0,
	    "fn got the access token (\\u escapes decoded)");
	o.provider = "m2m";
	o.flow = AV_M2M;
	au.shown = 0;
	check(av_with_access_token(h, &o, remember, &s, &e), &e, NULL,
	    "M2M: the token at once");
	ok(au.shown == 0 && strcmp(s.secret, "m2m-token") == 0,
	    "without a consent URL");
	o.flow = AV_USER_FEDERATION;
	o.provider = "never";
	o.deadline_ms = 300;
	check(av_with_access_token(h, &o, remember, &s, &e), &e,
	    AV_TIMEOUT_ERROR, "a user who never consents: TimeoutError at the "
	    "deadline");
	o.provider = "fails";
	check(av_with_access_token(h, &o, remember, &s, &e), &e,
	    AV_AUTHORIZATION_ERROR, "a failed session is AuthorizationError");
	o.provider = "consent";
	o.on_auth_url = NULL;
	check(av_with_access_token(h, &o, remember, &s, &e), &e,
	    AV_AUTHORIZATION_ERROR, "consent needed without on_auth_url: "
	    "AuthorizationError");
	ok(strstr(e.message, "https://idp.example/authorize") != NULL,
	    "with the URL in the message");
	o.on_auth_url = show_url;
	au.cancel = 1;
	check(av_with_access_token(h, &o, remember, &s, &e), &e,
	    AV_AUTHORIZATION_ERROR, "on_auth_url returning non-zero cancels");
	ok(s.calls == 2, "fn ran only for the tokens");
	t_oauth2_calls(h);
	t_oauth2_bad_replies(h);

	/* A cached workload token refused: minted again, once. */
	o = (struct av_oauth2_opts){ .provider = "m2m", .flow = AV_M2M,
	    .scopes = (const char *[]){ "read", NULL }, .workload = "w" };
	check(av_with_access_token(h, &o, remember, &s, &e), &e, NULL,
	    "av_with_access_token mints a workload token");
	o.provider = "wat-refused";
	check(av_with_access_token(h, &o, remember, &s, &e), &e, NULL,
	    "a refused cached workload token is replaced once");
	av_close(h);
	return 0;
}

/* With a workload token in TOKEN_OUT, fn's argument: the caller checks it
 * against the provider's JWKS. */
static int
save_token(const char *token, void *arg)
{
	FILE *fp;
	int fd;

	(void)arg;
	if ((fd = open(env("TOKEN_OUT"), O_WRONLY | O_CREAT | O_TRUNC,
	    0600)) == -1 || (fp = fdopen(fd, "w")) == NULL)
		return 1;
	fputs(token, fp);
	return fclose(fp) != 0;
}

/* M2M against the daemon and the OpenID provider of tests/oauth. */
static int
scenario_oauth_e2e(void)
{
	av_handle *h = open_sock(env("AGENT"), env("CA"), 30000);
	struct av_oauth2_opts o = { .provider = env("PROVIDER"),
	    .scopes = (const char *[]){ "read", NULL }, .flow = AV_M2M,
	    .workload = env("WORKLOAD"),
	    .resources = (const char *[]){ "https://api.e2e.example/",
	    NULL } };
	struct av_oauth2_request rq = { .provider = env("PROVIDER"),
	    .scopes = (const char *[]){ "read", NULL }, .flow = AV_M2M };
	struct av_oauth2_result res;
	struct av_error e;
	char *wat = NULL;

	check(av_with_access_token(h, &o, save_token, NULL, &e), &e, NULL,
	    "av_with_access_token, M2M: fn gets the token");
	check(av_get_workload_access_token(h, env("WORKLOAD"), &wat, &e), &e,
	    NULL, "a workload access token");
	rq.workload_token = wat;
	if (check(av_get_resource_oauth2_token(h, &rq, &res, &e), &e, NULL,
	    "av_get_resource_oauth2_token, M2M"))
		ok(res.access_token != NULL && res.session_uri == NULL &&
		    strchr(res.access_token, '.') != NULL && !buf_holds(h,
		    res.access_token), "the access token, wiped from the "
		    "reply buffer");
	av_oauth2_result_free(&res);
	rq.provider = "e2e-none";
	check(av_get_resource_oauth2_token(h, &rq, &res, &e), &e,
	    "ResourceNotFoundException", "an unknown provider is "
	    "ResourceNotFoundException");
	rq.provider = env("PROVIDER");
	rq.session_uri = AV_SESSION_URI_PREFIX "x";
	check(av_get_resource_oauth2_token(h, &rq, &res, &e), &e,
	    "ValidationException", "a session URI with M2M is "
	    "ValidationException");
	av_secret_free(wat);
	av_close(h);
	return 0;
}

static int
scenario_tcp(void)
{
	struct av_options o = { .host = "127.0.0.1",
	    .port = (unsigned)atoi(env("PORT")), .ca_file = env("CA"),
	    .cert_file = env("CERT"), .key_file = env("KEY") };
	struct av_error e;
	av_handle *h;
	json_t *doc;
	char *tok;

	if (!check(av_open(&o, &h, &e), &e, NULL, "av_open for TCP with a "
	    "client certificate"))
		return 1;
	if (check(av_ping(h, &doc, &e), &e, NULL, "Ping over TCP with mTLS"))
		ok(strcmp(str(doc, "status"), "ok") == 0, "it answers ok");
	json_decref(doc);
	check(av_get_token_vault(h, NULL, NULL, &e), &e,
	    "AccessDeniedException", "the control plane over TCP is "
	    "AccessDeniedException");
	av_close(h);
	/* The listener asks for a certificate without requiring one (the
	 * OAuth callback's browsers); such callers are refused everything. */
	o.cert_file = o.key_file = NULL;
	av_open(&o, &h, &e);
	check(av_ping(h, NULL, &e), &e, NULL, "without a client certificate "
	    "Ping answers");
	check(av_get_workload_access_token(h, "x-y-z", &tok, &e), &e,
	    "AccessDeniedException", "and an operation is "
	    "AccessDeniedException");
	av_close(h);
	o.port = 1;
	av_open(&o, &h, &e);
	check(av_ping(h, NULL, &e), &e, AV_TRANSPORT_ERROR, "a closed port is "
	    "TransportError");
	av_close(h);
	return 0;
}

static int
secret(const char *json, const char *member, char **out)
{
	struct av_error e;

	return avc_json_secret(json, strlen(json), member, out, &e);
}

static int
scenario_unit(void)
{
	static const struct {
		const char *json, *want;
		int rc;
	} cases[] = {
		{ "{\"apiKey\":\"k\"}", "k", 0 },
		{ " { \"a\" : 1 , \"apiKey\" : \"x\\\"y\\\\z\\/\\n\" , "
		    "\"b\":true,\"c\":null,\"d\":-1.5e3} ", "x\"y\\z/\n", 0 },
		{ "{\"apiKey\":\"\\u00e9\\u20ac\\ud83d\\udd11\"}",
		    "\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\x91", 0 },
		{ "{\"other\":\"k\"}", NULL, 1 },
		{ "{}", NULL, 1 },
		{ "{\"apiKey\":\"a\",\"apiKey\":\"b\"}", NULL, -1 },
		{ "{\"apiKey\":\"\\u0000\"}", NULL, -1 },
		{ "{\"apiKey\":\"\\udd11\"}", NULL, -1 },
		{ "{\"apiKey\":\"\\ud83dx\"}", NULL, -1 },
		{ "{\"apiKey\":\"\\q\"}", NULL, -1 },
		{ "{\"apiKey\":\"tab\there\"}", NULL, -1 },
		{ "{\"apiKey\":\"unterminated}", NULL, -1 },
		{ "{\"apiKey\":1}", NULL, -1 },
		{ "{\"apiKey\":\"k\",\"n\":{\"x\":1}}", NULL, -1 },
		{ "{\"apiKey\":\"k\"} trailing", NULL, -1 },
		{ "{\"apiKey\":\"k\",}", NULL, -1 },
		{ "[\"apiKey\"]", NULL, -1 },
		{ "", NULL, -1 },
	};
	char *out, enc[64];
	size_t i, off;
	int rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rc = secret(cases[i].json, "apiKey", &out);
		ok(rc == cases[i].rc && (cases[i].want == NULL ? out == NULL :
		    out != NULL && strcmp(out, cases[i].want) == 0),
		    "secret reader: %s -> %d", cases[i].json, rc);
		av_secret_free(out);
	}
	off = 0;
	ok(avc_urlencode(enc, sizeof(enc), &off, "a:b/c d+e~_.-é") == 0 &&
	    strcmp(enc, "a%3Ab%2Fc%20d%2Be~_.-%C3%A9") == 0,
	    "URL encoding keeps only unreserved characters (%s)", enc);
	off = 0;
	ok(avc_urlencode(enc, 8, &off, "abcdefgh") == -1, "and knows its "
	    "bounds");
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(void);
	} scenarios[] = {
		{ "api", scenario_api }, { "decorate", scenario_decorate },
		{ "restart", scenario_restart }, { "badca", scenario_badca },
		{ "timeout", scenario_timeout }, { "retry", scenario_retry },
		{ "protocol", scenario_protocol }, { "oauth", scenario_oauth },
		{ "oauth-e2e", scenario_oauth_e2e },
		{ "tcp", scenario_tcp }, { "unit", scenario_unit },
	};
	size_t i;
	int rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; argc == 2 && i < sizeof(scenarios) /
	    sizeof(scenarios[0]); i++)
		if (strcmp(argv[1], scenarios[i].name) == 0) {
			rc = scenarios[i].fn();
			printf("1..%d\n", tap_n);
			return rc != 0 || tap_failed != 0;
		}
	fprintf(stderr, "usage: test_libagentvault SCENARIO\n");
	return 2;
}
