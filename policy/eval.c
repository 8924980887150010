/* SPDX-License-Identifier: Apache-2.0 */
/*
 * eval.c - request contexts, policy sets and the decision, as IAM
 * evaluates identity-based policies: a request is denied unless a
 * statement allows it, and a statement that denies it wins over every
 * allow.  The first matching Deny (in document, then statement order)
 * decides; otherwise the first matching Allow; otherwise nothing did.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy/internal.h"

struct pkey {
	const char	*s;
	size_t		 len;
};

struct policy_set {
	struct policy_doc	*doc[POLICY_SET_DOCS_MAX];
	size_t			 ndoc;
	/* The condition keys its documents name (conditions and policy
	 * variables), once each: callers add only those to a request. */
	const struct pkey	*keys;
	size_t			 nkeys;
};

void
policy_ctx_init(struct policy_ctx *c, const char *action,
    const char *resource)
{
	c->action = action;
	c->resource = resource;
	c->nkeys = 0;
}

const struct policy_ctx_key *
ctx_find(const struct policy_ctx *c, const char *key, size_t keylen)
{
	size_t i;

	for (i = 0; i < c->nkeys; i++)
		if (c->keys[i].namelen == keylen &&
		    strncasecmp(c->keys[i].name, key, keylen) == 0)
			return &c->keys[i];
	return NULL;
}

int
policy_ctx_add(struct policy_ctx *c, const char *key, const char *value,
    struct av_err *e)
{
	struct policy_ctx_key *k;
	size_t keylen = strlen(key), vlen = strlen(value);

	if (keylen == 0 || keylen > POLICY_KEY_MAX)
		return av_fail(e, AV_E_VALIDATION, "condition key '%.64s' is "
		    "empty or too long", key);
	if (vlen > POLICY_VALUE_MAX)
		return av_fail(e, AV_E_VALIDATION, "value of %s too long "
		    "(at most %d bytes)", key, POLICY_VALUE_MAX);
	if ((k = (struct policy_ctx_key *)ctx_find(c, key, keylen)) == NULL) {
		if (c->nkeys == POLICY_CTX_KEYS_MAX)
			return av_fail(e, AV_E_VALIDATION, "too many "
			    "condition keys (at most %d)", POLICY_CTX_KEYS_MAX);
		k = &c->keys[c->nkeys++];
		k->name = key;
		k->namelen = keylen;
		k->nvalues = 0;
	}
	if (k->nvalues == POLICY_CTX_VALUES_MAX)
		return av_fail(e, AV_E_VALIDATION, "too many values for %s "
		    "(at most %d)", key, POLICY_CTX_VALUES_MAX);
	k->values[k->nvalues] = value;
	k->lens[k->nvalues++] = vlen;
	return 0;
}

struct policy_set *
policy_set_new(struct av_err *e)
{
	struct policy_set *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		av_fail(e, AV_E_INTERNAL, "out of memory");
	return s;
}

static bool
keys_have(const struct pkey *k, size_t n, const char *key, size_t len)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (k[i].len == len && strncasecmp(k[i].s, key, len) == 0)
			return true;
	return false;
}

static int
keys_add(struct pkey **k, size_t *n, size_t *cap, const char *key,
    size_t len)
{
	struct pkey *nk;

	if (keys_have(*k, *n, key, len))
		return 0;
	if (*n == *cap) {
		*cap = *cap == 0 ? 16 : 2 * *cap;
		if ((nk = reallocarray(*k, *cap, sizeof(**k))) == NULL)
			return -1;
		*k = nk;
	}
	(*k)[*n].s = key;
	(*k)[(*n)++].len = len;
	return 0;
}

static int
pat_keys(struct pkey **k, size_t *n, size_t *cap, const struct pat *p)
{
	size_t i;

	for (i = 0; i < p->nvars; i++)
		if (keys_add(k, n, cap, p->vars[i].key, p->vars[i].keylen))
			return -1;
	return 0;
}

static int
arnpat_keys(struct pkey **k, size_t *n, size_t *cap, const struct arnpat *p)
{
	size_t g;

	for (g = 0; g < ARN_SEGMENTS; g++)
		if (!p->any && pat_keys(k, n, cap, &p->seg[g]) != 0)
			return -1;
	return 0;
}

/* Collect the keys d names into the set's list. */
static int
set_keys_add(struct policy_set *s, const struct policy_doc *d)
{
	struct pkey *k = (struct pkey *)s->keys;
	size_t n = s->nkeys, cap = n, si, i, j;
	const struct stmt *st;
	const struct cond *c;
	int rc = 0;

	for (si = 0; si < d->nst && rc == 0; si++) {
		st = &d->st[si];
		for (i = 0; i < st->nres && rc == 0; i++)
			rc = arnpat_keys(&k, &n, &cap, &st->res[i]);
		for (i = 0; i < st->ncond && rc == 0; i++) {
			c = &st->cond[i];
			rc = keys_add(&k, &n, &cap, c->key, c->keylen);
			if (c->op != COP_STR && c->op != COP_STR_IC &&
			    c->op != COP_LIKE && c->op != COP_ARN)
				continue;
			for (j = 0; j < c->nv && rc == 0; j++)
				rc = c->op == COP_ARN ? arnpat_keys(&k, &n, &cap,
				    &c->v[j].a) : pat_keys(&k, &n, &cap,
				    &c->v[j].p);
		}
	}
	s->keys = k;
	s->nkeys = n;
	return rc;
}

