/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oauth_token.c - providers loaded for token requests, the tokens'
 * cache lifetimes, and the single flight shared by every event loop: a
 * registry of requests in flight under one mutex; a waiter on any loop
 * is woken with event_active() on an event of its own loop (libevent's
 * pthreads support is on: evthread_use_pthreads before the loops).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include "api.h"
#include "log.h"
#include "oauth_token.h"

#define KIND	"oauth2"

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

char *
oauth_scope_key(json_t *scopes)
{
	size_t n = json_array_size(scopes), i, k = 0, len = 1;
	const char **v;
	char *out, *p;

	if ((v = calloc(n + 1, sizeof(*v))) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (json_is_string(json_array_get(scopes, i)))
			v[k++] = json_string_value(json_array_get(scopes, i));
	qsort(v, k, sizeof(*v), cmp_str);
	for (i = 0; i < k; i++)
		len += strlen(v[i]) + 1;
	if ((out = p = malloc(len)) == NULL) {
		free(v);
		return NULL;
	}
	*p = '\0';
	for (i = 0; i < k; i++) {
		if (i > 0 && strcmp(v[i], v[i - 1]) == 0)
			continue;
		p += snprintf(p, len - (size_t)(p - out), "%s%s",
		    p == out ? "" : " ", v[i]);
	}
	free(v);
	return out;
}

const char **
oauth_str_list(json_t *a, bool *oom)
{
	const char **v;
	size_t i, n = json_array_size(a);

	*oom = false;
	if (n == 0)
		return NULL;
	if ((v = calloc(n + 1, sizeof(*v))) == NULL) {
		*oom = true;
		return NULL;
	}
	for (i = 0; i < n; i++)
		v[i] = json_string_value(json_array_get(a, i));
	return v;
}

int64_t
oauth_expires_at(int64_t now, int64_t expires_in)
{
	if (expires_in < 0)
		return now + OAUTH_DEFAULT_LIFETIME;
	if (expires_in < 2 * OAUTH_SKEW)
		return now + expires_in / 2;
	return now + expires_in - OAUTH_SKEW;
}

/* ---- providers ---- */

static int
copy_field(json_t *config, const char *f, char *out, size_t len)
{
	const char *s = json_string_value(json_object_get(config, f));

	if (s == NULL || strlen(s) >= len)
		return -1;
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

int
oauth_provider_load(struct api_ctx *ctx, const char *name,
    struct oauth_provider *p, struct av_err *e)
{
	char *text = NULL;
	const char *m;
	int rc = -1;

	memset(p, 0, sizeof(*p));
	if (strlen(name) >= sizeof(p->name))
		return av_fail(e, AV_E_VALIDATION, "invalid provider name");
	memcpy(p->name, name, strlen(name) + 1);
	if (store_provider_get(ctx->store, KIND, name, NULL, NULL, &text,
	    e) != 0) {
		if (e->type != NULL && strcmp(e->type, AV_E_NOT_FOUND) == 0)
			av_fail(e, AV_E_NOT_FOUND, "no OAuth2 credential "
			    "provider named %s", name);
		return -1;
	}
	if ((p->config = json_loads(text, 0, NULL)) == NULL ||
	    (p->vendor = oauth_vendor_find(ctx->vendors, json_string_value(
	    json_object_get(p->config, "vendor")))) == NULL ||
	    copy_field(p->config, "clientId", p->client_id,
	    sizeof(p->client_id)) != 0 ||
	    (m = json_string_value(json_object_get(p->config,
	    "clientAuthenticationMethod"))) == NULL) {
		av_fail(e, AV_E_INTERNAL, "the stored configuration of %s is "
		    "damaged", name);
		goto done;
	}
	p->auth = strcmp(m, "client_secret_post") == 0 ? OAUTH_AUTH_POST :
	    strcmp(m, "private_key_jwt") == 0 ? OAUTH_AUTH_PRIVATE_KEY_JWT :
	    OAUTH_AUTH_BASIC;
	if (p->auth == OAUTH_AUTH_PRIVATE_KEY_JWT && copy_field(json_object_get(
	    json_object_get(json_object_get(p->config, "privateKeyJwtConfig"),
	    "privateKeySource"), "hsmKeySource"), "keyLabel", p->key_label,
	    sizeof(p->key_label)) != 0) {
		av_fail(e, AV_E_INTERNAL, "the stored key of %s is damaged",
		    name);
		goto done;
	}
	if (json_object_get(p->config, "tokenEndpoint") == NULL) {
		av_fail(e, AV_E_VALIDATION, "%s has only a discoveryUrl "
		    "(stored by an earlier release): update it to fetch its "
		    "discovery document", name);
		goto done;
	}
	if (copy_field(p->config, "tokenEndpoint", p->token_endpoint,
	    sizeof(p->token_endpoint)) != 0 ||
	    copy_field(p->config, "authorizationEndpoint",
	    p->authorization_endpoint, sizeof(p->authorization_endpoint)) !=
	    0 || copy_field(p->config, "issuer", p->issuer,
	    sizeof(p->issuer)) != 0) {
		av_fail(e, AV_E_INTERNAL, "the stored endpoints of %s are "
		    "damaged", name);
		goto done;
	}
	rc = 0;
done:
	free(text);
	if (rc != 0)
		oauth_provider_clear(p);
	return rc;
}

void
oauth_provider_clear(struct oauth_provider *p)
{
	json_decref(p->config);
	memset(p, 0, sizeof(*p));
}

int
oauth_provider_request(struct api_ctx *ctx, const struct oauth_provider *p,
    const struct oauth_grant_req *g, oauth_done_fn *cb, void *arg,
    struct av_err *e)
{
	struct oauth_client c = { .token_endpoint = p->token_endpoint,
	    .client_id = p->client_id, .auth = p->auth,
	    .quirks = p->vendor != NULL ? p->vendor->quirks : 0 };
	const struct client_key *k;
	json_t *pkj;
	char *assertion;
	uint8_t *secret;
	size_t len = 0;
	int rc = -1;

	if (p->auth == OAUTH_AUTH_PRIVATE_KEY_JWT) {
		if ((k = client_key_find(&ctx->client_keys, p->key_label)) ==
		    NULL)
			return av_fail(e, AV_E_VALIDATION, "the OAuth client "
			    "key %s of %s is not loaded: is it still in the "
			    "HSM? (agentvault-ceremony show-oauth-client-key; "
			    "keys are loaded when agentvaultd starts or "
			    "reloads)", p->key_label, p->name);
		if ((assertion = malloc(CLIENT_ASSERTION_MAX)) == NULL)
			return av_fail(e, AV_E_INTERNAL, "out of memory");
		/* aud: the token endpoint (RFC 7523 3, OIDC Core 9). */
		pkj = json_object_get(p->config, "privateKeyJwtConfig");
		if (client_assertion_make(k, p->client_id, p->token_endpoint,
		    json_object_get(pkj, "additionalHeaderClaims"),
		    json_object_get(pkj, "additionalPayloadClaims"),
		    (int64_t)time(NULL), assertion, CLIENT_ASSERTION_MAX,
		    e) == 0) {
			c.client_assertion = assertion;
			rc = oauth_token_request(ctx->outbound(ctx->audit_arg),
			    &c, g, cb, arg, e);
		}
		free(assertion);
		return rc;
	}
	/* The secret, from the vault for this request only. */
	if ((secret = malloc(VAULT_SECRET_MAX + 1)) == NULL)
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	if (store_secret_get(ctx->store, ctx->vault, KIND, p->name, "", secret,
	    VAULT_SECRET_MAX, &len, e) != 0)
		goto done;
	secret[len] = '\0';
	c.client_secret = (const char *)secret;
	rc = oauth_token_request(ctx->outbound(ctx->audit_arg), &c, g, cb, arg,
	    e);
done:
	OPENSSL_cleanse(secret, VAULT_SECRET_MAX + 1);
	free(secret);
	return rc;
}

/* ---- single flight ---- */

struct flight;

struct waiter {
	struct event	*ev;		/* on the waiter's loop */
	oauth_wait_fn	*cb;
	void		*arg;
	struct flight	*f;
	struct waiter	*next;
};

struct flight {
	char		*id;		/* workload \n user \n provider \n scopes */
	struct api_ctx	*ctx;
	struct waiter	*waiters;
	unsigned	 refs;		/* waiters not yet called back */
	bool		 done;
	/* What the answer is stored under. */
	char		*workload, *user, *provider, *scope_key, *scopes;
	bool		 bound;
	int64_t		 not_after;	/* 0, or the latest expires_at */
	bool		 refreshing;
	char		*old_refresh;	/* the refresh token used */
	size_t		 old_refresh_len;
	/* The result. */
	struct oauth_result r;
	char		*access;
	size_t		 access_len;
	char		 type[33];
	char		*granted, *extra;
	struct flight	*next;
};

static pthread_mutex_t registry = PTHREAD_MUTEX_INITIALIZER;
static struct flight *flights;

unsigned
oauth_flights(void)
{
	struct flight *f;
	unsigned n = 0;

	pthread_mutex_lock(&registry);
	for (f = flights; f != NULL; f = f->next)
		n++;
	pthread_mutex_unlock(&registry);
	return n;
}

static void
flight_free(struct flight *f)
{
	if (f->access != NULL) {
		OPENSSL_cleanse(f->access, f->access_len);
		free(f->access);
	}
	if (f->old_refresh != NULL) {
		OPENSSL_cleanse(f->old_refresh, f->old_refresh_len);
		free(f->old_refresh);
	}
	free(f->id);
	free(f->workload);
	free(f->user);
	free(f->provider);
	free(f->scope_key);
	free(f->scopes);
	free(f->granted);
	free(f->extra);
	free(f);
}

/* A waiter's event, on its own loop. */
static void
waiter_fire(evutil_socket_t fd, short what, void *arg)
{
	struct waiter *w = arg;
	struct flight *f = w->f;
	bool last;

	(void)fd;
	(void)what;
	w->cb(&f->r, w->arg);
	event_free(w->ev);
	free(w);
	pthread_mutex_lock(&registry);
	last = --f->refs == 0;
	pthread_mutex_unlock(&registry);
	if (last)
		flight_free(f);
}

/* With the registry locked: the result is in f; wake every waiter. */
static void
flight_finish_locked(struct flight *f)
{
	struct flight **pp;
	struct waiter *w, *next;

	for (pp = &flights; *pp != NULL; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	f->done = true;
	f->r.access = f->access;
	f->r.access_len = f->access_len;
	f->r.type = f->type;
	f->r.scopes = f->granted;
	f->r.extra = f->extra;
	for (w = f->waiters; w != NULL; w = next) {
		next = w->next;
		event_active(w->ev, 0, 0);
	}
	f->waiters = NULL;
}

/* A token stored and usable: the result, copied into f. */
static int
take_stored(struct flight *f, struct store_oauth_token *t)
{
	if ((f->access = malloc(t->access_len + 1)) == NULL ||
	    (f->granted = strdup(t->scopes)) == NULL ||
	    (f->extra = strdup(t->extra)) == NULL)
		return -1;
	memcpy(f->access, t->access, t->access_len + 1);
	f->access_len = t->access_len;
	snprintf(f->type, sizeof(f->type), "Bearer");
	f->r.expires_at = t->expires_at;
	f->r.rc = 0;
	return 0;
}

static void
fail(struct flight *f, const struct av_err *e, const char *oerr)
{
	f->r.rc = -1;
	f->r.e = *e;
	snprintf(f->r.oauth_error, sizeof(f->r.oauth_error), "%s",
	    oerr != NULL ? oerr : "");
}

/* oauth_done_fn: store the answer, then wake the waiters. */
static void
flight_answer(int rc, struct oauth_token *t, const char *oerr,
    struct av_err *e, void *arg)
{
	struct flight *f = arg;
	struct store_oauth_key k = { f->workload, f->user, f->provider,
	    f->scope_key };
	const char *refresh;
	size_t rlen;
	char *extra = NULL;
	int64_t exp;

	if (rc != 0) {
		fail(f, e, oerr);
		/* A refresh token the provider no longer honours: gone. */
		if (f->refreshing && oauth_grant_refused(oerr) &&
		    store_oauth_delete(f->ctx->store, f->ctx->vault, &k,
		    NULL) != 0)
			log_error("oauth: cannot erase a refused token");
		goto done;
	}
	exp = oauth_expires_at((int64_t)time(NULL), t->expires_in);
	if (f->not_after > 0 && exp > f->not_after)
		exp = f->not_after;
	refresh = t->refresh != NULL ? t->refresh : f->old_refresh;
	rlen = t->refresh != NULL ? t->refresh_len : f->old_refresh_len;
	if (t->extra != NULL && (extra = json_dumps(t->extra,
	    JSON_COMPACT)) == NULL) {
		struct av_err oom = { AV_E_INTERNAL, "out of memory" };

		fail(f, &oom, NULL);
		goto done;
	}
	f->access = t->access;
	f->access_len = t->access_len;
	t->access = NULL;
	snprintf(f->type, sizeof(f->type), "%s", t->type);
	f->granted = strdup(t->scope != NULL ? t->scope : f->scopes);
	f->extra = extra != NULL ? extra : strdup("{}");
	f->r.expires_at = exp;
	if (f->granted == NULL || f->extra == NULL) {
		struct av_err oom = { AV_E_INTERNAL, "out of memory" };

		fail(f, &oom, NULL);
	} else if (store_oauth_put(f->ctx->store, f->ctx->vault, &k,
	    f->granted, f->access, f->access_len, refresh, rlen, exp,
	    f->bound, f->extra, &f->r.e) != 0)
		f->r.rc = -1;
	else
		f->r.rc = 0;
done:
	pthread_mutex_lock(&registry);
	flight_finish_locked(f);
	pthread_mutex_unlock(&registry);
}

static char *
flight_id(const struct store_oauth_key *k)
{
	char *id;

	if (asprintf(&id, "%s\n%s\n%s\n%s", k->workload, k->user, k->provider,
	    k->scope_key) < 0)
		return NULL;
	return id;
}

int
oauth_token_fetch(struct api_ctx *ctx, struct event_base *base,
    const struct oauth_fetch *req, oauth_wait_fn *cb, void *arg,
    struct av_err *e)
{
	const struct store_oauth_key *k = &req->key;
	struct store_oauth_token t;
	struct flight *f = NULL, *x;
	struct waiter *w;
	char *id;
	int found;

	if ((w = calloc(1, sizeof(*w))) == NULL || (id = flight_id(k)) ==
	    NULL) {
		free(w);
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	}
	w->cb = cb;
	w->arg = arg;
	if ((w->ev = event_new(base, -1, 0, waiter_fire, w)) == NULL) {
		free(w);
		free(id);
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	}
	pthread_mutex_lock(&registry);
	for (x = flights; x != NULL; x = x->next)
		if (strcmp(x->id, id) == 0)
			break;
	if (x != NULL) {
		/* In flight: wait for its answer. */
		w->f = x;
		w->next = x->waiters;
		x->waiters = w;
		x->refs++;
		pthread_mutex_unlock(&registry);
		free(id);
		return 0;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL)
		goto oom;
	f->id = id;
	id = NULL;
	f->ctx = ctx;
	f->waiters = w;
	f->refs = 1;
	w->f = f;
	/* A flight may have stored it just now: a second look. */
	found = store_oauth_get(ctx->store, ctx->vault, k, &t, e);
	if (found == 1 && t.expires_at > (int64_t)time(NULL) &&
	    (req->bound ? t.bound : true)) {
		if (take_stored(f, &t) != 0) {
			store_oauth_token_clear(&t);
			goto oom;
		}
		store_oauth_token_clear(&t);
		flight_finish_locked(f);
		pthread_mutex_unlock(&registry);
		return 0;
	}
	store_oauth_token_clear(&t);
	if (found < 0)
		goto fail;
	if ((f->workload = strdup(k->workload)) == NULL ||
	    (f->user = strdup(k->user)) == NULL ||
	    (f->provider = strdup(k->provider)) == NULL ||
	    (f->scope_key = strdup(k->scope_key)) == NULL ||
	    (f->scopes = strdup(req->scopes != NULL ? req->scopes :
	    k->scope_key)) == NULL)
		goto oom;
	f->bound = req->bound;
	f->not_after = req->not_after;
	if (req->grant.grant == OAUTH_GRANT_REFRESH_TOKEN) {
		f->refreshing = true;
		f->old_refresh_len = strlen(req->grant.refresh_token);
		if ((f->old_refresh = strdup(req->grant.refresh_token)) == NULL)
			goto oom;
	}
	f->next = flights;
	flights = f;
	pthread_mutex_unlock(&registry);
	if (oauth_provider_request(ctx, req->provider, &req->grant,
	    flight_answer, f, e) != 0) {
		/* Refused at once: every waiter hears it, later. */
		pthread_mutex_lock(&registry);
		fail(f, e, NULL);
		flight_finish_locked(f);
		pthread_mutex_unlock(&registry);
	}
	return 0;
oom:
	av_fail(e, AV_E_INTERNAL, "out of memory");
fail:
	pthread_mutex_unlock(&registry);
	event_free(w->ev);
	free(w);
	free(id);
	if (f != NULL)
		flight_free(f);
	return -1;
}
