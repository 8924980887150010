/* SPDX-License-Identifier: Apache-2.0 */
/*
 * decorate.c - the seed's two decorators in C: av_with_api_key and
 * av_with_access_token, on a per-handle cache of workload access tokens.
 *
 * The token is opaque: the client cannot read its expiry, so it keeps the
 * time it asked for it (before sending, which errs early) and the lifetime
 * the caller says the appliance gives (tokens.ttl_seconds), and mints a
 * new one a tenth of that lifetime (at most a minute) before the end.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#define POLL_MS		5000	/* the seed SDK's token poller */
#define DEADLINE_MS	600000

static bool
same(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

static void
drop(struct avc_token *t)
{
	free(t->workload);
	free(t->user_id);
	av_secret_free(t->token);
	memset(t, 0, sizeof(*t));
}

/* Still good for the lifetime the caller says the appliance gives? */
static bool
fresh_enough(const struct avc_token *t, int ttl_s, int64_t now)
{
	int64_t life, margin;

	life = (int64_t)(ttl_s > 0 ? ttl_s : AV_DEFAULT_TOKEN_TTL) * 1000;
	margin = life / 10 < 60000 ? life / 10 : 60000;
	return now < t->minted_ms + life - margin;
}

/*
 * The workload token for (workload, user_id): the cached one unless fresh
 * is set, else a new one.  *cached says which.  The token stays owned by
 * the cache.
 */
static int
workload_token(av_handle *h, const char *workload, const char *user_id,
    int ttl_s, bool fresh, const char **token, bool *cached,
    struct av_error *err)
{
	struct avc_token *t = NULL, *slot = &h->cache[0];
	int64_t now = avc_now_ms();
	char *tok;
	size_t i;
	int rc;

	for (i = 0; i < AVC_CACHE_SLOTS && t == NULL; i++) {
		if (h->cache[i].token != NULL &&
		    same(h->cache[i].workload, workload) &&
		    same(h->cache[i].user_id, user_id))
			t = &h->cache[i];
		else if (slot->token != NULL && (h->cache[i].token == NULL ||
		    h->cache[i].minted_ms < slot->minted_ms))
			slot = &h->cache[i];	/* empty, or the oldest */
	}
	if (t != NULL && !fresh && fresh_enough(t, ttl_s, now)) {
		*token = t->token;
		*cached = true;
		return 0;
	}
	rc = user_id != NULL ? av_get_workload_access_token_for_user_id(h,
	    workload, user_id, &tok, err) :
	    av_get_workload_access_token(h, workload, &tok, err);
	if (rc != 0)
		return -1;
	if (t != NULL)
		slot = t;
	drop(slot);
	slot->token = tok;
	slot->minted_ms = now;
	if ((slot->workload = strdup(workload)) == NULL || (user_id != NULL &&
	    (slot->user_id = strdup(user_id)) == NULL)) {
		drop(slot);
		return avc_fail(err, AV_CLIENT_ERROR, "out of memory");
	}
	*token = slot->token;
	*cached = false;
	return 0;
}

/* The token a helper presents: given, or from the cache. */
static int
helper_token(av_handle *h, const char *given, const char *workload,
    const char *user_id, int ttl_s, bool fresh, const char **token,
    bool *cached, struct av_error *err)
{
	if (given != NULL) {
		*token = given;
		*cached = false;
		return 0;
	}
	if (workload == NULL)
		return avc_fail(err, AV_ARGUMENT_ERROR, "a workload name or a "
		    "workload access token is required");
	return workload_token(h, workload, user_id, ttl_s, fresh, token,
	    cached, err);
}

/* A cached token refused: worth one more try with a new one. */
static bool
refused(bool cached, const struct av_error *err)
{
	return cached && err != NULL &&
	    strcmp(err->type, "AccessDeniedException") == 0;
}

int
av_with_api_key(av_handle *h, const struct av_api_key_opts *o,
    av_secret_fn fn, void *arg, struct av_error *err)
{
	struct av_error local;
	const char *tok;
	char *key = NULL;
	bool cached;
	int attempt, rc;

	if (err == NULL)
		err = &local;
	if (o == NULL || o->provider == NULL || fn == NULL)
		return avc_fail(err, AV_ARGUMENT_ERROR, "a provider and a "
		    "function are required");
	for (attempt = 0; key == NULL; attempt++) {
		if (helper_token(h, o->workload_token, o->workload, o->user_id,
		    o->token_ttl_s, attempt > 0, &tok, &cached, err) != 0)
			return -1;
		if (av_get_resource_api_key(h, tok, o->provider, &key,
		    err) != 0 && (attempt > 0 || !refused(cached, err)))
			return -1;
	}
	avc_clear(err);
	rc = fn(key, arg);
	av_secret_free(key);
	return rc;
}

static const char *
flow_name(enum av_auth_flow f)
{
	return f == AV_M2M ? "M2M" : "USER_FEDERATION";
}

/* One GetResourceOauth2Token; *token when it came, else *reply. */
static int
oauth2_token(av_handle *h, const struct av_oauth2_opts *o, const char *tok,
    const char *session, bool first, char **token, json_t **reply,
    struct av_error *err)
{
	struct avc_reply r;
	json_t *in, *scopes = NULL;
	size_t i;
	bool ok;
	int rc;

	*token = NULL;
	*reply = NULL;
	in = json_pack("{s:s, s:s, s:s*, s:s*}",
	    "resourceCredentialProviderName", o->provider, "oauth2Flow",
	    flow_name(o->flow), "sessionUri", session,
	    "resourceOauth2ReturnUrl", o->callback_url);
	ok = in != NULL;
	if (ok && first && o->force_authentication)
		ok = json_object_set_new(in, "forceAuthentication",
		    json_true()) == 0;
	if (ok)
		ok = json_object_set_new(in, "scopes",
		    scopes = json_array()) == 0;
	for (i = 0; ok && o->scopes[i] != NULL; i++)
		ok = json_array_append_new(scopes,
		    json_string(o->scopes[i])) == 0;
	if (ok)
		ok = json_object_set_new(in, "workloadIdentityToken",
		    json_string(tok)) == 0;
	if (!ok) {
		json_decref(in);
		return avc_fail(err, AV_ARGUMENT_ERROR, "an argument is not "
		    "UTF-8 text");
	}
	if (avc_exchange(h, "POST", "/identities/oauth2/token", in,
	    "workloadIdentityToken", false, &r, err) != 0) {
		if (err != NULL && err->status == 400 &&
		    strcmp(err->message, "unknown operation") == 0)
			avc_fail(err, AV_NOT_SUPPORTED_ERROR, "this appliance "
			    "does not support GetResourceOauth2Token yet "
			    "(OAuth2 credential providers come in a later "
			    "release)");
		return -1;
	}
	if ((rc = avc_json_secret(r.body, r.len, "accessToken", token,
	    err)) == 1) {
		*reply = json_loadb(r.body, r.len, JSON_REJECT_DUPLICATES,
		    NULL);
		rc = 0;
	}
	avc_reply_wipe(h, &r);
	return rc;
}

static void
sleep_ms(int64_t ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) != 0)
		;
}

