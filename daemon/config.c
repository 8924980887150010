/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.c - the strict YAML configuration of agentvaultd.
 *
 * The text goes through libyaml's event parser twice:
 *
 *  1. check_structure(): is it one YAML document within our limits?
 *     Syntax errors (libyaml's own text and mark), no document at all,
 *     a second document, %TAG directives, anchors, aliases, tags, complex
 *     keys, nesting deeper than AV_CONFIG_DEPTH_MAX, scalars longer than
 *     AV_CONFIG_STRING_MAX, sequences longer than AV_CONFIG_LIST_MAX.
 *     Nothing is stored; aliases are never expanded.
 *
 *  2. parse_block(): walk the same events against the schema, the tables
 *     below, one per section: key name, type, offset of the field, default,
 *     range or values.  Unknown and duplicate keys, wrong types, bad values.
 *
 * Then, on the parsed struct: required keys (check_required), defaults
 * computed from other values (av_derived[]), and the checks that involve
 * several keys (check_cross).  The first error stops everything, and the
 * caller gets the defaults back rather than a half-filled struct.
 *
 * A key name in the schema is the name of its field in struct av_config
 * (the table macros stringify the field), and the macros refuse, at
 * compile time, a field whose type does not match the entry's type.
 *
 * Positions: each key seen is recorded with the marks of its key and
 * value, under its dotted path ("listen.tcp.port"), so that later checks
 * can point at the node concerned, or at its nearest ancestor that is in
 * the file when the node itself is not.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <yaml.h>

#include "config.h"
#include "hsm/uri.h"

_Static_assert(AV_CONFIG_URI_SIZE == HSM_URI_MAX + 1,
    "AV_CONFIG_URI_SIZE must follow HSM_URI_MAX");
_Static_assert(AV_CONFIG_ADDR_SIZE >= INET6_ADDRSTRLEN,
    "AV_CONFIG_ADDR_SIZE too small for an IPv6 address");
_Static_assert(sizeof(enum av_kek_mode) == sizeof(int) &&
    sizeof(enum av_log_level) == sizeof(int) &&
    sizeof(enum av_principal_kind) == sizeof(int), "enums are stored as int");

#define AV_KEYPATH_MAX	64	/* "listen.admin_socket.group" and the like */
#define AV_RECS_MAX	512	/* > keys in the schema, lists full */
#define AV_MSG_MAX	1024
#define AV_SHOW_MAX	48	/* bytes of a key or name quoted in a message */
/* (uid_t)-1 and (gid_t)-1 mean "none": not accepted as ids. */
#define AV_ID_MAX	4294967294ULL
#define AV_MODE_MAX	0777
#define AV_LOOKUP_BUF_MAX (1024 * 1024)	/* getpwnam_r / getgrnam_r buffer */
#define AV_ENV_NAME_MAX	255

/* ---- the schema ------------------------------------------------------- */

enum av_type {
	T_END = 0,
	T_BLOCK,	/* a mapping of keys: sub */
	T_STRING,	/* text from charset, min..max bytes */
	T_PATH,		/* absolute path, no ".." component */
	T_BOOL,		/* true | false, unquoted */
	T_INT,		/* decimal, unquoted, min..max; unsigned int */
	T_MODE,		/* octal 0000..0777, quoted or not; mode_t */
	T_ENUM,		/* one of names[]; stored as the index */
	T_URI,		/* pkcs11: URI, checked by hsm_uri_parse */
	T_PIN,		/* PIN source: file:/path or env:NAME */
	T_ADDR,		/* IPv4 or IPv6 literal */
	T_USER,		/* user name, resolved when given; struct av_user */
	T_GROUP,	/* gid or group name; struct av_group */
	T_UIDS,		/* list of uids or user names; struct av_uid_list */
	T_GIDS,		/* list of gids or group names; struct av_gid_list */
	T_LIST,		/* list of mappings of keys sub; struct with n, v[] */
	T_STRINGS,	/* list of T_STRING items; struct with n, char v[][] */
	T_TAGS,		/* mapping of tag keys to values; struct av_tag_list */
};

#define F_REQUIRED	0x01	/* no default: must be in the file */
#define F_URI_TOKEN	0x02	/* URI selects a token, not an object */
#define F_URI_PRIVATE	0x04	/* URI names a private key */
#define F_URI_SECRET	0x08	/* URI names a secret key */

#define NO_PRESENT	SIZE_MAX

struct av_key {
	const char		*name;
	enum av_type		 type;
	unsigned int		 flags;
	size_t			 off;	/* in the enclosing block's struct */
	size_t			 size;	/* of the field */
	long long		 min, max;	/* T_INT range, T_STRING len */
	const char		*def;	/* default, as YAML text; NULL: none */
	const char		*charset;	/* T_STRING */
	const char		*desc;		/* T_STRING: what is expected */
	const char *const	*names;		/* T_ENUM, NULL-terminated */
	const struct av_key	*sub;		/* T_BLOCK */
	size_t			 present_off;	/* T_BLOCK: bool, optional */
	/* T_LIST, T_STRINGS: */
	size_t			 count_off;	/* size_t n */
	size_t			 item_off;	/* v[0] */
	size_t			 item_size;	/* sizeof(v[0]) */
	size_t			 cap;		/* items in v[] */
};

/*
 * Offset of field f of struct S, which must have type T: the pointer
 * comparison inside sizeof is never evaluated, but it does not compile
 * (-Werror) when the types differ.
 */
#define OFF(S, f, T)							\
	(offsetof(struct S, f) + 0 * sizeof((T *)0 == &((struct S *)0)->f))
#define STROFF(S, f)							\
	(offsetof(struct S, f) + 0 * sizeof((char *)0 == ((struct S *)0)->f))
#define SIZE(S, f)	sizeof(((struct S *)0)->f)

#define K_BLOCK(S, f, T, keys)						\
	{ .name = #f, .type = T_BLOCK, .off = OFF(S, f, T),		\
	  .size = SIZE(S, f), .sub = keys, .present_off = NO_PRESENT }
#define K_OPTBLOCK(S, f, T, keys, flag)					\
	{ .name = #f, .type = T_BLOCK, .off = OFF(S, f, struct T),	\
	  .size = SIZE(S, f), .sub = keys,				\
	  .present_off = OFF(T, flag, bool) }
#define K_STRING(S, f, d, lo, hi, cs, what, fl)				\
	{ .name = #f, .type = T_STRING, .flags = fl, .off = STROFF(S, f), \
	  .size = SIZE(S, f), .min = lo, .max = hi, .def = d,		\
	  .charset = cs, .desc = what, .present_off = NO_PRESENT }
#define K_TEXT(S, f, t, d, fl)						\
	{ .name = #f, .type = t, .flags = fl, .off = STROFF(S, f),	\
	  .size = SIZE(S, f), .def = d, .present_off = NO_PRESENT }
#define K_PATH(S, f, d, fl)	K_TEXT(S, f, T_PATH, d, fl)
#define K_URI(S, f, d, fl)	K_TEXT(S, f, T_URI, d, fl)
#define K_PIN(S, f, fl)		K_TEXT(S, f, T_PIN, NULL, fl)
#define K_ADDR(S, f, d)		K_TEXT(S, f, T_ADDR, d, 0)
#define K_INT(S, f, d, lo, hi, fl)					\
	{ .name = #f, .type = T_INT, .flags = fl,			\
	  .off = OFF(S, f, unsigned int), .size = SIZE(S, f),		\
	  .min = lo, .max = hi, .def = d, .present_off = NO_PRESENT }
#define K_TYPED(S, f, t, T, d)						\
	{ .name = #f, .type = t, .off = OFF(S, f, T),			\
	  .size = SIZE(S, f), .def = d, .present_off = NO_PRESENT }
#define K_BOOL(S, f, d)		K_TYPED(S, f, T_BOOL, bool, d)
#define K_MODE(S, f, d)		K_TYPED(S, f, T_MODE, mode_t, d)
#define K_USER(S, f, d)		K_TYPED(S, f, T_USER, struct av_user, d)
#define K_GROUP(S, f)		K_TYPED(S, f, T_GROUP, struct av_group, NULL)
#define K_UIDS(S, f, d)		K_TYPED(S, f, T_UIDS, struct av_uid_list, d)
#define K_GIDS(S, f, d)		K_TYPED(S, f, T_GIDS, struct av_gid_list, d)
#define K_ENUM(S, f, T, d, values, fl)					\
	{ .name = #f, .type = T_ENUM, .flags = fl, .off = OFF(S, f, T),	\
	  .size = SIZE(S, f), .def = d, .names = values,		\
	  .present_off = NO_PRESENT }
/* Lists start empty (n = 0), and a list in the file replaces the default. */
#define K_LIST(S, f, T, keys)						\
	{ .name = #f, .type = T_LIST, .off = OFF(S, f, struct T),	\
	  .size = SIZE(S, f), .sub = keys,				\
	  .cap = SIZE(T, v) / SIZE(T, v[0]),				\
	  .count_off = OFF(T, n, size_t),				\
	  .item_off = offsetof(struct T, v), .item_size = SIZE(T, v[0]), \
	  .present_off = NO_PRESENT }
/* Items lo..hi bytes of cs, each; what: the list, for messages. */
#define K_STRINGS(S, f, T, lo, hi, cs, what)				\
	{ .name = #f, .type = T_STRINGS, .off = OFF(S, f, struct T),	\
	  .size = SIZE(S, f), .min = lo, .max = hi, .charset = cs,	\
	  .desc = what, .cap = SIZE(T, v) / SIZE(T, v[0]),		\
	  .count_off = OFF(T, n, size_t),				\
	  .item_off = STROFF(T, v[0]), .item_size = SIZE(T, v[0]),	\
	  .present_off = NO_PRESENT }
#define K_TAGS(S, f)							\
	K_TYPED(S, f, T_TAGS, struct av_tag_list, NULL)
#define K_END	{ .name = NULL, .type = T_END }

#define CS_LOWER	"abcdefghijklmnopqrstuvwxyz0123456789-"
#define CS_DIGITS	"0123456789"
#define CS_HOST		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
			"0123456789.-"
#define CS_NAME		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
			"0123456789._-"
/* RFC 3986's characters but '?' and '#': an issuer has no query or
 * fragment (OpenID Connect Discovery 1.0, section 3). */
#define CS_ISSUER	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
			"0123456789-._~:/[]@!$&'()*+,;=%"
/* Printable ASCII but the space (an audience). */
#define CS_VISIBLE	"!\"#$%&'()*+,-./0123456789:;<=>?@" \
			"ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`" \
			"abcdefghijklmnopqrstuvwxyz{|}~"
#define CS_PRINT	" !\"#$%&'()*+,-./0123456789:;<=>?@" \
			"ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`" \
			"abcdefghijklmnopqrstuvwxyz{|}~"

/* Printable ASCII but the space: URLs and OAuth scopes (RFC 6749 3.3
 * without '"' and '\\', as AgentCore's scope pattern). */
#define CS_URL		"!\"#$%&'()*+,-./0123456789:;<=>?@" \
			"ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`" \
			"abcdefghijklmnopqrstuvwxyz{|}~"
#define CS_SCOPE	"!#$%&'()*+,-./0123456789:;<=>?@" \
			"ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`" \
			"abcdefghijklmnopqrstuvwxyz{|}~"
#define CS_CLAIM	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
			"0123456789_.:/-"

/* In enum order. */
static const char *const av_kek_modes[] = {
	"service-managed", "customer-managed", NULL
};
static const char *const av_log_levels[] = {
	"debug", "info", "warning", "error", NULL
};
static const char *const av_principal_kinds[] = {
	"caller", "runtime", "gateway", NULL
};

static const struct av_key av_appliance_keys[] = {
	K_STRING(av_appliance_config, partition, "aws", 1, 32, CS_LOWER,
	    "a partition such as aws ([a-z0-9-], at most 32 bytes)", 0),
	K_STRING(av_appliance_config, region, "us-east-1", 1, 32, CS_LOWER,
	    "a region such as us-east-1 ([a-z0-9-], at most 32 bytes)", 0),
	K_STRING(av_appliance_config, account, "000000000000", 12, 12,
	    CS_DIGITS, "a 12-digit account id", 0),
	K_STRING(av_appliance_config, name, "agentvault", 1, 64, CS_NAME,
	    "a name of [A-Za-z0-9._-], at most 64 bytes", 0),
	K_END
};

static const struct av_key av_paths_keys[] = {
	K_PATH(av_paths_config, state_dir, "/var/lib/agentvault", 0),
	K_PATH(av_paths_config, audit_log, "/var/log/agentvault/audit.log", 0),
	K_PATH(av_paths_config, run_dir, "/run/agentvault", 0),
	K_END
};

/* path: default computed from paths.run_dir, see av_derived[]. */
static const struct av_key av_admin_socket_keys[] = {
	K_PATH(av_socket_config, path, NULL, 0),
	K_MODE(av_socket_config, mode, "0600"),
	K_GROUP(av_socket_config, group),
	K_END
};

static const struct av_key av_agent_socket_keys[] = {
	K_PATH(av_socket_config, path, NULL, 0),
	K_MODE(av_socket_config, mode, "0660"),
	K_GROUP(av_socket_config, group),
	K_END
};

static const struct av_key av_tcp_keys[] = {
	K_ADDR(av_tcp_config, address, "127.0.0.1"),
	K_INT(av_tcp_config, port, NULL, 1, 65535, F_REQUIRED),
	K_PATH(av_tcp_config, client_ca, NULL, 0),
	K_STRING(av_tcp_config, public_name, NULL, 1, 253, CS_HOST,
	    "a DNS name ([A-Za-z0-9.-], at most 253 bytes)", 0),
	K_END
};

static const struct av_key av_listen_keys[] = {
	K_BLOCK(av_listen_config, admin_socket, struct av_socket_config,
	    av_admin_socket_keys),
	K_BLOCK(av_listen_config, agent_socket, struct av_socket_config,
	    av_agent_socket_keys),
	K_OPTBLOCK(av_listen_config, tcp, av_tcp_config, av_tcp_keys,
	    enabled),
	K_END
};

/* tls_cert, ca_cert: defaults computed from paths.state_dir. */
static const struct av_key av_hsm_keys[] = {
	K_PATH(av_hsm_config, module, "/usr/lib/softhsm/libsofthsm2.so", 0),
	K_URI(av_hsm_config, token, "pkcs11:token=agentvault", F_URI_TOKEN),
	K_PIN(av_hsm_config, pin, F_REQUIRED),
	K_INT(av_hsm_config, pool_size, "4", 1, 64, 0),
	K_URI(av_hsm_config, tls_key,
	    "pkcs11:object=agentvault-tls;type=private", F_URI_PRIVATE),
	K_PATH(av_hsm_config, tls_cert, NULL, 0),
	K_PATH(av_hsm_config, ca_cert, NULL, 0),
	K_URI(av_hsm_config, audit_key,
	    "pkcs11:object=agentvault-audit;type=private", F_URI_PRIVATE),
	K_URI(av_hsm_config, token_signing_key,
	    "pkcs11:object=agentvault-token-signing;type=private",
	    F_URI_PRIVATE),
	K_END
};

static const struct av_key av_customer_keys[] = {
	K_PATH(av_customer_config, module, NULL, F_REQUIRED),
	K_URI(av_customer_config, token, NULL, F_URI_TOKEN | F_REQUIRED),
	K_PIN(av_customer_config, pin, F_REQUIRED),
	K_URI(av_customer_config, key, NULL, F_URI_SECRET | F_REQUIRED),
	K_END
};

static const struct av_key av_vault_keys[] = {
	K_ENUM(av_vault_config, kek_mode, enum av_kek_mode, "service-managed",
	    av_kek_modes, 0),
	K_URI(av_vault_config, kek,
	    "pkcs11:object=agentvault-kek;type=secret-key", F_URI_SECRET),
	K_INT(av_vault_config, dek_ttl_seconds, "300", 1, 86400, 0),
	K_OPTBLOCK(av_vault_config, customer, av_customer_config,
	    av_customer_keys, present),
	K_END
};

static const struct av_key av_tokens_keys[] = {
	K_INT(av_tokens_config, ttl_seconds, "900", 60, 43200, 0),
	K_END
};

static const struct av_key av_limits_keys[] = {
	K_INT(av_limits_config, max_connections, "256", 1, 65536, 0),
	K_INT(av_limits_config, max_header_bytes, "8192", 1024, 65536, 0),
	K_INT(av_limits_config, max_body_bytes, "65536", 1024, 16777216, 0),
	K_INT(av_limits_config, read_timeout_seconds, "10", 1, 600, 0),
	K_INT(av_limits_config, idle_timeout_seconds, "60", 1, 3600, 0),
	K_INT(av_limits_config, threads, "2", 1, 64, 0),
	K_END
};

/* user: the default is not resolved here (see config.h). */
static const struct av_key av_sandbox_keys[] = {
	K_BOOL(av_sandbox_config, enabled, "true"),
	K_USER(av_sandbox_config, user, "agentvault"),
	K_BOOL(av_sandbox_config, landlock, "true"),
	K_END
};

static const struct av_key av_outbound_keys[] = {
	K_INT(av_outbound_config, connect_timeout_ms, "3000", 100, 60000, 0),
	K_INT(av_outbound_config, timeout_ms, "10000", 100, 300000, 0),
	K_INT(av_outbound_config, max_response_bytes, "1048576", 1024,
	    16777216, 0),
	K_INT(av_outbound_config, max_transfers, "256", 1, 4096, 0),
	K_PATH(av_outbound_config, ca_bundle,
	    "/etc/ssl/certs/ca-certificates.crt", 0),
	K_BOOL(av_outbound_config, allow_http_loopback, "false"),
	K_END
};

static const struct av_key av_agent_tokens_keys[] = {
	K_STRING(av_agent_tokens_config, issuer, NULL, 9, AV_ISSUER_SIZE - 1,
	    CS_ISSUER, "an https URL without query or fragment (RFC 3986 "
	    "characters, at most 512 bytes)", 0),
	K_INT(av_agent_tokens_config, ttl_seconds, "300", 30, 3600, 0),
	K_STRINGS(av_agent_tokens_config, audiences, av_audience_list, 1,
	    AV_ISSUER_SIZE - 1, CS_VISIBLE, "audiences (printable ASCII "
	    "without spaces, at most 512 bytes each)"),
	K_END
};

static const struct av_key av_oauth_keys[] = {
	K_INT(av_oauth_config, session_ttl_seconds, "600", 60, 3600, 0),
	K_END
};

static const struct av_key av_authz_claim_keys[] = {
	K_STRING(av_authz_claim, claim, NULL, 1, AV_AUTHZ_VALUE_SIZE - 1,
	    CS_CLAIM, "a claim name of [A-Za-z0-9_.:/-], at most 255 bytes",
	    F_REQUIRED),
	K_STRING(av_authz_claim, equals, NULL, 1, AV_AUTHZ_VALUE_SIZE - 1,
	    CS_PRINT, "printable ASCII, at most 255 bytes", 0),
	K_STRING(av_authz_claim, contains, NULL, 1, AV_AUTHZ_VALUE_SIZE - 1,
	    CS_PRINT, "printable ASCII, at most 255 bytes", 0),
	K_STRINGS(av_authz_claim, contains_any, av_authz_strings, 1,
	    AV_AUTHZ_VALUE_SIZE - 1, CS_PRINT, "values of printable ASCII, "
	    "at most 255 bytes each"),
	K_END
};

static const struct av_key av_authorizer_keys[] = {
	K_STRING(av_authorizer_config, discovery_url, NULL, 1, 2048, CS_URL,
	    "a URL of printable ASCII without spaces, at most 2048 bytes", 0),
	K_STRINGS(av_authorizer_config, allowed_audiences, av_authz_strings,
	    1, AV_AUTHZ_VALUE_SIZE - 1, CS_PRINT, "audiences of printable "
	    "ASCII, at most 255 bytes each"),
	K_STRINGS(av_authorizer_config, allowed_clients, av_authz_strings,
	    1, AV_AUTHZ_VALUE_SIZE - 1, CS_PRINT, "client ids of printable "
	    "ASCII, at most 255 bytes each"),
	K_STRINGS(av_authorizer_config, allowed_scopes, av_authz_strings,
	    1, AV_AUTHZ_VALUE_SIZE - 1, CS_SCOPE, "scopes of printable ASCII "
	    "without spaces, at most 255 bytes each"),
	K_LIST(av_authorizer_config, required_claims, av_authz_claims,
	    av_authz_claim_keys),
	K_INT(av_authorizer_config, jwks_ttl_seconds, "3600", 1, 86400, 0),
	K_INT(av_authorizer_config, jwks_refresh_min_seconds, "30", 1, 3600,
	    0),
	K_INT(av_authorizer_config, jwks_max_stale_seconds, "86400", 1,
	    604800, 0),
	K_END
};

static const struct av_key av_policy_keys[] = {
	K_PATH(av_policy_config, dir, NULL, 0),
	K_END
};

/* The default list is default_principals(). */
static const struct av_key av_principal_keys[] = {
	K_STRING(av_principal, name, NULL, 1, 64, CS_NAME,
	    "a name of [A-Za-z0-9._-], at most 64 bytes", F_REQUIRED),
	K_ENUM(av_principal, kind, enum av_principal_kind, "caller",
	    av_principal_kinds, 0),
	K_UIDS(av_principal, uids, NULL),
	K_GIDS(av_principal, gids, NULL),
	K_STRINGS(av_principal, subjects, av_subject_list, 1,
	    AV_SUBJECT_SIZE - 1, CS_PRINT, "certificate subjects in RFC 2253 "
	    "form, such as CN=agent-7,O=Acme Corp (printable ASCII, at most "
	    "255 bytes each)"),
	K_TAGS(av_principal, tags),
	K_STRINGS(av_principal, policies, av_policy_names, 1,
	    AV_POLICY_NAME_SIZE - 1, CS_NAME, "policy names of "
	    "[A-Za-z0-9._-], at most 128 bytes each"),
	K_END
};

static const struct av_key av_audit_keys[] = {
	K_INT(av_audit_config, checkpoint_records, "1000", 1, 1000000, 0),
	K_INT(av_audit_config, checkpoint_seconds, "60", 1, 86400, 0),
	K_END
};

static const struct av_key av_quotas_keys[] = {
	K_INT(av_quotas_config, workload_identities, "1000", 1, 1000000, 0),
	K_INT(av_quotas_config, api_key_providers, "50", 1, 100000, 0),
	K_INT(av_quotas_config, oauth2_providers, "50", 1, 100000, 0),
	K_END
};

static const struct av_key av_log_keys[] = {
	K_ENUM(av_log_config, level, enum av_log_level, "info",
	    av_log_levels, 0),
	K_END
};

static const struct av_key av_root_keys[] = {
	K_BLOCK(av_config, appliance, struct av_appliance_config,
	    av_appliance_keys),
	K_BLOCK(av_config, paths, struct av_paths_config, av_paths_keys),
	K_BLOCK(av_config, listen, struct av_listen_config, av_listen_keys),
	K_BLOCK(av_config, hsm, struct av_hsm_config, av_hsm_keys),
	K_BLOCK(av_config, vault, struct av_vault_config, av_vault_keys),
	K_BLOCK(av_config, tokens, struct av_tokens_config, av_tokens_keys),
	K_BLOCK(av_config, limits, struct av_limits_config, av_limits_keys),
	K_BLOCK(av_config, sandbox, struct av_sandbox_config,
	    av_sandbox_keys),
	K_BLOCK(av_config, outbound, struct av_outbound_config,
	    av_outbound_keys),
	K_BLOCK(av_config, agent_tokens, struct av_agent_tokens_config,
	    av_agent_tokens_keys),
	K_BLOCK(av_config, oauth, struct av_oauth_config, av_oauth_keys),
	K_BLOCK(av_config, authorizer, struct av_authorizer_config,
	    av_authorizer_keys),
	K_BLOCK(av_config, policy, struct av_policy_config, av_policy_keys),
	K_LIST(av_config, principals, av_principals_config,
	    av_principal_keys),
	K_BLOCK(av_config, audit, struct av_audit_config, av_audit_keys),
	K_BLOCK(av_config, quotas, struct av_quotas_config, av_quotas_keys),
	K_BLOCK(av_config, log, struct av_log_config, av_log_keys),
	K_END
};

/* Paths whose default is a file in a directory that is itself set. */
static const struct av_derived {
	const char	*key;
	size_t		 off;
	const char	*dir_key;
	size_t		 dir_off;
	const char	*file;
} av_derived[] = {
	{ "listen.admin_socket.path",
	  offsetof(struct av_config, listen.admin_socket.path),
	  "paths.run_dir", offsetof(struct av_config, paths.run_dir),
	  "admin.sock" },
	{ "listen.agent_socket.path",
	  offsetof(struct av_config, listen.agent_socket.path),
	  "paths.run_dir", offsetof(struct av_config, paths.run_dir),
	  "agent.sock" },
	{ "hsm.tls_cert", offsetof(struct av_config, hsm.tls_cert),
	  "paths.state_dir", offsetof(struct av_config, paths.state_dir),
	  "tls.pem" },
	{ "hsm.ca_cert", offsetof(struct av_config, hsm.ca_cert),
	  "paths.state_dir", offsetof(struct av_config, paths.state_dir),
	  "ca.pem" },
};
#define AV_NDERIVED	(sizeof(av_derived) / sizeof(av_derived[0]))

/* ---- parser state and errors ------------------------------------------ */

struct av_rec {
	char		path[AV_KEYPATH_MAX];
	yaml_mark_t	key;
	yaml_mark_t	val;
};

struct av_ctx {
	const char		*name;
	const unsigned char	*text;
	size_t			 len;
	char			*err;
	size_t			 errlen;
	bool			 failed;
	bool			 defaults;	/* applying defaults */
	struct av_config	*cfg;

	yaml_parser_t		 p;
	bool			 have_p;
	yaml_event_t		 ev;
	bool			 have_ev;
	yaml_mark_t		 root;		/* the top-level mapping */

	struct av_rec		 recs[AV_RECS_MAX];
	size_t			 nrecs;
};

/* A scalar to store: its text (NUL-terminated at len), style and mark. */
struct av_scalar {
	const char	*s;
	size_t		 len;
	bool		 plain;
	yaml_mark_t	 mark;
};

static int	 fail(struct av_ctx *, const yaml_mark_t *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/*
 * Record the first error as "NAME:LINE:COL: message" (or "NAME: message"
 * without a mark) and return -1.  Marks are 0-based, messages 1-based.
 */
static int
fail(struct av_ctx *c, const yaml_mark_t *m, const char *fmt, ...)
{
	char msg[AV_MSG_MAX];
	va_list ap;

	/* The built-in defaults are checked by the same code: a bug. */
	if (c->defaults)
		abort();
	if (c->failed)
		return -1;
	c->failed = true;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->errlen == 0)
		return -1;
	if (m != NULL)
		(void)snprintf(c->err, c->errlen, "%s:%zu:%zu: %s", c->name,
		    m->line + 1, m->column + 1, msg);
	else
		(void)snprintf(c->err, c->errlen, "%s: %s", c->name, msg);
	return -1;
}

/*
 * Text from the file, fit to be quoted in a message: printable ASCII,
 * other bytes as '?', at most AV_SHOW_MAX bytes then "...".
 */
static const char *
show(char *buf, size_t size, const char *s, size_t len)
{
	size_t i, max = AV_SHOW_MAX;

	if (size < 4)
		abort();
	if (max > size - 4)
		max = size - 4;		/* room for "..." and the NUL */
	for (i = 0; i < len && i < max; i++)
		buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (len > max) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

/* libyaml's problem text and mark. */
static int
yaml_fail(struct av_ctx *c)
{
	const yaml_parser_t *p = &c->p;
	const char *problem = p->problem != NULL ? p->problem : "syntax error";
	yaml_mark_t m;
	size_t i, end;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return fail(c, NULL, "out of memory");
	case YAML_READER_ERROR:
		/* Only a byte offset: count lines and characters up to it. */
		memset(&m, 0, sizeof(m));
		end = p->problem_offset < c->len ? p->problem_offset : c->len;
		for (i = 0; i < end; i++) {
			if (c->text[i] == '\n' || (c->text[i] == '\r' &&
			    (i + 1 == c->len || c->text[i + 1] != '\n'))) {
				m.line++;
				m.column = 0;
			} else if ((c->text[i] & 0xc0) != 0x80)
				m.column++;
		}
		if (p->problem_value != -1)
			return fail(c, &m, "%s (0x%02x)", problem,
			    (unsigned int)p->problem_value);
		return fail(c, &m, "%s", problem);
	default:
		if (p->context != NULL)
			return fail(c, &p->problem_mark, "%s (%s at %zu:%zu)",
			    problem, p->context, p->context_mark.line + 1,
			    p->context_mark.column + 1);
		return fail(c, &p->problem_mark, "%s", problem);
	}
}

static int
parser_open(struct av_ctx *c)
{
	if (!yaml_parser_initialize(&c->p))
		return fail(c, NULL, "out of memory");
	c->have_p = true;
	yaml_parser_set_encoding(&c->p, YAML_UTF8_ENCODING);
	yaml_parser_set_input_string(&c->p, c->text, c->len);
	return 0;
}

static void
parser_close(struct av_ctx *c)
{
	if (c->have_ev)
		yaml_event_delete(&c->ev);
	c->have_ev = false;
	if (c->have_p)
		yaml_parser_delete(&c->p);
	c->have_p = false;
}

/* The next event into c->ev; the previous one is freed. */
static int
next(struct av_ctx *c)
{
	if (c->have_ev)
		yaml_event_delete(&c->ev);
	c->have_ev = false;
	if (!yaml_parser_parse(&c->p, &c->ev))
		return yaml_fail(c);
	c->have_ev = true;
	return 0;
}

/* ---- positions -------------------------------------------------------- */

static const struct av_rec *
rec_find(const struct av_ctx *c, const char *path)
{
	size_t i;

	for (i = 0; i < c->nrecs; i++)
		if (strcmp(c->recs[i].path, path) == 0)
			return &c->recs[i];
	return NULL;
}

static bool
given(const struct av_ctx *c, const char *path)
{
	return rec_find(c, path) != NULL;
}

/*
 * Where to point for path: its value if it is in the file, else the key
 * of its nearest ancestor that is, else the top-level mapping.
 */
static const yaml_mark_t *
where(const struct av_ctx *c, const char *path)
{
	char buf[AV_KEYPATH_MAX];
	const struct av_rec *r;
	char *dot;

	if ((r = rec_find(c, path)) != NULL)
		return &r->val;
	(void)snprintf(buf, sizeof(buf), "%s", path);
	while ((dot = strrchr(buf, '.')) != NULL) {
		*dot = '\0';
		if ((r = rec_find(c, buf)) != NULL)
			return &r->key;
	}
	return &c->root;
}

/* ---- values ----------------------------------------------------------- */

/* What a key expects, for messages: "an integer from 1 to 65535". */
static const char *
describe(const struct av_key *k, char *buf, size_t size)
{
	size_t i, n;

	switch (k->type) {
	case T_BLOCK:
		return "a mapping";
	case T_STRING:
		return k->desc;
	case T_PATH:
		return "an absolute path";
	case T_BOOL:
		return "true or false";
	case T_INT:
		(void)snprintf(buf, size, "an integer from %lld to %lld",
		    k->min, k->max);
		return buf;
	case T_MODE:
		return "a file mode in octal from 0000 to 0777, such as 0660";
	case T_ENUM:
		n = (size_t)snprintf(buf, size, "one of:");
		for (i = 0; k->names[i] != NULL && n < size; i++)
			n += (size_t)snprintf(buf + n, size - n, "%s %s",
			    i == 0 ? "" : ",", k->names[i]);
		return buf;
	case T_URI:
		return "a pkcs11: URI (RFC 7512)";
	case T_PIN:
		return "a PIN source: file:/path or env:NAME";
	case T_ADDR:
		return "an IPv4 or IPv6 address";
	case T_USER:
		return "a user name";
	case T_GROUP:
		return "a group name or a gid";
	case T_UIDS:
		return "a list of user names or uids";
	case T_GIDS:
		return "a list of group names or gids";
	case T_LIST:
		return "a list of mappings";
	case T_STRINGS:
		(void)snprintf(buf, size, "a list of %s", k->desc);
		return buf;
	case T_TAGS:
		return "a mapping of tag keys to tag values";
	case T_END:
		break;
	}
	return "?";
}

static int
expected(struct av_ctx *c, const yaml_mark_t *m, const char *path,
    const struct av_key *k)
{
	char buf[256];

	return fail(c, m, "%s: expected %s", path, describe(k, buf,
	    sizeof(buf)));
}

/* A plain empty, ~ or null scalar: YAML's null. */
static bool
is_null(const struct av_scalar *v)
{
	return v->plain && (v->len == 0 || strcmp(v->s, "~") == 0 ||
	    strcmp(v->s, "null") == 0 || strcmp(v->s, "Null") == 0 ||
	    strcmp(v->s, "NULL") == 0);
}

/* Non-empty, at most max bytes, no control characters (nor NUL). */
static int
check_text(struct av_ctx *c, const char *path, const struct av_scalar *v,
    size_t max)
{
	size_t i;

	if (v->len == 0 || is_null(v))
		return fail(c, &v->mark, "%s: must not be empty", path);
	if (v->len > max)
		return fail(c, &v->mark, "%s: longer than %zu bytes", path,
		    max);
	for (i = 0; i < v->len; i++) {
		unsigned char ch = (unsigned char)v->s[i];

		if (ch < 0x20 || ch == 0x7f)
			return fail(c, &v->mark,
			    "%s: contains a control character", path);
	}
	return 0;
}

/* An absolute path with no ".." component. */
static bool
path_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || s[0] != '/')
		return false;
	for (i = 0; i + 1 < len; i++)
		if (s[i] == '/' && s[i + 1] == '.' && i + 2 < len &&
		    s[i + 2] == '.' && (i + 3 == len || s[i + 3] == '/'))
			return false;
	return true;
}

