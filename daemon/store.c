/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store.c - SQLite storage: schema, migrations, sealed secrets, the
 * token-signing keys' public halves.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <sqlite3.h>

#include "store_internal.h"


/* Migration N brings the schema from version N to N+1.  Append only. */
static const char *const migrations[] = {
	/* 0 -> 1 */
	"CREATE TABLE deks ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  wrapped BLOB NOT NULL CHECK (length(wrapped) = 40),"
	"  created INTEGER NOT NULL);"
	"CREATE TABLE secrets ("
	"  type TEXT NOT NULL, name TEXT NOT NULL, owner TEXT NOT NULL,"
	"  version INTEGER NOT NULL,"
	"  dek_id INTEGER NOT NULL REFERENCES deks(id),"
	"  sealed BLOB NOT NULL,"
	"  updated INTEGER NOT NULL,"
	"  PRIMARY KEY (type, name, owner));"
	"CREATE TABLE vault (id TEXT PRIMARY KEY, kek_mode TEXT NOT NULL,"
	"  kek_uri TEXT NOT NULL, modified INTEGER NOT NULL);",
	/* 1 -> 2: the workload identity directory and tags */
	"CREATE TABLE workload_identities ("
	"  name TEXT PRIMARY KEY, managed_by TEXT NOT NULL,"
	"  created INTEGER NOT NULL, updated INTEGER NOT NULL);"
	"CREATE TABLE return_urls ("
	"  identity TEXT NOT NULL REFERENCES workload_identities(name)"
	"    ON DELETE CASCADE,"
	"  position INTEGER NOT NULL, url TEXT NOT NULL,"
	"  PRIMARY KEY (identity, position));"
	"CREATE TABLE tags ("
	"  resource TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
	"  PRIMARY KEY (resource, key));",
	/* 2 -> 3: credential providers (their secrets live in `secrets`) */
	"CREATE TABLE credential_providers ("
	"  kind TEXT NOT NULL, name TEXT NOT NULL,"
	"  created INTEGER NOT NULL, updated INTEGER NOT NULL,"
	"  PRIMARY KEY (kind, name));",
	/*
	 * 3 -> 4: token-signing keys by kid (public halves: nothing secret).
	 * not_after NULL marks the one current key; a retired key's tokens
	 * are accepted until its not_after.  max_age: the longest a token
	 * it signed may be presented after issue (lifetime and skew).
	 */
	"CREATE TABLE token_keys ("
	"  kid BLOB PRIMARY KEY CHECK (length(kid) = 8),"
	"  spki BLOB NOT NULL CHECK (length(spki) BETWEEN 1 AND 256),"
	"  max_age INTEGER NOT NULL CHECK (max_age > 0),"
	"  not_after INTEGER);"
	"CREATE UNIQUE INDEX token_keys_current ON token_keys"
	"  ((not_after IS NULL)) WHERE not_after IS NULL;",
	/*
	 * 4 -> 5: policies stored through the API (the text as given) and
	 * the policies attached to principals through the API.  A principal
	 * or an attached policy may be named by the configuration or a file
	 * only: no foreign keys.
	 */
	"CREATE TABLE policies ("
	"  name TEXT PRIMARY KEY, document TEXT NOT NULL,"
	"  description TEXT NOT NULL,"
	"  created INTEGER NOT NULL, updated INTEGER NOT NULL);"
	"CREATE TABLE policy_attachments ("
	"  principal TEXT NOT NULL, policy TEXT NOT NULL,"
	"  created INTEGER NOT NULL,"
	"  PRIMARY KEY (principal, policy));",
	/*
	 * 5 -> 6: a provider's configuration, JSON, nothing secret in it
	 * (an OAuth2 provider's vendor, client ID and endpoints).
	 */
	"ALTER TABLE credential_providers ADD COLUMN"
	"  config TEXT NOT NULL DEFAULT '{}';",
	/*
	 * 6 -> 7: OAuth2 tokens per (workload, user, provider, scope key);
	 * the access and refresh tokens sealed in `secrets` (type
	 * oauth2-token, name the row's id, owner the workload).
	 */
	"CREATE TABLE oauth_tokens ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  workload TEXT NOT NULL, user TEXT NOT NULL, provider TEXT NOT NULL,"
	"  scope_key TEXT NOT NULL, scopes TEXT NOT NULL,"
	"  expires_at INTEGER NOT NULL, has_refresh INTEGER NOT NULL,"
	"  bound INTEGER NOT NULL, extra TEXT NOT NULL DEFAULT '{}',"
	"  updated INTEGER NOT NULL,"
	"  UNIQUE (workload, user, provider, scope_key));"
	"CREATE INDEX oauth_tokens_provider ON oauth_tokens (provider);",
	/*
	 * 7 -> 8: OAuth2 three-legged sessions (store_session.c).  The state
	 * only as its SHA-256; the PKCE verifier and the authorization URL
	 * sealed in `secrets`.
	 */
	"CREATE TABLE oauth_sessions ("
	"  uri TEXT PRIMARY KEY,"
	"  state_hash TEXT NOT NULL UNIQUE CHECK (length(state_hash) = 64),"
	"  workload TEXT NOT NULL, user_id TEXT NOT NULL,"
	"  provider TEXT NOT NULL, scopes TEXT NOT NULL,"
	"  return_url TEXT NOT NULL, custom_state TEXT,"
	"  status TEXT NOT NULL CHECK (status IN ('IN_PROGRESS',"
	"    'EXCHANGING', 'CALLED_BACK', 'COMPLETE', 'FAILED')),"
	"  created INTEGER NOT NULL, expires INTEGER NOT NULL,"
	"  error TEXT NOT NULL);"
	"CREATE INDEX oauth_sessions_workload ON oauth_sessions (workload);"
	"CREATE INDEX oauth_sessions_provider ON oauth_sessions (provider);",
	/*
	 * 8 -> 9: an identity's inbound authorizer (JSON, NULL: none), and
	 * the user JWTs kept per (workload, user) until they expire
	 * (store_user_jwt.c): the JWT sealed in `secrets` (type user-jwt,
	 * name the user, owner the workload); here its SHA-256, its issuer
	 * and its subject's SHA-256 only.
	 */
	"ALTER TABLE workload_identities ADD COLUMN authorizer TEXT;"
	"CREATE TABLE user_jwts ("
	"  workload TEXT NOT NULL, user TEXT NOT NULL,"
	"  issuer TEXT NOT NULL,"
	"  subject_hash TEXT NOT NULL CHECK (length(subject_hash) = 64),"
	"  jwt_hash TEXT NOT NULL CHECK (length(jwt_hash) = 64),"
	"  expires_at INTEGER NOT NULL, updated INTEGER NOT NULL,"
	"  PRIMARY KEY (workload, user));"
	"CREATE INDEX user_jwts_expires ON user_jwts (expires_at);",
};

