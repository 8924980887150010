/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oauth_vendor.h - OAuth2 vendor presets: AgentCore's
 * credentialProviderVendor values with their endpoints, defaults and
 * quirks.  They are data (daemon/oauth_vendors.json, embedded at build
 * time), parsed and checked strictly once at start; docs/oauth.md and
 * docs/vendors/ describe them.
 */
#ifndef AV_OAUTH_VENDOR_H
#define AV_OAUTH_VENDOR_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define OAUTH_VENDORS_MAX	32
#define OAUTH_URL_MAX		2048	/* bytes of an endpoint or issuer */
#define OAUTH_TEMPLATE_MAX	256	/* bytes of an endpoint template */
#define OAUTH_PARAMS_MAX	4	/* authorization parameters a preset adds */

/* The embedded file (generated from daemon/oauth_vendors.json). */
extern const char oauth_vendors_json[];
extern const size_t oauth_vendors_json_len;

enum oauth_auth_method {
	OAUTH_AUTH_BASIC,	/* client_secret_basic */
	OAUTH_AUTH_POST,	/* client_secret_post */
	OAUTH_AUTH_PRIVATE_KEY_JWT,	/* private_key_jwt: a key in the HSM */
};

/*
 * What a provider's configuration may give besides clientId and
 * clientSecret; the last three are also the endpoints a preset names.
 */
enum oauth_field {
	OAUTH_TENANT_ID,
	OAUTH_ISSUER,
	OAUTH_AUTHORIZATION_ENDPOINT,
	OAUTH_TOKEN_ENDPOINT,
	OAUTH_FIELDS
};

/* Quirks: vendor behaviour the token exchange has to know about. */
#define OAUTH_QUIRK_ACCEPT_JSON	0x1	/* form-encoded answers unless asked */
#define OAUTH_QUIRK_AUTHED_USER	0x2	/* user_scope; token in authed_user */
#define OAUTH_QUIRK_INSTANCE_URL	0x4	/* instance_url kept with the token */
#define OAUTH_QUIRK_ON_BEHALF_OF	0x8	/* OBO: jwt-bearer, requested_token_use */

struct oauth_input {
	bool	accepted;
	bool	required;
	char	def[65];		/* default value, or "" */
	char	example[257];		/* for docs and the load-time check */
};

struct oauth_vendor {
	char			 name[33];	/* "GithubOauth2" */
	const char		*config;	/* "githubOauth2ProviderConfig" */
	bool			 custom;	/* endpoints from oauthDiscovery */
	/* Templates of the issuer and endpoints ([OAUTH_ISSUER] on);
	 * "" when a required input of that name gives it. */
	char			 endpoint[OAUTH_FIELDS][OAUTH_TEMPLATE_MAX];
	struct oauth_input	 input[OAUTH_FIELDS];
	enum oauth_auth_method	 auth;		/* token endpoint default */
	char			 scope_sep;	/* ' ' or ',' */
	size_t			 nparams;	/* added to authorization URLs */
	struct {
		char	key[33];
		char	value[129];
	}			 params[OAUTH_PARAMS_MAX];
	unsigned		 quirks;	/* OAUTH_QUIRK_* */
	char			 docs[257];	/* the vendor's documentation */
};

struct oauth_vendors {
	size_t			n;
	struct oauth_vendor	v[OAUTH_VENDORS_MAX];
};

/*
 * Parse and check a presets file: every key known, every vendor complete
 * and consistent (templates name only inputs that always have a value,
 * and expand to https URLs), CustomOauth2 present.  0 or -1.
 */
int oauth_vendors_parse(const char *text, size_t len,
    struct oauth_vendors *out, struct av_err *e);
/* The embedded presets, parsed on first use; NULL (e filled) if broken. */
const struct oauth_vendors *oauth_vendors_builtin(struct av_err *e);
const struct oauth_vendor *oauth_vendor_find(const struct oauth_vendors *vs,
    const char *name);
/* "tenantId", "issuer", "authorizationEndpoint", "tokenEndpoint". */
const char *oauth_field_name(enum oauth_field f);
/* "client_secret_basic", "client_secret_post", "private_key_jwt". */
const char *oauth_auth_method_name(enum oauth_auth_method m);

/*
 * The issuer and endpoints of a provider of vendor v (not custom) from
 * its inputs (in[f] NULL when not given): an input given wins, then the
 * template with {tenantId} and {issuer} (without a trailing '/')
 * replaced.  out[OAUTH_ISSUER..OAUTH_TOKEN_ENDPOINT] are filled.  A
 * required input missing, or a result that is no https URL, is a
 * ValidationException naming the field.
 */
int oauth_vendor_resolve(const struct oauth_vendor *v,
    const char *const in[OAUTH_FIELDS], bool allow_http_loopback,
    char out[OAUTH_FIELDS][OAUTH_URL_MAX + 1], struct av_err *e);

/*
 * url is an absolute https URL of at most OAUTH_URL_MAX bytes, with a
 * host and without credentials or fragment (http to a loopback address
 * too when allow_http_loopback: tests).  what names it in the message.
 */
int oauth_url_check(const char *what, const char *url,
    bool allow_http_loopback, struct av_err *e);

#endif /* AV_OAUTH_VENDOR_H */
