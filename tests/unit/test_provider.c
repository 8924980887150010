/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_provider.c - the agentvault-hsm OpenSSL provider against SoftHSM2:
 * OSSL_STORE_open("pkcs11:...") on the default library context, signatures
 * for every algorithm checked with an independent software public key,
 * public export, refused private export, certificates, store errors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/store.h>
#include <openssl/x509.h>

#include "hsm.h"
#include "provider.h"
#include "testenv.h"

#define EC_URI	"pkcs11:object=agentvault-token-signing"
#define RSA_URI	"pkcs11:object=test-rsa;type=private"

static struct hsm *hsm;
static struct hsm_provider *prov;

/* Exactly what an application would write: plain OSSL_STORE_open. */
static EVP_PKEY *
store_load(const char *uri)
{
	OSSL_STORE_CTX *st;
	OSSL_STORE_INFO *info;
	EVP_PKEY *pk = NULL;

	if ((st = OSSL_STORE_open(uri, NULL, NULL, NULL, NULL)) == NULL)
		return NULL;
	while (pk == NULL && !OSSL_STORE_eof(st)) {
		if ((info = OSSL_STORE_load(st)) == NULL)
			break;
		if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
			pk = OSSL_STORE_INFO_get1_PKEY(info);
		OSSL_STORE_INFO_free(info);
	}
	OSSL_STORE_close(st);
	return pk;
}

/* The public half, re-parsed from DER by the default provider alone. */
static EVP_PKEY *
software_public(EVP_PKEY *pk)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	EVP_PKEY *pub;
	int len;

	len = i2d_PUBKEY(pk, &der);
	assert_true(len > 0);
	p = der;
	pub = d2i_PUBKEY_ex(NULL, &p, len, NULL, "provider=default");
	OPENSSL_free(der);
	assert_non_null(pub);
	return pub;
}

/* Sign msg with pk (HSM) and verify with a software copy of its public key. */
static void
sign_and_verify(EVP_PKEY *pk, const char *md, int pad, int saltlen)
{
	static const unsigned char msg[] = "workload access token payload";
	unsigned char sig[1024], bad[sizeof(msg)];
	size_t siglen = sizeof(sig);
	EVP_PKEY *pub = software_public(pk);
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;

	assert_int_equal(EVP_DigestSignInit_ex(c, &pctx, md, NULL, NULL, pk,
	    NULL), 1);
	if (pad != 0) {
		assert_true(EVP_PKEY_CTX_set_rsa_padding(pctx, pad) > 0);
		if (pad == RSA_PKCS1_PSS_PADDING)
			assert_true(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx,
			    saltlen) > 0);
	}
	assert_int_equal(EVP_DigestSign(c, sig, &siglen, msg, sizeof(msg)), 1);
	EVP_MD_CTX_free(c);

	/* Independent verification: only the default provider. */
	c = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestVerifyInit_ex(c, &pctx, md, NULL,
	    "provider=default", pub, NULL), 1);
	if (pad != 0) {
		assert_true(EVP_PKEY_CTX_set_rsa_padding(pctx, pad) > 0);
		if (pad == RSA_PKCS1_PSS_PADDING)
			assert_true(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx,
			    RSA_PSS_SALTLEN_AUTO) > 0);
	}
	assert_int_equal(EVP_DigestVerify(c, sig, siglen, msg, sizeof(msg)), 1);
	EVP_MD_CTX_free(c);

	/* A changed message does not verify, through the HSM key either. */
	memcpy(bad, msg, sizeof(msg));
	bad[0] ^= 1;
	c = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestVerifyInit_ex(c, &pctx, md, NULL, NULL, pk,
	    NULL), 1);
	if (pad != 0)
		assert_true(EVP_PKEY_CTX_set_rsa_padding(pctx, pad) > 0);
	assert_int_equal(EVP_DigestVerify(c, sig, siglen, msg, sizeof(msg)), 1);
	assert_true(EVP_DigestVerifyInit_ex(c, &pctx, md, NULL, NULL, pk,
	    NULL) == 1);
	if (pad != 0)
		assert_true(EVP_PKEY_CTX_set_rsa_padding(pctx, pad) > 0);
	assert_int_not_equal(EVP_DigestVerify(c, sig, siglen, bad,
	    sizeof(bad)), 1);
	EVP_MD_CTX_free(c);
	EVP_PKEY_free(pub);
	ERR_clear_error();
}

static void
test_ecdsa_sha256(void **state)
{
	EVP_PKEY *pk = store_load(EC_URI);

	(void)state;
	assert_non_null(pk);
	assert_true(EVP_PKEY_is_a(pk, "EC"));
	sign_and_verify(pk, "SHA256", 0, 0);
	sign_and_verify(pk, "SHA384", 0, 0);
	EVP_PKEY_free(pk);
}

