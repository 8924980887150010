/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_vault.c - sealed secrets in SQLite under HSM-wrapped data keys:
 * round trips, versions, crypto-erase, record binding, tampering, the DEK
 * cache, schema versions, the token-signing key records (rotation,
 * retirement, rotating back, pruning), policies stored through the API and
 * their attachments, and a canary scan of everything on disk.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "hsm.h"
#include "testenv.h"
#include "daemon/authz.h"
#include "daemon/store.h"
#include "daemon/vault.h"

#define KEK_URI "pkcs11:object=agentvault-kek;type=secret-key"
#define CANARY "CANARY-7f3a9c-api-key-do-not-store-in-clear"
/* What schema 9 added, undone to test an earlier migration. */
#define SCHEMA_9_DROP	"DROP TABLE user_jwts; ALTER TABLE " \
	"workload_identities DROP COLUMN authorizer; "

struct fixture {
	struct hsm	*hsm;
	struct vault	*vault;
	struct store	*store;
	char		 db[512];
};

static int
open_fixture(struct fixture *f, unsigned ttl)
{
	struct hsm_key kek;
	struct av_err e;

	if (hsm_find_key(f->hsm, KEK_URI, CKO_SECRET_KEY, &kek) != CKR_OK ||
	    vault_open(f->hsm, &kek, ttl, &f->vault, &e) != 0 ||
	    store_open(f->db, &f->store, &e) != 0)
		return -1;
	return 0;
}

static void
close_fixture(struct fixture *f)
{
	store_close(f->store);
	vault_close(f->vault);
	f->store = NULL;
	f->vault = NULL;
}

static int
setup(void **state)
{
	static struct fixture f;
	char base[512];

	snprintf(base, sizeof(base), "%s/vault-test.db", testenv("AV_TEST_DIR"));
	memcpy(f.db, base, sizeof(f.db));
	unlink(f.db);
	snprintf(base, sizeof(base), "%s-wal", f.db);
	unlink(base);
	snprintf(base, sizeof(base), "%s-shm", f.db);
	unlink(base);
	f.hsm = testenv_hsm(2);
	*state = &f;
	return open_fixture(&f, 300);
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	close_fixture(f);
	hsm_close(f->hsm);
	return 0;
}

static void
put(struct fixture *f, const char *name, const char *value)
{
	struct av_err e;

	if (store_secret_put(f->store, f->vault, "api-key", name, "wl-1",
	    (const uint8_t *)value, strlen(value), &e) != 0)
		fail_msg("put %s: %s: %s", name, e.type, e.msg);
}

static int
get(struct fixture *f, const char *name, char *out, size_t cap,
    struct av_err *e)
{
	size_t len = 0;

	if (store_secret_get(f->store, f->vault, "api-key", name, "wl-1",
	    (uint8_t *)out, cap - 1, &len, e) != 0)
		return -1;
	out[len] = '\0';
	return 0;
}

static void
test_round_trip_and_versions(void **state)
{
	struct fixture *f = *state;
	struct av_err e;
	char buf[256];

	put(f, "github", "ghp_first");
	assert_int_equal(get(f, "github", buf, sizeof(buf), &e), 0);
	assert_string_equal(buf, "ghp_first");
	assert_int_equal(store_dek_count(f->store), 1);
	/* A new version gets a new data key; the old one is deleted. */
	put(f, "github", "ghp_second");
	assert_int_equal(get(f, "github", buf, sizeof(buf), &e), 0);
	assert_string_equal(buf, "ghp_second");
	assert_int_equal(store_dek_count(f->store), 1);
	/* The same name under another owner is another secret. */
	assert_int_equal(store_secret_get(f->store, f->vault, "api-key",
	    "github", "wl-2", (uint8_t *)buf, sizeof(buf), &(size_t){ 0 }, &e),
	    -1);
	assert_string_equal(e.type, AV_E_NOT_FOUND);
}

static void
test_delete_is_crypto_erase(void **state)
{
	struct fixture *f = *state;
	struct av_err e;
	char buf[256];
	int64_t before;

	put(f, "slack", "xoxb-123");
	before = store_dek_count(f->store);
	assert_int_equal(store_secret_delete(f->store, f->vault, "api-key",
	    "slack", "wl-1", &e), 0);
	assert_int_equal(store_dek_count(f->store), before - 1);
	assert_int_equal(get(f, "slack", buf, sizeof(buf), &e), -1);
	assert_string_equal(e.type, AV_E_NOT_FOUND);
	assert_int_equal(store_secret_delete(f->store, f->vault, "api-key",
	    "slack", "wl-1", &e), -1);
	assert_string_equal(e.type, AV_E_NOT_FOUND);
}

