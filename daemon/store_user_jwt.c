/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_user_jwt.c - the user JWTs kept for on-behalf-of use: a row per
 * (workload, user) with what is not secret (the JWT's SHA-256, issuer,
 * subject's SHA-256, expiry), the JWT itself sealed in `secrets`.
 */
#include <stdio.h>
#include <string.h>

#include "store_internal.h"

#define PURGE_MAX	16	/* expired JWTs erased by one put */
#define ERASE_MAX	1024	/* by one purge */

static void
bind_text(sqlite3_stmt *st, int i, const char *v)
{
	sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

int
store_user_jwt_same(struct store *s, const char *workload, const char *user,
    const char *jwt_hash, int64_t now, struct av_err *e)
{
	sqlite3_stmt *st;
	int rc;

	pthread_mutex_lock(&s->lock);
	if ((st = store_prepare(s, "SELECT 1 FROM user_jwts WHERE workload = "
	    "?1 AND user = ?2 AND jwt_hash = ?3 AND expires_at > ?4;", e)) ==
	    NULL) {
		pthread_mutex_unlock(&s->lock);
		return -1;
	}
	bind_text(st, 1, workload);
	bind_text(st, 2, user);
	bind_text(st, 3, jwt_hash);
	sqlite3_bind_int64(st, 4, now);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		av_fail(e, AV_E_INTERNAL, "database: %s",
		    sqlite3_errmsg(s->db));
	store_release(s, st);
	pthread_mutex_unlock(&s->lock);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/*
 * With the lock held and a transaction open: erase up to max JWTs
 * expired at now, with their secrets and data keys; the data keys to
 * forget after the commit go to deks (*n).
 */
static int
purge_locked(struct store *s, int64_t now, int64_t *deks, size_t max,
    size_t *n, struct av_err *e)
{
	static const char *const sql[] = {
		"DELETE FROM secrets WHERE type = '" STORE_USER_JWT_SECRET "' "
		"AND (owner, name) IN (SELECT workload, user FROM user_jwts "
		"WHERE expires_at <= ?1 ORDER BY expires_at, workload, user "
		"LIMIT ?2);",
		"DELETE FROM deks WHERE id NOT IN (SELECT dek_id FROM "
		"secrets);",
		"DELETE FROM user_jwts WHERE rowid IN (SELECT rowid FROM "
		"user_jwts WHERE expires_at <= ?1 ORDER BY expires_at, "
		"workload, user LIMIT ?2);",
	};
	sqlite3_stmt *st;
	size_t i;

	*n = 0;
	if ((st = store_prepare(s, "SELECT s.dek_id FROM secrets s JOIN "
	    "user_jwts u ON s.type = '" STORE_USER_JWT_SECRET "' AND "
	    "s.owner = u.workload AND s.name = u.user WHERE u.expires_at <= "
	    "?1 ORDER BY u.expires_at, u.workload, u.user LIMIT ?2;", e)) ==
	    NULL)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
	while (sqlite3_step(st) == SQLITE_ROW && *n < max)
		deks[(*n)++] = sqlite3_column_int64(st, 0);
	store_release(s, st);
	for (i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		if ((st = store_prepare(s, sql[i], e)) == NULL)
			return -1;
		if (sqlite3_bind_parameter_count(st) >= 2) {
			sqlite3_bind_int64(st, 1, now);
			sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
		}
		if (store_step_done(s, st, e) != 0)
			return -1;
	}
	return 0;
}

static int
put_locked(struct store *s, struct vault *v, const char *workload,
    const char *user, const char *issuer, const char *subject_hash,
    const char *jwt_hash, const char *jwt, size_t len, int64_t expires_at,
    int64_t now, int64_t *deks, size_t *n, struct av_err *e)
{
	sqlite3_stmt *st;

	if (purge_locked(s, now, deks, PURGE_MAX, n, e) != 0)
		return -1;
	if ((st = store_prepare(s, "INSERT INTO user_jwts (workload, user, "
	    "issuer, subject_hash, jwt_hash, expires_at, updated) VALUES (?1, "
	    "?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (workload, user) DO UPDATE "
	    "SET issuer = excluded.issuer, subject_hash = "
	    "excluded.subject_hash, jwt_hash = excluded.jwt_hash, expires_at "
	    "= excluded.expires_at, updated = excluded.updated;", e)) == NULL)
		return -1;
	bind_text(st, 1, workload);
	bind_text(st, 2, user);
	bind_text(st, 3, issuer);
	bind_text(st, 4, subject_hash);
	bind_text(st, 5, jwt_hash);
	sqlite3_bind_int64(st, 6, expires_at);
	sqlite3_bind_int64(st, 7, now);
	if (store_step_done(s, st, e) != 0)
		return -1;
	return store_secret_put_locked(s, v, STORE_USER_JWT_SECRET, user,
	    workload, (const uint8_t *)jwt, len, e);
}

int
store_user_jwt_put(struct store *s, struct vault *v, const char *workload,
    const char *user, const char *issuer, const char *subject_hash,
    const char *jwt_hash, const char *jwt, size_t len, int64_t expires_at,
    int64_t now, struct av_err *e)
{
	int64_t deks[PURGE_MAX];
	size_t n = 0, i;
	int rc;

	if (len == 0 || len > VAULT_SECRET_MAX || strlen(subject_hash) != 64 ||
	    strlen(jwt_hash) != 64)
		return av_fail(e, AV_E_VALIDATION, "invalid user JWT");
	IN_TRANSACTION(s, e, rc, put_locked(s, v, workload, user, issuer,
	    subject_hash, jwt_hash, jwt, len, expires_at, now, deks, &n, e));
	if (rc == 0)
		for (i = 0; i < n; i++)
			vault_dek_forget(v, deks[i]);
	return rc;
}

int
store_user_jwt_info(struct store *s, const char *workload, const char *user,
    char *issuer, size_t len, int64_t *expires_at, struct av_err *e)
{
	sqlite3_stmt *st;
	int rc;

	pthread_mutex_lock(&s->lock);
	if ((st = store_prepare(s, "SELECT issuer, expires_at FROM user_jwts "
	    "WHERE workload = ?1 AND user = ?2;", e)) == NULL) {
		pthread_mutex_unlock(&s->lock);
		return -1;
	}
	bind_text(st, 1, workload);
	bind_text(st, 2, user);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(issuer, len, "%s",
		    (const char *)sqlite3_column_text(st, 0));
		*expires_at = sqlite3_column_int64(st, 1);
	} else if (rc != SQLITE_DONE) {
		av_fail(e, AV_E_INTERNAL, "database: %s",
		    sqlite3_errmsg(s->db));
	}
	store_release(s, st);
	pthread_mutex_unlock(&s->lock);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int
store_user_jwt_purge(struct store *s, struct vault *v, int64_t now,
    struct av_err *e)
{
	static __thread int64_t deks[ERASE_MAX];
	size_t n = 0, i;
	int rc;

	IN_TRANSACTION(s, e, rc, purge_locked(s, now, deks, ERASE_MAX, &n, e));
	if (rc == 0)
		for (i = 0; i < n; i++)
			vault_dek_forget(v, deks[i]);
	return rc;
}
