/* SPDX-License-Identifier: Apache-2.0 */
/*
 * parse.c - policy documents from YAML or JSON, compiled.
 *
 * libyaml reads both (JSON is, for documents like these, YAML's flow
 * style) and gives a line and column for every node, so semantic errors
 * ("unknown element", "Effect must be Allow or Deny") point at the
 * offending value.  libyaml is lax about JSON, though (it takes trailing
 * commas and unquoted words), so a document that starts with '{' is
 * first checked by jansson, strictly, whose json_error_t has the line and
 * column of a syntax error.  In JSON, unquoted scalars are numbers,
 * booleans or null: they are refused where a string is required.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <yaml.h>

#include "policy/internal.h"

enum ntype { N_SCALAR, N_SEQ, N_MAP };

struct node {
	enum ntype	 t;
	size_t		 line, col;	/* 1-based */
	const char	*s;		/* scalars */
	size_t		 len;
	bool		 plain;		/* unquoted */
	struct node	*kid, *last, *next;	/* maps: key, value, ... */
	size_t		 nkid;
};

struct parser {
	const char	*name;
	bool		 json;
	struct arena	 tree;		/* the node tree, freed after */
	struct policy_doc *doc;
	struct av_err	*e;
};

static int
perr(struct parser *p, size_t line, size_t col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
perr(struct parser *p, size_t line, size_t col, const char *fmt, ...)
{
	char msg[AV_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return av_fail(p->e, AV_E_VALIDATION, "%s:%zu:%zu: %s", p->name, line,
	    col, msg);
}

#define NERR(p, n, ...)	perr((p), (n)->line, (n)->col, __VA_ARGS__)

/* ---- the tree ---------------------------------------------------------- */

static struct node *
node_new(struct parser *p, enum ntype t, const yaml_mark_t *m)
{
	struct node *n;

	if ((n = arena_alloc(&p->tree, sizeof(*n))) == NULL) {
		perr(p, m->line + 1, m->column + 1, "document too large");
		return NULL;
	}
	n->t = t;
	n->line = m->line + 1;
	n->col = m->column + 1;
	return n;
}

static int
next_event(struct parser *p, yaml_parser_t *y, yaml_event_t *ev)
{
	if (yaml_parser_parse(y, ev))
		return 0;
	return perr(p, y->problem_mark.line + 1, y->problem_mark.column + 1,
	    "%s%s%s", y->problem != NULL ? y->problem : "syntax error",
	    y->context != NULL ? " " : "", y->context != NULL ? y->context : "");
}

/* Build the node that starts with ev (consumed). */
static struct node *
build(struct parser *p, yaml_parser_t *y, yaml_event_t *ev, int depth)
{
	struct node *n = NULL, *kid;
	yaml_event_t kev;
	yaml_event_type_t end;

	if (depth > POLICY_DEPTH_MAX) {
		perr(p, ev->start_mark.line + 1, ev->start_mark.column + 1,
		    "nested too deeply");
		goto out;
	}
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		if (ev->data.scalar.anchor != NULL)
			goto anchor;
		if (ev->data.scalar.tag != NULL)
			goto tag;
		if ((n = node_new(p, N_SCALAR, &ev->start_mark)) == NULL)
			goto out;
		if (memchr(ev->data.scalar.value, '\0',
		    ev->data.scalar.length) != NULL) {
			NERR(p, n, "NUL character in a string");
			n = NULL;
			goto out;
		}
		n->len = ev->data.scalar.length;
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		if ((n->s = arena_strndup(&p->tree,
		    (const char *)ev->data.scalar.value, n->len)) == NULL) {
			NERR(p, n, "document too large");
			n = NULL;
		}
		goto out;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if ((ev->type == YAML_SEQUENCE_START_EVENT ?
		    ev->data.sequence_start.anchor :
		    ev->data.mapping_start.anchor) != NULL)
			goto anchor;
		if ((ev->type == YAML_SEQUENCE_START_EVENT ?
		    ev->data.sequence_start.tag :
		    ev->data.mapping_start.tag) != NULL)
			goto tag;
		n = node_new(p, ev->type == YAML_SEQUENCE_START_EVENT ?
		    N_SEQ : N_MAP, &ev->start_mark);
		end = ev->type == YAML_SEQUENCE_START_EVENT ?
		    YAML_SEQUENCE_END_EVENT : YAML_MAPPING_END_EVENT;
		yaml_event_delete(ev);
		if (n == NULL)
			return NULL;
		for (;;) {
			if (next_event(p, y, &kev) == -1)
				return NULL;
			if (kev.type == end) {
				yaml_event_delete(&kev);
				return n;
			}
			if ((kid = build(p, y, &kev, depth + 1)) == NULL)
				return NULL;
			if (n->last == NULL)
				n->kid = kid;
			else
				n->last->next = kid;
			n->last = kid;
			n->nkid++;
		}
	case YAML_ALIAS_EVENT:
		goto anchor;
	default:
		perr(p, ev->start_mark.line + 1, ev->start_mark.column + 1,
		    "unexpected YAML event");
		goto out;
	}
anchor:
	perr(p, ev->start_mark.line + 1, ev->start_mark.column + 1,
	    "anchors and aliases are not allowed in a policy");
	n = NULL;
	goto out;
tag:
	perr(p, ev->start_mark.line + 1, ev->start_mark.column + 1,
	    "YAML tags are not allowed in a policy");
	n = NULL;
out:
	yaml_event_delete(ev);
	return n;
}

static struct node *
read_tree(struct parser *p, const char *text, size_t len)
{
	yaml_parser_t y;
	yaml_event_t ev;
	struct node *root = NULL;
	int i;

	if (!yaml_parser_initialize(&y)) {
		av_fail(p->e, AV_E_INTERNAL, "out of memory");
		return NULL;
	}
	yaml_parser_set_input_string(&y, (const unsigned char *)text, len);
	/* STREAM-START, DOCUMENT-START, the root, DOCUMENT-END. */
	for (i = 0; i < 2; i++) {
		if (next_event(p, &y, &ev) == -1)
			goto out;
		if (ev.type == YAML_STREAM_END_EVENT) {
			perr(p, ev.start_mark.line + 1,
			    ev.start_mark.column + 1, "empty document");
			yaml_event_delete(&ev);
			goto out;
		}
		yaml_event_delete(&ev);
	}
	if (next_event(p, &y, &ev) == -1 ||
	    (root = build(p, &y, &ev, 0)) == NULL)
		goto out;
	if (next_event(p, &y, &ev) == -1) {
		root = NULL;
		goto out;
	}
	yaml_event_delete(&ev);
	if (next_event(p, &y, &ev) == -1) {
		root = NULL;
		goto out;
	}
	if (ev.type != YAML_STREAM_END_EVENT) {
		perr(p, ev.start_mark.line + 1, ev.start_mark.column + 1,
		    "one policy document per file");
		root = NULL;
	}
	yaml_event_delete(&ev);
out:
	yaml_parser_delete(&y);
	return root;
}

static int
check_json(struct parser *p, const char *text, size_t len)
{
	json_error_t je;
	json_t *j;

	if ((j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je)) ==
	    NULL)
		return perr(p, (size_t)(je.line > 0 ? je.line : 1),
		    (size_t)(je.column > 0 ? je.column : 1), "%s", je.text);
	json_decref(j);
	return 0;
}

