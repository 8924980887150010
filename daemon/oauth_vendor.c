/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oauth_vendor.c - the OAuth2 vendor presets: parse and check the
 * embedded daemon/oauth_vendors.json, resolve a provider's endpoints.
 * A mistake in the file is a build's mistake: the daemon refuses to
 * start (parent.c) and the unit test names it.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "oauth_vendor.h"

#define TENANT_MAX	64

/* AgentCore's oauth2ProviderConfigInput members, and what each takes
 * besides clientId and clientSecret. */
#define F(f)	(1u << (f))
static const struct {
	const char	*key;
	unsigned	 fields;
} configs[] = {
	{ "customOauth2ProviderConfig", 0 },
	{ "googleOauth2ProviderConfig", 0 },
	{ "githubOauth2ProviderConfig", 0 },
	{ "slackOauth2ProviderConfig", 0 },
	{ "salesforceOauth2ProviderConfig", 0 },
	{ "microsoftOauth2ProviderConfig", F(OAUTH_TENANT_ID) },
	{ "atlassianOauth2ProviderConfig", 0 },
	{ "linkedinOauth2ProviderConfig", 0 },
	{ "includedOauth2ProviderConfig", F(OAUTH_ISSUER) |
	    F(OAUTH_AUTHORIZATION_ENDPOINT) | F(OAUTH_TOKEN_ENDPOINT) },
};

static const char *const field_names[OAUTH_FIELDS] = {
	"tenantId", "issuer", "authorizationEndpoint", "tokenEndpoint"
};

static const struct {
	const char	*name;
	unsigned	 flag;
} quirk_names[] = {
	{ "accept_json", OAUTH_QUIRK_ACCEPT_JSON },
	{ "authed_user", OAUTH_QUIRK_AUTHED_USER },
	{ "instance_url", OAUTH_QUIRK_INSTANCE_URL },
	{ "on_behalf_of", OAUTH_QUIRK_ON_BEHALF_OF },
};

/* Parameters the appliance sets itself: a preset may not add them. */
static const char *const standard_params[] = {
	"client_id", "client_secret", "redirect_uri", "response_type",
	"scope", "state", "code_challenge", "code_challenge_method",
	"request_uri", "resource", NULL
};

const char *
oauth_field_name(enum oauth_field f)
{
	return f < OAUTH_FIELDS ? field_names[f] : "?";
}

const char *
oauth_auth_method_name(enum oauth_auth_method m)
{
	return m == OAUTH_AUTH_POST ? "client_secret_post" :
	    m == OAUTH_AUTH_PRIVATE_KEY_JWT ? "private_key_jwt" :
	    "client_secret_basic";
}

static bool
is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;
	char h[64];
	size_t n = strlen(host);

	if (strcmp(host, "localhost") == 0)
		return true;
	if (n >= 2 && n < sizeof(h) && host[0] == '[' && host[n - 1] == ']') {
		memcpy(h, host + 1, n - 2);
		h[n - 2] = '\0';
		return inet_pton(AF_INET6, h, &a6) == 1 &&
		    memcmp(&a6, &in6addr_loopback, sizeof(a6)) == 0;
	}
	return inet_pton(AF_INET, host, &a4) == 1 &&
	    (ntohl(a4.s_addr) >> 24) == 127;
}

int
oauth_url_check(const char *what, const char *url, bool allow_http_loopback,
    struct av_err *e)
{
	CURLU *u;
	char *host = NULL, *user = NULL, *frag = NULL;
	size_t i, n = strlen(url);
	bool ok = false;

	for (i = 0; i < n; i++)
		if ((unsigned char)url[i] <= 0x20 ||
		    (unsigned char)url[i] >= 0x7f)
			break;
	if (n == 0 || n > OAUTH_URL_MAX || i < n)
		return av_fail(e, AV_E_VALIDATION, "%s must be a URL of 1 to "
		    "%d printable characters", what, OAUTH_URL_MAX);
	if ((u = curl_url()) == NULL)
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	/* libcurl parses; the scheme is checked as written ("https:///x"
	 * would be a URL to it). */
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    host[0] != '\0' &&
	    curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_NO_USER &&
	    curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0) ==
	    CURLUE_NO_FRAGMENT)
		ok = (strncmp(url, "https://", 8) == 0 && url[8] != '/') ||
		    (allow_http_loopback && strncmp(url, "http://", 7) == 0 &&
		    url[7] != '/' && is_loopback(host));
	curl_free(host);
	curl_free(user);
	curl_free(frag);
	curl_url_cleanup(u);
	if (!ok)
		return av_fail(e, AV_E_VALIDATION, "%s must be an https:// URL "
		    "with a host, without user or fragment", what);
	return 0;
}

