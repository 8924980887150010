/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_wat.c - workload access tokens without a daemon: expiry, clock
 * skew, audience, token key, key id, and every byte of a token tampered.
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
	    wat_keys_init(&f.k, f.key, tek1, "000000000000:av", &e) != 0 ||
	    wat_keys_init(&f.k_tek2, f.key, tek2, "000000000000:av", &e) != 0 ||
	    wat_keys_init(&f.k_aud2, f.key, tek1, "111111111111:av", &e) != 0 ||
	    wat_keys_init(&f.k_other, f.other, tek1, "000000000000:av", &e) !=
	    0)
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
	struct wat_claims c = { "support-agent", "cognito+user-1", iat,
	    iat + 900 };
	struct av_err e;

	assert_int_equal(wat_mint(k, &c, out, WAT_MAX + 1, &e), 0);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_other_keys),
		cmocka_unit_test(test_every_byte),
		cmocka_unit_test(test_cached),
	};

	return cmocka_run_group_tests_name("wat", tests, setup, teardown);
}
