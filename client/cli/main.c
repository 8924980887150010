/* SPDX-License-Identifier: Apache-2.0 */
/*
 * main.c - agentvault, the command line of the Agent Vault appliance:
 * options, the command table, help, secrets from files, exit statuses.
 * The commands themselves are in commands.c; docs/client.md describes
 * them all.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"

#define RUN_DIR		"/run/agentvault"
#define CA_FILE		"/var/lib/agentvault/ca.pem"
#define SECRET_MAX	(256 * 1024)
#define VERIFIER	"agentvault-audit-verify"

enum opt {
	/* global: allowed with every command */
	O_OUTPUT, O_SOCKET, O_RUN_DIR, O_CA, O_HOST, O_PORT, O_CERT, O_KEY,
	O_SERVER_NAME, O_TIMEOUT, O_HELP, O_VERSION,
	/* command options */
	O_TYPE, O_NAME, O_API_KEY_FILE, O_API_KEY_ENV, O_API_KEY_STDIN, O_TAG,
	O_RETURN_URL, O_MAX_RESULTS, O_NEXT_TOKEN, O_ALL, O_WORKLOAD,
	O_USER_ID, O_PROVIDER, O_TOKEN_FILE, O_VAULT_ID, O_FILE, O_DESCRIPTION,
	O_PRINCIPAL, O_POLICY, O_POLICY_FILE, O_POLICY_DIR, O_ACTION,
	O_RESOURCE, O_CONTEXT,
	/* OAuth2 providers */
	O_VENDOR, O_CLIENT_ID, O_CLIENT_SECRET_FILE, O_CLIENT_SECRET_ENV,
	O_CLIENT_SECRET_STDIN, O_DISCOVERY_URL, O_ISSUER,
	O_AUTHORIZATION_ENDPOINT, O_TOKEN_ENDPOINT, O_TENANT_ID, O_CLIENT_AUTH,
	O_SCOPES,
	/* OAuth2 tokens and sessions */
	O_FLOW, O_SESSION_URI, O_FORCE, O_CUSTOM_PARAM, O_CUSTOM_STATE,
	O_AUDIENCE, O_WAIT, O_WAIT_TIMEOUT,
	/* jwt check */
	O_CLIENT, O_SCOPE
};
#define B(o)		(UINT64_C(1) << (o))
#define GLOBAL		(B(O_TYPE) - 1)
#define KEYSRC		(B(O_API_KEY_FILE) | B(O_API_KEY_ENV) | \
			 B(O_API_KEY_STDIN))
#define SECRETSRC	(B(O_CLIENT_SECRET_FILE) | B(O_CLIENT_SECRET_ENV) | \
			 B(O_CLIENT_SECRET_STDIN))
#define OAUTH		(B(O_VENDOR) | B(O_CLIENT_ID) | SECRETSRC | \
			 B(O_DISCOVERY_URL) | B(O_ISSUER) | \
			 B(O_AUTHORIZATION_ENDPOINT) | B(O_TOKEN_ENDPOINT) | \
			 B(O_TENANT_ID) | B(O_CLIENT_AUTH) | B(O_SCOPES))
#define OAUTH2_TOKEN	(B(O_PROVIDER) | B(O_WORKLOAD) | B(O_USER_ID) | \
			 B(O_TOKEN_FILE) | B(O_SCOPES) | B(O_FLOW) | \
			 B(O_RETURN_URL) | B(O_SESSION_URI) | B(O_FORCE) | \
			 B(O_CUSTOM_PARAM) | B(O_CUSTOM_STATE) | \
			 B(O_RESOURCE) | B(O_AUDIENCE) | B(O_WAIT) | \
			 B(O_WAIT_TIMEOUT))
#define PAGING		(B(O_MAX_RESULTS) | B(O_NEXT_TOKEN) | B(O_ALL))
#define SIMULATE	(B(O_PRINCIPAL) | B(O_POLICY) | B(O_POLICY_FILE) | \
			 B(O_POLICY_DIR) | B(O_ACTION) | B(O_RESOURCE) | \
			 B(O_CONTEXT))

static const struct option options[] = {
	{ "output",	  required_argument, NULL, O_OUTPUT },
	{ "socket",	  required_argument, NULL, O_SOCKET },
	{ "run-dir",	  required_argument, NULL, O_RUN_DIR },
	{ "ca",		  required_argument, NULL, O_CA },
	{ "host",	  required_argument, NULL, O_HOST },
	{ "port",	  required_argument, NULL, O_PORT },
	{ "cert",	  required_argument, NULL, O_CERT },
	{ "key",	  required_argument, NULL, O_KEY },
	{ "server-name",  required_argument, NULL, O_SERVER_NAME },
	{ "timeout",	  required_argument, NULL, O_TIMEOUT },
	{ "help",	  no_argument,	     NULL, O_HELP },
	{ "version",	  no_argument,	     NULL, O_VERSION },
	{ "type",	  required_argument, NULL, O_TYPE },
	{ "name",	  required_argument, NULL, O_NAME },
	{ "api-key-file", required_argument, NULL, O_API_KEY_FILE },
	{ "api-key-env",  required_argument, NULL, O_API_KEY_ENV },
	{ "api-key-stdin", no_argument,	     NULL, O_API_KEY_STDIN },
	{ "tag",	  required_argument, NULL, O_TAG },
	{ "return-url",	  required_argument, NULL, O_RETURN_URL },
	{ "max-results",  required_argument, NULL, O_MAX_RESULTS },
	{ "next-token",	  required_argument, NULL, O_NEXT_TOKEN },
	{ "all",	  no_argument,	     NULL, O_ALL },
	{ "workload",	  required_argument, NULL, O_WORKLOAD },
	{ "user-id",	  required_argument, NULL, O_USER_ID },
	{ "provider",	  required_argument, NULL, O_PROVIDER },
	{ "token-file",	  required_argument, NULL, O_TOKEN_FILE },
	{ "vault-id",	  required_argument, NULL, O_VAULT_ID },
	{ "file",	  required_argument, NULL, O_FILE },
	{ "description",  required_argument, NULL, O_DESCRIPTION },
	{ "principal",	  required_argument, NULL, O_PRINCIPAL },
	{ "policy",	  required_argument, NULL, O_POLICY },
	{ "policy-file",  required_argument, NULL, O_POLICY_FILE },
	{ "policy-dir",	  required_argument, NULL, O_POLICY_DIR },
	{ "action",	  required_argument, NULL, O_ACTION },
	{ "resource",	  required_argument, NULL, O_RESOURCE },
	{ "context",	  required_argument, NULL, O_CONTEXT },
	{ "vendor",	  required_argument, NULL, O_VENDOR },
	{ "client-id",	  required_argument, NULL, O_CLIENT_ID },
	{ "client-secret-file", required_argument, NULL, O_CLIENT_SECRET_FILE },
	{ "client-secret-env", required_argument, NULL, O_CLIENT_SECRET_ENV },
	{ "client-secret-stdin", no_argument, NULL, O_CLIENT_SECRET_STDIN },
	{ "discovery-url", required_argument, NULL, O_DISCOVERY_URL },
	{ "issuer",	  required_argument, NULL, O_ISSUER },
	{ "authorization-endpoint", required_argument, NULL,
	    O_AUTHORIZATION_ENDPOINT },
	{ "token-endpoint", required_argument, NULL, O_TOKEN_ENDPOINT },
	{ "tenant-id",	  required_argument, NULL, O_TENANT_ID },
	{ "client-auth",  required_argument, NULL, O_CLIENT_AUTH },
	{ "scopes",	  required_argument, NULL, O_SCOPES },
	{ "flow",	  required_argument, NULL, O_FLOW },
	{ "session-uri",  required_argument, NULL, O_SESSION_URI },
	{ "force",	  no_argument,	     NULL, O_FORCE },
	{ "custom-param", required_argument, NULL, O_CUSTOM_PARAM },
	{ "custom-state", required_argument, NULL, O_CUSTOM_STATE },
	{ "audience",	  required_argument, NULL, O_AUDIENCE },
	{ "client",	  required_argument, NULL, O_CLIENT },
	{ "scope",	  required_argument, NULL, O_SCOPE },
	{ "wait",	  no_argument,	     NULL, O_WAIT },
	{ "wait-timeout", required_argument, NULL, O_WAIT_TIMEOUT },
	{ NULL, 0, NULL, 0 }
};

