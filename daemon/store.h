/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store.h - the appliance's database: SQLite in WAL mode, every commit
 * fsynced before it returns (synchronous=FULL), schema versioned by
 * PRAGMA user_version with forward migrations.
 *
 * Secret fields are stored only sealed (vault.h); data keys only wrapped.
 * One connection, serialised by the store's own lock.
 */
#ifndef AV_STORE_H
#define AV_STORE_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "error.h"
#include "hsm.h"
#include "vault.h"

#define STORE_SCHEMA_VERSION	9
#define STORE_NAME_MAX		1024

struct store;

int store_open(const char *path, struct store **out, struct av_err *e);
void store_close(struct store *s);
int store_schema_version(struct store *s);

/*
 * Secrets: (type, name, owner) names one secret.  put seals the plaintext
 * under a new data key and replaces any previous version (whose data key
 * is deleted with it); get opens it into out (cap bytes); delete removes
 * the secret and its data key (crypto-erase).  Each call is one
 * transaction, durable when it returns 0.
 */
int store_secret_put(struct store *s, struct vault *v, const char *type,
    const char *name, const char *owner, const uint8_t *pt, size_t pt_len,
    struct av_err *e);
int store_secret_get(struct store *s, struct vault *v, const char *type,
    const char *name, const char *owner, uint8_t *out, size_t cap,
    size_t *out_len, struct av_err *e);
int store_secret_delete(struct store *s, struct vault *v, const char *type,
    const char *name, const char *owner, struct av_err *e);
/* The vault's record: created on first use with this KEK mode and URI;
 * *modified is when it was last changed (seconds since the epoch). */
int store_vault_record(struct store *s, const char *kek_mode,
    const char *kek_uri, int64_t *modified, struct av_err *e);
/* ---- the workload identity directory (store_directory.c) ---- */

struct wi_record {
	char		name[256];
	char		managed_by[256];	/* "" when user-created */
	int64_t		created, updated;	/* seconds since the epoch */
	json_t		*urls;			/* array of strings (owned) */
	json_t		*authorizer;		/* its own, or NULL (owned) */
};

/*
 * Create an identity with its return URLs (array) and tags (object, keyed
 * by its ARN).  ConflictException when the name is taken,
 * ServiceQuotaExceededException when quota identities exist.
 */
int store_wi_create(struct store *s, const char *name, const char *managed_by,
    const char *arn, json_t *urls, json_t *authorizer, json_t *tags,
    unsigned quota, struct av_err *e);
/* 1 when the identity exists (its row in *out, without return URLs:
 * out->urls is NULL), 0 when not, -1 on error.  The data plane's lookup. */
int store_wi_lookup(struct store *s, const char *name, struct wi_record *out,
    struct av_err *e);
/*
 * get, update and delete: ResourceNotFoundException when absent.  With a
 * managed_by (a service's name; NULL: any caller), an identity that
 * service does not manage is AccessDeniedException, checked in the same
 * transaction as the change.
 */
/* out->urls and out->authorizer must be json_decref'd. */
int store_wi_get(struct store *s, const char *name, const char *managed_by,
    struct wi_record *out, struct av_err *e);
/* Replaces the return URLs and the authorizer (NULL: none). */
int store_wi_update(struct store *s, const char *name, const char *managed_by,
    json_t *urls, json_t *authorizer, struct av_err *e);
/* Delete the identity, its tags, its OAuth2 tokens, its kept user JWTs
 * and every secret it owns (crypto-erase). */
int store_wi_delete(struct store *s, struct vault *v, const char *name,
    const char *managed_by, const char *arn, struct av_err *e);
/* Names after `after` ("" from the start), at most max, with their
 * managers ("" when user-created) in the same order; only those managed
 * by managed_by unless NULL; *more says if there are others. */
int store_wi_list(struct store *s, const char *managed_by, const char *after,
    unsigned max, json_t *names, json_t *managers, bool *more,
    struct av_err *e);

/* ---- credential providers (store_provider.c) ---- */

/*
 * A provider of a kind ("api-key", "oauth2") with its configuration (JSON
 * text, nothing secret: "{}" when NULL) and its secret, sealed as the
 * secret (kind, name, "").  create: ConflictException when taken,
 * (OAuth2 tokens issued under a provider are erased with it, and when an
 * update changes its configuration or secret.)
 * ServiceQuotaExceededException at quota; create stores no secret when
 * secret is NULL.  get: *config (malloc, the
 * caller frees it) when config is not NULL.  update replaces the
 * configuration unless config is NULL and the secret (under a new data
 * key) unless secret is NULL, in one transaction.  delete removes the
 * provider, its tags (by ARN) and its secret (crypto-erase).
 */