/*
 * 1: decimal digits without a leading zero, value in *n; 0: not all
 * digits; -1: digits, but a leading zero or too many of them.
 */
static int
parse_uint(const char *s, size_t len, unsigned long long *n)
{
	size_t i;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	if ((len > 1 && s[0] == '0') || len > 19)
		return -1;
	*n = 0;
	for (i = 0; i < len; i++)
		*n = *n * 10 + (unsigned long long)(s[i] - '0');
	return 1;
}

/* Copy checked text into a zeroed field (so structs compare). */
static void
store_text(char *dst, size_t size, const struct av_scalar *v)
{
	memset(dst, 0, size);
	memcpy(dst, v->s, v->len);
}

/* 0 found, 1 no such user/group, -1 lookup failed with *e. */
static int
lookup_user(const char *name, uid_t *uid, gid_t *gid, int *e)
{
	struct passwd pw, *res = NULL;
	char *buf = NULL, *nb;
	size_t size = 1024;
	int r;

	for (;;) {
		if ((nb = realloc(buf, size)) == NULL) {
			free(buf);
			*e = ENOMEM;
			return -1;
		}
		buf = nb;
		r = getpwnam_r(name, &pw, buf, size, &res);
		if (r != ERANGE || size >= AV_LOOKUP_BUF_MAX)
			break;
		size *= 2;
	}
	if (r == 0 && res != NULL) {
		*uid = res->pw_uid;
		*gid = res->pw_gid;
		free(buf);
		return 0;
	}
	free(buf);
	if (r == 0 || r == ENOENT || r == ESRCH || r == EBADF || r == EPERM)
		return 1;
	*e = r;
	return -1;
}

