/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agentvault.h - libagentvault, the C client of the Agent Vault appliance.
 * docs/client.md has the overview and a complete example.
 *
 * A handle holds one keep-alive TLS connection (mbedTLS, TLS 1.2) to the
 * daemon over a Unix socket or TCP, opened by the first call and reused.
 * The server certificate is always verified against the appliance CA.
 *
 * Conventions, the same for every function that can fail:
 *   - it returns 0, or -1 with *err filled (err may be NULL);
 *   - a JSON result (json_t **out) is a new reference: json_decref() it;
 *     out may be NULL when the caller does not want it;
 *   - a secret result (char **token, char **api_key) is a malloc'd string:
 *     release it with av_secret_free(), which wipes it;
 *   - lists of strings are NULL-terminated arrays; tags are NULL-terminated
 *     arrays of key, value pairs: { "team", "agents", NULL }.
 *
 * Thread safety: a handle is for one thread at a time (no lock inside).
 * Open one handle per thread; handles share nothing.
 *
 * Reconnection: a connection found closed before a request is replaced
 * silently.  If a reused connection fails while a request is in flight,
 * before any byte of the reply, the request is sent once more on a new
 * connection when nothing of it had left this process, or when the
 * operation is a read, a token mint, an API-key vend, an M2M OAuth2 token
 * or a session poll (repeating it changes nothing).  Writes (Create,
 * Update, Delete, Tag, Untag, CompleteResourceTokenAuth, a first
 * USER_FEDERATION request) already sent are not repeated: they fail with
 * AV_TRANSPORT_ERROR (or AV_TIMEOUT_ERROR), and may or may not have been
 * applied; the message says so.
 */
#ifndef AGENTVAULT_H
#define AGENTVAULT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

#define AV_VERSION		"0.1.0"
#define AV_DEFAULT_TIMEOUT_MS	10000
#define AV_DEFAULT_MAX_RESPONSE	(1024 * 1024)
#define AV_DEFAULT_TOKEN_TTL	900	/* the daemon's tokens.ttl_seconds */

/* Local error classes: the failure happened on this side (status 0). */
#define AV_TRANSPORT_ERROR	"TransportError"	/* connect, I/O */
#define AV_TIMEOUT_ERROR	"TimeoutError"		/* no answer in time */
#define AV_TLS_ERROR		"TlsError"	/* handshake, certificates */
#define AV_PROTOCOL_ERROR	"ProtocolError"	/* not the API's HTTP/JSON */
#define AV_ARGUMENT_ERROR	"ArgumentError"	/* caught before sending */
#define AV_NOT_SUPPORTED_ERROR	"NotSupportedError" /* not in this appliance */
#define AV_AUTHORIZATION_ERROR	"AuthorizationError" /* user consent needed */
#define AV_CLIENT_ERROR		"ClientError"	/* out of memory */

struct av_error {
	int	status;		/* HTTP status of an API error, 0 if local */
	char	type[64];	/* the API's __type, or a local class above */
	char	message[512];
	char	request_id[40];	/* x-amzn-RequestId of an API error */
};

struct av_options {
	const char	*socket_path;	/* a Unix socket, or NULL for TCP */
	const char	*host;		/* TCP: a name or an address */
	unsigned	 port;
	const char	*ca_file;	/* the appliance CA (PEM), required */
	const char	*server_name;	/* checked in the certificate;
					   NULL: "localhost" */
	const char	*cert_file;	/* TCP client certificate (PEM) */
	const char	*key_file;	/* and its private key */
	int		 timeout_ms;	/* 0: AV_DEFAULT_TIMEOUT_MS */
	size_t		 max_response;	/* 0: AV_DEFAULT_MAX_RESPONSE */
};

typedef struct av_handle av_handle;

/*
 * Checks the options and loads the CA (and client certificate); connects
 * on the first call.  timeout_ms bounds each request as a whole: connect,
 * handshake, the one retry and the reply.  A helper that makes several
 * requests (av_with_api_key: up to three) may take that many times it.
 * Name resolution (TCP) is not bounded: give an address where that
 * matters.
 */
int	av_open(const struct av_options *, av_handle **, struct av_error *);
/* Closes the connection, wipes and frees everything, cached tokens too. */
void	av_close(av_handle *);
/* Wipes and frees a secret returned by the library.  NULL is fine. */
void	av_secret_free(char *);

/* ---- operations (docs/api.md), one function each ---- */

int	av_ping(av_handle *, json_t **out, struct av_error *);
/* vault_id NULL: "default". */
int	av_get_token_vault(av_handle *, const char *vault_id, json_t **out,
	    struct av_error *);

int	av_create_workload_identity(av_handle *, const char *name,
	    const char *const *return_urls, const char *const *tags,
	    json_t **out, struct av_error *);
