/* SPDX-License-Identifier: Apache-2.0 */
/*
 * commands.c - one function per agentvault command, each a call of
 * libagentvault and its output: the API's JSON with --output json, lines
 * for people otherwise.  main.c has already checked the options.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

/* The appliance's text, for a terminal; NULL as nothing. */
static void
put(const char *text)
{
	if (text != NULL)
		cli_text(stdout, text);
}

static void
print_json(json_t *doc)
{
	json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
}

static void
print_scalar(const char *key, json_t *v)
{
	char date[64];
	size_t n = strlen(key);
	time_t t;
	struct tm tm;

	if (json_is_string(v)) {
		put(json_string_value(v));
		putchar('\n');
	} else if (json_is_integer(v) && n > 4 && (strcmp(key + n - 4,
	    "Time") == 0 || strcmp(key + n - 4, "Date") == 0)) {
		t = (time_t)json_integer_value(v);
		strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S UTC",
		    gmtime_r(&t, &tm));
		printf("%s\n", date);
	} else {
		json_dumpf(v, stdout, JSON_ENCODE_ANY);
		putchar('\n');
	}
}

/* "key: value" lines; objects and lists indented below their key. */
static void
print_text(json_t *doc, int indent)
{
	const char *k;
	json_t *v, *item;
	size_t i;

	json_object_foreach(doc, k, v) {
		printf("%*s", indent, "");
		put(k);
		putchar(':');
		if (json_is_object(v)) {
			putchar('\n');
			print_text(v, indent + 2);
		} else if (json_is_array(v)) {
			printf("%s\n", json_array_size(v) == 0 ? " (none)" :
			    "");
			json_array_foreach(v, i, item) {
				printf("%*s- ", indent + 2, "");
				print_scalar("", item);
			}
		} else {
			putchar(' ');
			print_scalar(k, v);
		}
	}
}

static int
show(struct cli *c, json_t *doc)
{
	if (c->json)
		print_json(doc);
	else
		print_text(doc, 0);
	json_decref(doc);
	return 0;
}

/*
 * A secret on stdout: bare (unfiltered: it is meant for pipes), or as the
 * API's JSON member.  0, or an exit status after a message.
 */
static int
print_secret(const char *secret, void *arg)
{
	struct cli *c = arg;
	const char *member = c->secret_name;
	json_t *doc;

	if (!c->json) {
		printf("%s\n", secret);
		return 0;
	}
	if ((doc = json_pack("{s:s}", member, secret)) == NULL) {
		fprintf(stderr, PROG ": the %s is not valid UTF-8, so not "
		    "JSON: try -o text\n", member);
		return EXIT_TRANSPORT;
	}
	print_json(doc);
	explicit_bzero((char *)json_string_value(json_object_get(doc, member)),
	    strlen(secret));
	json_decref(doc);
	return 0;
}

int
cmd_ping(struct cli *c)
{
	json_t *doc;

	if (av_ping(c->h, &doc, &c->err) != 0)
		return cli_fail(c);
	if (c->json)
		return show(c, doc);
	put(json_string_value(json_object_get(doc, "service")));
	putchar(' ');
	put(json_string_value(json_object_get(doc, "version")));
	printf(": ");
	put(json_string_value(json_object_get(doc, "status")));
	putchar('\n');
	json_decref(doc);
	return 0;
}

int
cmd_vault_show(struct cli *c)
{
	json_t *doc;

	if (av_get_token_vault(c->h, c->vault_id, &doc, &c->err) != 0)
		return cli_fail(c);
	return show(c, doc);
}

int
cmd_identity_create(struct cli *c)
{
	json_t *doc;

	if (av_create_workload_identity(c->h, cli_name(c), c->urls, c->tags,
	    &doc, &c->err) != 0)
		return cli_fail(c);
	return show(c, doc);
}

int
cmd_identity_get(struct cli *c)
{
	json_t *doc;

	if (av_get_workload_identity(c->h, cli_name(c), &doc, &c->err) != 0)
		return cli_fail(c);
	return show(c, doc);
}

int
cmd_identity_update(struct cli *c)
{
	json_t *doc;

	if (av_update_workload_identity(c->h, cli_name(c), c->urls, &doc,
	    &c->err) != 0)
		return cli_fail(c);
	return show(c, doc);
}

static int
deleted(struct cli *c, const char *what)
{
	if (c->json)
		printf("{}\n");
	else
		printf("deleted %s %s\n", what, cli_name(c));
	return 0;
}

