/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cond.c - condition operators, their IfExists forms and the
 * ForAnyValue:/ForAllValues: set qualifiers, with IAM's semantics:
 *
 *   key missing:  ...IfExists: true; ForAllValues: true; ForAnyValue:
 *                 false; otherwise a negated operator (StringNotEquals,
 *                 ArnNotLike, ...) is true and any other false.  Null
 *                 tests exactly this.
 *   key present:  unqualified, the key matches when one of its values
 *                 matches one of the condition's values (a negated
 *                 operator: when none does); ForAnyValue: some request
 *                 value matches (negated: matches none of the condition's
 *                 values); ForAllValues: every request value does.
 *
 * Keys compare case-insensitively; values as the operator says.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy/internal.h"

static const struct {
	const char	*name;
	enum cop	 op;
	bool		 neg;
} ops[] = {
	{ "StringEquals", COP_STR, false },
	{ "StringNotEquals", COP_STR, true },
	{ "StringEqualsIgnoreCase", COP_STR_IC, false },
	{ "StringNotEqualsIgnoreCase", COP_STR_IC, true },
	{ "StringLike", COP_LIKE, false },
	{ "StringNotLike", COP_LIKE, true },
	{ "ArnEquals", COP_ARN, false },
	{ "ArnNotEquals", COP_ARN, true },
	{ "ArnLike", COP_ARN, false },
	{ "ArnNotLike", COP_ARN, true },
	{ "Bool", COP_BOOL, false },
	{ "Null", COP_NULL, false },
	{ "NumericEquals", COP_NUM_EQ, false },
	{ "NumericNotEquals", COP_NUM_EQ, true },
	{ "NumericLessThan", COP_NUM_LT, false },
	{ "NumericLessThanEquals", COP_NUM_LE, false },
	{ "NumericGreaterThan", COP_NUM_GT, false },
	{ "NumericGreaterThanEquals", COP_NUM_GE, false },
	{ "DateEquals", COP_DATE_EQ, false },
	{ "DateNotEquals", COP_DATE_EQ, true },
	{ "DateLessThan", COP_DATE_LT, false },
	{ "DateLessThanEquals", COP_DATE_LE, false },
	{ "DateGreaterThan", COP_DATE_GT, false },
	{ "DateGreaterThanEquals", COP_DATE_GE, false },
};

int
cond_operator(const char *name, struct cond *c, const char **why)
{
	size_t i, len;

	c->qual = Q_NONE;
	if (strncmp(name, "ForAnyValue:", 12) == 0) {
		c->qual = Q_ANY;
		name += 12;
	} else if (strncmp(name, "ForAllValues:", 13) == 0) {
		c->qual = Q_ALL;
		name += 13;
	}
	len = strlen(name);
	c->ifexists = len > 8 && strcmp(name + len - 8, "IfExists") == 0;
	if (c->ifexists)
		len -= 8;
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (strlen(ops[i].name) != len ||
		    strncmp(ops[i].name, name, len) != 0)
			continue;
		c->op = ops[i].op;
		c->neg = ops[i].neg;
		if (c->op == COP_NULL && (c->ifexists || c->qual != Q_NONE)) {
			*why = "Null takes neither IfExists nor a set "
			    "qualifier";
			return -1;
		}
		return 0;
	}
	*why = "unknown condition operator (see docs/policy.md; IpAddress "
	    "and Binary are not supported)";
	return -1;
}

/* A decimal number: [+-]digits[.digits][e[+-]digits], finite. */
int
parse_number(const char *s, size_t len, double *out)
{
	char buf[64], *end;
	size_t i, sign;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	for (i = 0; i < len; i++)
		if (!isdigit((unsigned char)s[i]) &&
		    strchr("+-.eE", s[i]) == NULL)
			return -1;
	sign = s[0] == '-' || s[0] == '+';
	if (sign >= len || !isdigit((unsigned char)s[sign]))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	*out = strtod(buf, &end);
	return *end == '\0' && isfinite(*out) ? 0 : -1;
}

