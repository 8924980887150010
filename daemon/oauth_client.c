/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oauth_client.c - the token endpoint client: build a grant request,
 * send it through outbound.h, parse the answer strictly.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "http_parse.h"
#include "oauth_client.h"
#include "outbound.h"

/* A growing buffer whose old copies are wiped. */
struct buf {
	char	*p;
	size_t	 len, cap;
};

static void
buf_free(struct buf *b)
{
	if (b->p != NULL) {
		OPENSSL_cleanse(b->p, b->cap);
		free(b->p);
	}
	memset(b, 0, sizeof(*b));
}

static int
buf_add(struct buf *b, const char *s, size_t n)
{
	size_t cap;
	char *p;

	if (b->len + n + 1 > b->cap) {
		cap = b->cap == 0 ? 256 : b->cap;
		while (cap < b->len + n + 1)
			cap *= 2;
		if ((p = malloc(cap)) == NULL)
			return -1;
		if (b->p != NULL) {
			memcpy(p, b->p, b->len);
			OPENSSL_cleanse(b->p, b->cap);
			free(b->p);
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

/* application/x-www-form-urlencoded (the URL standard's serializer):
 * unreserved kept, space as '+', the rest %XX. */
static int
buf_form(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char enc[3];

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '*') {
			if (buf_add(b, s, 1) != 0)
				return -1;
		} else if (c == ' ') {
			if (buf_add(b, "+", 1) != 0)
				return -1;
		} else {
			enc[0] = '%';
			enc[1] = hex[c >> 4];
			enc[2] = hex[c & 0xf];
			if (buf_add(b, enc, 3) != 0)
				return -1;
		}
	}
	return 0;
}

static int
param(struct buf *b, const char *key, const char *value)
{
	if (value == NULL)
		return 0;
	if ((b->len > 0 && buf_add(b, "&", 1) != 0) ||
	    buf_add(b, key, strlen(key)) != 0 || buf_add(b, "=", 1) != 0)
		return -1;
	return buf_form(b, value);
}

static char *
form_dup(const char *s)
{
	struct buf b = { 0 };

	if (buf_add(&b, "", 0) != 0 || buf_form(&b, s) != 0) {
		buf_free(&b);
		return NULL;
	}
	return b.p;
}

int
oauth_request_build(const struct oauth_client *c,
    const struct oauth_grant_req *g, char **body, size_t *len, char **user,
    char **password, struct av_err *e)
{
	struct buf b = { 0 };
	size_t i;
	int rc = 0;

	*body = *user = *password = NULL;
	*len = 0;
	if (c->client_id == NULL || (c->auth == OAUTH_AUTH_PRIVATE_KEY_JWT ?
	    c->client_assertion == NULL : c->client_secret == NULL))
		return av_fail(e, AV_E_INTERNAL, "the provider has no client");
	switch (g->grant) {
	case OAUTH_GRANT_CLIENT_CREDENTIALS:
		rc = param(&b, "grant_type", "client_credentials");
		break;
	case OAUTH_GRANT_AUTHORIZATION_CODE:
		if (g->code == NULL || g->redirect_uri == NULL)
			return av_fail(e, AV_E_INTERNAL, "authorization_code "
			    "needs a code and a redirect_uri");
		rc = param(&b, "grant_type", "authorization_code") |
		    param(&b, "code", g->code) |
		    param(&b, "redirect_uri", g->redirect_uri) |
		    param(&b, "code_verifier", g->code_verifier);
		break;
	case OAUTH_GRANT_REFRESH_TOKEN:
		if (g->refresh_token == NULL)
			return av_fail(e, AV_E_INTERNAL, "refresh_token needs "
			    "a refresh token");
		rc = param(&b, "grant_type", "refresh_token") |
		    param(&b, "refresh_token", g->refresh_token);
		break;
	case OAUTH_GRANT_TOKEN_EXCHANGE:
		if (g->subject_token == NULL || g->subject_token_type == NULL ||
		    (g->actor_token == NULL) != (g->actor_token_type == NULL))
			return av_fail(e, AV_E_INTERNAL, "token-exchange needs "
			    "a subject token and its type (and an actor "
			    "token's with the token)");
		rc = param(&b, "grant_type", OAUTH_GT_TOKEN_EXCHANGE) |
		    param(&b, "subject_token", g->subject_token) |
		    param(&b, "subject_token_type", g->subject_token_type) |
		    param(&b, "actor_token", g->actor_token) |
		    param(&b, "actor_token_type", g->actor_token_type) |
		    param(&b, "requested_token_type",
		    g->requested_token_type);
		break;
	case OAUTH_GRANT_JWT_BEARER:
		if (g->subject_token == NULL)
			return av_fail(e, AV_E_INTERNAL, "jwt-bearer needs an "
			    "assertion");
		rc = param(&b, "grant_type", OAUTH_GT_JWT_BEARER) |
		    param(&b, "assertion", g->subject_token) |
		    param(&b, "requested_token_use", g->on_behalf_of ?
		    "on_behalf_of" : NULL);
		break;
	default:
		return av_fail(e, AV_E_INTERNAL, "unknown grant");
	}
	if (g->scope != NULL && g->scope[0] != '\0')
		rc |= param(&b, "scope", g->scope);
	for (i = 0; g->resources != NULL && g->resources[i] != NULL; i++)
		rc |= param(&b, "resource", g->resources[i]);
	for (i = 0; g->audiences != NULL && g->audiences[i] != NULL; i++)
		rc |= param(&b, "audience", g->audiences[i]);
	if (c->auth == OAUTH_AUTH_PRIVATE_KEY_JWT)
		rc |= param(&b, "client_id", c->client_id) |
		    param(&b, "client_assertion_type", OAUTH_ASSERTION_TYPE) |
		    param(&b, "client_assertion", c->client_assertion);
	else if (c->auth == OAUTH_AUTH_POST)
		rc |= param(&b, "client_id", c->client_id) |
		    param(&b, "client_secret", c->client_secret);
	else if ((*user = form_dup(c->client_id)) == NULL ||
	    (*password = form_dup(c->client_secret)) == NULL)
		rc = -1;
	if (rc != 0) {
		buf_free(&b);
		if (*user != NULL) {
			OPENSSL_cleanse(*user, strlen(*user));
			free(*user);
		}
		free(*password);	/* NULL: it was the one that failed */
		*user = *password = NULL;
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	}
	*body = b.p;
	*len = b.len;
	return 0;
}

void
oauth_token_clear(struct oauth_token *t)
{
	/* Both malloc'd: OpenSSL's allocator is the default (malloc). */
	OPENSSL_clear_free(t->access, t->access_len);
	OPENSSL_clear_free(t->refresh, t->refresh_len);
	free(t->scope);
	json_decref(t->extra);
	memset(t, 0, sizeof(*t));
	t->expires_in = -1;
}

/* Wipe every string in v (jansson frees without wiping). */
static void
wipe_json(json_t *v)
{
	const char *k;
	json_t *x;
	size_t i;

	if (json_is_string(v))
		OPENSSL_cleanse((char *)json_string_value(v),
		    json_string_length(v));
	else if (json_is_object(v)) {
		json_object_foreach(v, k, x)
			wipe_json(x);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x)
			wipe_json(x);
	}
}

