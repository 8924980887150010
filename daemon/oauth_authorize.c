/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oauth_authorize.c - session URIs, state, PKCE and the authorization
 * URL; see oauth_authorize.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "oauth_authorize.h"

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The parameters a custom one may not name: the URL's own, and those
 * that would replace the request (OpenID Connect's nonce, request
 * objects). */
static const char *const standard[] = { "response_type", "client_id",
    "redirect_uri", "scope", "state", "code_challenge",
    "code_challenge_method", "resource", "audience", "nonce", "request",
    "request_uri", NULL };

/* 32 bytes to 43 characters of unpadded base64url. */
static void
encode32(const unsigned char in[32], char out[OAUTH_RANDOM_LEN + 1])
{
	size_t i, o = 0;
	unsigned v;

	for (i = 0; i + 3 <= 30; i += 3) {
		v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
		out[o++] = b64url[v >> 6 & 63];
		out[o++] = b64url[v & 63];
	}
	v = (unsigned)in[30] << 8 | in[31];
	out[o++] = b64url[v >> 10 & 63];
	out[o++] = b64url[v >> 4 & 63];
	out[o++] = b64url[v << 2 & 63];
	out[o] = '\0';
}

int
oauth_random_token(char out[OAUTH_RANDOM_LEN + 1])
{
	unsigned char r[32];

	if (RAND_priv_bytes(r, sizeof(r)) != 1)
		return -1;
	encode32(r, out);
	OPENSSL_cleanse(r, sizeof(r));
	return 0;
}

int
oauth_session_uri_new(char out[OAUTH_SESSION_URI_LEN + 1])
{
	size_t n = sizeof(OAUTH_SESSION_URI_PREFIX) - 1;

	memcpy(out, OAUTH_SESSION_URI_PREFIX, n);
	return oauth_random_token(out + n);
}

bool
oauth_session_uri_valid(const char *s)
{
	size_t n = sizeof(OAUTH_SESSION_URI_PREFIX) - 1;

	return strlen(s) == OAUTH_SESSION_URI_LEN &&
	    strncmp(s, OAUTH_SESSION_URI_PREFIX, n) == 0 &&
	    strspn(s + n, b64url) == OAUTH_RANDOM_LEN;
}

void
oauth_state_hash(const char *state, char out[OAUTH_STATE_HASH_LEN + 1])
{
	unsigned char h[SHA256_DIGEST_LENGTH];
	size_t i;

	SHA256((const unsigned char *)state, strlen(state), h);
	for (i = 0; i < sizeof(h); i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

int
oauth_pkce_challenge(const char *verifier, char out[OAUTH_RANDOM_LEN + 1])
{
	unsigned char h[SHA256_DIGEST_LENGTH];
	size_t n = strlen(verifier);

	/* unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~" */
	if (n < 43 || n > 128 || strspn(verifier, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-._~") != n)
		return -1;
	SHA256((const unsigned char *)verifier, n, h);
	encode32(h, out);
	return 0;
}

static bool
is_standard(const char *name)
{
	size_t i;

	for (i = 0; standard[i] != NULL; i++)
		if (strcmp(standard[i], name) == 0)
			return true;
	return false;
}

int
oauth_custom_params_check(json_t *custom, struct av_err *e)
{
	const char *k;
	json_t *v;
	size_t i, n;

	if (custom == NULL)
		return 0;
	if (!json_is_object(custom) || json_object_size(custom) >
	    OAUTH_CUSTOM_MAX)
		return av_fail(e, AV_E_VALIDATION, "customParameters must be "
		    "an object of at most %d strings", OAUTH_CUSTOM_MAX);
	json_object_foreach(custom, k, v) {
		n = strlen(k);
		if (n == 0 || n > OAUTH_CUSTOM_KEY_MAX)
			return av_fail(e, AV_E_VALIDATION, "customParameters: "
			    "a name must have 1 to %d characters",
			    OAUTH_CUSTOM_KEY_MAX);
		for (i = 0; i < n; i++)
			if ((unsigned char)k[i] <= 0x20 ||
			    (unsigned char)k[i] >= 0x7f)
				return av_fail(e, AV_E_VALIDATION,
				    "customParameters: names are printable "
				    "ASCII without spaces");
		if (is_standard(k))
			return av_fail(e, AV_E_VALIDATION, "customParameters "
			    "may not set %s: the appliance sets the standard "
			    "parameters", k);
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    json_string_length(v) > OAUTH_CUSTOM_VALUE_MAX ||
		    strlen(json_string_value(v)) != json_string_length(v))
			return av_fail(e, AV_E_VALIDATION, "customParameters: "
			    "the value of %.64s must be a string of 1 to %d "
			    "characters", k, OAUTH_CUSTOM_VALUE_MAX);
	}
	return 0;
}

/* A URL under construction: bounded, an error sticks. */
struct url {
	char	*p;
	size_t	 len;
	bool	 over;
};

static void
put(struct url *u, const char *s, size_t n)
{
	if (u->over || n > OAUTH_AUTHZ_URL_MAX - u->len) {
		u->over = true;
		return;
	}
	memcpy(u->p + u->len, s, n);
	u->len += n;
	u->p[u->len] = '\0';
}

/* s percent-encoded: everything but RFC 3986's unreserved characters. */
static void
put_enc(struct url *u, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char pct[3] = { '%', 0, 0 };
	unsigned char c;

	for (; *s != '\0' && !u->over; s++) {
		c = (unsigned char)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || strchr("-._~", c) != NULL)
			put(u, s, 1);
		else {
			pct[1] = hex[c >> 4];
			pct[2] = hex[c & 15];
			put(u, pct, 3);
		}
	}
}

static void
param(struct url *u, const char *name, const char *value)
{
	put(u, "&", 1);
	put_enc(u, name);
	put(u, "=", 1);
	put_enc(u, value);
}

/* Each string of a (an array, or NULL) as a parameter named name. */
static int
params_list(struct url *u, const char *name, json_t *a, struct av_err *e)
{
	json_t *v;
	size_t i;

	if (a == NULL)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > OAUTH_INDICATORS_MAX)
		return av_fail(e, AV_E_VALIDATION, "%ss must be a list of at "
		    "most %d strings", name, OAUTH_INDICATORS_MAX);
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    strlen(json_string_value(v)) != json_string_length(v))
			return av_fail(e, AV_E_VALIDATION, "%ss must be "
			    "non-empty strings", name);
		param(u, name, json_string_value(v));
	}
	return 0;
}