enum plane { ADMIN, AGENT };

struct command {
	const char	*words;		/* "identity create" */
	int		(*fn)(struct cli *);
	enum plane	 plane;		/* which socket by default */
	uint64_t	 opts;		/* allowed command options */
	int		 min_args, max_args;
	const char	*help;		/* synopsis, blank line, details */
};

static const struct command commands[] = {
	{ "ping", cmd_ping, AGENT, 0, 0, 0,
"ping\n\n"
"Is the appliance up?  Prints its name and version (GET /ping).  Any\n"
"caller who can connect may ping; the call is not audited.\n" },
	{ "vault show", cmd_vault_show, ADMIN, B(O_VAULT_ID), 0, 0,
"vault show [--vault-id ID]\n\n"
"The token vault and the key that protects it: key type, HSM token, the\n"
"KEK's pkcs11: URI and key check value (GetTokenVault).  Admin socket.\n" },
	{ "identity create", cmd_identity_create, ADMIN,
	    B(O_NAME) | B(O_RETURN_URL) | B(O_TAG), 0, 1,
"identity create NAME [--return-url URL]... [--tag KEY=VALUE]...\n\n"
"Create a workload identity (CreateWorkloadIdentity).  NAME (or --name):\n"
"3 to 255 characters of [A-Za-z0-9_.-].  --return-url: an OAuth2 return\n"
"URL the identity may use, repeated for more; --tag: repeated, at most 50.\n" },
	{ "identity get", cmd_identity_get, ADMIN, B(O_NAME), 0, 1,
"identity get NAME\n\n"
"One workload identity: ARN, return URLs, times (GetWorkloadIdentity).\n" },
	{ "identity list", cmd_identity_list, ADMIN, PAGING, 0, 0,
"identity list [--all | --max-results N [--next-token T]]\n\n"
"Workload identities in name order (ListWorkloadIdentities): one page of\n"
"--max-results (1-20, default 10) from --next-token, or --all pages.\n" },
	{ "identity update", cmd_identity_update, ADMIN,
	    B(O_NAME) | B(O_RETURN_URL), 0, 1,
"identity update NAME [--return-url URL]...\n\n"
"Replace the identity's OAuth2 return URLs with those given; none empties\n"
"the list (UpdateWorkloadIdentity).  Tags: see 'agentvault tag'.\n" },
	{ "identity delete", cmd_identity_delete, ADMIN, B(O_NAME), 0, 1,
"identity delete NAME\n\n"
"Delete a workload identity, its tags, and crypto-erase the secrets it\n"
"owns (DeleteWorkloadIdentity).\n" },
	{ "add credential", cmd_add_credential, ADMIN,
	    B(O_TYPE) | B(O_NAME) | KEYSRC | OAUTH | B(O_TAG), 0, 1,
"add credential --type api-key --name NAME\n"
"    (--api-key-file FILE | --api-key-env VAR | --api-key-stdin)\n"
"    [--tag KEY=VALUE]...\n"
"   or: agentvault add credential --type oauth --name NAME\n"
"    [--vendor VENDOR] --client-id ID (--client-secret-file FILE |\n"
"    --client-secret-env VAR | --client-secret-stdin)\n"
"    [--discovery-url URL | --issuer URL --authorization-endpoint URL\n"
"    --token-endpoint URL] [--tenant-id TENANT] [--client-auth basic|post]\n"
"    [--tag KEY=VALUE]...\n\n"
"Register an API-key credential provider (CreateApiKeyCredentialProvider)\n"
"or an OAuth2 one (CreateOauth2CredentialProvider).  The key or client\n"
"secret is read from FILE, from the environment variable VAR or from\n"
"standard input (without echo on a terminal); one trailing newline is\n"
"dropped.  It is write-only: nothing ever prints it back.\n"
"OAuth2: VENDOR is an AgentCore vendor value (GithubOauth2, GoogleOauth2,\n"
"MicrosoftOauth2, OktaOauth2... docs/oauth.md), CustomOauth2 by default:\n"
"then --discovery-url, or --issuer with both endpoints, and --client-auth\n"
"(basic by default).  A preset takes what its vendor needs: --tenant-id\n"
"(Microsoft), --issuer and the endpoints (Okta, Auth0, Cognito...).\n"
"Scopes are asked for with each token, not stored: no --scopes.\n" },
	{ "credential get", cmd_credential_get, ADMIN, B(O_NAME) | B(O_TYPE),
	    0, 1,
"credential get NAME [--type api-key|oauth]\n\n"
"A credential provider, without its key or client secret\n"
"(GetApiKeyCredentialProvider, or GetOauth2CredentialProvider with\n"
"--type oauth).\n" },
	{ "credential list", cmd_credential_list, ADMIN, PAGING | B(O_TYPE),
	    0, 0,
"credential list [--type api-key|oauth] [--all | --max-results N\n"
"    [--next-token T]]\n\n"
"API-key credential providers (ListApiKeyCredentialProviders), or OAuth2\n"
"ones with --type oauth (ListOauth2CredentialProviders).\n" },
	{ "credential update", cmd_credential_update, ADMIN,
	    B(O_NAME) | B(O_TYPE) | KEYSRC | OAUTH, 0, 1,
"credential update NAME (--api-key-file FILE | --api-key-env VAR |\n"
"    --api-key-stdin)\n"
"   or: agentvault credential update NAME --type oauth [--vendor VENDOR]\n"
"    --client-id ID [--client-secret-file FILE | --client-secret-env VAR |\n"
"    --client-secret-stdin] [the endpoint options of add credential]\n\n"
"Replace a provider's key (UpdateApiKeyCredentialProvider), or an OAuth2\n"
"provider's whole configuration (UpdateOauth2CredentialProvider): its\n"
"client secret only when one is given.\n" },
	{ "credential delete", cmd_credential_delete, ADMIN,
	    B(O_NAME) | B(O_TYPE), 0, 1,
"credential delete NAME [--type api-key|oauth]\n\n"
"Delete a provider and crypto-erase its key or client secret\n"
"(DeleteApiKeyCredentialProvider, DeleteOauth2CredentialProvider).\n" },
	{ "tag add", cmd_tag_add, ADMIN, 0, 2, 1 + MAX_TAGS,
"tag add ARN KEY=VALUE...\n\n"
"Tag a resource: a workload identity, an API-key or OAuth2 provider, the\n"
"token vault or the directory, by ARN (TagResource).  A key already there gets\n"
"the new value.\n" },
	{ "tag remove", cmd_tag_remove, ADMIN, 0, 2, 1 + MAX_TAGS,
"tag remove ARN KEY...\n\n"
"Remove tags from a resource; absent keys are no error (UntagResource).\n" },
	{ "tag list", cmd_tag_list, ADMIN, 0, 1, 1,
"tag list ARN\n\n"
"A resource's tags, KEY=VALUE per line (ListTagsForResource).\n" },
	{ "token workload", cmd_token_workload, AGENT,
	    B(O_WORKLOAD) | B(O_USER_ID), 0, 0,
"token workload --workload NAME [--user-id USER]\n\n"
"Mint a workload access token for NAME, acting for USER when given\n"
"(GetWorkloadAccessToken, GetWorkloadAccessTokenForUserId), and print\n"
"it.  Agent socket.  Keep it out of files others can read.\n" },
	{ "token api-key", cmd_token_api_key, AGENT,
	    B(O_PROVIDER) | B(O_WORKLOAD) | B(O_USER_ID) | B(O_TOKEN_FILE),
	    0, 0,
"token api-key --provider NAME\n"
"    (--workload W [--user-id U] | --token-file F)\n\n"
"Print the API key of provider NAME (GetResourceApiKey), with a workload\n"
"access token minted for W (and U) or read from file F.  Agent socket.\n" },
	{ "token oauth2", cmd_token_oauth2, AGENT, OAUTH2_TOKEN, 0, 0,
"token oauth2 --provider NAME --scopes S1,S2...\n"
"    --flow M2M|USER_FEDERATION|ON_BEHALF_OF_TOKEN_EXCHANGE\n"
"    (--workload W [--user-id U] | --token-file F) [--return-url URL]\n"
"    [--session-uri URI] [--force] [--custom-param KEY=VALUE]...\n"
"    [--custom-state TEXT] [--resource URI]... [--audience A]...\n"
"    [--wait [--wait-timeout SECONDS]]\n\n"
"An OAuth2 access token of provider NAME (GetResourceOauth2Token), with a\n"
"workload access token minted for W (and U) or read from file F.  Agent\n"
"socket.  The token is printed alone on standard output.  M2M: the\n"
"client-credentials token.  ON_BEHALF_OF_TOKEN_EXCHANGE: the user's JWT\n"
"(a workload access token from GetWorkloadAccessTokenForJWT in --token-file)\n"
"exchanged for a downstream token.  USER_FEDERATION: the user's token, when the\n"
"vault holds one with the scopes; otherwise the user must authorize:\n"
"the authorization URL, session URI and status are printed instead, and\n"
"the exit status is 6.  Open the URL; once the return URL's server has\n"
"called 'session complete', ask again with --session-uri URI.  --wait\n"
"does that itself: the URL and session URI go to standard error, the\n"
"session is polled every second until the token comes (exit 0), the\n"
"session fails (exit 1) or --wait-timeout passes (default 600; exit 6).\n"
"--return-url: where the browser goes after the callback, on the\n"
"identity's list (USER_FEDERATION); --force: a new consent even with a\n"
"token in the vault; --custom-param: an extra authorization parameter\n"
"(at most 10); --custom-state: given back to the return URL; --resource\n"
"and --audience: RFC 8707 indicators, repeated for more.\n" },
	{ "token agent", cmd_token_agent, AGENT, B(O_WORKLOAD) |
	    B(O_USER_ID) | B(O_TOKEN_FILE) | B(O_AUDIENCE) | B(O_SCOPE), 0, 0,
"token agent --audience A [--scope S]...\n"
"    (--workload W --user-id U | --token-file F)\n\n"
"An agent access token (POST /oauth2/token, RFC 8693; docs/agent-tokens.md):\n"
"a JWT signed by the appliance that says the workload W acts for the user\n"
"U, for audience A, with the scopes given.  The workload access token is\n"
"minted for W and U or read from file F (/dev/stdin works), never\n"
"taken from the command line, where every local user would see it.  The\n"
"token is printed alone on standard output.  Agent socket.\n" },
	{ "session complete", cmd_session_complete, AGENT,
	    B(O_SESSION_URI) | B(O_USER_ID), 0, 0,
"session complete --session-uri URI --user-id USER\n\n"
"Bind an authorization session to the user who came back from it\n"
"(CompleteResourceTokenAuth): the token becomes usable when USER is the\n"
"user the session was started for; another user is refused and the\n"
"session fails.  What the return URL's server does.  Agent socket.\n" },
	{ "jwt check", cmd_jwt_check, ADMIN, B(O_DISCOVERY_URL) |
	    B(O_AUDIENCE) | B(O_CLIENT) | B(O_SCOPE), 1, 1,
"jwt check --discovery-url URL [--audience A]... [--client C]...\n"
"    [--scope S]... TOKEN\n\n"
"Would an inbound authorizer of URL (an identity provider's\n"
"/.well-known/openid-configuration) with these allowed audiences, clients\n"
"and scopes accept the JWT TOKEN?  The appliance runs the validation of\n"
"GetWorkloadAccessTokenForJWT, fetching the provider's keys (CheckJwt;\n"
"admin socket).  Prints 'valid' and the token's iss, sub, aud, exp,\n"
"client and algorithm, exit 0; or 'refused: ' and the reason, exit 5.\n"
"TOKEN '-' reads it from standard input: a token on a command line is\n"
"visible to every local user (ps).\n" },
	{ "policy create", cmd_policy_create, ADMIN,
	    B(O_NAME) | B(O_FILE) | B(O_DESCRIPTION), 0, 1,
"policy create NAME --file FILE [--description TEXT]\n\n"
"Store a policy (CreatePolicy): its document, YAML or JSON, is read from\n"
"FILE, or standard input for '-' (at most 65536 bytes).  NAME: 1 to 128\n"
"of [A-Za-z0-9._-], not taken by a built-in or a file policy.  Errors in\n"
"the document come back as NAME:LINE:COLUMN: what.\n" },
	{ "policy get", cmd_policy_get, ADMIN, B(O_NAME), 0, 1,
"policy get NAME\n\n"
"A policy (GetPolicy): where it comes from (built-in, a file of\n"
"policy.dir, or stored through the API), the principals it is attached\n"
"to, then its document.\n" },
	{ "policy update", cmd_policy_update, ADMIN, B(O_NAME) | B(O_FILE),
	    0, 1,
"policy update NAME --file FILE\n\n"
"Replace a stored policy's document (UpdatePolicy).  A built-in policy\n"
"never changes; a file policy changes in its file, then a reload.\n" },
	{ "policy delete", cmd_policy_delete, ADMIN, B(O_NAME), 0, 1,
"policy delete NAME\n\n"
"Delete a stored policy (DeletePolicy); detach it everywhere first.\n" },
	{ "policy list", cmd_policy_list, ADMIN, PAGING, 0, 0,
"policy list [--all | --max-results N [--next-token T]]\n\n"
"Policies in name order, each with its source: built-in, file or api\n"
"(ListPolicies).\n" },
	{ "policy attach", cmd_policy_attach, ADMIN,
	    B(O_PRINCIPAL) | B(O_POLICY), 0, 0,
"policy attach --principal P --policy NAME\n\n"
"Attach a policy to a principal of the configuration\n"
"(AttachPrincipalPolicy); at most 16 through the API per principal.\n" },
	{ "policy detach", cmd_policy_detach, ADMIN,
	    B(O_PRINCIPAL) | B(O_POLICY), 0, 0,
"policy detach --principal P --policy NAME\n\n"
"Detach a policy attached through the API (DetachPrincipalPolicy).  One\n"
"attached by the configuration stays until the configuration changes.\n" },
	{ "policy simulate", cmd_policy_simulate, ADMIN, SIMULATE, 0, 0,
"policy simulate [--principal P] --action A --resource ARN\n"
"    [--context KEY=VALUE]...\n"
"   or: " PROG " policy simulate (--policy-file FILE... | --policy-dir DIR)\n"
"    [--policy BUILTIN]... --action A --resource ARN [--context KEY=VALUE]...\n"
"\n"
"Would the call be allowed?  Prints Allow, ExplicitDeny or ImplicitDeny,\n"
"then the statement that decided; exits 0 for Allow, 5 for a deny.\n"
"Online (the first form): the appliance decides for principal P (default:\n"
"you) as it would enforce, with the principal's and the resource's tags\n"
"(SimulatePrincipalPolicy).  Offline, with --policy-file, --policy-dir or\n"
"--policy: no appliance; the files (a directory's *.yaml, *.yml, *.json\n"
"in name order), then the built-in policies named, are evaluated here\n"
"with the context given and nothing else.  A policy's name is its file's\n"
"stem.  A: an operation (GetResourceApiKey) or an action\n"
"(bedrock-agentcore:GetResourceApiKey); ARN: a resource's ARN or '*'.\n"
"--context adds a value to a condition key; repeat a key for several\n"
"(aws:TagKeys).\n" },
	{ "principal get", cmd_principal_get, ADMIN, B(O_NAME), 0, 1,
"principal get NAME\n\n"
"A principal of the configuration (GetPrincipal): its kind, uids, gids,\n"
"certificate subjects, tags, and its policies, each attached by the\n"
"configuration or through the API.\n" },
	{ "principal list", cmd_principal_list, ADMIN, 0, 0, 0,
"principal list\n\n"
"The principals of the configuration and their kinds (ListPrincipals).\n" },
};
#define NCOMMANDS	(sizeof(commands) / sizeof(commands[0]))

