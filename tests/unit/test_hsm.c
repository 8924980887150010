/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_hsm.c - hsm/ against a real SoftHSM2 token: login and PIN sources,
 * token and key lookup errors, KEK wrap/unwrap and tampering, key check
 * values, deleted keys, signing from two threads on pooled sessions,
 * listing keys by label prefix and public JWKs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "hsm.h"
#include "testenv.h"

#define KEK_URI "pkcs11:object=agentvault-kek;type=secret-key"
#define SIGN_URI "pkcs11:object=agentvault-token-signing;type=private"

/* Write a file with the given content and mode; returns "file:PATH". */
static const char *
pin_file(const char *name, const char *content, mode_t mode)
{
	static char src[512];
	char path[400];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", testenv("AV_TEST_DIR"), name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)),
	    (ssize_t)strlen(content));
	fchmod(fd, mode);
	close(fd);
	snprintf(src, sizeof(src), "file:%s", path);
	return src;
}

static struct hsm *
open_only(void)
{
	struct hsm *h = NULL;

	assert_int_equal(hsm_open(testenv("AV_TEST_MODULE"),
	    testenv("AV_TEST_TOKEN"), 2, &h), CKR_OK);
	return h;
}

static void
test_open_and_login(void **state)
{
	struct hsm *h = open_only();

	(void)state;
	assert_string_equal(hsm_token_label(h), "agentvault");
	assert_true(strlen(hsm_token_serial(h)) > 0);
	assert_int_equal(hsm_login(h, testenv("AV_TEST_PIN")), CKR_OK);
	/* A second login on a logged-in handle is a no-op. */
	assert_int_equal(hsm_login(h, testenv("AV_TEST_PIN")), CKR_OK);
	hsm_close(h);
}

static void
test_wrong_pin_is_not_retried(void **state)
{
	struct hsm *h = open_only();

	(void)state;
	assert_int_equal(hsm_login(h, pin_file("wrong.pin", "000000\n",
	    0600)), CKR_PIN_INCORRECT);
	/* Even the right PIN is not tried again by this handle. */
	assert_int_equal(hsm_login(h, testenv("AV_TEST_PIN")),
	    HSM_R_PIN_NOT_RETRIED);
	assert_string_equal(hsm_rv_name(HSM_R_PIN_NOT_RETRIED),
	    "HSM_R_PIN_NOT_RETRIED");
	hsm_close(h);
}

static void
test_pin_sources(void **state)
{
	char pin[HSM_PIN_MAX + 1], big[HSM_PIN_MAX + 8];
	size_t len = 0;

	(void)state;
	/* Raw PINs, unknown schemes and missing files are refused. */
	assert_int_equal(hsm_pin_read("1234", pin, &len), HSM_R_PIN_SOURCE);
	assert_int_equal(hsm_pin_read("file:", pin, &len), HSM_R_PIN_SOURCE);
	assert_int_equal(hsm_pin_read("file:/nonexistent/pin", pin, &len),
	    HSM_R_PIN_SOURCE);
	assert_int_equal(hsm_pin_read(NULL, pin, &len), HSM_R_PIN_SOURCE);
	/* A PIN file others may read is refused. */
	assert_int_equal(hsm_pin_read(pin_file("open.pin", "1234\n", 0644),
	    pin, &len), HSM_R_PIN_SOURCE);
	assert_int_equal(hsm_pin_read(pin_file("empty.pin", "", 0600), pin,
	    &len), HSM_R_PIN_SOURCE);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(hsm_pin_read(pin_file("big.pin", big, 0600), pin,
	    &len), HSM_R_PIN_SOURCE);
	/* One trailing newline (and CR) is stripped. */
	assert_int_equal(hsm_pin_read(pin_file("crlf.pin", "12 34\r\n", 0600),
	    pin, &len), CKR_OK);
	assert_int_equal(len, 5);
	assert_string_equal(pin, "12 34");
	/* The environment variable is consumed: wiped and unset. */
	setenv("AV_TEST_PIN_ENV", "5678", 1);
	assert_int_equal(hsm_pin_read("env:AV_TEST_PIN_ENV", pin, &len),
	    CKR_OK);
	assert_string_equal(pin, "5678");
	assert_null(getenv("AV_TEST_PIN_ENV"));
	assert_int_equal(hsm_pin_read("env:AV_TEST_PIN_ENV", pin, &len),
	    HSM_R_PIN_SOURCE);
}

