/* SPDX-License-Identifier: Apache-2.0 */
/*
 * policy.h - the IAM-like policy language and its evaluator (spec §9,
 * docs/policy.md).
 *
 * A document (YAML or JSON) is parsed and compiled once into a
 * struct policy_doc; documents are collected in a struct policy_set, in
 * order.  A request is a struct policy_ctx: the action, the resource ARN
 * and condition keys, each with one or more string values.  policy_eval()
 * never fails: it returns the decision and the statement that made it.
 *
 * Errors follow the daemon's convention (daemon/error.h): 0 or a pointer
 * on success, -1 or NULL with struct av_err filled (ValidationException,
 * "FILE:LINE:COLUMN: what") on failure.
 */
#ifndef AV_POLICY_H
#define AV_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon/error.h"

/* Limits; a document that exceeds one is refused with a clear error. */
#define POLICY_DOC_MAX		65536	/* bytes of one document */
#define POLICY_SET_DOCS_MAX	64	/* documents in a set */
#define POLICY_STATEMENTS_MAX	128	/* statements in a document */
#define POLICY_ITEMS_MAX	64	/* Action or Resource entries */
#define POLICY_CONDITIONS_MAX	32	/* operator x key pairs per statement */
#define POLICY_COND_VALUES_MAX	64	/* values of one condition */
#define POLICY_PATTERN_MAX	1024	/* bytes of an action, ARN or value */
#define POLICY_PATTERN_VARS_MAX	4	/* policy variables in one pattern */
#define POLICY_KEY_MAX		128	/* bytes of a condition key */
#define POLICY_SID_MAX		128
#define POLICY_NAME_MAX		256	/* a document's name (file) */
#define POLICY_DEPTH_MAX	8	/* nesting of a document */

/* Limits of a request context. */
#define POLICY_CTX_KEYS_MAX	32
#define POLICY_CTX_VALUES_MAX	32	/* values of one key */
#define POLICY_VALUE_MAX	1024	/* bytes of a value, action, resource;
					   longer: denied */

/* The condition key for the caller's workload identity (its ARN). */
#define POLICY_KEY_WORKLOAD	"bedrock-agentcore:workloadIdentityArn"

struct policy_doc;
struct policy_set;

struct policy_ctx_key {
	const char	*name;
	size_t		 namelen;
	const char	*values[POLICY_CTX_VALUES_MAX];
	size_t		 lens[POLICY_CTX_VALUES_MAX];
	size_t		 nvalues;
};

/*
 * A request.  Strings are borrowed: they must outlive policy_eval().
 * A key with no values does not exist.
 */
struct policy_ctx {
	const char		*action;
	const char		*resource;
	struct policy_ctx_key	 keys[POLICY_CTX_KEYS_MAX];
	size_t			 nkeys;
};

enum policy_effect {
	POLICY_IMPLICIT_DENY,	/* no statement allowed it */
	POLICY_ALLOW,
	POLICY_EXPLICIT_DENY,
};

/* What decided: doc and stmt are -1 for an implicit deny. */
struct policy_decision {
	enum policy_effect	 effect;
	int			 doc, stmt;	/* 0-based indexes */
	const char		*doc_name;	/* NULL for an implicit deny */
	const char		*sid;		/* NULL when it has none */
};

/* Parse and compile one document; name (a file name) goes into errors. */
struct policy_doc *policy_parse(const char *name, const char *text,
    size_t len, struct av_err *e);
struct policy_doc *policy_parse_file(const char *path, struct av_err *e);
void policy_doc_free(struct policy_doc *d);
size_t policy_doc_statements(const struct policy_doc *d);

struct policy_set *policy_set_new(struct av_err *e);
/* Append d; the set owns it from then on (also on failure). */
int policy_set_add(struct policy_set *s, struct policy_doc *d,
    struct av_err *e);
void policy_set_free(struct policy_set *s);
/*
 * Does a document of s name this condition key (in a condition or a
 * policy variable), or one that starts with prefix?  Callers put only
 * such keys into a request: the rest cannot change a decision.
 */
bool policy_set_uses_key(const struct policy_set *s, const char *key,
    size_t len);
bool policy_set_uses_prefix(const struct policy_set *s, const char *prefix);

void policy_ctx_init(struct policy_ctx *c, const char *action,
    const char *resource);
/* Add one value to a key (keys compare case-insensitively). */
int policy_ctx_add(struct policy_ctx *c, const char *key, const char *value,
    struct av_err *e);

void policy_eval(const struct policy_set *s, const struct policy_ctx *c,
    struct policy_decision *d);
const char *policy_effect_name(enum policy_effect effect);
/* "Allow by doc.yaml statement ReadOwn" and the like, for the audit log. */
int policy_decision_format(const struct policy_decision *d, char *buf,
    size_t len);

/*
 * Built-in documents (builtin.c): AgentVaultFullAccess,
 * AgentVaultReadOnlyAccess, AgentVaultAgentAccess, AgentVaultServiceAccess.
 * policy_builtins() ends with a { NULL, NULL } entry.
 */
struct policy_builtin {
	const char	*name;
	const char	*text;		/* YAML */
};
const struct policy_builtin *policy_builtin(const char *name);
const struct policy_builtin *policy_builtins(void);
/* Replace the name decisions and errors show (a policy's name rather
 * than the file it was read from); 0 or -1 when out of memory. */
int policy_doc_rename(struct policy_doc *d, const char *name);

#endif /* AV_POLICY_H */
