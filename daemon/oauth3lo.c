/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oauth3lo.c - the three-legged flow (USER_FEDERATION): a stored token
 * for (workload, user, provider) that covers the scopes asked for, else a
 * session: the authorization URL the user opens, the callback the
 * browser comes back to (the code exchanged, the token stored unbound,
 * the browser sent on to the caller's return URL), and
 * CompleteResourceTokenAuth, which binds the token when the caller names
 * the user the session was started for.  docs/oauth.md has the sequence
 * and why the binding matters.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "api.h"
#include "authorizer.h"
#include "http_parse.h"
#include "log.h"
#include "oauth3lo.h"
#include "oauth_authorize.h"
#include "oauth_token.h"
#include "user_jwt.h"

#define SESSIONS_MAX	100	/* per workload, not yet over */
#define SECRET_CAP	(OAUTH_AUTHZ_URL_MAX + 512)
#define CUSTOM_STATE_MAX 4096
#define HANDED_OUT	2	/* stored_token(): not API_PENDING */

static const char page_bad_state[] = "<!DOCTYPE html><title>sign-in "
    "expired</title><h1>This sign-in link is not valid</h1><p>It was "
    "used already, it expired, or it was never issued. Go back to the "
    "application and start again.</p>";

/* A string field: absent (NULL), or 1 to max bytes without NUL. */
static int
opt_string(json_t *in, const char *f, size_t max, const char **out,
    struct av_err *e)
{
	json_t *v = json_object_get(in, f);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return av_fail(e, AV_E_VALIDATION, "%s must be a string of 1 "
		    "to %zu characters", f, max);
	*out = json_string_value(v);
	return 0;
}

/* url with its query extended by k=v pairs (NULL-terminated, values
 * percent-encoded), before any fragment; malloc'd, NULL when out of
 * memory. */
static char *
url_with(const char *url, const char *const *kv)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *frag = strchr(url, '#'), *q = strchr(url, '?'), *p;
	size_t base = frag != NULL ? (size_t)(frag - url) : strlen(url);
	size_t n = strlen(url) + 1, o, i;
	char *out, sep;

	for (i = 0; kv[i] != NULL; i += 2)
		n += strlen(kv[i]) + 2 + 3 * strlen(kv[i + 1]);
	if ((out = malloc(n)) == NULL)
		return NULL;
	memcpy(out, url, base);
	o = base;
	sep = q != NULL && (frag == NULL || q < frag) ? '&' : '?';
	for (i = 0; kv[i] != NULL; i += 2) {
		out[o++] = sep;
		sep = '&';
		o += (size_t)snprintf(out + o, n - o, "%s=", kv[i]);
		for (p = kv[i + 1]; *p != '\0'; p++) {
			unsigned char c = (unsigned char)*p;

			if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			    (c >= '0' && c <= '9') || strchr("-._~", c) != NULL)
				out[o++] = (char)c;
			else {
				out[o++] = '%';
				out[o++] = hex[c >> 4];
				out[o++] = hex[c & 15];
			}
		}
	}
	memcpy(out + o, url + base, strlen(url + base) + 1);
	return out;
}

/* The scopes as the store keeps them for a session (JSON text). */
static char *
scopes_text(json_t *scopes)
{
	return json_dumps(scopes, JSON_COMPACT);
}

/* ---- GetResourceOauth2Token, USER_FEDERATION ---- */

/* A refresh in flight for a call, and what to do if it fails. */
struct refresh {
	struct api_ctx		*ctx;
	struct api_pending	*p;
	json_t			*in;
	char			 workload[256];
	char			 user[129];
	struct oauth_provider	 provider;
	struct store_oauth_token t;
};

static int start_session(struct api_ctx *ctx, json_t *in,
    const char *workload, const char *user, json_t *out, struct av_err *e);