/* A form-encoded answer into an object of strings; NULL if malformed
 * (a key twice, a pair without '=', bad escapes). */
static json_t *
form_parse(const char *body, size_t len)
{
	json_t *o = json_object(), *v;
	const char *p = body, *end = body + len, *amp, *eq;
	char *k = NULL, *val = NULL;

	if (o == NULL)
		return NULL;
	while (p < end) {
		if ((amp = memchr(p, '&', (size_t)(end - p))) == NULL)
			amp = end;
		if (amp == p) {		/* "a=1&&b=2": tolerated */
			p++;
			continue;
		}
		if ((eq = memchr(p, '=', (size_t)(amp - p))) == NULL || eq == p)
			goto bad;
		if ((k = malloc((size_t)(eq - p) + 1)) == NULL ||
		    (val = malloc((size_t)(amp - eq))) == NULL ||
		    http_url_decode(p, (size_t)(eq - p), true, k,
		    (size_t)(eq - p) + 1) != 0 ||
		    http_url_decode(eq + 1, (size_t)(amp - eq - 1), true, val,
		    (size_t)(amp - eq)) != 0 ||
		    json_object_get(o, k) != NULL ||
		    (v = json_string(val)) == NULL ||
		    json_object_set_new(o, k, v) != 0)
			goto bad;
		OPENSSL_cleanse(val, (size_t)(amp - eq));
		free(k);
		free(val);
		k = val = NULL;
		p = amp + 1;
	}
	return o;
bad:
	if (val != NULL) {
		OPENSSL_cleanse(val, (size_t)(amp - eq));
		free(val);
	}
	free(k);
	wipe_json(o);
	json_decref(o);
	return NULL;
}

