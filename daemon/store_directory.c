/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_directory.c - workload identities, their return URLs and tags.
 *
 * Callers validate names, URLs and tags (op_directory.c); this file keeps
 * them consistent: every change is one transaction, durable on return.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_internal.h"

static void
bind_text(sqlite3_stmt *st, int i, const char *v)
{
	sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

/* With the lock held and a transaction open. */
static int
write_urls(struct store *s, const char *name, json_t *urls, struct av_err *e)
{
	sqlite3_stmt *st;
	json_t *u;
	size_t i;

	if ((st = store_prepare(s, "DELETE FROM return_urls WHERE identity = "
	    "?1;", e)) == NULL)
		return -1;
	bind_text(st, 1, name);
	if (store_step_done(s, st, e) != 0)
		return -1;
	json_array_foreach(urls, i, u) {
		if ((st = store_prepare(s, "INSERT INTO return_urls (identity, "
		    "position, url) VALUES (?1, ?2, ?3);", e)) == NULL)
			return -1;
		bind_text(st, 1, name);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
		bind_text(st, 3, json_string_value(u));
		if (store_step_done(s, st, e) != 0)
			return -1;
	}
	return 0;
}

static int
write_tags(struct store *s, const char *arn, json_t *tags, struct av_err *e)
{
	sqlite3_stmt *st;
	const char *key;
	json_t *v;

	json_object_foreach(tags, key, v) {
		if ((st = store_prepare(s, "INSERT OR REPLACE INTO tags "
		    "(resource, key, value) VALUES (?1, ?2, ?3);", e)) == NULL)
			return -1;
		bind_text(st, 1, arn);
		bind_text(st, 2, key);
		bind_text(st, 3, json_string_value(v));
		if (store_step_done(s, st, e) != 0)
			return -1;
	}
	return 0;
}

/* 1 when the identity exists (its row, without return URLs, in *out if
 * asked), 0 when not, -1 on error. */
static int
wi_exists(struct store *s, const char *name, struct wi_record *out,
    struct av_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = store_prepare(s, "SELECT managed_by, created, updated FROM "
	    "workload_identities WHERE name = ?1;", e)) == NULL)
		return -1;
	bind_text(st, 1, name);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && out != NULL) {
		memset(out, 0, sizeof(*out));
		snprintf(out->name, sizeof(out->name), "%s", name);
		snprintf(out->managed_by, sizeof(out->managed_by), "%s",
		    (const char *)sqlite3_column_text(st, 0));
		out->created = sqlite3_column_int64(st, 1);
		out->updated = sqlite3_column_int64(st, 2);
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		av_fail(e, AV_E_INTERNAL, "database: %s", sqlite3_errmsg(s->db));
	store_release(s, st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* A service acts only on the identities it manages; NULL: anyone. */
static int
check_manager(const char *name, const char *have, const char *want,
    struct av_err *e)
{
	if (want == NULL || strcmp(have, want) == 0)
		return 0;
	return av_fail(e, AV_E_ACCESS_DENIED, "the workload identity %s is "
	    "not managed by the caller", name);
}

/* With the lock held: the identity exists and managed_by may act on it. */
static int
wi_check(struct store *s, const char *name, const char *managed_by,
    struct av_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = store_prepare(s, "SELECT managed_by FROM workload_identities "
	    "WHERE name = ?1;", e)) == NULL)
		return -1;
	bind_text(st, 1, name);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		rc = check_manager(name, (const char *)sqlite3_column_text(st,
		    0), managed_by, e);
	else if (rc == SQLITE_DONE)
		rc = av_fail(e, AV_E_NOT_FOUND, "no workload identity named %s",
		    name);
	else
		rc = av_fail(e, AV_E_INTERNAL, "database: %s",
		    sqlite3_errmsg(s->db));
	store_release(s, st);
	return rc;
}

static int64_t
wi_count(struct store *s, struct av_err *e)
{
	sqlite3_stmt *st;
	int64_t n = -1;

	if ((st = store_prepare(s, "SELECT count(*) FROM workload_identities;",
	    e)) == NULL)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	store_release(s, st);
	return n;
}

