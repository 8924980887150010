/* SPDX-License-Identifier: Apache-2.0 */
/*
 * internal.h - the compiled form of policy documents, shared by the
 * policy/ sources.  Nothing here is part of the public interface.
 */
#ifndef AV_POLICY_INTERNAL_H
#define AV_POLICY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"

/*
 * Everything a compiled document owns comes from one arena, freed at
 * once.  It refuses to grow past POLICY_ARENA_MAX.
 */
#define POLICY_ARENA_MAX	(16 * POLICY_DOC_MAX)

struct arena_chunk;
struct arena {
	struct arena_chunk	*head;
	size_t			 total;
};

void *arena_alloc(struct arena *a, size_t n);
char *arena_strndup(struct arena *a, const char *s, size_t n);
void arena_free(struct arena *a);

/*
 * A compiled pattern is an array of units: a byte (0-255), a wildcard,
 * or a reference to a policy variable, expanded at evaluation.
 */
#define POLICY_STR(x)	#x
#define POLICY_XSTR(x)	POLICY_STR(x)

#define PAT_STAR	0x100
#define PAT_QMARK	0x101
#define PAT_VAR		0x200	/* + index into vars */

/* Expanded, a pattern never exceeds this many units. */
#define PAT_EXPAND_MAX	(POLICY_PATTERN_MAX + \
	POLICY_PATTERN_VARS_MAX * POLICY_VALUE_MAX)

struct pvar {
	const char	*key;
	size_t		 keylen;
	const char	*def;		/* ${key, 'default'}; NULL: none */
	size_t		 deflen;
};

/*
 * pre and suf are the literal runs that start and end the pattern (the
 * whole pattern when it is all literal): most non-matches fail on them
 * with a memcmp, before any wildcard is tried.
 */
struct pat {
	const uint16_t		*u;
	size_t			 n;
	const struct pvar	*vars;
	size_t			 nvars;
	const char		*pre, *suf;
	size_t			 npre, nsuf;
	bool			 literal;	/* no wildcard, no variable */
};

#define PAT_WILD	0x1	/* '*' and '?' are wildcards */
#define PAT_VARS	0x2	/* ${...} are policy variables */
#define PAT_LOWER	0x4	/* fold ASCII to lower case (actions) */

/* An ARN pattern: "*" alone, or six segments matched one by one. */
#define ARN_SEGMENTS	6
struct arnpat {
	bool		any;
	struct pat	seg[ARN_SEGMENTS];
};

/* match.c */
int pat_compile(struct arena *a, const char *s, size_t len, int flags,
    struct pat *p, const char **why);
int arnpat_compile(struct arena *a, const char *s, size_t len, int flags,
    struct arnpat *p, const char **why);
bool pat_match(const struct pat *p, const struct policy_ctx *c,
    const char *s, size_t len);
bool arnpat_match(const struct arnpat *p, const struct policy_ctx *c,
    const char *s, size_t len);

/* vars.c */
int var_parse(const char *s, size_t len, size_t *used, int *literal,
    struct pvar *v, const char **why);
size_t pat_expand(const struct pat *p, const struct policy_ctx *c,
    uint16_t *out);

/* eval.c */
const struct policy_ctx_key *ctx_find(const struct policy_ctx *c,
    const char *key, size_t keylen);

/* cond.c */
enum cop {
	COP_STR, COP_STR_IC, COP_LIKE, COP_ARN, COP_BOOL, COP_NULL,
	COP_NUM_EQ, COP_NUM_LT, COP_NUM_LE, COP_NUM_GT, COP_NUM_GE,
	COP_DATE_EQ, COP_DATE_LT, COP_DATE_LE, COP_DATE_GT, COP_DATE_GE,
};
enum qual { Q_NONE, Q_ANY, Q_ALL };

union cval {
	struct pat	 p;
	struct arnpat	 a;
	double		 num;
	int64_t		 ms;	/* dates: milliseconds since the epoch */
	bool		 b;
};

struct cond {
	enum cop	 op;
	enum qual	 qual;
	bool		 neg, ifexists;
	const char	*key;
	size_t		 keylen;
	union cval	*v;
	size_t		 nv;
};

/* Parse an operator name ("ForAllValues:StringLikeIfExists"). */
int cond_operator(const char *name, struct cond *c, const char **why);
/* Compile value i (text s) of c. */
int cond_value(struct arena *a, struct cond *c, size_t i, const char *s,
    size_t len, const char **why);
bool cond_eval(const struct cond *c, const struct policy_ctx *ctx);
int parse_number(const char *s, size_t len, double *out);
int parse_date(const char *s, size_t len, int64_t *ms);

struct stmt {
	const char	*sid;		/* NULL: none */
	bool		 deny, notaction, notresource;
	struct pat	*act;
	size_t		 nact;
	struct arnpat	*res;
	size_t		 nres;
	struct cond	*cond;
	size_t		 ncond;
};

struct policy_doc {
	char		*name;
	struct arena	 arena;
	struct stmt	*st;
	size_t		 nst;
};

#endif /* AV_POLICY_INTERNAL_H */
