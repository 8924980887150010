/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_policy.c - the policy language without a daemon: every condition
 * operator with IfExists and the set qualifiers (a table of condition
 * cases), a table of decisions over whole policy sets with the statement
 * that decided, parse errors with file:line:column, limits, and the
 * seed's three patterns (policy/examples/) on representative requests.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/internal.h"
#include "policy/policy.h"

#define ACCT	"123456789012"
#define WI	"arn:aws:bedrock-agentcore:us-east-1:" ACCT \
	":workload-identity-directory/default/workload-identity/"
#define TV	"arn:aws:bedrock-agentcore:us-east-1:" ACCT ":token-vault/default/"
#define GET_KEY	"bedrock-agentcore:GetResourceApiKey"
#define GET_OA	"bedrock-agentcore:GetResourceOauth2Token"

/*
 * Fill c from "key=value;key=value" (a key repeated: several values).
 * buf must outlive c.
 */
static void
ctx_from(struct policy_ctx *c, const char *action, const char *resource,
    const char *spec, char *buf, size_t len)
{
	struct av_err e;
	char *kv, *save = NULL, *eq;

	policy_ctx_init(c, action, resource);
	if (spec == NULL)
		return;
	snprintf(buf, len, "%s", spec);
	for (kv = strtok_r(buf, ";", &save); kv != NULL;
	    kv = strtok_r(NULL, ";", &save)) {
		eq = strchr(kv, '=');
		assert_non_null(eq);
		*eq = '\0';
		assert_int_equal(policy_ctx_add(c, kv, eq + 1, &e), 0);
	}
}

static struct policy_set *
set_of(const char *const *docs)
{
	struct policy_set *s;
	struct policy_doc *d;
	struct av_err e;
	char name[32];
	size_t i;

	assert_non_null(s = policy_set_new(&e));
	for (i = 0; docs[i] != NULL; i++) {
		snprintf(name, sizeof(name), "doc%zu", i);
		d = policy_parse(name, docs[i], strlen(docs[i]), &e);
		if (d == NULL)
			fail_msg("%s\n%s", e.msg, docs[i]);
		assert_int_equal(policy_set_add(s, d, &e), 0);
	}
	return s;
}

/* ---- condition operators ---------------------------------------------- */

/*
 * One statement allowing everything under one Condition (a YAML flow
 * mapping); allow: whether the condition holds for ctx.
 */