static void
test_missing_token_and_module(void **state)
{
	struct hsm *h = NULL;

	(void)state;
	assert_int_equal(hsm_open(testenv("AV_TEST_MODULE"),
	    "pkcs11:token=no-such-token", 2, &h), HSM_R_NO_TOKEN);
	assert_null(h);
	assert_int_equal(hsm_open("/nonexistent/module.so",
	    testenv("AV_TEST_TOKEN"), 2, &h), HSM_R_MODULE_LOAD);
	assert_int_equal(hsm_open(testenv("AV_TEST_MODULE"),
	    "pkcs11:token=a;token=b", 2, &h), HSM_R_URI_SYNTAX);
	assert_int_equal(hsm_open(testenv("AV_TEST_MODULE"),
	    testenv("AV_TEST_TOKEN"), 0, &h), HSM_R_BAD_INPUT);
}

static void
test_find_errors(void **state)
{
	struct hsm *h = *state;
	struct hsm_key k;

	assert_int_equal(hsm_find_key(h, "pkcs11:object=no-such-key",
	    CK_UNAVAILABLE_INFORMATION, &k), HSM_R_NOT_FOUND);
	assert_int_equal(hsm_find_key(h, "pkcs11:object=x;object=y",
	    CK_UNAVAILABLE_INFORMATION, &k), HSM_R_URI_SYNTAX);
	assert_int_equal(hsm_find_key(h, "pkcs11:type=private",
	    CK_UNAVAILABLE_INFORMATION, &k), HSM_R_URI_UNSPECIFIC);
	assert_int_equal(hsm_find_key(h,
	    "pkcs11:token=other;object=agentvault-kek",
	    CK_UNAVAILABLE_INFORMATION, &k), HSM_R_NO_TOKEN);
	/* Every token, slot and library attribute must match, or nothing. */
	assert_int_equal(hsm_find_key(h,
	    "pkcs11:manufacturer=Nobody;object=agentvault-kek",
	    CK_UNAVAILABLE_INFORMATION, &k), HSM_R_NO_TOKEN);
	assert_int_equal(hsm_find_key(h,
	    "pkcs11:library-manufacturer=Nobody;object=agentvault-kek",
	    CK_UNAVAILABLE_INFORMATION, &k), HSM_R_NO_TOKEN);
	assert_int_equal(hsm_find_key(h,
	    "pkcs11:library-manufacturer=SoftHSM;token=agentvault;"
	    "object=agentvault-kek", CK_UNAVAILABLE_INFORMATION, &k), CKR_OK);
	/* Private and public twins share a label: ambiguous without type. */
	assert_int_equal(hsm_find_key(h, "pkcs11:object=agentvault-tls",
	    CK_UNAVAILABLE_INFORMATION, &k), HSM_R_AMBIGUOUS);
	assert_int_equal(hsm_find_key(h, "pkcs11:object=agentvault-tls",
	    CKO_PRIVATE_KEY, &k), CKR_OK);
	assert_int_equal(k.cls, CKO_PRIVATE_KEY);
	assert_int_equal(k.type, CKK_EC);
	/* A type= that contradicts the wanted class finds nothing. */
	assert_int_equal(hsm_find_key(h, KEK_URI, CKO_PRIVATE_KEY, &k),
	    HSM_R_NOT_FOUND);
}

static void
test_key_uri_round_trip(void **state)
{
	struct hsm *h = *state;
	struct hsm_key k, again;
	char uri[512];

	assert_int_equal(hsm_find_key(h, SIGN_URI, CKO_PRIVATE_KEY, &k),
	    CKR_OK);
	assert_int_equal(hsm_key_uri(h, &k, uri, sizeof(uri)), CKR_OK);
	assert_non_null(strstr(uri, "token=agentvault"));
	assert_int_equal(hsm_find_key(h, uri, CK_UNAVAILABLE_INFORMATION,
	    &again), CKR_OK);
	assert_int_equal(again.handle, k.handle);
	assert_int_equal(hsm_key_uri(h, &k, uri, 8), HSM_R_BAD_INPUT);
}

