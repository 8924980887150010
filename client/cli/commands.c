/* SPDX-License-Identifier: Apache-2.0 */
/*
 * commands.c - one function per agentvault command, each a call of
 * libagentvault and its output: the API's JSON with --output json, lines
 * for people otherwise.  main.c has already checked the options.
 */
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
	const char *member = c->provider != NULL ? "apiKey" :
	    "workloadAccessToken";
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

/* One page, or --all of them; names in text, one per line. */
static int
list(struct cli *c, list_fn fn, const char *member)
{
	json_t *page = NULL, *all = json_array(), *item;
	const char *t, *by;
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
			by = json_string_value(json_object_get(item,
			    "managedBy"));
			if (by != NULL) {
				printf(" (managed by ");
				put(by);
				putchar(')');
			}
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

int
cmd_add_credential(struct cli *c)
{
	json_t *doc;
	char *key;
	int rc;

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

	if (av_get_api_key_provider(c->h, cli_name(c), &doc, &c->err) != 0)
		return cli_fail(c);
	return show(c, doc);
}

int
cmd_credential_list(struct cli *c)
{
	return list(c, av_list_api_key_providers, "credentialProviders");
}

int
cmd_credential_update(struct cli *c)
{
	json_t *doc;
	char *key;
	int rc;

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
	rc = av_with_api_key(c->h, &o, print_secret, c, &c->err);
	av_secret_free(tok);
	/* Otherwise print_secret's status. */
	return rc != 0 && c->err.type[0] != '\0' ? cli_fail(c) : rc;
}