/* ---- compiling --------------------------------------------------------- */

static bool
is_string(const struct parser *p, const struct node *n)
{
	return n->t == N_SCALAR && !(p->json && n->plain);
}

static int
want_string(struct parser *p, const struct node *n, const char *what)
{
	if (!is_string(p, n) || n->len == 0)
		return NERR(p, n, "%s must be a non-empty string", what);
	return 0;
}

/* Every key of map n must be a string and unique. */
static int
check_keys(struct parser *p, const struct node *n)
{
	const struct node *k, *o;

	/* Bounds the quadratic check; no element has more keys. */
	if (n->nkid / 2 > POLICY_CONDITIONS_MAX)
		return NERR(p, n, "too many keys in a mapping (at most %d)",
		    POLICY_CONDITIONS_MAX);
	for (k = n->kid; k != NULL; k = k->next->next) {
		if (k->t != N_SCALAR || k->len == 0)
			return NERR(p, k, "keys must be non-empty strings");
		for (o = n->kid; o != k; o = o->next->next)
			if (o->len == k->len && memcmp(o->s, k->s, k->len) == 0)
				return NERR(p, k, "duplicate key '%s'", k->s);
	}
	return 0;
}

/* The values of a string-or-list element, checked. */
static int
items(struct parser *p, const struct node *n, const char *what,
    bool scalars, size_t max, const struct node **first, size_t *count)
{
	const struct node *k;
	size_t i;

	if (n->t == N_SCALAR) {
		*first = n;
		*count = 1;
	} else if (n->t == N_SEQ) {
		*first = n->kid;
		*count = n->nkid;
	} else
		return NERR(p, n, "%s must be a string or a list of strings",
		    what);
	if (*count == 0)
		return NERR(p, n, "%s must not be empty", what);
	if (*count > max)
		return NERR(p, n, "too many entries in %s (at most %zu)", what,
		    max);
	for (i = 0, k = *first; i < *count; i++, k = k->next) {
		if (k->t != N_SCALAR || (!scalars && !is_string(p, k)) ||
		    (scalars && p->json && k->plain &&
		    strcmp(k->s, "null") == 0))
			return NERR(p, k, "%s must be a string or a list of "
			    "strings", what);
		if (!scalars && k->len == 0)
			return NERR(p, k, "empty string in %s", what);
	}
	return 0;
}