int
cmd_identity_delete(struct cli *c)
{
	if (av_delete_workload_identity(c->h, cli_name(c), &c->err) != 0)
		return cli_fail(c);
	return deleted(c, "workload identity");
}

typedef int (*list_fn)(av_handle *, int, const char *, json_t **,
    struct av_error *);

/* After a name in a list: who manages it, or its source, or its kind. */
static void
put_note(json_t *item)
{
	const char *by = json_string_value(json_object_get(item, "managedBy"));
	const char *note = json_string_value(json_object_get(item, "source"));

	if (note == NULL)
		note = json_string_value(json_object_get(item, "kind"));
	if (by != NULL) {
		printf(" (managed by ");
		put(by);
		putchar(')');
	} else if (note != NULL) {
		printf(" (");
		put(note);
		putchar(')');
	}
}

/* One page, or --all of them; names in text, one per line. */
static int
list(struct cli *c, list_fn fn, const char *member)
{
	json_t *page = NULL, *all = json_array(), *item;
	const char *t;
	char *next = c->next_token != NULL ? strdup(c->next_token) : NULL;
	size_t i;
	int rc = 0;

	do {
		json_decref(page);
		if (fn(c->h, c->max_results, next, &page, &c->err) != 0) {
			rc = cli_fail(c);
			goto out;
		}
		json_array_extend(all, json_object_get(page, member));
		free(next);
		t = json_string_value(json_object_get(page, "nextToken"));
		next = t != NULL ? strdup(t) : NULL;
	} while (c->all && next != NULL);
	if (c->json && c->all) {
		json_decref(page);
		page = json_pack("{s:O}", member, all);
		print_json(page);
	} else if (c->json)
		print_json(page);
	else {
		json_array_foreach(all, i, item) {
			put(json_string_value(json_object_get(item, "name")));
			put_note(item);
			putchar('\n');
		}
		if (next != NULL) {
			fprintf(stderr, "(more: --next-token ");
			cli_text(stderr, next);
			fprintf(stderr, ", or --all)\n");
		}
	}
out:
	free(next);
	json_decref(page);
	json_decref(all);
	return rc;
}

int
cmd_identity_list(struct cli *c)
{
	return list(c, av_list_workload_identities, "workloadIdentities");
}

/* ---- OAuth2 providers: av_call, the client secret wiped after ---- */

/* AgentCore's oauth2ProviderConfigInput member for a vendor: its own for
 * eight of them, includedOauth2ProviderConfig for the others. */
static void
oauth_member(const char *vendor, char *buf, size_t len)
{
	static const char *const own[] = { "Custom", "Google", "Github",
	    "Slack", "Salesforce", "Microsoft", "Atlassian", "Linkedin", NULL };
	size_t i, n;

	for (i = 0; own[i] != NULL; i++) {
		n = strlen(own[i]);
		if (strncmp(vendor, own[i], n) == 0 &&
		    strcmp(vendor + n, "Oauth2") == 0) {
			snprintf(buf, len, "%c%sOauth2ProviderConfig",
			    own[i][0] - 'A' + 'a', own[i] + 1);
			return;
		}
	}
	snprintf(buf, len, "includedOauth2ProviderConfig");
}

/* The configuration member's fields from the options; NULL: not UTF-8.
 * The issuer and endpoints are a preset's fields, CustomOauth2's
 * metadata. */
static json_t *
oauth_config(struct cli *c)
{
	bool custom = c->vendor == NULL || strcmp(c->vendor,
	    "CustomOauth2") == 0;
	json_t *m, *ep, *d;

	ep = json_pack("{s:s*, s:s*, s:s*}", "issuer", c->issuer,
	    "authorizationEndpoint", c->authorization_endpoint,
	    "tokenEndpoint", c->token_endpoint);
	m = json_pack("{s:s, s:s*}", "clientId", c->client_id, "tenantId",
	    c->tenant_id);
	if (ep == NULL || m == NULL || !custom) {
		if (ep != NULL && m != NULL && json_object_update(m, ep) == 0) {
			json_decref(ep);
			return m;
		}
		json_decref(ep);
		json_decref(m);
		return NULL;
	}
	d = c->discovery_url != NULL ? json_pack("{s:s}", "discoveryUrl",
	    c->discovery_url) : json_pack("{s:O}",
	    "authorizationServerMetadata", ep);
	json_decref(ep);
	if (d == NULL) {
		json_decref(m);
		return NULL;
	}
	json_object_set_new(m, "oauthDiscovery", d);
	if (c->client_auth != NULL)
		json_object_set_new(m, "clientAuthenticationMethod", json_string(
		    strcmp(c->client_auth, "post") == 0 ? "CLIENT_SECRET_POST" :
		    "CLIENT_SECRET_BASIC"));
	return m;
}

