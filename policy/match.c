/* SPDX-License-Identifier: Apache-2.0 */
/*
 * match.c - patterns: '*' (any run of characters, also none) and '?'
 * (exactly one character) as in IAM, for actions (compiled and matched
 * in lower case: actions are case-insensitive), string conditions and
 * ARNs.  An ARN pattern is matched segment by
 * segment like IAM's: the first five colon-separated segments (arn,
 * partition, service, region, account) one by one, where a wildcard never
 * crosses a ':', and the resource (the rest, colons included) last.
 */
#include <string.h>

#include "policy/internal.h"

static char *
units_str(struct arena *a, const uint16_t *u, size_t n)
{
	char *s;
	size_t i;

	if ((s = arena_alloc(a, n + 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		s[i] = (char)u[i];
	return s;
}

static int
literal_runs(struct arena *a, struct pat *p)
{
	size_t i;

	for (i = 0; i < p->n && p->u[i] < PAT_STAR; i++)
		;
	p->npre = i;
	p->literal = i == p->n;
	for (i = p->n; i > p->npre && p->u[i - 1] < PAT_STAR; i--)
		;
	p->nsuf = p->literal ? 0 : p->n - i;
	if ((p->pre = units_str(a, p->u, p->npre)) == NULL ||
	    (p->suf = units_str(a, p->u + p->n - p->nsuf, p->nsuf)) == NULL)
		return -1;
	return 0;
}

int
pat_compile(struct arena *a, const char *s, size_t len, int flags,
    struct pat *p, const char **why)
{
	struct pvar vars[POLICY_PATTERN_VARS_MAX], *vp;
	uint16_t *u;
	size_t i, n = 0, nvars = 0, used;
	int lit;

	if (len > POLICY_PATTERN_MAX) {
		*why = "pattern too long (at most "
		    POLICY_XSTR(POLICY_PATTERN_MAX) " bytes)";
		return -1;
	}
	if ((u = arena_alloc(a, (len + 1) * sizeof(*u))) == NULL) {
		*why = "document too large";
		return -1;
	}
	for (i = 0; i < len; i++) {
		if (s[i] == '\0') {
			*why = "NUL character in a string";
			return -1;
		}
		if ((flags & PAT_VARS) && s[i] == '$' && i + 1 < len &&
		    s[i + 1] == '{') {
			if (nvars == POLICY_PATTERN_VARS_MAX) {
				*why = "too many policy variables in one "
				    "string (at most "
				    POLICY_XSTR(POLICY_PATTERN_VARS_MAX) ")";
				return -1;
			}
			if (var_parse(s + i, len - i, &used, &lit,
			    &vars[nvars], why) == -1)
				return -1;
			i += used - 1;
			if (lit >= 0)
				u[n++] = (uint16_t)lit;
			else {
				u[n++] = (uint16_t)(PAT_VAR + nvars);
				nvars++;
			}
		} else if ((flags & PAT_WILD) && s[i] == '*')
			u[n++] = PAT_STAR;
		else if ((flags & PAT_WILD) && s[i] == '?')
			u[n++] = PAT_QMARK;
		else if ((flags & PAT_LOWER) && s[i] >= 'A' && s[i] <= 'Z')
			u[n++] = (unsigned char)(s[i] - 'A' + 'a');
		else
			u[n++] = (unsigned char)s[i];
	}
	p->u = u;
	p->n = n;
	p->nvars = nvars;
	p->vars = NULL;
	if (literal_runs(a, p) == -1) {
		*why = "document too large";
		return -1;
	}
	if (nvars > 0) {
		if ((vp = arena_alloc(a, nvars * sizeof(*vp))) == NULL) {
			*why = "document too large";
			return -1;
		}
		for (i = 0; i < nvars; i++) {
			vp[i] = vars[i];
			/* The text lives on in the arena, not in s. */
			if ((vp[i].key = arena_strndup(a, vars[i].key,
			    vars[i].keylen)) == NULL || (vars[i].def != NULL &&
			    (vp[i].def = arena_strndup(a, vars[i].def,
			    vars[i].deflen)) == NULL)) {
				*why = "document too large";
				return -1;
			}
		}
		p->vars = vp;
	}
	return 0;
}

/* The end of the ARN segment starting at s[i]: a ':' outside ${...}. */
static size_t
segment_end(const char *s, size_t len, size_t i, bool last)
{
	bool invar = false;

	for (; i < len; i++) {
		if (invar) {
			if (s[i] == '}')
				invar = false;
		} else if (s[i] == '$' && i + 1 < len && s[i + 1] == '{')
			invar = true;
		else if (s[i] == ':' && !last)
			break;
	}
	return i;
}

int
arnpat_compile(struct arena *a, const char *s, size_t len, int flags,
    struct arnpat *p, const char **why)
{
	size_t i = 0, end;
	int n;

	memset(p, 0, sizeof(*p));
	if (len == 1 && s[0] == '*') {
		p->any = true;
		return 0;
	}
	if (len > POLICY_PATTERN_MAX) {
		*why = "pattern too long (at most "
		    POLICY_XSTR(POLICY_PATTERN_MAX) " bytes)";
		return -1;
	}
	for (n = 0; n < ARN_SEGMENTS; n++) {
		end = segment_end(s, len, i, n == ARN_SEGMENTS - 1);
		if (n < ARN_SEGMENTS - 1 && end == len) {
			*why = "not an ARN pattern "
			    "(arn:partition:service:region:account:resource) "
			    "or \"*\"";
			return -1;
		}
		if (pat_compile(a, s + i, end - i, flags, &p->seg[n],
		    why) == -1)
			return -1;
		i = end + 1;
	}
	if (p->seg[0].n != 3 || p->seg[0].u[0] != 'a' ||
	    p->seg[0].u[1] != 'r' || p->seg[0].u[2] != 'n') {
		*why = "an ARN pattern starts with \"arn:\"";
		return -1;
	}
	return 0;
}

/*
 * Iterative matching with backtracking to the last '*': linear in most
 * cases, O(len(p) * len(s)) at worst, both bounded.  '?' takes one UTF-8
 * character.
 */
static bool
glob_match(const uint16_t *p, size_t np, const char *s, size_t ns)
{
	size_t pi = 0, si = 0, star = (size_t)-1, mark = 0;

	while (si < ns) {
		if (pi < np && p[pi] == PAT_STAR) {
			star = pi++;
			mark = si;
		} else if (pi < np && p[pi] == PAT_QMARK) {
			pi++;
			si++;
			while (si < ns && ((unsigned char)s[si] & 0xc0) == 0x80)
				si++;
		} else if (pi < np && p[pi] == (unsigned char)s[si]) {
			pi++;
			si++;
		} else if (star != (size_t)-1) {
			pi = star + 1;
			si = ++mark;
		} else
			return false;
	}
	while (pi < np && p[pi] == PAT_STAR)
		pi++;
	return pi == np;
}

bool
pat_match(const struct pat *p, const struct policy_ctx *c, const char *s,
    size_t len)
{
	uint16_t buf[PAT_EXPAND_MAX];
	size_t n;

	if (p->literal)
		return len == p->n && memcmp(p->pre, s, len) == 0;
	if (len < p->npre + p->nsuf || memcmp(p->pre, s, p->npre) != 0 ||
	    memcmp(p->suf, s + len - p->nsuf, p->nsuf) != 0)
		return false;
	if (p->nvars == 0)
		return glob_match(p->u + p->npre, p->n - p->npre - p->nsuf,
		    s + p->npre, len - p->npre - p->nsuf);
	if ((n = pat_expand(p, c, buf)) == (size_t)-1)
		return false;
	return glob_match(buf, n, s, len);
}

bool
arnpat_match(const struct arnpat *p, const struct policy_ctx *c,
    const char *s, size_t len)
{
	const char *colon;
	size_t i = 0, end;
	int n;

	if (p->any)
		return true;
	for (n = 0; n < ARN_SEGMENTS; n++) {
		if (n < ARN_SEGMENTS - 1) {
			colon = memchr(s + i, ':', len - i);
			if (colon == NULL)
				return false;
			end = (size_t)(colon - s);
		} else
			end = len;
		if (!pat_match(&p->seg[n], c, s + i, end - i))
			return false;
		i = end + 1;
	}
	return true;
}