static int
lookup_group(const char *name, gid_t *gid, int *e)
{
	struct group gr, *res = NULL;
	char *buf = NULL, *nb;
	size_t size = 1024;
	int r;

	for (;;) {
		if ((nb = realloc(buf, size)) == NULL) {
			free(buf);
			*e = ENOMEM;
			return -1;
		}
		buf = nb;
		r = getgrnam_r(name, &gr, buf, size, &res);
		if (r != ERANGE || size >= AV_LOOKUP_BUF_MAX)
			break;
		size *= 2;
	}
	if (r == 0 && res != NULL) {
		*gid = res->gr_gid;
		free(buf);
		return 0;
	}
	free(buf);
	if (r == 0 || r == ENOENT || r == ESRCH || r == EBADF || r == EPERM)
		return 1;
	*e = r;
	return -1;
}

/*
 * A uid or gid: a plain number, or a name looked up.  is_user picks
 * getpwnam_r or getgrnam_r.
 */
static int
parse_id(struct av_ctx *c, const char *path, const struct av_scalar *v,
    bool is_user, unsigned long long *id)
{
	const char *what = is_user ? "user" : "group";
	char sbuf[AV_SHOW_MAX + 4];
	uid_t uid;
	gid_t gid;
	int r, e = 0;

	r = v->plain ? parse_uint(v->s, v->len, id) : 0;
	if (r != 0) {
		if (r == 1 && *id <= AV_ID_MAX)
			return 0;
		return fail(c, &v->mark, "%s: expected a %s name or a %s "
		    "from 0 to %llu", path, what, is_user ? "uid" : "gid",
		    AV_ID_MAX);
	}
	if (check_text(c, path, v, AV_CONFIG_USER_SIZE - 1) == -1)
		return -1;
	r = is_user ? lookup_user(v->s, &uid, &gid, &e) :
	    lookup_group(v->s, &gid, &e);
	if (r == 1)
		return fail(c, &v->mark, "%s: unknown %s '%s'", path, what,
		    show(sbuf, sizeof(sbuf), v->s, v->len));
	if (r == -1)
		return fail(c, &v->mark, "%s: cannot look up %s '%s': %s",
		    path, what, show(sbuf, sizeof(sbuf), v->s, v->len),
		    strerror(e));
	*id = is_user ? (unsigned long long)uid : (unsigned long long)gid;
	return 0;
}