static void
test_rsa_pkcs1_and_pss(void **state)
{
	EVP_PKEY *pk = store_load(RSA_URI);

	(void)state;
	assert_non_null(pk);
	assert_true(EVP_PKEY_is_a(pk, "RSA"));
	assert_int_equal(EVP_PKEY_get_bits(pk), 2048);
	sign_and_verify(pk, "SHA256", RSA_PKCS1_PADDING, 0);
	sign_and_verify(pk, "SHA256", RSA_PKCS1_PSS_PADDING,
	    RSA_PSS_SALTLEN_DIGEST);
	sign_and_verify(pk, "SHA384", RSA_PKCS1_PSS_PADDING,
	    RSA_PSS_SALTLEN_MAX);
	EVP_PKEY_free(pk);
}

/* EVP_PKEY_sign over a ready digest (how JWS signers use it). */
static void
test_raw_digest_sign(void **state)
{
	EVP_PKEY *pk = store_load(EC_URI), *pub;
	unsigned char dgst[32], sig[128];
	size_t siglen = sizeof(sig);
	EVP_PKEY_CTX *c;

	(void)state;
	assert_non_null(pk);
	memset(dgst, 0x42, sizeof(dgst));
	c = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	assert_int_equal(EVP_PKEY_sign_init(c), 1);
	assert_int_equal(EVP_PKEY_sign(c, NULL, &siglen, dgst, sizeof(dgst)),
	    1);
	assert_true(siglen >= 70);
	siglen = sizeof(sig);
	assert_int_equal(EVP_PKEY_sign(c, sig, &siglen, dgst, sizeof(dgst)), 1);
	EVP_PKEY_CTX_free(c);
	pub = software_public(pk);
	c = EVP_PKEY_CTX_new_from_pkey(NULL, pub, "provider=default");
	assert_int_equal(EVP_PKEY_verify_init(c), 1);
	assert_int_equal(EVP_PKEY_verify(c, sig, siglen, dgst, sizeof(dgst)),
	    1);
	EVP_PKEY_CTX_free(c);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(pk);
}

static void
test_public_export_only(void **state)
{
	EVP_PKEY *pk = store_load(EC_URI);
	char group[64];
	unsigned char point[65];
	size_t len = 0;
	OSSL_PARAM *params = NULL;
	BIO *bio = BIO_new(BIO_s_mem());

	(void)state;
	assert_non_null(pk);
	assert_int_equal(EVP_PKEY_get_bits(pk), 256);
	assert_int_equal(EVP_PKEY_get_security_bits(pk), 128);
	assert_true(EVP_PKEY_get_size(pk) >= 70);
	assert_true(EVP_PKEY_get_utf8_string_param(pk,
	    OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL));
	assert_string_equal(group, "prime256v1");
	assert_true(EVP_PKEY_get_octet_string_param(pk,
	    OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point), &len));
	assert_int_equal(len, 65);
	assert_int_equal(point[0], 0x04);
	/* Public key out as PEM: yes.  Private key out in any form: no. */
	assert_int_equal(PEM_write_bio_PUBKEY(bio, pk), 1);
	assert_int_equal(PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0,
	    NULL, NULL), 0);
	assert_int_not_equal(EVP_PKEY_todata(pk, EVP_PKEY_KEYPAIR, &params),
	    1);
	assert_int_equal(EVP_PKEY_todata(pk, EVP_PKEY_PUBLIC_KEY, &params), 1);
	OSSL_PARAM_free(params);
	BIO_free(bio);
	EVP_PKEY_free(pk);
	ERR_clear_error();
}

/* A certificate signed in the HSM, and key matching against it. */
static void
test_certificate(void **state)
{
	EVP_PKEY *pk = store_load(EC_URI), *other = store_load(RSA_URI);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	X509 *x = X509_new();
	X509_NAME *name = X509_get_subject_name(x);

	(void)state;
	assert_non_null(pk);
	assert_true(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"test", -1, -1, 0));
	assert_true(X509_set_issuer_name(x, name));
	assert_true(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	assert_true(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
	assert_true(X509_set_pubkey(x, pk));
	assert_int_equal(EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL,
	    pk, NULL), 1);
	assert_true(X509_sign_ctx(x, md) > 0);
	assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
	assert_int_equal(X509_verify(x, X509_get0_pubkey(x)), 1);
	assert_int_equal(X509_check_private_key(x, pk), 1);
	assert_int_equal(X509_check_private_key(x, other), 0);
	X509_free(x);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	EVP_PKEY_free(other);
	ERR_clear_error();
}

static void
test_store_errors(void **state)
{
	(void)state;
	/* Malformed, missing, ambiguous-by-policy and non-signing objects. */
	assert_null(store_load("pkcs11:object=a;object=b"));
	assert_null(store_load("pkcs11:object=x;pin-value=1234"));
	assert_null(store_load("pkcs11:object=no-such-key"));
	assert_null(store_load("pkcs11:object=agentvault-kek"));
	assert_null(store_load("pkcs11:token=other;object=agentvault-tls"));
	ERR_clear_error();
}

