/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_tags.c - the tags of a resource, kept by its ARN.
 *
 * Each call is one transaction that first checks the resource exists, so
 * a tag never outlives its resource: the deletes of identities and
 * providers remove their tags in their own transactions.
 */
#include "store_internal.h"

static void
bind_text(sqlite3_stmt *st, int i, const char *v)
{
	sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

/* With the lock held: 0 when the resource exists, -1 otherwise. */
static int
resource_exists(struct store *s, const struct store_resource *r,
    struct av_err *e)
{
	sqlite3_stmt *st;
	int rc;

	switch (r->type) {
	case STORE_RES_SINGLETON:
		return 0;
	case STORE_RES_WI:
		st = store_prepare(s, "SELECT 1 FROM workload_identities WHERE "
		    "name = ?1;", e);
		if (st != NULL)
			bind_text(st, 1, r->name);
		break;
	case STORE_RES_PROVIDER:
		st = store_prepare(s, "SELECT 1 FROM credential_providers WHERE "
		    "kind = ?1 AND name = ?2;", e);
		if (st != NULL) {
			bind_text(st, 1, r->kind);
			bind_text(st, 2, r->name);
		}
		break;
	default:
		return av_fail(e, AV_E_INTERNAL, "unknown resource type");
	}
	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		av_fail(e, AV_E_INTERNAL, "database: %s", sqlite3_errmsg(s->db));
	store_release(s, st);
	if (rc == SQLITE_DONE)
		return av_fail(e, AV_E_NOT_FOUND, "no resource %.200s", r->arn);
	return rc == SQLITE_ROW ? 0 : -1;
}

static int
add_locked(struct store *s, const struct store_resource *r, json_t *tags,
    unsigned max, struct av_err *e)
{
	sqlite3_stmt *st;
	const char *key;
	int64_t n = -1;
	json_t *v;

	if (resource_exists(s, r, e) != 0)
		return -1;
	json_object_foreach(tags, key, v) {
		if ((st = store_prepare(s, "SELECT key FROM tags WHERE "
		    "resource = ?1 AND key = ?2 COLLATE NOCASE AND key != ?2;",
		    e)) == NULL)
			return -1;
		bind_text(st, 1, r->arn);
		bind_text(st, 2, key);
		if (sqlite3_step(st) == SQLITE_ROW) {
			av_fail(e, AV_E_VALIDATION, "tag keys '%.128s' and "
			    "'%.128s' differ only in case (policies compare keys "
			    "ignoring case)", (const char *)
			    sqlite3_column_text(st, 0), key);
			store_release(s, st);
			return -1;
		}
		store_release(s, st);
		if ((st = store_prepare(s, "INSERT OR REPLACE INTO tags "
		    "(resource, key, value) VALUES (?1, ?2, ?3);", e)) == NULL)
			return -1;
		bind_text(st, 1, r->arn);
		bind_text(st, 2, key);
		bind_text(st, 3, json_string_value(v));
		if (store_step_done(s, st, e) != 0)
			return -1;
	}
	/* Counted after the change: overwritten keys do not add up. */
	if ((st = store_prepare(s, "SELECT count(*) FROM tags WHERE resource "
	    "= ?1;", e)) == NULL)
		return -1;
	bind_text(st, 1, r->arn);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	store_release(s, st);
	if (n < 0)
		return av_fail(e, AV_E_INTERNAL, "database: count failed");
	if (n > (int64_t)max)
		return av_fail(e, AV_E_QUOTA, "a resource has at most %u tags; "
		    "this would make %lld", max, (long long)n);
	return 0;
}

int
store_tags_add(struct store *s, const struct store_resource *r, json_t *tags,
    unsigned max, struct av_err *e)
{
	int rc;

	IN_TRANSACTION(s, e, rc, add_locked(s, r, tags, max, e));
	return rc;
}

static int
remove_locked(struct store *s, const struct store_resource *r, json_t *keys,
    struct av_err *e)
{
	sqlite3_stmt *st;
	json_t *k;
	size_t i;

	if (resource_exists(s, r, e) != 0)
		return -1;
	json_array_foreach(keys, i, k) {
		if ((st = store_prepare(s, "DELETE FROM tags WHERE resource = ?1 "
		    "AND key = ?2;", e)) == NULL)
			return -1;
		bind_text(st, 1, r->arn);
		bind_text(st, 2, json_string_value(k));
		if (store_step_done(s, st, e) != 0)
			return -1;
	}
	return 0;
}

int
store_tags_remove(struct store *s, const struct store_resource *r,
    json_t *keys, struct av_err *e)
{
	int rc;

	IN_TRANSACTION(s, e, rc, remove_locked(s, r, keys, e));
	return rc;
}

static int
list_locked(struct store *s, const struct store_resource *r, json_t *out,
    struct av_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if (resource_exists(s, r, e) != 0)
		return -1;
	if ((st = store_prepare(s, "SELECT key, value FROM tags WHERE "
	    "resource = ?1 ORDER BY key;", e)) == NULL)
		return -1;
	bind_text(st, 1, r->arn);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_object_set_new(out, (const char *)sqlite3_column_text(st,
		    0), json_string((const char *)sqlite3_column_text(st, 1)));
	if (rc != SQLITE_DONE)
		av_fail(e, AV_E_INTERNAL, "database: %s", sqlite3_errmsg(s->db));
	store_release(s, st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
store_tags_list(struct store *s, const struct store_resource *r, json_t *out,
    struct av_err *e)
{
	int rc;

	IN_TRANSACTION(s, e, rc, list_locked(s, r, out, e));
	return rc;
}

int
store_tags_read(struct store *s, const char *arn, json_t *out,
    struct av_err *e)
{
	sqlite3_stmt *st;
	int rc = SQLITE_ERROR;

	pthread_mutex_lock(&s->lock);
	if ((st = store_prepare(s, "SELECT key, value FROM tags WHERE "
	    "resource = ?1 ORDER BY key;", e)) != NULL) {
		bind_text(st, 1, arn);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			json_object_set_new(out, (const char *)
			    sqlite3_column_text(st, 0), json_string((const char *)
			    sqlite3_column_text(st, 1)));
		if (rc != SQLITE_DONE)
			av_fail(e, AV_E_INTERNAL, "database: %s",
			    sqlite3_errmsg(s->db));
		store_release(s, st);
	}
	pthread_mutex_unlock(&s->lock);
	return rc == SQLITE_DONE ? 0 : -1;
}

uint64_t
store_generation(struct store *s)
{
	return __atomic_load_n(&s->generation, __ATOMIC_ACQUIRE);
}
