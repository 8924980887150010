/* SPDX-License-Identifier: Apache-2.0 */
/*
 * authorizer.c - inbound authorizers: their configuration (checked as
 * AgentCore's customJWTAuthorizer), the directory's default, and the
 * validation of a user JWT with the identity provider's keys
 * (jwks_cache.c) and the strict verifier (jwt.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "api.h"
#include "authorizer.h"
#include "jwt.h"

#define SUFFIX		"/.well-known/openid-configuration"
#define VALUE_MAX	255	/* AgentCore's item length */
#define MEMBER		"customJWTAuthorizer"

/* ---- configuration ---- */

static const struct {
	const char	*api;		/* the member */
	bool		 scope;		/* no white space */
} lists[] = {
	{ "allowedAudience", false },
	{ "allowedClients", false },
	{ "allowedScopes", true },
};

static int
check_list(const json_t *v, const char *f, bool scope, struct av_err *e)
{
	const json_t *x;
	const char *s;
	size_t i, j, n;

	if (!json_is_array(v) || json_array_size(v) == 0 ||
	    json_array_size(v) > AUTHORIZER_LIST_MAX)
		return av_fail(e, AV_E_VALIDATION, "%s." MEMBER ".%s must be "
		    "a list of 1 to %d strings", "authorizerConfiguration", f,
		    AUTHORIZER_LIST_MAX);
	json_array_foreach(v, i, x) {
		if (!json_is_string(x) || (n = json_string_length(x)) == 0 ||
		    n > VALUE_MAX || strlen(json_string_value(x)) != n)
			return av_fail(e, AV_E_VALIDATION, "authorizer"
			    "Configuration." MEMBER ".%s[%zu] must be 1 to %d "
			    "bytes", f, i, VALUE_MAX);
		s = json_string_value(x);
		for (j = 0; j < n; j++)
			if ((unsigned char)s[j] < 0x20 || s[j] == 0x7f ||
			    (scope && isspace((unsigned char)s[j])))
				return av_fail(e, AV_E_VALIDATION, "authorizer"
				    "Configuration." MEMBER ".%s[%zu] has %s",
				    f, i, scope ? "white space or a control "
				    "character" : "a control character");
	}
	return 0;
}

int
authorizer_config_check(const json_t *in, bool allow_http_loopback,
    json_t **out, struct av_err *e)
{
	static const char *const outer[] = { MEMBER, NULL };
	static const char *const fields[] = { "discoveryUrl",
	    "allowedAudience", "allowedClients", "allowedScopes",
	    "customClaims", NULL };
	json_t *c, *v, *copy;
	const char *url;
	size_t i, n, k = strlen(SUFFIX);

	*out = NULL;
	if (!json_is_object(in) || (c = json_object_get(in, MEMBER)) == NULL)
		return av_fail(e, AV_E_VALIDATION, "authorizerConfiguration "
		    "must be {\"" MEMBER "\": {...}}");
	if (api_only_fields((json_t *)in, outer, e) != 0)
		return av_fail(e, AV_E_VALIDATION, "authorizerConfiguration: "
		    "%s (only " MEMBER " is supported)", e->msg);
	if (!json_is_object(c))
		return av_fail(e, AV_E_VALIDATION, "authorizerConfiguration."
		    MEMBER " must be an object");
	if (api_only_fields(c, fields, e) != 0)
		return av_fail(e, AV_E_VALIDATION, "authorizerConfiguration."
		    MEMBER ": %s", e->msg);
	v = json_object_get(c, "discoveryUrl");
	if (!json_is_string(v) || (n = json_string_length(v)) > OAUTH_URL_MAX ||
	    strlen(json_string_value(v)) != n)
		return av_fail(e, AV_E_VALIDATION, "authorizerConfiguration."
		    MEMBER ".discoveryUrl is required (at most %d bytes)",
		    OAUTH_URL_MAX);
	url = json_string_value(v);
	if (n <= k || strcmp(url + n - k, SUFFIX) != 0)
		return av_fail(e, AV_E_VALIDATION, "authorizerConfiguration."
		    MEMBER ".discoveryUrl must end in " SUFFIX);
	if (oauth_url_check("authorizerConfiguration." MEMBER ".discoveryUrl",
	    url, allow_http_loopback, e) != 0)
		return -1;
	if ((copy = json_object()) == NULL)
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	json_object_set(copy, "discoveryUrl", v);
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		if ((v = json_object_get(c, lists[i].api)) == NULL)
			continue;
		if (check_list(v, lists[i].api, lists[i].scope, e) != 0) {
			json_decref(copy);
			return -1;
		}
		json_object_set(copy, lists[i].api, v);
	}
	if ((v = json_object_get(c, "customClaims")) != NULL) {
		if (!json_is_array(v) || json_array_size(v) == 0 ||
		    json_array_size(v) > AUTHORIZER_LIST_MAX ||
		    jwt_claim_rules_valid(v, e) != 0) {
			json_decref(copy);
			return av_fail(e, AV_E_VALIDATION, "authorizer"
			    "Configuration." MEMBER ".customClaims: %s",
			    json_is_array(v) && json_array_size(v) > 0 &&
			    json_array_size(v) <= AUTHORIZER_LIST_MAX ? e->msg :
			    "a list of 1 to 50 rules");
		}
		json_object_set(copy, "customClaims", v);
	}
	if ((*out = json_pack("{s:o}", MEMBER, copy)) == NULL)
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	return 0;
}

