/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli.h - the agentvault CLI: options (main.c) and commands (commands.c).
 */
#ifndef AGENTVAULT_CLI_H
#define AGENTVAULT_CLI_H

#include <stdio.h>

#include "agentvault.h"

#define PROG		"agentvault"

/* Exit statuses (docs/client.md, "Exit status"). */
#define EXIT_API	1	/* the appliance refused the call */
#define EXIT_USAGE	2	/* bad command line, unreadable secret */
#define EXIT_TRANSPORT	3	/* could not talk to the appliance */
#define EXIT_UNSUPPORTED 4	/* not supported yet */
#define EXIT_DENIED	5	/* policy simulate: the decision is a deny */
#define EXIT_PENDING	6	/* token oauth2: the user has not authorized
				   yet */

#define MAX_TAGS	64
#define MAX_URLS	100
#define MAX_POLICIES	64	/* documents of a policy set */
#define MAX_CONTEXT	64	/* --context pairs */
#define DOCUMENT_MAX	65536	/* bytes of a policy document */
#define MAX_SCOPES	100	/* GetResourceOauth2Token's limits */
#define MAX_CUSTOM	10
#define MAX_JWT_LIST	50	/* jwt check: an authorizer's lists */
#define WAIT_S		600	/* token oauth2 --wait: the session's life */

struct cli {
	/* global options */
	bool		 json;
	const char	*socket, *run_dir, *ca, *host, *cert, *key;
	const char	*server_name;
	unsigned	 port;
	int		 timeout_ms;
	/* command options */
	const char	*type, *name, *api_key_file, *api_key_env;
	const char	*workload, *user_id, *provider, *token_file;
	const char	*next_token, *vault_id;
	bool		 api_key_stdin, all;
	int		 max_results;
	const char	*tags[2 * MAX_TAGS + 1];	/* key, value, ... */
	size_t		 ntags;
	const char	*urls[MAX_URLS + 1];
	size_t		 nurls;
	/* policies and principals */
	const char	*file, *description, *principal, *policy_dir;
	const char	*action, *resource;
	const char	*policies[MAX_POLICIES + 1];	/* --policy */
	size_t		 npolicies;
	const char	*policy_files[MAX_POLICIES + 1];
	size_t		 npolicy_files;
	const char	*context[2 * MAX_CONTEXT + 1];	/* key, value, ... */
	size_t		 ncontext;
	bool		 offline;	/* simulate without the appliance */
	/* OAuth2 providers (--type oauth) */
	bool		 oauth;
	const char	*vendor, *client_id, *client_secret_file;
	const char	*client_secret_env, *discovery_url, *issuer;
	const char	*authorization_endpoint, *token_endpoint, *tenant_id;
	const char	*client_auth;
	bool		 client_secret_stdin;
	/* token oauth2, session complete */
	const char	*flow, *session_uri, *custom_state;
	const char	*scopes[MAX_SCOPES + 1];
	size_t		 nscopes;
	bool		 have_scopes, force, wait;
	int		 wait_s;
	const char	*custom[2 * MAX_CUSTOM + 1];	/* key, value, ... */
	size_t		 ncustom;
	const char	*resources[MAX_URLS + 1];	/* --resource */
	size_t		 nresources;
	const char	*audiences[MAX_URLS + 1];
	size_t		 naudiences;
	/* jwt check (--audience above) */
	const char	*clients[MAX_JWT_LIST + 1];
	size_t		 nclients;
	const char	*jwt_scopes[MAX_JWT_LIST + 1];
	size_t		 njwt_scopes;
	const char	*secret_name;	/* the JSON member a secret prints as */
	/* the words after the command */
	char		**args;
	int		 nargs;

	av_handle	*h;
	struct av_error	 err;
};

/* main.c */
int	cli_fail(struct cli *);
int	cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char	*cli_read_secret(const char *file, const char *env, bool in,
	    const char *what);
const char *cli_name(struct cli *);
void	cli_text(FILE *, const char *);
void	cli_lines(FILE *, const char *);

/* commands.c */
int	cmd_ping(struct cli *);
int	cmd_vault_show(struct cli *);
int	cmd_identity_create(struct cli *);
int	cmd_identity_get(struct cli *);
int	cmd_identity_list(struct cli *);
int	cmd_identity_update(struct cli *);
int	cmd_identity_delete(struct cli *);
int	cmd_add_credential(struct cli *);
int	cmd_credential_get(struct cli *);
int	cmd_credential_list(struct cli *);
int	cmd_credential_update(struct cli *);
int	cmd_credential_delete(struct cli *);
int	cmd_tag_add(struct cli *);
int	cmd_tag_remove(struct cli *);
int	cmd_tag_list(struct cli *);
int	cmd_token_workload(struct cli *);
int	cmd_token_api_key(struct cli *);
int	cmd_token_oauth2(struct cli *);
int	cmd_token_agent(struct cli *);
int	cmd_session_complete(struct cli *);
int	cmd_jwt_check(struct cli *);
int	cmd_policy_create(struct cli *);
int	cmd_policy_get(struct cli *);
int	cmd_policy_update(struct cli *);
int	cmd_policy_delete(struct cli *);
int	cmd_policy_list(struct cli *);
int	cmd_policy_attach(struct cli *);
int	cmd_policy_detach(struct cli *);
int	cmd_policy_simulate(struct cli *);
int	cmd_principal_get(struct cli *);
int	cmd_principal_list(struct cli *);

/* simulate.c: the decision from files and built-ins, as the API's reply */
int	sim_offline(struct cli *, const char *action, json_t **out);

#endif /* AGENTVAULT_CLI_H */