static void
test_kek_wrap_round_trip(void **state)
{
	struct hsm *h = *state;
	struct hsm_key kek;
	uint8_t dek[HSM_DEK_LEN], back[HSM_DEK_LEN];
	uint8_t w1[HSM_WRAPPED_DEK_LEN], w2[HSM_WRAPPED_DEK_LEN];
	const char *why = "unset";

	assert_int_equal(hsm_find_key(h, KEK_URI, CKO_SECRET_KEY, &kek),
	    CKR_OK);
	assert_int_equal(hsm_kek_check(h, &kek, &why), CKR_OK);
	assert_null(why);
	assert_int_equal(RAND_bytes(dek, sizeof(dek)), 1);
	assert_int_equal(hsm_kek_wrap(h, &kek, dek, w1), CKR_OK);
	assert_int_equal(hsm_kek_unwrap(h, &kek, w1, back), CKR_OK);
	assert_memory_equal(dek, back, sizeof(dek));
	/* RFC 5649 is deterministic: same key, same KEK, same blob. */
	assert_int_equal(hsm_kek_wrap(h, &kek, dek, w2), CKR_OK);
	assert_memory_equal(w1, w2, sizeof(w1));
	assert_memory_not_equal(w1, dek, sizeof(dek));
}

static void
test_kek_detects_tampering(void **state)
{
	struct hsm *h = *state;
	struct hsm_key kek;
	uint8_t dek[HSM_DEK_LEN], back[HSM_DEK_LEN], zero[HSM_DEK_LEN];
	uint8_t w[HSM_WRAPPED_DEK_LEN];
	size_t i;

	memset(zero, 0, sizeof(zero));
	assert_int_equal(hsm_find_key(h, KEK_URI, CKO_SECRET_KEY, &kek),
	    CKR_OK);
	assert_int_equal(RAND_bytes(dek, sizeof(dek)), 1);
	assert_int_equal(hsm_kek_wrap(h, &kek, dek, w), CKR_OK);
	for (i = 0; i < sizeof(w); i++) {
		w[i] ^= (uint8_t)(1u << (i % 8));
		memset(back, 0xa5, sizeof(back));
		assert_int_not_equal(hsm_kek_unwrap(h, &kek, w, back), CKR_OK);
		/* Nothing of a failed unwrap is left in the output. */
		assert_memory_equal(back, zero, sizeof(back));
		w[i] ^= (uint8_t)(1u << (i % 8));
	}
	assert_int_equal(hsm_kek_unwrap(h, &kek, w, back), CKR_OK);
	assert_memory_equal(dek, back, sizeof(dek));
}

static void
test_other_kek_cannot_unwrap(void **state)
{
	struct hsm *h = *state;
	struct hsm_key kek, other;
	const unsigned char id[] = { 0x7e, 0x57, 0x01 };
	uint8_t dek[HSM_DEK_LEN], back[HSM_DEK_LEN];
	uint8_t w[HSM_WRAPPED_DEK_LEN];

	assert_int_equal(hsm_find_key(h, KEK_URI, CKO_SECRET_KEY, &kek),
	    CKR_OK);
	assert_int_equal(hsm_generate_kek(h, "test-kek-2", id, sizeof(id),
	    &other), CKR_OK);
	/* The label is now taken. */
	assert_int_equal(hsm_generate_kek(h, "test-kek-2", id, sizeof(id),
	    &other), HSM_R_EXISTS);
	assert_int_equal(RAND_bytes(dek, sizeof(dek)), 1);
	assert_int_equal(hsm_kek_wrap(h, &kek, dek, w), CKR_OK);
	assert_int_not_equal(hsm_kek_unwrap(h, &other, w, back), CKR_OK);
	assert_int_equal(hsm_destroy_label(h, "test-kek-2"), CKR_OK);
}