static json_t *
strings(const struct av_authz_strings *l)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < l->n; i++)
		json_array_append_new(a, json_string(l->v[i]));
	return a;
}

/* A required claim of the configuration as an AgentCore customClaims
 * rule. */
static json_t *
claim_rule(const struct av_authz_claim *c)
{
	const char *op, *type;
	json_t *value;

	if (c->equals[0] != '\0') {
		op = "EQUALS";
		type = "STRING";
		value = json_pack("{s:s}", "matchValueString", c->equals);
	} else if (c->contains[0] != '\0') {
		op = "CONTAINS";
		type = "STRING_ARRAY";
		value = json_pack("{s:s}", "matchValueString", c->contains);
	} else {
		op = "CONTAINS_ANY";
		type = "STRING_ARRAY";
		value = json_pack("{s:o}", "matchValueStringList",
		    strings(&c->contains_any));
	}
	return json_pack("{s:s, s:s, s:{s:s, s:o}}", "inboundTokenClaimName",
	    c->claim, "inboundTokenClaimValueType", type,
	    "authorizingClaimMatchValue", "claimMatchOperator", op,
	    "claimMatchValue", value);
}

json_t *
authorizer_config_default(const struct av_config *cfg)
{
	const struct av_authorizer_config *a = &cfg->authorizer;
	const struct av_authz_strings *l[] = { &a->allowed_audiences,
	    &a->allowed_clients, &a->allowed_scopes };
	json_t *c, *rules;
	size_t i;

	if (a->discovery_url[0] == '\0')
		return NULL;
	if ((c = json_pack("{s:s}", "discoveryUrl", a->discovery_url)) ==
	    NULL)
		return NULL;
	for (i = 0; i < 3; i++)
		if (l[i]->n > 0)
			json_object_set_new(c, lists[i].api, strings(l[i]));
	if (a->required_claims.n > 0) {
		rules = json_array();
		for (i = 0; i < a->required_claims.n; i++)
			json_array_append_new(rules,
			    claim_rule(&a->required_claims.v[i]));
		json_object_set_new(c, "customClaims", rules);
	}
	return json_pack("{s:o}", MEMBER, c);
}

const char *
authorizer_discovery_url(const json_t *config)
{
	return json_string_value(json_object_get(json_object_get(config,
	    MEMBER), "discoveryUrl"));
}

int
authorizer_user_key(const char *iss, const char *sub,
    char out[USER_JWT_KEY_LEN + 1])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	unsigned char b64[48];
	EVP_MD_CTX *c;
	size_t i;
	int ok;

	if ((c = EVP_MD_CTX_new()) == NULL)
		return -1;
	ok = EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(c, iss, strlen(iss) + 1) == 1 &&	/* the 0 */
	    EVP_DigestUpdate(c, sub, strlen(sub)) == 1 &&
	    EVP_DigestFinal_ex(c, md, NULL) == 1;
	EVP_MD_CTX_free(c);
	if (!ok)
		return -1;
	EVP_EncodeBlock(b64, md, sizeof(md));	/* 44 with one '=' */
	for (i = 0; i < 43; i++)
		b64[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
	snprintf(out, USER_JWT_KEY_LEN + 1, "jwt:%.43s", (char *)b64);
	return 0;
}

void
authorizer_result_clear(struct authorizer_result *r)
{
	json_decref(r->audience);
	memset(r, 0, sizeof(*r));
}

/* ---- validation ---- */

