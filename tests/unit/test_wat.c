/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_wat.c - workload access tokens without a daemon: lifetime, expiry,
 * clock skew, audience, token key, key id, signing-key rotation (previous
 * keys until their not_after, rotating back, unknown keys, damaged
 * records), and every byte of a token tampered.
 * A software P-256 key stands in for the HSM key (the provider path is
 * covered by test_provider and the daemon tests).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include <openssl/ec.h>
#include <openssl/evp.h>

#include "daemon/wat.h"

#define AUD	"000000000000:av"

static const unsigned char tek1[WAT_TEK_LEN] = { 1, 2, 3 };
static const unsigned char tek2[WAT_TEK_LEN] = { 9, 9, 9 };

struct fixture {
	EVP_PKEY	*key, *other;
	struct wat_keys	 k, k_tek2, k_aud2, k_other;
};

static int
setup(void **state)
{
	static struct fixture f;
	struct av_err e;

	f.key = EVP_EC_gen("P-256");
	f.other = EVP_EC_gen("P-256");
	if (f.key == NULL || f.other == NULL ||
	    wat_keys_init(&f.k, f.key, tek1, AUD, 900, &e) != 0 ||
	    wat_keys_init(&f.k_tek2, f.key, tek2, AUD, 900, &e) != 0 ||
	    wat_keys_init(&f.k_aud2, f.key, tek1, "111111111111:av", 900, &e) !=
	    0 || wat_keys_init(&f.k_other, f.other, tek1, AUD, 900, &e) != 0)
		return -1;
	*state = &f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	wat_keys_free(&f->k);
	wat_keys_free(&f->k_tek2);
	wat_keys_free(&f->k_aud2);
	wat_keys_free(&f->k_other);
	EVP_PKEY_free(f->key);
	EVP_PKEY_free(f->other);
	return 0;
}

static void
mint(const struct wat_keys *k, int64_t iat, char *out)
{
	struct av_err e;

	assert_int_equal(wat_mint(k, "support-agent", "cognito+user-1", iat,
	    out, WAT_MAX + 1, &e), 0);
}

/* The key id a token carries: the first 8 bytes of its body. */
static void
token_kid(const char *tok, unsigned char kid[WAT_KID_LEN])
{
	unsigned char raw[12];
	char b64[17];
	size_t i;

	/* 16 characters of base64url after the prefix: 12 bytes. */
	memcpy(b64, tok + strlen(WAT_PREFIX), 16);
	b64[16] = '\0';
	for (i = 0; i < 16; i++)
		b64[i] = b64[i] == '-' ? '+' : b64[i] == '_' ? '/' : b64[i];
	assert_int_equal(EVP_DecodeBlock(raw, (unsigned char *)b64, 16), 12);
	memcpy(kid, raw, WAT_KID_LEN);
}

static void
test_round_trip(void **state)
{
	struct fixture *f = *state;
	char tok[WAT_MAX + 1];
	struct wat_claims c;
	struct av_err e;

	mint(&f->k, 1000, tok);
	assert_int_equal(wat_verify(&f->k, tok, 1001, &c, &e), 0);
	assert_string_equal(c.workload, "support-agent");
	assert_string_equal(c.user, "cognito+user-1");
	assert_int_equal(c.exp, 1900);
	assert_null(strstr(tok, "support"));
}

static void
test_time(void **state)
{
	struct fixture *f = *state;
	char tok[WAT_MAX + 1];
	struct wat_claims c;
	struct av_err e;

	mint(&f->k, 1000, tok);
	/* Expired at exp; valid up to it; 60 s of skew for iat. */
	assert_int_equal(wat_verify(&f->k, tok, 1899, &c, &e), 0);
	assert_int_equal(wat_verify(&f->k, tok, 1900, &c, &e), -1);
	assert_string_equal(e.type, "AccessDeniedException");
	assert_int_equal(wat_verify(&f->k, tok, 940, &c, &e), 0);
	assert_int_equal(wat_verify(&f->k, tok, 939, &c, &e), -1);
}