static int
check_tenant(const char *v, struct av_err *e)
{
	size_t n = strlen(v);

	if (n == 0 || n > TENANT_MAX || strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789.-") != n)
		return av_fail(e, AV_E_VALIDATION, "tenantId must be 1 to %d "
		    "characters of [A-Za-z0-9.-] (a tenant ID or domain, or "
		    "common, organizations, consumers)", TENANT_MAX);
	return 0;
}

/* An input's value, whichever field it is for. */
static int
check_input(enum oauth_field f, const char *v, bool allow_http_loopback,
    struct av_err *e)
{
	if (f == OAUTH_TENANT_ID)
		return check_tenant(v, e);
	return oauth_url_check(field_names[f], v, allow_http_loopback, e);
}

/* Expand template t into out with the values val[f] (NULL: none). */
static int
expand(const char *t, const char *const val[OAUTH_FIELDS], char *out,
    size_t cap, struct av_err *e)
{
	const char *p = t, *close, *v;
	size_t n = 0, len, vlen;
	int f;

	while (*p != '\0') {
		if (*p != '{') {
			if (n + 1 >= cap)
				goto long_;
			out[n++] = *p++;
			continue;
		}
		if ((close = strchr(p, '}')) == NULL)
			return av_fail(e, AV_E_INTERNAL, "unclosed '{' in %s",
			    t);
		len = (size_t)(close - p - 1);
		for (f = 0; f < OAUTH_FIELDS; f++)
			if (strlen(field_names[f]) == len &&
			    strncmp(p + 1, field_names[f], len) == 0)
				break;
		if (f == OAUTH_FIELDS || (v = val[f]) == NULL)
			return av_fail(e, AV_E_INTERNAL, "%s: no value for "
			    "{%.*s}", t, (int)len, p + 1);
		vlen = strlen(v);
		/* {issuer}/authorize, whether the issuer ends in '/' or not */
		if (f != OAUTH_TENANT_ID && vlen > 0 && v[vlen - 1] == '/')
			vlen--;
		if (n + vlen >= cap)
			goto long_;
		memcpy(out + n, v, vlen);
		n += vlen;
		p = close + 1;
	}
	out[n] = '\0';
	return 0;
long_:
	return av_fail(e, AV_E_VALIDATION, "an endpoint would be longer than "
	    "%zu characters", cap - 1);
}

int
oauth_vendor_resolve(const struct oauth_vendor *v,
    const char *const in[OAUTH_FIELDS], bool allow_http_loopback,
    char out[OAUTH_FIELDS][OAUTH_URL_MAX + 1], struct av_err *e)
{
	const char *val[OAUTH_FIELDS];
	int f;

	for (f = 0; f < OAUTH_FIELDS; f++) {
		val[f] = NULL;
		if (in[f] != NULL && !v->input[f].accepted)
			return av_fail(e, AV_E_VALIDATION, "%s takes no %s "
			    "(its endpoints are fixed)", v->name,
			    field_names[f]);
		if (in[f] != NULL) {
			if (check_input(f, in[f], allow_http_loopback, e) != 0)
				return -1;
			val[f] = in[f];
		} else if (v->input[f].def[0] != '\0')
			val[f] = v->input[f].def;
		else if (v->input[f].required)
			return av_fail(e, AV_E_VALIDATION, "%s needs %s (e.g. "
			    "%s)", v->name, field_names[f],
			    v->input[f].example);
	}
	out[OAUTH_TENANT_ID][0] = '\0';
	for (f = OAUTH_ISSUER; f < OAUTH_FIELDS; f++) {
		if (in[f] != NULL)
			snprintf(out[f], OAUTH_URL_MAX + 1, "%s", in[f]);
		else if (expand(v->endpoint[f], val, out[f], OAUTH_URL_MAX + 1,
		    e) != 0)
			return -1;
		if (oauth_url_check(field_names[f], out[f],
		    allow_http_loopback, e) != 0)
			return -1;
	}
	return 0;
}

/* ---- the presets file ---- */

static int bad(struct av_err *, const char *, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static int
bad(struct av_err *e, const char *vendor, const char *fmt, ...)
{
	char what[AV_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return av_fail(e, AV_E_INTERNAL, "OAuth2 vendor presets: %s: %s",
	    vendor, what);
}

/* obj has no key but those listed (NULL-terminated). */
static int
only_keys(json_t *obj, const char *const *keys, const char *where,
    struct av_err *e)
{
	const char *k;
	json_t *v;
	size_t i;

	json_object_foreach(obj, k, v) {
		for (i = 0; keys[i] != NULL; i++)
			if (strcmp(k, keys[i]) == 0)
				break;
		if (keys[i] == NULL)
			return bad(e, where, "unknown key '%.64s'", k);
	}
	return 0;
}

/* An optional string of at most cap-1 bytes into buf ("" if absent). */
static int
get_str(json_t *obj, const char *key, char *buf, size_t cap, bool required,
    const char *where, struct av_err *e)
{
	json_t *v = json_object_get(obj, key);

	buf[0] = '\0';
	if (v == NULL)
		return required ? bad(e, where, "%s is required", key) : 0;
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) >= cap ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return bad(e, where, "%s must be a non-empty string that "
		    "fits", key);
	memcpy(buf, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

static int
parse_inputs(json_t *obj, struct oauth_vendor *v, unsigned allowed,
    struct av_err *e)
{
	static const char *const keys[] = { "required", "default", "example",
	    NULL };
	struct av_err why;
	const char *k;
	json_t *in, *req;
	int f;

	if (obj == NULL)
		return 0;
	if (!json_is_object(obj))
		return bad(e, v->name, "%s must be an object", "inputs");
	json_object_foreach(obj, k, in) {
		for (f = 0; f < OAUTH_FIELDS; f++)
			if (strcmp(k, field_names[f]) == 0)
				break;
		if (f == OAUTH_FIELDS || !(allowed & F(f)))
			return bad(e, v->name, "%s has no such input", k);
		if (!json_is_object(in) || only_keys(in, keys, v->name, e) != 0)
			return json_is_object(in) ? -1 :
			    bad(e, v->name, "input %s must be an object", k);
		v->input[f].accepted = true;
		if ((req = json_object_get(in, "required")) != NULL &&
		    !json_is_boolean(req))
			return bad(e, v->name, "%s.required must be a boolean",
			    k);
		v->input[f].required = json_is_true(req);
		if (get_str(in, "default", v->input[f].def,
		    sizeof(v->input[f].def), false, v->name, e) != 0 ||
		    get_str(in, "example", v->input[f].example,
		    sizeof(v->input[f].example), true, v->name, e) != 0)
			return -1;
		if (v->input[f].required && v->input[f].def[0] != '\0')
			return bad(e, v->name, "%s: required with a default",
			    k);
		if (check_input(f, v->input[f].example, false, &why) != 0 ||
		    (v->input[f].def[0] != '\0' &&
		    check_input(f, v->input[f].def, false, &why) != 0))
			return bad(e, v->name, "%s", why.msg);
	}
	return 0;
}

static int
parse_params(json_t *obj, struct oauth_vendor *v, struct av_err *e)
{
	const char *k;
	json_t *val;
	size_t i;

	if (obj == NULL)
		return 0;
	if (!json_is_object(obj) || json_object_size(obj) > OAUTH_PARAMS_MAX)
		return bad(e, v->name, "authorizationParams must be an object "
		    "of at most %d", OAUTH_PARAMS_MAX);
	json_object_foreach(obj, k, val) {
		if (strlen(k) == 0 || strlen(k) >= sizeof(v->params[0].key) ||
		    strspn(k, "abcdefghijklmnopqrstuvwxyz_") != strlen(k))
			return bad(e, v->name, "parameter '%.40s' must be "
			    "[a-z_]", k);
		for (i = 0; standard_params[i] != NULL; i++)
			if (strcmp(k, standard_params[i]) == 0)
				return bad(e, v->name, "parameter %s is set by "
				    "the appliance", k);
		if (!json_is_string(val) || json_string_length(val) == 0 ||
		    json_string_length(val) >= sizeof(v->params[0].value) ||
		    strspn(json_string_value(val), "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789._-") !=
		    json_string_length(val))
			return bad(e, v->name, "parameter %s needs a value of "
			    "[A-Za-z0-9._-]", k);
		snprintf(v->params[v->nparams].key, sizeof(v->params[0].key),
		    "%s", k);
		snprintf(v->params[v->nparams].value,
		    sizeof(v->params[0].value), "%s", json_string_value(val));
		v->nparams++;
	}
	return 0;
}

static int
parse_quirks(json_t *arr, struct oauth_vendor *v, struct av_err *e)
{
	json_t *q;
	size_t i, j;

	if (arr == NULL)
		return 0;
	if (!json_is_array(arr))
		return bad(e, v->name, "%s must be a list", "quirks");
	json_array_foreach(arr, i, q) {
		for (j = 0; j < sizeof(quirk_names) / sizeof(quirk_names[0]);
		    j++)
			if (json_is_string(q) && strcmp(json_string_value(q),
			    quirk_names[j].name) == 0)
				break;
		if (j == sizeof(quirk_names) / sizeof(quirk_names[0]))
			return bad(e, v->name, "unknown quirk %s",
			    json_is_string(q) ? json_string_value(q) : "?");
		if (v->quirks & quirk_names[j].flag)
			return bad(e, v->name, "quirk %s twice",
			    quirk_names[j].name);
		v->quirks |= quirk_names[j].flag;
	}
	return 0;
}

/*
 * Every endpoint of a preset has a value whatever the provider gives:
 * a template whose placeholders always have one (required or with a
 * default) and which expands to an https URL, or a required input.
 */
static int
check_endpoints(struct oauth_vendor *v, struct av_err *e)
{
	char out[OAUTH_URL_MAX + 1];
	const char *val[OAUTH_FIELDS];
	struct av_err why;
	int f, g;

	for (f = OAUTH_ISSUER; f < OAUTH_FIELDS; f++) {
		if (v->endpoint[f][0] == '\0') {
			if (!v->input[f].required)
				return bad(e, v->name, "%s: no template and no "
				    "required input", field_names[f]);
			continue;
		}
		/* What every provider has a value of; not the field itself. */
		for (g = 0; g < OAUTH_FIELDS; g++)
			val[g] = g == f || !v->input[g].accepted ? NULL :
			    v->input[g].def[0] != '\0' ? v->input[g].def :
			    v->input[g].required ? v->input[g].example : NULL;
		if (expand(v->endpoint[f], val, out, sizeof(out), &why) != 0 ||
		    oauth_url_check(field_names[f], out, false, &why) != 0)
			return bad(e, v->name, "%s", why.msg);
	}
	return 0;
}

static int
parse_vendor(json_t *obj, struct oauth_vendor *v, struct av_err *e)
{
	static const char *const keys[] = { "vendor", "config", "issuer",
	    "authorizationEndpoint", "tokenEndpoint", "inputs",
	    "tokenEndpointAuthMethod", "scopeSeparator",
	    "authorizationParams", "quirks", "docs", "note", NULL };
	char config[64], method[32], sep[4];
	struct av_err why;
	unsigned allowed = 0;
	size_t i, n;
	int f;

	memset(v, 0, sizeof(*v));
	if (!json_is_object(obj))
		return bad(e, "vendors", "%s", "each must be an object");
	if (get_str(obj, "vendor", v->name, sizeof(v->name), true, "vendors",
	    e) != 0)
		return -1;
	n = strlen(v->name);
	if (n <= 6 || strcmp(v->name + n - 6, "Oauth2") != 0 ||
	    strspn(v->name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
	    "vwxyz0123456789") != n)
		return bad(e, v->name, "%s", "a vendor is [A-Za-z0-9]+Oauth2");
	if (only_keys(obj, keys, v->name, e) != 0 ||
	    get_str(obj, "config", config, sizeof(config), true, v->name,
	    e) != 0)
		return -1;
	for (i = 0; i < sizeof(configs) / sizeof(configs[0]); i++)
		if (strcmp(config, configs[i].key) == 0)
			break;
	if (i == sizeof(configs) / sizeof(configs[0]))
		return bad(e, v->name, "unknown config %s", config);
	v->config = configs[i].key;
	allowed = configs[i].fields;
	v->custom = strcmp(v->name, "CustomOauth2") == 0;
	if (v->custom != (strcmp(v->config, "customOauth2ProviderConfig") ==
	    0))
		return bad(e, v->name, "%s", "customOauth2ProviderConfig is "
		    "CustomOauth2's alone");
	for (f = OAUTH_ISSUER; f < OAUTH_FIELDS; f++)
		if (get_str(obj, field_names[f], v->endpoint[f],
		    sizeof(v->endpoint[f]), false, v->name, e) != 0)
			return -1;
	if (parse_inputs(json_object_get(obj, "inputs"), v, allowed, e) != 0 ||
	    get_str(obj, "tokenEndpointAuthMethod", method, sizeof(method),
	    true, v->name, e) != 0 ||
	    get_str(obj, "scopeSeparator", sep, sizeof(sep), true, v->name,
	    e) != 0 ||
	    parse_params(json_object_get(obj, "authorizationParams"), v,
	    e) != 0 ||
	    parse_quirks(json_object_get(obj, "quirks"), v, e) != 0 ||
	    get_str(obj, "docs", v->docs, sizeof(v->docs), true, v->name,
	    e) != 0)
		return -1;
	if (strcmp(method, "client_secret_basic") == 0)
		v->auth = OAUTH_AUTH_BASIC;
	else if (strcmp(method, "client_secret_post") == 0)
		v->auth = OAUTH_AUTH_POST;
	else
		return bad(e, v->name, "tokenEndpointAuthMethod %s is not "
		    "client_secret_basic or client_secret_post", method);
	if (strcmp(sep, " ") != 0 && strcmp(sep, ",") != 0)
		return bad(e, v->name, "%s must be \" \" or \",\"",
		    "scopeSeparator");
	v->scope_sep = sep[0];
	if (oauth_url_check("docs", v->docs, false, &why) != 0)
		return bad(e, v->name, "%s", why.msg);
	if (json_object_get(obj, "note") != NULL &&
	    !json_is_string(json_object_get(obj, "note")))
		return bad(e, v->name, "%s must be a string", "note");
	if (v->custom) {
		for (f = 0; f < OAUTH_FIELDS; f++)
			if (v->endpoint[f][0] != '\0' || v->input[f].accepted)
				return bad(e, v->name, "%s", "CustomOauth2 "
				    "takes its endpoints from oauthDiscovery");
		return v->nparams != 0 || v->quirks != 0 ? bad(e, v->name,
		    "%s", "CustomOauth2 has no parameters or quirks") : 0;
	}
	return check_endpoints(v, e);
}

int
oauth_vendors_parse(const char *text, size_t len, struct oauth_vendors *out,
    struct av_err *e)
{
	static const char *const keys[] = { "about", "version", "vendors",
	    NULL };
	json_error_t jerr;
	json_t *root, *list, *item;
	size_t i, j;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if ((root = json_loadb(text, len, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL)
		return av_fail(e, AV_E_INTERNAL, "OAuth2 vendor presets: line "
		    "%d column %d: %s", jerr.line, jerr.column, jerr.text);
	if (!json_is_object(root) || only_keys(root, keys, "file", e) != 0) {
		if (!json_is_object(root))
			bad(e, "file", "%s", "not a JSON object");
		goto done;
	}
	if (json_integer_value(json_object_get(root, "version")) != 1 ||
	    !json_is_integer(json_object_get(root, "version"))) {
		bad(e, "file", "%s", "version must be 1");
		goto done;
	}
	list = json_object_get(root, "vendors");
	if (!json_is_array(list) || json_array_size(list) == 0 ||
	    json_array_size(list) > OAUTH_VENDORS_MAX) {
		bad(e, "file", "vendors must be a list of 1 to %d",
		    OAUTH_VENDORS_MAX);
		goto done;
	}
	json_array_foreach(list, i, item) {
		if (parse_vendor(item, &out->v[i], e) != 0)
			goto done;
		for (j = 0; j < i; j++)
			if (strcmp(out->v[j].name, out->v[i].name) == 0) {
				bad(e, out->v[i].name, "%s", "listed twice");
				goto done;
			}
		out->n = i + 1;
	}
	if (oauth_vendor_find(out, "CustomOauth2") == NULL) {
		bad(e, "file", "%s", "CustomOauth2 is missing");
		goto done;
	}
	rc = 0;
done:
	if (rc != 0)
		out->n = 0;
	json_decref(root);
	return rc;
}

const struct oauth_vendor *
oauth_vendor_find(const struct oauth_vendors *vs, const char *name)
{
	size_t i;

	for (i = 0; i < vs->n; i++)
		if (strcmp(vs->v[i].name, name) == 0)
			return &vs->v[i];
	return NULL;
}

static struct oauth_vendors builtin;
static struct av_err builtin_err;
static int builtin_rc;
static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;

static void
builtin_load(void)
{
	builtin_rc = oauth_vendors_parse(oauth_vendors_json,
	    oauth_vendors_json_len, &builtin, &builtin_err);
}

const struct oauth_vendors *
oauth_vendors_builtin(struct av_err *e)
{
	pthread_once(&builtin_once, builtin_load);
	if (builtin_rc != 0) {
		if (e != NULL)
			*e = builtin_err;
		return NULL;
	}
	return &builtin;
}