static const char *groups[][2] = {
	{ "identity", "create|get|list|update|delete   workload identities" },
	{ "credential", "get|list|update|delete       API-key and OAuth2 "
	    "credential providers" },
	{ "add", "credential                        register a credential "
	    "provider" },
	{ "tag", "add|remove|list                   tags on a resource" },
	{ "token", "workload|api-key|oauth2           tokens and API keys "
	    "(data plane)" },
	{ "session", "complete                         bind an OAuth2 "
	    "authorization session to its user" },
	{ "vault", "show                               the token vault" },
	{ "policy", "create|get|update|delete|list|attach|detach|simulate  "
	    "policies" },
	{ "principal", "get|list                       principals of the "
	    "configuration" },
	{ "jwt", "check --discovery-url URL TOKEN  would an inbound "
	    "authorizer accept a JWT?" },
	{ "audit", "verify [--key PEM] [--strict] FILE   check an audit "
	    "log offline" },
};

static void
usage_top(FILE *fp)
{
	fprintf(fp,
"usage: " PROG " [OPTIONS] COMMAND [ARGS]\n"
"\n"
"The command line of the Agent Vault appliance: workload identities,\n"
"API-key and OAuth2 credential providers, tags, workload access tokens,\n"
"API keys, policies and principals; offline, verification of the audit\n"
"log and policy simulation.\n"
"\n"
"Commands:\n"
"  ping                                    is the appliance up?\n"
"  vault show                              the token vault and its key\n"
"  identity create|get|list|update|delete  workload identities\n"
"  add credential --type api-key|oauth     register a credential provider\n"
"  credential get|list|update|delete       credential providers (--type\n"
"                                          api-key, the default, or oauth)\n"
"  tag add|remove|list ARN                 tags on a resource\n"
"  token workload                          mint a workload access token\n"
"  token api-key                           read an API key\n"
"  token oauth2                            an OAuth2 access token\n"
"  session complete                        bind an OAuth2 session to its user\n"
"  policy create|get|update|delete|list    policies\n"
"  policy attach|detach                    the policies of a principal\n"
"  policy simulate                         would a call be allowed?\n"
"                                          (offline with policy files)\n"
"  principal get|list                      principals and their policies\n"
"  jwt check TOKEN                         would an inbound authorizer\n"
"                                          accept a JWT?\n"
"  audit verify FILE                       check an audit log offline\n"
"'" PROG " COMMAND --help' describes each.\n"
"\n"
"Options, anywhere on the line, written in full:\n"
"  -o, --output json|text  json: the API's JSON; text (default): for people\n"
"  --socket PATH           the Unix socket to use ($AGENTVAULT_SOCKET)\n"
"  --run-dir DIR           where admin.sock and agent.sock are\n"
"                          ($AGENTVAULT_RUN_DIR, default " RUN_DIR ");\n"
"                          token and ping use agent.sock, the rest admin.sock\n"
"  --ca FILE               the appliance CA ($AGENTVAULT_CA, default\n"
"                          " CA_FILE ")\n"
"  --host HOST --port N    TCP instead of a Unix socket (today: ping only)\n"
"  --cert FILE --key FILE  a client certificate and key, for TCP\n"
"  --server-name NAME      the name the certificate must carry (localhost)\n"
"  --timeout SECONDS       for each call, connecting included (default 10)\n"
"  -h, --help; --version\n"
"Options beat the environment; a socket beats a run directory.\n"
"\n"
"Secrets never come from the command line, where every local user can\n"
"read them (ps, /proc) and shells keep them: API keys and client secrets\n"
"come from a file, a variable or standard input, tokens from a file.\n"
"'--api-key VALUE', '--client-secret VALUE' and the like are refused.\n"
"\n"
"Exit status: 0 success; 1 the appliance refused the call (its error is\n"
"printed); 2 usage error, or a secret that cannot be read; 3 the appliance\n"
"could not be reached (connection, TLS, timeout, malformed reply), or the\n"
"output could not be written; 4 not supported yet; 5 'policy simulate':\n"
"the call would be denied, 'jwt check': the token is refused; 6 'token\n"
"oauth2': the user has not authorized yet.  'audit verify': 0 the log\n"
"verifies, 1 it does not, 2 usage.\n");
}