static const struct {
	const char	*cond;
	const char	*ctx;
	bool		 allow;
} conds[] = {
	/* StringEquals: exact, case-sensitive values, any of the list. */
	{ "StringEquals: {'t:k': [a, b]}", "t:k=a", true },
	{ "StringEquals: {'t:k': [a, b]}", "t:k=b", true },
	{ "StringEquals: {'t:k': [a, b]}", "t:k=c", false },
	{ "StringEquals: {'t:k': [a, b]}", NULL, false },
	{ "StringEquals: {'t:k': [a, b]}", "t:k=A", false },
	{ "StringEquals: {'t:k': [a, b]}", "T:K=a", true },
	{ "StringEquals: {'T:K': [a, b]}", "t:k=a", true },
	{ "StringEquals: {'t:k': [a, b]}", "t:k=c;t:k=a", true },
	{ "StringEquals: {'t:k': [a, b]}", "t:k=", false },
	{ "StringEquals: {'t:k': ''}", "t:k=", true },
	{ "StringEquals: {'t:k': '*'}", "t:k=*", true },
	{ "StringEquals: {'t:k': '*'}", "t:k=x", false },
	{ "StringEquals: {'t:k': 'a', 't:j': 'b'}", "t:k=a;t:j=b", true },
	{ "StringEquals: {'t:k': 'a', 't:j': 'b'}", "t:k=a", false },
	{ "StringEquals: {'t:k': 42}", "t:k=42", true },
	/* StringNotEquals: true when the key is missing. */
	{ "StringNotEquals: {'t:k': [a, b]}", "t:k=a", false },
	{ "StringNotEquals: {'t:k': [a, b]}", "t:k=c", true },
	{ "StringNotEquals: {'t:k': [a, b]}", NULL, true },
	{ "StringNotEquals: {'t:k': [a, b]}", "t:k=c;t:k=a", false },
	{ "StringNotEquals: {'t:k': [a, b]}", "t:k=A", true },
	/* IgnoreCase. */
	{ "StringEqualsIgnoreCase: {'t:k': Abc}", "t:k=abc", true },
	{ "StringEqualsIgnoreCase: {'t:k': Abc}", "t:k=ABC", true },
	{ "StringEqualsIgnoreCase: {'t:k': Abc}", "t:k=abd", false },
	{ "StringEqualsIgnoreCase: {'t:k': Abc}", NULL, false },
	{ "StringNotEqualsIgnoreCase: {'t:k': Abc}", "t:k=aBc", false },
	{ "StringNotEqualsIgnoreCase: {'t:k': Abc}", "t:k=x", true },
	{ "StringNotEqualsIgnoreCase: {'t:k': Abc}", NULL, true },
	/* StringLike: '*' and '?', case-sensitive. */
	{ "StringLike: {'t:k': [dev-*, q?a]}", "t:k=dev-1", true },
	{ "StringLike: {'t:k': [dev-*, q?a]}", "t:k=dev-", true },
	{ "StringLike: {'t:k': [dev-*, q?a]}", "t:k=qa", false },
	{ "StringLike: {'t:k': [dev-*, q?a]}", "t:k=qqa", true },
	{ "StringLike: {'t:k': [dev-*, q?a]}", "t:k=q\xc3\xa9" "a", true },
	{ "StringLike: {'t:k': [dev-*, q?a]}", "t:k=prod", false },
	{ "StringLike: {'t:k': [dev-*, q?a]}", "t:k=DEV-1", false },
	{ "StringLike: {'t:k': [dev-*, q?a]}", NULL, false },
	{ "StringLike: {'t:k': '*a*b*'}", "t:k=xxaxxbxx", true },
	{ "StringLike: {'t:k': '*a*b*'}", "t:k=xxbxxaxx", false },
	{ "StringLike: {'t:k': '*'}", "t:k=", true },
	{ "StringLike: {'t:k': 'a${*}b'}", "t:k=a*b", true },
	{ "StringLike: {'t:k': 'a${*}b'}", "t:k=axb", false },
	{ "StringLike: {'t:k': 'a${?}'}", "t:k=a?", true },
	{ "StringLike: {'t:k': 'a${?}'}", "t:k=ab", false },
	{ "StringEquals: {'t:k': '${$}{x}'}", "t:k=${x}", true },
	{ "StringNotLike: {'t:k': prod-*}", "t:k=prod-1", false },
	{ "StringNotLike: {'t:k': prod-*}", "t:k=dev", true },
	{ "StringNotLike: {'t:k': prod-*}", NULL, true },
	/* ARNs: per segment, case-sensitive. */
	{ "ArnLike: {'t:a': 'arn:aws:bedrock-agentcore:*:" ACCT
	    ":token-vault/*'}", "t:a=" TV "apikeycredentialprovider/w", true },
	{ "ArnLike: {'t:a': 'arn:aws:bedrock-agentcore:*:" ACCT
	    ":token-vault/*'}", "t:a=arn:aws:bedrock-agentcore:us-east-1:"
	    "999999999999:token-vault/default", false },
	{ "ArnLike: {'t:a': 'arn:aws:bedrock-agentcore:*:" ACCT
	    ":token-vault/*'}", "t:a=" WI "x", false },
	{ "ArnLike: {'t:a': 'arn:aws:bedrock-agentcore:*:" ACCT
	    ":token-vault/*'}", "t:a=token-vault/x", false },
	{ "ArnLike: {'t:a': 'arn:aws:bedrock-agentcore:*:" ACCT
	    ":token-vault/*'}", "t:a=arn:aws:bedrock-agentcore:us:east:"
	    ACCT ":token-vault/x", false },
	{ "ArnLike: {'t:a': 'arn:aws:bedrock-agentcore:*:" ACCT
	    ":token-vault/*'}", "t:a=ARN:aws:bedrock-agentcore:us-east-1:"
	    ACCT ":token-vault/x", false },
	{ "ArnLike: {'t:a': 'arn:aws:bedrock-agentcore:*:*:*'}",
	    "t:a=" TV "oauth2credentialprovider/a:b:c", true },
	{ "ArnLike: {'t:a': 'arn:*:*:*:*:*'}", "t:a=arn:aws:x:y:z", false },
	{ "ArnLike: {'t:a': 'arn:aws:iam::" ACCT ":role/*'}",
	    "t:a=arn:aws:iam::" ACCT ":role/x", true },
	{ "ArnLike: {'t:a': 'arn:aws:iam::" ACCT ":role/*'}",
	    "t:a=arn:aws:iam:us-east-1:" ACCT ":role/x", false },
	{ "ArnEquals: {'t:a': 'arn:aws:iam::" ACCT ":role/*'}",
	    "t:a=arn:aws:iam::" ACCT ":role/x", true },
	{ "ArnEquals: {'t:a': 'arn:aws:iam::" ACCT ":role/x'}",
	    "t:a=arn:aws:iam::" ACCT ":role/X", false },
	{ "ArnNotEquals: {'t:a': 'arn:aws:iam::" ACCT ":role/*'}",
	    "t:a=arn:aws:iam::" ACCT ":role/x", false },
	{ "ArnNotEquals: {'t:a': 'arn:aws:iam::" ACCT ":role/*'}",
	    "t:a=arn:aws:iam::" ACCT ":user/x", true },
	{ "ArnNotEquals: {'t:a': 'arn:aws:iam::" ACCT ":role/*'}", NULL,
	    true },
	{ "ArnNotLike: {'t:a': 'arn:aws:iam::*:role/x?'}",
	    "t:a=arn:aws:iam::" ACCT ":role/x1", false },
	{ "ArnNotLike: {'t:a': 'arn:aws:iam::*:role/x?'}",
	    "t:a=arn:aws:iam::" ACCT ":role/x12", true },
	{ "ArnNotLike: {'t:a': 'arn:aws:iam::*:role/x?'}", NULL, true },
	/* Bool. */
	{ "Bool: {'aws:SecureTransport': 'true'}", "aws:SecureTransport=true",
	    true },
	{ "Bool: {'aws:SecureTransport': 'true'}", "aws:securetransport=TRUE",
	    true },
	{ "Bool: {'aws:SecureTransport': 'true'}",
	    "aws:SecureTransport=false", false },
	{ "Bool: {'aws:SecureTransport': 'true'}", NULL, false },
	{ "Bool: {'aws:SecureTransport': 'true'}", "aws:SecureTransport=yes",
	    false },
	{ "Bool: {'t:b': false}", "t:b=false", true },
	{ "Bool: {'t:b': false}", "t:b=true", false },
	{ "BoolIfExists: {'t:b': false}", NULL, true },
	/* Null: does the key exist? */
	{ "'Null': {'t:k': 'true'}", NULL, true },
	{ "'Null': {'t:k': 'true'}", "t:k=x", false },
	{ "'Null': {'t:k': 'false'}", "t:k=x", true },
	{ "'Null': {'t:k': 'false'}", NULL, false },
	{ "'Null': {'t:k': 'false'}", "T:K=", true },
	/* Numbers. */
	{ "NumericEquals: {'t:n': '10'}", "t:n=10", true },
	{ "NumericEquals: {'t:n': '10'}", "t:n=10.0", true },
	{ "NumericEquals: {'t:n': '10'}", "t:n=1e1", true },
	{ "NumericEquals: {'t:n': '10'}", "t:n=11", false },
	{ "NumericEquals: {'t:n': '10'}", "t:n=abc", false },
	{ "NumericEquals: {'t:n': '10'}", "t:n=0x0a", false },
	{ "NumericEquals: {'t:n': '10'}", NULL, false },
	{ "NumericNotEquals: {'t:n': '10'}", "t:n=10", false },
	{ "NumericNotEquals: {'t:n': '10'}", "t:n=9", true },
	{ "NumericNotEquals: {'t:n': '10'}", NULL, true },
	{ "NumericNotEquals: {'t:n': '10'}", "t:n=abc", true },
	{ "NumericLessThan: {'t:n': 5}", "t:n=4", true },
	{ "NumericLessThan: {'t:n': 5}", "t:n=5", false },
	{ "NumericLessThan: {'t:n': 5}", "t:n=-1", true },
	{ "NumericLessThanEquals: {'t:n': 5}", "t:n=5", true },
	{ "NumericLessThanEquals: {'t:n': 5}", "t:n=5.1", false },
	{ "NumericGreaterThan: {'t:n': 5}", "t:n=6", true },
	{ "NumericGreaterThan: {'t:n': 5}", "t:n=5", false },
	{ "NumericGreaterThanEquals: {'t:n': 5}", "t:n=5", true },
	{ "NumericGreaterThanEquals: {'t:n': 5}", "t:n=4.9", false },
	{ "NumericLessThan: {'t:n': [1, 5]}", "t:n=3", true },
	/* Dates: ISO 8601 or epoch seconds, compared as instants. */
	{ "DateLessThan: {'aws:CurrentTime': '2026-06-01T00:00:00Z'}",
	    "aws:CurrentTime=2026-05-31T23:59:59Z", true },
	{ "DateLessThan: {'aws:CurrentTime': '2026-06-01T00:00:00Z'}",
	    "aws:CurrentTime=2026-06-01T00:00:00Z", false },
	{ "DateLessThan: {'aws:CurrentTime': '2026-06-01T00:00:00Z'}",
	    "aws:CurrentTime=2026-06-01T01:00:00+02:00", true },
	{ "DateLessThan: {'aws:CurrentTime': '2026-06-01T00:00:00Z'}",
	    "aws:CurrentTime=1780271999", true },
	{ "DateLessThan: {'aws:CurrentTime': '2026-06-01T00:00:00Z'}",
	    "aws:CurrentTime=soon", false },
	{ "DateLessThan: {'aws:CurrentTime': '1780272000'}",
	    "aws:CurrentTime=2026-05-31T23:59:59.999Z", true },
	{ "DateEquals: {'t:d': '2026-01-01'}", "t:d=2026-01-01T00:00:00Z",
	    true },
	{ "DateEquals: {'t:d': '2026-01-01'}", "t:d=2026-01-01T00:00:00.000Z",
	    true },
	{ "DateEquals: {'t:d': '2026-01-01'}", "t:d=2026-01-01T00:00:01Z",
	    false },
	{ "DateEquals: {'t:d': '2026-01-01'}", "t:d=2026-02-30", false },
	{ "DateNotEquals: {'t:d': '2026-01-01'}", "t:d=2026-01-02", true },
	{ "DateNotEquals: {'t:d': '2026-01-01'}", "t:d=2026-01-01", false },
	{ "DateLessThanEquals: {'t:d': '2026-01-01'}", "t:d=2026-01-01",
	    true },
	{ "DateGreaterThan: {'t:d': '2026-01-01'}", "t:d=2026-01-01T00:00:01Z",
	    true },
	{ "DateGreaterThan: {'t:d': '2026-01-01'}", "t:d=2025-12-31", false },
	{ "DateGreaterThanEquals: {'t:d': '2026-01-01'}", "t:d=2026-01-01",
	    true },
	{ "DateGreaterThanEquals: {'t:d': '2028-02-29T12:00'}",
	    "t:d=2028-02-29T11:59Z", false },
	/* IfExists: a missing key passes, a present one is tested. */
	{ "StringEqualsIfExists: {'t:k': a}", NULL, true },
	{ "StringEqualsIfExists: {'t:k': a}", "t:k=a", true },
	{ "StringEqualsIfExists: {'t:k': a}", "t:k=b", false },
	{ "StringNotEqualsIfExists: {'t:k': a}", NULL, true },
	{ "StringNotEqualsIfExists: {'t:k': a}", "t:k=a", false },
	{ "NumericLessThanIfExists: {'t:n': 3}", NULL, true },
	{ "NumericLessThanIfExists: {'t:n': 3}", "t:n=2", true },
	{ "NumericLessThanIfExists: {'t:n': 3}", "t:n=4", false },
	{ "ArnLikeIfExists: {'t:a': 'arn:aws:iam::*:role/*'}", NULL, true },
	{ "DateGreaterThanIfExists: {'t:d': '2026-01-01'}", "t:d=2020-01-01",
	    false },
	/* Set qualifiers; a missing key is an empty set. */
	{ "ForAllValues:StringEquals: {'aws:TagKeys': [env, team]}", NULL,
	    true },
	{ "ForAllValues:StringEquals: {'aws:TagKeys': [env, team]}",
	    "aws:TagKeys=env", true },
	{ "ForAllValues:StringEquals: {'aws:TagKeys': [env, team]}",
	    "aws:TagKeys=env;aws:TagKeys=team", true },
	{ "ForAllValues:StringEquals: {'aws:TagKeys': [env, team]}",
	    "aws:TagKeys=env;aws:TagKeys=cost", false },
	{ "ForAnyValue:StringEquals: {'aws:TagKeys': [env, team]}", NULL,
	    false },
	{ "ForAnyValue:StringEquals: {'aws:TagKeys': [env, team]}",
	    "aws:TagKeys=env", true },
	{ "ForAnyValue:StringEquals: {'aws:TagKeys': [env, team]}",
	    "aws:TagKeys=cost;aws:TagKeys=team", true },
	{ "ForAnyValue:StringEquals: {'aws:TagKeys': [env, team]}",
	    "aws:TagKeys=cost", false },
	{ "ForAllValues:StringNotEquals: {'aws:TagKeys': secret}",
	    "aws:TagKeys=env", true },
	{ "ForAllValues:StringNotEquals: {'aws:TagKeys': secret}",
	    "aws:TagKeys=env;aws:TagKeys=secret", false },
	{ "ForAllValues:StringNotEquals: {'aws:TagKeys': secret}", NULL,
	    true },
	{ "ForAnyValue:StringNotEquals: {'aws:TagKeys': secret}",
	    "aws:TagKeys=secret", false },
	{ "ForAnyValue:StringNotEquals: {'aws:TagKeys': secret}",
	    "aws:TagKeys=secret;aws:TagKeys=env", true },
	{ "ForAnyValue:StringNotEquals: {'aws:TagKeys': secret}", NULL,
	    false },
	{ "ForAllValues:StringLike: {'aws:TagKeys': 'team-*'}",
	    "aws:TagKeys=team-a;aws:TagKeys=team-b", true },
	{ "ForAllValues:StringLike: {'aws:TagKeys': 'team-*'}",
	    "aws:TagKeys=team-a;aws:TagKeys=x", false },
	{ "ForAllValues:StringEqualsIgnoreCase: {'aws:TagKeys': Env}",
	    "aws:TagKeys=ENV;aws:TagKeys=env", true },
	{ "ForAnyValue:StringLikeIfExists: {'aws:TagKeys': 'x*'}", NULL,
	    true },
	{ "ForAllValues:StringEqualsIfExists: {'aws:TagKeys': x}", NULL,
	    true },
	{ "ForAnyValue:NumericGreaterThan: {'t:n': 10}", "t:n=1;t:n=11",
	    true },
	{ "ForAllValues:NumericGreaterThan: {'t:n': 10}", "t:n=1;t:n=11",
	    false },
	{ "ForAnyValue:ArnLike: {'t:a': 'arn:aws:iam::*:role/*'}",
	    "t:a=x;t:a=arn:aws:iam::1:role/r", true },
	/* Unqualified, a multi-valued key matches when any value does. */
	{ "StringLike: {'aws:TagKeys': 'env'}",
	    "aws:TagKeys=cost;aws:TagKeys=env", true },
	/* Policy variables: single-valued keys, literal values. */
	{ "StringEquals: {'t:k': '${t:other}'}", "t:other=x;t:k=x", true },
	{ "StringEquals: {'t:k': '${t:other}'}", "t:other=x;t:k=y", false },
	{ "StringEquals: {'t:k': '${t:other}'}", "t:k=x", false },
	{ "StringEquals: {'t:k': '${t:other}'}", "t:other=x;t:other=y;t:k=x",
	    false },
	{ "StringEquals: {'t:k': '${T:OTHER}'}", "t:other=x;t:k=x", true },
	{ "StringNotEquals: {'t:k': '${t:other}'}", "t:k=x", true },
	{ "StringEquals: {'t:k': \"${t:other, 'dflt'}\"}", "t:k=dflt", true },
	{ "StringEquals: {'t:k': \"${t:other, 'dflt'}\"}", "t:other=z;t:k=z",
	    true },
	{ "StringEquals: {'t:k': \"${t:other, 'dflt'}\"}",
	    "t:other=z;t:k=dflt", false },
	{ "StringLike: {'t:k': '${t:user}/*'}", "t:user=bob;t:k=bob/x", true },
	{ "StringLike: {'t:k': '${t:user}/*'}", "t:user=bob;t:k=alice/x",
	    false },
	{ "StringLike: {'t:k': '${t:user}/*'}", "t:user=*;t:k=x/y", false },
	{ "StringLike: {'t:k': '${t:user}/*'}", "t:user=*;t:k=*/y", true },
	{ "StringEqualsIgnoreCase: {'t:k': 'x-${t:user}'}",
	    "t:user=Bob;t:k=X-BOB", true },
	{ "ArnLike: {'t:a': 'arn:aws:bedrock-agentcore:*:*:workload-identity-"
	    "directory/default/workload-identity/${aws:PrincipalTag/team}-*'}",
	    "aws:PrincipalTag/team=red;t:a=" WI "red-1", true },
	{ "ArnLike: {'t:a': 'arn:aws:bedrock-agentcore:*:*:workload-identity-"
	    "directory/default/workload-identity/${aws:PrincipalTag/team}-*'}",
	    "aws:PrincipalTag/team=red;t:a=" WI "blue-1", false },
	{ "ArnEquals: {'t:a': 'arn:aws:iam::${t:acct}:role/r'}",
	    "t:acct=1:2;t:a=arn:aws:iam::1:2:role/r", false },
	/* Two operators, two keys: all must hold. */
	{ "StringEquals: {'t:k': a}, StringLike: {'t:j': 'b*'}",
	    "t:k=a;t:j=bb", true },
	{ "StringEquals: {'t:k': a}, StringLike: {'t:j': 'b*'}",
	    "t:k=a;t:j=cb", false },
};