int
store_exec(struct store *s, const char *sql, struct av_err *e)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return av_fail(e, AV_E_INTERNAL, "database: %s",
		    sqlite3_errmsg(s->db));
	return 0;
}

static int
migrate(struct store *s, struct av_err *e)
{
	int v = store_schema_version(s);
	char sql[64];

	if (v < 0)
		return av_fail(e, AV_E_INTERNAL, "database: no schema version");
	if (v > STORE_SCHEMA_VERSION)
		return av_fail(e, AV_E_INTERNAL, "database schema %d is newer "
		    "than this appliance (%d): refusing to downgrade", v,
		    STORE_SCHEMA_VERSION);
	for (; v < STORE_SCHEMA_VERSION; v++) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d;", v + 1);
		if (store_exec(s, "BEGIN IMMEDIATE;", e) != 0)
			return -1;
		if (store_exec(s, migrations[v], e) != 0 || store_exec(s, sql, e) != 0) {
			store_exec(s, "ROLLBACK;", NULL);
			return -1;
		}
		if (store_exec(s, "COMMIT;", e) != 0)
			return -1;
	}
	return 0;
}

int
store_open(const char *path, struct store **out, struct av_err *e)
{
	struct store *s;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	pthread_mutex_init(&s->lock, NULL);
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_NOFOLLOW,
	    NULL) != SQLITE_OK) {
		av_fail(e, AV_E_INTERNAL, "database %s: %s", path,
		    s->db ? sqlite3_errmsg(s->db) : "cannot open");
		store_close(s);
		return -1;
	}
	/*
	 * WAL with synchronous=FULL: a commit is on disk when it returns.
	 * secure_delete zeroes deleted content (wrapped keys of erased
	 * secrets) in the database pages.
	 */
	if (store_exec(s, "PRAGMA journal_mode = WAL;", e) != 0 ||
	    store_exec(s, "PRAGMA synchronous = FULL;", e) != 0 ||
	    store_exec(s, "PRAGMA foreign_keys = ON;", e) != 0 ||
	    store_exec(s, "PRAGMA secure_delete = ON;", e) != 0 ||
	    sqlite3_busy_timeout(s->db, 5000) != SQLITE_OK ||
	    migrate(s, e) != 0) {
		store_close(s);
		return -1;
	}
	*out = s;
	return 0;
}