static void
refresh_done(const struct oauth_result *r, void *arg)
{
	struct refresh *f = arg;
	struct av_err e = { NULL, "" };
	json_t *out = json_object();
	int rc;

	if (r->rc == 0) {
		json_object_set_new(out, "accessToken", json_stringn(r->access,
		    r->access_len));
		rc = 0;
	} else if (oauth_grant_refused(r->oauth_error)) {
		/* Revoked or expired at the provider: consent again. */
		rc = start_session(f->ctx, f->in, f->workload, f->user, out,
		    &e);
	} else {
		e = r->e;
		rc = -1;
	}
	api_resume(f->p, rc, out, &e);
	json_decref(out);
	json_decref(f->in);
	oauth_provider_clear(&f->provider);
	store_oauth_token_clear(&f->t);
	free(f);
}

/*
 * The stored, bound token of (workload, user, provider) that covers want:
 * HANDED_OUT in out, API_PENDING when it is being refreshed for the
 * call, 0 when there is none usable, -1 error.
 */
static int
stored_token(struct api_ctx *ctx, struct api_call *call, json_t *in,
    const char *workload, const char *user, const char *provider,
    const char *want, json_t *out, struct av_err *e)
{
	struct store_oauth_token t;
	struct oauth_fetch f;
	struct refresh *r;
	int found;

	memset(&t, 0, sizeof(t));
	if ((found = store_oauth_find(ctx->store, ctx->vault, workload, user,
	    provider, want, true, &t, e)) != 1)
		return found;	/* 0 or -1 */
	if (t.expires_at > (int64_t)time(NULL)) {
		json_object_set_new(out, "accessToken", json_stringn(t.access,
		    t.access_len));
		store_oauth_token_clear(&t);
		return HANDED_OUT;
	}
	if (t.refresh == NULL) {
		store_oauth_token_clear(&t);
		return 0;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		store_oauth_token_clear(&t);
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	}
	r->ctx = ctx;
	r->t = t;
	r->in = json_incref(in);
	snprintf(r->workload, sizeof(r->workload), "%s", workload);
	snprintf(r->user, sizeof(r->user), "%s", user);
	if (oauth_provider_load(ctx, provider, &r->provider, e) != 0)
		goto fail;
	memset(&f, 0, sizeof(f));
	f.key.workload = r->workload;
	f.key.user = r->user;
	f.key.provider = r->provider.name;
	f.key.scope_key = r->t.scope_key;
	f.provider = &r->provider;
	f.grant.grant = OAUTH_GRANT_REFRESH_TOKEN;
	f.grant.refresh_token = r->t.refresh;
	f.scopes = r->t.scopes;
	f.bound = true;
	if ((r->p = api_defer(call)) == NULL) {
		av_fail(e, AV_E_INTERNAL, "out of memory");
		goto fail;
	}
	if (oauth_token_fetch(ctx, ctx->base(ctx->audit_arg), &f, refresh_done,
	    r, e) != 0)
		goto fail;
	return API_PENDING;
fail:
	json_decref(r->in);
	oauth_provider_clear(&r->provider);
	store_oauth_token_clear(&r->t);
	free(r);
	return -1;
}

/* resourceOauth2ReturnUrl: given and on the identity's allow list. */
static int
return_url_ok(struct api_ctx *ctx, const char *workload, const char *url,
    struct av_err *e)
{
	struct wi_record w;
	json_t *u;
	size_t i;
	bool found = false;

	if (url == NULL)
		return av_fail(e, AV_E_VALIDATION, "resourceOauth2ReturnUrl is "
		    "required for USER_FEDERATION");
	if (store_wi_get(ctx->store, workload, NULL, &w, e) != 0)
		return -1;
	json_array_foreach(w.urls, i, u)
		if (strcmp(json_string_value(u), url) == 0)
			found = true;
	json_decref(w.urls);
	json_decref(w.authorizer);
	return found ? 0 : av_fail(e, AV_E_VALIDATION, "resourceOauth2ReturnUrl "
	    "is not among the workload identity's "
	    "allowedResourceOauth2ReturnUrls");
}