static void
test_public_object_verifies_only(void **state)
{
	EVP_PKEY *pk = store_load(EC_URI ";type=public");
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned char sig[128];
	size_t siglen = sizeof(sig);

	(void)state;
	/* OSSL_STORE hands a public-only object back as PUBKEY, not PKEY. */
	if (pk == NULL)
		pk = hsm_provider_load_key(NULL, EC_URI ";type=public");
	assert_non_null(pk);
	assert_int_not_equal(EVP_DigestSignInit_ex(c, NULL, "SHA256", NULL,
	    NULL, pk, NULL) == 1 && EVP_DigestSign(c, sig, &siglen,
	    (const unsigned char *)"x", 1) == 1, 1);
	EVP_MD_CTX_free(c);
	EVP_PKEY_free(pk);
	ERR_clear_error();
}

struct provider_signer {
	EVP_PKEY	*pk;
	int		 n, failures;
};

static void *
provider_signer_thread(void *arg)
{
	struct provider_signer *s = arg;
	unsigned char sig[128];
	size_t siglen;
	EVP_MD_CTX *c;
	int i;

	for (i = 0; i < s->n; i++) {
		c = EVP_MD_CTX_new();
		siglen = sizeof(sig);
		if (EVP_DigestSignInit_ex(c, NULL, "SHA256", NULL, NULL, s->pk,
		    NULL) != 1 || EVP_DigestSign(c, sig, &siglen,
		    (const unsigned char *)"abc", 3) != 1)
			s->failures++;
		EVP_MD_CTX_free(c);
	}
	return NULL;
}

/* One EVP_PKEY shared by two threads, each signing on pooled sessions. */
static void
test_two_threads_share_a_key(void **state)
{
	EVP_PKEY *pk = store_load(EC_URI);
	struct provider_signer s[2];
	pthread_t t[2];
	int i;

	(void)state;
	assert_non_null(pk);
	for (i = 0; i < 2; i++) {
		s[i] = (struct provider_signer){ pk, 500, 0 };
		assert_int_equal(pthread_create(&t[i], NULL,
		    provider_signer_thread, &s[i]), 0);
	}
	for (i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(s[i].failures, 0);
	}
	EVP_PKEY_free(pk);
}

static void
test_misuse_is_refused(void **state)
{
	EVP_PKEY *pk = store_load(EC_URI);
	struct hsm_provider *again = NULL;
	unsigned char sig[128];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;

	(void)state;
	assert_non_null(pk);
	/* A second provider in the same library context is refused. */
	assert_int_equal(hsm_provider_load(hsm, NULL, &again), 0);
	/* The digest cannot change under a digest-sign in progress. */
	assert_int_equal(EVP_DigestSignInit_ex(c, &pctx, "SHA256", NULL, NULL,
	    pk, NULL), 1);
	assert_true(EVP_PKEY_CTX_set_signature_md(pctx, EVP_sha384()) <= 0);
	/* One signature per init: a second final fails. */
	EVP_MD_CTX_set_flags(c, EVP_MD_CTX_FLAG_FINALISE);
	assert_int_equal(EVP_DigestSignUpdate(c, "abc", 3), 1);
	assert_int_equal(EVP_DigestSignFinal(c, sig, &siglen), 1);
	siglen = sizeof(sig);
	assert_int_not_equal(EVP_DigestSignFinal(c, sig, &siglen), 1);
	EVP_MD_CTX_free(c);
	EVP_PKEY_free(pk);
	ERR_clear_error();
}

static int
setup(void **state)
{
	const unsigned char id[] = { 0x75, 0x5a };
	struct hsm_key k;
	CK_RV rv;

	(void)state;
	hsm = testenv_hsm(4);
	rv = hsm_generate_rsa(hsm, "test-rsa", id, sizeof(id), 2048, &k);
	if (rv != CKR_OK && rv != HSM_R_EXISTS)
		return -1;
	if (!hsm_provider_load(hsm, NULL, &prov)) {
		ERR_print_errors_fp(stderr);
		return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	hsm_provider_unload(prov);
	hsm_destroy_label(hsm, "test-rsa");
	hsm_close(hsm);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ecdsa_sha256),
		cmocka_unit_test(test_rsa_pkcs1_and_pss),
		cmocka_unit_test(test_raw_digest_sign),
		cmocka_unit_test(test_public_export_only),
		cmocka_unit_test(test_certificate),
		cmocka_unit_test(test_store_errors),
		cmocka_unit_test(test_public_object_verifies_only),
		cmocka_unit_test(test_two_threads_share_a_key),
		cmocka_unit_test(test_misuse_is_refused),
	};

	return cmocka_run_group_tests_name("provider", tests, setup, teardown);
}
