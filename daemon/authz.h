/* SPDX-License-Identifier: Apache-2.0 */
/*
 * authz.h - who a caller is and what it may do (spec §9, docs/policy.md).
 *
 * The configuration's principals, each with the policies attached to it
 * (built-in ones, files of policy.dir, documents stored through the API),
 * are compiled into a snapshot: read-only, shared by the event loops,
 * replaced as a whole when a policy changes.  authz_decide() builds the
 * request context of one call and evaluates it.
 */
#ifndef AV_AUTHZ_H
#define AV_AUTHZ_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "config.h"
#include "error.h"
#include "httpd.h"

#define AUTHZ_FILES_MAX		256	/* documents in policy.dir */
#define AUTHZ_ORIGIN_SIZE	(AV_CONFIG_PATH_SIZE + 16)
#define AUTHZ_WHY_SIZE		512	/* a decision, for the audit record */

/* A policy document's text, its name and where it comes from. */
struct authz_source {
	char	 name[AV_POLICY_NAME_SIZE];
	char	 origin[AUTHZ_ORIGIN_SIZE];	/* "built-in", a path, "api" */
	char	*text;
	size_t	 len;
};

struct authz_sources {
	struct authz_source	*v;
	size_t			 n, cap;
};

/* A policy attached through the API (after the configuration's). */
struct authz_attachment {
	const char	*principal;
	const char	*policy;
};

/*
 * Read the documents of dir (*.yaml, *.yml, *.json; others ignored),
 * each named after its file's stem, sorted by name.  The directory and
 * the files must not be writable by group or others, the files owned by
 * root or by us.  Every file is parsed: errors name it, line and column.
 */
int	authz_sources_load_dir(struct authz_sources *s, const char *dir,
	    struct av_err *e);
int	authz_sources_add(struct authz_sources *s, const char *name,
	    const char *origin, const char *text, size_t len, struct av_err *e);
const struct authz_source *authz_sources_find(const struct authz_sources *s,
	    const char *name);
void	authz_sources_free(struct authz_sources *s);

/*
 * Check what the parent can before it accepts a configuration: the files
 * of policy.dir parse, and every policy a principal lists is built in or
 * a file (policies stored through the API are attached through the API).
 * files receives the documents read (free them with authz_sources_free).
 */
int	authz_check_config(const struct av_config *cfg,
	    struct authz_sources *files, struct av_err *e);

/*
 * What the parent accepted, for each worker it starts: the configuration's
 * text and the policy files, in a sealed memfd (close-on-exec; the parent
 * hands a copy across exec).  A worker enforces what was checked and
 * audited, whatever the files say by the time it starts.  seal returns the
 * descriptor or -1; read fills config (malloc, NUL-terminated) and files.
 */
#define AUTHZ_STATE_MAX		(64 << 20)
int	authz_state_seal(const char *config, size_t len,
	    const struct authz_sources *files, struct av_err *e);
int	authz_state_read(int fd, char **config, size_t *len,
	    struct authz_sources *files, struct av_err *e);

struct authz;
struct authz_principal;

/* Compile a snapshot (one reference); NULL with e filled. */
struct authz *authz_build(const struct av_principals_config *ps,
	    const struct authz_sources *files, const struct authz_sources *stored,
	    const struct authz_attachment *att, size_t natt, struct av_err *e);
void	authz_release(struct authz *a);

/* The snapshot in force; loops take a reference for one call. */
struct authz_holder {
	pthread_mutex_t	 mu;
	struct authz	*cur;
};
void	authz_holder_init(struct authz_holder *h);
struct authz *authz_acquire(struct authz_holder *h);
/* Put a (its reference) in force and drop the previous snapshot's. */
void	authz_publish(struct authz_holder *h, struct authz *a);
void	authz_holder_free(struct authz_holder *h);

/* The principal a caller is, or NULL: nobody the appliance knows. */
const struct authz_principal *authz_principal_of(const struct authz *a,
	    const struct av_caller *c);
const struct authz_principal *authz_principal_named(const struct authz *a,
	    const char *name);
const struct av_principal *authz_principal_config(
	    const struct authz_principal *p);

/* Keys a caller need only look up when a policy of p names them. */
enum authz_keys {
	AUTHZ_RESOURCE_TAGS,	/* aws:ResourceTag/... */
	AUTHZ_PRINCIPAL_TAGS,	/* aws:PrincipalTag/... */
};
bool	authz_uses(const struct authz_principal *p, enum authz_keys k);

/* One call, as the policies see it.  Strings and JSON are borrowed. */
struct authz_request {
	const char	*operation;	/* "GetResourceApiKey" */
	const char	*resource;	/* the ARN the call acts on */
	const char	*provider;	/* resourceCredentialProvider, or NULL */
	const char	*workload;	/* workloadIdentityArn, or NULL */
	bool		 as_workload;	/* the caller showed workload's token */
	const json_t	*resource_tags;	/* object, or NULL */
	const json_t	*workload_tags;	/* the workload identity's: principal
					   tags where the principal has none
					   (looked up when as_workload) */
	const json_t	*request_tags;	/* object the call sets, or NULL */
	const json_t	*tag_keys;	/* array the call removes, or NULL */
	const json_t	*extra;		/* simulation: {key: value or
					   [values]}, which replace the keys
					   named */
};

/*
 * Decide: 0 when allowed; -1 with AccessDeniedException in e otherwise
 * (never naming a statement).  why always says what decided
 * ("Allow by tenant-abac statement SameTenant", "ImplicitDeny (no
 * statement allows it)", "no principal"), for the audit record.
 */
int	authz_decide(const struct authz_principal *p, const struct av_caller *c,
	    const struct authz_request *r, char *why, size_t whylen,
	    struct av_err *e);

/*
 * What authz_decide() would decide for p, without a caller: the keys of
 * the caller's transport (agentvault:uid, gid, subject) come from
 * q->extra only.  0 with d (its names point into the snapshot) and why
 * filled; -1 when q does not fit a request (ValidationException).
 */
struct policy_decision;
int	authz_simulate(const struct authz_principal *p,
	    const struct authz_request *q, struct policy_decision *d,
	    char *why, size_t whylen, struct av_err *e);

#endif /* AV_AUTHZ_H */