static void
test_conditions(void **state)
{
	static const char head[] = "Version: '2012-10-17'\nStatement:\n"
	    "  - Sid: C\n    Effect: Allow\n    Action: '*'\n"
	    "    Resource: '*'\n    Condition: {%s}\n";
	struct policy_decision d;
	struct policy_ctx c;
	struct policy_doc *doc;
	struct policy_set *s;
	struct av_err e;
	char text[1024], buf[1024];
	size_t i, bad = 0;

	(void)state;
	for (i = 0; i < sizeof(conds) / sizeof(conds[0]); i++) {
		snprintf(text, sizeof(text), head, conds[i].cond);
		if ((doc = policy_parse("cond", text, strlen(text), &e)) ==
		    NULL)
			fail_msg("condition %zu: %s", i, e.msg);
		assert_non_null(s = policy_set_new(&e));
		assert_int_equal(policy_set_add(s, doc, &e), 0);
		ctx_from(&c, "x:Y", "*", conds[i].ctx, buf, sizeof(buf));
		policy_eval(s, &c, &d);
		if ((d.effect == POLICY_ALLOW) != conds[i].allow ||
		    (conds[i].allow && (d.doc != 0 || d.stmt != 0 ||
		    d.sid == NULL || strcmp(d.sid, "C") != 0))) {
			print_error("condition %zu: {%s} with %s: got %s\n", i,
			    conds[i].cond, conds[i].ctx ? conds[i].ctx : "-",
			    policy_effect_name(d.effect));
			bad++;
		}
		policy_set_free(s);
	}
	assert_int_equal(bad, 0);
}

/* ---- decisions over policy sets ---------------------------------------- */

/* Actions, resources, Deny over Allow, NotAction and NotResource. */
static const char *const set_basic[] = {
	"Version: '2012-10-17'\n"
	"Statement:\n"
	"  - Sid: ReadAll\n"
	"    Effect: Allow\n"
	"    Action: [bedrock-agentcore:Get*, bedrock-agentcore:List*]\n"
	"    Resource: '*'\n"
	"  - Sid: WriteVault\n"
	"    Effect: Allow\n"
	"    Action: bedrock-agentcore:?etTokenVault\n"
	"    Resource: arn:aws:bedrock-agentcore:*:" ACCT ":token-vault/*\n"
	"  - Sid: NoDelete\n"
	"    Effect: Deny\n"
	"    Action: bedrock-agentcore:Delete*\n"
	"    Resource: '*'\n"
	"  - Sid: AllowDeleteIdentity\n"
	"    Effect: Allow\n"
	"    Action: bedrock-agentcore:DeleteWorkloadIdentity\n"
	"    Resource: '*'\n"
	"  - Effect: Allow\n"
	"    Action: bedrock-agentcore:CreateWorkloadIdentity\n"
	"    Resource: arn:aws:bedrock-agentcore:us-east-?:" ACCT
	":workload-identity-directory/default/workload-identity/agent-*\n",
	NULL
};

static const char *const set_not[] = {
	"{\"Version\": \"2012-10-17\", \"Statement\": [\n"
	" {\"Sid\": \"AllowAll\", \"Effect\": \"Allow\", \"Action\": \"*\",\n"
	"  \"Resource\": \"*\"},\n"
	" {\"Sid\": \"DenyOutsideVault\", \"Effect\": \"Deny\",\n"
	"  \"Action\": \"*\",\n"
	"  \"NotResource\": \"arn:aws:bedrock-agentcore:*:*:token-vault/*\"},\n"
	" {\"Sid\": \"DenyAllButReads\", \"Effect\": \"Deny\",\n"
	"  \"NotAction\": [\"bedrock-agentcore:Get*\", "
	"\"bedrock-agentcore:List*\"],\n"
	"  \"Resource\": \"arn:aws:bedrock-agentcore:*:*:token-vault/default/"
	"apikeycredentialprovider/*\"}]}\n",
	NULL
};

/* A sensitive provider only for its designated workload. */
static const char *const set_designated[] = {
	"Version: '2012-10-17'\n"
	"Statement:\n"
	"  Sid: Vend\n"
	"  Effect: Allow\n"
	"  Action: bedrock-agentcore:GetResource*\n"
	"  Resource: '*'\n",
	"Version: '2012-10-17'\n"
	"Statement:\n"
	"  - Sid: PayrollOnlyForPayrollAgent\n"
	"    Effect: Deny\n"
	"    Action: " GET_OA "\n"
	"    Resource: '*'\n"
	"    Condition:\n"
	"      StringEquals:\n"
	"        bedrock-agentcore:resourceCredentialProvider: payroll\n"
	"      ArnNotEquals:\n"
	"        bedrock-agentcore:workloadIdentityArn: " WI "payroll-agent\n",
	NULL
};