static int
compile_actions(struct parser *p, const struct node *n, struct stmt *st,
    const char *what)
{
	const struct node *k;
	const char *why;
	size_t i, j;

	if (items(p, n, what, false, POLICY_ITEMS_MAX, &k, &st->nact) == -1)
		return -1;
	if ((st->act = arena_alloc(&p->doc->arena,
	    st->nact * sizeof(*st->act))) == NULL)
		return NERR(p, n, "document too large");
	for (i = 0; i < st->nact; k = k->next, i++) {
		if (strcmp(k->s, "*") != 0 && strchr(k->s, ':') == NULL)
			return NERR(p, k, "an action is service:Operation "
			    "(bedrock-agentcore:GetResourceApiKey) or \"*\"");
		for (j = 0; j < k->len; j++)
			if (k->s[j] <= ' ' || k->s[j] >= 0x7f ||
			    k->s[j] == '$')
				return NERR(p, k, "bad character in action "
				    "'%s'", k->s);
		if (pat_compile(&p->doc->arena, k->s, k->len,
		    PAT_WILD | PAT_LOWER, &st->act[i], &why) == -1)
			return NERR(p, k, "%s", why);
	}
	return 0;
}

static int
compile_resources(struct parser *p, const struct node *n, struct stmt *st,
    const char *what)
{
	const struct node *k;
	const char *why;
	size_t i;

	if (items(p, n, what, false, POLICY_ITEMS_MAX, &k, &st->nres) == -1)
		return -1;
	if ((st->res = arena_alloc(&p->doc->arena,
	    st->nres * sizeof(*st->res))) == NULL)
		return NERR(p, n, "document too large");
	for (i = 0; i < st->nres; k = k->next, i++)
		if (arnpat_compile(&p->doc->arena, k->s, k->len,
		    PAT_WILD | PAT_VARS, &st->res[i], &why) == -1)
			return NERR(p, k, "%s: %s", what, why);
	return 0;
}

static bool
valid_key(const char *s, size_t len)
{
	size_t i;

	if (len > POLICY_KEY_MAX || memchr(s, ':', len) == NULL ||
	    s[0] == ':')
		return false;
	for (i = 0; i < len; i++)
		if (s[i] <= ' ' || s[i] >= 0x7f || s[i] == '$')
			return false;
	return true;
}

static int
compile_conditions(struct parser *p, const struct node *n, struct stmt *st)
{
	const struct node *op, *key, *v;
	struct cond *c;
	const char *why;
	size_t i, total = 0;

	if (n->t != N_MAP || n->nkid == 0)
		return NERR(p, n, "Condition must be a mapping of operators "
		    "to mappings of keys to values");
	if (check_keys(p, n) == -1)
		return -1;
	for (op = n->kid; op != NULL; op = op->next->next) {
		if (op->next->t != N_MAP || op->next->nkid == 0)
			return NERR(p, op->next, "%s must map condition keys "
			    "to values", op->s);
		if (check_keys(p, op->next) == -1)
			return -1;
		total += op->next->nkid / 2;
	}
	if (total > POLICY_CONDITIONS_MAX)
		return NERR(p, n, "too many conditions (at most %d)",
		    POLICY_CONDITIONS_MAX);
	if ((st->cond = arena_alloc(&p->doc->arena,
	    total * sizeof(*st->cond))) == NULL)
		return NERR(p, n, "document too large");
	for (op = n->kid; op != NULL; op = op->next->next) {
		for (key = op->next->kid; key != NULL; key = key->next->next) {
			c = &st->cond[st->ncond++];
			if (cond_operator(op->s, c, &why) == -1)
				return NERR(p, op, "%s: %s", op->s, why);
			if (!valid_key(key->s, key->len))
				return NERR(p, key, "'%s' is not a condition "
				    "key (prefix:name, at most %d bytes)",
				    key->s, POLICY_KEY_MAX);
			if ((c->key = arena_strndup(&p->doc->arena, key->s,
			    key->len)) == NULL)
				return NERR(p, key, "document too large");
			c->keylen = key->len;
			if (items(p, key->next, "a condition's values", true,
			    POLICY_COND_VALUES_MAX, &v, &c->nv) == -1)
				return -1;
			if ((c->v = arena_alloc(&p->doc->arena,
			    c->nv * sizeof(*c->v))) == NULL)
				return NERR(p, key, "document too large");
			for (i = 0; i < c->nv; v = v->next, i++)
				if (cond_value(&p->doc->arena, c, i, v->s,
				    v->len, &why) == -1)
					return NERR(p, v, "%s %s: %s", op->s,
					    key->s, why);
		}
	}
	return 0;
}