void
store_close(struct store *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->ncache; i++)
		sqlite3_finalize(s->cache[i].st);
	sqlite3_close(s->db);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

int
store_schema_version(struct store *s)
{
	sqlite3_stmt *st;
	int v = -1;

	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version;", -1, &st,
	    NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int
valid_names(const char *type, const char *name, const char *owner,
    struct av_err *e)
{
	if (type == NULL || name == NULL || owner == NULL || *type == '\0' ||
	    *name == '\0' || strlen(type) > STORE_NAME_MAX ||
	    strlen(name) > STORE_NAME_MAX || strlen(owner) > STORE_NAME_MAX)
		return av_fail(e, AV_E_VALIDATION, "invalid secret name");
	return 0;
}

sqlite3_stmt *
store_prepare(struct store *s, const char *sql, struct av_err *e)
{
	sqlite3_stmt *st = NULL;
	size_t i;

	for (i = 0; i < s->ncache; i++)
		if (s->cache[i].sql == sql && !s->cache[i].busy) {
			s->cache[i].busy = true;
			return s->cache[i].st;
		}
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st,
	    NULL) != SQLITE_OK) {
		av_fail(e, AV_E_INTERNAL, "database: %s",
		    sqlite3_errmsg(s->db));
		sqlite3_finalize(st);
		return NULL;
	}
	if (s->ncache < STORE_CACHE_MAX) {
		s->cache[s->ncache].sql = sql;
		s->cache[s->ncache].st = st;
		s->cache[s->ncache++].busy = true;
	}
	return st;
}

sqlite3_stmt *
store_prepare2(struct store *s, const char *sql, const char *a, const char *b,
    struct av_err *e)
{
	sqlite3_stmt *st = store_prepare(s, sql, e);

	if (st != NULL) {
		sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
		if (b != NULL)
			sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
	}
	return st;
}

void
store_release(struct store *s, sqlite3_stmt *st)
{
	size_t i;

	if (st == NULL)
		return;
	for (i = 0; i < s->ncache; i++)
		if (s->cache[i].st == st) {
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			s->cache[i].busy = false;
			return;
		}
	sqlite3_finalize(st);	/* one of two in use at once: not cached */
}

/* The (dek_id, wrapped, version) of a stored secret; 1 found, 0 not, -1. */
static int
secret_row(struct store *s, const char *type, const char *name,
    const char *owner, int64_t *dek_id, uint8_t wrapped[HSM_WRAPPED_DEK_LEN],
    int *version, sqlite3_stmt **row, struct av_err *e)
{
	sqlite3_stmt *st;
	int rc;

	st = store_prepare(s, "SELECT s.dek_id, d.wrapped, s.version, s.sealed "
	    "FROM secrets s JOIN deks d ON d.id = s.dek_id "
	    "WHERE s.type = ?1 AND s.name = ?2 AND s.owner = ?3;", e);
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, owner, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		store_release(s, st);
		return 0;
	}
	if (rc != SQLITE_ROW ||
	    sqlite3_column_bytes(st, 1) != HSM_WRAPPED_DEK_LEN) {
		store_release(s, st);
		return av_fail(e, AV_E_INTERNAL, "database: bad secret row");
	}
	*dek_id = sqlite3_column_int64(st, 0);
	memcpy(wrapped, sqlite3_column_blob(st, 1), HSM_WRAPPED_DEK_LEN);
	*version = sqlite3_column_int(st, 2);
	if (row != NULL)
		*row = st;
	else
		store_release(s, st);
	return 1;
}