/* A new session: its URL, URI and status into out. */
static int
start_session(struct api_ctx *ctx, json_t *in, const char *workload,
    const char *user, json_t *out, struct av_err *e)
{
	char state[OAUTH_RANDOM_LEN + 1], verifier[OAUTH_RANDOM_LEN + 1];
	char challenge[OAUTH_RANDOM_LEN + 1], hash[OAUTH_STATE_HASH_LEN + 1];
	const char *provider = json_string_value(json_object_get(in,
	    "resourceCredentialProviderName"));
	const char *return_url, *custom_state;
	struct oauth_authz_request q;
	struct oauth_provider p;
	struct store_session *s = NULL;
	json_t *cb = NULL, *secret = NULL;
	char *url = NULL, *text = NULL, *scopes = NULL;
	int64_t now = (int64_t)time(NULL);
	int rc = -1;

	memset(&p, 0, sizeof(p));
	if (opt_string(in, "resourceOauth2ReturnUrl", 2048, &return_url,
	    e) != 0 ||
	    opt_string(in, "customState", CUSTOM_STATE_MAX, &custom_state,
	    e) != 0 ||
	    return_url_ok(ctx, workload, return_url, e) != 0 ||
	    oauth_provider_load(ctx, provider, &p, e) != 0)
		goto done;
	if ((cb = api_oauth2_callback_url(ctx)) == NULL) {
		av_fail(e, AV_E_VALIDATION, "USER_FEDERATION needs the TCP "
		    "listener: the browser comes back to its callback URL");
		goto done;
	}
	if (oauth_random_token(state) != 0 || oauth_random_token(verifier) !=
	    0 || oauth_pkce_challenge(verifier, challenge) != 0 ||
	    (s = calloc(1, sizeof(*s))) == NULL ||
	    oauth_session_uri_new(s->uri) != 0) {
		av_fail(e, AV_E_INTERNAL, "cannot start a session");
		goto done;
	}
	memset(&q, 0, sizeof(q));
	q.endpoint = p.authorization_endpoint;
	q.client_id = p.client_id;
	q.redirect_uri = json_string_value(cb);
	q.scopes = json_object_get(in, "scopes");
	q.state = state;
	q.code_challenge = challenge;
	q.vendor = p.vendor;
	q.resources = json_object_get(in, "resources");
	q.audiences = json_object_get(in, "audiences");
	q.custom = json_object_get(in, "customParameters");
	if (oauth_authorize_url(&q, &url, e) != 0)
		goto done;
	if ((scopes = scopes_text(q.scopes)) == NULL ||
	    strlen(scopes) > STORE_SESSION_SCOPES_MAX) {
		av_fail(e, AV_E_VALIDATION, "too many scopes");
		goto done;
	}
	snprintf(s->workload, sizeof(s->workload), "%s", workload);
	snprintf(s->user, sizeof(s->user), "%s", user);
	snprintf(s->provider, sizeof(s->provider), "%s", provider);
	memcpy(s->scopes, scopes, strlen(scopes) + 1);
	snprintf(s->return_url, sizeof(s->return_url), "%s", return_url);
	if ((s->has_custom_state = custom_state != NULL))
		snprintf(s->custom_state, sizeof(s->custom_state), "%s",
		    custom_state);
	s->created = now;
	s->expires = now + ctx->cfg->oauth.session_ttl_seconds;
	oauth_state_hash(state, hash);
	if ((secret = json_pack("{s:s, s:s}", "verifier", verifier, "url",
	    url)) == NULL || (text = json_dumps(secret, JSON_COMPACT)) == NULL) {
		av_fail(e, AV_E_INTERNAL, "out of memory");
		goto done;
	}
	if (store_session_create(ctx->store, ctx->vault, s, hash,
	    (const uint8_t *)text, strlen(text), SESSIONS_MAX, e) != 0)
		goto done;
	json_object_set_new(out, "authorizationUrl", json_string(url));
	json_object_set_new(out, "sessionUri", json_string(s->uri));
	json_object_set_new(out, "sessionStatus", json_string("IN_PROGRESS"));
	rc = 0;
done:
	OPENSSL_cleanse(state, sizeof(state));
	OPENSSL_cleanse(verifier, sizeof(verifier));
	if (text != NULL)
		OPENSSL_cleanse(text, strlen(text));
	if (url != NULL)
		OPENSSL_cleanse(url, strlen(url));
	free(text);
	free(url);
	free(scopes);
	free(s);
	json_decref(secret);
	json_decref(cb);
	oauth_provider_clear(&p);
	return rc;
}