/* Create a session AES key with a known value and given extractability. */
static CK_OBJECT_HANDLE
make_aes(struct hsm *h, const uint8_t value[32], CK_BBOOL extractable)
{
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE type = CKK_AES;
	CK_BBOOL t = CK_TRUE, f = CK_FALSE;
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &type, sizeof(type) },
		{ CKA_TOKEN, &f, sizeof(f) },
		{ CKA_SENSITIVE, &t, sizeof(t) },
		{ CKA_EXTRACTABLE, &extractable, sizeof(extractable) },
		{ CKA_WRAP, &t, sizeof(t) },
		{ CKA_UNWRAP, &t, sizeof(t) },
		{ CKA_VALUE, (void *)value, 32 },
	};
	CK_OBJECT_HANDLE obj;
	CK_SESSION_HANDLE s;

	hsm_session_get(h, &s);
	assert_int_equal(hsm_fn(h)->C_CreateObject(s, tmpl,
	    sizeof(tmpl) / sizeof(tmpl[0]), &obj), CKR_OK);
	hsm_session_put(h, s);
	return obj;
}

static void
test_kek_check_and_kcv(void **state)
{
	struct hsm *h = *state;
	struct hsm_key k;
	uint8_t value[32], zero[16], block[32], kcv[HSM_KCV_LEN];
	const char *why = NULL;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int len = 0;

	memset(&k, 0, sizeof(k));
	memset(zero, 0, sizeof(zero));
	assert_int_equal(RAND_bytes(value, sizeof(value)), 1);
	k.cls = CKO_SECRET_KEY;
	k.type = CKK_AES;
	k.handle = make_aes(h, value, CK_TRUE);
	/* An extractable, session-only key is no KEK. */
	assert_int_equal(hsm_kek_check(h, &k, &why), HSM_R_KEY_ATTRS);
	assert_non_null(why);
	/* The KCV is AES-ECB(key, 0^128)[0..2], as computed here. */
	assert_int_equal(hsm_key_check_value(h, &k, kcv), CKR_OK);
	assert_true(EVP_EncryptInit_ex(c, EVP_aes_256_ecb(), NULL, value,
	    NULL));
	EVP_CIPHER_CTX_set_padding(c, 0);
	assert_true(EVP_EncryptUpdate(c, block, &len, zero, sizeof(zero)));
	assert_memory_equal(kcv, block, HSM_KCV_LEN);
	EVP_CIPHER_CTX_free(c);
	/* A non-AES object is refused with a reason. */
	assert_int_equal(hsm_find_key(h, SIGN_URI, CKO_PRIVATE_KEY, &k),
	    CKR_OK);
	assert_int_equal(hsm_kek_check(h, &k, &why), HSM_R_KEY_ATTRS);
	assert_non_null(strstr(why, "AES"));
}

static void
test_deleted_key(void **state)
{
	struct hsm *h = *state;
	const unsigned char id[] = { 0xde, 0x1e, 0x7e };
	CK_MECHANISM mech = { CKM_ECDSA, NULL, 0 };
	uint8_t dgst[32] = { 1 }, sig[64];
	size_t siglen = sizeof(sig);
	struct hsm_key k;
	CK_RV rv;

	assert_int_equal(hsm_generate_ec_p256(h, "test-deleted", id,
	    sizeof(id), &k), CKR_OK);
	assert_int_equal(hsm_sign(h, k.handle, &mech, dgst, sizeof(dgst),
	    sig, &siglen), CKR_OK);
	assert_int_equal(hsm_destroy_label(h, "test-deleted"), CKR_OK);
	rv = hsm_sign(h, k.handle, &mech, dgst, sizeof(dgst), sig, &siglen);
	assert_true(rv == CKR_KEY_HANDLE_INVALID ||
	    rv == CKR_OBJECT_HANDLE_INVALID);
	assert_non_null(strstr(hsm_rv_text(rv), "deleted"));
	assert_int_equal(hsm_find_key(h, "pkcs11:object=test-deleted",
	    CK_UNAVAILABLE_INFORMATION, &k), HSM_R_NOT_FOUND);
}