int
policy_set_add(struct policy_set *s, struct policy_doc *d, struct av_err *e)
{
	if (s->ndoc == POLICY_SET_DOCS_MAX) {
		policy_doc_free(d);
		return av_fail(e, AV_E_VALIDATION, "too many policy documents "
		    "(at most %d)", POLICY_SET_DOCS_MAX);
	}
	s->doc[s->ndoc++] = d;
	if (set_keys_add(s, d) != 0)
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	return 0;
}

bool
policy_set_uses_key(const struct policy_set *s, const char *key, size_t len)
{
	return keys_have(s->keys, s->nkeys, key, len);
}

bool
policy_set_uses_prefix(const struct policy_set *s, const char *prefix)
{
	size_t i, len = strlen(prefix);

	for (i = 0; i < s->nkeys; i++)
		if (s->keys[i].len > len &&
		    strncasecmp(s->keys[i].s, prefix, len) == 0)
			return true;
	return false;
}

void
policy_set_free(struct policy_set *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->ndoc; i++)
		policy_doc_free(s->doc[i]);
	free((void *)s->keys);
	free(s);
}

static bool
stmt_matches(const struct stmt *st, const struct policy_ctx *c,
    const char *action, size_t alen, size_t rlen)
{
	size_t i;
	bool m;

	for (i = 0, m = false; i < st->nact && !m; i++)
		m = pat_match(&st->act[i], c, action, alen);
	if (m == st->notaction)
		return false;
	for (i = 0, m = false; i < st->nres && !m; i++)
		m = arnpat_match(&st->res[i], c, c->resource, rlen);
	if (m == st->notresource)
		return false;
	for (i = 0; i < st->ncond; i++)
		if (!cond_eval(&st->cond[i], c))
			return false;
	return true;
}

static void
decide(struct policy_decision *d, enum policy_effect effect,
    const struct policy_doc *doc, size_t di, size_t si)
{
	d->effect = effect;
	d->doc = (int)di;
	d->stmt = (int)si;
	d->doc_name = doc->name;
	d->sid = doc->st[si].sid;
}

void
policy_eval(const struct policy_set *s, const struct policy_ctx *c,
    struct policy_decision *d)
{
	const struct policy_doc *doc;
	char action[POLICY_VALUE_MAX + 1];
	size_t di, si, alen, rlen;
	bool allowed = false;

	memset(d, 0, sizeof(*d));
	d->effect = POLICY_IMPLICIT_DENY;
	d->doc = d->stmt = -1;
	if (c->action == NULL || c->resource == NULL ||
	    (alen = strlen(c->action)) > POLICY_VALUE_MAX)
		return;
	/* Actions compare case-insensitively: both sides in lower case. */
	for (si = 0; si < alen; si++)
		action[si] = c->action[si] >= 'A' && c->action[si] <= 'Z' ?
		    c->action[si] - 'A' + 'a' : c->action[si];
	if ((rlen = strlen(c->resource)) > POLICY_VALUE_MAX)
		return;
	for (di = 0; di < s->ndoc; di++) {
		doc = s->doc[di];
		for (si = 0; si < doc->nst; si++) {
			if (!doc->st[si].deny && allowed)
				continue;
			if (!stmt_matches(&doc->st[si], c, action, alen,
			    rlen))
				continue;
			if (doc->st[si].deny) {
				decide(d, POLICY_EXPLICIT_DENY, doc, di, si);
				return;
			}
			decide(d, POLICY_ALLOW, doc, di, si);
			allowed = true;
		}
	}
}

const char *
policy_effect_name(enum policy_effect effect)
{
	switch (effect) {
	case POLICY_ALLOW:
		return "Allow";
	case POLICY_EXPLICIT_DENY:
		return "ExplicitDeny";
	default:
		return "ImplicitDeny";
	}
}

int
policy_decision_format(const struct policy_decision *d, char *buf,
    size_t len)
{
	int n;

	if (d->doc < 0)
		n = snprintf(buf, len, "%s (no statement allows it)",
		    policy_effect_name(d->effect));
	else if (d->sid != NULL)
		n = snprintf(buf, len, "%s by %s statement %s",
		    policy_effect_name(d->effect), d->doc_name, d->sid);
	else
		n = snprintf(buf, len, "%s by %s Statement[%d]",
		    policy_effect_name(d->effect), d->doc_name, d->stmt);
	return n >= 0 && (size_t)n < len ? 0 : -1;
}