/* Polling a session: its token once complete, else its status. */
static int
poll_session(struct api_ctx *ctx, struct api_call *call, json_t *in,
    const char *uri, const char *workload, const char *user, json_t *out,
    struct av_err *e)
{
	const char *provider = json_string_value(json_object_get(in,
	    "resourceCredentialProviderName"));
	struct store_session *s;
	uint8_t *buf = NULL;
	json_t *secret;
	char *want = NULL;
	size_t len = 0;
	int rc = -1, found;

	if ((s = malloc(sizeof(*s))) == NULL)
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	if ((found = store_session_get(ctx->store, uri, s, e)) != 1 ||
	    strcmp(s->workload, workload) != 0 || strcmp(s->user, user) != 0 ||
	    strcmp(s->provider, provider) != 0) {
		/* Another's session is as good as none. */
		if (found >= 0)
			av_fail(e, AV_E_NOT_FOUND, "no such session");
		goto done;
	}
	if (s->status == STORE_SESSION_COMPLETE) {
		json_t *scopes = json_loads(s->scopes, 0, NULL);

		want = scopes != NULL ? oauth_scope_key(scopes) : NULL;
		json_decref(scopes);
		if (want == NULL) {
			av_fail(e, AV_E_INTERNAL, "out of memory");
			goto done;
		}
		rc = stored_token(ctx, call, in, workload, user, provider, want,
		    out, e);
		if (rc == HANDED_OUT || rc == API_PENDING) {
			rc = rc == HANDED_OUT ? 0 : API_PENDING;
			goto done;
		}
		if (rc < 0)
			goto done;
		/* Erased since (revoked): the session is over. */
		json_object_set_new(out, "sessionStatus", json_string("FAILED"));
		rc = 0;
		goto done;
	}
	if (s->status == STORE_SESSION_FAILED ||
	    s->expires < (int64_t)time(NULL)) {
		json_object_set_new(out, "sessionStatus", json_string("FAILED"));
		rc = 0;
		goto done;
	}
	json_object_set_new(out, "sessionUri", json_string(s->uri));
	json_object_set_new(out, "sessionStatus", json_string("IN_PROGRESS"));
	if (s->status == STORE_SESSION_IN_PROGRESS &&
	    (buf = malloc(SECRET_CAP + 1)) != NULL &&
	    store_session_secret(ctx->store, ctx->vault, s, buf, SECRET_CAP,
	    &len, NULL) == 0 &&
	    (secret = json_loadb((char *)buf, len, 0, NULL)) != NULL) {
		json_object_set(out, "authorizationUrl",
		    json_object_get(secret, "url"));
		json_decref(secret);
	}
	rc = 0;
done:
	if (buf != NULL) {
		OPENSSL_cleanse(buf, SECRET_CAP + 1);
		free(buf);
	}
	free(want);
	free(s);
	return rc;
}

int
oauth3lo_get_token(struct api_ctx *ctx, struct api_call *call,
    const struct oauth_token_call *r, json_t *out, struct av_err *e)
{
	json_t *in = r->in;
	const char *workload = r->workload, *user = r->user;
	const char *provider = r->provider->name;
	const char *uri, *ret;
	json_t *force = json_object_get(in, "forceAuthentication");
	int rc;

	if (user == NULL || user[0] == '\0')
		return av_fail(e, AV_E_VALIDATION, "USER_FEDERATION needs a "
		    "workload access token for a user "
		    "(GetWorkloadAccessTokenForUserId)");
	if (force != NULL && !json_is_boolean(force))
		return av_fail(e, AV_E_VALIDATION, "forceAuthentication must be "
		    "true or false");
	if (oauth_custom_params_check(json_object_get(in, "customParameters"),
	    e) != 0)
		return -1;
	if (opt_string(in, "sessionUri", STORE_SESSION_URI_MAX, &uri, e) != 0)
		return -1;
	if (uri != NULL)
		return oauth_session_uri_valid(uri) ? poll_session(ctx, call,
		    in, uri, workload, user, out, e) : av_fail(e,
		    AV_E_NOT_FOUND, "no such session");
	/* Checked whether or not a session starts: a caller learns nothing
	 * from a wrong one. */
	if (opt_string(in, "resourceOauth2ReturnUrl", 2048, &ret, e) != 0 ||
	    return_url_ok(ctx, workload, ret, e) != 0)
		return -1;
	if (!json_is_true(force)) {
		rc = stored_token(ctx, call, in, workload, user, provider,
		    r->scope_key, out, e);
		if (rc != 0)
			return rc == HANDED_OUT ? 0 : rc;
	}
	return start_session(ctx, in, workload, user, out, e);
}