/* Callers by certificate subject, uid and gid; variables in Resource. */
static const char *const set_callers[] = {
	"Version: '2012-10-17'\n"
	"Statement:\n"
	"  - Sid: OwnIdentity\n"
	"    Effect: Allow\n"
	"    Action: bedrock-agentcore:*WorkloadIdentity\n"
	"    Resource: arn:aws:bedrock-agentcore:*:*:workload-identity-"
	"directory/default/workload-identity/${agentvault:subject}\n"
	"  - Sid: NobodyNothing\n"
	"    Effect: Deny\n"
	"    Action: '*'\n"
	"    Resource: '*'\n"
	"    Condition:\n"
	"      NumericGreaterThanEquals: {agentvault:uid: 60000}\n"
	"  - Sid: Operators\n"
	"    Effect: Allow\n"
	"    Action: '*'\n"
	"    Resource: '*'\n"
	"    Condition:\n"
	"      StringEquals: {agentvault:gid: ['0', '10']}\n",
	NULL
};

/* Several documents: the decider's document index. */
static const char *const set_multi[] = {
	"Version: '2012-10-17'\n"
	"Statement:\n"
	"  - Sid: Reads\n"
	"    Effect: Allow\n"
	"    Action: bedrock-agentcore:Get*\n"
	"    Resource: '*'\n",
	"{\"Version\": \"2012-10-17\", \"Statement\": {\"Effect\": \"Deny\",\n"
	" \"Action\": \"" GET_KEY "\", \"Resource\": \"" TV
	"apikeycredentialprovider/secret\"}}\n",
	"Version: '2012-10-17'\n"
	"Statement:\n"
	"  - Sid: Everything\n"
	"    Effect: Allow\n"
	"    Action: '*'\n"
	"    Resource: '*'\n"
	"  - Sid: NoTagging\n"
	"    Effect: Deny\n"
	"    Action: bedrock-agentcore:*Tag*\n"
	"    Resource: '*'\n"
	"    Condition:\n"
	"      StringNotEqualsIfExists: {aws:PrincipalTag/role: admin}\n",
	NULL
};

/* The ForAllValues trap, and the Null check that closes it. */
static const char *const set_tags[] = {
	"Version: '2012-10-17'\n"
	"Statement:\n"
	"  - Sid: Unsafe\n"
	"    Effect: Allow\n"
	"    Action: bedrock-agentcore:TagResource\n"
	"    Resource: '*'\n"
	"    Condition:\n"
	"      ForAllValues:StringEquals: {aws:TagKeys: [env]}\n"
	"  - Sid: Safe\n"
	"    Effect: Allow\n"
	"    Action: bedrock-agentcore:UntagResource\n"
	"    Resource: '*'\n"
	"    Condition:\n"
	"      ForAllValues:StringEquals: {aws:TagKeys: [env]}\n"
	"      'Null': {aws:TagKeys: 'false'}\n"
	"  - Sid: NoSecretTags\n"
	"    Effect: Deny\n"
	"    Action: '*'\n"
	"    Resource: '*'\n"
	"    Condition:\n"
	"      ForAnyValue:StringLike: {aws:TagKeys: 'secret*'}\n",
	NULL
};

enum { S_BASIC, S_NOT, S_DESIGNATED, S_CALLERS, S_MULTI, S_TAGS,
	S_SEED1, S_SEED2, S_SEED3, S_COUNT };

static const char *const seed_files[] = {
	"policy/examples/one-workload.yaml",
	"policy/examples/deny-provider.json",
	"policy/examples/tenant-abac.yaml",
};

#define ALLOW	POLICY_ALLOW
#define DENY	POLICY_EXPLICIT_DENY
#define NONE	POLICY_IMPLICIT_DENY
#define A(x)	"bedrock-agentcore:" x