static void
usage_group(FILE *fp, const char *group)
{
	size_t i;

	fprintf(fp, "usage: " PROG " %s ", group);
	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if (strcmp(groups[i][0], group) == 0)
			fprintf(fp, "%s\n\n", groups[i][1]);
	for (i = 0; i < NCOMMANDS; i++)
		if (strncmp(commands[i].words, group, strlen(group)) == 0 &&
		    commands[i].words[strlen(group)] == ' ')
			fprintf(fp, "  " PROG " %.*s\n", (int)strcspn(
			    commands[i].help, "\n"), commands[i].help);
	fprintf(fp, "\n'" PROG " %s COMMAND --help' for details, '" PROG
	    " --help' for the options of every command.\n", group);
}

static void
usage_command(FILE *fp, const struct command *cmd)
{
	fprintf(fp, "usage: " PROG " %s\n(and the options of '" PROG
	    " --help')\n", cmd->help);
}

int
cli_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	return EXIT_USAGE;
}

/*
 * Text from the appliance, for a terminal: control characters (C0, DEL,
 * C1 in UTF-8) become '?', so that no escape sequence gets through.
 * lines: newlines and tabs go through (a policy document).
 */
static void
filter(FILE *fp, const char *s, bool lines)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p != '\0'; p++) {
		if ((*p < 0x20 && !(lines && (*p == '\n' || *p == '\t'))) ||
		    *p == 0x7f)
			putc('?', fp);
		else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			putc('?', fp);
			p++;
		} else
			putc(*p, fp);
	}
}