static int
set_uri(struct av_ctx *c, const struct av_key *k, char *dst, const char *path,
    const struct av_scalar *v)
{
	struct hsm_uri u;
	const char *why = NULL;

	if (check_text(c, path, v, k->size - 1) == -1)
		return -1;
	if (v->len < 7 || memcmp(v->s, "pkcs11:", 7) != 0)
		return fail(c, &v->mark, "%s: expected a pkcs11: URI (RFC "
		    "7512), such as pkcs11:token=agentvault", path);
	if (hsm_uri_parse(v->s, &u, &why) != CKR_OK)
		return fail(c, &v->mark, "%s: bad pkcs11: URI: %s", path,
		    why != NULL ? why : "syntax error");
	if (u.has_module_path || u.has_module_name || u.has_pin_source)
		return fail(c, &v->mark, "%s: module-path, module-name and "
		    "pin-source do not belong in this URI: the module and the "
		    "PIN source have keys of their own", path);
	if ((k->flags & F_URI_TOKEN) &&
	    (u.has_object || u.has_id || u.type != HSM_URI_TYPE_ANY))
		return fail(c, &v->mark, "%s: a token URI must not name an "
		    "object (object=, id=, type=)", path);
	if ((k->flags & (F_URI_PRIVATE | F_URI_SECRET)) &&
	    !u.has_object && !u.has_id)
		return fail(c, &v->mark, "%s: a key URI must name the key "
		    "with object= or id=", path);
	if ((k->flags & F_URI_PRIVATE) && u.type != HSM_URI_TYPE_ANY &&
	    u.type != HSM_URI_TYPE_PRIVATE)
		return fail(c, &v->mark, "%s: names a private key: type= "
		    "must be private or absent", path);
	if ((k->flags & F_URI_SECRET) && u.type != HSM_URI_TYPE_ANY &&
	    u.type != HSM_URI_TYPE_SECRET_KEY)
		return fail(c, &v->mark, "%s: names a secret key: type= "
		    "must be secret-key or absent", path);
	store_text(dst, k->size, v);
	return 0;
}

static int
set_pin(struct av_ctx *c, const struct av_key *k, char *dst, const char *path,
    const struct av_scalar *v)
{
	size_t i;

	if (check_text(c, path, v, k->size - 1) == -1)
		return -1;
	if (v->len >= 5 && memcmp(v->s, "file:", 5) == 0) {
		if (!path_ok(v->s + 5, v->len - 5) ||
		    v->len - 5 > AV_CONFIG_PATH_SIZE - 1)
			return fail(c, &v->mark, "%s: file: needs an absolute "
			    "path without '..', such as "
			    "file:/etc/agentvault/pin", path);
	} else if (v->len >= 4 && memcmp(v->s, "env:", 4) == 0) {
		for (i = 4; i < v->len; i++)
			if (!((v->s[i] >= 'A' && v->s[i] <= 'Z') ||
			    (v->s[i] >= 'a' && v->s[i] <= 'z') ||
			    v->s[i] == '_' ||
			    (i > 4 && v->s[i] >= '0' && v->s[i] <= '9')))
				break;
		if (v->len == 4 || i != v->len ||
		    v->len - 4 > AV_ENV_NAME_MAX)
			return fail(c, &v->mark, "%s: env: needs a variable "
			    "name ([A-Za-z_][A-Za-z0-9_]*), such as "
			    "env:AGENTVAULT_PIN", path);
	} else
		return fail(c, &v->mark, "%s: expected a PIN source, "
		    "file:/path or env:NAME; a PIN itself is refused: this "
		    "file is not secret (it is readable, printed by "
		    "--print-config and kept in backups)", path);
	store_text(dst, k->size, v);
	return 0;
}

static int
set_mode(struct av_ctx *c, const struct av_key *k, mode_t *dst,
    const char *path, const struct av_scalar *v)
{
	const char *s = v->s;
	size_t len = v->len, i;
	unsigned int mode = 0;

	if (len > 2 && s[0] == '0' && s[1] == 'o') {
		s += 2;
		len -= 2;
	}
	if (len == 0 || len > 4)
		return expected(c, &v->mark, path, k);
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '7')
			return expected(c, &v->mark, path, k);
		mode = mode * 8 + (unsigned int)(s[i] - '0');
	}
	if (mode > AV_MODE_MAX)
		return expected(c, &v->mark, path, k);
	*dst = (mode_t)mode;
	return 0;
}

/* One item of a uid or gid list. */
static int
add_id(struct av_ctx *c, const struct av_key *k, void *field,
    const char *path, const struct av_scalar *v)
{
	unsigned long long id;
	size_t i, *n;
	bool is_user = k->type == T_UIDS;

	if (parse_id(c, path, v, is_user, &id) == -1)
		return -1;
	if (is_user) {
		struct av_uid_list *l = field;

		n = &l->n;
		for (i = 0; i < *n; i++)
			if (l->v[i] == (uid_t)id)
				goto dup;
		if (*n == AV_CONFIG_LIST_MAX)
			goto full;
		l->v[(*n)++] = (uid_t)id;
	} else {
		struct av_gid_list *l = field;

		n = &l->n;
		for (i = 0; i < *n; i++)
			if (l->v[i] == (gid_t)id)
				goto dup;
		if (*n == AV_CONFIG_LIST_MAX)
			goto full;
		l->v[(*n)++] = (gid_t)id;
	}
	return 0;
dup:
	return fail(c, &v->mark, "%s: %s %llu is listed twice", path,
	    is_user ? "uid" : "gid", id);
full:
	return fail(c, &v->mark, "%s: more than %d items", path,
	    AV_CONFIG_LIST_MAX);
}

/* One item of a list of strings. */
static int
add_string(struct av_ctx *c, const struct av_key *k, void *field,
    const char *path, const struct av_scalar *v)
{
	char sbuf[AV_SHOW_MAX + 4];
	char *items = (char *)field + k->item_off;
	size_t i, *n = (size_t *)((char *)field + k->count_off);

	if (check_text(c, path, v, (size_t)k->max) == -1)
		return -1;
	if (v->len < (size_t)k->min || strspn(v->s, k->charset) != v->len)
		return expected(c, &v->mark, path, k);
	for (i = 0; i < *n; i++)
		if (strcmp(items + i * k->item_size, v->s) == 0)
			return fail(c, &v->mark, "%s: '%s' is listed twice",
			    path, show(sbuf, sizeof(sbuf), v->s, v->len));
	if (*n == k->cap)
		return fail(c, &v->mark, "%s: more than %zu items", path,
		    k->cap);
	store_text(items + (*n)++ * k->item_size, k->item_size, v);
	return 0;
}

