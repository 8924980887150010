/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api.h - the API operations served by the worker: routing, who calls
 * and whether it may (authz.h), JSON in and out, audit of every call.
 * Operation handlers live in op_*.c and share this context.
 */
#ifndef AV_API_H
#define AV_API_H


#include <pthread.h>
#include <stdbool.h>

#include <jansson.h>

#include "authz.h"
#include "client_assertion.h"
#include "config.h"
#include "daemon.h"
#include "error.h"
#include "httpd.h"
#include "hsm.h"
#include "oauth_vendor.h"
#include "outbound.h"
#include "store.h"
#include "vault.h"
#include "wat.h"

/* The audit event the worker sends the parent for one call. */
struct api_audit {
	const char	*request_id;
	const char	*operation;
	const char	*resource;
	const char	*outcome;	/* "allowed", "denied", "error" */
	const char	*error;		/* exception name, or NULL */
	const struct av_caller *caller;
	const char	*principal;	/* the caller's principal, or NULL */
	const char	*decision;	/* what decided, or NULL */
	const char	*user_issuer;	/* a JWT user's issuer, or NULL */
	const char	*user_subject_hash;	/* its sub's SHA-256, or NULL */
	bool		 sync;		/* control-plane write: fsync first */
};

/* A reply held back until its call's audit record is in the log. */
struct api_reply {
	struct httpd_req	*req;
	int			 status;
	char			*body;		/* JSON text (malloc), or HTML */
	size_t			 len;
	bool			 html;		/* the browser plane's page */
	const char		*headers;	/* extra lines (static), or NULL */
	char			*location;	/* or its 302 (malloc) */
	struct api_reply	*next;		/* the audit queue's link */
};

/*
 * Send ev to the audit trail and queue reply behind it: the worker calls
 * api_reply_finish(reply, ok) once the parent has answered.  Returns -1
 * when the event cannot be sent (the caller then fails the call closed).
 */
typedef int api_audit_fn(const struct api_audit *ev, struct api_reply *reply,
    void *arg);
/* Send the reply if audited, else the fail-closed error; free it. */
void api_reply_finish(struct api_reply *reply, bool audited);
/* Test hooks only: send the parent a frame it must refuse. */
typedef void api_bad_ipc_fn(const char *kind, void *arg);
/* The outbound HTTP client of the calling thread's event loop. */
typedef struct outbound *api_outbound_fn(void *arg);
/* The calling thread's event loop. */
typedef struct event_base *api_base_fn(void *arg);

struct api_ctx {
	const struct av_config	*cfg;
	struct hsm		*hsm;
	struct hsm_key		 kek;
	char			 kek_uri[HSM_URI_BUF];	/* fixed while we run */
	char			 kek_kcv[2 * HSM_KCV_LEN + 1];
	struct wat_keys		 tokens;	/* workload access tokens */
	struct vault		*vault;
	struct store		*store;
	const struct oauth_vendors *vendors;	/* the OAuth2 presets */
	struct client_keys	 client_keys;	/* private_key_jwt, by label */
	api_audit_fn		*audit;
	void			*audit_arg;
	api_bad_ipc_fn		*bad_ipc;
	api_outbound_fn		*outbound;	/* (audit_arg) */
	api_base_fn		*base;		/* (audit_arg) */
	bool			 test_hooks;	/* AGENTVAULT_TEST_HOOKS=1 */
	/* Principals and policies in force; policy.dir as read at start. */
	struct authz_holder	 authz;
	struct authz_sources	 policy_files;
	pthread_mutex_t		 authz_load;	/* one rebuild at a time */
};

/*
 * Compile principals and policies (built in, files, stored through the
 * API, with the API's attachments) and put them in force.  Rebuilds are
 * serialised, each reading the store afresh: the last one published
 * reflects the last change.
 */
int api_authz_load(struct api_ctx *ctx, struct av_err *e);

/* The httpd handler: route, authorize, run, audit, reply. */
void api_handle(struct httpd_req *req, void *arg);

/* One call as it goes through api_handle: who calls (decided once), and
 * what the operation acted on, for the audit record. */
