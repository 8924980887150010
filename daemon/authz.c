/* SPDX-License-Identifier: Apache-2.0 */
/*
 * authz.c - principals, their policies, and the decision for one call.
 * The snapshot is built once per change and never written afterwards, so
 * the loops read it without locks; taking a reference goes through the
 * holder's mutex, dropping one is an atomic decrement.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "authz.h"
#include "policy/policy.h"

struct authz_principal {
	const struct av_principal *cfg;
	struct policy_set	*set;
	char			 broken[AUTHZ_WHY_SIZE]; /* why it may do nothing */
	bool			 uses_resource_tags;
	bool			 uses_principal_tags;
};

struct authz {
	unsigned		 refs;		/* atomic */
	size_t			 n;
	struct authz_principal	 p[AV_CONFIG_PRINCIPALS_MAX];
};

/* ---- sources -------------------------------------------------------- */

static bool
name_ok(const char *s, size_t len)
{
	return len > 0 && len < AV_POLICY_NAME_SIZE &&
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._-") >= len;
}

int
authz_sources_add(struct authz_sources *s, const char *name,
    const char *origin, const char *text, size_t len, struct av_err *e)
{
	struct authz_source *v;

	if (s->n == s->cap) {
		s->cap = s->cap == 0 ? 16 : 2 * s->cap;
		if ((v = reallocarray(s->v, s->cap, sizeof(*v))) == NULL)
			return av_fail(e, AV_E_INTERNAL, "out of memory");
		s->v = v;
	}
	v = &s->v[s->n];
	memset(v, 0, sizeof(*v));
	if (snprintf(v->name, sizeof(v->name), "%s", name) >=
	    (int)sizeof(v->name) ||
	    snprintf(v->origin, sizeof(v->origin), "%s", origin) >=
	    (int)sizeof(v->origin))
		return av_fail(e, AV_E_VALIDATION, "policy name or origin too "
		    "long");
	if ((v->text = malloc(len + 1)) == NULL)
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	memcpy(v->text, text, len);
	v->text[len] = '\0';
	v->len = len;
	s->n++;
	return 0;
}

const struct authz_source *
authz_sources_find(const struct authz_sources *s, const char *name)
{
	size_t i;

	for (i = 0; s != NULL && i < s->n; i++)
		if (strcmp(s->v[i].name, name) == 0)
			return &s->v[i];
	return NULL;
}

void
authz_sources_free(struct authz_sources *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->v[i].text);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(((const struct authz_source *)a)->name,
	    ((const struct authz_source *)b)->name);
}

/* A policy file's stem, when its extension is one we read. */
static bool
policy_file_stem(const char *file, char *stem, size_t len)
{
	static const char *const ext[] = { ".yaml", ".yml", ".json", NULL };
	size_t i, n = strlen(file), m;

	if (file[0] == '.')
		return false;
	for (i = 0; ext[i] != NULL; i++) {
		m = strlen(ext[i]);
		if (n > m && strcmp(file + n - m, ext[i]) == 0 &&
		    n - m < len) {
			memcpy(stem, file, n - m);
			stem[n - m] = '\0';
			return true;
		}
	}
	return false;
}