/* Check a scalar against k and store it into the field at base + k->off. */
static int
set_scalar(struct av_ctx *c, const struct av_key *k, void *base,
    const char *path, const struct av_scalar *v)
{
	char *field = (char *)base + k->off;
	char sbuf[AV_SHOW_MAX + 4];
	unsigned long long n;
	size_t i;
	int r, e = 0;

	switch (k->type) {
	case T_STRING:
		if (check_text(c, path, v, (size_t)k->max) == -1)
			return -1;
		if (v->len < (size_t)k->min ||
		    strspn(v->s, k->charset) != v->len)
			return expected(c, &v->mark, path, k);
		store_text(field, k->size, v);
		return 0;
	case T_PATH:
		if (check_text(c, path, v, k->size - 1) == -1)
			return -1;
		if (!path_ok(v->s, v->len))
			return fail(c, &v->mark, "%s: expected an absolute "
			    "path without '..'", path);
		store_text(field, k->size, v);
		return 0;
	case T_BOOL:
		if (v->plain && strcmp(v->s, "true") == 0)
			*(bool *)field = true;
		else if (v->plain && strcmp(v->s, "false") == 0)
			*(bool *)field = false;
		else
			return expected(c, &v->mark, path, k);
		return 0;
	case T_INT:
		if (!v->plain || parse_uint(v->s, v->len, &n) != 1 ||
		    n < (unsigned long long)k->min ||
		    n > (unsigned long long)k->max)
			return expected(c, &v->mark, path, k);
		*(unsigned int *)field = (unsigned int)n;
		return 0;
	case T_MODE:
		return set_mode(c, k, (mode_t *)field, path, v);
	case T_ENUM:
		for (i = 0; k->names[i] != NULL; i++)
			if (strcmp(v->s, k->names[i]) == 0 &&
			    strlen(k->names[i]) == v->len) {
				int idx = (int)i;

				memcpy(field, &idx, sizeof(idx));
				return 0;
			}
		return expected(c, &v->mark, path, k);
	case T_URI:
		return set_uri(c, k, field, path, v);
	case T_PIN:
		return set_pin(c, k, field, path, v);
	case T_ADDR: {
		unsigned char a[sizeof(struct in6_addr)];

		if (check_text(c, path, v, k->size - 1) == -1)
			return -1;
		if (inet_pton(AF_INET, v->s, a) != 1 &&
		    inet_pton(AF_INET6, v->s, a) != 1)
			return fail(c, &v->mark, "%s: expected an IPv4 or IPv6 "
			    "address (not a host name)", path);
		store_text(field, k->size, v);
		return 0;
	}
	case T_USER: {
		struct av_user *u = (struct av_user *)field;

		if (check_text(c, path, v, sizeof(u->name) - 1) == -1)
			return -1;
		memset(u, 0, sizeof(*u));
		memcpy(u->name, v->s, v->len);
		if (c->defaults)
			return 0;	/* the daemon resolves it */
		r = lookup_user(u->name, &u->uid, &u->gid, &e);
		if (r == 1)
			return fail(c, &v->mark, "%s: unknown user '%s'", path,
			    show(sbuf, sizeof(sbuf), v->s, v->len));
		if (r == -1)
			return fail(c, &v->mark, "%s: cannot look up user "
			    "'%s': %s", path, show(sbuf, sizeof(sbuf), v->s,
			    v->len), strerror(e));
		if (u->uid == 0)
			return fail(c, &v->mark, "%s: '%s' has uid 0: the "
			    "worker must drop to an unprivileged user", path,
			    show(sbuf, sizeof(sbuf), v->s, v->len));
		u->resolved = true;
		return 0;
	}
	case T_GROUP: {
		struct av_group *g = (struct av_group *)field;

		if (parse_id(c, path, v, false, &n) == -1)
			return -1;
		g->set = true;
		g->gid = (gid_t)n;
		return 0;
	}
	case T_UIDS:
	case T_GIDS:
		/* One more item: of the list in the file, or a default. */
		return add_id(c, k, field, path, v);
	case T_STRINGS:
		return add_string(c, k, field, path, v);
	case T_BLOCK:
	case T_LIST:
	case T_TAGS:
	case T_END:
		break;
	}
	return expected(c, &v->mark, path, k);
}

/* ---- pass 1: structure ------------------------------------------------ */

static int
check_node(struct av_ctx *c, const yaml_char_t *anchor, const yaml_char_t *tag)
{
	if (anchor != NULL)
		return fail(c, &c->ev.start_mark, "anchors and aliases are "
		    "not allowed");
	if (tag != NULL)
		return fail(c, &c->ev.start_mark, "tags are not allowed");
	return 0;
}

static int
check_structure(struct av_ctx *c)
{
	struct {
		bool	mapping;
		size_t	n;		/* children so far */
	} st[AV_CONFIG_DEPTH_MAX + 1];
	size_t depth = 0, ndocs = 0;
	yaml_event_type_t t;

	if (parser_open(c) == -1)
		return -1;
	for (;;) {
		if (next(c) == -1)
			return -1;
		t = c->ev.type;
		/* A new node: is it a key, and how many items so far? */
		if (depth > 0 && (t == YAML_SCALAR_EVENT ||
		    t == YAML_SEQUENCE_START_EVENT ||
		    t == YAML_MAPPING_START_EVENT)) {
			if (st[depth].mapping && st[depth].n % 2 == 0 &&
			    t != YAML_SCALAR_EVENT)
				return fail(c, &c->ev.start_mark,
				    "a key must be a string");
			if (!st[depth].mapping &&
			    st[depth].n == AV_CONFIG_LIST_MAX)
				return fail(c, &c->ev.start_mark,
				    "a list of more than %d items",
				    AV_CONFIG_LIST_MAX);
			st[depth].n++;
		}
		switch (t) {
		case YAML_STREAM_START_EVENT:
		case YAML_DOCUMENT_END_EVENT:
		case YAML_NO_EVENT:
			break;
		case YAML_STREAM_END_EVENT:
			if (ndocs == 0) {
				yaml_mark_t m;

				memset(&m, 0, sizeof(m));
				return fail(c, &m, "empty configuration: "
				    "expected a mapping (hsm.pin at least)");
			}
			return 0;
		case YAML_DOCUMENT_START_EVENT:
			if (ndocs++ > 0)
				return fail(c, &c->ev.start_mark, "more than "
				    "one YAML document");
			if (c->ev.data.document_start.tag_directives.start !=
			    c->ev.data.document_start.tag_directives.end)
				return fail(c, &c->ev.start_mark, "%%TAG "
				    "directives are not allowed");
			break;
		case YAML_ALIAS_EVENT:
			return fail(c, &c->ev.start_mark, "aliases are not "
			    "allowed");
		case YAML_SCALAR_EVENT:
			if (check_node(c, c->ev.data.scalar.anchor,
			    c->ev.data.scalar.tag) == -1)
				return -1;
			if (c->ev.data.scalar.length > AV_CONFIG_STRING_MAX)
				return fail(c, &c->ev.start_mark, "a string "
				    "longer than %d bytes",
				    AV_CONFIG_STRING_MAX);
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (t == YAML_SEQUENCE_START_EVENT ?
			    check_node(c, c->ev.data.sequence_start.anchor,
			    c->ev.data.sequence_start.tag) == -1 :
			    check_node(c, c->ev.data.mapping_start.anchor,
			    c->ev.data.mapping_start.tag) == -1)
				return -1;
			if (depth == AV_CONFIG_DEPTH_MAX)
				return fail(c, &c->ev.start_mark, "nested "
				    "deeper than %d levels",
				    AV_CONFIG_DEPTH_MAX);
			depth++;
			st[depth].mapping = t == YAML_MAPPING_START_EVENT;
			st[depth].n = 0;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			if (depth > 0)
				depth--;
			break;
		}
	}
}

/* ---- pass 2: the schema ----------------------------------------------- */

static const struct av_key *
key_find(const struct av_key *keys, const char *s, size_t len)
{
	for (; keys->name != NULL; keys++)
		if (strlen(keys->name) == len &&
		    memcmp(keys->name, s, len) == 0)
			return keys;
	return NULL;
}

static int parse_block(struct av_ctx *, const struct av_key *, void *,
    const char *);
static void apply_defaults(struct av_ctx *, const struct av_key *, void *);

/* "path[i]", the path of a list item; the schema's paths are short. */
static void
item_path(char *dst, size_t size, const char *path, size_t i)
{
	int r = snprintf(dst, size, "%s[%zu]", path, i);

	if (r < 0 || (size_t)r >= size)
		abort();
}

/* c->ev is an item of list k (at field): a mapping, the next item. */
static int
parse_item(struct av_ctx *c, const struct av_key *k, void *field,
    const char *path)
{
	char ipath[AV_KEYPATH_MAX];
	size_t *n = (size_t *)((char *)field + k->count_off);
	void *item = (char *)field + k->item_off + *n * k->item_size;
	struct av_rec *r;

	if (c->ev.type != YAML_MAPPING_START_EVENT)
		return expected(c, &c->ev.start_mark, path, k);
	if (*n == k->cap)
		return fail(c, &c->ev.start_mark, "%s: more than %zu items",
		    path, k->cap);
	if (c->nrecs == AV_RECS_MAX)
		return fail(c, &c->ev.start_mark, "too many keys");
	item_path(ipath, sizeof(ipath), path, (*n)++);
	/* Errors about the item as a whole point at its start. */
	r = &c->recs[c->nrecs++];
	(void)snprintf(r->path, sizeof(r->path), "%s", ipath);
	r->key = r->val = c->ev.start_mark;
	apply_defaults(c, k->sub, item);
	return parse_block(c, k->sub, item, ipath);
}

/* c->ev is the value of a T_TAGS key: a mapping of tag keys to values. */
static int
parse_tags(struct av_ctx *c, const struct av_key *k, struct av_tag_list *l,
    const char *path)
{
	static const char alphabet[] = "[A-Za-z0-9._:/=+@-], space and tab";
	yaml_mark_t marks[AV_PRINCIPAL_TAGS_MAX];
	char tpath[AV_KEYPATH_MAX + AV_SHOW_MAX + 8], sbuf[AV_SHOW_MAX + 4];
	struct av_tag *t;
	struct av_scalar v;

	if (c->ev.type != YAML_MAPPING_START_EVENT)
		return expected(c, &c->ev.start_mark, path, k);
	memset(l, 0, sizeof(*l));
	for (;;) {
		if (next(c) == -1)
			return -1;
		if (c->ev.type == YAML_MAPPING_END_EVENT)
			return 0;
		if (c->ev.type != YAML_SCALAR_EVENT)
			return fail(c, &c->ev.start_mark, "a key must be a "
			    "string");
		v.s = (const char *)c->ev.data.scalar.value;
		v.len = c->ev.data.scalar.length;
		v.mark = c->ev.start_mark;
		(void)snprintf(tpath, sizeof(tpath), "%s.%s", path,
		    show(sbuf, sizeof(sbuf), v.s, v.len));
		/* Policies compare tag keys ignoring case: so do we. */
		for (t = l->v; t < l->v + l->n; t++)
			if (strlen(t->key) == v.len &&
			    strncasecmp(t->key, v.s, v.len) == 0)
				return fail(c, &v.mark, "duplicate key '%s' in "
				    "'%s' (first at %zu:%zu; tag keys compare "
				    "ignoring case)", sbuf, path,
				    marks[t - l->v].line + 1,
				    marks[t - l->v].column + 1);
		if (v.len >= 4 && strncasecmp(v.s, "aws:", 4) == 0)
			return fail(c, &v.mark, "%s: tag keys starting with "
			    "aws: are reserved", tpath);
		if (!av_tag_key_valid(v.s, v.len))
			return fail(c, &v.mark, "%s: expected a tag key: 1 to "
			    "128 bytes of %s", tpath, alphabet);
		if (l->n == AV_PRINCIPAL_TAGS_MAX)
			return fail(c, &v.mark, "%s: more than %d tags", path,
			    AV_PRINCIPAL_TAGS_MAX);
		t = &l->v[l->n];
		marks[l->n] = v.mark;
		memcpy(t->key, v.s, v.len);
		if (next(c) == -1)
			return -1;
		if (c->ev.type == YAML_SCALAR_EVENT) {
			v.s = (const char *)c->ev.data.scalar.value;
			v.len = c->ev.data.scalar.length;
			v.plain = c->ev.data.scalar.style ==
			    YAML_PLAIN_SCALAR_STYLE;
		}
		/* A plain empty value is YAML's null; none is "". */
		if (c->ev.type != YAML_SCALAR_EVENT || is_null(&v) ||
		    !av_tag_value_valid(v.s, v.len))
			return fail(c, &c->ev.start_mark, "%s: expected a tag "
			    "value: at most 256 bytes of %s (\"\" for none)",
			    tpath, alphabet);
		memcpy(t->value, v.s, v.len);
		l->n++;
	}
}