static const struct {
	int			 set;
	const char		*action, *resource, *ctx;
	enum policy_effect	 want;
	int			 doc;
	const char		*by;	/* the Sid, or "#n" */
} cases[] = {
	{ S_BASIC, GET_KEY, TV "apikeycredentialprovider/w", NULL, ALLOW, 0,
	    "ReadAll" },
	{ S_BASIC, "bedrock-agentcore:getresourceapikey", "*", NULL, ALLOW, 0,
	    "ReadAll" },
	{ S_BASIC, "BEDROCK-AGENTCORE:GETRESOURCEAPIKEY", "*", NULL, ALLOW, 0,
	    "ReadAll" },
	{ S_BASIC, A("ListWorkloadIdentities"), "*", NULL, ALLOW, 0,
	    "ReadAll" },
	{ S_BASIC, A("Get"), "*", NULL, ALLOW, 0, "ReadAll" },
	{ S_BASIC, A("SetTokenVault"), "arn:aws:bedrock-agentcore:us-west-2:"
	    ACCT ":token-vault/default", NULL, ALLOW, 0, "WriteVault" },
	{ S_BASIC, A("SetTokenVault"), "arn:aws:bedrock-agentcore:us-west-2:"
	    "999999999999:token-vault/default", NULL, NONE, -1, NULL },
	{ S_BASIC, A("SetTokenVault"), "arn:aws:bedrock-agentcore:us-west-2:"
	    ACCT ":workload-identity-directory/default", NULL, NONE, -1,
	    NULL },
	{ S_BASIC, A("PutTokenVault"), TV, NULL, NONE, -1, NULL },
	{ S_BASIC, A("DeleteWorkloadIdentity"), WI "a", NULL, DENY, 0,
	    "NoDelete" },
	{ S_BASIC, A("DeleteOauth2CredentialProvider"), "*", NULL, DENY, 0,
	    "NoDelete" },
	{ S_BASIC, A("CreateWorkloadIdentity"), WI "agent-1", NULL, ALLOW, 0,
	    "#4" },
	{ S_BASIC, A("CreateWorkloadIdentity"), WI "agent-", NULL, ALLOW, 0,
	    "#4" },
	{ S_BASIC, A("CreateWorkloadIdentity"), "arn:aws:bedrock-agentcore:"
	    "us-east-12:" ACCT ":workload-identity-directory/default/"
	    "workload-identity/agent-1", NULL, NONE, -1, NULL },
	{ S_BASIC, A("CreateWorkloadIdentity"), "arn:aws:bedrock-agentcore:"
	    "us-east-2:" ACCT ":workload-identity-directory/default/"
	    "workload-identity/agent-1", NULL, ALLOW, 0, "#4" },
	{ S_BASIC, A("CreateWorkloadIdentity"), WI "other", NULL, NONE, -1,
	    NULL },
	{ S_BASIC, A("CreateWorkloadIdentity"), WI "Agent-1", NULL, NONE, -1,
	    NULL },
	{ S_BASIC, A("CreateWorkloadIdentity"), "arn:aws:bedrock-agentcore:"
	    "us-east-1:" ACCT ":workload-identity-directory/other/"
	    "workload-identity/agent-1", NULL, NONE, -1, NULL },
	{ S_BASIC, A("GetWorkloadIdentity"), "not an arn", NULL, ALLOW, 0,
	    "ReadAll" },
	{ S_BASIC, "s3:GetObject", "*", NULL, NONE, -1, NULL },
	{ S_BASIC, "", "*", NULL, NONE, -1, NULL },
	{ S_BASIC, A("UpdateWorkloadIdentity"), WI "agent-1", NULL, NONE, -1,
	    NULL },

	{ S_NOT, GET_KEY, TV "apikeycredentialprovider/w", NULL, ALLOW, 0,
	    "AllowAll" },
	{ S_NOT, A("ListApiKeyCredentialProviders"), TV
	    "apikeycredentialprovider/w", NULL, ALLOW, 0, "AllowAll" },
	{ S_NOT, A("CreateApiKeyCredentialProvider"), TV
	    "apikeycredentialprovider/w", NULL, DENY, 0, "DenyAllButReads" },
	{ S_NOT, A("createapikeycredentialprovider"), TV
	    "apikeycredentialprovider/w", NULL, DENY, 0, "DenyAllButReads" },
	{ S_NOT, "BEDROCK-AGENTCORE:GETRESOURCEAPIKEY", TV
	    "apikeycredentialprovider/w", NULL, ALLOW, 0, "AllowAll" },
	{ S_NOT, A("CreateOauth2CredentialProvider"), TV
	    "oauth2credentialprovider/g", NULL, ALLOW, 0, "AllowAll" },
	{ S_NOT, A("GetWorkloadIdentity"), WI "a", NULL, DENY, 0,
	    "DenyOutsideVault" },
	{ S_NOT, A("GetWorkloadIdentity"), "nonsense", NULL, DENY, 0,
	    "DenyOutsideVault" },
	{ S_NOT, A("GetTokenVault"), TV, NULL, ALLOW, 0, "AllowAll" },
	{ S_NOT, "s3:PutObject", TV "apikeycredentialprovider/w", NULL, DENY,
	    0, "DenyAllButReads" },

	{ S_DESIGNATED, GET_OA, TV "oauth2credentialprovider/payroll",
	    "bedrock-agentcore:resourceCredentialProvider=payroll;"
	    "bedrock-agentcore:workloadIdentityArn=" WI "payroll-agent",
	    ALLOW, 0, "Vend" },
	{ S_DESIGNATED, GET_OA, TV "oauth2credentialprovider/payroll",
	    "bedrock-agentcore:resourceCredentialProvider=payroll;"
	    "bedrock-agentcore:workloadIdentityArn=" WI "chat-agent",
	    DENY, 1, "PayrollOnlyForPayrollAgent" },
	{ S_DESIGNATED, GET_OA, TV "oauth2credentialprovider/payroll",
	    "bedrock-agentcore:resourceCredentialProvider=payroll",
	    DENY, 1, "PayrollOnlyForPayrollAgent" },
	{ S_DESIGNATED, GET_OA, TV "oauth2credentialprovider/github",
	    "bedrock-agentcore:resourceCredentialProvider=github;"
	    "bedrock-agentcore:workloadIdentityArn=" WI "chat-agent",
	    ALLOW, 0, "Vend" },
	{ S_DESIGNATED, GET_OA, TV "oauth2credentialprovider/payroll",
	    "BEDROCK-AGENTCORE:RESOURCECREDENTIALPROVIDER=payroll;"
	    "bedrock-agentcore:WORKLOADIDENTITYARN=" WI "chat-agent",
	    DENY, 1, "PayrollOnlyForPayrollAgent" },
	{ S_DESIGNATED, GET_OA, TV "oauth2credentialprovider/payroll",
	    "bedrock-agentcore:resourceCredentialProvider=Payroll;"
	    "bedrock-agentcore:workloadIdentityArn=" WI "chat-agent",
	    ALLOW, 0, "Vend" },
	{ S_DESIGNATED, GET_KEY, TV "apikeycredentialprovider/payroll",
	    "bedrock-agentcore:resourceCredentialProvider=payroll",
	    ALLOW, 0, "Vend" },
	{ S_DESIGNATED, A("CreateWorkloadIdentity"), WI "x", NULL, NONE, -1,
	    NULL },

	{ S_CALLERS, A("GetWorkloadIdentity"), WI "alpha",
	    "agentvault:subject=alpha;agentvault:uid=1000", ALLOW, 0,
	    "OwnIdentity" },
	{ S_CALLERS, A("UpdateWorkloadIdentity"), WI "alpha",
	    "agentvault:subject=alpha", ALLOW, 0, "OwnIdentity" },
	{ S_CALLERS, A("GetWorkloadIdentity"), WI "beta",
	    "agentvault:subject=alpha", NONE, -1, NULL },
	{ S_CALLERS, A("GetWorkloadIdentity"), WI "alpha", NULL, NONE, -1,
	    NULL },
	{ S_CALLERS, A("GetWorkloadIdentity"), WI "${agentvault:subject}",
	    NULL, NONE, -1, NULL },
	{ S_CALLERS, A("GetWorkloadIdentity"), WI "a:b",
	    "agentvault:subject=a:b", ALLOW, 0, "OwnIdentity" },
	{ S_CALLERS, A("GetWorkloadIdentity"), WI "*",
	    "agentvault:subject=alpha", NONE, -1, NULL },
	{ S_CALLERS, A("GetWorkloadIdentity"), WI "alpha",
	    "agentvault:subject=alpha;agentvault:subject=beta", NONE, -1,
	    NULL },
	{ S_CALLERS, A("GetWorkloadIdentity"), WI "alpha",
	    "agentvault:subject=alpha;agentvault:uid=65534", DENY, 0,
	    "NobodyNothing" },
	{ S_CALLERS, A("GetTokenVault"), TV, "agentvault:gid=10", ALLOW, 0,
	    "Operators" },
	{ S_CALLERS, A("GetTokenVault"), TV, "agentvault:gid=0", ALLOW, 0,
	    "Operators" },
	{ S_CALLERS, A("GetTokenVault"), TV, "agentvault:gid=100", NONE, -1,
	    NULL },
	{ S_CALLERS, A("GetTokenVault"), TV,
	    "agentvault:gid=10;agentvault:uid=65534", DENY, 0,
	    "NobodyNothing" },
	{ S_CALLERS, A("GetTokenVault"), TV,
	    "agentvault:gid=10;agentvault:uid=59999", ALLOW, 0, "Operators" },
	{ S_CALLERS, A("GetTokenVault"), TV,
	    "agentvault:gid=10;agentvault:uid=nobody", ALLOW, 0,
	    "Operators" },

	{ S_MULTI, GET_KEY, TV "apikeycredentialprovider/w", NULL, ALLOW, 0,
	    "Reads" },
	{ S_MULTI, GET_KEY, TV "apikeycredentialprovider/secret", NULL, DENY,
	    1, "#0" },
	{ S_MULTI, A("CreateWorkloadIdentity"), WI "x", NULL, ALLOW, 2,
	    "Everything" },
	{ S_MULTI, A("TagResource"), WI "x", NULL, DENY, 2, "NoTagging" },
	{ S_MULTI, A("TagResource"), WI "x", "aws:PrincipalTag/role=admin",
	    ALLOW, 2, "Everything" },
	{ S_MULTI, A("UntagResource"), WI "x", "aws:PrincipalTag/role=dev",
	    DENY, 2, "NoTagging" },
	{ S_MULTI, A("ListTagsForResource"), WI "x", NULL, DENY, 2,
	    "NoTagging" },
	{ S_MULTI, A("GetWorkloadIdentity"), WI "x", NULL, ALLOW, 0,
	    "Reads" },

	{ S_TAGS, A("TagResource"), WI "x", NULL, ALLOW, 0, "Unsafe" },
	{ S_TAGS, A("TagResource"), WI "x", "aws:TagKeys=env", ALLOW, 0,
	    "Unsafe" },
	{ S_TAGS, A("TagResource"), WI "x", "aws:TagKeys=owner", NONE, -1,
	    NULL },
	{ S_TAGS, A("UntagResource"), WI "x", NULL, NONE, -1, NULL },
	{ S_TAGS, A("UntagResource"), WI "x", "aws:TagKeys=env", ALLOW, 0,
	    "Safe" },
	{ S_TAGS, A("UntagResource"), WI "x",
	    "aws:TagKeys=env;aws:TagKeys=team", NONE, -1, NULL },
	{ S_TAGS, A("TagResource"), WI "x",
	    "aws:TagKeys=env;aws:TagKeys=secretive", DENY, 0,
	    "NoSecretTags" },
	{ S_TAGS, A("UntagResource"), WI "x", "aws:TagKeys=secret", DENY, 0,
	    "NoSecretTags" },
	{ S_TAGS, A("UntagResource"), WI "x", "aws:tagkeys=Secret", NONE, -1,
	    NULL },

	/* Seed pattern 1: everything for one workload identity. */
	{ S_SEED1, GET_KEY, TV "apikeycredentialprovider/weather",
	    POLICY_KEY_WORKLOAD "=" WI "support-agent", ALLOW, 0,
	    "SupportAgentEverything" },
	{ S_SEED1, GET_OA, TV "oauth2credentialprovider/github",
	    POLICY_KEY_WORKLOAD "=" WI "support-agent", ALLOW, 0,
	    "SupportAgentEverything" },
	{ S_SEED1, A("CreateWorkloadIdentity"), WI "x",
	    POLICY_KEY_WORKLOAD "=" WI "support-agent", ALLOW, 0,
	    "SupportAgentEverything" },
	{ S_SEED1, GET_KEY, TV "apikeycredentialprovider/weather",
	    POLICY_KEY_WORKLOAD "=" WI "chat-agent", NONE, -1, NULL },
	{ S_SEED1, GET_KEY, TV "apikeycredentialprovider/weather",
	    POLICY_KEY_WORKLOAD "=" WI "support-agent-2", NONE, -1, NULL },
	{ S_SEED1, GET_KEY, TV "apikeycredentialprovider/weather", NULL,
	    NONE, -1, NULL },
	{ S_SEED1, "s3:GetObject", "*",
	    POLICY_KEY_WORKLOAD "=" WI "support-agent", NONE, -1, NULL },

	/* Seed pattern 2: OAuth2 tokens from github-provider only. */
	{ S_SEED2, GET_OA, TV "oauth2credentialprovider/github-provider",
	    "bedrock-agentcore:resourceCredentialProvider=github-provider",
	    ALLOW, 0, "VendCredentials" },
	{ S_SEED2, GET_OA, TV "oauth2credentialprovider/slack",
	    "bedrock-agentcore:resourceCredentialProvider=slack", DENY, 0,
	    "OnlyGithubTokens" },
	{ S_SEED2, GET_OA, TV "oauth2credentialprovider/github-provider",
	    NULL, DENY, 0, "OnlyGithubTokens" },
	{ S_SEED2, GET_OA, TV "oauth2credentialprovider/github-provider",
	    "bedrock-agentcore:resourceCredentialProvider=GitHub-Provider",
	    DENY, 0, "OnlyGithubTokens" },
	{ S_SEED2, GET_KEY, TV "apikeycredentialprovider/slack",
	    "bedrock-agentcore:resourceCredentialProvider=slack", ALLOW, 0,
	    "VendCredentials" },
	{ S_SEED2, A("DeleteOauth2CredentialProvider"), TV
	    "oauth2credentialprovider/slack", NULL, NONE, -1, NULL },

	/* Seed pattern 3: per-tenant isolation by tags. */
	{ S_SEED3, GET_KEY, TV "apikeycredentialprovider/w",
	    "aws:PrincipalTag/tenant=acme;aws:ResourceTag/tenant=acme",
	    ALLOW, 0, "SameTenant" },
	{ S_SEED3, GET_OA, TV "oauth2credentialprovider/g",
	    "aws:PrincipalTag/tenant=acme;aws:ResourceTag/tenant=acme",
	    ALLOW, 0, "SameTenant" },
	{ S_SEED3, GET_KEY, TV "apikeycredentialprovider/w",
	    "aws:PrincipalTag/tenant=acme;aws:ResourceTag/tenant=globex",
	    NONE, -1, NULL },
	{ S_SEED3, GET_KEY, TV "apikeycredentialprovider/w",
	    "aws:ResourceTag/tenant=acme", NONE, -1, NULL },
	{ S_SEED3, GET_KEY, TV "apikeycredentialprovider/w",
	    "aws:PrincipalTag/tenant=acme", NONE, -1, NULL },
	{ S_SEED3, GET_KEY, TV "apikeycredentialprovider/w", NULL, NONE, -1,
	    NULL },
	{ S_SEED3, GET_KEY, TV "apikeycredentialprovider/w",
	    "aws:PrincipalTag/tenant=Acme;aws:ResourceTag/tenant=acme",
	    NONE, -1, NULL },
	{ S_SEED3, GET_KEY, TV "apikeycredentialprovider/w",
	    "aws:principaltag/TENANT=acme;AWS:RESOURCETAG/tenant=acme",
	    ALLOW, 0, "SameTenant" },
	{ S_SEED3, GET_KEY, TV "apikeycredentialprovider/w",
	    "aws:PrincipalTag/tenant=acme;aws:PrincipalTag/tenant=globex;"
	    "aws:ResourceTag/tenant=acme", NONE, -1, NULL },
	{ S_SEED3, GET_KEY, WI "x",
	    "aws:PrincipalTag/tenant=acme;aws:ResourceTag/tenant=acme",
	    NONE, -1, NULL },
	{ S_SEED3, A("CreateApiKeyCredentialProvider"), "*",
	    "aws:PrincipalTag/tenant=acme;aws:RequestTag/tenant=acme;"
	    "aws:TagKeys=tenant", ALLOW, 0, "CreateForOwnTenant" },
	{ S_SEED3, A("CreateOauth2CredentialProvider"), "*",
	    "aws:PrincipalTag/tenant=acme;aws:RequestTag/tenant=acme;"
	    "aws:TagKeys=tenant;aws:TagKeys=owner", ALLOW, 0,
	    "CreateForOwnTenant" },
	{ S_SEED3, A("CreateOauth2CredentialProvider"), "*",
	    "aws:PrincipalTag/tenant=acme;aws:RequestTag/tenant=acme;"
	    "aws:TagKeys=tenant;aws:TagKeys=cost", NONE, -1, NULL },
	{ S_SEED3, A("CreateOauth2CredentialProvider"), "*",
	    "aws:PrincipalTag/tenant=acme;aws:RequestTag/tenant=globex;"
	    "aws:TagKeys=tenant", NONE, -1, NULL },
	{ S_SEED3, A("CreateOauth2CredentialProvider"), "*",
	    "aws:PrincipalTag/tenant=acme", NONE, -1, NULL },
	{ S_SEED3, A("CreateWorkloadIdentity"), "*",
	    "aws:PrincipalTag/tenant=acme;aws:RequestTag/tenant=acme;"
	    "aws:TagKeys=tenant", NONE, -1, NULL },
};