/* Edit the database behind the store's back. */
static void
raw_sql(struct fixture *f, const char *sql)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* Flip one byte of a blob column in the row the SELECT names. */
static void
raw_flip(struct fixture *f, const char *select, const char *update, int at)
{
	unsigned char buf[4096];
	sqlite3_stmt *st;
	sqlite3 *db;
	int n;

	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, select, -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_bytes(st, 0);
	assert_true(n > at && n <= (int)sizeof(buf));
	memcpy(buf, sqlite3_column_blob(st, 0), (size_t)n);
	sqlite3_finalize(st);
	buf[at] ^= 0x01;
	assert_int_equal(sqlite3_prepare_v2(db, update, -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_blob(st, 1, buf, n, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void
test_ciphertexts_are_bound_to_their_record(void **state)
{
	struct fixture *f = *state;
	struct av_err e;
	char buf[256];

	put(f, "a", "secret-of-a");
	put(f, "b", "secret-of-b");
	/* Give b a's ciphertext and data key: it must not open as b. */
	raw_sql(f, "UPDATE secrets SET sealed = (SELECT sealed FROM secrets "
	    "WHERE name = 'a'), dek_id = (SELECT dek_id FROM secrets WHERE "
	    "name = 'a') WHERE name = 'b';");
	assert_int_equal(get(f, "b", buf, sizeof(buf), &e), -1);
	assert_string_equal(e.type, AV_E_DECRYPTION);
	assert_null(strstr(e.msg, "secret-of"));
	/* a still opens. */
	assert_int_equal(get(f, "a", buf, sizeof(buf), &e), 0);
	assert_string_equal(buf, "secret-of-a");
}

static void
test_tampering_is_detected(void **state)
{
	struct fixture *f = *state;
	struct av_err e;
	char buf[256];

	put(f, "t", "tamper-me");
	raw_flip(f, "SELECT sealed FROM secrets WHERE name = 't';",
	    "UPDATE secrets SET sealed = ?1 WHERE name = 't';", 20);
	assert_int_equal(get(f, "t", buf, sizeof(buf), &e), -1);
	assert_string_equal(e.type, AV_E_DECRYPTION);
	/* A wrapped data key changed in the database fails in the HSM. */
	put(f, "w", "wrapped");
	raw_flip(f, "SELECT d.wrapped FROM deks d JOIN secrets s ON "
	    "s.dek_id = d.id WHERE s.name = 'w';", "UPDATE deks SET wrapped "
	    "= ?1 WHERE id = (SELECT dek_id FROM secrets WHERE name = 'w');", 0);
	close_fixture(f);	/* empty the DEK cache */
	assert_int_equal(open_fixture(f, 300), 0);
	assert_int_equal(get(f, "w", buf, sizeof(buf), &e), -1);
	assert_string_equal(e.type, AV_E_DECRYPTION);
}

static void
test_dek_cache(void **state)
{
	struct fixture *f = *state;
	struct vault_stats st;
	struct av_err e;
	char buf[256];
	int i;

	close_fixture(f);
	assert_int_equal(open_fixture(f, 300), 0);
	put(f, "cached", "value");
	for (i = 0; i < 5; i++)
		assert_int_equal(get(f, "cached", buf, sizeof(buf), &e), 0);
	vault_stats(f->vault, &st);
	assert_int_equal(st.unwraps, 0);	/* put left it cached */
	assert_true(st.cache_hits >= 5);
	assert_true(st.locked);
	/* With a TTL of zero every use unwraps in the HSM. */
	close_fixture(f);
	assert_int_equal(open_fixture(f, 0), 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(get(f, "cached", buf, sizeof(buf), &e), 0);
	vault_stats(f->vault, &st);
	assert_int_equal(st.unwraps, 3);
	assert_int_equal(vault_expire(f->vault) + st.cached >= 1, 1);
	close_fixture(f);
	assert_int_equal(open_fixture(f, 300), 0);
}

static void
test_limits_and_names(void **state)
{
	struct fixture *f = *state;
	static uint8_t big[VAULT_SECRET_MAX + 1];
	struct av_err e;

	assert_int_equal(store_secret_put(f->store, f->vault, "api-key", "",
	    "wl-1", (const uint8_t *)"x", 1, &e), -1);
	assert_string_equal(e.type, AV_E_VALIDATION);
	assert_int_equal(store_secret_put(f->store, f->vault, "api-key",
	    "big", "wl-1", big, sizeof(big), &e), -1);
	assert_string_equal(e.type, AV_E_VALIDATION);
}

static void
test_schema_versions(void **state)
{
	struct fixture *f = *state;
	struct store *s = NULL;
	struct av_err e;

	assert_int_equal(store_schema_version(f->store), STORE_SCHEMA_VERSION);
	close_fixture(f);
	raw_sql(f, "PRAGMA user_version = 99;");
	assert_int_equal(store_open(f->db, &s, &e), -1);
	assert_non_null(strstr(e.msg, "newer"));
	{
		char sql[64];

		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d;",
		    STORE_SCHEMA_VERSION);
		raw_sql(f, sql);
	}
	assert_int_equal(open_fixture(f, 300), 0);
}

/* Token-signing keys: kid i, with a stand-in SPKI (the store keeps it as
 * is; wat.c parses it). */
static int
use_key(struct fixture *f, int i, int64_t max_age, int64_t now, size_t max,
    struct store_token_key *out, size_t *n)
{
	unsigned char kid[STORE_KID_LEN] = { 'k', 'i', 'd', (unsigned char)i };
	unsigned char spki[91];
	struct av_err e;

	memset(spki, i, sizeof(spki));
	return store_token_key_use(f->store, kid, spki, sizeof(spki), max_age,
	    now, out, max, n, &e);
}

static void
test_token_keys(void **state)
{
	struct fixture *f = *state;
	struct store_token_key out[8];
	unsigned char kid[STORE_KID_LEN] = { 'k', 'i', 'd', 1 };
	unsigned char other[91] = { 0 };
	struct store *s = NULL;
	struct av_err e;
	size_t n = 99;

	/* First start with key 1; restarts with it rotate nothing. */
	assert_int_equal(use_key(f, 1, 960, 1000, 8, out, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(use_key(f, 1, 1000, 1100, 8, out, &n), 0);
	assert_int_equal(n, 0);
	/* Rotation to 2: 1 is kept for its longest max_age from then. */
	assert_int_equal(use_key(f, 2, 960, 2000, 8, out, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].kid[3], 1);
	assert_int_equal(out[0].spki_len, 91);
	assert_int_equal(out[0].spki[0], 1);
	assert_int_equal(out[0].not_after, 3000);
	assert_int_equal(use_key(f, 2, 960, 2500, 8, out, &n), 0);
	assert_int_equal(n, 1);
	/* Back to 1: it is current again, 2 retired. */
	assert_int_equal(use_key(f, 1, 960, 2600, 8, out, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].kid[3], 2);
	assert_int_equal(out[0].not_after, 2600 + 960);
	/* To 3: two retired, latest not_after first. */
	assert_int_equal(use_key(f, 3, 960, 3000, 8, out, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(out[0].kid[3], 1);
	assert_int_equal(out[0].not_after, 4000);
	assert_int_equal(out[1].kid[3], 2);
	/* At its not_after, a retired key is forgotten. */
	assert_int_equal(use_key(f, 3, 960, 3560, 8, out, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].kid[3], 1);
	/* The same kid with another public key: refused, nothing changes. */
	assert_int_equal(store_token_key_use(f->store, kid, other,
	    sizeof(other), 960, 3561, out, 8, &n, &e), -1);
	assert_string_equal(e.type, AV_E_INTERNAL);
	assert_int_equal(n, 0);
	assert_int_equal(use_key(f, 3, 960, 3561, 8, out, &n), 0);
	assert_int_equal(n, 1);
	/* Bounded: beyond max, the keys that expire first go. */
	assert_int_equal(use_key(f, 4, 960, 3600, 2, out, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(use_key(f, 5, 960, 3700, 2, out, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(out[0].kid[3], 4);
	assert_int_equal(out[0].not_after, 3700 + 960);
	assert_int_equal(out[1].kid[3], 3);
	assert_int_equal(use_key(f, 5, 960, 3701, 8, out, &n), 0);
	assert_int_equal(n, 2);
	/* Nothing else is taken. */
	assert_int_equal(store_token_key_use(f->store, kid, other, 0, 960,
	    3800, out, 8, &n, &e), -1);
	assert_int_equal(store_token_key_use(f->store, kid, other,
	    sizeof(other), 0, 3800, out, 8, &n, &e), -1);
	/* Schema 3 -> 4 on a database from before the table. */
	close_fixture(f);
	raw_sql(f, "DROP TABLE oauth_tokens; "
	    "DROP TABLE token_keys; DROP TABLE policies; "
	    "DROP TABLE policy_attachments; "
	    "ALTER TABLE credential_providers DROP COLUMN config; "
	    "DROP TABLE oauth_sessions; " SCHEMA_9_DROP
	    "PRAGMA user_version = 3;");
	assert_int_equal(store_open(f->db, &s, &e), 0);
	assert_int_equal(store_schema_version(s), STORE_SCHEMA_VERSION);
	store_close(s);
	assert_int_equal(open_fixture(f, 300), 0);
	assert_int_equal(use_key(f, 6, 960, 4000, 8, out, &n), 0);
	assert_int_equal(n, 0);
	/* At most one current key, whatever writes the table. */
	close_fixture(f);
	{
		sqlite3 *db;

		assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
		assert_int_not_equal(sqlite3_exec(db, "INSERT INTO token_keys "
		    "VALUES (x'0102030405060708', x'01', 960, NULL);", NULL,
		    NULL, NULL), SQLITE_OK);
		sqlite3_close(db);
	}
	assert_int_equal(open_fixture(f, 300), 0);
}

/* Policies stored through the API and attachments (store_policy.c). */
static void
test_policies(void **state)
{
	struct fixture *f = *state;
	struct authz_sources docs = { 0 };
	struct store_attachment *att;
	struct store_policy p;
	struct store *s = NULL;
	struct av_err e;
	json_t *l = json_array();
	size_t n;

	assert_int_equal(store_policy_create(f->store, "b", "doc b", 5, "",
	    2, &e), 0);
	assert_int_equal(store_policy_create(f->store, "b", "x", 1, "", 2,
	    &e), -1);
	assert_string_equal(e.type, AV_E_CONFLICT);
	assert_int_equal(store_policy_create(f->store, "a", "doc a", 5,
	    "first", 2, &e), 0);
	assert_int_equal(store_policy_create(f->store, "c", "x", 1, "", 2,
	    &e), -1);
	assert_string_equal(e.type, AV_E_QUOTA);
	assert_int_equal(store_policy_get(f->store, "a", &p, &e), 0);
	assert_string_equal(p.document, "doc a");
	assert_string_equal(p.description, "first");
	assert_true(p.created > 0 && p.updated == p.created);
	free(p.document);
	/* Update: no description keeps it. */
	assert_int_equal(store_policy_update(f->store, "a", "doc a2", 6, NULL,
	    &e), 0);
	assert_int_equal(store_policy_get(f->store, "a", &p, &e), 0);
	assert_string_equal(p.document, "doc a2");
	assert_string_equal(p.description, "first");
	free(p.document);
	assert_int_equal(store_policy_update(f->store, "z", "x", 1, "", &e),
	    -1);
	assert_string_equal(e.type, AV_E_NOT_FOUND);
	assert_int_equal(store_policy_get(f->store, "z", &p, &e), -1);
	assert_string_equal(e.type, AV_E_NOT_FOUND);
	assert_int_equal(store_policy_names(f->store, l, &e), 0);
	assert_int_equal(json_array_size(l), 2);
	assert_string_equal(json_string_value(json_array_get(l, 0)), "a");
	json_array_clear(l);

	/* Attachments: a stored policy must exist; once; at most max. */
	assert_int_equal(store_policy_attach(f->store, "agents", "a", true, 2,
	    &e), 0);
	assert_int_equal(store_policy_attach(f->store, "agents", "a", true, 2,
	    &e), -1);
	assert_string_equal(e.type, AV_E_CONFLICT);
	assert_int_equal(store_policy_attach(f->store, "agents", "z", true, 2,
	    &e), -1);
	assert_string_equal(e.type, AV_E_NOT_FOUND);
	assert_int_equal(store_policy_attach(f->store, "agents",
	    "AgentVaultReadOnlyAccess", false, 2, &e), 0);
	assert_int_equal(store_policy_attach(f->store, "agents", "b", true, 2,
	    &e), -1);
	assert_string_equal(e.type, AV_E_QUOTA);
	assert_int_equal(store_policy_attach(f->store, "ops", "b", true, 2,
	    &e), 0);
	assert_int_equal(store_policy_attached(f->store, "agents", NULL, l,
	    &e), 0);
	assert_int_equal(json_array_size(l), 2);
	assert_string_equal(json_string_value(json_array_get(l, 0)), "a");
	json_array_clear(l);
	assert_int_equal(store_policy_attached(f->store, NULL, "b", l, &e), 0);
	assert_int_equal(json_array_size(l), 1);
	assert_string_equal(json_string_value(json_array_get(l, 0)), "ops");
	json_array_clear(l);
	/* Attached: not deleted. */
	assert_int_equal(store_policy_delete(f->store, "b", &e), -1);
	assert_string_equal(e.type, AV_E_CONFLICT);
	assert_non_null(strstr(e.msg, "ops"));

	assert_int_equal(store_policy_load(f->store, &docs, &att, &n, &e), 0);
	assert_int_equal(docs.n, 2);
	assert_string_equal(docs.v[1].name, "b");
	assert_string_equal(docs.v[1].text, "doc b");
	assert_string_equal(docs.v[1].origin, "api");
	assert_int_equal(n, 3);
	assert_string_equal(att[0].principal, "agents");
	assert_string_equal(att[0].policy, "a");
	assert_string_equal(att[2].principal, "ops");
	authz_sources_free(&docs);
	free(att);

	assert_int_equal(store_policy_detach(f->store, "ops", "b", &e), 0);
	assert_int_equal(store_policy_detach(f->store, "ops", "b", &e), -1);
	assert_string_equal(e.type, AV_E_NOT_FOUND);
	assert_int_equal(store_policy_delete(f->store, "b", &e), 0);
	assert_int_equal(store_policy_delete(f->store, "b", &e), -1);
	assert_string_equal(e.type, AV_E_NOT_FOUND);

	/* Schema 4 -> 5 on a database from before the tables. */
	close_fixture(f);
	raw_sql(f, "DROP TABLE oauth_tokens; "
	    "DROP TABLE policies; DROP TABLE policy_attachments; "
	    "ALTER TABLE credential_providers DROP COLUMN config; "
	    "DROP TABLE oauth_sessions; " SCHEMA_9_DROP
	    "PRAGMA user_version = 4;");
	assert_int_equal(store_open(f->db, &s, &e), 0);
	assert_int_equal(store_schema_version(s), STORE_SCHEMA_VERSION);
	assert_int_equal(store_policy_names(s, l, &e), 0);
	assert_int_equal(json_array_size(l), 0);
	store_close(s);
	json_decref(l);
	assert_int_equal(open_fixture(f, 300), 0);
}

/* Providers: configuration and secret, created, replaced, erased. */
static void
test_providers(void **state)
{
	struct fixture *f = *state;
	json_t *tags = json_pack("{s:s}", "team", "a");
	int64_t created, updated, deks = store_dek_count(f->store);
	char *config = NULL;
	uint8_t buf[64];
	size_t len;
	struct av_err e;
	struct store *s;

	assert_int_equal(store_provider_create(f->store, f->vault, "oauth2",
	    "gh", "arn:gh", "{\"vendor\":\"GithubOauth2\"}",
	    (const uint8_t *)"s1", 2, tags, 2, &e), 0);
	assert_int_equal(store_provider_create(f->store, f->vault, "oauth2",
	    "gh", "arn:gh", NULL, (const uint8_t *)"s", 1, tags, 2, &e), -1);
	assert_string_equal(e.type, AV_E_CONFLICT);
	/* Another kind, another namespace; no configuration is {}. */
	assert_int_equal(store_provider_create(f->store, f->vault, "api-key",
	    "gh", "arn:key", NULL, (const uint8_t *)"k", 1, tags, 2, &e), 0);
	assert_int_equal(store_provider_get(f->store, "api-key", "gh", NULL,
	    NULL, &config, &e), 0);
	assert_string_equal(config, "{}");
	free(config);
	assert_int_equal(store_provider_get(f->store, "oauth2", "gh", &created,
	    &updated, &config, &e), 0);
	assert_string_equal(config, "{\"vendor\":\"GithubOauth2\"}");
	assert_true(created > 0 && updated == created);
	free(config);
	/* The configuration alone: the secret stays. */
	assert_int_equal(store_provider_update(f->store, f->vault, "oauth2",
	    "gh", "{\"v\":2}", NULL, 0, &e), 0);
	assert_int_equal(store_secret_get(f->store, f->vault, "oauth2", "gh",
	    "", buf, sizeof(buf), &len, &e), 0);
	assert_memory_equal(buf, "s1", 2);
	/* The secret alone: the configuration stays. */
	assert_int_equal(store_provider_update(f->store, f->vault, "oauth2",
	    "gh", NULL, (const uint8_t *)"s2", 2, &e), 0);
	assert_int_equal(store_provider_get(f->store, "oauth2", "gh", NULL,
	    NULL, &config, &e), 0);
	assert_string_equal(config, "{\"v\":2}");
	free(config);
	assert_int_equal(store_secret_get(f->store, f->vault, "oauth2", "gh",
	    "", buf, sizeof(buf), &len, &e), 0);
	assert_memory_equal(buf, "s2", 2);
	assert_int_equal(store_provider_update(f->store, f->vault, "oauth2",
	    "none", "{}", NULL, 0, &e), -1);
	assert_string_equal(e.type, AV_E_NOT_FOUND);
	/* Delete erases the secret and its data key. */
	assert_int_equal(store_provider_delete(f->store, f->vault, "oauth2",
	    "gh", "arn:gh", &e), 0);
	assert_int_equal(store_secret_get(f->store, f->vault, "oauth2", "gh",
	    "", buf, sizeof(buf), &len, &e), -1);
	assert_int_equal(store_provider_get(f->store, "oauth2", "gh", NULL,
	    NULL, NULL, &e), -1);
	assert_string_equal(e.type, AV_E_NOT_FOUND);
	assert_int_equal(store_dek_count(f->store), deks + 1);
	/* Schema 5 -> 6: providers from before have the empty configuration. */
	close_fixture(f);
	raw_sql(f, "DROP TABLE oauth_tokens; ALTER TABLE credential_providers "
	    "DROP COLUMN config; DROP TABLE oauth_sessions; " SCHEMA_9_DROP
	    "PRAGMA user_version = 5;");
	assert_int_equal(store_open(f->db, &s, &e), 0);
	assert_int_equal(store_schema_version(s), STORE_SCHEMA_VERSION);
	assert_int_equal(store_provider_get(s, "api-key", "gh", NULL, NULL,
	    &config, &e), 0);
	assert_string_equal(config, "{}");
	free(config);
	store_close(s);
	assert_int_equal(open_fixture(f, 300), 0);
	assert_int_equal(store_provider_delete(f->store, f->vault, "api-key",
	    "gh", "arn:key", &e), 0);
	json_decref(tags);
}

static void
session_new(struct store_session *r, const char *uri, const char *workload,
    const char *provider, int64_t now)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->uri, sizeof(r->uri), "%s", uri);
	snprintf(r->workload, sizeof(r->workload), "%s", workload);
	snprintf(r->user, sizeof(r->user), "alice");
	snprintf(r->provider, sizeof(r->provider), "%s", provider);
	snprintf(r->scopes, sizeof(r->scopes), "[\"read\"]");
	snprintf(r->return_url, sizeof(r->return_url), "https://app/done");
	r->created = now;
	r->expires = now + 600;
}

static void
test_sessions(void **state)
{
	struct fixture *f = *state;
	struct store_session r, got;
	int64_t now = (int64_t)time(NULL), deks = store_dek_count(f->store);
	char h1[65], h2[65], h3[65];
	uint8_t buf[256];
	size_t len;
	struct av_err e;
	int i;

	memset(h1, 'a', 64);
	memset(h2, 'b', 64);
	memset(h3, 'c', 64);
	h1[64] = h2[64] = h3[64] = '\0';
	session_new(&r, "urn:s1", "wl-s", "gh", now);
	r.has_custom_state = true;
	snprintf(r.custom_state, sizeof(r.custom_state), "cs");
	assert_int_equal(store_session_create(f->store, f->vault, &r, h1,
	    (const uint8_t *)"verifier+url", 12, 2, &e), 0);
	assert_int_equal(store_session_get(f->store, "urn:s1", &got, &e), 1);
	assert_int_equal(got.status, STORE_SESSION_IN_PROGRESS);
	assert_true(got.has_custom_state);
	assert_string_equal(got.custom_state, "cs");
	assert_string_equal(got.scopes, "[\"read\"]");
	assert_int_equal(store_session_get(f->store, "urn:none", &got, &e), 0);
	assert_int_equal(store_session_secret(f->store, f->vault, &r, buf,
	    sizeof(buf), &len, &e), 0);
	assert_memory_equal(buf, "verifier+url", 12);
	/* The state is taken once, and not after expiry. */
	assert_int_equal(store_session_take_state(f->store, h2, now, &got, &e),
	    0);
	assert_int_equal(store_session_take_state(f->store, h1, now + 601,
	    &got, &e), 0);
	assert_int_equal(store_session_take_state(f->store, h1, now, &got, &e),
	    1);
	assert_string_equal(got.uri, "urn:s1");
	assert_int_equal(got.status, STORE_SESSION_EXCHANGING);
	assert_int_equal(store_session_take_state(f->store, h1, now, &got, &e),
	    0);
	/* Moves only from the state named; ending erases the secret. */
	assert_int_equal(store_session_set_status(f->store, f->vault, &r,
	    STORE_SESSION_IN_PROGRESS, STORE_SESSION_FAILED, NULL, &e), -1);
	assert_string_equal(e.type, AV_E_CONFLICT);
	assert_int_equal(store_session_set_status(f->store, f->vault, &r,
	    STORE_SESSION_EXCHANGING, STORE_SESSION_CALLED_BACK, NULL, &e), 0);
	assert_int_equal(store_session_secret(f->store, f->vault, &r, buf,
	    sizeof(buf), &len, &e), -1);
	assert_int_equal(store_dek_count(f->store), deks);
	assert_int_equal(store_session_set_status(f->store, f->vault, &r,
	    STORE_SESSION_CALLED_BACK, STORE_SESSION_FAILED, "access_denied",
	    &e), 0);
	assert_int_equal(store_session_get(f->store, "urn:s1", &got, &e), 1);
	assert_int_equal(got.status, STORE_SESSION_FAILED);
	assert_string_equal(got.error, "access_denied");
	/* At most max live sessions per workload (ended ones do not count). */
	session_new(&r, "urn:s2", "wl-s", "gh", now);
	assert_int_equal(store_session_create(f->store, f->vault, &r, h2,
	    (const uint8_t *)"x", 1, 2, &e), 0);
	session_new(&r, "urn:s3", "wl-s", "other", now);
	assert_int_equal(store_session_create(f->store, f->vault, &r, h3,
	    (const uint8_t *)"x", 1, 2, &e), 0);
	session_new(&r, "urn:s4", "wl-s", "gh", now);
	assert_int_equal(store_session_create(f->store, f->vault, &r, h1,
	    (const uint8_t *)"x", 1, 2, &e), -1);
	assert_string_equal(e.type, AV_E_THROTTLING);
	/* A state hash is unique. */
	session_new(&r, "urn:s4", "wl-t", "gh", now);
	assert_int_equal(store_session_create(f->store, f->vault, &r, h2,
	    (const uint8_t *)"x", 1, 2, &e), -1);
	/* Deleting the provider erases its sessions and their secrets. */
	assert_int_equal(store_provider_create(f->store, f->vault, "oauth2",
	    "gh", "arn:gh", NULL, (const uint8_t *)"s", 1, NULL, 5, &e), 0);
	assert_int_equal(store_provider_delete(f->store, f->vault, "oauth2",
	    "gh", "arn:gh", &e), 0);
	assert_int_equal(store_session_get(f->store, "urn:s1", &got, &e), 0);
	assert_int_equal(store_session_get(f->store, "urn:s2", &got, &e), 0);
	assert_int_equal(store_session_get(f->store, "urn:s3", &got, &e), 1);
	assert_int_equal(store_dek_count(f->store), deks + 1);
	/* Deleting the identity erases the rest (and sweeps data keys no
	 * secret uses: fewer than before, maybe). */
	assert_int_equal(store_session_get(f->store, "urn:s3", &r, &e), 1);
	assert_int_equal(store_wi_create(f->store, "wl-s", "", "arn:wl-s",
	    NULL, NULL, NULL, 10, &e), 0);
	assert_int_equal(store_wi_delete(f->store, f->vault, "wl-s", NULL,
	    "arn:wl-s", &e), 0);
	assert_int_equal(store_session_get(f->store, "urn:s3", &got, &e), 0);
	assert_int_equal(store_session_secret(f->store, f->vault, &r, buf,
	    sizeof(buf), &len, &e), -1);
	assert_string_equal(e.type, AV_E_NOT_FOUND);
	assert_true(store_dek_count(f->store) <= deks);
	deks = store_dek_count(f->store);
	/* Sessions a day past expiry are purged at the next start. */
	for (i = 0; i < 2; i++) {
		session_new(&r, i ? "urn:new" : "urn:old", "wl-u", "gh",
		    i ? now : now - 90000);
		assert_int_equal(store_session_create(f->store, f->vault, &r,
		    i ? h2 : h1, (const uint8_t *)"x", 1, 5, &e), 0);
	}
	assert_int_equal(store_session_get(f->store, "urn:old", &got, &e), 0);
	assert_int_equal(store_dek_count(f->store), deks + 1);
	assert_int_equal(store_wi_create(f->store, "wl-u", "", "arn:wl-u",
	    NULL, NULL, NULL, 10, &e), 0);
	assert_int_equal(store_wi_delete(f->store, f->vault, "wl-u", NULL,
	    "arn:wl-u", &e), 0);
	assert_int_equal(store_dek_count(f->store), deks);
}

/* The user JWTs kept for on-behalf-of use (store_user_jwt.c). */
static void
test_user_jwts(void **state)
{
	static const char h1[] = "1111111111111111111111111111111111111111"
	    "111111111111111111111111", h2[] = "2222222222222222222222222222"
	    "222222222222222222222222222222222222", sub[] = "abababababababab"
	    "abababababababababababababababababababababababab";
	struct fixture *f = *state;
	int64_t deks = store_dek_count(f->store), exp = 0;
	uint8_t out[64];
	char iss[64];
	size_t len = 0;
	struct av_err e;

	assert_int_equal(store_wi_create(f->store, "wj", "", "arn:wj", NULL,
	    NULL, NULL, 10, &e), 0);
	assert_int_equal(store_user_jwt_info(f->store, "wj", "jwt:u1", iss,
	    sizeof(iss), &exp, &e), 0);
	assert_int_equal(store_user_jwt_put(f->store, f->vault, "wj",
	    "jwt:u1", "https://idp", sub, h1, "a.b.c", 5, 2000, 1000, &e), 0);
	assert_int_equal(store_user_jwt_info(f->store, "wj", "jwt:u1", iss,
	    sizeof(iss), &exp, &e), 1);
	assert_string_equal(iss, "https://idp");
	assert_int_equal(exp, 2000);
	assert_int_equal(store_user_jwt_same(f->store, "wj", "jwt:u1", h1,
	    1500, &e), 1);
	assert_int_equal(store_user_jwt_same(f->store, "wj", "jwt:u1", h2,
	    1500, &e), 0);
	/* An expired one is not "the same": it is kept again. */
	assert_int_equal(store_user_jwt_same(f->store, "wj", "jwt:u1", h1,
	    2000, &e), 0);
	assert_int_equal(store_secret_get(f->store, f->vault, "user-jwt",
	    "jwt:u1", "wj", out, sizeof(out), &len, &e), 0);
	assert_memory_equal(out, "a.b.c", 5);
	/* Replaced: one data key still. */
	assert_int_equal(store_user_jwt_put(f->store, f->vault, "wj",
	    "jwt:u1", "https://idp", sub, h2, "d.e.f", 5, 3000, 1000, &e), 0);
	assert_int_equal(store_dek_count(f->store), deks + 1);
	assert_int_equal(store_secret_get(f->store, f->vault, "user-jwt",
	    "jwt:u1", "wj", out, sizeof(out), &len, &e), 0);
	assert_memory_equal(out, "d.e.f", 5);
	/* A put purges the expired ones, their secrets and data keys. */
	assert_int_equal(store_user_jwt_put(f->store, f->vault, "wj",
	    "jwt:u2", "https://idp", sub, h1, "g.h.i", 5, 9000, 3000, &e), 0);
	assert_int_equal(store_user_jwt_info(f->store, "wj", "jwt:u1", iss,
	    sizeof(iss), &exp, &e), 0);
	assert_int_equal(store_secret_get(f->store, f->vault, "user-jwt",
	    "jwt:u1", "wj", out, sizeof(out), &len, &e), -1);
	assert_int_equal(store_dek_count(f->store), deks + 1);
	/* purge: every expired one. */
	assert_int_equal(store_user_jwt_purge(f->store, f->vault, 9000, &e),
	    0);
	assert_int_equal(store_user_jwt_info(f->store, "wj", "jwt:u2", iss,
	    sizeof(iss), &exp, &e), 0);
	assert_int_equal(store_dek_count(f->store), deks);
	/* Deleting the identity erases its JWTs. */
	assert_int_equal(store_user_jwt_put(f->store, f->vault, "wj",
	    "jwt:u3", "https://idp", sub, h1, "j.k.l", 5, 9999, 3000, &e), 0);
	assert_int_equal(store_wi_delete(f->store, f->vault, "wj", NULL,
	    "arn:wj", &e), 0);
	assert_int_equal(store_user_jwt_info(f->store, "wj", "jwt:u3", iss,
	    sizeof(iss), &exp, &e), 0);
	assert_int_equal(store_dek_count(f->store), deks);
	/* Malformed hashes are refused. */
	assert_int_equal(store_user_jwt_put(f->store, f->vault, "wj",
	    "jwt:u1", "https://idp", "ab", h1, "a.b.c", 5, 2000, 1000, &e), -1);
}

static void
test_oauth_tokens(void **state)
{
	struct fixture *f = *state;
	struct store_oauth_key k = { "wi-a", "", "idp", "read write" };
	struct store_oauth_key u = { "wi-a", "alice", "idp", "a b c" };
	struct store_oauth_key other = { "wi-b", "", "idp", "read" };
	struct store_oauth_token t;
	int64_t deks = store_dek_count(f->store);
	struct av_err e;
	struct store *s;

	assert_int_equal(store_provider_create(f->store, f->vault, "oauth2",
	    "idp", "arn:idp", "{\"v\":1}", (const uint8_t *)"s1", 2, NULL, 5,
	    &e), 0);
	assert_int_equal(store_oauth_get(f->store, f->vault, &k, &t, &e), 0);
	assert_int_equal(store_oauth_put(f->store, f->vault, &k, "read write",
	    "AT-1", 4, NULL, 0, 1000, true, NULL, &e), 0);
	assert_int_equal(store_oauth_get(f->store, f->vault, &k, &t, &e), 1);
	assert_string_equal(t.access, "AT-1");
	assert_null(t.refresh);
	assert_int_equal(t.expires_at, 1000);
	assert_true(t.bound);
	assert_string_equal(t.extra, "{}");
	store_oauth_token_clear(&t);
	/* Replaced in place, under a new data key. */
	assert_int_equal(store_oauth_put(f->store, f->vault, &k, "read write",
	    "AT-2", 4, "RT-2", 4, 2000, true, "{\"x\":1}", &e), 0);
	assert_int_equal(store_oauth_get(f->store, f->vault, &k, &t, &e), 1);
	assert_string_equal(t.access, "AT-2");
	assert_string_equal(t.refresh, "RT-2");
	assert_string_equal(t.extra, "{\"x\":1}");
	store_oauth_token_clear(&t);
	assert_int_equal(store_oauth_count(f->store), 1);
	/* A user's token, unbound until bound; found by a scope subset. */
	assert_int_equal(store_oauth_put(f->store, f->vault, &u, "a b c",
	    "AT-U", 4, "RT-U", 4, 3000, false, NULL, &e), 0);
	assert_int_equal(store_oauth_find(f->store, f->vault, "wi-a", "alice",
	    "idp", "c a", true, &t, &e), 0);
	assert_int_equal(store_oauth_find(f->store, f->vault, "wi-a", "alice",
	    "idp", "c a", false, &t, &e), 1);
	assert_string_equal(t.access, "AT-U");
	assert_string_equal(t.scope_key, "a b c");
	store_oauth_token_clear(&t);
	assert_int_equal(store_oauth_bind(f->store, &u, &e), 0);
	assert_int_equal(store_oauth_find(f->store, f->vault, "wi-a", "alice",
	    "idp", "b", true, &t, &e), 1);
	store_oauth_token_clear(&t);
	assert_int_equal(store_oauth_find(f->store, f->vault, "wi-a", "alice",
	    "idp", "a d", false, &t, &e), 0);
	/* GitHub and Slack grant scopes separated by commas. */
	assert_int_equal(store_oauth_put(f->store, f->vault, &u, "repo,read:user",
	    "AT-G", 4, NULL, 0, 3000, true, NULL, &e), 0);
	assert_int_equal(store_oauth_find(f->store, f->vault, "wi-a", "alice",
	    "idp", "read:user repo", true, &t, &e), 1);
	store_oauth_token_clear(&t);
	assert_int_equal(store_oauth_find(f->store, f->vault, "wi-a", "alice",
	    "idp", "repo,read:user", true, &t, &e), 1);
	store_oauth_token_clear(&t);
	assert_int_equal(store_oauth_find(f->store, f->vault, "wi-a", "alice",
	    "idp", "repo user", true, &t, &e), 0);
	assert_int_equal(store_oauth_find(f->store, f->vault, "wi-a", "bob",
	    "idp", "", false, &t, &e), 0);
	assert_int_equal(store_oauth_bind(f->store, &other, &e), -1);
	assert_string_equal(e.type, AV_E_NOT_FOUND);
	/* delete: that one only, with its data key. */
	assert_int_equal(store_oauth_delete(f->store, f->vault, &u, &e), 0);
	assert_int_equal(store_oauth_delete(f->store, f->vault, &u, &e), 0);
	assert_int_equal(store_oauth_count(f->store), 1);
	assert_int_equal(store_dek_count(f->store), deks + 2);
	/* A provider update that changes nothing keeps them; a new
	 * configuration or secret erases them. */
	assert_int_equal(store_provider_update(f->store, f->vault, "oauth2",
	    "idp", "{\"v\":1}", NULL, 0, &e), 0);
	assert_int_equal(store_oauth_count(f->store), 1);
	assert_int_equal(store_provider_update(f->store, f->vault, "oauth2",
	    "idp", "{\"v\":2}", NULL, 0, &e), 0);
	assert_int_equal(store_oauth_count(f->store), 0);
	assert_int_equal(store_oauth_put(f->store, f->vault, &k, "read", "A", 1,
	    NULL, 0, 1, true, NULL, &e), 0);
	assert_int_equal(store_provider_update(f->store, f->vault, "oauth2",
	    "idp", NULL, (const uint8_t *)"s2", 2, &e), 0);
	assert_int_equal(store_oauth_count(f->store), 0);
	/* Provider delete erases them with their data keys. */
	assert_int_equal(store_oauth_put(f->store, f->vault, &k, "read", "A", 1,
	    NULL, 0, 1, true, NULL, &e), 0);
	assert_int_equal(store_oauth_put(f->store, f->vault, &other, "read",
	    "B", 1, NULL, 0, 1, true, NULL, &e), 0);
	assert_int_equal(store_provider_delete(f->store, f->vault, "oauth2",
	    "idp", "arn:idp", &e), 0);
	assert_int_equal(store_oauth_count(f->store), 0);
	assert_int_equal(store_dek_count(f->store), deks);
	/* Identity delete erases its tokens. */
	assert_int_equal(store_wi_create(f->store, "wi-a", "", "arn:wi-a",
	    NULL, NULL, NULL, 10, &e), 0);
	assert_int_equal(store_oauth_put(f->store, f->vault, &k, "read", "A", 1,
	    NULL, 0, 1, true, NULL, &e), 0);
	assert_int_equal(store_wi_delete(f->store, f->vault, "wi-a", NULL,
	    "arn:wi-a", &e), 0);
	assert_int_equal(store_oauth_count(f->store), 0);
	assert_true(store_dek_count(f->store) <= deks);
	/* Schema 6 -> 7 adds the table. */
	close_fixture(f);
	raw_sql(f, "DROP TABLE oauth_tokens; DROP TABLE oauth_sessions; "
	    SCHEMA_9_DROP "PRAGMA user_version = 6;");
	assert_int_equal(store_open(f->db, &s, &e), 0);
	assert_int_equal(store_schema_version(s), STORE_SCHEMA_VERSION);
	assert_int_equal(store_oauth_count(s), 0);
	store_close(s);
	assert_int_equal(open_fixture(f, 300), 0);
}

/* Scan a file for a byte string. */
static int
file_contains(const char *path, const char *needle)
{
	static char buf[4 << 20];
	FILE *fp = fopen(path, "rb");
	size_t n, len = strlen(needle);

	if (fp == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	return memmem(buf, n, needle, len) != NULL;
}

static void
test_canary_never_on_disk(void **state)
{
	struct fixture *f = *state;
	const char *suffix[] = { "", "-wal", "-shm" };
	char path[600], buf[256];
	struct av_err e;
	size_t i;

	put(f, "canary", CANARY);
	assert_int_equal(get(f, "canary", buf, sizeof(buf), &e), 0);
	assert_string_equal(buf, CANARY);
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s%s", f->db, suffix[i]);
		assert_false(file_contains(path, CANARY));
		assert_false(file_contains(path, "CANARY-7f3a9c"));
	}
	/* After a checkpoint into the main file, still nothing. */
	close_fixture(f);
	assert_false(file_contains(f->db, "CANARY-7f3a9c"));
	assert_int_equal(open_fixture(f, 300), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_and_versions),
		cmocka_unit_test(test_delete_is_crypto_erase),
		cmocka_unit_test(test_ciphertexts_are_bound_to_their_record),
		cmocka_unit_test(test_tampering_is_detected),
		cmocka_unit_test(test_dek_cache),
		cmocka_unit_test(test_limits_and_names),
		cmocka_unit_test(test_schema_versions),
		cmocka_unit_test(test_token_keys),
		cmocka_unit_test(test_policies),
		cmocka_unit_test(test_providers),
		cmocka_unit_test(test_sessions),
		cmocka_unit_test(test_oauth_tokens),
		cmocka_unit_test(test_user_jwts),
		cmocka_unit_test(test_canary_never_on_disk),
	};

	return cmocka_run_group_tests_name("vault", tests, setup, teardown);
}