static void
test_other_keys(void **state)
{
	struct fixture *f = *state;
	char tok[WAT_MAX + 1];
	struct wat_claims c;
	struct av_err e;

	mint(&f->k, 1000, tok);
	/* Another token key, another appliance, another signing key. */
	assert_int_equal(wat_verify(&f->k_tek2, tok, 1001, &c, &e), -1);
	assert_int_equal(wat_verify(&f->k_aud2, tok, 1001, &c, &e), -1);
	assert_int_equal(wat_verify(&f->k_other, tok, 1001, &c, &e), -1);
	assert_string_equal(e.type, "AccessDeniedException");
	/* The message never says which check failed. */
	assert_string_equal(e.msg, "the workload access token is not valid");
}

/* The memo answers like wat_verify: same claims, same expiry, same keys. */
static void
test_cached(void **state)
{
	struct fixture *f = *state;
	char tok[WAT_MAX + 1];
	struct wat_claims c;
	struct av_err e;

	mint(&f->k, 1000, tok);
	assert_int_equal(wat_verify_cached(&f->k, tok, 1001, &c, &e), 0);
	assert_int_equal(wat_verify_cached(&f->k, tok, 1002, &c, &e), 0);
	assert_string_equal(c.user, "cognito+user-1");
	assert_int_equal(c.exp, 1900);
	assert_int_equal(wat_verify_cached(&f->k, tok, 1900, &c, &e), -1);
	assert_int_equal(wat_verify_cached(&f->k, tok, 939, &c, &e), -1);
	/* Verified under one key set, still refused by another. */
	assert_int_equal(wat_verify_cached(&f->k_other, tok, 1001, &c, &e),
	    -1);
	assert_int_equal(wat_verify_cached(&f->k_aud2, tok, 1001, &c, &e), -1);
	/* One changed byte is another token: verified, refused. */
	tok[strlen(tok) - 2] ^= 0x01;
	assert_int_equal(wat_verify_cached(&f->k, tok, 1001, &c, &e), -1);
}

static void
test_every_byte(void **state)
{
	struct fixture *f = *state;
	char tok[WAT_MAX + 1], bad[WAT_MAX + 1];
	struct wat_claims c;
	struct av_err e;
	size_t i, n;

	mint(&f->k, 1000, tok);
	n = strlen(tok);
	for (i = 0; i < n; i++) {
		memcpy(bad, tok, n + 1);
		bad[i] = bad[i] == 'A' ? 'B' : 'A';
		if (wat_verify(&f->k, bad, 1001, &c, &e) == 0)
			fail_msg("byte %zu changed, still accepted", i);
	}
	/* Only one spelling: of all 64 last characters (whose low bits may
	 * be unused), exactly the original is accepted. */
	{
		static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789-_";
		int accepted = 0;

		for (i = 0; i < 64; i++) {
			memcpy(bad, tok, n + 1);
			bad[n - 1] = abc[i];
			accepted += wat_verify(&f->k, bad, 1001, &c, &e) == 0;
		}
		assert_int_equal(accepted, 1);
	}
	/* Every prefix is refused too. */
	for (i = 0; i < n; i++) {
		memcpy(bad, tok, i);
		bad[i] = '\0';
		assert_int_equal(wat_verify(&f->k, bad, 1001, &c, &e), -1);
	}
}

static void
test_lifetime(void **state)
{
	struct fixture *f = *state;
	char tok[WAT_MAX + 1];
	struct wat_keys k;
	struct wat_claims c;
	struct av_err e;

	/* exp = iat + the lifetime the keys were set up with. */
	assert_int_equal(wat_keys_init(&k, f->key, tek1, AUD, 60, &e), 0);
	mint(&k, 5000, tok);
	assert_int_equal(wat_verify(&k, tok, 5059, &c, &e), 0);
	assert_int_equal(c.iat, 5000);
	assert_int_equal(c.exp - c.iat, 60);
	assert_int_equal(wat_verify(&k, tok, 5060, &c, &e), -1);
	assert_string_equal(e.type, "AccessDeniedException");
	wat_keys_free(&k);
	assert_int_equal(wat_keys_init(&k, f->key, tek1, AUD, 43200, &e), 0);
	mint(&k, 5000, tok);
	assert_int_equal(wat_verify(&k, tok, 5000 + 43199, &c, &e), 0);
	assert_int_equal(c.exp - c.iat, 43200);
	wat_keys_free(&k);
}