/* Create or Update: the request, the secret added last (read here, wiped
 * with the request). */
static int
oauth_write(struct cli *c, const char *op)
{
	const char *vendor = c->vendor != NULL ? c->vendor : "CustomOauth2";
	char member[64], path[96], *secret = NULL;
	json_t *in = NULL, *m, *doc, *s;
	size_t i;
	int rc;

	if ((c->client_secret_file != NULL || c->client_secret_env != NULL ||
	    c->client_secret_stdin) && (secret = cli_read_secret(
	    c->client_secret_file, c->client_secret_env,
	    c->client_secret_stdin, "client secret")) == NULL)
		return EXIT_USAGE;
	oauth_member(vendor, member, sizeof(member));
	if ((m = oauth_config(c)) != NULL)
		in = json_pack("{s:s, s:s, s:{s:o}}", "name", cli_name(c),
		    "credentialProviderVendor", vendor,
		    "oauth2ProviderConfigInput", member, m);
	if (in != NULL && strcmp(op, "CreateOauth2CredentialProvider") == 0 &&
	    c->ntags > 0) {
		json_t *tags = json_object();

		for (i = 0; i < c->ntags; i++)
			if (json_object_set_new(tags, c->tags[2 * i],
			    json_string(c->tags[2 * i + 1])) != 0)
				break;
		json_object_set_new(in, "tags", tags);
		if (i < c->ntags) {
			json_decref(in);
			in = NULL;
		}
	}
	if (in != NULL && secret != NULL && json_object_set_new(json_object_get(
	    json_object_get(in, "oauth2ProviderConfigInput"), member),
	    "clientSecret", json_string(secret)) != 0) {
		json_decref(in);
		in = NULL;
	}
	if (secret != NULL)
		av_secret_free(secret);
	if (in == NULL)
		return cli_usage("an argument is not UTF-8 text");
	snprintf(path, sizeof(path), "/identities/%s", op);
	/* av_call wipes the body it sent; the request's copy is ours. */
	rc = av_call(c->h, path, in, &doc, &c->err);
	s = json_object_get(json_object_get(json_object_get(in,
	    "oauth2ProviderConfigInput"), member), "clientSecret");
	if (s != NULL)
		explicit_bzero((char *)json_string_value(s),
		    json_string_length(s));
	json_decref(in);
	return rc != 0 ? cli_fail(c) : show(c, doc);
}

/* Get, Delete: by name. */
static int
oauth_named(struct cli *c, const char *op, json_t **doc)
{
	char path[96];
	json_t *in = json_pack("{s:s}", "name", cli_name(c));
	int rc;

	if (in == NULL)
		return cli_usage("the name is not UTF-8 text");
	snprintf(path, sizeof(path), "/identities/%s", op);
	rc = av_call(c->h, path, in, doc, &c->err);
	json_decref(in);
	return rc != 0 ? cli_fail(c) : 0;
}

/* A List call of the admin API through av_call: the page's parameters. */
static int
list_page(av_handle *h, const char *path, int max_results,
    const char *next_token, json_t **out, struct av_error *err)
{
	json_t *in = json_pack("{s:s*}", "nextToken", next_token);
	int rc;

	if (in == NULL) {
		*out = NULL;
		*err = (struct av_error){ 0, AV_ARGUMENT_ERROR,
		    "--next-token is not UTF-8 text", "" };
		return -1;
	}
	if (max_results != 0)
		json_object_set_new(in, "maxResults",
		    json_integer(max_results));
	rc = av_call(h, path, in, out, err);
	json_decref(in);
	return rc;
}

static int
list_oauth2(av_handle *h, int max_results, const char *next_token,
    json_t **out, struct av_error *err)
{
	return list_page(h, "/identities/ListOauth2CredentialProviders",
	    max_results, next_token, out, err);
}