void
cli_text(FILE *fp, const char *s)
{
	filter(fp, s, false);
}

void
cli_lines(FILE *fp, const char *s)
{
	filter(fp, s, true);
}

/* Print the library's error and choose the exit status. */
int
cli_fail(struct cli *c)
{
	const struct av_error *e = &c->err;

	fprintf(stderr, PROG ": ");
	cli_text(stderr, e->type);
	fprintf(stderr, ": ");
	cli_text(stderr, e->message);
	if (e->request_id[0] != '\0')
		fprintf(stderr, " (request %s)", e->request_id);
	fprintf(stderr, "\n");
	if (e->status != 0 || strcmp(e->type, AV_AUTHORIZATION_ERROR) == 0)
		return EXIT_API;
	if (strcmp(e->type, AV_ARGUMENT_ERROR) == 0)
		return EXIT_USAGE;
	if (strcmp(e->type, AV_NOT_SUPPORTED_ERROR) == 0)
		return EXIT_UNSUPPORTED;
	return EXIT_TRANSPORT;
}

/* NAME or --name, whichever was given. */
const char *
cli_name(struct cli *c)
{
	return c->name != NULL ? c->name : c->nargs > 0 ? c->args[0] : NULL;
}

/*
 * The secret from a file, an environment variable or standard input
 * (without echo on a terminal); one trailing newline dropped.  NULL after
 * a message.
 */
char *
cli_read_secret(const char *file, const char *env, bool in, const char *what)
{
	struct termios old, quiet;
	bool tty = false;
	char *buf;
	size_t len = 0;
	ssize_t n;
	int fd = 0;

	if (env != NULL) {
		const char *v = getenv(env);

		if (v == NULL || *v == '\0') {
			cli_usage("the environment variable %s is empty or "
			    "not set", env);
			return NULL;
		}
		if ((buf = strdup(v)) == NULL)
			cli_usage("out of memory");
		return buf;
	}
	/* Not the file's name: a secret given by mistake would be echoed. */
	if (file != NULL && (fd = open(file, O_RDONLY | O_CLOEXEC)) == -1) {
		cli_usage("cannot open the %s file: %s", what, strerror(errno));
		return NULL;
	}
	if ((buf = malloc(SECRET_MAX + 1)) == NULL) {
		cli_usage("out of memory");
		goto out;
	}
	if (in && isatty(0) && tcgetattr(0, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tty = tcsetattr(0, TCSAFLUSH, &quiet) == 0;
		fprintf(stderr, "%s: ", what);
	}
	while (len <= SECRET_MAX && (n = read(fd, buf + len,
	    SECRET_MAX + 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			cli_usage("reading the %s: %s", what, strerror(errno));
			goto bad;
		}
		len += (size_t)n;
		if (tty && memchr(buf, '\n', len) != NULL)
			break;
	}
	if (len > SECRET_MAX) {
		cli_usage("the %s is over %d bytes", what, SECRET_MAX);
		goto bad;
	}
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	if (len == 0 || strlen(buf) != len) {
		cli_usage("the %s is empty or holds a NUL byte", what);
		goto bad;
	}
	goto out;
bad:
	explicit_bzero(buf, SECRET_MAX + 1);
	free(buf);
	buf = NULL;
out:
	if (tty) {
		tcsetattr(0, TCSAFLUSH, &old);
		fprintf(stderr, "\n");
	}
	if (fd > 0)
		close(fd);
	return buf;
}

/*
 * Secrets on argv are refused before anything else looks at them: every
 * local user can read a command line, and shells keep it.
 */
static int
refuse_secrets(int argc, char **argv)
{
	static const char *const keysrc = "--api-key-file FILE, --api-key-env "
	    "VAR or --api-key-stdin";
	static const struct { const char *opt, *instead; } bad[] = {
		{ "--api-key", NULL }, { "--apikey", NULL },
		{ "--secret", NULL },
		{ "--password", NULL }, { "--token", "--token-file FILE" },
	{ "--client-secret", "--client-secret-file FILE, "
	    "--client-secret-env VAR or --client-secret-stdin" },
		{ "--workload-token", "--token-file FILE" },
		{ "--workload-identity-token", "--token-file FILE" },
		{ "--access-token", "--token-file FILE" },
	};
	const char *what = NULL, *instead = NULL;
	size_t i, n;
	int a;

	for (a = 1; a < argc && what == NULL; a++) {
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			n = strlen(bad[i].opt);
			if (strncmp(argv[a], bad[i].opt, n) == 0 &&
			    (argv[a][n] == '\0' || argv[a][n] == '=')) {
				what = bad[i].opt;
				instead = bad[i].instead;
			}
		}
		if (strncmp(argv[a], "avwat1.", 7) == 0) {
			what = "a workload access token";
			instead = "--token-file FILE";
		}
	}
	if (what == NULL)
		return 0;
	fprintf(stderr, PROG ": refusing %s on the command line: every user "
	    "of this machine can read a command line (ps, /proc/PID/cmdline) "
	    "and shells keep it in their history.\nGive it with %s.\n", what,
	    instead != NULL ? instead : keysrc);
	return EXIT_USAGE;
}

/* `audit verify ARGS` runs the verifier next to this program (or in PATH). */
static int
audit_verify(int argc, char **argv, bool help)
{
	char self[PATH_MAX], path[PATH_MAX + 32], *slash;
	ssize_t n;

	help = help || (argc >= 2 && strcmp(argv[1], "--help") == 0);
	if (help || argc < 2 || strcmp(argv[1], "verify") != 0) {
		fprintf(help ? stdout : stderr, "usage: " PROG " audit verify "
		    "[--key PUBKEY.pem | --cert CERT.pem] [--strict] FILE\n\n"
		    "Check an audit log offline: its hash chain and, with the "
		    "audit key, every\ncheckpoint signature.  Runs " VERIFIER
		    "; '" PROG " audit verify --help' for more.\n");
		return help ? 0 : EXIT_USAGE;
	}
	argv[1] = (char *)VERIFIER;
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			snprintf(path, sizeof(path), "%s/" VERIFIER, self);
			if (access(path, X_OK) == 0)
				execv(path, argv + 1);
		}
	}
	execvp(VERIFIER, argv + 1);
	fprintf(stderr, PROG ": cannot run " VERIFIER ": %s\n",
	    strerror(errno));
	return EXIT_USAGE;
}

static int
parse_number(const char *s, long lo, long hi, const char *what, long *v)
{
	char *end;

	errno = 0;
	*v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || *v < lo || *v > hi)
		return cli_usage("%s must be a number from %ld to %ld", what,
		    lo, hi);
	return 0;
}

/* --scopes a,b,c: split in place; "" is no scope. */
static int
set_scopes(struct cli *c, char *arg)
{
	char *p;

	if (c->have_scopes)
		return cli_usage("give --scopes once, the scopes separated by "
		    "commas");
	c->have_scopes = true;
	while (*arg != '\0') {
		if ((p = strchr(arg, ',')) != NULL)
			*p = '\0';
		if (*arg == '\0' || (p != NULL && p[1] == '\0'))
			return cli_usage("--scopes: an empty scope");
		if (c->nscopes == MAX_SCOPES)
			return cli_usage("at most %d scopes", MAX_SCOPES);
		c->scopes[c->nscopes++] = arg;
		if (p == NULL)
			break;
		arg = p + 1;
	}
	return 0;
}

