/* SPDX-License-Identifier: Apache-2.0 */
/*
 * builtin.c - the appliance's managed policies, attached by name like
 * AWS managed policies (docs/policy.md, "Built-in policies").  They are
 * plain documents, compiled like any other; keeping them as text means
 * the simulator and `GetPolicy` show exactly what is enforced.
 */
#include <string.h>

#include "policy/policy.h"

/* The data plane's actions, as a YAML list under "Action:". */
#define DATA_PLANE							\
	"      - bedrock-agentcore:GetWorkloadAccessToken\n"		\
	"      - bedrock-agentcore:GetWorkloadAccessTokenForJWT\n"	\
	"      - bedrock-agentcore:GetWorkloadAccessTokenForUserId\n"	\
	"      - bedrock-agentcore:GetResourceOauth2Token\n"		\
	"      - bedrock-agentcore:GetResourceApiKey\n"			\
	"      - bedrock-agentcore:CompleteResourceTokenAuth\n"		\
	"      - bedrock-agentcore:GetAgentAccessToken\n"

static const struct policy_builtin builtins[] = {
	{ "AgentVaultFullAccess",
	  "Version: \"2012-10-17\"\n"
	  "Statement:\n"
	  "  - Sid: FullAccess\n"
	  "    Effect: Allow\n"
	  "    Action: \"bedrock-agentcore:*\"\n"
	  "    Resource: \"*\"\n" },
	{ "AgentVaultReadOnlyAccess",
	  "Version: \"2012-10-17\"\n"
	  "Statement:\n"
	  "  - Sid: ReadOnly\n"
	  "    Effect: Allow\n"
	  "    Action:\n"
	  "      - bedrock-agentcore:GetTokenVault\n"
	  "      - bedrock-agentcore:GetWorkloadIdentity\n"
	  "      - bedrock-agentcore:ListWorkloadIdentities\n"
	  "      - bedrock-agentcore:GetApiKeyCredentialProvider\n"
	  "      - bedrock-agentcore:ListApiKeyCredentialProviders\n"
	  "      - bedrock-agentcore:GetOauth2CredentialProvider\n"
	  "      - bedrock-agentcore:ListOauth2CredentialProviders\n"
	  "      - bedrock-agentcore:ListTagsForResource\n"
	  "      - bedrock-agentcore:GetPolicy\n"
	  "      - bedrock-agentcore:ListPolicies\n"
	  "      - bedrock-agentcore:GetPrincipal\n"
	  "      - bedrock-agentcore:ListPrincipals\n"
	  "      - bedrock-agentcore:SimulatePrincipalPolicy\n"
	  "    Resource: \"*\"\n" },
	{ "AgentVaultAgentAccess",
	  "Version: \"2012-10-17\"\n"
	  "Statement:\n"
	  "  - Sid: AgentDataPlane\n"
	  "    Effect: Allow\n"
	  "    Action:\n"
	  DATA_PLANE
	  "    Resource: \"*\"\n" },
	{ "AgentVaultServiceAccess",
	  "Version: \"2012-10-17\"\n"
	  "Statement:\n"
	  "  - Sid: ManageOwnIdentities\n"
	  "    Effect: Allow\n"
	  "    Action:\n"
	  "      - bedrock-agentcore:CreateWorkloadIdentity\n"
	  "      - bedrock-agentcore:GetWorkloadIdentity\n"
	  "      - bedrock-agentcore:UpdateWorkloadIdentity\n"
	  "      - bedrock-agentcore:DeleteWorkloadIdentity\n"
	  "      - bedrock-agentcore:ListWorkloadIdentities\n"
	  "    Resource: \"*\"\n"
	  "  - Sid: ServiceDataPlane\n"
	  "    Effect: Allow\n"
	  "    Action:\n"
	  DATA_PLANE
	  "    Resource: \"*\"\n" },
	{ NULL, NULL },
};

const struct policy_builtin *
policy_builtin(const char *name)
{
	const struct policy_builtin *b;

	for (b = builtins; b->name != NULL; b++)
		if (strcmp(b->name, name) == 0)
			return b;
	return NULL;
}

const struct policy_builtin *
policy_builtins(void)
{
	return builtins;
}