struct api_call {
	const struct httpd_req	*req;
	const char		*operation;	/* "GetResourceApiKey" */
	struct authz		*authz;		/* the snapshot it runs under */
	const struct authz_principal *principal;	/* never NULL in ops */
	/* The caller's service (a runtime or gateway principal), or NULL. */
	const char		*service;
	char			 resource[1024];	/* an ARN, or "" */
	bool			 authorized;	/* api_authorize() said yes */
	char			 decision[AUTHZ_WHY_SIZE];
	/* The user of a validated JWT, for the audit record: its issuer
	 * and the SHA-256 (hex) of its subject; "" when none. */
	char			 user_issuer[OAUTH_URL_MAX + 1];
	char			 user_subject_hash[65];
	struct api_pending	*pending;	/* api_defer()'s, or NULL */
	/* An OAuth route's error code (RFC 6749 section 5.2), when the op
	 * fails with one; NULL: derived from the exception. */
	const char		*oauth_error;
	/*
	 * The browser plane (the OAuth callback): what the browser gets,
	 * whatever the outcome audited: a 302 to location (malloc) or a
	 * page of html (malloc, escaped) with status.  Neither: a page that
	 * names the error.
	 */
	struct {
		int	 status;
		char	*location;
		char	*html;
	}			 browser;
};

/*
 * Asynchronous operations.  An operation that waits on something (an
 * identity provider) calls api_defer(call) once, keeps what it returns
 * and returns API_PENDING: api_handle then neither replies nor releases
 * the call (its authz snapshot, resource and decision go into p; the op
 * keeps what it needs of `in` itself).  Later, from the same loop and
 * exactly once, api_resume(p, rc, out, e) finishes the call as a
 * synchronous return of rc would have: success without api_authorize()
 * having allowed it fails closed, the call is audited, the reply goes
 * out behind its audit record, p is freed.  out (borrowed; NULL: {}) is
 * the body on success, e the error otherwise.  api_defer returns NULL
 * when out of memory (the op then fails the call itself).
 */
#define API_PENDING	1
struct api_pending;
struct api_pending *api_defer(struct api_call *call);
void api_resume(struct api_pending *p, int rc, json_t *out, struct av_err *e);
/* The call kept in p (its resource, decision...), until api_resume(). */
struct api_call *api_pending_call(struct api_pending *p);

/*
 * Every operation calls this once it has read what it acts on and before
 * it does anything else: the call is allowed, or AccessDeniedException.
 * q->operation and, when NULL, q->resource (call->resource) are filled
 * in; the resource's tags and the workload identity's are looked up when
 * a policy of the principal names such keys.  An operation that returns
 * success without having been allowed fails closed (api_handle).
 */
int api_authorize(struct api_ctx *ctx, struct api_call *call,
    struct authz_request *q, struct av_err *e);
/* The tags of the resource arn ({} when it has none or does not exist),
 * as api_authorize() reads them; NULL on error. */
json_t *api_resource_tags(struct api_ctx *ctx, const char *arn);

#define API_TAGS_MAX	50	/* per resource (AgentCore) */

/* An operation: parses its input from `in`, writes its output to `out`. */
typedef int api_op_fn(struct api_ctx *ctx, struct api_call *call,
    json_t *in, json_t *out, struct av_err *e);

/* op_vault.c */
api_op_fn op_get_token_vault;
/* op_directory.c */
api_op_fn op_create_workload_identity;
api_op_fn op_get_workload_identity;
api_op_fn op_update_workload_identity;
api_op_fn op_delete_workload_identity;
api_op_fn op_list_workload_identities;
/* op_sts.c: the token service (agent_token.h) and its documents. */
api_op_fn op_get_agent_access_token;
api_op_fn op_openid_configuration;
api_op_fn op_jwks;
/* op_tokens.c */
api_op_fn op_get_workload_access_token;
api_op_fn op_get_workload_access_token_for_user_id;
api_op_fn op_get_resource_api_key;
/*
 * The identity a GetWorkloadAccessToken* call names (workloadName): the
 * call authorized, the identity found (with its return URLs and
 * authorizer when full: json_decref them), and the caller allowed to
 * mint its tokens (a managed identity's only by its service).
 */
int api_token_identity(struct api_ctx *ctx, struct api_call *call,
    json_t *in, bool full, struct wi_record *r, struct av_err *e);
/* Load the token-signing key (recording a rotation, loading the retired
 * keys still accepted), get or create the token key; erase the expired
 * user JWTs. */