int
cmd_add_credential(struct cli *c)
{
	json_t *doc;
	char *key;
	int rc;

	if (c->oauth)
		return oauth_write(c, "CreateOauth2CredentialProvider");
	if ((key = cli_read_secret(c->api_key_file, c->api_key_env,
	    c->api_key_stdin, "API key")) == NULL)
		return EXIT_USAGE;
	rc = av_create_api_key_provider(c->h, cli_name(c), key, c->tags, &doc,
	    &c->err);
	av_secret_free(key);
	return rc != 0 ? cli_fail(c) : show(c, doc);
}

int
cmd_credential_get(struct cli *c)
{
	json_t *doc;
	int rc;

	if (c->oauth)
		return (rc = oauth_named(c, "GetOauth2CredentialProvider",
		    &doc)) != 0 ? rc : show(c, doc);
	if (av_get_api_key_provider(c->h, cli_name(c), &doc, &c->err) != 0)
		return cli_fail(c);
	return show(c, doc);
}

int
cmd_credential_list(struct cli *c)
{
	if (c->oauth)
		return list(c, list_oauth2, "credentialProviders");
	return list(c, av_list_api_key_providers, "credentialProviders");
}

int
cmd_credential_update(struct cli *c)
{
	json_t *doc;
	char *key;
	int rc;

	if (c->oauth)
		return oauth_write(c, "UpdateOauth2CredentialProvider");
	if ((key = cli_read_secret(c->api_key_file, c->api_key_env,
	    c->api_key_stdin, "API key")) == NULL)
		return EXIT_USAGE;
	rc = av_update_api_key_provider(c->h, cli_name(c), key, &doc, &c->err);
	av_secret_free(key);
	return rc != 0 ? cli_fail(c) : show(c, doc);
}

int
cmd_credential_delete(struct cli *c)
{
	json_t *doc;
	int rc;

	if (c->oauth) {
		if ((rc = oauth_named(c, "DeleteOauth2CredentialProvider",
		    &doc)) != 0)
			return rc;
		json_decref(doc);
		return deleted(c, "OAuth2 credential provider");
	}
	if (av_delete_api_key_provider(c->h, cli_name(c), &c->err) != 0)
		return cli_fail(c);
	return deleted(c, "API-key credential provider");
}

static int
done(struct cli *c, const char *what)
{
	if (c->json)
		printf("{}\n");
	else
		printf("%s %s\n", what, c->args[0]);
	return 0;
}

int
cmd_tag_add(struct cli *c)
{
	const char *kv[2 * MAX_TAGS + 1] = { NULL };
	char *eq;
	int i;

	for (i = 1; i < c->nargs; i++) {
		if ((eq = strchr(c->args[i], '=')) == NULL ||
		    eq == c->args[i])
			return cli_usage("tag add: '%s' is not KEY=VALUE",
			    c->args[i]);
		*eq = '\0';
		kv[2 * (i - 1)] = c->args[i];
		kv[2 * (i - 1) + 1] = eq + 1;
	}
	if (av_tag_resource(c->h, c->args[0], kv, &c->err) != 0)
		return cli_fail(c);
	return done(c, "tagged");
}

int
cmd_tag_remove(struct cli *c)
{
	/* argv ends with NULL, so the keys are a NULL-terminated list. */
	if (av_untag_resource(c->h, c->args[0],
	    (const char *const *)c->args + 1, &c->err) != 0)
		return cli_fail(c);
	return done(c, "untagged");
}

int
cmd_tag_list(struct cli *c)
{
	const char *k;
	json_t *doc, *v;

	if (av_list_tags_for_resource(c->h, c->args[0], &doc, &c->err) != 0)
		return cli_fail(c);
	if (c->json)
		return show(c, doc);
	json_object_foreach(json_object_get(doc, "tags"), k, v) {
		put(k);
		putchar('=');
		put(json_string_value(v));
		putchar('\n');
	}
	json_decref(doc);
	return 0;
}

int
cmd_token_workload(struct cli *c)
{
	char *tok;
	int rc;

	c->secret_name = "workloadAccessToken";
	rc = c->user_id != NULL ? av_get_workload_access_token_for_user_id(
	    c->h, c->workload, c->user_id, &tok, &c->err) :
	    av_get_workload_access_token(c->h, c->workload, &tok, &c->err);
	if (rc != 0)
		return cli_fail(c);
	rc = print_secret(tok, c);
	av_secret_free(tok);
	return rc;
}