/* With the lock held and a transaction open: the authorizer (NULL: none). */
static int
write_authorizer(struct store *s, const char *name, json_t *authorizer,
    struct av_err *e)
{
	sqlite3_stmt *st;
	char *text = NULL;
	int rc;

	if (authorizer != NULL && (text = json_dumps(authorizer,
	    JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	if ((st = store_prepare(s, "UPDATE workload_identities SET authorizer "
	    "= ?2 WHERE name = ?1;", e)) == NULL) {
		free(text);
		return -1;
	}
	bind_text(st, 1, name);
	if (text != NULL)
		sqlite3_bind_text(st, 2, text, -1, SQLITE_TRANSIENT);
	rc = store_step_done(s, st, e);
	free(text);
	return rc;
}

static int
create_locked(struct store *s, const char *name, const char *managed_by,
    const char *arn, json_t *urls, json_t *authorizer, json_t *tags,
    unsigned quota, struct av_err *e)
{
	sqlite3_stmt *st;
	int64_t now = (int64_t)time(NULL), n;
	int exists;

	if ((exists = wi_exists(s, name, NULL, e)) != 0)
		return exists < 0 ? -1 : av_fail(e, AV_E_CONFLICT,
		    "a workload identity named %s already exists", name);
	if ((n = wi_count(s, e)) < 0)
		return -1;
	if (n >= (int64_t)quota)
		return av_fail(e, AV_E_QUOTA, "the quota of %u workload "
		    "identities is reached", quota);
	if ((st = store_prepare(s, "INSERT INTO workload_identities (name, "
	    "managed_by, created, updated) VALUES (?1, ?2, ?3, ?3);", e)) ==
	    NULL)
		return -1;
	bind_text(st, 1, name);
	bind_text(st, 2, managed_by);
	sqlite3_bind_int64(st, 3, now);
	if (store_step_done(s, st, e) != 0)
		return -1;
	/* Tags of an earlier identity of the same name do not carry over. */
	if ((st = store_prepare(s, "DELETE FROM tags WHERE resource = ?1;",
	    e)) == NULL)
		return -1;
	bind_text(st, 1, arn);
	if (store_step_done(s, st, e) != 0)
		return -1;
	return write_urls(s, name, urls, e) != 0 ||
	    write_authorizer(s, name, authorizer, e) != 0 ? -1 :
	    write_tags(s, arn, tags, e);
}

int
store_wi_lookup(struct store *s, const char *name, struct wi_record *out,
    struct av_err *e)
{
	int rc;

	pthread_mutex_lock(&s->lock);
	rc = wi_exists(s, name, out, e);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int
store_wi_create(struct store *s, const char *name, const char *managed_by,
    const char *arn, json_t *urls, json_t *authorizer, json_t *tags,
    unsigned quota, struct av_err *e)
{
	int rc;

	IN_TRANSACTION(s, e, rc, create_locked(s, name, managed_by, arn, urls,
	    authorizer, tags, quota, e));
	return rc;
}

int
store_wi_get(struct store *s, const char *name, const char *managed_by,
    struct wi_record *out, struct av_err *e)
{
	sqlite3_stmt *st = NULL;
	int found, rc = -1;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->lock);
	if ((found = wi_exists(s, name, out, e)) != 1) {
		if (found == 0)
			av_fail(e, AV_E_NOT_FOUND, "no workload identity named "
			    "%s", name);
		goto done;
	}
	if (check_manager(name, out->managed_by, managed_by, e) != 0)
		goto done;
	if ((st = store_prepare(s, "SELECT url FROM return_urls WHERE "
	    "identity = ?1 ORDER BY position;", e)) == NULL)
		goto done;
	bind_text(st, 1, name);
	out->urls = json_array();
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(out->urls, json_string(
		    (const char *)sqlite3_column_text(st, 0)));
	store_release(s, st);
	if ((st = store_prepare(s, "SELECT authorizer FROM workload_identities "
	    "WHERE name = ?1 AND authorizer IS NOT NULL;", e)) == NULL)
		goto done;
	bind_text(st, 1, name);
	if (sqlite3_step(st) == SQLITE_ROW && (out->authorizer = json_loads(
	    (const char *)sqlite3_column_text(st, 0), 0, NULL)) == NULL) {
		av_fail(e, AV_E_INTERNAL, "the stored authorizer of %s is "
		    "damaged", name);
		json_decref(out->urls);
		out->urls = NULL;
		goto done;
	}
	rc = 0;
done:
	store_release(s, st);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int
update_locked(struct store *s, const char *name, const char *managed_by,
    json_t *urls, json_t *authorizer, struct av_err *e)
{
	sqlite3_stmt *st;

	if (wi_check(s, name, managed_by, e) != 0)
		return -1;
	if ((st = store_prepare(s, "UPDATE workload_identities SET updated = "
	    "?2 WHERE name = ?1;", e)) == NULL)
		return -1;
	bind_text(st, 1, name);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
	if (store_step_done(s, st, e) != 0)
		return -1;
	return write_urls(s, name, urls, e) != 0 ? -1 :
	    write_authorizer(s, name, authorizer, e);
}

int
store_wi_update(struct store *s, const char *name, const char *managed_by,
    json_t *urls, json_t *authorizer, struct av_err *e)
{
	int rc;

	IN_TRANSACTION(s, e, rc, update_locked(s, name, managed_by, urls,
	    authorizer, e));
	return rc;
}

#define ERASE_MAX 1024	/* data keys forgotten after one delete */

static int
delete_locked(struct store *s, const char *name, const char *managed_by,
    const char *arn, int64_t *deks, size_t *ndeks, struct av_err *e)
{
	static const char *const sql[] = {
		"DELETE FROM tags WHERE resource = ?2;",
		/* Crypto-erase: the data keys of the secrets it owns. */
		"DELETE FROM secrets WHERE owner = ?1;",
		"DELETE FROM deks WHERE id NOT IN (SELECT dek_id FROM secrets);",
		"DELETE FROM oauth_tokens WHERE workload = ?1;",
		/* Its OAuth2 sessions (their secrets went above). */
		"DELETE FROM oauth_sessions WHERE workload = ?1;",
		/* Its kept user JWTs (their secrets went above). */
		"DELETE FROM user_jwts WHERE workload = ?1;",
		"DELETE FROM workload_identities WHERE name = ?1;",
	};
	sqlite3_stmt *st;
	size_t i;

	if (wi_check(s, name, managed_by, e) != 0)
		return -1;
	if ((st = store_prepare(s, "SELECT dek_id FROM secrets WHERE owner = "
	    "?1;", e)) == NULL)
		return -1;
	bind_text(st, 1, name);
	*ndeks = 0;
	while (sqlite3_step(st) == SQLITE_ROW && *ndeks < ERASE_MAX)
		deks[(*ndeks)++] = sqlite3_column_int64(st, 0);
	store_release(s, st);
	for (i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		if ((st = store_prepare(s, sql[i], e)) == NULL)
			return -1;
		if (sqlite3_bind_parameter_count(st) >= 1)
			bind_text(st, 1, name);
		if (sqlite3_bind_parameter_count(st) >= 2)
			bind_text(st, 2, arn);
		if (store_step_done(s, st, e) != 0)
			return -1;
	}
	return 0;
}

int
store_wi_delete(struct store *s, struct vault *v, const char *name,
    const char *managed_by, const char *arn, struct av_err *e)
{
	static __thread int64_t deks[ERASE_MAX];
	size_t ndeks = 0, i;
	int rc;

	IN_TRANSACTION(s, e, rc, delete_locked(s, name, managed_by, arn, deks,
	    &ndeks, e));
	if (rc == 0)
		for (i = 0; i < ndeks; i++)
			vault_dek_forget(v, deks[i]);
	return rc;
}

int
store_wi_list(struct store *s, const char *managed_by, const char *after,
    unsigned max, json_t *names, json_t *managers, bool *more,
    struct av_err *e)
{
	sqlite3_stmt *st;
	int rc = -1;

	*more = false;
	pthread_mutex_lock(&s->lock);
	if ((st = store_prepare(s, "SELECT name, managed_by FROM "
	    "workload_identities WHERE name > ?1 AND (?3 IS NULL OR "
	    "managed_by = ?3) ORDER BY name LIMIT ?2;", e)) != NULL) {
		bind_text(st, 1, after);
		bind_text(st, 3, managed_by);
		rc = store_names_page(s, st, 2, max, names, managers, more, e);
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}