/* ---- the callback: GET /identities/oauth2/callback ---- */

struct exchange {
	struct api_ctx		*ctx;
	struct api_pending	*p;
	struct store_session	 s;
	struct oauth_provider	 provider;
	char			*verifier;
	char			*code;
	json_t			*callback;
};

static void
exchange_free(struct exchange *x)
{
	if (x->verifier != NULL)
		OPENSSL_cleanse(x->verifier, strlen(x->verifier));
	if (x->code != NULL)
		OPENSSL_cleanse(x->code, strlen(x->code));
	free(x->verifier);
	free(x->code);
	json_decref(x->callback);
	oauth_provider_clear(&x->provider);
	free(x);
}

/* Send the browser to the session's return URL with session_id and
 * state (customState), or error. */
static int
redirect_back(struct api_call *call, const struct store_session *s,
    const char *error, struct av_err *e)
{
	const char *kv[7];
	size_t n = 0;

	kv[n++] = "session_id";
	kv[n++] = s->uri;
	if (error != NULL) {
		kv[n++] = "error";
		kv[n++] = error;
	} else if (s->has_custom_state) {
		kv[n++] = "state";
		kv[n++] = s->custom_state;
	}
	kv[n] = NULL;
	if ((call->browser.location = url_with(s->return_url, kv)) == NULL)
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	return 0;
}

/* The provider's error code if it is of the safe alphabet. */
static const char *
safe_error(const char *code)
{
	size_t n = code != NULL ? strlen(code) : 0;

	if (n == 0 || n > OAUTH_ERROR_MAX || strspn(code, "ABCDEFGHIJKLMNOPQR"
	    "STUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") != n)
		return "server_error";
	return code;
}

/* The session ends FAILED and the browser goes back with the error. */
static int
fail_session(struct api_ctx *ctx, struct api_call *call,
    struct store_session *s, enum store_session_status from,
    const char *error, struct av_err *e)
{
	struct av_err ignored;

	error = safe_error(error);
	(void)store_session_set_status(ctx->store, ctx->vault, s, from,
	    STORE_SESSION_FAILED, error, &ignored);
	if (redirect_back(call, s, error, e) != 0)
		return -1;
	return av_fail(e, AV_E_VALIDATION, "the authorization failed: %s",
	    error);
}

static void
exchange_done(int rc, struct oauth_token *t, const char *oauth_error,
    struct av_err *err, void *arg)
{
	struct exchange *x = arg;
	struct api_call *call = api_pending_call(x->p);
	struct store_oauth_key k;
	struct av_err e = { NULL, "" };
	json_t *scopes;
	char *key = NULL, *extra = NULL;

	if (rc != 0) {
		log_info("OAuth2 callback: the code exchange at %s failed: %s",
		    x->provider.name, err->msg);
		rc = fail_session(x->ctx, call, &x->s,
		    STORE_SESSION_EXCHANGING, oauth_error[0] != '\0' ?
		    oauth_error : "server_error", &e);
		goto done;
	}
	scopes = json_loads(x->s.scopes, 0, NULL);
	key = scopes != NULL ? oauth_scope_key(scopes) : NULL;
	json_decref(scopes);
	extra = t->extra != NULL ? json_dumps(t->extra, JSON_COMPACT) : NULL;
	k.workload = x->s.workload;
	k.user = x->s.user;
	k.provider = x->s.provider;
	k.scope_key = key;
	/*
	 * Kept under the scopes asked for, which the user consented to:
	 * a provider that answers with fewer (or other names: OIDC scopes
	 * left out of an API token's) would otherwise send every request
	 * back to consent.
	 */
	if (key == NULL || store_oauth_put(x->ctx->store, x->ctx->vault, &k,
	    key, t->access, t->access_len,
	    t->refresh, t->refresh_len, oauth_expires_at((int64_t)time(NULL),
	    t->expires_in), false, extra != NULL ? extra : "{}", &e) != 0) {
		rc = fail_session(x->ctx, call, &x->s,
		    STORE_SESSION_EXCHANGING, "server_error", &e);
		goto done;
	}
	if (store_session_set_status(x->ctx->store, x->ctx->vault, &x->s,
	    STORE_SESSION_EXCHANGING, STORE_SESSION_CALLED_BACK, NULL,
	    &e) != 0) {
		rc = -1;
		goto done;
	}
	rc = redirect_back(call, &x->s, NULL, &e);
done:
	free(key);
	free(extra);
	api_resume(x->p, rc, NULL, &e);
	exchange_free(x);
}

