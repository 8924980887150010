/* SPDX-License-Identifier: Apache-2.0 */
/*
 * simulate.c - `policy simulate` without the appliance: policy files, a
 * directory of them and built-in policies, evaluated here with
 * libavpolicy (policy/policy.h).  The result is shaped as the reply of
 * SimulatePrincipalPolicy, so that commands.c prints both alike.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "policy/policy.h"

/* The library's message, FILE:LINE:COLUMN first for a document. */
static int
fail(const struct av_err *e)
{
	fprintf(stderr, PROG ": ");
	cli_text(stderr, e->msg);
	fprintf(stderr, "\n");
	return EXIT_USAGE;
}

/*
 * A policy's name is its file's stem, as the appliance names the files of
 * policy.dir.  False when the extension is not one of theirs.
 */
static bool
stem(const char *path, char *name, size_t len)
{
	static const char *const ext[] = { ".yaml", ".yml", ".json", NULL };
	const char *base = strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 :
	    path;
	size_t i, n = strlen(base), m;

	for (i = 0; ext[i] != NULL; i++) {
		m = strlen(ext[i]);
		if (n > m && strcmp(base + n - m, ext[i]) == 0) {
			snprintf(name, len, "%.*s", (int)(n - m), base);
			return true;
		}
	}
	snprintf(name, len, "%s", base);
	return false;
}

static int
add_file(struct policy_set *s, const char *path)
{
	char name[POLICY_NAME_MAX];
	struct policy_doc *d;
	struct av_err e;

	if ((d = policy_parse_file(path, &e)) == NULL)
		return fail(&e);
	stem(path, name, sizeof(name));
	if (policy_doc_rename(d, name) != 0) {
		policy_doc_free(d);
		return cli_usage("out of memory");
	}
	return policy_set_add(s, d, &e) != 0 ? fail(&e) : 0;
}

static int
policy_file(const struct dirent *de)
{
	char name[POLICY_NAME_MAX];

	return de->d_name[0] != '.' && stem(de->d_name, name, sizeof(name));
}

static int
by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* *.yaml, *.yml and *.json in name order, as the appliance reads them. */
static int
add_dir(struct policy_set *s, const char *dir)
{
	char path[PATH_MAX];
	struct dirent **v;
	int i, n, rc = 0;

	if ((n = scandir(dir, &v, policy_file, by_name)) == -1)
		return cli_usage("%s: %s", dir, strerror(errno));
	for (i = 0; i < n; i++) {
		if (rc == 0 && snprintf(path, sizeof(path), "%s/%s", dir,
		    v[i]->d_name) >= (int)sizeof(path))
			rc = cli_usage("%s: path too long", dir);
		else if (rc == 0)
			rc = add_file(s, path);
		free(v[i]);
	}
	free(v);
	return rc;
}

static int
add_builtin(struct policy_set *s, const char *name)
{
	const struct policy_builtin *b;
	struct policy_doc *d;
	struct av_err e;

	if ((b = policy_builtin(name)) == NULL) {
		fprintf(stderr, PROG ": --policy %s: no built-in policy has "
		    "that name; they are", name);
		for (b = policy_builtins(); b->name != NULL; b++)
			fprintf(stderr, " %s", b->name);
		fprintf(stderr, " (a file: --policy-file)\n");
		return EXIT_USAGE;
	}
	if ((d = policy_parse(b->name, b->text, strlen(b->text), &e)) == NULL)
		return fail(&e);
	return policy_set_add(s, d, &e) != 0 ? fail(&e) : 0;
}

/* The decision as SimulatePrincipalPolicy's reply. */
static int
reply(const char *action, const char *resource,
    const struct policy_decision *d, json_t **out)
{
	char why[1024];
	json_t *m = NULL;

	if (d->doc >= 0 && (m = json_pack("{s:s, s:s*, s:i}", "policy",
	    d->doc_name, "sid", d->sid, "index", d->stmt)) == NULL)
		return cli_usage("a policy's name is not UTF-8 text");
	(void)policy_decision_format(d, why, sizeof(why));
	if ((*out = json_pack("{s:s, s:s, s:s, s:o*, s:s}", "action", action,
	    "resource", resource, "decision", policy_effect_name(d->effect),
	    "matchedStatement", m, "explanation", why)) == NULL)
		return cli_usage("--action or --resource is not UTF-8 text");
	return 0;
}

/*
 * The files first (in the order given, or the directory's), then the
 * built-ins; the request holds the action, the resource and --context,
 * nothing else.  0, or an exit status after a message.
 */
int
sim_offline(struct cli *c, const char *action, json_t **out)
{
	struct policy_decision d;
	struct policy_ctx ctx;
	struct policy_set *s;
	struct av_err e;
	size_t i;
	int rc = 0;

	*out = NULL;
	if ((s = policy_set_new(&e)) == NULL)
		return fail(&e);
	for (i = 0; rc == 0 && i < c->npolicy_files; i++)
		rc = add_file(s, c->policy_files[i]);
	if (rc == 0 && c->policy_dir != NULL)
		rc = add_dir(s, c->policy_dir);
	for (i = 0; rc == 0 && i < c->npolicies; i++)
		rc = add_builtin(s, c->policies[i]);
	policy_ctx_init(&ctx, action, c->resource);
	for (i = 0; rc == 0 && i < c->ncontext; i++)
		if (policy_ctx_add(&ctx, c->context[2 * i],
		    c->context[2 * i + 1], &e) != 0)
			rc = fail(&e);
	if (rc == 0) {
		policy_eval(s, &ctx, &d);
		rc = reply(action, c->resource, &d, out);
	}
	policy_set_free(s);
	return rc;
}
