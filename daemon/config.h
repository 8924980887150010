/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.h - agentvaultd configuration: a strict YAML file parsed into
 * struct av_config (docs/configuration.md has every key).
 *
 * The parser refuses everything it does not understand: unknown keys at
 * any level, duplicate keys, wrong types, numbers out of range, unknown
 * enum values, empty or over-long strings, anchors, aliases, tags, more
 * than one document, a root that is not a mapping.  Every error names the
 * file, line and column (1-based) of the offending node:
 *
 *     /etc/agentvault/agentvault.yaml:7:11: listen.tcp.port: expected an
 *     integer from 1 to 65535
 *
 * and only the first error is reported.  Errors that concern the file as
 * a whole (cannot open it, too large, writable by others) have no line
 * and column: "FILE: message".  Messages never repeat a value, so that a
 * PIN typed where a PIN source belongs does not end up in a log.
 *
 * The struct holds fixed-size fields only: nothing needs freeing, and a
 * copy is a plain assignment.  It is large (about 410 KiB, most of it
 * principals); keep it in static storage or on the heap, never on a
 * stack.
 *
 * Users and groups.  A user or group *name* is resolved (getpwnam_r,
 * getgrnam_r) when the key is given in the file, and a name that does not
 * resolve is an error.  Defaults are never resolved here: sandbox.user
 * defaults to "agentvault", which need not exist on a development machine;
 * the daemon resolves it when it starts (sandbox.user.resolved tells it
 * whether that is still to do).  Lists of uids and gids hold numbers once
 * parsed; a plain number is taken as is, without a lookup.
 *
 * Empty file.  A file with no YAML document (empty, or only comments) is
 * an error ("empty configuration"); `{}` is a valid document, but it still
 * fails because hsm.pin has no default.
 */
#ifndef AV_DAEMON_CONFIG_H
#define AV_DAEMON_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#define AV_CONFIG_FILE_MAX	(1024 * 1024)	/* bytes in the file */
#define AV_CONFIG_DEPTH_MAX	16	/* nested mappings and sequences */
#define AV_CONFIG_STRING_MAX	4096	/* bytes in any scalar */
#define AV_CONFIG_LIST_MAX	64	/* items in any sequence */
#define AV_CONFIG_PRINCIPALS_MAX	32	/* entries in principals */
#define AV_PRINCIPAL_SUBJECTS_MAX	8	/* certificate subjects of one */
#define AV_PRINCIPAL_TAGS_MAX		16	/* tags of one principal */
#define AV_PRINCIPAL_POLICIES_MAX	16	/* policies attached in the file */
#define AV_SUBJECT_SIZE			256	/* RFC 2253 subject, NUL incl. */
#define AV_POLICY_NAME_SIZE		129	/* [A-Za-z0-9._-], 1..128 */
#define AV_AUTHZ_LIST_MAX		16	/* audiences, clients, scopes */
#define AV_AUTHZ_CLAIMS_MAX		8	/* required claims */
#define AV_AUTHZ_VALUE_SIZE		256	/* AgentCore's 1..255 */
#define AV_ISSUER_SIZE			513	/* an https URL, NUL incl. */
#define AV_AUDIENCES_MAX		16	/* agent_tokens.audiences */

/* Buffer sizes, NUL included. */
#define AV_CONFIG_PATH_SIZE	PATH_MAX		/* PATH_MAX - 1 bytes */
#define AV_CONFIG_URI_SIZE	(2048 + 1)		/* = HSM_URI_MAX */
#define AV_CONFIG_PIN_SOURCE_SIZE (AV_CONFIG_STRING_MAX + 1)
#define AV_CONFIG_USER_SIZE	256			/* LOGIN_NAME_MAX */
#define AV_CONFIG_ADDR_SIZE	46			/* INET6_ADDRSTRLEN */
/* A buffer that holds any message, file name included. */
#define AV_CONFIG_ERR_SIZE	(PATH_MAX + 512)