int
op_oauth2_callback(struct api_ctx *ctx, struct api_call *call, json_t *in,
    json_t *out, struct av_err *e)
{
	char hash[OAUTH_STATE_HASH_LEN + 1];
	struct oauth_grant_req g;
	struct http_query q;
	struct exchange *x;
	const char *why, *state, *code, *error;
	uint8_t *buf = NULL;
	json_t *secret = NULL;
	size_t len = 0;
	int found, rc = -1;

	(void)in;
	(void)out;
	if (http_query_parse(call->req->target, &q, &why) != 0 ||
	    (state = http_query_get(&q, "state")) == NULL) {
		call->browser.status = 400;
		call->browser.html = strdup(page_bad_state);
		return av_fail(e, AV_E_VALIDATION, "the callback has no state");
	}
	code = http_query_get(&q, "code");
	error = http_query_get(&q, "error");
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	x->ctx = ctx;
	oauth_state_hash(state, hash);
	if ((found = store_session_take_state(ctx->store, hash,
	    (int64_t)time(NULL), &x->s, e)) != 1) {
		exchange_free(x);
		if (found < 0)
			return -1;
		call->browser.status = 400;
		call->browser.html = strdup(page_bad_state);
		return av_fail(e, AV_E_VALIDATION, "unknown, used or expired "
		    "state");
	}
	/* The state is the browser's credential: the session's now. */
	call->authorized = true;
	api_provider_arn(ctx, API_PROVIDER_OAUTH2, x->s.provider,
	    call->resource, sizeof(call->resource));
	snprintf(call->decision, sizeof(call->decision), "the state of a "
	    "session of %s", x->s.workload);
	if (error != NULL || code == NULL) {
		rc = fail_session(ctx, call, &x->s, STORE_SESSION_EXCHANGING,
		    error != NULL ? error : "invalid_request", e);
		exchange_free(x);
		return rc;
	}
	if ((buf = malloc(SECRET_CAP + 1)) == NULL ||
	    store_session_secret(ctx->store, ctx->vault, &x->s, buf,
	    SECRET_CAP, &len, e) != 0 ||
	    (secret = json_loadb((char *)buf, len, 0, NULL)) == NULL ||
	    (x->verifier = strdup(json_string_value(json_object_get(secret,
	    "verifier")) ? json_string_value(json_object_get(secret,
	    "verifier")) : "")) == NULL ||
	    (x->code = strdup(code)) == NULL ||
	    (x->callback = api_oauth2_callback_url(ctx)) == NULL ||
	    oauth_provider_load(ctx, x->s.provider, &x->provider, e) != 0) {
		rc = fail_session(ctx, call, &x->s, STORE_SESSION_EXCHANGING,
		    "server_error", e);
		goto done;
	}
	memset(&g, 0, sizeof(g));
	g.grant = OAUTH_GRANT_AUTHORIZATION_CODE;
	g.code = x->code;
	g.redirect_uri = json_string_value(x->callback);
	g.code_verifier = x->verifier;
	if ((x->p = api_defer(call)) == NULL ||
	    oauth_provider_request(ctx, &x->provider, &g, exchange_done, x,
	    e) != 0) {
		rc = fail_session(ctx, call, &x->s, STORE_SESSION_EXCHANGING,
		    "temporarily_unavailable", e);
		goto done;
	}
	x = NULL;
	rc = API_PENDING;
done:
	if (buf != NULL) {
		OPENSSL_cleanse(buf, SECRET_CAP + 1);
		free(buf);
	}
	json_decref(secret);
	if (x != NULL)
		exchange_free(x);
	return rc;
}

