/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_session.c - the three-legged flow's sessions (store.h).  A row
 * holds what is not secret; the PKCE verifier and the authorization URL
 * (which carries the state) are sealed together as the secret
 * (STORE_SESSION_SECRET, uri, workload), so deleting the identity
 * crypto-erases them with its other secrets.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_internal.h"

static const char *const status_names[] = {
	[STORE_SESSION_IN_PROGRESS] = "IN_PROGRESS",
	[STORE_SESSION_EXCHANGING] = "EXCHANGING",
	[STORE_SESSION_CALLED_BACK] = "CALLED_BACK",
	[STORE_SESSION_COMPLETE] = "COMPLETE",
	[STORE_SESSION_FAILED] = "FAILED",
};

static void
bind_text(sqlite3_stmt *st, int i, const char *v)
{
	sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

static void
copy_col(sqlite3_stmt *st, int i, char *out, size_t len)
{
	const char *v = (const char *)sqlite3_column_text(st, i);
	size_t n = v != NULL ? strlen(v) : 0;

	if (n >= len)
		n = len - 1;
	memcpy(out, v != NULL ? v : "", n);
	out[n] = '\0';
}

#define SESSION_COLUMNS "uri, workload, user_id, provider, scopes, " \
	"return_url, custom_state, status, created, expires, error"

/* One row (SESSION_COLUMNS) into out; 0 or -1 when it does not fit. */
static int
read_row(sqlite3_stmt *st, struct store_session *out)
{
	const char *status = (const char *)sqlite3_column_text(st, 7);
	size_t i;

	memset(out, 0, sizeof(*out));
	copy_col(st, 0, out->uri, sizeof(out->uri));
	copy_col(st, 1, out->workload, sizeof(out->workload));
	copy_col(st, 2, out->user, sizeof(out->user));
	copy_col(st, 3, out->provider, sizeof(out->provider));
	copy_col(st, 4, out->scopes, sizeof(out->scopes));
	copy_col(st, 5, out->return_url, sizeof(out->return_url));
	out->has_custom_state = sqlite3_column_type(st, 6) != SQLITE_NULL;
	copy_col(st, 6, out->custom_state, sizeof(out->custom_state));
	out->created = sqlite3_column_int64(st, 8);
	out->expires = sqlite3_column_int64(st, 9);
	copy_col(st, 10, out->error, sizeof(out->error));
	for (i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++)
		if (status != NULL && strcmp(status, status_names[i]) == 0) {
			out->status = (enum store_session_status)i;
			return 0;
		}
	return -1;
}

/*
 * Crypto-erase the sealed secret of session uri (owned by workload), if
 * any: its data key goes with it and is remembered in *dek (else 0).
 * With the lock held and a transaction open.
 */
static int
erase_secret(struct store *s, const char *uri, const char *workload,
    int64_t *dek, struct av_err *e)
{
	sqlite3_stmt *st;
	int rc;

	*dek = 0;
	if ((st = store_prepare(s, "SELECT dek_id FROM secrets WHERE type = ?1 "
	    "AND name = ?2 AND owner = ?3;", e)) == NULL)
		return -1;
	bind_text(st, 1, STORE_SESSION_SECRET);
	bind_text(st, 2, uri);
	bind_text(st, 3, workload);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*dek = sqlite3_column_int64(st, 0);
	store_release(s, st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? 0 : av_fail(e, AV_E_INTERNAL,
		    "database: %s", sqlite3_errmsg(s->db));
	if ((st = store_prepare(s, "DELETE FROM secrets WHERE type = ?1 AND "
	    "name = ?2 AND owner = ?3;", e)) == NULL)
		return -1;
	bind_text(st, 1, STORE_SESSION_SECRET);
	bind_text(st, 2, uri);
	bind_text(st, 3, workload);
	if (store_step_done(s, st, e) != 0 ||
	    (st = store_prepare(s, "DELETE FROM deks WHERE id = ?1;", e)) ==
	    NULL)
		return -1;
	sqlite3_bind_int64(st, 1, *dek);
	return store_step_done(s, st, e);
}

/* Erase the sessions (rows and secrets) that sql (SELECT uri, workload
 * ... with ?1 bound to value, ?2 to num) picks. */
static int
erase_picked(struct store *s, const char *sql, const char *value,
    int64_t num, int64_t *deks, size_t *ndeks, size_t max, struct av_err *e)
{
	char uri[STORE_SESSION_URI_MAX + 1], workload[256];
	sqlite3_stmt *st, *del;
	int64_t dek;
	int rc;

	if ((st = store_prepare(s, sql, e)) == NULL)
		return -1;
	if (value != NULL)
		bind_text(st, 1, value);
	sqlite3_bind_int64(st, 2, num);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		copy_col(st, 0, uri, sizeof(uri));
		copy_col(st, 1, workload, sizeof(workload));
		if (erase_secret(s, uri, workload, &dek, e) != 0 ||
		    (del = store_prepare(s, "DELETE FROM oauth_sessions WHERE "
		    "uri = ?1;", e)) == NULL) {
			store_release(s, st);
			return -1;
		}
		bind_text(del, 1, uri);
		if (store_step_done(s, del, e) != 0) {
			store_release(s, st);
			return -1;
		}
		if (dek != 0 && deks != NULL && *ndeks < max)
			deks[(*ndeks)++] = dek;
	}
	store_release(s, st);
	return rc == SQLITE_DONE ? 0 : av_fail(e, AV_E_INTERNAL,
	    "database: %s", sqlite3_errmsg(s->db));
}

int
store_session_erase_provider_locked(struct store *s, const char *provider,
    int64_t *deks, size_t *ndeks, size_t max, struct av_err *e)
{
	return erase_picked(s, "SELECT uri, workload FROM oauth_sessions WHERE "
	    "provider = ?1 AND ?2 = ?2;", provider, 0, deks, ndeks, max, e);
}

/* Sessions over a day past their expiry are no use to anyone. */
static int
purge_locked(struct store *s, int64_t now, struct av_err *e)
{
	return erase_picked(s, "SELECT uri, workload FROM oauth_sessions WHERE "
	    "?1 IS NULL AND expires < ?2 LIMIT 100;", NULL, now - 86400, NULL,
	    NULL, 0, e);
}

static int
count_locked(struct store *s, const char *workload, int64_t now,
    int64_t *n, struct av_err *e)
{
	sqlite3_stmt *st;

	if ((st = store_prepare(s, "SELECT count(*) FROM oauth_sessions WHERE "
	    "workload = ?1 AND expires >= ?2 AND status IN ('IN_PROGRESS', "
	    "'EXCHANGING', 'CALLED_BACK');", e)) == NULL)
		return -1;
	bind_text(st, 1, workload);
	sqlite3_bind_int64(st, 2, now);
	*n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	store_release(s, st);
	return *n < 0 ? av_fail(e, AV_E_INTERNAL, "database: %s",
	    sqlite3_errmsg(s->db)) : 0;
}

static int
create_locked(struct store *s, struct vault *v, const struct store_session *r,
    const char *state_hash, const uint8_t *secret, size_t len, unsigned max,
    struct av_err *e)
{
	sqlite3_stmt *st;
	int64_t n;

	if (purge_locked(s, r->created, e) != 0 ||
	    count_locked(s, r->workload, r->created, &n, e) != 0)
		return -1;
	if (n >= (int64_t)max)
		return av_fail(e, AV_E_THROTTLING, "%s has %u sessions waiting "
		    "for users already", r->workload, max);
	if ((st = store_prepare(s, "INSERT INTO oauth_sessions (uri, "
	    "state_hash, workload, user_id, provider, scopes, return_url, "
	    "custom_state, status, created, expires, error) VALUES (?1, ?2, "
	    "?3, ?4, ?5, ?6, ?7, ?8, 'IN_PROGRESS', ?9, ?10, '');", e)) ==
	    NULL)
		return -1;
	bind_text(st, 1, r->uri);
	bind_text(st, 2, state_hash);
	bind_text(st, 3, r->workload);
	bind_text(st, 4, r->user);
	bind_text(st, 5, r->provider);
	bind_text(st, 6, r->scopes);
	bind_text(st, 7, r->return_url);
	if (r->has_custom_state)
		bind_text(st, 8, r->custom_state);
	sqlite3_bind_int64(st, 9, r->created);
	sqlite3_bind_int64(st, 10, r->expires);
	if (store_step_done(s, st, e) != 0)
		return -1;
	return store_secret_put_locked(s, v, STORE_SESSION_SECRET, r->uri,
	    r->workload, secret, len, e);
}

int
store_session_create(struct store *s, struct vault *v,
    const struct store_session *r, const char *state_hash,
    const uint8_t *secret, size_t len, unsigned max, struct av_err *e)
{
	int rc;

	if (len > VAULT_SECRET_MAX)
		return av_fail(e, AV_E_VALIDATION, "session too large");
	IN_TRANSACTION(s, e, rc, create_locked(s, v, r, state_hash, secret,
	    len, max, e));
	return rc;
}

int
store_session_get(struct store *s, const char *uri, struct store_session *out,
    struct av_err *e)
{
	sqlite3_stmt *st;
	int rc;

	pthread_mutex_lock(&s->lock);
	if ((st = store_prepare(s, "SELECT " SESSION_COLUMNS " FROM "
	    "oauth_sessions WHERE uri = ?1;", e)) == NULL) {
		pthread_mutex_unlock(&s->lock);
		return -1;
	}
	bind_text(st, 1, uri);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rc = read_row(st, out) == 0 ? 1 : av_fail(e, AV_E_INTERNAL,
		    "database: bad session row");
	else
		rc = rc == SQLITE_DONE ? 0 : av_fail(e, AV_E_INTERNAL,
		    "database: %s", sqlite3_errmsg(s->db));
	store_release(s, st);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int
take_locked(struct store *s, const char *state_hash, int64_t now,
    struct store_session *out, int *found, struct av_err *e)
{
	sqlite3_stmt *st;
	int rc;

	*found = 0;
	if ((st = store_prepare(s, "SELECT " SESSION_COLUMNS " FROM "
	    "oauth_sessions WHERE state_hash = ?1;", e)) == NULL)
		return -1;
	bind_text(st, 1, state_hash);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && read_row(st, out) != 0)
		rc = SQLITE_CORRUPT;
	store_release(s, st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return av_fail(e, AV_E_INTERNAL, "database: bad session row");
	if (out->status != STORE_SESSION_IN_PROGRESS || out->expires < now)
		return 0;
	/* Once: a replayed state finds the session taken. */
	if ((st = store_prepare(s, "UPDATE oauth_sessions SET status = "
	    "'EXCHANGING' WHERE uri = ?1 AND status = 'IN_PROGRESS';", e)) ==
	    NULL)
		return -1;
	bind_text(st, 1, out->uri);
	if (store_step_done(s, st, e) != 0)
		return -1;
	out->status = STORE_SESSION_EXCHANGING;
	*found = sqlite3_changes(s->db) == 1;
	return 0;
}

int
store_session_take_state(struct store *s, const char *state_hash,
    int64_t now, struct store_session *out, struct av_err *e)
{
	int rc, found = 0;

	IN_TRANSACTION(s, e, rc, take_locked(s, state_hash, now, out, &found,
	    e));
	return rc != 0 ? -1 : found;
}

int
store_session_secret(struct store *s, struct vault *v,
    const struct store_session *r, uint8_t *out, size_t cap, size_t *len,
    struct av_err *e)
{
	return store_secret_get(s, v, STORE_SESSION_SECRET, r->uri,
	    r->workload, out, cap, len, e);
}

static int
set_status_locked(struct store *s, const char *uri, const char *workload,
    enum store_session_status from, enum store_session_status to,
    const char *error, int *changed, int64_t *dek, struct av_err *e)
{
	sqlite3_stmt *st;

	if ((st = store_prepare(s, "UPDATE oauth_sessions SET status = ?2, "
	    "error = ?3 WHERE uri = ?1 AND status = ?4;", e)) == NULL)
		return -1;
	bind_text(st, 1, uri);
	bind_text(st, 2, status_names[to]);
	bind_text(st, 3, error != NULL ? error : "");
	bind_text(st, 4, status_names[from]);
	if (store_step_done(s, st, e) != 0)
		return -1;
	*changed = sqlite3_changes(s->db);
	/* Ended: the verifier and URL are no use any more. */
	if (*changed == 1 && to != STORE_SESSION_IN_PROGRESS &&
	    to != STORE_SESSION_EXCHANGING)
		return erase_secret(s, uri, workload, dek, e);
	return 0;
}

int
store_session_set_status(struct store *s, struct vault *v,
    const struct store_session *r, enum store_session_status from,
    enum store_session_status to, const char *error, struct av_err *e)
{
	int64_t dek = 0;
	int rc, changed = 0;

	IN_TRANSACTION(s, e, rc, set_status_locked(s, r->uri, r->workload,
	    from, to, error, &changed, &dek, e));
	if (rc != 0)
		return -1;
	if (dek != 0)
		vault_dek_forget(v, dek);
	return changed == 1 ? 0 : av_fail(e, AV_E_CONFLICT, "the session is "
	    "no longer %s", status_names[from]);
}

const char *
store_session_status_name(enum store_session_status st)
{
	return status_names[st];
}