enum av_kek_mode {
	AV_KEK_SERVICE_MANAGED = 0,	/* "service-managed" */
	AV_KEK_CUSTOMER_MANAGED,	/* "customer-managed" */
};

enum av_log_level {
	AV_LOG_DEBUG = 0,		/* "debug" */
	AV_LOG_INFO,			/* "info" */
	AV_LOG_WARNING,			/* "warning" */
	AV_LOG_ERROR,			/* "error" */
};

struct av_uid_list {
	size_t	n;
	uid_t	v[AV_CONFIG_LIST_MAX];
};

struct av_gid_list {
	size_t	n;
	gid_t	v[AV_CONFIG_LIST_MAX];
};

/* An optional group: a gid, or a name resolved at parse time. */
struct av_group {
	bool	set;
	gid_t	gid;
};

/*
 * A user name.  resolved is true, and uid/gid (the user's primary group)
 * are set, only when the name came from the file and resolved; otherwise
 * the daemon resolves name when it starts.
 */
struct av_user {
	char	name[AV_CONFIG_USER_SIZE];
	bool	resolved;
	uid_t	uid;
	gid_t	gid;
};

struct av_socket_config {
	char		path[AV_CONFIG_PATH_SIZE];
	mode_t		mode;		/* 0000..0777 */
	struct av_group	group;		/* owning group, if set */
};

struct av_tcp_config {
	bool		enabled;	/* the listen.tcp block is present */
	char		address[AV_CONFIG_ADDR_SIZE];	/* IPv4/IPv6 literal */
	unsigned int	port;
	char		client_ca[AV_CONFIG_PATH_SIZE];	/* "" = no mTLS */
	/* The name browsers reach it by, for URLs the appliance gives out
	 * (the OAuth callback); "" = the address. */
	char		public_name[254];
};

struct av_customer_config {
	bool		present;	/* the vault.customer block is given */
	char		module[AV_CONFIG_PATH_SIZE];
	char		token[AV_CONFIG_URI_SIZE];
	char		pin[AV_CONFIG_PIN_SOURCE_SIZE];
	char		key[AV_CONFIG_URI_SIZE];
};

enum av_principal_kind {
	AV_PRINCIPAL_CALLER = 0,	/* "caller": admin, operator or agent */
	AV_PRINCIPAL_RUNTIME,		/* "runtime": a service that manages
					   workload identities of its own */
	AV_PRINCIPAL_GATEWAY,		/* "gateway": the same */
};

struct av_tag {
	char	key[129];		/* 1..128 bytes of the tag alphabet */
	char	value[257];		/* 0..256 bytes */
};

struct av_subject_list {
	size_t	n;
	char	v[AV_PRINCIPAL_SUBJECTS_MAX][AV_SUBJECT_SIZE];
};

struct av_tag_list {
	size_t		n;
	struct av_tag	v[AV_PRINCIPAL_TAGS_MAX];
};

struct av_policy_names {
	size_t	n;
	char	v[AV_PRINCIPAL_POLICIES_MAX][AV_POLICY_NAME_SIZE];
};

/*
 * A principal: who a caller is, for the policy engine (docs/policy.md).
 * A Unix-socket caller is the principal one of whose uids is its uid,
 * else the one one of whose gids is its primary gid; a TCP (mTLS) caller
 * the one one of whose subjects is its certificate's subject (RFC 2253).
 * No uid, gid or subject belongs to two principals.
 */
struct av_principal {
	char			name[65];	/* [A-Za-z0-9._-], unique */
	enum av_principal_kind	kind;		/* default caller */
	struct av_uid_list	uids;
	struct av_gid_list	gids;
	struct av_subject_list	subjects;
	struct av_tag_list	tags;		/* aws:PrincipalTag/KEY */
	struct av_policy_names	policies;	/* attached, in order */
};