static int
read_policy_file(int dfd, const char *dir, const char *file, char *buf,
    size_t cap, size_t *len, struct av_err *e)
{
	struct stat st;
	ssize_t r;
	int fd;

	*len = 0;
	if ((fd = openat(dfd, file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return av_fail(e, AV_E_VALIDATION, "%s/%s: %s", dir, file,
		    strerror(errno));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return av_fail(e, AV_E_VALIDATION, "%s/%s: not a regular file",
		    dir, file);
	}
	if ((st.st_uid != 0 && st.st_uid != geteuid()) ||
	    (st.st_mode & 022) != 0) {
		close(fd);
		return av_fail(e, AV_E_VALIDATION, "%s/%s: must be owned by "
		    "root (or the daemon's user) and not writable by group or "
		    "others", dir, file);
	}
	while ((r = read(fd, buf + *len, cap - *len)) > 0)
		*len += (size_t)r;
	close(fd);
	if (r == -1)
		return av_fail(e, AV_E_VALIDATION, "%s/%s: %s", dir, file,
		    strerror(errno));
	if (*len >= cap)
		return av_fail(e, AV_E_VALIDATION, "%s/%s: larger than %d "
		    "bytes", dir, file, POLICY_DOC_MAX);
	return 0;
}

int
authz_sources_load_dir(struct authz_sources *s, const char *dir,
    struct av_err *e)
{
	char stem[AV_POLICY_NAME_SIZE], path[AUTHZ_ORIGIN_SIZE];
	struct policy_doc *d;
	struct dirent *de;
	struct stat st;
	char *buf;
	size_t len, i;
	DIR *dp;
	int rc = -1;

	if ((dp = opendir(dir)) == NULL)
		return av_fail(e, AV_E_VALIDATION, "policy.dir %s: %s", dir,
		    strerror(errno));
	if (fstat(dirfd(dp), &st) == -1 || (st.st_mode & 022) != 0 ||
	    (st.st_uid != 0 && st.st_uid != geteuid())) {
		closedir(dp);
		return av_fail(e, AV_E_VALIDATION, "policy.dir %s: must be "
		    "owned by root (or the daemon's user) and not writable by "
		    "group or others", dir);
	}
	if ((buf = malloc(POLICY_DOC_MAX + 1)) == NULL) {
		closedir(dp);
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	}
	while ((errno = 0, de = readdir(dp)) != NULL) {
		if (!policy_file_stem(de->d_name, stem, sizeof(stem)))
			continue;
		if (!name_ok(stem, strlen(stem))) {
			av_fail(e, AV_E_VALIDATION, "%s/%s: a policy's name "
			    "(the file's stem) is 1-128 of [A-Za-z0-9._-]", dir,
			    de->d_name);
			goto out;
		}
		if (policy_builtin(stem) != NULL ||
		    authz_sources_find(s, stem) != NULL) {
			av_fail(e, AV_E_VALIDATION, "%s/%s: there is already "
			    "a policy named %s", dir, de->d_name, stem);
			goto out;
		}
		if (s->n == AUTHZ_FILES_MAX) {
			av_fail(e, AV_E_VALIDATION, "policy.dir %s: more than "
			    "%d policies", dir, AUTHZ_FILES_MAX);
			goto out;
		}
		(void)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (read_policy_file(dirfd(dp), dir, de->d_name, buf,
		    POLICY_DOC_MAX + 1, &len, e) == -1)
			goto out;
		/* Errors name the file, line and column. */
		if ((d = policy_parse(path, buf, len, e)) == NULL)
			goto out;
		policy_doc_free(d);
		if (authz_sources_add(s, stem, path, buf, len, e) == -1)
			goto out;
	}
	if (errno != 0) {
		av_fail(e, AV_E_VALIDATION, "policy.dir %s: %s", dir,
		    strerror(errno));
		goto out;
	}
	qsort(s->v, s->n, sizeof(s->v[0]), by_name);
	rc = 0;
out:
	free(buf);
	closedir(dp);
	if (rc == -1) {
		for (i = 0; i < s->n; i++)
			free(s->v[i].text);
		s->n = 0;
	}
	return rc;
}

/* ---- snapshots ------------------------------------------------------- */

/*
 * The document named name: built in, else a file, else (when stored is
 * given) stored through the API.  Parsed afresh for each attachment: a
 * set owns its documents, and there are few.
 */
static struct policy_doc *
resolve(const char *name, const struct authz_sources *files,
    const struct authz_sources *stored, struct av_err *e)
{
	const struct policy_builtin *b;
	const struct authz_source *src;
	struct policy_doc *d;

	if ((b = policy_builtin(name)) != NULL)
		return policy_parse(name, b->text, strlen(b->text), e);
	if ((src = authz_sources_find(files, name)) == NULL &&
	    (src = authz_sources_find(stored, name)) == NULL) {
		av_fail(e, AV_E_VALIDATION, "policy %s does not exist", name);
		return NULL;
	}
	if ((d = policy_parse(src->origin, src->text, src->len, e)) != NULL &&
	    policy_doc_rename(d, name) == -1) {
		policy_doc_free(d);
		av_fail(e, AV_E_INTERNAL, "out of memory");
		return NULL;
	}
	return d;
}

static int
attach(struct authz_principal *ap, const char *name,
    const struct authz_sources *files, const struct authz_sources *stored,
    struct av_err *e)
{
	struct policy_doc *d;

	if ((d = resolve(name, files, stored, e)) == NULL)
		return -1;
	return policy_set_add(ap->set, d, e);
}

int
authz_check_config(const struct av_config *cfg, struct authz_sources *files,
    struct av_err *e)
{
	struct authz *a;

	memset(files, 0, sizeof(*files));
	if ((cfg->policy.dir[0] != '\0' &&
	    authz_sources_load_dir(files, cfg->policy.dir, e) == -1) ||
	    (a = authz_build(&cfg->principals, files, NULL, NULL, 0,
	    e)) == NULL) {
		authz_sources_free(files);
		return -1;
	}
	authz_release(a);
	return 0;
}

/* ---- what the parent hands a worker ---------------------------------- */

int
authz_state_seal(const char *config, size_t len,
    const struct authz_sources *files, struct av_err *e)
{
	json_t *doc, *pols, *p;
	size_t i;
	int fd = -1;

	pols = json_array();
	for (i = 0; pols != NULL && i < files->n; i++) {
		p = json_pack("{s:s, s:s, s:s%}", "name", files->v[i].name,
		    "origin", files->v[i].origin, "text", files->v[i].text,
		    files->v[i].len);
		if (p == NULL || json_array_append_new(pols, p) != 0) {
			json_decref(pols);
			pols = NULL;
		}
	}
	doc = pols != NULL ? json_pack("{s:s%, s:o}", "config", config, len,
	    "policies", pols) : NULL;
	if (doc == NULL)
		av_fail(e, AV_E_INTERNAL, "cannot encode the state for the "
		    "worker");
	else if ((fd = memfd_create("agentvault-state", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING)) == -1 ||
	    json_dumpfd(doc, fd, JSON_COMPACT) != 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE | F_SEAL_SEAL) == -1) {
		av_fail(e, AV_E_INTERNAL, "cannot write the state for the "
		    "worker: %s", strerror(errno));
		if (fd != -1)
			close(fd);
		fd = -1;
	}
	json_decref(doc);
	return fd;
}

int
authz_state_read(int fd, char **config, size_t *len,
    struct authz_sources *files, struct av_err *e)
{
	json_t *doc = NULL, *p;
	json_error_t jerr;
	const char *text, *name, *origin;
	struct stat st;
	char *buf = NULL;
	size_t got = 0, n, i;
	ssize_t r;
	int rc = -1;

	*config = NULL;
	memset(files, 0, sizeof(*files));
	/* The parent's offset is shared: read from 0, whatever it is. */
	if (fstat(fd, &st) == -1 || st.st_size <= 0 ||
	    st.st_size > AUTHZ_STATE_MAX ||
	    (buf = malloc((size_t)st.st_size)) == NULL) {
		av_fail(e, AV_E_INTERNAL, "the state from the parent is "
		    "unreadable");
		goto out;
	}
	while (got < (size_t)st.st_size &&
	    (r = pread(fd, buf + got, (size_t)st.st_size - got,
	    (off_t)got)) > 0)
		got += (size_t)r;
	if (got != (size_t)st.st_size || (doc = json_loadb(buf, got,
	    JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr)) == NULL ||
	    json_unpack(doc, "{s:s%, s:o}", "config", &text, &n, "policies",
	    &p) != 0 || !json_is_array(p)) {
		av_fail(e, AV_E_INTERNAL, "the state from the parent is "
		    "malformed");
		goto out;
	}
	for (i = 0; i < json_array_size(p); i++) {
		const char *pt;
		size_t pn;

		if (json_unpack(json_array_get(p, i), "{s:s, s:s, s:s%}",
		    "name", &name, "origin", &origin, "text", &pt, &pn) != 0) {
			av_fail(e, AV_E_INTERNAL, "the state from the parent "
			    "is malformed");
			goto out;
		}
		if (authz_sources_add(files, name, origin, pt, pn, e) == -1)
			goto out;
	}
	if ((*config = malloc(n + 1)) == NULL) {
		av_fail(e, AV_E_INTERNAL, "out of memory");
		goto out;
	}
	memcpy(*config, text, n);
	(*config)[n] = '\0';
	*len = n;
	rc = 0;
out:
	if (rc == -1)
		authz_sources_free(files);
	json_decref(doc);
	free(buf);
	return rc;
}

static void
authz_free(struct authz *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		policy_set_free(a->p[i].set);
	free(a);
}

struct authz *
authz_build(const struct av_principals_config *ps,
    const struct authz_sources *files, const struct authz_sources *stored,
    const struct authz_attachment *att, size_t natt, struct av_err *e)
{
	struct authz_principal *ap;
	struct av_err why;
	struct authz *a;
	size_t i, j;

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		av_fail(e, AV_E_INTERNAL, "out of memory");
		return NULL;
	}
	a->refs = 1;
	for (i = 0; i < ps->n; i++) {
		ap = &a->p[a->n++];
		ap->cfg = &ps->v[i];
		if ((ap->set = policy_set_new(e)) == NULL)
			goto fail;
		/* The configuration's own: an error refuses it. */
		for (j = 0; j < ap->cfg->policies.n; j++)
			if (attach(ap, ap->cfg->policies.v[j], files, NULL,
			    &why) == -1) {
				av_fail(e, why.type, "principals[%zu] (%s): %s",
				    i, ap->cfg->name, why.msg);
				goto fail;
			}
		/*
		 * The API's: checked when made, so a failure here is damage
		 * or a file that now shadows a stored policy badly.  Fail
		 * closed: the principal may do nothing.
		 */
		for (j = 0; j < natt; j++)
			if (strcmp(att[j].principal, ap->cfg->name) == 0 &&
			    attach(ap, att[j].policy, files, stored, &why) == -1)
				(void)snprintf(ap->broken, sizeof(ap->broken),
				    "attached policy %.128s: %.300s", att[j].policy,
				    why.msg);
		ap->uses_resource_tags = policy_set_uses_prefix(ap->set,
		    "aws:ResourceTag/");
		ap->uses_principal_tags = policy_set_uses_prefix(ap->set,
		    "aws:PrincipalTag/");
	}
	return a;
fail:
	authz_free(a);
	return NULL;
}