int	av_get_workload_identity(av_handle *, const char *name, json_t **out,
	    struct av_error *);
/* Replaces the return URLs; NULL or an empty list empties them. */
int	av_update_workload_identity(av_handle *, const char *name,
	    const char *const *return_urls, json_t **out, struct av_error *);
int	av_delete_workload_identity(av_handle *, const char *name,
	    struct av_error *);
/* max_results 0: the daemon's default; next_token NULL: the first page. */
int	av_list_workload_identities(av_handle *, int max_results,
	    const char *next_token, json_t **out, struct av_error *);

int	av_create_api_key_provider(av_handle *, const char *name,
	    const char *api_key, const char *const *tags, json_t **out,
	    struct av_error *);
int	av_get_api_key_provider(av_handle *, const char *name, json_t **out,
	    struct av_error *);
int	av_update_api_key_provider(av_handle *, const char *name,
	    const char *api_key, json_t **out, struct av_error *);
int	av_delete_api_key_provider(av_handle *, const char *name,
	    struct av_error *);
int	av_list_api_key_providers(av_handle *, int max_results,
	    const char *next_token, json_t **out, struct av_error *);

int	av_tag_resource(av_handle *, const char *arn, const char *const *tags,
	    struct av_error *);
int	av_untag_resource(av_handle *, const char *arn,
	    const char *const *keys, struct av_error *);
int	av_list_tags_for_resource(av_handle *, const char *arn, json_t **out,
	    struct av_error *);

int	av_get_workload_access_token(av_handle *, const char *workload,
	    char **token, struct av_error *);
int	av_get_workload_access_token_for_user_id(av_handle *,
	    const char *workload, const char *user_id, char **token,
	    struct av_error *);
int	av_get_resource_api_key(av_handle *, const char *token,
	    const char *provider, char **api_key, struct av_error *);
/*
 * GetWorkloadAccessTokenForJWT: a workload access token for the user of
 * user_token, a JWT the identity's inbound authorizer accepts (the
 * appliance keeps the JWT; the request body is wiped).
 */
int	av_get_workload_access_token_for_jwt(av_handle *,
	    const char *workload, const char *user_token, char **token,
	    struct av_error *);
/*
 * The appliance's token service (POST /oauth2/token, RFC 8693;
 * docs/agent-tokens.md): an agent access token, a JWT that says the
 * workload of workload_token acts for its user, for audience, with scope
 * (space-separated, or NULL).  *token: av_secret_free it; *expires_in
 * (may be NULL): its lifetime in seconds.  The service's refusals come
 * with their RFC 6749 code as type ("invalid_request", "invalid_target",
 * "unauthorized_client"...) and status 400.  The request is wiped.
 */
int	av_get_agent_access_token(av_handle *, const char *workload_token,
	    const char *audience, const char *scope, char **token,
	    long long *expires_in, struct av_error *);
/*
 * CheckJwt (admin): would an authorizer of discovery_url with these
 * allowed audiences, clients and scopes (NULL-terminated lists, or NULL)
 * accept token?  *out: {"valid": true, "issuer", "subject", "audience",
 * "expiresAt", ...} or {"valid": false, "errorType", "reason"}.
 */
int	av_check_jwt(av_handle *, const char *discovery_url,
	    const char *const *audiences, const char *const *clients,
	    const char *const *scopes, const char *token, json_t **out,
	    struct av_error *);

/*
 * Any other operation of docs/api.md whose request and reply are JSON
 * objects without secrets (the policy and principal operations, the
 * OAuth2 providers): POST path, e.g. "/policies/GetPolicy".  The body
 * sent is wiped; a secret in `in` is the caller's to wipe.  in is
 * borrowed (NULL: {}).  Only
 * operations named Get..., List... or Simulate... are repeated after a
 * lost connection (reconnection, above).
 */
int	av_call(av_handle *, const char *path, json_t *in, json_t **out,
	    struct av_error *);

/* ---- helpers: the seed's decorators, in C ---- */

/*
 * Called with the secret; it is wiped when the function returns, so copy
 * nothing out of it that outlives the call.
 */
typedef int (*av_secret_fn)(const char *secret, void *arg);

/*
 * The workload access token is either given (workload_token) or minted for
 * workload (and user_id, if set) and cached in the handle until shortly
 * before token_ttl_s is up.  The token is opaque, so the library cannot
 * read its expiry: token_ttl_s must not exceed the daemon's
 * tokens.ttl_seconds.  A cached token that is refused
 * (AccessDeniedException) is replaced once.
 */
struct av_api_key_opts {
	const char	*provider;		/* required */
	const char	*workload;		/* or workload_token */
	const char	*user_id;		/* optional */
	const char	*workload_token;	/* a token given by a runtime */
	int		 token_ttl_s;		/* 0: AV_DEFAULT_TOKEN_TTL */
};