/* ---- CompleteResourceTokenAuth ---- */

/* The session of uri, unexpired, into s: 0, or -1 (NotFound). */
static int
session_load(struct api_ctx *ctx, const char *uri, struct store_session *s,
    struct av_err *e)
{
	int found;

	if (!oauth_session_uri_valid(uri) ||
	    (found = store_session_get(ctx->store, uri, s, e)) == 0 ||
	    (found == 1 && s->expires < (int64_t)time(NULL)))
		return av_fail(e, AV_E_NOT_FOUND, "no such session (or it "
		    "expired)");
	return found < 0 ? -1 : 0;
}

/* The call is authorized and the user known: bind the session's token
 * when user is the session's, else fail the session. */
static int
complete_for(struct api_ctx *ctx, struct api_call *call,
    struct store_session *s, const char *user, struct av_err *e)
{
	struct store_oauth_key k;
	json_t *scopes;
	char *key;
	int rc = -1;

	if (s->status == STORE_SESSION_IN_PROGRESS ||
	    s->status == STORE_SESSION_EXCHANGING)
		return av_fail(e, AV_E_VALIDATION, "the user has not completed "
		    "the authorization yet");
	if (s->status == STORE_SESSION_FAILED)
		return av_fail(e, AV_E_VALIDATION, "the session failed");
	scopes = json_loads(s->scopes, 0, NULL);
	key = scopes != NULL ? oauth_scope_key(scopes) : NULL;
	json_decref(scopes);
	if (key == NULL)
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	k.workload = s->workload;
	k.user = s->user;
	k.provider = s->provider;
	k.scope_key = key;
	if (strcmp(user, s->user) != 0) {
		/* Someone else came back through this session's consent:
		 * what they authorized is nobody's. */
		if (s->status == STORE_SESSION_CALLED_BACK) {
			(void)store_session_set_status(ctx->store, ctx->vault,
			    s, STORE_SESSION_CALLED_BACK, STORE_SESSION_FAILED,
			    "user_mismatch", NULL);
			(void)store_oauth_delete(ctx->store, ctx->vault, &k,
			    NULL);
		}
		snprintf(call->decision, sizeof(call->decision), "session "
		    "binding: the user does not match the session");
		av_fail(e, AV_E_ACCESS_DENIED, "the user does not match the "
		    "session");
		goto done;
	}
	if (s->status == STORE_SESSION_CALLED_BACK &&
	    (store_oauth_bind(ctx->store, &k, e) != 0 ||
	    store_session_set_status(ctx->store, ctx->vault, s,
	    STORE_SESSION_CALLED_BACK, STORE_SESSION_COMPLETE, NULL, e) != 0))
		goto done;
	rc = 0;
done:
	free(key);
	return rc;
}

/* A completion waiting for the identity provider's keys. */
struct completion {
	struct api_ctx		*ctx;
	struct api_pending	*p;
	char			 uri[STORE_SESSION_URI_MAX + 1];
};

/* The user of a validated userToken, for the call and its audit. */
static void
token_user(struct api_call *call, const struct authorizer_result *r)
{
	snprintf(call->user_issuer, sizeof(call->user_issuer), "%s",
	    r->issuer);
	snprintf(call->user_subject_hash, sizeof(call->user_subject_hash),
	    "%s", r->subject_hash);
}

/* authorizer_done_fn: the token is checked; the session read again. */
static void
completion_ready(int rc, struct authorizer_result *r, struct av_err *e,
    void *arg)
{
	struct completion *x = arg;
	struct api_call *call = api_pending_call(x->p);
	struct av_err err = { NULL, "" };
	struct store_session *s = NULL;

	if (rc == 0) {
		token_user(call, r);
		e = &err;
		rc = (s = malloc(sizeof(*s))) == NULL ? av_fail(e,
		    AV_E_INTERNAL, "out of memory") : session_load(x->ctx,
		    x->uri, s, e) != 0 ? -1 : complete_for(x->ctx, call, s,
		    r->user, e);
	}
	api_resume(x->p, rc, NULL, rc == 0 ? NULL : e);
	free(s);
	free(x);
}