void
authz_holder_init(struct authz_holder *h)
{
	pthread_mutex_init(&h->mu, NULL);
	h->cur = NULL;
}

struct authz *
authz_acquire(struct authz_holder *h)
{
	struct authz *a;

	/* Under the mutex: publish cannot drop the last reference between
	 * our reading cur and counting ours. */
	pthread_mutex_lock(&h->mu);
	if ((a = h->cur) != NULL)
		__atomic_add_fetch(&a->refs, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&h->mu);
	return a;
}

void
authz_release(struct authz *a)
{
	if (a != NULL && __atomic_sub_fetch(&a->refs, 1, __ATOMIC_ACQ_REL) == 0)
		authz_free(a);
}

void
authz_publish(struct authz_holder *h, struct authz *a)
{
	struct authz *old;

	pthread_mutex_lock(&h->mu);
	old = h->cur;
	h->cur = a;
	pthread_mutex_unlock(&h->mu);
	authz_release(old);
}

void
authz_holder_free(struct authz_holder *h)
{
	authz_publish(h, NULL);
	pthread_mutex_destroy(&h->mu);
}

/* ---- principals ------------------------------------------------------ */

static bool
has_uid(const struct av_uid_list *l, uid_t id)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->v[i] == id)
			return true;
	return false;
}