int api_tokens_init(struct api_ctx *ctx, struct av_err *e);
/* op_inbound.c */
api_op_fn op_get_workload_access_token_for_jwt;
api_op_fn op_check_jwt;
/* op_apikey.c */
api_op_fn op_create_api_key_provider;
api_op_fn op_get_api_key_provider;
api_op_fn op_update_api_key_provider;
api_op_fn op_delete_api_key_provider;
api_op_fn op_list_api_key_providers;
/* op_oauth2_token.c */
api_op_fn op_get_resource_oauth2_token;
/* op_oauth2.c */
/* The appliance's OAuth callback URL (a JSON string), NULL without a TCP
 * listener. */
json_t *api_oauth2_callback_url(const struct api_ctx *ctx);
api_op_fn op_create_oauth2_provider;
api_op_fn op_get_oauth2_provider;
api_op_fn op_update_oauth2_provider;
api_op_fn op_delete_oauth2_provider;
api_op_fn op_list_oauth2_providers;
/* op_tags.c */
api_op_fn op_tag_resource;
api_op_fn op_untag_resource;
api_op_fn op_list_tags_for_resource;
/* op_policy.c */
api_op_fn op_create_policy;
api_op_fn op_get_policy;
api_op_fn op_update_policy;
api_op_fn op_delete_policy;
api_op_fn op_list_policies;
api_op_fn op_attach_principal_policy;
api_op_fn op_detach_principal_policy;
/* op_principal.c */
api_op_fn op_get_principal;
api_op_fn op_list_principals;
api_op_fn op_simulate_principal_policy;
/* op_common.c: refuse fields not in allowed (NULL-terminated). */
int api_only_fields(json_t *in, const char *const *allowed, struct av_err *e);
/* "tags": a validated map (a new reference), {} when absent. */
int api_get_tags(json_t *in, json_t **tags, struct av_err *e);
/* No other key of tags equals key but for case. */
int api_check_tag_case(json_t *tags, const char *key, struct av_err *e);
/* A tag key: 1-128 characters of the tag alphabet, not aws:-prefixed. */
int api_check_tag_key(const char *key, struct av_err *e);
/* maxResults (1-20, default 10) and nextToken of a List call; the only
 * fields it may have. */
int api_page_params(json_t *in, unsigned *max, char *after, size_t len,
    struct av_err *e);
/* Page tokens: the last name of a page, base64; opaque to clients. */
int api_page_token_decode(const char *token, char *name, size_t len);
void api_page_token_set(json_t *out, json_t *names);
/* The ARN of a workload identity; 0, or -1 when buf is too small. */
int api_wi_arn(const struct api_ctx *ctx, const char *name, char *buf,
    size_t len);
/* api_authorize() for call->resource, with the tags a call sets. */
int api_allow(struct api_ctx *ctx, struct api_call *call, json_t *request_tags,
    struct av_err *e);
/* Credential providers: the ARN's type segment of each kind, the name
 * rule, and "name" of a request validated with call->resource its ARN. */
#define API_PROVIDER_APIKEY	"apikeycredentialprovider"
#define API_PROVIDER_OAUTH2	"oauth2credentialprovider"
#define API_PROVIDER_NAME_MAX	128
int api_provider_arn(const struct api_ctx *ctx, const char *type,
    const char *name, char *buf, size_t len);
bool api_provider_name_valid(const char *s);
int api_get_provider_name(const struct api_ctx *ctx, struct api_call *call,
    const char *type, json_t *in, const char **name, struct av_err *e);
/* The ARNs of the directory and of the vault (their collections). */
int api_directory_arn(const struct api_ctx *ctx, char *buf, size_t len);
int api_vault_arn(const struct api_ctx *ctx, char *buf, size_t len);
/*
 * The ARN of a policy or a principal (...:policy/NAME, ...:principal/NAME)
 * or, with name NULL, of all of them (...:policy, ...:principal); 0, or
 * -1 when buf is too small.
 */
int api_policy_arn(const struct api_ctx *ctx, const char *name, char *buf,
    size_t len);
int api_principal_arn(const struct api_ctx *ctx, const char *name, char *buf,
    size_t len);
/* Field f of in: a name of 1 to max characters of [A-Za-z0-9._-] (the
 * names of policies and principals). */
int api_get_name(json_t *in, const char *f, size_t max, const char **name,
    struct av_err *e);
/* Describe the KEK once (URI, check value) for GetTokenVault. */
int api_describe_kek(struct api_ctx *ctx, struct av_err *e);

#endif /* AV_API_H */