static void
hex(const unsigned char *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

/* The strings of list f of c, NULL-terminated, into v (NULL: absent). */
static const char *const *
policy_list(const json_t *c, const char *f,
    const char *v[AUTHORIZER_LIST_MAX + 1])
{
	const json_t *a = json_object_get(c, f), *x;
	size_t i, n = 0;

	if (a == NULL)
		return NULL;
	json_array_foreach(a, i, x)
		if (json_is_string(x) && n < AUTHORIZER_LIST_MAX)
			v[n++] = json_string_value(x);
	v[n] = NULL;
	return v;
}

/* The signature and the claims of t, with keys; r filled when valid. */
static int
check(const json_t *config, const struct jwt *t, const struct jwk_set *keys,
    struct authorizer_result *r, struct av_err *e)
{
	const char *aud[AUTHORIZER_LIST_MAX + 1], *cl[AUTHORIZER_LIST_MAX + 1];
	const char *sc[AUTHORIZER_LIST_MAX + 1], *kid = jwt_kid(t), *sub, *s;
	const json_t *c = json_object_get(config, MEMBER);
	const char *url = authorizer_discovery_url(config);
	unsigned char md[SHA256_DIGEST_LENGTH];
	struct jwt_policy p = { 0 };
	size_t n = strlen(url) - strlen(SUFFIX);

	memset(r, 0, sizeof(*r));
	if (n >= sizeof(r->issuer))
		return av_fail(e, AV_E_INTERNAL, "issuer too long");
	memcpy(r->issuer, url, n);
	r->issuer[n] = '\0';
	if (kid != NULL && !jwks_has_kid(keys, kid))
		return av_fail(e, AV_E_ACCESS_DENIED, "the token's kid is not "
		    "among the identity provider's keys (they are fetched "
		    "again for an unknown kid at most every "
		    "authorizer.jwks_refresh_min_seconds)");
	if (jwt_verify_signature(t, keys, e) != 0)
		return -1;
	p.issuer = r->issuer;
	p.audiences = policy_list(c, "allowedAudience", aud);
	p.clients = policy_list(c, "allowedClients", cl);
	p.scopes = policy_list(c, "allowedScopes", sc);
	p.required_claims = json_object_get(c, "customClaims");
	p.now = (int64_t)time(NULL);
	p.skew = JWT_SKEW;
	if (jwt_check_claims(t, &p, e) != 0)
		return -1;
	if ((sub = jwt_claim_string(t, "sub")) == NULL || *sub == '\0' ||
	    strlen(sub) > AUTHORIZER_SUB_MAX)
		return av_fail(e, AV_E_ACCESS_DENIED, "the token has no sub "
		    "(of 1 to %d bytes): it names no user", AUTHORIZER_SUB_MAX);
	snprintf(r->subject, sizeof(r->subject), "%s", sub);
	SHA256((const unsigned char *)sub, strlen(sub), md);
	hex(md, sizeof(md), r->subject_hash);
	if (authorizer_user_key(r->issuer, sub, r->user) != 0)
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	if ((s = jwt_claim_string(t, "client_id")) != NULL ||
	    (s = jwt_claim_string(t, "azp")) != NULL)
		snprintf(r->client, sizeof(r->client), "%s", s);
	snprintf(r->alg, sizeof(r->alg), "%s", jwt_alg_name(t));
	r->audience = json_incref(json_object_get(jwt_claims(t), "aud"));
	r->exp = jwt_exp(t);
	return 0;
}

/* A validation waiting for keys. */
struct pending {
	json_t			*config;
	struct jwt		*t;
	authorizer_done_fn	*cb;
	void			*arg;
	struct authorizer_result r;
};

/* jwks_done_fn */
static void
keys_ready(int rc, struct jwks_keys *keys, struct av_err *e, void *arg)
{
	struct pending *p = arg;
	struct av_err err = { NULL, "" };

	if (rc == 0) {
		rc = check(p->config, p->t, jwks_keys_set(keys), &p->r, &err);
		jwks_keys_release(keys);
		e = &err;
	}
	p->cb(rc, &p->r, rc == 0 ? NULL : e, p->arg);
	authorizer_result_clear(&p->r);
	jwt_free(p->t);
	json_decref(p->config);
	free(p);
}

int
authorizer_validate(struct api_ctx *ctx, const json_t *config,
    const char *token, size_t len, struct authorizer_result *r,
    authorizer_done_fn *cb, void *arg, struct av_err *e)
{
	struct jwks_keys *keys = NULL;
	struct pending *p;
	struct jwt *t = NULL;
	int rc;

	memset(r, 0, sizeof(*r));
	if (len > JWT_MAX)
		return av_fail(e, AV_E_VALIDATION, "the token is longer than "
		    "%d bytes", JWT_MAX);
	if (jwt_parse(token, len, &t, e) != 0)
		return -1;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		jwt_free(t);
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	}
	p->config = json_incref((json_t *)config);
	p->t = t;
	p->cb = cb;
	p->arg = arg;
	rc = jwks_cache_get(ctx, authorizer_discovery_url(config), jwt_kid(t),
	    &keys, keys_ready, p, e);
	if (rc == 1)
		return AUTHORIZER_PENDING;
	if (rc == 0) {
		rc = check(config, t, jwks_keys_set(keys), r, e);
		jwks_keys_release(keys);
	}
	jwt_free(t);
	json_decref(p->config);
	free(p);
	return rc;
}