static bool
has_gid(const struct av_gid_list *l, gid_t id)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->v[i] == id)
			return true;
	return false;
}

const struct authz_principal *
authz_principal_of(const struct authz *a, const struct av_caller *c)
{
	size_t i, j;

	if (a == NULL)
		return NULL;
	if (c->listener == AV_LISTENER_TCP) {
		if (c->subject[0] == '\0')
			return NULL;
		for (i = 0; i < a->n; i++)
			for (j = 0; j < a->p[i].cfg->subjects.n; j++)
				if (strcmp(a->p[i].cfg->subjects.v[j],
				    c->subject) == 0)
					return &a->p[i];
		return NULL;
	}
	if (!c->has_cred)
		return NULL;
	/* A uid names one caller; a group, many: the uid decides first. */
	for (i = 0; i < a->n; i++)
		if (has_uid(&a->p[i].cfg->uids, c->uid))
			return &a->p[i];
	for (i = 0; i < a->n; i++)
		if (has_gid(&a->p[i].cfg->gids, c->gid))
			return &a->p[i];
	return NULL;
}

const struct authz_principal *
authz_principal_named(const struct authz *a, const char *name)
{
	size_t i;

	for (i = 0; a != NULL && i < a->n; i++)
		if (strcmp(a->p[i].cfg->name, name) == 0)
			return &a->p[i];
	return NULL;
}