/* c->ev is the value of key k; store it. */
static int
parse_value(struct av_ctx *c, const struct av_key *k, void *base,
    const char *path)
{
	yaml_event_t *ev = &c->ev;
	struct av_scalar v;
	void *field = (char *)base + k->off;

	switch (k->type) {
	case T_BLOCK:
		if (ev->type == YAML_SCALAR_EVENT) {
			v.s = (const char *)ev->data.scalar.value;
			v.len = ev->data.scalar.length;
			v.plain = ev->data.scalar.style ==
			    YAML_PLAIN_SCALAR_STYLE;
			if (is_null(&v))
				return fail(c, &ev->start_mark, "%s: expected "
				    "a mapping, not an empty value (remove the "
				    "key, or write {})", path);
		}
		if (ev->type != YAML_MAPPING_START_EVENT)
			return expected(c, &ev->start_mark, path, k);
		if (k->present_off != NO_PRESENT)
			*(bool *)((char *)field + k->present_off) = true;
		return parse_block(c, k->sub, field, path);
	case T_UIDS:
	case T_GIDS:
	case T_STRINGS:
		if (ev->type != YAML_SEQUENCE_START_EVENT)
			return expected(c, &ev->start_mark, path, k);
		/* The list replaces the default. */
		memset(field, 0, k->size);
		for (;;) {
			if (next(c) == -1)
				return -1;
			if (ev->type == YAML_SEQUENCE_END_EVENT)
				return 0;
			if (ev->type != YAML_SCALAR_EVENT)
				return expected(c, &ev->start_mark, path, k);
			v.s = (const char *)ev->data.scalar.value;
			v.len = ev->data.scalar.length;
			v.plain = ev->data.scalar.style ==
			    YAML_PLAIN_SCALAR_STYLE;
			v.mark = ev->start_mark;
			if (set_scalar(c, k, base, path, &v) == -1)
				return -1;
		}
	case T_TAGS:
		return parse_tags(c, k, field, path);
	case T_LIST:
		if (ev->type != YAML_SEQUENCE_START_EVENT)
			return expected(c, &ev->start_mark, path, k);
		memset(field, 0, k->size);
		for (;;) {
			if (next(c) == -1)
				return -1;
			if (ev->type == YAML_SEQUENCE_END_EVENT)
				return 0;
			if (parse_item(c, k, field, path) == -1)
				return -1;
		}
	default:
		if (ev->type != YAML_SCALAR_EVENT)
			return expected(c, &ev->start_mark, path, k);
		v.s = (const char *)ev->data.scalar.value;
		v.len = ev->data.scalar.length;
		v.plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		v.mark = ev->start_mark;
		return set_scalar(c, k, base, path, &v);
	}
}

/* c->ev was the MAPPING_START of a block with these keys at base. */
static int
parse_block(struct av_ctx *c, const struct av_key *keys, void *base,
    const char *prefix)
{
	char path[AV_KEYPATH_MAX], sbuf[AV_SHOW_MAX + 4];
	const struct av_key *k;
	const struct av_rec *first;
	struct av_rec *r;
	uint64_t seen = 0;
	yaml_mark_t km;
	size_t idx;

	for (;;) {
		if (next(c) == -1)
			return -1;
		if (c->ev.type == YAML_MAPPING_END_EVENT)
			return 0;
		if (c->ev.type != YAML_SCALAR_EVENT)
			return fail(c, &c->ev.start_mark, "a key must be a "
			    "string");
		k = key_find(keys, (const char *)c->ev.data.scalar.value,
		    c->ev.data.scalar.length);
		if (k == NULL && prefix[0] == '\0')
			return fail(c, &c->ev.start_mark, "unknown key '%s' at "
			    "the top level", show(sbuf, sizeof(sbuf),
			    (const char *)c->ev.data.scalar.value,
			    c->ev.data.scalar.length));
		if (k == NULL)
			return fail(c, &c->ev.start_mark, "unknown key '%s' in "
			    "'%s'", show(sbuf, sizeof(sbuf),
			    (const char *)c->ev.data.scalar.value,
			    c->ev.data.scalar.length), prefix);
		(void)snprintf(path, sizeof(path), "%s%s%s", prefix,
		    prefix[0] != '\0' ? "." : "", k->name);
		idx = (size_t)(k - keys);
		if (seen & ((uint64_t)1 << idx)) {
			first = rec_find(c, path);
			return fail(c, &c->ev.start_mark, "duplicate key '%s' "
			    "in '%s' (first at %zu:%zu)", k->name,
			    prefix[0] != '\0' ? prefix : "the top level",
			    first != NULL ? first->key.line + 1 : 0,
			    first != NULL ? first->key.column + 1 : 0);
		}
		seen |= (uint64_t)1 << idx;
		km = c->ev.start_mark;
		if (next(c) == -1)
			return -1;
		if (c->nrecs == AV_RECS_MAX)
			return fail(c, &km, "too many keys");
		r = &c->recs[c->nrecs++];
		(void)snprintf(r->path, sizeof(r->path), "%s", path);
		r->key = km;
		/* A block is pointed at by its key, a value by itself. */
		r->val = k->type == T_BLOCK ? km : c->ev.start_mark;
		if (parse_value(c, k, base, path) == -1)
			return -1;
	}
}

static int
parse_document(struct av_ctx *c)
{
	if (parser_open(c) == -1)
		return -1;
	if (next(c) == -1 || next(c) == -1)	/* stream, document start */
		return -1;
	if (next(c) == -1)
		return -1;
	if (c->ev.type != YAML_MAPPING_START_EVENT)
		return fail(c, &c->ev.start_mark, "the top level must be a "
		    "mapping of sections (appliance, paths, listen, hsm, ...)");
	c->root = c->ev.start_mark;
	return parse_block(c, av_root_keys, c->cfg, "");
}

/* ---- after parsing ---------------------------------------------------- */

/* Required keys of every block that is there. */
static int
check_required(struct av_ctx *c, const struct av_key *keys, const void *base,
    const char *prefix)
{
	char path[AV_KEYPATH_MAX], ipath[AV_KEYPATH_MAX], buf[256];
	const struct av_key *k;
	const char *field;
	size_t i, n;

	for (k = keys; k->name != NULL; k++) {
		(void)snprintf(path, sizeof(path), "%s%s%s", prefix,
		    prefix[0] != '\0' ? "." : "", k->name);
		field = (const char *)base + k->off;
		if (k->type == T_LIST) {
			/* A default list is complete. */
			if (!given(c, path))
				continue;
			memcpy(&n, field + k->count_off, sizeof(n));
			for (i = 0; i < n; i++) {
				item_path(ipath, sizeof(ipath), path, i);
				if (check_required(c, k->sub, field +
				    k->item_off + i * k->item_size,
				    ipath) == -1)
					return -1;
			}
		} else if (k->type == T_BLOCK) {
			if (k->present_off != NO_PRESENT &&
			    !*(const bool *)(field + k->present_off))
				continue;
			if (check_required(c, k->sub, field, path) == -1)
				return -1;
		} else if ((k->flags & F_REQUIRED) && !given(c, path))
			return fail(c, where(c, path), "%s is required (%s)",
			    path, describe(k, buf, sizeof(buf)));
	}
	return 0;
}

/* "dir/file", without doubling a trailing slash of dir. */
static bool
join(char *dst, size_t size, const char *dir, const char *file)
{
	size_t n = strlen(dir);
	int r;

	memset(dst, 0, size);
	r = snprintf(dst, size, "%s%s%s", dir,
	    n > 0 && dir[n - 1] == '/' ? "" : "/", file);
	if (r < 0 || (size_t)r >= size) {
		memset(dst, 0, size);
		return false;
	}
	return true;
}

static int
derive(struct av_ctx *c)
{
	const struct av_derived *d;
	char *cfg = (char *)c->cfg;
	size_t i;

	for (i = 0; i < AV_NDERIVED; i++) {
		d = &av_derived[i];
		if (given(c, d->key))
			continue;
		if (!join(cfg + d->off, AV_CONFIG_PATH_SIZE, cfg + d->dir_off,
		    d->file))
			return fail(c, where(c, d->dir_key), "%s: too long "
			    "to hold %s (%s)", d->dir_key, d->key, d->file);
	}
	return 0;
}

static int
check_socket_path(struct av_ctx *c, const char *path, const char *key)
{
	struct sockaddr_un sa;

	if (strlen(path) < sizeof(sa.sun_path))
		return 0;
	if (!given(c, key))
		return fail(c, where(c, "paths.run_dir"), "paths.run_dir: too "
		    "long for %s: a Unix socket path holds at most %zu bytes",
		    key, sizeof(sa.sun_path) - 1);
	return fail(c, where(c, key), "%s: longer than %zu bytes, the most a "
	    "Unix socket path holds", key, sizeof(sa.sun_path) - 1);
}

/*
 * The first uid, gid or subject that principals a and b share: "uid",
 * "gid" or "subject" in *kind, and the id as text in id; false if none.
 */
static bool
shared_id(const struct av_principal *a, const struct av_principal *b,
    const char **kind, char *id, size_t size)
{
	char sbuf[AV_SHOW_MAX + 4];
	size_t i, j;

	for (i = 0; i < a->uids.n; i++)
		for (j = 0; j < b->uids.n; j++)
			if (a->uids.v[i] == b->uids.v[j]) {
				*kind = "uid";
				(void)snprintf(id, size, "%u",
				    (unsigned int)a->uids.v[i]);
				return true;
			}
	for (i = 0; i < a->gids.n; i++)
		for (j = 0; j < b->gids.n; j++)
			if (a->gids.v[i] == b->gids.v[j]) {
				*kind = "gid";
				(void)snprintf(id, size, "%u",
				    (unsigned int)a->gids.v[i]);
				return true;
			}
	for (i = 0; i < a->subjects.n; i++)
		for (j = 0; j < b->subjects.n; j++)
			if (strcmp(a->subjects.v[i], b->subjects.v[j]) == 0) {
				*kind = "subject";
				(void)snprintf(id, size, "'%s'", show(sbuf,
				    sizeof(sbuf), a->subjects.v[i],
				    strlen(a->subjects.v[i])));
				return true;
			}
	return false;
}

