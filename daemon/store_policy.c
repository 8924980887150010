/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_policy.c - policy documents stored through the API and the
 * policies attached to principals through the API.  The caller checks
 * names and documents; here each change is one transaction that checks
 * what it depends on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authz.h"
#include "store_internal.h"

/* Step a statement that yields one integer; -1 on error. */
static int64_t
count(struct store *s, sqlite3_stmt *st, struct av_err *e)
{
	int64_t n = -1;

	if (st == NULL)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	else
		av_fail(e, AV_E_INTERNAL, "database: %s", sqlite3_errmsg(s->db));
	store_release(s, st);
	return n;
}

/* 1 stored, 0 not, -1 error. */
static int
policy_exists(struct store *s, const char *name, struct av_err *e)
{
	int64_t n = count(s, store_prepare2(s, "SELECT count(*) FROM policies "
	    "WHERE name = ?1;", name, NULL, e), e);

	return n < 0 ? -1 : n > 0;
}

static int
create_locked(struct store *s, const char *name, const char *doc, size_t len,
    const char *description, unsigned quota, struct av_err *e)
{
	sqlite3_stmt *st;
	int64_t n;
	int exists;

	if ((exists = policy_exists(s, name, e)) != 0)
		return exists < 0 ? -1 : av_fail(e, AV_E_CONFLICT,
		    "a policy named %s already exists", name);
	if ((n = count(s, store_prepare(s, "SELECT count(*) FROM policies;",
	    e), e)) < 0)
		return -1;
	if (n >= (int64_t)quota)
		return av_fail(e, AV_E_QUOTA, "the quota of %u stored policies "
		    "is reached", quota);
	if ((st = store_prepare2(s, "INSERT INTO policies (name, document, "
	    "description, created, updated) VALUES (?1, ?2, ?3, ?4, ?4);",
	    name, NULL, e)) == NULL)
		return -1;
	sqlite3_bind_text(st, 2, doc, (int)len, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, description, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)time(NULL));
	return store_step_done(s, st, e);
}

int
store_policy_create(struct store *s, const char *name, const char *doc,
    size_t len, const char *description, unsigned quota, struct av_err *e)
{
	int rc;

	IN_TRANSACTION(s, e, rc, create_locked(s, name, doc, len, description,
	    quota, e));
	return rc;
}

int
store_policy_get(struct store *s, const char *name, struct store_policy *out,
    struct av_err *e)
{
	sqlite3_stmt *st;
	const char *doc, *desc;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->lock);
	if ((st = store_prepare2(s, "SELECT document, description, created, updated "
	    "FROM policies WHERE name = ?1;", name, NULL, e)) == NULL)
		goto done;
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		doc = (const char *)sqlite3_column_text(st, 0);
		out->len = (size_t)sqlite3_column_bytes(st, 0);
		desc = (const char *)sqlite3_column_text(st, 1);
		if ((out->document = malloc(out->len + 1)) == NULL) {
			av_fail(e, AV_E_INTERNAL, "out of memory");
			break;
		}
		memcpy(out->document, doc, out->len);
		out->document[out->len] = '\0';
		snprintf(out->description, sizeof(out->description), "%s",
		    desc != NULL ? desc : "");
		out->created = sqlite3_column_int64(st, 2);
		out->updated = sqlite3_column_int64(st, 3);
		rc = 0;
		break;
	case SQLITE_DONE:
		av_fail(e, AV_E_NOT_FOUND, "no policy named %s", name);
		break;
	default:
		av_fail(e, AV_E_INTERNAL, "database: %s", sqlite3_errmsg(s->db));
	}
	store_release(s, st);
done:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int
update_locked(struct store *s, const char *name, const char *doc, size_t len,
    const char *description, struct av_err *e)
{
	sqlite3_stmt *st;
	int exists;

	if ((exists = policy_exists(s, name, e)) != 1)
		return exists < 0 ? -1 : av_fail(e, AV_E_NOT_FOUND,
		    "no policy named %s", name);
	if ((st = store_prepare2(s, "UPDATE policies SET document = ?2, description "
	    "= coalesce(?3, description), updated = ?4 WHERE name = ?1;",
	    name, NULL, e)) == NULL)
		return -1;
	sqlite3_bind_text(st, 2, doc, (int)len, SQLITE_STATIC);
	if (description != NULL)
		sqlite3_bind_text(st, 3, description, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)time(NULL));
	return store_step_done(s, st, e);
}