const struct av_principal *
authz_principal_config(const struct authz_principal *p)
{
	return p->cfg;
}

bool
authz_uses(const struct authz_principal *p, enum authz_keys k)
{
	if (p == NULL)
		return false;
	return k == AUTHZ_RESOURCE_TAGS ? p->uses_resource_tags :
	    p->uses_principal_tags;
}

/* ---- the decision ---------------------------------------------------- */

#define KEYBUF_MAX	(POLICY_CTX_KEYS_MAX * 2)

/* A request context with room for the key names it builds. */
struct rctx {
	struct policy_ctx	 c;
	const struct policy_set	*set;
	const json_t		*extra;		/* its keys replace ours */
	char			 names[KEYBUF_MAX][POLICY_KEY_MAX + 1];
	size_t			 nnames;
	char			 uid[16], gid[16];
	bool			 overflow;
};

/* Add key=value when a policy names the key; refuse to decide past the
 * context's limits rather than drop a value a policy may test. */
static void
add_value(struct rctx *r, const char *key, const char *value)
{
	struct av_err e;

	if (value == NULL || !policy_set_uses_key(r->set, key, strlen(key)))
		return;
	if (policy_ctx_add(&r->c, key, value, &e) == -1)
		r->overflow = true;
}

/* The same, unless the simulation gives the key (keys ignore case). */
static void
add(struct rctx *r, const char *key, const char *value)
{
	const char *k;
	json_t *v;

	if (json_is_object(r->extra))
		json_object_foreach((json_t *)r->extra, k, v)
			if (strcasecmp(k, key) == 0)
				return;
	add_value(r, key, value);
}

/* The same for prefix + name (a tag key), built in the context's room. */
static void
add_named(struct rctx *r, const char *prefix, const char *name,
    const char *value)
{
	char key[POLICY_KEY_MAX + 1];
	int n;

	n = snprintf(key, sizeof(key), "%s%s", prefix, name);
	/* A longer key than any policy may name cannot matter. */
	if (n < 0 || (size_t)n >= sizeof(key) ||
	    !policy_set_uses_key(r->set, key, (size_t)n))
		return;
	if (r->nnames == KEYBUF_MAX) {
		r->overflow = true;
		return;
	}
	memcpy(r->names[r->nnames], key, (size_t)n + 1);
	add(r, r->names[r->nnames++], value);
}

static void
add_tags(struct rctx *r, const char *prefix, const json_t *tags)
{
	const char *k;
	json_t *v;

	if (!json_is_object(tags))
		return;
	json_object_foreach((json_t *)tags, k, v)
		if (json_is_string(v))
			add_named(r, prefix, k, json_string_value(v));
}

static bool
principal_has_tag(const struct av_principal *p, const char *key)
{
	size_t i;

	for (i = 0; i < p->tags.n; i++)
		if (strcasecmp(p->tags.v[i].key, key) == 0)
			return true;
	return false;
}

static void
build(struct rctx *r, const struct authz_principal *p,
    const struct av_caller *c, const struct authz_request *q)
{
	const char *k;
	json_t *v, *x;
	size_t i;

	if (c->listener != AV_LISTENER_TCP && c->has_cred) {
		(void)snprintf(r->uid, sizeof(r->uid), "%u", (unsigned)c->uid);
		(void)snprintf(r->gid, sizeof(r->gid), "%u", (unsigned)c->gid);
		add(r, "agentvault:uid", r->uid);
		add(r, "agentvault:gid", r->gid);
	}
	if (c->subject[0] != '\0')
		add(r, "agentvault:subject", c->subject);
	add(r, "bedrock-agentcore:resourceCredentialProvider", q->provider);
	add(r, POLICY_KEY_WORKLOAD, q->workload);
	/* The principal's own tags win over its workload identity's. */
	for (i = 0; i < p->cfg->tags.n; i++)
		add_named(r, "aws:PrincipalTag/", p->cfg->tags.v[i].key,
		    p->cfg->tags.v[i].value);
	if (json_is_object(q->workload_tags))
		json_object_foreach((json_t *)q->workload_tags, k, v)
			if (json_is_string(v) && !principal_has_tag(p->cfg, k))
				add_named(r, "aws:PrincipalTag/", k,
				    json_string_value(v));
	add_tags(r, "aws:ResourceTag/", q->resource_tags);
	add_tags(r, "aws:RequestTag/", q->request_tags);
	if (json_is_object(q->request_tags))
		json_object_foreach((json_t *)q->request_tags, k, v)
			add(r, "aws:TagKeys", k);
	if (json_is_array(q->tag_keys))
		json_array_foreach(q->tag_keys, i, v)
			add(r, "aws:TagKeys", json_string_value(v));
	/* Simulation: a key given a value or a list of values. */
	if (json_is_object(q->extra))
		json_object_foreach((json_t *)q->extra, k, v) {
			if (json_is_string(v))
				add_value(r, k, json_string_value(v));
			json_array_foreach(v, i, x)
				add_value(r, k, json_string_value(x));
		}
}