/* Through av_with_api_key, the helper an agent would use. */
int
cmd_token_api_key(struct cli *c)
{
	struct av_api_key_opts o = { .provider = c->provider,
	    .workload = c->workload, .user_id = c->user_id };
	char *tok = NULL;
	int rc;

	if (c->token_file != NULL && (tok = cli_read_secret(c->token_file,
	    NULL, false, "workload access token")) == NULL)
		return EXIT_USAGE;
	o.workload_token = tok;
	c->secret_name = "apiKey";
	rc = av_with_api_key(c->h, &o, print_secret, c, &c->err);
	av_secret_free(tok);
	/* Otherwise print_secret's status. */
	return rc != 0 && c->err.type[0] != '\0' ? cli_fail(c) : rc;
}

/* The workload access token of --token-file, or minted for --workload
 * (and --user-id).  NULL after a message; *rc the exit status. */
static char *
workload_token(struct cli *c, int *rc)
{
	char *tok = NULL;

	*rc = EXIT_USAGE;
	if (c->token_file != NULL)
		return cli_read_secret(c->token_file, NULL, false,
		    "workload access token");
	if ((c->user_id != NULL ? av_get_workload_access_token_for_user_id(
	    c->h, c->workload, c->user_id, &tok, &c->err) :
	    av_get_workload_access_token(c->h, c->workload, &tok,
	    &c->err)) != 0)
		*rc = cli_fail(c);
	return tok;
}

/* The token service: an agent access token for the workload token's
 * user, the --scope values joined by spaces. */
int
cmd_token_agent(struct cli *c)
{
	char scope[4096], *wat, *token = NULL;
	size_t i, off = 0;
	long long expires_in = 0;
	int rc, n;

	if (c->naudiences != 1)
		return cli_usage("token agent: one --audience");
	if (c->token_file == NULL && (c->workload == NULL ||
	    c->user_id == NULL))
		return cli_usage("token agent: --workload and --user-id, or "
		    "--token-file");
	for (i = 0; i < c->njwt_scopes; i++) {
		n = snprintf(scope + off, sizeof(scope) - off, "%s%s",
		    i > 0 ? " " : "", c->jwt_scopes[i]);
		if (n < 0 || (size_t)n >= sizeof(scope) - off)
			return cli_usage("token agent: --scope too long");
		off += (size_t)n;
	}
	if ((wat = workload_token(c, &rc)) == NULL)
		return rc;
	c->secret_name = "accessToken";
	if (av_get_agent_access_token(c->h, wat, c->audiences[0],
	    c->njwt_scopes > 0 ? scope : NULL, &token, &expires_in,
	    &c->err) != 0)
		rc = cli_fail(c);
	else
		rc = print_secret(token, c);
	av_secret_free(token);
	av_secret_free(wat);
	return rc;
}

/* A session, for whoever reads fp: the reply's members. */
static void
print_session(struct cli *c, FILE *fp, const struct av_oauth2_result *res)
{
	json_t *doc;

	if (c->json && fp == stdout) {
		doc = json_pack("{s:s*, s:s, s:s}", "authorizationUrl",
		    res->authorization_url, "sessionUri", res->session_uri,
		    "sessionStatus", res->session_status);
		print_json(doc);
		json_decref(doc);
		return;
	}
	if (res->authorization_url != NULL) {
		fprintf(fp, "authorizationUrl: ");
		cli_text(fp, res->authorization_url);
		fputc('\n', fp);
	}
	fprintf(fp, "sessionUri: ");
	cli_text(fp, res->session_uri);
	fprintf(fp, "\nsessionStatus: %s\n", res->session_status);
}

/*
 * GetResourceOauth2Token; with --wait, av_wait_oauth2_token after a
 * session.  Only the token goes to standard output, unless the session is
 * the answer (no --wait).
 */