/* wat_mint_until: a token no longer-lived than what it comes from (a
 * user JWT's exp), and never longer than the keys' lifetime. */
static void
test_until(void **state)
{
	struct fixture *f = *state;
	char tok[WAT_MAX + 1];
	struct wat_claims c;
	struct av_err e;

	assert_int_equal(wat_mint_until(&f->k, "support-agent",
	    "jwt:0123456789abcdefghijklmnopqrstuvwxyzABCDEFG", 1000, 1030, tok,
	    sizeof(tok), &e), 0);
	assert_int_equal(wat_verify(&f->k, tok, 1029, &c, &e), 0);
	assert_int_equal(c.exp, 1030);
	assert_string_equal(c.user,
	    "jwt:0123456789abcdefghijklmnopqrstuvwxyzABCDEFG");
	assert_int_equal(wat_verify(&f->k, tok, 1030, &c, &e), -1);
	/* Capped at the lifetime (900 s). */
	assert_int_equal(wat_mint_until(&f->k, "support-agent", "u", 1000,
	    999999, tok, sizeof(tok), &e), 0);
	assert_int_equal(wat_verify(&f->k, tok, 1001, &c, &e), 0);
	assert_int_equal(c.exp, 1900);
	/* Nothing that would be born expired. */
	assert_int_equal(wat_mint_until(&f->k, "support-agent", "u", 1000,
	    1000, tok, sizeof(tok), &e), -1);
	assert_string_equal(e.type, "ValidationException");
}

/*
 * Rotation from key A (f->k) to key B (f->other): B's keys accept A's
 * tokens until A's not_after, then refuse them; B's tokens carry B's kid;
 * rotating back to A accepts B's tokens in turn.
 */
static void
test_rotation(void **state)
{
	struct fixture *f = *state;
	char ta[WAT_MAX + 1], tb[WAT_MAX + 1];
	unsigned char kid[WAT_KID_LEN];
	struct wat_keys kb, ka2;
	struct wat_claims c;
	struct av_err e;

	mint(&f->k, 1000, ta);
	assert_int_equal(wat_keys_init(&kb, f->other, tek1, AUD, 900, &e), 0);
	assert_memory_not_equal(kb.kid, f->k.kid, WAT_KID_LEN);
	assert_int_equal(wat_keys_add_previous(&kb, f->k.kid, f->k.spki,
	    f->k.spki_len, 1500, &e), 0);
	/* Before A's not_after: accepted, claims intact. */
	assert_int_equal(wat_verify(&kb, ta, 1499, &c, &e), 0);
	assert_string_equal(c.workload, "support-agent");
	assert_int_equal(c.exp, 1900);
	/* From not_after on: refused, though the token has not expired. */
	assert_int_equal(wat_verify(&kb, ta, 1500, &c, &e), -1);
	assert_string_equal(e.type, "AccessDeniedException");
	assert_string_equal(e.msg, "the workload access token is not valid");
	/* New tokens carry B's kid; keys that know only A refuse them. */
	mint(&kb, 1200, tb);
	token_kid(tb, kid);
	assert_memory_equal(kid, kb.kid, WAT_KID_LEN);
	token_kid(ta, kid);
	assert_memory_equal(kid, f->k.kid, WAT_KID_LEN);
	assert_int_equal(wat_verify(&kb, tb, 1201, &c, &e), 0);
	assert_int_equal(wat_verify(&f->k, tb, 1201, &c, &e), -1);
	assert_string_equal(e.type, "AccessDeniedException");
	/* Back to A, with B retired: both accepted. */
	assert_int_equal(wat_keys_init(&ka2, f->key, tek1, AUD, 900, &e), 0);
	assert_int_equal(wat_keys_add_previous(&ka2, kb.kid, kb.spki,
	    kb.spki_len, 3000, &e), 0);
	assert_int_equal(wat_verify(&ka2, ta, 1300, &c, &e), 0);
	assert_int_equal(wat_verify(&ka2, tb, 1300, &c, &e), 0);
	assert_int_equal(wat_verify(&ka2, tb, 3000, &c, &e), -1);
	mint(&ka2, 1300, ta);
	token_kid(ta, kid);
	assert_memory_equal(kid, f->k.kid, WAT_KID_LEN);
	wat_keys_free(&kb);
	wat_keys_free(&ka2);
}

