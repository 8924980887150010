/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_provider.c - credential providers and their sealed secrets.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_internal.h"

/* 1 exists, 0 not, -1 error; the times and configuration when asked
 * for (*config malloc'd). */
static int
provider_row(struct store *s, const char *kind, const char *name,
    int64_t *created, int64_t *updated, char **config, struct av_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = store_prepare2(s, "SELECT created, updated, config FROM "
	    "credential_providers WHERE kind = ?1 AND name = ?2;", kind, name,
	    e)) == NULL)
		return -1;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (created != NULL)
			*created = sqlite3_column_int64(st, 0);
		if (updated != NULL)
			*updated = sqlite3_column_int64(st, 1);
		if (config != NULL && (*config = strdup((const char *)
		    sqlite3_column_text(st, 2))) == NULL)
			rc = SQLITE_NOMEM;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		av_fail(e, AV_E_INTERNAL, "database: %s", sqlite3_errmsg(s->db));
	store_release(s, st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static int
create_locked(struct store *s, struct vault *v, const char *kind,
    const char *name, const char *arn, const char *config,
    const uint8_t *secret, size_t len, json_t *tags, unsigned quota,
    struct av_err *e)
{
	sqlite3_stmt *st;
	const char *key;
	json_t *t;
	int64_t n = -1;
	int exists;

	if ((exists = provider_row(s, kind, name, NULL, NULL, NULL, e)) != 0)
		return exists < 0 ? -1 : av_fail(e, AV_E_CONFLICT,
		    "a credential provider named %s already exists", name);
	if ((st = store_prepare2(s, "SELECT count(*) FROM credential_providers "
	    "WHERE kind = ?1;", kind, NULL, e)) == NULL)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	store_release(s, st);
	if (n < 0)
		return av_fail(e, AV_E_INTERNAL, "database: count failed");
	if (n >= (int64_t)quota)
		return av_fail(e, AV_E_QUOTA, "the quota of %u %s credential "
		    "providers is reached", quota, kind);
	if ((st = store_prepare2(s, "INSERT INTO credential_providers (kind, name, "
	    "created, updated, config) VALUES (?1, ?2, ?3, ?3, ?4);", kind,
	    name, e)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL));
	sqlite3_bind_text(st, 4, config != NULL ? config : "{}", -1,
	    SQLITE_STATIC);
	if (store_step_done(s, st, e) != 0)
		return -1;
	if ((st = store_prepare2(s, "DELETE FROM tags WHERE resource = ?1;", arn,
	    NULL, e)) == NULL || store_step_done(s, st, e) != 0)
		return -1;
	json_object_foreach(tags, key, t) {
		if ((st = store_prepare2(s, "INSERT INTO tags (resource, key, value) "
		    "VALUES (?1, ?2, ?3);", arn, key, e)) == NULL)
			return -1;
		sqlite3_bind_text(st, 3, json_string_value(t), -1,
		    SQLITE_STATIC);
		if (store_step_done(s, st, e) != 0)
			return -1;
	}
	/* No secret: the client authenticates otherwise (private_key_jwt). */
	return secret == NULL ? 0 : store_secret_put_locked(s, v, kind, name,
	    "", secret, len, e);
}

int
store_provider_create(struct store *s, struct vault *v, const char *kind,
    const char *name, const char *arn, const char *config,
    const uint8_t *secret, size_t len, json_t *tags, unsigned quota,
    struct av_err *e)
{
	int rc;

	IN_TRANSACTION(s, e, rc, create_locked(s, v, kind, name, arn, config,
	    secret, len, tags, quota, e));
	return rc;
}

int
store_provider_get(struct store *s, const char *kind, const char *name,
    int64_t *created, int64_t *updated, char **config, struct av_err *e)
{
	int rc;

	pthread_mutex_lock(&s->lock);
	rc = provider_row(s, kind, name, created, updated, config, e);
	pthread_mutex_unlock(&s->lock);
	if (rc == 0)
		return av_fail(e, AV_E_NOT_FOUND, "no credential provider "
		    "named %s", name);
	return rc == 1 ? 0 : -1;
}

#define ERASE_MAX	1024	/* data keys forgotten after one erase */

static int
update_locked(struct store *s, struct vault *v, const char *kind,
    const char *name, const char *config, const uint8_t *secret, size_t len,
    int64_t *deks, size_t *ndeks, struct av_err *e)
{
	sqlite3_stmt *st;
	char *old = NULL;
	bool changed;
	int exists;

	if ((exists = provider_row(s, kind, name, NULL, NULL, &old, e)) != 1)
		return exists < 0 ? -1 : av_fail(e, AV_E_NOT_FOUND,
		    "no credential provider named %s", name);
	/* Tokens were issued to the old client or endpoints: erased. */
	changed = secret != NULL || (config != NULL && strcmp(config, old) != 0);
	free(old);
	if (changed && strcmp(kind, "oauth2") == 0 &&
	    store_oauth_erase_provider_locked(s, name, deks, ERASE_MAX, ndeks,
	    e) != 0)
		return -1;
	if ((st = store_prepare2(s, "UPDATE credential_providers SET updated = "
	    "?3, config = coalesce(?4, config) WHERE kind = ?1 AND name = ?2;",
	    kind, name, e)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL));
	if (config != NULL)
		sqlite3_bind_text(st, 4, config, -1, SQLITE_STATIC);
	if (store_step_done(s, st, e) != 0)
		return -1;
	return secret == NULL ? 0 :
	    store_secret_put_locked(s, v, kind, name, "", secret, len, e);
}

int
store_provider_update(struct store *s, struct vault *v, const char *kind,
    const char *name, const char *config, const uint8_t *secret, size_t len,
    struct av_err *e)
{
	static __thread int64_t deks[ERASE_MAX];
	size_t n = 0, i;
	int rc;

	IN_TRANSACTION(s, e, rc, update_locked(s, v, kind, name, config,
	    secret, len, deks, &n, e));
	if (rc == 0)
		for (i = 0; i < n; i++)
			vault_dek_forget(v, deks[i]);
	return rc;
}

static int
delete_locked(struct store *s, const char *kind, const char *name,
    const char *arn, int64_t *dek, int64_t *deks, size_t *ndeks,
    struct av_err *e)
{
	sqlite3_stmt *st;
	int exists;

	if ((exists = provider_row(s, kind, name, NULL, NULL, NULL, e)) != 1)
		return exists < 0 ? -1 : av_fail(e, AV_E_NOT_FOUND,
		    "no credential provider named %s", name);
	/* An OAuth2 provider's tokens and sessions (and what they sealed)
	 * go with it. */
	if (strcmp(kind, "oauth2") == 0 &&
	    (store_oauth_erase_provider_locked(s, name, deks, ERASE_MAX, ndeks,
	    e) != 0 || store_session_erase_provider_locked(s, name, deks,
	    ndeks, ERASE_MAX, e) != 0))
		return -1;
	if ((st = store_prepare2(s, "SELECT dek_id FROM secrets WHERE type = ?1 AND "
	    "name = ?2 AND owner = '';", kind, name, e)) == NULL)
		return -1;
	*dek = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	store_release(s, st);
	/* Crypto-erase: the secret and its data key go in one transaction. */
	if ((st = store_prepare2(s, "DELETE FROM secrets WHERE type = ?1 AND "
	    "name = ?2 AND owner = '';", kind, name, e)) == NULL ||
	    store_step_done(s, st, e) != 0)
		return -1;
	if ((st = store_prepare(s, "DELETE FROM deks WHERE id = ?1;", e)) ==
	    NULL)
		return -1;
	sqlite3_bind_int64(st, 1, *dek);
	if (store_step_done(s, st, e) != 0)
		return -1;
	if ((st = store_prepare2(s, "DELETE FROM tags WHERE resource = ?1;", arn,
	    NULL, e)) == NULL || store_step_done(s, st, e) != 0)
		return -1;
	if ((st = store_prepare2(s, "DELETE FROM credential_providers WHERE kind = "
	    "?1 AND name = ?2;", kind, name, e)) == NULL)
		return -1;
	return store_step_done(s, st, e);
}

int
store_provider_delete(struct store *s, struct vault *v, const char *kind,
    const char *name, const char *arn, struct av_err *e)
{
	static __thread int64_t deks[ERASE_MAX];
	int64_t dek = 0;
	size_t n = 0, i;
	int rc;

	IN_TRANSACTION(s, e, rc, delete_locked(s, kind, name, arn, &dek, deks,
	    &n, e));
	if (rc == 0 && dek != 0)
		vault_dek_forget(v, dek);
	if (rc == 0)
		for (i = 0; i < n; i++)
			vault_dek_forget(v, deks[i]);
	return rc;
}

int
store_provider_list(struct store *s, const char *kind, const char *after,
    unsigned max, json_t *names, bool *more, struct av_err *e)
{
	sqlite3_stmt *st;
	int rc = -1;

	*more = false;
	pthread_mutex_lock(&s->lock);
	if ((st = store_prepare2(s, "SELECT name FROM credential_providers WHERE "
	    "kind = ?1 AND name > ?2 ORDER BY name LIMIT ?3;", kind, after,
	    e)) != NULL)
		rc = store_names_page(s, st, 3, max, names, NULL, more, e);
	pthread_mutex_unlock(&s->lock);
	return rc;
}