static int
set_option(struct cli *c, int o, char *arg)
{
	char *eq, *end;
	double t;
	long v;

	switch (o) {
	case O_OUTPUT:
		if (strcmp(arg, "json") != 0 && strcmp(arg, "text") != 0)
			return cli_usage("--output is json or text");
		c->json = strcmp(arg, "json") == 0;
		return 0;
	case O_SOCKET: c->socket = arg; return 0;
	case O_RUN_DIR: c->run_dir = arg; return 0;
	case O_CA: c->ca = arg; return 0;
	case O_HOST: c->host = arg; return 0;
	case O_CERT: c->cert = arg; return 0;
	case O_KEY: c->key = arg; return 0;
	case O_SERVER_NAME: c->server_name = arg; return 0;
	case O_TYPE: c->type = arg; return 0;
	case O_NAME: c->name = arg; return 0;
	case O_API_KEY_FILE: c->api_key_file = arg; return 0;
	case O_API_KEY_ENV: c->api_key_env = arg; return 0;
	case O_API_KEY_STDIN: c->api_key_stdin = true; return 0;
	case O_NEXT_TOKEN: c->next_token = arg; return 0;
	case O_ALL: c->all = true; return 0;
	case O_WORKLOAD: c->workload = arg; return 0;
	case O_USER_ID: c->user_id = arg; return 0;
	case O_PROVIDER: c->provider = arg; return 0;
	case O_TOKEN_FILE: c->token_file = arg; return 0;
	case O_VAULT_ID: c->vault_id = arg; return 0;
	case O_FILE: c->file = arg; return 0;
	case O_DESCRIPTION: c->description = arg; return 0;
	case O_PRINCIPAL: c->principal = arg; return 0;
	case O_POLICY_DIR: c->policy_dir = arg; return 0;
	case O_ACTION: c->action = arg; return 0;
	case O_RESOURCE:
		if (c->nresources == MAX_URLS)
			return cli_usage("at most %d --resource", MAX_URLS);
		c->resource = c->resources[c->nresources++] = arg;
		return 0;
	case O_VENDOR: c->vendor = arg; return 0;
	case O_CLIENT_ID: c->client_id = arg; return 0;
	case O_CLIENT_SECRET_FILE: c->client_secret_file = arg; return 0;
	case O_CLIENT_SECRET_ENV: c->client_secret_env = arg; return 0;
	case O_CLIENT_SECRET_STDIN: c->client_secret_stdin = true; return 0;
	case O_DISCOVERY_URL: c->discovery_url = arg; return 0;
	case O_ISSUER: c->issuer = arg; return 0;
	case O_AUTHORIZATION_ENDPOINT: c->authorization_endpoint = arg;
		return 0;
	case O_TOKEN_ENDPOINT: c->token_endpoint = arg; return 0;
	case O_TENANT_ID: c->tenant_id = arg; return 0;
	case O_CLIENT_AUTH:
		if (strcmp(arg, "basic") != 0 && strcmp(arg, "post") != 0)
			return cli_usage("--client-auth is basic or post");
		c->client_auth = arg;
		return 0;
	case O_SCOPES:
		return set_scopes(c, arg);
	case O_FLOW:
		if (strcmp(arg, "M2M") != 0 && strcmp(arg, "USER_FEDERATION") !=
		    0 && strcmp(arg, "ON_BEHALF_OF_TOKEN_EXCHANGE") != 0)
			return cli_usage("--flow is M2M, USER_FEDERATION or "
			    "ON_BEHALF_OF_TOKEN_EXCHANGE");
		c->flow = arg;
		return 0;
	case O_SESSION_URI: c->session_uri = arg; return 0;
	case O_FORCE: c->force = true; return 0;
	case O_CUSTOM_STATE: c->custom_state = arg; return 0;
	case O_WAIT: c->wait = true; return 0;
	case O_WAIT_TIMEOUT:
		if (parse_number(arg, 1, 3600, "--wait-timeout", &v) != 0)
			return EXIT_USAGE;
		c->wait_s = (int)v;
		return 0;
	case O_CUSTOM_PARAM:
		if ((eq = strchr(arg, '=')) == NULL || eq == arg)
			return cli_usage("--custom-param takes KEY=VALUE");
		if (c->ncustom == MAX_CUSTOM)
			return cli_usage("at most %d --custom-param", MAX_CUSTOM);
		*eq = '\0';
		c->custom[2 * c->ncustom] = arg;
		c->custom[2 * c->ncustom++ + 1] = eq + 1;
		return 0;
	case O_AUDIENCE:
		if (c->naudiences == MAX_URLS)
			return cli_usage("at most %d --audience", MAX_URLS);
		c->audiences[c->naudiences++] = arg;
		return 0;
	case O_CLIENT:
		if (c->nclients == MAX_JWT_LIST)
			return cli_usage("at most %d --client", MAX_JWT_LIST);
		c->clients[c->nclients++] = arg;
		return 0;
	case O_SCOPE:
		if (c->njwt_scopes == MAX_JWT_LIST)
			return cli_usage("at most %d --scope", MAX_JWT_LIST);
		c->jwt_scopes[c->njwt_scopes++] = arg;
		return 0;
	case O_POLICY:
		if (c->npolicies == MAX_POLICIES)
			return cli_usage("at most %d --policy", MAX_POLICIES);
		c->policies[c->npolicies++] = arg;
		return 0;
	case O_POLICY_FILE:
		if (c->npolicy_files == MAX_POLICIES)
			return cli_usage("at most %d --policy-file",
			    MAX_POLICIES);
		c->policy_files[c->npolicy_files++] = arg;
		return 0;
	case O_CONTEXT:
		if ((eq = strchr(arg, '=')) == NULL || eq == arg)
			return cli_usage("--context takes KEY=VALUE");
		if (c->ncontext == MAX_CONTEXT)
			return cli_usage("at most %d --context", MAX_CONTEXT);
		*eq = '\0';
		c->context[2 * c->ncontext] = arg;
		c->context[2 * c->ncontext++ + 1] = eq + 1;
		return 0;
	case O_PORT:
		if (parse_number(arg, 1, 65535, "--port", &v) != 0)
			return EXIT_USAGE;
		c->port = (unsigned)v;
		return 0;
	case O_MAX_RESULTS:
		if (parse_number(arg, 1, 1000, "--max-results", &v) != 0)
			return EXIT_USAGE;
		c->max_results = (int)v;
		return 0;
	case O_TIMEOUT:
		t = strtod(arg, &end);
		if (end == arg || *end != '\0' || !(t > 0 && t <= 3600))
			return cli_usage("--timeout is 0 to 3600 seconds");
		c->timeout_ms = t * 1000 < 1 ? 1 : (int)(t * 1000);
		return 0;
	case O_TAG:
		if ((eq = strchr(arg, '=')) == NULL || eq == arg)
			return cli_usage("--tag takes KEY=VALUE");
		if (c->ntags == MAX_TAGS)
			return cli_usage("at most %d tags", MAX_TAGS);
		*eq = '\0';
		c->tags[2 * c->ntags] = arg;
		c->tags[2 * c->ntags++ + 1] = eq + 1;
		return 0;
	case O_RETURN_URL:
		if (c->nurls == MAX_URLS)
			return cli_usage("at most %d return URLs", MAX_URLS);
		c->urls[c->nurls++] = arg;
		return 0;
	}
	return EXIT_USAGE;
}