struct fixture {
	struct policy_set	*set[S_COUNT];
};

static int
setup(void **state)
{
	static struct fixture f;
	static const char *const *const inline_sets[] = {
		set_basic, set_not, set_designated, set_callers, set_multi,
		set_tags,
	};
	struct policy_doc *d;
	struct av_err e;
	size_t i;

	for (i = 0; i < S_SEED1; i++)
		f.set[i] = set_of(inline_sets[i]);
	for (i = 0; i < 3; i++) {
		if ((d = policy_parse_file(seed_files[i], &e)) == NULL) {
			fprintf(stderr, "%s\n", e.msg);
			return -1;
		}
		if ((f.set[S_SEED1 + i] = policy_set_new(&e)) == NULL ||
		    policy_set_add(f.set[S_SEED1 + i], d, &e) != 0)
			return -1;
	}
	*state = &f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	size_t i;

	for (i = 0; i < S_COUNT; i++)
		policy_set_free(f->set[i]);
	return 0;
}

static bool
decided_by(const struct policy_decision *d, int doc, const char *by)
{
	char idx[16];

	if (d->doc != doc)
		return false;
	if (by == NULL)
		return d->stmt == -1 && d->sid == NULL;
	if (by[0] == '#') {
		snprintf(idx, sizeof(idx), "#%d", d->stmt);
		return d->sid == NULL && strcmp(idx, by) == 0;
	}
	return d->sid != NULL && strcmp(d->sid, by) == 0;
}