static int
digits(const char *s, size_t len, size_t *i, int n, int *out)
{
	int v = 0;

	while (n-- > 0) {
		if (*i >= len || !isdigit((unsigned char)s[*i]))
			return -1;
		v = v * 10 + (s[(*i)++] - '0');
	}
	*out = v;
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/*
 * ISO 8601 as IAM takes it (YYYY-MM-DD, YYYY-MM-DDThh:mm[:ss[.fff]] with
 * Z, +hh:mm or nothing for UTC) or seconds since the epoch.
 */
int
parse_date(const char *s, size_t len, int64_t *ms)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	size_t i = 0;
	int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0, scale = 100, oh, om;
	int64_t t, off = 0, v = 0;

	for (i = 0; i < len && isdigit((unsigned char)s[i]); i++)
		;
	if (i == len && len > 0 && len <= 12) {
		for (i = 0; i < len; i++)
			v = v * 10 + (s[i] - '0');
		*ms = v * 1000;
		return 0;
	}
	i = 0;
	if (digits(s, len, &i, 4, &y) == -1 || i >= len || s[i++] != '-' ||
	    digits(s, len, &i, 2, &mo) == -1 || i >= len || s[i++] != '-' ||
	    digits(s, len, &i, 2, &d) == -1)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && (y % 4 != 0 ||
	    (y % 100 == 0 && y % 400 != 0))))
		return -1;
	if (i < len) {
		if (s[i] != 'T' && s[i] != 't')
			return -1;
		i++;
		if (digits(s, len, &i, 2, &h) == -1 || i >= len ||
		    s[i++] != ':' || digits(s, len, &i, 2, &mi) == -1)
			return -1;
		if (i < len && s[i] == ':') {
			i++;
			if (digits(s, len, &i, 2, &sec) == -1)
				return -1;
			if (i < len && s[i] == '.') {
				if (++i >= len ||
				    !isdigit((unsigned char)s[i]))
					return -1;
				for (; i < len && isdigit((unsigned char)s[i]);
				    i++, scale /= 10)
					frac += (s[i] - '0') * scale;
			}
		}
		if (h > 23 || mi > 59 || sec > 60)
			return -1;
		if (i < len && (s[i] == 'Z' || s[i] == 'z'))
			i++;
		else if (i < len && (s[i] == '+' || s[i] == '-')) {
			int sign = s[i++] == '-' ? -1 : 1;

			if (digits(s, len, &i, 2, &oh) == -1 || i >= len ||
			    s[i++] != ':' || digits(s, len, &i, 2, &om) == -1 ||
			    oh > 23 || om > 59)
				return -1;
			off = sign * (oh * 3600 + om * 60);
		}
		if (i != len)
			return -1;
	}
	t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
	    off;
	*ms = t * 1000 + frac;
	return 0;
}

int
cond_value(struct arena *a, struct cond *c, size_t i, const char *s,
    size_t len, const char **why)
{
	union cval *v = &c->v[i];

	switch (c->op) {
	case COP_STR:
	case COP_STR_IC:
		return pat_compile(a, s, len, PAT_VARS, &v->p, why);
	case COP_LIKE:
		return pat_compile(a, s, len, PAT_VARS | PAT_WILD, &v->p, why);
	case COP_ARN:
		return arnpat_compile(a, s, len, PAT_VARS | PAT_WILD, &v->a,
		    why);
	case COP_BOOL:
	case COP_NULL:
		if (len == 4 && strncasecmp(s, "true", 4) == 0)
			v->b = true;
		else if (len == 5 && strncasecmp(s, "false", 5) == 0)
			v->b = false;
		else {
			*why = "the value must be true or false";
			return -1;
		}
		if (c->op == COP_NULL && c->nv > 1) {
			*why = "Null takes one value";
			return -1;
		}
		return 0;
	case COP_NUM_EQ:
	case COP_NUM_LT:
	case COP_NUM_LE:
	case COP_NUM_GT:
	case COP_NUM_GE:
		if (parse_number(s, len, &v->num) == -1) {
			*why = "the value must be a decimal number";
			return -1;
		}
		return 0;
	default:
		if (parse_date(s, len, &v->ms) == -1) {
			*why = "the value must be an ISO 8601 date "
			    "(2026-01-31T12:00:00Z) or seconds since the epoch";
			return -1;
		}
		return 0;
	}
}