/* Private keys by label prefix, at most max; and a key's public JWK. */
static void
test_list_labels_and_jwk(void **state)
{
	struct hsm *h = *state;
	const unsigned char id1[] = { 0x11, 0x57 }, id2[] = { 0x22, 0x57 },
	    id3[] = { 0x33, 0x57 };
	char labels[4][HSM_LABEL_MAX + 1], jwk[HSM_JWK_MAX],
	    kid[HSM_JWK_KID_LEN + 1], small[64];
	struct hsm_pubkey pub;
	struct hsm_key k;
	size_t n;

	assert_int_equal(hsm_generate_ec_p256(h, "test-list-a", id1,
	    sizeof(id1), &k), CKR_OK);
	assert_int_equal(hsm_generate_ec_p256(h, "test-list-b", id2,
	    sizeof(id2), &k), CKR_OK);
	assert_int_equal(hsm_generate_ec_p256(h, "test-lis", id3, sizeof(id3),
	    &k), CKR_OK);
	assert_int_equal(hsm_list_labels(h, "test-list-", labels, 4, &n),
	    CKR_OK);
	assert_int_equal(n, 2);
	assert_true((strcmp(labels[0], "test-list-a") == 0 &&
	    strcmp(labels[1], "test-list-b") == 0) ||
	    (strcmp(labels[0], "test-list-b") == 0 &&
	    strcmp(labels[1], "test-list-a") == 0));
	/* More than max: the first max, and says so. */
	assert_int_equal(hsm_list_labels(h, "test-list-", labels, 1, &n),
	    HSM_R_BAD_INPUT);
	assert_int_equal(n, 1);
	assert_int_equal(hsm_list_labels(h, "no-such-", labels, 4, &n),
	    CKR_OK);
	assert_int_equal(n, 0);

	assert_int_equal(hsm_pubkey_read(h, &k, &pub), CKR_OK);
	assert_int_equal(hsm_pubkey_jwk(&pub, jwk, sizeof(jwk), kid), CKR_OK);
	assert_int_equal(strlen(kid), HSM_JWK_KID_LEN);
	assert_int_equal(strspn(kid, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
	    "qrstuvwxyz0123456789-_"), HSM_JWK_KID_LEN);
	assert_non_null(strstr(jwk, kid));
	assert_int_equal(strncmp(jwk, "{\"kty\":\"EC\",\"crv\":\"P-256\","
	    "\"x\":\"", 29), 0);
	assert_int_equal(hsm_pubkey_jwk(&pub, small, sizeof(small), kid),
	    HSM_R_BAD_INPUT);
	pub.type = CKK_RSA;
	assert_int_equal(hsm_pubkey_jwk(&pub, jwk, sizeof(jwk), kid),
	    HSM_R_BAD_INPUT);
	assert_int_equal(hsm_destroy_label(h, "test-list-a"), CKR_OK);
	assert_int_equal(hsm_destroy_label(h, "test-list-b"), CKR_OK);
	assert_int_equal(hsm_destroy_label(h, "test-lis"), CKR_OK);
}

static void
test_sign_buffer_too_small_keeps_session_clean(void **state)
{
	struct hsm *h = *state;
	CK_MECHANISM mech = { CKM_ECDSA, NULL, 0 };
	uint8_t dgst[32] = { 2 }, sig[64];
	size_t siglen = 10;
	struct hsm_key k;
	int i;

	assert_int_equal(hsm_find_key(h, SIGN_URI, CKO_PRIVATE_KEY, &k),
	    CKR_OK);
	assert_int_equal(hsm_sign(h, k.handle, &mech, dgst, sizeof(dgst), sig,
	    &siglen), CKR_BUFFER_TOO_SMALL);
	/* Every pooled session still signs. */
	for (i = 0; i < 4; i++) {
		siglen = sizeof(sig);
		assert_int_equal(hsm_sign(h, k.handle, &mech, dgst,
		    sizeof(dgst), sig, &siglen), CKR_OK);
	}
}

struct signer {
	struct hsm	*h;
	CK_OBJECT_HANDLE key;
	int		 n;
	int		 failures;
};

static void *
signer_thread(void *arg)
{
	struct signer *s = arg;
	CK_MECHANISM mech = { CKM_ECDSA, NULL, 0 };
	uint8_t dgst[32], sig[64];
	size_t siglen;
	int i;

	for (i = 0; i < s->n; i++) {
		memset(dgst, i & 0xff, sizeof(dgst));
		siglen = sizeof(sig);
		if (hsm_sign(s->h, s->key, &mech, dgst, sizeof(dgst), sig,
		    &siglen) != CKR_OK || siglen != 64)
			s->failures++;
	}
	return NULL;
}

