/* SPDX-License-Identifier: Apache-2.0 */
/*
 * jwks_cache.c - identity providers' keys by discovery URL, shared by
 * every event loop (one mutex), with one fetch at a time per URL: the
 * caller that finds it must fetch starts it on its own loop's outbound
 * client, the others wait; each waiter is woken on its own loop
 * (event_active, as oauth_token.c's flights).  authorizer.h has the
 * freshness rules.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "api.h"
#include "authorizer.h"
#include "jwt.h"
#include "log.h"

#define ENTRIES_MAX	256	/* discovery URLs remembered */
#define DISCOVERY_MAX	(64 * 1024)	/* bytes of a discovery doc */
#define SUFFIX		"/.well-known/openid-configuration"

struct jwks_keys {
	struct jwk_set	*set;
	unsigned	 refs;		/* under the cache's mutex */
};

struct waiter {
	struct api_ctx	*ctx;
	struct event	*ev;		/* on the waiter's loop */
	struct entry	*entry;
	char		*kid;		/* or NULL */
	jwks_done_fn	*cb;
	void		*arg;
	struct waiter	*next;
};

struct entry {
	char		*url;		/* the discovery URL */
	struct jwks_keys *keys;		/* NULL until a fetch succeeds */
	int64_t		 fetched;	/* the last success */
	int64_t		 attempted;	/* the last fetch started */
	int64_t		 used;
	bool		 fetching;
	unsigned	 pinned;	/* waiters that will look at it */
	struct waiter	*waiters;
	struct av_err	 error;		/* the last failure's */
	struct entry	*next;
};

/* One fetch: the discovery document, then its jwks_uri. */
struct fetch {
	struct api_ctx	*ctx;
	struct entry	*entry;
	char		*jwks_uri;	/* once the document is read */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct entry *entries;
static size_t nentries;

const struct jwk_set *
jwks_keys_set(const struct jwks_keys *k)
{
	return k->set;
}

/* With the lock held. */
static void
release_locked(struct jwks_keys *k)
{
	if (k != NULL && --k->refs == 0) {
		jwks_free(k->set);
		free(k);
	}
}

void
jwks_keys_release(struct jwks_keys *k)
{
	pthread_mutex_lock(&lock);
	release_locked(k);
	pthread_mutex_unlock(&lock);
}

/* With the lock held: the entry of url, made (evicting the least used
 * idle one when full) if need be; NULL when out of memory. */
static struct entry *
entry_get(const char *url, int64_t now)
{
	struct entry *x, **pp, **lru = NULL;

	for (x = entries; x != NULL; x = x->next)
		if (strcmp(x->url, url) == 0) {
			x->used = now;
			return x;
		}
	if (nentries >= ENTRIES_MAX) {
		for (pp = &entries; *pp != NULL; pp = &(*pp)->next)
			if (!(*pp)->fetching && (*pp)->pinned == 0 &&
			    (lru == NULL ||
			    (*pp)->used < (*lru)->used))
				lru = pp;
		if (lru == NULL)
			return NULL;
		x = *lru;
		*lru = x->next;
		release_locked(x->keys);
		free(x->url);
		free(x);
		nentries--;
	}
	if ((x = calloc(1, sizeof(*x))) == NULL ||
	    (x->url = strdup(url)) == NULL) {
		free(x);
		return NULL;
	}
	x->used = now;
	x->next = entries;
	entries = x;
	nentries++;
	return x;
}

/*
 * With the lock held: the keys for kid, a fetch to wait for (1, w
 * queued), or an error.  may_fetch: a caller woken after a fetch does
 * not start another one for the same token.
 */
static int
lookup_locked(struct api_ctx *ctx, struct entry *x, const char *kid,
    bool may_fetch, struct waiter *w, struct jwks_keys **keys, bool *start,
    struct av_err *e)
{
	const struct av_authorizer_config *c = &ctx->cfg->authorizer;
	int64_t now = (int64_t)time(NULL);
	bool fresh, known;

