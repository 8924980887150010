/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_oauth.c - OAuth2 tokens: a row per (workload, user, provider,
 * scope key) with what is not secret, and the access and refresh tokens
 * sealed together as one secret (STORE_OAUTH_KIND, the row's id, the
 * workload): a 4-byte big-endian length of the access token, the access
 * token, then the refresh token (if any).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "store_internal.h"

#define ERASE_MAX	1024	/* data keys forgotten after one erase */
#define SEALED_MAX	VAULT_SECRET_MAX

void
store_oauth_token_clear(struct store_oauth_token *t)
{
	/* Both malloc'd: OpenSSL's allocator is the default (malloc). */
	OPENSSL_clear_free(t->access, t->access_len);
	OPENSSL_clear_free(t->refresh, t->refresh_len);
	free(t->scope_key);
	free(t->scopes);
	free(t->extra);
	memset(t, 0, sizeof(*t));
}

static void
bind_key(sqlite3_stmt *st, const struct store_oauth_key *k)
{
	sqlite3_bind_text(st, 1, k->workload, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, k->user, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, k->provider, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, k->scope_key, -1, SQLITE_STATIC);
}

/* The id of key's row: 1 found, 0 not, -1. */
static int
row_id(struct store *s, const struct store_oauth_key *k, int64_t *id,
    struct av_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = store_prepare(s, "SELECT id FROM oauth_tokens WHERE "
	    "workload = ?1 AND user = ?2 AND provider = ?3 AND scope_key = "
	    "?4;", e)) == NULL)
		return -1;
	bind_key(st, k);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		av_fail(e, AV_E_INTERNAL, "database: %s", sqlite3_errmsg(s->db));
	store_release(s, st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static int
put_locked(struct store *s, struct vault *v, const struct store_oauth_key *k,
    const char *scopes, const uint8_t *pt, size_t len, bool has_refresh,
    int64_t expires_at, bool bound, const char *extra, struct av_err *e)
{
	sqlite3_stmt *st;
	char name[24];
	int64_t id;
	int found;

	if ((found = row_id(s, k, &id, e)) < 0)
		return -1;
	if (found == 0) {
		if ((st = store_prepare(s, "INSERT INTO oauth_tokens (workload, "
		    "user, provider, scope_key, scopes, expires_at, has_refresh, "
		    "bound, extra, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
		    "?8, ?9, ?10);", e)) == NULL)
			return -1;
	} else if ((st = store_prepare(s, "UPDATE oauth_tokens SET scopes = "
	    "?5, expires_at = ?6, has_refresh = ?7, bound = ?8, extra = ?9, "
	    "updated = ?10 WHERE workload = ?1 AND user = ?2 AND provider = ?3 "
	    "AND scope_key = ?4;", e)) == NULL)
		return -1;
	bind_key(st, k);
	sqlite3_bind_text(st, 5, scopes, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, expires_at);
	sqlite3_bind_int(st, 7, has_refresh);
	sqlite3_bind_int(st, 8, bound);
	sqlite3_bind_text(st, 9, extra != NULL ? extra : "{}", -1,
	    SQLITE_STATIC);
	sqlite3_bind_int64(st, 10, (sqlite3_int64)time(NULL));
	if (store_step_done(s, st, e) != 0)
		return -1;
	if (found == 0)
		id = sqlite3_last_insert_rowid(s->db);
	snprintf(name, sizeof(name), "%" PRId64, id);
	return store_secret_put_locked(s, v, STORE_OAUTH_KIND, name,
	    k->workload, pt, len, e);
}

int
store_oauth_put(struct store *s, struct vault *v,
    const struct store_oauth_key *k, const char *scopes, const char *access,
    size_t access_len, const char *refresh, size_t refresh_len,
    int64_t expires_at, bool bound, const char *extra, struct av_err *e)
{
	size_t rlen = refresh != NULL ? refresh_len : 0, len;
	uint8_t *pt;
	int rc;

	if (access_len == 0 || access_len > SEALED_MAX ||
	    rlen > SEALED_MAX - 4 - access_len)
		return av_fail(e, AV_E_VALIDATION, "token too large");
	len = 4 + access_len + rlen;
	if ((pt = malloc(len)) == NULL)
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	pt[0] = (uint8_t)(access_len >> 24);
	pt[1] = (uint8_t)(access_len >> 16);
	pt[2] = (uint8_t)(access_len >> 8);
	pt[3] = (uint8_t)access_len;
	memcpy(pt + 4, access, access_len);
	if (rlen > 0)
		memcpy(pt + 4 + access_len, refresh, rlen);
	IN_TRANSACTION(s, e, rc, put_locked(s, v, k, scopes, pt, len,
	    refresh != NULL, expires_at, bound, extra, e));
	OPENSSL_cleanse(pt, len);
	free(pt);
	return rc;
}

static char *
col_dup(sqlite3_stmt *st, int i)
{
	const char *t = (const char *)sqlite3_column_text(st, i);

	return strdup(t != NULL ? t : "");
}

/* Open the sealed tokens of row id into t. */
static int
open_tokens(struct store *s, struct vault *v, const char *workload,
    int64_t id, bool has_refresh, struct store_oauth_token *t,
    struct av_err *e)
{
	uint8_t *pt;
	size_t len = 0, alen;
	char name[24];
	int rc = -1;

	snprintf(name, sizeof(name), "%" PRId64, id);
	if ((pt = malloc(SEALED_MAX)) == NULL)
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	if (store_secret_get(s, v, STORE_OAUTH_KIND, name, workload, pt,
	    SEALED_MAX, &len, e) != 0)
		goto done;
	alen = len < 4 ? 0 : (size_t)pt[0] << 24 | (size_t)pt[1] << 16 |
	    (size_t)pt[2] << 8 | pt[3];
	if (len < 4 || alen == 0 || alen > len - 4 ||
	    (has_refresh && alen == len - 4)) {
		av_fail(e, AV_E_INTERNAL, "a stored token is damaged");
		goto done;
	}
	if ((t->access = malloc(alen + 1)) == NULL)
		goto oom;
	memcpy(t->access, pt + 4, alen);
	t->access[alen] = '\0';
	t->access_len = alen;
	if (has_refresh) {
		t->refresh_len = len - 4 - alen;
		if ((t->refresh = malloc(t->refresh_len + 1)) == NULL)
			goto oom;
		memcpy(t->refresh, pt + 4 + alen, t->refresh_len);
		t->refresh[t->refresh_len] = '\0';
	}
	rc = 0;
	goto done;
oom:
	av_fail(e, AV_E_INTERNAL, "out of memory");
done:
	OPENSSL_cleanse(pt, SEALED_MAX);
	free(pt);
	return rc;
}

/* A token erased between reading its row and opening it is none. */
static int
gone(const struct av_err *e)
{
	return e->type != NULL && strcmp(e->type, AV_E_NOT_FOUND) == 0 ? 0 : -1;
}

/* The columns every read takes, after the id. */
#define COLS	"id, scope_key, scopes, expires_at, has_refresh, bound, extra"

static int
fill_row(sqlite3_stmt *st, struct store_oauth_token *t, int64_t *id,
    bool *has_refresh)
{
	*id = sqlite3_column_int64(st, 0);
	t->scope_key = col_dup(st, 1);
	t->scopes = col_dup(st, 2);
	t->expires_at = sqlite3_column_int64(st, 3);
	*has_refresh = sqlite3_column_int(st, 4) != 0;
	t->bound = sqlite3_column_int(st, 5) != 0;
	t->extra = col_dup(st, 6);
	return t->scope_key != NULL && t->scopes != NULL && t->extra != NULL ?
	    0 : -1;
}

int
store_oauth_get(struct store *s, struct vault *v,
    const struct store_oauth_key *k, struct store_oauth_token *t,
    struct av_err *e)
{
	sqlite3_stmt *st;
	bool has_refresh = false;
	int64_t id = 0;
	int rc;

	memset(t, 0, sizeof(*t));
	pthread_mutex_lock(&s->lock);
	if ((st = store_prepare(s, "SELECT " COLS " FROM oauth_tokens WHERE "
	    "workload = ?1 AND user = ?2 AND provider = ?3 AND scope_key = "
	    "?4;", e)) == NULL) {
		pthread_mutex_unlock(&s->lock);
		return -1;
	}
	bind_key(st, k);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rc = fill_row(st, t, &id, &has_refresh) == 0 ? 1 :
		    av_fail(e, AV_E_INTERNAL, "out of memory");
	else
		rc = rc == SQLITE_DONE ? 0 : av_fail(e, AV_E_INTERNAL,
		    "database: %s", sqlite3_errmsg(s->db));
	store_release(s, st);
	pthread_mutex_unlock(&s->lock);
	if (rc == 1 && open_tokens(s, v, k->workload, id, has_refresh, t,
	    e) != 0)
		rc = gone(e);
	if (rc != 1)
		store_oauth_token_clear(t);
	return rc;
}

/* The word w (n bytes) is one of have's, separated by any of seps. */
static bool
has_word(const char *have, const char *seps, const char *w, size_t n)
{
	const char *h;
	size_t m;

	for (h = have;; h += m) {
		h += strspn(h, seps);
		if ((m = strcspn(h, seps)) == 0)
			return false;
		if (m == n && memcmp(h, w, n) == 0)
			return true;
	}
}

/*
 * Every space-separated word of want is one of have's.  have is the
 * scope as granted: GitHub and Slack separate theirs with commas.
 */
static bool
scopes_cover(const char *have, const char *want)
{
	const char *w = want;
	size_t n;

	while (*w != '\0') {
		while (*w == ' ')
			w++;
		if ((n = strcspn(w, " ")) == 0)
			break;
		if (!has_word(have, " ", w, n) && !has_word(have, ",", w, n))
			return false;
		w += n;
	}
	return true;
}

int
store_oauth_find(struct store *s, struct vault *v, const char *workload,
    const char *user, const char *provider, const char *want,
    bool bound_only, struct store_oauth_token *t, struct av_err *e)
{
	sqlite3_stmt *st;
	bool has_refresh = false;
	int64_t id = 0;
	int rc, found = 0;

	memset(t, 0, sizeof(*t));
	pthread_mutex_lock(&s->lock);
	if ((st = store_prepare(s, "SELECT " COLS " FROM oauth_tokens WHERE "
	    "workload = ?1 AND user = ?2 AND provider = ?3 AND (bound OR NOT "
	    "?4) ORDER BY expires_at DESC, id DESC;", e)) == NULL) {
		pthread_mutex_unlock(&s->lock);
		return -1;
	}
	sqlite3_bind_text(st, 1, workload, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, user, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, provider, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, bound_only);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (scopes_cover((const char *)sqlite3_column_text(st, 2),
		    want)) {
			found = fill_row(st, t, &id, &has_refresh) == 0 ? 1 :
			    av_fail(e, AV_E_INTERNAL, "out of memory");
			break;
		}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		found = av_fail(e, AV_E_INTERNAL, "database: %s",
		    sqlite3_errmsg(s->db));
	store_release(s, st);
	pthread_mutex_unlock(&s->lock);
	if (found == 1 && open_tokens(s, v, workload, id, has_refresh, t,
	    e) != 0)
		found = gone(e);
	if (found != 1)
		store_oauth_token_clear(t);
	return found;
}

static int
bind_locked(struct store *s, const struct store_oauth_key *k,
    struct av_err *e)
{
	sqlite3_stmt *st;

	if ((st = store_prepare(s, "UPDATE oauth_tokens SET bound = 1 WHERE "
	    "workload = ?1 AND user = ?2 AND provider = ?3 AND scope_key = "
	    "?4;", e)) == NULL)
		return -1;
	bind_key(st, k);
	if (store_step_done(s, st, e) != 0)
		return -1;
	return sqlite3_changes(s->db) == 1 ? 0 : av_fail(e, AV_E_NOT_FOUND,
	    "no such token");
}

int
store_oauth_bind(struct store *s, const struct store_oauth_key *k,
    struct av_err *e)
{
	int rc;

	IN_TRANSACTION(s, e, rc, bind_locked(s, k, e));
	return rc;
}

/*
 * Erase rows with their secrets and data keys: sql[0] selects the data
 * keys, sql[1] deletes the secrets, sql[2] the rows, each with its
 * parameters bound by bind(st, arg).  The data keys go one by one (not
 * "every key without a secret": that is not this erase's to decide); up
 * to max of them are left in deks to be forgotten after the commit.
 */
static int
erase_locked(struct store *s, const char *const sql[3],
    void (*bind)(sqlite3_stmt *, const void *), const void *arg,
    int64_t *deks, size_t max, size_t *n, struct av_err *e)
{
	sqlite3_stmt *st;
	int64_t *ids = NULL, *p;
	size_t nids = 0, cap = 0, i;
	int rc = -1;

	*n = 0;
	if ((st = store_prepare(s, sql[0], e)) == NULL)
		return -1;
	bind(st, arg);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (nids == cap) {
			cap = cap == 0 ? 16 : 2 * cap;
			if ((p = realloc(ids, cap * sizeof(*ids))) == NULL) {
				store_release(s, st);
				av_fail(e, AV_E_INTERNAL, "out of memory");
				goto done;
			}
			ids = p;
		}
		ids[nids++] = sqlite3_column_int64(st, 0);
	}
	store_release(s, st);
	for (i = 1; i < 3; i++) {
		if ((st = store_prepare(s, sql[i], e)) == NULL)
			goto done;
		bind(st, arg);
		if (store_step_done(s, st, e) != 0)
			goto done;
	}
	for (i = 0; i < nids; i++) {
		if ((st = store_prepare(s, "DELETE FROM deks WHERE id = ?1;",
		    e)) == NULL)
			goto done;
		sqlite3_bind_int64(st, 1, ids[i]);
		if (store_step_done(s, st, e) != 0)
			goto done;
		if (*n < max)
			deks[(*n)++] = ids[i];
	}
	rc = 0;
done:
	free(ids);
	return rc;
}