static bool
valid_sid(const char *s, size_t len)
{
	size_t i;

	if (len > POLICY_SID_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

static int
compile_statement(struct parser *p, const struct node *n, struct stmt *st,
    size_t idx)
{
	const struct node *k, *v, *effect = NULL, *act = NULL, *res = NULL;
	size_t i;

	if (n->t != N_MAP)
		return NERR(p, n, "a statement must be a mapping");
	if (check_keys(p, n) == -1)
		return -1;
	for (k = n->kid; k != NULL; k = k->next->next) {
		v = k->next;
		if (strcmp(k->s, "Sid") == 0) {
			if (want_string(p, v, "Sid") == -1)
				return -1;
			if (!valid_sid(v->s, v->len))
				return NERR(p, v, "Sid must be letters and "
				    "digits (at most %d)", POLICY_SID_MAX);
			for (i = 0; i < idx; i++)
				if (p->doc->st[i].sid != NULL &&
				    strcmp(p->doc->st[i].sid, v->s) == 0)
					return NERR(p, v, "duplicate Sid "
					    "'%s'", v->s);
			if ((st->sid = arena_strndup(&p->doc->arena, v->s,
			    v->len)) == NULL)
				return NERR(p, v, "document too large");
		} else if (strcmp(k->s, "Effect") == 0) {
			if (!is_string(p, v) || (strcmp(v->s, "Allow") != 0 &&
			    strcmp(v->s, "Deny") != 0))
				return NERR(p, v, "Effect must be Allow or "
				    "Deny");
			st->deny = strcmp(v->s, "Deny") == 0;
			effect = v;
		} else if (strcmp(k->s, "Action") == 0 ||
		    strcmp(k->s, "NotAction") == 0) {
			if (act != NULL)
				return NERR(p, k, "Action and NotAction "
				    "exclude each other");
			act = k;
			st->notaction = k->s[0] == 'N';
			if (compile_actions(p, v, st, k->s) == -1)
				return -1;
		} else if (strcmp(k->s, "Resource") == 0 ||
		    strcmp(k->s, "NotResource") == 0) {
			if (res != NULL)
				return NERR(p, k, "Resource and NotResource "
				    "exclude each other");
			res = k;
			st->notresource = k->s[0] == 'N';
			if (compile_resources(p, v, st, k->s) == -1)
				return -1;
		} else if (strcmp(k->s, "Condition") == 0) {
			if (compile_conditions(p, v, st) == -1)
				return -1;
		} else if (strcmp(k->s, "Principal") == 0 ||
		    strcmp(k->s, "NotPrincipal") == 0)
			return NERR(p, k, "%s is not supported: policies are "
			    "attached to principals", k->s);
		else
			return NERR(p, k, "unknown element '%s' in a "
			    "statement", k->s);
	}
	if (effect == NULL)
		return NERR(p, n, "a statement needs an Effect");
	if (act == NULL)
		return NERR(p, n, "a statement needs an Action or NotAction");
	if (res == NULL)
		return NERR(p, n, "a statement needs a Resource or "
		    "NotResource");
	return 0;
}

static int
compile(struct parser *p, const struct node *root)
{
	const struct node *k, *v, *version = NULL, *stmts = NULL, *s;
	size_t i, n;

	if (root->t != N_MAP)
		return NERR(p, root, "a policy document is a mapping with "
		    "Version and Statement");
	if (check_keys(p, root) == -1)
		return -1;
	for (k = root->kid; k != NULL; k = k->next->next) {
		v = k->next;
		if (strcmp(k->s, "Version") == 0) {
			if (!is_string(p, v) || strcmp(v->s, "2012-10-17") != 0)
				return NERR(p, v, "Version must be "
				    "\"2012-10-17\"");
			version = v;
		} else if (strcmp(k->s, "Id") == 0) {
			if (want_string(p, v, "Id") == -1)
				return -1;
		} else if (strcmp(k->s, "Statement") == 0)
			stmts = v;
		else
			return NERR(p, k, "unknown element '%s' (expected "
			    "Version, Id, Statement)", k->s);
	}
	if (version == NULL)
		return NERR(p, root, "Version \"2012-10-17\" is required");
	if (stmts == NULL)
		return NERR(p, root, "Statement is required");
	if (stmts->t == N_MAP) {
		s = stmts;
		n = 1;
	} else if (stmts->t == N_SEQ) {
		s = stmts->kid;
		n = stmts->nkid;
	} else
		return NERR(p, stmts, "Statement must be a statement or a "
		    "list of statements");
	if (n == 0)
		return NERR(p, stmts, "Statement must not be empty");
	if (n > POLICY_STATEMENTS_MAX)
		return NERR(p, stmts, "too many statements (at most %d)",
		    POLICY_STATEMENTS_MAX);
	if ((p->doc->st = arena_alloc(&p->doc->arena,
	    n * sizeof(*p->doc->st))) == NULL)
		return NERR(p, stmts, "document too large");
	for (i = 0; i < n; i++, s = s->next) {
		if (compile_statement(p, s, &p->doc->st[i], i) == -1)
			return -1;
		p->doc->nst++;
	}
	return 0;
}

struct policy_doc *
policy_parse(const char *name, const char *text, size_t len,
    struct av_err *e)
{
	struct parser p;
	struct node *root;
	size_t i;

	memset(&p, 0, sizeof(p));
	p.name = name;
	p.e = e;
	if (strlen(name) > POLICY_NAME_MAX) {
		av_fail(e, AV_E_VALIDATION, "policy name too long");
		return NULL;
	}
	if (len > POLICY_DOC_MAX) {
		perr(&p, 1, 1, "document too large (at most %d bytes)",
		    POLICY_DOC_MAX);
		return NULL;
	}
	for (i = 0; i < len && strchr(" \t\r\n", text[i]) != NULL; i++)
		;
	p.json = i < len && text[i] == '{';
	if (p.json && check_json(&p, text, len) == -1)
		return NULL;
	if ((p.doc = calloc(1, sizeof(*p.doc))) == NULL) {
		av_fail(e, AV_E_INTERNAL, "out of memory");
		return NULL;
	}
	if ((p.doc->name = arena_strndup(&p.doc->arena, name,
	    strlen(name))) == NULL)
		av_fail(e, AV_E_INTERNAL, "out of memory");
	else if ((root = read_tree(&p, text, len)) != NULL &&
	    compile(&p, root) == 0) {
		arena_free(&p.tree);
		return p.doc;
	}
	arena_free(&p.tree);
	policy_doc_free(p.doc);
	return NULL;
}

struct policy_doc *
policy_parse_file(const char *path, struct av_err *e)
{
	struct policy_doc *d;
	struct stat sb;
	char *buf;
	ssize_t n;
	size_t len = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		av_fail(e, AV_E_VALIDATION, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    sb.st_size > POLICY_DOC_MAX) {
		close(fd);
		av_fail(e, AV_E_VALIDATION, "%s: not a regular file of at "
		    "most %d bytes", path, POLICY_DOC_MAX);
		return NULL;
	}
	if ((buf = malloc(POLICY_DOC_MAX + 1)) == NULL) {
		close(fd);
		av_fail(e, AV_E_INTERNAL, "out of memory");
		return NULL;
	}
	while (len <= POLICY_DOC_MAX &&
	    (n = read(fd, buf + len, POLICY_DOC_MAX + 1 - len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			av_fail(e, AV_E_VALIDATION, "%s: %s", path,
			    strerror(errno));
			close(fd);
			free(buf);
			return NULL;
		}
		len += (size_t)n;
	}
	close(fd);
	d = policy_parse(path, buf, len, e);
	free(buf);
	return d;
}

void
policy_doc_free(struct policy_doc *d)
{
	if (d == NULL)
		return;
	arena_free(&d->arena);
	free(d);
}

size_t
policy_doc_statements(const struct policy_doc *d)
{
	return d->nst;
}

int
policy_doc_rename(struct policy_doc *d, const char *name)
{
	char *n;

	if ((n = arena_strndup(&d->arena, name, strlen(name))) == NULL)
		return -1;
	d->name = n;
	return 0;
}