int store_provider_create(struct store *s, struct vault *v, const char *kind,
    const char *name, const char *arn, const char *config,
    const uint8_t *secret, size_t len, json_t *tags, unsigned quota,
    struct av_err *e);
int store_provider_get(struct store *s, const char *kind, const char *name,
    int64_t *created, int64_t *updated, char **config, struct av_err *e);
int store_provider_update(struct store *s, struct vault *v, const char *kind,
    const char *name, const char *config, const uint8_t *secret, size_t len,
    struct av_err *e);
int store_provider_delete(struct store *s, struct vault *v, const char *kind,
    const char *name, const char *arn, struct av_err *e);
int store_provider_list(struct store *s, const char *kind, const char *after,
    unsigned max, json_t *names, bool *more, struct av_err *e);

/* ---- OAuth2 tokens (store_oauth.c) ---- */

#define STORE_OAUTH_KIND	"oauth2-token"	/* their secrets' type */

/* A token's key: user "" for M2M; scope_key the sorted unique scopes
 * joined by spaces. */
struct store_oauth_key {
	const char	*workload;
	const char	*user;
	const char	*provider;
	const char	*scope_key;
};

/* A stored token, opened: store_oauth_token_clear() wipes and frees. */
struct store_oauth_token {
	char		*access;
	size_t		 access_len;
	char		*refresh;	/* NULL when none */
	size_t		 refresh_len;
	char		*scope_key;
	char		*scopes;	/* granted, space-separated */
	char		*extra;		/* JSON text */
	int64_t		 expires_at;	/* seconds since the epoch */
	bool		 bound;
};
void store_oauth_token_clear(struct store_oauth_token *t);

/*
 * put stores (or replaces) the token of key, sealed under a new data
 * key, in one transaction; refresh may be NULL.  get: 1 with t filled,
 * 0 when there is none.  find: the token of (workload, user, provider)
 * whose scopes include every one of want (space-separated; "" any),
 * bound ones only when bound_only, the one that expires last; 1, 0 or
 * -1.  bind marks it bound (ResourceNotFoundException when absent).
 * delete erases it (no error when absent).  erase_provider erases every
 * token of a provider.
 */
int store_oauth_put(struct store *s, struct vault *v,
    const struct store_oauth_key *k, const char *scopes, const char *access,
    size_t access_len, const char *refresh, size_t refresh_len,
    int64_t expires_at, bool bound, const char *extra, struct av_err *e);
int store_oauth_get(struct store *s, struct vault *v,
    const struct store_oauth_key *k, struct store_oauth_token *t,
    struct av_err *e);
int store_oauth_find(struct store *s, struct vault *v, const char *workload,
    const char *user, const char *provider, const char *want,
    bool bound_only, struct store_oauth_token *t, struct av_err *e);
int store_oauth_bind(struct store *s, const struct store_oauth_key *k,
    struct av_err *e);
int store_oauth_delete(struct store *s, struct vault *v,
    const struct store_oauth_key *k, struct av_err *e);
int store_oauth_erase_provider(struct store *s, struct vault *v,
    const char *provider, struct av_err *e);
/* How many tokens are stored (tests). */
int64_t store_oauth_count(struct store *s);
/* ---- OAuth2 three-legged sessions (store_session.c) ---- */

#define STORE_SESSION_SECRET	"oauth-session"	/* its secrets' type */
#define STORE_SESSION_URI_MAX	128
#define STORE_SESSION_SCOPES_MAX	16384	/* JSON text */

/*
 * IN_PROGRESS: waiting for the user at the identity provider; EXCHANGING:
 * called back (its state used), the code being exchanged; CALLED_BACK:
 * the token is stored, unbound, until CompleteResourceTokenAuth names the
 * user; COMPLETE: bound; FAILED: over (the provider's error, a user
 * mismatch, a failed exchange).
 */
enum store_session_status {
	STORE_SESSION_IN_PROGRESS,
	STORE_SESSION_EXCHANGING,
	STORE_SESSION_CALLED_BACK,
	STORE_SESSION_COMPLETE,
	STORE_SESSION_FAILED,
};