/* The inbound authorizer's lists (authorizer.allowed_*). */
struct av_authz_strings {
	size_t	n;
	char	v[AV_AUTHZ_LIST_MAX][AV_AUTHZ_VALUE_SIZE];
};

/* A required claim: exactly one of equals (a string claim), contains
 * (a list claim holding it) or contains_any (a list claim holding one of
 * them); AgentCore's customClaims operators EQUALS, CONTAINS and
 * CONTAINS_ANY. */
struct av_authz_claim {
	char			claim[AV_AUTHZ_VALUE_SIZE];
	char			equals[AV_AUTHZ_VALUE_SIZE];
	char			contains[AV_AUTHZ_VALUE_SIZE];
	struct av_authz_strings	contains_any;
};

struct av_authz_claims {
	size_t			n;
	struct av_authz_claim	v[AV_AUTHZ_CLAIMS_MAX];
};

struct av_principals_config {
	size_t			n;
	struct av_principal	v[AV_CONFIG_PRINCIPALS_MAX];
};

struct av_config {
	struct av_appliance_config {
		char	partition[33];	/* [a-z0-9-], 1..32 */
		char	region[33];	/* [a-z0-9-], 1..32 */
		char	account[13];	/* exactly 12 digits */
		char	name[65];	/* [A-Za-z0-9._-], 1..64 */
	} appliance;

	struct av_paths_config {
		char	state_dir[AV_CONFIG_PATH_SIZE];
		char	audit_log[AV_CONFIG_PATH_SIZE];
		char	run_dir[AV_CONFIG_PATH_SIZE];
	} paths;

	struct av_listen_config {
		struct av_socket_config	admin_socket;
		struct av_socket_config	agent_socket;
		struct av_tcp_config	tcp;
	} listen;

	struct av_hsm_config {
		char		module[AV_CONFIG_PATH_SIZE];
		char		token[AV_CONFIG_URI_SIZE];
		/* A PIN source: "file:/path" or "env:NAME". */
		char		pin[AV_CONFIG_PIN_SOURCE_SIZE];
		unsigned int	pool_size;
		char		tls_key[AV_CONFIG_URI_SIZE];
		char		tls_cert[AV_CONFIG_PATH_SIZE];
		char		ca_cert[AV_CONFIG_PATH_SIZE];
		char		audit_key[AV_CONFIG_URI_SIZE];
		char		token_signing_key[AV_CONFIG_URI_SIZE];
	} hsm;

	struct av_vault_config {
		enum av_kek_mode		kek_mode;
		char				kek[AV_CONFIG_URI_SIZE];
		unsigned int			dek_ttl_seconds;
		struct av_customer_config	customer;
	} vault;

	/* Workload access tokens. */
	struct av_tokens_config {
		unsigned int	ttl_seconds;	/* from issue to expiry */
	} tokens;

	struct av_limits_config {
		unsigned int	max_connections;
		unsigned int	max_header_bytes;
		unsigned int	max_body_bytes;
		unsigned int	read_timeout_seconds;
		unsigned int	idle_timeout_seconds;
		unsigned int	threads;
	} limits;

	struct av_sandbox_config {
		bool		enabled;
		struct av_user	user;
		bool		landlock;
	} sandbox;

	/* Outbound HTTP (identity providers): per worker event loop. */
	struct av_outbound_config {
		unsigned int	connect_timeout_ms;
		unsigned int	timeout_ms;	/* the whole transfer */
		unsigned int	max_response_bytes;
		unsigned int	max_transfers;	/* in flight, per loop */
		char		ca_bundle[AV_CONFIG_PATH_SIZE];
		bool		allow_http_loopback;	/* tests only */
	} outbound;

	/* Agent access tokens (agent_token.h, docs/agent-tokens.md). */
	struct av_agent_tokens_config {
		char		issuer[AV_ISSUER_SIZE];	/* "" = from listen.tcp */
		unsigned int	ttl_seconds;	/* the longest lifetime */
		struct av_audience_list {
			size_t	n;
			char	v[AV_AUDIENCES_MAX][AV_ISSUER_SIZE];
		}		audiences;	/* allowed; none: any */
	} agent_tokens;