static void
bind_provider(sqlite3_stmt *st, const void *arg)
{
	sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
}

static void
bind_one(sqlite3_stmt *st, const void *arg)
{
	bind_key(st, arg);
}

int
store_oauth_erase_provider_locked(struct store *s, const char *provider,
    int64_t *deks, size_t max, size_t *n, struct av_err *e)
{
	static const char *const sql[3] = {
		"SELECT dek_id FROM secrets WHERE type = 'oauth2-token' AND "
		"name IN (SELECT CAST(id AS TEXT) FROM oauth_tokens WHERE "
		"provider = ?1);",
		"DELETE FROM secrets WHERE type = 'oauth2-token' AND name IN "
		"(SELECT CAST(id AS TEXT) FROM oauth_tokens WHERE provider = "
		"?1);",
		"DELETE FROM oauth_tokens WHERE provider = ?1;",
	};

	return erase_locked(s, sql, bind_provider, provider, deks, max, n, e);
}

int
store_oauth_erase_provider(struct store *s, struct vault *v,
    const char *provider, struct av_err *e)
{
	static __thread int64_t deks[ERASE_MAX];
	size_t n = 0, i;
	int rc;

	IN_TRANSACTION(s, e, rc, store_oauth_erase_provider_locked(s,
	    provider, deks, ERASE_MAX, &n, e));
	if (rc == 0)
		for (i = 0; i < n; i++)
			vault_dek_forget(v, deks[i]);
	return rc;
}