/* A provider's error code, when of the safe alphabet. */
static void
error_code(json_t *doc, char *out)
{
	json_t *v = json_object_get(doc, "error");
	const char *s;
	size_t n;

	out[0] = '\0';
	if (!json_is_string(v))
		return;
	s = json_string_value(v);
	n = json_string_length(v);
	if (n == 0 || n > OAUTH_ERROR_MAX || strlen(s) != n ||
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_.-") != n)
		return;
	memcpy(out, s, n + 1);
}

/* A string member of 1 to max bytes without NUL or control characters;
 * *out NULL when absent; -1 when of another kind. */
static int
get_str(json_t *doc, const char *k, size_t max, const char **out)
{
	json_t *v = json_object_get(doc, k);
	size_t i, n;

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -1;
	n = json_string_length(v);
	if (n == 0 || n > max)
		return -1;
	for (i = 0; i < n; i++)
		if ((unsigned char)json_string_value(v)[i] < 0x20 ||
		    json_string_value(v)[i] == 0x7f)
			return -1;
	*out = json_string_value(v);
	return 0;
}

static char *
dup_secret(const char *s, size_t *len)
{
	char *p;

	*len = strlen(s);
	if ((p = malloc(*len + 1)) != NULL)
		memcpy(p, s, *len + 1);
	return p;
}

/* expires_in: a number (a string of digits in form answers). */
static int
get_lifetime(json_t *doc, int64_t *out)
{
	json_t *v = json_object_get(doc, "expires_in");
	const char *s;
	long long n = 0;
	size_t i;

	*out = -1;
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_integer(v))
		n = json_integer_value(v);
	else if (json_is_real(v) && json_real_value(v) >= 1 &&
	    json_real_value(v) <= (double)OAUTH_LIFETIME_MAX)
		n = (long long)json_real_value(v);
	else if (json_is_string(v)) {
		s = json_string_value(v);
		if (json_string_length(v) == 0 || json_string_length(v) > 12)
			return -1;
		for (i = 0; s[i] != '\0'; i++) {
			if (!isdigit((unsigned char)s[i]))
				return -1;
			n = n * 10 + (s[i] - '0');
		}
	} else
		return -1;
	if (n < 1 || n > OAUTH_LIFETIME_MAX)
		return -1;
	*out = n;
	return 0;
}

/* The token out of a successful answer's document. */
static int
take_token(json_t *doc, unsigned quirks, struct oauth_token *t,
    struct av_err *e)
{
	static const char *const extras[] = { "instance_url", "id",
	    "signature", "issued_at", NULL };
	const char *access, *refresh, *type, *scope, *issued;
	json_t *src = doc, *au, *v;
	bool user_token = false;
	size_t i;
	char *text;