struct store_session {
	char			 uri[STORE_SESSION_URI_MAX + 1];
	char			 workload[256];
	char			 user[129];
	char			 provider[129];
	char			 scopes[STORE_SESSION_SCOPES_MAX + 1];
	char			 return_url[2049];
	bool			 has_custom_state;
	char			 custom_state[4097];
	enum store_session_status status;
	int64_t			 created, expires;	/* epoch seconds */
	char			 error[65];	/* "" or the reason code */
};

/*
 * Start session r (status IN_PROGRESS whatever r says) with the hash of
 * its state and its secret (the verifier and authorization URL), sealed
 * as (STORE_SESSION_SECRET, uri, workload).  Sessions a day past their
 * expiry are purged first; ThrottlingException when the workload has max
 * sessions not yet over.  One transaction.
 */
int store_session_create(struct store *s, struct vault *v,
    const struct store_session *r, const char *state_hash,
    const uint8_t *secret, size_t len, unsigned max, struct av_err *e);
/* 1 found (into out), 0 not, -1 error. */
int store_session_get(struct store *s, const char *uri,
    struct store_session *out, struct av_err *e);
/*
 * The callback: the session whose state hashes to state_hash, if it is
 * IN_PROGRESS and not expired at now, becomes EXCHANGING in the same
 * transaction, so a state is taken once.  1 taken (out filled), 0 no
 * such session (unknown, used or expired), -1 error.
 */
int store_session_take_state(struct store *s, const char *state_hash,
    int64_t now, struct store_session *out, struct av_err *e);
/* The sealed secret of session r, opened into out. */
int store_session_secret(struct store *s, struct vault *v,
    const struct store_session *r, uint8_t *out, size_t cap, size_t *len,
    struct av_err *e);
/*
 * Move session r from status `from` to `to` with error (a reason code or
 * NULL); ConflictException when it is not in `from` any more.  Leaving
 * for CALLED_BACK, COMPLETE or FAILED crypto-erases its secret.
 */
int store_session_set_status(struct store *s, struct vault *v,
    const struct store_session *r, enum store_session_status from,
    enum store_session_status to, const char *error, struct av_err *e);
const char *store_session_status_name(enum store_session_status st);

/* ---- tags (store_tags.c) ---- */

/* A resource that can be tagged, and what makes it exist. */
enum store_res_type {
	STORE_RES_SINGLETON,	/* the vault, the directory: always there */
	STORE_RES_WI,		/* a workload identity: name */
	STORE_RES_PROVIDER,	/* a credential provider: kind and name */
};

struct store_resource {
	enum store_res_type	 type;
	const char		*kind;
	const char		*name;
	const char		*arn;	/* its tags are kept by ARN */
};

/*
 * Each call is one transaction that fails with ResourceNotFoundException
 * when the resource does not exist.  add sets the tags (an object; a key
 * already there gets the new value), ServiceQuotaExceededException when
 * the resource would have more than max; remove deletes the keys (an
 * array of strings; absent ones are no error); list fills out (an object).
 */
int store_tags_add(struct store *s, const struct store_resource *r,
    json_t *tags, unsigned max, struct av_err *e);
int store_tags_remove(struct store *s, const struct store_resource *r,
    json_t *keys, struct av_err *e);
int store_tags_list(struct store *s, const struct store_resource *r,
    json_t *out, struct av_err *e);
/*
 * The tags kept for arn into out (none when there are none), one SELECT
 * without a transaction: for authorization, which reads them per call.
 * store_generation() changes whenever a transaction has run since: a
 * cache of tags is good while it has not changed.
 */
int store_tags_read(struct store *s, const char *arn, json_t *out,
    struct av_err *e);
uint64_t store_generation(struct store *s);

/* ---- policies and attachments made through the API (store_policy.c) ---- */

#define STORE_POLICY_DESC_MAX	512	/* bytes of a description */

struct store_policy {
	char		 description[STORE_POLICY_DESC_MAX + 1];
	char		*document;	/* the text as given (malloc, NUL'd) */
	size_t		 len;
	int64_t		 created, updated;	/* seconds since the epoch */
};

/*
 * A stored policy: create is ConflictException when the name is stored,
 * ServiceQuotaExceededException when quota are; get, update and delete
 * ResourceNotFoundException when it is not.  update keeps the
 * description when description is NULL.  delete is ConflictException
 * while the policy is attached (it names a principal).  get's
 * out->document is the caller's to free.
 */