/* Principals: some ids each, unique names, and one principal per id. */
static int
check_principals(struct av_ctx *c)
{
	const struct av_principals_config *ps = &c->cfg->principals;
	const struct av_principal *p;
	char path[40], at[AV_KEYPATH_MAX], id[AV_SHOW_MAX + 8];
	const char *kind;
	size_t i, j;

	for (i = 0; i < ps->n; i++) {
		p = &ps->v[i];
		(void)snprintf(path, sizeof(path), "principals[%zu]", i);
		if (p->uids.n == 0 && p->gids.n == 0 && p->subjects.n == 0)
			return fail(c, where(c, path), "%s: a principal needs "
			    "at least one uid, gid or subject", path);
		for (j = 0; j < i; j++)
			if (strcmp(p->name, ps->v[j].name) == 0) {
				(void)snprintf(at, sizeof(at), "%s.name", path);
				return fail(c, where(c, at), "%s: '%s' is "
				    "already the name of principals[%zu]", at,
				    p->name, j);
			}
		for (j = 0; j < i; j++)
			if (shared_id(p, &ps->v[j], &kind, id, sizeof(id))) {
				(void)snprintf(at, sizeof(at), "%s.%ss", path,
				    kind);
				return fail(c, where(c, at), "%s: %s %s is also "
				    "in principals[%zu]: a caller is one "
				    "principal", at, kind, id, j);
			}
	}
	return 0;
}

/* http:// to a loopback address: tests, with allow_http_loopback. */
static bool
loopback_http(const char *url)
{
	static const char *const hosts[] = { "http://127.0.0.1",
	    "http://[::1]", "http://localhost" };
	size_t i, n;

	for (i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		n = strlen(hosts[i]);
		if (strncmp(url, hosts[i], n) == 0 &&
		    (url[n] == ':' || url[n] == '/'))
			return true;
	}
	return false;
}

/*
 * The default authorizer: an https discovery URL ending in
 * /.well-known/openid-configuration (AgentCore's pattern); the other
 * keys only with it; each required claim with one operator.
 */
static int
check_authorizer(struct av_ctx *c)
{
	static const char suffix[] = "/.well-known/openid-configuration";
	const struct av_authorizer_config *a = &c->cfg->authorizer;
	const struct {
		const char	*key;
		size_t		 n;
	} needs[] = {
		{ "authorizer.allowed_audiences", a->allowed_audiences.n },
		{ "authorizer.allowed_clients", a->allowed_clients.n },
		{ "authorizer.allowed_scopes", a->allowed_scopes.n },
		{ "authorizer.required_claims", a->required_claims.n },
	};
	const struct av_authz_claim *cl;
	char path[AV_KEYPATH_MAX];
	size_t i, n = strlen(a->discovery_url), k = strlen(suffix);

	if (n == 0) {
		for (i = 0; i < sizeof(needs) / sizeof(needs[0]); i++)
			if (needs[i].n > 0)
				return fail(c, where(c, needs[i].key), "%s: "
				    "only used with authorizer.discovery_url",
				    needs[i].key);
	} else if ((strncmp(a->discovery_url, "https://", 8) != 0 &&
	    !(c->cfg->outbound.allow_http_loopback &&
	    loopback_http(a->discovery_url))) || n <= k + 8 ||
	    strcmp(a->discovery_url + n - k, suffix) != 0)
		return fail(c, where(c, "authorizer.discovery_url"),
		    "authorizer.discovery_url: an https:// URL ending in %s",
		    suffix);
	for (i = 0; i < a->required_claims.n; i++) {
		cl = &a->required_claims.v[i];
		(void)snprintf(path, sizeof(path), "authorizer.required_claims"
		    "[%zu]", i);
		if ((cl->equals[0] != '\0') + (cl->contains[0] != '\0') +
		    (cl->contains_any.n > 0) != 1)
			return fail(c, where(c, path), "%s: exactly one of "
			    "equals, contains, contains_any", path);
	}
	if (a->jwks_max_stale_seconds < a->jwks_ttl_seconds)
		return fail(c, where(c, "authorizer.jwks_max_stale_seconds"),
		    "authorizer.jwks_max_stale_seconds: shorter than "
		    "authorizer.jwks_ttl_seconds");
	return 0;
}

/* https://HOST[:PORT][/PATH], no trailing '/' (the discovery document's
 * URL is the issuer with /.well-known/openid-configuration appended). */
static bool
issuer_ok(const char *s)
{
	size_t n = strlen(s);

	return strncmp(s, "https://", 8) == 0 && n > 8 && s[8] != '/' &&
	    s[8] != ':' && s[n - 1] != '/' && strchr(s + 8, '@') == NULL;
}

/* Checks that involve several keys. */
static int
check_cross(struct av_ctx *c)
{
	const struct av_config *cfg = c->cfg;

	if (cfg->vault.kek_mode == AV_KEK_CUSTOMER_MANAGED &&
	    !cfg->vault.customer.present)
		return fail(c, where(c, "vault.kek_mode"), "vault.kek_mode: "
		    "customer-managed needs a vault.customer block (module, "
		    "token, pin, key)");
	if (cfg->vault.kek_mode == AV_KEK_SERVICE_MANAGED &&
	    cfg->vault.customer.present)
		return fail(c, where(c, "vault.customer"), "vault.customer: "
		    "only used when vault.kek_mode is customer-managed");
	if (check_socket_path(c, cfg->listen.admin_socket.path,
	    "listen.admin_socket.path") == -1 ||
	    check_socket_path(c, cfg->listen.agent_socket.path,
	    "listen.agent_socket.path") == -1)
		return -1;
	if (strcmp(cfg->listen.admin_socket.path,
	    cfg->listen.agent_socket.path) == 0)
		return fail(c, where(c, given(c, "listen.agent_socket.path") ?
		    "listen.agent_socket.path" : "listen.admin_socket.path"),
		    "the admin and agent sockets must have different paths");
	if ((cfg->listen.admin_socket.mode & 0007) != 0)
		return fail(c, where(c, "listen.admin_socket.mode"),
		    "listen.admin_socket.mode: %04o lets others connect to "
		    "the admin socket; clear the last digit",
		    (unsigned int)cfg->listen.admin_socket.mode);
	if (cfg->outbound.connect_timeout_ms > cfg->outbound.timeout_ms)
		return fail(c, where(c,
		    given(c, "outbound.connect_timeout_ms") ?
		    "outbound.connect_timeout_ms" : "outbound.timeout_ms"),
		    "outbound.connect_timeout_ms: longer than "
		    "outbound.timeout_ms, the whole request's limit");
	if (check_authorizer(c) != 0)
		return -1;
	if (cfg->agent_tokens.issuer[0] != '\0' &&
	    !issuer_ok(cfg->agent_tokens.issuer))
		return fail(c, where(c, "agent_tokens.issuer"),
		    "agent_tokens.issuer: expected https://HOST[:PORT][/PATH] "
		    "without a trailing '/'");
	return check_principals(c);
}

/* ---- defaults --------------------------------------------------------- */

static void
apply_defaults(struct av_ctx *c, const struct av_key *keys, void *base)
{
	const struct av_key *k;
	struct av_scalar v;

	for (k = keys; k->name != NULL; k++) {
		/* Schema sanity: a bug here must not go unnoticed. */
		if ((k->type == T_STRING && (k->max < k->min ||
		    (size_t)k->max >= k->size)) ||
		    (k->type == T_STRINGS && (k->max < k->min ||
		    (size_t)k->max >= k->item_size)) ||
		    (size_t)(k - keys) >= 64)
			abort();
		if (k->type == T_BLOCK) {
			apply_defaults(c, k->sub, (char *)base + k->off);
			continue;
		}
		if (k->def == NULL)
			continue;
		memset(&v, 0, sizeof(v));
		v.s = k->def;
		v.len = strlen(k->def);
		v.plain = true;
		if (set_scalar(c, k, base, k->name, &v) == -1)
			abort();
	}
}

/* Without principals in the file: the admin, uid 0, with full access. */
static void
default_principals(struct av_ctx *c, struct av_principals_config *ps)
{
	static const struct {
		const char	*key, *value;
	} admin[] = {
		{ "name", "admin" },
		{ "uids", "0" },
		{ "policies", "AgentVaultFullAccess" },
	};
	const struct av_key *k;
	struct av_scalar v;
	size_t i;

	apply_defaults(c, av_principal_keys, &ps->v[0]);
	for (i = 0; i < sizeof(admin) / sizeof(admin[0]); i++) {
		k = key_find(av_principal_keys, admin[i].key,
		    strlen(admin[i].key));
		memset(&v, 0, sizeof(v));
		v.s = admin[i].value;
		v.len = strlen(v.s);
		v.plain = true;
		if (k == NULL || set_scalar(c, k, &ps->v[0], k->name, &v) == -1)
			abort();
	}
	ps->n = 1;
}

static void
defaults(struct av_ctx *c, struct av_config *cfg)
{
	const struct av_derived *d;
	char *p = (char *)cfg;
	size_t i;

	memset(cfg, 0, sizeof(*cfg));
	c->defaults = true;
	apply_defaults(c, av_root_keys, cfg);
	default_principals(c, &cfg->principals);
	for (i = 0; i < AV_NDERIVED; i++) {
		d = &av_derived[i];
		if (!join(p + d->off, AV_CONFIG_PATH_SIZE, p + d->dir_off,
		    d->file))
			abort();
	}
	c->defaults = false;
}

/* ---- API -------------------------------------------------------------- */

void
av_config_defaults(struct av_config *cfg)
{
	struct av_ctx c;

	memset(&c, 0, sizeof(c));
	c.name = "defaults";
	defaults(&c, cfg);
}

int
av_config_parse(const char *name, const char *text, size_t len,
    struct av_config *out, char *err, size_t errlen)
{
	struct av_ctx *c;
	int rv = -1;

	av_config_defaults(out);
	if (errlen > 0)
		err[0] = '\0';
	/* ~56 KiB of positions: keep them off the caller's stack. */
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		if (errlen > 0)
			(void)snprintf(err, errlen, "%s: out of memory",
			    name != NULL ? name : "<config>");
		return -1;
	}
	c->name = name != NULL ? name : "<config>";
	c->text = (const unsigned char *)(text != NULL ? text : "");
	c->len = text != NULL ? len : 0;
	c->err = err;
	c->errlen = errlen;
	c->cfg = out;

	if (c->len > AV_CONFIG_FILE_MAX) {
		(void)fail(c, NULL, "larger than %d bytes",
		    AV_CONFIG_FILE_MAX);
		goto done;
	}
	if (check_structure(c) == -1)
		goto done;
	parser_close(c);
	if (parse_document(c) == -1)
		goto done;
	parser_close(c);
	if (check_required(c, av_root_keys, out, "") == -1 ||
	    derive(c) == -1 || check_cross(c) == -1)
		goto done;
	rv = 0;
done:
	parser_close(c);
	free(c);
	if (rv == -1)
		av_config_defaults(out);
	return rv;
}

