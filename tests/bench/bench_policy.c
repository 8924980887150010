/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_policy.c - the cost of one policy decision: 50 statements in 5
 * documents, with action and ARN wildcards, conditions, set qualifiers
 * and policy variables, against requests that are allowed late, denied
 * explicitly, and denied by default (every statement evaluated); then
 * what the daemon does per call around that (daemon/authz.c: principal
 * lookup, snapshot reference, request context, evaluation) for a
 * GetResourceApiKey.  Measures, asserts nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/authz.h"
#include "policy/policy.h"

#define DOCS		5
#define PER_DOC		10
#define ROUNDS		200000

#define ARN	"arn:aws:bedrock-agentcore:us-east-1:123456789012:"

/* Statement i of the set: one of five shapes. */
static int
statement(char *buf, size_t len, int i)
{
	switch (i % 5) {
	case 0:
		return snprintf(buf, len, "  - Sid: Tenant%d\n"
		    "    Effect: Allow\n"
		    "    Action: [bedrock-agentcore:GetResource*, "
		    "bedrock-agentcore:List*]\n"
		    "    Resource: " ARN "token-vault/default/*/t%d-*\n"
		    "    Condition:\n"
		    "      StringEquals:\n"
		    "        aws:ResourceTag/tenant: "
		    "${aws:PrincipalTag/tenant}\n", i, i);
	case 1:
		return snprintf(buf, len, "  - Sid: Provider%d\n"
		    "    Effect: Deny\n"
		    "    Action: bedrock-agentcore:GetResourceOauth2Token\n"
		    "    Resource: '*'\n"
		    "    Condition:\n"
		    "      StringEquals:\n"
		    "        bedrock-agentcore:resourceCredentialProvider: "
		    "sensitive-%d\n"
		    "      ArnNotLike:\n"
		    "        bedrock-agentcore:workloadIdentityArn: "
		    ARN "workload-identity-directory/default/"
		    "workload-identity/designated-%d\n", i, i, i);
	case 2:
		return snprintf(buf, len, "  - Sid: Tags%d\n"
		    "    Effect: Allow\n"
		    "    Action: bedrock-agentcore:*Tag*\n"
		    "    Resource: " ARN "workload-identity-directory/default/"
		    "workload-identity/w%d-*\n"
		    "    Condition:\n"
		    "      ForAllValues:StringLike:\n"
		    "        aws:TagKeys: [env, team-*, owner]\n"
		    "      'Null':\n"
		    "        aws:TagKeys: 'false'\n", i, i);
	case 3:
		return snprintf(buf, len, "  - Sid: Operators%d\n"
		    "    Effect: Allow\n"
		    "    NotAction: bedrock-agentcore:Delete*\n"
		    "    Resource: " ARN "workload-identity-directory/*\n"
		    "    Condition:\n"
		    "      StringEquals:\n"
		    "        agentvault:gid: ['%d', '%d']\n"
		    "      NumericLessThanIfExists:\n"
		    "        agentvault:uid: 60000\n", i, 1000 + i, 2000 + i);
	default:
		return snprintf(buf, len, "  - Sid: Window%d\n"
		    "    Effect: Allow\n"
		    "    Action: bedrock-agentcore:Get?orkloadAccessToken*\n"
		    "    Resource: " ARN "workload-identity-directory/default/"
		    "workload-identity/${agentvault:subject}\n"
		    "    Condition:\n"
		    "      DateLessThan:\n"
		    "        aws:CurrentTime: '2020-01-%02dT00:00:00Z'\n",
		    i, 1 + i % 28);
	}
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void
run(const struct policy_set *s, const struct policy_ctx *c, const char *what)
{
	struct policy_decision d;
	char why[256];
	double t0, ns;
	int i;

	policy_eval(s, c, &d);
	t0 = now();
	for (i = 0; i < ROUNDS; i++)
		policy_eval(s, c, &d);
	ns = (now() - t0) / ROUNDS;
	policy_decision_format(&d, why, sizeof(why));
	printf("  %-44s %8.0f ns   %s\n", what, ns, why);
}

/*
 * One GetResourceApiKey as api_authorize() decides it, tags given (the
 * daemon reads them from its per-loop cache), for a principal with
 * policies attached.
 */
static void
run_authz(struct authz_holder *h, const struct av_caller *caller,
    const struct authz_request *q, const char *what)
{
	const struct authz_principal *p;
	struct authz *a;
	struct av_err e;
	char why[AUTHZ_WHY_SIZE];
	double t0, ns;
	int i;

	t0 = now();
	for (i = 0; i < ROUNDS; i++) {
		a = authz_acquire(h);
		p = authz_principal_of(a, caller);
		(void)authz_decide(p, caller, q, why, sizeof(why), &e);
		authz_release(a);
	}
	ns = (now() - t0) / ROUNDS;
	printf("  %-44s %8.0f ns   %s\n", what, ns, why);
}

static int
enforcement(char text[][16384], int ndocs)
{
	static struct av_principals_config ps;
	struct authz_sources files = { 0 };
	struct authz_holder h;
	struct authz *a;
	struct av_caller caller = { .listener = AV_LISTENER_AGENT,
	    .has_cred = true, .uid = 1000, .gid = 1000 };
	struct authz_request q = { .operation = "GetResourceApiKey",
	    .resource = ARN "token-vault/default/apikeycredentialprovider/"
	    "t45-weather", .provider = "t45-weather",
	    .workload = ARN "workload-identity-directory/default/"
	    "workload-identity/agent", .as_workload = true };
	struct av_err e;
	char name[16];
	int i;

	q.resource_tags = json_pack("{s:s, s:s}", "tenant", "acme", "env",
	    "prod");
	q.workload_tags = json_pack("{s:s}", "tenant", "acme");
	/* Principal 0: the built-in agent policy; 1: the 50 statements. */
	ps.n = 2;
	snprintf(ps.v[0].name, sizeof(ps.v[0].name), "agents");
	ps.v[0].uids.n = 1;
	ps.v[0].uids.v[0] = 1000;
	ps.v[0].policies.n = 1;
	snprintf(ps.v[0].policies.v[0], sizeof(ps.v[0].policies.v[0]),
	    "AgentVaultAgentAccess");
	snprintf(ps.v[1].name, sizeof(ps.v[1].name), "tenants");
	ps.v[1].uids.n = 1;
	ps.v[1].uids.v[0] = 1001;
	for (i = 0; i < ndocs; i++) {
		snprintf(name, sizeof(name), "doc%d", i);
		if (authz_sources_add(&files, name, name, text[i],
		    strlen(text[i]), &e) != 0)
			return 1;
		snprintf(ps.v[1].policies.v[i], sizeof(ps.v[1].policies.v[i]),
		    "%s", name);
	}
	ps.v[1].policies.n = (size_t)ndocs;
	if ((a = authz_build(&ps, &files, NULL, NULL, 0, &e)) == NULL) {
		fprintf(stderr, "%s\n", e.msg);
		return 1;
	}
	authz_holder_init(&h);
	authz_publish(&h, a);
	printf("\nEnforcement per call (authz_decide with the principal's "
	    "lookup and snapshot reference; %d rounds)\n", ROUNDS);
	run_authz(&h, &caller, &q, "AgentVaultAgentAccess (built in)");
	caller.uid = 1001;
	run_authz(&h, &caller, &q, "50 statements, tags compared");
	authz_holder_free(&h);
	authz_sources_free(&files);
	json_decref((json_t *)q.resource_tags);
	json_decref((json_t *)q.workload_tags);
	return 0;
}

int
main(void)
{
	static char text[DOCS][16384];
	struct policy_set *s;
	struct policy_doc *d;
	struct policy_ctx c;
	struct av_err e;
	char name[16];
	size_t n;
	int i, j;

	if ((s = policy_set_new(&e)) == NULL)
		return 1;
	for (i = 0; i < DOCS; i++) {
		n = (size_t)snprintf(text[i], sizeof(text[i]),
		    "Version: '2012-10-17'\nStatement:\n");
		for (j = 0; j < PER_DOC; j++)
			n += (size_t)statement(text[i] + n,
			    sizeof(text[i]) - n, i * PER_DOC + j);
		snprintf(name, sizeof(name), "doc%d", i);
		if ((d = policy_parse(name, text[i], n, &e)) == NULL ||
		    policy_set_add(s, d, &e) == -1) {
			fprintf(stderr, "%s\n", e.msg);
			return 1;
		}
	}
	printf("Policy evaluation (%d statements in %d documents, %d rounds "
	    "each)\n", DOCS * PER_DOC, DOCS, ROUNDS);

	policy_ctx_init(&c, "bedrock-agentcore:GetResourceApiKey",
	    ARN "token-vault/default/apikeycredentialprovider/t45-weather");
	policy_ctx_add(&c, "aws:PrincipalTag/tenant", "acme", &e);
	policy_ctx_add(&c, "aws:ResourceTag/tenant", "acme", &e);
	policy_ctx_add(&c, "agentvault:uid", "1000", &e);
	policy_ctx_add(&c, "agentvault:gid", "1000", &e);
	run(s, &c, "allowed by the 46th statement");

	policy_ctx_init(&c, "bedrock-agentcore:GetResourceOauth2Token",
	    ARN "token-vault/default/oauth2credentialprovider/sensitive-41");
	policy_ctx_add(&c, "bedrock-agentcore:resourceCredentialProvider",
	    "sensitive-41", &e);
	policy_ctx_add(&c, "bedrock-agentcore:workloadIdentityArn",
	    ARN "workload-identity-directory/default/workload-identity/chat",
	    &e);
	policy_ctx_add(&c, "aws:PrincipalTag/tenant", "acme", &e);
	run(s, &c, "explicitly denied by the 42nd statement");

	policy_ctx_init(&c, "bedrock-agentcore:TagResource",
	    ARN "workload-identity-directory/default/workload-identity/x");
	policy_ctx_add(&c, "aws:TagKeys", "env", &e);
	policy_ctx_add(&c, "aws:TagKeys", "cost", &e);
	policy_ctx_add(&c, "aws:PrincipalTag/tenant", "acme", &e);
	policy_ctx_add(&c, "agentvault:uid", "1000", &e);
	policy_ctx_add(&c, "agentvault:gid", "99", &e);
	policy_ctx_add(&c, "agentvault:subject", "x", &e);
	run(s, &c, "denied by default (all 50 evaluated)");

	policy_set_free(s);
	return enforcement(text, DOCS);
}