int
store_step_done(struct store *s, sqlite3_stmt *st, struct av_err *e)
{
	int rc = sqlite3_step(st);

	/* The message first: a reset may replace it. */
	if (rc != SQLITE_DONE)
		av_fail(e, AV_E_INTERNAL, "database: %s",
		    sqlite3_errmsg(s->db));
	store_release(s, st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
dek_delete(struct store *s, int64_t id, struct av_err *e)
{
	sqlite3_stmt *st = store_prepare(s, "DELETE FROM deks WHERE id = ?1;", e);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return store_step_done(s, st, e);
}

int
store_secret_put_locked(struct store *s, struct vault *v, const char *type,
    const char *name, const char *owner, const uint8_t *pt, size_t pt_len,
    struct av_err *e)
{
	uint8_t dek[HSM_DEK_LEN], wrapped[HSM_WRAPPED_DEK_LEN];
	uint8_t old_wrapped[HSM_WRAPPED_DEK_LEN], *sealed;
	struct vault_aad aad = { type, name, owner, 1 };
	int64_t dek_id, old_dek = 0;
	size_t sealed_len = 0;
	sqlite3_stmt *st;
	int64_t remembered = 0;
	int found, old_version = 0, rc = -1;

	if ((sealed = malloc(pt_len + VAULT_SEAL_OVERHEAD)) == NULL)
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	found = secret_row(s, type, name, owner, &old_dek, old_wrapped,
	    &old_version, NULL, e);
	if (found < 0 || vault_dek_new(v, dek, wrapped, e) != 0)
		goto done;
	if ((st = store_prepare(s, "INSERT INTO deks (wrapped, created) "
	    "VALUES (?1, ?2);", e)) == NULL)
		goto done;
	sqlite3_bind_blob(st, 1, wrapped, sizeof(wrapped), SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
	if (store_step_done(s, st, e) != 0)
		goto done;
	dek_id = sqlite3_last_insert_rowid(s->db);
	vault_dek_remember(v, dek_id, dek);
	remembered = dek_id;
	aad.version = (uint32_t)old_version + 1;
	if (vault_seal(v, dek_id, wrapped, &aad, pt, pt_len, sealed,
	    &sealed_len, e) != 0)
		goto done;
	if ((st = store_prepare(s, "INSERT OR REPLACE INTO secrets (type, name, "
	    "owner, version, dek_id, sealed, updated) VALUES (?1, ?2, ?3, "
	    "?4, ?5, ?6, ?7);", e)) == NULL)
		goto done;
	sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, owner, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, (int)aad.version);
	sqlite3_bind_int64(st, 5, dek_id);
	sqlite3_bind_blob(st, 6, sealed, (int)sealed_len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)time(NULL));
	if (store_step_done(s, st, e) != 0)
		goto done;
	/* The previous version's data key goes with it. */
	if (found == 1 && dek_delete(s, old_dek, e) != 0)
		goto done;
	if (found == 1)
		vault_dek_forget(v, old_dek);
	rc = 0;
done:
	/* A rolled-back id may be handed out again: drop its cached key. */
	if (rc != 0 && remembered != 0)
		vault_dek_forget(v, remembered);
	OPENSSL_cleanse(dek, sizeof(dek));
	free(sealed);
	return rc;
}

int
store_secret_put(struct store *s, struct vault *v, const char *type,
    const char *name, const char *owner, const uint8_t *pt, size_t pt_len,
    struct av_err *e)
{
	int rc;

	if (valid_names(type, name, owner, e) != 0)
		return -1;
	if (pt_len > VAULT_SECRET_MAX)
		return av_fail(e, AV_E_VALIDATION, "secret too large");
	pthread_mutex_lock(&s->lock);
	if ((rc = store_exec(s, "BEGIN IMMEDIATE;", e)) == 0) {
		rc = store_secret_put_locked(s, v, type, name, owner, pt,
		    pt_len, e);
		if (rc == 0)
			rc = store_exec(s, "COMMIT;", e);
		if (rc != 0)
			store_exec(s, "ROLLBACK;", NULL);
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int
store_secret_get(struct store *s, struct vault *v, const char *type,
    const char *name, const char *owner, uint8_t *out, size_t cap,
    size_t *out_len, struct av_err *e)
{
	uint8_t wrapped[HSM_WRAPPED_DEK_LEN];
	struct vault_aad aad = { type, name, owner, 0 };
	sqlite3_stmt *row = NULL;
	int64_t dek_id;
	int found, version, len, rc = -1;

	if (valid_names(type, name, owner, e) != 0)
		return -1;
	pthread_mutex_lock(&s->lock);
	found = secret_row(s, type, name, owner, &dek_id, wrapped, &version,
	    &row, e);
	if (found == 0)
		av_fail(e, AV_E_NOT_FOUND, "no such secret");
	if (found != 1)
		goto done;
	len = sqlite3_column_bytes(row, 3);
	if (len < VAULT_SEAL_OVERHEAD ||
	    (size_t)len - VAULT_SEAL_OVERHEAD > cap) {
		av_fail(e, AV_E_INTERNAL, "stored secret has a bad size");
		goto done;
	}
	aad.version = (uint32_t)version;
	rc = vault_open_sealed(v, dek_id, wrapped, &aad,
	    sqlite3_column_blob(row, 3), (size_t)len, out, out_len, e);
done:
	store_release(s, row);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int
store_secret_delete(struct store *s, struct vault *v, const char *type,
    const char *name, const char *owner, struct av_err *e)
{
	uint8_t wrapped[HSM_WRAPPED_DEK_LEN];
	sqlite3_stmt *st;
	int64_t dek_id;
	int found, version, rc = -1;

	if (valid_names(type, name, owner, e) != 0)
		return -1;
	pthread_mutex_lock(&s->lock);
	if (store_exec(s, "BEGIN IMMEDIATE;", e) != 0)
		goto out;
	found = secret_row(s, type, name, owner, &dek_id, wrapped, &version,
	    NULL, e);
	if (found == 0)
		av_fail(e, AV_E_NOT_FOUND, "no such secret");
	if (found != 1)
		goto done;
	if ((st = store_prepare(s, "DELETE FROM secrets WHERE type = ?1 AND "
	    "name = ?2 AND owner = ?3;", e)) == NULL)
		goto done;
	sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, owner, -1, SQLITE_STATIC);
	if (store_step_done(s, st, e) != 0 || dek_delete(s, dek_id, e) != 0)
		goto done;
	rc = store_exec(s, "COMMIT;", e);
done:
	if (rc != 0)
		store_exec(s, "ROLLBACK;", NULL);
	else
		vault_dek_forget(v, dek_id);
out:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int
store_names_page(struct store *s, sqlite3_stmt *st, int limit_index,
    unsigned max, json_t *names, json_t *col1, bool *more, struct av_err *e)
{
	unsigned n = 0;
	int rc;

	*more = false;
	sqlite3_bind_int64(st, limit_index, (sqlite3_int64)max + 1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n++ == max) {
			*more = true;
			break;
		}
		json_array_append_new(names, json_string(
		    (const char *)sqlite3_column_text(st, 0)));
		if (col1 != NULL)
			json_array_append_new(col1, json_string(
			    (const char *)sqlite3_column_text(st, 1)));
	}
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 :
	    av_fail(e, AV_E_INTERNAL, "database: %s", sqlite3_errmsg(s->db));
	store_release(s, st);
	return rc;
}

int64_t
store_dek_count(struct store *s)
{
	sqlite3_stmt *st;
	int64_t n = -1;

	pthread_mutex_lock(&s->lock);
	if ((st = store_prepare(s, "SELECT count(*) FROM deks;", NULL)) != NULL) {
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int64(st, 0);
		store_release(s, st);
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}

int
store_vault_record(struct store *s, const char *kek_mode, const char *kek_uri,
    int64_t *modified, struct av_err *e)
{
	sqlite3_stmt *st;
	int rc = -1;

	pthread_mutex_lock(&s->lock);
	/* Usually there: a read, no write transaction, no fsync. */
	if ((st = store_prepare(s, "SELECT modified FROM vault WHERE id = "
	    "'default';", e)) == NULL)
		goto done;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*modified = sqlite3_column_int64(st, 0);
		store_release(s, st);
		rc = 0;
		goto done;
	}
	store_release(s, st);
	/* First sight of the vault: remember its KEK and when it was set. */
	if ((st = store_prepare(s, "INSERT OR IGNORE INTO vault (id, kek_mode, "
	    "kek_uri, modified) VALUES ('default', ?1, ?2, ?3);", e)) == NULL)
		goto done;
	sqlite3_bind_text(st, 1, kek_mode, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, kek_uri, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL));
	if (store_step_done(s, st, e) != 0)
		goto done;
	if ((st = store_prepare(s, "SELECT modified FROM vault WHERE id = "
	    "'default';", e)) == NULL)
		goto done;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*modified = sqlite3_column_int64(st, 0);
		rc = 0;
	} else {
		av_fail(e, AV_E_INTERNAL, "database: no vault record");
	}
	store_release(s, st);
done:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* With the lock held and a transaction open: store_token_key_use's body. */
static int
token_key_use_locked(struct store *s, const unsigned char *kid,
    const unsigned char *spki, size_t len, int64_t max_age, int64_t now,
    struct store_token_key *out, size_t max, size_t *n, struct av_err *e)
{
	sqlite3_stmt *st;
	int rc;

	/* The same kid for another key: a damaged record, not a rotation. */
	if ((st = store_prepare(s, "SELECT spki FROM token_keys WHERE kid = "
	    "?1;", e)) == NULL)
		return -1;
	sqlite3_bind_blob(st, 1, kid, STORE_KID_LEN, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rc = (size_t)sqlite3_column_bytes(st, 0) == len &&
		    memcmp(sqlite3_column_blob(st, 0), spki, len) == 0 ? 0 :
		    av_fail(e, AV_E_INTERNAL, "the database holds another "
		    "token-signing key with this key id");
	else
		rc = rc == SQLITE_DONE ? 0 : av_fail(e, AV_E_INTERNAL,
		    "database: %s", sqlite3_errmsg(s->db));
	store_release(s, st);
	if (rc != 0)
		return -1;
	/* Retire the current key if it is another one. */
	if ((st = store_prepare(s, "UPDATE token_keys SET not_after = ?2 + "
	    "max_age WHERE not_after IS NULL AND kid <> ?1;", e)) == NULL)
		return -1;
	sqlite3_bind_blob(st, 1, kid, STORE_KID_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	if (store_step_done(s, st, e) != 0)
		return -1;
	/* Forget the keys whose tokens have all expired. */
	if ((st = store_prepare(s, "DELETE FROM token_keys WHERE not_after <= "
	    "?1;", e)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	if (store_step_done(s, st, e) != 0)
		return -1;
	/* New, the same, or back from retirement: current now. */
	if ((st = store_prepare(s, "INSERT INTO token_keys (kid, spki, "
	    "max_age, not_after) VALUES (?1, ?2, ?3, NULL) ON CONFLICT (kid) "
	    "DO UPDATE SET not_after = NULL, max_age = max(max_age, "
	    "excluded.max_age);", e)) == NULL)
		return -1;
	sqlite3_bind_blob(st, 1, kid, STORE_KID_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, spki, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, max_age);
	if (store_step_done(s, st, e) != 0)
		return -1;
	/* Bounded: the retired keys that expire first go first. */
	if ((st = store_prepare(s, "DELETE FROM token_keys WHERE not_after IS "
	    "NOT NULL AND kid NOT IN (SELECT kid FROM token_keys WHERE "
	    "not_after IS NOT NULL ORDER BY not_after DESC, kid LIMIT ?1);",
	    e)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)max);
	if (store_step_done(s, st, e) != 0)
		return -1;
	if ((st = store_prepare(s, "SELECT kid, spki, not_after FROM "
	    "token_keys WHERE not_after IS NOT NULL ORDER BY not_after DESC, "
	    "kid;", e)) == NULL)
		return -1;
	for (*n = 0; *n < max && (rc = sqlite3_step(st)) == SQLITE_ROW;
	    (*n)++) {
		size_t klen = (size_t)sqlite3_column_bytes(st, 0);
		size_t slen = (size_t)sqlite3_column_bytes(st, 1);

		if (klen != STORE_KID_LEN || slen == 0 ||
		    slen > STORE_SPKI_MAX) {
			store_release(s, st);
			return av_fail(e, AV_E_INTERNAL, "database: bad "
			    "token key row");
		}
		memcpy(out[*n].kid, sqlite3_column_blob(st, 0), klen);
		memcpy(out[*n].spki, sqlite3_column_blob(st, 1), slen);
		out[*n].spki_len = slen;
		out[*n].not_after = sqlite3_column_int64(st, 2);
	}
	rc = *n == max || rc == SQLITE_DONE ? 0 : av_fail(e, AV_E_INTERNAL,
	    "database: %s", sqlite3_errmsg(s->db));
	store_release(s, st);
	return rc;
}

int
store_token_key_use(struct store *s, const unsigned char kid[STORE_KID_LEN],
    const unsigned char *spki, size_t len, int64_t max_age, int64_t now,
    struct store_token_key *out, size_t max, size_t *n, struct av_err *e)
{
	int rc;

	*n = 0;
	if (len == 0 || len > STORE_SPKI_MAX || max_age <= 0)
		return av_fail(e, AV_E_VALIDATION, "invalid token-signing key");
	IN_TRANSACTION(s, e, rc, token_key_use_locked(s, kid, spki, len,
	    max_age, now, out, max, n, e));
	if (rc != 0)
		*n = 0;
	return rc;
}