/*
 * Obtains the API key and calls fn(api_key, arg).  Returns -1 with *err
 * filled if the key could not be obtained (fn is not called); otherwise
 * what fn returned, with err->type empty.
 */
int	av_with_api_key(av_handle *, const struct av_api_key_opts *,
	    av_secret_fn fn, void *arg, struct av_error *);

enum av_auth_flow {
	AV_USER_FEDERATION,	/* 3LO: a user consents in a browser */
	AV_M2M,			/* 2LO: client credentials */
	AV_ON_BEHALF_OF_TOKEN_EXCHANGE	/* OBO: the user's JWT exchanged */
};

/*
 * GetResourceOauth2Token's request (docs/api.md).  Lists are
 * NULL-terminated; custom_parameters are key, value pairs as tags are.
 * NULL leaves a member out of the request.
 */
struct av_oauth2_request {
	const char		*workload_token;	/* required */
	const char		*provider;		/* required */
	const char *const	*scopes;		/* NULL: none */
	enum av_auth_flow	 flow;
	const char		*session_uri;	/* poll this session */
	const char		*return_url;	/* resourceOauth2ReturnUrl */
	bool			 force_authentication;
	const char *const	*custom_parameters;
	const char		*custom_state;
	const char *const	*resources;	/* RFC 8707 resource indicators */
	const char *const	*audiences;
};

#define AV_SESSION_URI_PREFIX	"urn:ietf:params:oauth:request_uri:"

/*
 * Its answer: the access token, or a session.  session_status is
 * "IN_PROGRESS" or "FAILED" (empty with a token); authorization_url is
 * there while the session is in progress and the reply carries it (the
 * first one always does).  The URL is checked to be http(s) and printable
 * ASCII, the session URI to have AgentCore's form.
 */
struct av_oauth2_result {
	char	*access_token;		/* NULL: a session */
	char	*authorization_url;
	char	*session_uri;
	char	 session_status[16];
};

/*
 * One GetResourceOauth2Token.  On success *res is filled: release it with
 * av_oauth2_result_free (which wipes the token), or take access_token
 * (set the member to NULL) and av_secret_free it yourself.  On failure
 * *res is empty.
 */
int	av_get_resource_oauth2_token(av_handle *,
	    const struct av_oauth2_request *, struct av_oauth2_result *res,
	    struct av_error *);
void	av_oauth2_result_free(struct av_oauth2_result *);

/*
 * Polls the session of req->session_uri: sleeps poll_interval_ms (0:
 * 1000), asks again (without forceAuthentication), until the token comes
 * (*token, av_secret_free), the session fails (AV_AUTHORIZATION_ERROR) or
 * the next poll would pass deadline_ms (0: 600000) from now
 * (AV_TIMEOUT_ERROR).  Call it after an answer that said IN_PROGRESS.
 */
int	av_wait_oauth2_token(av_handle *, const struct av_oauth2_request *,
	    int poll_interval_ms, int deadline_ms, char **token,
	    struct av_error *);

/*
 * CompleteResourceTokenAuth: binds the session's token to the user who
 * came back from the authorization, given as exactly one of user_id or
 * user_token (a JWT: wiped after sending).  Reply {}.
 */
int	av_complete_resource_token_auth(av_handle *, const char *session_uri,
	    const char *user_id, const char *user_token, struct av_error *);

/*
 * The seed's @requires_access_token: GetResourceOauth2Token with a
 * workload access token as av_with_api_key gets one.  When the user must
 * consent, the authorization URL goes to on_auth_url (once; a non-zero
 * return cancels); without on_auth_url the call fails with
 * AV_AUTHORIZATION_ERROR and the URL in the message.  Then the session is
 * polled as av_wait_oauth2_token does, the workload token renewed when
 * the cache says so, until the token comes, the session fails or
 * deadline_ms has passed.
 */
struct av_oauth2_opts {
	const char		*provider;		/* required */
	const char *const	*scopes;		/* at least one */
	enum av_auth_flow	 flow;
	const char		*workload;		/* as for API keys */
	const char		*user_id;
	const char		*workload_token;
	int			 token_ttl_s;
	int			(*on_auth_url)(const char *url, void *arg);
	void			*on_auth_url_arg;
	bool			 force_authentication;
	const char		*callback_url;	/* resourceOauth2ReturnUrl */
	int			 poll_interval_ms;	/* 0: 1000 */
	int			 deadline_ms;		/* 0: 600000 */
	const char *const	*custom_parameters;	/* key, value pairs */
	const char		*custom_state;
	const char *const	*resources;
	const char *const	*audiences;
};

int	av_with_access_token(av_handle *, const struct av_oauth2_opts *,
	    av_secret_fn fn, void *arg, struct av_error *);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* AGENTVAULT_H */