	/* Slack: the user's token is under authed_user. */
	if ((quirks & OAUTH_QUIRK_AUTHED_USER) &&
	    json_is_object(au = json_object_get(doc, "authed_user")) &&
	    json_object_get(au, "access_token") != NULL) {
		src = au;
		user_token = true;
	}
	if (get_str(src, "access_token", OAUTH_TOKEN_MAX, &access) != 0 ||
	    access == NULL)
		return av_fail(e, AV_E_INTERNAL, "the identity provider's "
		    "answer has no usable access_token");
	if (get_str(src, "refresh_token", OAUTH_TOKEN_MAX, &refresh) != 0)
		return av_fail(e, AV_E_INTERNAL, "the identity provider's "
		    "refresh_token is malformed");
	if (get_str(src, "token_type", 32, &type) != 0)
		return av_fail(e, AV_E_INTERNAL, "the identity provider's "
		    "token_type is malformed");
	if (get_str(src, "scope", OAUTH_SCOPE_MAX, &scope) != 0)
		return av_fail(e, AV_E_INTERNAL, "the identity provider's "
		    "scope is malformed");
	/* RFC 8693 answers say what they issued: a token usable as a
	 * Bearer access token, or nothing the caller can use. */
	if (get_str(src, "issued_token_type", 256, &issued) != 0 ||
	    (issued != NULL && strcmp(issued, OAUTH_TT_ACCESS_TOKEN) != 0 &&
	    strcmp(issued, OAUTH_TT_JWT) != 0))
		return av_fail(e, AV_E_INTERNAL, "the identity provider "
		    "issued a token that is not an access token "
		    "(issued_token_type)");
	if (get_lifetime(src, &t->expires_in) != 0)
		return av_fail(e, AV_E_INTERNAL, "the identity provider's "
		    "expires_in is not a lifetime of 1 s to 10 years");
	/* Bearer only (any case, RFC 6749 5.1); Slack's user tokens say
	 * "user", its bot tokens "bot"; none given: Bearer. */
	if (type == NULL)
		type = "Bearer";
	if (strcasecmp(type, "bearer") != 0 && !((quirks &
	    OAUTH_QUIRK_AUTHED_USER) && (strcmp(type, user_token ? "user" :
	    "bot") == 0)))
		return av_fail(e, AV_E_INTERNAL, "the identity provider "
		    "issued a token of type %.32s, not Bearer", type);
	snprintf(t->type, sizeof(t->type), "%s", strcasecmp(type, "bearer") ==
	    0 ? "Bearer" : type);
	if ((t->access = dup_secret(access, &t->access_len)) == NULL ||
	    (refresh != NULL && (t->refresh = dup_secret(refresh,
	    &t->refresh_len)) == NULL) ||
	    (scope != NULL && (t->scope = strdup(scope)) == NULL))
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	/* Salesforce: the org's API base and the like come with it. */
	if (quirks & OAUTH_QUIRK_INSTANCE_URL) {
		if ((t->extra = json_object()) == NULL)
			return av_fail(e, AV_E_INTERNAL, "out of memory");
		for (i = 0; extras[i] != NULL; i++)
			if ((v = json_object_get(doc, extras[i])) != NULL &&
			    json_is_string(v) && json_string_length(v) <=
			    OAUTH_URL_MAX)
				/* A copy: doc is wiped after. */
				json_object_set_new(t->extra, extras[i],
				    json_string(json_string_value(v)));
		text = json_dumps(t->extra, JSON_COMPACT);
		i = text != NULL ? strlen(text) : SIZE_MAX;
		free(text);
		if (i > OAUTH_EXTRA_MAX)
			return av_fail(e, AV_E_INTERNAL, "the identity "
			    "provider's answer has too much besides the token");
	}
	return 0;
}

static bool
type_is(const char *content_type, const char *want)
{
	size_t n = strlen(want);

	return content_type != NULL && strncasecmp(content_type, want, n) ==
	    0 && (content_type[n] == '\0' || content_type[n] == ';' ||
	    content_type[n] == ' ');
}

