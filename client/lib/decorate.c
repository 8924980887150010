/* SPDX-License-Identifier: Apache-2.0 */
/*
 * decorate.c - the seed's two decorators in C: av_with_api_key and
 * av_with_access_token, on a per-handle cache of workload access tokens;
 * av_wait_oauth2_token, the session poller they share with the CLI.
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

#define POLL_MS		1000	/* a session polled every second */
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

/*
 * One GetResourceOauth2Token.  With o, the workload token is the
 * helper's (given, or cached), a refused cached one replaced once;
 * without, rq's.
 */
static int
ask(av_handle *h, const struct av_oauth2_opts *o,
    struct av_oauth2_request *rq, struct av_oauth2_result *res,
    struct av_error *err)
{
	bool cached = false;
	int attempt;

	for (attempt = 0;; attempt++) {
		if (o != NULL && helper_token(h, o->workload_token,
		    o->workload, o->user_id, o->token_ttl_s, attempt > 0,
		    &rq->workload_token, &cached, err) != 0)
			return -1;
		if (av_get_resource_oauth2_token(h, rq, res, err) == 0)
			return 0;
		if (attempt > 0 || !refused(cached, err))
			return -1;
	}
}

static void
sleep_ms(int64_t ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) != 0)
		;
}

/* Poll rq->session_uri until the token, FAILED or the deadline. */
static int
poll_session(av_handle *h, const struct av_oauth2_opts *o,
    struct av_oauth2_request *rq, int interval_ms, int64_t deadline,
    char **token, struct av_error *err)
{
	struct av_oauth2_result res;
	int64_t wait = interval_ms > 0 ? interval_ms : POLL_MS;
	bool failed;

	*token = NULL;
	rq->force_authentication = false;	/* the first request's */
	for (;;) {
		if (avc_now_ms() + wait >= deadline)
			return avc_fail(err, AV_TIMEOUT_ERROR, "the user did "
			    "not complete the authorization in time");
		sleep_ms(wait);
		if (ask(h, o, rq, &res, err) != 0)
			return -1;
		if ((*token = res.access_token) != NULL) {
			res.access_token = NULL;
			av_oauth2_result_free(&res);
			return 0;
		}
		failed = strcmp(res.session_status, "FAILED") == 0;
		av_oauth2_result_free(&res);
		if (failed)
			return avc_fail(err, AV_AUTHORIZATION_ERROR, "the "
			    "authorization session failed");
	}
}

int
av_wait_oauth2_token(av_handle *h, const struct av_oauth2_request *rq,
    int poll_interval_ms, int deadline_ms, char **token,
    struct av_error *err)
{
	struct av_oauth2_request r;

	*token = NULL;
	if (rq == NULL || rq->session_uri == NULL)
		return avc_fail(err, AV_ARGUMENT_ERROR, "polling needs the "
		    "session URI");
	r = *rq;
	return poll_session(h, NULL, &r, poll_interval_ms, avc_now_ms() +
	    (deadline_ms > 0 ? deadline_ms : DEADLINE_MS), token, err);
}

/* The first answer was a session: consent, then polling. */
static int
consent(av_handle *h, const struct av_oauth2_opts *o,
    struct av_oauth2_request *rq, const struct av_oauth2_result *res,
    int64_t deadline, char **token, struct av_error *err)
{
	const char *url = res->authorization_url;

	if (strcmp(res->session_status, "FAILED") == 0)
		return avc_fail(err, AV_AUTHORIZATION_ERROR, "the "
		    "authorization session failed");
	if (url != NULL && o->on_auth_url == NULL)
		return avc_fail(err, AV_AUTHORIZATION_ERROR, "the user must "
		    "authorize access at %s", url);
	if (url != NULL && o->on_auth_url(url, o->on_auth_url_arg) != 0)
		return avc_fail(err, AV_AUTHORIZATION_ERROR, "authorization "
		    "cancelled");
	rq->session_uri = res->session_uri;
	return poll_session(h, o, rq, o->poll_interval_ms, deadline, token,
	    err);
}

int
av_with_access_token(av_handle *h, const struct av_oauth2_opts *o,
    av_secret_fn fn, void *arg, struct av_error *err)
{
	struct av_error local;
	struct av_oauth2_request rq;
	struct av_oauth2_result res;
	char *token;
	int64_t deadline;
	int rc;

	if (err == NULL)
		err = &local;
	if (o == NULL || o->provider == NULL || o->scopes == NULL ||
	    o->scopes[0] == NULL || fn == NULL)
		return avc_fail(err, AV_ARGUMENT_ERROR, "a provider, scopes "
		    "and a function are required");
	deadline = avc_now_ms() + (o->deadline_ms > 0 ? o->deadline_ms :
	    DEADLINE_MS);
	rq = (struct av_oauth2_request){ .provider = o->provider,
	    .scopes = o->scopes, .flow = o->flow,
	    .return_url = o->callback_url,
	    .force_authentication = o->force_authentication,
	    .custom_parameters = o->custom_parameters,
	    .custom_state = o->custom_state, .resources = o->resources,
	    .audiences = o->audiences };
	if (ask(h, o, &rq, &res, err) != 0)
		return -1;
	if ((token = res.access_token) != NULL)
		res.access_token = NULL;
	else if (consent(h, o, &rq, &res, deadline, &token, err) != 0) {
		av_oauth2_result_free(&res);
		return -1;
	}
	av_oauth2_result_free(&res);
	avc_clear(err);
	rc = fn(token, arg);
	av_secret_free(token);
	return rc;
}