int
av_config_read(const char *path, char **text, size_t *len, char *err,
    size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	ssize_t n;
	int fd, e;

	*text = NULL;
	*len = 0;
	if (errlen > 0)
		err[0] = '\0';
	if (path == NULL) {
		(void)snprintf(err, errlen, "<config>: no file name");
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		e = errno;
		(void)snprintf(err, errlen, "%s: cannot open: %s", path,
		    strerror(e));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		e = errno;
		(void)snprintf(err, errlen, "%s: cannot stat: %s", path,
		    strerror(e));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		(void)snprintf(err, errlen, "%s: not a regular file", path);
		goto fail;
	}
	if (st.st_size > AV_CONFIG_FILE_MAX) {
		(void)snprintf(err, errlen, "%s: larger than %d bytes", path,
		    AV_CONFIG_FILE_MAX);
		goto fail;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		(void)snprintf(err, errlen, "%s: owned by uid %u, neither "
		    "root nor this process's user", path,
		    (unsigned int)st.st_uid);
		goto fail;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		(void)snprintf(err, errlen, "%s: writable by group or others "
		    "(mode %04o); the file names the module the daemon loads: "
		    "chmod go-w it", path, (unsigned int)(st.st_mode & 07777));
		goto fail;
	}
	/* One byte more than allowed tells a file that grew meanwhile. */
	if ((buf = malloc(AV_CONFIG_FILE_MAX + 1)) == NULL) {
		(void)snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	while (got < AV_CONFIG_FILE_MAX + 1) {
		n = read(fd, buf + got, AV_CONFIG_FILE_MAX + 1 - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			e = errno;
			(void)snprintf(err, errlen, "%s: cannot read: %s",
			    path, strerror(e));
			goto fail;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got > AV_CONFIG_FILE_MAX) {
		(void)snprintf(err, errlen, "%s: larger than %d bytes", path,
		    AV_CONFIG_FILE_MAX);
		goto fail;
	}
	(void)close(fd);
	*text = buf;
	*len = got;
	return 0;
fail:
	free(buf);
	(void)close(fd);
	return -1;
}

int
av_config_load(const char *path, struct av_config *out, char *err,
    size_t errlen)
{
	char *text;
	size_t len;
	int rv;

	av_config_defaults(out);
	if (av_config_read(path, &text, &len, err, errlen) != 0)
		return -1;
	rv = av_config_parse(path, text, len, out, err, errlen);
	free(text);
	return rv;
}

void
av_config_free(struct av_config *cfg)
{
	if (cfg != NULL)
		memset(cfg, 0, sizeof(*cfg));
}

const char *
av_kek_mode_name(enum av_kek_mode m)
{
	if ((unsigned int)m >= sizeof(av_kek_modes) / sizeof(av_kek_modes[0])
	    - 1)
		return "?";
	return av_kek_modes[m];
}

const char *
av_log_level_name(enum av_log_level l)
{
	if ((unsigned int)l >= sizeof(av_log_levels) / sizeof(av_log_levels[0])
	    - 1)
		return "?";
	return av_log_levels[l];
}

/* The tag alphabet; the same for the API's tags (op_common.c). */
static bool
tag_text(const char *s, size_t len)
{
	static const char punct[] = " \t._:/=+@-";
	size_t i;

	for (i = 0; i < len; i++)
		if (!(s[i] >= 'a' && s[i] <= 'z') &&
		    !(s[i] >= 'A' && s[i] <= 'Z') &&
		    !(s[i] >= '0' && s[i] <= '9') &&
		    memchr(punct, s[i], sizeof(punct) - 1) == NULL)
			return false;
	return true;
}

bool
av_tag_key_valid(const char *s, size_t len)
{
	/* aws: keys are AWS's own; nobody may set them. */
	return len >= 1 && len <= 128 && tag_text(s, len) &&
	    !(len >= 4 && strncasecmp(s, "aws:", 4) == 0);
}

bool
av_tag_value_valid(const char *s, size_t len)
{
	return len <= 256 && tag_text(s, len);
}

/* ---- printing --------------------------------------------------------- */

/*
 * A YAML double-quoted string: printable ASCII as is, the rest as
 * escapes (\uXXXX for UTF-8 sequences), so that the output parses back
 * to the same bytes whatever they are.
 */
static void
print_quoted(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned long cp;
	size_t n, i;

	fputc('"', f);
	while (*p != '\0') {
		if (*p == '"' || *p == '\\') {
			fputc('\\', f);
			fputc(*p++, f);
			continue;
		}
		if (*p >= 0x20 && *p < 0x7f) {
			fputc(*p++, f);
			continue;
		}
		n = 0;
		if (*p >= 0xc2 && *p <= 0xdf) {
			n = 1;
			cp = *p & 0x1f;
		} else if (*p >= 0xe0 && *p <= 0xef) {
			n = 2;
			cp = *p & 0x0f;
		} else if (*p >= 0xf0 && *p <= 0xf4) {
			n = 3;
			cp = *p & 0x07;
		} else
			cp = 0;
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				break;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if (n == 0 || i <= n || (n == 2 && cp < 0x800) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff)) {
			/* Not UTF-8 (only from code, never from a file). */
			fprintf(f, "\\x%02x", *p++);
			continue;
		}
		if (cp <= 0xffff)
			fprintf(f, "\\u%04lx", cp);
		else
			fprintf(f, "\\U%08lx", cp);
		p += n + 1;
	}
	fputc('"', f);
}

/* Is key k, at field, written as a comment: not set? */
static bool
commented(const struct av_key *k, const char *field)
{
	switch (k->type) {
	case T_BLOCK:
		return k->present_off != NO_PRESENT &&
		    !*(const bool *)(field + k->present_off);
	case T_STRING:
	case T_PATH:
	case T_URI:
	case T_PIN:
	case T_ADDR:
		return field[0] == '\0';
	case T_USER:
		return !((const struct av_user *)(const void *)field)->resolved;
	case T_GROUP:
		return !((const struct av_group *)(const void *)field)->set;
	default:
		return false;
	}
}

/* Only comments in the block: "key:" alone would be YAML's null. */
static bool
all_commented(const struct av_key *keys, const void *base)
{
	for (; keys->name != NULL; keys++)
		if (!commented(keys, (const char *)base + keys->off))
			return false;
	return true;
}

static void
print_block(FILE *f, const struct av_key *keys, const void *base, int ind)
{
	const struct av_key *k;
	const char *field;
	size_t i;
	int idx;

	for (k = keys; k->name != NULL; k++) {
		field = (const char *)base + k->off;
		switch (k->type) {
		case T_BLOCK:
			if (commented(k, field)) {
				fprintf(f, "%*s# %s: not configured\n", ind, "",
				    k->name);
				break;
			}
			fprintf(f, "%*s%s:%s\n", ind, "", k->name,
			    all_commented(k->sub, field) ? " {}" : "");
			print_block(f, k->sub, field, ind + 2);
			break;
		case T_STRING:
		case T_PATH:
		case T_URI:
		case T_PIN:
		case T_ADDR:
			if (commented(k, field)) {
				fprintf(f, "%*s# %s: not set%s\n", ind, "",
				    k->name, (k->flags & F_REQUIRED) ?
				    " (required)" : "");
				break;
			}
			fprintf(f, "%*s%s: ", ind, "", k->name);
			print_quoted(f, field);
			fputc('\n', f);
			break;
		case T_BOOL:
			fprintf(f, "%*s%s: %s\n", ind, "", k->name,
			    *(const bool *)field ? "true" : "false");
			break;
		case T_INT:
			fprintf(f, "%*s%s: %u\n", ind, "", k->name,
			    *(const unsigned int *)field);
			break;
		case T_MODE:
			fprintf(f, "%*s%s: \"%04o\"\n", ind, "", k->name,
			    (unsigned int)*(const mode_t *)field);
			break;
		case T_ENUM:
			memcpy(&idx, field, sizeof(idx));
			for (i = 0; k->names[i] != NULL && i != (size_t)idx;
			    i++)
				;
			fprintf(f, "%*s%s: %s\n", ind, "", k->name,
			    k->names[i] != NULL ? k->names[i] : "?");
			break;
		case T_USER: {
			const struct av_user *u = (const void *)field;

			fprintf(f, "%*s%s%s: ", ind, "", u->resolved ? "" :
			    "# ", k->name);
			print_quoted(f, u->name);
			if (u->resolved)
				fprintf(f, "  # uid %u, gid %u\n",
				    (unsigned int)u->uid, (unsigned int)u->gid);
			else
				fprintf(f, "  (resolved when the daemon "
				    "starts)\n");
			break;
		}
		case T_GROUP: {
			const struct av_group *g = (const void *)field;

			if (g->set)
				fprintf(f, "%*s%s: %u\n", ind, "", k->name,
				    (unsigned int)g->gid);
			else
				fprintf(f, "%*s# %s: not set\n", ind, "",
				    k->name);
			break;
		}
		case T_UIDS: {
			const struct av_uid_list *l = (const void *)field;

			fprintf(f, "%*s%s: [", ind, "", k->name);
			for (i = 0; i < l->n && i < AV_CONFIG_LIST_MAX; i++)
				fprintf(f, "%s%u", i > 0 ? ", " : "",
				    (unsigned int)l->v[i]);
			fprintf(f, "]\n");
			break;
		}
		case T_GIDS: {
			const struct av_gid_list *l = (const void *)field;

			fprintf(f, "%*s%s: [", ind, "", k->name);
			for (i = 0; i < l->n && i < AV_CONFIG_LIST_MAX; i++)
				fprintf(f, "%s%u", i > 0 ? ", " : "",
				    (unsigned int)l->v[i]);
			fprintf(f, "]\n");
			break;
		}
		case T_LIST: {
			size_t n;

			memcpy(&n, field + k->count_off, sizeof(n));
			fprintf(f, "%*s%s:%s\n", ind, "", k->name,
			    n == 0 ? " []" : "");
			for (i = 0; i < n && i < k->cap; i++) {
				fprintf(f, "%*s-\n", ind + 2, "");
				print_block(f, k->sub, field + k->item_off +
				    i * k->item_size, ind + 4);
			}
			break;
		}
		case T_STRINGS: {
			size_t n;

			memcpy(&n, field + k->count_off, sizeof(n));
			fprintf(f, "%*s%s: [", ind, "", k->name);
			for (i = 0; i < n && i < k->cap; i++) {
				fputs(i > 0 ? ", " : "", f);
				print_quoted(f, field + k->item_off +
				    i * k->item_size);
			}
			fprintf(f, "]\n");
			break;
		}
		case T_TAGS: {
			const struct av_tag_list *l = (const void *)field;

			fprintf(f, "%*s%s:%s\n", ind, "", k->name,
			    l->n == 0 ? " {}" : "");
			for (i = 0; i < l->n && i < AV_PRINCIPAL_TAGS_MAX; i++) {
				fprintf(f, "%*s", ind + 2, "");
				print_quoted(f, l->v[i].key);
				fputs(": ", f);
				print_quoted(f, l->v[i].value);
				fputc('\n', f);
			}
			break;
		}
		case T_END:
			break;
		}
	}
}

void
av_config_print(const struct av_config *cfg, FILE *f)
{
	fprintf(f, "# agentvaultd effective configuration "
	    "(docs/configuration.md)\n");
	print_block(f, av_root_keys, cfg, 0);
}