static void
test_decisions(void **state)
{
	struct fixture *f = *state;
	struct policy_decision d;
	struct policy_ctx c;
	char buf[1024], why[512];
	size_t i, bad = 0;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ctx_from(&c, cases[i].action, cases[i].resource, cases[i].ctx,
		    buf, sizeof(buf));
		policy_eval(f->set[cases[i].set], &c, &d);
		if (d.effect != cases[i].want ||
		    !decided_by(&d, cases[i].doc, cases[i].by)) {
			policy_decision_format(&d, why, sizeof(why));
			print_error("case %zu: %s on %s with %s: %s\n", i,
			    cases[i].action, cases[i].resource,
			    cases[i].ctx ? cases[i].ctx : "-", why);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
	/* The table must keep its promised size. */
	assert_true(sizeof(cases) / sizeof(cases[0]) +
	    sizeof(conds) / sizeof(conds[0]) >= 200);
}

static void
test_format(void **state)
{
	struct fixture *f = *state;
	struct policy_decision d;
	struct policy_ctx c;
	char buf[128], big[POLICY_VALUE_MAX + 2];

	policy_ctx_init(&c, A("DeleteWorkloadIdentity"), WI "x");
	policy_eval(f->set[S_BASIC], &c, &d);
	assert_int_equal(policy_decision_format(&d, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "ExplicitDeny by doc0 statement NoDelete");
	policy_ctx_init(&c, A("CreateWorkloadIdentity"), WI "agent-7");
	policy_eval(f->set[S_BASIC], &c, &d);
	assert_int_equal(policy_decision_format(&d, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "Allow by doc0 Statement[4]");
	policy_ctx_init(&c, "x:Y", "*");
	policy_eval(f->set[S_BASIC], &c, &d);
	assert_int_equal(policy_decision_format(&d, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "ImplicitDeny (no statement allows it)");
	assert_int_equal(policy_decision_format(&d, buf, 8), -1);
	/* No action or resource, or one too long: nothing is allowed. */
	policy_ctx_init(&c, NULL, "*");
	policy_eval(f->set[S_NOT], &c, &d);
	assert_int_equal(d.effect, POLICY_IMPLICIT_DENY);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "arn:a:b:c:d:", 12);
	policy_ctx_init(&c, "x:Y", big);
	policy_eval(f->set[S_NOT], &c, &d);
	assert_int_equal(d.effect, POLICY_IMPLICIT_DENY);
	policy_ctx_init(&c, big, "*");
	policy_eval(f->set[S_NOT], &c, &d);
	assert_int_equal(d.effect, POLICY_IMPLICIT_DENY);
	big[POLICY_VALUE_MAX] = '\0';
	policy_ctx_init(&c, "x:Y", big);
	policy_eval(f->set[S_NOT], &c, &d);
	assert_int_equal(d.effect, POLICY_EXPLICIT_DENY);
}

/* ---- parse errors: file, line and column ------------------------------- */

#define OK_STMT	"  - Effect: Allow\n    Action: '*'\n    Resource: '*'\n"
#define V	"Version: '2012-10-17'\n"

static const struct {
	const char	*text;
	const char	*want;	/* the message, after "bad.yaml:" */
} errors[] = {
	{ "{\"Version\": \"2012-10-17\",\n \"Statement\": [],\n}",
	    "3:1: string or '}' expected near '}'" },
	{ "{\"Version\": \"2012-10-17\" \"Statement\": []}",
	    "1:36: '}' expected near '\"Statement\"'" },
	{ "{\"Version\": \"2012-10-17\", \"Version\": \"2012-10-17\"}",
	    "1:35: duplicate object key near '\"Version\"'" },
	{ "{\"Version\": \"2012-10-17\", \"Statement\": {\"Effect\": true,"
	    " \"Action\": \"*\", \"Resource\": \"*\"}}",
	    "1:51: Effect must be Allow or Deny" },
	{ "{\"Version\": \"2012-10-17\", \"Statement\": {\"Effect\": \"Allow\","
	    " \"Action\": 7, \"Resource\": \"*\"}}",
	    "1:70: Action must be a string or a list of strings" },
	{ "{\"Version\": 2012, \"Statement\": []}",
	    "1:13: Version must be \"2012-10-17\"" },
	{ "Version: '2012-10-17'\nStatement: [\n", "3:1: did not find "
	    "expected node content while parsing a flow node" },
	{ "Version: '2008-10-17'\nStatement:\n" OK_STMT,
	    "1:10: Version must be \"2012-10-17\"" },
	{ "Statement:\n" OK_STMT, "1:1: Version \"2012-10-17\" is required" },
	{ V, "1:1: Statement is required" },
	{ V "Statement: []\n", "2:12: Statement must not be empty" },
	{ V "Statement: nope\n",
	    "2:12: Statement must be a statement or a list of statements" },
	{ V "Statement:\n" OK_STMT "Extra: 1\n",
	    "6:1: unknown element 'Extra' (expected Version, Id, Statement)" },
	{ V "Statement:\n" OK_STMT "    Effects: Allow\n",
	    "6:5: unknown element 'Effects' in a statement" },
	{ V "Statement:\n  - Effect: allow\n    Action: '*'\n"
	    "    Resource: '*'\n", "3:13: Effect must be Allow or Deny" },
	{ V "Statement:\n  - Action: '*'\n    Resource: '*'\n",
	    "3:5: a statement needs an Effect" },
	{ V "Statement:\n  - Effect: Allow\n    Resource: '*'\n",
	    "3:5: a statement needs an Action or NotAction" },
	{ V "Statement:\n  - Effect: Allow\n    Action: '*'\n",
	    "3:5: a statement needs a Resource or NotResource" },
	{ V "Statement:\n" OK_STMT "    NotAction: x:Y\n",
	    "6:5: Action and NotAction exclude each other" },
	{ V "Statement:\n" OK_STMT "    NotResource: '*'\n",
	    "6:5: Resource and NotResource exclude each other" },
	{ V "Statement:\n" OK_STMT "    Effect: Deny\n",
	    "6:5: duplicate key 'Effect'" },
	{ V "Statement:\n  - Effect: Allow\n    Action: []\n"
	    "    Resource: '*'\n", "4:13: Action must not be empty" },
	{ V "Statement:\n  - Effect: Allow\n    Action: {a: b}\n"
	    "    Resource: '*'\n",
	    "4:13: Action must be a string or a list of strings" },
	{ V "Statement:\n  - Effect: Allow\n    Action: GetResourceApiKey\n"
	    "    Resource: '*'\n", "4:13: an action is service:Operation "
	    "(bedrock-agentcore:GetResourceApiKey) or \"*\"" },
	{ V "Statement:\n  - Effect: Allow\n    Action: ['x:${a:b}']\n"
	    "    Resource: '*'\n", "4:14: bad character in action 'x:${a:b}'" },
	{ V "Statement:\n  - Effect: Allow\n    Action: '*'\n"
	    "    Resource: token-vault/*\n", "5:15: Resource: not an ARN "
	    "pattern (arn:partition:service:region:account:resource) or "
	    "\"*\"" },
	{ V "Statement:\n  - Effect: Allow\n    Action: '*'\n"
	    "    Resource: 'nra:a:b:c:d:e'\n",
	    "5:15: Resource: an ARN pattern starts with \"arn:\"" },
	{ V "Statement:\n  - Effect: Allow\n    Action: '*'\n"
	    "    Resource: 'arn:a:b:c:d:${x'\n",
	    "5:15: Resource: a policy variable must name a condition key "
	    "(${prefix:name})" },
	{ V "Statement:\n  - Effect: Allow\n    Action: '*'\n"
	    "    Resource: 'arn:a:b:c:d:${a:x'\n",
	    "5:15: Resource: unterminated policy variable (missing '}')" },
	{ V "Statement:\n  - Effect: Allow\n    Action: '*'\n"
	    "    Resource: \"arn:a:b:c:d:${a:x, dflt}\"\n",
	    "5:15: Resource: a policy variable's default is quoted: "
	    "${key, 'default'}" },
	{ V "Statement:\n" OK_STMT "    Condition: {StringEqual: {a:b: x}}\n",
	    "6:17: StringEqual: unknown condition operator (see "
	    "docs/policy.md; IpAddress and Binary are not supported)" },
	{ V "Statement:\n" OK_STMT "    Condition:\n"
	    "      IpAddress: {aws:SourceIp: 10.0.0.0/8}\n",
	    "7:7: IpAddress: unknown condition operator (see docs/policy.md; "
	    "IpAddress and Binary are not supported)" },
	{ V "Statement:\n" OK_STMT "    Condition:\n"
	    "      NullIfExists: {a:b: 'true'}\n",
	    "7:7: NullIfExists: Null takes neither IfExists nor a set "
	    "qualifier" },
	{ V "Statement:\n" OK_STMT "    Condition:\n"
	    "      'Null': {a:b: ['true', 'false']}\n",
	    "7:22: Null a:b: Null takes one value" },
	{ V "Statement:\n" OK_STMT "    Condition:\n"
	    "      StringEquals: {nokey: x}\n",
	    "7:22: 'nokey' is not a condition key (prefix:name, at most 128 "
	    "bytes)" },
	{ V "Statement:\n" OK_STMT "    Condition:\n"
	    "      NumericLessThan: {a:n: ten}\n",
	    "7:30: NumericLessThan a:n: the value must be a decimal number" },
	{ V "Statement:\n" OK_STMT "    Condition:\n"
	    "      DateLessThan: {a:d: 2026-13-01}\n",
	    "7:27: DateLessThan a:d: the value must be an ISO 8601 date "
	    "(2026-01-31T12:00:00Z) or seconds since the epoch" },
	{ V "Statement:\n" OK_STMT "    Condition:\n"
	    "      Bool: {a:b: maybe}\n",
	    "7:19: Bool a:b: the value must be true or false" },
	{ V "Statement:\n" OK_STMT "    Condition:\n"
	    "      StringEquals: {a:b: []}\n",
	    "7:27: a condition's values must not be empty" },
	{ V "Statement:\n" OK_STMT "    Condition:\n"
	    "      StringEquals: a:b\n",
	    "7:21: StringEquals must map condition keys to values" },
	{ V "Statement:\n" OK_STMT "    Condition: []\n",
	    "6:16: Condition must be a mapping of operators to mappings of "
	    "keys to values" },
	{ V "Statement:\n" OK_STMT "    Principal: '*'\n",
	    "6:5: Principal is not supported: policies are attached to "
	    "principals" },
	{ V "Statement:\n" OK_STMT "    Sid: 'no spaces'\n",
	    "6:10: Sid must be letters and digits (at most 128)" },
	{ V "Statement:\n  - Sid: A\n    Effect: Allow\n    Action: '*'\n"
	    "    Resource: '*'\n  - Sid: A\n    Effect: Allow\n",
	    "7:10: duplicate Sid 'A'" },
	{ V "Statement:\n  - &a Effect: Allow\n", "3:5: anchors and aliases "
	    "are not allowed in a policy" },
	{ V "---\n" V, "2:1: one policy document per file" },
	{ V "Statement: !!str x\n", "2:12: YAML tags are not allowed in a "
	    "policy" },
	{ V "Statement: !x [1]\n", "2:12: YAML tags are not allowed in a "
	    "policy" },
	{ V "Statement:\n  ? [a]\n  : b\n", "3:5: keys must be non-empty "
	    "strings" },
	{ "", "1:1: empty document" },
	{ "[1, 2]", "1:1: a policy document is a mapping with Version and "
	    "Statement" },
	{ V "Statement:\n  - Effect: Allow\n    Action: '*'\n"
	    "    Resource: '*'\n    Condition: {StringEquals: {a:b: "
	    "{c: d}}}\n", "6:37: a condition's values must be a string or a "
	    "list of strings" },
	{ V "Statement:\n  - Effect: Allow\n    Action: '*'\n"
	    "    Resource: '*'\n    Condition: {StringEquals: {a:b: [[[[[[["
	    "x]]]]]]]}}\n", "6:41: nested too deeply" },
};

static void
test_parse_errors(void **state)
{
	struct av_err e;
	char want[512];
	size_t i, bad = 0;

	(void)state;
	for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		memset(&e, 0, sizeof(e));
		if (policy_parse("bad.yaml", errors[i].text,
		    strlen(errors[i].text), &e) != NULL)
			fail_msg("error %zu: parsed", i);
		snprintf(want, sizeof(want), "bad.yaml:%s", errors[i].want);
		if (strcmp(e.msg, want) != 0 ||
		    strcmp(e.type, AV_E_VALIDATION) != 0) {
			print_error("error %zu:\n got  %s\n want %s\n", i,
			    e.msg, want);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/* ---- limits ------------------------------------------------------------ */

static void
test_limits(void **state)
{
	struct policy_ctx c;
	struct policy_set *s;
	struct av_err e;
	char *text, val[POLICY_VALUE_MAX + 2];
	size_t i, n = 0, cap = 2 * POLICY_DOC_MAX;

	(void)state;
	assert_non_null(text = malloc(cap));
	/* Statements. */
	n = (size_t)snprintf(text, cap, V "Statement:\n");
	for (i = 0; i <= POLICY_STATEMENTS_MAX; i++)
		n += (size_t)snprintf(text + n, cap - n, OK_STMT);
	assert_null(policy_parse("big.yaml", text, n, &e));
	assert_string_equal(e.msg, "big.yaml:3:3: too many statements (at "
	    "most 128)");
	/* Document size. */
	memset(text, ' ', POLICY_DOC_MAX + 1);
	assert_null(policy_parse("big.yaml", text, POLICY_DOC_MAX + 1, &e));
	assert_string_equal(e.msg, "big.yaml:1:1: document too large (at "
	    "most 65536 bytes)");
	/* Pattern length. */
	n = (size_t)snprintf(text, cap, V "Statement:\n  - Effect: Allow\n"
	    "    Action: 'x:");
	memset(text + n, 'a', POLICY_PATTERN_MAX);
	n += POLICY_PATTERN_MAX;
	n += (size_t)snprintf(text + n, cap - n, "'\n    Resource: '*'\n");
	assert_null(policy_parse("big.yaml", text, n, &e));
	assert_string_equal(e.msg, "big.yaml:4:13: pattern too long (at most "
	    "1024 bytes)");
	/* Values of a condition. */
	n = (size_t)snprintf(text, cap, V "Statement:\n" OK_STMT
	    "    Condition: {StringEquals: {a:b: [");
	for (i = 0; i <= POLICY_COND_VALUES_MAX; i++)
		n += (size_t)snprintf(text + n, cap - n, "v%zu, ", i);
	n += (size_t)snprintf(text + n, cap - n, "]}}\n");
	assert_null(policy_parse("big.yaml", text, n, &e));
	assert_string_equal(e.msg, "big.yaml:6:37: too many entries in a "
	    "condition's values (at most 64)");
	/* Variables in one pattern. */
	n = (size_t)snprintf(text, cap, V "Statement:\n" OK_STMT
	    "    Condition: {StringEquals: {a:b: '${a:a}${a:b}${a:c}${a:d}"
	    "${a:e}'}}\n");
	assert_null(policy_parse("big.yaml", text, n, &e));
	assert_string_equal(e.msg, "big.yaml:6:37: StringEquals a:b: too many "
	    "policy variables in one string (at most 4)");
	/* Documents in a set. */
	assert_non_null(s = policy_set_new(&e));
	for (i = 0; i <= POLICY_SET_DOCS_MAX; i++) {
		static const char doc[] = V "Statement:\n" OK_STMT;
		struct policy_doc *d = policy_parse("d", doc, strlen(doc), &e);

		assert_non_null(d);
		assert_int_equal(policy_set_add(s, d, &e),
		    i < POLICY_SET_DOCS_MAX ? 0 : -1);
	}
	assert_string_equal(e.msg, "too many policy documents (at most 64)");
	/* Keys in a mapping. */
	n = (size_t)snprintf(text, cap, V "Statement:\n" OK_STMT
	    "    Condition: {StringEquals: {");
	for (i = 0; i <= POLICY_CONDITIONS_MAX; i++)
		n += (size_t)snprintf(text + n, cap - n, "a:k%zu: v, ", i);
	n += (size_t)snprintf(text + n, cap - n, "}}\n");
	assert_null(policy_parse("big.yaml", text, n, &e));
	assert_string_equal(e.msg, "big.yaml:6:31: too many keys in a "
	    "mapping (at most 32)");
	policy_set_free(s);
	free(text);
	/* A request context. */
	policy_ctx_init(&c, "x:Y", "*");
	memset(val, 'v', sizeof(val) - 1);
	val[sizeof(val) - 1] = '\0';
	assert_int_equal(policy_ctx_add(&c, "a:b", val, &e), -1);
	for (i = 0; i < POLICY_CTX_VALUES_MAX; i++)
		assert_int_equal(policy_ctx_add(&c, "a:b", "v", &e), 0);
	assert_int_equal(policy_ctx_add(&c, "A:B", "v", &e), -1);
	assert_string_equal(e.msg, "too many values for A:B (at most 32)");
	assert_int_equal(policy_ctx_add(&c, "", "v", &e), -1);
	assert_null(policy_parse_file("/nonexistent/p.yaml", &e));
	assert_string_equal(e.msg, "/nonexistent/p.yaml: No such file or "
	    "directory");
	assert_null(policy_parse_file("/dev/null", &e));
}

/* ---- the value parsers, directly --------------------------------------- */

static void
test_values(void **state)
{
	int64_t ms;
	double d;

	(void)state;
	assert_int_equal(parse_date("1970-01-01", 10, &ms), 0);
	assert_true(ms == 0);
	assert_int_equal(parse_date("2026-06-01T00:00:00Z", 20, &ms), 0);
	assert_true(ms == 1780272000000LL);
	assert_int_equal(parse_date("2026-06-01T02:00:00+02:00", 25, &ms), 0);
	assert_true(ms == 1780272000000LL);
	assert_int_equal(parse_date("2026-06-01T00:00:00.5Z", 22, &ms), 0);
	assert_true(ms == 1780272000500LL);
	assert_int_equal(parse_date("1780272000", 10, &ms), 0);
	assert_true(ms == 1780272000000LL);
	assert_int_equal(parse_date("1969-12-31T23:59:59Z", 20, &ms), 0);
	assert_true(ms == -1000);
	assert_int_equal(parse_date("2024-02-29", 10, &ms), 0);
	assert_int_equal(parse_date("2100-02-29", 10, &ms), -1);
	assert_int_equal(parse_date("2026-06-01T24:00:00Z", 20, &ms), -1);
	assert_int_equal(parse_date("2026-06-01T00:00:00Zx", 21, &ms), -1);
	assert_int_equal(parse_date("2026-6-1", 8, &ms), -1);
	assert_int_equal(parse_date("", 0, &ms), -1);
	assert_int_equal(parse_number("-1.5e3", 6, &d), 0);
	assert_true(d == -1500);
	assert_int_equal(parse_number("1e999", 5, &d), -1);
	assert_int_equal(parse_number("nan", 3, &d), -1);
	assert_int_equal(parse_number("1-", 2, &d), -1);
	assert_int_equal(parse_number(".5", 2, &d), -1);
	assert_int_equal(parse_number("", 0, &d), -1);
	assert_int_equal(parse_number("-", 1, &d), -1);
	assert_int_equal(parse_number("+7", 2, &d), 0);
	assert_true(d == 7);
}

/*
 * The keys a set names (callers add only those to a request), the
 * built-in documents (they parse and say what docs/policy.md says), and
 * renaming a document for decisions.
 */
static void
test_keys_and_builtins(void **state)
{
	static const char doc[] =
	    "Version: \"2012-10-17\"\n"
	    "Statement:\n"
	    "  - Effect: Allow\n"
	    "    Action: \"*\"\n"
	    "    Resource: arn:aws:bedrock-agentcore:*:*:x/${agentvault:subject}\n"
	    "    Condition:\n"
	    "      StringEquals:\n"
	    "        aws:ResourceTag/tenant: ${aws:PrincipalTag/Tenant}\n"
	    "      Null:\n"
	    "        aws:TagKeys: \"false\"\n";
	const struct policy_builtin *b;
	struct policy_decision d;
	struct policy_set *set;
	struct policy_doc *pd;
	struct policy_ctx c;
	struct av_err e;
	size_t n = 0;

	(void)state;
	assert_non_null(set = policy_set_new(&e));
	assert_non_null(pd = policy_parse("keys", doc, sizeof(doc) - 1, &e));
	assert_int_equal(policy_set_add(set, pd, &e), 0);
	assert_true(policy_set_uses_key(set, "aws:ResourceTag/tenant", 22));
	assert_true(policy_set_uses_key(set, "AWS:RESOURCETAG/TENANT", 22));
	assert_true(policy_set_uses_key(set, "aws:PrincipalTag/tenant", 23));
	assert_true(policy_set_uses_key(set, "aws:TagKeys", 11));
	assert_true(policy_set_uses_key(set, "agentvault:subject", 18));
	assert_false(policy_set_uses_key(set, "aws:ResourceTag/owner", 21));
	assert_false(policy_set_uses_key(set, "aws:ResourceTag/tenan", 21));
	assert_true(policy_set_uses_prefix(set, "aws:ResourceTag/"));
	assert_true(policy_set_uses_prefix(set, "aws:principaltag/"));
	assert_false(policy_set_uses_prefix(set, "aws:RequestTag/"));
	assert_false(policy_set_uses_prefix(set, "aws:TagKeys"));
	policy_set_free(set);

	for (b = policy_builtins(); b->name != NULL; b++, n++) {
		assert_non_null(pd = policy_parse(b->name, b->text,
		    strlen(b->text), &e));
		assert_ptr_equal(policy_builtin(b->name), b);
		policy_doc_free(pd);
	}
	assert_int_equal(n, 4);
	assert_null(policy_builtin("agentvaultfullaccess"));

	/* The agent policy vends and mints, and manages nothing. */
	b = policy_builtin("AgentVaultAgentAccess");
	assert_non_null(set = policy_set_new(&e));
	assert_non_null(pd = policy_parse(b->name, b->text, strlen(b->text),
	    &e));
	assert_int_equal(policy_doc_rename(pd, "renamed"), 0);
	assert_int_equal(policy_set_add(set, pd, &e), 0);
	assert_false(policy_set_uses_prefix(set, "aws:"));
	policy_ctx_init(&c, GET_KEY, TV "apikeycredentialprovider/k");
	policy_eval(set, &c, &d);
	assert_int_equal(d.effect, POLICY_ALLOW);
	assert_string_equal(d.doc_name, "renamed");
	assert_string_equal(d.sid, "AgentDataPlane");
	policy_ctx_init(&c, "bedrock-agentcore:CreateWorkloadIdentity",
	    WI "x");
	policy_eval(set, &c, &d);
	assert_int_equal(d.effect, POLICY_IMPLICIT_DENY);
	policy_set_free(set);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conditions),
		cmocka_unit_test(test_decisions),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_keys_and_builtins),
	};

	return cmocka_run_group_tests_name("policy", tests, setup, teardown);
}