int
cmd_token_oauth2(struct cli *c)
{
	struct av_oauth2_request rq = { .provider = c->provider,
	    .scopes = c->scopes, .session_uri = c->session_uri,
	    .return_url = c->urls[0], .force_authentication = c->force,
	    .custom_state = c->custom_state,
	    .custom_parameters = c->ncustom > 0 ? c->custom : NULL,
	    .resources = c->nresources > 0 ? c->resources : NULL,
	    .audiences = c->naudiences > 0 ? c->audiences : NULL };
	struct av_oauth2_result res = { 0 };
	char *wat, *token = NULL;
	int rc;

	rq.flow = strcmp(c->flow, "M2M") == 0 ? AV_M2M : strcmp(c->flow,
	    "USER_FEDERATION") == 0 ? AV_USER_FEDERATION :
	    AV_ON_BEHALF_OF_TOKEN_EXCHANGE;
	c->secret_name = "accessToken";
	if ((rq.workload_token = wat = workload_token(c, &rc)) == NULL)
		return rc;
	if (av_get_resource_oauth2_token(c->h, &rq, &res, &c->err) != 0) {
		rc = cli_fail(c);
		goto out;
	}
	if (res.access_token == NULL && strcmp(res.session_status,
	    "FAILED") == 0) {
		print_session(c, stderr, &res);
		c->err = (struct av_error){ 0, AV_AUTHORIZATION_ERROR, "the "
		    "authorization session failed: start a new one (no "
		    "--session-uri, or --force)", "" };
		rc = cli_fail(c);
		goto out;
	}
	if (res.access_token == NULL && !c->wait) {
		print_session(c, stdout, &res);
		fprintf(stderr, PROG ": the user must authorize at the "
		    "authorizationUrl; then ask again with --session-uri (or "
		    "use --wait)\n");
		rc = EXIT_PENDING;
		goto out;
	}
	if ((token = res.access_token) != NULL)
		res.access_token = NULL;
	else {
		if (res.authorization_url != NULL)
			fprintf(stderr, PROG ": the user must authorize; "
			    "waiting up to %d s\n", c->wait_s);
		print_session(c, stderr, &res);
		rq.session_uri = res.session_uri;
		if (av_wait_oauth2_token(c->h, &rq, 0, c->wait_s * 1000,
		    &token, &c->err) != 0) {
			/* The deadline, not a request that timed out. */
			rc = strcmp(c->err.type, AV_TIMEOUT_ERROR) == 0 &&
			    strstr(c->err.message, "authorization in time") !=
			    NULL ? EXIT_PENDING : cli_fail(c);
			if (rc == EXIT_PENDING)
				fprintf(stderr, PROG ": not authorized within "
				    "%d s; the session may still complete: "
				    "ask again with --session-uri\n",
				    c->wait_s);
			goto out;
		}
	}
	rc = print_secret(token, c);
out:
	av_secret_free(token);
	av_oauth2_result_free(&res);
	av_secret_free(wat);
	return rc;
}

int
cmd_session_complete(struct cli *c)
{
	if (av_complete_resource_token_auth(c->h, c->session_uri, c->user_id,
	    NULL, &c->err) != 0)
		return cli_fail(c);
	if (c->json)
		printf("{}\n");
	else {
		printf("completed session ");
		cli_text(stdout, c->session_uri);
		printf(" for user ");
		cli_text(stdout, c->user_id);
		putchar('\n');
	}
	return 0;
}

/* ---- inbound JWTs ---- */

/* One "  name: value" line of jwt check's text output, if v is there. */
static void
claim_line(const char *name, json_t *v)
{
	json_t *x;
	size_t i;

	if (v == NULL)
		return;
	printf("  %s: ", name);
	if (json_is_array(v))
		json_array_foreach(v, i, x) {
			printf("%s", i > 0 ? ", " : "");
			put(json_string_value(x) != NULL ? json_string_value(x) :
			    "?");
		}
	else if (json_is_integer(v))
		printf("%lld", (long long)json_integer_value(v));
	else
		put(json_string_value(v) != NULL ? json_string_value(v) : "?");
	putchar('\n');
}

/* CheckJwt: "valid" and the claims (exit 0), or the reason (exit 5). */
int
cmd_jwt_check(struct cli *c)
{
	const char *arg = c->args[0];
	char *token;
	json_t *doc;
	bool valid;
	int rc;

	if ((token = strcmp(arg, "-") == 0 ? cli_read_secret(NULL, NULL,
	    true, "token") : strdup(arg)) == NULL)
		return EXIT_USAGE;
	c->audiences[c->naudiences] = NULL;
	c->clients[c->nclients] = NULL;
	c->jwt_scopes[c->njwt_scopes] = NULL;
	rc = av_check_jwt(c->h, c->discovery_url, c->naudiences > 0 ?
	    c->audiences : NULL, c->nclients > 0 ? c->clients : NULL,
	    c->njwt_scopes > 0 ? c->jwt_scopes : NULL, token, &doc, &c->err);
	explicit_bzero(token, strlen(token));
	free(token);
	if (rc != 0)
		return cli_fail(c);
	valid = json_is_true(json_object_get(doc, "valid"));
	if (c->json) {
		show(c, doc);
		return valid ? 0 : EXIT_DENIED;
	}
	if (valid) {
		printf("valid\n");
		claim_line("iss", json_object_get(doc, "issuer"));
		claim_line("sub", json_object_get(doc, "subject"));
		claim_line("aud", json_object_get(doc, "audience"));
		claim_line("exp", json_object_get(doc, "expiresAt"));
		claim_line("client", json_object_get(doc, "clientId"));
		claim_line("alg", json_object_get(doc, "algorithm"));
		claim_line("user", json_object_get(doc, "userId"));
	} else {
		printf("refused: ");
		put(json_string_value(json_object_get(doc, "reason")));
		printf(" (");
		put(json_string_value(json_object_get(doc, "errorType")));
		printf(")\n");
	}
	json_decref(doc);
	return valid ? 0 : EXIT_DENIED;
}