int
store_oauth_delete(struct store *s, struct vault *v,
    const struct store_oauth_key *k, struct av_err *e)
{
	static const char *const sql[3] = {
		"SELECT dek_id FROM secrets WHERE type = 'oauth2-token' AND "
		"name IN (SELECT CAST(id AS TEXT) FROM oauth_tokens WHERE "
		"workload = ?1 AND user = ?2 AND provider = ?3 AND scope_key = "
		"?4);",
		"DELETE FROM secrets WHERE type = 'oauth2-token' AND name IN "
		"(SELECT CAST(id AS TEXT) FROM oauth_tokens WHERE workload = ?1 "
		"AND user = ?2 AND provider = ?3 AND scope_key = ?4);",
		"DELETE FROM oauth_tokens WHERE workload = ?1 AND user = ?2 AND "
		"provider = ?3 AND scope_key = ?4;",
	};
	int64_t deks[4];
	size_t n = 0, i;
	int rc;

	IN_TRANSACTION(s, e, rc, erase_locked(s, sql, bind_one, k, deks, 4,
	    &n, e));
	if (rc == 0)
		for (i = 0; i < n; i++)
			vault_dek_forget(v, deks[i]);
	return rc;
}

int64_t
store_oauth_count(struct store *s)
{
	sqlite3_stmt *st;
	int64_t n = -1;

	pthread_mutex_lock(&s->lock);
	if ((st = store_prepare(s, "SELECT count(*) FROM oauth_tokens;",
	    NULL)) != NULL) {
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int64(st, 0);
		store_release(s, st);
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}