static unsigned
lower(unsigned ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch;
}

static bool
str_eq(const struct pat *p, const struct policy_ctx *ctx, const char *s,
    size_t len, bool icase)
{
	uint16_t buf[PAT_EXPAND_MAX];
	const uint16_t *u = p->u;
	size_t i, n = p->n;

	if (p->nvars > 0) {
		if ((n = pat_expand(p, ctx, buf)) == (size_t)-1)
			return false;
		u = buf;
	}
	if (n != len)
		return false;
	if (!icase && p->nvars == 0)
		return memcmp(p->pre, s, n) == 0;
	for (i = 0; i < n; i++)
		if (u[i] != (unsigned char)s[i] && (!icase ||
		    lower(u[i]) != lower((unsigned char)s[i])))
			return false;
	return true;
}

/* Does one request value match one of the condition's values? */
static bool
match_value(const struct cond *c, const struct policy_ctx *ctx,
    const char *s, size_t len)
{
	double num = 0;
	int64_t ms = 0;
	size_t i;

	if (c->op >= COP_NUM_EQ && c->op <= COP_NUM_GE &&
	    parse_number(s, len, &num) == -1)
		return false;
	if (c->op >= COP_DATE_EQ && parse_date(s, len, &ms) == -1)
		return false;
	for (i = 0; i < c->nv; i++) {
		const union cval *v = &c->v[i];
		bool m;

		switch (c->op) {
		case COP_STR:
			m = str_eq(&v->p, ctx, s, len, false);
			break;
		case COP_STR_IC:
			m = str_eq(&v->p, ctx, s, len, true);
			break;
		case COP_LIKE:
			m = pat_match(&v->p, ctx, s, len);
			break;
		case COP_ARN:
			m = arnpat_match(&v->a, ctx, s, len);
			break;
		case COP_BOOL:
			m = (len == 4 && strncasecmp(s, "true", 4) == 0 &&
			    v->b) || (len == 5 &&
			    strncasecmp(s, "false", 5) == 0 && !v->b);
			break;
		case COP_NUM_EQ: m = num == v->num; break;
		case COP_NUM_LT: m = num < v->num; break;
		case COP_NUM_LE: m = num <= v->num; break;
		case COP_NUM_GT: m = num > v->num; break;
		case COP_NUM_GE: m = num >= v->num; break;
		case COP_DATE_EQ: m = ms == v->ms; break;
		case COP_DATE_LT: m = ms < v->ms; break;
		case COP_DATE_LE: m = ms <= v->ms; break;
		case COP_DATE_GT: m = ms > v->ms; break;
		case COP_DATE_GE: m = ms >= v->ms; break;
		default: m = false; break;
		}
		if (m)
			return true;
	}
	return false;
}

bool
cond_eval(const struct cond *c, const struct policy_ctx *ctx)
{
	const struct policy_ctx_key *k;
	size_t i;
	bool m;

	k = ctx_find(ctx, c->key, c->keylen);
	if (c->op == COP_NULL)
		return c->v[0].b == (k == NULL);
	if (k == NULL) {
		if (c->ifexists || c->qual == Q_ALL)
			return true;
		return c->qual == Q_NONE && c->neg;
	}
	switch (c->qual) {
	case Q_NONE:
		for (i = 0; i < k->nvalues; i++)
			if (match_value(c, ctx, k->values[i], k->lens[i]))
				return !c->neg;
		return c->neg;
	case Q_ANY:
		for (i = 0; i < k->nvalues; i++) {
			m = match_value(c, ctx, k->values[i], k->lens[i]);
			if (m != c->neg)
				return true;
		}
		return false;
	case Q_ALL:
	default:
		for (i = 0; i < k->nvalues; i++) {
			m = match_value(c, ctx, k->values[i], k->lens[i]);
			if (m == c->neg)
				return false;
		}
		return true;
	}
}