static int
denied(const struct authz_principal *p, const struct authz_request *q,
    const char *because, struct av_err *e)
{
	return av_fail(e, AV_E_ACCESS_DENIED, "%s%s is not authorized to "
	    "perform: bedrock-agentcore:%s on resource: %s%s",
	    p != NULL ? "principal " : "the caller",
	    p != NULL ? p->cfg->name : "", q->operation,
	    q->resource[0] != '\0' ? q->resource : "*", because);
}

/*
 * Evaluate q for p (a principal that is not broken) into d and why: 0,
 * 1 when the request exceeds a context's limits, -1 out of memory.
 */
static int
evaluate(const struct authz_principal *p, const struct av_caller *c,
    const struct authz_request *q, struct policy_decision *d, char *why,
    size_t whylen, struct av_err *e)
{
	char action[128];
	struct rctx *r;

	if ((r = malloc(sizeof(*r))) == NULL) {
		(void)snprintf(why, whylen, "out of memory");
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	}
	(void)snprintf(action, sizeof(action), "bedrock-agentcore:%s",
	    q->operation);
	policy_ctx_init(&r->c, action, q->resource[0] != '\0' ? q->resource :
	    "*");
	r->set = p->set;
	r->extra = q->extra;
	r->nnames = 0;
	r->overflow = false;
	build(r, p, c, q);
	if (r->overflow) {
		free(r);
		(void)snprintf(why, whylen, "Deny: the request has more "
		    "condition keys or values than a decision takes");
		return 1;
	}
	policy_eval(p->set, &r->c, d);
	free(r);
	if (policy_decision_format(d, why, whylen) == -1)
		(void)snprintf(why, whylen, "%s", policy_effect_name(d->effect));
	return 0;
}

int
authz_decide(const struct authz_principal *p, const struct av_caller *c,
    const struct authz_request *q, char *why, size_t whylen,
    struct av_err *e)
{
	struct policy_decision d;

	if (p == NULL) {
		(void)snprintf(why, whylen, "no principal");
		return denied(p, q, " because it is not a principal of this "
		    "appliance", e);
	}
	if (p->broken[0] != '\0') {
		(void)snprintf(why, whylen, "%s", p->broken);
		return denied(p, q, "", e);
	}
	switch (evaluate(p, c, q, &d, why, whylen, e)) {
	case -1:
		return -1;
	case 1:
		return denied(p, q, "", e);
	}
	if (d.effect == POLICY_ALLOW)
		return 0;
	return denied(p, q, d.effect == POLICY_EXPLICIT_DENY ?
	    " with an explicit deny in a policy" :
	    " because no policy allows it", e);
}

int
authz_simulate(const struct authz_principal *p, const struct authz_request *q,
    struct policy_decision *d, char *why, size_t whylen, struct av_err *e)
{
	/* No peer credentials, no subject: those keys come from q->extra. */
	static const struct av_caller nobody = { .listener = AV_LISTENER_ADMIN };

	memset(d, 0, sizeof(*d));
	d->effect = POLICY_IMPLICIT_DENY;
	d->doc = d->stmt = -1;
	if (p->broken[0] != '\0') {
		(void)snprintf(why, whylen, "ImplicitDeny: %s", p->broken);
		return 0;
	}
	switch (evaluate(p, &nobody, q, d, why, whylen, e)) {
	case -1:
		return -1;
	case 1:
		return av_fail(e, AV_E_VALIDATION, "the request has more "
		    "condition keys or values than a decision takes (%d keys, "
		    "%d values each)", POLICY_CTX_KEYS_MAX,
		    POLICY_CTX_VALUES_MAX);
	}
	return 0;
}