static void
test_two_threads_sign(void **state)
{
	struct hsm *h = *state;
	struct signer s[2];
	pthread_t t[2];
	struct hsm_key k;
	int i;

	assert_int_equal(hsm_find_key(h, SIGN_URI, CKO_PRIVATE_KEY, &k),
	    CKR_OK);
	for (i = 0; i < 2; i++) {
		s[i] = (struct signer){ h, k.handle, 1000, 0 };
		assert_int_equal(pthread_create(&t[i], NULL, signer_thread,
		    &s[i]), 0);
	}
	for (i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(s[i].failures, 0);
	}
}

/* A KEK that a session without the PIN could use is refused. */
static void
test_kek_must_be_private(void **state)
{
	struct hsm *h = *state;
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE type = CKK_AES;
	CK_ULONG len = 32;
	CK_BBOOL t = CK_TRUE, f = CK_FALSE;
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &type, sizeof(type) },
		{ CKA_VALUE_LEN, &len, sizeof(len) },
		{ CKA_TOKEN, &t, sizeof(t) },
		{ CKA_PRIVATE, &f, sizeof(f) },
		{ CKA_SENSITIVE, &t, sizeof(t) },
		{ CKA_EXTRACTABLE, &f, sizeof(f) },
		{ CKA_WRAP, &t, sizeof(t) },
		{ CKA_UNWRAP, &t, sizeof(t) },
		{ CKA_LABEL, "test-public-kek", 15 },
	};
	CK_MECHANISM mech = { CKM_AES_KEY_GEN, NULL, 0 };
	CK_SESSION_HANDLE s;
	struct hsm_key k;
	const char *why = NULL;

	hsm_session_get(h, &s);
	assert_int_equal(hsm_fn(h)->C_GenerateKey(s, &mech, tmpl,
	    sizeof(tmpl) / sizeof(tmpl[0]), &k.handle), CKR_OK);
	hsm_session_put(h, s);
	k.cls = CKO_SECRET_KEY;
	k.type = CKK_AES;
	assert_int_equal(hsm_kek_check(h, &k, &why), HSM_R_KEY_ATTRS);
	assert_non_null(strstr(why, "without login"));
	assert_int_equal(hsm_destroy_label(h, "test-public-kek"), CKR_OK);
}

/* A public half that does not belong to the private key is refused. */
static void
test_swapped_public_twin(void **state)
{
	struct hsm *h = *state;
	const unsigned char id[] = { 0x5a, 0x09 };
	unsigned char point_der[67];
	CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
	CK_KEY_TYPE type = CKK_EC;
	const unsigned char p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
	    0x3d, 0x03, 0x01, 0x07 };
	CK_BBOOL t = CK_TRUE;
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &type, sizeof(type) },
		{ CKA_TOKEN, &t, sizeof(t) },
		{ CKA_EC_PARAMS, (void *)p256, sizeof(p256) },
		{ CKA_EC_POINT, point_der, sizeof(point_der) },
		{ CKA_LABEL, "test-swap", 9 },
		{ CKA_ID, (void *)id, sizeof(id) },
	};
	struct hsm_key priv, pub;
	struct hsm_pubkey pk;
	EVP_PKEY *other = EVP_EC_gen("P-256");
	CK_OBJECT_HANDLE obj;
	CK_SESSION_HANDLE s;
	size_t len = 0;

	assert_non_null(other);
	assert_int_equal(hsm_generate_ec_p256(h, "test-swap", id, sizeof(id),
	    &priv), CKR_OK);
	assert_int_equal(hsm_pubkey_read(h, &priv, &pk), CKR_OK);
	/* Replace the public twin with another key's public half. */
	assert_int_equal(hsm_find_public_for(h, &priv, &pub), CKR_OK);
	point_der[0] = 0x04;
	point_der[1] = 0x41;
	assert_true(EVP_PKEY_get_octet_string_param(other, "pub",
	    point_der + 2, 65, &len));
	hsm_session_get(h, &s);
	assert_int_equal(hsm_fn(h)->C_DestroyObject(s, pub.handle), CKR_OK);
	assert_int_equal(hsm_fn(h)->C_CreateObject(s, tmpl,
	    sizeof(tmpl) / sizeof(tmpl[0]), &obj), CKR_OK);
	hsm_session_put(h, s);
	assert_int_equal(hsm_pubkey_read(h, &priv, &pk), HSM_R_KEY_ATTRS);
	assert_int_equal(hsm_destroy_label(h, "test-swap"), CKR_OK);
	EVP_PKEY_free(other);
}

