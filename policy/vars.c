/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vars.c - policy variables: ${key}, ${key, 'default'}, and the escapes
 * ${*}, ${?} and ${$} for a literal '*', '?' and '$'.
 *
 * As in IAM, a variable takes the value of a single-valued key of the
 * request.  A key that is missing (or has several values) takes the
 * default when there is one; otherwise the pattern matches nothing (so a
 * negated operator such as StringNotEquals is true).  A substituted value
 * is literal text: its '*' and '?' are not wildcards.
 */
#include <ctype.h>
#include <string.h>

#include "policy/internal.h"

static bool
key_char(int ch)
{
	return isalnum(ch) || strchr(":/_.+=@-", ch) != NULL;
}

/*
 * s points at "${".  On success *used is the length of the whole
 * reference and either *literal is the escaped character or v is filled.
 */
int
var_parse(const char *s, size_t len, size_t *used, int *literal,
    struct pvar *v, const char **why)
{
	size_t i = 2, k0, k1, d0;

	*literal = -1;
	if (len >= 4 && s[3] == '}' && strchr("*?$", s[2]) != NULL) {
		*literal = (unsigned char)s[2];
		*used = 4;
		return 0;
	}
	k0 = i;
	while (i < len && key_char((unsigned char)s[i]))
		i++;
	k1 = i;
	if (k1 == k0 || k1 - k0 > POLICY_KEY_MAX ||
	    memchr(s + k0, ':', k1 - k0) == NULL) {
		*why = "a policy variable must name a condition key "
		    "(${prefix:name})";
		return -1;
	}
	memset(v, 0, sizeof(*v));
	v->key = s + k0;
	v->keylen = k1 - k0;
	if (i < len && s[i] == ',') {
		i++;
		while (i < len && s[i] == ' ')
			i++;
		if (i >= len || s[i] != '\'') {
			*why = "a policy variable's default is quoted: "
			    "${key, 'default'}";
			return -1;
		}
		d0 = ++i;
		while (i < len && s[i] != '\'')
			i++;
		if (i >= len) {
			*why = "unterminated default in a policy variable";
			return -1;
		}
		v->def = s + d0;
		v->deflen = i - d0;
		i++;
	}
	if (i >= len || s[i] != '}') {
		*why = "unterminated policy variable (missing '}')";
		return -1;
	}
	*used = i + 1;
	return 0;
}

/*
 * The units of p with its variables replaced by their values; returns the
 * count, or (size_t)-1 when a variable has no value.
 */
size_t
pat_expand(const struct pat *p, const struct policy_ctx *c, uint16_t *out)
{
	const struct policy_ctx_key *k;
	const struct pvar *v;
	const char *val;
	size_t i, j, n = 0, vlen;

	for (i = 0; i < p->n; i++) {
		if (p->u[i] < PAT_VAR) {
			out[n++] = p->u[i];
			continue;
		}
		v = &p->vars[p->u[i] - PAT_VAR];
		k = ctx_find(c, v->key, v->keylen);
		if (k != NULL && k->nvalues == 1) {
			val = k->values[0];
			vlen = k->lens[0];
		} else if (v->def != NULL) {
			val = v->def;
			vlen = v->deflen;
		} else
			return (size_t)-1;
		/* Bounded: POLICY_VALUE_MAX per value, PAT_EXPAND_MAX. */
		for (j = 0; j < vlen; j++)
			out[n++] = (unsigned char)val[j];
	}
	return n;
}