	/* OAuth2 flows (the three-legged one's sessions). */
	struct av_oauth_config {
		unsigned int	session_ttl_seconds;	/* consent to callback */
	} oauth;

	/*
	 * The inbound JWT authorizer: the directory-wide default (for
	 * identities without their own; discovery_url "" = none) and the
	 * bounds of the discovery and JWKS cache every authorizer shares.
	 */
	struct av_authorizer_config {
		char			discovery_url[2049];
		struct av_authz_strings	allowed_audiences;
		struct av_authz_strings	allowed_clients;
		struct av_authz_strings	allowed_scopes;
		struct av_authz_claims	required_claims;
		unsigned int		jwks_ttl_seconds;
		unsigned int		jwks_refresh_min_seconds;
		unsigned int		jwks_max_stale_seconds;
	} authorizer;

	struct av_policy_config {
		char	dir[AV_CONFIG_PATH_SIZE];	/* "" = none */
	} policy;
	/* Principals; default: one, "admin" (uid 0, AgentVaultFullAccess). */
	struct av_principals_config principals;

	struct av_audit_config {
		unsigned int	checkpoint_records;
		unsigned int	checkpoint_seconds;
	} audit;

	/* How many of each resource may exist (AgentCore's defaults). */
	struct av_quotas_config {
		unsigned int	workload_identities;
		unsigned int	api_key_providers;
		unsigned int	oauth2_providers;
	} quotas;

	struct av_log_config {
		enum av_log_level	level;
	} log;
};

/*
 * Every default, with the paths that depend on others (the sockets under
 * paths.run_dir, the certificates under paths.state_dir) computed from the
 * default directories.  hsm.pin is left empty: it has no default.  Users
 * and groups are not resolved.  The struct is zeroed first, padding
 * included, so that two configurations can be compared with memcmp.
 */
void	av_config_defaults(struct av_config *c);

/*
 * Read and parse the file at path.  The file must be a regular file of at
 * most AV_CONFIG_FILE_MAX bytes, owned by root or the effective user, and
 * not writable by group or others (it names the PKCS#11 module that the
 * daemon loads as root).  Returns 0, or -1 with a message in err.  *out
 * holds the configuration, or the defaults after an error.
 */
int	av_config_load(const char *path, struct av_config *out, char *err,
	    size_t errlen);
/* The same checks and read, without parsing: *text (malloc), *len. */
int	av_config_read(const char *path, char **text, size_t *len, char *err,
	    size_t errlen);

/*
 * Parse len bytes of text (need not be NUL-terminated); name is used in
 * messages.  Same result as av_config_load.
 */
int	av_config_parse(const char *name, const char *text, size_t len,
	    struct av_config *out, char *err, size_t errlen);

/* Nothing is allocated; this only wipes *c. */
void	av_config_free(struct av_config *c);

/*
 * Write the effective configuration as YAML: every key, defaults and
 * computed paths included, so that parsing the output gives the same
 * struct.  Numbers stand for resolved names.  What is not set (the TCP
 * listener, a socket group, the customer block, an unresolved default
 * user, an empty hsm.pin) is written as a comment.
 */
void	av_config_print(const struct av_config *c, FILE *f);

/* "service-managed", "info"...; "?" for a value out of range. */
const char *av_kek_mode_name(enum av_kek_mode m);
const char *av_log_level_name(enum av_log_level l);

/* Tag alphabet (AgentCore's): letters, digits, white space, . _ : / = + @ -
 * Keys 1..128 bytes and not starting with "aws:" (any case); values 0..256. */
bool	av_tag_key_valid(const char *s, size_t len);
bool	av_tag_value_valid(const char *s, size_t len);

#endif /* AV_DAEMON_CONFIG_H */