/* Two paths to one module are one module: closing one handle keeps the
 * other working. */
static void
test_module_by_another_path(void **state)
{
	struct hsm *h = *state, *other = NULL;
	struct hsm_key kek;
	uint8_t dek[HSM_DEK_LEN] = { 9 }, w[HSM_WRAPPED_DEK_LEN];
	char real[4096];

	if (realpath(testenv("AV_TEST_MODULE"), real) == NULL ||
	    strcmp(real, testenv("AV_TEST_MODULE")) == 0)
		skip();
	assert_int_equal(hsm_open(real, testenv("AV_TEST_TOKEN"), 1, &other),
	    CKR_OK);
	hsm_close(other);
	assert_int_equal(hsm_find_key(h, KEK_URI, CKO_SECRET_KEY, &kek),
	    CKR_OK);
	assert_int_equal(hsm_kek_wrap(h, &kek, dek, w), CKR_OK);
}

/* The token refuses to hand out the value of any appliance key. */
static void
test_key_values_unreadable(void **state)
{
	static const char *const uris[] = {
		KEK_URI, SIGN_URI,
		"pkcs11:object=agentvault-tls;type=private",
		"pkcs11:object=agentvault-audit;type=private",
		"pkcs11:object=agentvault-ca;type=private",
	};
	struct hsm *h = *state;
	unsigned char buf[256];
	struct hsm_key k;
	size_t i, len;

	for (i = 0; i < sizeof(uris) / sizeof(uris[0]); i++) {
		assert_int_equal(hsm_find_key(h, uris[i],
		    CK_UNAVAILABLE_INFORMATION, &k), CKR_OK);
		assert_int_equal(hsm_get_attr(h, k.handle, CKA_VALUE, buf,
		    sizeof(buf), &len), CKR_ATTRIBUTE_SENSITIVE);
	}
}

static void
test_rv_names(void **state)
{
	struct hsm *h = *state;
	char buf[128];

	assert_int_equal(hsm_wrap_mechanism(h), CKM_AES_KEY_WRAP_PAD);
	assert_string_equal(hsm_rv_name(CKR_PIN_INCORRECT),
	    "CKR_PIN_INCORRECT");
	assert_string_equal(hsm_rv_name(0x7777), "CKR_UNKNOWN");
	assert_string_equal(hsm_rv_describe(CKR_PIN_INCORRECT, buf,
	    sizeof(buf)), "CKR_PIN_INCORRECT (0xa0): the PIN is incorrect");
	assert_non_null(strstr(hsm_rv_text(HSM_R_NOT_FOUND), "no object"));
}

static int
setup(void **state)
{
	*state = testenv_hsm(2);
	return 0;
}

static int
teardown(void **state)
{
	hsm_close(*state);
	return 0;
}

int
main(void)
{
	/*
	 * PKCS#11 login state is per token and process: these run while no
	 * handle is logged in, or a wrong PIN would meet "already logged in".
	 */
	const struct CMUnitTest logged_out[] = {
		cmocka_unit_test(test_wrong_pin_is_not_retried),
		cmocka_unit_test(test_open_and_login),
		cmocka_unit_test(test_pin_sources),
		cmocka_unit_test(test_missing_token_and_module),
	};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find_errors),
		cmocka_unit_test(test_key_uri_round_trip),
		cmocka_unit_test(test_kek_wrap_round_trip),
		cmocka_unit_test(test_kek_detects_tampering),
		cmocka_unit_test(test_other_kek_cannot_unwrap),
		cmocka_unit_test(test_kek_check_and_kcv),
		cmocka_unit_test(test_deleted_key),
		cmocka_unit_test(test_list_labels_and_jwk),
		cmocka_unit_test(test_sign_buffer_too_small_keeps_session_clean),
		cmocka_unit_test(test_two_threads_sign),
		cmocka_unit_test(test_key_values_unreadable),
		cmocka_unit_test(test_kek_must_be_private),
		cmocka_unit_test(test_swapped_public_twin),
		cmocka_unit_test(test_module_by_another_path),
		cmocka_unit_test(test_rv_names),
	};

	int failed;

	failed = cmocka_run_group_tests_name("hsm-login", logged_out, NULL,
	    NULL);
	return failed + cmocka_run_group_tests_name("hsm", tests, setup,
	    teardown);
}