/*
 * userToken: a JWT the workload's authorizer (or the directory's) accepts;
 * its user is the jwt: key, compared with the session's as a userId is.
 */
static int
complete_with_token(struct api_ctx *ctx, struct api_call *call,
    struct store_session *s, json_t *token, struct av_err *e)
{
	struct authorizer_result r;
	struct completion *x = NULL;
	struct wi_record w;
	json_t *config = NULL;
	int rc = -1;

	if (!json_is_string(token) || json_string_length(token) == 0 ||
	    strlen(json_string_value(token)) != json_string_length(token))
		return av_fail(e, AV_E_VALIDATION, "userToken must be a JWT");
	if (store_wi_get(ctx->store, s->workload, NULL, &w, e) != 0)
		return -1;
	if ((config = json_incref(w.authorizer)) == NULL &&
	    (config = authorizer_config_default(ctx->cfg)) == NULL) {
		av_fail(e, AV_E_VALIDATION, "userToken: the workload identity "
		    "%s has no authorizerConfiguration and the directory has "
		    "no default authorizer", s->workload);
		goto done;
	}
	if ((x = calloc(1, sizeof(*x))) == NULL ||
	    (x->p = api_defer(call)) == NULL) {
		av_fail(e, AV_E_INTERNAL, "out of memory");
		goto done;
	}
	x->ctx = ctx;
	snprintf(x->uri, sizeof(x->uri), "%s", s->uri);
	rc = authorizer_validate(ctx, config, json_string_value(token),
	    json_string_length(token), &r, completion_ready, x, e);
	if (rc == AUTHORIZER_PENDING) {
		x = NULL;
		rc = API_PENDING;
	} else if (rc == 0) {
		token_user(call, &r);
		rc = complete_for(ctx, call, s, r.user, e);
		authorizer_result_clear(&r);
	}
done:
	free(x);	/* api_handle frees an unused pending */
	json_decref(config);
	json_decref(w.urls);
	json_decref(w.authorizer);
	return rc;
}

int
op_complete_resource_token_auth(struct api_ctx *ctx, struct api_call *call,
    json_t *in, json_t *out, struct av_err *e)
{
	static const char *const fields[] = { "sessionUri", "userIdentifier",
	    NULL };
	static const char *const id_fields[] = { "userId", "userToken", NULL };
	struct authz_request q = { 0 };
	struct store_session *s;
	char workload[512];
	const char *uri, *user = NULL;
	json_t *id, *token;
	int rc = -1;

	(void)out;
	if (api_only_fields(in, fields, e) != 0 ||
	    opt_string(in, "sessionUri", STORE_SESSION_URI_MAX, &uri, e) != 0)
		return -1;
	if (uri == NULL)
		return av_fail(e, AV_E_VALIDATION, "sessionUri is required");
	id = json_object_get(in, "userIdentifier");
	if (!json_is_object(id) || json_object_size(id) != 1 ||
	    api_only_fields(id, id_fields, e) != 0)
		return json_is_object(id) && json_object_size(id) == 1 ? -1 :
		    av_fail(e, AV_E_VALIDATION, "userIdentifier must have "
		    "exactly one of userId and userToken");
	if ((token = json_object_get(id, "userToken")) == NULL) {
		if (opt_string(id, "userId", 128, &user, e) != 0)
			return -1;
		/* A JWT's user proves itself with the JWT. */
		if (user_is_jwt(user))
			return av_fail(e, AV_E_VALIDATION, "userId: ids "
			    "starting with jwt: are reserved: give the user's "
			    "JWT as userToken");
	}
	if ((s = malloc(sizeof(*s))) == NULL)
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	if (session_load(ctx, uri, s, e) != 0)
		goto done;
	api_wi_arn(ctx, s->workload, workload, sizeof(workload));
	snprintf(call->resource, sizeof(call->resource), "%s", workload);
	q.workload = workload;
	q.provider = s->provider;
	if (api_authorize(ctx, call, &q, e) != 0)
		goto done;
	rc = token != NULL ? complete_with_token(ctx, call, s, token, e) :
	    complete_for(ctx, call, s, user, e);
done:
	free(s);
	return rc;
}