int
store_policy_update(struct store *s, const char *name, const char *doc,
    size_t len, const char *description, struct av_err *e)
{
	int rc;

	IN_TRANSACTION(s, e, rc, update_locked(s, name, doc, len, description,
	    e));
	return rc;
}

static int
delete_locked(struct store *s, const char *name, struct av_err *e)
{
	sqlite3_stmt *st;
	int exists, rc;

	if ((exists = policy_exists(s, name, e)) != 1)
		return exists < 0 ? -1 : av_fail(e, AV_E_NOT_FOUND,
		    "no policy named %s", name);
	if ((st = store_prepare2(s, "SELECT principal FROM policy_attachments WHERE "
	    "policy = ?1 ORDER BY principal LIMIT 1;", name, NULL, e)) == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		av_fail(e, AV_E_CONFLICT, "policy %s is attached to principal "
		    "%.64s: detach it first", name,
		    (const char *)sqlite3_column_text(st, 0));
	else if (rc != SQLITE_DONE)
		av_fail(e, AV_E_INTERNAL, "database: %s", sqlite3_errmsg(s->db));
	store_release(s, st);
	if (rc != SQLITE_DONE)
		return -1;
	if ((st = store_prepare2(s, "DELETE FROM policies WHERE name = ?1;", name,
	    NULL, e)) == NULL)
		return -1;
	return store_step_done(s, st, e);
}

int
store_policy_delete(struct store *s, const char *name, struct av_err *e)
{
	int rc;

	IN_TRANSACTION(s, e, rc, delete_locked(s, name, e));
	return rc;
}

/* With the lock held: append column 0 of every row of st to out. */
static int
strings(struct store *s, sqlite3_stmt *st, json_t *out, struct av_err *e)
{
	int rc;

	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(out, json_string(
		    (const char *)sqlite3_column_text(st, 0)));
	if (rc != SQLITE_DONE)
		av_fail(e, AV_E_INTERNAL, "database: %s", sqlite3_errmsg(s->db));
	store_release(s, st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
store_policy_names(struct store *s, json_t *names, struct av_err *e)
{
	int rc;

	pthread_mutex_lock(&s->lock);
	rc = strings(s, store_prepare(s, "SELECT name FROM policies ORDER BY "
	    "name;", e), names, e);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int
attach_locked(struct store *s, const char *principal, const char *policy,
    bool stored, unsigned max, struct av_err *e)
{
	sqlite3_stmt *st;
	int64_t n;
	int exists;

	if (stored && (exists = policy_exists(s, policy, e)) != 1)
		return exists < 0 ? -1 : av_fail(e, AV_E_NOT_FOUND,
		    "no policy named %s", policy);
	if ((n = count(s, store_prepare2(s, "SELECT count(*) FROM "
	    "policy_attachments WHERE principal = ?1 AND policy = ?2;",
	    principal, policy, e), e)) != 0)
		return n < 0 ? -1 : av_fail(e, AV_E_CONFLICT, "policy %s is "
		    "already attached to principal %s", policy, principal);
	if ((n = count(s, store_prepare2(s, "SELECT count(*) FROM "
	    "policy_attachments WHERE principal = ?1;", principal, NULL, e),
	    e)) < 0)
		return -1;
	if (n >= (int64_t)max)
		return av_fail(e, AV_E_QUOTA, "principal %s has %u policies "
		    "attached through the API, the most it may", principal, max);
	if ((st = store_prepare2(s, "INSERT INTO policy_attachments (principal, "
	    "policy, created) VALUES (?1, ?2, ?3);", principal, policy, e)) ==
	    NULL)
		return -1;
	sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL));
	return store_step_done(s, st, e);
}

int
store_policy_attach(struct store *s, const char *principal,
    const char *policy, bool stored, unsigned max, struct av_err *e)
{
	int rc;

	IN_TRANSACTION(s, e, rc, attach_locked(s, principal, policy, stored,
	    max, e));
	return rc;
}

static int
detach_locked(struct store *s, const char *principal, const char *policy,
    struct av_err *e)
{
	sqlite3_stmt *st;

	if ((st = store_prepare2(s, "DELETE FROM policy_attachments WHERE principal "
	    "= ?1 AND policy = ?2;", principal, policy, e)) == NULL ||
	    store_step_done(s, st, e) != 0)
		return -1;
	if (sqlite3_changes(s->db) == 0)
		return av_fail(e, AV_E_NOT_FOUND, "policy %s is not attached "
		    "to principal %s through the API", policy, principal);
	return 0;
}

int
store_policy_detach(struct store *s, const char *principal,
    const char *policy, struct av_err *e)
{
	int rc;

	IN_TRANSACTION(s, e, rc, detach_locked(s, principal, policy, e));
	return rc;
}

int
store_policy_attached(struct store *s, const char *principal,
    const char *policy, json_t *out, struct av_err *e)
{
	sqlite3_stmt *st;
	int rc;

	pthread_mutex_lock(&s->lock);
	if (principal != NULL)
		st = store_prepare2(s, "SELECT policy FROM policy_attachments WHERE "
		    "principal = ?1 ORDER BY created, rowid;", principal, NULL,
		    e);
	else
		st = store_prepare2(s, "SELECT principal FROM policy_attachments "
		    "WHERE policy = ?1 ORDER BY created, rowid;", policy, NULL,
		    e);
	rc = strings(s, st, out, e);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int
load_locked(struct store *s, struct authz_sources *docs,
    struct store_attachment **att, size_t *n, struct av_err *e)
{
	struct store_attachment *v;
	sqlite3_stmt *st;
	const char *text;
	size_t cap = 0;
	int rc;

	if ((st = store_prepare(s, "SELECT name, document FROM policies "
	    "ORDER BY name;", e)) == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		text = (const char *)sqlite3_column_text(st, 1);
		if (authz_sources_add(docs, (const char *)
		    sqlite3_column_text(st, 0), "api", text,
		    (size_t)sqlite3_column_bytes(st, 1), e) != 0) {
			store_release(s, st);
			return -1;
		}
	}
	if (rc != SQLITE_DONE)
		av_fail(e, AV_E_INTERNAL, "database: %s", sqlite3_errmsg(s->db));
	store_release(s, st);
	if (rc != SQLITE_DONE)
		return -1;
	if ((st = store_prepare(s, "SELECT principal, policy FROM "
	    "policy_attachments ORDER BY created, rowid;", e)) == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap == 0 ? 16 : 2 * cap;
			if ((v = reallocarray(*att, cap, sizeof(*v))) == NULL) {
				av_fail(e, AV_E_INTERNAL, "out of memory");
				break;
			}
			*att = v;
		}
		v = &(*att)[(*n)++];
		snprintf(v->principal, sizeof(v->principal), "%s",
		    (const char *)sqlite3_column_text(st, 0));
		snprintf(v->policy, sizeof(v->policy), "%s",
		    (const char *)sqlite3_column_text(st, 1));
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		av_fail(e, AV_E_INTERNAL, "database: %s", sqlite3_errmsg(s->db));
	store_release(s, st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
store_policy_load(struct store *s, struct authz_sources *docs,
    struct store_attachment **att, size_t *n, struct av_err *e)
{
	int rc;

	*att = NULL;
	*n = 0;
	/* One read transaction: the documents and attachments agree. */
	pthread_mutex_lock(&s->lock);
	if ((rc = store_exec(s, "BEGIN;", e)) == 0) {
		rc = load_locked(s, docs, att, n, e);
		store_exec(s, "COMMIT;", NULL);
	}
	pthread_mutex_unlock(&s->lock);
	if (rc != 0) {
		authz_sources_free(docs);
		free(*att);
		*att = NULL;
		*n = 0;
	}
	return rc;
}