int
av_with_access_token(av_handle *h, const struct av_oauth2_opts *o,
    av_secret_fn fn, void *arg, struct av_error *err)
{
	struct av_error local;
	const char *tok, *url, *status, *s;
	char *token = NULL, *session = NULL;
	bool cached, fresh = false, retried = false, shown = false;
	int64_t deadline, wait;
	json_t *reply = NULL;
	int rc = -1;

	if (err == NULL)
		err = &local;
	if (o == NULL || o->provider == NULL || o->scopes == NULL ||
	    o->scopes[0] == NULL || fn == NULL)
		return avc_fail(err, AV_ARGUMENT_ERROR, "a provider, scopes "
		    "and a function are required");
	deadline = avc_now_ms() + (o->deadline_ms > 0 ? o->deadline_ms :
	    DEADLINE_MS);
	for (;;) {
		if (helper_token(h, o->workload_token, o->workload, o->user_id,
		    o->token_ttl_s, fresh, &tok, &cached, err) != 0)
			goto out;
		fresh = false;
		if (oauth2_token(h, o, tok, session, session == NULL, &token,
		    &reply, err) != 0) {
			if (retried || !refused(cached, err))
				goto out;
			retried = fresh = true;
			continue;
		}
		if (token != NULL)
			break;
		status = json_string_value(json_object_get(reply,
		    "sessionStatus"));
		url = json_string_value(json_object_get(reply,
		    "authorizationUrl"));
		s = json_string_value(json_object_get(reply, "sessionUri"));
		if (status != NULL && strcmp(status, "FAILED") == 0) {
			avc_fail(err, AV_AUTHORIZATION_ERROR, "the "
			    "authorization session failed");
			goto out;
		}
		if (s == NULL && session == NULL) {
			avc_fail(err, AV_PROTOCOL_ERROR, "the reply has "
			    "neither an access token nor a session");
			goto out;
		}
		if (url != NULL && !shown) {
			if (o->on_auth_url == NULL) {
				avc_fail(err, AV_AUTHORIZATION_ERROR, "the "
				    "user must authorize access at %s", url);
				goto out;
			}
			if (o->on_auth_url(url, o->on_auth_url_arg) != 0) {
				avc_fail(err, AV_AUTHORIZATION_ERROR,
				    "authorization cancelled");
				goto out;
			}
			shown = true;
		}
		if (s != NULL) {
			free(session);
			if ((session = strdup(s)) == NULL) {
				avc_fail(err, AV_CLIENT_ERROR, "out of memory");
				goto out;
			}
		}
		json_decref(reply);
		reply = NULL;
		wait = o->poll_interval_ms > 0 ? o->poll_interval_ms : POLL_MS;
		if (avc_now_ms() + wait >= deadline) {
			avc_fail(err, AV_TIMEOUT_ERROR, "the user did not "
			    "complete the authorization in time");
			goto out;
		}
		sleep_ms(wait);
	}
	avc_clear(err);
	rc = fn(token, arg);
out:
	av_secret_free(token);
	free(session);
	json_decref(reply);
	return rc;
}