/* The command that the words name; *group when they name only a group. */
static const struct command *
find_command(char **words, int n, const char **group)
{
	size_t i, len;

	*group = NULL;
	if (n == 0)
		return NULL;
	for (i = 0; i < NCOMMANDS; i++) {
		len = strcspn(commands[i].words, " ");
		if (strlen(words[0]) != len ||
		    strncmp(commands[i].words, words[0], len) != 0)
			continue;
		if (commands[i].words[len] == '\0')
			return &commands[i];
		*group = commands[i].words;
		if (n > 1 && strcmp(commands[i].words + len + 1, words[1]) == 0)
			return &commands[i];
	}
	return NULL;
}

static int
check_simulate(struct cli *c)
{
	c->offline = c->npolicy_files > 0 || c->policy_dir != NULL ||
	    c->npolicies > 0;
	if (c->action == NULL || c->resource == NULL)
		return cli_usage("policy simulate: --action A and --resource "
		    "ARN are required");
	if (c->npolicy_files > 0 && c->policy_dir != NULL)
		return cli_usage("policy simulate: --policy-file or "
		    "--policy-dir, not both");
	if (c->nresources > 1)
		return cli_usage("policy simulate: one --resource");
	if (c->offline && c->principal != NULL)
		return cli_usage("policy simulate: --principal asks the "
		    "appliance, --policy-file, --policy-dir and --policy "
		    "simulate offline: not both");
	return 0;
}

static int
check_oauth2(struct cli *c)
{
	if (c->flow == NULL || !c->have_scopes)
		return cli_usage("token oauth2: --flow M2M|USER_FEDERATION|"
		    "ON_BEHALF_OF_TOKEN_EXCHANGE and "
		    "--scopes S1,S2... are required (--scopes '' for none)");
	if (c->nurls > 1)
		return cli_usage("token oauth2: one --return-url");
	if (c->wait_s != 0 && !c->wait)
		return cli_usage("--wait-timeout goes with --wait");
	if (c->wait_s == 0)
		c->wait_s = WAIT_S;
	return 0;
}

/* --type of the credential commands, and the options that go with it. */
static int
check_type(struct cli *c, const struct command *cmd)
{
	int keysrc = (c->api_key_file != NULL) + (c->api_key_env != NULL) +
	    c->api_key_stdin;
	int secretsrc = (c->client_secret_file != NULL) +
	    (c->client_secret_env != NULL) + c->client_secret_stdin;
	bool oauth_opts = c->vendor != NULL || c->client_id != NULL ||
	    c->have_scopes ||
	    secretsrc > 0 || c->discovery_url != NULL || c->issuer != NULL ||
	    c->authorization_endpoint != NULL || c->token_endpoint != NULL ||
	    c->tenant_id != NULL || c->client_auth != NULL;
	bool custom;

	if (c->type == NULL && cmd->fn == cmd_add_credential)
		return cli_usage("--type api-key or --type oauth is required");
	if (c->type != NULL && strcmp(c->type, "api-key") != 0 &&
	    strcmp(c->type, "oauth") != 0)
		return cli_usage("--type is api-key or oauth");
	c->oauth = c->type != NULL && strcmp(c->type, "oauth") == 0;
	if (!c->oauth) {
		if (oauth_opts)
			return cli_usage("%s: the OAuth2 options go with --type "
			    "oauth", cmd->words);
		return 0;
	}
	if (c->have_scopes)
		return cli_usage("--scopes: an OAuth2 provider keeps no "
		    "scopes; each token request names the scopes it needs");
	if (keysrc > 0)
		return cli_usage("%s: an OAuth2 provider has a client secret: "
		    "--client-secret-file FILE, --client-secret-env VAR or "
		    "--client-secret-stdin", cmd->words);
	if (!(cmd->opts & OAUTH)) {
		if (oauth_opts)
			return cli_usage("%s: the OAuth2 options go with add "
			    "credential and credential update", cmd->words);
		return 0;
	}
	if (c->client_id == NULL)
		return cli_usage("%s: --client-id ID is required", cmd->words);
	if (secretsrc > 1 || (secretsrc == 0 && cmd->fn == cmd_add_credential))
		return cli_usage("give the client secret with one of "
		    "--client-secret-file FILE, --client-secret-env VAR or "
		    "--client-secret-stdin");
	custom = c->vendor == NULL || strcmp(c->vendor, "CustomOauth2") == 0;
	if (!custom && (c->discovery_url != NULL || c->client_auth != NULL))
		return cli_usage("--discovery-url and --client-auth go with "
		    "CustomOauth2; a preset has its own");
	if (custom && c->tenant_id != NULL)
		return cli_usage("--tenant-id goes with --vendor "
		    "MicrosoftOauth2");
	if (custom && (c->discovery_url != NULL) == (c->issuer != NULL ||
	    c->authorization_endpoint != NULL || c->token_endpoint != NULL))
		return cli_usage("CustomOauth2: give --discovery-url URL, or "
		    "--issuer, --authorization-endpoint and --token-endpoint");
	return 0;
}

/* The checks that need no connection. */
static int
check(struct cli *c, const struct command *cmd)
{
	int keysrc = (c->api_key_file != NULL) + (c->api_key_env != NULL) +
	    c->api_key_stdin, rc;

	if (c->nargs < cmd->min_args || c->nargs > cmd->max_args)
		return cli_usage("%s: wrong number of arguments; see '" PROG
		    " %s --help'", cmd->words, cmd->words);
	if (c->name != NULL && c->nargs > 0)
		return cli_usage("give the name once, as NAME or --name");
	if ((cmd->opts & B(O_NAME)) && cli_name(c) == NULL)
		return cli_usage("%s: a NAME is required", cmd->words);
	if ((cmd->opts & B(O_TYPE)) && (rc = check_type(c, cmd)) != 0)
		return rc;
	if ((cmd->opts & KEYSRC) && !c->oauth && keysrc != 1)
		return cli_usage("give the API key with one of --api-key-file "
		    "FILE, --api-key-env VAR or --api-key-stdin");
	if ((cmd->opts & B(O_WORKLOAD)) && !(cmd->opts & B(O_TOKEN_FILE)) &&
	    c->workload == NULL)
		return cli_usage("--workload NAME is required");
	if ((cmd->opts & B(O_PROVIDER)) && c->provider == NULL)
		return cli_usage("--provider NAME is required");
	if ((cmd->opts & B(O_TOKEN_FILE)) &&
	    (c->workload == NULL) == (c->token_file == NULL))
		return cli_usage("give --workload NAME or --token-file FILE");
	if (c->token_file != NULL && c->user_id != NULL)
		return cli_usage("--user-id goes with --workload, not with "
		    "--token-file");
	if (c->all && (c->max_results != 0 || c->next_token != NULL))
		return cli_usage("--all pages through everything: no "
		    "--max-results or --next-token with it");
	if ((cmd->opts & B(O_FILE)) && c->file == NULL)
		return cli_usage("%s: --file FILE is required ('-': standard "
		    "input)", cmd->words);
	if ((cmd->fn == cmd_policy_attach || cmd->fn == cmd_policy_detach) &&
	    (c->principal == NULL || c->npolicies != 1))
		return cli_usage("%s: give --principal P and one --policy NAME",
		    cmd->words);
	if (cmd->fn == cmd_policy_simulate)
		return check_simulate(c);
	if (cmd->fn == cmd_token_oauth2)
		return check_oauth2(c);
	if (cmd->fn == cmd_jwt_check && (c->discovery_url == NULL ||
	    c->naudiences > MAX_JWT_LIST))
		return cli_usage("jwt check: --discovery-url URL is required "
		    "(and at most %d --audience)", MAX_JWT_LIST);
	if (cmd->fn == cmd_session_complete && (c->session_uri == NULL ||
	    c->user_id == NULL))
		return cli_usage("session complete: --session-uri URI and "
		    "--user-id USER are required");
	return 0;
}