	*start = false;
	if (x->fetching) {
		w->next = x->waiters;
		x->waiters = w;
		x->pinned++;
		return 1;
	}
	fresh = x->keys != NULL && now - x->fetched < c->jwks_ttl_seconds;
	known = x->keys != NULL && (kid == NULL ||
	    jwks_has_kid(x->keys->set, kid));
	if (!(fresh && known) && may_fetch &&
	    (x->attempted == 0 || now - x->attempted >=
	    c->jwks_refresh_min_seconds)) {
		x->fetching = true;
		x->attempted = now;
		w->next = x->waiters;
		x->waiters = w;
		x->pinned++;
		*start = true;
		return 1;
	}
	if (x->keys != NULL && now - x->fetched <= c->jwks_max_stale_seconds) {
		x->keys->refs++;
		*keys = x->keys;
		return 0;
	}
	if (x->keys != NULL)
		return av_fail(e, AV_E_ACCESS_DENIED, "the identity provider's "
		    "keys are older than authorizer.jwks_max_stale_seconds "
		    "and cannot be fetched again (%s)", x->error.msg);
	return av_fail(e, AV_E_ACCESS_DENIED, "the identity provider's keys "
	    "cannot be fetched (%s)", x->error.type != NULL ? x->error.msg :
	    "a fetch failed moments ago");
}

static void
waiter_free(struct waiter *w)
{
	if (w->ev != NULL)
		event_free(w->ev);
	free(w->kid);
	free(w);
}

/* A waiter's event, on its own loop: the fetch is over; look again. */
static void
waiter_fire(evutil_socket_t fd, short what, void *arg)
{
	struct waiter *w = arg;
	struct av_err e = { NULL, "" };
	struct jwks_keys *keys = NULL;
	bool start;
	int rc;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&lock);
	w->entry->pinned--;
	rc = lookup_locked(w->ctx, w->entry, w->kid, false, w, &keys, &start,
	    &e);
	pthread_mutex_unlock(&lock);
	if (rc == 1)
		return;		/* another fetch began meanwhile: wait */
	w->cb(rc, keys, rc == 0 ? NULL : &e, w->arg);
	waiter_free(w);
}

/* The fetch is over (x->error set when it failed): wake the waiters. */
static void
fetch_done(struct fetch *f, struct jwk_set *set, const struct av_err *e)
{
	struct entry *x = f->entry;
	struct jwks_keys *k = NULL;
	struct waiter *w, *next;

	if (set != NULL && (k = calloc(1, sizeof(*k))) == NULL) {
		jwks_free(set);
		set = NULL;
	}
	pthread_mutex_lock(&lock);
	if (k != NULL) {
		k->set = set;
		k->refs = 1;
		release_locked(x->keys);
		x->keys = k;
		x->fetched = (int64_t)time(NULL);
		x->error.type = NULL;
	} else {
		x->error = e != NULL ? *e : (struct av_err){ AV_E_INTERNAL,
		    "out of memory" };
	}
	x->fetching = false;
	w = x->waiters;
	x->waiters = NULL;
	pthread_mutex_unlock(&lock);
	for (; w != NULL; w = next) {
		next = w->next;
		event_active(w->ev, 0, 0);
	}
	free(f->jwks_uri);
	free(f);
}

/* The issuer a discovery URL names: its length before the suffix. */
static size_t
issuer_len(const char *url)
{
	size_t n = strlen(url), k = strlen(SUFFIX);

	return n > k && strcmp(url + n - k, SUFFIX) == 0 ? n - k : 0;
}

static int
answer_ok(const char *what, const struct outbound_resp *r, size_t max,
    struct av_err *e)
{
	if (r->error == OUTBOUND_E_TOO_LARGE || (r->error == OUTBOUND_OK &&
	    r->body_len > max))
		return av_fail(e, AV_E_ACCESS_DENIED, "%s: too large", what);
	if (r->error != OUTBOUND_OK)
		return av_fail(e, AV_E_ACCESS_DENIED, "%s: %s", what,
		    outbound_error_name(r->error));
	if (r->status != 200)
		return av_fail(e, AV_E_ACCESS_DENIED, "%s: HTTP %ld", what,
		    r->status);
	return 0;
}

/* outbound_done_fn: the JWKS. */
static void
jwks_answer(const struct outbound_resp *r, void *arg)
{
	struct fetch *f = arg;
	struct av_err e = { NULL, "" };
	struct jwk_set *set = NULL;

	if (answer_ok("jwks_uri", r, JWKS_MAX, &e) == 0 &&
	    jwks_parse(r->body, r->body_len, &set, &e) != 0)
		av_fail(&e, AV_E_ACCESS_DENIED, "jwks_uri: %s", e.msg);
	fetch_done(f, set, &e);
}