/* ---- policies and principals: av_call ---- */

/* One operation; in NULL: it could not be built.  0 or an exit status. */
static int
call(struct cli *c, const char *path, json_t *in, json_t **out)
{
	int rc;

	if (in == NULL)
		return cli_usage("an argument is not UTF-8 text");
	rc = av_call(c->h, path, in, out, &c->err);
	json_decref(in);
	return rc != 0 ? cli_fail(c) : 0;
}

/* The document of --file, '-' for standard input; NULL after a message. */
static char *
read_document(const char *path)
{
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char *buf = NULL;
	size_t len;

	if (fp == NULL) {
		cli_usage("%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((buf = malloc(DOCUMENT_MAX + 1)) == NULL)
		cli_usage("out of memory");
	else if ((len = fread(buf, 1, DOCUMENT_MAX + 1, fp)) > DOCUMENT_MAX ||
	    ferror(fp) || memchr(buf, '\0', len) != NULL) {
		cli_usage("%s: %s", path, ferror(fp) ? "cannot read it" :
		    len > DOCUMENT_MAX ? "over 65536 bytes" : "a NUL byte");
		free(buf);
		buf = NULL;
	} else
		buf[len] = '\0';
	if (fp != stdin)
		fclose(fp);
	return buf;
}

static int
put_policy(struct cli *c, const char *path)
{
	json_t *doc;
	char *text;
	int rc;

	if ((text = read_document(c->file)) == NULL)
		return EXIT_USAGE;
	rc = call(c, path, json_pack("{s:s, s:s, s:s*}", "name", cli_name(c),
	    "document", text, "description", c->description), &doc);
	free(text);
	return rc != 0 ? rc : show(c, doc);
}

int
cmd_policy_create(struct cli *c)
{
	return put_policy(c, "/policies/CreatePolicy");
}

int
cmd_policy_update(struct cli *c)
{
	return put_policy(c, "/policies/UpdatePolicy");
}

/* Text: where it comes from and its attachments, then the document. */
int
cmd_policy_get(struct cli *c)
{
	const char *text;
	json_t *doc, *document;
	int rc;

	if ((rc = call(c, "/policies/GetPolicy", json_pack("{s:s}", "name",
	    cli_name(c)), &doc)) != 0)
		return rc;
	if (c->json)
		return show(c, doc);
	document = json_incref(json_object_get(doc, "document"));
	json_object_del(doc, "document");
	print_text(doc, 0);
	if ((text = json_string_value(document)) != NULL) {
		putchar('\n');
		cli_lines(stdout, text);
		if (*text != '\0' && text[strlen(text) - 1] != '\n')
			putchar('\n');
	}
	json_decref(document);
	json_decref(doc);
	return 0;
}

int
cmd_policy_delete(struct cli *c)
{
	int rc;

	if ((rc = call(c, "/policies/DeletePolicy", json_pack("{s:s}", "name",
	    cli_name(c)), NULL)) != 0)
		return rc;
	return deleted(c, "policy");
}

static int
list_policies(av_handle *h, int max_results, const char *next_token,
    json_t **out, struct av_error *err)
{
	return list_page(h, "/policies/ListPolicies", max_results, next_token,
	    out, err);
}

int
cmd_policy_list(struct cli *c)
{
	return list(c, list_policies, "policies");
}

static int
attachment(struct cli *c, const char *path, const char *done,
    const char *to)
{
	int rc;

	if ((rc = call(c, path, json_pack("{s:s, s:s}", "principalName",
	    c->principal, "policyName", c->policies[0]), NULL)) != 0)
		return rc;
	if (c->json)
		printf("{}\n");
	else
		printf("%s policy %s %s principal %s\n", done, c->policies[0],
		    to, c->principal);
	return 0;
}

int
cmd_policy_attach(struct cli *c)
{
	return attachment(c, "/policies/AttachPrincipalPolicy", "attached",
	    "to");
}

int
cmd_policy_detach(struct cli *c)
{
	return attachment(c, "/policies/DetachPrincipalPolicy", "detached",
	    "from");
}

/* The context as the API takes it: KEY: "value", or a list of values. */
static json_t *
with_context(json_t *in, const struct cli *c)
{
	const char *key;
	json_t *ctx, *v, *value;
	size_t i;
	int rc;

	if (in == NULL || c->ncontext == 0)
		return in;
	if ((ctx = json_object()) == NULL ||
	    json_object_set_new(in, "context", ctx) != 0)
		goto bad;
	for (i = 0; i < c->ncontext; i++) {
		key = c->context[2 * i];
		value = json_string(c->context[2 * i + 1]);
		if ((v = json_object_get(ctx, key)) == NULL)
			rc = json_object_set_new(ctx, key, value);
		else if (json_is_string(v))
			rc = json_object_set_new(ctx, key, json_pack("[Oo]", v,
			    value));
		else
			rc = json_array_append_new(v, value);
		if (rc != 0)
			goto bad;
	}
	return in;
bad:
	json_decref(in);
	return NULL;
}

/*
 * Online or offline, the decision is SimulatePrincipalPolicy's reply:
 * the decision, then what decided it.  Exit 0 for Allow, 5 for a deny.
 */
int
cmd_policy_simulate(struct cli *c)
{
	const char *decision, *policy, *sid;
	char action[1024 + 32];		/* longer: the evaluator denies */
	json_t *doc, *m;
	int rc;

	if (snprintf(action, sizeof(action), "%s%s", strchr(c->action, ':') !=
	    NULL ? "" : "bedrock-agentcore:", c->action) >= (int)sizeof(action))
		return cli_usage("--action is too long");
	if (c->offline)
		rc = sim_offline(c, action, &doc);
	else
		rc = call(c, "/policies/SimulatePrincipalPolicy", with_context(
		    json_pack("{s:s*, s:s, s:s}", "principalName", c->principal,
		    "action", action, "resource", c->resource), c), &doc);
	if (rc != 0)
		return rc;
	if ((decision = json_string_value(json_object_get(doc,
	    "decision"))) == NULL) {
		json_decref(doc);
		fprintf(stderr, PROG ": the reply has no decision\n");
		return EXIT_TRANSPORT;
	}
	rc = strcmp(decision, "Allow") == 0 ? 0 : EXIT_DENIED;
	if (c->json) {
		show(c, doc);
		return rc;
	}
	put(decision);
	printf("\n  decided by: ");
	m = json_object_get(doc, "matchedStatement");
	policy = json_string_value(json_object_get(m, "policy"));
	sid = json_string_value(json_object_get(m, "sid"));
	if (policy == NULL)
		printf("no statement allows it");
	else {
		put(policy);
		if (sid != NULL) {
			printf(" statement ");
			put(sid);
		} else
			printf(" Statement[%lld]", (long long)
			    json_integer_value(json_object_get(m, "index")));
	}
	putchar('\n');
	json_decref(doc);
	return rc;
}

/* Text: each policy as "NAME (attachedBy)". */
int
cmd_principal_get(struct cli *c)
{
	const char *name, *by;
	json_t *doc, *policies, *item;
	size_t i;
	int rc;

	if ((rc = call(c, "/principals/GetPrincipal", json_pack("{s:s}",
	    "name", cli_name(c)), &doc)) != 0)
		return rc;
	policies = json_object_get(doc, "policies");
	json_array_foreach(policies, i, item) {
		name = json_string_value(json_object_get(item, "name"));
		by = json_string_value(json_object_get(item, "attachedBy"));
		if (!c->json && name != NULL && by != NULL)
			json_array_set_new(policies, i, json_sprintf("%s (%s)",
			    name, by));
	}
	return show(c, doc);
}

static int
list_principals(av_handle *h, int max_results, const char *next_token,
    json_t **out, struct av_error *err)
{
	(void)max_results;
	(void)next_token;
	return av_call(h, "/principals/ListPrincipals", NULL, out, err);
}

int
cmd_principal_list(struct cli *c)
{
	return list(c, list_principals, "principals");
}