int
oauth_authorize_url(const struct oauth_authz_request *r, char **url,
    struct av_err *e)
{
	const struct oauth_vendor *v = r->vendor;
	struct url u = { NULL, 0, false };
	char sep[2] = { v != NULL ? v->scope_sep : ' ', '\0' };
	const char *k, *scope = "&scope=";
	json_t *s, *x;
	size_t i;

	*url = NULL;
	if (oauth_custom_params_check(r->custom, e) != 0)
		return -1;
	/* Slack: the user's own token comes for user_scope (scope is the
	 * bot's), so the scopes asked for go there. */
	if (v != NULL && (v->quirks & OAUTH_QUIRK_AUTHED_USER)) {
		scope = "&user_scope=";
		if (json_object_get(r->custom, "user_scope") != NULL)
			return av_fail(e, AV_E_VALIDATION, "customParameters "
			    "may not set user_scope: the appliance sets the "
			    "standard parameters");
	}
	if ((u.p = malloc(OAUTH_AUTHZ_URL_MAX + 1)) == NULL)
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	u.p[0] = '\0';
	put(&u, r->endpoint, strlen(r->endpoint));
	/* The endpoint's own query stays; ours follows it. */
	put(&u, strchr(r->endpoint, '?') != NULL ? "&" : "?", 1);
	put(&u, "response_type=code", 18);
	param(&u, "client_id", r->client_id);
	param(&u, "redirect_uri", r->redirect_uri);
	put(&u, scope, strlen(scope));
	json_array_foreach(r->scopes, i, s) {
		if (i > 0)
			put_enc(&u, sep);
		put_enc(&u, json_string_value(s));
	}
	param(&u, "state", r->state);
	param(&u, "code_challenge", r->code_challenge);
	param(&u, "code_challenge_method", "S256");
	for (i = 0; v != NULL && i < v->nparams; i++)
		if (json_object_get(r->custom, v->params[i].key) == NULL &&
		    (r->audiences == NULL || json_array_size(r->audiences) ==
		    0 || strcmp(v->params[i].key, "audience") != 0))
			param(&u, v->params[i].key, v->params[i].value);
	if (params_list(&u, "resource", r->resources, e) != 0 ||
	    params_list(&u, "audience", r->audiences, e) != 0) {
		free(u.p);
		return -1;
	}
	json_object_foreach(r->custom, k, x)
		param(&u, k, json_string_value(x));
	if (u.over) {
		free(u.p);
		return av_fail(e, AV_E_VALIDATION, "the authorization URL would "
		    "be longer than %d bytes", OAUTH_AUTHZ_URL_MAX);
	}
	*url = u.p;
	return 0;
}