/* outbound_done_fn: the discovery document; then its jwks_uri. */
static void
discovery_answer(const struct outbound_resp *r, void *arg)
{
	static const char *const headers[] = { "Accept: application/json",
	    NULL };
	struct outbound_req q = { .method = OUTBOUND_GET, .headers = headers };
	struct fetch *f = arg;
	struct av_err e = { NULL, "" };
	const char *url = f->entry->url;
	size_t n = issuer_len(url);
	json_t *doc = NULL, *v;

	if (answer_ok("discovery", r, DISCOVERY_MAX, &e) != 0)
		goto fail;
	if ((doc = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES,
	    NULL)) == NULL || !json_is_object(doc)) {
		av_fail(&e, AV_E_ACCESS_DENIED, "discovery: the document is "
		    "not a JSON object");
		goto fail;
	}
	v = json_object_get(doc, "issuer");
	if (!json_is_string(v) || json_string_length(v) != n ||
	    strncmp(json_string_value(v), url, n) != 0) {
		av_fail(&e, AV_E_ACCESS_DENIED, "discovery: the document's "
		    "issuer is not %.*s, the issuer the discovery URL names",
		    (int)n, url);
		goto fail;
	}
	v = json_object_get(doc, "jwks_uri");
	if (!json_is_string(v) || strlen(json_string_value(v)) !=
	    json_string_length(v)) {
		av_fail(&e, AV_E_ACCESS_DENIED, "discovery: the document has "
		    "no jwks_uri");
		goto fail;
	}
	if (oauth_url_check("discovery: jwks_uri", json_string_value(v),
	    f->ctx->cfg->outbound.allow_http_loopback, &e) != 0 ||
	    (f->jwks_uri = strdup(json_string_value(v))) == NULL) {
		if (e.type == NULL)
			av_fail(&e, AV_E_INTERNAL, "out of memory");
		e.type = AV_E_ACCESS_DENIED;
		goto fail;
	}
	json_decref(doc);
	q.url = f->jwks_uri;
	if (outbound_request(f->ctx->outbound(f->ctx->audit_arg), &q,
	    jwks_answer, f, &e) == 0)
		return;
	doc = NULL;
fail:
	json_decref(doc);
	fetch_done(f, NULL, &e);
}

/* Fetch f->entry's keys (it is marked fetching) through this loop's
 * outbound client. */
static void
fetch_start(struct fetch *f)
{
	static const char *const headers[] = { "Accept: application/json",
	    NULL };
	struct outbound_req q = { .method = OUTBOUND_GET, .headers = headers };
	struct av_err e = { NULL, "" };

	q.url = f->entry->url;
	log_info("authorizer: fetching the keys of %s", q.url);
	if (outbound_request(f->ctx->outbound(f->ctx->audit_arg), &q,
	    discovery_answer, f, &e) != 0) {
		e.type = AV_E_ACCESS_DENIED;
		fetch_done(f, NULL, &e);
	}
}

/*
 * With the lock held: the keys of x for kid when they can be used now,
 * without waiting (a reference), or NULL.
 */
static struct jwks_keys *
usable_locked(struct api_ctx *ctx, struct entry *x, const char *kid)
{
	const struct av_authorizer_config *c = &ctx->cfg->authorizer;
	int64_t now = (int64_t)time(NULL);
	bool may_fetch;

	if (x->fetching || x->keys == NULL)
		return NULL;
	x->used = now;
	may_fetch = x->attempted == 0 || now - x->attempted >=
	    c->jwks_refresh_min_seconds;
	if (now - x->fetched < c->jwks_ttl_seconds && (kid == NULL ||
	    jwks_has_kid(x->keys->set, kid)))
		;	/* fresh and it has the key */
	else if (may_fetch || now - x->fetched > c->jwks_max_stale_seconds)
		return NULL;
	x->keys->refs++;
	return x->keys;
}

int
jwks_cache_get(struct api_ctx *ctx, const char *discovery_url,
    const char *kid, struct jwks_keys **keys, jwks_done_fn *cb, void *arg,
    struct av_err *e)
{
	struct waiter *w;
	struct fetch *f;
	struct entry *x;
	bool start;
	int rc;

	/* The common case, a hit: no allocation. */
	pthread_mutex_lock(&lock);
	for (x = entries; x != NULL; x = x->next)
		if (strcmp(x->url, discovery_url) == 0)
			break;
	*keys = x != NULL ? usable_locked(ctx, x, kid) : NULL;
	pthread_mutex_unlock(&lock);
	if (*keys != NULL)
		return 0;
	/* What waiting and a fetch need, before the lock: nothing can
	 * fail under it. */
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (kid != NULL && (w->kid = strdup(kid)) == NULL) ||
	    (w->ev = event_new(ctx->base(ctx->audit_arg), -1, 0, waiter_fire,
	    w)) == NULL) {
		if (w != NULL)
			waiter_free(w);
		free(f);
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	}
	w->ctx = ctx;
	w->cb = cb;
	w->arg = arg;
	pthread_mutex_lock(&lock);
	if ((x = entry_get(discovery_url, (int64_t)time(NULL))) == NULL) {
		pthread_mutex_unlock(&lock);
		waiter_free(w);
		free(f);
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	}
	w->entry = x;
	rc = lookup_locked(ctx, x, kid, true, w, keys, &start, e);
	pthread_mutex_unlock(&lock);
	if (rc != 1)
		waiter_free(w);
	if (start) {
		f->ctx = ctx;
		f->entry = x;
		fetch_start(f);
	} else {
		free(f);
	}
	return rc;
}