static int
open_handle(struct cli *c, const struct command *cmd)
{
	char path[PATH_MAX];
	struct av_options o = {
		.ca_file = c->ca, .server_name = c->server_name,
		.cert_file = c->cert, .key_file = c->key,
		.timeout_ms = c->timeout_ms,
	};

	if (c->host != NULL) {
		if (c->socket != NULL)
			return cli_usage("either --socket or --host, not both");
		if (c->port == 0)
			return cli_usage("--host needs --port");
		o.host = c->host;
		o.port = c->port;
	} else if (c->socket != NULL)
		o.socket_path = c->socket;
	else {
		snprintf(path, sizeof(path), "%s/%s", c->run_dir,
		    cmd->plane == ADMIN ? "admin.sock" : "agent.sock");
		o.socket_path = path;
	}
	if (av_open(&o, &c->h, &c->err) != 0)
		return cli_fail(c);
	return 0;
}

/* A prefix of several options ("--tok"): say which, after a message. */
static bool
ambiguous(const char *arg)
{
	char names[256] = "";
	size_t i, n = strcspn(arg, "=");
	int hits = 0;

	if (strncmp(arg, "--", 2) != 0 || n <= 2)
		return false;
	for (i = 0; options[i].name != NULL; i++)
		if (strncmp(options[i].name, arg + 2, n - 2) == 0 && hits++ < 4)
			snprintf(names + strlen(names), sizeof(names) -
			    strlen(names), "%s--%s", hits > 1 ? ", " : "",
			    options[i].name);
	if (hits < 2)
		return false;
	cli_usage("%.*s: write the option in full (%s)", (int)n, arg, names);
	return true;
}

/*
 * The next option as an enum opt, -1 after the last one, or -2 after a
 * message.  Whole names only: getopt_long also takes unique prefixes
 * ("--tok" for --token-file), which refuse_secrets cannot foresee.  No
 * value is echoed: it could be a secret.
 */
static int
next_option(int argc, char **argv, const char *optstring)
{
	const char *arg;
	size_t n;
	int ch, idx = -1;

	if ((ch = getopt_long(argc, argv, optstring, options, &idx)) == -1)
		return -1;
	if (ch == 'o' || ch == 'h')
		return ch == 'o' ? O_OUTPUT : O_HELP;
	if (ch == '?' && optopt >= ' ') {
		cli_usage("-%c: unknown option; see '" PROG " --help'", optopt);
		return -2;
	}
	if (ch == '?' || ch == ':') {
		arg = argv[optind - 1];
		if (ch == '?' && ambiguous(arg))
			return -2;
		cli_usage("%.*s: %s; see '" PROG " --help'",
		    (int)strcspn(arg, "="), arg, ch == '?' ? "unknown option" :
		    "needs a value");
		return -2;
	}
	arg = argv[optind - (optarg != NULL && optarg == argv[optind - 1] ?
	    2 : 1)];
	n = strlen(options[idx].name);
	if (strncmp(arg + 2, options[idx].name, n) != 0 ||
	    (arg[n + 2] != '\0' && arg[n + 2] != '=')) {
		cli_usage("%.*s: write the option in full, --%s",
		    (int)strcspn(arg, "="), arg, options[idx].name);
		return -2;
	}
	return ch;
}

static int
run(int argc, char **argv)
{
	struct cli c = { 0 };
	const struct command *cmd;
	const char *group;
	uint64_t seen = 0;
	int o, rc;

	if ((rc = refuse_secrets(argc, argv)) != 0)
		return rc;
	/*
	 * First up to the first word: "audit" hands the rest of the line to
	 * the verifier, whose options are not ours.  Then again from the
	 * start, with options anywhere (getopt permutes).
	 */
	opterr = 0;
	while ((o = next_option(argc, argv, "+:o:h")) >= 0)
		seen |= B(o);
	if (o == -2)
		return EXIT_USAGE;
	if (optind < argc && strcmp(argv[optind], "audit") == 0)
		return audit_verify(argc - optind, argv + optind,
		    seen & B(O_HELP));
	seen = 0;
	optind = 0;
	while ((o = next_option(argc, argv, ":o:h")) >= 0) {
		seen |= B(o);
		if (o != O_HELP && o != O_VERSION &&
		    (rc = set_option(&c, o, optarg)) != 0)
			return rc;
	}
	if (o == -2)
		return EXIT_USAGE;
	if (seen & B(O_VERSION)) {
		printf(PROG " " AV_VERSION "\n");
		return 0;
	}
	cmd = find_command(argv + optind, argc - optind, &group);
	if (seen & B(O_HELP) || optind == argc) {
		if (cmd != NULL)
			usage_command(stdout, cmd);
		else if (group != NULL)
			usage_group(stdout, argv[optind]);
		else
			usage_top(optind == argc && !(seen & B(O_HELP)) ?
			    stderr : stdout);
		return seen & B(O_HELP) ? 0 : EXIT_USAGE;
	}
	if (cmd == NULL) {
		if (group != NULL) {
			usage_group(stderr, argv[optind]);
			return EXIT_USAGE;
		}
		return cli_usage("unknown command '%s'; see '" PROG " --help'",
		    argv[optind]);
	}
	if ((seen & ~GLOBAL & ~cmd->opts) != 0) {
		for (o = O_TYPE; !(seen & ~GLOBAL & ~cmd->opts & B(o)); o++)
			;
		return cli_usage("%s: --%s is not one of its options; see '"
		    PROG " %s --help'", cmd->words, options[o].name,
		    cmd->words);
	}
	c.args = argv + optind + (strchr(cmd->words, ' ') != NULL ? 2 : 1);
	c.nargs = argc - (int)(c.args - argv);
	if (c.socket == NULL && c.run_dir == NULL && c.host == NULL &&
	    (c.socket = getenv("AGENTVAULT_SOCKET")) == NULL)
		c.run_dir = getenv("AGENTVAULT_RUN_DIR");
	if (c.run_dir == NULL)
		c.run_dir = RUN_DIR;
	if (c.ca == NULL && (c.ca = getenv("AGENTVAULT_CA")) == NULL)
		c.ca = CA_FILE;
	if ((rc = check(&c, cmd)) != 0 ||
	    (!c.offline && (rc = open_handle(&c, cmd)) != 0))
		return rc;
	rc = cmd->fn(&c);
	av_close(c.h);
	return rc;
}

/* Output that did not reach its reader (a full disk, a closed pipe) is a
 * failure: it may have been the only copy of a token. */
int
main(int argc, char **argv)
{
	int rc = run(argc, argv), e = 0;

	if (fflush(stdout) != 0)
		e = errno;
	if (e != 0 || ferror(stdout)) {
		fprintf(stderr, PROG ": cannot write the output: %s\n",
		    e != 0 ? strerror(e) : "write error");
		if (rc == 0)
			rc = EXIT_TRANSPORT;
	}
	return rc;
}