static void
test_previous_records(void **state)
{
	struct fixture *f = *state;
	unsigned char bad_kid[WAT_KID_LEN], spki[WAT_SPKI_MAX];
	EVP_PKEY *p384 = EVP_EC_gen("P-384"), *keys[WAT_PREVIOUS_MAX];
	char tok[WAT_MAX + 1];
	struct wat_keys k, kc;
	struct wat_claims c;
	struct av_err e;
	size_t i;

	assert_non_null(p384);
	assert_int_equal(wat_keys_init(&k, f->other, tek1, AUD, 900, &e), 0);
	/* A kid that is not the SPKI's: the record is refused. */
	memcpy(bad_kid, f->k.kid, WAT_KID_LEN);
	bad_kid[0] ^= 1;
	assert_int_equal(wat_keys_add_previous(&k, bad_kid, f->k.spki,
	    f->k.spki_len, 5000, &e), -1);
	assert_string_equal(e.type, "InternalServerException");
	/* A damaged SPKI, trailing bytes, nothing: refused. */
	memcpy(spki, f->k.spki, f->k.spki_len);
	spki[f->k.spki_len - 1] ^= 1;
	assert_int_equal(wat_keys_add_previous(&k, f->k.kid, spki,
	    f->k.spki_len, 5000, &e), -1);
	spki[f->k.spki_len - 1] ^= 1;
	spki[f->k.spki_len] = 0;
	assert_int_equal(wat_keys_add_previous(&k, f->k.kid, spki,
	    f->k.spki_len + 1, 5000, &e), -1);
	assert_int_equal(wat_keys_add_previous(&k, f->k.kid, spki, 0, 5000,
	    &e), -1);
	/* The current key is not also a previous one. */
	assert_int_equal(wat_keys_add_previous(&k, k.kid, k.spki, k.spki_len,
	    5000, &e), -1);
	assert_int_equal(k.nprev, 0);
	/* Only P-256 signs tokens, current or previous. */
	assert_int_equal(wat_keys_init(&kc, p384, tek1, AUD, 900, &e), -1);
	assert_string_equal(e.msg, "the token-signing key is not an EC P-256 "
	    "key");
	/* Bounded: WAT_PREVIOUS_MAX, then refused. */
	for (i = 0; i < WAT_PREVIOUS_MAX; i++) {
		assert_non_null(keys[i] = EVP_EC_gen("P-256"));
		assert_int_equal(wat_keys_init(&kc, keys[i], tek1, AUD, 900,
		    &e), 0);
		assert_int_equal(wat_keys_add_previous(&k, kc.kid, kc.spki,
		    kc.spki_len, 5000, &e), 0);
		wat_keys_free(&kc);
	}
	assert_int_equal(wat_keys_add_previous(&k, f->k.kid, f->k.spki,
	    f->k.spki_len, 5000, &e), -1);
	/* A's tokens: an unknown kid to these keys. */
	mint(&f->k, 1000, tok);
	assert_int_equal(wat_verify(&k, tok, 1001, &c, &e), -1);
	assert_string_equal(e.type, "AccessDeniedException");
	for (i = 0; i < WAT_PREVIOUS_MAX; i++)
		EVP_PKEY_free(keys[i]);
	EVP_PKEY_free(p384);
	wat_keys_free(&k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_other_keys),
		cmocka_unit_test(test_every_byte),
		cmocka_unit_test(test_cached),
		cmocka_unit_test(test_lifetime),
		cmocka_unit_test(test_until),
		cmocka_unit_test(test_rotation),
		cmocka_unit_test(test_previous_records),
	};

	return cmocka_run_group_tests_name("wat", tests, setup, teardown);
}