int store_policy_create(struct store *s, const char *name, const char *doc,
    size_t len, const char *description, unsigned quota, struct av_err *e);
int store_policy_get(struct store *s, const char *name,
    struct store_policy *out, struct av_err *e);
int store_policy_update(struct store *s, const char *name, const char *doc,
    size_t len, const char *description, struct av_err *e);
int store_policy_delete(struct store *s, const char *name, struct av_err *e);
/* The names of every stored policy, sorted, appended to names. */
int store_policy_names(struct store *s, json_t *names, struct av_err *e);

/*
 * Attach policy to principal: with stored, the policy must be stored
 * (ResourceNotFoundException otherwise, checked in the same transaction);
 * ConflictException when attached already, ServiceQuotaExceededException
 * when the principal has max.  detach: ResourceNotFoundException when
 * not attached.
 */
int store_policy_attach(struct store *s, const char *principal,
    const char *policy, bool stored, unsigned max, struct av_err *e);
int store_policy_detach(struct store *s, const char *principal,
    const char *policy, struct av_err *e);
/* The policies attached to principal (policy NULL), or the principals
 * policy is attached to (principal NULL), oldest first, into out. */
int store_policy_attached(struct store *s, const char *principal,
    const char *policy, json_t *out, struct av_err *e);

struct authz_sources;

/* An attachment, for authz_build (authz.h). */
struct store_attachment {
	char	principal[65];
	char	policy[129];
};

/*
 * Everything stored, read at once: every policy into docs (origin "api"),
 * every attachment, oldest first, into *att (malloc, *n of them; the
 * caller frees it, and docs with authz_sources_free).
 */
int store_policy_load(struct store *s, struct authz_sources *docs,
    struct store_attachment **att, size_t *n, struct av_err *e);

/* ---- user JWTs kept for on-behalf-of use (store_user_jwt.c) ---- */

#define STORE_USER_JWT_SECRET	"user-jwt"	/* its secrets' type */

/*
 * The user JWT of (workload, user), sealed as the secret (user-jwt, user,
 * workload), with its SHA-256, issuer, subject's SHA-256 (hex) and
 * expiry in the row.  same: 1 when the JWT kept is the one of jwt_hash
 * (and still in force at now), 0 when not, -1.  put stores or replaces
 * it under a new data key, and erases up to a few expired JWTs of any
 * workload, in one transaction.  info: 1 with its issuer and expiry, 0
 * when none is kept, -1.  purge erases every JWT expired at now.
 */
int store_user_jwt_same(struct store *s, const char *workload,
    const char *user, const char *jwt_hash, int64_t now, struct av_err *e);
int store_user_jwt_put(struct store *s, struct vault *v, const char *workload,
    const char *user, const char *issuer, const char *subject_hash,
    const char *jwt_hash, const char *jwt, size_t len, int64_t expires_at,
    int64_t now, struct av_err *e);
int store_user_jwt_info(struct store *s, const char *workload,
    const char *user, char *issuer, size_t len, int64_t *expires_at,
    struct av_err *e);
int store_user_jwt_purge(struct store *s, struct vault *v, int64_t now,
    struct av_err *e);

/* ---- token-signing keys (store.c) ---- */

#define STORE_KID_LEN	8
#define STORE_SPKI_MAX	256

/* A retired token-signing key: its tokens are accepted until not_after. */
struct store_token_key {
	unsigned char	kid[STORE_KID_LEN];
	unsigned char	spki[STORE_SPKI_MAX];	/* DER SubjectPublicKeyInfo */
	size_t		spki_len;
	int64_t		not_after;		/* seconds since the epoch */
};

/*
 * At time now, make (kid, spki) the current token-signing key, whose
 * tokens may be presented up to max_age seconds after issue.  A different
 * current key is retired: its tokens stay acceptable until now plus the
 * longest max_age it had.  Retired keys whose not_after has passed are
 * deleted, and so are all but the max that expire last.  out gets those
 * (*n of them, latest first).  One transaction.
 */
int store_token_key_use(struct store *s, const unsigned char kid[STORE_KID_LEN],
    const unsigned char *spki, size_t len, int64_t max_age, int64_t now,
    struct store_token_key *out, size_t max, size_t *n, struct av_err *e);

/* How many data keys are stored (for tests of crypto-erase). */
int64_t store_dek_count(struct store *s);

#endif /* AV_STORE_H */