int
oauth_response_parse(long status, const char *content_type,
    const char *body, size_t len, unsigned quirks, struct oauth_token *t,
    char *oauth_error, struct av_err *e)
{
	json_t *doc = NULL, *ok;
	int rc = -1;

	memset(t, 0, sizeof(*t));
	t->expires_in = -1;
	oauth_error[0] = '\0';
	if (len > OAUTH_ANSWER_MAX)
		return av_fail(e, AV_E_INTERNAL, "the identity provider's "
		    "answer is too large (%zu bytes)", len);
	if (len > 0 && memchr(body, '\0', len) != NULL)
		doc = NULL;
	else if (type_is(content_type, "application/x-www-form-urlencoded"))
		doc = form_parse(body, len);
	else if (type_is(content_type, "application/json") ||
	    (content_type == NULL && len > 0 && body[0] == '{'))
		doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	else if (status >= 500 || len == 0)
		return av_fail(e, AV_E_INTERNAL, "the identity provider "
		    "failed (HTTP %ld)", status);
	else
		return av_fail(e, AV_E_INTERNAL, "the identity provider's "
		    "answer (HTTP %ld) is neither JSON nor form-encoded",
		    status);
	if (doc == NULL || !json_is_object(doc)) {
		if (status >= 500)
			av_fail(e, AV_E_INTERNAL, "the identity provider "
			    "failed (HTTP %ld)", status);
		else
			av_fail(e, AV_E_INTERNAL, "the identity provider's "
			    "answer (HTTP %ld) is malformed", status);
		goto done;
	}
	error_code(doc, oauth_error);
	/* Slack answers errors with 200 and "ok": false. */
	ok = json_object_get(doc, "ok");
	if (status < 200 || status > 299 || json_object_get(doc, "error") !=
	    NULL || json_is_false(ok)) {
		if (oauth_error[0] != '\0')
			av_fail(e, status >= 500 ? AV_E_INTERNAL :
			    AV_E_VALIDATION, "the identity provider answered "
			    "%s (HTTP %ld)", oauth_error, status);
		else
			av_fail(e, AV_E_INTERNAL, "the identity provider "
			    "failed (HTTP %ld)", status);
		goto done;
	}
	rc = take_token(doc, quirks, t, e);
done:
	if (rc != 0)
		oauth_token_clear(t);
	if (doc != NULL) {
		wipe_json(doc);
		json_decref(doc);
	}
	return rc;
}

bool
oauth_grant_refused(const char *oauth_error)
{
	static const char *const refused[] = { "invalid_grant",
	    "bad_refresh_token", "invalid_refresh_token", NULL };
	size_t i;

	for (i = 0; refused[i] != NULL; i++)
		if (strcmp(oauth_error, refused[i]) == 0)
			return true;
	return false;
}

/* One request in flight. */
struct request {
	oauth_done_fn	*cb;
	void		*arg;
	unsigned	 quirks;
};

static void
request_done(const struct outbound_resp *r, void *arg)
{
	struct request *q = arg;
	struct oauth_token t;
	char oerr[OAUTH_ERROR_MAX + 1] = "";
	struct av_err e = { NULL, "" };
	int rc;

	memset(&t, 0, sizeof(t));
	t.expires_in = -1;
	if (r->error == OUTBOUND_E_TIMEOUT)
		rc = av_fail(&e, AV_E_INTERNAL, "the identity provider did "
		    "not answer in time");
	else if (r->error == OUTBOUND_E_TOO_LARGE)
		rc = av_fail(&e, AV_E_INTERNAL, "the identity provider's "
		    "answer is too large");
	else if (r->error != OUTBOUND_OK)
		rc = av_fail(&e, AV_E_INTERNAL, "the identity provider "
		    "cannot be reached (%s)", outbound_error_name(r->error));
	else
		rc = oauth_response_parse(r->status, r->content_type, r->body,
		    r->body_len, q->quirks, &t, oerr, &e);
	q->cb(rc, rc == 0 ? &t : NULL, oerr, &e, q->arg);
	oauth_token_clear(&t);
	free(q);
}

int
oauth_token_request(struct outbound *ob, const struct oauth_client *c,
    const struct oauth_grant_req *g, oauth_done_fn *cb, void *arg,
    struct av_err *e)
{
	static const char *const headers[] = { "Accept: application/json",
	    NULL };
	struct outbound_req r = { .method = OUTBOUND_POST,
	    .url = c->token_endpoint, .headers = headers,
	    .content_type = "application/x-www-form-urlencoded" };
	char *body, *user, *password;
	struct request *q;
	size_t len;
	int rc;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	if (oauth_request_build(c, g, &body, &len, &user, &password, e) != 0) {
		free(q);
		return -1;
	}
	q->cb = cb;
	q->arg = arg;
	q->quirks = c->quirks;
	r.body = body;
	r.body_len = len;
	r.user = user;
	r.password = password;
	/* outbound_request() copies what it keeps into wiped buffers. */
	rc = outbound_request(ob, &r, request_done, q, e);
	OPENSSL_cleanse(body, len);
	free(body);
	if (user != NULL) {
		OPENSSL_cleanse(user, strlen(user));
		OPENSSL_cleanse(password, strlen(password));
	}
	free(user);
	free(password);
	if (rc != 0)
		free(q);
	return rc;
}
